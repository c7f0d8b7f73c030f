/*
 * br_xfer_tls — the transfer path of SSL listeners: every byte of a response is encrypted in
 * user space (br_tls.h), so the path is a copy path with a cipher in the middle.
 *
 * One step:
 *   1. Stage plaintext: from the send position on, the bytes of the ready responses are
 *      gathered into the connection's staging buffer (allocated on its first response and
 *      kept, never per fetch): memory pieces by memcpy, file ranges by preadv2(RWF_NOWAIT),
 *      which copies what the page cache holds and never waits for the disk. Small responses
 *      (produce acks, metadata) share records with their neighbours; a fetch's header and its
 *      first records share one. When a range is not in the page cache (a consumer reading old
 *      segments), the bytes staged so far are encrypted first; then, with the stage empty, an
 *      io_uring read fills it and the step ends until it completes: the loop thread never
 *      blocks on the disk.
 *   2. Encrypt: records of at most 16 KiB (BR_TLS_RECORD_MAX) go into the session's tx
 *      buffer while a whole record fits. The send position advances as plaintext is taken
 *      by the cipher: those bytes are in tx now, so the response (and the segment references
 *      its file pieces hold) can be released before the ciphertext is on the wire.
 *   3. Send tx with one io_uring send (MSG_WAITALL); its completion consumes tx and the next
 *      step starts. The same send carries the handshake flights and alerts (br_conn's TLS
 *      input calls br_xfer_tls_flush): one send of tx at a time, counted in send_ops.
 *
 * State: stage[stage_off, stage_fill) are the plaintext bytes at the send position.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "br_tls.h"
#include "br_tls_conn.h"
#include "br_xfer.h"

/* Plaintext staged per step: four full records, as much as the session's tx buffer
 * (BR_TLS_TX_CAP_DEFAULT) holds encrypted. Measured with bench_fetch --paths copy,tls (1 GiB, same
 * runs): larger steps (8 or 16 records per send) and smaller ones (16 or 32 KiB staged, 2 or 3
 * records per send) all cost more broker CPU per GiB than this; the staging and tx buffers stay
 * cache-hot. */
#define TLS_STAGE_CAP (4 * BR_TLS_RECORD_MAX)

/* Reads [off, off+len) of fd into dst from the page cache only: bytes, or -errno (-EAGAIN:
 * not cached, the read would wait for the disk). */
static ssize_t read_cached(const struct br_conn *c, int fd, uint8_t *dst, size_t len, uint64_t off)
{
    if (c->loop->cfg->test_tls_cold_reads)
        return -EAGAIN; /* (tests: every chunk is read through io_uring) */
    struct iovec iov = {.iov_base = dst, .iov_len = len};
    ssize_t n;
    do {
        n = preadv2(fd, &iov, 1, (off_t)off, RWF_NOWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EOPNOTSUPP) {
        /* a file system without RWF_NOWAIT: a plain read (the log is normally cached) */
        do {
            n = pread(fd, dst, len, (off_t)off);
        } while (n < 0 && errno == EINTR);
    }
    return n < 0 ? -errno : n;
}

/*
 * Gathers plaintext from the send position into the staging buffer: 0 (stage_fill bytes
 * staged), 1 when an io_uring read into the empty stage was queued instead (the step waits
 * for it), or -errno.
 */
static int stage_fill(struct br_conn *c)
{
    c->stage_off = c->stage_fill = 0;
    struct br_resp *r = c->out_head;
    int pi = c->piece;
    size_t off = c->piece_off;
    while (r && !r->parked && c->stage_fill < c->stage_cap) {
        if (pi >= r->npieces) {
            r = r->next;
            pi = 0;
            off = 0;
            continue;
        }
        const struct br_piece *p = &r->pieces[pi];
        size_t take = p->len - off;
        if (take > c->stage_cap - c->stage_fill)
            take = c->stage_cap - c->stage_fill;
        uint8_t *dst = c->stage + c->stage_fill;
        if (p->kind == BR_PIECE_MEM) {
            memcpy(dst, r->buf + p->off + off, take);
        } else {
            ssize_t n = c->stage_cold && c->stage_fill == 0
                            ? -EAGAIN
                            : read_cached(c, p->fd, dst, take, p->off + off);
            if (n == -EAGAIN) {
                if (c->stage_fill > 0) {
                    c->stage_cold = true; /* encrypt what is staged; then read from the disk */
                    break;
                }
                c->stage_cold = false;
                struct io_uring_sqe *sqe = br_ring_sqe(&c->loop->ring, &c->xin_op);
                io_uring_prep_read(sqe, p->fd, dst, (unsigned)take, p->off + off);
                c->n_disk_reads++;
                c->send_ops++;
                c->inflight++;
                return 1;
            }
            if (n < 0)
                return (int)n;
            if (n == 0)
                return -ENODATA; /* the published range is shorter than promised */
            take = (size_t)n;
        }
        c->stage_fill += take;
        off += take;
        if (off == p->len) {
            pi++;
            off = 0;
        } else if (p->kind == BR_PIECE_FILE && c->stage_fill < c->stage_cap) {
            break; /* short read: send what we have, the next fill resumes here */
        }
    }
    return 0;
}

static void send_tx(struct br_conn *c)
{
    size_t n;
    const uint8_t *p = br_tls_tx_data(c->tls, &n);
    if (n == 0)
        return;
    struct io_uring_sqe *sqe = br_ring_sqe(&c->loop->ring, &c->xout_op);
    io_uring_prep_send(sqe, c->fd, p, n, MSG_NOSIGNAL | MSG_WAITALL);
    c->send_ops++;
    c->inflight++;
}

void br_xfer_tls_flush(struct br_conn *c)
{
    if (c->closing || c->send_ops != 0 || c->want_pollout)
        return;
    send_tx(c);
}

static int tls_step(struct br_conn *c)
{
    struct br_tls *t = c->tls;
    if (!br_tls_established(t)) {
        send_tx(c); /* handshake flights only */
        return 0;
    }
    if (!c->stage) {
        /* on the connection's first response, kept until it closes (as the copy path's) */
        c->stage = malloc(TLS_STAGE_CAP);
        if (!c->stage)
            return -ENOMEM;
        c->stage_cap = TLS_STAGE_CAP;
    }
    while (br_tls_tx_room(t) >= BR_TLS_RECORD_MAX + BR_TLS_RECORD_OVERHEAD) {
        if (c->stage_off == c->stage_fill) {
            if (!br_conn_cur_piece(c))
                break;
            int rc = stage_fill(c);
            if (rc < 0)
                return rc;
            if (rc > 0 || c->stage_fill == 0)
                break; /* a disk read is in flight: its completion resumes the sender */
        }
        size_t len = c->stage_fill - c->stage_off;
        ssize_t w = br_tls_write(t, c->stage + c->stage_off, len);
        if (w == -EAGAIN)
            break;
        if (w < 0)
            return (int)w;
        c->stage_off += (size_t)w;
        br_conn_advance(c, (size_t)w);
    }
    send_tx(c);
    return 0;
}

static int tls_complete(struct br_conn *c, struct br_op *op, int res)
{
    if (op->kind == BR_OP_XFER_IN) {
        /* the disk read into the empty stage (stage_fill): the next step encrypts it */
        if (res == -ECANCELED)
            return 0;
        if (res < 0)
            return res;
        if (res == 0)
            return -ENODATA;
        if ((size_t)res > c->stage_cap)
            return -EIO;
        c->stage_off = 0;
        c->stage_fill = (size_t)res;
        return 0;
    }
    if (op->kind != BR_OP_XFER_OUT)
        return -EINVAL;
    if (res == -ECANCELED)
        return 0;
    if (res == -EAGAIN || res == -EINTR) {
        c->want_pollout = true;
        return 0;
    }
    if (res < 0)
        return res;
    if (res == 0)
        return -EPIPE;
    size_t have;
    br_tls_tx_data(c->tls, &have);
    if ((size_t)res > have)
        return -EIO;
    br_tls_tx_consume(c->tls, (size_t)res);
    c->tls_bytes_out += (uint64_t)res;
    /* the rest of a short send goes on at once; otherwise the sender's next step runs */
    br_tls_tx_data(c->tls, &have);
    if (have)
        send_tx(c);
    else if (c->close_after_tx)
        br_conn_close(c, "SASL authentication did not succeed");
    return 0;
}

static void tls_release(struct br_conn *c)
{
    free(c->stage);
    c->stage = NULL;
    c->stage_cap = c->stage_off = c->stage_fill = 0;
}

const struct br_xfer br_xfer_tls = {
    .name = "tls-copy",
    .step = tls_step,
    .complete = tls_complete,
    .release = tls_release,
    .idle = br_xfer_tls_flush,
};
