/*
 * sb_cl_rdkafka — librdkafka (Debian's librdkafka-dev) behind struct sb_client (see sb.h), so
 * that the same bench drives any Kafka broker, and splicelogd with another client. Built when
 * pkg-config finds rdkafka (the Makefile picks this file or sb_cl_rdkafka_none.c).
 *
 * librdkafka runs its own threads; delivery reports still reach the bench only from
 * rd_kafka_poll/rd_kafka_flush on the calling thread, like libsplicelog's. Settings: the
 * bench's bootstrap/acks/linger.ms/TLS, partitioner murmur2_random (keyed records land where
 * the Java client and libsplicelog put them), everything else librdkafka's defaults unless
 * given with -X name=value. The consumer has a group.id only because librdkafka's consumer
 * wants one; it never joins the group (explicit assignment) nor commits.
 */
#include <librdkafka/rdkafka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sb.h"

static int set(rd_kafka_conf_t *c, const char *name, const char *value, char *why, size_t why_len)
{
    char err[256];
    if (rd_kafka_conf_set(c, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        snprintf(why, why_len, "librdkafka configuration %s=%s: %s", name, value, err);
        return -EINVAL;
    }
    return 0;
}

static rd_kafka_conf_t *conf_new(const struct sb_cfg *cfg, bool consumer, char *why, size_t why_len)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char linger[32], group[64];
    snprintf(linger, sizeof(linger), "%lld", cfg->linger_ms);
    snprintf(group, sizeof(group), "splicelog-bench-%d", (int)getpid());
    int rc = set(c, "bootstrap.servers", cfg->bootstrap, why, why_len);
    if (!rc)
        rc = set(c, "client.id", "splicelog-bench", why, why_len);
    if (!rc && !consumer) {
        rc = set(c, "acks", cfg->acks, why, why_len);
        if (!rc)
            rc = set(c, "linger.ms", linger, why, why_len);
        if (!rc)
            rc = set(c, "partitioner", "murmur2_random", why, why_len);
    }
    if (!rc && consumer) {
        static const char *const kv[][2] = {
            {"enable.auto.commit", "false"},   {"enable.auto.offset.store", "false"},
            {"auto.offset.reset", "earliest"}, {"fetch.wait.max.ms", "100"},
            {"enable.partition.eof", "false"},
        };
        rc = set(c, "group.id", group, why, why_len);
        for (size_t i = 0; !rc && i < sizeof(kv) / sizeof(kv[0]); i++)
            rc = set(c, kv[i][0], kv[i][1], why, why_len);
    }
    if (!rc && cfg->tls) {
        rc = set(c, "security.protocol", "ssl", why, why_len);
        if (!rc && cfg->ca && *cfg->ca)
            rc = set(c, "ssl.ca.location", cfg->ca, why, why_len);
    }
    for (size_t i = 0; !rc && cfg->props && cfg->props[i]; i++) {
        char name[128];
        const char *eq = strchr(cfg->props[i], '=');
        if (!eq || (size_t)(eq - cfg->props[i]) >= sizeof(name)) {
            snprintf(why, why_len, "'%s' is not name=value", cfg->props[i]);
            rc = -EINVAL;
            break;
        }
        snprintf(name, sizeof(name), "%.*s", (int)(eq - cfg->props[i]), cfg->props[i]);
        rc = set(c, name, eq + 1, why, why_len);
    }
    if (rc) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    return c;
}

/* ---- producer ----------------------------------------------------------------------------- */

struct prod {
    rd_kafka_t *rk;
    sb_dr_fn *dr;
    void *arg;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct prod *w = opaque;
    w->dr(w->arg, m->err == RD_KAFKA_RESP_ERR_NO_ERROR, m->payload, m->len, m->_private,
          m->partition, m->offset);
}

static void *prod_new(const struct sb_cfg *cfg, sb_dr_fn *dr, void *arg, char *why, size_t why_len)
{
    struct prod *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    rd_kafka_conf_t *c = conf_new(cfg, false, why, why_len);
    if (!c) {
        free(w);
        return NULL;
    }
    w->dr = dr;
    w->arg = arg;
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_conf_set_opaque(c, w);
    char err[256];
    w->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!w->rk) { /* the conf is ours again */
        rd_kafka_conf_destroy(c);
        snprintf(why, why_len, "librdkafka producer: %s", err);
        free(w);
        return NULL;
    }
    return w;
}

static int produce(void *p, const char *topic, int32_t partition, const void *key, size_t key_len,
                   const void *value, size_t value_len, int64_t timestamp_ms, void *msg_opaque,
                   char *why, size_t why_len)
{
    struct prod *w = p;
    rd_kafka_resp_err_t e = rd_kafka_producev(
        w->rk, RD_KAFKA_V_TOPIC(topic),
        RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)value, value_len),
        RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_TIMESTAMP(timestamp_ms),
        RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return -ENOBUFS;
    if (e) {
        snprintf(why, why_len, "produce: %s", rd_kafka_err2str(e));
        return -EIO;
    }
    return 0;
}

static void poll_(void *p, int timeout_ms) { rd_kafka_poll(((struct prod *)p)->rk, timeout_ms); }

static int flush(void *p, int timeout_ms)
{
    return rd_kafka_flush(((struct prod *)p)->rk, timeout_ms) ? -ETIMEDOUT : 0;
}

static void prod_free(void *p)
{
    struct prod *w = p;
    if (!w)
        return;
    rd_kafka_destroy(w->rk);
    free(w);
}

/* ---- consumer ----------------------------------------------------------------------------- */

struct cons {
    rd_kafka_t *rk;
    rd_kafka_message_t *held; /* the record handed out last: freed at the next call */
};

static void *cons_new(const struct sb_cfg *cfg, char *why, size_t why_len)
{
    struct cons *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    rd_kafka_conf_t *c = conf_new(cfg, true, why, why_len);
    if (!c) {
        free(w);
        return NULL;
    }
    char err[256];
    w->rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    if (!w->rk) {
        rd_kafka_conf_destroy(c);
        snprintf(why, why_len, "librdkafka consumer: %s", err);
        free(w);
        return NULL;
    }
    rd_kafka_poll_set_consumer(w->rk);
    return w;
}

static int assign(void *c, const char *topic, int32_t partition, char *why, size_t why_len)
{
    struct cons *w = c;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_error_t *e = rd_kafka_incremental_assign(w->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        snprintf(why, why_len, "assign %s[%d]: %s", topic, (int)partition,
                 rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return -EIO;
    }
    return 0;
}

static int cons_poll(void *c, int timeout_ms, struct sb_rec *rec, char *why, size_t why_len)
{
    struct cons *w = c;
    if (w->held) {
        rd_kafka_message_destroy(w->held);
        w->held = NULL;
    }
    rd_kafka_message_t *m = rd_kafka_consumer_poll(w->rk, timeout_ms);
    if (!m)
        return -ETIMEDOUT;
    if (m->err) {
        bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
        if (!eof)
            snprintf(why, why_len, "consume %s[%d]: %s", m->rkt ? rd_kafka_topic_name(m->rkt) : "?",
                     (int)m->partition, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        return eof ? -ETIMEDOUT : -EIO;
    }
    w->held = m;
    rec->key = m->key;
    rec->key_len = m->key_len;
    rec->value = m->payload;
    rec->value_len = m->len;
    rec->partition = m->partition;
    rec->offset = m->offset;
    return 0;
}

static long long wire_bytes(void *c)
{
    (void)c;
    return -1; /* only through librdkafka's statistics JSON: not worth parsing here */
}

static int partitions(void *c, const struct sb_cfg *cfg, const char *topic, char *why,
                      size_t why_len)
{
    (void)cfg;
    struct cons *w = c;
    rd_kafka_topic_t *t = rd_kafka_topic_new(w->rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(w->rk, 0, t, &md, 10000);
    int rc;
    if (e) {
        snprintf(why, why_len, "metadata %s: %s", topic, rd_kafka_err2str(e));
        rc = -EIO;
    } else if (md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(why, why_len, "metadata %s: %s", topic,
                 md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "no such topic");
        rc = -ENOENT;
    } else {
        rc = md->topics[0].partition_cnt;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return rc;
}

static int watermarks(void *c, const struct sb_cfg *cfg, const char *topic, int32_t partition,
                      int64_t *lo, int64_t *hi, char *why, size_t why_len)
{
    (void)cfg;
    struct cons *w = c;
    rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(w->rk, topic, partition, lo, hi, 10000);
    if (e) {
        snprintf(why, why_len, "watermarks %s[%d]: %s", topic, (int)partition, rd_kafka_err2str(e));
        return -EIO;
    }
    return 0;
}

static void cons_free(void *c)
{
    struct cons *w = c;
    if (!w)
        return;
    if (w->held)
        rd_kafka_message_destroy(w->held);
    rd_kafka_consumer_close(w->rk);
    rd_kafka_destroy(w->rk);
    free(w);
}

const struct sb_client sb_client_rdkafka = {
    .name = "rdkafka",
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
