/*
 * br_api_txn — InitProducerId (v0-4), AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and
 * TxnOffsetCommit (v0-3): the wire side of the transaction coordinator (br_txn.h holds the
 * state machine, its durable log and the order of an end).
 *
 * Each of these requests may wait for the disk (the coordinator's log is written before every
 * answer, fdatasynced under log.flush.interval.messages=1; an EndTxn writes a marker into
 * each partition of the transaction, synced under the same policy, and a producer-id block is
 * always synced), so none runs on a loop thread: the handler checks that the body decodes
 * (a body that does not closes the connection, as for every API), copies it into the
 * response's scratch memory, and hands the job to the admin thread (br_ctx.h), which decodes
 * it again there into an arena in the same scratch memory, asks the coordinator and builds the
 * response struct; the loop thread then encodes it. The scratch memory is bounded by the
 * request's size (about 12 times its body), as the dispatcher's decode arena is.
 *
 * Answers, beyond the coordinator's (Kafka's KafkaApis):
 * - PRODUCER_FENCED becomes INVALID_PRODUCER_EPOCH for the versions that predate it
 *   (InitProducerId v0-3, AddPartitionsToTxn and AddOffsetsToTxn v0-1, EndTxn v0-1).
 * - TxnOffsetCommit: an empty group id is INVALID_GROUP_ID on every partition; a partition of
 *   no existing topic UNKNOWN_TOPIC_OR_PARTITION; metadata past offset.metadata.max.bytes
 *   OFFSET_METADATA_TOO_LARGE; a member id or a generation (v3) is checked as OffsetCommit
 *   checks it, while a transactional commit without them is allowed even when the group has
 *   members (Kafka's validateOffsetCommit with isTransactional). The offsets stay invisible to
 *   OffsetFetch until the transaction commits (st_offsets_txn_commit_batch); a store that
 *   cannot write answers NOT_COORDINATOR, as OffsetCommit does.
 * - No coordinator (a broker started without one): COORDINATOR_NOT_AVAILABLE.
 * - In a cluster (docs/cluster.md "Transactions"): the coordinator of a transactional id is the
 *   leader of its __transaction_state partition; elsewhere NOT_COORDINATOR, while it loads
 *   COORDINATOR_LOAD_IN_PROGRESS (br_txn.h), and each answer waits for its state record to be
 *   replicated.
 * - TxnOffsetCommit in a cluster is served by the group's coordinator (NOT_COORDINATOR /
 *   COORDINATOR_LOAD_IN_PROGRESS elsewhere, br_coload.h), which keeps the offsets pending for
 *   the producer without asking a transaction coordinator (in general another broker's): the
 *   transaction's coordinator ends them with WriteTxnMarkers to this broker, the leader of the
 *   group's __consumer_offsets partition (br_api_markers.c). The pending offsets are appended
 *   to that partition as a transactional batch of the producer and answered once replicated
 *   (commit_replicated), so a new coordinator loads them pending (br_coload.h).
 * - InitProducerId in a cluster waits (here, on the admin thread) for ZooKeeper when a new
 *   block of producer ids is needed; none to be had: COORDINATOR_NOT_AVAILABLE (br_txn.h).
 *
 * Authorization, Kafka's checks and codes (KafkaApis), decided on the loop thread (where the
 * connection's decision cache lives) before the job is queued; a request refused as a whole
 * never reaches the coordinator:
 * - InitProducerId with a transactional id: WRITE on it (TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
 *   without one (an idempotent producer): IDEMPOTENT_WRITE on the cluster or WRITE on some
 *   topic (KIP-679; CLUSTER_AUTHORIZATION_FAILED).
 * - AddPartitionsToTxn: WRITE on the transactional id (every partition refused with
 *   TRANSACTIONAL_ID_AUTHORIZATION_FAILED), then WRITE on each topic: when a topic is refused
 *   nothing is added; its partitions get TOPIC_AUTHORIZATION_FAILED, unknown ones
 *   UNKNOWN_TOPIC_OR_PARTITION, the rest OPERATION_NOT_ATTEMPTED.
 * - AddOffsetsToTxn: WRITE on the transactional id, then READ on the group
 *   (GROUP_AUTHORIZATION_FAILED).
 * - EndTxn: WRITE on the transactional id.
 * - TxnOffsetCommit: WRITE on the transactional id, then READ on the group (either refusal on
 *   every partition), then READ on each topic (TOPIC_AUTHORIZATION_FAILED on its partitions,
 *   the others committed).
 */
#include <errno.h>
#include <string.h>

#include "br_api.h"
#include "br_clock.h"
#include "br_clu.h"
#include "br_clu_repl.h"
#include "br_coload.h"
#include "br_cotopic.h"
#include "br_group.h"
#include "br_log.h"
#include "br_txn.h"
#include "kp_msg.h"
#include "kp_msg_sec.h"
#include "kp_msg_txn.h"
#include "st_offsets.h"

/* The job: the request body's copy and the arena follow it in the scratch memory. */
struct txn_job {
    struct br_job job; /* first: the job is the start of the scratch memory */
    const struct br_peer *peer;
    int16_t key, version;
    const uint8_t *body;
    size_t body_len;
    struct kp_arena arena;
    int rc; /* decoding or answering on the admin thread: 0 or -errno */
    /* the loop thread's authorization: the whole request refused with this Kafka error (0:
     * allowed); AddPartitionsToTxn and TxnOffsetCommit: topic_denied[i] for the request's i-th
     * topic (n_topics entries, in the scratch memory; NULL for the other APIs) */
    int16_t denied;
    uint8_t *topic_denied;
    int32_t n_topics;
    union {
        struct kp_init_producer_id_resp init;
        struct kp_add_partitions_to_txn_resp add_parts;
        struct kp_add_offsets_to_txn_resp add_offsets;
        struct kp_end_txn_resp end;
        struct kp_txn_offset_commit_resp commit;
    } resp;
};

/* PRODUCER_FENCED for versions that know it, else INVALID_PRODUCER_EPOCH (Kafka's KafkaApis). */
static int16_t fenced(int16_t err, bool knows_fenced)
{
    return err == KP_ERR_PRODUCER_FENCED && !knows_fenced ? KP_ERR_INVALID_PRODUCER_EPOCH : err;
}

/* ---- InitProducerId ---------------------------------------------------------------------- */

static void init_run(struct txn_job *tj, struct br_txns *c)
{
    struct kp_init_producer_id_req req;
    struct kp_rd rd;
    kp_rd_init(&rd, tj->body, tj->body_len);
    tj->rc = kp_init_producer_id_req_decode(&rd, tj->version, &tj->arena, &req);
    if (tj->rc < 0)
        return;
    struct br_txn_init_req in = {.txn_id = req.transactional_id,
                                 .timeout_ms = req.transaction_timeout_ms,
                                 .producer_id = tj->version >= 3 ? req.producer_id : -1,
                                 .epoch = tj->version >= 3 ? req.producer_epoch : -1};
    struct br_txn_init_res out = {
        .error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE, .producer_id = -1, .epoch = -1};
    if (tj->denied)
        out.error_code = tj->denied;
    else if (c)
        br_txn_init_producer(c, &in, &out);
    tj->resp.init = (struct kp_init_producer_id_resp){
        .throttle_time_ms = 0,
        .error_code = fenced(out.error_code, tj->version >= 4),
        .producer_id = out.error_code == KP_ERR_NONE ? out.producer_id : -1,
        .producer_epoch = out.error_code == KP_ERR_NONE ? out.epoch : -1,
    };
}

/* ---- AddPartitionsToTxn ------------------------------------------------------------------ */

/* Did the loop thread refuse one of the request's n topics? */
static bool topic_refused(const struct txn_job *tj, int32_t n)
{
    if (!tj->topic_denied || tj->n_topics != n)
        return false;
    for (int32_t i = 0; i < n; i++)
        if (tj->topic_denied[i])
            return true;
    return false;
}

/* A request refused before the coordinator (Kafka's KafkaApis): the whole request's error on
 * every partition, or, when topics were refused, TOPIC_AUTHORIZATION_FAILED on theirs,
 * UNKNOWN_TOPIC_OR_PARTITION on unknown partitions and OPERATION_NOT_ATTEMPTED on the rest. */
static void not_attempted(const struct txn_job *tj, struct st_store *store,
                          const struct br_txn_topic *topics, int32_t n_topics, int16_t *errors)
{
    size_t k = 0;
    for (int32_t i = 0; i < n_topics; i++) {
        const struct br_txn_topic *t = &topics[i];
        int32_t nparts = t->name.len > 0
                             ? st_topic_partitions(store, t->name.ptr, (size_t)t->name.len)
                             : -ENOENT;
        for (int32_t j = 0; j < t->n; j++, k++) {
            if (tj->denied)
                errors[k] = tj->denied;
            else if (tj->topic_denied[i])
                errors[k] = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
            else if (nparts < 0 || t->partitions[j] < 0 || t->partitions[j] >= nparts)
                errors[k] = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            else
                errors[k] = KP_ERR_OPERATION_NOT_ATTEMPTED;
        }
    }
}

static void add_parts_run(struct txn_job *tj, struct br_txns *c)
{
    struct kp_add_partitions_to_txn_req req;
    struct kp_rd rd;
    kp_rd_init(&rd, tj->body, tj->body_len);
    tj->rc = kp_add_partitions_to_txn_req_decode(&rd, tj->version, &tj->arena, &req);
    if (tj->rc < 0)
        return;
    size_t np = 0;
    for (int32_t i = 0; i < req.n_topics; i++)
        np += (size_t)req.topics[i].n_partitions;
    struct br_txn_topic *in = kp_arena_alloc(&tj->arena, (size_t)req.n_topics, sizeof(*in));
    struct kp_add_partitions_to_txn_topic_result *out =
        kp_arena_alloc(&tj->arena, (size_t)req.n_topics, sizeof(*out));
    struct kp_add_partitions_to_txn_partition_result *res =
        kp_arena_alloc(&tj->arena, np, sizeof(*res));
    int16_t *errors = kp_arena_alloc(&tj->arena, np, sizeof(*errors));
    if ((req.n_topics > 0 && (!in || !out)) || (np > 0 && (!res || !errors))) {
        tj->rc = -ENOMEM;
        return;
    }
    for (int32_t i = 0; i < req.n_topics; i++)
        in[i] = (struct br_txn_topic){.name = req.topics[i].name,
                                      .n = req.topics[i].n_partitions,
                                      .partitions = req.topics[i].partitions};
    if (tj->denied || topic_refused(tj, req.n_topics)) {
        not_attempted(tj, tj->job.x->store, in, req.n_topics, errors);
    } else if (c) {
        br_txn_add_partitions(c, req.transactional_id, req.producer_id, req.producer_epoch, in,
                              req.n_topics, errors);
    } else {
        for (size_t k = 0; k < np; k++)
            errors[k] = KP_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    size_t k = 0;
    for (int32_t i = 0; i < req.n_topics; i++) {
        out[i] =
            (struct kp_add_partitions_to_txn_topic_result){.name = req.topics[i].name,
                                                           .n_results = req.topics[i].n_partitions,
                                                           .results = &res[k]};
        for (int32_t j = 0; j < req.topics[i].n_partitions; j++, k++)
            res[k] = (struct kp_add_partitions_to_txn_partition_result){
                .partition_index = req.topics[i].partitions[j],
                .error_code = fenced(errors[k], tj->version >= 2)};
    }
    tj->resp.add_parts = (struct kp_add_partitions_to_txn_resp){
        .throttle_time_ms = 0, .n_topics = req.n_topics, .topics = out};
}

/* ---- AddOffsetsToTxn --------------------------------------------------------------------- */

static void add_offsets_run(struct txn_job *tj, struct br_txns *c)
{
    struct kp_add_offsets_to_txn_req req;
    struct kp_rd rd;
    kp_rd_init(&rd, tj->body, tj->body_len);
    tj->rc = kp_add_offsets_to_txn_req_decode(&rd, tj->version, &tj->arena, &req);
    if (tj->rc < 0)
        return;
    int16_t e = tj->denied ? tj->denied
                : c        ? br_txn_add_offsets(c, req.transactional_id, req.producer_id,
                                                req.producer_epoch, req.group_id)
                           : KP_ERR_COORDINATOR_NOT_AVAILABLE;
    tj->resp.add_offsets = (struct kp_add_offsets_to_txn_resp){
        .throttle_time_ms = 0, .error_code = fenced(e, tj->version >= 2)};
}

/* ---- EndTxn ------------------------------------------------------------------------------ */

static void end_run(struct txn_job *tj, struct br_txns *c)
{
    struct kp_end_txn_req req;
    struct kp_rd rd;
    kp_rd_init(&rd, tj->body, tj->body_len);
    tj->rc = kp_end_txn_req_decode(&rd, tj->version, &tj->arena, &req);
    if (tj->rc < 0)
        return;
    int16_t e = tj->denied ? tj->denied
                : c ? br_txn_end(c, req.transactional_id, req.producer_id, req.producer_epoch,
                                 req.committed)
                    : KP_ERR_COORDINATOR_NOT_AVAILABLE;
    tj->resp.end =
        (struct kp_end_txn_resp){.throttle_time_ms = 0, .error_code = fenced(e, tj->version >= 2)};
}

/* ---- TxnOffsetCommit --------------------------------------------------------------------- */

static int16_t commit_error(int rc)
{
    switch (rc) {
    case 0:
        return KP_ERR_NONE;
    case -EMSGSIZE:
        return KP_ERR_OFFSET_METADATA_TOO_LARGE;
    case -EINVAL:
        return KP_ERR_INVALID_REQUEST;
    case -ENOMEM:
        return KP_ERR_COORDINATOR_NOT_AVAILABLE;
    case -ENOBUFS:
        return KP_ERR_INVALID_COMMIT_OFFSET_SIZE;
    default:
        return KP_ERR_NOT_COORDINATOR; /* as OffsetCommit (br_api_commit.c) */
    }
}

struct commit_write {
    struct st_offsets *o;
    struct kp_str group;
    int64_t pid;
    int16_t epoch;
    const struct st_offset_commit *items;
    int n;
    int64_t now;
    int *results;
    int rc;
};

/*
 * A cluster: the pending offsets the mirror appended to the group's __consumer_offsets
 * partition as a transactional batch of the producer (br_cotopic.h), waited for (on this, the
 * admin thread) until the partition's high watermark passed it, as OffsetCommit waits
 * (br_api_commit.c) and with its errors: leadership lost or the partition reloaded meanwhile
 * NOT_COORDINATOR, not replicated within offsets.commit.timeout.ms or the ISR below
 * min.insync.replicas COORDINATOR_NOT_AVAILABLE; a batch the partition refused: an older
 * producer epoch than its batches there INVALID_PRODUCER_EPOCH, no room for the producer's
 * state (or memory) COORDINATOR_NOT_AVAILABLE, else NOT_COORDINATOR. As for OffsetCommit, the
 * store holds the pending offsets from the moment they are written, also when the answer is an
 * error (docs/cluster.md). Only an answered commit is sure to survive
 * the coordinator's failover (docs/cluster.md "Transaction markers"). The wait polls every
 * millisecond (br_repl_wait_hw), as the transaction coordinator's state writes do.
 */
struct loaded_at {
    struct br_coload *cl;
    int32_t part, epoch;
};

static bool still_loaded(void *arg)
{
    const struct loaded_at *l = arg;
    return br_coload_loaded(l->cl, l->part, l->epoch);
}

static int16_t commit_replicated(struct br_ctx *x, struct kp_str group,
                                 const struct br_cotopic_track *t)
{
    int32_t part = -1, epoch = -1;
    int16_t cerr = x->coload
                       ? br_coload_check(x->coload, group.ptr, (size_t)group.len, &part, &epoch)
                       : KP_ERR_NOT_COORDINATOR;
    if (t->rc == -ESTALE) /* an older epoch than the producer's batches there: fenced */
        return KP_ERR_INVALID_PRODUCER_EPOCH;
    if (t->rc < 0 || t->part < 0 || t->part != part || cerr != KP_ERR_NONE)
        return t->rc == -ENOMEM || t->rc == -ENOBUFS ? KP_ERR_COORDINATOR_NOT_AVAILABLE
                                                     : KP_ERR_NOT_COORDINATOR;
    struct st_log *log = st_log_get(x->store, BR_COTOPIC_NAME, sizeof(BR_COTOPIC_NAME) - 1, part);
    if (!log)
        return KP_ERR_NOT_COORDINATOR;
    struct loaded_at l = {x->coload, part, epoch};
    int rc = br_repl_wait_hw(log, t->end, br_now_ms() + x->cfg->offsets_commit_timeout_ms,
                             still_loaded, &l);
    int16_t e = rc == -ENOTCONN    ? KP_ERR_NOT_COORDINATOR
                : rc == -ETIMEDOUT ? KP_ERR_COORDINATOR_NOT_AVAILABLE
                                   : KP_ERR_NONE;
    if (e == KP_ERR_NONE) {
        int32_t isr = br_repl_isr_size(br_clu_repl(x->clu), log);
        if (isr >= 0 && isr < st_log_min_insync_replicas(log))
            e = KP_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    st_log_put(log);
    return e;
}

/* Under the transaction's lock (br_txn_offset_commit). */
static int commit_write(void *arg)
{
    struct commit_write *w = arg;
    w->rc = st_offsets_txn_commit_batch(w->o, w->group.ptr, (size_t)w->group.len, w->pid, w->epoch,
                                        w->items, w->n, w->now, w->results);
    return w->rc;
}

static void commit_run(struct txn_job *tj, struct br_txns *c)
{
    struct br_ctx *x = tj->job.x;
    struct kp_txn_offset_commit_req req;
    struct kp_rd rd;
    kp_rd_init(&rd, tj->body, tj->body_len);
    tj->rc = kp_txn_offset_commit_req_decode(&rd, tj->version, &tj->arena, &req);
    if (tj->rc < 0)
        return;
    size_t np = 0;
    for (int32_t i = 0; i < req.n_topics; i++)
        np += (size_t)req.topics[i].n_partitions;
    struct kp_txn_offset_commit_resp_topic *out =
        kp_arena_alloc(&tj->arena, (size_t)req.n_topics, sizeof(*out));
    struct kp_txn_offset_commit_resp_partition *res = kp_arena_alloc(&tj->arena, np, sizeof(*res));
    struct st_offset_commit *items = kp_arena_alloc(&tj->arena, np, sizeof(*items));
    int *results = kp_arena_alloc(&tj->arena, np, sizeof(*results));
    int *slot = kp_arena_alloc(&tj->arena, np, sizeof(*slot)); /* item of partition k, or -1 */
    if ((req.n_topics > 0 && !out) || (np > 0 && (!res || !items || !results || !slot))) {
        tj->rc = -ENOMEM;
        return;
    }
    int16_t gerr = KP_ERR_NONE;
    bool by_topic = tj->topic_denied && tj->n_topics == req.n_topics;
    if (tj->denied)
        gerr = tj->denied;
    else if (req.group_id.len <= 0)
        gerr = KP_ERR_INVALID_GROUP_ID;
    else if ((!c && !x->clu) || !x->offsets)
        gerr = KP_ERR_COORDINATOR_NOT_AVAILABLE;
    else if ((gerr = br_api_coord_err(x, req.group_id)) != KP_ERR_NONE)
        ; /* a cluster: not the group's coordinator (yet) */
    else if (x->groups && (req.generation_id >= 0 || req.member_id.len > 0))
        gerr = br_group_commit_check_inst(x->groups, req.group_id, req.generation_id, req.member_id,
                                          req.group_instance_id);
    size_t k = 0;
    int n = 0;
    for (int32_t i = 0; i < req.n_topics; i++) {
        const struct kp_txn_offset_commit_req_topic *t = &req.topics[i];
        out[i] = (struct kp_txn_offset_commit_resp_topic){
            .name = t->name, .n_partitions = t->n_partitions, .partitions = &res[k]};
        int32_t nparts = t->name.len > 0
                             ? br_api_topic_partitions(x, t->name.ptr, (size_t)t->name.len)
                             : -ENOENT;
        for (int32_t j = 0; j < t->n_partitions; j++, k++) {
            const struct kp_txn_offset_commit_req_partition *p = &t->partitions[j];
            res[k] = (struct kp_txn_offset_commit_resp_partition){
                .partition_index = p->partition_index, .error_code = gerr};
            slot[k] = -1;
            if (gerr == KP_ERR_NONE && by_topic && tj->topic_denied[i])
                res[k].error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
            if (res[k].error_code != KP_ERR_NONE)
                continue;
            if (nparts < 0 || p->partition_index < 0 || p->partition_index >= nparts) {
                res[k].error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            int32_t ml = p->committed_metadata.len > 0 ? p->committed_metadata.len : 0;
            if (ml > x->cfg->offset_metadata_max_bytes) {
                res[k].error_code = KP_ERR_OFFSET_METADATA_TOO_LARGE;
                continue;
            }
            items[n] = (struct st_offset_commit){.topic = t->name.ptr,
                                                 .topic_len = (size_t)t->name.len,
                                                 .partition = p->partition_index,
                                                 .offset = p->committed_offset,
                                                 .metadata = ml ? p->committed_metadata.ptr : NULL,
                                                 .metadata_len = (size_t)ml};
            slot[k] = n++;
        }
    }
    tj->resp.commit = (struct kp_txn_offset_commit_resp){
        .throttle_time_ms = 0, .n_topics = req.n_topics, .topics = out};
    if (n == 0)
        return;
    struct commit_write w = {.o = x->offsets,
                             .group = req.group_id,
                             .pid = req.producer_id,
                             .epoch = req.producer_epoch,
                             .items = items,
                             .n = n,
                             .now = br_wall_ms_of(x),
                             .results = results,
                             .rc = 0};
    /* a cluster: the transaction's coordinator is (in general) another broker, which ends
     * these offsets with a marker to this group coordinator (br_api_markers.c) */
    int16_t e;
    if (x->clu) {
        struct br_cotopic_track t;
        br_cotopic_track_begin(&t); /* the transactional batch the mirror appends */
        commit_write(&w);
        br_cotopic_track_end();
        bool any = false; /* (items the store refused are not appended) */
        for (int i = 0; i < n && !any; i++)
            any = results[i] == 0;
        e = w.rc < 0 || !any ? KP_ERR_NONE : commit_replicated(x, req.group_id, &t);
    } else {
        e = br_txn_offset_commit(c, req.transactional_id, req.producer_id, req.producer_epoch,
                                 req.group_id, commit_write, &w);
    }
    if (e == KP_ERR_NONE && w.rc == 0 && x->cfg->log.flush_interval_messages == 1) {
        int rc = st_offsets_sync(x->offsets);
        if (rc < 0) {
            br_err("TxnOffsetCommit: fdatasync of the committed offsets: %s", strerror(-rc));
            w.rc = rc;
        }
    }
    for (size_t q = 0; q < np; q++) {
        if (slot[q] < 0)
            continue;
        if (e != KP_ERR_NONE)
            res[q].error_code = e;
        else if (w.rc < 0)
            res[q].error_code = commit_error(w.rc);
        else
            res[q].error_code = commit_error(results[slot[q]]);
    }
}

/* ---- the job ----------------------------------------------------------------------------- */

/* Admin thread. */
static void txn_run(struct br_job *j)
{
    struct txn_job *tj = (struct txn_job *)j;
    struct br_txns *c = j->x->txns;
    switch (tj->key) {
    case KP_API_INIT_PRODUCER_ID:
        init_run(tj, c);
        break;
    case KP_API_ADD_PARTITIONS_TO_TXN:
        add_parts_run(tj, c);
        break;
    case KP_API_ADD_OFFSETS_TO_TXN:
        add_offsets_run(tj, c);
        break;
    case KP_API_END_TXN:
        end_run(tj, c);
        break;
    case KP_API_TXN_OFFSET_COMMIT:
        commit_run(tj, c);
        break;
    default:
        tj->rc = -EINVAL;
    }
}

/* Loop thread: encode what the admin thread answered. */
static void txn_done(struct br_job *j)
{
    struct txn_job *tj = (struct txn_job *)j;
    struct br_resp *r = j->r;
    int rc = tj->rc;
    if (rc == 0) {
        switch (tj->key) {
        case KP_API_INIT_PRODUCER_ID:
            rc = BR_ENCODE(r, kp_init_producer_id_resp_encode, &tj->resp.init);
            break;
        case KP_API_ADD_PARTITIONS_TO_TXN:
            rc = BR_ENCODE(r, kp_add_partitions_to_txn_resp_encode, &tj->resp.add_parts);
            break;
        case KP_API_ADD_OFFSETS_TO_TXN:
            rc = BR_ENCODE(r, kp_add_offsets_to_txn_resp_encode, &tj->resp.add_offsets);
            break;
        case KP_API_END_TXN:
            rc = BR_ENCODE(r, kp_end_txn_resp_encode, &tj->resp.end);
            break;
        case KP_API_TXN_OFFSET_COMMIT:
            rc = BR_ENCODE(r, kp_txn_offset_commit_resp_encode, &tj->resp.commit);
            break;
        }
    }
    if (rc < 0) {
        br_err("peer=%s: cannot answer %s v%d: %s", tj->peer->name, kp_api_name(tj->key),
               tj->version, strerror(-rc));
        br_fail(j->x, r, "cannot build a transaction response");
        return;
    }
    br_ready(j->x, r);
}

/* Copies the body (already known to decode) into r's scratch memory with room for n_topics
 * authorization flags (zeroed) and an arena for the admin thread's decode and answer; *out is
 * the job, queued by queue() once the loop thread has filled in its decisions. */
static int prepare(struct br_req *q, struct br_resp *r, const uint8_t *body, size_t len,
                   int32_t n_topics, struct txn_job **out)
{
    size_t nflags = n_topics > 0 ? (size_t)n_topics : 0;
    size_t arena = len * 12 + 8192;
    size_t need = br_align8(sizeof(struct txn_job)) + br_align8(len) + br_align8(nflags) + arena;
    int rc = br_resp_scratch(r, need);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct txn_job *tj = (struct txn_job *)m;
    memset(tj, 0, sizeof(*tj));
    m += br_align8(sizeof(*tj));
    if (len)
        memcpy(m, body, len);
    tj->body = m;
    tj->body_len = len;
    m += br_align8(len);
    if (nflags) {
        memset(m, 0, nflags);
        tj->topic_denied = m;
        tj->n_topics = n_topics;
    }
    m += br_align8(nflags);
    kp_arena_init(&tj->arena, m, arena);
    tj->peer = q->peer;
    tj->key = q->api_key;
    tj->version = q->api_version;
    tj->job.r = r;
    tj->job.run = txn_run;
    tj->job.done = txn_done;
    *out = tj;
    return 0;
}

static int queue(struct br_req *q, struct txn_job *tj)
{
    int rc = br_admin(q->x, &tj->job);
    return rc < 0 ? rc : BR_REPLY;
}

static size_t len_of(struct kp_str s) { return (size_t)(s.len > 0 ? s.len : 0); }
static const char *ptr_of(struct kp_str s) { return s.len > 0 ? s.ptr : ""; }

/* WRITE on the transactional id: what every transaction API asks first. */
static bool txn_id_write(struct br_req *q, struct kp_str id)
{
    return br_allowed(q, KP_ACL_RESOURCE_TRANSACTIONAL_ID, ptr_of(id), len_of(id), KP_ACL_OP_WRITE);
}

static bool group_read(struct br_req *q, struct kp_str group)
{
    return br_allowed(q, KP_ACL_RESOURCE_GROUP, ptr_of(group), len_of(group), KP_ACL_OP_READ);
}

/* The body must decode here (else the connection closes, as for every API); the admin
 * thread decodes its copy again. */
#define TXN_DECODE(stem, req)                                                                      \
    const uint8_t *body = q->rd.p;                                                                 \
    size_t len = (size_t)(q->rd.end - q->rd.p);                                                    \
    int rc = BR_DECODE(q, kp_##stem##_req_decode, &(req));                                         \
    if (rc < 0)                                                                                    \
    return br_req_bad(q, rc)

int br_api_init_producer_id(struct br_req *q, struct br_resp *r)
{
    struct kp_init_producer_id_req req;
    TXN_DECODE(init_producer_id, req);
    struct txn_job *tj;
    if ((rc = prepare(q, r, body, len, 0, &tj)) < 0)
        return rc;
    if (req.transactional_id.len >= 0) {
        if (!txn_id_write(q, req.transactional_id))
            tj->denied = KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    } else if (!br_allowed_cluster(q, KP_ACL_OP_IDEMPOTENT_WRITE) &&
               !br_allowed_any(q, KP_ACL_RESOURCE_TOPIC, KP_ACL_OP_WRITE)) {
        tj->denied = KP_ERR_CLUSTER_AUTHORIZATION_FAILED;
    }
    return queue(q, tj);
}

int br_api_add_partitions_to_txn(struct br_req *q, struct br_resp *r)
{
    struct kp_add_partitions_to_txn_req req;
    TXN_DECODE(add_partitions_to_txn, req);
    struct txn_job *tj;
    if ((rc = prepare(q, r, body, len, req.n_topics, &tj)) < 0)
        return rc;
    if (!txn_id_write(q, req.transactional_id))
        tj->denied = KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    else
        for (int32_t i = 0; i < req.n_topics; i++)
            tj->topic_denied[i] = !br_allowed(q, KP_ACL_RESOURCE_TOPIC, ptr_of(req.topics[i].name),
                                              len_of(req.topics[i].name), KP_ACL_OP_WRITE);
    return queue(q, tj);
}

int br_api_add_offsets_to_txn(struct br_req *q, struct br_resp *r)
{
    struct kp_add_offsets_to_txn_req req;
    TXN_DECODE(add_offsets_to_txn, req);
    struct txn_job *tj;
    if ((rc = prepare(q, r, body, len, 0, &tj)) < 0)
        return rc;
    if (!txn_id_write(q, req.transactional_id))
        tj->denied = KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    else if (!group_read(q, req.group_id))
        tj->denied = KP_ERR_GROUP_AUTHORIZATION_FAILED;
    return queue(q, tj);
}

int br_api_end_txn(struct br_req *q, struct br_resp *r)
{
    struct kp_end_txn_req req;
    TXN_DECODE(end_txn, req);
    struct txn_job *tj;
    if ((rc = prepare(q, r, body, len, 0, &tj)) < 0)
        return rc;
    if (!txn_id_write(q, req.transactional_id))
        tj->denied = KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    return queue(q, tj);
}

int br_api_txn_offset_commit(struct br_req *q, struct br_resp *r)
{
    struct kp_txn_offset_commit_req req;
    TXN_DECODE(txn_offset_commit, req);
    struct txn_job *tj;
    if ((rc = prepare(q, r, body, len, req.n_topics, &tj)) < 0)
        return rc;
    if (!txn_id_write(q, req.transactional_id))
        tj->denied = KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    else if (!group_read(q, req.group_id))
        tj->denied = KP_ERR_GROUP_AUTHORIZATION_FAILED;
    else
        for (int32_t i = 0; i < req.n_topics; i++)
            tj->topic_denied[i] = !br_allowed(q, KP_ACL_RESOURCE_TOPIC, ptr_of(req.topics[i].name),
                                              len_of(req.topics[i].name), KP_ACL_OP_READ);
    return queue(q, tj); /* in a cluster too: served by the group's coordinator */
}
