/*
 * test_client — libsplicelog against a real splicelogd (tb_broker), and against kcat.
 *
 * - 1,000,000 small keyed records produced with batching: every delivery callback fires
 *   exactly once, offsets strictly increase per partition, keys land on the murmur2
 *   partition, and the consumer reads back exactly the same records at the same offsets.
 * - Interop both ways with kcat: library -> kcat byte-identical (keys, values, headers);
 *   kcat -> library.
 * - More than one request in flight on one connection (the library's counter), with the
 *   partition's offsets still in produce order.
 * - Broker killed (SIGKILL) and restarted mid-production: every record reported delivered is
 *   in the log at its reported offset with its value; the rest is reported failed or
 *   delivered after the restart.
 * - Documented errors: queue full, unknown topic with auto-create off (queued by sl_produce,
 *   reported UNKNOWN_TOPIC_OR_PART, then refused at once), record larger than the broker's
 *   message.max.bytes (and than the producer's own).
 * - partitioner=consistent_random puts 200 keys on the partitions kcat (librdkafka's default
 *   partitioner) put them on.
 * - Consumer: OFFSET_OUT_OF_RANGE reset (earliest / error), seek, end, check.crcs catching a
 *   corrupted batch on disk, a record larger than max.partition.fetch.bytes.
 * LeakSanitizer covers every test (the suite is built with ASan).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
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

static void setup(void)
{
    memset(&B, 0, sizeof(B));
    static const char *const extra[] = {"-o", "num.partitions=1", NULL};
    tb_cl_start(&B, extra, bootstrap, sizeof(bootstrap));
}

static void setup_bare(void) { memset(&B, 0, sizeof(B)); }

static void teardown(void) { tb_broker_cleanup(&B); }

static sl_conf *conf_new(void)
{
    sl_conf *c = sl_conf_new();
    ck_assert_ptr_nonnull(c);
    tb_cl_set(c, "bootstrap.servers", bootstrap);
    return c;
}

static sl_producer *producer_new(sl_conf *c)
{
    char err[256] = "";
    sl_producer *p = sl_producer_new(c, err, sizeof(err));
    ck_assert_msg(p != NULL, "producer: %s", err);
    return p;
}

static sl_consumer *consumer_new(sl_conf *c)
{
    char err[256] = "";
    sl_consumer *k = sl_consumer_new(c, err, sizeof(err));
    ck_assert_msg(k != NULL, "consumer: %s", err);
    return k;
}

/* Produces, waiting on the queue (sl_poll) when it is full. */
static sl_err produce(sl_producer *p, const char *topic, int32_t part, const void *key, size_t klen,
                      const void *val, size_t vlen, const sl_header *h, size_t nh, void *opaque)
{
    sl_err e;
    while ((e = sl_produce(p, topic, part, key, klen, val, vlen, h, nh, 0, opaque)) ==
           SL_ERR__QUEUE_FULL)
        sl_poll(p, 10);
    return e;
}

/* ---- 1,000,000 records ----------------------------------------------------------------------- */

#define MILLION 1000000
#define MPARTS  4

struct million {
    uint8_t *calls;
    int8_t *part;
    int64_t *off;
    int64_t last[MPARTS];
    long errors;
    long order_violations;
    long bad_views;
};
static struct million M;

static void million_dr(sl_producer *p, const sl_delivery *dr, void *opaque)
{
    (void)p;
    (void)opaque;
    long i = (long)(intptr_t)dr->msg_opaque;
    if (i < 0 || i >= MILLION) {
        M.bad_views++;
        return;
    }
    M.calls[i]++;
    if (dr->err) {
        M.errors++;
        return;
    }
    char v[32];
    int n = snprintf(v, sizeof(v), "value-%07ld", i);
    if (!dr->value || dr->value_len != (size_t)n || memcmp(dr->value, v, (size_t)n) != 0 ||
        strcmp(dr->topic, "million") != 0)
        M.bad_views++;
    if (dr->partition < 0 || dr->partition >= MPARTS) {
        M.bad_views++;
        return;
    }
    if (dr->offset <= M.last[dr->partition])
        M.order_violations++;
    M.last[dr->partition] = dr->offset;
    M.part[i] = (int8_t)dr->partition;
    M.off[i] = dr->offset;
}

START_TEST(test_million_records_roundtrip)
{
    static const char *const extra[] = {"-o", "num.partitions=4", NULL};
    memset(&B, 0, sizeof(B));
    tb_cl_start(&B, extra, bootstrap, sizeof(bootstrap));
    memset(&M, 0, sizeof(M));
    M.calls = calloc(MILLION, 1);
    M.part = calloc(MILLION, 1);
    M.off = calloc(MILLION, sizeof(int64_t));
    for (int i = 0; i < MPARTS; i++)
        M.last[i] = -1;
    sl_conf *c = conf_new();
    tb_cl_set(c, "linger.ms", "5");
    tb_cl_set(c, "acks", "1");
    sl_conf_set_delivery_cb(c, million_dr);
    sl_producer *p = producer_new(c);
    int64_t t0 = tb_now_ms();
    for (long i = 0; i < MILLION; i++) {
        char k[16], v[32];
        int kl = snprintf(k, sizeof(k), "k%ld", i % 1000);
        int vl = snprintf(v, sizeof(v), "value-%07ld", i);
        sl_err e = produce(p, "million", SL_PARTITION_ANY, k, (size_t)kl, v, (size_t)vl, NULL, 0,
                           (void *)(intptr_t)i);
        TB_FAST_MSG(e == SL_ERR_NO_ERROR, "produce %ld: %s", i, sl_err2str(e));
        if (i % 1000 == 0)
            sl_poll(p, 0);
    }
    int64_t t1 = tb_now_ms();
    ck_assert_int_eq(sl_flush(p, 120000), SL_ERR_NO_ERROR);
    int64_t t2 = tb_now_ms();
    sl_stats st;
    sl_producer_stats(p, &st);
    sl_producer_free(p);
    ck_assert_int_eq(M.errors, 0);
    ck_assert_int_eq(M.order_violations, 0);
    ck_assert_int_eq(M.bad_views, 0);
    ck_assert_uint_eq(st.records_delivered, MILLION);
    for (long i = 0; i < MILLION; i++) {
        TB_FAST_MSG(M.calls[i] == 1, "record %ld: %d callbacks", i, M.calls[i]);
        char k[16];
        int kl = snprintf(k, sizeof(k), "k%ld", i % 1000);
        TB_FAST_EQ(M.part[i], sl_partition_for_key(k, (size_t)kl, MPARTS));
    }
    /* Batching happened: far fewer batches than records. */
    ck_assert_uint_lt(st.batches_sent, MILLION / 100);

    /* Read everything back. */
    sl_conf *cc = conf_new();
    sl_consumer *k = consumer_new(cc);
    for (int part = 0; part < MPARTS; part++)
        ck_assert_int_eq(sl_consumer_assign(k, "million", part, SL_OFFSET_BEGINNING),
                         SL_ERR_NO_ERROR);
    uint8_t *seen = calloc(MILLION, 1);
    long got = 0;
    int idle = 0;
    while (got < MILLION && idle < 20) {
        sl_record r;
        sl_err e = sl_consumer_poll(k, 1000, &r);
        if (e == SL_ERR__TIMED_OUT) {
            idle++;
            continue;
        }
        TB_FAST_MSG(e == SL_ERR_NO_ERROR, "poll: %s", sl_err2str(e));
        idle = 0;
        TB_FAST(r.value && r.value_len == 13 && memcmp(r.value, "value-", 6) == 0);
        char num[8];
        memcpy(num, (const char *)r.value + 6, 7);
        num[7] = 0;
        long i = strtol(num, NULL, 10);
        TB_FAST(i >= 0 && i < MILLION);
        TB_FAST_MSG(!seen[i], "record %ld twice", i);
        seen[i] = 1;
        TB_FAST_EQ(r.partition, M.part[i]);
        TB_FAST_EQ(r.offset, M.off[i]);
        char key[16];
        int kl = snprintf(key, sizeof(key), "k%ld", i % 1000);
        TB_FAST(r.key && r.key_len == (size_t)kl && memcmp(r.key, key, (size_t)kl) == 0);
        TB_FAST(strcmp(r.topic, "million") == 0);
        got++;
    }
    ck_assert_int_eq(got, MILLION);
    int64_t t3 = tb_now_ms();
    fprintf(stderr, "million: produce %lld ms, flush %lld ms, consume %lld ms; %llu batches\n",
            (long long)(t1 - t0), (long long)(t2 - t1), (long long)(t3 - t2),
            (unsigned long long)st.batches_sent);
    sl_record r;
    ck_assert_int_eq(sl_consumer_poll(k, 200, &r), SL_ERR__TIMED_OUT);
    sl_consumer_free(k);
    free(seen);
    free(M.calls);
    free(M.part);
    free(M.off);
}
END_TEST

/* ---- interop with kcat ------------------------------------------------------------------ */

static int counting_dr_errors;
static long counting_dr_calls;
static void counting_dr(sl_producer *p, const sl_delivery *dr, void *opaque)
{
    (void)p;
    (void)opaque;
    counting_dr_calls++;
    if (dr->err)
        counting_dr_errors++;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

START_TEST(test_kcat_reads_library_records)
{
    sl_conf *c = conf_new();
    sl_conf_set_delivery_cb(c, counting_dr);
    counting_dr_calls = counting_dr_errors = 0;
    sl_producer *p = producer_new(c);
    for (int i = 0; i < 50; i++) {
        char k[32], v[64], hv[32];
        int kl = snprintf(k, sizeof(k), "key-%d", i);
        int vl = snprintf(v, sizeof(v), "value-%d-\x01\x7f-bytes", i);
        int hl = snprintf(hv, sizeof(hv), "x-%d", i);
        sl_header h[2] = {{"h1", 2, hv, (size_t)hl}, {"h2", 2, "y", 1}};
        ck_assert_int_eq(produce(p, "interop-a", 0, k, (size_t)kl, v, (size_t)vl, h, 2, NULL),
                         SL_ERR_NO_ERROR);
    }
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    sl_producer_free(p);
    ck_assert_int_eq(counting_dr_calls, 50);
    ck_assert_int_eq(counting_dr_errors, 0);

    char out[400];
    snprintf(out, sizeof(out), "%s/kcat.out", B.dir);
    const char *argv[] = {"kcat", "-b",        bootstrap, "-C", "-t", "interop-a",     "-p", "0",
                          "-o",   "beginning", "-e",      "-q", "-f", "%k|%s|%h|%o\n", NULL};
    pid_t pid = tb_spawn(argv, out);
    ck_assert_int_gt(pid, 0);
    int st = tb_wait_exit(pid, 30000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "kcat status 0x%x", st);
    char *got = slurp(out);
    ck_assert_ptr_nonnull(got);
    char expect[1 << 14];
    size_t n = 0;
    for (int i = 0; i < 50; i++)
        n += (size_t)snprintf(expect + n, sizeof(expect) - n,
                              "key-%d|value-%d-\x01\x7f-bytes|h1=x-%d,h2=y|%d\n", i, i, i, i);
    ck_assert_str_eq(got, expect);
}
END_TEST

START_TEST(test_library_reads_kcat_records)
{
    char in[400], out[400];
    snprintf(in, sizeof(in), "%s/kcat.in", B.dir);
    snprintf(out, sizeof(out), "%s/kcat.out", B.dir);
    FILE *f = fopen(in, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 40; i++)
        fprintf(f, "kk-%d:vv-%d\n", i, i);
    fclose(f);
    const char *argv[] = {"kcat", "-b", bootstrap, "-P", "-t",     "interop-b", "-p", "0", "-K",
                          ":",    "-H", "hdr=val", "-H", "empty=", "-l",        in,   NULL};
    pid_t pid = tb_spawn(argv, out);
    ck_assert_int_gt(pid, 0);
    int st = tb_wait_exit(pid, 30000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "kcat status 0x%x", st);

    sl_conf *c = conf_new();
    tb_cl_set(c, "check.crcs", "true");
    sl_consumer *k = consumer_new(c);
    ck_assert_int_eq(sl_consumer_assign(k, "interop-b", 0, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    for (int i = 0; i < 40; i++) {
        sl_record r;
        sl_err e = sl_consumer_poll(k, 10000, &r);
        ck_assert_msg(e == SL_ERR_NO_ERROR, "record %d: %s", i, sl_err2str(e));
        char kk[32], vv[32];
        int kl = snprintf(kk, sizeof(kk), "kk-%d", i);
        int vl = snprintf(vv, sizeof(vv), "vv-%d", i);
        ck_assert_int_eq(r.offset, i);
        ck_assert(r.key_len == (size_t)kl && memcmp(r.key, kk, (size_t)kl) == 0);
        ck_assert(r.value_len == (size_t)vl && memcmp(r.value, vv, (size_t)vl) == 0);
        ck_assert_uint_eq(r.header_count, 2);
        sl_header h;
        ck_assert_int_eq(sl_record_header(&r, 0, &h), SL_ERR_NO_ERROR);
        ck_assert(h.key_len == 3 && memcmp(h.key, "hdr", 3) == 0);
        ck_assert(h.value_len == 3 && memcmp(h.value, "val", 3) == 0);
        ck_assert_int_eq(sl_record_header(&r, 1, &h), SL_ERR_NO_ERROR);
        ck_assert(h.key_len == 5 && memcmp(h.key, "empty", 5) == 0);
        ck_assert_uint_eq(h.value_len, 0);
        ck_assert_int_eq(sl_record_header(&r, 2, &h), SL_ERR__INVALID_ARG);
        ck_assert_int_gt(r.timestamp, 1600000000000LL);
    }
    sl_consumer_free(k);
}
END_TEST

/* librdkafka's default partitioner (consistent_random: CRC-32 of the key): the library's
 * partitioner=consistent_random puts every key where kcat did. */
static int32_t lib_part[200];
static void part_dr(sl_producer *p, const sl_delivery *dr, void *opaque)
{
    (void)p;
    (void)opaque;
    long i = (long)(intptr_t)dr->msg_opaque;
    TB_FAST(dr->err == SL_ERR_NO_ERROR && i >= 0 && i < 200);
    lib_part[i] = dr->partition;
}

START_TEST(test_consistent_random_places_keys_like_kcat)
{
    static const char *const extra[] = {"-o", "num.partitions=4", NULL};
    tb_cl_start(&B, extra, bootstrap, sizeof(bootstrap));
    char in[400], out[400];
    snprintf(in, sizeof(in), "%s/keys.in", B.dir);
    snprintf(out, sizeof(out), "%s/kcat.out", B.dir);
    FILE *f = fopen(in, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 200; i++)
        fprintf(f, "customer-%d:%d\n", i, i);
    fclose(f);
    const char *argv[] = {"kcat", "-b", bootstrap, "-P", "-t", "by-kcat",
                          "-K",   ":",  "-l",      in,   NULL};
    pid_t pid = tb_spawn(argv, out);
    ck_assert_int_gt(pid, 0);
    int st = tb_wait_exit(pid, 30000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "kcat status 0x%x", st);

    sl_conf *c = conf_new();
    tb_cl_set(c, "partitioner", "consistent_random");
    sl_conf_set_delivery_cb(c, part_dr);
    sl_producer *p = producer_new(c);
    for (int i = 0; i < 200; i++) {
        char k[32];
        int kl = snprintf(k, sizeof(k), "customer-%d", i);
        ck_assert_int_eq(produce(p, "by-lib", SL_PARTITION_ANY, k, (size_t)kl, "x", 1, NULL, 0,
                                 (void *)(intptr_t)i),
                         SL_ERR_NO_ERROR);
    }
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    sl_producer_free(p);

    sl_consumer *k = consumer_new(conf_new());
    for (int32_t q = 0; q < 4; q++)
        ck_assert_int_eq(sl_consumer_assign(k, "by-kcat", q, SL_OFFSET_BEGINNING), 0);
    int seen = 0, used[4] = {0};
    while (seen < 200) {
        sl_record r;
        sl_err e = sl_consumer_poll(k, 10000, &r);
        ck_assert_msg(e == SL_ERR_NO_ERROR, "%s", sl_err2str(e));
        int i = atoi((const char *)r.key + strlen("customer-"));
        ck_assert_msg(lib_part[i] == r.partition, "customer-%d: kcat %d, library %d", i,
                      r.partition, lib_part[i]);
        used[r.partition]++;
        seen++;
    }
    sl_consumer_free(k);
    for (int q = 0; q < 4; q++)
        ck_assert_int_gt(used[q], 0);
}
END_TEST

/* ---- requests in flight ------------------------------------------------------------------ */

static int64_t *inflight_off;
static long inflight_n;
static void inflight_dr(sl_producer *p, const sl_delivery *dr, void *opaque)
{
    (void)p;
    (void)opaque;
    long i = (long)(intptr_t)dr->msg_opaque;
    TB_FAST(i >= 0 && i < inflight_n);
    TB_FAST_MSG(dr->err == SL_ERR_NO_ERROR, "%s", sl_err2str(dr->err));
    inflight_off[i] = dr->offset;
}

START_TEST(test_many_requests_in_flight_keep_order)
{
    inflight_n = 200000;
    inflight_off = calloc((size_t)inflight_n, sizeof(int64_t));
    sl_conf *c = conf_new();
    tb_cl_set(c, "batch.size", "16384");
    tb_cl_set(c, "linger.ms", "1000");
    tb_cl_set(c, "max.in.flight.requests.per.connection", "5");
    sl_conf_set_delivery_cb(c, inflight_dr);
    sl_producer *p = producer_new(c);
    for (long i = 0; i < inflight_n; i++) {
        char v[32];
        int vl = snprintf(v, sizeof(v), "in-flight-%ld", i);
        TB_FAST_EQ(produce(p, "inflight", 0, NULL, 0, v, (size_t)vl, NULL, 0, (void *)(intptr_t)i),
                   SL_ERR_NO_ERROR);
    }
    ck_assert_int_eq(sl_flush(p, 60000), SL_ERR_NO_ERROR);
    sl_stats st;
    sl_producer_stats(p, &st);
    sl_producer_free(p);
    ck_assert_msg(st.max_in_flight_seen > 1, "max in flight %u", st.max_in_flight_seen);
    ck_assert_uint_le(st.max_in_flight_seen, 5);
    ck_assert_uint_gt(st.batches_sent, 10);
    for (long i = 0; i < inflight_n; i++)
        TB_FAST_EQ(inflight_off[i], i); /* one partition: produce order == log order */
    free(inflight_off);
}
END_TEST

/* ---- broker killed mid-production ------------------------------------------------------- */

#define RN 60000
static sl_err *restart_err;
static int64_t *restart_off;
static uint8_t *restart_calls;
static void restart_dr(sl_producer *p, const sl_delivery *dr, void *opaque)
{
    (void)p;
    (void)opaque;
    long i = (long)(intptr_t)dr->msg_opaque;
    TB_FAST(i >= 0 && i < RN);
    restart_calls[i]++;
    restart_err[i] = dr->err;
    restart_off[i] = dr->offset;
}

START_TEST(test_broker_killed_mid_production)
{
    restart_err = calloc(RN, sizeof(*restart_err));
    restart_off = calloc(RN, sizeof(*restart_off));
    restart_calls = calloc(RN, 1);
    sl_conf *c = conf_new();
    tb_cl_set(c, "linger.ms", "2");
    tb_cl_set(c, "batch.size", "32768");
    tb_cl_set(c, "request.timeout.ms", "5000");
    tb_cl_set(c, "delivery.timeout.ms", "60000");
    tb_cl_set(c, "retry.backoff.ms", "50");
    sl_conf_set_delivery_cb(c, restart_dr);
    sl_producer *p = producer_new(c);
    int port = B.port;
    for (long i = 0; i < RN; i++) {
        char v[32];
        int vl = snprintf(v, sizeof(v), "restart-%06ld", i);
        TB_FAST_EQ(produce(p, "restart", 0, NULL, 0, v, (size_t)vl, NULL, 0, (void *)(intptr_t)i),
                   SL_ERR_NO_ERROR);
        sl_poll(p, 0);
        if (i == RN / 3) {
            tb_broker_stop(&B, SIGKILL);
        } else if (i == RN / 2) {
            char listen[32];
            snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
            const char *const extra[] = {"--listen", listen, NULL};
            tb_cl_start(&B, extra, bootstrap, sizeof(bootstrap));
            TB_FAST_EQ(B.port, port);
        }
    }
    ck_assert_int_eq(sl_flush(p, 90000), SL_ERR_NO_ERROR);
    sl_stats st;
    sl_producer_stats(p, &st);
    sl_producer_free(p);

    /* Read the log and check every reported delivery against it. */
    sl_conf *cc = conf_new();
    sl_consumer *k = consumer_new(cc);
    ck_assert_int_eq(sl_consumer_assign(k, "restart", 0, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    size_t cap = RN * 3;
    char(*log)[16] = calloc(cap, 16);
    int64_t end = 0;
    int idle = 0;
    while (idle < 3) {
        sl_record r;
        sl_err e = sl_consumer_poll(k, 1000, &r);
        if (e == SL_ERR__TIMED_OUT) {
            idle++;
            continue;
        }
        TB_FAST_MSG(e == SL_ERR_NO_ERROR, "%s", sl_err2str(e));
        TB_FAST((size_t)r.offset < cap && r.value_len < 16);
        memcpy(log[r.offset], r.value, r.value_len);
        if (r.offset + 1 > end)
            end = r.offset + 1;
    }
    sl_consumer_free(k);
    long ok = 0, failed = 0;
    for (long i = 0; i < RN; i++) {
        TB_FAST_MSG(restart_calls[i] == 1, "record %ld: %d callbacks", i, restart_calls[i]);
        if (restart_err[i]) {
            failed++;
            continue;
        }
        ok++;
        char v[32];
        snprintf(v, sizeof(v), "restart-%06d", (int)i);
        TB_FAST_MSG(restart_off[i] >= 0 && restart_off[i] < end &&
                        strcmp(log[restart_off[i]], v) == 0,
                    "record %ld reported at offset %lld but the log has \"%s\"", i,
                    (long long)restart_off[i],
                    restart_off[i] >= 0 && restart_off[i] < end ? log[restart_off[i]] : "");
    }
    /* Records produced after the restart must all have gone through. */
    for (long i = RN / 2 + 1; i < RN; i++)
        TB_FAST_MSG(restart_err[i] == SL_ERR_NO_ERROR, "record %ld: %s", i,
                    sl_err2str(restart_err[i]));
    ck_assert_uint_ge(st.disconnects + st.retries, 1);
    fprintf(stderr, "restart: %ld delivered, %ld failed, %llu retries\n", ok, failed,
            (unsigned long long)st.retries);
    free(log);
    free(restart_err);
    free(restart_off);
    free(restart_calls);
}
END_TEST

/* ---- acks=0 ------------------------------------------------------------------------------ */

static long acks0_calls, acks0_bad;
static void acks0_dr(sl_producer *p, const sl_delivery *dr, void *opaque)
{
    (void)p;
    (void)opaque;
    acks0_calls++;
    if (dr->err || dr->offset != -1)
        acks0_bad++;
}

START_TEST(test_acks0_delivered_when_written)
{
    sl_conf *c = conf_new();
    tb_cl_set(c, "acks", "0");
    tb_cl_set(c, "batch.size", "4096");
    sl_conf_set_delivery_cb(c, acks0_dr);
    acks0_calls = acks0_bad = 0;
    sl_producer *p = producer_new(c);
    for (int i = 0; i < 5000; i++) {
        char v[32];
        int vl = snprintf(v, sizeof(v), "a0-%d", i);
        TB_FAST_EQ(produce(p, "acks0", 0, NULL, 0, v, (size_t)vl, NULL, 0, NULL), SL_ERR_NO_ERROR);
    }
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    sl_stats st;
    sl_producer_stats(p, &st);
    sl_producer_free(p);
    ck_assert_int_eq(acks0_calls, 5000);
    ck_assert_int_eq(acks0_bad, 0); /* no error, offset unknown (-1) */
    /* Only Metadata and each connection's ApiVersions were answered: no Produce responses. */
    ck_assert_uint_eq(st.responses_received, st.metadata_requests + st.connects);
    ck_assert_uint_gt(st.batches_sent, 10);
    /* The broker got them all, in order. */
    sl_consumer *k = consumer_new(conf_new());
    ck_assert_int_eq(sl_consumer_assign(k, "acks0", 0, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    for (int i = 0; i < 5000; i++) {
        sl_record r;
        sl_err e = sl_consumer_poll(k, 10000, &r);
        TB_FAST_MSG(e == SL_ERR_NO_ERROR, "record %d: %s", i, sl_err2str(e));
        char v[32];
        int vl = snprintf(v, sizeof(v), "a0-%d", i);
        TB_FAST_EQ(r.offset, i);
        TB_FAST(r.value_len == (size_t)vl && memcmp(r.value, v, (size_t)vl) == 0);
    }
    sl_consumer_free(k);
}
END_TEST

/* ---- documented errors ------------------------------------------------------------------- */

static sl_err last_dr_err;
static long last_dr_calls;
static void last_dr(sl_producer *p, const sl_delivery *dr, void *opaque)
{
    (void)p;
    (void)opaque;
    last_dr_err = dr->err;
    last_dr_calls++;
}

START_TEST(test_queue_full)
{
    sl_conf *c = conf_new();
    tb_cl_set(c, "queue.buffering.max.messages", "1000");
    tb_cl_set(c, "linger.ms", "60000");
    sl_conf_set_delivery_cb(c, last_dr);
    last_dr_calls = 0;
    sl_producer *p = producer_new(c);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(sl_produce(p, "qfull", 0, NULL, 0, "v", 1, NULL, 0, 0, NULL),
                         SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_produce(p, "qfull", 0, NULL, 0, "v", 1, NULL, 0, 0, NULL),
                     SL_ERR__QUEUE_FULL);
    ck_assert_uint_eq(sl_outq_len(p), 1000);
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(last_dr_calls, 1000); /* the refused record has no callback */
    ck_assert_int_eq(last_dr_err, SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_produce(p, "qfull", 0, NULL, 0, "v", 1, NULL, 0, 0, NULL), SL_ERR_NO_ERROR);
    sl_producer_free(p); /* the last one is reported destroyed */
    ck_assert_int_eq(last_dr_calls, 1001);
    ck_assert_int_eq(last_dr_err, SL_ERR__DESTROYED);
}
END_TEST

/*
 * A record for a topic that does not exist: queued by sl_produce (it does not wait for the
 * metadata), then reported with UNKNOWN_TOPIC_OR_PART; once that is known, sl_produce refuses
 * the topic at once.
 */
static void expect_unknown_topic(sl_producer *p, const char *topic, int32_t part)
{
    last_dr_calls = 0;
    last_dr_err = SL_ERR_NO_ERROR;
    ck_assert_int_eq(sl_produce(p, topic, part, NULL, 0, "v", 1, NULL, 0, 0, NULL),
                     SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_flush(p, 10000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(last_dr_calls, 1);
    ck_assert_int_eq(last_dr_err, SL_ERR_UNKNOWN_TOPIC_OR_PART);
    ck_assert_int_eq(sl_produce(p, topic, part, NULL, 0, "v", 1, NULL, 0, 0, NULL),
                     SL_ERR_UNKNOWN_TOPIC_OR_PART);
    ck_assert_uint_eq(sl_outq_len(p), 0);
}

START_TEST(test_unknown_topic_auto_create_off)
{
    /* Client side off (broker would create). */
    sl_conf *c = conf_new();
    tb_cl_set(c, "allow.auto.create.topics", "false");
    sl_conf_set_delivery_cb(c, last_dr);
    sl_producer *p = producer_new(c);
    expect_unknown_topic(p, "no-such-topic", SL_PARTITION_ANY);
    sl_producer_free(p);
    /* Consumers never create: assign fails the same way. */
    sl_consumer *k = consumer_new(conf_new());
    ck_assert_int_eq(sl_consumer_assign(k, "no-such-topic-2", 0, SL_OFFSET_BEGINNING),
                     SL_ERR_UNKNOWN_TOPIC_OR_PART);
    sl_consumer_free(k);
    /* Broker side off. */
    tb_broker_stop(&B, SIGTERM);
    tb_broker_cleanup(&B);
    memset(&B, 0, sizeof(B));
    static const char *const extra[] = {"-o", "auto.create.topics.enable=false", NULL};
    tb_cl_start(&B, extra, bootstrap, sizeof(bootstrap));
    c = conf_new();
    sl_conf_set_delivery_cb(c, last_dr);
    p = producer_new(c);
    expect_unknown_topic(p, "no-such-topic", 0);
    sl_producer_free(p);
}
END_TEST

START_TEST(test_message_too_large)
{
    tb_broker_stop(&B, SIGTERM);
    tb_broker_cleanup(&B);
    memset(&B, 0, sizeof(B));
    static const char *const extra[] = {"-o", "message.max.bytes=20000", NULL};
    tb_cl_start(&B, extra, bootstrap, sizeof(bootstrap));
    size_t big = 50000;
    char *v = malloc(big);
    memset(v, 'z', big);
    /* Larger than the producer's own message.max.bytes: refused at once. */
    sl_conf *c = conf_new();
    tb_cl_set(c, "message.max.bytes", "10000");
    sl_producer *p = producer_new(c);
    ck_assert_int_eq(sl_produce(p, "big", 0, NULL, 0, v, big, NULL, 0, 0, NULL),
                     SL_ERR__MSG_SIZE_TOO_LARGE);
    ck_assert_uint_eq(sl_outq_len(p), 0);
    sl_producer_free(p);
    /* Accepted by the producer, larger than the broker's: the delivery reports Kafka's
     * MESSAGE_TOO_LARGE (10), not retried; a small record after it still goes through. */
    c = conf_new();
    tb_cl_set(c, "message.max.bytes", "1000000");
    tb_cl_set(c, "linger.ms", "0");
    sl_conf_set_delivery_cb(c, last_dr);
    last_dr_calls = 0;
    p = producer_new(c);
    ck_assert_int_eq(sl_produce(p, "big", 0, NULL, 0, v, big, NULL, 0, 0, NULL), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(last_dr_calls, 1);
    ck_assert_int_eq(last_dr_err, SL_ERR_MSG_SIZE_TOO_LARGE);
    ck_assert_int_eq(sl_produce(p, "big", 0, NULL, 0, "small", 5, NULL, 0, 0, NULL),
                     SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(last_dr_calls, 2);
    ck_assert_int_eq(last_dr_err, SL_ERR_NO_ERROR);
    sl_producer_free(p);
    free(v);
}
END_TEST

/* ---- consumer behaviour ------------------------------------------------------------------- */

static void produce_n(const char *topic, int n, const char *prefix, size_t pad)
{
    sl_conf *c = conf_new();
    tb_cl_set(c, "message.max.bytes", "10000000");
    sl_conf_set_delivery_cb(c, counting_dr);
    counting_dr_errors = 0;
    sl_producer *p = producer_new(c);
    char *v = malloc(pad + 64);
    for (int i = 0; i < n; i++) {
        int vl = snprintf(v, 64, "%s%02d", prefix, i);
        memset(v + vl, '.', pad);
        ck_assert_int_eq(produce(p, topic, 0, NULL, 0, v, (size_t)vl + pad, NULL, 0, NULL),
                         SL_ERR_NO_ERROR);
    }
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(counting_dr_errors, 0);
    sl_producer_free(p);
    free(v);
}

static int64_t next_offset(sl_consumer *k, int timeout_ms)
{
    sl_record r;
    sl_err e = sl_consumer_poll(k, timeout_ms, &r);
    ck_assert_msg(e == SL_ERR_NO_ERROR, "%s", sl_err2str(e));
    return r.offset;
}

START_TEST(test_offset_out_of_range_seek_and_end)
{
    produce_n("oor", 10, "r", 0);
    sl_conf *c = conf_new();
    tb_cl_set(c, "auto.offset.reset", "earliest");
    sl_consumer *k = consumer_new(c);
    ck_assert_int_eq(sl_consumer_assign(k, "oor", 0, 1000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(next_offset(k, 10000), 0); /* reset to the earliest */
    ck_assert_int_eq(next_offset(k, 10000), 1);
    sl_stats st;
    sl_consumer_stats(k, &st);
    ck_assert_uint_ge(st.offset_resets, 1);
    /* Seek back and forward. */
    ck_assert_int_eq(sl_consumer_seek(k, "oor", 0, 7), SL_ERR_NO_ERROR);
    ck_assert_int_eq(next_offset(k, 10000), 7);
    ck_assert_int_eq(sl_consumer_position(k, "oor", 0), 8);
    ck_assert_int_eq(sl_consumer_seek(k, "oor", 0, 3), SL_ERR_NO_ERROR);
    ck_assert_int_eq(next_offset(k, 10000), 3);
    /* End: only what is produced after. */
    ck_assert_int_eq(sl_consumer_seek(k, "oor", 0, SL_OFFSET_END), SL_ERR_NO_ERROR);
    sl_record r;
    ck_assert_int_eq(sl_consumer_poll(k, 1000, &r), SL_ERR__TIMED_OUT);
    produce_n("oor", 2, "s", 0);
    ck_assert_int_eq(next_offset(k, 10000), 10);
    ck_assert_int_eq(next_offset(k, 10000), 11);
    ck_assert_int_eq(sl_consumer_seek(k, "nope", 0, 0), SL_ERR__UNKNOWN_PARTITION);
    /* Unassigned: nothing more from it, even with records prefetched. */
    ck_assert_int_eq(sl_consumer_seek(k, "oor", 0, 0), SL_ERR_NO_ERROR);
    ck_assert_int_eq(next_offset(k, 10000), 0);
    ck_assert_int_eq(sl_consumer_unassign(k, "oor", 0), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_consumer_poll(k, 300, &r), SL_ERR__TIMED_OUT);
    ck_assert_int_eq(sl_consumer_position(k, "oor", 0), -1);
    ck_assert_int_eq(sl_consumer_unassign(k, "oor", 0), SL_ERR__UNKNOWN_PARTITION);
    ck_assert_int_eq(sl_consumer_assign(k, "oor", 0, 11), SL_ERR_NO_ERROR);
    ck_assert_int_eq(next_offset(k, 10000), 11);
    ck_assert_int_eq(sl_consumer_assign(k, "oor", 5, 0), SL_ERR__UNKNOWN_PARTITION);
    sl_consumer_free(k);

    c = conf_new();
    tb_cl_set(c, "auto.offset.reset", "error");
    k = consumer_new(c);
    ck_assert_int_eq(sl_consumer_assign(k, "oor", 0, 500), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_consumer_poll(k, 10000, &r), SL_ERR__AUTO_OFFSET_RESET);
    ck_assert_str_eq(r.topic, "oor");
    ck_assert_int_eq(r.partition, 0);
    ck_assert_int_eq(sl_consumer_poll(k, 300, &r), SL_ERR__TIMED_OUT); /* parked */
    ck_assert_int_eq(sl_consumer_seek(k, "oor", 0, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    ck_assert_int_eq(next_offset(k, 10000), 0);
    sl_consumer_free(k);
}
END_TEST

START_TEST(test_record_larger_than_partition_fetch_size)
{
    produce_n("large", 3, "L", 300000);
    sl_conf *c = conf_new();
    tb_cl_set(c, "max.partition.fetch.bytes", "1024");
    tb_cl_set(c, "fetch.max.bytes", "2048");
    sl_consumer *k = consumer_new(c);
    ck_assert_int_eq(sl_consumer_assign(k, "large", 0, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    for (int i = 0; i < 3; i++) {
        sl_record r;
        ck_assert_int_eq(sl_consumer_poll(k, 10000, &r), SL_ERR_NO_ERROR);
        ck_assert_int_eq(r.offset, i);
        ck_assert_uint_eq(r.value_len, 300003);
    }
    sl_consumer_free(k);
}
END_TEST

START_TEST(test_prefetch_bounded)
{
    /* 4 MB in small batches; the consumer may hold at most 64 KiB plus one response. */
    sl_conf *pc = conf_new();
    tb_cl_set(pc, "batch.size", "8192");
    sl_producer *p = producer_new(pc);
    char v[100];
    memset(v, 'p', sizeof(v));
    for (int i = 0; i < 40000; i++)
        TB_FAST_EQ(produce(p, "prefetch", 0, NULL, 0, v, sizeof(v), NULL, 0, NULL),
                   SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    sl_producer_free(p);

    sl_conf *c = conf_new();
    tb_cl_set(c, "queued.max.messages.kbytes", "64");
    sl_consumer *k = consumer_new(c);
    ck_assert_int_eq(sl_consumer_assign(k, "prefetch", 0, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    sl_record r;
    ck_assert_int_eq(sl_consumer_poll(k, 10000, &r), SL_ERR_NO_ERROR);
    /* Give the consumer every chance to over-fetch: drive I/O without taking records. */
    for (int i = 0; i < 20; i++) {
        usleep(20000);
        ck_assert_int_eq(sl_consumer_poll(k, 0, &r), SL_ERR_NO_ERROR);
    }
    sl_stats st;
    sl_consumer_stats(k, &st);
    ck_assert_uint_gt(st.queue_bytes_max, 0);
    ck_assert_msg(st.queue_bytes_max <= 64 * 1024 + 65536, "held %llu bytes",
                  (unsigned long long)st.queue_bytes_max);
    long got = 21;
    while (got < 40000) {
        sl_err e = sl_consumer_poll(k, 10000, &r);
        TB_FAST_MSG(e == SL_ERR_NO_ERROR, "%s", sl_err2str(e));
        TB_FAST_EQ(r.offset, got);
        got++;
    }
    sl_consumer_stats(k, &st);
    ck_assert_msg(st.queue_bytes_max <= 64 * 1024 + 65536, "held %llu bytes",
                  (unsigned long long)st.queue_bytes_max);
    ck_assert_uint_gt(st.fetches, 4 * 1024 * 1024 / (64 * 1024 + 65536));
    sl_consumer_free(k);
}
END_TEST

START_TEST(test_consumer_survives_broker_restart)
{
    produce_n("survive", 1000, "a", 0);
    sl_conf *c = conf_new();
    tb_cl_set(c, "retry.backoff.ms", "50");
    sl_consumer *k = consumer_new(c);
    ck_assert_int_eq(sl_consumer_assign(k, "survive", 0, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    for (int i = 0; i < 500; i++)
        TB_FAST_EQ(next_offset(k, 10000), i);
    int port = B.port;
    tb_broker_stop(&B, SIGKILL);
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    const char *const extra[] = {"--listen", listen, NULL};
    tb_cl_start(&B, extra, bootstrap, sizeof(bootstrap));
    ck_assert_int_eq(B.port, port);
    produce_n("survive", 1000, "b", 0);
    for (int i = 500; i < 2000; i++) {
        sl_record r;
        sl_err e = sl_consumer_poll(k, 20000, &r);
        TB_FAST_MSG(e == SL_ERR_NO_ERROR, "record %d: %s", i, sl_err2str(e));
        TB_FAST_EQ(r.offset, i);
        TB_FAST(r.value_len >= 3 && ((const char *)r.value)[0] == (i < 1000 ? 'a' : 'b'));
    }
    sl_stats st;
    sl_consumer_stats(k, &st);
    ck_assert_uint_ge(st.disconnects, 1);
    sl_consumer_free(k);
}
END_TEST

/* Finds needle in the partition's first segment and flips one byte of it. */
static void corrupt_on_disk(const char *topic, const char *needle)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s-0/00000000000000000000.log", B.data, topic);
    int fd = open(path, O_RDWR);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    static char buf[1 << 20];
    ssize_t n = pread(fd, buf, sizeof(buf), 0);
    ck_assert_int_gt(n, 0);
    char *at = memmem(buf, (size_t)n, needle, strlen(needle));
    ck_assert_ptr_nonnull(at);
    char flipped = (char)(at[0] ^ 0x20);
    ck_assert_int_eq(pwrite(fd, &flipped, 1, at - buf), 1);
    close(fd);
}

START_TEST(test_check_crcs_catches_corruption)
{
    produce_n("crc", 20, "CORRUPTME-", 0);
    corrupt_on_disk("crc", "CORRUPTME-05");
    /* Without check.crcs the changed bytes come through. */
    sl_conf *c = conf_new();
    sl_consumer *k = consumer_new(c);
    ck_assert_int_eq(sl_consumer_assign(k, "crc", 0, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    int changed = 0;
    for (int i = 0; i < 20; i++) {
        sl_record r;
        ck_assert_int_eq(sl_consumer_poll(k, 10000, &r), SL_ERR_NO_ERROR);
        changed += r.value_len == 12 && memcmp(r.value, "cORRUPTME-05", 12) == 0;
    }
    ck_assert_int_eq(changed, 1);
    sl_consumer_free(k);
    /* With check.crcs the batch is refused with SL_ERR__CRC, its records never handed out. */
    c = conf_new();
    tb_cl_set(c, "check.crcs", "true");
    k = consumer_new(c);
    ck_assert_int_eq(sl_consumer_assign(k, "crc", 0, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    sl_record r;
    sl_err e = sl_consumer_poll(k, 10000, &r);
    ck_assert_msg(e == SL_ERR__CRC, "got %s", sl_err2str(e));
    ck_assert_str_eq(r.topic, "crc");
    /* The error names the batch's offsets, which hold record 5; the partition stays there. */
    ck_assert_int_le(r.offset, 5);
    ck_assert_int_ge(r.last_offset, 5);
    int64_t first = r.offset;
    ck_assert_int_eq(sl_consumer_poll(k, 500, &r), SL_ERR__TIMED_OUT);
    ck_assert_int_eq(sl_consumer_position(k, "crc", 0), first);
    sl_consumer_free(k);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("client");
    TCase *tc = tcase_create("million");
    tcase_add_checked_fixture(tc, setup_bare, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_million_records_roundtrip);
    suite_add_tcase(s, tc);

    tc = tcase_create("interop");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_kcat_reads_library_records);
    tcase_add_test(tc, test_library_reads_kcat_records);
    suite_add_tcase(s, tc);
    tc = tcase_create("partitioner");
    tcase_add_checked_fixture(tc, setup_bare, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_consistent_random_places_keys_like_kcat);
    suite_add_tcase(s, tc);

    tc = tcase_create("producer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_many_requests_in_flight_keep_order);
    tcase_add_test(tc, test_acks0_delivered_when_written);
    tcase_add_test(tc, test_broker_killed_mid_production);
    tcase_add_test(tc, test_queue_full);
    tcase_add_test(tc, test_unknown_topic_auto_create_off);
    tcase_add_test(tc, test_message_too_large);
    suite_add_tcase(s, tc);

    tc = tcase_create("consumer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_offset_out_of_range_seek_and_end);
    tcase_add_test(tc, test_record_larger_than_partition_fetch_size);
    tcase_add_test(tc, test_prefetch_bounded);
    tcase_add_test(tc, test_consumer_survives_broker_restart);
    tcase_add_test(tc, test_check_crcs_catches_corruption);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
