/*
 * br_server — the daemon as a whole: listeners, event-loop threads, the store, signals,
 * housekeeping.
 *
 * Contract
 * - br_server_run() is setup, run, teardown. Setup binds every listener (num.network.threads
 *   SO_REUSEPORT sockets per listener, one per loop thread, all on the same port), opens the
 *   store, the committed offsets and the group coordinator, starts the threads and writes the
 *   port file; run waits for SIGINT/SIGTERM (SIGHUP is logged and ignored); teardown stops
 *   accepting, lets in-flight requests finish (bounded by shutdown.timeout.ms), and closes the
 *   store (clean-shutdown markers). A setup step that fails stops the start-up (after logging
 *   why) and the same teardown undoes what was made; the result is 0, or the -errno of the
 *   failed step. An SSL listener gets its TLS context (br_tls.h) before anything binds: a bad
 *   ssl.* setting stops the start-up with a line naming the key. The port file's first line is
 *   the PLAINTEXT listener's port, then one "NAME PORT" line per listener.
 * - Each loop thread dispatches its connections' requests through its own request context
 *   (br_ctx.h), whose operations are this file's thin glue over the connection and the loop.
 * - Each loop thread owns its connections end to end. Cross-thread traffic is limited to the
 *   store (its own locking), the connection and request-byte counts of br_limit.h, and
 *   wake-ups through the loops' waits (br_loop.h): an append wakes loops with long-polling
 *   fetches, a completed sync wakes loops with produce requests waiting for durability,
 *   request bytes given back wake loops with connections waiting for them, and the admin
 *   thread and the group coordinator post parked responses back to their loops.
 */
#ifndef SPLICELOG_BR_SERVER_H
#define SPLICELOG_BR_SERVER_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "br_clu.h"
#include "br_config.h"
#include "br_ctx.h"
#include "br_limit.h"
#include "br_listen.h"
#include "br_loop.h"
#include "st.h"

struct br_clu_tls;
struct br_txn_ops;
struct br_txload;

/* Per loop thread: the loop's request context and its thread. */
struct br_server_loop {
    struct br_server *srv;
    struct br_ctx ctx; /* host: the loop (the ops are br_server.c's) */
    pthread_t thread;
    int start_rc; /* its set-up's result */
};

struct br_server {
    struct br_config *cfg;
    struct st_store *store;
    struct st_offsets *offsets; /* committed offsets of consumer groups (st_offsets.h) */
    struct br_dynconf *dyn;     /* dynamic broker configs (br_dynconf.h) */
    struct br_cotopic *cotopic; /* their mirror in __consumer_offsets (br_cotopic.h) */
    struct br_coload *coload;   /* in a cluster: the groups coordinated here (br_coload.h) */
    struct br_features feat;
    struct br_listener listeners[BR_MAX_LISTENERS];
    int nlisteners;
    struct br_loop *loops; /* contiguous: wake-ups walk them (br_loops_notify) */
    struct br_server_loop *per_loop;
    int nloops;
    struct br_accept *accepts; /* nloops x BR_MAX_LISTENERS, loop i's from i * BR_MAX_LISTENERS */
    struct br_limits limits;   /* max.connections (+ per IP), queued.max.request.bytes */
    atomic_bool stopping;
    sigset_t signals; /* taken by the main thread (SIGINT, SIGTERM, SIGHUP) */
    int lock_fd;      /* the data dir's lock, -1 until taken */
    bool limits_ok;
    int nthreads; /* loop threads started */
    /* housekeeping thread: st_store_maintain and st_store_scrub at a bounded rate */
    pthread_t hk_thread;
    pthread_mutex_t hk_lock;
    pthread_cond_t hk_cond;
    bool hk_stop;
    bool hk_started;
    /* admin thread: work that may take long in the store (creating or deleting topics with many
     * partitions, lookups by time, fdatasync of committed offsets) runs there, so no loop
     * thread freezes behind it (the ctx's admin operation, br_ctx.h) */
    pthread_t admin_thread;
    pthread_mutex_t admin_lock;
    pthread_cond_t admin_cond;
    struct br_job *admin_head, *admin_tail;
    bool admin_stop;
    bool admin_started;
    /* consumer groups: this broker coordinates every group (br_group.h) */
    struct br_groups *groups;
    /* security (broker/sec): credentials, the authorizer (NULL: none), quotas, the sessions */
    struct br_cred *cred;
    struct br_authz *authz;
    struct br_quotas *quotas;
    struct br_auth *auth;
    /* transactions: this broker coordinates every transactional id (br_txn.h, br_txn_host.c) */
    struct st_txnlog *txnlog;
    struct br_txns *txns;
    /* in a cluster: the transactional ids coordinated here (br_txload.h, br_txn_clu.c) */
    struct br_txload *txload;
    pthread_mutex_t txn_sync_lock; /* a marker waiting for its fdatasync (on_synced wakes it) */
    pthread_cond_t txn_sync_cond;
    /* in a cluster: the markers sender to other brokers (br_clu_markers.h), made at first use
     * under txn_sync_lock by br_txn_host.c */
    struct br_clu_markers *markers;
    /* the cluster (broker/clu/br_clu.h): membership and the controller through ZooKeeper;
     * NULL without zookeeper.connect (a single node) */
    struct br_clu *clu;
    /* metrics and the HTTP listener (br_stats.h); NULL when metrics.listener is off */
    struct br_stats *stats;
    /* the replica fetchers (broker/clu/br_clu_fetch.h): NULL without a cluster */
    struct br_clu_fetch *replica;
    /* an SSL inter.broker.listener.name: the TLS client context of the fetchers and the
     * markers sender (broker/clu/br_clu_link.h); NULL: PLAINTEXT (or no cluster) */
    struct br_clu_tls *clu_tls;
    /* start-up barrier */
    pthread_mutex_t start_lock;
    pthread_cond_t start_cond;
    int started;
};

int br_server_run(struct br_config *cfg, const char *port_file);

/* br_txn_host.c: the transaction coordinator over this server's store and offsets. open: after
 * the store and the offsets are open, before clients are let in (finishes prepared
 * transactions, sweeps open ones the coordinator's log cannot explain, starts its timer);
 * close: once no request can reach it, before the store closes. synced: the flusher synced a
 * log (a marker may be waiting for it). housekeeping: its log's flush by time and compaction. */
int br_server_txn_open(struct br_server *srv);
void br_server_txn_close(struct br_server *srv);
void br_server_txn_synced(struct br_server *srv);
void br_server_txn_housekeeping(struct br_server *srv);
/* br_txn_clu.c, a cluster (zookeeper.connect): the coordinator's hooks onto
 * __transaction_state (br_txn_ops.serves / state_write) set into ops before br_txn_new; the
 * loader started once the coordinator exists and stopped before it is freed; the cluster
 * thread's view of the topic (br_clu_conf.txn_view, arg: the server). */
void br_server_txn_cluster_ops(struct br_server *srv, struct br_txn_ops *ops);
int br_server_txn_cluster_start(struct br_server *srv);
void br_server_txn_cluster_stop(struct br_server *srv);
void br_server_txn_view(void *arg, const int32_t *epochs, int32_t np);

#endif
