/*
 * kp_batch — RecordBatch v2; the byte layout and the error classes are in kp_batch.h.
 *
 * Everything here reads through kp_buf's bounds-checked cursor or through fixed offsets that
 * were checked against the batch size first. A record is decoded in a reader bounded by its
 * own length field, so a record can never read into its neighbour or past the batch; it must
 * also end exactly where its length says (trailing bytes are corruption, as in Kafka's
 * DefaultRecord.readFrom).
 *
 * Smallest encodings, used to reject counts before walking:
 *   record body  attributes(1) timestampDelta(1) offsetDelta(1) keyLen(1) valueLen(1)
 *                headerCount(1)                      = 6 bytes, plus a 1-byte length = 7
 *   header       keyLen(1) valueLen(1)               = 2 bytes
 */
#include "kp_batch.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "kp_crc32c.h"

enum {
    MIN_BATCH_LENGTH = KP_BATCH_HEADER_LEN - KP_BATCH_LOG_OVERHEAD, /* 49 */
    MIN_RECORD_SIZE = 7,
    MIN_RECORD_BODY = 6,
    MIN_HEADER_SIZE = 2,
    MAX_CODEC = 4, /* zstd */
};

int kp_batch_parse_hdr(const uint8_t *p, size_t len, struct kp_batch_hdr *out)
{
    if (len < KP_BATCH_HEADER_LEN)
        return -ENODATA;
    struct kp_batch_hdr h = {
        .base_offset = (int64_t)kp_load_be64(p + KP_BATCH_OFF_BASE_OFFSET),
        .batch_length = (int32_t)kp_load_be32(p + KP_BATCH_OFF_LENGTH),
        .leader_epoch = (int32_t)kp_load_be32(p + KP_BATCH_OFF_LEADER_EPOCH),
        .magic = (int8_t)p[KP_BATCH_OFF_MAGIC],
        .crc = kp_load_be32(p + KP_BATCH_OFF_CRC),
        .attributes = (int16_t)kp_load_be16(p + KP_BATCH_OFF_ATTRIBUTES),
        .last_offset_delta = (int32_t)kp_load_be32(p + KP_BATCH_OFF_LAST_OFFSET_DELTA),
        .base_timestamp = (int64_t)kp_load_be64(p + KP_BATCH_OFF_BASE_TIMESTAMP),
        .max_timestamp = (int64_t)kp_load_be64(p + KP_BATCH_OFF_MAX_TIMESTAMP),
        .producer_id = (int64_t)kp_load_be64(p + KP_BATCH_OFF_PRODUCER_ID),
        .producer_epoch = (int16_t)kp_load_be16(p + KP_BATCH_OFF_PRODUCER_EPOCH),
        .base_sequence = (int32_t)kp_load_be32(p + KP_BATCH_OFF_BASE_SEQUENCE),
        .record_count = (int32_t)kp_load_be32(p + KP_BATCH_OFF_RECORD_COUNT),
    };
    if (h.magic != KP_BATCH_MAGIC || h.batch_length < MIN_BATCH_LENGTH)
        return -EBADMSG;
    if (out)
        *out = h;
    return 0;
}

static uint32_t batch_crc(const uint8_t *batch, size_t size)
{
    return kp_crc32c(0, batch + KP_BATCH_OFF_ATTRIBUTES, size - KP_BATCH_OFF_ATTRIBUTES);
}

int kp_batch_validate(const uint8_t *p, size_t len, unsigned flags, struct kp_batch_hdr *out)
{
    struct kp_batch_hdr h;
    int rc = kp_batch_parse_hdr(p, len, &h);
    if (rc)
        return rc;
    size_t size = kp_batch_size(&h);
    if (size > len)
        return -ENODATA;
    if (!(flags & KP_BATCH_SKIP_CRC) && batch_crc(p, size) != h.crc)
        return -EBADMSG;
    if ((h.attributes & KP_BATCH_ATTR_CODEC_MASK) > MAX_CODEC)
        return -EBADMSG;
    /* a log's batch may have lost records to a compacted log's cleaner, keeping its offsets
     * (none: an empty batch); a producer's holds exactly its offsets */
    if (h.last_offset_delta < 0 || h.record_count < 0 || h.record_count > h.last_offset_delta + 1)
        return -EINVAL;
    if ((flags & KP_BATCH_FROM_PRODUCER) &&
        (h.record_count == 0 || h.last_offset_delta != h.record_count - 1))
        return -EINVAL;
    /* An uncompressed batch cannot hold more records than 7-byte minimal ones. */
    if ((h.attributes & KP_BATCH_ATTR_CODEC_MASK) == 0 &&
        (size_t)h.record_count > (size - KP_BATCH_HEADER_LEN) / MIN_RECORD_SIZE)
        return -EBADMSG;
    if (flags & KP_BATCH_FROM_PRODUCER) {
        if (h.base_offset != 0 || (h.attributes & KP_BATCH_ATTR_CONTROL))
            return -EINVAL;
        /* Kafka's LogValidator: a producer id without a sequence is not a valid batch */
        if (h.producer_id >= 0 && h.base_sequence < 0)
            return -EINVAL;
    }
    if (out)
        *out = h;
    return 0;
}

int kp_batch_check_records(const uint8_t *batch, const struct kp_batch_hdr *hdr)
{
    if (hdr->attributes & KP_BATCH_ATTR_CODEC_MASK)
        return 0;
    struct kp_record_iter it;
    struct kp_record rec;
    kp_record_iter_init(&it, batch, hdr);
    int rc;
    while ((rc = kp_record_next(&it, &rec)) == 1)
        ;
    if (rc < 0)
        return rc;
    /* Every record returned (left == 0); now nothing may follow the last one. */
    return kp_rd_left(&it.rd) == 0 ? 0 : -EBADMSG;
}

void kp_batch_set_base_offset(uint8_t *batch, int64_t base_offset)
{
    kp_store_be64(batch + KP_BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void kp_batch_set_leader_epoch(uint8_t *batch, int32_t epoch)
{
    kp_store_be32(batch + KP_BATCH_OFF_LEADER_EPOCH, (uint32_t)epoch);
}

void kp_batch_set_log_append_time(uint8_t *batch, size_t batch_size, int64_t now_ms)
{
    assert(batch_size >= KP_BATCH_HEADER_LEN);
    uint16_t attr = kp_load_be16(batch + KP_BATCH_OFF_ATTRIBUTES);
    kp_store_be16(batch + KP_BATCH_OFF_ATTRIBUTES, attr | KP_BATCH_ATTR_LOG_APPEND_TIME);
    kp_store_be64(batch + KP_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)now_ms);
    kp_store_be32(batch + KP_BATCH_OFF_CRC, batch_crc(batch, batch_size));
}

void kp_batch_set_producer(uint8_t *batch, size_t batch_size, int64_t producer_id, int16_t epoch,
                           int32_t base_sequence, bool transactional)
{
    assert(batch_size >= KP_BATCH_HEADER_LEN);
    uint16_t attr = kp_load_be16(batch + KP_BATCH_OFF_ATTRIBUTES);
    attr = transactional ? attr | KP_BATCH_ATTR_TRANSACTIONAL
                         : attr & (uint16_t)~KP_BATCH_ATTR_TRANSACTIONAL;
    kp_store_be16(batch + KP_BATCH_OFF_ATTRIBUTES, attr);
    kp_store_be64(batch + KP_BATCH_OFF_PRODUCER_ID, (uint64_t)producer_id);
    kp_store_be16(batch + KP_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)epoch);
    kp_store_be32(batch + KP_BATCH_OFF_BASE_SEQUENCE, (uint32_t)base_sequence);
    kp_store_be32(batch + KP_BATCH_OFF_CRC, batch_crc(batch, batch_size));
}

/* ---- transaction markers (layout in kp_batch.h) ------------------------------------------ */

void kp_batch_build_txn_marker(uint8_t *buf, int64_t producer_id, int16_t epoch, bool commit,
                               int32_t coordinator_epoch, int64_t timestamp)
{
    uint8_t *p = buf;
    memset(p, 0, KP_BATCH_MARKER_LEN);
    kp_store_be32(p + KP_BATCH_OFF_LENGTH, KP_BATCH_MARKER_LEN - KP_BATCH_LOG_OVERHEAD);
    p[KP_BATCH_OFF_MAGIC] = KP_BATCH_MAGIC;
    kp_store_be16(p + KP_BATCH_OFF_ATTRIBUTES, KP_BATCH_ATTR_TRANSACTIONAL | KP_BATCH_ATTR_CONTROL);
    kp_store_be64(p + KP_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)timestamp);
    kp_store_be64(p + KP_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)timestamp);
    kp_store_be64(p + KP_BATCH_OFF_PRODUCER_ID, (uint64_t)producer_id);
    kp_store_be16(p + KP_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)epoch);
    kp_store_be32(p + KP_BATCH_OFF_BASE_SEQUENCE, (uint32_t)-1);
    kp_store_be32(p + KP_BATCH_OFF_RECORD_COUNT, 1);
    uint8_t *r = p + KP_BATCH_HEADER_LEN;
    r[0] = 0x20; /* zigzag 16: the record's length */
    r[4] = 0x08; /* zigzag 4: key length (attributes, deltas are 0) */
    kp_store_be16(r + 5, 0);
    kp_store_be16(r + 7, commit ? KP_CONTROL_COMMIT : KP_CONTROL_ABORT);
    r[9] = 0x0c; /* zigzag 6: value length */
    kp_store_be16(r + 10, 0);
    kp_store_be32(r + 12, (uint32_t)coordinator_epoch);
    r[16] = 0; /* headers */
    kp_store_be32(p + KP_BATCH_OFF_CRC, batch_crc(p, KP_BATCH_MARKER_LEN));
}

void kp_batch_empty_tail(uint8_t *out, const uint8_t *src, const struct kp_batch_hdr *hdr,
                         int64_t from)
{
    int64_t last = hdr->base_offset + hdr->last_offset_delta;
    int32_t moved = (int32_t)(from - hdr->base_offset);
    memcpy(out, src, KP_BATCH_HEADER_LEN);
    kp_store_be64(out + KP_BATCH_OFF_BASE_OFFSET, (uint64_t)from);
    kp_store_be32(out + KP_BATCH_OFF_LENGTH, KP_BATCH_HEADER_LEN - KP_BATCH_LOG_OVERHEAD);
    kp_store_be16(out + KP_BATCH_OFF_ATTRIBUTES,
                  (uint16_t)(hdr->attributes & ~KP_BATCH_ATTR_CODEC_MASK));
    kp_store_be32(out + KP_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(last - from));
    if (hdr->base_sequence >= 0)
        kp_store_be32(out + KP_BATCH_OFF_BASE_SEQUENCE,
                      (uint32_t)kp_batch_seq_add(hdr->base_sequence, moved));
    kp_store_be32(out + KP_BATCH_OFF_RECORD_COUNT, 0);
    kp_store_be32(out + KP_BATCH_OFF_CRC, batch_crc(out, KP_BATCH_HEADER_LEN));
}

int kp_batch_control_type(const uint8_t *batch, size_t len)
{
    struct kp_batch_hdr h;
    if (kp_batch_parse_hdr(batch, len, &h) < 0 || kp_batch_size(&h) > len ||
        !(h.attributes & KP_BATCH_ATTR_CONTROL) || (h.attributes & KP_BATCH_ATTR_CODEC_MASK) ||
        h.record_count < 1)
        return -EBADMSG;
    struct kp_record_iter it;
    struct kp_record rec;
    kp_record_iter_init(&it, batch, &h);
    if (kp_record_next(&it, &rec) != 1 || rec.key.len < 4 || (int16_t)kp_load_be16(rec.key.ptr) < 0)
        return -EBADMSG;
    int16_t type = (int16_t)kp_load_be16(rec.key.ptr + 2);
    return type < 0 ? -EBADMSG : type;
}

/* ---- record iteration ------------------------------------------------------------------ */

void kp_record_iter_init(struct kp_record_iter *it, const uint8_t *batch,
                         const struct kp_batch_hdr *hdr)
{
    size_t size = kp_batch_size(hdr);
    assert(size >= KP_BATCH_HEADER_LEN);
    kp_rd_init(&it->rd, batch + KP_BATCH_HEADER_LEN, size - KP_BATCH_HEADER_LEN);
    it->left = hdr->record_count > 0 ? hdr->record_count : 0;
}

void kp_record_iter_init_records(struct kp_record_iter *it, const uint8_t *records, size_t len,
                                 int32_t count)
{
    kp_rd_init(&it->rd, records, len);
    it->left = count > 0 ? count : 0;
}

/* A varint length: -1 is null when nullable, other negatives and short data are errors. */
static struct kp_bytes rd_varbytes(struct kp_rd *rd, bool nullable)
{
    int32_t n = kp_rd_varint(rd);
    if (!kp_rd_ok(rd))
        return KP_BYTES_NULL;
    if (n < 0) {
        if (n != -1 || !nullable)
            kp_rd_fail(rd, -EBADMSG);
        return KP_BYTES_NULL;
    }
    const uint8_t *p = kp_rd_raw(rd, (size_t)n);
    return p ? (struct kp_bytes){p, n} : KP_BYTES_NULL;
}

int kp_header_next(struct kp_rd *rd, struct kp_header *out)
{
    if (!kp_rd_ok(rd))
        return -EBADMSG;
    if (kp_rd_left(rd) == 0)
        return 0;
    struct kp_bytes key = rd_varbytes(rd, false);
    struct kp_bytes value = rd_varbytes(rd, true);
    if (!kp_rd_ok(rd))
        return -EBADMSG;
    out->key = (struct kp_str){(const char *)key.ptr, key.len};
    out->value = value;
    return 1;
}

int kp_record_next(struct kp_record_iter *it, struct kp_record *rec)
{
    if (!kp_rd_ok(&it->rd))
        return -EBADMSG;
    if (it->left == 0)
        return 0;
    int32_t len = kp_rd_varint(&it->rd);
    if (!kp_rd_ok(&it->rd) || len < MIN_RECORD_BODY)
        goto bad;
    const uint8_t *body = kp_rd_raw(&it->rd, (size_t)len);
    if (!body)
        goto bad;

    struct kp_rd r;
    kp_rd_init(&r, body, (size_t)len);
    rec->attributes = kp_rd_i8(&r);
    rec->timestamp_delta = kp_rd_varlong(&r);
    rec->offset_delta = kp_rd_varint(&r);
    rec->key = rd_varbytes(&r, true);
    rec->value = rd_varbytes(&r, true);
    rec->header_count = kp_rd_varint(&r);
    if (!kp_rd_ok(&r) || rec->header_count < 0 ||
        (size_t)rec->header_count > kp_rd_left(&r) / MIN_HEADER_SIZE)
        goto bad;
    /* Walk the headers now so that a record is either wholly valid or an error. */
    const uint8_t *hstart = r.p;
    for (int32_t i = 0; i < rec->header_count; i++) {
        struct kp_header h;
        if (kp_header_next(&r, &h) != 1)
            goto bad;
    }
    if (kp_rd_left(&r) != 0)
        goto bad; /* bytes after the last header */
    rec->headers = (struct kp_bytes){hstart, (int32_t)(r.p - hstart)};
    it->left--;
    return 1;
bad:
    kp_rd_fail(&it->rd, -EBADMSG);
    return -EBADMSG;
}

/* ---- building -------------------------------------------------------------------------- */

int kp_batch_begin(struct kp_batch_builder *b, void *buf, size_t cap, int64_t base_timestamp)
{
    if (cap < KP_BATCH_HEADER_LEN)
        return -ENOSPC;
    kp_wr_init(&b->wr, buf, cap);
    uint8_t *hdr = kp_wr_reserve(&b->wr, KP_BATCH_HEADER_LEN);
    assert(hdr);
    memset(hdr, 0, KP_BATCH_HEADER_LEN);
    b->base_timestamp = base_timestamp;
    b->max_timestamp = base_timestamp;
    b->count = 0;
    return 0;
}

static size_t bytes_size(struct kp_bytes v)
{
    return v.len < 0 ? kp_varint_size(-1) : kp_varint_size(v.len) + (size_t)v.len;
}

/* The record body (everything after its length varint); 0 when headers are invalid. */
static size_t record_body_size(int64_t timestamp_delta, int32_t offset_delta, struct kp_bytes key,
                               struct kp_bytes value, const struct kp_header *headers,
                               int32_t header_count)
{
    size_t n = 1 + kp_varlong_size(timestamp_delta) + kp_varint_size(offset_delta) +
               bytes_size(key) + bytes_size(value) + kp_varint_size(header_count);
    for (int32_t i = 0; i < header_count; i++) {
        if (headers[i].key.len < 0)
            return 0;
        n += kp_varint_size(headers[i].key.len) + (size_t)headers[i].key.len +
             bytes_size(headers[i].value);
    }
    return n;
}

size_t kp_batch_record_size(int64_t timestamp_delta, int32_t offset_delta, struct kp_bytes key,
                            struct kp_bytes value, const struct kp_header *headers,
                            int32_t header_count)
{
    if (header_count < 0 || (header_count > 0 && !headers))
        return 0;
    size_t body =
        record_body_size(timestamp_delta, offset_delta, key, value, headers, header_count);
    if (body == 0 || body > INT32_MAX)
        return 0;
    return kp_varint_size((int32_t)body) + body;
}

static void wr_varbytes(struct kp_wr *wr, struct kp_bytes v)
{
    if (v.len < 0) {
        kp_wr_varint(wr, -1);
        return;
    }
    kp_wr_varint(wr, v.len);
    kp_wr_raw(wr, v.ptr, (size_t)v.len);
}

int kp_batch_add(struct kp_batch_builder *b, int64_t timestamp, struct kp_bytes key,
                 struct kp_bytes value, const struct kp_header *headers, int32_t header_count)
{
    if (header_count < 0 || (header_count > 0 && !headers))
        return -EINVAL;
    if (b->count == INT32_MAX)
        return -EOVERFLOW;
    /* Wrapping subtraction: a timestamp before the base gives a negative delta. */
    int64_t ts_delta = (int64_t)((uint64_t)timestamp - (uint64_t)b->base_timestamp);
    int32_t off_delta = b->count;
    size_t body = record_body_size(ts_delta, off_delta, key, value, headers, header_count);
    if (body == 0)
        return -EINVAL; /* a header with a null key */
    if (body > INT32_MAX)
        return -EMSGSIZE;
    size_t total = kp_varint_size((int32_t)body) + body;
    /* The whole batch must stay within batchLength's int32. */
    if (total > kp_wr_left(&b->wr) ||
        kp_wr_len(&b->wr) + total - KP_BATCH_LOG_OVERHEAD > (size_t)INT32_MAX)
        return -ENOSPC;

    struct kp_wr *wr = &b->wr;
    kp_wr_varint(wr, (int32_t)body);
    kp_wr_i8(wr, 0);
    kp_wr_varlong(wr, ts_delta);
    kp_wr_varint(wr, off_delta);
    wr_varbytes(wr, key);
    wr_varbytes(wr, value);
    kp_wr_varint(wr, header_count);
    for (int32_t i = 0; i < header_count; i++) {
        kp_wr_varint(wr, headers[i].key.len);
        kp_wr_raw(wr, headers[i].key.ptr, (size_t)headers[i].key.len);
        wr_varbytes(wr, headers[i].value);
    }
    assert(kp_wr_ok(wr));
    if (b->count == 0 || timestamp > b->max_timestamp)
        b->max_timestamp = timestamp;
    b->count++;
    return 0;
}

long kp_batch_finish(struct kp_batch_builder *b)
{
    if (!kp_wr_ok(&b->wr))
        return b->wr.err;
    if (b->count == 0)
        return -EINVAL; /* Kafka rejects empty batches; so would kp_batch_validate */
    uint8_t *p = b->wr.start;
    size_t size = kp_wr_len(&b->wr);
    kp_store_be64(p + KP_BATCH_OFF_BASE_OFFSET, 0);
    kp_store_be32(p + KP_BATCH_OFF_LENGTH, (uint32_t)(size - KP_BATCH_LOG_OVERHEAD));
    kp_store_be32(p + KP_BATCH_OFF_LEADER_EPOCH, 0);
    p[KP_BATCH_OFF_MAGIC] = KP_BATCH_MAGIC;
    kp_store_be16(p + KP_BATCH_OFF_ATTRIBUTES, 0);
    kp_store_be32(p + KP_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(b->count - 1));
    kp_store_be64(p + KP_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)b->base_timestamp);
    kp_store_be64(p + KP_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)b->max_timestamp);
    kp_store_be64(p + KP_BATCH_OFF_PRODUCER_ID, (uint64_t)-1);
    kp_store_be16(p + KP_BATCH_OFF_PRODUCER_EPOCH, (uint16_t)-1);
    kp_store_be32(p + KP_BATCH_OFF_BASE_SEQUENCE, (uint32_t)-1);
    kp_store_be32(p + KP_BATCH_OFF_RECORD_COUNT, (uint32_t)b->count);
    kp_store_be32(p + KP_BATCH_OFF_CRC, batch_crc(p, size));
    return (long)size;
}

long kp_batch_seal_plain(uint8_t *out, const uint8_t *batch, size_t len)
{
    if (len > (size_t)INT32_MAX - KP_BATCH_HEADER_LEN)
        return -EINVAL;
    size_t size = KP_BATCH_HEADER_LEN + len;
    memcpy(out, batch, KP_BATCH_HEADER_LEN);
    uint16_t attr = kp_load_be16(out + KP_BATCH_OFF_ATTRIBUTES);
    kp_store_be16(out + KP_BATCH_OFF_ATTRIBUTES, (uint16_t)(attr & ~KP_BATCH_ATTR_CODEC_MASK));
    kp_store_be32(out + KP_BATCH_OFF_LENGTH, (uint32_t)(size - KP_BATCH_LOG_OVERHEAD));
    kp_store_be32(out + KP_BATCH_OFF_CRC, batch_crc(out, size));
    return (long)size;
}

long kp_batch_seal_compressed(uint8_t *out, const uint8_t *batch, size_t zlen, unsigned codec)
{
    if (codec < 1 || codec > 4 || zlen > (size_t)INT32_MAX - KP_BATCH_HEADER_LEN)
        return -EINVAL;
    size_t size = KP_BATCH_HEADER_LEN + zlen;
    memcpy(out, batch, KP_BATCH_HEADER_LEN);
    uint16_t attr = kp_load_be16(out + KP_BATCH_OFF_ATTRIBUTES);
    kp_store_be16(out + KP_BATCH_OFF_ATTRIBUTES,
                  (uint16_t)((attr & ~KP_BATCH_ATTR_CODEC_MASK) | codec));
    kp_store_be32(out + KP_BATCH_OFF_LENGTH, (uint32_t)(size - KP_BATCH_LOG_OVERHEAD));
    kp_store_be32(out + KP_BATCH_OFF_CRC, batch_crc(out, size));
    return (long)size;
}
