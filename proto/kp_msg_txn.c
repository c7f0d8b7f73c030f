/*
 * kp_msg_txn — idempotent and transactional producers' APIs (kp_msg.h): InitProducerId (22)
 * v0-4, a table for the kp_schema walker in Kafka's field order with the versions that carry
 * each field, from apache/kafka .../common/message/InitProducerId{Request,Response}.json.
 * Flexible from v2; v3 lets a producer pass its current id and epoch (KIP-360).
 */
#include "kp_msg.h"
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

const struct kp__api kp__api_init_producer_id = {
    {KP_API_INIT_PRODUCER_ID, 0, 4, 2, "InitProducerId"}, &ip_req, &ip_resp};

KP__CODEC(kp_init_producer_id_req, struct kp_init_producer_id_req, kp__api_init_producer_id, req)
KP__CODEC(kp_init_producer_id_resp, struct kp_init_producer_id_resp, kp__api_init_producer_id, resp)
