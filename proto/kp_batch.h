/*
 * kp_batch — RecordBatch v2 (magic 2): parse and validate headers, rewrite the fields the
 * broker owns, iterate records as views, and build batches (for the client).
 *
 * Byte layout (all big-endian; offsets from the start of the batch):
 *
 *   off size field                  notes
 *     0    8 baseOffset             written by the broker; outside the CRC
 *     8    4 batchLength            bytes after this field: batch size = 12 + batchLength
 *    12    4 partitionLeaderEpoch   outside the CRC
 *    16    1 magic                  2
 *    17    4 crc                    CRC-32C over [21, end of batch)
 *    21    2 attributes             bits 0-2 codec, 3 timestampType (1 = LogAppendTime),
 *                                   4 transactional, 5 control, 6 delete horizon
 *    23    4 lastOffsetDelta
 *    27    8 baseTimestamp
 *    35    8 maxTimestamp
 *    43    8 producerId
 *    51    2 producerEpoch
 *    53    4 baseSequence
 *    57    4 recordCount
 *    61    - records (one compressed blob when codec != 0)
 *
 * Record (uncompressed), zigzag varints: length, attributes int8, timestampDelta varlong,
 * offsetDelta varint, keyLen varint (-1 null), key, valueLen varint (-1 null), value,
 * headerCount varint, then per header keyLen varint, key, valueLen varint (-1 null), value.
 *
 * Contract: pure functions over caller-owned bytes; views point into the caller's buffer.
 * Errors are negative errno:
 *   -ENODATA  fewer bytes present than the header or batchLength says (a torn tail on disk,
 *             a truncated request)
 *   -EBADMSG  corrupt: wrong magic, batchLength out of range, CRC mismatch, an unknown
 *             codec (> 4), an uncompressed recordCount that the records area cannot hold
 *             (7 bytes per record at least), a record that overruns the batch or its own
 *             length (Kafka: CORRUPT_MESSAGE)
 *   -EINVAL   well-formed but not acceptable: lastOffsetDelta < 0, recordCount < 0 or above
 *             lastOffsetDelta + 1 (fewer is a log's batch after a compacted log's cleaner
 *             removed records and kept the offsets, as Kafka's; 0 an empty one), and with
 *             KP_BATCH_FROM_PRODUCER also recordCount != lastOffsetDelta + 1 or 0,
 *             baseOffset != 0, the control bit set, or a producerId >= 0 with a baseSequence
 *             < 0 (Kafka: INVALID_RECORD)
 *   -ENOSPC   (builder) the record does not fit in the caller's buffer
 */
#ifndef SPLICELOG_KP_BATCH_H
#define SPLICELOG_KP_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kp_buf.h"

enum {
    KP_BATCH_OFF_BASE_OFFSET = 0,
    KP_BATCH_OFF_LENGTH = 8,
    KP_BATCH_OFF_LEADER_EPOCH = 12,
    KP_BATCH_OFF_MAGIC = 16,
    KP_BATCH_OFF_CRC = 17,
    KP_BATCH_OFF_ATTRIBUTES = 21,
    KP_BATCH_OFF_LAST_OFFSET_DELTA = 23,
    KP_BATCH_OFF_BASE_TIMESTAMP = 27,
    KP_BATCH_OFF_MAX_TIMESTAMP = 35,
    KP_BATCH_OFF_PRODUCER_ID = 43,
    KP_BATCH_OFF_PRODUCER_EPOCH = 51,
    KP_BATCH_OFF_BASE_SEQUENCE = 53,
    KP_BATCH_OFF_RECORD_COUNT = 57,
    KP_BATCH_HEADER_LEN = 61,   /* smallest possible batch (no records) */
    KP_BATCH_LOG_OVERHEAD = 12, /* baseOffset + batchLength */
    KP_BATCH_MAGIC = 2,
};

enum {
    KP_BATCH_ATTR_CODEC_MASK = 0x07,
    KP_BATCH_ATTR_LOG_APPEND_TIME = 0x08,
    KP_BATCH_ATTR_TRANSACTIONAL = 0x10,
    KP_BATCH_ATTR_CONTROL = 0x20,
};

/* Flags for kp_batch_validate(). */
enum {
    KP_BATCH_FROM_PRODUCER = 1 << 0, /* also apply the checks Kafka makes on a produced batch */
    KP_BATCH_SKIP_CRC = 1 << 1,      /* lengths and counts only (the CRC is checked elsewhere) */
};

struct kp_batch_hdr {
    int64_t base_offset;
    int32_t batch_length;
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
};

/* Total bytes of the batch described by hdr (12 + batchLength). */
static inline size_t kp_batch_size(const struct kp_batch_hdr *hdr)
{
    return (size_t)KP_BATCH_LOG_OVERHEAD + (size_t)hdr->batch_length;
}

/*
 * Decodes the fixed 61-byte header of the batch at p (len bytes available). Checks only that
 * the header is present, the magic is 2 and batchLength is at least 49; does not require the
 * whole batch to be present and does not check the CRC. 0, -ENODATA or -EBADMSG.
 */
int kp_batch_parse_hdr(const uint8_t *p, size_t len, struct kp_batch_hdr *out);

/*
 * Full validation of the batch at the start of [p, p+len): header, the whole batch present,
 * CRC-32C (unless KP_BATCH_SKIP_CRC), counts, and flag-dependent checks. On success fills
 * *out (may be NULL) and returns 0; the batch occupies kp_batch_size(out) bytes.
 * Records themselves are not walked (see kp_batch_check_records).
 */
int kp_batch_validate(const uint8_t *p, size_t len, unsigned flags, struct kp_batch_hdr *out);

/*
 * Walks every record of an uncompressed batch that already passed kp_batch_validate and
 * checks that the records exactly fill it and their count equals recordCount. -EBADMSG if
 * not. Compressed batches (codec != 0) return 0 without looking inside.
 */
int kp_batch_check_records(const uint8_t *batch, const struct kp_batch_hdr *hdr);

/* In-place rewrites of the fields outside the CRC (batch must be >= 61 bytes). */
void kp_batch_set_base_offset(uint8_t *batch, int64_t base_offset);
void kp_batch_set_leader_epoch(uint8_t *batch, int32_t epoch);
/* LogAppendTime: sets attribute bit 3 and maxTimestamp = now_ms, then recomputes the CRC. */
void kp_batch_set_log_append_time(uint8_t *batch, size_t batch_size, int64_t now_ms);

/*
 * Producer sequences (KIP-98): a batch from producer id >= 0 carries baseSequence; its records
 * have sequences baseSequence .. baseSequence + lastOffsetDelta, wrapping from INT32_MAX to 0
 * (Kafka's DefaultRecordBatch.incrementSequence). seq and n must be >= 0.
 */
static inline int32_t kp_batch_seq_add(int32_t seq, int32_t n)
{
    return seq > INT32_MAX - n ? n - (INT32_MAX - seq) - 1 : seq + n;
}

/*
 * The tail of an empty batch (recordCount 0) from offset from: out (KP_BATCH_HEADER_LEN bytes)
 * gets hdr's header (parsed from the batch at src, which holds from: hdr->base_offset < from
 * <= its last offset) with baseOffset from, lastOffsetDelta cut to end where it ended, the
 * baseSequence moved as far when it is set, no codec bits, batchLength 49 and its CRC. A
 * follower whose log ends inside a leader's empty batch (a run of batches the leader's cleaner
 * removed, merged into one: st_clean.c) appends this instead of the whole batch.
 */
void kp_batch_empty_tail(uint8_t *out, const uint8_t *src, const struct kp_batch_hdr *hdr,
                         int64_t from);

/* Sets producerId, producerEpoch, baseSequence and the transactional bit of a batch (at least
 * 61 bytes, batch_size bytes in all) and recomputes its CRC (the builder writes -1s). */
void kp_batch_set_producer(uint8_t *batch, size_t batch_size, int64_t producer_id, int16_t epoch,
                           int32_t base_sequence, bool transactional);

/*
 * Transaction markers (control batches). Kafka's EndTransactionMarker written by
 * MemoryRecords.writeEndTransactionalMarker: attributes transactional | control, CreateTime,
 * uncompressed, baseSequence -1, one record whose key is {int16 version 0, int16 type} and
 * whose value is {int16 version 0, int32 coordinator epoch}. Exactly KP_BATCH_MARKER_LEN bytes:
 *
 *    0  8 baseOffset 0 (the store writes it)   8  4 batchLength 66   12  4 leaderEpoch 0
 *   16  1 magic 2                             17  4 CRC-32C [21, 78)
 *   21  2 attributes 0x0030                   23  4 lastOffsetDelta 0
 *   27  8 baseTimestamp = ts                  35  8 maxTimestamp = ts
 *   43  8 producerId                          51  2 producerEpoch   53 4 baseSequence -1
 *   57  4 recordCount 1
 *   61 20 00 00 00 08    record length 16, attributes, timestampDelta, offsetDelta, keyLength 4
 *   66 00 00 00 TT       key: version 0, type (ABORT 0, COMMIT 1)
 *   70 0c                valueLength 6
 *   71 00 00 EE EE EE EE value: version 0, coordinator epoch
 *   77 00                no headers
 */
enum {
    KP_BATCH_MARKER_LEN = 78,
    KP_CONTROL_ABORT = 0,
    KP_CONTROL_COMMIT = 1,
};
void kp_batch_build_txn_marker(uint8_t *buf, int64_t producer_id, int16_t epoch, bool commit,
                               int32_t coordinator_epoch, int64_t timestamp);
/*
 * The control record type of a control batch (len >= its size; the CRC is not checked here):
 * its first record's key is {int16 version, int16 type}, returned as type >= 0 (ABORT 0,
 * COMMIT 1). -EBADMSG when the batch is not a control batch, is compressed, or its first
 * record has no such key.
 */
int kp_batch_control_type(const uint8_t *batch, size_t len);

/* ---- record iteration (uncompressed batches) ------------------------------------------ */

struct kp_record {
    int8_t attributes;
    int64_t timestamp_delta;
    int32_t offset_delta;
    struct kp_bytes key;   /* len -1: null key */
    struct kp_bytes value; /* len -1: null value */
    int32_t header_count;
    struct kp_bytes headers; /* the encoded headers, for kp_header_next() */
};

struct kp_record_iter {
    struct kp_rd rd; /* over the records area of the batch */
    int32_t left;    /* records not yet returned */
};

struct kp_header {
    struct kp_str key;
    struct kp_bytes value; /* len -1: null */
};

/* Starts iterating the batch at p (already validated, uncompressed). */
void kp_record_iter_init(struct kp_record_iter *it, const uint8_t *batch,
                         const struct kp_batch_hdr *hdr);
/*
 * Starts iterating count records laid out in records[0, len): the records area of a compressed
 * batch once decompressed (the caller owns that buffer; views point into it).
 */
void kp_record_iter_init_records(struct kp_record_iter *it, const uint8_t *records, size_t len,
                                 int32_t count);
/* 1 and fills *rec, 0 at the end, -EBADMSG on a malformed record (iteration stops). */
int kp_record_next(struct kp_record_iter *it, struct kp_record *rec);
/* Iterates headers of rec: pass a reader initialised over rec->headers. 1, 0 at end, -EBADMSG. */
int kp_header_next(struct kp_rd *rd, struct kp_header *out);

/* ---- building (the client's producer) -------------------------------------------------- */

struct kp_batch_builder {
    struct kp_wr wr; /* over the caller's buffer; the header is reserved at begin */
    int64_t base_timestamp;
    int64_t max_timestamp;
    int32_t count;
};

/*
 * Begins a batch in buf (cap bytes, >= 61, else -ENOSPC); producer_id -1, epoch -1,
 * sequence -1, partitionLeaderEpoch 0, attributes 0 (uncompressed, CreateTime). Nothing is
 * allocated: records are encoded straight into buf.
 */
int kp_batch_begin(struct kp_batch_builder *b, void *buf, size_t cap, int64_t base_timestamp);
/*
 * Appends one record in place (offsetDelta = records so far, timestampDelta = timestamp -
 * base_timestamp); -ENOSPC (nothing written) when it does not fit, -EINVAL for a header with
 * a null key or header_count < 0, -EOVERFLOW past INT32_MAX records.
 */
int kp_batch_add(struct kp_batch_builder *b, int64_t timestamp, struct kp_bytes key,
                 struct kp_bytes value, const struct kp_header *headers, int32_t header_count);
/* Bytes a record would take (for capacity planning); 0 for a record kp_batch_add rejects. */
size_t kp_batch_record_size(int64_t timestamp_delta, int32_t offset_delta, struct kp_bytes key,
                            struct kp_bytes value, const struct kp_header *headers,
                            int32_t header_count);
/*
 * Writes lengths, counts, timestamps and CRC; returns the batch size (> 0) or -errno
 * (-EINVAL when no record was added: an empty batch is not valid). May be called again after
 * more kp_batch_add() calls.
 */
long kp_batch_finish(struct kp_batch_builder *b);

/*
 * A compressed copy of a finished batch: the caller has written its records area, compressed
 * with codec (1-4), at out + KP_BATCH_HEADER_LEN (zlen bytes). This copies the 61-byte header
 * of batch (the uncompressed original, which may not overlap out), sets the codec bits and
 * batchLength, and computes the CRC. Returns the batch size (61 + zlen), or -EINVAL for a codec
 * outside 1-4 or a size past batchLength's int32.
 */
long kp_batch_seal_compressed(uint8_t *out, const uint8_t *batch, size_t zlen, unsigned codec);

/*
 * The same for an uncompressed copy: the caller has written the records, uncompressed, at
 * out + KP_BATCH_HEADER_LEN (len bytes); this copies the header of batch (which may not
 * overlap out), clears the codec bits, sets batchLength and computes the CRC. Returns the batch
 * size (61 + len), or -EINVAL for a size past batchLength's int32.
 */
long kp_batch_seal_plain(uint8_t *out, const uint8_t *batch, size_t len);

#endif
