/*
 * br_loop — one io_uring per event-loop thread behind a narrow interface.
 *
 * Contract
 * - A loop is owned by exactly one thread; every function here except br_loop_wake() must be
 *   called from it. br_loop_wake() may be called from any thread (it writes the loop's
 *   eventfd at most once until the loop has consumed it).
 * - Every SQE carries a tagged user_data: the address of a struct br_op embedded in the
 *   object the operation belongs to (a connection, a listener, the loop itself). The op's
 *   kind selects the handler in the one dispatch switch (br_loop_run). An object with ops in
 *   flight is freed only after the last one completes (two-phase close, see br_conn.c).
 * - br_loop_sqe() never fails: when the submission queue is full it submits first.
 * - Kernel features are probed once (br_loop_probe) and reported at start-up.
 */
#ifndef SPLICELOG_BR_LOOP_H
#define SPLICELOG_BR_LOOP_H

#include <liburing.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum br_op_kind {
    BR_OP_ACCEPT = 1,  /* multishot (or single-shot) accept on a listener socket */
    BR_OP_RECV,        /* recv into a connection's input buffer */
    BR_OP_SEND,        /* send/sendmsg of response bytes */
    BR_OP_POLLOUT,     /* wait for socket writability (transfer paths re-arm through it) */
    BR_OP_XFER_IN,     /* transfer path: file -> pipe splice, or file read (copy) */
    BR_OP_XFER_OUT,    /* transfer path: pipe -> socket splice, or buffer send (copy) */
    BR_OP_WAKE,        /* read of the loop's eventfd */
    BR_OP_CANCEL,      /* an async cancel issued by the loop; its completion carries nothing */
    BR_OP_CONN_CANCEL, /* an async cancel issued by a connection (counted in its in-flight) */
    BR_OP_ADMIN,       /* not an SQE: an admin job finished on the admin thread (its "CQE") */
};

struct br_op {
    uint8_t kind; /* enum br_op_kind */
    void *owner;  /* the connection / listener / loop the op belongs to */
};

struct br_features {
    bool multishot_accept; /* IORING_ACCEPT_MULTISHOT (5.19) */
    bool multishot_recv;   /* IORING_RECV_MULTISHOT (6.0) */
    bool splice;           /* IORING_OP_SPLICE */
    bool send;             /* IORING_OP_SEND */
    bool ext_arg;          /* IORING_FEAT_EXT_ARG: timed waits without a timeout SQE */
    bool fast_poll;        /* IORING_FEAT_FAST_POLL */
    bool coop_taskrun;     /* IORING_SETUP_COOP_TASKRUN accepted */
    bool single_issuer;    /* IORING_SETUP_SINGLE_ISSUER accepted */
    int pipe_max;          /* /proc/sys/fs/pipe-max-size */
};

/* Probes the kernel once (a throwaway ring); 0 or -errno when io_uring is unusable. */
int br_loop_probe(struct br_features *f);
/* "multishot-accept multishot-recv splice ..." for the start-up line. */
void br_loop_features_str(const struct br_features *f, char *buf, size_t len);

struct br_ring {
    struct io_uring ring;
    int wake_fd;              /* eventfd other threads write to wake this loop */
    uint64_t wake_val;        /* buffer of the pending eventfd read */
    struct br_op wake_op;     /* BR_OP_WAKE */
    struct br_op cancel_op;   /* BR_OP_CANCEL, shared by every cancel this loop issues */
    atomic_bool wake_pending; /* an eventfd write is outstanding */

    /* Provided buffers for multishot recv (buffer group BR_BGID); NULL when not in use. */
    struct io_uring_buf_ring *bufs;
    uint8_t *buf_mem; /* nbufs * buf_size bytes; buffer bid at buf_mem + bid * buf_size */
    unsigned nbufs;   /* a power of two */
    unsigned buf_size;
};

#define BR_BGID 0

int br_ring_init(struct br_ring *r, const struct br_features *f, unsigned entries);
/* Tears the ring down. The wake eventfd stays open: other threads (the flusher, the admin and
 * group threads, other loops) may still wake a loop that has exited, and a closed descriptor
 * number could by then belong to a file they would write into. */
void br_ring_exit(struct br_ring *r);
/* Closes the wake eventfd: only once no other thread can call br_ring_wake() any more. */
void br_ring_close_wake(struct br_ring *r);
/* A free SQE (submits to make room when the queue is full), with user_data = op. */
struct io_uring_sqe *br_ring_sqe(struct br_ring *r, struct br_op *op);
/* Arms the eventfd read (again). */
void br_ring_arm_wake(struct br_ring *r);
/* Any thread: wakes the loop; coalesced until the loop re-arms. */
void br_ring_wake(struct br_ring *r);
/* Async-cancels every op whose user_data is target; the cancel's own completion carries tag
 * (NULL: the loop's cancel_op). */
void br_ring_cancel(struct br_ring *r, struct br_op *target, struct br_op *tag);

/* Registers nbufs (a power of two) buffers of size bytes as buffer group BR_BGID, for
 * multishot recv. 0, or -errno (the caller then receives with single-shot recvs). */
int br_ring_bufs_init(struct br_ring *r, unsigned nbufs, unsigned size);
/* A provided buffer's memory, and giving it back to the kernel once its bytes are copied. */
static inline const uint8_t *br_ring_buf(const struct br_ring *r, unsigned bid)
{
    return r->buf_mem + (size_t)bid * r->buf_size;
}
void br_ring_buf_put(struct br_ring *r, unsigned bid);

/* Submits, then waits up to timeout_ms (-1 = forever) for one completion: 0, -ETIME, -EINTR. */
int br_ring_submit_wait(struct br_ring *r, int timeout_ms);

/* Monotonic milliseconds. */
int64_t br_now_ms(void);
/* Wall-clock milliseconds since the epoch (timestamps on the wire). */
int64_t br_wall_ms(void);

#endif
