/*
 * br_tls_conf — the TLS settings of SSL listeners, a part of the broker's configuration
 * (br_config.h) kept apart from the TLS engine (br_tls.h) that uses them: parsing settings
 * needs no OpenSSL, and the configuration is read by every part of the broker.
 *
 * Contract
 * - Settings use librdkafka's property names: ssl.certificate.location, ssl.key.location,
 *   ssl.key.password, ssl.ca.location, ssl.client.auth (none|requested|required),
 *   ssl.cipher.suites, ssl.protocols (TLSv1.2 and/or TLSv1.3), Kafka's
 *   ssl.endpoint.identification.algorithm (https or empty: only brokers connecting to an SSL
 *   inter-broker listener read it), plus splicelog's ssl.ktls.enable and
 *   ssl.handshake.timeout.ms (also the inter-broker clients' handshake deadline).
 * - br_tls_conf_set() returns -ENOENT for a key that is not one of these (so a config parser
 *   can try it first) and -EINVAL with a message naming the key for a bad value. Plain data,
 *   no thread rules beyond the configuration's (read-only once the server starts).
 */
#ifndef SPLICELOG_BR_TLS_CONF_H
#define SPLICELOG_BR_TLS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BR_TLS_PATH_MAX 1024

enum br_tls_client_auth {
    BR_TLS_AUTH_NONE = 0,
    BR_TLS_AUTH_REQUESTED = 1, /* a certificate is asked for; one that is sent must verify */
    BR_TLS_AUTH_REQUIRED = 2,  /* no verified certificate signed by ssl.ca.location: refused */
};

enum br_tls_version {
    BR_TLS_V12 = 1 << 0,
    BR_TLS_V13 = 1 << 1,
};

struct br_tls_conf {
    char certificate[BR_TLS_PATH_MAX];   /* ssl.certificate.location: PEM chain, leaf first */
    char key[BR_TLS_PATH_MAX];           /* ssl.key.location: PEM private key */
    char key_password[256];              /* ssl.key.password ("" = none) */
    char ca[BR_TLS_PATH_MAX];            /* ssl.ca.location: PEM CA bundle for client certs */
    enum br_tls_client_auth client_auth; /* ssl.client.auth */
    char cipher_suites[1024];     /* ssl.cipher.suites: ':' or ',' separated; "TLS_*" names are
                                     TLS 1.3 suites, others OpenSSL TLS 1.2 cipher names */
    unsigned versions;            /* ssl.protocols: BR_TLS_V12 | BR_TLS_V13 */
    bool ktls;                    /* ssl.ktls.enable (splicelog): use kernel TLS when probed */
    int64_t handshake_timeout_ms; /* ssl.handshake.timeout.ms (splicelog): a handshake not
                                     finished by then is dropped; 0 = only the idle timeout */
    bool verify_host;             /* ssl.endpoint.identification.algorithm: "https" (default)
                                     or "": as a client to other brokers (SSL inter-broker
                                     listener, br_clu_link.h), check that the peer's
                                     certificate names its registered endpoint's host */
};

void br_tls_conf_init(struct br_tls_conf *c);
/* 0; -ENOENT when key is not a TLS key; -EINVAL (err names the key) for a bad value. */
int br_tls_conf_set(struct br_tls_conf *c, const char *key, const char *value, char *err,
                    size_t errlen);
/* Every TLS key with its default and a one-line description (for --help). */
void br_tls_conf_keys(void (*fn)(void *arg, const char *key, const char *def, const char *doc),
                      void *arg);

#endif
