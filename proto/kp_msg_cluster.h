/*
 * kp_msg_cluster — cluster, partition and log admin APIs: DeleteRecords (21) v0-2,
 * OffsetForLeaderEpoch (23) v0-4, DescribeLogDirs (35) v0-4, CreatePartitions (37) v0-3,
 * ElectLeaders (43) v0-2 and DescribeCluster (60) v0-1 (proto/kp_msg_cluster.c).
 *
 * Contract: exactly kp_msg.h's (four functions per message, body only, views into the
 * reader's buffer and arrays in the caller's arena, -EINVAL / -EBADMSG / -ENOMEM / -ENOSPC,
 * fields a version does not carry ignored on encode and defaulted on decode). Flexible from
 * DeleteRecords v2, OffsetForLeaderEpoch v4, DescribeLogDirs v2, CreatePartitions v2,
 * ElectLeaders v2, and DescribeCluster always. Not advertised by the broker until it handles them
 * (kp_api_advertised()); kp_msg_codec_find() gives the ranges.
 */
#ifndef SPLICELOG_KP_MSG_CLUSTER_H
#define SPLICELOG_KP_MSG_CLUSTER_H

#include "kp_msg.h"

/* ---- DeleteRecords (21): advance log start offsets ------------------------------------- */

struct kp_delete_records_req_partition {
    int32_t partition_index;
    int64_t offset; /* delete everything below; -1 means the high watermark */
};

struct kp_delete_records_req_topic {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_delete_records_req_partition *partitions;
};

struct kp_delete_records_req {
    int32_t n_topics;
    const struct kp_delete_records_req_topic *topics;
    int32_t timeout_ms;
};

struct kp_delete_records_resp_partition {
    int32_t partition_index;
    int64_t low_watermark; /* the new log start offset */
    int16_t error_code;
};

struct kp_delete_records_resp_topic {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_delete_records_resp_partition *partitions;
};

struct kp_delete_records_resp {
    int32_t throttle_time_ms;
    int32_t n_topics;
    const struct kp_delete_records_resp_topic *topics;
};

int kp_delete_records_req_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_delete_records_req *req);
int kp_delete_records_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_delete_records_req *out);
int kp_delete_records_resp_encode(struct kp_wr *wr, int16_t version,
                                  const struct kp_delete_records_resp *resp);
int kp_delete_records_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                  struct kp_delete_records_resp *out);

/* ---- OffsetForLeaderEpoch (23): the end offset of a leader epoch (KIP-101, KIP-320) ----- */

struct kp_offset_for_leader_epoch_req_partition {
    int32_t partition;
    int32_t current_leader_epoch; /* v2+; Kafka's default -1 (no fencing) */
    int32_t leader_epoch;
};

struct kp_offset_for_leader_epoch_req_topic {
    struct kp_str topic;
    int32_t n_partitions;
    const struct kp_offset_for_leader_epoch_req_partition *partitions;
};

struct kp_offset_for_leader_epoch_req {
    int32_t replica_id; /* v3+; Kafka's default -2 (a consumer) */
    int32_t n_topics;
    const struct kp_offset_for_leader_epoch_req_topic *topics;
};

struct kp_offset_for_leader_epoch_resp_partition {
    int16_t error_code;
    int32_t partition;
    int32_t leader_epoch; /* v1+; Kafka's default -1 */
    int64_t end_offset;   /* Kafka's default -1 */
};

struct kp_offset_for_leader_epoch_resp_topic {
    struct kp_str topic;
    int32_t n_partitions;
    const struct kp_offset_for_leader_epoch_resp_partition *partitions;
};

struct kp_offset_for_leader_epoch_resp {
    int32_t throttle_time_ms; /* v2+ */
    int32_t n_topics;
    const struct kp_offset_for_leader_epoch_resp_topic *topics;
};

int kp_offset_for_leader_epoch_req_encode(struct kp_wr *wr, int16_t version,
                                          const struct kp_offset_for_leader_epoch_req *req);
int kp_offset_for_leader_epoch_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                          struct kp_offset_for_leader_epoch_req *out);
int kp_offset_for_leader_epoch_resp_encode(struct kp_wr *wr, int16_t version,
                                           const struct kp_offset_for_leader_epoch_resp *resp);
int kp_offset_for_leader_epoch_resp_decode(struct kp_rd *rd, int16_t version,
                                           struct kp_arena *arena,
                                           struct kp_offset_for_leader_epoch_resp *out);

/* ---- DescribeLogDirs (35) --------------------------------------------------------------- */

struct kp_describe_log_dirs_req_topic {
    struct kp_str topic;
    int32_t n_partitions;
    const int32_t *partitions;
};

struct kp_describe_log_dirs_req {
    int32_t n_topics; /* -1 (null): every partition */
    const struct kp_describe_log_dirs_req_topic *topics;
};

struct kp_describe_log_dirs_partition {
    int32_t partition_index;
    int64_t partition_size; /* bytes on disk */
    int64_t offset_lag;     /* 0 for a current replica */
    bool is_future_key;
};

struct kp_describe_log_dirs_topic {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_describe_log_dirs_partition *partitions;
};

struct kp_describe_log_dirs_result {
    int16_t error_code;
    struct kp_str log_dir;
    int32_t n_topics;
    const struct kp_describe_log_dirs_topic *topics;
    int64_t total_bytes;  /* v4+; Kafka's default -1 (unknown) */
    int64_t usable_bytes; /* v4+; Kafka's default -1 */
};

struct kp_describe_log_dirs_resp {
    int32_t throttle_time_ms;
    int16_t error_code; /* v3+ */
    int32_t n_results;
    const struct kp_describe_log_dirs_result *results;
};

int kp_describe_log_dirs_req_encode(struct kp_wr *wr, int16_t version,
                                    const struct kp_describe_log_dirs_req *req);
int kp_describe_log_dirs_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                    struct kp_describe_log_dirs_req *out);
int kp_describe_log_dirs_resp_encode(struct kp_wr *wr, int16_t version,
                                     const struct kp_describe_log_dirs_resp *resp);
int kp_describe_log_dirs_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                     struct kp_describe_log_dirs_resp *out);

/* ---- CreatePartitions (37) -------------------------------------------------------------- */

struct kp_create_partitions_assignment {
    int32_t n_broker_ids;
    const int32_t *broker_ids;
};

struct kp_create_partitions_topic {
    struct kp_str name;
    int32_t count;         /* the new total number of partitions */
    int32_t n_assignments; /* -1 (null): the broker places them */
    const struct kp_create_partitions_assignment *assignments;
};

struct kp_create_partitions_req {
    int32_t n_topics;
    const struct kp_create_partitions_topic *topics;
    int32_t timeout_ms;
    bool validate_only;
};

struct kp_create_partitions_result {
    struct kp_str name;
    int16_t error_code;
    struct kp_str error_message; /* nullable; a zeroed struct writes "" */
};

struct kp_create_partitions_resp {
    int32_t throttle_time_ms;
    int32_t n_results;
    const struct kp_create_partitions_result *results;
};

int kp_create_partitions_req_encode(struct kp_wr *wr, int16_t version,
                                    const struct kp_create_partitions_req *req);
int kp_create_partitions_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                    struct kp_create_partitions_req *out);
int kp_create_partitions_resp_encode(struct kp_wr *wr, int16_t version,
                                     const struct kp_create_partitions_resp *resp);
int kp_create_partitions_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                     struct kp_create_partitions_resp *out);

/* ---- ElectLeaders (43): preferred (0) or unclean (1) leader election ------------------ */

struct kp_elect_leaders_req_topic {
    struct kp_str topic;
    int32_t n_partitions;
    const int32_t *partitions;
};

struct kp_elect_leaders_req {
    int8_t election_type;       /* v1+; v0 decodes 0 (preferred) */
    int32_t n_topic_partitions; /* -1 (null): every partition */
    const struct kp_elect_leaders_req_topic *topic_partitions;
    int32_t timeout_ms; /* Kafka's default 60000 */
};

struct kp_elect_leaders_resp_partition {
    int32_t partition_id;
    int16_t error_code;
    struct kp_str error_message; /* nullable; a zeroed struct writes "" (KP_STR_NULL: none) */
};

struct kp_elect_leaders_resp_topic {
    struct kp_str topic;
    int32_t n_partitions;
    const struct kp_elect_leaders_resp_partition *partitions;
};

struct kp_elect_leaders_resp {
    int32_t throttle_time_ms;
    int16_t error_code; /* v1+ */
    int32_t n_results;
    const struct kp_elect_leaders_resp_topic *results;
};

int kp_elect_leaders_req_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_elect_leaders_req *req);
int kp_elect_leaders_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_elect_leaders_req *out);
int kp_elect_leaders_resp_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_elect_leaders_resp *resp);
int kp_elect_leaders_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_elect_leaders_resp *out);

/* ---- DescribeCluster (60) --------------------------------------------------------------- */

struct kp_describe_cluster_req {
    bool include_cluster_authorized_operations;
    int8_t endpoint_type; /* v1+; Kafka's default 1 (brokers); 2 = controllers */
};

struct kp_describe_cluster_broker {
    int32_t broker_id;
    struct kp_str host;
    int32_t port;
    struct kp_str rack; /* nullable; a zeroed struct writes "" */
};

struct kp_describe_cluster_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    struct kp_str error_message; /* nullable; a zeroed struct writes "" */
    int8_t endpoint_type;        /* v1+; Kafka's default 1 */
    struct kp_str cluster_id;
    int32_t controller_id; /* Kafka's default -1 */
    int32_t n_brokers;
    const struct kp_describe_cluster_broker *brokers;
    int32_t cluster_authorized_operations; /* Kafka's default INT32_MIN */
};

int kp_describe_cluster_req_encode(struct kp_wr *wr, int16_t version,
                                   const struct kp_describe_cluster_req *req);
int kp_describe_cluster_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                   struct kp_describe_cluster_req *out);
int kp_describe_cluster_resp_encode(struct kp_wr *wr, int16_t version,
                                    const struct kp_describe_cluster_resp *resp);
int kp_describe_cluster_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                    struct kp_describe_cluster_resp *out);

#endif
