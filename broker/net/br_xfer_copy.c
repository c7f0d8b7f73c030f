/*
 * br_xfer_copy — the baseline: each chunk of a file range is read into a bounded
 * per-connection buffer (fetch.copy.buffer.bytes) with an io_uring read, then sent with a
 * linked io_uring send. A short read breaks the link (the send is cancelled); the next step
 * sends what was read. The buffer is allocated on the connection's first fetch and kept.
 * Small cached responses go in line first (br_xfer_inline.c); the sendfile path sends its
 * cold chunks through this step too (br_xfer__copy_step).
 *
 * State: copy_fill = bytes of the buffer holding file data not yet sent; they correspond to
 * the file bytes at the current position (piece_off) onwards.
 */
#include <errno.h>
#include <string.h>

#include "br_xfer.h"

int br_xfer__copy_step(struct br_conn *c)
{
    struct br_piece *p = br_conn_cur_piece(c);
    if (!p)
        return 0;
    if (p->kind == BR_PIECE_MEM) {
        br_conn_send_mem(c, false);
        return 0;
    }
    if (!br_xfer__buf(c))
        return -ENOMEM;
    struct io_uring_sqe *sqe;
    if (c->copy_fill > 0) {
        sqe = br_ring_sqe(&c->loop->ring, &c->xout_op);
        io_uring_prep_send(sqe, c->fd, c->copy_buf, c->copy_fill, MSG_NOSIGNAL | MSG_WAITALL);
        c->send_ops++;
        c->inflight++;
        return 0;
    }
    size_t left = p->len - c->piece_off;
    size_t n = left < c->copy_cap ? left : c->copy_cap;
    sqe = br_ring_sqe(&c->loop->ring, &c->xin_op);
    io_uring_prep_read(sqe, p->fd, c->copy_buf, (unsigned)n, p->off + c->piece_off);
    sqe->flags |= IOSQE_IO_LINK;
    c->send_ops++;
    c->inflight++;
    sqe = br_ring_sqe(&c->loop->ring, &c->xout_op);
    io_uring_prep_send(sqe, c->fd, c->copy_buf, n, MSG_NOSIGNAL | MSG_WAITALL);
    c->send_ops++;
    c->inflight++;
    c->copy_fill = n; /* provisional: corrected by the read's completion */
    return 0;
}

int br_xfer__copy_complete(struct br_conn *c, struct br_op *op, int res)
{
    if (op->kind == BR_OP_XFER_IN) {
        if (res < 0) {
            c->copy_fill = 0;
            return res == -ECANCELED ? 0 : res;
        }
        if (res == 0) {
            c->copy_fill = 0;
            return -ENODATA;
        }
        c->copy_fill = (size_t)res;
        return 0;
    }
    /* BR_OP_XFER_OUT: the send of copy_buf */
    if (res == -ECANCELED)
        return 0; /* short read broke the link: the next step sends what was read */
    if (res == -EAGAIN || res == -EINTR) {
        c->want_pollout = true;
        return 0;
    }
    if (res < 0)
        return res;
    size_t n = (size_t)res;
    if (n > c->copy_fill)
        return -EIO;
    br_conn_advance(c, n);
    if (n < c->copy_fill) {
        /* keep the unsent tail at the start of the buffer */
        memmove(c->copy_buf, c->copy_buf + n, c->copy_fill - n);
    }
    c->copy_fill -= n;
    return 0;
}

static int cp_step(struct br_conn *c)
{
    int rc = br_xfer__inline_step(c);
    return rc != 0 ? (rc < 0 ? rc : 0) : br_xfer__copy_step(c);
}

static void cp_release(struct br_conn *c) { br_xfer__buf_free(c); }

const struct br_xfer br_xfer_copy = {
    .name = "copy",
    .step = cp_step,
    .complete = br_xfer__copy_complete,
    .release = cp_release,
};
