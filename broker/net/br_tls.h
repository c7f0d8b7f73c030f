/*
 * br_tls — TLS for the broker's listeners: a listener-level context built from librdkafka-named
 * settings, and a non-blocking per-connection session that never touches the socket itself.
 *
 * Contract
 * - Settings are struct br_tls_conf (br_tls_conf.h, part of the configuration). Files are
 *   read by br_tls_ctx_new(), whose errors name the key at fault.
 * - A context (struct br_tls_ctx) is built once per listener at start-up and is read-only
 *   afterwards: any thread may create sessions from it.
 * - A session (struct br_tls) belongs to one connection and one thread. In the default
 *   "memory" mode it owns two bounded ciphertext buffers and never does I/O:
 *     rx: the connection receives ciphertext straight into br_tls_rx_space() and reports the
 *         byte count with br_tls_rx_commit() (or the peer's EOF with br_tls_rx_eof());
 *     tx: the connection sends br_tls_tx_data() and reports what went out with
 *         br_tls_tx_consume(). The tx bytes do not move until consumed, so they may be the
 *         buffer of an in-flight send (one at a time: consume when it completed); rx space
 *         may be the buffer of an in-flight receive until rx_commit (rx_space compacts, so
 *         call it only when no receive is in flight).
 *   br_tls_handshake(), br_tls_read() and br_tls_write() move plaintext and return -EAGAIN
 *   when they need more ciphertext in or room to put ciphertext out. After every call the
 *   caller sends whatever br_tls_tx_data() holds (handshake flights, alerts, records).
 * - Records carry at most BR_TLS_RECORD_MAX (16 KiB) of plaintext; br_tls_write() takes at
 *   most one record's worth per call and only when the whole record fits in tx, so it never
 *   leaves a record half-buffered. A write that returned -EAGAIN must be retried with the
 *   same bytes (at least as many) once tx has drained (OpenSSL's retry rule).
 * - No allocation after br_tls_new(): buffers are sized at creation (OpenSSL allocates its own
 *   record buffers once per session too).
 * - Socket mode (br_tls_new_socket, used by kernel TLS, see br_ktls.c): OpenSSL reads and
 *   writes the non-blocking socket itself; -EAGAIN then means "poll for br_tls_want()".
 * - Errors: 0 or -errno. -EPROTO: the peer is not speaking TLS properly (garbage, a plaintext
 *   Kafka request, a bad record); -EACCES: certificate verification refused the peer;
 *   -ECONNRESET: the peer closed without close_notify; -ENOMEM. br_tls_error() describes the
 *   last failure in words (OpenSSL's reason), for the connection's log line. Every call
 *   clears the thread's OpenSSL error queue first, so connections sharing a thread never see
 *   each other's errors.
 */
#ifndef SPLICELOG_BR_TLS_H
#define SPLICELOG_BR_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "br_tls_conf.h"

#define BR_TLS_RECORD_MAX 16384
/* Worst-case bytes a record adds to its plaintext (header, explicit IV, MAC/tag, padding). */
#define BR_TLS_RECORD_OVERHEAD 512
/* Ciphertext buffers: rx holds two full records; tx defaults to four. */
#define BR_TLS_RX_CAP         (2 * (BR_TLS_RECORD_MAX + BR_TLS_RECORD_OVERHEAD))
#define BR_TLS_TX_CAP_DEFAULT (4 * (BR_TLS_RECORD_MAX + BR_TLS_RECORD_OVERHEAD))
struct br_tls_ctx;

/*
 * Builds a server context: certificate chain, key (decrypted with ssl.key.password), CA and
 * client-auth policy, protocol range, cipher suites, 16 KiB records. want_ktls asks for
 * SSL_OP_ENABLE_KTLS (only meaningful for socket-mode sessions). 0, or -errno with err naming
 * the key and OpenSSL's reason.
 */
int br_tls_ctx_new(const struct br_tls_conf *conf, bool want_ktls, struct br_tls_ctx **out,
                   char *err, size_t errlen);
void br_tls_ctx_free(struct br_tls_ctx *ctx);
bool br_tls_ctx_ktls(const struct br_tls_ctx *ctx);

struct br_tls;

/* A memory-mode session; tx_cap 0 = BR_TLS_TX_CAP_DEFAULT (at least two records). */
int br_tls_new(struct br_tls_ctx *ctx, size_t tx_cap, struct br_tls **out);
/* A socket-mode session on a connected non-blocking socket (kernel TLS; see br_ktls.c). */
int br_tls_new_socket(struct br_tls_ctx *ctx, int fd, struct br_tls **out);
/*
 * A socket-mode session whose handshake is done but where the kernel took neither direction
 * (a cipher it cannot offload): moves it to memory mode (the socket BIO is dropped, the fd
 * stays open), so the connection carries on with the copy path. 0; -EBUSY when the kernel
 * already encrypts or decrypts for it, or OpenSSL holds received bytes; -ENOMEM.
 */
int br_tls_to_memory(struct br_tls *t, size_t tx_cap);
bool br_tls_socket_mode(const struct br_tls *t);
void br_tls_free(struct br_tls *t);

/* ---- ciphertext (memory mode) ---------------------------------------------------------- */

/* Where the next received bytes go; *len = room (0 when rx is full). Compacts rx first. */
uint8_t *br_tls_rx_space(struct br_tls *t, size_t *len);
void br_tls_rx_commit(struct br_tls *t, size_t n);
/* The peer closed its side: reads past the buffered bytes report it. */
void br_tls_rx_eof(struct br_tls *t);
/* Ciphertext received and not yet consumed by the engine. */
size_t br_tls_rx_pending(const struct br_tls *t);
/* Those bytes (valid until the next engine call): to look at what a client sent first. */
const uint8_t *br_tls_rx_peek(const struct br_tls *t, size_t *len);
/* Ciphertext waiting to be sent (stable until consumed). */
const uint8_t *br_tls_tx_data(const struct br_tls *t, size_t *len);
void br_tls_tx_consume(struct br_tls *t, size_t n);
/* Free room in tx, after compaction at the next consume. */
size_t br_tls_tx_room(const struct br_tls *t);

/* ---- the protocol ---------------------------------------------------------------------- */

/* Drives the server handshake: 0 once established, -EAGAIN for more I/O, or an error. */
int br_tls_handshake(struct br_tls *t);
bool br_tls_established(const struct br_tls *t);
/* Plaintext received: bytes (> 0), 0 on the peer's close_notify, -EAGAIN, or an error. */
ssize_t br_tls_read(struct br_tls *t, void *buf, size_t len);
/* Decrypted plaintext buffered inside the session (readable without more ciphertext). */
size_t br_tls_read_pending(const struct br_tls *t);
/* Encrypts up to one record of buf: bytes taken (> 0), -EAGAIN (tx full), or an error. */
ssize_t br_tls_write(struct br_tls *t, const void *buf, size_t len);
/* Queues a close_notify alert into tx (best effort). */
void br_tls_shutdown(struct br_tls *t);
/* Socket mode: POLLIN/POLLOUT the last -EAGAIN waits for. */
short br_tls_want(const struct br_tls *t);
/*
 * True when the last br_tls_handshake()/br_tls_read() returned -EAGAIN because tx was full
 * (a handshake flight larger than tx, a TLS 1.3 KeyUpdate answer while a large response
 * fills tx): call it again once tx has drained, even if no new ciphertext arrives.
 */
bool br_tls_input_blocked(const struct br_tls *t);

/* ---- description ----------------------------------------------------------------------- */

/* The last failure in words ("" when none). */
const char *br_tls_error(const struct br_tls *t);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384", once established. */
void br_tls_describe(const struct br_tls *t, char *buf, size_t len);
/* The verified client certificate's subject in RFC 2253 form ("CN=a,OU=b"; "" when none). */
void br_tls_peer_subject(const struct br_tls *t, char *buf, size_t len);
/*
 * True when p looks like the start of a TLS record (handshake/alert content type, major
 * version 3): used to name a TLS client on a plaintext listener, and a plaintext client on
 * a TLS one, in the log.
 */
bool br_tls_sniff(const uint8_t *p, size_t len);

/* ---- kernel TLS (br_ktls.c) ------------------------------------------------------------ */

/*
 * Probes kernel TLS once: OpenSSL built with kTLS, and setsockopt(TCP_ULP, "tls") accepted on a
 * connected loopback TCP pair. true when usable; msg says what was found either way.
 */
bool br_ktls_probe(char *msg, size_t len);
/* After the handshake (socket mode): is the kernel encrypting what we send / decrypting? */
bool br_ktls_send_active(const struct br_tls *t);
bool br_ktls_recv_active(const struct br_tls *t);
/* Sends [off, off+len) of file fd through kernel TLS: bytes sent, -EAGAIN, or an error. */
ssize_t br_ktls_sendfile(struct br_tls *t, int fd, off_t off, size_t len);

#endif
