/*
 * br_clu_link — inter-broker client connections, PLAINTEXT or TLS (br_clu_link.h).
 *
 * PLAINTEXT links are br_clu_conn's blocking sockets with send and receive timeouts, read
 * without waiting by recv(MSG_DONTWAIT). TLS links put the socket in non-blocking mode for
 * good and let OpenSSL read and write it (the broker ignores SIGPIPE, br_server.c); the
 * blocking calls (send, recv, handshake_wait) wait in poll() for what OpenSSL last asked for,
 * each against its own deadline, so no call outlives its bound.
 */
#include "br_clu_link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "kp_msg.h"
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "br_clu_conn.h"

struct br_clu_tls {
    SSL_CTX *ctx;
    bool verify_host;
    char key_password[256];
};

struct br_clu_link {
    int fd;
    SSL *ssl;      /* NULL: PLAINTEXT */
    bool done;     /* handshake finished */
    short want;    /* POLLIN / POLLOUT the last -EAGAIN waits for */
    int64_t io_ms; /* br_clu_link_timeouts */
    char err[256]; /* the last TLS failure, "" none */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* OpenSSL's queued reasons appended to buf, "; "-joined (buf unchanged when the queue is
 * empty). */
static void queue_reason(char *buf, size_t len)
{
    size_t at = strlen(buf);
    unsigned long e;
    while ((e = ERR_get_error()) != 0 && at + 8 < len) {
        char one[200];
        const char *r = ERR_reason_error_string(e);
        if (r)
            snprintf(one, sizeof one, "%s", r);
        else
            ERR_error_string_n(e, one, sizeof one);
        int n = snprintf(buf + at, len - at, "%s%s", at && buf[at - 1] != ' ' ? "; " : "", one);
        if (n < 0)
            break;
        at += (size_t)n < len - at ? (size_t)n : len - at - 1;
    }
}

/* ---- the context ------------------------------------------------------------------------- */

static int passwd_cb(char *buf, int size, int rwflag, void *userdata)
{
    (void)rwflag;
    const struct br_clu_tls *t = userdata;
    size_t n = strlen(t->key_password);
    if (size <= 0 || n > (size_t)size)
        return -1;
    memcpy(buf, t->key_password, n);
    return (int)n;
}

/* ssl.cipher.suites: TLS_* names are TLS 1.3 suites, the others TLS 1.2 ciphers. */
static int set_ciphers(SSL_CTX *x, const char *in)
{
    char v13[1024] = "", v12[1024] = "";
    size_t n13 = 0, n12 = 0;
    for (const char *p = in; *p;) {
        p += strspn(p, ":, ");
        size_t n = strcspn(p, ":, ");
        if (n == 0)
            break;
        bool is13 = n > 4 && strncmp(p, "TLS_", 4) == 0;
        char *dst = is13 ? v13 : v12;
        size_t *used = is13 ? &n13 : &n12;
        if (*used + n + 2 > sizeof v13)
            return -1;
        if (*used)
            dst[(*used)++] = ':';
        memcpy(dst + *used, p, n);
        *used += n;
        dst[*used] = 0;
        p += n;
    }
    if (v13[0] && !SSL_CTX_set_ciphersuites(x, v13))
        return -1;
    if (v12[0] && !SSL_CTX_set_cipher_list(x, v12))
        return -1;
    return 0;
}

#define TLS_FAIL(key, what)                                                                        \
    do {                                                                                           \
        char why_[256] = "";                                                                       \
        queue_reason(why_, sizeof why_);                                                           \
        snprintf(err, errlen, "%s: %s (%s)", key, what, why_[0] ? why_ : "no reason given");       \
        goto fail;                                                                                 \
    } while (0)

int br_clu_tls_new(const struct br_tls_conf *conf, bool verify_host, struct br_clu_tls **out,
                   char *err, size_t errlen)
{
    *out = NULL;
    ERR_clear_error();
    if (!conf->ca[0]) {
        snprintf(err, errlen,
                 "ssl.ca.location: required by an SSL inter-broker listener (the "
                 "CA bundle other brokers' certificates are verified against)");
        return -EINVAL;
    }
    if (!conf->certificate[0] || !conf->key[0]) {
        snprintf(err, errlen,
                 "%s: required by an SSL inter-broker listener (the certificate "
                 "a broker presents to the others)",
                 conf->certificate[0] ? "ssl.key.location" : "ssl.certificate.location");
        return -EINVAL;
    }
    struct br_clu_tls *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "inter-broker TLS: out of memory");
        return -ENOMEM;
    }
    t->verify_host = verify_host;
    snprintf(t->key_password, sizeof t->key_password, "%s", conf->key_password);
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx)
        TLS_FAIL("inter-broker TLS", "cannot create a context");
    SSL_CTX *x = t->ctx;
    int minv = (conf->versions & BR_TLS_V12) ? TLS1_2_VERSION : TLS1_3_VERSION;
    int maxv = (conf->versions & BR_TLS_V13) ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (!SSL_CTX_set_min_proto_version(x, minv) || !SSL_CTX_set_max_proto_version(x, maxv))
        TLS_FAIL("ssl.protocols", "cannot set the protocol range");
    SSL_CTX_set_options(x, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    /* a write retried after -EAGAIN may come from another place of the same bytes */
    SSL_CTX_set_mode(x, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (conf->cipher_suites[0] && set_ciphers(x, conf->cipher_suites) < 0)
        TLS_FAIL("ssl.cipher.suites", "no usable suite");
    SSL_CTX_set_default_passwd_cb(x, passwd_cb);
    SSL_CTX_set_default_passwd_cb_userdata(x, t);
    if (SSL_CTX_use_certificate_chain_file(x, conf->certificate) != 1)
        TLS_FAIL("ssl.certificate.location", "cannot load the certificate chain");
    if (SSL_CTX_use_PrivateKey_file(x, conf->key, SSL_FILETYPE_PEM) != 1)
        TLS_FAIL("ssl.key.location", "cannot load the private key (ssl.key.password?)");
    if (SSL_CTX_check_private_key(x) != 1)
        TLS_FAIL("ssl.key.location", "does not match ssl.certificate.location");
    if (SSL_CTX_load_verify_locations(x, conf->ca, NULL) != 1)
        TLS_FAIL("ssl.ca.location", "cannot load the CA bundle");
    SSL_CTX_set_verify(x, SSL_VERIFY_PEER, NULL);
    ERR_clear_error();
    *out = t;
    return 0;
fail:
    br_clu_tls_free(t);
    ERR_clear_error();
    return -EINVAL;
}

void br_clu_tls_free(struct br_clu_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

/* ---- links ------------------------------------------------------------------------------- */

/* Sets up the client session on l->fd for a peer reached at host. 0 or -errno. */
static int tls_session(struct br_clu_tls *tls, struct br_clu_link *l, const char *host)
{
    ERR_clear_error();
    l->ssl = SSL_new(tls->ctx);
    if (!l->ssl || SSL_set_fd(l->ssl, l->fd) != 1)
        return -ENOMEM;
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    int ok = is_ip ? 1 : SSL_set_tlsext_host_name(l->ssl, host);
    if (ok == 1 && tls->verify_host)
        ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(l->ssl), host)
                   : SSL_set1_host(l->ssl, host);
    if (ok != 1) {
        snprintf(l->err, sizeof l->err, "cannot set the peer's name %s for verification", host);
        return -EINVAL;
    }
    SSL_set_connect_state(l->ssl);
    int fl = fcntl(l->fd, F_GETFL);
    if (fl < 0 || fcntl(l->fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -EIO;
    return 0;
}

int br_clu_link_open(struct br_clu_tls *tls, const char *host, int port, int64_t connect_ms,
                     struct br_clu_link **out)
{
    *out = NULL;
    struct br_clu_link *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->io_ms = 5000;
    l->fd = br_clu_conn_dial(host, port, connect_ms);
    if (l->fd < 0) {
        int rc = l->fd;
        free(l);
        return rc;
    }
    l->done = tls == NULL;
    if (tls) {
        int rc = tls_session(tls, l, host);
        if (rc < 0) {
            br_clu_link_close(l);
            ERR_clear_error();
            return rc;
        }
    }
    *out = l;
    return 0;
}

/* An SSL call's result ret (<= 0) as -errno, with the reason kept for br_clu_link_error. */
static int ssl_fail(struct br_clu_link *l, int ret, int saved_errno, const char *op)
{
    int e = SSL_get_error(l->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        l->want = POLLIN;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        l->want = POLLOUT;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        snprintf(l->err, sizeof l->err, "%s: the peer closed the TLS session", op);
        return -ECONNRESET;
    case SSL_ERROR_SYSCALL:
        snprintf(l->err, sizeof l->err, "%s: ", op);
        queue_reason(l->err, sizeof l->err);
        if (strlen(l->err) == strlen(op) + 2)
            snprintf(l->err, sizeof l->err, "%s: %s", op,
                     saved_errno ? strerror(saved_errno) : "the peer closed the connection");
        return saved_errno && saved_errno != EPIPE ? -saved_errno : -ECONNRESET;
    default: {
        snprintf(l->err, sizeof l->err, "%s: ", op);
        queue_reason(l->err, sizeof l->err);
        long vr = SSL_get_verify_result(l->ssl);
        size_t at = strlen(l->err);
        if (vr != X509_V_OK)
            snprintf(l->err + at, sizeof l->err - at, " (%s)", X509_verify_cert_error_string(vr));
        return vr != X509_V_OK ? -EACCES : -EPROTO;
    }
    }
}

int br_clu_link_handshake(struct br_clu_link *l)
{
    if (l->done)
        return 0;
    ERR_clear_error();
    errno = 0;
    int ret = SSL_do_handshake(l->ssl);
    int se = errno;
    if (ret == 1) {
        l->done = true;
        l->want = 0;
        return 0;
    }
    return ssl_fail(l, ret, se, "TLS handshake");
}

short br_clu_link_events(const struct br_clu_link *l) { return l->want ? l->want : POLLIN; }

/* Waits for l->want until deadline: 0, or -ETIMEDOUT. */
static int wait_want(struct br_clu_link *l, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = l->fd, .events = br_clu_link_events(l)};
        int r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
    }
}

int br_clu_link_handshake_wait(struct br_clu_link *l, int64_t ms)
{
    int64_t deadline = mono_ms() + (ms > 0 ? ms : 1);
    for (;;) {
        int rc = br_clu_link_handshake(l);
        if (rc != -EAGAIN)
            return rc;
        rc = wait_want(l, deadline);
        if (rc < 0) {
            snprintf(l->err, sizeof l->err, "TLS handshake: not finished within %lld ms",
                     (long long)ms);
            return rc;
        }
    }
}

void br_clu_link_timeouts(struct br_clu_link *l, int64_t ms)
{
    l->io_ms = ms < 1 ? 1 : ms;
    if (!l->ssl)
        br_clu_conn_timeouts(l->fd, l->io_ms);
}

int br_clu_link_send(struct br_clu_link *l, const uint8_t *p, size_t n)
{
    if (!l->ssl)
        return br_clu_conn_send(l->fd, p, n);
    if (!l->done)
        return -ENOTCONN;
    int64_t deadline = mono_ms() + l->io_ms;
    while (n) {
        ERR_clear_error();
        errno = 0;
        int chunk = n > (1 << 30) ? (1 << 30) : (int)n;
        int w = SSL_write(l->ssl, p, chunk);
        int se = errno;
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        int rc = ssl_fail(l, w, se, "TLS write");
        if (rc == -EAGAIN)
            rc = wait_want(l, deadline);
        if (rc < 0)
            return rc;
    }
    return 0;
}

ssize_t br_clu_link_read(struct br_clu_link *l, uint8_t *p, size_t n)
{
    if (!l->ssl) {
        ssize_t r = recv(l->fd, p, n, MSG_DONTWAIT);
        if (r == 0)
            return -ECONNRESET;
        if (r < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
        return r;
    }
    if (!l->done)
        return -ENOTCONN;
    ERR_clear_error();
    errno = 0;
    int r = SSL_read(l->ssl, p, n > (1 << 30) ? (1 << 30) : (int)n);
    int se = errno;
    return r > 0 ? r : ssl_fail(l, r, se, "TLS read");
}

int br_clu_link_recv(struct br_clu_link *l, uint8_t *p, size_t n)
{
    if (!l->ssl)
        return br_clu_conn_recv(l->fd, p, n);
    int64_t deadline = mono_ms() + l->io_ms;
    while (n) {
        ssize_t r = br_clu_link_read(l, p, n);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            continue;
        }
        int rc = (int)r;
        if (rc == -EAGAIN)
            rc = wait_want(l, deadline);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int br_clu_link_fd(const struct br_clu_link *l) { return l->fd; }

bool br_clu_link_is_tls(const struct br_clu_link *l) { return l->ssl != NULL; }

const char *br_clu_link_error(const struct br_clu_link *l) { return l ? l->err : ""; }

void br_clu_link_close(struct br_clu_link *l)
{
    if (!l)
        return;
    if (l->ssl) {
        if (l->done) {
            ERR_clear_error();
            (void)SSL_shutdown(
                l->ssl); /* a close_notify, best effort: the socket is non-blocking */
        }
        SSL_free(l->ssl);
        ERR_clear_error();
    }
    if (l->fd >= 0)
        close(l->fd);
    free(l);
}

int br_clu_link_call(struct br_clu_link *l, const uint8_t *req, size_t len, int32_t rx_max,
                     int16_t api, int16_t version, int32_t corr, struct br_clu_answer *ans)
{
    memset(ans, 0, sizeof(*ans));
    uint8_t hdr[4];
    int32_t size = 0;
    int rc = br_clu_link_send(l, req, len);
    if (rc == 0)
        rc = br_clu_link_recv(l, hdr, 4);
    if (rc == 0)
        rc = kp_frame_peek(hdr, 4, rx_max, &size);
    if (rc < 0)
        return rc;
    size_t acap = (size_t)size * 16 + 4096;
    ans->body = malloc((size_t)size + 1);
    ans->amem = malloc(acap);
    if (!ans->body || !ans->amem) {
        br_clu_answer_free(ans);
        return -ENOMEM;
    }
    rc = br_clu_link_recv(l, ans->body, (size_t)size);
    kp_rd_init(&ans->rd, ans->body, (size_t)size);
    int32_t got = -1;
    if (rc == 0 && (kp_resp_hdr_decode(&ans->rd, api, version, &got) < 0 || got != corr))
        rc = -EPROTO;
    if (rc < 0) {
        br_clu_answer_free(ans);
        return rc;
    }
    kp_arena_init(&ans->a, ans->amem, acap);
    return 0;
}

void br_clu_answer_free(struct br_clu_answer *ans)
{
    free(ans->body);
    free(ans->amem);
    ans->body = NULL;
    ans->amem = NULL;
}
