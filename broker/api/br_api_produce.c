/*
 * br_api_produce — Produce v3-9 (v0-2, advertised, are refused: produce_legacy at the end).
 *
 * Each partition's records must be exactly one RecordBatch v2 that passes
 * kp_batch_validate(KP_BATCH_FROM_PRODUCER) and kp_batch_check_records; errors map to Kafka's
 * codes (CRC or structure: CORRUPT_MESSAGE; acceptable-looking but not allowed: INVALID_RECORD;
 * bigger than the topic's max.message.bytes, else message.max.bytes: MESSAGE_TOO_LARGE; acks=-1
 * to a topic whose min.insync.replicas is above 1: NOT_ENOUGH_REPLICAS; no such partition:
 * UNKNOWN_TOPIC_OR_PARTITION — Produce never creates topics, Metadata does). The batch is
 * appended straight from the receive buffer (the store rewrites baseOffset in place), unless
 * the topic's compression.type is a codec (or uncompressed) other than the batch's: then it is
 * rewritten in that codec first (br_rezip.h, the context's reused buffers; decompressed records
 * bounded by REZIP_RAW_MAX, or by max.message.bytes when stored uncompressed), and the stored
 * size is checked against max.message.bytes again (MESSAGE_TOO_LARGE), as Kafka does.
 *
 * Idempotent and transactional producers (KIP-98): the store checks producer id, epoch and
 * sequence under the append lock (st.h). A batch repeating one of its producer's last 5 is
 * answered with the offset it was first written at and not appended again (Kafka never answers
 * DUPLICATE_SEQUENCE_NUMBER); a gap is OUT_OF_ORDER_SEQUENCE_NUMBER; an older epoch
 * INVALID_PRODUCER_EPOCH (Kafka 2.7+ never answers PRODUCER_FENCED to Produce); a plain batch
 * inside the producer's open transaction INVALID_TXN_STATE. A producer's first transactional
 * batch on a partition is checked with the transaction coordinator (br_txn_verify: the
 * partition must have been added to its open transaction, INVALID_TXN_STATE otherwise;
 * NOT_ENOUGH_REPLICAS, retriable, while the transaction is ending), and a transactional batch
 * in a request without a transactional_id is TRANSACTIONAL_ID_AUTHORIZATION_FAILED (Kafka).
 * In a cluster the coordinator is another broker's: the first transactional batch is accepted
 * unchecked, as Kafka before KIP-890 did (its transaction coordinator's markers end it).
 * A duplicate's answer waits for durability as the original's would.
 *
 * acks=0 gets no response; if a partition failed, the connection is closed instead, as
 * Kafka does, so the producer notices. acks!=0 with a flush policy that asks for a sync
 * (log.flush.interval.messages=1) parks the response (BR_WAIT_SYNC) until
 * st_log_durable_offset() covers the append; the storage flusher's notification wakes it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_api.h"
#include "br_clu.h"
#include "br_clu_repl.h"
#include "br_cotopic.h"
#include "br_hwait.h"
#include "br_txtopic.h"
#include "br_quota.h"
#include "br_rezip.h"
#include "kp_msg_sec.h"
#include "br_log.h"
#include "br_stats.h"
#include "br_txn.h"
#include "kp_batch.h"
#include "kp_msg.h"

/* Decompressed records a batch rewritten into another codec may have (br_rezip.h). */
enum { REZIP_RAW_MAX = 64 << 20 };

/* A transactional batch's first append to a partition, under the coordinator's check. */
struct verified_append {
    struct st_log *log;
    struct iovec *iov;
    int64_t now;
    struct st_append_result *res;
    int rc;
};

static int verified_append(void *arg)
{
    struct verified_append *v = arg;
    const struct st_append_opts opts = {.txn_verified = true};
    v->rc = st_log_append_opts(v->log, v->iov, 1, v->now, &opts, v->res);
    return v->rc;
}

/*
 * Appends one producer's batch (the producer rules, st.h): 0 with res filled (res->duplicate
 * for a batch already written), or a Kafka error with why set. A transactional batch the
 * partition does not know yet is checked with the coordinator first (br_txn_verify).
 */
static int16_t append_checked(struct br_req *q, struct st_log *log, struct iovec *iov,
                              const struct kp_batch_hdr *hdr, struct kp_str topic,
                              int32_t partition, struct st_append_result *res, const char **why)
{
    struct br_ctx *x = q->x;
    int64_t now = br_wall_ms_of(x);
    int rc = st_log_append(log, iov, 1, now, res);
    if (rc == -ENOKEY && x->clu) {
        /* a cluster: the producer's transaction coordinator is (in general) another broker,
         * and this leader cannot ask it (KIP-890's AddPartitionsToTxn verify is not spoken):
         * accepted, as Kafka before KIP-890 (docs/cluster.md "Transactions") */
        struct verified_append v = {log, iov, now, res, 0};
        rc = verified_append(&v);
    } else if (rc == -ENOKEY) {
        if (!x->txns) {
            *why = "transactional batch without a transaction coordinator";
            return KP_ERR_INVALID_TXN_STATE;
        }
        struct verified_append v = {log, iov, now, res, 0};
        int16_t e = br_txn_verify(x->txns, hdr->producer_id, hdr->producer_epoch, topic, partition,
                                  verified_append, &v);
        if (e != KP_ERR_NONE) {
            *why = e == KP_ERR_NOT_ENOUGH_REPLICAS ? "its transaction is ending (retriable)"
                   : e == KP_ERR_INVALID_PRODUCER_EPOCH
                       ? "its producer epoch is not the transaction's"
                       : "the partition is not in an open transaction of the producer";
            return e;
        }
        rc = v.rc;
    }
    switch (rc) {
    case 0:
        return KP_ERR_NONE;
    case -ESTALE:
        *why = "producer epoch older than the partition's (fenced)";
        return KP_ERR_INVALID_PRODUCER_EPOCH;
    case -EILSEQ:
        *why = "sequence number out of order";
        return KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    case -EPROTO:
        *why = "non-transactional batch during the producer's open transaction";
        return KP_ERR_INVALID_TXN_STATE;
    case -ENOBUFS:
        *why = "producer.state.max.memory.bytes reached (retriable)";
        return KP_ERR_KAFKA_STORAGE_ERROR;
    case -ENOKEY:
        *why = "transactional batch not verified";
        return KP_ERR_INVALID_TXN_STATE;
    case -EINVAL:
        *why = "append refused";
        return KP_ERR_INVALID_RECORD;
    case -EMSGSIZE:
        *why = "append refused";
        return KP_ERR_MESSAGE_TOO_LARGE;
    case -ENOENT:
        *why = "append refused";
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    default:
        br_err_limited("append to %s-%d failed: %s", BR_LOG_KSTR(topic), partition, strerror(-rc));
        *why = "append failed";
        return KP_ERR_KAFKA_STORAGE_ERROR;
    }
}

/*
 * The batch rewritten in the topic's codec (br_rezip.h) into the context's buffers: *batch and
 * *len then describe the copy (valid until the next rewrite on this thread). The stored size
 * is checked against max (max.message.bytes) again, as Kafka checks the batch it writes.
 */
static int16_t rezip(struct br_ctx *x, uint8_t **batch, size_t *len, const struct kp_batch_hdr *hdr,
                     int codec, int64_t max, const char **why)
{
    if (!x->rezip && !(x->rezip = calloc(1, sizeof(*x->rezip)))) {
        *why = "out of memory for recompression";
        return KP_ERR_KAFKA_STORAGE_ERROR;
    }
    /* uncompressed, records past max - 61 cannot be stored anyway */
    size_t max_raw = codec == KP_CODEC_NONE
                         ? (size_t)(max > KP_BATCH_HEADER_LEN ? max - KP_BATCH_HEADER_LEN : 0)
                         : REZIP_RAW_MAX;
    uint8_t *out = NULL;
    long n = br_rezip_batch(x->rezip, *batch, hdr, codec, max_raw, &out);
    if (n == -EMSGSIZE) {
        *why = codec == KP_CODEC_NONE ? "batch uncompressed larger than max.message.bytes"
                                      : "records decompress past the broker's bound";
        return KP_ERR_MESSAGE_TOO_LARGE;
    }
    if (n == -EBADMSG) {
        *why = "compressed records corrupt or not matching the batch header";
        return KP_ERR_CORRUPT_MESSAGE;
    }
    if (n < 0) {
        *why = "recompression failed";
        return KP_ERR_KAFKA_STORAGE_ERROR;
    }
    if (n > max) {
        *why = "batch in the topic's compression.type larger than max.message.bytes";
        return KP_ERR_MESSAGE_TOO_LARGE;
    }
    *batch = out;
    *len = (size_t)n;
    return KP_ERR_NONE;
}

/* What append_one needs beyond its partition: the request's acks and transactional id, the
 * answer's slot (its index over every partition of the request), what it reports. */
struct append_ctx {
    int16_t acks;
    struct kp_str txn_id;
    int32_t slot;
    bool appended; /* something was written: fetches waiting for data look again */
    bool hw_moved; /* a high watermark moved: acks=all produces look again */
};

static int16_t append_one(struct br_req *q, const struct kp_str topic,
                          const struct kp_produce_req_partition *p, struct append_ctx *ac,
                          struct kp_produce_resp_partition *o, struct br_resp *r)
{
    int16_t acks = ac->acks;
    struct kp_str txn_id = ac->txn_id;
    struct br_ctx *x = q->x;
    const char *why = NULL;
    int16_t err = KP_ERR_NONE;
    struct kp_batch_hdr hdr;
    uint8_t *batch = kp_bytes_mut(p->records, q->frame, q->frame_len);
    size_t len = p->records.len > 0 ? (size_t)p->records.len : 0;

    struct st_log *log = NULL;
    /* a cluster's partition another broker leads (or none): the client refreshes its
     * Metadata and goes there */
    err =
        br_api_leader_err(x, topic.ptr, topic.len > 0 ? (size_t)topic.len : 0, p->partition_index);
    if (err) {
        why = err == KP_ERR_NOT_LEADER_OR_FOLLOWER ? "not the leader of this partition"
                                                   : "unknown topic or partition";
        goto out;
    }
    log =
        st_log_get(x->store, topic.ptr, topic.len > 0 ? (size_t)topic.len : 0, p->partition_index);
    if (!log) {
        err = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        why = "unknown topic or partition";
        goto out;
    }
    if (br_cotopic_internal(topic.ptr, topic.len > 0 ? (size_t)topic.len : 0) ||
        br_txtopic_is(topic.ptr, topic.len > 0 ? (size_t)topic.len : 0)) {
        /* Kafka's ReplicaManager: "Cannot append to internal topic" (only the broker writes
         * __consumer_offsets and __transaction_state, br_cotopic.h, br_txtopic.h) */
        err = KP_ERR_INVALID_TOPIC_EXCEPTION;
        why = "cannot append to an internal topic";
        goto out;
    }
    if (!batch || len == 0) {
        err = KP_ERR_INVALID_RECORD;
        why = "no record batch";
        goto out;
    }
    int32_t topic_max = st_log_max_message_bytes(log); /* max.message.bytes, per topic */
    int64_t max = topic_max >= 0 ? topic_max : x->cfg->message_max_bytes;
    if ((int64_t)len > max) {
        err = KP_ERR_MESSAGE_TOO_LARGE;
        why = topic_max >= 0 ? "batch larger than the topic's max.message.bytes"
                             : "batch larger than message.max.bytes";
        goto out;
    }
    /* a partition of replication factor > 1 this broker leads: its ISR (br_clu_repl.h);
     * else one replica in sync (this node) */
    struct br_repl *repl = x->clu ? br_clu_repl(x->clu) : NULL;
    int32_t isr = repl ? br_repl_isr_size(repl, log) : -ENOENT;
    int32_t min_isr = st_log_min_insync_replicas(log);
    if (acks == -1 && min_isr > (isr >= 0 ? isr : 1)) {
        /* fewer replicas in sync than min.insync.replicas, as Kafka answers */
        err = KP_ERR_NOT_ENOUGH_REPLICAS;
        why = isr >= 0 ? "the ISR is smaller than min.insync.replicas"
                       : "min.insync.replicas above the 1 replica in sync";
        goto out;
    }
    int rc = kp_batch_validate(batch, len, KP_BATCH_FROM_PRODUCER, &hdr);
    if (rc == 0 && kp_batch_size(&hdr) != len) {
        err = KP_ERR_INVALID_RECORD;
        why = "more than one record batch";
        goto out;
    }
    if (rc == 0)
        rc = kp_batch_check_records(batch, &hdr);
    if (rc == -EBADMSG || rc == -ENODATA) {
        err = KP_ERR_CORRUPT_MESSAGE;
        why = "corrupt record batch (length, magic, CRC or records)";
        goto out;
    }
    if (rc < 0) {
        err = KP_ERR_INVALID_RECORD;
        why = "invalid record batch (offsets, count or control bit)";
        goto out;
    }
    if ((hdr.attributes & KP_BATCH_ATTR_TRANSACTIONAL) && txn_id.len < 0) {
        err = KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED; /* Kafka's answer */
        why = "transactional batch in a request without a transactional id";
        goto out;
    }
    int codec = br_rezip_codec(st_log_compression_type(log), hdr.attributes);
    if (codec >= 0 && (err = rezip(x, &batch, &len, &hdr, codec, max, &why)) != KP_ERR_NONE)
        goto out;
    struct iovec iov = {batch, len};
    struct st_append_result res;
    err = append_checked(q, log, &iov, &hdr, topic, p->partition_index, &res, &why);
    if (err != KP_ERR_NONE)
        goto out;
    if (res.duplicate) {
        br_debug("peer=%s: produce to %s-%d: producer %lld sequence %d repeats a batch written "
                 "at offset %lld: answered with that offset, not appended",
                 q->peer->name, BR_LOG_KSTR(topic), p->partition_index, (long long)hdr.producer_id,
                 hdr.base_sequence, (long long)res.base_offset);
    } else {
        ac->appended = true;
        br_stats_produced(x->stats, topic.ptr, (size_t)topic.len, len, hdr.record_count);
    }
    o->base_offset = res.base_offset;
    o->log_append_time_ms = res.log_append_time;
    o->log_start_offset = res.log_start_offset;
    if (isr >= 0) {
        /* replicated: the HW follows the end when the ISR is this broker alone; acks=all is
         * answered once the HW passes the batch (br_hwait_resolve) */
        ac->hw_moved |= br_repl_appended(repl, log);
        struct st_log *ref =
            acks == -1 ? st_log_get(x->store, topic.ptr, (size_t)topic.len, p->partition_index)
                       : NULL;
        if (ref && br_resp_add_hwait(r, ref, res.last_offset + 1, ac->slot, min_isr) < 0)
            st_log_put(ref); /* cannot wait: answered now; the data is written */
    }
    if (res.sync_needed && acks != 0) {
        st_log_request_sync(log);
        if (br_resp_add_dwait(r, log, res.last_offset + 1) == 0)
            return KP_ERR_NONE; /* the response holds the reference now */
        /* cannot wait: answer after forcing nothing; the data is written */
    }
out:
    if (x->rezip)
        br_rezip_trim(x->rezip); /* a large rewrite's buffers are not kept (br_rezip.h) */
    if (log)
        st_log_put(log);
    if (err) {
        o->base_offset = -1;
        o->log_append_time_ms = -1;
        o->log_start_offset = -1;
        br_warn_limited("peer=%s client.id=%s: produce to %s-%d rejected: %s (%s)", q->peer->name,
                        BR_LOG_KSTR(q->client_id), BR_LOG_KSTR(topic), p->partition_index,
                        kp_err_name(err), why);
    }
    return err;
}

/*
 * The answer of a produce with acks=all waits (r->hstate while parked): a copy of the response
 * made when it was first encoded (the request's bytes and the arena are reused once the
 * handler returns), whose partitions' errors the waits may change, and which is then encoded
 * again.
 */
struct produce_saved {
    struct kp_produce_resp resp;
    struct kp_produce_resp_partition *parts; /* every partition's answer, by slot */
    int32_t nparts;
    bool changed;
};

/* Copies resp into r's scratch memory (r->hstate); 0 or -ENOMEM. */
static int produce_save(struct br_resp *r, const struct kp_produce_resp *resp)
{
    size_t np = 0, names = 0;
    for (int32_t i = 0; i < resp->n_topics; i++) {
        np += (size_t)resp->topics[i].n_partitions;
        names += (size_t)(resp->topics[i].name.len > 0 ? resp->topics[i].name.len : 0);
    }
    size_t need = br_align8(sizeof(struct produce_saved)) +
                  br_align8((size_t)resp->n_topics * sizeof(struct kp_produce_resp_topic)) +
                  br_align8(np * sizeof(struct kp_produce_resp_partition)) + names + 8;
    int rc = br_resp_scratch(r, need);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct produce_saved *ps = (struct produce_saved *)m;
    m += br_align8(sizeof(*ps));
    struct kp_produce_resp_topic *topics = (struct kp_produce_resp_topic *)m;
    m += br_align8((size_t)resp->n_topics * sizeof(*topics));
    struct kp_produce_resp_partition *parts = (struct kp_produce_resp_partition *)m;
    m += br_align8(np * sizeof(*parts));
    char *name = (char *)m;
    *ps = (struct produce_saved){.resp = *resp, .parts = parts, .nparts = (int32_t)np};
    ps->resp.topics = topics;
    size_t k = 0;
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const struct kp_produce_resp_topic *t = &resp->topics[i];
        int32_t nl = t->name.len > 0 ? t->name.len : 0;
        if (nl)
            memcpy(name, t->name.ptr, (size_t)nl);
        topics[i] =
            (struct kp_produce_resp_topic){.name = {t->name.len >= 0 ? name : NULL, t->name.len},
                                           .n_partitions = t->n_partitions,
                                           .partitions = &parts[k]};
        name += nl;
        for (int32_t j = 0; j < t->n_partitions; j++)
            parts[k++] = t->partitions[j];
    }
    r->hstate = ps;
    return 0;
}

static void answer_error(struct br_resp *r, int32_t slot, int16_t err)
{
    struct produce_saved *ps = r->hstate;
    if (!ps || slot < 0 || slot >= ps->nparts)
        return;
    struct kp_produce_resp_partition *o = &ps->parts[slot];
    o->error_code = err;
    o->base_offset = -1;
    o->log_append_time_ms = -1;
    o->log_start_offset = -1;
    ps->changed = true;
}

/* Every wait done: the response (encoded again if an answer changed). 0 or -errno. */
static int produce_complete(struct br_resp *r)
{
    struct produce_saved *ps = r->hstate;
    br_hwait_drop(r);
    r->hstate = NULL;
    if (!ps || !ps->changed)
        return 0;
    br_resp_reset(r);
    int rc = BR_ENCODE(r, kp_produce_resp_encode, &ps->resp);
    return rc < 0 ? rc : 0;
}

/* A parked produce: some log was fdatasynced or a high watermark moved (SYNC), or its
 * deadline passed; ready once nothing it waits on is left. */
static void produce_wake(struct br_resp *r, enum br_wake why, void *arg)
{
    br_hwait_wake(arg, r, why, answer_error, produce_complete, "produce response");
}

static int produce_legacy(struct br_req *q, struct br_resp *r);

int br_api_produce(struct br_req *q, struct br_resp *r)
{
    if (q->api_version < KP_API_PRODUCE_CODEC_VMIN)
        return produce_legacy(q, r); /* advertised, refused in their own layout */
    struct kp_produce_req req;
    int rc = BR_DECODE(q, kp_produce_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);

    size_t nparts = 0;
    for (int32_t i = 0; i < req.n_topics; i++)
        nparts += (size_t)req.topics[i].n_partitions;
    struct kp_arena a;
    /* One topic array, then one partition array per topic. */
    rc = br_enc_arena(q->x, &a,
                      kp_arena_need((size_t)req.n_topics + 1,
                                    (size_t)req.n_topics * sizeof(struct kp_produce_resp_topic) +
                                        nparts * sizeof(struct kp_produce_resp_partition)));
    if (rc < 0)
        return rc;
    struct kp_produce_resp_topic *topics =
        kp_arena_alloc(&a, (size_t)req.n_topics, sizeof(*topics));
    if (!topics && req.n_topics > 0)
        return -ENOMEM;

    bool bad_acks = req.acks != 0 && req.acks != 1 && req.acks != -1;
    struct append_ctx ac = {.acks = req.acks, .txn_id = req.transactional_id};
    r->hstate = NULL;
    bool any_error = false;
    /* Kafka's checks: WRITE on the transactional id, if any, then on each topic. */
    bool txn_denied = req.transactional_id.len >= 0 &&
                      !br_allowed(q, KP_ACL_RESOURCE_TRANSACTIONAL_ID, req.transactional_id.ptr,
                                  (size_t)req.transactional_id.len, KP_ACL_OP_WRITE);
    for (int32_t i = 0; i < req.n_topics; i++) {
        const struct kp_produce_req_topic *t = &req.topics[i];
        int16_t denied = txn_denied ? KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED
                         : !br_allowed(q, KP_ACL_RESOURCE_TOPIC, t->name.ptr,
                                       (size_t)(t->name.len > 0 ? t->name.len : 0), KP_ACL_OP_WRITE)
                             ? KP_ERR_TOPIC_AUTHORIZATION_FAILED
                             : KP_ERR_NONE;
        struct kp_produce_resp_partition *ps =
            kp_arena_alloc(&a, (size_t)t->n_partitions, sizeof(*ps));
        if (!ps && t->n_partitions > 0)
            return -ENOMEM;
        for (int32_t j = 0; j < t->n_partitions; j++) {
            struct kp_produce_resp_partition *o = &ps[j];
            *o = (struct kp_produce_resp_partition){
                .partition_index = t->partitions[j].partition_index,
                .base_offset = -1,
                .log_append_time_ms = -1,
                .log_start_offset = -1,
                .error_message = KP_STR_NULL,
            };
            if (denied)
                o->error_code = denied;
            else if (bad_acks)
                o->error_code = KP_ERR_INVALID_REQUIRED_ACKS;
            else
                o->error_code = append_one(q, t->name, &t->partitions[j], &ac, o, r);
            ac.slot++;
            any_error |= o->error_code != KP_ERR_NONE;
            br_stats_produce_error(q->x->stats, o->error_code);
        }
        topics[i] = (struct kp_produce_resp_topic){
            .name = t->name, .n_partitions = t->n_partitions, .partitions = ps};
    }
    if (ac.appended)
        q->x->ops->notify(q->x, BR_WAIT_APPEND);
    if (ac.hw_moved)
        q->x->ops->notify(q->x, BR_WAIT_SYNC);

    if (req.acks == 0) {
        r->throttle_ms = br_quota_charge(q->x, q->peer, BR_QUOTA_PRODUCE, (double)q->frame_len);
        br_hwait_drop(r);
        if (any_error) {
            br_warn("peer=%s client.id=%s: acks=0 produce failed: closing the connection, as "
                    "Kafka does",
                    q->peer->name, BR_LOG_KSTR(q->client_id));
            return -EPROTO;
        }
        return BR_NO_REPLY;
    }
    /* producer_byte_rate: the request's bytes */
    int32_t thr = br_quota_charge(q->x, q->peer, BR_QUOTA_PRODUCE, (double)q->frame_len);
    r->throttle_ms = thr;
    struct kp_produce_resp resp = {
        .n_topics = req.n_topics, .topics = topics, .throttle_time_ms = thr};
    rc = BR_ENCODE(r, kp_produce_resp_encode, &resp);
    if (rc < 0) {
        br_hwait_drop(r);
        return rc;
    }
    if (r->ndwaits > 0) {
        bool hw = false;
        for (int i = 0; i < r->ndwaits; i++)
            hw |= r->dwaits[i].hw;
        /* acks=all on a replicated partition: answered by the request's timeout at the latest
         * (its errors may change meanwhile: a copy of the answer is kept) */
        int64_t deadline = INT64_MAX;
        if (hw) {
            deadline = q->x->ops->now_ms(q->x) + (req.timeout_ms > 0 ? req.timeout_ms : 0);
            if ((rc = produce_save(r, &resp)) < 0) {
                br_hwait_drop(r);
                return rc;
            }
        }
        /* parked (counted as a waiter) before looking, so a sync (or a high watermark moving)
         * right now either is seen here or wakes us (br_ctx.h) */
        rc = br_hwait_park(q->x, r, deadline, produce_wake, answer_error);
        if (rc < 0)
            return rc;
        if (rc > 0 && (rc = produce_complete(r)) < 0)
            return rc;
    }
    return BR_REPLY;
}

/*
 * Produce v0-2. Advertised only so that librdkafka enables gzip/snappy (its feature gate asks
 * for Produce v0); these versions carry legacy message sets (magic 0/1), which this broker
 * does not store. Every partition is refused with UNSUPPORTED_FOR_MESSAGE_FORMAT, in a
 * response at the request's version, and nothing is appended:
 *   request  acks int16, timeout int32, [topic STRING, [partition int32, records BYTES]]
 *   response [topic, [partition, error int16, base_offset int64, (v2) log_append_time int64]],
 *            (v1+) throttle_time_ms int32
 */
static int produce_legacy(struct br_req *q, struct br_resp *r)
{
    int16_t v = q->api_version;
    struct kp_rd rd = q->rd;
    int16_t acks = kp_rd_i16(&rd);
    kp_rd_i32(&rd); /* timeout_ms */
    int32_t nt = kp_rd_array(&rd, 6, false);
    /* pass 1: validate the shape and size the response */
    size_t cap = 64;
    struct kp_rd scan = rd;
    for (int32_t i = 0; i < nt && kp_rd_ok(&scan); i++) {
        struct kp_str name = kp_rd_str(&scan);
        int32_t np = kp_rd_array(&scan, 8, false);
        cap += 6 + (size_t)(name.len > 0 ? name.len : 0);
        for (int32_t j = 0; j < np && kp_rd_ok(&scan); j++) {
            kp_rd_i32(&scan);
            kp_rd_nbytes(&scan);
            cap += 4 + 2 + 8 + 8;
        }
    }
    if (!kp_rd_ok(&scan) || kp_rd_left(&scan) != 0)
        return br_req_bad(q, -EBADMSG);
    br_warn_limited("peer=%s client.id=%s: Produce v%d (legacy message format) refused: "
                    "UNSUPPORTED_FOR_MESSAGE_FORMAT",
                    q->peer->name, BR_LOG_KSTR(q->client_id), v);
    if (acks == 0)
        return -EPROTO; /* no response to carry the error: close, as Kafka does */
    int rc = br_resp_reserve(r, cap + 16);
    if (rc < 0)
        return rc;
    br_resp_begin(r);
    kp_wr_array(&r->wr, nt);
    for (int32_t i = 0; i < nt; i++) {
        kp_wr_str(&r->wr, kp_rd_str(&rd));
        int32_t np = kp_rd_array(&rd, 8, false);
        kp_wr_array(&r->wr, np);
        for (int32_t j = 0; j < np; j++) {
            kp_wr_i32(&r->wr, kp_rd_i32(&rd));
            kp_rd_nbytes(&rd);
            kp_wr_i16(&r->wr, KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
            kp_wr_i64(&r->wr, -1); /* base_offset */
            if (v >= 2)
                kp_wr_i64(&r->wr, -1); /* log_append_time */
        }
    }
    if (v >= 1)
        kp_wr_i32(&r->wr, 0); /* throttle_time_ms */
    rc = br_resp_finish(r);
    return rc < 0 ? rc : BR_REPLY;
}
