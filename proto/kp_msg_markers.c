/*
 * kp_msg_markers — WriteTxnMarkers (27) v0-1 as tables for the kp_schema walker, in Kafka's
 * field order (apache/kafka .../common/message/WriteTxnMarkers{Request,Response}.json),
 * flexible from v1. The request's CoordinatorEpoch comes after the topics, as on the wire.
 */
#include "kp_msg_markers.h"
#include "kp_msg_int.h"
#include "kp_schema.h"

#define KP__S struct kp_write_txn_markers_topic
static const struct kp__field wtm_topic_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_I32S(partitions, n_partitions, "PartitionIndexes", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(wtm_topic, struct kp_write_txn_markers_topic, wtm_topic_f);

#define KP__S struct kp_write_txn_marker
static const struct kp__field wtm_marker_f[] = {
    KP__F_I64(producer_id, "ProducerId", 0, KP__VMAX),
    KP__F_I16(producer_epoch, "ProducerEpoch", 0, KP__VMAX),
    KP__F_BOOL(transaction_result, "TransactionResult", 0, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_write_txn_markers_topic, wtm_topic, 0,
                KP__VMAX),
    KP__F_I32(coordinator_epoch, "CoordinatorEpoch", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(wtm_marker, struct kp_write_txn_marker, wtm_marker_f);

#define KP__S struct kp_write_txn_markers_req
static const struct kp__field wtm_req_f[] = {
    KP__F_ARRAY(markers, n_markers, "Markers", struct kp_write_txn_marker, wtm_marker, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(wtm_req, struct kp_write_txn_markers_req, wtm_req_f);

#define KP__S struct kp_write_txn_markers_partition_result
static const struct kp__field wtm_presult_f[] = {
    KP__F_I32(partition_index, "PartitionIndex", 0, KP__VMAX),
    KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(wtm_presult, struct kp_write_txn_markers_partition_result, wtm_presult_f);

#define KP__S struct kp_write_txn_markers_topic_result
static const struct kp__field wtm_tresult_f[] = {
    KP__F_STR(name, "Name", 0, KP__VMAX),
    KP__F_ARRAY(partitions, n_partitions, "Partitions",
                struct kp_write_txn_markers_partition_result, wtm_presult, 0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(wtm_tresult, struct kp_write_txn_markers_topic_result, wtm_tresult_f);

#define KP__S struct kp_write_txn_marker_result
static const struct kp__field wtm_mresult_f[] = {
    KP__F_I64(producer_id, "ProducerId", 0, KP__VMAX),
    KP__F_ARRAY(topics, n_topics, "Topics", struct kp_write_txn_markers_topic_result, wtm_tresult,
                0, KP__VMAX),
};
#undef KP__S
KP__STRUCT(wtm_mresult, struct kp_write_txn_marker_result, wtm_mresult_f);

#define KP__S struct kp_write_txn_markers_resp
static const struct kp__field wtm_resp_f[] = {
    KP__F_ARRAY(markers, n_markers, "Markers", struct kp_write_txn_marker_result, wtm_mresult, 0,
                KP__VMAX),
};
#undef KP__S
KP__STRUCT(wtm_resp, struct kp_write_txn_markers_resp, wtm_resp_f);

const struct kp__api kp__api_write_txn_markers = {KP__INFO(WRITE_TXN_MARKERS), &wtm_req, &wtm_resp};

KP__CODEC(kp_write_txn_markers_req, struct kp_write_txn_markers_req, kp__api_write_txn_markers, req)
KP__CODEC(kp_write_txn_markers_resp, struct kp_write_txn_markers_resp, kp__api_write_txn_markers,
          resp)
