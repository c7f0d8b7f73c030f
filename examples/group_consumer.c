/*
 * group_consumer.c — libsplicelog example: a member of a consumer group.
 *
 *   group_consumer [-b host:port] -g group [-e] [-m] [-X name=value]... topic...
 *
 * Joins the group, prints every record it is given ("partition offset value") and what each
 * rebalance assigns and revokes (stderr). Offsets are committed by the library (auto commit:
 * every auto.commit.interval.ms and before partitions are revoked); with -m it commits itself,
 * synchronously, after every 100 records and on revoke instead, the pattern for an application
 * that must finish a record before it counts as consumed. -e exits when no record arrived for
 * two seconds; Ctrl-C leaves the group cleanly either way (final commit, LeaveGroup).
 *
 * The library starts no thread: heartbeats and rebalances happen inside sl_consumer_poll, so a
 * member must poll at least every heartbeat.interval.ms (3 s by default), and is dropped from
 * the group when it does not for session.timeout.ms (45 s) or max.poll.interval.ms (300 s).
 * Here the poll timeout (1 s) keeps that.
 *
 * Try cooperative rebalancing with -X partition.assignment.strategy=cooperative-sticky, and
 * compressed topics as they come: they are decompressed by the consumer.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "splicelog.h"

static volatile sig_atomic_t stop;
static int manual; /* -m */

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void on_rebalance(sl_consumer *c, sl_err what, const sl_topic_partition *parts, size_t n,
                         void *opaque)
{
    (void)opaque;
    fprintf(stderr, "%s:", what == SL_ERR__ASSIGN_PARTITIONS ? "assigned" : "revoked");
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %s[%d]", parts[i].topic, (int)parts[i].partition);
    fprintf(stderr, "\n");
    /* With manual commits, the positions of what is taken away are committed now, while the
     * partitions are still ours (the library does this itself with auto commit). */
    if (manual && what == SL_ERR__REVOKE_PARTITIONS) {
        sl_err err = sl_consumer_commit(c, parts, n, 0);
        if (err && err != SL_ERR__NO_OFFSET)
            fprintf(stderr, "commit on revoke: %s\n", sl_err2str(err));
    }
}

static void on_error(void *opaque, sl_err err, const char *reason)
{
    (void)opaque;
    fprintf(stderr, "error: %s: %s\n", sl_err2name(err), reason);
}

static int usage(void)
{
    fprintf(stderr, "usage: group_consumer [-b host:port] -g group [-e] [-m] [-X name=value]... "
                    "topic...\n");
    return 2;
}

int main(int argc, char **argv)
{
    char errstr[512];
    int exit_at_end = 0;
    int have_group = 0;
    sl_conf *conf = sl_conf_new();
    if (!conf)
        return 1;
    sl_conf_set(conf, "auto.offset.reset", "earliest", NULL, 0);
    int opt;
    while ((opt = getopt(argc, argv, "b:g:emX:")) != -1) {
        const char *name = NULL;
        char *value = NULL;
        switch (opt) {
        case 'b':
            name = "bootstrap.servers";
            value = optarg;
            break;
        case 'g':
            name = "group.id";
            value = optarg;
            have_group = 1;
            break;
        case 'e':
            exit_at_end = 1;
            break;
        case 'm':
            manual = 1;
            name = "enable.auto.commit";
            value = "false";
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
    if (optind >= argc || !have_group) {
        sl_conf_free(conf);
        return usage();
    }
    sl_conf_set_rebalance_cb(conf, on_rebalance);
    sl_conf_set_error_cb(conf, on_error);
    sl_consumer *c = sl_consumer_new(conf, errstr, sizeof(errstr)); /* takes conf */
    if (!c) {
        fprintf(stderr, "consumer: %s\n", errstr);
        return 1;
    }
    sl_err err =
        sl_consumer_subscribe(c, (const char *const *)&argv[optind], (size_t)(argc - optind));
    if (err) {
        fprintf(stderr, "subscribe: %s\n", sl_err2str(err));
        sl_consumer_free(c);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    long n = 0;
    int idle_ms = 0;
    while (!stop) {
        sl_record rec;
        err = sl_consumer_poll(c, 1000, &rec);
        if (err == SL_ERR__TIMED_OUT) {
            idle_ms += 1000;
            if (exit_at_end && idle_ms >= 2000)
                break;
            continue;
        }
        if (err) {
            fprintf(stderr, "%s [%d] at %lld: %s\n", rec.topic, (int)rec.partition,
                    (long long)rec.offset, sl_err2str(err));
            continue;
        }
        idle_ms = 0;
        printf("%d %lld %.*s\n", (int)rec.partition, (long long)rec.offset, (int)rec.value_len,
               rec.value ? (const char *)rec.value : "");
        n++;
        if (manual && n % 100 == 0) {
            /* The record above is done: positions (offsets NULL) can be committed. */
            err = sl_consumer_commit(c, NULL, 0, 0);
            if (err)
                fprintf(stderr, "commit: %s\n", sl_err2str(err));
        }
    }
    if (manual)
        sl_consumer_commit(c, NULL, 0, 0);
    sl_consumer_close(c); /* revoke (and auto commit), LeaveGroup */
    sl_consumer_free(c);
    fprintf(stderr, "%ld records\n", n);
    return 0;
}
