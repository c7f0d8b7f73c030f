/*
 * sb_consume — the libsplicelog consumer driver (used by consume, e2e and compare) and the
 * `consume` subcommand. Every record's value is hashed (XXH3, ~0.1 CPU s/GiB), so that the
 * bench proves what arrived is what was produced; that work is part of the client CPU figure,
 * as reading its data is part of any real consumer's work.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb.h"

sl_consumer *sb_consumer_open(const struct sb_env *env, const struct sb_opts *o, char *why,
                              size_t why_len)
{
    sl_conf *conf = sb_env_conf(env, o, why, why_len);
    if (!conf)
        return NULL;
    char err[256] = "";
    if (sl_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof(err)) ||
        sl_conf_set(conf, "fetch.wait.max.ms", "100", err, sizeof(err))) {
        snprintf(why, why_len, "consumer configuration: %s", err);
        sl_conf_free(conf);
        return NULL;
    }
    sl_consumer *c = sl_consumer_new(conf, err, sizeof(err));
    if (!c) {
        snprintf(why, why_len, "consumer: %s", err);
        return NULL;
    }
    for (long long i = 0; i < o->partitions; i++) {
        sl_err e = sl_consumer_assign(c, o->topic, (int32_t)i, SL_OFFSET_BEGINNING);
        if (e) {
            snprintf(why, why_len, "assign %s[%lld]: %s", o->topic, i, sl_err2str(e));
            sl_consumer_free(c);
            return NULL;
        }
    }
    return c;
}

int sb_consume_run(sl_consumer *c, long long expect, int idle_ms, struct sb_consume_result *res,
                   char *why, size_t why_len)
{
    struct sb_hist *hist = res->e2e_latency;
    memset(res, 0, sizeof(*res));
    res->e2e_latency = hist;
    sl_stats s0, s1;
    sl_consumer_stats(c, &s0);
    uint64_t t0 = sb_now_ns(), last = t0;
    int rc = 0;
    while (expect <= 0 || res->records < expect) {
        sl_record rec = {0};
        sl_err e = sl_consumer_poll(c, 100, &rec);
        uint64_t now = sb_now_ns();
        if (e == SL_ERR__TIMED_OUT) {
            if (now - last >= (uint64_t)idle_ms * 1000000ULL) {
                if (expect > 0) {
                    snprintf(why, why_len, "no record for %d ms after %lld of %lld", idle_ms,
                             res->records, expect);
                    rc = -ETIMEDOUT;
                }
                break;
            }
            continue;
        }
        if (e) {
            snprintf(why, why_len, "consume %s[%d]: %s", rec.topic ? rec.topic : "?",
                     (int)rec.partition, sl_err2str(e));
            rc = -EIO;
            break;
        }
        last = now;
        if (sb_value_seq(rec.value, rec.value_len) == SB_SEQ_PRIME)
            continue;
        if (hist) {
            uint64_t sent = sb_value_send_ns(rec.value, rec.value_len), wall = sb_wall_ns();
            sb_hist_add(hist, wall > sent ? wall - sent : 0);
        }
        res->records++;
        res->value_bytes += (long long)rec.value_len;
        res->digest += sb_record_digest(rec.value, rec.value_len);
    }
    sl_consumer_stats(c, &s1);
    res->wire_bytes = (long long)(s1.bytes_received - s0.bytes_received);
    res->seconds = (double)(last - t0) / 1e9;
    return rc;
}

int sb_cmd_consume(const struct sb_opts *o)
{
    char why[512] = "";
    struct sb_env env;
    if (sb_env_open(&env, o, why, sizeof(why))) {
        fprintf(stderr, "splicelog-bench consume: %s\n", why);
        return 1;
    }
    int rc = 0;
    long long expect = o->bootstrap ? o->count : 0;
    if (!o->bootstrap) {
        /* Our own broker is empty: fill it first (count or duration), then read it back. */
        struct sb_produce_result pr = {0};
        if (sb_produce_run(&env, o, &pr, NULL, NULL, why, sizeof(why))) {
            fprintf(stderr, "splicelog-bench consume: preload: %s\n", why);
            sb_env_close(&env);
            return 1;
        }
        expect = pr.records;
        fprintf(stderr, "preloaded %lld records (%.1f MB)\n", pr.records, (double)pr.bytes / 1e6);
    }
    sl_consumer *c = sb_consumer_open(&env, o, why, sizeof(why));
    if (!c) {
        fprintf(stderr, "splicelog-bench consume: %s\n", why);
        sb_env_close(&env);
        return 1;
    }
    struct sb_consume_result res = {0};
    double c0 = sb_self_cpu_s();
    rc = sb_consume_run(c, expect, expect > 0 ? 10000 : 2000, &res, why, sizeof(why));
    double cpu = sb_self_cpu_s() - c0;
    sl_consumer_free(c);
    sb_env_close(&env);
    printf("consume: %lld records, %.1f MB of values (%.1f MB on the wire) from %s in %.2f s\n",
           res.records, (double)res.value_bytes / 1e6, (double)res.wire_bytes / 1e6, o->topic,
           res.seconds);
    if (res.seconds > 0)
        printf("  %.0f records/s, %.1f MB/s (wire), client CPU %.3f s/GiB\n",
               (double)res.records / res.seconds, (double)res.wire_bytes / res.seconds / 1e6,
               res.wire_bytes ? cpu / ((double)res.wire_bytes / 1073741824.0) : 0.0);
    printf("  digest %016llx\n", (unsigned long long)res.digest);
    if (rc) {
        fprintf(stderr, "splicelog-bench consume: %s\n", why);
        return 1;
    }
    return 0;
}
