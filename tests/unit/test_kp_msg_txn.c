/*
 * test_kp_msg_txn — the transaction codecs (proto/kp_msg_txn.c): AddPartitionsToTxn,
 * AddOffsetsToTxn, EndTxn, TxnOffsetCommit, v0-3 each (flexible at 3). Every message at every
 * version goes through tm_check (encode, every strict prefix rejected, hostile counts, a
 * trailing byte, decode, smaller arenas, encode(decode(x)) == x) with field comparison; golden
 * bytes written by hand from the Kafka schemas for v0/v1 and v3; unknown tagged fields
 * skipped; forged counts rejected before the arena grows.
 */
#include "kp_msg_txn.h"
#include "test_kp_msg_common.h"
#include "tb_check.h"

TM_CODEC(c_apt_req, kp_add_partitions_to_txn_req, struct kp_add_partitions_to_txn_req, 0, 3);
TM_CODEC(c_apt_resp, kp_add_partitions_to_txn_resp, struct kp_add_partitions_to_txn_resp, 0, 3);
TM_CODEC(c_aot_req, kp_add_offsets_to_txn_req, struct kp_add_offsets_to_txn_req, 0, 3);
TM_CODEC(c_aot_resp, kp_add_offsets_to_txn_resp, struct kp_add_offsets_to_txn_resp, 0, 3);
TM_CODEC(c_end_req, kp_end_txn_req, struct kp_end_txn_req, 0, 3);
TM_CODEC(c_end_resp, kp_end_txn_resp, struct kp_end_txn_resp, 0, 3);
TM_CODEC(c_toc_req, kp_txn_offset_commit_req, struct kp_txn_offset_commit_req, 0, 3);
TM_CODEC(c_toc_resp, kp_txn_offset_commit_resp, struct kp_txn_offset_commit_resp, 0, 3);

static const int32_t parts[] = {0, 1, 7};

START_TEST(test_add_partitions_round_trip)
{
    struct kp_add_partitions_to_txn_topic topics[] = {{TM_S("orders"), 3, parts},
                                                      {TM_S("t"), 0, NULL}};
    struct kp_add_partitions_to_txn_req req = {TM_S("txn-1"), 4000, 3, TM_N(topics), topics};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_add_partitions_to_txn_req o;
        struct kp_arena a;
        tm_check(&c_apt_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
        tm_str_eq(o.transactional_id, req.transactional_id);
        ck_assert(o.producer_id == 4000 && o.producer_epoch == 3);
        ck_assert_int_eq(o.n_topics, 2);
        tm_str_eq(o.topics[0].name, topics[0].name);
        tm_i32s_eq(o.topics[0].n_partitions, o.topics[0].partitions, 3, parts);
        ck_assert_int_eq(o.topics[1].n_partitions, 0);
    }
    tm_check_bad_versions(&c_apt_req, &req);

    struct kp_add_partitions_to_txn_partition_result r0[] = {
        {0, 0}, {7, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION}};
    struct kp_add_partitions_to_txn_topic_result tr[] = {{TM_S("orders"), TM_N(r0), r0}};
    struct kp_add_partitions_to_txn_resp resp = {9, TM_N(tr), tr};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_add_partitions_to_txn_resp o;
        struct kp_arena a;
        tm_check(&c_apt_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.throttle_time_ms, 9);
        ck_assert_int_eq(o.n_topics, 1);
        ck_assert_int_eq(o.topics[0].n_results, 2);
        ck_assert_int_eq(o.topics[0].results[1].partition_index, 7);
        ck_assert_int_eq(o.topics[0].results[1].error_code, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    }
    tm_check_bad_versions(&c_apt_resp, &resp);
}
END_TEST

START_TEST(test_add_partitions_golden)
{
    static const int32_t p01[] = {0, 1};
    struct kp_add_partitions_to_txn_topic topics[] = {{TM_S("t"), 2, p01}};
    struct kp_add_partitions_to_txn_req req = {TM_S("tx"), 1, 2, 1, topics};
    size_t n = enc_len(&c_apt_req, 0, &req);
    EXPECT_BYTES(buf, n, 0, 2, 't', 'x',              /* transactional_id */
                 0, 0, 0, 0, 0, 0, 0, 1,              /* producer_id */
                 0, 2,                                /* producer_epoch */
                 0, 0, 0, 1, 0, 1, 't',               /* [topics]: name */
                 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1); /* [partitions] */
    n = enc_len(&c_apt_req, 3, &req);
    EXPECT_BYTES(buf, n, 3, 't', 'x', 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, /* compact id, pid, epoch */
                 2, 2, 't', 3, 0, 0, 0, 0, 0, 0, 0, 1,              /* compact topics */
                 0,                                                 /* topic tags */
                 0);                                                /* body tags */
    struct kp_add_partitions_to_txn_partition_result rr[] = {{5, 48}};
    struct kp_add_partitions_to_txn_topic_result tr[] = {{TM_S("t"), 1, rr}};
    struct kp_add_partitions_to_txn_resp resp = {0, 1, tr};
    n = enc_len(&c_apt_resp, 3, &resp);
    EXPECT_BYTES(buf, n, 0, 0, 0, 0, 2, 2, 't', 2, 0, 0, 0, 5, 0, 48, 0, 0, 0);
    /* a request's unknown tagged field (tag 9, 2 bytes) is skipped */
    static const uint8_t tagged[] = {3, 't', 'x', 0, 0, 0, 0, 0,    0,   0,
                                     1, 0,   2,   1, 1, 9, 2, 0xaa, 0xbb};
    struct kp_add_partitions_to_txn_req o;
    ck_assert_int_eq(dec_bytes(&c_apt_req, 3, tagged, sizeof tagged, &o), 0);
    ck_assert_int_eq(o.n_topics, 0);
    /* a forged partition count fails before the arena grows for it */
    static const uint8_t forged[] = {0, 2, 't', 'x', 0, 0, 0, 0,   0,    0,    0,    1,   0,
                                     2, 0, 0,   0,   1, 0, 1, 't', 0x7f, 0xff, 0xff, 0xff};
    tm_check_forged(&c_apt_req, 0, forged, sizeof forged,
                    kp_arena_need(1, sizeof(struct kp_add_partitions_to_txn_topic)));
}
END_TEST

START_TEST(test_add_offsets_and_end_txn)
{
    struct kp_add_offsets_to_txn_req req = {TM_S("txn"), 77, 5, TM_S("grp")};
    struct kp_end_txn_req end = {TM_S("txn"), 77, 5, true};
    struct kp_add_offsets_to_txn_resp ar = {3, KP_ERR_CONCURRENT_TRANSACTIONS};
    struct kp_end_txn_resp er = {4, KP_ERR_INVALID_PRODUCER_EPOCH};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_arena a;
        struct kp_add_offsets_to_txn_req o;
        tm_check(&c_aot_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
        tm_str_eq(o.transactional_id, req.transactional_id);
        tm_str_eq(o.group_id, req.group_id);
        ck_assert(o.producer_id == 77 && o.producer_epoch == 5);
        struct kp_end_txn_req oe;
        tm_check(&c_end_req, v, &end, &oe, buf, &a, out_mem, sizeof out_mem);
        ck_assert(oe.committed && oe.producer_id == 77 && oe.producer_epoch == 5);
        struct kp_add_offsets_to_txn_resp oar;
        tm_check(&c_aot_resp, v, &ar, &oar, buf, &a, out_mem, sizeof out_mem);
        ck_assert(oar.throttle_time_ms == 3 && oar.error_code == KP_ERR_CONCURRENT_TRANSACTIONS);
        struct kp_end_txn_resp oer;
        tm_check(&c_end_resp, v, &er, &oer, buf, &a, out_mem, sizeof out_mem);
        ck_assert(oer.throttle_time_ms == 4 && oer.error_code == KP_ERR_INVALID_PRODUCER_EPOCH);
    }
    tm_check_bad_versions(&c_aot_req, &req);
    tm_check_bad_versions(&c_end_req, &end);
    tm_check_bad_versions(&c_aot_resp, &ar);
    tm_check_bad_versions(&c_end_resp, &er);
    end.committed = false;
    size_t n = enc_len(&c_end_req, 1, &end);
    EXPECT_BYTES(buf, n, 0, 3, 't', 'x', 'n', 0, 0, 0, 0, 0, 0, 0, 77, 0, 5, 0);
    end.committed = true;
    n = enc_len(&c_end_req, 3, &end);
    EXPECT_BYTES(buf, n, 4, 't', 'x', 'n', 0, 0, 0, 0, 0, 0, 0, 77, 0, 5, 1, 0);
    n = enc_len(&c_aot_req, 3, &req);
    EXPECT_BYTES(buf, n, 4, 't', 'x', 'n', 0, 0, 0, 0, 0, 0, 0, 77, 0, 5, 4, 'g', 'r', 'p', 0);
    n = enc_len(&c_end_resp, 2, &er);
    EXPECT_BYTES(buf, n, 0, 0, 0, 4, 0, 47);
    n = enc_len(&c_end_resp, 3, &er);
    EXPECT_BYTES(buf, n, 0, 0, 0, 4, 0, 47, 0);
    /* a bool other than 0/1 is read as true, as Kafka's readers do */
    static const uint8_t b2[] = {0, 1, 'x', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2};
    struct kp_end_txn_req o;
    ck_assert_int_eq(dec_bytes(&c_end_req, 0, b2, sizeof b2, &o), 0);
    ck_assert(o.committed);
}
END_TEST

START_TEST(test_txn_offset_commit)
{
    struct kp_txn_offset_commit_req_partition p[] = {{0, 100, 7, TM_S("meta")},
                                                     {3, 5, -1, KP_STR_NULL}};
    struct kp_txn_offset_commit_req_topic t[] = {{TM_S("orders"), TM_N(p), p}};
    struct kp_txn_offset_commit_req req = {TM_S("txn"), TM_S("grp"), 77,      5, 12,
                                           TM_S("m-1"), TM_S("gi"),  TM_N(t), t};
    static const size_t want_len[] = {68, 68, 76, 80};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_txn_offset_commit_req o;
        struct kp_arena a;
        ck_assert_uint_eq(tm_check(&c_toc_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem),
                          want_len[v]);
        tm_str_eq(o.transactional_id, req.transactional_id);
        tm_str_eq(o.group_id, req.group_id);
        ck_assert(o.producer_id == 77 && o.producer_epoch == 5);
        if (v >= 3) {
            ck_assert_int_eq(o.generation_id, 12);
            tm_str_eq(o.member_id, req.member_id);
            tm_str_eq(o.group_instance_id, req.group_instance_id);
        } else {
            ck_assert_int_eq(o.generation_id, -1);
            ck_assert_int_eq(o.member_id.len, 0);
            tm_str_null(o.group_instance_id);
        }
        ck_assert_int_eq(o.topics[0].n_partitions, 2);
        ck_assert_int_eq(o.topics[0].partitions[0].committed_offset, 100);
        ck_assert_int_eq(o.topics[0].partitions[0].committed_leader_epoch, v >= 2 ? 7 : -1);
        tm_str_eq(o.topics[0].partitions[0].committed_metadata, p[0].committed_metadata);
        tm_str_null(o.topics[0].partitions[1].committed_metadata);
    }
    tm_check_bad_versions(&c_toc_req, &req);

    struct kp_txn_offset_commit_resp_partition rp[] = {{0, 0}, {3, KP_ERR_INVALID_TXN_STATE}};
    struct kp_txn_offset_commit_resp_topic rt[] = {{TM_S("orders"), TM_N(rp), rp}};
    struct kp_txn_offset_commit_resp resp = {1, TM_N(rt), rt};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_txn_offset_commit_resp o;
        struct kp_arena a;
        tm_check(&c_toc_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.topics[0].partitions[1].error_code, KP_ERR_INVALID_TXN_STATE);
    }
    tm_check_bad_versions(&c_toc_resp, &resp);

    /* golden: v3 with an empty member id and a null instance id and metadata */
    struct kp_txn_offset_commit_req_partition gp[] = {{0, 9, -1, KP_STR_NULL}};
    struct kp_txn_offset_commit_req_topic gt[] = {{TM_S("t"), 1, gp}};
    struct kp_txn_offset_commit_req g = {TM_S("x"), TM_S("g"),   1, 0, -1,
                                         TM_S(""),  KP_STR_NULL, 1, gt};
    size_t n = enc_len(&c_toc_req, 3, &g);
    EXPECT_BYTES(buf, n, 2, 'x', 2, 'g',             /* ids */
                 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,       /* producer id, epoch */
                 0xff, 0xff, 0xff, 0xff, 1, 0,       /* generation, member "", instance null */
                 2, 2, 't', 2,                       /* topics, name, partitions */
                 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, /* partition, offset */
                 0xff, 0xff, 0xff, 0xff, 0,          /* leader epoch, metadata null */
                 0, 0, 0);                           /* tags: partition, topic, body */
    n = enc_len(&c_toc_req, 0, &g);
    EXPECT_BYTES(buf, n, 0, 1, 'x', 0, 1, 'g', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, /* */
                 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1,                          /* */
                 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0xff, 0xff);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kp_msg_txn");
    TCase *tc = tcase_create("txn");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_add_partitions_round_trip);
    tcase_add_test(tc, test_add_partitions_golden);
    tcase_add_test(tc, test_add_offsets_and_end_txn);
    tcase_add_test(tc, test_txn_offset_commit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
