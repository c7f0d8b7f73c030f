/*
 * tb_txn — test support: the idempotent and transactional producer's requests (KIP-98) spoken
 * over a blocking socket, encoded and decoded here with kp_buf alone (not with the broker's
 * codecs), from Kafka's message schemas (clients/src/main/resources/common/message/ JSON files):
 * InitProducerId v0-4 (flexible from v2), AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and
 * TxnOffsetCommit v0-3 (flexible from v3), Produce v3-7
 * with a transactional id and caller-built records, Fetch v4-11 and ListOffsets v2 with an
 * isolation level, and producer batches (a RecordBatch v2 with producer id, epoch, sequence).
 *
 * Contract: as tb_kafka.h. Round trips return 0 or -errno (-EBADMSG when the response does
 * not match the version's layout exactly, trailing bytes included); one partition per call
 * unless said otherwise; at most TB_TXN_MAX entries are kept from a response's arrays.
 */
#ifndef SPLICELOG_TB_TXN_H
#define SPLICELOG_TB_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "tb_kafka.h"

enum { TB_TXN_MAX = 64 };

/* Kafka's error codes these suites look for. */
enum {
    TB_E_NONE = 0,
    TB_E_UNKNOWN_TOPIC_OR_PARTITION = 3,
    TB_E_NOT_ENOUGH_REPLICAS = 19,
    TB_E_INVALID_REQUEST = 42,
    TB_E_OUT_OF_ORDER_SEQUENCE = 45,
    TB_E_INVALID_PRODUCER_EPOCH = 47,
    TB_E_INVALID_TXN_STATE = 48,
    TB_E_INVALID_PRODUCER_ID_MAPPING = 49,
    TB_E_INVALID_TRANSACTION_TIMEOUT = 50,
    TB_E_CONCURRENT_TRANSACTIONS = 51,
    TB_E_TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53,
    TB_E_OPERATION_NOT_ATTEMPTED = 55,
    TB_E_PRODUCER_FENCED = 90,
};

/* InitProducerId; txn_id NULL: an idempotent producer. v3+ send pid/epoch (-1/-1: none). */
int tb_init_producer_id(int fd, int16_t version, const char *txn_id, int32_t timeout_ms,
                        int64_t pid, int16_t epoch, int16_t *error, int64_t *out_pid,
                        int16_t *out_epoch);

/* AddPartitionsToTxn with n partitions of one topic; errors[i] per partition. */
int tb_add_partitions(int fd, int16_t version, const char *txn_id, int64_t pid, int16_t epoch,
                      const char *topic, const int32_t *parts, int n, int16_t *errors);
int tb_add_offsets(int fd, int16_t version, const char *txn_id, int64_t pid, int16_t epoch,
                   const char *group, int16_t *error);
int tb_end_txn(int fd, int16_t version, const char *txn_id, int64_t pid, int16_t epoch, bool commit,
               int16_t *error);
/* TxnOffsetCommit of one partition (generation -1, member "" at v3). */
int tb_txn_offset_commit(int fd, int16_t version, const char *txn_id, const char *group,
                         int64_t pid, int16_t epoch, const char *topic, int32_t part,
                         int64_t offset, int16_t *error);
/* Produce v3-7 of records (one whole batch) to one partition, with a transactional id (NULL:
 * null), acks -1. */
int tb_txn_produce(int fd, int16_t version, const char *txn_id, const char *topic, int32_t part,
                   const uint8_t *records, size_t len, struct tb_produce_resp *out);

/* One batch of count records "<prefix>-<first+i>" from producer pid/epoch at base sequence seq
 * (transactional bit as given), into buf; its length or -errno. */
long tb_producer_batch(uint8_t *buf, size_t cap, const char *prefix, int first, int count,
                       int64_t pid, int16_t epoch, int32_t seq, bool transactional);

struct tb_txn_fetch {
    int16_t error;
    int64_t high_watermark, last_stable_offset, log_start_offset;
    int32_t n_aborted; /* -1 null */
    struct {
        int64_t producer_id, first_offset;
    } aborted[TB_TXN_MAX];
    int32_t records_len;
    const uint8_t *records; /* into f */
};
/* Fetch v4-11 of one partition with isolation_level iso (max_wait 0, min_bytes 0 unless
 * max_wait_ms > 0); f holds the frame (free it) since records point into it. */
int tb_txn_fetch(int fd, int16_t version, int8_t iso, int32_t max_wait_ms, int32_t min_bytes,
                 const char *topic, int32_t part, int64_t offset, struct tb_frame *f,
                 struct tb_txn_fetch *out);
/* ListOffsets v2 with isolation_level iso; *offset. */
int tb_list_offsets_iso(int fd, int8_t iso, const char *topic, int32_t part, int64_t timestamp,
                        int16_t *error, int64_t *offset);

/* Walks the batches of a records field: for each, its base offset, record count, producer id,
 * attributes and (control batches) control type via fn; returns batches seen or -EBADMSG. */
typedef void (*tb_batch_fn)(void *arg, int64_t base, int32_t count, int64_t pid, int16_t attrs,
                            int ctrl_type, const uint8_t *batch, size_t len);
int tb_txn_batches(const uint8_t *p, size_t len, tb_batch_fn fn, void *arg);

#endif
