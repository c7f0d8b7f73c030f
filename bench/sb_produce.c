/*
 * sb_produce — the broker environment of produce/consume/e2e (a broker of our own or
 * --bootstrap), the libsplicelog producer driver, and the `produce` subcommand.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sb.h"

void sb_opts_defaults(struct sb_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->topic = NULL;
    o->record_size = 1024;
    o->partitions = 1;
    o->acks = "1";
    o->linger_ms = 5;
    o->transfer = "splice";
    o->size = 1LL << 30;
    o->runs = 3;
    o->paths = "splice,sendfile,copy,tls,ktls";
}

int sb_env_open(struct sb_env *env, const struct sb_opts *o, char *why, size_t why_len)
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
    char parts[64], xfer[64], cert[700], key[700];
    const char *settings[8];
    int n = 0;
    snprintf(parts, sizeof(parts), "num.partitions=%lld", o->partitions);
    snprintf(xfer, sizeof(xfer), "fetch.transfer=%s", o->transfer);
    settings[n++] = parts;
    settings[n++] = xfer;
    if (o->tls) {
        rc = sb_cert_make(env->dir, why, why_len);
        if (rc)
            goto fail;
        snprintf(env->ca, sizeof(env->ca), "%s/bench.pem", env->dir);
        snprintf(cert, sizeof(cert), "ssl.certificate.location=%s/bench.pem", env->dir);
        snprintf(key, sizeof(key), "ssl.key.location=%s/bench.key", env->dir);
        settings[n++] = "listeners=SSL://127.0.0.1:0";
        settings[n++] = cert;
        settings[n++] = key;
    }
    settings[n] = NULL;
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

void sb_env_close(struct sb_env *env)
{
    sb_broker_stop(&env->broker);
    if (env->dir[0])
        sb_tmpdir_free(env->dir);
    env->dir[0] = 0;
}

sl_conf *sb_env_conf(const struct sb_env *env, const struct sb_opts *o, char *why, size_t why_len)
{
    sl_conf *conf = sl_conf_new();
    char err[256], linger[32];
    if (!conf) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    snprintf(linger, sizeof(linger), "%lld", o->linger_ms);
    if (sl_conf_set(conf, "bootstrap.servers", env->bootstrap, err, sizeof(err)) ||
        sl_conf_set(conf, "client.id", "splicelog-bench", err, sizeof(err)) ||
        sl_conf_set(conf, "acks", o->acks, err, sizeof(err)) ||
        sl_conf_set(conf, "linger.ms", linger, err, sizeof(err))) {
        snprintf(why, why_len, "client configuration: %s", err);
        sl_conf_free(conf);
        return NULL;
    }
    if (o->tls && sb_conf_ssl(conf, env->ca, why, why_len)) {
        sl_conf_free(conf);
        return NULL;
    }
    return conf;
}

/* ---- the producer driver ------------------------------------------------------------------ */

struct produce_state {
    struct sb_produce_result *res;
    bool primed;
};

static void on_delivery(sl_producer *p, const sl_delivery *dr, void *opaque)
{
    (void)p;
    struct produce_state *st = opaque;
    if (sb_value_seq(dr->value, dr->value_len) == SB_SEQ_PRIME) {
        st->primed = dr->err == SL_ERR_NO_ERROR;
        return;
    }
    if (dr->err) {
        st->res->failed++;
        return;
    }
    st->res->records++;
    st->res->bytes += (long long)dr->value_len;
    st->res->digest += sb_record_digest(dr->value, dr->value_len);
    if (st->res->ack_latency) {
        uint64_t sent = (uint64_t)(uintptr_t)dr->msg_opaque, now = sb_now_ns();
        sb_hist_add(st->res->ack_latency, now > sent ? now - sent : 0);
    }
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};
    nanosleep(&ts, NULL);
}

int sb_produce_run(const struct sb_env *env, const struct sb_opts *o, struct sb_produce_result *res,
                   void (*ready)(void *), void *arg, char *why, size_t why_len)
{
    struct sb_hist *hist = res->ack_latency;
    memset(res, 0, sizeof(*res));
    res->ack_latency = hist;
    struct produce_state st = {res, false};
    sl_conf *conf = sb_env_conf(env, o, why, why_len);
    if (!conf)
        return -EINVAL;
    sl_conf_set_delivery_cb(conf, on_delivery);
    sl_conf_set_opaque(conf, &st);
    char err[256] = "";
    sl_producer *p = sl_producer_new(conf, err, sizeof(err));
    if (!p) {
        snprintf(why, why_len, "producer: %s", err);
        return -EINVAL;
    }
    size_t vlen = (size_t)o->record_size;
    uint8_t *value = malloc(vlen);
    int rc = 0;
    if (!value) {
        snprintf(why, why_len, "out of memory");
        rc = -ENOMEM;
        goto out;
    }

    /* Priming record: creates the topic, fetches metadata, opens the connection. */
    sb_value_fill(value, vlen, SB_SEQ_PRIME, sb_wall_ns());
    sl_err e = sl_produce(p, o->topic, SL_PARTITION_ANY, NULL, 0, value, vlen, NULL, 0, 0, NULL);
    if (!e)
        e = sl_flush(p, 30000);
    if (e || !st.primed) {
        snprintf(why, why_len, "first record to %s: %s", env->bootstrap,
                 e ? sl_err2str(e) : "not delivered");
        rc = -EIO;
        goto out;
    }
    if (ready)
        ready(arg);

    uint64_t t0 = sb_now_ns();
    uint64_t end = o->duration_ms ? t0 + (uint64_t)o->duration_ms * 1000000ULL : 0;
    uint64_t total = o->count ? (uint64_t)o->count : UINT64_MAX;
    double gap_ns = o->rate > 0 ? 1e9 / (double)o->rate : 0;
    for (uint64_t seq = 0; seq < total; seq++) {
        uint64_t now = sb_now_ns();
        if (gap_ns > 0) { /* fixed rate: record seq is due at t0 + seq * gap */
            uint64_t due = t0 + (uint64_t)((double)seq * gap_ns);
            /* Ahead of schedule: drive I/O once, then sleep (not spin: on a small machine a
             * spinning producer takes the CPU the broker and the consumer need). */
            if (now < due) {
                sl_poll(p, 0);
                now = sb_now_ns();
                if (now < due) {
                    sleep_ns(due - now);
                    now = sb_now_ns();
                }
            }
        }
        if (end && now >= end)
            break;
        uint64_t wall = sb_wall_ns();
        sb_value_fill(value, vlen, seq, wall);
        for (;;) {
            e = sl_produce(p, o->topic, SL_PARTITION_ANY, NULL, 0, value, vlen, NULL, 0,
                           (int64_t)(wall / 1000000ULL), (void *)(uintptr_t)sb_now_ns());
            if (e != SL_ERR__QUEUE_FULL)
                break;
            sl_poll(p, 10);
        }
        if (e) {
            snprintf(why, why_len, "produce: %s", sl_err2str(e));
            rc = -EIO;
            break;
        }
        sl_poll(p, 0);
        if (o->progress && (seq & 0xffff) == 0)
            sb_progress(o, "produce: %llu records", (unsigned long long)seq);
    }
    e = sl_flush(p, 120000);
    res->seconds = (double)(sb_now_ns() - t0) / 1e9;
    sb_progress_end(o);
    if (!rc && e) {
        snprintf(why, why_len, "flush: %s", sl_err2str(e));
        rc = -ETIMEDOUT;
    }
    if (!rc && res->failed) {
        snprintf(why, why_len, "%lld records failed", res->failed);
        rc = -EIO;
    }
out:
    free(value);
    sl_producer_free(p);
    return rc;
}

int sb_cmd_produce(const struct sb_opts *o)
{
    char why[512] = "";
    struct sb_env env;
    if (sb_env_open(&env, o, why, sizeof(why))) {
        fprintf(stderr, "splicelog-bench produce: %s\n", why);
        return 1;
    }
    static struct sb_hist hist;
    sb_hist_init(&hist);
    struct sb_produce_result res = {.ack_latency = &hist};
    int rc = sb_produce_run(&env, o, &res, NULL, NULL, why, sizeof(why));
    sb_env_close(&env);
    printf("produce: %lld records of %lld bytes to %s (acks=%s, linger.ms=%lld%s) in %.2f s\n",
           res.records, o->record_size, o->topic, o->acks, o->linger_ms, o->tls ? ", ssl" : "",
           res.seconds);
    if (res.seconds > 0)
        printf("  %.0f records/s, %.1f MB/s (values)\n", (double)res.records / res.seconds,
               (double)res.bytes / res.seconds / 1e6);
    sb_hist_print(stdout, "send->ack latency", &hist);
    if (rc) {
        fprintf(stderr, "splicelog-bench produce: %s\n", why);
        return 1;
    }
    return 0;
}
