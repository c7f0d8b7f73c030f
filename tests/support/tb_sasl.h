/*
 * tb_sasl — test support: Kafka requests through proto's codecs at any version (flexible ones
 * included), and the client side of SASL PLAIN and SCRAM-SHA-256/512 over SaslHandshake v1 +
 * SaslAuthenticate (or raw v0 tokens), written from RFC 5802 / 7677 on OpenSSL so the suites
 * check the broker's br_sasl against an independent client.
 * Contract: blocking sockets (tb_connect); 0 or -errno; a Kafka error from the broker is
 * returned positive (the wire code) where a function says so. Single-threaded per socket.
 */
#ifndef SPLICELOG_TB_SASL_H
#define SPLICELOG_TB_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kp_buf.h"
#include "tb_kafka.h"

typedef int (*tb_enc_fn)(struct kp_wr *wr, int16_t version, const void *msg);
typedef int (*tb_dec_fn)(struct kp_rd *rd, int16_t version, struct kp_arena *a, void *out);

/* Sends (key, version) with msg encoded by enc, reads the response and decodes it with dec into
 * out (arena memory: tb_kc_mem, valid until the next call on this thread). 0 or -errno
 * (-EPIPE / -ECONNRESET / -EIO when the broker closed the connection instead of answering). */
int tb_kcall(int fd, int16_t key, int16_t version, tb_enc_fn enc, const void *msg, tb_dec_fn dec,
             void *out);
/* The client id of this thread's tb_kcall / tb_ksend requests (NULL: "tb-sasl"). */
void tb_set_client_id(const char *id);
/* Sends one request without reading an answer. 0 or -errno. */
int tb_ksend(int fd, int16_t key, int16_t version, tb_enc_fn enc, const void *msg);

#define TB_ENC(fn) ((tb_enc_fn)(int (*)(struct kp_wr *, int16_t, const void *))(fn))
#define TB_DEC(fn) ((tb_dec_fn)(int (*)(struct kp_rd *, int16_t, struct kp_arena *, void *))(fn))

struct kp_fetch_resp;
/* Fetch v11 of topic/part from offset (max_wait 0, min_bytes 1, 1 MiB), decoded into out as
 * tb_kcall does; 0 or -errno. */
int tb_kfetch(int fd, const char *topic, int32_t part, int64_t offset, struct kp_fetch_resp *out);

/* AlterClientQuotas v1 setting key to v for the client-id entity client (applied, not
 * validate-only): the entry's error code (0: set), or -errno. */
int tb_alter_client_quota(int fd, const char *client, const char *key, double v);

/* SaslHandshake v(version) for mech: the broker's error code (0 ok), or -errno. */
int tb_sasl_handshake(int fd, int16_t version, const char *mech);
/* SaslAuthenticate with one token; the response's error code (0), the server token in
 * out (cap bytes, *out_len), lifetime in *life_ms (may be NULL). -errno. */
int tb_sasl_auth(int fd, int16_t version, const uint8_t *tok, size_t n, uint8_t *out, size_t cap,
                 size_t *out_len, int64_t *life_ms);

/* The whole login: handshake v1, then PLAIN or SCRAM. 0, the first error code the broker
 * answered (positive), or -errno. */
int tb_sasl_login(int fd, const char *mech, const char *user, const char *password);

/* SCRAM pieces for tests that tamper with an exchange. */
struct tb_scram {
    int sha; /* 256 or 512 */
    char user[128], password[128];
    char cnonce[64];
    char first_bare[512];
    char final[1024]; /* the client-final message built by tb_scram_final */
};
/* client-first ("n,,n=user,r=cnonce") into out; 0 or -ENOSPC. cnonce NULL: random. */
int tb_scram_first(struct tb_scram *s, const char *cnonce, char *out, size_t cap);
/* From the server-first, the client-final (into s->final). 0, -EBADMSG. */
int tb_scram_final(struct tb_scram *s, const char *server_first, size_t n);

#endif
