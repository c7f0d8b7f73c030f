/*
 * br_conn — client connections (see br_conn.h).
 *
 * Life of a connection
 *   accept -> br_conn_accepted: non-blocking socket, TCP_NODELAY, recv armed.
 *   recv completion -> frames cut from the input buffer -> br_dispatch -> response slots
 *   queued in request order -> the sender (br_conn_kick) moves the head response to the
 *   socket through the listener's transfer path -> the slot is recycled.
 *
 * Receiving: a multishot recv per connection (armed once, one CQE per filled provided
 * buffer of the loop's buffer ring) where the kernel has it. Each CQE's bytes are copied into
 * the connection's frame buffer and the provided buffer goes straight back to the ring, so
 * the ring never runs dry for long; -ENOBUFS ends the multishot and it is re-armed on the
 * next turn (backpressure, not an error). Backpressure on the connection itself cancels the
 * multishot recv; bytes that were already on their way are still taken into the frame buffer
 * (bounded by what the kernel had queued). Where multishot recv is unavailable, a single-shot
 * recv lands bytes straight in the frame buffer.
 *
 * The sender is a small state machine: (head response, piece, offset in piece) plus the
 * count of ops of the current step still in flight. A new step starts only when that count
 * is zero, so completions of linked SQEs (some cancelled after a short transfer) are simply
 * accounted and the next step starts from the recorded position.
 */
#include "br_conn.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_clock.h"
#include "br_log.h"
#include "br_rx.h"
#include "br_stats.h"
#include "br_xfer.h"

#define IN_BASE_CAP (16 * 1024)
/* How long a grown frame buffer outlives the last frame that needed it (see in_fit). */
#define IN_KEEP_MS   1000
#define FREE_RESPS   8
#define BUF_KEEP_CAP (256 * 1024)
#define LIGHT_MS     100  /* fair service: how long a request keeps its connection "active" */
#define HEAVY_MS     1000 /* ... and how long one whose share ran out stays heavy */

static void conn_free(struct br_conn *c);
static void arm_recv(struct br_conn *c);
static void stop_recv(struct br_conn *c);
static void throttle(struct br_conn *c, int32_t ms);

static void addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(buf, len, "%s:%d", host, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(buf, len, "[%s]:%d", host, port);
    } else {
        snprintf(buf, len, "?");
    }
}

/* ---- the connection lists ------------------------------------------------------------- */

static void list_unlink(struct br_conn *c, struct br_conn **head, struct br_conn **tail)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else if (tail)
        *tail = c->prev;
    c->prev = c->next = NULL;
}

static void live_append(struct br_loop *l, struct br_conn *c)
{
    c->next = NULL;
    c->prev = l->conns_tail;
    if (l->conns_tail)
        l->conns_tail->next = c;
    else
        l->conns = c;
    l->conns_tail = c;
}

/* The connection was active (accepted, a complete request, a response sent): it moves to the
 * end of the loop's list, which stays ordered by last activity. */
static void touch(struct br_conn *c)
{
    struct br_loop *l = c->loop;
    c->last_active_ms = l->now_ms;
    if (c->closing || l->conns_tail == c)
        return;
    list_unlink(c, &l->conns, &l->conns_tail);
    live_append(l, c);
}

/* Gives back the connection's place in max.connections (and its address's count). */
static void uncount(struct br_conn *c)
{
    if (!c->counted)
        return;
    c->counted = false;
    br_limits_release(c->loop->limits, c->ip_slot);
    c->ip_slot = NULL;
}

/* Placement (br_place.h): the loop's counts, published for the other loops. */
static void load_publish(struct br_loop *l)
{
    atomic_store_explicit(&l->load_conns, l->nlive, memory_order_relaxed);
    atomic_store_explicit(&l->load_heavy, l->nheavy, memory_order_relaxed);
}

void br_conn__live_leave(struct br_conn *c)
{
    struct br_loop *l = c->loop;
    list_unlink(c, &l->conns, &l->conns_tail);
    l->nconns--;
    l->nlive--;
    load_publish(l);
}

void br_conn__live_join(struct br_conn *c, struct br_conn *after)
{
    struct br_loop *l = c->loop;
    c->prev = after;
    c->next = after ? after->next : l->conns;
    if (c->next)
        c->next->prev = c;
    else
        l->conns_tail = c;
    if (after)
        after->next = c;
    else
        l->conns = c;
    l->nconns++;
    l->nlive++;
    load_publish(l);
}

static void heavy_count(struct br_conn *c, bool on)
{
    if (c->heavy_counted == on)
        return;
    c->heavy_counted = on;
    c->loop->nheavy += on ? 1 : -1;
    load_publish(c->loop);
}

/*
 * max.connections is reached: closes this loop's connection that has gone longest without a
 * complete request, if that is at least max.connections.evict.idle.ms. The live list is in
 * that order, so it is its head. True when one was closed: its place in max.connections is
 * kept for the caller (only its address's count is given back), so that a connection accepted
 * meanwhile by another thread cannot take it.
 */
static bool evict_idle(struct br_loop *loop, const char *for_peer)
{
    const struct br_config *cfg = loop->cfg;
    struct br_conn *v = loop->conns;
    if (cfg->evict_idle_ms < 0 || !v)
        return false;
    int64_t idle = loop->now_ms - v->last_active_ms;
    if (idle < cfg->evict_idle_ms)
        return false;
    char why[192];
    snprintf(why, sizeof(why),
             "max.connections=%lld reached: closing the longest-idle connection (no complete "
             "request for %lld ms) for peer=%s",
             (long long)cfg->max_connections, (long long)idle, for_peer);
    br_limits_release_ip(loop->limits, v->ip_slot);
    v->ip_slot = NULL;
    v->counted = false; /* its place goes to the new connection */
    br_conn_close(v, why);
    return true;
}

/*
 * The address Metadata and FindCoordinator name to this client: its listener's
 * advertised.listeners entry, else its bound address, else (a wildcard bind) the local address
 * of this very connection, so that clients reconnect to something reachable.
 */
static void advertise(struct br_conn *c, int fd)
{
    const struct br_listener *l = c->lst;
    struct br_peer *p = &c->peer;
    p->adv_port = l->cfg->adv_port ? l->cfg->adv_port : l->port;
    snprintf(p->listener, sizeof(p->listener), "%s", l->cfg->name);
    if (l->cfg->adv_host[0]) {
        snprintf(p->adv_host, sizeof(p->adv_host), "%s", l->cfg->adv_host);
        return;
    }
    if (strcmp(l->bound_host, "0.0.0.0") != 0 && strcmp(l->bound_host, "::") != 0) {
        snprintf(p->adv_host, sizeof(p->adv_host), "%s", l->bound_host);
        return;
    }
    struct sockaddr_storage local;
    socklen_t llen = sizeof(local);
    p->adv_host[0] = 0;
    if (getsockname(fd, (struct sockaddr *)&local, &llen) != 0)
        local.ss_family = AF_UNSPEC;
    if (local.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&local)->sin_addr, p->adv_host,
                  (socklen_t)sizeof(p->adv_host));
    else if (local.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&local)->sin6_addr, p->adv_host,
                  (socklen_t)sizeof(p->adv_host));
    if (!p->adv_host[0])
        snprintf(p->adv_host, sizeof(p->adv_host), "127.0.0.1");
}

void br_conn_accepted(struct br_loop *loop, struct br_accept *acc, int fd)
{
    const struct br_config *cfg = loop->cfg;
    struct sockaddr_storage peer;
    memset(&peer, 0, sizeof(peer));
    socklen_t plen = sizeof(peer);
    char peer_s[64] = "?";
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0)
        addr_str(&peer, peer_s, sizeof(peer_s));
    if (loop->stopping) {
        close(fd);
        return;
    }
    struct br_ip_slot *slot = NULL;
    int32_t bound = 0;
    int arc = br_limits_admit(loop->limits, &peer, &slot, &bound);
    if (arc == -ENFILE && evict_idle(loop, peer_s)) {
        arc = br_limits_admit_ip(loop->limits, &peer, &slot, &bound); /* the place is ours */
        if (arc < 0)
            br_limits_release(loop->limits, NULL);
    }
    if (arc < 0) {
        if (arc == -EUSERS)
            br_warn_limited("refusing connection peer=%s: its address has %d connection(s) open "
                            "(max.connections.per.ip%s)",
                            peer_s, (int)bound,
                            bound != cfg->max_connections_per_ip ? ".overrides" : "");
        else if (arc == -ENFILE)
            br_warn_limited("refusing connection peer=%s: max.connections=%lld reached and no "
                            "connection of this thread idle for max.connections.evict.idle.ms=%lld",
                            peer_s, (long long)cfg->max_connections, (long long)cfg->evict_idle_ms);
        else
            br_err_limited("refusing connection peer=%s: %s", peer_s, strerror(-arc));
        close(fd);
        return;
    }
    struct br_conn *c = calloc(1, sizeof(*c));
    uint8_t *in = malloc(IN_BASE_CAP);
    if (!c || !in) {
        free(c);
        free(in);
        br_limits_release(loop->limits, slot);
        br_err("refusing connection peer=%s: out of memory", peer_s);
        close(fd);
        return;
    }
    snprintf(c->peer.name, sizeof(c->peer.name), "%s", peer_s);
    if (loop->sess_ops &&
        loop->sess_ops->open(loop->sess_arg, acc->lst->cfg, &c->peer, &c->peer.sess) < 0) {
        free(c);
        free(in);
        br_limits_release(loop->limits, slot);
        br_err("refusing connection peer=%s: out of memory", peer_s);
        close(fd);
        return;
    }
    if (br_rx_open(c, acc->lst, fd) < 0) {
        if (c->peer.sess)
            loop->sess_ops->close(loop->sess_arg, c->peer.sess);
        free(c);
        free(in);
        br_limits_release(loop->limits, slot);
        br_err("refusing connection peer=%s: cannot set up TLS (out of memory)", peer_s);
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    c->loop = loop;
    c->lst = acc->lst;
    c->xfer = acc->lst->xfer;
    c->fd = fd;
    snprintf(c->peer.name, sizeof(c->peer.name), "%s", peer_s);
    snprintf(c->peer.principal, sizeof(c->peer.principal), "User:ANONYMOUS");
    advertise(c, fd);

    c->recv_op = (struct br_op){BR_OP_RECV, c};
    c->send_op = (struct br_op){BR_OP_SEND, c};
    c->poll_op = (struct br_op){BR_OP_POLLOUT, c};
    c->xin_op = (struct br_op){BR_OP_XFER_IN, c};
    c->xout_op = (struct br_op){BR_OP_XFER_OUT, c};
    c->cancel_op = (struct br_op){BR_OP_CONN_CANCEL, c};
    c->in = in;
    c->in_cap = IN_BASE_CAP;
    c->counted = true;
    c->ip_slot = slot;
    c->last_active_ms = loop->now_ms;
    c->accepted_ms = loop->now_ms;
    live_append(loop, c);
    loop->nconns++;
    loop->nlive++;
    load_publish(loop);
    br_debug("connection from peer=%s on listener %s (%s)", c->peer.name, acc->lst->cfg->name,
             c->xfer->name);
    arm_recv(c);
}

/* ---- responses ------------------------------------------------------------------------ */

static struct br_resp *resp_get(struct br_conn *c)
{
    struct br_resp *r = c->free_resps;
    if (r) {
        c->free_resps = r->next;
        c->nfree--;
    } else {
        r = calloc(1, sizeof(*r));
        if (!r)
            return NULL;
    }
    r->next = NULL;
    r->conn = c;
    r->parked = false;
    r->close_after = false;
    r->throttle_ms = 0;
    r->wait.waiting = false;
    r->total = 0;
    r->npieces = 0;
    r->mem_start = 0;
    r->file_total = 0;
    return r;
}

static void resp_put(struct br_conn *c, struct br_resp *r)
{
    br_resp_reset(r);
    if (c->nfree >= FREE_RESPS) {
        br_resp_free(r);
        return;
    }
    if (r->cap > BUF_KEEP_CAP) {
        free(r->buf);
        r->buf = NULL;
        r->cap = 0;
        r->wr = (struct kp_wr){0};
    }
    if (r->scratch_cap > BUF_KEEP_CAP) {
        free(r->scratch);
        r->scratch = NULL;
        r->scratch_cap = 0;
    }
    r->next = c->free_resps;
    c->free_resps = r;
    c->nfree++;
}

static bool backpressured(const struct br_conn *c)
{
    const struct br_config *cfg = c->loop->cfg;
    return c->nresp >= cfg->queued_max_requests ||
           (int64_t)c->out_bytes >= cfg->connection_output_max_bytes;
}

/* ---- parked responses -------------------------------------------------------------------- */

/* The loop's wake of a parked response. A posted one held its connection (counted in its
 * in-flight ops, so a connection closed meanwhile is freed only now). */
static void resp_wake(struct br_wait *w, enum br_wake why)
{
    struct br_resp *r = (struct br_resp *)((char *)w - offsetof(struct br_resp, wait));
    struct br_conn *c = r->conn;
    if (w->on == BR_WAIT_POST) {
        c->inflight--;
        if (c->closing) {
            if (c->inflight == 0)
                conn_free(c);
            return;
        }
    }
    r->wake(r, why, r->wake_arg);
}

int br_conn_park(struct br_resp *r, enum br_wait_on on, int64_t deadline_ms, br_resp_wake_fn wake,
                 void *arg)
{
    struct br_conn *c = r->conn;
    assert(!r->parked);
    r->wake = wake;
    r->wake_arg = arg;
    int rc = br_loop_wait(c->loop, &r->wait, on, deadline_ms, resp_wake);
    if (rc < 0)
        return rc;
    r->parked = true;
    if (on == BR_WAIT_POST)
        c->inflight++; /* the connection outlives the post, even if it closes meanwhile */
    return 0;
}

void br_conn_unpark(struct br_resp *r)
{
    assert(!r->parked || r->wait.on != BR_WAIT_POST);
    br_loop_unwait(r->conn->loop, &r->wait);
    r->parked = false;
}

void br_conn_post(struct br_resp *r) { br_loop_post(r->conn->loop, &r->wait); }

void br_conn_resp_ready(struct br_resp *r)
{
    struct br_conn *c = r->conn;
    br_stats_request_done(c->loop->stats, r->api_key, r->t_start_ns); /* parked: done */
    br_loop_unwait(c->loop, &r->wait); /* no-op for a posted one: it is unparked already */
    r->parked = false;
    c->out_bytes += kp_wr_len(&r->wr);
    if (r->throttle_ms > 0 && !c->closing)
        throttle(c, r->throttle_ms); /* a parked fetch's consumer_byte_rate */
    if (!c->closing)
        br_conn_kick(c);
}

void br_conn_resp_fail(struct br_resp *r, const char *why) { br_conn_close(r->conn, why); }

/* ---- sender --------------------------------------------------------------------------- */

struct br_piece *br_conn_cur_piece(struct br_conn *c)
{
    struct br_resp *r = c->out_head;
    if (!r || r->parked || c->piece >= r->npieces)
        return NULL;
    return &r->pieces[c->piece];
}

struct br_piece *br_conn_next_piece(struct br_conn *c)
{
    struct br_resp *r = c->out_head;
    if (!r || c->piece + 1 >= r->npieces)
        return NULL;
    return &r->pieces[c->piece + 1];
}

static void pop_head(struct br_conn *c)
{
    struct br_resp *r = c->out_head;
    c->out_head = r->next;
    if (!c->out_head)
        c->out_tail = NULL;
    c->nresp--;
    c->out_bytes -= kp_wr_len(&r->wr);
    c->piece = 0;
    c->piece_off = 0;
    bool last = r->close_after;
    resp_put(c, r);
    touch(c);
    if (last && c->xfer == &br_xfer_tls)
        c->close_after_tx = true; /* the answer is still ciphertext to send: br_xfer_tls.c */
    else if (last)
        br_conn_close(c, "SASL authentication did not succeed");
}

void br_conn_advance(struct br_conn *c, size_t n)
{
    c->bytes_out += n;
    while (c->out_head && !c->out_head->parked) {
        struct br_resp *r = c->out_head;
        if (c->piece >= r->npieces) {
            pop_head(c);
            continue;
        }
        if (n == 0)
            break;
        struct br_piece *p = &r->pieces[c->piece];
        size_t take = p->len - c->piece_off;
        if (take > n)
            take = n;
        c->piece_off += take;
        n -= take;
        if (c->piece_off == p->len) {
            c->piece++;
            c->piece_off = 0;
        }
    }
}

void br_conn_send_mem(struct br_conn *c, bool link)
{
    int niov = 0;
    bool more = false;
    struct br_resp *r = c->out_head;
    int pi = c->piece;
    size_t off = c->piece_off;
    while (r && !r->parked && niov < (int)(sizeof(c->iov) / sizeof(c->iov[0]))) {
        if (pi >= r->npieces) {
            r = r->next;
            pi = 0;
            off = 0;
            continue;
        }
        struct br_piece *p = &r->pieces[pi];
        if (p->kind != BR_PIECE_MEM) {
            more = true;
            break;
        }
        c->iov[niov].iov_base = r->buf + p->off + off;
        c->iov[niov].iov_len = p->len - off;
        niov++;
        pi++;
        off = 0;
    }
    /* Without MSG_WAITALL (a path whose socket refuses it) a short send just goes on at the
     * next step, from the position it reached. */
    unsigned flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
    if (!c->xfer->no_waitall)
        flags |= MSG_WAITALL;
    struct io_uring_sqe *sqe = br_ring_sqe(&c->loop->ring, &c->send_op);
    if (niov == 1) {
        io_uring_prep_send(sqe, c->fd, c->iov[0].iov_base, c->iov[0].iov_len, (int)flags);
    } else {
        memset(&c->msg, 0, sizeof(c->msg));
        c->msg.msg_iov = c->iov;
        c->msg.msg_iovlen = (size_t)niov;
        io_uring_prep_sendmsg(sqe, c->fd, &c->msg, flags);
    }
    if (link)
        sqe->flags |= IOSQE_IO_LINK;
    c->send_ops++;
    c->inflight++;
}

void br_conn_arm_pollout(struct br_conn *c)
{
    struct io_uring_sqe *sqe = br_ring_sqe(&c->loop->ring, &c->poll_op);
    io_uring_prep_poll_add(sqe, c->fd, POLLOUT);
    c->send_ops++;
    c->inflight++;
}

void br_conn_kick(struct br_conn *c)
{
    while (!c->closing && c->send_ops == 0) {
        /* drop finished responses at the head */
        br_conn_advance(c, 0);
        if (c->want_pollout) {
            c->want_pollout = false;
            c->n_pollout++;
            br_conn_arm_pollout(c);
            return;
        }
        if (!br_conn_cur_piece(c)) {
            if (c->xfer->idle)
                c->xfer->idle(c); /* the path's own bytes (TLS: handshake flights, alerts) */
            return;
        }
        c->n_steps++;
        int rc = c->xfer->step(c);
        if (rc < 0) {
            char why[96];
            snprintf(why, sizeof(why), "send failed: %s", strerror(-rc));
            br_conn_close(c, why);
            return;
        }
    }
}

/* ---- input ---------------------------------------------------------------------------- */

static void arm_recv(struct br_conn *c)
{
    /* the read holds (br_conn.h): the response queue, request bytes, the share of the turn or
     * a hold (fair service's, a quota's), a response that ends the connection, a move to
     * another loop */
    if (c->recv_armed || c->paused || c->bytes_wait.waiting || c->deferred || c->closing ||
        c->eof || c->draining || c->moving)
        return;
    c->rx->arm(c);
}

/* Backpressure: stop the multishot recv (a single-shot one simply is not re-armed). */
static void stop_recv(struct br_conn *c)
{
    if (!c->recv_armed || !c->recv_multishot || c->recv_cancelling)
        return;
    c->recv_cancelling = true;
    br_ring_cancel(&c->loop->ring, &c->recv_op, &c->cancel_op);
    c->inflight++;
}

/* ---- request bytes (queued.max.request.bytes) ------------------------------------------ */

/* The budget held for a frame buffer of cap bytes. */
static size_t charge_of(size_t cap) { return cap > IN_BASE_CAP ? cap - IN_BASE_CAP : 0; }

/* Gives n bytes back to the budget, waking connections that wait for them. */
static void bytes_give(struct br_conn *c, size_t n)
{
    struct br_loop *l = c->loop;
    if (br_limits_bytes_give(l->limits, n))
        br_loops_notify(l->all, l->nall, l, BR_WAIT_BYTES);
}

static void bytes_wake(struct br_wait *w, enum br_wake why);

static void bytes_wait_add(struct br_conn *c)
{
    if (c->bytes_wait.waiting)
        return;
    /* counted before the caller tries the budget again (br_loop.h, br_limits_bytes_give) */
    br_loop_wait(c->loop, &c->bytes_wait, BR_WAIT_BYTES, INT64_MAX, bytes_wake);
}

static void bytes_wait_del(struct br_conn *c) { br_loop_unwait(c->loop, &c->bytes_wait); }

/* Takes n bytes of the budget: 0, or -EAGAIN with the connection waiting (not read) until bytes
 * are freed. The second try, after registering, closes the race with a concurrent give. */
static int bytes_take(struct br_conn *c, size_t n)
{
    struct br_limits *lim = c->loop->limits;
    if (br_limits_bytes_take(lim, n) == 0)
        return 0;
    bytes_wait_add(c);
    if (br_limits_bytes_take(lim, n) == 0) {
        bytes_wait_del(c);
        return 0;
    }
    stop_recv(c);
    return -EAGAIN;
}

/* Appends n received bytes (from a provided buffer) to the frame buffer. They are already out
 * of the kernel, so they are kept even when that takes the budget past its bound (at most what
 * arrived before the multishot recv was stopped). */
int br_conn__take(struct br_conn *c, const uint8_t *p, size_t n)
{
    if (c->in_cap - c->in_len < n) {
        size_t want = c->in_len + n;
        if (want < IN_BASE_CAP)
            want = IN_BASE_CAP;
        uint8_t *nb = realloc(c->in, want);
        if (!nb)
            return -ENOMEM;
        c->in = nb;
        c->in_cap = want;
        size_t charge = charge_of(want);
        if (charge > c->in_charged)
            br_limits_bytes_force(c->loop->limits, charge - c->in_charged);
        else if (charge < c->in_charged)
            bytes_give(c, c->in_charged - charge);
        c->in_charged = charge;
    }
    memcpy(c->in + c->in_len, p, n);
    c->in_len += n;
    return 0;
}

/* Whether a grown frame buffer no frame needs now may stay as it is for a while: nobody waits
 * for request bytes, at most half the budget is taken, and a frame needed it less than
 * IN_KEEP_MS ago. Giving it back after every large frame made a producer of 1 MiB requests
 * fault in and zero its buffer's pages for every request, and unmap them again (mremap): 40%
 * of the broker's CPU per record, whatever the number of partitions (perf, issue 21). */
static bool in_keep(const struct br_conn *c)
{
    const struct br_limits *lim = c->loop->limits;
    if (c->loop->now_ms - c->in_big_ms >= IN_KEEP_MS)
        return false;
    if (lim->budget < 0)
        return true;
    return atomic_load(&lim->bytes_waiters) == 0 && br_limits_bytes_used(lim) <= lim->budget / 2;
}

/*
 * Sizes the frame buffer once the input is processed: room for the whole frame being received
 * (need bytes, 0 while its size is unknown) and what is buffered, at least IN_BASE_CAP. Growth
 * is taken from the budget at once, for the whole frame; when the budget cannot give it the
 * connection waits, and a frame larger than the whole budget closes it. Room no longer needed
 * (a large frame handled) is given back, at once or, while in_keep() says so, later (from
 * br_conn_check_idle).
 */
static void in_fit(struct br_conn *c, size_t need)
{
    struct br_limits *lim = c->loop->limits;
    bytes_wait_del(c); /* waiting again below if it still must */
    size_t target = need > c->in_len ? need : c->in_len;
    if (target < IN_BASE_CAP)
        target = IN_BASE_CAP;
    if (target > IN_BASE_CAP)
        c->in_big_ms = c->loop->now_ms;
    size_t charge = charge_of(target);
    if (target > c->in_cap) {
        if (lim->budget >= 0 && (uint64_t)charge > (uint64_t)lim->budget) {
            char why[160];
            snprintf(why, sizeof(why),
                     "request frame of %zu bytes is larger than queued.max.request.bytes=%lld",
                     target - 4, (long long)lim->budget);
            br_warn("peer=%s: %s", c->peer.name, why);
            br_conn_close(c, why);
            return;
        }
        size_t more = charge - c->in_charged;
        if (bytes_take(c, more) < 0)
            return; /* bytes_wake comes back here */
        uint8_t *nb = realloc(c->in, target);
        if (!nb) {
            bytes_give(c, more);
            br_err("peer=%s: cannot allocate %zu bytes for a request", c->peer.name, target);
            br_conn_close(c, "out of memory");
            return;
        }
        c->in = nb;
        c->in_cap = target;
        c->in_charged = charge;
    } else if ((c->in_cap - target >= IN_BASE_CAP ||
                (target == IN_BASE_CAP && c->in_cap > IN_BASE_CAP)) &&
               !in_keep(c)) {
        uint8_t *nb = realloc(c->in, target); /* target >= in_len: no byte is lost */
        if (!nb)
            return; /* keeps the bigger buffer and what it holds of the budget */
        c->in = nb;
        c->in_cap = target;
        size_t back = c->in_charged - charge;
        c->in_charged = charge;
        bytes_give(c, back);
    }
    assert(c->in_charged == charge_of(c->in_cap));
}

/* A response the session asked to delay (a failed authentication): sent at its deadline. */
static void delay_wake(struct br_resp *r, enum br_wake why, void *arg)
{
    (void)arg;
    (void)why;
    br_conn_resp_ready(r);
}

/* ---- fair service: shares of a loop turn (br_conn.h) ----------------------------------- */

/* The share counts belong to the turn in progress. */
static void share_refresh(struct br_conn *c)
{
    if (c->share_turn != c->loop->turn) {
        c->share_turn = c->loop->turn;
        c->share_reqs = 0;
        c->share_bytes = 0;
    }
}

enum share { SHARE_LEFT, SHARE_USED, SHARE_LATER };

/* Whether the connection's next request is handled now: its share of this turn is left, used
 * (the request waits for a later turn), or it is a heavy one outside the turn's last phase (its
 * requests wait for that phase). */
static enum share share_check(struct br_conn *c)
{
    const struct br_config *cfg = c->loop->cfg;
    share_refresh(c);
    if (c->hold_until_ns) {
        if (br_now_ns() < c->hold_until_ns)
            return SHARE_LATER; /* (br_conn_serve_ready looks again) */
        c->hold_until_ns = 0;
    }
    if ((cfg->turn_max_requests > 0 && (int64_t)c->share_reqs >= cfg->turn_max_requests) ||
        (cfg->turn_max_bytes > 0 && (int64_t)c->share_bytes >= cfg->turn_max_bytes))
        return SHARE_USED;
    if (c->share_out_turn && c->share_out_turn + 1 >= c->loop->turn && !c->loop->serving_ready)
        return SHARE_LATER;
    return SHARE_LEFT;
}

/* Requests of other connections handled on the loop before this turn began. */
static uint64_t others_at_turn_start(const struct br_conn *c)
{
    return c->loop->turn_served - (c->served - c->share_reqs);
}

static void ready_del(struct br_conn *c)
{
    struct br_loop *l = c->loop;
    if (!c->deferred)
        return;
    if (c->ready_prev)
        c->ready_prev->ready_next = c->ready_next;
    else
        l->ready = c->ready_next;
    if (c->ready_next)
        c->ready_next->ready_prev = c->ready_prev;
    else
        l->ready_tail = c->ready_prev;
    c->ready_prev = c->ready_next = NULL;
    c->deferred = false;
    l->nready--;
}

/* Whole requests are left and they wait for the turn's last phase (sh: SHARE_LATER) or a later
 * turn (SHARE_USED); the connection is read no further meanwhile. */
static void defer(struct br_conn *c, enum share sh)
{
    struct br_loop *l = c->loop;
    c->has_mark = true;
    if (sh == SHARE_USED) {
        if (c->used_turn != l->turn)
            br_stats_share_used(l->stats);
        c->used_turn = l->turn;
        /* Heavy (handled last, held while others are active) only for bytes: a light client
         * that fell behind (a burst of small requests after a stall) is capped by the request
         * share but not pushed back further; CPU goes with bytes. */
        int64_t mb = l->cfg->turn_max_bytes;
        if (mb > 0 && (int64_t)c->share_bytes >= mb) {
            c->share_out_turn = l->turn;
            c->heavy_ms = l->now_ms;
            heavy_count(c, true);
        }
    }
    if (c->deferred)
        return;
    c->deferred = true;
    c->ready_next = NULL;
    c->ready_prev = l->ready_tail;
    if (l->ready_tail)
        l->ready_tail->ready_next = c;
    else
        l->ready = c;
    l->ready_tail = c;
    l->nready++;
    stop_recv(c);
}

/* The session's look at a frame: BR_SESS_PASS, or its answer in r (BR_REPLY), or -errno. */
static int session_frame(struct br_conn *c, uint8_t *frame, size_t len, struct br_resp *r)
{
    struct br_sess_verdict v = {0};
    int rc = c->loop->sess_ops->frame(c->peer.sess, &c->peer, frame, len, r, c->loop->now_ms, &v);
    if (rc != BR_REPLY)
        return rc;
    if (v.close_after) {
        r->close_after = true;
        c->draining = true;
        stop_recv(c);
    }
    if (v.delay_ms > 0)
        (void)br_conn_park(r, BR_WAIT_TIME, c->loop->now_ms + v.delay_ms, delay_wake, NULL);
    return BR_REPLY; /* (a delay that cannot be kept: answered at once) */
}

/* A light connection other than c (none of whose shares ran out in the last HEAVY_MS) has had a
 * request in the last LIGHT_MS: holding c leaves the loop to someone. Under
 * connection.placement=load only c's own loop counts: light connections are kept (or moved)
 * off a loop with a heavy one, and holding c would only idle its loop while the others' are
 * served by their own threads (measured: docs/overload.md, "Placement"); under hash any loop
 * counts, since the kernel may have put them anywhere. */
static bool others_active(const struct br_conn *c)
{
    const struct br_loop *l = c->loop;
    if (l->cfg->placement == BR_PLACE_LOAD)
        return l->light_ms && l->now_ms - l->light_ms <= LIGHT_MS && l->light_conn != c;
    const struct br_limits *lim = l->limits;
    return l->now_ms - atomic_load_explicit(&lim->light_ms, memory_order_relaxed) <= LIGHT_MS &&
           atomic_load_explicit(&lim->light_conn, memory_order_relaxed) != (uintptr_t)c;
}

/* A heavy connection: its share of a turn ran out in the last HEAVY_MS. A greedy client's
 * connection alternates between using up its share and catching its breath; it must not count
 * as the "other, light" client that its own holds are for. */
static bool heavy(const struct br_conn *c)
{
    return c->heavy_ms && c->loop->now_ms - c->heavy_ms <= HEAVY_MS;
}

static void note_light(struct br_conn *c)
{
    struct br_loop *l = c->loop;
    if (heavy(c))
        return;
    l->light_ms = l->now_ms;
    l->light_conn = c;
    struct br_limits *lim = l->limits;
    if (atomic_load_explicit(&lim->light_ms, memory_order_relaxed) != l->now_ms)
        atomic_store_explicit(&lim->light_ms, l->now_ms, memory_order_relaxed);
    if (atomic_load_explicit(&lim->light_conn, memory_order_relaxed) != (uintptr_t)c)
        atomic_store_explicit(&lim->light_conn, (uintptr_t)c, memory_order_relaxed);
}

void br_conn_serve_ready(struct br_loop *loop)
{
    int64_t pct = loop->cfg->heavy_busy_percent;
    int64_t now = br_now_ns();
    /* each connection waiting when the round began, once (one deferred again goes to the end) */
    for (int n = loop->nready; n > 0 && loop->ready; n--) {
        struct br_conn *c = loop->ready;
        ready_del(c);
        if (c->closing || c->paused || c->bytes_wait.waiting)
            continue; /* (their own events resume them) */
        if (c->hold_until_ns > now) {
            defer(c, SHARE_LATER); /* still on hold: to the end of the list */
            continue;
        }
        if (c->recv_armed && !c->recv_multishot) {
            /* A single-shot recv is in flight (deferred from outside its completion, e.g. by a
             * send's, or put on hold while reading): the kernel owns part of the buffer the
             * input would move. It is cancelled; the connection is served once it is back. */
            if (!c->recv_cancelling) {
                c->recv_cancelling = true;
                br_ring_cancel(&loop->ring, &c->recv_op, &c->cancel_op);
                c->inflight++;
            }
            defer(c, SHARE_LATER);
            continue;
        }
        c->hold_until_ns = 0;
        br_conn__resume(c);
        int64_t t = br_now_ns();
        /* a heavy one (its share ran out again) waits, unread, so that its turns take at most
         * pct% of the loop's time while others want service */
        if (pct < 100 && !c->closing && c->deferred && c->share_out_turn == loop->turn &&
            others_active(c)) {
            int64_t until = t + (t - now) * (100 - pct) / pct;
            if (until > c->hold_until_ns) {
                c->hold_until_ns = until; /* (a quota's hold made meanwhile may be later) */
                br_stats_hold(loop->stats);
            }
        }
        now = t;
    }
}

int64_t br_conn_ready_wait_us(const struct br_loop *loop)
{
    int64_t now = 0, first = INT64_MAX;
    for (const struct br_conn *c = loop->ready; c; c = c->ready_next) {
        if (!c->hold_until_ns)
            return 0;
        if (!now)
            now = br_now_ns();
        if (c->hold_until_ns <= now)
            return 0;
        if (c->hold_until_ns < first)
            first = c->hold_until_ns;
    }
    return first == INT64_MAX ? -1 : (first - now + 999) / 1000;
}

void br_conn_hold(struct br_conn *c, int64_t until_ns)
{
    if (c->closing)
        return;
    if (until_ns > c->hold_until_ns)
        c->hold_until_ns = until_ns; /* the later of two holds in force */
    defer(c, SHARE_LATER); /* on the ready list, not read, until br_conn_serve_ready finds it due */
}

/* A quota's mute (KIP-219: throttle_time_ms, br_resp.throttle_ms) is a hold like fair
 * service's: one "do not read until" for both, so a muted connection's buffered requests wait
 * too, its reading stops the same way, and the later of the two deadlines holds. */
static void throttle(struct br_conn *c, int32_t ms)
{
    br_conn_hold(c, br_now_ns() + (int64_t)ms * 1000000);
}

static int handle_frame(struct br_conn *c, uint8_t *frame, size_t len)
{
    struct br_resp *r = resp_get(c);
    if (!r)
        return -ENOMEM;
    c->n_requests++;
    touch(c);
    struct br_loop *l = c->loop;
    share_refresh(c);
    /* A request handled in the turn it was received whole in: the requests of others handled
     * before it in that turn (what fair service bounds). One that waited for a later turn (its
     * connection's share ran out) waited by design, and is not counted. */
    if (!c->has_mark)
        br_stats_ahead(l->stats, l->served - c->served - others_at_turn_start(c));
    note_light(c);
    l->served++;
    c->served++;
    c->share_reqs++;
    c->share_bytes += 4 + len;
    int rc = c->peer.sess ? session_frame(c, frame, len, r) : BR_SESS_PASS;
    if (rc == BR_SESS_PASS)
        rc = c->loop->on_frame(c->loop->on_frame_arg, &c->peer, frame, len, r);
    if (rc < 0 || rc == BR_NO_REPLY) {
        assert(!r->parked || r->wait.on != BR_WAIT_POST); /* a post is always answered */
        if (r->parked)
            br_conn_unpark(r);
        int32_t mute = rc == BR_NO_REPLY ? r->throttle_ms : 0; /* an acks=0 produce's quota */
        resp_put(c, r);
        if (mute > 0)
            throttle(c, mute);
        return rc < 0 ? rc : 0;
    }
    if (c->out_tail)
        c->out_tail->next = r;
    else
        c->out_head = r;
    c->out_tail = r;
    c->nresp++;
    if (!r->parked)
        c->out_bytes += kp_wr_len(&r->wr);
    if (r->throttle_ms > 0)
        throttle(c, r->throttle_ms);
    return 0;
}

void br_conn__input(struct br_conn *c)
{
    if (c->moving)
        return; /* bytes that came during a move wait for the new loop (move_in) */
    const struct br_config *cfg = c->loop->cfg;
    size_t pos = 0;
    size_t need = 0; /* bytes of the next incomplete frame, when known */
    int64_t max = cfg->socket_request_max_bytes;
    while (!c->closing && !c->draining) {
        if (backpressured(c)) {
            c->paused = true;
            stop_recv(c);
            break;
        }
        size_t left = c->in_len - pos;
        if (left < 4)
            break;
        int32_t size = (int32_t)kp_load_be32(c->in + pos);
        int64_t smax = c->peer.sess ? c->loop->sess_ops->max_frame(c->peer.sess) : 0;
        if (smax > 0 && size > smax) {
            char why[128];
            snprintf(why, sizeof(why),
                     "frame of %d bytes before authentication exceeds "
                     "sasl.server.max.receive.size=%lld",
                     size, (long long)smax);
            br_warn_limited("peer=%s: %s", c->peer.name, why);
            br_conn_close(c, why);
            return;
        }
        if (size < 0 || (int64_t)size > max) {
            char why[128];
            snprintf(why, sizeof(why),
                     "request frame of %d bytes exceeds socket.request.max.bytes=%lld", size,
                     (long long)cfg->socket_request_max_bytes);
            br_warn("peer=%s: %s", c->peer.name, why);
            br_conn_close(c, why);
            return;
        }
        if (size < 8) {
            br_warn("peer=%s: request frame of %d bytes is too short for a header", c->peer.name,
                    size);
            br_conn_close(c, "malformed request frame");
            return;
        }
        if (left < 4 + (size_t)size) {
            need = 4 + (size_t)size;
            break;
        }
        enum share sh = share_check(c);
        if (sh != SHARE_LEFT) {
            defer(c, sh); /* a whole request is left: a later phase or turn serves it */
            break;
        }
        int rc = handle_frame(c, c->in + pos + 4, (size_t)size);
        pos += 4 + (size_t)size;
        if (rc < 0) {
            char why[96];
            snprintf(why, sizeof(why), "bad request (%s)", strerror(-rc));
            br_conn_close(c, why);
            return;
        }
    }
    if (!c->deferred)
        c->has_mark = false; /* no whole request waits */
    if (pos) {
        memmove(c->in, c->in + pos, c->in_len - pos);
        c->in_len -= pos;
    }
    /* The clock of request.receive.timeout.ms: stopped with nothing of a request in; bytes
     * left after whole frames belong to the next request, which has begun by now. */
    if (c->in_len == 0)
        c->req_start_ms = 0;
    else if (pos || !c->req_start_ms)
        c->req_start_ms = c->loop->now_ms;
    if (c->closing)
        return;
    if (c->eof && !c->deferred) {
        /* the peer closed while requests of it waited for their turn: now they are handled */
        br_conn_close(c, "peer closed the connection");
        return;
    }
    in_fit(c, need);
    if (c->closing)
        return;
    br_conn_kick(c);
}

/* Input was held back (backpressure, request bytes): takes up what is buffered, re-arms. */
void br_conn__resume(struct br_conn *c)
{
    if (c->req_start_ms)
        c->req_start_ms = c->loop->now_ms; /* the clock stopped while we did not read */
    c->rx->input(c);                       /* (plaintext may be waiting inside a TLS session) */
    arm_recv(c);
}

/* Request bytes were given back: this connection tries again (each waiting one once per
 * event, oldest first; one that still cannot have its bytes parks again at the end). */
static void bytes_wake(struct br_wait *w, enum br_wake why)
{
    (void)why;
    struct br_conn *c = (struct br_conn *)((char *)w - offsetof(struct br_conn, bytes_wait));
    bytes_wait_del(c);
    if (c->closing || c->paused)
        return; /* a paused one looks again when its queue drains */
    br_conn__resume(c);
}

static void after_progress(struct br_conn *c)
{
    if (c->closing)
        return;
    if (c->paused && !backpressured(c)) {
        c->paused = false;
        br_conn__resume(c);
        if (c->closing)
            return;
    }
    if (c->loop->stopping && !c->out_head && c->in_len == 0 && !c->closing) {
        br_conn_close(c, "broker shutting down");
        return;
    }
    arm_recv(c);
}

void br_conn__begun(struct br_conn *c)
{
    if (!c->req_start_ms)
        c->req_start_ms = c->loop->now_ms; /* bytes in: a request has begun */
}

void br_conn__recv_end(struct br_conn *c, int res)
{
    if (res == 0) {
        c->eof = true;
        if (c->deferred)
            return; /* whole requests wait for their turn: closed once they are handled */
        if (c->moving)
            return; /* requests that came during the move: the move is abandoned and they are
                       handled here, then it closes (br_conn_complete) */
        if (c->in_len > 0) {
            /* not an ordinary close: the bytes of a request that never came whole */
            char why[96];
            snprintf(why, sizeof(why), "peer closed the connection in a request (%zu bytes in)",
                     c->in_len);
            br_conn_close(c, why);
        } else {
            br_conn_close(c, "peer closed the connection");
        }
    } else if (res != -EINTR && res != -EAGAIN && res != -ENOBUFS && res != -ECANCELED) {
        /* (-ENOBUFS: the provided buffers ran dry, the multishot recv ended: backpressure,
         * re-armed next turn) */
        char why[96];
        snprintf(why, sizeof(why), "receive failed: %s", strerror(-res));
        br_conn_close(c, why);
    }
}

/* ---- completions ---------------------------------------------------------------------- */

/* The op left the kernel's hands: its counts. A multishot recv stays in flight until a CQE
 * without F_MORE; a cancel of ours counts in inflight only. */
static void account(struct br_conn *c, const struct br_op *op, unsigned flags)
{
    if (op->kind == BR_OP_RECV) {
        if (flags & IORING_CQE_F_MORE)
            return;
        c->recv_armed = false;
        c->recv_cancelling = false;
    } else if (op->kind != BR_OP_CONN_CANCEL) {
        c->send_ops--;
    }
    c->inflight--;
    assert(c->inflight >= 0 && c->send_ops >= 0 && c->send_ops <= c->inflight);
}

/*
 * What a failed op of this file means (liburing's proxy keeps its error handling in a table
 * beside the one switch): results after which the sender just waits for writability, results
 * that are no failure, and the reason the connection closes with otherwise. The receive and
 * transfer ops' results are their transports' to judge (br_rx.h, br_xfer.h).
 */
static const struct op_error {
    const char *what;
    int again[2];  /* wait for POLLOUT, then the next step */
    int ignore[2]; /* nothing to do */
} op_errors[] = {
    [BR_OP_SEND] = {"send failed", {-EAGAIN, -EINTR}, {-ECANCELED, -ECANCELED}},
    [BR_OP_POLLOUT] = {"poll failed", {0, 0}, {-ECANCELED, -EINTR}},
};

static void op_failed(struct br_conn *c, const struct br_op *op, int res)
{
    const struct op_error *e = &op_errors[op->kind];
    if (res == e->again[0] || res == e->again[1]) {
        c->want_pollout = true;
        return;
    }
    if (res == e->ignore[0] || res == e->ignore[1])
        return;
    char why[96];
    snprintf(why, sizeof(why), "%s: %s", e->what, strerror(res ? -res : EPIPE));
    br_conn_close(c, why);
}

/* The one switch over what completed normally (the connection is not closing). */
static void completed(struct br_conn *c, struct br_op *op, int res, unsigned flags)
{
    switch ((enum br_op_kind)op->kind) {
    case BR_OP_RECV:
        c->rx->complete(c, res, flags);
        break;
    case BR_OP_SEND:
        if (res > 0)
            br_conn_advance(c, (size_t)res);
        else
            op_failed(c, op, res);
        break;
    case BR_OP_POLLOUT:
        if (res < 0)
            op_failed(c, op, res); /* else writable: the sender's next step */
        break;
    case BR_OP_XFER_IN:
    case BR_OP_XFER_OUT: {
        int rc = c->xfer->complete(c, op, res);
        if (rc < 0) {
            char why[96];
            snprintf(why, sizeof(why), "%s transfer failed: %s", c->xfer->name, strerror(-rc));
            br_conn_close(c, why);
        } else if (op->kind == BR_OP_XFER_OUT && c->rx->sent) {
            c->rx->sent(c); /* a session that waited for room to write goes on */
        }
        break;
    }
    case BR_OP_ACCEPT:
    case BR_OP_WAKE:
    case BR_OP_CANCEL:
    case BR_OP_CONN_CANCEL:
        break;
    }
}

/* A completion that arrives after the connection began closing moves nothing, but what it did
 * to resources shared with other connections is accounted for (a provided buffer goes back to
 * the ring, a splice's bytes are counted in its pipe). */
static void abandoned(struct br_conn *c, struct br_op *op, int res, unsigned flags)
{
    if (op->kind == BR_OP_RECV)
        c->rx->complete(c, res, flags); /* (gives a provided buffer back, nothing else) */
    else if ((op->kind == BR_OP_XFER_IN || op->kind == BR_OP_XFER_OUT) && c->xfer->abandoned)
        c->xfer->abandoned(c, op, res);
}

void br_conn_complete(struct br_conn *c, struct br_op *op, int res, unsigned flags)
{
    account(c, op, flags);
    if (c->closing) {
        abandoned(c, op, res, flags);
        if (c->inflight == 0) {
            /* two-phase close: nothing of ours is left in the kernel's hands (a pipe with
             * our splices in flight, a buffer being read into) */
            assert(c->send_ops == 0 && !c->recv_armed);
            conn_free(c);
        }
        return;
    }
    completed(c, op, res, flags);
    if (c->closing) {
        if (c->inflight == 0)
            conn_free(c); /* (br_conn_close leaves one op in flight: not reached) */
        return;
    }
    if (c->send_ops == 0)
        br_conn_kick(c);
    after_progress(c);
    if (c->moving && c->inflight == 0 && !c->closing && c->eof) {
        /* the peer closed during the move: what it sent before is handled here, then it
         * closes (br_conn__input) */
        c->moving = false;
        c->move_to = NULL;
        br_conn__resume(c);
    } else if (c->moving && c->inflight == 0 && !c->closing)
        br_conn__move_out(c); /* its recv's last completion: nothing of it is left on this ring */
    else if (c->move_to && br_conn__quiescent(c))
        br_conn__move_begin(c);
}

/* ---- close ---------------------------------------------------------------------------- */

/* Reasons a connection ends in the ordinary course of things: logged at DEBUG, as its opening
 * is. Every other reason is something the client did wrong or a decision of the broker (idle,
 * limits), and may be the only line naming the peer and why (the bad-input contract): INFO. */
static bool ordinary_close(const char *reason)
{
    static const char *const ordinary[] = {
        "peer closed the connection",
        "peer sent close_notify",
        "broker shutting down",
    };
    for (size_t i = 0; i < sizeof(ordinary) / sizeof(ordinary[0]); i++)
        if (strcmp(reason, ordinary[i]) == 0)
            return true;
    return false;
}

void br_conn_close(struct br_conn *c, const char *reason)
{
    if (c->closing)
        return;
    c->closing = true;
    struct br_loop *l = c->loop;
    list_unlink(c, &l->conns, &l->conns_tail);
    c->next = l->closing;
    if (l->closing)
        l->closing->prev = c;
    l->closing = c;
    uncount(c); /* its place is free for a new connection at once */
    bytes_wait_del(c);
    ready_del(c);
    l->nlive--;
    if (c->heavy_counted) {
        c->heavy_counted = false;
        l->nheavy--;
    }
    load_publish(l); /* (placement: br_place.h) */
    if (ordinary_close(reason))
        br_debug("closing connection peer=%s: %s", c->peer.name, reason);
    else
        br_info("closing connection peer=%s: %s", c->peer.name, reason);
    br_debug("peer=%s: %llu requests, %llu bytes out in %llu transfer steps (%llu in line), "
             "%llu waits for writability (%s)",
             c->peer.name, (unsigned long long)c->n_requests, (unsigned long long)c->bytes_out,
             (unsigned long long)c->n_steps, (unsigned long long)c->n_inline,
             (unsigned long long)c->n_pollout, c->xfer->name);
    if (c->n_disk_reads)
        br_debug("peer=%s: %llu chunks were not in the page cache and were read from disk",
                 c->peer.name, (unsigned long long)c->n_disk_reads);
    /* parked responses leave their waits; a posted one holds the connection until its post */
    for (struct br_resp *r = c->out_head; r; r = r->next)
        if (r->parked && r->wait.on != BR_WAIT_POST)
            br_conn_unpark(r);
    shutdown(c->fd, SHUT_RDWR);
    if (c->recv_armed) {
        br_ring_cancel(&c->loop->ring, &c->recv_op, &c->cancel_op);
        c->inflight++;
    }
    if (c->send_ops) {
        br_ring_cancel(&c->loop->ring, &c->poll_op, &c->cancel_op);
        c->inflight++;
    }
    if (c->inflight == 0) {
        /* Nothing in flight would ever complete: a NOP does, and frees the connection in
         * br_conn_complete like any last completion, after every caller has returned. */
        struct io_uring_sqe *sqe = br_ring_sqe(&c->loop->ring, &c->recv_op);
        io_uring_prep_nop(sqe);
        c->inflight++;
    }
}

static void conn_release(struct br_conn *c)
{
    while (c->out_head) {
        struct br_resp *r = c->out_head;
        c->out_head = r->next;
        br_resp_free(r);
    }
    while (c->free_resps) {
        struct br_resp *r = c->free_resps;
        c->free_resps = r->next;
        br_resp_free(r);
    }
    c->xfer->release(c);
    if (c->rx->release)
        c->rx->release(c);
    if (c->peer.sess)
        c->loop->sess_ops->close(c->loop->sess_arg, c->peer.sess);
    c->peer.sess = NULL;
    close(c->fd);
    free(c->in);
    c->in = NULL;
    uncount(c);
    bytes_wait_del(c);
    size_t held = c->in_charged;
    c->in_charged = 0;
    bytes_give(c, held);
}

static void conn_free(struct br_conn *c)
{
    struct br_loop *l = c->loop;
    assert(c->closing);
    list_unlink(c, &l->closing, NULL);
    l->nconns--;
    conn_release(c);
    free(c);
}

void br_conn_free_all(struct br_loop *loop)
{
    loop->ready = loop->ready_tail = NULL; /* (the ring is gone: nothing is served any more) */
    loop->nready = 0;
    while (loop->conns) {
        struct br_conn *c = loop->conns;
        for (struct br_resp *r = c->out_head; r; r = r->next)
            if (r->parked)
                br_conn_unpark(r); /* (every post is in: br_loop_exit) */
        list_unlink(c, &loop->conns, &loop->conns_tail);
        c->closing = true;
        c->next = loop->closing;
        if (loop->closing)
            loop->closing->prev = c;
        loop->closing = c;
    }
    while (loop->closing)
        conn_free(loop->closing);
}

void br_conn_check_idle(struct br_loop *loop)
{
    const struct br_config *cfg = loop->cfg;
    int64_t idle = cfg->connections_max_idle_ms;
    int64_t hs = cfg->tls.handshake_timeout_ms;
    int64_t rto = cfg->request_receive_timeout_ms;
    /* (closing connections are on another list: every one here is live) */
    for (struct br_conn *c = loop->conns, *next; c; c = next) {
        next = c->next;
        if (c->heavy_counted && !heavy(c))
            heavy_count(c, false); /* no byte share ran out for HEAVY_MS */
        bool handshaking = c->rx->handshake;
        if (handshaking && hs > 0 && loop->now_ms - c->accepted_ms > hs) {
            /* a stalled (or slow-loris) handshake holds its buffers no longer than this */
            br_warn("peer=%s: TLS handshake not finished within ssl.handshake.timeout.ms=%lld",
                    c->peer.name, (long long)hs);
            br_conn_close(c, "TLS handshake timed out");
            continue;
        }
        if (rto > 0 && c->req_start_ms && !handshaking && !c->paused && !c->bytes_wait.waiting &&
            !c->deferred && loop->now_ms - c->req_start_ms > rto) {
            /* a slow sender (one byte now and then) would otherwise hold its place forever */
            br_warn("peer=%s: request not received whole within request.receive.timeout.ms=%lld "
                    "(%zu bytes of it in)",
                    c->peer.name, (long long)rto, c->in_len);
            br_conn_close(c, "request not received within request.receive.timeout.ms");
            continue;
        }
        if (idle > 0 && !c->out_head && loop->now_ms - c->last_active_ms > idle) {
            br_conn_close(c, "idle longer than connections.max.idle.ms");
            continue;
        }
        /* a grown frame buffer kept after its frames (in_keep) goes back once unneeded */
        if (c->in_cap > IN_BASE_CAP && c->in_len == 0 && !c->bytes_wait.waiting && !c->paused &&
            !c->moving && !in_keep(c))
            in_fit(c, 0);
    }
}

void br_conn_stop_idle(struct br_loop *loop)
{
    for (struct br_conn *c = loop->conns, *next; c; c = next) {
        next = c->next;
        if (!c->out_head && c->in_len == 0)
            br_conn_close(c, "broker shutting down");
    }
}
