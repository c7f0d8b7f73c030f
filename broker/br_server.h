/*
 * br_server — the daemon as a whole: listeners, event-loop threads, the store, signals,
 * housekeeping.
 *
 * Contract
 * - br_server_run() binds every listener (num.network.threads SO_REUSEPORT sockets per
 *   listener, one per loop thread, all on the same port), opens the store, writes the port
 *   file, runs until SIGINT/SIGTERM (SIGHUP is logged and ignored), then stops accepting,
 *   lets in-flight requests finish (bounded by shutdown.timeout.ms), closes the store
 * (clean-shutdown markers) and returns 0, or -errno when start-up failed (after logging why). An
 * SSL listener gets its TLS context (br_tls.h) before anything binds: a bad ssl.* setting stops the
 * start-up with a line naming the key. The port file's first line is the PLAINTEXT listener's port,
 * then one "NAME PORT" line per listener.
 * - Each loop thread owns its connections end to end. Cross-thread traffic is limited to the
 *   store (its own locking), the connection and request-byte counts of br_limit.h, and
 *   wake-ups: an append wakes loops with long-polling fetches, a completed sync wakes loops
 *   with produce requests waiting for durability, request bytes given back wake loops with
 *   connections waiting for them.
 */
#ifndef SPLICELOG_BR_SERVER_H
#define SPLICELOG_BR_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "br_config.h"
#include "br_limit.h"
#include "br_loop.h"
#include "st.h"

struct br_server;
struct br_conn;
struct br_resp;
struct br_xfer;
struct br_tls_ctx;
struct st_offsets;
struct br_stats;

/* One configured listener: its protocol and the transfer path fetches use on it. */
struct br_listener {
    const struct br_listener_cfg *cfg;
    int index;
    int port;                     /* the bound port */
    char bound_host[BR_HOST_MAX]; /* numeric form of the bound address */
    const struct br_xfer *xfer;   /* fetch transfer path of this listener */
    struct br_tls_ctx *tls;       /* SSL listeners: the context sessions are made from */
};

/* Per loop, per listener: the listening socket this thread accepts on. */
struct br_accept {
    struct br_op op; /* BR_OP_ACCEPT, owner = this */
    struct br_loop *loop;
    struct br_listener *lst;
    int fd;
    bool armed;
    bool multishot;
};

/*
 * Work that may take long in the store (creating or deleting topics with many partitions)
 * runs on the admin thread, so no loop thread freezes behind it. The job lives in its
 * response's scratch memory and counts as an in-flight op of its connection: the connection
 * is not freed before the job is back (two-phase close), and the job comes back through the
 * loop's wake-up as a BR_OP_ADMIN completion, when done() builds the response.
 */
struct br_admin_job {
    struct br_op op; /* BR_OP_ADMIN, owner = the connection */
    struct br_admin_job *next;
    struct br_loop *loop;
    struct br_resp *resp;
    void (*run)(struct br_admin_job *j);  /* admin thread: the store calls */
    void (*done)(struct br_admin_job *j); /* loop thread: encode, make the response ready */
};

struct br_pipe {
    int rd, wr;
    size_t cap;
    struct br_pipe *next;     /* free list */
    struct br_pipe *all_next; /* every pipe of the loop, for teardown */
};

struct br_loop {
    struct br_ring ring;
    struct br_server *srv;
    int id;
    pthread_t thread;
    int64_t now_ms; /* monotonic, refreshed every turn */

    struct br_accept accepts[BR_MAX_LISTENERS];
    int naccepts;

    /* Connections of this loop (doubly linked): the live ones in the order of their last
     * activity (accept, complete request, response sent), least recent first; the closing ones
     * apart until their last completion frees them. nconns counts both. */
    struct br_conn *conns, *conns_tail;
    struct br_conn *closing;
    int nconns;
    /* Connections waiting for queued.max.request.bytes, oldest first (br_conn.c). */
    struct br_conn *bytes_waits, *bytes_waits_tail;
    atomic_int nbytes_waits; /* read by other threads to decide whether to wake us */
    atomic_bool bytes_freed; /* set by other threads before waking us */
    bool bytes_recheck;      /* bytes were freed: retry the waiting connections */

    /* Responses waiting for a condition, doubly linked through br_resp.wprev/wnext. */
    struct br_resp *fetch_waits;   /* long-polling fetches */
    struct br_resp *durable_waits; /* produce responses waiting for fdatasync */
    atomic_int nfetch_waits;       /* read by other threads to decide whether to wake us */
    atomic_int ndurable_waits;
    bool recheck_fetch;   /* an append on this thread: re-evaluate fetch waits */
    atomic_bool appended; /* set by other threads before waking us */
    atomic_bool synced;   /* set by the storage flusher before waking us */

    /* splice transfer path: a bounded pool of pipes */
    struct br_pipe *pipes;
    struct br_pipe *free_pipes;
    int npipes;
    uint64_t pipes_replaced; /* pipes given back with bytes in them (replaced, never reused) */

    /* Decode/encode arenas of the handlers, reused by every request of this loop. */
    void *dec_mem;
    size_t dec_cap;
    void *enc_mem;
    size_t enc_cap;

    /* admin jobs of this loop: finished ones handed back by the admin thread */
    pthread_mutex_t admin_lock;
    struct br_admin_job *admin_done;
    atomic_int admin_pending; /* submitted and not yet handed back */
    atomic_bool admin_flag;

    int64_t next_idle_check_ms;
    bool stopping;
    int64_t stop_deadline_ms;
    int start_rc; /* result of the thread's set-up, reported to br_server_run */
};

struct br_server {
    struct br_config *cfg;
    struct st_store *store;
    struct st_offsets *offsets; /* committed offsets of consumer groups (st_offsets.h) */
    struct br_features feat;
    struct br_listener listeners[BR_MAX_LISTENERS];
    int nlisteners;
    struct br_loop *loops;
    int nloops;
    struct br_limits limits; /* max.connections (+ per IP), queued.max.request.bytes */
    atomic_bool stopping;
    /* housekeeping thread: st_store_maintain and st_store_scrub at a bounded rate */
    pthread_t hk_thread;
    pthread_mutex_t hk_lock;
    pthread_cond_t hk_cond;
    bool hk_stop;
    /* admin thread: topic creation and deletion */
    pthread_t admin_thread;
    pthread_mutex_t admin_lock;
    pthread_cond_t admin_cond;
    struct br_admin_job *admin_head, *admin_tail;
    bool admin_stop;
    /* consumer groups: this broker coordinates every group (br_group.h) */
    struct br_groups *groups;
    /* metrics and the HTTP listener (br_stats.h); NULL when metrics.listener is off */
    struct br_stats *stats;
    /* start-up barrier */
    pthread_mutex_t start_lock;
    pthread_cond_t start_cond;
    int started;
};

int br_server_run(struct br_config *cfg, const char *port_file);

/* Request bytes were given back and connections wait for them somewhere (loop thread): wakes
 * the loops where they wait. */
void br_server_bytes_freed(struct br_loop *loop);
/* Called by the produce handler after an append made records visible (loop thread). */
void br_server_appended(struct br_loop *loop);
/* Registers / removes a response in its loop's wait lists (loop thread). */
void br_loop_wait_fetch(struct br_loop *loop, struct br_resp *r);
void br_loop_wait_durable(struct br_loop *loop, struct br_resp *r);
void br_loop_unwait(struct br_loop *loop, struct br_resp *r);

/* Loop thread: hands a job to the admin thread (counted in its connection's in-flight ops);
 * the response must be parked in state BR_RESP_WAIT_ADMIN. */
void br_admin_submit(struct br_loop *loop, struct br_admin_job *j);

/* A job completed by another party instead of the admin thread (the group coordinator
 * answering a parked JoinGroup or SyncGroup): br_loop_job_hold (loop thread, before the job
 * can be completed; counted in its connection's in-flight ops like an admin job, the response
 * in state BR_RESP_WAIT_ADMIN), then br_loop_job_deliver from any thread, exactly once, after
 * which done() runs on the loop thread (not when the connection closed meanwhile). */
void br_loop_job_hold(struct br_loop *loop, struct br_admin_job *j);
void br_loop_job_deliver(struct br_admin_job *j);

/* The splice pipe pool (loop thread). NULL when empty. */
struct br_pipe *br_loop_pipe_get(struct br_loop *loop);
/* Returns a pipe to the pool; fill is the bytes the holder counted as still inside (0 after a
 * finished transfer). The pool asks the kernel (FIONREAD) and replaces a pipe that is not
 * empty, so a pipe handed out never holds another client's bytes; a count that disagrees
 * with the kernel's is logged as an accounting error. */
void br_loop_pipe_put(struct br_loop *loop, struct br_pipe *p, size_t fill);

#endif
