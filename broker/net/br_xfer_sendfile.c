/*
 * br_xfer_sendfile — file ranges through sendfile(2) on the non-blocking socket, the classic
 * Kafka path. Response bytes in memory go out through io_uring sends (MSG_MORE when a file
 * range follows). A file range is pushed synchronously until the socket buffer is full
 * (-EAGAIN) or the per-step budget is spent; then the sender waits for POLLOUT and resumes.
 * The budget keeps one connection from monopolising its loop thread.
 *
 * sendfile(2) reads the page cache synchronously: on a page that is not cached it would wait
 * for the disk in the loop thread, stalling every connection of the loop (a consumer reading
 * old segments would raise every other consumer's latency). So each chunk is checked first
 * (br_xfer__resident: one cachestat call); a cold chunk goes through the copy path's step
 * instead (an io_uring read into the connection's buffer, linked to a send), counted in
 * n_disk_reads, and the next chunk is checked again (for pages up to date: readahead started
 * by the read may still be in flight). Small cached responses go in line
 * (br_xfer_inline.c).
 *
 * ktls-sendfile is the same path on an SSL connection whose session handed its send keys to
 * the kernel (br_ktls.c): what is written to the socket is plaintext the kernel encrypts into
 * TLS records, so memory pieces go out through the same io_uring sends and file ranges
 * through SSL_sendfile (sendfile on the kTLS socket): the page cache is encrypted straight
 * into the socket buffer, with no userspace copy.
 */
#include <errno.h>
#include <sys/sendfile.h>

#include "br_tls.h"
#include "br_xfer.h"

#define STEP_BUDGET (8u << 20)
#define CHUNK       (1u << 20)

/* Sends up to n bytes of file fd at off to the connection: bytes sent or -errno. */
typedef ssize_t (*send_range_fn)(struct br_conn *c, int fd, off_t off, size_t n);

static ssize_t range_sendfile(struct br_conn *c, int fd, off_t off, size_t n)
{
    ssize_t w = sendfile(c->fd, fd, &off, n);
    return w < 0 ? -errno : w;
}

static ssize_t range_ktls(struct br_conn *c, int fd, off_t off, size_t n)
{
    return br_ktls_sendfile(c->tls, fd, off, n);
}

static int step_with(struct br_conn *c, send_range_fn send_range, bool cold_check)
{
    size_t budget = STEP_BUDGET;
    if (c->copy_fill > 0)
        return br_xfer__copy_step(c); /* the rest of a cold chunk */
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
        if (cold_check) {
            /* after a cold chunk, readahead may still be reading the next: ask for pages
             * that are up to date, or sendfile would wait for them */
            if (br_xfer__resident(p->fd, p->off + c->piece_off, n, c->sf_cold) == 0) {
                c->sf_cold = true;
                c->n_disk_reads++;
                return br_xfer__copy_step(c);
            }
            c->sf_cold = false;
        }
        ssize_t w = send_range(c, p->fd, (off_t)(p->off + c->piece_off), n);
        if (w == -EAGAIN || w == -EINTR) {
            c->want_pollout = true;
            return 0;
        }
        if (w < 0)
            return (int)w;
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

static int sf_step(struct br_conn *c)
{
    int rc = br_xfer__inline_step(c);
    return rc != 0 ? (rc < 0 ? rc : 0) : step_with(c, range_sendfile, true);
}

static int ktls_step(struct br_conn *c) { return step_with(c, range_ktls, false); }

/* Completions of the cold chunks' read and send (br_xfer__copy_step). */
static int sf_complete(struct br_conn *c, struct br_op *op, int res)
{
    return br_xfer__copy_complete(c, op, res);
}

static int ktls_complete(struct br_conn *c, struct br_op *op, int res)
{
    (void)c;
    (void)op;
    (void)res;
    return 0;
}

static void sf_release(struct br_conn *c) { br_xfer__buf_free(c); }

const struct br_xfer br_xfer_sendfile = {
    .name = "sendfile",
    .step = sf_step,
    .complete = sf_complete,
    .release = sf_release,
};

const struct br_xfer br_xfer_ktls = {
    .name = "ktls-sendfile",
    .no_waitall = true,
    .step = ktls_step,
    .complete = ktls_complete,
    .release = sf_release,
};
