/*
 * br_txn_clu — the transaction coordinator's state in a cluster (issue 18 M4, docs/cluster.md
 * "Transactions"): the hooks br_txn.h asks (which ids this broker serves; each state change
 * appended to the id's partition of __transaction_state and replicated before the answer) and
 * the loader of the partitions this broker leads (br_txload.h).
 *
 * - serves(id): br_txload_check (NONE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS).
 * - state_write(id, r): one record (br_txtopic.h) appended to the id's partition, which this
 *   broker must lead and have LOADED (else -ENOTCONN: NOT_COORDINATOR), then a wait on the
 *   calling thread (the admin thread, the coordinator's timer or the loader; never a loop) until
 *   the partition's high watermark passed it, as Kafka's coordinator appends with acks=all:
 *   the ISR below the topic's min.insync.replicas before or after the append -EAGAIN,
 *   leadership lost (or the partition reloaded at another leader epoch) while waiting -ENOTCONN,
 *   not replicated within offsets.commit.timeout.ms -ETIMEDOUT (Kafka waits request.timeout.ms;
 *   the groups' bound is used here so one admin thread is not held 30 s). br_txn.h maps these to
 *   COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR as Kafka's TransactionStateManager does. A
 *   record that timed out stays in the log (as in Kafka): a later load replays it.
 * - The wait polls the high watermark every millisecond (bounded by the deadline): the appends
 *   are a few per transaction, and the paths that move a high watermark wake loops, not this
 *   thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_clock.h"
#include "br_clu.h"
#include "br_clu_repl.h"
#include "br_log.h"
#include "br_server.h"
#include "br_txload.h"
#include "br_txn.h"
#include "br_txtopic.h"
#include "kp_api.h"
#include "st.h"

static int16_t op_serves(void *arg, const char *id, size_t len, int32_t *coord_epoch)
{
    struct br_server *srv = arg;
    if (!srv->txload)
        return KP_ERR_COORDINATOR_NOT_AVAILABLE;
    return br_txload_check(srv->txload, id, len, NULL, coord_epoch);
}

/* Too few in-sync replicas for an acks=all append to log? */
static bool isr_short(struct br_server *srv, struct st_log *log)
{
    int32_t isr = br_repl_isr_size(br_clu_repl(srv->clu), log);
    return isr >= 0 && isr < st_log_min_insync_replicas(log);
}

struct loaded_at {
    struct br_txload *tl;
    int32_t part, epoch;
};

static bool still_loaded(void *arg)
{
    const struct loaded_at *l = arg;
    return br_txload_loaded(l->tl, l->part, l->epoch);
}

/* Waits until log's high watermark reaches need, partition part still loaded at epoch. */
static int wait_replicated(struct br_server *srv, struct st_log *log, int64_t need, int32_t part,
                           int32_t epoch)
{
    struct loaded_at l = {srv->txload, part, epoch};
    int rc = br_repl_wait_hw(log, need, br_now_ms() + srv->cfg->offsets_commit_timeout_ms,
                             still_loaded, &l);
    if (rc < 0)
        return rc;
    return isr_short(srv, log) ? -EAGAIN : 0; /* (Kafka: NOT_ENOUGH_REPLICAS_AFTER_APPEND) */
}

static int op_state_write(void *arg, const char *id, size_t len, const struct st_txnlog_rec *r)
{
    struct br_server *srv = arg;
    int32_t part = -1, epoch = -1;
    if (!srv->txload || !srv->clu ||
        br_txload_check(srv->txload, id, len, &part, &epoch) != KP_ERR_NONE)
        return -ENOTCONN;
    size_t cap = br_txtopic_batch_size(len, r);
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    int64_t now = br_wall_ms();
    long bl = br_txtopic_batch(buf, cap, id, len, r, r ? r->update_ms : now);
    struct st_log *log =
        bl > 0 ? st_log_get(srv->store, BR_TXTOPIC_NAME, BR_TXTOPIC_LEN, part) : NULL;
    int rc = bl < 0 ? (int)bl : !log ? -ENOTCONN : 0;
    if (rc == 0 && isr_short(srv, log))
        rc = -EAGAIN; /* Kafka: NOT_ENOUGH_REPLICAS, nothing appended */
    struct st_append_result res;
    if (rc == 0)
        rc = st_log_append(log, &(struct iovec){buf, (size_t)bl}, 1, now, &res);
    free(buf);
    if (rc == 0) {
        if (res.sync_needed)
            st_log_request_sync(log);
        /* the high watermark follows when the ISR is this broker alone; followers' long
         * polls look again */
        if (br_repl_appended(br_clu_repl(srv->clu), log))
            br_loops_notify(srv->loops, srv->nloops, NULL, BR_WAIT_SYNC);
        br_loops_notify(srv->loops, srv->nloops, NULL, BR_WAIT_APPEND);
        rc = wait_replicated(srv, log, res.last_offset + 1, part, epoch);
    }
    if (log)
        st_log_put(log);
    if (rc < 0)
        br_warn_limited("transactional id %.*s: its state record in %s-%d: %s", (int)len, id,
                        BR_TXTOPIC_NAME, (int)part,
                        rc == -ETIMEDOUT ? "not replicated in time" : strerror(-rc));
    return rc;
}

void br_server_txn_cluster_ops(struct br_server *srv, struct br_txn_ops *ops)
{
    (void)srv;
    ops->serves = op_serves;
    ops->state_write = op_state_write;
}

int br_server_txn_cluster_start(struct br_server *srv)
{
    /* the ids a single node's st_txnlog held are not this broker's to serve: each partition's
     * leader loads its own (br_txn_clu.h DECISION in br_txtopic.h) */
    int n = br_txn_drop(srv->txns, NULL, NULL);
    if (n > 0)
        br_warn("transaction coordinator: %d transactional id(s) of the local log set aside: in "
                "a cluster ids are loaded from %s",
                n, BR_TXTOPIC_NAME);
    struct br_txload_conf tc = {.store = srv->store, .txns = srv->txns};
    struct br_txload *tl = NULL;
    int rc = br_txload_new(&tc, &tl);
    if (rc < 0) {
        br_err("cannot start the transaction coordinator's loader: %s", strerror(-rc));
        return rc;
    }
    __atomic_store_n(&srv->txload, tl, __ATOMIC_RELEASE);
    return 0;
}

void br_server_txn_cluster_stop(struct br_server *srv)
{
    br_txload_stop(srv->txload); /* (its lookups answer the coordinator's timer until freed) */
}

void br_server_txn_view(void *arg, const int32_t *epochs, int32_t np)
{
    struct br_server *srv = arg;
    struct br_txload *tl = __atomic_load_n(&srv->txload, __ATOMIC_ACQUIRE);
    if (tl)
        br_txload_update(tl, epochs, np);
}
