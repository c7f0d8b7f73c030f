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
 */
#include <errno.h>
#include <string.h>

#include "br_api.h"
#include "br_group.h"
#include "br_log.h"
#include "br_txn.h"
#include "kp_msg.h"
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
    if (c)
        br_txn_init_producer(c, &in, &out);
    tj->resp.init = (struct kp_init_producer_id_resp){
        .throttle_time_ms = 0,
        .error_code = fenced(out.error_code, tj->version >= 4),
        .producer_id = out.error_code == KP_ERR_NONE ? out.producer_id : -1,
        .producer_epoch = out.error_code == KP_ERR_NONE ? out.epoch : -1,
    };
}

/* ---- AddPartitionsToTxn ------------------------------------------------------------------ */

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
    if (c) {
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
    int16_t e = c ? br_txn_add_offsets(c, req.transactional_id, req.producer_id, req.producer_epoch,
                                       req.group_id)
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
    int16_t e =
        c ? br_txn_end(c, req.transactional_id, req.producer_id, req.producer_epoch, req.committed)
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
    if (req.group_id.len <= 0)
        gerr = KP_ERR_INVALID_GROUP_ID;
    else if (!c || !x->offsets)
        gerr = KP_ERR_COORDINATOR_NOT_AVAILABLE;
    else if (x->groups && (req.generation_id >= 0 || req.member_id.len > 0))
        gerr = br_group_commit_check(x->groups, req.group_id, req.generation_id, req.member_id);
    size_t k = 0;
    int n = 0;
    for (int32_t i = 0; i < req.n_topics; i++) {
        const struct kp_txn_offset_commit_req_topic *t = &req.topics[i];
        out[i] = (struct kp_txn_offset_commit_resp_topic){
            .name = t->name, .n_partitions = t->n_partitions, .partitions = &res[k]};
        int32_t nparts = t->name.len > 0
                             ? st_topic_partitions(x->store, t->name.ptr, (size_t)t->name.len)
                             : -ENOENT;
        for (int32_t j = 0; j < t->n_partitions; j++, k++) {
            const struct kp_txn_offset_commit_req_partition *p = &t->partitions[j];
            res[k] = (struct kp_txn_offset_commit_resp_partition){
                .partition_index = p->partition_index, .error_code = gerr};
            slot[k] = -1;
            if (gerr != KP_ERR_NONE)
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
    int16_t e = br_txn_offset_commit(c, req.transactional_id, req.producer_id, req.producer_epoch,
                                     req.group_id, commit_write, &w);
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

/* Copies the body (already known to decode) into r's scratch memory with an arena for the
 * admin thread's decode and answer, and queues the job. */
static int submit(struct br_req *q, struct br_resp *r, const uint8_t *body, size_t len)
{
    size_t arena = len * 12 + 8192;
    size_t need = br_align8(sizeof(struct txn_job)) + br_align8(len) + arena;
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
    kp_arena_init(&tj->arena, m, arena);
    tj->peer = q->peer;
    tj->key = q->api_key;
    tj->version = q->api_version;
    tj->job.r = r;
    tj->job.run = txn_run;
    tj->job.done = txn_done;
    rc = br_admin(q->x, &tj->job);
    return rc < 0 ? rc : BR_REPLY;
}

/* The body must decode here (else the connection closes, as for every API); the admin
 * thread decodes its copy again. */
#define TXN_HANDLER(stem, type)                                                                    \
    int br_api_##stem(struct br_req *q, struct br_resp *r)                                         \
    {                                                                                              \
        const uint8_t *body = q->rd.p;                                                             \
        size_t len = (size_t)(q->rd.end - q->rd.p);                                                \
        type req;                                                                                  \
        int rc = BR_DECODE(q, kp_##stem##_req_decode, &req);                                       \
        if (rc < 0)                                                                                \
            return br_req_bad(q, rc);                                                              \
        return submit(q, r, body, len);                                                            \
    }

TXN_HANDLER(init_producer_id, struct kp_init_producer_id_req)
TXN_HANDLER(add_partitions_to_txn, struct kp_add_partitions_to_txn_req)
TXN_HANDLER(add_offsets_to_txn, struct kp_add_offsets_to_txn_req)
TXN_HANDLER(end_txn, struct kp_end_txn_req)
TXN_HANDLER(txn_offset_commit, struct kp_txn_offset_commit_req)
