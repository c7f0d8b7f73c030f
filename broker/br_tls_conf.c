/*
 * br_tls_conf — parsing the TLS settings (see br_tls_conf.h).
 */
#include "br_tls_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- settings ------------------------------------------------------------------------- */

void br_tls_conf_init(struct br_tls_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->client_auth = BR_TLS_AUTH_NONE;
    c->versions = BR_TLS_V12 | BR_TLS_V13;
    c->ktls = true; /* used only where the kernel has it (probed at start-up) */
    c->handshake_timeout_ms = 10000;
    c->verify_host = true;
}

static int copy_value(char *dst, size_t cap, const char *key, const char *value, char *err,
                      size_t errlen)
{
    size_t n = strlen(value);
    if (n >= cap) {
        snprintf(err, errlen, "%s: value longer than %zu bytes", key, cap - 1);
        return -EINVAL;
    }
    memcpy(dst, value, n + 1);
    return 0;
}

static int parse_protocols(const char *value, unsigned *out, char *err, size_t errlen)
{
    unsigned v = 0;
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, ", ");
        if (n == 7 && strncasecmp(p, "TLSv1.2", 7) == 0) {
            v |= BR_TLS_V12;
        } else if (n == 7 && strncasecmp(p, "TLSv1.3", 7) == 0) {
            v |= BR_TLS_V13;
        } else {
            snprintf(err, errlen,
                     "ssl.protocols: unsupported protocol '%.*s' (TLSv1.2 and TLSv1.3 only)",
                     (int)(n > 32 ? 32 : n), p);
            return -EINVAL;
        }
        p += n;
    }
    if (!v) {
        snprintf(err, errlen, "ssl.protocols: empty (use TLSv1.2, TLSv1.3 or both)");
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int br_tls_conf_set(struct br_tls_conf *c, const char *key, const char *value, char *err,
                    size_t errlen)
{
    if (strcmp(key, "ssl.certificate.location") == 0)
        return copy_value(c->certificate, sizeof(c->certificate), key, value, err, errlen);
    if (strcmp(key, "ssl.key.location") == 0)
        return copy_value(c->key, sizeof(c->key), key, value, err, errlen);
    if (strcmp(key, "ssl.key.password") == 0)
        return copy_value(c->key_password, sizeof(c->key_password), key, value, err, errlen);
    if (strcmp(key, "ssl.ca.location") == 0)
        return copy_value(c->ca, sizeof(c->ca), key, value, err, errlen);
    if (strcmp(key, "ssl.cipher.suites") == 0)
        return copy_value(c->cipher_suites, sizeof(c->cipher_suites), key, value, err, errlen);
    if (strcmp(key, "ssl.protocols") == 0 || strcmp(key, "ssl.enabled.protocols") == 0)
        return parse_protocols(value, &c->versions, err, errlen);
    if (strcmp(key, "ssl.client.auth") == 0) {
        if (strcasecmp(value, "none") == 0)
            c->client_auth = BR_TLS_AUTH_NONE;
        else if (strcasecmp(value, "requested") == 0)
            c->client_auth = BR_TLS_AUTH_REQUESTED;
        else if (strcasecmp(value, "required") == 0)
            c->client_auth = BR_TLS_AUTH_REQUIRED;
        else {
            snprintf(err, errlen, "ssl.client.auth: '%.64s' is not none, requested or required",
                     value);
            return -EINVAL;
        }
        return 0;
    }
    if (strcmp(key, "ssl.ktls.enable") == 0) {
        if (strcmp(value, "true") == 0)
            c->ktls = true;
        else if (strcmp(value, "false") == 0)
            c->ktls = false;
        else {
            snprintf(err, errlen, "ssl.ktls.enable: '%.64s' is not true or false", value);
            return -EINVAL;
        }
        return 0;
    }
    if (strcmp(key, "ssl.endpoint.identification.algorithm") == 0) {
        if (strcasecmp(value, "https") == 0)
            c->verify_host = true;
        else if (!value[0] || strcasecmp(value, "none") == 0)
            c->verify_host = false;
        else {
            snprintf(err, errlen,
                     "ssl.endpoint.identification.algorithm: '%.64s' is not https or empty", value);
            return -EINVAL;
        }
        return 0;
    }
    if (strcmp(key, "ssl.handshake.timeout.ms") == 0) {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (!*value || *end || errno || v < 0 || v > 3600000) {
            snprintf(err, errlen, "ssl.handshake.timeout.ms: '%.64s' is not 0..3600000", value);
            return -EINVAL;
        }
        c->handshake_timeout_ms = v;
        return 0;
    }
    return -ENOENT;
}

void br_tls_conf_keys(void (*fn)(void *arg, const char *key, const char *def, const char *doc),
                      void *arg)
{
    fn(arg, "ssl.certificate.location", "",
       "SSL listeners: the broker's certificate chain (PEM, leaf first)");
    fn(arg, "ssl.key.location", "", "SSL listeners: the certificate's private key (PEM)");
    fn(arg, "ssl.key.password", "", "SSL listeners: passphrase of an encrypted private key");
    fn(arg, "ssl.ca.location", "",
       "SSL listeners: CA bundle (PEM) that client certificates must chain to; an SSL "
       "inter-broker listener verifies the other brokers' certificates against it too");
    fn(arg, "ssl.endpoint.identification.algorithm", "https",
       "SSL inter-broker listener: https = another broker's certificate must name the host of "
       "its registered endpoint (IP or DNS name); empty = the CA check only");
    fn(arg, "ssl.client.auth", "none", "SSL listeners: none, requested or required");
    fn(arg, "ssl.cipher.suites", "",
       "SSL listeners: ':'-separated; TLS_* names are TLS 1.3 suites, others TLS 1.2 "
       "ciphers (\"\" = OpenSSL's defaults)");
    fn(arg, "ssl.protocols", "TLSv1.2,TLSv1.3", "SSL listeners: TLSv1.2 and/or TLSv1.3");
    fn(arg, "ssl.enabled.protocols", NULL, "alias of ssl.protocols (Kafka's name)");
    fn(arg, "ssl.handshake.timeout.ms", "10000",
       "SSL listeners: drop a connection whose handshake is not done by then (splicelog; 0 = "
       "only connections.max.idle.ms)");
    fn(arg, "ssl.ktls.enable", "true",
       "SSL listeners: use kernel TLS and sendfile when the kernel offers it (splicelog)");
}
