/*
 * kp_msg_group — the consumer-group APIs (kp_msg.h) as tables for the kp_schema walker:
 * FindCoordinator (10) v0-4, JoinGroup (11) v0-9, Heartbeat (12) v0-4, LeaveGroup (13) v0-5,
 * SyncGroup (14) v0-5, OffsetCommit (8) v0-8 and OffsetFetch (9) v1-8. Each table lists
 * Kafka's fields in wire order with the versions that carry them ("lo, KP__VMAX" is Kafka's
 * "lo+"), nullable versions, tags and defaults, as in apache/kafka
 * clients/src/main/resources/common/message/<Name>{Request,Response}.json.
 *
 * Shapes that change with the version: FindCoordinator v4 batches keys (coordinator_keys,
 * coordinators); LeaveGroup v3 leaves by members[]; OffsetFetch v8 asks for several groups
 * (groups[]) and its response answers per group, with the v0-7 top-level fields gone.
 */
#include "kp_msg.h"
#include "kp_msg_int.h"
#include "kp_schema.h"

/* ---- FindCoordinator -------------------------------------------------------------------- */

#define KP__S struct kp_find_coordinator_req
static const struct kp__field fc_req_f[] = {
    KP__F_STR(key, "Key", 0, 3),
    KP__F_I8(key_type, "KeyType", 1, KP__VMAX),
    KP__F_STRS(coordinator_keys, n_coordinator_keys, "CoordinatorKeys", 4, KP__VMAX),
};
#undef KP__S
KP__STRUCT(fc_req, struct kp_find_coordinator_req, fc_req_f);

#define KP__S struct kp_find_coordinator_coordinator
static const struct kp__field fc_coord_f[] = {
    KP__F_STR(key, "Key", 4, KP__VMAX),
    KP__F_I32(node_id, "NodeId", 4, KP__VMAX),
    KP__F_STR(host, "Host", 4, KP__VMAX),
    KP__F_I32(port, "Port", 4, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 4, KP__VMAX),
    KP__F_STR(error_message, "ErrorMessage", 4, KP__VMAX, KP__NUL(4, KP__VMAX)),
};
#undef KP__S
KP__STRUCT(fc_coord, struct kp_find_coordinator_coordinator, fc_coord_f);

#define KP__S struct kp_find_coordinator_resp
static const struct kp__field fc_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 1, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, 3),
    /* Kafka's default is ""; v0 decoders have always said null (absent). */
    KP__F_STR(error_message, "ErrorMessage", 1, 3, KP__NUL(1, 3), KP__DNULL),
    KP__F_I32(node_id, "NodeId", 0, 3),
    KP__F_STR(host, "Host", 0, 3),
    KP__F_I32(port, "Port", 0, 3),
    KP__F_ARRAY(coordinators, n_coordinators, "Coordinators",
                struct kp_find_coordinator_coordinator, fc_coord, 4, KP__VMAX),
};
#undef KP__S
KP__STRUCT(fc_resp, struct kp_find_coordinator_resp, fc_resp_f);

const struct kp__api kp__api_find_coordinator = {KP__INFO(FIND_COORDINATOR), &fc_req, &fc_resp};

KP__CODEC(kp_find_coordinator_req, struct kp_find_coordinator_req, kp__api_find_coordinator, req)
KP__CODEC(kp_find_coordinator_resp, struct kp_find_coordinator_resp, kp__api_find_coordinator, resp)

/* ---- JoinGroup -------------------------------------------------------------------------- */

#define KP__S struct kp_join_group_protocol
static const struct kp__field jg_protocol_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_BYTES(metadata, "Metadata", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(jg_protocol, struct kp_join_group_protocol, jg_protocol_f);

#define KP__S struct kp_join_group_req
static const struct kp__field jg_req_f[] = {
    KP__F_STR(group_id, "GroupId", 0, KP__VMAX),
    KP__F_I32(session_timeout_ms, "SessionTimeoutMs", 0, KP__VMAX),
    KP__F_I32(rebalance_timeout_ms, "RebalanceTimeoutMs", 1, KP__VMAX, KP__DEF(-1)),
    KP__F_STR(member_id, "MemberId", 0, KP__VMAX),
    KP__F_STR(group_instance_id, "GroupInstanceId", 5, KP__VMAX, KP__NUL(5, KP__VMAX), KP__DNULL),
    KP__F_STR(protocol_type, "ProtocolType", 0, KP__VMAX),
    KP__F_ARRAY(protocols, n_protocols, "Protocols", struct kp_join_group_protocol, jg_protocol, 0,
                KP__VMAX),
    KP__F_STR(reason, "Reason", 8, KP__VMAX, KP__NUL(8, KP__VMAX), KP__DNULL),
};
#undef KP__S
KP__STRUCT(jg_req, struct kp_join_group_req, jg_req_f);

#define KP__S struct kp_join_group_member
static const struct kp__field jg_member_f[] = {
    KP__F_STR(member_id, "MemberId", 0, KP__VMAX),
    KP__F_STR(group_instance_id, "GroupInstanceId", 5, KP__VMAX, KP__NUL(5, KP__VMAX), KP__DNULL),
    KP__F_BYTES(metadata, "Metadata", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(jg_member, struct kp_join_group_member, jg_member_f);

#define KP__S struct kp_join_group_resp
static const struct kp__field jg_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 2, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_I32(generation_id, "GenerationId", 0, KP__VMAX, KP__DEF(-1)),
    KP__F_STR(protocol_type, "ProtocolType", 7, KP__VMAX, KP__NUL(7, KP__VMAX), KP__DNULL),
    KP__F_STR(protocol_name, "ProtocolName", 0, KP__VMAX, KP__NUL(7, KP__VMAX)),
    KP__F_STR(leader, "Leader", 0, KP__VMAX),
    KP__F_BOOL(skip_assignment, "SkipAssignment", 9, KP__VMAX),
    KP__F_STR(member_id, "MemberId", 0, KP__VMAX),
    KP__F_ARRAY(members, n_members, "Members", struct kp_join_group_member, jg_member, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(jg_resp, struct kp_join_group_resp, jg_resp_f);

const struct kp__api kp__api_join_group = {KP__INFO(JOIN_GROUP), &jg_req, &jg_resp};

KP__CODEC(kp_join_group_req, struct kp_join_group_req, kp__api_join_group, req)
KP__CODEC(kp_join_group_resp, struct kp_join_group_resp, kp__api_join_group, resp)

/* ---- Heartbeat -------------------------------------------------------------------------- */

#define KP__S struct kp_heartbeat_req
static const struct kp__field hb_req_f[] = {
    KP__F_STR(group_id, "GroupId", 0, KP__VMAX),
    KP__F_I32(generation_id, "GenerationId", 0, KP__VMAX),
    KP__F_STR(member_id, "MemberId", 0, KP__VMAX),
    KP__F_STR(group_instance_id, "GroupInstanceId", 3, KP__VMAX, KP__NUL(3, KP__VMAX), KP__DNULL),
};
#undef KP__S
KP__STRUCT(hb_req, struct kp_heartbeat_req, hb_req_f);

#define KP__S struct kp_heartbeat_resp
static const struct kp__field hb_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 1, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(hb_resp, struct kp_heartbeat_resp, hb_resp_f);

const struct kp__api kp__api_heartbeat = {KP__INFO(HEARTBEAT), &hb_req, &hb_resp};

KP__CODEC(kp_heartbeat_req, struct kp_heartbeat_req, kp__api_heartbeat, req)
KP__CODEC(kp_heartbeat_resp, struct kp_heartbeat_resp, kp__api_heartbeat, resp)

/* ---- LeaveGroup ------------------------------------------------------------------------- */

#define KP__S struct kp_leave_group_member
static const struct kp__field lg_member_f[] = {
    KP__F_STR(member_id, "MemberId", 3, KP__VMAX),
    KP__F_STR(group_instance_id, "GroupInstanceId", 3, KP__VMAX, KP__NUL(3, KP__VMAX), KP__DNULL),
    KP__F_STR(reason, "Reason", 5, KP__VMAX, KP__NUL(5, KP__VMAX), KP__DNULL),
};
#undef KP__S
KP__STRUCT(lg_member, struct kp_leave_group_member, lg_member_f);

#define KP__S struct kp_leave_group_req
static const struct kp__field lg_req_f[] = {
    KP__F_STR(group_id, "GroupId", 0, KP__VMAX),
    KP__F_STR(member_id, "MemberId", 0, 2),
    KP__F_ARRAY(members, n_members, "Members", struct kp_leave_group_member, lg_member, 3,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(lg_req, struct kp_leave_group_req, lg_req_f);

#define KP__S struct kp_leave_group_member_resp
static const struct kp__field lg_member_resp_f[] = {
    KP__F_STR(member_id, "MemberId", 3, KP__VMAX),
    KP__F_STR(group_instance_id, "GroupInstanceId", 3, KP__VMAX, KP__NUL(3, KP__VMAX)),
    KP__F_I16(error_code, "ErrorCode", 3, KP__VMAX),
};
#undef KP__S
KP__STRUCT(lg_member_resp, struct kp_leave_group_member_resp, lg_member_resp_f);

#define KP__S struct kp_leave_group_resp
static const struct kp__field lg_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 1, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_ARRAY(members, n_members, "Members", struct kp_leave_group_member_resp, lg_member_resp, 3,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(lg_resp, struct kp_leave_group_resp, lg_resp_f);

const struct kp__api kp__api_leave_group = {KP__INFO(LEAVE_GROUP), &lg_req, &lg_resp};

KP__CODEC(kp_leave_group_req, struct kp_leave_group_req, kp__api_leave_group, req)
KP__CODEC(kp_leave_group_resp, struct kp_leave_group_resp, kp__api_leave_group, resp)

/* ---- SyncGroup -------------------------------------------------------------------------- */

#define KP__S struct kp_sync_group_assignment
static const struct kp__field sg_assignment_f[] = {
    KP__F_STR(member_id, "MemberId", 0, KP__VMAX),
    KP__F_BYTES(assignment, "Assignment", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(sg_assignment, struct kp_sync_group_assignment, sg_assignment_f);

#define KP__S struct kp_sync_group_req
static const struct kp__field sg_req_f[] = {
    KP__F_STR(group_id, "GroupId", 0, KP__VMAX),
    KP__F_I32(generation_id, "GenerationId", 0, KP__VMAX),
    KP__F_STR(member_id, "MemberId", 0, KP__VMAX),
    KP__F_STR(group_instance_id, "GroupInstanceId", 3, KP__VMAX, KP__NUL(3, KP__VMAX), KP__DNULL),
    KP__F_STR(protocol_type, "ProtocolType", 5, KP__VMAX, KP__NUL(5, KP__VMAX), KP__DNULL),
    KP__F_STR(protocol_name, "ProtocolName", 5, KP__VMAX, KP__NUL(5, KP__VMAX), KP__DNULL),
    KP__F_ARRAY(assignments, n_assignments, "Assignments", struct kp_sync_group_assignment,
                sg_assignment, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(sg_req, struct kp_sync_group_req, sg_req_f);

#define KP__S struct kp_sync_group_resp
static const struct kp__field sg_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 1, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_STR(protocol_type, "ProtocolType", 5, KP__VMAX, KP__NUL(5, KP__VMAX), KP__DNULL),
    KP__F_STR(protocol_name, "ProtocolName", 5, KP__VMAX, KP__NUL(5, KP__VMAX), KP__DNULL),
    KP__F_BYTES(assignment, "Assignment", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(sg_resp, struct kp_sync_group_resp, sg_resp_f);

const struct kp__api kp__api_sync_group = {KP__INFO(SYNC_GROUP), &sg_req, &sg_resp};

KP__CODEC(kp_sync_group_req, struct kp_sync_group_req, kp__api_sync_group, req)
KP__CODEC(kp_sync_group_resp, struct kp_sync_group_resp, kp__api_sync_group, resp)

/* ---- OffsetCommit ----------------------------------------------------------------------- */

#define KP__S struct kp_offset_commit_req_partition
static const struct kp__field oc_req_partition_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
    KP__F_I64(committed_offset, "CommittedOffset", 0, KP__VMAX),
    KP__F_I32(committed_leader_epoch, "CommittedLeaderEpoch", 6, KP__VMAX, KP__DEF(-1)),
    KP__F_I64(commit_timestamp, "CommitTimestamp", 1, 1, KP__DEF(-1)),
    KP__F_STR(committed_metadata, "CommittedMetadata", 0, KP__VMAX, KP__NUL(0, KP__VMAX)),
};
#undef KP__S
KP__STRUCT(oc_req_partition, struct kp_offset_commit_req_partition, oc_req_partition_f);

#define KP__S struct kp_offset_commit_req_topic
static const struct kp__field oc_req_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_offset_commit_req_partition,
                oc_req_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(oc_req_topic, struct kp_offset_commit_req_topic, oc_req_topic_f);

#define KP__S struct kp_offset_commit_req
static const struct kp__field oc_req_f[] = {
    KP__F_STR(group_id, "GroupId", 0, KP__VMAX),
    KP__F_I32(generation_id, "GenerationIdOrMemberEpoch", 1, KP__VMAX, KP__DEF(-1)),
    KP__F_STR(member_id, "MemberId", 1, KP__VMAX),
    KP__F_STR(group_instance_id, "GroupInstanceId", 7, KP__VMAX, KP__NUL(7, KP__VMAX), KP__DNULL),
    KP__F_I64(retention_time_ms, "RetentionTimeMs", 2, 4, KP__DEF(-1)),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_offset_commit_req_topic, oc_req_topic, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(oc_req, struct kp_offset_commit_req, oc_req_f);

#define KP__S struct kp_offset_commit_resp_partition
static const struct kp__field oc_resp_partition_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(oc_resp_partition, struct kp_offset_commit_resp_partition, oc_resp_partition_f);

#define KP__S struct kp_offset_commit_resp_topic
static const struct kp__field oc_resp_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_offset_commit_resp_partition,
                oc_resp_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(oc_resp_topic, struct kp_offset_commit_resp_topic, oc_resp_topic_f);

#define KP__S struct kp_offset_commit_resp
static const struct kp__field oc_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 3, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_offset_commit_resp_topic, oc_resp_topic, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(oc_resp, struct kp_offset_commit_resp, oc_resp_f);

const struct kp__api kp__api_offset_commit = {KP__INFO(OFFSET_COMMIT), &oc_req, &oc_resp};

KP__CODEC(kp_offset_commit_req, struct kp_offset_commit_req, kp__api_offset_commit, req)
KP__CODEC(kp_offset_commit_resp, struct kp_offset_commit_resp, kp__api_offset_commit, resp)

/* ---- OffsetFetch ------------------------------------------------------------------------ */

/* Kafka's v0-7 and v8+ topic and partition structs have the same fields under other names;
 * one C struct each, two tables each (so that each table says Kafka's versions). */
#define KP__S struct kp_offset_fetch_req_topic
static const struct kp__field of_req_topic_f[] = {
    KP__F_STR(name, "Name", 0, 7),
    KP__F_I32S(partition_indexes, n_partition_indexes, "PartitionIndexes", 0, 7),
};
static const struct kp__field of_req_topics_f[] = {
    KP__F_STR(name, "Name", 8, KP__VMAX),
    KP__F_I32S(partition_indexes, n_partition_indexes, "PartitionIndexes", 8, KP__VMAX),
};
#undef KP__S
KP__STRUCT(of_req_topic, struct kp_offset_fetch_req_topic, of_req_topic_f);
KP__STRUCT(of_req_topics, struct kp_offset_fetch_req_topic, of_req_topics_f);

#define KP__S struct kp_offset_fetch_req_group
static const struct kp__field of_req_group_f[] = {
    KP__F_STR(group_id, "GroupId", 8, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_offset_fetch_req_topic, of_req_topics, 8,
                KP__VMAX, KP__NUL(8, KP__VMAX)),
};
#undef KP__S
KP__STRUCT(of_req_group, struct kp_offset_fetch_req_group, of_req_group_f);

#define KP__S struct kp_offset_fetch_req
static const struct kp__field of_req_f[] = {
    KP__F_STR(group_id, "GroupId", 0, 7),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_offset_fetch_req_topic, of_req_topic, 0, 7,
                KP__NUL(2, 7)),
    KP__F_ARRAY(groups, n_groups, "Groups", struct kp_offset_fetch_req_group, of_req_group, 8,
                KP__VMAX),
    KP__F_BOOL(require_stable, "RequireStable", 7, KP__VMAX),
};
#undef KP__S
KP__STRUCT(of_req, struct kp_offset_fetch_req, of_req_f);

#define KP__S struct kp_offset_fetch_resp_partition
static const struct kp__field of_resp_partition_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, 7),
    KP__F_I64(committed_offset, "CommittedOffset", 0, 7),
    KP__F_I32(committed_leader_epoch, "CommittedLeaderEpoch", 5, 7, KP__DEF(-1)),
    KP__F_STR(metadata, "Metadata", 0, 7, KP__NUL(0, 7)),
    KP__F_I16(error_code, "ErrorCode", 0, 7),
};
static const struct kp__field of_resp_partitions_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 8, KP__VMAX),
    KP__F_I64(committed_offset, "CommittedOffset", 8, KP__VMAX),
    KP__F_I32(committed_leader_epoch, "CommittedLeaderEpoch", 8, KP__VMAX, KP__DEF(-1)),
    KP__F_STR(metadata, "Metadata", 8, KP__VMAX, KP__NUL(8, KP__VMAX)),
    KP__F_I16(error_code, "ErrorCode", 8, KP__VMAX),
};
#undef KP__S
KP__STRUCT(of_resp_partition, struct kp_offset_fetch_resp_partition, of_resp_partition_f);
KP__STRUCT(of_resp_partitions, struct kp_offset_fetch_resp_partition, of_resp_partitions_f);

#define KP__S struct kp_offset_fetch_resp_topic
static const struct kp__field of_resp_topic_f[] = {
    KP__F_STR(name, "Name", 0, 7),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_offset_fetch_resp_partition,
                of_resp_partition, 0, 7),
};
static const struct kp__field of_resp_topics_f[] = {
    KP__F_STR(name, "Name", 8, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_offset_fetch_resp_partition,
                of_resp_partitions, 8, KP__VMAX),
};
#undef KP__S
KP__STRUCT(of_resp_topic, struct kp_offset_fetch_resp_topic, of_resp_topic_f);
KP__STRUCT(of_resp_topics, struct kp_offset_fetch_resp_topic, of_resp_topics_f);

#define KP__S struct kp_offset_fetch_resp_group
static const struct kp__field of_resp_group_f[] = {
    KP__F_STR(group_id, "GroupId", 8, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_offset_fetch_resp_topic, of_resp_topics, 8,
                KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 8, KP__VMAX),
};
#undef KP__S
KP__STRUCT(of_resp_group, struct kp_offset_fetch_resp_group, of_resp_group_f);

#define KP__S struct kp_offset_fetch_resp
static const struct kp__field of_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 3, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_offset_fetch_resp_topic, of_resp_topic, 0, 7),
    KP__F_I16(error_code, "ErrorCode", 2, 7),
    KP__F_ARRAY(groups, n_groups, "Groups", struct kp_offset_fetch_resp_group, of_resp_group, 8,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(of_resp, struct kp_offset_fetch_resp, of_resp_f);

const struct kp__api kp__api_offset_fetch = {KP__INFO(OFFSET_FETCH), &of_req, &of_resp};

KP__CODEC(kp_offset_fetch_req, struct kp_offset_fetch_req, kp__api_offset_fetch, req)
KP__CODEC(kp_offset_fetch_resp, struct kp_offset_fetch_resp, kp__api_offset_fetch, resp)
