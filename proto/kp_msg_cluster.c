/*
 * kp_msg_cluster — DeleteRecords (21) v0-2, OffsetForLeaderEpoch (23) v0-4, DescribeLogDirs
 * (35) v0-4, CreatePartitions (37) v0-3, ElectLeaders (43) v0-2 and DescribeCluster (60) v0-1
 * (kp_msg_cluster.h), as
 * tables for the kp_schema walker in Kafka's field order with the versions that carry each
 * field ("lo, KP__VMAX" is Kafka's "lo+"), from apache/kafka
 * .../common/message/<Name>{Request,Response}.json.
 */
#include "kp_msg_cluster.h"
#include "kp_msg_int.h"
#include "kp_schema.h"

/* ---- DeleteRecords ---------------------------------------------------------------------- */

#define KP__S struct kp_delete_records_req_partition
static const struct kp__field dr_req_partition_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
    KP__F_I64(offset, "Offset", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dr_req_partition, struct kp_delete_records_req_partition, dr_req_partition_f);

#define KP__S struct kp_delete_records_req_topic
static const struct kp__field dr_req_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_delete_records_req_partition,
                dr_req_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dr_req_topic, struct kp_delete_records_req_topic, dr_req_topic_f);

#define KP__S struct kp_delete_records_req
static const struct kp__field dr_req_f[] = {
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_delete_records_req_topic, dr_req_topic, 0,
                KP__VMAX),
    KP__F_I32(timeout_ms, "TimeoutMs", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dr_req, struct kp_delete_records_req, dr_req_f);

#define KP__S struct kp_delete_records_resp_partition
static const struct kp__field dr_resp_partition_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
    KP__F_I64(low_watermark, "LowWatermark", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dr_resp_partition, struct kp_delete_records_resp_partition, dr_resp_partition_f);

#define KP__S struct kp_delete_records_resp_topic
static const struct kp__field dr_resp_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_delete_records_resp_partition,
                dr_resp_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dr_resp_topic, struct kp_delete_records_resp_topic, dr_resp_topic_f);

#define KP__S struct kp_delete_records_resp
static const struct kp__field dr_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_delete_records_resp_topic, dr_resp_topic, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(dr_resp, struct kp_delete_records_resp, dr_resp_f);

const struct kp__api kp__api_delete_records = {KP__INFO(DELETE_RECORDS), &dr_req, &dr_resp};

KP__CODEC(kp_delete_records_req, struct kp_delete_records_req, kp__api_delete_records, req)
KP__CODEC(kp_delete_records_resp, struct kp_delete_records_resp, kp__api_delete_records, resp)

/* ---- OffsetForLeaderEpoch --------------------------------------------------------------- */

#define KP__S struct kp_offset_for_leader_epoch_req_partition
static const struct kp__field ofle_req_partition_f[] = {
    KP__F_I32(partition, "Partition", 0, KP__VMAX),
    KP__F_I32(current_leader_epoch, "CurrentLeaderEpoch", 2, KP__VMAX, KP__DEF(-1)),
    KP__F_I32(leader_epoch, "LeaderEpoch", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(ofle_req_partition, struct kp_offset_for_leader_epoch_req_partition,
           ofle_req_partition_f);

#define KP__S struct kp_offset_for_leader_epoch_req_topic
static const struct kp__field ofle_req_topic_f[] = {
    KP__F_STR(topic, "Topic", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions",
                struct kp_offset_for_leader_epoch_req_partition, ofle_req_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(ofle_req_topic, struct kp_offset_for_leader_epoch_req_topic, ofle_req_topic_f);

#define KP__S struct kp_offset_for_leader_epoch_req
static const struct kp__field ofle_req_f[] = {
    KP__F_I32(replica_id, "ReplicaId", 3, KP__VMAX, KP__DEF(-2)),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_offset_for_leader_epoch_req_topic,
                ofle_req_topic, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(ofle_req, struct kp_offset_for_leader_epoch_req, ofle_req_f);

#define KP__S struct kp_offset_for_leader_epoch_resp_partition
static const struct kp__field ofle_resp_partition_f[] = {
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_I32(partition, "Partition", 0, KP__VMAX),
    KP__F_I32(leader_epoch, "LeaderEpoch", 1, KP__VMAX, KP__DEF(-1)),
    KP__F_I64(end_offset, "EndOffset", 0, KP__VMAX, KP__DEF(-1)),
};
#undef KP__S
KP__STRUCT(ofle_resp_partition, struct kp_offset_for_leader_epoch_resp_partition,
           ofle_resp_partition_f);

#define KP__S struct kp_offset_for_leader_epoch_resp_topic
static const struct kp__field ofle_resp_topic_f[] = {
    KP__F_STR(topic, "Topic", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions",
                struct kp_offset_for_leader_epoch_resp_partition, ofle_resp_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(ofle_resp_topic, struct kp_offset_for_leader_epoch_resp_topic, ofle_resp_topic_f);

#define KP__S struct kp_offset_for_leader_epoch_resp
static const struct kp__field ofle_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 2, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_offset_for_leader_epoch_resp_topic,
                ofle_resp_topic, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(ofle_resp, struct kp_offset_for_leader_epoch_resp, ofle_resp_f);

const struct kp__api kp__api_offset_for_leader_epoch = {KP__INFO(OFFSET_FOR_LEADER_EPOCH),
                                                        &ofle_req, &ofle_resp};

KP__CODEC(kp_offset_for_leader_epoch_req, struct kp_offset_for_leader_epoch_req,
          kp__api_offset_for_leader_epoch, req)
KP__CODEC(kp_offset_for_leader_epoch_resp, struct kp_offset_for_leader_epoch_resp,
          kp__api_offset_for_leader_epoch, resp)

/* ---- DescribeLogDirs -------------------------------------------------------------------- */

#define KP__S struct kp_describe_log_dirs_req_topic
static const struct kp__field dld_req_topic_f[] = {
    KP__F_STR(topic, "Topic", 0, KP__VMAX),
    KP__F_I32S(partitions, n_partitions, "Partitions", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dld_req_topic, struct kp_describe_log_dirs_req_topic, dld_req_topic_f);

#define KP__S struct kp_describe_log_dirs_req
static const struct kp__field dld_req_f[] = {
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_describe_log_dirs_req_topic, dld_req_topic, 0,
                KP__VMAX, KP__NUL(0, KP__VMAX)),
};
#undef KP__S
KP__STRUCT(dld_req, struct kp_describe_log_dirs_req, dld_req_f);

#define KP__S struct kp_describe_log_dirs_partition
static const struct kp__field dld_partition_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
    KP__F_I64(partition_size, "PartitionSize", 0, KP__VMAX),
    KP__F_I64(offset_lag, "OffsetLag", 0, KP__VMAX),
    KP__F_BOOL(is_future_key, "IsFutureKey", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dld_partition, struct kp_describe_log_dirs_partition, dld_partition_f);

#define KP__S struct kp_describe_log_dirs_topic
static const struct kp__field dld_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_describe_log_dirs_partition,
                dld_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dld_topic, struct kp_describe_log_dirs_topic, dld_topic_f);

#define KP__S struct kp_describe_log_dirs_result
static const struct kp__field dld_result_f[] = {
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_STR(log_dir, "LogDir", 0, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_describe_log_dirs_topic, dld_topic, 0,
                KP__VMAX),
    KP__F_I64(total_bytes, "TotalBytes", 4, KP__VMAX, KP__DEF(-1)),
    KP__F_I64(usable_bytes, "UsableBytes", 4, KP__VMAX, KP__DEF(-1)),
};
#undef KP__S
KP__STRUCT(dld_result, struct kp_describe_log_dirs_result, dld_result_f);

#define KP__S struct kp_describe_log_dirs_resp
static const struct kp__field dld_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 3, KP__VMAX),
    KP__F_ARRAY(results, n_results, "Results", struct kp_describe_log_dirs_result, dld_result, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(dld_resp, struct kp_describe_log_dirs_resp, dld_resp_f);

const struct kp__api kp__api_describe_log_dirs = {KP__INFO(DESCRIBE_LOG_DIRS), &dld_req, &dld_resp};

KP__CODEC(kp_describe_log_dirs_req, struct kp_describe_log_dirs_req, kp__api_describe_log_dirs, req)
KP__CODEC(kp_describe_log_dirs_resp, struct kp_describe_log_dirs_resp, kp__api_describe_log_dirs,
          resp)

/* ---- CreatePartitions ------------------------------------------------------------------- */

#define KP__S struct kp_create_partitions_assignment
static const struct kp__field cp_assignment_f[] = {
    KP__F_I32S(broker_ids, n_broker_ids, "BrokerIds", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(cp_assignment, struct kp_create_partitions_assignment, cp_assignment_f);

#define KP__S struct kp_create_partitions_topic
static const struct kp__field cp_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_I32(count, "Count", 0, KP__VMAX),
    KP__F_ARRAY(assignments, n_assignments, "Assignments", struct kp_create_partitions_assignment,
                cp_assignment, 0, KP__VMAX, KP__NUL(0, KP__VMAX)),
};
#undef KP__S
KP__STRUCT(cp_topic, struct kp_create_partitions_topic, cp_topic_f);

#define KP__S struct kp_create_partitions_req
static const struct kp__field cp_req_f[] = {
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_create_partitions_topic, cp_topic, 0,
                KP__VMAX),
    KP__F_I32(timeout_ms, "TimeoutMs", 0, KP__VMAX),
    KP__F_BOOL(validate_only, "ValidateOnly", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(cp_req, struct kp_create_partitions_req, cp_req_f);

#define KP__S struct kp_create_partitions_result
static const struct kp__field cp_result_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_STR(error_message, "ErrorMessage", 0, KP__VMAX, KP__NUL(0, KP__VMAX), KP__DNULL),
};
#undef KP__S
KP__STRUCT(cp_result, struct kp_create_partitions_result, cp_result_f);

#define KP__S struct kp_create_partitions_resp
static const struct kp__field cp_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_ARRAY(results, n_results, "Results", struct kp_create_partitions_result, cp_result, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(cp_resp, struct kp_create_partitions_resp, cp_resp_f);

const struct kp__api kp__api_create_partitions = {KP__INFO(CREATE_PARTITIONS), &cp_req, &cp_resp};

KP__CODEC(kp_create_partitions_req, struct kp_create_partitions_req, kp__api_create_partitions, req)
KP__CODEC(kp_create_partitions_resp, struct kp_create_partitions_resp, kp__api_create_partitions,
          resp)

/* ---- ElectLeaders ----------------------------------------------------------------------- */

#define KP__S struct kp_elect_leaders_req_topic
static const struct kp__field el_req_topic_f[] = {
    KP__F_STR(topic, "Topic", 0, KP__VMAX),
    KP__F_I32S(partitions, n_partitions, "Partitions", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(el_req_topic, struct kp_elect_leaders_req_topic, el_req_topic_f);

#define KP__S struct kp_elect_leaders_req
static const struct kp__field el_req_f[] = {
    KP__F_I8(election_type, "ElectionType", 1, KP__VMAX),
    KP__F_ARRAY(topic_partitions, n_topic_partitions, "TopicPartitions",
                struct kp_elect_leaders_req_topic, el_req_topic, 0, KP__VMAX, KP__NUL(0, KP__VMAX)),
    KP__F_I32(timeout_ms, "TimeoutMs", 0, KP__VMAX, KP__DEF(60000)),
};
#undef KP__S
KP__STRUCT(el_req, struct kp_elect_leaders_req, el_req_f);

#define KP__S struct kp_elect_leaders_resp_partition
static const struct kp__field el_resp_partition_f[] = {
    KP__F_I32(partition_id, "PartitionId", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_STR(error_message, "ErrorMessage", 0, KP__VMAX, KP__NUL(0, KP__VMAX), KP__DNULL),
};
#undef KP__S
KP__STRUCT(el_resp_partition, struct kp_elect_leaders_resp_partition, el_resp_partition_f);

#define KP__S struct kp_elect_leaders_resp_topic
static const struct kp__field el_resp_topic_f[] = {
    KP__F_STR(topic, "Topic", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "PartitionResult", struct kp_elect_leaders_resp_partition,
                el_resp_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(el_resp_topic, struct kp_elect_leaders_resp_topic, el_resp_topic_f);

#define KP__S struct kp_elect_leaders_resp
static const struct kp__field el_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 1, KP__VMAX),
    KP__F_ARRAY(results, n_results, "ReplicaElectionResults", struct kp_elect_leaders_resp_topic,
                el_resp_topic, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(el_resp, struct kp_elect_leaders_resp, el_resp_f);

const struct kp__api kp__api_elect_leaders = {KP__INFO(ELECT_LEADERS), &el_req, &el_resp};

KP__CODEC(kp_elect_leaders_req, struct kp_elect_leaders_req, kp__api_elect_leaders, req)
KP__CODEC(kp_elect_leaders_resp, struct kp_elect_leaders_resp, kp__api_elect_leaders, resp)

/* ---- DescribeCluster -------------------------------------------------------------------- */

#define KP__S struct kp_describe_cluster_req
static const struct kp__field dcl_req_f[] = {
    KP__F_BOOL(include_cluster_authorized_operations, "IncludeClusterAuthorizedOperations", 0,
               KP__VMAX),
    KP__F_I8(endpoint_type, "EndpointType", 1, KP__VMAX, KP__DEF(1)),
};
#undef KP__S
KP__STRUCT(dcl_req, struct kp_describe_cluster_req, dcl_req_f);

#define KP__S struct kp_describe_cluster_broker
static const struct kp__field dcl_broker_f[] = {
    KP__F_I32(broker_id, "BrokerId", 0, KP__VMAX),
    KP__F_STR(host, "Host", 0, KP__VMAX),
    KP__F_I32(port, "Port", 0, KP__VMAX),
    KP__F_STR(rack, "Rack", 0, KP__VMAX, KP__NUL(0, KP__VMAX), KP__DNULL),
};
#undef KP__S
KP__STRUCT(dcl_broker, struct kp_describe_cluster_broker, dcl_broker_f);

#define KP__S struct kp_describe_cluster_resp
static const struct kp__field dcl_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_STR(error_message, "ErrorMessage", 0, KP__VMAX, KP__NUL(0, KP__VMAX), KP__DNULL),
    KP__F_I8(endpoint_type, "EndpointType", 1, KP__VMAX, KP__DEF(1)),
    KP__F_STR(cluster_id, "ClusterId", 0, KP__VMAX),
    KP__F_I32(controller_id, "ControllerId", 0, KP__VMAX, KP__DEF(-1)),
    KP__F_ARRAY(brokers, n_brokers, "Brokers", struct kp_describe_cluster_broker, dcl_broker, 0,
                KP__VMAX),
    KP__F_I32(cluster_authorized_operations, "ClusterAuthorizedOperations", 0, KP__VMAX,
              KP__DEF(INT32_MIN)),
};
#undef KP__S
KP__STRUCT(dcl_resp, struct kp_describe_cluster_resp, dcl_resp_f);

const struct kp__api kp__api_describe_cluster = {KP__INFO(DESCRIBE_CLUSTER), &dcl_req, &dcl_resp};

KP__CODEC(kp_describe_cluster_req, struct kp_describe_cluster_req, kp__api_describe_cluster, req)
KP__CODEC(kp_describe_cluster_resp, struct kp_describe_cluster_resp, kp__api_describe_cluster, resp)
