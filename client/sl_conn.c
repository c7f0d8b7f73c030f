/*
 * sl_conn.c — one broker connection: a non-blocking TCP socket carrying pipelined requests.
 *
 * Duplex: every I/O turn both writes (as much of the send queue as the socket takes, many
 * requests per writev) and reads (every complete response frame is dispatched), so responses
 * are drained while later requests are still being written; a full socket buffer never
 * stops reading. Requests stay in the send queue until fully written, then wait in the wait
 * queue for their response. A response is matched to its request by correlation id (Kafka
 * answers in order, but the id decides: a response whose id matches no outstanding request
 * is a protocol error and drops the connection).
 *
 * Receive: frames up to SL__RX_CAP are parsed inside the fixed rx buffer; a larger frame (big
 * fetch responses) gets its own heap buffer, filled in place and handed to the callback, which
 * may keep it (zero copy for the consumer). That buffer grows with the bytes received, never
 * from the frame's size field alone, and only for a correlation id that is in flight.
 *
 * Failure (connect error, reset, bad frame, timeout) closes the socket and completes every
 * outstanding request with the error, newest first, so that owners re-queueing work at the
 * head of their queues end up with the original order.
 *
 * TLS (security.protocol=ssl, sl_tls.c): the same states and the same turn. Once the TCP
 * connect finishes the connection stays CONNECTING while the handshake runs, its poll interest
 * being whatever OpenSSL waits for; request.timeout.ms bounds connect and handshake together
 * (the ApiVersions request queued at connect carries the deadline). Once UP, conn_recv and
 * conn_send go through the session instead of recv/sendmsg; every readiness of a TLS
 * connection runs the read side (OpenSSL may need to read to write, or write to read; and
 * the handshake may have read ahead past its last message), and bytes OpenSSL already holds
 * are drained past the per-turn bound, because poll cannot see them. A fatal TLS error (handshake
 * or later) is logged with OpenSSL's reason and fails the connection like any transport error.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sl_int.h"
#include "sl_sasl.h"

int sl__bytes_reserve(struct sl__bytes *b, size_t need)
{
    if (b->cap - b->len >= need)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < need)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

void sl__bytes_free(struct sl__bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- requests --------------------------------------------------------------------------- */

struct sl__req *sl__req_get(struct sl__client *cl)
{
    struct sl__req *r = cl->req_free;
    if (r) {
        cl->req_free = r->next;
    } else {
        r = calloc(1, sizeof(*r));
        if (!r)
            return NULL;
    }
    r->next = NULL;
    r->out.len = 0;
    r->niov = 0;
    r->nsegs = 0;
    r->nbatches = 0;
    r->total = r->sent = 0;
    r->cb = NULL;
    r->ctx = NULL;
    r->deadline_ms = 0;
    r->timeout_ms = 0;
    r->expect_response = true;
    r->preauth = false;
    return r;
}

void sl__req_put(struct sl__client *cl, struct sl__req *r)
{
    r->next = cl->req_free;
    cl->req_free = r;
}

static int grow(void **p, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 0;
    int n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, (size_t)n * elem);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

int sl__req_wr(struct sl__req *r, size_t n, struct kp_wr *wr)
{
    int err = sl__bytes_reserve(&r->out, n);
    if (err)
        return err;
    kp_wr_init(wr, r->out.p + r->out.len, r->out.cap - r->out.len);
    return 0;
}

void sl__req_wr_done(struct sl__req *r, const struct kp_wr *wr)
{
    assert(kp_wr_ok(wr));
    r->out.len += kp_wr_len(wr);
}

int sl__req_begin(struct sl__client *cl, struct sl__req *r, int16_t api_key, int16_t ver)
{
    struct kp_wr wr;
    const char *cid = cl->conf->client_id;
    size_t cid_len = strlen(cid);
    if (cid_len > INT16_MAX)
        cid_len = INT16_MAX;
    int err = sl__req_wr(r, 4 + 8 + 2 + cid_len + 1, &wr);
    if (err)
        return err;
    r->api_key = api_key;
    r->api_version = ver;
    r->corr = cl->corr_next++;
    if (cl->corr_next < 0)
        cl->corr_next = 0;
    kp_frame_begin(&wr); /* the size is patched by sl__req_end */
    struct kp_req_hdr h = {api_key, ver, r->corr, {cid, (int32_t)cid_len}};
    err = kp_req_hdr_encode(&wr, &h);
    if (err)
        return err;
    sl__req_wr_done(r, &wr);
    return 0;
}

int sl__req_body(struct sl__req *r, size_t guess, int (*enc)(struct kp_wr *, const void *),
                 const void *msg)
{
    for (size_t n = guess ? guess : 64;; n *= 2) {
        struct kp_wr wr;
        int err = sl__req_wr(r, n, &wr);
        if (err)
            return err;
        err = enc(&wr, msg);
        if (err == 0)
            sl__req_wr_done(r, &wr);
        if (err != -ENOSPC || n > SL__MAX_FRAME)
            return err;
    }
}

int sl__req_borrow(struct sl__req *r, const void *p, size_t len)
{
    if (grow((void **)&r->segs, &r->segs_cap, r->nsegs + 1, sizeof(*r->segs)))
        return -ENOMEM;
    r->segs[r->nsegs].out_pos = r->out.len;
    r->segs[r->nsegs].ptr = p;
    r->segs[r->nsegs].len = len;
    r->nsegs++;
    return 0;
}

int sl__req_end(struct sl__req *r)
{
    if (grow((void **)&r->iov, &r->iov_cap, 2 * r->nsegs + 1, sizeof(*r->iov)))
        return -ENOMEM;
    size_t total = r->out.len;
    size_t pos = 0;
    int n = 0;
    for (int i = 0; i < r->nsegs; i++) {
        size_t at = r->segs[i].out_pos;
        if (at > pos) {
            r->iov[n].iov_base = r->out.p + pos;
            r->iov[n].iov_len = at - pos;
            n++;
            pos = at;
        }
        if (r->segs[i].len) {
            r->iov[n].iov_base = (void *)r->segs[i].ptr;
            r->iov[n].iov_len = r->segs[i].len;
            n++;
            total += r->segs[i].len;
        }
    }
    if (r->out.len > pos) {
        r->iov[n].iov_base = r->out.p + pos;
        r->iov[n].iov_len = r->out.len - pos;
        n++;
    }
    if (total - 4 > INT32_MAX)
        return -EMSGSIZE;
    r->niov = n;
    r->total = total;
    r->sent = 0;
    kp_store_be32(r->out.p, (uint32_t)(total - 4));
    return 0;
}

/* ---- connection lifecycle ------------------------------------------------------------------ */

struct sl__conn *sl__conn_new(struct sl__client *cl, const char *host, int port, int32_t node_id)
{
    struct sl__conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cl = cl;
    c->host = strdup(host);
    c->rx = malloc(SL__RX_CAP);
    if (!c->host || !c->rx) {
        free(c->host);
        free(c->rx);
        free(c);
        return NULL;
    }
    c->rx_cap = SL__RX_CAP;
    c->port = port;
    c->node_id = node_id;
    c->fd = -1;
    c->state = SL__CONN_DOWN;
    return c;
}

void sl__conn_free(struct sl__conn *c, int err)
{
    if (!c)
        return;
    sl__conn_fail(c, err);
    free(c->host);
    free(c->rx);
    free(c);
}

static void complete(struct sl__conn *c, struct sl__req *r, int err, struct sl__frame *f)
{
    struct sl__client *cl = c->cl;
    if (r->cb)
        r->cb(cl, r, err, f);
    sl__req_put(cl, r);
}

/*
 * A connection that was being made or used failed: the application's error callback hears of
 * it (the first failure of a run only, so that a broker refusing us does not flood it), and of
 * every known broker being down at once (_ALL_BROKERS_DOWN, again only after one came up).
 */
static void report_failure(struct sl__conn *c, int err)
{
    struct sl__client *cl = c->cl;
    if (err == -ECANCELED)
        return; /* the handle is going away */
    cl->conn_fail = err;
    if (c->failures == 0) {
        if (err == SL__EAUTH)
            sl__error(cl, SL_ERR_SASL_AUTHENTICATION_FAILED, "%s:%d: %s", c->host, c->port,
                      c->why[0] ? c->why : "SASL authentication failed");
        else if (err == SL__ERESOLVE)
            sl__error(cl, SL_ERR__RESOLVE, "%s:%d: failed to resolve: %s", c->host, c->port,
                      c->why[0] ? c->why : "unknown name");
        else if (c->why[0] && c->tls)
            sl__error(cl, SL_ERR__SSL, "%s:%d: %s", c->host, c->port, c->why);
        else
            sl__error(cl, SL_ERR__TRANSPORT, "%s:%d: %s", c->host, c->port,
                      err == -ETIMEDOUT ? "request or connect timed out" : strerror(-err));
    }
    for (int i = 0; i < cl->n_conns; i++)
        if (cl->conns[i] != c && cl->conns[i]->state != SL__CONN_DOWN)
            return;
    if (!cl->all_down) {
        cl->all_down = true;
        sl__error(cl, SL_ERR__ALL_BROKERS_DOWN, "%d/%d brokers are down", cl->n_conns, cl->n_conns);
    }
}

void sl__conn_fail(struct sl__conn *c, int err)
{
    struct sl__client *cl = c->cl;
    if (c->state != SL__CONN_DOWN)
        report_failure(c, err);
    c->why[0] = 0;
    c->versions_known = false;
    c->authing = false;
    sl__sasl_free(c->sasl);
    c->sasl = NULL;
    sl__tls_free(c->tls);
    c->tls = NULL;
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
        if (c->state == SL__CONN_UP)
            cl->stats.disconnects++;
    }
    if (c->state != SL__CONN_DOWN) {
        c->failures++;
        int backoff = cl->conf->retry_backoff_ms;
        c->reconnect_at_ms = sl__now_ms() + (c->failures > 1 ? backoff : 0);
        if (err == SL__EAUTH) {
            /* A refused login is not retried in a loop: the wait doubles from 1 s to 60 s (a
             * response arrived, so failures is back to 1 every time). */
            int shift = c->auth_failures < 6 ? c->auth_failures : 6;
            c->auth_failures++;
            c->reconnect_at_ms = sl__now_ms() + ((int64_t)1000 << shift);
        }
    }
    c->state = SL__CONN_DOWN;
    sl__buf_put(c->cl, c->big, c->big_cap);
    c->big = NULL;
    c->big_len = c->big_cap = c->big_need = 0;
    c->rx_len = 0;

    /* Newest first: the send queue (tail to head), then the wait queue (tail to head). */
    struct sl__req *all[2] = {c->sendq, c->waitq};
    c->sendq = c->sendq_tail = c->waitq = c->waitq_tail = NULL;
    cl->stats.in_flight -= c->n_out < cl->stats.in_flight ? c->n_out : cl->stats.in_flight;
    c->n_out = 0;
    for (int q = 0; q < 2; q++) {
        /* Reverse the list so completion runs newest first. */
        struct sl__req *rev = NULL;
        for (struct sl__req *r = all[q]; r;) {
            struct sl__req *next = r->next;
            r->next = rev;
            rev = r;
            r = next;
        }
        while (rev) {
            struct sl__req *next = rev->next;
            complete(c, rev, err, NULL);
            rev = next;
        }
    }
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

static void api_versions_cb(struct sl__client *cl, struct sl__req *req, int err,
                            struct sl__frame *f);

/* Queues ApiVersions v0 at the head of the send queue: the first request of every connection. */
static int queue_api_versions(struct sl__conn *c)
{
    return sl__conn_push_new(c, KP_API_API_VERSIONS, SL__V_API_VERSIONS, NULL, NULL, 0,
                             api_versions_cb);
}

int sl__conn_push_new(struct sl__conn *c, int16_t api_key, int16_t v,
                      int (*enc)(struct kp_wr *, const void *), const void *msg, size_t guess,
                      sl__req_cb *cb)
{
    struct sl__req *r = sl__req_get(c->cl);
    if (!r)
        return -ENOMEM;
    int err = sl__req_begin(c->cl, r, api_key, v);
    if (!err && enc)
        err = sl__req_body(r, guess, enc, msg);
    if (!err)
        err = sl__req_end(r);
    if (err) {
        sl__req_put(c->cl, r);
        return err;
    }
    r->cb = cb;
    r->ctx = c;
    sl__conn_push_front(c, r);
    return 0;
}

void sl__conn_push_front(struct sl__conn *c, struct sl__req *r)
{
    assert(!c->sendq || c->sendq->sent == 0);
    r->preauth = true;
    r->next = c->sendq;
    c->sendq = r;
    if (!c->sendq_tail)
        c->sendq_tail = r;
    c->n_out++;
    c->cl->stats.in_flight++;
}

int sl__conn_ensure(struct sl__conn *c)
{
    if (c->state != SL__CONN_DOWN)
        return 0;
    if (c->cl->no_connect || sl__now_ms() < c->reconnect_at_ms)
        return -EAGAIN;
    char port[16];
    snprintf(port, sizeof(port), "%d", c->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(c->host, port, &hints, &res);
    if (gai != 0 || !res) {
        snprintf(c->why, sizeof(c->why), "%s", gai ? gai_strerror(gai) : "no address");
        c->state = SL__CONN_CONNECTING; /* so that fail() applies the backoff */
        sl__conn_fail(c, SL__ERESOLVE);
        return SL__ERESOLVE;
    }
    /* A name with several addresses (localhost: ::1 and 127.0.0.1): each failed attempt moves
     * on to the next one. */
    int count = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        count++;
    struct addrinfo *ai = res;
    for (int i = c->failures % count; i > 0; i--)
        ai = ai->ai_next;
    int err = -ECONNREFUSED;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = -errno;
    } else {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        err = set_nonblock(fd);
        if (!err && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
            err = -errno;
    }
    freeaddrinfo(res);
    c->state = SL__CONN_CONNECTING;
    c->fd = fd;
    c->authing = (c->cl->conf->security_protocol & SL__SEC_SASL) != 0;
    if (!err)
        err = queue_api_versions(c);
    if (err) {
        sl__conn_fail(c, err);
        return err;
    }
    return 0;
}

void sl__conn_enqueue(struct sl__conn *c, struct sl__req *r)
{
    r->next = NULL;
    if (c->sendq_tail)
        c->sendq_tail->next = r;
    else
        c->sendq = r;
    c->sendq_tail = r;
    c->n_out++;
    c->cl->stats.in_flight++;
}

/* r may be written now: not while the connection authenticates, unless it is part of that. */
static bool sendable(const struct sl__conn *c, const struct sl__req *r)
{
    return r && (!c->authing || r->preauth);
}

short sl__conn_events(const struct sl__conn *c)
{
    switch (c->state) {
    case SL__CONN_CONNECTING:
        if (c->tls) /* handshaking */
            return sl__tls_events(c->tls) ? sl__tls_events(c->tls) : (short)(POLLIN | POLLOUT);
        return POLLOUT;
    case SL__CONN_UP:
        if (c->tls && (sl__tls_events(c->tls) & POLLOUT))
            return POLLIN | POLLOUT;
        return (short)(POLLIN | (sendable(c, c->sendq) ? POLLOUT : 0));
    default:
        return 0;
    }
}

/* ---- writing -------------------------------------------------------------------------- */

/* One request fully written: it waits for its response, or completes (acks=0). */
static void written(struct sl__conn *c, struct sl__req *r)
{
    struct sl__client *cl = c->cl;
    cl->stats.requests_sent++;
    c->sendq = r->next;
    if (!c->sendq)
        c->sendq_tail = NULL;
    r->next = NULL;
    if (!r->expect_response) {
        c->n_out--;
        cl->stats.in_flight--;
        complete(c, r, 0, NULL);
        return;
    }
    r->deadline_ms =
        sl__now_ms() + (r->timeout_ms > 0 ? r->timeout_ms : cl->conf->request_timeout_ms);
    if (c->waitq_tail)
        c->waitq_tail->next = r;
    else
        c->waitq = r;
    c->waitq_tail = r;
    uint32_t waiting = 0;
    for (struct sl__req *w = c->waitq; w; w = w->next)
        waiting++;
    if (waiting > cl->stats.max_in_flight_seen)
        cl->stats.max_in_flight_seen = waiting;
}

/* Sends a prefix of v on the socket or through the TLS session: bytes taken, or -EAGAIN /
 * -errno. TLS: after -EAGAIN the same bytes must come first next time (requests advance only
 * by what this returns, so they do). */
static ssize_t conn_send(struct sl__conn *c, const struct iovec *v, int n)
{
    if (c->tls)
        return sl__tls_writev(c->tls, v, n);
    struct msghdr mh = {.msg_iov = (struct iovec *)v, .msg_iovlen = (size_t)n};
    for (;;) {
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w >= 0)
            return w;
        if (errno == EINTR)
            continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

static int do_write(struct sl__conn *c)
{
    enum { MAXV = 64 };
    while (sendable(c, c->sendq) && c->state == SL__CONN_UP) {
        struct iovec v[MAXV];
        int n = 0;
        /* Gather from several queued requests, starting where the head left off. */
        for (struct sl__req *r = c->sendq; sendable(c, r) && n < MAXV; r = r->next) {
            size_t skip = r->sent;
            for (int i = 0; i < r->niov && n < MAXV; i++) {
                if (skip >= r->iov[i].iov_len) {
                    skip -= r->iov[i].iov_len;
                    continue;
                }
                v[n].iov_base = (uint8_t *)r->iov[i].iov_base + skip;
                v[n].iov_len = r->iov[i].iov_len - skip;
                skip = 0;
                n++;
            }
        }
        ssize_t w = conn_send(c, v, n);
        if (w == -EAGAIN || w == 0)
            return 0;
        if (w < 0)
            return (int)w;
        c->cl->stats.bytes_sent += (uint64_t)w;
        size_t left = (size_t)w;
        while (left && c->sendq) {
            struct sl__req *r = c->sendq;
            size_t need = r->total - r->sent;
            if (left < need) {
                r->sent += left;
                left = 0;
                break;
            }
            left -= need;
            r->sent = r->total;
            written(c, r);
        }
    }
    return 0;
}

void sl__conn_flush(struct sl__conn *c)
{
    if (c->state != SL__CONN_UP || !c->sendq)
        return;
    int err = do_write(c);
    if (err)
        sl__conn_fail(c, err);
}

/* ---- reading -------------------------------------------------------------------------- */

static void api_versions_cb(struct sl__client *cl, struct sl__req *req, int err,
                            struct sl__frame *f)
{
    struct sl__conn *c = req->ctx;
    if (err || !f)
        return;
    struct kp_api_versions_resp resp;
    struct kp_arena *a = sl__arena(cl, f->len);
    struct kp_rd rd;
    kp_rd_init(&rd, f->body, f->len);
    err = a ? kp_api_versions_resp_decode(&rd, SL__V_API_VERSIONS, a, &resp) : -ENOMEM;
    if (err || resp.error_code != 0) {
        sl__conn_fail(c, err == -ENOMEM ? -ENOMEM : -EPROTO);
        return;
    }
    static const int16_t need[][2] = {{KP_API_PRODUCE, SL__V_PRODUCE},
                                      {KP_API_FETCH, SL__V_FETCH},
                                      {KP_API_LIST_OFFSETS, SL__V_LIST_OFFSETS},
                                      {KP_API_METADATA, SL__V_METADATA}};
    bool ok[4] = {false, false, false, false};
    for (int k = 0; k < SL__API_KEYS; k++)
        c->api_vmin[k] = c->api_vmax[k] = -1;
    for (int32_t i = 0; i < resp.n_api_keys; i++) {
        const struct kp_api_range *k = &resp.api_keys[i];
        if (k->api_key >= 0 && k->api_key < SL__API_KEYS && k->min_version <= k->max_version) {
            c->api_vmin[k->api_key] = k->min_version;
            c->api_vmax[k->api_key] = k->max_version;
        }
        for (int j = 0; j < 4; j++)
            if (k->api_key == need[j][0] && k->min_version <= need[j][1] &&
                need[j][1] <= k->max_version)
                ok[j] = true;
    }
    /* The metadata and produce paths need these; a broker without them is unusable. */
    if (!ok[0] || !ok[1] || !ok[2] || !ok[3]) {
        sl__conn_fail(c, -ENOTSUP);
        return;
    }
    c->versions_known = true;
    if (c->authing) {
        err = sl__auth_start(c);
        if (err)
            sl__conn_fail(c, err);
    }
}

int sl__conn_version(const struct sl__conn *c, int16_t api_key, int vmin, int vmax)
{
    if (!c->versions_known || api_key < 0 || api_key >= SL__API_KEYS || c->api_vmax[api_key] < 0)
        return -1;
    int hi = c->api_vmax[api_key] < vmax ? c->api_vmax[api_key] : vmax;
    int lo = c->api_vmin[api_key] > vmin ? c->api_vmin[api_key] : vmin;
    return hi >= lo ? hi : -1;
}

/* The request in the wait queue with correlation id corr, or NULL. */
static struct sl__req *find_waiting(const struct sl__conn *c, int32_t corr)
{
    for (struct sl__req *r = c->waitq; r; r = r->next)
        if (r->corr == corr)
            return r;
    return NULL;
}

/* Dispatches one complete frame (size field included at frame[0..4)). 0 or -errno. */
static int dispatch(struct sl__conn *c, const uint8_t *frame, size_t len, uint8_t **own,
                    size_t own_cap)
{
    if (len < 8)
        return -EBADMSG;
    int32_t corr = (int32_t)kp_load_be32(frame + 4);
    struct sl__req *prev = NULL, *r = c->waitq;
    while (r && r->corr != corr) {
        prev = r;
        r = r->next;
    }
    if (!r)
        return -EPROTO; /* a response nobody asked for */
    if (prev)
        prev->next = r->next;
    else
        c->waitq = r->next;
    if (c->waitq_tail == r)
        c->waitq_tail = prev;
    r->next = NULL;
    c->n_out--;
    c->cl->stats.in_flight--;
    c->cl->stats.responses_received++;
    c->failures = 0;
    struct kp_rd rd;
    kp_rd_init(&rd, frame + 4, len - 4);
    int32_t corr_again;
    if (kp_resp_hdr_decode(&rd, r->api_key, r->api_version, &corr_again) != 0) {
        complete(c, r, -EBADMSG, NULL);
        return -EBADMSG;
    }
    size_t body = 4 + kp_rd_pos(&rd);
    struct sl__frame f = {frame + body, len - body, own ? *own : NULL, own ? own_cap : 0};
    complete(c, r, 0, &f);
    if (own)
        *own = f.own; /* NULL when the callback took it */
    return 0;
}

/*
 * Parses every complete frame in rx. Returns 0, 1 when a callback closed the connection
 * (stop touching it), or -errno for a bad frame.
 */
static int parse_rx(struct sl__conn *c)
{
    size_t pos = 0;
    int err = 0;
    while (c->rx_len - pos >= 4) {
        int32_t sz = (int32_t)kp_load_be32(c->rx + pos);
        if (sz < 4 || sz > SL__MAX_FRAME)
            return -EBADMSG;
        size_t fl = 4 + (size_t)sz;
        if (c->rx_len - pos >= fl) {
            err = dispatch(c, c->rx + pos, fl, NULL, 0);
            if (err)
                return err;
            if (c->state == SL__CONN_DOWN)
                return 1;
            pos += fl;
            continue;
        }
        if (fl > c->rx_cap) {
            /*
             * Too big for rx: the frame gets its own buffer, filled in place from now on. The
             * size came off the wire, so the buffer is not sized from it up front: it starts at
             * twice rx and doubles as bytes arrive. The correlation id (in rx: rx is far larger
             * than 8 bytes) must belong to a request in flight before anything is allocated.
             */
            if (c->rx_len - pos < 8)
                break;
            if (!find_waiting(c, (int32_t)kp_load_be32(c->rx + pos + 4)))
                return -EPROTO;
            size_t cap;
            c->big = sl__buf_get(c->cl, 2 * c->rx_cap < fl ? 2 * c->rx_cap : fl, &cap);
            if (!c->big)
                return -ENOMEM;
            c->big_cap = cap; /* a kept buffer may be larger than the frame: reads stop at it */
            c->big_need = fl;
            c->big_len = c->rx_len - pos;
            memcpy(c->big, c->rx + pos, c->big_len);
            pos = c->rx_len;
        }
        break;
    }
    memmove(c->rx, c->rx + pos, c->rx_len - pos);
    c->rx_len -= pos;
    return 0;
}

/* Room for more bytes of the big frame: doubles the buffer when full (up to the frame size).
 * Returns the room (> 0) or -ENOMEM; reads never go past the frame's own bytes. */
static ssize_t big_room(struct sl__conn *c)
{
    size_t lim = c->big_cap < c->big_need ? c->big_cap : c->big_need;
    if (c->big_len < lim)
        return (ssize_t)(lim - c->big_len);
    size_t cap = c->big_cap * 2 < c->big_need ? c->big_cap * 2 : c->big_need;
    uint8_t *p = realloc(c->big, cap);
    if (!p)
        return -ENOMEM;
    c->big = p;
    c->big_cap = cap;
    return (ssize_t)(cap - c->big_len);
}

/* The big frame is complete: dispatch it; the callback may keep the buffer. */
static int finish_big(struct sl__conn *c)
{
    uint8_t *own = c->big;
    size_t len = c->big_need, cap = c->big_cap;
    c->big = NULL;
    c->big_len = c->big_cap = c->big_need = 0;
    int err = dispatch(c, own, len, &own, cap);
    sl__buf_put(c->cl, own, cap); /* NULL when the callback took it */
    if (err)
        return err;
    return c->state == SL__CONN_DOWN ? 1 : 0;
}

int sl__conn_feed(struct sl__conn *c, const uint8_t *data, size_t len)
{
    while (len) {
        int err;
        if (c->big) {
            ssize_t room = big_room(c);
            if (room < 0)
                return (int)room;
            size_t n = (size_t)room;
            if (n > len)
                n = len;
            memcpy(c->big + c->big_len, data, n);
            c->big_len += n;
            data += n;
            len -= n;
            if (c->big_len < c->big_need)
                continue;
            err = finish_big(c);
        } else {
            size_t n = c->rx_cap - c->rx_len;
            if (n > len)
                n = len;
            memcpy(c->rx + c->rx_len, data, n);
            c->rx_len += n;
            data += n;
            len -= n;
            err = parse_rx(c);
        }
        if (err < 0)
            return err;
        if (err > 0)
            return 0;
    }
    return 0;
}

/* Receives into buf from the socket or the TLS session: bytes (> 0), -EAGAIN, -ECONNRESET
 * when the broker closed, or -errno. */
static ssize_t conn_recv(struct sl__conn *c, void *buf, size_t len)
{
    if (c->tls)
        return sl__tls_read(c->tls, buf, len);
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, MSG_DONTWAIT);
        if (n > 0)
            return n;
        if (n == 0)
            return -ECONNRESET;
        if (errno == EINTR)
            continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

/* More to read this turn: below the bound, or OpenSSL holds bytes poll would never report
 * (decrypted, or ciphertext read ahead: at most its 64 KiB buffer; a partial record there
 * makes the next read -EAGAIN, which ends the turn). */
static bool read_more(const struct sl__conn *c, int turns)
{
    if (c->state != SL__CONN_UP)
        return false;
    return turns < 64 || (c->tls && sl__tls_pending(c->tls));
}

/* Reads everything available (bounded per turn); big frames go straight to their buffer. */
static int do_read(struct sl__conn *c)
{
    for (int turns = 0; read_more(c, turns); turns++) {
        ssize_t n;
        int err;
        if (c->big) {
            ssize_t room = big_room(c);
            if (room < 0)
                return (int)room;
            n = conn_recv(c, c->big + c->big_len, (size_t)room);
            if (n > 0) {
                c->cl->stats.bytes_received += (uint64_t)n;
                c->big_len += (size_t)n;
                if (c->big_len < c->big_need)
                    continue;
                err = finish_big(c);
                if (err)
                    return err < 0 ? err : 0;
                continue;
            }
        } else {
            size_t room = c->rx_cap - c->rx_len;
            n = conn_recv(c, c->rx + c->rx_len, room);
            if (n > 0) {
                c->cl->stats.bytes_received += (uint64_t)n;
                c->rx_len += (size_t)n;
                err = parse_rx(c);
                if (err)
                    return err < 0 ? err : 0;
                /* A short plain-TCP read drained the socket: poll reports what comes next,
                 * without a recv that would only say EAGAIN. */
                if (!c->tls && (size_t)n < room)
                    return 0;
                continue;
            }
        }
        return n == -EAGAIN ? 0 : (int)n;
    }
    return 0;
}

/* A fatal TLS error: logged with OpenSSL's reason (at error level once per run of failures,
 * then at debug level so that a broker refusing us does not flood stderr). */
static void tls_log(struct sl__conn *c, int err)
{
    const sl_conf *conf = c->cl->conf;
    const char *reason = sl__tls_reason(c->tls);
    if (err == -ECONNABORTED && reason[0]) /* a TLS failure: OpenSSL's reason says it all */
        snprintf(c->why, sizeof(c->why), "%s", reason);
    else
        snprintf(c->why, sizeof(c->why), "%s%s%s", reason, reason[0] ? ": " : "", strerror(-err));
    sl__log(conf, c->failures == 0 ? 3 : 7, "SSL", "%s:%d: %s", c->host, c->port, c->why);
}

/* TCP is connected (or a TLS connection is handshaking): 0 when the connection is now UP,
 * 1 when it is still connecting, or -errno. */
static int connect_step(struct sl__conn *c, short revents)
{
    if (!c->tls) {
        if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
            return 1;
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            soerr = errno;
        if (soerr)
            return -soerr;
        if (c->cl->tls_ctx) {
            int err = sl__tls_new(c->cl->tls_ctx, c->fd, c->host, &c->tls);
            if (err)
                return err;
        }
    }
    if (c->tls) {
        int err = sl__tls_handshake(c->tls);
        if (err == -EAGAIN)
            return 1;
        if (err) {
            tls_log(c, err);
            return err;
        }
    }
    c->state = SL__CONN_UP;
    c->cl->stats.connects++;
    c->cl->all_down = false;
    c->cl->conn_fail = 0;
    return 0;
}

void sl__conn_io(struct sl__conn *c, short revents)
{
    if (c->state == SL__CONN_DOWN)
        return;
    if (c->state == SL__CONN_CONNECTING) {
        int err = connect_step(c, revents);
        if (err < 0)
            sl__conn_fail(c, err);
        if (err)
            return;
    }
    int err = 0;
    if ((revents & (POLLIN | POLLERR | POLLHUP)) || c->tls)
        err = do_read(c);
    if (!err && c->state == SL__CONN_UP)
        err = do_write(c);
    if (err && c->tls && err != -ECONNRESET && err != -EBADMSG && err != -EPROTO && err != -ENOMEM)
        tls_log(c, err);
    if (err)
        sl__conn_fail(c, err);
}

void sl__conn_check_timeouts(struct sl__conn *c, int64_t now_ms)
{
    if (c->state == SL__CONN_CONNECTING && c->sendq) {
        /* A connect that hangs: bounded by request.timeout.ms from the first queued request. */
        if (c->sendq->deadline_ms == 0)
            c->sendq->deadline_ms = now_ms + c->cl->conf->request_timeout_ms;
        else if (now_ms >= c->sendq->deadline_ms)
            sl__conn_fail(c, -ETIMEDOUT);
        return;
    }
    if (c->waitq && now_ms >= c->waitq->deadline_ms)
        sl__conn_fail(c, -ETIMEDOUT);
}
