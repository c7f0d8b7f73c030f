/*
 * test_recompress — a topic's compression.type on a real splicelogd (issue 14, librdkafka's
 * 0081_admin): a batch produced with codec A to a topic whose compression.type is B (a codec,
 * or uncompressed) is stored in B, as Kafka stores it: fetched back, its attributes say B, its
 * CRC is valid, its records are the ones produced, byte for byte, and its header keeps
 * lastOffsetDelta, the timestamps and the producer id / epoch / sequence (a resend is still
 * answered as a duplicate). compression.type=producer keeps the producer's codec; a batch
 * whose stored size passes max.message.bytes is MESSAGE_TOO_LARGE; the value is described.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"
#include "kp_batch.h"
#include "kp_codec.h"
#include "kp_msg.h"
#include "kp_msg_config.h"

static struct tb_broker B;
static uint8_t arena_mem[1 << 20];
static int32_t corr = 1;
static struct kp_codec_ctx tz;

static void setup(void)
{
    static const char *const extra[] = {"-o", "num.partitions=1", NULL};
    tb_ck_start_fresh(&B, extra);
}

static void teardown(void)
{
    tb_ck_finish(&B);
    kp_codec_ctx_free(&tz);
}

/* IncrementalAlterConfigs v0 SET of one topic key; the error code. */
static int16_t set_config(int fd, const char *topic, const char *key, const char *value)
{
    struct kp_incremental_alter_configs_config c = {kp_str_of(key), KP_CONFIG_OP_SET,
                                                    kp_str_of(value)};
    struct kp_incremental_alter_configs_resource res = {KP_CONFIG_RESOURCE_TOPIC, kp_str_of(topic),
                                                        1, &c};
    struct kp_incremental_alter_configs_req req = {1, &res, false};
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 4096, KP_API_INCREMENTAL_ALTER_CONFIGS, 0, ++corr), 0);
    ck_assert_int_eq(kp_incremental_alter_configs_req_encode(&r.wr, 0, &req), 0);
    ck_assert_int_gt(tb_req_end(&r), 0);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(fd, &r, corr, &f), 0);
    tb_req_free(&r);
    struct kp_rd rd;
    kp_rd_init(&rd, f.data + 4, f.len - 4);
    struct kp_arena a;
    kp_arena_init(&a, arena_mem, sizeof arena_mem);
    struct kp_incremental_alter_configs_resp resp;
    ck_assert_int_eq(kp_incremental_alter_configs_resp_decode(&rd, 0, &a, &resp), 0);
    ck_assert_int_eq(resp.n_responses, 1);
    int16_t err = resp.responses[0].error_code;
    tb_frame_free(&f);
    return err;
}

/* The topic's compression.type as DescribeConfigs v1 reports it, into buf. */
static void describe_codec(int fd, const char *topic, char *buf, size_t cap)
{
    struct kp_str key = kp_str_of("compression.type");
    struct kp_describe_configs_resource res = {KP_CONFIG_RESOURCE_TOPIC, kp_str_of(topic), 1, &key};
    struct kp_describe_configs_req req = {1, &res, false, false};
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 4096, KP_API_DESCRIBE_CONFIGS, 1, ++corr), 0);
    ck_assert_int_eq(kp_describe_configs_req_encode(&r.wr, 1, &req), 0);
    ck_assert_int_gt(tb_req_end(&r), 0);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(fd, &r, corr, &f), 0);
    tb_req_free(&r);
    struct kp_rd rd;
    kp_rd_init(&rd, f.data + 4, f.len - 4);
    struct kp_arena a;
    kp_arena_init(&a, arena_mem, sizeof arena_mem);
    struct kp_describe_configs_resp resp;
    ck_assert_int_eq(kp_describe_configs_resp_decode(&rd, 1, &a, &resp), 0);
    ck_assert_int_eq(resp.n_results, 1);
    ck_assert_int_eq(resp.results[0].n_configs, 1);
    struct kp_str v = resp.results[0].configs[0].value;
    snprintf(buf, cap, "%.*s", v.len > 0 ? v.len : 0, v.ptr);
    tb_frame_free(&f);
}

enum { NREC = 40, PAD = 300 };

/* The plain batch of the tests (compressible values, keys, producer 4242 epoch 3 seq 7). */
static size_t plain_batch(uint8_t *buf, size_t cap)
{
    long n = tb_batch_values(buf, cap, "rz", 0, NREC, PAD, true, 1700000000000);
    ck_assert_int_gt(n, 0);
    kp_batch_set_producer(buf, (size_t)n, 4242, 3, 7, false);
    return (size_t)n;
}

/* plain compressed with codec into out (cap bytes): the batch a producer with that codec
 * sends. */
static size_t zipped(const uint8_t *plain, size_t len, int codec, uint8_t *out, size_t cap)
{
    if (codec == KP_CODEC_NONE) {
        memcpy(out, plain, len);
        return len;
    }
    size_t raw = len - KP_BATCH_HEADER_LEN;
    ck_assert_uint_le(KP_BATCH_HEADER_LEN + kp_codec_bound(codec, raw), cap);
    long z = kp_codec_compress(&tz, codec, -1, plain + KP_BATCH_HEADER_LEN, raw,
                               out + KP_BATCH_HEADER_LEN, cap - KP_BATCH_HEADER_LEN);
    ck_assert_int_gt(z, 0);
    long n = kp_batch_seal_compressed(out, plain, (size_t)z, (unsigned)codec);
    ck_assert_int_gt(n, 0);
    return (size_t)n;
}

static int16_t produce(int fd, const char *topic, const uint8_t *batch, size_t len, int64_t *base)
{
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_produce(fd, topic, 0, batch, len, &pr), 0);
    if (base)
        *base = pr.base_offset;
    return pr.error;
}

/* Fetches the batch at offset 0 of topic and checks it against plain: codec want, CRC valid,
 * header fields kept, records identical once decompressed. */
static void check_stored(int fd, const char *topic, const uint8_t *plain, size_t plain_len,
                         int want)
{
    struct tb_fetch_args fa = {.max_wait_ms = 0,
                               .min_bytes = 1,
                               .max_bytes = 1 << 20,
                               .topic = topic,
                               .partition = 0,
                               .offset = 0,
                               .partition_max_bytes = 1 << 20};
    struct tb_frame f;
    struct tb_fetch_resp fr;
    ck_assert_int_eq(tb_fetch(fd, &fa, &f, &fr), 0);
    ck_assert_int_eq(fr.error, 0);
    ck_assert_int_gt(fr.records_len, 0);
    struct kp_batch_hdr h, p;
    ck_assert_int_eq(kp_batch_validate(fr.records, (size_t)fr.records_len, 0, &h), 0); /* CRC */
    ck_assert_int_eq(kp_batch_parse_hdr(plain, plain_len, &p), 0);
    ck_assert_int_eq(h.attributes & KP_BATCH_ATTR_CODEC_MASK, want);
    ck_assert_int_eq(h.base_offset, 0);
    ck_assert_int_eq(h.record_count, NREC);
    ck_assert_int_eq(h.last_offset_delta, p.last_offset_delta);
    ck_assert_int_eq(h.base_timestamp, p.base_timestamp);
    ck_assert_int_eq(h.max_timestamp, p.max_timestamp);
    ck_assert_int_eq(h.producer_id, 4242);
    ck_assert_int_eq(h.producer_epoch, 3);
    ck_assert_int_eq(h.base_sequence, 7);
    const uint8_t *recs = fr.records + KP_BATCH_HEADER_LEN;
    size_t n = kp_batch_size(&h) - KP_BATCH_HEADER_LEN;
    uint8_t *dbuf = NULL;
    size_t dcap = 0;
    if (want != KP_CODEC_NONE) {
        long d = kp_codec_decompress(&tz, want, recs, n, &dbuf, &dcap, 1 << 20);
        ck_assert_int_gt(d, 0);
        recs = dbuf;
        n = (size_t)d;
    }
    ck_assert_uint_eq(n, plain_len - KP_BATCH_HEADER_LEN);
    ck_assert_int_eq(memcmp(recs, plain + KP_BATCH_HEADER_LEN, n), 0);
    free(dbuf);
    tb_frame_free(&f);
}

static const char *const NAMES[] = {"uncompressed", "gzip", "snappy", "lz4", "zstd"};

/* Every producer codec into every other topic codec (loop index: the topic's). */
START_TEST(stored_in_the_topic_codec)
{
    int want = _i;
    int fd = tb_ck_connect(&B);
    static uint8_t plain[64 << 10], sent[80 << 10];
    size_t pl = plain_batch(plain, sizeof plain);
    for (int from = KP_CODEC_NONE; from <= KP_CODEC_ZSTD; from++) {
        if (from == want)
            continue;
        char topic[64];
        snprintf(topic, sizeof topic, "rz-%s-%s", NAMES[from], NAMES[want]);
        tb_ck_create_topic(fd, topic, 1);
        ck_assert_int_eq(set_config(fd, topic, "compression.type", NAMES[want]), 0);
        char got[32];
        describe_codec(fd, topic, got, sizeof got);
        ck_assert_str_eq(got, NAMES[want]);
        size_t n = zipped(plain, pl, from, sent, sizeof sent);
        int64_t base = -1;
        ck_assert_int_eq(produce(fd, topic, sent, n, &base), 0);
        ck_assert_int_eq(base, 0);
        check_stored(fd, topic, plain, pl, want);
        /* the same batch again: the producer's duplicate, answered with its offset */
        ck_assert_int_eq(produce(fd, topic, sent, n, &base), 0);
        ck_assert_int_eq(base, 0);
        struct tb_list_offsets_resp lo;
        ck_assert_int_eq(tb_list_offsets(fd, topic, 0, -1, &lo), 0);
        ck_assert_int_eq(lo.offset, NREC);
    }
    close(fd);
}
END_TEST

/* compression.type=producer (the default, and set explicitly): stored as produced. */
START_TEST(producer_keeps_the_codec)
{
    int fd = tb_ck_connect(&B);
    static uint8_t plain[64 << 10], sent[80 << 10];
    size_t pl = plain_batch(plain, sizeof plain);
    tb_ck_create_topic(fd, "rz-default", 1);
    tb_ck_create_topic(fd, "rz-producer", 1);
    ck_assert_int_eq(set_config(fd, "rz-producer", "compression.type", "producer"), 0);
    char got[32];
    describe_codec(fd, "rz-default", got, sizeof got);
    ck_assert_str_eq(got, "producer");
    size_t n = zipped(plain, pl, KP_CODEC_LZ4, sent, sizeof sent);
    ck_assert_int_eq(produce(fd, "rz-default", sent, n, NULL), 0);
    ck_assert_int_eq(produce(fd, "rz-producer", sent, n, NULL), 0);
    check_stored(fd, "rz-default", plain, pl, KP_CODEC_LZ4);
    check_stored(fd, "rz-producer", plain, pl, KP_CODEC_LZ4);
    ck_assert_int_eq(set_config(fd, "rz-producer", "compression.type", "brotli"),
                     KP_ERR_INVALID_CONFIG);
    /* a codec set is kept across a restart, and acts on the next batch */
    ck_assert_int_eq(set_config(fd, "rz-producer", "compression.type", "snappy"), 0);
    close(fd);
    tb_ck_stop_clean(&B);
    tb_ck_start(&B, NULL);
    fd = tb_ck_connect(&B);
    describe_codec(fd, "rz-producer", got, sizeof got);
    ck_assert_str_eq(got, "snappy");
    describe_codec(fd, "rz-default", got, sizeof got);
    ck_assert_str_eq(got, "producer");
    close(fd);
}
END_TEST

/* A batch small as produced (gzip) but past max.message.bytes once stored uncompressed. */
START_TEST(oversized_once_recompressed)
{
    int fd = tb_ck_connect(&B);
    static uint8_t plain[64 << 10], sent[80 << 10];
    size_t pl = plain_batch(plain, sizeof plain);
    size_t n = zipped(plain, pl, KP_CODEC_GZIP, sent, sizeof sent);
    ck_assert_uint_lt(2 * n, pl);
    char max[32];
    snprintf(max, sizeof max, "%zu", (n + pl) / 2); /* above the sent size, below the stored */
    tb_ck_create_topic(fd, "rz-big", 1);
    ck_assert_int_eq(set_config(fd, "rz-big", "max.message.bytes", max), 0);
    ck_assert_int_eq(produce(fd, "rz-big", sent, n, NULL), 0); /* producer: stored as sent */
    ck_assert_int_eq(set_config(fd, "rz-big", "compression.type", "uncompressed"), 0);
    ck_assert_int_eq(produce(fd, "rz-big", sent, n, NULL), KP_ERR_MESSAGE_TOO_LARGE);
    ck_assert_int_eq(set_config(fd, "rz-big", "compression.type", "zstd"), 0);
    kp_batch_set_producer(plain, pl, 4242, 3, 7 + NREC, false); /* the next sequence */
    n = zipped(plain, pl, KP_CODEC_GZIP, sent, sizeof sent);
    ck_assert_int_eq(produce(fd, "rz-big", sent, n, NULL), 0); /* zstd fits */
    close(fd);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("recompress");
    TCase *tc = tcase_create("recompress");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_loop_test(tc, stored_in_the_topic_codec, KP_CODEC_NONE, KP_CODEC_ZSTD + 1);
    tcase_add_test(tc, producer_keeps_the_codec);
    tcase_add_test(tc, oversized_once_recompressed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
