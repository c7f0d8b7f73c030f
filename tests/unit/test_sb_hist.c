/*
 * test_sb_hist — splicelog-bench's pure pieces: the log-bucketed latency histogram (bucket
 * layout, error bound, percentiles, clamping, merging), size/duration/list parsing, run
 * statistics (min/median/max, spread), the JSON writer, the record payload and the
 * order-independent digest, the record checks of e2e/durable (sb_verify). The bench is a program,
 * not a module library, so its pure files are compiled into this suite directly.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../bench/sb_hist.c"
#include "../../bench/sb_json.c"
#include "../../bench/sb_util.c"
#include "../../bench/sb_verify.c"
#include "tb_check.h"

START_TEST(test_hist_layout)
{
    /* Exact below 2^7, then contiguous buckets whose highest value maps back to them. */
    for (uint64_t v = 0; v < 128; v++)
        ck_assert_uint_eq(sb_hist_index(v), v);
    for (size_t i = 0; i + 1 < SB_HIST_BUCKETS; i++) {
        uint64_t hi = sb_hist_bucket_high(i);
        ck_assert_uint_lt(hi, sb_hist_bucket_high(i + 1));
        ck_assert_uint_eq(sb_hist_index(hi), i);
        ck_assert_uint_eq(sb_hist_index(hi + 1), i + 1);
    }
    ck_assert_uint_eq(sb_hist_index(SB_HIST_MAX_NS), SB_HIST_BUCKETS - 1);
    ck_assert_uint_eq(sb_hist_bucket_high(SB_HIST_BUCKETS - 1), SB_HIST_MAX_NS);
    ck_assert_uint_eq(sb_hist_index(UINT64_MAX), SB_HIST_BUCKETS - 1);
}
END_TEST

START_TEST(test_hist_error_bound)
{
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t v = x >> (24 + i % 40); /* spread over many magnitudes */
        if (v > SB_HIST_MAX_NS)
            continue;
        uint64_t hi = sb_hist_bucket_high(sb_hist_index(v));
        ck_assert_uint_ge(hi, v);
        ck_assert_msg(hi - v <= v / 64, "v %llu bucket high %llu", (unsigned long long)v,
                      (unsigned long long)hi);
    }
}
END_TEST

START_TEST(test_hist_percentiles)
{
    static struct sb_hist h;
    sb_hist_init(&h);
    ck_assert_uint_eq(sb_hist_percentile(&h, 50), 0);
    for (uint64_t v = 1; v <= 100000; v++)
        sb_hist_add(&h, v * 1000); /* 1 us .. 100 ms */
    ck_assert_uint_eq(h.count, 100000);
    ck_assert_uint_eq(h.min, 1000);
    ck_assert_uint_eq(h.max, 100000000);
    static const double ps[] = {50, 90, 99, 99.9};
    for (size_t i = 0; i < 4; i++) {
        uint64_t want = (uint64_t)(ps[i] * 1000.0) * 1000, got = sb_hist_percentile(&h, ps[i]);
        ck_assert_uint_ge(got, want);
        ck_assert_msg(got - want <= want / 64, "p%g = %llu, want %llu", ps[i],
                      (unsigned long long)got, (unsigned long long)want);
    }
    ck_assert_uint_eq(sb_hist_percentile(&h, 100), 100000000);
    /* One outlier beyond the range: max stays exact, percentiles never exceed it. */
    sb_hist_add(&h, SB_HIST_MAX_NS * 4);
    ck_assert_uint_eq(h.max, SB_HIST_MAX_NS * 4);
    ck_assert_uint_eq(sb_hist_percentile(&h, 100), SB_HIST_MAX_NS * 4);
    ck_assert_uint_le(sb_hist_percentile(&h, 99.9), 100000000 + 100000000 / 64);
}
END_TEST

START_TEST(test_parse)
{
    long long v;
    ck_assert_int_eq(sb_parse_size("16MiB", &v), 0);
    ck_assert_int_eq(v, 16 << 20);
    ck_assert_int_eq(sb_parse_size("1G", &v), 0);
    ck_assert_int_eq(v, 1LL << 30);
    ck_assert_int_eq(sb_parse_size("64k", &v), 0);
    ck_assert_int_eq(v, 65536);
    ck_assert_int_eq(sb_parse_size("4096", &v), 0);
    ck_assert_int_eq(v, 4096);
    static const char *bad_sizes[] = {"", "lots", "0", "-1", "16XB", "1e30", "MiB"};
    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++)
        ck_assert_int_eq(sb_parse_size(bad_sizes[i], &v), -EINVAL);
    ck_assert_int_eq(sb_parse_duration_ms("10s", &v), 0);
    ck_assert_int_eq(v, 10000);
    ck_assert_int_eq(sb_parse_duration_ms("250ms", &v), 0);
    ck_assert_int_eq(v, 250);
    ck_assert_int_eq(sb_parse_duration_ms("2m", &v), 0);
    ck_assert_int_eq(v, 120000);
    ck_assert_int_eq(sb_parse_duration_ms("3", &v), 0);
    ck_assert_int_eq(v, 3000);
    ck_assert_int_eq(sb_parse_duration_ms("3h", &v), -EINVAL);
    ck_assert_int_eq(sb_parse_duration_ms("0s", &v), -EINVAL);
    ck_assert_int_eq(sb_parse_long("12", 1, 15, &v), 0);
    ck_assert_int_eq(v, 12);
    ck_assert_int_eq(sb_parse_long("16", 1, 15, &v), -EINVAL);
    ck_assert_int_eq(sb_parse_long("1x", 1, 15, &v), -EINVAL);
    long long list[8];
    ck_assert_int_eq(sb_parse_list("1,100,1000,10000", 1, 100000, list, 8), 4);
    ck_assert_int_eq(list[3], 10000);
    ck_assert_int_eq(sb_parse_list("1,,2", 1, 10, list, 8), 2); /* empty items skipped */
    ck_assert_int_eq(sb_parse_list("1,x", 1, 10, list, 8), -EINVAL);
    ck_assert_int_eq(sb_parse_list("1,2,3", 1, 10, list, 2), -EINVAL);
    ck_assert_int_eq(sb_parse_list("", 1, 10, list, 8), -EINVAL);
}
END_TEST

START_TEST(test_stat)
{
    double odd[] = {3, 1, 2}, even[] = {4, 1, 3, 2}, gaps[] = {NAN, 5, NAN, 1}, none[] = {NAN};
    struct sb_stat s;
    sb_stat_of(odd, 3, &s);
    ck_assert(s.n == 3 && s.min == 1 && s.median == 2 && s.max == 3);
    ck_assert(fabs(sb_stat_spread(&s) - 1.0) < 1e-9); /* (3 - 1) / 2 */
    sb_stat_of(even, 4, &s);
    ck_assert(s.median == 2.5 && s.min == 1 && s.max == 4);
    sb_stat_of(gaps, 4, &s); /* runs that measured nothing are left out */
    ck_assert(s.n == 2 && s.min == 1 && s.median == 3 && s.max == 5);
    sb_stat_of(none, 1, &s);
    ck_assert(s.n == 0 && isnan(s.median));
    sb_stat_of(odd, 1, &s); /* one run: no spread */
    ck_assert(s.n == 1 && s.median == 3 && sb_stat_spread(&s) == 0);
}
END_TEST

START_TEST(test_hist_merge)
{
    static struct sb_hist a, b;
    sb_hist_init(&a);
    sb_hist_init(&b);
    sb_hist_merge(&a, &b); /* empty into empty: still empty */
    ck_assert_uint_eq(a.count, 0);
    ck_assert_uint_eq(a.min, UINT64_MAX);
    for (uint64_t v = 1; v <= 1000; v++)
        sb_hist_add(v % 2 ? &a : &b, v * 1000);
    sb_hist_merge(&a, &b);
    ck_assert_uint_eq(a.count, 1000);
    ck_assert_uint_eq(a.min, 1000);
    ck_assert_uint_eq(a.max, 1000000);
    uint64_t p50 = sb_hist_percentile(&a, 50);
    ck_assert(p50 >= 500000 && p50 <= 500000 + 500000 / 64);
}
END_TEST

START_TEST(test_json)
{
    char path[] = "/tmp/test_sb_json.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct sb_json j;
    ck_assert_int_eq(sb_json_open(&j, path), 0);
    sb_json_obj(&j, NULL);
    sb_json_str(&j, "s", "a\"b\\c\n");
    sb_json_num(&j, "nan", NAN, 2);
    sb_json_num(&j, "x", 1.5, 1);
    sb_json_arr(&j, "empty");
    sb_json_end(&j);
    sb_json_arr(&j, "a");
    sb_json_int(&j, NULL, 1);
    sb_json_bool(&j, NULL, true);
    sb_json_null(&j, NULL);
    sb_json_end(&j);
    double v[] = {2, 1, 3};
    sb_json_stat(&j, "st", v, 3, 1);
    sb_json_end(&j);
    ck_assert_int_eq(sb_json_close(&j), 0);
    char buf[1024] = "";
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    unlink(path);
    buf[n] = 0;
    const char *want = "{\n  \"s\": \"a\\\"b\\\\c\\u000a\",\n  \"nan\": null,\n  \"x\": 1.5,\n"
                       "  \"empty\": [],\n  \"a\": [\n    1,\n    true,\n    null\n  ],\n"
                       "  \"st\": {\n    \"min\": 1.0,\n    \"median\": 2.0,\n"
                       "    \"max\": 3.0,\n    \"spread\": 1.000,\n    \"runs\": 3\n  }\n}\n";
    ck_assert_str_eq(buf, want);
}
END_TEST

START_TEST(test_value_digest)
{
    uint8_t a[100], b[100];
    sb_value_fill(a, sizeof(a), 42, 1234567890123ULL);
    sb_value_fill(b, sizeof(b), 43, 1234567890123ULL);
    ck_assert_uint_eq(sb_value_seq(a, sizeof(a)), 42);
    ck_assert_uint_eq(sb_value_send_ns(a, sizeof(a)), 1234567890123ULL);
    ck_assert_uint_eq(sb_value_seq(a, 8), 0); /* too short to carry the header */
    ck_assert(memcmp(a + 16, b + 16, sizeof(a) - 16) != 0);
    /* The digest is a sum: order-independent, and sensitive to a changed byte. */
    uint64_t d1 = sb_record_digest(a, sizeof(a)) + sb_record_digest(b, sizeof(b));
    uint64_t d2 = sb_record_digest(b, sizeof(b)) + sb_record_digest(a, sizeof(a));
    ck_assert_uint_eq(d1, d2);
    b[77] ^= 1;
    ck_assert_uint_ne(d1, sb_record_digest(a, sizeof(a)) + sb_record_digest(b, sizeof(b)));
}
END_TEST

/* Two producers of 50 records each, one partition, every record acknowledged and consumed at
 * the same offset: no anomaly. */
START_TEST(test_verify_clean)
{
    uint64_t base[2] = {1ULL << 48, (1ULL << 48) | (1ULL << 40)};
    long long count[2] = {50, 50};
    struct sb_verify *v = sb_verify_new(2, base, count, 64, 1);
    ck_assert_ptr_nonnull(v);
    uint8_t val[64];
    for (int i = 0; i < 100; i++) {
        uint64_t seq = base[i & 1] + (uint64_t)(i / 2);
        sb_value_fill(val, sizeof(val), seq, 1000 + (uint64_t)i);
        sb_verify_acked(v, i & 1, val, sizeof(val), 0, i, 1000 + (uint64_t)i);
        sb_verify_consumed(v, val, sizeof(val), 0, i);
    }
    char why[256] = "";
    ck_assert_int_eq(sb_verify_finish(v, true, stderr, "clean", why, sizeof(why)), 0);
    sb_verify_free(v);
}
END_TEST

/* Each check fires on its own fault: a duplicate that pushes the last record out (the count
 * still matches, only the digest differs: the case this was built for), a flipped filler byte,
 * a record consumed at another offset than acknowledged, a delivery report whose value is not
 * the record of its msg_opaque, an offset going backwards. */
START_TEST(test_verify_anomalies)
{
    uint64_t base[1] = {2ULL << 48};
    long long count[1] = {10};
    struct sb_verify *v = sb_verify_new(1, base, count, 32, 2);
    ck_assert_ptr_nonnull(v);
    uint8_t val[32];
    for (int i = 0; i < 10; i++) {
        sb_value_fill(val, sizeof(val), base[0] + (uint64_t)i, 500 + (uint64_t)i);
        /* record 7's report carries record 7's value but record 6's send time */
        sb_verify_acked(v, 0, val, sizeof(val), 0, 100 + i, i == 7 ? 506 : 500 + (uint64_t)i);
    }
    for (int i = 0; i < 9; i++) { /* 9 consumed: record 3 twice, record 9 never */
        int r = i <= 3 ? i : i - 1;
        sb_value_fill(val, sizeof(val), base[0] + (uint64_t)r, 500 + (uint64_t)r);
        if (r == 5)
            val[20] ^= 1;
        int64_t off = 100 + i;
        if (r == 6)
            off = 200; /* consumed elsewhere than acknowledged */
        sb_verify_consumed(v, val, sizeof(val), 0, off);
    }
    sb_value_fill(val, sizeof(val), base[0] + 8, 508);
    sb_verify_consumed(v, val, sizeof(val), 0, 150); /* below 200: not increasing */
    char why[512] = "";
    long long bad = sb_verify_finish(v, true, stderr, "faults", why, sizeof(why));
    ck_assert_int_gt(bad, 0);
    ck_assert_int_eq(v->counts[C_DUP], 1);
    ck_assert_int_eq(v->counts[C_BYTES], 1);
    ck_assert_int_eq(v->counts[C_SENT], 1);
    ck_assert_int_eq(v->counts[C_ORDER], 1);
    ck_assert_int_ge(v->counts[C_MOVED], 1);
    ck_assert_int_ge(v->counts[C_MISSING], 2); /* record 9, and 5 (its bytes were wrong) */
    ck_assert_ptr_nonnull(strstr(why, "consumed twice"));
    ck_assert_ptr_nonnull(strstr(why, "bytes differ from its seq"));
    sb_verify_free(v);

    /* A seq of another producer in a delivery report; a wrong length. */
    uint64_t b2[2] = {0, 1ULL << 40};
    long long c2[2] = {4, 4};
    v = sb_verify_new(2, b2, c2, 32, 1);
    ck_assert_ptr_nonnull(v);
    sb_value_fill(val, sizeof(val), b2[1], 1);
    sb_verify_acked(v, 0, val, sizeof(val), 0, 0, 0);
    sb_verify_consumed(v, val, 24, 0, 0);
    ck_assert_int_gt(sb_verify_finish(v, false, stderr, "foreign", why, sizeof(why)), 0);
    ck_assert_int_eq(v->counts[C_SEQ], 1);
    ck_assert_int_eq(v->counts[C_LEN], 1);
    sb_verify_free(v);
}
END_TEST

static Suite *sb_suite(void)
{
    Suite *s = suite_create("sb");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_hist_layout);
    tcase_add_test(tc, test_hist_error_bound);
    tcase_add_test(tc, test_hist_percentiles);
    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_stat);
    tcase_add_test(tc, test_hist_merge);
    tcase_add_test(tc, test_json);
    tcase_add_test(tc, test_value_digest);
    tcase_add_test(tc, test_verify_clean);
    tcase_add_test(tc, test_verify_anomalies);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(sb_suite()); }
