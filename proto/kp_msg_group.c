/*
 * kp_msg_group — the consumer-group APIs (kp_msg.h): FindCoordinator (10) v0-2, JoinGroup (11)
 * v0-5, SyncGroup (14) v0-3, Heartbeat (12) v0-3, LeaveGroup (13) v0-1, OffsetCommit (8)
 * v0-5 and OffsetFetch (9) v1-4. None of these versions is flexible.
 *
 * FindCoordinator req   key STRING, key_type int8 (v1+).
 * FindCoordinator resp  throttle_time_ms int32 (v1+), error_code int16, error_message
 *                       NULLABLE_STRING (v1+), node_id int32, host STRING, port int32.
 * JoinGroup req         group_id STRING, session_timeout_ms int32, rebalance_timeout_ms int32
 *                       (v1+), member_id STRING, group_instance_id NULLABLE_STRING (v5+),
 *                       protocol_type STRING, protocols ARRAY{name STRING, metadata BYTES}.
 * JoinGroup resp        throttle_time_ms int32 (v2+), error_code int16, generation_id int32,
 *                       protocol_name STRING, leader STRING, member_id STRING,
 *                       members ARRAY{member_id STRING, group_instance_id NULLABLE_STRING
 *                       (v5+), metadata BYTES}.
 * SyncGroup req         group_id STRING, generation_id int32, member_id STRING,
 *                       group_instance_id NULLABLE_STRING (v3+), assignments ARRAY{member_id
 *                       STRING, assignment BYTES}.
 * SyncGroup resp        throttle_time_ms int32 (v1+), error_code int16, assignment BYTES.
 * Heartbeat req         group_id STRING, generation_id int32, member_id STRING,
 *                       group_instance_id NULLABLE_STRING (v3+).
 * Heartbeat resp        throttle_time_ms int32 (v1+), error_code int16.
 * LeaveGroup req        group_id STRING, member_id STRING (v0-2; v3 switches to members[]).
 * LeaveGroup resp       throttle_time_ms int32 (v1+), error_code int16.
 * OffsetCommit req      group_id STRING, generation_id int32 (v1+), member_id STRING (v1+),
 *                       retention_time_ms int64 (v2-4 only), topics ARRAY{name STRING,
 *                       partitions ARRAY{partition_index int32, committed_offset int64,
 *                       commit_timestamp int64 (v1 only), committed_metadata NULLABLE_STRING}}.
 * OffsetCommit resp     throttle_time_ms int32 (v3+), topics ARRAY{name STRING, partitions
 *                       ARRAY{partition_index int32, error_code int16}}.
 * OffsetFetch req       group_id STRING, topics ARRAY{name STRING, partition_indexes [int32]}
 *                       (nullable from v2: null = all committed partitions).
 * OffsetFetch resp      throttle_time_ms int32 (v3+), topics ARRAY{name STRING, partitions
 *                       ARRAY{partition_index int32, committed_offset int64, metadata
 *                       NULLABLE_STRING, error_code int16}}, error_code int16 (v2+, last).
 * Sources: apache/kafka .../common/message/<Name>{Request,Response}.json; notes §5.
 */
#include "kp_msg.h"
#include "kp_msg_int.h"

/* ---- FindCoordinator -------------------------------------------------------------------- */

#define FC_MIN KP_API_FIND_COORDINATOR_CODEC_VMIN
#define FC_MAX KP_API_FIND_COORDINATOR_CODEC_VMAX

int kp_find_coordinator_req_encode(struct kp_wr *wr, int16_t version,
                                   const struct kp_find_coordinator_req *req)
{
    if (!kp__ver_in(version, FC_MIN, FC_MAX) || !kp__str_ok(req->key))
        return -EINVAL;
    kp_wr_str(wr, req->key);
    if (version >= 1)
        kp_wr_i8(wr, req->key_type);
    return wr->err;
}

int kp_find_coordinator_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                   struct kp_find_coordinator_req *out)
{
    (void)arena;
    if (!kp__ver_in(version, FC_MIN, FC_MAX))
        return -EINVAL;
    out->key = kp_rd_str(rd);
    out->key_type = version >= 1 ? kp_rd_i8(rd) : 0;
    return kp__rd_end(rd);
}

int kp_find_coordinator_resp_encode(struct kp_wr *wr, int16_t version,
                                    const struct kp_find_coordinator_resp *resp)
{
    if (!kp__ver_in(version, FC_MIN, FC_MAX) || !kp__str_ok(resp->error_message) ||
        !kp__str_ok(resp->host))
        return -EINVAL;
    if (version >= 1)
        kp_wr_i32(wr, resp->throttle_time_ms);
    kp_wr_i16(wr, resp->error_code);
    if (version >= 1)
        kp_wr_nstr(wr, resp->error_message);
    kp_wr_i32(wr, resp->node_id);
    kp_wr_str(wr, resp->host);
    kp_wr_i32(wr, resp->port);
    return wr->err;
}

int kp_find_coordinator_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                    struct kp_find_coordinator_resp *out)
{
    (void)arena;
    if (!kp__ver_in(version, FC_MIN, FC_MAX))
        return -EINVAL;
    out->throttle_time_ms = version >= 1 ? kp_rd_i32(rd) : 0;
    out->error_code = kp_rd_i16(rd);
    out->error_message = version >= 1 ? kp_rd_nstr(rd) : KP_STR_NULL;
    out->node_id = kp_rd_i32(rd);
    out->host = kp_rd_str(rd);
    out->port = kp_rd_i32(rd);
    return kp__rd_end(rd);
}

/* ---- JoinGroup -------------------------------------------------------------------------- */

#define JG_MIN KP_API_JOIN_GROUP_CODEC_VMIN
#define JG_MAX KP_API_JOIN_GROUP_CODEC_VMAX

int kp_join_group_req_encode(struct kp_wr *wr, int16_t version, const struct kp_join_group_req *req)
{
    if (!kp__ver_in(version, JG_MIN, JG_MAX) || !kp__str_ok(req->group_id) ||
        !kp__str_ok(req->member_id) || !kp__str_ok(req->group_instance_id) ||
        !kp__str_ok(req->protocol_type) || !kp__arr_ok(req->n_protocols, req->protocols, false))
        return -EINVAL;
    for (int32_t i = 0; i < req->n_protocols; i++)
        if (!kp__str_ok(req->protocols[i].name) || !kp__bytes_ok(req->protocols[i].metadata))
            return -EINVAL;
    kp_wr_str(wr, req->group_id);
    kp_wr_i32(wr, req->session_timeout_ms);
    if (version >= 1)
        kp_wr_i32(wr, req->rebalance_timeout_ms);
    kp_wr_str(wr, req->member_id);
    if (version >= 5)
        kp_wr_nstr(wr, req->group_instance_id);
    kp_wr_str(wr, req->protocol_type);
    kp_wr_array(wr, req->n_protocols);
    for (int32_t i = 0; i < req->n_protocols; i++) {
        kp_wr_str(wr, req->protocols[i].name);
        kp_wr_bytes(wr, req->protocols[i].metadata);
    }
    return wr->err;
}

int kp_join_group_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                             struct kp_join_group_req *out)
{
    if (!kp__ver_in(version, JG_MIN, JG_MAX))
        return -EINVAL;
    out->group_id = kp_rd_str(rd);
    out->session_timeout_ms = kp_rd_i32(rd);
    out->rebalance_timeout_ms = version >= 1 ? kp_rd_i32(rd) : -1;
    out->member_id = kp_rd_str(rd);
    out->group_instance_id = version >= 5 ? kp_rd_nstr(rd) : KP_STR_NULL;
    out->protocol_type = kp_rd_str(rd);
    out->n_protocols = kp_rd_array(rd, KP__STR + KP__BYTES, false);
    struct kp_join_group_protocol *p = kp__rd_alloc(rd, arena, out->n_protocols, sizeof *p);
    out->protocols = p;
    for (int32_t i = 0; p && i < out->n_protocols; i++) {
        p[i].name = kp_rd_str(rd);
        p[i].metadata = kp_rd_bytes(rd);
    }
    return kp__rd_end(rd);
}

int kp_join_group_resp_encode(struct kp_wr *wr, int16_t version,
                              const struct kp_join_group_resp *resp)
{
    if (!kp__ver_in(version, JG_MIN, JG_MAX) || !kp__str_ok(resp->protocol_name) ||
        !kp__str_ok(resp->leader) || !kp__str_ok(resp->member_id) ||
        !kp__arr_ok(resp->n_members, resp->members, false))
        return -EINVAL;
    for (int32_t i = 0; i < resp->n_members; i++) {
        const struct kp_join_group_member *m = &resp->members[i];
        if (!kp__str_ok(m->member_id) || !kp__str_ok(m->group_instance_id) ||
            !kp__bytes_ok(m->metadata))
            return -EINVAL;
    }
    if (version >= 2)
        kp_wr_i32(wr, resp->throttle_time_ms);
    kp_wr_i16(wr, resp->error_code);
    kp_wr_i32(wr, resp->generation_id);
    kp_wr_str(wr, resp->protocol_name);
    kp_wr_str(wr, resp->leader);
    kp_wr_str(wr, resp->member_id);
    kp_wr_array(wr, resp->n_members);
    for (int32_t i = 0; i < resp->n_members; i++) {
        const struct kp_join_group_member *m = &resp->members[i];
        kp_wr_str(wr, m->member_id);
        if (version >= 5)
            kp_wr_nstr(wr, m->group_instance_id);
        kp_wr_bytes(wr, m->metadata);
    }
    return wr->err;
}

int kp_join_group_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                              struct kp_join_group_resp *out)
{
    if (!kp__ver_in(version, JG_MIN, JG_MAX))
        return -EINVAL;
    out->throttle_time_ms = version >= 2 ? kp_rd_i32(rd) : 0;
    out->error_code = kp_rd_i16(rd);
    out->generation_id = kp_rd_i32(rd);
    out->protocol_name = kp_rd_str(rd);
    out->leader = kp_rd_str(rd);
    out->member_id = kp_rd_str(rd);
    out->n_members = kp_rd_array(rd, KP__STR + (version >= 5 ? KP__STR : 0) + KP__BYTES, false);
    struct kp_join_group_member *m = kp__rd_alloc(rd, arena, out->n_members, sizeof *m);
    out->members = m;
    for (int32_t i = 0; m && i < out->n_members; i++) {
        m[i].member_id = kp_rd_str(rd);
        m[i].group_instance_id = version >= 5 ? kp_rd_nstr(rd) : KP_STR_NULL;
        m[i].metadata = kp_rd_bytes(rd);
    }
    return kp__rd_end(rd);
}

/* ---- SyncGroup -------------------------------------------------------------------------- */

#define SG_MIN KP_API_SYNC_GROUP_CODEC_VMIN
#define SG_MAX KP_API_SYNC_GROUP_CODEC_VMAX

int kp_sync_group_req_encode(struct kp_wr *wr, int16_t version, const struct kp_sync_group_req *req)
{
    if (!kp__ver_in(version, SG_MIN, SG_MAX) || !kp__str_ok(req->group_id) ||
        !kp__str_ok(req->member_id) || !kp__str_ok(req->group_instance_id) ||
        !kp__arr_ok(req->n_assignments, req->assignments, false))
        return -EINVAL;
    for (int32_t i = 0; i < req->n_assignments; i++)
        if (!kp__str_ok(req->assignments[i].member_id) ||
            !kp__bytes_ok(req->assignments[i].assignment))
            return -EINVAL;
    kp_wr_str(wr, req->group_id);
    kp_wr_i32(wr, req->generation_id);
    kp_wr_str(wr, req->member_id);
    if (version >= 3)
        kp_wr_nstr(wr, req->group_instance_id);
    kp_wr_array(wr, req->n_assignments);
    for (int32_t i = 0; i < req->n_assignments; i++) {
        kp_wr_str(wr, req->assignments[i].member_id);
        kp_wr_bytes(wr, req->assignments[i].assignment);
    }
    return wr->err;
}

int kp_sync_group_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                             struct kp_sync_group_req *out)
{
    if (!kp__ver_in(version, SG_MIN, SG_MAX))
        return -EINVAL;
    out->group_id = kp_rd_str(rd);
    out->generation_id = kp_rd_i32(rd);
    out->member_id = kp_rd_str(rd);
    out->group_instance_id = version >= 3 ? kp_rd_nstr(rd) : KP_STR_NULL;
    out->n_assignments = kp_rd_array(rd, KP__STR + KP__BYTES, false);
    struct kp_sync_group_assignment *a = kp__rd_alloc(rd, arena, out->n_assignments, sizeof *a);
    out->assignments = a;
    for (int32_t i = 0; a && i < out->n_assignments; i++) {
        a[i].member_id = kp_rd_str(rd);
        a[i].assignment = kp_rd_bytes(rd);
    }
    return kp__rd_end(rd);
}

int kp_sync_group_resp_encode(struct kp_wr *wr, int16_t version,
                              const struct kp_sync_group_resp *resp)
{
    if (!kp__ver_in(version, SG_MIN, SG_MAX) || !kp__bytes_ok(resp->assignment))
        return -EINVAL;
    if (version >= 1)
        kp_wr_i32(wr, resp->throttle_time_ms);
    kp_wr_i16(wr, resp->error_code);
    kp_wr_bytes(wr, resp->assignment);
    return wr->err;
}

int kp_sync_group_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                              struct kp_sync_group_resp *out)
{
    (void)arena;
    if (!kp__ver_in(version, SG_MIN, SG_MAX))
        return -EINVAL;
    out->throttle_time_ms = version >= 1 ? kp_rd_i32(rd) : 0;
    out->error_code = kp_rd_i16(rd);
    out->assignment = kp_rd_bytes(rd);
    return kp__rd_end(rd);
}

/* ---- Heartbeat -------------------------------------------------------------------------- */

#define HB_MIN KP_API_HEARTBEAT_CODEC_VMIN
#define HB_MAX KP_API_HEARTBEAT_CODEC_VMAX

int kp_heartbeat_req_encode(struct kp_wr *wr, int16_t version, const struct kp_heartbeat_req *req)
{
    if (!kp__ver_in(version, HB_MIN, HB_MAX) || !kp__str_ok(req->group_id) ||
        !kp__str_ok(req->member_id) || !kp__str_ok(req->group_instance_id))
        return -EINVAL;
    kp_wr_str(wr, req->group_id);
    kp_wr_i32(wr, req->generation_id);
    kp_wr_str(wr, req->member_id);
    if (version >= 3)
        kp_wr_nstr(wr, req->group_instance_id);
    return wr->err;
}

int kp_heartbeat_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                            struct kp_heartbeat_req *out)
{
    (void)arena;
    if (!kp__ver_in(version, HB_MIN, HB_MAX))
        return -EINVAL;
    out->group_id = kp_rd_str(rd);
    out->generation_id = kp_rd_i32(rd);
    out->member_id = kp_rd_str(rd);
    out->group_instance_id = version >= 3 ? kp_rd_nstr(rd) : KP_STR_NULL;
    return kp__rd_end(rd);
}

/* Heartbeat and LeaveGroup responses: throttle_time_ms (v1+), error_code. */
static int throttle_error_encode(struct kp_wr *wr, int16_t version, int32_t throttle_time_ms,
                                 int16_t error_code)
{
    if (version >= 1)
        kp_wr_i32(wr, throttle_time_ms);
    kp_wr_i16(wr, error_code);
    return wr->err;
}

static int throttle_error_decode(struct kp_rd *rd, int16_t version, int32_t *throttle_time_ms,
                                 int16_t *error_code)
{
    *throttle_time_ms = version >= 1 ? kp_rd_i32(rd) : 0;
    *error_code = kp_rd_i16(rd);
    return kp__rd_end(rd);
}

int kp_heartbeat_resp_encode(struct kp_wr *wr, int16_t version,
                             const struct kp_heartbeat_resp *resp)
{
    if (!kp__ver_in(version, HB_MIN, HB_MAX))
        return -EINVAL;
    return throttle_error_encode(wr, version, resp->throttle_time_ms, resp->error_code);
}

int kp_heartbeat_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                             struct kp_heartbeat_resp *out)
{
    (void)arena;
    if (!kp__ver_in(version, HB_MIN, HB_MAX))
        return -EINVAL;
    return throttle_error_decode(rd, version, &out->throttle_time_ms, &out->error_code);
}

/* ---- LeaveGroup ------------------------------------------------------------------------- */

#define LG_MIN KP_API_LEAVE_GROUP_CODEC_VMIN
#define LG_MAX KP_API_LEAVE_GROUP_CODEC_VMAX

int kp_leave_group_req_encode(struct kp_wr *wr, int16_t version,
                              const struct kp_leave_group_req *req)
{
    if (!kp__ver_in(version, LG_MIN, LG_MAX) || !kp__str_ok(req->group_id) ||
        !kp__str_ok(req->member_id))
        return -EINVAL;
    kp_wr_str(wr, req->group_id);
    kp_wr_str(wr, req->member_id);
    return wr->err;
}

int kp_leave_group_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                              struct kp_leave_group_req *out)
{
    (void)arena;
    if (!kp__ver_in(version, LG_MIN, LG_MAX))
        return -EINVAL;
    out->group_id = kp_rd_str(rd);
    out->member_id = kp_rd_str(rd);
    return kp__rd_end(rd);
}

int kp_leave_group_resp_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_leave_group_resp *resp)
{
    if (!kp__ver_in(version, LG_MIN, LG_MAX))
        return -EINVAL;
    return throttle_error_encode(wr, version, resp->throttle_time_ms, resp->error_code);
}

int kp_leave_group_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_leave_group_resp *out)
{
    (void)arena;
    if (!kp__ver_in(version, LG_MIN, LG_MAX))
        return -EINVAL;
    return throttle_error_decode(rd, version, &out->throttle_time_ms, &out->error_code);
}

/* ---- OffsetCommit ----------------------------------------------------------------------- */

#define OC_MIN KP_API_OFFSET_COMMIT_CODEC_VMIN
#define OC_MAX KP_API_OFFSET_COMMIT_CODEC_VMAX

int kp_offset_commit_req_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_offset_commit_req *req)
{
    if (!kp__ver_in(version, OC_MIN, OC_MAX) || !kp__str_ok(req->group_id) ||
        !kp__str_ok(req->member_id) || !kp__arr_ok(req->n_topics, req->topics, false))
        return -EINVAL;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kp_offset_commit_req_topic *t = &req->topics[i];
        if (!kp__str_ok(t->name) || !kp__arr_ok(t->n_partitions, t->partitions, false))
            return -EINVAL;
        for (int32_t j = 0; j < t->n_partitions; j++)
            if (!kp__str_ok(t->partitions[j].committed_metadata))
                return -EINVAL;
    }
    kp_wr_str(wr, req->group_id);
    if (version >= 1) {
        kp_wr_i32(wr, req->generation_id);
        kp_wr_str(wr, req->member_id);
    }
    if (version >= 2 && version <= 4)
        kp_wr_i64(wr, req->retention_time_ms);
    kp_wr_array(wr, req->n_topics);
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kp_offset_commit_req_topic *t = &req->topics[i];
        kp_wr_str(wr, t->name);
        kp_wr_array(wr, t->n_partitions);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_offset_commit_req_partition *p = &t->partitions[j];
            kp_wr_i32(wr, p->partition_index);
            kp_wr_i64(wr, p->committed_offset);
            if (version == 1)
                kp_wr_i64(wr, p->commit_timestamp);
            kp_wr_nstr(wr, p->committed_metadata);
        }
    }
    return wr->err;
}

int kp_offset_commit_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_offset_commit_req *out)
{
    if (!kp__ver_in(version, OC_MIN, OC_MAX))
        return -EINVAL;
    out->group_id = kp_rd_str(rd);
    out->generation_id = version >= 1 ? kp_rd_i32(rd) : -1;
    out->member_id = version >= 1 ? kp_rd_str(rd) : (struct kp_str){"", 0};
    out->retention_time_ms = version >= 2 && version <= 4 ? kp_rd_i64(rd) : -1;
    out->n_topics = kp_rd_array(rd, KP__STR + KP__ARRAY, false);
    struct kp_offset_commit_req_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    size_t min_part = KP__I32 + KP__I64 + (version == 1 ? KP__I64 : 0) + KP__STR;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].name = kp_rd_str(rd);
        t[i].n_partitions = kp_rd_array(rd, min_part, false);
        struct kp_offset_commit_req_partition *p =
            kp__rd_alloc(rd, arena, t[i].n_partitions, sizeof *p);
        t[i].partitions = p;
        for (int32_t j = 0; p && j < t[i].n_partitions; j++) {
            p[j].partition_index = kp_rd_i32(rd);
            p[j].committed_offset = kp_rd_i64(rd);
            p[j].commit_timestamp = version == 1 ? kp_rd_i64(rd) : -1;
            p[j].committed_metadata = kp_rd_nstr(rd);
        }
    }
    return kp__rd_end(rd);
}

int kp_offset_commit_resp_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_offset_commit_resp *resp)
{
    if (!kp__ver_in(version, OC_MIN, OC_MAX) || !kp__arr_ok(resp->n_topics, resp->topics, false))
        return -EINVAL;
    for (int32_t i = 0; i < resp->n_topics; i++)
        if (!kp__str_ok(resp->topics[i].name) ||
            !kp__arr_ok(resp->topics[i].n_partitions, resp->topics[i].partitions, false))
            return -EINVAL;
    if (version >= 3)
        kp_wr_i32(wr, resp->throttle_time_ms);
    kp_wr_array(wr, resp->n_topics);
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const struct kp_offset_commit_resp_topic *t = &resp->topics[i];
        kp_wr_str(wr, t->name);
        kp_wr_array(wr, t->n_partitions);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            kp_wr_i32(wr, t->partitions[j].partition_index);
            kp_wr_i16(wr, t->partitions[j].error_code);
        }
    }
    return wr->err;
}

int kp_offset_commit_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_offset_commit_resp *out)
{
    if (!kp__ver_in(version, OC_MIN, OC_MAX))
        return -EINVAL;
    out->throttle_time_ms = version >= 3 ? kp_rd_i32(rd) : 0;
    out->n_topics = kp_rd_array(rd, KP__STR + KP__ARRAY, false);
    struct kp_offset_commit_resp_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].name = kp_rd_str(rd);
        t[i].n_partitions = kp_rd_array(rd, KP__I32 + KP__I16, false);
        struct kp_offset_commit_resp_partition *p =
            kp__rd_alloc(rd, arena, t[i].n_partitions, sizeof *p);
        t[i].partitions = p;
        for (int32_t j = 0; p && j < t[i].n_partitions; j++) {
            p[j].partition_index = kp_rd_i32(rd);
            p[j].error_code = kp_rd_i16(rd);
        }
    }
    return kp__rd_end(rd);
}

/* ---- OffsetFetch ------------------------------------------------------------------------ */

#define OF_MIN KP_API_OFFSET_FETCH_CODEC_VMIN
#define OF_MAX KP_API_OFFSET_FETCH_CODEC_VMAX

int kp_offset_fetch_req_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_offset_fetch_req *req)
{
    if (!kp__ver_in(version, OF_MIN, OF_MAX) || !kp__str_ok(req->group_id) ||
        !kp__arr_ok(req->n_topics, req->topics, version >= 2))
        return -EINVAL;
    for (int32_t i = 0; i < req->n_topics; i++)
        if (!kp__str_ok(req->topics[i].name) ||
            !kp__arr_ok(req->topics[i].n_partition_indexes, req->topics[i].partition_indexes,
                        false))
            return -EINVAL;
    kp_wr_str(wr, req->group_id);
    kp_wr_array(wr, req->n_topics);
    for (int32_t i = 0; i < req->n_topics; i++) {
        kp_wr_str(wr, req->topics[i].name);
        kp__wr_i32s(wr, req->topics[i].n_partition_indexes, req->topics[i].partition_indexes);
    }
    return wr->err;
}

int kp_offset_fetch_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_offset_fetch_req *out)
{
    if (!kp__ver_in(version, OF_MIN, OF_MAX))
        return -EINVAL;
    out->group_id = kp_rd_str(rd);
    out->n_topics = kp_rd_array(rd, KP__STR + KP__ARRAY, version >= 2);
    struct kp_offset_fetch_req_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].name = kp_rd_str(rd);
        t[i].partition_indexes = kp__rd_i32s(rd, arena, &t[i].n_partition_indexes);
    }
    return kp__rd_end(rd);
}

int kp_offset_fetch_resp_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_offset_fetch_resp *resp)
{
    if (!kp__ver_in(version, OF_MIN, OF_MAX) || !kp__arr_ok(resp->n_topics, resp->topics, false))
        return -EINVAL;
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const struct kp_offset_fetch_resp_topic *t = &resp->topics[i];
        if (!kp__str_ok(t->name) || !kp__arr_ok(t->n_partitions, t->partitions, false))
            return -EINVAL;
        for (int32_t j = 0; j < t->n_partitions; j++)
            if (!kp__str_ok(t->partitions[j].metadata))
                return -EINVAL;
    }
    if (version >= 3)
        kp_wr_i32(wr, resp->throttle_time_ms);
    kp_wr_array(wr, resp->n_topics);
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const struct kp_offset_fetch_resp_topic *t = &resp->topics[i];
        kp_wr_str(wr, t->name);
        kp_wr_array(wr, t->n_partitions);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_offset_fetch_resp_partition *p = &t->partitions[j];
            kp_wr_i32(wr, p->partition_index);
            kp_wr_i64(wr, p->committed_offset);
            kp_wr_nstr(wr, p->metadata);
            kp_wr_i16(wr, p->error_code);
        }
    }
    if (version >= 2)
        kp_wr_i16(wr, resp->error_code);
    return wr->err;
}

int kp_offset_fetch_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_offset_fetch_resp *out)
{
    if (!kp__ver_in(version, OF_MIN, OF_MAX))
        return -EINVAL;
    out->throttle_time_ms = version >= 3 ? kp_rd_i32(rd) : 0;
    out->n_topics = kp_rd_array(rd, KP__STR + KP__ARRAY, false);
    struct kp_offset_fetch_resp_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].name = kp_rd_str(rd);
        t[i].n_partitions = kp_rd_array(rd, KP__I32 + KP__I64 + KP__STR + KP__I16, false);
        struct kp_offset_fetch_resp_partition *p =
            kp__rd_alloc(rd, arena, t[i].n_partitions, sizeof *p);
        t[i].partitions = p;
        for (int32_t j = 0; p && j < t[i].n_partitions; j++) {
            p[j].partition_index = kp_rd_i32(rd);
            p[j].committed_offset = kp_rd_i64(rd);
            p[j].metadata = kp_rd_nstr(rd);
            p[j].error_code = kp_rd_i16(rd);
        }
    }
    out->error_code = version >= 2 ? kp_rd_i16(rd) : 0;
    return kp__rd_end(rd);
}
