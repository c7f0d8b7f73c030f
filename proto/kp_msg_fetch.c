/*
 * kp_msg_fetch — the Fetch (1) response written by hand (kp_msg.h): the piecewise encoder that
 * lets the broker send each partition's records straight from a file (v4-13), and the
 * whole-message decoder of the classic versions v4-11. Requests, and responses of v12+ when
 * decoded whole, go through the tables in kp_msg_data.c; tests/unit/test_kp_msg_flex.c checks
 * that this encoder and those tables give the same bytes at every version.
 *
 * Response  throttle_time_ms int32, error_code int16 (v7+), session_id int32 (v7+),
 *           responses ARRAY{topic STRING (v4-12) | topic_id UUID (v13+), partitions
 *             ARRAY{partition_index int32, error_code int16, high_watermark int64,
 *             last_stable_offset int64, log_start_offset int64 (v5+), aborted_transactions
 *             NULLABLE ARRAY{producer_id int64, first_offset int64}, preferred_read_replica
 *             int32 (v11+), records NULLABLE_BYTES}}.
 * Below v12 records is the last field of a partition and nothing follows the last one, which
 * is what makes the piecewise encoding possible. From v12 (flexible) strings, arrays and
 * records carry uvarint(N + 1) lengths, and every aborted entry, partition, topic and the
 * response end in a tag buffer; a partition's may carry diverging_epoch (tag 0),
 * current_leader (tag 1) and snapshot_id (tag 2), each a struct with its own (empty) tag
 * buffer. The records still precede the partition's tag buffer, so the broker sends the file
 * range between the partition's head and its tail. Sources: apache/kafka
 * .../common/message/Fetch{Request,Response}.json; notes §5 and §7.
 */
#include "kp_msg.h"
#include "kp_msg_int.h"
#include "kp_schema.h"

#define FE_MIN       KP_API_FETCH_CODEC_VMIN
#define FE_MAX       11 /* the classic versions (the whole-message decoder below) */
#define FE_ENC_MAX   KP_API_FETCH_CODEC_VMAX /* the piecewise encoder */
#define FE_FLEX      KP_API_FETCH_FLEX
#define FE_TOPIC_IDS 13
#define FE_UVAR_MAX  5 /* largest encoding of a uvarint count */

/* ---- response, piece by piece ------------------------------------------------------------ */

static bool fe_flex(int16_t version) { return version >= FE_FLEX; }

/* An array count: int32, or from v12 a uvarint of n + 1 (0 for null). */
static size_t fe_count_size(int16_t version, int32_t n)
{
    return fe_flex(version) ? kp_uvarint_size(n < 0 ? 0 : (uint64_t)n + 1) : KP__ARRAY;
}

static void fe_wr_count(struct kp_wr *wr, int16_t version, int32_t n)
{
    fe_flex(version) ? kp_wr_carray(wr, n) : kp_wr_array(wr, n);
}

static size_t fe_str_size(int16_t version, struct kp_str s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    return n + (fe_flex(version) ? kp_uvarint_size(n + 1) : KP__STR);
}

/* Below v12 exact; from v12 the topic count is counted at its largest (an upper bound). */
size_t kp_fetch_resp_head_size(int16_t version)
{
    if (!kp__ver_in(version, FE_MIN, FE_ENC_MAX))
        return 0;
    return KP__I32 + (version >= 7 ? KP__I16 + KP__I32 : 0) +
           (fe_flex(version) ? FE_UVAR_MAX : KP__ARRAY);
}

/* v4-12; below v12 exact, at v12 the partition count is counted at its largest. */
size_t kp_fetch_resp_topic_size(int16_t version, struct kp_str topic)
{
    if (!kp__ver_in(version, FE_MIN, FE_TOPIC_IDS - 1))
        return 0;
    return fe_str_size(version, topic) + (fe_flex(version) ? FE_UVAR_MAX : KP__ARRAY);
}

size_t kp_fetch_resp_topic_head_size(int16_t version, const struct kp_fetch_resp_topic *t)
{
    if (!kp__ver_in(version, FE_MIN, FE_ENC_MAX))
        return 0;
    size_t name = version >= FE_TOPIC_IDS ? sizeof(struct kp_uuid) : fe_str_size(version, t->topic);
    return name + fe_count_size(version, t->n_partitions);
}

size_t kp_fetch_resp_partition_head_size(int16_t version, const struct kp_fetch_resp_partition *p)
{
    if (!kp__ver_in(version, FE_MIN, FE_ENC_MAX))
        return 0;
    bool flex = fe_flex(version);
    size_t n_aborted = p->n_aborted > 0 ? (size_t)p->n_aborted : 0;
    size_t records = p->records.len > 0 ? (size_t)p->records.len : 0;
    return KP__I32 + KP__I16 + 2 * KP__I64 + (version >= 5 ? KP__I64 : 0) +
           fe_count_size(version, p->n_aborted) + n_aborted * (2 * KP__I64 + (flex ? 1 : 0)) +
           (version >= 11 ? KP__I32 : 0) + (flex ? kp_uvarint_size(records + 1) : KP__BYTES);
}

/* The tagged fields of a partition that go on the wire: present and not all -1. */
static bool fe_epoch_set(const struct kp_fetch_epoch_end_offset *e)
{
    return e && (e->epoch != -1 || e->end_offset != -1);
}

static bool fe_leader_set(const struct kp_leader_id_and_epoch *l)
{
    return l && (l->leader_id != -1 || l->leader_epoch != -1);
}

static bool fe_snapshot_set(const struct kp_fetch_snapshot_id *s)
{
    return s && (s->end_offset != -1 || s->epoch != -1);
}

/* Each tagged struct: uvarint tag (1 byte), uvarint size (1 byte), its fields, and its own
 * empty tag buffer (1 byte). */
#define FE_TAG_EPOCH    (1 + 1 + KP__I32 + KP__I64 + 1)
#define FE_TAG_LEADER   (1 + 1 + KP__I32 + KP__I32 + 1)
#define FE_TAG_SNAPSHOT (1 + 1 + KP__I64 + KP__I32 + 1)

size_t kp_fetch_resp_partition_tail_size(int16_t version, const struct kp_fetch_resp_partition *p)
{
    if (!kp__ver_in(version, FE_FLEX, FE_ENC_MAX))
        return 0;
    return 1 + (fe_epoch_set(p->diverging_epoch) ? FE_TAG_EPOCH : 0) +
           (fe_leader_set(p->current_leader) ? FE_TAG_LEADER : 0) +
           (fe_snapshot_set(p->snapshot_id) ? FE_TAG_SNAPSHOT : 0);
}

size_t kp_fetch_resp_end_size(int16_t version)
{
    return kp__ver_in(version, FE_FLEX, FE_ENC_MAX) ? 1 : 0;
}

int kp_fetch_resp_head_encode(struct kp_wr *wr, int16_t version, int32_t throttle_time_ms,
                              int16_t error_code, int32_t session_id, int32_t n_topics)
{
    if (!kp__ver_in(version, FE_MIN, FE_ENC_MAX) || n_topics < 0)
        return -EINVAL;
    kp_wr_i32(wr, throttle_time_ms);
    if (version >= 7) {
        kp_wr_i16(wr, error_code);
        kp_wr_i32(wr, session_id);
    }
    fe_wr_count(wr, version, n_topics);
    return wr->err;
}

int kp_fetch_resp_topic_encode(struct kp_wr *wr, int16_t version, struct kp_str topic,
                               int32_t n_partitions)
{
    if (!kp__ver_in(version, FE_MIN, FE_TOPIC_IDS - 1) || n_partitions < 0 || !kp__str_ok(topic))
        return -EINVAL;
    fe_flex(version) ? kp_wr_cstr(wr, topic) : kp_wr_str(wr, topic);
    fe_wr_count(wr, version, n_partitions);
    return wr->err;
}

int kp_fetch_resp_topic_head_encode(struct kp_wr *wr, int16_t version,
                                    const struct kp_fetch_resp_topic *t)
{
    if (version < FE_TOPIC_IDS)
        return kp_fetch_resp_topic_encode(wr, version, t->topic, t->n_partitions);
    if (!kp__ver_in(version, FE_MIN, FE_ENC_MAX) || t->n_partitions < 0)
        return -EINVAL;
    kp_wr_raw(wr, t->topic_id.b, sizeof t->topic_id.b);
    fe_wr_count(wr, version, t->n_partitions);
    return wr->err;
}

int kp_fetch_resp_partition_head_encode(struct kp_wr *wr, int16_t version,
                                        const struct kp_fetch_resp_partition *p)
{
    if (!kp__ver_in(version, FE_MIN, FE_ENC_MAX) || !kp__arr_ok(p->n_aborted, p->aborted, true))
        return -EINVAL;
    bool flex = fe_flex(version);
    kp_wr_i32(wr, p->partition);
    kp_wr_i16(wr, p->error_code);
    kp_wr_i64(wr, p->high_watermark);
    kp_wr_i64(wr, p->last_stable_offset);
    if (version >= 5)
        kp_wr_i64(wr, p->log_start_offset);
    fe_wr_count(wr, version, p->n_aborted);
    for (int32_t i = 0; i < p->n_aborted; i++) {
        kp_wr_i64(wr, p->aborted[i].producer_id);
        kp_wr_i64(wr, p->aborted[i].first_offset);
        if (flex)
            kp_wr_tags(wr);
    }
    if (version >= 11)
        kp_wr_i32(wr, p->preferred_read_replica);
    /* Empty is 0 (or uvarint 1), never null: librdkafka rejects a -1 records length (§7). */
    int32_t len = p->records.len > 0 ? p->records.len : 0;
    if (flex)
        kp_wr_uvarint(wr, (uint32_t)len + 1);
    else
        kp_wr_i32(wr, len);
    return wr->err;
}

int kp_fetch_resp_partition_tail_encode(struct kp_wr *wr, int16_t version,
                                        const struct kp_fetch_resp_partition *p)
{
    if (!kp__ver_in(version, FE_MIN, FE_ENC_MAX))
        return -EINVAL;
    if (!fe_flex(version))
        return wr->err;
    bool e = fe_epoch_set(p->diverging_epoch), l = fe_leader_set(p->current_leader),
         s = fe_snapshot_set(p->snapshot_id);
    kp_wr_uvarint(wr, (uint32_t)(e + l + s));
    if (e) { /* tag 0 */
        kp_wr_uvarint(wr, 0);
        kp_wr_uvarint(wr, FE_TAG_EPOCH - 2);
        kp_wr_i32(wr, p->diverging_epoch->epoch);
        kp_wr_i64(wr, p->diverging_epoch->end_offset);
        kp_wr_tags(wr);
    }
    if (l) { /* tag 1 */
        kp_wr_uvarint(wr, 1);
        kp_wr_uvarint(wr, FE_TAG_LEADER - 2);
        kp_wr_i32(wr, p->current_leader->leader_id);
        kp_wr_i32(wr, p->current_leader->leader_epoch);
        kp_wr_tags(wr);
    }
    if (s) { /* tag 2 */
        kp_wr_uvarint(wr, 2);
        kp_wr_uvarint(wr, FE_TAG_SNAPSHOT - 2);
        kp_wr_i64(wr, p->snapshot_id->end_offset);
        kp_wr_i32(wr, p->snapshot_id->epoch);
        kp_wr_tags(wr);
    }
    return wr->err;
}

int kp_fetch_resp_end_encode(struct kp_wr *wr, int16_t version)
{
    if (!kp__ver_in(version, FE_MIN, FE_ENC_MAX))
        return -EINVAL;
    if (fe_flex(version))
        kp_wr_tags(wr);
    return wr->err;
}

/* Counts and views of a response shape; records views are checked only when with_records. */
static bool fe_resp_valid(const struct kp_fetch_resp *r, int16_t version, bool with_records)
{
    if (!kp__arr_ok(r->n_topics, r->topics, false))
        return false;
    for (int32_t i = 0; i < r->n_topics; i++) {
        const struct kp_fetch_resp_topic *t = &r->topics[i];
        if ((version < FE_TOPIC_IDS && !kp__str_ok(t->topic)) ||
            !kp__arr_ok(t->n_partitions, t->partitions, false))
            return false;
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_fetch_resp_partition *p = &t->partitions[j];
            if (!kp__arr_ok(p->n_aborted, p->aborted, true))
                return false;
            if (with_records && !kp__bytes_ok(p->records))
                return false;
        }
    }
    return true;
}

int kp_fetch_resp_size(int16_t version, const struct kp_fetch_resp *resp, size_t *size)
{
    if (!kp__ver_in(version, FE_MIN, FE_ENC_MAX) || !fe_resp_valid(resp, version, false))
        return -EINVAL;
    size_t n = KP__I32 + (version >= 7 ? KP__I16 + KP__I32 : 0) +
               fe_count_size(version, resp->n_topics) + kp_fetch_resp_end_size(version);
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const struct kp_fetch_resp_topic *t = &resp->topics[i];
        n += kp_fetch_resp_topic_head_size(version, t) + kp_fetch_resp_end_size(version);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_fetch_resp_partition *p = &t->partitions[j];
            n += kp_fetch_resp_partition_head_size(version, p);
            n += p->records.len > 0 ? (size_t)p->records.len : 0;
            n += kp_fetch_resp_partition_tail_size(version, p);
        }
    }
    *size = n;
    return 0;
}

/* ---- response, whole message ------------------------------------------------------------- */

int kp_fetch_resp_encode(struct kp_wr *wr, int16_t version, const struct kp_fetch_resp *resp)
{
    if (!kp__ver_in(version, FE_MIN, FE_ENC_MAX) || !fe_resp_valid(resp, version, true))
        return -EINVAL;
    kp_fetch_resp_head_encode(wr, version, resp->throttle_time_ms, resp->error_code,
                              resp->session_id, resp->n_topics);
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const struct kp_fetch_resp_topic *t = &resp->topics[i];
        kp_fetch_resp_topic_head_encode(wr, version, t);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_fetch_resp_partition *p = &t->partitions[j];
            kp_fetch_resp_partition_head_encode(wr, version, p);
            if (p->records.len > 0)
                kp_wr_raw(wr, p->records.ptr, (size_t)p->records.len);
            kp_fetch_resp_partition_tail_encode(wr, version, p);
        }
        kp_fetch_resp_end_encode(wr, version);
    }
    kp_fetch_resp_end_encode(wr, version);
    return wr->err;
}

int kp_fetch_resp_head_decode(struct kp_rd *rd, int16_t version, int32_t *throttle_time_ms,
                              int16_t *error_code, int32_t *session_id, int32_t *n_topics)
{
    if (!kp__ver_in(version, FE_MIN, FE_MAX))
        return -EINVAL;
    *throttle_time_ms = kp_rd_i32(rd);
    *error_code = version >= 7 ? kp_rd_i16(rd) : 0;
    *session_id = version >= 7 ? kp_rd_i32(rd) : 0;
    *n_topics = kp_rd_array(rd, KP__STR + KP__ARRAY, false);
    return rd->err;
}

int kp_fetch_resp_topic_decode(struct kp_rd *rd, int16_t version, struct kp_str *topic,
                               int32_t *n_partitions)
{
    if (!kp__ver_in(version, FE_MIN, FE_MAX))
        return -EINVAL;
    const struct kp_fetch_resp_partition empty = {.n_aborted = 0};
    *topic = kp_rd_str(rd);
    *n_partitions = kp_rd_array(rd, kp_fetch_resp_partition_head_size(version, &empty), false);
    return rd->err;
}

int kp_fetch_resp_partition_decode(struct kp_rd *rd, int16_t version,
                                   struct kp_fetch_resp_partition *p, struct kp_bytes *aborted)
{
    if (!kp__ver_in(version, FE_MIN, FE_MAX))
        return -EINVAL;
    p->partition = kp_rd_i32(rd);
    p->error_code = kp_rd_i16(rd);
    p->high_watermark = kp_rd_i64(rd);
    p->last_stable_offset = kp_rd_i64(rd);
    p->log_start_offset = version >= 5 ? kp_rd_i64(rd) : -1;
    p->n_aborted = kp_rd_array(rd, 2 * KP__I64, true);
    p->aborted = NULL;
    size_t n = p->n_aborted > 0 ? (size_t)p->n_aborted : 0;
    const uint8_t *a = kp_rd_raw(rd, n * 2 * KP__I64);
    *aborted = (struct kp_bytes){a, a ? (int32_t)(n * 2 * KP__I64) : 0};
    p->preferred_read_replica = version >= 11 ? kp_rd_i32(rd) : -1;
    p->records = kp_rd_nbytes(rd);
    if (p->records.len < 0)
        p->records = (struct kp_bytes){NULL, 0};
    p->diverging_epoch = NULL; /* v12+ tagged fields: absent */
    p->current_leader = NULL;
    p->snapshot_id = NULL;
    return rd->err;
}

void kp_fetch_aborted_get(struct kp_bytes aborted, int32_t i, struct kp_fetch_aborted_txn *out)
{
    const uint8_t *e = aborted.ptr + (size_t)i * 2 * KP__I64;
    out->producer_id = (int64_t)kp_load_be64(e);
    out->first_offset = (int64_t)kp_load_be64(e + KP__I64);
}

int kp_fetch_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                         struct kp_fetch_resp *out)
{
    if (version > FE_MAX) /* flexible: the table (kp_msg_data.c) */
        return kp__decode(rd, &kp__api_fetch, kp__api_fetch.resp, version, arena, out);
    if (!kp__ver_in(version, FE_MIN, FE_MAX))
        return -EINVAL;
    kp_fetch_resp_head_decode(rd, version, &out->throttle_time_ms, &out->error_code,
                              &out->session_id, &out->n_topics);
    struct kp_fetch_resp_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        kp_fetch_resp_topic_decode(rd, version, &t[i].topic, &t[i].n_partitions);
        struct kp_fetch_resp_partition *p = kp__rd_alloc(rd, arena, t[i].n_partitions, sizeof *p);
        t[i].partitions = p;
        for (int32_t j = 0; p && j < t[i].n_partitions && kp_rd_ok(rd); j++) {
            struct kp_bytes raw;
            kp_fetch_resp_partition_decode(rd, version, &p[j], &raw);
            struct kp_fetch_aborted_txn *a = kp__rd_alloc(rd, arena, p[j].n_aborted, sizeof *a);
            p[j].aborted = a;
            for (int32_t k = 0; a && k < p[j].n_aborted; k++)
                kp_fetch_aborted_get(raw, k, &a[k]);
        }
    }
    return kp__rd_end(rd);
}
