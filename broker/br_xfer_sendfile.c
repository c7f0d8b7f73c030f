/*
 * br_xfer_sendfile — file ranges through sendfile(2) on the non-blocking socket, the classic
 * Kafka path. Response bytes in memory go out through io_uring sends (MSG_MORE when a file
 * range follows). A file range is pushed synchronously until the socket buffer is full
 * (-EAGAIN) or the per-step budget is spent; then the sender waits for POLLOUT and resumes.
 * The budget keeps one connection from monopolising its loop thread.
 */
#include <errno.h>
#include <sys/sendfile.h>

#include "br_xfer.h"

#define STEP_BUDGET (8u << 20)
#define CHUNK       (1u << 20)

static int sf_step(struct br_conn *c)
{
    size_t budget = STEP_BUDGET;
    for (;;) {
        struct br_piece *p = br_conn_cur_piece(c);
        if (!p)
            return 0;
        if (p->kind == BR_PIECE_MEM) {
            br_conn_send_mem(c, false);
            return 0;
        }
        size_t left = p->len - c->piece_off;
        size_t n = left < CHUNK ? left : CHUNK;
        off_t off = (off_t)(p->off + c->piece_off);
        ssize_t w = sendfile(c->fd, p->fd, &off, n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                c->want_pollout = true;
                return 0;
            }
            return -errno;
        }
        if (w == 0)
            return -ENODATA; /* the file is shorter than the range the store gave */
        br_conn_advance(c, (size_t)w);
        if ((size_t)w >= budget) {
            c->want_pollout = true; /* yield: resumes at once if still writable */
            return 0;
        }
        budget -= (size_t)w;
    }
}

static int sf_complete(struct br_conn *c, struct br_op *op, int res)
{
    (void)c;
    (void)op;
    (void)res;
    return 0;
}

static void sf_release(struct br_conn *c) { (void)c; }

const struct br_xfer br_xfer_sendfile = {
    .name = "sendfile",
    .step = sf_step,
    .complete = sf_complete,
    .release = sf_release,
};
