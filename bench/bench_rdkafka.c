/*
 * bench_rdkafka — the librdkafka peer of bench_producer: the same records (n x s bytes, no
 * key, round-robin over p partitions, acks=1) sent by Debian's librdkafka with throughput
 * settings, so both figures come from the same machine and broker in the same run.
 *
 *   bench_rdkafka [-b host:port] [-t topic] [-n records] [-s value_bytes] [-p partitions]
 *                 [-X name=value]...
 *
 * Settings: acks=1, linger.ms=5, batch.size=1000000, batch.num.messages=1000000,
 * queue.buffering.max.messages=2000000, queue.buffering.max.kbytes=2097151,
 * compression.codec=none; -X overrides any librdkafka property.
 * Built by `make build/bench_rdkafka` (links -lrdkafka; not part of `make`).
 */
#include <librdkafka/rdkafka.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long delivered, failed;

static void dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
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

static int set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(c, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *topic = "bench";
    long n = 1000000;
    size_t size = 100;
    int parts = 1;
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (set(c, "bootstrap.servers", "127.0.0.1:9092") || set(c, "acks", "1") ||
        set(c, "linger.ms", "5") || set(c, "batch.size", "1000000") ||
        set(c, "batch.num.messages", "1000000") ||
        set(c, "queue.buffering.max.messages", "2000000") ||
        set(c, "queue.buffering.max.kbytes", "2097151") || set(c, "compression.codec", "none"))
        return 2;
    int opt;
    while ((opt = getopt(argc, argv, "b:t:n:s:p:X:")) != -1) {
        char *v;
        switch (opt) {
        case 'b':
            if (set(c, "bootstrap.servers", optarg))
                return 2;
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
            if (!v)
                return 2;
            *v++ = 0;
            if (set(c, optarg, v))
                return 2;
            break;
        default:
            fprintf(stderr, "usage: bench_rdkafka [-b host:port] [-t topic] [-n records] "
                            "[-s bytes] [-p partitions] [-X name=value]...\n");
            return 2;
        }
    }
    rd_kafka_conf_set_dr_msg_cb(c, dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    char *val = malloc(size ? size : 1);
    memset(val, 'b', size);
    /* Warm-up record: connection and metadata outside the timing. */
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                      RD_KAFKA_V_VALUE(val, size), RD_KAFKA_V_END);
    rd_kafka_flush(rk, 10000);
    delivered = failed = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        int32_t part = parts > 0 ? (int32_t)(i % parts) : RD_KAFKA_PARTITION_UA;
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                                      RD_KAFKA_V_VALUE(val, size), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 1);
        if (e) {
            fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
            return 1;
        }
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_resp_err_t fe = rd_kafka_flush(rk, 120000);
    double t = now_s() - t0;
    rd_kafka_destroy(rk);
    free(val);
    printf("librdkafka %s: %ld records x %zu B in %.3f s: %.0f records/s, %.1f MB/s; "
           "delivered %ld, failed %ld\n",
           rd_kafka_version_str(), n, size, t, (double)n / t, (double)n * (double)size / t / 1e6,
           delivered, failed);
    return failed || fe ? 1 : 0;
}
