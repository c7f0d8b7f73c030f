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
 * - release() gives back per-connection resources (pipe, buffer) when the connection closes,
 *   or when it moves to another loop with nothing to send (br_conn.h, placement: a pipe
 *   belongs to its loop's pool; the path takes a new one, or a buffer, at its next step); it
 *   runs only once every op of the connection has completed.
 * - Small responses go in line on every plaintext path (br_xfer_inline.c): when the file bytes
 *   at the send position are few (fetch.inline.max.bytes) and the page cache holds them, they
 *   are copied next to the response header and the whole goes out in one io_uring sendmsg.
 * - No path blocks the loop thread on the disk: splice and copy read through io_uring; sendfile
 *   checks that a chunk is in the page cache first and reads a cold one through io_uring.
 * - fetch.transfer=auto: br_xfer_auto_choose measures the paths at start-up (br_xfer_auto.c).
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

/* fetch.transfer=auto (br_xfer_auto.c, main thread, before the loops start): the bulk path
 * this machine moves fastest, by a loopback self-test of splice, sendfile and copy bounded
 * to well under a second, cached in data_dir keyed by kernel release and CPU model (copy_cap:
 * fetch.copy.buffer.bytes, the copy path's chunk). Fills
 * why with the figures and whether they were measured now or read from the cache. Never
 * fails: when the test cannot run, sendfile, and why says so. */
enum br_transfer br_xfer_auto_choose(const char *data_dir, const struct br_features *f,
                                     size_t copy_cap, char *why, size_t why_len);

/* The self-test's rule, on its medians for splice, sendfile, copy (in that order; MB/s 0 =
 * not measured): of the paths within half of the fastest MB/s the cheapest in CPU per GiB,
 * but sendfile unless that one costs at most 3/4 of sendfile's CPU. */
enum br_transfer br_xfer__auto_pick(const double mb[3], const double cpu[3]);

/* ---- shared by the paths (internal to br_xfer*.c) ---------------------------------------- */

/* In-line step: when the send position is at memory pieces and/or file ranges of at most
 * fetch.inline.max.bytes in all, that the page cache holds (preadv2 RWF_NOWAIT into the
 * connection's buffer), queues one sendmsg of all of them (BR_OP_SEND). 1 when queued, 0 when
 * the step is the path's own (a large or cold range first), -errno. Only with no bytes of the
 * path's own in flight or buffered (pipe_fill == copy_fill == 0). */
int br_xfer__inline_step(struct br_conn *c);
/* The connection's copy buffer (fetch.copy.buffer.bytes; on the other paths at most
 * fetch.inline.max.bytes), allocated on first use; NULL on -ENOMEM. Freed by
 * br_xfer__buf_free (release). */
uint8_t *br_xfer__buf(struct br_conn *c);
void br_xfer__buf_free(struct br_conn *c);
/* 1 when every page of [off, off+len) of fd is in the page cache, 0 when one is not, -errno
 * when the kernel cannot say (cachestat(2), else mincore(2) of a mapping). uptodate: count
 * only pages whose contents are there (mincore), not those being read in. */
int br_xfer__resident(int fd, uint64_t off, size_t len, bool uptodate);
/* The copy path's step and completion (br_xfer_copy.c), for sendfile's cold chunks. */
int br_xfer__copy_step(struct br_conn *c);
int br_xfer__copy_complete(struct br_conn *c, struct br_op *op, int res);

#endif
