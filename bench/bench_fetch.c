/*
 * bench_fetch — consumer throughput of splicelogd's fetch transfer paths against the loopback
 * limit, all measured in one run on one machine (issues 4 and 5). A raw fetch loop, so the
 * figures isolate the broker; `splicelog-bench compare` measures the same paths through the
 * libsplicelog consumer.
 *
 *   build/bench_fetch [--size BYTES] [--record-size N] [--runs N] [--fetch-bytes N]
 *                     [--paths splice,sendfile,copy,tls] [--broker PATH] [--json FILE]
 *
 * What it does:
 *  1. Limit: writes --size bytes to a file, reads it once (page cache), then a child process
 *     receives it over a loopback TCP connection while this process sendfile(2)s it: the
 *     fastest a byte can go from page cache to a reader on this machine. Median of --runs.
 *  2. Preload: starts the broker (release build), produces --size bytes of --record-size
 *     records (batches of about 64 KiB, acks=1, 8 requests in flight), stops it (SIGTERM).
 *  3. Per path: restarts the broker on the same data with fetch.transfer=PATH and consumes
 *     the whole partition --runs times with one fetch in flight (like librdkafka), reading
 *     every byte and discarding it. Reports median MB/s, records/s, broker CPU seconds per
 *     GiB (from /proc/PID/stat) and client CPU seconds per GiB (getrusage), and the ratio of
 *     the MB/s to the limit's.
 *  4. tls: the broker also gets an SSL listener (certificates made by tests/support/tb_certs.sh,
 *     found from $SPLICELOG_ROOT or the current directory) and the same loop runs over TLS,
 *     decrypting every byte on the same cores the broker encrypts on, as a real consumer does.
 *     TLS is also reported as a fraction of the copy path's MB/s.
 * Loopback only; a temporary directory under $TMPDIR, removed at the end.
 * Not a test: nothing is asserted. Numbers are for the README and closing notes.
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
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
    char paths[128];
    const char *broker;
    char certs[600]; /* where the TLS certificates are, when the tls path runs */
    const char *json;
};

struct result {
    const char *path;
    double mb_s[MAX_RUNS];
    double rec_s[MAX_RUNS];
    double broker_cpu[MAX_RUNS]; /* seconds per GiB */
    double client_cpu[MAX_RUNS];
    int n;
    long long bytes;
    long long records;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "bench_fetch: %s: %s\n", what, strerror(err < 0 ? -err : err));
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

/* utime + stime of a process, in seconds, from /proc/PID/stat. */
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
    char *p = strrchr(buf, ')'); /* the command name may contain spaces */
    if (!p)
        return 0;
    unsigned long long ut = 0, st = 0;
    /* fields after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A client connection: a plain socket, or TLS over it (blocking OpenSSL). */
struct link {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

static int send_all(struct link *l, const void *buf, size_t len)
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

static int recv_all(struct link *l, void *buf, size_t len)
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

/* Reads one response frame into buf (cap bytes); returns its length or -errno. */
static long recv_frame(struct link *l, uint8_t *buf, size_t cap)
{
    uint8_t sz[4];
    int rc = recv_all(l, sz, 4);
    if (rc)
        return rc;
    int32_t n = (int32_t)kp_load_be32(sz);
    if (n < 4 || (size_t)n > cap)
        return -EMSGSIZE;
    rc = recv_all(l, buf, (size_t)n);
    return rc ? rc : n;
}

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Connects to port, with a verified TLS handshake when certs is not NULL. Dies on failure. */
static void link_open(struct link *l, int port, const char *certs)
{
    memset(l, 0, sizeof(*l));
    l->fd = connect_port(port);
    if (l->fd < 0)
        die("connect", l->fd);
    if (!certs)
        return;
    char ca[700];
    snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
    l->ctx = SSL_CTX_new(TLS_client_method());
    if (!l->ctx || SSL_CTX_load_verify_locations(l->ctx, ca, NULL) != 1)
        die("client TLS context", EINVAL);
    SSL_CTX_set_verify(l->ctx, SSL_VERIFY_PEER, NULL);
    /* as libsplicelog's consumer (sl_tls.c): one recv fills several records */
    SSL_CTX_set_read_ahead(l->ctx, 1);
    SSL_CTX_set_default_read_buffer_len(l->ctx, 64 * 1024);
    l->ssl = SSL_new(l->ctx);
    if (!l->ssl || SSL_set_fd(l->ssl, l->fd) != 1 || SSL_connect(l->ssl) != 1)
        die("TLS handshake", EPROTO);
}

static void link_close(struct link *l)
{
    SSL_free(l->ssl);
    SSL_CTX_free(l->ctx);
    close(l->fd);
}

/* ---- the loopback limit: a bare sendfile between two processes ------------------------------ */

static double limit_once(const char *file, long long size)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1) ||
        getsockname(lfd, (struct sockaddr *)&a, &alen))
        die("limit listener", errno);
    int pfd[2];
    if (pipe(pfd))
        die("pipe", errno);
    pid_t pid = fork();
    if (pid == 0) { /* receiver: read and discard, report elapsed seconds */
        close(pfd[0]);
        int fd = connect_port(ntohs(a.sin_port));
        static uint8_t buf[1 << 20];
        long long got = 0;
        double t0 = now_s();
        for (;;) {
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            if (n <= 0)
                break;
            got += n;
        }
        double dt = now_s() - t0;
        if (got != size)
            dt = -1;
        if (write(pfd[1], &dt, sizeof(dt)) != sizeof(dt))
            _exit(1);
        _exit(0);
    }
    close(pfd[1]);
    int cfd = accept(lfd, NULL, NULL);
    int ffd = open(file, O_RDONLY);
    if (cfd < 0 || ffd < 0)
        die("limit accept/open", errno);
    off_t off = 0;
    while (off < size) {
        ssize_t n = sendfile(cfd, ffd, &off, (size_t)(size - off));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("sendfile", errno);
    }
    close(cfd);
    close(ffd);
    close(lfd);
    double dt = -1;
    if (read(pfd[0], &dt, sizeof(dt)) != sizeof(dt))
        dt = -1;
    close(pfd[0]);
    waitpid(pid, NULL, 0);
    return dt > 0 ? (double)size / dt / 1e6 : 0;
}

/* ---- broker process ----------------------------------------------------------------------------
 */

struct broker {
    pid_t pid;
    int port;     /* PLAINTEXT listener */
    int ssl_port; /* SSL listener, 0 without certificates */
};

/*
 * Starts the release broker on dir/data with fetch.transfer for path ("preload" and "tls" use
 * copy, the plaintext baseline). With o->certs set it also opens an SSL listener; the port file's
 * first line is the PLAINTEXT port, then one "NAME PORT" line per listener.
 */
static void broker_start(struct broker *b, const struct opts *o, const char *dir, const char *path)
{
    char data[512], portf[512], logf[512], xfer[64], cert[700], key[700];
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(portf, sizeof(portf), "%s/port", dir);
    snprintf(logf, sizeof(logf), "%s/broker-%s.log", dir, path);
    bool plain_path = strcmp(path, "preload") && strcmp(path, "tls");
    snprintf(xfer, sizeof(xfer), "fetch.transfer=%s", plain_path ? path : "copy");
    snprintf(cert, sizeof(cert), "ssl.certificate.location=%s/server.pem", o->certs);
    snprintf(key, sizeof(key), "ssl.key.location=%s/server.key", o->certs);
    const char *listeners = o->certs[0] ? "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0"
                                        : "listeners=PLAINTEXT://127.0.0.1:0";
    unlink(portf);
    pid_t pid = fork();
    if (pid == 0) {
        int lfd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (lfd >= 0) {
            dup2(lfd, 2);
            dup2(lfd, 1);
        }
        if (o->certs[0])
            execl(o->broker, o->broker, "--data-dir", data, "--port-file", portf, "-o", listeners,
                  "-o", cert, "-o", key, "-o", xfer, "-o", "log.segment.bytes=268435456",
                  (char *)NULL);
        else
            execl(o->broker, o->broker, "--data-dir", data, "--port-file", portf, "-o", listeners,
                  "-o", xfer, "-o", "log.segment.bytes=268435456", (char *)NULL);
        _exit(127);
    }
    b->pid = pid;
    for (int i = 0; i < 400; i++) { /* 20 s */
        FILE *f = fopen(portf, "r");
        if (f) {
            char name[32];
            int port, ok = fscanf(f, "%d", &b->port) == 1;
            b->ssl_port = 0;
            while (ok && fscanf(f, "%31s %d", name, &port) == 2)
                if (strcmp(name, "SSL") == 0)
                    b->ssl_port = port;
            fclose(f);
            if (ok && (b->ssl_port || !o->certs[0]))
                return;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            fprintf(stderr, "bench_fetch: broker exited; see %s\n", logf);
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

/* ---- requests ------------------------------------------------------------------------------- */

static size_t req_begin(struct kp_wr *wr, int16_t key, int16_t ver, int32_t corr)
{
    size_t pos = kp_frame_begin(wr);
    struct kp_req_hdr h = {key, ver, corr, kp_str_of("bench_fetch")};
    kp_req_hdr_encode(wr, &h);
    return pos;
}

/* Produces --size bytes; returns records produced. */
static long long preload(int port, const struct opts *o)
{
    struct link l;
    link_open(&l, port, NULL);
    /* Create the topic through Metadata auto-creation. */
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
        send_all(&l, req, kp_wr_len(&wr)) || recv_frame(&l, resp, sizeof(resp)) < 0)
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
                send_all(&l, req, kp_wr_len(&wr)))
                die("produce", EPROTO);
            inflight++;
            continue;
        }
        long n = recv_frame(&l, resp, sizeof(resp));
        if (n < 0)
            die("produce response", (int)n);
        struct kp_rd rd;
        kp_rd_init(&rd, resp, (size_t)n);
        int32_t c;
        uint8_t arena_mem[4096];
        struct kp_arena arena;
        kp_arena_init(&arena, arena_mem, sizeof(arena_mem));
        struct kp_produce_resp pr;
        if (kp_resp_hdr_decode(&rd, KP_API_PRODUCE, 7, &c) ||
            kp_produce_resp_decode(&rd, 7, &arena, &pr) || pr.n_topics != 1 ||
            pr.topics[0].n_partitions != 1 || pr.topics[0].partitions[0].error_code)
            die("produce response error", EPROTO);
        inflight--;
    }
    free(value);
    free(batch);
    link_close(&l);
    return records;
}

/* Consumes the partition from offset 0 to end; returns bytes of records received. */
static long long consume(int port, const char *certs, const struct opts *o, uint8_t *resp,
                         long long *records_out)
{
    struct link l;
    link_open(&l, port, certs);
    uint8_t req[512];
    int64_t offset = 0;
    long long bytes = 0, records = 0;
    static uint8_t arena_mem[1 << 16];
    for (int32_t corr = 1;; corr++) {
        struct kp_wr wr;
        kp_wr_init(&wr, req, sizeof(req));
        size_t pos = req_begin(&wr, KP_API_FETCH, 11, corr);
        struct kp_fetch_req_partition p = {.partition = 0,
                                           .current_leader_epoch = -1,
                                           .fetch_offset = offset,
                                           .log_start_offset = -1,
                                           .partition_max_bytes = o->fetch_bytes,
                                           .last_fetched_epoch = -1};
        struct kp_fetch_req_topic t = {
            .topic = kp_str_of(TOPIC), .n_partitions = 1, .partitions = &p};
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
            send_all(&l, req, kp_wr_len(&wr)))
            die("fetch request", EPROTO);
        long n = recv_frame(&l, resp, RESP_CAP);
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
        /* Walk batch headers to find the next offset. */
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
    fprintf(stderr, "usage: bench_fetch [--size BYTES] [--record-size N] [--runs N] "
                    "[--fetch-bytes N] [--paths splice,sendfile,copy,tls] [--broker PATH] "
                    "[--json FILE]\n");
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

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_fetch: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
    struct opts o = {.size = 1LL << 30,
                     .record_size = 1024,
                     .runs = 3,
                     .fetch_bytes = 1 << 20,
                     .paths = "splice,sendfile,copy,tls",
                     .broker = "build/splicelogd"};
    static const struct option lo[] = {{"size", 1, 0, 's'},  {"record-size", 1, 0, 'r'},
                                       {"runs", 1, 0, 'n'},  {"fetch-bytes", 1, 0, 'f'},
                                       {"paths", 1, 0, 'p'}, {"broker", 1, 0, 'b'},
                                       {"json", 1, 0, 'j'},  {0, 0, 0, 0}};
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
        case 'p':
            snprintf(o.paths, sizeof(o.paths), "%s", optarg);
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
    char dirbuf[512];
    snprintf(dirbuf, sizeof(dirbuf), "%s/bench_fetch.XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(dirbuf))
        die("mkdtemp", errno);

    /* The tls path needs certificates: made with the test suites' generator. */
    char paths_copy[sizeof(o.paths)];
    snprintf(paths_copy, sizeof(paths_copy), ",%s,", o.paths);
    if (strstr(paths_copy, ",tls,")) {
        const char *root = getenv("SPLICELOG_ROOT");
        char cmd[1400];
        snprintf(o.certs, sizeof(o.certs), "%s/certs", dirbuf);
        snprintf(cmd, sizeof(cmd), "bash '%s/tests/support/tb_certs.sh' '%s' >/dev/null",
                 root && *root ? root : ".", o.certs);
        if (system(cmd) != 0)
            die("tests/support/tb_certs.sh (run from the project root or set SPLICELOG_ROOT)", EIO);
    }

    /* 1. loopback limit */
    char file[600];
    snprintf(file, sizeof(file), "%s/limit.bin", dirbuf);
    {
        int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        static uint8_t chunk[1 << 20];
        for (size_t i = 0; i < sizeof(chunk); i++)
            chunk[i] = (uint8_t)(i * 131);
        for (long long w = 0; w < o.size; w += (long long)sizeof(chunk)) {
            size_t n = (size_t)(o.size - w < (long long)sizeof(chunk) ? o.size - w
                                                                      : (long long)sizeof(chunk));
            if (write(fd, chunk, n) != (ssize_t)n)
                die("write limit file", errno);
        }
        close(fd);
    }
    limit_once(file, o.size); /* warm-up: page cache, TCP */
    double limit[MAX_RUNS];
    for (int i = 0; i < o.runs; i++)
        limit[i] = limit_once(file, o.size);
    unlink(file);
    double limit_mb = median(limit, o.runs);
    fprintf(stderr, "limit (bare sendfile over loopback): %.0f MB/s\n", limit_mb);

    /* 2. preload */
    struct broker b;
    broker_start(&b, &o, dirbuf, "preload");
    long long produced = preload(b.port, &o);
    broker_stop(&b);
    fprintf(stderr, "preloaded %lld records\n", produced);

    /* 3. per path */
    uint8_t *resp = malloc(RESP_CAP);
    struct result res[8];
    int nres = 0;
    double copy_mb = 0, tls_mb = 0;
    char *save = NULL;
    for (char *p = strtok_r(o.paths, ",", &save); p && nres < 8; p = strtok_r(NULL, ",", &save)) {
        struct result *r = &res[nres++];
        memset(r, 0, sizeof(*r));
        r->path = p;
        broker_start(&b, &o, dirbuf, p);
        bool tls = strcmp(p, "tls") == 0;
        int port = tls ? b.ssl_port : b.port;
        const char *certs = tls ? o.certs : NULL;
        long long recs;
        consume(port, certs, &o, resp, &recs); /* warm-up pass: page cache, connections */
        for (int i = 0; i < o.runs; i++) {
            double c0 = self_cpu_s(), b0 = proc_cpu_s(b.pid), t0 = now_s();
            long long bytes = consume(port, certs, &o, resp, &recs);
            double dt = now_s() - t0;
            double gib = (double)bytes / (1024.0 * 1024 * 1024);
            r->mb_s[i] = (double)bytes / dt / 1e6;
            r->rec_s[i] = (double)recs / dt;
            r->broker_cpu[i] = (proc_cpu_s(b.pid) - b0) / gib;
            r->client_cpu[i] = (self_cpu_s() - c0) / gib;
            r->bytes = bytes;
            r->records = recs;
            r->n++;
        }
        broker_stop(&b);
        if (r->records != produced)
            fprintf(stderr, "WARNING: %s consumed %lld records, produced %lld\n", p, r->records,
                    produced);
        if (strcmp(p, "copy") == 0)
            copy_mb = median(r->mb_s, r->n);
        if (tls)
            tls_mb = median(r->mb_s, r->n);
    }
    free(resp);
    rm_rf(dirbuf);

    printf("fetch paths: %lld MiB of %d-byte records, %d runs (median), fetch %d bytes/partition\n",
           o.size >> 20, o.record_size, o.runs, o.fetch_bytes);
    printf("%-10s %10s %12s %8s %14s %14s\n", "path", "MB/s", "records/s", "ratio",
           "broker cpu s/GiB", "client cpu s/GiB");
    printf("%-10s %10.0f %12s %8.2f %14s %14s\n", "limit", limit_mb, "-", 1.0, "-", "-");
    for (int i = 0; i < nres; i++) {
        struct result *r = &res[i];
        printf("%-10s %10.0f %12.0f %8.2f %14.3f %14.3f\n", r->path, median(r->mb_s, r->n),
               median(r->rec_s, r->n), median(r->mb_s, r->n) / limit_mb,
               median(r->broker_cpu, r->n), median(r->client_cpu, r->n));
    }
    if (copy_mb > 0 && tls_mb > 0)
        printf("tls / copy: %.2f\n", tls_mb / copy_mb);
    if (o.json) {
        FILE *f = fopen(o.json, "w");
        if (!f)
            die(o.json, errno);
        fprintf(f,
                "{\"size\": %lld, \"record_size\": %d, \"runs\": %d, \"limit_mb_per_s\": %.1f, "
                "\"paths\": [",
                o.size, o.record_size, o.runs, limit_mb);
        for (int i = 0; i < nres; i++) {
            struct result *r = &res[i];
            fprintf(f,
                    "%s{\"path\": \"%s\", \"mb_per_s\": %.1f, \"records_per_s\": %.0f, "
                    "\"broker_cpu_s_per_gib\": %.4f, \"client_cpu_s_per_gib\": %.4f, "
                    "\"ratio_to_limit\": %.3f}",
                    i ? ", " : "", r->path, median(r->mb_s, r->n), median(r->rec_s, r->n),
                    median(r->broker_cpu, r->n), median(r->client_cpu, r->n),
                    median(r->mb_s, r->n) / limit_mb);
        }
        fprintf(f, "]}\n");
        fclose(f);
    }
    return 0;
}
