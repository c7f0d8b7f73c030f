/*
 * kp_api — the Kafka APIs splicelog speaks and Kafka's error codes, each written once, as an
 * X-macro list from which every table about them is generated (libuv's UV_ERRNO_MAP habit).
 *
 * Contract
 * - Pure constants and lookups: no allocation, no mutable state, callable from any thread.
 * - KP_API_LIST is the one place an API's facts live: its key, Kafka's name, the versions the
 *   broker advertises, the versions proto's codec handles, the first flexible version, and
 *   the stem that names its codec (kp_<stem>_req / kp_<stem>_resp and their
 *   _encode/_decode, kp_msg.h) and its broker handler (br_api_<stem>, which proto never names:
 *   the broker expands the stem). From it come enum kp_api_key, the names, the flexible
 *   versions, kp_api_advertised() (exactly what the broker sends in ApiVersions, and what its
 *   dispatch accepts), the codecs' version checks, the broker's dispatch switch and handler
 *   prototypes, the fuzz target's per-API switches and the client's API constants. Adding an
 *   API is one row here plus its codec (kp_msg_*.c) and its handler (broker/).
 * - KP_API_KNOWN_LIST holds APIs known by name and flexible version only (no codec, never
 *   advertised), so a header of theirs parses and a log line names them.
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
 * X(ID, key, "Name", adv_min, adv_max, codec_min, codec_max, first_flexible, stem), sorted by
 * key.
 *   adv_min..adv_max      advertised in ApiVersions; dispatch accepts exactly these. Below a
 *                         row's minimum the broker closes the connection, as Kafka 4.0 does
 *                         for the versions KIP-896 removed (README, "Protocol baseline").
 *   codec_min..codec_max  what kp_<stem>_* encode and decode. Narrower than advertised only
 *                         where the handler answers the other versions itself: Produce v0-2
 *                         carry legacy message sets, refused per partition in their own layout;
 *                         advertised from 0 because librdkafka enables gzip and snappy only
 *                         when the Produce range reaches v0 (its feature table), as Kafka 4.0.
 *   first_flexible        apache/kafka common/message/<Name>Request.json, flexibleVersions.
 * FindCoordinator must contain 0 (librdkafka's BrokerGroupCoordinator feature gate);
 * OffsetFetch starts at 1 (kafkajs has no v0); OffsetCommit starts at 0 although Kafka 4.0
 * removed v0-1: sarama (up to 1.3x) commits with v1 whatever its configured version.
 */
/* clang-format off */
#define KP_API_LIST(X)                                                                             \
    X(PRODUCE, 0, "Produce", 0, 7, 3, 7, 9, produce)                                               \
    X(FETCH, 1, "Fetch", 4, 11, 4, 11, 12, fetch)                                                  \
    X(LIST_OFFSETS, 2, "ListOffsets", 1, 2, 1, 2, 6, list_offsets)                                 \
    X(METADATA, 3, "Metadata", 0, 4, 0, 4, 9, metadata)                                            \
    X(OFFSET_COMMIT, 8, "OffsetCommit", 0, 5, 0, 5, 8, offset_commit)                              \
    X(OFFSET_FETCH, 9, "OffsetFetch", 1, 4, 1, 4, 6, offset_fetch)                                 \
    X(FIND_COORDINATOR, 10, "FindCoordinator", 0, 2, 0, 2, 3, find_coordinator)                    \
    X(JOIN_GROUP, 11, "JoinGroup", 0, 5, 0, 5, 6, join_group)                                      \
    X(HEARTBEAT, 12, "Heartbeat", 0, 3, 0, 3, 4, heartbeat)                                        \
    X(LEAVE_GROUP, 13, "LeaveGroup", 0, 1, 0, 1, 4, leave_group)                                   \
    X(SYNC_GROUP, 14, "SyncGroup", 0, 3, 0, 3, 4, sync_group)                                      \
    X(API_VERSIONS, 18, "ApiVersions", 0, 3, 0, 3, 3, api_versions)                                \
    X(CREATE_TOPICS, 19, "CreateTopics", 0, 4, 0, 4, 5, create_topics)                             \
    X(DELETE_TOPICS, 20, "DeleteTopics", 0, 3, 0, 3, 4, delete_topics)

/* Y(ID, key, "Name", first_flexible): known by name only. */
#define KP_API_KNOWN_LIST(Y)                                                                       \
    Y(INIT_PRODUCER_ID, 22, "InitProducerId", 2)
/* clang-format on */

enum kp_api_key {
#define KP__API_KEY(id, key, ...) KP_API_##id = key,
    KP_API_LIST(KP__API_KEY) KP_API_KNOWN_LIST(KP__API_KEY)
#undef KP__API_KEY
};

/* Per spoken API: KP_API_<ID>_VMIN/_VMAX (advertised), _CODEC_VMIN/_CODEC_VMAX, _FLEX. */
enum {
#define KP__API_VERS(id, key, name, amin, amax, cmin, cmax, flex, stem)                            \
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
    E(KAFKA_STORAGE_ERROR, 56)                                                                     \
    E(UNKNOWN_PRODUCER_ID, 59)                                                                     \
    E(FETCH_SESSION_ID_NOT_FOUND, 70)                                                              \
    E(INVALID_FETCH_SESSION_EPOCH, 71)                                                             \
    E(TOPIC_DELETION_DISABLED, 73)                                                                 \
    E(FENCED_LEADER_EPOCH, 74)                                                                     \
    E(UNKNOWN_LEADER_EPOCH, 75)                                                                    \
    E(UNSUPPORTED_COMPRESSION_TYPE, 76)                                                            \
    E(OFFSET_NOT_AVAILABLE, 78)                                                                    \
    E(MEMBER_ID_REQUIRED, 79)                                                                      \
    E(GROUP_MAX_SIZE_REACHED, 81)                                                                  \
    E(FENCED_INSTANCE_ID, 82)                                                                      \
    E(INVALID_RECORD, 87)                                                                          \
    E(UNSTABLE_OFFSET_COMMIT, 88)
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

/* The versions proto's codec handles for api_key (KP_API_LIST's codec_min..codec_max), or
 * NULL for a key without a codec. */
const struct kp_api_range *kp_api_codec(int16_t api_key);

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
