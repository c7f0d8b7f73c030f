/*
 * br_loop — one event-loop thread (see br_loop.h): the turn, the waits, the pipe pool, and the
 * io_uring wrapper underneath.
 *
 * The turn
 *   1. submit and wait for a completion, at most until the earliest of: the next tick (once a
 *      second: idle checks, accept re-arming), the earliest deadline of a wait, 50 ms while
 *      stopping, or no wait at all when this thread marked an event for itself;
 *   2. every completion, consumed before it is handled, through the one dispatch switch;
 *   3. events: posted waits first (oldest first), then the waits of each event that happened
 *      (APPEND, SYNC, BYTES), each visited once;
 *   4. due deadlines, from the heap;
 *   5. the tick; while stopping, closing idle connections until none is left or
 *      shutdown.timeout.ms has passed;
 *   6. the connections whose share of a turn ran out (br_conn.h, fair service): what this turn
 *      queued is submitted first (so answers already made do not wait for their work), then
 *      each is served its share of this turn, round-robin; while any is left the next turn
 *      does not wait (1.) for a completion.
 *
 * Walking the waits of an event: a wake function may unpark its own wait and others (a
 * connection that closes unparks all of its responses) and park again (a connection still
 * short of request bytes goes back to the end of the list). The walk keeps the next wait in
 * walk_next, which br_loop_unwait() moves on when it unparks exactly that one, and visits at
 * most as many waits as were parked when it began, so a wait parked again during the walk is
 * not visited twice. A wake never starts a walk itself: an event this thread causes is only
 * marked (local_events) and walked in the next turn.
 */
#include "br_loop.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "br_clock.h"
#include "br_config.h"
#include "br_conn.h"
#include "br_listen.h"
#include "br_log.h"
#include "br_place.h"
#include "br_stats.h"

#define RING_ENTRIES   1024
#define RECV_BUFS      128         /* provided buffers per loop for multishot recv ... */
#define RECV_BUF_SIZE  (16 * 1024) /* ... of this size: 2 MiB per loop */
#define PIPE_WANT_SIZE (1 << 20)
#define TICK_MS        1000
#define STOP_POLL_MS   50

/* ---- waits ------------------------------------------------------------------------------- */

static struct br_wait *wait_of_timer(struct br_timer *t)
{
    return (struct br_wait *)((char *)t - offsetof(struct br_wait, timer));
}

static void count(struct br_loop *l, enum br_wait_on on, int d)
{
    /* seq_cst: a waiter is counted before it looks at its condition (see br_loop.h) */
    atomic_fetch_add(&l->nwaits[on], d);
    if (l->shared_nwaits[on])
        atomic_fetch_add(l->shared_nwaits[on], d);
}

int br_loop_wait(struct br_loop *l, struct br_wait *w, enum br_wait_on on, int64_t deadline_ms,
                 br_wait_fn wake)
{
    assert(!w->waiting);
    assert(on != BR_WAIT_POST || deadline_ms == INT64_MAX);
    w->on = (uint8_t)on;
    w->wake = wake;
    w->prev = w->next = NULL;
    w->timer.pos = -1;
    if (deadline_ms != INT64_MAX && br_timers_add(&l->deadlines, &w->timer, deadline_ms) < 0)
        return -ENOMEM;
    if (on != BR_WAIT_POST) {
        struct br_wait_list *q = &l->waits[on];
        w->prev = q->tail;
        if (q->tail)
            q->tail->next = w;
        else
            q->head = w;
        q->tail = w;
    }
    w->waiting = true;
    count(l, on, 1);
    return 0;
}

void br_loop_unwait(struct br_loop *l, struct br_wait *w)
{
    if (!w->waiting)
        return;
    assert(w->on != BR_WAIT_POST);
    if (w->timer.pos >= 0)
        br_timers_remove(&l->deadlines, &w->timer);
    if (l->walk_next == w)
        l->walk_next = w->next;
    struct br_wait_list *q = &l->waits[w->on];
    if (w->prev)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->prev = w->next = NULL;
    w->waiting = false;
    count(l, (enum br_wait_on)w->on, -1);
}

void br_loops_notify(struct br_loop *all, int n, struct br_loop *self, enum br_wait_on on)
{
    /* the change the waiters look for is published before their counts are read */
    atomic_thread_fence(memory_order_seq_cst);
    for (int i = 0; i < n; i++) {
        struct br_loop *l = &all[i];
        if (atomic_load(&l->nwaits[on]) == 0)
            continue;
        if (l == self) {
            l->local_events |= 1u << on;
        } else {
            atomic_fetch_or(&l->events, 1u << on);
            br_ring_wake(&l->ring);
        }
    }
}

void br_loop_post(struct br_loop *l, struct br_wait *w)
{
    pthread_mutex_lock(&l->post_lock);
    w->next = l->posted;
    l->posted = w;
    pthread_mutex_unlock(&l->post_lock);
    atomic_fetch_or(&l->events, 1u << BR_WAIT_POST);
    br_ring_wake(&l->ring);
}

bool br_loop_hand(struct br_loop *l, struct br_wait *w, br_wait_fn wake)
{
    w->on = BR_WAIT_POST;
    w->wake = wake;
    w->prev = w->next = NULL;
    w->timer.pos = -1;
    w->waiting = true;
    count(l, BR_WAIT_POST, 1); /* seq_cst, before the stop flag is read (br_loop.h) */
    if (atomic_load(l->stop)) {
        count(l, BR_WAIT_POST, -1);
        w->waiting = false;
        return false;
    }
    pthread_mutex_lock(&l->post_lock);
    bool closed = l->closed; /* (its thread left br_loop_run: an io_uring error) */
    if (!closed) {
        w->next = l->posted;
        l->posted = w;
    }
    pthread_mutex_unlock(&l->post_lock);
    if (closed) {
        count(l, BR_WAIT_POST, -1);
        w->waiting = false;
        return false;
    }
    atomic_fetch_or(&l->events, 1u << BR_WAIT_POST);
    br_ring_wake(&l->ring);
    return true;
}

/* Runs the wakes of the waits posted so far, oldest first. */
static void run_posted(struct br_loop *l)
{
    pthread_mutex_lock(&l->post_lock);
    struct br_wait *w = l->posted;
    l->posted = NULL;
    pthread_mutex_unlock(&l->post_lock);
    struct br_wait *rev = NULL;
    while (w) {
        struct br_wait *next = w->next;
        w->next = rev;
        rev = w;
        w = next;
    }
    while (rev) {
        struct br_wait *next = rev->next; /* rev's wake may free it */
        rev->next = NULL;
        rev->waiting = false;
        count(l, BR_WAIT_POST, -1);
        rev->wake(rev, BR_WAKE_EVENT);
        rev = next;
    }
}

/* Visits each wait of on parked when the walk begins, once (see the file comment). */
static void walk(struct br_loop *l, enum br_wait_on on, enum br_wake why)
{
    int n = atomic_load(&l->nwaits[on]);
    struct br_wait *w = l->waits[on].head;
    for (int i = 0; w && i < n; i++) {
        l->walk_next = w->next;
        w->wake(w, why);
        w = l->walk_next;
    }
    l->walk_next = NULL;
}

static void run_events(struct br_loop *l)
{
    unsigned ev = atomic_exchange(&l->events, 0) | l->local_events;
    l->local_events = 0;
    if (ev & (1u << BR_WAIT_POST))
        run_posted(l);
    for (int on = 0; on < BR_WAIT_POST; on++)
        if (ev & (1u << on))
            walk(l, (enum br_wait_on)on, BR_WAKE_EVENT);
}

static void run_deadlines(struct br_loop *l)
{
    struct br_timer *t;
    while ((t = br_timers_first(&l->deadlines)) && t->key <= l->now_ms) {
        br_timers_remove(&l->deadlines, t);
        struct br_wait *w = wait_of_timer(t);
        w->wake(w, BR_WAKE_DEADLINE);
    }
}

/* ---- the turn ---------------------------------------------------------------------------- */

void br_loop_prepare(struct br_loop *l, int id, const struct br_config *cfg,
                     const struct br_features *feat)
{
    memset(l, 0, sizeof(*l));
    l->id = id;
    l->cfg = cfg;
    l->feat = feat;
    l->ring.wake_fd = -1; /* until its thread sets the ring up */
    pthread_mutex_init(&l->post_lock, NULL);
}

int br_loop_init(struct br_loop *l)
{
    int rc = br_ring_init(&l->ring, l->feat, RING_ENTRIES);
    if (rc < 0) {
        br_err("io_uring set-up failed: %s", strerror(-rc));
        return rc;
    }
    if (l->feat->multishot_recv) {
        rc = br_ring_bufs_init(&l->ring, RECV_BUFS, RECV_BUF_SIZE);
        if (rc < 0)
            br_warn("provided buffers refused (%s): single-shot recv", strerror(-rc));
    }
    l->now_ms = br_now_ms();
    br_ring_arm_wake(&l->ring);
    for (int i = 0; i < l->naccepts; i++)
        br_listen_arm(l, &l->accepts[i]);
    io_uring_submit(&l->ring.ring);
    l->next_tick_ms = l->now_ms + TICK_MS;
    atomic_store(&l->placeable, true);
    return 0;
}

/* The one dispatch switch: user_data says exactly what completed. */
static void dispatch(struct br_loop *l, const struct io_uring_cqe *cqe)
{
    struct br_op *op = io_uring_cqe_get_data(cqe);
    if (!op)
        return;
    switch ((enum br_op_kind)op->kind) {
    case BR_OP_ACCEPT:
        br_listen_complete(l, op->owner, cqe->res, cqe->flags);
        break;
    case BR_OP_RECV:
    case BR_OP_SEND:
    case BR_OP_POLLOUT:
    case BR_OP_XFER_IN:
    case BR_OP_XFER_OUT:
    case BR_OP_CONN_CANCEL:
        br_conn_complete(op->owner, op, cqe->res, cqe->flags);
        break;
    case BR_OP_WAKE:
        br_ring_arm_wake(&l->ring); /* what woke us is in events, looked at every turn */
        break;
    case BR_OP_CANCEL:
        break;
    }
}

static void begin_stop(struct br_loop *l)
{
    l->stopping = true;
    atomic_store(&l->placeable, false);
    l->stop_deadline_ms = l->now_ms + l->cfg->shutdown_timeout_ms;
    for (int i = 0; i < l->naccepts; i++) {
        struct br_accept *a = &l->accepts[i];
        if (a->armed)
            br_ring_cancel(&l->ring, &a->op, NULL);
    }
    walk(l, BR_WAIT_APPEND, BR_WAKE_STOP); /* long polls answer with what there is */
}

/* Microseconds the turn may wait for a completion. */
static int64_t next_timeout(const struct br_loop *l)
{
    if (l->local_events)
        return 0; /* this thread marked an event after its walk: at once */
    int64_t hold = l->ready ? br_conn_ready_wait_us(l) : -1;
    if (hold == 0)
        return 0; /* connections wait for their share of the next turn */
    int64_t t = l->next_tick_ms - l->now_ms;
    if (l->stopping && t > STOP_POLL_MS)
        t = STOP_POLL_MS;
    const struct br_timer *first = br_timers_first(&l->deadlines);
    if (first && first->key - l->now_ms < t)
        t = first->key - l->now_ms;
    t = t < 0 ? 0 : t > TICK_MS ? TICK_MS : t;
    return hold > 0 && hold < t * 1000 ? hold : t * 1000;
}

void br_loop_run(struct br_loop *l)
{
    for (;;) {
        int rc = br_ring_submit_wait(&l->ring, next_timeout(l));
        if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
            br_err("io_uring wait failed: %s", strerror(-rc));
            break;
        }
        l->now_ms = br_now_ms();
        l->turn++;
        l->turn_served = l->served;
        br_stats_turn(l->stats);
        /* Each CQE is consumed before it is handled: handling may queue and submit new
         * SQEs whose completions need room in the CQ ring, and a ring kept full by our own
         * unconsumed batch would make every submit fail (-EBUSY). The batch is bounded so
         * deadlines and wake-ups still get their turn. */
        struct io_uring_cqe *cqe;
        for (int n = 0; n < 4 * RING_ENTRIES && io_uring_peek_cqe(&l->ring.ring, &cqe) == 0; n++) {
            struct io_uring_cqe copy = *cqe;
            io_uring_cqe_seen(&l->ring.ring, cqe);
            dispatch(l, &copy);
        }

        l->now_ms = br_now_ms();
        if (!l->stopping && atomic_load(l->stop))
            begin_stop(l);
        run_events(l);
        run_deadlines(l);
        if (l->now_ms >= l->next_tick_ms) {
            l->next_tick_ms = l->now_ms + TICK_MS;
            br_conn_check_idle(l);
            br_place_tick(l);
            for (int i = 0; i < l->naccepts; i++)
                br_listen_arm(l, &l->accepts[i]);
        }
        if (l->ready) {
            io_uring_submit(&l->ring.ring);
            l->serving_ready = true;
            br_conn_serve_ready(l);
            l->serving_ready = false;
        }
        if (l->stopping) {
            br_conn_stop_idle(l);
            if (l->nconns == 0)
                break;
            if (l->now_ms >= l->stop_deadline_ms) {
                br_warn("shutdown.timeout.ms passed: cutting %d connection(s)", l->nconns);
                break;
            }
        }
    }
}

static void pipes_close(struct br_loop *loop);

void br_loop_exit(struct br_loop *l)
{
    /* A posted wait still owed by another thread (an admin job, a group answer) writes into
     * its connection's memory: wait for it (admin jobs are bounded by topic.partitions.max,
     * the group coordinator answers every parked request at br_groups_stop) before anything
     * is freed. No other loop hands it anything from here on (br_loop_hand), also when the
     * thread left br_loop_run on an error and the broker is not stopping. */
    atomic_store(&l->placeable, false);
    pthread_mutex_lock(&l->post_lock);
    l->closed = true;
    pthread_mutex_unlock(&l->post_lock);
    while (atomic_load(&l->nwaits[BR_WAIT_POST]) > 0) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (atomic_exchange(&l->events, 0) & (1u << BR_WAIT_POST))
            run_posted(l);
    }
    br_ring_exit(&l->ring); /* cancels whatever is still in flight */
    br_conn_free_all(l);
    pipes_close(l);
    br_timers_free(&l->deadlines);
    for (int i = 0; i < l->naccepts; i++) {
        if (l->accepts[i].fd >= 0)
            close(l->accepts[i].fd);
        l->accepts[i].fd = -1;
    }
}

/* ---- pipe pool ------------------------------------------------------------------------ */

struct br_pipe *br_loop_pipe_get(struct br_loop *loop)
{
    struct br_pipe *p = loop->free_pipes;
    if (p) {
        loop->free_pipes = p->next;
        return p;
    }
    if (loop->npipes >= loop->cfg->splice_pipes)
        return NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        br_warn("splice: pipe2: %m");
        free(p);
        return NULL;
    }
    p->rd = fds[0];
    p->wr = fds[1];
    int want = loop->feat->pipe_max < PIPE_WANT_SIZE ? loop->feat->pipe_max : PIPE_WANT_SIZE;
    int sz = fcntl(p->wr, F_SETPIPE_SZ, want);
    if (sz < 0)
        sz = fcntl(p->wr, F_GETPIPE_SZ);
    p->cap = sz > 0 ? (size_t)sz : 65536;
    p->all_next = loop->pipes;
    loop->pipes = p;
    loop->npipes++;
    return p;
}

/* Bytes still queued in a pipe, as the kernel counts them; -errno when it cannot say. */
static int pipe_queued(const struct br_pipe *p)
{
    int n = 0;
    if (ioctl(p->rd, FIONREAD, &n) != 0)
        return -errno;
    return n;
}

/* Swaps p's descriptors for a new, empty pipe of the same size; -errno (p then broken). */
static int pipe_replace(struct br_loop *loop, struct br_pipe *p)
{
    int fds[2];
    int rc = pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0 ? 0 : -errno;
    close(p->rd);
    close(p->wr);
    p->rd = p->wr = -1;
    if (rc < 0)
        return rc;
    p->rd = fds[0];
    p->wr = fds[1];
    int sz = fcntl(p->wr, F_SETPIPE_SZ, (int)p->cap);
    p->cap = sz > 0 ? (size_t)sz : 65536;
    loop->pipes_replaced++;
    return 0;
}

/*
 * The pool only ever holds empty pipes: a pipe comes back with the holder's count of the bytes
 * it believes are still inside (0 after a finished transfer), and the kernel is asked too.
 * Bytes left in a pipe are another client's data; such a pipe is never handed out again but
 * replaced by a new one. A count that disagrees with the kernel is an accounting bug, logged.
 */
void br_loop_pipe_put(struct br_loop *loop, struct br_pipe *p, size_t fill)
{
    int queued = p->rd >= 0 ? pipe_queued(p) : 0;
    if (queued != (int)fill && p->rd >= 0)
        br_err("splice: pipe accounting: %d bytes queued in a pipe whose holder counted %zu",
               queued, fill);
    if (p->rd >= 0 && queued != 0 && pipe_replace(loop, p) < 0)
        br_warn("splice: cannot replace a pipe that still holds bytes: %m");
    if (p->rd < 0) {
        /* a broken slot (its replacement failed): stays on the teardown list, but no longer
         * counts against fetch.splice.pipes */
        loop->npipes--;
        return;
    }
    p->next = loop->free_pipes;
    loop->free_pipes = p;
}

static void pipes_close(struct br_loop *loop)
{
    while (loop->pipes) {
        struct br_pipe *p = loop->pipes;
        loop->pipes = p->all_next;
        if (p->rd >= 0)
            close(p->rd);
        if (p->wr >= 0)
            close(p->wr);
        free(p);
    }
    loop->free_pipes = NULL;
    loop->npipes = 0;
}

/* ---- the ring ---------------------------------------------------------------------------- */

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

int br_ring_submit_wait(struct br_ring *r, int64_t timeout_us)
{
    struct io_uring_cqe *cqe;
    if (timeout_us < 0) {
        int rc = io_uring_submit_and_wait(&r->ring, 1);
        return rc < 0 ? rc : 0;
    }
    struct __kernel_timespec ts = {.tv_sec = timeout_us / 1000000,
                                   .tv_nsec = (long long)(timeout_us % 1000000) * 1000};
    int rc = io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, &ts, NULL);
    return rc < 0 ? rc : 0;
}
