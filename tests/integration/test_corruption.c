/*
 * test_corruption — corrupt batches on disk with a real splicelogd: the scrubber finds bits
 * flipped in sealed segments and in the active one (header fields CRC-32C does not cover
 * included), fences exactly those batches and logs them; a consumer reads every other record,
 * gets CORRUPT_MESSAGE exactly at the fenced offsets and seeks past them; the same after a
 * restart; kcat (librdkafka 2.0.2) exits with the error instead of waiting forever, and reads
 * on when started past the range.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"

enum { N = 300, PAD = 400, CORRUPT_MESSAGE = 2 };

static struct tb_broker B;
static const char *const extra[] = {"-o", "log.segment.bytes=65536", "-o",
                                    "log.flush.interval.messages=1", NULL};

static void setup(void) { memset(&B, 0, sizeof B); }
static void teardown(void) { tb_ck_finish(&B); }

struct batch {
    char path[600];
    long pos, size;
    int64_t off;
};
static struct batch batches[N];

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every batch of c-0, read back from the segment files (one record per batch). */
static void map_batches(int *nsegs)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/c-0", B.data);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l == 24 && strcmp(e->d_name + 20, ".log") == 0 && n < 64)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_name);
    int k = 0;
    for (int i = 0; i < n; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        free(names[i]);
        int fd = open(path, O_RDONLY);
        ck_assert_int_ge(fd, 0);
        struct stat st;
        ck_assert_int_eq(fstat(fd, &st), 0);
        long pos = 0;
        while (pos < st.st_size) {
            uint8_t h[12];
            ck_assert_int_eq(pread(fd, h, 12, pos), 12);
            ck_assert_int_lt(k, N);
            struct batch *b = &batches[k];
            snprintf(b->path, sizeof b->path, "%s", path);
            b->pos = pos;
            b->size = 12 + (long)kp_load_be32(h + 8);
            b->off = (int64_t)kp_load_be64(h);
            ck_assert_int_eq(b->off, k);
            pos += b->size;
            k++;
        }
        close(fd);
    }
    ck_assert_int_eq(k, N);
    *nsegs = n;
}

static int count_files(const char *suffix)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/c-0", B.data);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    size_t sl = strlen(suffix);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        n += l > sl && strcmp(e->d_name + l - sl, suffix) == 0;
    }
    closedir(d);
    return n;
}

static void flip(const struct batch *b, long at, uint8_t mask)
{
    int fd = open(b->path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t x;
    ck_assert_int_eq(pread(fd, &x, 1, b->pos + at), 1);
    x ^= mask;
    ck_assert_int_eq(pwrite(fd, &x, 1, b->pos + at), 1);
    close(fd);
}

/*
 * A consumer from offset 0 (Fetch v11): every record checked against what was produced;
 * CORRUPT_MESSAGE at an offset makes it seek to the next one. Fills err_at[] with the offsets
 * that failed and returns how many records were read.
 */
static int consume(int fd, bool *err_at)
{
    memset(err_at, 0, N * sizeof err_at[0]);
    struct tb_seq seq = {.prefix = "c", .pad_to = PAD};
    for (int fetches = 0; seq.next_offset < N && fetches < 4 * N; fetches++) {
        struct tb_fetch_args a = {.max_wait_ms = 100,
                                  .max_bytes = 1 << 20,
                                  .topic = "c",
                                  .partition = 0,
                                  .offset = seq.next_offset,
                                  .partition_max_bytes = 16384};
        struct tb_frame f;
        struct tb_fetch_resp r;
        ck_assert_int_eq(tb_fetch(fd, &a, &f, &r), 0);
        if (r.error == CORRUPT_MESSAGE) {
            ck_assert_int_eq(r.records_len, 0);
            err_at[seq.next_offset] = true;
            seq.next_offset++; /* seek past */
            tb_frame_free(&f);
            continue;
        }
        ck_assert_msg(r.error == 0, "fetch at %lld: error %d", (long long)seq.next_offset, r.error);
        size_t trailing = 0;
        long got = tb_records_walk(r.records, (size_t)r.records_len, tb_seq_check, &seq, &trailing);
        tb_frame_free(&f);
        ck_assert_msg(got >= 0 && seq.err[0] == 0, "at %lld: %ld %s", (long long)seq.next_offset,
                      got, seq.err);
    }
    ck_assert_int_eq(seq.next_offset, N);
    return (int)seq.seen;
}

/* Polls the broker log for every needle (bounded). */
static void wait_log_all(const char *const *needles, int n, int timeout_ms)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(tb_log_wait(&B, needles[i], timeout_ms), "not in the broker log: %s",
                      needles[i]);
}

static int run_kcat(const char *offset, const char *out)
{
    char bootstrap[64];
    snprintf(bootstrap, sizeof bootstrap, "127.0.0.1:%d", B.port);
    const char *argv[] = {"kcat", "-b", bootstrap, "-C", "-t",
                          "c",    "-p", "0",       "-o", offset,
                          "-e",   "-f", "%o\n",    "-X", "fetch.error.backoff.ms=100",
                          NULL};
    pid_t pid = tb_spawn(argv, out);
    ck_assert_msg(pid > 0, "cannot run kcat: %s", strerror((int)-pid));
    int st = tb_wait_exit(pid, 30000);
    ck_assert_msg(st >= 0, "kcat did not finish within 30 s (an error it retried forever?)");
    return st;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

START_TEST(flipped_batches_fenced_consumer_reads_around_them)
{
    tb_ck_start(&B, extra);
    int fd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(fd, "c", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    static uint8_t buf[4096];
    for (int i = 0; i < N; i++) {
        long len = tb_batch_values(buf, sizeof buf, "c", i, 1, PAD, false, 1700000000000LL + i);
        ck_assert_int_gt(len, 0);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_produce(fd, "c", 0, buf, (size_t)len, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
        ck_assert_int_eq(pr.base_offset, i);
    }
    int nsegs;
    map_batches(&nsegs);
    ck_assert_int_ge(nsegs, 3);
    /* sealed segments get their digests right after their sync */
    for (int i = 0; i < 200 && count_files(".digest") < nsegs - 1; i++)
        usleep(50 * 1000);
    ck_assert_int_eq(count_files(".digest"), nsegs - 1);

    /* one flip per header field CRC-32C leaves out, and records, in sealed segments and in
     * the active one (the last batches) */
    static const struct {
        int batch;
        long at;
        uint8_t mask;
    } flips[] = {
        {7, 5, 0x10},       /* baseOffset */
        {40, 10, 0x01},     /* batchLength */
        {61, 14, 0x02},     /* partitionLeaderEpoch */
        {100, 16, 0x40},    /* magic */
        {150, 200, 0x08},   /* records */
        {N - 20, 9, 0x80},  /* active segment: batchLength */
        {N - 8, 13, 0x01},  /* active segment: partitionLeaderEpoch */
        {N - 1, 300, 0x01}, /* active segment, the last batch: records */
    };
    enum { NF = sizeof flips / sizeof flips[0] };
    ck_assert_str_ne(batches[N - 20].path, batches[150].path);
    bool want[N] = {false};
    char needles[NF][700];
    const char *np[NF];
    for (int i = 0; i < NF; i++) {
        const struct batch *b = &batches[flips[i].batch];
        flip(b, flips[i].at, flips[i].mask);
        want[flips[i].batch] = true;
        snprintf(needles[i], sizeof needles[i],
                 "fenced c-0: %s bytes [%ld, %ld) offsets [%lld, %lld)", b->path, b->pos,
                 b->pos + b->size, (long long)b->off, (long long)b->off + 1);
        np[i] = needles[i];
    }
    /* the scrubber (16 MiB/s, every second) finds them all */
    wait_log_all(np, NF, 20000);

    bool got[N];
    int read = consume(fd, got);
    ck_assert_int_eq(read, N - NF);
    for (int i = 0; i < N; i++)
        ck_assert_msg(got[i] == want[i], "offset %d: error %d, want %d", i, got[i], want[i]);
    close(fd);

    /* kcat: librdkafka hands CORRUPT_MESSAGE to the application, kcat exits with it after the
     * records before the first fenced offset; started after it, it reads on */
    char out[400], *text;
    snprintf(out, sizeof out, "%s/kcat.out", B.dir);
    int st = run_kcat("beginning", out);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "kcat status 0x%x", st);
    text = slurp(out);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(strstr(text, "6\n") && !strstr(text, "\n7\n") && !strstr(text, "8\n"),
                  "kcat read: %.200s", text);
    char errpath[420];
    snprintf(errpath, sizeof errpath, "%s.err", out);
    text = slurp(errpath);
    /* librdkafka names error 2 (Kafka's CORRUPT_MESSAGE) INVALID_MSG */
    ck_assert_msg(text && strstr(text, "Topic c [0] error: Fetch from broker 0 failed: Broker: "
                                       "Invalid message"),
                  "kcat said: %s", text ? text : "");
    st = run_kcat("8", out);
    text = slurp(out);
    ck_assert_msg(text && strncmp(text, "8\n", 2) == 0 && strstr(text, "\n39\n") &&
                      !strstr(text, "\n40\n"),
                  "kcat from 8 read: %.200s", text ? text : "");

    /* a restart: the ranges come back from the fenced file and are logged again */
    tb_ck_stop_clean(&B);
    tb_ck_start(&B, extra);
    ck_assert(tb_log_wait(&B, "8 fenced range(s) (8 found before, 0 new)", 5000));
    fd = tb_ck_connect(&B);
    read = consume(fd, got);
    ck_assert_int_eq(read, N - NF);
    for (int i = 0; i < N; i++)
        ck_assert_msg(got[i] == want[i], "after restart, offset %d: error %d, want %d", i, got[i],
                      want[i]);
    close(fd);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("corruption");
    TCase *tc = tcase_create("corruption");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, flipped_batches_fenced_consumer_reads_around_them);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
