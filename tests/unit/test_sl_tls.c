/*
 * test_sl_tls — the client's TLS layer (sl_tls.c) and a connection over it (sl_conn.c), with an
 * in-process OpenSSL server on a thread at the other end of a socketpair; no broker.
 *
 * - 1 MiB echoed through sl__tls_writev/sl__tls_read on the non-blocking socket, written as
 *   odd-sized iovecs, every -EAGAIN retried with the same bytes: identical; on TLS 1.3 and
 *   on a server pinned to TLS 1.2.
 * - Decrypted bytes held by OpenSSL after a short read: sl__tls_pending says so while poll
 *   reports nothing.
 * - Verification: ssl.ca.location as a file or a hashed directory; the server's CA unknown, a host
 * name or IP the certificate does not name (https), the same with identification none; the reasons
 * carry OpenSSL's words.
 * - Client certificate required: refused without one (TLS 1.3: on the first read; TLS 1.2: in
 *   the handshake), accepted with one.
 * - A whole connection (sl__conn) over TLS: handshake from the CONNECTING state, eight
 *   pipelined requests, answers out of order including one larger than the receive buffer.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "sl_int.h"
#include "tb_tls.h"
#include "tb_check.h"

static char certs[256];

static const char *cert(const char *name)
{
    static char buf[4][512];
    static int next;
    char *b = buf[next++ % 4];
    return tb_cert_path(b, sizeof(buf[0]), certs, name);
}

static void setup(void)
{
    int rc = tb_certs_make(certs, sizeof(certs));
    ck_assert_msg(rc == 0, "tb_certs_make: %s", strerror(-rc));
}

static void teardown(void) { tb_certs_cleanup(certs); }

/* ---- the server thread ----------------------------------------------------------------- */

enum srv_mode {
    SRV_ECHO,    /* echo everything until EOF */
    SRV_PENDING, /* one 16 KiB record, then wait for one byte */
    SRV_KAFKA,   /* read 8 request frames, answer them in reverse, the first one big */
};

struct srv {
    int fd;
    enum srv_mode mode;
    bool require_client_cert;
    int max_version; /* 0: TLS 1.3 allowed */
    pthread_t th;
    /* results */
    bool handshake_ok;
    bool peer_cert;
    int version;
};

#define BIG_BODY (SL__RX_CAP * 2 + 4321)

static int srv_read_frame(SSL *ssl, uint8_t *buf, size_t cap, size_t *len)
{
    if (tb_tls_read_all(ssl, buf, 4))
        return -1;
    size_t n = kp_load_be32(buf);
    if (n + 4 > cap || tb_tls_read_all(ssl, buf + 4, n))
        return -1;
    *len = n + 4;
    return 0;
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    /* The server's writes may hit a closed client: EPIPE for this thread, no signal. The
     * client side (the library, on the test's main thread) keeps SIGPIPE's default action, so
     * a library write without MSG_NOSIGNAL would kill the test. */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_chain_file(ctx, cert("server.pem"));
    SSL_CTX_use_PrivateKey_file(ctx, cert("server.key"), SSL_FILETYPE_PEM);
    SSL_CTX_load_verify_locations(ctx, cert("ca.pem"), NULL);
    if (s->require_client_cert)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    if (s->max_version)
        SSL_CTX_set_max_proto_version(ctx, s->max_version);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, s->fd);
    if (SSL_accept(ssl) == 1) {
        s->handshake_ok = true;
        s->version = SSL_version(ssl);
        X509 *pc = SSL_get1_peer_certificate(ssl);
        s->peer_cert = pc != NULL;
        X509_free(pc);
        uint8_t *buf = malloc(BIG_BODY + 64);
        if (s->mode == SRV_ECHO) {
            size_t n;
            while (SSL_read_ex(ssl, buf, 65536, &n) == 1)
                if (tb_tls_write_all(ssl, buf, n))
                    break;
        } else if (s->mode == SRV_PENDING) {
            memset(buf, 'p', 16384);
            if (tb_tls_write_all(ssl, buf, 16384) == 0)
                tb_tls_read_all(ssl, buf, 1);
        } else {
            int32_t corr[8];
            size_t len;
            int i;
            for (i = 0; i < 8; i++) {
                if (srv_read_frame(ssl, buf, 4096, &len) || len < 12)
                    break;
                corr[i] = (int32_t)kp_load_be32(buf + 8);
            }
            for (int k = i == 8 ? 7 : -1; k >= 0; k--) {
                size_t body = k == 0 ? BIG_BODY : 8;
                kp_store_be32(buf, (uint32_t)(4 + body));
                kp_store_be32(buf + 4, (uint32_t)corr[k]);
                for (size_t j = 0; j < body; j++)
                    buf[8 + j] = (uint8_t)(j * 31 + (size_t)k);
                if (tb_tls_write_all(ssl, buf, 8 + body))
                    break;
            }
            if (i == 8)
                tb_tls_read_all(ssl, buf, 1); /* until the client closes */
        }
        free(buf);
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    shutdown(s->fd, SHUT_RDWR);
    return NULL;
}

/* A socketpair: the server thread on one end, the other end (non-blocking) returned. */
static int srv_start(struct srv *s, enum srv_mode mode)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    s->fd = sv[1];
    s->mode = mode;
    ck_assert_int_eq(pthread_create(&s->th, NULL, srv_main, s), 0);
    return sv[0];
}

static void srv_join(struct srv *s, int client_fd)
{
    close(client_fd);
    pthread_join(s->th, NULL);
    close(s->fd);
}

/* ---- the client side -------------------------------------------------------------------- */

static sl_conf *conf_with(const char *ca, const char *client, const char *endpoint)
{
    sl_conf *c = sl_conf_new();
    ck_assert_int_eq(sl_conf_set(c, "security.protocol", "ssl", NULL, 0), 0);
    ck_assert_int_eq(sl_conf_set(c, "ssl.ca.location", cert(ca), NULL, 0), 0);
    if (client) {
        char p[64];
        snprintf(p, sizeof(p), "%s.pem", client);
        ck_assert_int_eq(sl_conf_set(c, "ssl.certificate.location", cert(p), NULL, 0), 0);
        snprintf(p, sizeof(p), "%s.key", client);
        ck_assert_int_eq(sl_conf_set(c, "ssl.key.location", cert(p), NULL, 0), 0);
    }
    if (endpoint)
        ck_assert_int_eq(sl_conf_set(c, "ssl.endpoint.identification.algorithm", endpoint, NULL, 0),
                         0);
    return c;
}

static struct sl__tls_ctx *ctx_with(const char *ca, const char *client, const char *endpoint)
{
    sl_conf *c = conf_with(ca, client, endpoint);
    struct sl__tls_ctx *ctx = NULL;
    char err[512] = "";
    int rc = sl__tls_ctx_new(c, &ctx, err, sizeof(err));
    sl_conf_free(c);
    ck_assert_msg(rc == 0, "ctx: %s", err);
    return ctx;
}

static void wait_fd(int fd, short ev)
{
    struct pollfd p = {.fd = fd, .events = ev ? ev : POLLIN};
    ck_assert_msg(poll(&p, 1, 10000) > 0, "no progress in 10 s");
}

static int handshake(struct sl__tls *t, int fd)
{
    for (;;) {
        int e = sl__tls_handshake(t);
        if (e != -EAGAIN)
            return e;
        wait_fd(fd, sl__tls_events(t));
    }
}

/* Handshake with the server in mode; the session (or NULL) and its fd. */
static struct sl__tls *connect_to(struct srv *s, enum srv_mode mode, struct sl__tls_ctx *ctx,
                                  const char *host, int *fd, int *err)
{
    *fd = srv_start(s, mode);
    struct sl__tls *t = NULL;
    ck_assert_int_eq(sl__tls_new(ctx, *fd, host, &t), 0);
    *err = handshake(t, *fd);
    return t;
}

/* Writes buf as odd-sized iovecs while reading the echo back; -errno of the first failure. */
static int echo(struct sl__tls *t, int fd, const uint8_t *buf, uint8_t *back, size_t n)
{
    size_t sent = 0, got = 0;
    static const size_t pieces[] = {5, 1000, 70001, 3, 16384, 40000};
    while (got < n) {
        bool progress = false;
        if (sent < n) {
            struct iovec v[6];
            size_t at = sent;
            int nv = 0;
            for (int i = 0; i < 6 && at < n; i++) {
                size_t len = pieces[(sent / 7 + (size_t)i) % 6];
                if (len > n - at)
                    len = n - at;
                v[nv].iov_base = (void *)(buf + at);
                v[nv].iov_len = len;
                at += len;
                nv++;
            }
            ssize_t w = sl__tls_writev(t, v, nv);
            if (w > 0) {
                sent += (size_t)w;
                progress = true;
            } else if (w != -EAGAIN) {
                return (int)w;
            }
        }
        ssize_t r = sl__tls_read(t, back + got, n - got);
        if (r > 0) {
            got += (size_t)r;
            progress = true;
        } else if (r != -EAGAIN) {
            return (int)r;
        }
        if (!progress)
            wait_fd(fd, (short)(POLLIN | (sent < n ? POLLOUT : 0) | sl__tls_events(t)));
    }
    return 0;
}

static void echo_check(int max_version, int want_version)
{
    struct srv s = {.max_version = max_version};
    struct sl__tls_ctx *ctx = ctx_with("ca.pem", NULL, NULL);
    int fd, err;
    struct sl__tls *t = connect_to(&s, SRV_ECHO, ctx, "127.0.0.1", &fd, &err);
    ck_assert_msg(err == 0, "handshake: %s", sl__tls_reason(t));
    ck_assert(sl__tls_handshake_done(t));
    size_t n = 1 << 20;
    uint8_t *buf = malloc(n), *back = malloc(n);
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i * 131 + (i >> 9));
    err = echo(t, fd, buf, back, n);
    ck_assert_msg(err == 0, "echo: %d %s", err, sl__tls_reason(t));
    ck_assert(memcmp(buf, back, n) == 0);
    sl__tls_free(t);
    srv_join(&s, fd);
    ck_assert(s.handshake_ok);
    ck_assert_int_eq(s.version, want_version);
    free(buf);
    free(back);
    sl__tls_ctx_free(ctx);
}

START_TEST(test_echo_1mib_tls13) { echo_check(0, TLS1_3_VERSION); }
END_TEST

START_TEST(test_echo_1mib_tls12) { echo_check(TLS1_2_VERSION, TLS1_2_VERSION); }
END_TEST

START_TEST(test_pending_bytes_poll_cannot_see)
{
    struct srv s = {0};
    struct sl__tls_ctx *ctx = ctx_with("ca.pem", NULL, NULL);
    int fd, err;
    struct sl__tls *t = connect_to(&s, SRV_PENDING, ctx, "127.0.0.1", &fd, &err);
    ck_assert_int_eq(err, 0);
    uint8_t buf[16384];
    ssize_t r;
    while ((r = sl__tls_read(t, buf, 100)) == -EAGAIN)
        wait_fd(fd, sl__tls_events(t));
    ck_assert_int_eq(r, 100);
    /* The rest of the record is decrypted inside OpenSSL, the socket is empty. */
    ck_assert(sl__tls_pending(t));
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 0), 0);
    size_t got = 100;
    while (sl__tls_pending(t)) {
        r = sl__tls_read(t, buf + got, sizeof(buf) - got);
        ck_assert_int_gt(r, 0);
        got += (size_t)r;
    }
    ck_assert_uint_eq(got, 16384);
    for (size_t i = 0; i < got; i++)
        ck_assert_int_eq(buf[i], 'p');
    struct iovec v = {.iov_base = "x", .iov_len = 1};
    ssize_t w;
    while ((w = sl__tls_writev(t, &v, 1)) == -EAGAIN)
        wait_fd(fd, sl__tls_events(t));
    ck_assert_int_eq(w, 1);
    sl__tls_free(t);
    srv_join(&s, fd);
    sl__tls_ctx_free(ctx);
}
END_TEST

/* A handshake against the default server that must fail with reason in sl__tls_reason. */
static void refused(const char *ca, const char *client, const char *endpoint, const char *host,
                    const char *reason)
{
    struct srv s = {0};
    struct sl__tls_ctx *ctx = ctx_with(ca, client, endpoint);
    int fd, err;
    struct sl__tls *t = connect_to(&s, SRV_ECHO, ctx, host, &fd, &err);
    ck_assert_int_eq(err, -ECONNABORTED);
    ck_assert_msg(strstr(sl__tls_reason(t), reason), "reason: %s", sl__tls_reason(t));
    ck_assert(!sl__tls_handshake_done(t));
    sl__tls_free(t);
    srv_join(&s, fd);
    ck_assert(!s.handshake_ok);
    sl__tls_ctx_free(ctx);
}

static void accepted_ca(const char *ca, const char *endpoint, const char *host)
{
    struct srv s = {0};
    struct sl__tls_ctx *ctx = ctx_with(ca, NULL, endpoint);
    int fd, err;
    struct sl__tls *t = connect_to(&s, SRV_ECHO, ctx, host, &fd, &err);
    ck_assert_msg(err == 0, "%s: %s", host, sl__tls_reason(t));
    uint8_t back[5];
    ck_assert_int_eq(echo(t, fd, (const uint8_t *)"hello", back, 5), 0);
    ck_assert(memcmp(back, "hello", 5) == 0);
    sl__tls_free(t);
    srv_join(&s, fd);
    sl__tls_ctx_free(ctx);
}

static void accepted(const char *endpoint, const char *host)
{
    accepted_ca("ca.pem", endpoint, host);
}

START_TEST(test_ca_directory)
{
    /* ssl.ca.location as a directory of certificates named by subject hash (openssl rehash). */
    char dir[600], link[700];
    snprintf(dir, sizeof(dir), "%s/cadir", certs);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    FILE *f = fopen(cert("ca.pem"), "r");
    ck_assert_ptr_nonnull(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(x);
    snprintf(link, sizeof(link), "%s/%08lx.0", dir, X509_subject_name_hash(x));
    X509_free(x);
    ck_assert_int_eq(symlink(cert("ca.pem"), link), 0);
    accepted_ca("cadir", NULL, "127.0.0.1");
    /* A directory without the CA: the chain does not verify. */
    snprintf(dir, sizeof(dir), "%s/emptydir", certs);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    refused("emptydir", NULL, NULL, "127.0.0.1", "certificate verify failed");
}
END_TEST

START_TEST(test_unknown_ca_refused)
{
    refused("other-ca.pem", NULL, NULL, "127.0.0.1", "certificate verify failed");
}
END_TEST

START_TEST(test_host_verification)
{
    /* The certificate names IP:127.0.0.1 and DNS:localhost. */
    accepted(NULL, "127.0.0.1");
    accepted(NULL, "localhost");
    accepted("https", "LOCALHOST");
    refused("ca.pem", NULL, NULL, "broker.example.invalid", "hostname mismatch");
    refused("ca.pem", NULL, "https", "127.0.0.2", "IP address mismatch");
    refused("ca.pem", NULL, NULL, "::1", "IP address mismatch");
    /* none: only the chain is checked. */
    accepted("none", "broker.example.invalid");
    accepted("none", "127.0.0.2");
}
END_TEST

START_TEST(test_client_cert_required)
{
    /* With the CA-signed client certificate. */
    struct srv s = {.require_client_cert = true};
    struct sl__tls_ctx *ctx = ctx_with("ca.pem", "client", NULL);
    int fd, err;
    struct sl__tls *t = connect_to(&s, SRV_ECHO, ctx, "127.0.0.1", &fd, &err);
    ck_assert_msg(err == 0, "%s", sl__tls_reason(t));
    uint8_t back[3];
    ck_assert_int_eq(echo(t, fd, (const uint8_t *)"abc", back, 3), 0);
    sl__tls_free(t);
    srv_join(&s, fd);
    ck_assert(s.handshake_ok && s.peer_cert);
    sl__tls_ctx_free(ctx);

    /* Without: TLS 1.3 finishes the client's side of the handshake; the refusal comes as an
     * alert on the first read. */
    s = (struct srv){.require_client_cert = true};
    ctx = ctx_with("ca.pem", NULL, NULL);
    t = connect_to(&s, SRV_ECHO, ctx, "127.0.0.1", &fd, &err);
    ck_assert_int_eq(err, 0);
    ssize_t r;
    uint8_t b[16];
    while ((r = sl__tls_read(t, b, sizeof(b))) == -EAGAIN)
        wait_fd(fd, sl__tls_events(t));
    ck_assert_int_eq(r, -ECONNABORTED);
    ck_assert_msg(strstr(sl__tls_reason(t), "certificate required"), "%s", sl__tls_reason(t));
    sl__tls_free(t);
    srv_join(&s, fd);
    ck_assert(!s.handshake_ok);
    sl__tls_ctx_free(ctx);

    /* Without, TLS 1.2: refused in the handshake. */
    s = (struct srv){.require_client_cert = true, .max_version = TLS1_2_VERSION};
    ctx = ctx_with("ca.pem", NULL, NULL);
    t = connect_to(&s, SRV_ECHO, ctx, "127.0.0.1", &fd, &err);
    ck_assert_int_eq(err, -ECONNABORTED);
    ck_assert_msg(strstr(sl__tls_reason(t), "handshake failure"), "%s", sl__tls_reason(t));
    sl__tls_free(t);
    srv_join(&s, fd);
    sl__tls_ctx_free(ctx);
}
END_TEST

START_TEST(test_write_to_closed_peer_no_sigpipe)
{
    struct srv s = {0};
    struct sl__tls_ctx *ctx = ctx_with("ca.pem", NULL, NULL);
    int fd, err;
    struct sl__tls *t = connect_to(&s, SRV_PENDING, ctx, "127.0.0.1", &fd, &err);
    ck_assert_int_eq(err, 0);
    /* The server sends its record and waits for a byte; make it give up: it reads EOF only
     * when we shut our side, so shut the server's own socket from here. */
    shutdown(s.fd, SHUT_RDWR);
    pthread_join(s.th, NULL);
    close(s.fd);
    uint8_t buf[65536];
    memset(buf, 'w', sizeof(buf));
    struct iovec v = {.iov_base = buf, .iov_len = sizeof(buf)};
    ssize_t w = 0;
    for (int i = 0; i < 100 && (w >= 0 || w == -EAGAIN); i++)
        w = sl__tls_writev(t, &v, 1);
    ck_assert_msg(w == -EPIPE || w == -ECONNRESET, "write: %zd %s", w, sl__tls_reason(t));
    sl__tls_free(t);
    close(fd);
    sl__tls_ctx_free(ctx);
}
END_TEST

START_TEST(test_tls_below_1_2_refused)
{
    struct srv s = {.max_version = TLS1_1_VERSION};
    struct sl__tls_ctx *ctx = ctx_with("ca.pem", NULL, NULL);
    int fd, err;
    struct sl__tls *t = connect_to(&s, SRV_ECHO, ctx, "127.0.0.1", &fd, &err);
    ck_assert_int_eq(err, -ECONNABORTED);
    ck_assert_str_ne(sl__tls_reason(t), "");
    sl__tls_free(t);
    srv_join(&s, fd);
    ck_assert(!s.handshake_ok);
    sl__tls_ctx_free(ctx);
}
END_TEST

/* ---- a connection over TLS --------------------------------------------------------------- */

struct rec {
    int calls;
    int err;
    int32_t corr;
    size_t len;
    bool body_ok;
};
static struct rec recs[8];
static int order[8], completions;

static void req_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    (void)cl;
    struct rec *r = req->ctx;
    r->calls++;
    r->err = err;
    order[completions++] = (int)(r - recs);
    if (f) {
        int k = (int)(r - recs);
        r->len = f->len;
        r->body_ok = true;
        for (size_t j = 0; j < f->len; j++)
            if (f->body[j] != (uint8_t)(j * 31 + (size_t)k))
                r->body_ok = false;
    }
}

START_TEST(test_conn_over_tls)
{
    memset(recs, 0, sizeof(recs));
    completions = 0;
    struct srv s = {0};
    struct sl__client cl;
    char err[512] = "";
    ck_assert_msg(sl__client_init(&cl, conf_with("ca.pem", NULL, NULL), true, err, 512) == 0, "%s",
                  err);
    struct sl__conn *c = sl__conn_new(&cl, "127.0.0.1", 1, 0);
    c->fd = srv_start(&s, SRV_KAFKA);
    c->state = SL__CONN_CONNECTING; /* as sl__conn_ensure leaves it after connect(2) */
    for (int i = 0; i < 8; i++) {
        struct sl__req *r = sl__req_get(&cl);
        ck_assert_int_eq(sl__req_begin(&cl, r, KP_API_METADATA, SL__V_METADATA), 0);
        static const char pay[] = "borrowed";
        ck_assert_int_eq(sl__req_borrow(r, pay, sizeof(pay) - 1), 0);
        ck_assert_int_eq(sl__req_end(r), 0);
        r->cb = req_cb;
        r->ctx = &recs[i];
        recs[i].corr = r->corr;
        sl__conn_enqueue(c, r);
    }
    for (int turn = 0; turn < 10000 && completions < 8; turn++) {
        short ev = sl__conn_events(c);
        ck_assert_int_ne(ev, 0);
        struct pollfd p = {.fd = c->fd, .events = ev};
        ck_assert_msg(poll(&p, 1, 10000) > 0, "stalled in state %d", c->state);
        sl__conn_io(c, p.revents);
        ck_assert_int_ne(c->state, SL__CONN_DOWN);
    }
    ck_assert_int_eq(completions, 8);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(recs[i].calls, 1);
        ck_assert_int_eq(recs[i].err, 0);
        ck_assert(recs[i].body_ok);
        ck_assert_uint_eq(recs[i].len, i == 0 ? BIG_BODY : 8);
        ck_assert_int_eq(order[i], 7 - i); /* answered in reverse: matched by id */
    }
    ck_assert_uint_eq(cl.stats.connects, 1);
    sl__conn_free(c, -ECANCELED); /* closes the socket: the server sees EOF and ends */
    pthread_join(s.th, NULL);
    close(s.fd);
    sl__client_destroy(&cl);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sl_tls");
    TCase *t = tcase_create("tls");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_echo_1mib_tls13);
    tcase_add_test(t, test_echo_1mib_tls12);
    tcase_add_test(t, test_pending_bytes_poll_cannot_see);
    tcase_add_test(t, test_unknown_ca_refused);
    tcase_add_test(t, test_ca_directory);
    tcase_add_test(t, test_host_verification);
    tcase_add_test(t, test_client_cert_required);
    tcase_add_test(t, test_tls_below_1_2_refused);
    tcase_add_test(t, test_write_to_closed_peer_no_sigpipe);
    tcase_add_test(t, test_conn_over_tls);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
