/*
 * br_auth — connections' security sessions (br_auth.h).
 */
#include "br_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_log.h"
#include "kp_msg.h"
#include "kp_msg_sec.h"

int br_auth_init(struct br_auth *a, const struct br_config *cfg, struct br_cred *cred,
                 struct br_authz *authz, struct br_quotas *quotas)
{
    memset(a, 0, sizeof(*a));
    a->cfg = cfg;
    a->cred = cred;
    a->authz = authz;
    a->quotas = quotas;
    return br_sasl_server_init(&a->sasl, br_cred_lookup, cred);
}

/* "127.0.0.1:5000" -> "127.0.0.1", "[::1]:5000" -> "::1": ACL hosts are bare addresses. */
static void host_of(const char *name, char *out, size_t cap)
{
    const char *colon = strrchr(name, ':');
    size_t n = colon ? (size_t)(colon - name) : strlen(name);
    if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
        name++;
        n -= 2;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(out, name, n);
    out[n] = 0;
}

static int sess_open(void *arg, const struct br_listener_cfg *lc, struct br_peer *peer, void **out)
{
    struct br_auth_sess *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->a = arg;
    s->peer = peer;
    s->state = br_proto_sasl(lc->protocol) ? BR_AUTH_START : BR_AUTH_OPEN;
    host_of(peer->name, s->host, sizeof(s->host));
    peer->sess = s;
    *out = s;
    return 0;
}

static void sess_close(void *arg, void *sess)
{
    struct br_auth *a = arg;
    struct br_auth_sess *s = sess;
    if (!s)
        return;
    br_sasl_free(s->x);
    if (s->qc_bound)
        br_quota_client_release(a->quotas, &s->qc);
    free(s->cache);
    free(s);
}

static int64_t sess_max_frame(void *sess)
{
    struct br_auth_sess *s = sess;
    return s->state == BR_AUTH_OPEN || s->state == BR_AUTH_DONE || s->state == BR_AUTH_REAUTH
               ? 0
               : s->a->cfg->sec.sasl_max_receive;
}

/* who follows the principal (which changes only between requests). */
static void who_update(struct br_auth_sess *s)
{
    struct kp_str p = {s->peer->principal, (int32_t)strlen(s->peer->principal)};
    s->who.principal = p;
    s->who.host = (struct kp_str){s->host, (int32_t)strlen(s->host)};
    s->who.super = s->a->authz ? br_authz_is_super(s->a->authz, p) : false;
    s->who_valid = true;
    if (s->cache) /* decisions were another principal's */
        br_authz_cache_init(s->cache);
    if (s->qc_bound) { /* quotas are per user: bind again at the next record */
        br_quota_client_release(s->a->quotas, &s->qc);
        s->qc_bound = false;
    }
}

/* ---- responses ------------------------------------------------------------------------------ */

typedef int (*enc_fn)(struct kp_wr *wr, int16_t v, const void *msg);

static int enc_handshake(struct kp_wr *wr, int16_t v, const void *m)
{
    return kp_sasl_handshake_resp_encode(wr, v, m);
}
static int enc_authenticate(struct kp_wr *wr, int16_t v, const void *m)
{
    return kp_sasl_authenticate_resp_encode(wr, v, m);
}

static int encode(struct br_resp *r, enc_fn fn, const void *msg)
{
    for (;;) {
        br_resp_begin(r);
        int rc = fn(&r->wr, r->api_version, msg);
        if (rc == 0)
            rc = br_resp_finish(r);
        if (rc != -ENOSPC)
            return rc < 0 ? rc : BR_REPLY;
        if (br_resp_reserve(r, r->cap ? r->cap * 2 : 1024) < 0)
            return -ENOMEM;
    }
}

/* A raw (v0) token: its length and the bytes, no header. */
static int encode_raw(struct br_resp *r, const uint8_t *p, size_t n)
{
    if (br_resp_reserve(r, n + 8) < 0)
        return -ENOMEM;
    kp_wr_init(&r->wr, r->buf, r->cap);
    kp_wr_i32(&r->wr, 0);
    kp_wr_raw(&r->wr, p, n);
    r->mem_start = 0;
    r->file_total = 0;
    r->npieces = 0;
    int rc = br_resp_finish(r);
    return rc < 0 ? rc : BR_REPLY;
}

static int handshake_resp(struct br_auth_sess *s, struct br_resp *r, int16_t err)
{
    unsigned m = s->a->cfg->sec.mechanisms;
    struct kp_str mechs[3];
    int32_t n = 0;
    for (int k = BR_SASL_PLAIN; k <= BR_SASL_SCRAM_SHA_512; k++)
        if (m & (1u << k)) {
            const char *name = br_sasl_mech_name((enum br_sasl_mech)k);
            mechs[n++] = (struct kp_str){name, (int32_t)strlen(name)};
        }
    struct kp_sasl_handshake_resp resp = {err, n, mechs};
    return encode(r, enc_handshake, &resp);
}

static int auth_resp(struct br_resp *r, int16_t err, const char *msg, const uint8_t *tok, size_t n,
                     int64_t lifetime)
{
    struct kp_sasl_authenticate_resp resp = {
        .error_code = err,
        .error_message = msg ? (struct kp_str){msg, (int32_t)strlen(msg)} : (struct kp_str){0},
        .auth_bytes = {tok, (int32_t)n},
        .session_lifetime_ms = lifetime,
    };
    if (!msg)
        resp.error_message = (struct kp_str){NULL, -1};
    return encode(r, enc_authenticate, &resp);
}

/* ---- the exchange --------------------------------------------------------------------------- */

static int fail_exchange(struct br_auth_sess *s, int rc, struct br_sess_verdict *v)
{
    const char *user = s->x ? br_sasl_user(s->x) : "";
    const char *why = s->x ? br_sasl_reason(s->x) : strerror(-rc);
    br_warn_limited("peer=%s: authentication failed (mechanism %s, user %s): %s", s->peer->name,
                    br_sasl_mech_name(s->mech), br_log_cstr(user).s, why[0] ? why : strerror(-rc));
    br_sasl_free(s->x);
    s->x = NULL;
    s->state = BR_AUTH_FAILED;
    v->delay_ms = s->a->cfg->sec.auth_fail_delay_ms;
    v->close_after = true;
    return rc;
}

/* One client token: BR_SASL_CONTINUE / DONE with out filled, or -errno (logged, failed). */
static int step(struct br_auth_sess *s, const uint8_t *tok, size_t n, uint8_t *out, size_t *out_len,
                int64_t now_ms)
{
    int rc = br_sasl_step(s->x, tok, n, out, BR_SASL_OUT_MAX, out_len);
    if (rc != BR_SASL_DONE)
        return rc;
    const char *user = br_sasl_user(s->x);
    char principal[BR_PEER_PRINCIPAL_MAX];
    snprintf(principal, sizeof(principal), "User:%s", user);
    bool reauth = s->state == BR_AUTH_REAUTH;
    if (reauth && strcmp(principal, s->peer->principal) != 0) {
        br_warn_limited("peer=%s: re-authentication as %s refused: the connection is %s",
                        s->peer->name, br_log_cstr(principal).s, br_log_cstr(s->peer->principal).s);
        return -EPERM;
    }
    snprintf(s->peer->principal, sizeof(s->peer->principal), "%s", principal);
    s->who_valid = false;
    int64_t life = s->a->cfg->sec.reauth_ms;
    s->expires_ms = life > 0 ? now_ms + life : 0;
    br_info("peer=%s: %sauthenticated as %s (%s)", s->peer->name, reauth ? "re-" : "",
            br_log_cstr(principal).s, br_sasl_mech_name(s->mech));
    br_sasl_free(s->x);
    s->x = NULL;
    s->state = BR_AUTH_DONE;
    return BR_SASL_DONE;
}

static int on_handshake(struct br_auth_sess *s, struct kp_rd *rd, int16_t version,
                        struct br_resp *r, struct br_sess_verdict *v)
{
    struct kp_sasl_handshake_req req;
    uint8_t mem[256];
    struct kp_arena ar;
    kp_arena_init(&ar, mem, sizeof(mem));
    if (kp_sasl_handshake_req_decode(rd, version, &ar, &req) < 0 || req.mechanism.len < 0) {
        br_warn_limited("peer=%s: malformed SaslHandshake v%d", s->peer->name, version);
        return -EBADMSG;
    }
    if (s->state == BR_AUTH_OPEN)
        return handshake_resp(s, r, KP_ERR_ILLEGAL_SASL_STATE);
    if (s->state != BR_AUTH_START && s->state != BR_AUTH_DONE) {
        br_warn_limited("peer=%s: SaslHandshake during an exchange: closing", s->peer->name);
        return -EPROTO;
    }
    enum br_sasl_mech mech;
    if (br_sasl_mech_parse(req.mechanism.ptr, (size_t)req.mechanism.len, &mech) < 0 ||
        !(s->a->cfg->sec.mechanisms & (1u << mech)) ||
        (s->state == BR_AUTH_DONE && mech != s->mech)) {
        br_warn_limited("peer=%s: SASL mechanism %s is not enabled (sasl.enabled.mechanisms)%s",
                        s->peer->name, BR_LOG_KSTR(req.mechanism),
                        s->state == BR_AUTH_DONE ? " or not the one of the session" : "");
        v->close_after = true;
        s->state = BR_AUTH_FAILED;
        return handshake_resp(s, r, KP_ERR_UNSUPPORTED_SASL_MECHANISM);
    }
    if (version == 0 && s->state == BR_AUTH_DONE) {
        br_warn_limited("peer=%s: re-authentication needs SaslHandshake v1", s->peer->name);
        return -EPROTO;
    }
    int rc = br_sasl_new(&s->a->sasl, mech, &s->x);
    if (rc < 0)
        return rc;
    s->mech = mech;
    s->state = s->state == BR_AUTH_DONE ? BR_AUTH_REAUTH
               : version == 0           ? BR_AUTH_RAW
                                        : BR_AUTH_EXCHANGE;
    return handshake_resp(s, r, KP_ERR_NONE);
}

static int on_authenticate(struct br_auth_sess *s, struct kp_rd *rd, int16_t version,
                           struct br_resp *r, int64_t now_ms, struct br_sess_verdict *v)
{
    struct kp_sasl_authenticate_req req;
    uint8_t mem[256];
    struct kp_arena ar;
    kp_arena_init(&ar, mem, sizeof(mem));
    if (kp_sasl_authenticate_req_decode(rd, version, &ar, &req) < 0) {
        br_warn_limited("peer=%s: malformed SaslAuthenticate v%d", s->peer->name, version);
        return -EBADMSG;
    }
    if (s->state == BR_AUTH_OPEN || s->state == BR_AUTH_DONE)
        return auth_resp(r, KP_ERR_ILLEGAL_SASL_STATE,
                         s->state == BR_AUTH_OPEN
                             ? "SASL is not enabled on this listener"
                             : "SaslAuthenticate request received after successful authentication",
                         NULL, 0, 0);
    if (s->state != BR_AUTH_EXCHANGE && s->state != BR_AUTH_REAUTH) {
        br_warn_limited("peer=%s: SaslAuthenticate before SaslHandshake: closing", s->peer->name);
        return -EPROTO;
    }
    uint8_t out[BR_SASL_OUT_MAX];
    size_t out_len = 0;
    size_t n = req.auth_bytes.len > 0 ? (size_t)req.auth_bytes.len : 0;
    int rc = step(s, req.auth_bytes.ptr, n, out, &out_len, now_ms);
    if (rc == BR_SASL_CONTINUE)
        return auth_resp(r, KP_ERR_NONE, NULL, out, out_len, 0);
    if (rc == BR_SASL_DONE) {
        int64_t life = s->a->cfg->sec.reauth_ms;
        return auth_resp(r, KP_ERR_NONE, NULL, out, out_len, version >= 1 ? life : 0);
    }
    char msg[160];
    snprintf(msg, sizeof(msg),
             "Authentication failed during authentication due to invalid credentials with SASL "
             "mechanism %s",
             br_sasl_mech_name(s->mech));
    fail_exchange(s, rc, v);
    return auth_resp(r, KP_ERR_SASL_AUTHENTICATION_FAILED, msg, NULL, 0, 0);
}

static int on_raw(struct br_auth_sess *s, const uint8_t *frame, size_t len, struct br_resp *r,
                  int64_t now_ms, struct br_sess_verdict *v)
{
    uint8_t out[BR_SASL_OUT_MAX];
    size_t out_len = 0;
    int rc = step(s, frame, len, out, &out_len, now_ms);
    if (rc == BR_SASL_CONTINUE || rc == BR_SASL_DONE)
        return encode_raw(r, out, out_len);
    fail_exchange(s, rc, v);
    return -EPERM; /* no error frame in this framing */
}

static int sess_frame(void *sess, struct br_peer *peer, uint8_t *frame, size_t len,
                      struct br_resp *r, int64_t now_ms, struct br_sess_verdict *v)
{
    struct br_auth_sess *s = sess;
    (void)peer;
    if (s->state == BR_AUTH_RAW)
        return on_raw(s, frame, len, r, now_ms, v);
    if (s->state == BR_AUTH_FAILED)
        return -EPERM; /* closing: nothing more is read */
    int16_t key = len >= 2 ? (int16_t)kp_load_be16(frame) : -1;
    bool sasl_api = key == KP_API_SASL_HANDSHAKE || key == KP_API_SASL_AUTHENTICATE;
    if (s->state == BR_AUTH_DONE && s->expires_ms && now_ms >= s->expires_ms &&
        key != KP_API_SASL_HANDSHAKE) {
        br_warn_limited("peer=%s: %s's session expired (connections.max.reauth.ms) and it did "
                        "not re-authenticate: closing",
                        peer->name, br_log_cstr(peer->principal).s);
        return -EKEYEXPIRED;
    }
    if (!sasl_api) {
        if (s->state == BR_AUTH_OPEN || s->state == BR_AUTH_DONE ||
            (s->state == BR_AUTH_START && key == KP_API_API_VERSIONS)) {
            if (!s->who_valid)
                who_update(s);
            return BR_SESS_PASS;
        }
        if (s->state == BR_AUTH_REAUTH)
            return BR_SESS_PASS; /* requests go on while the client re-authenticates */
        br_warn_limited("peer=%s: %s request before SASL authentication: closing", peer->name,
                        kp_api_name(key));
        return -EACCES;
    }
    struct kp_rd rd;
    kp_rd_init(&rd, frame, len);
    struct kp_req_hdr h;
    if (kp_req_hdr_decode(&rd, &h) < 0 || !kp_api_supported(h.api_key, h.api_version))
        return BR_SESS_PASS; /* dispatch closes it, naming what it is */
    r->api_key = h.api_key;
    r->api_version = h.api_version;
    r->corr = h.correlation_id;
    if (key == KP_API_SASL_HANDSHAKE)
        return on_handshake(s, &rd, h.api_version, r, v);
    return on_authenticate(s, &rd, h.api_version, r, now_ms, v);
}

const struct br_sess_ops br_auth_sess_ops = {
    .open = sess_open,
    .close = sess_close,
    .max_frame = sess_max_frame,
    .frame = sess_frame,
};
