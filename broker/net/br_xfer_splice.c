/*
 * br_xfer_splice — zero-copy fetch: page cache -> pipe -> socket with io_uring splice.
 *
 * One step is a chain of linked SQEs:
 *     [send of the response bytes before the range, MSG_MORE]  (when the range follows them)
 *     splice file -> pipe   (at most the pipe's capacity)
 *     splice pipe -> socket (the same length)
 *     ... the last two repeated for up to CHAIN_PAIRS pipe-fulls of the same range
 * A short transfer fails the link and the rest of the chain completes with -ECANCELED; the
 * state below records what actually moved, and the next step continues from there:
 *     pipe_fill  bytes in the pipe that still have to reach the socket
 *     piece_off  bytes of the file range already on the socket
 * so the file is read from piece.off + piece_off + pipe_fill. A step starts with
 * "drain the pipe" whenever pipe_fill > 0.
 *
 * The socket is non-blocking, so pipe -> socket returns -EAGAIN when the socket buffer is
 * full; the sender then waits for POLLOUT and resubmits. Nothing here blocks the loop.
 *
 * Pipes come from a bounded per-loop pool (fetch.splice.pipes). A connection holds one only
 * while a file range is in transfer, and gives it back with its count of the bytes still in
 * it; the pool reuses only pipes the kernel reports empty (a connection closed mid-transfer
 * leaves bytes of its response in the pipe: they must never reach the next holder). Splices
 * that complete after the connection began closing are still counted (sp_abandoned). When the pool
 * is empty (every pipe held, perhaps by clients that stopped reading), the step goes through
 * sendfile(2) rather than waiting: the same bytes, no pipe, never blocking.
 *
 * Every IORING_OP_SPLICE runs in an io-wq worker thread (the kernel marks it REQ_F_FORCE_ASYNC
 * at prep): a chain costs a wake-up of a worker and, for its completions, of the loop. That is
 * cheap against a pipe-full of bytes and dear against a few KiB, so small cached responses go
 * in line instead (br_xfer_inline.c), and fetch.transfer=auto picks this path only where it
 * measured fastest (br_xfer_auto.c; docs/transfer-paths.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "br_log.h"
#include "br_xfer.h"

/* pipe-fulls per chain (one trip through the loop per CHAIN_PAIRS MiB with 1 MiB pipes) */
#define CHAIN_PAIRS 4

/* Gives the pipe back to the loop's pool, with the bytes we count as still inside: the pool
 * checks with the kernel and replaces a pipe that is not empty (br_loop_pipe_put). */
static void give_back(struct br_conn *c)
{
    if (!c->pipe)
        return;
    struct br_pipe *p = c->pipe;
    c->pipe = NULL;
    size_t fill = c->pipe_fill;
    c->pipe_fill = 0;
    br_loop_pipe_put(c->loop, p, fill);
}

static int sp_step(struct br_conn *c)
{
    struct br_piece *p = br_conn_cur_piece(c);
    if (!p)
        return 0;
    if (c->pipe_fill == 0) {
        int rc = br_xfer__inline_step(c);
        if (rc != 0) {
            give_back(c); /* empty: the next large range takes one again */
            return rc < 0 ? rc : 0;
        }
    }
    struct br_piece *file = p;
    bool with_header = false;
    if (p->kind == BR_PIECE_MEM) {
        struct br_piece *nx = br_conn_next_piece(c);
        if (!nx || nx->kind != BR_PIECE_FILE) {
            br_conn_send_mem(c, false);
            return 0;
        }
        file = nx;
        with_header = true;
    }
    if (!c->pipe) {
        c->pipe = br_loop_pipe_get(c->loop);
        if (!c->pipe) {
            /* Every pipe is held by a transfer in progress, possibly to a client that does
             * not read: waiting for one could starve this connection indefinitely. This step
             * goes through sendfile(2) instead, which needs no pipe and never blocks. */
            return br_xfer_sendfile.step(c);
        }
    }
    struct br_ring *ring = &c->loop->ring;
    if (c->pipe_fill > 0) {
        struct io_uring_sqe *sqe = br_ring_sqe(ring, &c->xout_op);
        io_uring_prep_splice(sqe, c->pipe->rd, -1, c->fd, -1, (unsigned)c->pipe_fill,
                             SPLICE_F_MOVE);
        c->send_ops++;
        c->inflight++;
        return 0;
    }
    size_t done = with_header ? 0 : c->piece_off;
    size_t left = file->len - done;
    if (with_header)
        br_conn_send_mem(c, true);
    /* Up to CHAIN_PAIRS pipe-fulls in one chain: the offsets of later pairs assume every
     * earlier op moved its whole length, which holds because a short one cancels the rest. */
    for (int k = 0; k < CHAIN_PAIRS && left > 0; k++) {
        size_t n = left < c->pipe->cap ? left : c->pipe->cap;
        struct io_uring_sqe *sqe = br_ring_sqe(ring, &c->xin_op);
        io_uring_prep_splice(sqe, file->fd, (int64_t)(file->off + done), c->pipe->wr, -1,
                             (unsigned)n, SPLICE_F_MOVE);
        sqe->flags |= IOSQE_IO_LINK;
        c->send_ops++;
        c->inflight++;
        done += n;
        left -= n;
        sqe = br_ring_sqe(ring, &c->xout_op);
        io_uring_prep_splice(sqe, c->pipe->rd, -1, c->fd, -1, (unsigned)n, SPLICE_F_MOVE);
        if (left > 0 && k + 1 < CHAIN_PAIRS)
            sqe->flags |= IOSQE_IO_LINK;
        c->send_ops++;
        c->inflight++;
    }
    return 0;
}

static int sp_complete(struct br_conn *c, struct br_op *op, int res)
{
    if (res == -ECANCELED)
        return 0;
    if (op->kind == BR_OP_XFER_IN) {
        /* the pipe is empty when a file -> pipe splice starts, so -EAGAIN cannot mean "pipe
         * full": it is an error, not a reason to try again (which could spin) */
        if (res < 0)
            return res == -EINTR ? 0 : res;
        if (res == 0)
            return -ENODATA; /* the file is shorter than the range the store gave */
        c->pipe_fill += (size_t)res;
        return 0;
    }
    if (res == -EAGAIN || res == -EINTR) {
        c->want_pollout = true;
        return 0;
    }
    if (res < 0)
        return res;
    if ((size_t)res > c->pipe_fill)
        return -EIO;
    c->pipe_fill -= (size_t)res;
    br_conn_advance(c, (size_t)res);
    if (c->pipe_fill == 0 && c->send_ops == 0) {
        /* between ranges the pipe goes back to the pool unless the next piece needs it */
        struct br_piece *p = br_conn_cur_piece(c);
        struct br_piece *nx = p && p->kind == BR_PIECE_MEM ? br_conn_next_piece(c) : p;
        if (!nx || nx->kind != BR_PIECE_FILE)
            give_back(c);
    }
    return 0;
}

/* A completion that arrives after the connection began closing moves no position, but the
 * bytes it put into (or took out of) the pipe are counted, so that the count handed back with
 * the pipe is what the pipe holds. */
static void sp_abandoned(struct br_conn *c, struct br_op *op, int res)
{
    if (res <= 0)
        return;
    if (op->kind == BR_OP_XFER_IN)
        c->pipe_fill += (size_t)res;
    else if (op->kind == BR_OP_XFER_OUT)
        c->pipe_fill -= (size_t)res <= c->pipe_fill ? (size_t)res : c->pipe_fill;
}

static void sp_release(struct br_conn *c)
{
    give_back(c);
    br_xfer__buf_free(c); /* the in-line step's */
}

const struct br_xfer br_xfer_splice = {
    .name = "splice",
    .step = sp_step,
    .complete = sp_complete,
    .abandoned = sp_abandoned,
    .release = sp_release,
};
