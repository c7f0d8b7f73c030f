/*
 * test_client_tls — libsplicelog with security.protocol=ssl against a real splicelogd.
 *
 * The TLS front is the broker's own SSL listener (listeners=PLAINTEXT://...,SSL://... with
 * the ssl.* keys, ssl.client.auth=none|required); the connection-cut test alone puts socat
 * (OPENSSL-LISTEN ... TCP:<broker's plaintext port>) in front of the broker, so that the TLS
 * connection can be cut and restored from outside. Certificates come from
 * tests/support/tb_certs.sh at run time.
 *
 * - 10,000 records (keys, headers, values of varied size, some larger than the client's
 *   256 KiB receive buffer) produced and consumed back identical over TLS.
 * - Wrong CA: the producer's first record is reported failed by message.timeout.ms (not a
 *   hang), the error callback (SL_ERR__SSL) and the log callback carry OpenSSL's verify
 *   reason; the consumer's assign fails with SL_ERR__TRANSPORT within request.timeout.ms.
 * - Client certificate required by the front: with the CA-signed client certificate the round
 *   trip works; without one, and with a self-signed one, the client gets a transport error
 *   and a logged reason.
 * - A TLS client on the broker's plaintext port: a handshake error, not a hang; a listener
 *   that never answers the ClientHello: the record fails after request.timeout.ms.
 * - The TLS connection cut mid-production (socat killed) and back: reconnect, no SIGPIPE.
 * - Bad files (CA missing, encrypted key with a wrong password) fail the handle's creation
 *   with the reason in errstr.
 * LeakSanitizer covers every test (the suite is built with ASan).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_tls.h"
#include "splicelog.h"
#include "../support/tb_check.h"

#define FAST(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_assert_msg(0, "failed: %s", #cond);                                                 \
    } while (0)

static struct tb_broker B;
static char certs[256];
static pid_t socat_pid; /* 0 when the front is the broker's own listener */
static int tls_port;    /* where TLS clients connect */
static char bootstrap[64];
static char logbuf[8192]; /* every log line the library sent to log_cb */

static char errbuf[8192]; /* every error the library sent to error_cb: "NAME|reason" lines */

static void log_cb(void *opaque, int level, const char *fac, const char *msg)
{
    (void)opaque;
    size_t len = strlen(logbuf);
    snprintf(logbuf + len, sizeof(logbuf) - len, "%d|%s|%s\n", level, fac, msg);
}

static void error_cb(void *opaque, sl_err err, const char *reason)
{
    (void)opaque;
    size_t len = strlen(errbuf);
    snprintf(errbuf + len, sizeof(errbuf) - len, "%s|%s\n", sl_err2name(err), reason);
}

/* The last delivery report's error (tests producing one record). */
static sl_err last_dr_err;
static void last_dr(sl_producer *p, const sl_delivery *dr, void *opaque)
{
    (void)p;
    (void)opaque;
    last_dr_err = dr->err;
}

static const char *cert(const char *name)
{
    static char buf[4][512];
    static int next;
    char *b = buf[next++ % 4];
    return tb_cert_path(b, sizeof(buf[0]), certs, name);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static bool can_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* socat in its own process group (its forked children die with it), killed with the test. */
static pid_t spawn_socat(int port, int broker_port)
{
    char listen[2048], target[64], logp[512];
    snprintf(listen, sizeof(listen),
             "OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s,key=%s,verify=0", port,
             cert("server.pem"), cert("server.key"));
    snprintf(target, sizeof(target), "TCP:127.0.0.1:%d", broker_port);
    snprintf(logp, sizeof(logp), "%s/socat.log", certs);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp("socat", "socat", "-d", listen, target, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    return pid;
}

static void wait_listening(int port)
{
    bool up = false;
    for (int i = 0; i < 500 && !up; i++) {
        up = can_connect(port);
        if (!up)
            usleep(20 * 1000);
    }
    ck_assert_msg(up, "nothing listens on %d", port);
}

/*
 * The broker with its own SSL listener (and a plaintext one). client_auth: the listener
 * requires a client certificate signed by ca.pem (ssl.client.auth=required).
 */
static void start_front(bool client_auth)
{
    char a_cert[600], a_key[600], a_ca[600];
    snprintf(a_cert, sizeof(a_cert), "ssl.certificate.location=%s", cert("server.pem"));
    snprintf(a_key, sizeof(a_key), "ssl.key.location=%s", cert("server.key"));
    snprintf(a_ca, sizeof(a_ca), "ssl.ca.location=%s", cert("ca.pem"));
    const char *const own[] = {
        "-o", "num.partitions=1",
        "-o", "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
        "-o", a_cert,
        "-o", a_key,
        "-o", a_ca,
        "-o", client_auth ? "ssl.client.auth=required" : "ssl.client.auth=none",
        NULL};
    memset(&B, 0, sizeof(B));
    int rc = tb_broker_start(&B, own);
    ck_assert_msg(rc == 0, "broker start with an SSL listener: %s (binary %s)", strerror(-rc),
                  tb_broker_binary());
    tls_port = tb_listener_port(&B, "SSL");
    ck_assert_msg(tls_port > 0, "no SSL listener in the broker's port file");
    socat_pid = 0;
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", tls_port);
}

/*
 * The broker (plaintext) behind socat terminating TLS, the broker advertising socat's port so
 * that metadata sends the client back through TLS. Used where the test needs to cut the TLS
 * connection from outside the broker.
 */
static void start_socat_front(void)
{
    memset(&B, 0, sizeof(B));
    tls_port = free_port();
    char adv[128];
    snprintf(adv, sizeof(adv), "advertised.listeners=PLAINTEXT://127.0.0.1:%d", tls_port);
    const char *const viasocat[] = {"-o", "num.partitions=1", "-o", adv, NULL};
    int rc = tb_broker_start(&B, viasocat);
    ck_assert_msg(rc == 0, "broker start: %s (binary %s)", strerror(-rc), tb_broker_binary());
    socat_pid = spawn_socat(tls_port, B.port);
    wait_listening(tls_port);
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", tls_port);
}

static void setup(void)
{
    logbuf[0] = 0;
    int rc = tb_certs_make(certs, sizeof(certs));
    ck_assert_msg(rc == 0, "tb_certs_make: %s", strerror(-rc));
}

static void teardown(void)
{
    if (socat_pid > 0) {
        kill(-socat_pid, SIGKILL);
        waitpid(socat_pid, NULL, 0);
        socat_pid = 0;
    }
    tb_broker_cleanup(&B);
    tb_certs_cleanup(certs);
}

static sl_conf *tls_conf(const char *ca, const char *client_cert, const char *client_key)
{
    sl_conf *c = sl_conf_new();
    char err[512];
    ck_assert_int_eq(sl_conf_set(c, "bootstrap.servers", bootstrap, err, sizeof(err)), 0);
    ck_assert_int_eq(sl_conf_set(c, "security.protocol", "ssl", err, sizeof(err)), 0);
    if (ca)
        ck_assert_int_eq(sl_conf_set(c, "ssl.ca.location", ca, err, sizeof(err)), 0);
    if (client_cert) {
        ck_assert_int_eq(sl_conf_set(c, "ssl.certificate.location", client_cert, err, 512), 0);
        ck_assert_int_eq(sl_conf_set(c, "ssl.key.location", client_key, err, 512), 0);
    }
    sl_conf_set_log_cb(c, log_cb);
    sl_conf_set_error_cb(c, error_cb);
    return c;
}

/* ---- round trip ------------------------------------------------------------------------ */

struct dr_state {
    long delivered;
    long failed;
    int64_t last_offset;
    bool order_ok;
    sl_err first_err;
};

static void dr_cb(sl_producer *p, const sl_delivery *dr, void *opaque)
{
    (void)p;
    struct dr_state *s = opaque;
    if (dr->err) {
        if (!s->failed)
            s->first_err = dr->err;
        s->failed++;
        return;
    }
    if (dr->offset <= s->last_offset)
        s->order_ok = false;
    s->last_offset = dr->offset;
    s->delivered++;
}

/* Deterministic record i: key "k<i>", value of varied length (a few up to 300 KiB). */
static size_t value_len(long i)
{
    if (i % 2500 == 7)
        return 300 * 1024; /* bigger than the client's receive buffer: the big-frame path */
    return (size_t)(1 + (i * 7919) % 1500);
}
static void fill_value(uint8_t *v, size_t len, long i)
{
    uint32_t x = (uint32_t)i * 2654435761u + 1;
    for (size_t k = 0; k < len; k++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v[k] = (uint8_t)x;
    }
}

static void produce_n(sl_conf *conf, const char *topic, long n)
{
    struct dr_state s = {.last_offset = -1, .order_ok = true};
    sl_conf_set_delivery_cb(conf, dr_cb);
    sl_conf_set_opaque(conf, &s);
    char err[512] = "";
    sl_producer *p = sl_producer_new(conf, err, sizeof(err));
    ck_assert_msg(p != NULL, "producer: %s", err);
    uint8_t *v = malloc(300 * 1024);
    ck_assert_ptr_nonnull(v);
    for (long i = 0; i < n; i++) {
        char key[32];
        int kl = snprintf(key, sizeof(key), "k%ld", i);
        size_t vl = value_len(i);
        fill_value(v, vl, i);
        sl_header h = {"idx", 3, key, (size_t)kl};
        sl_err e;
        while ((e = sl_produce(p, topic, 0, key, (size_t)kl, v, vl, &h, 1, 0, NULL)) ==
               SL_ERR__QUEUE_FULL)
            sl_poll(p, 10);
        if (e != SL_ERR_NO_ERROR)
            ck_abort_msg("produce %ld: %s (log: %s)", i, sl_err2str(e), logbuf);
        sl_poll(p, 0);
    }
    ck_assert_int_eq(sl_flush(p, 60000), SL_ERR_NO_ERROR);
    sl_stats st;
    sl_producer_stats(p, &st);
    sl_producer_free(p);
    free(v);
    ck_assert_msg(s.failed == 0, "%ld failed, first: %s (log: %s)", s.failed,
                  sl_err2str(s.first_err), logbuf);
    ck_assert_int_eq(s.delivered, n);
    ck_assert(s.order_ok);
    ck_assert_uint_ge(st.connects, 1);
}

static void consume_check(sl_conf *conf, const char *topic, long n)
{
    char err[512] = "";
    sl_consumer *k = sl_consumer_new(conf, err, sizeof(err));
    ck_assert_msg(k != NULL, "consumer: %s", err);
    ck_assert_int_eq(sl_consumer_assign(k, topic, 0, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    uint8_t *v = malloc(300 * 1024);
    ck_assert_ptr_nonnull(v);
    long got = 0;
    int idle = 0;
    while (got < n && idle < 100) {
        sl_record r;
        sl_err e = sl_consumer_poll(k, 200, &r);
        if (e == SL_ERR__TIMED_OUT) {
            idle++;
            continue;
        }
        if (e != SL_ERR_NO_ERROR)
            ck_abort_msg("consume at %ld: %s (log: %s)", got, sl_err2str(e), logbuf);
        idle = 0;
        FAST(r.offset == got);
        char key[32];
        int kl = snprintf(key, sizeof(key), "k%ld", got);
        FAST(r.key_len == (size_t)kl && memcmp(r.key, key, (size_t)kl) == 0);
        size_t vl = value_len(got);
        fill_value(v, vl, got);
        FAST(r.value_len == vl && memcmp(r.value, v, vl) == 0);
        FAST(r.header_count == 1);
        sl_header h;
        FAST(sl_record_header(&r, 0, &h) == SL_ERR_NO_ERROR);
        FAST(h.key_len == 3 && memcmp(h.key, "idx", 3) == 0);
        FAST(h.value_len == (size_t)kl && memcmp(h.value, key, (size_t)kl) == 0);
        got++;
    }
    free(v);
    sl_stats st;
    sl_consumer_stats(k, &st);
    sl_consumer_free(k);
    ck_assert_int_eq(got, n);
    ck_assert_uint_ge(st.connects, 1);
}

START_TEST(test_tls_roundtrip_10k)
{
    start_front(false);
    produce_n(tls_conf(cert("ca.pem"), NULL, NULL), "tls", 10000);
    consume_check(tls_conf(cert("ca.pem"), NULL, NULL), "tls", 10000);
    ck_assert_str_eq(logbuf, "");
}
END_TEST

/* ---- failures -------------------------------------------------------------------------- */

/*
 * The producer's first record is queued (sl_produce does not wait) and reported failed by
 * message.timeout.ms; the error callback gets SL_ERR__SSL with the reason, which is logged too.
 */
static void expect_refused(sl_conf *conf, const char *reason)
{
    /* An upper bound only: the refusal normally arrives within milliseconds, but connect +
     * handshake + the first request share this budget and an ASan broker on a loaded machine
     * can take seconds; a timeout here would be reported instead of the refusal. */
    sl_conf_set(conf, "request.timeout.ms", "10000", NULL, 0);
    sl_conf_set(conf, "message.timeout.ms", "3000", NULL, 0);
    sl_conf_set_delivery_cb(conf, last_dr);
    sl_conf *cc = sl_conf_dup(conf);
    char err[512] = "";
    errbuf[0] = 0;
    sl_producer *p = sl_producer_new(conf, err, sizeof(err));
    ck_assert_msg(p != NULL, "producer: %s", err);
    sl_err e = sl_produce(p, "refused", 0, NULL, 0, "v", 1, NULL, 0, 0, NULL);
    ck_assert_msg(e == SL_ERR_NO_ERROR, "produce: %s (log: %s)", sl_err2str(e), logbuf);
    last_dr_err = SL_ERR_NO_ERROR;
    ck_assert_int_eq(sl_flush(p, 20000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(last_dr_err, SL_ERR__MSG_TIMED_OUT);
    ck_assert_uint_eq(sl_outq_len(p), 0);
    sl_producer_free(p);
    ck_assert_msg(strstr(logbuf, "3|SSL|") && strstr(logbuf, reason), "log: %s", logbuf);
    ck_assert_msg(strstr(errbuf, "_SSL|") && strstr(errbuf, reason), "errors: %s", errbuf);

    logbuf[0] = 0;
    sl_consumer *k = sl_consumer_new(cc, err, sizeof(err));
    ck_assert_msg(k != NULL, "consumer: %s", err);
    e = sl_consumer_assign(k, "refused", 0, SL_OFFSET_BEGINNING);
    ck_assert_msg(e == SL_ERR__TRANSPORT, "assign: %s (log: %s)", sl_err2str(e), logbuf);
    sl_consumer_free(k);
    ck_assert_msg(strstr(logbuf, reason), "log: %s", logbuf);
    if (getenv("TB_VERBOSE"))
        fprintf(stderr, "logged: %s", logbuf);
}

START_TEST(test_tls_wrong_ca)
{
    start_front(false);
    expect_refused(tls_conf(cert("other-ca.pem"), NULL, NULL), "certificate verify failed");
}
END_TEST

START_TEST(test_tls_client_auth_required)
{
    start_front(true);
    /* With the CA-signed client certificate: works. */
    produce_n(tls_conf(cert("ca.pem"), cert("client.pem"), cert("client.key")), "auth", 300);
    consume_check(tls_conf(cert("ca.pem"), cert("client.pem"), cert("client.key")), "auth", 300);
    ck_assert_str_eq(logbuf, "");
    /* Without one: refused (TLS 1.3: the client learns it from the alert after its Finished). */
    expect_refused(tls_conf(cert("ca.pem"), NULL, NULL), "certificate required");
    /* With a self-signed one nobody vouches for: refused as well. */
    logbuf[0] = 0;
    expect_refused(tls_conf(cert("ca.pem"), cert("rogue.pem"), cert("rogue.key")), "unknown ca");
}
END_TEST

/*
 * The TLS connection cut mid-production (socat killed with its per-connection children) and
 * the front back on the same port: no SIGPIPE, every record reported once, none reported
 * delivered that is not in the log, and the producer reconnects (a second TLS handshake).
 * Always through socat: what is tested is the client's reconnect, not a listener.
 */
struct cut_state {
    long reports;
    long delivered;
    long dup_reports;
    uint8_t *seen; /* per record: reported */
    int64_t *offset;
};

static void cut_dr(sl_producer *p, const sl_delivery *dr, void *opaque)
{
    (void)p;
    struct cut_state *s = opaque;
    long i = (long)(intptr_t)dr->msg_opaque;
    s->reports++;
    if (s->seen[i]++)
        s->dup_reports++;
    if (!dr->err) {
        s->delivered++;
        s->offset[i] = dr->offset;
    }
}

START_TEST(test_tls_connection_cut_and_reconnect)
{
    enum { N = 4000 };
    start_socat_front();
    struct cut_state s = {.seen = calloc(N, 1), .offset = calloc(N, sizeof(int64_t))};
    for (long i = 0; i < N; i++)
        s.offset[i] = -1; /* not delivered */
    sl_conf *conf = tls_conf(cert("ca.pem"), NULL, NULL);
    sl_conf_set(conf, "linger.ms", "1", NULL, 0);
    sl_conf_set(conf, "request.timeout.ms", "5000", NULL, 0);
    sl_conf_set_delivery_cb(conf, cut_dr);
    sl_conf_set_opaque(conf, &s);
    char err[512] = "";
    sl_producer *p = sl_producer_new(conf, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    for (long i = 0; i < N; i++) {
        char v[64];
        int vl = snprintf(v, sizeof(v), "cut-%ld", i);
        if (i == N / 2) {
            /* the cut must find a connection to cut: on a slow machine (the kernel-TLS VM
             * emulates its CPU) the first TLS handshake can outlast the first half, and the
             * producer would then connect once, after the cut */
            for (int w = 0; w < 6000 && s.reports == 0; w++)
                sl_poll(p, 10);
            ck_assert_msg(s.reports > 0, "no delivery report within 60 s before the cut");
            kill(-socat_pid, SIGKILL); /* the parent and the child carrying our connection */
            waitpid(socat_pid, NULL, 0);
            socat_pid = spawn_socat(tls_port, B.port);
            wait_listening(tls_port);
        }
        sl_err e;
        while ((e = sl_produce(p, "cut", 0, NULL, 0, v, (size_t)vl, NULL, 0, 0,
                               (void *)(intptr_t)i)) == SL_ERR__QUEUE_FULL)
            sl_poll(p, 10);
        ck_assert_msg(e == SL_ERR_NO_ERROR, "produce %ld: %s", i, sl_err2str(e));
        sl_poll(p, 0);
        if (i % 64 == 0)
            usleep(1000); /* spread the records over time so that some are in flight at the cut */
    }
    ck_assert_int_eq(sl_flush(p, 60000), SL_ERR_NO_ERROR);
    sl_stats st;
    sl_producer_stats(p, &st);
    sl_producer_free(p);
    if (getenv("TB_VERBOSE"))
        fprintf(stderr, "cut: delivered %ld of %d, connects %llu, disconnects %llu, retries %llu\n",
                s.delivered, N, (unsigned long long)st.connects, (unsigned long long)st.disconnects,
                (unsigned long long)st.retries);
    ck_assert_int_eq(s.reports, N);
    ck_assert_int_eq(s.dup_reports, 0);
    ck_assert_uint_ge(st.connects, 2);
    ck_assert_int_gt(s.delivered, N / 2);
    /* A connection that closes is not a TLS error: nothing logged as one. */
    ck_assert_msg(strstr(logbuf, "3|SSL|") == NULL, "log: %s", logbuf);

    /* Every record reported delivered is in the log at its offset. */
    sl_consumer *k = sl_consumer_new(tls_conf(cert("ca.pem"), NULL, NULL), err, sizeof(err));
    ck_assert_msg(k != NULL, "%s", err);
    ck_assert_int_eq(sl_consumer_assign(k, "cut", 0, SL_OFFSET_BEGINNING), 0);
    int64_t hw = -1;
    for (long i = 0; i < N; i++)
        if (s.offset[i] > hw)
            hw = s.offset[i];
    char **at = calloc((size_t)hw + 1, sizeof(char *));
    int idle = 0;
    int64_t next = 0;
    while (next <= hw && idle < 100) {
        sl_record r;
        sl_err e = sl_consumer_poll(k, 200, &r);
        if (e == SL_ERR__TIMED_OUT) {
            idle++;
            continue;
        }
        ck_assert_msg(e == SL_ERR_NO_ERROR, "%s", sl_err2str(e));
        idle = 0;
        FAST(r.offset <= hw);
        at[r.offset] = strndup(r.value, r.value_len);
        next = r.offset + 1;
    }
    sl_consumer_free(k);
    ck_assert_int_gt(next, hw);
    for (long i = 0; i < N; i++) {
        if (s.offset[i] < 0)
            continue;
        char v[64];
        snprintf(v, sizeof(v), "cut-%ld", i);
        FAST(at[s.offset[i]] && strcmp(at[s.offset[i]], v) == 0);
    }
    for (int64_t o = 0; o <= hw; o++)
        free(at[o]);
    free(at);
    free(s.seen);
    free(s.offset);
}
END_TEST

START_TEST(test_tls_client_on_plaintext_port)
{
    start_front(false);
    /* The broker's plaintext listener reads the ClientHello as a Kafka frame size. */
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", B.port);
    expect_refused(tls_conf(cert("ca.pem"), NULL, NULL), "SSL");
}
END_TEST

START_TEST(test_tls_handshake_stall_times_out)
{
    /* A listener that never answers the ClientHello (nobody accepts; the backlog holds the
     * connection): the handshake is bounded by request.timeout.ms, the record fails. */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(lfd, 16), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", ntohs(a.sin_port));
    sl_conf *c = tls_conf(cert("ca.pem"), NULL, NULL);
    sl_conf_set(c, "request.timeout.ms", "1000", NULL, 0);
    sl_conf_set(c, "message.timeout.ms", "2500", NULL, 0);
    sl_conf_set_delivery_cb(c, last_dr);
    char err[512] = "";
    errbuf[0] = 0;
    sl_producer *p = sl_producer_new(c, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    sl_err e = sl_produce(p, "stall", 0, NULL, 0, "v", 1, NULL, 0, 0, NULL);
    ck_assert_msg(e == SL_ERR_NO_ERROR, "%s", sl_err2str(e));
    last_dr_err = SL_ERR_NO_ERROR;
    ck_assert_int_eq(sl_flush(p, 20000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(last_dr_err, SL_ERR__MSG_TIMED_OUT);
    ck_assert_msg(strstr(errbuf, "_TRANSPORT|") && strstr(errbuf, "timed out"), "errors: %s",
                  errbuf);
    sl_stats st;
    sl_producer_stats(p, &st);
    ck_assert_uint_eq(st.connects, 0); /* never got past the handshake */
    sl_producer_free(p);
    close(lfd);
}
END_TEST

START_TEST(test_tls_bad_files_fail_creation)
{
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:1");
    char err[512] = "";
    sl_conf *c = tls_conf("/nonexistent/ca.pem", NULL, NULL);
    ck_assert_ptr_null(sl_producer_new(c, err, sizeof(err)));
    ck_assert_msg(strstr(err, "/nonexistent/ca.pem"), "%s", err);

    /* An encrypted key: wrong password, then the right one. */
    c = tls_conf(cert("ca.pem"), cert("server.pem"), cert("server-enc.key"));
    ck_assert_int_eq(sl_conf_set(c, "ssl.key.password", "nope", NULL, 0), 0);
    err[0] = 0;
    ck_assert_ptr_null(sl_consumer_new(c, err, sizeof(err)));
    ck_assert_msg(strstr(err, "ssl.key.location"), "%s", err);
    c = tls_conf(cert("ca.pem"), cert("server.pem"), cert("server-enc.key"));
    ck_assert_int_eq(sl_conf_set(c, "ssl.key.password", "splicelog-test-pass", NULL, 0), 0);
    sl_consumer *k = sl_consumer_new(c, err, sizeof(err));
    ck_assert_msg(k != NULL, "%s", err);
    sl_consumer_free(k);

    /* A key that is not the certificate's. */
    c = tls_conf(cert("ca.pem"), cert("client.pem"), cert("rogue.key"));
    err[0] = 0;
    ck_assert_ptr_null(sl_producer_new(c, err, sizeof(err)));
    ck_assert_msg(strstr(err, "does not match"), "%s", err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("client_tls");
    TCase *t = tcase_create("tls");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 240);
    tcase_add_test(t, test_tls_roundtrip_10k);
    tcase_add_test(t, test_tls_wrong_ca);
    tcase_add_test(t, test_tls_client_auth_required);
    tcase_add_test(t, test_tls_client_on_plaintext_port);
    tcase_add_test(t, test_tls_connection_cut_and_reconnect);
    tcase_add_test(t, test_tls_bad_files_fail_creation);
    tcase_add_test(t, test_tls_handshake_stall_times_out);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
