/*
 * test_sl_conn — the client connection without a broker: a socketpair plays the broker.
 * Many requests are written in one go (pipelined, borrowed payloads sent by writev), answers
 * come back in a different order and each reaches its own request through the correlation
 * id; an unknown id, a lost peer and a timeout fail every outstanding request exactly once,
 * newest first; a frame larger than the receive buffer is delivered in its own buffer that
 * the callback may keep, its buffer growing with the bytes that arrive (not with the size
 * field) and only for a correlation id in flight; frames split at every byte boundary parse.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sl_int.h"
#include "tb_kafka.h"
#include "tb_check.h"

#define NREQ 8

struct rec {
    int calls;
    int err;
    int32_t corr;
    char body[64];
    size_t len;
    int order; /* completion order */
    uint8_t *kept;
};

static struct rec recs[NREQ];
static int completions;

static void cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    struct rec *r = req->ctx;
    r->calls++;
    r->err = err;
    r->order = completions++;
    if (f) {
        r->len = f->len;
        memcpy(r->body, f->body, f->len < sizeof(r->body) ? f->len : sizeof(r->body));
        if (f->own) {
            r->kept = f->own; /* take the frame buffer */
            f->own = NULL;
        }
    }
    (void)cl;
}

struct fixture {
    struct sl__client cl;
    struct sl__conn *c;
    int peer;
};

static void setup(struct fixture *fx)
{
    memset(recs, 0, sizeof(recs));
    completions = 0;
    sl_conf *conf = sl_conf_new();
    ck_assert_int_eq(sl__client_init(&fx->cl, conf, true, NULL, 0), 0);
    fx->c = sl__conn_new(&fx->cl, "127.0.0.1", 1, 0);
    ck_assert_ptr_nonnull(fx->c);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    fx->c->fd = sv[0];
    fx->c->state = SL__CONN_UP;
    fx->peer = sv[1];
}

static void teardown(struct fixture *fx)
{
    sl__conn_free(fx->c, -ECANCELED);
    close(fx->peer);
    sl__client_destroy(&fx->cl);
    for (int i = 0; i < NREQ; i++)
        free(recs[i].kept);
}

static const char payload[] = "borrowed-payload-bytes";

static void queue(struct fixture *fx, int i)
{
    struct sl__req *r = sl__req_get(&fx->cl);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(sl__req_begin(&fx->cl, r, KP_API_METADATA, SL__V_METADATA), 0);
    struct kp_wr wr;
    ck_assert_int_eq(sl__req_wr(r, 4, &wr), 0);
    kp_wr_i32(&wr, i);
    sl__req_wr_done(r, &wr);
    ck_assert_int_eq(sl__req_borrow(r, payload, sizeof(payload) - 1), 0);
    ck_assert_int_eq(sl__req_wr(r, 2, &wr), 0);
    kp_wr_i16(&wr, (int16_t)(100 + i));
    sl__req_wr_done(r, &wr);
    ck_assert_int_eq(sl__req_end(r), 0);
    r->cb = cb;
    r->ctx = &recs[i];
    recs[i].corr = r->corr;
    sl__conn_enqueue(fx->c, r);
}

/* Reads the NREQ requests the client wrote and checks their layout. */
static void read_requests(struct fixture *fx)
{
    for (int i = 0; i < NREQ; i++) {
        struct tb_frame f;
        ck_assert_int_eq(tb_recv_frame(fx->peer, &f, 1 << 20), 0);
        struct kp_rd rd;
        kp_rd_init(&rd, f.data, f.len);
        ck_assert_int_eq(kp_rd_i16(&rd), KP_API_METADATA);
        ck_assert_int_eq(kp_rd_i16(&rd), SL__V_METADATA);
        ck_assert_int_eq(kp_rd_i32(&rd), recs[i].corr);
        struct kp_str cid = kp_rd_nstr(&rd);
        ck_assert(kp_str_eq(cid, "splicelog"));
        ck_assert_int_eq(kp_rd_i32(&rd), i);
        const uint8_t *p = kp_rd_raw(&rd, sizeof(payload) - 1);
        ck_assert(p && memcmp(p, payload, sizeof(payload) - 1) == 0);
        ck_assert_int_eq(kp_rd_i16(&rd), 100 + i);
        ck_assert(kp_rd_ok(&rd) && kp_rd_left(&rd) == 0);
        tb_frame_free(&f);
    }
}

static void respond(int fd, int32_t corr, const char *body)
{
    uint8_t buf[128];
    size_t n = strlen(body);
    kp_store_be32(buf, (uint32_t)(4 + n));
    kp_store_be32(buf + 4, (uint32_t)corr);
    memcpy(buf + 8, body, n);
    ck_assert_int_eq(tb_send_all(fd, buf, 8 + n), 0);
}

static void pump(struct fixture *fx)
{
    for (int k = 0; k < 50 && fx->c->state == SL__CONN_UP && fx->c->n_out > 0; k++) {
        struct pollfd p = {fx->c->fd, sl__conn_events(fx->c), 0};
        if (poll(&p, 1, 100) > 0)
            sl__conn_io(fx->c, p.revents);
    }
}

START_TEST(test_many_in_flight_answers_reversed)
{
    struct fixture fx;
    setup(&fx);
    for (int i = 0; i < NREQ; i++)
        queue(&fx, i);
    sl__conn_flush(fx.c);
    ck_assert_ptr_null(fx.c->sendq); /* all written before any answer */
    ck_assert_uint_eq(fx.cl.stats.max_in_flight_seen, NREQ);
    ck_assert_uint_eq(fx.cl.stats.requests_sent, NREQ);
    read_requests(&fx);
    for (int i = NREQ - 1; i >= 0; i--) {
        char body[32];
        snprintf(body, sizeof(body), "answer-%d", i);
        respond(fx.peer, recs[i].corr, body);
    }
    pump(&fx);
    for (int i = 0; i < NREQ; i++) {
        char body[32];
        snprintf(body, sizeof(body), "answer-%d", i);
        ck_assert_int_eq(recs[i].calls, 1);
        ck_assert_int_eq(recs[i].err, 0);
        ck_assert_uint_eq(recs[i].len, strlen(body));
        ck_assert(memcmp(recs[i].body, body, strlen(body)) == 0);
        ck_assert_int_eq(recs[i].order, NREQ - 1 - i);
    }
    ck_assert_uint_eq(fx.c->n_out, 0);
    ck_assert_uint_eq(fx.cl.stats.in_flight, 0);
    ck_assert_uint_eq(fx.cl.stats.responses_received, NREQ);
    teardown(&fx);
}
END_TEST

START_TEST(test_unknown_correlation_id_fails_all_once)
{
    struct fixture fx;
    setup(&fx);
    for (int i = 0; i < NREQ; i++)
        queue(&fx, i);
    sl__conn_flush(fx.c);
    read_requests(&fx);
    respond(fx.peer, recs[2].corr, "ok");
    respond(fx.peer, 0x7fff0000, "nobody asked");
    pump(&fx);
    ck_assert_int_eq(fx.c->state, SL__CONN_DOWN);
    ck_assert_int_eq(recs[2].calls, 1);
    ck_assert_int_eq(recs[2].err, 0);
    int last_order = 1 << 30;
    for (int i = 0; i < NREQ; i++) {
        ck_assert_int_eq(recs[i].calls, 1);
        if (i == 2)
            continue;
        ck_assert_int_eq(recs[i].err, -EPROTO);
        /* Newest first. */
        ck_assert_int_lt(recs[i].order, last_order);
        last_order = recs[i].order;
    }
    ck_assert_uint_eq(fx.c->n_out, 0);
    teardown(&fx);
}
END_TEST

START_TEST(test_peer_close_and_timeout)
{
    struct fixture fx;
    setup(&fx);
    queue(&fx, 0);
    queue(&fx, 1);
    sl__conn_flush(fx.c);
    /* A deadline in the past fails the oldest, and with it the connection. */
    sl__conn_check_timeouts(fx.c, sl__now_ms() + fx.cl.conf->request_timeout_ms + 1);
    ck_assert_int_eq(recs[0].err, -ETIMEDOUT);
    ck_assert_int_eq(recs[1].err, -ETIMEDOUT);
    ck_assert_int_eq(recs[0].calls + recs[1].calls, 2);
    teardown(&fx);

    setup(&fx);
    queue(&fx, 0);
    sl__conn_flush(fx.c);
    shutdown(fx.peer, SHUT_RDWR);
    pump(&fx);
    ck_assert_int_eq(recs[0].calls, 1);
    ck_assert_int_eq(recs[0].err, -ECONNRESET);
    teardown(&fx);
}
END_TEST

START_TEST(test_big_frame_own_buffer_and_split_feed)
{
    struct fixture fx;
    setup(&fx);
    queue(&fx, 0);
    queue(&fx, 1);
    queue(&fx, 2);
    sl__conn_flush(fx.c);
    /* Response 0: larger than the receive buffer, delivered in its own buffer. */
    size_t big = SL__RX_CAP * 2 + 17;
    uint8_t *frame = malloc(8 + big);
    kp_store_be32(frame, (uint32_t)(4 + big));
    kp_store_be32(frame + 4, (uint32_t)recs[0].corr);
    for (size_t i = 0; i < big; i++)
        frame[8 + i] = (uint8_t)(i * 7);
    /* Responses 1 and 2 small; everything fed one byte at a time. */
    uint8_t small[2][16];
    for (int k = 0; k < 2; k++) {
        kp_store_be32(small[k], 8);
        kp_store_be32(small[k] + 4, (uint32_t)recs[1 + k].corr);
        memcpy(small[k] + 8, k ? "TWO!" : "ONE!", 4);
    }
    /* One check at the end: a Check assertion per byte costs more than the feeding. */
    int rc = 0;
    for (size_t i = 0; i < 8 + big && rc == 0; i++)
        rc = sl__conn_feed(fx.c, frame + i, 1);
    for (int k = 0; k < 2 && rc == 0; k++)
        for (int i = 0; i < 12 && rc == 0; i++)
            rc = sl__conn_feed(fx.c, small[k] + i, 1);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(recs[0].calls, 1);
    ck_assert_uint_eq(recs[0].len, big);
    ck_assert_ptr_nonnull(recs[0].kept);
    ck_assert(memcmp(recs[0].kept + 8, frame + 8, big) == 0);
    ck_assert_int_eq(recs[1].calls, 1);
    ck_assert(memcmp(recs[1].body, "ONE!", 4) == 0);
    ck_assert_int_eq(recs[2].calls, 1);
    ck_assert(memcmp(recs[2].body, "TWO!", 4) == 0);
    free(frame);
    teardown(&fx);
}
END_TEST

START_TEST(test_bad_frame_size)
{
    struct fixture fx;
    setup(&fx);
    queue(&fx, 0);
    sl__conn_flush(fx.c);
    uint8_t neg[8];
    kp_store_be32(neg, 0xfffffff0u);
    ck_assert_int_eq(sl__conn_feed(fx.c, neg, sizeof(neg)), -EBADMSG);
    teardown(&fx);
    ck_assert_int_eq(recs[0].calls, 1);
    ck_assert_int_eq(recs[0].err, -ECANCELED);
}
END_TEST

START_TEST(test_big_frame_allocation_follows_the_bytes)
{
    struct fixture fx;
    setup(&fx);
    queue(&fx, 0);
    sl__conn_flush(fx.c);
    /* A frame that claims 100 MB for a request in flight: the buffer grows only with what
     * actually arrives. */
    uint8_t head[SL__RX_CAP + 8];
    memset(head, 'q', sizeof(head));
    kp_store_be32(head, 100u << 20);
    kp_store_be32(head + 4, (uint32_t)recs[0].corr);
    ck_assert_int_eq(sl__conn_feed(fx.c, head, sizeof(head)), 0);
    ck_assert_ptr_nonnull(fx.c->big);
    ck_assert_uint_le(fx.c->big_cap, 2 * SL__RX_CAP);
    ck_assert_uint_eq(fx.c->big_need, (100u << 20) + 4);
    ck_assert_int_eq(recs[0].calls, 0);
    teardown(&fx);
    ck_assert_int_eq(recs[0].err, -ECANCELED);

    /* The same for a correlation id nobody waits for: refused before any allocation. */
    setup(&fx);
    queue(&fx, 0);
    sl__conn_flush(fx.c);
    kp_store_be32(head + 4, (uint32_t)(recs[0].corr + 1000));
    ck_assert_int_eq(sl__conn_feed(fx.c, head, sizeof(head)), -EPROTO);
    ck_assert_ptr_null(fx.c->big);
    teardown(&fx);
}
END_TEST

/* Big frames are received into buffers kept for reuse: a kept buffer larger than the frame
 * takes only the frame's bytes (the next frame, fed in the same call, is parsed on its own). */
START_TEST(test_big_frame_in_a_kept_larger_buffer)
{
    struct fixture fx;
    setup(&fx);
    size_t kept_cap = 8u * SL__RX_CAP;
    sl__buf_put(&fx.cl, malloc(kept_cap), kept_cap);
    ck_assert_int_eq(fx.cl.n_buf_cache, 1);
    queue(&fx, 0);
    queue(&fx, 1);
    sl__conn_flush(fx.c);
    size_t big = SL__RX_CAP * 2 + 5;
    uint8_t *bytes = malloc(8 + big + 12);
    kp_store_be32(bytes, (uint32_t)(4 + big));
    kp_store_be32(bytes + 4, (uint32_t)recs[0].corr);
    for (size_t i = 0; i < big; i++)
        bytes[8 + i] = (uint8_t)(i * 13);
    kp_store_be32(bytes + 8 + big, 8);
    kp_store_be32(bytes + 12 + big, (uint32_t)recs[1].corr);
    memcpy(bytes + 16 + big, "NEXT", 4);
    ck_assert_int_eq(sl__conn_feed(fx.c, bytes, 8 + big + 12), 0);
    ck_assert_int_eq(fx.cl.n_buf_cache, 0); /* the kept buffer took the frame */
    ck_assert_int_eq(recs[0].calls, 1);
    ck_assert_uint_eq(recs[0].len, big);
    ck_assert(memcmp(recs[0].kept + 8, bytes + 8, big) == 0);
    ck_assert_int_eq(recs[1].calls, 1);
    ck_assert(memcmp(recs[1].body, "NEXT", 4) == 0);
    sl__buf_put(&fx.cl, recs[0].kept, kept_cap); /* given back, kept again */
    recs[0].kept = NULL;
    ck_assert_int_eq(fx.cl.n_buf_cache, 1);
    free(bytes);
    teardown(&fx);
}
END_TEST

/* The cache hands out its largest buffer (grown when too small), keeps at most SL__BUF_CACHE
 * buffers (dropping the smallest for a larger one) and SL__BUF_CACHE_BYTES in all. */
START_TEST(test_buffer_cache_bounds)
{
    struct sl__client cl;
    ck_assert_int_eq(sl__client_init(&cl, sl_conf_new(), false, NULL, 0), 0);
    size_t cap = 0;
    uint8_t *p = sl__buf_get(&cl, 100, &cap);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(cap, 100);
    sl__buf_put(&cl, p, cap);
    sl__buf_put(&cl, malloc(300), 300);
    sl__buf_put(&cl, malloc(200), 200);
    ck_assert_int_eq(cl.n_buf_cache, 3);
    p = sl__buf_get(&cl, 10, &cap);
    ck_assert_uint_eq(cap, 300);
    sl__buf_put(&cl, p, cap);
    p = sl__buf_get(&cl, 1000, &cap); /* the largest (300) grown to 1000 */
    ck_assert_uint_eq(cap, 1000);
    memset(p, 1, cap);
    sl__buf_put(&cl, p, cap);
    for (size_t i = 0; i < SL__BUF_CACHE + 3; i++)
        sl__buf_put(&cl, malloc(2000 + i), 2000 + i);
    ck_assert_int_eq(cl.n_buf_cache, SL__BUF_CACHE);
    ck_assert_uint_eq(cl.buf_cache_cap[0], 2000 + 3); /* the smallest ones went */
    for (int i = 1; i < cl.n_buf_cache; i++)
        ck_assert_uint_lt(cl.buf_cache_cap[i - 1], cl.buf_cache_cap[i]);
    size_t huge = SL__BUF_CACHE_BYTES;
    sl__buf_put(&cl, malloc(huge), huge); /* past the byte bound: freed */
    ck_assert_uint_le(cl.buf_cache_bytes, SL__BUF_CACHE_BYTES);
    ck_assert_uint_lt(cl.buf_cache_cap[cl.n_buf_cache - 1], huge);
    sl__buf_put(&cl, NULL, 0);
    sl__client_destroy(&cl); /* frees what is kept (LeakSanitizer checks) */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sl_conn");
    TCase *tc = tcase_create("conn");
    tcase_add_test(tc, test_many_in_flight_answers_reversed);
    tcase_add_test(tc, test_unknown_correlation_id_fails_all_once);
    tcase_add_test(tc, test_peer_close_and_timeout);
    tcase_add_test(tc, test_big_frame_own_buffer_and_split_feed);
    tcase_add_test(tc, test_bad_frame_size);
    tcase_add_test(tc, test_big_frame_allocation_follows_the_bytes);
    tcase_add_test(tc, test_big_frame_in_a_kept_larger_buffer);
    tcase_add_test(tc, test_buffer_cache_bounds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
