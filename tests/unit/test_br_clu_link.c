/*
 * test_br_clu_link — the inter-broker client connection (broker/clu/br_clu_link.h) against a
 * plain OpenSSL server thread of the test's own: TLS with the peer's certificate and host
 * verified and this side's certificate presented, and every way it is refused, each with the
 * reason br_clu_link_error gives for the log line.
 *
 * Covered: a handshake to a server requiring client certificates, bytes both ways (more than
 * one record), a read with nothing there (-EAGAIN, no wait); the endpoint's host checked
 * against the certificate (127.0.0.2 is not in its IP SANs: -EACCES with https, accepted with
 * the check off); a CA that did not sign the server (-EACCES, "certificate verify failed"); a
 * client certificate the server refuses (seen at the first read under TLS 1.3: -EPROTO with
 * the alert); a peer that never answers the handshake (-ETIMEDOUT within the deadline); the
 * context's errors naming the key. Certificates from tests/support/tb_certs.sh.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "br_clu_link.h"
#include "tb_tls.h"

static char g_dir[512];

static const char *path(const char *name)
{
    static char buf[4][700];
    static int i;
    i = (i + 1) % 4;
    return tb_cert_path(buf[i], sizeof buf[i], g_dir, name);
}

/* ---- the server thread -------------------------------------------------------------------- */

struct server {
    int lfd, port;
    bool tls;    /* false: accept and say nothing (a stalled handshake) */
    int verdict; /* 1 handshake done, -1 refused */
    pthread_t th;
};

static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    if (!s->tls) {
        char b[64];
        (void)recv(fd, b, sizeof b, 0); /* the ClientHello, never answered */
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        close(fd);
        return NULL;
    }
    SSL_CTX *x = SSL_CTX_new(TLS_server_method());
    ck_assert_int_eq(SSL_CTX_use_certificate_chain_file(x, path("server.pem")), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(x, path("server.key"), SSL_FILETYPE_PEM), 1);
    ck_assert_int_eq(SSL_CTX_load_verify_locations(x, path("ca.pem"), NULL), 1);
    SSL_CTX_set_verify(x, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL *ssl = SSL_new(x);
    SSL_set_fd(ssl, fd);
    s->verdict = SSL_accept(ssl) == 1 ? 1 : -1;
    if (s->verdict == 1) { /* echo until the client goes */
        char b[4096];
        int n;
        while ((n = SSL_read(ssl, b, sizeof b)) > 0)
            if (SSL_write(ssl, b, n) != n)
                break;
    }
    SSL_free(ssl);
    SSL_CTX_free(x);
    ERR_clear_error();
    close(fd);
    return NULL;
}

static void server_start(struct server *s, const char *addr, bool tls)
{
    memset(s, 0, sizeof *s);
    s->tls = tls;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(s->lfd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    ck_assert_int_eq(inet_pton(AF_INET, addr, &a.sin_addr), 1);
    ck_assert_int_eq(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(s->lfd, 4), 0);
    socklen_t al = sizeof a;
    ck_assert_int_eq(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&s->th, NULL, serve, s), 0);
}

static void server_join(struct server *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
}

/* ---- the client side ---------------------------------------------------------------------- */

static struct br_clu_tls *client_ctx(const char *cert, const char *key, const char *ca,
                                     bool verify_host)
{
    struct br_tls_conf c;
    br_tls_conf_init(&c);
    snprintf(c.certificate, sizeof c.certificate, "%s", path(cert));
    snprintf(c.key, sizeof c.key, "%s", path(key));
    snprintf(c.ca, sizeof c.ca, "%s", path(ca));
    struct br_clu_tls *t = NULL;
    char err[512] = "";
    int rc = br_clu_tls_new(&c, verify_host, &t, err, sizeof err);
    ck_assert_msg(rc == 0, "br_clu_tls_new: %s", err);
    return t;
}

/* Opens a link to s at addr and runs the whole handshake: its result; the link in *out. */
static int dial(struct br_clu_tls *t, const char *addr, struct server *s, int64_t ms,
                struct br_clu_link **out)
{
    ck_assert_int_eq(br_clu_link_open(t, addr, s->port, 3000, out), 0);
    ck_assert(br_clu_link_is_tls(*out));
    return br_clu_link_handshake_wait(*out, ms);
}

START_TEST(handshake_and_bytes_both_ways)
{
    struct server s;
    server_start(&s, "127.0.0.1", true);
    struct br_clu_tls *t = client_ctx("broker.pem", "broker.key", "ca.pem", true);
    struct br_clu_link *l = NULL;
    ck_assert_int_eq(dial(t, "127.0.0.1", &s, 5000, &l), 0);
    br_clu_link_timeouts(l, 5000);
    uint8_t b[8];
    ck_assert_int_eq(br_clu_link_read(l, b, sizeof b), -EAGAIN); /* nothing yet, no wait */
    static uint8_t out[40000], in[40000];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (uint8_t)(i * 7 + 3);
    ck_assert_int_eq(br_clu_link_send(l, out, sizeof out), 0);
    ck_assert_int_eq(br_clu_link_recv(l, in, sizeof in), 0);
    ck_assert(memcmp(in, out, sizeof in) == 0);
    ck_assert_str_eq(br_clu_link_error(l), "");
    br_clu_link_close(l);
    server_join(&s);
    ck_assert_int_eq(s.verdict, 1); /* the server took this side's certificate */
    br_clu_tls_free(t);
}
END_TEST

START_TEST(endpoint_host_is_checked)
{
    struct server s;
    server_start(&s, "127.0.0.2", true); /* the certificate names 127.0.0.1 and localhost */
    struct br_clu_tls *t = client_ctx("broker.pem", "broker.key", "ca.pem", true);
    struct br_clu_link *l = NULL;
    ck_assert_int_eq(dial(t, "127.0.0.2", &s, 5000, &l), -EACCES);
    ck_assert_msg(strstr(br_clu_link_error(l), "mismatch"), "%s", br_clu_link_error(l));
    br_clu_link_close(l);
    server_join(&s);
    br_clu_tls_free(t);

    /* ssl.endpoint.identification.algorithm empty: the chain alone */
    server_start(&s, "127.0.0.2", true);
    t = client_ctx("broker.pem", "broker.key", "ca.pem", false);
    ck_assert_int_eq(dial(t, "127.0.0.2", &s, 5000, &l), 0);
    br_clu_link_close(l);
    server_join(&s);
    br_clu_tls_free(t);
}
END_TEST

START_TEST(untrusted_server_is_refused)
{
    struct server s;
    server_start(&s, "127.0.0.1", true);
    struct br_clu_tls *t = client_ctx("broker.pem", "broker.key", "other-ca.pem", true);
    struct br_clu_link *l = NULL;
    ck_assert_int_eq(dial(t, "127.0.0.1", &s, 5000, &l), -EACCES);
    ck_assert_msg(strstr(br_clu_link_error(l), "certificate verify failed"), "%s",
                  br_clu_link_error(l));
    br_clu_link_close(l);
    server_join(&s);
    br_clu_tls_free(t);
}
END_TEST

START_TEST(refused_client_certificate_shows_at_first_read)
{
    struct server s;
    server_start(&s, "127.0.0.1", true);
    struct br_clu_tls *t = client_ctx("rogue.pem", "rogue.key", "ca.pem", true);
    struct br_clu_link *l = NULL;
    int rc = dial(t, "127.0.0.1", &s, 5000, &l);
    if (rc == 0) { /* TLS 1.3: the client's handshake ends before the server judges it */
        br_clu_link_timeouts(l, 5000);
        uint8_t b[4] = {0, 0, 0, 0};
        (void)br_clu_link_send(l, b, sizeof b);
        rc = br_clu_link_recv(l, b, sizeof b);
    }
    ck_assert_msg(rc == -EPROTO || rc == -ECONNRESET, "rc %d (%s)", rc, br_clu_link_error(l));
    ck_assert_msg(br_clu_link_error(l)[0], "no reason given");
    br_clu_link_close(l);
    server_join(&s);
    ck_assert_int_eq(s.verdict, -1);
    br_clu_tls_free(t);
}
END_TEST

START_TEST(stalled_handshake_times_out)
{
    struct server s;
    server_start(&s, "127.0.0.1", false);
    struct br_clu_tls *t = client_ctx("broker.pem", "broker.key", "ca.pem", true);
    struct br_clu_link *l = NULL;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    ck_assert_int_eq(dial(t, "127.0.0.1", &s, 300, &l), -ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &b);
    int64_t ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    ck_assert_msg(ms >= 250 && ms < 2000, "waited %lld ms", (long long)ms);
    ck_assert_msg(strstr(br_clu_link_error(l), "not finished"), "%s", br_clu_link_error(l));
    /* the step API says what to wait for and never blocks */
    ck_assert_int_eq(br_clu_link_handshake(l), -EAGAIN);
    ck_assert(br_clu_link_events(l) != 0);
    br_clu_link_close(l);
    server_join(&s);
    br_clu_tls_free(t);
}
END_TEST

START_TEST(context_errors_name_the_key)
{
    struct br_tls_conf c;
    br_tls_conf_init(&c);
    struct br_clu_tls *t = NULL;
    char err[512];
    snprintf(c.certificate, sizeof c.certificate, "%s", path("broker.pem"));
    snprintf(c.key, sizeof c.key, "%s", path("broker.key"));
    ck_assert_int_eq(br_clu_tls_new(&c, true, &t, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "ssl.ca.location"), "%s", err);
    snprintf(c.ca, sizeof c.ca, "%s", path("ca.pem"));
    snprintf(c.key, sizeof c.key, "%s", path("server.key")); /* not broker.pem's key */
    ck_assert_int_eq(br_clu_tls_new(&c, true, &t, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "ssl.key.location"), "%s", err);
    snprintf(c.key, sizeof c.key, "%s", path("broker.key"));
    snprintf(c.ca, sizeof c.ca, "%s", path("no-such.pem"));
    ck_assert_int_eq(br_clu_tls_new(&c, true, &t, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "ssl.ca.location"), "%s", err);
    ck_assert_ptr_null(t);
    /* and the key's values */
    ck_assert_int_eq(
        br_tls_conf_set(&c, "ssl.endpoint.identification.algorithm", "", err, sizeof err), 0);
    ck_assert(!c.verify_host);
    ck_assert_int_eq(
        br_tls_conf_set(&c, "ssl.endpoint.identification.algorithm", "HTTPS", err, sizeof err), 0);
    ck_assert(c.verify_host);
    ck_assert_int_eq(
        br_tls_conf_set(&c, "ssl.endpoint.identification.algorithm", "ldap", err, sizeof err),
        -EINVAL);
}
END_TEST

static void certs_setup(void)
{
    int rc = tb_certs_make(g_dir, sizeof g_dir);
    ck_assert_msg(rc == 0, "tb_certs_make: %s", strerror(-rc));
}

static void certs_teardown(void) { tb_certs_cleanup(g_dir); }

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as the broker (br_clu_link.h) */
    Suite *s = suite_create("br_clu_link");
    TCase *tc = tcase_create("tls");
    tcase_add_unchecked_fixture(tc, certs_setup, certs_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, handshake_and_bytes_both_ways);
    tcase_add_test(tc, endpoint_host_is_checked);
    tcase_add_test(tc, untrusted_server_is_refused);
    tcase_add_test(tc, refused_client_certificate_shows_at_first_read);
    tcase_add_test(tc, stalled_handshake_times_out);
    tcase_add_test(tc, context_errors_name_the_key);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
