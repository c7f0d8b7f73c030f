/*
 * sl_conf.c — the configuration object: Kafka property names, defaults, validation.
 *
 * Properties are described by one table (name, kind, field, bounds); set/get walk it, so a
 * property exists in exactly one place. A failed set leaves the conf unchanged.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <strings.h>

#include "sl_int.h"
#include "sl_sasl.h"

enum kind { K_INT, K_BOOL, K_STR, K_ACKS, K_ENUM, K_AUTOCREATE, K_STRATEGY };

/* Named values of an enumerated property; the first name of a value is the one get returns. */
struct named {
    const char *name;
    int value;
};

struct prop {
    const char *name;
    enum kind kind;
    size_t off;
    long min;
    long max;
    const struct named *values; /* K_ENUM: NULL-terminated */
};

#define F(field) offsetof(struct sl_conf, field)

static const struct named codecs[] = {{"none", 0}, {"gzip", 1}, {"snappy", 2},
                                      {"lz4", 3},  {"zstd", 4}, {NULL, 0}};
static const struct named protocols[] = {{"plaintext", 0},
                                         {"ssl", SL__SEC_SSL},
                                         {"sasl_plaintext", SL__SEC_SASL},
                                         {"sasl_ssl", SL__SEC_SASL | SL__SEC_SSL},
                                         {NULL, 0}};
static const struct named mechanisms[] = {{"PLAIN", SL__SASL_PLAIN},
                                          {"SCRAM-SHA-256", SL__SASL_SCRAM_SHA_256},
                                          {"SCRAM-SHA-512", SL__SASL_SCRAM_SHA_512},
                                          {NULL, 0}};
static const struct named endpoints[] = {{"https", 1}, {"none", 0}, {NULL, 0}};
static const struct named resets[] = {
    {"latest", SL__RESET_LATEST},      {"earliest", SL__RESET_EARLIEST},
    {"error", SL__RESET_ERROR},        {"smallest", SL__RESET_EARLIEST},
    {"beginning", SL__RESET_EARLIEST}, {"largest", SL__RESET_LATEST},
    {"end", SL__RESET_LATEST},         {NULL, 0}};
static const struct named partitioners[] = {{"murmur2_random", SL__PART_MURMUR2_RANDOM},
                                            {"murmur2", SL__PART_MURMUR2},
                                            {"consistent_random", SL__PART_CONSISTENT_RANDOM},
                                            {"consistent", SL__PART_CONSISTENT},
                                            {"random", SL__PART_RANDOM},
                                            {"fnv1a", SL__PART_FNV1A},
                                            {"fnv1a_random", SL__PART_FNV1A_RANDOM},
                                            {NULL, 0}};

static const struct prop props[] = {
    {"bootstrap.servers", K_STR, F(bootstrap_servers), 0, 0, NULL},
    {"client.id", K_STR, F(client_id), 0, 0, NULL},
    {"acks", K_ACKS, F(acks), 0, 0, NULL},
    {"linger.ms", K_INT, F(linger_ms), 0, 900000, NULL},
    {"batch.size", K_INT, F(batch_size), 1024, 64 * 1024 * 1024, NULL},
    {"max.in.flight.requests.per.connection", K_INT, F(max_in_flight), 1, 64, NULL},
    {"retries", K_INT, F(retries), 0, INT_MAX, NULL},
    {"retry.backoff.ms", K_INT, F(retry_backoff_ms), 1, 300000, NULL},
    {"request.timeout.ms", K_INT, F(request_timeout_ms), 1, 900000, NULL},
    {"delivery.timeout.ms", K_INT, F(delivery_timeout_ms), 1, INT_MAX, NULL},
    {"queue.buffering.max.kbytes", K_INT, F(queue_max_kbytes), 1, INT_MAX, NULL},
    {"queue.buffering.max.messages", K_INT, F(queue_max_messages), 1, INT_MAX, NULL},
    {"message.max.bytes", K_INT, F(message_max_bytes), 1000, 1000000000, NULL},
    {"compression.type", K_ENUM, F(compression_codec), 0, 0, codecs},
    {"compression.level", K_INT, F(compression_level), -1, 22, NULL},
    {"partitioner", K_ENUM, F(partitioner), 0, 0, partitioners},
    {"enable.idempotence", K_BOOL, F(enable_idempotence), 0, 0, NULL},
    {"allow.auto.create.topics", K_AUTOCREATE, F(allow_auto_create), 0, 0, NULL},
    {"statistics.interval.ms", K_INT, F(statistics_interval_ms), 0, 86400000, NULL},
    {"topic.metadata.refresh.interval.ms", K_INT, F(metadata_refresh_ms), -1, 3600000, NULL},
    {"security.protocol", K_ENUM, F(security_protocol), 0, 0, protocols},
    {"sasl.mechanisms", K_ENUM, F(sasl_mechanism), 0, 0, mechanisms},
    {"sasl.username", K_STR, F(sasl_username), 0, 0, NULL},
    {"sasl.password", K_STR, F(sasl_password), 0, 0, NULL},
    {"ssl.ca.location", K_STR, F(ssl_ca_location), 0, 0, NULL},
    {"ssl.certificate.location", K_STR, F(ssl_certificate_location), 0, 0, NULL},
    {"ssl.key.location", K_STR, F(ssl_key_location), 0, 0, NULL},
    {"ssl.key.password", K_STR, F(ssl_key_password), 0, 0, NULL},
    {"ssl.endpoint.identification.algorithm", K_ENUM, F(ssl_endpoint_https), 0, 0, endpoints},
    {"fetch.min.bytes", K_INT, F(fetch_min_bytes), 1, 100000000, NULL},
    {"fetch.wait.max.ms", K_INT, F(fetch_wait_max_ms), 0, 300000, NULL},
    {"fetch.max.bytes", K_INT, F(fetch_max_bytes), 1024, 100000000, NULL},
    {"max.partition.fetch.bytes", K_INT, F(max_partition_fetch_bytes), 1, 100000000, NULL},
    {"check.crcs", K_BOOL, F(check_crcs), 0, 0, NULL},
    {"queued.max.messages.kbytes", K_INT, F(queued_max_kbytes), 1, 2097151, NULL},
    {"auto.offset.reset", K_ENUM, F(auto_offset_reset), 0, 0, resets},
    {"enable.partition.eof", K_BOOL, F(enable_partition_eof), 0, 0, NULL},
    {"group.id", K_STR, F(group_id), 0, 0, NULL},
    {"group.instance.id", K_STR, F(group_instance_id), 0, 0, NULL},
    {"session.timeout.ms", K_INT, F(session_timeout_ms), 1, 3600000, NULL},
    {"heartbeat.interval.ms", K_INT, F(heartbeat_interval_ms), 1, 3600000, NULL},
    {"max.poll.interval.ms", K_INT, F(max_poll_interval_ms), 1, 86400000, NULL},
    {"enable.auto.commit", K_BOOL, F(enable_auto_commit), 0, 0, NULL},
    {"auto.commit.interval.ms", K_INT, F(auto_commit_interval_ms), 0, 86400000, NULL},
    {"partition.assignment.strategy", K_STRATEGY, F(assignors), 0, 0, NULL},
};

/* librdkafka's other names for the same properties. */
static const struct {
    const char *alias;
    const char *name;
} aliases[] = {
    {"metadata.broker.list", "bootstrap.servers"},
    {"sasl.mechanism", "sasl.mechanisms"},
    {"queue.buffering.max.ms", "linger.ms"},
    {"message.timeout.ms", "delivery.timeout.ms"},
    {"socket.timeout.ms", "request.timeout.ms"},
    {"message.send.max.retries", "retries"},
    {"compression.codec", "compression.type"},
    {"request.required.acks", "acks"},
    {"batch.num.messages", NULL}, /* accepted for compatibility, no effect (batch.size bounds) */
};

static const struct prop *find_prop(const char *name)
{
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(aliases[i].alias, name) == 0) {
            name = aliases[i].name;
            break;
        }
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
        if (strcmp(props[i].name, name) == 0)
            return &props[i];
    return NULL;
}

/* True for names accepted but ignored (alias entries without a property). */
static bool ignored_name(const char *name)
{
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (!aliases[i].name && strcmp(aliases[i].alias, name) == 0)
            return true;
    return false;
}

sl_conf *sl_conf_new(void)
{
    sl_conf *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->bootstrap_servers = strdup("127.0.0.1:9092");
    c->client_id = strdup("splicelog");
    c->assignors = strdup("range,roundrobin");
    if (!c->bootstrap_servers || !c->client_id || !c->assignors) {
        sl_conf_free(c);
        return NULL;
    }
    c->acks = -1;
    c->linger_ms = 5;
    c->batch_size = 1048576;
    c->max_in_flight = 5;
    c->retries = INT_MAX;
    c->retry_backoff_ms = 100;
    c->request_timeout_ms = 30000;
    c->delivery_timeout_ms = 120000;
    c->queue_max_kbytes = 1048576;
    c->queue_max_messages = 1000000;
    c->message_max_bytes = 1000000;
    c->compression_codec = 0;
    c->compression_level = -1;
    c->partitioner = SL__PART_MURMUR2_RANDOM;
    c->allow_auto_create = -1;
    c->metadata_refresh_ms = 300000;
    c->security_protocol = 0;
    c->sasl_mechanism = SL__SASL_PLAIN;
    c->ssl_endpoint_https = 1; /* librdkafka 2.x default */
    c->fetch_min_bytes = 1;
    c->fetch_wait_max_ms = 500;
    c->fetch_max_bytes = 52428800;
    c->max_partition_fetch_bytes = 1048576;
    c->check_crcs = 0;
    c->queued_max_kbytes = 65536;
    c->auto_offset_reset = SL__RESET_LATEST;
    c->session_timeout_ms = 45000;
    c->heartbeat_interval_ms = 3000;
    c->max_poll_interval_ms = 300000;
    c->enable_auto_commit = 1;
    c->auto_commit_interval_ms = 5000;
    return c;
}

static char **str_field(sl_conf *c, const struct prop *p) { return (char **)((char *)c + p->off); }
static int *int_field(sl_conf *c, const struct prop *p) { return (int *)((char *)c + p->off); }

sl_conf *sl_conf_dup(const sl_conf *src)
{
    sl_conf *c = malloc(sizeof(*c));
    if (!c)
        return NULL;
    *c = *src;
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        if (props[i].kind != K_STR && props[i].kind != K_STRATEGY)
            continue;
        char **f = str_field(c, &props[i]);
        *f = *f ? strdup(*f) : NULL;
    }
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        if (props[i].kind != K_STR && props[i].kind != K_STRATEGY)
            continue;
        if (*str_field((sl_conf *)src, &props[i]) && !*str_field(c, &props[i])) {
            sl_conf_free(c);
            return NULL;
        }
    }
    return c;
}

void sl_conf_free(sl_conf *c)
{
    if (!c)
        return;
    if (c->sasl_password)
        explicit_bzero(c->sasl_password, strlen(c->sasl_password));
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
        if (props[i].kind == K_STR || props[i].kind == K_STRATEGY)
            free(*str_field(c, &props[i]));
    free(c);
}

void sl__errstr(char *errstr, size_t size, const char *fmt, ...)
{
    if (!errstr || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, size, fmt, ap);
    va_end(ap);
}

static int parse_long(const char *v, long *out)
{
    if (!*v)
        return -EINVAL;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *out = n;
    return 0;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")) {
        *out = 1;
        return 0;
    }
    if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no")) {
        *out = 0;
        return 0;
    }
    return -EINVAL;
}

/* host:port[,host:port]: every entry must have a host and a port in 1..65535. */
static int check_servers(const char *v)
{
    if (!*v)
        return -EINVAL;
    const char *p = v;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *colon = memrchr(p, ':', n);
        if (!colon || colon == p)
            return -EINVAL;
        long port = 0;
        const char *q = colon + 1;
        if (q == p + n)
            return -EINVAL;
        for (; q < p + n; q++) {
            if (*q < '0' || *q > '9')
                return -EINVAL;
            port = port * 10 + (*q - '0');
            if (port > 65535)
                return -EINVAL;
        }
        if (port < 1)
            return -EINVAL;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* partition.assignment.strategy: a comma-separated list of range, roundrobin and
 * cooperative-sticky, not mixing the cooperative protocol with the eager ones (the same rule as
 * librdkafka). The bits of enum sl__assignor, or -1. */
int sl__assignors_parse(const char *v)
{
    int bits = 0;
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (n == 5 && !strncmp(p, "range", n))
            bits |= SL__ASSIGN_RANGE;
        else if (n == 10 && !strncmp(p, "roundrobin", n))
            bits |= SL__ASSIGN_ROUNDROBIN;
        else if (n == 18 && !strncmp(p, "cooperative-sticky", n))
            bits |= SL__ASSIGN_COOPERATIVE_STICKY;
        else if (n)
            return -1;
        p += n;
    }
    if (!bits || ((bits & SL__ASSIGN_COOPERATIVE_STICKY) && bits != SL__ASSIGN_COOPERATIVE_STICKY))
        return -1;
    return bits;
}

static sl_err conf_set(sl_conf *c, const struct prop *p, const char *name, const char *value,
                       char *errstr, size_t errstr_size);

sl_err sl_conf_set(sl_conf *c, const char *name, const char *value, char *errstr,
                   size_t errstr_size)
{
    if (!c || !name || !value) {
        sl__errstr(errstr, errstr_size, "conf, name and value must not be NULL");
        return SL_ERR__INVALID_CONF;
    }
    if (ignored_name(name))
        return SL_ERR_NO_ERROR;
    const struct prop *p = find_prop(name);
    if (!p) {
        sl__errstr(errstr, errstr_size, "No such configuration property: \"%s\"", name);
        return SL_ERR__INVALID_CONF;
    }
    sl_err r = conf_set(c, p, name, value, errstr, errstr_size);
    if (r == SL_ERR_NO_ERROR) {
        if (p->off == F(acks))
            c->explicit_set |= SL__SET_ACKS;
        else if (p->off == F(retries))
            c->explicit_set |= SL__SET_RETRIES;
        else if (p->off == F(max_in_flight))
            c->explicit_set |= SL__SET_MAX_IN_FLIGHT;
    }
    return r;
}

static sl_err conf_set(sl_conf *c, const struct prop *p, const char *name, const char *value,
                       char *errstr, size_t errstr_size)
{
    long n;
    int b;
    switch (p->kind) {
    case K_STRATEGY:
        if (sl__assignors_parse(value) < 0) {
            sl__errstr(errstr, errstr_size,
                       "Invalid value \"%s\" for %s: expected range, roundrobin (or both), or "
                       "cooperative-sticky alone",
                       value, name);
            return SL_ERR__INVALID_CONF;
        }
        __attribute__((fallthrough)); /* stored as the string */
    case K_STR: {
        if (strcmp(p->name, "bootstrap.servers") == 0 && check_servers(value) != 0) {
            sl__errstr(errstr, errstr_size,
                       "Invalid value \"%s\" for bootstrap.servers: expected host:port[,...]",
                       value);
            return SL_ERR__INVALID_CONF;
        }
        char *dup = strdup(value);
        if (!dup) {
            sl__errstr(errstr, errstr_size, "out of memory");
            return SL_ERR__NO_MEMORY;
        }
        char **f = str_field(c, p);
        free(*f);
        *f = dup;
        return SL_ERR_NO_ERROR;
    }
    case K_INT:
        if (parse_long(value, &n) != 0 || n < p->min || n > p->max) {
            sl__errstr(errstr, errstr_size,
                       "Invalid value \"%s\" for %s: expected an integer in %ld..%ld", value, name,
                       p->min, p->max);
            return SL_ERR__INVALID_CONF;
        }
        *int_field(c, p) = (int)n;
        return SL_ERR_NO_ERROR;
    case K_BOOL:
    case K_AUTOCREATE:
        if (parse_bool(value, &b) != 0) {
            sl__errstr(errstr, errstr_size, "Invalid value \"%s\" for %s: expected true or false",
                       value, name);
            return SL_ERR__INVALID_CONF;
        }
        *int_field(c, p) = b;
        return SL_ERR_NO_ERROR;
    case K_ACKS:
        if (!strcasecmp(value, "all"))
            n = -1;
        else if (parse_long(value, &n) != 0 || (n != 0 && n != 1 && n != -1)) {
            sl__errstr(errstr, errstr_size,
                       "Invalid value \"%s\" for acks: expected 0, 1, -1 or all", value);
            return SL_ERR__INVALID_CONF;
        }
        c->acks = (int)n;
        return SL_ERR_NO_ERROR;
    case K_ENUM:
        for (const struct named *v = p->values; v->name; v++)
            if (!strcasecmp(v->name, value)) {
                *int_field(c, p) = v->value;
                return SL_ERR_NO_ERROR;
            }
        {
            char list[160] = "";
            size_t at = 0;
            for (const struct named *v = p->values; v->name && at < sizeof(list); v++)
                at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%s",
                                       v == p->values ? "" : ", ", v->name);
            sl__errstr(errstr, errstr_size, "Invalid value \"%s\" for %s: expected %s", value, name,
                       list);
        }
        return SL_ERR__INVALID_CONF;
    }
    return SL_ERR__INVALID_CONF;
}

sl_err sl_conf_get(const sl_conf *c, const char *name, char *buf, size_t *size)
{
    if (!c || !name || !size)
        return SL_ERR__INVALID_ARG;
    const struct prop *p = find_prop(name);
    if (!p)
        return SL_ERR__INVALID_CONF;
    char tmp[32] = "";
    const char *s = tmp;
    int v = *(const int *)((const char *)c + p->off);
    switch (p->kind) {
    case K_STR:
    case K_STRATEGY:
        s = *(char *const *)((const char *)c + p->off);
        if (!s)
            s = "";
        break;
    case K_INT:
    case K_ACKS:
        snprintf(tmp, sizeof(tmp), "%d", v);
        break;
    case K_BOOL:
        s = v ? "true" : "false";
        break;
    case K_AUTOCREATE:
        s = v < 0 ? "" : v ? "true" : "false";
        break;
    case K_ENUM:
        for (const struct named *e = p->values; e->name; e++)
            if (e->value == v) {
                s = e->name;
                break;
            }
        break;
    }
    size_t need = strlen(s) + 1;
    if (buf && *size > 0) {
        size_t k = need <= *size ? need - 1 : *size - 1;
        memcpy(buf, s, k);
        buf[k] = 0;
    }
    *size = need;
    return SL_ERR_NO_ERROR;
}

void sl_conf_set_delivery_cb(sl_conf *conf, sl_delivery_cb *cb) { conf->dr_cb = cb; }
void sl_conf_set_opaque(sl_conf *conf, void *opaque) { conf->opaque = opaque; }
void sl_conf_set_log_cb(sl_conf *conf, sl_log_cb *cb) { conf->log_cb = cb; }
void sl_conf_set_error_cb(sl_conf *conf, sl_error_cb *cb) { conf->error_cb = cb; }
void sl_conf_set_stats_cb(sl_conf *conf, sl_stats_cb *cb) { conf->stats_cb = cb; }
void sl_conf_set_rebalance_cb(sl_conf *conf, sl_rebalance_cb *cb) { conf->rebalance_cb = cb; }
void sl_conf_set_offset_commit_cb(sl_conf *conf, sl_offset_commit_cb *cb)
{
    conf->offset_commit_cb = cb;
}

int sl__conf_idempotence(sl_conf *c, char *errstr, size_t errstr_size)
{
    if (!c->enable_idempotence)
        return 0;
    /* librdkafka's rules (rd_kafka_conf_finalize): what the application set explicitly must
     * agree with idempotence, what it left alone takes the value idempotence needs. */
    if (c->explicit_set & SL__SET_ACKS) {
        if (c->acks != -1) {
            sl__errstr(errstr, errstr_size,
                       "`acks` must be set to `all` when `enable.idempotence` is true");
            return -EINVAL;
        }
    } else {
        c->acks = -1;
    }
    if (c->explicit_set & SL__SET_MAX_IN_FLIGHT) {
        if (c->max_in_flight > SL__IDEMP_MAX_IN_FLIGHT) {
            sl__errstr(errstr, errstr_size,
                       "`max.in.flight.requests.per.connection` must be set <= %d when "
                       "`enable.idempotence` is true",
                       SL__IDEMP_MAX_IN_FLIGHT);
            return -EINVAL;
        }
    } else if (c->max_in_flight > SL__IDEMP_MAX_IN_FLIGHT) {
        c->max_in_flight = SL__IDEMP_MAX_IN_FLIGHT;
    }
    if (c->explicit_set & SL__SET_RETRIES) {
        if (c->retries < 1) {
            sl__errstr(errstr, errstr_size,
                       "`retries` must be set >= 1 when `enable.idempotence` is true");
            return -EINVAL;
        }
    } else {
        c->retries = INT_MAX;
    }
    return 0;
}

void sl__log(const sl_conf *conf, int level, const char *fac, const char *fmt, ...)
{
    if (!conf->log_cb && level > 4)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (conf->log_cb)
        conf->log_cb(conf->opaque, level, fac, msg);
    else
        fprintf(stderr, "splicelog: %s: %s\n", fac, msg);
}
