/*
 * tb_tls — certificates and a blocking OpenSSL client for the TLS suites. Contract in tb_tls.h.
 */
#include "tb_tls.h"

#include "tb_broker.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

const char *tb_cert_path(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
    return buf;
}

int tb_certs_make(char *dir, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int n = snprintf(dir, len, "%s/splicelog-certs.XXXXXX", tmp);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    if (!mkdtemp(dir))
        return -errno;
    char script[4096];
    const char *root = getenv("SPLICELOG_ROOT");
    if (root && *root)
        snprintf(script, sizeof(script), "%s/tests/support/tb_certs.sh", root);
    else
        snprintf(script, sizeof(script), "tests/support/tb_certs.sh");
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        execl("/bin/bash", "bash", script, dir, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        tb_certs_cleanup(dir);
        return -EIO;
    }
    return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void tb_certs_cleanup(const char *dir)
{
    if (dir && *dir && !getenv("SPLICELOG_KEEP_TMP"))
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

SSL_CTX *tb_tls_client_ctx(const char *dir, const char *cert, int versions)
{
    char path[4096], kpath[4096];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return NULL;
    int minv = versions == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    int maxv = versions == 12 ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_CTX_set_min_proto_version(ctx, minv);
    SSL_CTX_set_max_proto_version(ctx, maxv);
    if (SSL_CTX_load_verify_locations(ctx, tb_cert_path(path, sizeof(path), dir, "ca.pem"), NULL) !=
        1)
        goto fail;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set1_ip_asc(vp, "127.0.0.1");
    if (cert) {
        char name[256];
        snprintf(name, sizeof(name), "%s.pem", cert);
        tb_cert_path(path, sizeof(path), dir, name);
        snprintf(name, sizeof(name), "%s.key", cert);
        tb_cert_path(kpath, sizeof(kpath), dir, name);
        if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, kpath, SSL_FILETYPE_PEM) != 1)
            goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

SSL *tb_tls_connect(SSL_CTX *ctx, int fd, char *err, size_t errlen)
{
    ERR_clear_error();
    SSL *ssl = SSL_new(ctx);
    if (!ssl) {
        snprintf(err, errlen, "SSL_new failed");
        return NULL;
    }
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    int rc = SSL_connect(ssl);
    if (rc != 1) {
        unsigned long e = ERR_peek_last_error();
        if (e)
            ERR_error_string_n(e, err, errlen);
        else
            snprintf(err, errlen, "SSL_connect: error %d", SSL_get_error(ssl, rc));
        SSL_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    /* TLS 1.3: a missing/refused client certificate is reported after the client's
     * handshake finished, on the first read; callers check by reading. */
    return ssl;
}

int tb_tls_write_all(SSL *ssl, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        size_t n = 0;
        if (SSL_write_ex(ssl, p, len, &n) != 1) {
            ERR_clear_error();
            return -EIO;
        }
        p += n;
        len -= n;
    }
    return 0;
}

int tb_tls_read_all(SSL *ssl, void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        size_t n = 0;
        int ret = SSL_read_ex(ssl, p, len, &n);
        if (ret != 1) {
            int e = SSL_get_error(ssl, ret);
            ERR_clear_error();
            return e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL ? -ECONNRESET : -EIO;
        }
        p += n;
        len -= n;
    }
    return 0;
}

void tb_tls_close(SSL *ssl)
{
    if (!ssl)
        return;
    SSL_free(ssl);
    ERR_clear_error();
}

int tb_listener_port(const struct tb_broker *b, const char *name)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/port", b->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    char line[128];
    int port = -ENOENT;
    bool first = true;
    while (fgets(line, sizeof(line), f)) {
        if (first) {
            first = false;
            continue;
        }
        char lname[64];
        int p = 0;
        if (sscanf(line, "%63s %d", lname, &p) == 2 && strcasecmp(lname, name) == 0 && p > 0 &&
            p < 65536) {
            port = p;
            break;
        }
    }
    fclose(f);
    return port;
}
