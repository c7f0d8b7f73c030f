/*
 * br_api_offsets — ListOffsets v0-7.
 *
 * v0 (Kafka 4.0 removed it; kept for Burrow 1.2, kp_api.h) answers the same offset as v1 as its
 * one old-style offset (none when it is -1): the log end for -1, the log start for -2 (Burrow
 * asks -1 with max_num_offsets 1). Kafka's v0 answered a timestamp with segment base offsets,
 * and with up to max_num_offsets of them; here a timestamp gets v1's answer and exactly one
 * offset is given whatever max_num_offsets says.
 *
 * timestamp -1 (latest) answers the high watermark (the log end; on a replicated log of a
 * cluster st_log_high_watermark, and lookups by time stop below it), or with isolation_level 1
 * (read_committed, v2) the last stable offset (st_log_lso), -2 (earliest) the log start
 * offset; a lookup by time under read_committed answers -1 when the record found is at or past
 * the LSO (Kafka's Partition.fetchOffsetForTimestamp). Any other timestamp answers
 * the first record whose timestamp >= timestamp, with that record's timestamp, or offset -1
 * and timestamp -1 when no record is that recent, as Kafka does. The store's time index finds
 * the batch (the first whose maxTimestamp >= timestamp); the batch is then read and its
 * records walked. A compressed batch is not opened: its base offset and maxTimestamp are
 * answered. -3 (MAX_TIMESTAMP, which clients send from v7, KIP-734) answers the record with the
 * largest timestamp: the log's largest maxTimestamp, then the first record that has it, by the same
 * lookup (offset -1 when the log is empty). leader_epoch (v4+) is this node's, 0 (-1 with an
 * error). That read may wait for the disk (a consumer seeking into old segments), so a request with
 * any lookup by time runs on the admin thread, like topic creation, and is answered from there;
 * latest/earliest-only requests are answered at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_api.h"
#include "kp_msg_sec.h"
#include "br_log.h"
#include "kp_batch.h"
#include "kp_msg.h"

/* The first record of the batch holding offset whose timestamp >= ts. 0 or -errno. */
static int record_for_time(struct st_log *log, int64_t offset, int64_t ts, int64_t *out_offset,
                           int64_t *out_ts)
{
    struct st_read rd;
    int rc = st_log_read(log, offset, 1, &rd);
    if (rc < 0)
        return rc;
    if (rd.n == 0) {
        st_read_release(&rd);
        return -ENOENT;
    }
    size_t len = rd.r[0].len;
    uint8_t *buf = malloc(len);
    if (!buf) {
        st_read_release(&rd);
        return -ENOMEM;
    }
    ssize_t got = pread(rd.r[0].fd, buf, len, rd.r[0].pos);
    st_read_release(&rd);
    struct kp_batch_hdr h;
    rc = got == (ssize_t)len ? kp_batch_validate(buf, len, KP_BATCH_SKIP_CRC, &h) : -EIO;
    if (rc < 0) {
        free(buf);
        return rc == -EIO ? rc : -EBADMSG;
    }
    *out_offset = h.base_offset;
    *out_ts = h.max_timestamp;
    if ((h.attributes & KP_BATCH_ATTR_CODEC_MASK) == 0 &&
        !(h.attributes & KP_BATCH_ATTR_LOG_APPEND_TIME)) {
        struct kp_record_iter it;
        struct kp_record rec;
        kp_record_iter_init(&it, buf, &h);
        while (kp_record_next(&it, &rec) == 1) {
            int64_t rts = h.base_timestamp + rec.timestamp_delta;
            if (rts >= ts) {
                *out_offset = h.base_offset + rec.offset_delta;
                *out_ts = rts;
                break;
            }
        }
    }
    free(buf);
    return 0;
}

/* The timestamp a partition is asked for when the principal may not DESCRIBE its topic. */
#define LO_DENIED INT64_MIN

/* May the request's principal DESCRIBE topic t (Kafka's check for ListOffsets)? */
static bool lo_allowed(const struct br_req *q, struct kp_str t)
{
    return br_allowed(q, KP_ACL_RESOURCE_TOPIC, t.ptr, (size_t)(t.len > 0 ? t.len : 0),
                      KP_ACL_OP_DESCRIBE);
}

/* Answers one partition into o (partition_index set by the caller): offset, timestamp and
 * error for the requested timestamp ts. Any thread. */
static void answer_one(struct br_ctx *x, struct kp_str topic, int64_t ts, bool committed,
                       struct kp_list_offsets_resp_partition *o)
{
    struct st_store *store = x->store;
    o->error_code = KP_ERR_NONE;
    o->timestamp = -1;
    o->offset = -1;
    o->leader_epoch = -1;
    if (ts == LO_DENIED) {
        o->error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
        return;
    }
    o->error_code =
        br_api_leader_err(x, topic.ptr, topic.len > 0 ? (size_t)topic.len : 0, o->partition_index);
    if (o->error_code) /* a cluster's, led elsewhere (or unknown there) */
        return;
    struct st_log *log =
        st_log_get(store, topic.ptr, topic.len > 0 ? (size_t)topic.len : 0, o->partition_index);
    if (!log) {
        o->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    o->leader_epoch = 0;
    if (ts == KP_LIST_OFFSETS_MAX_TIMESTAMP) { /* any version, as Kafka's log does */
        ts = st_log_max_timestamp(log);
        if (ts < 0) {
            st_log_put(log);
            return; /* empty: offset -1 */
        }
    }
    /* a replicated log (a cluster, replication factor > 1): what consumers may read ends at
     * the high watermark (the LSO never passes it), as Kafka answers */
    bool repl = st_log_replicated(log);
    if (ts == KP_LIST_OFFSETS_LATEST) {
        o->offset = committed ? st_log_lso(log)
                    : repl    ? st_log_high_watermark(log)
                              : st_log_end_offset(log);
    } else if (ts == KP_LIST_OFFSETS_EARLIEST) {
        o->offset = st_log_start_offset(log);
    } else if (ts < 0) {
        o->error_code = KP_ERR_INVALID_REQUEST;
    } else {
        int64_t off;
        int trc = st_log_offset_for_time(log, ts, &off);
        if (trc == 0)
            trc = record_for_time(log, off, ts, &o->offset, &o->timestamp);
        if (trc == -ENOENT || trc == -ERANGE) {
            o->offset = -1; /* retention removed it meanwhile */
            o->timestamp = -1;
        } else if (trc < 0) {
            br_err_limited("ListOffsets %s-%d by time: %s", BR_LOG_KSTR(topic), o->partition_index,
                           strerror(-trc));
            o->error_code = KP_ERR_KAFKA_STORAGE_ERROR;
        } else if ((committed && o->offset >= st_log_lso(log)) ||
                   (repl && o->offset >= st_log_high_watermark(log))) {
            o->offset = -1; /* not yet decided: invisible to read_committed */
            o->timestamp = -1;
        }
    }
    st_log_put(log);
}

/* answer_one, and v0's old-style offsets: the offset answered, if any. */
static void answer_partition(struct br_ctx *x, struct kp_str topic, int64_t ts, bool committed,
                             struct kp_list_offsets_resp_partition *o)
{
    answer_one(x, topic, ts, committed, o);
    o->old_one.offset = o->offset;
    o->old_style_offsets = &o->old_one;
    o->n_old_style_offsets = o->offset >= 0 ? 1 : 0;
}

/* A request with lookups by time, on the admin thread: the response's topics and partitions
 * live in the response's scratch memory, names copied; each partition's requested timestamp
 * waits in its timestamp field until answered. */
struct lo_job {
    struct br_job job; /* first: the job is the start of the scratch memory */
    int32_t n_topics;
    struct kp_list_offsets_resp_topic *topics;
    struct kp_list_offsets_resp_partition *parts; /* all partitions, topic after topic */
    const struct br_peer *peer;
    bool committed; /* isolation_level 1 */
};

static void lo_run(struct br_job *j)
{
    struct lo_job *lj = (struct lo_job *)j;
    struct kp_list_offsets_resp_partition *o = lj->parts;
    for (int32_t i = 0; i < lj->n_topics; i++) {
        const struct kp_list_offsets_resp_topic *t = &lj->topics[i];
        for (int32_t k = 0; k < t->n_partitions; k++, o++)
            answer_partition(j->x, t->name, o->timestamp, lj->committed, o);
    }
}

static void lo_done(struct br_job *j)
{
    struct lo_job *lj = (struct lo_job *)j;
    struct br_resp *r = j->r;
    struct kp_list_offsets_resp resp = {
        .throttle_time_ms = 0, .n_topics = lj->n_topics, .topics = lj->topics};
    int rc = BR_ENCODE(r, kp_list_offsets_resp_encode, &resp);
    if (rc < 0) {
        br_err("peer=%s: cannot build a ListOffsets response: %s", lj->peer->name, strerror(-rc));
        br_fail(j->x, r, "cannot build a ListOffsets response");
        return;
    }
    br_ready(j->x, r);
}

/* Copies the request into a job in r's scratch and hands it to the admin thread. */
static int list_offsets_park(struct br_req *q, struct br_resp *r,
                             const struct kp_list_offsets_req *req, size_t nparts)
{
    size_t nt = (size_t)req->n_topics;
    size_t names = 0;
    for (size_t i = 0; i < nt; i++)
        names += (size_t)(req->topics[i].name.len > 0 ? req->topics[i].name.len : 0) + 1;
    size_t need = br_align8(sizeof(struct lo_job)) +
                  br_align8(nt * sizeof(struct kp_list_offsets_resp_topic)) +
                  br_align8(nparts * sizeof(struct kp_list_offsets_resp_partition)) + names;
    int rc = br_resp_scratch(r, need);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct lo_job *lj = (struct lo_job *)m;
    memset(lj, 0, sizeof(*lj));
    m += br_align8(sizeof(*lj));
    struct kp_list_offsets_resp_topic *topics = (struct kp_list_offsets_resp_topic *)m;
    m += br_align8(nt * sizeof(*topics));
    struct kp_list_offsets_resp_partition *parts = (struct kp_list_offsets_resp_partition *)m;
    m += br_align8(nparts * sizeof(*parts));
    char *nb = (char *)m;
    lj->n_topics = req->n_topics;
    lj->peer = q->peer;
    lj->committed = req->isolation_level == 1;
    lj->topics = topics;
    lj->parts = parts;
    for (size_t i = 0; i < nt; i++) {
        const struct kp_list_offsets_req_topic *t = &req->topics[i];
        int32_t nl = t->name.len > 0 ? t->name.len : 0;
        if (nl)
            memcpy(nb, t->name.ptr, (size_t)nl);
        nb[nl] = 0;
        topics[i] = (struct kp_list_offsets_resp_topic){
            .name = {nb, t->name.len}, .n_partitions = t->n_partitions, .partitions = parts};
        bool ok = lo_allowed(q, t->name);
        for (int32_t k = 0; k < t->n_partitions; k++)
            parts[k] = (struct kp_list_offsets_resp_partition){
                .partition_index = t->partitions[k].partition_index,
                .timestamp = ok ? t->partitions[k].timestamp : LO_DENIED};
        parts += t->n_partitions;
        nb += nl + 1;
    }
    lj->job.r = r;
    lj->job.run = lo_run;
    lj->job.done = lo_done;
    rc = br_admin(q->x, &lj->job);
    return rc < 0 ? rc : BR_REPLY;
}

int br_api_list_offsets(struct br_req *q, struct br_resp *r)
{
    struct kp_list_offsets_req req;
    int rc = BR_DECODE(q, kp_list_offsets_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t nparts = 0;
    bool by_time = false;
    for (int32_t i = 0; i < req.n_topics; i++) {
        nparts += (size_t)req.topics[i].n_partitions;
        for (int32_t k = 0; k < req.topics[i].n_partitions; k++)
            by_time |= req.topics[i].partitions[k].timestamp >= 0 ||
                       req.topics[i].partitions[k].timestamp == KP_LIST_OFFSETS_MAX_TIMESTAMP;
    }
    if (by_time)
        return list_offsets_park(q, r, &req, nparts);
    struct kp_arena a;
    /* One topic array, then one partition array per topic. */
    rc = br_enc_arena(
        q->x, &a,
        kp_arena_need((size_t)req.n_topics + 1,
                      (size_t)req.n_topics * sizeof(struct kp_list_offsets_resp_topic) +
                          nparts * sizeof(struct kp_list_offsets_resp_partition)));
    if (rc < 0)
        return rc;
    struct kp_list_offsets_resp_topic *topics =
        kp_arena_alloc(&a, (size_t)req.n_topics, sizeof(*topics));
    if (!topics && req.n_topics > 0)
        return -ENOMEM;
    for (int32_t i = 0; i < req.n_topics; i++) {
        const struct kp_list_offsets_req_topic *t = &req.topics[i];
        struct kp_list_offsets_resp_partition *ps =
            kp_arena_alloc(&a, (size_t)t->n_partitions, sizeof(*ps));
        if (!ps && t->n_partitions > 0)
            return -ENOMEM;
        bool ok = lo_allowed(q, t->name);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            ps[j].partition_index = t->partitions[j].partition_index;
            answer_partition(q->x, t->name, ok ? t->partitions[j].timestamp : LO_DENIED,
                             req.isolation_level == 1, &ps[j]);
        }
        topics[i] = (struct kp_list_offsets_resp_topic){
            .name = t->name, .n_partitions = t->n_partitions, .partitions = ps};
    }
    struct kp_list_offsets_resp resp = {
        .throttle_time_ms = 0, .n_topics = req.n_topics, .topics = topics};
    rc = BR_ENCODE(r, kp_list_offsets_resp_encode, &resp);
    return rc < 0 ? rc : BR_REPLY;
}
