/*
 * br_clu_link — one inter-broker client connection, PLAINTEXT or TLS, for the replica fetcher
 * (br_clu_fetch) and the WriteTxnMarkers sender (br_clu_markers): the one place in broker/clu
 * that knows whether bytes to another broker are encrypted (docs/cluster.md "Inter-broker
 * listener").
 *
 * Contract
 * - A TLS client context (struct br_clu_tls) is built once, from the ssl.* settings of the
 *   listener named by inter.broker.listener.name (br_tls_conf.h), by br_clu_tls_new(), whose
 *   errors name the key at fault. It verifies every peer's certificate chain against
 *   ssl.ca.location (required), and, when verify_host (ssl.endpoint.identification.algorithm
 *   =https, the default), that the certificate names the host of the peer's registered
 *   endpoint (an IP address against its IP SANs, a name against its DNS names); it presents
 *   ssl.certificate.location / ssl.key.location (ssl.key.password) as the client certificate,
 *   so listeners with ssl.client.auth=required accept other brokers; ssl.protocols and
 *   ssl.cipher.suites bound what it offers. Read-only once built: any thread may open links
 *   from it; br_clu_tls_free() once no link of it is open. NULL everywhere below = PLAINTEXT.
 * - br_clu_link_open() connects to host:port within connect_ms (blocking the caller that long
 *   at most). A PLAINTEXT link is ready at once. A TLS link's handshake has not started: the
 *   caller drives it with br_clu_link_handshake() (never blocks: -EAGAIN with the poll events
 *   in br_clu_link_events()) under its own deadline, or br_clu_link_handshake_wait() (blocks
 *   the caller at most ms: for threads that may block, never a loop thread). Until the
 *   handshake returned 0 nothing may be sent or read.
 * - I/O once established: br_clu_link_send / br_clu_link_recv move exactly n bytes, blocking
 *   at most the br_clu_link_timeouts() time (per call for TLS, per socket call for
 *   PLAINTEXT); br_clu_link_read() never blocks: bytes read (> 0) or -EAGAIN. The fetcher polls
 *   br_clu_link_fd() for POLLIN between reads: a TLS link reads whole records and keeps none
 *   back once a read returned -EAGAIN, so poll tells the truth.
 * - Errors: negative errno. -EHOSTUNREACH (name not resolved), -ETIMEDOUT, -ECONNRESET (the
 *   peer closed), -EACCES (the peer's certificate did not verify: chain or name), -EPROTO
 *   (another TLS failure: an alert such as the peer refusing our certificate, not TLS at
 *   all), else the socket call's errno. br_clu_link_error() gives the last TLS failure in
 *   words (OpenSSL's reason and the verification result; "" for none or PLAINTEXT) for the
 *   caller's log line, which names the peer broker.
 * - One link belongs to one thread at a time (the caller serialises); each call clears the
 *   thread's OpenSSL error queue first. Every link is freed by br_clu_link_close().
 * - OpenSSL writes a TLS link's socket with write(): the process must ignore SIGPIPE (the
 *   broker does, br_server.c; a test using links does it itself).
 */
#ifndef SPLICELOG_BR_CLU_LINK_H
#define SPLICELOG_BR_CLU_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "br_tls_conf.h"
#include "kp_buf.h"

struct br_clu_tls;
struct br_clu_link;

/* 0, or -errno with err naming the key and OpenSSL's reason. */
int br_clu_tls_new(const struct br_tls_conf *conf, bool verify_host, struct br_clu_tls **out,
                   char *err, size_t errlen);
void br_clu_tls_free(struct br_clu_tls *t); /* NULL accepted */

/* tls NULL: PLAINTEXT. 0 and *out, or -errno (nothing to close). */
int br_clu_link_open(struct br_clu_tls *tls, const char *host, int port, int64_t connect_ms,
                     struct br_clu_link **out);
/* One step of the client handshake: 0 established, -EAGAIN (poll br_clu_link_events), or an
 * error (br_clu_link_error says why). PLAINTEXT: 0. */
int br_clu_link_handshake(struct br_clu_link *l);
short br_clu_link_events(const struct br_clu_link *l);
/* The whole handshake, blocking at most ms: 0, -ETIMEDOUT, or an error. */
int br_clu_link_handshake_wait(struct br_clu_link *l, int64_t ms);
/* Bounds each later send and receive (ms at least 1). */
void br_clu_link_timeouts(struct br_clu_link *l, int64_t ms);
int br_clu_link_send(struct br_clu_link *l, const uint8_t *p, size_t n);
int br_clu_link_recv(struct br_clu_link *l, uint8_t *p, size_t n);
ssize_t br_clu_link_read(struct br_clu_link *l, uint8_t *p, size_t n);
int br_clu_link_fd(const struct br_clu_link *l);

/* One answer read by br_clu_link_call: the frame's body (malloc'd), rd positioned after its
 * response header, and an arena (malloc'd, 16 times the body and 4 KiB) for its decoder. */
struct br_clu_answer {
    uint8_t *body;
    void *amem;
    struct kp_rd rd;
    struct kp_arena a;
};
/* One blocking round trip on l (its timeouts): sends req[0, len), reads one frame of at most
 * rx_max bytes and checks its response header is that of (api, version) with correlation id
 * corr. 0 with *ans filled (br_clu_answer_free it); -errno (-EPROTO: not that answer; what is
 * on the wire is then unknown) with nothing to free. */
int br_clu_link_call(struct br_clu_link *l, const uint8_t *req, size_t len, int32_t rx_max,
                     int16_t api, int16_t version, int32_t corr, struct br_clu_answer *ans);
void br_clu_answer_free(struct br_clu_answer *ans);
bool br_clu_link_is_tls(const struct br_clu_link *l);
const char *br_clu_link_error(const struct br_clu_link *l);
void br_clu_link_close(struct br_clu_link *l); /* NULL accepted */

#endif
