/*
 * kp_msg_offsets — ListOffsets (2) v1-2 (kp_msg.h).
 *
 * Request   replica_id int32, isolation_level int8 (v2+), topics ARRAY{name STRING,
 *           partitions ARRAY{partition_index int32, timestamp int64}}.
 * Response  throttle_time_ms int32 (v2+), topics ARRAY{name STRING, partitions
 *           ARRAY{partition_index int32, error_code int16, timestamp int64, offset int64}}.
 * v0 (max_num_offsets, old_style_offsets) is not supported; ListOffsets is flexible from v6.
 * Source: apache/kafka .../common/message/ListOffsets{Request,Response}.json; notes §5.
 */
#include "kp_msg.h"
#include "kp_msg_int.h"

#define LO_MIN KP_API_LIST_OFFSETS_CODEC_VMIN
#define LO_MAX KP_API_LIST_OFFSETS_CODEC_VMAX

int kp_list_offsets_req_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_list_offsets_req *req)
{
    if (!kp__ver_in(version, LO_MIN, LO_MAX) || !kp__arr_ok(req->n_topics, req->topics, false))
        return -EINVAL;
    for (int32_t i = 0; i < req->n_topics; i++)
        if (!kp__str_ok(req->topics[i].name) ||
            !kp__arr_ok(req->topics[i].n_partitions, req->topics[i].partitions, false))
            return -EINVAL;
    kp_wr_i32(wr, req->replica_id);
    if (version >= 2)
        kp_wr_i8(wr, req->isolation_level);
    kp_wr_array(wr, req->n_topics);
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kp_list_offsets_req_topic *t = &req->topics[i];
        kp_wr_str(wr, t->name);
        kp_wr_array(wr, t->n_partitions);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            kp_wr_i32(wr, t->partitions[j].partition_index);
            kp_wr_i64(wr, t->partitions[j].timestamp);
        }
    }
    return wr->err;
}

int kp_list_offsets_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_list_offsets_req *out)
{
    if (!kp__ver_in(version, LO_MIN, LO_MAX))
        return -EINVAL;
    out->replica_id = kp_rd_i32(rd);
    out->isolation_level = version >= 2 ? kp_rd_i8(rd) : 0;
    out->n_topics = kp_rd_array(rd, KP__STR + KP__ARRAY, false);
    struct kp_list_offsets_req_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].name = kp_rd_str(rd);
        t[i].n_partitions = kp_rd_array(rd, KP__I32 + KP__I64, false);
        struct kp_list_offsets_req_partition *p =
            kp__rd_alloc(rd, arena, t[i].n_partitions, sizeof *p);
        t[i].partitions = p;
        for (int32_t j = 0; p && j < t[i].n_partitions; j++) {
            p[j].partition_index = kp_rd_i32(rd);
            p[j].timestamp = kp_rd_i64(rd);
        }
    }
    return kp__rd_end(rd);
}

int kp_list_offsets_resp_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_list_offsets_resp *resp)
{
    if (!kp__ver_in(version, LO_MIN, LO_MAX) || !kp__arr_ok(resp->n_topics, resp->topics, false))
        return -EINVAL;
    for (int32_t i = 0; i < resp->n_topics; i++)
        if (!kp__str_ok(resp->topics[i].name) ||
            !kp__arr_ok(resp->topics[i].n_partitions, resp->topics[i].partitions, false))
            return -EINVAL;
    if (version >= 2)
        kp_wr_i32(wr, resp->throttle_time_ms);
    kp_wr_array(wr, resp->n_topics);
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const struct kp_list_offsets_resp_topic *t = &resp->topics[i];
        kp_wr_str(wr, t->name);
        kp_wr_array(wr, t->n_partitions);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_list_offsets_resp_partition *p = &t->partitions[j];
            kp_wr_i32(wr, p->partition_index);
            kp_wr_i16(wr, p->error_code);
            kp_wr_i64(wr, p->timestamp);
            kp_wr_i64(wr, p->offset);
        }
    }
    return wr->err;
}

int kp_list_offsets_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_list_offsets_resp *out)
{
    if (!kp__ver_in(version, LO_MIN, LO_MAX))
        return -EINVAL;
    out->throttle_time_ms = version >= 2 ? kp_rd_i32(rd) : 0;
    out->n_topics = kp_rd_array(rd, KP__STR + KP__ARRAY, false);
    struct kp_list_offsets_resp_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].name = kp_rd_str(rd);
        t[i].n_partitions = kp_rd_array(rd, KP__I32 + KP__I16 + 2 * KP__I64, false);
        struct kp_list_offsets_resp_partition *p =
            kp__rd_alloc(rd, arena, t[i].n_partitions, sizeof *p);
        t[i].partitions = p;
        for (int32_t j = 0; p && j < t[i].n_partitions; j++) {
            p[j].partition_index = kp_rd_i32(rd);
            p[j].error_code = kp_rd_i16(rd);
            p[j].timestamp = kp_rd_i64(rd);
            p[j].offset = kp_rd_i64(rd);
        }
    }
    return kp__rd_end(rd);
}
