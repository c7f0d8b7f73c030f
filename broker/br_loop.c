/*
 * br_loop — the io_uring wrapper (see br_loop.h). The dispatch switch lives in br_server.c
 * (br_server_dispatch), next to the objects it routes to.
 */
#include "br_loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int64_t br_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t br_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int br_loop_probe(struct br_features *f)
{
    memset(f, 0, sizeof(*f));
    struct io_uring ring;
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    int rc = io_uring_queue_init_params(8, &ring, &p);
    if (rc < 0)
        return rc;
    f->ext_arg = p.features & IORING_FEAT_EXT_ARG;
    f->fast_poll = p.features & IORING_FEAT_FAST_POLL;
    struct io_uring_probe *probe = io_uring_get_probe_ring(&ring);
    if (probe) {
        f->splice = io_uring_opcode_supported(probe, IORING_OP_SPLICE);
        f->send = io_uring_opcode_supported(probe, IORING_OP_SEND);
        /* Multishot accept arrived with IORING_OP_SOCKET (5.19) and multishot recv with
         * IORING_OP_SEND_ZC (6.0); the probe lists opcodes, not flags, so those stand in. */
        f->multishot_accept = io_uring_opcode_supported(probe, IORING_OP_SOCKET);
        f->multishot_recv = io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
        io_uring_free_probe(probe);
    }
    io_uring_queue_exit(&ring);

    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_COOP_TASKRUN;
    if (io_uring_queue_init_params(8, &ring, &p) == 0) {
        f->coop_taskrun = true;
        io_uring_queue_exit(&ring);
    }
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SINGLE_ISSUER;
    if (io_uring_queue_init_params(8, &ring, &p) == 0) {
        f->single_issuer = true;
        io_uring_queue_exit(&ring);
    }
    f->pipe_max = 65536;
    FILE *pf = fopen("/proc/sys/fs/pipe-max-size", "r");
    if (pf) {
        int v;
        if (fscanf(pf, "%d", &v) == 1 && v > 0)
            f->pipe_max = v;
        fclose(pf);
    }
    if (!f->send)
        return -ENOSYS;
    return 0;
}

void br_loop_features_str(const struct br_features *f, char *buf, size_t len)
{
    snprintf(buf, len,
             "multishot-accept=%s multishot-recv=%s splice=%s ext-arg=%s fast-poll=%s "
             "coop-taskrun=%s single-issuer=%s pipe-max-size=%d",
             f->multishot_accept ? "yes" : "no", f->multishot_recv ? "yes" : "no",
             f->splice ? "yes" : "no", f->ext_arg ? "yes" : "no", f->fast_poll ? "yes" : "no",
             f->coop_taskrun ? "yes" : "no", f->single_issuer ? "yes" : "no", f->pipe_max);
}

int br_ring_init(struct br_ring *r, const struct br_features *f, unsigned entries)
{
    memset(r, 0, sizeof(*r));
    r->wake_fd = -1;
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 8;
    /* The loop thread is the only submitter; task work runs when it enters the kernel. */
    if (f->coop_taskrun)
        p.flags |= IORING_SETUP_COOP_TASKRUN;
    if (f->single_issuer)
        p.flags |= IORING_SETUP_SINGLE_ISSUER;
    int rc = io_uring_queue_init_params(entries, &r->ring, &p);
    if (rc < 0)
        return rc;
    r->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (r->wake_fd < 0) {
        rc = -errno;
        io_uring_queue_exit(&r->ring);
        return rc;
    }
    r->wake_op.kind = BR_OP_WAKE;
    r->wake_op.owner = r;
    r->cancel_op.kind = BR_OP_CANCEL;
    r->cancel_op.owner = r;
    atomic_init(&r->wake_pending, false);
    return 0;
}

int br_ring_bufs_init(struct br_ring *r, unsigned nbufs, unsigned size)
{
    void *ring_mem = NULL;
    size_t ring_bytes = (size_t)nbufs * sizeof(struct io_uring_buf);
    if (posix_memalign(&ring_mem, 4096, ring_bytes < 4096 ? 4096 : ring_bytes) != 0)
        return -ENOMEM;
    uint8_t *mem = malloc((size_t)nbufs * size);
    if (!mem) {
        free(ring_mem);
        return -ENOMEM;
    }
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (unsigned long)ring_mem;
    reg.ring_entries = nbufs;
    reg.bgid = BR_BGID;
    int rc = io_uring_register_buf_ring(&r->ring, &reg, 0);
    if (rc < 0) {
        free(ring_mem);
        free(mem);
        return rc;
    }
    r->bufs = ring_mem;
    r->buf_mem = mem;
    r->nbufs = nbufs;
    r->buf_size = size;
    io_uring_buf_ring_init(r->bufs);
    int mask = io_uring_buf_ring_mask(nbufs);
    for (unsigned i = 0; i < nbufs; i++)
        io_uring_buf_ring_add(r->bufs, mem + (size_t)i * size, size, (unsigned short)i, mask,
                              (int)i);
    io_uring_buf_ring_advance(r->bufs, (int)nbufs);
    return 0;
}

void br_ring_buf_put(struct br_ring *r, unsigned bid)
{
    io_uring_buf_ring_add(r->bufs, r->buf_mem + (size_t)bid * r->buf_size, r->buf_size,
                          (unsigned short)bid, io_uring_buf_ring_mask(r->nbufs), 0);
    io_uring_buf_ring_advance(r->bufs, 1);
}

void br_ring_exit(struct br_ring *r)
{
    io_uring_queue_exit(&r->ring);
    free(r->bufs);
    free(r->buf_mem);
    r->bufs = NULL;
    r->buf_mem = NULL;
}

void br_ring_close_wake(struct br_ring *r)
{
    if (r->wake_fd >= 0)
        close(r->wake_fd);
    r->wake_fd = -1;
}

struct io_uring_sqe *br_ring_sqe(struct br_ring *r, struct br_op *op)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    while (!sqe) {
        /* The queue is full: submit to make room. The loop consumes every CQE before
         * handling it (br_server.c), so the kernel always has room to complete; -EBUSY /
         * -EAGAIN here are transient (the kernel flushing completions) and retried. */
        int rc = io_uring_submit(&r->ring);
        if (rc < 0 && rc != -EBUSY && rc != -EAGAIN && rc != -EINTR)
            abort(); /* a broken ring: nothing sensible is left to do */
        sqe = io_uring_get_sqe(&r->ring);
    }
    io_uring_sqe_set_data(sqe, op);
    return sqe;
}

void br_ring_arm_wake(struct br_ring *r)
{
    atomic_store_explicit(&r->wake_pending, false, memory_order_release);
    struct io_uring_sqe *sqe = br_ring_sqe(r, &r->wake_op);
    io_uring_prep_read(sqe, r->wake_fd, &r->wake_val, sizeof(r->wake_val), 0);
    io_uring_sqe_set_data(sqe, &r->wake_op);
}

void br_ring_wake(struct br_ring *r)
{
    if (atomic_exchange_explicit(&r->wake_pending, true, memory_order_acq_rel))
        return;
    uint64_t one = 1;
    ssize_t w;
    do {
        w = write(r->wake_fd, &one, sizeof(one));
    } while (w < 0 && errno == EINTR);
}

void br_ring_cancel(struct br_ring *r, struct br_op *target, struct br_op *tag)
{
    if (!tag)
        tag = &r->cancel_op;
    struct io_uring_sqe *sqe = br_ring_sqe(r, tag);
    io_uring_prep_cancel(sqe, target, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data(sqe, tag);
}

int br_ring_submit_wait(struct br_ring *r, int timeout_ms)
{
    struct io_uring_cqe *cqe;
    if (timeout_ms < 0) {
        int rc = io_uring_submit_and_wait(&r->ring, 1);
        return rc < 0 ? rc : 0;
    }
    struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
                                   .tv_nsec = (long long)(timeout_ms % 1000) * 1000000};
    int rc = io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, &ts, NULL);
    return rc < 0 ? rc : 0;
}
