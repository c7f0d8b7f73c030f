/*
 * br_http — the broker's HTTP listener for operators: /metrics (Prometheus text format),
 * /health (ready only once the broker says so) and /log-level (read and change br_log's level
 * at run time). Served by libmicrohttpd on a thread of its own, never by a loop thread.
 *
 * Endpoints
 *   GET  /metrics    200, the exposition of the registry given at start
 *                    (Content-Type: text/plain; version=0.0.4; charset=utf-8)
 *   GET  /health     200 "ready" once br_http_set_health(READY); 503 "starting: ..." before
 *                    (the data directory is being recovered), 503 "stopping" during shutdown
 *   GET  /log-level  200 and the level ("info")
 *   PUT  /log-level  body "debug" (or error, warn, info; POST too): 200 "debug (was info)";
 *                    400 for an unknown level; 403 from a peer that is not on loopback unless
 *                    remote changes are allowed; the change is logged with the peer
 *   GET  /           200, a list of these
 *   anything else: 404, or 405 with Allow for a known path and another method. HEAD works
 *   where GET does.
 *
 * Contract
 * - br_http_start() binds host:port (port 0: ephemeral, br_http_port() says which), starts the
 *   server thread and returns; 0 or -errno with err saying why (a bad address, the port in use).
 *   br_http_stop() stops accepting, waits for the request being served, and frees everything.
 *   Both from the owning thread; the thread that starts it must have the signals it handles
 *   itself blocked (the server thread inherits its mask).
 * - Bounded: at most max_connections at once (more wait in the listen backlog of 16 until one
 *   closes; past that the kernel refuses them), a connection idle or slow for timeout_s seconds
 *   is closed, a request body larger than 64 bytes is refused (413), each connection's buffers
 *   are bounded by the library (32 KiB).
 * - br_http_set_health() may be called from any thread at any time.
 * - Nothing here is authenticated: the listener belongs on loopback (the broker's default);
 *   bound elsewhere, the start-up logs a warning.
 */
#ifndef SPLICELOG_BR_HTTP_H
#define SPLICELOG_BR_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct br_metrics;
struct br_http;

enum br_http_health {
    BR_HTTP_STARTING = 0, /* 503: recovery of the data directory, threads starting */
    BR_HTTP_READY,        /* 200 */
    BR_HTTP_STOPPING,     /* 503: shutting down */
};

struct br_http_opts {
    const char *host;           /* numeric address or name; "" = every address */
    int port;                   /* 0 = ephemeral */
    int max_connections;        /* >= 1 */
    int timeout_s;              /* >= 1 */
    bool log_level_remote;      /* accept PUT /log-level from peers not on loopback */
    struct br_metrics *metrics; /* exposed on /metrics (may be NULL: 404) */
};

int br_http_start(const struct br_http_opts *o, struct br_http **out, char *err, size_t errlen);
/* The bound port. */
int br_http_port(const struct br_http *h);
void br_http_set_health(struct br_http *h, enum br_http_health state);
/* NULL is a no-op. */
void br_http_stop(struct br_http *h);

/* "http://HOST:PORT" (HOST may be [v6] or empty): 0, or -EINVAL. host gets hostcap bytes. */
int br_http_parse_url(const char *url, char *host, size_t hostcap, int *port);

#endif
