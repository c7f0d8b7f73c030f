/*
 * test_client_compress — libsplicelog and compressed record batches, against a real splicelogd
 * and kcat (librdkafka):
 * - batches kcat compresses with each of gzip, snappy, lz4 and zstd are read back whole by the
 *   consumer (every record, in order, keys and values intact; the consumer's counter proves the
 *   batches it read were compressed);
 * - batches the producer compresses (compression.type) are stored with that codec and read
 *   back identical by kcat and by the library's consumer;
 * - a compressed batch that does not decompress (its gzip trailer damaged on disk) is an error
 *   naming the topic, partition and the batch's offsets; that partition stays at the batch
 *   (nothing past it is handed out, its position does not move) while another partition goes
 *   on, until the application seeks past it.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_client.h"
#include "kp_batch.h"
#include "splicelog.h"
#include "../support/tb_check.h"

static struct tb_broker B;
static char bootstrap[64];

static const char *const codecs[] = {"gzip", "snappy", "lz4", "zstd"};

static void setup(void)
{
    memset(&B, 0, sizeof(B));
    static const char *const extra[] = {"-o", "num.partitions=2", NULL};
    tb_cl_start(&B, extra, bootstrap, sizeof(bootstrap));
}

static void teardown(void) { tb_broker_cleanup(&B); }

static sl_conf *conf_new(void)
{
    sl_conf *c = sl_conf_new();
    tb_cl_set(c, "bootstrap.servers", bootstrap);
    return c;
}

static void run_kcat(const char *const *argv, const char *out)
{
    pid_t pid = tb_spawn(argv, out);
    ck_assert_int_gt(pid, 0);
    int st = tb_wait_exit(pid, 60000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "kcat status 0x%x", st);
}

#define N 20000

/* The line kcat or the producer writes for record i: "key-<i%97>:value-<i> ..." */
static int line(char *buf, size_t cap, int i)
{
    return snprintf(buf, cap, "key-%d:value-%06d and some words to make it compressible", i % 97,
                    i);
}

/* Reads n records of topic partition 0 from the beginning and checks them against line(). */
static void consume_check(const char *topic, int n, uint64_t *decompressed)
{
    sl_conf *c = conf_new();
    tb_cl_set(c, "check.crcs", "true");
    char err[256];
    sl_consumer *k = sl_consumer_new(c, err, sizeof(err));
    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(sl_consumer_assign(k, topic, 0, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    for (int i = 0; i < n; i++) {
        sl_record r;
        sl_err e = sl_consumer_poll(k, 10000, &r);
        if (e != SL_ERR_NO_ERROR)
            ck_abort_msg("%s record %d: %s", topic, i, sl_err2str(e));
        char want[128];
        int wl = line(want, sizeof(want), i);
        char *colon = strchr(want, ':');
        size_t kl = (size_t)(colon - want);
        if (r.offset != i || r.key_len != kl || memcmp(r.key, want, kl) != 0 ||
            r.value_len != (size_t)wl - kl - 1 || memcmp(r.value, colon + 1, r.value_len) != 0)
            ck_abort_msg("%s record %d (offset %lld) differs", topic, i, (long long)r.offset);
    }
    sl_record r;
    ck_assert_int_eq(sl_consumer_poll(k, 200, &r), SL_ERR__TIMED_OUT);
    sl_stats st;
    sl_consumer_stats(k, &st);
    *decompressed = st.batches_decompressed;
    sl_consumer_free(k);
}

START_TEST(test_kcat_compressed_batches_read_back_whole)
{
    char in[400], out[400];
    snprintf(in, sizeof(in), "%s/lines.txt", B.dir);
    snprintf(out, sizeof(out), "%s/kcat.out", B.dir);
    FILE *f = fopen(in, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < N; i++) {
        char l[128];
        line(l, sizeof(l), i);
        fprintf(f, "%s\n", l);
    }
    fclose(f);
    for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
        char topic[64];
        snprintf(topic, sizeof(topic), "kz-%s", codecs[c]);
        const char *argv[] = {"kcat", "-b", bootstrap, "-P", "-t",           topic, "-p", "0", "-K",
                              ":",    "-z", codecs[c], "-X", "linger.ms=50", "-l",  in,   NULL};
        run_kcat(argv, out);
        uint64_t dec = 0;
        consume_check(topic, N, &dec);
        ck_assert_msg(dec > 0, "%s: no compressed batch was read", codecs[c]);
    }
}
END_TEST

/* The codec of the batch holding most of partition 0's records on disk. */
static int stored_codec(const char *topic)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s-0/00000000000000000000.log", B.data, topic);
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    static uint8_t buf[8 << 20];
    ssize_t n = pread(fd, buf, sizeof(buf), 0);
    close(fd);
    ck_assert_int_gt(n, 0);
    long most = -1;
    int codec = -1;
    for (size_t pos = 0; pos + KP_BATCH_HEADER_LEN <= (size_t)n;) {
        struct kp_batch_hdr h;
        ck_assert_int_eq(kp_batch_parse_hdr(buf + pos, (size_t)n - pos, &h), 0);
        if (h.record_count > most) {
            most = h.record_count;
            codec = h.attributes & KP_BATCH_ATTR_CODEC_MASK;
        }
        pos += kp_batch_size(&h);
    }
    return codec;
}

START_TEST(test_library_compresses_every_codec)
{
    for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
        char topic[64];
        snprintf(topic, sizeof(topic), "lz-%s", codecs[c]);
        sl_conf *conf = conf_new();
        tb_cl_set(conf, "compression.type", codecs[c]);
        tb_cl_set(conf, "linger.ms", "50");
        char err[256];
        sl_producer *p = sl_producer_new(conf, err, sizeof(err));
        ck_assert_ptr_nonnull(p);
        for (int i = 0; i < N; i++) {
            char l[128];
            int n = line(l, sizeof(l), i);
            char *colon = strchr(l, ':');
            size_t kl = (size_t)(colon - l);
            sl_err e;
            while ((e = sl_produce(p, topic, 0, l, kl, colon + 1, (size_t)n - kl - 1, NULL, 0, 0,
                                   NULL)) == SL_ERR__QUEUE_FULL)
                sl_poll(p, 10);
            ck_assert_int_eq(e, SL_ERR_NO_ERROR);
            sl_poll(p, 0);
        }
        ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
        sl_producer_free(p);
        ck_assert_int_eq(stored_codec(topic), (int)c + 1);
        /* kcat reads them back identical. */
        char out[400];
        snprintf(out, sizeof(out), "%s/%s.out", B.dir, topic);
        const char *argv[] = {"kcat", "-b",        bootstrap, "-C", "-t", topic,     "-p", "0",
                              "-o",   "beginning", "-e",      "-q", "-f", "%k:%s\n", NULL};
        run_kcat(argv, out);
        FILE *f = fopen(out, "r");
        ck_assert_ptr_nonnull(f);
        char got[256];
        for (int i = 0; i < N; i++) {
            char want[128];
            line(want, sizeof(want), i);
            ck_assert_msg(fgets(got, sizeof(got), f) != NULL, "%s: kcat read %d lines", topic, i);
            got[strcspn(got, "\n")] = 0;
            if (strcmp(got, want) != 0)
                ck_abort_msg("%s line %d: %s", topic, i, got);
        }
        ck_assert_ptr_null(fgets(got, sizeof(got), f));
        fclose(f);
        /* ...and so does the library. */
        uint64_t dec = 0;
        consume_check(topic, N, &dec);
        ck_assert_uint_gt(dec, 0);
    }
}
END_TEST

/* Produces records [from, from + n) to topic/partition as one gzip batch. */
static void produce_batch(const char *topic, int32_t part, int from, int n)
{
    sl_conf *conf = conf_new();
    tb_cl_set(conf, "compression.type", "gzip");
    tb_cl_set(conf, "linger.ms", "1000");
    sl_producer *p = sl_producer_new(conf, NULL, 0);
    ck_assert_ptr_nonnull(p);
    for (int i = from; i < from + n; i++) {
        char l[128];
        int len = line(l, sizeof(l), i);
        ck_assert_int_eq(sl_produce(p, topic, part, NULL, 0, l, (size_t)len, NULL, 0, 0, NULL),
                         SL_ERR_NO_ERROR);
    }
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    sl_producer_free(p);
}

/* Damages the gzip trailer (CRC-32 and length) of the batch-th batch of topic-part's log. */
static void damage_batch(const char *topic, int part, int batch)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s-%d/00000000000000000000.log", B.data, topic, part);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    static uint8_t buf[1 << 20];
    ssize_t n = pread(fd, buf, sizeof(buf), 0);
    ck_assert_int_gt(n, 0);
    size_t pos = 0;
    struct kp_batch_hdr h;
    for (int i = 0;; i++) {
        ck_assert_int_eq(kp_batch_parse_hdr(buf + pos, (size_t)n - pos, &h), 0);
        if (i == batch)
            break;
        pos += kp_batch_size(&h);
    }
    ck_assert_int_eq(h.attributes & KP_BATCH_ATTR_CODEC_MASK, 1);
    uint8_t junk[8];
    size_t end = pos + kp_batch_size(&h);
    memcpy(junk, buf + end - 8, 8);
    for (int i = 0; i < 8; i++)
        junk[i] ^= 0xa5;
    ck_assert_int_eq(pwrite(fd, junk, 8, (off_t)(end - 8)), 8);
    close(fd);
}

START_TEST(test_corrupt_compressed_batch_stops_its_partition)
{
    produce_batch("bad", 0, 0, 100);
    produce_batch("bad", 0, 100, 100);
    produce_batch("bad", 0, 200, 100);
    produce_batch("bad", 1, 0, 300);
    damage_batch("bad", 0, 1); /* offsets 100-199 */

    sl_conf *c = conf_new();
    sl_consumer *k = sl_consumer_new(c, NULL, 0);
    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(sl_consumer_assign(k, "bad", 0, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_consumer_assign(k, "bad", 1, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    int got[2] = {0, 0}, errors = 0;
    int64_t next[2] = {0, 0};
    sl_record r;
    for (int spins = 0; spins < 2000 && (got[1] < 300 || got[0] < 100 || errors == 0); spins++) {
        sl_err e = sl_consumer_poll(k, 100, &r);
        if (e == SL_ERR__TIMED_OUT)
            continue;
        if (e == SL_ERR_NO_ERROR) {
            ck_assert_int_eq(r.offset, next[r.partition]);
            next[r.partition]++;
            got[r.partition]++;
            continue;
        }
        ck_assert_msg(e == SL_ERR__BAD_COMPRESSION, "%s", sl_err2str(e));
        ck_assert_str_eq(r.topic, "bad");
        ck_assert_int_eq(r.partition, 0);
        ck_assert_int_eq(r.offset, 100);
        ck_assert_int_eq(r.last_offset, 199);
        errors++;
    }
    ck_assert_int_eq(got[0], 100);
    ck_assert_int_eq(got[1], 300);
    ck_assert_int_eq(errors, 1);
    /* Partition 0 waits at the bad batch: nothing more, position unchanged. */
    ck_assert_int_eq(sl_consumer_poll(k, 500, &r), SL_ERR__TIMED_OUT);
    ck_assert_int_eq(sl_consumer_position(k, "bad", 0), 100);
    /* The application skips it. */
    ck_assert_int_eq(sl_consumer_seek(k, "bad", 0, 200), SL_ERR_NO_ERROR);
    for (int i = 200; i < 300; i++) {
        sl_err e = sl_consumer_poll(k, 10000, &r);
        ck_assert_msg(e == SL_ERR_NO_ERROR, "%d: %s", i, sl_err2str(e));
        ck_assert_int_eq(r.offset, i);
    }
    /* Seeking back onto it reports it again. */
    ck_assert_int_eq(sl_consumer_seek(k, "bad", 0, 150), SL_ERR_NO_ERROR);
    sl_err e = sl_consumer_poll(k, 10000, &r);
    ck_assert_int_eq(e, SL_ERR__BAD_COMPRESSION);
    ck_assert_int_eq(r.offset, 150);
    ck_assert_int_eq(r.last_offset, 199);
    sl_consumer_free(k);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("client_compress");
    TCase *tc = tcase_create("compress");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_kcat_compressed_batches_read_back_whole);
    tcase_add_test(tc, test_library_compresses_every_codec);
    tcase_add_test(tc, test_corrupt_compressed_batch_stops_its_partition);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
