/*
 * br_rx — the plaintext receive side, and the choice of a new connection's transport (see
 * br_rx.h). The TLS transports are in br_rx_tls.c.
 */
#include "br_rx.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "br_conn.h"
#include "br_log.h"
#include "br_tls.h"

int br_rx_open(struct br_conn *c, const struct br_listener *lst, int fd)
{
    if (!lst->tls) {
        c->rx = &br_rx_plain;
        return 0;
    }
    if (br_tls_ctx_ktls(lst->tls)) {
        int rc = br_tls_new_socket(lst->tls, fd, &c->tls);
        c->rx = &br_rx_tls_sock_handshake;
        return rc;
    }
    c->rx = &br_rx_tls_handshake;
    return br_tls_new(lst->tls, 0, &c->tls);
}

/* A multishot recv into the loop's provided buffers, else a single-shot one into the frame
 * buffer (not when it is full: a whole frame waits for a response slot, input re-arms). */
static void plain_arm(struct br_conn *c)
{
    struct br_ring *ring = &c->loop->ring;
    if (ring->bufs) {
        struct io_uring_sqe *sqe = br_ring_sqe(ring, &c->recv_op);
        io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = BR_BGID;
        c->recv_multishot = true;
    } else {
        if (c->in_len == c->in_cap)
            return;
        struct io_uring_sqe *sqe = br_ring_sqe(ring, &c->recv_op);
        io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        c->recv_multishot = false;
    }
    c->recv_armed = true;
    c->inflight++;
}

static void plain_input(struct br_conn *c)
{
    if (c->n_requests == 0 && c->in_len >= 4 && br_tls_sniff(c->in, c->in_len)) {
        /* A TLS record header read as a frame size is ~360 MB: name it instead of leaving it
         * to socket.request.max.bytes (which may be set that high). */
        br_warn("peer=%s: TLS handshake on a PLAINTEXT listener %s (a TLS client on the wrong "
                "port?)",
                c->peer.name, c->lst->cfg->name);
        br_conn_close(c, "TLS handshake on a PLAINTEXT listener");
        return;
    }
    br_conn__input(c);
}

static void plain_complete(struct br_conn *c, int res, unsigned flags)
{
    int rc = 0;
    if (flags & IORING_CQE_F_BUFFER) {
        /* the bytes are copied and the provided buffer goes straight back to the ring, also
         * for a closing connection */
        unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
        if (res > 0 && !c->closing)
            rc = br_conn__take(c, br_ring_buf(&c->loop->ring, bid), (size_t)res);
        br_ring_buf_put(&c->loop->ring, bid);
    } else if (res > 0 && !c->recv_multishot) {
        c->in_len += (size_t)res; /* a single-shot recv wrote into the frame buffer */
    }
    if (c->closing)
        return;
    if (rc < 0) {
        br_err("peer=%s: cannot grow the request buffer past %zu bytes", c->peer.name, c->in_len);
        br_conn_close(c, "out of memory");
    } else if (res > 0) {
        br_conn__begun(c);
        plain_input(c);
    } else {
        br_conn__recv_end(c, res);
    }
}

const struct br_rx br_rx_plain = {
    .name = "plain",
    .arm = plain_arm,
    .complete = plain_complete,
    .input = plain_input,
};
