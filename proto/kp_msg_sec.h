/*
 * kp_msg_sec — the security and quota APIs: SaslHandshake (17) v0-1, SaslAuthenticate (36)
 * v0-2, DescribeAcls (29) v0-3, CreateAcls (30) v0-3, DeleteAcls (31) v0-3,
 * DescribeClientQuotas (48) v0-1, AlterClientQuotas (49) v0-1, DescribeUserScramCredentials
 * (50) v0 and AlterUserScramCredentials (51) v0 (proto/kp_msg_sec.c).
 *
 * Contract: exactly kp_msg.h's. Four functions per message (kp_<msg>_{req,resp}_{encode,
 * decode}), body only; views into the reader's buffer and arrays in the caller's arena;
 * -EINVAL (version outside the range above, or a value the version cannot carry: nothing is
 * written), -EBADMSG, -ENOMEM, -ENOSPC; fields a version does not carry are ignored on encode
 * and set to Kafka's default on decode ("vN+"). Flexible (KIP-482: compact strings, bytes and
 * arrays, a tag buffer after every struct) from SaslAuthenticate v2, the ACL APIs v2, the
 * quota APIs v1 and the SCRAM APIs v0; SaslHandshake never. Unknown tagged fields are skipped;
 * encoders write empty tag buffers (none of these messages has a known tagged field).
 *
 * Kafka's numbers for the int8 enums these messages carry are below (KP_ACL_*, KP_SCRAM_*,
 * KP_QUOTA_MATCH_*); the codecs carry any value, judging them is the broker's work.
 * Sources: apache/kafka clients/src/main/resources/common/message/<Name>{Request,Response}.json,
 * org.apache.kafka.common.{acl,resource}.*.
 */
#ifndef SPLICELOG_KP_MSG_SEC_H
#define SPLICELOG_KP_MSG_SEC_H

#include "kp_msg.h"

/* ResourceType (org.apache.kafka.common.resource.ResourceType). */
enum kp_acl_resource_type {
    KP_ACL_RESOURCE_UNKNOWN = 0,
    KP_ACL_RESOURCE_ANY = 1,
    KP_ACL_RESOURCE_TOPIC = 2,
    KP_ACL_RESOURCE_GROUP = 3,
    KP_ACL_RESOURCE_CLUSTER = 4,
    KP_ACL_RESOURCE_TRANSACTIONAL_ID = 5,
    KP_ACL_RESOURCE_DELEGATION_TOKEN = 6,
    KP_ACL_RESOURCE_USER = 7,
};

/* PatternType. */
enum kp_acl_pattern_type {
    KP_ACL_PATTERN_UNKNOWN = 0,
    KP_ACL_PATTERN_ANY = 1,
    KP_ACL_PATTERN_MATCH = 2,
    KP_ACL_PATTERN_LITERAL = 3,
    KP_ACL_PATTERN_PREFIXED = 4,
};

/* AclOperation. */
enum kp_acl_operation {
    KP_ACL_OP_UNKNOWN = 0,
    KP_ACL_OP_ANY = 1,
    KP_ACL_OP_ALL = 2,
    KP_ACL_OP_READ = 3,
    KP_ACL_OP_WRITE = 4,
    KP_ACL_OP_CREATE = 5,
    KP_ACL_OP_DELETE = 6,
    KP_ACL_OP_ALTER = 7,
    KP_ACL_OP_DESCRIBE = 8,
    KP_ACL_OP_CLUSTER_ACTION = 9,
    KP_ACL_OP_DESCRIBE_CONFIGS = 10,
    KP_ACL_OP_ALTER_CONFIGS = 11,
    KP_ACL_OP_IDEMPOTENT_WRITE = 12,
    KP_ACL_OP_CREATE_TOKENS = 13,
    KP_ACL_OP_DESCRIBE_TOKENS = 14,
};

/* AclPermissionType. */
enum kp_acl_permission {
    KP_ACL_PERM_UNKNOWN = 0,
    KP_ACL_PERM_ANY = 1,
    KP_ACL_PERM_DENY = 2,
    KP_ACL_PERM_ALLOW = 3,
};

/* ScramMechanism's type byte (DescribeUserScramCredentials, AlterUserScramCredentials). */
enum kp_scram_mechanism {
    KP_SCRAM_UNKNOWN = 0,
    KP_SCRAM_SHA_256 = 1,
    KP_SCRAM_SHA_512 = 2,
};

/* DescribeClientQuotas filter component match types. */
enum kp_quota_match {
    KP_QUOTA_MATCH_EXACT = 0,   /* entity name equals match */
    KP_QUOTA_MATCH_DEFAULT = 1, /* the default entity (name null) */
    KP_QUOTA_MATCH_ANY = 2,     /* any specified name (the default excluded) */
};

/* ---- SaslHandshake (17), v0-1, never flexible ---------------------------------------------- */

struct kp_sasl_handshake_req {
    struct kp_str mechanism;
};

struct kp_sasl_handshake_resp {
    int16_t error_code;
    int32_t n_mechanisms;
    const struct kp_str *mechanisms;
};

int kp_sasl_handshake_req_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_sasl_handshake_req *req);
int kp_sasl_handshake_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_sasl_handshake_req *out);
int kp_sasl_handshake_resp_encode(struct kp_wr *wr, int16_t version,
                                  const struct kp_sasl_handshake_resp *resp);
int kp_sasl_handshake_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                  struct kp_sasl_handshake_resp *out);

/* ---- SaslAuthenticate (36), v0-2, flexible from v2 (KIP-152; v1 adds the session lifetime) - */

struct kp_sasl_authenticate_req {
    struct kp_bytes auth_bytes; /* the mechanism's token; a null view is written as empty */
};

struct kp_sasl_authenticate_resp {
    int16_t error_code;
    struct kp_str error_message; /* nullable */
    struct kp_bytes auth_bytes;
    int64_t session_lifetime_ms; /* v1+ (KIP-368), 0 = none; 0 below v1 */
};

int kp_sasl_authenticate_req_encode(struct kp_wr *wr, int16_t version,
                                    const struct kp_sasl_authenticate_req *req);
int kp_sasl_authenticate_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                    struct kp_sasl_authenticate_req *out);
int kp_sasl_authenticate_resp_encode(struct kp_wr *wr, int16_t version,
                                     const struct kp_sasl_authenticate_resp *resp);
int kp_sasl_authenticate_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                     struct kp_sasl_authenticate_resp *out);

/*
 * The ACL APIs. Pattern types exist from v1; a v0 message carries LITERAL only, so the
 * encoders refuse (-EINVAL) a pattern_type other than KP_ACL_PATTERN_LITERAL at v0, as Kafka's
 * request and response classes do, and the decoders of v0 set it to LITERAL. v3 only widens
 * the resource types (USER); the bytes are those of v2.
 */

/* An ACL binding filter: DescribeAcls' request, DeleteAcls' filters. Null strings match any. */
struct kp_acl_filter {
    int8_t resource_type;        /* enum kp_acl_resource_type (ANY matches all) */
    struct kp_str resource_name; /* nullable */
    int8_t pattern_type;         /* v1+; LITERAL (3) below v1 */
    struct kp_str principal;     /* nullable */
    struct kp_str host;          /* nullable */
    int8_t operation;            /* enum kp_acl_operation (ANY matches all) */
    int8_t permission_type;      /* enum kp_acl_permission (ANY matches all) */
};

/* ---- DescribeAcls (29), v0-3, flexible from v2 --------------------------------------------- */

struct kp_describe_acls_req {
    struct kp_acl_filter filter;
};

struct kp_acl_description {
    struct kp_str principal;
    struct kp_str host;
    int8_t operation;
    int8_t permission_type;
};

struct kp_describe_acls_resource {
    int8_t resource_type;
    struct kp_str resource_name;
    int8_t pattern_type; /* v1+; LITERAL below v1 */
    int32_t n_acls;
    const struct kp_acl_description *acls;
};

struct kp_describe_acls_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    struct kp_str error_message; /* nullable */
    int32_t n_resources;
    const struct kp_describe_acls_resource *resources;
};

int kp_describe_acls_req_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_describe_acls_req *req);
int kp_describe_acls_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_describe_acls_req *out);
int kp_describe_acls_resp_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_describe_acls_resp *resp);
int kp_describe_acls_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_describe_acls_resp *out);

/* ---- CreateAcls (30), v0-3, flexible from v2 ----------------------------------------------- */

struct kp_acl_creation {
    int8_t resource_type;
    struct kp_str resource_name;
    int8_t pattern_type; /* v1+; LITERAL below v1 */
    struct kp_str principal;
    struct kp_str host;
    int8_t operation;
    int8_t permission_type;
};

struct kp_create_acls_req {
    int32_t n_creations;
    const struct kp_acl_creation *creations;
};

/* One creation's result (CreateAcls), in request order. */
struct kp_acl_result {
    int16_t error_code;
    struct kp_str error_message; /* nullable */
};

struct kp_create_acls_resp {
    int32_t throttle_time_ms;
    int32_t n_results;
    const struct kp_acl_result *results;
};

int kp_create_acls_req_encode(struct kp_wr *wr, int16_t version,
                              const struct kp_create_acls_req *req);
int kp_create_acls_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                              struct kp_create_acls_req *out);
int kp_create_acls_resp_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_create_acls_resp *resp);
int kp_create_acls_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_create_acls_resp *out);

/* ---- DeleteAcls (31), v0-3, flexible from v2 ----------------------------------------------- */

struct kp_delete_acls_req {
    int32_t n_filters;
    const struct kp_acl_filter *filters;
};

struct kp_delete_acls_matching_acl {
    int16_t error_code;
    struct kp_str error_message; /* nullable */
    int8_t resource_type;
    struct kp_str resource_name;
    int8_t pattern_type; /* v1+; LITERAL below v1 */
    struct kp_str principal;
    struct kp_str host;
    int8_t operation;
    int8_t permission_type;
};

struct kp_delete_acls_filter_result {
    int16_t error_code;
    struct kp_str error_message; /* nullable */
    int32_t n_matching_acls;
    const struct kp_delete_acls_matching_acl *matching_acls;
};

struct kp_delete_acls_resp {
    int32_t throttle_time_ms;
    int32_t n_filter_results;
    const struct kp_delete_acls_filter_result *filter_results;
};

int kp_delete_acls_req_encode(struct kp_wr *wr, int16_t version,
                              const struct kp_delete_acls_req *req);
int kp_delete_acls_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                              struct kp_delete_acls_req *out);
int kp_delete_acls_resp_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_delete_acls_resp *resp);
int kp_delete_acls_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_delete_acls_resp *out);

/* ---- DescribeClientQuotas (48), v0-1, flexible from v1 (KIP-546) --------------------------- */

struct kp_quota_filter_component {
    struct kp_str entity_type; /* "user", "client-id", "ip" */
    int8_t match_type;         /* enum kp_quota_match */
    struct kp_str match;       /* nullable: unused for DEFAULT and ANY */
};

struct kp_describe_client_quotas_req {
    int32_t n_components;
    const struct kp_quota_filter_component *components;
    bool strict; /* exclude entities with entity types the filter does not name */
};

/* One (type, name) part of a quota entity; a null name is that type's default. */
struct kp_quota_entity {
    struct kp_str entity_type;
    struct kp_str entity_name; /* nullable */
};

struct kp_quota_value {
    struct kp_str key; /* "producer_byte_rate", "consumer_byte_rate", "request_percentage" */
    double value;      /* float64: IEEE 754 binary64, big-endian */
};

struct kp_describe_client_quotas_entry {
    int32_t n_entity;
    const struct kp_quota_entity *entity;
    int32_t n_values;
    const struct kp_quota_value *values;
};

struct kp_describe_client_quotas_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    struct kp_str error_message; /* nullable */
    int32_t n_entries;           /* -1 = null (Kafka sends null with an error) */
    const struct kp_describe_client_quotas_entry *entries;
};

int kp_describe_client_quotas_req_encode(struct kp_wr *wr, int16_t version,
                                         const struct kp_describe_client_quotas_req *req);
int kp_describe_client_quotas_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                         struct kp_describe_client_quotas_req *out);
int kp_describe_client_quotas_resp_encode(struct kp_wr *wr, int16_t version,
                                          const struct kp_describe_client_quotas_resp *resp);
int kp_describe_client_quotas_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                          struct kp_describe_client_quotas_resp *out);

/* ---- AlterClientQuotas (49), v0-1, flexible from v1 ---------------------------------------- */

struct kp_quota_op {
    struct kp_str key;
    double value; /* ignored when remove */
    bool remove;
};

struct kp_alter_client_quotas_entry {
    int32_t n_entity;
    const struct kp_quota_entity *entity;
    int32_t n_ops;
    const struct kp_quota_op *ops;
};

struct kp_alter_client_quotas_req {
    int32_t n_entries;
    const struct kp_alter_client_quotas_entry *entries;
    bool validate_only;
};

struct kp_alter_client_quotas_result {
    int16_t error_code;
    struct kp_str error_message; /* nullable */
    int32_t n_entity;
    const struct kp_quota_entity *entity;
};

struct kp_alter_client_quotas_resp {
    int32_t throttle_time_ms;
    int32_t n_entries;
    const struct kp_alter_client_quotas_result *entries;
};

int kp_alter_client_quotas_req_encode(struct kp_wr *wr, int16_t version,
                                      const struct kp_alter_client_quotas_req *req);
int kp_alter_client_quotas_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                      struct kp_alter_client_quotas_req *out);
int kp_alter_client_quotas_resp_encode(struct kp_wr *wr, int16_t version,
                                       const struct kp_alter_client_quotas_resp *resp);
int kp_alter_client_quotas_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                       struct kp_alter_client_quotas_resp *out);

/* ---- DescribeUserScramCredentials (50), v0, flexible (KIP-554) ----------------------------- */

struct kp_describe_user_scram_credentials_req {
    int32_t n_users; /* -1 = null: every user (as is 0) */
    const struct kp_str *users;
};

struct kp_scram_credential_info {
    int8_t mechanism; /* enum kp_scram_mechanism */
    int32_t iterations;
};

struct kp_describe_user_scram_credentials_result {
    struct kp_str user;
    int16_t error_code;
    struct kp_str error_message; /* nullable */
    int32_t n_credential_infos;
    const struct kp_scram_credential_info *credential_infos;
};

struct kp_describe_user_scram_credentials_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    struct kp_str error_message; /* nullable */
    int32_t n_results;
    const struct kp_describe_user_scram_credentials_result *results;
};

int kp_describe_user_scram_credentials_req_encode(
    struct kp_wr *wr, int16_t version, const struct kp_describe_user_scram_credentials_req *req);
int kp_describe_user_scram_credentials_req_decode(
    struct kp_rd *rd, int16_t version, struct kp_arena *arena,
    struct kp_describe_user_scram_credentials_req *out);
int kp_describe_user_scram_credentials_resp_encode(
    struct kp_wr *wr, int16_t version, const struct kp_describe_user_scram_credentials_resp *resp);
int kp_describe_user_scram_credentials_resp_decode(
    struct kp_rd *rd, int16_t version, struct kp_arena *arena,
    struct kp_describe_user_scram_credentials_resp *out);

/* ---- AlterUserScramCredentials (51), v0, flexible (KIP-554) -------------------------------- */

struct kp_scram_credential_deletion {
    struct kp_str name;
    int8_t mechanism;
};

/* The client sends the salted password (Hi(password, salt, i)), never the password. */
struct kp_scram_credential_upsertion {
    struct kp_str name;
    int8_t mechanism;
    int32_t iterations;
    struct kp_bytes salt;
    struct kp_bytes salted_password;
};

struct kp_alter_user_scram_credentials_req {
    int32_t n_deletions;
    const struct kp_scram_credential_deletion *deletions;
    int32_t n_upsertions;
    const struct kp_scram_credential_upsertion *upsertions;
};

struct kp_alter_user_scram_credentials_result {
    struct kp_str user;
    int16_t error_code;
    struct kp_str error_message; /* nullable */
};

struct kp_alter_user_scram_credentials_resp {
    int32_t throttle_time_ms;
    int32_t n_results;
    const struct kp_alter_user_scram_credentials_result *results;
};

int kp_alter_user_scram_credentials_req_encode(
    struct kp_wr *wr, int16_t version, const struct kp_alter_user_scram_credentials_req *req);
int kp_alter_user_scram_credentials_req_decode(struct kp_rd *rd, int16_t version,
                                               struct kp_arena *arena,
                                               struct kp_alter_user_scram_credentials_req *out);
int kp_alter_user_scram_credentials_resp_encode(
    struct kp_wr *wr, int16_t version, const struct kp_alter_user_scram_credentials_resp *resp);
int kp_alter_user_scram_credentials_resp_decode(struct kp_rd *rd, int16_t version,
                                                struct kp_arena *arena,
                                                struct kp_alter_user_scram_credentials_resp *out);

#endif
