/*
 * br_tls_conn — what the two TLS transports of a connection share: its receive side
 * (br_rx_tls.c, the handshake and the records) sends the session's own bytes through its send
 * side (br_xfer_tls.c). Not for the generic connection code.
 */
#ifndef SPLICELOG_BR_TLS_CONN_H
#define SPLICELOG_BR_TLS_CONN_H

struct br_conn;

/* Sends the session's pending ciphertext (handshake flights, alerts, session tickets) when no
 * send of the connection is in flight; the send side's completion carries on from there. */
void br_xfer_tls_flush(struct br_conn *c);

#endif
