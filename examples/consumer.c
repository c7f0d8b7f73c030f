/*
 * consumer.c — libsplicelog example: print the records of one partition.
 *
 *   consumer [-b host:port] [-p partition] [-o beginning|end|OFFSET] [-e] [-X name=value]...
 *            topic
 *
 * -e exits when no record arrived for two seconds. Records are views into the fetch buffer:
 * use them before the next sl_consumer_poll (copy what must live longer).
 *
 * TLS: -X security.protocol=ssl -X ssl.ca.location=ca.pem (and, for a broker that wants a
 * client certificate, -X ssl.certificate.location=client.pem -X ssl.key.location=client.key).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "splicelog.h"

static int usage(void)
{
    fprintf(stderr, "usage: consumer [-b host:port] [-p partition] [-o beginning|end|OFFSET] "
                    "[-e] [-X name=value]... topic\n");
    return 2;
}

int main(int argc, char **argv)
{
    char errstr[512]; /* room for OpenSSL's reasons */
    int32_t partition = 0;
    int64_t offset = SL_OFFSET_BEGINNING;
    int exit_at_end = 0;
    sl_conf *conf = sl_conf_new();
    if (!conf)
        return 1;
    int opt;
    while ((opt = getopt(argc, argv, "b:p:o:eX:")) != -1) {
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
        case 'o':
            if (!strcmp(optarg, "beginning"))
                offset = SL_OFFSET_BEGINNING;
            else if (!strcmp(optarg, "end"))
                offset = SL_OFFSET_END;
            else
                offset = atoll(optarg);
            break;
        case 'e':
            exit_at_end = 1;
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
    sl_consumer *c = sl_consumer_new(conf, errstr, sizeof(errstr)); /* takes conf */
    if (!c) {
        fprintf(stderr, "consumer: %s\n", errstr);
        return 1;
    }
    sl_err err = sl_consumer_assign(c, topic, partition, offset);
    if (err) {
        fprintf(stderr, "assign %s [%d]: %s\n", topic, (int)partition, sl_err2str(err));
        sl_consumer_free(c);
        return 1;
    }
    long n = 0;
    for (;;) {
        sl_record rec;
        err = sl_consumer_poll(c, exit_at_end ? 2000 : 1000, &rec);
        if (err == SL_ERR__TIMED_OUT) {
            if (exit_at_end)
                break;
            continue;
        }
        if (err) {
            fprintf(stderr, "%s [%d]: %s\n", rec.topic, (int)rec.partition, sl_err2str(err));
            continue;
        }
        printf("%lld\t%.*s\t%.*s\n", (long long)rec.offset, (int)rec.key_len,
               rec.key ? (const char *)rec.key : "", (int)rec.value_len,
               rec.value ? (const char *)rec.value : "");
        n++;
    }
    fprintf(stderr, "%ld records\n", n);
    sl_consumer_free(c);
    return 0;
}
