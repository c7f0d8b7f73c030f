/*
 * kp_msg_groups_admin — DescribeGroups (15) v0-5, ListGroups (16) v0-5, DeleteGroups (42)
 * v0-2 and OffsetDelete (47) v0 (kp_msg_groups_admin.h), as tables for the kp_schema walker
 * in Kafka's field order with the versions that carry each field ("lo, KP__VMAX" is Kafka's
 * "lo+"), from apache/kafka .../common/message/<Name>{Request,Response}.json.
 */
#include "kp_msg_groups_admin.h"
#include "kp_msg_int.h"
#include "kp_schema.h"

/* ---- DescribeGroups --------------------------------------------------------------------- */

#define KP__S struct kp_describe_groups_req
static const struct kp__field dg_req_f[] = {
    KP__F_STRS(groups, n_groups, "Groups", 0, KP__VMAX),
    KP__F_BOOL(include_authorized_operations, "IncludeAuthorizedOperations", 3, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dg_req, struct kp_describe_groups_req, dg_req_f);

#define KP__S struct kp_describe_groups_member
static const struct kp__field dg_member_f[] = {
    KP__F_STR(member_id, "MemberId", 0, KP__VMAX),
    KP__F_STR(group_instance_id, "GroupInstanceId", 4, KP__VMAX, KP__NUL(4, KP__VMAX), KP__DNULL),
    KP__F_STR(client_id, "ClientId", 0, KP__VMAX),
    KP__F_STR(client_host, "ClientHost", 0, KP__VMAX),
    KP__F_BYTES(member_metadata, "MemberMetadata", 0, KP__VMAX),
    KP__F_BYTES(member_assignment, "MemberAssignment", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dg_member, struct kp_describe_groups_member, dg_member_f);

#define KP__S struct kp_describe_groups_group
static const struct kp__field dg_group_f[] = {
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_STR(group_id, "GroupId", 0, KP__VMAX),
    KP__F_STR(group_state, "GroupState", 0, KP__VMAX),
    KP__F_STR(protocol_type, "ProtocolType", 0, KP__VMAX),
    KP__F_STR(protocol_data, "ProtocolData", 0, KP__VMAX),
    KP__F_ARRAY(members, n_members, "Members", struct kp_describe_groups_member, dg_member, 0,
                KP__VMAX),
    KP__F_I32(authorized_operations, "AuthorizedOperations", 3, KP__VMAX, KP__DEF(INT32_MIN)),
};
#undef KP__S
KP__STRUCT(dg_group, struct kp_describe_groups_group, dg_group_f);

#define KP__S struct kp_describe_groups_resp
static const struct kp__field dg_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 1, KP__VMAX),
    KP__F_ARRAY(groups, n_groups, "Groups", struct kp_describe_groups_group, dg_group, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dg_resp, struct kp_describe_groups_resp, dg_resp_f);

const struct kp__api kp__api_describe_groups = {KP__INFO(DESCRIBE_GROUPS), &dg_req, &dg_resp};

KP__CODEC(kp_describe_groups_req, struct kp_describe_groups_req, kp__api_describe_groups, req)
KP__CODEC(kp_describe_groups_resp, struct kp_describe_groups_resp, kp__api_describe_groups, resp)

/* ---- ListGroups ------------------------------------------------------------------------- */

#define KP__S struct kp_list_groups_req
static const struct kp__field lg2_req_f[] = {
    KP__F_STRS(states_filter, n_states_filter, "StatesFilter", 4, KP__VMAX),
    KP__F_STRS(types_filter, n_types_filter, "TypesFilter", 5, KP__VMAX),
};
#undef KP__S
KP__STRUCT(lg2_req, struct kp_list_groups_req, lg2_req_f);

#define KP__S struct kp_list_groups_group
static const struct kp__field lg2_group_f[] = {
    KP__F_STR(group_id, "GroupId", 0, KP__VMAX),
    KP__F_STR(protocol_type, "ProtocolType", 0, KP__VMAX),
    KP__F_STR(group_state, "GroupState", 4, KP__VMAX),
    KP__F_STR(group_type, "GroupType", 5, KP__VMAX),
};
#undef KP__S
KP__STRUCT(lg2_group, struct kp_list_groups_group, lg2_group_f);

#define KP__S struct kp_list_groups_resp
static const struct kp__field lg2_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 1, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_ARRAY(groups, n_groups, "Groups", struct kp_list_groups_group, lg2_group, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(lg2_resp, struct kp_list_groups_resp, lg2_resp_f);

const struct kp__api kp__api_list_groups = {KP__INFO(LIST_GROUPS), &lg2_req, &lg2_resp};

KP__CODEC(kp_list_groups_req, struct kp_list_groups_req, kp__api_list_groups, req)
KP__CODEC(kp_list_groups_resp, struct kp_list_groups_resp, kp__api_list_groups, resp)

/* ---- DeleteGroups ----------------------------------------------------------------------- */

#define KP__S struct kp_delete_groups_req
static const struct kp__field dlg_req_f[] = {
    KP__F_STRS(groups_names, n_groups_names, "GroupsNames", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dlg_req, struct kp_delete_groups_req, dlg_req_f);

#define KP__S struct kp_delete_groups_result
static const struct kp__field dlg_result_f[] = {
    KP__F_STR(group_id, "GroupId", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dlg_result, struct kp_delete_groups_result, dlg_result_f);

#define KP__S struct kp_delete_groups_resp
static const struct kp__field dlg_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_ARRAY(results, n_results, "Results", struct kp_delete_groups_result, dlg_result, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(dlg_resp, struct kp_delete_groups_resp, dlg_resp_f);

const struct kp__api kp__api_delete_groups = {KP__INFO(DELETE_GROUPS), &dlg_req, &dlg_resp};

KP__CODEC(kp_delete_groups_req, struct kp_delete_groups_req, kp__api_delete_groups, req)
KP__CODEC(kp_delete_groups_resp, struct kp_delete_groups_resp, kp__api_delete_groups, resp)

/* ---- OffsetDelete ----------------------------------------------------------------------- */

#define KP__S struct kp_offset_delete_req_partition
static const struct kp__field od_req_partition_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(od_req_partition, struct kp_offset_delete_req_partition, od_req_partition_f);

#define KP__S struct kp_offset_delete_req_topic
static const struct kp__field od_req_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_offset_delete_req_partition,
                od_req_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(od_req_topic, struct kp_offset_delete_req_topic, od_req_topic_f);

#define KP__S struct kp_offset_delete_req
static const struct kp__field od_req_f[] = {
    KP__F_STR(group_id, "GroupId", 0, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_offset_delete_req_topic, od_req_topic, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(od_req, struct kp_offset_delete_req, od_req_f);

#define KP__S struct kp_offset_delete_resp_partition
static const struct kp__field od_resp_partition_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(od_resp_partition, struct kp_offset_delete_resp_partition, od_resp_partition_f);

#define KP__S struct kp_offset_delete_resp_topic
static const struct kp__field od_resp_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_offset_delete_resp_partition,
                od_resp_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(od_resp_topic, struct kp_offset_delete_resp_topic, od_resp_topic_f);

#define KP__S struct kp_offset_delete_resp
static const struct kp__field od_resp_f[] = {
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_offset_delete_resp_topic, od_resp_topic, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(od_resp, struct kp_offset_delete_resp, od_resp_f);

const struct kp__api kp__api_offset_delete = {KP__INFO(OFFSET_DELETE), &od_req, &od_resp};

KP__CODEC(kp_offset_delete_req, struct kp_offset_delete_req, kp__api_offset_delete, req)
KP__CODEC(kp_offset_delete_resp, struct kp_offset_delete_resp, kp__api_offset_delete, resp)
