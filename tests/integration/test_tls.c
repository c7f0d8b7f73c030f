/*
 * test_tls — SSL listeners on a real splicelogd: listeners=PLAINTEXT://127.0.0.1:0,SSL://...
 * with certificates generated at run time (tests/support/tb_certs.sh). The client side is
 * OpenSSL directly over tb_connect's socket (tests/support/tb_tls.c), nothing of the broker.
 *
 * Covered: a fetch response read over TLS is byte-identical to the same fetch over plaintext
 * (multi-MiB, crossing many 16 KiB records); produce over TLS, read back over plaintext;
 * ssl.client.auth=required (a CA-signed client works, no certificate and an unsigned one are
 * refused and logged with the peer's address); a plaintext Kafka request on the SSL port and
 * a TLS ClientHello on the plaintext port are dropped with a log line and no giant allocation;
 * a handshake that stalls half way and a client that disconnects mid-record (sending, and
 * while receiving a large fetch) leave the broker serving others; configuration errors name
 * the key; the start-up log names each listener's path.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>

#include "../support/tb_broker.h"
#include "../support/tb_kafka.h"
#include "../support/tb_tls.h"
#include "br_tls.h"

static char g_certs[512];

static void path_of(char *buf, size_t len, const char *name)
{
    tb_cert_path(buf, len, g_certs, name);
}

/* Starts a broker with a PLAINTEXT and an SSL listener; auth is ssl.client.auth. */
/* The broker's test switches (test.tls.*), set by the socket-mode and cold-reads cases. */
static bool g_socket_mode, g_cold_reads;

static void start_tls_broker(struct tb_broker *b, const char *auth, const char *const *more)
{
    static char cert[700], key[700], ca[700], auth_kv[64];
    char p[600];
    path_of(p, sizeof(p), "server.pem");
    snprintf(cert, sizeof(cert), "ssl.certificate.location=%s", p);
    path_of(p, sizeof(p), "server.key");
    snprintf(key, sizeof(key), "ssl.key.location=%s", p);
    path_of(p, sizeof(p), "ca.pem");
    snprintf(ca, sizeof(ca), "ssl.ca.location=%s", p);
    snprintf(auth_kv, sizeof(auth_kv), "ssl.client.auth=%s", auth);
    const char *argv[40] = {"-o", "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
                            "-o", cert,
                            "-o", key,
                            "-o", ca,
                            "-o", auth_kv};
    int n = 10;
    /* the kernel-TLS path is what these suites check where the kernel has it (stated, not assumed)
     */
    argv[n++] = "-o";
    argv[n++] = "ssl.ktls.enable=true";
    if (g_socket_mode) {
        argv[n++] = "-o";
        argv[n++] = "test.tls.socket.mode=true";
    }
    if (g_cold_reads) {
        argv[n++] = "-o";
        argv[n++] = "test.tls.cold.reads=true";
    }
    for (int i = 0; more && more[i] && n < 38; i++)
        argv[n++] = more[i];
    argv[n] = NULL;
    memset(b, 0, sizeof(*b));
    int rc = tb_broker_start(b, argv);
    ck_assert_msg(rc == 0, "broker start: %d", rc);
}

struct tls_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    char err[256];
};

/* Connects to the SSL listener; false (err filled) when the handshake fails. */
static bool tls_open(struct tls_conn *c, int port, const char *cert)
{
    memset(c, 0, sizeof(*c));
    c->fd = tb_connect(port);
    ck_assert_int_ge(c->fd, 0);
    c->ctx = tb_tls_client_ctx(g_certs, cert, 0);
    ck_assert_ptr_nonnull(c->ctx);
    c->ssl = tb_tls_connect(c->ctx, c->fd, c->err, sizeof(c->err));
    return c->ssl != NULL;
}

static void tls_close(struct tls_conn *c)
{
    tb_tls_close(c->ssl);
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->ssl = NULL;
}

/* Sends r's frame over TLS and reads one response frame. 0 or -errno. */
static int tls_call(struct tls_conn *c, struct tb_req *r, struct tb_frame *f)
{
    long len = tb_req_end(r);
    if (len < 0)
        return (int)len;
    if (tb_tls_write_all(c->ssl, r->buf, (size_t)len) != 0)
        return -EIO;
    uint8_t hdr[4];
    int rc = tb_tls_read_all(c->ssl, hdr, 4);
    if (rc)
        return rc;
    uint32_t size = kp_load_be32(hdr);
    if (size > 64u * 1024 * 1024)
        return -EMSGSIZE;
    f->data = malloc(size ? size : 1);
    f->len = size;
    rc = tb_tls_read_all(c->ssl, f->data, size);
    if (rc) {
        tb_frame_free(f);
        return rc;
    }
    return 0;
}

/* ApiVersions v3 over TLS: 0 when answered with error 0. */
static int tls_api_versions(struct tls_conn *c)
{
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 256, 18, 3, 77), 0);
    tb_enc_api_versions(&r, 3);
    struct tb_frame f = {0};
    int rc = tls_call(c, &r, &f);
    tb_req_free(&r);
    if (rc)
        return rc;
    struct tb_api_versions v;
    rc = tb_dec_api_versions(&f, 3, &v);
    ck_assert_int_eq(tb_frame_corr(&f), 77);
    tb_frame_free(&f);
    if (rc)
        return rc;
    return v.error == 0 ? 0 : -EPROTO;
}

/* Plaintext ApiVersions round trip on a fresh connection: the broker still serves. */
static void plaintext_still_serves(const struct tb_broker *b)
{
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 256, 18, 3, 5), 0);
    tb_enc_api_versions(&r, 3);
    struct tb_frame f = {0};
    ck_assert_int_eq(tb_call(fd, &r, 5, &f), 0);
    struct tb_api_versions v;
    ck_assert_int_eq(tb_dec_api_versions(&f, 3, &v), 0);
    ck_assert_int_eq(v.error, 0);
    tb_frame_free(&f);
    tb_req_free(&r);
    close(fd);
}

static void tls_still_serves(int port)
{
    struct tls_conn c;
    ck_assert_msg(tls_open(&c, port, NULL), "handshake: %s", c.err);
    ck_assert_int_eq(tls_api_versions(&c), 0);
    tls_close(&c);
}

/* Produces count batches of 200 records padded to pad bytes into topic over plaintext. */
static int64_t produce_plain(int port, const char *topic, int batches, size_t pad)
{
    int fd = tb_connect(port);
    ck_assert_int_ge(fd, 0);
    int16_t err;
    ck_assert_int_eq(tb_create_topic(fd, topic, 1, &err), 0);
    size_t cap = 200 * (pad + 64) + 1024;
    uint8_t *buf = malloc(cap);
    int64_t last = -1;
    for (int i = 0; i < batches; i++) {
        long n = tb_batch_values(buf, cap, "tls", i * 200, 200, pad, true, 1700000000000 + i);
        ck_assert_int_gt(n, 0);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_produce(fd, topic, 0, buf, (size_t)n, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
        last = pr.base_offset + 199;
    }
    free(buf);
    close(fd);
    return last;
}

/* On a failed log expectation: the broker's lines about that peer, to say what happened. */
static void dump_peer_lines(const struct tb_broker *b, int local)
{
    char needle[64], line[1200];
    snprintf(needle, sizeof(needle), "peer=127.0.0.1:%d", local);
    FILE *f = fopen(b->log, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, needle))
            fprintf(stderr, "broker: %s", line);
    fclose(f);
}

/* ---- tests ---------------------------------------------------------------------------- */

START_TEST(test_fetch_over_tls_identical_to_plaintext)
{
    struct tb_broker b;
    start_tls_broker(&b, "none", NULL);
    int sport = tb_listener_port(&b, "SSL");
    ck_assert_int_gt(sport, 0);
    ck_assert_int_ne(sport, b.port);
    ck_assert(tb_log_wait(&b, "tls-copy", 5000) || tb_log_wait(&b, "ktls", 100));

    produce_plain(b.port, "tlsfetch", 30, 1000); /* ~6 MB in 30 batches */
    int pfd = tb_connect(b.port);
    ck_assert_int_ge(pfd, 0);
    struct tls_conn c;
    ck_assert_msg(tls_open(&c, sport, NULL), "handshake: %s", c.err);

    static const int64_t offsets[] = {0, 1234, 5999};
    static const int32_t maxes[] = {8 * 1024 * 1024, 100000, 1};
    for (int i = 0; i < 3; i++) {
        struct tb_fetch_args a = {.max_wait_ms = 0,
                                  .min_bytes = 1,
                                  .max_bytes = maxes[i],
                                  .topic = "tlsfetch",
                                  .partition = 0,
                                  .offset = offsets[i],
                                  .partition_max_bytes = maxes[i]};
        struct tb_req r;
        ck_assert_int_eq(tb_req_begin(&r, 512, 1, 11, 100 + i), 0);
        tb_enc_fetch(&r, 11, &a);
        struct tb_frame fp = {0}, ft = {0};
        ck_assert_int_eq(tb_call(pfd, &r, 100 + i, &fp), 0);
        tb_req_free(&r);
        ck_assert_int_eq(tb_req_begin(&r, 512, 1, 11, 100 + i), 0);
        tb_enc_fetch(&r, 11, &a);
        ck_assert_int_eq(tls_call(&c, &r, &ft), 0);
        tb_req_free(&r);
        ck_assert_uint_eq(ft.len, fp.len);
        ck_assert_msg(memcmp(ft.data, fp.data, fp.len) == 0, "TLS fetch %d differs", i);
        struct tb_fetch_resp fr;
        ck_assert_int_eq(tb_dec_fetch(&ft, 11, &fr), 0);
        ck_assert_int_eq(fr.error, 0);
        ck_assert_int_gt(fr.records_len, 0);
        if (i == 0)
            ck_assert_int_gt(fr.records_len, 5 * 1000 * 1000);
        tb_frame_free(&fp);
        tb_frame_free(&ft);
    }
    tls_close(&c);
    close(pfd);
    ck_assert(tb_broker_alive(&b));
    ck_assert_int_eq(tb_broker_stop(&b, SIGTERM), 0);
    tb_broker_cleanup(&b);
}
END_TEST

START_TEST(test_produce_over_tls_read_plaintext)
{
    struct tb_broker b;
    start_tls_broker(&b, "none", NULL);
    int sport = tb_listener_port(&b, "SSL");
    int pfd = tb_connect(b.port);
    int16_t err;
    ck_assert_int_eq(tb_create_topic(pfd, "tlsprod", 1, &err), 0);
    struct tls_conn c;
    ck_assert_msg(tls_open(&c, sport, NULL), "handshake: %s", c.err);
    size_t cap = 300 * 1200;
    uint8_t *buf = malloc(cap);
    for (int i = 0; i < 10; i++) {
        long n = tb_batch_values(buf, cap, "up", i * 300, 300, 1000, false, 1700000000000);
        ck_assert_int_gt(n, 0);
        struct tb_req r;
        ck_assert_int_eq(tb_req_begin(&r, (size_t)n + 512, 0, 7, 200 + i), 0);
        tb_enc_produce(&r, 7, -1, 5000, "tlsprod", 0, buf, (size_t)n);
        struct tb_frame f = {0};
        ck_assert_int_eq(tls_call(&c, &r, &f), 0);
        tb_req_free(&r);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_dec_produce(&f, 7, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
        ck_assert_int_eq(pr.base_offset, i * 300);
        tb_frame_free(&f);
    }
    free(buf);
    tls_close(&c);
    struct tb_seq seq = {.prefix = "up", .pad_to = 1000};
    ck_assert_int_eq(tb_consume_seq(pfd, "tlsprod", 0, 3000, &seq, 100), 0);
    close(pfd);
    tb_broker_cleanup(&b);
}
END_TEST

static void expect_refused(struct tb_broker *b, int sport, const char *cert)
{
    struct tls_conn c;
    bool ok = tls_open(&c, sport, cert);
    int local = tb_local_port(c.fd);
    if (ok) /* TLS 1.3: the client's handshake ends before the server has checked */
        ok = tls_api_versions(&c) == 0;
    ck_assert_msg(!ok, "client with %s was served", cert ? cert : "no certificate");
    char needle[128];
    snprintf(needle, sizeof(needle), "peer=127.0.0.1:%d: TLS handshake refused", local);
    ck_assert_msg(tb_log_wait(b, needle, 5000), "no log line '%s'", needle);
    tls_close(&c);
}

START_TEST(test_client_auth_required)
{
    struct tb_broker b;
    start_tls_broker(&b, "required", NULL);
    int sport = tb_listener_port(&b, "SSL");
    struct tls_conn c;
    ck_assert_msg(tls_open(&c, sport, "client"), "handshake: %s", c.err);
    ck_assert_int_eq(tls_api_versions(&c), 0);
    tls_close(&c);
    expect_refused(&b, sport, NULL);
    expect_refused(&b, sport, "rogue");
    /* the plaintext listener is not affected by ssl.client.auth */
    plaintext_still_serves(&b);
    ck_assert(tb_broker_alive(&b));
    tb_broker_cleanup(&b);
}
END_TEST

START_TEST(test_wrong_protocol_both_ports)
{
    struct tb_broker b;
    start_tls_broker(&b, "none", NULL);
    int sport = tb_listener_port(&b, "SSL");

    /* a plaintext Kafka request on the SSL port */
    int fd = tb_connect(sport);
    int local = tb_local_port(fd);
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 256, 18, 3, 1), 0);
    tb_enc_api_versions(&r, 3);
    ck_assert_int_eq(tb_req_send(fd, &r), 0);
    tb_req_free(&r);
    ck_assert_int_eq(tb_wait_closed(fd, 5000), 1);
    close(fd);
    char needle[128];
    snprintf(needle, sizeof(needle), "peer=127.0.0.1:%d: not a TLS client", local);
    ck_assert_msg(tb_log_wait(&b, needle, 5000), "no log line '%s'", needle);

    /* a TLS client on the plaintext port: its ClientHello read as a size is ~360 MB */
    struct tls_conn c;
    bool ok = tls_open(&c, b.port, NULL);
    ck_assert(!ok);
    snprintf(needle, sizeof(needle), "peer=127.0.0.1:%d: TLS handshake on a PLAINTEXT listener",
             tb_local_port(c.fd));
    ck_assert_msg(tb_log_wait(&b, needle, 5000), "no log line '%s'", needle);
    tls_close(&c);

    ck_assert(tb_broker_alive(&b));
    plaintext_still_serves(&b);
    tls_still_serves(sport);
    tb_broker_cleanup(&b);
}
END_TEST

START_TEST(test_stalled_handshake_and_mid_record_disconnects)
{
    struct tb_broker b;
    /* debug: a disconnect is an ordinary close, logged at DEBUG */
    static const char *const debug[] = {"-o", "log.level=debug", NULL};
    start_tls_broker(&b, "none", debug);
    int sport = tb_listener_port(&b, "SSL");
    produce_plain(b.port, "tlsmid", 20, 1000);

    /* half a ClientHello, then silence (the connection stays open) */
    uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
    int stalled = tb_connect(sport);
    ck_assert_int_eq(tb_send_all(stalled, hello, sizeof(hello)), 0);

    /* others are served meanwhile */
    tls_still_serves(sport);
    plaintext_still_serves(&b);

    /* a client that sends half a record and disconnects */
    struct tls_conn c;
    ck_assert_msg(tls_open(&c, sport, NULL), "handshake: %s", c.err);
    int local = tb_local_port(c.fd);
    static const uint8_t half[] = {0x17, 0x03, 0x03, 0x40, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    ck_assert_int_eq(tb_send_all(c.fd, half, sizeof(half)), 0);
    close(c.fd);
    c.fd = -1;
    tls_close(&c);
    char needle[128];
    snprintf(needle, sizeof(needle), "closing connection peer=127.0.0.1:%d", local);
    ck_assert_msg(tb_log_wait(&b, needle, 5000), "no log line '%s'", needle);

    /* a client that asks for ~4 MB and disconnects after the first records */
    for (int round = 0; round < 3; round++) {
        ck_assert_msg(tls_open(&c, sport, NULL), "handshake: %s", c.err);
        struct tb_fetch_args a = {.max_wait_ms = 0,
                                  .min_bytes = 1,
                                  .max_bytes = 8 << 20,
                                  .topic = "tlsmid",
                                  .partition = 0,
                                  .offset = 0,
                                  .partition_max_bytes = 8 << 20};
        struct tb_req r;
        ck_assert_int_eq(tb_req_begin(&r, 512, 1, 11, 9), 0);
        tb_enc_fetch(&r, 11, &a);
        long len = tb_req_end(&r);
        ck_assert_int_eq(tb_tls_write_all(c.ssl, r.buf, (size_t)len), 0);
        tb_req_free(&r);
        uint8_t some[20000];
        ck_assert_int_eq(tb_tls_read_all(c.ssl, some, sizeof(some)), 0);
        if (round == 1) /* RST rather than FIN */
            setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &(struct linger){1, 0}, sizeof(struct linger));
        tls_close(&c);
    }

    ck_assert(tb_broker_alive(&b));
    tls_still_serves(sport);
    plaintext_still_serves(&b);
    close(stalled);
    tb_broker_cleanup(&b);
}
END_TEST

START_TEST(test_stalled_handshake_times_out)
{
    struct tb_broker b;
    start_tls_broker(&b, "none", (const char *const[]){"-o", "ssl.handshake.timeout.ms=300", NULL});
    int sport = tb_listener_port(&b, "SSL");
    uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
    int stalled = tb_connect(sport);
    int local = tb_local_port(stalled);
    ck_assert_int_eq(tb_send_all(stalled, hello, sizeof(hello)), 0);
    ck_assert_int_eq(tb_wait_closed(stalled, 10000), 1);
    char needle[160];
    snprintf(needle, sizeof(needle),
             "peer=127.0.0.1:%d: TLS handshake not finished within ssl.handshake.timeout.ms=300",
             local);
    bool logged = tb_log_wait(&b, needle, 5000);
    if (!logged)
        dump_peer_lines(&b, local);
    ck_assert_msg(logged, "no log line '%s'", needle);
    close(stalled);
    /* an established connection that stays quiet is not affected */
    struct tls_conn c;
    ck_assert_msg(tls_open(&c, sport, NULL), "handshake: %s", c.err);
    ck_assert_int_eq(tls_api_versions(&c), 0);
    ck_assert_int_eq(tb_readable(c.fd, 1500), 0);
    ck_assert_int_eq(tls_api_versions(&c), 0);
    tls_close(&c);
    tb_broker_cleanup(&b);
}
END_TEST

/* A certificate chain whose handshake flight is larger than a session's tx buffer: the
 * handshake goes on as tx drains (no new input arrives while the client waits for it). */
START_TEST(test_handshake_flight_larger_than_tx)
{
    char chain[700], p[600], kv[760];
    snprintf(chain, sizeof(chain), "%s/long-chain.pem", g_certs);
    FILE *out = fopen(chain, "w");
    ck_assert_ptr_nonnull(out);
    char buf[8192];
    for (int i = 0; i < 200; i++) {
        path_of(p, sizeof(p), i == 0 ? "server.pem" : "ca.pem");
        FILE *in = fopen(p, "r");
        ck_assert_ptr_nonnull(in);
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
            ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
        fclose(in);
    }
    fclose(out);
    snprintf(kv, sizeof(kv), "ssl.certificate.location=%s", chain);
    struct tb_broker b;
    start_tls_broker(&b, "none", (const char *const[]){"-o", kv, NULL});
    int sport = tb_listener_port(&b, "SSL");
    for (int i = 0; i < 3; i++)
        tls_still_serves(sport);
    tb_broker_cleanup(&b);
    unlink(chain);
}
END_TEST

START_TEST(test_config_errors_name_the_key)
{
    struct tb_broker b;
    memset(&b, 0, sizeof(b));
    const char *no_cert[] = {"-o", "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0", NULL};
    ck_assert_int_eq(tb_broker_start(&b, no_cert), -ECHILD);
    ck_assert(tb_log_contains(&b, "ssl.certificate.location"));
    tb_broker_cleanup(&b);

    memset(&b, 0, sizeof(b));
    const char *bad_auth[] = {"-o", "ssl.client.auth=sometimes", NULL};
    ck_assert_int_eq(tb_broker_start(&b, bad_auth), -ECHILD);
    ck_assert(tb_log_contains(&b, "ssl.client.auth"));
    tb_broker_cleanup(&b);

    char kv[700], p[600];
    path_of(p, sizeof(p), "server-enc.key");
    snprintf(kv, sizeof(kv), "ssl.key.location=%s", p);
    memset(&b, 0, sizeof(b));
    start_tls_broker(
        &b, "none",
        (const char *const[]){"-o", "ssl.key.password=splicelog-test-pass", "-o", kv, NULL});
    tls_still_serves(tb_listener_port(&b, "SSL"));
    tb_broker_cleanup(&b);

    memset(&b, 0, sizeof(b));
    char tmp[700];
    snprintf(tmp, sizeof(tmp), "%s", kv);
    const char *argv_bad_pw[] = {"-o", "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
                                 "-o", NULL,
                                 "-o", tmp,
                                 "-o", "ssl.key.password=wrong",
                                 NULL};
    char cert[700];
    path_of(p, sizeof(p), "server.pem");
    snprintf(cert, sizeof(cert), "ssl.certificate.location=%s", p);
    argv_bad_pw[3] = cert;
    ck_assert_int_eq(tb_broker_start(&b, argv_bad_pw), -ECHILD);
    ck_assert(tb_log_contains(&b, "ssl.key.password"));
    tb_broker_cleanup(&b);
}
END_TEST

/* Drops the page cache of every segment of topic-0 (written back first). */
static void evict_segments(const struct tb_broker *b, const char *topic)
{
    char dir[700];
    snprintf(dir, sizeof(dir), "%s/%s-0", b->data, topic);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "no partition dir %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".log") != 0)
            continue;
        char path[1000];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        int fd = open(path, O_RDONLY);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(fdatasync(fd), 0);
        ck_assert_int_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
        close(fd);
        n++;
    }
    closedir(d);
    ck_assert_int_gt(n, 0);
}

/* A consumer of segments that are not in the page cache: tls-copy reads them with io_uring
 * (the loop never waits for the disk) and the bytes are those of the plaintext path. */
START_TEST(test_fetch_cold_segments_over_tls)
{
    struct tb_broker b;
    static const char *const more[] = {"-o", "log.level=debug", "-o", "ssl.ktls.enable=false",
                                       NULL};
    start_tls_broker(&b, "none", more);
    int sport = tb_listener_port(&b, "SSL");
    ck_assert_int_gt(sport, 0);
    produce_plain(b.port, "tlscold", 20, 1000); /* ~4 MB */
    evict_segments(&b, "tlscold");
    struct tls_conn c;
    ck_assert_msg(tls_open(&c, sport, NULL), "handshake: %s", c.err);
    struct tb_fetch_args a = {.max_wait_ms = 0,
                              .min_bytes = 1,
                              .max_bytes = 8 * 1024 * 1024,
                              .topic = "tlscold",
                              .partition = 0,
                              .offset = 0,
                              .partition_max_bytes = 8 * 1024 * 1024};
    struct tb_req r;
    struct tb_frame ft = {0}, fp = {0};
    ck_assert_int_eq(tb_req_begin(&r, 512, 1, 11, 41), 0);
    tb_enc_fetch(&r, 11, &a);
    ck_assert_int_eq(tls_call(&c, &r, &ft), 0);
    tb_req_free(&r);
    tls_close(&c);
    int pfd = tb_connect(b.port);
    ck_assert_int_ge(pfd, 0);
    ck_assert_int_eq(tb_req_begin(&r, 512, 1, 11, 41), 0);
    tb_enc_fetch(&r, 11, &a);
    ck_assert_int_eq(tb_call(pfd, &r, 41, &fp), 0);
    tb_req_free(&r);
    close(pfd);
    ck_assert_uint_eq(ft.len, fp.len);
    ck_assert_msg(memcmp(ft.data, fp.data, fp.len) == 0, "cold TLS fetch differs");
    struct tb_fetch_resp fr;
    ck_assert_int_eq(tb_dec_fetch(&ft, 11, &fr), 0);
    ck_assert_int_eq(fr.error, 0);
    ck_assert_int_gt(fr.records_len, 3 * 1000 * 1000);
    /* Whether a chunk had to wait for the disk depends on how fast the kernel's read-ahead
     * (started by the broker's own batch-header reads) keeps up: required only where the broker
     * was told to treat every chunk as cold. */
    bool disk = tb_log_wait(&b, "were not in the page cache and were read from disk", 2000);
    if (g_cold_reads)
        ck_assert_msg(disk, "every chunk cold, but no disk reads logged");
    else
        fprintf(stderr, "cold TLS fetch: %s\n",
                disk ? "chunks read from disk through io_uring"
                     : "read-ahead kept up, every chunk came from the page cache");
    tb_frame_free(&ft);
    tb_frame_free(&fp);
    ck_assert(tb_broker_alive(&b));
    ck_assert_int_eq(tb_broker_stop(&b, SIGTERM), 0);
    tb_broker_cleanup(&b);
}
END_TEST

/* Pipelined requests past the connection's share of a loop turn (fair service defers them)
 * arrive in one write: every one is answered, in order, though no further byte ever comes to
 * wake the connection (a TLS input that cut frames only when it had just decrypted new bytes
 * left the deferred ones unhandled until request.receive.timeout.ms closed the connection). */
START_TEST(test_pipelined_past_turn_share)
{
    static const char *const more[] = {"-o", "connection.turn.max.requests=1", "-o",
                                       "request.receive.timeout.ms=4000", NULL};
    struct tb_broker b;
    start_tls_broker(&b, "none", more);
    struct tls_conn c;
    ck_assert_msg(tls_open(&c, tb_listener_port(&b, "SSL"), NULL), "handshake: %s", c.err);
    enum { N = 4 };
    uint8_t all[N * 256];
    size_t len = 0;
    for (int i = 0; i < N; i++) {
        struct tb_req r;
        ck_assert_int_eq(tb_req_begin(&r, 256, 18, 3, 100 + i), 0);
        tb_enc_api_versions(&r, 3);
        long n = tb_req_end(&r);
        ck_assert_int_gt(n, 0);
        ck_assert_uint_le(len + (size_t)n, sizeof(all));
        memcpy(all + len, r.buf, (size_t)n);
        len += (size_t)n;
        tb_req_free(&r);
    }
    ck_assert_int_eq(tb_tls_write_all(c.ssl, all, len), 0);
    struct timeval tv = {.tv_sec = 8};
    setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (int i = 0; i < N; i++) {
        uint8_t hdr[4];
        ck_assert_msg(tb_tls_read_all(c.ssl, hdr, 4) == 0, "response %d of %d never came", i + 1,
                      N);
        uint32_t size = kp_load_be32(hdr);
        ck_assert_uint_le(size, 1u << 20);
        struct tb_frame f = {.data = malloc(size ? size : 1), .len = size};
        ck_assert_int_eq(tb_tls_read_all(c.ssl, f.data, size), 0);
        ck_assert_int_eq(tb_frame_corr(&f), 100 + i);
        tb_frame_free(&f);
    }
    tls_close(&c);
    ck_assert(tb_broker_alive(&b));
    ck_assert_int_eq(tb_broker_stop(&b, SIGTERM), 0);
    tb_broker_cleanup(&b);
}
END_TEST

/* The established line names the session's fetch path: ktls-sendfile where the kernel takes
 * the keys; else tls-copy, said to be a fall-back when the session started in socket mode. */
START_TEST(test_session_path_logged)
{
    char why[256];
    bool kernel = br_ktls_probe(why, sizeof(why));
    bool socket_mode = g_socket_mode;
    struct tb_broker b;
    start_tls_broker(&b, "none", NULL);
    int sport = tb_listener_port(&b, "SSL");
    ck_assert_int_gt(sport, 0);
    const char *listener = kernel || socket_mode ? "fetch path ktls-sendfile (kernel TLS"
                                                 : "fetch path tls-copy (no kernel TLS)";
    ck_assert_msg(tb_log_wait(&b, listener, 5000), "no listener line with \"%s\"", listener);
    struct tls_conn c;
    ck_assert_msg(tls_open(&c, sport, NULL), "handshake: %s", c.err);
    /* one request answered, so the established line is in the log */
    struct tb_req r;
    struct tb_frame f = {0};
    ck_assert_int_eq(tb_req_begin(&r, 64, 18, 0, 7), 0);
    ck_assert_int_eq(tls_call(&c, &r, &f), 0);
    tb_req_free(&r);
    tb_frame_free(&f);
    const char *session = kernel        ? "fetch path ktls-sendfile, kernel TLS send"
                          : socket_mode ? "fetch path tls-copy: the kernel did not take this "
                                          "session's keys"
                                        : "fetch path tls-copy)";
    ck_assert_msg(tb_log_wait(&b, session, 5000), "no established line with \"%s\"", session);
    tls_close(&c);
    ck_assert(tb_broker_alive(&b));
    ck_assert_int_eq(tb_broker_stop(&b, SIGTERM), 0);
    tb_broker_cleanup(&b);
}
END_TEST

/* Socket mode (kernel TLS sessions) where the kernel has none: the handshake is driven by
 * polls and OpenSSL's own socket reads, then the session moves to memory mode. */
static void socket_mode_on(void) { g_socket_mode = true; }
static void socket_mode_off(void) { g_socket_mode = false; }

/* Every chunk of a file range read through io_uring, as when nothing is in the page cache. */
static void cold_reads_on(void) { g_cold_reads = true; }
static void cold_reads_off(void) { g_cold_reads = false; }

static Suite *suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("listeners");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_fetch_over_tls_identical_to_plaintext);
    tcase_add_test(tc, test_produce_over_tls_read_plaintext);
    tcase_add_test(tc, test_client_auth_required);
    tcase_add_test(tc, test_wrong_protocol_both_ports);
    tcase_add_test(tc, test_stalled_handshake_and_mid_record_disconnects);
    tcase_add_test(tc, test_stalled_handshake_times_out);
    tcase_add_test(tc, test_handshake_flight_larger_than_tx);
    tcase_add_test(tc, test_config_errors_name_the_key);
    tcase_add_test(tc, test_session_path_logged);
    tcase_add_test(tc, test_pipelined_past_turn_share);
    tcase_add_test(tc, test_fetch_cold_segments_over_tls);
    suite_add_tcase(s, tc);

    TCase *sm = tcase_create("socket-mode");
    tcase_set_timeout(sm, 180);
    tcase_add_unchecked_fixture(sm, socket_mode_on, socket_mode_off);
    tcase_add_test(sm, test_session_path_logged);
    tcase_add_test(sm, test_pipelined_past_turn_share);
    tcase_add_test(sm, test_fetch_over_tls_identical_to_plaintext);
    tcase_add_test(sm, test_produce_over_tls_read_plaintext);
    tcase_add_test(sm, test_client_auth_required);
    tcase_add_test(sm, test_wrong_protocol_both_ports);
    tcase_add_test(sm, test_stalled_handshake_and_mid_record_disconnects);
    tcase_add_test(sm, test_stalled_handshake_times_out);
    suite_add_tcase(s, sm);

    TCase *cr = tcase_create("cold-reads");
    tcase_set_timeout(cr, 180);
    tcase_add_unchecked_fixture(cr, cold_reads_on, cold_reads_off);
    tcase_add_test(cr, test_fetch_cold_segments_over_tls);
    tcase_add_test(cr, test_fetch_over_tls_identical_to_plaintext);
    tcase_add_test(cr, test_stalled_handshake_and_mid_record_disconnects);
    suite_add_tcase(s, cr);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    int rc = tb_certs_make(g_certs, sizeof(g_certs));
    if (rc < 0) {
        fprintf(stderr, "cannot generate test certificates: %s\n", strerror(-rc));
        return 1;
    }
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tb_certs_cleanup(g_certs);
    return failed ? 1 : 0;
}
