/*
 * kp_msg_admin — CreateTopics (19) v0-4 and DeleteTopics (20) v0-3 (kp_msg.h).
 *
 * CreateTopics request   topics ARRAY{name STRING, num_partitions int32, replication_factor
 *                        int16, assignments ARRAY{partition_index int32, broker_ids [int32]},
 *                        configs ARRAY{name STRING, value NULLABLE_STRING}}, timeout_ms int32,
 *                        validate_only bool (v1+).
 * CreateTopics response  throttle_time_ms int32 (v2+), topics ARRAY{name STRING, error_code
 *                        int16, error_message NULLABLE_STRING (v1+)}.
 * DeleteTopics request   topic_names [STRING], timeout_ms int32.
 * DeleteTopics response  throttle_time_ms int32 (v1+), responses ARRAY{name STRING,
 *                        error_code int16}.
 * All of these versions are non-flexible (CreateTopics is flexible from v5, DeleteTopics
 * from v4). Sources: apache/kafka .../common/message/{CreateTopics,DeleteTopics}*.json
 */
#include "kp_msg.h"
#include "kp_msg_int.h"

/* ---- CreateTopics ------------------------------------------------------------------------ */

#define CT_MIN KP_API_CREATE_TOPICS_CODEC_VMIN
#define CT_MAX KP_API_CREATE_TOPICS_CODEC_VMAX

static bool ct_req_valid(const struct kp_create_topics_req *r)
{
    if (!kp__arr_ok(r->n_topics, r->topics, false))
        return false;
    for (int32_t i = 0; i < r->n_topics; i++) {
        const struct kp_create_topics_topic *t = &r->topics[i];
        if (!kp__str_ok(t->name) || !kp__arr_ok(t->n_assignments, t->assignments, false) ||
            !kp__arr_ok(t->n_configs, t->configs, false))
            return false;
        for (int32_t j = 0; j < t->n_assignments; j++)
            if (!kp__arr_ok(t->assignments[j].n_broker_ids, t->assignments[j].broker_ids, false))
                return false;
        for (int32_t j = 0; j < t->n_configs; j++)
            if (!kp__str_ok(t->configs[j].name) || !kp__str_ok(t->configs[j].value))
                return false;
    }
    return true;
}

int kp_create_topics_req_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_create_topics_req *req)
{
    if (!kp__ver_in(version, CT_MIN, CT_MAX) || !ct_req_valid(req))
        return -EINVAL;
    kp_wr_array(wr, req->n_topics);
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kp_create_topics_topic *t = &req->topics[i];
        kp_wr_str(wr, t->name);
        kp_wr_i32(wr, t->num_partitions);
        kp_wr_i16(wr, t->replication_factor);
        kp_wr_array(wr, t->n_assignments);
        for (int32_t j = 0; j < t->n_assignments; j++) {
            kp_wr_i32(wr, t->assignments[j].partition_index);
            kp__wr_i32s(wr, t->assignments[j].n_broker_ids, t->assignments[j].broker_ids);
        }
        kp_wr_array(wr, t->n_configs);
        for (int32_t j = 0; j < t->n_configs; j++) {
            kp_wr_str(wr, t->configs[j].name);
            kp_wr_nstr(wr, t->configs[j].value);
        }
    }
    kp_wr_i32(wr, req->timeout_ms);
    if (version >= 1)
        kp_wr_bool(wr, req->validate_only);
    return wr->err;
}

int kp_create_topics_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_create_topics_req *out)
{
    if (!kp__ver_in(version, CT_MIN, CT_MAX))
        return -EINVAL;
    out->n_topics = kp_rd_array(rd, KP__STR + KP__I32 + KP__I16 + 2 * KP__ARRAY, false);
    struct kp_create_topics_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].name = kp_rd_str(rd);
        t[i].num_partitions = kp_rd_i32(rd);
        t[i].replication_factor = kp_rd_i16(rd);
        t[i].n_assignments = kp_rd_array(rd, KP__I32 + KP__ARRAY, false);
        struct kp_create_topics_assignment *a =
            kp__rd_alloc(rd, arena, t[i].n_assignments, sizeof *a);
        t[i].assignments = a;
        for (int32_t j = 0; a && j < t[i].n_assignments && kp_rd_ok(rd); j++) {
            a[j].partition_index = kp_rd_i32(rd);
            a[j].broker_ids = kp__rd_i32s(rd, arena, &a[j].n_broker_ids);
        }
        t[i].n_configs = kp_rd_array(rd, 2 * KP__STR, false);
        struct kp_create_topics_config *c = kp__rd_alloc(rd, arena, t[i].n_configs, sizeof *c);
        t[i].configs = c;
        for (int32_t j = 0; c && j < t[i].n_configs && kp_rd_ok(rd); j++) {
            c[j].name = kp_rd_str(rd);
            c[j].value = kp_rd_nstr(rd);
        }
    }
    out->timeout_ms = kp_rd_i32(rd);
    out->validate_only = version >= 1 ? kp_rd_bool(rd) : false;
    return kp__rd_end(rd);
}

int kp_create_topics_resp_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_create_topics_resp *resp)
{
    if (!kp__ver_in(version, CT_MIN, CT_MAX) || !kp__arr_ok(resp->n_topics, resp->topics, false))
        return -EINVAL;
    for (int32_t i = 0; i < resp->n_topics; i++)
        if (!kp__str_ok(resp->topics[i].name) || !kp__str_ok(resp->topics[i].error_message))
            return -EINVAL;
    if (version >= 2)
        kp_wr_i32(wr, resp->throttle_time_ms);
    kp_wr_array(wr, resp->n_topics);
    for (int32_t i = 0; i < resp->n_topics; i++) {
        kp_wr_str(wr, resp->topics[i].name);
        kp_wr_i16(wr, resp->topics[i].error_code);
        if (version >= 1)
            kp_wr_nstr(wr, resp->topics[i].error_message);
    }
    return wr->err;
}

int kp_create_topics_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_create_topics_resp *out)
{
    if (!kp__ver_in(version, CT_MIN, CT_MAX))
        return -EINVAL;
    out->throttle_time_ms = version >= 2 ? kp_rd_i32(rd) : 0;
    out->n_topics = kp_rd_array(rd, KP__STR + KP__I16 + (version >= 1 ? KP__STR : 0), false);
    struct kp_create_topics_result *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].name = kp_rd_str(rd);
        t[i].error_code = kp_rd_i16(rd);
        t[i].error_message = version >= 1 ? kp_rd_nstr(rd) : KP_STR_NULL;
    }
    return kp__rd_end(rd);
}

/* ---- DeleteTopics ------------------------------------------------------------------------ */

#define DT_MIN KP_API_DELETE_TOPICS_CODEC_VMIN
#define DT_MAX KP_API_DELETE_TOPICS_CODEC_VMAX

int kp_delete_topics_req_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_delete_topics_req *req)
{
    if (!kp__ver_in(version, DT_MIN, DT_MAX) || !kp__arr_ok(req->n_topics, req->topic_names, false))
        return -EINVAL;
    for (int32_t i = 0; i < req->n_topics; i++)
        if (!kp__str_ok(req->topic_names[i]))
            return -EINVAL;
    kp_wr_array(wr, req->n_topics);
    for (int32_t i = 0; i < req->n_topics; i++)
        kp_wr_str(wr, req->topic_names[i]);
    kp_wr_i32(wr, req->timeout_ms);
    return wr->err;
}

int kp_delete_topics_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_delete_topics_req *out)
{
    if (!kp__ver_in(version, DT_MIN, DT_MAX))
        return -EINVAL;
    out->n_topics = kp_rd_array(rd, KP__STR, false);
    struct kp_str *n = kp__rd_alloc(rd, arena, out->n_topics, sizeof *n);
    out->topic_names = n;
    for (int32_t i = 0; n && i < out->n_topics; i++)
        n[i] = kp_rd_str(rd);
    out->timeout_ms = kp_rd_i32(rd);
    return kp__rd_end(rd);
}

int kp_delete_topics_resp_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_delete_topics_resp *resp)
{
    if (!kp__ver_in(version, DT_MIN, DT_MAX) || !kp__arr_ok(resp->n_results, resp->results, false))
        return -EINVAL;
    for (int32_t i = 0; i < resp->n_results; i++)
        if (!kp__str_ok(resp->results[i].name))
            return -EINVAL;
    if (version >= 1)
        kp_wr_i32(wr, resp->throttle_time_ms);
    kp_wr_array(wr, resp->n_results);
    for (int32_t i = 0; i < resp->n_results; i++) {
        kp_wr_str(wr, resp->results[i].name);
        kp_wr_i16(wr, resp->results[i].error_code);
    }
    return wr->err;
}

int kp_delete_topics_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_delete_topics_resp *out)
{
    if (!kp__ver_in(version, DT_MIN, DT_MAX))
        return -EINVAL;
    out->throttle_time_ms = version >= 1 ? kp_rd_i32(rd) : 0;
    out->n_results = kp_rd_array(rd, KP__STR + KP__I16, false);
    struct kp_delete_topics_result *r = kp__rd_alloc(rd, arena, out->n_results, sizeof *r);
    out->results = r;
    for (int32_t i = 0; r && i < out->n_results && kp_rd_ok(rd); i++) {
        r[i].name = kp_rd_str(rd);
        r[i].error_code = kp_rd_i16(rd);
    }
    return kp__rd_end(rd);
}
