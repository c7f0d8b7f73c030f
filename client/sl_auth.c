/*
 * sl_auth.c — SASL on a broker connection (security.protocol=sasl_plaintext or sasl_ssl).
 *
 * The connection's states do not change: it is UP once TCP (and TLS) are, and its first request
 * is ApiVersions as always. With SASL, c->authing is set at connect; while it is set sl_conn.c
 * writes only requests marked preauth, so whatever the producer, consumer or admin queued waits
 * in the send queue (and its deadline does not start). When the ApiVersions answer is in,
 * sl__auth_start queues SaslHandshake v1 (KIP-152: the tokens then travel in SaslAuthenticate
 * requests, with Kafka framing) at the head of the queue; each answer queues the next
 * SaslAuthenticate, one at a time, until the mechanism (sl_sasl.c) says the exchange is done,
 * which clears c->authing and lets the queue drain. Nothing here blocks: each step runs in the
 * response callback of the previous one, inside the connection's I/O turn. request.timeout.ms
 * bounds every step as it bounds any request.
 *
 * A refusal (the broker's error code with its message, a mechanism the broker has not enabled,
 * a broker whose SCRAM signature does not match) fails the connection with SL__EAUTH: the error
 * callback gets SL_ERR_SASL_AUTHENTICATION_FAILED with the reason, the requests on the
 * connection fail, and the next attempt waits 1 s, doubling up to 64 s (sl_conn.c).
 * Re-authentication (KIP-368) is not done: a broker with connections.max.reauth.ms closes the
 * connection when the session expires and the client logs in again on reconnect.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kp_msg_sec.h"
#include "sl_int.h"
#include "sl_sasl.h"

#define V_HANDSHAKE 1 /* v0 would carry raw tokens, not SaslAuthenticate */

static int enc_handshake(struct kp_wr *wr, const void *m)
{
    return kp_sasl_handshake_req_encode(wr, V_HANDSHAKE, m);
}

/* SaslAuthenticate's encoders, by version (the version travels in the request). */
static int enc_auth0(struct kp_wr *wr, const void *m)
{
    return kp_sasl_authenticate_req_encode(wr, 0, m);
}
static int enc_auth1(struct kp_wr *wr, const void *m)
{
    return kp_sasl_authenticate_req_encode(wr, 1, m);
}
static int enc_auth2(struct kp_wr *wr, const void *m)
{
    return kp_sasl_authenticate_req_encode(wr, 2, m);
}

/* Fails the connection as a refused login, with the reason for the error callback. */
static void refuse(struct sl__conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void refuse(struct sl__conn *c, const char *fmt, ...)
{
    int n = snprintf(c->why, sizeof c->why, "%s login as '%.40s'",
                     sl__sasl_mech_name(c->cl->conf->sasl_mechanism), c->cl->conf->sasl_username);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof c->why)
        vsnprintf(c->why + n, sizeof c->why - (size_t)n, fmt, ap);
    va_end(ap);
    sl__conn_fail(c, SL__EAUTH);
}

static void authenticate_cb(struct sl__client *cl, struct sl__req *req, int err,
                            struct sl__frame *f);

/* Sends the mechanism's next token. */
static int send_token(struct sl__conn *c, const uint8_t *tok, size_t len)
{
    int v = sl__conn_version(c, KP_API_SASL_AUTHENTICATE, 0, 2);
    if (v < 0) {
        refuse(c, ": the broker does not offer SaslAuthenticate");
        return 0;
    }
    static int (*const enc[])(struct kp_wr *, const void *) = {enc_auth0, enc_auth1, enc_auth2};
    struct kp_sasl_authenticate_req req = {{tok, (int32_t)len}};
    return sl__conn_push_new(c, KP_API_SASL_AUTHENTICATE, (int16_t)v, enc[v], &req, len + 16,
                             authenticate_cb);
}

/* Feeds the broker's token (NULL for the first step) to the mechanism and sends what it says. */
static void next_step(struct sl__conn *c, const uint8_t *in, size_t in_len)
{
    const uint8_t *tok;
    size_t tl;
    int rc = sl__sasl_step(c->sasl, in, in_len, &tok, &tl);
    if (rc == 1) {
        rc = send_token(c, tok, tl);
        if (rc)
            sl__conn_fail(c, rc);
        return;
    }
    if (rc == 0) {
        c->authing = false;
        c->auth_failures = 0;
        sl__sasl_free(c->sasl);
        c->sasl = NULL;
        sl__log(c->cl->conf, 7, "SASL", "%s:%d: authenticated as '%s' with %s", c->host, c->port,
                c->cl->conf->sasl_username, sl__sasl_mech_name(c->cl->conf->sasl_mechanism));
        return;
    }
    if (rc == -EACCES || rc == -EBADMSG) {
        const char *why = sl__sasl_why(c->sasl);
        refuse(c, " failed: %s", why);
        return;
    }
    sl__conn_fail(c, rc);
}

static void authenticate_cb(struct sl__client *cl, struct sl__req *req, int err,
                            struct sl__frame *f)
{
    struct sl__conn *c = req->ctx;
    if (err || !f)
        return; /* the connection is failing already */
    struct kp_sasl_authenticate_resp resp;
    struct kp_arena *a = sl__arena(cl, f->len);
    struct kp_rd rd;
    kp_rd_init(&rd, f->body, f->len);
    err = a ? kp_sasl_authenticate_resp_decode(&rd, req->api_version, a, &resp) : -ENOMEM;
    if (err) {
        sl__conn_fail(c, err == -ENOMEM ? -ENOMEM : -EBADMSG);
        return;
    }
    if (resp.error_code != 0) {
        const char *msg = resp.error_message.len > 0 ? resp.error_message.ptr
                                                     : sl_err2str((sl_err)resp.error_code);
        int ml = resp.error_message.len > 0 ? (int)resp.error_message.len : (int)strlen(msg);
        refuse(c, " failed: %.*s", ml, msg);
        return;
    }
    next_step(c, resp.auth_bytes.ptr, resp.auth_bytes.len > 0 ? (size_t)resp.auth_bytes.len : 0);
}

static void handshake_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    struct sl__conn *c = req->ctx;
    if (err || !f)
        return;
    struct kp_sasl_handshake_resp resp;
    struct kp_arena *a = sl__arena(cl, f->len);
    struct kp_rd rd;
    kp_rd_init(&rd, f->body, f->len);
    err = a ? kp_sasl_handshake_resp_decode(&rd, V_HANDSHAKE, a, &resp) : -ENOMEM;
    if (err) {
        sl__conn_fail(c, err == -ENOMEM ? -ENOMEM : -EBADMSG);
        return;
    }
    if (resp.error_code != 0) {
        char offered[120] = "";
        size_t at = 0;
        for (int32_t i = 0; i < resp.n_mechanisms && at < sizeof offered; i++)
            at += (size_t)snprintf(offered + at, sizeof offered - at, "%s%.*s", i ? ", " : "",
                                   (int)resp.mechanisms[i].len, resp.mechanisms[i].ptr);
        refuse(c, ": the broker does not enable the mechanism (it offers: %s)", offered);
        return;
    }
    next_step(c, NULL, 0);
}

int sl__auth_start(struct sl__conn *c)
{
    const sl_conf *conf = c->cl->conf;
    if (sl__conn_version(c, KP_API_SASL_HANDSHAKE, V_HANDSHAKE, V_HANDSHAKE) < 0) {
        refuse(c, ": the broker does not offer SaslHandshake v1");
        return 0;
    }
    sl__sasl_free(c->sasl);
    c->sasl = NULL;
    int err = sl__sasl_new(conf->sasl_mechanism, conf->sasl_username, conf->sasl_password, NULL,
                           &c->sasl);
    if (err)
        return err;
    struct kp_sasl_handshake_req req = {kp_str_of(sl__sasl_mech_name(conf->sasl_mechanism))};
    return sl__conn_push_new(c, KP_API_SASL_HANDSHAKE, V_HANDSHAKE, enc_handshake, &req, 32,
                             handshake_cb);
}
