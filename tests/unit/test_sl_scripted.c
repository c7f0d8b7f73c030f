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
 * - OFFSET_OUT_OF_RANGE with auto.offset.reset=latest: the consumer resets to the end.
 * The broker serves one connection at a time (the tests use one client at a time).
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
#include "tb_kafka.h"

#define MAXB 4096

struct fake {
    int lfd;
    int port;
    pthread_t th;
    volatile int stop;
    /* script */
    int produce_fail_next; /* Produce requests still to refuse with produce_err */
    int16_t produce_err;
    bool not_leader; /* refuse every Produce with NOT_LEADER_OR_FOLLOWER until a Metadata
                      * request arrives (leadership "moved back" when the client looks) */
    /* log of partition 0 of topic "t" */
    uint8_t *log;
    size_t log_len;
    size_t log_cap;
    int64_t next_offset;
    int64_t base[MAXB];
    size_t pos[MAXB];
    int nb;
    /* observations */
    int fetches;
    int partial_first;    /* fetch answers that held only part of the first batch */
    int partial_trailing; /* fetch answers that ended inside a batch */
    int metadata;
    int produce_refused;
};

static struct fake F;

static void frame_send(int fd, struct kp_wr *wr, uint8_t *buf)
{
    kp_store_be32(buf, (uint32_t)(kp_wr_len(wr) - 4));
    ck_assert(kp_wr_ok(wr));
    tb_send_all(fd, buf, kp_wr_len(wr));
}

static void append_batch(const uint8_t *p, size_t n)
{
    struct kp_batch_hdr h;
    ck_assert_int_eq(kp_batch_validate(p, n, KP_BATCH_FROM_PRODUCER, &h), 0);
    ck_assert_int_lt(F.nb, MAXB);
    if (F.log_len + n > F.log_cap) {
        F.log_cap = (F.log_len + n) * 2;
        F.log = realloc(F.log, F.log_cap);
    }
    memcpy(F.log + F.log_len, p, n);
    kp_batch_set_base_offset(F.log + F.log_len, F.next_offset);
    F.base[F.nb] = F.next_offset;
    F.pos[F.nb] = F.log_len;
    F.nb++;
    F.log_len += n;
    F.next_offset += h.last_offset_delta + 1;
}

static void handle(int fd, const uint8_t *req, size_t len)
{
    struct kp_rd rd;
    kp_rd_init(&rd, req, len);
    int16_t key = kp_rd_i16(&rd);
    kp_rd_i16(&rd); /* version: the client's fixed ones */
    int32_t corr = kp_rd_i32(&rd);
    kp_rd_nstr(&rd);
    size_t cap = 1024 + F.log_len;
    uint8_t *buf = malloc(cap);
    struct kp_wr w;
    kp_wr_init(&w, buf, cap);
    kp_wr_i32(&w, 0);
    kp_wr_i32(&w, corr);
    bool respond = true;
    switch (key) {
    case 18: { /* ApiVersions v0 */
        static const int16_t v[][3] = {{0, 3, 7}, {1, 4, 11}, {2, 1, 2}, {3, 0, 4}, {18, 0, 3}};
        kp_wr_i16(&w, 0);
        kp_wr_array(&w, 5);
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 3; j++)
                kp_wr_i16(&w, v[i][j]);
        break;
    }
    case 3: { /* Metadata v4 */
        F.metadata++;
        if (F.not_leader && F.produce_refused > 0)
            F.not_leader = false;
        int32_t n = kp_rd_array(&rd, 2, true);
        kp_wr_i32(&w, 0);
        kp_wr_array(&w, 1);
        kp_wr_i32(&w, 0);
        kp_wr_str(&w, kp_str_of("127.0.0.1"));
        kp_wr_i32(&w, F.port);
        kp_wr_nstr(&w, KP_STR_NULL);
        kp_wr_nstr(&w, KP_STR_NULL);
        kp_wr_i32(&w, 0);
        kp_wr_array(&w, n < 0 ? 0 : n);
        for (int32_t i = 0; i < n; i++) {
            struct kp_str name = kp_rd_str(&rd);
            bool t = kp_str_eq(name, "t");
            kp_wr_i16(&w, t ? 0 : 3);
            kp_wr_str(&w, name);
            kp_wr_bool(&w, false);
            kp_wr_array(&w, t ? 1 : 0);
            if (t) {
                kp_wr_i16(&w, 0);
                kp_wr_i32(&w, 0);
                kp_wr_i32(&w, 0);
                kp_wr_array(&w, 1);
                kp_wr_i32(&w, 0);
                kp_wr_array(&w, 1);
                kp_wr_i32(&w, 0);
            }
        }
        break;
    }
    case 0: { /* Produce v7 */
        kp_rd_nstr(&rd);
        int16_t acks = kp_rd_i16(&rd);
        kp_rd_i32(&rd);
        int32_t nt = kp_rd_array(&rd, 6, false);
        kp_wr_array(&w, nt);
        bool refuse = F.produce_fail_next > 0 || F.not_leader;
        if (refuse) {
            if (F.produce_fail_next > 0)
                F.produce_fail_next--;
            F.produce_refused++;
        }
        int16_t refuse_err = F.not_leader ? SL_ERR_NOT_LEADER_OR_FOLLOWER : F.produce_err;
        for (int32_t i = 0; i < nt; i++) {
            struct kp_str name = kp_rd_str(&rd);
            int32_t np = kp_rd_array(&rd, 8, false);
            kp_wr_str(&w, name);
            kp_wr_array(&w, np);
            for (int32_t j = 0; j < np; j++) {
                int32_t part = kp_rd_i32(&rd);
                struct kp_bytes rec = kp_rd_nbytes(&rd);
                ck_assert(kp_rd_ok(&rd) && rec.len > 0);
                int64_t base = F.next_offset;
                if (!refuse)
                    append_batch(rec.ptr, (size_t)rec.len);
                kp_wr_i32(&w, part);
                kp_wr_i16(&w, refuse ? refuse_err : 0);
                kp_wr_i64(&w, refuse ? -1 : base);
                kp_wr_i64(&w, -1);
                kp_wr_i64(&w, 0);
            }
        }
        kp_wr_i32(&w, 0);
        respond = acks != 0;
        break;
    }
    case 2: { /* ListOffsets v2 */
        kp_rd_i32(&rd);
        kp_rd_i8(&rd);
        int32_t nt = kp_rd_array(&rd, 6, false);
        kp_wr_i32(&w, 0);
        kp_wr_array(&w, nt);
        for (int32_t i = 0; i < nt; i++) {
            kp_wr_str(&w, kp_rd_str(&rd));
            int32_t np = kp_rd_array(&rd, 12, false);
            kp_wr_array(&w, np);
            for (int32_t j = 0; j < np; j++) {
                kp_wr_i32(&w, kp_rd_i32(&rd));
                int64_t ts = kp_rd_i64(&rd);
                kp_wr_i16(&w, 0);
                kp_wr_i64(&w, -1);
                kp_wr_i64(&w, ts == -2 ? 0 : F.next_offset);
            }
        }
        break;
    }
    case 1: { /* Fetch v11, one topic, one partition: cut by bytes, no minimum of one batch */
        F.fetches++;
        kp_rd_i32(&rd);
        kp_rd_i32(&rd);
        kp_rd_i32(&rd);
        kp_rd_i32(&rd);
        kp_rd_i8(&rd);
        kp_rd_i32(&rd);
        kp_rd_i32(&rd);
        ck_assert_int_eq(kp_rd_array(&rd, 6, false), 1);
        struct kp_str name = kp_rd_str(&rd);
        ck_assert_int_eq(kp_rd_array(&rd, 28, false), 1);
        int32_t part = kp_rd_i32(&rd);
        kp_rd_i32(&rd);
        int64_t off = kp_rd_i64(&rd);
        kp_rd_i64(&rd);
        int32_t pmax = kp_rd_i32(&rd);
        ck_assert(kp_rd_ok(&rd));
        int16_t err = 0;
        size_t from = 0, n = 0;
        if (off > F.next_offset || off < 0) {
            err = 1; /* OFFSET_OUT_OF_RANGE */
        } else if (off < F.next_offset) {
            int i = F.nb - 1;
            while (i > 0 && F.base[i] > off)
                i--;
            from = F.pos[i];
            n = F.log_len - from;
            if (n > (size_t)pmax)
                n = (size_t)pmax;
            size_t first = (i + 1 < F.nb ? F.pos[i + 1] : F.log_len) - from;
            if (n < first)
                F.partial_first++;
            else {
                int k = i;
                while (k < F.nb && F.pos[k] < from + n)
                    k++;
                size_t end = k < F.nb ? F.pos[k] : F.log_len;
                if (end != from + n && from + n < F.log_len)
                    F.partial_trailing++;
            }
        } else {
            usleep(5000); /* nothing new: a short long-poll */
        }
        kp_wr_i32(&w, 0);
        kp_wr_i16(&w, 0);
        kp_wr_i32(&w, 0);
        kp_wr_array(&w, 1);
        kp_wr_str(&w, name);
        kp_wr_array(&w, 1);
        kp_wr_i32(&w, part);
        kp_wr_i16(&w, err);
        kp_wr_i64(&w, F.next_offset);
        kp_wr_i64(&w, F.next_offset);
        kp_wr_i64(&w, 0);
        kp_wr_array(&w, -1);
        kp_wr_i32(&w, -1);
        kp_wr_bytes(&w, (struct kp_bytes){F.log + from, (int32_t)n});
        break;
    }
    default:
        ck_abort_msg("unexpected api key %d", key);
    }
    if (respond)
        frame_send(fd, &w, buf);
    free(buf);
}

static void *broker_main(void *arg)
{
    (void)arg;
    while (!F.stop) {
        struct pollfd p = {F.lfd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(F.lfd, NULL, NULL);
        if (fd < 0)
            continue;
        struct tb_frame f;
        while (tb_recv_frame(fd, &f, 64 << 20) == 0) {
            handle(fd, f.data, f.len);
            tb_frame_free(&f);
        }
        close(fd);
    }
    return NULL;
}

static void setup(void)
{
    memset(&F, 0, sizeof(F));
    F.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    ck_assert_int_eq(bind(F.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(F.lfd, 8), 0);
    socklen_t sl = sizeof(sa);
    getsockname(F.lfd, (struct sockaddr *)&sa, &sl);
    F.port = ntohs(sa.sin_port);
    ck_assert_int_eq(pthread_create(&F.th, NULL, broker_main, NULL), 0);
}

static void teardown(void)
{
    F.stop = 1;
    pthread_join(F.th, NULL);
    close(F.lfd);
    free(F.log);
}

static sl_conf *conf(void)
{
    sl_conf *c = sl_conf_new();
    char b[64];
    snprintf(b, sizeof(b), "127.0.0.1:%d", F.port);
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
    ck_assert_int_gt(F.nb, 3);
    sl_conf *c = conf();
    sl_conf_set(c, "max.partition.fetch.bytes", "1000", NULL, 0);
    sl_conf_set(c, "check.crcs", "true", NULL, 0);
    sl_stats st;
    consume_all(c, 3000, 100, &st);
    ck_assert_int_ge(st.fetch_size_grows, 1);
    ck_assert_int_ge(F.partial_first, 1);
    sl_conf *c2 = conf();
    sl_conf_set(c2, "max.partition.fetch.bytes", "100000", NULL, 0);
    consume_all(c2, 3000, 100, &st);
    ck_assert_int_ge(F.partial_trailing, 1);
}
END_TEST

START_TEST(test_not_leader_is_retried_in_order)
{
    /* Several requests are in flight when the first error comes back: all of them are refused
     * (they reach the old leader before the client's metadata refresh), all are retried. */
    F.not_leader = true;
    sl_conf *pc = conf();
    sl_conf_set(pc, "batch.size", "4096", NULL, 0);
    sl_conf_set(pc, "retry.backoff.ms", "10", NULL, 0);
    produce_all(pc, 2000, 50);
    ck_assert_int_ge(F.produce_refused, 1);
    ck_assert_uint_eq(pstats.retries, (uint64_t)F.produce_refused); /* one batch each */
    ck_assert_int_eq(dr_err, 0);
    ck_assert_int_eq(dr_order_bad, 0);
    ck_assert_int_ge(F.metadata, 2); /* refreshed after the error */
    sl_stats st;
    consume_all(conf(), 2000, 50, &st);
}
END_TEST

START_TEST(test_corrupt_message_is_reported_not_retried)
{
    F.produce_fail_next = 1;
    F.produce_err = SL_ERR_CORRUPT_MESSAGE;
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
    ck_assert_int_eq(F.next_offset, 1);
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
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
