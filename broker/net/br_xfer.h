/*
 * br_xfer — fetch transfer paths: how the file ranges of a response reach the socket.
 *
 * Contract
 * - Implementations behind this interface, chosen per listener: by fetch.transfer on PLAINTEXT
 *   listeners, splice (br_xfer_splice.c), sendfile (br_xfer_sendfile.c), copy
 *   (br_xfer_copy.c); on SSL listeners tls-copy (br_xfer_tls.c), or ktls-sendfile
 *   (br_xfer_sendfile.c) for a session whose keys the kernel took. They produce byte-identical
 *   plaintext; only the way bytes move (and whether they are encrypted) differs.
 * - step() is called by the connection's sender when no op of a previous step is in flight
 *   and the current piece (br_conn_cur_piece) exists. It queues SQEs (counting each in
 *   c->send_ops and c->inflight) or moves bytes synchronously and advances; it must never
 *   block the loop on the socket. A step that hits -EAGAIN sets c->want_pollout and the
 *   sender re-arms through a POLLOUT poll.
 * - complete() receives the completions of BR_OP_XFER_IN / BR_OP_XFER_OUT / BR_OP_SEND ops
 *   the path queued; it updates the position (br_conn_advance). Errors are returned as
 *   -errno and close the connection.
 * - abandoned() (optional) receives the completions of the path's ops that arrive after the
 *   connection began closing: no position moves and nothing is sent, but resources the
 *   connection shares with others (the splice pipes) are accounted, so that release() hands
 *   them back in a known state.
 * - release() gives back per-connection resources (pipe, buffer) when the connection closes;
 *   it runs only once every op of the connection has completed.
 * - idle() (optional) runs when the sender has no response bytes to move: the path's own bytes
 *   go out then (tls-copy: the session's handshake flights, alerts and tickets).
 */
#ifndef SPLICELOG_BR_XFER_H
#define SPLICELOG_BR_XFER_H

#include "br_conn.h"

struct br_xfer {
    const char *name;
    bool no_waitall; /* the socket refuses MSG_WAITALL (a kernel-TLS one: only MSG_MORE,
                        MSG_DONTWAIT and MSG_NOSIGNAL pass tls_sw_sendmsg) */
    int (*step)(struct br_conn *c);
    int (*complete)(struct br_conn *c, struct br_op *op, int res);
    void (*abandoned)(struct br_conn *c, struct br_op *op, int res);
    void (*release)(struct br_conn *c);
    void (*idle)(struct br_conn *c);
};

extern const struct br_xfer br_xfer_splice;
extern const struct br_xfer br_xfer_sendfile;
extern const struct br_xfer br_xfer_copy;
extern const struct br_xfer br_xfer_tls;  /* SSL listeners (br_xfer_tls.c) */
extern const struct br_xfer br_xfer_ktls; /* SSL, kernel TLS (br_xfer_sendfile.c) */

const struct br_xfer *br_xfer_for(enum br_transfer t);

#endif
