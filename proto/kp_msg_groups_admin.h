/*
 * kp_msg_groups_admin — the group admin APIs: DescribeGroups (15) v0-5, ListGroups (16) v0-5,
 * DeleteGroups (42) v0-2 and OffsetDelete (47) v0 (proto/kp_msg_groups_admin.c).
 *
 * Contract: exactly kp_msg.h's (four functions per message, body only, views into the
 * reader's buffer and arrays in the caller's arena, -EINVAL / -EBADMSG / -ENOMEM / -ENOSPC,
 * fields a version does not carry ignored on encode and defaulted on decode). Flexible from
 * DescribeGroups v5, ListGroups v3, DeleteGroups v2; OffsetDelete has no flexible version.
 * Not advertised by the broker until it handles them (kp_api_advertised());
 * kp_msg_codec_find() gives the ranges.
 */
#ifndef SPLICELOG_KP_MSG_GROUPS_ADMIN_H
#define SPLICELOG_KP_MSG_GROUPS_ADMIN_H

#include "kp_msg.h"

/* ---- DescribeGroups (15) ---------------------------------------------------------------- */

struct kp_describe_groups_req {
    int32_t n_groups;
    const struct kp_str *groups;
    bool include_authorized_operations; /* v3+ */
};

struct kp_describe_groups_member {
    struct kp_str member_id;
    struct kp_str group_instance_id; /* v4+, nullable; null below v4 */
    struct kp_str client_id;
    struct kp_str client_host;
    struct kp_bytes member_metadata;   /* opaque (the consumer protocol's subscription) */
    struct kp_bytes member_assignment; /* opaque (the consumer protocol's assignment) */
};

struct kp_describe_groups_group {
    int16_t error_code;
    struct kp_str group_id;
    struct kp_str group_state;   /* "Stable", "PreparingRebalance", "Empty", "Dead", ... */
    struct kp_str protocol_type; /* "consumer", or "" */
    struct kp_str protocol_data; /* the chosen assignor when Stable */
    int32_t n_members;
    const struct kp_describe_groups_member *members;
    int32_t authorized_operations; /* v3+; Kafka's default INT32_MIN (not asked for) */
};

struct kp_describe_groups_resp {
    int32_t throttle_time_ms; /* v1+ */
    int32_t n_groups;
    const struct kp_describe_groups_group *groups;
};

int kp_describe_groups_req_encode(struct kp_wr *wr, int16_t version,
                                  const struct kp_describe_groups_req *req);
int kp_describe_groups_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                  struct kp_describe_groups_req *out);
int kp_describe_groups_resp_encode(struct kp_wr *wr, int16_t version,
                                   const struct kp_describe_groups_resp *resp);
int kp_describe_groups_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                   struct kp_describe_groups_resp *out);

/* ---- ListGroups (16) -------------------------------------------------------------------- */

struct kp_list_groups_req {
    int32_t n_states_filter; /* v4+; empty: every state */
    const struct kp_str *states_filter;
    int32_t n_types_filter; /* v5+; empty: every type ("classic", "consumer") */
    const struct kp_str *types_filter;
};

struct kp_list_groups_group {
    struct kp_str group_id;
    struct kp_str protocol_type;
    struct kp_str group_state; /* v4+ */
    struct kp_str group_type;  /* v5+ */
};

struct kp_list_groups_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    int32_t n_groups;
    const struct kp_list_groups_group *groups;
};

int kp_list_groups_req_encode(struct kp_wr *wr, int16_t version,
                              const struct kp_list_groups_req *req);
int kp_list_groups_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                              struct kp_list_groups_req *out);
int kp_list_groups_resp_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_list_groups_resp *resp);
int kp_list_groups_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_list_groups_resp *out);

/* ---- DeleteGroups (42) ------------------------------------------------------------------ */

struct kp_delete_groups_req {
    int32_t n_groups_names;
    const struct kp_str *groups_names;
};

struct kp_delete_groups_result {
    struct kp_str group_id;
    int16_t error_code;
};

struct kp_delete_groups_resp {
    int32_t throttle_time_ms;
    int32_t n_results;
    const struct kp_delete_groups_result *results;
};

int kp_delete_groups_req_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_delete_groups_req *req);
int kp_delete_groups_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_delete_groups_req *out);
int kp_delete_groups_resp_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_delete_groups_resp *resp);
int kp_delete_groups_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_delete_groups_resp *out);

/* ---- OffsetDelete (47): a group's committed offsets for some partitions ---------------- */

struct kp_offset_delete_req_partition {
    int32_t partition_index;
};

struct kp_offset_delete_req_topic {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_offset_delete_req_partition *partitions;
};

struct kp_offset_delete_req {
    struct kp_str group_id;
    int32_t n_topics;
    const struct kp_offset_delete_req_topic *topics;
};

struct kp_offset_delete_resp_partition {
    int32_t partition_index;
    int16_t error_code;
};

struct kp_offset_delete_resp_topic {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_offset_delete_resp_partition *partitions;
};

struct kp_offset_delete_resp {
    int16_t error_code; /* first on the wire, before throttle_time_ms */
    int32_t throttle_time_ms;
    int32_t n_topics;
    const struct kp_offset_delete_resp_topic *topics;
};

int kp_offset_delete_req_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_offset_delete_req *req);
int kp_offset_delete_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_offset_delete_req *out);
int kp_offset_delete_resp_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_offset_delete_resp *resp);
int kp_offset_delete_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_offset_delete_resp *out);

#endif
