/*
 * test_sl_idemp — the idempotent producer (client/sl_idemp.c) against the scripted broker
 * (sl_fake_broker.h, which checks producer ids, epochs and sequences as Kafka >= 2.5 does):
 * - a producer id from InitProducerId (v4, the highest both speak) before anything is sent;
 *   sequences start at 0 and follow each other per partition, every batch stamped with the id
 *   and epoch 0;
 * - Produce requests written to the log but never answered (connection shut): the batches go
 *   again with the same id, epoch and sequence, the broker recognises them, and the log holds
 *   every record exactly once, in produce order, with up to 5 requests in flight;
 * - a request refused with NOT_LEADER while 4 more are in flight: those get
 *   OUT_OF_ORDER_SEQUENCE_NUMBER and are sent again after it, in order, same sequences, no epoch
 *   bump;
 * - a batch that fails for good (CORRUPT_MESSAGE) leaves a gap: the producer drains, bumps its
 *   epoch to 1 and starts every partition again at sequence 0; the other records are delivered
 *   once each, in order;
 * - OUT_OF_ORDER_SEQUENCE_NUMBER for the oldest unacknowledged batch is fatal
 *   ("desynchronization");
 * - at epoch 32767 a gap means a new producer id: InitProducerId v4 carrying the current id,
 *   sequences from 0 under the new one;
 * - INVALID_PRODUCER_EPOCH is fatal: the error callback gets _FATAL, sl_producer_fatal_error the
 *   broker's error, sl_produce returns _FATAL, every record is reported failed;
 * - a broker without InitProducerId: fatal _UNSUPPORTED_FEATURE, nothing produced.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_int.h"

#include "sl_fake_broker.h"
#include "tb_dr.h"
#include "tb_check.h"

static void fb_setup(void) { ck_assert_int_eq(fb_start(4), 0); }
static void fb_teardown(void)
{
    fb_stop();
    ck_assert_int_eq(fb.bad_requests, 0);
}

static char fb_addr[64];
/* An idempotent producer on the scripted broker; small batches, so that many are in flight. */
static sl_producer *idemp_producer(int batch_size)
{
    snprintf(fb_addr, sizeof(fb_addr), "127.0.0.1:%d", fb.port);
    sl_conf *c = sl_conf_new();
    char bs[16];
    snprintf(bs, sizeof(bs), "%d", batch_size);
    ck_assert_int_eq(sl_conf_set(c, "bootstrap.servers", fb_addr, NULL, 0), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_conf_set(c, "enable.idempotence", "true", NULL, 0), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_conf_set(c, "batch.size", bs, NULL, 0), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_conf_set(c, "linger.ms", "0", NULL, 0), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_conf_set(c, "retry.backoff.ms", "10", NULL, 0), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_conf_set(c, "request.timeout.ms", "3000", NULL, 0), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_conf_set(c, "delivery.timeout.ms", "20000", NULL, 0), SL_ERR_NO_ERROR);
    tb_dr_attach(c);
    char err[256] = "";
    sl_producer *p = sl_producer_new(c, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    return p;
}

/* Produces records "v<i>", i in [from, to), i on partition i % 4, polling as it goes. */
static void produce_range(sl_producer *p, long from, long to)
{
    char v[32];
    for (long i = from; i < to; i++) {
        int vl = snprintf(v, sizeof(v), "v%ld", i);
        ck_assert_int_eq(sl_produce(p, "t", (int32_t)(i % 4), NULL, 0, v, (size_t)vl, NULL, 0, 0,
                                    (void *)(intptr_t)i),
                         SL_ERR_NO_ERROR);
        sl_poll(p, 0);
    }
}

static void produce_n(sl_producer *p, long n) { produce_range(p, 0, n); }

/*
 * The fake broker's log of each partition holds records i = part, part + 4, ... exactly once and
 * in order (values "v<i>"), at the offsets the delivery reports gave. Returns the records seen.
 */
static long check_log_exactly_once(long n, bool all_delivered)
{
    long seen = 0;
    pthread_mutex_lock(&fb.mu);
    for (int part = 0; part < 4; part++) {
        struct fb_part *fp = &fb.part[part];
        long expect = part; /* next record index expected in this partition */
        for (int b = 0; b < fp->nb; b++) {
            const uint8_t *batch = fp->log + fp->pos[b];
            struct kp_batch_hdr h;
            ck_assert_int_eq(kp_batch_parse_hdr(batch, fp->len - fp->pos[b], &h), 0);
            struct kp_record_iter it;
            kp_record_iter_init(&it, batch, &h);
            struct kp_record r;
            while (kp_record_next(&it, &r) == 1) {
                long i = strtol((const char *)r.value.ptr + 1, NULL, 10);
                if (all_delivered)
                    ck_assert_msg(i == expect, "partition %d: record %ld where %ld was due", part,
                                  i, expect);
                else
                    ck_assert_msg(i >= expect, "partition %d: record %ld again or out of order",
                                  part, i);
                ck_assert_int_eq(tb_dr.part[i], part);
                if (tb_dr.err[i] == SL_ERR_NO_ERROR)
                    ck_assert_int_eq(tb_dr.off[i], h.base_offset + r.offset_delta);
                expect = i + 4;
                seen++;
            }
        }
        if (all_delivered)
            ck_assert_int_ge(expect, n);
    }
    pthread_mutex_unlock(&fb.mu);
    return seen;
}

/* Per partition, the batches accepted (error 0) carry consecutive sequences from 0 within each
 * epoch, the given id throughout. Returns the highest epoch seen. */
static int check_sequences(int64_t pid)
{
    int top = -1;
    pthread_mutex_lock(&fb.mu);
    for (int part = 0; part < 4; part++) {
        struct fb_part *fp = &fb.part[part];
        int epoch = -1;
        int32_t next = 0;
        for (int i = 0; i < fp->nrx; i++) {
            const struct fb_rx *x = &fp->rx[i];
            ck_assert_int_eq(x->pid, pid);
            if (x->err)
                continue;
            if (x->epoch != epoch) {
                ck_assert_int_gt(x->epoch, epoch);
                epoch = x->epoch;
                next = 0;
            }
            /* a resend of an accepted batch is a duplicate: same or earlier sequence */
            if (x->seq < next)
                continue;
            ck_assert_msg(x->seq == next, "partition %d epoch %d: sequence %d where %d was due",
                          part, epoch, x->seq, next);
            next = x->seq + x->count;
        }
        if (epoch > top)
            top = epoch;
    }
    pthread_mutex_unlock(&fb.mu);
    return top;
}

START_TEST(test_sequences_start_at_zero)
{
    enum { N = 4000 };
    sl_producer *p = idemp_producer(1024);
    produce_n(p, N);
    ck_assert_int_eq(sl_flush(p, 20000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(tb_dr.n, N);
    for (long i = 0; i < N; i++)
        ck_assert_msg(tb_dr.err[i] == SL_ERR_NO_ERROR, "record %ld: %s", i,
                      sl_err2name(tb_dr.err[i]));
    ck_assert_int_eq(check_log_exactly_once(N, true), N);
    ck_assert_int_eq(fb.init_pids, 1);
    ck_assert_int_eq(fb.init_pid_version, 4);
    ck_assert_int_eq(check_sequences(1000), 0);
    /* The first batch of every partition is sequence 0, and there were many batches. */
    for (int part = 0; part < 4; part++) {
        ck_assert_int_gt(fb.part[part].nrx, 5);
        ck_assert_int_eq(fb.part[part].rx[0].seq, 0);
        ck_assert_int_eq(fb.part[part].rx[0].epoch, 0);
    }
    ck_assert_int_eq(fb.dups, 0);
    ck_assert_int_eq(fb.oos, 0);
    char why[128];
    ck_assert_int_eq(sl_producer_fatal_error(p, why, sizeof(why)), SL_ERR_NO_ERROR);
    sl_producer_free(p);
    ck_assert_str_eq(tb_dr.errs, "");
}
END_TEST

START_TEST(test_lost_responses_no_duplicates)
{
    enum { N = 6000 };
    fb.slow_us = 3000; /* requests pile up: 5 in flight */
    fb.drop_next = 4;
    sl_producer *p = idemp_producer(1024);
    produce_n(p, N);
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(tb_dr.n, N);
    for (long i = 0; i < N; i++)
        ck_assert_msg(tb_dr.err[i] == SL_ERR_NO_ERROR, "record %ld: %s", i,
                      sl_err2name(tb_dr.err[i]));
    ck_assert_int_eq(fb.drop_next, 0);
    /* The dropped requests' batches came again, were recognised and not written twice. */
    ck_assert_int_gt(fb.dups, 0);
    ck_assert_int_eq(check_log_exactly_once(N, true), N);
    ck_assert_int_eq(check_sequences(1000), 0); /* no epoch bump */
    /* A resent batch carried the sequence it had: every duplicate matches an accepted batch. */
    for (int part = 0; part < 4; part++) {
        const struct fb_part *fp = &fb.part[part];
        for (int i = 0; i < fp->nrx; i++)
            for (int j = 0; j < i; j++)
                if (fp->rx[j].seq == fp->rx[i].seq && fp->rx[j].epoch == fp->rx[i].epoch)
                    ck_assert_int_eq(fp->rx[j].count, fp->rx[i].count);
    }
    sl_stats st;
    sl_producer_stats(p, &st);
    ck_assert_int_eq(st.max_in_flight_seen, 5);
    ck_assert_int_gt(st.retries, 0);
    ck_assert_int_eq(fb.init_pids, 1);
    sl_producer_free(p);
    ck_assert_ptr_nonnull(strstr(tb_dr.errs, "_TRANSPORT|"));
    ck_assert_ptr_null(strstr(tb_dr.errs, "_FATAL"));
}
END_TEST

START_TEST(test_gap_retried_in_order)
{
    enum { N = 6000 };
    fb.slow_us = 3000;
    sl_producer *p = idemp_producer(1024);
    produce_n(p, 400); /* the broker knows the producer on every partition */
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    pthread_mutex_lock(&fb.mu);
    fb.produce_fail_next = 1;
    fb.produce_err = KP_ERR_NOT_LEADER_OR_FOLLOWER;
    pthread_mutex_unlock(&fb.mu);
    produce_range(p, 400, N);
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(tb_dr.n, N);
    for (long i = 0; i < N; i++)
        ck_assert_msg(tb_dr.err[i] == SL_ERR_NO_ERROR, "record %ld: %s", i,
                      sl_err2name(tb_dr.err[i]));
    ck_assert_int_eq(fb.produce_refused, 1);
    ck_assert_int_gt(fb.oos, 0); /* the requests behind the refused one arrived after a gap */
    ck_assert_int_eq(check_log_exactly_once(N, true), N);
    ck_assert_int_eq(check_sequences(1000), 0); /* retried in order, no epoch bump */
    sl_producer_free(p);
    ck_assert_ptr_null(strstr(tb_dr.errs, "_FATAL"));
}
END_TEST

START_TEST(test_failed_batch_bumps_epoch)
{
    enum { N = 6000 };
    fb.slow_us = 3000;
    sl_producer *p = idemp_producer(1024);
    produce_n(p, 400);
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    pthread_mutex_lock(&fb.mu);
    fb.produce_fail_next = 1;
    fb.produce_err = KP_ERR_CORRUPT_MESSAGE; /* not retriable: those records fail */
    pthread_mutex_unlock(&fb.mu);
    produce_range(p, 400, N);
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(tb_dr.n, N);
    long failed = 0;
    for (long i = 0; i < N; i++) {
        if (tb_dr.err[i] == SL_ERR_NO_ERROR)
            continue;
        ck_assert_msg(tb_dr.err[i] == SL_ERR_CORRUPT_MESSAGE, "record %ld: %s", i,
                      sl_err2name(tb_dr.err[i]));
        failed++;
    }
    ck_assert_int_gt(failed, 0);
    ck_assert_int_eq(check_log_exactly_once(N, false), N - failed);
    ck_assert_int_eq(check_sequences(1000), 1); /* epoch 1, sequences from 0 again */
    ck_assert_int_eq(fb.init_pids, 1);          /* bumped locally */
    sl_producer_free(p);
    ck_assert_ptr_null(strstr(tb_dr.errs, "_FATAL"));
}
END_TEST

START_TEST(test_fenced_is_fatal)
{
    enum { N = 200 };
    fb.fence = true;
    sl_producer *p = idemp_producer(1024);
    /* the first answer can make the producer fatal before the loop ends (a slow machine): from
     * then on sl_produce refuses, and every record it took gets its failed report */
    long n = 0;
    for (; n < N; n++) {
        sl_err e =
            sl_produce(p, "t", (int32_t)(n % 4), NULL, 0, "v", 1, NULL, 0, 0, (void *)(intptr_t)n);
        if (e == SL_ERR__FATAL)
            break;
        ck_assert_int_eq(e, SL_ERR_NO_ERROR);
        sl_poll(p, 0);
    }
    ck_assert_int_gt(n, 0);
    sl_flush(p, 10000);
    ck_assert_int_eq(tb_dr.n, n);
    for (long i = 0; i < n; i++)
        ck_assert_msg(tb_dr.err[i] == SL_ERR__FATAL ||
                          tb_dr.err[i] == SL_ERR_INVALID_PRODUCER_EPOCH,
                      "record %ld: %s", i, sl_err2name(tb_dr.err[i]));
    ck_assert_ptr_nonnull(strstr(tb_dr.errs, "_FATAL|"));
    char why[256] = "";
    ck_assert_int_eq(sl_producer_fatal_error(p, why, sizeof(why)), SL_ERR_INVALID_PRODUCER_EPOCH);
    ck_assert_ptr_nonnull(strstr(why, "fenced"));
    ck_assert_int_eq(sl_produce(p, "t", 0, NULL, 0, "x", 1, NULL, 0, 0, NULL), SL_ERR__FATAL);
    ck_assert_int_eq(fb.part[0].nb + fb.part[1].nb + fb.part[2].nb + fb.part[3].nb, 0);
    sl_producer_free(p);
}
END_TEST

/* OUT_OF_ORDER for the oldest unacknowledged batch, nothing failed before it: the broker and
 * the producer disagree on the sequence, which no retry can fix without risking duplicates. */
START_TEST(test_desynchronized_sequence_is_fatal)
{
    sl_producer *p = idemp_producer(1024);
    produce_n(p, 40);
    ck_assert_int_eq(sl_flush(p, 10000), SL_ERR_NO_ERROR);
    pthread_mutex_lock(&fb.mu);
    fb.oos_next = 1;
    pthread_mutex_unlock(&fb.mu);
    long i = 40;
    for (; i < 80; i++) { /* sl_produce refuses once the producer has failed */
        sl_err e =
            sl_produce(p, "t", (int32_t)(i % 4), NULL, 0, "v", 1, NULL, 0, 0, (void *)(intptr_t)i);
        if (e == SL_ERR__FATAL)
            break;
        ck_assert_int_eq(e, SL_ERR_NO_ERROR);
        sl_poll(p, 0);
    }
    sl_flush(p, 10000);
    ck_assert_int_eq(tb_dr.n, i);
    long failed = 0;
    for (long j = 40; j < i; j++)
        failed += tb_dr.err[j] != SL_ERR_NO_ERROR;
    ck_assert_int_gt(failed, 0);
    char why[256] = "";
    ck_assert_int_eq(sl_producer_fatal_error(p, why, sizeof(why)),
                     SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    ck_assert_ptr_nonnull(strstr(why, "desynchronization"));
    ck_assert_ptr_nonnull(strstr(tb_dr.errs, "_FATAL|"));
    ck_assert_int_eq(sl_produce(p, "t", 0, NULL, 0, "x", 1, NULL, 0, 0, NULL), SL_ERR__FATAL);
    sl_producer_free(p);
}
END_TEST

/* The epoch cannot go past 32767: a sequence gap then means a new producer id, asked for with
 * the current id and epoch (InitProducerId v3+, KIP-360), and sequences from 0 under it. */
START_TEST(test_exhausted_epoch_gets_a_new_id)
{
    enum { N = 2000 };
    fb.init_epoch = INT16_MAX;
    fb.slow_us = 2000;
    sl_producer *p = idemp_producer(1024);
    produce_n(p, 400);
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    pthread_mutex_lock(&fb.mu);
    fb.produce_fail_next = 1;
    fb.produce_err = KP_ERR_CORRUPT_MESSAGE;
    pthread_mutex_unlock(&fb.mu);
    produce_range(p, 400, N);
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(tb_dr.n, N);
    long failed = 0;
    for (long i = 0; i < N; i++)
        failed += tb_dr.err[i] != SL_ERR_NO_ERROR;
    ck_assert_int_gt(failed, 0);
    ck_assert_int_eq(check_log_exactly_once(N, false), N - failed);
    ck_assert_int_eq(fb.init_pids, 2);
    ck_assert_int_eq(fb.init_pid_version, 4);
    ck_assert_int_eq(fb.init_pid_req_pid, 1000); /* said which id it had */
    /* After the new id every partition starts at 0 again. */
    for (int part = 0; part < 4; part++) {
        const struct fb_part *fp = &fb.part[part];
        int32_t next = 0;
        bool seen_new = false;
        for (int i = 0; i < fp->nrx; i++) {
            if (fp->rx[i].pid != 1001 || fp->rx[i].err)
                continue;
            if (!seen_new)
                ck_assert_int_eq(fp->rx[i].seq, 0);
            seen_new = true;
            ck_assert_int_eq(fp->rx[i].epoch, INT16_MAX);
            if (fp->rx[i].seq < next)
                continue;
            ck_assert_int_eq(fp->rx[i].seq, next);
            next = fp->rx[i].seq + fp->rx[i].count;
        }
        ck_assert(seen_new);
    }
    sl_producer_free(p);
    ck_assert_ptr_null(strstr(tb_dr.errs, "_FATAL"));
}
END_TEST

START_TEST(test_no_init_producer_id_is_fatal)
{
    fb.idemp_off = true;
    sl_producer *p = idemp_producer(1024);
    produce_n(p, 10);
    sl_flush(p, 10000);
    ck_assert_int_eq(tb_dr.n, 10);
    for (long i = 0; i < 10; i++)
        ck_assert_int_eq(tb_dr.err[i], SL_ERR__FATAL);
    char why[256] = "";
    ck_assert_int_eq(sl_producer_fatal_error(p, why, sizeof(why)), SL_ERR__UNSUPPORTED_FEATURE);
    ck_assert_ptr_nonnull(strstr(tb_dr.errs, "_FATAL|"));
    ck_assert_int_eq(sl_produce(p, "t", 0, NULL, 0, "x", 1, NULL, 0, 0, NULL), SL_ERR__FATAL);
    ck_assert_int_eq(fb.init_pids, 0);
    ck_assert_int_eq(fb.part[0].nb, 0);
    sl_producer_free(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sl_idemp");
    TCase *tc = tcase_create("idemp");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, fb_setup, fb_teardown);
    tcase_add_test(tc, test_sequences_start_at_zero);
    tcase_add_test(tc, test_lost_responses_no_duplicates);
    tcase_add_test(tc, test_gap_retried_in_order);
    tcase_add_test(tc, test_failed_batch_bumps_epoch);
    tcase_add_test(tc, test_fenced_is_fatal);
    tcase_add_test(tc, test_desynchronized_sequence_is_fatal);
    tcase_add_test(tc, test_exhausted_epoch_gets_a_new_id);
    tcase_add_test(tc, test_no_init_producer_id_is_fatal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
