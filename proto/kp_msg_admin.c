/*
 * kp_msg_admin — CreateTopics (19) v0-7 and DeleteTopics (20) v0-6 (kp_msg.h), as tables for
 * the kp_schema walker, in Kafka's field order with the versions that carry each field
 * ("lo, KP__VMAX" is Kafka's "lo+"), from apache/kafka
 * .../common/message/{CreateTopics,DeleteTopics}{Request,Response}.json. CreateTopics is
 * flexible from v5 (and its response then reports what was created: partitions, replication
 * factor, configs, and a tagged topic_config_error_code), DeleteTopics from v4; DeleteTopics
 * v6 names topics by name or id (topic_states instead of topic_names).
 */
#include "kp_msg.h"
#include "kp_msg_int.h"
#include "kp_schema.h"

/* ---- CreateTopics ------------------------------------------------------------------------ */

#define KP__S struct kp_create_topics_assignment
static const struct kp__field ct_assignment_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
    KP__F_I32S(broker_ids, n_broker_ids, "BrokerIds", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(ct_assignment, struct kp_create_topics_assignment, ct_assignment_f);

#define KP__S struct kp_create_topics_config
static const struct kp__field ct_config_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_STR(value, "Value", 0, KP__VMAX, KP__NUL(0, KP__VMAX)),
};
#undef KP__S
KP__STRUCT(ct_config, struct kp_create_topics_config, ct_config_f);

#define KP__S struct kp_create_topics_topic
static const struct kp__field ct_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_I32(num_partitions, "NumPartitions", 0, KP__VMAX),
    KP__F_I16(replication_factor, "ReplicationFactor", 0, KP__VMAX),
    KP__F_ARRAY(assignments, n_assignments, "Assignments", struct kp_create_topics_assignment,
                ct_assignment, 0, KP__VMAX),
    KP__F_ARRAY(configs, n_configs, "Configs", struct kp_create_topics_config, ct_config, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(ct_topic, struct kp_create_topics_topic, ct_topic_f);

#define KP__S struct kp_create_topics_req
static const struct kp__field ct_req_f[] = {
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_create_topics_topic, ct_topic, 0, KP__VMAX),
    KP__F_I32(timeout_ms, "timeoutMs", 0, KP__VMAX, KP__DEF(60000)),
    KP__F_BOOL(validate_only, "validateOnly", 1, KP__VMAX),
};
#undef KP__S
KP__STRUCT(ct_req, struct kp_create_topics_req, ct_req_f);

#define KP__S struct kp_create_topics_result_config
static const struct kp__field ct_result_config_f[] = {
    KP__F_STR(name, "Name", 5, KP__VMAX),
    KP__F_STR(value, "Value", 5, KP__VMAX, KP__NUL(5, KP__VMAX)),
    KP__F_BOOL(read_only, "ReadOnly", 5, KP__VMAX),
    KP__F_I8(config_source, "ConfigSource", 5, KP__VMAX, KP__DEF(-1)),
    KP__F_BOOL(is_sensitive, "IsSensitive", 5, KP__VMAX),
};
#undef KP__S
KP__STRUCT(ct_result_config, struct kp_create_topics_result_config, ct_result_config_f);

#define KP__S struct kp_create_topics_result
static const struct kp__field ct_result_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_UUID(topic_id, "TopicId", 7, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    /* Kafka's default is ""; v0 decoders have always said null (absent). */
    KP__F_STR(error_message, "ErrorMessage", 1, KP__VMAX, KP__NUL(0, KP__VMAX), KP__DNULL),
    KP__F_I16(topic_config_error_code, "TopicConfigErrorCode", 5, KP__VMAX, KP__TAG(0)),
    KP__F_I32(num_partitions, "NumPartitions", 5, KP__VMAX, KP__DEF(-1)),
    KP__F_I16(replication_factor, "ReplicationFactor", 5, KP__VMAX, KP__DEF(-1)),
    KP__F_ARRAY(configs, n_configs, "Configs", struct kp_create_topics_result_config,
                ct_result_config, 5, KP__VMAX, KP__NUL(5, KP__VMAX)),
};
#undef KP__S
KP__STRUCT(ct_result, struct kp_create_topics_result, ct_result_f);

#define KP__S struct kp_create_topics_resp
static const struct kp__field ct_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 2, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_create_topics_result, ct_result, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(ct_resp, struct kp_create_topics_resp, ct_resp_f);

const struct kp__api kp__api_create_topics = {KP__INFO(CREATE_TOPICS), &ct_req, &ct_resp};

KP__CODEC(kp_create_topics_req, struct kp_create_topics_req, kp__api_create_topics, req)
KP__CODEC(kp_create_topics_resp, struct kp_create_topics_resp, kp__api_create_topics, resp)

/* ---- DeleteTopics ------------------------------------------------------------------------ */

#define KP__S struct kp_delete_topics_topic
static const struct kp__field dt_topic_f[] = {
    KP__F_STR(name, "Name", 6, KP__VMAX, KP__NUL(6, KP__VMAX), KP__DNULL),
    KP__F_UUID(topic_id, "TopicId", 6, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dt_topic, struct kp_delete_topics_topic, dt_topic_f);

#define KP__S struct kp_delete_topics_req
static const struct kp__field dt_req_f[] = {
    KP__F_ARRAY(topic_states, n_topic_states, "Topics", struct kp_delete_topics_topic, dt_topic, 6,
                KP__VMAX),
    KP__F_STRS(topic_names, n_topics, "TopicNames", 0, 5),
    KP__F_I32(timeout_ms, "TimeoutMs", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dt_req, struct kp_delete_topics_req, dt_req_f);

#define KP__S struct kp_delete_topics_result
static const struct kp__field dt_result_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX, KP__NUL(6, KP__VMAX)),
    KP__F_UUID(topic_id, "TopicId", 6, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_STR(error_message, "ErrorMessage", 5, KP__VMAX, KP__NUL(5, KP__VMAX), KP__DNULL),
};
#undef KP__S
KP__STRUCT(dt_result, struct kp_delete_topics_result, dt_result_f);

#define KP__S struct kp_delete_topics_resp
static const struct kp__field dt_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 1, KP__VMAX),
    KP__F_ARRAY(results, n_results, "Responses", struct kp_delete_topics_result, dt_result, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(dt_resp, struct kp_delete_topics_resp, dt_resp_f);

const struct kp__api kp__api_delete_topics = {KP__INFO(DELETE_TOPICS), &dt_req, &dt_resp};

KP__CODEC(kp_delete_topics_req, struct kp_delete_topics_req, kp__api_delete_topics, req)
KP__CODEC(kp_delete_topics_resp, struct kp_delete_topics_resp, kp__api_delete_topics, resp)
