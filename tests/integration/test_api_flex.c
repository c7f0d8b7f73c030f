/*
 * test_api_flex — the versions modern clients send (issue 14, "Protocol breadth"), on a real
 * splicelogd in raw protocol: ApiVersions advertises Produce 0-9, Fetch 4-13, ListOffsets
 * 1-7, Metadata 0-12; every one of those versions answers, flexible ones behind request
 * header v2 and response header v1; topic ids (Metadata v10+, by id at v12, Fetch v13, kept
 * across a restart); ListOffsets MAX_TIMESTAMP (-3). Requests are encoded with proto's codec
 * behind a header written here; two requests are also written out byte by byte from Kafka's
 * schemas (golden bytes), so that a mistake shared by proto's encoder and decoder shows.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"
#include "../support/tb_codec.h"
#include "kp_msg.h"

static struct tb_broker B;
static uint8_t arena_mem[1 << 20];

static void setup(void)
{
    static const char *const extra[] = {"-o", "num.partitions=2", NULL};
    tb_ck_start_fresh(&B, extra);
}

static void teardown(void) { tb_ck_finish(&B); }

static struct kp_arena arena(void)
{
    struct kp_arena a;
    kp_arena_init(&a, arena_mem, sizeof(arena_mem));
    return a;
}

static struct kp_metadata_resp metadata(int fd, int16_t v, const char *topic,
                                        const struct kp_uuid *id, bool ops, struct tb_frame *f)
{
    static int32_t corr = 100;
    struct kp_str name = topic ? kp_str_of(topic) : KP_STR_NULL;
    struct kp_metadata_req req = {.n_topics = 1,
                                  .topics = &name,
                                  .allow_auto_topic_creation = false,
                                  .topic_ids = id,
                                  .include_topic_authorized_operations = ops};
    struct tb_req r;
    tb_codec_begin(&r, KP_API_METADATA, v, ++corr, "flex");
    ck_assert_int_eq(kp_metadata_req_encode(&r.wr, v, &req), 0);
    struct kp_rd rd;
    tb_codec_call(fd, &r, KP_API_METADATA, v, corr, f, &rd);
    struct kp_arena a = arena();
    struct kp_metadata_resp resp;
    int rc = kp_metadata_resp_decode(&rd, v, &a, &resp);
    ck_assert_msg(rc == 0, "Metadata v%d response does not decode: %d", v, rc);
    return resp;
}

static bool uuid_zero(const struct kp_uuid *u)
{
    static const struct kp_uuid z;
    return memcmp(u, &z, sizeof(z)) == 0;
}

START_TEST(api_versions_advertise_modern_ranges)
{
    static const struct {
        int16_t key, min, max;
    } want[] = {{0, 0, 9}, {1, 4, 13}, {2, 0, 7}, {3, 0, 12}, {18, 0, 3}};
    int fd = tb_ck_connect(&B);
    struct tb_req r;
    tb_codec_begin(&r, KP_API_API_VERSIONS, 3, 7, "flex");
    kp_wr_cstr(&r.wr, kp_str_of("flex"));
    kp_wr_cstr(&r.wr, kp_str_of("1"));
    kp_wr_i8(&r.wr, 0);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(fd, &r, 7, &f), 0);
    tb_req_free(&r);
    struct tb_api_versions av;
    ck_assert_int_eq(tb_dec_api_versions(&f, 3, &av), 0); /* response header v0 */
    tb_frame_free(&f);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int16_t lo, hi;
        ck_assert(tb_api_range(&av, want[i].key, &lo, &hi));
        ck_assert_msg(lo == want[i].min && hi == want[i].max, "key %d: %d-%d, want %d-%d",
                      want[i].key, lo, hi, want[i].min, want[i].max);
    }
    close(fd);
}
END_TEST

/* Every Metadata version; topic ids from v10, the same at every version and after a restart;
 * by id at v12; authorized operations only when asked for. */
START_TEST(metadata_every_version_and_topic_ids)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "md", 3);
    struct kp_uuid id = {{0}};
    for (int16_t v = 0; v <= 12; v++) {
        struct tb_frame f;
        struct kp_metadata_resp m = metadata(fd, v, "md", NULL, v >= 8, &f);
        ck_assert_int_eq(m.n_brokers, 1);
        ck_assert_int_eq(m.n_topics, 1);
        const struct kp_metadata_topic *t = &m.topics[0];
        ck_assert_int_eq(t->error_code, 0);
        ck_assert_int_eq(t->n_partitions, 3);
        if (v >= 7)
            ck_assert_int_eq(t->partitions[2].leader_epoch, 0);
        if (v >= 8)
            ck_assert_int_eq(t->topic_authorized_operations, 0xDF8);
        if (v >= 10) {
            ck_assert(!uuid_zero(&t->topic_id));
            if (v > 10)
                ck_assert_int_eq(memcmp(&id, &t->topic_id, sizeof(id)), 0);
            id = t->topic_id;
        }
        tb_frame_free(&f);
    }
    struct tb_frame f;
    struct kp_metadata_resp m = metadata(fd, 9, "md", NULL, false, &f);
    ck_assert_int_eq(m.topics[0].topic_authorized_operations, INT32_MIN);
    tb_frame_free(&f);

    /* by id (v12): the name comes back; an unknown id: UNKNOWN_TOPIC_ID and a null name */
    m = metadata(fd, 12, NULL, &id, false, &f);
    ck_assert_int_eq(m.topics[0].error_code, 0);
    ck_assert(kp_str_eq(m.topics[0].name, "md"));
    ck_assert_int_eq(m.topics[0].n_partitions, 3);
    tb_frame_free(&f);
    struct kp_uuid other = id;
    other.b[15] ^= 0xff;
    m = metadata(fd, 12, NULL, &other, false, &f);
    ck_assert_int_eq(m.topics[0].error_code, KP_ERR_UNKNOWN_TOPIC_ID);
    ck_assert_int_lt(m.topics[0].name.len, 0);
    ck_assert_int_eq(memcmp(&other, &m.topics[0].topic_id, sizeof(id)), 0);
    tb_frame_free(&f);

    /* auto-creation at v12 (by name, allow_auto_topic_creation), as at v4 */
    struct kp_str auto_name = kp_str_of("md-auto");
    struct kp_metadata_req areq = {
        .n_topics = 1, .topics = &auto_name, .allow_auto_topic_creation = true};
    struct tb_req r;
    tb_codec_begin(&r, KP_API_METADATA, 12, 150, "flex");
    ck_assert_int_eq(kp_metadata_req_encode(&r.wr, 12, &areq), 0);
    struct kp_rd rd;
    tb_codec_call(fd, &r, KP_API_METADATA, 12, 150, &f, &rd);
    struct kp_arena a = arena();
    ck_assert_int_eq(kp_metadata_resp_decode(&rd, 12, &a, &m), 0);
    ck_assert_int_eq(m.topics[0].error_code, 0);
    ck_assert_int_eq(m.topics[0].n_partitions, 2); /* num.partitions */
    ck_assert(!uuid_zero(&m.topics[0].topic_id));
    tb_frame_free(&f);

    close(fd);

    /* the id is the topic's for good */
    tb_ck_stop_clean(&B);
    tb_ck_start(&B, NULL);
    fd = tb_ck_connect(&B);
    m = metadata(fd, 12, "md", NULL, false, &f);
    ck_assert_int_eq(memcmp(&id, &m.topics[0].topic_id, sizeof(id)), 0);
    tb_frame_free(&f);
    close(fd);
}
END_TEST

static int64_t produce(int fd, int16_t v, const char *topic, int first, int count)
{
    static int32_t corr = 1000;
    uint8_t batch[4096];
    long n =
        tb_batch_values(batch, sizeof batch, "v", first, count, 0, false, 1700000000000 + first);
    ck_assert_int_gt(n, 0);
    struct kp_produce_req_partition p = {.partition_index = 0, .records = {batch, (int32_t)n}};
    struct kp_produce_req_topic t = {.name = kp_str_of(topic), .n_partitions = 1, .partitions = &p};
    struct kp_produce_req req = {.transactional_id = KP_STR_NULL,
                                 .acks = -1,
                                 .timeout_ms = 5000,
                                 .n_topics = 1,
                                 .topics = &t};
    struct tb_req r;
    tb_codec_begin(&r, KP_API_PRODUCE, v, ++corr, "flex");
    ck_assert_int_eq(kp_produce_req_encode(&r.wr, v, &req), 0);
    struct tb_frame f;
    struct kp_rd rd;
    tb_codec_call(fd, &r, KP_API_PRODUCE, v, corr, &f, &rd);
    struct kp_arena a = arena();
    struct kp_produce_resp resp;
    ck_assert_int_eq(kp_produce_resp_decode(&rd, v, &a, &resp), 0);
    ck_assert_int_eq(resp.n_topics, 1);
    const struct kp_produce_resp_partition *o = &resp.topics[0].partitions[0];
    ck_assert_msg(o->error_code == 0, "Produce v%d: error %d", v, o->error_code);
    if (v >= 8)
        ck_assert_int_lt(o->error_message.len, 0); /* null, as Kafka */
    int64_t base = o->base_offset;
    tb_frame_free(&f);
    return base;
}

/* Fetches topic/0 from offset 0 at v (by id from v13); returns the records counted, or the
 * partition's error negated. */
static long fetch(int fd, int16_t v, const char *topic, const struct kp_uuid *id)
{
    static int32_t corr = 2000;
    struct kp_fetch_req_partition p = {.partition = 0,
                                       .current_leader_epoch = -1,
                                       .fetch_offset = 0,
                                       .log_start_offset = -1,
                                       .partition_max_bytes = 1 << 20,
                                       .last_fetched_epoch = -1};
    struct kp_fetch_req_topic t = {.topic = kp_str_of(topic), .n_partitions = 1, .partitions = &p};
    if (id)
        t.topic_id = *id;
    struct kp_fetch_req req = {.replica_id = -1,
                               .max_wait_ms = 0,
                               .min_bytes = 0,
                               .max_bytes = 1 << 20,
                               .session_epoch = -1,
                               .n_topics = 1,
                               .topics = &t,
                               .rack_id = kp_str_of(""),
                               .cluster_id = KP_STR_NULL};
    struct tb_req r;
    tb_codec_begin(&r, KP_API_FETCH, v, ++corr, "flex");
    ck_assert_int_eq(kp_fetch_req_encode(&r.wr, v, &req), 0);
    struct tb_frame f;
    struct kp_rd rd;
    tb_codec_call(fd, &r, KP_API_FETCH, v, corr, &f, &rd);
    struct kp_arena a = arena();
    struct kp_fetch_resp resp;
    int rc = kp_fetch_resp_decode(&rd, v, &a, &resp);
    ck_assert_msg(rc == 0, "Fetch v%d response does not decode: %d", v, rc);
    ck_assert_int_eq(resp.n_topics, 1);
    if (v >= 13)
        ck_assert_int_eq(memcmp(&resp.topics[0].topic_id, id, sizeof(*id)), 0);
    const struct kp_fetch_resp_partition *o = &resp.topics[0].partitions[0];
    long n = -o->error_code;
    if (o->error_code == 0) {
        ck_assert_int_eq(o->high_watermark, o->last_stable_offset);
        n = tb_records_walk(o->records.ptr, (size_t)o->records.len, NULL, NULL, NULL);
        ck_assert_int_ge(n, 0);
    }
    tb_frame_free(&f);
    return n;
}

/* Produce v3-9 (v8+: a null error message), then Fetch v4-13 reads all of it back, v13 by the
 * topic's id; an unknown id answers UNKNOWN_TOPIC_ID. */
START_TEST(produce_and_fetch_every_version)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "pf", 1);
    int64_t next = 0;
    for (int16_t v = 3; v <= 9; v++) {
        ck_assert_int_eq(produce(fd, v, "pf", (int)next, 3), next);
        next += 3;
    }
    struct tb_frame f;
    struct kp_metadata_resp m = metadata(fd, 12, "pf", NULL, false, &f);
    struct kp_uuid id = m.topics[0].topic_id;
    tb_frame_free(&f);
    for (int16_t v = 4; v <= 13; v++)
        ck_assert_int_eq(fetch(fd, v, "pf", v >= 13 ? &id : NULL), next);
    id.b[0] ^= 1;
    ck_assert_int_eq(fetch(fd, 13, "pf", &id), -KP_ERR_UNKNOWN_TOPIC_ID);
    close(fd);
}
END_TEST

static struct kp_list_offsets_resp_partition list_offsets(int fd, int16_t v, const char *topic,
                                                          int64_t ts)
{
    static int32_t corr = 3000;
    static struct kp_list_offsets_resp_partition out;
    struct kp_list_offsets_req_partition p = {
        .partition_index = 0, .timestamp = ts, .current_leader_epoch = -1};
    struct kp_list_offsets_req_topic t = {
        .name = kp_str_of(topic), .n_partitions = 1, .partitions = &p};
    struct kp_list_offsets_req req = {.replica_id = -1, .n_topics = 1, .topics = &t};
    struct tb_req r;
    tb_codec_begin(&r, KP_API_LIST_OFFSETS, v, ++corr, "flex");
    ck_assert_int_eq(kp_list_offsets_req_encode(&r.wr, v, &req), 0);
    struct tb_frame f;
    struct kp_rd rd;
    tb_codec_call(fd, &r, KP_API_LIST_OFFSETS, v, corr, &f, &rd);
    struct kp_arena a = arena();
    struct kp_list_offsets_resp resp;
    ck_assert_int_eq(kp_list_offsets_resp_decode(&rd, v, &a, &resp), 0);
    out = resp.topics[0].partitions[0];
    tb_frame_free(&f);
    return out;
}

/* ListOffsets v1-7: earliest, latest, by time; leader epoch 0 from v4; MAX_TIMESTAMP (-3) finds
 * the record with the largest timestamp even when it is not the last. */
START_TEST(list_offsets_every_version)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "lo", 1);
    /* every record of a batch has timestamp 1700000000000 + first: the second batch (offsets
     * 5-9) holds the largest, the third does not */
    ck_assert_int_eq(produce(fd, 9, "lo", 0, 5), 0);
    ck_assert_int_eq(produce(fd, 9, "lo", 100, 5), 5);
    ck_assert_int_eq(produce(fd, 9, "lo", 10, 5), 10);
    for (int16_t v = 1; v <= 7; v++) {
        struct kp_list_offsets_resp_partition o = list_offsets(fd, v, "lo", -2);
        ck_assert_int_eq(o.error_code, 0);
        ck_assert_int_eq(o.offset, 0);
        if (v >= 4)
            ck_assert_int_eq(o.leader_epoch, 0);
        o = list_offsets(fd, v, "lo", -1);
        ck_assert_int_eq(o.offset, 15);
        o = list_offsets(fd, v, "lo", 1700000000000 + 50);
        ck_assert_int_eq(o.offset, 5);
        ck_assert_int_eq(o.timestamp, 1700000000000 + 100);
    }
    struct kp_list_offsets_resp_partition o = list_offsets(fd, 7, "lo", -3);
    ck_assert_int_eq(o.error_code, 0);
    ck_assert_int_eq(o.offset, 5);
    ck_assert_int_eq(o.timestamp, 1700000000000 + 100);
    o = list_offsets(fd, 7, "nope", -3);
    ck_assert_int_eq(o.error_code, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(o.leader_epoch, -1);
    close(fd);
}
END_TEST

static void send_frame(int fd, const uint8_t *body, size_t len)
{
    uint8_t size[4] = {0, 0, (uint8_t)(len >> 8), (uint8_t)len};
    ck_assert_int_eq(tb_send_all(fd, size, 4), 0);
    ck_assert_int_eq(tb_send_all(fd, body, len), 0);
}

/* Golden bytes (after the size), from MetadataRequest.json / FetchRequest.json: Metadata v12 for
 * topic "gb" and Fetch v12 of gb/0 from offset 0, written out by hand. */
START_TEST(golden_metadata_v12_and_fetch_v12)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "gb", 1);
    ck_assert_int_eq(produce(fd, 7, "gb", 0, 2), 0);
    static const uint8_t md[] = {
        0x00, 0x03, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x2a, /* Metadata v12, correlation id 42 */
        0x00, 0x02, 'g',  'o',  0x00,                   /* client id "go", header tags */
        0x02,                                           /* topics: compact array of 1 */
        0,    0,    0,    0,    0,    0,    0,    0,
        0,    0,    0,    0,    0,    0,    0,    0, /* topic_id: zero (by name) */
        0x03, 'g',  'b',  0x00,                      /* name "gb", topic tags */
        0x00,                                        /* allow_auto_topic_creation false */
        0x00,                                        /* include topic ops false */
        0x00,                                        /* request tags */
    };
    send_frame(fd, md, sizeof md);
    struct tb_frame f;
    ck_assert_int_eq(tb_recv_frame(fd, &f, 1 << 20), 0);
    ck_assert_int_eq(tb_frame_corr(&f), 42);
    ck_assert_uint_ge(f.len, 12);
    ck_assert_int_eq(f.data[4], 0x00); /* response header v1: tags */
    ck_assert_int_eq(tb_codec_resp_check(&f, KP_API_METADATA, 12), 0);
    /* the body ends: ..., topic_authorized_operations INT32_MIN, topic tags, response tags */
    ck_assert_int_eq(f.data[f.len - 1], 0x00);
    ck_assert_int_eq(f.data[f.len - 2], 0x00);
    ck_assert_int_eq(memcmp(f.data + f.len - 6, "\x80\x00\x00\x00", 4), 0);
    tb_frame_free(&f);

    static const uint8_t fe[] = {
        0x00, 0x01, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x2b, /* Fetch v12, correlation id 43 */
        0x00, 0x02, 'g',  'o',  0x00,                   /* client id, header tags */
        0xff, 0xff, 0xff, 0xff,                         /* replica_id -1 */
        0x00, 0x00, 0x00, 0x00,                         /* max_wait_ms 0 */
        0x00, 0x00, 0x00, 0x00,                         /* min_bytes 0 */
        0x00, 0x10, 0x00, 0x00,                         /* max_bytes 1 MiB */
        0x00,                                           /* isolation_level */
        0x00, 0x00, 0x00, 0x00,                         /* session_id */
        0xff, 0xff, 0xff, 0xff,                         /* session_epoch -1 */
        0x02, 0x03, 'g',  'b',                          /* topics [1]: "gb" */
        0x02,                                           /* partitions [1] */
        0x00, 0x00, 0x00, 0x00,                         /* partition 0 */
        0xff, 0xff, 0xff, 0xff,                         /* current_leader_epoch -1 */
        0,    0,    0,    0,    0,    0,    0,    0,    /* fetch_offset 0 */
        0xff, 0xff, 0xff, 0xff,                         /* last_fetched_epoch -1 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* log_start_offset -1 */
        0x00, 0x10, 0x00, 0x00,                         /* partition_max_bytes */
        0x00,                                           /* partition tags */
        0x00,                                           /* topic tags */
        0x01,                                           /* forgotten topics [0] */
        0x01,                                           /* rack_id "" */
        0x00,                                           /* request tags */
    };
    send_frame(fd, fe, sizeof fe);
    ck_assert_int_eq(tb_recv_frame(fd, &f, 1 << 20), 0);
    ck_assert_int_eq(tb_frame_corr(&f), 43);
    ck_assert_int_eq(f.data[4], 0x00);
    ck_assert_int_eq(tb_codec_resp_check(&f, KP_API_FETCH, 12), 0);
    /* after the records: partition tags, topic tags, response tags */
    ck_assert_int_eq(memcmp(f.data + f.len - 3, "\x00\x00\x00", 3), 0);
    tb_frame_free(&f);
    close(fd);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("api_flex");
    TCase *tc = tcase_create("flex");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, api_versions_advertise_modern_ranges);
    tcase_add_test(tc, metadata_every_version_and_topic_ids);
    tcase_add_test(tc, produce_and_fetch_every_version);
    tcase_add_test(tc, list_offsets_every_version);
    tcase_add_test(tc, golden_metadata_v12_and_fetch_v12);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
