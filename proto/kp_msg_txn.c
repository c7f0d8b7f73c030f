/*
 * kp_msg_txn — AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit v0-3 (see
 * kp_msg_txn.h). Version 3 of each is flexible: compact strings and arrays and a tag buffer
 * closing every struct (the body and each array element); nothing else differs between the
 * versions here except TxnOffsetCommit's v2 leader epoch and v3 member fields.
 */
#include "kp_msg_txn.h"

#include "kp_msg_int.h"

/* ---- one helper per wire type, classic or compact by version ---------------------------- */

static struct kp_str rd_str(struct kp_rd *rd, bool flex)
{
    return flex ? kp_rd_cstr(rd) : kp_rd_str(rd);
}

static struct kp_str rd_nstr(struct kp_rd *rd, bool flex)
{
    return flex ? kp_rd_cnstr(rd) : kp_rd_nstr(rd);
}

static int32_t rd_arr(struct kp_rd *rd, size_t min_elem, bool flex)
{
    return flex ? kp_rd_carray(rd, min_elem, false) : kp_rd_array(rd, min_elem, false);
}

static void rd_tags(struct kp_rd *rd, bool flex)
{
    if (flex)
        kp_rd_tags(rd);
}

static void wr_str(struct kp_wr *wr, struct kp_str s, bool flex)
{
    if (flex)
        kp_wr_cstr(wr, s);
    else
        kp_wr_str(wr, s);
}

static void wr_nstr(struct kp_wr *wr, struct kp_str s, bool flex)
{
    if (flex)
        kp_wr_cnstr(wr, s);
    else
        kp_wr_nstr(wr, s);
}

static void wr_arr(struct kp_wr *wr, int32_t n, bool flex)
{
    if (flex)
        kp_wr_carray(wr, n);
    else
        kp_wr_array(wr, n);
}

static void wr_tags(struct kp_wr *wr, bool flex)
{
    if (flex)
        kp_wr_tags(wr);
}

/* Smallest encodings, for kp_rd_array's bound: a string, an array count, a tag buffer. */
static size_t min_str(bool flex) { return flex ? 1 : KP__STR; }
static size_t min_arr(bool flex) { return flex ? 1 : KP__ARRAY; }
static size_t min_tags(bool flex) { return flex ? 1 : 0; }

static bool ver_ok(int16_t v) { return kp__ver_in(v, 0, KP_TXN_MSG_MAX_VERSION); }
static bool flex_of(int16_t v) { return v >= KP_TXN_MSG_FIRST_FLEXIBLE; }

/* ---- AddPartitionsToTxn ------------------------------------------------------------------- */

int kp_add_partitions_to_txn_req_encode(struct kp_wr *wr, int16_t version,
                                        const struct kp_add_partitions_to_txn_req *req)
{
    if (!ver_ok(version) || !kp__str_ok(req->transactional_id) ||
        !kp__arr_ok(req->n_topics, req->topics, false))
        return -EINVAL;
    for (int32_t i = 0; i < req->n_topics; i++)
        if (!kp__str_ok(req->topics[i].name) ||
            !kp__arr_ok(req->topics[i].n_partitions, req->topics[i].partitions, false))
            return -EINVAL;
    bool f = flex_of(version);
    wr_str(wr, req->transactional_id, f);
    kp_wr_i64(wr, req->producer_id);
    kp_wr_i16(wr, req->producer_epoch);
    wr_arr(wr, req->n_topics, f);
    for (int32_t i = 0; i < req->n_topics; i++) {
        wr_str(wr, req->topics[i].name, f);
        wr_arr(wr, req->topics[i].n_partitions, f);
        for (int32_t k = 0; k < req->topics[i].n_partitions; k++)
            kp_wr_i32(wr, req->topics[i].partitions[k]);
        wr_tags(wr, f);
    }
    wr_tags(wr, f);
    return wr->err;
}

int kp_add_partitions_to_txn_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                        struct kp_add_partitions_to_txn_req *out)
{
    if (!ver_ok(version))
        return -EINVAL;
    bool f = flex_of(version);
    out->transactional_id = rd_str(rd, f);
    out->producer_id = kp_rd_i64(rd);
    out->producer_epoch = kp_rd_i16(rd);
    out->n_topics = rd_arr(rd, min_str(f) + min_arr(f) + min_tags(f), f);
    struct kp_add_partitions_to_txn_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].name = rd_str(rd, f);
        t[i].n_partitions = rd_arr(rd, KP__I32, f);
        int32_t *p = kp__rd_alloc(rd, arena, t[i].n_partitions, sizeof *p);
        t[i].partitions = p;
        for (int32_t k = 0; p && k < t[i].n_partitions; k++)
            p[k] = kp_rd_i32(rd);
        rd_tags(rd, f);
    }
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

int kp_add_partitions_to_txn_resp_encode(struct kp_wr *wr, int16_t version,
                                         const struct kp_add_partitions_to_txn_resp *resp)
{
    if (!ver_ok(version) || !kp__arr_ok(resp->n_topics, resp->topics, false))
        return -EINVAL;
    for (int32_t i = 0; i < resp->n_topics; i++)
        if (!kp__str_ok(resp->topics[i].name) ||
            !kp__arr_ok(resp->topics[i].n_results, resp->topics[i].results, false))
            return -EINVAL;
    bool f = flex_of(version);
    kp_wr_i32(wr, resp->throttle_time_ms);
    wr_arr(wr, resp->n_topics, f);
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const struct kp_add_partitions_to_txn_topic_result *t = &resp->topics[i];
        wr_str(wr, t->name, f);
        wr_arr(wr, t->n_results, f);
        for (int32_t k = 0; k < t->n_results; k++) {
            kp_wr_i32(wr, t->results[k].partition_index);
            kp_wr_i16(wr, t->results[k].error_code);
            wr_tags(wr, f);
        }
        wr_tags(wr, f);
    }
    wr_tags(wr, f);
    return wr->err;
}

int kp_add_partitions_to_txn_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                         struct kp_add_partitions_to_txn_resp *out)
{
    if (!ver_ok(version))
        return -EINVAL;
    bool f = flex_of(version);
    out->throttle_time_ms = kp_rd_i32(rd);
    out->n_topics = rd_arr(rd, min_str(f) + min_arr(f) + min_tags(f), f);
    struct kp_add_partitions_to_txn_topic_result *t =
        kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].name = rd_str(rd, f);
        t[i].n_results = rd_arr(rd, KP__I32 + KP__I16 + min_tags(f), f);
        struct kp_add_partitions_to_txn_partition_result *p =
            kp__rd_alloc(rd, arena, t[i].n_results, sizeof *p);
        t[i].results = p;
        for (int32_t k = 0; p && k < t[i].n_results && kp_rd_ok(rd); k++) {
            p[k].partition_index = kp_rd_i32(rd);
            p[k].error_code = kp_rd_i16(rd);
            rd_tags(rd, f);
        }
        rd_tags(rd, f);
    }
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

/* ---- AddOffsetsToTxn ---------------------------------------------------------------------- */

int kp_add_offsets_to_txn_req_encode(struct kp_wr *wr, int16_t version,
                                     const struct kp_add_offsets_to_txn_req *req)
{
    if (!ver_ok(version) || !kp__str_ok(req->transactional_id) || !kp__str_ok(req->group_id))
        return -EINVAL;
    bool f = flex_of(version);
    wr_str(wr, req->transactional_id, f);
    kp_wr_i64(wr, req->producer_id);
    kp_wr_i16(wr, req->producer_epoch);
    wr_str(wr, req->group_id, f);
    wr_tags(wr, f);
    return wr->err;
}

int kp_add_offsets_to_txn_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                     struct kp_add_offsets_to_txn_req *out)
{
    (void)arena;
    if (!ver_ok(version))
        return -EINVAL;
    bool f = flex_of(version);
    out->transactional_id = rd_str(rd, f);
    out->producer_id = kp_rd_i64(rd);
    out->producer_epoch = kp_rd_i16(rd);
    out->group_id = rd_str(rd, f);
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

/* The response of AddOffsetsToTxn and of EndTxn: throttle, error, tags. */
static int err_resp_encode(struct kp_wr *wr, int16_t version, int32_t throttle, int16_t error)
{
    if (!ver_ok(version))
        return -EINVAL;
    kp_wr_i32(wr, throttle);
    kp_wr_i16(wr, error);
    wr_tags(wr, flex_of(version));
    return wr->err;
}

static int err_resp_decode(struct kp_rd *rd, int16_t version, int32_t *throttle, int16_t *error)
{
    if (!ver_ok(version))
        return -EINVAL;
    *throttle = kp_rd_i32(rd);
    *error = kp_rd_i16(rd);
    rd_tags(rd, flex_of(version));
    return kp__rd_end(rd);
}

int kp_add_offsets_to_txn_resp_encode(struct kp_wr *wr, int16_t version,
                                      const struct kp_add_offsets_to_txn_resp *resp)
{
    return err_resp_encode(wr, version, resp->throttle_time_ms, resp->error_code);
}

int kp_add_offsets_to_txn_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                      struct kp_add_offsets_to_txn_resp *out)
{
    (void)arena;
    return err_resp_decode(rd, version, &out->throttle_time_ms, &out->error_code);
}

/* ---- EndTxn ------------------------------------------------------------------------------- */

int kp_end_txn_req_encode(struct kp_wr *wr, int16_t version, const struct kp_end_txn_req *req)
{
    if (!ver_ok(version) || !kp__str_ok(req->transactional_id))
        return -EINVAL;
    bool f = flex_of(version);
    wr_str(wr, req->transactional_id, f);
    kp_wr_i64(wr, req->producer_id);
    kp_wr_i16(wr, req->producer_epoch);
    kp_wr_bool(wr, req->committed);
    wr_tags(wr, f);
    return wr->err;
}

int kp_end_txn_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                          struct kp_end_txn_req *out)
{
    (void)arena;
    if (!ver_ok(version))
        return -EINVAL;
    bool f = flex_of(version);
    out->transactional_id = rd_str(rd, f);
    out->producer_id = kp_rd_i64(rd);
    out->producer_epoch = kp_rd_i16(rd);
    out->committed = kp_rd_bool(rd);
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

int kp_end_txn_resp_encode(struct kp_wr *wr, int16_t version, const struct kp_end_txn_resp *resp)
{
    return err_resp_encode(wr, version, resp->throttle_time_ms, resp->error_code);
}

int kp_end_txn_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                           struct kp_end_txn_resp *out)
{
    (void)arena;
    return err_resp_decode(rd, version, &out->throttle_time_ms, &out->error_code);
}

/* ---- TxnOffsetCommit ---------------------------------------------------------------------- */

int kp_txn_offset_commit_req_encode(struct kp_wr *wr, int16_t version,
                                    const struct kp_txn_offset_commit_req *req)
{
    if (!ver_ok(version) || !kp__str_ok(req->transactional_id) || !kp__str_ok(req->group_id) ||
        !kp__str_ok(req->member_id) || !kp__str_ok(req->group_instance_id) ||
        !kp__arr_ok(req->n_topics, req->topics, false))
        return -EINVAL;
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kp_txn_offset_commit_req_topic *t = &req->topics[i];
        if (!kp__str_ok(t->name) || !kp__arr_ok(t->n_partitions, t->partitions, false))
            return -EINVAL;
        for (int32_t k = 0; k < t->n_partitions; k++)
            if (!kp__str_ok(t->partitions[k].committed_metadata))
                return -EINVAL;
    }
    bool f = flex_of(version);
    wr_str(wr, req->transactional_id, f);
    wr_str(wr, req->group_id, f);
    kp_wr_i64(wr, req->producer_id);
    kp_wr_i16(wr, req->producer_epoch);
    if (version >= 3) {
        kp_wr_i32(wr, req->generation_id);
        wr_str(wr, req->member_id, f);
        wr_nstr(wr, req->group_instance_id, f);
    }
    wr_arr(wr, req->n_topics, f);
    for (int32_t i = 0; i < req->n_topics; i++) {
        const struct kp_txn_offset_commit_req_topic *t = &req->topics[i];
        wr_str(wr, t->name, f);
        wr_arr(wr, t->n_partitions, f);
        for (int32_t k = 0; k < t->n_partitions; k++) {
            const struct kp_txn_offset_commit_req_partition *p = &t->partitions[k];
            kp_wr_i32(wr, p->partition_index);
            kp_wr_i64(wr, p->committed_offset);
            if (version >= 2)
                kp_wr_i32(wr, p->committed_leader_epoch);
            wr_nstr(wr, p->committed_metadata, f);
            wr_tags(wr, f);
        }
        wr_tags(wr, f);
    }
    wr_tags(wr, f);
    return wr->err;
}

int kp_txn_offset_commit_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                    struct kp_txn_offset_commit_req *out)
{
    if (!ver_ok(version))
        return -EINVAL;
    bool f = flex_of(version);
    out->transactional_id = rd_str(rd, f);
    out->group_id = rd_str(rd, f);
    out->producer_id = kp_rd_i64(rd);
    out->producer_epoch = kp_rd_i16(rd);
    out->generation_id = -1;
    out->member_id = (struct kp_str){"", 0};
    out->group_instance_id = KP_STR_NULL;
    if (version >= 3) {
        out->generation_id = kp_rd_i32(rd);
        out->member_id = rd_str(rd, f);
        out->group_instance_id = rd_nstr(rd, f);
    }
    out->n_topics = rd_arr(rd, min_str(f) + min_arr(f) + min_tags(f), f);
    struct kp_txn_offset_commit_req_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    size_t min_part = KP__I32 + KP__I64 + (version >= 2 ? KP__I32 : 0) + min_str(f) + min_tags(f);
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].name = rd_str(rd, f);
        t[i].n_partitions = rd_arr(rd, min_part, f);
        struct kp_txn_offset_commit_req_partition *p =
            kp__rd_alloc(rd, arena, t[i].n_partitions, sizeof *p);
        t[i].partitions = p;
        for (int32_t k = 0; p && k < t[i].n_partitions && kp_rd_ok(rd); k++) {
            p[k].partition_index = kp_rd_i32(rd);
            p[k].committed_offset = kp_rd_i64(rd);
            p[k].committed_leader_epoch = version >= 2 ? kp_rd_i32(rd) : -1;
            p[k].committed_metadata = rd_nstr(rd, f);
            rd_tags(rd, f);
        }
        rd_tags(rd, f);
    }
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

int kp_txn_offset_commit_resp_encode(struct kp_wr *wr, int16_t version,
                                     const struct kp_txn_offset_commit_resp *resp)
{
    if (!ver_ok(version) || !kp__arr_ok(resp->n_topics, resp->topics, false))
        return -EINVAL;
    for (int32_t i = 0; i < resp->n_topics; i++)
        if (!kp__str_ok(resp->topics[i].name) ||
            !kp__arr_ok(resp->topics[i].n_partitions, resp->topics[i].partitions, false))
            return -EINVAL;
    bool f = flex_of(version);
    kp_wr_i32(wr, resp->throttle_time_ms);
    wr_arr(wr, resp->n_topics, f);
    for (int32_t i = 0; i < resp->n_topics; i++) {
        const struct kp_txn_offset_commit_resp_topic *t = &resp->topics[i];
        wr_str(wr, t->name, f);
        wr_arr(wr, t->n_partitions, f);
        for (int32_t k = 0; k < t->n_partitions; k++) {
            kp_wr_i32(wr, t->partitions[k].partition_index);
            kp_wr_i16(wr, t->partitions[k].error_code);
            wr_tags(wr, f);
        }
        wr_tags(wr, f);
    }
    wr_tags(wr, f);
    return wr->err;
}

int kp_txn_offset_commit_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                     struct kp_txn_offset_commit_resp *out)
{
    if (!ver_ok(version))
        return -EINVAL;
    bool f = flex_of(version);
    out->throttle_time_ms = kp_rd_i32(rd);
    out->n_topics = rd_arr(rd, min_str(f) + min_arr(f) + min_tags(f), f);
    struct kp_txn_offset_commit_resp_topic *t = kp__rd_alloc(rd, arena, out->n_topics, sizeof *t);
    out->topics = t;
    for (int32_t i = 0; t && i < out->n_topics && kp_rd_ok(rd); i++) {
        t[i].name = rd_str(rd, f);
        t[i].n_partitions = rd_arr(rd, KP__I32 + KP__I16 + min_tags(f), f);
        struct kp_txn_offset_commit_resp_partition *p =
            kp__rd_alloc(rd, arena, t[i].n_partitions, sizeof *p);
        t[i].partitions = p;
        for (int32_t k = 0; p && k < t[i].n_partitions && kp_rd_ok(rd); k++) {
            p[k].partition_index = kp_rd_i32(rd);
            p[k].error_code = kp_rd_i16(rd);
            rd_tags(rd, f);
        }
        rd_tags(rd, f);
    }
    rd_tags(rd, f);
    return kp__rd_end(rd);
}
