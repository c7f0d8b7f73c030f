/*
 * kp_msg_fetch — Fetch (1) v4-11 (kp_msg.h), including the piecewise response encoder that
 * lets the broker send each partition's records straight from a file.
 *
 * Request   replica_id int32, max_wait_ms int32, min_bytes int32, max_bytes int32,
 *           isolation_level int8, session_id int32 (v7+), session_epoch int32 (v7+),
 *           topics ARRAY{topic STRING, partitions ARRAY{partition int32,
 *             current_leader_epoch int32 (v9+), fetch_offset int64, log_start_offset int64
 *             (v5+), partition_max_bytes int32}},
 *           forgotten_topics_data ARRAY{topic STRING, partitions [int32]} (v7+),
 *           rack_id STRING (v11+).
 * Response  throttle_time_ms int32, error_code int16 (v7+), session_id int32 (v7+),
 *           responses ARRAY{topic STRING, partitions ARRAY{partition_index int32, error_code
 *             int16, high_watermark int64, last_stable_offset int64, log_start_offset int64
 *             (v5+), aborted_transactions NULLABLE ARRAY{producer_id int64, first_offset
 *             int64}, preferred_read_replica int32 (v11+), records NULLABLE_BYTES}}.
 * records is the last field of a partition and nothing follows the last one (Fetch is
 * flexible only from v12), which is what makes the piecewise encoding possible. Sources:
 * apache/kafka .../common/message/Fetch{Request,Response}.json; notes §5 and §7.
 */
#include "kp_msg.h"
#include "kp_msg_int.h"

#define FE_MIN 4
#define FE_MAX 11

/* ---- request ----------------------------------------------------------------------------- */

static bool fe_req_valid(const struct kp_fetch_req *r, int16_t version)
{
    if (!kp__arr_ok(r->n_topics, r->topics, false) || !kp__str_ok(r->rack_id))
        return false;
    for (int32_t i = 0; i < r->n_topics; i++)
        if (!kp__str_ok(r->topics[i].topic) ||
            !kp__arr_ok(r->topics[i].n_partitions, r->topics[i].partitions, false))
            return false;
    if (version < 7)
        return true;
    if (!kp__arr_ok(r->n_forgotten, r->forgotten, false))
        return false;
    for (int32_t i = 0; i < r->n_forgotten; i++)
        if (!kp__str_ok(r->forgotten[i].topic) ||
            !kp__arr_ok(r->forgotten[i].n_partitions, r->forgotten[i].partitions, false))
            return false;
    return true;
}

int kp_fetch_req_encode(struct kp_wr *wr, int16_t version, const struct kp_fetch_req *req)
{
    if (!kp__ver_in(version, FE_MIN, FE_MAX) || !fe_req_valid(req, version))
        return -EINVAL;
    kp_wr_i32(wr, req->replica_id);
    kp_wr_i32(wr, req->max_wait_ms);
    kp_wr_i32(wr, req->min_bytes);
    kp_wr_i32(wr, req->max_bytes);
    kp_wr_i8(wr, req->isolation_level);
    if (version >= 7) {
        kp_wr_i32(wr, req->session_id);
        kp_wr_i32(wr, req->session_epoch);
    }
    kp_wr_array(wr, req->n_topics);
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kp_fetch_req_topic *t = &req->topics[i];
        kp_wr_str(wr, t->topic);
        kp_wr_array(wr, t->n_partitions);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_fetch_req_partition *p = &t->partitions[j];
            kp_wr_i32(wr, p->partition);
            if (version >= 9)
                kp_wr_i32(wr, p->current_leader_epoch);
            kp_wr_i64(wr, p->fetch_offset);
            if (version >= 5)
                kp_wr_i64(wr, p->log_start_offset);
            kp_wr_i32(wr, p->partition_max_bytes);
        }
    }
    if (version >= 7) {
        kp_wr_array(wr, req->n_forgotten);
        for (int32_t i = 0; i < req->n_forgotten; i++) {
            kp_wr_str(wr, req->forgotten[i].topic);
            kp__wr_i32s(wr, req->forgotten[i].n_partitions, req->forgotten[i].partitions);
        }
    }
    if (version >= 11)
        kp_wr_str(wr, req->rack_id);
    return wr->err;
}

int kp_fetch_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                        struct kp_fetch_req *out)
{
    if (!kp__ver_in(version, FE_MIN, FE_MAX))
        return -EINVAL;
    out->replica_id = kp_rd_i32(rd);
    out->max_wait_ms = kp_rd_i32(rd);
    out->min_bytes = kp_rd_i32(rd);
    out->max_bytes = kp_rd_i32(rd);
    out->isolation_level = kp_rd_i8(rd);
    out->session_id = version >= 7 ? kp_rd_i32(rd) : 0;
    out->session_epoch = version >= 7 ? kp_rd_i32(rd) : -1;

    out->n_topics = kp_rd_array(rd, KP__STR + KP__ARRAY, false);
    struct kp_fetch_req_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    size_t part_min =
        KP__I32 + (version >= 9 ? KP__I32 : 0) + KP__I64 + (version >= 5 ? KP__I64 : 0) + KP__I32;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].topic = kp_rd_str(rd);
        t[i].n_partitions = kp_rd_array(rd, part_min, false);
        struct kp_fetch_req_partition *p = kp__rd_alloc(rd, arena, t[i].n_partitions, sizeof *p);
        t[i].partitions = p;
        for (int32_t j = 0; p && j < t[i].n_partitions; j++) {
            p[j].partition = kp_rd_i32(rd);
            p[j].current_leader_epoch = version >= 9 ? kp_rd_i32(rd) : -1;
            p[j].fetch_offset = kp_rd_i64(rd);
            p[j].log_start_offset = version >= 5 ? kp_rd_i64(rd) : -1;
            p[j].partition_max_bytes = kp_rd_i32(rd);
        }
    }

    out->n_forgotten = 0;
    out->forgotten = NULL;
    if (version >= 7) {
        out->n_forgotten = kp_rd_array(rd, KP__STR + KP__ARRAY, false);
        struct kp_fetch_forgotten_topic *f = kp__rd_alloc(rd, arena, out->n_forgotten, sizeof *f);
        out->forgotten = f;
        for (int32_t i = 0; f && i < out->n_forgotten && kp_rd_ok(rd); i++) {
            f[i].topic = kp_rd_str(rd);
            f[i].partitions = kp__rd_i32s(rd, arena, &f[i].n_partitions);
        }
    }
    out->rack_id = version >= 11 ? kp_rd_str(rd) : (struct kp_str){"", 0};
    return kp__rd_end(rd);
}

/* ---- response, piece by piece ------------------------------------------------------------ */

size_t kp_fetch_resp_head_size(int16_t version)
{
    if (!kp__ver_in(version, FE_MIN, FE_MAX))
        return 0;
    return KP__I32 + (version >= 7 ? KP__I16 + KP__I32 : 0) + KP__ARRAY;
}

size_t kp_fetch_resp_topic_size(int16_t version, struct kp_str topic)
{
    if (!kp__ver_in(version, FE_MIN, FE_MAX))
        return 0;
    return KP__STR + (topic.len > 0 ? (size_t)topic.len : 0) + KP__ARRAY;
}

size_t kp_fetch_resp_partition_head_size(int16_t version, const struct kp_fetch_resp_partition *p)
{
    if (!kp__ver_in(version, FE_MIN, FE_MAX))
        return 0;
    size_t n_aborted = p->n_aborted > 0 ? (size_t)p->n_aborted : 0;
    return KP__I32 + KP__I16 + 2 * KP__I64 + (version >= 5 ? KP__I64 : 0) + KP__ARRAY +
           n_aborted * 2 * KP__I64 + (version >= 11 ? KP__I32 : 0) + KP__BYTES;
}

int kp_fetch_resp_head_encode(struct kp_wr *wr, int16_t version, int32_t throttle_time_ms,
                              int16_t error_code, int32_t session_id, int32_t n_topics)
{
    if (!kp__ver_in(version, FE_MIN, FE_MAX) || n_topics < 0)
        return -EINVAL;
    kp_wr_i32(wr, throttle_time_ms);
    if (version >= 7) {
        kp_wr_i16(wr, error_code);
        kp_wr_i32(wr, session_id);
    }
    kp_wr_array(wr, n_topics);
    return wr->err;
}

int kp_fetch_resp_topic_encode(struct kp_wr *wr, int16_t version, struct kp_str topic,
                               int32_t n_partitions)
{
    if (!kp__ver_in(version, FE_MIN, FE_MAX) || n_partitions < 0 || !kp__str_ok(topic))
        return -EINVAL;
    kp_wr_str(wr, topic);
    kp_wr_array(wr, n_partitions);
    return wr->err;
}

int kp_fetch_resp_partition_head_encode(struct kp_wr *wr, int16_t version,
                                        const struct kp_fetch_resp_partition *p)
{
    if (!kp__ver_in(version, FE_MIN, FE_MAX) || !kp__arr_ok(p->n_aborted, p->aborted, true))
        return -EINVAL;
    kp_wr_i32(wr, p->partition);
    kp_wr_i16(wr, p->error_code);
    kp_wr_i64(wr, p->high_watermark);
    kp_wr_i64(wr, p->last_stable_offset);
    if (version >= 5)
        kp_wr_i64(wr, p->log_start_offset);
    kp_wr_array(wr, p->n_aborted);
    for (int32_t i = 0; i < p->n_aborted; i++) {
        kp_wr_i64(wr, p->aborted[i].producer_id);
        kp_wr_i64(wr, p->aborted[i].first_offset);
    }
    if (version >= 11)
        kp_wr_i32(wr, p->preferred_read_replica);
    /* Empty is 0, never -1: librdkafka rejects a -1 records length (notes §7). */
    kp_wr_i32(wr, p->records.len > 0 ? p->records.len : 0);
    return wr->err;
}

/* Counts and views of a response shape; records views are checked only when with_records. */
static bool fe_resp_valid(const struct kp_fetch_resp *r, bool with_records)
{
    if (!kp__arr_ok(r->n_topics, r->topics, false))
        return false;
    for (int32_t i = 0; i < r->n_topics; i++) {
        const struct kp_fetch_resp_topic *t = &r->topics[i];
        if (!kp__str_ok(t->topic) || !kp__arr_ok(t->n_partitions, t->partitions, false))
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
    if (!kp__ver_in(version, FE_MIN, FE_MAX) || !fe_resp_valid(resp, false))
        return -EINVAL;
    size_t n = kp_fetch_resp_head_size(version);
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const struct kp_fetch_resp_topic *t = &resp->topics[i];
        n += kp_fetch_resp_topic_size(version, t->topic);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_fetch_resp_partition *p = &t->partitions[j];
            n += kp_fetch_resp_partition_head_size(version, p);
            n += p->records.len > 0 ? (size_t)p->records.len : 0;
        }
    }
    *size = n;
    return 0;
}

/* ---- response, whole message ------------------------------------------------------------- */

int kp_fetch_resp_encode(struct kp_wr *wr, int16_t version, const struct kp_fetch_resp *resp)
{
    if (!kp__ver_in(version, FE_MIN, FE_MAX) || !fe_resp_valid(resp, true))
        return -EINVAL;
    kp_fetch_resp_head_encode(wr, version, resp->throttle_time_ms, resp->error_code,
                              resp->session_id, resp->n_topics);
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const struct kp_fetch_resp_topic *t = &resp->topics[i];
        kp_fetch_resp_topic_encode(wr, version, t->topic, t->n_partitions);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_fetch_resp_partition *p = &t->partitions[j];
            kp_fetch_resp_partition_head_encode(wr, version, p);
            if (p->records.len > 0)
                kp_wr_raw(wr, p->records.ptr, (size_t)p->records.len);
        }
    }
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
