/*
 * test_kp_msg_flex — the versions of the turn-1 messages that modern clients send (Java 3.x,
 * librdkafka 2.x, franz-go, sarama V2_1+): flexible versions (KIP-482) and the fields they
 * added. For each message and direction, golden bytes written by hand from Kafka's schema
 * (apache/kafka clients/src/main/resources/common/message/<Name>{Request,Response}.json), field
 * by field in the comments, independent of the codec; then tm_check at that version (every
 * prefix rejected, hostile counts, trailing byte, smaller arenas, decode/encode identity),
 * forged compact and int32 counts at every position, field checks on the decoded struct, and
 * tm_check at every other version the message can be encoded at. Fetch's piecewise encoder
 * (the broker's zero-copy path) is checked against the golden bytes and its sizes.
 */
#include "test_kp_msg_common.h"
#include "tb_check.h"

TM_CODEC(c_md_req, kp_metadata_req, struct kp_metadata_req, 0, 12);
TM_CODEC(c_md_resp, kp_metadata_resp, struct kp_metadata_resp, 0, 12);
TM_CODEC(c_pr_req, kp_produce_req, struct kp_produce_req, 3, 9);
TM_CODEC(c_pr_resp, kp_produce_resp, struct kp_produce_resp, 3, 9);
TM_CODEC(c_fe_req, kp_fetch_req, struct kp_fetch_req, 4, 13);
TM_CODEC(c_fe_resp, kp_fetch_resp, struct kp_fetch_resp, 4, 13);
TM_CODEC(c_lo_req, kp_list_offsets_req, struct kp_list_offsets_req, 1, 7);
TM_CODEC(c_lo_resp, kp_list_offsets_resp, struct kp_list_offsets_resp, 1, 7);
TM_CODEC(c_oc_req, kp_offset_commit_req, struct kp_offset_commit_req, 0, 8);
TM_CODEC(c_oc_resp, kp_offset_commit_resp, struct kp_offset_commit_resp, 0, 8);
TM_CODEC(c_of_req, kp_offset_fetch_req, struct kp_offset_fetch_req, 1, 8);
TM_CODEC(c_of_resp, kp_offset_fetch_resp, struct kp_offset_fetch_resp, 1, 8);
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
TM_CODEC(c_ct_req, kp_create_topics_req, struct kp_create_topics_req, 0, 7);
TM_CODEC(c_ct_resp, kp_create_topics_resp, struct kp_create_topics_resp, 0, 7);
TM_CODEC(c_dt_req, kp_delete_topics_req, struct kp_delete_topics_req, 0, 6);
TM_CODEC(c_dt_resp, kp_delete_topics_resp, struct kp_delete_topics_resp, 0, 6);
TM_CODEC(c_ip_req, kp_init_producer_id_req, struct kp_init_producer_id_req, 0, 4);
TM_CODEC(c_ip_resp, kp_init_producer_id_resp, struct kp_init_producer_id_resp, 0, 4);

#define S_CONSUMER 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r'
#define S_RANGE    'r', 'a', 'n', 'g', 'e'
#define S_RETMS    'r', 'e', 't', 'e', 'n', 't', 'i', 'o', 'n', '.', 'm', 's'

static bool uuid_eq(struct kp_uuid a, struct kp_uuid b) { return memcmp(&a, &b, sizeof a) == 0; }

/* ---- Metadata ---------------------------------------------------------------------------- */

START_TEST(test_metadata_v12_request)
{
    static const struct kp_str names[] = {{NULL, -1}, {"b", 1}};
    static const struct kp_uuid ids[] = {{{UUID_SEQ}}, {{UUID_0}}};
    struct kp_metadata_req req = {.n_topics = 2,
                                  .topics = names,
                                  .allow_auto_topic_creation = true,
                                  .topic_ids = ids,
                                  .include_topic_authorized_operations = true};
    struct kp_metadata_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_md_req, 12, &req, &o, &a, 0x03, /* topics: compact array of 2 */
              UUID_SEQ, 0x00, 0x00,              /* topic_id, name null, tags */
              UUID_0, 0x02, 'b', 0x00,           /* zero id, name "b", tags */
              0x01,                              /* allow_auto_topic_creation */
              0x01,                              /* include_topic_authorized_operations (v8+) */
              0x00);                             /* tags */
    ck_assert_int_eq(o.n_topics, 2);
    tm_str_null(o.topics[0]);
    ck_assert(uuid_eq(o.topic_ids[0], tm_uuid_seq));
    tm_str_eq(o.topics[1], names[1]);
    ck_assert(o.include_topic_authorized_operations);
    ck_assert(!o.include_cluster_authorized_operations);

    /* v9: flexible, names only, and include_cluster_authorized_operations (v8-10). */
    req.n_topics = 1;
    req.topics = names + 1;
    req.topic_ids = NULL;
    req.include_cluster_authorized_operations = true;
    TM_GOLDEN(&c_md_req, 9, &req, &o, &a, 0x02, 0x02, 'b', 0x00, /* topics ["b"] */
              0x01, 0x01, 0x01, 0x00); /* auto create, cluster ops, topic ops, tags */
    ck_assert_ptr_null(o.topic_ids);
    ck_assert(o.include_cluster_authorized_operations);
    /* all topics (null) from v1, in every version */
    req.n_topics = -1;
    ck_assert_int_eq(tm_every_version(&c_md_req, &req), 12);
    TM_GOLDEN(&c_md_req, 10, &req, &o, &a, 0x00, 0x01, 0x01, 0x01, 0x00);
    ck_assert(kp_metadata_req_all_topics(&o, 10));
}
END_TEST

START_TEST(test_metadata_v12_response)
{
    static const int32_t one[] = {1};
    static const struct kp_metadata_partition parts[] = {{.partition_index = 0,
                                                          .leader_id = 1,
                                                          .n_replicas = 1,
                                                          .replicas = one,
                                                          .n_isr = 1,
                                                          .isr = one,
                                                          .leader_epoch = 5}};
    static const struct kp_metadata_topic topics[] = {{.name = {"t", 1},
                                                       .n_partitions = 1,
                                                       .partitions = parts,
                                                       .topic_id = {{UUID_SEQ}},
                                                       .topic_authorized_operations = INT32_MIN}};
    static const struct kp_metadata_broker brokers[] = {{1, {"h", 1}, 9092, {NULL, -1}}};
    struct kp_metadata_resp resp = {.n_brokers = 1,
                                    .brokers = brokers,
                                    .cluster_id = TM_S("c"),
                                    .controller_id = 1,
                                    .n_topics = 1,
                                    .topics = topics,
                                    .cluster_authorized_operations = 7};
    struct kp_metadata_resp o;
    struct kp_arena a;
    TM_GOLDEN(&c_md_resp, 12, &resp, &o, &a, B32(0),          /* throttle_time_ms */
              0x02, B32(1), 0x02, 'h', B32(9092), 0x00, 0x00, /* brokers: id, host, port, rack
                                                                  null, tags */
              0x02, 'c',                                      /* cluster_id */
              B32(1),                                         /* controller_id */
              0x02, B16(0), 0x02, 't', UUID_SEQ, 0x00, /* topics: error, name, id, internal */
              0x02, B16(0), B32(0), B32(1), B32(5),    /* partitions: error, index, leader,
                                                           leader_epoch (v7+) */
              0x02, B32(1), 0x02, B32(1), 0x01, 0x00,  /* replicas, isr, offline (v5+),
                                                           tags */
              B32(INT32_MIN), 0x00,                    /* topic_authorized_operations, tags */
              0x00);                                   /* tags (no cluster ops at v11+) */
    ck_assert_int_eq(o.topics[0].partitions[0].leader_epoch, 5);
    ck_assert_int_eq(o.topics[0].partitions[0].n_offline_replicas, 0);
    ck_assert(uuid_eq(o.topics[0].topic_id, tm_uuid_seq));
    ck_assert_int_eq(o.cluster_authorized_operations, INT32_MIN); /* absent: Kafka's default */

    /* v8: classic, with cluster_authorized_operations at the end and no topic id. */
    TM_GOLDEN(&c_md_resp, 8, &resp, &o, &a, B32(0), B32(1), B32(1), B16(1), 'h', B32(9092), B16(-1),
              B16(1), 'c', B32(1), B32(1), B16(0), B16(1), 't', 0x00, B32(1), B16(0), B32(0),
              B32(1), B32(5), B32(1), B32(1), B32(1), B32(1), B32(0), B32(INT32_MIN), B32(7));
    ck_assert_int_eq(o.cluster_authorized_operations, 7);
    ck_assert_int_eq(tm_every_version(&c_md_resp, &resp), 13);
}
END_TEST

/* ---- Produce ----------------------------------------------------------------------------- */

START_TEST(test_produce_v9)
{
    static const struct kp_produce_req_partition rp[] = {{0, {(const uint8_t *)"abc", 3}}};
    static const struct kp_produce_req_topic rt[] = {{{"t", 1}, 1, rp}};
    struct kp_produce_req req = {KP_STR_NULL, -1, 1000, 1, rt};
    struct kp_produce_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_pr_req, 9, &req, &o, &a, 0x00, B16(-1), B32(1000), /* txn id null, acks, timeout */
              0x02, 0x02, 't', 0x02, B32(0),                        /* topics, name, partitions */
              0x04, 'a', 'b', 'c', 0x00, 0x00, 0x00);               /* records, 3 x tags */
    tm_bytes_eq(o.topics[0].partitions[0].records, rp[0].records);
    tm_str_null(o.transactional_id);
    ck_assert_int_eq(tm_every_version(&c_pr_req, &req), 7);

    static const struct kp_produce_record_error errs[] = {{1, {"bad", 3}}};
    static const struct kp_produce_resp_partition pp[] = {{.partition_index = 0,
                                                           .base_offset = 5,
                                                           .log_append_time_ms = -1,
                                                           .log_start_offset = 0,
                                                           .n_record_errors = 1,
                                                           .record_errors = errs,
                                                           .error_message = {NULL, -1}}};
    static const struct kp_produce_resp_topic pt[] = {{{"t", 1}, 1, pp}};
    struct kp_produce_resp resp = {1, pt, 0};
    struct kp_produce_resp ro;
    TM_GOLDEN(&c_pr_resp, 9, &resp, &ro, &a, 0x02, 0x02, 't', 0x02, /* responses, name, parts */
              B32(0), B16(0), B64(5), B64(-1), B64(0),              /* index, error, base, time,
                                                                       log start */
              0x02, B32(1), 0x04, 'b', 'a', 'd', 0x00,              /* record_errors (v8+) */
              0x00, 0x00, 0x00,                                     /* error_message null, 2 tags */
              B32(0), 0x00);                                        /* throttle, tags */
    /* v8: the same fields, classic */
    TM_GOLDEN(&c_pr_resp, 8, &resp, &ro, &a, B32(1), B16(1), 't', B32(1), B32(0), B16(0), B64(5),
              B64(-1), B64(0), B32(1), B32(1), B16(3), 'b', 'a', 'd', B16(-1), B32(0));
    ck_assert_int_eq(ro.topics[0].partitions[0].record_errors[0].batch_index, 1);
    tm_str_eq(ro.topics[0].partitions[0].record_errors[0].batch_index_error_message,
              errs[0].batch_index_error_message);
    tm_str_null(ro.topics[0].partitions[0].error_message);
    ck_assert_int_eq(tm_every_version(&c_pr_resp, &resp), 7);
}
END_TEST

/* ---- Fetch ------------------------------------------------------------------------------- */

START_TEST(test_fetch_v12_v13_request)
{
    static const struct kp_fetch_req_partition fp[] = {{.partition = 0,
                                                        .current_leader_epoch = -1,
                                                        .fetch_offset = 10,
                                                        .log_start_offset = -1,
                                                        .partition_max_bytes = 1048576,
                                                        .last_fetched_epoch = -1}};
    static const struct kp_fetch_req_topic ft[] = {{{"t", 1}, 1, fp, {{UUID_SEQ}}}};
    static const int32_t one[] = {1};
    static const struct kp_fetch_forgotten_topic fg[] = {{{"u", 1}, 1, one, {{UUID_SEQ}}}};
    struct kp_fetch_req req = {.replica_id = -1,
                               .max_wait_ms = 500,
                               .min_bytes = 1,
                               .max_bytes = 0x7fffffff,
                               .session_epoch = -1,
                               .n_topics = 1,
                               .topics = ft,
                               .rack_id = {"", 0},
                               .cluster_id = KP_STR_NULL};
    struct kp_fetch_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_fe_req, 12, &req, &o, &a, B32(-1), B32(500), B32(1), B32(0x7fffffff), 0x00, B32(0),
              B32(-1),                                       /* replica .. session epoch */
              0x02, 0x02, 't', 0x02, B32(0), B32(-1),        /* topics, name, partitions, epoch */
              B64(10), B32(-1), B64(-1), B32(1048576), 0x00, /* offset, last fetched epoch
                                                                (v12+), log start, max, tags */
              0x00,                                          /* topic tags */
              0x01, 0x01,                                    /* forgotten [], rack_id "" */
              0x00);                                         /* tags: cluster_id null (default) */
    tm_str_null(o.cluster_id);
    ck_assert_int_eq(o.topics[0].partitions[0].last_fetched_epoch, -1);

    /* v13: topics by id; a cluster id as tagged field 0; a forgotten topic. */
    req.cluster_id = TM_S("x");
    req.n_forgotten = 1;
    req.forgotten = fg;
    TM_GOLDEN(&c_fe_req, 13, &req, &o, &a, B32(-1), B32(500), B32(1), B32(0x7fffffff), 0x00, B32(0),
              B32(-1), 0x02, UUID_SEQ, 0x02, B32(0), B32(-1), B64(10), B32(-1), B64(-1),
              B32(1048576), 0x00, 0x00,           /* topic by id */
              0x02, UUID_SEQ, 0x02, B32(1), 0x00, /* forgotten: id, partitions [1], tags */
              0x01,                               /* rack_id "" */
              0x01, 0x00, 0x02, 0x02, 'x');       /* tags: {0: cluster_id "x"} */
    tm_str_eq(o.cluster_id, req.cluster_id);
    ck_assert(uuid_eq(o.topics[0].topic_id, tm_uuid_seq));
    ck_assert(uuid_eq(o.forgotten[0].topic_id, tm_uuid_seq));
    ck_assert_int_eq(o.topics[0].topic.len, 0); /* absent at v13: "" */
    ck_assert_int_eq(tm_every_version(&c_fe_req, &req), 10);
}
END_TEST

/* The same response through the whole-message encoder and the piecewise one. */
static void fetch_pieces(int16_t v, const struct kp_fetch_resp *r, uint8_t *out, size_t *len)
{
    struct kp_wr wr;
    kp_wr_init(&wr, out, TM_BUF);
    size_t est = kp_fetch_resp_head_size(v);
    ck_assert_int_eq(kp_fetch_resp_head_encode(&wr, v, r->throttle_time_ms, r->error_code,
                                               r->session_id, r->n_topics),
                     0);
    ck_assert_uint_le(kp_wr_len(&wr), est); /* an upper bound from v12 */
    for (int32_t i = 0; i < r->n_topics; i++) {
        const struct kp_fetch_resp_topic *t = &r->topics[i];
        size_t at = kp_wr_len(&wr);
        ck_assert_int_eq(kp_fetch_resp_topic_head_encode(&wr, v, t), 0);
        ck_assert_uint_eq(kp_wr_len(&wr) - at, kp_fetch_resp_topic_head_size(v, t));
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_fetch_resp_partition *p = &t->partitions[j];
            at = kp_wr_len(&wr);
            ck_assert_int_eq(kp_fetch_resp_partition_head_encode(&wr, v, p), 0);
            ck_assert_uint_eq(kp_wr_len(&wr) - at, kp_fetch_resp_partition_head_size(v, p));
            kp_wr_raw(&wr, p->records.ptr, (size_t)p->records.len);
            at = kp_wr_len(&wr);
            ck_assert_int_eq(kp_fetch_resp_partition_tail_encode(&wr, v, p), 0);
            ck_assert_uint_eq(kp_wr_len(&wr) - at, kp_fetch_resp_partition_tail_size(v, p));
        }
        ck_assert_int_eq(kp_fetch_resp_end_encode(&wr, v), 0);
    }
    ck_assert_int_eq(kp_fetch_resp_end_encode(&wr, v), 0);
    *len = kp_wr_len(&wr);
    size_t size;
    ck_assert_int_eq(kp_fetch_resp_size(v, r, &size), 0);
    ck_assert_uint_eq(size, *len);
}

START_TEST(test_fetch_v12_v13_response)
{
    static const struct kp_fetch_epoch_end_offset div = {2, 7};
    static const struct kp_leader_id_and_epoch leader = {1, 3};
    static const struct kp_fetch_aborted_txn ab[] = {{1, 2}};
    struct kp_fetch_resp_partition fp[] = {{.partition = 0,
                                            .high_watermark = 10,
                                            .last_stable_offset = 10,
                                            .log_start_offset = 0,
                                            .n_aborted = -1,
                                            .preferred_read_replica = -1,
                                            .records = {(const uint8_t *)"xyz", 3},
                                            .diverging_epoch = &div}};
    struct kp_fetch_resp_topic ft[] = {{{"t", 1}, 1, fp, {{UUID_SEQ}}}};
    struct kp_fetch_resp resp = {.n_topics = 1, .topics = ft};
    struct kp_fetch_resp o;
    struct kp_arena a;
    TM_GOLDEN(&c_fe_resp, 12, &resp, &o, &a, B32(0), B16(0), B32(0), /* throttle, error, session */
              0x02, 0x02, 't', 0x02,                                 /* responses, topic, parts */
              B32(0), B16(0), B64(10), B64(10), B64(0),              /* index .. log start */
              0x00, B32(-1), 0x04, 'x', 'y', 'z',                    /* aborted null, preferred
                                                                        replica, records */
              0x01, 0x00, 0x0d, B32(2), B64(7), 0x00,                /* tags {0: diverging epoch
                                                                        (epoch, end, tags)} */
              0x00, 0x00);                                           /* topic tags, tags */
    ck_assert_int_eq(o.topics[0].partitions[0].diverging_epoch->end_offset, 7);
    ck_assert_ptr_null(o.topics[0].partitions[0].current_leader);
    ck_assert_ptr_null(o.topics[0].partitions[0].snapshot_id);
    uint8_t pieces[TM_BUF];
    size_t plen;
    fetch_pieces(12, &resp, pieces, &plen);
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_fetch_resp_encode(&wr, 12, &resp), 0);
    ck_assert(plen == kp_wr_len(&wr) && memcmp(pieces, buf, plen) == 0);

    /* v13: topic by id, one aborted transaction, current_leader (tag 1), no diverging epoch. */
    fp[0].n_aborted = 1;
    fp[0].aborted = ab;
    fp[0].diverging_epoch = NULL;
    fp[0].current_leader = &leader;
    TM_GOLDEN(&c_fe_resp, 13, &resp, &o, &a, B32(0), B16(0), B32(0), 0x02, UUID_SEQ, 0x02, B32(0),
              B16(0), B64(10), B64(10), B64(0), 0x02, B64(1), B64(2), 0x00, /* aborted */
              B32(-1), 0x04, 'x', 'y', 'z', 0x01, 0x01, 0x09, B32(1), B32(3),
              0x00, /* {1: leader} */
              0x00, 0x00);
    ck_assert(uuid_eq(o.topics[0].topic_id, tm_uuid_seq));
    ck_assert_int_eq(o.topics[0].partitions[0].current_leader->leader_epoch, 3);
    ck_assert_int_eq(o.topics[0].partitions[0].aborted[0].first_offset, 2);
    fetch_pieces(13, &resp, pieces, &plen);
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_fetch_resp_encode(&wr, 13, &resp), 0);
    ck_assert(plen == kp_wr_len(&wr) && memcmp(pieces, buf, plen) == 0);
    for (int16_t v = 4; v <= 13; v++)
        fetch_pieces(v, &resp, pieces, &plen);
    /* topic names are not on the wire from v13 */
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_fetch_resp_topic_encode(&wr, 13, TM_S("t"), 1), -EINVAL);
    ck_assert_uint_eq(kp_fetch_resp_topic_size(13, TM_S("t")), 0);
    /* null records: written as empty (length uvarint 1), never null */
    fp[0].records = KP_BYTES_NULL;
    fp[0].current_leader = NULL;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_fetch_resp_partition_head_encode(&wr, 12, &fp[0]), 0);
    ck_assert_uint_eq(buf[kp_wr_len(&wr) - 1], 0x01);
    ck_assert_int_eq(tm_every_version(&c_fe_resp, &resp), 10);
}
END_TEST

/* ---- ListOffsets -------------------------------------------------------------------------- */

START_TEST(test_list_offsets_v7)
{
    static const struct kp_list_offsets_req_partition rp[] = {{0, -3, 3}};
    static const struct kp_list_offsets_req_topic rt[] = {{{"t", 1}, 1, rp}};
    struct kp_list_offsets_req req = {-1, 1, 1, rt};
    struct kp_list_offsets_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_lo_req, 7, &req, &o, &a, B32(-1), 0x01, 0x02, 0x02, 't', 0x02, B32(0), B32(3),
              B64(-3), 0x00, 0x00, 0x00); /* index, current_leader_epoch (v4+), ts */
    ck_assert_int_eq(o.topics[0].partitions[0].current_leader_epoch, 3);
    TM_GOLDEN(&c_lo_req, 4, &req, &o, &a, B32(-1), 0x01, B32(1), B16(1), 't', B32(1), B32(0),
              B32(3), B64(-3));
    TM_GOLDEN(&c_lo_req, 3, &req, &o, &a, B32(-1), 0x01, B32(1), B16(1), 't', B32(1), B32(0),
              B64(-3));
    ck_assert_int_eq(o.topics[0].partitions[0].current_leader_epoch, -1);
    ck_assert_int_eq(tm_every_version(&c_lo_req, &req), 7);

    static const struct kp_list_offsets_resp_partition pp[] = {{0, 0, -1, 42, 3}};
    static const struct kp_list_offsets_resp_topic pt[] = {{{"t", 1}, 1, pp}};
    struct kp_list_offsets_resp resp = {0, 1, pt};
    struct kp_list_offsets_resp ro;
    TM_GOLDEN(&c_lo_resp, 7, &resp, &ro, &a, B32(0), 0x02, 0x02, 't', 0x02, B32(0), B16(0), B64(-1),
              B64(42), B32(3), 0x00, 0x00, 0x00); /* ..., offset, leader_epoch (v4+) */
    ck_assert_int_eq(ro.topics[0].partitions[0].leader_epoch, 3);
    ck_assert_int_eq(tm_every_version(&c_lo_resp, &resp), 7);
}
END_TEST

/* ---- OffsetCommit / OffsetFetch ----------------------------------------------------------- */

START_TEST(test_offset_commit_v8)
{
    static const struct kp_offset_commit_req_partition rp[] = {{.partition_index = 0,
                                                                .committed_offset = 5,
                                                                .commit_timestamp = -1,
                                                                .committed_metadata = {"", 0},
                                                                .committed_leader_epoch = 2}};
    static const struct kp_offset_commit_req_topic rt[] = {{{"t", 1}, 1, rp}};
    struct kp_offset_commit_req req = {.group_id = TM_S("g"),
                                       .generation_id = 3,
                                       .member_id = TM_S("m"),
                                       .retention_time_ms = -1,
                                       .n_topics = 1,
                                       .topics = rt,
                                       .group_instance_id = KP_STR_NULL};
    struct kp_offset_commit_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_oc_req, 8, &req, &o, &a, 0x02, 'g', B32(3), 0x02, 'm', 0x00, /* group, gen,
                                                          member, group_instance_id null (v7+) */
              0x02, 0x02, 't', 0x02, B32(0), B64(5), B32(2), 0x01, /* ..., leader epoch (v6+),
                                                                       metadata "" */
              0x00, 0x00, 0x00);
    ck_assert_int_eq(o.topics[0].partitions[0].committed_leader_epoch, 2);
    tm_str_null(o.group_instance_id);
    TM_GOLDEN(&c_oc_req, 6, &req, &o, &a, B16(1), 'g', B32(3), B16(1), 'm', B32(1), B16(1), 't',
              B32(1), B32(0), B64(5), B32(2), B16(0));
    ck_assert_int_eq(tm_every_version(&c_oc_req, &req), 9);

    static const struct kp_offset_commit_resp_partition pp[] = {{0, 0}};
    static const struct kp_offset_commit_resp_topic pt[] = {{{"t", 1}, 1, pp}};
    struct kp_offset_commit_resp resp = {0, 1, pt};
    struct kp_offset_commit_resp ro;
    TM_GOLDEN(&c_oc_resp, 8, &resp, &ro, &a, B32(0), 0x02, 0x02, 't', 0x02, B32(0), B16(0), 0x00,
              0x00, 0x00);
}
END_TEST

START_TEST(test_offset_fetch_v8)
{
    static const int32_t idx[] = {0, 1};
    static const struct kp_offset_fetch_req_topic rt[] = {{{"t", 1}, 2, idx}};
    static const struct kp_offset_fetch_req_group rg[] = {{{"g", 1}, -1, NULL}, {{"h", 1}, 1, rt}};
    struct kp_offset_fetch_req req = {.n_groups = 2, .groups = rg, .require_stable = true};
    struct kp_offset_fetch_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_of_req, 8, &req, &o, &a, 0x03, /* groups */
              0x02, 'g', 0x00, 0x00,            /* "g", topics null (all), tags */
              0x02, 'h', 0x02, 0x02, 't', 0x03, B32(0), B32(1), 0x00, 0x00, /* "h" [t [0, 1]] */
              0x01, 0x00); /* require_stable (v7+), tags */
    ck_assert_int_eq(o.groups[0].n_topics, -1);
    ck_assert_int_eq(o.groups[1].topics[0].partition_indexes[1], 1);
    ck_assert(o.require_stable);
    ck_assert_int_eq(o.n_topics, 0); /* v1-7 fields absent */

    static const struct kp_offset_fetch_resp_partition pp[] = {{.partition_index = 0,
                                                                .committed_offset = 5,
                                                                .metadata = {NULL, -1},
                                                                .committed_leader_epoch = -1}};
    static const struct kp_offset_fetch_resp_topic pt[] = {{{"t", 1}, 1, pp}};
    static const struct kp_offset_fetch_resp_group pg[] = {{{"g", 1}, 1, pt, 0}};
    struct kp_offset_fetch_resp resp = {.n_groups = 1, .groups = pg};
    struct kp_offset_fetch_resp ro;
    TM_GOLDEN(&c_of_resp, 8, &resp, &ro, &a, B32(0), 0x02, 0x02, 'g', 0x02, 0x02, 't', 0x02, B32(0),
              B64(5), B32(-1), 0x00, B16(0), 0x00, /* partition: ..., leader epoch,
                                                      metadata null, error, tags */
              0x00, B16(0), 0x00, 0x00);           /* topic tags, group error, tags */
    ck_assert_int_eq(ro.groups[0].topics[0].partitions[0].committed_offset, 5);

    /* v6 (flexible, one group) and v7 (require_stable). */
    struct kp_offset_fetch_req one = {
        .group_id = TM_S("g"), .n_topics = 1, .topics = rt, .require_stable = true};
    TM_GOLDEN(&c_of_req, 7, &one, &o, &a, 0x02, 'g', 0x02, 0x02, 't', 0x03, B32(0), B32(1), 0x00,
              0x01, 0x00);
    ck_assert_int_eq(tm_every_version(&c_of_req, &one), 8);
    struct kp_offset_fetch_resp r6 = {.n_topics = 1, .topics = pt, .error_code = 16};
    TM_GOLDEN(&c_of_resp, 6, &r6, &ro, &a, B32(0), 0x02, 0x02, 't', 0x02, B32(0), B64(5), B32(-1),
              0x00, B16(0), 0x00, 0x00, B16(16), 0x00);
    ck_assert_int_eq(ro.error_code, 16);
}
END_TEST

/* ---- FindCoordinator ---------------------------------------------------------------------- */

START_TEST(test_find_coordinator_v4)
{
    static const struct kp_str keys[] = {{"g1", 2}, {"g2", 2}};
    struct kp_find_coordinator_req req = {
        .key_type = 0, .n_coordinator_keys = 2, .coordinator_keys = keys};
    struct kp_find_coordinator_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_fc_req, 4, &req, &o, &a, 0x00, 0x03, 0x03, 'g', '1', 0x03, 'g', '2', 0x00);
    tm_str_eq(o.coordinator_keys[1], keys[1]);
    req.key = TM_S("g");
    TM_GOLDEN(&c_fc_req, 3, &req, &o, &a, 0x02, 'g', 0x00, 0x00); /* one key, flexible */

    static const struct kp_find_coordinator_coordinator co[] = {
        {{"g1", 2}, 1, {"h", 1}, 9092, 0, {NULL, -1}}};
    struct kp_find_coordinator_resp resp = {.n_coordinators = 1, .coordinators = co};
    struct kp_find_coordinator_resp ro;
    TM_GOLDEN(&c_fc_resp, 4, &resp, &ro, &a, B32(0), 0x02, 0x03, 'g', '1', B32(1), 0x02, 'h',
              B32(9092), B16(0), 0x00, 0x00, 0x00);
    ck_assert_int_eq(ro.coordinators[0].port, 9092);
    tm_str_null(ro.coordinators[0].error_message);
}
END_TEST

/* ---- JoinGroup, SyncGroup, Heartbeat, LeaveGroup ------------------------------------------ */

START_TEST(test_join_group_v7_v9)
{
    static const uint8_t meta[] = {0x00, 0x01};
    static const struct kp_join_group_protocol protos[] = {{{"range", 5}, {meta, 2}}};
    struct kp_join_group_req req = {TM_S("g"),        30000, 60000,  {"", 0},  KP_STR_NULL,
                                    TM_S("consumer"), 1,     protos, TM_S("r")};
    struct kp_join_group_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_jg_req, 7, &req, &o, &a, 0x02, 'g', B32(30000), B32(60000), 0x01, 0x00, 0x09,
              S_CONSUMER, 0x02, 0x06, S_RANGE, 0x03, 0x00, 0x01, 0x00, 0x00);
    tm_str_null(o.reason); /* v8+ */
    TM_GOLDEN(&c_jg_req, 9, &req, &o, &a, 0x02, 'g', B32(30000), B32(60000), 0x01, 0x00, 0x09,
              S_CONSUMER, 0x02, 0x06, S_RANGE, 0x03, 0x00, 0x01, 0x00, 0x02, 'r', 0x00);
    tm_str_eq(o.reason, req.reason);
    ck_assert_int_eq(tm_every_version(&c_jg_req, &req), 10);

    static const struct kp_join_group_member mem[] = {{{"m", 1}, {NULL, -1}, {meta, 1}}};
    struct kp_join_group_resp resp = {.generation_id = 1,
                                      .protocol_name = TM_S("range"),
                                      .leader = TM_S("m"),
                                      .member_id = TM_S("m"),
                                      .n_members = 1,
                                      .members = mem,
                                      .protocol_type = TM_S("consumer"),
                                      .skip_assignment = true};
    struct kp_join_group_resp ro;
    TM_GOLDEN(&c_jg_resp, 9, &resp, &ro, &a, B32(0), B16(0), B32(1), /* throttle, error, gen */
              0x09, S_CONSUMER, 0x06, S_RANGE, 0x02, 'm',            /* type (v7+), name, leader */
              0x01, 0x02, 'm',                                       /* skip (v9+), member_id */
              0x02, 0x02, 'm', 0x00, 0x02, 0x00, 0x00, 0x00);        /* members, tags */
    ck_assert(ro.skip_assignment);
    tm_str_eq(ro.protocol_type, resp.protocol_type);
    TM_GOLDEN(&c_jg_resp, 7, &resp, &ro, &a, B32(0), B16(0), B32(1), 0x09, S_CONSUMER, 0x06,
              S_RANGE, 0x02, 'm', 0x02, 'm', 0x02, 0x02, 'm', 0x00, 0x02, 0x00, 0x00, 0x00);
    ck_assert(!ro.skip_assignment);
    /* protocol_name null from v7 (before a protocol is chosen) */
    resp.protocol_name = KP_STR_NULL;
    TM_GOLDEN(&c_jg_resp, 7, &resp, &ro, &a, B32(0), B16(0), B32(1), 0x09, S_CONSUMER, 0x00, 0x02,
              'm', 0x02, 'm', 0x02, 0x02, 'm', 0x00, 0x02, 0x00, 0x00, 0x00);
    tm_str_null(ro.protocol_name);
}
END_TEST

START_TEST(test_sync_heartbeat_leave_flexible)
{
    static const struct kp_sync_group_assignment as[] = {{{"m", 1}, {(const uint8_t *)"\x07", 1}}};
    struct kp_sync_group_req sreq = {TM_S("g"), 1,  TM_S("m"),        KP_STR_NULL,
                                     1,         as, TM_S("consumer"), TM_S("range")};
    struct kp_sync_group_req so;
    struct kp_arena a;
    TM_GOLDEN(&c_sg_req, 5, &sreq, &so, &a, 0x02, 'g', B32(1), 0x02, 'm', 0x00, 0x09, S_CONSUMER,
              0x06, S_RANGE, 0x02, 0x02, 'm', 0x02, 0x07, 0x00, 0x00);
    tm_str_eq(so.protocol_name, sreq.protocol_name);
    TM_GOLDEN(&c_sg_req, 4, &sreq, &so, &a, 0x02, 'g', B32(1), 0x02, 'm', 0x00, 0x02, 0x02, 'm',
              0x02, 0x07, 0x00, 0x00);
    tm_str_null(so.protocol_type);
    struct kp_sync_group_resp sresp = {
        0, 0, {(const uint8_t *)"\x07", 1}, TM_S("consumer"), TM_S("range")};
    struct kp_sync_group_resp sro;
    TM_GOLDEN(&c_sg_resp, 5, &sresp, &sro, &a, B32(0), B16(0), 0x09, S_CONSUMER, 0x06, S_RANGE,
              0x02, 0x07, 0x00);

    struct kp_heartbeat_req hreq = {TM_S("g"), 1, TM_S("m"), KP_STR_NULL};
    struct kp_heartbeat_req ho;
    TM_GOLDEN(&c_hb_req, 4, &hreq, &ho, &a, 0x02, 'g', B32(1), 0x02, 'm', 0x00, 0x00);
    struct kp_heartbeat_resp hresp = {0, 27};
    struct kp_heartbeat_resp hro;
    TM_GOLDEN(&c_hb_resp, 4, &hresp, &hro, &a, B32(0), B16(27), 0x00);

    static const struct kp_leave_group_member lm[] = {{{"m1", 2}, {NULL, -1}, {"bye", 3}},
                                                      {{"", 0}, {"i", 1}, {NULL, -1}}};
    struct kp_leave_group_req lreq = {TM_S("g"), {"", 0}, 2, lm};
    struct kp_leave_group_req lo;
    TM_GOLDEN(&c_lg_req, 4, &lreq, &lo, &a, 0x02, 'g', 0x03, 0x03, 'm', '1', 0x00, 0x00, 0x01, 0x02,
              'i', 0x00, 0x00);
    tm_str_null(lo.members[0].reason);
    TM_GOLDEN(&c_lg_req, 5, &lreq, &lo, &a, 0x02, 'g', 0x03, 0x03, 'm', '1', 0x00, 0x04, 'b', 'y',
              'e', 0x00, 0x01, 0x02, 'i', 0x00, 0x00, 0x00);
    tm_str_eq(lo.members[0].reason, lm[0].reason);
    TM_GOLDEN(&c_lg_req, 3, &lreq, &lo, &a, B16(1), 'g', B32(2), B16(2), 'm', '1', B16(-1), B16(0),
              B16(1), 'i');
    ck_assert_int_eq(tm_every_version(&c_lg_req, &lreq), 6);
    static const struct kp_leave_group_member_resp lmr[] = {{{"m1", 2}, {NULL, -1}, 0}};
    struct kp_leave_group_resp lresp = {0, 0, 1, lmr};
    struct kp_leave_group_resp lro;
    TM_GOLDEN(&c_lg_resp, 4, &lresp, &lro, &a, B32(0), B16(0), 0x02, 0x03, 'm', '1', 0x00, B16(0),
              0x00, 0x00);
    ck_assert_int_eq(lro.n_members, 1);
}
END_TEST

/* ---- CreateTopics, DeleteTopics, InitProducerId ------------------------------------------- */

START_TEST(test_create_topics_v7)
{
    static const struct kp_create_topics_config cfg[] = {{{"retention.ms", 12}, {"1000", 4}}};
    static const struct kp_create_topics_topic tt[] = {{{"t", 1}, 3, 1, 0, NULL, 1, cfg}};
    struct kp_create_topics_req req = {1, tt, 5000, false};
    struct kp_create_topics_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_ct_req, 7, &req, &o, &a, 0x02, 0x02, 't', B32(3), B16(1), /* topics, name,
                                                               partitions, replication factor */
              0x01, 0x02, 0x0d, S_RETMS, 0x05, '1', '0', '0', '0', 0x00,   /* assignments [],
                                                                 configs [{retention.ms 1000}] */
              0x00, B32(5000), 0x00, 0x00);                                /* tags, timeout,
                                                                 validate_only, tags */
    ck_assert_int_eq(tm_every_version(&c_ct_req, &req), 8);

    static const struct kp_create_topics_result_config rc[] = {
        {{"retention.ms", 12}, {"1000", 4}, false, 1, false}};
    struct kp_create_topics_result res[] = {{.name = {"t", 1},
                                             .error_message = {NULL, -1},
                                             .topic_id = {{UUID_SEQ}},
                                             .num_partitions = 3,
                                             .replication_factor = 1,
                                             .n_configs = 1,
                                             .configs = rc}};
    struct kp_create_topics_resp resp = {0, 1, res};
    struct kp_create_topics_resp ro;
    TM_GOLDEN(&c_ct_resp, 7, &resp, &ro, &a, B32(0), 0x02, 0x02, 't', UUID_SEQ, /* ..., id (v7+) */
              B16(0), 0x00, B32(3), B16(1), /* error, message null,
                                               partitions, rf (v5+) */
              0x02, 0x0d, S_RETMS, 0x05, '1', '0', '0', '0', 0x00, 0x01, 0x00, 0x00, /* configs */
              0x00, 0x00); /* topic tags (config error
                              0: default), tags */
    ck_assert(uuid_eq(ro.topics[0].topic_id, tm_uuid_seq));
    ck_assert_int_eq(ro.topics[0].configs[0].config_source, 1);
    ck_assert_int_eq(ro.topics[0].topic_config_error_code, 0);
    /* v5: no topic id; a config error in tagged field 0; configs null */
    res[0].topic_config_error_code = 40;
    res[0].n_configs = -1;
    TM_GOLDEN(&c_ct_resp, 5, &resp, &ro, &a, B32(0), 0x02, 0x02, 't', B16(0), 0x00, B32(3), B16(1),
              0x00, 0x01, 0x00, 0x02, B16(40), 0x00);
    ck_assert_int_eq(ro.topics[0].topic_config_error_code, 40);
    ck_assert_int_eq(ro.topics[0].n_configs, -1);
}
END_TEST

START_TEST(test_delete_topics_v6)
{
    static const struct kp_delete_topics_topic ts[] = {{{"t", 1}, {{UUID_0}}},
                                                       {{NULL, -1}, {{UUID_SEQ}}}};
    struct kp_delete_topics_req req = {.timeout_ms = 1000, .n_topic_states = 2, .topic_states = ts};
    struct kp_delete_topics_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_dt_req, 6, &req, &o, &a, 0x03, 0x02, 't', UUID_0, 0x00, 0x00, UUID_SEQ, 0x00,
              B32(1000), 0x00);
    tm_str_null(o.topic_states[1].name);
    ck_assert_int_eq(o.n_topics, 0);
    static const struct kp_str names[] = {{"a", 1}};
    struct kp_delete_topics_req r4 = {1, names, 1000};
    TM_GOLDEN(&c_dt_req, 4, &r4, &o, &a, 0x02, 0x02, 'a', B32(1000), 0x00);

    static const struct kp_delete_topics_result rs[] = {{{"t", 1}, 0, {{UUID_SEQ}}, {NULL, -1}},
                                                        {{NULL, -1}, 3, {{UUID_0}}, {"no", 2}}};
    struct kp_delete_topics_resp resp = {0, 2, rs};
    struct kp_delete_topics_resp ro;
    TM_GOLDEN(&c_dt_resp, 6, &resp, &ro, &a, B32(0), 0x03, 0x02, 't', UUID_SEQ, B16(0), 0x00, 0x00,
              0x00, UUID_0, B16(3), 0x03, 'n', 'o', 0x00, 0x00);
    tm_str_null(ro.results[1].name);
    tm_str_eq(ro.results[1].error_message, rs[1].error_message);
    /* v5: names not nullable (a null name is written as ""), error_message (v5+) */
    TM_GOLDEN(&c_dt_resp, 5, &resp, &ro, &a, B32(0), 0x03, 0x02, 't', B16(0), 0x00, 0x00, 0x01,
              B16(3), 0x03, 'n', 'o', 0x00, 0x00);
}
END_TEST

START_TEST(test_init_producer_id)
{
    struct kp_init_producer_id_req req = {KP_STR_NULL, 60000, -1, -1};
    struct kp_init_producer_id_req o;
    struct kp_arena a;
    TM_GOLDEN(&c_ip_req, 4, &req, &o, &a, 0x00, B32(60000), B64(-1), B16(-1), 0x00);
    req.transactional_id = TM_S("x");
    TM_GOLDEN(&c_ip_req, 0, &req, &o, &a, B16(1), 'x', B32(60000));
    ck_assert_int_eq(o.producer_id, -1);
    ck_assert_int_eq(o.producer_epoch, -1);
    TM_GOLDEN(&c_ip_req, 2, &req, &o, &a, 0x02, 'x', B32(60000), 0x00);
    ck_assert_int_eq(tm_every_version(&c_ip_req, &req), 5);

    struct kp_init_producer_id_resp resp = {0, 0, 7, 1};
    struct kp_init_producer_id_resp ro;
    TM_GOLDEN(&c_ip_resp, 4, &resp, &ro, &a, B32(0), B16(0), B64(7), B16(1), 0x00);
    TM_GOLDEN(&c_ip_resp, 1, &resp, &ro, &a, B32(0), B16(0), B64(7), B16(1));
    ck_assert_int_eq(tm_every_version(&c_ip_resp, &resp), 5);
}
END_TEST

static Suite *kp_msg_flex_suite(void)
{
    Suite *s = suite_create("kp_msg_flex");
    TCase *d = tcase_create("data");
    tcase_set_timeout(d, 60);
    tcase_add_test(d, test_metadata_v12_request);
    tcase_add_test(d, test_metadata_v12_response);
    tcase_add_test(d, test_produce_v9);
    tcase_add_test(d, test_fetch_v12_v13_request);
    tcase_add_test(d, test_fetch_v12_v13_response);
    tcase_add_test(d, test_list_offsets_v7);
    suite_add_tcase(s, d);
    TCase *g = tcase_create("groups");
    tcase_set_timeout(g, 60);
    tcase_add_test(g, test_offset_commit_v8);
    tcase_add_test(g, test_offset_fetch_v8);
    tcase_add_test(g, test_find_coordinator_v4);
    tcase_add_test(g, test_join_group_v7_v9);
    tcase_add_test(g, test_sync_heartbeat_leave_flexible);
    suite_add_tcase(s, g);
    TCase *t = tcase_create("admin");
    tcase_add_test(t, test_create_topics_v7);
    tcase_add_test(t, test_delete_topics_v6);
    tcase_add_test(t, test_init_producer_id);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tb_ck_run(kp_msg_flex_suite()); }
