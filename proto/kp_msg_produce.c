/*
 * kp_msg_produce — Produce (0) v3-7 (kp_msg.h).
 *
 * Request  (v3-7 identical): transactional_id NULLABLE_STRING, acks int16, timeout_ms int32,
 *          topics ARRAY{name STRING, partitions ARRAY{index int32, records NULLABLE_BYTES}}.
 * Response topics ARRAY{name STRING, partitions ARRAY{index int32, error_code int16,
 *          base_offset int64, log_append_time_ms int64, log_start_offset int64 (v5+)}},
 *          throttle_time_ms int32 -- last, unlike most responses.
 * Produce is flexible from v9, so v3-7 are all classic; v8 (record errors) and v9 go through
 * the tables in kp_msg_data.c, which also describe v3-7 (tests/unit/test_kp_msg_flex.c checks
 * that both give the same bytes). Source: apache/kafka
 * .../common/message/Produce{Request,Response}.json; notes §5.
 */
#include "kp_msg.h"
#include "kp_msg_int.h"
#include "kp_schema.h"

#define PR_MIN KP_API_PRODUCE_CODEC_VMIN
#define PR_MAX 7 /* the classic versions: v8-9 are kp_msg_data.c's tables */

static bool pr_req_valid(const struct kp_produce_req *r)
{
    if (!kp__str_ok(r->transactional_id) || !kp__arr_ok(r->n_topics, r->topics, false))
        return false;
    for (int32_t i = 0; i < r->n_topics; i++) {
        const struct kp_produce_req_topic *t = &r->topics[i];
        if (!kp__str_ok(t->name) || !kp__arr_ok(t->n_partitions, t->partitions, false))
            return false;
        for (int32_t j = 0; j < t->n_partitions; j++)
            if (!kp__bytes_ok(t->partitions[j].records))
                return false;
    }
    return true;
}

int kp_produce_req_head_encode(struct kp_wr *wr, int16_t version, struct kp_str transactional_id,
                               int16_t acks, int32_t timeout_ms, int32_t n_topics)
{
    if (!kp__ver_in(version, PR_MIN, PR_MAX) || n_topics < 0 || !kp__str_ok(transactional_id))
        return -EINVAL;
    kp_wr_nstr(wr, transactional_id);
    kp_wr_i16(wr, acks);
    kp_wr_i32(wr, timeout_ms);
    kp_wr_array(wr, n_topics);
    return wr->err;
}

int kp_produce_req_topic_encode(struct kp_wr *wr, int16_t version, struct kp_str name,
                                int32_t n_partitions)
{
    if (!kp__ver_in(version, PR_MIN, PR_MAX) || n_partitions < 0 || !kp__str_ok(name))
        return -EINVAL;
    kp_wr_str(wr, name);
    kp_wr_array(wr, n_partitions);
    return wr->err;
}

int kp_produce_req_partition_head_encode(struct kp_wr *wr, int16_t version, int32_t partition_index,
                                         int32_t records_len)
{
    if (!kp__ver_in(version, PR_MIN, PR_MAX) || records_len < -1)
        return -EINVAL;
    kp_wr_i32(wr, partition_index);
    kp_wr_i32(wr, records_len);
    return wr->err;
}

size_t kp_produce_req_head_size(int16_t version, struct kp_str transactional_id)
{
    if (!kp__ver_in(version, PR_MIN, PR_MAX))
        return 0;
    return KP__STR + (transactional_id.len > 0 ? (size_t)transactional_id.len : 0) + KP__I16 +
           KP__I32 + KP__ARRAY;
}

size_t kp_produce_req_topic_size(int16_t version, struct kp_str name)
{
    if (!kp__ver_in(version, PR_MIN, PR_MAX))
        return 0;
    return KP__STR + (name.len > 0 ? (size_t)name.len : 0) + KP__ARRAY;
}

size_t kp_produce_req_partition_head_size(int16_t version)
{
    return kp__ver_in(version, PR_MIN, PR_MAX) ? KP__I32 + KP__BYTES : 0;
}

int kp_produce_req_encode(struct kp_wr *wr, int16_t version, const struct kp_produce_req *req)
{
    if (version > PR_MAX) /* v8-9: the table (kp_msg_data.c) */
        return kp__encode(wr, &kp__api_produce, kp__api_produce.req, version, req);
    if (!kp__ver_in(version, PR_MIN, PR_MAX) || !pr_req_valid(req))
        return -EINVAL;
    kp_produce_req_head_encode(wr, version, req->transactional_id, req->acks, req->timeout_ms,
                               req->n_topics);
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kp_produce_req_topic *t = &req->topics[i];
        kp_produce_req_topic_encode(wr, version, t->name, t->n_partitions);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            struct kp_bytes rec = t->partitions[j].records;
            kp_produce_req_partition_head_encode(wr, version, t->partitions[j].partition_index,
                                                 rec.len);
            if (rec.len > 0)
                kp_wr_raw(wr, rec.ptr, (size_t)rec.len);
        }
    }
    return wr->err;
}

int kp_produce_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                          struct kp_produce_req *out)
{
    if (version > PR_MAX) /* v8-9: the table (kp_msg_data.c) */
        return kp__decode(rd, &kp__api_produce, kp__api_produce.req, version, arena, out);
    if (!kp__ver_in(version, PR_MIN, PR_MAX))
        return -EINVAL;
    out->transactional_id = kp_rd_nstr(rd);
    out->acks = kp_rd_i16(rd);
    out->timeout_ms = kp_rd_i32(rd);
    out->n_topics = kp_rd_array(rd, KP__STR + KP__ARRAY, false);
    struct kp_produce_req_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].name = kp_rd_str(rd);
        t[i].n_partitions = kp_rd_array(rd, KP__I32 + KP__BYTES, false);
        struct kp_produce_req_partition *p = kp__rd_alloc(rd, arena, t[i].n_partitions, sizeof *p);
        t[i].partitions = p;
        for (int32_t j = 0; p && j < t[i].n_partitions; j++) {
            p[j].partition_index = kp_rd_i32(rd);
            p[j].records = kp_rd_nbytes(rd);
        }
    }
    return kp__rd_end(rd);
}

int kp_produce_resp_encode(struct kp_wr *wr, int16_t version, const struct kp_produce_resp *resp)
{
    if (version > PR_MAX) /* v8-9: the table (kp_msg_data.c) */
        return kp__encode(wr, &kp__api_produce, kp__api_produce.resp, version, resp);
    if (!kp__ver_in(version, PR_MIN, PR_MAX) || !kp__arr_ok(resp->n_topics, resp->topics, false))
        return -EINVAL;
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const struct kp_produce_resp_topic *t = &resp->topics[i];
        if (!kp__str_ok(t->name) || !kp__arr_ok(t->n_partitions, t->partitions, false))
            return -EINVAL;
    }
    kp_wr_array(wr, resp->n_topics);
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const struct kp_produce_resp_topic *t = &resp->topics[i];
        kp_wr_str(wr, t->name);
        kp_wr_array(wr, t->n_partitions);
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_produce_resp_partition *p = &t->partitions[j];
            kp_wr_i32(wr, p->partition_index);
            kp_wr_i16(wr, p->error_code);
            kp_wr_i64(wr, p->base_offset);
            kp_wr_i64(wr, p->log_append_time_ms);
            if (version >= 5)
                kp_wr_i64(wr, p->log_start_offset);
        }
    }
    kp_wr_i32(wr, resp->throttle_time_ms);
    return wr->err;
}

int kp_produce_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                           struct kp_produce_resp *out)
{
    if (version > PR_MAX) /* v8-9: the table (kp_msg_data.c) */
        return kp__decode(rd, &kp__api_produce, kp__api_produce.resp, version, arena, out);
    if (!kp__ver_in(version, PR_MIN, PR_MAX))
        return -EINVAL;
    out->n_topics = kp_rd_array(rd, KP__STR + KP__ARRAY, false);
    struct kp_produce_resp_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    size_t part_min = KP__I32 + KP__I16 + 2 * KP__I64 + (version >= 5 ? KP__I64 : 0);
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].name = kp_rd_str(rd);
        t[i].n_partitions = kp_rd_array(rd, part_min, false);
        struct kp_produce_resp_partition *p = kp__rd_alloc(rd, arena, t[i].n_partitions, sizeof *p);
        t[i].partitions = p;
        for (int32_t j = 0; p && j < t[i].n_partitions; j++) {
            p[j].partition_index = kp_rd_i32(rd);
            p[j].error_code = kp_rd_i16(rd);
            p[j].base_offset = kp_rd_i64(rd);
            p[j].log_append_time_ms = kp_rd_i64(rd);
            p[j].log_start_offset = version >= 5 ? kp_rd_i64(rd) : -1;
            p[j].error_message = KP_STR_NULL; /* v8+ */
        }
    }
    out->throttle_time_ms = kp_rd_i32(rd);
    return kp__rd_end(rd);
}

uint8_t *kp_bytes_mut(struct kp_bytes view, uint8_t *buf, size_t len)
{
    if (view.len < 0 || !view.ptr || !buf)
        return NULL;
    /* Compare as integers: the view may belong to another object entirely. */
    uintptr_t v = (uintptr_t)view.ptr, b = (uintptr_t)buf;
    if (v < b || v - b > len || (size_t)view.len > len - (v - b))
        return NULL;
    return buf + (v - b);
}
