/*
 * kp_api — see kp_api.h. The advertised table is kafka-protocol-notes.md §0 restricted to the
 * APIs proto/ implements; the first flexible versions come from apache/kafka's message
 * schemas (clients/src/main/resources/common/message/<Name>Request.json, flexibleVersions).
 */
#include "kp_api.h"

/*
 * Sorted by api_key. Add a row only together with its codec in kp_msg_*.c and its handler in
 * the broker (notes §0). FindCoordinator must contain 0: librdkafka's BrokerGroupCoordinator
 * feature gate; OffsetFetch starts at 1 (kafkajs has no v0). OffsetCommit starts at 0 although
 * Kafka 4.0 removed v0-1 (KIP-896): sarama (up to 1.3x) commits with v1 whatever its
 * configured version, and v0-1 cost nothing more than v2 here. Below a row's minimum the
 * broker closes the connection, as Kafka 4.0 does (README, "Protocol baseline").
 */
static const struct kp_api_range advertised[] = {
    {KP_API_PRODUCE, 3, 7},          {KP_API_FETCH, 4, 11},        {KP_API_LIST_OFFSETS, 1, 2},
    {KP_API_METADATA, 0, 4},         {KP_API_OFFSET_COMMIT, 0, 5}, {KP_API_OFFSET_FETCH, 1, 4},
    {KP_API_FIND_COORDINATOR, 0, 2}, {KP_API_JOIN_GROUP, 0, 5},    {KP_API_HEARTBEAT, 0, 3},
    {KP_API_LEAVE_GROUP, 0, 1},      {KP_API_SYNC_GROUP, 0, 3},    {KP_API_API_VERSIONS, 0, 3},
    {KP_API_CREATE_TOPICS, 0, 4},    {KP_API_DELETE_TOPICS, 0, 3},
};

#define N_ADVERTISED (sizeof(advertised) / sizeof(advertised[0]))

const struct kp_api_range *kp_api_advertised(size_t *n)
{
    *n = N_ADVERTISED;
    return advertised;
}

const struct kp_api_range *kp_api_find(int16_t api_key)
{
    for (size_t i = 0; i < N_ADVERTISED; i++)
        if (advertised[i].api_key == api_key)
            return &advertised[i];
    return NULL;
}

bool kp_api_supported(int16_t api_key, int16_t version)
{
    const struct kp_api_range *r = kp_api_find(api_key);
    return r && version >= r->min_version && version <= r->max_version;
}

/* Kafka's name and first flexible version of every key in enum kp_api_key. */
struct api_info {
    int16_t api_key;
    int16_t first_flexible;
    const char *name;
};

static const struct api_info infos[] = {
    {KP_API_PRODUCE, 9, "Produce"},
    {KP_API_FETCH, 12, "Fetch"},
    {KP_API_LIST_OFFSETS, 6, "ListOffsets"},
    {KP_API_METADATA, 9, "Metadata"},
    {KP_API_OFFSET_COMMIT, 8, "OffsetCommit"},
    {KP_API_OFFSET_FETCH, 6, "OffsetFetch"},
    {KP_API_FIND_COORDINATOR, 3, "FindCoordinator"},
    {KP_API_JOIN_GROUP, 6, "JoinGroup"},
    {KP_API_HEARTBEAT, 4, "Heartbeat"},
    {KP_API_LEAVE_GROUP, 4, "LeaveGroup"},
    {KP_API_SYNC_GROUP, 4, "SyncGroup"},
    {KP_API_API_VERSIONS, 3, "ApiVersions"},
    {KP_API_CREATE_TOPICS, 5, "CreateTopics"},
    {KP_API_DELETE_TOPICS, 4, "DeleteTopics"},
    {KP_API_INIT_PRODUCER_ID, 2, "InitProducerId"},
};

static const struct api_info *api_info(int16_t api_key)
{
    for (size_t i = 0; i < sizeof(infos) / sizeof(infos[0]); i++)
        if (infos[i].api_key == api_key)
            return &infos[i];
    return NULL;
}

const char *kp_api_name(int16_t api_key)
{
    const struct api_info *i = api_info(api_key);
    return i ? i->name : "Unknown";
}

bool kp_api_flexible(int16_t api_key, int16_t version)
{
    const struct api_info *i = api_info(api_key);
    return i && version >= i->first_flexible;
}

int kp_api_req_hdr_version(int16_t api_key, int16_t version)
{
    return kp_api_flexible(api_key, version) ? 2 : 1;
}

int kp_api_resp_hdr_version(int16_t api_key, int16_t version)
{
    /* ApiVersions answers with header v0 at every version, so that a client that does not
     * yet know the broker's versions can always read the correlation id. */
    if (api_key == KP_API_API_VERSIONS)
        return 0;
    return kp_api_flexible(api_key, version) ? 1 : 0;
}

const char *kp_err_name(int16_t code)
{
    switch ((enum kp_err)code) {
#define E(x)                                                                                       \
    case KP_ERR_##x:                                                                               \
        return #x;
        E(UNKNOWN_SERVER_ERROR)
        E(NONE)
        E(OFFSET_OUT_OF_RANGE)
        E(CORRUPT_MESSAGE)
        E(UNKNOWN_TOPIC_OR_PARTITION)
        E(INVALID_FETCH_SIZE)
        E(LEADER_NOT_AVAILABLE)
        E(NOT_LEADER_OR_FOLLOWER)
        E(REQUEST_TIMED_OUT)
        E(BROKER_NOT_AVAILABLE)
        E(REPLICA_NOT_AVAILABLE)
        E(MESSAGE_TOO_LARGE)
        E(STALE_CONTROLLER_EPOCH)
        E(OFFSET_METADATA_TOO_LARGE)
        E(NETWORK_EXCEPTION)
        E(COORDINATOR_LOAD_IN_PROGRESS)
        E(COORDINATOR_NOT_AVAILABLE)
        E(NOT_COORDINATOR)
        E(INVALID_TOPIC_EXCEPTION)
        E(RECORD_LIST_TOO_LARGE)
        E(NOT_ENOUGH_REPLICAS)
        E(NOT_ENOUGH_REPLICAS_AFTER_APPEND)
        E(INVALID_REQUIRED_ACKS)
        E(ILLEGAL_GENERATION)
        E(INCONSISTENT_GROUP_PROTOCOL)
        E(INVALID_GROUP_ID)
        E(UNKNOWN_MEMBER_ID)
        E(INVALID_SESSION_TIMEOUT)
        E(REBALANCE_IN_PROGRESS)
        E(INVALID_COMMIT_OFFSET_SIZE)
        E(TOPIC_AUTHORIZATION_FAILED)
        E(GROUP_AUTHORIZATION_FAILED)
        E(CLUSTER_AUTHORIZATION_FAILED)
        E(INVALID_TIMESTAMP)
        E(UNSUPPORTED_SASL_MECHANISM)
        E(ILLEGAL_SASL_STATE)
        E(UNSUPPORTED_VERSION)
        E(TOPIC_ALREADY_EXISTS)
        E(INVALID_PARTITIONS)
        E(INVALID_REPLICATION_FACTOR)
        E(INVALID_REPLICA_ASSIGNMENT)
        E(INVALID_CONFIG)
        E(NOT_CONTROLLER)
        E(INVALID_REQUEST)
        E(UNSUPPORTED_FOR_MESSAGE_FORMAT)
        E(POLICY_VIOLATION)
        E(OUT_OF_ORDER_SEQUENCE_NUMBER)
        E(DUPLICATE_SEQUENCE_NUMBER)
        E(INVALID_PRODUCER_EPOCH)
        E(INVALID_TXN_STATE)
        E(INVALID_PRODUCER_ID_MAPPING)
        E(INVALID_TRANSACTION_TIMEOUT)
        E(CONCURRENT_TRANSACTIONS)
        E(TRANSACTION_COORDINATOR_FENCED)
        E(TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        E(OPERATION_NOT_ATTEMPTED)
        E(KAFKA_STORAGE_ERROR)
        E(UNKNOWN_PRODUCER_ID)
        E(FETCH_SESSION_ID_NOT_FOUND)
        E(INVALID_FETCH_SESSION_EPOCH)
        E(TOPIC_DELETION_DISABLED)
        E(FENCED_LEADER_EPOCH)
        E(UNKNOWN_LEADER_EPOCH)
        E(UNSUPPORTED_COMPRESSION_TYPE)
        E(OFFSET_NOT_AVAILABLE)
        E(MEMBER_ID_REQUIRED)
        E(GROUP_MAX_SIZE_REACHED)
        E(FENCED_INSTANCE_ID)
        E(INVALID_RECORD)
        E(UNSTABLE_OFFSET_COMMIT)
        E(PRODUCER_FENCED)
#undef E
    }
    return "UNKNOWN";
}
