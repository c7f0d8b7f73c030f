/*
 * bench_tls — consumer throughput over an SSL listener against the plaintext copy and
 * zero-copy (splice) paths, in one run on one machine (issue 5's benchmark).
 *
 *   build/bench_tls [--size BYTES] [--record-size N] [--runs N] [--fetch-bytes N]
 *                   [--broker PATH] [--json FILE]
 *
 * What it does:
 *  1. Generates a CA and a server certificate with tests/support/tb_certs.sh (openssl CLI).
 *  2. Preload: starts the broker (release build) with listeners PLAINTEXT and SSL, produces
 *     --size bytes of --record-size records over plaintext, stops it.
 *  3. For splice, copy (plaintext, fetch.transfer=PATH) and tls (the SSL listener, whose path
 *     is tls-copy): restarts the broker on the same data and consumes the whole partition
 *     --runs times with one fetch in flight, decrypting every byte on the TLS path. Reports
 *     median MB/s, broker CPU seconds per GiB (/proc/PID/stat), client CPU seconds per GiB,
 *     and TLS's throughput as a fraction of copy's.
 * The client decrypts on the same 2 cores the broker encrypts on, as a real consumer would.
 * Loopback only; a temporary directory under $TMPDIR, removed at the end. Not a test.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "kp_api.h"
#include "kp_batch.h"
#include "kp_msg.h"

#define TOPIC    "bench"
#define MAX_RUNS 15
#define RESP_CAP (64u << 20)

struct opts {
    long long size;
    int record_size;
    int runs;
    int fetch_bytes;
    const char *broker;
    const char *json;
    const char *root;
};

static char g_dir[512];
static char g_certs[600];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "bench_tls: %s: %s\n", what, strerror(err < 0 ? -err : err));
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double tmp[MAX_RUNS];
    memcpy(tmp, v, sizeof(double) * (size_t)n);
    qsort(tmp, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    unsigned long long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- a connection: plain socket or TLS ------------------------------------------------------ */

struct link {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

static int link_send(struct link *l, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        if (l->ssl) {
            size_t n = 0;
            if (SSL_write_ex(l->ssl, p, len, &n) != 1)
                return -EIO;
            p += n;
            len -= n;
            continue;
        }
        ssize_t n = send(l->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int link_recv(struct link *l, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        if (l->ssl) {
            size_t n = 0;
            if (SSL_read_ex(l->ssl, p, len, &n) != 1)
                return -EIO;
            p += n;
            len -= n;
            continue;
        }
        ssize_t n = recv(l->fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -ECONNRESET;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static long link_frame(struct link *l, uint8_t *buf, size_t cap)
{
    uint8_t sz[4];
    int rc = link_recv(l, sz, 4);
    if (rc)
        return rc;
    int32_t n = (int32_t)kp_load_be32(sz);
    if (n < 4 || (size_t)n > cap)
        return -EMSGSIZE;
    rc = link_recv(l, buf, (size_t)n);
    return rc ? rc : n;
}

static void link_open(struct link *l, int port, bool tls)
{
    memset(l, 0, sizeof(*l));
    l->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l->fd < 0 || connect(l->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("connect", errno);
    int one = 1;
    setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (!tls)
        return;
    char ca[700];
    snprintf(ca, sizeof(ca), "%s/ca.pem", g_certs);
    l->ctx = SSL_CTX_new(TLS_client_method());
    if (!l->ctx || SSL_CTX_load_verify_locations(l->ctx, ca, NULL) != 1)
        die("client TLS context", EINVAL);
    SSL_CTX_set_verify(l->ctx, SSL_VERIFY_PEER, NULL);
    l->ssl = SSL_new(l->ctx);
    SSL_set_fd(l->ssl, l->fd);
    if (SSL_connect(l->ssl) != 1)
        die("TLS handshake", EPROTO);
}

static void link_close(struct link *l)
{
    if (l->ssl)
        SSL_free(l->ssl);
    if (l->ctx)
        SSL_CTX_free(l->ctx);
    close(l->fd);
}

/* ---- broker process ----------------------------------------------------------------------- */

struct broker {
    pid_t pid;
    int port, ssl_port;
};

static void broker_start(struct broker *b, const struct opts *o, const char *xfer)
{
    char data[600], portf[600], logf[600], xo[64], cert[700], key[700];
    snprintf(data, sizeof(data), "%s/data", g_dir);
    snprintf(portf, sizeof(portf), "%s/port", g_dir);
    snprintf(logf, sizeof(logf), "%s/broker-%s.log", g_dir, xfer);
    snprintf(xo, sizeof(xo), "fetch.transfer=%s", xfer);
    snprintf(cert, sizeof(cert), "ssl.certificate.location=%s/server.pem", g_certs);
    snprintf(key, sizeof(key), "ssl.key.location=%s/server.key", g_certs);
    unlink(portf);
    pid_t pid = fork();
    if (pid == 0) {
        int lfd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (lfd >= 0) {
            dup2(lfd, 2);
            dup2(lfd, 1);
        }
        execl(o->broker, o->broker, "--data-dir", data, "--port-file", portf, "-o",
              "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0", "-o", cert, "-o", key, "-o",
              xo, "-o", "log.segment.bytes=268435456", (char *)NULL);
        _exit(127);
    }
    b->pid = pid;
    for (int i = 0; i < 400; i++) { /* 20 s */
        FILE *f = fopen(portf, "r");
        if (f) {
            char name[32];
            int p, ok = fscanf(f, "%d", &b->port) == 1;
            b->ssl_port = 0;
            while (ok && fscanf(f, "%31s %d", name, &p) == 2)
                if (strcmp(name, "SSL") == 0)
                    b->ssl_port = p;
            fclose(f);
            if (ok && b->ssl_port)
                return;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            fprintf(stderr, "bench_tls: broker exited; see %s\n", logf);
            exit(1);
        }
        usleep(50000);
    }
    die("broker did not start", ETIMEDOUT);
}

static void broker_stop(struct broker *b)
{
    kill(b->pid, SIGTERM);
    waitpid(b->pid, NULL, 0);
    b->pid = 0;
}

static size_t req_begin(struct kp_wr *wr, int16_t key, int16_t ver, int32_t corr)
{
    size_t pos = kp_frame_begin(wr);
    struct kp_req_hdr h = {key, ver, corr, kp_str_of("bench_tls")};
    kp_req_hdr_encode(wr, &h);
    return pos;
}

static long long preload(int port, const struct opts *o)
{
    struct link l;
    link_open(&l, port, false);
    static uint8_t req[1 << 20], resp[1 << 20];
    struct kp_wr wr;
    kp_wr_init(&wr, req, sizeof(req));
    size_t pos = req_begin(&wr, KP_API_METADATA, 4, 1);
    struct kp_str topics[1] = {kp_str_of(TOPIC)};
    struct kp_metadata_req mreq = {0};
    mreq.n_topics = 1;
    mreq.topics = topics;
    mreq.allow_auto_topic_creation = true;
    if (kp_metadata_req_encode(&wr, 4, &mreq) || kp_frame_end(&wr, pos) ||
        link_send(&l, req, kp_wr_len(&wr)) || link_frame(&l, resp, sizeof(resp)) < 0)
        die("metadata", EPROTO);
    const size_t batch_target = 64 << 10;
    const int per_batch = (int)(batch_target / (size_t)(o->record_size + 16)) + 1;
    uint8_t *value = malloc((size_t)o->record_size);
    uint8_t *batch = malloc(batch_target + 4096);
    for (int i = 0; i < o->record_size; i++)
        value[i] = (uint8_t)('a' + i % 26);
    long long bytes = 0, records = 0;
    int inflight = 0, corr = 2;
    while (bytes < o->size || inflight) {
        if (bytes < o->size && inflight < 8) {
            struct kp_batch_builder b;
            kp_batch_begin(&b, batch, batch_target + 4096, 1700000000000LL);
            int n = 0;
            for (; n < per_batch && bytes < o->size; n++) {
                if (kp_batch_add(&b, 1700000000000LL, KP_BYTES_NULL,
                                 (struct kp_bytes){value, o->record_size}, NULL, 0))
                    break;
                bytes += o->record_size;
            }
            long len = kp_batch_finish(&b);
            if (len <= 0)
                die("batch", (int)len);
            records += n;
            struct kp_produce_req_partition part = {0, {batch, (int32_t)len}};
            struct kp_produce_req_topic t = {kp_str_of(TOPIC), 1, &part};
            struct kp_produce_req preq = {KP_STR_NULL, 1, 30000, 1, &t};
            kp_wr_init(&wr, req, sizeof(req));
            pos = req_begin(&wr, KP_API_PRODUCE, 7, corr++);
            if (kp_produce_req_encode(&wr, 7, &preq) || kp_frame_end(&wr, pos) ||
                link_send(&l, req, kp_wr_len(&wr)))
                die("produce", EPROTO);
            inflight++;
            continue;
        }
        if (link_frame(&l, resp, sizeof(resp)) < 0)
            die("produce response", EPROTO);
        inflight--;
    }
    free(value);
    free(batch);
    link_close(&l);
    return records;
}

/* Consumes the partition from offset 0 to the end; bytes of records received. */
static long long consume(int port, bool tls, const struct opts *o, uint8_t *resp,
                         long long *records_out)
{
    struct link l;
    link_open(&l, port, tls);
    uint8_t req[512];
    int64_t offset = 0;
    long long bytes = 0, records = 0;
    static uint8_t arena_mem[1 << 16];
    for (int32_t corr = 1;; corr++) {
        struct kp_wr wr;
        kp_wr_init(&wr, req, sizeof(req));
        size_t pos = req_begin(&wr, KP_API_FETCH, 11, corr);
        struct kp_fetch_req_partition p = {0, -1, offset, -1, o->fetch_bytes};
        struct kp_fetch_req_topic t = {kp_str_of(TOPIC), 1, &p};
        struct kp_fetch_req f = {0};
        f.replica_id = -1;
        f.max_wait_ms = 100;
        f.min_bytes = 1;
        f.max_bytes = 50 << 20;
        f.session_epoch = -1;
        f.n_topics = 1;
        f.topics = &t;
        f.rack_id = kp_str_of("");
        if (kp_fetch_req_encode(&wr, 11, &f) || kp_frame_end(&wr, pos) ||
            link_send(&l, req, kp_wr_len(&wr)))
            die("fetch request", EPROTO);
        long n = link_frame(&l, resp, RESP_CAP);
        if (n < 0)
            die("fetch response", (int)n);
        struct kp_rd rd;
        kp_rd_init(&rd, resp, (size_t)n);
        struct kp_arena arena;
        kp_arena_init(&arena, arena_mem, sizeof(arena_mem));
        int32_t c;
        struct kp_fetch_resp fr;
        if (kp_resp_hdr_decode(&rd, KP_API_FETCH, 11, &c) || c != corr ||
            kp_fetch_resp_decode(&rd, 11, &arena, &fr) || fr.n_topics != 1 ||
            fr.topics[0].n_partitions != 1)
            die("fetch decode", EPROTO);
        const struct kp_fetch_resp_partition *rp = &fr.topics[0].partitions[0];
        if (rp->error_code)
            die("fetch partition error", EPROTO);
        const uint8_t *r = rp->records.ptr;
        size_t left = rp->records.len > 0 ? (size_t)rp->records.len : 0;
        bytes += (long long)left;
        while (left >= KP_BATCH_HEADER_LEN) {
            struct kp_batch_hdr h;
            if (kp_batch_parse_hdr(r, left, &h) || kp_batch_size(&h) > left)
                break;
            offset = h.base_offset + h.last_offset_delta + 1;
            records += h.record_count;
            r += kp_batch_size(&h);
            left -= kp_batch_size(&h);
        }
        if (offset >= rp->high_watermark)
            break;
    }
    link_close(&l);
    *records_out = records;
    return bytes;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: bench_tls [--size BYTES] [--record-size N] [--runs N] "
                    "[--fetch-bytes N] [--broker PATH] [--json FILE]\n");
    exit(2);
}

static long long parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        usage();
    if (*end == 'K' || *end == 'k')
        v *= 1024;
    else if (*end == 'M' || *end == 'm')
        v *= 1024 * 1024;
    else if (*end == 'G' || *end == 'g')
        v *= 1024.0 * 1024 * 1024;
    else if (*end)
        usage();
    return (long long)v;
}

static int run(const char *cmd)
{
    int rc = system(cmd);
    return rc == 0 ? 0 : -EIO;
}

struct result {
    const char *name;
    double mb_s[MAX_RUNS], broker_cpu[MAX_RUNS], client_cpu[MAX_RUNS];
    int n;
    long long records;
};

int main(int argc, char **argv)
{
    struct opts o = {512LL << 20, 1024, 3, 1 << 20, "build/splicelogd", NULL, NULL};
    static const struct option lo[] = {{"size", 1, 0, 's'},   {"record-size", 1, 0, 'r'},
                                       {"runs", 1, 0, 'n'},   {"fetch-bytes", 1, 0, 'f'},
                                       {"broker", 1, 0, 'b'}, {"json", 1, 0, 'j'},
                                       {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 's':
            o.size = parse_size(optarg);
            break;
        case 'r':
            o.record_size = (int)parse_size(optarg);
            break;
        case 'n':
            o.runs = atoi(optarg);
            break;
        case 'f':
            o.fetch_bytes = (int)parse_size(optarg);
            break;
        case 'b':
            o.broker = optarg;
            break;
        case 'j':
            o.json = optarg;
            break;
        default:
            usage();
        }
    }
    if (o.runs < 1 || o.runs > MAX_RUNS || o.record_size < 1 || o.record_size > (1 << 20) ||
        o.fetch_bytes < 1024 || optind != argc)
        usage();
    signal(SIGPIPE, SIG_IGN);
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/bench_tls.XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir))
        die("mkdtemp", errno);
    snprintf(g_certs, sizeof(g_certs), "%s/certs", g_dir);
    const char *root = getenv("SPLICELOG_ROOT");
    char cmd[1400];
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/support/tb_certs.sh' '%s'", root ? root : ".",
             g_certs);
    if (run(cmd) < 0)
        die("tests/support/tb_certs.sh", EIO);

    struct broker b;
    broker_start(&b, &o, "splice");
    long long produced = preload(b.port, &o);
    broker_stop(&b);
    fprintf(stderr, "preloaded %lld records (%lld MiB)\n", produced, o.size >> 20);

    static const struct {
        const char *name, *xfer;
        bool tls;
    } paths[] = {{"splice", "splice", false}, {"copy", "copy", false}, {"tls", "copy", true}};
    struct result res[3];
    uint8_t *resp = malloc(RESP_CAP);
    for (int pi = 0; pi < 3; pi++) {
        struct result *r = &res[pi];
        memset(r, 0, sizeof(*r));
        r->name = paths[pi].name;
        broker_start(&b, &o, paths[pi].xfer);
        int port = paths[pi].tls ? b.ssl_port : b.port;
        long long recs;
        consume(port, paths[pi].tls, &o, resp, &recs); /* warm-up */
        for (int i = 0; i < o.runs; i++) {
            double c0 = self_cpu_s(), b0 = proc_cpu_s(b.pid), t0 = now_s();
            long long bytes = consume(port, paths[pi].tls, &o, resp, &recs);
            double dt = now_s() - t0;
            double gib = (double)bytes / (1024.0 * 1024 * 1024);
            r->mb_s[i] = (double)bytes / dt / 1e6;
            r->broker_cpu[i] = (proc_cpu_s(b.pid) - b0) / gib;
            r->client_cpu[i] = (self_cpu_s() - c0) / gib;
            r->records = recs;
            r->n++;
        }
        broker_stop(&b);
        if (r->records != produced)
            fprintf(stderr, "WARNING: %s consumed %lld records, produced %lld\n", r->name,
                    r->records, produced);
    }
    free(resp);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (run(cmd) < 0)
        fprintf(stderr, "bench_tls: could not remove %s\n", g_dir);

    double copy_mb = median(res[1].mb_s, res[1].n);
    printf("consumer throughput: %lld MiB of %d-byte records, %d runs (median), fetch %d "
           "bytes/partition\n",
           o.size >> 20, o.record_size, o.runs, o.fetch_bytes);
    printf("%-8s %10s %10s %18s %18s\n", "path", "MB/s", "vs copy", "broker cpu s/GiB",
           "client cpu s/GiB");
    for (int i = 0; i < 3; i++)
        printf("%-8s %10.0f %10.2f %18.3f %18.3f\n", res[i].name, median(res[i].mb_s, res[i].n),
               median(res[i].mb_s, res[i].n) / copy_mb, median(res[i].broker_cpu, res[i].n),
               median(res[i].client_cpu, res[i].n));
    if (o.json) {
        FILE *f = fopen(o.json, "w");
        if (!f)
            die(o.json, errno);
        fprintf(f, "{\"size\": %lld, \"record_size\": %d, \"runs\": %d, \"paths\": [", o.size,
                o.record_size, o.runs);
        for (int i = 0; i < 3; i++)
            fprintf(f,
                    "%s{\"path\": \"%s\", \"mb_per_s\": %.1f, \"ratio_to_copy\": %.3f, "
                    "\"broker_cpu_s_per_gib\": %.4f, \"client_cpu_s_per_gib\": %.4f}",
                    i ? ", " : "", res[i].name, median(res[i].mb_s, res[i].n),
                    median(res[i].mb_s, res[i].n) / copy_mb, median(res[i].broker_cpu, res[i].n),
                    median(res[i].client_cpu, res[i].n));
        fprintf(f, "]}\n");
        fclose(f);
    }
    return 0;
}
