/*
 * kp_msg_meta — ApiVersions (18) v0-3 and Metadata (3) v0-4 (kp_msg.h).
 *
 * ApiVersions request   v0-2: empty body.
 *                       v3:   COMPACT_STRING client_software_name,
 *                             COMPACT_STRING client_software_version, TAG_BUFFER.
 * ApiVersions response  error_code int16, api_keys ARRAY{api_key, min, max int16},
 *                       throttle_time_ms int32 (v1+). v3 uses a COMPACT_ARRAY whose entries
 *                       end with a TAG_BUFFER, and ends with a TAG_BUFFER; its tagged fields
 *                       (supported/finalized features) are skipped.
 * Metadata request      topics ARRAY{name STRING} (nullable from v1),
 *                       allow_auto_topic_creation bool (v4+).
 * Metadata response     throttle_time_ms (v3+), brokers ARRAY{node_id int32, host STRING,
 *                       port int32, rack NULLABLE_STRING (v1+)}, cluster_id NULLABLE_STRING
 *                       (v2+), controller_id int32 (v1+), topics ARRAY{error_code int16, name
 *                       STRING, is_internal bool (v1+), partitions ARRAY{error_code int16,
 *                       partition_index, leader_id int32, replicas [int32], isr [int32]}}.
 * Sources: apache/kafka clients/src/main/resources/common/message/{ApiVersions,Metadata}*.json
 */
#include "kp_msg.h"
#include "kp_msg_int.h"

/* ---- ApiVersions ------------------------------------------------------------------------- */

#define AV_MIN  KP_API_API_VERSIONS_CODEC_VMIN
#define AV_MAX  KP_API_API_VERSIONS_CODEC_VMAX
#define AV_FLEX KP_API_API_VERSIONS_FLEX

int kp_api_versions_req_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_api_versions_req *req)
{
    if (!kp__ver_in(version, AV_MIN, AV_MAX))
        return -EINVAL;
    if (version >= AV_FLEX) {
        if (!kp__str_ok(req->client_software_name) || !kp__str_ok(req->client_software_version))
            return -EINVAL;
        kp_wr_cstr(wr, req->client_software_name);
        kp_wr_cstr(wr, req->client_software_version);
        kp_wr_tags(wr);
    }
    return wr->err;
}

int kp_api_versions_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_api_versions_req *out)
{
    (void)arena;
    if (!kp__ver_in(version, AV_MIN, AV_MAX))
        return -EINVAL;
    out->client_software_name = KP_STR_NULL;
    out->client_software_version = KP_STR_NULL;
    if (version >= AV_FLEX) {
        out->client_software_name = kp_rd_cstr(rd);
        out->client_software_version = kp_rd_cstr(rd);
        kp_rd_tags(rd);
    }
    return kp__rd_end(rd);
}

int kp_api_versions_resp_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_api_versions_resp *resp)
{
    if (!kp__ver_in(version, AV_MIN, AV_MAX) ||
        !kp__arr_ok(resp->n_api_keys, resp->api_keys, false))
        return -EINVAL;
    bool flex = version >= AV_FLEX;
    kp_wr_i16(wr, resp->error_code);
    if (flex)
        kp_wr_carray(wr, resp->n_api_keys);
    else
        kp_wr_array(wr, resp->n_api_keys);
    for (int32_t i = 0; i < resp->n_api_keys; i++) {
        const struct kp_api_range *k = &resp->api_keys[i];
        kp_wr_i16(wr, k->api_key);
        kp_wr_i16(wr, k->min_version);
        kp_wr_i16(wr, k->max_version);
        if (flex)
            kp_wr_tags(wr);
    }
    if (version >= 1)
        kp_wr_i32(wr, resp->throttle_time_ms);
    if (flex)
        kp_wr_tags(wr);
    return wr->err;
}

int kp_api_versions_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_api_versions_resp *out)
{
    if (!kp__ver_in(version, AV_MIN, AV_MAX))
        return -EINVAL;
    bool flex = version >= AV_FLEX;
    out->error_code = kp_rd_i16(rd);
    out->n_api_keys =
        flex ? kp_rd_carray(rd, 3 * KP__I16 + 1, false) : kp_rd_array(rd, 3 * KP__I16, false);
    struct kp_api_range *keys = kp__rd_alloc(rd, arena, out->n_api_keys, sizeof *keys);
    out->api_keys = keys;
    for (int32_t i = 0; keys && i < out->n_api_keys && kp_rd_ok(rd); i++) {
        keys[i].api_key = kp_rd_i16(rd);
        keys[i].min_version = kp_rd_i16(rd);
        keys[i].max_version = kp_rd_i16(rd);
        if (flex)
            kp_rd_tags(rd);
    }
    out->throttle_time_ms = version >= 1 ? kp_rd_i32(rd) : 0;
    if (flex)
        kp_rd_tags(rd);
    return kp__rd_end(rd);
}

int kp_api_versions_fallback_encode(struct kp_wr *wr)
{
    const struct kp_api_range *self = kp_api_find(KP_API_API_VERSIONS);
    struct kp_api_versions_resp r = {
        .error_code = KP_ERR_UNSUPPORTED_VERSION,
        .n_api_keys = 1,
        .api_keys = self,
    };
    return kp_api_versions_resp_encode(wr, 0, &r);
}

/* ---- Metadata ---------------------------------------------------------------------------- */

#define MD_MIN KP_API_METADATA_CODEC_VMIN
#define MD_MAX KP_API_METADATA_CODEC_VMAX

bool kp_metadata_req_all_topics(const struct kp_metadata_req *req, int16_t version)
{
    return version >= 1 ? req->n_topics < 0 : req->n_topics <= 0;
}

int kp_metadata_req_encode(struct kp_wr *wr, int16_t version, const struct kp_metadata_req *req)
{
    if (!kp__ver_in(version, MD_MIN, MD_MAX) ||
        !kp__arr_ok(req->n_topics, req->topics, version >= 1))
        return -EINVAL;
    for (int32_t i = 0; i < req->n_topics; i++)
        if (!kp__str_ok(req->topics[i]))
            return -EINVAL;
    kp_wr_array(wr, req->n_topics);
    for (int32_t i = 0; i < req->n_topics; i++)
        kp_wr_str(wr, req->topics[i]);
    if (version >= 4)
        kp_wr_bool(wr, req->allow_auto_topic_creation);
    return wr->err;
}

int kp_metadata_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                           struct kp_metadata_req *out)
{
    if (!kp__ver_in(version, MD_MIN, MD_MAX))
        return -EINVAL;
    out->n_topics = kp_rd_array(rd, KP__STR, version >= 1);
    struct kp_str *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics; i++)
        t[i] = kp_rd_str(rd);
    out->allow_auto_topic_creation = version >= 4 ? kp_rd_bool(rd) : true;
    return kp__rd_end(rd);
}

static bool md_resp_valid(const struct kp_metadata_resp *r)
{
    if (!kp__arr_ok(r->n_brokers, r->brokers, false) ||
        !kp__arr_ok(r->n_topics, r->topics, false) || !kp__str_ok(r->cluster_id))
        return false;
    for (int32_t i = 0; i < r->n_brokers; i++)
        if (!kp__str_ok(r->brokers[i].host) || !kp__str_ok(r->brokers[i].rack))
            return false;
    for (int32_t i = 0; i < r->n_topics; i++) {
        const struct kp_metadata_topic *t = &r->topics[i];
        if (!kp__str_ok(t->name) || !kp__arr_ok(t->n_partitions, t->partitions, false))
            return false;
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_metadata_partition *p = &t->partitions[j];
            if (!kp__arr_ok(p->n_replicas, p->replicas, false) ||
                !kp__arr_ok(p->n_isr, p->isr, false))
                return false;
        }
    }
    return true;
}

int kp_metadata_resp_encode(struct kp_wr *wr, int16_t version, const struct kp_metadata_resp *resp)
{
    if (!kp__ver_in(version, MD_MIN, MD_MAX) || !md_resp_valid(resp))
        return -EINVAL;
    if (version >= 3)
        kp_wr_i32(wr, resp->throttle_time_ms);
    kp_wr_array(wr, resp->n_brokers);
    for (int32_t i = 0; i < resp->n_brokers; i++) {
        const struct kp_metadata_broker *b = &resp->brokers[i];
        kp_wr_i32(wr, b->node_id);
        kp_wr_str(wr, b->host);
        kp_wr_i32(wr, b->port);
        if (version >= 1)
            kp_wr_nstr(wr, b->rack);
    }
    if (version >= 2)
        kp_wr_nstr(wr, resp->cluster_id);
    if (version >= 1)
        kp_wr_i32(wr, resp->controller_id);
    kp_wr_array(wr, resp->n_topics);
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const struct kp_metadata_topic *t = &resp->topics[i];
        kp_wr_i16(wr, t->error_code);
        kp_wr_str(wr, t->name);
        if (version >= 1)
            kp_wr_bool(wr, t->is_internal);
        kp_wr_array(wr, t->n_partitions);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_metadata_partition *p = &t->partitions[j];
            kp_wr_i16(wr, p->error_code);
            kp_wr_i32(wr, p->partition_index);
            kp_wr_i32(wr, p->leader_id);
            kp__wr_i32s(wr, p->n_replicas, p->replicas);
            kp__wr_i32s(wr, p->n_isr, p->isr);
        }
    }
    return wr->err;
}

int kp_metadata_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                            struct kp_metadata_resp *out)
{
    if (!kp__ver_in(version, MD_MIN, MD_MAX))
        return -EINVAL;
    out->throttle_time_ms = version >= 3 ? kp_rd_i32(rd) : 0;
    size_t broker_min = KP__I32 + KP__STR + KP__I32 + (version >= 1 ? KP__STR : 0);
    out->n_brokers = kp_rd_array(rd, broker_min, false);
    struct kp_metadata_broker *b = kp__rd_alloc(rd, arena, out->n_brokers, sizeof *b);
    out->brokers = b;
    for (int32_t i = 0; b && i < out->n_brokers && kp_rd_ok(rd); i++) {
        b[i].node_id = kp_rd_i32(rd);
        b[i].host = kp_rd_str(rd);
        b[i].port = kp_rd_i32(rd);
        b[i].rack = version >= 1 ? kp_rd_nstr(rd) : KP_STR_NULL;
    }
    out->cluster_id = version >= 2 ? kp_rd_nstr(rd) : KP_STR_NULL;
    out->controller_id = version >= 1 ? kp_rd_i32(rd) : -1;
    size_t topic_min = KP__I16 + KP__STR + (version >= 1 ? KP__I8 : 0) + KP__ARRAY;
    out->n_topics = kp_rd_array(rd, topic_min, false);
    struct kp_metadata_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].error_code = kp_rd_i16(rd);
        t[i].name = kp_rd_str(rd);
        t[i].is_internal = version >= 1 ? kp_rd_bool(rd) : false;
        t[i].n_partitions = kp_rd_array(rd, KP__I16 + 2 * KP__I32 + 2 * KP__ARRAY, false);
        struct kp_metadata_partition *p = kp__rd_alloc(rd, arena, t[i].n_partitions, sizeof *p);
        t[i].partitions = p;
        for (int32_t j = 0; p && j < t[i].n_partitions && kp_rd_ok(rd); j++) {
            p[j].error_code = kp_rd_i16(rd);
            p[j].partition_index = kp_rd_i32(rd);
            p[j].leader_id = kp_rd_i32(rd);
            p[j].replicas = kp__rd_i32s(rd, arena, &p[j].n_replicas);
            p[j].isr = kp__rd_i32s(rd, arena, &p[j].n_isr);
        }
    }
    return kp__rd_end(rd);
}
