/*
 * test_api — a real splicelogd spoken to in raw protocol: ApiVersions v0-3 and the exact
 * fallback bytes for an unsupported ApiVersions version, Metadata v0-4 with auto-creation
 * (allowed, refused by the request, refused by the broker config), CreateTopics v0-4,
 * DeleteTopics v0-3, ListOffsets v1-2 (earliest, latest, by timestamp), and Produce's
 * per-partition errors (UNKNOWN_TOPIC_OR_PARTITION, MESSAGE_TOO_LARGE, INVALID_RECORD).
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"
#include "kp_crc32c.h"
#include "kp_msg.h"

/* Messages below are positional initialisers in wire order; fields appended to the kp_msg
 * structs for later versions are meant to stay zero here. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static struct tb_broker B;

static void start_with(const char *const *extra) { tb_ck_start_fresh(&B, extra); }

static void setup(void)
{
    static const char *const extra[] = {"-o", "num.partitions=3", "-o", "message.max.bytes=20000",
                                        NULL};
    start_with(extra);
}

static void teardown(void) { tb_ck_finish(&B); }

/* One request/response at (key, version); the frame must be freed. */
#define CALL(fd, key, ver, corr, f, ENCODE)                                                        \
    do {                                                                                           \
        struct tb_req r_;                                                                          \
        ck_assert_int_eq(tb_req_begin(&r_, 64 << 10, (key), (ver), (corr)), 0);                    \
        struct tb_req *r = &r_;                                                                    \
        ENCODE;                                                                                    \
        int rc_ = tb_call((fd), r, (corr), (f));                                                   \
        tb_req_free(&r_);                                                                          \
        ck_assert_msg(rc_ == 0, "api %d v%d: %s", (key), (ver), strerror(-rc_));                   \
    } while (0)

/* ---- ApiVersions ---------------------------------------------------------------------------- */

START_TEST(api_versions_every_version)
{
    static const struct {
        int16_t key, min, max;
    } want[] = {{0, 3, 9}, {1, 4, 13}, {2, 0, 7}, {3, 0, 12}, {18, 0, 3}, {19, 0, 7}, {20, 0, 6}};
    int fd = tb_ck_connect(&B);
    for (int16_t v = 0; v <= 3; v++) {
        struct tb_frame f;
        CALL(fd, 18, v, 10 + v, &f, tb_enc_api_versions(r, v));
        struct tb_api_versions av;
        int rc = tb_dec_api_versions(&f, v, &av);
        ck_assert_msg(rc == 0, "ApiVersions v%d response does not parse (%zu bytes)", v, f.len);
        ck_assert_int_eq(tb_codec_resp_check(&f, 18, v), 0);
        tb_frame_free(&f);
        ck_assert_int_eq(av.error, 0);
        ck_assert_int_eq(av.throttle_ms, 0);
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            int16_t lo, hi;
            ck_assert_msg(tb_api_range(&av, want[i].key, &lo, &hi),
                          "ApiVersions v%d: key %d not advertised", v, want[i].key);
            /* Produce may start below 3: librdkafka <= 2.11 compresses gzip/snappy/lz4 only
             * when the Produce range reaches v0 (see tests/interop/test_kcat.sh, part 4). */
            int16_t min_lo = want[i].key == 0 ? 0 : want[i].min;
            ck_assert_msg(lo >= min_lo && lo <= want[i].min && hi == want[i].max,
                          "ApiVersions v%d: key %d advertised %d-%d, want %d-%d", v, want[i].key,
                          lo, hi, want[i].min, want[i].max);
        }
        /* No key twice, and nothing above a non-flexible range is claimed. */
        for (int32_t i = 0; i < av.n; i++) {
            ck_assert_int_le(av.api[i].min, av.api[i].max);
            for (int32_t j = i + 1; j < av.n; j++)
                ck_assert_int_ne(av.api[i].key, av.api[j].key);
        }
    }
    close(fd);
}
END_TEST

START_TEST(api_versions_unsupported_fallback_golden)
{
    int fd = tb_ck_connect(&B);
    /* ApiVersions v9, flexible header and body as a future client would send it. */
    struct tb_req req;
    ck_assert_int_eq(tb_req_begin(&req, 256, 18, 9, 0x1234abcd), 0);
    tb_enc_api_versions(&req, 3);
    ck_assert_int_eq(tb_req_send(fd, &req), 0);
    tb_req_free(&req);
    static const uint8_t golden[] = {
        0x00, 0x00, 0x00, 0x10,             /* size 16 */
        0x12, 0x34, 0xab, 0xcd,             /* correlation id */
        0x00, 0x23,                         /* UNSUPPORTED_VERSION */
        0x00, 0x00, 0x00, 0x01,             /* one api key, classic array */
        0x00, 0x12, 0x00, 0x00, 0x00, 0x03, /* ApiVersions 0-3 */
    };
    uint8_t got[sizeof golden];
    int rc = tb_recv_all(fd, got, sizeof got);
    ck_assert_msg(rc == 0, "no fallback response: %s", strerror(-rc));
    for (size_t i = 0; i < sizeof golden; i++)
        ck_assert_msg(got[i] == golden[i], "fallback byte %zu is 0x%02x, want 0x%02x", i, got[i],
                      golden[i]);
    ck_assert_msg(tb_readable(fd, 200) == 0, "bytes after the 20-byte fallback response");
    /* The connection stays usable: librdkafka retries v0 on it. */
    struct tb_frame f;
    CALL(fd, 18, 0, 77, &f, tb_enc_api_versions(r, 0));
    struct tb_api_versions av;
    ck_assert_int_eq(tb_dec_api_versions(&f, 0, &av), 0);
    ck_assert_int_eq(av.error, 0);
    tb_frame_free(&f);
    close(fd);
}
END_TEST

/* ---- Metadata ------------------------------------------------------------------------------- */

START_TEST(metadata_every_version)
{
    int fd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(fd, "md-a", 2, &err), 0);
    ck_assert_int_eq(err, 0);
    const char *topics[] = {"md-a"};
    for (int16_t v = 0; v <= 4; v++) {
        for (int all = 0; all < 2; all++) {
            struct tb_frame f;
            CALL(fd, 3, v, 20 + v, &f,
                 tb_enc_metadata(r, v, all ? NULL : topics, all ? -1 : 1, false));
            struct tb_metadata md;
            int rc = tb_dec_metadata(&f, v, &md);
            ck_assert_msg(rc == 0, "Metadata v%d response does not parse (%zu bytes)", v, f.len);
            ck_assert_int_eq(tb_codec_resp_check(&f, 3, v), 0);
            tb_frame_free(&f);
            ck_assert_int_eq(md.n_brokers, 1);
            ck_assert_str_eq(md.broker[0].host, "127.0.0.1");
            ck_assert_msg(md.broker[0].port == B.port, "advertised port %d, listener %d",
                          md.broker[0].port, B.port);
            if (v >= 1)
                ck_assert_int_eq(md.controller_id, md.broker[0].node_id);
            int t = tb_md_topic(&md, "md-a");
            ck_assert_msg(t >= 0, "Metadata v%d (%s) does not list md-a", v, all ? "all" : "one");
            if (!all)
                ck_assert_int_eq(md.n_topics, 1);
            ck_assert_int_eq(md.topic[t].error, 0);
            ck_assert(!md.topic[t].internal);
            ck_assert_int_eq(md.topic[t].n_parts, 2);
            bool seen[2] = {false, false};
            for (int p = 0; p < 2; p++) {
                ck_assert_int_eq(md.topic[t].part[p].error, 0);
                ck_assert_int_eq(md.topic[t].part[p].leader, md.broker[0].node_id);
                int32_t id = md.topic[t].part[p].partition;
                ck_assert(id >= 0 && id < 2);
                seen[id] = true;
            }
            ck_assert(seen[0] && seen[1]);
        }
    }
    close(fd);
}
END_TEST

/* Metadata v4 for one topic; returns the topic's error (retrying LEADER_NOT_AVAILABLE). */
static int16_t md_one(int fd, const char *topic, bool auto_create, struct tb_metadata *md)
{
    const char *topics[] = {topic};
    for (int i = 0; i < 50; i++) {
        int rc = tb_metadata(fd, topics, 1, auto_create, md);
        ck_assert_msg(rc == 0, "metadata: %s", strerror(-rc));
        ck_assert_int_eq(md->n_topics, 1);
        if (md->topic[0].error != 5)
            return md->topic[0].error;
        usleep(100 * 1000);
    }
    return 5;
}

START_TEST(metadata_auto_create)
{
    int fd = tb_ck_connect(&B);
    struct tb_metadata md;
    /* Allowed by the request and the broker: created with num.partitions (3), error 0. */
    ck_assert_int_eq(md_one(fd, "auto-a", true, &md), 0);
    ck_assert_int_eq(md.topic[0].n_parts, 3);
    for (int p = 0; p < 3; p++)
        ck_assert_int_eq(md.topic[0].part[p].error, 0);
    /* The request does not allow it: UNKNOWN_TOPIC_OR_PARTITION, and nothing is created. */
    ck_assert_int_eq(md_one(fd, "auto-b", false, &md), 3);
    ck_assert_int_eq(md_one(fd, "auto-b", false, &md), 3);
    ck_assert_int_eq(tb_metadata(fd, NULL, -1, true, &md), 0);
    ck_assert_int_ge(tb_md_topic(&md, "auto-a"), 0);
    ck_assert_int_lt(tb_md_topic(&md, "auto-b"), 0);
    /* A name Kafka refuses is never created. */
    int16_t e = md_one(fd, "bad name!", true, &md);
    ck_assert_msg(e == 17 || e == 3, "invalid topic name: error %d", e);
    /* The auto-created topic works: produce then list offsets. */
    uint8_t batch[512];
    long len = tb_batch_values(batch, sizeof batch, "aa", 0, 2, 0, false, 1);
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_produce(fd, "auto-a", 2, batch, (size_t)len, &pr), 0);
    ck_assert_int_eq(pr.error, 0);
    ck_assert_int_eq(pr.base_offset, 0);
    close(fd);
}
END_TEST

START_TEST(metadata_auto_create_disabled_by_config)
{
    static const char *const extra[] = {"-o", "auto.create.topics.enable=false", NULL};
    start_with(extra);
    int fd = tb_ck_connect(&B);
    struct tb_metadata md;
    ck_assert_int_eq(md_one(fd, "noauto", true, &md), 3);
    ck_assert_int_eq(tb_metadata(fd, NULL, -1, false, &md), 0);
    ck_assert_int_lt(tb_md_topic(&md, "noauto"), 0);
    close(fd);
}
END_TEST

/* ---- CreateTopics / DeleteTopics ------------------------------------------------------------ */

static int16_t create_v(int fd, int16_t v, const char *topic, int32_t parts, bool validate_only)
{
    struct tb_frame f;
    CALL(fd, 19, v, 40 + v, &f, tb_enc_create_topics(r, v, topic, parts, 1, 5000, validate_only));
    int16_t err = -100;
    int rc = tb_dec_create_topics(&f, v, &err);
    ck_assert_int_eq(tb_codec_resp_check(&f, 19, v), 0);
    tb_frame_free(&f);
    ck_assert_msg(rc == 0, "CreateTopics v%d response does not parse", v);
    return err;
}

static int16_t delete_v(int fd, int16_t v, const char *topic)
{
    struct tb_frame f;
    CALL(fd, 20, v, 60 + v, &f, tb_enc_delete_topics(r, v, topic, 5000));
    int16_t err = -100;
    int rc = tb_dec_delete_topics(&f, v, &err);
    ck_assert_int_eq(tb_codec_resp_check(&f, 20, v), 0);
    tb_frame_free(&f);
    ck_assert_msg(rc == 0, "DeleteTopics v%d response does not parse", v);
    return err;
}

START_TEST(create_topics_every_version)
{
    int fd = tb_ck_connect(&B);
    struct tb_metadata md;
    for (int16_t v = 0; v <= 4; v++) {
        char name[32];
        snprintf(name, sizeof name, "ct-v%d", v);
        ck_assert_int_eq(create_v(fd, v, name, 2, false), 0);
        ck_assert_int_eq(md_one(fd, name, false, &md), 0);
        ck_assert_int_eq(md.topic[0].n_parts, 2);
        ck_assert_int_eq(create_v(fd, v, name, 2, false), 36); /* TOPIC_ALREADY_EXISTS */
        char other[32];
        snprintf(other, sizeof other, "ct-zero-v%d", v);
        ck_assert_int_eq(create_v(fd, v, other, 0, false), 37); /* INVALID_PARTITIONS */
        ck_assert_int_eq(create_v(fd, v, "bad/name", 1, false), 17);
        if (v >= 1) {
            snprintf(other, sizeof other, "ct-dry-v%d", v);
            ck_assert_int_eq(create_v(fd, v, other, 1, true), 0);
            ck_assert_msg(md_one(fd, other, false, &md) == 3, "validate_only created %s", other);
        }
    }
    /* v4: -1 partitions means the broker's num.partitions. */
    ck_assert_int_eq(create_v(fd, 4, "ct-default", -1, false), 0);
    ck_assert_int_eq(md_one(fd, "ct-default", false, &md), 0);
    ck_assert_int_eq(md.topic[0].n_parts, 3);
    close(fd);
}
END_TEST

START_TEST(delete_topics_every_version)
{
    int fd = tb_ck_connect(&B);
    struct tb_metadata md;
    for (int16_t v = 0; v <= 3; v++) {
        char name[32];
        snprintf(name, sizeof name, "dt-v%d", v);
        ck_assert_int_eq(create_v(fd, 4, name, 1, false), 0);
        uint8_t batch[512];
        long len = tb_batch_values(batch, sizeof batch, "dt", 0, 3, 0, false, 1);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_produce(fd, name, 0, batch, (size_t)len, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
        ck_assert_int_eq(delete_v(fd, v, name), 0);
        ck_assert_int_eq(md_one(fd, name, false, &md), 3);
        ck_assert_int_eq(tb_produce(fd, name, 0, batch, (size_t)len, &pr), 0);
        ck_assert_int_eq(pr.error, 3);
        ck_assert_int_eq(delete_v(fd, v, name), 3);
        /* Created again, the topic starts empty. */
        ck_assert_int_eq(create_v(fd, 4, name, 1, false), 0);
        struct tb_list_offsets_resp lo;
        ck_assert_int_eq(tb_list_offsets(fd, name, 0, -1, &lo), 0);
        ck_assert_int_eq(lo.error, 0);
        ck_assert_msg(lo.offset == 0, "re-created %s ends at %lld", name, (long long)lo.offset);
    }
    close(fd);
}
END_TEST

/* ---- ListOffsets ---------------------------------------------------------------------------- */

static struct tb_list_offsets_resp lo_v(int fd, int16_t v, const char *topic, int32_t part,
                                        int64_t ts)
{
    struct tb_frame f;
    CALL(fd, 2, v, 80 + v, &f, tb_enc_list_offsets(r, v, topic, part, ts));
    struct tb_list_offsets_resp lo;
    int rc = tb_dec_list_offsets(&f, v, &lo);
    ck_assert_int_eq(tb_codec_resp_check(&f, 2, v), 0);
    tb_frame_free(&f);
    ck_assert_msg(rc == 0, "ListOffsets v%d response does not parse", v);
    return lo;
}

/* Lookups by time run on the admin thread: a request mixing them with latest/earliest, several
 * partitions, an unknown partition and an unknown topic is answered whole and in order with
 * a request pipelined behind it. */
START_TEST(list_offsets_by_time_many_partitions_in_order)
{
    int fd = tb_ck_connect(&B);
    ck_assert_int_eq(create_v(fd, 4, "lom", 3, false), 0);
    for (int32_t p = 0; p < 2; p++) {
        uint8_t batch[1024];
        long len =
            tb_batch_values(batch, sizeof batch, "lom", 0, 4, 0, false, (int64_t)(p + 1) * 1000000);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_produce(fd, "lom", p, batch, (size_t)len, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
    }
    static const struct kp_list_offsets_req_partition lom[] = {{0, 1000000}, {1, -1}, {1, 1000000},
                                                               {2, 0},       {7, 5},  {0, 1000001}};
    static const struct kp_list_offsets_req_partition none[] = {{0, 5}};
    const struct kp_list_offsets_req_topic topics[] = {
        {.name = {"lom", 3}, .n_partitions = 6, .partitions = lom},
        {.name = {"no-such", 7}, .n_partitions = 1, .partitions = none}};
    const struct kp_list_offsets_req req = {
        .replica_id = -1, .isolation_level = 0, .n_topics = 2, .topics = topics};
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 512, 2, 2, 500), 0);
    ck_assert_int_eq(kp_list_offsets_req_encode(&r.wr, 2, &req), 0);
    ck_assert_int_eq(tb_req_send(fd, &r), 0);
    tb_req_free(&r);
    ck_assert_int_eq(tb_req_begin(&r, 64, 18, 0, 501), 0);
    ck_assert_int_eq(tb_req_send(fd, &r), 0);
    tb_req_free(&r);

    struct tb_frame f = {0};
    ck_assert_int_eq(tb_recv_frame(fd, &f, 1 << 20), 0);
    ck_assert_int_eq(tb_frame_corr(&f), 500);
    struct kp_rd rd;
    kp_rd_init(&rd, f.data + 4, f.len - 4);
    static uint8_t mem[4096];
    struct kp_arena a;
    kp_arena_init(&a, mem, sizeof(mem));
    struct kp_list_offsets_resp resp;
    ck_assert_int_eq(kp_list_offsets_resp_decode(&rd, 2, &a, &resp), 0);
    ck_assert_int_eq(resp.n_topics, 2);
    ck_assert_int_eq(resp.topics[0].n_partitions, 6);
    static const struct {
        int32_t part;
        int16_t err;
        int64_t offset, ts;
    } want[] = {{0, 0, 0, 1000000}, {1, 0, 4, -1},  {1, 0, 0, 2000000},
                {2, 0, -1, -1},     {7, 3, -1, -1}, {0, 0, -1, -1}};
    for (int i = 0; i < 6; i++) {
        const struct kp_list_offsets_resp_partition *o = &resp.topics[0].partitions[i];
        ck_assert_int_eq(o->partition_index, want[i].part);
        ck_assert_msg(o->error_code == want[i].err && o->offset == want[i].offset &&
                          o->timestamp == want[i].ts,
                      "partition %d (#%d): error %d offset %lld timestamp %lld", want[i].part, i,
                      o->error_code, (long long)o->offset, (long long)o->timestamp);
    }
    ck_assert_int_eq(resp.topics[1].n_partitions, 1);
    ck_assert_int_eq(resp.topics[1].partitions[0].error_code, 3);
    tb_frame_free(&f);
    ck_assert_int_eq(tb_recv_frame(fd, &f, 1 << 20), 0);
    ck_assert_int_eq(tb_frame_corr(&f), 501);
    tb_frame_free(&f);
    close(fd);
}
END_TEST

START_TEST(list_offsets_earliest_latest_by_time)
{
    int fd = tb_ck_connect(&B);
    ck_assert_int_eq(create_v(fd, 4, "lo", 1, false), 0);
    for (int16_t v = 1; v <= 2; v++) {
        struct tb_list_offsets_resp lo = lo_v(fd, v, "lo", 0, -2);
        ck_assert_int_eq(lo.error, 0);
        ck_assert_int_eq(lo.offset, 0);
        lo = lo_v(fd, v, "lo", 0, -1);
        ck_assert_int_eq(lo.error, 0);
        ck_assert_int_eq(lo.offset, 0);
    }
    /* Three batches of 4 records at timestamps 1000, 2000, 3000 s. */
    for (int b = 0; b < 3; b++) {
        uint8_t batch[1024];
        long len = tb_batch_values(batch, sizeof batch, "lo", b * 4, 4, 0, false,
                                   (int64_t)(b + 1) * 1000000);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_produce(fd, "lo", 0, batch, (size_t)len, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
    }
    static const struct {
        int64_t ts, offset;
    } cases[] = {
        {-2, 0},      {-1, 12},     {0, 0},       {1000000, 0},  {1000001, 4},
        {2000000, 4}, {2500000, 8}, {3000000, 8}, {3000001, -1},
    };
    for (int16_t v = 1; v <= 2; v++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            struct tb_list_offsets_resp lo = lo_v(fd, v, "lo", 0, cases[i].ts);
            ck_assert_int_eq(lo.error, 0);
            ck_assert_msg(lo.offset == cases[i].offset, "v%d ts %lld: offset %lld, want %lld", v,
                          (long long)cases[i].ts, (long long)lo.offset, (long long)cases[i].offset);
            if (cases[i].ts >= 0 && cases[i].offset >= 0)
                ck_assert_msg(lo.timestamp == (cases[i].offset / 4 + 1) * 1000000,
                              "v%d ts %lld: timestamp %lld", v, (long long)cases[i].ts,
                              (long long)lo.timestamp);
            if (cases[i].offset == -1)
                ck_assert_int_eq(lo.timestamp, -1);
        }
        struct tb_list_offsets_resp lo = lo_v(fd, v, "no-such", 0, -1);
        ck_assert_int_eq(lo.error, 3);
        lo = lo_v(fd, v, "lo", 5, -1);
        ck_assert_int_eq(lo.error, 3);
    }
    close(fd);
}
END_TEST

/* ---- Produce errors ------------------------------------------------------------------------- */

static int16_t produce_raw(int fd, const char *topic, int32_t part, const uint8_t *rec, size_t len)
{
    struct tb_produce_resp pr;
    int rc = tb_produce(fd, topic, part, rec, len, &pr);
    ck_assert_msg(rc == 0, "produce round trip: %s", strerror(-rc));
    return pr.error;
}

START_TEST(produce_errors)
{
    int fd = tb_ck_connect(&B);
    ck_assert_int_eq(create_v(fd, 4, "pe", 1, false), 0);
    uint8_t *buf = malloc(64 << 10);
    ck_assert_ptr_nonnull(buf);
    long len = tb_batch_values(buf, 64 << 10, "pe", 0, 2, 0, false, 1);
    ck_assert_int_gt(len, 0);
    ck_assert_int_eq(produce_raw(fd, "no-such-topic", 0, buf, (size_t)len), 3);
    ck_assert_int_eq(produce_raw(fd, "pe", 9, buf, (size_t)len), 3);

    /* lastOffsetDelta + 1 != recordCount, with a correct CRC: INVALID_RECORD. */
    kp_store_be32(buf + KP_BATCH_OFF_LAST_OFFSET_DELTA, 5);
    kp_store_be32(buf + KP_BATCH_OFF_CRC, kp_crc32c(0, buf + KP_BATCH_OFF_ATTRIBUTES,
                                                    (size_t)len - KP_BATCH_OFF_ATTRIBUTES));
    ck_assert_int_eq(produce_raw(fd, "pe", 0, buf, (size_t)len), 87);

    /* A batch over message.max.bytes (20000 here): MESSAGE_TOO_LARGE. */
    len = tb_batch_values(buf, 64 << 10, "pe", 0, 1, 30000, false, 1);
    ck_assert_int_gt(len, 20000);
    ck_assert_int_eq(produce_raw(fd, "pe", 0, buf, (size_t)len), 10);

    /* Nothing of the rejected batches was appended; a good one lands at offset 0. */
    len = tb_batch_values(buf, 64 << 10, "pe", 0, 2, 0, false, 1);
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_produce(fd, "pe", 0, buf, (size_t)len, &pr), 0);
    ck_assert_int_eq(pr.error, 0);
    ck_assert_int_eq(pr.base_offset, 0);
    free(buf);
    close(fd);
}
END_TEST

START_TEST(produce_legacy_versions)
{
    /* Produce v0-2 (advertised when the range starts at 0, for librdkafka's compression gate)
     * carry legacy message sets; a v2 RecordBatch in one is refused with an error at the
     * request's version, nothing is appended, and the connection stays usable. */
    int fd = tb_ck_connect(&B);
    ck_assert_int_eq(create_v(fd, 4, "legacy", 1, false), 0);
    struct tb_frame f;
    CALL(fd, 18, 2, 350, &f, tb_enc_api_versions(r, 2));
    struct tb_api_versions av;
    ck_assert_int_eq(tb_dec_api_versions(&f, 2, &av), 0);
    tb_frame_free(&f);
    int16_t pmin = 0, pmax = 0;
    ck_assert(tb_api_range(&av, 0, &pmin, &pmax));
    uint8_t batch[1024];
    long len = tb_batch_values(batch, sizeof batch, "legacy", 0, 2, 0, false, 1);
    ck_assert_int_gt(len, 0);
    for (int16_t v = pmin; v < 3; v++) {
        CALL(fd, 0, v, 360 + v, &f,
             tb_enc_produce(r, v, -1, 1000, "legacy", 0, batch, (size_t)len));
        struct tb_produce_resp pr;
        int rc = tb_dec_produce(&f, v, &pr);
        ck_assert_msg(rc == 0,
                      "Produce v%d is advertised, but its %zu-byte response (body starting "
                      "0x%02x%02x) is not a ProduceResponse v%d",
                      v, f.len, f.len > 5 ? f.data[4] : 0, f.len > 5 ? f.data[5] : 0, v);
        tb_frame_free(&f);
        ck_assert_msg(pr.error != 0, "Produce v%d with a magic-2 batch accepted", v);
    }
    struct tb_list_offsets_resp lo = lo_v(fd, 2, "legacy", 0, -1);
    ck_assert_int_eq(lo.error, 0);
    ck_assert_int_eq(lo.offset, 0);
    close(fd);
}
END_TEST

START_TEST(produce_malformed_records_field)
{
    int fd = tb_ck_connect(&B);
    ck_assert_int_eq(create_v(fd, 4, "pm", 1, false), 0);
    uint8_t two[2048];
    long a = tb_batch_values(two, sizeof two, "pm", 0, 2, 0, false, 1);
    ck_assert_int_gt(a, 0);
    long b = tb_batch_values(two + a, sizeof two - (size_t)a, "pm", 2, 2, 0, false, 1);
    ck_assert_int_gt(b, 0);
    /* Two batches in one partition's records: Kafka wants exactly one (INVALID_RECORD). */
    int16_t e = produce_raw(fd, "pm", 0, two, (size_t)(a + b));
    ck_assert_msg(e == 87 || e == 2, "two batches in one records field: error %d", e);
    /* Empty records, null records, a batch cut short, trailing garbage after a batch. */
    e = produce_raw(fd, "pm", 0, two, 0);
    ck_assert_msg(e != 0, "empty records accepted");
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_produce(fd, "pm", 0, NULL, 0, &pr), 0);
    ck_assert_msg(pr.error != 0, "null records accepted");
    e = produce_raw(fd, "pm", 0, two, (size_t)a - 7);
    ck_assert_msg(e == 2 || e == 87, "truncated batch: error %d", e);
    uint8_t garbage[2048];
    memcpy(garbage, two, (size_t)a);
    memset(garbage + a, 0xee, 30);
    e = produce_raw(fd, "pm", 0, garbage, (size_t)a + 30);
    ck_assert_msg(e == 2 || e == 87, "batch + 30 bytes of garbage: error %d", e);
    /* A batch whose producer set baseOffset: INVALID_RECORD (CRC does not cover it). */
    memcpy(garbage, two, (size_t)a);
    kp_store_be64(garbage, 12345);
    e = produce_raw(fd, "pm", 0, garbage, (size_t)a);
    ck_assert_msg(e == 87, "non-zero baseOffset from a producer: error %d", e);
    /* Negative partition. */
    ck_assert_int_eq(produce_raw(fd, "pm", -1, two, (size_t)a), 3);
    /* None of it was appended; the connection still works. */
    struct tb_list_offsets_resp lo = lo_v(fd, 2, "pm", 0, -1);
    ck_assert_int_eq(lo.error, 0);
    ck_assert_msg(lo.offset == 0, "rejected produces appended %lld records", (long long)lo.offset);
    ck_assert_int_eq(produce_raw(fd, "pm", 0, two, (size_t)a), 0);
    close(fd);
}
END_TEST

START_TEST(topic_names_that_escape)
{
    int fd = tb_ck_connect(&B);
    char longname[300];
    memset(longname, 'x', 250);
    longname[250] = 0;
    const char *bad[] = {"..",   ".", "../escape", "a/../../escape", "/tmp/escape",
                         "x\\y", "",  longname,    "sp ace",         "nul\x01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int16_t e = create_v(fd, 4, bad[i], 1, false);
        ck_assert_msg(e == 17, "CreateTopics \"%.40s\": error %d, want INVALID_TOPIC_EXCEPTION",
                      bad[i], e);
        struct tb_metadata md;
        e = md_one(fd, bad[i], true, &md);
        ck_assert_msg(e == 17 || e == 3, "Metadata auto-create \"%.40s\": error %d", bad[i], e);
    }
    /* Nothing was created next to or above the data dir. */
    char path[512];
    snprintf(path, sizeof path, "%s/escape-0", B.dir);
    ck_assert_msg(access(path, F_OK) != 0, "%s exists", path);
    ck_assert_msg(access("/tmp/escape-0", F_OK) != 0, "/tmp/escape-0 exists");
    /* 249 characters is Kafka's limit and fine; dots, dashes, underscores too. */
    longname[249] = 0;
    ck_assert_int_eq(create_v(fd, 4, longname, 1, false), 0);
    ck_assert_int_eq(create_v(fd, 4, "a.b-c_D9", 1, false), 0);
    close(fd);
}
END_TEST

START_TEST(log_append_time_topics)
{
    static const char *const extra[] = {"-o", "log.message.timestamp.type=LogAppendTime", NULL};
    start_with(extra);
    int fd = tb_ck_connect(&B);
    ck_assert_int_eq(create_v(fd, 4, "lat", 1, false), 0);
    uint8_t batch[1024];
    long len = tb_batch_values(batch, sizeof batch, "lat", 0, 3, 0, false, 1000); /* 1970 */
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_produce(fd, "lat", 0, batch, (size_t)len, &pr), 0);
    ck_assert_int_eq(pr.error, 0);
    ck_assert_msg(pr.log_append_time > 1600000000000LL,
                  "LogAppendTime topic: log_append_time %lld is not the broker's clock",
                  (long long)pr.log_append_time);
    struct tb_fetch_args a = {0, 1, 1 << 20, "lat", 0, 0, 1 << 20};
    struct tb_frame f;
    struct tb_fetch_resp fr;
    ck_assert_int_eq(tb_fetch(fd, &a, &f, &fr), 0);
    ck_assert_int_eq(fr.error, 0);
    struct kp_batch_hdr h;
    ck_assert_msg(kp_batch_validate(fr.records, (size_t)fr.records_len, 0, &h) == 0,
                  "stored LogAppendTime batch fails validation (CRC not recomputed?)");
    ck_assert_msg(h.attributes & KP_BATCH_ATTR_LOG_APPEND_TIME, "timestampType bit not set");
    ck_assert_int_eq(h.max_timestamp, pr.log_append_time);
    tb_frame_free(&f);
    /* ListOffsets by time sees the append time, not the producer's 1970 timestamps. */
    struct tb_list_offsets_resp lo = lo_v(fd, 2, "lat", 0, 5000);
    ck_assert_int_eq(lo.error, 0);
    ck_assert_int_eq(lo.offset, 0);
    close(fd);
}
END_TEST

START_TEST(header_and_admin_edges)
{
    int fd = tb_ck_connect(&B);
    /* client_id null, and 2000 characters long: both legal. */
    for (int variant = 0; variant < 2; variant++) {
        static char longid[2001];
        memset(longid, 'c', 2000);
        uint8_t buf[4096];
        struct kp_wr w;
        kp_wr_init(&w, buf, sizeof buf);
        kp_wr_i32(&w, 0);
        kp_wr_i16(&w, 18);
        kp_wr_i16(&w, 2);
        kp_wr_i32(&w, 300 + variant);
        kp_wr_nstr(&w, variant ? kp_str_of(longid) : KP_STR_NULL);
        kp_wr_i32_at(&w, 0, (int32_t)(kp_wr_len(&w) - 4));
        ck_assert_int_eq(tb_send_all(fd, buf, kp_wr_len(&w)), 0);
        struct tb_frame f;
        ck_assert_int_eq(tb_recv_frame(fd, &f, 1 << 20), 0);
        ck_assert_int_eq(tb_frame_corr(&f), 300 + variant);
        struct tb_api_versions av;
        ck_assert_int_eq(tb_dec_api_versions(&f, 2, &av), 0);
        ck_assert_int_eq(av.error, 0);
        tb_frame_free(&f);
    }
    /* Metadata v1-v4 with an empty topic list: brokers only, no topics (librdkafka's
     * broker-only refresh). */
    for (int16_t v = 1; v <= 4; v++) {
        struct tb_frame f;
        CALL(fd, 3, v, 310 + v, &f, tb_enc_metadata(r, v, NULL, 0, true));
        struct tb_metadata md;
        ck_assert_int_eq(tb_dec_metadata(&f, v, &md), 0);
        tb_frame_free(&f);
        ck_assert_int_eq(md.n_brokers, 1);
        ck_assert_msg(md.n_topics == 0, "Metadata v%d with no topics listed %d", v, md.n_topics);
    }
    /* A replication factor a single broker cannot give: INVALID_REPLICATION_FACTOR. */
    struct tb_frame f;
    CALL(fd, 19, 4, 320, &f, tb_enc_create_topics(r, 4, "rf3", 1, 3, 1000, false));
    int16_t err = -1;
    ck_assert_int_eq(tb_dec_create_topics(&f, 4, &err), 0);
    tb_frame_free(&f);
    ck_assert_msg(err == 38, "replication factor 3 on one broker: error %d", err);
    CALL(fd, 19, 4, 321, &f, tb_enc_create_topics(r, 4, "rfdef", 1, -1, 1000, false));
    ck_assert_int_eq(tb_dec_create_topics(&f, 4, &err), 0);
    tb_frame_free(&f);
    ck_assert_msg(err == 0, "replication factor -1 (default) at v4: error %d", err);
    close(fd);
}
END_TEST

START_TEST(delete_disabled_by_config)
{
    static const char *const extra[] = {"-o", "delete.topic.enable=false", NULL};
    start_with(extra);
    int fd = tb_ck_connect(&B);
    ck_assert_int_eq(create_v(fd, 4, "keep", 1, false), 0);
    ck_assert_int_eq(delete_v(fd, 3, "keep"), 73); /* TOPIC_DELETION_DISABLED */
    struct tb_metadata md;
    ck_assert_int_eq(md_one(fd, "keep", false, &md), 0);
    close(fd);
}
END_TEST

/* ---- the harness's encoders agree with the project's codec ---------------------------------- */

START_TEST(harness_requests_decode_with_kp_msg)
{
    static const struct {
        int16_t key, min, max;
    } apis[] = {{0, 3, 7}, {1, 4, 11}, {2, 1, 2}, {3, 0, 4}, {18, 0, 3}, {19, 0, 4}, {20, 0, 3}};
    uint8_t batch[512];
    long blen = tb_batch_values(batch, sizeof batch, "x", 0, 2, 0, true, 1);
    ck_assert_int_gt(blen, 0);
    const char *topics[] = {"a", "b"};
    for (size_t i = 0; i < sizeof apis / sizeof apis[0]; i++) {
        for (int16_t v = apis[i].min; v <= apis[i].max; v++) {
            struct tb_req r;
            ck_assert_int_eq(tb_req_begin(&r, 4096, apis[i].key, v, 1), 0);
            struct tb_fetch_args fa = {500, 1, 1 << 20, "t", 0, 5, 1 << 20};
            switch (apis[i].key) {
            case 0:
                tb_enc_produce(&r, v, -1, 1000, "t", 0, batch, (size_t)blen);
                break;
            case 1:
                tb_enc_fetch(&r, v, &fa);
                break;
            case 2:
                tb_enc_list_offsets(&r, v, "t", 0, -2);
                break;
            case 3:
                tb_enc_metadata(&r, v, topics, 2, true);
                break;
            case 18:
                tb_enc_api_versions(&r, v);
                break;
            case 19:
                tb_enc_create_topics(&r, v, "t", 3, 1, 1000, v >= 1);
                break;
            default:
                tb_enc_delete_topics(&r, v, "t", 1000);
                break;
            }
            long len = tb_req_end(&r);
            ck_assert_int_gt(len, 0);
            int rc = tb_codec_req_check(r.buf, (size_t)len);
            tb_req_free(&r);
            ck_assert_msg(rc == 0, "api %d v%d: kp_msg does not decode the harness's request (%d)",
                          apis[i].key, v, rc);
        }
    }
}
END_TEST

/* Responses as the project's codec encodes them read back through the harness's decoders. */
static struct tb_frame encoded(int16_t key, int16_t v,
                               int (*enc)(struct kp_wr *, int16_t, const void *), const void *msg)
{
    static uint8_t buf[8192];
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_resp_hdr_encode(&wr, key, v, 99), 0);
    ck_assert_int_eq(enc(&wr, v, msg), 0);
    return (struct tb_frame){buf, kp_wr_len(&wr)};
}

static int enc_fetch(struct kp_wr *w, int16_t v, const void *m)
{
    return kp_fetch_resp_encode(w, v, m);
}
static int enc_metadata(struct kp_wr *w, int16_t v, const void *m)
{
    return kp_metadata_resp_encode(w, v, m);
}
static int enc_produce(struct kp_wr *w, int16_t v, const void *m)
{
    return kp_produce_resp_encode(w, v, m);
}

START_TEST(harness_decoders_read_kp_msg_responses)
{
    uint8_t batch[512];
    long blen = tb_batch_values(batch, sizeof batch, "x", 0, 2, 0, true, 1);
    ck_assert_int_gt(blen, 0);
    for (int16_t v = 4; v <= 11; v++) {
        struct kp_fetch_resp_partition fp = {.partition = 0,
                                             .error_code = 0,
                                             .high_watermark = 9,
                                             .last_stable_offset = 9,
                                             .log_start_offset = 1,
                                             .n_aborted = 0,
                                             .preferred_read_replica = -1,
                                             .records = {batch, (int32_t)blen}};
        struct kp_fetch_resp_topic ft = {kp_str_of("t"), 1, &fp};
        struct kp_fetch_resp fr = {.n_topics = 1, .topics = &ft};
        struct tb_frame f = encoded(1, v, enc_fetch, &fr);
        struct tb_fetch_resp out;
        ck_assert_msg(tb_dec_fetch(&f, v, &out) == 0, "fetch v%d", v);
        ck_assert_int_eq(out.high_watermark, 9);
        ck_assert_int_eq(out.last_stable_offset, 9);
        ck_assert_int_eq(out.log_start_offset, v >= 5 ? 1 : -1);
        ck_assert_int_eq(out.records_len, blen);
        ck_assert_int_eq(tb_records_walk(out.records, (size_t)out.records_len, NULL, NULL, NULL),
                         2);
    }
    for (int16_t v = 0; v <= 4; v++) {
        int32_t reps[1] = {1};
        struct kp_metadata_partition mp = {0, 0, 1, 1, reps, 1, reps};
        struct kp_metadata_topic mt = {0, kp_str_of("t"), false, 1, &mp};
        struct kp_metadata_broker mb = {1, kp_str_of("127.0.0.1"), 4242, KP_STR_NULL};
        struct kp_metadata_resp mr = {0, 1, &mb, KP_STR_NULL, 1, 1, &mt};
        struct tb_frame f = encoded(3, v, enc_metadata, &mr);
        struct tb_metadata out;
        ck_assert_msg(tb_dec_metadata(&f, v, &out) == 0, "metadata v%d", v);
        ck_assert_int_eq(out.broker[0].port, 4242);
        ck_assert_int_eq(out.topic[0].n_parts, 1);
        ck_assert_int_eq(out.topic[0].part[0].leader, 1);
    }
    for (int16_t v = 3; v <= 7; v++) {
        struct kp_produce_resp_partition pp = {0, 0, 42, -1, 0};
        struct kp_produce_resp_topic pt = {kp_str_of("t"), 1, &pp};
        struct kp_produce_resp pr = {1, &pt, 0};
        struct tb_frame f = encoded(0, v, enc_produce, &pr);
        struct tb_produce_resp out;
        ck_assert_msg(tb_dec_produce(&f, v, &out) == 0, "produce v%d", v);
        ck_assert_int_eq(out.base_offset, 42);
    }
}
END_TEST

static void bare_setup(void) { memset(&B, 0, sizeof B); }

static Suite *suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("apis");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, api_versions_every_version);
    tcase_add_test(tc, api_versions_unsupported_fallback_golden);
    tcase_add_test(tc, metadata_every_version);
    tcase_add_test(tc, metadata_auto_create);
    tcase_add_test(tc, create_topics_every_version);
    tcase_add_test(tc, delete_topics_every_version);
    tcase_add_test(tc, list_offsets_earliest_latest_by_time);
    tcase_add_test(tc, list_offsets_by_time_many_partitions_in_order);
    tcase_add_test(tc, produce_errors);
    tcase_add_test(tc, produce_malformed_records_field);
    tcase_add_test(tc, produce_legacy_versions);
    tcase_add_test(tc, topic_names_that_escape);
    tcase_add_test(tc, header_and_admin_edges);
    suite_add_tcase(s, tc);
    TCase *tn = tcase_create("config");
    tcase_add_checked_fixture(tn, bare_setup, teardown);
    tcase_set_timeout(tn, 60);
    tcase_add_test(tn, metadata_auto_create_disabled_by_config);
    tcase_add_test(tn, log_append_time_topics);
    tcase_add_test(tn, delete_disabled_by_config);
    suite_add_tcase(s, tn);
    TCase *tk = tcase_create("codec");
    tcase_add_test(tk, harness_requests_decode_with_kp_msg);
    tcase_add_test(tk, harness_decoders_read_kp_msg_responses);
    suite_add_tcase(s, tk);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
