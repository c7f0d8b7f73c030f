/*
 * test_br_http — the operators' HTTP listener without a broker: /health answers 503 until it is
 * told the broker is ready, 200 then, 503 again once stopping; /metrics serves the registry's
 * exposition with Prometheus's content type; /log-level reads and changes br_log's level (bad
 * names 400 and nothing changed, a long body 413); unknown paths 404, other methods 405 with
 * Allow; HEAD; at most max_connections at once and idle connections closed after timeout_s;
 * a port in use is refused with a message; the URL parser of metrics.listener.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "br_http.h"
#include "br_log.h"
#include "br_metrics.h"
#include "tb_broker.h"
#include "tb_http.h"

static struct br_metrics *M;
static struct br_http *H;
static int port;

static void start(int max_connections, int timeout_s)
{
    M = br_metrics_new(2, 64, 0);
    ck_assert_ptr_nonnull(M);
    struct br_metrics_family *f =
        br_metrics_family(M, "t_requests_total", BR_METRICS_COUNTER, "Requests.", NULL);
    br_metrics_add(M, br_metrics_series(M, f, NULL), 7);
    struct br_http_opts o = {.host = "127.0.0.1",
                             .port = 0,
                             .max_connections = max_connections,
                             .timeout_s = timeout_s,
                             .metrics = M};
    char err[256];
    ck_assert_int_eq(br_http_start(&o, &H, err, sizeof err), 0);
    port = br_http_port(H);
    ck_assert_int_gt(port, 0);
}

static void setup(void) { br_log_set_level(BR_LOG_WARN); }

static void teardown(void)
{
    br_http_stop(H);
    H = NULL;
    br_metrics_free(M);
    M = NULL;
}

/* One request; its status, the body in *body (freed by the next call). */
static int get(const char *method, const char *path, const char *body, char **out)
{
    static struct tb_http_resp r;
    tb_http_resp_free(&r);
    int rc = tb_http(port, method, path, body, 1 << 20, &r);
    ck_assert_msg(rc == 0, "%s %s: %s", method, path, strerror(-rc));
    if (out)
        *out = r.body;
    return r.status;
}

static struct tb_http_resp last;

START_TEST(health_follows_the_broker)
{
    start(4, 5);
    char *body;
    ck_assert_int_eq(get("GET", "/health", NULL, &body), 503);
    ck_assert_ptr_nonnull(strstr(body, "starting"));
    br_http_set_health(H, BR_HTTP_READY);
    ck_assert_int_eq(get("GET", "/health", NULL, &body), 200);
    ck_assert_str_eq(body, "ready\n");
    ck_assert_int_eq(get("HEAD", "/health", NULL, &body), 200);
    ck_assert_str_eq(body, "");
    br_http_set_health(H, BR_HTTP_STOPPING);
    ck_assert_int_eq(get("GET", "/health", NULL, &body), 503);
    ck_assert_str_eq(body, "stopping\n");
    ck_assert_int_eq(get("POST", "/health", "x", &body), 405);
}
END_TEST

START_TEST(metrics_served)
{
    start(4, 5);
    ck_assert_int_eq(tb_http(port, "GET", "/metrics", NULL, 1 << 20, &last), 0);
    ck_assert_int_eq(last.status, 200);
    ck_assert_ptr_nonnull(strstr(last.head, "Content-Type: text/plain; version=0.0.4"));
    ck_assert_double_eq(tb_metric(last.body, "t_requests_total"), 7);
    char *text;
    size_t len;
    ck_assert_int_eq(br_metrics_expose(M, &text, &len), 0);
    ck_assert_str_eq(last.body, text);
    free(text);
    tb_http_resp_free(&last);
    ck_assert_int_eq(tb_http(port, "DELETE", "/metrics", NULL, 4096, &last), 0);
    ck_assert_int_eq(last.status, 405);
    ck_assert_ptr_nonnull(strstr(last.head, "Allow: GET, HEAD"));
    tb_http_resp_free(&last);
    char *body;
    ck_assert_int_eq(get("GET", "/nothing", NULL, &body), 404);
    ck_assert_int_eq(get("GET", "/", NULL, &body), 200);
    ck_assert_ptr_nonnull(strstr(body, "/metrics"));
}
END_TEST

START_TEST(log_level_at_run_time)
{
    start(4, 5);
    br_log_set_level(BR_LOG_INFO);
    char *body;
    ck_assert_int_eq(get("GET", "/log-level", NULL, &body), 200);
    ck_assert_str_eq(body, "info\n");
    ck_assert_int_eq(get("PUT", "/log-level", "debug\n", &body), 200);
    ck_assert_str_eq(body, "debug (was info)\n");
    ck_assert_int_eq(br_log_get_level(), BR_LOG_DEBUG);
    ck_assert_int_eq(get("POST", "/log-level", " WARN ", &body), 200);
    ck_assert_int_eq(br_log_get_level(), BR_LOG_WARN);
    /* a name that is not a level, an escape attempt, a long body: refused, nothing changed */
    ck_assert_int_eq(get("PUT", "/log-level", "loud", &body), 400);
    ck_assert_int_eq(get("PUT", "/log-level", "debug\nx", &body), 400);
    ck_assert_ptr_nonnull(strstr(body, "debug\\x0ax"));
    char big[200];
    memset(big, 'd', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ck_assert_int_eq(get("PUT", "/log-level", big, &body), 413);
    ck_assert_int_eq(get("DELETE", "/log-level", NULL, &body), 405);
    ck_assert_int_eq(br_log_get_level(), BR_LOG_WARN);
    ck_assert_int_eq(get("PUT", "/log-level", "info", &body), 200);
    ck_assert_str_eq(body, "info (was warn)\n");
}
END_TEST

static int raw_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* True when the server closes fd within ms. */
static bool closed_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return false;
    char b;
    return recv(fd, &b, 1, 0) <= 0;
}

START_TEST(bounded_connections_and_timeout)
{
    start(2, 1);
    int a = raw_connect(), b = raw_connect();
    ck_assert(!closed_within(a, 200)); /* idle, within the timeout: kept */
    /* a third connection is over max_connections: not served (it waits in the listen
     * backlog) while the two hold their places */
    int c = raw_connect();
    static const char req[] = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(send(c, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)sizeof req - 1);
    struct pollfd p = {.fd = c, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 300), 0);
    /* the idle ones go after timeout_s (1 s); then the third is answered */
    ck_assert(closed_within(a, 5000));
    ck_assert(closed_within(b, 5000));
    close(a);
    close(b);
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    char buf[256];
    ssize_t n = recv(c, buf, sizeof buf - 1, 0);
    ck_assert_int_gt(n, 12);
    buf[n] = 0;
    ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 503"));
    close(c);
    char *body;
    ck_assert_int_eq(get("GET", "/log-level", NULL, &body), 200);
}
END_TEST

START_TEST(port_in_use_and_stop)
{
    start(4, 5);
    struct br_http *other;
    struct br_http_opts o = {
        .host = "127.0.0.1", .port = port, .max_connections = 1, .timeout_s = 1, .metrics = M};
    char err[256];
    ck_assert_int_eq(br_http_start(&o, &other, err, sizeof err), -EADDRINUSE);
    ck_assert_ptr_nonnull(strstr(err, "metrics.listener"));
    o.host = "no.such.host.invalid";
    o.port = 0;
    ck_assert_int_eq(br_http_start(&o, &other, err, sizeof err), -EINVAL);
    /* once stopped, nothing listens there */
    br_http_stop(H);
    H = NULL;
    ck_assert_int_lt(tb_connect(port), 0);
}
END_TEST

START_TEST(url_parsing)
{
    char host[64];
    int p;
    ck_assert_int_eq(br_http_parse_url("http://127.0.0.1:9644", host, sizeof host, &p), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(p, 9644);
    ck_assert_int_eq(br_http_parse_url("http://[::1]:0/", host, sizeof host, &p), 0);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(p, 0);
    ck_assert_int_eq(br_http_parse_url("HTTP://localhost:80", host, sizeof host, &p), 0);
    ck_assert_str_eq(host, "localhost");
    ck_assert_int_eq(br_http_parse_url("http://:9644", host, sizeof host, &p), 0);
    ck_assert_str_eq(host, "");
    ck_assert_int_eq(br_http_parse_url("https://127.0.0.1:9644", host, sizeof host, &p), -EINVAL);
    ck_assert_int_eq(br_http_parse_url("http://127.0.0.1", host, sizeof host, &p), -EINVAL);
    ck_assert_int_eq(br_http_parse_url("http://127.0.0.1:99999", host, sizeof host, &p), -EINVAL);
    ck_assert_int_eq(br_http_parse_url("http://127.0.0.1:9x", host, sizeof host, &p), -EINVAL);
    ck_assert_int_eq(br_http_parse_url("http://a/b:1", host, sizeof host, &p), -EINVAL);
    ck_assert_int_eq(br_http_parse_url("127.0.0.1:9644", host, sizeof host, &p), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_http");
    TCase *tc = tcase_create("http");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, health_follows_the_broker);
    tcase_add_test(tc, metrics_served);
    tcase_add_test(tc, log_level_at_run_time);
    tcase_add_test(tc, bounded_connections_and_timeout);
    tcase_add_test(tc, port_in_use_and_stop);
    tcase_add_test(tc, url_parsing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
