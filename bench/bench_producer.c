/*
 * bench_producer — libsplicelog producer throughput (issue 6's benchmark).
 *
 *   bench_producer [-b host:port] [-t topic] [-n records] [-s value_bytes] [-p partitions]
 *                  [-X name=value]...
 *
 * One producer thread sends n records of s bytes (no key) round-robin over p partitions
 * (-1: partitioner's choice), polling for delivery reports as it goes, then flushes. Prints
 * one line: records/s, MB/s, and delivery failures. Defaults: 1,000,000 x 100 bytes, acks=1.
 * bench_rdkafka.c sends the same records through librdkafka for comparison.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "splicelog.h"

static long delivered, failed;

static void dr(sl_producer *p, const sl_delivery *d, void *opaque)
{
    (void)p;
    (void)opaque;
    if (d->err)
        failed++;
    else
        delivered++;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *topic = "bench";
    long n = 1000000;
    size_t size = 100;
    int parts = 1;
    char err[256];
    sl_conf *c = sl_conf_new();
    if (!c)
        return 1;
    sl_conf_set(c, "acks", "1", NULL, 0);
    sl_conf_set(c, "linger.ms", "5", NULL, 0);
    int opt;
    while ((opt = getopt(argc, argv, "b:t:n:s:p:X:")) != -1) {
        char *v;
        switch (opt) {
        case 'b':
            if (sl_conf_set(c, "bootstrap.servers", optarg, err, sizeof(err))) {
                fprintf(stderr, "%s\n", err);
                return 2;
            }
            break;
        case 't':
            topic = optarg;
            break;
        case 'n':
            n = atol(optarg);
            break;
        case 's':
            size = (size_t)atol(optarg);
            break;
        case 'p':
            parts = atoi(optarg);
            break;
        case 'X':
            v = strchr(optarg, '=');
            if (!v) {
                fprintf(stderr, "-X name=value\n");
                return 2;
            }
            *v++ = 0;
            if (sl_conf_set(c, optarg, v, err, sizeof(err))) {
                fprintf(stderr, "%s\n", err);
                return 2;
            }
            break;
        default:
            fprintf(stderr, "usage: bench_producer [-b host:port] [-t topic] [-n records] "
                            "[-s bytes] [-p partitions] [-X name=value]...\n");
            return 2;
        }
    }
    sl_conf_set_delivery_cb(c, dr);
    sl_producer *p = sl_producer_new(c, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    char *val = malloc(size ? size : 1);
    memset(val, 'b', size);
    /* The first record fetches metadata: keep it out of the timing. */
    sl_err e = sl_produce(p, topic, 0, NULL, 0, val, size, NULL, 0, 0, NULL);
    if (e) {
        fprintf(stderr, "produce: %s\n", sl_err2str(e));
        return 1;
    }
    sl_flush(p, 10000);
    delivered = failed = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        int32_t part = parts > 0 ? (int32_t)(i % parts) : SL_PARTITION_ANY;
        while ((e = sl_produce(p, topic, part, NULL, 0, val, size, NULL, 0, 0, NULL)) ==
               SL_ERR__QUEUE_FULL)
            sl_poll(p, 1);
        if (e) {
            fprintf(stderr, "produce: %s\n", sl_err2str(e));
            return 1;
        }
        sl_poll(p, 0);
    }
    e = sl_flush(p, 120000);
    double t = now_s() - t0;
    sl_stats st;
    sl_producer_stats(p, &st);
    sl_producer_free(p);
    free(val);
    printf("libsplicelog: %ld records x %zu B in %.3f s: %.0f records/s, %.1f MB/s; "
           "delivered %ld, failed %ld; %llu batches, max in flight %u\n",
           n, size, t, (double)n / t, (double)n * (double)size / t / 1e6, delivered, failed,
           (unsigned long long)st.batches_sent, st.max_in_flight_seen);
    return failed || e ? 1 : 0;
}
