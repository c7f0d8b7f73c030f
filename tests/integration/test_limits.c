/*
 * test_limits — the broker's bounds, with a real splicelogd:
 * - backpressure: a client pipelines 300 fetches of ~1 MiB each and does not read; the broker
 *   stops reading it instead of buffering 300 MiB (its memory stays bounded), another client
 *   is served meanwhile, and once the first one reads, all 300 answers arrive whole and in
 *   order;
 * - max.connections: connections past the bound are closed with a log line, and a slot
 *   freed is usable again;
 * - connections.max.idle.ms: an idle connection is closed, a busy one is not;
 * - out of file descriptors: accepts fail, the broker neither dies nor spins, and recovers;
 * - one fetch of 520 partitions (a response of more than IOV_MAX pieces) on every path.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"

static struct tb_broker B;

static void bare_setup(void) { memset(&B, 0, sizeof B); }

static void teardown(void) { tb_ck_finish(&B); }

static void start(const char *const *extra) { tb_ck_start(&B, extra); }

enum { BP_FETCHES = 300, BP_BATCHES = 16, BP_VALUE = 64000 };

START_TEST(pipelined_fetches_backpressure)
{
    static const char *const extra[] = {"-o", "fetch.transfer=copy",
                                        "-o", "queued.max.requests=8",
                                        "-o", "socket.output.max.bytes=1048576",
                                        NULL};
    start(extra);
    int pfd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(pfd, "bp", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    uint8_t *buf = malloc(BP_VALUE + 1024);
    ck_assert_ptr_nonnull(buf);
    for (int i = 0; i < BP_BATCHES; i++) {
        long len = tb_batch_values(buf, BP_VALUE + 1024, "bp", i, 1, BP_VALUE, false, 1);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_produce(pfd, "bp", 0, buf, (size_t)len, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
    }
    free(buf);
    long rss0 = tb_broker_rss_kib(&B);

    /* 300 fetches of the whole ~1 MiB log, sent back to back, nothing read yet. */
    int sfd = tb_ck_connect(&B);
    for (int i = 0; i < BP_FETCHES; i++) {
        struct tb_req r;
        ck_assert_int_eq(tb_req_begin(&r, 256, 1, 11, 10000 + i), 0);
        struct tb_fetch_args a = {0, 1, 4 << 20, "bp", 0, 0, 4 << 20};
        tb_enc_fetch(&r, 11, &a);
        ck_assert_int_eq(tb_req_send(sfd, &r), 0);
        tb_req_free(&r);
    }
    usleep(1000 * 1000);
    long rss1 = tb_broker_rss_kib(&B);
    /* Another client is served while the first one stalls. */
    ck_assert_msg(tb_ping(pfd, 1) == 0, "a second client is not served while one stalls");
    struct tb_seq seq = {.prefix = "bp", .pad_to = BP_VALUE};
    ck_assert_int_eq(tb_consume_seq(pfd, "bp", 0, BP_BATCHES, &seq, 50), 0);
    ck_assert_msg(rss1 - rss0 < 128 * 1024,
                  "broker grew by %ld KiB while a client did not read (%d MiB of answers "
                  "requested): responses are buffered without bound",
                  rss1 - rss0, BP_FETCHES);

    /* Now read: all 300, in order, each the whole log. */
    for (int i = 0; i < BP_FETCHES; i++) {
        struct tb_frame f;
        int rc = tb_recv_frame(sfd, &f, 8 << 20);
        ck_assert_msg(rc == 0, "answer %d: %s", i, strerror(-rc));
        ck_assert_int_eq(tb_frame_corr(&f), 10000 + i);
        struct tb_fetch_resp fr;
        ck_assert_int_eq(tb_dec_fetch(&f, 11, &fr), 0);
        ck_assert_int_eq(fr.error, 0);
        struct tb_seq s2 = {.prefix = "bp", .pad_to = BP_VALUE};
        long n = tb_records_walk(fr.records, (size_t)fr.records_len, tb_seq_check, &s2, NULL);
        ck_assert_msg(n == BP_BATCHES && !s2.err[0], "answer %d: %ld records %s", i, n, s2.err);
        tb_frame_free(&f);
    }
    close(sfd);
    close(pfd);
}
END_TEST

START_TEST(max_connections)
{
    /* Refusal, as Kafka does it (no idle connection is closed to make room: see
     * test_conn_limits for that, the default). */
    static const char *const extra[] = {"-o", "max.connections=3", "-o",
                                        "max.connections.evict.idle.ms=-1", NULL};
    start(extra);
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = tb_ck_connect(&B);
        ck_assert_int_eq(tb_ping(fds[i], 100 + i), 0);
    }
    int extra_fd = tb_ck_connect(&B); /* TCP accepts it; the broker must not serve it */
    int rc = tb_ping(extra_fd, 200);
    ck_assert_msg(rc != 0, "a 4th connection was served with max.connections=3");
    ck_assert_int_eq(tb_wait_closed(extra_fd, 5000), 1);
    close(extra_fd);
    ck_assert_msg(tb_log_wait(&B, "max.connections", 5000), "refusal not logged");
    /* The three still work; freeing one makes room again. */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tb_ping(fds[i], 300 + i), 0);
    close(fds[0]);
    bool served = false;
    for (int i = 0; i < 50 && !served; i++) {
        int fd = tb_ck_connect(&B);
        served = tb_ping(fd, 400 + i) == 0;
        close(fd);
        if (!served)
            usleep(100 * 1000);
    }
    ck_assert_msg(served, "no new connection served after one of three closed");
    close(fds[1]);
    close(fds[2]);
}
END_TEST

START_TEST(idle_connections_closed)
{
    static const char *const extra[] = {"-o", "connections.max.idle.ms=1500", NULL};
    start(extra);
    int idle = tb_ck_connect(&B), busy = tb_ck_connect(&B);
    ck_assert_int_eq(tb_ping(idle, 1), 0);
    /* The busy one sends a request every 100 ms for 3 s: never idle for 1.5 s. */
    for (int i = 0; i < 30; i++) {
        ck_assert_msg(tb_ping(busy, 10 + i) == 0, "busy connection closed after %d ms", i * 100);
        usleep(100 * 1000);
    }
    ck_assert_msg(tb_wait_closed(idle, 10000) == 1, "idle connection still open");
    ck_assert_int_eq(tb_ping(busy, 99), 0);
    close(idle);
    close(busy);
}
END_TEST

/* CPU time (user + system) the broker has used, in clock ticks; -1 when unknown. */
static long broker_cpu_ticks(void)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)B.pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* fields after the command name */
    unsigned long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (long)(ut + st);
}

enum { FD_CONNS = 200 };

START_TEST(out_of_file_descriptors)
{
    /* The broker runs with 128 descriptors; 200 clients connect. Accepts fail with EMFILE:
     * the broker must neither die nor spin, must keep serving the connections it has, and
     * must accept again once descriptors are free. */
    struct rlimit old, low;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 128;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    int rc = tb_broker_start(&B, NULL);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    ck_assert_msg(rc == 0, "broker start: %s", strerror(-rc));

    int first = tb_ck_connect(&B);
    ck_assert_int_eq(tb_ping(first, 1), 0);
    static int fds[FD_CONNS];
    for (int i = 0; i < FD_CONNS; i++)
        fds[i] =
            tb_ck_connect(&B); /* TCP completes in the kernel whether or not the broker accepts */
    usleep(500 * 1000);
    long t0 = broker_cpu_ticks();
    usleep(2000 * 1000);
    long t1 = broker_cpu_ticks();
    long hz = sysconf(_SC_CLK_TCK);
    ck_assert_msg(t0 >= 0 && t1 - t0 < hz * 3 / 2,
                  "broker used %ld ticks of CPU in 2 s with accepts failing: spinning", t1 - t0);
    ck_assert_msg(tb_broker_alive(&B), "broker died when out of descriptors");
    ck_assert_msg(tb_ping(first, 2) == 0, "an established connection is no longer served");
    for (int i = 0; i < FD_CONNS; i++)
        close(fds[i]);
    bool served = false;
    for (int i = 0; i < 50 && !served; i++) {
        int fd = tb_ck_connect(&B);
        struct tb_req r;
        ck_assert_int_eq(tb_req_begin(&r, 128, 18, 2, 500 + i), 0);
        tb_enc_api_versions(&r, 2);
        ck_assert_int_eq(tb_req_send(fd, &r), 0);
        tb_req_free(&r);
        if (tb_readable(fd, 200) == 1) {
            struct tb_frame f;
            served = tb_recv_frame(fd, &f, 1 << 20) == 0 && tb_frame_corr(&f) == 500 + i;
            if (f.data)
                tb_frame_free(&f);
        }
        close(fd);
    }
    ck_assert_msg(served, "no new connection served after descriptors were freed");
    close(first);
}
END_TEST

enum { WIDE_PARTS = 520 };

START_TEST(fetch_many_partitions_in_one_request)
{
    /* 520 partitions with one small batch each, fetched in one request: a response of 520
     * headers and 520 file ranges (more than IOV_MAX = 1024 pieces in all), on every path. */
    start(NULL);
    for (int p = 0; p < 3; p++) {
        if (p > 0) {
            int st = tb_broker_stop(&B, SIGTERM);
            ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
            static const char *const paths[] = {"splice", "sendfile", "copy"};
            char opt[64];
            snprintf(opt, sizeof opt, "fetch.transfer=%s", paths[p]);
            const char *extra[] = {"-o", opt, NULL};
            int rc = tb_broker_start(&B, extra);
            ck_assert_msg(rc == 0, "restart with %s: %s", opt, strerror(-rc));
        }
        int fd = tb_ck_connect(&B);
        if (p == 0) {
            tb_ck_create_topic(fd, "wide", WIDE_PARTS);
            for (int i = 0; i < WIDE_PARTS; i++) {
                char prefix[16];
                snprintf(prefix, sizeof prefix, "w%d", i);
                tb_ck_produce_seq(fd, "wide", i, prefix, 0, 2, (size_t)(i % 50));
            }
        }
        static int32_t parts[WIDE_PARTS];
        static int64_t offs[WIDE_PARTS];
        for (int i = 0; i < WIDE_PARTS; i++) {
            parts[i] = i;
            offs[i] = i % 2; /* from the batch start, or from its second record */
        }
        struct tb_req r;
        ck_assert_int_eq(tb_req_begin(&r, 64 << 10, 1, 11, 555), 0);
        tb_enc_fetch_multi(&r, 11, 0, 1, 64 << 20, "wide", WIDE_PARTS, parts, offs, 1 << 20);
        struct tb_frame f;
        int rc = tb_call(fd, &r, 555, &f);
        tb_req_free(&r);
        ck_assert_msg(rc == 0, "fetch of %d partitions (path %d): %s", WIDE_PARTS, p,
                      strerror(-rc));
        static struct tb_fetch_resp fr[WIDE_PARTS];
        static int32_t got[WIDE_PARTS];
        int n = 0;
        ck_assert_int_eq(tb_dec_fetch_multi(&f, 11, fr, got, WIDE_PARTS, &n), 0);
        ck_assert_int_eq(n, WIDE_PARTS);
        for (int i = 0; i < WIDE_PARTS; i++) {
            ck_assert_int_eq(got[i], i);
            ck_assert_msg(fr[i].error == 0, "partition %d: error %d", i, fr[i].error);
            char prefix[16];
            snprintf(prefix, sizeof prefix, "w%d", i);
            struct tb_seq seq = {
                .prefix = prefix, .pad_to = (size_t)(i % 50), .next_offset = offs[i]};
            long k =
                tb_records_walk(fr[i].records, (size_t)fr[i].records_len, tb_seq_check, &seq, NULL);
            ck_assert_msg(k == 2 && !seq.err[0] && seq.next_offset == 2,
                          "partition %d (path %d): %ld records %s", i, p, k, seq.err);
        }
        tb_frame_free(&f);
        close(fd);
    }
}
END_TEST

START_TEST(large_requests_and_the_frame_limit)
{
    /* Requests of several MiB, pipelined, arrive whole (the broker reassembles frames across
     * many reads); a frame of exactly socket.request.max.bytes is accepted, one byte more
     * closes the connection. */
    enum { MAX_FRAME = 6 << 20, BIG = 5 << 20 };
    static const char *const extra[] = {"-o", "socket.request.max.bytes=6291456", "-o",
                                        "message.max.bytes=6291456", NULL};
    start(extra);
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "lr", 1);
    uint8_t *buf = malloc(BIG + 4096);
    ck_assert_ptr_nonnull(buf);
    long blen = tb_batch_values(buf, BIG + 4096, "lr", 0, 1, BIG, false, 1);
    ck_assert_int_gt(blen, BIG);
    /* Three 5 MiB produces and a ListOffsets, sent back to back before reading anything. */
    for (int i = 0; i < 3; i++) {
        struct tb_req r;
        ck_assert_int_eq(tb_req_begin(&r, (size_t)blen + 256, 0, 7, 70 + i), 0);
        tb_enc_produce(&r, 7, -1, 10000, "lr", 0, buf, (size_t)blen);
        ck_assert_int_eq(tb_req_send(fd, &r), 0);
        tb_req_free(&r);
    }
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 256, 2, 2, 73), 0);
    tb_enc_list_offsets(&r, 2, "lr", 0, -1);
    ck_assert_int_eq(tb_req_send(fd, &r), 0);
    tb_req_free(&r);
    for (int i = 0; i < 3; i++) {
        struct tb_frame f;
        ck_assert_int_eq(tb_recv_frame(fd, &f, 1 << 20), 0);
        ck_assert_int_eq(tb_frame_corr(&f), 70 + i);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_dec_produce(&f, 7, &pr), 0);
        ck_assert_msg(pr.error == 0 && pr.base_offset == i, "big produce %d: error %d offset %lld",
                      i, pr.error, (long long)pr.base_offset);
        tb_frame_free(&f);
    }
    struct tb_frame f;
    ck_assert_int_eq(tb_recv_frame(fd, &f, 1 << 20), 0);
    ck_assert_int_eq(tb_frame_corr(&f), 73);
    tb_frame_free(&f);
    /* Read back byte for byte (value i is "lr-0" padded: all three equal). */
    struct tb_fetch_args a = {0, 1, 64 << 20, "lr", 0, 0, 32 << 20};
    for (int64_t off = 0; off < 3; off++) {
        a.offset = off;
        struct tb_fetch_resp fr;
        ck_assert_int_eq(tb_fetch(fd, &a, &f, &fr), 0);
        ck_assert_int_eq(fr.error, 0);
        struct kp_batch_hdr h;
        ck_assert_int_eq(kp_batch_validate(fr.records, (size_t)fr.records_len, 0, &h), 0);
        ck_assert_int_eq(h.base_offset, off);
        ck_assert_int_eq(kp_batch_size(&h), blen);
        ck_assert_msg(memcmp(fr.records + 12, buf + 12, (size_t)blen - 12) == 0,
                      "batch %lld differs from what was sent", (long long)off);
        tb_frame_free(&f);
    }
    close(fd);

    /* A frame of exactly MAX_FRAME bytes after the size: parsed (and refused as a request,
     * or answered), not cut off as too large; MAX_FRAME + 1 closes the connection. */
    for (int extra_byte = 0; extra_byte < 2; extra_byte++) {
        int c = tb_ck_connect(&B);
        size_t body = (size_t)MAX_FRAME + (size_t)extra_byte;
        uint8_t *fr = calloc(1, body + 4);
        ck_assert_ptr_nonnull(fr);
        kp_store_be32(fr, (uint32_t)body);
        /* A Produce v7 header whose records field claims the rest of the frame. */
        struct kp_wr w;
        kp_wr_init(&w, fr + 4, body);
        kp_wr_i16(&w, 0);
        kp_wr_i16(&w, 7);
        kp_wr_i32(&w, 80);
        kp_wr_nstr(&w, kp_str_of("tb"));
        kp_wr_nstr(&w, KP_STR_NULL);
        kp_wr_i16(&w, -1);
        kp_wr_i32(&w, 1000);
        kp_wr_array(&w, 1);
        kp_wr_str(&w, kp_str_of("lr"));
        kp_wr_array(&w, 1);
        kp_wr_i32(&w, 0);
        kp_wr_i32(&w, (int32_t)(body - kp_wr_len(&w) - 4));
        int rc = tb_send_all(c, fr, body + 4);
        free(fr);
        if (extra_byte == 0) {
            ck_assert_int_eq(rc, 0);
            struct tb_frame resp;
            rc = tb_recv_frame(c, &resp, 1 << 20);
            ck_assert_msg(rc == 0, "a frame of exactly socket.request.max.bytes: %s",
                          strerror(-rc));
            ck_assert_int_eq(tb_frame_corr(&resp), 80);
            struct tb_produce_resp pr;
            ck_assert_int_eq(tb_dec_produce(&resp, 7, &pr), 0);
            ck_assert_msg(pr.error != 0, "zero-filled records accepted");
            tb_frame_free(&resp);
        } else {
            ck_assert_msg(tb_wait_closed(c, 10000) == 1, "a frame over the limit was not refused");
        }
        close(c);
    }
    free(buf);
}
END_TEST

START_TEST(transfer_resources_exhausted)
{
    /* One splice pipe per loop (or a 4 KiB copy buffer), and 8 connections that each asked
     * for ~4 MiB and do not read yet: a well-behaved client that asks now is still served
     * (the stalled readers must not starve it of the shared pipes), and later the 8 answers
     * all arrive whole and identical. */
    for (int p = 0; p < 2; p++) {
        static const char *const splice1[] = {"-o", "fetch.splice.pipes=1", NULL};
        static const char *const copy4k[] = {"-o", "fetch.transfer=copy", "-o",
                                             "fetch.copy.buffer.bytes=4096", NULL};
        if (p == 1) {
            int st = tb_broker_stop(&B, SIGTERM);
            ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
        }
        start(p == 0 ? splice1 : copy4k);
        int fd = tb_ck_connect(&B);
        if (p == 0) {
            tb_ck_create_topic(fd, "ex", 1);
            uint8_t *buf = malloc(70000);
            ck_assert_ptr_nonnull(buf);
            for (int i = 0; i < 64; i++) {
                long len = tb_batch_values(buf, 70000, "ex", i, 1, 64000, false, 1);
                struct tb_produce_resp pr;
                ck_assert_int_eq(tb_produce(fd, "ex", 0, buf, (size_t)len, &pr), 0);
                ck_assert_int_eq(pr.error, 0);
            }
            free(buf);
        }
        int c[8];
        for (int i = 0; i < 8; i++) {
            c[i] = tb_ck_connect(&B);
            struct tb_req r;
            ck_assert_int_eq(tb_req_begin(&r, 256, 1, 11, 600), 0);
            struct tb_fetch_args a = {0, 1, 64 << 20, "ex", 0, 0, 32 << 20};
            tb_enc_fetch(&r, 11, &a);
            ck_assert_int_eq(tb_req_send(c[i], &r), 0);
            tb_req_free(&r);
        }
        usleep(300 * 1000);
        {
            int g = tb_ck_connect(&B);
            struct tb_fetch_args a = {0, 1, 64 << 20, "ex", 0, 0, 32 << 20};
            struct tb_frame f;
            struct tb_fetch_resp fr;
            int rc = tb_fetch(g, &a, &f, &fr);
            ck_assert_msg(rc == 0,
                          "[%s] a client is starved while 8 others do not read their answers: %s",
                          p ? "copy" : "splice", strerror(-rc));
            ck_assert_int_eq(fr.error, 0);
            tb_frame_free(&f);
            close(g);
        }
        struct tb_frame first = {0};
        for (int i = 0; i < 8; i++) {
            struct tb_frame f;
            int rc = tb_recv_frame(c[i], &f, 64 << 20);
            ck_assert_msg(rc == 0, "[%s] connection %d: %s", p ? "copy" : "splice", i,
                          strerror(-rc));
            struct tb_fetch_resp fr;
            ck_assert_int_eq(tb_dec_fetch(&f, 11, &fr), 0);
            ck_assert_int_eq(fr.error, 0);
            struct tb_seq seq = {.prefix = "ex", .pad_to = 64000};
            size_t trailing;
            long n =
                tb_records_walk(fr.records, (size_t)fr.records_len, tb_seq_check, &seq, &trailing);
            ck_assert_msg(n > 0 && !seq.err[0] && trailing == 0, "connection %d: %ld %s", i, n,
                          seq.err);
            if (i == 0) {
                first = f;
            } else {
                ck_assert_msg(f.len == first.len && memcmp(f.data, first.data, f.len) == 0,
                              "connection %d got different bytes", i);
                tb_frame_free(&f);
            }
            close(c[i]);
        }
        tb_frame_free(&first);
        close(fd);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, bare_setup, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, pipelined_fetches_backpressure);
    tcase_add_test(tc, max_connections);
    tcase_add_test(tc, idle_connections_closed);
    tcase_add_test(tc, out_of_file_descriptors);
    tcase_add_test(tc, fetch_many_partitions_in_one_request);
    tcase_add_test(tc, large_requests_and_the_frame_limit);
    tcase_add_test(tc, transfer_resources_exhausted);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
