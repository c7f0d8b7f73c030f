/*
 * br_ktls — kernel TLS: the probe, and sending file ranges with SSL_sendfile once the kernel
 * encrypts for a socket-mode session (see br_tls.h).
 *
 * How kTLS is used: the listener's context asks OpenSSL for SSL_OP_ENABLE_KTLS and the
 * session is attached to the socket itself (br_tls_new_socket). After the handshake OpenSSL
 * hands the traffic keys to the kernel (setsockopt TCP_ULP "tls", then TLS_TX / TLS_RX) when
 * the kernel and the negotiated cipher allow it. From then on br_ktls_send_active() is true and
 * a file range goes out with SSL_sendfile(): the kernel reads the page cache and encrypts, no
 * userspace copy. When it is not active the connection stays on the memory-BIO copy path.
 *
 * The probe runs once at start-up: OpenSSL must be built with kTLS, and a connected loopback
 * TCP socket must accept TCP_ULP "tls" (ENOENT: no tls module in this kernel). Each listener's
 * start-up line then says "ktls" or "tls-copy" and why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/opensslconf.h>
#include <openssl/ssl.h>

#include "br_tls.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

SSL *br__tls_ssl(const struct br_tls *t);
int br__tls_fail(struct br_tls *t, int ret);

/* A connected loopback TCP pair: 0 and both fds, or -errno. */
static int loopback_pair(int *a, int *b)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0)
        return -errno;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int rc = 0;
    int c = -1, s = -1;
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 1) != 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) != 0) {
        rc = -errno;
        goto out;
    }
    c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        rc = -errno;
        goto out;
    }
    s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0) {
        rc = -errno;
        goto out;
    }
    *a = c;
    *b = s;
    c = s = -1;
out:
    if (c >= 0)
        close(c);
    if (s >= 0)
        close(s);
    close(ls);
    return rc;
}

bool br_ktls_probe(char *msg, size_t len)
{
#ifdef OPENSSL_NO_KTLS
    snprintf(msg, len, "kernel TLS unavailable: OpenSSL %s was built without kTLS",
             OpenSSL_version(OPENSSL_VERSION));
    return false;
#else
    int a = -1, b = -1;
    int rc = loopback_pair(&a, &b);
    if (rc < 0) {
        snprintf(msg, len, "kernel TLS unavailable: cannot open a loopback TCP pair (%s)",
                 strerror(-rc));
        return false;
    }
    bool ok = setsockopt(b, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) == 0;
    int e = errno;
    close(a);
    close(b);
    if (!ok) {
        if (e == ENOENT)
            snprintf(msg, len,
                     "kernel TLS unavailable: setsockopt(TCP_ULP, \"tls\") failed with ENOENT "
                     "(this kernel has no tls module; modprobe tls where it is built)");
        else
            snprintf(msg, len, "kernel TLS unavailable: setsockopt(TCP_ULP, \"tls\") failed: %s",
                     strerror(e));
        return false;
    }
    snprintf(msg, len, "kernel TLS available (TCP_ULP \"tls\" accepted; OpenSSL %s)",
             OpenSSL_version(OPENSSL_VERSION));
    return true;
#endif
}

bool br_ktls_send_active(const struct br_tls *t)
{
    SSL *ssl = br__tls_ssl(t);
    BIO *w = ssl ? SSL_get_wbio(ssl) : NULL;
    return w && BIO_get_ktls_send(w);
}

bool br_ktls_recv_active(const struct br_tls *t)
{
    SSL *ssl = br__tls_ssl(t);
    BIO *r = ssl ? SSL_get_rbio(ssl) : NULL;
    return r && BIO_get_ktls_recv(r);
}

ssize_t br_ktls_sendfile(struct br_tls *t, int fd, off_t off, size_t len)
{
    if (!br_ktls_send_active(t))
        return -EOPNOTSUPP;
    if (len == 0)
        return -EINVAL;
    ERR_clear_error();
    ossl_ssize_t n = SSL_sendfile(br__tls_ssl(t), fd, off, len, 0);
    if (n > 0)
        return (ssize_t)n;
    if (n == 0)
        return -EPIPE;
    return br__tls_fail(t, (int)n);
}
