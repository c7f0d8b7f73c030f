/*
 * sb_tls — what the TLS rows need: a throw-away self-signed certificate (made with the OpenSSL
 * library, so the bench does not depend on the openssl command) and the kernel TLS probe.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sb.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

static int ossl_fail(const char *what, char *why, size_t why_len)
{
    char err[256];
    ERR_error_string_n(ERR_get_error(), err, sizeof(err));
    snprintf(why, why_len, "%s: %s", what, err);
    return -EPROTO;
}

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

int sb_cert_make(const char *dir, char *why, size_t why_len)
{
    char cert_path[600], key_path[600];
    snprintf(cert_path, sizeof(cert_path), "%s/bench.pem", dir);
    snprintf(key_path, sizeof(key_path), "%s/bench.key", dir);
    int rc = -EPROTO;
    X509 *x = NULL;
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    if (!pk)
        return ossl_fail("EC key", why, why_len);
    x = X509_new();
    X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
    /* Self-signed and its own trust anchor: the client's ssl.ca.location is this file. */
    if (!x || !X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 7L * 86400) || !X509_set_pubkey(x, pk) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
                                    -1, -1, 0) ||
        !X509_set_issuer_name(x, name) || add_ext(x, NID_basic_constraints, "critical,CA:TRUE") ||
        add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign") ||
        add_ext(x, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") ||
        !X509_sign(x, pk, EVP_sha256())) {
        rc = ossl_fail("certificate", why, why_len);
        goto out;
    }
    FILE *cf = fopen(cert_path, "w");
    FILE *kf = fopen(key_path, "w");
    bool ok = cf && kf && PEM_write_X509(cf, x) &&
              PEM_write_PrivateKey(kf, pk, NULL, NULL, 0, NULL, NULL);
    if (cf && fclose(cf))
        ok = false;
    if (kf && fclose(kf))
        ok = false;
    if (!ok) {
        snprintf(why, why_len, "cannot write %s / %s", cert_path, key_path);
        rc = -EIO;
        goto out;
    }
    rc = 0;
out:
    X509_free(x);
    EVP_PKEY_free(pk);
    return rc;
}

bool sb_ktls_probe(char *why, size_t why_len)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    bool ok = false;
    if (lfd < 0 || cfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1) ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) ||
        connect(cfd, (struct sockaddr *)&a, sizeof(a))) {
        snprintf(why, why_len, "probe socket: %s", strerror(errno));
        goto out;
    }
    /* The ULP can only be attached to an established socket. */
    if (setsockopt(cfd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) == 0)
        ok = true;
    else if (errno == ENOENT)
        snprintf(why, why_len, "kernel has no TLS ULP (tls module not loaded: TCP_ULP ENOENT)");
    else
        snprintf(why, why_len, "kernel TLS: setsockopt(TCP_ULP, \"tls\"): %s", strerror(errno));
out:
    if (lfd >= 0)
        close(lfd);
    if (cfd >= 0)
        close(cfd);
    return ok;
}
