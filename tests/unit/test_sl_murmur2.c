/*
 * test_sl_murmur2 — the keyed partitioner against the Java client's known values
 * (org.apache.kafka.common.utils.UtilsTest.testMurmur2, and librdkafka's rdmurmur2.c unit
 * test, whose expected values were taken from the Java client).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "splicelog.h"
#include "tb_check.h"

START_TEST(test_java_utils_vectors)
{
    /* UtilsTest.testMurmur2: expected values as Java ints. */
    static const struct {
        const char *key;
        int32_t h;
    } v[] = {
        {"21", -973932308},
        {"foobar", -790332482},
        {"a-little-bit-long-string", -985981536},
        {"a-little-bit-longer-string", -1486304829},
        {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
        {"abc", 479470107},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        ck_assert_msg((int32_t)sl_murmur2(v[i].key, strlen(v[i].key)) == v[i].h, "%s", v[i].key);
}
END_TEST

START_TEST(test_librdkafka_vectors)
{
    static const struct {
        const char *key;
        uint32_t h;
    } v[] = {
        {"kafka", 0xd067cf64},
        {"giberish123456789", 0x8f552b0c},
        {"1234", 0x9fc97b14},
        {"234", 0xe7c009ca},
        {"34", 0x873930da},
        {"4", 0x5a4b5ca1},
        {"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x78424f1c},
        {"reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62b377},
        {"eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4e09e},
        {"AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8b43f},
        {"", 0x106e08d9},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        ck_assert_msg(sl_murmur2(v[i].key, strlen(v[i].key)) == v[i].h, "%s", v[i].key);
}
END_TEST

START_TEST(test_unaligned_input)
{
    /* The same bytes at every alignment hash the same. */
    const char *s = "PreAmbleWillBeRemoved,ThePrePartThatIs";
    char buf[64];
    for (int a = 0; a < 8; a++) {
        memcpy(buf + a, s, strlen(s));
        ck_assert_uint_eq(sl_murmur2(buf + a, strlen(s)), 0x78424f1cu);
    }
}
END_TEST

START_TEST(test_partition_is_to_positive_mod)
{
    /* "kafka" hashes to 0xd067cf64 (negative as a Java int). toPositive masks the sign bit
     * (0x5067cf64 = 1348980580): abs() would give a different partition for most counts. */
    for (int32_t n = 1; n <= 64; n++) {
        ck_assert_int_eq(sl_partition_for_key("kafka", 5, n), (int32_t)(1348980580u % (uint32_t)n));
        ck_assert_int_eq(sl_partition_for_key("abc", 3, n), 479470107 % n);
    }
    /* 7 partitions: 1348980580 % 7 = 3, while abs(-798503068) % 7 = 6. */
    ck_assert_int_eq(sl_partition_for_key("kafka", 5, 7), 3);
    ck_assert_int_eq(sl_partition_for_key("kafka", 5, 0), -1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sl_murmur2");
    TCase *tc = tcase_create("murmur2");
    tcase_add_test(tc, test_java_utils_vectors);
    tcase_add_test(tc, test_librdkafka_vectors);
    tcase_add_test(tc, test_unaligned_input);
    tcase_add_test(tc, test_partition_is_to_positive_mod);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
