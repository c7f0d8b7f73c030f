/*
 * bench_storage — storage micro-benchmark (not a test): append throughput for 1 KiB, 16 KiB
 * and 256 KiB batches with flushing off and with group-commit fdatasync
 * (log.flush.interval.messages=1, producers waiting for durability as acks=all would), and
 * the recovery scan rate over a 1 GiB segment (header checks + CRC-32C of every batch), and
 * what producer state (idempotence, issue 13) adds to an append: the same small batches with
 * producer id -1 and with a producer id and growing sequences, in one run.
 *
 * And what partitions cost (`parts`): a topic of N partitions, B batches appended to each in
 * turn (the same batches at any N, so that a cost that grows with N is a cost of partitions):
 * process CPU per batch (every thread), a clean close, the open of the store again (time, RSS
 * and descriptors it adds), then one read of every partition.
 *
 *   make build/bench_storage && build/bench_storage [dir [pstate]]   (pstate: that part only)
 *   build/bench_storage dir parts N [B [batch bytes]]   (defaults: B = 20000 / N, at least 2;
 *                                                         64 KiB batches)
 *
 * Works in a fresh directory under dir (default /tmp) and removes it at the end. The scan
 * is measured with the segment in the page cache (the benchmark does not drop caches on a
 * shared machine), so it measures the CPU cost of recovery, not the disk.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "kp_batch.h"
#include "st.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rmrf(const char *d) { nftw(d, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

/* One batch of about `size` bytes: records of 1000 bytes (or one smaller record). */
static size_t make_batch(uint8_t *buf, size_t size)
{
    struct kp_batch_builder b;
    kp_batch_begin(&b, buf, size, 1700000000000);
    static uint8_t val[1024];
    memset(val, 'v', sizeof(val));
    size_t rec = size < 2048 ? size - 61 - 16 : 1000;
    for (;;) {
        if (kp_batch_add(&b, 1700000000000, KP_BYTES_NULL, (struct kp_bytes){val, (int32_t)rec},
                         NULL, 0) < 0)
            break;
        if (size < 2048)
            break;
    }
    long n = kp_batch_finish(&b);
    if (n <= 0) {
        fprintf(stderr, "cannot build a %zu-byte batch\n", size);
        exit(1);
    }
    return (size_t)n;
}

static struct st_store *open_store(const char *dir)
{
    struct st_store *st;
    int err = st_store_open(dir, NULL, &st);
    if (err < 0) {
        fprintf(stderr, "st_store_open(%s): %s\n", dir, strerror(-err));
        exit(1);
    }
    return st;
}

/* ---- flushing off ---------------------------------------------------------------------------- */

static void bench_nosync(const char *dir, size_t size, int per_call, int64_t total)
{
    struct st_store *st = open_store(dir);
    struct st_log_config c;
    st_log_config_default(&c);
    st_topic_create(st, "nosync", 1, &c);
    struct st_log *log = st_log_get(st, "nosync", 6, 0);
    uint8_t *buf = malloc((size + 4096) * (size_t)per_call);
    struct iovec iv[64];
    size_t n = 0;
    for (int i = 0; i < per_call; i++) {
        n = make_batch(buf + (size + 4096) * (size_t)i, size);
        iv[i] = (struct iovec){buf + (size + 4096) * (size_t)i, n};
    }
    int64_t written = 0, batches = 0;
    double t0 = now_s();
    while (written < total) {
        struct st_append_result res;
        int err = st_log_append(log, iv, per_call, 1, &res);
        if (err < 0) {
            fprintf(stderr, "append: %s\n", strerror(-err));
            exit(1);
        }
        written += (int64_t)n * per_call;
        batches += per_call;
    }
    double dt = now_s() - t0;
    printf("append  %6zu B batches  flush off, %2d/call %6.0f MB/s  %9.0f batches/s  (%lld MiB)\n",
           n, per_call, (double)written / dt / 1e6, (double)batches / dt,
           (long long)(written >> 20));
    free(buf);
    st_log_put(log);
    st_topic_delete(st, "nosync");
    st_store_close(st);
}

/* ---- producer state -------------------------------------------------------------------------- */

/* Appends of one size-byte batch per call for about secs: plain (producer id -1) or from one
 * of nprod idempotent producers in turn (the sequence is poked in place; storage does not
 * re-check the CRC, the broker did). Returns batches per second. */
static double run_pstate(const char *dir, size_t size, bool idem, int nprod, double secs)
{
    struct st_store *st = open_store(dir);
    struct st_log_config c;
    st_log_config_default(&c);
    st_topic_create(st, "pstate", 1, &c);
    struct st_log *log = st_log_get(st, "pstate", 6, 0);
    uint8_t *buf = malloc(size + 4096);
    size_t n = make_batch(buf, size);
    kp_store_be16(buf + KP_BATCH_OFF_PRODUCER_EPOCH, 0);
    int32_t count = (int32_t)kp_load_be32(buf + KP_BATCH_OFF_RECORD_COUNT);
    int32_t seq[64] = {0};
    int64_t batches = 0;
    double t0 = now_s(), dt = 0;
    while (dt < secs) {
        for (int k = 0; k < 1000; k++) {
            /* the same two stores either way; idempotent: a producer and its next sequence */
            int p = (int)(batches % nprod);
            kp_store_be64(buf + KP_BATCH_OFF_PRODUCER_ID, idem ? (uint64_t)(1000 + p) : UINT64_MAX);
            kp_store_be32(buf + KP_BATCH_OFF_BASE_SEQUENCE, idem ? (uint32_t)seq[p] : UINT32_MAX);
            seq[p] += count;
            struct iovec iv = {buf, n};
            struct st_append_result res;
            int err = st_log_append(log, &iv, 1, 1, &res);
            if (err < 0) {
                fprintf(stderr, "append: %s\n", strerror(-err));
                exit(1);
            }
            batches++;
        }
        dt = now_s() - t0;
    }
    free(buf);
    st_log_put(log);
    st_topic_delete(st, "pstate");
    st_store_close(st);
    return (double)batches / dt;
}

static void bench_pstate(const char *dir, size_t size)
{
    /* alternated, so that machine noise hits both alike */
    double plain = 0, idem = 0;
    for (int r = 0; r < 3; r++) {
        plain += run_pstate(dir, size, false, 1, 1.0);
        idem += run_pstate(dir, size, true, 8, 1.0);
    }
    printf("append  %6zu B batches  producer id -1 %9.0f batches/s, idempotent (8 producers) "
           "%9.0f batches/s: %+.1f%%\n",
           size, plain / 3, idem / 3, (idem - plain) / plain * 100);
}

/* ---- group commit ---------------------------------------------------------------------------- */

static pthread_mutex_t gmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gcond = PTHREAD_COND_INITIALIZER;
static atomic_long syncs;

static void on_sync(void *arg, struct st_log *log)
{
    (void)arg;
    (void)log;
    atomic_fetch_add(&syncs, 1);
    pthread_mutex_lock(&gmu);
    pthread_cond_broadcast(&gcond);
    pthread_mutex_unlock(&gmu);
}

struct prod {
    struct st_log *log;
    size_t size;
    double until;
    int64_t bytes, batches;
};

static void *producer(void *arg)
{
    struct prod *p = arg;
    uint8_t *buf = malloc(p->size + 4096);
    size_t n = make_batch(buf, p->size);
    struct iovec iv = {buf, n};
    while (now_s() < p->until) {
        struct st_append_result res;
        if (st_log_append(p->log, &iv, 1, 1, &res) < 0)
            break;
        pthread_mutex_lock(&gmu);
        while (st_log_durable_offset(p->log) <= res.last_offset)
            pthread_cond_wait(&gcond, &gmu);
        pthread_mutex_unlock(&gmu);
        p->bytes += (int64_t)n;
        p->batches++;
    }
    free(buf);
    return NULL;
}

static void bench_group_commit(const char *dir, size_t size, int nprod, double secs)
{
    struct st_store *st = open_store(dir);
    st_store_set_notify(st, on_sync, NULL);
    struct st_log_config c;
    st_log_config_default(&c);
    c.flush_interval_messages = 1;
    st_topic_create(st, "gc", 1, &c);
    struct st_log *log = st_log_get(st, "gc", 2, 0);
    pthread_t th[16];
    struct prod pr[16];
    atomic_store(&syncs, 0);
    double t0 = now_s();
    for (int i = 0; i < nprod; i++) {
        pr[i] = (struct prod){log, size, t0 + secs, 0, 0};
        pthread_create(&th[i], NULL, producer, &pr[i]);
    }
    int64_t bytes = 0, batches = 0;
    for (int i = 0; i < nprod; i++) {
        pthread_join(th[i], NULL);
        bytes += pr[i].bytes;
        batches += pr[i].batches;
    }
    double dt = now_s() - t0;
    long ns = atomic_load(&syncs);
    printf("append  %6zu B batches  fdatasync, %d prod  %6.0f MB/s  %9.0f batches/s  (%.1f batches "
           "per fdatasync)\n",
           size, nprod, (double)bytes / dt / 1e6, (double)batches / dt,
           ns ? (double)batches / (double)ns : 0.0);
    st_log_put(log);
    st_topic_delete(st, "gc");
    st_store_close(st);
}

/* ---- recovery scan --------------------------------------------------------------------------- */

static void bench_recovery(const char *dir) /* dir: < 4096 bytes */
{
    struct st_store *st = open_store(dir);
    struct st_log_config c;
    st_log_config_default(&c);
    c.segment_bytes = 0x7fffffff;
    st_topic_create(st, "rec", 1, &c);
    struct st_log *log = st_log_get(st, "rec", 3, 0);
    size_t size = 256 * 1024;
    uint8_t *buf = malloc(size + 4096);
    size_t n = make_batch(buf, size);
    struct iovec iv = {buf, n};
    int64_t total = 0;
    while (total + (int64_t)n <= (1LL << 30)) {
        struct st_append_result res;
        if (st_log_append(log, &iv, 1, 1, &res) < 0) {
            fprintf(stderr, "append failed\n");
            exit(1);
        }
        total += (int64_t)n;
    }
    int64_t end = st_log_end_offset(log);
    st_log_put(log);
    st_store_close(st);
    /* as after a crash before any sync: no marker, no recovery point, so all of it is scanned */
    char path[4200];
    snprintf(path, sizeof(path), "%s/rec-0/clean-shutdown", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/rec-0/recovery-point", dir);
    unlink(path);
    double t0 = now_s();
    st = open_store(dir);
    double dt = now_s() - t0;
    log = st_log_get(st, "rec", 3, 0);
    if (st_log_end_offset(log) != end) {
        fprintf(stderr, "recovery lost data: end %lld, want %lld\n",
                (long long)st_log_end_offset(log), (long long)end);
        exit(1);
    }
    printf("recover %lld MiB segment, full scan (CRC-32C + index rebuild): %.3f s = %.2f GB/s "
           "(page cache warm)\n",
           (long long)(total >> 20), dt, (double)total / dt / 1e9);
    st_log_put(log);
    st_topic_delete(st, "rec");
    st_store_close(st);
    free(buf);
}

/* ---- partitions ------------------------------------------------------------------------------ */

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ., .., the directory itself */
}

static void bench_parts(const char *dir, int32_t np, int per, size_t size)
{
    struct st_store *st = open_store(dir);
    struct st_log_config c;
    st_log_config_default(&c);
    double t0 = now_s();
    int err = st_topic_create(st, "parts", np, &c);
    if (err < 0) {
        fprintf(stderr, "create %d partitions: %s\n", np, strerror(-err));
        exit(1);
    }
    double create_s = now_s() - t0;
    uint8_t *buf = malloc(size + 4096);
    size_t n = make_batch(buf, size);
    struct st_log **logs = calloc((size_t)np, sizeof(*logs));
    for (int32_t p = 0; p < np; p++)
        logs[p] = st_log_get(st, "parts", 5, p);
    double c0 = cpu_s();
    t0 = now_s();
    for (int r = 0; r < per; r++) {
        for (int32_t p = 0; p < np; p++) {
            struct iovec iv = {buf, n};
            struct st_append_result res;
            if ((err = st_log_append(logs[p], &iv, 1, 1, &res)) < 0) {
                fprintf(stderr, "append to partition %d: %s\n", p, strerror(-err));
                exit(1);
            }
        }
    }
    double app_s = now_s() - t0, app_cpu = cpu_s() - c0;
    long batches = (long)per * np;
    for (int32_t p = 0; p < np; p++)
        st_log_put(logs[p]);
    t0 = now_s();
    st_store_close(st);
    double close_s = now_s() - t0;
    long rss0 = rss_kib();
    int fd0 = open_fds();
    t0 = now_s();
    c0 = cpu_s();
    st = open_store(dir);
    double open_s = now_s() - t0, open_cpu = cpu_s() - c0;
    long rss1 = rss_kib();
    int fd1 = open_fds();
    t0 = now_s();
    c0 = cpu_s();
    for (int32_t p = 0; p < np; p++) {
        struct st_log *log = st_log_get(st, "parts", 5, p);
        struct st_read rd;
        if (!log || (err = st_log_read(log, 0, 1 << 20, &rd)) < 0 || rd.n < 1) {
            fprintf(stderr, "read partition %d: %s\n", p, strerror(err < 0 ? -err : EIO));
            exit(1);
        }
        st_read_release(&rd);
        st_log_put(log);
    }
    double read_s = now_s() - t0, read_cpu = cpu_s() - c0;
    int fd2 = open_fds();
    printf("parts %6d partitions x %d batches of %zu B: create %.2f s; append %.1f us CPU per "
           "batch (%.0f batches/s, %.2f s); close %.2f s\n",
           np, per, n, create_s, app_cpu / (double)batches * 1e6, (double)batches / app_s, app_s,
           close_s);
    printf("      open %.3f s (%.1f us CPU per partition), +%ld KiB RSS (%.2f KiB per partition), "
           "+%d fds; one read per partition %.3f s (%.1f us CPU each), %d fds open after\n",
           open_s, open_cpu / np * 1e6, rss1 - rss0, (double)(rss1 - rss0) / np, fd1 - fd0, read_s,
           read_cpu / np * 1e6, fd2);
    st_topic_delete(st, "parts");
    st_store_close(st);
    free(logs);
    free(buf);
}

int main(int argc, char **argv)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/bench-storage-XXXXXX", argc > 1 ? argv[1] : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("bench_storage in %s\n", dir);
    if (argc > 3 && strcmp(argv[2], "parts") == 0) {
        int32_t np = atoi(argv[3]);
        int per = argc > 4 ? atoi(argv[4]) : 20000 / (np > 0 ? np : 1);
        size_t size = argc > 5 ? (size_t)atol(argv[5]) : 64 * 1024;
        if (np < 1 || np > ST_MAX_PARTITIONS || size < 128 || size > (16 << 20)) {
            fprintf(stderr, "usage: bench_storage dir parts N [B [batch bytes]]\n");
            return 2;
        }
        bench_parts(dir, np, per < 2 ? 2 : per, size);
        rmrf(dir);
        return 0;
    }
    if (argc > 2 && strcmp(argv[2], "pstate") == 0) {
        bench_pstate(dir, 180);
        bench_pstate(dir, 16 * 1024);
        rmrf(dir);
        return 0;
    }
    static const size_t sizes[] = {1024, 16 * 1024, 256 * 1024};
    for (int i = 0; i < 3; i++)
        bench_nosync(dir, sizes[i], 1, sizes[i] == 1024 ? (256LL << 20) : (1LL << 30));
    /* what the broker does with the produces of one loop turn: several batches, one write */
    bench_nosync(dir, 1024, 16, 256LL << 20);
    for (int i = 0; i < 3; i++)
        bench_group_commit(dir, sizes[i], 4, 2.0);
    bench_recovery(dir);
    bench_pstate(dir, 180); /* one 100-byte record */
    bench_pstate(dir, 16 * 1024);
    rmrf(dir);
    return 0;
}
