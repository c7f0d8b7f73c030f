/*
 * kp_msg_offsets — ListOffsets (2) v0-7 (kp_msg.h), as tables for the kp_schema walker, in
 * Kafka's field order with the versions that carry each field ("lo, KP__VMAX" is Kafka's
 * "lo+"), from apache/kafka .../common/message/ListOffsets{Request,Response}.json. v0
 * (max_num_offsets, old_style_offsets; Kafka 4.0 removed it) is kept for Burrow 1.2, whose
 * cluster module asks the log end offsets with v0 whatever its configured version; v6 is the
 * first flexible version; v7 only adds the timestamp -3 (max timestamp) to v6.
 */
#include "kp_msg.h"
#include "kp_msg_int.h"
#include "kp_schema.h"

#define KP__S struct kp_list_offsets_req_partition
static const struct kp__field lo_req_partition_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
    KP__F_I32(current_leader_epoch, "CurrentLeaderEpoch", 4, KP__VMAX, KP__DEF(-1)),
    KP__F_I64(timestamp, "Timestamp", 0, KP__VMAX),
    KP__F_I32(max_num_offsets, "MaxNumOffsets", 0, 0, KP__DEF(1)),
};
#undef KP__S
KP__STRUCT(lo_req_partition, struct kp_list_offsets_req_partition, lo_req_partition_f);

#define KP__S struct kp_list_offsets_req_topic
static const struct kp__field lo_req_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_list_offsets_req_partition,
                lo_req_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(lo_req_topic, struct kp_list_offsets_req_topic, lo_req_topic_f);

#define KP__S struct kp_list_offsets_req
static const struct kp__field lo_req_f[] = {
    KP__F_I32(replica_id, "ReplicaId", 0, KP__VMAX),
    KP__F_I8(isolation_level, "IsolationLevel", 2, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_list_offsets_req_topic, lo_req_topic, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(lo_req, struct kp_list_offsets_req, lo_req_f);

#define KP__S struct kp_list_offsets_old_offset
static const struct kp__field lo_old_offset_f[] = {
    KP__F_I64(offset, "Offset", 0, 0),
};
#undef KP__S
KP__STRUCT(lo_old_offset, struct kp_list_offsets_old_offset, lo_old_offset_f);

#define KP__S struct kp_list_offsets_resp_partition
static const struct kp__field lo_resp_partition_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_ARRAY(old_style_offsets, n_old_style_offsets, "OldStyleOffsets",
                struct kp_list_offsets_old_offset, lo_old_offset, 0, 0),
    KP__F_I64(timestamp, "Timestamp", 1, KP__VMAX, KP__DEF(-1)),
    KP__F_I64(offset, "Offset", 1, KP__VMAX, KP__DEF(-1)),
    KP__F_I32(leader_epoch, "LeaderEpoch", 4, KP__VMAX, KP__DEF(-1)),
};
#undef KP__S
KP__STRUCT(lo_resp_partition, struct kp_list_offsets_resp_partition, lo_resp_partition_f);

#define KP__S struct kp_list_offsets_resp_topic
static const struct kp__field lo_resp_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_list_offsets_resp_partition,
                lo_resp_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(lo_resp_topic, struct kp_list_offsets_resp_topic, lo_resp_topic_f);

#define KP__S struct kp_list_offsets_resp
static const struct kp__field lo_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 2, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_list_offsets_resp_topic, lo_resp_topic, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(lo_resp, struct kp_list_offsets_resp, lo_resp_f);

const struct kp__api kp__api_list_offsets = {KP__INFO(LIST_OFFSETS), &lo_req, &lo_resp};

KP__CODEC(kp_list_offsets_req, struct kp_list_offsets_req, kp__api_list_offsets, req)
KP__CODEC(kp_list_offsets_resp, struct kp_list_offsets_resp, kp__api_list_offsets, resp)
