/*
 * br_api_epoch — OffsetForLeaderEpoch v2-4 (KIP-101, KIP-279, KIP-320): the end offset of a
 * leader epoch, answered by the partition's leader from the log's leader-epoch cache
 * (st_log_epoch_end_offset: the largest epoch <= the one asked and the start of the next one,
 * or the log end for the latest). Followers ask it before fetching (replica_id = their broker
 * id) to find where their log diverges; consumers (replica_id -1 or -2) to validate their
 * position after a leader change.
 *
 * Errors per partition, as Kafka: no DESCRIBE on the topic TOPIC_AUTHORIZATION_FAILED; a
 * partition another broker leads NOT_LEADER_OR_FOLLOWER, one the cluster (or this node) does
 * not have UNKNOWN_TOPIC_OR_PARTITION; current_leader_epoch (when >= 0) below the leader's
 * FENCED_LEADER_EPOCH, above it UNKNOWN_LEADER_EPOCH (partitions of replication factor > 1,
 * br_clu_repl.h). With an error: leader_epoch -1, end_offset -1.
 *
 * A log whose cache is empty and that is not replicated (a single node's, whose batches all
 * carry leader epoch 0) answers as a cache holding epoch 0 from the log start: epoch 0 asked,
 * (0, log end); any other, (-1, -1).
 */
#include <errno.h>

#include "br_api.h"
#include "br_clu.h"
#include "br_clu_repl.h"
#include "br_cotopic.h"
#include "kp_msg.h"
#include "kp_msg_cluster.h"
#include "kp_msg_sec.h"

static void answer_one(struct br_ctx *x, struct kp_str topic, bool allowed,
                       const struct kp_offset_for_leader_epoch_req_partition *rq,
                       struct kp_offset_for_leader_epoch_resp_partition *o)
{
    *o = (struct kp_offset_for_leader_epoch_resp_partition){.error_code = KP_ERR_NONE,
                                                            .partition = rq->partition,
                                                            .leader_epoch = -1,
                                                            .end_offset = -1};
    size_t len = topic.len > 0 ? (size_t)topic.len : 0;
    if (!allowed) {
        o->error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
        return;
    }
    if ((o->error_code = br_api_leader_err(x, topic.ptr, len, rq->partition)) != KP_ERR_NONE)
        return;
    struct st_log *log = st_log_get(x->store, topic.ptr, len, rq->partition);
    if (!log) {
        o->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    if (x->clu)
        o->error_code = br_repl_check_epoch(br_clu_repl(x->clu), log, rq->current_leader_epoch);
    if (o->error_code == KP_ERR_NONE) {
        if (!st_log_replicated(log) && st_log_latest_epoch(log) < 0) {
            if (rq->leader_epoch == 0) {
                o->leader_epoch = 0;
                o->end_offset = st_log_end_offset(log);
            }
        } else {
            int32_t e = -1;
            int64_t end = -1;
            (void)st_log_epoch_end_offset(log, rq->leader_epoch, &e, &end);
            o->leader_epoch = e;
            o->end_offset = end;
        }
    }
    st_log_put(log);
}

int br_api_offset_for_leader_epoch(struct br_req *q, struct br_resp *r)
{
    struct kp_offset_for_leader_epoch_req req;
    int rc = BR_DECODE(q, kp_offset_for_leader_epoch_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t nparts = 0;
    for (int32_t i = 0; i < req.n_topics; i++)
        nparts += (size_t)req.topics[i].n_partitions;
    struct kp_arena a;
    rc = br_enc_arena(
        q->x, &a,
        kp_arena_need((size_t)req.n_topics + 1,
                      (size_t)req.n_topics * sizeof(struct kp_offset_for_leader_epoch_resp_topic) +
                          nparts * sizeof(struct kp_offset_for_leader_epoch_resp_partition)));
    if (rc < 0)
        return rc;
    struct kp_offset_for_leader_epoch_resp_topic *topics =
        kp_arena_alloc(&a, (size_t)req.n_topics, sizeof(*topics));
    if (!topics && req.n_topics > 0)
        return -ENOMEM;
    for (int32_t i = 0; i < req.n_topics; i++) {
        const struct kp_offset_for_leader_epoch_req_topic *t = &req.topics[i];
        struct kp_offset_for_leader_epoch_resp_partition *ps =
            kp_arena_alloc(&a, (size_t)t->n_partitions, sizeof(*ps));
        if (!ps && t->n_partitions > 0)
            return -ENOMEM;
        bool ok = br_allowed(q, KP_ACL_RESOURCE_TOPIC, t->topic.ptr,
                             (size_t)(t->topic.len > 0 ? t->topic.len : 0), KP_ACL_OP_DESCRIBE);
        for (int32_t j = 0; j < t->n_partitions; j++)
            answer_one(q->x, t->topic, ok, &t->partitions[j], &ps[j]);
        topics[i] = (struct kp_offset_for_leader_epoch_resp_topic){
            .topic = t->topic, .n_partitions = t->n_partitions, .partitions = ps};
    }
    struct kp_offset_for_leader_epoch_resp resp = {
        .throttle_time_ms = 0, .n_topics = req.n_topics, .topics = topics};
    rc = BR_ENCODE(r, kp_offset_for_leader_epoch_resp_encode, &resp);
    return rc < 0 ? rc : BR_REPLY;
}
