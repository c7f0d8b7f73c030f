/*
 * sl_tls.c — TLS for the client's broker connections (security.protocol=ssl), OpenSSL 3.
 *
 * One SSL_CTX per handle, built from the conf when the handle is created (so that a missing CA
 * file, a key that does not match its certificate or a wrong ssl.key.password are reported by
 * sl_producer_new/sl_consumer_new with the reason in errstr); one SSL per connection attempt,
 * created once the TCP connect has finished and freed when the connection fails or closes.
 *
 * Why OpenSSL drives the socket itself (SSL_read/SSL_write over a socket BIO) rather than
 * memory BIOs: the client owns a plain non-blocking socket and a poll(2) loop, and a socket
 * BIO does on that socket exactly the non-blocking recv/send we would otherwise do by hand
 * around a pair of memory BIOs, without copying every ciphertext byte once more through BIO
 * buffers. Memory BIOs are for when someone else does the I/O (the broker's io_uring
 * completions); here the only work left is to map SSL_ERROR_WANT_READ/WANT_WRITE onto poll
 * interest (sl__tls_events) and to remember that OpenSSL may hold bytes poll cannot see
 * (sl__tls_pending: decrypted ones, and ciphertext read ahead). The BIO is our own small one
 * (sock_bio_*), not BIO_s_socket: OpenSSL's writes with write(2), and a library must not kill its
 * application with SIGPIPE when a broker goes away; ours sends with MSG_NOSIGNAL like the plaintext
 * path.
 *
 * Writes: a request is a list of iovecs (frame head, borrowed record batches); SSL_write takes
 * one buffer and makes at least one TLS record of every call, so writing each iovec would put
 * tiny records on the wire. sl__tls_writev gathers up to SL__TLS_STAGE bytes into a staging
 * buffer (allocated with the SSL, reused for every write) and writes that. OpenSSL requires a
 * write that returned WANT_* to be retried with the same bytes: the stage keeps them, and the
 * caller (sl_conn.c) does not advance its requests until the stage has been accepted, so the
 * iovecs it passes on the retry start with exactly the staged bytes (asserted by length).
 *
 * Verification: the broker's certificate chain against ssl.ca.location (a file or a directory
 * of hashed certificates; the system's default paths when unset), and, with
 * ssl.endpoint.identification.algorithm=https (the default, as in librdkafka 2.x), the
 * broker's host name (DNS subjectAltName) or IP address (IP subjectAltName) as the client
 * dialled it. SNI carries the host name (not for an IP literal). TLS 1.2 and 1.3 only;
 * renegotiation off.
 *
 * Errors: 0 or -errno like every internal call. Fatal TLS errors are -ECONNABORTED (mapped to
 * SL_ERR__TRANSPORT at the public edge) with OpenSSL's reason kept in the session
 * (sl__tls_reason) for the connection's log line; a peer that closes is -ECONNRESET.
 * OpenSSL's error queue is per thread and is cleared before every operation, so a reason
 * always belongs to the call that failed.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sl_int.h"

/* Staged plaintext per write: four full TLS records. */
#define SL__TLS_STAGE (64 * 1024)
/* OpenSSL's receive buffer (read ahead): ciphertext taken per recv. */
#define SL__TLS_READ_AHEAD (64 * 1024)

struct sl__tls_ctx {
    SSL_CTX *ctx;
    bool verify_host; /* ssl.endpoint.identification.algorithm=https */
};

struct sl__tls {
    SSL *ssl;
    short want; /* poll events the last WANT_* asked for; 0 when none */
    bool handshake_done;
    uint8_t *stage;   /* SL__TLS_STAGE bytes */
    size_t stage_len; /* bytes staged and not yet accepted by SSL_write; 0 when idle */
    char reason[256]; /* why the last fatal error happened */
};

/* ---- the socket BIO: recv/send(MSG_NOSIGNAL) on a non-blocking fd ----------------------- */

static BIO_METHOD *sock_bio_method;
static pthread_once_t sock_bio_once = PTHREAD_ONCE_INIT;

static int sock_bio_fd(BIO *b) { return (int)(intptr_t)BIO_get_data(b); }

static int sock_bio_write(BIO *b, const char *buf, size_t len, size_t *done)
{
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t n = send(sock_bio_fd(b), buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            *done = (size_t)n;
            return 1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_write(b);
        return 0;
    }
}

static int sock_bio_read(BIO *b, char *buf, size_t len, size_t *done)
{
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t n = recv(sock_bio_fd(b), buf, len, MSG_DONTWAIT);
        if (n > 0) {
            *done = (size_t)n;
            return 1;
        }
        if (n == 0) {
            BIO_set_flags(b, BIO_FLAGS_IN_EOF);
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_read(b);
        return 0;
    }
}

static long sock_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    switch (cmd) {
    case BIO_C_GET_FD:
        if (ptr)
            *(int *)ptr = sock_bio_fd(b);
        return sock_bio_fd(b);
    case BIO_CTRL_EOF:
        return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_PUSH:
    case BIO_CTRL_POP:
        return 1;
    default:
        (void)num;
        return 0;
    }
}

static void sock_bio_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "splicelog socket");
    if (m && (!BIO_meth_set_write_ex(m, sock_bio_write) ||
              !BIO_meth_set_read_ex(m, sock_bio_read) || !BIO_meth_set_ctrl(m, sock_bio_ctrl))) {
        BIO_meth_free(m);
        m = NULL;
    }
    sock_bio_method = m;
}

/* A BIO over fd (not closed by the BIO), or NULL. */
static BIO *sock_bio_new(int fd)
{
    pthread_once(&sock_bio_once, sock_bio_init);
    if (!sock_bio_method)
        return NULL;
    BIO *b = BIO_new(sock_bio_method);
    if (!b)
        return NULL;
    BIO_set_data(b, (void *)(intptr_t)fd);
    BIO_set_init(b, 1);
    BIO_set_shutdown(b, 0); /* the socket belongs to the connection */
    return b;
}

/* OpenSSL's queued errors, oldest first, as "reason; reason" into buf. */
static void err_queue_str(char *buf, size_t len)
{
    size_t pos = strlen(buf);
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        if (pos + 3 >= len)
            continue; /* drain the rest */
        if (pos) {
            buf[pos++] = ';';
            buf[pos++] = ' ';
            buf[pos] = 0;
        }
        ERR_error_string_n(e, buf + pos, len - pos);
        pos += strlen(buf + pos);
    }
}

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *pw = u;
    if (!pw || size <= 0)
        return 0;
    size_t n = strlen(pw);
    if (n > (size_t)size)
        return 0; /* too long for OpenSSL's buffer: treated as a wrong password */
    memcpy(buf, pw, n);
    return (int)n;
}

/* Fails context creation: errstr gets what + OpenSSL's reasons. */
static int ctx_fail(struct sl__tls_ctx *t, char *errstr, size_t errstr_size, const char *what)
{
    char reason[512] = "";
    err_queue_str(reason, sizeof(reason));
    sl__errstr(errstr, errstr_size, "ssl: %s%s%s", what, reason[0] ? ": " : "", reason);
    sl__tls_ctx_free(t);
    return -EINVAL;
}

/* A path property that is set: an empty value counts as unset (as "-X ssl.ca.location="). */
static const char *path_prop(const char *v) { return v && *v ? v : NULL; }

int sl__tls_ctx_new(const sl_conf *conf, struct sl__tls_ctx **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    const char *ca = path_prop(conf->ssl_ca_location);
    const char *crt = path_prop(conf->ssl_certificate_location);
    const char *key = path_prop(conf->ssl_key_location);
    const char *pass = path_prop(conf->ssl_key_password);
    if (!crt != !key) {
        sl__errstr(errstr, errstr_size,
                   "ssl: ssl.certificate.location and ssl.key.location must be set together");
        return -EINVAL;
    }
    struct sl__tls_ctx *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->verify_host = conf->ssl_endpoint_https != 0;
    ERR_clear_error();
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx)
        return ctx_fail(t, errstr, errstr_size, "SSL_CTX_new failed");
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    /* A broker that closes without close_notify is a closed connection, as in plaintext (not a
     * TLS error to log): a truncated response is never mistaken for a whole one, since every
     * Kafka frame carries its length. */
    SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                    SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    /* Read ahead: one recv of up to 64 KiB takes several records, instead of two recvs (header,
     * then body) per record; measured about 1.4x the decrypted throughput here. The bytes it
     * buffers are what sl__tls_pending reports. */
    SSL_CTX_set_read_ahead(t->ctx, 1);
    SSL_CTX_set_default_read_buffer_len(t->ctx, SL__TLS_READ_AHEAD);

    char msg[1200];
    if (ca) {
        struct stat st;
        if (stat(ca, &st) != 0) {
            snprintf(msg, sizeof(msg), "ssl.ca.location \"%s\": %s", ca, strerror(errno));
            return ctx_fail(t, errstr, errstr_size, msg);
        }
        bool dir = S_ISDIR(st.st_mode);
        if (SSL_CTX_load_verify_locations(t->ctx, dir ? NULL : ca, dir ? ca : NULL) != 1) {
            snprintf(msg, sizeof(msg), "cannot load ssl.ca.location \"%s\"", ca);
            return ctx_fail(t, errstr, errstr_size, msg);
        }
    } else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
        return ctx_fail(t, errstr, errstr_size, "cannot load the default CA locations");
    }

    if (crt) {
        /* The password is only needed while the key is read, here. */
        SSL_CTX_set_default_passwd_cb(t->ctx, pass_cb);
        SSL_CTX_set_default_passwd_cb_userdata(t->ctx, (void *)pass); /* only read */
        int ok = SSL_CTX_use_certificate_chain_file(t->ctx, crt);
        if (ok != 1) {
            snprintf(msg, sizeof(msg), "cannot load ssl.certificate.location \"%s\"", crt);
        } else if ((ok = SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM)) != 1) {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
                snprintf(msg, sizeof(msg), "ssl.key.location \"%s\" does not match the certificate",
                         key);
            else
                snprintf(msg, sizeof(msg), "cannot load ssl.key.location \"%s\"%s", key,
                         pass ? " (wrong ssl.key.password?)"
                              : " (encrypted? set ssl.key.password)");
        } else if ((ok = SSL_CTX_check_private_key(t->ctx)) != 1) {
            snprintf(msg, sizeof(msg), "ssl.key.location \"%s\" does not match the certificate",
                     key);
        }
        SSL_CTX_set_default_passwd_cb(t->ctx, NULL);
        SSL_CTX_set_default_passwd_cb_userdata(t->ctx, NULL);
        if (ok != 1)
            return ctx_fail(t, errstr, errstr_size, msg);
    }
    *out = t;
    return 0;
}

void sl__tls_ctx_free(struct sl__tls_ctx *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

int sl__tls_new(struct sl__tls_ctx *ctx, int fd, const char *host, struct sl__tls **out)
{
    *out = NULL;
    struct sl__tls *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->stage = malloc(SL__TLS_STAGE);
    ERR_clear_error();
    t->ssl = t->stage ? SSL_new(ctx->ctx) : NULL;
    BIO *bio = t->ssl ? sock_bio_new(fd) : NULL;
    if (!bio) {
        sl__tls_free(t);
        ERR_clear_error();
        return -ENOMEM;
    }
    SSL_set_bio(t->ssl, bio, bio); /* the SSL owns the BIO from here */
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    int ok = 1;
    if (!is_ip)
        ok = SSL_set_tlsext_host_name(t->ssl, host);
    if (ok == 1 && ctx->verify_host) {
        if (is_ip)
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host);
        else
            ok = SSL_set1_host(t->ssl, host);
    }
    if (ok != 1) {
        sl__tls_free(t);
        ERR_clear_error();
        return -EINVAL;
    }
    SSL_set_connect_state(t->ssl);
    *out = t;
    return 0;
}

void sl__tls_free(struct sl__tls *t)
{
    if (!t)
        return;
    /* No close_notify: the connection is torn down (a failure or the handle's end), and a
     * Kafka broker learns nothing from it that the TCP FIN does not say. */
    SSL_free(t->ssl);
    free(t->stage);
    free(t);
}

const char *sl__tls_reason(const struct sl__tls *t) { return t->reason; }
short sl__tls_events(const struct sl__tls *t) { return t->want; }
bool sl__tls_pending(const struct sl__tls *t) { return SSL_has_pending(t->ssl); }
bool sl__tls_handshake_done(const struct sl__tls *t) { return t->handshake_done; }

/*
 * Maps the result of an SSL call: -EAGAIN (and t->want) for WANT_READ/WANT_WRITE, else a
 * fatal -errno with the reason in t->reason.
 */
static int ssl_result(struct sl__tls *t, int ret, const char *op)
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
        snprintf(t->reason, sizeof(t->reason), "%s: connection closed by the broker", op);
        ERR_clear_error();
        return -ECONNRESET;
    case SSL_ERROR_SYSCALL: {
        int se = errno;
        t->reason[0] = 0;
        err_queue_str(t->reason, sizeof(t->reason));
        if (!t->reason[0])
            snprintf(t->reason, sizeof(t->reason), "%s: %s", op,
                     se ? strerror(se) : "connection closed by the broker");
        return se && se != ECONNRESET && se != EPIPE ? -se : -ECONNRESET;
    }
    default: {
        int n = snprintf(t->reason, sizeof(t->reason), "%s: ", op);
        err_queue_str(t->reason + n, sizeof(t->reason) - (size_t)n);
        long vr = SSL_get_verify_result(t->ssl);
        if (vr != X509_V_OK) {
            size_t pos = strlen(t->reason);
            snprintf(t->reason + pos, sizeof(t->reason) - pos, " (%s)",
                     X509_verify_cert_error_string(vr));
        }
        return -ECONNABORTED;
    }
    }
}

int sl__tls_handshake(struct sl__tls *t)
{
    if (t->handshake_done)
        return 0;
    ERR_clear_error();
    int ret = SSL_do_handshake(t->ssl);
    if (ret == 1) {
        t->handshake_done = true;
        t->want = 0;
        return 0;
    }
    int err = ssl_result(t, ret, "SSL handshake failed");
    /* Any failure of the handshake itself is an abort, with the reason kept. */
    return err == -EAGAIN ? err : -ECONNABORTED;
}

ssize_t sl__tls_read(struct sl__tls *t, void *buf, size_t len)
{
    size_t n = 0;
    ERR_clear_error();
    int ret = SSL_read_ex(t->ssl, buf, len, &n);
    if (ret == 1) {
        t->want = 0;
        return (ssize_t)n;
    }
    return ssl_result(t, ret, "SSL read");
}

ssize_t sl__tls_writev(struct sl__tls *t, const struct iovec *v, int nv)
{
    if (t->stage_len == 0) {
        for (int i = 0; i < nv && t->stage_len < SL__TLS_STAGE; i++) {
            size_t n = v[i].iov_len;
            if (n > SL__TLS_STAGE - t->stage_len)
                n = SL__TLS_STAGE - t->stage_len;
            memcpy(t->stage + t->stage_len, v[i].iov_base, n);
            t->stage_len += n;
        }
        if (t->stage_len == 0)
            return 0;
    } else {
        /* A retry: the caller has not advanced, so v starts with the staged bytes. */
        size_t total = 0;
        for (int i = 0; i < nv; i++)
            total += v[i].iov_len;
        assert(total >= t->stage_len);
        (void)total;
    }
    size_t n = 0;
    ERR_clear_error();
    int ret = SSL_write_ex(t->ssl, t->stage, t->stage_len, &n);
    if (ret == 1) {
        /* Without SSL_MODE_ENABLE_PARTIAL_WRITE a successful write took everything. */
        assert(n == t->stage_len);
        t->stage_len = 0;
        t->want = 0;
        return (ssize_t)n;
    }
    return ssl_result(t, ret, "SSL write");
}
