/*
 * br_api_markers — WriteTxnMarkers v1 (api key 27): a transaction coordinator, usually on
 * another broker of the cluster, ends a producer's transaction in the partitions this broker
 * leads (issue 18 M4, docs/cluster.md "Transactions"). Kafka's answers, per partition:
 *
 * - CLUSTER_ACTION on the cluster is required (the brokers' own principal has it); without it
 *   every partition of every marker is CLUSTER_AUTHORIZATION_FAILED, nothing is written.
 * - UNKNOWN_TOPIC_OR_PARTITION: no such partition; NOT_LEADER_OR_FOLLOWER: this broker does
 *   not lead it (the sender looks the leader up again and retries).
 * - A partition of a topic: the COMMIT or ABORT control batch is appended exactly as the
 *   single node's coordinator appends it (st_log_append_marker, br_txn_host.c op_marker), with
 *   the request's coordinator epoch in its value; a producer epoch older than the one the
 *   partition knows: INVALID_PRODUCER_EPOCH (Kafka's ProducerFencedException mapping); a
 *   coordinator epoch older than the one of the producer's last marker here (a deposed
 *   coordinator): TRANSACTION_COORDINATOR_FENCED, as Kafka. A marker repeated for a
 *   transaction already closed here closes nothing (st.h).
 * - A partition of __consumer_offsets: this broker must lead the partition and have loaded it
 *   (br_coload.h): NOT_LEADER_OR_FOLLOWER / COORDINATOR_LOAD_IN_PROGRESS otherwise (both
 *   retriable for the sender). In a cluster the COMMIT or ABORT control batch is appended first,
 *   as into any partition (it closes the producer's transactional offset batches there, which
 *   TxnOffsetCommit appended), then the producer's pending offsets of every group mapping to the
 *   partition end in the offsets store (st_offsets_txn_end: commit makes them the groups'
 *   committed offsets, abort drops them) with the mirror quiet: the control batch is the log's
 *   record of the end, and a load replays it (br_coload.h). The order matters: a crash after the
 *   control batch leaves a log whose replay commits the offsets; a crash before it leaves them
 *   pending and the marker unanswered, so the coordinator sends it again (docs/cluster.md). A
 *   single node (no cluster) writes no control batch there; the mirror appends the committed
 *   offsets as OffsetCommit records.
 * - Each partition is answered once what was appended is in every in-sync replica (the high
 *   watermark passed it: acks=all), at most MARKER_TIMEOUT_MS (Kafka's request.timeout.ms
 *   default) later: REQUEST_TIMED_OUT then, NOT_LEADER_OR_FOLLOWER when leadership was lost
 *   meanwhile, NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below min.insync.replicas;
 *   and, under log.flush.interval.messages=1, once it is durable. The response is parked
 *   meanwhile (as an acks=all Produce), never blocking the loop thread.
 *
 * The appends run on the loop thread (a marker is 78 bytes into the page cache, as a Produce
 * append; ending a group's offsets one record in the offsets store, as an OffsetCommit).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_api.h"
#include "br_clu.h"
#include "br_clu_repl.h"
#include "br_coload.h"
#include "br_cotopic.h"
#include "br_hwait.h"
#include "br_log.h"
#include "kp_msg_markers.h"
#include "kp_msg_sec.h"
#include "st_offsets.h"

enum { MARKER_TIMEOUT_MS = 30000, MARKER_GROUPS_MAX = 1024 };

/* The answer, copied into r's scratch memory (the request's bytes are gone once parked). */
struct mk_saved {
    struct kp_write_txn_markers_resp resp;
    struct kp_write_txn_markers_partition_result *parts; /* by slot */
    int32_t nparts;
};

/* Copies req's shape into r's scratch as an answer of err on every partition. */
static struct mk_saved *mk_save(struct br_resp *r, const struct kp_write_txn_markers_req *req,
                                int16_t err)
{
    size_t nt = 0, np = 0, names = 0;
    for (int32_t i = 0; i < req->n_markers; i++) {
        nt += (size_t)req->markers[i].n_topics;
        for (int32_t j = 0; j < req->markers[i].n_topics; j++) {
            const struct kp_write_txn_markers_topic *t = &req->markers[i].topics[j];
            np += (size_t)t->n_partitions;
            names += (size_t)(t->name.len > 0 ? t->name.len : 0);
        }
    }
    size_t need = br_align8(sizeof(struct mk_saved)) +
                  br_align8((size_t)req->n_markers * sizeof(struct kp_write_txn_marker_result)) +
                  br_align8(nt * sizeof(struct kp_write_txn_markers_topic_result)) +
                  br_align8(np * sizeof(struct kp_write_txn_markers_partition_result)) + names + 8;
    if (br_resp_scratch(r, need) < 0)
        return NULL;
    uint8_t *m = r->scratch;
    struct mk_saved *s = (struct mk_saved *)m;
    m += br_align8(sizeof(*s));
    struct kp_write_txn_marker_result *ms = (struct kp_write_txn_marker_result *)m;
    m += br_align8((size_t)req->n_markers * sizeof(*ms));
    struct kp_write_txn_markers_topic_result *ts = (struct kp_write_txn_markers_topic_result *)m;
    m += br_align8(nt * sizeof(*ts));
    struct kp_write_txn_markers_partition_result *ps =
        (struct kp_write_txn_markers_partition_result *)m;
    m += br_align8(np * sizeof(*ps));
    char *name = (char *)m;
    *s = (struct mk_saved){
        .resp = {.n_markers = req->n_markers, .markers = ms}, .parts = ps, .nparts = (int32_t)np};
    size_t kt = 0, kp = 0;
    for (int32_t i = 0; i < req->n_markers; i++) {
        const struct kp_write_txn_marker *mk = &req->markers[i];
        ms[i] = (struct kp_write_txn_marker_result){
            .producer_id = mk->producer_id, .n_topics = mk->n_topics, .topics = &ts[kt]};
        for (int32_t j = 0; j < mk->n_topics; j++, kt++) {
            const struct kp_write_txn_markers_topic *t = &mk->topics[j];
            int32_t nl = t->name.len > 0 ? t->name.len : 0;
            if (nl)
                memcpy(name, t->name.ptr, (size_t)nl);
            ts[kt] = (struct kp_write_txn_markers_topic_result){
                .name = {t->name.len >= 0 ? name : NULL, t->name.len},
                .n_partitions = t->n_partitions,
                .partitions = &ps[kp]};
            name += nl;
            for (int32_t p = 0; p < t->n_partitions; p++, kp++)
                ps[kp] = (struct kp_write_txn_markers_partition_result){
                    .partition_index = t->partitions[p], .error_code = err};
        }
    }
    r->hstate = s;
    return s;
}

static int16_t append_error(int rc)
{
    switch (rc) {
    case 0:
        return KP_ERR_NONE;
    case -ESTALE:
        return KP_ERR_INVALID_PRODUCER_EPOCH;
    case -EREMCHG:
        return KP_ERR_TRANSACTION_COORDINATOR_FENCED;
    case -ENOENT:
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    case -ENOMEM:
    case -ENOBUFS:
        return KP_ERR_COORDINATOR_NOT_AVAILABLE;
    default:
        return KP_ERR_KAFKA_STORAGE_ERROR;
    }
}

/* What the appends of one request did, for the wakes it must cause. */
struct mk_run {
    bool appended, hw_moved;
};

/* The waits of one partition's append: the high watermark (replicated: acks=all) and, under
 * log.flush.interval.messages=1, durability. Takes log's reference (dropped on failure: the
 * partition is then answered at once, the data written). */
static void add_waits(struct br_ctx *x, struct br_resp *r, struct mk_run *run, const char *topic,
                      size_t topic_len, int32_t p, struct st_log *log, int64_t need,
                      bool sync_needed, int32_t slot)
{
    struct br_repl *repl = x->clu ? br_clu_repl(x->clu) : NULL;
    if (repl && br_repl_isr_size(repl, log) >= 0) {
        run->hw_moved |= br_repl_appended(repl, log);
        struct st_log *ref = st_log_get(x->store, topic, topic_len, p);
        if (ref && br_resp_add_hwait(r, ref, need, slot, st_log_min_insync_replicas(log)) < 0)
            st_log_put(ref); /* cannot wait: answered now; the data is written */
    }
    if (sync_needed) {
        st_log_request_sync(log);
        if (br_resp_add_dwait(r, log, need) == 0)
            return;
    }
    st_log_put(log);
}

/* A partition of a topic: the control batch. */
static int16_t mark_partition(struct br_ctx *x, struct br_resp *r, struct mk_run *run,
                              const struct kp_write_txn_marker *mk, struct kp_str topic, int32_t p,
                              int32_t slot)
{
    int16_t e = br_api_leader_err(x, topic.ptr, (size_t)topic.len, p);
    if (e != KP_ERR_NONE)
        return e;
    struct st_log *log = st_log_get(x->store, topic.ptr, (size_t)topic.len, p);
    if (!log)
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    struct st_append_result res;
    int rc = st_log_append_marker(log, mk->producer_id, mk->producer_epoch, mk->transaction_result,
                                  mk->coordinator_epoch, br_wall_ms_of(x), &res);
    if (rc < 0) {
        if (rc != -ESTALE && rc != -EREMCHG)
            br_err_limited("WriteTxnMarkers: marker of producer %lld into %s-%d: %s",
                           (long long)mk->producer_id, BR_LOG_KSTR(topic), p, strerror(-rc));
        st_log_put(log);
        return append_error(rc);
    }
    run->appended = true;
    add_waits(x, r, run, topic.ptr, (size_t)topic.len, p, log, res.last_offset + 1, res.sync_needed,
              slot);
    return KP_ERR_NONE;
}

/* The distinct groups of one producer's pending offsets (st_offsets_txn_groups). */
struct group_list {
    char *names[MARKER_GROUPS_MAX];
    size_t lens[MARKER_GROUPS_MAX];
    int n;
    bool overflow;
};

static void add_group(void *arg, const char *group, size_t len)
{
    struct group_list *l = arg;
    for (int i = 0; i < l->n; i++)
        if (l->lens[i] == len && memcmp(l->names[i], group, len) == 0)
            return;
    char *c = l->n < MARKER_GROUPS_MAX ? malloc(len ? len : 1) : NULL;
    if (!c) {
        l->overflow = true;
        return;
    }
    memcpy(c, group, len);
    l->names[l->n] = c;
    l->lens[l->n++] = len;
}

/* A partition of __consumer_offsets: the producer's pending offsets of its groups end. */
static int16_t mark_offsets(struct br_ctx *x, struct br_resp *r, struct mk_run *run,
                            const struct kp_write_txn_marker *mk, int32_t p, int32_t slot)
{
    const char *name = BR_COTOPIC_NAME;
    size_t nlen = sizeof(BR_COTOPIC_NAME) - 1;
    int32_t nparts;
    if (x->clu) {
        int32_t id = br_clu_leader(x->clu, name, nlen, p);
        if (id == -ENOENT)
            return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        if (id != x->cfg->node_id)
            return KP_ERR_NOT_LEADER_OR_FOLLOWER;
        nparts = x->coload ? br_coload_partitions(x->coload) : 0;
        if (!x->coload || !br_coload_loaded(x->coload, p, -1))
            return x->coload && br_coload_loading(x->coload) ? KP_ERR_COORDINATOR_LOAD_IN_PROGRESS
                                                             : KP_ERR_NOT_LEADER_OR_FOLLOWER;
    } else {
        nparts = st_topic_partitions(x->store, name, nlen);
    }
    if (nparts <= 0 || p < 0 || p >= nparts)
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (!x->offsets)
        return KP_ERR_NOT_LEADER_OR_FOLLOWER;
    if (x->clu) {
        /* the control batch first, then the store (the order: docs/cluster.md) */
        int16_t ce = mark_partition(x, r, run, mk, (struct kp_str){name, (int32_t)nlen}, p, slot);
        if (ce != KP_ERR_NONE)
            return ce;
    }
    struct group_list *l = calloc(1, sizeof(*l));
    if (!l)
        return KP_ERR_COORDINATOR_NOT_AVAILABLE;
    st_offsets_txn_groups(x->offsets, mk->producer_id, add_group, l);
    int16_t e = l->overflow ? KP_ERR_COORDINATOR_NOT_AVAILABLE : KP_ERR_NONE;
    int64_t need = -1;
    for (int i = 0; i < l->n && e == KP_ERR_NONE; i++) {
        if (br_cotopic_partition_of(l->names[i], l->lens[i], nparts) != p)
            continue;
        struct br_cotopic_track t;
        br_cotopic_track_begin(&t);
        /* a cluster: the control batch is the log's record of this end (no OffsetCommit
         * records: a load replays the transactional batch and the marker) */
        bool was = br_cotopic_quiet(x->clu != NULL);
        int rc = st_offsets_txn_end(x->offsets, l->names[i], l->lens[i], mk->producer_id,
                                    mk->producer_epoch, mk->transaction_result, br_wall_ms_of(x));
        br_cotopic_quiet(was);
        br_cotopic_track_end();
        if (rc < 0) {
            br_err_limited("WriteTxnMarkers: ending producer %lld's offsets of group %.*s: %s",
                           (long long)mk->producer_id, (int)l->lens[i], l->names[i], strerror(-rc));
            e = rc == -ENOMEM ? KP_ERR_COORDINATOR_NOT_AVAILABLE : KP_ERR_KAFKA_STORAGE_ERROR;
        } else if (x->clu && t.rc < 0) {
            e = t.rc == -ENOMEM ? KP_ERR_COORDINATOR_NOT_AVAILABLE
                                : KP_ERR_NOT_LEADER_OR_FOLLOWER; /* the mirror could not append */
        } else if (t.part == p && t.end > need) {
            need = t.end;
        }
    }
    for (int i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l);
    if (e != KP_ERR_NONE || need < 0 || x->clu) /* (a cluster waits on the control batch) */
        return e;
    struct st_log *log = st_log_get(x->store, name, nlen, p);
    if (!log)
        return KP_ERR_NOT_LEADER_OR_FOLLOWER;
    add_waits(x, r, run, name, nlen, p, log, need, false, slot);
    return KP_ERR_NONE;
}

static void answer(struct br_resp *r, int32_t slot, int16_t err)
{
    struct mk_saved *s = r->hstate;
    if (s && slot >= 0 && slot < s->nparts)
        s->parts[slot].error_code = err;
}

static int mk_encode(struct br_resp *r)
{
    struct mk_saved *s = r->hstate;
    br_hwait_drop(r);
    r->hstate = NULL;
    br_resp_reset(r);
    return BR_ENCODE(r, kp_write_txn_markers_resp_encode, &s->resp);
}

static void mk_wake(struct br_resp *r, enum br_wake why, void *arg)
{
    br_hwait_wake(arg, r, why, answer, mk_encode, "WriteTxnMarkers response");
}

int br_api_write_txn_markers(struct br_req *q, struct br_resp *r)
{
    struct br_ctx *x = q->x;
    struct kp_write_txn_markers_req req;
    int rc = BR_DECODE(q, kp_write_txn_markers_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    bool allowed = br_allowed_cluster(q, KP_ACL_OP_CLUSTER_ACTION);
    struct mk_saved *s =
        mk_save(r, &req, allowed ? KP_ERR_NONE : KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    if (!s)
        return -ENOMEM;
    if (!allowed)
        br_warn_limited("peer=%s: WriteTxnMarkers refused: no CLUSTER_ACTION on the cluster",
                        q->peer->name);
    struct mk_run run = {0};
    int32_t slot = 0;
    for (int32_t i = 0; i < req.n_markers && allowed; i++) {
        const struct kp_write_txn_marker *mk = &req.markers[i];
        for (int32_t j = 0; j < mk->n_topics; j++) {
            const struct kp_write_txn_markers_topic *t = &mk->topics[j];
            /* exactly __consumer_offsets (not any internal topic) */
            bool internal = t->name.len == (int32_t)sizeof(BR_COTOPIC_NAME) - 1 &&
                            memcmp(t->name.ptr, BR_COTOPIC_NAME, sizeof(BR_COTOPIC_NAME) - 1) == 0;
            for (int32_t k = 0; k < t->n_partitions; k++, slot++) {
                int32_t p = t->partitions[k];
                int16_t e;
                if (t->name.len <= 0 || p < 0 || mk->producer_id < 0)
                    e = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                else if (internal)
                    e = mark_offsets(x, r, &run, mk, p, slot);
                else
                    e = mark_partition(x, r, &run, mk, t->name, p, slot);
                answer(r, slot, e);
            }
        }
    }
    if (run.appended)
        x->ops->notify(x, BR_WAIT_APPEND);
    if (run.hw_moved)
        x->ops->notify(x, BR_WAIT_SYNC);
    if (r->ndwaits == 0)
        return (rc = mk_encode(r)) < 0 ? rc : BR_REPLY;
    int64_t deadline = x->ops->now_ms(x) + MARKER_TIMEOUT_MS;
    /* parked before looking, so a high watermark moving right now is not missed (br_ctx.h) */
    rc = br_hwait_park(x, r, deadline, mk_wake, answer);
    if (rc < 0)
        return rc;
    if (rc > 0 && (rc = mk_encode(r)) < 0)
        return rc;
    return BR_REPLY;
}
