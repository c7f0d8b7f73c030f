/*
 * sb_limit — the loopback limits the compare rows are measured against, in the same run:
 *  - sendfile: the fastest a byte can go from the page cache to a reading process on this
 *    machine: one sendfile(2) of a cached file into a loopback TCP connection, read and
 *    discarded by a child process (no protocol, no framing, no per-request work);
 *  - tls: a bare TLS 1.3 stream of the same bytes (AES-128-GCM, the broker's preferred suite):
 *    read(2) from the cached file + SSL_write on one side, SSL_read on the other. This is the
 *    ceiling for any user-space TLS path; kernel TLS moves the encryption, not the work.
 * The child reports its elapsed seconds (first read to EOF) through a pipe.
 * And for durable: the disk's own append + fdatasync latency in the broker's data directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sb.h"

int sb_limit_file(const char *path, long long size)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t cap = 1 << 20;
    uint8_t *chunk = malloc(cap);
    if (!chunk) {
        close(fd);
        return -ENOMEM;
    }
    sb_value_fill(chunk, cap, 1, 0);
    int rc = 0;
    for (long long w = 0; w < size && !rc;) {
        size_t n = (size_t)(size - w < (long long)cap ? size - w : (long long)cap);
        ssize_t k = write(fd, chunk, n);
        if (k <= 0)
            rc = k < 0 ? -errno : -EIO;
        else
            w += k;
    }
    /* Read it back once so that every page is cached (it is, after write, unless evicted). */
    for (off_t off = 0; !rc && off < size;) {
        ssize_t k = pread(fd, chunk, cap, off);
        if (k <= 0)
            break;
        off += k;
    }
    free(chunk);
    close(fd);
    return rc;
}

static int listen_loopback(int *port)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1) ||
        getsockname(lfd, (struct sockaddr *)&a, &alen)) {
        int err = -errno;
        if (lfd >= 0)
            close(lfd);
        return err;
    }
    *port = ntohs(a.sin_port);
    return lfd;
}

static int connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void child_report(int wfd, double dt)
{
    ssize_t n = write(wfd, &dt, sizeof(dt));
    _exit(n == (ssize_t)sizeof(dt) ? 0 : 1);
}

/* The receiving child of the plain limit: read and discard until EOF. */
static void plain_receiver(int port, long long size, int wfd)
{
    int fd = connect_loopback(port);
    if (fd < 0)
        child_report(wfd, -1);
    static uint8_t buf[1 << 20];
    long long got = 0;
    uint64_t t0 = sb_now_ns();
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += n;
    }
    double dt = (double)(sb_now_ns() - t0) / 1e9;
    child_report(wfd, got == size ? dt : -1);
}

static double finish(pid_t pid, int rfd, long long size, bool sent_ok)
{
    double dt = -1;
    if (read(rfd, &dt, sizeof(dt)) != (ssize_t)sizeof(dt))
        dt = -1;
    close(rfd);
    waitpid(pid, NULL, 0);
    return sent_ok && dt > 0 ? (double)size / dt / 1e6 : 0;
}

/* Sends the file with sendfile(2), or with read(2) + send(2) of 256 KiB when !zero_copy. */
static double limit_plain(const char *path, long long size, bool zero_copy)
{
    int port, pfd[2];
    int lfd = listen_loopback(&port);
    if (lfd < 0 || pipe2(pfd, O_CLOEXEC)) {
        if (lfd >= 0)
            close(lfd);
        return 0;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        close(lfd);
        plain_receiver(port, size, pfd[1]);
    }
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        close(lfd);
        return 0;
    }
    bool ok = false;
    int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    int ffd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t *buf = zero_copy ? NULL : malloc(256 << 10);
    if (cfd >= 0 && ffd >= 0 && (zero_copy || buf)) {
        off_t off = 0;
        ok = true;
        while (off < size) {
            ssize_t n;
            if (zero_copy) {
                n = sendfile(cfd, ffd, &off, (size_t)(size - off));
            } else {
                n = pread(ffd, buf, (size_t)(size - off < (256 << 10) ? size - off : (256 << 10)),
                          off);
                if (n > 0 && send_all(cfd, buf, (size_t)n))
                    n = -1;
                if (n > 0)
                    off += n;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                ok = false;
                break;
            }
        }
    }
    free(buf);
    if (cfd >= 0)
        close(cfd);
    if (ffd >= 0)
        close(ffd);
    close(lfd);
    return finish(pid, pfd[0], size, ok);
}

double sb_limit_sendfile(const char *path, long long size) { return limit_plain(path, size, true); }

double sb_limit_copy(const char *path, long long size) { return limit_plain(path, size, false); }

/* The receiving child of the TLS limit. */
static void tls_receiver(int port, long long size, int wfd)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int fd = connect_loopback(port);
    if (!ctx || fd < 0)
        child_report(wfd, -1);
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* a throughput probe, not an auth test */
    SSL *ssl = SSL_new(ctx);
    if (!ssl || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1)
        child_report(wfd, -1);
    static uint8_t buf[1 << 16];
    long long got = 0;
    uint64_t t0 = sb_now_ns();
    for (;;) {
        int n = SSL_read(ssl, buf, (int)sizeof(buf));
        if (n <= 0)
            break;
        got += n;
    }
    double dt = (double)(sb_now_ns() - t0) / 1e9;
    child_report(wfd, got == size ? dt : -1);
}

double sb_limit_tls(const char *path, long long size, const char *cert, const char *key)
{
    int port, pfd[2];
    int lfd = listen_loopback(&port);
    if (lfd < 0 || pipe2(pfd, O_CLOEXEC)) {
        if (lfd >= 0)
            close(lfd);
        return 0;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        close(lfd);
        tls_receiver(port, size, pfd[1]);
    }
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        close(lfd);
        return 0;
    }
    bool ok = false;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL *ssl = NULL;
    uint8_t *buf = malloc(256 << 10);
    int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    int ffd = open(path, O_RDONLY | O_CLOEXEC);
    if (ctx && buf && cfd >= 0 && ffd >= 0 && SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) &&
        SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") &&
        SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 &&
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 && (ssl = SSL_new(ctx)) &&
        SSL_set_fd(ssl, cfd) && SSL_accept(ssl) == 1) {
        ok = true;
        long long sent = 0;
        while (ok && sent < size) {
            ssize_t n = read(ffd, buf, 256 << 10);
            if (n <= 0) {
                ok = false;
                break;
            }
            if (n > size - sent)
                n = (ssize_t)(size - sent);
            size_t done = 0;
            while (done < (size_t)n) { /* blocking: SSL_write takes it all, record by record */
                int w = SSL_write(ssl, buf + done, (int)((size_t)n - done));
                if (w <= 0) {
                    ok = false;
                    break;
                }
                done += (size_t)w;
            }
            sent += n;
        }
        SSL_shutdown(ssl);
    }
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    free(buf);
    if (cfd >= 0)
        close(cfd);
    if (ffd >= 0)
        close(ffd);
    close(lfd);
    return finish(pid, pfd[0], size, ok);
}

int sb_limit_fdatasync(const char *dir, int n, size_t size, struct sb_hist *h)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/fdatasync-limit.bin", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    uint8_t *buf = malloc(size);
    int rc = buf ? 0 : -ENOMEM;
    off_t off = 0;
    for (int i = 0; i < n && !rc; i++) {
        /* the way a log grows: append, then make it durable */
        sb_value_fill(buf, size, (uint64_t)i, 0);
        errno = 0;
        uint64_t t = sb_now_ns();
        if (pwrite(fd, buf, size, off) != (ssize_t)size || fdatasync(fd))
            rc = errno ? -errno : -EIO;
        else
            sb_hist_add(h, sb_now_ns() - t);
        off += (off_t)size;
    }
    free(buf);
    close(fd);
    unlink(path);
    return rc;
}
