/*
 * br_rx — receive-side transports: how a connection's bytes become plaintext in its frame
 * buffer. The send side has the same shape (br_xfer.h). A transport is chosen once at accept
 * (br_rx_for) and, on an SSL listener, swapped once when the handshake is done (nginx swaps a
 * connection's recv handler the same way): br_conn.c never asks whether a connection is TLS.
 *
 *   plain          multishot recv into the loop's provided buffers (copied into the frame
 *                  buffer) where the kernel has it, else single-shot recv straight into the
 *                  frame buffer. A client whose first bytes are a TLS record is named in the log
 *                  and dropped (before its record header is read as a ~360 MB frame size).
 *   tls-handshake  memory-mode session (br_tls.h): single-shot recv of ciphertext into the
 *                  session's bounded rx buffer; the handshake progresses with every receive and
 *                  send; a client whose first bytes are not a TLS record is dropped. When it is
 *                  done: the "TLS established" line, and -> tls.
 *   tls            the same receives; records decrypted into the frame buffer.
 *   tls-socket-handshake  socket-mode session on a listener that uses kernel TLS: OpenSSL
 *                  reads and writes the socket itself, driven by io_uring polls. When it is
 *                  done: -> tls-socket with the ktls-sendfile send side where the kernel took the
 *                  send keys, else the session moves to memory mode: -> tls with tls-copy.
 *   tls-socket     polls; the session reads the socket into the frame buffer (the kernel
 *                  decrypts where it took the receive keys too, else OpenSSL does).
 *
 * Contract
 * - Loop thread only; one transport per connection at a time (c->rx).
 * - arm() queues the next receive on c->recv_op (counting it in c->inflight, setting
 *   c->recv_armed, and c->recv_multishot for a multishot one) when there is room for it, and
 *   is called only when nothing is armed and the connection may read (br_conn.c decides).
 * - complete() takes a BR_OP_RECV completion: bytes (or the peer's EOF, or an error), which it
 *   turns into plaintext in the frame buffer and hands to br_conn__input(), or closes the
 *   connection with a reason. It runs also for a closing connection (to give back a provided
 *   buffer), and must then do nothing else.
 * - input() takes up input held back while the connection was not reading (plaintext waiting
 *   in a session) and runs the frame cutter.
 * - sent() (optional) runs when a send completed: a session that waited for room to write
 *   (a handshake flight larger than its tx buffer) goes on.
 * - handshake is true for the transports of a handshake in progress (ssl.handshake.timeout.ms
 *   applies, the request timeout does not).
 * - release() (optional) frees what br_rx_open made (the session), once every op of the
 *   connection has completed.
 */
#ifndef SPLICELOG_BR_RX_H
#define SPLICELOG_BR_RX_H

#include <stdbool.h>

struct br_conn;
struct br_listener;

struct br_rx {
    const char *name;
    bool handshake;
    void (*arm)(struct br_conn *c);
    void (*complete)(struct br_conn *c, int res, unsigned flags);
    void (*input)(struct br_conn *c);
    void (*sent)(struct br_conn *c);
    void (*release)(struct br_conn *c);
};

extern const struct br_rx br_rx_plain;
extern const struct br_rx br_rx_tls_handshake; /* br_rx_tls.c */
extern const struct br_rx br_rx_tls;
extern const struct br_rx br_rx_tls_sock_handshake;
extern const struct br_rx br_rx_tls_sock;

/* The transport a new connection on lst starts with, after making what it needs (a TLS
 * session on fd). 0 or -ENOMEM (nothing made). */
int br_rx_open(struct br_conn *c, const struct br_listener *lst, int fd);

#endif
