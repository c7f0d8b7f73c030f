/*
 * br_http — see br_http.h.
 *
 * Why libmicrohttpd and not the loops' io_uring: the listener serves a scrape every few
 * seconds and a health probe; nothing here is on the data path, and a mature HTTP/1.1 parser
 * (chunked bodies, pipelining, HEAD, slow clients, header limits) is more code than the whole
 * metrics module. Its own thread keeps a slow scrape (a store with many partitions) off the
 * loop threads, which never see an HTTP byte.
 *
 * The library calls the access handler at least twice per request: first with no state (we
 * set a marker and wait for the body), then once per piece of body, then with an empty piece
 * (we answer). The per-request state is freed in the completion callback.
 */
#include "br_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "br_listen.h"
#include "br_log.h"
#include "br_metrics.h"

#define BODY_MAX 64

struct br_http {
    struct MHD_Daemon *d;
    int fd; /* the listening socket (the library closes it at stop) */
    int port;
    bool remote_level;
    struct br_metrics *metrics;
    atomic_int health;
};

struct req {
    char body[BODY_MAX + 1];
    size_t len;
    bool too_big;
};

/* ---- addresses ---------------------------------------------------------------------------- */

int br_http_parse_url(const char *url, char *host, size_t hostcap, int *port)
{
    static const char scheme[] = "http://";
    if (strncasecmp(url, scheme, sizeof(scheme) - 1) != 0)
        return -EINVAL;
    const char *hp = url + sizeof(scheme) - 1;
    size_t len = strlen(hp);
    if (len && hp[len - 1] == '/')
        len--; /* "http://127.0.0.1:9644/" */
    const char *colon = NULL;
    for (size_t i = len; i > 0; i--) {
        if (hp[i - 1] == ':') {
            colon = hp + i - 1;
            break;
        }
        if (hp[i - 1] == ']' || hp[i - 1] == '/')
            break;
    }
    if (!colon)
        return -EINVAL;
    const char *h = hp;
    size_t hlen = (size_t)(colon - hp);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen >= hostcap || memchr(h, '/', hlen) || memchr(h, '[', hlen) || memchr(h, ']', hlen))
        return -EINVAL;
    const char *p = colon + 1;
    size_t plen = len - (size_t)(p - hp);
    if (plen == 0 || plen > 5)
        return -EINVAL;
    int v = 0;
    for (size_t i = 0; i < plen; i++) {
        if (!isdigit((unsigned char)p[i]))
            return -EINVAL;
        v = v * 10 + (p[i] - '0');
    }
    if (v > 65535)
        return -EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = 0;
    *port = v;
    return 0;
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

static void peer_str(const struct sockaddr *sa, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, cap, "%s:%d", host, port);
}

/* Binds and listens; the socket, or -errno with err set. */
static int listen_on(const char *host, int port, char *err, size_t errlen, bool *v6, bool *loopback,
                     int *bound)
{
    struct sockaddr_storage ss;
    int fd, gai;
    int rc = br_listen_tcp(host, port, 16, false, &fd, &ss, &gai);
    if (rc == -EINVAL && gai != 0) {
        snprintf(err, errlen, "metrics.listener: cannot resolve '%s': %s", host, gai_strerror(gai));
        return rc;
    }
    if (rc < 0) {
        snprintf(err, errlen, "metrics.listener: cannot listen on %s:%d: %s", host, port,
                 strerror(-rc));
        return rc;
    }
    *v6 = ss.ss_family == AF_INET6;
    *loopback = is_loopback((struct sockaddr *)&ss);
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* ---- answers ------------------------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *allow,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *allow,
                             const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result serve_metrics(struct br_http *h, struct MHD_Connection *c)
{
    char *text = NULL;
    size_t len = 0;
    int rc = br_metrics_expose(h->metrics, &text, &len);
    if (rc == -ENOMEM)
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory\n");
    if (rc == -EMSGSIZE)
        br_warn_limited("metrics: the exposition passed its byte bound and was cut (%zu bytes "
                        "served)",
                        len);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result serve_health(struct br_http *h, struct MHD_Connection *c)
{
    switch ((enum br_http_health)atomic_load(&h->health)) {
    case BR_HTTP_READY:
        return reply(c, MHD_HTTP_OK, NULL, "ready\n");
    case BR_HTTP_STOPPING:
        return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "stopping\n");
    case BR_HTTP_STARTING:
        break;
    }
    return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                 "starting: recovering the data directory\n");
}

static enum MHD_Result set_level(struct br_http *h, struct MHD_Connection *c, struct req *q)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    char peer[80];
    peer_str(sa, peer, sizeof(peer));
    if (!h->remote_level && !is_loopback(sa)) {
        br_warn_limited("metrics listener: peer=%s may not change the log level (not on "
                        "loopback; metrics.log.level.remote.enable=false)",
                        peer);
        return reply(c, MHD_HTTP_FORBIDDEN, NULL,
                     "only a peer on loopback may change the log level "
                     "(metrics.log.level.remote.enable=false)\n");
    }
    if (q->too_big)
        return reply(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL, "a level name is a short word\n");
    /* the body is the level's name, white space around it ignored ("debug\n" from a file) */
    char *s = q->body;
    s[q->len] = 0;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    enum br_log_level level;
    if (br_log_parse_level(s, &level) < 0)
        return reply(c, MHD_HTTP_BAD_REQUEST, NULL,
                     "unknown log level %s: expected error, warn, info or debug\n",
                     br_log_str(s, (int64_t)n).s);
    /* logged at INFO by whichever of the old and the new level shows it */
    enum br_log_level old = br_log_get_level();
    if (level < old)
        br_info("log level %s -> %s, by peer=%s (metrics listener)", br_log_level_name(old),
                br_log_level_name(level), peer);
    old = br_log_set_level(level);
    if (level >= old)
        br_info("log level %s -> %s, by peer=%s (metrics listener)", br_log_level_name(old),
                br_log_level_name(level), peer);
    return reply(c, MHD_HTTP_OK, NULL, "%s (was %s)\n", br_log_level_name(level),
                 br_log_level_name(old));
}

static bool is_get(const char *m)
{
    return strcmp(m, MHD_HTTP_METHOD_GET) == 0 || strcmp(m, MHD_HTTP_METHOD_HEAD) == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)version;
    struct br_http *h = cls;
    struct req *q = *req_cls;
    if (!q) {
        /* first call: headers only; the state holds the body to come */
        br_log_set_thread("http");
        q = calloc(1, sizeof(*q));
        if (!q)
            return MHD_NO;
        *req_cls = q;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        if (q->len + n > BODY_MAX)
            q->too_big = true;
        else
            memcpy(q->body + q->len, upload_data, n);
        if (!q->too_big)
            q->len += n;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") == 0 && h->metrics) {
        if (!is_get(method))
            return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD", "use GET\n");
        return serve_metrics(h, c);
    }
    if (strcmp(url, "/health") == 0) {
        if (!is_get(method))
            return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD", "use GET\n");
        return serve_health(h, c);
    }
    if (strcmp(url, "/log-level") == 0) {
        if (is_get(method))
            return reply(c, MHD_HTTP_OK, NULL, "%s\n", br_log_level_name(br_log_get_level()));
        if (strcmp(method, MHD_HTTP_METHOD_PUT) == 0 || strcmp(method, MHD_HTTP_METHOD_POST) == 0)
            return set_level(h, c, q);
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD, PUT, POST",
                     "use GET, or PUT with a level\n");
    }
    if (strcmp(url, "/") == 0 && is_get(method))
        return reply(c, MHD_HTTP_OK, NULL,
                     "splicelogd\n"
                     "  GET /metrics    Prometheus text format\n"
                     "  GET /health     200 ready, 503 starting or stopping\n"
                     "  GET /log-level  the log level; PUT a level (error, warn, info, debug) "
                     "to change it\n");
    return reply(c, MHD_HTTP_NOT_FOUND, NULL, "not found: try /metrics, /health, /log-level\n");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*req_cls);
    *req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fm, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fm, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    br_warn_limited("metrics listener: %s", msg);
}

/* ---- start and stop ----------------------------------------------------------------------- */

int br_http_start(const struct br_http_opts *o, struct br_http **out, char *err, size_t errlen)
{
    struct br_http *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, errlen, "metrics.listener: out of memory");
        return -ENOMEM;
    }
    h->remote_level = o->log_level_remote;
    h->metrics = o->metrics;
    atomic_init(&h->health, BR_HTTP_STARTING);
    bool v6 = false, loopback = false;
    h->fd = listen_on(o->host, o->port, err, errlen, &v6, &loopback, &h->port);
    if (h->fd < 0) {
        int rc = h->fd;
        free(h);
        return rc;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                     (v6 ? MHD_USE_IPv6 : 0);
    /* the logger first, so that start-up messages go through it too */
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
        MHD_OPTION_LISTEN_SOCKET, h->fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(o->max_connections > 0 ? o->max_connections : 1), MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(o->timeout_s > 0 ? o->timeout_s : 1), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)32 * 1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errlen, "metrics.listener: the HTTP server (libmicrohttpd) did not start");
        close(h->fd);
        free(h);
        return -EIO;
    }
    if (!loopback)
        br_warn("metrics listener on %s:%d is not on loopback: /metrics, /health and /log-level "
                "are not authenticated (log-level changes are refused from other hosts unless "
                "metrics.log.level.remote.enable=true)",
                o->host[0] ? o->host : "*", h->port);
    *out = h;
    return 0;
}

int br_http_port(const struct br_http *h) { return h->port; }

void br_http_set_health(struct br_http *h, enum br_http_health state)
{
    if (h)
        atomic_store(&h->health, (int)state);
}

void br_http_stop(struct br_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d); /* joins the server thread; closes the listening socket */
    free(h);
}
