/*
 * test_sl_produce — sl_produce never waits on the network (issue 15), and what the application
 * hears instead:
 * - broker down (connection refused): every sl_produce call returns at once (the call latency
 *   is measured and printed; the bound asserted is loose, 0.5 s, against the old behaviour of
 *   waiting request.timeout.ms = 5 s for the first record's metadata); the records are reported
 *   SL_ERR__MSG_TIMED_OUT after message.timeout.ms; the error callback gets SL_ERR__TRANSPORT
 *   naming host:port and SL_ERR__ALL_BROKERS_DOWN;
 * - a broker name that does not resolve: SL_ERR__RESOLVE to the error callback (and from a
 *   consumer's assign), not a timeout;
 * - records produced before the topic's metadata is known (against the scripted broker): sent
 *   once it arrives, in produce order per partition, keyed ones on their murmur2 partition; a
 *   partition past the count is reported SL_ERR__UNKNOWN_PARTITION, a topic that does not
 *   exist UNKNOWN_TOPIC_OR_PART and then refused at once;
 * - the partitioner property: consistent_random (CRC-32, librdkafka's default), fnv1a, murmur2,
 *   random place keyed records where librdkafka would;
 * - the stats callback runs about every statistics.interval.ms from sl_poll.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "sl_int.h"

#include "sl_fake_broker.h"
#include "tb_dr.h"
#include "tb_check.h"

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static sl_conf *conf_for(const char *bootstrap)
{
    sl_conf *c = sl_conf_new();
    ck_assert_int_eq(sl_conf_set(c, "bootstrap.servers", bootstrap, NULL, 0), SL_ERR_NO_ERROR);
    tb_dr_attach(c);
    return c;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(test_produce_never_waits_with_the_broker_down)
{
    enum { N = 20000 };
    sl_conf *c = conf_for("127.0.0.1:1");
    sl_conf_set(c, "request.timeout.ms", "5000", NULL, 0);
    sl_conf_set(c, "message.timeout.ms", "1500", NULL, 0);
    sl_conf_set(c, "linger.ms", "1", NULL, 0);
    sl_conf_set(c, "batch.size", "16384", NULL, 0); /* batches fill up: sl_produce's kick runs */
    sl_producer *p = sl_producer_new(c, NULL, 0);
    ck_assert_ptr_nonnull(p);
    static int64_t lat[N];
    char v[100];
    memset(v, 'x', sizeof(v));
    int64_t t0 = now_us();
    for (long i = 0; i < N; i++) {
        int64_t a = now_us();
        sl_err e = sl_produce(p, "down", SL_PARTITION_ANY, NULL, 0, v, sizeof(v), NULL, 0, 0,
                              (void *)(intptr_t)i);
        lat[i] = now_us() - a;
        ck_assert_int_eq(e, SL_ERR_NO_ERROR);
        sl_poll(p, 0);
    }
    int64_t loop = now_us() - t0;
    ck_assert_uint_eq(sl_outq_len(p), N);
    qsort(lat, N, sizeof(lat[0]), cmp_i64);
    printf("sl_produce with the broker down, %d calls (sl_poll(0) between, %.1f ms in all): "
           "p50 %lld us, p99 %lld us, p99.9 %lld us, max %lld us\n",
           N, (double)loop / 1000, (long long)lat[N / 2], (long long)lat[N * 99 / 100],
           (long long)lat[N * 999 / 1000], (long long)lat[N - 1]);
    ck_assert_int_lt(lat[N - 1], 500000);
    ck_assert_int_eq(sl_flush(p, 20000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(tb_dr.n, N);
    for (long i = 0; i < N; i++)
        if (tb_dr.err[i] != SL_ERR__MSG_TIMED_OUT)
            ck_abort_msg("record %ld: %s", i, sl_err2str(tb_dr.err[i]));
    sl_producer_free(p);
    ck_assert_msg(strstr(tb_dr.errs, "_TRANSPORT|127.0.0.1:1: Connection refused"), "%s",
                  tb_dr.errs);
    ck_assert_msg(strstr(tb_dr.errs, "_ALL_BROKERS_DOWN|1/1 brokers are down"), "%s", tb_dr.errs);
    /* One report per run of failures, not one per reconnect attempt. */
    ck_assert_ptr_null(strstr(strstr(tb_dr.errs, "_TRANSPORT|") + 1, "_TRANSPORT|"));
}
END_TEST

START_TEST(test_unresolvable_name_is_resolve)
{
    sl_conf *c = conf_for("no-such-host.invalid:9092");
    sl_conf_set(c, "message.timeout.ms", "500", NULL, 0);
    sl_conf *cc = sl_conf_dup(c);
    sl_producer *p = sl_producer_new(c, NULL, 0);
    ck_assert_int_eq(sl_produce(p, "t", 0, NULL, 0, "v", 1, NULL, 0, 0, (void *)0),
                     SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_flush(p, 10000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(tb_dr.n, 1);
    ck_assert_int_eq(tb_dr.err[0], SL_ERR__MSG_TIMED_OUT);
    sl_producer_free(p);
    ck_assert_msg(strstr(tb_dr.errs, "_RESOLVE|no-such-host.invalid:9092: failed to resolve"), "%s",
                  tb_dr.errs);
    sl_conf_set(cc, "request.timeout.ms", "500", NULL, 0);
    sl_consumer *k = sl_consumer_new(cc, NULL, 0);
    ck_assert_int_eq(sl_consumer_assign(k, "t", 0, 0), SL_ERR__RESOLVE);
    sl_consumer_free(k);
}
END_TEST

static void fb_setup(void) { ck_assert_int_eq(fb_start(4), 0); }
static void fb_teardown(void)
{
    fb_stop();
    ck_assert_int_eq(fb.bad_requests, 0);
}

static char fb_addr[64];
static sl_conf *fb_conf(void)
{
    snprintf(fb_addr, sizeof(fb_addr), "127.0.0.1:%d", fb.port);
    return conf_for(fb_addr);
}

START_TEST(test_records_before_metadata)
{
    enum { N = 2000 };
    sl_producer *p = sl_producer_new(fb_conf(), NULL, 0);
    /* All of these are produced before any metadata answer can have arrived. */
    char k[32];
    for (long i = 0; i < N; i++) {
        int kl = snprintf(k, sizeof(k), "key-%ld", i % 50);
        int32_t part = i % 3 == 0 ? SL_PARTITION_ANY : (int32_t)(i % 4);
        ck_assert_int_eq(sl_produce(p, "t", part, i % 3 == 0 ? k : NULL,
                                    i % 3 == 0 ? (size_t)kl : 0, "v", 1, NULL, 0, 0,
                                    (void *)(intptr_t)i),
                         SL_ERR_NO_ERROR);
    }
    ck_assert_int_eq(sl_produce(p, "t", 7, NULL, 0, "v", 1, NULL, 0, 0, (void *)(intptr_t)N),
                     SL_ERR_NO_ERROR);
    ck_assert_int_eq(
        sl_produce(p, "nope", 0, NULL, 0, "v", 1, NULL, 0, 0, (void *)(intptr_t)(N + 1)),
        SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_flush(p, 20000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(tb_dr.n, N + 2);
    int64_t last[4] = {-1, -1, -1, -1};
    for (long i = 0; i < N; i++) {
        if (tb_dr.err[i] != SL_ERR_NO_ERROR)
            ck_abort_msg("record %ld: %s", i, sl_err2str(tb_dr.err[i]));
        int32_t want = (int32_t)(i % 4);
        if (i % 3 == 0) {
            int kl = snprintf(k, sizeof(k), "key-%ld", i % 50);
            want = sl_partition_for_key(k, (size_t)kl, 4);
        }
        ck_assert_int_eq(tb_dr.part[i], want);
        ck_assert_int_gt(tb_dr.off[i], last[want]); /* produce order within the partition */
        last[want] = tb_dr.off[i];
    }
    ck_assert_int_eq(tb_dr.err[N], SL_ERR__UNKNOWN_PARTITION);
    ck_assert_int_eq(tb_dr.err[N + 1], SL_ERR_UNKNOWN_TOPIC_OR_PART);
    /* Known not to exist now: refused at once; a partition past the count likewise. */
    ck_assert_int_eq(sl_produce(p, "nope", 0, NULL, 0, "v", 1, NULL, 0, 0, NULL),
                     SL_ERR_UNKNOWN_TOPIC_OR_PART);
    ck_assert_int_eq(sl_produce(p, "t", 4, NULL, 0, "v", 1, NULL, 0, 0, NULL),
                     SL_ERR__UNKNOWN_PARTITION);
    sl_producer_free(p);
    ck_assert_str_eq(tb_dr.errs, "");
}
END_TEST

/* librdkafka's FNV-1a (as documented: 32-bit FNV-1a, absolute value as an int32). */
static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    int32_t v = (int32_t)h;
    return v < 0 ? (uint32_t) - (int64_t)v : (uint32_t)v;
}

START_TEST(test_partitioners)
{
    static const char *const names[] = {
        "consistent_random", "consistent",     "fnv1a", "fnv1a_random",
        "murmur2",           "murmur2_random", "random"};
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        sl_conf *c = fb_conf();
        ck_assert_int_eq(sl_conf_set(c, "partitioner", names[n], NULL, 0), SL_ERR_NO_ERROR);
        sl_producer *p = sl_producer_new(c, NULL, 0);
        char k[32];
        for (long i = 0; i < 200; i++) {
            int kl = snprintf(k, sizeof(k), "user-%ld", i);
            ck_assert_int_eq(sl_produce(p, "t", SL_PARTITION_ANY, k, (size_t)kl, "v", 1, NULL, 0, 0,
                                        (void *)(intptr_t)i),
                             SL_ERR_NO_ERROR);
        }
        ck_assert_int_eq(sl_flush(p, 20000), SL_ERR_NO_ERROR);
        int used[4] = {0};
        for (long i = 0; i < 200; i++) {
            int kl = snprintf(k, sizeof(k), "user-%ld", i);
            int32_t want;
            if (!strncmp(names[n], "consistent", 10))
                want = (int32_t)(crc32(0, (const Bytef *)k, (uInt)kl) % 4);
            else if (!strncmp(names[n], "fnv1a", 5))
                want = (int32_t)(fnv1a(k, (size_t)kl) % 4);
            else if (!strncmp(names[n], "murmur2", 7))
                want = sl_partition_for_key(k, (size_t)kl, 4);
            else
                want = tb_dr.part[i]; /* random */
            ck_assert_int_eq(tb_dr.err[i], SL_ERR_NO_ERROR);
            ck_assert_msg(tb_dr.part[i] == want, "%s: key %s on %d, want %d", names[n], k,
                          tb_dr.part[i], want);
            ck_assert(tb_dr.part[i] >= 0 && tb_dr.part[i] < 4);
            used[tb_dr.part[i]]++;
        }
        for (int q = 0; q < 4; q++)
            ck_assert_msg(used[q] > 0, "%s never used partition %d", names[n], q);
        sl_producer_free(p);
    }
}
END_TEST

static int stats_calls;
static uint64_t stats_last_delivered;
static void stats_cb(void *opaque, const sl_stats *st)
{
    (void)opaque;
    stats_calls++;
    stats_last_delivered = st->records_delivered;
}

START_TEST(test_stats_callback)
{
    sl_conf *c = fb_conf();
    sl_conf_set(c, "statistics.interval.ms", "100", NULL, 0);
    sl_conf_set_stats_cb(c, stats_cb);
    sl_producer *p = sl_producer_new(c, NULL, 0);
    stats_calls = 0;
    int64_t end = now_us() + 700000;
    long i = 0;
    while (now_us() < end) {
        sl_produce(p, "t", 0, NULL, 0, "v", 1, NULL, 0, 0, (void *)(intptr_t)(i++ % TB_DR_MAX));
        sl_poll(p, 5);
    }
    ck_assert_int_eq(sl_flush(p, 10000), SL_ERR_NO_ERROR);
    sl_producer_free(p);
    ck_assert_int_ge(stats_calls, 3);
    ck_assert_int_le(stats_calls, 8);
    ck_assert_uint_gt(stats_last_delivered, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sl_produce");
    TCase *tc = tcase_create("down");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_produce_never_waits_with_the_broker_down);
    tcase_add_test(tc, test_unresolvable_name_is_resolve);
    suite_add_tcase(s, tc);
    tc = tcase_create("scripted");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, fb_setup, fb_teardown);
    tcase_add_test(tc, test_records_before_metadata);
    tcase_add_test(tc, test_partitioners);
    tcase_add_test(tc, test_stats_callback);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
