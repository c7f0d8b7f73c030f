/*
 * test_conn_limits — what one client (or one address) may hold in the broker, with a real
 * splicelogd (issue 11, items 3 and 4):
 * - at max.connections a new connection closes the longest-idle one (idle for at least
 *   max.connections.evict.idle.ms) instead of being refused, and is refused when every
 *   connection has been active more recently than that;
 * - max.connections.per.ip and max.connections.per.ip.overrides (by address and by host name),
 *   with clients on several loopback addresses;
 * - a request trickling in a byte at a time is cut off by request.receive.timeout.ms, while
 *   connections that are idle or busy are not;
 * - idle time counts from the last complete request: stray bytes do not keep a connection;
 * - queued.max.request.bytes: 24 connections each sending 80 MiB of a declared 100 MiB request
 *   leave the broker at the budget plus a fixed overhead (not 24 x 80 MiB), the connections
 *   held back get their turn when bytes are freed, and a request larger than the whole budget
 *   is refused with a log line;
 * - a frame buffer grown for a large request is kept for the next ones while the budget is
 *   not tight (a producer of large requests must not fault in a fresh buffer each time), and
 *   given back within a few seconds once unneeded, or at once when more than half the budget
 *   is taken (issue 21).
 * Clients use addresses in 127/8 other than 127.0.0.1 where the broker must tell them apart.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_http.h"
#include "../support/tb_kafka.h"

static struct tb_broker B;

static void bare_setup(void) { memset(&B, 0, sizeof B); }

static void teardown(void) { tb_ck_finish(&B); }

static void start(const char *const *extra) { tb_ck_start(&B, extra); }

static void sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }

static int conn_from(const char *src)
{
    int fd = tb_connect_from(src, B.port);
    ck_assert_msg(fd >= 0, "connect from %s: %s", src, strerror(-fd));
    return fd;
}

/* True when the broker has closed fd (EOF or reset seen), without waiting. */
static bool peer_closed(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0)
        return false;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* An ApiVersions request, sent one byte per call. */
struct trickle {
    int fd;
    uint8_t frame[64];
    size_t len, sent;
};

static void trickle_init(struct trickle *t, int fd, int32_t corr)
{
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, sizeof t->frame, 18, 2, corr), 0);
    tb_enc_api_versions(&r, 2);
    long len = tb_req_end(&r);
    ck_assert_int_gt(len, 8);
    memcpy(t->frame, r.buf, (size_t)len);
    tb_req_free(&r);
    t->fd = fd;
    t->len = (size_t)len;
    t->sent = 0;
}

/* Sends the next byte (never the last one: the request must not complete). */
static void trickle_step(struct trickle *t)
{
    if (t->sent + 1 < t->len &&
        send(t->fd, t->frame + t->sent, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
        t->sent++;
}

/* ---- max.connections: the longest-idle connection makes room ------------------------------ */

START_TEST(evicts_longest_idle_at_max_connections)
{
    /* One loop thread: the choice is among the connections of the accepting thread. */
    static const char *const extra[] = {"-o", "num.network.threads=1",
                                        "-o", "max.connections=3",
                                        "-o", "max.connections.evict.idle.ms=2000",
                                        NULL};
    start(extra);
    int a = conn_from("127.0.0.1"), b = conn_from("127.0.0.1"), c = conn_from("127.0.0.1");
    ck_assert_int_eq(tb_ping(a, 1), 0);
    ck_assert_int_eq(tb_ping(b, 2), 0);
    ck_assert_int_eq(tb_ping(c, 3), 0);
    sleep_ms(2300);
    /* b and c are active again; a has had no request for 2.3 s */
    ck_assert_int_eq(tb_ping(b, 4), 0);
    ck_assert_int_eq(tb_ping(c, 5), 0);
    int d = conn_from("127.0.0.1");
    ck_assert_msg(tb_ping(d, 6) == 0, "a 4th connection is locked out by an idle one");
    ck_assert_msg(tb_wait_closed(a, 5000) == 1, "the idle connection was not closed");
    ck_assert_msg(tb_log_contains(&B, "closing the longest-idle connection"), "not logged");
    /* Now the longest-idle connection was active less than 2 s ago: refused. */
    int e = conn_from("127.0.0.1");
    ck_assert_msg(tb_ping(e, 7) != 0, "a 5th connection was served by closing an active one");
    ck_assert_int_eq(tb_wait_closed(e, 5000), 1);
    ck_assert_msg(tb_log_wait(&B, "max.connections.evict.idle.ms=2000", 5000), "not logged");
    ck_assert_int_eq(tb_ping(b, 8), 0);
    ck_assert_int_eq(tb_ping(c, 9), 0);
    ck_assert_int_eq(tb_ping(d, 10), 0);
    close(a);
    close(b);
    close(c);
    close(d);
    close(e);
}
END_TEST

/* ---- max.connections.per.ip and its overrides --------------------------------------------- */

START_TEST(per_ip_bound_and_overrides)
{
    static const char *const extra[] = {"-o", "max.connections.per.ip=2", "-o",
                                        "max.connections.per.ip.overrides=127.0.0.3:4,localhost:3",
                                        NULL};
    start(extra);
    static const struct {
        const char *src;
        int bound;
    } who[] = {{"127.0.0.2", 2}, {"127.0.0.3", 4}, {"127.0.0.1", 3}};
    int fds[3][5];
    for (int w = 0; w < 3; w++) {
        for (int i = 0; i < who[w].bound; i++) {
            fds[w][i] = conn_from(who[w].src);
            ck_assert_msg(tb_ping(fds[w][i], 10 * w + i) == 0, "%s: connection %d not served",
                          who[w].src, i + 1);
        }
        int over = conn_from(who[w].src);
        ck_assert_msg(tb_ping(over, 99) != 0, "%s: connection %d served, bound %d", who[w].src,
                      who[w].bound + 1, who[w].bound);
        ck_assert_int_eq(tb_wait_closed(over, 5000), 1);
        close(over);
    }
    ck_assert(tb_log_wait(&B, "127.0.0.2", 1000));
    ck_assert_msg(tb_log_contains(&B, "has 2 connection(s) open (max.connections.per.ip)"),
                  "per-ip refusal not logged");
    ck_assert_msg(
        tb_log_contains(&B, "has 4 connection(s) open (max.connections.per.ip.overrides)"),
        "override refusal not logged");
    /* Every admitted one still works; a place freed is usable again. */
    for (int w = 0; w < 3; w++)
        for (int i = 0; i < who[w].bound; i++)
            ck_assert_int_eq(tb_ping(fds[w][i], 100 + 10 * w + i), 0);
    close(fds[0][0]);
    bool served = false;
    for (int i = 0; i < 50 && !served; i++) {
        int fd = conn_from("127.0.0.2");
        served = tb_ping(fd, 200 + i) == 0;
        close(fd);
        if (!served)
            sleep_ms(100);
    }
    ck_assert_msg(served, "127.0.0.2 not served again after one of its connections closed");
    for (int w = 0; w < 3; w++)
        for (int i = w == 0 ? 1 : 0; i < who[w].bound; i++)
            close(fds[w][i]);
}
END_TEST

/* ---- request.receive.timeout.ms ----------------------------------------------------------- */

START_TEST(slow_request_cut_off_by_deadline)
{
    static const char *const extra[] = {"-o", "request.receive.timeout.ms=1500", NULL};
    start(extra);
    int idle = conn_from("127.0.0.1"), busy = conn_from("127.0.0.1");
    ck_assert_int_eq(tb_ping(idle, 1), 0);
    struct trickle t;
    trickle_init(&t, conn_from("127.0.0.2"), 77);
    int64_t t0 = tb_now_ms();
    int64_t closed_at = 0;
    /* One byte every 250 ms (the request would take ~7 s); the busy one pings meanwhile. */
    for (int i = 0; i < 40 && !closed_at; i++) {
        trickle_step(&t);
        ck_assert_msg(tb_ping(busy, 10 + i) == 0, "a busy connection was closed");
        sleep_ms(250);
        if (peer_closed(t.fd))
            closed_at = tb_now_ms();
    }
    ck_assert_msg(closed_at, "a request trickling in for %lld ms was never cut off",
                  (long long)(tb_now_ms() - t0));
    ck_assert_msg(closed_at - t0 >= 1400 && closed_at - t0 <= 6000,
                  "cut off after %lld ms (deadline 1500 ms, checked every second)",
                  (long long)(closed_at - t0));
    ck_assert_msg(tb_log_contains(&B, "request not received whole within "
                                      "request.receive.timeout.ms=1500"),
                  "the cut-off is not logged");
    /* An idle connection (no partial request) is not affected; nor is the busy one. */
    ck_assert_msg(!peer_closed(idle) && tb_ping(idle, 2) == 0, "an idle connection was cut off");
    ck_assert_int_eq(tb_ping(busy, 99), 0);
    close(t.fd);
    close(idle);
    close(busy);
}
END_TEST

/* ---- connections.max.idle.ms counts from the last complete request ------------------------ */

START_TEST(idle_counts_from_last_complete_request)
{
    /* No request deadline: only the idle timer can end a trickle. */
    static const char *const extra[] = {"-o", "connections.max.idle.ms=2000", "-o",
                                        "request.receive.timeout.ms=0", NULL};
    start(extra);
    int busy = conn_from("127.0.0.1");
    struct trickle t;
    trickle_init(&t, conn_from("127.0.0.2"), 78);
    ck_assert_int_eq(tb_ping(t.fd, 1), 0); /* a complete request first */
    int64_t t0 = tb_now_ms();
    int64_t closed_at = 0;
    for (int i = 0; i < 40 && !closed_at; i++) {
        trickle_step(&t); /* a byte every 300 ms: never idle 2 s by bytes, never a request */
        ck_assert_msg(tb_ping(busy, 10 + i) == 0, "a busy connection was closed");
        sleep_ms(300);
        if (peer_closed(t.fd))
            closed_at = tb_now_ms();
    }
    ck_assert_msg(closed_at, "stray bytes kept a connection without requests open for %lld ms",
                  (long long)(tb_now_ms() - t0));
    ck_assert_msg(closed_at - t0 <= 6000, "closed only after %lld ms", (long long)(closed_at - t0));
    ck_assert(tb_log_contains(&B, "idle longer than connections.max.idle.ms"));
    ck_assert_int_eq(tb_ping(busy, 99), 0);
    close(t.fd);
    close(busy);
}
END_TEST

/* ---- queued.max.request.bytes ------------------------------------------------------------- */

enum {
    BIG_CONNS = 24,
    BIG_FRAME = 100 << 20, /* declared: socket.request.max.bytes, the default */
    BIG_SEND = 80 << 20,   /* sent of it, then the client stalls */
    CHUNK = 1 << 20,
};

struct big {
    int fd;
    size_t sent;
};

/*
 * Sends on every open connection until each has sent BIG_SEND or nothing moved for 1.5 s (the
 * broker holds them back), bounded at 60 s. Samples the broker's RSS; stops early once it is
 * past stop_kib. Returns the peak RSS in KiB.
 */
static long push(struct big *c, int n, const uint8_t *chunk, long stop_kib)
{
    long peak = tb_broker_rss_kib(&B);
    int64_t start = tb_now_ms(), last_move = start;
    for (;;) {
        struct pollfd p[BIG_CONNS];
        int np = 0, idx[BIG_CONNS];
        for (int i = 0; i < n; i++) {
            if (c[i].fd >= 0 && c[i].sent < BIG_SEND) {
                p[np] = (struct pollfd){c[i].fd, POLLOUT, 0};
                idx[np++] = i;
            }
        }
        if (np == 0)
            break;
        poll(p, (nfds_t)np, 100);
        for (int k = 0; k < np; k++) {
            if (!(p[k].revents & POLLOUT))
                continue;
            struct big *b = &c[idx[k]];
            size_t want = BIG_SEND - b->sent < CHUNK ? BIG_SEND - b->sent : CHUNK;
            /* the first chunk starts with the size prefix; the rest are zeros */
            const uint8_t *src = b->sent == 0 ? chunk : chunk + CHUNK;
            ssize_t w = send(b->fd, src, want, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                b->sent += (size_t)w;
                last_move = tb_now_ms();
            }
        }
        long rss = tb_broker_rss_kib(&B);
        if (rss > peak)
            peak = rss;
        if (peak > stop_kib || tb_now_ms() - last_move > 1500 || tb_now_ms() - start > 60000)
            break;
    }
    return peak;
}

static int count_done(const struct big *c, int n)
{
    int done = 0;
    for (int i = 0; i < n; i++)
        done += c[i].fd >= 0 && c[i].sent == BIG_SEND;
    return done;
}

START_TEST(request_bytes_bounded_by_budget)
{
    /* RSS is the measure: the release binary where there is one (ASan inflates RSS); Check runs
     * each test in its own process, so the setting ends with this test. */
    const char *rel = getenv("SPLICELOGD_REL");
    bool release = rel && *rel && access(rel, X_OK) == 0;
    if (release)
        setenv("SPLICELOGD", rel, 1);
    start(NULL); /* queued.max.request.bytes: its default, 256 MiB */
    long budget_kib = 256 << 10;
    long overhead_kib = release ? 64 << 10 : 384 << 10; /* ASan: quarantine, shadow */
    sleep_ms(200);
    long base = tb_broker_rss_kib(&B);
    ck_assert_int_gt(base, 0);
    long bound = base + budget_kib + overhead_kib;

    uint8_t *chunk = calloc(1, 2 * CHUNK); /* [size prefix + zeros][zeros] */
    ck_assert_ptr_nonnull(chunk);
    kp_store_be32(chunk, (uint32_t)BIG_FRAME);
    static struct big c[BIG_CONNS];
    for (int i = 0; i < BIG_CONNS; i++) {
        c[i].fd = conn_from("127.0.0.2");
        c[i].sent = 0;
        fcntl(c[i].fd, F_SETFL, fcntl(c[i].fd, F_GETFL) | O_NONBLOCK);
    }
    int other = conn_from("127.0.0.1");

    long peak = push(c, BIG_CONNS, chunk, bound);
    int done = count_done(c, BIG_CONNS);
    ck_assert_msg(peak <= bound,
                  "broker RSS reached %ld MiB (%ld MiB at start) with %d x %d MiB of requests "
                  "arriving: not bounded by queued.max.request.bytes (256 MiB)",
                  peak >> 10, base >> 10, BIG_CONNS, BIG_SEND >> 20);
    fprintf(stderr,
            "request bytes: %d x %d MiB of %d MiB requests: broker RSS %ld MiB at start, peak "
            "%ld MiB (bound %ld MiB, %s binary); %d connections sent their %d MiB\n",
            BIG_CONNS, BIG_SEND >> 20, BIG_FRAME >> 20, base >> 10, peak >> 10, bound >> 10,
            release ? "release" : "ASan", done, BIG_SEND >> 20);
    /* 256 MiB hold two 100 MiB requests: two got through, the others were held back */
    ck_assert_msg(done == 2, "%d connections sent their 80 MiB (expected 2)", done);
    ck_assert_msg(tb_ping(other, 1) == 0, "another client is not served meanwhile");

    /* The two stall with their budget; when they go, two of the others get their turn. */
    for (int i = 0; i < BIG_CONNS; i++) {
        if (c[i].sent == BIG_SEND) {
            close(c[i].fd);
            c[i].fd = -1;
        }
    }
    long peak2 = push(c, BIG_CONNS, chunk, bound);
    int done2 = count_done(c, BIG_CONNS);
    fprintf(stderr, "request bytes: second round: peak %ld MiB; %d more sent their %d MiB\n",
            peak2 >> 10, done2, BIG_SEND >> 20);
    ck_assert_msg(peak2 <= bound, "RSS reached %ld MiB in the second round", peak2 >> 10);
    ck_assert_msg(done2 == 2, "%d held-back connections went on once bytes were freed (expected 2)",
                  done2);
    for (int i = 0; i < BIG_CONNS; i++)
        if (c[i].fd >= 0)
            close(c[i].fd);
    free(chunk);

    /* All given back: a large request still goes through. */
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(other, "qb", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    size_t cap = 900 << 10;
    uint8_t *buf = malloc(cap + 4096);
    ck_assert_ptr_nonnull(buf);
    long len = tb_batch_values(buf, cap + 4096, "qb", 0, 1, cap, false, 1);
    ck_assert_int_gt(len, 0);
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_produce(other, "qb", 0, buf, (size_t)len, &pr), 0);
    ck_assert_int_eq(pr.error, 0);
    free(buf);
    close(other);
}
END_TEST

START_TEST(request_larger_than_budget_refused)
{
    static const char *const extra[] = {"-o", "queued.max.request.bytes=1048576", NULL};
    start(extra);
    ck_assert_msg(tb_log_wait(&B, "queued.max.request.bytes=1048576 is below", 5000),
                  "a budget below socket.request.max.bytes is not pointed out at start-up");
    int fd = conn_from("127.0.0.1");
    uint8_t hdr[4096] = {0};
    kp_store_be32(hdr, 2 << 20); /* declares 2 MiB: more than the whole budget */
    ck_assert_int_eq(tb_send_all(fd, hdr, sizeof hdr), 0);
    ck_assert_msg(tb_wait_closed(fd, 5000) == 1, "a request larger than the budget was kept");
    close(fd);
    ck_assert_msg(tb_log_wait(&B,
                              "request frame of 2097152 bytes is larger than "
                              "queued.max.request.bytes=1048576",
                              5000),
                  "the refusal is not logged");
    /* One that fits is served (900 KiB of records: within 16 KiB + the budget). */
    fd = conn_from("127.0.0.1");
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(fd, "qs", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    size_t cap = 900 << 10;
    uint8_t *buf = malloc(cap + 4096);
    ck_assert_ptr_nonnull(buf);
    long len = tb_batch_values(buf, cap + 4096, "qs", 0, 1, cap, false, 1);
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_produce(fd, "qs", 0, buf, (size_t)len, &pr), 0);
    ck_assert_int_eq(pr.error, 0);
    free(buf);
    close(fd);
}
END_TEST

/* ---- a grown frame buffer: kept while it pays, given back after -------------------------- */

static int metrics_port(void)
{
    ck_assert(tb_log_wait(&B, "metrics listener on http://127.0.0.1:", 20000));
    int port = tb_broker_metrics_port(&B);
    ck_assert_int_gt(port, 0);
    return port;
}

/* splicelog_request_memory_bytes: the budget's bytes taken now. */
static double request_memory(int port)
{
    struct tb_http_resp r;
    ck_assert_int_eq(tb_http(port, "GET", "/metrics", NULL, 16 << 20, &r), 0);
    ck_assert_int_eq(r.status, 200);
    double v = tb_metric(r.body, "splicelog_request_memory_bytes");
    tb_http_resp_free(&r);
    ck_assert(v >= 0);
    return v;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A 900 KiB produce on fd (topic qk, created before). */
static void produce_900k(int fd, const char *topic)
{
    size_t cap = 900 << 10;
    uint8_t *buf = malloc(cap + 4096);
    ck_assert_ptr_nonnull(buf);
    long len = tb_batch_values(buf, cap + 4096, topic, 0, 1, cap, false, 1);
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_produce(fd, topic, 0, buf, (size_t)len, &pr), 0);
    ck_assert_int_eq(pr.error, 0);
    free(buf);
}

START_TEST(grown_buffer_kept_then_given_back)
{
    static const char *const extra[] = {"-o", "metrics.listener=http://127.0.0.1:0", NULL};
    start(extra); /* queued.max.request.bytes: its default, 256 MiB */
    int mport = metrics_port();
    int fd = conn_from("127.0.0.1");
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(fd, "qk", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    produce_900k(fd, "qk");
    double t = mono_s();
    double kept = request_memory(mport);
    /* kept for a second after its frame (only checked when the scrape came soon enough) */
    if (mono_s() - t < 0.8)
        ck_assert_msg(kept >= 800 << 10,
                      "the buffer of a 900 KiB request was given back at once (%.0f bytes held)",
                      kept);
    /* and given back within a few seconds while the connection stays open and quiet */
    double held = kept;
    for (int i = 0; i < 100 && held > 0; i++) {
        usleep(100 * 1000);
        held = request_memory(mport);
    }
    ck_assert_msg(held == 0, "%.0f request bytes still held 10 s after the last request", held);
    produce_900k(fd, "qk"); /* the connection is still served */
    close(fd);
}
END_TEST

START_TEST(grown_buffer_given_back_at_once_when_budget_tight)
{
    static const char *const extra[] = {"-o", "metrics.listener=http://127.0.0.1:0", "-o",
                                        "queued.max.request.bytes=1048576", NULL};
    start(extra);
    int mport = metrics_port();
    int fd = conn_from("127.0.0.1");
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(fd, "qt", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    produce_900k(fd, "qt"); /* ~900 KiB of a 1 MiB budget: more than half */
    double held = request_memory(mport);
    ck_assert_msg(held == 0, "%.0f request bytes kept with more than half the budget taken", held);
    close(fd);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("conn_limits");
    TCase *tc = tcase_create("conn_limits");
    tcase_add_checked_fixture(tc, bare_setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, evicts_longest_idle_at_max_connections);
    tcase_add_test(tc, per_ip_bound_and_overrides);
    tcase_add_test(tc, slow_request_cut_off_by_deadline);
    tcase_add_test(tc, idle_counts_from_last_complete_request);
    tcase_add_test(tc, request_bytes_bounded_by_budget);
    tcase_add_test(tc, request_larger_than_budget_refused);
    tcase_add_test(tc, grown_buffer_kept_then_given_back);
    tcase_add_test(tc, grown_buffer_given_back_at_once_when_budget_tight);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
