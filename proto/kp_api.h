/*
 * kp_api — Kafka API keys, Kafka error codes, and the table of API versions splicelog speaks.
 *
 * Contract
 * - Pure constants and lookups: no allocation, no mutable state, callable from any thread.
 * - Two error spaces never mix (style.md): enum kp_err holds Kafka's wire error codes with
 *   Kafka's numbers (clients/.../protocol/Errors.java); functions in proto/ return 0 or
 *   -errno. A kp_err value only ever travels inside a message struct's error_code field.
 * - kp_api_advertised() is exactly the table the broker sends in ApiVersions (design:
 *   kafka-protocol-notes.md §0). It lists only APIs that proto/ can encode and decode; the
 *   group APIs (8-14) and InitProducerId (22) get their rows when their codecs land.
 * - kp_api_flexible() answers for every (key, version) Kafka defines up to the versions the
 *   clients we target send, implemented or not, so a header can be parsed (and a proper
 *   error returned) even for a version the broker will reject.
 */
#ifndef SPLICELOG_KP_API_H
#define SPLICELOG_KP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kp_api_key {
    KP_API_PRODUCE = 0,
    KP_API_FETCH = 1,
    KP_API_LIST_OFFSETS = 2,
    KP_API_METADATA = 3,
    KP_API_OFFSET_COMMIT = 8,
    KP_API_OFFSET_FETCH = 9,
    KP_API_FIND_COORDINATOR = 10,
    KP_API_JOIN_GROUP = 11,
    KP_API_HEARTBEAT = 12,
    KP_API_LEAVE_GROUP = 13,
    KP_API_SYNC_GROUP = 14,
    KP_API_API_VERSIONS = 18,
    KP_API_CREATE_TOPICS = 19,
    KP_API_DELETE_TOPICS = 20,
    KP_API_INIT_PRODUCER_ID = 22,
};

/* Kafka wire error codes (int16 on the wire), Kafka's numbers. */
enum kp_err {
    KP_ERR_UNKNOWN_SERVER_ERROR = -1,
    KP_ERR_NONE = 0,
    KP_ERR_OFFSET_OUT_OF_RANGE = 1,
    KP_ERR_CORRUPT_MESSAGE = 2,
    KP_ERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
    KP_ERR_INVALID_FETCH_SIZE = 4,
    KP_ERR_LEADER_NOT_AVAILABLE = 5,
    KP_ERR_NOT_LEADER_OR_FOLLOWER = 6,
    KP_ERR_REQUEST_TIMED_OUT = 7,
    KP_ERR_BROKER_NOT_AVAILABLE = 8,
    KP_ERR_REPLICA_NOT_AVAILABLE = 9,
    KP_ERR_MESSAGE_TOO_LARGE = 10,
    KP_ERR_STALE_CONTROLLER_EPOCH = 11,
    KP_ERR_OFFSET_METADATA_TOO_LARGE = 12,
    KP_ERR_NETWORK_EXCEPTION = 13,
    KP_ERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    KP_ERR_COORDINATOR_NOT_AVAILABLE = 15,
    KP_ERR_NOT_COORDINATOR = 16,
    KP_ERR_INVALID_TOPIC_EXCEPTION = 17,
    KP_ERR_RECORD_LIST_TOO_LARGE = 18,
    KP_ERR_NOT_ENOUGH_REPLICAS = 19,
    KP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20,
    KP_ERR_INVALID_REQUIRED_ACKS = 21,
    KP_ERR_ILLEGAL_GENERATION = 22,
    KP_ERR_INCONSISTENT_GROUP_PROTOCOL = 23,
    KP_ERR_INVALID_GROUP_ID = 24,
    KP_ERR_UNKNOWN_MEMBER_ID = 25,
    KP_ERR_INVALID_SESSION_TIMEOUT = 26,
    KP_ERR_REBALANCE_IN_PROGRESS = 27,
    KP_ERR_INVALID_COMMIT_OFFSET_SIZE = 28,
    KP_ERR_TOPIC_AUTHORIZATION_FAILED = 29,
    KP_ERR_GROUP_AUTHORIZATION_FAILED = 30,
    KP_ERR_CLUSTER_AUTHORIZATION_FAILED = 31,
    KP_ERR_INVALID_TIMESTAMP = 32,
    KP_ERR_UNSUPPORTED_SASL_MECHANISM = 33,
    KP_ERR_ILLEGAL_SASL_STATE = 34,
    KP_ERR_UNSUPPORTED_VERSION = 35,
    KP_ERR_TOPIC_ALREADY_EXISTS = 36,
    KP_ERR_INVALID_PARTITIONS = 37,
    KP_ERR_INVALID_REPLICATION_FACTOR = 38,
    KP_ERR_INVALID_REPLICA_ASSIGNMENT = 39,
    KP_ERR_INVALID_CONFIG = 40,
    KP_ERR_NOT_CONTROLLER = 41,
    KP_ERR_INVALID_REQUEST = 42,
    KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT = 43,
    KP_ERR_POLICY_VIOLATION = 44,
    KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    KP_ERR_DUPLICATE_SEQUENCE_NUMBER = 46,
    KP_ERR_INVALID_PRODUCER_EPOCH = 47,
    KP_ERR_INVALID_TXN_STATE = 48,
    KP_ERR_INVALID_PRODUCER_ID_MAPPING = 49,
    KP_ERR_INVALID_TRANSACTION_TIMEOUT = 50,
    KP_ERR_CONCURRENT_TRANSACTIONS = 51,
    KP_ERR_TRANSACTION_COORDINATOR_FENCED = 52,
    KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53,
    KP_ERR_OPERATION_NOT_ATTEMPTED = 55,
    KP_ERR_KAFKA_STORAGE_ERROR = 56,
    KP_ERR_UNKNOWN_PRODUCER_ID = 59,
    KP_ERR_FETCH_SESSION_ID_NOT_FOUND = 70,
    KP_ERR_INVALID_FETCH_SESSION_EPOCH = 71,
    KP_ERR_TOPIC_DELETION_DISABLED = 73,
    KP_ERR_FENCED_LEADER_EPOCH = 74,
    KP_ERR_UNKNOWN_LEADER_EPOCH = 75,
    KP_ERR_UNSUPPORTED_COMPRESSION_TYPE = 76,
    KP_ERR_OFFSET_NOT_AVAILABLE = 78,
    KP_ERR_MEMBER_ID_REQUIRED = 79,
    KP_ERR_GROUP_MAX_SIZE_REACHED = 81,
    KP_ERR_FENCED_INSTANCE_ID = 82,
    KP_ERR_INVALID_RECORD = 87,
    KP_ERR_UNSTABLE_OFFSET_COMMIT = 88,
    KP_ERR_PRODUCER_FENCED = 90,
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
 * The table the broker advertises, sorted by api_key; *n receives the number of rows. The
 * memory is static and read-only. Only APIs with a complete codec in proto/ appear.
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
