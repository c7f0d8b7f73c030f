/*
 * sb_produce — the broker environment of produce/consume/e2e/durable (a broker of our own or
 * --bootstrap), the producer driver (either client), and the `produce` subcommand.
 *
 * The driver's schedule: with a rate, record i of a producer is due at t0 + phase + i / rate.
 * Ahead of schedule the producer drives I/O once and sleeps (it does not spin: on a small
 * machine a spinning producer takes the CPU the broker and the consumer need). Behind schedule
 * it sends at once, and every record keeps its due time as its intended send time: latency is
 * measured from there, so a stall of the broker, the client or this process is charged to
 * every record it delayed, not only to the one that saw it (no coordinated omission). A full
 * client queue is waited out the same way.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sb.h"

void sb_opts_defaults(struct sb_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->client = &sb_client_splicelog;
    o->record_size = 1024;
    o->partitions = 1;
    o->acks = "1";
    o->linger_ms = 5;
    o->transfer = "auto";
    o->size = 1LL << 30;
    o->runs = 3;
    o->interval_ms = 1000;
    o->producers = 1;
    o->batch_records = 100;
    o->sticky = 1;
    o->paths = "auto,splice,sendfile,copy,tls,ktls";
}

/* The broker's settings for env: num.partitions, fetch.transfer, TLS, extra, --broker-set. */
static int env_settings(struct sb_env *env, const struct sb_opts *o, const char *const *extra,
                        const char **settings, char bufs[][700], char *why, size_t why_len)
{
    int n = 0;
    snprintf(bufs[0], 700, "num.partitions=%lld", o->partitions);
    snprintf(bufs[1], 700, "fetch.transfer=%s", o->transfer);
    settings[n++] = bufs[0];
    settings[n++] = bufs[1];
    if (o->tls) {
        int rc = sb_cert_make(env->dir, why, why_len);
        if (rc)
            return rc;
        snprintf(env->ca, sizeof(env->ca), "%s/bench.pem", env->dir);
        snprintf(bufs[2], 700, "ssl.certificate.location=%s/bench.pem", env->dir);
        snprintf(bufs[3], 700, "ssl.key.location=%s/bench.key", env->dir);
        settings[n++] = "listeners=SSL://127.0.0.1:0";
        settings[n++] = bufs[2];
        settings[n++] = bufs[3];
    }
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        settings[n++] = extra[i];
    for (size_t i = 0; o->broker_set[i] && n < 31; i++) /* last: they override */
        settings[n++] = o->broker_set[i];
    settings[n] = NULL;
    return 0;
}

int sb_env_open(struct sb_env *env, const struct sb_opts *o, const char *const *extra, char *why,
                size_t why_len)
{
    memset(env, 0, sizeof(*env));
    if (o->bootstrap) {
        snprintf(env->bootstrap, sizeof(env->bootstrap), "%s", o->bootstrap);
        if (o->ca)
            snprintf(env->ca, sizeof(env->ca), "%s", o->ca);
        return 0;
    }
    int rc = sb_tmpdir_new(env->dir, sizeof(env->dir));
    if (rc) {
        snprintf(why, why_len, "temporary directory: %s", strerror(-rc));
        return rc;
    }
    snprintf(env->data, sizeof(env->data), "%s/data", env->dir);
    char bufs[4][700];
    const char *settings[32];
    rc = env_settings(env, o, extra, settings, bufs, why, why_len);
    if (rc)
        goto fail;
    rc = sb_broker_start(&env->broker, o->broker_bin, env->dir, env->data, "main", settings, why,
                         why_len);
    if (rc)
        goto fail;
    snprintf(env->bootstrap, sizeof(env->bootstrap), "127.0.0.1:%d", env->broker.port);
    return 0;
fail:
    sb_tmpdir_free(env->dir);
    env->dir[0] = 0;
    return rc;
}

int sb_env_restart(struct sb_env *env, const struct sb_opts *o, const char *const *extra,
                   double *seconds, char *why, size_t why_len)
{
    if (!env->dir[0])
        return -EINVAL;
    sb_broker_stop(&env->broker);
    char bufs[4][700];
    const char *settings[32];
    int rc = env_settings(env, o, extra, settings, bufs, why, why_len);
    if (rc)
        return rc;
    uint64_t t0 = sb_now_ns();
    rc = sb_broker_start(&env->broker, o->broker_bin, env->dir, env->data, "restart", settings, why,
                         why_len);
    *seconds = (double)(sb_now_ns() - t0) / 1e9;
    if (rc)
        return rc;
    snprintf(env->bootstrap, sizeof(env->bootstrap), "127.0.0.1:%d", env->broker.port);
    return 0;
}

void sb_env_close(struct sb_env *env)
{
    sb_broker_stop(&env->broker);
    if (env->dir[0])
        sb_tmpdir_free(env->dir);
    env->dir[0] = 0;
}

void sb_env_cfg(const struct sb_env *env, const struct sb_opts *o, struct sb_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->bootstrap = env->bootstrap;
    cfg->acks = o->acks;
    cfg->linger_ms = o->linger_ms;
    cfg->tls = o->tls;
    cfg->ca = env->ca;
    cfg->props = o->props;
}

int64_t sb_env_broker_cpu_ns(const struct sb_env *env)
{
    return env->broker.pid > 0 ? sb_proc_cpu_ns(env->broker.pid) : -1;
}

/* ---- the producer driver ------------------------------------------------------------------ */

struct prod_state {
    struct sb_produce_job *job;
    int primed;     /* 0 waiting, 1 delivered, -1 failed */
    uint64_t wall0; /* the wall clock at job->t0: record i's send time is wall0 + intended - t0 */
};

static void on_dr(void *arg, bool ok, const void *value, size_t len, void *msg_opaque,
                  int32_t partition, int64_t offset)
{
    struct prod_state *st = arg;
    struct sb_produce_job *job = st->job;
    if (sb_value_seq(value, len) == SB_SEQ_PRIME) {
        st->primed = ok ? 1 : -1;
        return;
    }
    if (!ok) {
        job->failed++;
        return;
    }
    job->records++;
    if (job->acked)
        atomic_fetch_add_explicit(job->acked, 1, memory_order_relaxed);
    job->bytes += (long long)len;
    job->digest += sb_record_digest(value, len);
    uint64_t intended = (uint64_t)(uintptr_t)msg_opaque, now = sb_now_ns();
    if (job->verify)
        sb_verify_acked(job->verify, job->verify_k, value, len, partition, offset,
                        st->wall0 + (intended - job->t0));
    uint64_t lat = now > intended ? now - intended : 0;
    if (job->ack)
        sb_hist_add(job->ack, lat);
    if (job->window)
        sb_window_add(job->window, (long long)len, lat);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};
    nanosleep(&ts, NULL);
}

int sb_produce_job_run(struct sb_produce_job *job, char *why, size_t why_len)
{
    const struct sb_client *cl = job->client;
    struct prod_state st = {job, 0, 0};
    job->records = job->failed = job->bytes = 0;
    job->digest = 0;
    job->seconds = 0;
    void *p = cl->prod_new(&job->cfg, on_dr, &st, why, why_len);
    if (!p) {
        if (job->ready)
            job->ready(job->ready_arg, false);
        return -EINVAL;
    }
    size_t vlen = job->record_size;
    uint8_t *value = malloc(vlen), key[8];
    int rc = 0;
    if (!value) {
        snprintf(why, why_len, "out of memory");
        rc = -ENOMEM;
        if (job->ready)
            job->ready(job->ready_arg, false);
        goto out;
    }

    /* Priming record: creates the topic, fetches metadata, opens the connection. */
    sb_value_fill(value, vlen, SB_SEQ_PRIME, sb_wall_ns());
    rc = cl->produce(p, job->topic, job->round_robin > 0 ? 0 : -1, NULL, 0, value, vlen, 0, NULL,
                     why, why_len);
    if (!rc && cl->flush(p, 30000))
        snprintf(why, why_len, "first record to %s: not delivered in 30 s", job->cfg.bootstrap);
    if (!rc && st.primed != 1) {
        if (st.primed == -1)
            snprintf(why, why_len, "first record to %s: delivery failed", job->cfg.bootstrap);
        rc = -EIO;
    }
    if (job->ready && !job->ready(job->ready_arg, rc == 0) && !rc) {
        snprintf(why, why_len, "another producer or the consumer failed to start");
        rc = -ECANCELED;
    }
    if (rc)
        goto out;

    uint64_t t0 = sb_now_ns(), wall0 = sb_wall_ns(), now = t0;
    job->t0 = t0;
    st.wall0 = wall0;
    if (job->window)
        sb_window_start(job->window, t0);
    uint64_t end = job->duration_ms ? t0 + (uint64_t)job->duration_ms * 1000000ULL : 0;
    uint64_t total = job->count ? (uint64_t)job->count : UINT64_MAX;
    double gap_ns = job->rate > 0 ? 1e9 / job->rate : 0;
    for (uint64_t i = 0; i < total; i++) {
        now = sb_now_ns();
        uint64_t intended = now;
        if (gap_ns > 0) {
            intended = t0 + job->phase_ns + (uint64_t)((double)i * gap_ns);
            if (now < intended) {
                cl->poll(p, 0);
                now = sb_now_ns();
                if (now < intended) {
                    sleep_ns(intended - now);
                    now = sb_now_ns();
                }
            }
        }
        if ((end && now >= end) || (job->stop && atomic_load(job->stop)))
            break;
        uint64_t seq = job->seq_base + i;
        uint64_t wall = wall0 + (intended - t0);
        sb_value_fill(value, vlen, seq, wall);
        for (int k = 0; k < 8; k++)
            key[k] = (uint8_t)(seq >> (8 * k));
        uint64_t run = job->sticky > 1 ? (uint64_t)job->sticky : 1;
        int32_t part =
            job->round_robin > 0 ? (int32_t)((i / run) % (uint64_t)job->round_robin) : -1;
        for (;;) {
            rc = cl->produce(p, job->topic, part, job->keyed ? key : NULL, job->keyed ? 8 : 0,
                             value, vlen, (int64_t)(wall / 1000000ULL), (void *)(uintptr_t)intended,
                             why, why_len);
            if (rc != -ENOBUFS)
                break;
            cl->poll(p, 10);
        }
        if (rc)
            break;
        cl->poll(p, 0);
        if (job->window)
            sb_window_tick(job->window, now);
    }
    if (cl->flush(p, 120000) && !rc) {
        snprintf(why, why_len, "flush: records still undelivered after 120 s");
        rc = -ETIMEDOUT;
    }
    job->seconds = (double)(sb_now_ns() - t0) / 1e9;
    if (job->window)
        sb_window_flush(job->window, sb_now_ns());
    if (!rc && job->failed) {
        snprintf(why, why_len, "%lld records failed", job->failed);
        rc = -EIO;
    }
out:
    free(value);
    cl->prod_free(p);
    return rc;
}

/* ---- produce ------------------------------------------------------------------------------ */

struct cpu_mark {
    const struct sb_env *env;
    int64_t broker, self;
};

static bool mark_cpu(void *arg, bool ok)
{
    struct cpu_mark *m = arg;
    m->broker = sb_env_broker_cpu_ns(m->env);
    m->self = sb_self_cpu_ns();
    return ok;
}

int sb_cmd_produce(const struct sb_opts *o)
{
    char why[512] = "";
    struct sb_env env;
    if (sb_env_open(&env, o, NULL, why, sizeof(why))) {
        fprintf(stderr, "splicelog-bench produce: %s\n", why);
        return 1;
    }
    static struct sb_figs fs;
    sb_figs_init(&fs, o);
    snprintf(fs.settings, sizeof(fs.settings),
             "client=%s record_size=%lld count=%lld duration_ms=%lld rate=%lld acks=%s "
             "linger_ms=%lld partitions=%lld keyed=%d tls=%d",
             o->client->name, o->record_size, o->count, o->duration_ms, o->rate, o->acks,
             o->linger_ms, o->partitions, o->keyed, o->tls);
    snprintf(fs.broker, sizeof(fs.broker), "%s %s", o->bootstrap ? "external" : "own",
             o->bootstrap ? o->bootstrap : o->broker_bin);
    sb_figs_sect(&fs, "throughput", "throughput");
    sb_figs_sect(&fs, "ack_latency",
                 "send->ack latency, ms (intended send time -> delivery report)");
    sb_figs_sect(&fs, "cpu", "CPU (scheduler ns)");
    int rc = 0;
    struct sb_hist *ack = malloc(sizeof(*ack));
    if (!ack) {
        sb_env_close(&env);
        return 1;
    }
    for (int r = 0; r < o->runs && !rc; r++) {
        char label[48];
        snprintf(label, sizeof(label), "produce run %d/%lld", r + 1, o->runs);
        struct sb_window w;
        sb_window_init(&w, label, o->interval_ms, true);
        sb_hist_init(ack);
        struct cpu_mark m = {&env, 0, 0};
        struct sb_produce_job job = {
            .client = o->client,
            .topic = o->topic,
            .record_size = (size_t)o->record_size,
            .count = o->count,
            .duration_ms = o->duration_ms,
            .rate = (double)o->rate,
            .seq_base = (uint64_t)r << 40,
            .keyed = o->keyed,
            .ready = mark_cpu,
            .ready_arg = &m,
            .window = &w,
            .ack = ack,
        };
        sb_env_cfg(&env, o, &job.cfg);
        rc = sb_produce_job_run(&job, why, sizeof(why));
        int64_t b1 = sb_env_broker_cpu_ns(&env), c1 = sb_self_cpu_ns();
        sb_window_free(&w);
        if (rc) {
            fprintf(stderr, "splicelog-bench produce: run %d: %s\n", r + 1, why);
            break;
        }
        double gib = (double)job.bytes / 1073741824.0;
        double rps = job.seconds > 0 ? (double)job.records / job.seconds : NAN;
        sb_figs_set(&fs, r, "throughput", "records", "records delivered", 0, (double)job.records);
        sb_figs_set(&fs, r, "throughput", "records_per_s", "records/s", 0, rps);
        sb_figs_set(&fs, r, "throughput", "mb_per_s", "MB/s (values)", 1,
                    job.seconds > 0 ? (double)job.bytes / job.seconds / 1e6 : NAN);
        sb_figs_latency(&fs, r, "ack_latency", ack);
        sb_cpu_figs(&fs, r, "broker", m.broker >= 0 && b1 >= 0 ? b1 - m.broker : -1, gib,
                    job.records, job.seconds);
        sb_cpu_figs(&fs, r, "client", c1 - m.self, gib, job.records, job.seconds);
        fprintf(stderr,
                "produce run %d/%lld: %lld records in %.2f s, %.0f records/s, ack p99 "
                "%.3f ms\n",
                r + 1, o->runs, job.records, job.seconds, rps,
                (double)sb_hist_percentile(ack, 99) / 1e6);
    }
    free(ack);
    sb_env_close(&env);
    if (o->bootstrap)
        sb_figs_note(&fs, "external broker: its CPU is not measured");
    if (fs.runs && sb_figs_report(&fs))
        rc = -EIO;
    return rc || !fs.runs ? 1 : 0;
}
