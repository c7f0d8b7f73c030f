/*
 * kp_msg_meta — ApiVersions (18) v0-3 and Metadata (3) v0-12 (kp_msg.h), as tables for the
 * kp_schema walker. Each table lists Kafka's fields in wire order with the versions that carry
 * them ("lo, KP__VMAX" is Kafka's "lo+"), nullable versions, tags and defaults, as in
 * apache/kafka clients/src/main/resources/common/message/{ApiVersions,Metadata}*.json.
 *
 * ApiVersions v3 is flexible but its response always goes behind response header v0
 * (kp_api_resp_hdr_version). Its response's tagged fields (supported and finalized features)
 * are not kept: decoders skip them, encoders write none.
 *
 * Metadata's request topics are a custom field: the struct keeps the names as the array of
 * strings it had before topic ids (v10+) existed, with the ids in a parallel array.
 */
#include <string.h>

#include "kp_msg.h"
#include "kp_msg_int.h"
#include "kp_schema.h"

/* ---- ApiVersions ------------------------------------------------------------------------- */

#define KP__S struct kp_api_versions_req
static const struct kp__field av_req_f[] = {
    /* Kafka's default is ""; the decoders of v0-2 have always said null (absent). */
    KP__F_STR(client_software_name, "ClientSoftwareName", 3, KP__VMAX, KP__DNULL),
    KP__F_STR(client_software_version, "ClientSoftwareVersion", 3, KP__VMAX, KP__DNULL),
};
#undef KP__S
KP__STRUCT(av_req, struct kp_api_versions_req, av_req_f);

#define KP__S struct kp_api_range
static const struct kp__field av_key_f[] = {
    KP__F_I16(api_key, "ApiKey", 0, KP__VMAX),
    KP__F_I16(min_version, "MinVersion", 0, KP__VMAX),
    KP__F_I16(max_version, "MaxVersion", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(av_key, struct kp_api_range, av_key_f);

#define KP__S struct kp_api_versions_resp
static const struct kp__field av_resp_f[] = {
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_ARRAY(api_keys, n_api_keys, "ApiKeys", struct kp_api_range, av_key, 0, KP__VMAX),
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 1, KP__VMAX),
};
#undef KP__S
KP__STRUCT(av_resp, struct kp_api_versions_resp, av_resp_f);

const struct kp__api kp__api_api_versions = {KP__INFO(API_VERSIONS), &av_req, &av_resp};

KP__CODEC(kp_api_versions_req, struct kp_api_versions_req, kp__api_api_versions, req)
KP__CODEC(kp_api_versions_resp, struct kp_api_versions_resp, kp__api_api_versions, resp)

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

/* ---- Metadata request: Topics []{TopicId uuid v10+, Name string (nullable v10+)} --------- */

bool kp_metadata_req_all_topics(const struct kp_metadata_req *req, int16_t version)
{
    return version >= 1 ? req->n_topics < 0 : req->n_topics <= 0;
}

#define MD_TOPIC_IDS 10 /* first version with topic ids (and nullable names) */

static size_t md_name_size(const struct kp__ctx *c, int32_t len)
{
    size_t n = len > 0 ? (size_t)len : 0;
    return n + (c->flex ? kp_uvarint_size(len < 0 ? 0 : (uint64_t)len + 1) : 2);
}

static size_t md_topics_min(const struct kp__ctx *c) { return c->flex ? 1 : 4; }

static int md_topics_size(const struct kp__ctx *c, const void *base, size_t *n)
{
    const struct kp_metadata_req *r = base;
    bool ids = c->v >= MD_TOPIC_IDS;
    if (!kp__arr_ok(r->n_topics, r->topics, c->v >= 1))
        return -EINVAL;
    *n += c->flex ? kp_uvarint_size(r->n_topics < 0 ? 0 : (uint64_t)r->n_topics + 1) : 4;
    for (int32_t i = 0; i < r->n_topics; i++) {
        struct kp_str name = r->topics[i];
        if (!kp__str_ok(name))
            return -EINVAL;
        *n += (ids ? 16 : 0) + md_name_size(c, ids || name.len >= 0 ? name.len : 0);
        *n += c->flex ? kp__tags_size(c) : 0;
    }
    return 0;
}

static void md_topics_write(const struct kp__ctx *c, struct kp_wr *wr, const void *base)
{
    static const struct kp_uuid zero;
    const struct kp_metadata_req *r = base;
    bool ids = c->v >= MD_TOPIC_IDS;
    c->flex ? kp_wr_carray(wr, r->n_topics) : kp_wr_array(wr, r->n_topics);
    for (int32_t i = 0; i < r->n_topics; i++) {
        if (ids)
            kp_wr_raw(wr, r->topic_ids ? &r->topic_ids[i] : &zero, sizeof zero);
        if (c->flex)
            ids ? kp_wr_cnstr(wr, r->topics[i]) : kp_wr_cstr(wr, r->topics[i]);
        else
            kp_wr_str(wr, r->topics[i]);
        if (c->flex)
            kp__wr_tags(c, wr);
    }
}

static void md_topics_read(const struct kp__ctx *c, struct kp_rd *rd, struct kp_arena *a,
                           void *base)
{
    struct kp_metadata_req *r = base;
    bool ids = c->v >= MD_TOPIC_IDS;
    size_t min = (ids ? 16 : 0) + (c->flex ? 1 + 1 : 2); /* (id), name, (tag buffer) */
    int32_t n = c->flex ? kp_rd_carray(rd, min, c->v >= 1) : kp_rd_array(rd, min, c->v >= 1);
    struct kp_str *names = kp__rd_alloc(rd, a, n, sizeof *names);
    struct kp_uuid *uuids = ids ? kp__rd_alloc(rd, a, n, sizeof *uuids) : NULL;
    r->n_topics = kp_rd_ok(rd) ? n : 0;
    r->topics = names;
    r->topic_ids = uuids;
    for (int32_t i = 0; names && i < n && kp_rd_ok(rd); i++) {
        if (uuids) {
            const uint8_t *u = kp_rd_raw(rd, sizeof *uuids);
            if (u)
                memcpy(&uuids[i], u, sizeof *uuids);
        }
        if (c->flex)
            names[i] = ids ? kp_rd_cnstr(rd) : kp_rd_cstr(rd);
        else
            names[i] = kp_rd_str(rd);
        if (c->flex)
            kp__rd_skip_tags(rd);
    }
}

static void md_topics_init(void *base)
{
    struct kp_metadata_req *r = base;
    r->n_topics = 0;
    r->topics = NULL;
    r->topic_ids = NULL;
}

static const struct kp__custom md_topics = {md_topics_min, md_topics_size, md_topics_write,
                                            md_topics_read, md_topics_init};

#define KP__S struct kp_metadata_req
static const struct kp__field md_req_f[] = {
    KP__F_CUSTOM("Topics", md_topics, 0, KP__VMAX),
    KP__F_BOOL(allow_auto_topic_creation, "AllowAutoTopicCreation", 4, KP__VMAX, KP__DEF(true)),
    KP__F_BOOL(include_cluster_authorized_operations, "IncludeClusterAuthorizedOperations", 8, 10),
    KP__F_BOOL(include_topic_authorized_operations, "IncludeTopicAuthorizedOperations", 8,
               KP__VMAX),
};
#undef KP__S
KP__STRUCT(md_req, struct kp_metadata_req, md_req_f);

/* ---- Metadata response ------------------------------------------------------------------ */

#define KP__S struct kp_metadata_broker
static const struct kp__field md_broker_f[] = {
    KP__F_I32(node_id, "NodeId", 0, KP__VMAX),
    KP__F_STR(host, "Host", 0, KP__VMAX),
    KP__F_I32(port, "Port", 0, KP__VMAX),
    KP__F_STR(rack, "Rack", 1, KP__VMAX, KP__NUL(1, KP__VMAX), KP__DNULL),
};
#undef KP__S
KP__STRUCT(md_broker, struct kp_metadata_broker, md_broker_f);

#define KP__S struct kp_metadata_partition
static const struct kp__field md_partition_f[] = {
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
    KP__F_I32(leader_id, "LeaderId", 0, KP__VMAX),
    KP__F_I32(leader_epoch, "LeaderEpoch", 7, KP__VMAX, KP__DEF(-1)),
    KP__F_I32S(replicas, n_replicas, "ReplicaNodes", 0, KP__VMAX),
    KP__F_I32S(isr, n_isr, "IsrNodes", 0, KP__VMAX),
    KP__F_I32S(offline_replicas, n_offline_replicas, "OfflineReplicas", 5, KP__VMAX),
};
#undef KP__S
KP__STRUCT(md_partition, struct kp_metadata_partition, md_partition_f);

#define KP__S struct kp_metadata_topic
static const struct kp__field md_topic_f[] = {
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_STR(name, "Name", 0, KP__VMAX, KP__NUL(12, KP__VMAX)),
    KP__F_UUID(topic_id, "TopicId", 10, KP__VMAX),
    KP__F_BOOL(is_internal, "IsInternal", 1, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_metadata_partition, md_partition,
                0, KP__VMAX),
    KP__F_I32(topic_authorized_operations, "TopicAuthorizedOperations", 8, KP__VMAX,
              KP__DEF(INT32_MIN)),
};
#undef KP__S
KP__STRUCT(md_topic, struct kp_metadata_topic, md_topic_f);

#define KP__S struct kp_metadata_resp
static const struct kp__field md_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 3, KP__VMAX),
    KP__F_ARRAY(brokers, n_brokers, "Brokers", struct kp_metadata_broker, md_broker, 0, KP__VMAX),
    KP__F_STR(cluster_id, "ClusterId", 2, KP__VMAX, KP__NUL(2, KP__VMAX), KP__DNULL),
    KP__F_I32(controller_id, "ControllerId", 1, KP__VMAX, KP__DEF(-1)),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_metadata_topic, md_topic, 0, KP__VMAX),
    KP__F_I32(cluster_authorized_operations, "ClusterAuthorizedOperations", 8, 10,
              KP__DEF(INT32_MIN)),
};
#undef KP__S
KP__STRUCT(md_resp, struct kp_metadata_resp, md_resp_f);

const struct kp__api kp__api_metadata = {KP__INFO(METADATA), &md_req, &md_resp};

KP__CODEC(kp_metadata_req, struct kp_metadata_req, kp__api_metadata, req)
KP__CODEC(kp_metadata_resp, struct kp_metadata_resp, kp__api_metadata, resp)
