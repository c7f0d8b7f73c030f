/*
 * test_place — placement of new connections on loop threads (connection.placement, issue 22),
 * with a real splicelogd on two loops:
 * - placement=load: once a connection pipelining large produce requests is heavy (its byte
 *   share of a turn runs out: splicelog_loop_heavy_connections), light connections that
 *   connect afterwards all end on the other loop (the heavy loop's splicelog_loop_connections
 *   does not grow, the other's grows by as many), and every request of every connection is
 *   answered, the greedy one's in order. Counted from the broker's gauges, never from time;
 * - placement=hash: the kernel places them (nothing asserted about where), nothing is handed
 *   over (splicelog_connection_handoffs_total stays 0), and everything is answered the same;
 * - placement=load, light connections first (spread over both loops), then a producer turns
 *   greedy on one of their loops: within a bounded number of polls, while they keep producing
 *   (half of them long-polling too), every light connection is on the other loop
 *   (splicelog_connection_moves_total counts the moves), and every record each produced is
 *   answered at its offset and reads back in order with its value;
 * - the same with SASL_PLAINTEXT connections logged in first (their sessions move with them);
 * - light acks=0 producers whose long polls are answered as their loop turns heavy send their
 *   last records and close at once, while they move: every record of every one reads back;
 * - moved idle connections are evicted (max.connections) before the light loop's recent ones:
 *   the list keeps its idle order (timing only sets the stage: a run where it cannot is said
 *   to be inconclusive, not failed);
 * - SASL connections in the middle of a login stay (0 moves) and log in afterwards;
 * - a connection muted by its quota (KIP-219) that moves keeps its mute: asked again after the
 *   move, it is answered no earlier than its mute's end (on either loop), measured against
 *   the throttle_time_ms the broker gave it;
 * - three loops: the light connections of the loop that turns heavy spread over both others;
 * - TLS connections (SSL listener) never move: the same, over TLS, counts 0 moves and every
 *   request answered.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_http.h"
#include "../support/tb_kafka.h"
#include "../support/tb_sasl.h"
#include "../support/tb_sec.h"
#include "../support/tb_tls.h"
#include "kp_buf.h"
#include "kp_msg_sec.h"

enum {
    LIGHT = 8,         /* light connections: by chance all on one loop 1 in 2^7 */
    LIGHT_PLACED = 24, /* placed at accept (8 were all accepted by the light loop in 1 run of 4) */
    GREEDY_VALUE = 60000, /* one produce request is about a byte share (turn.max.bytes) */
    GREEDY_MAX = 200000,  /* requests at most (the test stops it long before) */
    POLLS = 400,          /* metrics polls waiting for the heavy connection, 25 ms apart */
};

static struct tb_broker B;

static void setup(void) { memset(&B, 0, sizeof B); }

static void teardown(void) { tb_ck_finish(&B); }

struct greedy {
    int fd;
    const uint8_t *frame;
    size_t len;
    atomic_int sent, answered;
    atomic_bool stop;
    int err, bad; /* writer's error; answers out of order or with an error */
};

static void *greedy_write(void *arg)
{
    struct greedy *g = arg;
    for (int i = 0; i < GREEDY_MAX && !atomic_load(&g->stop); i++) {
        int rc = tb_send_all(g->fd, g->frame, g->len);
        if (rc) {
            g->err = rc;
            break;
        }
        atomic_fetch_add(&g->sent, 1);
    }
    atomic_store(&g->stop, true);
    return NULL;
}

/* Reads the greedy connection's answers as they come (so that its response queue never stops
 * the broker reading it), until every request sent is answered and the writer is done. */
static void *greedy_read(void *arg)
{
    struct greedy *g = arg;
    for (;;) {
        int a = atomic_load(&g->answered);
        if (atomic_load(&g->stop) && a == atomic_load(&g->sent))
            break;
        if (a == atomic_load(&g->sent)) {
            usleep(1000);
            continue;
        }
        struct tb_frame f;
        int rc = tb_recv_frame(g->fd, &f, 1 << 20);
        if (rc) {
            g->bad++;
            break;
        }
        struct tb_produce_resp pr;
        if (tb_frame_corr(&f) != 77 || tb_dec_produce(&f, 7, &pr) != 0 || pr.error != 0 ||
            pr.base_offset != a) /* one record per batch: offsets say the order */
            g->bad++;
        tb_frame_free(&f);
        atomic_fetch_add(&g->answered, 1);
    }
    return NULL;
}

enum { MAX_LOOPS = 3 };

static int g_loops = 2; /* num.network.threads of the broker under test */

struct loads {
    double conns[MAX_LOOPS], heavy[MAX_LOOPS], handoffs, moves;
};

static double moves_total(int mport)
{
    return tb_metric_at(mport, "splicelog_connection_moves_total");
}

static void scrape(int mport, struct loads *l)
{
    struct tb_http_resp m;
    ck_assert_int_eq(tb_http(mport, "GET", "/metrics", NULL, 16 << 20, &m), 0);
    ck_assert_int_eq(m.status, 200);
    for (int i = 0; i < g_loops; i++) {
        char s[96];
        snprintf(s, sizeof s, "splicelog_loop_connections{loop=\"%d\"}", i);
        l->conns[i] = tb_metric(m.body, s);
        snprintf(s, sizeof s, "splicelog_loop_heavy_connections{loop=\"%d\"}", i);
        l->heavy[i] = tb_metric(m.body, s);
        ck_assert_msg(l->conns[i] >= 0 && l->heavy[i] >= 0, "no per-loop gauges for loop %d", i);
    }
    l->handoffs = tb_metric(m.body, "splicelog_connection_handoffs_total");
    l->moves = tb_metric(m.body, "splicelog_connection_moves_total");
    tb_http_resp_free(&m);
}

/* Starts B with extra (which must name a metrics listener); its metrics port. */
static int start_extra(const char *const *extra)
{
    tb_ck_start(&B, extra);
    ck_assert_msg(tb_log_wait(&B, "metrics listener on http://127.0.0.1:", 20000),
                  "no metrics listener");
    int mport = tb_broker_metrics_port(&B);
    ck_assert_int_gt(mport, 0);
    return mport;
}

static int start_loops(const char *placement, int loops)
{
    char pl[64], nt[64];
    snprintf(pl, sizeof pl, "connection.placement=%s", placement);
    snprintf(nt, sizeof nt, "num.network.threads=%d", loops);
    g_loops = loops;
    const char *const extra[] = {"-o", nt,
                                 "-o", "metrics.listener=http://127.0.0.1:0",
                                 "-o", "connection.turn.max.bytes=65536",
                                 "-o", pl,
                                 NULL};
    return start_extra(extra);
}

static int start(const char *placement) { return start_loops(placement, 2); }

struct greedy_run {
    struct greedy g;
    struct tb_req req;
    uint8_t *batch;
    pthread_t tw, tr;
};

/* Connects the greedy producer (topic "heavy" must exist) and starts it. */
static void greedy_start(struct greedy_run *r)
{
    memset(r, 0, sizeof *r);
    int gfd = tb_ck_connect(&B);
    r->batch = malloc(GREEDY_VALUE + 1024);
    ck_assert_ptr_nonnull(r->batch);
    long blen = tb_batch_values(r->batch, GREEDY_VALUE + 1024, "hv", 0, 1, GREEDY_VALUE, false, 1);
    ck_assert_int_gt(blen, 0);
    ck_assert_int_eq(tb_req_begin(&r->req, GREEDY_VALUE + 2048, 0, 7, 77), 0);
    tb_enc_produce(&r->req, 7, 1, 10000, "heavy", 0, r->batch, (size_t)blen);
    long flen = tb_req_end(&r->req);
    ck_assert_int_gt(flen, 0);
    r->g.fd = gfd;
    r->g.frame = r->req.buf;
    r->g.len = (size_t)flen;
    ck_assert_int_eq(pthread_create(&r->tw, NULL, greedy_write, &r->g), 0);
    ck_assert_int_eq(pthread_create(&r->tr, NULL, greedy_read, &r->g), 0);
}

/* Stops it; every request it sent was answered, in order. False when it had finished by
 * itself before (nothing was measured while it ran). */
static bool greedy_stop(struct greedy_run *r)
{
    bool still = !atomic_load(&r->g.stop);
    atomic_store(&r->g.stop, true);
    pthread_join(r->tw, NULL);
    pthread_join(r->tr, NULL);
    ck_assert_msg(r->g.err == 0, "greedy writer: %s", strerror(-r->g.err));
    ck_assert_msg(r->g.bad == 0, "%d greedy answers were missing, out of order or failed",
                  r->g.bad);
    ck_assert_int_eq(atomic_load(&r->g.answered), atomic_load(&r->g.sent));
    tb_req_free(&r->req);
    free(r->batch);
    close(r->g.fd);
    return still;
}

/* The loop with a heavy connection (-1: none within POLLS). */
static int wait_heavy(int mport, struct loads *l, const struct greedy *g)
{
    for (int i = 0; i < POLLS && !atomic_load(&g->stop); i++) {
        scrape(mport, l);
        for (int k = 0; k < g_loops; k++)
            if (l->heavy[k] >= 1)
                return k;
        usleep(25000);
    }
    return -1;
}

/* A greedy connection, heavy on one loop, then nlight light ones. Returns the heavy loop (-1:
 * none became heavy) and the loads before and after the light ones came. */
static int run(const char *placement, int nlight, struct loads *before, struct loads *after)
{
    int mport = start(placement);
    int afd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(afd, "heavy", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(tb_create_topic(afd, "light", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    close(afd);

    struct greedy_run gr;
    greedy_start(&gr);
    int hl = wait_heavy(mport, before, &gr.g);
    int fds[LIGHT_PLACED];
    ck_assert_int_le(nlight, LIGHT_PLACED);
    uint8_t small[512];
    long slen = tb_batch_values(small, sizeof small, "lt", 0, 1, 0, false, 1);
    ck_assert_int_gt(slen, 0);
    for (int i = 0; i < nlight; i++) {
        fds[i] = tb_ck_connect(&B);
        ck_assert_int_eq(tb_ping(fds[i], 500 + i), 0);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_produce(fds[i], "light", 0, small, (size_t)slen, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
        ck_assert_int_eq(pr.base_offset, i);
    }
    scrape(mport, after);
    if (getenv("TEST_PLACE_VERBOSE"))
        fprintf(stderr,
                "%s: heavy loop %d; before conns %.0f/%.0f heavy %.0f/%.0f; after conns "
                "%.0f/%.0f heavy %.0f/%.0f handoffs %.0f; greedy sent %d\n",
                placement, hl, before->conns[0], before->conns[1], before->heavy[0],
                before->heavy[1], after->conns[0], after->conns[1], after->heavy[0],
                after->heavy[1], after->handoffs, atomic_load(&gr.g.sent));
    ck_assert_msg(greedy_stop(&gr), "the greedy connection was done before the light ones came");
    for (int i = 0; i < nlight; i++) {
        ck_assert_int_eq(tb_ping(fds[i], 900 + i), 0); /* still served after the greedy left */
        close(fds[i]);
    }
    return hl;
}

START_TEST(light_connections_go_to_the_loop_without_the_heavy_one)
{
    struct loads b, a;
    int hl = run("load", LIGHT_PLACED, &b, &a);
    ck_assert_msg(hl >= 0, "the greedy connection never became heavy on either loop");
    int ol = 1 - hl;
    ck_assert_msg(a.heavy[hl] >= 1, "the greedy connection stopped being heavy meanwhile");
    ck_assert_msg(a.conns[hl] == b.conns[hl] && a.conns[ol] == b.conns[ol] + LIGHT_PLACED,
                  "light connections on the heavy loop %d: it had %.0f connections before, %.0f "
                  "after; the other loop %.0f before, %.0f after (%d light ones came)",
                  hl, b.conns[hl], a.conns[hl], b.conns[ol], a.conns[ol], LIGHT_PLACED);
    /* placed at accept (handed over), not moved afterwards */
    ck_assert_msg(a.handoffs > 0, "no handoff counted (%.0f)", a.handoffs);
    ck_assert_msg(a.moves == 0, "%.0f connections moved", a.moves);
}
END_TEST

START_TEST(hash_placement_still_serves_everyone)
{
    struct loads b, a;
    int hl = run("hash", LIGHT, &b, &a);
    ck_assert_msg(hl >= 0, "the greedy connection never became heavy on either loop");
    ck_assert_msg(a.handoffs == 0, "%.0f connections handed over with placement=hash", a.handoffs);
    ck_assert_int_eq((int)(a.conns[0] + a.conns[1]), (int)(b.conns[0] + b.conns[1]) + LIGHT);
}
END_TEST

/* Light connection i produces record k (value "l<i>-<k>") to partition i of "mv": answered
 * at offset k. */
static void light_produce(int fd, int i, int k)
{
    char prefix[16];
    snprintf(prefix, sizeof prefix, "l%d", i);
    uint8_t b[512];
    long blen = tb_batch_values(b, sizeof b, prefix, k, 1, 0, false, 1);
    ck_assert_int_gt(blen, 0);
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_produce(fd, "mv", i, b, (size_t)blen, &pr), 0);
    ck_assert_int_eq(pr.error, 0);
    ck_assert_msg(pr.base_offset == k, "light %d: record %d appended at offset %lld", i, k,
                  (long long)pr.base_offset);
}

/* A long poll past the end of partition i (parked on the broker until max_wait): answered,
 * empty, on whichever loop the connection is on by then. */
static void light_poll(int fd, int i, int end)
{
    struct tb_fetch_args fa = {.max_wait_ms = 20,
                               .min_bytes = 1,
                               .max_bytes = 1 << 20,
                               .topic = "mv",
                               .partition = i,
                               .offset = end,
                               .partition_max_bytes = 1 << 20};
    struct tb_frame f;
    struct tb_fetch_resp fr;
    ck_assert_int_eq(tb_fetch(fd, &fa, &f, &fr), 0);
    ck_assert_int_eq(fr.error, 0);
    ck_assert_int_eq(fr.high_watermark, end);
    tb_frame_free(&f);
}

/* A light connection: plaintext, or (sasl_port > 0) SASL_PLAINTEXT logged in as alice. */
static int light_open(int sasl_port)
{
    if (sasl_port <= 0)
        return tb_ck_connect(&B);
    int fd = tb_connect(sasl_port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_sasl_login(fd, "PLAIN", "alice", "alice-pw"), 0);
    return fd;
}

/* Light connections first, then a producer turns greedy on one of their loops: they all end
 * on the other loop, and every request of theirs is answered in order with its data. */
static void move_case(int mport, int sasl_port)
{
    int afd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(afd, "heavy", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(tb_create_topic(afd, "mv", LIGHT, &err), 0);
    ck_assert_int_eq(err, 0);
    close(afd);

    /* light connections first: placement spreads them over both loops */
    int fds[LIGHT], k = 0;
    for (int i = 0; i < LIGHT; i++) {
        fds[i] = light_open(sasl_port);
        ck_assert_int_eq(tb_ping(fds[i], 100 + i), 0);
    }
    for (int i = 0; i < LIGHT; i++)
        light_produce(fds[i], i, k);
    k++;
    struct loads b, a;
    scrape(mport, &b);
    ck_assert_msg(b.conns[0] >= 1 && b.conns[1] >= 1,
                  "the light connections are not on both loops (%.0f/%.0f): nothing to move",
                  b.conns[0], b.conns[1]);

    /* then a producer turns greedy on one of the loops */
    struct greedy_run gr;
    greedy_start(&gr);
    int hl = wait_heavy(mport, &a, &gr.g);
    ck_assert_msg(hl >= 0, "the greedy connection never became heavy on either loop");
    /* the light ones keep making requests; within a bounded number of polls they all are on
     * the other loop (the heavy loop keeps only the greedy connection) */
    bool moved = false;
    for (int poll = 0; poll < 200 && !moved; poll++) {
        for (int i = 0; i < LIGHT; i++) {
            light_produce(fds[i], i, k);
            if (i % 2)
                light_poll(fds[i], i, k + 1); /* half of them also long-poll */
        }
        k++;
        scrape(mport, &a);
        moved = a.heavy[hl] >= 1 && a.conns[hl] == 1 && a.conns[1 - hl] == LIGHT;
        if (!moved)
            usleep(50000);
    }
    double moves = moves_total(mport);
    ck_assert_msg(moved,
                  "light connections still on the heavy loop %d: %.0f connections there, %.0f on "
                  "the other (%d light ones, %.0f moves)",
                  hl, a.conns[hl], a.conns[1 - hl], LIGHT, moves);
    ck_assert_msg(moves >= 1, "no move counted");
    for (int i = 0; i < LIGHT; i++)
        light_produce(fds[i], i, k); /* served on their new loop */
    k++;
    ck_assert_msg(greedy_stop(&gr), "the greedy connection was done before the moves");

    /* every record of every light connection reads back, in order, with its value */
    for (int i = 0; i < LIGHT; i++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "l%d", i);
        struct tb_seq seq = {.prefix = prefix};
        int rc = tb_consume_seq(fds[i], "mv", i, k, &seq, 100);
        ck_assert_msg(rc == 0, "light %d: reading back %d records: %d %s", i, k, rc, seq.err);
        ck_assert_int_eq(seq.seen, k);
        close(fds[i]);
    }
}

/* A two-loop broker with a SASL_PLAINTEXT listener beside the plaintext one (user alice): the
 * SASL port; the metrics port in *mport. */
static int start_sasl(int *mport)
{
    static const char *const base[] = {
        "-o", "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0", NULL};
    static const char *const more[] = {
        "-o", "num.network.threads=2",           "-o", "metrics.listener=http://127.0.0.1:0",
        "-o", "connection.turn.max.bytes=65536", NULL};
    static const char *const users[] = {"alice", "alice-pw", NULL};
    memset(&B, 0, sizeof B);
    int sport = tb_sec_start(&B, base, more, users);
    ck_assert_int_gt(sport, 0);
    *mport = tb_broker_metrics_port(&B);
    ck_assert_int_gt(*mport, 0);
    return sport;
}

START_TEST(light_connections_move_off_a_loop_that_turns_heavy) { move_case(start("load"), 0); }
END_TEST

/* The same with authenticated SASL connections: their sessions (principal, quota state) move
 * with them. */
START_TEST(authenticated_sasl_connections_move_too)
{
    int mport, sport = start_sasl(&mport);
    move_case(mport, sport);
}
END_TEST

/* Three loops: the light connections of the loop that turns heavy spread over both other
 * loops (round robin, br_place.c), not all to one. */
START_TEST(light_connections_of_a_heavy_loop_spread_over_the_other_loops)
{
    int mport = start_loops("load", 3);
    int afd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(afd, "heavy", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(tb_create_topic(afd, "mv", LIGHT, &err), 0);
    ck_assert_int_eq(err, 0);
    close(afd);
    int fds[LIGHT], k = 0;
    for (int i = 0; i < LIGHT; i++) {
        fds[i] = tb_ck_connect(&B);
        ck_assert_int_eq(tb_ping(fds[i], 100 + i), 0);
    }
    struct greedy_run gr;
    greedy_start(&gr);
    struct loads b, a;
    int hl = wait_heavy(mport, &b, &gr.g);
    ck_assert_msg(hl >= 0, "the greedy connection never became heavy on any loop");
    ck_assert_msg(b.conns[hl] >= 3, "%.0f light connections on the heavy loop: nothing to spread",
                  b.conns[hl] - 1);
    bool moved = false;
    for (int poll = 0; poll < 200 && !moved; poll++) {
        for (int i = 0; i < LIGHT; i++)
            light_produce(fds[i], i, k);
        k++;
        scrape(mport, &a);
        moved = a.heavy[hl] >= 1 && a.conns[hl] == 1;
        if (!moved)
            usleep(50000);
    }
    ck_assert_msg(moved, "light connections still on the heavy loop %d (%.0f there)", hl,
                  a.conns[hl]);
    ck_assert_msg(greedy_stop(&gr), "the greedy connection was done before the moves");
    for (int l = 0; l < 3; l++)
        ck_assert_msg(
            l == hl || a.conns[l] > b.conns[l],
            "loop %d took none of the %.0f moved connections (loads before %.0f/%.0f/%.0f, "
            "after %.0f/%.0f/%.0f)",
            l, b.conns[hl] - 1, b.conns[0], b.conns[1], b.conns[2], a.conns[0], a.conns[1],
            a.conns[2]);
    for (int i = 0; i < LIGHT; i++)
        close(fds[i]);
}
END_TEST

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Moved connections keep their new loop's list in idle order (evict_idle closes its head):
 * two idle ones of each loop, the greedy one, two recent ones on the light loop joined before
 * the heavy loop's idle ones move there; at max.connections, four new connections (all placed
 * on the light loop) each evict one of the four idle ones, never a recent one. */
START_TEST(moved_connections_keep_the_idle_order_for_eviction)
{
    enum { IDLE = 4, RECENT = 2, EVICT_MS = 4000 };
    const char *const extra[] = {"-o", "num.network.threads=2",
                                 "-o", "metrics.listener=http://127.0.0.1:0",
                                 "-o", "connection.turn.max.bytes=65536",
                                 "-o", "max.connections=7", /* IDLE + RECENT + the greedy one */
                                 "-o", "max.connections.evict.idle.ms=4000",
                                 NULL};
    int mport = start_extra(extra);
    int afd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(afd, "heavy", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    close(afd);
    int idle[IDLE], recent[RECENT];
    for (int i = 0; i < IDLE; i++) {
        idle[i] = tb_ck_connect(&B);
        ck_assert_int_eq(tb_ping(idle[i], 100 + i), 0); /* their last activity */
    }
    struct loads b, a;
    scrape(mport, &b);
    ck_assert_msg(b.conns[0] == 2 && b.conns[1] == 2, "idle ones not 2/2: %.0f/%.0f", b.conns[0],
                  b.conns[1]);
    int64_t t_idle = now_ms();
    usleep(2500 * 1000); /* the recent ones are active 2.5 s after the idle ones at least */
    struct greedy_run gr;
    greedy_start(&gr);
    int hl = wait_heavy(mport, &b, &gr.g);
    ck_assert_msg(hl >= 0, "the greedy connection never became heavy on either loop");
    for (int i = 0; i < RECENT; i++) {
        recent[i] = tb_ck_connect(&B); /* placed on the light loop */
        ck_assert_int_eq(tb_ping(recent[i], 200 + i), 0);
    }
    int64_t t_recent = now_ms();
    scrape(mport, &a);
    bool raced = a.moves > 0; /* the heavy loop's check ran before they joined: no order to see */
    for (int poll = 0; poll < 200 && a.moves < 2; poll++) {
        usleep(25000);
        scrape(mport, &a);
    }
    ck_assert_msg(a.moves == 2 && a.conns[hl] == 1, "the idle ones did not move (%.0f moves)",
                  a.moves);
    /* the idle ones past the eviction age, the recent ones not (else nothing to see) */
    int64_t wait = t_idle + EVICT_MS + 400 - now_ms();
    if (wait > 0)
        usleep((useconds_t)wait * 1000);
    if (now_ms() - t_recent > EVICT_MS - 300)
        raced = true;
    int fresh[IDLE], served = 0;
    for (int i = 0; i < IDLE; i++) {
        fresh[i] = tb_ck_connect(&B);
        if (tb_ping(fresh[i], 300 + i) == 0)
            served++;
    }
    ck_assert_msg(greedy_stop(&gr), "the greedy connection was done too soon");
    if (getenv("TEST_PLACE_VERBOSE"))
        fprintf(stderr, "eviction order: %d of %d served%s\n", served, IDLE,
                raced ? " (inconclusive: timing)" : "");
    if (!raced)
        ck_assert_msg(served == IDLE,
                      "%d of %d new connections served: the moved idle ones were not evicted",
                      served, IDLE);
    for (int i = 0; i < IDLE; i++) {
        close(idle[i]);
        close(fresh[i]);
    }
    for (int i = 0; i < RECENT; i++)
        close(recent[i]);
}
END_TEST

/* ---- a quota's mute goes with a moved connection (KIP-219) ----------------------------- */

enum {
    MUTED = 4,           /* connections of the client with the quota, over both loops */
    MUTE_S = 8,          /* quota.window.size.seconds: request_percentage's throttle is capped at
                            one window: a throttled answer says MUTE_S * 1000 ms */
    MUTE_NAMES = 24,     /* unknown topics one Metadata request names, echoed in its answer ... */
    MUTE_NAME_LEN = 200, /* ... each this long: the answer is more than socket.output.max.bytes */
    MUTE_OUT_MAX = 4096, /* socket.output.max.bytes (its least) */
    MUTE_SLACK_MS = 50   /* the broker's clock and ours are both CLOCK_MONOTONIC: rounding only */
};

/* One Metadata v4 request as client "muted", naming MUTE_NAMES unknown topics: its answer's
 * throttle_time_ms (the first field of the body), and the answer's length in *len. */
static int32_t muted_metadata(int fd, int32_t corr, size_t *len)
{
    static char names[MUTE_NAMES][MUTE_NAME_LEN + 1];
    const char *tp[MUTE_NAMES];
    for (int i = 0; i < MUTE_NAMES; i++) {
        int n = snprintf(names[i], sizeof names[i], "no-such-topic-%d-", i);
        memset(names[i] + n, 'x', (size_t)(MUTE_NAME_LEN - n));
        names[i][MUTE_NAME_LEN] = 0;
        tp[i] = names[i];
    }
    struct tb_req r;
    ck_assert_int_eq(
        tb_req_begin_id(&r, MUTE_NAMES * (MUTE_NAME_LEN + 2) + 128, 3, 4, corr, kp_str_of("muted")),
        0);
    tb_enc_metadata(&r, 4, tp, MUTE_NAMES, false);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(fd, &r, corr, &f), 0);
    tb_req_free(&r);
    ck_assert_uint_ge(f.len, 8);
    int32_t throttle = (int32_t)kp_load_be32(f.data + 4); /* after the correlation id */
    *len = f.len;
    tb_frame_free(&f);
    return throttle;
}

/* A connection muted by its quota (KIP-219: not read until its throttle time has passed) that
 * moves meanwhile is still not read before the mute ends on its new loop (br_conn_move.c:
 * move_in keeps hold_until_ns). The client "muted" has a request_percentage quota so small
 * that its first request is throttled for a whole window (MUTE_S); its answer is larger than
 * socket.output.max.bytes, so the connection pauses (backpressure) with the mute set and,
 * once the answer is sent, waits for its next request with nothing queued: quiescent, as it
 * must be to move. Then a producer turns greedy on one of the loops, its muted connections
 * move (counted), and each muted connection asks again: no answer comes before its mute ends
 * (measured from before the throttled request was sent, so a slow machine only makes the
 * answer later). A move that comes only after the mutes ended shows nothing: the run is said
 * to be inconclusive, not failed. */
START_TEST(a_moved_connection_keeps_its_quota_mute)
{
    char win[64], out[64];
    snprintf(win, sizeof win, "quota.window.size.seconds=%d", MUTE_S);
    snprintf(out, sizeof out, "socket.output.max.bytes=%d", MUTE_OUT_MAX);
    const char *const extra[] = {"-o", "num.network.threads=2",
                                 "-o", "metrics.listener=http://127.0.0.1:0",
                                 "-o", "connection.turn.max.bytes=65536",
                                 "-o", out,
                                 "-o", "quota.window.num=2",
                                 "-o", win,
                                 NULL};
    int mport = start_extra(extra);
    int afd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(afd, "heavy", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(tb_alter_client_quota(afd, "muted", "request_percentage", 1e-6), 0);
    close(afd);

    int fds[MUTED];
    for (int i = 0; i < MUTED; i++) {
        fds[i] = tb_ck_connect(&B);
        ck_assert_int_eq(tb_ping(fds[i], 100 + i), 0);
        struct timeval tv = {.tv_sec = 3 * MUTE_S}; /* a muted answer takes up to MUTE_S */
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    struct loads b, a;
    scrape(mport, &b);
    ck_assert_msg(b.conns[0] >= 1 && b.conns[1] >= 1,
                  "the muted connections are not on both loops (%.0f/%.0f)", b.conns[0],
                  b.conns[1]);
    int64_t mute_end[MUTED], first_end = INT64_MAX;
    for (int i = 0; i < MUTED; i++) {
        int64_t t0 = now_ms();
        size_t len;
        int32_t throttle = muted_metadata(fds[i], 200 + i, &len);
        ck_assert_msg(len > MUTE_OUT_MAX + 512,
                      "the Metadata answer (%zu bytes) does not exceed "
                      "socket.output.max.bytes: the connection would not pause",
                      len);
        ck_assert_msg(throttle >= MUTE_S * 1000 / 2, "muted connection %d: throttle_time_ms %d", i,
                      throttle);
        mute_end[i] = t0 + throttle; /* the broker muted it after t0 */
        if (mute_end[i] < first_end)
            first_end = mute_end[i];
    }

    struct greedy_run gr;
    greedy_start(&gr);
    int hl = wait_heavy(mport, &b, &gr.g);
    ck_assert_msg(hl >= 0, "the greedy connection never became heavy on either loop");
    int on_heavy = (int)b.conns[hl] - 1; /* the muted ones that share its loop */
    ck_assert_msg(on_heavy >= 1, "no muted connection on the heavy loop: nothing moves");
    bool moved = false;
    for (int tries = 0; tries < 400 && !moved; tries++) {
        scrape(mport, &a);
        moved = a.moves >= on_heavy && a.conns[hl] == 1;
        if (!moved)
            usleep(25000);
    }
    int64_t t_moved = now_ms();
    ck_assert_msg(moved,
                  "the muted connections did not move off the heavy loop %d (%.0f connections "
                  "there, %.0f moves)",
                  hl, a.conns[hl], a.moves);
    bool inconclusive = t_moved > first_end - 500;
    /* each asks again at once: answered after its mute, whether it moved or not (the answers
     * are timed as they come, so that one waiting does not hide another's) */
    struct pollfd pf[MUTED];
    for (int i = 0; i < MUTED; i++) {
        struct tb_req r;
        ck_assert_int_eq(tb_req_begin(&r, 128, 18, 2, 300 + i), 0);
        tb_enc_api_versions(&r, 2);
        ck_assert_int_eq(tb_req_send(fds[i], &r), 0);
        tb_req_free(&r);
        pf[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    }
    int early = 0, left = MUTED;
    int64_t worst = INT64_MAX;
    for (int round = 0; round < 200 && left > 0; round++) {
        ck_assert_int_ge(poll(pf, MUTED, 100), 0);
        for (int i = 0; i < MUTED; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int64_t margin = now_ms() - mute_end[i];
            struct tb_frame f;
            ck_assert_int_eq(tb_recv_frame(fds[i], &f, 1 << 20), 0);
            ck_assert_int_eq(tb_frame_corr(&f), 300 + i);
            tb_frame_free(&f);
            if (margin < -MUTE_SLACK_MS)
                early++;
            if (margin < worst)
                worst = margin;
            pf[i].fd = -1;
            left--;
        }
    }
    ck_assert_msg(left == 0, "%d muted connections not answered within 20 s", left);
    ck_assert_msg(greedy_stop(&gr), "the greedy connection was done too soon");
    if (inconclusive || getenv("TEST_PLACE_VERBOSE"))
        fprintf(stderr,
                "quota mute: %d moved %lld ms before the first mute ended; %d of %d answered "
                "before their mute ended (the earliest at %+lld ms from its end)%s\n",
                on_heavy, (long long)(first_end - t_moved), early, MUTED, (long long)worst,
                inconclusive ? " (inconclusive: the moves came too late)" : "");
    if (!inconclusive)
        ck_assert_msg(early == 0,
                      "%d of %d muted connections (%d of them moved) were answered before their "
                      "mute ended, the earliest %lld ms before",
                      early, MUTED, on_heavy, (long long)-worst);
    for (int i = 0; i < MUTED; i++)
        close(fds[i]);
}
END_TEST

/* ---- acks=0 producers that close while their connections move ------------------------- */

enum {
    Z_CONNS = 16,    /* light acks=0 producers, connected before the greedy one */
    Z_PER = 4,       /* records of the last write, each its own pipelined acks=0 request */
    Z_WAIT_MS = 1500 /* their long poll: a once-a-second check marks them while it is parked */
};

struct zprod {
    int fd, i, sent;
    int err; /* 0, or where it failed (no ck_assert off the test's thread) */
};

/* Pipelines n acks=0 produce requests of one record each (values "z<i>-<first..>") to
 * partition i of "z" in one write. 0 or -errno. */
static int z_send(int fd, int i, int first, int n)
{
    uint8_t out[8192];
    size_t len = 0;
    char prefix[16];
    snprintf(prefix, sizeof prefix, "z%d", i);
    for (int k = first; k < first + n; k++) {
        uint8_t b[512];
        long blen = tb_batch_values(b, sizeof b, prefix, k, 1, 0, false, 1);
        struct tb_req r;
        if (blen <= 0 || tb_req_begin(&r, 1024, 0, 7, k) != 0)
            return -ENOMEM;
        tb_enc_produce(&r, 7, 0, 10000, "z", i, b, (size_t)blen);
        long flen = tb_req_end(&r);
        if (flen <= 0 || len + (size_t)flen > sizeof out) {
            tb_req_free(&r);
            return -EOVERFLOW;
        }
        memcpy(out + len, r.buf, (size_t)flen);
        len += (size_t)flen;
        tb_req_free(&r);
    }
    return tb_send_all(fd, out, len);
}

/* One producer: a long poll past the end of its partition (parked; the heavy loop's check
 * marks the connection to move meanwhile, and it moves as soon as the answer is sent), then at
 * once a last pipelined write and its side closed (kcat -P -X acks=0 does so): the bytes and
 * the FIN come while the connection moves. Waits (bounded) for the broker to close it. */
static void *z_run(void *arg)
{
    struct zprod *z = arg;
    struct tb_fetch_args fa = {.max_wait_ms = Z_WAIT_MS,
                               .min_bytes = 1,
                               .max_bytes = 1 << 20,
                               .topic = "z",
                               .partition = z->i,
                               .offset = 0,
                               .partition_max_bytes = 1 << 20};
    struct tb_frame f;
    struct tb_fetch_resp fr;
    if (tb_fetch(z->fd, &fa, &f, &fr) != 0) {
        z->err = 1;
        return NULL;
    }
    tb_frame_free(&f);
    if (z_send(z->fd, z->i, 0, Z_PER) != 0 || shutdown(z->fd, SHUT_WR) != 0) {
        z->err = 2;
        return NULL;
    }
    z->sent = Z_PER;
    struct timeval tv = {.tv_sec = 1};
    setsockopt(z->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    uint8_t buf[256];
    ssize_t n = 1;
    for (int k = 0; k < 20 && n != 0; k++)
        n = recv(z->fd, buf, sizeof buf, 0);
    if (n != 0)
        z->err = 3; /* the broker did not close the half-closed connection */
    return NULL;
}

/* Light acks=0 producers on both loops, a producer turns greedy on one of them, and those of
 * its loop send their last records and close right as they move: every record of every one
 * is in the log (br_conn.c: an EOF during a move abandons it, the kept requests are handled). */
START_TEST(acks0_producers_that_close_while_they_move_lose_nothing)
{
    int mport = start("load");
    int afd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(afd, "heavy", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(tb_create_topic(afd, "z", Z_CONNS, &err), 0);
    ck_assert_int_eq(err, 0);
    struct zprod z[Z_CONNS];
    for (int i = 0; i < Z_CONNS; i++) {
        z[i] = (struct zprod){.fd = tb_ck_connect(&B), .i = i};
        ck_assert_int_eq(tb_ping(z[i].fd, 100 + i), 0);
    }
    struct loads b;
    scrape(mport, &b);
    ck_assert_msg(b.conns[0] >= 2 && b.conns[1] >= 2, "the producers are not on both loops");
    struct greedy_run gr;
    greedy_start(&gr);
    ck_assert_msg(wait_heavy(mport, &b, &gr.g) >= 0, "the greedy connection never became heavy");
    pthread_t t[Z_CONNS];
    for (int i = 0; i < Z_CONNS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, z_run, &z[i]), 0);
    for (int i = 0; i < Z_CONNS; i++)
        pthread_join(t[i], NULL);
    double moves = moves_total(mport);
    ck_assert_msg(greedy_stop(&gr), "the greedy connection was done too soon");
    for (int i = 0; i < Z_CONNS; i++) {
        ck_assert_msg(z[i].err == 0, "producer %d failed at step %d", i, z[i].err);
        close(z[i].fd);
        char prefix[16];
        snprintf(prefix, sizeof prefix, "z%d", i);
        struct tb_seq seq = {.prefix = prefix};
        int rc = tb_consume_seq(afd, "z", i, z[i].sent, &seq, 20);
        ck_assert_msg(rc == 0, "producer %d: reading back %d records: %d %s (%.0f moves)", i,
                      z[i].sent, rc, seq.err, moves);
        ck_assert_int_eq(seq.seen, z[i].sent);
    }
    if (getenv("TEST_PLACE_VERBOSE"))
        fprintf(stderr, "acks=0 producers: %.0f moves\n", moves);
    close(afd);
}
END_TEST

/* SASL connections with a login under way (SaslHandshake done, SaslAuthenticate not yet) stay
 * on a loop that turns heavy (br_conn.h), and finish their login there afterwards. */
START_TEST(sasl_connections_in_a_login_do_not_move)
{
    int mport, sport = start_sasl(&mport);
    int afd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(afd, "heavy", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    close(afd);
    int fds[LIGHT];
    for (int i = 0; i < LIGHT; i++) {
        fds[i] = tb_connect(sport);
        ck_assert_int_ge(fds[i], 0);
        ck_assert_int_eq(tb_sasl_handshake(fds[i], 1, "PLAIN"), 0);
    }
    struct loads b, a;
    scrape(mport, &b);
    ck_assert_msg(b.conns[0] >= 1 && b.conns[1] >= 1, "the logins are not on both loops");
    struct greedy_run gr;
    greedy_start(&gr);
    int hl = wait_heavy(mport, &a, &gr.g);
    ck_assert_msg(hl >= 0, "the greedy connection never became heavy on either loop");
    usleep(3500 * 1000); /* three once-a-second checks at least (counted below: moves) */
    scrape(mport, &a);
    ck_assert_msg(greedy_stop(&gr), "the greedy connection was done too soon");
    ck_assert_msg(a.moves == 0, "%.0f connections in a login moved", a.moves);
    ck_assert_msg(a.conns[hl] >= 2, "no login on the heavy loop: nothing was checked");
    for (int i = 0; i < LIGHT; i++) {
        char tok[64];
        int n = snprintf(tok, sizeof tok, "%c%s%c%s", 0, "alice", 0, "alice-pw");
        uint8_t out[256];
        size_t out_len;
        ck_assert_int_eq(tb_sasl_auth(fds[i], 1, (const uint8_t *)tok, (size_t)n, out, sizeof out,
                                      &out_len, NULL),
                         0);
        ck_assert_int_eq(tb_ping(fds[i], 700 + i), 0);
        close(fds[i]);
    }
}
END_TEST

/* ---- TLS connections never move (br_conn.h) ------------------------------------------- */

static char g_certs[512];

struct tls_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

/* ApiVersions v2 over TLS, corr: 0 when answered with that correlation id. */
static int tls_ping(struct tls_conn *c, int32_t corr)
{
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 256, 18, 2, corr), 0);
    tb_enc_api_versions(&r, 2);
    long len = tb_req_end(&r);
    int rc = len > 0 && tb_tls_write_all(c->ssl, r.buf, (size_t)len) == 0 ? 0 : -EIO;
    tb_req_free(&r);
    uint8_t hdr[8];
    if (rc == 0)
        rc = tb_tls_read_all(c->ssl, hdr, 8);
    if (rc)
        return rc;
    uint32_t size = kp_load_be32(hdr);
    if (size < 4 || size > (1u << 20) || (int32_t)kp_load_be32(hdr + 4) != corr)
        return -EPROTO;
    uint8_t *rest = malloc(size);
    ck_assert_ptr_nonnull(rest);
    rc = tb_tls_read_all(c->ssl, rest, size - 4);
    free(rest);
    return rc;
}

START_TEST(tls_connections_stay_on_a_loop_that_turns_heavy)
{
    static char cert[700], key[700], ca[700];
    char p[600];
    snprintf(cert, sizeof cert, "ssl.certificate.location=%s",
             tb_cert_path(p, sizeof p, g_certs, "server.pem"));
    snprintf(key, sizeof key, "ssl.key.location=%s",
             tb_cert_path(p, sizeof p, g_certs, "server.key"));
    snprintf(ca, sizeof ca, "ssl.ca.location=%s", tb_cert_path(p, sizeof p, g_certs, "ca.pem"));
    const char *const extra[] = {"-o", "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
                                 "-o", cert,
                                 "-o", key,
                                 "-o", ca,
                                 "-o", "num.network.threads=2",
                                 "-o", "metrics.listener=http://127.0.0.1:0",
                                 "-o", "connection.turn.max.bytes=65536",
                                 NULL};
    int mport = start_extra(extra);
    int sport = tb_listener_port(&B, "SSL");
    ck_assert_int_gt(sport, 0);
    int afd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(afd, "heavy", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    close(afd);

    struct tls_conn t[LIGHT];
    for (int i = 0; i < LIGHT; i++) {
        t[i].fd = tb_connect(sport);
        ck_assert_int_ge(t[i].fd, 0);
        t[i].ctx = tb_tls_client_ctx(g_certs, NULL, 0);
        ck_assert_ptr_nonnull(t[i].ctx);
        char why[256] = "";
        t[i].ssl = tb_tls_connect(t[i].ctx, t[i].fd, why, sizeof why);
        ck_assert_msg(t[i].ssl != NULL, "TLS handshake: %s", why);
        ck_assert_int_eq(tls_ping(&t[i], 100 + i), 0);
    }
    struct loads b, a;
    scrape(mport, &b);
    ck_assert_msg(b.conns[0] >= 1 && b.conns[1] >= 1, "TLS connections not on both loops");

    struct greedy_run gr;
    greedy_start(&gr);
    int hl = wait_heavy(mport, &a, &gr.g);
    ck_assert_msg(hl >= 0, "the greedy connection never became heavy on either loop");
    /* three once-a-second checks at least, while they keep asking */
    for (int poll = 0; poll < 35; poll++) {
        for (int i = 0; i < LIGHT; i++)
            ck_assert_int_eq(tls_ping(&t[i], 1000 + poll * LIGHT + i), 0);
        usleep(100000);
    }
    scrape(mport, &a);
    double moves = moves_total(mport);
    ck_assert_msg(greedy_stop(&gr), "the greedy connection was done too soon");
    ck_assert_msg(moves == 0, "%.0f TLS connections moved", moves);
    ck_assert_msg(a.conns[hl] >= 2, "no TLS connection on the heavy loop: nothing was checked");
    for (int i = 0; i < LIGHT; i++) {
        ck_assert_int_eq(tls_ping(&t[i], 5000 + i), 0);
        tb_tls_close(t[i].ssl);
        SSL_CTX_free(t[i].ctx);
        close(t[i].fd);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("place");
    TCase *tc = tcase_create("place");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, light_connections_go_to_the_loop_without_the_heavy_one);
    tcase_add_test(tc, hash_placement_still_serves_everyone);
    tcase_add_test(tc, light_connections_move_off_a_loop_that_turns_heavy);
    tcase_add_test(tc, tls_connections_stay_on_a_loop_that_turns_heavy);
    tcase_add_test(tc, authenticated_sasl_connections_move_too);
    tcase_add_test(tc, acks0_producers_that_close_while_they_move_lose_nothing);
    tcase_add_test(tc, light_connections_of_a_heavy_loop_spread_over_the_other_loops);
    tcase_add_test(tc, sasl_connections_in_a_login_do_not_move);
    tcase_add_test(tc, moved_connections_keep_the_idle_order_for_eviction);
    tcase_add_test(tc, a_moved_connection_keeps_its_quota_mute);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    int rc = tb_certs_make(g_certs, sizeof(g_certs));
    if (rc < 0) {
        fprintf(stderr, "cannot generate test certificates: %s\n", strerror(-rc));
        return 1;
    }
    rc = tb_ck_run(suite());
    tb_certs_cleanup(g_certs);
    return rc;
}
