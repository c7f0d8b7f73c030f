/*
 * sb_consume — the consumer driver (used by consume, e2e, durable and compare, either client)
 * and the `consume` subcommand. Every record's value is hashed (XXH3, ~0.1 CPU s/GiB), so that
 * the bench proves what arrived is what was produced; that work is part of the client CPU
 * figure, as reading its data is part of any real consumer's work.
 *
 * Where to stop: after `expect` records (our own data, counted), or when every partition has
 * handed out the record just below the high watermark it had when the run began (a broker of
 * someone else's: `consume --bootstrap` reads what is there and stops, instead of waiting for
 * an idle timeout that would count as consuming time).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb.h"

int sb_consume_job_run(struct sb_consume_job *job, char *why, size_t why_len)
{
    const struct sb_client *cl = job->client;
    job->records = job->value_bytes = 0;
    job->digest = 0;
    int remaining = 0;
    bool *done = NULL;
    if (job->hi) {
        done = calloc((size_t)job->n_parts + 1, sizeof(*done));
        if (!done)
            return -ENOMEM;
        for (int p = 0; p < job->n_parts; p++) {
            done[p] = job->hi[p] <= job->lo[p];
            remaining += !done[p];
        }
    }
    long long w0 = cl->wire_bytes(job->c);
    uint64_t t0 = sb_now_ns(), last = t0;
    int rc = 0, primes = 0;
    if (job->window)
        sb_window_start(job->window, t0);
    if (job->on_primed && job->primes <= 0)
        job->on_primed(job->primed_arg);
    for (;;) {
        if (job->expect > 0 && job->records >= job->expect)
            break;
        if (job->limit > 0 && job->records >= job->limit)
            break;
        if (job->hi && !remaining && !(job->expect > 0))
            break;
        struct sb_rec rec = {0};
        int e = cl->cons_poll(job->c, 100, &rec, why, why_len);
        uint64_t now = sb_now_ns();
        if (e == -ETIMEDOUT) {
            if (job->window)
                sb_window_tick(job->window, now);
            if (now - last >= (uint64_t)job->idle_ms * 1000000ULL) {
                if (job->expect > 0 || job->hi) {
                    snprintf(why, why_len,
                             "no record for %d ms after %lld records (%d partitions short of "
                             "their high watermark)",
                             job->idle_ms, job->records, remaining);
                    rc = -ETIMEDOUT;
                }
                break;
            }
            continue;
        }
        if (e) {
            rc = e;
            break;
        }
        last = now;
        if (job->hi && rec.partition >= 0 && rec.partition < job->n_parts && !done[rec.partition] &&
            rec.offset + 1 >= job->hi[rec.partition]) {
            done[rec.partition] = true;
            remaining--;
        }
        if (sb_value_seq(rec.value, rec.value_len) == SB_SEQ_PRIME) {
            if (++primes == job->primes && job->on_primed)
                job->on_primed(job->primed_arg);
            continue;
        }
        uint64_t lat = UINT64_MAX;
        if (job->e2e) {
            uint64_t sent = sb_value_send_ns(rec.value, rec.value_len), wall = sb_wall_ns();
            lat = wall > sent ? wall - sent : 0;
            sb_hist_add(job->e2e, lat);
        }
        job->records++;
        job->value_bytes += (long long)rec.value_len;
        job->digest += sb_record_digest(rec.value, rec.value_len);
        if (job->verify)
            sb_verify_consumed(job->verify, rec.value, rec.value_len, rec.partition, rec.offset);
        if (job->window) {
            sb_window_add(job->window, (long long)rec.value_len, lat);
            sb_window_tick(job->window, now);
        }
    }
    if (job->window)
        sb_window_flush(job->window, last);
    long long w1 = cl->wire_bytes(job->c);
    job->wire_bytes = w0 >= 0 && w1 >= 0 ? w1 - w0 : -1;
    job->seconds = (double)(last - t0) / 1e9;
    free(done);
    return rc;
}

/* A consumer of o->topic with partitions 0..n-1 assigned from the beginning; with hwm, also
 * the watermarks of each partition (lo/hi arrays of n, malloc'd). NULL + why on error. */
static void *open_consumer(const struct sb_env *env, const struct sb_opts *o, int *n, int64_t **lo,
                           int64_t **hi, char *why, size_t why_len)
{
    const struct sb_client *cl = o->client;
    struct sb_cfg cfg;
    sb_env_cfg(env, o, &cfg);
    void *c = cl->cons_new(&cfg, why, why_len);
    if (!c)
        return NULL;
    *n = (int)o->partitions;
    if (o->bootstrap && !o->partitions_given) {
        int k = cl->partitions(c, &cfg, o->topic, why, why_len);
        if (k <= 0) {
            if (!k)
                snprintf(why, why_len, "topic %s has no partitions", o->topic);
            goto fail;
        }
        *n = k;
    }
    *lo = calloc((size_t)*n, sizeof(**lo));
    *hi = calloc((size_t)*n, sizeof(**hi));
    if (!*lo || !*hi) {
        snprintf(why, why_len, "out of memory");
        goto fail;
    }
    for (int p = 0; p < *n; p++)
        if (cl->watermarks(c, &cfg, o->topic, p, &(*lo)[p], &(*hi)[p], why, why_len)) {
            free(*lo);
            free(*hi);
            *lo = *hi = NULL; /* the caller decides whether a count will do */
            break;
        }
    for (int p = 0; p < *n; p++)
        if (cl->assign(c, o->topic, p, why, why_len))
            goto fail;
    return c;
fail:
    free(*lo);
    free(*hi);
    *lo = *hi = NULL;
    cl->cons_free(c);
    return NULL;
}

int sb_cmd_consume(const struct sb_opts *o)
{
    char why[512] = "";
    struct sb_env env;
    if (sb_env_open(&env, o, NULL, why, sizeof(why))) {
        fprintf(stderr, "splicelog-bench consume: %s\n", why);
        return 1;
    }
    static struct sb_figs fs;
    sb_figs_init(&fs, o);
    snprintf(fs.settings, sizeof(fs.settings), "client=%s topic=%s record_size=%lld tls=%d",
             o->client->name, o->topic, o->record_size, o->tls);
    snprintf(fs.broker, sizeof(fs.broker), "%s %s", o->bootstrap ? "external" : "own",
             o->bootstrap ? o->bootstrap : o->broker_bin);
    sb_figs_sect(&fs, "throughput", "throughput");
    sb_figs_sect(&fs, "cpu", "CPU (scheduler ns)");
    long long produced = 0;
    uint64_t digest = 0;
    if (!o->bootstrap) {
        /* Our own broker is empty: fill it first (count or duration), then read it back. */
        struct sb_produce_job pj = {
            .client = o->client,
            .topic = o->topic,
            .record_size = (size_t)o->record_size,
            .count = o->count,
            .duration_ms = o->duration_ms,
            .rate = (double)o->rate,
        };
        sb_env_cfg(&env, o, &pj.cfg);
        if (sb_produce_job_run(&pj, why, sizeof(why))) {
            fprintf(stderr, "splicelog-bench consume: preload: %s\n", why);
            sb_env_close(&env);
            return 1;
        }
        produced = pj.records;
        digest = pj.digest;
        fprintf(stderr, "preloaded %lld records (%.1f MB)\n", pj.records, (double)pj.bytes / 1e6);
    }
    int rc = 0;
    for (int r = 0; r < o->runs && !rc; r++) {
        int n = 0;
        int64_t *lo = NULL, *hi = NULL;
        void *c = open_consumer(&env, o, &n, &lo, &hi, why, sizeof(why));
        if (!c) {
            fprintf(stderr, "splicelog-bench consume: %s\n", why);
            rc = -EIO;
            break;
        }
        char label[48];
        snprintf(label, sizeof(label), "consume run %d/%lld", r + 1, o->runs);
        struct sb_window w;
        sb_window_init(&w, label, o->interval_ms, false);
        struct sb_consume_job job = {
            .client = o->client,
            .c = c,
            .lo = lo,
            .hi = hi,
            .n_parts = n,
            .idle_ms = 10000,
            .window = &w,
        };
        if (!o->bootstrap)
            job.expect = produced;
        else if (o->count_given)
            job.expect = o->count; /* at most this many, or the high watermark */
        if (!hi && !job.expect) {
            fprintf(stderr, "splicelog-bench consume: no high watermark (%s) and no --count\n",
                    why);
            o->client->cons_free(c);
            sb_window_free(&w);
            rc = -EIO;
            break;
        }
        if (o->bootstrap && o->count_given && hi)
            job.expect = 0, job.limit = o->count;
        int64_t b0 = sb_env_broker_cpu_ns(&env), c0 = sb_self_cpu_ns();
        rc = sb_consume_job_run(&job, why, sizeof(why));
        int64_t b1 = sb_env_broker_cpu_ns(&env), c1 = sb_self_cpu_ns();
        o->client->cons_free(c);
        sb_window_free(&w);
        free(lo);
        free(hi);
        if (rc) {
            fprintf(stderr, "splicelog-bench consume: run %d: %s\n", r + 1, why);
            break;
        }
        if (!o->bootstrap && (job.records != produced || job.digest != digest)) {
            fprintf(stderr,
                    "splicelog-bench consume: run %d: consumed %lld records (digest %016llx), "
                    "produced %lld (%016llx)\n",
                    r + 1, job.records, (unsigned long long)job.digest, produced,
                    (unsigned long long)digest);
            rc = -EBADMSG;
            break;
        }
        double sec = job.seconds, gib = (double)job.value_bytes / 1073741824.0;
        sb_figs_set(&fs, r, "throughput", "records", "records consumed", 0, (double)job.records);
        sb_figs_set(&fs, r, "throughput", "records_per_s", "records/s", 0,
                    sec > 0 ? (double)job.records / sec : NAN);
        sb_figs_set(&fs, r, "throughput", "mb_per_s", "MB/s (values)", 1,
                    sec > 0 ? (double)job.value_bytes / sec / 1e6 : NAN);
        sb_figs_set(&fs, r, "throughput", "wire_mb_per_s", "MB/s (fetch responses)", 1,
                    sec > 0 && job.wire_bytes >= 0 ? (double)job.wire_bytes / sec / 1e6 : NAN);
        sb_cpu_figs(&fs, r, "broker", b0 >= 0 && b1 >= 0 ? b1 - b0 : -1, gib, job.records, sec);
        sb_cpu_figs(&fs, r, "client", c1 - c0, gib, job.records, sec);
        fprintf(stderr, "consume run %d/%lld: %lld records in %.2f s, %.0f records/s\n", r + 1,
                o->runs, job.records, sec, sec > 0 ? (double)job.records / sec : 0.0);
    }
    sb_env_close(&env);
    if (o->bootstrap)
        sb_figs_note(&fs, "external broker: its CPU is not measured; read from the earliest "
                          "offset to the high watermark of each partition at the run's start");
    if (!strcmp(o->client->name, "rdkafka"))
        sb_figs_note(&fs, "librdkafka does not report fetch response bytes: MB/s of values only");
    if (fs.runs && sb_figs_report(&fs))
        rc = -EIO;
    return rc || !fs.runs ? 1 : 0;
}
