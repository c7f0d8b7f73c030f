/*
 * test_kp_msg — kp_api (advertised table, flexible versions, error names), request/response
 * headers and framing, and the ApiVersions, Metadata, CreateTopics and DeleteTopics codecs:
 * round trip at every supported version with field-by-field comparison, golden bytes,
 * truncation, trailing bytes, forged counts, arena exhaustion, unsupported versions.
 * Produce, Fetch and ListOffsets are in test_kp_msg_data.c.
 */
#include "test_kp_msg_common.h"
#include "tb_check.h"

TM_CODEC(c_av_req, kp_api_versions_req, struct kp_api_versions_req, 0, 3);
TM_CODEC(c_av_resp, kp_api_versions_resp, struct kp_api_versions_resp, 0, 3);
TM_CODEC(c_md_req, kp_metadata_req, struct kp_metadata_req, 0, 12);
TM_CODEC(c_md_resp, kp_metadata_resp, struct kp_metadata_resp, 0, 12);
TM_CODEC(c_ct_req, kp_create_topics_req, struct kp_create_topics_req, 0, 7);
TM_CODEC(c_ct_resp, kp_create_topics_resp, struct kp_create_topics_resp, 0, 7);
TM_CODEC(c_dt_req, kp_delete_topics_req, struct kp_delete_topics_req, 0, 6);
TM_CODEC(c_dt_resp, kp_delete_topics_resp, struct kp_delete_topics_resp, 0, 6);

/* ---- kp_api -------------------------------------------------------------------------------- */

START_TEST(test_api_advertised_table)
{
    /* kafka-protocol-notes.md §0 for the implemented APIs, sorted by key, with OffsetCommit
     * from 0 (sarama's v1 commits), ListOffsets from 0 (Burrow 1.2) and Produce from 0
     * (librdkafka's compression gate; README "Protocol baseline"): exactly what ApiVersions sends.
     */
    static const struct kp_api_range want[] = {
        {0, 0, 9},  {1, 4, 13}, {2, 0, 7},  {3, 0, 12}, {8, 0, 8},  {9, 1, 7},  {10, 0, 4},
        {11, 0, 9}, {12, 0, 4}, {13, 0, 5}, {14, 0, 5}, {15, 0, 5}, {16, 0, 5}, {17, 0, 1},
        {18, 0, 3}, {19, 0, 7}, {20, 0, 6}, {21, 0, 2}, {22, 0, 4}, {23, 2, 4}, {24, 0, 3},
        {25, 0, 3}, {26, 0, 3}, {27, 1, 1}, {28, 0, 3}, {29, 1, 3}, {30, 1, 3}, {31, 1, 3},
        {32, 0, 4}, {33, 0, 2}, {35, 1, 4}, {36, 0, 2}, {37, 0, 3}, {42, 0, 2}, {43, 0, 2},
        {44, 0, 1}, {47, 0, 0}, {48, 0, 1}, {49, 0, 1}, {50, 0, 0}, {51, 0, 0}, {60, 0, 1},
    };
    size_t n = 0;
    const struct kp_api_range *t = kp_api_advertised(&n);
    ck_assert_uint_eq(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(t[i].api_key, want[i].api_key);
        ck_assert_int_eq(t[i].min_version, want[i].min_version);
        ck_assert_int_eq(t[i].max_version, want[i].max_version);
        ck_assert_ptr_eq(kp_api_find(t[i].api_key), &t[i]);
        ck_assert(kp_api_supported(t[i].api_key, t[i].min_version));
        ck_assert(kp_api_supported(t[i].api_key, t[i].max_version));
        ck_assert(!kp_api_supported(t[i].api_key, (int16_t)(t[i].min_version - 1)));
        ck_assert(!kp_api_supported(t[i].api_key, (int16_t)(t[i].max_version + 1)));
    }
    ck_assert_ptr_nonnull(kp_api_find(KP_API_OFFSET_FOR_LEADER_EPOCH)); /* served (M3) */
    ck_assert(!kp_api_supported(KP_API_OFFSET_FOR_LEADER_EPOCH, 1));    /* Kafka 4.0: from 2 */
    ck_assert_ptr_null(kp_api_find(999));
    ck_assert(!kp_api_supported(999, 0));
}
END_TEST

START_TEST(test_api_codec_ranges)
{
    /* The codec covers every advertised version except Produce v0-2 (legacy message sets,
     * answered by the broker's handler itself); keys outside KP_API_LIST have no codec. */
    size_t n = 0;
    const struct kp_api_range *t = kp_api_advertised(&n);
    for (size_t i = 0; i < n; i++) {
        const struct kp_msg_codec *c = kp_msg_codec_find(t[i].api_key);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_ge(c->max_version, t[i].max_version);
        ck_assert_int_le(c->min_version, t[i].api_key == KP_API_PRODUCE ? 3 : t[i].min_version);
    }
    ck_assert_int_eq(kp_msg_codec_find(KP_API_PRODUCE)->min_version, 3);
    ck_assert_ptr_null(kp_msg_codec_find(999));
    /* the codecs refuse outside their range */
    static uint8_t mem[4096];
    struct kp_wr wr;
    kp_wr_init(&wr, mem, sizeof mem);
    struct kp_produce_req pr = {.transactional_id = KP_STR_NULL, .acks = 1};
    ck_assert_int_eq(kp_produce_req_encode(&wr, 2, &pr), -EINVAL);
    ck_assert_int_eq(kp_produce_req_encode(&wr, 3, &pr), 0);
}
END_TEST

START_TEST(test_api_flexible_and_header_versions)
{
    /* First flexible versions from the apache/kafka schemas. */
    static const struct {
        int16_t key, first_flexible;
    } t[] = {{0, 9},
             {1, 12},
             {2, 6},
             {3, 9},
             {8, 8},
             {9, 6},
             {10, 3},
             {11, 6},
             {12, 4},
             {13, 4},
             {14, 4},
             {15, 5},
             {16, 3},
             {18, 3},
             {19, 5},
             {20, 4},
             {21, 2},
             {22, 2},
             {23, 4},
             {24, 3},
             {25, 3},
             {26, 3},
             {27, 1},
             {28, 3},
             {32, 4},
             {33, 2},
             {35, 2},
             {37, 2},
             {42, 2},
             {43, 2},
             {44, 1},
             {47, INT16_MAX},
             {60, 0},
             /* the security APIs */
             {17, INT16_MAX},
             {29, 2},
             {30, 2},
             {31, 2},
             {36, 2},
             {48, 1},
             {49, 1},
             {50, 0},
             {51, 0}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int16_t k = t[i].key, f = t[i].first_flexible;
        ck_assert(!kp_api_flexible(k, (int16_t)(f - 1)));
        ck_assert(kp_api_flexible(k, f));
        ck_assert_int_eq(kp_api_req_hdr_version(k, (int16_t)(f - 1)), 1);
        ck_assert_int_eq(kp_api_req_hdr_version(k, f), 2);
        ck_assert_int_eq(kp_api_resp_hdr_version(k, (int16_t)(f - 1)), 0);
        ck_assert_int_eq(kp_api_resp_hdr_version(k, f), k == KP_API_API_VERSIONS ? 0 : 1);
        ck_assert_str_ne(kp_api_name(k), "Unknown");
    }
    /* Every advertised version is flexible exactly from the schema's first flexible one. */
    size_t n;
    const struct kp_api_range *adv = kp_api_advertised(&n);
    for (size_t i = 0; i < n; i++) {
        int16_t f = -1;
        for (size_t j = 0; j < sizeof t / sizeof t[0]; j++)
            if (t[j].key == adv[i].api_key)
                f = t[j].first_flexible;
        ck_assert_int_ne(f, -1);
        for (int16_t v = adv[i].min_version; v <= adv[i].max_version; v++)
            ck_assert(kp_api_flexible(adv[i].api_key, v) == (v >= f));
    }
    ck_assert(!kp_api_flexible(999, 100));
    ck_assert_int_eq(kp_api_req_hdr_version(999, 100), 1);
    ck_assert_str_eq(kp_api_name(KP_API_API_VERSIONS), "ApiVersions");
    ck_assert_str_eq(kp_api_name(999), "Unknown");
}
END_TEST

START_TEST(test_err_names)
{
    /* Every code of kafka-protocol-notes.md §10, with Kafka's numbers. */
    static const struct {
        int16_t code;
        const char *name;
    } t[] = {
        {-1, "UNKNOWN_SERVER_ERROR"},
        {0, "NONE"},
        {1, "OFFSET_OUT_OF_RANGE"},
        {2, "CORRUPT_MESSAGE"},
        {3, "UNKNOWN_TOPIC_OR_PARTITION"},
        {5, "LEADER_NOT_AVAILABLE"},
        {6, "NOT_LEADER_OR_FOLLOWER"},
        {7, "REQUEST_TIMED_OUT"},
        {10, "MESSAGE_TOO_LARGE"},
        {14, "COORDINATOR_LOAD_IN_PROGRESS"},
        {15, "COORDINATOR_NOT_AVAILABLE"},
        {16, "NOT_COORDINATOR"},
        {17, "INVALID_TOPIC_EXCEPTION"},
        {18, "RECORD_LIST_TOO_LARGE"},
        {22, "ILLEGAL_GENERATION"},
        {23, "INCONSISTENT_GROUP_PROTOCOL"},
        {24, "INVALID_GROUP_ID"},
        {25, "UNKNOWN_MEMBER_ID"},
        {26, "INVALID_SESSION_TIMEOUT"},
        {27, "REBALANCE_IN_PROGRESS"},
        {28, "INVALID_COMMIT_OFFSET_SIZE"},
        {35, "UNSUPPORTED_VERSION"},
        {36, "TOPIC_ALREADY_EXISTS"},
        {37, "INVALID_PARTITIONS"},
        {42, "INVALID_REQUEST"},
        {43, "UNSUPPORTED_FOR_MESSAGE_FORMAT"},
        {45, "OUT_OF_ORDER_SEQUENCE_NUMBER"},
        {47, "INVALID_PRODUCER_EPOCH"},
        {59, "UNKNOWN_PRODUCER_ID"},
        {76, "UNSUPPORTED_COMPRESSION_TYPE"},
        {79, "MEMBER_ID_REQUIRED"},
        {87, "INVALID_RECORD"},
        /* and some a broker for these APIs needs */
        {4, "INVALID_FETCH_SIZE"},
        {21, "INVALID_REQUIRED_ACKS"},
        {32, "INVALID_TIMESTAMP"},
        {38, "INVALID_REPLICATION_FACTOR"},
        {39, "INVALID_REPLICA_ASSIGNMENT"},
        {40, "INVALID_CONFIG"},
        {41, "NOT_CONTROLLER"},
        {56, "KAFKA_STORAGE_ERROR"},
        {70, "FETCH_SESSION_ID_NOT_FOUND"},
        {71, "INVALID_FETCH_SESSION_EPOCH"},
        {73, "TOPIC_DELETION_DISABLED"},
        {74, "FENCED_LEADER_EPOCH"},
        {75, "UNKNOWN_LEADER_EPOCH"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        ck_assert_str_eq(kp_err_name(t[i].code), t[i].name);
    ck_assert_int_eq(KP_ERR_UNSUPPORTED_VERSION, 35);
    ck_assert_int_eq(KP_ERR_INVALID_RECORD, 87);
    ck_assert_str_eq(kp_err_name(-2), "UNKNOWN");
    ck_assert_str_eq(kp_err_name(1000), "UNKNOWN");
}
END_TEST

/* ---- headers and framing ------------------------------------------------------------------- */

START_TEST(test_req_hdr_v1_golden_and_round_trip)
{
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    struct kp_req_hdr h = {KP_API_METADATA, 4, 0x01020304, TM_S("rdkafka")};
    ck_assert_int_eq(kp_req_hdr_encode(&wr, &h), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0x00, 0x03, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04, 0x00, 0x07,
                 'r', 'd', 'k', 'a', 'f', 'k', 'a');
    for (size_t n = 0; n < kp_wr_len(&wr); n++) {
        struct kp_rd rd;
        struct kp_req_hdr o;
        kp_rd_init(&rd, buf, n);
        ck_assert_int_eq(kp_req_hdr_decode(&rd, &o), -EBADMSG);
    }
    struct kp_rd rd;
    struct kp_req_hdr o;
    kp_rd_init(&rd, buf, kp_wr_len(&wr));
    ck_assert_int_eq(kp_req_hdr_decode(&rd, &o), 0);
    ck_assert_int_eq(o.api_key, 3);
    ck_assert_int_eq(o.api_version, 4);
    ck_assert_int_eq(o.correlation_id, 0x01020304);
    tm_str_eq(o.client_id, h.client_id);
    ck_assert_uint_eq(kp_rd_left(&rd), 0);

    /* Null client_id. */
    kp_wr_init(&wr, buf, sizeof buf);
    h.client_id = KP_STR_NULL;
    ck_assert_int_eq(kp_req_hdr_encode(&wr, &h), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0x00, 0x03, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04, 0xff, 0xff);
    kp_rd_init(&rd, buf, kp_wr_len(&wr));
    ck_assert_int_eq(kp_req_hdr_decode(&rd, &o), 0);
    tm_str_null(o.client_id);
}
END_TEST

START_TEST(test_req_hdr_v2_for_api_versions_v3)
{
    /* Header v2: client_id keeps its int16 length, then a tag buffer. */
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    struct kp_req_hdr h = {KP_API_API_VERSIONS, 3, 1, TM_S("ab")};
    ck_assert_int_eq(kp_req_hdr_encode(&wr, &h), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02,
                 'a', 'b', 0x00);

    /* The decoder skips unknown tagged fields in the header. */
    static const uint8_t tagged[] = {0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x09, 0xff, 0xff,
                                     0x02, 0x05, 0x01, 0xaa, 0x07, 0x02, 0xbb, 0xcc, 0x42};
    struct kp_rd rd;
    struct kp_req_hdr o;
    kp_rd_init(&rd, tagged, sizeof tagged);
    ck_assert_int_eq(kp_req_hdr_decode(&rd, &o), 0);
    ck_assert_int_eq(o.correlation_id, 9);
    tm_str_null(o.client_id);
    ck_assert_uint_eq(kp_rd_left(&rd), 1); /* left at the body */
    ck_assert_uint_eq(*rd.p, 0x42);

    /* An ApiVersions v4 (unsupported, but flexible) header still decodes, as v2. */
    static const uint8_t v4[] = {0x00, 0x12, 0x00, 0x04, 0x00, 0x00,
                                 0x00, 0x05, 0x00, 0x01, 'x',  0x00};
    kp_rd_init(&rd, v4, sizeof v4);
    ck_assert_int_eq(kp_req_hdr_decode(&rd, &o), 0);
    ck_assert_int_eq(o.api_version, 4);
    ck_assert_uint_eq(kp_rd_left(&rd), 0);

    /* An unknown key decodes as header v1 (no tag buffer consumed). */
    static const uint8_t unk[] = {0x03, 0xe7, 0x00, 0x63, 0x00, 0x00, 0x00, 0x05, 0xff, 0xff, 0x00};
    kp_rd_init(&rd, unk, sizeof unk);
    ck_assert_int_eq(kp_req_hdr_decode(&rd, &o), 0);
    ck_assert_int_eq(o.api_key, 999);
    ck_assert_uint_eq(kp_rd_left(&rd), 1);
}
END_TEST

START_TEST(test_resp_hdr)
{
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_resp_hdr_encode(&wr, KP_API_API_VERSIONS, 3, 7), 0); /* always v0 */
    ck_assert_uint_eq(kp_wr_len(&wr), kp_resp_hdr_size(KP_API_API_VERSIONS, 3));
    ck_assert_int_eq(kp_resp_hdr_encode(&wr, KP_API_FETCH, 11, 8), 0); /* v0 */
    ck_assert_int_eq(kp_resp_hdr_encode(&wr, KP_API_FETCH, 12, 9), 0); /* v1 */
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 0, 0, 7, 0, 0, 0, 8, 0, 0, 0, 9, 0x00);
    ck_assert_uint_eq(kp_resp_hdr_size(KP_API_FETCH, 11), 4);
    ck_assert_uint_eq(kp_resp_hdr_size(KP_API_FETCH, 12), 5);

    struct kp_rd rd;
    int32_t corr = 0;
    kp_rd_init(&rd, buf, kp_wr_len(&wr));
    ck_assert_int_eq(kp_resp_hdr_decode(&rd, KP_API_API_VERSIONS, 3, &corr), 0);
    ck_assert_int_eq(corr, 7);
    ck_assert_int_eq(kp_resp_hdr_decode(&rd, KP_API_FETCH, 11, &corr), 0);
    ck_assert_int_eq(corr, 8);
    ck_assert_int_eq(kp_resp_hdr_decode(&rd, KP_API_FETCH, 12, &corr), 0);
    ck_assert_int_eq(corr, 9);
    ck_assert_uint_eq(kp_rd_left(&rd), 0);
    kp_rd_init(&rd, buf, 3);
    ck_assert_int_eq(kp_resp_hdr_decode(&rd, KP_API_FETCH, 11, &corr), -EBADMSG);
}
END_TEST

START_TEST(test_framing)
{
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    kp_wr_i8(&wr, 0x55); /* frames need not start at 0 */
    size_t pos = kp_frame_begin(&wr);
    ck_assert_uint_eq(pos, 1);
    ck_assert_int_eq(kp_resp_hdr_encode(&wr, KP_API_METADATA, 4, 3), 0);
    kp_wr_i16(&wr, 0x0102);
    ck_assert_int_eq(kp_frame_end(&wr, pos), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0x55, 0, 0, 0, 6, 0, 0, 0, 3, 1, 2);

    int32_t size = -5;
    ck_assert_int_eq(kp_frame_peek(buf + 1, 3, 100, &size), -EAGAIN);
    ck_assert_int_eq(kp_frame_peek(buf + 1, 4, 100, &size), 0);
    ck_assert_int_eq(size, 6);
    ck_assert_int_eq(kp_frame_peek(buf + 1, 4, 5, &size), -EMSGSIZE);
    static const uint8_t neg[] = {0xff, 0xff, 0xff, 0xfe};
    ck_assert_int_eq(kp_frame_peek(neg, 4, INT32_MAX, &size), -EBADMSG);

    /* A frame that does not fit: the writer's error comes back, nothing is patched. */
    uint8_t tiny[6];
    kp_wr_init(&wr, tiny, sizeof tiny);
    pos = kp_frame_begin(&wr);
    kp_wr_i32(&wr, 1);
    ck_assert_int_eq(kp_frame_end(&wr, pos), -ENOSPC);
    /* A size position that is not inside what was written. */
    kp_wr_init(&wr, buf, sizeof buf);
    kp_wr_i16(&wr, 0);
    ck_assert_int_eq(kp_frame_end(&wr, 0), -EINVAL);
}
END_TEST

/* ---- ApiVersions --------------------------------------------------------------------------- */

START_TEST(test_api_versions_req_round_trip)
{
    struct kp_api_versions_req req = {TM_S("librdkafka"), TM_S("2.0.2")};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_api_versions_req o;
        struct kp_arena a;
        size_t len = tm_check(&c_av_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
        if (v < 3) {
            ck_assert_uint_eq(len, 0); /* empty body */
            tm_str_null(o.client_software_name);
            tm_str_null(o.client_software_version);
        } else {
            tm_str_eq(o.client_software_name, req.client_software_name);
            tm_str_eq(o.client_software_version, req.client_software_version);
            /* compact strings, then an empty tag buffer */
            EXPECT_BYTES(buf, len, 11, 'l', 'i', 'b', 'r', 'd', 'k', 'a', 'f', 'k', 'a', 6, '2',
                         '.', '0', '.', '2', 0);
        }
    }
    tm_check_bad_versions(&c_av_req, &req);
}
END_TEST

START_TEST(test_api_versions_req_v3_skips_tags_rejects_null)
{
    /* Tagged fields in the body are skipped. */
    static const uint8_t tagged[] = {2, 'a', 1, 2, 0x03, 0x01, 0xff, 0x02, 0x00};
    struct kp_rd rd;
    struct kp_arena a;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    struct kp_api_versions_req o;
    kp_rd_init(&rd, tagged, sizeof tagged);
    ck_assert_int_eq(kp_api_versions_req_decode(&rd, 3, &a, &o), 0);
    ck_assert(kp_str_eq(o.client_software_name, "a"));
    ck_assert(kp_str_eq(o.client_software_version, ""));
    /* The software name is a COMPACT_STRING, not nullable. */
    static const uint8_t null_name[] = {0, 1, 0};
    kp_rd_init(&rd, null_name, sizeof null_name);
    ck_assert_int_eq(kp_api_versions_req_decode(&rd, 3, &a, &o), -EBADMSG);
    /* A v0-v2 request has an empty body: one byte too many is an error. */
    kp_rd_init(&rd, tagged, 1);
    ck_assert_int_eq(kp_api_versions_req_decode(&rd, 2, &a, &o), -EBADMSG);
}
END_TEST

static struct kp_api_versions_resp advertised_resp(void)
{
    size_t n;
    const struct kp_api_range *t = kp_api_advertised(&n);
    return (struct kp_api_versions_resp){0, (int32_t)n, t, 250};
}

START_TEST(test_api_versions_resp_round_trip)
{
    struct kp_api_versions_resp resp = advertised_resp();
    resp.error_code = KP_ERR_UNSUPPORTED_VERSION;
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_api_versions_resp o;
        struct kp_arena a;
        tm_check(&c_av_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.error_code, resp.error_code);
        ck_assert_int_eq(o.n_api_keys, resp.n_api_keys);
        for (int32_t i = 0; i < o.n_api_keys; i++) {
            ck_assert_int_eq(o.api_keys[i].api_key, resp.api_keys[i].api_key);
            ck_assert_int_eq(o.api_keys[i].min_version, resp.api_keys[i].min_version);
            ck_assert_int_eq(o.api_keys[i].max_version, resp.api_keys[i].max_version);
        }
        ck_assert_int_eq(o.throttle_time_ms, v >= 1 ? 250 : 0);
    }
    tm_check_bad_versions(&c_av_resp, &resp);
    /* Empty table. */
    struct kp_api_versions_resp empty = {0, 0, NULL, 0};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_api_versions_resp o;
        struct kp_arena a;
        tm_check(&c_av_resp, v, &empty, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_api_keys, 0);
    }
}
END_TEST

START_TEST(test_api_versions_resp_v0_golden)
{
    struct kp_api_versions_resp resp = advertised_resp();
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_api_versions_resp_encode(&wr, 0, &resp), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0x00, 0x00,     /* error_code */
                 0x00, 0x00, 0x00, 0x2a,              /* int32 count */
                 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,  /* Produce 0-9 */
                 0x00, 0x01, 0x00, 0x04, 0x00, 0x0d,  /* Fetch 4-13 */
                 0x00, 0x02, 0x00, 0x00, 0x00, 0x07,  /* ListOffsets 0-7 */
                 0x00, 0x03, 0x00, 0x00, 0x00, 0x0c,  /* Metadata 0-12 */
                 0x00, 0x08, 0x00, 0x00, 0x00, 0x08,  /* OffsetCommit 0-8 */
                 0x00, 0x09, 0x00, 0x01, 0x00, 0x07,  /* OffsetFetch 1-7 */
                 0x00, 0x0a, 0x00, 0x00, 0x00, 0x04,  /* FindCoordinator 0-4 */
                 0x00, 0x0b, 0x00, 0x00, 0x00, 0x09,  /* JoinGroup 0-9 */
                 0x00, 0x0c, 0x00, 0x00, 0x00, 0x04,  /* Heartbeat 0-4 */
                 0x00, 0x0d, 0x00, 0x00, 0x00, 0x05,  /* LeaveGroup 0-5 */
                 0x00, 0x0e, 0x00, 0x00, 0x00, 0x05,  /* SyncGroup 0-5 */
                 0x00, 0x0f, 0x00, 0x00, 0x00, 0x05,  /* DescribeGroups 0-5 */
                 0x00, 0x10, 0x00, 0x00, 0x00, 0x05,  /* ListGroups 0-5 */
                 0x00, 0x11, 0x00, 0x00, 0x00, 0x01,  /* SaslHandshake 0-1 */
                 0x00, 0x12, 0x00, 0x00, 0x00, 0x03,  /* ApiVersions 0-3 */
                 0x00, 0x13, 0x00, 0x00, 0x00, 0x07,  /* CreateTopics 0-7 */
                 0x00, 0x14, 0x00, 0x00, 0x00, 0x06,  /* DeleteTopics 0-6 */
                 0x00, 0x15, 0x00, 0x00, 0x00, 0x02,  /* DeleteRecords 0-2 */
                 0x00, 0x16, 0x00, 0x00, 0x00, 0x04,  /* InitProducerId 0-4 */
                 0x00, 0x17, 0x00, 0x02, 0x00, 0x04,  /* OffsetForLeaderEpoch 2-4 */
                 0x00, 0x18, 0x00, 0x00, 0x00, 0x03,  /* AddPartitionsToTxn 0-3 */
                 0x00, 0x19, 0x00, 0x00, 0x00, 0x03,  /* AddOffsetsToTxn 0-3 */
                 0x00, 0x1a, 0x00, 0x00, 0x00, 0x03,  /* EndTxn 0-3 */
                 0x00, 0x1b, 0x00, 0x01, 0x00, 0x01,  /* WriteTxnMarkers 1 */
                 0x00, 0x1c, 0x00, 0x00, 0x00, 0x03,  /* TxnOffsetCommit 0-3 */
                 0x00, 0x1d, 0x00, 0x01, 0x00, 0x03,  /* DescribeAcls 1-3 */
                 0x00, 0x1e, 0x00, 0x01, 0x00, 0x03,  /* CreateAcls 1-3 */
                 0x00, 0x1f, 0x00, 0x01, 0x00, 0x03,  /* DeleteAcls 1-3 */
                 0x00, 0x20, 0x00, 0x00, 0x00, 0x04,  /* DescribeConfigs 0-4 */
                 0x00, 0x21, 0x00, 0x00, 0x00, 0x02,  /* AlterConfigs 0-2 */
                 0x00, 0x23, 0x00, 0x01, 0x00, 0x04,  /* DescribeLogDirs 1-4 */
                 0x00, 0x24, 0x00, 0x00, 0x00, 0x02,  /* SaslAuthenticate 0-2 */
                 0x00, 0x25, 0x00, 0x00, 0x00, 0x03,  /* CreatePartitions 0-3 */
                 0x00, 0x2a, 0x00, 0x00, 0x00, 0x02,  /* DeleteGroups 0-2 */
                 0x00, 0x2b, 0x00, 0x00, 0x00, 0x02,  /* ElectLeaders 0-2 */
                 0x00, 0x2c, 0x00, 0x00, 0x00, 0x01,  /* IncrementalAlterConfigs 0-1 */
                 0x00, 0x2f, 0x00, 0x00, 0x00, 0x00,  /* OffsetDelete 0 */
                 0x00, 0x30, 0x00, 0x00, 0x00, 0x01,  /* DescribeClientQuotas 0-1 */
                 0x00, 0x31, 0x00, 0x00, 0x00, 0x01,  /* AlterClientQuotas 0-1 */
                 0x00, 0x32, 0x00, 0x00, 0x00, 0x00,  /* DescribeUserScramCredentials 0 */
                 0x00, 0x33, 0x00, 0x00, 0x00, 0x00,  /* AlterUserScramCredentials 0 */
                 0x00, 0x3c, 0x00, 0x00, 0x00, 0x01); /* DescribeCluster 0-1 */
}
END_TEST

START_TEST(test_api_versions_resp_v3_golden)
{
    /* The whole frame as the broker sends it: header v0 even though v3 is flexible. */
    struct kp_api_versions_resp resp = advertised_resp();
    resp.throttle_time_ms = 0;
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    size_t pos = kp_frame_begin(&wr);
    ck_assert_int_eq(kp_resp_hdr_encode(&wr, KP_API_API_VERSIONS, 3, 0x11223344), 0);
    ck_assert_int_eq(kp_api_versions_resp_encode(&wr, 3, &resp), 0);
    ck_assert_int_eq(kp_frame_end(&wr, pos), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0x00, 0x00, 0x01, 0x32, /* size = 306 */
                 0x11, 0x22, 0x33, 0x44,                      /* correlation_id, no tags */
                 0x00, 0x00,                                  /* error_code */
                 0x2b,                                        /* uvarint(42 + 1) */
                 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00,    /* each entry ends with tags */
                 0x00, 0x01, 0x00, 0x04, 0x00, 0x0d, 0x00,    /**/
                 0x00, 0x02, 0x00, 0x00, 0x00, 0x07, 0x00,    /**/
                 0x00, 0x03, 0x00, 0x00, 0x00, 0x0c, 0x00,    /**/
                 0x00, 0x08, 0x00, 0x00, 0x00, 0x08, 0x00,    /**/
                 0x00, 0x09, 0x00, 0x01, 0x00, 0x07, 0x00,    /**/
                 0x00, 0x0a, 0x00, 0x00, 0x00, 0x04, 0x00,    /**/
                 0x00, 0x0b, 0x00, 0x00, 0x00, 0x09, 0x00,    /**/
                 0x00, 0x0c, 0x00, 0x00, 0x00, 0x04, 0x00,    /**/
                 0x00, 0x0d, 0x00, 0x00, 0x00, 0x05, 0x00,    /**/
                 0x00, 0x0e, 0x00, 0x00, 0x00, 0x05, 0x00,    /**/
                 0x00, 0x0f, 0x00, 0x00, 0x00, 0x05, 0x00,    /**/
                 0x00, 0x10, 0x00, 0x00, 0x00, 0x05, 0x00,    /**/
                 0x00, 0x11, 0x00, 0x00, 0x00, 0x01, 0x00,    /**/
                 0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00,    /**/
                 0x00, 0x13, 0x00, 0x00, 0x00, 0x07, 0x00,    /**/
                 0x00, 0x14, 0x00, 0x00, 0x00, 0x06, 0x00,    /**/
                 0x00, 0x15, 0x00, 0x00, 0x00, 0x02, 0x00,    /**/
                 0x00, 0x16, 0x00, 0x00, 0x00, 0x04, 0x00,    /**/
                 0x00, 0x17, 0x00, 0x02, 0x00, 0x04, 0x00,    /**/
                 0x00, 0x18, 0x00, 0x00, 0x00, 0x03, 0x00,    /**/
                 0x00, 0x19, 0x00, 0x00, 0x00, 0x03, 0x00,    /**/
                 0x00, 0x1a, 0x00, 0x00, 0x00, 0x03, 0x00,    /**/
                 0x00, 0x1b, 0x00, 0x01, 0x00, 0x01, 0x00,    /**/
                 0x00, 0x1c, 0x00, 0x00, 0x00, 0x03, 0x00,    /**/
                 0x00, 0x1d, 0x00, 0x01, 0x00, 0x03, 0x00,    /**/
                 0x00, 0x1e, 0x00, 0x01, 0x00, 0x03, 0x00,    /**/
                 0x00, 0x1f, 0x00, 0x01, 0x00, 0x03, 0x00,    /**/
                 0x00, 0x20, 0x00, 0x00, 0x00, 0x04, 0x00,    /**/
                 0x00, 0x21, 0x00, 0x00, 0x00, 0x02, 0x00,    /**/
                 0x00, 0x23, 0x00, 0x01, 0x00, 0x04, 0x00,    /**/
                 0x00, 0x24, 0x00, 0x00, 0x00, 0x02, 0x00,    /**/
                 0x00, 0x25, 0x00, 0x00, 0x00, 0x03, 0x00,    /**/
                 0x00, 0x2a, 0x00, 0x00, 0x00, 0x02, 0x00,    /**/
                 0x00, 0x2b, 0x00, 0x00, 0x00, 0x02, 0x00,    /**/
                 0x00, 0x2c, 0x00, 0x00, 0x00, 0x01, 0x00,    /**/
                 0x00, 0x2f, 0x00, 0x00, 0x00, 0x00, 0x00,    /**/
                 0x00, 0x30, 0x00, 0x00, 0x00, 0x01, 0x00,    /**/
                 0x00, 0x31, 0x00, 0x00, 0x00, 0x01, 0x00,    /**/
                 0x00, 0x32, 0x00, 0x00, 0x00, 0x00, 0x00,    /**/
                 0x00, 0x33, 0x00, 0x00, 0x00, 0x00, 0x00,    /**/
                 0x00, 0x3c, 0x00, 0x00, 0x00, 0x01, 0x00,    /**/
                 0x00, 0x00, 0x00, 0x00,                      /* throttle_time_ms */
                 0x00);                                       /* tags */
}
END_TEST

START_TEST(test_api_versions_fallback_golden)
{
    /* kafka-protocol-notes.md §2, byte for byte. */
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    size_t pos = kp_frame_begin(&wr);
    ck_assert_int_eq(kp_resp_hdr_encode(&wr, KP_API_API_VERSIONS, 7, (int32_t)0xcccccccc), 0);
    ck_assert_int_eq(kp_api_versions_fallback_encode(&wr), 0);
    ck_assert_int_eq(kp_frame_end(&wr, pos), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0x00, 0x00, 0x00, 0x10, 0xcc, 0xcc, 0xcc, 0xcc, 0x00, 0x23,
                 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03);
    /* A client decodes it as a v0 response. */
    struct kp_rd rd;
    kp_rd_init(&rd, buf + 8, kp_wr_len(&wr) - 8);
    struct kp_arena a;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    struct kp_api_versions_resp o;
    ck_assert_int_eq(kp_api_versions_resp_decode(&rd, 0, &a, &o), 0);
    ck_assert_int_eq(o.error_code, KP_ERR_UNSUPPORTED_VERSION);
    ck_assert_int_eq(o.n_api_keys, 1);
    ck_assert_int_eq(o.api_keys[0].api_key, 18);
    ck_assert_int_eq(o.api_keys[0].max_version, 3);
    /* Out of room: -ENOSPC. */
    uint8_t tiny[11];
    kp_wr_init(&wr, tiny, sizeof tiny);
    ck_assert_int_eq(kp_api_versions_fallback_encode(&wr), -ENOSPC);
}
END_TEST

START_TEST(test_api_versions_resp_v3_skips_tagged_fields)
{
    /* Kafka 3.x brokers add tagged fields (SupportedFeatures, FinalizedFeaturesEpoch, ...). */
    static const uint8_t body[] = {0x00, 0x00,                         /* error */
                                   0x02,                               /* one entry */
                                   0x00, 0x12, 0x00, 0x00, 0x00, 0x03, /* {18, 0, 3} */
                                   0x01, 0x05, 0x02, 0xaa, 0xbb,       /* entry tags */
                                   0x00, 0x00, 0x00, 0x0a,             /* throttle */
                                   0x02,                               /* two tags */
                                   0x00, 0x01, 0x01,                   /* tag 0 */
                                   0x01, 0x08, 0,    0,    0,    0,    0, 0, 0, 0x2a}; /* tag 1 */
    struct kp_rd rd;
    kp_rd_init(&rd, body, sizeof body);
    struct kp_arena a;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    struct kp_api_versions_resp o;
    ck_assert_int_eq(kp_api_versions_resp_decode(&rd, 3, &a, &o), 0);
    ck_assert_int_eq(o.n_api_keys, 1);
    ck_assert_int_eq(o.api_keys[0].api_key, 18);
    ck_assert_int_eq(o.api_keys[0].max_version, 3);
    ck_assert_int_eq(o.throttle_time_ms, 10);
    /* A tag whose size runs past the end is an error. */
    kp_rd_init(&rd, body, sizeof body - 1);
    ck_assert_int_eq(kp_api_versions_resp_decode(&rd, 3, &a, &o), -EBADMSG);
}
END_TEST

START_TEST(test_api_versions_forged_counts)
{
    /* int32 count 2^31-1 (v0-v2) and compact uvarint(2^31-1 + 1) (v3). */
    static const uint8_t classic[] = {0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0x12, 0, 0, 0, 3};
    static const uint8_t compact[] = {0, 0, 0x80, 0x80, 0x80, 0x80, 0x08, 0, 0x12, 0, 0, 0, 3, 0};
    for (int16_t v = 0; v <= 2; v++)
        tm_check_forged(&c_av_resp, v, classic, sizeof classic, 0);
    tm_check_forged(&c_av_resp, 3, compact, sizeof compact, 0);
    /* A negative (null) count is not allowed either. */
    static const uint8_t null_arr[] = {0, 0, 0xff, 0xff, 0xff, 0xff};
    tm_check_forged(&c_av_resp, 0, null_arr, sizeof null_arr, 0);
}
END_TEST

/* ---- Metadata ------------------------------------------------------------------------------ */

static const struct kp_str md_topics[] = {TM_S("alpha"), TM_S("b"), TM_S("")};

START_TEST(test_metadata_req_round_trip)
{
    for (int16_t v = 0; v <= 4; v++) {
        struct kp_metadata_req req = {TM_N(md_topics), md_topics, false};
        struct kp_metadata_req o;
        struct kp_arena a;
        tm_check(&c_md_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_topics, req.n_topics);
        for (int32_t i = 0; i < o.n_topics; i++)
            tm_str_eq(o.topics[i], md_topics[i]);
        ck_assert(o.allow_auto_topic_creation == (v >= 4 ? false : true));
        ck_assert(!kp_metadata_req_all_topics(&o, v));

        /* Empty: all topics at v0, none from v1. */
        struct kp_metadata_req none = {0, NULL, true};
        tm_check(&c_md_req, v, &none, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_topics, 0);
        ck_assert(kp_metadata_req_all_topics(&o, v) == (v == 0));
        ck_assert(o.allow_auto_topic_creation);

        /* Null (all topics) exists from v1; v0 cannot carry it. */
        struct kp_metadata_req all = {-1, NULL, true};
        if (v == 0) {
            tm_check_bad_versions(&c_md_req, &req);
            struct kp_wr wr;
            kp_wr_init(&wr, buf, sizeof buf);
            ck_assert_int_eq(kp_metadata_req_encode(&wr, 0, &all), -EINVAL);
            ck_assert_uint_eq(kp_wr_len(&wr), 0);
            static const uint8_t null_v0[] = {0xff, 0xff, 0xff, 0xff};
            tm_check_forged(&c_md_req, 0, null_v0, sizeof null_v0, 0);
        } else {
            size_t len = tm_check(&c_md_req, v, &all, &o, buf, &a, out_mem, sizeof out_mem);
            ck_assert_int_eq(o.n_topics, -1);
            ck_assert(kp_metadata_req_all_topics(&o, v));
            ck_assert_uint_eq(len, v >= 4 ? 5 : 4);
        }
    }
}
END_TEST

START_TEST(test_metadata_req_v4_golden)
{
    /* A whole frame, shaped like librdkafka's (compare tests/fixtures/metadata_v4.bin). */
    static const struct kp_str topics[] = {TM_S("foo")};
    struct kp_metadata_req req = {1, topics, true};
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    size_t pos = kp_frame_begin(&wr);
    struct kp_req_hdr h = {KP_API_METADATA, 4, 2, TM_S("rdkafka")};
    ck_assert_int_eq(kp_req_hdr_encode(&wr, &h), 0);
    ck_assert_int_eq(kp_metadata_req_encode(&wr, 4, &req), 0);
    ck_assert_int_eq(kp_frame_end(&wr, pos), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0x00, 0x00, 0x00, 0x1b,       /* size 27 */
                 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02,    /* Metadata v4, corr 2 */
                 0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',     /* client_id */
                 0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 'f', 'o', 'o', /* topics */
                 0x01);                                             /* allow_auto_topic_creation */
}
END_TEST

static const int32_t md_replicas[] = {1, 2, 3};
static const int32_t md_isr[] = {3, 1};
static const struct kp_metadata_partition md_parts[] = {
    {0, 0, 1, TM_N(md_replicas), md_replicas, TM_N(md_isr), md_isr},
    {KP_ERR_LEADER_NOT_AVAILABLE, 7, -1, 0, NULL, 0, NULL},
};
static const struct kp_metadata_topic md_rtopics[] = {
    {0, TM_S("events"), false, TM_N(md_parts), md_parts},
    {KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, TM_S("missing"), true, 0, NULL},
};
static const struct kp_metadata_broker md_brokers[] = {
    {1, TM_S("127.0.0.1"), 9092, TM_S("rack-a")},
    {2, TM_S("localhost"), 19092, {NULL, -1}},
};

START_TEST(test_metadata_resp_round_trip)
{
    struct kp_metadata_resp resp = {
        .throttle_time_ms = 17,
        .n_brokers = TM_N(md_brokers),
        .brokers = md_brokers,
        .cluster_id = TM_S("splicelog-cluster"),
        .controller_id = 1,
        .n_topics = TM_N(md_rtopics),
        .topics = md_rtopics,
    };
    for (int16_t v = 0; v <= 4; v++) {
        struct kp_metadata_resp o;
        struct kp_arena a;
        tm_check(&c_md_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.throttle_time_ms, v >= 3 ? 17 : 0);
        ck_assert_int_eq(o.n_brokers, resp.n_brokers);
        for (int32_t i = 0; i < o.n_brokers; i++) {
            ck_assert_int_eq(o.brokers[i].node_id, md_brokers[i].node_id);
            tm_str_eq(o.brokers[i].host, md_brokers[i].host);
            ck_assert_int_eq(o.brokers[i].port, md_brokers[i].port);
            if (v >= 1)
                tm_str_eq(o.brokers[i].rack, md_brokers[i].rack);
            else
                tm_str_null(o.brokers[i].rack);
        }
        if (v >= 2)
            tm_str_eq(o.cluster_id, resp.cluster_id);
        else
            tm_str_null(o.cluster_id);
        ck_assert_int_eq(o.controller_id, v >= 1 ? 1 : -1);
        ck_assert_int_eq(o.n_topics, resp.n_topics);
        for (int32_t i = 0; i < o.n_topics; i++) {
            const struct kp_metadata_topic *t = &o.topics[i], *w = &md_rtopics[i];
            ck_assert_int_eq(t->error_code, w->error_code);
            tm_str_eq(t->name, w->name);
            ck_assert(t->is_internal == (v >= 1 ? w->is_internal : false));
            ck_assert_int_eq(t->n_partitions, w->n_partitions);
            for (int32_t j = 0; j < t->n_partitions; j++) {
                const struct kp_metadata_partition *p = &t->partitions[j], *q = &w->partitions[j];
                ck_assert_int_eq(p->error_code, q->error_code);
                ck_assert_int_eq(p->partition_index, q->partition_index);
                ck_assert_int_eq(p->leader_id, q->leader_id);
                tm_i32s_eq(p->n_replicas, p->replicas, q->n_replicas, q->replicas);
                tm_i32s_eq(p->n_isr, p->isr, q->n_isr, q->isr);
            }
        }
    }
    tm_check_bad_versions(&c_md_resp, &resp);

    /* Arrays that the version cannot carry: -EINVAL, nothing written. */
    struct kp_metadata_resp bad = resp;
    bad.n_brokers = -1;
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_metadata_resp_encode(&wr, 4, &bad), -EINVAL);
    struct kp_metadata_partition bad_part = md_parts[0];
    bad_part.n_isr = 2;
    bad_part.isr = NULL;
    struct kp_metadata_topic bad_topic = {0, TM_S("x"), false, 1, &bad_part};
    bad = resp;
    bad.n_topics = 1;
    bad.topics = &bad_topic;
    ck_assert_int_eq(kp_metadata_resp_encode(&wr, 4, &bad), -EINVAL);
    ck_assert_uint_eq(kp_wr_len(&wr), 0);
}
END_TEST

START_TEST(test_metadata_forged_counts)
{
    /* Request: topics count 2^31-1. */
    static const uint8_t req[] = {0x7f, 0xff, 0xff, 0xff, 0x00, 0x01, 'a', 0x01};
    for (int16_t v = 0; v <= 4; v++)
        tm_check_forged(&c_md_req, v, req, sizeof req, 0);
    /* Response v4: one broker, then a topic whose replica count is 2^31-1. */
    static const uint8_t resp[] = {
        0,    0,    0,    0,                                         /* throttle */
        0,    0,    0,    1,                                         /* brokers */
        0,    0,    0,    1,    0,   1, 'h', 0, 0, 0, 9, 0xff, 0xff, /* id, host, port, rack null */
        0xff, 0xff,                                                  /* cluster_id null */
        0,    0,    0,    1,                                         /* controller */
        0,    0,    0,    1,                                         /* topics */
        0,    0,    0,    1,    't', 0,                              /* error, name, is_internal */
        0,    0,    0,    1,                                         /* partitions */
        0,    0,    0,    0,    0,   0, 0,   0, 0, 1,                /* error, index, leader */
        0x7f, 0xff, 0xff, 0xff,                                      /* replicas: forged */
        0,    0,    0,    7,    0,   0, 0,   1, 0, 0, 0, 7};         /* (replica 7), isr [7] */
    struct kp_arena a;
    kp_arena_init(&a, tm_arena_mem, sizeof tm_arena_mem);
    /* What the decoder may allocate before the forged count: broker, topic, partition. */
    (void)kp_arena_alloc(&a, 1, sizeof(struct kp_metadata_broker));
    (void)kp_arena_alloc(&a, 1, sizeof(struct kp_metadata_topic));
    (void)kp_arena_alloc(&a, 1, sizeof(struct kp_metadata_partition));
    tm_check_forged(&c_md_resp, 4, resp, sizeof resp, a.used);
    /* Sanity: with a sane replica count the same bytes decode. */
    uint8_t fixed[sizeof resp];
    memcpy(fixed, resp, sizeof resp);
    size_t at = 4 + 4 + 13 + 2 + 4 + 4 + 6 + 4 + 10;
    ck_assert_uint_eq(fixed[at], 0x7f);
    kp_store_be32(fixed + at, 1);
    struct kp_rd rd;
    kp_rd_init(&rd, fixed, sizeof fixed);
    struct kp_metadata_resp o;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    ck_assert_int_eq(kp_metadata_resp_decode(&rd, 4, &a, &o), 0);
    ck_assert_int_eq(o.topics[0].partitions[0].n_replicas, 1);
    ck_assert_int_eq(o.topics[0].partitions[0].replicas[0], 7);
    ck_assert_int_eq(o.topics[0].partitions[0].isr[0], 7);
}
END_TEST

/* ---- CreateTopics / DeleteTopics ----------------------------------------------------------- */

static const int32_t ct_b0[] = {1, 2};
static const int32_t ct_b1[] = {2};
static const struct kp_create_topics_assignment ct_assign[] = {
    {0, TM_N(ct_b0), ct_b0},
    {1, TM_N(ct_b1), ct_b1},
};
static const struct kp_create_topics_config ct_configs[] = {
    {TM_S("retention.ms"), TM_S("3600000")},
    {TM_S("cleanup.policy"), {NULL, -1}},
};
static const struct kp_create_topics_topic ct_topics[] = {
    {TM_S("manual"), -1, -1, TM_N(ct_assign), ct_assign, 0, NULL},
    {TM_S("auto"), 6, 1, 0, NULL, TM_N(ct_configs), ct_configs},
};

START_TEST(test_create_topics_round_trip)
{
    struct kp_create_topics_req req = {TM_N(ct_topics), ct_topics, 30000, true};
    for (int16_t v = 0; v <= 4; v++) {
        struct kp_create_topics_req o;
        struct kp_arena a;
        tm_check(&c_ct_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_topics, req.n_topics);
        for (int32_t i = 0; i < o.n_topics; i++) {
            const struct kp_create_topics_topic *t = &o.topics[i], *w = &ct_topics[i];
            tm_str_eq(t->name, w->name);
            ck_assert_int_eq(t->num_partitions, w->num_partitions);
            ck_assert_int_eq(t->replication_factor, w->replication_factor);
            ck_assert_int_eq(t->n_assignments, w->n_assignments);
            for (int32_t j = 0; j < t->n_assignments; j++) {
                ck_assert_int_eq(t->assignments[j].partition_index,
                                 w->assignments[j].partition_index);
                tm_i32s_eq(t->assignments[j].n_broker_ids, t->assignments[j].broker_ids,
                           w->assignments[j].n_broker_ids, w->assignments[j].broker_ids);
            }
            ck_assert_int_eq(t->n_configs, w->n_configs);
            for (int32_t j = 0; j < t->n_configs; j++) {
                tm_str_eq(t->configs[j].name, w->configs[j].name);
                tm_str_eq(t->configs[j].value, w->configs[j].value);
            }
        }
        ck_assert_int_eq(o.timeout_ms, 30000);
        ck_assert(o.validate_only == (v >= 1));
    }
    tm_check_bad_versions(&c_ct_req, &req);

    static const struct kp_create_topics_result res[] = {
        {TM_S("manual"), 0, {NULL, -1}},
        {TM_S("auto"), KP_ERR_TOPIC_ALREADY_EXISTS, TM_S("Topic 'auto' already exists.")},
    };
    struct kp_create_topics_resp resp = {99, TM_N(res), res};
    for (int16_t v = 0; v <= 4; v++) {
        struct kp_create_topics_resp o;
        struct kp_arena a;
        tm_check(&c_ct_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.throttle_time_ms, v >= 2 ? 99 : 0);
        ck_assert_int_eq(o.n_topics, 2);
        for (int32_t i = 0; i < 2; i++) {
            tm_str_eq(o.topics[i].name, res[i].name);
            ck_assert_int_eq(o.topics[i].error_code, res[i].error_code);
            if (v >= 1)
                tm_str_eq(o.topics[i].error_message, res[i].error_message);
            else
                tm_str_null(o.topics[i].error_message);
        }
    }
    tm_check_bad_versions(&c_ct_resp, &resp);
}
END_TEST

START_TEST(test_create_topics_forged_counts)
{
    static const uint8_t top[] = {0x7f, 0xff, 0xff, 0xff, 0, 1, 'a', 0, 0, 0, 1, 0, 1,
                                  0,    0,    0,    0,    0, 0, 0,   0, 0, 0, 0, 0};
    tm_check_forged(&c_ct_req, 1, top, sizeof top, 0);
    /* One topic whose broker_ids count is forged. */
    static const uint8_t nested[] = {0,    0,    0,    1, /* topics */
                                     0,    1,    'a',  0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff,     /* name, -1, -1 */
                                     0,    0,    0,    1,        /* assignments */
                                     0,    0,    0,    0,        /* partition 0 */
                                     0x7f, 0xff, 0xff, 0xff,     /* broker_ids: forged */
                                     0,    0,    0,    0,        /* configs */
                                     0,    0,    0x75, 0x30, 0}; /* timeout, validate_only */
    struct kp_arena a;
    kp_arena_init(&a, tm_arena_mem, sizeof tm_arena_mem);
    (void)kp_arena_alloc(&a, 1, sizeof(struct kp_create_topics_topic));
    (void)kp_arena_alloc(&a, 1, sizeof(struct kp_create_topics_assignment));
    tm_check_forged(&c_ct_req, 1, nested, sizeof nested, a.used);
    /* Response v2: throttle, topics 2^31-1. */
    static const uint8_t resp[] = {0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 'a', 0, 0, 0xff, 0xff};
    tm_check_forged(&c_ct_resp, 2, resp, sizeof resp, 0);
}
END_TEST

START_TEST(test_delete_topics_round_trip)
{
    static const struct kp_str names[] = {TM_S("old"), TM_S("older")};
    struct kp_delete_topics_req req = {TM_N(names), names, 15000};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_delete_topics_req o;
        struct kp_arena a;
        tm_check(&c_dt_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_topics, 2);
        tm_str_eq(o.topic_names[0], names[0]);
        tm_str_eq(o.topic_names[1], names[1]);
        ck_assert_int_eq(o.timeout_ms, 15000);
    }
    tm_check_bad_versions(&c_dt_req, &req);

    static const struct kp_delete_topics_result res[] = {
        {TM_S("old"), 0},
        {TM_S("older"), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION},
    };
    struct kp_delete_topics_resp resp = {5, TM_N(res), res};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_delete_topics_resp o;
        struct kp_arena a;
        tm_check(&c_dt_resp, v, &resp, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.throttle_time_ms, v >= 1 ? 5 : 0);
        ck_assert_int_eq(o.n_results, 2);
        for (int32_t i = 0; i < 2; i++) {
            tm_str_eq(o.results[i].name, res[i].name);
            ck_assert_int_eq(o.results[i].error_code, res[i].error_code);
        }
    }
    tm_check_bad_versions(&c_dt_resp, &resp);

    static const uint8_t forged[] = {0x7f, 0xff, 0xff, 0xff, 0, 1, 'a', 0, 0, 0, 0};
    tm_check_forged(&c_dt_req, 0, forged, sizeof forged, 0);
    static const uint8_t forged_resp[] = {0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 'a', 0, 0};
    tm_check_forged(&c_dt_resp, 1, forged_resp, sizeof forged_resp, 0);
}
END_TEST

/* ---- field presence per version ------------------------------------------------------------ */

START_TEST(test_meta_sizes_per_version)
{
    /* Lengths counted by hand from the schemas: a field wrongly present or absent at some
     * version in both encoder and decoder survives a round trip, not these. */
    static const struct kp_api_range one = {18, 0, 3};
    struct kp_api_versions_resp av = {0, 1, &one, 0};
    static const size_t av_len[] = {12, 16, 16, 15}; /* +throttle v1; compact + tags v3 */
    for (int16_t v = 0; v <= 3; v++)
        ck_assert_uint_eq(enc_len(&c_av_resp, v, &av), av_len[v]);

    static const struct kp_str t = TM_S("t");
    struct kp_metadata_req mreq = {1, &t, true};
    static const struct kp_metadata_partition mp = {0, 0, 0, 0, NULL, 0, NULL};
    static const struct kp_metadata_topic mt = {0, TM_S("t"), false, 1, &mp};
    static const struct kp_metadata_broker mb = {0, TM_S("h"), 0, {NULL, -1}};
    struct kp_metadata_resp mresp = {0, 1, &mb, {NULL, -1}, 0, 1, &mt};
    /* v0 46; v1 +rack +controller_id +is_internal; v2 +cluster_id; v3 +throttle */
    static const size_t mresp_len[] = {46, 53, 55, 59, 59};
    for (int16_t v = 0; v <= 4; v++) {
        ck_assert_uint_eq(enc_len(&c_md_req, v, &mreq), v >= 4 ? 8 : 7);
        ck_assert_uint_eq(enc_len(&c_md_resp, v, &mresp), mresp_len[v]);
    }

    static const struct kp_create_topics_topic ct = {TM_S("t"), 1, 1, 0, NULL, 0, NULL};
    struct kp_create_topics_req creq = {1, &ct, 0, false};
    static const struct kp_create_topics_result cr = {TM_S("t"), 0, {NULL, -1}};
    struct kp_create_topics_resp cresp = {0, 1, &cr};
    static const size_t cresp_len[] = {9, 11, 15, 15, 15}; /* +error_message v1, +throttle v2 */
    for (int16_t v = 0; v <= 4; v++) {
        ck_assert_uint_eq(enc_len(&c_ct_req, v, &creq), v >= 1 ? 26 : 25);
        ck_assert_uint_eq(enc_len(&c_ct_resp, v, &cresp), cresp_len[v]);
    }

    struct kp_delete_topics_req dreq = {1, &t, 0};
    static const struct kp_delete_topics_result dr = {TM_S("t"), 0};
    struct kp_delete_topics_resp dresp = {0, 1, &dr};
    for (int16_t v = 0; v <= 3; v++) {
        ck_assert_uint_eq(enc_len(&c_dt_req, v, &dreq), 11);
        ck_assert_uint_eq(enc_len(&c_dt_resp, v, &dresp), v >= 1 ? 13 : 9);
    }
}
END_TEST

static Suite *kp_msg_suite(void)
{
    Suite *s = suite_create("kp_msg");
    TCase *api = tcase_create("api");
    tcase_add_test(api, test_api_advertised_table);
    tcase_add_test(api, test_api_codec_ranges);
    tcase_add_test(api, test_api_flexible_and_header_versions);
    tcase_add_test(api, test_err_names);
    suite_add_tcase(s, api);

    TCase *hdr = tcase_create("headers");
    tcase_add_test(hdr, test_req_hdr_v1_golden_and_round_trip);
    tcase_add_test(hdr, test_req_hdr_v2_for_api_versions_v3);
    tcase_add_test(hdr, test_resp_hdr);
    tcase_add_test(hdr, test_framing);
    suite_add_tcase(s, hdr);

    TCase *av = tcase_create("api_versions");
    tcase_add_test(av, test_api_versions_req_round_trip);
    tcase_add_test(av, test_api_versions_req_v3_skips_tags_rejects_null);
    tcase_add_test(av, test_api_versions_resp_round_trip);
    tcase_add_test(av, test_api_versions_resp_v0_golden);
    tcase_add_test(av, test_api_versions_resp_v3_golden);
    tcase_add_test(av, test_api_versions_fallback_golden);
    tcase_add_test(av, test_api_versions_resp_v3_skips_tagged_fields);
    tcase_add_test(av, test_api_versions_forged_counts);
    suite_add_tcase(s, av);

    TCase *md = tcase_create("metadata");
    tcase_add_test(md, test_metadata_req_round_trip);
    tcase_add_test(md, test_metadata_req_v4_golden);
    tcase_add_test(md, test_metadata_resp_round_trip);
    tcase_add_test(md, test_metadata_forged_counts);
    suite_add_tcase(s, md);

    TCase *adm = tcase_create("admin");
    tcase_add_test(adm, test_create_topics_round_trip);
    tcase_add_test(adm, test_create_topics_forged_counts);
    tcase_add_test(adm, test_delete_topics_round_trip);
    tcase_add_test(adm, test_meta_sizes_per_version);
    suite_add_tcase(s, adm);
    return s;
}

int main(void) { return tb_ck_run(kp_msg_suite()); }
