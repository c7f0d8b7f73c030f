/*
 * br_txn_host — the transaction coordinator (broker/coord/br_txn.h) given this server's hands:
 * markers appended to the store's partitions, transactional offsets ended in the offsets
 * store, durability per log.flush.interval.messages, and its start-up (see br_server.h).
 *
 * - A marker is an append: parked read_committed fetches are woken (the LSO moved), from the
 *   coordinator's thread (the admin thread, or its timer), as the flusher wakes loops.
 * - Under log.flush.interval.messages=1 each marker waits for the fdatasync that covers it
 *   before the end goes on (ORDER OF AN END step 4: every marker durable before
 *   Complete{Commit,Abort} is written), and the transactional offsets are synced in flush().
 *   The coordinator's own log is synced per record by st_txnlog under the same policy.
 * - test.txn.crash.step=N (tests only): the process kills itself with SIGKILL right after
 *   step N of an end, so a crash loop can stop a commit at every step.
 * - In a cluster (zookeeper.connect), a marker goes to the partition's current leader: appended
 *   here when this broker leads it, else sent to the leader (WriteTxnMarkers, br_clu_markers.h),
 *   and either way the marker is done once it is in every in-sync replica (the high watermark
 *   passed it; REQUEST_TIMED_OUT / not the leader any more: -EAGAIN, the coordinator's tick
 *   retries). A group's transactional offsets end at the leader of the group's
 *   __consumer_offsets partition, here or through a marker sent to it. Markers carry the
 *   coordinator epoch (the __transaction_state partition's leader epoch; the leaders fence by
 *   it: st.h, st_log_append_marker); a single node writes 0.
 * - In a cluster (zookeeper.connect), producer-id blocks are reserved in ZooKeeper
 *   (br_clu_pid_block, on the cluster thread; InitProducerId waits for it on the admin thread),
 *   so no two brokers hand out the same producer id; while ZooKeeper cannot give one,
 *   InitProducerId answers COORDINATOR_NOT_AVAILABLE (a rate-limited log line says why). A
 *   single node takes its blocks from its own log alone, as before.
 * - In a cluster the coordinator's states live in __transaction_state (br_txn_clu.c sets the
 *   hooks and starts the loader; st_txnlog then keeps only producer-id blocks), and start-up
 *   runs neither br_txn_recover nor the sweep: each partition's leader finishes its own
 *   prepared transactions when it loads them (br_txload.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "br_clock.h"
#include "br_clu.h"
#include "br_clu_markers.h"
#include "br_clu_repl.h"
#include "br_coload.h"
#include "br_cotopic.h"
#include "br_log.h"
#include "br_server.h"
#include "br_txload.h"
#include "br_txn.h"
#include "st_offsets.h"
#include "st_txnlog.h"

enum { MARKER_SYNC_WAIT_MS = 30000 };

/* Waits until log's durable offset reaches need (the flusher signals txn_sync_cond). */
static int wait_durable(struct br_server *srv, struct st_log *log, int64_t need)
{
    int64_t deadline = br_now_ms() + MARKER_SYNC_WAIT_MS;
    pthread_mutex_lock(&srv->txn_sync_lock);
    while (st_log_durable_offset(log) < need) {
        if (br_now_ms() >= deadline) {
            pthread_mutex_unlock(&srv->txn_sync_lock);
            return -ETIMEDOUT; /* the end stays prepared; the coordinator's tick retries */
        }
        st_log_request_sync(log);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->txn_sync_cond, &srv->txn_sync_lock, &ts);
    }
    pthread_mutex_unlock(&srv->txn_sync_lock);
    return 0;
}

/* ---- a cluster: markers at the partitions' leaders ------------------------------------------ */

static bool clustered(const struct br_server *srv) { return srv->cfg->zk_connect[0] != '\0'; }

/* The sender's view of the cluster (br_clu_markers_conf). */
static int32_t view_leader(void *arg, const char *topic, size_t topic_len, int32_t partition)
{
    struct br_server *srv = arg;
    struct br_clu *clu = srv->clu;
    return clu ? br_clu_leader(clu, topic, topic_len, partition) : -1;
}

static int view_endpoint(void *arg, int32_t id, char *host, size_t cap, int32_t *port)
{
    struct br_server *srv = arg;
    struct br_clu *clu = srv->clu;
    struct br_clu_node node;
    if (!clu || br_clu_node(clu, srv->cfg->inter_broker_listener, id, &node) < 0)
        return -ENOENT;
    snprintf(host, cap, "%s", node.host);
    *port = node.port;
    return 0;
}

/* The markers sender (made at first use: the cluster opens after the coordinator). */
static struct br_clu_markers *sender(struct br_server *srv)
{
    pthread_mutex_lock(&srv->txn_sync_lock);
    if (!srv->markers && srv->clu) {
        struct br_clu_markers_conf mc = {.broker_id = srv->cfg->node_id,
                                         .leader = view_leader,
                                         .endpoint = view_endpoint,
                                         .arg = srv,
                                         .tls = srv->clu_tls,
                                         .handshake_ms = srv->cfg->tls.handshake_timeout_ms};
        if (br_clu_markers_new(&mc, &srv->markers) < 0)
            srv->markers = NULL;
    }
    struct br_clu_markers *m = srv->markers;
    pthread_mutex_unlock(&srv->txn_sync_lock);
    return m;
}

/* One partition's marker written by its leader, another broker: 0, -ENOENT, -ESTALE, -EAGAIN
 * (br_clu_markers.h). */
static int remote_marker(struct br_server *srv, const char *topic, size_t topic_len,
                         int32_t partition, int64_t pid, int16_t epoch, bool commit,
                         int32_t coord_epoch)
{
    struct br_clu_markers *m = sender(srv);
    if (!m)
        return -EAGAIN;
    struct br_clu_marker_part part = {topic, topic_len, partition, -EAGAIN};
    /* the leader answers by its own request timeout (MARKER_SYNC_WAIT_MS too) */
    int rc = br_clu_markers_write(m, pid, epoch, commit, coord_epoch, &part, 1,
                                  br_now_ms() + MARKER_SYNC_WAIT_MS + 5000);
    return rc < 0 ? rc : part.rc;
}

/* A log this broker leads in a cluster: waits until its high watermark reaches need (every
 * in-sync replica has what was appended: acks=all). -EAGAIN when this broker stopped leading
 * it or MARKER_SYNC_WAIT_MS passed (the coordinator retries the end). */
static int wait_replicated(struct br_server *srv, const char *topic, size_t topic_len,
                           int32_t partition, struct st_log *log, int64_t need)
{
    int64_t deadline = br_now_ms() + MARKER_SYNC_WAIT_MS;
    for (;;) {
        struct br_clu *clu = srv->clu;
        if (!clu || br_clu_leader(clu, topic, topic_len, partition) != srv->cfg->node_id)
            return -EAGAIN;
        if (br_repl_isr_size(br_clu_repl(clu), log) < 0 || st_log_high_watermark(log) >= need)
            return 0; /* not replicated (one replica), or in every in-sync replica */
        if (br_now_ms() >= deadline)
            return -EAGAIN;
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Who writes partition's marker in a cluster: 1 this broker (it leads it), 0 done by *rc
 * (another broker's answer, or -ENOENT / -EAGAIN). */
static int route(struct br_server *srv, const char *topic, size_t topic_len, int32_t partition,
                 int64_t pid, int16_t epoch, bool commit, int32_t coord_epoch, int *rc)
{
    struct br_clu *clu = srv->clu;
    if (!clu) {
        *rc = -EAGAIN; /* not joined yet, or leaving */
        return 0;
    }
    int32_t l = br_clu_leader(clu, topic, topic_len, partition);
    if (l == srv->cfg->node_id)
        return 1;
    *rc = l == -ENOENT ? -ENOENT
          : l < 0
              ? -EAGAIN
              : remote_marker(srv, topic, topic_len, partition, pid, epoch, commit, coord_epoch);
    return 0;
}

static int op_marker(void *arg, const char *topic, size_t topic_len, int32_t partition, int64_t pid,
                     int16_t epoch, bool commit, int32_t coord_epoch, int64_t now_ms)
{
    struct br_server *srv = arg;
    /* A marker goes only into a log this broker leads: in a follower's copy it would break the
     * replica. A partition led elsewhere gets it from its leader (WriteTxnMarkers). */
    int rc = 0;
    if (clustered(srv) &&
        route(srv, topic, topic_len, partition, pid, epoch, commit, coord_epoch, &rc) == 0)
        return rc;
    struct st_log *log = st_log_get(srv->store, topic, topic_len, partition);
    if (!log)
        return -ENOENT;
    struct st_append_result res;
    rc = st_log_append_marker(log, pid, epoch, commit, coord_epoch, now_ms, &res);
    if (rc == 0) {
        br_loops_notify(srv->loops, srv->nloops, NULL, BR_WAIT_APPEND);
        if (clustered(srv) && srv->clu && br_repl_appended(br_clu_repl(srv->clu), log))
            br_loops_notify(srv->loops, srv->nloops, NULL, BR_WAIT_SYNC);
        if (res.sync_needed)
            rc = wait_durable(srv, log, res.last_offset + 1);
        if (rc == 0 && clustered(srv))
            rc = wait_replicated(srv, topic, topic_len, partition, log, res.last_offset + 1);
    }
    st_log_put(log);
    return rc;
}

/* A cluster: the group's offsets end at the leader of its __consumer_offsets partition. */
static int offsets_end_clustered(struct br_server *srv, const char *group, size_t group_len,
                                 int64_t pid, int16_t epoch, bool commit, int32_t coord_epoch,
                                 int64_t now_ms)
{
    const char *name = BR_COTOPIC_NAME;
    size_t nlen = sizeof(BR_COTOPIC_NAME) - 1;
    struct br_clu *clu = srv->clu;
    if (!clu)
        return -EAGAIN;
    int32_t n = br_clu_topic_partitions(clu, name, nlen);
    if (n <= 0)
        return 0; /* no group has a coordinator: nothing can be pending */
    int32_t p = br_cotopic_partition_of(group, group_len, n);
    int rc = 0;
    if (route(srv, name, nlen, p, pid, epoch, commit, coord_epoch, &rc) == 0)
        return rc == -ENOENT ? 0 : rc;
    if (!srv->coload || !br_coload_loaded(srv->coload, p, -1))
        return -EAGAIN; /* loading: the marker is retried once it is loaded */
    /* As WriteTxnMarkers does (br_api_markers.c): the control batch first, then the store with
     * the mirror quiet, then the wait (the order: docs/cluster.md "Transaction markers"). */
    struct st_log *log = st_log_get(srv->store, name, nlen, p);
    if (!log)
        return -EAGAIN;
    struct st_append_result res;
    rc = st_log_append_marker(log, pid, epoch, commit, coord_epoch, now_ms, &res);
    if (rc == 0) {
        br_loops_notify(srv->loops, srv->nloops, NULL, BR_WAIT_APPEND);
        if (br_repl_appended(br_clu_repl(clu), log))
            br_loops_notify(srv->loops, srv->nloops, NULL, BR_WAIT_SYNC);
        bool was = br_cotopic_quiet(true);
        rc = st_offsets_txn_end(srv->offsets, group, group_len, pid, epoch, commit, now_ms);
        br_cotopic_quiet(was);
    }
    if (rc == 0 && res.sync_needed)
        rc = wait_durable(srv, log, res.last_offset + 1);
    if (rc == 0)
        rc = wait_replicated(srv, name, nlen, p, log, res.last_offset + 1);
    st_log_put(log);
    return rc;
}

static int op_offsets_end(void *arg, const char *group, size_t group_len, int64_t pid,
                          int16_t epoch, bool commit, int32_t coord_epoch, int64_t now_ms)
{
    struct br_server *srv = arg;
    if (!srv->offsets)
        return 0;
    if (clustered(srv))
        return offsets_end_clustered(srv, group, group_len, pid, epoch, commit, coord_epoch,
                                     now_ms);
    return st_offsets_txn_end(srv->offsets, group, group_len, pid, epoch, commit, now_ms);
}

static int op_flush(void *arg)
{
    struct br_server *srv = arg;
    if (srv->cfg->log.flush_interval_messages != 1 || !srv->offsets)
        return 0; /* the markers waited for their own syncs */
    return st_offsets_sync(srv->offsets);
}

static bool op_partition_exists(void *arg, const char *topic, size_t topic_len, int32_t partition)
{
    struct br_server *srv = arg;
    /* a cluster's view: the coordinator need not hold a replica of the topic */
    int32_t n = srv->clu ? br_clu_topic_partitions(srv->clu, topic, topic_len)
                         : st_topic_partitions(srv->store, topic, topic_len);
    return n > 0 && partition >= 0 && partition < n;
}

static void op_step(void *arg, int n)
{
    struct br_server *srv = arg;
    if (n == srv->cfg->test_txn_crash_step) {
        br_warn("test.txn.crash.step=%d: killing the broker (SIGKILL) after step %d of a "
                "transaction's end",
                n, n);
        raise(SIGKILL);
    }
}

/* A block of producer ids from the cluster (br_txn_ops.pid_block; set only with a cluster). */
static int op_pid_block(void *arg, int32_t n, int64_t floor, int64_t *first)
{
    struct br_server *srv = arg;
    int rc = srv->clu ? br_clu_pid_block(srv->clu, n, floor, first) : -ENOTCONN;
    if (rc < 0)
        br_warn_limited("cluster: no block of producer ids from ZooKeeper (%s): InitProducerId "
                        "answers COORDINATOR_NOT_AVAILABLE (retriable) until one is reserved",
                        strerror(-rc));
    return rc;
}

static void txnlog_msg(void *arg, const char *msg)
{
    (void)arg;
    br_warn("%s", msg);
}

/* ---- start-up: the sweep of open transactions ---------------------------------------------- */

struct topic_list {
    char **names;
    int32_t *parts;
    int n, cap;
    int err;
};

static void add_topic(void *arg, const char *name, int32_t partitions)
{
    struct topic_list *l = arg;
    if (l->err)
        return;
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        char **nn = realloc(l->names, (size_t)cap * sizeof(*nn));
        if (nn)
            l->names = nn;
        int32_t *np = realloc(l->parts, (size_t)cap * sizeof(*np));
        if (np)
            l->parts = np;
        if (!nn || !np) {
            l->err = -ENOMEM;
            return;
        }
        l->cap = cap;
    }
    l->names[l->n] = strdup(name);
    if (!l->names[l->n]) {
        l->err = -ENOMEM;
        return;
    }
    l->parts[l->n++] = partitions;
}

/* Every partition's open transactions, checked against the coordinator (br_txn_sweep). */
static int sweep(struct br_server *srv)
{
    struct topic_list l = {0};
    st_topic_foreach(srv->store, add_topic, &l);
    int rc = l.err, written = 0;
    enum { CAP = 256 };
    struct st_open_txn *open = malloc(CAP * sizeof(*open));
    if (!open)
        rc = -ENOMEM;
    for (int i = 0; i < l.n && rc == 0; i++) {
        for (int32_t p = 0; p < l.parts[i] && rc == 0; p++) {
            struct st_log *log = st_log_get(srv->store, l.names[i], strlen(l.names[i]), p);
            if (!log)
                continue;
            int n = st_log_open_txns(log, open, CAP);
            st_log_put(log);
            if (n <= 0)
                continue;
            int w =
                br_txn_sweep(srv->txns, l.names[i], strlen(l.names[i]), p, open, n < CAP ? n : CAP);
            if (w < 0)
                rc = w;
            else
                written += w;
        }
    }
    for (int i = 0; i < l.n; i++)
        free(l.names[i]);
    free(l.names);
    free(l.parts);
    free(open);
    if (written > 0)
        br_warn("transaction coordinator: %d marker(s) written at start-up for open "
                "transactions its log did not hold open",
                written);
    return rc;
}

int br_server_txn_open(struct br_server *srv)
{
    const struct br_config *cfg = srv->cfg;
    struct st_txnlog_opts o;
    st_txnlog_opts_default(&o);
    o.flush_interval_messages = cfg->log.flush_interval_messages;
    o.flush_interval_ms = cfg->log.flush_interval_ms;
    o.log_fn = txnlog_msg;
    int rc = st_txnlog_open(cfg->data_dir, &o, &srv->txnlog);
    if (rc < 0) {
        br_err("cannot open the transaction log in %s/%s: %s", cfg->data_dir, ST_TXNLOG_DIR,
               strerror(-rc));
        return rc;
    }
    struct br_txn_cfg tc;
    br_txn_cfg_default(&tc);
    tc.max_timeout_ms = cfg->txn_max_timeout_ms;
    tc.abort_check_ms = cfg->txn_abort_check_ms;
    tc.id_expiration_ms = cfg->txn_id_expiration_ms;
    tc.expire_check_ms = cfg->txn_expire_check_ms;
    tc.max_memory_bytes = cfg->txn_max_memory_bytes;
    tc.pid_block_size = cfg->test_pid_block_size;
    struct br_txn_ops ops = {
        .marker = op_marker,
        .offsets_end = op_offsets_end,
        .flush = op_flush,
        .partition_exists = op_partition_exists,
        .step = cfg->test_txn_crash_step > 0 ? op_step : NULL,
        .pid_block = cfg->zk_connect[0] ? op_pid_block : NULL, /* (srv->clu: set before
                                                                   clients are let in) */
        .arg = srv,
    };
    if (cfg->zk_connect[0])
        br_server_txn_cluster_ops(srv, &ops); /* __transaction_state (br_txn_clu.c) */
    rc = br_txn_new(&tc, &ops, srv->txnlog, NULL, NULL, &srv->txns);
    if (rc < 0) {
        br_err("cannot set up the transaction coordinator: %s", strerror(-rc));
        return rc;
    }
    if (cfg->zk_connect[0]) {
        /* a cluster: each partition's leader loads and finishes its own (br_txload.h) */
        if ((rc = br_server_txn_cluster_start(srv)) < 0)
            return rc;
    } else {
        rc = br_txn_recover(srv->txns);
        if (rc < 0)
            br_err("transaction coordinator: a transaction found prepared could not be "
                   "finished: %s (retried by its timer)",
                   strerror(-rc));
        rc = sweep(srv);
        if (rc < 0)
            br_err("transaction coordinator: start-up sweep of open transactions: %s",
                   strerror(-rc));
    }
    rc = br_txn_timer_start(srv->txns);
    if (rc < 0) {
        br_err("cannot start the transaction coordinator's timer: %s", strerror(-rc));
        return rc;
    }
    struct br_txn_stats s;
    br_txn_stats(srv->txns, &s);
    if (cfg->zk_connect[0])
        br_info("transaction coordinator: %lld transactional id(s), %lld open, producer ids from "
                "blocks reserved in ZooKeeper (at or above %lld)",
                (long long)s.ids, (long long)s.ongoing, (long long)s.next_pid);
    else
        br_info("transaction coordinator: %lld transactional id(s), %lld open, next producer id "
                "%lld",
                (long long)s.ids, (long long)s.ongoing, (long long)s.next_pid);
    for (int i = 0; i < srv->nloops; i++)
        srv->per_loop[i].ctx.txns = srv->txns;
    return 0;
}

void br_server_txn_close(struct br_server *srv)
{
    br_server_txn_cluster_stop(srv); /* its loader uses the coordinator */
    br_txn_free(srv->txns);          /* stops its timer */
    srv->txns = NULL;
    br_txload_free(srv->txload);
    srv->txload = NULL;
    br_clu_markers_free(srv->markers);
    srv->markers = NULL;
    st_txnlog_close(srv->txnlog);
    srv->txnlog = NULL;
}

void br_server_txn_synced(struct br_server *srv)
{
    pthread_mutex_lock(&srv->txn_sync_lock);
    pthread_cond_broadcast(&srv->txn_sync_cond);
    pthread_mutex_unlock(&srv->txn_sync_lock);
}

void br_server_txn_housekeeping(struct br_server *srv)
{
    if (srv->txnlog)
        st_txnlog_maintain(srv->txnlog);
}
