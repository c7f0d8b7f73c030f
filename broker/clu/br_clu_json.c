/*
 * br_clu_json — see br_clu_json.h. The parser walks the top-level object key by key and skips
 * the values it does not want (nested objects and arrays to a bounded depth), so a key's name
 * appearing inside another value is never mistaken for the key.
 */
#include "br_clu_json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kp_msg_sec.h"

#define SKIP_DEPTH_MAX 16

/* ---- encoding ------------------------------------------------------------------------------- */

struct out {
    char *buf;
    size_t cap, len;
    bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->full = true;
    else
        o->len += (size_t)n;
}

/* A JSON string of s (quotes, backslashes and control characters escaped). */
static void put_str(struct out *o, const char *s)
{
    put(o, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (c < 0x20)
            put(o, "\\u%04x", c);
        else
            put(o, "%c", c);
    }
    put(o, "\"");
}

static void put_endpoint(struct out *o, const struct br_clu_endpoint *e)
{
    char ep[BR_CLU_LISTENER_MAX + BR_HOST_MAX + 32];
    bool v6 = strchr(e->host, ':') != NULL;
    snprintf(ep, sizeof ep, "%s://%s%s%s:%d", e->listener, v6 ? "[" : "", e->host, v6 ? "]" : "",
             (int)e->port);
    put_str(o, ep);
}

int br_clu_json_broker(char *buf, size_t cap, const struct br_clu_endpoint *eps, int n,
                       const char *rack, int64_t timestamp_ms)
{
    if (cap == 0)
        return -ENOSPC;
    struct out o = {.buf = buf, .cap = cap};
    const struct br_clu_endpoint *plain = NULL;
    put(&o, "{\"listener_security_protocol_map\":{");
    for (int i = 0; i < n; i++) {
        if (!eps[i].listener[0] || !eps[i].host[0])
            return -EINVAL;
        put(&o, "%s", i ? "," : "");
        put_str(&o, eps[i].listener);
        put(&o, ":");
        put_str(&o, eps[i].protocol[0] ? eps[i].protocol : eps[i].listener);
        if (!plain && strcmp(eps[i].listener, "PLAINTEXT") == 0)
            plain = &eps[i];
    }
    put(&o, "},\"endpoints\":[");
    for (int i = 0; i < n; i++) {
        put(&o, "%s", i ? "," : "");
        put_endpoint(&o, &eps[i]);
    }
    put(&o, "]");
    if (rack && rack[0]) {
        put(&o, ",\"rack\":");
        put_str(&o, rack);
    }
    put(&o, ",\"jmx_port\":-1,\"host\":");
    if (plain)
        put_str(&o, plain->host);
    else
        put(&o, "null");
    put(&o, ",\"timestamp\":\"%lld\",\"port\":%d,\"version\":5}", (long long)timestamp_ms,
        plain ? (int)plain->port : -1);
    return o.full ? -ENOSPC : (int)o.len;
}

int br_clu_json_controller(char *buf, size_t cap, int32_t broker_id, int64_t timestamp_ms)
{
    int n = snprintf(buf, cap, "{\"version\":1,\"brokerid\":%d,\"timestamp\":\"%lld\"}",
                     (int)broker_id, (long long)timestamp_ms);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* ---- parsing -------------------------------------------------------------------------------- */

struct cur {
    const char *p, *end;
};

static void ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool eat(struct cur *c, char ch)
{
    ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A string into out (cap bytes, NUL-terminated; simple escapes decoded, \u00XX only);
 * -EINVAL when malformed or longer than out. out may be NULL: skipped. */
static int str(struct cur *c, char *out, size_t cap)
{
    if (!eat(c, '"'))
        return -EINVAL;
    size_t n = 0;
    while (c->p < c->end && *c->p != '"') {
        char ch = *c->p++;
        if (ch == '\\') {
            if (c->p >= c->end)
                return -EINVAL;
            char e = *c->p++;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                ch = e;
                break;
            case 'n':
                ch = '\n';
                break;
            case 't':
                ch = '\t';
                break;
            case 'u': {
                if (c->end - c->p < 4)
                    return -EINVAL;
                char hex[5] = {c->p[0], c->p[1], c->p[2], c->p[3], 0};
                char *stop;
                unsigned long v = strtoul(hex, &stop, 16);
                if (*stop || v > 0x7f)
                    return -EINVAL; /* (nothing this module reads needs more) */
                ch = (char)v;
                c->p += 4;
                break;
            }
            default:
                return -EINVAL;
            }
        }
        if (out) {
            if (n + 1 >= cap)
                return -EINVAL;
            out[n++] = ch;
        }
    }
    if (c->p >= c->end)
        return -EINVAL;
    c->p++;
    if (out)
        out[n] = 0;
    return 0;
}

static int num(struct cur *c, int64_t *out)
{
    ws(c);
    bool neg = false;
    if (c->p < c->end && *c->p == '-') {
        neg = true;
        c->p++;
    }
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return -EINVAL;
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (v > (INT64_MAX - 9) / 10)
            return -EINVAL;
        v = v * 10 + (*c->p++ - '0');
    }
    /* a fraction or exponent is not an integer */
    if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
        return -EINVAL;
    *out = neg ? -v : v;
    return 0;
}

static int skip(struct cur *c, int depth)
{
    if (depth > SKIP_DEPTH_MAX)
        return -EINVAL;
    ws(c);
    if (c->p >= c->end)
        return -EINVAL;
    char ch = *c->p;
    if (ch == '"')
        return str(c, NULL, 0);
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        c->p++;
        if (eat(c, close))
            return 0;
        do {
            if (ch == '{' && (str(c, NULL, 0) < 0 || !eat(c, ':')))
                return -EINVAL;
            if (skip(c, depth + 1) < 0)
                return -EINVAL;
        } while (eat(c, ','));
        return eat(c, close) ? 0 : -EINVAL;
    }
    /* number, true, false, null */
    const char *start = c->p;
    while (c->p < c->end && (strchr("-+.eE", *c->p) || (*c->p >= '0' && *c->p <= '9') ||
                             (*c->p >= 'a' && *c->p <= 'z')))
        c->p++;
    return c->p > start ? 0 : -EINVAL;
}

/* Positions c at the value of the top-level key; -ENOENT when the object has none. */
static int find(struct cur *c, const char *key)
{
    if (!eat(c, '{'))
        return -EINVAL;
    if (eat(c, '}'))
        return -ENOENT;
    do {
        char k[64];
        const char *at = c->p;
        if (str(c, k, sizeof k) < 0) {
            c->p = at;
            if (str(c, NULL, 0) < 0) /* (a longer key than any wanted: skipped) */
                return -EINVAL;
            k[0] = 0;
        }
        if (!eat(c, ':'))
            return -EINVAL;
        if (strcmp(k, key) == 0)
            return 0;
        if (skip(c, 0) < 0)
            return -EINVAL;
    } while (eat(c, ','));
    return eat(c, '}') ? -ENOENT : -EINVAL;
}

/* After the wanted value: the object's other members and its end, and nothing after it, so a
 * cut or malformed document is refused whatever the key's position. */
static int finish(struct cur *c)
{
    while (eat(c, ',')) {
        if (str(c, NULL, 0) < 0 || !eat(c, ':') || skip(c, 0) < 0)
            return -EINVAL;
    }
    if (!eat(c, '}'))
        return -EINVAL;
    ws(c);
    return c->p == c->end ? 0 : -EINVAL;
}

int br_clu_json_int(const char *json, size_t len, const char *key, int64_t *out)
{
    struct cur c = {json, json + len};
    int64_t v;
    if (find(&c, key) < 0 || num(&c, &v) < 0 || finish(&c) < 0)
        return -EINVAL;
    *out = v;
    return 0;
}

/* "NAME://HOST:PORT" (HOST may be [v6]) into e. */
static int split_endpoint(const char *s, struct br_clu_endpoint *e)
{
    const char *sep = strstr(s, "://");
    if (!sep || sep == s || (size_t)(sep - s) >= sizeof e->listener)
        return -EINVAL;
    memcpy(e->listener, s, (size_t)(sep - s));
    e->listener[sep - s] = 0;
    const char *h = sep + 3;
    const char *colon = strrchr(h, ':');
    if (!colon || colon == h)
        return -EINVAL;
    const char *hs = h, *he = colon;
    if (*hs == '[') {
        if (he - hs < 3 || he[-1] != ']')
            return -EINVAL;
        hs++;
        he--;
    }
    if ((size_t)(he - hs) >= sizeof e->host)
        return -EINVAL;
    memcpy(e->host, hs, (size_t)(he - hs));
    e->host[he - hs] = 0;
    char *stop;
    long port = strtol(colon + 1, &stop, 10);
    if (*stop || stop == colon + 1 || port < 0 || port > 65535)
        return -EINVAL;
    e->port = (int32_t)port;
    e->protocol[0] = 0;
    return 0;
}

int br_clu_json_endpoints(const char *json, size_t len, struct br_clu_endpoint *out, int max)
{
    struct cur c = {json, json + len};
    if (find(&c, "endpoints") < 0 || !eat(&c, '['))
        return -EINVAL;
    int n = 0;
    if (eat(&c, ']'))
        return 0;
    do {
        char s[BR_CLU_LISTENER_MAX + BR_HOST_MAX + 16];
        if (str(&c, s, sizeof s) < 0)
            return -EINVAL;
        if (n < max) {
            if (split_endpoint(s, &out[n]) < 0)
                return -EINVAL;
            n++;
        }
    } while (eat(&c, ','));
    return eat(&c, ']') && finish(&c) == 0 ? n : -EINVAL;
}

/* ---- topics, partition states, the cluster id ------------------------------------------------ */

static void put_ids(struct out *o, const struct br_clu_replicas *r)
{
    put(o, "[");
    for (int32_t i = 0; i < r->n; i++)
        put(o, "%s%d", i ? "," : "", (int)r->id[i]);
    put(o, "]");
}

static int done(struct out *o) { return o->full ? -ENOSPC : (int)o->len; }

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void br_clu_uuid_str(const uint8_t id[16], char out[23])
{
    uint8_t b[18] = {0};
    memcpy(b, id, 16);
    int o = 0;
    for (int i = 0; i < 18 && o < 22; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
        for (int k = 3; k >= 0 && o < 22; k--)
            out[o++] = B64URL[(v >> (6 * k)) & 63];
    }
    out[22] = 0;
}

int br_clu_uuid_parse(const char *s, uint8_t id[16])
{
    if (strlen(s) != 22)
        return -EINVAL;
    uint8_t b[18] = {0};
    uint32_t acc = 0;
    int bits = 0, n = 0;
    for (int i = 0; i < 22; i++) {
        const char *at = strchr(B64URL, s[i]);
        if (!s[i] || !at)
            return -EINVAL;
        acc = (acc << 6) | (uint32_t)(at - B64URL);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            b[n++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (n != 16 || acc != 0) /* (the last character's 4 spare bits are zero) */
        return -EINVAL;
    memcpy(id, b, 16);
    return 0;
}

int br_clu_json_topic_id(const char *json, size_t len, uint8_t id[16])
{
    struct cur c = {json, json + len};
    char s[32];
    int rc = find(&c, "topic_id");
    if (rc < 0)
        return rc;
    if (str(&c, s, sizeof s) < 0 || finish(&c) < 0 || br_clu_uuid_parse(s, id) < 0)
        return -EINVAL;
    return 0;
}

int br_clu_json_topic(char *buf, size_t cap, const struct br_clu_replicas *parts, int32_t n,
                      const uint8_t *id)
{
    struct out o = {buf, cap, 0, cap == 0};
    if (id) {
        char t[23];
        br_clu_uuid_str(id, t);
        put(&o, "{\"version\":3,\"topic_id\":\"%s\",\"partitions\":{", t);
    } else {
        put(&o, "{\"version\":2,\"partitions\":{");
    }
    for (int32_t p = 0; p < n; p++) {
        put(&o, "%s\"%d\":", p ? "," : "", (int)p);
        put_ids(&o, &parts[p]);
    }
    put(&o, "},\"adding_replicas\":{},\"removing_replicas\":{}}");
    return done(&o);
}

/* [id,...] into r (at most BR_CLU_RF_MAX); -EINVAL. */
static int ids(struct cur *c, struct br_clu_replicas *r)
{
    r->n = 0;
    if (!eat(c, '['))
        return -EINVAL;
    if (eat(c, ']'))
        return 0;
    do {
        int64_t v;
        if (num(c, &v) < 0 || v < -1 || v > INT32_MAX || r->n >= BR_CLU_RF_MAX)
            return -EINVAL;
        r->id[r->n++] = (int32_t)v;
    } while (eat(c, ','));
    return eat(c, ']') ? 0 : -EINVAL;
}

int br_clu_json_partitions(const char *json, size_t len, struct br_clu_replicas *out, int32_t max)
{
    struct cur c = {json, json + len};
    if (find(&c, "partitions") < 0 || !eat(&c, '{'))
        return -EINVAL;
    for (int32_t i = 0; i < max; i++)
        out[i].n = 0;
    int32_t n = 0;
    if (!eat(&c, '}')) {
        do {
            char k[16], *stop;
            struct br_clu_replicas r;
            if (str(&c, k, sizeof k) < 0 || !eat(&c, ':') || ids(&c, &r) < 0 || r.n == 0)
                return -EINVAL;
            long p = strtol(k, &stop, 10);
            if (*stop || stop == k || p < 0 || p >= INT32_MAX)
                return -EINVAL;
            if (p < max) {
                if (out[p].n)
                    return -EINVAL; /* twice */
                out[p] = r;
            }
            n++;
        } while (eat(&c, ','));
        if (!eat(&c, '}'))
            return -EINVAL;
    }
    if (finish(&c) < 0)
        return -EINVAL;
    /* n distinct numbers, each below n when they all fit: exactly 0..n-1 */
    for (int32_t p = 0; p < n && p < max; p++)
        if (out[p].n == 0)
            return -EINVAL;
    return n;
}

int br_clu_json_state_enc(char *buf, size_t cap, const struct br_clu_state *st)
{
    struct out o = {buf, cap, 0, cap == 0};
    put(&o, "{\"controller_epoch\":%d,\"leader\":%d,\"version\":1,\"leader_epoch\":%d,\"isr\":",
        (int)st->controller_epoch, (int)st->leader, (int)st->leader_epoch);
    put_ids(&o, &st->isr);
    put(&o, "}");
    return done(&o);
}

int br_clu_json_state(const char *json, size_t len, struct br_clu_state *out)
{
    int64_t leader, le, ce;
    if (br_clu_json_int(json, len, "leader", &leader) < 0 ||
        br_clu_json_int(json, len, "leader_epoch", &le) < 0 ||
        br_clu_json_int(json, len, "controller_epoch", &ce) < 0 || leader < -1 ||
        leader > INT32_MAX || le < 0 || le > INT32_MAX || ce < 0 || ce > INT32_MAX)
        return -EINVAL;
    struct cur c = {json, json + len};
    if (find(&c, "isr") < 0 || ids(&c, &out->isr) < 0 || finish(&c) < 0)
        return -EINVAL;
    out->leader = (int32_t)leader;
    out->leader_epoch = (int32_t)le;
    out->controller_epoch = (int32_t)ce;
    return 0;
}

int br_clu_json_cluster_id_enc(char *buf, size_t cap, const char *id)
{
    struct out o = {buf, cap, 0, cap == 0};
    put(&o, "{\"version\":\"1\",\"id\":");
    put_str(&o, id);
    put(&o, "}");
    return done(&o);
}

int br_clu_json_cluster_id(const char *json, size_t len, char *out, size_t cap)
{
    struct cur c = {json, json + len};
    if (find(&c, "id") < 0 || str(&c, out, cap) < 0 || finish(&c) < 0 || !out[0])
        return -EINVAL;
    return 0;
}

/* ---- topic configs -------------------------------------------------------------------------- */

/* A JSON string of s[0, n) (as put_str). */
static void put_strn(struct out *o, const char *s, size_t n)
{
    put(o, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (c < 0x20)
            put(o, "\\u%04x", c);
        else
            put(o, "%c", c);
    }
    put(o, "\"");
}

int br_clu_json_config_enc(char *buf, size_t cap, const struct br_clu_kv *kv, int n)
{
    struct out o = {buf, cap, 0, cap == 0};
    put(&o, "{\"version\":1,\"config\":{");
    for (int i = 0; i < n; i++) {
        if (i)
            put(&o, ",");
        put_strn(&o, kv[i].key, kv[i].klen);
        put(&o, ":");
        put_strn(&o, kv[i].val, kv[i].vlen);
    }
    put(&o, "}}");
    return done(&o);
}

int br_clu_json_config_each(const char *json, size_t len,
                            int (*fn)(void *ctx, const char *key, const char *val), void *ctx)
{
    struct cur c = {json, json + len};
    if (find(&c, "config") < 0 || !eat(&c, '{'))
        return -EINVAL;
    if (!eat(&c, '}')) {
        do {
            char k[128], v[1024];
            if (str(&c, k, sizeof k) < 0 || !eat(&c, ':') || str(&c, v, sizeof v) < 0)
                return -EINVAL;
            int rc = fn(ctx, k, v);
            if (rc)
                return rc;
        } while (eat(&c, ','));
        if (!eat(&c, '}'))
            return -EINVAL;
    }
    return finish(&c);
}

int br_clu_json_str(const char *json, size_t len, const char *key, char *out, size_t cap)
{
    struct cur c = {json, json + len};
    if (cap == 0 || find(&c, key) < 0 || str(&c, out, cap) < 0 || finish(&c) < 0)
        return -EINVAL;
    return 0;
}

int br_clu_json_change_enc(char *buf, size_t cap, const char *entity_path)
{
    struct out o = {buf, cap, 0, cap == 0};
    put(&o, "{\"version\":2,\"entity_path\":");
    put_strn(&o, entity_path, strlen(entity_path));
    put(&o, "}");
    return done(&o);
}

/* ---- ISR change notifications ------------------------------------------------------------- */

/* One {"topic":..,"partition":..} of the array (keys in any order, others skipped). */
static int isr_entry(struct cur *c, char *topic, int32_t *partition)
{
    bool have_t = false, have_p = false;
    if (!eat(c, '{'))
        return -EINVAL;
    if (!eat(c, '}')) {
        do {
            char k[16];
            const char *at = c->p;
            if (str(c, k, sizeof k) < 0) {
                c->p = at;
                if (str(c, NULL, 0) < 0)
                    return -EINVAL;
                k[0] = 0;
            }
            if (!eat(c, ':'))
                return -EINVAL;
            if (strcmp(k, "topic") == 0) {
                if (have_t || str(c, topic, BR_CLU_TOPIC_MAX) < 0 || !topic[0])
                    return -EINVAL;
                have_t = true;
            } else if (strcmp(k, "partition") == 0) {
                int64_t v;
                if (have_p || num(c, &v) < 0 || v < 0 || v > INT32_MAX)
                    return -EINVAL;
                *partition = (int32_t)v;
                have_p = true;
            } else if (skip(c, 0) < 0) {
                return -EINVAL;
            }
        } while (eat(c, ','));
        if (!eat(c, '}'))
            return -EINVAL;
    }
    return have_t && have_p ? 0 : -EINVAL;
}

/* One pass over the document: fn NULL only checks it. */
static int isr_pass(const char *json, size_t len,
                    int (*fn)(void *ctx, const char *topic, int32_t partition), void *ctx)
{
    struct cur c = {json, json + len};
    if (find(&c, "partitions") < 0 || !eat(&c, '['))
        return -EINVAL;
    if (!eat(&c, ']')) {
        do {
            char topic[BR_CLU_TOPIC_MAX];
            int32_t p = 0;
            if (isr_entry(&c, topic, &p) < 0)
                return -EINVAL;
            int rc = fn ? fn(ctx, topic, p) : 0;
            if (rc)
                return rc;
        } while (eat(&c, ','));
        if (!eat(&c, ']'))
            return -EINVAL;
    }
    return finish(&c);
}

int br_clu_json_isr_change_each(const char *json, size_t len,
                                int (*fn)(void *ctx, const char *topic, int32_t partition),
                                void *ctx)
{
    int64_t version;
    int vrc = br_clu_json_int(json, len, "version", &version);
    if ((vrc == 0 && version != 1) || isr_pass(json, len, NULL, NULL) < 0)
        return -EINVAL;
    return isr_pass(json, len, fn, ctx);
}

/* ---- ACLs ---------------------------------------------------------------------------------- */

#define NAMES(t) (sizeof(t) / sizeof((t)[0]))

static const char *const TYPE_NAMES[] = {
    [KP_ACL_RESOURCE_TOPIC] = "Topic",
    [KP_ACL_RESOURCE_GROUP] = "Group",
    [KP_ACL_RESOURCE_CLUSTER] = "Cluster",
    [KP_ACL_RESOURCE_TRANSACTIONAL_ID] = "TransactionalId",
    [KP_ACL_RESOURCE_DELEGATION_TOKEN] = "DelegationToken",
    [KP_ACL_RESOURCE_USER] = "User",
};
static const char *const TYPE_ENUMS[] = {
    [KP_ACL_RESOURCE_TOPIC] = "TOPIC",
    [KP_ACL_RESOURCE_GROUP] = "GROUP",
    [KP_ACL_RESOURCE_CLUSTER] = "CLUSTER",
    [KP_ACL_RESOURCE_TRANSACTIONAL_ID] = "TRANSACTIONAL_ID",
    [KP_ACL_RESOURCE_DELEGATION_TOKEN] = "DELEGATION_TOKEN",
    [KP_ACL_RESOURCE_USER] = "USER",
};
static const char *const OP_NAMES[] = {
    [KP_ACL_OP_ALL] = "All",
    [KP_ACL_OP_READ] = "Read",
    [KP_ACL_OP_WRITE] = "Write",
    [KP_ACL_OP_CREATE] = "Create",
    [KP_ACL_OP_DELETE] = "Delete",
    [KP_ACL_OP_ALTER] = "Alter",
    [KP_ACL_OP_DESCRIBE] = "Describe",
    [KP_ACL_OP_CLUSTER_ACTION] = "ClusterAction",
    [KP_ACL_OP_DESCRIBE_CONFIGS] = "DescribeConfigs",
    [KP_ACL_OP_ALTER_CONFIGS] = "AlterConfigs",
    [KP_ACL_OP_IDEMPOTENT_WRITE] = "IdempotentWrite",
    [KP_ACL_OP_CREATE_TOKENS] = "CreateTokens",
    [KP_ACL_OP_DESCRIBE_TOKENS] = "DescribeTokens",
};
static const char *const PERM_NAMES[] = {
    [KP_ACL_PERM_DENY] = "Deny",
    [KP_ACL_PERM_ALLOW] = "Allow",
};

static const char *name_at(const char *const *t, size_t n, int code)
{
    return code >= 0 && (size_t)code < n ? t[code] : NULL;
}

static int code_of(const char *const *t, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (t[i] && strcmp(t[i], s) == 0)
            return (int)i;
    return -1;
}

const char *br_clu_acl_type_name(int8_t type)
{
    return name_at(TYPE_NAMES, NAMES(TYPE_NAMES), type);
}
const char *br_clu_acl_op_name(int8_t op) { return name_at(OP_NAMES, NAMES(OP_NAMES), op); }
const char *br_clu_acl_perm_name(int8_t perm)
{
    return name_at(PERM_NAMES, NAMES(PERM_NAMES), perm);
}

int br_clu_acl_type_of(const char *name, int loose)
{
    for (size_t i = 0; i < NAMES(TYPE_NAMES); i++) {
        if (!TYPE_NAMES[i])
            continue;
        if (strcmp(TYPE_NAMES[i], name) == 0 || (loose && (strcasecmp(TYPE_NAMES[i], name) == 0 ||
                                                           strcasecmp(TYPE_ENUMS[i], name) == 0)))
            return (int)i;
    }
    return -1;
}

int br_clu_json_acls_enc(char *buf, size_t cap, const struct br_clu_acl *v, size_t n)
{
    struct out o = {buf, cap, 0, cap == 0};
    put(&o, "{\"version\":1,\"acls\":[");
    for (size_t i = 0; i < n; i++) {
        const char *op = br_clu_acl_op_name(v[i].operation);
        const char *perm = br_clu_acl_perm_name(v[i].permission);
        if (!op || !perm || !v[i].principal || !v[i].host)
            return -EINVAL;
        put(&o, "%s{\"principal\":", i ? "," : "");
        put_str(&o, v[i].principal);
        put(&o, ",\"permissionType\":\"%s\",\"operation\":\"%s\",\"host\":", perm, op);
        put_str(&o, v[i].host);
        put(&o, "}");
    }
    put(&o, "]}");
    return done(&o);
}

/* Whether the string at c (not moved) holds no NUL, raw or as \u0000: the ACL strings become
 * C strings and znode names, where "a\0x" would be the broader "a". */
static bool nul_free(const struct cur *c)
{
    struct cur x = *c;
    ws(&x);
    if (x.p >= x.end || *x.p != '"')
        return true; /* (not a string: the caller's parse says so) */
    for (x.p++; x.p < x.end && *x.p != '"'; x.p++) {
        if (*x.p == 0)
            return false;
        if (*x.p == '\\' && x.end - x.p > 1) {
            x.p++;
            if (*x.p == 'u' && x.end - x.p > 4 && memcmp(x.p + 1, "0000", 4) == 0)
                return false;
        }
    }
    return true;
}

/* An ACL document or notification's top level: each of keys[0, n) at most once (Kafka's
 * Jackson takes the last of duplicates, find() the first: a document read differently by the
 * two is refused) and, when a string, without NUL. 0 or -EINVAL. */
static int acl_top_keys(const char *json, size_t len, const char *const *keys, size_t n)
{
    struct cur c = {json, json + len};
    unsigned seen = 0;
    if (!eat(&c, '{'))
        return -EINVAL;
    if (eat(&c, '}'))
        return 0;
    do {
        char k[64];
        const char *at = c.p;
        if (str(&c, k, sizeof k) < 0) {
            c.p = at;
            if (str(&c, NULL, 0) < 0)
                return -EINVAL;
            k[0] = 0;
        }
        if (!eat(&c, ':'))
            return -EINVAL;
        for (size_t i = 0; i < n && i < 32; i++) {
            if (strcmp(k, keys[i]) != 0)
                continue;
            if (seen & (1u << i) || !nul_free(&c))
                return -EINVAL;
            seen |= 1u << i;
        }
        if (skip(&c, 0) < 0)
            return -EINVAL;
    } while (eat(&c, ','));
    return eat(&c, '}') ? 0 : -EINVAL;
}

/* An object's key into k (cap bytes); a longer one is skipped and k made empty. */
static int obj_key(struct cur *c, char *k, size_t cap)
{
    const char *at = c->p;
    if (str(c, k, cap) < 0) {
        c->p = at;
        if (str(c, NULL, 0) < 0)
            return -EINVAL;
        k[0] = 0;
    }
    return eat(c, ':') ? 0 : -EINVAL;
}

/* One entry of "acls" into e (principal and host decoded into the two buffers). */
static int acl_entry(struct cur *c, char *principal, char *host, struct br_clu_acl *e)
{
    bool hp = false, hh = false, ho = false, hm = false;
    if (!eat(c, '{'))
        return -EINVAL;
    if (!eat(c, '}')) {
        do {
            char k[32], v[32];
            if (obj_key(c, k, sizeof k) < 0)
                return -EINVAL;
            if (strcmp(k, "principal") == 0) {
                if (hp || !nul_free(c) || str(c, principal, BR_CLU_ACL_STR_MAX) < 0)
                    return -EINVAL;
                hp = true;
            } else if (strcmp(k, "host") == 0) {
                if (hh || !nul_free(c) || str(c, host, BR_CLU_ACL_STR_MAX) < 0)
                    return -EINVAL;
                hh = true;
            } else if (strcmp(k, "operation") == 0) {
                int op;
                if (ho || str(c, v, sizeof v) < 0 ||
                    (op = code_of(OP_NAMES, NAMES(OP_NAMES), v)) < 0)
                    return -EINVAL;
                e->operation = (int8_t)op;
                ho = true;
            } else if (strcmp(k, "permissionType") == 0) {
                int pm;
                if (hm || str(c, v, sizeof v) < 0 ||
                    (pm = code_of(PERM_NAMES, NAMES(PERM_NAMES), v)) < 0)
                    return -EINVAL;
                e->permission = (int8_t)pm;
                hm = true;
            } else if (skip(c, 0) < 0) {
                return -EINVAL;
            }
        } while (eat(c, ','));
        if (!eat(c, '}'))
            return -EINVAL;
    }
    e->principal = principal;
    e->host = host;
    return hp && hh && ho && hm ? 0 : -EINVAL;
}

static int acls_pass(const char *json, size_t len, char *principal, char *host,
                     int (*fn)(void *ctx, const struct br_clu_acl *e), void *ctx)
{
    struct cur c = {json, json + len};
    if (find(&c, "acls") < 0 || !eat(&c, '['))
        return -EINVAL;
    if (!eat(&c, ']')) {
        do {
            struct br_clu_acl e = {0};
            if (acl_entry(&c, principal, host, &e) < 0)
                return -EINVAL;
            int rc = fn ? fn(ctx, &e) : 0;
            if (rc)
                return rc;
        } while (eat(&c, ','));
        if (!eat(&c, ']'))
            return -EINVAL;
    }
    return finish(&c);
}

int br_clu_json_acls_each(const char *json, size_t len,
                          int (*fn)(void *ctx, const struct br_clu_acl *e), void *ctx)
{
    if (len == 0)
        return 0; /* (an empty znode: no ACLs, as Kafka's AclEntry.fromBytes) */
    static const char *const keys[] = {"version", "acls"};
    int64_t version;
    if (acl_top_keys(json, len, keys, 2) < 0 ||
        br_clu_json_int(json, len, "version", &version) < 0 || version != 1)
        return -EINVAL;
    char principal[BR_CLU_ACL_STR_MAX], host[BR_CLU_ACL_STR_MAX];
    if (acls_pass(json, len, principal, host, NULL, NULL) < 0)
        return -EINVAL;
    return acls_pass(json, len, principal, host, fn, ctx);
}

int br_clu_acl_change_literal_enc(char *buf, size_t cap, int8_t type, const char *name)
{
    const char *t = name_at(TYPE_ENUMS, NAMES(TYPE_ENUMS), type);
    if (!t || !name[0])
        return -EINVAL;
    int n = snprintf(buf, cap, "%s:%s", t, name);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int br_clu_acl_change_literal(const char *data, size_t len, int8_t *type, char *name, size_t cap)
{
    const char *colon = memchr(data, ':', len);
    char t[32];
    if (!colon || (size_t)(colon - data) >= sizeof t)
        return -EINVAL;
    memcpy(t, data, (size_t)(colon - data));
    t[colon - data] = 0;
    size_t nl = len - (size_t)(colon - data) - 1;
    int code = br_clu_acl_type_of(t, 1);
    if (code < 0 || nl == 0 || nl >= cap || memchr(colon + 1, 0, nl))
        return -EINVAL;
    memcpy(name, colon + 1, nl);
    name[nl] = 0;
    *type = (int8_t)code;
    return 0;
}

int br_clu_json_acl_change_enc(char *buf, size_t cap, int8_t type, int8_t pattern, const char *name)
{
    const char *t = name_at(TYPE_ENUMS, NAMES(TYPE_ENUMS), type);
    if (!t || !name[0] || (pattern != KP_ACL_PATTERN_PREFIXED && pattern != KP_ACL_PATTERN_LITERAL))
        return -EINVAL;
    struct out o = {buf, cap, 0, cap == 0};
    put(&o, "{\"version\":1,\"resourceType\":\"%s\",\"name\":", t);
    put_str(&o, name);
    put(&o, ",\"patternType\":\"%s\"}",
        pattern == KP_ACL_PATTERN_PREFIXED ? "PREFIXED" : "LITERAL");
    return done(&o);
}

int br_clu_json_acl_change(const char *json, size_t len, int8_t *type, int8_t *pattern, char *name,
                           size_t cap)
{
    static const char *const keys[] = {"version", "resourceType", "name", "patternType"};
    int64_t version;
    char t[32], p[32];
    if (acl_top_keys(json, len, keys, 4) < 0 ||
        br_clu_json_int(json, len, "version", &version) < 0 || version < 0 || version > 1 ||
        br_clu_json_str(json, len, "resourceType", t, sizeof t) < 0 ||
        br_clu_json_str(json, len, "patternType", p, sizeof p) < 0 ||
        br_clu_json_str(json, len, "name", name, cap) < 0 || !name[0])
        return -EINVAL;
    int code = br_clu_acl_type_of(t, 1);
    if (code < 0)
        return -EINVAL;
    if (strcasecmp(p, "PREFIXED") == 0)
        *pattern = KP_ACL_PATTERN_PREFIXED;
    else if (strcasecmp(p, "LITERAL") == 0)
        *pattern = KP_ACL_PATTERN_LITERAL;
    else
        return -EINVAL;
    *type = (int8_t)code;
    return 0;
}

/* ---- producer-id blocks --------------------------------------------------------------------- */

int br_clu_json_pid_block_enc(char *buf, size_t cap, const struct br_clu_pid_block *b)
{
    if (b->first < 0 || b->last < b->first)
        return -EINVAL;
    struct out o = {buf, cap, 0, cap == 0};
    put(&o, "{\"version\":1,\"broker\":%d,\"block_start\":\"%lld\",\"block_end\":\"%lld\"}",
        (int)b->broker, (long long)b->first, (long long)b->last);
    return done(&o);
}

/* The string value at c as a non-negative decimal int64 (digits only, no sign, no space). */
static int str_id(struct cur *c, int64_t *out)
{
    char s[24];
    if (str(c, s, sizeof s) < 0 || !s[0])
        return -EINVAL;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - (*p - '0')) / 10)
            return -EINVAL;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return 0;
}

int br_clu_json_pid_block(const char *json, size_t len, struct br_clu_pid_block *out)
{
    int64_t broker, first, last;
    if (br_clu_json_int(json, len, "broker", &broker) < 0 || broker < INT32_MIN ||
        broker > INT32_MAX)
        return -EINVAL;
    struct cur c = {json, json + len};
    if (find(&c, "block_start") < 0 || str_id(&c, &first) < 0 || finish(&c) < 0)
        return -EINVAL;
    c = (struct cur){json, json + len};
    if (find(&c, "block_end") < 0 || str_id(&c, &last) < 0 || finish(&c) < 0)
        return -EINVAL;
    if (last < first)
        return -EINVAL;
    *out = (struct br_clu_pid_block){(int32_t)broker, first, last};
    return 0;
}
