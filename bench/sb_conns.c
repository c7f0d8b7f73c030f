/*
 * sb_conns — many producer connections from one thread, for `scale` (see sb.h).
 *
 * A client library per connection would cost the bench more than the broker (10,000 handles,
 * each with its buffers and metadata); here a connection is a socket and a few counters. Every
 * connection sends the same Produce v7 request (acks=1, one batch of `batch` records for
 * partition 0, built once with the proto module; the broker writes its own baseOffset into its
 * copy, and the CRC does not cover it), keeps one request in flight, and checks each response's
 * error code. Connects are non-blocking, at most CONNECT_WINDOW in progress at once so that the
 * broker's accept backlog is not overrun; close is a RST (SO_LINGER 0) so that repeated runs
 * leave no TIME_WAIT sockets holding the loopback's ephemeral ports.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kp_api.h"
#include "kp_batch.h"
#include "kp_buf.h"
#include "kp_msg.h"
#include "sb.h"

#define CONNECT_WINDOW 256
#define RESP_MAX       512 /* a one-partition Produce response is ~60 bytes */
#define STALL_MS       30000

struct conn {
    int fd;
    bool connected, busy; /* busy: a request is in flight */
    size_t sent;          /* bytes of the request written so far */
    uint32_t got;         /* bytes of the response frame (size included) so far */
    uint8_t resp[RESP_MAX];
};

struct sb_conns {
    int n, ep;
    struct conn *c;
};

static void conn_close(struct conn *c)
{
    if (c->fd < 0)
        return;
    struct linger l = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(c->fd);
    c->fd = -1;
}

void sb_conns_close(struct sb_conns *cs)
{
    if (!cs)
        return;
    for (int i = 0; i < cs->n; i++)
        conn_close(&cs->c[i]);
    if (cs->ep >= 0)
        close(cs->ep);
    free(cs->c);
    free(cs);
}

static int start_connect(struct sb_conns *cs, int i, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS) {
        int err = -errno;
        close(fd);
        return err;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
    if (epoll_ctl(cs->ep, EPOLL_CTL_ADD, fd, &ev)) {
        int err = -errno;
        close(fd);
        return err;
    }
    cs->c[i].fd = fd;
    return 0;
}

struct sb_conns *sb_conns_open(int port, int n, char *why, size_t why_len)
{
    if (sb_nofile_raise(n + 256) < n + 64) {
        snprintf(why, why_len, "cannot raise the open-file limit to %d", n + 256);
        return NULL;
    }
    struct sb_conns *cs = calloc(1, sizeof(*cs));
    if (!cs || !(cs->c = calloc((size_t)n, sizeof(*cs->c)))) {
        free(cs);
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    cs->n = n;
    for (int i = 0; i < n; i++)
        cs->c[i].fd = -1;
    cs->ep = epoll_create1(EPOLL_CLOEXEC);
    if (cs->ep < 0) {
        snprintf(why, why_len, "epoll_create1: %s", strerror(errno));
        sb_conns_close(cs);
        return NULL;
    }
    int next = 0, pending = 0, done = 0;
    uint64_t last = sb_now_ns();
    struct epoll_event ev[256];
    while (done < n) {
        while (next < n && pending < CONNECT_WINDOW) {
            int rc = start_connect(cs, next, port);
            if (rc) {
                snprintf(why, why_len, "connection %d: %s", next, strerror(-rc));
                sb_conns_close(cs);
                return NULL;
            }
            next++;
            pending++;
        }
        int k = epoll_wait(cs->ep, ev, 256, 1000);
        for (int e = 0; e < k; e++) {
            struct conn *c = &cs->c[ev[e].data.u32];
            int err = 0;
            socklen_t len = sizeof(err);
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err || (ev[e].events & (EPOLLERR | EPOLLHUP))) {
                snprintf(why, why_len, "connection %u: %s (%d of %d connected)", ev[e].data.u32,
                         strerror(err ? err : ECONNRESET), done, n);
                sb_conns_close(cs);
                return NULL;
            }
            struct epoll_event in = {.events = EPOLLIN, .data.u32 = ev[e].data.u32};
            epoll_ctl(cs->ep, EPOLL_CTL_MOD, c->fd, &in);
            c->connected = true;
            pending--;
            done++;
            last = sb_now_ns();
        }
        if (sb_now_ns() - last > (uint64_t)STALL_MS * 1000000ULL) {
            snprintf(why, why_len, "connections stalled at %d of %d", done, n);
            sb_conns_close(cs);
            return NULL;
        }
    }
    return cs;
}

/* Writes what is left of the request; 0, or -errno. */
static int conn_send(struct sb_conns *cs, int i, const uint8_t *req, size_t len)
{
    struct conn *c = &cs->c[i];
    while (c->sent < len) {
        ssize_t k = send(c->fd, req + c->sent, len - c->sent, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno == EAGAIN) {
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
            return epoll_ctl(cs->ep, EPOLL_CTL_MOD, c->fd, &ev) ? -errno : 0;
        }
        if (k <= 0)
            return k < 0 ? -errno : -EPIPE;
        c->sent += (size_t)k;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    return epoll_ctl(cs->ep, EPOLL_CTL_MOD, c->fd, &ev) ? -errno : 0;
}

/* Checks a complete response frame in c->resp; 0 or -EPROTO with why. */
static int check_resp(const struct conn *c, char *why, size_t why_len)
{
    uint8_t arena_mem[2048];
    struct kp_arena arena;
    struct kp_rd rd;
    struct kp_produce_resp pr;
    int32_t corr;
    kp_arena_init(&arena, arena_mem, sizeof(arena_mem));
    kp_rd_init(&rd, c->resp + 4, c->got - 4);
    if (kp_resp_hdr_decode(&rd, KP_API_PRODUCE, 7, &corr) ||
        kp_produce_resp_decode(&rd, 7, &arena, &pr) || pr.n_topics != 1 ||
        pr.topics[0].n_partitions != 1) {
        snprintf(why, why_len, "malformed Produce response");
        return -EPROTO;
    }
    int16_t ec = pr.topics[0].partitions[0].error_code;
    if (ec) {
        snprintf(why, why_len, "Produce: %s", kp_err_name(ec));
        return -EPROTO;
    }
    return 0;
}

/* Reads what arrived; *complete is set when a whole response frame is in. 0 or -errno. */
static int conn_recv(struct conn *c, bool *complete, char *why, size_t why_len)
{
    *complete = false;
    for (;;) {
        size_t want = c->got < 4 ? 4 - c->got : 0;
        if (c->got >= 4) {
            uint32_t size = kp_load_be32(c->resp);
            if (size < 4 || size > RESP_MAX - 4) {
                snprintf(why, why_len, "response frame of %u bytes", size);
                return -EPROTO;
            }
            want = 4 + size - c->got;
            if (!want) {
                *complete = true;
                return 0;
            }
        }
        ssize_t k = recv(c->fd, c->resp + c->got, want, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno == EAGAIN)
            return 0;
        if (k <= 0) {
            snprintf(why, why_len, "connection closed by the broker");
            return k < 0 ? -errno : -ECONNRESET;
        }
        c->got += (uint32_t)k;
    }
}

/* The request: one Produce v7 with one batch of `batch` records for partition 0. */
static uint8_t *build_request(const char *topic, int batch, size_t record_size, size_t *len)
{
    size_t cap = (size_t)batch * (record_size + 32) + 4096;
    uint8_t *b = malloc(cap), *req = malloc(cap + 512), *value = malloc(record_size);
    uint8_t *out = NULL;
    if (!b || !req || !value)
        goto done;
    int64_t now_ms = (int64_t)(sb_wall_ns() / 1000000ULL);
    struct kp_batch_builder bb;
    if (kp_batch_begin(&bb, b, cap, now_ms))
        goto done;
    for (int i = 0; i < batch; i++) {
        sb_value_fill(value, record_size, (uint64_t)i, sb_wall_ns());
        if (kp_batch_add(&bb, now_ms, KP_BYTES_NULL, (struct kp_bytes){value, (int32_t)record_size},
                         NULL, 0))
            goto done;
    }
    long blen = kp_batch_finish(&bb);
    if (blen <= 0)
        goto done;
    struct kp_wr wr;
    kp_wr_init(&wr, req, cap + 512);
    size_t pos = kp_frame_begin(&wr);
    struct kp_req_hdr h = {KP_API_PRODUCE, 7, 1, kp_str_of("splicelog-bench")};
    struct kp_produce_req_partition part = {0, {b, (int32_t)blen}};
    struct kp_produce_req_topic t = {kp_str_of(topic), 1, &part};
    struct kp_produce_req pr = {KP_STR_NULL, 1, 30000, 1, &t};
    if (kp_req_hdr_encode(&wr, &h) || kp_produce_req_encode(&wr, 7, &pr) || kp_frame_end(&wr, pos))
        goto done;
    *len = kp_wr_len(&wr);
    out = req;
    req = NULL;
done:
    free(b);
    free(req);
    free(value);
    return out;
}

int sb_conns_produce(struct sb_conns *cs, const char *topic, long long records, int batch,
                     size_t record_size, struct sb_conns_result *res, char *why, size_t why_len)
{
    memset(res, 0, sizeof(*res));
    res->connected = cs->n;
    size_t len = 0;
    uint8_t *req = build_request(topic, batch, record_size, &len);
    if (!req) {
        snprintf(why, why_len, "cannot build a Produce request of %d records", batch);
        return -EINVAL;
    }
    long long total = (records + batch - 1) / batch;
    if (total < cs->n)
        total = cs->n;
    long long issued = 0, completed = 0;
    int rc = 0;
    uint64_t t0 = sb_now_ns(), last = t0;
    for (int i = 0; i < cs->n && issued < total && !rc; i++) {
        cs->c[i].busy = true;
        cs->c[i].sent = 0;
        issued++;
        if ((rc = conn_send(cs, i, req, len)))
            snprintf(why, why_len, "send: %s", strerror(-rc));
    }
    struct epoll_event ev[512];
    while (!rc && completed < total) {
        int k = epoll_wait(cs->ep, ev, 512, 1000);
        for (int e = 0; e < k && !rc; e++) {
            int i = (int)ev[e].data.u32;
            struct conn *c = &cs->c[i];
            if ((ev[e].events & EPOLLOUT) && c->sent < len && (rc = conn_send(cs, i, req, len))) {
                snprintf(why, why_len, "send: %s", strerror(-rc));
                break;
            }
            if (!(ev[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                continue;
            bool complete;
            if ((rc = conn_recv(c, &complete, why, why_len)))
                break;
            if (!complete)
                continue;
            if ((rc = check_resp(c, why, why_len)))
                break;
            completed++;
            last = sb_now_ns();
            c->got = 0;
            c->busy = false;
            if (issued < total) {
                c->busy = true;
                c->sent = 0;
                issued++;
                if ((rc = conn_send(cs, i, req, len)))
                    snprintf(why, why_len, "send: %s", strerror(-rc));
            }
        }
        if (!rc && sb_now_ns() - last > (uint64_t)STALL_MS * 1000000ULL) {
            snprintf(why, why_len, "no response for %d s (%lld of %lld requests answered)",
                     STALL_MS / 1000, completed, total);
            rc = -ETIMEDOUT;
        }
    }
    res->seconds = (double)(sb_now_ns() - t0) / 1e9;
    res->requests = completed;
    res->records = completed * batch;
    free(req);
    return rc;
}
