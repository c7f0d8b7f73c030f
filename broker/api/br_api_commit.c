/*
 * br_api_commit — OffsetCommit v0-8 and OffsetFetch v1-7: consumer groups' committed offsets,
 * kept by storage/st_offsets (durable in <data-dir>/__consumer_offsets/).
 *
 * OffsetCommit
 * - An empty group id: INVALID_GROUP_ID on every partition (the response has no top-level
 *   error). Otherwise the coordinator decides whether this member may commit
 *   (br_group_commit_check: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS; a
 *   "simple" consumer, generation -1 and no member id, only while the group has no members),
 *   and a refusal is every partition's error, as Kafka does.
 * - Per partition: UNKNOWN_TOPIC_OR_PARTITION when the topic or the partition does not exist,
 *   OFFSET_METADATA_TOO_LARGE past offset.metadata.max.bytes. The others are committed
 *   together: one write() (st_offsets_commit_batch), made before this response is built, so an
 *   acknowledged commit survives a kill -9; fdatasync follows log.flush.interval.* (with
 *   log.flush.interval.messages=1 the response waits for an fdatasync run on the admin
 *   thread, shared by the commits waiting at the time). A store that cannot write (or
 *   fdatasync) answers NOT_COORDINATOR, as Kafka's coordinator does when its offsets log
 *   fails (KAFKA_STORAGE_ERROR): clients look the coordinator up again and retry, which works
 *   once the disk has room again (the store cuts a failed write back and goes on) and after a
 *   restart once it has stopped taking commits (a failed fdatasync); COORDINATOR_NOT_AVAILABLE
 *   when out of memory. A partition the store has no room for (its map is at max_memory_bytes, 256
 * MiB: nothing else bounds the number of groups a client can commit for) gets
 *   INVALID_COMMIT_OFFSET_SIZE, Kafka's answer to a commit its log cannot take; clients report
 *   it rather than retry. Commits that only move an offset already stored always go through.
 * - Offsets of partitions that no longer exist (a deleted topic, or one recreated with fewer
 *   partitions) are removed by housekeeping at each retention check, so a recreated topic
 *   starts without the old topic's offsets, as in Kafka.
 * - retention_time_ms (v2-4) is ignored: offsets.retention.minutes applies to every group, as
 *   in Kafka from 2.1 on; so is v1's per-partition commit timestamp (sarama sends -1, "now").
 *   A v0 commit carries no generation and no member id: it is a simple consumer's commit,
 *   accepted while the group has no members, like generation -1 at later versions.
 * - In a cluster (docs/cluster.md, M4): NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS where
 *   this broker does not (yet) coordinate the group, and a commit is answered once its record
 *   is in every in-sync replica of its __consumer_offsets partition (answer_when_replicated).
 * - The write happens on the loop thread: a few hundred bytes, to the page cache. The loop
 *   thread waits for the disk only with log.flush.interval.messages=N > 1 (one fdatasync every
 *   N commits, in the commit that reaches N) and when a commit finds the file at twice its
 *   compaction threshold (housekeeping fell behind, see st_offsets.h).
 *
 * - committed_leader_epoch (v6+) is not kept: the epoch is always this node's 0. A
 *   group_instance_id (v7+) is checked by the coordinator: a fenced static member's commit is
 *   FENCED_INSTANCE_ID (br_group.h).
 *
 * OffsetFetch
 * - committed_leader_epoch (v5+) is -1 (unknown), so clients skip epoch validation.
 *   require_stable (v7) changes nothing while no transaction holds offsets back.
 *   v8 (several groups in one request) is not advertised.
 * - Each requested partition gets its committed offset and metadata, or offset -1 with empty
 *   metadata and error 0 when nothing is committed (also for a topic that does not exist, as
 *   Kafka answers from v1 on). A partition asked for more than once is answered once, at its
 *   first place (Kafka answers from a map): otherwise each 4-byte repeat would buy a copy of
 *   up to offset.metadata.max.bytes in the response. topics = null (v2+) answers every partition
 * the group has committed, grouped by topic.
 * - An empty group id: v2+ answer the top-level error INVALID_GROUP_ID (the LAST field on the
 *   wire, after the topics) and no topics; v1 has no top-level error, so every requested
 *   partition carries it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_api.h"
#include "kp_msg_sec.h"
#include "br_clu.h"
#include "br_clu_repl.h"
#include "br_coload.h"
#include "br_cotopic.h"
#include "br_group.h"
#include "br_log.h"
#include "kp_msg.h"
#include "st_offsets.h"

/* ---- OffsetCommit ------------------------------------------------------------------------- */

static int16_t commit_error(int rc)
{
    switch (rc) {
    case 0:
        return KP_ERR_NONE;
    case -EMSGSIZE:
        return KP_ERR_OFFSET_METADATA_TOO_LARGE;
    case -EINVAL:
        return KP_ERR_INVALID_REQUEST; /* a name longer than the store takes */
    case -ENOMEM:
        return KP_ERR_COORDINATOR_NOT_AVAILABLE;
    case -ENOBUFS:
        return KP_ERR_INVALID_COMMIT_OFFSET_SIZE; /* the store is full (logged there) */
    default:
        /* the disk's errors (ENOSPC, EIO, ...; ESHUTDOWN once the store stopped taking
         * commits): Kafka's coordinator answers a failed offsets write (KAFKA_STORAGE_ERROR)
         * with NOT_COORDINATOR, which clients retry after looking the coordinator up again */
        return KP_ERR_NOT_COORDINATOR;
    }
}

/*
 * With log.flush.interval.messages=1 a commit is answered only once fdatasynced. The loop
 * thread writes it; the admin thread runs the fdatasync (st_offsets_sync, which commits of
 * other connections share), then done() answers. The job and a copy of the response (the
 * request's bytes are gone by then) live in the response's scratch memory.
 */
struct oc_job {
    struct br_job job; /* first: the job is the start of the scratch memory */
    struct kp_offset_commit_resp resp;
    /* a cluster: the record's partition log, the end offset the high watermark must reach,
     * the leader epoch the partition was loaded at when the commit was written */
    struct br_ctx *x;
    struct st_log *log;
    int64_t need;
    int32_t part, epoch;
};

static void oc_run(struct br_job *j)
{
    struct oc_job *oj = (struct oc_job *)j;
    int rc = st_offsets_sync(j->x->offsets);
    if (rc == 0)
        return;
    br_err("OffsetCommit: fdatasync of the committed offsets: %s", strerror(-rc));
    for (int32_t i = 0; i < oj->resp.n_topics; i++) {
        struct kp_offset_commit_resp_partition *ps =
            (struct kp_offset_commit_resp_partition *)oj->resp.topics[i].partitions;
        for (int32_t k = 0; k < oj->resp.topics[i].n_partitions; k++)
            if (ps[k].error_code == KP_ERR_NONE)
                ps[k].error_code = KP_ERR_NOT_COORDINATOR; /* written, not durable */
    }
}

static void oc_done(struct br_job *j)
{
    struct oc_job *oj = (struct oc_job *)j;
    struct br_resp *r = j->r;
    int rc = BR_ENCODE(r, kp_offset_commit_resp_encode, &oj->resp);
    if (rc < 0) {
        br_fail(j->x, r, "cannot encode an OffsetCommit response");
        return;
    }
    br_ready(j->x, r);
}

/* Copies resp (its arrays and names) into r's scratch memory, behind a job. NULL: -ENOMEM. */
static struct oc_job *oc_save(struct br_resp *r, const struct kp_offset_commit_resp *resp)
{
    size_t nt = (size_t)resp->n_topics, np = 0, names = 0;
    for (size_t i = 0; i < nt; i++) {
        np += (size_t)resp->topics[i].n_partitions;
        names += resp->topics[i].name.len > 0 ? (size_t)resp->topics[i].name.len : 0;
    }
    size_t need = br_align8(sizeof(struct oc_job)) +
                  br_align8(nt * sizeof(struct kp_offset_commit_resp_topic)) +
                  br_align8(np * sizeof(struct kp_offset_commit_resp_partition)) + names;
    if (br_resp_scratch(r, need) < 0)
        return NULL;
    uint8_t *m = r->scratch;
    struct oc_job *oj = (struct oc_job *)m;
    memset(oj, 0, sizeof(*oj));
    m += br_align8(sizeof(*oj));
    struct kp_offset_commit_resp_topic *topics = (struct kp_offset_commit_resp_topic *)m;
    m += br_align8(nt * sizeof(*topics));
    struct kp_offset_commit_resp_partition *parts = (struct kp_offset_commit_resp_partition *)m;
    m += br_align8(np * sizeof(*parts));
    char *namebuf = (char *)m;
    for (size_t i = 0; i < nt; i++) {
        const struct kp_offset_commit_resp_topic *t = &resp->topics[i];
        int32_t nl = t->name.len > 0 ? t->name.len : 0;
        if (nl)
            memcpy(namebuf, t->name.ptr, (size_t)nl);
        memcpy(parts, t->partitions, (size_t)t->n_partitions * sizeof(*parts));
        topics[i] = (struct kp_offset_commit_resp_topic){
            .name = {namebuf, nl}, .n_partitions = t->n_partitions, .partitions = parts};
        namebuf += nl;
        parts += t->n_partitions;
    }
    oj->resp = (struct kp_offset_commit_resp){
        .throttle_time_ms = 0, .n_topics = resp->n_topics, .topics = topics};
    oj->job.r = r;
    return oj;
}

/* Parks r until the admin thread has synced the commits resp acknowledges. 0 or -ENOMEM. */
static int answer_when_durable(struct br_req *q, struct br_resp *r,
                               const struct kp_offset_commit_resp *resp)
{
    struct oc_job *oj = oc_save(r, resp);
    if (!oj)
        return -ENOMEM;
    oj->job.run = oc_run;
    oj->job.done = oc_done;
    return br_admin(q->x, &oj->job);
}

/* Every partition the store took (error NONE) answers err instead. */
static void oc_fail_written(struct kp_offset_commit_resp *resp, int16_t err)
{
    for (int32_t i = 0; i < resp->n_topics; i++) {
        struct kp_offset_commit_resp_partition *ps =
            (struct kp_offset_commit_resp_partition *)resp->topics[i].partitions;
        for (int32_t k = 0; k < resp->topics[i].n_partitions; k++)
            if (ps[k].error_code == KP_ERR_NONE)
                ps[k].error_code = err;
    }
}

/*
 * A cluster (docs/cluster.md, M4): the commit is answered once its record is in every in-sync
 * replica of its __consumer_offsets partition (the high watermark passed it), as Kafka's
 * coordinator appends with acks=all, at most offsets.commit.timeout.ms later. The errors are
 * Kafka's GroupMetadataManager mapping of the append's: leadership lost (or the partition
 * reloaded at a new leader epoch) NOT_COORDINATOR; the timeout (REQUEST_TIMED_OUT) and a
 * record that could not be appended for want of memory COORDINATOR_NOT_AVAILABLE; an append
 * the mirror could not make (not the leader any more, no log) NOT_COORDINATOR.
 * Deviation: the store (OffsetFetch on this broker) has the commit from the moment it is
 * written, also when the answer is then an error; Kafka's cache takes it only once
 * replicated. A new leader loads what its log has.
 */
static bool oc_hw_resolve(struct oc_job *oj, enum br_wake why)
{
    if (!br_coload_loaded(oj->x->coload, oj->part, oj->epoch)) {
        oc_fail_written(&oj->resp, KP_ERR_NOT_COORDINATOR);
        return true;
    }
    if (st_log_high_watermark(oj->log) >= oj->need) {
        /* in, but the ISR shrank below min.insync.replicas meanwhile: Kafka's append answers
         * NOT_ENOUGH_REPLICAS_AFTER_APPEND, which its coordinator maps so */
        int32_t isr = br_repl_isr_size(br_clu_repl(oj->x->clu), oj->log);
        if (isr >= 0 && isr < st_log_min_insync_replicas(oj->log))
            oc_fail_written(&oj->resp, KP_ERR_COORDINATOR_NOT_AVAILABLE);
        return true;
    }
    if (why == BR_WAKE_EVENT)
        return false;
    oc_fail_written(&oj->resp, KP_ERR_COORDINATOR_NOT_AVAILABLE); /* REQUEST_TIMED_OUT */
    return true;
}

static void oc_hw_finish(struct oc_job *oj)
{
    st_log_put(oj->log);
    oj->log = NULL;
    oc_done(&oj->job);
}

static void oc_hw_wake(struct br_resp *r, enum br_wake why, void *arg)
{
    (void)r;
    struct oc_job *oj = arg;
    if (oc_hw_resolve(oj, why))
        oc_hw_finish(oj);
}

static int answer_when_replicated(struct br_req *q, struct br_resp *r,
                                  const struct kp_offset_commit_resp *resp, struct kp_str group,
                                  const struct br_cotopic_track *t)
{
    struct br_ctx *x = q->x;
    struct oc_job *oj = oc_save(r, resp);
    if (!oj)
        return -ENOMEM;
    oj->job.x = x;
    oj->x = x;
    int32_t part = -1, epoch = -1;
    int16_t cerr = br_coload_check(x->coload, group.ptr, (size_t)group.len, &part, &epoch);
    if (t->rc < 0 || t->part < 0 || t->part != part || cerr != KP_ERR_NONE) {
        /* the mirror could not append it here (br_cotopic.h) */
        oc_fail_written(&oj->resp, t->rc == -ENOMEM ? KP_ERR_COORDINATOR_NOT_AVAILABLE
                                                    : KP_ERR_NOT_COORDINATOR);
        return BR_ENCODE(r, kp_offset_commit_resp_encode, &oj->resp);
    }
    oj->log = st_log_get(x->store, BR_COTOPIC_NAME, sizeof(BR_COTOPIC_NAME) - 1, part);
    if (!oj->log) {
        oc_fail_written(&oj->resp, KP_ERR_NOT_COORDINATOR);
        return BR_ENCODE(r, kp_offset_commit_resp_encode, &oj->resp);
    }
    oj->need = t->end;
    oj->part = part;
    oj->epoch = epoch;
    int64_t deadline = x->ops->now_ms(x) + x->cfg->offsets_commit_timeout_ms;
    /* parked before looking, so a high watermark moving right now is not missed (br_ctx.h) */
    int rc = br_park(x, r, BR_WAIT_SYNC, deadline, oc_hw_wake, oj);
    if (rc < 0) {
        st_log_put(oj->log);
        return rc;
    }
    if (oc_hw_resolve(oj, BR_WAKE_EVENT)) {
        br_unpark(x, r);
        st_log_put(oj->log);
        oj->log = NULL;
        rc = BR_ENCODE(r, kp_offset_commit_resp_encode, &oj->resp);
        return rc < 0 ? rc : 0;
    }
    return 0;
}

int br_api_offset_commit(struct br_req *q, struct br_resp *r)
{
    struct br_ctx *x = q->x;
    struct kp_offset_commit_req req;
    int rc = BR_DECODE(q, kp_offset_commit_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t nparts = 0;
    for (int32_t i = 0; i < req.n_topics; i++)
        nparts += (size_t)req.topics[i].n_partitions;
    struct kp_arena a;
    /* topics, their partition arrays, then one commit item and one result per partition */
    rc = br_enc_arena(
        q->x, &a,
        kp_arena_need((size_t)req.n_topics + 3,
                      (size_t)req.n_topics * sizeof(struct kp_offset_commit_resp_topic) +
                          nparts * (sizeof(struct kp_offset_commit_resp_partition) +
                                    sizeof(struct st_offset_commit) + sizeof(int))));
    if (rc < 0)
        return rc;
    struct kp_offset_commit_resp_topic *topics =
        kp_arena_alloc(&a, (size_t)req.n_topics, sizeof(*topics));
    struct st_offset_commit *items = kp_arena_alloc(&a, nparts, sizeof(*items));
    int *results = kp_arena_alloc(&a, nparts, sizeof(*results));
    if ((!topics && req.n_topics > 0) || ((!items || !results) && nparts > 0))
        return -ENOMEM;

    int16_t gerr = KP_ERR_NONE;
    if (!br_allowed(q, KP_ACL_RESOURCE_GROUP, req.group_id.ptr,
                    (size_t)(req.group_id.len > 0 ? req.group_id.len : 0), KP_ACL_OP_READ))
        gerr = KP_ERR_GROUP_AUTHORIZATION_FAILED;
    else if (req.group_id.len <= 0)
        gerr = KP_ERR_INVALID_GROUP_ID;
    else if ((gerr = br_api_coord_err(x, req.group_id)) != KP_ERR_NONE)
        ; /* a cluster: not the group's coordinator (yet) */
    else if (x->groups)
        gerr = br_group_commit_check_inst(x->groups, req.group_id, req.generation_id, req.member_id,
                                          req.group_instance_id);

    /* pass 1: per-partition checks; the items to commit */
    int nitems = 0;
    for (int32_t i = 0; i < req.n_topics; i++) {
        const struct kp_offset_commit_req_topic *t = &req.topics[i];
        struct kp_offset_commit_resp_partition *ps =
            kp_arena_alloc(&a, (size_t)t->n_partitions, sizeof(*ps));
        if (!ps && t->n_partitions > 0)
            return -ENOMEM;
        bool tdeny = gerr == KP_ERR_NONE &&
                     !br_allowed(q, KP_ACL_RESOURCE_TOPIC, t->name.ptr,
                                 (size_t)(t->name.len > 0 ? t->name.len : 0), KP_ACL_OP_READ);
        int32_t nparts_topic = gerr == KP_ERR_NONE && t->name.len > 0
                                   ? br_api_topic_partitions(x, t->name.ptr, (size_t)t->name.len)
                                   : -ENOENT;
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_offset_commit_req_partition *p = &t->partitions[j];
            ps[j].partition_index = p->partition_index;
            if (gerr != KP_ERR_NONE) {
                ps[j].error_code = gerr;
            } else if (tdeny) {
                ps[j].error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
            } else if (nparts_topic <= 0 || p->partition_index < 0 ||
                       p->partition_index >= nparts_topic) {
                ps[j].error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            } else if (p->committed_metadata.len > x->cfg->offset_metadata_max_bytes) {
                ps[j].error_code = KP_ERR_OFFSET_METADATA_TOO_LARGE;
            } else {
                ps[j].error_code = KP_ERR_NONE;
                size_t mlen = p->committed_metadata.len > 0 ? (size_t)p->committed_metadata.len : 0;
                items[nitems++] = (struct st_offset_commit){
                    .topic = t->name.ptr,
                    .topic_len = (size_t)t->name.len,
                    .partition = p->partition_index,
                    .offset = p->committed_offset,
                    .metadata = mlen ? p->committed_metadata.ptr : NULL,
                    .metadata_len = mlen,
                };
            }
        }
        topics[i] = (struct kp_offset_commit_resp_topic){
            .name = t->name, .n_partitions = t->n_partitions, .partitions = ps};
    }

    /* one write for the lot, then pass 2: the store's verdicts */
    bool written = false;
    struct br_cotopic_track track;
    if (nitems > 0) {
        br_cotopic_track_begin(&track); /* what the mirror appends for it (a cluster) */
        rc = st_offsets_commit_batch(x->offsets, req.group_id.ptr, (size_t)req.group_id.len, items,
                                     nitems, br_wall_ms_of(q->x), results);
        br_cotopic_track_end();
        if (rc < 0) {
            br_err_limited("OffsetCommit group %s: %s", BR_LOG_KSTR(req.group_id), strerror(-rc));
            for (int k = 0; k < nitems; k++)
                results[k] = rc;
        }
        int k = 0;
        for (int32_t i = 0; i < req.n_topics; i++) {
            struct kp_offset_commit_resp_partition *ps =
                (struct kp_offset_commit_resp_partition *)topics[i].partitions;
            for (int32_t j = 0; j < topics[i].n_partitions; j++) {
                if (ps[j].error_code != KP_ERR_NONE || gerr != KP_ERR_NONE)
                    continue;
                written = written || results[k] == 0;
                ps[j].error_code = commit_error(results[k++]);
            }
        }
    }
    struct kp_offset_commit_resp resp = {
        .throttle_time_ms = 0, .n_topics = req.n_topics, .topics = topics};
    if (written && x->coload) {
        rc = answer_when_replicated(q, r, &resp, req.group_id, &track);
        return rc < 0 ? rc : BR_REPLY;
    }
    if (written && x->cfg->log.flush_interval_messages == 1) {
        rc = answer_when_durable(q, r, &resp);
        return rc < 0 ? rc : BR_REPLY;
    }
    rc = BR_ENCODE(r, kp_offset_commit_resp_encode, &resp);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- OffsetFetch -------------------------------------------------------------------------- */

/* Copies a view into the arena (the store's memory is valid during its callback only). */
static bool arena_copy(struct kp_arena *a, const char *p, size_t n, struct kp_str *out)
{
    if (n == 0) {
        *out = (struct kp_str){"", 0};
        return true;
    }
    char *m = kp_arena_alloc(a, n, 1);
    if (!m)
        return false;
    memcpy(m, p, n);
    *out = (struct kp_str){m, (int32_t)n};
    return true;
}

struct one_ctx {
    struct kp_arena *a;
    struct kp_offset_fetch_resp_partition *out;
    bool full;
};

static void one_found(void *arg, const struct st_offset_entry *e)
{
    struct one_ctx *c = arg;
    c->out->committed_offset = e->offset;
    if (!arena_copy(c->a, e->metadata, e->metadata_len, &c->out->metadata))
        c->full = true;
}

struct all_ctx {
    struct br_req *q; /* whose principal must be allowed to DESCRIBE each topic listed */
    struct kp_arena *a;
    struct kp_offset_fetch_resp_topic *topics; /* room for cap (one topic per entry at most) */
    struct kp_offset_fetch_resp_partition *parts;
    int32_t cap, ntopics, nparts;
    bool full;
};

static void all_found(void *arg, const struct st_offset_entry *e)
{
    struct all_ctx *c = arg;
    if (!br_allowed(c->q, KP_ACL_RESOURCE_TOPIC, e->topic, e->topic_len, KP_ACL_OP_DESCRIBE))
        return; /* listed only where the principal may DESCRIBE the topic (Kafka) */
    if (c->full || c->nparts == c->cap) {
        c->full = true; /* committed to meanwhile: the caller tries again with more room */
        return;
    }
    struct kp_offset_fetch_resp_topic *t = c->ntopics ? &c->topics[c->ntopics - 1] : NULL;
    if (!t || (size_t)t->name.len != e->topic_len || memcmp(t->name.ptr, e->topic, e->topic_len)) {
        t = &c->topics[c->ntopics++];
        if (!arena_copy(c->a, e->topic, e->topic_len, &t->name)) {
            c->full = true;
            return;
        }
        t->partitions = &c->parts[c->nparts];
        t->n_partitions = 0;
    }
    struct kp_offset_fetch_resp_partition *p = &c->parts[c->nparts++];
    t->n_partitions++;
    p->partition_index = e->partition;
    p->committed_offset = e->offset;
    p->committed_leader_epoch = -1;
    p->error_code = KP_ERR_NONE;
    if (!arena_copy(c->a, e->metadata, e->metadata_len, &p->metadata))
        c->full = true;
}

static void count_found(void *arg, const struct st_offset_entry *e)
{
    size_t *bytes = arg;
    *bytes += e->topic_len + e->metadata_len;
}

/* One requested (topic, partition), for finding repeats. */
struct fetch_ref {
    const char *name;
    int32_t len;
    int32_t partition;
    size_t flat; /* its position in the request, topic after topic */
};

static int ref_cmp(const void *a, const void *b)
{
    const struct fetch_ref *x = a, *y = b;
    int32_t n = x->len < y->len ? x->len : y->len;
    int c = n > 0 ? memcmp(x->name, y->name, (size_t)n) : 0;
    if (c == 0)
        c = (x->len > y->len) - (x->len < y->len);
    if (c == 0)
        c = (x->partition > y->partition) - (x->partition < y->partition);
    if (c == 0)
        c = (x->flat > y->flat) - (x->flat < y->flat);
    return c;
}

/*
 * Marks in repeat[flat] every requested partition asked for earlier in the same request
 * (under the same topic name, in this or another topic entry). Kafka answers from a map, so
 * each partition once; answering every repeat would copy its metadata (up to
 * offset.metadata.max.bytes) for each 4 request bytes. *out is NULL when there is nothing to
 * mark; the caller frees it. 0 or -ENOMEM.
 */
static int mark_repeats(const struct kp_offset_fetch_req *req, size_t nparts, uint8_t **out)
{
    *out = NULL;
    if (nparts < 2)
        return 0;
    struct fetch_ref *refs = malloc(nparts * sizeof(*refs));
    uint8_t *repeat = calloc(nparts, 1);
    if (!refs || !repeat) {
        free(refs);
        free(repeat);
        return -ENOMEM;
    }
    size_t k = 0;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kp_offset_fetch_req_topic *t = &req->topics[i];
        for (int32_t j = 0; j < t->n_partition_indexes; j++, k++)
            refs[k] = (struct fetch_ref){
                .name = t->name.ptr,
                .len = t->name.len > 0 ? t->name.len : 0,
                .partition = t->partition_indexes[j],
                .flat = k,
            };
    }
    qsort(refs, nparts, sizeof(*refs), ref_cmp);
    for (size_t i = 1; i < nparts; i++) {
        const struct fetch_ref *a = &refs[i - 1], *b = &refs[i];
        if (a->len == b->len && a->partition == b->partition &&
            (a->len == 0 || memcmp(a->name, b->name, (size_t)a->len) == 0))
            repeat[b->flat] = 1; /* sorted by position last: the first stays */
    }
    free(refs);
    *out = repeat;
    return 0;
}

/*
 * Builds the response into an encode arena of cap bytes. 0, or -ENOSPC when cap was too
 * small (metadata longer than guessed, or commits meanwhile), or -errno.
 */
static int fetch_build(struct br_req *q, const struct kp_offset_fetch_req *req,
                       const uint8_t *repeat, size_t *cap, struct kp_offset_fetch_resp *resp)
{
    struct br_ctx *x = q->x;
    *resp = (struct kp_offset_fetch_resp){.throttle_time_ms = 0, .error_code = KP_ERR_NONE};
    const char *g = req->group_id.ptr;
    size_t glen = req->group_id.len > 0 ? (size_t)req->group_id.len : 0;
    if (glen == 0 && (q->api_version >= 2 || req->n_topics < 0)) {
        resp->error_code = KP_ERR_INVALID_GROUP_ID;
        return 0;
    }
    /* DESCRIBE on the group: the whole response's error from v2, each partition's in v1 */
    bool gdeny = !br_allowed(q, KP_ACL_RESOURCE_GROUP, g, glen, KP_ACL_OP_DESCRIBE);
    if (gdeny && (q->api_version >= 2 || req->n_topics < 0)) {
        resp->error_code = KP_ERR_GROUP_AUTHORIZATION_FAILED;
        return 0;
    }
    /* in a cluster: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS where this broker does not
     * (yet) coordinate the group; like the ACL's error, each partition's in v1 */
    int16_t cerr = gdeny ? KP_ERR_NONE : br_api_coord_err(x, req->group_id);
    if (cerr != KP_ERR_NONE && (q->api_version >= 2 || req->n_topics < 0)) {
        resp->error_code = cerr;
        return 0;
    }
    /* topics = null: size the arena from a counting pass (every committed partition) */
    int32_t want = 0;
    if (req->n_topics < 0) {
        size_t bytes = 0;
        int n = st_offsets_foreach(x->offsets, g, glen, count_found, &bytes);
        if (n < 0)
            return n;
        want = n + 16; /* room for commits that land between the two passes */
        size_t need = kp_arena_need(2 + 2 * (size_t)want,
                                    (size_t)want * (sizeof(struct kp_offset_fetch_resp_topic) +
                                                    sizeof(struct kp_offset_fetch_resp_partition)) +
                                        bytes) +
                      4096;
        if (*cap < need)
            *cap = need;
    }
    struct kp_arena a;
    int rc = br_enc_arena(q->x, &a, *cap);
    if (rc < 0)
        return rc;
    if (req->n_topics < 0) {
        struct all_ctx c = {.a = &a, .cap = want, .q = q};
        c.topics = kp_arena_alloc(&a, (size_t)want, sizeof(*c.topics));
        c.parts = kp_arena_alloc(&a, (size_t)want, sizeof(*c.parts));
        if (!c.topics || !c.parts)
            return -ENOSPC;
        int n = st_offsets_foreach(x->offsets, g, glen, all_found, &c);
        if (n < 0)
            return n;
        if (c.full)
            return -ENOSPC;
        resp->n_topics = c.ntopics;
        resp->topics = c.topics;
        return 0;
    }
    struct kp_offset_fetch_resp_topic *topics =
        kp_arena_alloc(&a, (size_t)req->n_topics, sizeof(*topics));
    if (!topics && req->n_topics > 0)
        return -ENOSPC;
    int32_t nt = 0;
    size_t flat = 0;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kp_offset_fetch_req_topic *t = &req->topics[i];
        int32_t keep = 0;
        for (int32_t j = 0; j < t->n_partition_indexes; j++)
            keep += !(repeat && repeat[flat + (size_t)j]);
        if (keep == 0 && t->n_partition_indexes > 0) {
            flat += (size_t)t->n_partition_indexes; /* every partition asked for before */
            continue;
        }
        struct kp_offset_fetch_resp_partition *ps = kp_arena_alloc(&a, (size_t)keep, sizeof(*ps));
        if (!ps && keep > 0)
            return -ENOSPC;
        int16_t deny =
            gdeny  ? KP_ERR_GROUP_AUTHORIZATION_FAILED
            : cerr ? cerr
            : !br_allowed(q, KP_ACL_RESOURCE_TOPIC, t->name.ptr,
                          (size_t)(t->name.len > 0 ? t->name.len : 0), KP_ACL_OP_DESCRIBE)
                ? KP_ERR_TOPIC_AUTHORIZATION_FAILED
                : KP_ERR_NONE;
        int32_t n = 0;
        for (int32_t j = 0; j < t->n_partition_indexes; j++, flat++) {
            if (repeat && repeat[flat])
                continue;
            struct kp_offset_fetch_resp_partition *p = &ps[n++];
            *p = (struct kp_offset_fetch_resp_partition){
                .partition_index = t->partition_indexes[j],
                .committed_offset = -1,
                .metadata = {"", 0},
                .error_code = deny        ? deny
                              : glen == 0 ? KP_ERR_INVALID_GROUP_ID
                                          : KP_ERR_NONE,
                .committed_leader_epoch = -1,
            };
            if (deny || glen == 0 || t->name.len <= 0)
                continue;
            struct one_ctx c = {.a = &a, .out = p};
            rc = st_offsets_lookup(x->offsets, g, glen, t->name.ptr, (size_t)t->name.len,
                                   t->partition_indexes[j], one_found, &c);
            if (rc < 0 && rc != -ENOENT)
                return rc;
            if (c.full)
                return -ENOSPC;
        }
        topics[nt++] = (struct kp_offset_fetch_resp_topic){
            .name = t->name, .n_partitions = n, .partitions = ps};
    }
    resp->n_topics = nt;
    resp->topics = topics;
    return 0;
}

int br_api_offset_fetch(struct br_req *q, struct br_resp *r)
{
    struct kp_offset_fetch_req req;
    /* librdkafka 2.0.2 asking for all partitions (topics null) in a flexible version reserves a
     * 4-byte array count and writes only the compact null's first byte: three zero bytes follow
     * the body. Kafka never checks what follows a request body, so the request works there. */
    if (q->api_version >= 6)
        kp_rd_allow_trailing(&q->rd);
    int rc = BR_DECODE(q, kp_offset_fetch_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t ntopics = req.n_topics > 0 ? (size_t)req.n_topics : 0, nparts = 0;
    for (size_t i = 0; i < ntopics; i++)
        nparts += (size_t)req.topics[i].n_partition_indexes;
    /* arrays, plus 4 KiB of metadata to start with; doubled while it does not fit */
    size_t cap = kp_arena_need(ntopics + nparts + 2,
                               ntopics * sizeof(struct kp_offset_fetch_resp_topic) +
                                   nparts * sizeof(struct kp_offset_fetch_resp_partition)) +
                 4096;
    struct kp_offset_fetch_resp resp;
    uint8_t *repeat = NULL;
    rc = mark_repeats(&req, nparts, &repeat);
    for (int attempt = 0; rc == 0 || rc == -ENOSPC; attempt++) {
        rc = fetch_build(q, &req, repeat, &cap, &resp);
        if (rc != -ENOSPC)
            break;
        if (attempt == 24) { /* 4 KiB << 24: far past anything the store can hold */
            rc = -ENOMEM;
            break;
        }
        cap *= 2;
    }
    free(repeat);
    if (rc < 0) {
        br_err_limited("OffsetFetch group %s: %s", BR_LOG_KSTR(req.group_id), strerror(-rc));
        resp = (struct kp_offset_fetch_resp){.error_code = KP_ERR_UNKNOWN_SERVER_ERROR};
        if (q->api_version < 2)
            return rc; /* v1 has no field for it: close the connection */
    }
    rc = BR_ENCODE(r, kp_offset_fetch_resp_encode, &resp);
    return rc < 0 ? rc : BR_REPLY;
}
