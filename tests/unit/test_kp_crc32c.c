/*
 * test_kp_crc32c — CRC-32C: check values, hardware path == table path on every length and
 * alignment, incremental == one-shot.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_crc32c.h"
#include "tb_check.h"

/* Deterministic filler (xorshift64), so a failure reproduces. */
static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 32);
    }
}

/* Bit-at-a-time reference, independent of both implementations under test. */
static uint32_t crc_ref(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return ~crc;
}

START_TEST(test_check_value)
{
    ck_assert_uint_eq(kp_crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(kp_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(crc_ref(0, (const uint8_t *)"123456789", 9), 0xE3069283u);
}
END_TEST

START_TEST(test_known_vectors)
{
    /* RFC 3720 (iSCSI) appendix B.4 test patterns. */
    uint8_t buf[48];
    memset(buf, 0, 32);
    ck_assert_uint_eq(kp_crc32c(0, buf, 32), 0x8A9136AAu);
    ck_assert_uint_eq(kp_crc32c_sw(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, 32);
    ck_assert_uint_eq(kp_crc32c(0, buf, 32), 0x62A8AB43u);
    ck_assert_uint_eq(kp_crc32c_sw(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    ck_assert_uint_eq(kp_crc32c(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    ck_assert_uint_eq(kp_crc32c(0, buf, 32), 0x113FDB5Cu);
    static const uint8_t iscsi_read[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    ck_assert_uint_eq(kp_crc32c(0, iscsi_read, 48), 0xD9963A56u);
    ck_assert_uint_eq(kp_crc32c_sw(0, iscsi_read, 48), 0xD9963A56u);
}
END_TEST

START_TEST(test_empty)
{
    ck_assert_uint_eq(kp_crc32c(0, NULL, 0), 0);
    ck_assert_uint_eq(kp_crc32c_sw(0, NULL, 0), 0);
    ck_assert_uint_eq(kp_crc32c(0x12345678u, "", 0), 0x12345678u);
}
END_TEST

START_TEST(test_impl_name)
{
    const char *impl = kp_crc32c_impl();
    ck_assert(strcmp(impl, "sse4.2") == 0 || strcmp(impl, "table") == 0);
#if defined(__x86_64__)
    __builtin_cpu_init();
    ck_assert_str_eq(impl, __builtin_cpu_supports("sse4.2") ? "sse4.2" : "table");
#endif
}
END_TEST

/* Every length 0..300 at every alignment 0..15: dispatch == table == reference. */
START_TEST(test_all_lengths_alignments)
{
    static uint8_t buf[16 + 301];
    fill(buf, sizeof buf, 7);
    for (size_t align = 0; align < 16; align++) {
        for (size_t len = 0; len <= 300; len++) {
            const uint8_t *p = buf + align;
            uint32_t ref = crc_ref(0, p, len);
            ck_assert_msg(kp_crc32c(0, p, len) == ref, "dispatch align %zu len %zu", align, len);
            ck_assert_msg(kp_crc32c_sw(0, p, len) == ref, "table align %zu len %zu", align, len);
        }
    }
}
END_TEST

START_TEST(test_big_buffers)
{
    const size_t n = (1u << 20) + 13;
    uint8_t *buf = malloc(n + 8);
    ck_assert_ptr_nonnull(buf);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        fill(buf, n + 8, seed);
        for (size_t off = 0; off < 8; off += 3) {
            uint32_t hw = kp_crc32c(0, buf + off, n);
            ck_assert_uint_eq(hw, kp_crc32c_sw(0, buf + off, n));
            ck_assert_uint_eq(hw, crc_ref(0, buf + off, n));
        }
    }
    free(buf);
}
END_TEST

/*
 * Lengths around the hardware path's three-way interleave (blocks of 3 x 1 KiB: 3072,
 * 6144, ...), every alignment, dispatch == table; a few checked against the bitwise
 * reference too.
 */
START_TEST(test_interleave_boundaries)
{
    static uint8_t buf[12 * 1024 + 64];
    fill(buf, sizeof buf, 5);
    for (size_t len = 0; len <= 12 * 1024; len++) {
        if (len % 1024 >= 16 && len % 1024 <= 1008 && len % 29 != 0)
            continue; /* every length within 16 of a KiB multiple, every 29th otherwise */
        for (size_t align = 0; align < 8; align++) {
            const uint8_t *p = buf + align;
            ck_assert_msg(kp_crc32c(0, p, len) == kp_crc32c_sw(0, p, len), "len %zu align %zu", len,
                          align);
        }
    }
    static const size_t exact[] = {3071, 3072, 3073, 3079, 3080, 6143, 6144, 6151, 9216 + 5};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        ck_assert_uint_eq(kp_crc32c(0, buf + 3, exact[i]), crc_ref(0, buf + 3, exact[i]));
        /* Incremental with a non-zero starting CRC through the interleaved path. */
        uint32_t a = kp_crc32c(0, buf, 100);
        ck_assert_uint_eq(kp_crc32c(a, buf + 100, exact[i]), crc_ref(0, buf, 100 + exact[i]));
    }
}
END_TEST

/* Splitting a buffer anywhere, and mixing the two implementations, gives the same CRC. */
START_TEST(test_incremental)
{
    uint8_t buf[1000];
    fill(buf, sizeof buf, 11);
    uint32_t whole = kp_crc32c(0, buf, sizeof buf);
    for (size_t cut = 0; cut <= sizeof buf; cut += 7) {
        uint32_t a = kp_crc32c(0, buf, cut);
        ck_assert_uint_eq(kp_crc32c(a, buf + cut, sizeof buf - cut), whole);
        uint32_t b = kp_crc32c_sw(0, buf, cut);
        ck_assert_uint_eq(kp_crc32c(b, buf + cut, sizeof buf - cut), whole);
        ck_assert_uint_eq(kp_crc32c_sw(a, buf + cut, sizeof buf - cut), whole);
    }
    /* Byte by byte. */
    uint32_t c = 0;
    for (size_t i = 0; i < sizeof buf; i++)
        c = kp_crc32c(c, buf + i, 1);
    ck_assert_uint_eq(c, whole);
}
END_TEST

/* A single flipped bit anywhere changes the CRC (CRC-32C detects every 1-bit error). */
START_TEST(test_bit_flip_detected)
{
    uint8_t buf[64];
    fill(buf, sizeof buf, 3);
    uint32_t good = kp_crc32c(0, buf, sizeof buf);
    for (size_t i = 0; i < sizeof buf * 8; i++) {
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
        ck_assert_uint_ne(kp_crc32c(0, buf, sizeof buf), good);
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
}
END_TEST

static Suite *crc_suite(void)
{
    Suite *s = suite_create("kp_crc32c");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_check_value);
    tcase_add_test(tc, test_known_vectors);
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_impl_name);
    tcase_add_test(tc, test_all_lengths_alignments);
    tcase_add_test(tc, test_big_buffers);
    tcase_add_test(tc, test_interleave_boundaries);
    tcase_add_test(tc, test_incremental);
    tcase_add_test(tc, test_bit_flip_detected);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(crc_suite()); }
