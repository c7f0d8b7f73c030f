/*
 * br_loop — one event-loop thread: its io_uring, its state and its turn, the waits parked on
 * it (an event or a deadline), and its pool of splice pipes. The loop knows connections and
 * listeners as owners of ops; it never names a Kafka API.
 *
 * Contract
 * - A loop is owned by exactly one thread; every function here must be called from it except
 *   br_ring_wake(), br_loops_notify(), br_loop_post() and br_loop_hand(), which any thread
 *   may call (br_loop_hand: another loop's, handing it a new connection or moving a live one to
 *   it, br_place.h).
 * - Every SQE carries a tagged user_data: the address of a struct br_op embedded in the
 *   object the operation belongs to (a connection, a listener socket, the loop itself). The
 *   op's kind selects the handler in the one dispatch switch of the turn (br_loop.c). An
 *   object with ops in flight is freed only after the last one completes (two-phase close,
 *   br_conn.c).
 * - br_ring_sqe() never fails: when the submission queue is full it submits first.
 * - Kernel features are probed once (br_loop_probe) and reported at start-up.
 *
 * Waiting (nginx's timer tree and posted events, in one structure): anything that waits for
 * something other than an io_uring completion is a struct br_wait parked on its loop with
 *   - an event: BR_WAIT_APPEND (records appended to any log: long-polling fetches),
 *     BR_WAIT_SYNC (a log fdatasynced: produce responses waiting for durability),
 *     BR_WAIT_BYTES (request bytes given back: connections waiting for
 *     queued.max.request.bytes), or BR_WAIT_POST (br_loop_post() of this very wait by another
 *     thread: admin jobs, answers of the group coordinator, connections handed or moved to this
 *     loop by another, br_loop_hand);
 *   - a deadline (INT64_MAX: none), kept on one heap per loop (br_timer.h);
 *   - a wake function, run on the loop thread with the reason: the event happened (for
 *     APPEND, SYNC and BYTES a broadcast: the wake re-checks its own condition and stays
 *     parked when it does not hold), the deadline passed, or the broker is stopping
 *     (APPEND waits only: a fetch answers with what there is).
 *   br_loop_wait() raises the loop's count of waits for that event (sequentially consistent)
 *   before the caller looks at its condition, and br_loops_notify() publishes its change
 *   before it reads the counts, so either the waiter sees the change or the notifier sees the
 *   waiter and wakes its loop. Those counts (and the shared one of BR_WAIT_BYTES, which
 *   br_limit.h reads) are raised and lowered here and nowhere else.
 *   A wait leaves with br_loop_unwait() (any time, also from its own wake function), except
 *   a BR_WAIT_POST one: it leaves only when posted, exactly once, and its wake then runs;
 *   the loop does not exit before every such wait is posted (br_loop_exit).
 */
#ifndef SPLICELOG_BR_LOOP_H
#define SPLICELOG_BR_LOOP_H

#include <liburing.h>

#include "br_sess.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "br_timer.h"
#include "br_wait.h"

struct br_config;

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
};

struct br_op {
    uint8_t kind; /* enum br_op_kind */
    void *owner;  /* the connection / listener socket / loop the op belongs to */
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

/* ---- the ring --------------------------------------------------------------------------- */

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

/* Submits, then waits up to timeout_us (-1 = forever) for one completion: 0, -ETIME, -EINTR. */
int br_ring_submit_wait(struct br_ring *r, int64_t timeout_us);

/* ---- waits ------------------------------------------------------------------------------- */

/* ---- the loop ---------------------------------------------------------------------------- */

struct br_conn;
struct br_accept;
struct br_listener;
struct br_limits;
struct br_stats;

struct br_pipe {
    int rd, wr;
    size_t cap;
    struct br_pipe *next;     /* free list */
    struct br_pipe *all_next; /* every pipe of the loop, for teardown */
};

/* What a connection's complete request frame is handed to (br_resp.h): BR_REPLY (r is
 * queued, ready or parked), BR_NO_REPLY (r is given back) or -errno (the connection closes). */
struct br_resp;
struct br_peer;
typedef int (*br_frame_fn)(void *arg, const struct br_peer *peer, uint8_t *frame, size_t len,
                           struct br_resp *r);

struct br_loop {
    struct br_ring ring;
    int id;
    int64_t now_ms; /* monotonic, refreshed every turn */
    const struct br_config *cfg;
    const struct br_features *feat;
    struct br_limits *limits;
    struct br_stats *stats; /* metrics hooks (br_stats.h); NULL: metrics off */
    struct br_loop *all;    /* every loop of the server (this one included), for wake-ups */
    int nall;
    const atomic_bool *stop; /* set by the main thread: begin the shutdown */
    br_frame_fn on_frame;    /* every request: the server binds it to dispatch (api/) */
    void *on_frame_arg;
    const struct br_sess_ops *sess_ops; /* connections' security sessions (br_sess.h), or NULL */
    void *sess_arg;

    struct br_accept *accepts; /* one listening socket per listener (br_listen.h) */
    int naccepts;

    /* Connections of this loop (doubly linked): the live ones in the order of their last
     * activity (accept, complete request, response sent), least recent first; the closing ones
     * apart until their last completion frees them. nconns counts both. */
    struct br_conn *conns, *conns_tail;
    struct br_conn *closing;
    int nconns;

    /* Fair service (br_conn.h, "shares of a turn"): the number of the turn in progress; the
     * requests handled on this loop, in all and before this turn began; the connections whose
     * share of a turn ran out with whole requests left, served in a later turn, oldest first
     * (linked through br_conn.ready_prev/next). */
    uint64_t turn;
    uint64_t served, turn_served;
    struct br_conn *ready, *ready_tail;
    int nready;
    bool serving_ready; /* in the turn's last phase, serving those connections */
    /* ... and the last request of a light connection of this loop: when (now_ms; 0: none yet)
     * and which (the hold's "others want service" under connection.placement=load) */
    int64_t light_ms;
    const struct br_conn *light_conn;

    /* waits (see the contract) */
    struct br_wait_list waits[BR_WAIT__N];  /* POST waits are in no list until posted */
    atomic_int nwaits[BR_WAIT__N];          /* read by other threads to decide whether to wake us */
    atomic_long *shared_nwaits[BR_WAIT__N]; /* also counted there, when set (BYTES: br_limits) */
    struct br_timers deadlines;             /* waits with a deadline, earliest first */
    atomic_uint events;                     /* 1 << enum br_wait_on, set by other threads */
    unsigned local_events;                  /* the same, set by this thread */
    struct br_wait *walk_next;              /* the next wait of the walk in progress */
    pthread_mutex_t post_lock;
    struct br_wait *posted; /* POST waits handed back, newest first */
    bool closed;            /* under post_lock: br_loop_exit began, br_loop_hand refuses */

    /* splice transfer path: a bounded pool of pipes */
    struct br_pipe *pipes;
    struct br_pipe *free_pipes;
    int npipes;
    uint64_t pipes_replaced; /* pipes given back with bytes in them (replaced, never reused) */

    /* Placement (br_place.h): this loop's load as the other loops read it when they choose a
     * home for a new connection (relaxed: a heuristic, a little stale is fine). Written by
     * this thread only, but load_incoming, which the handing loop raises. */
    atomic_int load_conns;    /* live connections (not closing) */
    atomic_int load_heavy;    /* heavy connections (byte share ran out in the last second) */
    atomic_int load_incoming; /* connections handed to this loop, not yet taken up */
    atomic_bool placeable;    /* ring up and not stopping: may be handed connections */
    int nlive, nheavy;        /* this thread's counts behind load_conns and load_heavy */
    int move_cursor;          /* where the next light connection's move target is looked for */

    int64_t next_tick_ms; /* idle checks, accept re-arming: once a second */
    bool stopping;
    int64_t stop_deadline_ms;
};

/* Before the thread starts: everything but the ring. */
void br_loop_prepare(struct br_loop *l, int id, const struct br_config *cfg,
                     const struct br_features *feat);
/* On the loop thread: the ring, provided buffers, the armed eventfd read and accepts.
 * 0 or -errno (logged). */
int br_loop_init(struct br_loop *l);
/* The turn, until the loop has stopped (all connections gone, or shutdown.timeout.ms). */
void br_loop_run(struct br_loop *l);
/* On the loop thread, after br_loop_run or a failed br_loop_init: waits until every POST
 * wait is posted, then frees the ring, the connections and the pipes. */
void br_loop_exit(struct br_loop *l);

/* Parks w until its event (see the contract) or deadline_ms (INT64_MAX: none). 0, or -ENOMEM
 * when a deadline cannot be kept (nothing parked then). */
int br_loop_wait(struct br_loop *l, struct br_wait *w, enum br_wait_on on, int64_t deadline_ms,
                 br_wait_fn wake);
/* Unparks w (no-op when it is not parked). Not for a POST wait. */
void br_loop_unwait(struct br_loop *l, struct br_wait *w);
/* Any thread: on has happened; every loop of all[0..n) with waits for it wakes up and runs
 * them (self, when given, is the caller's own loop: it only marks the event). */
void br_loops_notify(struct br_loop *all, int n, struct br_loop *self, enum br_wait_on on);
/* Any thread, once per BR_WAIT_POST wait: its wake runs on l's thread. */
void br_loop_post(struct br_loop *l, struct br_wait *w);
/* Another loop's thread: parks w as a BR_WAIT_POST wait of l and posts it at once, so that
 * wake runs on l's thread (at the latest in br_loop_exit). False, and nothing parked, when the
 * broker is stopping or l's thread is in br_loop_exit (it may have left br_loop_run on an
 * io_uring error while the broker runs): l may be past the point where it waits for posts,
 * and nobody would run them. (The count
 * is raised before the stop flag is read, so a loop that read the flag and then found no POST
 * wait cannot miss one handed to it.) */
bool br_loop_hand(struct br_loop *l, struct br_wait *w, br_wait_fn wake);

/* The splice pipe pool. NULL when empty. */
struct br_pipe *br_loop_pipe_get(struct br_loop *loop);
/* Returns a pipe to the pool; fill is the bytes the holder counted as still inside (0 after a
 * finished transfer). The pool asks the kernel (FIONREAD) and replaces a pipe that is not
 * empty, so a pipe handed out never holds another client's bytes; a count that disagrees
 * with the kernel's is logged as an accounting error. */
void br_loop_pipe_put(struct br_loop *loop, struct br_pipe *p, size_t fill);

#endif
