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
#include <strings.h>

#include "sl_int.h"

enum kind {
    K_INT,
    K_BOOL,
    K_STR,
    K_ACKS,
    K_COMPRESSION,
    K_SECURITY,
    K_RESET,
    K_AUTOCREATE,
    K_ENDPOINT
};

struct prop {
    const char *name;
    enum kind kind;
    size_t off;
    long min;
    long max;
};

#define F(field) offsetof(struct sl_conf, field)

static const struct prop props[] = {
    {"bootstrap.servers", K_STR, F(bootstrap_servers), 0, 0},
    {"client.id", K_STR, F(client_id), 0, 0},
    {"acks", K_ACKS, F(acks), 0, 0},
    {"linger.ms", K_INT, F(linger_ms), 0, 900000},
    {"batch.size", K_INT, F(batch_size), 1024, 64 * 1024 * 1024},
    {"max.in.flight.requests.per.connection", K_INT, F(max_in_flight), 1, 64},
    {"retries", K_INT, F(retries), 0, INT_MAX},
    {"retry.backoff.ms", K_INT, F(retry_backoff_ms), 1, 300000},
    {"request.timeout.ms", K_INT, F(request_timeout_ms), 1, 900000},
    {"delivery.timeout.ms", K_INT, F(delivery_timeout_ms), 1, INT_MAX},
    {"queue.buffering.max.kbytes", K_INT, F(queue_max_kbytes), 1, INT_MAX},
    {"queue.buffering.max.messages", K_INT, F(queue_max_messages), 1, INT_MAX},
    {"message.max.bytes", K_INT, F(message_max_bytes), 1000, 1000000000},
    {"compression.type", K_COMPRESSION, F(compression_none), 0, 0},
    {"allow.auto.create.topics", K_AUTOCREATE, F(allow_auto_create), 0, 0},
    {"security.protocol", K_SECURITY, F(security_ssl), 0, 0},
    {"ssl.ca.location", K_STR, F(ssl_ca_location), 0, 0},
    {"ssl.certificate.location", K_STR, F(ssl_certificate_location), 0, 0},
    {"ssl.key.location", K_STR, F(ssl_key_location), 0, 0},
    {"ssl.key.password", K_STR, F(ssl_key_password), 0, 0},
    {"ssl.endpoint.identification.algorithm", K_ENDPOINT, F(ssl_endpoint_https), 0, 0},
    {"fetch.min.bytes", K_INT, F(fetch_min_bytes), 1, 100000000},
    {"fetch.wait.max.ms", K_INT, F(fetch_wait_max_ms), 0, 300000},
    {"fetch.max.bytes", K_INT, F(fetch_max_bytes), 1024, 100000000},
    {"max.partition.fetch.bytes", K_INT, F(max_partition_fetch_bytes), 1, 100000000},
    {"check.crcs", K_BOOL, F(check_crcs), 0, 0},
    {"queued.max.messages.kbytes", K_INT, F(queued_max_kbytes), 1, 2097151},
    {"auto.offset.reset", K_RESET, F(auto_offset_reset), 0, 0},
};

static const struct prop *find_prop(const char *name)
{
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
        if (strcmp(props[i].name, name) == 0)
            return &props[i];
    return NULL;
}

sl_conf *sl_conf_new(void)
{
    sl_conf *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->bootstrap_servers = strdup("127.0.0.1:9092");
    c->client_id = strdup("splicelog");
    if (!c->bootstrap_servers || !c->client_id) {
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
    c->compression_none = 1;
    c->allow_auto_create = -1;
    c->security_ssl = 0;
    c->ssl_endpoint_https = 1; /* librdkafka 2.x default */
    c->fetch_min_bytes = 1;
    c->fetch_wait_max_ms = 500;
    c->fetch_max_bytes = 52428800;
    c->max_partition_fetch_bytes = 1048576;
    c->check_crcs = 0;
    c->queued_max_kbytes = 65536;
    c->auto_offset_reset = SL__RESET_LATEST;
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
        if (props[i].kind != K_STR)
            continue;
        char **f = str_field(c, &props[i]);
        *f = *f ? strdup(*f) : NULL;
    }
    if (!c->bootstrap_servers || !c->client_id) {
        sl_conf_free(c);
        return NULL;
    }
    return c;
}

void sl_conf_free(sl_conf *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
        if (props[i].kind == K_STR)
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

sl_err sl_conf_set(sl_conf *c, const char *name, const char *value, char *errstr,
                   size_t errstr_size)
{
    if (!c || !name || !value) {
        sl__errstr(errstr, errstr_size, "conf, name and value must not be NULL");
        return SL_ERR__INVALID_CONF;
    }
    const struct prop *p = find_prop(name);
    if (!p) {
        sl__errstr(errstr, errstr_size, "No such configuration property: \"%s\"", name);
        return SL_ERR__INVALID_CONF;
    }
    long n;
    int b;
    switch (p->kind) {
    case K_STR: {
        if (strcmp(name, "bootstrap.servers") == 0 && check_servers(value) != 0) {
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
        if (parse_bool(value, &b) != 0) {
            sl__errstr(errstr, errstr_size, "Invalid value \"%s\" for %s: expected true or false",
                       value, name);
            return SL_ERR__INVALID_CONF;
        }
        *int_field(c, p) = b;
        return SL_ERR_NO_ERROR;
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
    case K_COMPRESSION:
        if (!strcasecmp(value, "none")) {
            c->compression_none = 1;
            return SL_ERR_NO_ERROR;
        }
        if (!strcasecmp(value, "gzip") || !strcasecmp(value, "snappy") ||
            !strcasecmp(value, "lz4") || !strcasecmp(value, "zstd")) {
            sl__errstr(errstr, errstr_size, "compression.type=%s is not supported yet (only none)",
                       value);
            return SL_ERR__INVALID_CONF;
        }
        sl__errstr(errstr, errstr_size, "Invalid value \"%s\" for compression.type", value);
        return SL_ERR__INVALID_CONF;
    case K_SECURITY:
        if (!strcasecmp(value, "plaintext"))
            c->security_ssl = 0;
        else if (!strcasecmp(value, "ssl"))
            c->security_ssl = 1;
        else {
            sl__errstr(errstr, errstr_size,
                       "Invalid value \"%s\" for security.protocol: expected plaintext or ssl",
                       value);
            return SL_ERR__INVALID_CONF;
        }
        return SL_ERR_NO_ERROR;
    case K_ENDPOINT:
        if (!strcasecmp(value, "https"))
            c->ssl_endpoint_https = 1;
        else if (!strcasecmp(value, "none"))
            c->ssl_endpoint_https = 0;
        else {
            sl__errstr(errstr, errstr_size,
                       "Invalid value \"%s\" for ssl.endpoint.identification.algorithm: "
                       "expected none or https",
                       value);
            return SL_ERR__INVALID_CONF;
        }
        return SL_ERR_NO_ERROR;
    case K_RESET:
        if (!strcasecmp(value, "earliest") || !strcasecmp(value, "smallest") ||
            !strcasecmp(value, "beginning"))
            c->auto_offset_reset = SL__RESET_EARLIEST;
        else if (!strcasecmp(value, "latest") || !strcasecmp(value, "largest") ||
                 !strcasecmp(value, "end"))
            c->auto_offset_reset = SL__RESET_LATEST;
        else if (!strcasecmp(value, "error"))
            c->auto_offset_reset = SL__RESET_ERROR;
        else {
            sl__errstr(errstr, errstr_size,
                       "Invalid value \"%s\" for auto.offset.reset: expected earliest, latest "
                       "or error",
                       value);
            return SL_ERR__INVALID_CONF;
        }
        return SL_ERR_NO_ERROR;
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
    case K_COMPRESSION:
        s = "none";
        break;
    case K_SECURITY:
        s = v ? "ssl" : "plaintext";
        break;
    case K_ENDPOINT:
        s = v ? "https" : "none";
        break;
    case K_RESET:
        s = v == SL__RESET_EARLIEST ? "earliest" : v == SL__RESET_ERROR ? "error" : "latest";
        break;
    }
    size_t need = strlen(s) + 1;
    if (buf && *size > 0) {
        size_t n = need <= *size ? need - 1 : *size - 1;
        memcpy(buf, s, n);
        buf[n] = 0;
    }
    *size = need;
    return SL_ERR_NO_ERROR;
}

void sl_conf_set_delivery_cb(sl_conf *conf, sl_delivery_cb *cb) { conf->dr_cb = cb; }
void sl_conf_set_opaque(sl_conf *conf, void *opaque) { conf->opaque = opaque; }
void sl_conf_set_log_cb(sl_conf *conf, sl_log_cb *cb) { conf->log_cb = cb; }

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
