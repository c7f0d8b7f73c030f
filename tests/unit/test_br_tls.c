/*
 * test_br_tls — the broker's TLS engine against a plain blocking OpenSSL client.
 *
 * The engine (server side) runs on the test's thread over one end of a socketpair, moving
 * ciphertext between the socket and its buffers the way a connection does; the client is a
 * separate thread using OpenSSL on a blocking socket (tests/support/tb_tls.c). Certificates
 * come from tests/support/tb_certs.sh, generated once per run into a temp dir.
 *
 * Covered: handshakes at TLS 1.2 and 1.3, data byte-identical in both directions, 16 KiB
 * record boundaries, large transfers, no allocation while moving data, client certificates
 * (required: signed accepted, none and unsigned refused; requested), settings and context
 * errors naming the key, garbage (a plaintext Kafka request, a forged record length) refused
 * without a large allocation, a stalled handshake, a peer gone mid-record, the kTLS probe
 * (and kTLS with SSL_sendfile where the kernel has it).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "br_tls.h"
#include "tb_tls.h"

static char g_dir[512];

/* ---- allocation accounting (OpenSSL's allocations on the engine's thread) --------------- */

static __thread bool tl_counting;
static atomic_size_t g_alloc_max;
static atomic_size_t g_alloc_count;

static void note_alloc(size_t n)
{
    if (!tl_counting)
        return;
    atomic_fetch_add(&g_alloc_count, 1);
    size_t cur = atomic_load(&g_alloc_max);
    while (n > cur && !atomic_compare_exchange_weak(&g_alloc_max, &cur, n)) {
    }
}

static void *cm_malloc(size_t n, const char *file, int line)
{
    if (tl_counting && getenv("TB_ALLOC_TRACE"))
        fprintf(stderr, "alloc %zu at %s:%d\n", n, file, line);
    note_alloc(n);
    return malloc(n);
}

static void *cm_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    note_alloc(n);
    return realloc(p, n);
}

static void cm_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

static void count_start(void)
{
    atomic_store(&g_alloc_max, 0);
    atomic_store(&g_alloc_count, 0);
    tl_counting = true;
}

static void count_stop(void) { tl_counting = false; }

/* ---- data pattern --------------------------------------------------------------------- */

static void pattern(uint8_t *buf, size_t len, uint64_t seed, uint64_t off)
{
    for (size_t i = 0; i < len; i++) {
        uint64_t x = (off + i) * 0x9E3779B97F4A7C15ull ^ seed;
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9ull;
        buf[i] = (uint8_t)(x >> 56);
    }
}

/* ---- the engine side ------------------------------------------------------------------ */

struct srv {
    struct br_tls_ctx *ctx;
    struct br_tls *t;
    int fd;
};

static int flush_tx(struct srv *s)
{
    for (;;) {
        size_t n;
        const uint8_t *p = br_tls_tx_data(s->t, &n);
        if (n == 0)
            return 0;
        ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            br_tls_tx_consume(s->t, (size_t)w);
            continue;
        }
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = {.fd = s->fd, .events = POLLOUT};
            if (poll(&pf, 1, 10000) <= 0)
                return -ETIMEDOUT;
            continue;
        }
        return w < 0 ? -errno : -EPIPE;
    }
}

/* 1 bytes in, 0 EOF (recorded), -ETIMEDOUT, -ENOBUFS (rx full), -errno */
static int fill_rx(struct srv *s, int timeout_ms)
{
    struct pollfd pf = {.fd = s->fd, .events = POLLIN};
    int pr = poll(&pf, 1, timeout_ms);
    if (pr == 0)
        return -ETIMEDOUT;
    if (pr < 0)
        return -errno;
    size_t room;
    uint8_t *p = br_tls_rx_space(s->t, &room);
    if (room == 0)
        return -ENOBUFS;
    ssize_t r = recv(s->fd, p, room, 0);
    if (r == 0 || (r < 0 && errno == ECONNRESET)) {
        br_tls_rx_eof(s->t);
        return 0;
    }
    if (r < 0)
        return errno == EAGAIN ? 1 : -errno;
    br_tls_rx_commit(s->t, (size_t)r);
    return 1;
}

static int g_blocked_steps; /* handshake steps that waited for tx rather than input */

static int srv_handshake(struct srv *s)
{
    for (;;) {
        int rc = br_tls_handshake(s->t);
        bool blocked = br_tls_input_blocked(s->t);
        int f = flush_tx(s);
        if (rc == 0)
            return f;
        if (rc != -EAGAIN)
            return rc;
        if (f < 0)
            return f;
        if (blocked) {
            g_blocked_steps++;
            continue; /* tx drained: the flight goes on without new input */
        }
        int r = fill_rx(s, 10000);
        if (r < 0)
            return r;
    }
}

static int srv_read_exact(struct srv *s, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = br_tls_read(s->t, buf + got, len - got);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n == 0)
            return -ESHUTDOWN;
        if (n != -EAGAIN)
            return (int)n;
        int f = flush_tx(s);
        if (f < 0)
            return f;
        int r = fill_rx(s, 10000);
        if (r < 0)
            return r;
    }
    return flush_tx(s);
}

static int srv_write_all(struct srv *s, const uint8_t *buf, size_t len, size_t chunk)
{
    size_t done = 0;
    while (done < len) {
        size_t want = len - done < chunk ? len - done : chunk;
        ssize_t n = br_tls_write(s->t, buf + done, want);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n != -EAGAIN)
            return (int)n;
        int f = flush_tx(s);
        if (f < 0)
            return f;
    }
    return flush_tx(s);
}

static void conf_default(struct br_tls_conf *c)
{
    char p[1024];
    char err[256];
    br_tls_conf_init(c);
    ck_assert_int_eq(br_tls_conf_set(c, "ssl.certificate.location",
                                     tb_cert_path(p, sizeof(p), g_dir, "server.pem"), err,
                                     sizeof(err)),
                     0);
    ck_assert_int_eq(br_tls_conf_set(c, "ssl.key.location",
                                     tb_cert_path(p, sizeof(p), g_dir, "server.key"), err,
                                     sizeof(err)),
                     0);
    ck_assert_int_eq(br_tls_conf_set(c, "ssl.ca.location",
                                     tb_cert_path(p, sizeof(p), g_dir, "ca.pem"), err, sizeof(err)),
                     0);
}

static int sv[2];

static void srv_open(struct srv *s, const struct br_tls_conf *conf, size_t tx_cap)
{
    char err[256] = "";
    int rc = br_tls_ctx_new(conf, false, &s->ctx, err, sizeof(err));
    ck_assert_msg(rc == 0, "ctx: %s", err);
    ck_assert_int_eq(br_tls_new(s->ctx, tx_cap, &s->t), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s->fd = sv[0];
    fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
}

static void srv_close(struct srv *s)
{
    br_tls_free(s->t);
    br_tls_ctx_free(s->ctx);
    close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    sv[1] = -1;
}

/* ---- the client thread ---------------------------------------------------------------- */

struct cli {
    pthread_t th;
    int fd;
    const char *cert; /* NULL: no client certificate */
    int versions;     /* 0, 12, 13 */
    size_t n_out;     /* pattern bytes to write (seed 1) */
    size_t n_in;      /* pattern bytes to read and check (seed 2) */
    bool probe_read;  /* after the handshake, try to read one byte (refusals show there) */
    int rc;           /* 0 ok, -1 handshake failed, -2 mismatch, -3 I/O */
    char err[256];
    char version[32];
};

static void *cli_main(void *arg)
{
    struct cli *c = arg;
    SSL_CTX *ctx = tb_tls_client_ctx(g_dir, c->cert, c->versions);
    if (!ctx) {
        c->rc = -4;
        return NULL;
    }
    SSL *ssl = tb_tls_connect(ctx, c->fd, c->err, sizeof(c->err));
    if (!ssl) {
        c->rc = -1;
        SSL_CTX_free(ctx);
        shutdown(c->fd, SHUT_RDWR);
        return NULL;
    }
    snprintf(c->version, sizeof(c->version), "%s", SSL_get_version(ssl));
    enum { CH = 65536 };
    uint8_t *buf = malloc(CH), *exp = malloc(CH);
    c->rc = 0;
    for (size_t off = 0; off < c->n_out && c->rc == 0; off += CH) {
        size_t n = c->n_out - off < CH ? c->n_out - off : CH;
        pattern(buf, n, 1, off);
        if (tb_tls_write_all(ssl, buf, n) != 0)
            c->rc = -3;
    }
    for (size_t off = 0; off < c->n_in && c->rc == 0; off += CH) {
        size_t n = c->n_in - off < CH ? c->n_in - off : CH;
        if (tb_tls_read_all(ssl, buf, n) != 0) {
            c->rc = -3;
            break;
        }
        pattern(exp, n, 2, off);
        if (memcmp(buf, exp, n) != 0)
            c->rc = -2;
    }
    if (c->probe_read && c->rc == 0) {
        uint8_t b;
        size_t n = 0;
        if (SSL_read_ex(ssl, &b, 1, &n) != 1) {
            unsigned long e = ERR_peek_last_error();
            if (e)
                ERR_error_string_n(e, c->err, sizeof(c->err));
            c->rc = -1;
        }
    }
    free(buf);
    free(exp);
    tb_tls_close(ssl);
    SSL_CTX_free(ctx);
    shutdown(c->fd, SHUT_WR);
    return NULL;
}

static void cli_start(struct cli *c)
{
    c->fd = sv[1];
    ck_assert_int_eq(pthread_create(&c->th, NULL, cli_main, c), 0);
}

static void cli_join(struct cli *c) { pthread_join(c->th, NULL); }

/* Reads the pattern the client wrote (seed 1) and checks it. */
static void srv_expect_pattern(struct srv *s, size_t len)
{
    enum { CH = 50000 }; /* not a record multiple on purpose */
    uint8_t *buf = malloc(CH), *exp = malloc(CH);
    for (size_t off = 0; off < len; off += CH) {
        size_t n = len - off < CH ? len - off : CH;
        int rc = srv_read_exact(s, buf, n);
        ck_assert_msg(rc == 0, "read at %zu: %d %s", off, rc, br_tls_error(s->t));
        pattern(exp, n, 1, off);
        ck_assert_msg(memcmp(buf, exp, n) == 0, "client->server bytes differ near %zu", off);
    }
    free(buf);
    free(exp);
}

static void srv_send_pattern(struct srv *s, size_t len, size_t chunk)
{
    enum { CH = 1 << 20 };
    uint8_t *buf = malloc(CH);
    for (size_t off = 0; off < len; off += CH) {
        size_t n = len - off < CH ? len - off : CH;
        pattern(buf, n, 2, off);
        int rc = srv_write_all(s, buf, n, chunk);
        ck_assert_msg(rc == 0, "write at %zu: %d %s", off, rc, br_tls_error(s->t));
    }
    free(buf);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void handshake_at(int client_versions, const char *expect)
{
    struct br_tls_conf conf;
    conf_default(&conf);
    struct srv s;
    srv_open(&s, &conf, 0);
    struct cli c = {.versions = client_versions, .n_out = 1000, .n_in = 1000};
    cli_start(&c);
    int rc = srv_handshake(&s);
    ck_assert_msg(rc == 0, "handshake: %d %s", rc, br_tls_error(s.t));
    ck_assert(br_tls_established(s.t));
    char d[128];
    br_tls_describe(s.t, d, sizeof(d));
    ck_assert_msg(strstr(d, expect) != NULL, "negotiated %s, wanted %s", d, expect);
    srv_expect_pattern(&s, 1000);
    srv_send_pattern(&s, 1000, BR_TLS_RECORD_MAX);
    cli_join(&c);
    ck_assert_msg(c.rc == 0, "client: %d %s", c.rc, c.err);
    ck_assert_str_eq(c.version, expect);
    srv_close(&s);
}

START_TEST(test_handshake_tls13) { handshake_at(13, "TLSv1.3"); }
END_TEST

START_TEST(test_handshake_tls12) { handshake_at(12, "TLSv1.2"); }
END_TEST

START_TEST(test_protocol_mismatch_refused)
{
    struct br_tls_conf conf;
    conf_default(&conf);
    char err[256];
    ck_assert_int_eq(br_tls_conf_set(&conf, "ssl.protocols", "TLSv1.3", err, sizeof(err)), 0);
    struct srv s;
    srv_open(&s, &conf, 0);
    struct cli c = {.versions = 12};
    cli_start(&c);
    int rc = srv_handshake(&s);
    ck_assert_int_eq(rc, -EPROTO);
    ck_assert_msg(strlen(br_tls_error(s.t)) > 0, "no reason given");
    cli_join(&c);
    ck_assert_int_eq(c.rc, -1);
    srv_close(&s);
}
END_TEST

START_TEST(test_data_both_ways_identical)
{
    struct br_tls_conf conf;
    conf_default(&conf);
    struct srv s;
    srv_open(&s, &conf, 0);
    const size_t n = 3 * 1024 * 1024 + 12345;
    struct cli c = {.n_out = n, .n_in = n};
    cli_start(&c);
    ck_assert_int_eq(srv_handshake(&s), 0);
    srv_expect_pattern(&s, n);
    /* odd chunk sizes: records of every size up to the maximum */
    srv_send_pattern(&s, n, 7919);
    cli_join(&c);
    ck_assert_msg(c.rc == 0, "client: %d %s", c.rc, c.err);
    srv_close(&s);
}
END_TEST

/* Walks the TLS records in [p, p+n): count of application-data records and the largest. */
static int count_records(const uint8_t *p, size_t n, size_t *largest)
{
    int count = 0;
    size_t off = 0;
    *largest = 0;
    while (off + 5 <= n) {
        ck_assert_int_eq(p[off], 0x17); /* application_data (TLS 1.3 outer type too) */
        ck_assert_int_eq(p[off + 1], 0x03);
        size_t len = ((size_t)p[off + 3] << 8) | p[off + 4];
        ck_assert_msg(len <= BR_TLS_RECORD_MAX + 256, "record of %zu bytes", len);
        if (len > *largest)
            *largest = len;
        off += 5 + len;
        count++;
    }
    ck_assert_uint_eq(off, n);
    return count;
}

static void record_boundaries(int versions)
{
    struct br_tls_conf conf;
    conf_default(&conf);
    struct srv s;
    srv_open(&s, &conf, 0);
    const size_t total = 16384 + 16384 + 1 + 65536;
    struct cli c = {.versions = versions, .n_in = total};
    cli_start(&c);
    ck_assert_int_eq(srv_handshake(&s), 0);
    ck_assert_int_eq(flush_tx(&s), 0);

    uint8_t *buf = malloc(total);
    pattern(buf, total, 2, 0);
    size_t n, largest;
    /* exactly one full record */
    ck_assert_int_eq(br_tls_write(s.t, buf, 16384), 16384);
    const uint8_t *p = br_tls_tx_data(s.t, &n);
    ck_assert_int_eq(count_records(p, n, &largest), 1);
    ck_assert_uint_gt(largest, 16384);
    ck_assert_int_eq(flush_tx(&s), 0);
    /* one byte more than a record: one record taken, the byte left for the next call */
    ck_assert_int_eq(br_tls_write(s.t, buf + 16384, 16385), 16384);
    ck_assert_int_eq(br_tls_write(s.t, buf + 32768, 1), 1);
    p = br_tls_tx_data(s.t, &n);
    ck_assert_int_eq(count_records(p, n, &largest), 2);
    /* fill tx without flushing: a record that does not fit whole is refused, not split */
    size_t off = 32769;
    int recs = 2;
    for (;;) {
        size_t room = br_tls_tx_room(s.t);
        ssize_t w = br_tls_write(s.t, buf + off, total - off < 16384 ? total - off : 16384);
        if (w == -EAGAIN) {
            ck_assert_uint_lt(room, 16384 + BR_TLS_RECORD_OVERHEAD);
            break;
        }
        ck_assert_int_gt(w, 0);
        off += (size_t)w;
        recs++;
        if (off == total)
            break;
    }
    p = br_tls_tx_data(s.t, &n);
    ck_assert_int_eq(count_records(p, n, &largest), recs);
    ck_assert_int_eq(srv_write_all(&s, buf + off, total - off, 16384), 0);
    cli_join(&c);
    ck_assert_msg(c.rc == 0, "client: %d %s", c.rc, c.err);
    free(buf);
    srv_close(&s);
}

START_TEST(test_record_boundaries_tls13) { record_boundaries(13); }
END_TEST

START_TEST(test_record_boundaries_tls12) { record_boundaries(12); }
END_TEST

START_TEST(test_large_transfer_no_buffer_allocation)
{
    struct br_tls_conf conf;
    conf_default(&conf);
    struct srv s;
    srv_open(&s, &conf, 0);
    const size_t n = 48u * 1024 * 1024;
    const size_t n_up = 8u * 1024 * 1024;
    struct cli c = {.n_out = n_up, .n_in = n};
    cli_start(&c);
    ck_assert_int_eq(srv_handshake(&s), 0);
    /* warm up: the first application record may set up OpenSSL's buffers */
    uint8_t *buf = malloc(1 << 20), *exp = malloc(1 << 20);
    ck_assert_int_eq(srv_read_exact(&s, buf, 1000), 0);
    pattern(exp, 1000, 1, 0);
    ck_assert(memcmp(buf, exp, 1000) == 0);
    count_start();
    for (size_t off = 1000; off < n_up;) {
        size_t k = n_up - off < (1 << 20) ? n_up - off : (1 << 20);
        ck_assert_int_eq(srv_read_exact(&s, buf, k), 0);
        count_stop();
        pattern(exp, k, 1, off);
        ck_assert_msg(memcmp(buf, exp, k) == 0, "upload differs near %zu", off);
        count_start();
        off += k;
    }
    for (size_t off = 0; off < n;) {
        size_t k = n - off < (1 << 20) ? n - off : (1 << 20);
        count_stop();
        pattern(buf, k, 2, off);
        count_start();
        ck_assert_int_eq(srv_write_all(&s, buf, k, BR_TLS_RECORD_MAX), 0);
        off += k;
    }
    count_stop();
    /* No buffer is allocated while data moves: the engine's buffers and OpenSSL's record
     * buffers were sized at set-up. (OpenSSL 3.0's record writer does malloc a 40-byte
     * WPACKET sub-packet header now and then, freed at once; nothing larger is allowed.) */
    ck_assert_msg(atomic_load(&g_alloc_max) <= 64,
                  "%zu OpenSSL allocations while moving data, the largest %zu bytes",
                  atomic_load(&g_alloc_count), atomic_load(&g_alloc_max));
    ck_assert_msg(atomic_load(&g_alloc_count) < (n + n_up) / BR_TLS_RECORD_MAX,
                  "%zu allocations for %zu records", atomic_load(&g_alloc_count),
                  (n + n_up) / BR_TLS_RECORD_MAX);
    cli_join(&c);
    ck_assert_msg(c.rc == 0, "client: %d %s", c.rc, c.err);
    free(buf);
    free(exp);
    srv_close(&s);
}
END_TEST

static void client_auth(const char *mode, const char *cert, int versions, int expect_rc)
{
    struct br_tls_conf conf;
    conf_default(&conf);
    char err[256];
    ck_assert_int_eq(br_tls_conf_set(&conf, "ssl.client.auth", mode, err, sizeof(err)), 0);
    struct srv s;
    srv_open(&s, &conf, 0);
    struct cli c = {.cert = cert, .versions = versions, .probe_read = expect_rc != 0};
    if (expect_rc == 0)
        c.n_out = c.n_in = 4096;
    cli_start(&c);
    int rc = srv_handshake(&s);
    ck_assert_msg(rc == expect_rc, "%s/%s: handshake %d (%s), wanted %d", mode,
                  cert ? cert : "no cert", rc, br_tls_error(s.t), expect_rc);
    char subj[256];
    if (rc == 0) {
        br_tls_peer_subject(s.t, subj, sizeof(subj));
        if (cert)
            ck_assert_msg(strstr(subj, "splicelog-client") != NULL, "subject '%s'", subj);
        else
            ck_assert_str_eq(subj, "");
        srv_expect_pattern(&s, 4096);
        srv_send_pattern(&s, 4096, BR_TLS_RECORD_MAX);
    } else {
        ck_assert_msg(strstr(br_tls_error(s.t), "certificate") != NULL, "reason '%s'",
                      br_tls_error(s.t));
        shutdown(s.fd, SHUT_RDWR);
    }
    cli_join(&c);
    if (expect_rc == 0)
        ck_assert_msg(c.rc == 0, "client: %d %s", c.rc, c.err);
    else
        ck_assert_msg(c.rc == -1, "refused client saw %d", c.rc);
    srv_close(&s);
}

START_TEST(test_client_auth_required_signed) { client_auth("required", "client", 0, 0); }
END_TEST

START_TEST(test_client_auth_required_none_refused)
{
    client_auth("required", NULL, 13, -EACCES);
    client_auth("required", NULL, 12, -EACCES);
}
END_TEST

START_TEST(test_client_auth_required_unsigned_refused)
{
    client_auth("required", "rogue", 13, -EACCES);
    client_auth("required", "rogue", 12, -EACCES);
}
END_TEST

START_TEST(test_client_auth_requested)
{
    client_auth("requested", NULL, 0, 0);
    client_auth("requested", "client", 0, 0);
    client_auth("requested", "rogue", 0, -EACCES);
}
END_TEST

/* Feeds bytes to a fresh session's handshake; returns its result. */
static int feed_garbage(const uint8_t *p, size_t n, bool eof, char *why, size_t whylen)
{
    struct br_tls_conf conf;
    conf_default(&conf);
    struct br_tls_ctx *ctx;
    char err[256];
    ck_assert_int_eq(br_tls_ctx_new(&conf, false, &ctx, err, sizeof(err)), 0);
    struct br_tls *t;
    ck_assert_int_eq(br_tls_new(ctx, 0, &t), 0);
    count_start();
    int rc = -EAGAIN;
    size_t off = 0;
    while (rc == -EAGAIN && off < n) {
        size_t room;
        uint8_t *dst = br_tls_rx_space(t, &room);
        size_t k = n - off < room ? n - off : room;
        memcpy(dst, p + off, k);
        br_tls_rx_commit(t, k);
        off += k;
        rc = br_tls_handshake(t);
    }
    if (rc == -EAGAIN && eof) {
        br_tls_rx_eof(t);
        rc = br_tls_handshake(t);
    }
    count_stop();
    snprintf(why, whylen, "%s", br_tls_error(t));
    size_t txn;
    br_tls_tx_data(t, &txn);
    ck_assert_uint_lt(txn, 64); /* at most an alert goes back */
    br_tls_free(t);
    br_tls_ctx_free(ctx);
    return rc;
}

START_TEST(test_garbage_plaintext_kafka_request)
{
    /* ApiVersions v3 as kcat sends it: size, api key 18, version 3, corr, client id, body */
    static const uint8_t req[] = {0x00, 0x00, 0x00, 0x23, 0x00, 0x12, 0x00, 0x03, 0x00, 0x00,
                                  0x00, 0x01, 0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',
                                  'a',  0x00, 0x0b, 'l',  'i',  'b',  'r',  'd',  'k',  'a',
                                  'f',  'k',  'a',  0x06, '2',  '.',  '0',  '.',  '2',  0x00};
    ck_assert(!br_tls_sniff(req, sizeof(req)));
    char why[256];
    int rc = feed_garbage(req, sizeof(req), false, why, sizeof(why));
    ck_assert_int_eq(rc, -EPROTO);
    ck_assert_msg(strstr(why, "not a TLS client") != NULL || strlen(why) > 0, "why '%s'", why);
    ck_assert_msg(atomic_load(&g_alloc_max) < 64 * 1024, "allocated %zu bytes at once",
                  atomic_load(&g_alloc_max));
}
END_TEST

START_TEST(test_garbage_forged_record_length)
{
    /* a handshake record claiming 65535 bytes, then noise */
    uint8_t buf[4096];
    pattern(buf, sizeof(buf), 7, 0);
    buf[0] = 0x16;
    buf[1] = 0x03;
    buf[2] = 0x01;
    buf[3] = 0xff;
    buf[4] = 0xff;
    ck_assert(br_tls_sniff(buf, sizeof(buf)));
    char why[256];
    int rc = feed_garbage(buf, sizeof(buf), true, why, sizeof(why));
    ck_assert_msg(rc == -EPROTO || rc == -ECONNRESET, "rc %d (%s)", rc, why);
    ck_assert_msg(atomic_load(&g_alloc_max) < 64 * 1024, "allocated %zu bytes at once",
                  atomic_load(&g_alloc_max));
    /* pure noise */
    pattern(buf, sizeof(buf), 9, 0);
    rc = feed_garbage(buf, sizeof(buf), true, why, sizeof(why));
    ck_assert_msg(rc == -EPROTO || rc == -ECONNRESET, "rc %d (%s)", rc, why);
}
END_TEST

/* A real ClientHello, captured from a non-blocking client over a socketpair. */
static size_t client_hello(uint8_t *buf, size_t cap)
{
    int p[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    SSL_CTX *ctx = tb_tls_client_ctx(g_dir, NULL, 0);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, p[0]);
    ck_assert_int_eq(SSL_connect(ssl), -1); /* wants to read the ServerHello */
    ssize_t n = recv(p[1], buf, cap, 0);
    ck_assert_int_gt(n, 100);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    close(p[0]);
    close(p[1]);
    return (size_t)n;
}

START_TEST(test_stalled_handshake)
{
    uint8_t hello[4096];
    size_t n = client_hello(hello, sizeof(hello));
    ck_assert(br_tls_sniff(hello, n));
    struct br_tls_conf conf;
    conf_default(&conf);
    struct br_tls_ctx *ctx;
    char err[256];
    ck_assert_int_eq(br_tls_ctx_new(&conf, false, &ctx, err, sizeof(err)), 0);
    struct br_tls *t;
    ck_assert_int_eq(br_tls_new(ctx, 0, &t), 0);
    /* half a ClientHello: the engine waits, says nothing, holds no error */
    size_t room;
    uint8_t *dst = br_tls_rx_space(t, &room);
    memcpy(dst, hello, n / 2);
    br_tls_rx_commit(t, n / 2);
    size_t peeked;
    const uint8_t *peek = br_tls_rx_peek(t, &peeked); /* before the engine consumes it */
    ck_assert_uint_eq(peeked, n / 2);
    ck_assert(br_tls_sniff(peek, peeked));
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(br_tls_handshake(t), -EAGAIN);
    size_t txn;
    br_tls_tx_data(t, &txn);
    ck_assert_uint_eq(txn, 0);
    ck_assert(!br_tls_established(t));
    /* the peer goes away: reported as a reset mid-handshake */
    br_tls_rx_eof(t);
    ck_assert_int_eq(br_tls_handshake(t), -ECONNRESET);
    ck_assert_msg(strstr(br_tls_error(t), "handshake") != NULL, "'%s'", br_tls_error(t));
    br_tls_free(t);

    /* the whole ClientHello gets a ServerHello flight */
    ck_assert_int_eq(br_tls_new(ctx, 0, &t), 0);
    dst = br_tls_rx_space(t, &room);
    memcpy(dst, hello, n);
    br_tls_rx_commit(t, n);
    ck_assert_int_eq(br_tls_handshake(t), -EAGAIN);
    const uint8_t *out = br_tls_tx_data(t, &txn);
    ck_assert_uint_gt(txn, 100);
    ck_assert_int_eq(out[0], 0x16);
    br_tls_free(t);
    br_tls_ctx_free(ctx);
}
END_TEST

START_TEST(test_disconnect_mid_record)
{
    struct br_tls_conf conf;
    conf_default(&conf);
    struct srv s;
    srv_open(&s, &conf, 0);
    struct cli c = {.n_out = 1000};
    cli_start(&c);
    ck_assert_int_eq(srv_handshake(&s), 0);
    uint8_t buf[1000];
    ck_assert_int_eq(srv_read_exact(&s, buf, 1000), 0);
    cli_join(&c);
    /* a record cut in half, then EOF: the read fails cleanly, nothing is delivered */
    static const uint8_t half[] = {0x17, 0x03, 0x03, 0x40, 0x00, 1, 2, 3, 4, 5, 6, 7, 8};
    size_t room;
    uint8_t *dst = br_tls_rx_space(s.t, &room);
    memcpy(dst, half, sizeof(half));
    br_tls_rx_commit(s.t, sizeof(half));
    ck_assert_int_eq(br_tls_read(s.t, buf, sizeof(buf)), -EAGAIN);
    br_tls_rx_eof(s.t);
    ssize_t r = br_tls_read(s.t, buf, sizeof(buf));
    ck_assert_msg(r == -ECONNRESET, "read %zd (%s)", r, br_tls_error(s.t));
    ck_assert_msg(strstr(br_tls_error(s.t), "without close_notify") != NULL, "'%s'",
                  br_tls_error(s.t));
    srv_close(&s);
}
END_TEST

/* A server flight bigger than tx (a long certificate chain): the handshake stops for room in
 * tx, says so (br_tls_input_blocked), and finishes once tx drained, without new input. */
START_TEST(test_handshake_flight_larger_than_tx)
{
    char chain[700], p[600];
    snprintf(chain, sizeof(chain), "%s/long-chain.pem", g_dir);
    FILE *out = fopen(chain, "w");
    ck_assert_ptr_nonnull(out);
    char buf[8192];
    for (int i = 0; i < 90; i++) {
        FILE *in = fopen(tb_cert_path(p, sizeof(p), g_dir, i == 0 ? "server.pem" : "ca.pem"), "r");
        ck_assert_ptr_nonnull(in);
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
            ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
        fclose(in);
    }
    fclose(out);
    struct br_tls_conf conf;
    conf_default(&conf);
    char err[256];
    ck_assert_int_eq(br_tls_conf_set(&conf, "ssl.certificate.location", chain, err, sizeof(err)),
                     0);
    struct srv s;
    srv_open(&s, &conf, 1); /* the smallest tx: two records */
    struct cli c = {.n_out = 5000, .n_in = 5000};
    cli_start(&c);
    g_blocked_steps = 0;
    int rc = srv_handshake(&s);
    ck_assert_msg(rc == 0, "handshake: %d %s", rc, br_tls_error(s.t));
    ck_assert_int_gt(g_blocked_steps, 0);
    srv_expect_pattern(&s, 5000);
    srv_send_pattern(&s, 5000, BR_TLS_RECORD_MAX);
    cli_join(&c);
    ck_assert_msg(c.rc == 0, "client: %d %s", c.rc, c.err);
    srv_close(&s);
    unlink(chain);
}
END_TEST

START_TEST(test_close_notify_reads_zero)
{
    struct br_tls_conf conf;
    conf_default(&conf);
    struct srv s;
    srv_open(&s, &conf, 0);
    struct cli c = {.n_out = 10};
    cli_start(&c);
    ck_assert_int_eq(srv_handshake(&s), 0);
    uint8_t buf[64];
    ck_assert_int_eq(srv_read_exact(&s, buf, 10), 0);
    cli_join(&c); /* tb_tls_close frees without close_notify; SHUT_WR follows */
    ssize_t r;
    while ((r = br_tls_read(s.t, buf, sizeof(buf))) == -EAGAIN)
        ck_assert_int_ge(fill_rx(&s, 10000), 0);
    ck_assert_msg(r == 0 || r == -ECONNRESET, "read %zd", r);
    srv_close(&s);
}
END_TEST

START_TEST(test_conf_keys)
{
    struct br_tls_conf c;
    char err[256];
    br_tls_conf_init(&c);
    ck_assert_uint_eq(c.versions, BR_TLS_V12 | BR_TLS_V13);
    ck_assert_int_eq(c.client_auth, BR_TLS_AUTH_NONE);
    ck_assert_int_eq(br_tls_conf_set(&c, "listeners", "x", err, sizeof(err)), -ENOENT);
    ck_assert_int_eq(br_tls_conf_set(&c, "ssl.client.auth", "maybe", err, sizeof(err)), -EINVAL);
    ck_assert(strstr(err, "ssl.client.auth") != NULL);
    ck_assert_int_eq(br_tls_conf_set(&c, "ssl.client.auth", "required", err, sizeof(err)), 0);
    ck_assert_int_eq(c.client_auth, BR_TLS_AUTH_REQUIRED);
    ck_assert_int_eq(br_tls_conf_set(&c, "ssl.protocols", "TLSv1.1", err, sizeof(err)), -EINVAL);
    ck_assert(strstr(err, "ssl.protocols") != NULL);
    ck_assert_int_eq(br_tls_conf_set(&c, "ssl.protocols", "TLSv1.2,SSLv3", err, sizeof(err)),
                     -EINVAL);
    ck_assert_int_eq(br_tls_conf_set(&c, "ssl.protocols", "", err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(br_tls_conf_set(&c, "ssl.protocols", "TLSv1.3", err, sizeof(err)), 0);
    ck_assert_uint_eq(c.versions, BR_TLS_V13);
    ck_assert_int_eq(
        br_tls_conf_set(&c, "ssl.enabled.protocols", "TLSv1.2, TLSv1.3", err, sizeof(err)), 0);
    ck_assert_uint_eq(c.versions, BR_TLS_V12 | BR_TLS_V13);
    ck_assert_int_eq(c.handshake_timeout_ms, 10000);
    ck_assert_int_eq(br_tls_conf_set(&c, "ssl.handshake.timeout.ms", "250", err, sizeof(err)), 0);
    ck_assert_int_eq(c.handshake_timeout_ms, 250);
    ck_assert_int_eq(br_tls_conf_set(&c, "ssl.handshake.timeout.ms", "-1", err, sizeof(err)),
                     -EINVAL);
    ck_assert(strstr(err, "ssl.handshake.timeout.ms") != NULL);
    ck_assert_int_eq(br_tls_conf_set(&c, "ssl.handshake.timeout.ms", "1s", err, sizeof(err)),
                     -EINVAL);
    ck_assert(c.ktls); /* on by default: used where the kernel has it */
    ck_assert_int_eq(br_tls_conf_set(&c, "ssl.ktls.enable", "yes", err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(br_tls_conf_set(&c, "ssl.ktls.enable", "true", err, sizeof(err)), 0);
    ck_assert(c.ktls);
    ck_assert_int_eq(br_tls_conf_set(&c, "ssl.ktls.enable", "false", err, sizeof(err)), 0);
    ck_assert(!c.ktls);
    char longv[2000];
    memset(longv, 'a', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = 0;
    ck_assert_int_eq(br_tls_conf_set(&c, "ssl.ca.location", longv, err, sizeof(err)), -EINVAL);
    ck_assert(strstr(err, "ssl.ca.location") != NULL);
}
END_TEST

static void expect_ctx_error(const struct br_tls_conf *conf, const char *key)
{
    struct br_tls_ctx *ctx = NULL;
    char err[512] = "";
    int rc = br_tls_ctx_new(conf, false, &ctx, err, sizeof(err));
    ck_assert_msg(rc == -EINVAL, "rc %d for %s", rc, key);
    ck_assert(ctx == NULL);
    ck_assert_msg(strncmp(err, key, strlen(key)) == 0, "error '%s' does not name %s", err, key);
}

START_TEST(test_ctx_errors_name_the_key)
{
    struct br_tls_conf c;
    char err[256], p[1024];
    conf_default(&c);
    br_tls_conf_set(&c, "ssl.certificate.location", "/nonexistent/cert.pem", err, sizeof(err));
    expect_ctx_error(&c, "ssl.certificate.location");

    conf_default(&c);
    c.certificate[0] = 0;
    expect_ctx_error(&c, "ssl.certificate.location");

    conf_default(&c);
    br_tls_conf_set(&c, "ssl.key.location", "/nonexistent/key.pem", err, sizeof(err));
    expect_ctx_error(&c, "ssl.key.location");

    conf_default(&c); /* a key of another certificate */
    br_tls_conf_set(&c, "ssl.key.location", tb_cert_path(p, sizeof(p), g_dir, "rogue.key"), err,
                    sizeof(err));
    expect_ctx_error(&c, "ssl.key.location");

    conf_default(&c); /* an encrypted key without / with a wrong / with the right password */
    br_tls_conf_set(&c, "ssl.key.location", tb_cert_path(p, sizeof(p), g_dir, "server-enc.key"),
                    err, sizeof(err));
    expect_ctx_error(&c, "ssl.key.password");
    br_tls_conf_set(&c, "ssl.key.password", "wrong", err, sizeof(err));
    expect_ctx_error(&c, "ssl.key.password");
    br_tls_conf_set(&c, "ssl.key.password", "splicelog-test-pass", err, sizeof(err));
    struct br_tls_ctx *ctx = NULL;
    ck_assert_msg(br_tls_ctx_new(&c, false, &ctx, err, sizeof(err)) == 0, "%s", err);
    br_tls_ctx_free(ctx);

    conf_default(&c);
    br_tls_conf_set(&c, "ssl.cipher.suites", "NOT-A-CIPHER", err, sizeof(err));
    expect_ctx_error(&c, "ssl.cipher.suites");
    br_tls_conf_set(&c, "ssl.cipher.suites", "TLS_NOT_A_SUITE", err, sizeof(err));
    expect_ctx_error(&c, "ssl.cipher.suites");

    conf_default(&c);
    c.ca[0] = 0;
    br_tls_conf_set(&c, "ssl.client.auth", "required", err, sizeof(err));
    expect_ctx_error(&c, "ssl.ca.location");
    br_tls_conf_set(&c, "ssl.ca.location", "/nonexistent/ca.pem", err, sizeof(err));
    expect_ctx_error(&c, "ssl.ca.location");
}
END_TEST

START_TEST(test_cipher_suites_honoured)
{
    struct br_tls_conf conf;
    conf_default(&conf);
    char err[256];
    ck_assert_int_eq(br_tls_conf_set(&conf, "ssl.cipher.suites",
                                     "TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256",
                                     err, sizeof(err)),
                     0);
    for (int v = 12; v <= 13; v++) {
        struct srv s;
        srv_open(&s, &conf, 0);
        struct cli c = {.versions = v, .n_out = 100};
        cli_start(&c);
        ck_assert_int_eq(srv_handshake(&s), 0);
        uint8_t buf[100];
        ck_assert_int_eq(srv_read_exact(&s, buf, 100), 0);
        char d[128];
        br_tls_describe(s.t, d, sizeof(d));
        ck_assert_msg(strstr(d, v == 13 ? "TLS_CHACHA20_POLY1305_SHA256"
                                        : "ECDHE-ECDSA-AES128-GCM-SHA256") != NULL,
                      "negotiated %s", d);
        cli_join(&c);
        srv_close(&s);
    }
}
END_TEST

START_TEST(test_sniff)
{
    uint8_t hello[4096];
    size_t n = client_hello(hello, sizeof(hello));
    ck_assert(br_tls_sniff(hello, n));
    ck_assert(!br_tls_sniff(hello, 2));
    /* as a Kafka size prefix, a ClientHello claims over 350 MB */
    uint32_t size = ((uint32_t)hello[0] << 24) | ((uint32_t)hello[1] << 16) |
                    ((uint32_t)hello[2] << 8) | hello[3];
    ck_assert_uint_gt(size, 350u * 1000 * 1000);
    static const uint8_t kafka[] = {0x00, 0x00, 0x00, 0x23, 0x00, 0x12};
    ck_assert(!br_tls_sniff(kafka, sizeof(kafka)));
}
END_TEST

/* ---- kernel TLS ------------------------------------------------------------------------- */

START_TEST(test_ktls_probe_reports)
{
    char msg[256] = "";
    bool ok = br_ktls_probe(msg, sizeof(msg));
    ck_assert_msg(strlen(msg) > 10, "probe said nothing");
    if (ok)
        ck_assert_msg(strstr(msg, "available") != NULL, "'%s'", msg);
    else
        ck_assert_msg(strstr(msg, "kernel TLS unavailable") != NULL, "'%s'", msg);
    fprintf(stderr, "kTLS probe: %s\n", msg);
    /* a memory-mode session never uses the kernel */
    struct br_tls_conf conf;
    conf_default(&conf);
    struct br_tls_ctx *ctx;
    char err[256];
    ck_assert_int_eq(br_tls_ctx_new(&conf, ok, &ctx, err, sizeof(err)), 0);
    struct br_tls *t;
    ck_assert_int_eq(br_tls_new(ctx, 0, &t), 0);
    ck_assert(!br_ktls_send_active(t));
    ck_assert_int_eq(br_ktls_sendfile(t, 0, 0, 10), -EOPNOTSUPP);
    br_tls_free(t);
    br_tls_ctx_free(ctx);
}
END_TEST

/* Where the kernel has TLS: a socket-mode session over TCP, file range by SSL_sendfile. */
START_TEST(test_ktls_sendfile_where_available)
{
    char msg[256];
    if (!br_ktls_probe(msg, sizeof(msg))) {
        fprintf(stderr, "skipped: %s\n", msg);
        return;
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(ls, 1), 0);
    ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int sfd = accept(ls, NULL, NULL);
    ck_assert_int_ge(sfd, 0);
    close(ls);
    fcntl(sfd, F_SETFL, fcntl(sfd, F_GETFL) | O_NONBLOCK);

    const size_t n = 4u * 1024 * 1024 + 333;
    char path[600];
    snprintf(path, sizeof(path), "%s/ktls.data", g_dir);
    int ffd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(ffd, 0);
    uint8_t *buf = malloc(n);
    pattern(buf, n, 2, 0);
    ck_assert_int_eq(write(ffd, buf, n), (ssize_t)n);
    free(buf);

    struct br_tls_conf conf;
    conf_default(&conf);
    struct br_tls_ctx *ctx;
    char err[256];
    ck_assert_int_eq(br_tls_ctx_new(&conf, true, &ctx, err, sizeof(err)), 0);
    struct br_tls *t;
    ck_assert_int_eq(br_tls_new_socket(ctx, sfd, &t), 0);
    sv[0] = -1;
    sv[1] = cfd;
    struct cli c = {.n_in = n};
    cli_start(&c);
    int rc;
    while ((rc = br_tls_handshake(t)) == -EAGAIN) {
        struct pollfd pf = {.fd = sfd, .events = br_tls_want(t)};
        ck_assert_int_eq(poll(&pf, 1, 10000), 1);
    }
    ck_assert_msg(rc == 0, "handshake %d %s", rc, br_tls_error(t));
    if (!br_ktls_send_active(t)) {
        fprintf(stderr, "kTLS send not active for this cipher; skipped sendfile\n");
        shutdown(sfd, SHUT_RDWR);
    } else {
        off_t off = 0;
        while ((size_t)off < n) {
            ssize_t w = br_ktls_sendfile(t, ffd, off, n - (size_t)off);
            if (w == -EAGAIN) {
                struct pollfd pf = {.fd = sfd, .events = POLLOUT};
                ck_assert_int_eq(poll(&pf, 1, 10000), 1);
                continue;
            }
            ck_assert_msg(w > 0, "sendfile %zd %s", w, br_tls_error(t));
            off += w;
        }
    }
    cli_join(&c);
    if (br_ktls_send_active(t))
        ck_assert_msg(c.rc == 0, "client: %d %s", c.rc, c.err);
    br_tls_free(t);
    br_tls_ctx_free(ctx);
    close(sfd);
    close(cfd);
    close(ffd);
    unlink(path);
}
END_TEST

/* A socket-mode session (how kernel-TLS listeners start) whose keys the kernel did not take
 * (an AF_UNIX socket never has TLS offload) moves to memory mode after the handshake and
 * carries on there: both directions byte-identical across the switch, TLS 1.2 and 1.3. */
static void socket_then_memory(int versions)
{
    struct srv s = {0};
    struct br_tls_conf conf;
    conf_default(&conf);
    char err[256] = "";
    ck_assert_msg(br_tls_ctx_new(&conf, true, &s.ctx, err, sizeof(err)) == 0, "ctx: %s", err);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s.fd = sv[0];
    fcntl(s.fd, F_SETFL, fcntl(s.fd, F_GETFL) | O_NONBLOCK);
    ck_assert_int_eq(br_tls_new_socket(s.ctx, s.fd, &s.t), 0);
    ck_assert(br_tls_socket_mode(s.t));
    struct cli c = {.versions = versions, .n_out = 300000, .n_in = 700001};
    cli_start(&c);
    int rc;
    int rounds = 0;
    while ((rc = br_tls_handshake(s.t)) == -EAGAIN && rounds++ < 1000) {
        struct pollfd pf = {.fd = s.fd, .events = br_tls_want(s.t)};
        ck_assert_int_eq(poll(&pf, 1, 10000), 1);
    }
    ck_assert_msg(rc == 0, "handshake %d %s", rc, br_tls_error(s.t));
    ck_assert(!br_ktls_send_active(s.t));
    ck_assert(!br_ktls_recv_active(s.t));
    ck_assert_int_eq(br_tls_to_memory(s.t, 0), 0);
    ck_assert(!br_tls_socket_mode(s.t));
    ck_assert_int_eq(br_tls_to_memory(s.t, 0), 0); /* already there: nothing to do */
    srv_expect_pattern(&s, c.n_out);
    srv_send_pattern(&s, c.n_in, 100000);
    cli_join(&c);
    ck_assert_msg(c.rc == 0, "client: %d %s", c.rc, c.err);
    ck_assert_str_eq(c.version, versions == 12 ? "TLSv1.2" : "TLSv1.3");
    srv_close(&s);
}

START_TEST(test_socket_mode_to_memory_tls13) { socket_then_memory(13); }
END_TEST

START_TEST(test_socket_mode_to_memory_tls12) { socket_then_memory(12); }
END_TEST

/* ---- suite ---------------------------------------------------------------------------- */

static Suite *suite(void)
{
    Suite *s = suite_create("br_tls");
    TCase *tc = tcase_create("engine");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_conf_keys);
    tcase_add_test(tc, test_ctx_errors_name_the_key);
    tcase_add_test(tc, test_handshake_tls13);
    tcase_add_test(tc, test_handshake_tls12);
    tcase_add_test(tc, test_protocol_mismatch_refused);
    tcase_add_test(tc, test_cipher_suites_honoured);
    tcase_add_test(tc, test_data_both_ways_identical);
    tcase_add_test(tc, test_record_boundaries_tls13);
    tcase_add_test(tc, test_record_boundaries_tls12);
    tcase_add_test(tc, test_large_transfer_no_buffer_allocation);
    tcase_add_test(tc, test_client_auth_required_signed);
    tcase_add_test(tc, test_client_auth_required_none_refused);
    tcase_add_test(tc, test_client_auth_required_unsigned_refused);
    tcase_add_test(tc, test_client_auth_requested);
    tcase_add_test(tc, test_garbage_plaintext_kafka_request);
    tcase_add_test(tc, test_garbage_forged_record_length);
    tcase_add_test(tc, test_stalled_handshake);
    tcase_add_test(tc, test_disconnect_mid_record);
    tcase_add_test(tc, test_close_notify_reads_zero);
    tcase_add_test(tc, test_handshake_flight_larger_than_tx);
    tcase_add_test(tc, test_sniff);
    tcase_add_test(tc, test_ktls_probe_reports);
    tcase_add_test(tc, test_ktls_sendfile_where_available);
    tcase_add_test(tc, test_socket_mode_to_memory_tls13);
    tcase_add_test(tc, test_socket_mode_to_memory_tls12);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* before OpenSSL allocates anything */
    if (!CRYPTO_set_mem_functions(cm_malloc, cm_realloc, cm_free))
        fprintf(stderr, "warning: OpenSSL allocations cannot be counted\n");
    sv[1] = -1;
    int rc = tb_certs_make(g_dir, sizeof(g_dir));
    if (rc < 0) {
        fprintf(stderr, "cannot generate test certificates: %s\n", strerror(-rc));
        return 1;
    }
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tb_certs_cleanup(g_dir);
    return failed ? 1 : 0;
}
