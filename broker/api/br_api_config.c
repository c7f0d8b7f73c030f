/*
 * br_api_config — DescribeConfigs, AlterConfigs, IncrementalAlterConfigs: per-topic configs
 * (kept by the store: st_topic_config / st_topic_config_set) and the broker's, as Kafka
 * reports them.
 *
 * Topic configs are Kafka's names for the keys of enum st_topic_key (log compaction's among
 * them: cleanup.policy delete / compact / compact,delete, min.cleanable.dirty.ratio,
 * min.compaction.lag.ms, max.compaction.lag.ms, delete.retention.ms, whose text the store
 * parses, st_clean_conf.c) and compression.type (producer, uncompressed, gzip, snappy, lz4,
 * zstd: produced batches are stored in that codec, br_api_produce.c). Two keys are accepted and
 * ignored, always described at Kafka's default: message.format.version (any version string;
 * Kafka 3.0+ ignores it too, inter.broker.protocol.version being 3.0 or later, and writes every
 * batch in format v2 as we do) and file.delete.delay.ms (a number >= 0: a removed segment's file is
 * unlinked at once, as readers that still hold it keep its data through their open descriptor).
 * Each entry's source is DYNAMIC_TOPIC when the topic sets it, else STATIC_BROKER when the broker's
 * own key differs from Kafka's default, else DEFAULT; synonyms (v1+, when asked) list those levels
 * in that order, as Kafka does. A value of "never" (-1 here) for flush.messages / flush.ms is shown
 * as Kafka's Long.MAX_VALUE and read back from it.
 *
 * Broker configs (resource name: this node's id, or "" for the cluster default): the keys Kafka
 * updates dynamically that splicelog applies live are alterable (br_dynconf.h keeps them,
 * durably, per level): the broker keys of the topic configs above (log.retention.ms,
 * log.segment.bytes, log.cleanup.policy, log.cleaner.min.cleanable.ratio, ...,
 * message.max.bytes, compression.type, min.insync.replicas), which become the store's defaults
 * at once (every topic key without an override follows them, st_store_set_defaults), and a few
 * Kerberos keys (DYN_STORED) that are kept and described but do nothing here (no GSSAPI).
 * They are described with source DYNAMIC_BROKER_CONFIG (this broker's level) or
 * DYNAMIC_DEFAULT_BROKER_CONFIG (""), for the broker and for topics that follow them, with
 * synonyms in Kafka's order. Any other broker key is INVALID_REQUEST ("Cannot update these
 * configs dynamically"), as Kafka answers; a bad value INVALID_CONFIG; APPEND / SUBTRACT on a
 * broker key INVALID_REQUEST; a broker id other than this node's INVALID_REQUEST. Without a
 * dynamic store (x->dyn NULL) broker configs are read-only. BROKER_LOGGER and unknown resource
 * types: INVALID_REQUEST.
 *
 * Alters validate on the loop thread (unknown key or bad value: INVALID_CONFIG; unknown topic:
 * UNKNOWN_TOPIC_OR_PARTITION) and write on the admin thread, where the store makes the change
 * durable and applies it to the running logs (no restart). AlterConfigs replaces the topic's
 * overrides with the request's set, as Kafka's legacy API does; IncrementalAlterConfigs SETs
 * and DELETEs keys one by one; APPEND / SUBTRACT only for the list key cleanup.policy, whose
 * result may not be empty.
 * validate_only checks everything and changes nothing.
 *
 * In a cluster (x->clu) a topic's configs are ZooKeeper's /config/topics/<t> (br_clu.h,
 * docs/cluster.md): DescribeConfigs of a topic reads it on the admin thread and answers from
 * it over this broker's defaults, whether or not this broker holds a replica; an alter checks
 * the values on the loop thread, then on the admin thread reads the set, applies the
 * operations, writes the whole set and a change notification, and answers once both are
 * written (every broker applies it to its logs from the notification). validate_only reads and
 * checks and writes nothing. A topic ZooKeeper does not carry but the store holds
 * (__transaction_state) keeps the single node's path.
 *
 * Authorization, as Kafka's KafkaApis: DESCRIBE_CONFIGS (describe) or ALTER_CONFIGS (alters) on
 * the topic, or on the cluster for a broker (or broker logger) resource; a refused resource is
 * answered TOPIC_AUTHORIZATION_FAILED or CLUSTER_AUTHORIZATION_FAILED and nothing else is done
 * with it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_api.h"
#include "br_clu.h"
#include "br_dynconf.h"
#include "br_log.h"
#include "kp_msg.h"
#include "kp_msg_sec.h"
#include "kp_msg_config.h"

#define NAME_MAX_LEN 249

/* Kafka's authorization of a config resource: op (DESCRIBE_CONFIGS or ALTER_CONFIGS) on the
 * topic, or on the cluster for a broker or broker logger; KP_ERR_NONE, or the refusal's code.
 * Other resource types are left to the handler (INVALID_REQUEST). */
static int16_t config_denied(struct br_req *q, int8_t type, struct kp_str name, int8_t op)
{
    if (type == KP_CONFIG_RESOURCE_TOPIC)
        return br_allowed(q, KP_ACL_RESOURCE_TOPIC, name.ptr, (size_t)(name.len > 0 ? name.len : 0),
                          op)
                   ? KP_ERR_NONE
                   : KP_ERR_TOPIC_AUTHORIZATION_FAILED;
    if (type == KP_CONFIG_RESOURCE_BROKER || type == KP_CONFIG_RESOURCE_BROKER_LOGGER)
        return br_allowed_cluster(q, op) ? KP_ERR_NONE : KP_ERR_CLUSTER_AUTHORIZATION_FAILED;
    return KP_ERR_NONE;
}

/* tk for the keys that are not enum st_topic_key's: */
#define TK_FIXED   (-1) /* only the default is accepted */
#define TK_IGNORED (-2) /* any valid value is accepted, and ignored (file comment) */

/* One topic config as Kafka names and types it; tk = enum st_topic_key, TK_FIXED or
 * TK_IGNORED. */
struct tkey {
    const char *name;
    const char *broker_key;
    int tk;
    int8_t type;
    const char *fixed; /* tk < 0: the value described (TK_FIXED: the one accepted) */
};

static const struct tkey TKEYS[] = {
    {"cleanup.policy", "log.cleanup.policy", ST_TK_CLEANUP_POLICY, KP_CONFIG_TYPE_LIST, NULL},
    {"compression.type", "compression.type", ST_TK_COMPRESSION_TYPE, KP_CONFIG_TYPE_STRING, NULL},
    {"delete.retention.ms", "log.cleaner.delete.retention.ms", ST_TK_DELETE_RETENTION_MS,
     KP_CONFIG_TYPE_LONG, NULL},
    {"file.delete.delay.ms", "log.segment.delete.delay.ms", TK_IGNORED, KP_CONFIG_TYPE_LONG,
     "60000"},
    {"flush.messages", "log.flush.interval.messages", ST_TK_FLUSH_MESSAGES, KP_CONFIG_TYPE_LONG,
     NULL},
    {"flush.ms", "log.flush.interval.ms", ST_TK_FLUSH_MS, KP_CONFIG_TYPE_LONG, NULL},
    {"index.interval.bytes", "log.index.interval.bytes", ST_TK_INDEX_INTERVAL_BYTES,
     KP_CONFIG_TYPE_INT, NULL},
    {"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", ST_TK_MAX_COMPACTION_LAG_MS,
     KP_CONFIG_TYPE_LONG, NULL},
    {"max.message.bytes", "message.max.bytes", ST_TK_MAX_MESSAGE_BYTES, KP_CONFIG_TYPE_INT, NULL},
    {"message.format.version", "log.message.format.version", TK_IGNORED, KP_CONFIG_TYPE_STRING,
     "3.0-IV1"},
    {"message.timestamp.type", "log.message.timestamp.type", ST_TK_TIMESTAMP_TYPE,
     KP_CONFIG_TYPE_STRING, NULL},
    {"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", ST_TK_MIN_CLEANABLE_RATIO,
     KP_CONFIG_TYPE_DOUBLE, NULL},
    {"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", ST_TK_MIN_COMPACTION_LAG_MS,
     KP_CONFIG_TYPE_LONG, NULL},
    {"min.insync.replicas", "min.insync.replicas", ST_TK_MIN_INSYNC_REPLICAS, KP_CONFIG_TYPE_INT,
     NULL},
    {"retention.bytes", "log.retention.bytes", ST_TK_RETENTION_BYTES, KP_CONFIG_TYPE_LONG, NULL},
    {"retention.ms", "log.retention.ms", ST_TK_RETENTION_MS, KP_CONFIG_TYPE_LONG, NULL},
    {"segment.bytes", "log.segment.bytes", ST_TK_SEGMENT_BYTES, KP_CONFIG_TYPE_INT, NULL},
    {"segment.index.bytes", "log.index.size.max.bytes", ST_TK_SEGMENT_INDEX_BYTES,
     KP_CONFIG_TYPE_INT, NULL},
    {"segment.ms", "log.roll.ms", ST_TK_SEGMENT_MS, KP_CONFIG_TYPE_LONG, NULL},
};
enum { NTKEYS = sizeof(TKEYS) / sizeof(TKEYS[0]) };

static const struct tkey *tkey_find(struct kp_str name)
{
    for (int i = 0; i < NTKEYS; i++)
        if (kp_str_eq(name, TKEYS[i].name))
            return &TKEYS[i];
    return NULL;
}

/* Broker keys Kafka updates dynamically that are kept and described but act on nothing here
 * (no GSSAPI): name, Kafka's default, type. */
static const struct {
    const char *name, *kafka_default;
    int8_t type;
} DYN_STORED[] = {
    {"sasl.kerberos.min.time.before.relogin", "60000", KP_CONFIG_TYPE_LONG},
    {"sasl.kerberos.ticket.renew.jitter", "0.05", KP_CONFIG_TYPE_DOUBLE},
    {"sasl.kerberos.ticket.renew.window.factor", "0.8", KP_CONFIG_TYPE_DOUBLE},
};
enum { NDYN_STORED = sizeof(DYN_STORED) / sizeof(DYN_STORED[0]) };

/* The topic config whose broker key is name, or NULL. */
static const struct tkey *tkey_by_broker_key(struct kp_str name)
{
    for (int i = 0; i < NTKEYS; i++)
        if (kp_str_eq(name, TKEYS[i].broker_key))
            return &TKEYS[i];
    return NULL;
}

static int dyn_stored_find(struct kp_str name)
{
    for (int i = 0; i < NDYN_STORED; i++)
        if (kp_str_eq(name, DYN_STORED[i].name))
            return i;
    return -1;
}

/* Where a broker key's value comes from when set dynamically: DYNAMIC_BROKER (this broker's
 * level, which wins), DYNAMIC_DEFAULT_BROKER, or 0; its value into buf. */
static int8_t dyn_source(struct br_ctx *x, const char *key, char *buf, size_t cap)
{
    if (br_dynconf_get(x->dyn, BR_DYN_BROKER, key, buf, cap))
        return KP_CONFIG_SOURCE_DYNAMIC_BROKER;
    if (br_dynconf_get(x->dyn, BR_DYN_DEFAULT, key, buf, cap))
        return KP_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER;
    return 0;
}

static bool is_never(const struct tkey *k)
{
    return k->tk == ST_TK_FLUSH_MESSAGES || k->tk == ST_TK_FLUSH_MS;
}

/* The value of k in c, as Kafka writes it, into buf. */
static const char *tkey_value(const struct tkey *k, const struct st_log_config *c,
                              const struct br_config *bc, char *buf, size_t cap)
{
    if (k->tk < 0)
        return k->fixed;
    if (k->tk > ST_TK_TIMESTAMP_TYPE || k->tk == ST_TK_COMPRESSION_TYPE) { /* the store's text */
        st_topic_key_format(c, (enum st_topic_key)k->tk, buf, cap, false);
        return buf;
    }
    int64_t v = st_topic_key_get(c, (enum st_topic_key)k->tk);
    if (k->tk == ST_TK_TIMESTAMP_TYPE)
        return v ? "LogAppendTime" : "CreateTime";
    if (k->tk == ST_TK_MAX_MESSAGE_BYTES && v < 0)
        v = bc->message_max_bytes; /* not set: the broker's message.max.bytes */
    if (is_never(k) && v < 0)
        v = INT64_MAX;
    snprintf(buf, cap, "%" PRId64, v);
    return buf;
}

/* A Kafka version as message.format.version takes it: 0.10.0, 2.8-IV1, 3.0-IV1, 0.10.2.1. */
static bool is_kafka_version(const char *v)
{
    int parts = 0;
    for (;;) {
        if (*v < '0' || *v > '9')
            return false;
        while (*v >= '0' && *v <= '9')
            v++;
        parts++;
        if (*v != '.')
            break;
        v++;
    }
    if (parts < 2 || parts > 4)
        return false;
    if (*v == '-' && v[1] == 'I' && v[2] == 'V' && v[3] >= '0' && v[3] <= '9') {
        for (v += 3; *v >= '0' && *v <= '9'; v++)
            ;
    }
    return *v == 0;
}

/* Is v a valid value for the TK_IGNORED key k? */
static bool ignored_value_ok(const struct tkey *k, const char *v)
{
    if (k->type == KP_CONFIG_TYPE_STRING)
        return is_kafka_version(v);
    char *end;
    errno = 0;
    long long ll = strtoll(v, &end, 10);
    return !errno && !*end && *v && ll >= 0;
}

int16_t br_topic_config_apply(struct st_log_config *c, uint32_t *overrides, struct kp_str name,
                              struct kp_str value, const char **why)
{
    const struct tkey *k = tkey_find(name);
    if (!k) {
        *why = "unknown topic config name";
        return KP_ERR_INVALID_CONFIG;
    }
    char v[64];
    if (value.len < 0 || (size_t)value.len >= sizeof(v)) {
        *why = "missing or too long a value";
        return KP_ERR_INVALID_CONFIG;
    }
    memcpy(v, value.ptr, (size_t)value.len);
    v[value.len] = 0;
    if (k->tk == TK_IGNORED) {
        if (ignored_value_ok(k, v))
            return KP_ERR_NONE;
        *why = k->type == KP_CONFIG_TYPE_STRING ? "not a Kafka version" : "not a number >= 0";
        return KP_ERR_INVALID_CONFIG;
    }
    if (k->tk < 0) {
        if (strcmp(v, k->fixed) == 0)
            return KP_ERR_NONE;
        *why = "only the default value is supported";
        return KP_ERR_INVALID_CONFIG;
    }
    if (k->tk > ST_TK_TIMESTAMP_TYPE || k->tk == ST_TK_COMPRESSION_TYPE) { /* the store parses */
        if (st_topic_key_parse(c, (enum st_topic_key)k->tk, v) < 0) {
            *why =
                k->tk == ST_TK_CLEANUP_POLICY
                    ? "cleanup.policy must be delete, compact or compact,delete"
                : k->tk == ST_TK_COMPRESSION_TYPE
                    ? "compression.type must be producer, uncompressed, gzip, snappy, lz4 or zstd"
                    : "not a number or out of range";
            return KP_ERR_INVALID_CONFIG;
        }
        *overrides |= 1u << k->tk;
        return KP_ERR_NONE;
    }
    int64_t x;
    if (k->tk == ST_TK_TIMESTAMP_TYPE) {
        if (strcmp(v, "CreateTime") == 0)
            x = 0;
        else if (strcmp(v, "LogAppendTime") == 0)
            x = 1;
        else {
            *why = "message.timestamp.type must be CreateTime or LogAppendTime";
            return KP_ERR_INVALID_CONFIG;
        }
    } else {
        char *end;
        errno = 0;
        long long ll = strtoll(v, &end, 10);
        if (errno || *end || !*v) {
            *why = "not a number";
            return KP_ERR_INVALID_CONFIG;
        }
        x = ll;
        if (is_never(k) && x == INT64_MAX)
            x = -1;
    }
    if (st_topic_key_set(c, (enum st_topic_key)k->tk, x) < 0) {
        *why = "value out of range";
        return KP_ERR_INVALID_CONFIG;
    }
    *overrides |= 1u << k->tk;
    return KP_ERR_NONE;
}

/* ---- dynamic broker configs -------------------------------------------------------------- */

/* A dynamic value of the broker key of topic config k applied to d (the store's defaults). */
static int16_t dyn_apply_one(struct st_log_config *d, const struct tkey *k, const char *value,
                             const char **why)
{
    uint32_t ov = 0;
    return br_topic_config_apply(d, &ov, kp_str_of(k->name), kp_str_of(value), why);
}

struct dyn_fold {
    struct st_log_config *d;
    int level;
};

static void dyn_fold_one(void *arg, enum br_dyn_level level, const char *key, const char *value)
{
    struct dyn_fold *f = arg;
    const struct tkey *k = tkey_by_broker_key(kp_str_of(key));
    const char *why = NULL;
    if ((int)level == f->level && k && k->tk >= 0 && dyn_apply_one(f->d, k, value, &why))
        br_warn("dynamic broker config %s=%s: %s; ignored", key, value, why);
}

int br_config_dyn_apply(struct st_store *store, const struct br_config *cfg, struct br_dynconf *dyn)
{
    struct st_log_config d = cfg->log;
    struct dyn_fold f = {&d, BR_DYN_DEFAULT};
    br_dynconf_foreach(dyn, dyn_fold_one, &f);
    f.level = BR_DYN_BROKER;
    br_dynconf_foreach(dyn, dyn_fold_one, &f);
    return st_store_set_defaults(store, &d);
}

/* A topic's configs from its /config/topics/<t> document over this broker's defaults now (the
 * configuration file's and the dynamic broker configs): *c and its overrides *ov. A key this
 * broker cannot apply is left out, with a warning. */
struct zk_fold {
    const char *topic;
    struct st_log_config *c;
    uint32_t *ov;
};

static int zk_fold_one(void *arg, const char *key, const char *val)
{
    struct zk_fold *f = arg;
    const char *why = NULL;
    if (br_topic_config_apply(f->c, f->ov, kp_str_of(key), kp_str_of(val), &why))
        br_warn_limited("topic %s: config %s=%s in ZooKeeper: %s; left out",
                        br_log_cstr(f->topic).s, key, val, why);
    return 0;
}

static void zk_topic_config(struct br_ctx *x, const char *topic, const char *doc, size_t len,
                            struct st_log_config *c, uint32_t *ov)
{
    st_store_defaults(x->store, c);
    *ov = 0;
    struct zk_fold f = {topic, c, ov};
    if (len > 0 && br_clu_json_config_each(doc, len, zk_fold_one, &f) < 0)
        br_warn_limited("topic %s: its configs in ZooKeeper are not a config document",
                        br_log_cstr(topic).s);
}

/* ---- DescribeConfigs -------------------------------------------------------------------- */

/* Kafka's default for each key, and the broker's value (its configuration file). */
/* Kafka's default for each key, the configuration file's value (static), and the store's
 * defaults now (the file's with the dynamic broker configs over them). */
static void levels(struct br_ctx *x, struct st_log_config *kafka, struct st_log_config *stat,
                   struct st_log_config *eff)
{
    st_log_config_default(kafka);
    kafka->max_message_bytes = 1048588; /* Kafka's message.max.bytes */
    *stat = x->cfg->log;
    stat->max_message_bytes = (int32_t)x->cfg->message_max_bytes;
    st_store_defaults(x->store, eff);
    if (eff->max_message_bytes < 0) /* not set dynamically: the configuration file's */
        eff->max_message_bytes = (int32_t)x->cfg->message_max_bytes;
}

static char *arena_str(struct kp_arena *a, const char *s)
{
    size_t n = strlen(s);
    char *p = kp_arena_alloc(a, n + 1, 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

static bool wanted(const struct kp_describe_configs_resource *res, const char *name)
{
    if (res->n_configuration_keys < 0)
        return true;
    for (int32_t i = 0; i < res->n_configuration_keys; i++)
        if (kp_str_eq(res->configuration_keys[i], name))
            return true;
    return false;
}

/* Entries of one topic whose configs are tc, its overrides ov, into a->, 0 or -ENOSPC. */
static int describe_topic_cfg(struct br_ctx *x, int16_t v, bool synonyms,
                              const struct kp_describe_configs_resource *res,
                              const struct st_log_config *tcp, uint32_t ov, struct kp_arena *a,
                              struct kp_describe_configs_result *out)
{
    struct st_log_config tc = *tcp, kafka, broker, eff;
    levels(x, &kafka, &broker, &eff);
    struct kp_describe_configs_entry *es = kp_arena_alloc(a, NTKEYS, sizeof(*es));
    if (!es)
        return -ENOSPC;
    int32_t ne = 0;
    for (int i = 0; i < NTKEYS; i++) {
        const struct tkey *k = &TKEYS[i];
        if (!wanted(res, k->name))
            continue;
        char b1[32], b2[32], b3[32], dv[256];
        bool set = k->tk >= 0 && (ov & (1u << k->tk));
        int8_t dsrc = dyn_source(x, k->broker_key, dv, sizeof dv);
        const char *val = tkey_value(k, &tc, x->cfg, b1, sizeof b1);
        const char *bval = tkey_value(k, &broker, x->cfg, b2, sizeof b2);
        const char *kval = k->tk == ST_TK_MAX_MESSAGE_BYTES
                               ? "1048588"
                               : tkey_value(k, &kafka, x->cfg, b3, sizeof b3);
        bool static_set = strcmp(bval, kval) != 0;
        struct kp_describe_configs_entry *e = &es[ne++];
        char *vs = arena_str(a, val);
        if (!vs)
            return -ENOSPC;
        *e = (struct kp_describe_configs_entry){
            .name = kp_str_of(k->name),
            .value = kp_str_of(vs),
            .read_only = false,
            .is_default = !set && !dsrc && !static_set,
            .config_source = set          ? KP_CONFIG_SOURCE_DYNAMIC_TOPIC
                             : dsrc       ? dsrc
                             : static_set ? KP_CONFIG_SOURCE_STATIC_BROKER
                                          : KP_CONFIG_SOURCE_DEFAULT,
            .is_sensitive = false,
            .config_type = k->type,
            .documentation = KP_STR_NULL,
        };
        if (!synonyms || v < 1)
            continue;
        struct kp_describe_configs_synonym *ss = kp_arena_alloc(a, 4, sizeof(*ss));
        char *bs = arena_str(a, bval), *ks = arena_str(a, kval), *ds = arena_str(a, dv);
        if (!ss || !bs || !ks || !ds)
            return -ENOSPC;
        int32_t m = 0;
        if (set)
            ss[m++] = (struct kp_describe_configs_synonym){kp_str_of(k->name), kp_str_of(vs),
                                                           KP_CONFIG_SOURCE_DYNAMIC_TOPIC};
        if (dsrc)
            ss[m++] =
                (struct kp_describe_configs_synonym){kp_str_of(k->broker_key), kp_str_of(ds), dsrc};
        if (static_set)
            ss[m++] = (struct kp_describe_configs_synonym){kp_str_of(k->broker_key), kp_str_of(bs),
                                                           KP_CONFIG_SOURCE_STATIC_BROKER};
        ss[m++] = (struct kp_describe_configs_synonym){kp_str_of(k->broker_key), kp_str_of(ks),
                                                       KP_CONFIG_SOURCE_DEFAULT};
        e->n_synonyms = m;
        e->synonyms = ss;
    }
    out->n_configs = ne;
    out->configs = es;
    return 0;
}

static void unknown_topic(struct kp_describe_configs_result *out)
{
    out->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    out->error_message = kp_str_of("unknown topic");
}

/* A topic this broker's store holds (a single node; in a cluster, a topic ZooKeeper does not
 * carry). */
static int describe_topic(struct br_ctx *x, int16_t v, bool synonyms,
                          const struct kp_describe_configs_resource *res, struct kp_arena *a,
                          struct kp_describe_configs_result *out)
{
    struct st_log_config tc;
    uint32_t ov;
    struct kp_str n = res->resource_name;
    if (n.len <= 0 || n.len > NAME_MAX_LEN ||
        st_topic_config(x->store, n.ptr, (size_t)n.len, &tc, &ov) < 0) {
        unknown_topic(out);
        return 0;
    }
    return describe_topic_cfg(x, v, synonyms, res, &tc, ov, a, out);
}

/* ---- topic configs in a cluster ---------------------------------------------------------- */

/* In a cluster a topic's configs are ZooKeeper's (/config/topics/<t>: br_clu.h), read there by
 * every DescribeConfigs and every alter, as Kafka's ZooKeeper mode does, so that every broker
 * answers the same whether it holds a replica or not and an alter builds on the latest set.
 * The reads and writes wait for ZooKeeper: they run on the admin thread. */
#define ZK_DOC_MAX 8192

/* An error of br_clu_topic_config_get / _set as Kafka's code and message. */
static int16_t zk_error(int rc, const char **why)
{
    if (rc == -ENOENT) {
        *why = "unknown topic";
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (rc == -EAGAIN || rc == -ECANCELED) {
        *why = "ZooKeeper is not reachable: retry";
        return KP_ERR_REQUEST_TIMED_OUT;
    }
    *why = "the topic's configs in ZooKeeper cannot be read or written";
    return KP_ERR_UNKNOWN_SERVER_ERROR;
}

/* One topic resource of a DescribeConfigs in a cluster, read by the admin thread. */
struct dc_topic {
    int rc; /* br_clu_topic_config_get's */
    size_t len;
    char name[NAME_MAX_LEN + 1];
    char doc[ZK_DOC_MAX];
};

/* A DescribeConfigs waiting for ZooKeeper; lives in the response's scratch memory. The
 * request's body is kept (a copy) and decoded again when the reads are done: the answer is
 * then built on the loop thread as a single node's is. */
struct dc_job {
    struct br_job job; /* first */
    struct br_req q;   /* the request, its body (rd, frame) the copy */
    int32_t nres;
    int32_t *slot; /* [nres]: the resource's entry of topics, or -1 */
    int32_t ntopics;
    struct dc_topic *topics;
};

static int describe_topic_zk(struct br_ctx *x, int16_t v, bool synonyms,
                             const struct kp_describe_configs_resource *res,
                             const struct dc_topic *t, struct kp_arena *a,
                             struct kp_describe_configs_result *out)
{
    if (t->rc == -ENOENT) /* (not in ZooKeeper: one the store may hold, __transaction_state) */
        return describe_topic(x, v, synonyms, res, a, out);
    if (t->rc < 0) {
        const char *why;
        out->error_code = zk_error(t->rc, &why);
        out->error_message = kp_str_of(why);
        return 0;
    }
    struct st_log_config tc;
    uint32_t ov;
    zk_topic_config(x, t->name, t->doc, t->len, &tc, &ov);
    return describe_topic_cfg(x, v, synonyms, res, &tc, ov, a, out);
}

/* Is name this node ("" = the cluster-wide default, answered the same here)? */
static bool this_broker(struct br_ctx *x, struct kp_str name)
{
    if (name.len == 0)
        return true;
    char want[16];
    snprintf(want, sizeof want, "%d", x->cfg->node_id);
    return kp_str_eq(name, want);
}

static int describe_broker(struct br_ctx *x, const struct kp_describe_configs_resource *res,
                           struct kp_arena *a, struct kp_describe_configs_result *out)
{
    if (!this_broker(x, res->resource_name)) {
        out->error_code = KP_ERR_INVALID_REQUEST;
        out->error_message = kp_str_of("unexpected broker id: this is another broker");
        return 0;
    }
    struct st_log_config kafka, stat, eff;
    levels(x, &kafka, &stat, &eff);
    const struct br_config *c = x->cfg;
    /* the broker keys of the topic configs, then a few of the broker's own */
    struct extra {
        const char *name, *value, *kafka_default;
        int8_t type;
    } more[6];
    char np[16], id[16];
    snprintf(np, sizeof np, "%d", c->num_partitions);
    snprintf(id, sizeof id, "%d", c->node_id);
    int nm = 0;
    more[nm++] = (struct extra){"broker.id", id, "-1", KP_CONFIG_TYPE_INT};
    more[nm++] = (struct extra){"num.partitions", np, "1", KP_CONFIG_TYPE_INT};
    more[nm++] =
        (struct extra){"auto.create.topics.enable", c->auto_create_topics ? "true" : "false",
                       "true", KP_CONFIG_TYPE_BOOLEAN};
    more[nm++] = (struct extra){"delete.topic.enable", c->delete_topic_enable ? "true" : "false",
                                "true", KP_CONFIG_TYPE_BOOLEAN};
    more[nm++] = (struct extra){"log.dirs", c->data_dir, "/tmp/kafka-logs", KP_CONFIG_TYPE_STRING};
    struct kp_describe_configs_entry *es =
        kp_arena_alloc(a, (size_t)NTKEYS + NDYN_STORED + (size_t)nm, sizeof(*es));
    if (!es)
        return -ENOSPC;
    int32_t ne = 0;
    for (int i = 0; i < NTKEYS + NDYN_STORED + nm; i++) {
        char b1[32], b2[32], b3[32], dv[256];
        const char *name, *val, *kval, *sval;
        int8_t type, dsrc = 0;
        bool dynamic = false;
        if (i < NTKEYS) {
            const struct tkey *k = &TKEYS[i];
            name = k->broker_key;
            val = tkey_value(k, &eff, c, b1, sizeof b1);
            sval = tkey_value(k, &stat, c, b3, sizeof b3);
            kval = k->tk == ST_TK_MAX_MESSAGE_BYTES ? "1048588"
                                                    : tkey_value(k, &kafka, c, b2, sizeof b2);
            type = k->type;
            dynamic = x->dyn != NULL;
            dsrc = dyn_source(x, name, dv, sizeof dv);
        } else if (i < NTKEYS + NDYN_STORED) {
            name = DYN_STORED[i - NTKEYS].name;
            kval = sval = DYN_STORED[i - NTKEYS].kafka_default;
            type = DYN_STORED[i - NTKEYS].type;
            dynamic = x->dyn != NULL;
            dsrc = dyn_source(x, name, dv, sizeof dv);
            val = dsrc ? dv : kval;
        } else {
            name = more[i - NTKEYS - NDYN_STORED].name;
            val = more[i - NTKEYS - NDYN_STORED].value;
            sval = val;
            kval = sval = more[i - NTKEYS - NDYN_STORED].kafka_default;
            type = more[i - NTKEYS - NDYN_STORED].type;
        }
        if (!wanted(res, name))
            continue;
        char *vs = arena_str(a, val);
        if (!vs)
            return -ENOSPC;
        bool is_static = strcmp(sval, kval) != 0;
        es[ne++] = (struct kp_describe_configs_entry){
            .name = kp_str_of(name),
            .value = kp_str_of(vs),
            .read_only = !dynamic, /* the others are read at start-up only */
            .is_default = !dsrc && !is_static,
            .config_source = dsrc        ? dsrc
                             : is_static ? KP_CONFIG_SOURCE_STATIC_BROKER
                                         : KP_CONFIG_SOURCE_DEFAULT,
            .config_type = type,
            .documentation = KP_STR_NULL,
        };
    }
    out->n_configs = ne;
    out->configs = es;
    return 0;
}

/* The response to req; dj: a cluster's, with the topics' configs read from ZooKeeper (NULL: a
 * single node's, from the store). */
static int describe_build(struct br_req *q, const struct kp_describe_configs_req *req, size_t cap,
                          const struct dc_job *dj, struct kp_describe_configs_resp *resp)
{
    struct kp_arena a;
    int rc = br_enc_arena(q->x, &a, cap);
    if (rc < 0)
        return rc;
    int32_t n = req->n_resources > 0 ? req->n_resources : 0;
    struct kp_describe_configs_result *rs =
        kp_arena_alloc(&a, (size_t)n ? (size_t)n : 1, sizeof(*rs));
    if (!rs)
        return -ENOSPC;
    for (int32_t i = 0; i < n; i++) {
        const struct kp_describe_configs_resource *res = &req->resources[i];
        struct kp_describe_configs_result *o = &rs[i];
        *o = (struct kp_describe_configs_result){.error_message = KP_STR_NULL,
                                                 .resource_type = res->resource_type,
                                                 .resource_name = res->resource_name};
        int16_t deny =
            config_denied(q, res->resource_type, res->resource_name, KP_ACL_OP_DESCRIBE_CONFIGS);
        if (deny) {
            o->error_code = deny; /* no configs, Kafka's message */
            o->error_message = kp_str_of(deny == KP_ERR_TOPIC_AUTHORIZATION_FAILED
                                             ? "Topic authorization failed."
                                             : "Cluster authorization failed.");
            continue;
        }
        if (res->resource_type == KP_CONFIG_RESOURCE_TOPIC && dj && i < dj->nres &&
            dj->slot[i] >= 0)
            rc = describe_topic_zk(q->x, q->api_version, req->include_synonyms, res,
                                   &dj->topics[dj->slot[i]], &a, o);
        else if (res->resource_type == KP_CONFIG_RESOURCE_TOPIC)
            rc = describe_topic(q->x, q->api_version, req->include_synonyms, res, &a, o);
        else if (res->resource_type == KP_CONFIG_RESOURCE_BROKER)
            rc = describe_broker(q->x, res, &a, o);
        else {
            o->error_code = KP_ERR_INVALID_REQUEST;
            o->error_message = kp_str_of("unsupported resource type");
            rc = 0;
        }
        if (rc < 0)
            return rc;
    }
    *resp = (struct kp_describe_configs_resp){.n_results = n, .results = rs};
    return 0;
}

/* The answer to a decoded DescribeConfigs into r (encoded): 0 or -errno. */
static int describe_answer(struct br_req *q, const struct kp_describe_configs_req *req,
                           const struct dc_job *dj, struct br_resp *r)
{
    struct kp_describe_configs_resp resp;
    size_t cap = 16384 + (size_t)(req->n_resources > 0 ? req->n_resources : 0) * 8192;
    int rc;
    for (int attempt = 0;; attempt++) {
        rc = describe_build(q, req, cap, dj, &resp);
        if (rc != -ENOSPC || attempt == 8)
            break;
        cap *= 2;
    }
    if (rc < 0)
        return rc;
    return BR_ENCODE(r, kp_describe_configs_resp_encode, &resp);
}

static void dc_run(struct br_job *j)
{
    struct dc_job *dj = (struct dc_job *)j;
    for (int32_t i = 0; i < dj->ntopics; i++) {
        struct dc_topic *t = &dj->topics[i];
        t->rc = br_clu_topic_config_get(j->x->clu, t->name, t->doc, sizeof t->doc, &t->len);
    }
}

static void dc_done(struct br_job *j)
{
    struct dc_job *dj = (struct dc_job *)j;
    struct kp_describe_configs_req req;
    int rc = BR_DECODE(&dj->q, kp_describe_configs_req_decode, &req);
    if (rc == 0)
        rc = describe_answer(&dj->q, &req, dj, j->r);
    if (rc < 0) {
        br_fail(j->x, j->r, "cannot answer a DescribeConfigs");
        return;
    }
    br_ready(j->x, j->r);
}

/* In a cluster, a DescribeConfigs naming topics it may see: their configs are read from
 * ZooKeeper on the admin thread (dc_run), the answer built after (dc_done). */
static int describe_cluster(struct br_req *q, struct br_resp *r, const struct kp_rd *rd,
                            const struct kp_describe_configs_req *req, int32_t ntopics)
{
    int32_t n = req->n_resources;
    size_t body = (size_t)(rd->end - rd->p);
    size_t need = br_align8(sizeof(struct dc_job)) + br_align8((size_t)n * sizeof(int32_t)) +
                  (size_t)ntopics * sizeof(struct dc_topic) + body + 8;
    int rc = br_resp_scratch(r, need);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct dc_job *dj = (struct dc_job *)m;
    memset(dj, 0, sizeof(*dj));
    m += br_align8(sizeof(*dj));
    dj->slot = (int32_t *)m;
    m += br_align8((size_t)n * sizeof(int32_t));
    dj->topics = (struct dc_topic *)m;
    m += (size_t)ntopics * sizeof(struct dc_topic);
    memcpy(m, rd->p, body);
    dj->q = *q;
    dj->q.client_id = KP_STR_NULL; /* (in the frame, which is not kept) */
    kp_rd_init(&dj->q.rd, m, body);
    dj->q.rd.trailing_ok = rd->trailing_ok;
    dj->q.frame = m;
    dj->q.frame_len = body;
    dj->nres = n;
    for (int32_t i = 0; i < n; i++) {
        const struct kp_describe_configs_resource *res = &req->resources[i];
        struct kp_str nm = res->resource_name;
        dj->slot[i] = -1;
        /* (a name no topic can have is not looked for: unknown, as on a single node) */
        if (res->resource_type != KP_CONFIG_RESOURCE_TOPIC || nm.len <= 0 ||
            nm.len > NAME_MAX_LEN || !st_topic_name_valid(nm.ptr, (size_t)nm.len) ||
            dj->ntopics == ntopics ||
            config_denied(q, res->resource_type, nm, KP_ACL_OP_DESCRIBE_CONFIGS))
            continue;
        struct dc_topic *t = &dj->topics[dj->ntopics];
        memcpy(t->name, nm.ptr, (size_t)nm.len);
        t->name[nm.len] = 0;
        t->rc = -ENOENT;
        dj->slot[i] = dj->ntopics++;
    }
    dj->job.r = r;
    dj->job.run = dc_run;
    dj->job.done = dc_done;
    rc = br_admin(q->x, &dj->job);
    return rc < 0 ? rc : BR_REPLY;
}

int br_api_describe_configs(struct br_req *q, struct br_resp *r)
{
    struct kp_describe_configs_req req;
    struct kp_rd body = q->rd;
    int rc = BR_DECODE(q, kp_describe_configs_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    int32_t ntopics = 0;
    for (int32_t i = 0; q->x->clu && i < req.n_resources; i++)
        if (req.resources[i].resource_type == KP_CONFIG_RESOURCE_TOPIC)
            ntopics++;
    if (ntopics > 0)
        return describe_cluster(q, r, &body, &req, ntopics);
    rc = describe_answer(q, &req, NULL, r);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- AlterConfigs, IncrementalAlterConfigs ----------------------------------------------- */

/* One operation on a topic's configs, as either request gives it, copied (a cluster's alter
 * applies them on the admin thread, after the handler returned). The legacy AlterConfigs'
 * entries are SETs (its null values are left out). */
struct al_op {
    const struct tkey *k;
    int8_t op;    /* KP_CONFIG_OP_SET, _DELETE, _APPEND, _SUBTRACT */
    int32_t vlen; /* -1: null */
    char val[64]; /* (br_topic_config_apply takes none longer) */
};

/* One resource of an alter, validated; lives in the response's scratch memory. */
struct al_item {
    struct kp_alter_configs_result res; /* name copied after the items */
    bool apply;                         /* a change (or, zk, a check) for the admin thread */
    bool zk;            /* a topic of a cluster: its configs are ZooKeeper's (al_run_zk) */
    bool validate_only; /* zk: checked against ZooKeeper's set, nothing written */
    bool exists_only;   /* zk: refused already (res.error_code), unless the topic is unknown */
    struct al_op *ops;  /* zk: the operations (in the job's scratch) */
    int32_t nops;
    struct st_log_config cfg;
    uint32_t overrides;
    struct al_broker *b; /* a BROKER resource's change (malloc'd), else NULL */
    char name[NAME_MAX_LEN + 1];
};

/* A BROKER resource's validated change: one level's keys, set or (value NULL) removed. */
struct al_broker {
    enum br_dyn_level level;
    bool replace; /* the legacy AlterConfigs: the request's set replaces the level's */
    int n;
    const char *keys[BR_DYN_MAX], *vals[BR_DYN_MAX];
    char kb[BR_DYN_MAX][96], vb[BR_DYN_MAX][256];
};

struct al_job {
    struct br_job job; /* first */
    bool incremental;
    int32_t n;
    struct al_item *items;
    struct kp_alter_configs_result *results;
    struct al_op *ops; /* every resource's operations, each item's from its ops on */
};

/* APPEND (add) or SUBTRACT the policies listed in value to / from the topic's cleanup.policy
 * (the list may not become empty). */
static int16_t policy_op(struct st_log_config *cur, uint32_t *ov, bool add, struct kp_str value,
                         const char **why)
{
    struct st_log_config t = *cur;
    uint32_t tov = 0;
    int16_t err = br_topic_config_apply(&t, &tov, kp_str_of("cleanup.policy"), value, why);
    if (err)
        return err;
    int64_t have = st_topic_key_get(cur, ST_TK_CLEANUP_POLICY);
    int64_t arg = st_topic_key_get(&t, ST_TK_CLEANUP_POLICY);
    int64_t p = add ? have | arg : have & ~arg;
    if (st_topic_key_set(cur, ST_TK_CLEANUP_POLICY, p) < 0) {
        *why = "cleanup.policy cannot be empty: delete, compact or both";
        return KP_ERR_INVALID_CONFIG;
    }
    *ov |= 1u << ST_TK_CLEANUP_POLICY;
    return KP_ERR_NONE;
}

static void al_fail(struct al_item *it, int16_t err, const char *why)
{
    it->res.error_code = err;
    it->res.error_message = kp_str_of(why);
    it->apply = false;
}

/* Copies a topic resource's operations into out (room for nset or nops): KP_ERR_NONE and *n,
 * or an error with why (an unknown key, an operation this API does not have). */
static int16_t al_ops_copy(bool incremental, const struct kp_alter_configs_config *set,
                           int32_t nset, const struct kp_incremental_alter_configs_config *ops,
                           int32_t nops, struct al_op *out, int32_t *n, const char **why)
{
    int32_t cnt = incremental ? nops : nset, m = 0;
    for (int32_t i = 0; i < cnt; i++) {
        struct kp_str name = incremental ? ops[i].name : set[i].name;
        struct kp_str value = incremental ? ops[i].value : set[i].value;
        int8_t op = incremental ? ops[i].config_operation : KP_CONFIG_OP_SET;
        if (!incremental && value.len < 0)
            continue; /* (the legacy set: a null value is no entry) */
        const struct tkey *k = tkey_find(name);
        if (!k) {
            *why = "unknown topic config name";
            return KP_ERR_INVALID_CONFIG;
        }
        if (op != KP_CONFIG_OP_SET && op != KP_CONFIG_OP_DELETE && op != KP_CONFIG_OP_APPEND &&
            op != KP_CONFIG_OP_SUBTRACT) {
            *why = "unknown config operation";
            return KP_ERR_INVALID_REQUEST;
        }
        struct al_op *o = &out[m++];
        o->k = k;
        o->op = op;
        o->vlen = -1;
        if (op != KP_CONFIG_OP_DELETE && value.len >= 0) {
            if ((size_t)value.len >= sizeof o->val) {
                *why = "missing or too long a value";
                return KP_ERR_INVALID_CONFIG;
            }
            memcpy(o->val, value.ptr, (size_t)value.len);
            o->val[value.len] = 0;
            o->vlen = value.len;
        }
    }
    *n = m;
    return KP_ERR_NONE;
}

/* Applies the operations to a topic's configs (cur, *ov): the legacy set replaces the
 * overrides, the incremental operations change them one by one. KP_ERR_NONE, or an error with
 * why (cur and *ov then undefined). */
static int16_t al_ops_apply(struct st_log_config *cur, uint32_t *ov, bool incremental,
                            const struct al_op *ops, int32_t n, const char **why)
{
    if (!incremental)
        *ov = 0; /* the request's set replaces the topic's */
    int16_t err = KP_ERR_NONE;
    for (int32_t i = 0; i < n && !err; i++) {
        const struct al_op *o = &ops[i];
        struct kp_str name = kp_str_of(o->k->name);
        struct kp_str value = o->vlen < 0 ? KP_STR_NULL : (struct kp_str){o->val, o->vlen};
        if (o->op == KP_CONFIG_OP_SET) {
            err = br_topic_config_apply(cur, ov, name, value, why);
        } else if (o->op == KP_CONFIG_OP_DELETE) {
            if (o->k->tk >= 0)
                *ov &= ~(1u << o->k->tk);
        } else if (o->k->type != KP_CONFIG_TYPE_LIST) {
            err = KP_ERR_INVALID_CONFIG;
            *why = "APPEND and SUBTRACT apply to list configs only";
        } else {
            err = policy_op(cur, ov, o->op == KP_CONFIG_OP_APPEND, value, why);
        }
    }
    return err;
}

/* Validates one topic resource into it (the new overrides, or an error); ops: room for its
 * operations. configs: either the legacy set (incremental false) or the incremental
 * operations. In a cluster the topic's configs are ZooKeeper's: the values are checked here,
 * the operations kept for the admin thread, which applies them to ZooKeeper's set. */
static void al_topic(struct br_ctx *x, struct al_item *it, bool incremental,
                     const struct kp_alter_configs_config *set, int32_t nset,
                     const struct kp_incremental_alter_configs_config *ops, int32_t nops,
                     struct al_op *room, bool validate_only)
{
    struct kp_str n = it->res.resource_name;
    struct st_log_config cur;
    uint32_t ov = 0;
    if (n.len <= 0 || n.len > NAME_MAX_LEN || !st_topic_name_valid(n.ptr, (size_t)n.len) ||
        (!x->clu && st_topic_config(x->store, n.ptr, (size_t)n.len, &cur, &ov) < 0)) {
        al_fail(it, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, "unknown topic");
        return;
    }
    const char *why = NULL;
    int32_t m = 0;
    int16_t err = al_ops_copy(incremental, set, nset, ops, nops, room, &m, &why);
    if (!err && x->clu) {
        /* each value on its own (the whole is applied to ZooKeeper's set later) */
        st_store_defaults(x->store, &cur);
        for (int32_t i = 0; i < m && !err; i++) {
            struct st_log_config t = cur;
            uint32_t tov = 0;
            struct al_op o = room[i];
            if (o.op == KP_CONFIG_OP_DELETE)
                continue;
            if (o.k->type == KP_CONFIG_TYPE_LIST)
                o.op = KP_CONFIG_OP_SET; /* (APPEND, SUBTRACT: the value checked alone) */
            err = al_ops_apply(&t, &tov, true, &o, 1, &why);
        }
    } else if (!err) {
        err = al_ops_apply(&cur, &ov, incremental, room, m, &why);
    }
    if (err) {
        al_fail(it, err, why);
        if (!x->clu)
            return;
        /* Kafka looks the topic up first: an unknown topic is UNKNOWN_TOPIC_OR_PARTITION
         * whatever its configs; the admin thread asks ZooKeeper (al_run_zk) */
        it->exists_only = true;
    }
    it->cfg = cur;
    it->overrides = ov;
    memcpy(it->name, n.ptr, (size_t)n.len);
    it->name[n.len] = 0;
    it->res.resource_name = (struct kp_str){it->name, n.len};
    it->zk = x->clu != NULL;
    it->validate_only = validate_only;
    it->ops = room;
    it->nops = m;
    it->apply = it->zk || !validate_only;
}

/* Validates one key of a BROKER resource change into b: KP_ERR_NONE or an error with why. */
static int16_t al_broker_key(struct br_ctx *x, struct al_broker *b, struct kp_str key, bool del,
                             struct kp_str value, const char **why)
{
    const struct tkey *k = tkey_by_broker_key(key);
    int st = k ? -1 : dyn_stored_find(key);
    if (!k && st < 0) {
        *why = "Cannot update these configs dynamically: not a dynamic broker config splicelog "
               "applies";
        return KP_ERR_INVALID_REQUEST;
    }
    if (b->n == BR_DYN_MAX || key.len <= 0 || (size_t)key.len >= sizeof b->kb[0] ||
        (!del && (value.len < 0 || (size_t)value.len >= sizeof b->vb[0]))) {
        *why = "too many keys, or a key or value too long";
        return KP_ERR_INVALID_REQUEST;
    }
    char v[256];
    if (!del) {
        memcpy(v, value.ptr, (size_t)value.len);
        v[value.len] = 0;
        if (k) {
            struct st_log_config t;
            st_store_defaults(x->store, &t);
            int16_t e = dyn_apply_one(&t, k, v, why);
            if (e)
                return e;
        } else {
            char *end;
            errno = 0;
            double d = strtod(v, &end);
            if (errno || *end || !*v || d < 0) {
                *why = "not a number >= 0";
                return KP_ERR_INVALID_CONFIG;
            }
        }
    }
    int i = b->n++;
    memcpy(b->kb[i], key.ptr, (size_t)key.len);
    b->kb[i][key.len] = 0;
    b->keys[i] = b->kb[i];
    b->vals[i] = NULL;
    if (!del) {
        snprintf(b->vb[i], sizeof b->vb[i], "%s", v);
        b->vals[i] = b->vb[i];
    }
    return KP_ERR_NONE;
}

/* Validates one BROKER resource (this node's id: its level; "": the cluster default's). */
static void al_broker(struct br_ctx *x, struct al_item *it, bool incremental,
                      const struct kp_alter_configs_config *set, int32_t nset,
                      const struct kp_incremental_alter_configs_config *ops, int32_t nops)
{
    struct kp_str n = it->res.resource_name;
    if (!this_broker(x, n)) {
        al_fail(it, KP_ERR_INVALID_REQUEST, "unexpected broker id: this is another broker");
        return;
    }
    if (!x->dyn) {
        al_fail(it, KP_ERR_INVALID_REQUEST,
                "broker configs cannot be updated dynamically: they are read at start-up");
        return;
    }
    struct al_broker *b = calloc(1, sizeof(*b));
    if (!b) {
        al_fail(it, KP_ERR_UNKNOWN_SERVER_ERROR, "out of memory");
        return;
    }
    b->level = n.len == 0 ? BR_DYN_DEFAULT : BR_DYN_BROKER;
    b->replace = !incremental;
    const char *why = NULL;
    int16_t err = KP_ERR_NONE;
    int32_t cnt = incremental ? nops : nset;
    for (int32_t i = 0; i < cnt && !err; i++) {
        if (!incremental) {
            err = al_broker_key(x, b, set[i].name, set[i].value.len < 0, set[i].value, &why);
            continue;
        }
        int8_t op = ops[i].config_operation;
        if (op == KP_CONFIG_OP_SET || op == KP_CONFIG_OP_DELETE) {
            err = al_broker_key(x, b, ops[i].name, op == KP_CONFIG_OP_DELETE, ops[i].value, &why);
        } else {
            err = KP_ERR_INVALID_REQUEST;
            why = op == KP_CONFIG_OP_APPEND || op == KP_CONFIG_OP_SUBTRACT
                      ? "APPEND and SUBTRACT are not supported for broker configs"
                      : "unknown config operation";
        }
    }
    if (err) {
        free(b);
        al_fail(it, err, why);
        return;
    }
    it->b = b;
    it->apply = true;
}

static void al_free_brokers(struct al_job *aj)
{
    for (int32_t i = 0; i < aj->n; i++) {
        free(aj->items[i].b);
        aj->items[i].b = NULL;
    }
}

/* The admin thread's part of a BROKER resource change: durable, then in effect. */
static void al_run_broker(struct br_job *j, struct al_item *it)
{
    struct al_broker *b = it->b;
    int rc = br_dynconf_set(j->x->dyn, b->level, b->replace, b->keys, b->vals, b->n);
    if (rc < 0) {
        br_warn("altering dynamic broker configs: %s", strerror(-rc));
        al_fail(it, KP_ERR_KAFKA_STORAGE_ERROR, "the dynamic broker configs cannot be written");
        return;
    }
    rc = br_config_dyn_apply(j->x->store, j->x->cfg, j->x->dyn);
    if (rc < 0)
        br_warn("applying dynamic broker configs: %s", strerror(-rc));
    br_info("dynamic broker configs (%s level) altered: %d key(s)",
            b->level == BR_DYN_BROKER ? "broker" : "cluster default", b->n);
}

/* The store's part of a topic's change (it->cfg, it->overrides): durable and in effect. */
static void al_store_set(struct br_job *j, struct al_item *it)
{
    int rc = st_topic_config_set(j->x->store, it->name, &it->cfg, it->overrides);
    if (rc == 0) {
        br_info("topic %s: configs altered", br_log_cstr(it->name).s);
    } else if (rc == -ENOENT) {
        al_fail(it, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, "unknown topic");
    } else if (rc == -EBUSY) {
        al_fail(it, KP_ERR_REQUEST_TIMED_OUT, "the topic is being changed: retry");
    } else if (rc == -EINVAL) {
        al_fail(it, KP_ERR_INVALID_CONFIG, "value out of range");
    } else {
        br_warn("altering the configs of topic %s: %s", br_log_cstr(it->name).s, strerror(-rc));
        al_fail(it, KP_ERR_KAFKA_STORAGE_ERROR, "the metadata file cannot be written");
    }
}

/* A cluster's topic (br_clu.h): the operations applied to ZooKeeper's set, which is written
 * back whole with a change notification; the answer waits for both. Every broker holding a
 * replica applies it when it sees the notification; this one at once too. A topic ZooKeeper
 * does not carry but the store holds (__transaction_state) is changed here alone. */
static void al_run_zk(struct br_job *j, bool incremental, struct al_item *it)
{
    struct br_ctx *x = j->x;
    char doc[ZK_DOC_MAX];
    size_t len = 0;
    const char *why = NULL;
    int rc = br_clu_topic_config_get(x->clu, it->name, doc, sizeof doc, &len);
    bool local = rc == -ENOENT && st_topic_config(x->store, it->name, strlen(it->name), &it->cfg,
                                                  &it->overrides) == 0;
    if (it->exists_only) { /* refused by its configs, unless the topic is unknown */
        if (rc == -ENOENT && !local)
            al_fail(it, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, "unknown topic");
        return;
    }
    if (rc < 0 && !local) {
        int16_t err = zk_error(rc, &why);
        al_fail(it, err, why);
        return;
    }
    if (!local)
        zk_topic_config(x, it->name, doc, len, &it->cfg, &it->overrides);
    int16_t err = al_ops_apply(&it->cfg, &it->overrides, incremental, it->ops, it->nops, &why);
    if (err) {
        al_fail(it, err, why);
        return;
    }
    if (it->validate_only)
        return;
    if (local) {
        al_store_set(j, it);
        return;
    }
    struct br_clu_kv kv[NTKEYS];
    char vals[NTKEYS][64];
    int n = 0;
    for (int i = 0; i < NTKEYS; i++) {
        const struct tkey *k = &TKEYS[i];
        if (k->tk < 0 || !(it->overrides & (1u << k->tk)))
            continue;
        const char *v = tkey_value(k, &it->cfg, x->cfg, vals[n], sizeof vals[n]);
        kv[n] = (struct br_clu_kv){k->name, v, strlen(k->name), strlen(v)};
        n++;
    }
    int jl = br_clu_json_config_enc(doc, sizeof doc, kv, n);
    rc = jl < 0 ? -EIO : br_clu_topic_config_set(x->clu, it->name, doc);
    if (rc < 0) {
        err = zk_error(rc, &why);
        al_fail(it, err, why);
        return;
    }
    br_info("topic %s: configs altered (%d override(s), in ZooKeeper)", br_log_cstr(it->name).s, n);
    if (st_topic_partitions(x->store, it->name, strlen(it->name)) < 0)
        return; /* (no replica here) */
    rc = st_topic_config_set(x->store, it->name, &it->cfg, it->overrides);
    if (rc < 0 && rc != -ENOENT && rc != -EBUSY) /* (the notification's reading applies it) */
        br_warn("topic %s: the altered configs are not applied here yet: %s",
                br_log_cstr(it->name).s, strerror(-rc));
}

static void al_run(struct br_job *j)
{
    struct al_job *aj = (struct al_job *)j;
    for (int32_t i = 0; i < aj->n; i++) {
        struct al_item *it = &aj->items[i];
        if (!it->apply)
            continue;
        if (it->b)
            al_run_broker(j, it);
        else if (it->zk)
            al_run_zk(j, aj->incremental, it);
        else
            al_store_set(j, it);
    }
}

static int al_encode(struct br_resp *r, struct al_job *aj)
{
    for (int32_t i = 0; i < aj->n; i++)
        aj->results[i] = aj->items[i].res;
    if (aj->incremental) {
        struct kp_incremental_alter_configs_resp resp = {.n_responses = aj->n,
                                                         .responses = aj->results};
        return BR_ENCODE(r, kp_incremental_alter_configs_resp_encode, &resp);
    }
    struct kp_alter_configs_resp resp = {.n_responses = aj->n, .responses = aj->results};
    return BR_ENCODE(r, kp_alter_configs_resp_encode, &resp);
}

static void al_done(struct br_job *j)
{
    struct al_job *aj = (struct al_job *)j;
    al_free_brokers(aj);
    if (al_encode(j->r, aj) < 0) {
        br_fail(j->x, j->r, "cannot encode an AlterConfigs response");
        return;
    }
    br_ready(j->x, j->r);
}

/* The resources of either request, seen the same way. */
struct al_res {
    int8_t type;
    struct kp_str name;
    const struct kp_alter_configs_config *set;
    int32_t nset;
    const struct kp_incremental_alter_configs_config *ops;
    int32_t nops;
};

static int alter(struct br_req *q, struct br_resp *r, bool incremental, const struct al_res *rs,
                 int32_t n, bool validate_only)
{
    n = n > 0 ? n : 0;
    size_t nops = 0;
    for (int32_t i = 0; i < n; i++)
        nops += (size_t)(incremental ? (rs[i].nops > 0 ? rs[i].nops : 0)
                                     : (rs[i].nset > 0 ? rs[i].nset : 0));
    size_t need = br_align8(sizeof(struct al_job)) + br_align8((size_t)n * sizeof(struct al_item)) +
                  br_align8((size_t)n * sizeof(struct kp_alter_configs_result)) +
                  br_align8(nops * sizeof(struct al_op));
    size_t names = 0;
    for (int32_t i = 0; i < n; i++)
        names += (size_t)(rs[i].name.len > 0 ? rs[i].name.len : 0);
    int rc = br_resp_scratch(r, need + names + 8);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct al_job *aj = (struct al_job *)m;
    memset(aj, 0, sizeof(*aj));
    m += br_align8(sizeof(*aj));
    aj->items = (struct al_item *)m;
    m += br_align8((size_t)n * sizeof(struct al_item));
    aj->results = (struct kp_alter_configs_result *)m;
    m += br_align8((size_t)n * sizeof(struct kp_alter_configs_result));
    aj->ops = (struct al_op *)m;
    m += br_align8(nops * sizeof(struct al_op));
    struct al_op *room = aj->ops;
    char *nb = (char *)m;
    aj->n = n;
    aj->incremental = incremental;
    bool any = false;
    for (int32_t i = 0; i < n; i++) {
        struct al_item *it = &aj->items[i];
        memset(it, 0, sizeof(*it));
        int32_t nl = rs[i].name.len > 0 ? rs[i].name.len : 0;
        if (nl)
            memcpy(nb, rs[i].name.ptr, (size_t)nl);
        it->res = (struct kp_alter_configs_result){
            .error_message = KP_STR_NULL, .resource_type = rs[i].type, .resource_name = {nb, nl}};
        nb += nl;
        int16_t deny = config_denied(q, rs[i].type, rs[i].name, KP_ACL_OP_ALTER_CONFIGS);
        if (deny) {
            it->res.error_code = deny; /* (Kafka: no message) */
        } else if (rs[i].type == KP_CONFIG_RESOURCE_TOPIC) {
            al_topic(q->x, it, incremental, rs[i].set, rs[i].nset, rs[i].ops, rs[i].nops, room,
                     validate_only);
            room +=
                incremental ? (rs[i].nops > 0 ? rs[i].nops : 0) : (rs[i].nset > 0 ? rs[i].nset : 0);
        } else if (rs[i].type == KP_CONFIG_RESOURCE_BROKER) {
            al_broker(q->x, it, incremental, rs[i].set, rs[i].nset, rs[i].ops, rs[i].nops);
        } else {
            al_fail(it, KP_ERR_INVALID_REQUEST, "unsupported resource type");
        }
        if (validate_only && !it->zk)
            it->apply = false; /* (a cluster's topic is checked against ZooKeeper's set) */
        any |= it->apply;
    }
    if (!any) {
        al_free_brokers(aj);
        rc = al_encode(r, aj);
        return rc < 0 ? rc : BR_REPLY;
    }
    aj->job.r = r;
    aj->job.run = al_run;
    aj->job.done = al_done;
    rc = br_admin(q->x, &aj->job);
    if (rc < 0)
        al_free_brokers(aj);
    return rc < 0 ? rc : BR_REPLY;
}

int br_api_alter_configs(struct br_req *q, struct br_resp *r)
{
    struct kp_alter_configs_req req;
    int rc = BR_DECODE(q, kp_alter_configs_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    int32_t n = req.n_resources > 0 ? req.n_resources : 0;
    struct al_res *rs = calloc(n ? (size_t)n : 1, sizeof(*rs));
    if (!rs)
        return -ENOMEM;
    for (int32_t i = 0; i < n; i++)
        rs[i] = (struct al_res){req.resources[i].resource_type,
                                req.resources[i].resource_name,
                                req.resources[i].configs,
                                req.resources[i].n_configs,
                                NULL,
                                0};
    rc = alter(q, r, false, rs, n, req.validate_only);
    free(rs);
    return rc;
}

int br_api_incremental_alter_configs(struct br_req *q, struct br_resp *r)
{
    struct kp_incremental_alter_configs_req req;
    int rc = BR_DECODE(q, kp_incremental_alter_configs_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    int32_t n = req.n_resources > 0 ? req.n_resources : 0;
    struct al_res *rs = calloc(n ? (size_t)n : 1, sizeof(*rs));
    if (!rs)
        return -ENOMEM;
    for (int32_t i = 0; i < n; i++)
        rs[i] =
            (struct al_res){req.resources[i].resource_type, req.resources[i].resource_name, NULL, 0,
                            req.resources[i].configs,       req.resources[i].n_configs};
    rc = alter(q, r, true, rs, n, req.validate_only);
    free(rs);
    return rc;
}
