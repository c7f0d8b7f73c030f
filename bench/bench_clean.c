/*
 * bench_clean — log compaction micro-benchmark (not a test, issue 16): how fast the cleaner
 * goes through a dirty log, and what it does to produce and fetch latency on the same log
 * while it runs.
 *
 *   make build/bench_clean && build/bench_clean [dir [MiB [keys [value bytes [codec]]]]]
 *        (defaults: /tmp, 256 MiB of dirty log, 100,000 keys, 100-byte values, no codec)
 *
 * With a codec (gzip, snappy, lz4, zstd) every batch is compressed with it, as a producer with
 * compression.type would send it, and its values are JSON-like text with random numbers
 * rather than one repeated byte; MiB then counts compressed bytes, and the cleaner
 * decompresses, cleans and recompresses every batch (its records/s is printed too).
 *
 * 1. A compacted topic (segment.bytes 64 MiB, flush.messages 1) is filled with batches of 16
 *    keyed records (keys drawn uniformly from `keys`), then rolled and left to the flusher
 *    until every segment is sealed, synced and digested.
 * 2. Baseline, 3 s: one producer appends a 16-record batch to the same log and waits until it
 *    is durable (acks=all with flush.messages=1), then a consumer reads 64 KiB at a random
 *    offset of the sealed part (the file ranges only, as a fetch would hand them to splice),
 *    once per millisecond.
 * 3. The same loop while one cleaner (st_log_clean, log.cleaner.io.max.bytes.per.second
 *    unbounded) cleans the whole log on another thread, until it is done.
 * Prints the cleaner's throughput (MB/s of dirty log read, bytes in/out, records in/out, its
 * CPU) and p50/p99/max of both latencies in both phases. Works in a fresh directory under dir
 * (in the page cache: a shared machine's disk is not measured) and removes it.
 */
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
#include "kp_codec.h"
#include "st.h"
#include "st_clean.h"
#include "st_int.h" /* waits for the flusher's digests (white box) */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int codec; /* enum kp_codec */
static struct kp_codec_ctx zctx;

/* A JSON-like value of vlen bytes with random numbers in it. */
static void json_value(uint8_t *v, size_t vlen)
{
    size_t n = 0;
    while (n < vlen) {
        char t[96];
        int k = snprintf(
            t, sizeof(t), "{\"user\":%u,\"event\":\"view\",\"page\":\"/p/%u\",\"ms\":%u},",
            (unsigned)(rnd() % 1000000), (unsigned)(rnd() % 10000), (unsigned)(rnd() % 100000));
        size_t c = vlen - n < (size_t)k ? vlen - n : (size_t)k;
        memcpy(v + n, t, c);
        n += c;
    }
}

/* Compresses the records of the plain batch buf[0, n) with codec, in place: the new size. */
static size_t zip(uint8_t *buf, size_t n, size_t cap)
{
    static uint8_t z[256 << 10];
    long zl =
        kp_codec_compress(&zctx, codec, -1, buf + KP_BATCH_HEADER_LEN, n - KP_BATCH_HEADER_LEN,
                          z + KP_BATCH_HEADER_LEN, sizeof(z) - KP_BATCH_HEADER_LEN);
    long size = zl < 0 ? zl : kp_batch_seal_compressed(z, buf, (size_t)zl, (unsigned)codec);
    if (size < 0 || (size_t)size > cap) {
        fprintf(stderr, "compress: %ld\n", size);
        exit(1);
    }
    memcpy(buf, z, (size_t)size);
    return (size_t)size;
}

static size_t make_batch(uint8_t *buf, size_t cap, int keys, size_t vlen)
{
    struct kp_batch_builder b;
    kp_batch_begin(&b, buf, cap, wall_ms());
    static uint8_t val[4096];
    memset(val, 'v', sizeof(val));
    for (int i = 0; i < 16; i++) {
        char k[32];
        if (codec)
            json_value(val, vlen);
        int kl = snprintf(k, sizeof(k), "key-%08d", (int)(rnd() % (uint64_t)keys));
        if (kp_batch_add(&b, wall_ms(), (struct kp_bytes){(const uint8_t *)k, kl},
                         (struct kp_bytes){val, (int32_t)vlen}, NULL, 0) < 0) {
            fprintf(stderr, "batch too large\n");
            exit(1);
        }
    }
    size_t n = (size_t)kp_batch_finish(&b);
    return codec ? zip(buf, n, cap) : n;
}

static void append(struct st_log *log, int keys, size_t vlen, bool durable)
{
    static uint8_t buf[128 << 10];
    size_t n = make_batch(buf, sizeof(buf), keys, vlen);
    struct iovec iv = {buf, n};
    struct st_append_result r;
    int err = st_log_append(log, &iv, 1, wall_ms(), &r);
    if (err < 0) {
        fprintf(stderr, "append: %s\n", strerror(-err));
        exit(1);
    }
    if (durable) {
        st_log_request_sync(log);
        while (st_log_durable_offset(log) <= r.last_offset) {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    }
}

static void settle(struct st_log *log)
{
    st_log_request_sync(log);
    for (int i = 0; i < 60000; i++) {
        struct st_segvec *v = atomic_load(&log->segs);
        bool all = st_log_durable_offset(log) >= st_log_end_offset(log);
        for (int k = 0; k < v->n - 1; k++)
            all = all && atomic_load(&v->s[k]->digested);
        if (all)
            return;
        usleep(1000);
    }
    fprintf(stderr, "segments not digested after 60 s\n");
    exit(1);
}

struct lat {
    int64_t *v;
    int n, cap;
};

static void lat_add(struct lat *l, int64_t ns)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->v = realloc(l->v, (size_t)l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = ns;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void lat_print(const char *phase, const char *what, struct lat *l)
{
    if (l->n == 0)
        return;
    qsort(l->v, (size_t)l->n, sizeof(*l->v), cmp64);
    printf("  %-9s %-26s n=%6d  p50 %8.1f us  p99 %8.1f us  max %8.1f us\n", phase, what, l->n,
           (double)l->v[l->n / 2] / 1e3, (double)l->v[(int64_t)l->n * 99 / 100] / 1e3,
           (double)l->v[l->n - 1] / 1e3);
}

struct cleaner {
    struct st_log *log;
    struct st_clean_stats st;
    int err;
    double cpu_s;
    atomic_bool done;
};

static void *clean_main(void *arg)
{
    struct cleaner *c = arg;
    struct rusage a, b;
    getrusage(RUSAGE_THREAD, &a);
    c->err = st_log_clean(c->log, wall_ms(), ST_CLEAN_FORCE, &c->st);
    getrusage(RUSAGE_THREAD, &b);
    c->cpu_s =
        (double)(b.ru_utime.tv_sec - a.ru_utime.tv_sec + b.ru_stime.tv_sec - a.ru_stime.tv_sec) +
        (double)(b.ru_utime.tv_usec - a.ru_utime.tv_usec + b.ru_stime.tv_usec -
                 a.ru_stime.tv_usec) /
            1e6;
    atomic_store(&c->done, true);
    return NULL;
}

/* Produce (durable) and fetch latencies, one of each per ms, until stop() says so. */
static void measure(struct st_log *log, int keys, size_t vlen, int64_t sealed_end, struct lat *prod,
                    struct lat *fetch, int64_t until_ns, atomic_bool *done)
{
    for (;;) {
        if (done ? atomic_load(done) : now_ns() >= until_ns)
            break;
        int64_t t0 = now_ns();
        append(log, keys, vlen, true);
        int64_t t1 = now_ns();
        lat_add(prod, t1 - t0);
        int64_t start = st_log_start_offset(log);
        int64_t off = start + (int64_t)(rnd() % (uint64_t)(sealed_end - start));
        struct st_read rd;
        int64_t t2 = now_ns();
        int err = st_log_read(log, off, 64 << 10, &rd);
        int64_t t3 = now_ns();
        if (err < 0) {
            fprintf(stderr, "read at %lld: %s\n", (long long)off, strerror(-err));
            exit(1);
        }
        st_read_release(&rd);
        lat_add(fetch, t3 - t2);
        int64_t spent = now_ns() - t0;
        if (spent < 1000000) {
            struct timespec ts = {0, (long)(1000000 - spent)};
            nanosleep(&ts, NULL);
        }
    }
}

int main(int argc, char **argv)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/bench-clean-XXXXXX", argc > 1 ? argv[1] : "/tmp");
    int64_t mib = argc > 2 ? atol(argv[2]) : 256;
    int keys = argc > 3 ? atoi(argv[3]) : 100000;
    size_t vlen = argc > 4 ? (size_t)atol(argv[4]) : 100;
    for (codec = KP_CODEC_NONE; argc > 5 && codec <= KP_CODEC_ZSTD; codec++)
        if (strcmp(argv[5], kp_codec_name(codec)) == 0)
            break;
    if (codec > KP_CODEC_ZSTD || mib <= 0 || keys <= 0 || vlen > 4096 || !mkdtemp(dir)) {
        fprintf(stderr, "usage: bench_clean [dir [MiB [keys [value bytes [codec]]]]]\n");
        return 1;
    }
    struct st_log_config d;
    st_log_config_default(&d);
    d.flush_interval_messages = 1;
    struct st_store *st;
    int err = st_store_open(dir, &d, &st);
    if (err < 0) {
        fprintf(stderr, "st_store_open: %s\n", strerror(-err));
        return 1;
    }
    struct st_log_config c = d;
    c.cleanup_policy = ST_CLEANUP_COMPACT;
    c.segment_bytes = 64 << 20;
    if ((err = st_topic_create(st, "t", 1, &c)) < 0) {
        fprintf(stderr, "st_topic_create: %s\n", strerror(-err));
        return 1;
    }
    struct st_log *log = st_log_get(st, "t", 1, 0);
    st__log_activate(log);
    int64_t t0 = now_ns();
    struct st_log_stats ls;
    do {
        for (int i = 0; i < 256; i++)
            append(log, keys, vlen, false);
        st_log_stats(log, &ls);
    } while (ls.bytes < mib << 20);
    pthread_mutex_lock(&log->mu);
    st__log_roll(log, wall_ms());
    pthread_mutex_unlock(&log->mu);
    settle(log);
    st_log_stats(log, &ls);
    int64_t sealed_end = st_log_end_offset(log);
    printf("bench_clean: %.1f MiB dirty in %d segments (%lld records, %d keys, %zu-byte values, "
           "codec %s) written in %.1f s\n",
           (double)ls.bytes / (1 << 20), ls.segments - 1, (long long)sealed_end, keys, vlen,
           kp_codec_name(codec), (double)(now_ns() - t0) / 1e9);

    struct lat p0 = {0}, f0 = {0}, p1 = {0}, f1 = {0};
    measure(log, keys, vlen, sealed_end, &p0, &f0, now_ns() + 3000000000LL, NULL);
    struct cleaner cl = {.log = log};
    atomic_init(&cl.done, false);
    pthread_t th;
    int64_t c0 = now_ns();
    pthread_create(&th, NULL, clean_main, &cl);
    measure(log, keys, vlen, sealed_end, &p1, &f1, 0, &cl.done);
    pthread_join(th, NULL);
    double secs = (double)cl.st.ns / 1e9;
    (void)c0;
    if (cl.err < 0) {
        fprintf(stderr, "st_log_clean: %s\n", strerror(-cl.err));
        return 1;
    }
    printf("cleaner: %.2f s wall, %.2f s CPU, %lld pass(es): %.1f MiB read -> %.1f MiB written, "
           "%lld -> %lld records, %lld -> %lld segments\n",
           secs, cl.cpu_s, (long long)cl.st.passes, (double)cl.st.bytes_in / (1 << 20),
           (double)cl.st.bytes_out / (1 << 20), (long long)cl.st.records_in,
           (long long)cl.st.records_out, (long long)cl.st.segments_in,
           (long long)cl.st.segments_out);
    printf("cleaner throughput: %.1f MB/s of dirty log (%.1f MB/s of log rewritten), %.2f M "
           "records/s; %lld batches recompressed, %lld unreadable\n",
           (double)cl.st.dirty_bytes / 1e6 / secs, (double)cl.st.bytes_in / 1e6 / secs,
           (double)cl.st.records_in / 1e6 / secs, (long long)cl.st.recompressed,
           (long long)cl.st.compressed_unreadable);
    printf("latency (durable produce of 16 records; 64 KiB fetch of the cleaned range):\n");
    lat_print("baseline", "produce (acks=all)", &p0);
    lat_print("cleaning", "produce (acks=all)", &p1);
    lat_print("baseline", "fetch (ranges)", &f0);
    lat_print("cleaning", "fetch (ranges)", &f1);
    st_log_put(log);
    st_store_close(st);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(p0.v);
    free(p1.v);
    free(f0.v);
    free(f1.v);
    kp_codec_ctx_free(&zctx);
    return 0;
}
