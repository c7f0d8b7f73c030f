/*
 * sb_e2e — end-to-end latency: a producer at a fixed --rate and a consumer in another thread
 * (each with its own libsplicelog handle, as the client contract allows). Latency is measured
 * from the send time stamped into each record (CLOCK_REALTIME ns; the record's timestamp field
 * carries the same instant in ms) to the moment the consumer thread is handed the record.
 * Both ends run in this process, so there is no clock skew. The percentiles come from a
 * log-bucketed histogram (sb_hist: fixed memory, < 1/64 relative error).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "sb.h"

struct e2e {
    const struct sb_env *env;
    const struct sb_opts *o;
    long long expect;
    sl_consumer *c;
    pthread_t thread;
    bool started;
    int rc;
    char why[512];
    struct sb_consume_result res;
};

static void *consumer_main(void *arg)
{
    struct e2e *x = arg;
    x->rc = sb_consume_run(x->c, x->expect, 5000, &x->res, x->why, sizeof(x->why));
    return NULL;
}

/* Runs once the priming record created the topic: the consumer starts before the clock. */
static void start_consumer(void *arg)
{
    struct e2e *x = arg;
    x->c = sb_consumer_open(x->env, x->o, x->why, sizeof(x->why));
    if (!x->c) {
        x->rc = -EIO;
        return;
    }
    if (pthread_create(&x->thread, NULL, consumer_main, x)) {
        snprintf(x->why, sizeof(x->why), "pthread_create failed");
        x->rc = -EAGAIN;
        return;
    }
    x->started = true;
}

int sb_cmd_e2e(const struct sb_opts *o)
{
    char why[512] = "";
    struct sb_env env;
    struct sb_opts po = *o;
    /* A fixed number of records, so the consumer knows when it has them all. */
    if (!po.count)
        po.count = po.rate * po.duration_ms / 1000;
    po.duration_ms = 0;
    if (po.count < 1) {
        fprintf(stderr, "splicelog-bench e2e: rate x duration is less than one record\n");
        return SB_EXIT_USAGE;
    }
    /* The paced producer sleeps between records: 10 us of timer slack instead of 50. */
    prctl(PR_SET_TIMERSLACK, 10000UL, 0, 0, 0);
    if (sb_env_open(&env, o, why, sizeof(why))) {
        fprintf(stderr, "splicelog-bench e2e: %s\n", why);
        return 1;
    }
    static struct sb_hist ack, lat;
    sb_hist_init(&ack);
    sb_hist_init(&lat);
    static struct e2e x;
    memset(&x, 0, sizeof(x));
    x.env = &env;
    x.o = &po;
    x.expect = po.count;
    x.res.e2e_latency = &lat;
    struct sb_produce_result pr = {.ack_latency = &ack};
    int rc = sb_produce_run(&env, &po, &pr, start_consumer, &x, why, sizeof(why));
    if (x.started)
        pthread_join(x.thread, NULL);
    sl_stats cs = {0};
    if (x.c) {
        sl_consumer_stats(x.c, &cs);
        sl_consumer_free(x.c);
    }
    sb_env_close(&env);

    printf("e2e: %lld records of %lld bytes at %lld/s target (%.0f/s reached), acks=%s, "
           "linger.ms=%lld%s\n",
           pr.records, o->record_size, o->rate,
           pr.seconds > 0 ? (double)pr.records / pr.seconds : 0.0, o->acks, o->linger_ms,
           o->tls ? ", ssl" : "");
    printf("  consumed %lld records in %llu fetches\n", x.res.records,
           (unsigned long long)cs.fetches);
    sb_hist_print(stdout, "end-to-end latency (record timestamp -> receipt)", &lat);
    sb_hist_print(stdout, "send->ack latency", &ack);
    if (rc) {
        fprintf(stderr, "splicelog-bench e2e: %s\n", why);
        return 1;
    }
    if (x.rc) {
        fprintf(stderr, "splicelog-bench e2e: consumer: %s\n", x.why);
        return 1;
    }
    if (x.res.records != pr.records || x.res.digest != pr.digest) {
        fprintf(stderr,
                "splicelog-bench e2e: consumed %lld records (digest %016llx), "
                "produced %lld (digest %016llx)\n",
                x.res.records, (unsigned long long)x.res.digest, pr.records,
                (unsigned long long)pr.digest);
        return 1;
    }
    return 0;
}
