/*
 * test_place — placement of new connections on loop threads (connection.placement, issue 22),
 * with a real splicelogd on two loops:
 * - placement=load: once a connection pipelining large produce requests is heavy (its byte
 *   share of a turn runs out: splicelog_loop_heavy_connections), light connections that
 *   connect afterwards all end on the other loop (the heavy loop's splicelog_loop_connections
 *   does not grow, the other's grows by as many), and every request of every connection is
 *   answered, the greedy one's in order. Counted from the broker's gauges, never from time;
 * - placement=hash: the kernel places them (nothing asserted about where), nothing is handed
 *   over (splicelog_connection_handoffs_total stays 0), and everything is answered the same.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_http.h"
#include "../support/tb_kafka.h"

enum {
    LIGHT = 8,            /* light connections: by chance all on one loop 1 in 2^7 */
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

struct loads {
    double conns[2], heavy[2], handoffs;
};

static void scrape(int mport, struct loads *l)
{
    struct tb_http_resp m;
    ck_assert_int_eq(tb_http(mport, "GET", "/metrics", NULL, 16 << 20, &m), 0);
    ck_assert_int_eq(m.status, 200);
    for (int i = 0; i < 2; i++) {
        char s[96];
        snprintf(s, sizeof s, "splicelog_loop_connections{loop=\"%d\"}", i);
        l->conns[i] = tb_metric(m.body, s);
        snprintf(s, sizeof s, "splicelog_loop_heavy_connections{loop=\"%d\"}", i);
        l->heavy[i] = tb_metric(m.body, s);
        ck_assert_msg(l->conns[i] >= 0 && l->heavy[i] >= 0, "no per-loop gauges for loop %d", i);
    }
    l->handoffs = tb_metric(m.body, "splicelog_connection_handoffs_total");
    tb_http_resp_free(&m);
}

/* A greedy connection, heavy on one loop, then LIGHT light ones. Returns the heavy loop (-1:
 * none became heavy) and the loads before and after the light ones came. */
static int run(const char *placement, struct loads *before, struct loads *after)
{
    char pl[64];
    snprintf(pl, sizeof pl, "connection.placement=%s", placement);
    const char *const extra[] = {
        "-o", "num.network.threads=2",           "-o", "metrics.listener=http://127.0.0.1:0",
        "-o", "connection.turn.max.bytes=65536", "-o", pl,
        NULL};
    tb_ck_start(&B, extra);
    ck_assert_msg(tb_log_wait(&B, "metrics listener on http://127.0.0.1:", 20000),
                  "no metrics listener");
    int mport = tb_broker_metrics_port(&B);
    ck_assert_int_gt(mport, 0);

    int gfd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(gfd, "heavy", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(tb_create_topic(gfd, "light", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    uint8_t *batch = malloc(GREEDY_VALUE + 1024);
    ck_assert_ptr_nonnull(batch);
    long blen = tb_batch_values(batch, GREEDY_VALUE + 1024, "hv", 0, 1, GREEDY_VALUE, false, 1);
    ck_assert_int_gt(blen, 0);
    struct tb_req req;
    ck_assert_int_eq(tb_req_begin(&req, GREEDY_VALUE + 2048, 0, 7, 77), 0);
    tb_enc_produce(&req, 7, 1, 10000, "heavy", 0, batch, (size_t)blen);
    long flen = tb_req_end(&req);
    ck_assert_int_gt(flen, 0);

    struct greedy g = {.fd = gfd, .frame = req.buf, .len = (size_t)flen};
    pthread_t tw, tr;
    ck_assert_int_eq(pthread_create(&tw, NULL, greedy_write, &g), 0);
    ck_assert_int_eq(pthread_create(&tr, NULL, greedy_read, &g), 0);

    int hl = -1;
    for (int i = 0; i < POLLS && hl < 0 && !atomic_load(&g.stop); i++) {
        scrape(mport, before);
        for (int k = 0; k < 2; k++)
            if (before->heavy[k] >= 1)
                hl = k;
        if (hl < 0)
            usleep(25000);
    }
    int fds[LIGHT];
    uint8_t small[512];
    long slen = tb_batch_values(small, sizeof small, "lt", 0, 1, 0, false, 1);
    ck_assert_int_gt(slen, 0);
    for (int i = 0; i < LIGHT; i++) {
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
                after->heavy[1], after->handoffs, atomic_load(&g.sent));
    bool still_greedy = !atomic_load(&g.stop);
    atomic_store(&g.stop, true);
    pthread_join(tw, NULL);
    pthread_join(tr, NULL);
    ck_assert_msg(g.err == 0, "greedy writer: %s", strerror(-g.err));
    ck_assert_msg(g.bad == 0, "%d greedy answers were missing, out of order or failed", g.bad);
    ck_assert_int_eq(atomic_load(&g.answered), atomic_load(&g.sent));
    ck_assert_msg(still_greedy, "the greedy connection was done before the light ones came");
    for (int i = 0; i < LIGHT; i++) {
        ck_assert_int_eq(tb_ping(fds[i], 900 + i), 0); /* still served after the greedy left */
        close(fds[i]);
    }
    tb_req_free(&req);
    free(batch);
    close(gfd);
    return hl;
}

START_TEST(light_connections_go_to_the_loop_without_the_heavy_one)
{
    struct loads b, a;
    int hl = run("load", &b, &a);
    ck_assert_msg(hl >= 0, "the greedy connection never became heavy on either loop");
    int ol = 1 - hl;
    ck_assert_msg(a.heavy[hl] >= 1, "the greedy connection stopped being heavy meanwhile");
    ck_assert_msg(a.conns[hl] == b.conns[hl] && a.conns[ol] == b.conns[ol] + LIGHT,
                  "light connections on the heavy loop %d: it had %.0f connections before, %.0f "
                  "after; the other loop %.0f before, %.0f after (%d light ones came)",
                  hl, b.conns[hl], a.conns[hl], b.conns[ol], a.conns[ol], LIGHT);
}
END_TEST

START_TEST(hash_placement_still_serves_everyone)
{
    struct loads b, a;
    int hl = run("hash", &b, &a);
    ck_assert_msg(hl >= 0, "the greedy connection never became heavy on either loop");
    ck_assert_msg(a.handoffs == 0, "%.0f connections handed over with placement=hash", a.handoffs);
    ck_assert_int_eq((int)(a.conns[0] + a.conns[1]), (int)(b.conns[0] + b.conns[1]) + LIGHT);
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
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
