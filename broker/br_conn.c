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

#include "br_api.h"
#include "br_log.h"
#include "br_stats.h"
#include "br_tls.h"
#include "br_xfer.h"

#define IN_BASE_CAP  (16 * 1024)
#define FREE_RESPS   8
#define BUF_KEEP_CAP (256 * 1024)

static void conn_free(struct br_conn *c);
static void process_input(struct br_conn *c);
static void arm_recv(struct br_conn *c);
static void tls_input(struct br_conn *c);

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
    br_limits_release(&c->loop->srv->limits, c->ip_slot);
    c->ip_slot = NULL;
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
    const struct br_config *cfg = loop->srv->cfg;
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
    br_limits_release_ip(&loop->srv->limits, v->ip_slot);
    v->ip_slot = NULL;
    v->counted = false; /* its place goes to the new connection */
    br_conn_close(v, why);
    return true;
}

void br_conn_accepted(struct br_loop *loop, struct br_accept *acc, int fd)
{
    struct br_server *srv = loop->srv;
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
    int arc = br_limits_admit(&srv->limits, &peer, &slot, &bound);
    if (arc == -ENFILE && evict_idle(loop, peer_s)) {
        arc = br_limits_admit_ip(&srv->limits, &peer, &slot, &bound); /* the place is ours */
        if (arc < 0)
            br_limits_release(&srv->limits, NULL);
    }
    if (arc < 0) {
        if (arc == -EUSERS)
            br_warn_limited("refusing connection peer=%s: its address has %d connection(s) open "
                            "(max.connections.per.ip%s)",
                            peer_s, (int)bound,
                            bound != srv->cfg->max_connections_per_ip ? ".overrides" : "");
        else if (arc == -ENFILE)
            br_warn_limited("refusing connection peer=%s: max.connections=%lld reached and no "
                            "connection of this thread idle for max.connections.evict.idle.ms=%lld",
                            peer_s, (long long)srv->cfg->max_connections,
                            (long long)srv->cfg->evict_idle_ms);
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
        br_limits_release(&srv->limits, slot);
        br_err("refusing connection peer=%s: out of memory", peer_s);
        close(fd);
        return;
    }
    if (acc->lst->tls) {
        int rc = br_tls_ctx_ktls(acc->lst->tls) ? br_tls_new_socket(acc->lst->tls, fd, &c->tls)
                                                : br_tls_new(acc->lst->tls, 0, &c->tls);
        if (rc < 0) {
            free(c);
            free(in);
            br_limits_release(&srv->limits, slot);
            br_err("refusing connection peer=%s: cannot set up TLS (out of memory)", peer_s);
            close(fd);
            return;
        }
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
    snprintf(c->peer, sizeof(c->peer), "%s", peer_s);
    socklen_t llen = sizeof(c->local);
    if (getsockname(fd, (struct sockaddr *)&c->local, &llen) != 0)
        memset(&c->local, 0, sizeof(c->local));
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
    br_info("connection from peer=%s on listener %s (%s)", c->peer, acc->lst->cfg->name,
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
    r->state = BR_RESP_READY;
    r->wprev = r->wnext = NULL;
    r->state = BR_RESP_READY;
    r->total = 0;
    r->npieces = 0;
    r->mem_start = 0;
    r->file_total = 0;
    return r;
}

static void resp_free(struct br_resp *r)
{
    br_resp_reset(r);
    free(r->buf);
    free(r->pieces);
    free(r->reads);
    free(r->dwaits);
    free(r->scratch);
    free(r);
}

static void resp_put(struct br_conn *c, struct br_resp *r)
{
    br_resp_reset(r);
    if (c->nfree >= FREE_RESPS) {
        resp_free(r);
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
    const struct br_config *cfg = c->loop->srv->cfg;
    return c->nresp >= cfg->queued_max_requests ||
           (int64_t)c->out_bytes >= cfg->connection_output_max_bytes;
}

void br_conn_resp_ready(struct br_resp *r)
{
    struct br_conn *c = r->conn;
    br_stats_request_done(c->loop->srv->stats, r->api_key, r->t_start_ns); /* parked: done */
    r->state = BR_RESP_READY;
    c->out_bytes += kp_wr_len(&r->wr);
    if (!c->closing)
        br_conn_kick(c);
}

/* ---- sender --------------------------------------------------------------------------- */

struct br_piece *br_conn_cur_piece(struct br_conn *c)
{
    struct br_resp *r = c->out_head;
    if (!r || r->state != BR_RESP_READY || c->piece >= r->npieces)
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
    resp_put(c, r);
    touch(c);
}

void br_conn_advance(struct br_conn *c, size_t n)
{
    c->bytes_out += n;
    while (c->out_head && c->out_head->state == BR_RESP_READY) {
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
    while (r && r->state == BR_RESP_READY && niov < (int)(sizeof(c->iov) / sizeof(c->iov[0]))) {
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
    /* A kernel-TLS socket (tls_sw_sendmsg) refuses every flag but MSG_MORE, MSG_DONTWAIT and
     * MSG_NOSIGNAL with EOPNOTSUPP; without MSG_WAITALL a short send just goes on at the next
     * step, from the position it reached. */
    unsigned flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
    if (c->xfer != &br_xfer_ktls)
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
            if (c->tls)
                br_xfer_tls_flush(c); /* handshake flights, alerts, session tickets */
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
    if (c->recv_armed || c->paused || c->bytes_wait || c->closing || c->eof)
        return;
    if (c->tls && br_tls_socket_mode(c->tls)) {
        /* kernel TLS: OpenSSL reads the socket itself once it is readable (or writable, when
         * the handshake waits to send) */
        struct io_uring_sqe *sqe = br_ring_sqe(&c->loop->ring, &c->recv_op);
        io_uring_prep_poll_add(sqe, c->fd, br_tls_want(c->tls) == POLLOUT ? POLLOUT : POLLIN);
        c->recv_multishot = false;
        c->recv_poll = true;
        c->recv_armed = true;
        c->inflight++;
        return;
    }
    if (c->tls) {
        /* ciphertext into the session; bounded by its rx buffer, not by the frame buffer */
        size_t room;
        uint8_t *p = br_tls_rx_space(c->tls, &room);
        if (room == 0)
            return; /* tls_input drains rx, then re-arms */
        struct io_uring_sqe *sqe = br_ring_sqe(&c->loop->ring, &c->recv_op);
        io_uring_prep_recv(sqe, c->fd, p, room, 0);
        c->recv_multishot = false;
        c->recv_armed = true;
        c->inflight++;
        return;
    }
    struct br_ring *ring = &c->loop->ring;
    if (ring->bufs) {
        struct io_uring_sqe *sqe = br_ring_sqe(ring, &c->recv_op);
        io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = BR_BGID;
        c->recv_multishot = true;
    } else {
        if (c->in_len == c->in_cap)
            return; /* a whole frame waits for a response slot: process_input re-arms */
        struct io_uring_sqe *sqe = br_ring_sqe(ring, &c->recv_op);
        io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        c->recv_multishot = false;
    }
    c->recv_armed = true;
    c->inflight++;
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
    if (br_limits_bytes_give(&c->loop->srv->limits, n))
        br_server_bytes_freed(c->loop);
}

static void bytes_wait_add(struct br_conn *c)
{
    struct br_loop *l = c->loop;
    if (c->bytes_wait)
        return;
    c->bytes_wait = true;
    c->bw_next = NULL;
    c->bw_prev = l->bytes_waits_tail;
    if (l->bytes_waits_tail)
        l->bytes_waits_tail->bw_next = c;
    else
        l->bytes_waits = c;
    l->bytes_waits_tail = c;
    /* seq_cst, before the caller tries the budget again: see br_limits_bytes_give */
    atomic_fetch_add(&l->nbytes_waits, 1);
    atomic_fetch_add(&l->srv->limits.bytes_waiters, 1);
}

static void bytes_wait_del(struct br_conn *c)
{
    struct br_loop *l = c->loop;
    if (!c->bytes_wait)
        return;
    c->bytes_wait = false;
    if (c->bw_prev)
        c->bw_prev->bw_next = c->bw_next;
    else
        l->bytes_waits = c->bw_next;
    if (c->bw_next)
        c->bw_next->bw_prev = c->bw_prev;
    else
        l->bytes_waits_tail = c->bw_prev;
    c->bw_prev = c->bw_next = NULL;
    atomic_fetch_sub(&l->nbytes_waits, 1);
    atomic_fetch_sub(&l->srv->limits.bytes_waiters, 1);
}

/* Takes n bytes of the budget: 0, or -EAGAIN with the connection waiting (not read) until bytes
 * are freed. The second try, after registering, closes the race with a concurrent give. */
static int bytes_take(struct br_conn *c, size_t n)
{
    struct br_limits *lim = &c->loop->srv->limits;
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
static int take_bytes(struct br_conn *c, const uint8_t *p, size_t n)
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
            br_limits_bytes_force(&c->loop->srv->limits, charge - c->in_charged);
        else if (charge < c->in_charged)
            bytes_give(c, c->in_charged - charge);
        c->in_charged = charge;
    }
    memcpy(c->in + c->in_len, p, n);
    c->in_len += n;
    return 0;
}

/*
 * Sizes the frame buffer once the input is processed: room for the whole frame being received
 * (need bytes, 0 while its size is unknown) and what is buffered, at least IN_BASE_CAP. Growth
 * is taken from the budget at once, for the whole frame; when the budget cannot give it the
 * connection waits, and a frame larger than the whole budget closes it. Room no longer needed
 * (a large frame handled) is given back.
 */
static void in_fit(struct br_conn *c, size_t need)
{
    struct br_limits *lim = &c->loop->srv->limits;
    bytes_wait_del(c); /* waiting again below if it still must */
    size_t target = need > c->in_len ? need : c->in_len;
    if (target < IN_BASE_CAP)
        target = IN_BASE_CAP;
    size_t charge = charge_of(target);
    if (target > c->in_cap) {
        if (lim->budget >= 0 && (uint64_t)charge > (uint64_t)lim->budget) {
            char why[160];
            snprintf(why, sizeof(why),
                     "request frame of %zu bytes is larger than queued.max.request.bytes=%lld",
                     target - 4, (long long)lim->budget);
            br_warn("peer=%s: %s", c->peer, why);
            br_conn_close(c, why);
            return;
        }
        size_t more = charge - c->in_charged;
        if (bytes_take(c, more) < 0)
            return; /* br_conn_bytes_retry comes back here */
        uint8_t *nb = realloc(c->in, target);
        if (!nb) {
            bytes_give(c, more);
            br_err("peer=%s: cannot allocate %zu bytes for a request", c->peer, target);
            br_conn_close(c, "out of memory");
            return;
        }
        c->in = nb;
        c->in_cap = target;
        c->in_charged = charge;
    } else if (c->in_cap - target >= IN_BASE_CAP ||
               (target == IN_BASE_CAP && c->in_cap > IN_BASE_CAP)) {
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

static int handle_frame(struct br_conn *c, uint8_t *frame, size_t len)
{
    struct br_resp *r = resp_get(c);
    if (!r)
        return -ENOMEM;
    c->n_requests++;
    touch(c);
    int rc = br_dispatch(c, r, frame, len);
    if (rc < 0 || rc == BR_NO_REPLY) {
        resp_put(c, r);
        return rc < 0 ? rc : 0;
    }
    if (c->out_tail)
        c->out_tail->next = r;
    else
        c->out_head = r;
    c->out_tail = r;
    c->nresp++;
    if (r->state == BR_RESP_READY)
        c->out_bytes += kp_wr_len(&r->wr);
    return 0;
}

static void process_input(struct br_conn *c)
{
    const struct br_config *cfg = c->loop->srv->cfg;
    size_t pos = 0;
    size_t need = 0; /* bytes of the next incomplete frame, when known */
    while (!c->closing) {
        if (backpressured(c)) {
            c->paused = true;
            stop_recv(c);
            break;
        }
        size_t left = c->in_len - pos;
        if (left < 4)
            break;
        if (!c->tls && c->n_requests == 0 && pos == 0 && br_tls_sniff(c->in, left)) {
            /* A TLS record header read as a frame size is ~360 MB: name it instead of
             * leaving it to socket.request.max.bytes (which may be set that high). */
            br_warn("peer=%s: TLS handshake on a PLAINTEXT listener %s (a TLS client on the "
                    "wrong port?)",
                    c->peer, c->lst->cfg->name);
            br_conn_close(c, "TLS handshake on a PLAINTEXT listener");
            return;
        }
        int32_t size = (int32_t)kp_load_be32(c->in + pos);
        if (size < 0 || (int64_t)size > cfg->socket_request_max_bytes) {
            char why[128];
            snprintf(why, sizeof(why),
                     "request frame of %d bytes exceeds socket.request.max.bytes=%lld", size,
                     (long long)cfg->socket_request_max_bytes);
            br_warn("peer=%s: %s", c->peer, why);
            br_conn_close(c, why);
            return;
        }
        if (size < 8) {
            br_warn("peer=%s: request frame of %d bytes is too short for a header", c->peer, size);
            br_conn_close(c, "malformed request frame");
            return;
        }
        if (left < 4 + (size_t)size) {
            need = 4 + (size_t)size;
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
    in_fit(c, need);
    if (c->closing)
        return;
    br_conn_kick(c);
}

/* Input was held back (backpressure, request bytes): takes up what is buffered, re-arms. */
static void resume_input(struct br_conn *c)
{
    if (c->req_start_ms)
        c->req_start_ms = c->loop->now_ms; /* the clock stopped while we did not read */
    if (c->tls)
        tls_input(c); /* plaintext may be waiting inside the session */
    else
        process_input(c);
    arm_recv(c);
}

void br_conn_bytes_retry(struct br_loop *loop)
{
    /* Oldest first; a connection that still cannot have its bytes goes back to the end, and
     * each one waiting now is tried once. */
    int n = atomic_load(&loop->nbytes_waits);
    for (int i = 0; i < n && loop->bytes_waits; i++) {
        struct br_conn *c = loop->bytes_waits;
        bytes_wait_del(c);
        if (c->closing || c->paused)
            continue; /* a paused one looks again when its queue drains */
        resume_input(c);
    }
}

static void after_progress(struct br_conn *c)
{
    if (c->closing)
        return;
    if (c->paused && !backpressured(c)) {
        c->paused = false;
        resume_input(c);
        if (c->closing)
            return;
    }
    if (c->loop->stopping && !c->out_head && c->in_len == 0 && !c->closing) {
        br_conn_close(c, "broker shutting down");
        return;
    }
    arm_recv(c);
}

/* ---- TLS input -------------------------------------------------------------------------- */

static void tls_fail(struct br_conn *c, int rc, const char *what)
{
    const char *why = br_tls_error(c->tls);
    if (rc == -EACCES) {
        br_warn("peer=%s: TLS handshake refused on listener %s: %s", c->peer, c->lst->cfg->name,
                why);
        /* best effort: the alert saying why, if nothing else is being sent */
        size_t n;
        const uint8_t *p = br_tls_tx_data(c->tls, &n);
        if (n && c->send_ops == 0 && send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
            br_tls_tx_consume(c->tls, n);
        br_conn_close(c, "TLS handshake refused");
        return;
    }
    char reason[320];
    snprintf(reason, sizeof(reason), "TLS %s: %s", what, why[0] ? why : strerror(-rc));
    if (rc == -ECONNRESET)
        br_conn_close(c, reason);
    else {
        br_warn("peer=%s: %s", c->peer, reason);
        br_conn_close(c, reason);
    }
}

/*
 * Looks at the client's first bytes once three have arrived: false (connection closing) when
 * they are not a TLS record. In socket mode they are peeked at on the socket.
 */
static bool tls_first_bytes_ok(struct br_conn *c)
{
    if (c->tls_checked)
        return true;
    uint8_t peek[4];
    const uint8_t *p = peek;
    size_t n = 0;
    if (br_tls_socket_mode(c->tls)) {
        ssize_t r = recv(c->fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
        if (r == 0) {
            br_conn_close(c, "peer closed the connection");
            return false;
        }
        if (r < 0)
            return true; /* nothing yet (or an error the handshake reports) */
        n = (size_t)r;
        if (n < 3)
            c->tls_checked = true; /* OpenSSL takes these bytes now: it judges them */
    } else {
        p = br_tls_rx_peek(c->tls, &n);
    }
    if (n < 3)
        return true;
    c->tls_checked = true;
    if (br_tls_sniff(p, n))
        return true;
    br_warn("peer=%s: not a TLS client on SSL listener %s (first bytes %02x %02x %02x %02x: a "
            "plaintext Kafka request?)",
            c->peer, c->lst->cfg->name, p[0], p[1], p[2], n > 3 ? p[3] : 0);
    br_conn_close(c, "not a TLS client");
    return false;
}

/*
 * A socket-mode (kernel TLS) session just finished its handshake: it sends through the kernel
 * when the kernel took its send keys, else it moves to memory mode and the copy path. Writes
 * the outcome into how for the connection's log line; false when the connection closes.
 */
static bool tls_pick_path(struct br_conn *c, char *how, size_t len)
{
    struct br_tls *t = c->tls;
    if (!br_tls_socket_mode(t)) {
        snprintf(how, len, "fetch path %s", c->xfer->name);
        return true;
    }
    if (br_ktls_send_active(t)) {
        c->xfer = &br_xfer_ktls;
        snprintf(how, len, "fetch path %s, kernel TLS send%s", c->xfer->name,
                 br_ktls_recv_active(t) ? " and receive" : "");
        return true;
    }
    int rc = br_tls_to_memory(t, 0);
    if (rc < 0) {
        br_warn("peer=%s: TLS on listener %s: the kernel took only part of the session (%s)",
                c->peer, c->lst->cfg->name, strerror(-rc));
        br_conn_close(c, "kernel TLS half set up");
        return false;
    }
    c->xfer = &br_xfer_tls;
    snprintf(how, len, "fetch path %s: the kernel did not take this session's keys", c->xfer->name);
    return true;
}

/*
 * Ciphertext arrived (or the peer's EOF), or in socket mode the socket became ready: drive the
 * handshake, then decrypt into the frame buffer and cut frames as on a plaintext connection.
 * Whatever a memory-mode session wants to say (handshake flights, alerts) is sent through the
 * transfer path's single send; a socket-mode session writes its own.
 */
static void tls_input(struct br_conn *c)
{
    struct br_tls *t = c->tls;
    if (!br_tls_established(t)) {
        if (!tls_first_bytes_ok(c))
            return;
        int rc = br_tls_handshake(t);
        if (rc == -EAGAIN) {
            br_xfer_tls_flush(c);
            return;
        }
        if (rc < 0) {
            tls_fail(c, rc, "handshake failed");
            return;
        }
        char d[128], subj[256], how[128];
        if (!tls_pick_path(c, how, sizeof(how)))
            return;
        br_tls_describe(t, d, sizeof(d));
        br_tls_peer_subject(t, subj, sizeof(subj));
        br_info("peer=%s: TLS established on listener %s (%s%s%s; %s)", c->peer, c->lst->cfg->name,
                d, subj[0] ? ", client " : "", subj[0] ? br_log_cstr(subj).s : "", how);
        c->req_start_ms = 0; /* the handshake's bytes were no request */
        br_xfer_tls_flush(c);
    }
    /* Bounded per call: at most the frame buffer's room per round, and rounds end when the
     * session has nothing more without new ciphertext. */
    for (;;) {
        bool got = false;
        while (c->in_len < c->in_cap) {
            ssize_t n = br_tls_read(t, c->in + c->in_len, c->in_cap - c->in_len);
            if (n > 0) {
                c->in_len += (size_t)n;
                got = true;
                continue;
            }
            if (n == -EAGAIN)
                break;
            if (n == 0) {
                br_conn_close(c, "peer sent close_notify");
                return;
            }
            tls_fail(c, (int)n, "read failed");
            return;
        }
        br_xfer_tls_flush(c);
        if (!got)
            break;
        process_input(c);
        if (c->closing || c->paused || c->bytes_wait || c->in_len == c->in_cap)
            break;
    }
}

/* ---- completions ---------------------------------------------------------------------- */

void br_conn_complete(struct br_conn *c, struct br_op *op, int res, unsigned flags)
{
    /* a multishot recv stays in flight until a CQE without F_MORE */
    if (!(op->kind == BR_OP_RECV && (flags & IORING_CQE_F_MORE)))
        c->inflight--;
    assert(c->inflight >= 0);
    switch (op->kind) {
    case BR_OP_RECV: {
        if (!(flags & IORING_CQE_F_MORE)) {
            c->recv_armed = false;
            c->recv_cancelling = false;
        }
        if (c->recv_poll) {
            /* kernel TLS: the socket is ready for the session (res: the poll's events) */
            c->recv_poll = false;
            if (c->closing)
                break;
            if (res > 0) {
                if (!c->req_start_ms)
                    c->req_start_ms = c->loop->now_ms;
                tls_input(c);
            } else if (res != -EINTR && res != -ECANCELED) {
                char why[96];
                snprintf(why, sizeof(why), "poll failed: %s", strerror(res ? -res : EIO));
                br_conn_close(c, why);
            }
            break;
        }
        int rc = 0;
        if (flags & IORING_CQE_F_BUFFER) {
            unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
            if (res > 0 && !c->closing)
                rc = take_bytes(c, br_ring_buf(&c->loop->ring, bid), (size_t)res);
            br_ring_buf_put(&c->loop->ring, bid);
        } else if (res > 0 && !c->recv_multishot && !c->tls) {
            c->in_len += (size_t)res;
        }
        if (c->closing)
            break;
        if (res > 0 && !c->req_start_ms)
            c->req_start_ms = c->loop->now_ms; /* bytes in: a request has begun */
        if (rc < 0) {
            br_err("peer=%s: cannot grow the request buffer past %zu bytes", c->peer, c->in_len);
            br_conn_close(c, "out of memory");
        } else if (res > 0 && c->tls) {
            br_tls_rx_commit(c->tls, (size_t)res);
            tls_input(c);
        } else if (res > 0) {
            process_input(c);
        } else if (res == 0) {
            c->eof = true;
            if (c->tls) {
                br_tls_rx_eof(c->tls);
                tls_input(c); /* names a handshake or record cut short */
            }
            br_conn_close(c, "peer closed the connection");
        } else if (res != -EINTR && res != -EAGAIN && res != -ENOBUFS && res != -ECANCELED) {
            char why[96];
            snprintf(why, sizeof(why), "receive failed: %s", strerror(-res));
            br_conn_close(c, why);
        }
        break;
    }
    case BR_OP_SEND:
        c->send_ops--;
        if (c->closing)
            break;
        if (res > 0) {
            br_conn_advance(c, (size_t)res);
        } else if (res == -EAGAIN || res == -EINTR) {
            c->want_pollout = true;
        } else if (res != -ECANCELED) {
            char why[96];
            snprintf(why, sizeof(why), "send failed: %s", strerror(res ? -res : EPIPE));
            br_conn_close(c, why);
        }
        break;
    case BR_OP_ADMIN: {
        atomic_fetch_sub(&c->loop->admin_pending, 1);
        struct br_admin_job *j = (struct br_admin_job *)op; /* op is the job's first member */
        if (!c->closing)
            j->done(j);
        break;
    }
    case BR_OP_POLLOUT:
        c->send_ops--;
        if (!c->closing && res < 0 && res != -ECANCELED && res != -EINTR)
            br_conn_close(c, "poll failed");
        break;
    case BR_OP_XFER_IN:
    case BR_OP_XFER_OUT:
        c->send_ops--;
        if (c->closing) {
            if (c->xfer->abandoned)
                c->xfer->abandoned(c, op, res);
            break;
        }
        {
            int rc = c->xfer->complete(c, op, res);
            if (rc < 0) {
                char why[96];
                snprintf(why, sizeof(why), "%s transfer failed: %s", c->xfer->name, strerror(-rc));
                br_conn_close(c, why);
            } else if (c->tls && op->kind == BR_OP_XFER_OUT && br_tls_input_blocked(c->tls)) {
                /* the handshake (or a read) waited for room in tx: there is some now */
                tls_input(c);
            }
        }
        break;
    default:
        break;
    }
    assert(c->send_ops >= 0 && c->send_ops <= c->inflight);
    if (c->closing) {
        if (c->inflight == 0) {
            /* two-phase close: nothing of ours is left in the kernel's hands (a pipe with
             * our splices in flight, a buffer being read into) */
            assert(c->send_ops == 0 && !c->recv_armed);
            conn_free(c);
        }
        return;
    }
    if (c->send_ops == 0)
        br_conn_kick(c);
    after_progress(c);
}

/* ---- close ---------------------------------------------------------------------------- */

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
    br_info("closing connection peer=%s: %s", c->peer, reason);
    br_debug("peer=%s: %llu requests, %llu bytes out in %llu transfer steps (%llu in line), "
             "%llu waits for writability (%s)",
             c->peer, (unsigned long long)c->n_requests, (unsigned long long)c->bytes_out,
             (unsigned long long)c->n_steps, (unsigned long long)c->n_inline,
             (unsigned long long)c->n_pollout, c->xfer->name);
    if (c->n_disk_reads)
        br_debug("peer=%s: %llu chunks were not in the page cache and were read from disk", c->peer,
                 (unsigned long long)c->n_disk_reads);
    for (struct br_resp *r = c->out_head; r; r = r->next)
        if (r->state != BR_RESP_READY)
            br_loop_unwait(c->loop, r);
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
        resp_free(r);
    }
    while (c->free_resps) {
        struct br_resp *r = c->free_resps;
        c->free_resps = r->next;
        resp_free(r);
    }
    c->xfer->release(c);
    br_tls_free(c->tls);
    c->tls = NULL;
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
    while (loop->conns) {
        struct br_conn *c = loop->conns;
        for (struct br_resp *r = c->out_head; r; r = r->next)
            if (r->state != BR_RESP_READY)
                br_loop_unwait(loop, r);
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
    const struct br_config *cfg = loop->srv->cfg;
    int64_t idle = cfg->connections_max_idle_ms;
    int64_t hs = cfg->tls.handshake_timeout_ms;
    int64_t rto = cfg->request_receive_timeout_ms;
    /* (closing connections are on another list: every one here is live) */
    for (struct br_conn *c = loop->conns, *next; c; c = next) {
        next = c->next;
        bool handshaking = c->tls && !br_tls_established(c->tls);
        if (handshaking && hs > 0 && loop->now_ms - c->accepted_ms > hs) {
            /* a stalled (or slow-loris) handshake holds its buffers no longer than this */
            br_warn("peer=%s: TLS handshake not finished within ssl.handshake.timeout.ms=%lld",
                    c->peer, (long long)hs);
            br_conn_close(c, "TLS handshake timed out");
            continue;
        }
        if (rto > 0 && c->req_start_ms && !handshaking && !c->paused && !c->bytes_wait &&
            loop->now_ms - c->req_start_ms > rto) {
            /* a slow sender (one byte now and then) would otherwise hold its place forever */
            br_warn("peer=%s: request not received whole within request.receive.timeout.ms=%lld "
                    "(%zu bytes of it in)",
                    c->peer, (long long)rto, c->in_len);
            br_conn_close(c, "request not received within request.receive.timeout.ms");
            continue;
        }
        if (idle > 0 && !c->out_head && loop->now_ms - c->last_active_ms > idle)
            br_conn_close(c, "idle longer than connections.max.idle.ms");
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
