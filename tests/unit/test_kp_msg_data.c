/*
 * test_kp_msg_data — the data-path codecs: Produce v3-7, Fetch v4-11 (whole message and the
 * piecewise zero-copy response encoder with its size functions), ListOffsets v1-2. Round trip
 * at every version with field-by-field comparison, truncation, trailing bytes, forged counts,
 * arena exhaustion, unsupported versions, golden bytes for an empty Fetch v11 partition, and
 * the kcat request fixtures (tests/fixtures/, .bin files) decoded to their known fields.
 */
#include <stdio.h>

#include "test_kp_msg_common.h"
#include "tb_check.h"

TM_CODEC(c_pr_req, kp_produce_req, struct kp_produce_req, 3, 9);
TM_CODEC(c_pr_resp, kp_produce_resp, struct kp_produce_resp, 3, 9);
TM_CODEC(c_fe_req, kp_fetch_req, struct kp_fetch_req, 4, 13);
TM_CODEC(c_fe_resp, kp_fetch_resp, struct kp_fetch_resp, 4, 13);
TM_CODEC(c_lo_req, kp_list_offsets_req, struct kp_list_offsets_req, 0, 7);
TM_CODEC(c_lo_resp, kp_list_offsets_resp, struct kp_list_offsets_resp, 0, 7);

/* Opaque stand-ins for record batches: the codec never looks inside. */
static const uint8_t batch_a[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2, 3, 4, 2, 5, 6, 7, 8};
static const uint8_t batch_b[] = {0xde, 0xad, 0xbe, 0xef};

/* ---- Produce ------------------------------------------------------------------------------- */

static const struct kp_produce_req_partition pr_p0[] = {
    {0, {batch_a, sizeof batch_a}},
    {3, {NULL, -1}},
};
static const struct kp_produce_req_partition pr_p1[] = {
    {1, {batch_b, sizeof batch_b}},
};
static const struct kp_produce_req_topic pr_topics[] = {
    {TM_S("orders"), TM_N(pr_p0), pr_p0},
    {TM_S("audit"), TM_N(pr_p1), pr_p1},
    {TM_S("none"), 0, NULL},
};

START_TEST(test_produce_req_round_trip)
{
    struct kp_produce_req req = {TM_S("txn-1"), -1, 30000, TM_N(pr_topics), pr_topics};
    for (int16_t v = 3; v <= 7; v++) {
        for (int null_txn = 0; null_txn <= 1; null_txn++) {
            req.transactional_id = null_txn ? KP_STR_NULL : TM_S("txn-1");
            struct kp_produce_req o;
            struct kp_arena a;
            tm_check(&c_pr_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
            tm_str_eq(o.transactional_id, req.transactional_id);
            ck_assert_int_eq(o.acks, -1);
            ck_assert_int_eq(o.timeout_ms, 30000);
            ck_assert_int_eq(o.n_topics, req.n_topics);
            for (int32_t i = 0; i < o.n_topics; i++) {
                tm_str_eq(o.topics[i].name, pr_topics[i].name);
                ck_assert_int_eq(o.topics[i].n_partitions, pr_topics[i].n_partitions);
                for (int32_t j = 0; j < o.topics[i].n_partitions; j++) {
                    const struct kp_produce_req_partition *p = &o.topics[i].partitions[j];
                    ck_assert_int_eq(p->partition_index,
                                     pr_topics[i].partitions[j].partition_index);
                    tm_bytes_eq(p->records, pr_topics[i].partitions[j].records);
                    /* The records view points into the decoded buffer, not a copy. */
                    if (p->records.len > 0)
                        ck_assert(p->records.ptr > buf && p->records.ptr < buf + TM_BUF);
                }
            }
        }
    }
    tm_check_bad_versions(&c_pr_req, &req);
}
END_TEST

START_TEST(test_produce_records_view_is_mutable_in_place)
{
    /* The broker rewrites baseOffset in the receive buffer through kp_bytes_mut. */
    static const struct kp_produce_req_partition p[] = {{0, {batch_a, sizeof batch_a}}};
    static const struct kp_produce_req_topic t[] = {{TM_S("t"), 1, p}};
    struct kp_produce_req req = {KP_STR_NULL, 1, 1000, 1, t};
    uint8_t rx[256];
    struct kp_wr wr;
    kp_wr_init(&wr, rx, sizeof rx);
    ck_assert_int_eq(kp_produce_req_encode(&wr, 7, &req), 0);
    size_t len = kp_wr_len(&wr);
    struct kp_rd rd;
    kp_rd_init(&rd, rx, len);
    struct kp_arena a;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    struct kp_produce_req o;
    ck_assert_int_eq(kp_produce_req_decode(&rd, 7, &a, &o), 0);
    struct kp_bytes rec = o.topics[0].partitions[0].records;
    uint8_t *w = kp_bytes_mut(rec, rx, len);
    ck_assert_ptr_eq(w, (const uint8_t *)rec.ptr);
    kp_store_be64(w, 42);
    ck_assert(kp_load_be64(rec.ptr) == 42);
    ck_assert(kp_load_be64(rx + len - sizeof batch_a) == 42);
    /* Views outside the buffer, or null, give NULL. */
    ck_assert_ptr_null(kp_bytes_mut(rec, rx, len - 1));
    ck_assert_ptr_null(kp_bytes_mut((struct kp_bytes){batch_b, 4}, rx, len));
    ck_assert_ptr_null(kp_bytes_mut(KP_BYTES_NULL, rx, len));
}
END_TEST

static const struct kp_produce_resp_partition pr_rp0[] = {
    {0, 0, 1000, -1, 0},
    {3, KP_ERR_CORRUPT_MESSAGE, -1, -1, -1},
};
static const struct kp_produce_resp_partition pr_rp1[] = {
    {1, 0, INT64_MAX - 5, 1700000000000, 900},
};
static const struct kp_produce_resp_topic pr_rtopics[] = {
    {TM_S("orders"), TM_N(pr_rp0), pr_rp0},
    {TM_S("audit"), TM_N(pr_rp1), pr_rp1},
};

START_TEST(test_produce_resp_round_trip)
{
    struct kp_produce_resp resp = {TM_N(pr_rtopics), pr_rtopics, 123};
    for (int16_t v = 3; v <= 7; v++) {
        struct kp_produce_resp o;
        struct kp_arena a;
        size_t len = tm_check(&c_pr_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem);
        /* throttle_time_ms is the last field */
        ck_assert_uint_eq(kp_load_be32(buf + len - 4), 123);
        ck_assert_int_eq(o.throttle_time_ms, 123);
        ck_assert_int_eq(o.n_topics, resp.n_topics);
        for (int32_t i = 0; i < o.n_topics; i++) {
            tm_str_eq(o.topics[i].name, pr_rtopics[i].name);
            ck_assert_int_eq(o.topics[i].n_partitions, pr_rtopics[i].n_partitions);
            for (int32_t j = 0; j < o.topics[i].n_partitions; j++) {
                const struct kp_produce_resp_partition *p = &o.topics[i].partitions[j],
                                                       *w = &pr_rtopics[i].partitions[j];
                ck_assert_int_eq(p->partition_index, w->partition_index);
                ck_assert_int_eq(p->error_code, w->error_code);
                ck_assert(p->base_offset == w->base_offset);
                ck_assert(p->log_append_time_ms == w->log_append_time_ms);
                ck_assert(p->log_start_offset == (v >= 5 ? w->log_start_offset : -1));
            }
        }
    }
    tm_check_bad_versions(&c_pr_resp, &resp);
}
END_TEST

START_TEST(test_produce_forged_counts)
{
    /* transactional_id null, acks, timeout, topics: 2^31-1 */
    static const uint8_t top[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0x75, 0x30,
                                  0x7f, 0xff, 0xff, 0xff, 0, 1, 't'};
    tm_check_forged(&c_pr_req, 7, top, sizeof top, 0);
    /* one topic, partitions: 2^31-1 */
    static const uint8_t nested[] = {0xff, 0xff, 0,    1,    0,    0, 0x75, 0x30, 0, 0, 0, 1, 0, 1,
                                     't',  0x7f, 0xff, 0xff, 0xff, 0, 0,    0,    0, 0, 0, 0, 0};
    struct kp_arena a;
    kp_arena_init(&a, tm_arena_mem, sizeof tm_arena_mem);
    (void)kp_arena_alloc(&a, 1, sizeof(struct kp_produce_req_topic));
    tm_check_forged(&c_pr_req, 7, nested, sizeof nested, a.used);
    /* A records length beyond the buffer. */
    static const uint8_t rec[] = {0xff, 0xff, 0, 1, 0, 0, 0x75, 0x30, 0, 0,    0,    1,    0,    1,
                                  't',  0,    0, 0, 1, 0, 0,    0,    0, 0x7f, 0xff, 0xff, 0xff, 0};
    tm_check_forged(&c_pr_req, 7, rec, sizeof rec, sizeof(struct kp_produce_req_topic) + 64);
    static const uint8_t resp[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    tm_check_forged(&c_pr_resp, 5, resp, sizeof resp, 0);
}
END_TEST

/* ---- Fetch --------------------------------------------------------------------------------- */

static const struct kp_fetch_req_partition fe_p0[] = {
    {0, 5, 100, 7, 1048576},
    {2, -1, 0, -1, 65536},
};
static const struct kp_fetch_req_partition fe_p1[] = {
    {9, 3, INT64_MAX, 1, 1},
};
static const struct kp_fetch_req_topic fe_topics[] = {
    {TM_S("orders"), TM_N(fe_p0), fe_p0},
    {TM_S("audit"), TM_N(fe_p1), fe_p1},
};
static const int32_t fe_forgot_parts[] = {4, 5, 6};
static const struct kp_fetch_forgotten_topic fe_forgot[] = {
    {TM_S("gone"), TM_N(fe_forgot_parts), fe_forgot_parts},
    {TM_S("empty"), 0, NULL},
};

START_TEST(test_fetch_req_round_trip)
{
    struct kp_fetch_req req = {
        .replica_id = -1,
        .max_wait_ms = 500,
        .min_bytes = 1,
        .max_bytes = 52428800,
        .isolation_level = 1,
        .session_id = 77,
        .session_epoch = 3,
        .n_topics = TM_N(fe_topics),
        .topics = fe_topics,
        .n_forgotten = TM_N(fe_forgot),
        .forgotten = fe_forgot,
        .rack_id = TM_S("rack-b"),
    };
    for (int16_t v = 4; v <= 11; v++) {
        struct kp_fetch_req o;
        struct kp_arena a;
        tm_check(&c_fe_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.replica_id, -1);
        ck_assert_int_eq(o.max_wait_ms, 500);
        ck_assert_int_eq(o.min_bytes, 1);
        ck_assert_int_eq(o.max_bytes, 52428800);
        ck_assert_int_eq(o.isolation_level, 1);
        ck_assert_int_eq(o.session_id, v >= 7 ? 77 : 0);
        ck_assert_int_eq(o.session_epoch, v >= 7 ? 3 : -1);
        ck_assert_int_eq(o.n_topics, req.n_topics);
        for (int32_t i = 0; i < o.n_topics; i++) {
            tm_str_eq(o.topics[i].topic, fe_topics[i].topic);
            ck_assert_int_eq(o.topics[i].n_partitions, fe_topics[i].n_partitions);
            for (int32_t j = 0; j < o.topics[i].n_partitions; j++) {
                const struct kp_fetch_req_partition *p = &o.topics[i].partitions[j],
                                                    *w = &fe_topics[i].partitions[j];
                ck_assert_int_eq(p->partition, w->partition);
                ck_assert_int_eq(p->current_leader_epoch, v >= 9 ? w->current_leader_epoch : -1);
                ck_assert(p->fetch_offset == w->fetch_offset);
                ck_assert(p->log_start_offset == (v >= 5 ? w->log_start_offset : -1));
                ck_assert_int_eq(p->partition_max_bytes, w->partition_max_bytes);
            }
        }
        if (v >= 7) {
            ck_assert_int_eq(o.n_forgotten, 2);
            for (int32_t i = 0; i < 2; i++) {
                tm_str_eq(o.forgotten[i].topic, fe_forgot[i].topic);
                tm_i32s_eq(o.forgotten[i].n_partitions, o.forgotten[i].partitions,
                           fe_forgot[i].n_partitions, fe_forgot[i].partitions);
            }
        } else {
            ck_assert_int_eq(o.n_forgotten, 0);
        }
        if (v >= 11)
            tm_str_eq(o.rack_id, req.rack_id);
        else
            ck_assert(kp_str_eq(o.rack_id, ""));
    }
    tm_check_bad_versions(&c_fe_req, &req);
}
END_TEST

static const struct kp_fetch_aborted_txn fe_aborted[] = {{1000, 5}, {1001, 9}};
static const struct kp_fetch_resp_partition fe_rp0[] = {
    {0, 0, 10, 10, 0, TM_N(fe_aborted), fe_aborted, -1, {batch_a, sizeof batch_a}},
    {1, 0, 3, 3, 0, -1, NULL, 2, {NULL, 0}},
    {2, KP_ERR_OFFSET_OUT_OF_RANGE, 7, 7, 4, 0, NULL, -1, {batch_b, sizeof batch_b}},
};
static const struct kp_fetch_resp_partition fe_rp1[] = {
    {5, 0, 1, 1, 1, 0, NULL, -1, {batch_b, sizeof batch_b}},
};
static const struct kp_fetch_resp_topic fe_rtopics[] = {
    {TM_S("orders"), TM_N(fe_rp0), fe_rp0},
    {TM_S("audit"), TM_N(fe_rp1), fe_rp1},
    {TM_S("idle"), 0, NULL},
};

static struct kp_fetch_resp fe_sample_resp(void)
{
    return (struct kp_fetch_resp){
        .throttle_time_ms = 12,
        .error_code = KP_ERR_NONE,
        .session_id = 77,
        .n_topics = TM_N(fe_rtopics),
        .topics = fe_rtopics,
    };
}

START_TEST(test_fetch_resp_round_trip)
{
    struct kp_fetch_resp resp = fe_sample_resp();
    for (int16_t v = 4; v <= 11; v++) {
        for (int with_err = 0; with_err <= 1; with_err++) {
            resp.error_code = with_err ? KP_ERR_FETCH_SESSION_ID_NOT_FOUND : 0;
            struct kp_fetch_resp o;
            struct kp_arena a;
            tm_check(&c_fe_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem);
            ck_assert_int_eq(o.throttle_time_ms, 12);
            ck_assert_int_eq(o.error_code, v >= 7 ? resp.error_code : 0);
            ck_assert_int_eq(o.session_id, v >= 7 ? 77 : 0);
            ck_assert_int_eq(o.n_topics, resp.n_topics);
            for (int32_t i = 0; i < o.n_topics; i++) {
                tm_str_eq(o.topics[i].topic, fe_rtopics[i].topic);
                ck_assert_int_eq(o.topics[i].n_partitions, fe_rtopics[i].n_partitions);
                for (int32_t j = 0; j < o.topics[i].n_partitions; j++) {
                    const struct kp_fetch_resp_partition *p = &o.topics[i].partitions[j],
                                                         *w = &fe_rtopics[i].partitions[j];
                    ck_assert_int_eq(p->partition, w->partition);
                    ck_assert_int_eq(p->error_code, w->error_code);
                    ck_assert(p->high_watermark == w->high_watermark);
                    ck_assert(p->last_stable_offset == w->last_stable_offset);
                    ck_assert(p->log_start_offset == (v >= 5 ? w->log_start_offset : -1));
                    ck_assert_int_eq(p->n_aborted, w->n_aborted);
                    for (int32_t k = 0; k < p->n_aborted; k++) {
                        ck_assert(p->aborted[k].producer_id == w->aborted[k].producer_id);
                        ck_assert(p->aborted[k].first_offset == w->aborted[k].first_offset);
                    }
                    ck_assert_int_eq(p->preferred_read_replica,
                                     v >= 11 ? w->preferred_read_replica : -1);
                    tm_bytes_eq(p->records, w->records);
                }
            }
        }
    }
    tm_check_bad_versions(&c_fe_resp, &resp);
}
END_TEST

START_TEST(test_fetch_resp_piecewise_matches_whole)
{
    struct kp_fetch_resp resp = fe_sample_resp();
    static uint8_t whole[TM_BUF], pieces[TM_BUF];
    for (int16_t v = 4; v <= 11; v++) {
        struct kp_wr w1, w2;
        kp_wr_init(&w1, whole, sizeof whole);
        ck_assert_int_eq(kp_fetch_resp_encode(&w1, v, &resp), 0);

        /* The broker's path: pieces, with the records bytes sent separately. */
        kp_wr_init(&w2, pieces, sizeof pieces);
        size_t at = kp_wr_len(&w2);
        ck_assert_int_eq(kp_fetch_resp_head_encode(&w2, v, resp.throttle_time_ms, resp.error_code,
                                                   resp.session_id, resp.n_topics),
                         0);
        ck_assert_uint_eq(kp_wr_len(&w2) - at, kp_fetch_resp_head_size(v));
        for (int32_t i = 0; i < resp.n_topics; i++) {
            const struct kp_fetch_resp_topic *t = &resp.topics[i];
            at = kp_wr_len(&w2);
            ck_assert_int_eq(kp_fetch_resp_topic_encode(&w2, v, t->topic, t->n_partitions), 0);
            ck_assert_uint_eq(kp_wr_len(&w2) - at, kp_fetch_resp_topic_size(v, t->topic));
            for (int32_t j = 0; j < t->n_partitions; j++) {
                const struct kp_fetch_resp_partition *p = &t->partitions[j];
                at = kp_wr_len(&w2);
                ck_assert_int_eq(kp_fetch_resp_partition_head_encode(&w2, v, p), 0);
                ck_assert_uint_eq(kp_wr_len(&w2) - at, kp_fetch_resp_partition_head_size(v, p));
                /* the last field written is the records length */
                ck_assert_int_eq((int32_t)kp_load_be32(w2.p - 4),
                                 p->records.len > 0 ? p->records.len : 0);
                if (p->records.len > 0)
                    kp_wr_raw(&w2, p->records.ptr, (size_t)p->records.len); /* "sendfile" */
            }
        }
        ck_assert_uint_eq(kp_wr_len(&w2), kp_wr_len(&w1));
        ck_assert(memcmp(whole, pieces, kp_wr_len(&w1)) == 0);

        /* Size from the shape alone: records as file ranges (no pointers). */
        struct kp_fetch_resp_partition shape_parts[TM_N(fe_rp0)];
        memcpy(shape_parts, fe_rp0, sizeof shape_parts);
        for (size_t k = 0; k < sizeof shape_parts / sizeof shape_parts[0]; k++)
            shape_parts[k].records.ptr = NULL;
        struct kp_fetch_resp_topic shape_topics[TM_N(fe_rtopics)];
        memcpy(shape_topics, fe_rtopics, sizeof shape_topics);
        shape_topics[0].partitions = shape_parts;
        struct kp_fetch_resp shape = resp;
        shape.topics = shape_topics;
        size_t size = 0;
        ck_assert_int_eq(kp_fetch_resp_size(v, &shape, &size), 0);
        ck_assert_uint_eq(size, kp_wr_len(&w1));
        /* ...but the whole-message encoder refuses records without bytes. */
        kp_wr_init(&w1, whole, sizeof whole);
        ck_assert_int_eq(kp_fetch_resp_encode(&w1, v, &shape), -EINVAL);
        ck_assert_uint_eq(kp_wr_len(&w1), 0);
    }
    /* Bad versions and counts in the pieces. */
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_fetch_resp_head_encode(&wr, 3, 0, 0, 0, 1), -EINVAL);
    ck_assert_int_eq(kp_fetch_resp_head_encode(&wr, 14, 0, 0, 0, 1), -EINVAL);
    ck_assert_int_eq(kp_fetch_resp_head_encode(&wr, 11, 0, 0, 0, -1), -EINVAL);
    ck_assert_int_eq(kp_fetch_resp_topic_encode(&wr, 11, TM_S("t"), -1), -EINVAL);
    struct kp_fetch_resp_partition bad = fe_rp0[0];
    bad.aborted = NULL;
    ck_assert_int_eq(kp_fetch_resp_partition_head_encode(&wr, 11, &bad), -EINVAL);
    ck_assert_int_eq(kp_fetch_resp_partition_head_encode(&wr, 14, &fe_rp0[1]), -EINVAL);
    ck_assert_uint_eq(kp_wr_len(&wr), 0);
    ck_assert_uint_eq(kp_fetch_resp_head_size(14), 0);
    ck_assert_uint_eq(kp_fetch_resp_topic_size(3, TM_S("t")), 0);
    size_t size;
    struct kp_fetch_resp r = fe_sample_resp();
    ck_assert_int_eq(kp_fetch_resp_size(14, &r, &size), -EINVAL);
    r.n_topics = -1;
    ck_assert_int_eq(kp_fetch_resp_size(11, &r, &size), -EINVAL);
}
END_TEST

/* The client's decode path: pieces over the whole encoding give the same fields, records as
 * views into the buffer, aborted entries through kp_fetch_aborted_get; every strict prefix
 * fails on the way. */
START_TEST(test_fetch_resp_piecewise_decode)
{
    struct kp_fetch_resp resp = fe_sample_resp();
    static uint8_t whole[TM_BUF];
    for (int16_t v = 4; v <= 11; v++) {
        struct kp_wr w;
        kp_wr_init(&w, whole, sizeof whole);
        ck_assert_int_eq(kp_fetch_resp_encode(&w, v, &resp), 0);
        size_t len = kp_wr_len(&w);
        for (size_t cut = 0; cut <= len; cut++) {
            struct kp_rd rd;
            kp_rd_init(&rd, whole, cut);
            int32_t thr, sess, nt;
            int16_t ec;
            int rc = kp_fetch_resp_head_decode(&rd, v, &thr, &ec, &sess, &nt);
            for (int32_t i = 0; rc == 0 && i < nt; i++) {
                struct kp_str name;
                int32_t np;
                rc = kp_fetch_resp_topic_decode(&rd, v, &name, &np);
                if (rc == 0 && cut == len) {
                    tm_str_eq(name, resp.topics[i].topic);
                    ck_assert_int_eq(np, resp.topics[i].n_partitions);
                }
                for (int32_t j = 0; rc == 0 && j < np; j++) {
                    struct kp_fetch_resp_partition p;
                    struct kp_bytes ab;
                    rc = kp_fetch_resp_partition_decode(&rd, v, &p, &ab);
                    if (rc || cut != len)
                        continue;
                    const struct kp_fetch_resp_partition *x = &resp.topics[i].partitions[j];
                    ck_assert_int_eq(p.partition, x->partition);
                    ck_assert_int_eq(p.error_code, x->error_code);
                    ck_assert(p.high_watermark == x->high_watermark);
                    ck_assert(p.log_start_offset == (v >= 5 ? x->log_start_offset : -1));
                    ck_assert_ptr_null(p.aborted);
                    ck_assert_int_eq(p.n_aborted, x->n_aborted);
                    for (int32_t k = 0; k < p.n_aborted; k++) {
                        struct kp_fetch_aborted_txn t;
                        kp_fetch_aborted_get(ab, k, &t);
                        ck_assert(t.producer_id == x->aborted[k].producer_id);
                        ck_assert(t.first_offset == x->aborted[k].first_offset);
                    }
                    tm_bytes_eq(p.records, x->records);
                    if (p.records.len > 0)
                        ck_assert(p.records.ptr > whole && p.records.ptr < whole + len);
                }
            }
            if (cut == len) {
                ck_assert_int_eq(rc, 0);
                ck_assert_int_eq(thr, resp.throttle_time_ms);
                ck_assert_uint_eq(kp_rd_left(&rd), 0);
            } else {
                ck_assert_msg(rc == -EBADMSG, "v%d cut %zu: %d", v, cut, rc);
            }
        }
        struct kp_rd rd;
        kp_rd_init(&rd, whole, len);
        int32_t a, b, c;
        int16_t d;
        ck_assert_int_eq(kp_fetch_resp_head_decode(&rd, 12, &a, &d, &b, &c), -EINVAL);
    }
}
END_TEST

/* The producer's path: the pieces with the records written beside them give the whole
 * encoder's bytes, and their sizes add up. */
START_TEST(test_produce_req_piecewise_matches_whole)
{
    struct kp_produce_req req = {TM_S("txn-1"), -1, 30000, TM_N(pr_topics), pr_topics};
    static uint8_t whole[TM_BUF], pieces[TM_BUF];
    for (int16_t v = 3; v <= 7; v++) {
        struct kp_wr w1, w2;
        kp_wr_init(&w1, whole, sizeof whole);
        ck_assert_int_eq(kp_produce_req_encode(&w1, v, &req), 0);
        kp_wr_init(&w2, pieces, sizeof pieces);
        size_t want = kp_produce_req_head_size(v, req.transactional_id);
        ck_assert_int_eq(kp_produce_req_head_encode(&w2, v, req.transactional_id, req.acks,
                                                    req.timeout_ms, req.n_topics),
                         0);
        ck_assert_uint_eq(kp_wr_len(&w2), want);
        for (int32_t i = 0; i < req.n_topics; i++) {
            const struct kp_produce_req_topic *t = &req.topics[i];
            want += kp_produce_req_topic_size(v, t->name);
            ck_assert_int_eq(kp_produce_req_topic_encode(&w2, v, t->name, t->n_partitions), 0);
            for (int32_t j = 0; j < t->n_partitions; j++) {
                struct kp_bytes r = t->partitions[j].records;
                want += kp_produce_req_partition_head_size(v) + (r.len > 0 ? (size_t)r.len : 0);
                ck_assert_int_eq(kp_produce_req_partition_head_encode(
                                     &w2, v, t->partitions[j].partition_index, r.len),
                                 0);
                if (r.len > 0)
                    kp_wr_raw(&w2, r.ptr, (size_t)r.len);
            }
        }
        ck_assert_uint_eq(kp_wr_len(&w2), want);
        ck_assert_uint_eq(kp_wr_len(&w2), kp_wr_len(&w1));
        ck_assert(memcmp(whole, pieces, kp_wr_len(&w1)) == 0);
    }
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_produce_req_head_encode(&wr, 8, KP_STR_NULL, 1, 0, 1), -EINVAL);
    ck_assert_int_eq(kp_produce_req_head_encode(&wr, 7, KP_STR_NULL, 1, 0, -1), -EINVAL);
    ck_assert_int_eq(kp_produce_req_topic_encode(&wr, 7, TM_S("t"), -1), -EINVAL);
    ck_assert_int_eq(kp_produce_req_partition_head_encode(&wr, 2, 0, 10), -EINVAL);
    ck_assert_int_eq(kp_produce_req_partition_head_encode(&wr, 7, 0, -2), -EINVAL);
    ck_assert_uint_eq(kp_wr_len(&wr), 0);
    ck_assert_uint_eq(kp_produce_req_partition_head_size(8), 0);
}
END_TEST

START_TEST(test_fetch_resp_empty_partition_v11_golden)
{
    /* An empty partition: records length 0, never -1 (librdkafka rejects -1), also when the
     * caller passes a null view. */
    struct kp_fetch_resp_partition p = {0, 0, 5, 5, 0, 0, NULL, -1, KP_BYTES_NULL};
    struct kp_fetch_resp_topic t = {TM_S("t"), 1, &p};
    struct kp_fetch_resp resp = {0, 0, 0, 1, &t};
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_fetch_resp_encode(&wr, 11, &resp), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 0, 0, 0, /* throttle_time_ms */
                 0, 0,                            /* error_code */
                 0, 0, 0, 0,                      /* session_id */
                 0, 0, 0, 1,                      /* topics */
                 0, 1, 't',                       /* topic */
                 0, 0, 0, 1,                      /* partitions */
                 0, 0, 0, 0,                      /* partition_index */
                 0, 0,                            /* error_code */
                 0, 0, 0, 0, 0, 0, 0, 5,          /* high_watermark */
                 0, 0, 0, 0, 0, 0, 0, 5,          /* last_stable_offset */
                 0, 0, 0, 0, 0, 0, 0, 0,          /* log_start_offset */
                 0, 0, 0, 0,                      /* aborted_transactions: empty */
                 0xff, 0xff, 0xff, 0xff,          /* preferred_read_replica -1 */
                 0, 0, 0, 0);                     /* records: length 0 */
    size_t size = 0;
    ck_assert_int_eq(kp_fetch_resp_size(11, &resp, &size), 0);
    ck_assert_uint_eq(size, kp_wr_len(&wr));

    /* The piecewise encoder writes the same 0 for a negative length. */
    p.records = (struct kp_bytes){NULL, -7};
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_fetch_resp_partition_head_encode(&wr, 11, &p), 0);
    ck_assert_uint_eq(kp_load_be32(buf + kp_wr_len(&wr) - 4), 0);
}
END_TEST

START_TEST(test_fetch_resp_null_records_decode_as_empty)
{
    /* Some brokers send -1; the client side reads it as an empty set. */
    static const uint8_t body[] = {0, 0,    0,    0,    0,    0,    0,    1,    0,   1, 't', 0,
                                   0, 0,    1,    0,    0,    0,    0,    0,    0,   0, 0,   0,
                                   0, 0,    0,    0,    5,    0,    0,    0,    0,   0, 0,   0,
                                   5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    struct kp_rd rd;
    kp_rd_init(&rd, body, sizeof body);
    struct kp_arena a;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    struct kp_fetch_resp o;
    ck_assert_int_eq(kp_fetch_resp_decode(&rd, 4, &a, &o), 0);
    const struct kp_fetch_resp_partition *p = &o.topics[0].partitions[0];
    ck_assert_int_eq(p->n_aborted, -1);
    ck_assert_int_eq(p->records.len, 0);
    ck_assert(p->high_watermark == 5 && p->last_stable_offset == 5);
}
END_TEST

START_TEST(test_fetch_forged_counts)
{
    /* v11 request: header fields, then topics 2^31-1. */
    static const uint8_t req[] = {0xff, 0xff, 0xff, 0xff, 0,    0, 1, 0xf4, 0, 0,    0,    1,
                                  3,    0x20, 0,    0,    0,    0, 0, 0,    0, 0xff, 0xff, 0xff,
                                  0xff, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0,    0, 0,    0};
    tm_check_forged(&c_fe_req, 11, req, sizeof req, 0);
    /* v7 request: no topics, forgotten_topics_data with one topic whose partition count is
     * 2^31-1. */
    static const uint8_t forgot[] = {0xff, 0xff, 0xff, 0xff, /* replica_id */
                                     0,    0,    1,    0xf4, /* max_wait_ms */
                                     0,    0,    0,    1,    /* min_bytes */
                                     3,    0x20, 0,    0,    /* max_bytes */
                                     0,                      /* isolation_level */
                                     0,    0,    0,    0,    /* session_id */
                                     0,    0,    0,    0,    /* session_epoch */
                                     0,    0,    0,    0,    /* topics: none */
                                     0,    0,    0,    1,    /* forgotten_topics_data: one */
                                     0,    1,    'g',        /* topic */
                                     0x7f, 0xff, 0xff, 0xff, /* partitions: forged */
                                     0,    0,    0,    4};
    /* Sanity: with a count of 1 the same bytes decode. */
    uint8_t ok[sizeof forgot];
    memcpy(ok, forgot, sizeof ok);
    kp_store_be32(ok + sizeof ok - 8, 1);
    struct kp_rd ok_rd;
    kp_rd_init(&ok_rd, ok, sizeof ok);
    struct kp_arena ok_a;
    kp_arena_init(&ok_a, out_mem, sizeof out_mem);
    struct kp_fetch_req ok_o;
    ck_assert_int_eq(kp_fetch_req_decode(&ok_rd, 7, &ok_a, &ok_o), 0);
    ck_assert_int_eq(ok_o.n_forgotten, 1);
    ck_assert_int_eq(ok_o.forgotten[0].partitions[0], 4);
    struct kp_arena fa;
    kp_arena_init(&fa, tm_arena_mem, sizeof tm_arena_mem);
    (void)kp_arena_alloc(&fa, 1, sizeof(struct kp_fetch_forgotten_topic));
    tm_check_forged(&c_fe_req, 7, forgot, sizeof forgot, fa.used);
    /* v4 response: one topic, one partition with aborted_transactions 2^31-1. */
    static const uint8_t resp[] = {0, 0, 0, 0, 0, 0, 0, 1,    0,    1,    't',  0, 0, 0, 1,
                                   0, 0, 0, 0, 0, 0, 0, 0,    0,    0,    0,    0, 0, 5, 0,
                                   0, 0, 0, 0, 0, 0, 5, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    struct kp_arena a;
    kp_arena_init(&a, tm_arena_mem, sizeof tm_arena_mem);
    (void)kp_arena_alloc(&a, 1, sizeof(struct kp_fetch_resp_topic));
    (void)kp_arena_alloc(&a, 1, sizeof(struct kp_fetch_resp_partition));
    tm_check_forged(&c_fe_resp, 4, resp, sizeof resp, a.used);
}
END_TEST

/* ---- ListOffsets --------------------------------------------------------------------------- */

START_TEST(test_list_offsets_round_trip)
{
    static const struct kp_list_offsets_req_partition rp[] = {
        {0, KP_LIST_OFFSETS_EARLIEST}, {1, KP_LIST_OFFSETS_LATEST}, {2, 1700000000000}};
    static const struct kp_list_offsets_req_topic rt[] = {{TM_S("orders"), TM_N(rp), rp},
                                                          {TM_S("idle"), 0, NULL}};
    struct kp_list_offsets_req req = {-1, 1, TM_N(rt), rt};
    for (int16_t v = 0; v <= 2; v++) {
        struct kp_list_offsets_req o;
        struct kp_arena a;
        tm_check(&c_lo_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.replica_id, -1);
        ck_assert_int_eq(o.isolation_level, v >= 2 ? 1 : 0);
        ck_assert_int_eq(o.n_topics, 2);
        for (int32_t i = 0; i < 2; i++) {
            tm_str_eq(o.topics[i].name, rt[i].name);
            ck_assert_int_eq(o.topics[i].n_partitions, rt[i].n_partitions);
            for (int32_t j = 0; j < rt[i].n_partitions; j++) {
                ck_assert_int_eq(o.topics[i].partitions[j].partition_index,
                                 rt[i].partitions[j].partition_index);
                ck_assert(o.topics[i].partitions[j].timestamp == rt[i].partitions[j].timestamp);
                ck_assert_int_eq(o.topics[i].partitions[j].max_num_offsets,
                                 v == 0 ? rt[i].partitions[j].max_num_offsets : 1);
            }
        }
    }
    tm_check_bad_versions(&c_lo_req, &req);

    static const struct kp_list_offsets_resp_partition sp[] = {
        {0, 0, -1, 0}, {1, 0, -1, 42}, {2, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, -1, -1}};
    static const struct kp_list_offsets_resp_topic st[] = {{TM_S("orders"), TM_N(sp), sp}};
    struct kp_list_offsets_resp resp = {8, TM_N(st), st};
    for (int16_t v = 1; v <= 2; v++) {
        struct kp_list_offsets_resp o;
        struct kp_arena a;
        tm_check(&c_lo_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.throttle_time_ms, v >= 2 ? 8 : 0);
        ck_assert_int_eq(o.n_topics, 1);
        tm_str_eq(o.topics[0].name, st[0].name);
        ck_assert_int_eq(o.topics[0].n_partitions, TM_N(sp));
        for (int32_t j = 0; j < TM_N(sp); j++) {
            const struct kp_list_offsets_resp_partition *p = &o.topics[0].partitions[j];
            ck_assert_int_eq(p->partition_index, sp[j].partition_index);
            ck_assert_int_eq(p->error_code, sp[j].error_code);
            ck_assert(p->timestamp == sp[j].timestamp);
            ck_assert(p->offset == sp[j].offset);
        }
    }
    tm_check_bad_versions(&c_lo_resp, &resp);

    /* v0: old-style offsets instead of timestamp and offset (Burrow 1.2's request) */
    static const struct kp_list_offsets_old_offset old[] = {{42}, {7}};
    static const struct kp_list_offsets_resp_partition sp0[] = {
        {.partition_index = 1, .n_old_style_offsets = 2, .old_style_offsets = old},
        {.partition_index = 2, .error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION}};
    static const struct kp_list_offsets_resp_topic st0[] = {{TM_S("orders"), TM_N(sp0), sp0}};
    struct kp_list_offsets_resp resp0 = {0, TM_N(st0), st0};
    struct kp_list_offsets_resp o0;
    struct kp_arena a0;
    tm_check(&c_lo_resp, 0, &resp0, &o0, buf, &a0, out_mem, sizeof out_mem);
    ck_assert_int_eq(o0.topics[0].n_partitions, 2);
    const struct kp_list_offsets_resp_partition *q = o0.topics[0].partitions;
    ck_assert_int_eq(q[0].n_old_style_offsets, 2);
    ck_assert(q[0].old_style_offsets[0].offset == 42 && q[0].old_style_offsets[1].offset == 7);
    ck_assert(q[0].offset == -1 && q[0].timestamp == -1); /* not in v0: Kafka's defaults */
    ck_assert_int_eq(q[1].error_code, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(q[1].n_old_style_offsets, 0);

    static const uint8_t forged[] = {0xff, 0xff, 0xff, 0xff, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0};
    tm_check_forged(&c_lo_req, 2, forged, sizeof forged, 0);
    static const uint8_t forged_resp[] = {0, 0,   0,    0,    0,    0,    0, 1, 0,
                                          1, 'x', 0x7f, 0xff, 0xff, 0xff, 0, 0};
    tm_check_forged(&c_lo_resp, 2, forged_resp, sizeof forged_resp,
                    sizeof(struct kp_list_offsets_resp_topic) + 64);
}
END_TEST

/* ---- field presence per version ------------------------------------------------------------ */

START_TEST(test_data_sizes_per_version)
{
    static const struct kp_fetch_req_partition fp = {0, 0, 0, 0, 0};
    static const struct kp_fetch_req_topic ft = {TM_S("t"), 1, &fp};
    struct kp_fetch_req freq = {.n_topics = 1, .topics = &ft, .rack_id = KP_STR_NULL};
    /* v4 44; +8 log_start_offset (v5); +8 session, +4 forgotten (v7); +4 leader epoch (v9);
     * +2 rack_id (v11) */
    static const size_t freq_len[] = {44, 52, 52, 64, 64, 68, 68, 70};
    static const struct kp_fetch_resp_partition rp = {.n_aborted = 0};
    static const struct kp_fetch_resp_topic rt = {TM_S("t"), 1, &rp};
    struct kp_fetch_resp fresp = {.n_topics = 1, .topics = &rt};
    /* v4 45; +8 log_start_offset (v5); +6 error/session (v7); +4 preferred replica (v11) */
    static const size_t fresp_len[] = {45, 53, 53, 59, 59, 59, 59, 63};
    for (int16_t v = 4; v <= 11; v++) {
        ck_assert_uint_eq(enc_len(&c_fe_req, v, &freq), freq_len[v - 4]);
        ck_assert_uint_eq(enc_len(&c_fe_resp, v, &fresp), fresp_len[v - 4]);
    }

    static const struct kp_produce_req_partition pp = {0, {NULL, 0}};
    static const struct kp_produce_req_topic pt = {TM_S("t"), 1, &pp};
    struct kp_produce_req preq = {KP_STR_NULL, 1, 0, 1, &pt};
    static const struct kp_produce_resp_partition prp = {0};
    static const struct kp_produce_resp_topic prt = {TM_S("t"), 1, &prp};
    struct kp_produce_resp presp = {1, &prt, 0};
    for (int16_t v = 3; v <= 7; v++) {
        ck_assert_uint_eq(enc_len(&c_pr_req, v, &preq), 2 + 2 + 4 + 4 + 3 + 4 + 4 + 4);
        /* 37, +8 log_start_offset from v5 */
        ck_assert_uint_eq(enc_len(&c_pr_resp, v, &presp), v >= 5 ? 45 : 37);
    }

    static const struct kp_list_offsets_req_partition lp = {0, -1};
    static const struct kp_list_offsets_req_topic lt = {TM_S("t"), 1, &lp};
    struct kp_list_offsets_req lreq = {-1, 0, 1, &lt};
    static const struct kp_list_offsets_resp_partition lrp = {0};
    static const struct kp_list_offsets_resp_topic lrt = {TM_S("t"), 1, &lrp};
    struct kp_list_offsets_resp lresp = {0, 1, &lrt};
    ck_assert_uint_eq(enc_len(&c_lo_req, 1, &lreq), 27);
    ck_assert_uint_eq(enc_len(&c_lo_req, 2, &lreq), 28); /* + isolation_level */
    ck_assert_uint_eq(enc_len(&c_lo_resp, 1, &lresp), 33);
    ck_assert_uint_eq(enc_len(&c_lo_resp, 2, &lresp), 37); /* + throttle_time_ms */
}
END_TEST

/* ---- kcat fixtures ------------------------------------------------------------------------- */

/* Reads tests/fixtures/<name> (under $SPLICELOG_ROOT when set) into a heap buffer. */
static uint8_t *load_fixture(const char *name, size_t *len)
{
    const char *root = getenv("SPLICELOG_ROOT");
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fixtures/%s", root ? root : ".", name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    uint8_t *data = malloc(65536);
    *len = fread(data, 1, 65536, f);
    fclose(f);
    return data;
}

/* Frame + request header of a fixture; rd is left at the body, exactly one frame long. */
static void open_fixture_frame(const uint8_t *data, size_t len, struct kp_rd *rd,
                               struct kp_req_hdr *h)
{
    int32_t size = 0;
    ck_assert_int_eq(kp_frame_peek(data, len, 1 << 20, &size), 0);
    ck_assert_uint_eq((size_t)size + 4, len);
    kp_rd_init(rd, data + 4, (size_t)size);
    ck_assert_int_eq(kp_req_hdr_decode(rd, h), 0);
    ck_assert(kp_str_eq(h->client_id, "rdkafka"));
    ck_assert(kp_api_supported(h->api_key, h->api_version));
}

START_TEST(test_fixtures_decode)
{
    size_t len;
    struct kp_rd rd;
    struct kp_req_hdr h;
    struct kp_arena a;

    uint8_t *d = load_fixture("apiversions_v3.bin", &len);
    open_fixture_frame(d, len, &rd, &h);
    ck_assert_int_eq(h.api_key, KP_API_API_VERSIONS);
    ck_assert_int_eq(h.api_version, 3);
    struct kp_api_versions_req av;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    ck_assert_int_eq(kp_api_versions_req_decode(&rd, 3, &a, &av), 0);
    ck_assert(kp_str_eq(av.client_software_name, "librdkafka"));
    ck_assert(kp_str_eq(av.client_software_version, "2.0.2"));
    free(d);

    d = load_fixture("metadata_v4.bin", &len);
    open_fixture_frame(d, len, &rd, &h);
    ck_assert_int_eq(h.api_key, KP_API_METADATA);
    ck_assert_int_eq(h.api_version, 4);
    struct kp_metadata_req md;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    ck_assert_int_eq(kp_metadata_req_decode(&rd, 4, &a, &md), 0);
    ck_assert_int_eq(md.n_topics, 1);
    ck_assert(kp_str_eq(md.topics[0], "splicelog-fixture"));
    ck_assert(md.allow_auto_topic_creation);
    free(d);

    d = load_fixture("produce_v7.bin", &len);
    open_fixture_frame(d, len, &rd, &h);
    ck_assert_int_eq(h.api_key, KP_API_PRODUCE);
    ck_assert_int_eq(h.api_version, 7);
    struct kp_produce_req pr;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    ck_assert_int_eq(kp_produce_req_decode(&rd, 7, &a, &pr), 0);
    tm_str_null(pr.transactional_id);
    ck_assert_int_eq(pr.acks, -1);
    ck_assert_int_eq(pr.timeout_ms, 30000);
    ck_assert_int_eq(pr.n_topics, 1);
    ck_assert(kp_str_eq(pr.topics[0].name, "splicelog-fixture"));
    ck_assert_int_eq(pr.topics[0].n_partitions, 1);
    ck_assert_int_eq(pr.topics[0].partitions[0].partition_index, 0);
    struct kp_bytes rec = pr.topics[0].partitions[0].records;
    ck_assert_int_eq(rec.len, 157);
    ck_assert_ptr_eq(rec.ptr, d + len - 157); /* a view into the frame, the last field */
    ck_assert_int_eq(rec.ptr[16], 2);         /* RecordBatch magic */
    ck_assert_uint_eq(kp_load_be32(rec.ptr + 8) + 12, 157); /* batchLength */
    free(d);

    d = load_fixture("fetch_v11.bin", &len);
    open_fixture_frame(d, len, &rd, &h);
    ck_assert_int_eq(h.api_key, KP_API_FETCH);
    ck_assert_int_eq(h.api_version, 11);
    struct kp_fetch_req fe;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    ck_assert_int_eq(kp_fetch_req_decode(&rd, 11, &a, &fe), 0);
    ck_assert_int_eq(fe.replica_id, -1);
    ck_assert_int_eq(fe.max_wait_ms, 500);
    ck_assert_int_eq(fe.min_bytes, 1);
    ck_assert_int_eq(fe.max_bytes, 52428800);
    ck_assert_int_eq(fe.isolation_level, 1);
    ck_assert_int_eq(fe.session_id, 0);
    ck_assert_int_eq(fe.session_epoch, -1);
    ck_assert_int_eq(fe.n_topics, 1);
    ck_assert(kp_str_eq(fe.topics[0].topic, "splicelog-fixture"));
    ck_assert_int_eq(fe.topics[0].n_partitions, 1);
    ck_assert_int_eq(fe.topics[0].partitions[0].partition, 0);
    ck_assert_int_eq(fe.topics[0].partitions[0].current_leader_epoch, -1);
    ck_assert(fe.topics[0].partitions[0].fetch_offset == 0);
    ck_assert(fe.topics[0].partitions[0].log_start_offset == -1);
    ck_assert_int_eq(fe.topics[0].partitions[0].partition_max_bytes, 1048576);
    ck_assert_int_eq(fe.n_forgotten, 0);
    ck_assert(kp_str_eq(fe.rack_id, ""));
    free(d);

    d = load_fixture("listoffsets_v2.bin", &len);
    open_fixture_frame(d, len, &rd, &h);
    ck_assert_int_eq(h.api_key, KP_API_LIST_OFFSETS);
    ck_assert_int_eq(h.api_version, 2);
    struct kp_list_offsets_req lo;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    ck_assert_int_eq(kp_list_offsets_req_decode(&rd, 2, &a, &lo), 0);
    ck_assert_int_eq(lo.replica_id, -1);
    ck_assert_int_eq(lo.isolation_level, 1);
    ck_assert_int_eq(lo.n_topics, 1);
    ck_assert(kp_str_eq(lo.topics[0].name, "splicelog-fixture"));
    ck_assert_int_eq(lo.topics[0].n_partitions, 1);
    ck_assert(lo.topics[0].partitions[0].timestamp == KP_LIST_OFFSETS_EARLIEST);
    free(d);
}
END_TEST

START_TEST(test_fixtures_prefixes_fail)
{
    /* Every strict prefix of each captured body fails to decode. */
    static const char *const names[] = {"apiversions_v3.bin", "metadata_v4.bin", "produce_v7.bin",
                                        "fetch_v11.bin", "listoffsets_v2.bin"};
    for (size_t f = 0; f < sizeof names / sizeof names[0]; f++) {
        size_t len;
        uint8_t *d = load_fixture(names[f], &len);
        struct kp_rd rd;
        struct kp_req_hdr h;
        open_fixture_frame(d, len, &rd, &h);
        size_t body_off = (size_t)(rd.p - d), body_len = kp_rd_left(&rd);
        for (size_t n = 0; n < body_len; n++) {
            uint8_t *pre = malloc(n ? n : 1);
            memcpy(pre, d + body_off, n);
            kp_rd_init(&rd, pre, n);
            struct kp_arena a;
            kp_arena_init(&a, out_mem, sizeof out_mem);
            int rc;
            union {
                struct kp_api_versions_req av;
                struct kp_metadata_req md;
                struct kp_produce_req pr;
                struct kp_fetch_req fe;
                struct kp_list_offsets_req lo;
            } o;
            switch (h.api_key) {
            case KP_API_API_VERSIONS:
                rc = kp_api_versions_req_decode(&rd, h.api_version, &a, &o.av);
                break;
            case KP_API_METADATA:
                rc = kp_metadata_req_decode(&rd, h.api_version, &a, &o.md);
                break;
            case KP_API_PRODUCE:
                rc = kp_produce_req_decode(&rd, h.api_version, &a, &o.pr);
                break;
            case KP_API_FETCH:
                rc = kp_fetch_req_decode(&rd, h.api_version, &a, &o.fe);
                break;
            default:
                rc = kp_list_offsets_req_decode(&rd, h.api_version, &a, &o.lo);
                break;
            }
            ck_assert_msg(rc == -EBADMSG, "%s: prefix %zu decoded: %d", names[f], n, rc);
            free(pre);
        }
        free(d);
    }
}
END_TEST

static Suite *kp_msg_data_suite(void)
{
    Suite *s = suite_create("kp_msg_data");
    TCase *pr = tcase_create("produce");
    tcase_add_test(pr, test_produce_req_round_trip);
    tcase_add_test(pr, test_produce_records_view_is_mutable_in_place);
    tcase_add_test(pr, test_produce_resp_round_trip);
    tcase_add_test(pr, test_produce_forged_counts);
    tcase_add_test(pr, test_produce_req_piecewise_matches_whole);
    suite_add_tcase(s, pr);

    TCase *fe = tcase_create("fetch");
    tcase_add_test(fe, test_fetch_req_round_trip);
    tcase_add_test(fe, test_fetch_resp_round_trip);
    tcase_add_test(fe, test_fetch_resp_piecewise_matches_whole);
    tcase_add_test(fe, test_fetch_resp_piecewise_decode);
    tcase_add_test(fe, test_fetch_resp_empty_partition_v11_golden);
    tcase_add_test(fe, test_fetch_resp_null_records_decode_as_empty);
    tcase_add_test(fe, test_fetch_forged_counts);
    suite_add_tcase(s, fe);

    TCase *lo = tcase_create("list_offsets");
    tcase_add_test(lo, test_list_offsets_round_trip);
    tcase_add_test(lo, test_data_sizes_per_version);
    suite_add_tcase(s, lo);

    TCase *fx = tcase_create("fixtures");
    tcase_add_test(fx, test_fixtures_decode);
    tcase_add_test(fx, test_fixtures_prefixes_fail);
    suite_add_tcase(s, fx);
    return s;
}

int main(void) { return tb_ck_run(kp_msg_data_suite()); }
