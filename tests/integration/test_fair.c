/*
 * test_fair — fair service under overload (issue 22), with a real splicelogd on one loop thread:
 * - a connection that pipelines thousands of produce requests (8 KiB batches, written as fast
 *   as the socket takes them) does not delay a second connection's single requests by more than
 *   its share of a loop turn: the broker counts, for every request, the requests of other
 *   connections handled on its loop between the turn in which it was received whole and its own
 *   handling (splicelog_request_ahead), and no request of the run may have more than
 *   connection.turn.max.requests of them. Counted in requests, never in wall time;
 * - the greedy connection was the one held back (splicelog_connection_share_used_total > 0),
 *   and every one of its requests is still answered, in order;
 * - the hold: on one loop the greedy connection is held after its turns while the other one
 *   is active (splicelog_connection_holds_total > 0); on two loops with connection.placement=load
 *   the light connection lands on the other loop and the greedy one is never held (0 holds):
 *   holding it would only idle its loop;
 * - a client that pipelines acks=0 produces past its share and closes at once (as kcat -P
 *   -X acks=0 does) loses none of them: requests waiting for their turn when the peer's EOF
 *   arrives are still handled.
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
    SHARE = 4,          /* connection.turn.max.requests of the test's broker */
    GREEDY_REQS = 3000, /* pipelined by the greedy connection, ~24 MiB */
    GREEDY_VALUE = 8000,
    PINGS = 40, /* single requests of the second connection, one at a time */
};

static struct tb_broker B;

static void setup(void) { memset(&B, 0, sizeof B); }

static void teardown(void) { tb_ck_finish(&B); }

static int metrics_port(void)
{
    if (!tb_log_wait(&B, "metrics listener on http://127.0.0.1:", 20000))
        return 0;
    return tb_broker_metrics_port(&B);
}

struct greedy {
    int fd;
    const uint8_t *frame;
    size_t len;
    atomic_int sent;
    atomic_bool stop;
    int err;
};

static void *greedy_main(void *arg)
{
    struct greedy *g = arg;
    for (int i = 0; i < GREEDY_REQS && !atomic_load(&g->stop); i++) {
        int rc = tb_send_all(g->fd, g->frame, g->len);
        if (rc) {
            g->err = rc;
            break;
        }
        atomic_fetch_add(&g->sent, 1);
    }
    return NULL;
}

/* The greedy connection: connected, its topic created, and the produce request it pipelines
 * (one batch of a GREEDY_VALUE-byte record, acks=1, correlation id corr) framed in *req. */
static int greedy_setup(const char *topic, int32_t corr, uint8_t **batch, struct tb_req *req,
                        long *flen)
{
    int gfd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(gfd, topic, 1, &err), 0);
    ck_assert_int_eq(err, 0);
    *batch = malloc(GREEDY_VALUE + 1024);
    ck_assert_ptr_nonnull(*batch);
    long blen = tb_batch_values(*batch, GREEDY_VALUE + 1024, "gr", 0, 1, GREEDY_VALUE, false, 1);
    ck_assert_int_gt(blen, 0);
    ck_assert_int_eq(tb_req_begin(req, GREEDY_VALUE + 2048, 0, 7, corr), 0);
    tb_enc_produce(req, 7, 1, 10000, topic, 0, *batch, (size_t)blen);
    *flen = tb_req_end(req);
    ck_assert_int_gt(*flen, 0);
    return gfd;
}

START_TEST(pipelined_produces_do_not_starve_a_single_request)
{
    char share[64];
    snprintf(share, sizeof share, "connection.turn.max.requests=%d", SHARE);
    const char *const extra[] = {"-o", "num.network.threads=1",
                                 "-o", "metrics.listener=http://127.0.0.1:0",
                                 "-o", share,
                                 "-o", "connection.turn.max.bytes=1048576",
                                 NULL};
    tb_ck_start(&B, extra);
    int mport = metrics_port();
    ck_assert_int_gt(mport, 0);

    uint8_t *batch;
    struct tb_req req;
    long flen;
    int gfd = greedy_setup("fair", 77, &batch, &req, &flen);

    struct greedy g = {.fd = gfd, .frame = req.buf, .len = (size_t)flen};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, greedy_main, &g), 0);
    /* the greedy connection is well under way before the other one asks anything */
    for (int i = 0; i < 2000 && atomic_load(&g.sent) < GREEDY_REQS / 10; i++)
        usleep(5000);
    int sfd = tb_ck_connect(&B);
    int served_during = 0;
    for (int i = 0; i < PINGS; i++) {
        ck_assert_int_eq(tb_ping(sfd, 1000 + i), 0);
        if (atomic_load(&g.sent) < GREEDY_REQS)
            served_during++;
    }
    atomic_store(&g.stop, true);
    pthread_join(t, NULL);
    ck_assert_msg(g.err == 0, "greedy writer: %s", strerror(-g.err));
    int sent = atomic_load(&g.sent);
    ck_assert_msg(served_during > PINGS / 2,
                  "the greedy connection was done too soon (%d of %d single requests were "
                  "answered while it was still sending): nothing was measured",
                  served_during, PINGS);

    /* every greedy request answered, in order */
    for (int i = 0; i < sent; i++) {
        struct tb_frame f;
        int rc = tb_recv_frame(gfd, &f, 1 << 20);
        ck_assert_msg(rc == 0, "greedy answer %d of %d: %s", i, sent, strerror(-rc));
        ck_assert_int_eq(tb_frame_corr(&f), 77);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_dec_produce(&f, 7, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
        tb_frame_free(&f);
    }

    struct tb_http_resp m;
    ck_assert_int_eq(tb_http(mport, "GET", "/metrics", NULL, 16 << 20, &m), 0);
    ck_assert_int_eq(m.status, 200);
    char series[96];
    snprintf(series, sizeof series, "splicelog_request_ahead_bucket{le=\"%d\"}", SHARE);
    double within = tb_metric(m.body, series);
    double count = tb_metric(m.body, "splicelog_request_ahead_count");
    double over8 = count - tb_metric(m.body, "splicelog_request_ahead_bucket{le=\"8\"}");
    double used = tb_metric(m.body, "splicelog_connection_share_used_total");
    tb_http_resp_free(&m);
    ck_assert_msg(count >= PINGS, "%.0f requests measured, %d single ones sent", count, PINGS);
    ck_assert_msg(within == count,
                  "%.0f of %.0f requests had more than %d requests of another connection handled "
                  "ahead of them in their loop (%.0f more than 8): a pipelining connection "
                  "delays others by more than its share of a turn",
                  count - within, count, SHARE, over8);
    ck_assert_msg(used > 0, "the greedy connection never used up its share of a turn");

    tb_req_free(&req);
    free(batch);
    close(sfd);
    close(gfd);
}
END_TEST

/* The hold, counted. _i = 0: one loop: the greedy connection (its byte share runs out: heavy)
 * is held after its turns while the other connection is active on the same loop. _i = 1: two
 * loops, placement by load: the other connection goes to the other loop, and the greedy one is
 * never held for it. Counted by the broker's gauges and counters, never by time. */
START_TEST(the_hold_is_for_light_connections_of_the_same_loop)
{
    const bool apart = _i == 1;
    const char *const extra[] = {"-o", apart ? "num.network.threads=2" : "num.network.threads=1",
                                 "-o", "metrics.listener=http://127.0.0.1:0",
                                 "-o", "connection.turn.max.bytes=16384",
                                 "-o", "connection.placement=load",
                                 NULL};
    tb_ck_start(&B, extra);
    int mport = metrics_port();
    ck_assert_int_gt(mport, 0);
    uint8_t *batch;
    struct tb_req req;
    long flen;
    int gfd = greedy_setup("apart", 78, &batch, &req, &flen);
    struct greedy g = {.fd = gfd, .frame = req.buf, .len = (size_t)flen};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, greedy_main, &g), 0);
    /* until a loop counts a heavy connection (bounded: 2,000 polls) */
    double heavy = 0;
    for (int i = 0; i < 2000 && heavy < 1 && atomic_load(&g.sent) < GREEDY_REQS; i++) {
        struct tb_http_resp m;
        if (tb_http(mport, "GET", "/metrics", NULL, 16 << 20, &m) == 0) {
            heavy = 0;
            for (int k = 0; k < 2; k++) { /* (a loop that does not exist: -1) */
                char series[64];
                snprintf(series, sizeof series, "splicelog_loop_heavy_connections{loop=\"%d\"}", k);
                double v = tb_metric(m.body, series);
                heavy += v > 0 ? v : 0;
            }
            tb_http_resp_free(&m);
        }
        if (heavy < 1)
            usleep(2000);
    }
    ck_assert_msg(heavy >= 1, "the greedy connection never counted as heavy");
    int sfd = tb_ck_connect(&B);
    int served_during = 0;
    for (int i = 0; i < PINGS; i++) {
        ck_assert_int_eq(tb_ping(sfd, 2000 + i), 0);
        if (atomic_load(&g.sent) < GREEDY_REQS)
            served_during++;
    }
    struct tb_http_resp m;
    ck_assert_int_eq(tb_http(mport, "GET", "/metrics", NULL, 16 << 20, &m), 0);
    double holds = tb_metric(m.body, "splicelog_connection_holds_total");
    double c0 = tb_metric(m.body, "splicelog_loop_connections{loop=\"0\"}");
    double c1 = tb_metric(m.body, "splicelog_loop_connections{loop=\"1\"}");
    tb_http_resp_free(&m);
    atomic_store(&g.stop, true);
    pthread_join(t, NULL);
    ck_assert_msg(g.err == 0, "greedy writer: %s", strerror(-g.err));
    ck_assert_msg(served_during > PINGS / 2,
                  "the greedy connection was done too soon (%d of %d single requests answered "
                  "while it was still sending): nothing was measured",
                  served_during, PINGS);
    if (apart) {
        ck_assert_msg(c0 == 1 && c1 == 1, "connections per loop %.0f and %.0f: not placed apart",
                      c0, c1);
        ck_assert_msg(holds == 0,
                      "the greedy connection was held %.0f times for a connection on another loop",
                      holds);
    } else {
        ck_assert_msg(c0 == 2, "%.0f connections on the one loop", c0);
        ck_assert_msg(holds > 0, "the greedy connection was never held while the other one was "
                                 "active on its loop");
    }
    int sent = atomic_load(&g.sent);
    for (int i = 0; i < sent; i++) {
        struct tb_frame f;
        int rc = tb_recv_frame(gfd, &f, 1 << 20);
        ck_assert_msg(rc == 0, "greedy answer %d of %d: %s", i, sent, strerror(-rc));
        ck_assert_int_eq(tb_frame_corr(&f), 78);
        tb_frame_free(&f);
    }
    tb_req_free(&req);
    free(batch);
    close(sfd);
    close(gfd);
}
END_TEST

START_TEST(requests_waiting_for_their_turn_survive_the_peers_close)
{
    const char *const extra[] = {"-o", "num.network.threads=1", "-o",
                                 "connection.turn.max.requests=2", NULL};
    tb_ck_start(&B, extra);
    int fd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(fd, "eof", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    enum { N = 400 };
    uint8_t batch[2048];
    long blen = tb_batch_values(batch, sizeof batch, "eof", 0, 1, 200, false, 1);
    ck_assert_int_gt(blen, 0);
    struct tb_req req;
    ck_assert_int_eq(tb_req_begin(&req, 4096, 0, 7, 9), 0);
    tb_enc_produce(&req, 7, 0, 10000, "eof", 0, batch, (size_t)blen); /* acks=0: no answers */
    long flen = tb_req_end(&req);
    ck_assert_int_gt(flen, 0);
    /* all N in one write, then the close: most arrive in one receive, past the share */
    uint8_t *all = malloc((size_t)flen * N);
    ck_assert_ptr_nonnull(all);
    for (int i = 0; i < N; i++)
        memcpy(all + (size_t)i * (size_t)flen, req.buf, (size_t)flen);
    int pfd = tb_ck_connect(&B);
    ck_assert_int_eq(tb_send_all(pfd, all, (size_t)flen * N), 0);
    close(pfd);
    free(all);
    tb_req_free(&req);
    int64_t end = -1;
    for (int i = 0; i < 200 && end != N; i++) {
        struct tb_list_offsets_resp lo;
        ck_assert_int_eq(tb_list_offsets(fd, "eof", 0, -1, &lo), 0);
        ck_assert_int_eq(lo.error, 0);
        end = lo.offset;
        if (end != N)
            usleep(10000);
    }
    ck_assert_msg(end == N,
                  "%lld of %d acks=0 records appended: requests that waited for their "
                  "turn were dropped at the peer's close",
                  (long long)end, N);
    close(fd);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fair");
    TCase *tc = tcase_create("fair");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, pipelined_produces_do_not_starve_a_single_request);
    tcase_add_loop_test(tc, the_hold_is_for_light_connections_of_the_same_loop, 0, 2);
    tcase_add_test(tc, requests_waiting_for_their_turn_survive_the_peers_close);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
