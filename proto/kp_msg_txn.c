/*
 * kp_msg_txn — idempotent and transactional producers' APIs, as tables for the kp_schema
 * walker in Kafka's field order with the versions that carry each field, from apache/kafka
 * .../common/message/<Name>{Request,Response}.json: InitProducerId (22) v0-4 (kp_msg.h;
 * flexible from v2; v3 lets a producer pass its current id and epoch, KIP-360), and
 * AddPartitionsToTxn (24), AddOffsetsToTxn (25), EndTxn (26), TxnOffsetCommit (28), v0-3 each,
 * flexible at v3 (kp_msg_txn.h). AddPartitionsToTxn v4+ (batched, verify-only) is broker to
 * broker: its fields lie outside the codec's range and are not in the table.
 */
#include "kp_msg_txn.h"
#include "kp_msg_int.h"
#include "kp_schema.h"

#define KP__S struct kp_init_producer_id_req
static const struct kp__field ip_req_f[] = {
    KP__F_STR(transactional_id, "TransactionalId", 0, KP__VMAX, KP__NUL(0, KP__VMAX)),
    KP__F_I32(transaction_timeout_ms, "TransactionTimeoutMs", 0, KP__VMAX),
    KP__F_I64(producer_id, "ProducerId", 3, KP__VMAX, KP__DEF(-1)),
    KP__F_I16(producer_epoch, "ProducerEpoch", 3, KP__VMAX, KP__DEF(-1)),
};
#undef KP__S
KP__STRUCT(ip_req, struct kp_init_producer_id_req, ip_req_f);

#define KP__S struct kp_init_producer_id_resp
static const struct kp__field ip_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
    KP__F_I64(producer_id, "ProducerId", 0, KP__VMAX, KP__DEF(-1)),
    KP__F_I16(producer_epoch, "ProducerEpoch", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(ip_resp, struct kp_init_producer_id_resp, ip_resp_f);

const struct kp__api kp__api_init_producer_id = {KP__INFO(INIT_PRODUCER_ID), &ip_req, &ip_resp};

KP__CODEC(kp_init_producer_id_req, struct kp_init_producer_id_req, kp__api_init_producer_id, req)
KP__CODEC(kp_init_producer_id_resp, struct kp_init_producer_id_resp, kp__api_init_producer_id, resp)

/* ---- AddPartitionsToTxn (24) ----------------------------------------------------------------- */

#define KP__S struct kp_add_partitions_to_txn_topic
static const struct kp__field apt_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_I32S(partitions, n_partitions, "Partitions", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(apt_topic, struct kp_add_partitions_to_txn_topic, apt_topic_f);

#define KP__S struct kp_add_partitions_to_txn_req
static const struct kp__field apt_req_f[] = {
    KP__F_STR(transactional_id, "V3AndBelowTransactionalId", 0, 3),
    KP__F_I64(producer_id, "V3AndBelowProducerId", 0, 3),
    KP__F_I16(producer_epoch, "V3AndBelowProducerEpoch", 0, 3),
    KP__F_ARRAY(topics, n_topics, "V3AndBelowTopics", struct kp_add_partitions_to_txn_topic,
                apt_topic, 0, 3),
};
#undef KP__S
KP__STRUCT(apt_req, struct kp_add_partitions_to_txn_req, apt_req_f);

#define KP__S struct kp_add_partitions_to_txn_partition_result
static const struct kp__field apt_presult_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
    KP__F_I16(error_code, "PartitionErrorCode", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(apt_presult, struct kp_add_partitions_to_txn_partition_result, apt_presult_f);

#define KP__S struct kp_add_partitions_to_txn_topic_result
static const struct kp__field apt_tresult_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(results, n_results, "ResultsByPartition",
                struct kp_add_partitions_to_txn_partition_result, apt_presult, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(apt_tresult, struct kp_add_partitions_to_txn_topic_result, apt_tresult_f);

#define KP__S struct kp_add_partitions_to_txn_resp
static const struct kp__field apt_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "ResultsByTopicV3AndBelow",
                struct kp_add_partitions_to_txn_topic_result, apt_tresult, 0, 3),
};
#undef KP__S
KP__STRUCT(apt_resp, struct kp_add_partitions_to_txn_resp, apt_resp_f);

const struct kp__api kp__api_add_partitions_to_txn = {KP__INFO(ADD_PARTITIONS_TO_TXN), &apt_req,
                                                      &apt_resp};

KP__CODEC(kp_add_partitions_to_txn_req, struct kp_add_partitions_to_txn_req,
          kp__api_add_partitions_to_txn, req)
KP__CODEC(kp_add_partitions_to_txn_resp, struct kp_add_partitions_to_txn_resp,
          kp__api_add_partitions_to_txn, resp)

/* ---- AddOffsetsToTxn (25) -------------------------------------------------------------------- */

#define KP__S struct kp_add_offsets_to_txn_req
static const struct kp__field aot_req_f[] = {
    KP__F_STR(transactional_id, "TransactionalId", 0, KP__VMAX),
    KP__F_I64(producer_id, "ProducerId", 0, KP__VMAX),
    KP__F_I16(producer_epoch, "ProducerEpoch", 0, KP__VMAX),
    KP__F_STR(group_id, "GroupId", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(aot_req, struct kp_add_offsets_to_txn_req, aot_req_f);

#define KP__S struct kp_add_offsets_to_txn_resp
static const struct kp__field aot_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(aot_resp, struct kp_add_offsets_to_txn_resp, aot_resp_f);

const struct kp__api kp__api_add_offsets_to_txn = {KP__INFO(ADD_OFFSETS_TO_TXN), &aot_req,
                                                   &aot_resp};

KP__CODEC(kp_add_offsets_to_txn_req, struct kp_add_offsets_to_txn_req, kp__api_add_offsets_to_txn,
          req)
KP__CODEC(kp_add_offsets_to_txn_resp, struct kp_add_offsets_to_txn_resp, kp__api_add_offsets_to_txn,
          resp)

/* ---- EndTxn (26) ----------------------------------------------------------------------------- */

#define KP__S struct kp_end_txn_req
static const struct kp__field end_req_f[] = {
    KP__F_STR(transactional_id, "TransactionalId", 0, KP__VMAX),
    KP__F_I64(producer_id, "ProducerId", 0, KP__VMAX),
    KP__F_I16(producer_epoch, "ProducerEpoch", 0, KP__VMAX),
    KP__F_BOOL(committed, "Committed", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(end_req, struct kp_end_txn_req, end_req_f);

#define KP__S struct kp_end_txn_resp
static const struct kp__field end_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(end_resp, struct kp_end_txn_resp, end_resp_f);

const struct kp__api kp__api_end_txn = {KP__INFO(END_TXN), &end_req, &end_resp};

KP__CODEC(kp_end_txn_req, struct kp_end_txn_req, kp__api_end_txn, req)
KP__CODEC(kp_end_txn_resp, struct kp_end_txn_resp, kp__api_end_txn, resp)

/* ---- TxnOffsetCommit (28) -------------------------------------------------------------------- */

#define KP__S struct kp_txn_offset_commit_req_partition
static const struct kp__field toc_rpart_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
    KP__F_I64(committed_offset, "CommittedOffset", 0, KP__VMAX),
    KP__F_I32(committed_leader_epoch, "CommittedLeaderEpoch", 2, KP__VMAX, KP__DEF(-1)),
    KP__F_STR(committed_metadata, "CommittedMetadata", 0, KP__VMAX, KP__NUL(0, KP__VMAX)),
};
#undef KP__S
KP__STRUCT(toc_rpart, struct kp_txn_offset_commit_req_partition, toc_rpart_f);

#define KP__S struct kp_txn_offset_commit_req_topic
static const struct kp__field toc_rtopic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_txn_offset_commit_req_partition,
                toc_rpart, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(toc_rtopic, struct kp_txn_offset_commit_req_topic, toc_rtopic_f);

#define KP__S struct kp_txn_offset_commit_req
static const struct kp__field toc_req_f[] = {
    KP__F_STR(transactional_id, "TransactionalId", 0, KP__VMAX),
    KP__F_STR(group_id, "GroupId", 0, KP__VMAX),
    KP__F_I64(producer_id, "ProducerId", 0, KP__VMAX),
    KP__F_I16(producer_epoch, "ProducerEpoch", 0, KP__VMAX),
    KP__F_I32(generation_id, "GenerationId", 3, KP__VMAX, KP__DEF(-1)),
    KP__F_STR(member_id, "MemberId", 3, KP__VMAX),
    KP__F_STR(group_instance_id, "GroupInstanceId", 3, KP__VMAX, KP__NUL(3, KP__VMAX), KP__DNULL),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_txn_offset_commit_req_topic, toc_rtopic, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(toc_req, struct kp_txn_offset_commit_req, toc_req_f);

#define KP__S struct kp_txn_offset_commit_resp_partition
static const struct kp__field toc_ppart_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(toc_ppart, struct kp_txn_offset_commit_resp_partition, toc_ppart_f);

#define KP__S struct kp_txn_offset_commit_resp_topic
static const struct kp__field toc_ptopic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions", struct kp_txn_offset_commit_resp_partition,
                toc_ppart, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(toc_ptopic, struct kp_txn_offset_commit_resp_topic, toc_ptopic_f);

#define KP__S struct kp_txn_offset_commit_resp
static const struct kp__field toc_resp_f[] = {
    KP__F_I32(throttle_time_ms, "ThrottleTimeMs", 0, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_txn_offset_commit_resp_topic, toc_ptopic, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(toc_resp, struct kp_txn_offset_commit_resp, toc_resp_f);

const struct kp__api kp__api_txn_offset_commit = {KP__INFO(TXN_OFFSET_COMMIT), &toc_req, &toc_resp};

KP__CODEC(kp_txn_offset_commit_req, struct kp_txn_offset_commit_req, kp__api_txn_offset_commit, req)
KP__CODEC(kp_txn_offset_commit_resp, struct kp_txn_offset_commit_resp, kp__api_txn_offset_commit,
          resp)
