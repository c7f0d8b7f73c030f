/*
 * test_br_dispatch — br_dispatch and the API handlers against a real store in a temporary
 * directory, with no socket and no loop (tests/support/tb_ctx.h is the host).
 *
 * The requests are the frames kcat sent (tests/fixtures, README there); the responses are
 * checked byte for byte against layouts written out here by hand from Kafka's message schemas
 * (so proto's encoders are checked, not trusted), file ranges included. The rest drives what a
 * loop would: a long poll parked until an append or its deadline, a produce with acks=0, the
 * admin thread's jobs (auto-creation, CreateTopics), a JoinGroup answered through a post, and
 * the requests dispatch refuses (unknown version, header that does not parse).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_ctx.h"
#include "kp_api.h"
#include "kp_buf.h"
#include "kp_msg.h"
#include "kp_msg_cluster.h"
#include "kp_msg_config.h"
#include "kp_msg_groups_admin.h"
#include "kp_msg_txn.h"
#include "tb_ctx.h"

#define TOPIC "splicelog-fixture"

static struct tb_host H;

struct blob {
    uint8_t *p;
    size_t n;
};

static struct blob load(const char *name)
{
    const char *root = getenv("SPLICELOG_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/%s.bin", root && *root ? root : ".", name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (set SPLICELOG_ROOT or run from the repo)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    struct blob b = {malloc((size_t)n), (size_t)n};
    ck_assert_uint_eq(fread(b.p, 1, b.n, f), b.n);
    fclose(f);
    return b;
}

/* ---- a hand-written expected frame -------------------------------------------------------- */

struct exp {
    uint8_t b[4096];
    size_t n;
};

static void e_u8(struct exp *e, uint8_t v) { e->b[e->n++] = v; }
static void e_i16(struct exp *e, int16_t v)
{
    e_u8(e, (uint8_t)((uint16_t)v >> 8));
    e_u8(e, (uint8_t)v);
}
static void e_i32(struct exp *e, int32_t v)
{
    for (int s = 24; s >= 0; s -= 8)
        e_u8(e, (uint8_t)((uint32_t)v >> s));
}
static void e_i64(struct exp *e, int64_t v)
{
    for (int s = 56; s >= 0; s -= 8)
        e_u8(e, (uint8_t)((uint64_t)v >> s));
}
static void e_str(struct exp *e, const char *s)
{
    e_i16(e, (int16_t)strlen(s));
    memcpy(e->b + e->n, s, strlen(s));
    e->n += strlen(s);
}
static void e_raw(struct exp *e, const void *p, size_t n)
{
    memcpy(e->b + e->n, p, n);
    e->n += n;
}
/* size prefix (patched by e_end) and correlation id: response header v0 */
static void e_begin(struct exp *e, int32_t corr)
{
    e->n = 0;
    e_i32(e, 0);
    e_i32(e, corr);
}
static void e_end(struct exp *e)
{
    uint32_t sz = (uint32_t)(e->n - 4);
    e->b[0] = (uint8_t)(sz >> 24);
    e->b[1] = (uint8_t)(sz >> 16);
    e->b[2] = (uint8_t)(sz >> 8);
    e->b[3] = (uint8_t)sz;
}

static void expect_frame(const struct br_resp *r, const struct exp *e)
{
    uint8_t *got = NULL;
    ssize_t n = tb_resp_flatten(r, &got);
    ck_assert_int_ge(n, 0);
    for (size_t i = 0; i < e->n && i < (size_t)n; i++)
        ck_assert_msg(got[i] == e->b[i], "byte %zu: got %02x want %02x", i, got[i], e->b[i]);
    ck_assert_int_eq((size_t)n, e->n);
    free(got);
}

/* Dispatches a fixture; the response must be ready. */
static struct br_resp *call_fixture(const char *name, int want_rc)
{
    struct blob b = load(name);
    struct br_resp *r;
    int rc = tb_host_call(&H, b.p, b.n, &r);
    free(b.p);
    ck_assert_int_eq(rc, want_rc);
    return r;
}

/* A request frame built with proto's encoders (the request side is not what is checked). */
struct req {
    uint8_t b[4096];
    struct kp_wr w;
    size_t pos;
};

static void req_begin(struct req *q, int16_t key, int16_t v, int32_t corr)
{
    kp_wr_init(&q->w, q->b, sizeof q->b);
    q->pos = kp_frame_begin(&q->w);
    struct kp_req_hdr h = {key, v, corr, kp_str_of("t")};
    ck_assert_int_eq(kp_req_hdr_encode(&q->w, &h), 0);
}

static int req_call(struct req *q, struct br_resp **r)
{
    ck_assert_int_eq(kp_frame_end(&q->w, q->pos), 0);
    return tb_host_call(&H, q->b, kp_wr_len(&q->w), r);
}

static void setup(void)
{
    static const char *const kv[] = {"num.partitions=1", "group.initial.rebalance.delay.ms=0",
                                     NULL};
    ck_assert_int_eq(tb_host_open(&H, kv), 0);
}

static void teardown(void) { tb_host_close(&H); }

/* The metadata fixture creates the topic (admin job), the produce fixture appends 3 records. */
static void create_and_produce(void)
{
    struct br_resp *r = call_fixture("metadata_v4", BR_REPLY);
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_PARKED); /* auto-creation on the admin thread */
    ck_assert_int_eq(tb_host_turn(&H), 1);
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_READY);
    tb_host_free_resp(&H, r);
    r = call_fixture("produce_v7", BR_REPLY);
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_READY);
    tb_host_free_resp(&H, r);
    ck_assert_int_eq(tb_host_turn(&H), 0); /* the append's notification: nobody waits */
}

/* ---- golden responses to kcat's requests -------------------------------------------------- */

START_TEST(api_versions_v3_golden)
{
    struct br_resp *r = call_fixture("apiversions_v3", BR_REPLY);
    struct exp e;
    e_begin(&e, 1); /* header v0 even at v3 */
    e_i16(&e, 0);   /* error_code */
    e_u8(&e, 43);   /* compact array: 42 + 1 */
    static const int16_t rows[][3] = {
        {0, 0, 9},  {1, 4, 13}, {2, 0, 7},  {3, 0, 12}, {8, 0, 8},  {9, 1, 7},  {10, 0, 4},
        {11, 0, 9}, {12, 0, 4}, {13, 0, 5}, {14, 0, 5}, {15, 0, 5}, {16, 0, 5}, {17, 0, 1},
        {18, 0, 3}, {19, 0, 7}, {20, 0, 6}, {21, 0, 2}, {22, 0, 4}, {23, 2, 4}, {24, 0, 3},
        {25, 0, 3}, {26, 0, 3}, {27, 1, 1}, {28, 0, 3}, {29, 1, 3}, {30, 1, 3}, {31, 1, 3},
        {32, 0, 4}, {33, 0, 2}, {35, 1, 4}, {36, 0, 2}, {37, 0, 3}, {42, 0, 2}, {43, 0, 2},
        {44, 0, 1}, {47, 0, 0}, {48, 0, 1}, {49, 0, 1}, {50, 0, 0}, {51, 0, 0}, {60, 0, 1}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        e_i16(&e, rows[i][0]);
        e_i16(&e, rows[i][1]);
        e_i16(&e, rows[i][2]);
        e_u8(&e, 0); /* tags */
    }
    e_i32(&e, 0); /* throttle_time_ms */
    e_u8(&e, 0);  /* tags */
    e_end(&e);
    expect_frame(r, &e);
    tb_host_free_resp(&H, r);
}
END_TEST

START_TEST(metadata_v4_auto_creates_golden)
{
    struct br_resp *r = call_fixture("metadata_v4", BR_REPLY);
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_PARKED);
    ck_assert_int_eq(tb_host_turn(&H), 1);
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_READY);
    struct exp e;
    e_begin(&e, 2);
    e_i32(&e, 0); /* throttle_time_ms */
    e_i32(&e, 1); /* brokers: this node, at the peer's advertised address */
    e_i32(&e, 0);
    e_str(&e, "127.0.0.1");
    e_i32(&e, 9092);
    e_i16(&e, -1);          /* rack null */
    e_str(&e, "splicelog"); /* cluster_id */
    e_i32(&e, 0);           /* controller_id */
    e_i32(&e, 1);           /* topics */
    e_i16(&e, 0);
    e_str(&e, TOPIC);
    e_u8(&e, 0);  /* is_internal */
    e_i32(&e, 1); /* partitions */
    e_i16(&e, 0);
    e_i32(&e, 0); /* partition_index */
    e_i32(&e, 0); /* leader */
    e_i32(&e, 1); /* replicas [0] */
    e_i32(&e, 0);
    e_i32(&e, 1); /* isr [0] */
    e_i32(&e, 0);
    e_end(&e);
    expect_frame(r, &e);
    tb_host_free_resp(&H, r);
    /* the second time the topic exists: answered at once, the same bytes */
    r = call_fixture("metadata_v4", BR_REPLY);
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_READY);
    expect_frame(r, &e);
    tb_host_free_resp(&H, r);
}
END_TEST

START_TEST(produce_list_offsets_fetch_golden)
{
    struct br_resp *r = call_fixture("metadata_v4", BR_REPLY);
    tb_host_turn(&H);
    tb_host_free_resp(&H, r);

    r = call_fixture("produce_v7", BR_REPLY);
    struct exp e;
    e_begin(&e, 3);
    e_i32(&e, 1);
    e_str(&e, TOPIC);
    e_i32(&e, 1);
    e_i32(&e, 0);  /* partition */
    e_i16(&e, 0);  /* error */
    e_i64(&e, 0);  /* base_offset */
    e_i64(&e, -1); /* log_append_time: CreateTime topic */
    e_i64(&e, 0);  /* log_start_offset */
    e_i32(&e, 0);  /* throttle_time_ms, last */
    e_end(&e);
    expect_frame(r, &e);
    tb_host_free_resp(&H, r);
    ck_assert_int_eq(H.notified[BR_WAIT_APPEND], 1); /* parked fetches would look again */

    const char *lo[] = {"listoffsets_v2", "listoffsets_v2_latest"};
    for (int k = 0; k < 2; k++) {
        r = call_fixture(lo[k], BR_REPLY);
        e_begin(&e, 4);
        e_i32(&e, 0); /* throttle_time_ms */
        e_i32(&e, 1);
        e_str(&e, TOPIC);
        e_i32(&e, 1);
        e_i32(&e, 0);
        e_i16(&e, 0);
        e_i64(&e, -1);        /* timestamp */
        e_i64(&e, k ? 3 : 0); /* earliest 0, latest = log end 3 */
        e_end(&e);
        expect_frame(r, &e);
        tb_host_free_resp(&H, r);
    }

    r = call_fixture("fetch_v11", BR_REPLY);
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_READY); /* data there: not parked */
    struct blob pr = load("produce_v7");
    const uint8_t *batch = pr.p + 64; /* the fixture's RecordBatch, 157 bytes (README) */
    e_begin(&e, 5);
    e_i32(&e, 0); /* throttle_time_ms */
    e_i16(&e, 0); /* error_code */
    e_i32(&e, 0); /* session_id */
    e_i32(&e, 1);
    e_str(&e, TOPIC);
    e_i32(&e, 1);
    e_i32(&e, 0);   /* partition */
    e_i16(&e, 0);   /* error */
    e_i64(&e, 3);   /* high_watermark */
    e_i64(&e, 3);   /* last_stable_offset */
    e_i64(&e, 0);   /* log_start_offset */
    e_i32(&e, 0);   /* aborted_transactions: empty */
    e_i32(&e, -1);  /* preferred_read_replica */
    e_i32(&e, 157); /* records: the stored batch, from its file */
    e_raw(&e, batch, 157);
    e_end(&e);
    ck_assert_int_ge(r->npieces, 2); /* header bytes, then the file range */
    expect_frame(r, &e);
    free(pr.p);
    tb_host_free_resp(&H, r);
}
END_TEST

/* ---- waiting ------------------------------------------------------------------------------ */

static void fetch_req(struct req *q, int32_t corr, int32_t max_wait, int64_t offset)
{
    req_begin(q, KP_API_FETCH, 11, corr);
    struct kp_fetch_req_partition p = {.partition = 0,
                                       .current_leader_epoch = -1,
                                       .fetch_offset = offset,
                                       .log_start_offset = -1,
                                       .partition_max_bytes = 1 << 20};
    struct kp_fetch_req_topic t = {.topic = kp_str_of(TOPIC), .n_partitions = 1, .partitions = &p};
    struct kp_fetch_req f = {.replica_id = -1,
                             .max_wait_ms = max_wait,
                             .min_bytes = 1,
                             .max_bytes = 1 << 20,
                             .isolation_level = 1,
                             .session_epoch = -1,
                             .n_topics = 1,
                             .topics = &t,
                             .rack_id = kp_str_of("")};
    ck_assert_int_eq(kp_fetch_req_encode(&q->w, 11, &f), 0);
}

/* records of a fetch v11 response (one topic, one partition) */
static int32_t fetched_bytes(const struct br_resp *r)
{
    uint8_t *b;
    ssize_t n = tb_resp_flatten(r, &b);
    ck_assert_int_gt(n, 0);
    struct kp_rd rd;
    kp_rd_init(&rd, b + 8, (size_t)n - 8); /* size, correlation id */
    struct kp_fetch_resp fr;
    static _Alignas(max_align_t) uint8_t mem[1 << 14];
    struct kp_arena a;
    kp_arena_init(&a, mem, sizeof mem);
    ck_assert_int_eq(kp_fetch_resp_decode(&rd, 11, &a, &fr), 0);
    int32_t len = fr.topics[0].partitions[0].records.len;
    free(b);
    return len;
}

START_TEST(long_poll_parks_until_append)
{
    struct br_resp *r = call_fixture("metadata_v4", BR_REPLY);
    tb_host_turn(&H);
    tb_host_free_resp(&H, r);

    struct req q;
    fetch_req(&q, 40, 500, 0);
    struct br_resp *f;
    ck_assert_int_eq(req_call(&q, &f), BR_REPLY);
    ck_assert_int_eq(tb_host_state(&H, f), TB_RESP_PARKED);
    ck_assert_int_eq(tb_host_turn(&H), 0); /* nothing happened */

    r = call_fixture("produce_v7", BR_REPLY); /* notifies APPEND */
    tb_host_free_resp(&H, r);
    ck_assert_int_eq(tb_host_turn(&H), 1);
    ck_assert_int_eq(tb_host_state(&H, f), TB_RESP_READY);
    ck_assert_int_eq(fetched_bytes(f), 157);
    tb_host_free_resp(&H, f);
}
END_TEST

START_TEST(long_poll_answers_empty_at_deadline)
{
    create_and_produce();
    struct req q;
    fetch_req(&q, 41, 500, 3); /* at the end: nothing to send */
    struct br_resp *f;
    ck_assert_int_eq(req_call(&q, &f), BR_REPLY);
    ck_assert_int_eq(tb_host_state(&H, f), TB_RESP_PARKED);
    H.now_ms += 499;
    ck_assert_int_eq(tb_host_turn(&H), 0);
    H.now_ms += 1;
    ck_assert_int_eq(tb_host_turn(&H), 1);
    ck_assert_int_eq(tb_host_state(&H, f), TB_RESP_READY);
    ck_assert_int_eq(fetched_bytes(f), 0);
    tb_host_free_resp(&H, f);

    /* stopping answers a long poll at once */
    fetch_req(&q, 42, 60000, 3);
    ck_assert_int_eq(req_call(&q, &f), BR_REPLY);
    ck_assert_int_eq(tb_host_state(&H, f), TB_RESP_PARKED);
    tb_host_stop(&H);
    ck_assert_int_eq(tb_host_turn(&H), 1);
    ck_assert_int_eq(tb_host_state(&H, f), TB_RESP_READY);
    tb_host_free_resp(&H, f);
}
END_TEST

START_TEST(produce_acks0_no_reply)
{
    create_and_produce();
    struct blob b = load("produce_v7");
    b.p[4 + 2 + 2 + 4 + 2 + 7 + 2] = 0x00; /* acks -1 -> 0 (after transactional_id null) */
    b.p[4 + 2 + 2 + 4 + 2 + 7 + 2 + 1] = 0x00;
    struct br_resp *r;
    ck_assert_int_eq(tb_host_call(&H, b.p, b.n, &r), BR_NO_REPLY);
    tb_host_free_resp(&H, r);
    free(b.p);
}
END_TEST

START_TEST(join_group_answers_through_a_post)
{
    struct req q;
    req_begin(&q, KP_API_JOIN_GROUP, 4, 50);
    struct kp_join_group_protocol p = {kp_str_of("range"), {(const uint8_t *)"m", 1}};
    struct kp_join_group_req jr = {.group_id = kp_str_of("g"),
                                   .session_timeout_ms = 10000,
                                   .rebalance_timeout_ms = 10000,
                                   .member_id = kp_str_of(""),
                                   .group_instance_id = KP_STR_NULL,
                                   .protocol_type = kp_str_of("consumer"),
                                   .n_protocols = 1,
                                   .protocols = &p};
    ck_assert_int_eq(kp_join_group_req_encode(&q.w, 4, &jr), 0);
    struct br_resp *r;
    ck_assert_int_eq(req_call(&q, &r), BR_REPLY);
    /* KIP-394: answered at once by the coordinator, but through the post like every answer */
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_PARKED);
    ck_assert_int_eq(tb_host_turn(&H), 1);
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_READY);
    uint8_t *b;
    ssize_t n = tb_resp_flatten(r, &b);
    ck_assert_int_gt(n, 14);
    ck_assert_int_eq((int16_t)kp_load_be16(b + 12), KP_ERR_MEMBER_ID_REQUIRED); /* after throttle */
    free(b);
    tb_host_free_resp(&H, r);
}
END_TEST

START_TEST(create_topics_on_the_admin_thread)
{
    struct req q;
    req_begin(&q, KP_API_CREATE_TOPICS, 4, 60);
    struct kp_create_topics_topic t = {
        .name = kp_str_of("made"), .num_partitions = 2, .replication_factor = 1};
    struct kp_create_topics_req cr = {.n_topics = 1, .topics = &t, .timeout_ms = 1000};
    ck_assert_int_eq(kp_create_topics_req_encode(&q.w, 4, &cr), 0);
    struct br_resp *r;
    ck_assert_int_eq(req_call(&q, &r), BR_REPLY);
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_PARKED);
    ck_assert_int_eq(st_topic_partitions(H.x.store, "made", 4), -ENOENT); /* not yet */
    ck_assert_int_eq(tb_host_turn(&H), 1);
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_READY);
    ck_assert_int_eq(st_topic_partitions(H.x.store, "made", 4), 2);
    tb_host_free_resp(&H, r);
}
END_TEST

/* InitProducerId v4 (flexible) and EndTxn v3 go through the admin job; their answers decode. */
START_TEST(transaction_requests_on_the_admin_thread)
{
    struct req q;
    req_begin(&q, KP_API_INIT_PRODUCER_ID, 4, 61); /* request header v2 */
    struct kp_init_producer_id_req ir = {
        .transactional_id = kp_str_of("tx"), .transaction_timeout_ms = 60000, -1, -1};
    ck_assert_int_eq(kp_init_producer_id_req_encode(&q.w, 4, &ir), 0);
    struct br_resp *r;
    ck_assert_int_eq(req_call(&q, &r), BR_REPLY);
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_PARKED);
    ck_assert_int_eq(tb_host_turn(&H), 1);
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_READY);
    uint8_t *b;
    ssize_t n = tb_resp_flatten(r, &b);
    ck_assert_int_gt(n, 8);
    struct kp_rd rd;
    kp_rd_init(&rd, b + 4, (size_t)n - 4);
    int32_t corr = 0;
    ck_assert_int_eq(kp_resp_hdr_decode(&rd, KP_API_INIT_PRODUCER_ID, 4, &corr), 0);
    ck_assert_int_eq(corr, 61);
    struct kp_init_producer_id_resp ip;
    uint8_t mem[256];
    struct kp_arena a;
    kp_arena_init(&a, mem, sizeof mem);
    ck_assert_int_eq(kp_init_producer_id_resp_decode(&rd, 4, &a, &ip), 0);
    ck_assert_int_eq(kp_rd_left(&rd), 0);
    ck_assert_int_eq(ip.error_code, KP_ERR_NONE);
    ck_assert_int_ge(ip.producer_id, 0);
    ck_assert_int_eq(ip.producer_epoch, 0);
    free(b);
    tb_host_free_resp(&H, r);
    /* nothing to end yet: INVALID_TXN_STATE */
    req_begin(&q, KP_API_END_TXN, 3, 62);
    struct kp_end_txn_req er = {kp_str_of("tx"), ip.producer_id, ip.producer_epoch, true};
    ck_assert_int_eq(kp_end_txn_req_encode(&q.w, 3, &er), 0);
    ck_assert_int_eq(req_call(&q, &r), BR_REPLY);
    ck_assert_int_eq(tb_host_turn(&H), 1);
    n = tb_resp_flatten(r, &b);
    kp_rd_init(&rd, b + 4, (size_t)n - 4);
    ck_assert_int_eq(kp_resp_hdr_decode(&rd, KP_API_END_TXN, 3, &corr), 0);
    struct kp_end_txn_resp et;
    ck_assert_int_eq(kp_end_txn_resp_decode(&rd, 3, &a, &et), 0);
    ck_assert_int_eq(et.error_code, KP_ERR_INVALID_TXN_STATE);
    free(b);
    tb_host_free_resp(&H, r);
}
END_TEST

/* ---- what dispatch refuses --------------------------------------------------------------- */

START_TEST(unsupported_version_closes)
{
    struct req q;
    fetch_req(&q, 70, 0, 0);
    q.b[4 + 3] = 3; /* Fetch v3: below the advertised range (KIP-896) */
    struct br_resp *r;
    ck_assert_int_eq(req_call(&q, &r), -EPROTONOSUPPORT);
    tb_host_free_resp(&H, r);
    req_begin(&q, 99, 0, 71); /* unknown key */
    ck_assert_int_eq(req_call(&q, &r), -EPROTONOSUPPORT);
    tb_host_free_resp(&H, r);
}
END_TEST

START_TEST(api_versions_fallback_golden)
{
    /* ApiVersions v9 (flexible header a future client sends): the v0 answer, UNSUPPORTED_VERSION
     * and our own ApiVersions row (kafka-protocol-notes.md §2) */
    static const uint8_t req[] = {0, 0, 0, 12, 0, 18, 0, 9, 0, 0, 0, 77, 0, 1, 't', 0};
    struct br_resp *r;
    ck_assert_int_eq(tb_host_call(&H, req, sizeof req, &r), BR_REPLY);
    struct exp e;
    e_begin(&e, 77);
    e_i16(&e, KP_ERR_UNSUPPORTED_VERSION);
    e_i32(&e, 1);
    e_i16(&e, 18);
    e_i16(&e, 0);
    e_i16(&e, 3);
    e_end(&e);
    expect_frame(r, &e);
    tb_host_free_resp(&H, r);
}
END_TEST

START_TEST(header_that_does_not_parse)
{
    static const uint8_t req[] = {0, 0, 0, 9, 0, 3, 0, 4, 0, 0, 0, 1, 0}; /* client id cut */
    struct br_resp *r;
    ck_assert_int_lt(tb_host_call(&H, req, sizeof req, &r), 0);
    tb_host_free_resp(&H, r);
    static const uint8_t body[] = {0, 0, 0, 12, 0, 3, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0xff};
    ck_assert_int_lt(tb_host_call(&H, body, sizeof body, &r), 0); /* Metadata body malformed */
    tb_host_free_resp(&H, r);
}
END_TEST

/* ---- librdkafka's admin requests (tests/fixtures/admin_*.bin) ---------------------------- */

static uint8_t admin_arena[1 << 16];

/* Dispatches an admin fixture, runs the admin thread's job if it parked, and leaves rd at the
 * response body (the frame is *raw's: free it). */
static void admin_call(const char *name, struct kp_rd *rd, uint8_t **raw)
{
    struct blob b = load(name);
    int16_t key = (int16_t)kp_load_be16(b.p + 4), v = (int16_t)kp_load_be16(b.p + 6);
    struct br_resp *r;
    int rc = tb_host_call(&H, b.p, b.n, &r);
    free(b.p);
    ck_assert_msg(rc == BR_REPLY, "%s: dispatch %d", name, rc);
    for (int i = 0; i < 4 && tb_host_state(&H, r) == TB_RESP_PARKED; i++)
        tb_host_turn(&H);
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_READY);
    ssize_t n = tb_resp_flatten(r, raw);
    tb_host_free_resp(&H, r);
    size_t hdr = 4 + kp_resp_hdr_size(key, v);
    ck_assert_int_ge(n, (ssize_t)hdr);
    kp_rd_init(rd, *raw + hdr, (size_t)n - hdr);
}

static struct kp_arena admin_mem(void)
{
    struct kp_arena a;
    kp_arena_init(&a, admin_arena, sizeof admin_arena);
    return a;
}

static const char *retention_of(void)
{
    static char v[32];
    struct kp_rd rd;
    uint8_t *raw;
    admin_call("admin_describeconfigs_v1", &rd, &raw);
    struct kp_arena a = admin_mem();
    struct kp_describe_configs_resp dc;
    ck_assert_int_eq(kp_describe_configs_resp_decode(&rd, 1, &a, &dc), 0);
    ck_assert_int_eq(dc.results[0].error_code, 0);
    v[0] = 0;
    for (int32_t i = 0; i < dc.results[0].n_configs; i++) {
        const struct kp_describe_configs_entry *e = &dc.results[0].configs[i];
        if (kp_str_eq(e->name, "retention.ms")) {
            snprintf(v, sizeof v, "%.*s", e->value.len, e->value.ptr);
            ck_assert_int_eq(e->config_source, KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
            ck_assert_int_eq(e->n_synonyms, 2); /* the topic's, then log.retention.ms's default */
        }
    }
    free(raw);
    return v;
}

/* What librdkafka 2.0.2's admin API sends, in order, through dispatch and the handlers:
 * CreateTopics v4 with a config, DescribeConfigs v1, AlterConfigs v0, CreatePartitions v0,
 * OffsetCommit v7 / OffsetFetch v7, ListGroups v4 (with its stray trailing tag buffer),
 * DescribeGroups v4, OffsetDelete v0, DeleteGroups v1, DeleteTopics v1. */
START_TEST(librdkafka_admin_requests)
{
    struct kp_rd rd;
    uint8_t *raw;
    struct kp_arena a = admin_mem();
    admin_call("admin_createtopics_v4", &rd, &raw);
    struct kp_create_topics_resp ct;
    ck_assert_int_eq(kp_create_topics_resp_decode(&rd, 4, &a, &ct), 0);
    ck_assert_int_eq(ct.topics[0].error_code, 0);
    free(raw);
    ck_assert_str_eq(retention_of(), "1000");

    admin_call("admin_alterconfigs_v0", &rd, &raw);
    a = admin_mem();
    struct kp_alter_configs_resp ac;
    ck_assert_int_eq(kp_alter_configs_resp_decode(&rd, 0, &a, &ac), 0);
    ck_assert_int_eq(ac.responses[0].error_code, 0);
    free(raw);
    ck_assert_str_eq(retention_of(), "5000");

    admin_call("admin_createpartitions_v0", &rd, &raw);
    a = admin_mem();
    struct kp_create_partitions_resp cp;
    ck_assert_int_eq(kp_create_partitions_resp_decode(&rd, 0, &a, &cp), 0);
    ck_assert_int_eq(cp.results[0].error_code, 0);
    free(raw);
    ck_assert_int_eq(st_topic_partitions(H.x.store, "t", 1), 4);

    admin_call("admin_offsetcommit_v7", &rd, &raw);
    free(raw);
    admin_call("admin_offsetfetch_v7", &rd, &raw);
    a = admin_mem();
    struct kp_offset_fetch_resp of;
    ck_assert_int_eq(kp_offset_fetch_resp_decode(&rd, 7, &a, &of), 0);
    ck_assert_int_eq(of.topics[0].partitions[0].committed_offset, 5);
    ck_assert_int_eq(of.topics[0].partitions[0].committed_leader_epoch, -1);
    free(raw);

    admin_call("admin_listgroups_v4", &rd, &raw);
    a = admin_mem();
    struct kp_list_groups_resp lg;
    ck_assert_int_eq(kp_list_groups_resp_decode(&rd, 4, &a, &lg), 0);
    ck_assert_int_eq(lg.n_groups, 1);
    ck_assert(kp_str_eq(lg.groups[0].group_id, "g"));
    ck_assert(kp_str_eq(lg.groups[0].group_state, "Empty"));
    free(raw);

    admin_call("admin_describegroups_v4", &rd, &raw);
    a = admin_mem();
    struct kp_describe_groups_resp dg;
    ck_assert_int_eq(kp_describe_groups_resp_decode(&rd, 4, &a, &dg), 0);
    ck_assert_int_eq(dg.groups[0].error_code, 0);
    ck_assert(kp_str_eq(dg.groups[0].group_state, "Empty"));
    free(raw);

    admin_call("admin_offsetdelete_v0", &rd, &raw);
    a = admin_mem();
    struct kp_offset_delete_resp od;
    ck_assert_int_eq(kp_offset_delete_resp_decode(&rd, 0, &a, &od), 0);
    ck_assert_int_eq(od.error_code, 0);
    ck_assert_int_eq(od.topics[0].partitions[0].error_code, 0);
    free(raw);

    admin_call("admin_deletegroups_v1", &rd, &raw);
    a = admin_mem();
    struct kp_delete_groups_resp dl;
    ck_assert_int_eq(kp_delete_groups_resp_decode(&rd, 1, &a, &dl), 0);
    ck_assert_int_eq(dl.results[0].error_code, KP_ERR_GROUP_ID_NOT_FOUND); /* nothing left */
    free(raw);

    admin_call("admin_deletetopics_v1", &rd, &raw);
    a = admin_mem();
    struct kp_delete_topics_resp dt;
    ck_assert_int_eq(kp_delete_topics_resp_decode(&rd, 1, &a, &dt), 0);
    ck_assert_int_eq(dt.results[0].error_code, 0);
    free(raw);
}
END_TEST

/* librdkafka 2.0.2's ListConsumerGroupOffsets for all partitions (OffsetFetch v7, topics null)
 * reserves four bytes for the array count and never shrinks them to the one-byte compact null:
 * three zero bytes follow the body. Kafka reads the body and ignores them; so must we. */
START_TEST(offset_fetch_all_topics_with_stray_bytes)
{
    struct kp_rd rd;
    uint8_t *raw;
    admin_call("admin_createtopics_v4", &rd, &raw);
    free(raw);
    admin_call("admin_offsetcommit_v7", &rd, &raw);
    free(raw);
    struct req q;
    req_begin(&q, KP_API_OFFSET_FETCH, 7, 90);
    kp_wr_cstr(&q.w, kp_str_of("g"));
    static const uint8_t rest[] = {0, 0, 0, 0, /* null topics + 3 stray */ 0, /* require_stable */
                                   0 /* tags */};
    kp_wr_raw(&q.w, rest, sizeof rest);
    struct br_resp *r;
    ck_assert_int_eq(req_call(&q, &r), BR_REPLY);
    for (int i = 0; i < 4 && tb_host_state(&H, r) == TB_RESP_PARKED; i++)
        tb_host_turn(&H);
    ck_assert_int_eq(tb_host_state(&H, r), TB_RESP_READY);
    ssize_t n = tb_resp_flatten(r, &raw);
    tb_host_free_resp(&H, r);
    size_t hdr = 4 + kp_resp_hdr_size(KP_API_OFFSET_FETCH, 7);
    ck_assert_int_ge(n, (ssize_t)hdr);
    kp_rd_init(&rd, raw + hdr, (size_t)n - hdr);
    struct kp_arena a = admin_mem();
    struct kp_offset_fetch_resp of;
    ck_assert_int_eq(kp_offset_fetch_resp_decode(&rd, 7, &a, &of), 0);
    ck_assert_int_eq(of.error_code, 0);
    ck_assert_int_eq(of.n_topics, 1);
    ck_assert_int_eq(of.topics[0].partitions[0].committed_offset, 5);
    free(raw);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_dispatch");
    TCase *g = tcase_create("golden");
    tcase_add_checked_fixture(g, setup, teardown);
    tcase_add_test(g, api_versions_v3_golden);
    tcase_add_test(g, metadata_v4_auto_creates_golden);
    tcase_add_test(g, produce_list_offsets_fetch_golden);
    tcase_add_test(g, api_versions_fallback_golden);
    tcase_add_test(g, librdkafka_admin_requests);
    tcase_add_test(g, offset_fetch_all_topics_with_stray_bytes);
    suite_add_tcase(s, g);
    TCase *w = tcase_create("waiting");
    tcase_add_checked_fixture(w, setup, teardown);
    tcase_add_test(w, long_poll_parks_until_append);
    tcase_add_test(w, long_poll_answers_empty_at_deadline);
    tcase_add_test(w, produce_acks0_no_reply);
    tcase_add_test(w, join_group_answers_through_a_post);
    tcase_add_test(w, create_topics_on_the_admin_thread);
    tcase_add_test(w, transaction_requests_on_the_admin_thread);
    suite_add_tcase(s, w);
    TCase *x = tcase_create("refused");
    tcase_add_checked_fixture(x, setup, teardown);
    tcase_add_test(x, unsupported_version_closes);
    tcase_add_test(x, header_that_does_not_parse);
    suite_add_tcase(s, x);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
