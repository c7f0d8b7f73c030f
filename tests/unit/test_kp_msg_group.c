/*
 * test_kp_msg_group — the consumer-group codecs (proto/kp_msg_group.c): FindCoordinator 0-2,
 * JoinGroup 0-5, SyncGroup 0-3, Heartbeat 0-3, LeaveGroup 0-1, OffsetCommit 0-5, OffsetFetch
 * 1-4. Every message at every version goes through tm_check (encode, every strict prefix
 * rejected, hostile counts, trailing byte, decode with field comparison, smaller arenas,
 * encode(decode(x)) == x); golden bytes written by hand from the Kafka schemas; encoded lengths
 * per version; forged counts rejected before the arena grows; null versus empty.
 */
#include "test_kp_msg_common.h"
#include "tb_check.h"

TM_CODEC(c_fc_req, kp_find_coordinator_req, struct kp_find_coordinator_req, 0, 4);
TM_CODEC(c_fc_resp, kp_find_coordinator_resp, struct kp_find_coordinator_resp, 0, 4);
TM_CODEC(c_jg_req, kp_join_group_req, struct kp_join_group_req, 0, 9);
TM_CODEC(c_jg_resp, kp_join_group_resp, struct kp_join_group_resp, 0, 9);
TM_CODEC(c_sg_req, kp_sync_group_req, struct kp_sync_group_req, 0, 5);
TM_CODEC(c_sg_resp, kp_sync_group_resp, struct kp_sync_group_resp, 0, 5);
TM_CODEC(c_hb_req, kp_heartbeat_req, struct kp_heartbeat_req, 0, 4);
TM_CODEC(c_hb_resp, kp_heartbeat_resp, struct kp_heartbeat_resp, 0, 4);
TM_CODEC(c_lg_req, kp_leave_group_req, struct kp_leave_group_req, 0, 5);
TM_CODEC(c_lg_resp, kp_leave_group_resp, struct kp_leave_group_resp, 0, 5);
TM_CODEC(c_oc_req, kp_offset_commit_req, struct kp_offset_commit_req, 0, 8);
TM_CODEC(c_oc_resp, kp_offset_commit_resp, struct kp_offset_commit_resp, 0, 8);
TM_CODEC(c_of_req, kp_offset_fetch_req, struct kp_offset_fetch_req, 1, 8);
TM_CODEC(c_of_resp, kp_offset_fetch_resp, struct kp_offset_fetch_resp, 1, 8);

static const struct kp_str s_empty = {"", 0};

/* ---- FindCoordinator -------------------------------------------------------------------- */

START_TEST(test_find_coordinator_round_trip)
{
    struct kp_find_coordinator_req req = {TM_S("my-group"), 0};
    static const size_t req_len[] = {10, 11, 11};
    for (int16_t v = 0; v <= 2; v++) {
        struct kp_find_coordinator_req o;
        struct kp_arena a;
        req.key_type = v >= 1 ? 1 : 0;
        ck_assert_uint_eq(tm_check(&c_fc_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem),
                          req_len[v]);
        tm_str_eq(o.key, req.key);
        ck_assert_int_eq(o.key_type, v >= 1 ? 1 : 0);
    }
    tm_check_bad_versions(&c_fc_req, &req);

    struct kp_find_coordinator_resp resp = {
        7, KP_ERR_COORDINATOR_NOT_AVAILABLE, TM_S("loading"), 3, TM_S("broker-3"), 9093};
    static const size_t resp_len[] = {20, 33, 33};
    for (int16_t v = 0; v <= 2; v++) {
        struct kp_find_coordinator_resp o;
        struct kp_arena a;
        ck_assert_uint_eq(tm_check(&c_fc_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem),
                          resp_len[v]);
        ck_assert_int_eq(o.throttle_time_ms, v >= 1 ? 7 : 0);
        ck_assert_int_eq(o.error_code, KP_ERR_COORDINATOR_NOT_AVAILABLE);
        if (v >= 1)
            tm_str_eq(o.error_message, resp.error_message);
        else
            tm_str_null(o.error_message);
        ck_assert_int_eq(o.node_id, 3);
        tm_str_eq(o.host, resp.host);
        ck_assert_int_eq(o.port, 9093);
    }
    tm_check_bad_versions(&c_fc_resp, &resp);
}
END_TEST

START_TEST(test_find_coordinator_golden)
{
    struct kp_find_coordinator_resp ok = {0, 0, KP_STR_NULL, 1, TM_S("h"), 9092};
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_find_coordinator_resp_encode(&wr, 0, &ok), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 0, /* error_code */
                 0, 0, 0, 1,                /* node_id */
                 0, 1, 'h',                 /* host */
                 0, 0, 0x23, 0x84);         /* port 9092 */

    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_find_coordinator_resp_encode(&wr, 2, &ok), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 0, 0, 0, /* throttle_time_ms */
                 0, 0,                            /* error_code */
                 0xff, 0xff,                      /* error_message null */
                 0, 0, 0, 1, 0, 1, 'h', 0, 0, 0x23, 0x84);

    struct kp_find_coordinator_resp err = {100, KP_ERR_NOT_COORDINATOR, TM_S("no"), -1, s_empty,
                                           -1};
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_find_coordinator_resp_encode(&wr, 2, &err), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 0, 0, 100, 0, 16, 0, 2, 'n', 'o', 0xff, 0xff, 0xff, 0xff,
                 0, 0, 0xff, 0xff, 0xff, 0xff);

    /* Requests: v0 is the key alone; v1+ adds key_type. */
    struct kp_find_coordinator_req req = {TM_S("g"), 0};
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_find_coordinator_req_encode(&wr, 0, &req), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 1, 'g');
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_find_coordinator_req_encode(&wr, 2, &req), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 1, 'g', 0);
}
END_TEST

START_TEST(test_find_coordinator_null_vs_empty)
{
    struct kp_find_coordinator_resp r = {0, 0, s_empty, 1, TM_S("h"), 1};
    for (int16_t v = 1; v <= 2; v++) {
        struct kp_find_coordinator_resp o;
        struct kp_arena a;
        r.error_message = s_empty;
        tm_check(&c_fc_resp, v, &r, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.error_message.len, 0);
        r.error_message = KP_STR_NULL;
        tm_check(&c_fc_resp, v, &r, &o, buf, &a, out_mem, sizeof out_mem);
        tm_str_null(o.error_message);
    }
    /* host is a STRING: a null there is malformed. */
    static const uint8_t bad_host[] = {0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0, 0, 0, 1};
    struct kp_find_coordinator_resp o;
    ck_assert_int_eq(dec_bytes(&c_fc_resp, 0, bad_host, sizeof bad_host, &o), -EBADMSG);
    /* key is a STRING too. */
    static const uint8_t bad_key[] = {0xff, 0xff, 0};
    struct kp_find_coordinator_req oq;
    ck_assert_int_eq(dec_bytes(&c_fc_req, 1, bad_key, sizeof bad_key, &oq), -EBADMSG);
}
END_TEST

/* ---- JoinGroup -------------------------------------------------------------------------- */

static const struct kp_join_group_protocol jg_protocols[] = {
    {TM_S("range"), TM_B("\x00\x01\x00\x00\x00\x01\x00\x01t")},
    {TM_S("roundrobin"), {NULL, 0}},
};

START_TEST(test_join_group_round_trip)
{
    struct kp_join_group_req req = {
        TM_S("grp"),        45000,       300000, TM_S("m-1"), TM_S("instance-1"), TM_S("consumer"),
        TM_N(jg_protocols), jg_protocols};
    /* 5 + 4 + 5 + 10 + 4 + (7 + 4 + 9) + (12 + 4) = 64; + 4 rebalance v1+; + 12 instance v5 */
    static const size_t req_len[] = {64, 68, 68, 68, 68, 80};
    for (int16_t v = 0; v <= 5; v++) {
        struct kp_join_group_req o;
        struct kp_arena a;
        ck_assert_uint_eq(tm_check(&c_jg_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem),
                          req_len[v]);
        tm_str_eq(o.group_id, req.group_id);
        ck_assert_int_eq(o.session_timeout_ms, 45000);
        ck_assert_int_eq(o.rebalance_timeout_ms, v >= 1 ? 300000 : -1);
        tm_str_eq(o.member_id, req.member_id);
        if (v >= 5)
            tm_str_eq(o.group_instance_id, req.group_instance_id);
        else
            tm_str_null(o.group_instance_id);
        tm_str_eq(o.protocol_type, req.protocol_type);
        ck_assert_int_eq(o.n_protocols, 2);
        for (int32_t i = 0; i < 2; i++) {
            tm_str_eq(o.protocols[i].name, jg_protocols[i].name);
            tm_bytes_eq(o.protocols[i].metadata, jg_protocols[i].metadata);
        }
    }
    tm_check_bad_versions(&c_jg_req, &req);

    static const struct kp_join_group_member members[] = {
        {TM_S("m-1"), TM_S("instance-1"), TM_B("\x00\x01meta")},
        {TM_S("m-2"), {NULL, -1}, {NULL, 0}},
    };
    struct kp_join_group_resp resp = {
        12, 0, 4, TM_S("range"), TM_S("m-1"), TM_S("m-2"), TM_N(members), members};
    /* 2 + 4 + 7 + 5 + 5 + 4 + (5 + 4 + 6) + (5 + 4), + 4 throttle v2+, + 12 + 2 v5 */
    static const size_t resp_len[] = {51, 51, 55, 55, 55, 69};
    for (int16_t v = 0; v <= 5; v++) {
        struct kp_join_group_resp o;
        struct kp_arena a;
        ck_assert_uint_eq(tm_check(&c_jg_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem),
                          resp_len[v]);
        ck_assert_int_eq(o.throttle_time_ms, v >= 2 ? 12 : 0);
        ck_assert_int_eq(o.error_code, 0);
        ck_assert_int_eq(o.generation_id, 4);
        tm_str_eq(o.protocol_name, resp.protocol_name);
        tm_str_eq(o.leader, resp.leader);
        tm_str_eq(o.member_id, resp.member_id);
        ck_assert_int_eq(o.n_members, 2);
        for (int32_t i = 0; i < 2; i++) {
            tm_str_eq(o.members[i].member_id, members[i].member_id);
            if (v >= 5)
                tm_str_eq(o.members[i].group_instance_id, members[i].group_instance_id);
            else
                tm_str_null(o.members[i].group_instance_id);
            tm_bytes_eq(o.members[i].metadata, members[i].metadata);
        }
    }
    tm_check_bad_versions(&c_jg_resp, &resp);

    /* A follower's answer: no members. */
    struct kp_join_group_resp follower = {0,           0,           4, TM_S("range"),
                                          TM_S("m-1"), TM_S("m-2"), 0, NULL};
    for (int16_t v = 0; v <= 5; v++) {
        struct kp_join_group_resp o;
        struct kp_arena a;
        tm_check(&c_jg_resp, v, &follower, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_members, 0);
    }
}
END_TEST

START_TEST(test_join_group_v5_req_golden)
{
    static const struct kp_join_group_protocol p[] = {{TM_S("range"), TM_B("\x00\x01")}};
    struct kp_join_group_req req = {TM_S("g"),        10000, 300000, s_empty, KP_STR_NULL,
                                    TM_S("consumer"), 1,     p};
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_join_group_req_encode(&wr, 5, &req), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 1, 'g',               /* group_id */
                 0, 0, 0x27, 0x10,                             /* session_timeout_ms 10000 */
                 0, 0x04, 0x93, 0xe0,                          /* rebalance_timeout_ms 300000 */
                 0, 0,                                         /* member_id "" */
                 0xff, 0xff,                                   /* group_instance_id null */
                 0, 8, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r', /* protocol_type */
                 0, 0, 0, 1,                                   /* protocols */
                 0, 5, 'r', 'a', 'n', 'g', 'e',                /* name */
                 0, 0, 0, 2, 0, 1);                            /* metadata BYTES */

    /* v0 of the same request: no rebalance timeout, no instance id. */
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_join_group_req_encode(&wr, 0, &req), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 1, 'g', 0, 0, 0x27, 0x10, 0, 0, 0, 8, 'c', 'o', 'n', 's',
                 'u', 'm', 'e', 'r', 0, 0, 0, 1, 0, 5, 'r', 'a', 'n', 'g', 'e', 0, 0, 0, 2, 0, 1);
}
END_TEST

START_TEST(test_join_group_null_vs_empty)
{
    struct kp_join_group_req req = {TM_S("g"), 1, 2, s_empty, s_empty, TM_S("consumer"), 0, NULL};
    struct kp_join_group_req o;
    struct kp_arena a;
    tm_check(&c_jg_req, 5, &req, &o, buf, &a, out_mem, sizeof out_mem);
    ck_assert_int_eq(o.group_instance_id.len, 0);
    req.group_instance_id = KP_STR_NULL;
    tm_check(&c_jg_req, 5, &req, &o, buf, &a, out_mem, sizeof out_mem);
    tm_str_null(o.group_instance_id);
    /* member_id is a STRING: null is written as empty and read back as empty. */
    req.member_id = KP_STR_NULL;
    tm_check(&c_jg_req, 5, &req, &o, buf, &a, out_mem, sizeof out_mem);
    ck_assert_int_eq(o.member_id.len, 0);
    /* A null metadata BYTES is written as empty; on the wire, -1 is malformed. */
    static const struct kp_join_group_protocol np[] = {{TM_S("r"), {NULL, -1}}};
    struct kp_join_group_req nreq = {TM_S("g"), 1, 2, s_empty, KP_STR_NULL, s_empty, 1, np};
    ck_assert_uint_eq(tm_check(&c_jg_req, 0, &nreq, &o, buf, &a, out_mem, sizeof out_mem), 22);
    ck_assert_int_eq(o.protocols[0].metadata.len, 0);
    static const uint8_t null_meta[] = {0,    1,    'g',         /* group_id */
                                        0,    0,    0,    1,     /* session_timeout_ms */
                                        0,    0,                 /* member_id */
                                        0,    0,                 /* protocol_type */
                                        0,    0,    0,    1,     /* protocols */
                                        0,    1,    'r',         /* name */
                                        0xff, 0xff, 0xff, 0xff}; /* metadata -1 */
    ck_assert_int_eq(dec_bytes(&c_jg_req, 0, null_meta, sizeof null_meta, &o), -EBADMSG);
    EXPECT_BYTES(buf, 22, 0, 1, 'g', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 'r', 0, 0, 0, 0);
}
END_TEST

START_TEST(test_join_group_forged_counts)
{
    /* v0: group "g", session 0, member "", protocol_type "", protocols 2^31-1. */
    static const uint8_t req[] = {0,    1,    'g',  0,    0, 0, 0,   0, 0, 0, 0,
                                  0x7f, 0xff, 0xff, 0xff, 0, 1, 'r', 0, 0, 0, 0};
    tm_check_forged(&c_jg_req, 0, req, sizeof req, 0);
    /* Response v5: throttle, error, generation, name, leader, member, members 2^31-1. */
    static const uint8_t resp[] = {0, 0, 0,    0,    0,    0,    0, 0, 0,    1,    0, 0, 0, 0,
                                   0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
    tm_check_forged(&c_jg_resp, 5, resp, sizeof resp, 0);
    /* A count just one more than the bytes could hold (each member >= 8 bytes at v0-4). */
    static const uint8_t one_more[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0};
    tm_check_forged(&c_jg_resp, 0, one_more, sizeof one_more, 0);
}
END_TEST

/* ---- SyncGroup -------------------------------------------------------------------------- */

START_TEST(test_sync_group_round_trip)
{
    static const struct kp_sync_group_assignment as[] = {
        {TM_S("m-1"), TM_B("\x00\x01\x00\x00\x00\x01\x00\x01t\x00\x00\x00\x01\x00\x00\x00\x00")},
        {TM_S("m-2"), {NULL, 0}},
    };
    struct kp_sync_group_req req = {TM_S("grp"), 9, TM_S("m-1"), TM_S("i-1"), TM_N(as), as};
    /* 5 + 4 + 5 + 4 + (5 + 4 + 17) + (5 + 4) = 53, + 5 instance v3 */
    static const size_t req_len[] = {53, 53, 53, 58};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_sync_group_req o;
        struct kp_arena a;
        ck_assert_uint_eq(tm_check(&c_sg_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem),
                          req_len[v]);
        tm_str_eq(o.group_id, req.group_id);
        ck_assert_int_eq(o.generation_id, 9);
        tm_str_eq(o.member_id, req.member_id);
        if (v >= 3)
            tm_str_eq(o.group_instance_id, req.group_instance_id);
        else
            tm_str_null(o.group_instance_id);
        ck_assert_int_eq(o.n_assignments, 2);
        for (int32_t i = 0; i < 2; i++) {
            tm_str_eq(o.assignments[i].member_id, as[i].member_id);
            tm_bytes_eq(o.assignments[i].assignment, as[i].assignment);
        }
    }
    tm_check_bad_versions(&c_sg_req, &req);

    /* A follower sends no assignments. */
    struct kp_sync_group_req follower = {TM_S("grp"), 9, TM_S("m-2"), KP_STR_NULL, 0, NULL};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_sync_group_req o;
        struct kp_arena a;
        tm_check(&c_sg_req, v, &follower, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_assignments, 0);
        tm_str_null(o.group_instance_id);
    }

    struct kp_sync_group_resp resp = {3, KP_ERR_REBALANCE_IN_PROGRESS, TM_B("\x00\x01xyz")};
    static const size_t resp_len[] = {11, 15, 15, 15};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_sync_group_resp o;
        struct kp_arena a;
        ck_assert_uint_eq(tm_check(&c_sg_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem),
                          resp_len[v]);
        ck_assert_int_eq(o.throttle_time_ms, v >= 1 ? 3 : 0);
        ck_assert_int_eq(o.error_code, KP_ERR_REBALANCE_IN_PROGRESS);
        tm_bytes_eq(o.assignment, resp.assignment);
    }
    tm_check_bad_versions(&c_sg_resp, &resp);
}
END_TEST

START_TEST(test_sync_group_v3_req_golden)
{
    static const struct kp_sync_group_assignment as[] = {{TM_S("m"), TM_B("\xaa")}};
    struct kp_sync_group_req req = {TM_S("g"), 1, TM_S("m"), TM_S("i"), 1, as};
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_sync_group_req_encode(&wr, 3, &req), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 1, 'g', /* group_id */
                 0, 0, 0, 1,                     /* generation_id */
                 0, 1, 'm',                      /* member_id */
                 0, 1, 'i',                      /* group_instance_id */
                 0, 0, 0, 1,                     /* assignments */
                 0, 1, 'm', 0, 0, 0, 1, 0xaa);   /* member_id, assignment BYTES */

    /* Null instance id at v3 is 0xffff; an empty one is 0x0000. */
    req.group_instance_id = KP_STR_NULL;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_sync_group_req_encode(&wr, 3, &req), 0);
    ck_assert_uint_eq(kp_wr_len(&wr), 24);
    ck_assert(buf[10] == 0xff && buf[11] == 0xff);
    req.group_instance_id = s_empty;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_sync_group_req_encode(&wr, 3, &req), 0);
    ck_assert(buf[10] == 0 && buf[11] == 0);
    struct kp_sync_group_req o;
    ck_assert_int_eq(dec_bytes(&c_sg_req, 3, buf, kp_wr_len(&wr), &o), 0);
    ck_assert_int_eq(o.group_instance_id.len, 0);
}
END_TEST

START_TEST(test_sync_group_forged_counts)
{
    static const uint8_t req[] = {0,    1,    'g',  0,    0, 0, 1,   0, 1, 'm', 0xff, 0xff,
                                  0x7f, 0xff, 0xff, 0xff, 0, 1, 'm', 0, 0, 0,   0};
    tm_check_forged(&c_sg_req, 3, req, sizeof req, 0);
    /* An assignment whose BYTES length is forged: the arena holds the one element only. */
    static const uint8_t len[] = {0, 1, 'g', 0, 0, 0,   1,    0,    1,    'm',  0,
                                  0, 0, 1,   0, 1, 'm', 0x7f, 0xff, 0xff, 0xff, 0xaa};
    tm_check_forged(&c_sg_req, 0, len, sizeof len,
                    kp_arena_need(1, sizeof(struct kp_sync_group_assignment)));
    static const uint8_t resp[] = {0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 1};
    tm_check_forged(&c_sg_resp, 1, resp, sizeof resp, 0);
}
END_TEST

/* ---- Heartbeat and LeaveGroup ----------------------------------------------------------- */

START_TEST(test_heartbeat_round_trip)
{
    struct kp_heartbeat_req req = {TM_S("grp"), 12, TM_S("m-1"), TM_S("i-1")};
    static const size_t req_len[] = {14, 14, 14, 19};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_heartbeat_req o;
        struct kp_arena a;
        ck_assert_uint_eq(tm_check(&c_hb_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem),
                          req_len[v]);
        tm_str_eq(o.group_id, req.group_id);
        ck_assert_int_eq(o.generation_id, 12);
        tm_str_eq(o.member_id, req.member_id);
        if (v >= 3)
            tm_str_eq(o.group_instance_id, req.group_instance_id);
        else
            tm_str_null(o.group_instance_id);
    }
    tm_check_bad_versions(&c_hb_req, &req);
    /* v3: null and empty instance ids stay apart. */
    struct kp_heartbeat_req o;
    struct kp_arena a;
    req.group_instance_id = KP_STR_NULL;
    ck_assert_uint_eq(tm_check(&c_hb_req, 3, &req, &o, buf, &a, out_mem, sizeof out_mem), 16);
    tm_str_null(o.group_instance_id);
    req.group_instance_id = s_empty;
    ck_assert_uint_eq(tm_check(&c_hb_req, 3, &req, &o, buf, &a, out_mem, sizeof out_mem), 16);
    ck_assert_int_eq(o.group_instance_id.len, 0);

    struct kp_heartbeat_resp resp = {5, KP_ERR_ILLEGAL_GENERATION};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_heartbeat_resp r;
        ck_assert_uint_eq(tm_check(&c_hb_resp, v, &resp, &r, buf, &a, out_mem, sizeof out_mem),
                          v >= 1 ? 6u : 2u);
        ck_assert_int_eq(r.throttle_time_ms, v >= 1 ? 5 : 0);
        ck_assert_int_eq(r.error_code, KP_ERR_ILLEGAL_GENERATION);
    }
    tm_check_bad_versions(&c_hb_resp, &resp);

    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_heartbeat_resp_encode(&wr, 3, &resp), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 0, 0, 5, 0, 22);
}
END_TEST

START_TEST(test_leave_group_round_trip)
{
    struct kp_leave_group_req req = {TM_S("grp"), TM_S("m-1")};
    for (int16_t v = 0; v <= 1; v++) {
        struct kp_leave_group_req o;
        struct kp_arena a;
        ck_assert_uint_eq(tm_check(&c_lg_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem), 10);
        tm_str_eq(o.group_id, req.group_id);
        tm_str_eq(o.member_id, req.member_id);
    }
    tm_check_bad_versions(&c_lg_req, &req);

    struct kp_leave_group_resp resp = {1, KP_ERR_UNKNOWN_MEMBER_ID};
    for (int16_t v = 0; v <= 1; v++) {
        struct kp_leave_group_resp o;
        struct kp_arena a;
        ck_assert_uint_eq(tm_check(&c_lg_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem),
                          v >= 1 ? 6u : 2u);
        ck_assert_int_eq(o.throttle_time_ms, v >= 1 ? 1 : 0);
        ck_assert_int_eq(o.error_code, KP_ERR_UNKNOWN_MEMBER_ID);
    }
    tm_check_bad_versions(&c_lg_resp, &resp);

    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_leave_group_req_encode(&wr, 1, &req), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 3, 'g', 'r', 'p', 0, 3, 'm', '-', '1');
}
END_TEST

/* ---- OffsetCommit ----------------------------------------------------------------------- */

static const struct kp_offset_commit_req_partition oc_p0[] = {
    {0, 42, 1700000000000LL, {NULL, -1}},
    {3, 0, 1700000000001LL, {"", 0}},
};
static const struct kp_offset_commit_req_partition oc_p1[] = {
    {1, INT64_MAX, 5, {"meta", 4}},
};
static const struct kp_offset_commit_req_topic oc_topics[] = {
    {{"t1", 2}, TM_N(oc_p0), oc_p0},
    {{"topic-2", 7}, TM_N(oc_p1), oc_p1},
};

START_TEST(test_offset_commit_round_trip)
{
    struct kp_offset_commit_req req = {TM_S("grp"),     7,        TM_S("m-1"), 86400000LL,
                                       TM_N(oc_topics), oc_topics};
    /* v0: 5 + 4 + (4 + 4 + 2 * (4 + 8 + 2)) + (9 + 4 + (4 + 8 + 6)) = 76.
     * v1: + generation 4 + member 5 + 3 commit_timestamps 24 = 109.
     * v2-4: v0 + 9 + retention 8 = 93. v5: v0 + 9 = 85. */
    static const size_t req_len[] = {76, 109, 93, 93, 93, 85};
    for (int16_t v = 0; v <= 5; v++) {
        struct kp_offset_commit_req o;
        struct kp_arena a;
        ck_assert_uint_eq(tm_check(&c_oc_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem),
                          req_len[v]);
        tm_str_eq(o.group_id, req.group_id);
        ck_assert_int_eq(o.generation_id, v >= 1 ? 7 : -1);
        if (v >= 1)
            tm_str_eq(o.member_id, req.member_id);
        else
            ck_assert_int_eq(o.member_id.len, 0);
        ck_assert(o.retention_time_ms == (v >= 2 && v <= 4 ? 86400000LL : -1));
        ck_assert_int_eq(o.n_topics, 2);
        for (int32_t i = 0; i < 2; i++) {
            const struct kp_offset_commit_req_topic *t = &o.topics[i], *w = &oc_topics[i];
            tm_str_eq(t->name, w->name);
            ck_assert_int_eq(t->n_partitions, w->n_partitions);
            for (int32_t j = 0; j < t->n_partitions; j++) {
                ck_assert_int_eq(t->partitions[j].partition_index,
                                 w->partitions[j].partition_index);
                ck_assert(t->partitions[j].committed_offset == w->partitions[j].committed_offset);
                ck_assert(t->partitions[j].commit_timestamp ==
                          (v == 1 ? w->partitions[j].commit_timestamp : -1));
                tm_str_eq(t->partitions[j].committed_metadata, w->partitions[j].committed_metadata);
            }
        }
    }
    tm_check_bad_versions(&c_oc_req, &req);

    static const struct kp_offset_commit_resp_partition rp[] = {
        {0, 0}, {3, KP_ERR_OFFSET_METADATA_TOO_LARGE}};
    static const struct kp_offset_commit_resp_topic rt[] = {{{"t1", 2}, TM_N(rp), rp},
                                                            {{"t2", 2}, 0, NULL}};
    struct kp_offset_commit_resp resp = {9, TM_N(rt), rt};
    for (int16_t v = 0; v <= 5; v++) {
        struct kp_offset_commit_resp o;
        struct kp_arena a;
        ck_assert_uint_eq(tm_check(&c_oc_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem),
                          (v >= 3 ? 4u : 0u) + 4 + 8 + 12 + 8);
        ck_assert_int_eq(o.throttle_time_ms, v >= 3 ? 9 : 0);
        ck_assert_int_eq(o.n_topics, 2);
        tm_str_eq(o.topics[0].name, rt[0].name);
        ck_assert_int_eq(o.topics[0].n_partitions, 2);
        ck_assert_int_eq(o.topics[0].partitions[1].partition_index, 3);
        ck_assert_int_eq(o.topics[0].partitions[1].error_code, KP_ERR_OFFSET_METADATA_TOO_LARGE);
        tm_str_eq(o.topics[1].name, rt[1].name);
        ck_assert_int_eq(o.topics[1].n_partitions, 0);
    }
    tm_check_bad_versions(&c_oc_resp, &resp);
}
END_TEST

START_TEST(test_offset_commit_golden)
{
    static const struct kp_offset_commit_req_partition p[] = {{2, 10, -1, {"", 0}}};
    static const struct kp_offset_commit_req_topic t[] = {{{"t", 1}, 1, p}};
    struct kp_offset_commit_req req = {TM_S("g"), 1, TM_S("m"), -1, 1, t};
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_offset_commit_req_encode(&wr, 5, &req), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 1, 'g', 0, 0, 0, 1, 0, 1, 'm', /* no retention at v5 */
                 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1,                     /* topics, partitions */
                 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0);            /* p2 @10, "" */
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_offset_commit_req_encode(&wr, 2, &req), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 1, 'g', 0, 0, 0, 1, 0, 1, 'm', 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0xff, 0xff, /* retention_time_ms -1 */
                 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0);
}
END_TEST

START_TEST(test_offset_commit_forged_counts)
{
    /* v5: group, generation, member, topics 2^31-1. */
    static const uint8_t top[] = {0,    1,    'g',  0, 0, 0,   1, 0, 0, 0x7f,
                                  0xff, 0xff, 0xff, 0, 1, 't', 0, 0, 0, 0};
    tm_check_forged(&c_oc_req, 5, top, sizeof top, 0);
    /* One topic whose partitions count claims more than the bytes left (14 per partition). */
    static const uint8_t nested[] = {0, 1, 'g', 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 't',  0,
                                     0, 0, 2,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    tm_check_forged(&c_oc_req, 5, nested, sizeof nested,
                    kp_arena_need(1, sizeof(struct kp_offset_commit_req_topic)));
    static const uint8_t resp[] = {0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 't', 0, 0, 0, 0};
    tm_check_forged(&c_oc_resp, 3, resp, sizeof resp, 0);
}
END_TEST

/* ---- OffsetFetch ------------------------------------------------------------------------ */

START_TEST(test_offset_fetch_round_trip)
{
    static const int32_t parts[] = {0, 1, 7};
    static const struct kp_offset_fetch_req_topic ts[] = {
        {{"t1", 2}, TM_N(parts), parts},
        {{"t2", 2}, 0, NULL},
    };
    struct kp_offset_fetch_req req = {TM_S("grp"), TM_N(ts), ts};
    for (int16_t v = 1; v <= 4; v++) {
        struct kp_offset_fetch_req o;
        struct kp_arena a;
        ck_assert_uint_eq(tm_check(&c_of_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem),
                          5 + 4 + (4 + 4 + 12) + (4 + 4));
        tm_str_eq(o.group_id, req.group_id);
        ck_assert_int_eq(o.n_topics, 2);
        tm_str_eq(o.topics[0].name, ts[0].name);
        tm_i32s_eq(o.topics[0].n_partition_indexes, o.topics[0].partition_indexes, 3, parts);
        tm_str_eq(o.topics[1].name, ts[1].name);
        ck_assert_int_eq(o.topics[1].n_partition_indexes, 0);
    }
    tm_check_bad_versions(&c_of_req, &req);

    static const struct kp_offset_fetch_resp_partition rp[] = {
        {0, 100, {"m", 1}, 0},
        {1, -1, {NULL, -1}, 0},
        {7, -1, {"", 0}, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION},
    };
    static const struct kp_offset_fetch_resp_topic rt[] = {{{"t1", 2}, TM_N(rp), rp}};
    struct kp_offset_fetch_resp resp = {4, TM_N(rt), rt, KP_ERR_NOT_COORDINATOR};
    /* 4 + 4 + 4 + 3 * (4 + 8 + 2 + 2) + 1 ("m"), + 2 error v2+, + 4 throttle v3+ */
    static const size_t resp_len[] = {0, 61, 63, 67, 67};
    for (int16_t v = 1; v <= 4; v++) {
        struct kp_offset_fetch_resp o;
        struct kp_arena a;
        ck_assert_uint_eq(tm_check(&c_of_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem),
                          resp_len[v]);
        ck_assert_int_eq(o.throttle_time_ms, v >= 3 ? 4 : 0);
        ck_assert_int_eq(o.error_code, v >= 2 ? KP_ERR_NOT_COORDINATOR : 0);
        ck_assert_int_eq(o.n_topics, 1);
        tm_str_eq(o.topics[0].name, rt[0].name);
        ck_assert_int_eq(o.topics[0].n_partitions, 3);
        for (int32_t j = 0; j < 3; j++) {
            const struct kp_offset_fetch_resp_partition *p = &o.topics[0].partitions[j];
            ck_assert_int_eq(p->partition_index, rp[j].partition_index);
            ck_assert(p->committed_offset == rp[j].committed_offset);
            tm_str_eq(p->metadata, rp[j].metadata);
            ck_assert_int_eq(p->error_code, rp[j].error_code);
        }
    }
    tm_check_bad_versions(&c_of_resp, &resp);
}
END_TEST

START_TEST(test_offset_fetch_null_topics)
{
    /* v2+: null topics (all committed partitions) and an empty array stay apart. */
    struct kp_offset_fetch_req all = {TM_S("g"), -1, NULL};
    struct kp_offset_fetch_req none = {TM_S("g"), 0, NULL};
    for (int16_t v = 2; v <= 4; v++) {
        struct kp_offset_fetch_req o;
        struct kp_arena a;
        tm_check(&c_of_req, v, &all, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_topics, -1);
        ck_assert_ptr_null(o.topics);
        EXPECT_BYTES(buf, 7, 0, 1, 'g', 0xff, 0xff, 0xff, 0xff);
        tm_check(&c_of_req, v, &none, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_topics, 0);
        EXPECT_BYTES(buf, 7, 0, 1, 'g', 0, 0, 0, 0);
    }
    /* v1 has no null array: the encoder refuses and writes nothing; the decoder rejects. */
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_offset_fetch_req_encode(&wr, 1, &all), -EINVAL);
    ck_assert_uint_eq(kp_wr_len(&wr), 0);
    static const uint8_t null_v1[] = {0, 1, 'g', 0xff, 0xff, 0xff, 0xff};
    struct kp_offset_fetch_req o;
    ck_assert_int_eq(dec_bytes(&c_of_req, 1, null_v1, sizeof null_v1, &o), -EBADMSG);
    ck_assert_int_eq(dec_bytes(&c_of_req, 2, null_v1, sizeof null_v1, &o), 0);
    ck_assert_int_eq(o.n_topics, -1);
    /* Any other negative count is refused by the encoder at every version. */
    struct kp_offset_fetch_req neg = {TM_S("g"), -2, NULL};
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_offset_fetch_req_encode(&wr, 4, &neg), -EINVAL);
    /* The response's topics are never nullable. */
    struct kp_offset_fetch_resp r = {0, -1, NULL, 0};
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_offset_fetch_resp_encode(&wr, 4, &r), -EINVAL);
}
END_TEST

START_TEST(test_offset_fetch_v4_resp_golden)
{
    static const struct kp_offset_fetch_resp_partition rp[] = {
        {0, 5, {NULL, -1}, 0},
        {1, -1, {"", 0}, 0},
    };
    static const struct kp_offset_fetch_resp_topic rt[] = {{{"t", 1}, 2, rp}};
    struct kp_offset_fetch_resp resp = {0, 1, rt, KP_ERR_NONE};
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_offset_fetch_resp_encode(&wr, 4, &resp), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 0, 0, 0,                /* throttle_time_ms (first) */
                 0, 0, 0, 1,                                     /* topics */
                 0, 1, 't',                                      /* name */
                 0, 0, 0, 2,                                     /* partitions */
                 0, 0, 0, 0,                                     /* partition 0 */
                 0, 0, 0, 0, 0, 0, 0, 5,                         /* committed_offset 5 */
                 0xff, 0xff,                                     /* metadata null */
                 0, 0,                                           /* error_code */
                 0, 0, 0, 1,                                     /* partition 1 */
                 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* -1: nothing committed */
                 0, 0,                                           /* metadata "" */
                 0, 0,                                           /* error_code */
                 0, 0);                                          /* top-level error_code (last) */

    /* v2: no throttle, the top-level error still last. */
    resp.error_code = KP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    resp.n_topics = 0;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_offset_fetch_resp_encode(&wr, 2, &resp), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 0, 0, 0, 0, 14);
}
END_TEST

START_TEST(test_offset_fetch_forged_counts)
{
    static const uint8_t top[] = {0, 1, 'g', 0x7f, 0xff, 0xff, 0xff, 0, 1, 't', 0, 0, 0, 0};
    tm_check_forged(&c_of_req, 4, top, sizeof top, 0);
    static const uint8_t nested[] = {0,   1,    'g',  0,    0,    0, 1, 0, 1,
                                     't', 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    tm_check_forged(&c_of_req, 4, nested, sizeof nested,
                    kp_arena_need(1, sizeof(struct kp_offset_fetch_req_topic)));
    static const uint8_t resp[] = {0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 't', 0, 0, 0, 0, 0, 0};
    tm_check_forged(&c_of_resp, 4, resp, sizeof resp, 0);
    /* Partitions: 16 bytes each at least; 2 claimed, 17 left. */
    static const uint8_t parts[] = {0, 0, 0, 1, 0, 1, 't', 0, 0,    0,    2, 0, 0, 0, 0,
                                    0, 0, 0, 0, 0, 0, 0,   0, 0xff, 0xff, 0, 0, 0, 0};
    tm_check_forged(&c_of_resp, 2, parts, sizeof parts,
                    kp_arena_need(1, sizeof(struct kp_offset_fetch_resp_topic)));
}
END_TEST

/* Every group version covered here is non-flexible: request header v1, response header v0. */
START_TEST(test_group_apis_non_flexible)
{
    static const struct kp_api_range r[] = {
        {KP_API_OFFSET_COMMIT, 0, 5}, {KP_API_OFFSET_FETCH, 1, 4}, {KP_API_FIND_COORDINATOR, 0, 2},
        {KP_API_JOIN_GROUP, 0, 5},    {KP_API_HEARTBEAT, 0, 3},    {KP_API_LEAVE_GROUP, 0, 1},
        {KP_API_SYNC_GROUP, 0, 3}};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        for (int16_t v = r[i].min_version; v <= r[i].max_version; v++) {
            ck_assert(!kp_api_flexible(r[i].api_key, v));
            ck_assert_int_eq(kp_api_req_hdr_version(r[i].api_key, v), 1);
            ck_assert_int_eq(kp_api_resp_hdr_version(r[i].api_key, v), 0);
        }
        /* The next version up is flexible for all but OffsetCommit/OffsetFetch/LeaveGroup,
         * whose flexible versions start further up (8, 6, 4). */
    }
    ck_assert(kp_api_flexible(KP_API_FIND_COORDINATOR, 3));
    ck_assert(kp_api_flexible(KP_API_JOIN_GROUP, 6));
    ck_assert(kp_api_flexible(KP_API_HEARTBEAT, 4));
    ck_assert(kp_api_flexible(KP_API_SYNC_GROUP, 4));
}
END_TEST

/* Encoders refuse what the wire cannot carry, before writing a byte. */
#define EXPECT_EINVAL(fn, v, msg)                                                                  \
    do {                                                                                           \
        struct kp_wr wr_;                                                                          \
        kp_wr_init(&wr_, buf, sizeof buf);                                                         \
        ck_assert_int_eq(fn(&wr_, (v), (msg)), -EINVAL);                                           \
        ck_assert_uint_eq(kp_wr_len(&wr_), 0);                                                     \
    } while (0)

START_TEST(test_group_encoders_reject_invalid)
{
    static const char big[INT16_MAX + 1] = {0};
    const struct kp_str too_long = {big, INT16_MAX + 1};
    const struct kp_str dangling = {NULL, 3};

    struct kp_find_coordinator_req fc = {too_long, 0};
    EXPECT_EINVAL(kp_find_coordinator_req_encode, 2, &fc);
    struct kp_find_coordinator_resp fcr = {0, 0, dangling, 1, TM_S("h"), 1};
    EXPECT_EINVAL(kp_find_coordinator_resp_encode, 1, &fcr);

    struct kp_join_group_req jg = {TM_S("g"),        1, 1,   s_empty, KP_STR_NULL,
                                   TM_S("consumer"), 1, NULL};
    EXPECT_EINVAL(kp_join_group_req_encode, 5, &jg);
    static const struct kp_join_group_protocol bad_meta[] = {{TM_S("r"), {NULL, 5}}};
    jg.protocols = bad_meta;
    EXPECT_EINVAL(kp_join_group_req_encode, 5, &jg);
    jg.n_protocols = -1; /* not nullable */
    EXPECT_EINVAL(kp_join_group_req_encode, 5, &jg);
    static const struct kp_join_group_member bad_member[] = {{dangling, KP_STR_NULL, {NULL, 0}}};
    struct kp_join_group_resp jgr = {0, 0, 1, s_empty, s_empty, s_empty, 1, bad_member};
    EXPECT_EINVAL(kp_join_group_resp_encode, 5, &jgr);

    struct kp_sync_group_req sg = {TM_S("g"), 1, TM_S("m"), KP_STR_NULL, -1, NULL};
    EXPECT_EINVAL(kp_sync_group_req_encode, 3, &sg);
    struct kp_sync_group_resp sgr = {0, 0, {NULL, 1}};
    EXPECT_EINVAL(kp_sync_group_resp_encode, 3, &sgr);
    struct kp_heartbeat_req hb = {TM_S("g"), 1, too_long, KP_STR_NULL};
    EXPECT_EINVAL(kp_heartbeat_req_encode, 3, &hb);
    struct kp_leave_group_req lg = {dangling, TM_S("m")};
    EXPECT_EINVAL(kp_leave_group_req_encode, 1, &lg);

    static const struct kp_offset_commit_req_partition long_meta[] = {
        {0, 1, -1, {big, INT16_MAX + 1}}};
    static const struct kp_offset_commit_req_topic oct[] = {{{"t", 1}, 1, long_meta}};
    struct kp_offset_commit_req oc = {TM_S("g"), 1, TM_S("m"), -1, 1, oct};
    EXPECT_EINVAL(kp_offset_commit_req_encode, 5, &oc);
    oc.n_topics = -1;
    EXPECT_EINVAL(kp_offset_commit_req_encode, 5, &oc);
    static const struct kp_offset_commit_resp_topic ocrt[] = {{{"t", 1}, 2, NULL}};
    struct kp_offset_commit_resp ocr = {0, 1, ocrt};
    EXPECT_EINVAL(kp_offset_commit_resp_encode, 5, &ocr);

    static const struct kp_offset_fetch_req_topic oft[] = {{{"t", 1}, -1, NULL}};
    struct kp_offset_fetch_req of = {TM_S("g"), 1, oft};
    EXPECT_EINVAL(kp_offset_fetch_req_encode, 4, &of);
    static const struct kp_offset_fetch_resp_partition ofp[] = {{0, 1, dangling, 0}};
    static const struct kp_offset_fetch_resp_topic ofrt[] = {{{"t", 1}, 1, ofp}};
    struct kp_offset_fetch_resp ofr = {0, 1, ofrt, 0};
    EXPECT_EINVAL(kp_offset_fetch_resp_encode, 4, &ofr);
}
END_TEST

static Suite *kp_msg_group_suite(void)
{
    Suite *s = suite_create("kp_msg_group");
    TCase *co = tcase_create("coordinator");
    tcase_add_test(co, test_find_coordinator_round_trip);
    tcase_add_test(co, test_find_coordinator_golden);
    tcase_add_test(co, test_find_coordinator_null_vs_empty);
    tcase_add_test(co, test_group_apis_non_flexible);
    tcase_add_test(co, test_group_encoders_reject_invalid);
    suite_add_tcase(s, co);

    TCase *mb = tcase_create("membership");
    tcase_set_timeout(mb, 60);
    tcase_add_test(mb, test_join_group_round_trip);
    tcase_add_test(mb, test_join_group_v5_req_golden);
    tcase_add_test(mb, test_join_group_null_vs_empty);
    tcase_add_test(mb, test_join_group_forged_counts);
    tcase_add_test(mb, test_sync_group_round_trip);
    tcase_add_test(mb, test_sync_group_v3_req_golden);
    tcase_add_test(mb, test_sync_group_forged_counts);
    tcase_add_test(mb, test_heartbeat_round_trip);
    tcase_add_test(mb, test_leave_group_round_trip);
    suite_add_tcase(s, mb);

    TCase *of = tcase_create("offsets");
    tcase_set_timeout(of, 60);
    tcase_add_test(of, test_offset_commit_round_trip);
    tcase_add_test(of, test_offset_commit_golden);
    tcase_add_test(of, test_offset_commit_forged_counts);
    tcase_add_test(of, test_offset_fetch_round_trip);
    tcase_add_test(of, test_offset_fetch_null_topics);
    tcase_add_test(of, test_offset_fetch_v4_resp_golden);
    tcase_add_test(of, test_offset_fetch_forged_counts);
    suite_add_tcase(s, of);
    return s;
}

int main(void) { return tb_ck_run(kp_msg_group_suite()); }
