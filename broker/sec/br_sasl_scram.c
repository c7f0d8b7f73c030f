/*
 * br_sasl_scram — SCRAM-SHA-256 and SCRAM-SHA-512, server side (RFC 5802, RFC 7677), and the
 * key arithmetic of SCRAM credentials (br_sasl.h).
 *
 * Messages, as this server reads them (RFC 5802 section 7; every field separated by ','):
 *   client-first  gs2-header client-first-bare
 *     gs2-header   ("n" | "y") "," ["a=" saslname] ","     ("p=..." channel binding: refused)
 *     bare         ["m=..." refused] "n=" saslname "," "r=" c-nonce *("," ext)
 *   server-first  "r=" c-nonce s-nonce ",s=" base64(salt) ",i=" iterations
 *   client-final  "c=" base64(gs2-header) ",r=" c-nonce s-nonce *("," ext) ",p=" base64(proof)
 *   server-final  "v=" base64(ServerSignature)
 *   saslname   UTF-8 without NUL and ','; '=' only as "=2C" (',') or "=3D" ('='); the decoded
 *              name must pass br_sasl_user_valid()
 *   nonce      printable ASCII (0x21-0x7e) without ','
 *   ext        ALPHA+ "=" 1*(UTF-8 without NUL and ',')  (multi-letter names, as Kafka's
 *              "tokenauth"); ignored, except tokenauth=true: delegation tokens are refused
 * The c= attribute must decode to exactly the gs2 header the client sent first; the nonce must
 * be exactly the one the server sent (a client-final replayed from another exchange carries
 * another server nonce and fails there); the proof must be exactly one hash long.
 *
 * Verification: AuthMessage = client-first-bare "," server-first "," client-final-without-proof;
 * ClientKey = proof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) == StoredKey, compared in
 * constant time; the server then proves itself with HMAC(ServerKey, AuthMessage).
 */
#include "br_sasl.h"
#include "br_sasl_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static const EVP_MD *md_of(enum br_sasl_mech mech)
{
    return mech == BR_SASL_SCRAM_SHA_256   ? EVP_sha256()
           : mech == BR_SASL_SCRAM_SHA_512 ? EVP_sha512()
                                           : NULL;
}

static int hmac(enum br_sasl_mech mech, const uint8_t *key, size_t key_len, const void *msg,
                size_t msg_len, uint8_t *out)
{
    unsigned int n = 0;
    if (!HMAC(md_of(mech), key, (int)key_len, msg, msg_len, out, &n) || n != br_scram_key_len(mech))
        return -EIO;
    return 0;
}

/* ---- credentials ------------------------------------------------------------------------- */

static bool cred_args_ok(enum br_sasl_mech mech, size_t salt_len, int32_t iterations)
{
    return br_sasl_is_scram(mech) && salt_len >= 1 && salt_len <= BR_SCRAM_SALT_MAX &&
           iterations >= BR_SCRAM_ITER_MIN && iterations <= BR_SCRAM_ITER_MAX;
}

int br_scram_cred_from_salted(enum br_sasl_mech mech, const uint8_t *salted, size_t salted_len,
                              const uint8_t *salt, size_t salt_len, int32_t iterations,
                              struct br_scram_cred *out)
{
    if (!cred_args_ok(mech, salt_len, iterations) || !salt || salted_len != br_scram_key_len(mech))
        return -EINVAL;
    memset(out, 0, sizeof *out);
    out->mech = mech;
    out->iterations = iterations;
    out->salt_len = (uint16_t)salt_len;
    memcpy(out->salt, salt, salt_len);
    uint8_t client_key[BR_SCRAM_KEY_MAX];
    unsigned int n = 0;
    int rc = hmac(mech, salted, salted_len, "Client Key", 10, client_key);
    if (rc == 0 && (!EVP_Digest(client_key, salted_len, out->stored_key, &n, md_of(mech), NULL) ||
                    n != salted_len))
        rc = -EIO;
    if (rc == 0)
        rc = hmac(mech, salted, salted_len, "Server Key", 10, out->server_key);
    OPENSSL_cleanse(client_key, sizeof client_key);
    if (rc != 0)
        OPENSSL_cleanse(out, sizeof *out);
    return rc;
}

int br_scram_cred_from_password(enum br_sasl_mech mech, const char *password, size_t password_len,
                                const uint8_t *salt, size_t salt_len, int32_t iterations,
                                struct br_scram_cred *out)
{
    uint8_t fresh[BR_SCRAM_SALT_LEN];
    if (!salt) {
        if (RAND_bytes(fresh, sizeof fresh) != 1)
            return -EIO;
        salt = fresh;
        salt_len = sizeof fresh;
    }
    if (!cred_args_ok(mech, salt_len, iterations) || password_len > INT32_MAX)
        return -EINVAL;
    size_t kl = br_scram_key_len(mech);
    uint8_t salted[BR_SCRAM_KEY_MAX];
    if (PKCS5_PBKDF2_HMAC(password, (int)password_len, salt, (int)salt_len, iterations, md_of(mech),
                          (int)kl, salted) != 1)
        return -EIO;
    int rc = br_scram_cred_from_salted(mech, salted, kl, salt, salt_len, iterations, out);
    OPENSSL_cleanse(salted, sizeof salted);
    return rc;
}

int br__scram_mock(const struct br_sasl_server *srv, enum br_sasl_mech mech, const char *user,
                   size_t user_len, struct br_scram_cred *out)
{
    /* msg = tag NUL mechanism NUL user; tag separates the salt from the keys. */
    char msg[16 + 16 + BR_SASL_USER_MAX];
    const char *mn = br_sasl_mech_name(mech);
    size_t ml = strlen(mn);
    if (!br_sasl_is_scram(mech) || user_len > BR_SASL_USER_MAX)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    out->mech = mech;
    out->iterations = srv->mock_iterations;
    out->salt_len = BR_SCRAM_SALT_LEN;
    uint8_t k[64];
    const char *tags[] = {"salt", "stored", "server"};
    for (int i = 0; i < 3; i++) {
        size_t tl = strlen(tags[i]);
        memcpy(msg, tags[i], tl);
        msg[tl] = '\0';
        memcpy(msg + tl + 1, mn, ml);
        msg[tl + 1 + ml] = '\0';
        memcpy(msg + tl + 2 + ml, user, user_len);
        unsigned int n = 0;
        if (!HMAC(EVP_sha512(), srv->mock_secret, sizeof srv->mock_secret, (uint8_t *)msg,
                  tl + 2 + ml + user_len, k, &n))
            return -EIO;
        memcpy(i == 0   ? out->salt
               : i == 1 ? out->stored_key
                        : out->server_key,
               k, i == 0 ? BR_SCRAM_SALT_LEN : sizeof k);
    }
    OPENSSL_cleanse(k, sizeof k);
    return 0;
}

/* ---- parsing ----------------------------------------------------------------------------- */

/* A field of a message: [p, p + n), never containing ','. */
struct field {
    const char *p;
    size_t n;
};

/* A cursor over a message's fields. */
struct cur {
    const char *p, *end;
    bool done; /* the last field has been returned */
};

/* The next field (up to the next ',' or the end) into *f; false when none is left. An empty
 * message, or one ending in ',', yields a last empty field. */
static bool next_field(struct cur *c, struct field *f)
{
    if (c->done)
        return false;
    const char *comma = memchr(c->p, ',', (size_t)(c->end - c->p));
    f->p = c->p;
    f->n = (size_t)((comma ? comma : c->end) - c->p);
    if (comma) {
        c->p = comma + 1;
    } else {
        c->p = c->end;
        c->done = true;
    }
    return true;
}

static bool has_attr(const struct field *f, char a)
{
    return f->n >= 2 && f->p[0] == a && f->p[1] == '=';
}

/* Decodes a saslname (after "n=" or "a=") into out (cap bytes): its length, or -1. */
static long saslname_decode(const char *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '=') {
            if (i + 2 >= n)
                return -1;
            if (p[i + 1] == '2' && p[i + 2] == 'C')
                c = ',';
            else if (p[i + 1] == '3' && p[i + 2] == 'D')
                c = '=';
            else
                return -1;
            i += 2;
        }
        if (o >= cap)
            return -1;
        out[o++] = c;
    }
    return (long)o;
}

static bool nonce_valid(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
            return false;
    return true;
}

/* An extension "name=value": 0 (ignored), -EBADMSG (grammar) or -ENOTSUP (tokenauth=true). */
static int extension(const struct field *f)
{
    size_t i = 0;
    while (i < f->n && ((f->p[i] >= 'a' && f->p[i] <= 'z') || (f->p[i] >= 'A' && f->p[i] <= 'Z')))
        i++;
    if (i == 0 || i >= f->n - 1 || f->p[i] != '=' || !br__utf8_valid(f->p + i + 1, f->n - i - 1))
        return -EBADMSG;
    if (i == 9 && memcmp(f->p, "tokenauth", 9) == 0 && f->n - i - 1 == 4 &&
        memcmp(f->p + i + 1, "true", 4) == 0)
        return -ENOTSUP;
    return 0;
}

/* Appends bytes to the AuthMessage; false when it would not fit. */
static bool auth_add(struct br_sasl *s, const void *p, size_t n)
{
    if (n > sizeof s->auth - s->auth_len)
        return false;
    memcpy(s->auth + s->auth_len, p, n);
    s->auth_len += n;
    return true;
}

static int default_nonce(char *out, size_t cap, size_t *len)
{
    uint8_t r[24];
    if (RAND_bytes(r, sizeof r) != 1)
        return -EIO;
    int n = br_b64_encode(r, sizeof r, out, cap);
    OPENSSL_cleanse(r, sizeof r);
    if (n < 0)
        return n;
    *len = (size_t)n;
    return 0;
}

/* ---- the two steps ----------------------------------------------------------------------- */

int br__scram_first(struct br_sasl *s, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                    size_t *out_len)
{
    const char *p = (const char *)in, *end = p + n;
    if (memchr(p, '\0', n))
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-first: NUL byte");
    /* gs2-header */
    if (n >= 1 && p[0] == 'p')
        return br__sasl_fail(s, -ENOTSUP, "SCRAM: channel binding requested, not supported");
    if (n < 3 || (p[0] != 'n' && p[0] != 'y') || p[1] != ',')
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-first: bad gs2 header");
    struct cur q = {p + 2, end, false};
    struct field authz = {NULL, 0};
    if (!next_field(&q, &authz) || (authz.n != 0 && !has_attr(&authz, 'a')) || q.done)
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-first: bad gs2 header");
    s->gs2_len = (size_t)(q.p - p);
    if (s->gs2_len > sizeof s->gs2)
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-first: authzid too long");
    memcpy(s->gs2, p, s->gs2_len);
    const char *bare = q.p;

    /* client-first-bare */
    struct field f;
    if (!next_field(&q, &f))
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-first: no user name");
    if (has_attr(&f, 'm'))
        return br__sasl_fail(s, -ENOTSUP, "SCRAM: mandatory extension not supported");
    char name[BR_SASL_USER_MAX];
    long nl = has_attr(&f, 'n') ? saslname_decode(f.p + 2, f.n - 2, name, sizeof name) : -1;
    if (nl <= 0 || !br__utf8_valid(f.p + 2, f.n - 2))
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-first: bad user name");
    if (!br_sasl_user_valid(name, (size_t)nl))
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-first: user name not valid");
    memcpy(s->user, name, (size_t)nl);
    s->user[nl] = '\0';
    s->user_len = (size_t)nl;
    if (authz.n != 0) {
        char az[BR_SASL_USER_MAX];
        long al = saslname_decode(authz.p + 2, authz.n - 2, az, sizeof az);
        if (al <= 0 || !br__utf8_valid(authz.p + 2, authz.n - 2))
            return br__sasl_fail(s, -EBADMSG, "SCRAM client-first: bad authzid");
        if ((size_t)al != s->user_len || memcmp(az, s->user, s->user_len) != 0)
            return br__sasl_fail(s, -ENOTSUP, "SCRAM: authorization id differs from the user");
    }
    struct field r;
    if (!next_field(&q, &r) || !has_attr(&r, 'r') || !nonce_valid(r.p + 2, r.n - 2))
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-first: bad nonce");
    while (next_field(&q, &f)) {
        int rc = extension(&f);
        if (rc == -ENOTSUP)
            return br__sasl_fail(s, rc, "SCRAM: delegation tokens not supported");
        if (rc < 0)
            return br__sasl_fail(s, rc, "SCRAM client-first: bad extension");
    }

    /* The credential, or an unknown user's stand-in. */
    int rc = s->srv->lookup
                 ? s->srv->lookup(s->srv->lookup_arg, s->mech, s->user, s->user_len, &s->cred)
                 : -ENOENT;
    if (rc == -ENOENT) {
        s->mock = true;
        if (br__scram_mock(s->srv, s->mech, s->user, s->user_len, &s->cred) != 0)
            return br__sasl_fail(s, -EIO, "OpenSSL failed");
    } else if (rc != 0) {
        return br__sasl_fail(s, -EPERM, "credential store error");
    } else if (s->cred.mech != s->mech || s->cred.iterations < BR_SCRAM_ITER_MIN ||
               s->cred.salt_len == 0 || s->cred.salt_len > BR_SCRAM_SALT_MAX) {
        return br__sasl_fail(s, -EPERM, "stored credential below 4096 iterations or unusable");
    }

    /* nonce = c-nonce s-nonce */
    size_t cn = r.n - 2, sn = 0;
    char snonce[64];
    rc = s->srv->nonce ? s->srv->nonce(s->srv->nonce_arg, snonce, sizeof snonce, &sn)
                       : default_nonce(snonce, sizeof snonce, &sn);
    if (rc != 0 || !nonce_valid(snonce, sn))
        return br__sasl_fail(s, -EIO, "no server nonce");
    if (cn + sn > sizeof s->nonce)
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-first: nonce too long");
    memcpy(s->nonce, r.p + 2, cn);
    memcpy(s->nonce + cn, snonce, sn);
    s->nonce_len = cn + sn;
    s->cnonce_len = cn;

    /* server-first */
    char salt64[(BR_SCRAM_SALT_MAX + 2) / 3 * 4 + 1];
    if (br_b64_encode(s->cred.salt, s->cred.salt_len, salt64, sizeof salt64) < 0)
        return br__sasl_fail(s, -EIO, "salt");
    int m = snprintf((char *)out, cap, "r=%.*s,s=%s,i=%d", (int)s->nonce_len, s->nonce, salt64,
                     (int)s->cred.iterations);
    if (m < 0 || (size_t)m >= cap)
        return br__sasl_fail(s, -ENOSPC, "output buffer too small");
    s->auth_len = 0;
    if (!auth_add(s, bare, (size_t)(end - bare)) || !auth_add(s, ",", 1) ||
        !auth_add(s, out, (size_t)m))
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-first: too long");
    *out_len = (size_t)m;
    s->state = BR__SASL_FINAL;
    return BR_SASL_CONTINUE;
}

int br__scram_final(struct br_sasl *s, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                    size_t *out_len)
{
    const char *p = (const char *)in;
    struct cur q = {p, p + n, false};
    if (memchr(p, '\0', n))
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-final: NUL byte");
    struct field c, r, f;
    uint8_t cb[BR__SASL_GS2_MAX];
    int cbl;
    if (!next_field(&q, &c) || !has_attr(&c, 'c') ||
        (cbl = br_b64_decode(c.p + 2, c.n - 2, cb, sizeof cb)) < 0)
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-final: bad channel binding");
    if ((size_t)cbl != s->gs2_len || memcmp(cb, s->gs2, s->gs2_len) != 0)
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-final: c= is not the gs2 header sent");
    if (!next_field(&q, &r) || !has_attr(&r, 'r') || !nonce_valid(r.p + 2, r.n - 2))
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-final: bad nonce");
    /* Kafka's ScramSaslServer accepts a nonce that ends with the one it sent (endsWith), and
     * librdkafka (to 2.x) relies on it: its client-final repeats the client nonce before the
     * combined one. The server's random part is still at the end, so a message recorded from
     * another exchange never matches; the proof covers the message as the client sent it. */
    size_t rn = r.n - 2;
    if (rn < s->nonce_len || (rn != s->nonce_len && rn != s->nonce_len + s->cnonce_len) ||
        memcmp(r.p + 2 + (rn - s->nonce_len), s->nonce, s->nonce_len) != 0 ||
        (rn != s->nonce_len && memcmp(r.p + 2, s->nonce, s->cnonce_len) != 0))
        return br__sasl_fail(s, -EPERM, "SCRAM client-final: not the nonce this exchange sent");
    /* Extensions, then the proof, which must be the last field. */
    const char *proof_at = NULL;
    size_t kl = br_scram_key_len(s->mech);
    uint8_t proof[BR_SCRAM_KEY_MAX];
    while (next_field(&q, &f)) {
        if (has_attr(&f, 'p')) {
            int pl = br_b64_decode(f.p + 2, f.n - 2, proof, sizeof proof);
            if (!q.done || pl != (int)kl)
                return br__sasl_fail(s, -EBADMSG, "SCRAM client-final: bad proof");
            proof_at = f.p;
            break;
        }
        int rc = extension(&f);
        if (rc < 0)
            return br__sasl_fail(s, -EBADMSG, "SCRAM client-final: bad extension");
    }
    if (!proof_at)
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-final: no proof");
    if (!auth_add(s, ",", 1) || !auth_add(s, p, (size_t)(proof_at - 1 - p)))
        return br__sasl_fail(s, -EBADMSG, "SCRAM client-final: too long");

    uint8_t sig[BR_SCRAM_KEY_MAX], key[BR_SCRAM_KEY_MAX], check[BR_SCRAM_KEY_MAX];
    unsigned int hl = 0;
    int rc = hmac(s->mech, s->cred.stored_key, kl, s->auth, s->auth_len, sig);
    for (size_t i = 0; rc == 0 && i < kl; i++)
        key[i] = proof[i] ^ sig[i];
    if (rc == 0 && (!EVP_Digest(key, kl, check, &hl, md_of(s->mech), NULL) || hl != kl))
        rc = -EIO;
    bool ok = rc == 0 && CRYPTO_memcmp(check, s->cred.stored_key, kl) == 0 && !s->mock;
    if (rc == 0)
        rc = hmac(s->mech, s->cred.server_key, kl, s->auth, s->auth_len, sig);
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(check, sizeof check);
    OPENSSL_cleanse(proof, sizeof proof);
    if (rc != 0)
        return br__sasl_fail(s, -EIO, "OpenSSL failed");
    if (!ok)
        return br__sasl_fail(s, -EPERM, s->mock ? "unknown user" : "wrong password (bad proof)");
    char v[(BR_SCRAM_KEY_MAX + 2) / 3 * 4 + 1];
    br_b64_encode(sig, kl, v, sizeof v);
    int m = snprintf((char *)out, cap, "v=%s", v);
    if (m < 0 || (size_t)m >= cap)
        return br__sasl_fail(s, -ENOSPC, "output buffer too small");
    *out_len = (size_t)m;
    OPENSSL_cleanse(&s->cred, sizeof s->cred);
    s->state = BR__SASL_DONE;
    return BR_SASL_DONE;
}
