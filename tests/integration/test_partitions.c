/*
 * test_partitions — many partitions on a broker with few descriptors (issue 21): a topic of
 * 20,000 partitions on a broker whose RLIMIT_NOFILE is 2,048 (lowered here with setrlimit,
 * inherited by the broker). A write to every partition and a read of every one; the same
 * after a clean restart and after kill -9 (crash recovery of 20,000 logs); the broker's open
 * descriptors stay under the limit throughout (storage keeps segment files in a bounded
 * cache, st_fcache.c). Metadata for the topic and for all topics, and v12's by name and by
 * topic id, lists every partition (built on the broker's admin thread at this size). Data under
 * /dev/shm when there is one: 20,000 partition directories are a few seconds there and a minute on
 * a shared disk. TB_PARTITIONS and TB_NOFILE change the sizes: `make soak-partitions` runs 100,000
 * partitions under a 20,000-descriptor limit with the release broker.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "kp_api.h"
#include "kp_buf.h"
#include "kp_msg.h"
#include "tb_broker.h"
#include "tb_kafka.h"
#include "tb_check.h"

enum {
    CHUNK = 500,   /* partitions per Produce / Fetch request */
    PER_ROUND = 2, /* records per partition per round */
};
static int PARTS = 20000, NOFILE = 2048;

static const char *const TOPIC = "wide";
static struct tb_broker B;

static void setup(void)
{
    memset(&B, 0, sizeof B);
    const char *e = getenv("TB_PARTITIONS");
    if (e && atoi(e) >= CHUNK)
        PARTS = atoi(e) / CHUNK * CHUNK;
    if ((e = getenv("TB_NOFILE")) && atoi(e) >= 256)
        NOFILE = atoi(e);
    if (access("/dev/shm", W_OK) == 0)
        setenv("TMPDIR", "/dev/shm", 1);
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = NOFILE;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0); /* the broker inherits it */
}

static void teardown(void) { tb_broker_cleanup(&B); }

static void start(void)
{
    char maxp[64];
    snprintf(maxp, sizeof maxp, "topic.partitions.max=%d", PARTS);
    const char *const opts[] = {"-o", maxp, "-o", "log.scrub.bytes.per.sec=0", NULL};
    /* after kill -9 the logs written since the log checkpoint (st_ckpt.c) are opened and
     * checked at start-up (not lazily): 20,000 of them take 2-3 s with the release build,
     * 20-30 s with ASan on a loaded machine */
    ck_assert_int_eq(tb_broker_start_within(&B, opts, 180 * 1000), 0);
}

/* A connection whose answers may take long (creating many partitions). */
static int slow_connect(void)
{
    int fd = tb_connect(B.port);
    ck_assert_int_ge(fd, 0);
    struct timeval tv = {180, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static int broker_fds(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)B.pid);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void prefix_of(char *buf, size_t cap, int32_t p) { snprintf(buf, cap, "w%d", (int)p); }

static double t0;
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
/* A line per phase on stderr: where the seconds of this suite go, and the broker's descriptors
 * and resident set at its end (figures for issue 21, not assertions). */
static void phase(const char *what)
{
    double t = now_s();
    fprintf(stderr, "test_partitions: %-40s %6.2f s", what, t - t0);
    if (B.pid > 0)
        fprintf(stderr, "  %6d fds  %8.1f MiB RSS", broker_fds(),
                (double)tb_broker_rss_kib(&B) / 1024.0);
    fprintf(stderr, "\n");
    t0 = now_s();
}

/* Round r: PER_ROUND records to every partition (offsets r * PER_ROUND...), acks=1. */
static void write_all(int fd, int round)
{
    static uint8_t bufs[CHUNK][512];
    const uint8_t *recs[CHUNK];
    size_t lens[CHUNK];
    int32_t parts[CHUNK];
    static struct tb_produce_resp out[CHUNK];
    int32_t got[CHUNK];
    for (int32_t first = 0; first < PARTS; first += CHUNK) {
        for (int i = 0; i < CHUNK; i++) {
            char prefix[32];
            parts[i] = first + i;
            prefix_of(prefix, sizeof prefix, parts[i]);
            long n = tb_batch_values(bufs[i], sizeof bufs[i], prefix, round * PER_ROUND, PER_ROUND,
                                     0, false, 1700000000000LL);
            ck_assert_int_gt(n, 0);
            recs[i] = bufs[i];
            lens[i] = (size_t)n;
        }
        struct tb_req r;
        int32_t corr = 1000 + first / CHUNK;
        ck_assert_int_eq(tb_req_begin(&r, 1 << 20, 0 /* Produce */, 7, corr), 0);
        tb_enc_produce_multi(&r, 7, 1, 30000, TOPIC, CHUNK, parts, recs, lens);
        struct tb_frame f;
        ck_assert_int_eq(tb_call(fd, &r, corr, &f), 0);
        tb_req_free(&r);
        int n = 0;
        ck_assert_int_eq(tb_dec_produce_multi(&f, 7, out, got, CHUNK, &n), 0);
        ck_assert_int_eq(n, CHUNK);
        for (int i = 0; i < n; i++) {
            ck_assert_int_eq(got[i], parts[i]);
            ck_assert_msg(out[i].error == 0, "partition %d: produce error %d", got[i],
                          out[i].error);
            ck_assert_int_eq(out[i].base_offset, (int64_t)round * PER_ROUND);
        }
        tb_frame_free(&f);
    }
}

/* Every partition holds exactly records [0, rounds * PER_ROUND), each with its own values. */
static void read_all(int fd, int rounds)
{
    int32_t parts[CHUNK];
    int64_t offsets[CHUNK];
    static struct tb_fetch_resp out[CHUNK];
    int32_t got[CHUNK];
    for (int32_t first = 0; first < PARTS; first += CHUNK) {
        for (int i = 0; i < CHUNK; i++) {
            parts[i] = first + i;
            offsets[i] = 0;
        }
        struct tb_req r;
        int32_t corr = 5000 + first / CHUNK;
        ck_assert_int_eq(tb_req_begin(&r, 1 << 20, 1 /* Fetch */, 11, corr), 0);
        tb_enc_fetch_multi(&r, 11, 0, 0, 64 << 20, TOPIC, CHUNK, parts, offsets, 65536);
        struct tb_frame f;
        ck_assert_int_eq(tb_call(fd, &r, corr, &f), 0);
        tb_req_free(&r);
        int n = 0;
        ck_assert_int_eq(tb_dec_fetch_multi(&f, 11, out, got, CHUNK, &n), 0);
        ck_assert_int_eq(n, CHUNK);
        for (int i = 0; i < n; i++) {
            char prefix[32];
            prefix_of(prefix, sizeof prefix, got[i]);
            ck_assert_msg(out[i].error == 0, "partition %d: fetch error %d", got[i], out[i].error);
            ck_assert_int_eq(out[i].high_watermark, (int64_t)rounds * PER_ROUND);
            struct tb_seq seq = {.prefix = prefix, .value_base = 0, .next_offset = 0};
            long k = tb_records_walk(out[i].records, (size_t)out[i].records_len, tb_seq_check, &seq,
                                     NULL);
            ck_assert_msg(k == (long)rounds * PER_ROUND && seq.next_offset == k,
                          "partition %d: %ld records (%s)", got[i], k, seq.err);
        }
        tb_frame_free(&f);
    }
}

/* Metadata v4 for the topic (or all topics): every partition listed, led by this node. */
static void metadata_lists_all(int fd, bool all)
{
    struct tb_req r;
    int32_t corr = 9000 + all;
    const char *const topics[] = {TOPIC};
    ck_assert_int_eq(tb_req_begin(&r, 4096, KP_API_METADATA, 4, corr), 0);
    tb_enc_metadata(&r, 4, topics, all ? -1 : 1, false);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(fd, &r, corr, &f), 0);
    tb_req_free(&r);
    size_t acap = (size_t)PARTS * 96 + (1 << 20);
    uint8_t *mem = malloc(acap);
    ck_assert_ptr_nonnull(mem);
    struct kp_arena arena;
    kp_arena_init(&arena, mem, acap);
    struct kp_rd rd;
    kp_rd_init(&rd, f.data, f.len);
    int32_t c;
    struct kp_metadata_resp m;
    ck_assert_int_eq(kp_resp_hdr_decode(&rd, KP_API_METADATA, 4, &c), 0);
    ck_assert_int_eq(c, corr);
    ck_assert_int_eq(kp_metadata_resp_decode(&rd, 4, &arena, &m), 0);
    ck_assert_int_eq(m.n_topics, 1);
    ck_assert_int_eq(m.topics[0].error_code, 0);
    ck_assert_int_eq(m.topics[0].n_partitions, PARTS);
    for (int32_t p = 0; p < PARTS; p++) {
        const struct kp_metadata_partition *mp = &m.topics[0].partitions[p];
        ck_assert_int_eq(mp->partition_index, p);
        ck_assert_int_eq(mp->error_code, 0);
        ck_assert_int_eq(mp->leader_id, m.brokers[0].node_id);
    }
    free(mem);
    tb_frame_free(&f);
}

/* Metadata v12 for the topic, by name (id into *id) or by that id: every partition, the id and
 * the authorized operations asked for, from the admin thread like v4's answers at this size. */
static void metadata_v12(int fd, bool by_id, struct kp_uuid *id)
{
    static int32_t corr = 9100;
    corr++;
    struct kp_str name = by_id ? KP_STR_NULL : kp_str_of(TOPIC);
    struct kp_metadata_req req = {.n_topics = 1,
                                  .topics = &name,
                                  .allow_auto_topic_creation = false,
                                  .topic_ids = by_id ? id : NULL,
                                  .include_topic_authorized_operations = true};
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 4096, KP_API_METADATA, 12, corr), 0);
    kp_wr_i8(&r.wr, 0); /* request header v2 (flexible): its empty tag buffer */
    ck_assert_int_eq(kp_metadata_req_encode(&r.wr, 12, &req), 0);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(fd, &r, corr, &f), 0);
    tb_req_free(&r);
    size_t acap = (size_t)PARTS * 96 + (1 << 20);
    uint8_t *mem = malloc(acap);
    ck_assert_ptr_nonnull(mem);
    struct kp_arena arena;
    kp_arena_init(&arena, mem, acap);
    struct kp_rd rd;
    kp_rd_init(&rd, f.data, f.len);
    int32_t c;
    struct kp_metadata_resp m;
    ck_assert_int_eq(kp_resp_hdr_decode(&rd, KP_API_METADATA, 12, &c), 0);
    ck_assert_int_eq(c, corr);
    ck_assert_int_eq(kp_metadata_resp_decode(&rd, 12, &arena, &m), 0);
    ck_assert_int_eq(m.n_topics, 1);
    const struct kp_metadata_topic *t = &m.topics[0];
    ck_assert_int_eq(t->error_code, 0);
    ck_assert(kp_str_eq(t->name, TOPIC));
    ck_assert_int_eq(t->n_partitions, PARTS);
    ck_assert_int_ne(t->topic_authorized_operations, INT32_MIN);
    static const struct kp_uuid zero;
    ck_assert_int_ne(memcmp(&t->topic_id, &zero, sizeof(zero)), 0);
    if (by_id)
        ck_assert_int_eq(memcmp(&t->topic_id, id, sizeof(*id)), 0);
    else
        *id = t->topic_id;
    for (int32_t p = 0; p < PARTS; p++)
        ck_assert_int_eq(t->partitions[p].partition_index, p);
    free(mem);
    tb_frame_free(&f);
}

START_TEST(t_twenty_thousand_partitions_under_2048_descriptors)
{
    t0 = now_s();
    start();
    long rss0 = tb_broker_rss_kib(&B); /* an empty store */
    int fd = slow_connect();
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(fd, TOPIC, PARTS, &err), 0);
    ck_assert_int_eq(err, 0);
    phase("start, create the partitions");
    write_all(fd, 0);
    phase("write to every partition");
    read_all(fd, 1);
    phase("read every partition");
    metadata_lists_all(fd, false);
    metadata_lists_all(fd, true);
    struct kp_uuid id;
    metadata_v12(fd, false, &id);
    metadata_v12(fd, true, &id);
    phase("Metadata (the topic, all topics; v12 by name and by id)");
    ck_assert_int_lt(broker_fds(), NOFILE);
    close(fd);

    /* a clean restart: every log again, within the limit */
    ck_assert_int_eq(tb_broker_stop(&B, SIGTERM), 0);
    phase("clean stop");
    start();
    phase("start (clean)");
    fprintf(stderr, "test_partitions: idle after a clean start: %.2f KiB RSS per partition\n",
            (double)(tb_broker_rss_kib(&B) - rss0) / PARTS);
    fd = slow_connect();
    read_all(fd, 1);
    write_all(fd, 1);
    ck_assert_int_lt(broker_fds(), NOFILE);
    phase("read and write every partition");
    close(fd);

    /* kill -9: 20,000 logs recovered after a crash (acknowledged records are in the page
     * cache, which a process crash does not lose) */
    tb_broker_stop(&B, SIGKILL);
    start();
    phase("kill -9, start (recovery)");
    fd = slow_connect();
    read_all(fd, 2);
    write_all(fd, 2);
    read_all(fd, 3);
    ck_assert_int_lt(broker_fds(), NOFILE);
    phase("read, write, read every partition");
    close(fd);
    ck_assert(!tb_log_contains(&B, "ERROR"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("partitions");
    TCase *tc = tcase_create("partitions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, t_twenty_thousand_partitions_under_2048_descriptors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
