/*
 * kp_msg_config — DescribeConfigs (32) v0-4, AlterConfigs (33) v0-2 and
 * IncrementalAlterConfigs (44) v0-1 (kp_msg_config.h), as tables for the kp_schema walker in
 * Kafka's field order with the versions that carry each field ("lo, KP__VMAX" is Kafka's
 * "lo+"), from apache/kafka .../common/message/<Name>{Request,Response}.json.
 *
 * DescribeConfigs v1 replaced is_default with config_source and added synonyms (the values a
 * config would have from each source, most specific first); v3 added config_type and
 * documentation; v4 is flexible. AlterConfigs and IncrementalAlterConfigs answer with the
 * same per-resource result.
 */
#include "kp_msg_config.h"
#include "kp_msg_int.h"
#include "kp_schema.h"

/* ---- DescribeConfigs -------------------------------------------------------------------- */

#define KP__S struct kp_describe_configs_resource
static const struct kp__field dc_resource_f[] = {
    KP__F_I8(resource_type, "ResourceType", 0, KP__VMAX),
    KP__F_STR(resource_name, "ResourceName", 0, KP__VMAX),
    KP__F_STRS(configuration_keys, n_configuration_keys, "ConfigurationKeys", 0, KP__VMAX,
               KP__NUL(0, KP__VMAX)),
};
#undef KP__S
KP__STRUCT(dc_resource, struct kp_describe_configs_resource, dc_resource_f);

#define KP__S struct kp_describe_configs_req
static const struct kp__field dc_req_f[] = {
    KP__F_ARRAY(resources, n_resources, "Resources", struct kp_describe_configs_resource,
                dc_resource, 0, KP__VMAX),
    KP__F_BOOL(include_synonyms, "IncludeSynonyms", 1, KP__VMAX),
    KP__F_BOOL(include_documentation, "IncludeDocumentation", 3, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dc_req, struct kp_describe_configs_req, dc_req_f);

#define KP__S struct kp_describe_configs_synonym
static const struct kp__field dc_synonym_f[] = {
    KP__F_STR(name, "Name", 1, KP__VMAX),
    KP__F_STR(value, "Value", 1, KP__VMAX, KP__NUL(0, KP__VMAX)),
    KP__F_I8(source, "Source", 1, KP__VMAX),
};
#undef KP__S
KP__STRUCT(dc_synonym, struct kp_describe_configs_synonym, dc_synonym_f);

#define KP__S struct kp_describe_configs_entry
static const struct kp__field dc_entry_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_STR(value, "Value", 0, KP__VMAX, KP__NUL(0, KP__VMAX)),
    KP__F_BOOL(read_only, "ReadOnly", 0, KP__VMAX),
    KP__F_BOOL(is_default, "IsDefault", 0, 0),
    KP__F_I8(config_source, "ConfigSource", 1, KP__VMAX, KP__DEF(-1)),
    KP__F_BOOL(is_sensitive, "IsSensitive", 0, KP__VMAX),
    KP__F_ARRAY(synonyms, n_synonyms, "Synonyms", struct kp_describe_configs_synonym, dc_synonym, 1,
                KP__VMAX),
    KP__F_I8(config_type, "ConfigType", 3, KP__VMAX),
    KP__F_STR(documentation, "Documentation", 3, KP__VMAX, KP__NUL(0, KP__VMAX)),
};
#undef KP__S
KP__STRUCT(dc_entry, struct kp_describe_configs_entry, dc_entry_f);

#define KP__S struct kp_describe_configs_result
static const struct kp__field dc_result_f[] = {
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_STR(error_message, "ErrorMessage", 0, KP__VMAX, KP__NUL(0, KP__VMAX)),
    KP__F_I8(resource_type, "ResourceType", 0, KP__VMAX),
    KP__F_STR(resource_name, "ResourceName", 0, KP__VMAX),
    KP__F_ARRAY(configs, n_configs, "Configs", struct kp_describe_configs_entry, dc_entry, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(dc_result, struct kp_describe_configs_result, dc_result_f);

#define KP__S struct kp_describe_configs_resp
static const struct kp__field dc_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_ARRAY(results, n_results, "Results", struct kp_describe_configs_result, dc_result, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(dc_resp, struct kp_describe_configs_resp, dc_resp_f);

const struct kp__api kp__api_describe_configs = {KP__INFO(DESCRIBE_CONFIGS), &dc_req, &dc_resp};

KP__CODEC(kp_describe_configs_req, struct kp_describe_configs_req, kp__api_describe_configs, req)
KP__CODEC(kp_describe_configs_resp, struct kp_describe_configs_resp, kp__api_describe_configs, resp)

/* ---- AlterConfigs and IncrementalAlterConfigs ------------------------------------------- */

#define KP__S struct kp_alter_configs_config
static const struct kp__field ac_config_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_STR(value, "Value", 0, KP__VMAX, KP__NUL(0, KP__VMAX)),
};
#undef KP__S
KP__STRUCT(ac_config, struct kp_alter_configs_config, ac_config_f);

#define KP__S struct kp_alter_configs_resource
static const struct kp__field ac_resource_f[] = {
    KP__F_I8(resource_type, "ResourceType", 0, KP__VMAX),
    KP__F_STR(resource_name, "ResourceName", 0, KP__VMAX),
    KP__F_ARRAY(configs, n_configs, "Configs", struct kp_alter_configs_config, ac_config, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(ac_resource, struct kp_alter_configs_resource, ac_resource_f);

#define KP__S struct kp_alter_configs_req
static const struct kp__field ac_req_f[] = {
    KP__F_ARRAY(resources, n_resources, "Resources", struct kp_alter_configs_resource, ac_resource,
                0, KP__VMAX),
    KP__F_BOOL(validate_only, "ValidateOnly", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(ac_req, struct kp_alter_configs_req, ac_req_f);

#define KP__S struct kp_alter_configs_result
static const struct kp__field ac_result_f[] = {
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_STR(error_message, "ErrorMessage", 0, KP__VMAX, KP__NUL(0, KP__VMAX)),
    KP__F_I8(resource_type, "ResourceType", 0, KP__VMAX),
    KP__F_STR(resource_name, "ResourceName", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(ac_result, struct kp_alter_configs_result, ac_result_f);

#define KP__S struct kp_alter_configs_resp
static const struct kp__field ac_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_ARRAY(responses, n_responses, "Responses", struct kp_alter_configs_result, ac_result, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(ac_resp, struct kp_alter_configs_resp, ac_resp_f);

const struct kp__api kp__api_alter_configs = {KP__INFO(ALTER_CONFIGS), &ac_req, &ac_resp};

KP__CODEC(kp_alter_configs_req, struct kp_alter_configs_req, kp__api_alter_configs, req)
KP__CODEC(kp_alter_configs_resp, struct kp_alter_configs_resp, kp__api_alter_configs, resp)

#define KP__S struct kp_incremental_alter_configs_config
static const struct kp__field iac_config_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_I8(config_operation, "ConfigOperation", 0, KP__VMAX),
    KP__F_STR(value, "Value", 0, KP__VMAX, KP__NUL(0, KP__VMAX)),
};
#undef KP__S
KP__STRUCT(iac_config, struct kp_incremental_alter_configs_config, iac_config_f);

#define KP__S struct kp_incremental_alter_configs_resource
static const struct kp__field iac_resource_f[] = {
    KP__F_I8(resource_type, "ResourceType", 0, KP__VMAX),
    KP__F_STR(resource_name, "ResourceName", 0, KP__VMAX),
    KP__F_ARRAY(configs, n_configs, "Configs", struct kp_incremental_alter_configs_config,
                iac_config, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(iac_resource, struct kp_incremental_alter_configs_resource, iac_resource_f);

#define KP__S struct kp_incremental_alter_configs_req
static const struct kp__field iac_req_f[] = {
    KP__F_ARRAY(resources, n_resources, "Resources", struct kp_incremental_alter_configs_resource,
                iac_resource, 0, KP__VMAX),
    KP__F_BOOL(validate_only, "ValidateOnly", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(iac_req, struct kp_incremental_alter_configs_req, iac_req_f);

#define KP__S struct kp_incremental_alter_configs_resp
static const struct kp__field iac_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_ARRAY(responses, n_responses, "Responses", struct kp_alter_configs_result, ac_result, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(iac_resp, struct kp_incremental_alter_configs_resp, iac_resp_f);

const struct kp__api kp__api_incremental_alter_configs = {KP__INFO(INCREMENTAL_ALTER_CONFIGS),
                                                          &iac_req, &iac_resp};

KP__CODEC(kp_incremental_alter_configs_req, struct kp_incremental_alter_configs_req,
          kp__api_incremental_alter_configs, req)
KP__CODEC(kp_incremental_alter_configs_resp, struct kp_incremental_alter_configs_resp,
          kp__api_incremental_alter_configs, resp)
