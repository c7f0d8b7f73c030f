/*
 * producer.c — libsplicelog example: send lines from stdin (or N generated records) to a
 * topic and report how many were delivered.
 *
 *   producer [-b host:port] [-p partition] [-n count] [-X name=value]... topic
 *
 * Copy it: create a conf, set properties by their Kafka names, create the producer, call
 * sl_produce for each record and sl_poll regularly (delivery callbacks run there), and
 * sl_flush before freeing the producer.
 *
 * Exactly once per partition across retries and broker restarts: -X enable.idempotence=true
 * (acks=all and the retry settings follow). Such a producer can fail for good (the broker
 * fenced it, or lacks InitProducerId): sl_produce then returns SL_ERR__FATAL and
 * sl_producer_fatal_error says why; make a new producer to go on.
 *
 * TLS: -X security.protocol=ssl -X ssl.ca.location=ca.pem (and, for a broker that wants a
 * client certificate, -X ssl.certificate.location=client.pem -X ssl.key.location=client.key).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "splicelog.h"

struct counts {
    long ok;
    long failed;
};

static void on_delivery(sl_producer *p, const sl_delivery *dr, void *opaque)
{
    struct counts *c = opaque;
    if (dr->err) {
        c->failed++;
        if (c->failed <= 10)
            fprintf(stderr, "delivery failed: %s [%d]: %s\n", dr->topic, (int)dr->partition,
                    sl_err2str(dr->err));
    } else {
        c->ok++;
    }
    (void)p;
}

static int usage(void)
{
    fprintf(stderr, "usage: producer [-b host:port] [-p partition] [-n count] "
                    "[-X name=value]... topic\n");
    return 2;
}

int main(int argc, char **argv)
{
    char errstr[512]; /* room for OpenSSL's reasons */
    struct counts counts = {0, 0};
    int32_t partition = SL_PARTITION_ANY;
    long count = -1;
    sl_conf *conf = sl_conf_new();
    if (!conf)
        return 1;
    int opt;
    while ((opt = getopt(argc, argv, "b:p:n:X:")) != -1) {
        const char *name = NULL;
        char *value = NULL;
        switch (opt) {
        case 'b':
            name = "bootstrap.servers";
            value = optarg;
            break;
        case 'p':
            partition = atoi(optarg);
            break;
        case 'n':
            count = atol(optarg);
            break;
        case 'X':
            value = strchr(optarg, '=');
            if (!value) {
                sl_conf_free(conf);
                return usage();
            }
            *value++ = 0;
            name = optarg;
            break;
        default:
            sl_conf_free(conf);
            return usage();
        }
        if (name && sl_conf_set(conf, name, value, errstr, sizeof(errstr)) != SL_ERR_NO_ERROR) {
            fprintf(stderr, "%s\n", errstr);
            sl_conf_free(conf);
            return 2;
        }
    }
    if (optind != argc - 1) {
        sl_conf_free(conf);
        return usage();
    }
    const char *topic = argv[optind];
    sl_conf_set_delivery_cb(conf, on_delivery);
    sl_conf_set_opaque(conf, &counts);
    sl_producer *p = sl_producer_new(conf, errstr, sizeof(errstr)); /* takes conf */
    if (!p) {
        fprintf(stderr, "producer: %s\n", errstr);
        return 1;
    }

    char line[65536];
    long sent = 0;
    sl_err produce_err = SL_ERR_NO_ERROR;
    for (;;) {
        size_t len;
        if (count >= 0) {
            if (sent == count)
                break;
            len = (size_t)snprintf(line, sizeof(line), "record %ld", sent);
        } else {
            if (!fgets(line, sizeof(line), stdin))
                break;
            len = strcspn(line, "\n");
        }
        sl_err err;
        while ((err = sl_produce(p, topic, partition, NULL, 0, line, len, NULL, 0, 0, NULL)) ==
               SL_ERR__QUEUE_FULL)
            sl_poll(p, 100); /* let deliveries drain the queue */
        if (err == SL_ERR__FATAL) {
            sl_err cause = sl_producer_fatal_error(p, errstr, sizeof(errstr));
            fprintf(stderr, "produce: fatal: %s: %s\n", sl_err2name(cause), errstr);
            produce_err = err;
            break;
        }
        if (err) {
            fprintf(stderr, "produce: %s\n", sl_err2str(err));
            produce_err = err;
            break;
        }
        sent++;
        sl_poll(p, 0);
    }
    if (sl_flush(p, 30000) != SL_ERR_NO_ERROR)
        fprintf(stderr, "flush: %zu records not delivered in time\n", sl_outq_len(p));
    sl_producer_free(p);
    printf("%ld delivered, %ld failed\n", counts.ok, counts.failed);
    return produce_err || counts.failed || counts.ok != sent ? 1 : 0;
}
