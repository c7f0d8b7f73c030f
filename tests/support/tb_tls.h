/*
 * tb_tls — test support for TLS: certificates generated at run time, and a plain blocking
 * OpenSSL client, independent of the broker's TLS engine.
 *
 * Contract
 * - tb_certs_make() creates a fresh temp dir under $TMPDIR and runs tests/support/tb_certs.sh
 *   in it (found through $SPLICELOG_ROOT, else relative to the working directory); the files
 *   are listed in that script. tb_certs_cleanup() removes the dir. 0 or -errno.
 * - tb_tls_client_ctx() builds a client context that verifies the server against
 *   <dir>/ca.pem (hostname 127.0.0.1) and, when cert is not NULL, presents <dir>/<cert>.pem
 *   with <dir>/<cert>.key. versions: 0 for TLS 1.2-1.3, else 12 or 13 to pin one.
 * - tb_tls_connect() runs a blocking client handshake over a connected socket: an SSL* (the
 *   caller frees it with tb_tls_close, which also closes nothing but the SSL), or NULL with
 *   the reason in err.
 * - tb_listener_port() reads a running broker's port file (tb_broker.h): the first line is the
 *   first listener's port, then one "NAME PORT" line per listener. The port of listener name,
 *   or -ENOENT.
 * - Single-threaded per SSL; each test thread may use its own.
 */
#ifndef SPLICELOG_TB_TLS_H
#define SPLICELOG_TB_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

int tb_certs_make(char *dir, size_t len);
void tb_certs_cleanup(const char *dir);
/* dir + "/" + name into buf; returns buf. */
const char *tb_cert_path(char *buf, size_t len, const char *dir, const char *name);

SSL_CTX *tb_tls_client_ctx(const char *dir, const char *cert, int versions);
SSL *tb_tls_connect(SSL_CTX *ctx, int fd, char *err, size_t errlen);
/* Writes all of buf; 0 or -EIO. */
int tb_tls_write_all(SSL *ssl, const void *buf, size_t len);
/* Reads exactly len bytes; 0, or -ECONNRESET / -EIO. */
int tb_tls_read_all(SSL *ssl, void *buf, size_t len);
void tb_tls_close(SSL *ssl);

struct tb_broker;
int tb_listener_port(const struct tb_broker *b, const char *name);

#endif
