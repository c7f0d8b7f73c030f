/*
 * sb_cl_splicelog — libsplicelog behind struct sb_client (see sb.h). The library is
 * application-driven (no threads of its own): the bench's poll calls are its I/O. Partition
 * counts and watermarks, which the library has no call for, come from sb_admin (plaintext).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb.h"
#include "splicelog.h"

struct prod {
    sl_producer *p;
    sb_dr_fn *dr;
    void *arg;
};

static int conf_apply(sl_conf *conf, const struct sb_cfg *cfg, char *why, size_t why_len)
{
    char err[256] = "", linger[32];
    snprintf(linger, sizeof(linger), "%lld", cfg->linger_ms);
    if (sl_conf_set(conf, "bootstrap.servers", cfg->bootstrap, err, sizeof(err)) ||
        sl_conf_set(conf, "client.id", "splicelog-bench", err, sizeof(err)) ||
        sl_conf_set(conf, "acks", cfg->acks, err, sizeof(err)) ||
        sl_conf_set(conf, "linger.ms", linger, err, sizeof(err)))
        goto fail;
    if (cfg->tls &&
        (sl_conf_set(conf, "security.protocol", "ssl", err, sizeof(err)) ||
         (cfg->ca && *cfg->ca && sl_conf_set(conf, "ssl.ca.location", cfg->ca, err, sizeof(err)))))
        goto fail;
    for (size_t i = 0; cfg->props && cfg->props[i]; i++) {
        char name[128];
        const char *eq = strchr(cfg->props[i], '=');
        if (!eq || (size_t)(eq - cfg->props[i]) >= sizeof(name)) {
            snprintf(err, sizeof(err), "'%s' is not name=value", cfg->props[i]);
            goto fail;
        }
        snprintf(name, sizeof(name), "%.*s", (int)(eq - cfg->props[i]), cfg->props[i]);
        if (sl_conf_set(conf, name, eq + 1, err, sizeof(err)))
            goto fail;
    }
    return 0;
fail:
    snprintf(why, why_len, "libsplicelog configuration: %s", err);
    return -EINVAL;
}

static void on_delivery(sl_producer *p, const sl_delivery *d, void *opaque)
{
    (void)p;
    struct prod *w = opaque;
    w->dr(w->arg, d->err == SL_ERR_NO_ERROR, d->value, d->value_len, d->msg_opaque, d->partition,
          d->offset);
}

static void *prod_new(const struct sb_cfg *cfg, sb_dr_fn *dr, void *arg, char *why, size_t why_len)
{
    struct prod *w = calloc(1, sizeof(*w));
    sl_conf *conf = sl_conf_new();
    if (!w || !conf) {
        snprintf(why, why_len, "out of memory");
        goto fail;
    }
    if (conf_apply(conf, cfg, why, why_len))
        goto fail;
    w->dr = dr;
    w->arg = arg;
    sl_conf_set_delivery_cb(conf, on_delivery);
    sl_conf_set_opaque(conf, w);
    char err[256] = "";
    w->p = sl_producer_new(conf, err, sizeof(err)); /* takes conf */
    if (!w->p) {
        snprintf(why, why_len, "producer: %s", err);
        free(w);
        return NULL;
    }
    return w;
fail:
    sl_conf_free(conf);
    free(w);
    return NULL;
}

static int produce(void *p, const char *topic, int32_t partition, const void *key, size_t key_len,
                   const void *value, size_t value_len, int64_t timestamp_ms, void *msg_opaque,
                   char *why, size_t why_len)
{
    struct prod *w = p;
    sl_err e = sl_produce(w->p, topic, partition < 0 ? SL_PARTITION_ANY : partition, key, key_len,
                          value, value_len, NULL, 0, timestamp_ms, msg_opaque);
    if (e == SL_ERR__QUEUE_FULL)
        return -ENOBUFS;
    if (e) {
        snprintf(why, why_len, "produce: %s", sl_err2str(e));
        return -EIO;
    }
    return 0;
}

static void poll_(void *p, int timeout_ms) { sl_poll(((struct prod *)p)->p, timeout_ms); }

static int flush(void *p, int timeout_ms)
{
    return sl_flush(((struct prod *)p)->p, timeout_ms) ? -ETIMEDOUT : 0;
}

static void prod_free(void *p)
{
    struct prod *w = p;
    if (!w)
        return;
    sl_producer_free(w->p);
    free(w);
}

static void *cons_new(const struct sb_cfg *cfg, char *why, size_t why_len)
{
    sl_conf *conf = sl_conf_new();
    char err[256] = "";
    if (!conf) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    if (conf_apply(conf, cfg, why, why_len)) {
        sl_conf_free(conf);
        return NULL;
    }
    if (sl_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof(err)) ||
        sl_conf_set(conf, "fetch.wait.max.ms", "100", err, sizeof(err))) {
        snprintf(why, why_len, "consumer configuration: %s", err);
        sl_conf_free(conf);
        return NULL;
    }
    sl_consumer *c = sl_consumer_new(conf, err, sizeof(err));
    if (!c)
        snprintf(why, why_len, "consumer: %s", err);
    return c;
}

static int assign(void *c, const char *topic, int32_t partition, char *why, size_t why_len)
{
    sl_err e = sl_consumer_assign(c, topic, partition, SL_OFFSET_BEGINNING);
    if (e) {
        snprintf(why, why_len, "assign %s[%d]: %s", topic, (int)partition, sl_err2str(e));
        return -EIO;
    }
    return 0;
}

static int cons_poll(void *c, int timeout_ms, struct sb_rec *rec, char *why, size_t why_len)
{
    sl_record r = {0};
    sl_err e = sl_consumer_poll(c, timeout_ms, &r);
    if (e == SL_ERR__TIMED_OUT)
        return -ETIMEDOUT;
    if (e) {
        snprintf(why, why_len, "consume %s[%d]: %s", r.topic ? r.topic : "?", (int)r.partition,
                 sl_err2str(e));
        return -EIO;
    }
    rec->key = r.key;
    rec->key_len = r.key_len;
    rec->value = r.value;
    rec->value_len = r.value_len;
    rec->partition = r.partition;
    rec->offset = r.offset;
    return 0;
}

static long long wire_bytes(void *c)
{
    sl_stats s;
    sl_consumer_stats(c, &s);
    return (long long)s.bytes_received;
}

static int partitions(void *c, const struct sb_cfg *cfg, const char *topic, char *why,
                      size_t why_len)
{
    (void)c;
    if (cfg->tls) {
        snprintf(why, why_len,
                 "the partition count over TLS needs --client rdkafka "
                 "(or give --partitions)");
        return -ENOTSUP;
    }
    return sb_admin_partitions(cfg->bootstrap, topic, false, why, why_len);
}

static int watermarks(void *c, const struct sb_cfg *cfg, const char *topic, int32_t partition,
                      int64_t *lo, int64_t *hi, char *why, size_t why_len)
{
    (void)c;
    if (cfg->tls) {
        snprintf(why, why_len, "high watermarks over TLS need --client rdkafka (or give --count)");
        return -ENOTSUP;
    }
    return sb_admin_watermarks(cfg->bootstrap, topic, partition, lo, hi, why, why_len);
}

static void cons_free(void *c) { sl_consumer_free(c); }

const struct sb_client sb_client_splicelog = {
    .name = "splicelog",
    .unavailable = NULL,
    .prod_new = prod_new,
    .produce = produce,
    .poll = poll_,
    .flush = flush,
    .prod_free = prod_free,
    .cons_new = cons_new,
    .assign = assign,
    .cons_poll = cons_poll,
    .wire_bytes = wire_bytes,
    .partitions = partitions,
    .watermarks = watermarks,
    .cons_free = cons_free,
};
