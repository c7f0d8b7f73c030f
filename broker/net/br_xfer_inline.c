/*
 * br_xfer_inline — what the transfer paths share: the in-line step for small responses, the
 * connection's copy buffer, and the page-cache residency check.
 *
 * Why small responses go in line (docs/transfer-paths.md has the figures): a consumer that
 * keeps up fetches a few KiB at a time, thousands of times a second. Then what a response
 * costs is the number of operations and thread hops, not the bytes: splice is a linked
 * send -> splice -> splice chain that io_uring always runs in an io-wq worker (every
 * IORING_OP_SPLICE is forced async), one wake-up of a worker thread and one of the loop per
 * fetch; sendfile is an io_uring send of the header and then a system call; copy a send, then
 * a read linked to a send. Copying a few KiB costs less than any of those: here the header,
 * the file bytes the page cache holds (preadv2 RWF_NOWAIT, which never waits for the disk)
 * and every response ready behind them go out in one sendmsg. A range that is larger, or not
 * in the page cache, is left to the path, which never blocks the loop on it.
 *
 * Residency (sendfile's cold-chunk check): cachestat(2) (Linux 6.5) counts the cached pages
 * of a range in one call; where the kernel lacks it (or refuses it), mincore(2) of a
 * short-lived mapping of the range says the same. cachestat counts a page that readahead is
 * still reading (in the cache, not yet up to date): right after a cold chunk, when readahead
 * is likely in flight, mincore is asked instead, which answers "up to date".
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "br_xfer.h"

#ifndef SYS_cachestat
#define SYS_cachestat 451 /* the same number on every architecture (Linux 6.5) */
#endif

uint8_t *br_xfer__buf(struct br_conn *c)
{
    if (!c->copy_buf) {
        /* The copy path's chunk is fetch.copy.buffer.bytes. The other paths need the buffer
         * only for in-line responses (and sendfile for its cold chunks, which wait for the
         * disk anyway): no more than fetch.inline.max.bytes (64 KiB when that is off), so
         * that a connection served by splice or sendfile costs little memory. */
        const struct br_config *cfg = c->loop->cfg;
        size_t cap = (size_t)cfg->copy_buffer_bytes;
        size_t small = cfg->inline_max_bytes > 0 ? (size_t)cfg->inline_max_bytes : 65536;
        if (c->xfer != &br_xfer_copy && small < cap)
            cap = small;
        c->copy_buf = malloc(cap);
        if (!c->copy_buf)
            return NULL;
        c->copy_cap = cap;
    }
    return c->copy_buf;
}

void br_xfer__buf_free(struct br_conn *c)
{
    free(c->copy_buf);
    c->copy_buf = NULL;
    c->copy_cap = 0;
    c->copy_fill = 0;
}

/* What the page cache holds of [off, off+len): bytes copied (possibly short), -EAGAIN when
 * the first page is not cached, -EOPNOTSUPP on a file system without RWF_NOWAIT, -errno. */
static ssize_t read_cached(int fd, uint8_t *dst, size_t len, uint64_t off)
{
    struct iovec iov = {.iov_base = dst, .iov_len = len};
    ssize_t n;
    do {
        n = preadv2(fd, &iov, 1, (off_t)off, RWF_NOWAIT);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

int br_xfer__inline_step(struct br_conn *c)
{
    const struct br_config *cfg = c->loop->cfg;
    size_t cap = (size_t)cfg->inline_max_bytes;
    if (cap > (size_t)cfg->copy_buffer_bytes)
        cap = (size_t)cfg->copy_buffer_bytes;
    if (cap == 0 || c->pipe_fill > 0 || c->copy_fill > 0)
        return 0;
    const int max_iov = (int)(sizeof(c->iov) / sizeof(c->iov[0]));
    struct br_resp *r = c->out_head;
    int pi = c->piece;
    size_t off = c->piece_off;
    size_t used = 0; /* bytes of the buffer holding file bytes */
    int niov = 0;
    bool more = false;
    while (r && !r->parked) {
        if (pi >= r->npieces) {
            r = r->next;
            pi = 0;
            off = 0;
            continue;
        }
        if (niov == max_iov) {
            more = true;
            break;
        }
        struct br_piece *p = &r->pieces[pi];
        size_t n = p->len - off;
        if (p->kind == BR_PIECE_MEM) {
            c->iov[niov].iov_base = r->buf + p->off + off;
            c->iov[niov].iov_len = n;
        } else {
            if (used + n > cap) {
                more = true; /* a large range: the path's own (now, or after these bytes) */
                break;
            }
            uint8_t *buf = br_xfer__buf(c);
            if (!buf)
                return -ENOMEM;
            ssize_t got = read_cached(p->fd, buf + used, n, p->off + off);
            if (got == -EAGAIN || got == -EOPNOTSUPP) {
                more = true; /* not in the page cache: the path reads it without blocking */
                break;
            }
            if (got < 0)
                return (int)got;
            if (got == 0)
                return -ENODATA; /* the file is shorter than the range the store gave */
            c->iov[niov].iov_base = buf + used;
            c->iov[niov].iov_len = (size_t)got;
            used += (size_t)got;
            if ((size_t)got < n) {
                niov++;
                more = true; /* partly cached: the rest at the next step */
                break;
            }
        }
        niov++;
        pi++;
        off = 0;
    }
    if (used == 0)
        return 0; /* no file bytes in line: the path's step is as good */
    unsigned flags = MSG_NOSIGNAL | MSG_WAITALL | (more ? MSG_MORE : 0);
    struct io_uring_sqe *sqe = br_ring_sqe(&c->loop->ring, &c->send_op);
    memset(&c->msg, 0, sizeof(c->msg));
    c->msg.msg_iov = c->iov;
    c->msg.msg_iovlen = (size_t)niov;
    io_uring_prep_sendmsg(sqe, c->fd, &c->msg, flags);
    c->send_ops++;
    c->inflight++;
    c->n_inline++;
    return 1;
}

/* mincore(2) of a mapping of the pages, a bounded vector at a time. */
static int resident_mincore(int fd, uint64_t first, uint64_t npages, size_t pg)
{
    void *m = mmap(NULL, npages * pg, PROT_READ, MAP_SHARED, fd, (off_t)(first * pg));
    if (m == MAP_FAILED)
        return -errno;
    unsigned char vec[256];
    int rc = 1;
    for (uint64_t done = 0; done < npages && rc == 1;) {
        uint64_t k = npages - done < sizeof(vec) ? npages - done : sizeof(vec);
        if (mincore((uint8_t *)m + done * pg, k * pg, vec) != 0) {
            rc = -errno;
            break;
        }
        for (uint64_t i = 0; i < k; i++)
            if (!(vec[i] & 1))
                rc = 0;
        done += k;
    }
    munmap(m, npages * pg);
    return rc;
}

int br_xfer__resident(int fd, uint64_t off, size_t len, bool uptodate)
{
    static atomic_bool no_cachestat;
    if (len == 0)
        return 1;
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    uint64_t first = off / pg, npages = (off + len - 1) / pg - first + 1;
    if (!uptodate && !atomic_load_explicit(&no_cachestat, memory_order_relaxed)) {
        struct {
            uint64_t off, len;
        } range = {first * pg, npages * pg};
        struct {
            uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
        } cs;
        if (syscall(SYS_cachestat, fd, &range, &cs, 0) == 0)
            return cs.nr_cache >= npages;
        if (errno != ENOSYS && errno != EPERM)
            return -errno;
        atomic_store_explicit(&no_cachestat, true, memory_order_relaxed);
    }
    return resident_mincore(fd, first, npages, pg);
}
