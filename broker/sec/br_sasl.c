/*
 * br_sasl — exchanges, PLAIN (RFC 4616), and the shared helpers (br_sasl.h). SCRAM's two
 * messages and its key arithmetic are br_sasl_scram.c.
 *
 * PLAIN's one client token is  [authzid] NUL authcid NUL passwd  (RFC 4616 section 2):
 * exactly two NULs; authcid and passwd non-empty UTF-8; authzid empty or equal to authcid
 * (Kafka's PlainSaslServer rule: no acting as another user). The password is checked against
 * the user's SCRAM credential (SCRAM-SHA-256 first, then -512): Hi(passwd, salt, i) gives the
 * ClientKey, whose hash must equal StoredKey. PLAIN therefore costs one PBKDF2 per
 * authentication (about 2 ms at 4096 iterations), which SCRAM's server side never does.
 */
#include "br_sasl.h"
#include "br_sasl_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* ---- names ------------------------------------------------------------------------------- */

const char *br_sasl_mech_name(enum br_sasl_mech mech)
{
    switch (mech) {
    case BR_SASL_PLAIN:
        return "PLAIN";
    case BR_SASL_SCRAM_SHA_256:
        return "SCRAM-SHA-256";
    case BR_SASL_SCRAM_SHA_512:
        return "SCRAM-SHA-512";
    }
    return NULL;
}

int br_sasl_mech_parse(const char *name, size_t len, enum br_sasl_mech *out)
{
    static const enum br_sasl_mech all[] = {BR_SASL_PLAIN, BR_SASL_SCRAM_SHA_256,
                                            BR_SASL_SCRAM_SHA_512};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *n = br_sasl_mech_name(all[i]);
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return -ENOENT;
}

size_t br_scram_key_len(enum br_sasl_mech mech)
{
    return mech == BR_SASL_SCRAM_SHA_256 ? 32 : mech == BR_SASL_SCRAM_SHA_512 ? 64 : 0;
}

/* ---- UTF-8 and user names ---------------------------------------------------------------- */

/* Decodes one UTF-8 sequence at p (n bytes left): its length, or 0 when invalid; *cp gets
 * the code point. */
static size_t utf8_one(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

bool br__utf8_valid(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = utf8_one(u + i, n - i, &cp);
        if (l == 0 || cp == 0)
            return false;
        i += l;
    }
    return true;
}

bool br_sasl_user_valid(const char *name, size_t len)
{
    if (len == 0 || len > BR_SASL_USER_MAX)
        return false;
    const unsigned char *u = (const unsigned char *)name;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t l = utf8_one(u + i, len - i, &cp);
        if (l == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            return false;
        i += l;
    }
    return true;
}

/* ---- base64 ------------------------------------------------------------------------------ */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int br_b64_encode(const uint8_t *in, size_t n, char *out, size_t out_cap)
{
    size_t need = (n + 2) / 3 * 4;
    if (out_cap < need + 1)
        return -ENOSPC;
    char *o = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        *o++ = b64_alphabet[v >> 18 & 63];
        *o++ = b64_alphabet[v >> 12 & 63];
        *o++ = i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? b64_alphabet[v & 63] : '=';
    }
    *o = '\0';
    return (int)need;
}

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int br_b64_decode(const char *in, size_t n, uint8_t *out, size_t out_cap)
{
    if (n % 4 != 0 || n > (size_t)INT32_MAX)
        return -EBADMSG;
    size_t pad = 0;
    if (n >= 4 && in[n - 1] == '=')
        pad = in[n - 2] == '=' ? 2 : 1;
    size_t len = n / 4 * 3 - pad;
    if (len > out_cap)
        return -ENOSPC;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        int v[4];
        for (int k = 0; k < 4; k++) {
            bool padded = last && k >= 4 - (int)pad;
            v[k] = padded ? 0 : b64_val(in[i + k]);
            if (v[k] < 0)
                return -EBADMSG;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | v[3];
        /* Canonical form: the bits a padded group does not use are zero. */
        if (last && ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0)))
            return -EBADMSG;
        out[o++] = (uint8_t)(w >> 16);
        if (!last || pad < 2)
            out[o++] = (uint8_t)(w >> 8);
        if (!last || pad < 1)
            out[o++] = (uint8_t)w;
    }
    return (int)len;
}

/* ---- exchanges --------------------------------------------------------------------------- */

int br_sasl_server_init(struct br_sasl_server *s, br_sasl_lookup_fn lookup, void *arg)
{
    memset(s, 0, sizeof *s);
    s->lookup = lookup;
    s->lookup_arg = arg;
    s->mock_iterations = BR_SCRAM_ITER_MIN;
    return RAND_bytes(s->mock_secret, sizeof s->mock_secret) == 1 ? 0 : -EIO;
}

int br_sasl_new(const struct br_sasl_server *srv, enum br_sasl_mech mech, struct br_sasl **out)
{
    if (!br_sasl_mech_name(mech))
        return -EINVAL;
    struct br_sasl *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->srv = srv;
    s->mech = mech;
    s->state = BR__SASL_START;
    s->reason = "";
    *out = s;
    return 0;
}

void br_sasl_free(struct br_sasl *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

enum br_sasl_mech br_sasl_mech(const struct br_sasl *s) { return s->mech; }
const char *br_sasl_user(const struct br_sasl *s) { return s->user; }
const char *br_sasl_reason(const struct br_sasl *s) { return s->reason; }

int br__sasl_fail(struct br_sasl *s, int err, const char *reason)
{
    s->state = BR__SASL_FAILED;
    s->reason = reason;
    OPENSSL_cleanse(&s->cred, sizeof s->cred);
    return err;
}

/* Keeps name as the exchange's user (for log lines), if it is one the broker accepts. */
static bool set_user(struct br_sasl *s, const char *name, size_t len)
{
    if (!br_sasl_user_valid(name, len))
        return false;
    memcpy(s->user, name, len);
    s->user[len] = '\0';
    s->user_len = len;
    return true;
}

/* The password against one credential: H(HMAC(Hi(pw, salt, i), "Client Key")) == StoredKey. */
static int plain_verify(const struct br_scram_cred *c, const char *pw, size_t pw_len, bool *ok)
{
    struct br_scram_cred mine;
    int rc = br_scram_cred_from_password(c->mech, pw, pw_len, c->salt, c->salt_len, c->iterations,
                                         &mine);
    if (rc == 0) {
        size_t kl = br_scram_key_len(c->mech);
        *ok = CRYPTO_memcmp(mine.stored_key, c->stored_key, kl) == 0;
    }
    OPENSSL_cleanse(&mine, sizeof mine);
    return rc;
}

static int plain_step(struct br_sasl *s, const uint8_t *in, size_t n)
{
    const char *p = (const char *)in;
    const char *nul1 = memchr(p, '\0', n);
    const char *nul2 = nul1 ? memchr(nul1 + 1, '\0', n - (size_t)(nul1 + 1 - p)) : NULL;
    if (!nul2 || memchr(nul2 + 1, '\0', n - (size_t)(nul2 + 1 - p)))
        return br__sasl_fail(s, -EBADMSG, "PLAIN: not authzid NUL authcid NUL passwd");
    size_t zlen = (size_t)(nul1 - p);
    const char *user = nul1 + 1;
    size_t ulen = (size_t)(nul2 - user);
    const char *pw = nul2 + 1;
    size_t plen = n - (size_t)(pw - p);
    if (ulen == 0 || plen == 0)
        return br__sasl_fail(s, -EBADMSG, "PLAIN: empty user name or password");
    if (!br__utf8_valid(p, zlen) || !br__utf8_valid(pw, plen) || plen > BR_SASL_PASSWORD_MAX)
        return br__sasl_fail(s, -EBADMSG, "PLAIN: authzid or password not UTF-8, or too long");
    if (!set_user(s, user, ulen))
        return br__sasl_fail(s, -EBADMSG, "PLAIN: user name not valid");
    if (zlen != 0 && (zlen != ulen || memcmp(p, user, ulen) != 0))
        return br__sasl_fail(s, -ENOTSUP, "PLAIN: authorization id differs from the user");

    struct br_scram_cred c;
    int rc = -ENOENT;
    if (s->srv->lookup) {
        rc = s->srv->lookup(s->srv->lookup_arg, BR_SASL_SCRAM_SHA_256, user, ulen, &c);
        if (rc == -ENOENT)
            rc = s->srv->lookup(s->srv->lookup_arg, BR_SASL_SCRAM_SHA_512, user, ulen, &c);
    }
    bool known = rc == 0;
    if (rc != 0 && rc != -ENOENT) {
        OPENSSL_cleanse(&c, sizeof c);
        return br__sasl_fail(s, -EPERM, "credential store error");
    }
    if (known && (c.iterations < BR_SCRAM_ITER_MIN || !br_sasl_is_scram(c.mech))) {
        OPENSSL_cleanse(&c, sizeof c);
        return br__sasl_fail(s, -EPERM, "stored credential below 4096 iterations");
    }
    /* An unknown user costs the same PBKDF2 as a known one. */
    if (!known && br__scram_mock(s->srv, BR_SASL_SCRAM_SHA_256, user, ulen, &c) != 0)
        return br__sasl_fail(s, -EIO, "OpenSSL failed");
    bool ok = false;
    rc = plain_verify(&c, pw, plen, &ok);
    OPENSSL_cleanse(&c, sizeof c);
    if (rc != 0)
        return br__sasl_fail(s, -EIO, "OpenSSL failed");
    if (!known)
        return br__sasl_fail(s, -EPERM, "unknown user");
    if (!ok)
        return br__sasl_fail(s, -EPERM, "wrong password");
    s->state = BR__SASL_DONE;
    return BR_SASL_DONE;
}

int br_sasl_step(struct br_sasl *s, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                 size_t *out_len)
{
    *out_len = 0;
    if (s->state == BR__SASL_DONE || s->state == BR__SASL_FAILED)
        return br__sasl_fail(s, -EPROTO, "token after the exchange ended");
    if (in_len > BR_SASL_TOKEN_MAX)
        return br__sasl_fail(s, -EBADMSG, "token too long");
    if (s->mech == BR_SASL_PLAIN)
        return plain_step(s, in, in_len);
    int rc = s->state == BR__SASL_START ? br__scram_first(s, in, in_len, out, out_cap, out_len)
                                        : br__scram_final(s, in, in_len, out, out_cap, out_len);
    if (rc < 0)
        *out_len = 0;
    return rc;
}
