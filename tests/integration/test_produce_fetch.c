/*
 * test_produce_fetch — a real splicelogd on an ephemeral port, spoken to in raw protocol:
 * Produce v3-7 and Fetch v4-11 round trips, pipelining (answers in request order), long
 * poll woken by an append, acks=0 silence, fetch at the high watermark waiting and answering
 * empty (records length 0), OFFSET_OUT_OF_RANGE, the first batch returned whole, cuts on
 * batch boundaries; concurrent producers and readers, retention, topics deleted under load.
 * The transfer paths' byte identity is in test_transfer.c.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"

static struct tb_broker B;

static void start_with(const char *const *extra) { tb_ck_start_fresh(&B, extra); }

static void setup(void) { start_with(NULL); }

static void teardown(void) { tb_ck_finish(&B); }

/* Creates topic with n partitions through CreateTopics v4. */

/* Produces count records prefix-first.. in one batch (acks -1); returns the base offset. */

/* ---- Produce v3-7, Fetch v4-11 ------------------------------------------------------------ */

START_TEST(produce_every_version)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "pv", 1);
    int64_t expect = 0;
    for (int16_t v = 3; v <= 7; v++) {
        for (int acks_i = 0; acks_i < 2; acks_i++) {
            int16_t acks = acks_i ? 1 : -1;
            uint8_t buf[4096];
            long len = tb_batch_values(buf, sizeof buf, "pv", (int)expect, 5, 0, true,
                                       1700000000000LL + v);
            ck_assert_int_gt(len, 0);
            struct tb_req r;
            int32_t corr = 100 + v * 2 + acks_i;
            ck_assert_int_eq(tb_req_begin(&r, 8192, 0, v, corr), 0);
            tb_enc_produce(&r, v, acks, 5000, "pv", 0, buf, (size_t)len);
            struct tb_frame f;
            int rc = tb_call(fd, &r, corr, &f);
            tb_req_free(&r);
            ck_assert_msg(rc == 0, "Produce v%d: %s", v, strerror(-rc));
            struct tb_produce_resp pr;
            rc = tb_dec_produce(&f, v, &pr);
            ck_assert_int_eq(tb_codec_resp_check(&f, 0, v), 0);
            tb_frame_free(&f);
            ck_assert_msg(rc == 0, "Produce v%d response does not parse", v);
            ck_assert_msg(pr.error == 0, "Produce v%d acks %d: error %d", v, acks, pr.error);
            ck_assert_msg(pr.base_offset == expect, "Produce v%d: base offset %lld, want %lld", v,
                          (long long)pr.base_offset, (long long)expect);
            ck_assert_msg(pr.log_append_time == -1, "CreateTime topic: log_append_time %lld",
                          (long long)pr.log_append_time);
            if (v >= 5)
                ck_assert_int_eq(pr.log_start_offset, 0);
            expect += 5;
        }
    }
    struct tb_seq seq = {.prefix = "pv"};
    int rc = tb_consume_seq(fd, "pv", 0, expect, &seq, 20);
    ck_assert_msg(rc == 0, "consume: %d %s", rc, seq.err);
    ck_assert_int_eq(seq.seen, expect);
    close(fd);
}
END_TEST

START_TEST(fetch_every_version)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "fv", 1);
    tb_ck_produce_seq(fd, "fv", 0, "fv", 0, 7, 10);
    tb_ck_produce_seq(fd, "fv", 0, "fv", 7, 3, 10);
    for (int16_t v = 4; v <= 11; v++) {
        struct tb_req r;
        int32_t corr = 1000 + v;
        ck_assert_int_eq(tb_req_begin(&r, 512, 1, v, corr), 0);
        struct tb_fetch_args a = {0, 1, 1 << 20, "fv", 0, 2, 1 << 20};
        tb_enc_fetch(&r, v, &a);
        struct tb_frame f;
        int rc = tb_call(fd, &r, corr, &f);
        tb_req_free(&r);
        ck_assert_msg(rc == 0, "Fetch v%d: %s", v, strerror(-rc));
        struct tb_fetch_resp fr;
        rc = tb_dec_fetch(&f, v, &fr);
        ck_assert_msg(rc == 0, "Fetch v%d response does not parse (%zu bytes)", v, f.len);
        ck_assert_int_eq(tb_codec_resp_check(&f, 1, v), 0);
        ck_assert_msg(fr.error == 0 && fr.top_error == 0, "Fetch v%d: error %d/%d", v, fr.top_error,
                      fr.error);
        ck_assert_int_eq(fr.session_id, 0);
        ck_assert_int_eq(fr.high_watermark, 10);
        ck_assert_msg(fr.last_stable_offset == 10, "Fetch v%d: LSO %lld, want HW 10", v,
                      (long long)fr.last_stable_offset);
        if (v >= 5)
            ck_assert_int_eq(fr.log_start_offset, 0);
        ck_assert_int_eq(fr.preferred_read_replica, -1);
        ck_assert_msg(fr.n_aborted <= 0, "aborted transactions: %d", fr.n_aborted);
        /* Offset 2 lies in the first batch: both batches come back, records from 2 on. */
        struct tb_seq seq = {.prefix = "fv", .pad_to = 10, .next_offset = 2};
        size_t trailing = 99;
        long n = tb_records_walk(fr.records, (size_t)(fr.records_len > 0 ? fr.records_len : 0),
                                 tb_seq_check, &seq, &trailing);
        ck_assert_msg(n == 10 && seq.err[0] == 0, "Fetch v%d: %ld records, %s", v, n, seq.err);
        ck_assert_int_eq(trailing, 0);
        ck_assert_int_eq(seq.next_offset, 10);
        tb_frame_free(&f);
    }
    close(fd);
}
END_TEST

START_TEST(produce_fetch_multi_partition)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "mp", 4);
    for (int p = 0; p < 4; p++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "p%d", p);
        for (int b = 0; b < 3; b++)
            ck_assert_int_eq(tb_ck_produce_seq(fd, "mp", p, prefix, b * 4 + p, 4 + p, 0),
                             (int64_t)b * (4 + p));
    }
    for (int p = 0; p < 4; p++) {
        struct tb_list_offsets_resp lo;
        ck_assert_int_eq(tb_list_offsets(fd, "mp", p, -1, &lo), 0);
        ck_assert_int_eq(lo.error, 0);
        ck_assert_int_eq(lo.offset, 3 * (4 + p));
    }
    close(fd);
}
END_TEST

/* ---- pipelining ---------------------------------------------------------------------------- */

START_TEST(pipelined_50_in_order)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "pipe", 1);
    enum { N = 50 };
    /* Build all 50 requests into one buffer and send it in one go. */
    size_t cap = 1 << 20, used = 0;
    uint8_t *all = malloc(cap);
    ck_assert_ptr_nonnull(all);
    int kinds[N];
    for (int i = 0; i < N; i++) {
        struct tb_req r;
        int32_t corr = 5000 + i;
        int kind = i % 5;
        kinds[i] = kind;
        static const int16_t keys[5] = {0, 18, 3, 2, 1};
        static const int16_t vers[5] = {7, 2, 4, 2, 11};
        ck_assert_int_eq(tb_req_begin(&r, 4096, keys[kind], vers[kind], corr), 0);
        uint8_t batch[512];
        long blen;
        struct tb_fetch_args fa = {0, 0, 1 << 20, "pipe", 0, 0, 1 << 20};
        const char *topics[] = {"pipe"};
        switch (kind) {
        case 0:
            blen = tb_batch_values(batch, sizeof batch, "pipe", i / 5, 1, 0, false, 1);
            ck_assert_int_gt(blen, 0);
            tb_enc_produce(&r, 7, -1, 5000, "pipe", 0, batch, (size_t)blen);
            break;
        case 1:
            tb_enc_api_versions(&r, 2);
            break;
        case 2:
            tb_enc_metadata(&r, 4, topics, 1, false);
            break;
        case 3:
            tb_enc_list_offsets(&r, 2, "pipe", 0, -1);
            break;
        default:
            tb_enc_fetch(&r, 11, &fa);
            break;
        }
        long len = tb_req_end(&r);
        ck_assert_int_gt(len, 0);
        ck_assert((size_t)len <= cap - used);
        memcpy(all + used, r.buf, (size_t)len);
        used += (size_t)len;
        tb_req_free(&r);
    }
    ck_assert_int_eq(tb_send_all(fd, all, used), 0);
    free(all);
    int64_t produced = 0;
    for (int i = 0; i < N; i++) {
        struct tb_frame f;
        int rc = tb_recv_frame(fd, &f, 64 << 20);
        ck_assert_msg(rc == 0, "response %d of %d: %s", i, N, strerror(-rc));
        ck_assert_msg(tb_frame_corr(&f) == 5000 + i,
                      "response %d carries correlation id %d: answered out of order", i,
                      tb_frame_corr(&f));
        if (kinds[i] == 0) {
            struct tb_produce_resp pr;
            ck_assert_int_eq(tb_dec_produce(&f, 7, &pr), 0);
            ck_assert_int_eq(pr.error, 0);
            ck_assert_msg(pr.base_offset == produced, "produce %d got offset %lld", i,
                          (long long)pr.base_offset);
            produced++;
        } else if (kinds[i] == 3) {
            /* ListOffsets answered after the produces before it in the pipeline. */
            struct tb_list_offsets_resp lo;
            ck_assert_int_eq(tb_dec_list_offsets(&f, 2, &lo), 0);
            ck_assert_int_eq(lo.error, 0);
            ck_assert_int_eq(lo.offset, produced);
        } else if (kinds[i] == 4) {
            struct tb_fetch_resp fr;
            ck_assert_int_eq(tb_dec_fetch(&f, 11, &fr), 0);
            ck_assert_int_eq(fr.error, 0);
            ck_assert_int_eq(fr.high_watermark, produced);
        } else if (kinds[i] == 1) {
            struct tb_api_versions av;
            ck_assert_int_eq(tb_dec_api_versions(&f, 2, &av), 0);
            ck_assert_int_eq(av.error, 0);
        } else {
            struct tb_metadata md;
            ck_assert_int_eq(tb_dec_metadata(&f, 4, &md), 0);
            ck_assert_int_ge(tb_md_topic(&md, "pipe"), 0);
        }
        tb_frame_free(&f);
    }
    ck_assert_int_eq(produced, 10);
    close(fd);
}
END_TEST

/* ---- long poll ----------------------------------------------------------------------------- */

START_TEST(long_poll_wakes_on_append)
{
    int cfd = tb_ck_connect(&B), pfd = tb_ck_connect(&B);
    tb_ck_create_topic(pfd, "lp", 1);
    tb_ck_produce_seq(pfd, "lp", 0, "lp", 0, 3, 0);
    /* A fetch at the high watermark that may wait 5 s for 1 byte. */
    struct tb_fetch_args a = {5000, 1, 1 << 20, "lp", 0, 3, 1 << 20};
    ck_assert_int_eq(tb_send_fetch(cfd, 11, 77, &a), 0);
    /* The fetch has nothing to return yet: no answer while nothing is appended. */
    ck_assert_msg(tb_readable(cfd, 300) == 0, "fetch at HW answered before any append");
    tb_ck_produce_seq(pfd, "lp", 0, "lp", 3, 2, 0);
    struct tb_frame f;
    ck_assert_int_eq(tb_recv_frame(cfd, &f, 1 << 20), 0);
    ck_assert_int_eq(tb_frame_corr(&f), 77);
    struct tb_fetch_resp fr;
    ck_assert_int_eq(tb_dec_fetch(&f, 11, &fr), 0);
    ck_assert_int_eq(fr.error, 0);
    ck_assert_msg(fr.records_len > 0,
                  "the long poll returned empty: it was not woken by the append (waited out "
                  "max_wait instead)");
    struct tb_seq seq = {.prefix = "lp", .next_offset = 3};
    long n = tb_records_walk(fr.records, (size_t)fr.records_len, tb_seq_check, &seq, NULL);
    ck_assert_msg(n == 2 && !seq.err[0], "woken fetch: %ld records %s", n, seq.err);
    ck_assert_int_eq(fr.high_watermark, 5);
    tb_frame_free(&f);
    close(cfd);
    close(pfd);
}
END_TEST

START_TEST(fetch_at_hw_waits_then_empty)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "hw", 1);
    tb_ck_produce_seq(fd, "hw", 0, "hw", 0, 4, 0);
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 512, 1, 11, 88), 0);
    struct tb_fetch_args a = {1000, 1, 1 << 20, "hw", 0, 4, 1 << 20};
    tb_enc_fetch(&r, 11, &a);
    int64_t t0 = tb_now_ms();
    ck_assert_int_eq(tb_req_send(fd, &r), 0);
    tb_req_free(&r);
    /* A lower bound only (it holds however slow the machine is): the broker must not answer
     * before there is data or max_wait has passed. */
    struct tb_frame f;
    ck_assert_int_eq(tb_recv_frame(fd, &f, 1 << 20), 0);
    ck_assert_msg(tb_now_ms() - t0 >= 900, "answered after %lld ms, before max_wait 1000",
                  (long long)(tb_now_ms() - t0));
    ck_assert_int_eq(tb_frame_corr(&f), 88);
    struct tb_fetch_resp fr;
    ck_assert_int_eq(tb_dec_fetch(&f, 11, &fr), 0);
    ck_assert_int_eq(fr.error, 0);
    ck_assert_msg(fr.records_len == 0, "empty fetch: records length %d (must be 0, never -1)",
                  fr.records_len);
    ck_assert_int_eq(fr.high_watermark, 4);
    tb_frame_free(&f);
    /* max_wait 0 at HW: an immediate empty answer, also length 0. */
    struct tb_fetch_args a0 = {0, 1, 1 << 20, "hw", 0, 4, 1 << 20};
    ck_assert_int_eq(tb_fetch(fd, &a0, &f, &fr), 0);
    ck_assert_int_eq(fr.error, 0);
    ck_assert_int_eq(fr.records_len, 0);
    tb_frame_free(&f);
    close(fd);
}
END_TEST

START_TEST(long_poll_min_bytes_and_order)
{
    int cfd = tb_ck_connect(&B), pfd = tb_ck_connect(&B);
    tb_ck_create_topic(pfd, "mb", 1);
    /* A little data, far below the 1 MiB min_bytes the fetch will ask for. */
    tb_ck_produce_seq(pfd, "mb", 0, "mb", 0, 3, 0);
    /* min_bytes 1 MiB, max_wait 800 ms, then a Metadata request behind it on the same
     * connection: the answers come in request order, the fetch first, with what there is. */
    struct tb_req r;
    struct tb_fetch_args a = {800, 1 << 20, 4 << 20, "mb", 0, 0, 4 << 20};
    ck_assert_int_eq(tb_send_fetch(cfd, 11, 61, &a), 0);
    ck_assert_int_eq(tb_req_begin(&r, 512, 3, 4, 62), 0);
    const char *topics[] = {"mb"};
    tb_enc_metadata(&r, 4, topics, 1, false);
    ck_assert_int_eq(tb_req_send(cfd, &r), 0);
    tb_req_free(&r);
    struct tb_frame f;
    ck_assert_int_eq(tb_recv_frame(cfd, &f, 8 << 20), 0);
    ck_assert_msg(tb_frame_corr(&f) == 61,
                  "the Metadata answer (62) overtook the waiting fetch (61): got correlation id %d",
                  tb_frame_corr(&f));
    struct tb_fetch_resp fr;
    ck_assert_int_eq(tb_dec_fetch(&f, 11, &fr), 0);
    ck_assert_int_eq(fr.error, 0);
    struct tb_seq seq = {.prefix = "mb"};
    long n = tb_records_walk(fr.records, (size_t)(fr.records_len > 0 ? fr.records_len : 0),
                             tb_seq_check, &seq, NULL);
    ck_assert_msg(n == 3 && !seq.err[0],
                  "min_bytes not reached by max_wait: the fetch must return the 3 records there "
                  "are, got %ld (%s)",
                  n, seq.err);
    tb_frame_free(&f);
    ck_assert_int_eq(tb_recv_frame(cfd, &f, 1 << 20), 0);
    ck_assert_int_eq(tb_frame_corr(&f), 62);
    tb_frame_free(&f);
    close(cfd);
    close(pfd);
}
END_TEST

START_TEST(one_append_wakes_every_waiter)
{
    /* 100 connections (spread over the loop threads) park a fetch at the end of the log with
     * max_wait 8 s; one append must wake all of them with data. */
    enum { WAITERS = 100 };
    int pfd = tb_ck_connect(&B);
    tb_ck_create_topic(pfd, "fan", 1);
    tb_ck_produce_seq(pfd, "fan", 0, "fan", 0, 1, 0);
    static int c[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        c[i] = tb_ck_connect(&B);
        struct tb_req r;
        ck_assert_int_eq(tb_req_begin(&r, 256, 1, 11, 7000 + i), 0);
        struct tb_fetch_args a = {8000, 1, 1 << 20, "fan", 0, 1, 1 << 20};
        tb_enc_fetch(&r, 11, &a);
        ck_assert_int_eq(tb_req_send(c[i], &r), 0);
        tb_req_free(&r);
    }
    usleep(300 * 1000);
    for (int i = 0; i < WAITERS; i++)
        ck_assert_msg(tb_readable(c[i], 0) == 0, "waiter %d answered before the append", i);
    tb_ck_produce_seq(pfd, "fan", 0, "fan", 1, 2, 0);
    for (int i = 0; i < WAITERS; i++) {
        struct tb_frame f;
        ck_assert_int_eq(tb_recv_frame(c[i], &f, 1 << 20), 0);
        ck_assert_int_eq(tb_frame_corr(&f), 7000 + i);
        struct tb_fetch_resp fr;
        ck_assert_int_eq(tb_dec_fetch(&f, 11, &fr), 0);
        ck_assert_int_eq(fr.error, 0);
        ck_assert_msg(fr.records_len > 0, "waiter %d was not woken by the append (empty answer)",
                      i);
        struct tb_seq seq = {.prefix = "fan", .next_offset = 1};
        long n = tb_records_walk(fr.records, (size_t)fr.records_len, tb_seq_check, &seq, NULL);
        ck_assert_msg(n == 2 && !seq.err[0], "waiter %d: %ld records %s", i, n, seq.err);
        tb_frame_free(&f);
        close(c[i]);
    }
    close(pfd);
}
END_TEST

START_TEST(client_gone_during_long_poll)
{
    int pfd = tb_ck_connect(&B);
    tb_ck_create_topic(pfd, "gone", 1);
    /* Ten connections park a fetch each, then vanish; appends must not touch them. */
    for (int i = 0; i < 10; i++) {
        int cfd = tb_ck_connect(&B);
        struct tb_fetch_args a = {5000, 1, 1 << 20, "gone", 0, 0, 1 << 20};
        ck_assert_int_eq(tb_send_fetch(cfd, 11, 90 + i, &a), 0);
        if (i % 2)
            shutdown(cfd, SHUT_RDWR);
        close(cfd);
    }
    usleep(200 * 1000);
    tb_ck_produce_seq(pfd, "gone", 0, "gone", 0, 5, 0);
    tb_ck_produce_seq(pfd, "gone", 0, "gone", 5, 5, 0);
    struct tb_seq seq = {.prefix = "gone"};
    int rc = tb_consume_seq(pfd, "gone", 0, 10, &seq, 10);
    ck_assert_msg(rc == 0, "%d %s", rc, seq.err);
    close(pfd);
    ck_assert(tb_broker_alive(&B));
}
END_TEST

START_TEST(sigterm_with_parked_fetch)
{
    int cfd = tb_ck_connect(&B);
    tb_ck_create_topic(cfd, "park", 1);
    struct tb_fetch_args a = {30000, 1, 1 << 20, "park", 0, 0, 1 << 20};
    ck_assert_int_eq(tb_send_fetch(cfd, 11, 71, &a), 0);
    ck_assert_int_eq(tb_readable(cfd, 200), 0);
    /* In-flight requests finish: the parked fetch is answered (empty) or the connection is
     * closed, and the broker exits 0 well before the fetch's 30 s max_wait. */
    ck_assert_int_eq(kill(B.pid, SIGTERM), 0);
    struct tb_frame f;
    int rc = tb_recv_frame(cfd, &f, 1 << 20);
    if (rc == 0) {
        ck_assert_int_eq(tb_frame_corr(&f), 71);
        struct tb_fetch_resp fr;
        ck_assert_int_eq(tb_dec_fetch(&f, 11, &fr), 0);
        ck_assert_int_eq(fr.records_len, 0);
        tb_frame_free(&f);
    } else {
        ck_assert_msg(rc == -ECONNRESET, "parked fetch at SIGTERM: %s", strerror(-rc));
    }
    int st = tb_broker_stop(&B, SIGTERM);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status 0x%x", st);
    close(cfd);
}
END_TEST

START_TEST(delete_topic_under_parked_fetch)
{
    int cfd = tb_ck_connect(&B), pfd = tb_ck_connect(&B);
    tb_ck_create_topic(pfd, "del", 1);
    tb_ck_produce_seq(pfd, "del", 0, "del", 0, 2, 0);
    struct tb_req r;
    struct tb_fetch_args a = {3000, 1, 1 << 20, "del", 0, 2, 1 << 20};
    ck_assert_int_eq(tb_send_fetch(cfd, 11, 81, &a), 0);
    usleep(200 * 1000);
    /* Delete the topic the fetch waits on, then re-create it and append. */
    ck_assert_int_eq(tb_req_begin(&r, 512, 20, 3, 82), 0);
    tb_enc_delete_topics(&r, 3, "del", 5000);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(pfd, &r, 82, &f), 0);
    tb_req_free(&r);
    int16_t err = -1;
    ck_assert_int_eq(tb_dec_delete_topics(&f, 3, &err), 0);
    ck_assert_int_eq(err, 0);
    tb_frame_free(&f);
    tb_ck_create_topic(pfd, "del", 1);
    tb_ck_produce_seq(pfd, "del", 0, "new", 0, 5, 0);
    /* The parked fetch ends: an error for the partition, or an answer that is well formed. */
    ck_assert_int_eq(tb_recv_frame(cfd, &f, 1 << 20), 0);
    ck_assert_int_eq(tb_frame_corr(&f), 81);
    struct tb_fetch_resp fr;
    ck_assert_int_eq(tb_dec_fetch(&f, 11, &fr), 0);
    if (fr.error == 0 && fr.records_len > 0) {
        long n = tb_records_walk(fr.records, (size_t)fr.records_len, NULL, NULL, NULL);
        ck_assert_msg(n > 0, "records after delete do not parse");
    }
    tb_frame_free(&f);
    /* The new topic reads as itself. */
    struct tb_seq seq = {.prefix = "new"};
    ck_assert_int_eq(tb_consume_seq(cfd, "del", 0, 5, &seq, 10), 0);
    close(cfd);
    close(pfd);
}
END_TEST

/* ---- concurrent producers ------------------------------------------------------------------ */

enum { CP_THREADS = 4, CP_BATCHES = 150, CP_COUNT = 3 };

struct cp_thread {
    int port, id;
    int64_t base[CP_BATCHES];
    int err;
};

static void *cp_main(void *arg)
{
    struct cp_thread *t = arg;
    int fd = tb_connect(t->port);
    if (fd < 0) {
        t->err = fd;
        return NULL;
    }
    char prefix[16];
    snprintf(prefix, sizeof prefix, "t%d", t->id);
    for (int b = 0; b < CP_BATCHES; b++) {
        uint8_t buf[2048];
        long len = tb_batch_values(buf, sizeof buf, prefix, b * CP_COUNT, CP_COUNT, 30, false, 1);
        struct tb_produce_resp pr;
        int rc = len > 0 ? tb_produce(fd, "cp", 0, buf, (size_t)len, &pr) : (int)len;
        if (rc || pr.error) {
            t->err = rc ? rc : 1000 + pr.error;
            break;
        }
        t->base[b] = pr.base_offset;
    }
    close(fd);
    return NULL;
}

struct cp_check {
    const int64_t *owner_of; /* offset -> thread id * CP_BATCHES + batch, or -1 */
    int64_t next;
    char err[200];
};

static int cp_rec(void *ctx, const struct tb_rec_view *rec)
{
    struct cp_check *c = ctx;
    if (rec->offset < c->next)
        return 0;
    if (rec->offset != c->next) {
        snprintf(c->err, sizeof c->err, "offset %lld, expected %lld", (long long)rec->offset,
                 (long long)c->next);
        return 1;
    }
    int64_t own = c->owner_of[rec->offset];
    int id = (int)(own / CP_BATCHES), b = (int)(own % CP_BATCHES);
    /* Record j of batch b of thread id sits at the batch's base offset + j. */
    char prefix[16], want[128];
    snprintf(prefix, sizeof prefix, "t%d", id);
    int64_t base = rec->offset;
    while (base > 0 && c->owner_of[base - 1] == own)
        base--;
    size_t len = tb_value(want, sizeof want, prefix, b * CP_COUNT + (rec->offset - base), 30);
    if (rec->value.len != (int32_t)len || memcmp(rec->value.ptr, want, len) != 0) {
        snprintf(c->err, sizeof c->err, "offset %lld: not record %lld of %s's batch %d",
                 (long long)rec->offset, (long long)(rec->offset - base), prefix, b);
        return 1;
    }
    c->next++;
    return 0;
}

static void concurrent_producers(void);

START_TEST(concurrent_producers_one_partition) { concurrent_producers(); }
END_TEST

START_TEST(concurrent_producers_flush_every_message)
{
    /* acks -1 answered only after fdatasync, shared by concurrent producers (group commit). */
    int st = tb_broker_stop(&B, SIGTERM);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
    static const char *const extra[] = {"-o", "log.flush.interval.messages=1", NULL};
    int rc = tb_broker_start(&B, extra);
    ck_assert_msg(rc == 0, "restart: %s", strerror(-rc));
    concurrent_producers();
}
END_TEST

START_TEST(retention_advances_log_start)
{
    int st = tb_broker_stop(&B, SIGTERM);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
    static const char *const extra[] = {"-o", "log.segment.bytes=16384",
                                        "-o", "log.retention.bytes=40000",
                                        "-o", "log.retention.check.interval.ms=100",
                                        NULL};
    int rc = tb_broker_start(&B, extra);
    ck_assert_msg(rc == 0, "restart: %s", strerror(-rc));
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "ret", 1);
    for (int b = 0; b < 100; b++)
        tb_ck_produce_seq(fd, "ret", 0, "ret", b * 4, 4, 250); /* ~1.1 KiB batches, ~110 KiB */
    /* Old segments go within a few check intervals (bounded wait, not a timing check). */
    struct tb_list_offsets_resp lo = {0};
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(tb_list_offsets(fd, "ret", 0, -2, &lo), 0);
        ck_assert_int_eq(lo.error, 0);
        if (lo.offset > 0)
            break;
        usleep(100 * 1000);
    }
    int64_t start = lo.offset;
    ck_assert_msg(start > 0, "log start still 0 with log.retention.bytes=40000 after 10 s");
    ck_assert_msg(start < 400 && start % 4 == 0, "log start %lld", (long long)start);
    /* Below the log start: OFFSET_OUT_OF_RANGE; from it: the records, and log_start_offset. */
    struct tb_fetch_args a = {0, 1, 1 << 20, "ret", 0, 0, 1 << 20};
    struct tb_frame f;
    struct tb_fetch_resp fr;
    ck_assert_int_eq(tb_fetch(fd, &a, &f, &fr), 0);
    ck_assert_msg(fr.error == 1, "fetch below log start %lld: error %d", (long long)start,
                  fr.error);
    tb_frame_free(&f);
    struct tb_seq seq = {.prefix = "ret", .pad_to = 250, .next_offset = start};
    rc = tb_consume_seq(fd, "ret", 0, 400, &seq, 50);
    ck_assert_msg(rc == 0, "reading from log start %lld: %d %s", (long long)start, rc, seq.err);
    a.offset = start;
    ck_assert_int_eq(tb_fetch(fd, &a, &f, &fr), 0);
    ck_assert_int_eq(fr.error, 0);
    ck_assert_msg(fr.log_start_offset >= start, "Fetch log_start_offset %lld, ListOffsets %lld",
                  (long long)fr.log_start_offset, (long long)start);
    tb_frame_free(&f);
    /* What is left is at most the retention bound plus the active segment. */
    ck_assert_msg(400 - start <= (40000 + 16384) / 1000 * 4 + 8, "%lld records kept",
                  (long long)(400 - start));
    close(fd);
}
END_TEST

static void concurrent_producers(void)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "cp", 1);
    static struct cp_thread th[CP_THREADS];
    pthread_t tid[CP_THREADS];
    for (int i = 0; i < CP_THREADS; i++) {
        memset(&th[i], 0, sizeof th[i]);
        th[i].port = B.port;
        th[i].id = i;
        ck_assert_int_eq(pthread_create(&tid[i], NULL, cp_main, &th[i]), 0);
    }
    for (int i = 0; i < CP_THREADS; i++)
        pthread_join(tid[i], NULL);
    const int64_t total = (int64_t)CP_THREADS * CP_BATCHES * CP_COUNT;
    int64_t *owner = malloc(sizeof *owner * (size_t)total);
    ck_assert_ptr_nonnull(owner);
    for (int64_t o = 0; o < total; o++)
        owner[o] = -1;
    /* Every acknowledged batch got its own offsets: no overlap, no gap. */
    for (int i = 0; i < CP_THREADS; i++) {
        ck_assert_msg(th[i].err == 0, "producer %d: %d", i, th[i].err);
        for (int b = 0; b < CP_BATCHES; b++) {
            int64_t base = th[i].base[b];
            ck_assert_msg(base >= 0 && base + CP_COUNT <= total && base % CP_COUNT == 0,
                          "producer %d batch %d: base offset %lld", i, b, (long long)base);
            for (int j = 0; j < CP_COUNT; j++) {
                ck_assert_msg(owner[base + j] == -1, "offset %lld given twice",
                              (long long)(base + j));
                owner[base + j] = (int64_t)i * CP_BATCHES + b;
            }
            if (b > 0)
                ck_assert_int_gt(base, th[i].base[b - 1]);
        }
    }
    /* And the log holds each batch's own records at those offsets. */
    struct cp_check c = {.owner_of = owner};
    for (int n = 0; n < 200 && c.next < total; n++) {
        struct tb_fetch_args a = {0, 1, 8 << 20, "cp", 0, c.next, 8 << 20};
        struct tb_frame f;
        struct tb_fetch_resp fr;
        ck_assert_int_eq(tb_fetch(fd, &a, &f, &fr), 0);
        ck_assert_int_eq(fr.error, 0);
        long got = tb_records_walk(fr.records, (size_t)fr.records_len, cp_rec, &c, NULL);
        tb_frame_free(&f);
        ck_assert_msg(got >= 0 && !c.err[0], "%s", c.err);
    }
    ck_assert_int_eq(c.next, total);
    free(owner);
    close(fd);
}

/* ---- readers at the moving tail ----------------------------------------------------------- */

enum { TAIL_PRODUCERS = 2, TAIL_BATCHES = 250, TAIL_READERS = 2 };

struct tail_prod {
    int port, id, err;
};

static void *tail_prod_main(void *arg)
{
    struct tail_prod *t = arg;
    int fd = tb_connect(t->port);
    if (fd < 0) {
        t->err = fd;
        return NULL;
    }
    uint8_t *buf = malloc(64 << 10);
    for (int b = 0; buf && b < TAIL_BATCHES; b++) {
        /* 1..8 records of 0..6 KiB: batches of very different sizes. */
        int count = 1 + (b * 5 + t->id) % 8;
        long len =
            tb_batch_values(buf, 64 << 10, "tail", b, count, (size_t)((b * 1237) % 6000), false, 1);
        struct tb_produce_resp pr;
        int rc = len > 0 ? tb_produce(fd, "tail", 0, buf, (size_t)len, &pr) : (int)len;
        if (rc || pr.error) {
            t->err = rc ? rc : 1000 + pr.error;
            break;
        }
    }
    free(buf);
    close(fd);
    return NULL;
}

struct tail_reader {
    int port;
    int64_t until; /* atomic: total records once the producers are done, else 0 */
    int64_t next;
    char err[200];
};

static int tail_rec(void *ctx, const struct tb_rec_view *rec)
{
    struct tail_reader *t = ctx;
    if (rec->offset < t->next)
        return 0;
    if (rec->offset != t->next) {
        snprintf(t->err, sizeof t->err, "offset %lld after %lld", (long long)rec->offset,
                 (long long)t->next - 1);
        return 1;
    }
    t->next++;
    return 0;
}

static void *tail_reader_main(void *arg)
{
    struct tail_reader *t = arg;
    int fd = tb_connect(t->port);
    if (fd < 0) {
        snprintf(t->err, sizeof t->err, "connect: %d", fd);
        return NULL;
    }
    /* Bounded: 5000 fetches of at most 100 ms wait. */
    for (int i = 0; i < 5000; i++) {
        int64_t until = __atomic_load_n(&t->until, __ATOMIC_ACQUIRE);
        if (until > 0 && t->next >= until)
            break;
        struct tb_fetch_args a = {100, 1, 1 << 20, "tail", 0, t->next, 256 << 10};
        struct tb_frame f;
        struct tb_fetch_resp fr;
        int rc = tb_fetch(fd, &a, &f, &fr);
        if (rc) {
            snprintf(t->err, sizeof t->err, "fetch at %lld: %d", (long long)t->next, rc);
            break;
        }
        if (fr.error) {
            snprintf(t->err, sizeof t->err, "fetch at %lld: error %d", (long long)t->next,
                     fr.error);
            tb_frame_free(&f);
            break;
        }
        size_t trailing = 0;
        long n = fr.records_len > 0
                     ? tb_records_walk(fr.records, (size_t)fr.records_len, tail_rec, t, &trailing)
                     : 0;
        tb_frame_free(&f);
        if (n < 0 || t->err[0] || trailing) {
            if (!t->err[0])
                snprintf(t->err, sizeof t->err,
                         "fetch at %lld: %s (%zu trailing bytes) while appends run",
                         (long long)t->next, n < 0 ? "corrupt batch" : "partial batch", trailing);
            break;
        }
    }
    close(fd);
    return NULL;
}

START_TEST(readers_at_the_moving_tail)
{
    /* Two producers append batches of very different sizes while two readers fetch at the
     * tail: a reader only ever sees whole, valid batches and contiguous offsets (the
     * published end is never ahead of the bytes). */
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "tail", 1);
    static struct tail_prod prod[TAIL_PRODUCERS];
    static struct tail_reader rd[TAIL_READERS];
    pthread_t pt[TAIL_PRODUCERS], rt[TAIL_READERS];
    for (int i = 0; i < TAIL_READERS; i++) {
        memset(&rd[i], 0, sizeof rd[i]);
        rd[i].port = B.port;
        ck_assert_int_eq(pthread_create(&rt[i], NULL, tail_reader_main, &rd[i]), 0);
    }
    for (int i = 0; i < TAIL_PRODUCERS; i++) {
        prod[i] = (struct tail_prod){.port = B.port, .id = i};
        ck_assert_int_eq(pthread_create(&pt[i], NULL, tail_prod_main, &prod[i]), 0);
    }
    for (int i = 0; i < TAIL_PRODUCERS; i++)
        pthread_join(pt[i], NULL);
    struct tb_list_offsets_resp lo;
    ck_assert_int_eq(tb_list_offsets(fd, "tail", 0, -1, &lo), 0);
    for (int i = 0; i < TAIL_READERS; i++)
        __atomic_store_n(&rd[i].until, lo.offset, __ATOMIC_RELEASE);
    for (int i = 0; i < TAIL_READERS; i++)
        pthread_join(rt[i], NULL);
    for (int i = 0; i < TAIL_PRODUCERS; i++)
        ck_assert_msg(prod[i].err == 0, "producer %d: %d", i, prod[i].err);
    for (int i = 0; i < TAIL_READERS; i++)
        ck_assert_msg(!rd[i].err[0] && rd[i].next == lo.offset, "reader %d: at %lld of %lld: %s", i,
                      (long long)rd[i].next, (long long)lo.offset, rd[i].err);
    close(fd);
}
END_TEST

/* ---- delete and re-create under load ------------------------------------------------------ */

struct churn_client {
    int port;
    int stop; /* atomic */
    long ok, unknown;
    char err[200];
};

static void *churn_producer(void *arg)
{
    struct churn_client *c = arg;
    int fd = tb_connect(c->port);
    if (fd < 0) {
        snprintf(c->err, sizeof c->err, "connect %d", fd);
        return NULL;
    }
    uint8_t buf[4096];
    for (int i = 0; i < 100000 && !__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE); i++) {
        long len = tb_batch_values(buf, sizeof buf, "churn", i, 3, 200, false, 1);
        struct tb_produce_resp pr;
        int rc = tb_produce(fd, "churn", 0, buf, (size_t)len, &pr);
        if (rc) {
            snprintf(c->err, sizeof c->err, "produce round trip: %d", rc);
            break;
        }
        if (pr.error == 0)
            c->ok++;
        else if (pr.error == 3)
            c->unknown++;
        else {
            snprintf(c->err, sizeof c->err, "produce error %d", pr.error);
            break;
        }
    }
    close(fd);
    return NULL;
}

static void *churn_consumer(void *arg)
{
    struct churn_client *c = arg;
    int fd = tb_connect(c->port);
    if (fd < 0) {
        snprintf(c->err, sizeof c->err, "connect %d", fd);
        return NULL;
    }
    int64_t next = 0;
    for (int i = 0; i < 100000 && !__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE); i++) {
        struct tb_fetch_args a = {50, 1, 1 << 20, "churn", 0, next, 1 << 20};
        struct tb_frame f;
        struct tb_fetch_resp fr;
        int rc = tb_fetch(fd, &a, &f, &fr);
        if (rc) {
            snprintf(c->err, sizeof c->err, "fetch round trip: %d", rc);
            break;
        }
        if (fr.error == 0 && fr.records_len > 0) {
            size_t trailing = 0;
            long n = tb_records_walk(fr.records, (size_t)fr.records_len, NULL, NULL, &trailing);
            if (n <= 0 || trailing) {
                snprintf(c->err, sizeof c->err, "corrupt fetch at %lld (%ld, %zu)", (long long)next,
                         n, trailing);
                tb_frame_free(&f);
                break;
            }
            next = fr.high_watermark;
            c->ok++;
        } else if (fr.error == 1 || fr.error == 3) {
            next = 0; /* the topic was re-created under us */
            c->unknown++;
        } else if (fr.error != 0) {
            snprintf(c->err, sizeof c->err, "fetch error %d", fr.error);
            tb_frame_free(&f);
            break;
        }
        tb_frame_free(&f);
    }
    close(fd);
    return NULL;
}

START_TEST(delete_and_recreate_under_load)
{
    /* Two producers and two consumers keep working on "churn" while it is deleted and
     * re-created 15 times: they see errors (UNKNOWN_TOPIC_OR_PARTITION, OFFSET_OUT_OF_RANGE)
     * but never a broken response, and the broker survives (ASan checks every access). */
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "churn", 1);
    static struct churn_client cl[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        memset(&cl[i], 0, sizeof cl[i]);
        cl[i].port = B.port;
        ck_assert_int_eq(
            pthread_create(&th[i], NULL, i < 2 ? churn_producer : churn_consumer, &cl[i]), 0);
    }
    for (int round = 0; round < 15; round++) {
        usleep(60 * 1000);
        struct tb_req r;
        ck_assert_int_eq(tb_req_begin(&r, 256, 20, 3, 2000 + round), 0);
        tb_enc_delete_topics(&r, 3, "churn", 5000);
        struct tb_frame f;
        ck_assert_int_eq(tb_call(fd, &r, 2000 + round, &f), 0);
        tb_req_free(&r);
        int16_t err = -1;
        ck_assert_int_eq(tb_dec_delete_topics(&f, 3, &err), 0);
        tb_frame_free(&f);
        ck_assert_msg(err == 0, "delete round %d: %d", round, err);
        int16_t cerr = -1;
        ck_assert_int_eq(tb_create_topic(fd, "churn", 1, &cerr), 0);
        ck_assert_msg(cerr == 0 || cerr == 36, "re-create round %d: %d", round, cerr);
    }
    for (int i = 0; i < 4; i++)
        __atomic_store_n(&cl[i].stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(!cl[i].err[0], "client %d: %s", i, cl[i].err);
    ck_assert_msg(cl[0].ok + cl[1].ok > 0, "no produce succeeded");
    ck_assert(tb_broker_alive(&B));
    /* The last incarnation is a clean log from offset 0. */
    struct tb_list_offsets_resp lo;
    ck_assert_int_eq(tb_list_offsets(fd, "churn", 0, -2, &lo), 0);
    ck_assert_int_eq(lo.error, 0);
    ck_assert_int_eq(lo.offset, 0);
    close(fd);
}
END_TEST

/* ---- acks = 0 ------------------------------------------------------------------------------ */

START_TEST(acks0_no_response)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "a0", 1);
    uint8_t batch[1024];
    long blen = tb_batch_values(batch, sizeof batch, "a0", 0, 3, 0, false, 1);
    ck_assert_int_gt(blen, 0);
    for (int i = 0; i < 2; i++) {
        struct tb_req r;
        ck_assert_int_eq(tb_req_begin(&r, 2048, 0, 7, 900 + i), 0);
        tb_enc_produce(&r, 7, 0, 5000, "a0", 0, batch, (size_t)blen);
        ck_assert_int_eq(tb_req_send(fd, &r), 0);
        tb_req_free(&r);
    }
    /* The next response on the connection must be the ListOffsets one, not a produce's. */
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 512, 2, 2, 902), 0);
    tb_enc_list_offsets(&r, 2, "a0", 0, -1);
    struct tb_frame f;
    int rc = tb_call(fd, &r, 902, &f);
    tb_req_free(&r);
    ck_assert_msg(rc == 0, "the response after two acks=0 produces is not ListOffsets' (%s)",
                  strerror(-rc));
    struct tb_list_offsets_resp lo;
    ck_assert_int_eq(tb_dec_list_offsets(&f, 2, &lo), 0);
    tb_frame_free(&f);
    ck_assert_int_eq(lo.error, 0);
    ck_assert_msg(lo.offset == 6, "acks=0 records not appended: end offset %lld",
                  (long long)lo.offset);
    ck_assert_msg(tb_readable(fd, 200) == 0, "a stray response arrived after ListOffsets");
    close(fd);
}
END_TEST

/* ---- offsets out of range, first batch whole, batch boundaries ---------------------------- */

START_TEST(fetch_offset_out_of_range)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "oor", 1);
    tb_ck_produce_seq(fd, "oor", 0, "oor", 0, 5, 0);
    const int64_t bad[] = {6, 1000, -1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tb_fetch_args a = {0, 1, 1 << 20, "oor", 0, bad[i], 1 << 20};
        struct tb_frame f;
        struct tb_fetch_resp fr;
        ck_assert_int_eq(tb_fetch(fd, &a, &f, &fr), 0);
        ck_assert_msg(fr.error == 1, "fetch at %lld (HW 5): error %d, want OFFSET_OUT_OF_RANGE",
                      (long long)bad[i], fr.error);
        ck_assert_msg(fr.records_len == 0, "records length %d with an error", fr.records_len);
        tb_frame_free(&f);
    }
    /* Unknown topic and partition. */
    struct tb_fetch_args u = {0, 1, 1 << 20, "no-such-topic", 0, 0, 1 << 20};
    struct tb_frame f;
    struct tb_fetch_resp fr;
    ck_assert_int_eq(tb_fetch(fd, &u, &f, &fr), 0);
    ck_assert_int_eq(fr.error, 3);
    tb_frame_free(&f);
    struct tb_fetch_args up = {0, 1, 1 << 20, "oor", 7, 0, 1 << 20};
    ck_assert_int_eq(tb_fetch(fd, &up, &f, &fr), 0);
    ck_assert_int_eq(fr.error, 3);
    tb_frame_free(&f);
    close(fd);
}
END_TEST

static size_t big_then_small(int64_t i) { return i == 0 ? 64 * 1024 : 100; }

START_TEST(first_batch_whole_and_batch_cuts)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "whole", 1);
    tb_ck_produce_seq(fd, "whole", 0, "whole", 0, 1, 64 * 1024); /* offset 0: a ~64 KiB batch */
    for (int i = 1; i <= 20; i++)
        tb_ck_produce_seq(fd, "whole", 0, "whole", i, 1, 100); /* offsets 1..20: ~170 B each */

    /* max_bytes 1000 is far below the first batch: it still comes back, whole, alone. */
    struct tb_fetch_args a = {0, 1, 1000, "whole", 0, 0, 1000};
    struct tb_frame f;
    struct tb_fetch_resp fr;
    ck_assert_int_eq(tb_fetch(fd, &a, &f, &fr), 0);
    ck_assert_int_eq(fr.error, 0);
    struct tb_seq seq = {.prefix = "whole", .pad_of = big_then_small};
    size_t trailing = 1;
    long n = tb_records_walk(fr.records, (size_t)fr.records_len, tb_seq_check, &seq, &trailing);
    ck_assert_msg(n == 1 && !seq.err[0], "oversized first batch: %ld records (%s), %d bytes", n,
                  seq.err, fr.records_len);
    ck_assert_msg(trailing == 0, "a partial batch of %zu bytes follows the first", trailing);
    tb_frame_free(&f);

    /* From offset 1 with 1000 bytes: whole batches only, as many as fit, at least one. */
    struct tb_fetch_args b = {0, 1, 1000, "whole", 0, 1, 1000};
    ck_assert_int_eq(tb_fetch(fd, &b, &f, &fr), 0);
    ck_assert_int_eq(fr.error, 0);
    ck_assert_msg(fr.records_len > 0 && fr.records_len <= 1000, "records length %d for max 1000",
                  fr.records_len);
    struct tb_seq seq2 = {.prefix = "whole", .pad_of = big_then_small, .next_offset = 1};
    n = tb_records_walk(fr.records, (size_t)fr.records_len, tb_seq_check, &seq2, &trailing);
    ck_assert_msg(n >= 1 && !seq2.err[0], "%ld records (%s)", n, seq2.err);
    ck_assert_msg(trailing == 0, "fetch not cut on a batch boundary: %zu trailing bytes", trailing);
    ck_assert_msg(n >= 4, "only %ld small batches in 1000 bytes: cut too early", n);
    tb_frame_free(&f);

    /* The partition limit binds too. */
    struct tb_fetch_args c = {0, 1, 1 << 20, "whole", 0, 1, 500};
    ck_assert_int_eq(tb_fetch(fd, &c, &f, &fr), 0);
    ck_assert_msg(fr.records_len > 0 && fr.records_len <= 500, "records length %d for 500",
                  fr.records_len);
    n = tb_records_walk(fr.records, (size_t)fr.records_len, NULL, NULL, &trailing);
    ck_assert_int_ge(n, 1);
    ck_assert_int_eq(trailing, 0);
    tb_frame_free(&f);
    close(fd);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("produce_fetch");
    TCase *tc = tcase_create("raw");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, produce_every_version);
    tcase_add_test(tc, fetch_every_version);
    tcase_add_test(tc, produce_fetch_multi_partition);
    tcase_add_test(tc, pipelined_50_in_order);
    tcase_add_test(tc, long_poll_wakes_on_append);
    tcase_add_test(tc, fetch_at_hw_waits_then_empty);
    tcase_add_test(tc, long_poll_min_bytes_and_order);
    tcase_add_test(tc, one_append_wakes_every_waiter);
    tcase_add_test(tc, client_gone_during_long_poll);
    tcase_add_test(tc, sigterm_with_parked_fetch);
    tcase_add_test(tc, concurrent_producers_one_partition);
    tcase_add_test(tc, readers_at_the_moving_tail);
    tcase_add_test(tc, delete_and_recreate_under_load);
    tcase_add_test(tc, concurrent_producers_flush_every_message);
    tcase_add_test(tc, retention_advances_log_start);
    tcase_add_test(tc, delete_topic_under_parked_fetch);
    tcase_add_test(tc, acks0_no_response);
    tcase_add_test(tc, fetch_offset_out_of_range);
    tcase_add_test(tc, first_batch_whole_and_batch_cuts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
