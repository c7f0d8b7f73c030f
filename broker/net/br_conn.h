/*
 * br_conn — one client connection: framing, the in-order response queue, backpressure,
 * idle timeout, two-phase close. Responses are sent through the listener's transfer path.
 *
 * Contract
 * - A connection belongs to one loop thread; nothing here is thread-safe.
 * - Input: one buffer, grown to the size of the frame being received and bounded by
 *   socket.request.max.bytes; a bigger frame closes the connection with a log line. How bytes
 *   get there is the connection's receive transport (br_rx.h: plain, or TLS in memory or on
 *   the socket), chosen at accept and swapped once when a TLS handshake is done; this file
 *   only arms it, hands it the completions, and cuts frames from the buffer.
 * - Requests are handled in the order received and their responses sent in that order, even
 *   when an earlier one waits (long-poll fetch, produce waiting for fdatasync): a response
 *   slot is queued at once and filled later.
 * - Backpressure: while more than queued.max.requests responses, or more than
 *   socket.output.max.bytes of buffered response bytes, are pending, the connection is read
 *   no further; reading resumes when the queue drains.
 * - Fair service (shares of a loop turn): in one turn of its loop a connection has at most
 *   connection.turn.max.requests requests and connection.turn.max.bytes request bytes handled
 *   (a request is handled whole: one larger than the byte share is handled alone in its turn;
 *   0 lifts a cap). A connection whose share ran out with whole requests left in its buffer is
 *   read no further (its multishot recv is cancelled: TCP backpressure on the sender, not a
 *   growing buffer) and waits on its loop's ready list; each later turn serves every waiting
 *   connection its share, oldest first, after the completions of that turn, so a connection
 *   that pipelines many (large) requests delays another's request by at most a share per
 *   connection per turn, and is slowed itself before anyone else is. It reads again once no
 *   whole request is left. A connection whose byte share ran out in this turn or the last one is
 *   a heavy one: its requests are handled only in that last phase of the turn, after every other
 *   connection's requests that arrived in the turn (and after their answers are submitted).
 *   While other connections (light ones: on its own loop under connection.placement=load, which
 *   keeps light connections off a heavy one's loop; on any loop under hash) have had requests in
 *   the last 100 ms, a heavy one is also held after each of its turns (counted:
 *   splicelog_connection_holds_total), so that its turns take at most
 *   connection.heavy.busy.percent of its loop's time: the greedy client is slowed (its socket
 *   not read) to leave the CPU to the others, and runs at full speed when alone. How many
 *   requests of others were handled ahead of each request is measured
 *   (splicelog_request_ahead, br_stats.h).
 * - Read holds, the reasons a connection is not read, each lifted by its own event: its
 *   response queue (paused), request bytes (bytes_wait), its share of the turn (deferred), a
 *   hold until a time (br_conn_hold: fair service's, or a quota's throttle), a queued response
 *   that ends the connection (draining: a failed SASL login). arm_recv in br_conn.c reads them
 *   all.
 * - Request bytes: the frame buffer's first IN_BASE_CAP (16 KiB) bytes are the connection's
 *   own; growing it for a larger frame takes the growth from queued.max.request.bytes
 *   (br_limit.h) first, for the whole frame at once as soon as its size is known (a budget
 *   shared out piecemeal could leave every connection with part of a request and none able to
 *   finish). When the budget cannot give it, the connection is read no further (TCP
 *   backpressure) and waits in its loop's list until bytes are freed. A frame larger than the
 *   whole budget closes the connection with a log line. The buffer shrinks back to
 *   IN_BASE_CAP, giving the bytes back, once no large frame is pending: at once when others
 *   wait for bytes or more than half the budget is taken, otherwise once no frame has needed
 *   it for IN_KEEP_MS (br_conn_check_idle), so that a producer sending large requests one
 *   after another does not fault in and zero a fresh buffer for each of them.
 * - Admission (br_conn_accepted): a new connection is counted against max.connections and
 *   max.connections.per.ip (its overrides included); one from an address at its bound is
 *   closed at once. At max.connections the new connection closes the connection of its loop
 *   thread that has gone longest without a complete request, if that one has for at least
 *   max.connections.evict.idle.ms; otherwise it is refused. So idle connections cannot lock
 *   everyone else out; active ones are never closed to make room. Each loop keeps its
 *   connections in that order (least recently active first) so the choice is O(1).
 * - Time limits (br_conn_check_idle, once a second): idle time counts from the last complete
 *   request (or the last response sent, or the accept), never from stray bytes; once the first
 *   byte of a request is in, the whole request must arrive within request.receive.timeout.ms
 *   (the clock stops while the broker itself is not reading: backpressure, waiting for request
 *   bytes); a TLS handshake must finish within ssl.handshake.timeout.ms.
 * - Security session (br_sess.h): where the server has one, every whole frame is shown to the
 *   connection's session first; it answers the SASL APIs itself (possibly late, possibly
 *   closing the connection after the answer) and bounds the frame size before
 *   authentication (sasl.server.max.receive.size), and what it passes goes to dispatch.
 * - Quotas (KIP-219): a response with throttle_ms > 0 mutes the connection: nothing more is
 *   read (frames already buffered wait too) until that many milliseconds have passed. The
 *   mute is a br_conn_hold, the same "do not read until" as fair service's holds. One
 *   exception: a connection paused by its output (backpressure) when the mute began reads
 *   again once that output drains (after_progress), so up to the receive buffer's bytes may
 *   come in during the mute; no request is handled before the mute ends (share_check), and
 *   such a connection, quiescent, may move to another loop with its mute (br_conn_move.c;
 *   test_place a_moved_connection_keeps_its_quota_mute goes through exactly this path).
 * - Placement (br_place.h): a connection starts on the loop that took it up in
 *   br_conn_accepted(). Each loop publishes its live connections and its heavy ones (byte
 *   share ran out within the last HEAVY_MS, as for fair service) in load_conns / load_heavy
 *   (br_loop.h): a connection counts as heavy from the turn its byte share runs out until the
 *   once-a-second check finds it has not for a second, or it closes.
 * - Moving (br_conn_move_light in br_conn_move.c, placement=load): a light connection of a loop
 *   with a heavy one
 *   moves to a loop without, at its next quiescent point: not closing, no request being
 *   received (empty frame buffer, no request clock running) or handled, no response queued,
 *   parked or being sent (so no wait of it is parked and no op but its recv is in flight), no
 *   read hold (backpressure, request bytes, share, hold, draining), no EOF seen. Its recv is
 *   cancelled (bytes that still arrive are kept in its frame buffer, not handled) and once its
 *   last completion is in (inflight == 0) the struct itself is handed over (br_loop_hand): it
 *   leaves every list and count of the old loop, its transfer path's resources are released
 *   to the old loop (a splice pipe, the copy buffer: taken again on the new loop), and the new
 *   loop links it (in its list's last-activity order), counts it, handles the kept bytes and
 *   arms its recv on its own ring. Its place in max.connections, its request-byte budget, its
 *   security session and a quota's mute still in force (hold_until_ns, an absolute time) go
 *   with it (they are not per loop; the session is the connection's alone). An EOF that comes
 *   during the move abandons it: the kept bytes are handled on the old loop, then it closes.
 *   A loop that is stopping when the connection arrives handles its bytes, answers and closes
 *   it once drained (br_conn_stop_idle). A connection moves at most
 *   once per few seconds (br_place.c), heavy ones never. Never moved, by design:
 *   - TLS connections (any SSL listener): OpenSSL may hold records or plaintext the frame
 *     buffer does not show, a kernel-TLS session in socket mode is driven by polls of the old
 *     ring, and the handshake and close_notify paths send bytes of their own; "quiescent"
 *     cannot be seen from here without a session-level check, so they stay.
 *   - A SASL login not done (the session still bounds frames: sasl.server.max.receive.size):
 *     its exchange may answer late (a parked, delayed response) and close after the answer;
 *     logins are short, so the connection moves once it is authenticated if it is still light.
 * - Two-phase close: br_conn_close() marks the connection closing, shuts the socket down and
 *   cancels its ops; the memory is freed when the last in-flight op completes.
 * - Responses are the slots of br_resp.h, kept in a free list of up to FREE_RESPS per
 *   connection; the connection is their owner (r->conn): it queues them, parks them on its loop
 *   for their handlers (br_conn_park...), sends them, and frees them with itself.
 */
#ifndef SPLICELOG_BR_CONN_H
#define SPLICELOG_BR_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "br_limit.h"
#include "br_listen.h"
#include "br_loop.h"
#include "br_resp.h"
#include "kp_buf.h"
#include "st.h"

struct br_conn {
    struct br_loop *loop;
    struct br_listener *lst;
    const struct br_xfer *xfer; /* the send side (br_xfer.h) */
    const struct br_rx *rx;     /* the receive side (br_rx.h) */
    int fd;
    struct br_peer peer;         /* name, principal, advertised address (br_resp.h) */
    struct br_conn *prev, *next; /* in loop->conns (least recently active first) or, once
                                    closing, in loop->closing */
    bool counted;                /* holds a place in max.connections until closing */
    struct br_ip_slot *ip_slot;  /* its address's count (NULL: addresses not counted) */

    struct br_op recv_op;   /* BR_OP_RECV */
    struct br_op send_op;   /* BR_OP_SEND */
    struct br_op poll_op;   /* BR_OP_POLLOUT */
    struct br_op xin_op;    /* BR_OP_XFER_IN */
    struct br_op xout_op;   /* BR_OP_XFER_OUT */
    struct br_op cancel_op; /* BR_OP_CONN_CANCEL: our cancels, counted in inflight */
    int inflight;           /* SQEs submitted and not yet completed */
    bool closing;
    bool recv_armed;           /* a recv (single-shot, or multishot until its last CQE) */
    bool recv_multishot;       /* the armed recv is multishot, filling provided buffers */
    bool recv_poll;            /* the armed "recv" is a poll: a kernel-TLS session reads itself */
    bool recv_cancelling;      /* backpressure: the multishot recv is being cancelled */
    bool paused;               /* backpressure: not reading */
    bool eof;                  /* the peer closed its side */
    bool draining;             /* a response that ends the connection is queued: read no more */
    struct br_wait bytes_wait; /* parked for queued.max.request.bytes: not reading */
    bool deferred;             /* fair service: its share of a turn is used, whole requests are
                                  left: on loop->ready, not reading */
    struct br_conn *ready_prev, *ready_next; /* in loop->ready while deferred */
    uint64_t share_turn;                     /* the loop turn share_reqs/bytes count in */
    uint32_t share_reqs;                     /* requests handled in that turn */
    size_t share_bytes;                      /* request bytes handled in that turn */
    uint64_t served;                         /* requests handled (all turns) */
    uint64_t used_turn;                      /* the last turn its share ran out in (0: never) */
    uint64_t share_out_turn; /* ... its byte share (it is heavy: handled last, held) */
    int64_t hold_until_ns;   /* on hold (br_conn_hold) until then, deferred (0: none) */
    int64_t heavy_ms;        /* when its byte share last ran out (loop->now_ms; 0: never) */
    bool heavy_counted;      /* counted in loop->nheavy (placement, br_place.h) */
    /* moving to another loop (placement, br_place.h) */
    struct br_loop *move_to;  /* the loop it moves to at its next quiescent point (NULL: stays) */
    bool moving;              /* its recv is being cancelled for the move: not read, no request
                                 handled (bytes already on their way are kept for the new loop) */
    int64_t moved_ms;         /* when it last moved (0: never) */
    struct br_wait move_wait; /* BR_WAIT_POST on the new loop while in transit */
    bool has_mark;          /* whole requests of it waited for a later turn (until none is left) */
    int64_t last_active_ms; /* accept, last complete request, last response sent */
    int64_t accepted_ms;
    int64_t req_start_ms; /* the first byte of the request being received arrived (0: none) */

    uint8_t *in;           /* input buffer */
    size_t in_len, in_cap; /* in_len <= in_cap <= 4 + socket.request.max.bytes, or a little
                              more while bytes already received must be kept */
    size_t in_charged;     /* queued.max.request.bytes held: in_cap - IN_BASE_CAP, or 0 */
    int64_t in_big_ms;     /* the last time a frame needed more than IN_BASE_CAP */

    struct br_resp *out_head, *out_tail;
    int nresp;
    size_t out_bytes; /* buffered bytes of queued responses */
    struct br_resp *free_resps;
    int nfree;

    /* sender: position in out_head (the response on the wire) */
    int piece;         /* index of the current piece */
    size_t piece_off;  /* bytes of it already on the wire */
    int send_ops;      /* ops of the current transfer step still in flight */
    bool want_pollout; /* the last step hit -EAGAIN: wait for writability */
    int xfer_err;      /* first error of the current step */
    struct iovec iov[32];
    struct msghdr msg;

    /* counters, logged at debug level when the connection closes */
    uint64_t n_requests;
    uint64_t n_steps;      /* transfer steps started */
    uint64_t n_pollout;    /* waits for writability (socket buffer full) */
    uint64_t n_disk_reads; /* tls-copy, sendfile: chunks not in the page cache, read through
                              io_uring */
    uint64_t n_inline;     /* steps that sent file bytes in line (br_xfer_inline.c) */
    bool sf_cold;          /* sendfile: the last chunk checked was not in the page cache */
    uint64_t bytes_out;

    /* splice */
    struct br_pipe *pipe;
    size_t pipe_fill; /* bytes spliced into the pipe, not yet out of it */
    /* copy */
    uint8_t *copy_buf;
    size_t copy_cap, copy_fill;
    /* SSL listeners: the session (made at accept; the socket carries its ciphertext) and the
     * plaintext staging buffer of br_xfer_tls.c: stage[stage_off, stage_fill) are the bytes at
     * the send position. The session is made at accept, the buffer at the first response;
     * neither per request. Where the listener uses kernel TLS the session starts in socket
     * mode (OpenSSL reads and writes the socket; the loop polls for it): once established it
     * either sends through the kernel (br_xfer_ktls) or moves to memory mode (tls-copy). */
    struct br_tls *tls;
    bool close_after_tx; /* TLS: close once the ciphertext queued so far is sent (a refused
                          * login's answer must reach the client before the connection goes) */
    uint8_t *stage;
    size_t stage_cap, stage_off, stage_fill;
    uint64_t tls_bytes_out; /* ciphertext sent */
    bool stage_cold;        /* the range at the send position was not in the page cache */
    bool tls_checked;       /* the client's first bytes were looked at */
};

/* A new socket accepted on a listener (by this loop, or handed to it by br_place.c): sets up a
 * connection of loop, counted in its admission, or refuses it; closes it when loop is
 * stopping. */
void br_conn_accepted(struct br_loop *loop, struct br_accept *acc, int fd);
/* Completion of one of the connection's ops. */
void br_conn_complete(struct br_conn *c, struct br_op *op, int res, unsigned flags);
/* Starts the two-phase close (idempotent). reason is logged. */
void br_conn_close(struct br_conn *c, const char *reason);
/* Loop, once a second: closes connections idle past connections.max.idle.ms, requests not in
 * whole within request.receive.timeout.ms, TLS handshakes not done in ssl.handshake.timeout.ms. */
void br_conn_check_idle(struct br_loop *loop);

/* ---- parked responses (br_loop.h, waits) ---------------------------------------------------- */

/* Parks r until its event, its deadline (INT64_MAX: none) or, for BR_WAIT_POST, its post:
 * wake(r, why, arg) then runs on the loop thread and makes r ready (or fails it, or for
 * APPEND/SYNC leaves it parked). A POST park holds the connection: it is not freed before the
 * post, and a wake that comes after the connection closed is not called. 0 or -ENOMEM. */
int br_conn_park(struct br_resp *r, enum br_wait_on on, int64_t deadline_ms, br_resp_wake_fn wake,
                 void *arg);
/* Unparks r without answering (its handler answers at once after all). Not for POST. */
void br_conn_unpark(struct br_resp *r);
/* Any thread, exactly once per POST park: r's wake runs on its loop. */
void br_conn_post(struct br_resp *r);
/* A parked response is complete: unparked, sent when its turn comes. */
void br_conn_resp_ready(struct br_resp *r);
/* A parked response cannot be answered: its connection closes (why is logged). */
void br_conn_resp_fail(struct br_resp *r, const char *why);
/* Loop, once per turn while loop->ready is not empty: serves each waiting connection its share
 * of this turn (fair service), round-robin; one on hold stays waiting. */
void br_conn_serve_ready(struct br_loop *loop);
/* Loop: 0 when a connection of loop->ready can be served now, else the microseconds until the
 * first hold ends (-1: none waits). */
int64_t br_conn_ready_wait_us(const struct br_loop *loop);
/* Reads the connection no further, and handles none of its requests, until the monotonic
 * until_ns (br_now_ns); then it is served and read as before. Of two holds in force, the later
 * deadline holds. For fair service's holds, and a quota's "do not read for throttle_time_ms". */
void br_conn_hold(struct br_conn *c, int64_t until_ns);
/* The loop a light connection of loop moves to (NULL: it stays); cursor is loop's own
 * (move_cursor), kept from one tick to the next: successive connections go to different loops,
 * also when they are marked in different ticks. */
typedef struct br_loop *(*br_conn_pick_fn)(struct br_loop *loop, int *cursor);
/* Loop, once a second (placement, br_place.h): every light connection of loop that has not
 * moved in the last gap_ms moves to the loop pick chooses for it, at its next quiescent point
 * (see the contract); pick NULL: none moves (a move already under way goes on). */
void br_conn_move_light(struct br_loop *loop, br_conn_pick_fn pick, int64_t gap_ms);
/* Frees every connection of a loop whose ring is gone (after io_uring_queue_exit). */
void br_conn_free_all(struct br_loop *loop);
/* Shutdown: half-close connections with nothing pending so their recv completes. */
void br_conn_stop_idle(struct br_loop *loop);

/* ---- sender helpers for the transfer paths ------------------------------------------ */

/* Queues a send of the memory pieces from the current position on (possibly spanning several
 * ready responses), with MSG_MORE when a file piece follows. Links to the next SQE if link. */
void br_conn_send_mem(struct br_conn *c, bool link);
/* Moves the send position n bytes forward, finishing responses as they complete. */
void br_conn_advance(struct br_conn *c, size_t n);
/* The current piece (NULL when nothing ready to send). */
struct br_piece *br_conn_cur_piece(struct br_conn *c);
/* The piece after the current one in the same response, or NULL. */
struct br_piece *br_conn_next_piece(struct br_conn *c);
/* Arms a POLLOUT poll (op poll_op). */
void br_conn_arm_pollout(struct br_conn *c);
/* Runs the sender: starts the next step when no step is in flight. */
void br_conn_kick(struct br_conn *c);

/* ---- for the receive transports (br_rx.h) ------------------------------------------------- */

/* Appends n received bytes (from a provided buffer) to the frame buffer; they are already out
 * of the kernel, so they are kept even when that takes queued.max.request.bytes past its bound
 * (at most what arrived before the multishot recv was stopped). 0 or -ENOMEM. */
int br_conn__take(struct br_conn *c, const uint8_t *p, size_t n);
/* Cuts and dispatches the whole frames in the buffer, sizes it for the next one, sends. */
void br_conn__input(struct br_conn *c);
/* Bytes of a request arrived: request.receive.timeout.ms counts from the first. */
void br_conn__begun(struct br_conn *c);
/* A receive ended without bytes: res 0 (the peer closed; the connection closes), a transient
 * -errno (nothing: re-armed), or another (the connection closes, naming it). */
void br_conn__recv_end(struct br_conn *c, int res);

/* ---- for the move to another loop (br_conn_move.c) ---------------------------------------- */

/* Reads the connection again (its holds permitting) and handles what its buffer holds. */
void br_conn__resume(struct br_conn *c);
/* c leaves its loop's list of live connections and its counts. */
void br_conn__live_leave(struct br_conn *c);
/* c joins its loop's list after `after` (NULL: first) and its counts. */
void br_conn__live_join(struct br_conn *c, struct br_conn *after);
/* Nothing of c is received, handled, queued, parked or in flight but its recv, and it is in no
 * state that does not move (TLS, a SASL login, heavy). */
bool br_conn__quiescent(const struct br_conn *c);
/* Begins c's move to c->move_to: its recv cancelled; br_conn__move_out once nothing is in
 * flight. */
void br_conn__move_begin(struct br_conn *c);
/* Old loop, nothing of c in flight: c leaves this loop and is handed to c->move_to. */
void br_conn__move_out(struct br_conn *c);

#endif
