/*
 * bench_client — libsplicelog figures for issue 15, in one run against one broker:
 *   1. per codec (none, gzip, snappy, lz4, zstd): producing n log-line-like records (about
 *      200 bytes, compressible like real logs) — records/s, client CPU, bytes on the wire;
 *      then consuming them back — records/s, MB/s of values, client CPU per GiB of values;
 *   2. group rebalances, eager (range,roundrobin) and cooperative-sticky: three members of a
 *      group on a 6-partition topic (driven from this thread), the time until the first
 *      assignment covers every partition, until a member's leave is absorbed, until a joining
 *      member has its share; the median of -r runs.
 *
 *   bench_client -b host:port [-n records] [-r runs]
 *
 * Start the broker with -o num.partitions=6 -o group.initial.rebalance.delay.ms=0 (release
 * build, e.g. build/splicelogd). CPU figures are this process's user+system time
 * (getrusage), so they include the bench's own loop; wall times are from CLOCK_MONOTONIC.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "splicelog.h"

static const char *bootstrap = "127.0.0.1:9092";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static sl_conf *conf(void)
{
    sl_conf *c = sl_conf_new();
    char err[256];
    if (sl_conf_set(c, "bootstrap.servers", bootstrap, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    return c;
}

/* A log line: a few fields from small vocabularies and counters, as services write them. */
static int log_line(char *buf, size_t cap, long i)
{
    static const char *const lvl[] = {"INFO", "INFO", "INFO", "WARN", "DEBUG"};
    static const char *const svc[] = {"checkout", "search", "auth", "inventory", "payments"};
    static const char *const msg[] = {"request served", "cache miss, loaded from store",
                                      "retrying upstream call", "user session refreshed",
                                      "slow query detected"};
    return snprintf(
        buf, cap,
        "{\"ts\":\"2024-05-01T12:%02ld:%02ld.%03ldZ\",\"level\":\"%s\",\"service\":"
        "\"%s\",\"trace\":\"%08lx%08lx\",\"latency_ms\":%ld,\"msg\":\"%s\",\"user\":%ld}",
        (i / 60000) % 60, (i / 1000) % 60, i % 1000, lvl[i % 5], svc[(i / 7) % 5],
        (unsigned long)(i * 2654435761u), (unsigned long)(i * 40503u), (i * 37) % 900,
        msg[(i / 3) % 5], (i * 7919) % 100000);
}

static long failed;
static void dr(sl_producer *p, const sl_delivery *d, void *opaque)
{
    (void)p;
    (void)opaque;
    failed += d->err != SL_ERR_NO_ERROR;
}

static void codec_run(const char *codec, long n, const char *topic)
{
    sl_conf *c = conf();
    sl_conf_set(c, "compression.type", codec, NULL, 0);
    sl_conf_set(c, "linger.ms", "20", NULL, 0);
    sl_conf_set(c, "acks", "1", NULL, 0);
    sl_conf_set_delivery_cb(c, dr);
    sl_producer *p = sl_producer_new(c, NULL, 0);
    char v[512];
    failed = 0;
    double w0 = now_s(), c0 = cpu_s();
    long bytes = 0;
    for (long i = 0; i < n; i++) {
        int len = log_line(v, sizeof(v), i);
        bytes += len;
        while (sl_produce(p, topic, 0, NULL, 0, v, (size_t)len, NULL, 0, 0, NULL) ==
               SL_ERR__QUEUE_FULL)
            sl_poll(p, 10);
        sl_poll(p, 0);
    }
    sl_flush(p, 60000);
    double pw = now_s() - w0, pc = cpu_s() - c0;
    sl_stats st;
    sl_producer_stats(p, &st);
    sl_producer_free(p);

    sl_conf *k = conf();
    sl_conf_set(k, "fetch.wait.max.ms", "100", NULL, 0);
    sl_consumer *cons = sl_consumer_new(k, NULL, 0);
    sl_consumer_assign(cons, topic, 0, SL_OFFSET_BEGINNING);
    long got = 0;
    double vbytes = 0;
    uint64_t sum = 0;
    w0 = now_s();
    c0 = cpu_s();
    while (got < n) {
        sl_record r;
        sl_err e = sl_consumer_poll(cons, 5000, &r);
        if (e) {
            fprintf(stderr, "%s: %s after %ld records\n", codec, sl_err2str(e), got);
            break;
        }
        const uint8_t *b = r.value;
        sum += b[r.value_len - 2]; /* touch the data, as a real consumer would */
        vbytes += (double)r.value_len;
        got++;
    }
    double cw = now_s() - w0, cc = cpu_s() - c0;
    sl_stats cs;
    sl_consumer_stats(cons, &cs);
    sl_consumer_free(cons);
    printf("%-7s %9.0f %8.2f %10.1f %9.2f | %9.0f %8.1f %8.3f %6llu%s\n", codec, n / pw, pc,
           (double)st.bytes_sent / 1048576.0, (double)st.bytes_sent / (double)bytes, got / cw,
           vbytes / cw / 1e6, cc / (vbytes / 1073741824.0),
           (unsigned long long)cs.batches_decompressed, failed ? " (failures)" : "");
    (void)sum;
}

/* ---- group rebalances ------------------------------------------------------------------ */

#define MEMBERS 4
static sl_consumer *mem[MEMBERS];
static int owner[6];

static void rebalance_cb(sl_consumer *c, sl_err what, const sl_topic_partition *p, size_t n,
                         void *opaque)
{
    (void)c;
    int id = (int)(intptr_t)opaque;
    for (size_t i = 0; i < n; i++)
        owner[p[i].partition] = what == SL_ERR__ASSIGN_PARTITIONS ? id + 1 : 0;
}

static void member(int i, const char *group, const char *strategy)
{
    sl_conf *c = conf();
    sl_conf_set(c, "group.id", group, NULL, 0);
    sl_conf_set(c, "heartbeat.interval.ms", "100", NULL, 0);
    sl_conf_set(c, "session.timeout.ms", "10000", NULL, 0);
    sl_conf_set(c, "partition.assignment.strategy", strategy, NULL, 0);
    sl_conf_set_rebalance_cb(c, rebalance_cb);
    sl_conf_set_opaque(c, (void *)(intptr_t)i);
    mem[i] = sl_consumer_new(c, NULL, 0);
    const char *t[] = {"bc-group"};
    sl_consumer_subscribe(mem[i], t, 1);
}

/* Polls every member until each live one owns something and all 6 are owned; seconds. */
static double settle(int live)
{
    double t0 = now_s();
    for (;;) {
        int per[MEMBERS] = {0}, owned = 0;
        for (int q = 0; q < 6; q++)
            if (owner[q]) {
                per[owner[q] - 1]++;
                owned++;
            }
        int busy = 0;
        for (int i = 0; i < MEMBERS; i++)
            busy += mem[i] && per[i] > 0;
        if (owned == 6 && busy == live)
            return now_s() - t0;
        if (now_s() - t0 > 60)
            return -1;
        for (int i = 0; i < MEMBERS; i++) {
            if (!mem[i])
                continue;
            sl_record r;
            sl_consumer_poll(mem[i], 1, &r);
        }
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void group_runs(const char *strategy, int runs)
{
    double j[16], l[16], a[16];
    for (int r = 0; r < runs; r++) {
        char group[64];
        snprintf(group, sizeof(group), "bc-%s-%d-%d", strategy, (int)getpid(), r);
        memset(owner, 0, sizeof(owner));
        for (int i = 0; i < 3; i++)
            member(i, group, strategy);
        j[r] = settle(3);
        double t0 = now_s();
        sl_consumer_close(mem[0]);
        sl_consumer_free(mem[0]);
        mem[0] = NULL;
        settle(2);
        l[r] = now_s() - t0; /* from the leave call */
        t0 = now_s();
        member(3, group, strategy);
        settle(3);
        a[r] = now_s() - t0;
        for (int i = 0; i < MEMBERS; i++) {
            if (mem[i]) {
                sl_consumer_close(mem[i]);
                sl_consumer_free(mem[i]);
                mem[i] = NULL;
            }
        }
    }
    qsort(j, (size_t)runs, sizeof(double), cmp_d);
    qsort(l, (size_t)runs, sizeof(double), cmp_d);
    qsort(a, (size_t)runs, sizeof(double), cmp_d);
    printf("%-19s first assignment %6.0f ms, a member leaves %6.0f ms, a member joins %6.0f ms "
           "(median of %d)\n",
           strategy, j[runs / 2] * 1000, l[runs / 2] * 1000, a[runs / 2] * 1000, runs);
}

int main(int argc, char **argv)
{
    long n = 500000;
    int runs = 5;
    int opt;
    while ((opt = getopt(argc, argv, "b:n:r:")) != -1) {
        switch (opt) {
        case 'b':
            bootstrap = optarg;
            break;
        case 'n':
            n = atol(optarg);
            break;
        case 'r':
            runs = atoi(optarg);
            if (runs < 1 || runs > 16)
                runs = 5;
            break;
        default:
            fprintf(stderr, "usage: bench_client -b host:port [-n records] [-r runs]\n");
            return 2;
        }
    }
    printf("%ld records of ~200 bytes (JSON log lines), 1 partition, acks=1, linger.ms=20\n", n);
    printf("codec   produce/s  cpu s   wire MiB  wire/raw | consume/s MB/s     cpu s/GiB  "
           "batches decompressed\n");
    static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (int i = 0; i < 5; i++) {
        char topic[64];
        snprintf(topic, sizeof(topic), "bc-%s-%d", codecs[i], (int)getpid());
        codec_run(codecs[i], n, topic);
    }
    /* The group topic: records so the members fetch something while rebalancing. */
    sl_producer *p = sl_producer_new(conf(), NULL, 0);
    for (int i = 0; i < 600; i++)
        sl_produce(p, "bc-group", i % 6, NULL, 0, "x", 1, NULL, 0, 0, NULL);
    sl_flush(p, 30000);
    sl_producer_free(p);
    group_runs("range,roundrobin", runs);
    group_runs("cooperative-sticky", runs);
    return 0;
}
