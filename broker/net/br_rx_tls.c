/*
 * br_rx_tls — the receive side of SSL listeners (see br_rx.h): the handshake, then records
 * decrypted into the frame buffer, with the session in memory mode (ciphertext through its
 * bounded rx buffer, received with io_uring) or in socket mode (kernel TLS: OpenSSL reads the
 * non-blocking socket itself when an io_uring poll says it can). Whatever a memory-mode session
 * wants to say (handshake flights, alerts) is sent through the tls-copy send side's single
 * send (br_xfer_tls_flush); a socket-mode session writes its own.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "br_conn.h"
#include "br_log.h"
#include "br_rx.h"
#include "br_tls.h"
#include "br_tls_conn.h"
#include "br_xfer.h"

/* ---- arming ---------------------------------------------------------------------------------- */

/* Memory mode: ciphertext into the session, bounded by its rx buffer, not by the frame buffer
 * (when rx is full the input drains it, then the connection re-arms). */
static void mem_arm(struct br_conn *c)
{
    size_t room;
    uint8_t *p = br_tls_rx_space(c->tls, &room);
    if (room == 0)
        return;
    struct io_uring_sqe *sqe = br_ring_sqe(&c->loop->ring, &c->recv_op);
    io_uring_prep_recv(sqe, c->fd, p, room, 0);
    c->recv_multishot = false;
    c->recv_armed = true;
    c->inflight++;
}

/* Socket mode: OpenSSL reads the socket itself once it is readable (or writable, when the
 * handshake waits to send). */
static void sock_arm(struct br_conn *c)
{
    struct io_uring_sqe *sqe = br_ring_sqe(&c->loop->ring, &c->recv_op);
    io_uring_prep_poll_add(sqe, c->fd, br_tls_want(c->tls) == POLLOUT ? POLLOUT : POLLIN);
    c->recv_multishot = false;
    c->recv_armed = true;
    c->inflight++;
}

/* ---- failures ----------------------------------------------------------------------------------
 */

static void tls_fail(struct br_conn *c, int rc, const char *what)
{
    const char *why = br_tls_error(c->tls);
    if (rc == -EACCES) {
        br_warn("peer=%s: TLS handshake refused on listener %s: %s", c->peer.name,
                c->lst->cfg->name, why);
        /* best effort: the alert saying why, if nothing else is being sent */
        size_t n;
        const uint8_t *p = br_tls_tx_data(c->tls, &n);
        if (n && c->send_ops == 0 && send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
            br_tls_tx_consume(c->tls, n);
        br_conn_close(c, "TLS handshake refused");
        return;
    }
    char reason[320];
    snprintf(reason, sizeof(reason), "TLS %s: %s", what, why[0] ? why : strerror(-rc));
    if (rc != -ECONNRESET)
        br_warn("peer=%s: %s", c->peer.name, reason);
    br_conn_close(c, reason);
}

/*
 * Looks at the client's first bytes once three have arrived: false (connection closing) when
 * they are not a TLS record. In socket mode they are peeked at on the socket.
 */
static bool first_bytes_ok(struct br_conn *c)
{
    if (c->tls_checked)
        return true;
    uint8_t peek[4];
    const uint8_t *p = peek;
    size_t n = 0;
    if (br_tls_socket_mode(c->tls)) {
        ssize_t r = recv(c->fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
        if (r == 0) {
            br_conn_close(c, "peer closed the connection");
            return false;
        }
        if (r < 0)
            return true; /* nothing yet (or an error the handshake reports) */
        n = (size_t)r;
        if (n < 3)
            c->tls_checked = true; /* OpenSSL takes these bytes now: it judges them */
    } else {
        p = br_tls_rx_peek(c->tls, &n);
    }
    if (n < 3)
        return true;
    c->tls_checked = true;
    if (br_tls_sniff(p, n))
        return true;
    br_warn("peer=%s: not a TLS client on SSL listener %s (first bytes %02x %02x %02x %02x: a "
            "plaintext Kafka request?)",
            c->peer.name, c->lst->cfg->name, p[0], p[1], p[2], n > 3 ? p[3] : 0);
    br_conn_close(c, "not a TLS client");
    return false;
}

/* ---- after the handshake: the swap
 * ---------------------------------------------------------------- */

/*
 * The handshake is done: the connection's transports for the rest of its life. A memory-mode
 * session keeps tls-copy; a socket-mode (kernel TLS) one sends through the kernel when the
 * kernel took its send keys, else moves to memory mode and tls-copy. Writes the outcome into
 * how for the connection's log line; false when the connection closes.
 */
static bool pick_path(struct br_conn *c, char *how, size_t len)
{
    struct br_tls *t = c->tls;
    if (!br_tls_socket_mode(t)) {
        c->rx = &br_rx_tls;
        snprintf(how, len, "fetch path %s", c->xfer->name);
        return true;
    }
    if (br_ktls_send_active(t)) {
        c->xfer = &br_xfer_ktls;
        c->rx = &br_rx_tls_sock;
        snprintf(how, len, "fetch path %s, kernel TLS send%s", c->xfer->name,
                 br_ktls_recv_active(t) ? " and receive" : "");
        return true;
    }
    int rc = br_tls_to_memory(t, 0);
    if (rc < 0) {
        br_warn("peer=%s: TLS on listener %s: the kernel took only part of the session (%s)",
                c->peer.name, c->lst->cfg->name, strerror(-rc));
        br_conn_close(c, "kernel TLS half set up");
        return false;
    }
    c->xfer = &br_xfer_tls;
    c->rx = &br_rx_tls;
    snprintf(how, len, "fetch path %s: the kernel did not take this session's keys", c->xfer->name);
    return true;
}

/* ---- input ----------------------------------------------------------------------------------- */

/* The principal of a verified client certificate: ssl.principal.mapping.rules applied to its
 * subject. A subject no rule maps is refused, as Kafka refuses it. 0, or -EPERM (closed). */
static int principal_of(struct br_conn *c, const char *subj)
{
    char name[BR_PEER_PRINCIPAL_MAX - 8];
    int rc = br_sec_principal_map(c->loop->cfg->sec.principal_rules, subj, name, sizeof(name));
    if (rc < 0) {
        br_warn_limited("peer=%s: client certificate %s: %s (ssl.principal.mapping.rules)",
                        c->peer.name, br_log_cstr(subj).s,
                        rc == -ENOENT ? "no rule maps it" : strerror(-rc));
        br_conn_close(c, "client certificate not mapped to a principal");
        return -EPERM;
    }
    snprintf(c->peer.principal, sizeof(c->peer.principal), "User:%s", name);
    return 0;
}

/* Ciphertext arrived, or in socket mode the socket became ready: the handshake goes on; once
 * it is done, the connection's transports are swapped and what follows is read as records. */
static void handshake_input(struct br_conn *c)
{
    struct br_tls *t = c->tls;
    if (!first_bytes_ok(c))
        return;
    int rc = br_tls_handshake(t);
    if (rc == -EAGAIN) {
        br_xfer_tls_flush(c);
        return;
    }
    if (rc < 0) {
        tls_fail(c, rc, "handshake failed");
        return;
    }
    char d[128], subj[256], how[128];
    if (!pick_path(c, how, sizeof(how)))
        return;
    br_tls_describe(t, d, sizeof(d));
    br_tls_peer_subject(t, subj, sizeof(subj));
    if (subj[0] && principal_of(c, subj) < 0)
        return;
    br_info("peer=%s: TLS established on listener %s (%s%s%s; %s)", c->peer.name, c->lst->cfg->name,
            d, subj[0] ? ", client " : "", subj[0] ? br_log_cstr(subj).s : "", how);
    c->req_start_ms = 0; /* the handshake's bytes were no request */
    br_xfer_tls_flush(c);
    c->rx->input(c); /* records may have come with the last flight */
}

/*
 * Records decrypted into the frame buffer, frames cut as on a plaintext connection: first the
 * frames already there (held back earlier), then what the session decrypts. Bounded per call:
 * at most the frame buffer's room per round, and rounds end when the session has nothing more
 * without new ciphertext or the connection's input is held again.
 */
static void records_input(struct br_conn *c)
{
    /* frames already in the buffer (held back: deferred by fair service, paused, waiting for
     * request bytes) are cut now, whether or not the session has anything new */
    bool held = c->in_len > 0;
    for (;;) {
        bool got = held;
        held = false;
        while (c->in_len < c->in_cap) {
            ssize_t n = br_tls_read(c->tls, c->in + c->in_len, c->in_cap - c->in_len);
            if (n > 0) {
                c->in_len += (size_t)n;
                got = true;
                continue;
            }
            if (n == -EAGAIN)
                break;
            if (n == 0) {
                br_conn_close(c, "peer sent close_notify");
                return;
            }
            tls_fail(c, (int)n, "read failed");
            return;
        }
        br_xfer_tls_flush(c);
        if (!got)
            break;
        br_conn__input(c);
        /* (deferred: whole requests wait for a later turn; read no further meanwhile) */
        if (c->closing || c->paused || c->bytes_wait.waiting || c->deferred ||
            c->in_len == c->in_cap)
            break;
    }
}

/* ---- completions -------------------------------------------------------------------------------
 */

/* Memory mode: res bytes of ciphertext landed in rx (or the peer's EOF, or an error). */
static void mem_complete(struct br_conn *c, int res, unsigned flags)
{
    (void)flags;
    if (c->closing)
        return;
    if (res > 0) {
        br_conn__begun(c);
        br_tls_rx_commit(c->tls, (size_t)res);
        c->rx->input(c);
    } else {
        if (res == 0) {
            br_tls_rx_eof(c->tls);
            c->rx->input(c); /* names a handshake or record cut short */
        }
        br_conn__recv_end(c, res);
    }
}

/* Socket mode: the poll says the socket is ready for the session (res: its events). */
static void sock_complete(struct br_conn *c, int res, unsigned flags)
{
    (void)flags;
    if (c->closing)
        return;
    if (res > 0) {
        br_conn__begun(c);
        c->rx->input(c);
    } else if (res != -EINTR && res != -ECANCELED) {
        char why[96];
        snprintf(why, sizeof(why), "poll failed: %s", strerror(res ? -res : EIO));
        br_conn_close(c, why);
    }
}

static void tls_release(struct br_conn *c)
{
    br_tls_free(c->tls);
    c->tls = NULL;
}

/* A send completed: a handshake (or a read) that waited for room in tx goes on. */
static void tls_sent(struct br_conn *c)
{
    if (br_tls_input_blocked(c->tls))
        c->rx->input(c);
}

const struct br_rx br_rx_tls_handshake = {
    .name = "tls-handshake",
    .handshake = true,
    .arm = mem_arm,
    .complete = mem_complete,
    .input = handshake_input,
    .sent = tls_sent,
    .release = tls_release,
};

const struct br_rx br_rx_tls = {
    .name = "tls",
    .arm = mem_arm,
    .complete = mem_complete,
    .input = records_input,
    .sent = tls_sent,
    .release = tls_release,
};

const struct br_rx br_rx_tls_sock_handshake = {
    .name = "tls-socket-handshake",
    .handshake = true,
    .arm = sock_arm,
    .complete = sock_complete,
    .input = handshake_input,
    .sent = tls_sent,
    .release = tls_release,
};

const struct br_rx br_rx_tls_sock = {
    .name = "tls-socket",
    .arm = sock_arm,
    .complete = sock_complete,
    .input = records_input,
    .sent = tls_sent,
    .release = tls_release,
};
