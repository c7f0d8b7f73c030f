/*
 * test_client_idempotence — libsplicelog's idempotent producer (enable.idempotence=true)
 * against a real splicelogd killed with SIGKILL and restarted on the same port, in cycles,
 * while it produces: each cycle has records acknowledged first (the broker knows the producer),
 * then a burst whose requests are in flight at the kill, then records produced while the broker
 * is down; the producer resends what was never answered with the same producer id, epoch and
 * sequences, and the restarted broker (its producer state recovered) must recognise what it
 * had already written. Read back afterwards, per partition:
 * - every record reported delivered is in the log exactly once, at its reported offset;
 * - no record is in the log twice (delivered or not), and each partition's records are in
 *   produce order;
 * - every record is reported delivered (delivery.timeout.ms is far longer than the run), and
 *   the producer never failed (sl_producer_fatal_error).
 * A broker without InitProducerId in its ApiVersions makes the producer fail with
 * _UNSUPPORTED_FEATURE: this suite then fails (it does not skip), on purpose.
 */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_client.h"
#include "splicelog.h"
#include "../support/tb_check.h"

static struct tb_broker B;
static char bootstrap[64];

enum { N = 60000, NPART = 4, CYCLES = 12 };

static sl_err *rec_err;
static int64_t *rec_off;
static int32_t *rec_part;
static uint8_t *rec_calls;
static long fatal_seen;
static long reported; /* delivery reports so far */
static char fatal_reason[512];

static void dr(sl_producer *p, const sl_delivery *d, void *opaque)
{
    (void)p;
    (void)opaque;
    long i = (long)(intptr_t)d->msg_opaque;
    TB_FAST_MSG(i >= 0 && i < N, "delivery report for record %ld", i);
    rec_calls[i]++;
    reported++;
    rec_err[i] = d->err;
    rec_off[i] = d->offset;
    rec_part[i] = d->partition;
}

static void error_cb(void *opaque, sl_err err, const char *reason)
{
    (void)opaque;
    if (err == SL_ERR__FATAL) {
        fatal_seen++;
        snprintf(fatal_reason, sizeof(fatal_reason), "%s", reason);
    }
}

static void setup(void)
{
    memset(&B, 0, sizeof(B));
    static const char *const extra[] = {"-o", "num.partitions=4", NULL};
    tb_cl_start(&B, extra, bootstrap, sizeof(bootstrap));
}

static void teardown(void) { tb_broker_cleanup(&B); }

static void produce_one(sl_producer *p, long i)
{
    char v[32];
    int vl = snprintf(v, sizeof(v), "idem-%06ld", i);
    sl_err e;
    int64_t until = tb_now_ms() + 60000;
    while ((e = sl_produce(p, "idem", (int32_t)(i % NPART), NULL, 0, v, (size_t)vl, NULL, 0, 0,
                           (void *)(intptr_t)i)) == SL_ERR__QUEUE_FULL &&
           tb_now_ms() < until)
        sl_poll(p, 10);
    if (e != SL_ERR_NO_ERROR) {
        char why[256] = "";
        sl_err fe = sl_producer_fatal_error(p, why, sizeof(why));
        ck_assert_msg(0, "sl_produce of record %ld: %s (fatal error: %s: %s)", i, sl_err2name(e),
                      sl_err2name(fe), why);
    }
}

START_TEST(idempotent_producer_survives_kill9_cycles)
{
    rec_err = calloc(N, sizeof(*rec_err));
    rec_off = calloc(N, sizeof(*rec_off));
    rec_part = calloc(N, sizeof(*rec_part));
    rec_calls = calloc(N, 1);
    sl_conf *c = sl_conf_new();
    tb_cl_set(c, "bootstrap.servers", bootstrap);
    tb_cl_set(c, "enable.idempotence", "true");
    tb_cl_set(c, "linger.ms", "1");
    tb_cl_set(c, "batch.size", "4096"); /* many small batches: several in flight at each kill */
    tb_cl_set(c, "request.timeout.ms", "5000");
    tb_cl_set(c, "delivery.timeout.ms", "240000");
    tb_cl_set(c, "retry.backoff.ms", "50");
    sl_conf_set_delivery_cb(c, dr);
    sl_conf_set_error_cb(c, error_cb);
    char err[256] = "";
    sl_producer *p = sl_producer_new(c, err, sizeof(err));
    ck_assert_msg(p != NULL, "producer: %s", err);

    int port = B.port;
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    const char *const extra[] = {"--listen", listen, "-o", "num.partitions=4", NULL};
    long per = N / (CYCLES + 2); /* a cycle takes 1.1 shares */
    long i = 0;
    for (int cycle = 0; cycle < CYCLES; cycle++) {
        /* Half a share with the broker up, mostly acknowledged (the broker knows the
         * producer), then the other half sent and the broker killed with it in flight. */
        for (long end = i + per / 2; i < end; i++) {
            produce_one(p, i);
            sl_poll(p, 0);
        }
        int64_t until = tb_now_ms() + 60000;
        while (reported < i - per / 8 && tb_now_ms() < until && !fatal_seen)
            sl_poll(p, 10);
        for (long end = i + per / 2; i < end; i++) {
            produce_one(p, i);
            sl_poll(p, 0);
        }
        for (int k = 0; k < 2; k++)
            sl_poll(p, 0); /* requests written, responses pending */
        int st = tb_broker_stop(&B, SIGKILL);
        ck_assert_msg(st >= 0 && WIFSIGNALED(st), "cycle %d: kill status 0x%x", cycle, st);
        /* Some records while it is down: queued, sent after the restart. */
        for (long end = i + per / 10; i < end; i++) {
            produce_one(p, i);
            sl_poll(p, 0);
        }
        usleep(200 * 1000);
        tb_cl_start(&B, extra, bootstrap, sizeof(bootstrap));
        ck_assert_int_eq(B.port, port);
    }
    for (; i < N; i++) {
        produce_one(p, i);
        sl_poll(p, 0);
    }
    sl_err fe = sl_flush(p, 200000);
    char why[512] = "";
    sl_err fatal = sl_producer_fatal_error(p, why, sizeof(why));
    ck_assert_msg(fatal == SL_ERR_NO_ERROR, "the producer failed: %s: %s", sl_err2name(fatal), why);
    ck_assert_msg(fe == SL_ERR_NO_ERROR, "flush: %s, %zu records outstanding", sl_err2name(fe),
                  sl_outq_len(p));
    sl_stats st;
    sl_producer_stats(p, &st);
    sl_producer_free(p);
    ck_assert_int_eq(fatal_seen, 0);

    /* Read every partition back from the beginning. */
    sl_conf *cc = sl_conf_new();
    tb_cl_set(cc, "bootstrap.servers", bootstrap);
    char e2[256] = "";
    sl_consumer *k = sl_consumer_new(cc, e2, sizeof(e2));
    ck_assert_msg(k != NULL, "consumer: %s", e2);
    int64_t high[NPART];
    for (int part = 0; part < NPART; part++) {
        int64_t lo = -1;
        ck_assert_int_eq(
            sl_consumer_query_watermark_offsets(k, "idem", part, &lo, &high[part], 10000),
            SL_ERR_NO_ERROR);
        ck_assert_int_eq(sl_consumer_assign(k, "idem", part, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    }
    long *at[NPART]; /* record index at each offset */
    int64_t total = 0;
    for (int part = 0; part < NPART; part++) {
        at[part] = malloc(((size_t)high[part] + 1) * sizeof(long));
        for (int64_t o = 0; o <= high[part]; o++)
            at[part][o] = -1;
        total += high[part];
    }
    long *copies = calloc(N, sizeof(long));
    int64_t read = 0;
    int64_t until = tb_now_ms() + 120000;
    while (read < total && tb_now_ms() < until) {
        sl_record r;
        sl_err e = sl_consumer_poll(k, 1000, &r);
        if (e == SL_ERR__TIMED_OUT)
            continue;
        TB_FAST_MSG(e == SL_ERR_NO_ERROR, "consume: %s", sl_err2str(e));
        TB_FAST_MSG(r.partition >= 0 && r.partition < NPART && r.offset >= 0 &&
                        r.offset < high[r.partition],
                    "record at %d/%lld", r.partition, (long long)r.offset);
        char v[32] = "";
        memcpy(v, r.value, r.value_len < 31 ? r.value_len : 31);
        long idx = -1;
        TB_FAST_MSG(sscanf(v, "idem-%ld", &idx) == 1 && idx >= 0 && idx < N, "value \"%s\"", v);
        TB_FAST_MSG(idx % NPART == r.partition, "record %ld on partition %d", idx, r.partition);
        at[r.partition][r.offset] = idx;
        copies[idx]++;
        read++;
    }
    sl_consumer_free(k);
    ck_assert_msg(read == total, "read %lld of %lld records", (long long)read, (long long)total);

    long delivered = 0, dups = 0;
    for (long j = 0; j < N; j++) {
        TB_FAST_MSG(rec_calls[j] == 1, "record %ld: %d delivery reports", j, rec_calls[j]);
        if (copies[j] > 1)
            dups++;
        TB_FAST_MSG(copies[j] <= 1, "record %ld is in the log %ld times", j, copies[j]);
        TB_FAST_MSG(rec_err[j] == SL_ERR_NO_ERROR, "record %ld: %s", j, sl_err2name(rec_err[j]));
        delivered++;
        int32_t part = rec_part[j];
        TB_FAST_MSG(rec_off[j] >= 0 && rec_off[j] < high[part] && at[part][rec_off[j]] == j,
                    "record %ld reported at %d/%lld, the log has record %ld there", j, part,
                    (long long)rec_off[j],
                    rec_off[j] >= 0 && rec_off[j] < high[part] ? at[part][rec_off[j]] : -1L);
        TB_FAST_MSG(copies[j] == 1, "record %ld delivered but not in the log", j);
    }
    /* Produce order within each partition. */
    for (int part = 0; part < NPART; part++) {
        long prev = -1;
        for (int64_t o = 0; o < high[part]; o++) {
            TB_FAST_MSG(at[part][o] > prev, "partition %d offset %lld: record %ld after %ld", part,
                        (long long)o, at[part][o], prev);
            prev = at[part][o];
        }
        free(at[part]);
    }
    fprintf(stderr,
            "idempotence: %d kill -9 cycles, %ld records delivered exactly once, %lld in the log, "
            "%llu batches sent, %llu retries, %llu disconnects\n",
            CYCLES, delivered, (long long)total, (unsigned long long)st.batches_sent,
            (unsigned long long)st.retries, (unsigned long long)st.disconnects);
    ck_assert_int_eq(dups, 0);
    ck_assert_int_eq(total, N);
    ck_assert_uint_ge(st.retries, 1); /* some request was cut off by a kill and sent again */
    free(copies);
    free(rec_err);
    free(rec_off);
    free(rec_part);
    free(rec_calls);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("client_idempotence");
    TCase *tc = tcase_create("kill9");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, idempotent_producer_survives_kill9_cycles);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
