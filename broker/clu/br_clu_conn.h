/*
 * br_clu_conn — blocking inter-broker sockets, under br_clu_link (the connections of the
 * replica fetcher, br_clu_fetch, and of the WriteTxnMarkers sender, br_clu_markers): a
 * PLAINTEXT link is one of these; a TLS link connects with br_clu_conn_dial and then leaves
 * the socket to OpenSSL.
 *
 * Contract: br_clu_conn_dial connects to host:port within wait_ms and hands back a blocking
 * socket (TCP_NODELAY, close-on-exec) the caller owns and closes; br_clu_conn_timeouts bounds
 * each later send and receive on it; br_clu_conn_send / br_clu_conn_recv move exactly n bytes
 * or fail. Errors are negative errno: -EHOSTUNREACH (name not resolved), -ETIMEDOUT (connect
 * or a send/receive timeout passed), -ECONNRESET (peer closed while receiving), -EIO (a send
 * wrote nothing, or the socket could not be made blocking), else the socket call's errno.
 * No thread state: callable from any thread.
 */
#ifndef BR_CLU_CONN_H
#define BR_CLU_CONN_H

#include <stddef.h>
#include <stdint.h>

/* A blocking connect of at most wait_ms; the socket stays blocking. fd or -errno. */
int br_clu_conn_dial(const char *host, int port, int64_t wait_ms);
/* Send and receive timeouts of ms (at least 1) on fd. */
void br_clu_conn_timeouts(int fd, int64_t ms);
/* Sends all n bytes of p. 0 or -errno. */
int br_clu_conn_send(int fd, const uint8_t *p, size_t n);
/* Receives exactly n bytes into p. 0 or -errno. */
int br_clu_conn_recv(int fd, uint8_t *p, size_t n);

#endif
