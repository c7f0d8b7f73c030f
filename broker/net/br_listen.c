/*
 * br_listen — listener sockets and accepts (see br_listen.h).
 */
#include "br_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "br_clock.h"
#include "br_conn.h"
#include "br_log.h"
#include "br_place.h"

int br_listen_tcp(const char *host, int port, int backlog, bool reuseport, int *out_fd,
                  struct sockaddr_storage *out_ss, int *out_gai)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ports[16];
    snprintf(ports, sizeof(ports), "%d", port);
    *out_gai = getaddrinfo(host[0] ? host : NULL, ports, &hints, &res);
    if (*out_gai != 0)
        return -EINVAL;
    int rc = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (reuseport)
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
            rc = -errno;
            close(fd);
            continue;
        }
        socklen_t sl = sizeof(*out_ss);
        getsockname(fd, (struct sockaddr *)out_ss, &sl);
        *out_fd = fd;
        freeaddrinfo(res);
        return 0;
    }
    freeaddrinfo(res);
    return rc;
}

int br_listen_bind(const struct br_listener_cfg *lc, int port, struct br_listener *out_l,
                   int *out_fd)
{
    struct sockaddr_storage ss;
    int gai;
    int rc = br_listen_tcp(lc->host, port, 1024, true, out_fd, &ss, &gai);
    if (rc == -EINVAL && gai != 0) {
        br_err("listener %s: cannot resolve '%s': %s", lc->name, lc->host, gai_strerror(gai));
        return rc;
    }
    if (rc < 0) {
        br_err("listener %s: cannot listen on %s:%d: %s", lc->name, lc->host, port, strerror(-rc));
        return rc;
    }
    char host[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
        out_l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    } else {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
        out_l->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    snprintf(out_l->bound_host, sizeof(out_l->bound_host), "%s", host);
    return 0;
}

/*
 * Every loop's socket sets SO_REUSEPORT so that they can share the port; the flip side is
 * that a second broker (same user) could join the group and silently take half of the
 * connections. For a fixed port, an exclusive bind first proves that nobody listens there.
 *
 * A broker killed with SIGKILL leaves its listening sockets behind for a moment: its io_uring
 * holds references to them (armed accepts), and the kernel tears the ring down in a worker
 * after the process is gone, so for some milliseconds after its exit the port still has
 * listeners that will never accept again. A restart in that window would be refused (or, were
 * it not for this check, would join their group and lose the connections hashed to them). So a
 * port found in use is tried again for up to PORT_WAIT_MS before giving up. SO_REUSEADDR (on
 * this probe and on the real sockets) lets the bind ignore the killed broker's connections in
 * TIME_WAIT. Two brokers on one data dir are kept apart by the data-dir lock, taken before
 * this; the wait only delays the start-up of a broker whose port another process really holds.
 */
#define PORT_WAIT_MS  3000
#define PORT_RETRY_MS 10

static int port_probe(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return 0; /* br_listen_bind reports it */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc = 0;
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno == EADDRINUSE)
        rc = -EADDRINUSE;
    close(fd);
    return rc;
}

int br_listen_port_free(const struct br_listener_cfg *lc)
{
    if (lc->port == 0)
        return 0;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ports[16];
    snprintf(ports, sizeof(ports), "%d", lc->port);
    if (getaddrinfo(lc->host[0] ? lc->host : NULL, ports, &hints, &res) != 0)
        return 0; /* br_listen_bind reports it */
    int64_t start = br_now_ms();
    int rc;
    bool told = false;
    while ((rc = port_probe(res)) == -EADDRINUSE && br_now_ms() - start < PORT_WAIT_MS) {
        if (!told)
            br_info("listener %s: %s:%d is in use: waiting up to %d ms for it to be released (a "
                    "broker killed just now?)",
                    lc->name, lc->host, lc->port, PORT_WAIT_MS);
        told = true;
        struct timespec ts = {0, PORT_RETRY_MS * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    freeaddrinfo(res);
    if (rc)
        br_err("listener %s: %s:%d is already in use (another broker?)", lc->name, lc->host,
               lc->port);
    else if (told)
        br_info("listener %s: %s:%d released after %lld ms", lc->name, lc->host, lc->port,
                (long long)(br_now_ms() - start));
    return rc;
}

/* ---- accept ------------------------------------------------------------------------------ */

void br_listen_arm(struct br_loop *loop, struct br_accept *a)
{
    if (a->armed || loop->stopping || a->fd < 0)
        return;
    struct io_uring_sqe *sqe = br_ring_sqe(&loop->ring, &a->op);
    if (a->multishot)
        io_uring_prep_multishot_accept(sqe, a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    else
        io_uring_prep_accept(sqe, a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    a->armed = true;
}

void br_listen_complete(struct br_loop *loop, struct br_accept *a, int res, unsigned flags)
{
    if (!(flags & IORING_CQE_F_MORE))
        a->armed = false;
    if (res >= 0) {
        br_place_accepted(loop, a, res);
    } else if (res == -EINVAL && a->multishot) {
        br_info("multishot accept refused by the kernel: single-shot accepts");
        a->multishot = false;
    } else if (res == -ECANCELED) {
        return;
    } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
        br_warn("accept on listener %s: %s (retrying in 1 s)", a->lst->cfg->name, strerror(-res));
        return; /* re-armed by the periodic tick */
    } else if (res != -EINTR && res != -ECONNABORTED && res != -EAGAIN) {
        br_warn("accept on listener %s: %s", a->lst->cfg->name, strerror(-res));
    }
    if (!a->armed)
        br_listen_arm(loop, a);
}
