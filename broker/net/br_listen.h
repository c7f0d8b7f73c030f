/*
 * br_listen — listeners: binding their sockets at start-up (one SO_REUSEPORT socket per loop
 * thread, all on the listener's port), and accepting on them (multishot where the kernel has
 * it).
 *
 * Contract
 * - br_listen_port_free() and br_listen_bind() run on the main thread before the loops start;
 *   they log what goes wrong and return 0 or -errno.
 * - The accept side runs on each loop thread: br_listen_arm() arms (or re-arms) a socket's
 *   accept, br_listen_complete() takes its completions and hands each new socket to
 *   br_place_accepted() (br_place.h), which makes it a connection of this loop or hands it,
 *   before anything is armed on it, to a less loaded loop (connection.placement=load). An
 *   accept that failed for lack of descriptors or memory is re-armed by the loop's
 *   once-a-second tick (br_listen_arm again), not at once.
 * - A listener's sockets are closed by whoever bound them, after the loops have exited.
 */
#ifndef SPLICELOG_BR_LISTEN_H
#define SPLICELOG_BR_LISTEN_H

#include <stdbool.h>
#include <sys/socket.h>

#include "br_config.h"
#include "br_loop.h"

struct br_xfer;
struct br_tls_ctx;

/* One configured listener: its protocol and the transfer path fetches use on it. */
struct br_listener {
    const struct br_listener_cfg *cfg;
    int index;
    int port;                     /* the bound port */
    char bound_host[BR_HOST_MAX]; /* numeric form of the bound address */
    const struct br_xfer *xfer;   /* fetch transfer path of this listener */
    struct br_tls_ctx *tls;       /* SSL listeners: the context sessions are made from */
};

/* Per loop, per listener: the listening socket this thread accepts on. */
struct br_accept {
    struct br_op op; /* BR_OP_ACCEPT, owner = this */
    struct br_loop *loop;
    struct br_listener *lst;
    int fd;
    bool armed;
    bool multishot;
};

/*
 * A broker killed with SIGKILL leaves its listening sockets behind for a few milliseconds (its
 * io_uring holds them until the kernel tears the ring down): a fixed port found in use is
 * tried again for up to 3 s. 0, or -EADDRINUSE (logged) when someone really holds it.
 */
int br_listen_port_free(const struct br_listener_cfg *lc);
/* Resolves host (empty: every address) and the numeric port (0: ephemeral), then binds and
 * listens (backlog) on the first address that takes it, with SO_REUSEADDR, and SO_REUSEPORT
 * when reuseport. 0, *out_fd and its bound address in *out_ss; -EINVAL with *out_gai set
 * (getaddrinfo's error) when host does not resolve; else -errno of the last attempt. Logs
 * nothing: br_listen_bind() and the metrics listener (br_http.c) say it their way. */
int br_listen_tcp(const char *host, int port, int backlog, bool reuseport, int *out_fd,
                  struct sockaddr_storage *out_ss, int *out_gai);
/* Binds and listens on lc's address at port (0: ephemeral), filling l's port and bound_host.
 * 0 and *out_fd, or -errno (logged). */
int br_listen_bind(const struct br_listener_cfg *lc, int port, struct br_listener *l, int *out_fd);

/* Loop thread: arms a's accept unless it is armed, the loop is stopping or a has no socket. */
void br_listen_arm(struct br_loop *loop, struct br_accept *a);
/* Loop thread: a BR_OP_ACCEPT completion. */
void br_listen_complete(struct br_loop *loop, struct br_accept *a, int res, unsigned flags);

#endif
