/*
 * test_sl_scripted — producer and consumer against a scripted broker (a thread in this
 * process speaking the wire protocol, coded here with kp_buf only), for the cases a correct
 * splicelogd never produces:
 * - fetches cut at partition_max_bytes by bytes, even inside the first batch (no KIP-74): the
 *   consumer grows its fetch size for an oversized first batch and drops partial trailing
 *   batches, and still reads every record once, in order;
 * - NOT_LEADER_OR_FOLLOWER on produce until the client refreshes its metadata, with several
 *   requests in flight: all of them retried, in order, nothing lost;
 * - CORRUPT_MESSAGE on produce: reported once, not retried; the partition goes on;
 * - OFFSET_OUT_OF_RANGE with auto.offset.reset=latest: the consumer resets to the end;
 * - every response corrupted a little (seeded): errors and reconnects, never a crash or an
 *   out-of-bounds read (ASan/UBSan), never a leak.
 * The broker is tests/unit/sl_fake_broker.h.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kp_batch.h"
#include "sl_int.h"

#include "sl_fake_broker.h"
#include "tb_check.h"

static void setup(void) { ck_assert_int_eq(fb_start(1), 0); }

static void teardown(void)
{
    fb_stop();
    ck_assert_int_eq(fb.bad_requests, 0); /* every client request parsed and validated */
}

static sl_conf *conf(void)
{
    sl_conf *c = sl_conf_new();
    char b[64];
    snprintf(b, sizeof(b), "127.0.0.1:%d", fb.port);
    ck_assert_int_eq(sl_conf_set(c, "bootstrap.servers", b, NULL, 0), SL_ERR_NO_ERROR);
    return c;
}

static long dr_n, dr_err, dr_order_bad;
static int64_t dr_last;
static sl_err dr_first_err;
static void dr(sl_producer *p, const sl_delivery *d, void *opaque)
{
    (void)p;
    (void)opaque;
    dr_n++;
    if (d->err) {
        if (!dr_err)
            dr_first_err = d->err;
        dr_err++;
        return;
    }
    if (d->offset <= dr_last)
        dr_order_bad++;
    dr_last = d->offset;
}

static sl_stats pstats; /* the last produce_all's producer */

static void produce_all(sl_conf *c, int n, size_t vsize)
{
    dr_n = dr_err = dr_order_bad = 0;
    dr_last = -1;
    dr_first_err = SL_ERR_NO_ERROR;
    sl_conf_set_delivery_cb(c, dr);
    sl_producer *p = sl_producer_new(c, NULL, 0);
    ck_assert_ptr_nonnull(p);
    char *v = calloc(1, vsize + 32);
    for (int i = 0; i < n; i++) {
        int k = snprintf(v, 32, "%08d", i);
        memset(v + k, '-', vsize - (size_t)k);
        sl_err e;
        while ((e = sl_produce(p, "t", 0, NULL, 0, v, vsize, NULL, 0, 0, NULL)) ==
               SL_ERR__QUEUE_FULL)
            sl_poll(p, 10);
        ck_assert_int_eq(e, SL_ERR_NO_ERROR);
        sl_poll(p, 0);
    }
    ck_assert_int_eq(sl_flush(p, 20000), SL_ERR_NO_ERROR);
    sl_producer_stats(p, &pstats);
    sl_producer_free(p);
    free(v);
    ck_assert_int_eq(dr_n, n);
}

/* Reads records until n arrived (in order, each once) or a timeout. */
static void consume_all(sl_conf *c, int n, size_t vsize, sl_stats *st)
{
    sl_consumer *k = sl_consumer_new(c, NULL, 0);
    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(sl_consumer_assign(k, "t", 0, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    for (int i = 0; i < n; i++) {
        sl_record r;
        sl_err e = sl_consumer_poll(k, 10000, &r);
        if (e != SL_ERR_NO_ERROR)
            ck_abort_msg("record %d: %s", i, sl_err2str(e));
        if (r.offset != i || r.value_len != vsize)
            ck_abort_msg("record %d: offset %lld, %zu bytes", i, (long long)r.offset, r.value_len);
        char want[16];
        snprintf(want, sizeof(want), "%08d", i);
        if (memcmp(r.value, want, 8) != 0)
            ck_abort_msg("record %d: wrong value", i);
    }
    sl_record r;
    ck_assert_int_eq(sl_consumer_poll(k, 100, &r), SL_ERR__TIMED_OUT);
    sl_consumer_stats(k, st);
    sl_consumer_free(k);
}

START_TEST(test_oversized_first_batch_and_partial_trailing)
{
    sl_conf *pc = conf();
    sl_conf_set(pc, "batch.size", "65536", NULL, 0);
    sl_conf_set(pc, "linger.ms", "1000", NULL, 0);
    produce_all(pc, 3000, 100);
    ck_assert_int_eq(dr_err, 0);
    ck_assert_int_eq(dr_order_bad, 0);
    ck_assert_int_gt(fb.part[0].nb, 3);
    sl_conf *c = conf();
    sl_conf_set(c, "max.partition.fetch.bytes", "1000", NULL, 0);
    sl_conf_set(c, "check.crcs", "true", NULL, 0);
    sl_stats st;
    consume_all(c, 3000, 100, &st);
    ck_assert_int_ge(st.fetch_size_grows, 1);
    ck_assert_int_ge(fb.partial_first, 1);
    sl_conf *c2 = conf();
    sl_conf_set(c2, "max.partition.fetch.bytes", "100000", NULL, 0);
    consume_all(c2, 3000, 100, &st);
    ck_assert_int_ge(fb.partial_trailing, 1);
}
END_TEST

START_TEST(test_not_leader_is_retried_in_order)
{
    /* Several requests are in flight when the first error comes back: all of them are refused
     * (they reach the old leader before the client's metadata refresh), all are retried. */
    fb.not_leader = true;
    sl_conf *pc = conf();
    sl_conf_set(pc, "batch.size", "4096", NULL, 0);
    sl_conf_set(pc, "retry.backoff.ms", "10", NULL, 0);
    produce_all(pc, 2000, 50);
    ck_assert_int_ge(fb.produce_refused, 1);
    ck_assert_uint_eq(pstats.retries, (uint64_t)fb.produce_refused); /* one batch each */
    ck_assert_int_eq(dr_err, 0);
    ck_assert_int_eq(dr_order_bad, 0);
    ck_assert_int_ge(fb.metadata, 2); /* refreshed after the error */
    sl_stats st;
    consume_all(conf(), 2000, 50, &st);
}
END_TEST

START_TEST(test_corrupt_message_is_reported_not_retried)
{
    fb.produce_fail_next = 1;
    fb.produce_err = SL_ERR_CORRUPT_MESSAGE;
    sl_conf *pc = conf();
    sl_conf_set(pc, "linger.ms", "0", NULL, 0);
    sl_conf_set_delivery_cb(pc, dr);
    dr_n = dr_err = dr_order_bad = 0;
    dr_last = -1;
    sl_producer *p = sl_producer_new(pc, NULL, 0);
    ck_assert_int_eq(sl_produce(p, "t", 0, NULL, 0, "first", 5, NULL, 0, 0, NULL), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_flush(p, 10000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(dr_n, 1);
    ck_assert_int_eq(dr_err, 1);
    ck_assert_int_eq(dr_first_err, SL_ERR_CORRUPT_MESSAGE);
    ck_assert_int_eq(sl_produce(p, "t", 0, NULL, 0, "second", 6, NULL, 0, 0, NULL),
                     SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_flush(p, 10000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(dr_n, 2);
    ck_assert_int_eq(dr_err, 1);
    ck_assert_int_eq(fb.part[0].next_offset, 1);
    sl_producer_free(p);
}
END_TEST

START_TEST(test_out_of_range_resets_to_latest)
{
    produce_all(conf(), 10, 20);
    sl_conf *c = conf();
    sl_conf_set(c, "auto.offset.reset", "latest", NULL, 0);
    sl_consumer *k = sl_consumer_new(c, NULL, 0);
    ck_assert_int_eq(sl_consumer_assign(k, "t", 0, 12345), SL_ERR_NO_ERROR);
    sl_record r;
    ck_assert_int_eq(sl_consumer_poll(k, 300, &r), SL_ERR__TIMED_OUT);
    ck_assert_int_eq(sl_consumer_position(k, "t", 0), 10);
    sl_stats st;
    sl_consumer_stats(k, &st);
    ck_assert_uint_eq(st.offset_resets, 1);
    sl_consumer_free(k);
}
END_TEST

static volatile unsigned chaos_sink; /* keeps the reads below from being optimised away */

START_TEST(test_corrupted_responses_never_crash)
{
    /* Records first, cleanly; then every response (ApiVersions, Metadata, Produce, ListOffsets,
     * Fetch) arrives with random bytes changed. The client reports errors, drops connections
     * and retries; ASan/UBSan check that nothing is read out of bounds. Bounded in calls. */
    produce_all(conf(), 2000, 30);
    for (unsigned seed = 1; seed <= 6; seed++) {
        pthread_mutex_lock(&fb.mu);
        fb.chaos = seed;
        pthread_mutex_unlock(&fb.mu);
        sl_conf *c = conf();
        sl_conf_set(c, "request.timeout.ms", "500", NULL, 0);
        sl_conf_set(c, "retry.backoff.ms", "5", NULL, 0);
        sl_conf_set(c, "check.crcs", seed % 2 ? "true" : "false", NULL, 0);
        sl_consumer *k = sl_consumer_new(c, NULL, 0);
        ck_assert_ptr_nonnull(k);
        if (sl_consumer_assign(k, "t", 0, SL_OFFSET_BEGINNING) == SL_ERR_NO_ERROR) {
            for (int i = 0; i < 200; i++) {
                sl_record r;
                sl_err e = sl_consumer_poll(k, 5, &r);
                if (e != SL_ERR_NO_ERROR)
                    continue;
                /* Touch every byte handed out: ASan checks it lies inside a live buffer. */
                unsigned sum = 0;
                for (size_t j = 0; j < r.key_len; j++)
                    sum += ((const uint8_t *)r.key)[j];
                for (size_t j = 0; j < r.value_len; j++)
                    sum += ((const uint8_t *)r.value)[j];
                for (size_t j = 0; j < r.header_count; j++) {
                    sl_header h;
                    if (sl_record_header(&r, j, &h) == SL_ERR_NO_ERROR)
                        sum += h.key_len ? (uint8_t)h.key[0] : 0;
                }
                chaos_sink += sum;
            }
        }
        sl_consumer_free(k);
        c = conf();
        sl_conf_set(c, "request.timeout.ms", "500", NULL, 0);
        sl_conf_set(c, "delivery.timeout.ms", "1500", NULL, 0);
        sl_conf_set(c, "retry.backoff.ms", "5", NULL, 0);
        sl_producer *p = sl_producer_new(c, NULL, 0);
        for (int i = 0; i < 50; i++)
            if (sl_produce(p, "t", 0, NULL, 0, "chaos", 5, NULL, 0, 0, NULL) != SL_ERR_NO_ERROR)
                break;
        sl_flush(p, 2000);
        sl_producer_free(p); /* every record reported, delivered or not (LSan: no leak) */
    }
    pthread_mutex_lock(&fb.mu);
    fb.chaos = 0;
    fb.bad_requests = 0; /* a corrupted answer can make the client send odd requests */
    pthread_mutex_unlock(&fb.mu);
}
END_TEST

/* Four partitions fetched together: each is asked for a quarter of SL__FETCH_TARGET. A batch
 * bigger than that share (the fake broker cuts it, no whole first batch) is asked for whole
 * next time, within max.partition.fetch.bytes, instead of being asked for the same share
 * forever. */
static void setup4(void) { ck_assert_int_eq(fb_start(4), 0); }

START_TEST(test_batch_bigger_than_the_partition_share)
{
    sl_conf *pc = conf();
    sl_conf_set(pc, "batch.size", "2000000", NULL, 0);
    sl_conf_set(pc, "linger.ms", "1000", NULL, 0);
    produce_all(pc, 4000, 100); /* partition 0: batches of about 400 KB */
    ck_assert_int_eq(dr_err, 0);
    ck_assert_int_ge(fb.part[0].nb, 1);
    ck_assert_int_lt(fb.part[0].nb, 4000 / 2);
    sl_consumer *k = sl_consumer_new(conf(), NULL, 0);
    ck_assert_ptr_nonnull(k);
    for (int32_t p = 0; p < 4; p++)
        ck_assert_int_eq(sl_consumer_assign(k, "t", p, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    for (int i = 0; i < 4000; i++) {
        sl_record r;
        sl_err e = sl_consumer_poll(k, 10000, &r);
        if (e != SL_ERR_NO_ERROR)
            ck_abort_msg("record %d: %s", i, sl_err2str(e));
        ck_assert_int_eq(r.partition, 0);
        ck_assert_int_eq(r.offset, i);
    }
    sl_stats st;
    sl_consumer_stats(k, &st);
    ck_assert_int_ge(fb.partial_first, 1);    /* the share did cut a first batch */
    ck_assert_int_eq(st.fetch_size_grows, 0); /* within max.partition.fetch.bytes */
    sl_consumer_free(k);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sl_scripted");
    TCase *tc = tcase_create("scripted");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_oversized_first_batch_and_partial_trailing);
    tcase_add_test(tc, test_not_leader_is_retried_in_order);
    tcase_add_test(tc, test_corrupt_message_is_reported_not_retried);
    tcase_add_test(tc, test_out_of_range_resets_to_latest);
    tcase_add_test(tc, test_corrupted_responses_never_crash);
    suite_add_tcase(s, tc);
    tc = tcase_create("four-partitions");
    tcase_add_checked_fixture(tc, setup4, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_batch_bigger_than_the_partition_share);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
