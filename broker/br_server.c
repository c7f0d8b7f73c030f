/*
 * br_server — listeners, loop threads, the dispatch switch, wake-ups, signals,
 * housekeeping (see br_server.h).
 *
 * Threads
 *   main          binds listeners, opens the store, starts the others, waits for a signal
 *                 (sigtimedwait: SIGINT/SIGTERM/SIGHUP are blocked everywhere else), then
 *                 stops them; meanwhile, once a second, writes the log's pending summaries
 *                 of repeated lines (br_log_flush_limited). SIGHUP is logged and changes
 *                 nothing: the configuration is read once and the log is stderr.
 *   loopN         one per num.network.threads: its io_uring, its SO_REUSEPORT listening
 *                 socket per listener, its connections.
 *   housekeeping  st_store_maintain every log.retention.check.interval.ms and
 *                 st_store_scrub at log.scrub.bytes.per.sec, so disk reads of the scrubber
 *                 never stall a loop.
 *   (storage)     the flusher calls on_synced() after each fdatasync.
 *   http          metrics.listener (br_stats.h, br_http.h): /metrics, /health, /log-level.
 *
 * Wake-ups without lost signals: a loop counts its parked fetches (nfetch_waits) *before* it
 * looks at the logs, and an appender publishes the new end *before* it reads that count
 * (both sequentially consistent). So either the fetch sees the data or the appender sees the
 * waiter and wakes the loop (flag + eventfd). The same holds for durable waits.
 */
#include "br_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "br_api.h"
#include "br_conn.h"
#include "br_group.h"
#include "br_log.h"
#include "br_stats.h"
#include "br_tls.h"
#include "br_xfer.h"

#define RING_ENTRIES   1024
#define RECV_BUFS      128         /* provided buffers per loop for multishot recv ... */
#define RECV_BUF_SIZE  (16 * 1024) /* ... of this size: 2 MiB per loop */
#define PIPE_WANT_SIZE (1 << 20)

/* ---- wait lists ----------------------------------------------------------------------- */

static void list_add(struct br_resp **head, struct br_resp *r)
{
    r->wprev = NULL;
    r->wnext = *head;
    if (*head)
        (*head)->wprev = r;
    *head = r;
}

static void list_del(struct br_resp **head, struct br_resp *r)
{
    if (r->wprev)
        r->wprev->wnext = r->wnext;
    else
        *head = r->wnext;
    if (r->wnext)
        r->wnext->wprev = r->wprev;
    r->wprev = r->wnext = NULL;
}

void br_loop_wait_fetch(struct br_loop *loop, struct br_resp *r)
{
    r->state = BR_RESP_WAIT_FETCH;
    list_add(&loop->fetch_waits, r);
    /* nfetch_waits was raised by the handler before it evaluated the logs */
}

void br_loop_wait_durable(struct br_loop *loop, struct br_resp *r)
{
    r->state = BR_RESP_WAIT_DURABLE;
    list_add(&loop->durable_waits, r);
}

void br_loop_unwait(struct br_loop *loop, struct br_resp *r)
{
    if (r->state == BR_RESP_WAIT_FETCH) {
        list_del(&loop->fetch_waits, r);
        atomic_fetch_sub(&loop->nfetch_waits, 1);
    } else if (r->state == BR_RESP_WAIT_DURABLE) {
        list_del(&loop->durable_waits, r);
        atomic_fetch_sub(&loop->ndurable_waits, 1);
    }
    r->state = BR_RESP_READY;
}

void br_server_appended(struct br_loop *loop)
{
    struct br_server *srv = loop->srv;
    atomic_thread_fence(memory_order_seq_cst);
    for (int i = 0; i < srv->nloops; i++) {
        struct br_loop *l = &srv->loops[i];
        if (atomic_load(&l->nfetch_waits) == 0)
            continue;
        if (l == loop) {
            l->recheck_fetch = true;
        } else {
            atomic_store(&l->appended, true);
            br_ring_wake(&l->ring);
        }
    }
}

void br_server_bytes_freed(struct br_loop *loop)
{
    struct br_server *srv = loop->srv;
    for (int i = 0; i < srv->nloops; i++) {
        struct br_loop *l = &srv->loops[i];
        if (atomic_load(&l->nbytes_waits) == 0)
            continue;
        if (l == loop) {
            l->bytes_recheck = true;
        } else {
            atomic_store(&l->bytes_freed, true);
            br_ring_wake(&l->ring);
        }
    }
}

static void on_synced(void *arg, struct st_log *log)
{
    (void)log;
    struct br_server *srv = arg;
    atomic_thread_fence(memory_order_seq_cst);
    for (int i = 0; i < srv->nloops; i++) {
        struct br_loop *l = &srv->loops[i];
        if (atomic_load(&l->ndurable_waits) == 0)
            continue;
        atomic_store(&l->synced, true);
        br_ring_wake(&l->ring);
    }
}

static void recheck_fetches(struct br_loop *loop, bool force)
{
    /* br_fetch_recheck unlinks r when it answers; when it closes r's connection, other
     * responses of that connection leave the list too, possibly the saved next: then the
     * walk starts over (the responses still parked are merely evaluated once more). */
    for (struct br_resp *r = loop->fetch_waits, *next; r; r = next) {
        next = r->wnext;
        br_fetch_recheck(r, force || loop->now_ms >= r->deadline_ms);
        if (next && next->state != BR_RESP_WAIT_FETCH)
            next = loop->fetch_waits;
    }
}

static void recheck_durable(struct br_loop *loop)
{
    for (struct br_resp *r = loop->durable_waits, *next; r; r = next) {
        next = r->wnext;
        br_produce_recheck(r);
        if (next && next->state != BR_RESP_WAIT_DURABLE)
            next = loop->durable_waits;
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
    if (loop->npipes >= loop->srv->cfg->splice_pipes)
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
    int want =
        loop->srv->feat.pipe_max < PIPE_WANT_SIZE ? loop->srv->feat.pipe_max : PIPE_WANT_SIZE;
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

/* ---- accept --------------------------------------------------------------------------- */

static void arm_accept(struct br_loop *loop, struct br_accept *a)
{
    if (a->armed || loop->stopping || a->fd < 0)
        return;
    struct io_uring_sqe *sqe = br_ring_sqe(&loop->ring, &a->op);
    if (a->multishot)
        io_uring_prep_multishot_accept(sqe, a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    else
        io_uring_prep_accept(sqe, a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    a->armed = true;
}

static void accept_complete(struct br_loop *loop, struct br_accept *a, int res, unsigned flags)
{
    if (!(flags & IORING_CQE_F_MORE))
        a->armed = false;
    if (res >= 0) {
        br_conn_accepted(loop, a, res);
    } else if (res == -EINVAL && a->multishot) {
        br_info("multishot accept refused by the kernel: single-shot accepts");
        a->multishot = false;
    } else if (res == -ECANCELED) {
        return;
    } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
        br_warn("accept on listener %s: %s (retrying in 1 s)", a->lst->cfg->name, strerror(-res));
        return; /* re-armed by the periodic tick */
    } else if (res != -EINTR && res != -ECONNABORTED && res != -EAGAIN) {
        br_warn("accept on listener %s: %s", a->lst->cfg->name, strerror(-res));
    }
    if (!a->armed)
        arm_accept(loop, a);
}

/* ---- the dispatch switch -------------------------------------------------------------- */

void br_loop_job_hold(struct br_loop *loop, struct br_admin_job *j)
{
    struct br_conn *c = j->resp->conn;
    j->op = (struct br_op){BR_OP_ADMIN, c};
    j->loop = loop;
    j->next = NULL;
    c->inflight++;
    atomic_fetch_add(&loop->admin_pending, 1);
}

void br_loop_job_deliver(struct br_admin_job *j)
{
    struct br_loop *l = j->loop;
    pthread_mutex_lock(&l->admin_lock);
    j->next = l->admin_done;
    l->admin_done = j;
    pthread_mutex_unlock(&l->admin_lock);
    atomic_store(&l->admin_flag, true);
    br_ring_wake(&l->ring);
}

void br_admin_submit(struct br_loop *loop, struct br_admin_job *j)
{
    struct br_server *srv = loop->srv;
    br_loop_job_hold(loop, j);
    pthread_mutex_lock(&srv->admin_lock);
    if (srv->admin_tail)
        srv->admin_tail->next = j;
    else
        srv->admin_head = j;
    srv->admin_tail = j;
    pthread_cond_signal(&srv->admin_cond);
    pthread_mutex_unlock(&srv->admin_lock);
}

static void *admin_main(void *arg)
{
    struct br_server *srv = arg;
    br_log_set_thread("admin");
    pthread_mutex_lock(&srv->admin_lock);
    for (;;) {
        while (!srv->admin_head && !srv->admin_stop)
            pthread_cond_wait(&srv->admin_cond, &srv->admin_lock);
        struct br_admin_job *j = srv->admin_head;
        if (!j)
            break; /* stopping and nothing queued */
        srv->admin_head = j->next;
        if (!srv->admin_head)
            srv->admin_tail = NULL;
        pthread_mutex_unlock(&srv->admin_lock);
        j->run(j);
        br_loop_job_deliver(j);
        pthread_mutex_lock(&srv->admin_lock);
    }
    pthread_mutex_unlock(&srv->admin_lock);
    return NULL;
}

/* Loop thread: delivers finished admin jobs as BR_OP_ADMIN completions (oldest first). */
static void admin_collect(struct br_loop *loop)
{
    pthread_mutex_lock(&loop->admin_lock);
    struct br_admin_job *j = loop->admin_done;
    loop->admin_done = NULL;
    pthread_mutex_unlock(&loop->admin_lock);
    struct br_admin_job *rev = NULL;
    while (j) {
        struct br_admin_job *next = j->next;
        j->next = rev;
        rev = j;
        j = next;
    }
    while (rev) {
        struct br_admin_job *next = rev->next;
        br_conn_complete(rev->op.owner, &rev->op, 0, 0);
        rev = next;
    }
}

static void on_wake(struct br_loop *loop, int res)
{
    (void)res;
    br_ring_arm_wake(&loop->ring);
    if (atomic_exchange(&loop->admin_flag, false))
        admin_collect(loop);
    if (atomic_exchange(&loop->appended, false))
        loop->recheck_fetch = true;
    if (atomic_exchange(&loop->synced, false))
        recheck_durable(loop);
    if (atomic_exchange(&loop->bytes_freed, false))
        loop->bytes_recheck = true;
}

static void dispatch(struct br_loop *loop, struct io_uring_cqe *cqe)
{
    struct br_op *op = io_uring_cqe_get_data(cqe);
    if (!op)
        return;
    switch ((enum br_op_kind)op->kind) {
    case BR_OP_ACCEPT:
        accept_complete(loop, op->owner, cqe->res, cqe->flags);
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
        on_wake(loop, cqe->res);
        break;
    case BR_OP_CANCEL:
    case BR_OP_ADMIN: /* never an SQE: delivered by admin_collect */
        break;
    }
}

/* ---- loop thread ---------------------------------------------------------------------- */

static void begin_stop(struct br_loop *loop)
{
    loop->stopping = true;
    loop->stop_deadline_ms = loop->now_ms + loop->srv->cfg->shutdown_timeout_ms;
    for (int i = 0; i < loop->naccepts; i++) {
        struct br_accept *a = &loop->accepts[i];
        if (a->armed)
            br_ring_cancel(&loop->ring, &a->op, NULL);
    }
    recheck_fetches(loop, true);
}

static int next_timeout(struct br_loop *loop)
{
    int64_t t = 1000;
    if (loop->stopping)
        t = 50;
    if (loop->bytes_recheck)
        return 0; /* request bytes freed after this turn's retry: retry at once */
    for (struct br_resp *r = loop->fetch_waits; r; r = r->wnext) {
        int64_t d = r->deadline_ms - loop->now_ms;
        if (d < t)
            t = d < 0 ? 0 : d;
    }
    return (int)t;
}

static void signal_started(struct br_loop *loop, int rc)
{
    struct br_server *srv = loop->srv;
    pthread_mutex_lock(&srv->start_lock);
    loop->start_rc = rc;
    srv->started++;
    pthread_cond_broadcast(&srv->start_cond);
    pthread_mutex_unlock(&srv->start_lock);
}

static void *loop_main(void *arg)
{
    struct br_loop *loop = arg;
    struct br_server *srv = loop->srv;
    char name[16];
    snprintf(name, sizeof(name), "loop%d", loop->id);
    br_log_set_thread(name);
    int rc = br_ring_init(&loop->ring, &srv->feat, RING_ENTRIES);
    if (rc < 0) {
        br_err("io_uring set-up failed: %s", strerror(-rc));
        signal_started(loop, rc);
        return NULL;
    }
    if (srv->feat.multishot_recv) {
        rc = br_ring_bufs_init(&loop->ring, RECV_BUFS, RECV_BUF_SIZE);
        if (rc < 0)
            br_warn("provided buffers refused (%s): single-shot recv", strerror(-rc));
    }
    loop->now_ms = br_now_ms();
    br_ring_arm_wake(&loop->ring);
    for (int i = 0; i < loop->naccepts; i++)
        arm_accept(loop, &loop->accepts[i]);
    io_uring_submit(&loop->ring.ring);
    signal_started(loop, 0);
    loop->next_idle_check_ms = loop->now_ms + 1000;

    for (;;) {
        rc = br_ring_submit_wait(&loop->ring, next_timeout(loop));
        if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
            br_err("io_uring wait failed: %s", strerror(-rc));
            break;
        }
        loop->now_ms = br_now_ms();
        /* Each CQE is consumed before it is handled: handling may queue and submit new
         * SQEs whose completions need room in the CQ ring, and a ring kept full by our own
         * unconsumed batch would make every submit fail (-EBUSY). The batch is bounded so
         * timers and wake-ups still get their turn. */
        struct io_uring_cqe *cqe;
        for (int n = 0; n < 4 * RING_ENTRIES && io_uring_peek_cqe(&loop->ring.ring, &cqe) == 0;
             n++) {
            struct io_uring_cqe copy = *cqe;
            io_uring_cqe_seen(&loop->ring.ring, cqe);
            dispatch(loop, &copy);
        }

        loop->now_ms = br_now_ms();
        if (!loop->stopping && atomic_load(&srv->stopping))
            begin_stop(loop);
        if (loop->recheck_fetch) {
            loop->recheck_fetch = false;
            recheck_fetches(loop, false);
        } else if (loop->fetch_waits) {
            for (struct br_resp *r = loop->fetch_waits, *next; r; r = next) {
                next = r->wnext;
                if (loop->now_ms >= r->deadline_ms)
                    br_fetch_recheck(r, true);
                if (next && next->state != BR_RESP_WAIT_FETCH)
                    next = loop->fetch_waits;
            }
        }
        if (loop->bytes_recheck) {
            loop->bytes_recheck = false;
            br_conn_bytes_retry(loop);
        }
        if (loop->now_ms >= loop->next_idle_check_ms) {
            loop->next_idle_check_ms = loop->now_ms + 1000;
            br_conn_check_idle(loop);
            for (int i = 0; i < loop->naccepts; i++)
                arm_accept(loop, &loop->accepts[i]);
        }
        if (loop->stopping) {
            br_conn_stop_idle(loop);
            if (loop->nconns == 0)
                break;
            if (loop->now_ms >= loop->stop_deadline_ms) {
                br_warn("shutdown.timeout.ms passed: cutting %d connection(s)", loop->nconns);
                break;
            }
        }
    }
    /* A job still on the admin thread writes into its connection's memory: wait for it
     * (jobs are bounded by topic.partitions.max) before anything is freed. */
    while (atomic_load(&loop->admin_pending) > 0) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (atomic_exchange(&loop->admin_flag, false))
            admin_collect(loop);
    }
    br_ring_exit(&loop->ring); /* cancels whatever is still in flight */
    br_conn_free_all(loop);
    pipes_close(loop);
    free(loop->dec_mem);
    free(loop->enc_mem);
    for (int i = 0; i < loop->naccepts; i++) {
        if (loop->accepts[i].fd >= 0)
            close(loop->accepts[i].fd);
        loop->accepts[i].fd = -1;
    }
    return NULL;
}

/* ---- listeners ------------------------------------------------------------------------ */

static int bind_one(const struct br_listener_cfg *lc, int port, struct br_listener *out_l,
                    int *out_fd)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ports[16];
    snprintf(ports, sizeof(ports), "%d", port);
    int gai = getaddrinfo(lc->host[0] ? lc->host : NULL, ports, &hints, &res);
    if (gai != 0) {
        br_err("listener %s: cannot resolve '%s': %s", lc->name, lc->host, gai_strerror(gai));
        return -EINVAL;
    }
    int rc = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
            rc = -errno;
            close(fd);
            continue;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        char host[INET6_ADDRSTRLEN] = "";
        if (ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
            out_l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
            out_l->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
        snprintf(out_l->bound_host, sizeof(out_l->bound_host), "%s", host);
        *out_fd = fd;
        freeaddrinfo(res);
        return 0;
    }
    freeaddrinfo(res);
    br_err("listener %s: cannot listen on %s:%d: %s", lc->name, lc->host, port, strerror(-rc));
    return rc;
}

/*
 * Every loop's socket sets SO_REUSEPORT so that they can share the port; the flip side is
 * that a second broker (same user) could join the group and silently take half of the
 * connections. For a fixed port, an exclusive bind first proves that nobody listens there.
 *
 * A broker killed with SIGKILL leaves its listening sockets behind for a moment: its io_uring
 * holds references to them (armed accepts), and the kernel tears the ring down in a worker
 * after the process is gone, so for some milliseconds after its exit the port still has
 * listeners that will never accept again. A restart in that window would be refused (or, were
 * it not for this check, would join their group and lose the connections hashed to them). So a
 * port found in use is tried again for up to PORT_WAIT_MS before giving up. SO_REUSEADDR (on
 * this probe and on the real sockets) lets the bind ignore the killed broker's connections in
 * TIME_WAIT. Two brokers on one data dir are kept apart by the data-dir lock, taken before
 * this; the wait only delays the start-up of a broker whose port another process really holds.
 */
#define PORT_WAIT_MS  3000
#define PORT_RETRY_MS 10

static int port_probe(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return 0; /* bind_one reports it */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc = 0;
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno == EADDRINUSE)
        rc = -EADDRINUSE;
    close(fd);
    return rc;
}

static int port_free(const struct br_listener_cfg *lc)
{
    if (lc->port == 0)
        return 0;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ports[16];
    snprintf(ports, sizeof(ports), "%d", lc->port);
    if (getaddrinfo(lc->host[0] ? lc->host : NULL, ports, &hints, &res) != 0)
        return 0; /* bind_one reports it */
    int64_t start = br_now_ms();
    int rc;
    bool told = false;
    while ((rc = port_probe(res)) == -EADDRINUSE && br_now_ms() - start < PORT_WAIT_MS) {
        if (!told)
            br_info("listener %s: %s:%d is in use: waiting up to %d ms for it to be released (a "
                    "broker killed just now?)",
                    lc->name, lc->host, lc->port, PORT_WAIT_MS);
        told = true;
        struct timespec ts = {0, PORT_RETRY_MS * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    freeaddrinfo(res);
    if (rc)
        br_err("listener %s: %s:%d is already in use (another broker?)", lc->name, lc->host,
               lc->port);
    else if (told)
        br_info("listener %s: %s:%d released after %lld ms", lc->name, lc->host, lc->port,
                (long long)(br_now_ms() - start));
    return rc;
}

/* mkdir -p, then an exclusive flock on the directory itself: one broker per data dir. */
static int lock_data_dir(const char *dir, int *out_fd)
{
    char path[1024];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return -errno;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        return e == EWOULDBLOCK ? -EBUSY : -e;
    }
    *out_fd = fd;
    return 0;
}

/*
 * The port file: the first line is the PLAINTEXT listener's port (the first listener's when
 * there is no PLAINTEXT one), so "read one number" readers keep working; then one
 * "NAME PORT" line per listener, in configuration order.
 */
static int write_port_file(const char *path, const struct br_server *srv)
{
    int port = srv->listeners[0].port;
    for (int i = 0; i < srv->nlisteners; i++) {
        if (srv->listeners[i].cfg->protocol == BR_PROTO_PLAINTEXT) {
            port = srv->listeners[i].port;
            break;
        }
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    fprintf(f, "%d\n", port);
    for (int i = 0; i < srv->nlisteners; i++)
        fprintf(f, "%s %d\n", srv->listeners[i].cfg->name, srv->listeners[i].port);
    if (fclose(f) != 0) {
        int e = errno;
        unlink(tmp);
        return -e;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return -e;
    }
    return 0;
}

/* ---- TLS ------------------------------------------------------------------------------ */

/*
 * One context per SSL listener, built before anything binds so that a bad certificate or key
 * stops the start-up with a line naming the key. The kernel-TLS probe runs once; its verdict
 * is logged, and each SSL listener's line says which path it takes.
 */
static int tls_setup(struct br_server *srv)
{
    const struct br_config *cfg = srv->cfg;
    bool any = false;
    for (int li = 0; li < cfg->nlisteners; li++)
        any |= cfg->listeners[li].protocol == BR_PROTO_SSL;
    if (!any)
        return 0;
    char msg[256];
    bool ktls = br_ktls_probe(msg, sizeof(msg));
    br_info("%s", msg);
    /* Tests only: sessions start in socket mode as on a kernel with TLS, so that the
     * poll-driven handshake and the fall-back to tls-copy run on kernels without it. */
    const char *t = getenv("SPLICELOG_TEST_TLS_SOCKET_MODE");
    bool socket_mode_test = t && strcmp(t, "1") == 0;
    if (socket_mode_test && !ktls)
        br_warn("SPLICELOG_TEST_TLS_SOCKET_MODE=1: SSL sessions start in socket mode although "
                "the kernel cannot take their keys (a test setting)");
    for (int li = 0; li < cfg->nlisteners; li++) {
        const struct br_listener_cfg *lc = &cfg->listeners[li];
        if (lc->protocol != BR_PROTO_SSL)
            continue;
        char err[512];
        bool use_ktls = (ktls || socket_mode_test) && cfg->tls.ktls;
        int rc = br_tls_ctx_new(&cfg->tls, use_ktls, &srv->listeners[li].tls, err, sizeof(err));
        if (rc < 0) {
            br_err("listener %s: %s", lc->name, err);
            return rc;
        }
        const char *why = use_ktls ? "ktls-sendfile (kernel TLS; a session whose cipher the "
                                     "kernel cannot take falls back to tls-copy)"
                          : !cfg->tls.ktls ? "tls-copy (ssl.ktls.enable=false)"
                                           : "tls-copy (no kernel TLS)";
        br_info("listener %s: TLS (ssl.client.auth=%s, ssl.protocols=%s%s%s), fetch path %s",
                lc->name,
                cfg->tls.client_auth == BR_TLS_AUTH_REQUIRED    ? "required"
                : cfg->tls.client_auth == BR_TLS_AUTH_REQUESTED ? "requested"
                                                                : "none",
                (cfg->tls.versions & BR_TLS_V12) ? "TLSv1.2" : "",
                (cfg->tls.versions & BR_TLS_V12) && (cfg->tls.versions & BR_TLS_V13) ? "," : "",
                (cfg->tls.versions & BR_TLS_V13) ? "TLSv1.3" : "", why);
    }
    return 0;
}

static void tls_teardown(struct br_server *srv)
{
    for (int li = 0; li < BR_MAX_LISTENERS; li++) {
        br_tls_ctx_free(srv->listeners[li].tls);
        srv->listeners[li].tls = NULL;
    }
}

/* ---- housekeeping --------------------------------------------------------------------- */

static void count_topic(void *arg, const char *name, int32_t partitions)
{
    (void)name;
    (void)partitions;
    (*(int *)arg)++;
}

/* What storage recovery did at open (st_store_open_logged). */
static void store_msg(void *arg, enum st_msg_level level, const char *msg)
{
    (void)arg;
    br_log(level == ST_MSG_ERROR  ? BR_LOG_ERROR
           : level == ST_MSG_WARN ? BR_LOG_WARN
                                  : BR_LOG_INFO,
           "%s", msg);
}

static void scrub_log(void *arg, const char *msg)
{
    (void)arg;
    br_err("%s", msg); /* the store names the segment and the range */
}

static void *hk_main(void *arg)
{
    struct br_server *srv = arg;
    br_log_set_thread("housekeeping");
    int64_t next_maintain = br_now_ms() + srv->cfg->retention_check_interval_ms;
    pthread_mutex_lock(&srv->hk_lock);
    while (!srv->hk_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&srv->hk_cond, &srv->hk_lock, &ts);
        if (srv->hk_stop)
            break;
        pthread_mutex_unlock(&srv->hk_lock);
        int64_t now = br_now_ms();
        bool expire = now >= next_maintain;
        if (expire) {
            st_store_maintain(srv->store, br_wall_ms());
            next_maintain = now + srv->cfg->retention_check_interval_ms;
        }
        br_offsets_housekeeping(srv, expire); /* flush by time; retention with the logs' */
        int ntopics = 0;
        st_topic_foreach(srv->store, count_topic, &ntopics);
        /* (an empty store is skipped: st_store_scrub trips over it, see the issue note) */
        if (srv->cfg->scrub_bytes_per_sec > 0 && ntopics > 0) {
            struct st_scrub_report rep = {0};
            int rc =
                st_store_scrub(srv->store, srv->cfg->scrub_bytes_per_sec, scrub_log, srv, &rep);
            if (rc >= 0)
                br_stats_scrub(srv->stats, &rep);
            if (rc < 0)
                br_warn("scrub: %s", strerror(-rc));
            else if (rep.bad_segments > 0)
                br_err("scrub: %lld segment(s) no longer match their digests",
                       (long long)rep.bad_segments);
        }
        pthread_mutex_lock(&srv->hk_lock);
    }
    pthread_mutex_unlock(&srv->hk_lock);
    return NULL;
}

/* ---- run ------------------------------------------------------------------------------ */

int br_server_run(struct br_config *cfg, const char *port_file)
{
    static struct br_server s; /* one per process; zeroed */
    struct br_server *srv = &s;
    memset(srv, 0, sizeof(*srv));
    srv->cfg = cfg;
    pthread_mutex_init(&srv->start_lock, NULL);
    pthread_cond_init(&srv->start_cond, NULL);
    pthread_mutex_init(&srv->hk_lock, NULL);
    pthread_cond_init(&srv->hk_cond, NULL);
    pthread_mutex_init(&srv->admin_lock, NULL);
    pthread_cond_init(&srv->admin_cond, NULL);

    /* Signals: handled by sigwait in this thread only; SIGPIPE never kills us. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = br_loop_probe(&srv->feat);
    if (rc < 0) {
        br_err("io_uring is not usable on this kernel: %s", strerror(-rc));
        return rc;
    }
    struct utsname un;
    char feats[256];
    br_loop_features_str(&srv->feat, feats, sizeof(feats));
    uname(&un);
    br_info("kernel %s: io_uring %s", un.release, feats);
    br_info("io_uring use: %s accept, %s, send/sendmsg for responses",
            srv->feat.multishot_accept ? "multishot" : "single-shot",
            srv->feat.multishot_recv ? "multishot recv into provided buffers (128 x 16 KiB per "
                                       "loop)"
                                     : "single-shot recv into each connection's frame buffer");

    enum br_transfer xt = cfg->transfer;
    if (xt == BR_XFER_SPLICE && !srv->feat.splice) {
        br_warn("fetch.transfer=splice but the kernel lacks IORING_OP_SPLICE: using sendfile");
        xt = BR_XFER_SENDFILE;
    }

    char lerr[512];
    rc = br_limits_init(&srv->limits, cfg, lerr, sizeof(lerr));
    if (rc < 0) {
        br_err("%s", lerr);
        return rc;
    }
    if (cfg->queued_max_request_bytes >= 0 &&
        cfg->queued_max_request_bytes < cfg->socket_request_max_bytes)
        br_warn("queued.max.request.bytes=%lld is below socket.request.max.bytes=%lld: larger "
                "requests close their connection",
                (long long)cfg->queued_max_request_bytes, (long long)cfg->socket_request_max_bytes);

    rc = tls_setup(srv);
    if (rc < 0) {
        br_limits_free(&srv->limits);
        return rc;
    }

    srv->nloops = cfg->num_network_threads;
    srv->loops = calloc((size_t)srv->nloops, sizeof(*srv->loops));
    if (!srv->loops) {
        tls_teardown(srv);
        br_limits_free(&srv->limits);
        return -ENOMEM;
    }
    for (int i = 0; i < srv->nloops; i++) {
        srv->loops[i].srv = srv;
        srv->loops[i].id = i;
        srv->loops[i].ring.wake_fd = -1; /* until its thread sets the ring up */
        for (int j = 0; j < BR_MAX_LISTENERS; j++)
            srv->loops[i].accepts[j].fd = -1;
        pthread_mutex_init(&srv->loops[i].admin_lock, NULL);
    }

    /* metrics.listener: up before recovery, so that /health says 503 while it runs */
    rc = br_stats_start(srv);
    if (rc < 0) {
        free(srv->loops);
        tls_teardown(srv);
        br_limits_free(&srv->limits);
        return rc;
    }

    /* Bind: the first socket of a listener picks the port (0 = ephemeral), the others
     * join it with SO_REUSEPORT. */
    int lock_fd = -1;
    rc = lock_data_dir(cfg->data_dir, &lock_fd);
    if (rc < 0) {
        br_err("data dir %s: %s", cfg->data_dir,
               rc == -EBUSY ? "in use by another broker" : strerror(-rc));
        br_stats_free(srv);
        free(srv->loops);
        tls_teardown(srv);
        br_limits_free(&srv->limits);
        return rc;
    }
    if (xt == BR_XFER_AUTO) {
        char why[768];
        xt = br_xfer_auto_choose(cfg->data_dir, &srv->feat, (size_t)cfg->copy_buffer_bytes, why,
                                 sizeof(why));
        br_info("fetch.transfer=auto: %s, %s", br_transfer_name(xt), why);
    }
    srv->nlisteners = cfg->nlisteners;
    for (int li = 0; li < cfg->nlisteners && rc == 0; li++)
        rc = port_free(&cfg->listeners[li]);
    for (int li = 0; li < cfg->nlisteners && rc == 0; li++) {
        struct br_listener *l = &srv->listeners[li];
        l->cfg = &cfg->listeners[li];
        l->index = li;
        l->xfer = l->cfg->protocol == BR_PROTO_SSL ? &br_xfer_tls : br_xfer_for(xt);
        for (int i = 0; i < srv->nloops && rc == 0; i++) {
            int fd = -1;
            rc = bind_one(l->cfg, i == 0 ? l->cfg->port : l->port, l, &fd);
            if (rc == 0) {
                struct br_accept *a = &srv->loops[i].accepts[li];
                a->op = (struct br_op){BR_OP_ACCEPT, a};
                a->loop = &srv->loops[i];
                a->lst = l;
                a->fd = fd;
                a->multishot = srv->feat.multishot_accept;
                srv->loops[i].naccepts = li + 1;
            }
        }
    }
    if (rc == 0) {
        rc = st_store_open_logged(cfg->data_dir, &cfg->log, store_msg, NULL, NULL, &srv->store);
        if (rc < 0)
            br_err("cannot open data dir %s: %s", cfg->data_dir, strerror(-rc));
        else if ((rc = br_offsets_open(srv)) < 0)
            st_store_close(srv->store);
    }
    if (rc < 0) {
        for (int i = 0; i < srv->nloops; i++)
            for (int j = 0; j < srv->loops[i].naccepts; j++)
                if (srv->loops[i].accepts[j].fd >= 0)
                    close(srv->loops[i].accepts[j].fd);
        br_stats_free(srv);
        free(srv->loops);
        close(lock_fd);
        tls_teardown(srv);
        br_limits_free(&srv->limits);
        return rc;
    }
    st_store_set_notify(srv->store, on_synced, srv);
    struct br_groups_cfg gcfg = {
        .initial_rebalance_delay_ms = cfg->group_initial_delay_ms,
        .min_session_timeout_ms = cfg->group_min_session_ms,
        .max_session_timeout_ms = cfg->group_max_session_ms,
        .max_size = cfg->group_max_size,
        .max_groups = cfg->group_max_groups,
        .max_member_bytes = cfg->group_max_member_bytes,
        .max_total_bytes = cfg->group_max_total_bytes,
    };
    rc = br_groups_new(&gcfg, NULL, NULL, &srv->groups);
    if (rc == 0)
        rc = br_groups_timer_start(srv->groups);
    if (rc < 0)
        br_err("cannot set up the group coordinator: %s", strerror(-rc));
    int ntopics = 0;
    st_topic_foreach(srv->store, count_topic, &ntopics);
    br_info("data dir %s: %d topic(s)", cfg->data_dir, ntopics);
    for (int li = 0; li < srv->nlisteners; li++) {
        struct br_listener *l = &srv->listeners[li];
        br_info("listener %s://%s:%d (bound %s:%d, advertised %s:%d), fetch transfer %s",
                l->cfg->name, l->cfg->host, l->cfg->port, l->bound_host, l->port,
                l->cfg->adv_host[0] ? l->cfg->adv_host : l->bound_host,
                l->cfg->adv_port ? l->cfg->adv_port : l->port,
                br_tls_ctx_ktls(l->tls) ? br_xfer_ktls.name : l->xfer->name);
    }
    br_info("%d network thread(s), node.id=%d, auto.create.topics.enable=%s, "
            "num.partitions=%d, log.flush.interval.messages=%lld",
            srv->nloops, cfg->node_id, cfg->auto_create_topics ? "true" : "false",
            cfg->num_partitions, (long long)cfg->log.flush_interval_messages);

    bool admin = rc == 0 && pthread_create(&srv->admin_thread, NULL, admin_main, srv) == 0;
    if (!admin && rc == 0) {
        br_err("cannot start the admin thread");
        rc = -EAGAIN;
    }
    int started = 0;
    for (int i = 0; i < srv->nloops && rc == 0; i++) {
        if (pthread_create(&srv->loops[i].thread, NULL, loop_main, &srv->loops[i]) != 0) {
            br_err("cannot start loop thread %d", i);
            rc = -EAGAIN;
            break;
        }
        started++;
    }
    pthread_mutex_lock(&srv->start_lock);
    while (srv->started < started)
        pthread_cond_wait(&srv->start_cond, &srv->start_lock);
    pthread_mutex_unlock(&srv->start_lock);
    for (int i = 0; i < started; i++)
        if (srv->loops[i].start_rc < 0)
            rc = srv->loops[i].start_rc;
    bool hk = false;
    if (rc == 0) {
        hk = pthread_create(&srv->hk_thread, NULL, hk_main, srv) == 0;
        if (!hk)
            br_warn("cannot start the housekeeping thread: retention and scrub are off");
    }
    if (rc == 0)
        br_stats_ready(srv); /* /health: 200 (before the port file: readers take it as ready) */
    if (rc == 0 && port_file) {
        int prc = write_port_file(port_file, srv);
        if (prc < 0) {
            br_err("cannot write port file %s: %s", port_file, strerror(-prc));
            rc = prc;
        }
    }
    if (rc == 0) {
        br_info("splicelogd ready");
        for (;;) {
            const struct timespec tick = {.tv_sec = 1};
            int sig = sigtimedwait(&set, NULL, &tick);
            br_log_flush_limited();
            if (sig == SIGHUP) {
                br_info("received SIGHUP: nothing to do, still running (the configuration is "
                        "read only at start-up: restart to change it; the log is stderr, "
                        "nothing to reopen)");
            } else if (sig == SIGINT || sig == SIGTERM) {
                br_info("received %s: stopping (in-flight requests finish, then clean "
                        "shutdown)",
                        sig == SIGINT ? "SIGINT" : "SIGTERM");
                break;
            }
        }
    }

    atomic_store(&srv->stopping, true);
    br_stats_stopping(srv); /* /health: 503 */
    if (srv->groups)
        br_groups_stop(srv->groups); /* parked JoinGroup / SyncGroup: NOT_COORDINATOR */
    for (int i = 0; i < started; i++)
        if (srv->loops[i].start_rc == 0)
            br_ring_wake(&srv->loops[i].ring);
    for (int i = 0; i < started; i++)
        pthread_join(srv->loops[i].thread, NULL);
    if (admin) {
        pthread_mutex_lock(&srv->admin_lock);
        srv->admin_stop = true;
        pthread_cond_broadcast(&srv->admin_cond);
        pthread_mutex_unlock(&srv->admin_lock);
        pthread_join(srv->admin_thread, NULL);
    }
    if (hk) {
        pthread_mutex_lock(&srv->hk_lock);
        srv->hk_stop = true;
        pthread_cond_broadcast(&srv->hk_cond);
        pthread_mutex_unlock(&srv->hk_lock);
        pthread_join(srv->hk_thread, NULL);
    }
    for (int i = 0; i < srv->nloops; i++) {
        struct br_loop *l = &srv->loops[i];
        for (int j = 0; j < l->naccepts; j++)
            if (l->accepts[j].fd >= 0)
                close(l->accepts[j].fd);
    }
    br_stats_stop(srv); /* no scrape reads the groups, offsets or store past here */
    br_groups_free(srv->groups);
    srv->groups = NULL;
    br_offsets_close(srv);
    st_store_close(srv->store);
    /* every thread that could wake a loop (flusher, admin, housekeeping, group timer, the
     * loops themselves) has stopped */
    for (int i = 0; i < srv->nloops; i++)
        br_ring_close_wake(&srv->loops[i].ring);
    br_info("stopped: data flushed, clean-shutdown markers written");
    close(lock_fd);
    br_stats_free(srv); /* after the store: its flusher reported syncs until it closed */
    free(srv->loops);
    tls_teardown(srv);
    br_limits_free(&srv->limits);
    return rc;
}
