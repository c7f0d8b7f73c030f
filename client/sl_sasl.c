/*
 * sl_sasl.c — PLAIN and SCRAM-SHA-256/512, client side (sl_sasl.h).
 *
 * PLAIN (RFC 4616): one token, "" NUL user NUL password; the broker's answer ends it.
 *
 * SCRAM (RFC 5802 section 3, with RFC 7677's SHA-256 and Kafka's SHA-512):
 *   step 0  client-first   "n,," bare, where bare = "n=" escaped-user ",r=" c-nonce
 *   step 1  server-first   "r=" c-nonce s-nonce ",s=" base64(salt) ",i=" iterations [",..."]
 *           client-final   without-proof ",p=" base64(ClientKey XOR ClientSignature),
 *                          without-proof = "c=biws,r=" c-nonce s-nonce   ("biws" = base64 "n,,")
 *   step 2  server-final   "v=" base64(ServerSignature)   or "e=" reason
 * with SaltedPassword = Hi(password, salt, i) (PBKDF2), ClientKey = HMAC(SaltedPassword,
 * "Client Key"), StoredKey = H(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key"),
 * AuthMessage = bare "," server-first "," without-proof, ClientSignature = HMAC(StoredKey,
 * AuthMessage), ServerSignature = HMAC(ServerKey, AuthMessage). The expected ServerSignature
 * is computed at step 1 and kept; SaltedPassword and ClientKey are wiped as soon as used.
 * A server-first with a mandatory extension ("m=") is refused, as RFC 5802 says.
 */
#include "sl_sasl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define KEY_MAX 64 /* SHA-512 */

struct sl__sasl {
    int mech;
    int step;   /* tokens produced so far; -1 once finished (done or failed) */
    char *user; /* as given */
    char *pw;   /* wiped at free */
    char nonce[64];
    char *bare;   /* client-first-bare (SCRAM) */
    uint8_t *tok; /* the last token produced */
    size_t tok_len;
    uint8_t server_sig[KEY_MAX]; /* expected, from step 1 */
    size_t key_len;
    char why[160];
};

const char *sl__sasl_mech_name(int mech)
{
    switch (mech) {
    case SL__SASL_PLAIN:
        return "PLAIN";
    case SL__SASL_SCRAM_SHA_256:
        return "SCRAM-SHA-256";
    case SL__SASL_SCRAM_SHA_512:
        return "SCRAM-SHA-512";
    default:
        return NULL;
    }
}

static const EVP_MD *digest_of(int mech)
{
    if (mech == SL__SASL_SCRAM_SHA_256)
        return EVP_sha256();
    if (mech == SL__SASL_SCRAM_SHA_512)
        return EVP_sha512();
    return NULL;
}

int sl__scram_salted_password(int mech, const char *password, const uint8_t *salt, size_t salt_len,
                              int iterations, uint8_t *out, size_t out_cap, size_t *out_len)
{
    const EVP_MD *md = digest_of(mech);
    if (!md || iterations < SL__SCRAM_ITER_MIN || iterations > SL__SCRAM_ITER_MAX ||
        salt_len == 0 || salt_len > INT32_MAX)
        return -EINVAL;
    size_t n = (size_t)EVP_MD_get_size(md);
    if (out_cap < n || strlen(password) > INT32_MAX)
        return -EINVAL;
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, iterations, md,
                          (int)n, out) != 1)
        return -EIO;
    *out_len = n;
    return 0;
}

/* ---- base64 (standard alphabet, padded) ------------------------------------------------- */

static size_t b64_len(size_t n) { return (n + 2) / 3 * 4; }

/* Decodes exactly n characters of padded base64 into out (cap bytes): the byte count, or -1. */
static long b64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
    if (n == 0 || n % 4 || n / 4 * 3 > cap || n > INT32_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (in[i] == ',' || (unsigned char)in[i] <= ' ')
            return -1; /* EVP_DecodeBlock skips white space; a SCRAM attribute has none */
    int got = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (got < 0)
        return -1;
    int pad = (in[n - 1] == '=') + (in[n - 2] == '=');
    return got - pad;
}

/* ---- exchange ---------------------------------------------------------------------------- */

/* A field quoted in a reason: at most 100 bytes of it. */
#define QUOTE(n) ((int)((n) > 100 ? 100 : (n)))

static int fail(struct sl__sasl *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct sl__sasl *s, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
    s->step = -1;
    return err;
}

/* Replaces the held token with n bytes (copied from p when not NULL). NULL when out of memory. */
static uint8_t *new_token(struct sl__sasl *s, const void *p, size_t n)
{
    if (s->tok) {
        OPENSSL_cleanse(s->tok, s->tok_len);
        free(s->tok);
    }
    s->tok_len = 0;
    s->tok = malloc(n ? n : 1);
    if (!s->tok)
        return NULL;
    if (p)
        memcpy(s->tok, p, n);
    s->tok_len = n;
    return s->tok;
}

int sl__sasl_new(int mech, const char *user, const char *password, const char *nonce,
                 struct sl__sasl **out)
{
    *out = NULL;
    if (!sl__sasl_mech_name(mech) || !user || !password)
        return -EINVAL;
    struct sl__sasl *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->mech = mech;
    s->user = strdup(user);
    s->pw = strdup(password);
    if (!s->user || !s->pw) {
        sl__sasl_free(s);
        return -ENOMEM;
    }
    if (nonce) {
        if (strlen(nonce) >= sizeof s->nonce || !*nonce || strchr(nonce, ',')) {
            sl__sasl_free(s);
            return -EINVAL;
        }
        strcpy(s->nonce, nonce);
    } else {
        uint8_t raw[24];
        if (RAND_bytes(raw, sizeof raw) != 1) {
            sl__sasl_free(s);
            return -EIO;
        }
        EVP_EncodeBlock((unsigned char *)s->nonce, raw, sizeof raw); /* 32 chars, no ',' */
    }
    *out = s;
    return 0;
}

void sl__sasl_free(struct sl__sasl *s)
{
    if (!s)
        return;
    if (s->pw)
        OPENSSL_cleanse(s->pw, strlen(s->pw));
    if (s->tok)
        OPENSSL_cleanse(s->tok, s->tok_len);
    free(s->pw);
    free(s->user);
    free(s->bare);
    free(s->tok);
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

const char *sl__sasl_why(const struct sl__sasl *s) { return s->why; }

static int plain_first(struct sl__sasl *s)
{
    size_t ul = strlen(s->user), pl = strlen(s->pw);
    uint8_t *t = new_token(s, NULL, ul + pl + 2);
    if (!t)
        return -ENOMEM;
    t[0] = 0;
    memcpy(t + 1, s->user, ul);
    t[1 + ul] = 0;
    memcpy(t + 2 + ul, s->pw, pl);
    return 1;
}

static int scram_first(struct sl__sasl *s)
{
    size_t ul = strlen(s->user);
    s->bare = malloc(3 * ul + strlen(s->nonce) + 8);
    if (!s->bare)
        return -ENOMEM;
    char *p = s->bare;
    p += sprintf(p, "n=");
    for (const char *u = s->user; *u; u++) {
        if (*u == '=')
            p += sprintf(p, "=3D");
        else if (*u == ',')
            p += sprintf(p, "=2C");
        else
            *p++ = *u;
    }
    sprintf(p, ",r=%s", s->nonce);
    size_t bl = strlen(s->bare);
    uint8_t *t = new_token(s, NULL, 3 + bl);
    if (!t)
        return -ENOMEM;
    memcpy(t, "n,,", 3);
    memcpy(t + 3, s->bare, bl);
    return 1;
}

/* The value of attribute `name` at the start of [*p, end): sets *v, *vl and moves *p past the
 * following ','. false when the next attribute is another one. */
static bool attr(const char **p, const char *end, char name, const char **v, size_t *vl)
{
    if (end - *p < 2 || (*p)[0] != name || (*p)[1] != '=')
        return false;
    *v = *p + 2;
    const char *comma = memchr(*v, ',', (size_t)(end - *v));
    *vl = (size_t)((comma ? comma : end) - *v);
    *p = comma ? comma + 1 : end;
    return true;
}

static int hmac(const EVP_MD *md, const uint8_t *key, size_t kl, const void *msg, size_t ml,
                uint8_t *out)
{
    unsigned int n = 0;
    return HMAC(md, key, (int)kl, msg, ml, out, &n) && n == kl ? 0 : -EIO;
}

/* The keys of step 1: *proof and s->server_sig from the salted password and AuthMessage. */
static int scram_keys(struct sl__sasl *s, const EVP_MD *md, const uint8_t *salted,
                      const char *auth_msg, size_t am_len, uint8_t *proof)
{
    size_t kl = s->key_len;
    uint8_t client_key[KEY_MAX], stored[KEY_MAX], server_key[KEY_MAX];
    unsigned int n = 0;
    int err = hmac(md, salted, kl, "Client Key", 10, client_key);
    if (!err && (!EVP_Digest(client_key, kl, stored, &n, md, NULL) || n != kl))
        err = -EIO;
    if (!err)
        err = hmac(md, stored, kl, auth_msg, am_len, proof); /* ClientSignature */
    for (size_t i = 0; !err && i < kl; i++)
        proof[i] ^= client_key[i];
    if (!err)
        err = hmac(md, salted, kl, "Server Key", 10, server_key);
    if (!err)
        err = hmac(md, server_key, kl, auth_msg, am_len, s->server_sig);
    OPENSSL_cleanse(client_key, sizeof client_key);
    OPENSSL_cleanse(stored, sizeof stored);
    OPENSSL_cleanse(server_key, sizeof server_key);
    return err;
}

static int scram_final(struct sl__sasl *s, const uint8_t *in, size_t n)
{
    const char *p = (const char *)in, *end = p + n;
    const char *r, *salt_b64, *it;
    size_t rl, sl, il;
    if (memchr(in, 0, n))
        return fail(s, -EBADMSG, "server-first message with a NUL byte");
    if (n >= 2 && p[0] == 'm' && p[1] == '=')
        return fail(s, -EBADMSG, "server-first message with a mandatory extension");
    if (!attr(&p, end, 'r', &r, &rl) || !attr(&p, end, 's', &salt_b64, &sl) ||
        !attr(&p, end, 'i', &it, &il))
        return fail(s, -EBADMSG, "malformed server-first message: %.*s", QUOTE(n),
                    (const char *)in);
    size_t cl = strlen(s->nonce);
    if (rl <= cl || memcmp(r, s->nonce, cl) != 0)
        return fail(s, -EBADMSG, "the server nonce does not extend ours: %.*s", QUOTE(rl), r);
    for (size_t i = 0; i < rl; i++)
        if (r[i] < 0x21 || r[i] > 0x7e)
            return fail(s, -EBADMSG, "bad character in the server nonce: %.*s", QUOTE(rl), r);
    long iters = 0;
    for (size_t i = 0; i < il; i++) {
        if (it[i] < '0' || it[i] > '9' || iters > SL__SCRAM_ITER_MAX)
            return fail(s, -EBADMSG, "bad iteration count: %.*s", QUOTE(il), it);
        iters = iters * 10 + (it[i] - '0');
    }
    if (il == 0 || iters < SL__SCRAM_ITER_MIN || iters > SL__SCRAM_ITER_MAX)
        return fail(s, -EBADMSG, "iteration count %.*s outside 4096..16384", QUOTE(il), it);
    uint8_t salt[128];
    long salt_len = b64_decode(salt_b64, sl, salt, sizeof salt);
    if (salt_len <= 0)
        return fail(s, -EBADMSG, "bad salt: %.*s", QUOTE(sl), salt_b64);

    const EVP_MD *md = digest_of(s->mech);
    uint8_t salted[KEY_MAX], proof[KEY_MAX];
    int err = sl__scram_salted_password(s->mech, s->pw, salt, (size_t)salt_len, (int)iters, salted,
                                        sizeof salted, &s->key_len);
    if (err)
        return fail(s, err, "PBKDF2 failed");
    /* without-proof, then AuthMessage = bare "," server-first "," without-proof. */
    size_t wl = 9 + rl, bl = strlen(s->bare);
    size_t am_len = bl + 1 + n + 1 + wl;
    char *am = malloc(am_len + 1);
    uint8_t *t = am ? new_token(s, NULL, wl + 3 + b64_len(s->key_len) + 1) : NULL;
    if (!t) {
        free(am);
        OPENSSL_cleanse(salted, sizeof salted);
        return -ENOMEM;
    }
    int wn = snprintf((char *)t, wl + 1, "c=biws,r=%.*s", (int)rl, r);
    memcpy(am, s->bare, bl);
    am[bl] = ',';
    memcpy(am + bl + 1, in, n);
    am[bl + 1 + n] = ',';
    memcpy(am + bl + 2 + n, t, wl);
    err = wn == (int)wl ? scram_keys(s, md, salted, am, am_len, proof) : -EIO;
    OPENSSL_cleanse(salted, sizeof salted);
    free(am);
    if (err)
        return fail(s, err, "HMAC failed");
    memcpy(t + wl, ",p=", 3);
    int pl = EVP_EncodeBlock(t + wl + 3, proof, (int)s->key_len);
    OPENSSL_cleanse(proof, sizeof proof);
    s->tok_len = wl + 3 + (size_t)pl;
    return 1;
}

static int scram_verify(struct sl__sasl *s, const uint8_t *in, size_t n)
{
    const char *p = (const char *)in, *end = p + n, *v;
    size_t vl;
    if (attr(&p, end, 'e', &v, &vl))
        return fail(s, -EACCES, "the broker refused the proof: %.*s", QUOTE(vl), v);
    uint8_t sig[KEY_MAX + 3];
    long got = attr(&p, end, 'v', &v, &vl) ? b64_decode(v, vl, sig, sizeof sig) : -1;
    if (got < 0)
        return fail(s, -EBADMSG, "malformed server-final message: %.*s", QUOTE(n),
                    (const char *)in);
    if ((size_t)got != s->key_len || CRYPTO_memcmp(sig, s->server_sig, s->key_len) != 0)
        return fail(s, -EACCES,
                    "the broker's signature does not match (it does not know the password)");
    return 0;
}

int sl__sasl_step(struct sl__sasl *s, const uint8_t *in, size_t in_len, const uint8_t **out,
                  size_t *out_len)
{
    int rc;
    if (s->step < 0)
        return fail(s, -EPROTO, "the exchange is over");
    if (!in)
        in_len = 0;
    switch (s->step) {
    case 0:
        rc = s->mech == SL__SASL_PLAIN ? plain_first(s) : scram_first(s);
        break;
    case 1:
        rc = s->mech == SL__SASL_PLAIN ? 0 : scram_final(s, in ? in : (const uint8_t *)"", in_len);
        break;
    default:
        rc = scram_verify(s, in ? in : (const uint8_t *)"", in_len);
        break;
    }
    if (rc == 1) {
        s->step++;
        *out = s->tok;
        *out_len = s->tok_len;
    } else {
        s->step = -1;
    }
    return rc;
}
