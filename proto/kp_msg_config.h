/*
 * kp_msg_config — the config APIs: DescribeConfigs (32) v0-4, AlterConfigs (33) v0-2 and
 * IncrementalAlterConfigs (44) v0-1 (proto/kp_msg_config.c).
 *
 * Contract: exactly kp_msg.h's (four functions per message, body only, views into the
 * reader's buffer and arrays in the caller's arena, -EINVAL / -EBADMSG / -ENOMEM / -ENOSPC,
 * fields a version does not carry ignored on encode and defaulted on decode). Flexible from
 * DescribeConfigs v4, AlterConfigs v2, IncrementalAlterConfigs v1. Not advertised by the
 * broker until it handles them (kp_api_advertised()); kp_msg_codec_find() gives the ranges.
 */
#ifndef SPLICELOG_KP_MSG_CONFIG_H
#define SPLICELOG_KP_MSG_CONFIG_H

#include "kp_msg.h"

/* Config resource types (Kafka's ConfigResource.Type). */
enum kp_config_resource {
    KP_CONFIG_RESOURCE_UNKNOWN = 0,
    KP_CONFIG_RESOURCE_TOPIC = 2,
    KP_CONFIG_RESOURCE_BROKER = 4,
    KP_CONFIG_RESOURCE_BROKER_LOGGER = 8,
};

/* Where a config value comes from (DescribeConfigs v1+ config_source and synonym source). */
enum kp_config_source {
    KP_CONFIG_SOURCE_UNKNOWN = 0,
    KP_CONFIG_SOURCE_DYNAMIC_TOPIC = 1,
    KP_CONFIG_SOURCE_DYNAMIC_BROKER = 2,
    KP_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER = 3,
    KP_CONFIG_SOURCE_STATIC_BROKER = 4,
    KP_CONFIG_SOURCE_DEFAULT = 5,
    KP_CONFIG_SOURCE_DYNAMIC_BROKER_LOGGER = 6,
};

/* A config's type (DescribeConfigs v3+ config_type). */
enum kp_config_type {
    KP_CONFIG_TYPE_UNKNOWN = 0,
    KP_CONFIG_TYPE_BOOLEAN = 1,
    KP_CONFIG_TYPE_STRING = 2,
    KP_CONFIG_TYPE_INT = 3,
    KP_CONFIG_TYPE_SHORT = 4,
    KP_CONFIG_TYPE_LONG = 5,
    KP_CONFIG_TYPE_DOUBLE = 6,
    KP_CONFIG_TYPE_LIST = 7,
    KP_CONFIG_TYPE_CLASS = 8,
    KP_CONFIG_TYPE_PASSWORD = 9,
};

/* IncrementalAlterConfigs operations. */
enum kp_config_op {
    KP_CONFIG_OP_SET = 0,
    KP_CONFIG_OP_DELETE = 1,
    KP_CONFIG_OP_APPEND = 2,
    KP_CONFIG_OP_SUBTRACT = 3,
};

/* ---- DescribeConfigs (32) ------------------------------------------------------------------ */

struct kp_describe_configs_resource {
    int8_t resource_type;         /* enum kp_config_resource */
    struct kp_str resource_name;  /* topic name, or the broker id in decimal ("" = default) */
    int32_t n_configuration_keys; /* -1 (null): every config */
    const struct kp_str *configuration_keys;
};

struct kp_describe_configs_req {
    int32_t n_resources;
    const struct kp_describe_configs_resource *resources;
    bool include_synonyms;      /* v1+ */
    bool include_documentation; /* v3+ */
};

struct kp_describe_configs_synonym {
    struct kp_str name;
    struct kp_str value; /* nullable (sensitive values are null) */
    int8_t source;       /* enum kp_config_source */
};

struct kp_describe_configs_entry {
    struct kp_str name;
    struct kp_str value; /* nullable */
    bool read_only;
    bool is_default;      /* v0 only (v1+ says config_source) */
    int8_t config_source; /* v1+; Kafka's default -1 */
    bool is_sensitive;
    int32_t n_synonyms; /* v1+ */
    const struct kp_describe_configs_synonym *synonyms;
    int8_t config_type;          /* v3+, enum kp_config_type */
    struct kp_str documentation; /* v3+, nullable; a zeroed struct writes "" */
};

struct kp_describe_configs_result {
    int16_t error_code;
    struct kp_str error_message; /* nullable */
    int8_t resource_type;
    struct kp_str resource_name;
    int32_t n_configs;
    const struct kp_describe_configs_entry *configs;
};

struct kp_describe_configs_resp {
    int32_t throttle_time_ms;
    int32_t n_results;
    const struct kp_describe_configs_result *results;
};

int kp_describe_configs_req_encode(struct kp_wr *wr, int16_t version,
                                   const struct kp_describe_configs_req *req);
int kp_describe_configs_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                   struct kp_describe_configs_req *out);
int kp_describe_configs_resp_encode(struct kp_wr *wr, int16_t version,
                                    const struct kp_describe_configs_resp *resp);
int kp_describe_configs_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                    struct kp_describe_configs_resp *out);

/* ---- AlterConfigs (33): replaces a resource's whole dynamic config ------------------------- */

struct kp_alter_configs_config {
    struct kp_str name;
    struct kp_str value; /* nullable */
};

struct kp_alter_configs_resource {
    int8_t resource_type;
    struct kp_str resource_name;
    int32_t n_configs;
    const struct kp_alter_configs_config *configs;
};

struct kp_alter_configs_req {
    int32_t n_resources;
    const struct kp_alter_configs_resource *resources;
    bool validate_only;
};

/* The answer per resource, shared with IncrementalAlterConfigs. */
struct kp_alter_configs_result {
    int16_t error_code;
    struct kp_str error_message; /* nullable */
    int8_t resource_type;
    struct kp_str resource_name;
};

struct kp_alter_configs_resp {
    int32_t throttle_time_ms;
    int32_t n_responses;
    const struct kp_alter_configs_result *responses;
};

int kp_alter_configs_req_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_alter_configs_req *req);
int kp_alter_configs_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_alter_configs_req *out);
int kp_alter_configs_resp_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_alter_configs_resp *resp);
int kp_alter_configs_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_alter_configs_resp *out);

/* ---- IncrementalAlterConfigs (44): set / delete / append / subtract per key ---------------- */

struct kp_incremental_alter_configs_config {
    struct kp_str name;
    int8_t config_operation; /* enum kp_config_op */
    struct kp_str value;     /* nullable */
};

struct kp_incremental_alter_configs_resource {
    int8_t resource_type;
    struct kp_str resource_name;
    int32_t n_configs;
    const struct kp_incremental_alter_configs_config *configs;
};

struct kp_incremental_alter_configs_req {
    int32_t n_resources;
    const struct kp_incremental_alter_configs_resource *resources;
    bool validate_only;
};

/* Same shape as AlterConfigs' response. */
struct kp_incremental_alter_configs_resp {
    int32_t throttle_time_ms;
    int32_t n_responses;
    const struct kp_alter_configs_result *responses;
};

int kp_incremental_alter_configs_req_encode(struct kp_wr *wr, int16_t version,
                                            const struct kp_incremental_alter_configs_req *req);
int kp_incremental_alter_configs_req_decode(struct kp_rd *rd, int16_t version,
                                            struct kp_arena *arena,
                                            struct kp_incremental_alter_configs_req *out);
int kp_incremental_alter_configs_resp_encode(struct kp_wr *wr, int16_t version,
                                             const struct kp_incremental_alter_configs_resp *resp);
int kp_incremental_alter_configs_resp_decode(struct kp_rd *rd, int16_t version,
                                             struct kp_arena *arena,
                                             struct kp_incremental_alter_configs_resp *out);

#endif
