/*
 * kp_api — the Kafka APIs splicelog speaks and Kafka's error codes, each written once, as an
 * X-macro list from which every table about them is generated (libuv's UV_ERRNO_MAP habit).
 *
 * Contract
 * - Pure constants and lookups: no allocation, no mutable state, callable from any thread.
 * - KP_API_LIST is the one place an API's facts live: its key, Kafka's name, whether the broker
 *   serves it, the versions the broker advertises, the versions proto's codec handles, the
 *   first flexible version, and the stem that names its codec (kp_<stem>_req / kp_<stem>_resp
 *   and their _encode/_decode, kp_msg.h; the codec's table kp__api_<stem>, kp_schema.h) and
 *   its broker handler (br_api_<stem>, which proto never names: the broker expands the stem).
 *   From it come enum kp_api_key, the names, the flexible versions, kp_api_advertised()
 *   (exactly what the broker sends in ApiVersions, and what its dispatch accepts), the codecs'
 *   ranges (kp_msg_codec_find, the schema engine's version checks), the broker's dispatch
 *   switch and handler prototypes, the fuzz target's per-API table and the client's API
 *   constants. Adding an API is one row here plus its codec (kp_msg_*.c) and, to serve it, its
 *   handler (broker/api/) and the row's role SERVED with its advertised range.
 * - The security APIs (kp_msg_sec.h: SASL, ACLs, quotas, SCRAM credentials) have hand-written
 *   codecs outside the schema engine: their rows' tables (kp__api_<stem>) have no bodies, and
 *   the ones not served yet have no row.
 * - Two error spaces never mix (style.md): enum kp_err, generated from KP_ERR_LIST, holds
 *   Kafka's wire error codes with Kafka's numbers (clients/.../protocol/Errors.java);
 *   functions in proto/ return 0 or -errno. A kp_err value only ever travels inside a message
 *   struct's error_code field. The client's public sl_err values are tied to this list by
 *   _Static_assert (client/sl_err.c).
 */
#ifndef SPLICELOG_KP_API_H
#define SPLICELOG_KP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * X(ID, key, "Name", role, adv_min, adv_max, codec_min, codec_max, first_flexible, stem),
 * sorted by key (kp_msg_codec_at lists the codecs in this order; test_kp_schema checks it).
 *   role                  SERVED: the broker advertises the API and has its handler
 *                         (br_api_<stem>); CODEC: proto encodes and decodes it (clients, tools,
 *                         the broker's future handlers), the broker does not speak it yet.
 *                         SESSION: advertised, and answered by the connection's session layer
 *                         (the SASL APIs: broker/sec/br_auth.h), never by an API handler.
 *                         KP_API_IF_SERVED(role, ...) keeps its arguments for SERVED rows only,
 *                         KP_API_IF_ADVERTISED(role, ...) for SERVED and SESSION rows.
 *   adv_min..adv_max      SERVED rows: advertised in ApiVersions; dispatch accepts exactly
 *                         these. Below a row's minimum the broker closes the connection, as
 *                         Kafka 4.0 does for the versions KIP-896 removed (README, "Protocol
 *                         baseline"). CODEC rows: -1.
 *   codec_min..codec_max  what kp_<stem>_* encode and decode (kp_msg.h: kp_msg_codec_find).
 *                         Produce v0-2 are advertised but below the codec: they carry legacy
 *                         message sets, which the Produce handler refuses per partition in their
 *                         own layout; advertised from 0 because librdkafka enables gzip and
 *                         snappy only when the Produce range reaches v0, as Kafka 4.0 does.
 *   first_flexible        apache/kafka common/message/<Name>Request.json, flexibleVersions
 *                         (INT16_MAX: none).
 * FindCoordinator must contain 0 (librdkafka's BrokerGroupCoordinator feature gate);
 * OffsetFetch starts at 1 (kafkajs has no v0); OffsetCommit starts at 0 although Kafka 4.0
 * removed v0-1: sarama (up to 1.3x) commits with v1 whatever its configured version; and
 * DescribeConfigs starts at 0 (Kafka 4.0: 1) because sarama describes configs with v0 whatever
 * its configured version; ListOffsets starts at 0 (Kafka 4.0: 1) because Burrow 1.2 (Debian's)
 * asks the log end offsets with v0 whatever its configured version.
 */
/* clang-format off */
#define KP_API_LIST(X)                                                                              \
    X(PRODUCE,                   0, "Produce",                 SERVED, 0,  9,  3, 9,  9,  produce) \
    X(FETCH,                     1, "Fetch",                   SERVED, 4,  13, 4, 13, 12, fetch) \
    X(LIST_OFFSETS,              2, "ListOffsets",             SERVED, 0,  7,  0, 7,  6,  list_offsets) \
    X(METADATA,                  3, "Metadata",                SERVED, 0,  12, 0, 12, 9,  metadata) \
    X(OFFSET_COMMIT,             8, "OffsetCommit",            SERVED, 0,  8,  0, 8,  8,  offset_commit) \
    X(OFFSET_FETCH,              9, "OffsetFetch",             SERVED, 1,  7,  1, 8,  6,  offset_fetch) \
    X(FIND_COORDINATOR,         10, "FindCoordinator",         SERVED, 0,  4,  0, 4,  3,  find_coordinator) \
    X(JOIN_GROUP,               11, "JoinGroup",               SERVED, 0,  9,  0, 9,  6,  join_group) \
    X(HEARTBEAT,                12, "Heartbeat",               SERVED, 0,  4,  0, 4,  4,  heartbeat) \
    X(LEAVE_GROUP,              13, "LeaveGroup",              SERVED, 0,  5,  0, 5,  4,  leave_group) \
    X(SYNC_GROUP,               14, "SyncGroup",               SERVED, 0,  5,  0, 5,  4,  sync_group) \
    X(DESCRIBE_GROUPS,          15, "DescribeGroups",          SERVED, 0,  5,  0, 5,  5,  describe_groups) \
    X(LIST_GROUPS,              16, "ListGroups",              SERVED, 0,  5,  0, 5,  3,  list_groups) \
    X(SASL_HANDSHAKE,           17, "SaslHandshake",           SESSION, 0, 1,  0, 1,  INT16_MAX, sasl_handshake) \
    X(API_VERSIONS,             18, "ApiVersions",             SERVED, 0,  3,  0, 3,  3,  api_versions) \
    X(CREATE_TOPICS,            19, "CreateTopics",            SERVED, 0,  7,  0, 7,  5,  create_topics) \
    X(DELETE_TOPICS,            20, "DeleteTopics",            SERVED, 0,  6,  0, 6,  4,  delete_topics) \
    X(DELETE_RECORDS,           21, "DeleteRecords",           SERVED, 0,  2,  0, 2,  2,  delete_records) \
    X(INIT_PRODUCER_ID,         22, "InitProducerId",          SERVED, 0,  4,  0, 4,  2,  init_producer_id) \
    X(OFFSET_FOR_LEADER_EPOCH,  23, "OffsetForLeaderEpoch",    SERVED, 2,  4,  0, 4,  4,  offset_for_leader_epoch) \
    X(ADD_PARTITIONS_TO_TXN,    24, "AddPartitionsToTxn",      SERVED, 0,  3,  0, 3,  3,  add_partitions_to_txn) \
    X(ADD_OFFSETS_TO_TXN,       25, "AddOffsetsToTxn",         SERVED, 0,  3,  0, 3,  3,  add_offsets_to_txn) \
    X(END_TXN,                  26, "EndTxn",                  SERVED, 0,  3,  0, 3,  3,  end_txn) \
    X(WRITE_TXN_MARKERS,        27, "WriteTxnMarkers",         SERVED, 1,  1,  0, 1,  1,  write_txn_markers) \
    X(TXN_OFFSET_COMMIT,        28, "TxnOffsetCommit",         SERVED, 0,  3,  0, 3,  3,  txn_offset_commit) \
    X(DESCRIBE_ACLS,            29, "DescribeAcls",            SERVED, 1,  3,  0, 3,  2,  describe_acls) \
    X(CREATE_ACLS,              30, "CreateAcls",              SERVED, 1,  3,  0, 3,  2,  create_acls) \
    X(DELETE_ACLS,              31, "DeleteAcls",              SERVED, 1,  3,  0, 3,  2,  delete_acls) \
    X(DESCRIBE_CONFIGS,         32, "DescribeConfigs",         SERVED, 0,  4,  0, 4,  4,  describe_configs) \
    X(ALTER_CONFIGS,            33, "AlterConfigs",            SERVED, 0,  2,  0, 2,  2,  alter_configs) \
    X(DESCRIBE_LOG_DIRS,        35, "DescribeLogDirs",         SERVED, 1,  4,  0, 4,  2,  describe_log_dirs) \
    X(SASL_AUTHENTICATE,        36, "SaslAuthenticate",        SESSION, 0, 2,  0, 2,  2,  sasl_authenticate) \
    X(CREATE_PARTITIONS,        37, "CreatePartitions",        SERVED, 0,  3,  0, 3,  2,  create_partitions) \
    X(DELETE_GROUPS,            42, "DeleteGroups",            SERVED, 0,  2,  0, 2,  2,  delete_groups) \
    X(ELECT_LEADERS,            43, "ElectLeaders",            SERVED, 0,  2,  0, 2,  2,  elect_leaders) \
    X(INCREMENTAL_ALTER_CONFIGS, 44, "IncrementalAlterConfigs", SERVED, 0, 1,  0, 1,  1,  incremental_alter_configs) \
    X(OFFSET_DELETE,            47, "OffsetDelete",            SERVED, 0,  0,  0, 0,  INT16_MAX, offset_delete) \
    X(DESCRIBE_CLIENT_QUOTAS,   48, "DescribeClientQuotas",    SERVED, 0,  1,  0, 1,  1,  describe_client_quotas) \
    X(ALTER_CLIENT_QUOTAS,      49, "AlterClientQuotas",       SERVED, 0,  1,  0, 1,  1,  alter_client_quotas) \
    X(DESCRIBE_USER_SCRAM_CREDENTIALS, 50, "DescribeUserScramCredentials", SERVED, 0, 0, 0, 0, 0, describe_user_scram_credentials) \
    X(ALTER_USER_SCRAM_CREDENTIALS, 51, "AlterUserScramCredentials", SERVED, 0, 0, 0, 0, 0, alter_user_scram_credentials) \
    X(DESCRIBE_CLUSTER,         60, "DescribeCluster",         SERVED, 0,  1,  0, 1,  0,  describe_cluster)
/* clang-format on */

#define KP_API_IF_SERVED(role, ...) KP__IF_##role(__VA_ARGS__)
#define KP__IF_SERVED(...)          __VA_ARGS__
#define KP__IF_CODEC(...)
#define KP__IF_SESSION(...)
#define KP_API_IF_ADVERTISED(role, ...) KP__ADV_##role(__VA_ARGS__)
#define KP__ADV_SERVED(...)             __VA_ARGS__
#define KP__ADV_SESSION(...)            __VA_ARGS__
#define KP__ADV_CODEC(...)

enum kp_api_key {
#define KP__API_KEY(id, key, ...) KP_API_##id = key,
    KP_API_LIST(KP__API_KEY)
#undef KP__API_KEY
};

/* Per API: KP_API_<ID>_VMIN/_VMAX (advertised; -1 for CODEC rows), _CODEC_VMIN/_CODEC_VMAX,
 * _FLEX. */
enum {
#define KP__API_VERS(id, key, name, role, amin, amax, cmin, cmax, flex, stem)                      \
    KP_API_##id##_VMIN = amin, KP_API_##id##_VMAX = amax, KP_API_##id##_CODEC_VMIN = cmin,         \
    KP_API_##id##_CODEC_VMAX = cmax, KP_API_##id##_FLEX = flex,
    KP_API_LIST(KP__API_VERS)
#undef KP__API_VERS
};

/* E(NAME, code): Kafka's wire error codes (int16 on the wire), Kafka's names and numbers. */
/* clang-format off */
#define KP_ERR_LIST(E)                                                                             \
    E(UNKNOWN_SERVER_ERROR, -1)                                                                    \
    E(NONE, 0)                                                                                     \
    E(OFFSET_OUT_OF_RANGE, 1)                                                                      \
    E(CORRUPT_MESSAGE, 2)                                                                          \
    E(UNKNOWN_TOPIC_OR_PARTITION, 3)                                                               \
    E(INVALID_FETCH_SIZE, 4)                                                                       \
    E(LEADER_NOT_AVAILABLE, 5)                                                                     \
    E(NOT_LEADER_OR_FOLLOWER, 6)                                                                   \
    E(REQUEST_TIMED_OUT, 7)                                                                        \
    E(BROKER_NOT_AVAILABLE, 8)                                                                     \
    E(REPLICA_NOT_AVAILABLE, 9)                                                                    \
    E(MESSAGE_TOO_LARGE, 10)                                                                       \
    E(STALE_CONTROLLER_EPOCH, 11)                                                                  \
    E(OFFSET_METADATA_TOO_LARGE, 12)                                                               \
    E(NETWORK_EXCEPTION, 13)                                                                       \
    E(COORDINATOR_LOAD_IN_PROGRESS, 14)                                                            \
    E(COORDINATOR_NOT_AVAILABLE, 15)                                                               \
    E(NOT_COORDINATOR, 16)                                                                         \
    E(INVALID_TOPIC_EXCEPTION, 17)                                                                 \
    E(RECORD_LIST_TOO_LARGE, 18)                                                                   \
    E(NOT_ENOUGH_REPLICAS, 19)                                                                     \
    E(NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20)                                                        \
    E(INVALID_REQUIRED_ACKS, 21)                                                                   \
    E(ILLEGAL_GENERATION, 22)                                                                      \
    E(INCONSISTENT_GROUP_PROTOCOL, 23)                                                             \
    E(INVALID_GROUP_ID, 24)                                                                        \
    E(UNKNOWN_MEMBER_ID, 25)                                                                       \
    E(INVALID_SESSION_TIMEOUT, 26)                                                                 \
    E(REBALANCE_IN_PROGRESS, 27)                                                                   \
    E(INVALID_COMMIT_OFFSET_SIZE, 28)                                                              \
    E(TOPIC_AUTHORIZATION_FAILED, 29)                                                              \
    E(GROUP_AUTHORIZATION_FAILED, 30)                                                              \
    E(CLUSTER_AUTHORIZATION_FAILED, 31)                                                            \
    E(INVALID_TIMESTAMP, 32)                                                                       \
    E(UNSUPPORTED_SASL_MECHANISM, 33)                                                              \
    E(ILLEGAL_SASL_STATE, 34)                                                                      \
    E(UNSUPPORTED_VERSION, 35)                                                                     \
    E(TOPIC_ALREADY_EXISTS, 36)                                                                    \
    E(INVALID_PARTITIONS, 37)                                                                      \
    E(INVALID_REPLICATION_FACTOR, 38)                                                              \
    E(INVALID_REPLICA_ASSIGNMENT, 39)                                                              \
    E(INVALID_CONFIG, 40)                                                                          \
    E(NOT_CONTROLLER, 41)                                                                          \
    E(INVALID_REQUEST, 42)                                                                         \
    E(UNSUPPORTED_FOR_MESSAGE_FORMAT, 43)                                                          \
    E(POLICY_VIOLATION, 44)                                                                        \
    E(OUT_OF_ORDER_SEQUENCE_NUMBER, 45)                                                            \
    E(DUPLICATE_SEQUENCE_NUMBER, 46)                                                               \
    E(INVALID_PRODUCER_EPOCH, 47)                                                                  \
    E(INVALID_TXN_STATE, 48)                                                                       \
    E(INVALID_PRODUCER_ID_MAPPING, 49)                                                             \
    E(INVALID_TRANSACTION_TIMEOUT, 50)                                                             \
    E(CONCURRENT_TRANSACTIONS, 51)                                                                 \
    E(TRANSACTION_COORDINATOR_FENCED, 52)                                                          \
    E(TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53)                                                   \
    E(SECURITY_DISABLED, 54)                                                                       \
    E(OPERATION_NOT_ATTEMPTED, 55)                                                                 \
    E(KAFKA_STORAGE_ERROR, 56)                                                                     \
    E(LOG_DIR_NOT_FOUND, 57)                                                                       \
    E(SASL_AUTHENTICATION_FAILED, 58)                                                              \
    E(UNKNOWN_PRODUCER_ID, 59)                                                                     \
    E(NON_EMPTY_GROUP, 68)                                                                         \
    E(GROUP_ID_NOT_FOUND, 69)                                                                      \
    E(FETCH_SESSION_ID_NOT_FOUND, 70)                                                              \
    E(INVALID_FETCH_SESSION_EPOCH, 71)                                                             \
    E(TOPIC_DELETION_DISABLED, 73)                                                                 \
    E(FENCED_LEADER_EPOCH, 74)                                                                     \
    E(UNKNOWN_LEADER_EPOCH, 75)                                                                    \
    E(UNSUPPORTED_COMPRESSION_TYPE, 76)                                                            \
    E(OFFSET_NOT_AVAILABLE, 78)                                                                    \
    E(MEMBER_ID_REQUIRED, 79)                                                                      \
    E(PREFERRED_LEADER_NOT_AVAILABLE, 80)                                                          \
    E(GROUP_MAX_SIZE_REACHED, 81)                                                                  \
    E(FENCED_INSTANCE_ID, 82)                                                                      \
    E(ELIGIBLE_LEADERS_NOT_AVAILABLE, 83)                                                          \
    E(ELECTION_NOT_NEEDED, 84)                                                                     \
    E(GROUP_SUBSCRIBED_TO_TOPIC, 86)                                                               \
    E(INVALID_RECORD, 87)                                                                          \
    E(UNSTABLE_OFFSET_COMMIT, 88)                                                                  \
    E(PRODUCER_FENCED, 90)                                                                         \
    E(RESOURCE_NOT_FOUND, 91)                                                                      \
    E(DUPLICATE_RESOURCE, 92)                                                                      \
    E(UNACCEPTABLE_CREDENTIAL, 93)                                                                 \
    E(UNKNOWN_TOPIC_ID, 100)                                                                       \
    E(UNSUPPORTED_ENDPOINT_TYPE, 119)
/* clang-format on */

enum kp_err {
#define KP__ERR(name, code) KP_ERR_##name = code,
    KP_ERR_LIST(KP__ERR)
#undef KP__ERR
};

/* Kafka's name for a wire error code ("UNSUPPORTED_VERSION"); "UNKNOWN" for other codes. */
const char *kp_err_name(int16_t code);

/* Kafka's name for an API key ("ApiVersions"); "Unknown" for keys not in enum kp_api_key. */
const char *kp_api_name(int16_t api_key);

/* One row of the ApiVersions table: the version range of one API key. */
struct kp_api_range {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
};

/*
 * The table the broker advertises (KP_API_LIST's adv_min..adv_max), sorted by api_key; *n
 * receives the number of rows. The memory is static and read-only.
 */
const struct kp_api_range *kp_api_advertised(size_t *n);

/* The advertised row for api_key, or NULL when the broker does not advertise that key. */
const struct kp_api_range *kp_api_find(int16_t api_key);

/* True when (api_key, version) lies in the advertised table. */
bool kp_api_supported(int16_t api_key, int16_t version);

/*
 * True when (api_key, version) uses Kafka's flexible encoding (compact types, tagged fields,
 * request header v2). Versions below a key's first flexible version are not; keys unknown to
 * kp_api_key are treated as not flexible.
 */
bool kp_api_flexible(int16_t api_key, int16_t version);

/* Request header version for (key, version): 2 when flexible, else 1. */
int kp_api_req_hdr_version(int16_t api_key, int16_t version);

/* Response header version: 1 when flexible, else 0; ApiVersions always uses 0. */
int kp_api_resp_hdr_version(int16_t api_key, int16_t version);

#endif
