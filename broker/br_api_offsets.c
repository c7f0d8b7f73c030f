/*
 * br_api_offsets — ListOffsets v1-2.
 *
 * timestamp -1 (latest) answers the high watermark (= log end; also for read_committed, as
 * there are no transactions), -2 (earliest) the log start offset. Any other timestamp answers
 * the first offset of the first batch whose maxTimestamp >= timestamp (the store's time
 * index), or offset -1 when no batch is that recent, as Kafka does. The store does not say
 * which record's timestamp matched, so the timestamp field echoes -1 for the special values
 * and the requested timestamp otherwise.
 */
#include <errno.h>
#include <string.h>

#include "br_api.h"
#include "br_log.h"
#include "kp_msg.h"

int br_api_list_offsets(struct br_req *q, struct br_resp *r)
{
    struct br_server *srv = q->srv;
    struct kp_list_offsets_req req;
    int rc = BR_DECODE(q, kp_list_offsets_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t nparts = 0;
    for (int32_t i = 0; i < req.n_topics; i++)
        nparts += (size_t)req.topics[i].n_partitions;
    struct kp_arena a;
    rc = br_enc_arena(q, &a,
                      (size_t)req.n_topics * sizeof(struct kp_list_offsets_resp_topic) +
                          nparts * sizeof(struct kp_list_offsets_resp_partition) + 64);
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
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_list_offsets_req_partition *p = &t->partitions[j];
            struct kp_list_offsets_resp_partition *o = &ps[j];
            *o = (struct kp_list_offsets_resp_partition){
                .partition_index = p->partition_index,
                .error_code = KP_ERR_NONE,
                .timestamp = -1,
                .offset = -1,
            };
            struct st_log *log =
                st_log_get(srv->store, t->name.ptr, t->name.len > 0 ? (size_t)t->name.len : 0,
                           p->partition_index);
            if (!log) {
                o->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            if (p->timestamp == KP_LIST_OFFSETS_LATEST) {
                o->offset = st_log_end_offset(log);
            } else if (p->timestamp == KP_LIST_OFFSETS_EARLIEST) {
                o->offset = st_log_start_offset(log);
            } else if (p->timestamp < 0) {
                o->error_code = KP_ERR_INVALID_REQUEST;
            } else {
                int64_t off;
                int trc = st_log_offset_for_time(log, p->timestamp, &off);
                if (trc == 0) {
                    o->offset = off;
                    o->timestamp = p->timestamp;
                } else if (trc != -ENOENT) {
                    br_err("ListOffsets %.*s-%d by time: %s", t->name.len, t->name.ptr,
                           p->partition_index, strerror(-trc));
                    o->error_code = KP_ERR_KAFKA_STORAGE_ERROR;
                }
            }
            st_log_put(log);
        }
        topics[i] = (struct kp_list_offsets_resp_topic){
            .name = t->name, .n_partitions = t->n_partitions, .partitions = ps};
    }
    struct kp_list_offsets_resp resp = {
        .throttle_time_ms = 0, .n_topics = req.n_topics, .topics = topics};
    rc = BR_ENCODE(r, kp_list_offsets_resp_encode, &resp);
    return rc < 0 ? rc : BR_REPLY;
}
