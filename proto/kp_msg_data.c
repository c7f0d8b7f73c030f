/*
 * kp_msg_data — the tables of Produce (0) v3-9 and Fetch (1) v4-13 for the kp_schema walker,
 * in Kafka's field order with the versions that carry each field ("lo, KP__VMAX" is Kafka's
 * "lo+"), from apache/kafka .../common/message/{Produce,Fetch}{Request,Response}.json.
 *
 * Who uses them: Fetch requests (both ways) go through these tables at every version; Produce
 * v8-9 and Fetch responses v12-13 are decoded through them, Produce v8-9 encoded. The classic
 * versions of Produce, and Fetch responses written piece by piece for the zero-copy path, keep
 * their hand-written code (kp_msg_produce.c, kp_msg_fetch.c); tests/unit/test_kp_msg_flex.c
 * checks at every version that both give the same bytes.
 *
 * Produce is flexible from v9; v8 adds per-batch record errors and an error message. Fetch is
 * flexible from v12, which also adds last_fetched_epoch and three tagged partition fields;
 * v13 names topics by id.
 */
#include "kp_msg.h"
#include "kp_msg_int.h"
#include "kp_schema.h"

/* ---- Produce ------------------------------------------------------------------------------ */

#define KP__S struct kp_produce_req_partition
static const struct kp__field pr_req_partition_f[] = {
    KP__F_I32(partition_index, "Index", 0, KP__VMAX),
    KP__F_RECORDS(records, "Records", 0, KP__VMAX, KP__NUL(0, KP__VMAX)),
};
#undef KP__S
KP__STRUCT(pr_req_partition, struct kp_produce_req_partition, pr_req_partition_f);

#define KP__S struct kp_produce_req_topic
static const struct kp__field pr_req_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "PartitionData", struct kp_produce_req_partition,
                pr_req_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(pr_req_topic, struct kp_produce_req_topic, pr_req_topic_f);

#define KP__S struct kp_produce_req
static const struct kp__field pr_req_f[] = {
    KP__F_STR(transactional_id, "TransactionalId", 3, KP__VMAX, KP__NUL(3, KP__VMAX), KP__DNULL),
    KP__F_I16(acks, "Acks", 0, KP__VMAX),
    KP__F_I32(timeout_ms, "TimeoutMs", 0, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "TopicData", struct kp_produce_req_topic, pr_req_topic, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(pr_req, struct kp_produce_req, pr_req_f);

#define KP__S struct kp_produce_record_error
static const struct kp__field pr_record_error_f[] = {
    KP__F_I32(batch_index, "BatchIndex", 8, KP__VMAX),
    KP__F_STR(batch_index_error_message, "BatchIndexErrorMessage", 8, KP__VMAX,
              KP__NUL(8, KP__VMAX), KP__DNULL),
};
#undef KP__S
KP__STRUCT(pr_record_error, struct kp_produce_record_error, pr_record_error_f);

#define KP__S struct kp_produce_resp_partition
static const struct kp__field pr_resp_partition_f[] = {
    KP__F_I32(partition_index, "Index", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_I64(base_offset, "BaseOffset", 0, KP__VMAX),
    KP__F_I64(log_append_time_ms, "LogAppendTimeMs", 2, KP__VMAX, KP__DEF(-1)),
    KP__F_I64(log_start_offset, "LogStartOffset", 5, KP__VMAX, KP__DEF(-1)),
    KP__F_ARRAY(record_errors, n_record_errors, "RecordErrors", struct kp_produce_record_error,
                pr_record_error, 8, KP__VMAX),
    KP__F_STR(error_message, "ErrorMessage", 8, KP__VMAX, KP__NUL(8, KP__VMAX), KP__DNULL),
};
#undef KP__S
KP__STRUCT(pr_resp_partition, struct kp_produce_resp_partition, pr_resp_partition_f);

#define KP__S struct kp_produce_resp_topic
static const struct kp__field pr_resp_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "PartitionResponses", struct kp_produce_resp_partition,
                pr_resp_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(pr_resp_topic, struct kp_produce_resp_topic, pr_resp_topic_f);

#define KP__S struct kp_produce_resp
static const struct kp__field pr_resp_f[] = {
    KP__F_ARRAY(topics, n_topics, "Responses", struct kp_produce_resp_topic, pr_resp_topic, 0,
                KP__VMAX),
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 1, KP__VMAX),
};
#undef KP__S
KP__STRUCT(pr_resp, struct kp_produce_resp, pr_resp_f);

const struct kp__api kp__api_produce = {KP__INFO(PRODUCE), &pr_req, &pr_resp};

/* ---- Fetch request ------------------------------------------------------------------------ */

#define KP__S struct kp_fetch_req_partition
static const struct kp__field fe_req_partition_f[] = {
    KP__F_I32(partition, "Partition", 0, KP__VMAX),
    KP__F_I32(current_leader_epoch, "CurrentLeaderEpoch", 9, KP__VMAX, KP__DEF(-1)),
    KP__F_I64(fetch_offset, "FetchOffset", 0, KP__VMAX),
    KP__F_I32(last_fetched_epoch, "LastFetchedEpoch", 12, KP__VMAX, KP__DEF(-1)),
    KP__F_I64(log_start_offset, "LogStartOffset", 5, KP__VMAX, KP__DEF(-1)),
    KP__F_I32(partition_max_bytes, "PartitionMaxBytes", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(fe_req_partition, struct kp_fetch_req_partition, fe_req_partition_f);

#define KP__S struct kp_fetch_req_topic
static const struct kp__field fe_req_topic_f[] = {
    KP__F_STR(topic, "Topic", 0, 12),
    KP__F_UUID(topic_id, "TopicId", 13, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_fetch_req_partition,
                fe_req_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(fe_req_topic, struct kp_fetch_req_topic, fe_req_topic_f);

#define KP__S struct kp_fetch_forgotten_topic
static const struct kp__field fe_forgotten_f[] = {
    KP__F_STR(topic, "Topic", 7, 12),
    KP__F_UUID(topic_id, "TopicId", 13, KP__VMAX),
    KP__F_I32S(partitions, n_partitions, "Partitions", 7, KP__VMAX),
};
#undef KP__S
KP__STRUCT(fe_forgotten, struct kp_fetch_forgotten_topic, fe_forgotten_f);

#define KP__S struct kp_fetch_req
static const struct kp__field fe_req_f[] = {
    KP__F_STR(cluster_id, "ClusterId", 12, KP__VMAX, KP__NUL(12, KP__VMAX), KP__TAG(0), KP__DNULL),
    KP__F_I32(replica_id, "ReplicaId", 0, 14, KP__DEF(-1)),
    KP__F_I32(max_wait_ms, "MaxWaitMs", 0, KP__VMAX),
    KP__F_I32(min_bytes, "MinBytes", 0, KP__VMAX),
    KP__F_I32(max_bytes, "MaxBytes", 3, KP__VMAX, KP__DEF(0x7fffffff)),
    KP__F_I8(isolation_level, "IsolationLevel", 4, KP__VMAX),
    KP__F_I32(session_id, "SessionId", 7, KP__VMAX),
    KP__F_I32(session_epoch, "SessionEpoch", 7, KP__VMAX, KP__DEF(-1)),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_fetch_req_topic, fe_req_topic, 0, KP__VMAX),
    KP__F_ARRAY(forgotten, n_forgotten, "ForgottenTopicsData", struct kp_fetch_forgotten_topic,
                fe_forgotten, 7, KP__VMAX),
    KP__F_STR(rack_id, "RackId", 11, KP__VMAX),
};
#undef KP__S
KP__STRUCT(fe_req, struct kp_fetch_req, fe_req_f);

/* ---- Fetch response ----------------------------------------------------------------------- */

#define KP__S struct kp_fetch_epoch_end_offset
static const struct kp__field fe_epoch_end_f[] = {
    KP__F_I32(epoch, "Epoch", 12, KP__VMAX, KP__DEF(-1)),
    KP__F_I64(end_offset, "EndOffset", 12, KP__VMAX, KP__DEF(-1)),
};
#undef KP__S
KP__STRUCT(fe_epoch_end, struct kp_fetch_epoch_end_offset, fe_epoch_end_f);

#define KP__S struct kp_leader_id_and_epoch
static const struct kp__field fe_leader_f[] = {
    KP__F_I32(leader_id, "LeaderId", 12, KP__VMAX, KP__DEF(-1)),
    KP__F_I32(leader_epoch, "LeaderEpoch", 12, KP__VMAX, KP__DEF(-1)),
};
#undef KP__S
KP__STRUCT(fe_leader, struct kp_leader_id_and_epoch, fe_leader_f);

#define KP__S struct kp_fetch_snapshot_id
static const struct kp__field fe_snapshot_f[] = {
    KP__F_I64(end_offset, "EndOffset", 0, KP__VMAX, KP__DEF(-1)),
    KP__F_I32(epoch, "Epoch", 0, KP__VMAX, KP__DEF(-1)),
};
#undef KP__S
KP__STRUCT(fe_snapshot, struct kp_fetch_snapshot_id, fe_snapshot_f);

#define KP__S struct kp_fetch_aborted_txn
static const struct kp__field fe_aborted_f[] = {
    KP__F_I64(producer_id, "ProducerId", 4, KP__VMAX),
    KP__F_I64(first_offset, "FirstOffset", 4, KP__VMAX),
};
#undef KP__S
KP__STRUCT(fe_aborted, struct kp_fetch_aborted_txn, fe_aborted_f);

#define KP__S struct kp_fetch_resp_partition
static const struct kp__field fe_resp_partition_f[] = {
    KP__F_I32(partition, "PartitionIndex", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_I64(high_watermark, "HighWatermark", 0, KP__VMAX),
    KP__F_I64(last_stable_offset, "LastStableOffset", 4, KP__VMAX, KP__DEF(-1)),
    KP__F_I64(log_start_offset, "LogStartOffset", 5, KP__VMAX, KP__DEF(-1)),
    KP__F_PSTRUCT(diverging_epoch, "DivergingEpoch", struct kp_fetch_epoch_end_offset, fe_epoch_end,
                  12, KP__VMAX, KP__TAG(0)),
    KP__F_PSTRUCT(current_leader, "CurrentLeader", struct kp_leader_id_and_epoch, fe_leader, 12,
                  KP__VMAX, KP__TAG(1)),
    KP__F_PSTRUCT(snapshot_id, "SnapshotId", struct kp_fetch_snapshot_id, fe_snapshot, 12, KP__VMAX,
                  KP__TAG(2)),
    KP__F_ARRAY(aborted, n_aborted, "AbortedTransactions", struct kp_fetch_aborted_txn, fe_aborted,
                4, KP__VMAX, KP__NUL(4, KP__VMAX)),
    KP__F_I32(preferred_read_replica, "PreferredReadReplica", 11, KP__VMAX, KP__DEF(-1)),
    KP__F_RECORDS(records, "Records", 0, KP__VMAX, KP__NUL(0, KP__VMAX), KP__NULL_EMPTY),
};
#undef KP__S
KP__STRUCT(fe_resp_partition, struct kp_fetch_resp_partition, fe_resp_partition_f);

#define KP__S struct kp_fetch_resp_topic
static const struct kp__field fe_resp_topic_f[] = {
    KP__F_STR(topic, "Topic", 0, 12),
    KP__F_UUID(topic_id, "TopicId", 13, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_fetch_resp_partition,
                fe_resp_partition, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(fe_resp_topic, struct kp_fetch_resp_topic, fe_resp_topic_f);

#define KP__S struct kp_fetch_resp
static const struct kp__field fe_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 1, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 7, KP__VMAX),
    KP__F_I32(session_id, "SessionId", 7, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Responses", struct kp_fetch_resp_topic, fe_resp_topic, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(fe_resp, struct kp_fetch_resp, fe_resp_f);

const struct kp__api kp__api_fetch = {KP__INFO(FETCH), &fe_req, &fe_resp};

KP__CODEC(kp_fetch_req, struct kp_fetch_req, kp__api_fetch, req)
