/*
 * test_kp_msg_markers — WriteTxnMarkers (27) v0-1 (proto/kp_msg_markers.c). Every message at
 * every version goes through tm_check (encode, every strict prefix rejected, hostile counts, a
 * trailing byte, decode, smaller arenas, encode(decode(x)) == x) with field comparison; golden
 * bytes written by hand from Kafka's schemas for v0 and v1 (the coordinator epoch after the
 * topics); unknown tagged fields skipped; forged counts rejected before the arena grows;
 * versions outside 0-1 refused.
 */
#include "kp_msg_markers.h"
#include "test_kp_msg_common.h"
#include "tb_check.h"

TM_CODEC(c_req, kp_write_txn_markers_req, struct kp_write_txn_markers_req, 0, 1);
TM_CODEC(c_resp, kp_write_txn_markers_resp, struct kp_write_txn_markers_resp, 0, 1);

static const int32_t parts[] = {0, 2, 9};

START_TEST(test_request_round_trip)
{
    struct kp_write_txn_markers_topic t0[] = {{TM_S("orders"), TM_N(parts), parts},
                                              {TM_S("__consumer_offsets"), 1, &parts[2]}};
    struct kp_write_txn_markers_topic t1[] = {{TM_S("x"), 0, NULL}};
    struct kp_write_txn_marker m[] = {{4000, 3, true, TM_N(t0), t0, 17},
                                      {-1, -1, false, TM_N(t1), t1, 0}};
    struct kp_write_txn_markers_req req = {TM_N(m), m};
    for (int16_t v = 0; v <= 1; v++) {
        struct kp_write_txn_markers_req o;
        struct kp_arena a;
        tm_check(&c_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_markers, 2);
        ck_assert(o.markers[0].producer_id == 4000 && o.markers[0].producer_epoch == 3);
        ck_assert(o.markers[0].transaction_result && !o.markers[1].transaction_result);
        ck_assert_int_eq(o.markers[0].coordinator_epoch, 17);
        ck_assert_int_eq(o.markers[0].n_topics, 2);
        tm_str_eq(o.markers[0].topics[0].name, t0[0].name);
        tm_i32s_eq(o.markers[0].topics[0].n_partitions, o.markers[0].topics[0].partitions, 3,
                   parts);
        tm_str_eq(o.markers[0].topics[1].name, t0[1].name);
        ck_assert_int_eq(o.markers[0].topics[1].partitions[0], 9);
        ck_assert(o.markers[1].producer_id == -1 && o.markers[1].producer_epoch == -1);
        ck_assert_int_eq(o.markers[1].topics[0].n_partitions, 0);
    }
    tm_check_bad_versions(&c_req, &req);
    struct kp_write_txn_markers_req empty = {0, NULL};
    for (int16_t v = 0; v <= 1; v++) {
        struct kp_write_txn_markers_req o;
        struct kp_arena a;
        tm_check(&c_req, v, &empty, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_markers, 0);
    }
}
END_TEST

START_TEST(test_response_round_trip)
{
    struct kp_write_txn_markers_partition_result p0[] = {
        {0, 0}, {2, KP_ERR_NOT_LEADER_OR_FOLLOWER}, {9, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION}};
    struct kp_write_txn_markers_topic_result t0[] = {{TM_S("orders"), TM_N(p0), p0},
                                                     {TM_S("t"), 0, NULL}};
    struct kp_write_txn_marker_result m[] = {{4000, TM_N(t0), t0}, {5, 0, NULL}};
    struct kp_write_txn_markers_resp resp = {TM_N(m), m};
    for (int16_t v = 0; v <= 1; v++) {
        struct kp_write_txn_markers_resp o;
        struct kp_arena a;
        tm_check(&c_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_markers, 2);
        ck_assert(o.markers[0].producer_id == 4000 && o.markers[1].producer_id == 5);
        ck_assert_int_eq(o.markers[0].n_topics, 2);
        tm_str_eq(o.markers[0].topics[0].name, t0[0].name);
        ck_assert_int_eq(o.markers[0].topics[0].n_partitions, 3);
        ck_assert_int_eq(o.markers[0].topics[0].partitions[1].partition_index, 2);
        ck_assert_int_eq(o.markers[0].topics[0].partitions[1].error_code,
                         KP_ERR_NOT_LEADER_OR_FOLLOWER);
        ck_assert_int_eq(o.markers[0].topics[0].partitions[2].error_code,
                         KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
        ck_assert_int_eq(o.markers[1].n_topics, 0);
    }
    tm_check_bad_versions(&c_resp, &resp);
}
END_TEST

START_TEST(test_golden)
{
    static const int32_t p1[] = {1};
    struct kp_write_txn_markers_topic t[] = {{TM_S("t"), 1, p1}};
    struct kp_write_txn_marker m[] = {{7, 2, true, 1, t, 5}};
    struct kp_write_txn_markers_req req = {1, m};
    size_t n = enc_len(&c_req, 0, &req);
    EXPECT_BYTES(buf, n, 0, 0, 0, 1,     /* [markers] */
                 0, 0, 0, 0, 0, 0, 0, 7, /* producer id */
                 0, 2, 1,                /* epoch, COMMIT */
                 0, 0, 0, 1, 0, 1, 't',  /* [topics]: name */
                 0, 0, 0, 1, 0, 0, 0, 1, /* [partition indexes] */
                 0, 0, 0, 5);            /* coordinator epoch */
    n = enc_len(&c_req, 1, &req);
    EXPECT_BYTES(buf, n, 2,                       /* compact [markers] */
                 0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 1, /* pid, epoch, COMMIT */
                 2, 2, 't', 2, 0, 0, 0, 1,        /* compact topics, name, partitions */
                 0,                               /* topic tags */
                 0, 0, 0, 5,                      /* coordinator epoch */
                 0,                               /* marker tags */
                 0);                              /* body tags */
    struct kp_write_txn_markers_partition_result rp[] = {{1, 6}};
    struct kp_write_txn_markers_topic_result rt[] = {{TM_S("t"), 1, rp}};
    struct kp_write_txn_marker_result rm[] = {{7, 1, rt}};
    struct kp_write_txn_markers_resp resp = {1, rm};
    n = enc_len(&c_resp, 0, &resp);
    EXPECT_BYTES(buf, n, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7, /* [markers], pid */
                 0, 0, 0, 1, 0, 1, 't',                      /* [topics], name */
                 0, 0, 0, 1, 0, 0, 0, 1, 0, 6);              /* [partitions] */
    n = enc_len(&c_resp, 1, &resp);
    EXPECT_BYTES(buf, n, 2, 0, 0, 0, 0, 0, 0, 0, 7, /* */
                 2, 2, 't', 2, 0, 0, 0, 1, 0, 6,    /* */
                 0, 0, 0, 0);                       /* partition, topic, marker, body tags */

    /* an unknown tagged field (tag 9, 2 bytes) in the body is skipped */
    static const uint8_t tagged[] = {1, 1, 9, 2, 0xaa, 0xbb};
    struct kp_write_txn_markers_req o;
    ck_assert_int_eq(dec_bytes(&c_req, 1, tagged, sizeof tagged, &o), 0);
    ck_assert_int_eq(o.n_markers, 0);
    /* ... and in a marker */
    static const uint8_t mtag[] = {2, 0, 0, 0, 0, 0, 0, 0, 7, 0,    2,
                                   0, 1, 0, 0, 0, 5, 1, 3, 1, 0x55, 0};
    ck_assert_int_eq(dec_bytes(&c_req, 1, mtag, sizeof mtag, &o), 0);
    ck_assert_int_eq(o.n_markers, 1);
    ck_assert(!o.markers[0].transaction_result && o.markers[0].coordinator_epoch == 5);
    /* a forged marker count fails before the arena grows for it */
    static const uint8_t forged[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    tm_check_forged(&c_req, 0, forged, sizeof forged, 0);
    /* a forged partition count inside a marker */
    static const uint8_t forged_p[] = {0, 0, 0, 1, 0, 0, 0, 0, 0,   0,    0,    7,    0,
                                       2, 1, 0, 0, 0, 1, 0, 1, 't', 0x7f, 0xff, 0xff, 0xff};
    tm_check_forged(&c_req, 0, forged_p, sizeof forged_p,
                    kp_arena_need(2, sizeof(struct kp_write_txn_marker) +
                                         sizeof(struct kp_write_txn_markers_topic)));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kp_msg_markers");
    TCase *tc = tcase_create("markers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_request_round_trip);
    tcase_add_test(tc, test_response_round_trip);
    tcase_add_test(tc, test_golden);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
