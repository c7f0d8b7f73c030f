/*
 * br_sasl_int — the exchange object and helpers shared by br_sasl.c (dispatch, PLAIN, base64,
 * UTF-8) and br_sasl_scram.c (SCRAM). Not a public header: nothing else includes it.
 */
#ifndef SPLICELOG_BR_SASL_INT_H
#define SPLICELOG_BR_SASL_INT_H

#include "br_sasl.h"

enum {
    BR__SASL_START = 0, /* waiting for the first client token */
    BR__SASL_FINAL,     /* SCRAM: server-first sent, waiting for client-final */
    BR__SASL_DONE,
    BR__SASL_FAILED,
};

#define BR__SASL_AUTH_MAX  4096 /* client-first-bare + server-first + client-final w/o proof */
#define BR__SASL_GS2_MAX   (3 + 2 + 3 * BR_SASL_USER_MAX + 1)
#define BR__SASL_NONCE_MAX BR_SASL_TOKEN_MAX

struct br_sasl {
    const struct br_sasl_server *srv;
    enum br_sasl_mech mech;
    int state;
    const char *reason;              /* static text; "" until a step fails */
    char user[BR_SASL_USER_MAX + 1]; /* NUL-terminated; user_len bytes */
    size_t user_len;
    /* SCRAM only, between the two client messages. */
    bool mock;                  /* no such user: the proof fails whatever it is */
    struct br_scram_cred cred;  /* the user's (or the mock) credential */
    char gs2[BR__SASL_GS2_MAX]; /* the gs2 header exactly as sent ("n,," ...) */
    size_t gs2_len;
    char nonce[BR__SASL_NONCE_MAX]; /* client nonce + server nonce */
    size_t nonce_len;
    size_t cnonce_len;            /* the client's part of nonce */
    char auth[BR__SASL_AUTH_MAX]; /* AuthMessage so far: bare "," server-first */
    size_t auth_len;
};

/* Marks s failed with reason and errno err; returns err. */
int br__sasl_fail(struct br_sasl *s, int err, const char *reason);
/* Valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF) without NUL. */
bool br__utf8_valid(const char *p, size_t n);
/* SCRAM's two steps (br_sasl_scram.c). */
int br__scram_first(struct br_sasl *s, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                    size_t *out_len);
int br__scram_final(struct br_sasl *s, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                    size_t *out_len);
/* The unknown user's stand-in credential: salt = HMAC-SHA-256(secret, mech name "\0" user),
 * iterations = srv->mock_iterations, keys derived from the secret too (they match nothing a
 * client can prove). 0 or -EIO. */
int br__scram_mock(const struct br_sasl_server *srv, enum br_sasl_mech mech, const char *user,
                   size_t user_len, struct br_scram_cred *out);

#endif
