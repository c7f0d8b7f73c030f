/*
 * br_tls — listener contexts and non-blocking sessions over bounded ciphertext buffers (see
 * br_tls.h).
 *
 * Why a custom BIO rather than BIO_s_mem or a BIO pair: a memory BIO grows without bound and
 * reallocates as it drains; a BIO pair copies through its own ring. The connection receives
 * straight into rx and sends straight out of tx, both fixed at session creation, so the BIO
 * here is two small callbacks over those buffers: a read with nothing buffered asks OpenSSL
 * to retry (SSL_ERROR_WANT_READ), a write that finds tx full likewise (WANT_WRITE).
 *
 * Buffer rules (what makes io_uring ops on these buffers safe):
 *   rx = [rx_off, rx_len) unread ciphertext; received bytes land at rx_len. Compaction
 *        happens only in br_tls_rx_space(), i.e. right before the caller arms a receive, when
 *        none is in flight.
 *   tx = [tx_off, tx_len) ciphertext to send; OpenSSL appends at tx_len. tx_off..tx_len never
 *        moves except in br_tls_tx_consume(), i.e. when the send of those bytes completed.
 */
#include "br_tls.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct br_tls_ctx {
    SSL_CTX *ssl_ctx;
    bool ktls;
    char key_password[256];
};

struct br_tls {
    SSL *ssl;
    bool socket_mode;
    bool established;
    bool rx_eof;
    bool in_blocked; /* the last handshake/read step waits for room in tx, not for input */
    short want;      /* socket mode: POLLIN / POLLOUT */
    char err[256];

    uint8_t *rx;
    size_t rx_off, rx_len, rx_cap;
    uint8_t *tx;
    size_t tx_off, tx_len, tx_cap;
    void *bufs_own; /* rx and tx of a session moved to memory mode (br_tls_to_memory) */
};

/* ---- the BIO over the session's buffers ------------------------------------------------ */

static BIO_METHOD *g_bio_method;
static pthread_once_t g_bio_once = PTHREAD_ONCE_INIT;

static int bio_write(BIO *b, const char *data, size_t len, size_t *written)
{
    struct br_tls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    size_t room = t->tx_cap - t->tx_len;
    if (room == 0) {
        BIO_set_retry_write(b);
        *written = 0;
        return 0;
    }
    size_t n = len < room ? len : room;
    memcpy(t->tx + t->tx_len, data, n);
    t->tx_len += n;
    *written = n;
    return 1;
}

static int bio_read(BIO *b, char *data, size_t len, size_t *readbytes)
{
    struct br_tls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    size_t avail = t->rx_len - t->rx_off;
    if (avail == 0) {
        *readbytes = 0;
        if (!t->rx_eof)
            BIO_set_retry_read(b);
        return 0;
    }
    size_t n = len < avail ? len : avail;
    memcpy(data, t->rx + t->rx_off, n);
    t->rx_off += n;
    *readbytes = n;
    return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct br_tls *t = BIO_get_data(b);
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING:
        return t ? (long)(t->rx_len - t->rx_off) : 0;
    case BIO_CTRL_WPENDING:
        return t ? (long)(t->tx_len - t->tx_off) : 0;
    case BIO_CTRL_EOF:
        return t ? (t->rx_eof && t->rx_off == t->rx_len) : 1;
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int bio_destroy(BIO *b)
{
    BIO_set_data(b, NULL);
    return 1;
}

static void bio_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "splicelog-tls");
    if (!m)
        return;
    if (!BIO_meth_set_write_ex(m, bio_write) || !BIO_meth_set_read_ex(m, bio_read) ||
        !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create) ||
        !BIO_meth_set_destroy(m, bio_destroy)) {
        BIO_meth_free(m);
        return;
    }
    g_bio_method = m;
}

/* ---- context -------------------------------------------------------------------------- */

/* Appends OpenSSL's reason for the last error (or "no detail") to a message. */
static void ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    if (!e) {
        snprintf(buf, len, "no detail from OpenSSL");
        return;
    }
    const char *r = ERR_reason_error_string(e);
    if (r)
        snprintf(buf, len, "%s", r);
    else
        ERR_error_string_n(e, buf, len);
}

#define CTX_FAIL(key, what)                                                                        \
    do {                                                                                           \
        char why_[160];                                                                            \
        ssl_reason(why_, sizeof(why_));                                                            \
        snprintf(err, errlen, "%s: %s (%s)", key, what, why_);                                     \
        goto fail;                                                                                 \
    } while (0)

static int passwd_cb(char *buf, int size, int rwflag, void *userdata)
{
    (void)rwflag;
    const struct br_tls_ctx *c = userdata;
    size_t n = strlen(c->key_password);
    if (size <= 0 || n > (size_t)size)
        return -1;
    memcpy(buf, c->key_password, n);
    return (int)n;
}

/* True when the PEM file holds an encrypted private key (PKCS#8 or legacy headers). */
static bool key_is_encrypted(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, "ENCRYPTED") != NULL;
}

/* Splits ssl.cipher.suites into TLS 1.3 suites (TLS_*) and TLS 1.2 ciphers. */
static int split_ciphers(const char *in, char *v13, size_t cap13, char *v12, size_t cap12)
{
    size_t n13 = 0, n12 = 0;
    v13[0] = v12[0] = 0;
    const char *p = in;
    while (*p) {
        while (*p == ':' || *p == ',' || *p == ' ')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, ":, ");
        bool is13 = n > 4 && strncmp(p, "TLS_", 4) == 0;
        char *dst = is13 ? v13 : v12;
        size_t *used = is13 ? &n13 : &n12;
        size_t cap = is13 ? cap13 : cap12;
        if (*used + n + 2 > cap)
            return -EINVAL;
        if (*used)
            dst[(*used)++] = ':';
        memcpy(dst + *used, p, n);
        *used += n;
        dst[*used] = 0;
        p += n;
    }
    return 0;
}

int br_tls_ctx_new(const struct br_tls_conf *conf, bool want_ktls, struct br_tls_ctx **out,
                   char *err, size_t errlen)
{
    *out = NULL;
    ERR_clear_error();
    pthread_once(&g_bio_once, bio_method_init);
    if (!g_bio_method) {
        snprintf(err, errlen, "TLS: cannot create the BIO method");
        return -ENOMEM;
    }
    if (!conf->certificate[0]) {
        snprintf(err, errlen, "ssl.certificate.location: required by an SSL listener");
        return -EINVAL;
    }
    if (!conf->key[0]) {
        snprintf(err, errlen, "ssl.key.location: required by an SSL listener");
        return -EINVAL;
    }
    if (conf->client_auth != BR_TLS_AUTH_NONE && !conf->ca[0]) {
        snprintf(err, errlen, "ssl.ca.location: required when ssl.client.auth=%s",
                 conf->client_auth == BR_TLS_AUTH_REQUIRED ? "required" : "requested");
        return -EINVAL;
    }
    struct br_tls_ctx *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "TLS: out of memory");
        return -ENOMEM;
    }
    snprintf(c->key_password, sizeof(c->key_password), "%s", conf->key_password);
    c->ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (!c->ssl_ctx)
        CTX_FAIL("TLS", "cannot create a context");
    SSL_CTX *x = c->ssl_ctx;

    int minv = (conf->versions & BR_TLS_V12) ? TLS1_2_VERSION : TLS1_3_VERSION;
    int maxv = (conf->versions & BR_TLS_V13) ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (!SSL_CTX_set_min_proto_version(x, minv) || !SSL_CTX_set_max_proto_version(x, maxv))
        CTX_FAIL("ssl.protocols", "cannot set the protocol range");

    uint64_t opts =
        SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE;
    if (want_ktls)
        opts |= SSL_OP_ENABLE_KTLS;
    SSL_CTX_set_options(x, opts);
    SSL_CTX_set_mode(x, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_clear_mode(x, SSL_MODE_RELEASE_BUFFERS);
    if (!SSL_CTX_set_max_send_fragment(x, BR_TLS_RECORD_MAX))
        CTX_FAIL("TLS", "cannot set the record size");
    static const unsigned char sid_ctx[] = "splicelog";
    SSL_CTX_set_session_id_context(x, sid_ctx, sizeof(sid_ctx) - 1);

    /* Default TLS 1.3 order: AES-128-GCM first (with AES-NI the cheapest per byte, and the
     * server's preference wins); ssl.cipher.suites replaces it. */
    if (!SSL_CTX_set_ciphersuites(x, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                     "TLS_CHACHA20_POLY1305_SHA256"))
        CTX_FAIL("ssl.cipher.suites", "cannot set the default TLS 1.3 suites");
    if (conf->cipher_suites[0]) {
        char v13[1024], v12[1024];
        if (split_ciphers(conf->cipher_suites, v13, sizeof(v13), v12, sizeof(v12)) < 0) {
            snprintf(err, errlen, "ssl.cipher.suites: list too long");
            goto fail;
        }
        if (v13[0] && !SSL_CTX_set_ciphersuites(x, v13))
            CTX_FAIL("ssl.cipher.suites", "no usable TLS 1.3 suite");
        if (v12[0] && !SSL_CTX_set_cipher_list(x, v12))
            CTX_FAIL("ssl.cipher.suites", "no usable TLS 1.2 cipher");
        if (!v12[0] && (conf->versions & BR_TLS_V12) && !(conf->versions & BR_TLS_V13)) {
            snprintf(err, errlen,
                     "ssl.cipher.suites: only TLS 1.3 suites listed, but "
                     "ssl.protocols allows TLSv1.2 only");
            goto fail;
        }
    }

    SSL_CTX_set_default_passwd_cb(x, passwd_cb);
    SSL_CTX_set_default_passwd_cb_userdata(x, c);
    if (SSL_CTX_use_certificate_chain_file(x, conf->certificate) != 1)
        CTX_FAIL("ssl.certificate.location", "cannot load the certificate chain");
    if (SSL_CTX_use_PrivateKey_file(x, conf->key, SSL_FILETYPE_PEM) != 1) {
        if (key_is_encrypted(conf->key))
            CTX_FAIL("ssl.key.password", conf->key_password[0]
                                             ? "does not decrypt ssl.key.location"
                                             : "not set, but ssl.key.location is encrypted");
        CTX_FAIL("ssl.key.location", "cannot load the private key");
    }
    if (SSL_CTX_check_private_key(x) != 1)
        CTX_FAIL("ssl.key.location", "does not match ssl.certificate.location");

    if (conf->ca[0]) {
        if (SSL_CTX_load_verify_locations(x, conf->ca, NULL) != 1)
            CTX_FAIL("ssl.ca.location", "cannot load the CA bundle");
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(conf->ca);
        if (!names)
            CTX_FAIL("ssl.ca.location", "no CA certificate in the bundle");
        SSL_CTX_set_client_CA_list(x, names);
    }
    switch (conf->client_auth) {
    case BR_TLS_AUTH_NONE:
        SSL_CTX_set_verify(x, SSL_VERIFY_NONE, NULL);
        break;
    case BR_TLS_AUTH_REQUESTED:
        SSL_CTX_set_verify(x, SSL_VERIFY_PEER, NULL);
        break;
    case BR_TLS_AUTH_REQUIRED:
        SSL_CTX_set_verify(x, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        break;
    }
    c->ktls = want_ktls;
    ERR_clear_error();
    *out = c;
    return 0;
fail:
    br_tls_ctx_free(c);
    ERR_clear_error();
    return -EINVAL;
}

void br_tls_ctx_free(struct br_tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    OPENSSL_cleanse(ctx->key_password, sizeof(ctx->key_password));
    free(ctx);
}

bool br_tls_ctx_ktls(const struct br_tls_ctx *ctx) { return ctx && ctx->ktls; }

/* ---- sessions ------------------------------------------------------------------------- */

int br_tls_new(struct br_tls_ctx *ctx, size_t tx_cap, struct br_tls **out)
{
    *out = NULL;
    if (!g_bio_method)
        return -EINVAL;
    if (tx_cap == 0)
        tx_cap = BR_TLS_TX_CAP_DEFAULT;
    if (tx_cap < 2 * (BR_TLS_RECORD_MAX + BR_TLS_RECORD_OVERHEAD))
        tx_cap = 2 * (BR_TLS_RECORD_MAX + BR_TLS_RECORD_OVERHEAD);
    ERR_clear_error();
    struct br_tls *t = calloc(1, sizeof(*t) + BR_TLS_RX_CAP + tx_cap);
    if (!t)
        return -ENOMEM;
    t->rx = (uint8_t *)(t + 1);
    t->rx_cap = BR_TLS_RX_CAP;
    t->tx = t->rx + BR_TLS_RX_CAP;
    t->tx_cap = tx_cap;
    t->ssl = SSL_new(ctx->ssl_ctx);
    BIO *bio = t->ssl ? BIO_new(g_bio_method) : NULL;
    if (!bio) {
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return -ENOMEM;
    }
    BIO_set_data(bio, t);
    SSL_set_bio(t->ssl, bio, bio); /* one reference, taken by the SSL */
    SSL_set_accept_state(t->ssl);
    *out = t;
    return 0;
}

int br_tls_new_socket(struct br_tls_ctx *ctx, int fd, struct br_tls **out)
{
    *out = NULL;
    ERR_clear_error();
    struct br_tls *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->socket_mode = true;
    t->ssl = SSL_new(ctx->ssl_ctx);
    if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1) {
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return -ENOMEM;
    }
    SSL_set_accept_state(t->ssl);
    *out = t;
    return 0;
}

int br_tls_to_memory(struct br_tls *t, size_t tx_cap)
{
    if (!t->socket_mode)
        return 0;
    BIO *r = SSL_get_rbio(t->ssl), *w = SSL_get_wbio(t->ssl);
    if ((r && BIO_get_ktls_recv(r)) || (w && BIO_get_ktls_send(w)) || SSL_has_pending(t->ssl))
        return -EBUSY;
    if (!g_bio_method)
        return -EINVAL;
    if (tx_cap == 0)
        tx_cap = BR_TLS_TX_CAP_DEFAULT;
    if (tx_cap < 2 * (BR_TLS_RECORD_MAX + BR_TLS_RECORD_OVERHEAD))
        tx_cap = 2 * (BR_TLS_RECORD_MAX + BR_TLS_RECORD_OVERHEAD);
    uint8_t *mem = malloc(BR_TLS_RX_CAP + tx_cap);
    BIO *bio = mem ? BIO_new(g_bio_method) : NULL;
    if (!bio) {
        free(mem);
        ERR_clear_error();
        return -ENOMEM;
    }
    t->bufs_own = mem;
    t->rx = mem;
    t->rx_cap = BR_TLS_RX_CAP;
    t->rx_off = t->rx_len = 0;
    t->tx = mem + BR_TLS_RX_CAP;
    t->tx_cap = tx_cap;
    t->tx_off = t->tx_len = 0;
    BIO_set_data(bio, t);
    SSL_set_bio(t->ssl, bio, bio); /* frees the socket BIO; the fd stays open (BIO_NOCLOSE) */
    t->socket_mode = false;
    t->want = 0;
    return 0;
}

bool br_tls_socket_mode(const struct br_tls *t) { return t->socket_mode; }

void br_tls_free(struct br_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    ERR_clear_error();
    free(t->bufs_own);
    free(t);
}

/* ---- ciphertext ----------------------------------------------------------------------- */

uint8_t *br_tls_rx_space(struct br_tls *t, size_t *len)
{
    if (t->rx_off > 0) {
        memmove(t->rx, t->rx + t->rx_off, t->rx_len - t->rx_off);
        t->rx_len -= t->rx_off;
        t->rx_off = 0;
    }
    *len = t->rx_cap - t->rx_len;
    return t->rx + t->rx_len;
}

void br_tls_rx_commit(struct br_tls *t, size_t n)
{
    if (n > t->rx_cap - t->rx_len)
        n = t->rx_cap - t->rx_len; /* a caller bug; never write past the buffer */
    t->rx_len += n;
}

void br_tls_rx_eof(struct br_tls *t) { t->rx_eof = true; }

size_t br_tls_rx_pending(const struct br_tls *t) { return t->rx_len - t->rx_off; }

const uint8_t *br_tls_rx_peek(const struct br_tls *t, size_t *len)
{
    *len = t->rx_len - t->rx_off;
    return t->rx + t->rx_off;
}

const uint8_t *br_tls_tx_data(const struct br_tls *t, size_t *len)
{
    *len = t->tx_len - t->tx_off;
    return t->tx + t->tx_off;
}

void br_tls_tx_consume(struct br_tls *t, size_t n)
{
    size_t have = t->tx_len - t->tx_off;
    if (n > have)
        n = have;
    t->tx_off += n;
    if (t->tx_off == t->tx_len) {
        t->tx_off = t->tx_len = 0;
    } else if (t->tx_cap - t->tx_len < BR_TLS_RECORD_MAX + BR_TLS_RECORD_OVERHEAD) {
        /* the send of these bytes completed: nothing refers to tx now */
        memmove(t->tx, t->tx + t->tx_off, t->tx_len - t->tx_off);
        t->tx_len -= t->tx_off;
        t->tx_off = 0;
    }
}

size_t br_tls_tx_room(const struct br_tls *t) { return t->tx_cap - t->tx_len; }

/* ---- the protocol --------------------------------------------------------------------- */

/* Maps an SSL_get_error() outcome to -errno and records the reason. */
static int ssl_fail(struct br_tls *t, int ret)
{
    int e = SSL_get_error(t->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        t->want = POLLIN;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        t->want = POLLOUT;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        snprintf(t->err, sizeof(t->err), "peer sent close_notify");
        return -ESHUTDOWN;
    case SSL_ERROR_SYSCALL: {
        unsigned long le = ERR_peek_last_error();
        if (le) {
            ssl_reason(t->err, sizeof(t->err));
            return -EPROTO;
        }
        snprintf(t->err, sizeof(t->err), "peer closed the connection %s",
                 t->established ? "without close_notify" : "mid-handshake");
        return -ECONNRESET;
    }
    case SSL_ERROR_SSL:
    default: {
        long vr = SSL_get_verify_result(t->ssl);
        unsigned long le = ERR_peek_last_error();
        int reason = ERR_GET_REASON(le);
        if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
            snprintf(t->err, sizeof(t->err), "client certificate required, none presented");
            return -EACCES;
        }
        if (vr != X509_V_OK || reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
            snprintf(t->err, sizeof(t->err), "client certificate refused: %s",
                     X509_verify_cert_error_string(vr));
            return -EACCES;
        }
        if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            snprintf(t->err, sizeof(t->err), "peer closed the connection %s",
                     t->established ? "without close_notify" : "mid-handshake");
            return -ECONNRESET;
        }
        char why[160];
        ssl_reason(why, sizeof(why));
        if (!t->established && reason == SSL_R_WRONG_VERSION_NUMBER)
            snprintf(t->err, sizeof(t->err), "not a TLS client (%s)", why);
        else
            snprintf(t->err, sizeof(t->err), "%s", why);
        return -EPROTO;
    }
    }
}

int br_tls_handshake(struct br_tls *t)
{
    if (t->established)
        return 0;
    ERR_clear_error();
    int ret = SSL_do_handshake(t->ssl);
    t->in_blocked = false;
    if (ret == 1) {
        t->established = true;
        return 0;
    }
    int rc = ssl_fail(t, ret);
    ERR_clear_error();
    t->in_blocked = rc == -EAGAIN && t->want == POLLOUT;
    return rc == -ESHUTDOWN ? -ECONNRESET : rc;
}

bool br_tls_established(const struct br_tls *t) { return t->established; }

ssize_t br_tls_read(struct br_tls *t, void *buf, size_t len)
{
    if (len == 0)
        return -EINVAL;
    ERR_clear_error();
    size_t n = 0;
    int ret = SSL_read_ex(t->ssl, buf, len, &n);
    t->in_blocked = false;
    if (ret == 1)
        return (ssize_t)n;
    int rc = ssl_fail(t, ret);
    ERR_clear_error();
    t->in_blocked = rc == -EAGAIN && t->want == POLLOUT;
    return rc == -ESHUTDOWN ? 0 : rc;
}

size_t br_tls_read_pending(const struct br_tls *t) { return (size_t)SSL_pending(t->ssl); }

ssize_t br_tls_write(struct br_tls *t, const void *buf, size_t len)
{
    if (len == 0)
        return -EINVAL;
    if (len > BR_TLS_RECORD_MAX)
        len = BR_TLS_RECORD_MAX;
    if (!t->socket_mode && t->tx_cap - t->tx_len < len + BR_TLS_RECORD_OVERHEAD) {
        /* a record goes into tx whole or not at all */
        t->want = POLLOUT;
        return -EAGAIN;
    }
    ERR_clear_error();
    size_t n = 0;
    int ret = SSL_write_ex(t->ssl, buf, len, &n);
    if (ret == 1)
        return (ssize_t)n;
    int rc = ssl_fail(t, ret);
    ERR_clear_error();
    return rc == -ESHUTDOWN ? -ECONNRESET : rc;
}

void br_tls_shutdown(struct br_tls *t)
{
    if (!t->established)
        return;
    ERR_clear_error();
    SSL_shutdown(t->ssl);
    ERR_clear_error();
}

short br_tls_want(const struct br_tls *t) { return t->want; }

bool br_tls_input_blocked(const struct br_tls *t) { return t->in_blocked; }

/* ---- description ---------------------------------------------------------------------- */

const char *br_tls_error(const struct br_tls *t) { return t->err; }

void br_tls_describe(const struct br_tls *t, char *buf, size_t len)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
    snprintf(buf, len, "%s %s", SSL_get_version(t->ssl), c ? SSL_CIPHER_get_name(c) : "-");
}

void br_tls_peer_subject(const struct br_tls *t, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = 0;
    X509 *cert = SSL_get1_peer_certificate(t->ssl);
    if (!cert)
        return;
    if (SSL_get_verify_result(t->ssl) == X509_V_OK) {
        /* RFC 2253, as Java's X500Principal.getName() gives it to Kafka ("CN=a,OU=b", most
         * specific first): ssl.principal.mapping.rules written for Kafka match it */
        BIO *b = BIO_new(BIO_s_mem());
        if (b && X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
            int n = BIO_read(b, buf, (int)(len - 1 > INT32_MAX ? INT32_MAX : len - 1));
            buf[n > 0 ? n : 0] = 0;
        }
        BIO_free(b);
    }
    X509_free(cert);
}

bool br_tls_sniff(const uint8_t *p, size_t len)
{
    /* content type: 0x15 alert, 0x16 handshake; legacy version 3.x */
    return len >= 3 && (p[0] == 0x16 || p[0] == 0x15) && p[1] == 0x03 && p[2] <= 0x04;
}

/* ---- for br_ktls.c -------------------------------------------------------------------- */

SSL *br__tls_ssl(const struct br_tls *t);
int br__tls_fail(struct br_tls *t, int ret);

SSL *br__tls_ssl(const struct br_tls *t) { return t->ssl; }

int br__tls_fail(struct br_tls *t, int ret)
{
    int rc = ssl_fail(t, ret);
    ERR_clear_error();
    return rc == -ESHUTDOWN ? -ECONNRESET : rc;
}
