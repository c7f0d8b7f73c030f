/*
 * sl_err.c — names and descriptions of sl_err values, and the errno mapping used at the
 * public edge.
 */
#include <errno.h>
#include <stddef.h>

#include "sl_int.h"

/* The Kafka codes of sl_err are proto's (one list of Kafka's numbers: kp_api.h); every code
 * proto knows has its sl_err value. */
_Static_assert((int)SL_ERR_UNKNOWN == KP_ERR_UNKNOWN_SERVER_ERROR, "SL_ERR_UNKNOWN");
_Static_assert((int)SL_ERR_NO_ERROR == KP_ERR_NONE, "SL_ERR_NO_ERROR");
_Static_assert((int)SL_ERR_OFFSET_OUT_OF_RANGE == KP_ERR_OFFSET_OUT_OF_RANGE,
               "SL_ERR_OFFSET_OUT_OF_RANGE");
_Static_assert((int)SL_ERR_CORRUPT_MESSAGE == KP_ERR_CORRUPT_MESSAGE, "SL_ERR_CORRUPT_MESSAGE");
_Static_assert((int)SL_ERR_UNKNOWN_TOPIC_OR_PART == KP_ERR_UNKNOWN_TOPIC_OR_PARTITION,
               "SL_ERR_UNKNOWN_TOPIC_OR_PART");
_Static_assert((int)SL_ERR_INVALID_FETCH_SIZE == KP_ERR_INVALID_FETCH_SIZE,
               "SL_ERR_INVALID_FETCH_SIZE");
_Static_assert((int)SL_ERR_LEADER_NOT_AVAILABLE == KP_ERR_LEADER_NOT_AVAILABLE,
               "SL_ERR_LEADER_NOT_AVAILABLE");
_Static_assert((int)SL_ERR_NOT_LEADER_OR_FOLLOWER == KP_ERR_NOT_LEADER_OR_FOLLOWER,
               "SL_ERR_NOT_LEADER_OR_FOLLOWER");
_Static_assert((int)SL_ERR_REQUEST_TIMED_OUT == KP_ERR_REQUEST_TIMED_OUT,
               "SL_ERR_REQUEST_TIMED_OUT");
_Static_assert((int)SL_ERR_BROKER_NOT_AVAILABLE == KP_ERR_BROKER_NOT_AVAILABLE,
               "SL_ERR_BROKER_NOT_AVAILABLE");
_Static_assert((int)SL_ERR_REPLICA_NOT_AVAILABLE == KP_ERR_REPLICA_NOT_AVAILABLE,
               "SL_ERR_REPLICA_NOT_AVAILABLE");
_Static_assert((int)SL_ERR_MSG_SIZE_TOO_LARGE == KP_ERR_MESSAGE_TOO_LARGE,
               "SL_ERR_MSG_SIZE_TOO_LARGE");
_Static_assert((int)SL_ERR_STALE_CTRL_EPOCH == KP_ERR_STALE_CONTROLLER_EPOCH,
               "SL_ERR_STALE_CTRL_EPOCH");
_Static_assert((int)SL_ERR_OFFSET_METADATA_TOO_LARGE == KP_ERR_OFFSET_METADATA_TOO_LARGE,
               "SL_ERR_OFFSET_METADATA_TOO_LARGE");
_Static_assert((int)SL_ERR_NETWORK_EXCEPTION == KP_ERR_NETWORK_EXCEPTION,
               "SL_ERR_NETWORK_EXCEPTION");
_Static_assert((int)SL_ERR_COORDINATOR_LOAD_IN_PROGRESS == KP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
               "SL_ERR_COORDINATOR_LOAD_IN_PROGRESS");
_Static_assert((int)SL_ERR_COORDINATOR_NOT_AVAILABLE == KP_ERR_COORDINATOR_NOT_AVAILABLE,
               "SL_ERR_COORDINATOR_NOT_AVAILABLE");
_Static_assert((int)SL_ERR_NOT_COORDINATOR == KP_ERR_NOT_COORDINATOR, "SL_ERR_NOT_COORDINATOR");
_Static_assert((int)SL_ERR_TOPIC_EXCEPTION == KP_ERR_INVALID_TOPIC_EXCEPTION,
               "SL_ERR_TOPIC_EXCEPTION");
_Static_assert((int)SL_ERR_RECORD_LIST_TOO_LARGE == KP_ERR_RECORD_LIST_TOO_LARGE,
               "SL_ERR_RECORD_LIST_TOO_LARGE");
_Static_assert((int)SL_ERR_NOT_ENOUGH_REPLICAS == KP_ERR_NOT_ENOUGH_REPLICAS,
               "SL_ERR_NOT_ENOUGH_REPLICAS");
_Static_assert((int)SL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND ==
                   KP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
               "SL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND");
_Static_assert((int)SL_ERR_INVALID_REQUIRED_ACKS == KP_ERR_INVALID_REQUIRED_ACKS,
               "SL_ERR_INVALID_REQUIRED_ACKS");
_Static_assert((int)SL_ERR_ILLEGAL_GENERATION == KP_ERR_ILLEGAL_GENERATION,
               "SL_ERR_ILLEGAL_GENERATION");
_Static_assert((int)SL_ERR_INCONSISTENT_GROUP_PROTOCOL == KP_ERR_INCONSISTENT_GROUP_PROTOCOL,
               "SL_ERR_INCONSISTENT_GROUP_PROTOCOL");
_Static_assert((int)SL_ERR_INVALID_GROUP_ID == KP_ERR_INVALID_GROUP_ID, "SL_ERR_INVALID_GROUP_ID");
_Static_assert((int)SL_ERR_UNKNOWN_MEMBER_ID == KP_ERR_UNKNOWN_MEMBER_ID,
               "SL_ERR_UNKNOWN_MEMBER_ID");
_Static_assert((int)SL_ERR_INVALID_SESSION_TIMEOUT == KP_ERR_INVALID_SESSION_TIMEOUT,
               "SL_ERR_INVALID_SESSION_TIMEOUT");
_Static_assert((int)SL_ERR_REBALANCE_IN_PROGRESS == KP_ERR_REBALANCE_IN_PROGRESS,
               "SL_ERR_REBALANCE_IN_PROGRESS");
_Static_assert((int)SL_ERR_INVALID_COMMIT_OFFSET_SIZE == KP_ERR_INVALID_COMMIT_OFFSET_SIZE,
               "SL_ERR_INVALID_COMMIT_OFFSET_SIZE");
_Static_assert((int)SL_ERR_TOPIC_AUTHORIZATION_FAILED == KP_ERR_TOPIC_AUTHORIZATION_FAILED,
               "SL_ERR_TOPIC_AUTHORIZATION_FAILED");
_Static_assert((int)SL_ERR_GROUP_AUTHORIZATION_FAILED == KP_ERR_GROUP_AUTHORIZATION_FAILED,
               "SL_ERR_GROUP_AUTHORIZATION_FAILED");
_Static_assert((int)SL_ERR_CLUSTER_AUTHORIZATION_FAILED == KP_ERR_CLUSTER_AUTHORIZATION_FAILED,
               "SL_ERR_CLUSTER_AUTHORIZATION_FAILED");
_Static_assert((int)SL_ERR_INVALID_TIMESTAMP == KP_ERR_INVALID_TIMESTAMP,
               "SL_ERR_INVALID_TIMESTAMP");
_Static_assert((int)SL_ERR_UNSUPPORTED_SASL_MECHANISM == KP_ERR_UNSUPPORTED_SASL_MECHANISM,
               "SL_ERR_UNSUPPORTED_SASL_MECHANISM");
_Static_assert((int)SL_ERR_ILLEGAL_SASL_STATE == KP_ERR_ILLEGAL_SASL_STATE,
               "SL_ERR_ILLEGAL_SASL_STATE");
_Static_assert((int)SL_ERR_UNSUPPORTED_VERSION == KP_ERR_UNSUPPORTED_VERSION,
               "SL_ERR_UNSUPPORTED_VERSION");
_Static_assert((int)SL_ERR_TOPIC_ALREADY_EXISTS == KP_ERR_TOPIC_ALREADY_EXISTS,
               "SL_ERR_TOPIC_ALREADY_EXISTS");
_Static_assert((int)SL_ERR_INVALID_PARTITIONS == KP_ERR_INVALID_PARTITIONS,
               "SL_ERR_INVALID_PARTITIONS");
_Static_assert((int)SL_ERR_INVALID_REPLICATION_FACTOR == KP_ERR_INVALID_REPLICATION_FACTOR,
               "SL_ERR_INVALID_REPLICATION_FACTOR");
_Static_assert((int)SL_ERR_INVALID_REPLICA_ASSIGNMENT == KP_ERR_INVALID_REPLICA_ASSIGNMENT,
               "SL_ERR_INVALID_REPLICA_ASSIGNMENT");
_Static_assert((int)SL_ERR_INVALID_CONFIG == KP_ERR_INVALID_CONFIG, "SL_ERR_INVALID_CONFIG");
_Static_assert((int)SL_ERR_NOT_CONTROLLER == KP_ERR_NOT_CONTROLLER, "SL_ERR_NOT_CONTROLLER");
_Static_assert((int)SL_ERR_INVALID_REQUEST == KP_ERR_INVALID_REQUEST, "SL_ERR_INVALID_REQUEST");
_Static_assert((int)SL_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT == KP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT,
               "SL_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT");
_Static_assert((int)SL_ERR_POLICY_VIOLATION == KP_ERR_POLICY_VIOLATION, "SL_ERR_POLICY_VIOLATION");
_Static_assert((int)SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER == KP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
               "SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER");
_Static_assert((int)SL_ERR_DUPLICATE_SEQUENCE_NUMBER == KP_ERR_DUPLICATE_SEQUENCE_NUMBER,
               "SL_ERR_DUPLICATE_SEQUENCE_NUMBER");
_Static_assert((int)SL_ERR_INVALID_PRODUCER_EPOCH == KP_ERR_INVALID_PRODUCER_EPOCH,
               "SL_ERR_INVALID_PRODUCER_EPOCH");
_Static_assert((int)SL_ERR_INVALID_TXN_STATE == KP_ERR_INVALID_TXN_STATE,
               "SL_ERR_INVALID_TXN_STATE");
_Static_assert((int)SL_ERR_INVALID_PRODUCER_ID_MAPPING == KP_ERR_INVALID_PRODUCER_ID_MAPPING,
               "SL_ERR_INVALID_PRODUCER_ID_MAPPING");
_Static_assert((int)SL_ERR_INVALID_TRANSACTION_TIMEOUT == KP_ERR_INVALID_TRANSACTION_TIMEOUT,
               "SL_ERR_INVALID_TRANSACTION_TIMEOUT");
_Static_assert((int)SL_ERR_CONCURRENT_TRANSACTIONS == KP_ERR_CONCURRENT_TRANSACTIONS,
               "SL_ERR_CONCURRENT_TRANSACTIONS");
_Static_assert((int)SL_ERR_TRANSACTION_COORDINATOR_FENCED == KP_ERR_TRANSACTION_COORDINATOR_FENCED,
               "SL_ERR_TRANSACTION_COORDINATOR_FENCED");
_Static_assert((int)SL_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED ==
                   KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
               "SL_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED");
_Static_assert((int)SL_ERR_KAFKA_STORAGE_ERROR == KP_ERR_KAFKA_STORAGE_ERROR,
               "SL_ERR_KAFKA_STORAGE_ERROR");
_Static_assert((int)SL_ERR_UNKNOWN_PRODUCER_ID == KP_ERR_UNKNOWN_PRODUCER_ID,
               "SL_ERR_UNKNOWN_PRODUCER_ID");
_Static_assert((int)SL_ERR_FETCH_SESSION_ID_NOT_FOUND == KP_ERR_FETCH_SESSION_ID_NOT_FOUND,
               "SL_ERR_FETCH_SESSION_ID_NOT_FOUND");
_Static_assert((int)SL_ERR_INVALID_FETCH_SESSION_EPOCH == KP_ERR_INVALID_FETCH_SESSION_EPOCH,
               "SL_ERR_INVALID_FETCH_SESSION_EPOCH");
_Static_assert((int)SL_ERR_TOPIC_DELETION_DISABLED == KP_ERR_TOPIC_DELETION_DISABLED,
               "SL_ERR_TOPIC_DELETION_DISABLED");
_Static_assert((int)SL_ERR_FENCED_LEADER_EPOCH == KP_ERR_FENCED_LEADER_EPOCH,
               "SL_ERR_FENCED_LEADER_EPOCH");
_Static_assert((int)SL_ERR_UNKNOWN_LEADER_EPOCH == KP_ERR_UNKNOWN_LEADER_EPOCH,
               "SL_ERR_UNKNOWN_LEADER_EPOCH");
_Static_assert((int)SL_ERR_UNSUPPORTED_COMPRESSION_TYPE == KP_ERR_UNSUPPORTED_COMPRESSION_TYPE,
               "SL_ERR_UNSUPPORTED_COMPRESSION_TYPE");
_Static_assert((int)SL_ERR_OFFSET_NOT_AVAILABLE == KP_ERR_OFFSET_NOT_AVAILABLE,
               "SL_ERR_OFFSET_NOT_AVAILABLE");
_Static_assert((int)SL_ERR_MEMBER_ID_REQUIRED == KP_ERR_MEMBER_ID_REQUIRED,
               "SL_ERR_MEMBER_ID_REQUIRED");
_Static_assert((int)SL_ERR_GROUP_MAX_SIZE_REACHED == KP_ERR_GROUP_MAX_SIZE_REACHED,
               "SL_ERR_GROUP_MAX_SIZE_REACHED");
_Static_assert((int)SL_ERR_FENCED_INSTANCE_ID == KP_ERR_FENCED_INSTANCE_ID,
               "SL_ERR_FENCED_INSTANCE_ID");
_Static_assert((int)SL_ERR_PREFERRED_LEADER_NOT_AVAILABLE == KP_ERR_PREFERRED_LEADER_NOT_AVAILABLE,
               "SL_ERR_PREFERRED_LEADER_NOT_AVAILABLE");
_Static_assert((int)SL_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE == KP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE,
               "SL_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE");
_Static_assert((int)SL_ERR_ELECTION_NOT_NEEDED == KP_ERR_ELECTION_NOT_NEEDED,
               "SL_ERR_ELECTION_NOT_NEEDED");
_Static_assert((int)SL_ERR_INVALID_RECORD == KP_ERR_INVALID_RECORD, "SL_ERR_INVALID_RECORD");
_Static_assert((int)SL_ERR_UNSTABLE_OFFSET_COMMIT == KP_ERR_UNSTABLE_OFFSET_COMMIT,
               "SL_ERR_UNSTABLE_OFFSET_COMMIT");
_Static_assert((int)SL_ERR_PRODUCER_FENCED == KP_ERR_PRODUCER_FENCED, "SL_ERR_PRODUCER_FENCED");
_Static_assert((int)SL_ERR_SECURITY_DISABLED == KP_ERR_SECURITY_DISABLED,
               "SL_ERR_SECURITY_DISABLED");
_Static_assert((int)SL_ERR_SASL_AUTHENTICATION_FAILED == KP_ERR_SASL_AUTHENTICATION_FAILED,
               "SL_ERR_SASL_AUTHENTICATION_FAILED");
_Static_assert((int)SL_ERR_RESOURCE_NOT_FOUND == KP_ERR_RESOURCE_NOT_FOUND,
               "SL_ERR_RESOURCE_NOT_FOUND");
_Static_assert((int)SL_ERR_DUPLICATE_RESOURCE == KP_ERR_DUPLICATE_RESOURCE,
               "SL_ERR_DUPLICATE_RESOURCE");
_Static_assert((int)SL_ERR_UNACCEPTABLE_CREDENTIAL == KP_ERR_UNACCEPTABLE_CREDENTIAL,
               "SL_ERR_UNACCEPTABLE_CREDENTIAL");

struct desc {
    sl_err err;
    const char *name;
    const char *str;
};

static const struct desc descs[] = {
    {SL_ERR__TRANSPORT, "_TRANSPORT", "Local: Broker transport failure"},
    {SL_ERR__TIMED_OUT, "_TIMED_OUT", "Local: Timed out"},
    {SL_ERR__MSG_TIMED_OUT, "_MSG_TIMED_OUT", "Local: Message timed out"},
    {SL_ERR__QUEUE_FULL, "_QUEUE_FULL", "Local: Queue full"},
    {SL_ERR__MSG_SIZE_TOO_LARGE, "_MSG_SIZE_TOO_LARGE", "Local: Message size too large"},
    {SL_ERR__UNKNOWN_TOPIC, "_UNKNOWN_TOPIC", "Local: Unknown topic"},
    {SL_ERR__UNKNOWN_PARTITION, "_UNKNOWN_PARTITION", "Local: Unknown partition"},
    {SL_ERR__INVALID_ARG, "_INVALID_ARG", "Local: Invalid argument or configuration"},
    {SL_ERR__INVALID_CONF, "_INVALID_CONF", "Local: Invalid configuration"},
    {SL_ERR__NOT_IMPLEMENTED, "_NOT_IMPLEMENTED", "Local: Not implemented"},
    {SL_ERR__BAD_MSG, "_BAD_MSG", "Local: Bad message format"},
    {SL_ERR__CRC, "_CRC", "Local: Invalid CRC"},
    {SL_ERR__DESTROYED, "_DESTROYED", "Local: Handle destroyed"},
    {SL_ERR__RESOLVE, "_RESOLVE", "Local: Host resolution failure"},
    {SL_ERR__NO_MEMORY, "_NO_MEMORY", "Local: Out of memory"},
    {SL_ERR__UNSUPPORTED_FEATURE, "_UNSUPPORTED_FEATURE",
     "Local: Required feature not supported by broker"},
    {SL_ERR__AUTO_OFFSET_RESET, "_AUTO_OFFSET_RESET",
     "Local: Offset out of range and auto.offset.reset=error"},
    {SL_ERR__STATE, "_STATE", "Local: Erroneous state"},
    {SL_ERR__BAD_COMPRESSION, "_BAD_COMPRESSION", "Local: Invalid compressed data"},
    {SL_ERR__PARTITION_EOF, "_PARTITION_EOF", "Local: Broker: No more messages"},
    {SL_ERR__ASSIGN_PARTITIONS, "_ASSIGN_PARTITIONS", "Local: Assign partitions"},
    {SL_ERR__REVOKE_PARTITIONS, "_REVOKE_PARTITIONS", "Local: Revoke partitions"},
    {SL_ERR__SSL, "_SSL", "Local: SSL error"},
    {SL_ERR__ALL_BROKERS_DOWN, "_ALL_BROKERS_DOWN", "Local: All broker connections are down"},
    {SL_ERR__NO_OFFSET, "_NO_OFFSET", "Local: No offset stored"},
    {SL_ERR__MAX_POLL_EXCEEDED, "_MAX_POLL_EXCEEDED",
     "Local: Maximum application poll interval (max.poll.interval.ms) exceeded"},
    {SL_ERR__FATAL, "_FATAL", "Local: Fatal error"},
    {SL_ERR_UNKNOWN, "UNKNOWN", "Broker: Unknown server error"},
    {SL_ERR_NO_ERROR, "NO_ERROR", "Success"},
    {SL_ERR_OFFSET_OUT_OF_RANGE, "OFFSET_OUT_OF_RANGE", "Broker: Offset out of range"},
    {SL_ERR_CORRUPT_MESSAGE, "CORRUPT_MESSAGE", "Broker: Corrupt message"},
    {SL_ERR_UNKNOWN_TOPIC_OR_PART, "UNKNOWN_TOPIC_OR_PART", "Broker: Unknown topic or partition"},
    {SL_ERR_INVALID_FETCH_SIZE, "INVALID_FETCH_SIZE", "Broker: Invalid fetch size"},
    {SL_ERR_LEADER_NOT_AVAILABLE, "LEADER_NOT_AVAILABLE", "Broker: Leader not available"},
    {SL_ERR_NOT_LEADER_OR_FOLLOWER, "NOT_LEADER_OR_FOLLOWER", "Broker: Not leader for partition"},
    {SL_ERR_REQUEST_TIMED_OUT, "REQUEST_TIMED_OUT", "Broker: Request timed out"},
    {SL_ERR_BROKER_NOT_AVAILABLE, "BROKER_NOT_AVAILABLE", "Broker: Broker not available"},
    {SL_ERR_REPLICA_NOT_AVAILABLE, "REPLICA_NOT_AVAILABLE", "Broker: Replica not available"},
    {SL_ERR_MSG_SIZE_TOO_LARGE, "MSG_SIZE_TOO_LARGE", "Broker: Message size too large"},
    {SL_ERR_STALE_CTRL_EPOCH, "STALE_CTRL_EPOCH", "Broker: StaleControllerEpochCode"},
    {SL_ERR_OFFSET_METADATA_TOO_LARGE, "OFFSET_METADATA_TOO_LARGE",
     "Broker: Offset metadata string too large"},
    {SL_ERR_NETWORK_EXCEPTION, "NETWORK_EXCEPTION", "Broker: Broker disconnected before response"},
    {SL_ERR_COORDINATOR_LOAD_IN_PROGRESS, "COORDINATOR_LOAD_IN_PROGRESS",
     "Broker: Coordinator load in progress"},
    {SL_ERR_COORDINATOR_NOT_AVAILABLE, "COORDINATOR_NOT_AVAILABLE",
     "Broker: Coordinator not available"},
    {SL_ERR_NOT_COORDINATOR, "NOT_COORDINATOR", "Broker: Not coordinator"},
    {SL_ERR_TOPIC_EXCEPTION, "TOPIC_EXCEPTION", "Broker: Invalid topic"},
    {SL_ERR_RECORD_LIST_TOO_LARGE, "RECORD_LIST_TOO_LARGE",
     "Broker: Message batch larger than configured server segment size"},
    {SL_ERR_NOT_ENOUGH_REPLICAS, "NOT_ENOUGH_REPLICAS", "Broker: Not enough in-sync replicas"},
    {SL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
     "Broker: Message(s) written to insufficient number of in-sync replicas"},
    {SL_ERR_INVALID_REQUIRED_ACKS, "INVALID_REQUIRED_ACKS", "Broker: Invalid required acks value"},
    {SL_ERR_ILLEGAL_GENERATION, "ILLEGAL_GENERATION",
     "Broker: Specified group generation id is not valid"},
    {SL_ERR_INCONSISTENT_GROUP_PROTOCOL, "INCONSISTENT_GROUP_PROTOCOL",
     "Broker: Inconsistent group protocol"},
    {SL_ERR_INVALID_GROUP_ID, "INVALID_GROUP_ID", "Broker: Invalid group.id"},
    {SL_ERR_UNKNOWN_MEMBER_ID, "UNKNOWN_MEMBER_ID", "Broker: Unknown member"},
    {SL_ERR_INVALID_SESSION_TIMEOUT, "INVALID_SESSION_TIMEOUT", "Broker: Invalid session timeout"},
    {SL_ERR_REBALANCE_IN_PROGRESS, "REBALANCE_IN_PROGRESS", "Broker: Group rebalance in progress"},
    {SL_ERR_INVALID_COMMIT_OFFSET_SIZE, "INVALID_COMMIT_OFFSET_SIZE",
     "Broker: Commit offset data size is not valid"},
    {SL_ERR_TOPIC_AUTHORIZATION_FAILED, "TOPIC_AUTHORIZATION_FAILED",
     "Broker: Topic authorization failed"},
    {SL_ERR_GROUP_AUTHORIZATION_FAILED, "GROUP_AUTHORIZATION_FAILED",
     "Broker: Group authorization failed"},
    {SL_ERR_CLUSTER_AUTHORIZATION_FAILED, "CLUSTER_AUTHORIZATION_FAILED",
     "Broker: Cluster authorization failed"},
    {SL_ERR_INVALID_TIMESTAMP, "INVALID_TIMESTAMP", "Broker: Invalid timestamp"},
    {SL_ERR_UNSUPPORTED_SASL_MECHANISM, "UNSUPPORTED_SASL_MECHANISM",
     "Broker: Unsupported SASL mechanism"},
    {SL_ERR_ILLEGAL_SASL_STATE, "ILLEGAL_SASL_STATE",
     "Broker: Request not valid in current SASL state"},
    {SL_ERR_UNSUPPORTED_VERSION, "UNSUPPORTED_VERSION", "Broker: API version not supported"},
    {SL_ERR_TOPIC_ALREADY_EXISTS, "TOPIC_ALREADY_EXISTS", "Broker: Topic already exists"},
    {SL_ERR_INVALID_PARTITIONS, "INVALID_PARTITIONS", "Broker: Invalid number of partitions"},
    {SL_ERR_INVALID_REPLICATION_FACTOR, "INVALID_REPLICATION_FACTOR",
     "Broker: Invalid replication factor"},
    {SL_ERR_INVALID_REPLICA_ASSIGNMENT, "INVALID_REPLICA_ASSIGNMENT",
     "Broker: Invalid replica assignment"},
    {SL_ERR_INVALID_CONFIG, "INVALID_CONFIG", "Broker: Configuration is invalid"},
    {SL_ERR_NOT_CONTROLLER, "NOT_CONTROLLER", "Broker: Not controller for cluster"},
    {SL_ERR_INVALID_REQUEST, "INVALID_REQUEST", "Broker: Invalid request"},
    {SL_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT, "UNSUPPORTED_FOR_MESSAGE_FORMAT",
     "Broker: Message format on broker does not support request"},
    {SL_ERR_POLICY_VIOLATION, "POLICY_VIOLATION", "Broker: Policy violation"},
    {SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "OUT_OF_ORDER_SEQUENCE_NUMBER",
     "Broker: Broker received an out of order sequence number"},
    {SL_ERR_DUPLICATE_SEQUENCE_NUMBER, "DUPLICATE_SEQUENCE_NUMBER",
     "Broker: Broker received a duplicate sequence number"},
    {SL_ERR_INVALID_PRODUCER_EPOCH, "INVALID_PRODUCER_EPOCH",
     "Broker: Producer attempted an operation with an old epoch"},
    {SL_ERR_INVALID_TXN_STATE, "INVALID_TXN_STATE", "Broker: Invalid transaction state"},
    {SL_ERR_INVALID_PRODUCER_ID_MAPPING, "INVALID_PRODUCER_ID_MAPPING",
     "Broker: Invalid producer id mapping"},
    {SL_ERR_INVALID_TRANSACTION_TIMEOUT, "INVALID_TRANSACTION_TIMEOUT",
     "Broker: Invalid transaction timeout"},
    {SL_ERR_CONCURRENT_TRANSACTIONS, "CONCURRENT_TRANSACTIONS",
     "Broker: Producer attempted to update a transaction while another concurrent operation "
     "on the same transaction was ongoing"},
    {SL_ERR_TRANSACTION_COORDINATOR_FENCED, "TRANSACTION_COORDINATOR_FENCED",
     "Broker: Indicates that the transaction coordinator sending a WriteTxnMarker is no longer "
     "the current coordinator for a given producer"},
    {SL_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
     "Broker: Transactional Id authorization failed"},
    {SL_ERR_KAFKA_STORAGE_ERROR, "KAFKA_STORAGE_ERROR",
     "Broker: Disk error when trying to access "
     "log file on the disk"},
    {SL_ERR_FETCH_SESSION_ID_NOT_FOUND, "FETCH_SESSION_ID_NOT_FOUND",
     "Broker: The fetch session ID was not found"},
    {SL_ERR_INVALID_FETCH_SESSION_EPOCH, "INVALID_FETCH_SESSION_EPOCH",
     "Broker: The fetch session epoch is invalid"},
    {SL_ERR_TOPIC_DELETION_DISABLED, "TOPIC_DELETION_DISABLED",
     "Broker: Topic deletion is disabled"},
    {SL_ERR_FENCED_LEADER_EPOCH, "FENCED_LEADER_EPOCH",
     "Broker: Leader epoch is older than broker "
     "epoch"},
    {SL_ERR_UNKNOWN_LEADER_EPOCH, "UNKNOWN_LEADER_EPOCH",
     "Broker: Leader epoch is newer than broker "
     "epoch"},
    {SL_ERR_OFFSET_NOT_AVAILABLE, "OFFSET_NOT_AVAILABLE", "Broker: Offset not available"},
    {SL_ERR_GROUP_MAX_SIZE_REACHED, "GROUP_MAX_SIZE_REACHED",
     "Broker: Consumer group has reached "
     "maximum size"},
    {SL_ERR_FENCED_INSTANCE_ID, "FENCED_INSTANCE_ID",
     "Broker: Static consumer fenced by other "
     "consumer with same group.instance.id"},
    {SL_ERR_UNSTABLE_OFFSET_COMMIT, "UNSTABLE_OFFSET_COMMIT",
     "Broker: There are unstable offsets "
     "that need to be cleared"},
    {SL_ERR_UNKNOWN_PRODUCER_ID, "UNKNOWN_PRODUCER_ID", "Broker: Unknown Producer Id"},
    {SL_ERR_SECURITY_DISABLED, "SECURITY_DISABLED", "Broker: Security features are disabled"},
    {SL_ERR_SASL_AUTHENTICATION_FAILED, "SASL_AUTHENTICATION_FAILED",
     "Broker: SASL Authentication failed"},
    {SL_ERR_RESOURCE_NOT_FOUND, "RESOURCE_NOT_FOUND",
     "Broker: Request illegally referred to resource that does not exist"},
    {SL_ERR_DUPLICATE_RESOURCE, "DUPLICATE_RESOURCE",
     "Broker: Request illegally referred to the same resource twice"},
    {SL_ERR_UNACCEPTABLE_CREDENTIAL, "UNACCEPTABLE_CREDENTIAL",
     "Broker: Requested credential would not meet criteria for acceptability"},
    {SL_ERR_UNSUPPORTED_COMPRESSION_TYPE, "UNSUPPORTED_COMPRESSION_TYPE",
     "Broker: Unsupported compression type"},
    {SL_ERR_MEMBER_ID_REQUIRED, "MEMBER_ID_REQUIRED", "Broker: Member id required"},
    {SL_ERR_PREFERRED_LEADER_NOT_AVAILABLE, "PREFERRED_LEADER_NOT_AVAILABLE",
     "Broker: Preferred leader was not available"},
    {SL_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE, "ELIGIBLE_LEADERS_NOT_AVAILABLE",
     "Broker: Eligible partition leaders are not available"},
    {SL_ERR_ELECTION_NOT_NEEDED, "ELECTION_NOT_NEEDED", "Broker: Leader election not needed"},
    {SL_ERR_INVALID_RECORD, "INVALID_RECORD", "Broker: Invalid record"},
    {SL_ERR_NON_EMPTY_GROUP, "NON_EMPTY_GROUP", "Broker: The group is not empty"},
    {SL_ERR_GROUP_ID_NOT_FOUND, "GROUP_ID_NOT_FOUND", "Broker: The group id does not exist"},
    {SL_ERR_GROUP_SUBSCRIBED_TO_TOPIC, "GROUP_SUBSCRIBED_TO_TOPIC",
     "Broker: The consumer group is actively subscribed to the topic"},
    {SL_ERR_PRODUCER_FENCED, "PRODUCER_FENCED",
     "Broker: There is a newer producer with the same transactionalId which fences the current "
     "one"},
};

static const struct desc *find(sl_err err)
{
    for (size_t i = 0; i < sizeof(descs) / sizeof(descs[0]); i++)
        if (descs[i].err == err)
            return &descs[i];
    return NULL;
}

const char *sl_err2str(sl_err err)
{
    const struct desc *d = find(err);
    if (d)
        return d->str;
    return err <= SL_ERR__END ? "Local: Unknown error" : "Broker: Unknown error code";
}

const char *sl_err2name(sl_err err)
{
    const struct desc *d = find(err);
    return d ? d->name : "UNKNOWN_CODE";
}

int sl_err_is_retriable(sl_err err)
{
    switch (err) {
    case SL_ERR__TRANSPORT:
    case SL_ERR__TIMED_OUT:
    case SL_ERR_UNKNOWN_TOPIC_OR_PART:
    case SL_ERR_LEADER_NOT_AVAILABLE:
    case SL_ERR_NOT_LEADER_OR_FOLLOWER:
    case SL_ERR_REQUEST_TIMED_OUT:
    case SL_ERR_BROKER_NOT_AVAILABLE:
    case SL_ERR_REPLICA_NOT_AVAILABLE:
    case SL_ERR_NETWORK_EXCEPTION:
    case SL_ERR_NOT_ENOUGH_REPLICAS:
    case SL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case SL_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case SL_ERR_COORDINATOR_NOT_AVAILABLE:
    case SL_ERR_NOT_COORDINATOR:
        return 1;
    default:
        return 0;
    }
}

sl_err sl__err_from_errno(int err)
{
    switch (err) {
    case 0:
        return SL_ERR_NO_ERROR;
    case -ETIMEDOUT:
        return SL_ERR__TIMED_OUT;
    case -ENOMEM:
        return SL_ERR__NO_MEMORY;
    case -EINVAL:
        return SL_ERR__INVALID_ARG;
    case -EBADMSG:
    case -EPROTO:
        return SL_ERR__BAD_MSG;
    case -EMSGSIZE:
        return SL_ERR__MSG_SIZE_TOO_LARGE;
    case -ENOBUFS:
        return SL_ERR__QUEUE_FULL;
    case -ENOTSUP:
        return SL_ERR__UNSUPPORTED_FEATURE;
    case SL__ERESOLVE:
        return SL_ERR__RESOLVE;
    case SL__EAUTH:
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    case -ECANCELED:
        return SL_ERR__DESTROYED;
    default:
        return SL_ERR__TRANSPORT;
    }
}

const char *sl_version_str(void) { return SL_VERSION_STR; }
int sl_version(void) { return SL_VERSION; }
