/*
 * br_api_fetch — Fetch v4-13: the zero-copy read path and long polling.
 *
 * A response is built with kp_msg's incremental encoder: the head, then per topic its name,
 * then per partition the fixed fields up to the records length — written into the response
 * buffer — followed by the file ranges st_log_read returned, which the listener's transfer
 * path moves without the broker reading them. From v12 (flexible) each partition, topic and
 * the response end with their tag buffers, written after the file ranges; from v13 topics go
 * by topic id (st_topic_id), and an id this broker does not know answers UNKNOWN_TOPIC_ID.
 *
 * Rules (kafka-protocol-notes §7):
 * - high watermark = log end offset on an unreplicated log (a single node, replication factor
 *   1); on a replicated one (a cluster, rf > 1: br_clu_repl.h) st_log_high_watermark, below
 *   which consumers read (st_log_read_upto; an offset in [HW, end] is empty, not out of
 *   range), while a follower (replica_id >= 0) reads up to the end and its fetch_offset is its
 *   log end offset, which moves the HW (woken: acks=all produces, parked fetches);
 *   current_leader_epoch off the leader's: FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH;
 *   a replica_id that is not a replica: NOT_LEADER_OR_FOLLOWER. A follower in the ISR
 *   serves its own leader's fetch (replica_id the view's leader, current_leader_epoch the
 *   view's) below its high watermark: the leader repairing a fenced range (br_clu_fetch.h).
 *   A follower's own repair fetch (client_id "splicelog-repair-<id>", br_clu_repl.h) is
 *   served as its fetch is but does not count as one (its offset is not its log end).
 *   Last stable offset = st_log_lso
 * (the first offset of the oldest open transaction, else the end); log start offset; preferred read
 * replica -1.
 * - isolation_level 1 (read_committed, KIP-98): the read stops at the LSO (a batch boundary:
 *   st_log_read_upto), a fetch_offset in [LSO, HW] is empty and not an error (it may park
 *   until a marker moves the LSO), and aborted_transactions lists the aborted transactions
 *   of the range returned (st_log_aborted_txns, from the .txnindex files: record bytes are
 *   never read and still leave by splice/sendfile; consumers skip aborted batches and control
 *   batches themselves, as against Kafka). read_uncommitted reads to the HW with an empty
 *   aborted list.
 * - records is never null: an empty partition has length 0.
 * - fetch_offset outside [log start, HW] is OFFSET_OUT_OF_RANGE; == HW is empty, not an error.
 * - whole batches only, starting at the batch that holds fetch_offset; partition_max_bytes and
 *   the response max_bytes are honoured, except that the first batch of the first non-empty
 *   partition is sent whole even when larger (KIP-74), so no consumer can stall.
 * - a fetch_offset in a fenced range (a batch found corrupt, st.h) is CORRUPT_MESSAGE: the one
 *   code that librdkafka 2.0.2 hands to the application (its fetcher treats
 *   KAFKA_STORAGE_ERROR as a leader change and retries silently forever; kcat exits with the
 *   error) and that kafkajs 2.2.4 surfaces (a crash event after its retries). A fetch that
 *   starts before the range gets the good batches up to it; other partitions are unaffected.
 * - min_bytes / max_wait_ms: when fewer bytes than min_bytes are available and no partition
 *   has an error, the request is parked (its parameters copied into the response's scratch
 *   memory) and re-evaluated when an append on any loop thread wakes this one, or at its
 *   deadline, when it is answered with whatever is there (possibly nothing).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "br_api.h"
#include "br_clu.h"
#include "br_clu_repl.h"
#include "br_cotopic.h"
#include "br_quota.h"
#include "kp_msg_sec.h"
#include "br_log.h"
#include "br_stats.h"
#include "kp_msg.h"

struct fetch_part {
    int64_t offset;
    int32_t partition;
    int32_t max_bytes;
    int32_t cur_epoch; /* current_leader_epoch (-1: not given) */
    int16_t err;       /* found when the request came (leader epoch, replica), else NONE */
    bool for_leader;   /* this broker, an in-sync follower, serves its leader's repair fetch
                          (decided when the request came: fetch_replication) */
};

struct fetch_topic {
    const char *name;
    int32_t name_len;
    struct kp_uuid id; /* v13+: as asked; the name is resolved from it (empty: unknown id) */
    int32_t n_parts;
    struct fetch_part *parts;
    bool denied; /* no READ on it (decided once, when the request came) */
};

struct fetch_state {
    struct br_ctx *x;
    const struct br_peer *peer;
    int16_t version;
    int8_t isolation;
    bool replica;         /* a follower's fetch in a cluster (replica_id >= 0): up to the log end */
    int32_t aborted_room; /* aborted entries the response reserves room for (grows) */
    int32_t min_bytes;
    int32_t max_bytes;
    int32_t n_topics;
    struct fetch_topic *topics;
};

/* Copies what evaluation needs out of the request (whose bytes are about to be reused). */
static int save_request(struct br_req *q, struct br_resp *r, const struct kp_fetch_req *req)
{
    size_t nparts = 0, names = 0;
    for (int32_t i = 0; i < req->n_topics; i++) {
        nparts += (size_t)req->topics[i].n_partitions;
        names += (size_t)(req->topics[i].topic.len > 0 ? req->topics[i].topic.len : 0);
    }
    if (q->api_version >= 13)
        names += (size_t)req->n_topics * 256; /* names resolved from topic ids */
    size_t need = br_align8(sizeof(struct fetch_state)) +
                  br_align8((size_t)req->n_topics * sizeof(struct fetch_topic)) +
                  br_align8(nparts * sizeof(struct fetch_part)) + names + 8;
    int rc = br_resp_scratch(r, need);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct fetch_state *st = (struct fetch_state *)m;
    m += br_align8(sizeof(*st));
    struct fetch_topic *topics = (struct fetch_topic *)m;
    m += br_align8((size_t)req->n_topics * sizeof(*topics));
    struct fetch_part *parts = (struct fetch_part *)m;
    m += br_align8(nparts * sizeof(*parts));
    char *name = (char *)m;
    *st = (struct fetch_state){
        .x = q->x,
        .peer = q->peer,
        .version = q->api_version,
        .isolation = req->isolation_level == 1 ? 1 : 0,
        .replica = req->replica_id >= 0 && q->x->clu,
        .aborted_room = 0,
        .min_bytes = req->min_bytes,
        .max_bytes = req->max_bytes > 0 ? req->max_bytes : INT32_MAX,
        .n_topics = req->n_topics,
        .topics = topics,
    };
    /* a follower's fetch: CLUSTER_ACTION on the cluster instead of READ on each topic, as
     * Kafka's KafkaApis (else every partition TOPIC_AUTHORIZATION_FAILED) */
    bool follower_denied = st->replica && !br_allowed_cluster(q, KP_ACL_OP_CLUSTER_ACTION);
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kp_fetch_req_topic *t = &req->topics[i];
        int32_t nl = t->topic.len > 0 ? t->topic.len : 0;
        if (q->api_version >= 13) {
            nl = st_topic_by_id(q->x->store, t->topic_id.b, name, 256) == 0 ? (int32_t)strlen(name)
                                                                            : 0;
        } else if (nl) {
            memcpy(name, t->topic.ptr, (size_t)nl);
        }
        /* READ on the topic (v13+: the one its id names; an unknown id is UNKNOWN_TOPIC_ID) */
        bool denied = st->replica ? follower_denied
                                  : (q->api_version < 13 || nl > 0) &&
                                        !br_allowed(q, KP_ACL_RESOURCE_TOPIC, name, (size_t)nl,
                                                    KP_ACL_OP_READ);
        topics[i] = (struct fetch_topic){name, nl, t->topic_id, t->n_partitions, parts, denied};
        name += q->api_version >= 13 ? 256 : nl;
        for (int32_t j = 0; j < t->n_partitions; j++)
            parts[j] = (struct fetch_part){t->partitions[j].fetch_offset,
                                           t->partitions[j].partition,
                                           t->partitions[j].partition_max_bytes,
                                           t->partitions[j].current_leader_epoch,
                                           KP_ERR_NONE,
                                           false};
        parts += t->n_partitions;
    }
    r->hstate = st;
    return 0;
}

_Static_assert(sizeof(struct st_aborted) == sizeof(struct kp_fetch_aborted_txn) &&
                   offsetof(struct st_aborted, first_offset) ==
                       offsetof(struct kp_fetch_aborted_txn, first_offset),
               "st_aborted is sent as kp_fetch_aborted_txn");

enum { ABORTED_MAX = 65536 }; /* entries per partition (librdkafka refuses > 1,000,000) */

/* The aborted transactions of [from, upper) into the context's encode arena (free while a
 * fetch is evaluated); *out and *n. 0 or -errno. */
static int collect_aborted(struct br_ctx *x, struct st_log *log, int64_t from, int64_t upper,
                           struct st_aborted **out, int *n)
{
    for (int cap = 1024;; cap *= 4) {
        if (cap > ABORTED_MAX)
            cap = ABORTED_MAX;
        struct kp_arena a;
        int rc = br_enc_arena(x, &a, (size_t)cap * sizeof(struct st_aborted));
        if (rc < 0)
            return rc;
        *out = (struct st_aborted *)(void *)a.base;
        rc = st_log_aborted_txns(log, from, upper, *out, cap, n);
        if (rc != -ENOBUFS || cap == ABORTED_MAX)
            return rc;
    }
}

static int fetch_eval_once(struct br_resp *r, bool force);

/* Builds the response from the current state of the logs. 1: complete (r finished),
 * 0: not enough data yet (r reset; park it), -errno. */
static int fetch_eval(struct br_resp *r, bool force)
{
    for (;;) {
        int rc = fetch_eval_once(r, force);
        if (rc != -EAGAIN)
            return rc;
        br_resp_reset(r); /* aborted lists needed more room: again with aborted_room grown */
    }
}

static int fetch_eval_once(struct br_resp *r, bool force)
{
    struct fetch_state *st = r->hstate;
    struct st_store *store = st->x->store;
    int16_t v = st->version;
    /* records at their largest: from v12 their length is a uvarint */
    struct kp_fetch_resp_partition dummy = {.n_aborted = 0, .records = {NULL, INT32_MAX}};
    size_t cap = 4 + kp_resp_hdr_size(r->api_key, v) + kp_fetch_resp_head_size(v) +
                 kp_fetch_resp_end_size(v);
    for (int32_t i = 0; i < st->n_topics; i++) {
        const struct fetch_topic *t = &st->topics[i];
        struct kp_fetch_resp_topic th = {
            .topic = {t->name, t->name_len}, .n_partitions = t->n_parts, .topic_id = t->id};
        cap += kp_fetch_resp_topic_head_size(v, &th) + kp_fetch_resp_end_size(v);
        cap += (size_t)t->n_parts * (kp_fetch_resp_partition_head_size(v, &dummy) +
                                     kp_fetch_resp_partition_tail_size(v, &dummy));
    }
    cap += (size_t)st->aborted_room * sizeof(struct kp_fetch_aborted_txn);
    int32_t aborted_used = 0;
    int rc = br_resp_reserve(r, cap);
    if (rc < 0)
        return rc;
    br_resp_begin(r);
    kp_fetch_resp_head_encode(&r->wr, v, 0, KP_ERR_NONE, 0, st->n_topics);
    br_stats_fetch_begin(st->x->stats); /* bytes per topic, counted once the response is whole */

    size_t remaining = (size_t)st->max_bytes;
    size_t total = 0;
    bool has_err = false;
    for (int32_t i = 0; i < st->n_topics; i++) {
        const struct fetch_topic *t = &st->topics[i];
        struct kp_fetch_resp_topic th = {
            .topic = {t->name, t->name_len}, .n_partitions = t->n_parts, .topic_id = t->id};
        kp_fetch_resp_topic_head_encode(&r->wr, v, &th);
        for (int32_t j = 0; j < t->n_parts; j++) {
            const struct fetch_part *fp = &t->parts[j];
            struct kp_fetch_resp_partition p = {
                .partition = fp->partition,
                .error_code = KP_ERR_NONE,
                .high_watermark = -1,
                .last_stable_offset = -1,
                .log_start_offset = -1,
                .n_aborted = 0,
                .aborted = NULL,
                .preferred_read_replica = -1,
                .records = {NULL, 0},
            };
            struct st_read rd;
            rd.n = 0;
            rd.total = 0;
            bool have_read = false;
            struct st_log *log =
                t->denied || t->name_len == 0
                    ? NULL
                    : st_log_get(store, t->name, (size_t)t->name_len, fp->partition);
            if (t->denied) {
                p.error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
                has_err = true;
            } else if (t->name_len > 0 && !fp->for_leader &&
                       (p.error_code = br_api_leader_err(st->x, t->name, (size_t)t->name_len,
                                                         fp->partition)) != KP_ERR_NONE) {
                has_err = true; /* a cluster's, led elsewhere (or unknown there) */
                if (log)        /* (a follower's copy) */
                    st_log_put(log);
            } else if (!log) {
                p.error_code = v >= 13 && t->name_len == 0 ? KP_ERR_UNKNOWN_TOPIC_ID
                                                           : KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                has_err = true;
            } else if (fp->err != KP_ERR_NONE) {
                p.error_code = fp->err; /* leader epoch, or not a replica (br_clu_repl.h) */
                has_err = true;
                st_log_put(log);
            } else {
                int64_t start = st_log_start_offset(log);
                /* a replicated log (a cluster, replication factor > 1): consumers read below
                 * the high watermark, followers up to the end; else the HW is the end */
                bool repl = st_log_replicated(log);
                int64_t lso = st_log_lso(log); /* before the end: never above it (or the HW) */
                int64_t hw = repl ? st_log_high_watermark(log) : 0;
                int64_t end = st_log_end_offset(log);
                if (!repl)
                    hw = end;
                /* a follower serving its leader's repair: committed bytes only (below its
                 * own high watermark, which never passes the leader's) */
                bool leader_reads = st->replica && !fp->for_leader;
                int64_t upto = leader_reads ? end : st->isolation == 1 ? lso : hw;
                bool bounded = st->isolation == 1 || (repl && !leader_reads);
                p.high_watermark = hw;
                p.last_stable_offset = lso;
                p.log_start_offset = start;
                if (fp->offset < start || fp->offset > end) {
                    p.error_code = KP_ERR_OFFSET_OUT_OF_RANGE;
                    has_err = true;
                } else if (fp->offset < upto && fp->max_bytes > 0 &&
                           (total == 0 || remaining > 0)) {
                    size_t limit =
                        (size_t)fp->max_bytes < remaining ? (size_t)fp->max_bytes : remaining;
                    int rrc = bounded ? st_log_read_upto(log, fp->offset, limit, upto, &rd)
                                      : st_log_read(log, fp->offset, limit, &rd);
                    if (rrc == -ERANGE) {
                        p.error_code = KP_ERR_OFFSET_OUT_OF_RANGE;
                        has_err = true;
                    } else if (rrc == -EBADMSG) {
                        /* a fenced (corrupt) batch: logged with its range when found; a
                         * consumer retrying here would repeat this line, hence debug */
                        br_debug("fetch of %.*s-%d at offset %lld: corrupt batch, fenced",
                                 t->name_len, t->name, fp->partition, (long long)fp->offset);
                        p.error_code = KP_ERR_CORRUPT_MESSAGE;
                        has_err = true;
                    } else if (rrc < 0) {
                        br_err_limited("read of %s-%d at offset %lld failed: %s",
                                       br_log_str(t->name, t->name_len).s, fp->partition,
                                       (long long)fp->offset, strerror(-rrc));
                        p.error_code = KP_ERR_KAFKA_STORAGE_ERROR;
                        has_err = true;
                    } else {
                        have_read = true;
                        if (total > 0 && rd.total > limit) {
                            /* only the response's first batch may exceed the limits */
                            st_read_release(&rd);
                            rd.n = 0;
                            rd.total = 0;
                            have_read = false;
                        }
                    }
                }
                if (have_read && st->isolation == 1) {
                    struct st_aborted *ab = NULL;
                    int n = 0;
                    int arc = collect_aborted(st->x, log, fp->offset, rd.end_offset, &ab, &n);
                    if (arc < 0) {
                        br_err_limited("aborted transactions of %s-%d from offset %lld: %s",
                                       br_log_str(t->name, t->name_len).s, fp->partition,
                                       (long long)fp->offset, strerror(-arc));
                        st_read_release(&rd);
                        rd.n = 0;
                        rd.total = 0;
                        have_read = false;
                        p.error_code = KP_ERR_KAFKA_STORAGE_ERROR;
                        has_err = true;
                    } else if (n > 0) {
                        if (aborted_used + n > st->aborted_room) {
                            /* the response has no room for them: again, with room */
                            st_read_release(&rd);
                            st_log_put(log);
                            st->aborted_room = 2 * (aborted_used + n);
                            return -EAGAIN;
                        }
                        aborted_used += n;
                        /* st_aborted and kp_fetch_aborted_txn: the same two int64s */
                        p.n_aborted = n;
                        p.aborted = (const struct kp_fetch_aborted_txn *)ab;
                    }
                }
                st_log_put(log);
            }
            p.records.len = have_read ? (int32_t)rd.total : 0;
            kp_fetch_resp_partition_head_encode(&r->wr, v, &p);
            br_stats_fetch_error(st->x->stats, p.error_code);
            if (have_read) {
                total += rd.total;
                br_stats_fetch_bytes(st->x->stats, t->name, (size_t)t->name_len, rd.total);
                remaining = rd.total < remaining ? remaining - rd.total : 0;
                rc = br_resp_add_read(r, &rd);
                if (rc < 0)
                    return rc;
            }
            kp_fetch_resp_partition_tail_encode(&r->wr, v, &p);
        }
        kp_fetch_resp_end_encode(&r->wr, v); /* the topic's tag buffer (v12+) */
    }
    kp_fetch_resp_end_encode(&r->wr, v); /* the response's */
    if (!has_err && !force && total < (size_t)(st->min_bytes > 0 ? st->min_bytes : 0)) {
        br_resp_reset(r);
        return 0;
    }
    br_stats_fetch_commit(st->x->stats);
    rc = br_resp_finish(r);
    if (rc == 0) /* consumer_byte_rate: the response's bytes */
        br_resp_throttle(r, br_quota_charge(st->x, st->peer, BR_QUOTA_FETCH, (double)r->total));
    return rc < 0 ? rc : 1;
}

/* A parked fetch: data may have arrived (re-evaluated), or its deadline passed or the broker
 * is stopping (answered with what there is). */
static void fetch_wake(struct br_resp *r, enum br_wake why, void *arg)
{
    (void)arg;
    const struct fetch_state *st = r->hstate;
    int rc = fetch_eval(r, why != BR_WAKE_EVENT);
    if (rc == 0)
        return;
    if (rc < 0) {
        br_err("peer=%s: fetch failed: %s", st->peer->name, strerror(-rc));
        br_fail(st->x, r, "fetch failed");
        return;
    }
    br_ready(st->x, r);
}

/*
 * A replica's fetch of a partition this broker does not lead: served (fp->for_leader) when it
 * comes from the partition's leader at the view's leader epoch and this broker is in the
 * view's ISR: the leader mends a fenced range of its own with an in-sync follower's bytes
 * (br_clu_fetch.h, docs/cluster.md "Repair of fenced ranges"). Kafka's brokers never send a
 * follower such a fetch; everyone else still gets NOT_LEADER_OR_FOLLOWER.
 */
static bool serves_its_leader(struct br_ctx *x, const struct fetch_topic *t,
                              const struct fetch_part *fp, int32_t replica_id)
{
    struct br_clu_part part;
    if (fp->cur_epoch < 0 ||
        br_clu_partition(x->clu, t->name, (size_t)t->name_len, fp->partition, &part) < 0 ||
        part.leader != replica_id || part.leader == x->cfg->node_id ||
        part.leader_epoch != fp->cur_epoch)
        return false;
    for (int32_t k = 0; k < part.isr.n; k++)
        if (part.isr.id[k] == x->cfg->node_id)
            return true;
    return false;
}

/*
 * In a cluster, once per request: each partition this broker leads with replication factor
 * > 1 checks current_leader_epoch (consumers and followers), and a follower's fetch_offset is
 * recorded as its log end offset, which may move the high watermark (br_clu_repl.h): the
 * requests waiting for it (acks=all produces, long-polling fetches) then look again. A
 * replica's fetch of a partition led elsewhere may be its leader's repair (serves_its_leader).
 * A follower's repair fetch of a partition led here (told apart by its client_id:
 * br_repl_is_repair_fetch) is checked (replica, epoch) and logged, not recorded: its fetch
 * offset, the start of a fenced range, is not the follower's log end.
 */
static void fetch_replication(struct br_ctx *x, struct fetch_state *st, int32_t replica_id,
                              bool repair)
{
    struct br_repl *repl = br_clu_repl(x->clu);
    bool moved = false;
    for (int32_t i = 0; i < st->n_topics; i++) {
        const struct fetch_topic *t = &st->topics[i];
        if (t->denied || t->name_len == 0)
            continue;
        for (int32_t j = 0; j < t->n_parts; j++) {
            struct fetch_part *fp = &t->parts[j];
            if (!st->replica && fp->cur_epoch < 0)
                continue;
            if (br_api_leader_err(x, t->name, (size_t)t->name_len, fp->partition) != KP_ERR_NONE) {
                if (st->replica)
                    fp->for_leader = serves_its_leader(x, t, fp, replica_id);
                continue; /* (answered by the evaluation) */
            }
            struct st_log *log = st_log_get(x->store, t->name, (size_t)t->name_len, fp->partition);
            if (!log)
                continue;
            if (st->replica && repair) {
                /* a follower's repair fetch: checked, not recorded (br_clu_repl.h) */
                fp->err = br_repl_replica_check(repl, log, replica_id, fp->cur_epoch);
                br_info("replica: %.*s-%d: broker %d's repair fetch from offset %lld (%s; not "
                        "counted as its fetch)",
                        t->name_len, t->name, fp->partition, (int)replica_id, (long long)fp->offset,
                        fp->err == KP_ERR_NONE ? "served" : "refused");
            } else if (st->replica) {
                bool m = false;
                fp->err =
                    br_repl_replica_fetch(repl, log, replica_id, fp->cur_epoch, fp->offset, &m);
                moved |= m;
            } else {
                fp->err = br_repl_check_epoch(repl, log, fp->cur_epoch);
            }
            st_log_put(log);
        }
    }
    if (moved) {
        x->ops->notify(x, BR_WAIT_SYNC); /* acks=all produces (br_api_produce.c) */
        x->ops->notify(x, BR_WAIT_APPEND);
    }
}

int br_api_fetch(struct br_req *q, struct br_resp *r)
{
    struct br_ctx *x = q->x;
    struct kp_fetch_req req;
    int rc = BR_DECODE(q, kp_fetch_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    rc = save_request(q, r, &req);
    if (rc < 0)
        return rc;
    if (x->clu)
        fetch_replication(
            x, r->hstate, req.replica_id,
            br_repl_is_repair_fetch(q->client_id.ptr, q->client_id.len, req.replica_id));
    bool force = req.max_wait_ms <= 0 || x->ops->stopping(x);
    /* parked (counted as a waiter) before looking at the logs: an append that lands after our
     * look sees the count and wakes us (br_ctx.h) */
    if (!force) {
        rc = br_park(x, r, BR_WAIT_APPEND, x->ops->now_ms(x) + req.max_wait_ms, fetch_wake, NULL);
        if (rc < 0)
            return rc;
    }
    rc = fetch_eval(r, force);
    if (rc != 0 && !force)
        br_unpark(x, r);
    return rc < 0 ? rc : BR_REPLY;
}
