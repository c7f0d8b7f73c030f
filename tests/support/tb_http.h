/*
 * tb_http — test support: a minimal HTTP/1.1 client for the broker's metrics listener, and
 * Prometheus's own checker (promtool check metrics) run over an exposition.
 *
 * Contract: loopback only (127.0.0.1), one request per connection ("Connection: close"),
 * 10 s socket timeouts, responses up to the caller's buffer (a longer body is an error).
 * Errors: 0 or -errno. promtool comes from Debian's prometheus package (scripts/deps.sh test
 * puts it on PATH); tb_promtool_check() says -ENOENT when it is not there.
 */
#ifndef SPLICELOG_TB_HTTP_H
#define SPLICELOG_TB_HTTP_H

#include <stddef.h>

struct tb_http_resp {
    int status;      /* 200, 503, ... */
    char *body;      /* NUL-terminated, malloc'd; tb_http_resp_free */
    size_t len;      /* body bytes */
    char head[2048]; /* the status line and headers, NUL-terminated (cut if longer) */
};

/*
 * Sends method path (body: NULL or NUL-terminated, sent with Content-Length) to
 * 127.0.0.1:port and reads the whole response (at most max_body bytes of body). 0 or -errno
 * (-EPROTO: not an HTTP response; -EFBIG: body longer than max_body).
 */
int tb_http(int port, const char *method, const char *path, const char *body, size_t max_body,
            struct tb_http_resp *out);
void tb_http_resp_free(struct tb_http_resp *r);

/*
 * Runs `promtool check metrics` over text: 0 when it is satisfied, 1 when it complains (its
 * output, cut to cap, in msg), -ENOENT when promtool is not installed, other -errno.
 */
int tb_promtool_check(const char *text, size_t len, char *msg, size_t cap);

/* The value of the sample whose line starts with `series ` (name and labels exactly as
 * printed, e.g. "splicelog_requests_total{api=\"Produce\"}"); -1 when absent. */
double tb_metric(const char *text, const char *series);
/* GET /metrics from the listener at 127.0.0.1:port, then tb_metric of series; -1 also when the
 * listener does not answer 200. */
double tb_metric_at(int port, const char *series);

#endif
