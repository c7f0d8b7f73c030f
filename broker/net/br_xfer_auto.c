/*
 * br_xfer_auto — fetch.transfer=auto: which bulk path this machine moves fastest, measured.
 *
 * Which of splice, sendfile and copy moves a large file range to a socket fastest, and at
 * what CPU, depends on the kernel and the CPU more than on the code (docs/transfer-paths.md):
 * io_uring runs every splice in an io-wq worker, so the splice path pays two thread hand-offs
 * per chain, cheap on one machine and dear on another (CPU mitigations, virtual IPIs). So the
 * broker measures rather than guesses:
 *
 *  - The test: a file of ST_BYTES in the data dir's file system (O_TMPFILE, written once, so in
 *    the page cache), a loopback TCP connection whose far end a thread reads like a consumer
 *    fetching 1 MiB at a time (one byte up, ST_CHUNK down, then the next request), and each
 *    path answering the requests the way its br_xfer_*.c does (splice: chains of CHAIN_PAIRS linked
 *    file -> pipe -> socket splices of a 1 MiB pipe; sendfile: 1 MiB sendfile(2) calls on the
 *    non-blocking socket; copy: io_uring reads of fetch.copy.buffer.bytes linked to sends).
 *    One untimed warm-up round, then ST_ROUNDS rounds, the order of the paths rotated each
 *    round; per transfer MB/s and the process's CPU (scheduler ns, io-wq workers included) less
 *    the draining thread's, per GiB. Stops early at ST_DEADLINE_MS: well under a second.
 *  - The choice (br_xfer__auto_pick): the medians; of the paths within ST_NEAR of the highest
 *    MB/s, the one that costs the least CPU per GiB, but sendfile unless that one costs at
 *    most ST_CLEAR of sendfile's CPU. The test's drain is a bare recv loop, faster than any
 *    real consumer, so it overstates the MB/s differences that matter; the CPU the broker does
 *    not spend is what its consumers (on loopback, the same cores) get. And the test's own
 *    figures move with the machine's state by more than the paths differ where they are
 *    close (docs/transfer-paths.md): sendfile, the path with no hop and no copy, is kept
 *    unless another is clearly cheaper, so that a noisy test does not flip the default.
 *  - The cache: <data dir>/.fetch-transfer-auto, keyed by kernel release, CPU model and CPU
 *    count: a restart on the same machine reads the choice (and its figures) back instead of
 *    measuring again. Delete the file to measure again; fetch.transfer=PATH overrides.
 *
 * Runs in the main thread before the loop threads start (nothing else is using the CPU the
 * process is measured by). Any failure of the test means sendfile, with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "br_xfer.h"

#define ST_BYTES       (32u << 20)
#define ST_WARM_BYTES  (4u << 20)
#define ST_ROUNDS      3
#define ST_DEADLINE_MS 700
#define ST_NEAR        0.50 /* within half of the best MB/s: the CPU decides */
#define ST_CLEAR       0.75 /* another path replaces sendfile at 3/4 of its CPU or less */
#define ST_PIPE        (1u << 20)
#define ST_CHUNK       (1u << 20)
#define CHAIN_PAIRS    4 /* as br_xfer_splice.c */
#define CACHE_NAME     ".fetch-transfer-auto"
#define NPATHS         3

static const enum br_transfer paths[NPATHS] = {BR_XFER_SPLICE, BR_XFER_SENDFILE, BR_XFER_COPY};

/* ---- the draining end ------------------------------------------------------------------- */

struct drain {
    int fd;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t got; /* bytes received so far */
    bool done;    /* the thread ended (EOF or error) */
};

/* Like a consumer: asks for ST_CHUNK bytes (one byte up), reads them, asks again. */
static void *drain_main(void *arg)
{
    struct drain *d = arg;
    const size_t cap = 256 << 10;
    uint8_t *buf = malloc(cap);
    size_t want = 0; /* bytes of the current request still to come */
    for (;;) {
        ssize_t n;
        if (want == 0) {
            n = buf ? send(d->fd, "f", 1, MSG_NOSIGNAL) : -1;
            if (n == 1) {
                want = ST_CHUNK;
                continue;
            }
        } else {
            n = recv(d->fd, buf, want < cap ? want : cap, 0);
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0)
            want -= (size_t)n;
        pthread_mutex_lock(&d->mu);
        if (n > 0)
            d->got += (uint64_t)n;
        else
            d->done = true;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
        if (n <= 0) {
            free(buf);
            return NULL;
        }
    }
}

/* Waits (bounded: 5 s) until the drain has received want bytes in all. */
static int drain_wait(struct drain *d, uint64_t want)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    int rc = 0;
    pthread_mutex_lock(&d->mu);
    while (d->got < want && !d->done && rc == 0)
        rc = pthread_cond_timedwait(&d->cv, &d->mu, &until);
    bool ok = d->got >= want;
    pthread_mutex_unlock(&d->mu);
    return ok ? 0 : -ETIMEDOUT;
}

/* ---- the sending end: one function per path --------------------------------------------- */

struct bench {
    int file; /* ST_BYTES of data, in the page cache */
    int sock; /* non-blocking, connected to the drain */
    int prd, pwr;
    size_t pipe_cap;
    struct io_uring ring;
    bool ring_ok;
    uint8_t *buf;
    size_t buf_cap;
    bool can_splice;
};

static int wait_writable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int n = poll(&p, 1, 2000);
    return n > 0 ? 0 : n == 0 ? -ETIMEDOUT : -errno;
}

/* Each run_* moves bytes [at, at + size) of the file to the socket as its br_xfer_*.c does. */
static int run_sendfile(struct bench *b, size_t at, size_t size)
{
    off_t off = (off_t)at;
    while ((size_t)off < at + size) {
        size_t left = at + size - (size_t)off;
        size_t n = left < ST_CHUNK ? left : ST_CHUNK;
        ssize_t w = sendfile(b->sock, b->file, &off, n);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            int rc = wait_writable(b->sock);
            if (rc < 0)
                return rc;
        } else if (w <= 0) {
            return w < 0 ? -errno : -EIO;
        }
    }
    return 0;
}

/* Submits and reaps n completions; res[i] by user_data i. */
static int ring_run(struct bench *b, int n, int *res)
{
    int rc = io_uring_submit_and_wait(&b->ring, (unsigned)n);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n; i++) {
        struct io_uring_cqe *cqe;
        rc = io_uring_wait_cqe(&b->ring, &cqe);
        if (rc < 0)
            return rc;
        uint64_t k = io_uring_cqe_get_data64(cqe);
        if (k < (uint64_t)n)
            res[k] = cqe->res;
        io_uring_cqe_seen(&b->ring, cqe);
    }
    return 0;
}

static struct io_uring_sqe *sqe_for(struct bench *b, uint64_t tag)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
    io_uring_sqe_set_data64(sqe, tag);
    return sqe;
}

static int run_copy(struct bench *b, size_t at, size_t size)
{
    for (size_t pos = at; pos < at + size;) {
        size_t n = at + size - pos < b->buf_cap ? at + size - pos : b->buf_cap;
        struct io_uring_sqe *sqe = sqe_for(b, 0);
        io_uring_prep_read(sqe, b->file, b->buf, (unsigned)n, pos);
        sqe->flags |= IOSQE_IO_LINK;
        sqe = sqe_for(b, 1);
        io_uring_prep_send(sqe, b->sock, b->buf, n, MSG_NOSIGNAL | MSG_WAITALL);
        int res[2];
        int rc = ring_run(b, 2, res);
        if (rc < 0)
            return rc;
        if (res[0] != (int)n || res[1] != (int)n)
            return res[0] < 0 ? res[0] : res[1] < 0 ? res[1] : -EIO;
        pos += n;
    }
    return 0;
}

static int run_splice(struct bench *b, size_t base, size_t size)
{
    size_t sent = 0, fill = 0;
    while (sent < size) {
        int n = 0, res[2 * CHAIN_PAIRS];
        bool in[2 * CHAIN_PAIRS];
        if (fill > 0) {
            io_uring_prep_splice(sqe_for(b, 0), b->prd, -1, b->sock, -1, (unsigned)fill,
                                 SPLICE_F_MOVE);
            in[n++] = false;
        } else {
            size_t at = sent;
            for (int k = 0; k < CHAIN_PAIRS && at < size; k++) {
                size_t len = size - at < b->pipe_cap ? size - at : b->pipe_cap;
                struct io_uring_sqe *sqe = sqe_for(b, (uint64_t)n);
                io_uring_prep_splice(sqe, b->file, (int64_t)(base + at), b->pwr, -1, (unsigned)len,
                                     SPLICE_F_MOVE);
                sqe->flags |= IOSQE_IO_LINK;
                in[n++] = true;
                at += len;
                sqe = sqe_for(b, (uint64_t)n);
                io_uring_prep_splice(sqe, b->prd, -1, b->sock, -1, (unsigned)len, SPLICE_F_MOVE);
                if (at < size && k + 1 < CHAIN_PAIRS)
                    sqe->flags |= IOSQE_IO_LINK;
                in[n++] = false;
            }
        }
        int rc = ring_run(b, n, res);
        if (rc < 0)
            return rc;
        bool full = false;
        for (int i = 0; i < n; i++) {
            if (res[i] == -ECANCELED)
                continue;
            if (res[i] == -EAGAIN && !in[i]) {
                full = true;
                continue;
            }
            if (res[i] <= 0)
                return res[i] < 0 ? res[i] : -EIO;
            if (in[i]) {
                fill += (size_t)res[i];
            } else {
                fill -= (size_t)res[i] <= fill ? (size_t)res[i] : fill;
                sent += (size_t)res[i];
            }
        }
        if (full && (rc = wait_writable(b->sock)) < 0)
            return rc;
    }
    return 0;
}

/* The drain's next request (one byte): 0, or -errno (-EPIPE: it went away). */
static int wait_request(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    for (;;) {
        char c;
        ssize_t n = recv(fd, &c, 1, 0);
        if (n == 1)
            return 0;
        if (n == 0)
            return -EPIPE;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        int k = poll(&p, 1, 2000);
        if (k <= 0)
            return k == 0 ? -ETIMEDOUT : -errno;
    }
}

/* size bytes as ST_CHUNK answers to the drain's requests, like fetches of 1 MiB. */
static int run_path(struct bench *b, enum br_transfer t, size_t size)
{
    for (size_t pos = 0; pos < size; pos += ST_CHUNK) {
        size_t n = size - pos < ST_CHUNK ? size - pos : ST_CHUNK;
        int rc = wait_request(b->sock);
        if (rc == 0)
            rc = t == BR_XFER_SPLICE     ? run_splice(b, pos, n)
                 : t == BR_XFER_SENDFILE ? run_sendfile(b, pos, n)
                                         : run_copy(b, pos, n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- set-up ----------------------------------------------------------------------------- */

static int64_t ns_of(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int make_file(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        char path[1100];
        snprintf(path, sizeof(path), "%s/%s.data.tmp", dir, CACHE_NAME);
        fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
            return -errno;
        unlink(path);
    }
    static const char pat[] = "splicelog fetch.transfer self-test ";
    uint8_t *blk = malloc(ST_CHUNK);
    if (!blk) {
        close(fd);
        return -ENOMEM;
    }
    for (size_t i = 0; i < ST_CHUNK; i++)
        blk[i] = (uint8_t)pat[i % (sizeof(pat) - 1)];
    int rc = 0;
    for (size_t off = 0; off < ST_BYTES && rc == 0; off += ST_CHUNK)
        if (pwrite(fd, blk, ST_CHUNK, (off_t)off) != (ssize_t)ST_CHUNK)
            rc = errno ? -errno : -EIO;
    free(blk);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

/* A loopback TCP pair: *snd (non-blocking) and *rcv. */
static int make_pair(int *snd, int *rcv)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0)
        return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int rc = 0;
    if (bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &alen) != 0)
        rc = -errno;
    int s = rc == 0 ? socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
    if (rc == 0 && (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) != 0))
        rc = -errno;
    int r = rc == 0 ? accept4(l, NULL, NULL, SOCK_CLOEXEC) : -1;
    if (rc == 0 && r < 0)
        rc = -errno;
    close(l);
    if (rc < 0) {
        if (s >= 0)
            close(s);
        return rc;
    }
    fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
    *snd = s;
    *rcv = r;
    return 0;
}

struct figs {
    double mb_s[ST_ROUNDS], cpu[ST_ROUNDS]; /* MB/s, CPU s per GiB */
    int n;
};

static double median(const double *v, int n)
{
    double s[ST_ROUNDS];
    memcpy(s, v, (size_t)n * sizeof(*v));
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && s[j] < s[j - 1]; j--) {
            double t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Measures the paths; figs[i] for paths[i]. 0, or -errno with what failed in why. */
static int measure(const char *dir, const struct br_features *f, size_t copy_cap, struct figs *figs,
                   char *why, size_t why_len)
{
    struct bench b = {.file = -1, .sock = -1, .prd = -1, .pwr = -1, .buf_cap = copy_cap};
    struct drain d = {.fd = -1};
    pthread_mutex_init(&d.mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    bool drain_up = false;
    int rc = b.file = make_file(dir);
    const char *what = "self-test file";
    if (rc >= 0) {
        what = "loopback connection";
        rc = make_pair(&b.sock, &d.fd);
    }
    if (rc >= 0) {
        what = "io_uring";
        rc = io_uring_queue_init(4 * CHAIN_PAIRS, &b.ring, 0);
        b.ring_ok = rc == 0;
    }
    if (rc >= 0 && !(b.buf = malloc(b.buf_cap))) {
        what = "buffer";
        rc = -ENOMEM;
    }
    if (rc >= 0 && f->splice) {
        int p[2];
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
            b.prd = p[0];
            b.pwr = p[1];
            int want = f->pipe_max < (int)ST_PIPE ? f->pipe_max : (int)ST_PIPE;
            int sz = fcntl(b.pwr, F_SETPIPE_SZ, want);
            if (sz < 0)
                sz = fcntl(b.pwr, F_GETPIPE_SZ);
            b.pipe_cap = sz > 0 ? (size_t)sz : 65536;
            b.can_splice = true;
        }
    }
    if (rc >= 0) {
        what = "drain thread";
        rc = -pthread_create(&d.th, NULL, drain_main, &d);
        drain_up = rc == 0;
    }
    clockid_t dclock;
    if (rc >= 0 && (rc = -pthread_getcpuclockid(d.th, &dclock)) < 0)
        what = "thread CPU clock";
    uint64_t total = 0;
    int64_t t_start = ns_of(CLOCK_MONOTONIC);
    for (int round = -1; rc >= 0 && round < ST_ROUNDS; round++) {
        if (round > 0 && (ns_of(CLOCK_MONOTONIC) - t_start) / 1000000 > ST_DEADLINE_MS)
            break; /* a slow or busy machine: the rounds so far decide */
        for (int k = 0; k < NPATHS && rc >= 0; k++) {
            int i = (k + (round < 0 ? 0 : round)) % NPATHS;
            if (paths[i] == BR_XFER_SPLICE && !b.can_splice)
                continue;
            size_t size = round < 0 ? ST_WARM_BYTES : ST_BYTES;
            int64_t t0 = ns_of(CLOCK_MONOTONIC);
            int64_t c0 = ns_of(CLOCK_PROCESS_CPUTIME_ID) - ns_of(dclock);
            what = br_transfer_name(paths[i]);
            rc = run_path(&b, paths[i], size);
            total += size;
            if (rc >= 0)
                rc = drain_wait(&d, total);
            int64_t t1 = ns_of(CLOCK_MONOTONIC);
            int64_t c1 = ns_of(CLOCK_PROCESS_CPUTIME_ID) - ns_of(dclock);
            if (rc >= 0 && round >= 0 && t1 > t0) {
                struct figs *g = &figs[i];
                g->mb_s[g->n] = (double)size / ((double)(t1 - t0) / 1e9) / 1e6;
                g->cpu[g->n] = (double)(c1 - c0) / 1e9 / ((double)size / (1u << 30));
                g->n++;
            }
        }
    }
    if (rc < 0)
        snprintf(why, why_len, "%s: %s", what, strerror(-rc));
    if (b.sock >= 0)
        close(b.sock); /* the drain sees EOF */
    if (drain_up)
        pthread_join(d.th, NULL);
    if (d.fd >= 0)
        close(d.fd);
    if (b.ring_ok)
        io_uring_queue_exit(&b.ring);
    if (b.prd >= 0)
        close(b.prd);
    if (b.pwr >= 0)
        close(b.pwr);
    if (b.file >= 0)
        close(b.file);
    free(b.buf);
    pthread_mutex_destroy(&d.mu);
    pthread_cond_destroy(&d.cv);
    return rc < 0 ? rc : 0;
}

enum br_transfer br_xfer__auto_pick(const double mb[3], const double cpu[3])
{
    enum { SF = 1 }; /* paths[SF] == BR_XFER_SENDFILE */
    double best = 0;
    for (int i = 0; i < NPATHS; i++)
        if (mb[i] > best)
            best = mb[i];
    if (best <= 0)
        return BR_XFER_SENDFILE;
    int pick = -1;
    for (int i = 0; i < NPATHS; i++)
        if (mb[i] > 0 && mb[i] >= best * (1 - ST_NEAR) && (pick < 0 || cpu[i] < cpu[pick]))
            pick = i;
    bool sf_ok = mb[SF] > 0 && mb[SF] >= best * (1 - ST_NEAR);
    if (pick != SF && sf_ok && cpu[pick] > ST_CLEAR * cpu[SF])
        pick = SF;
    return paths[pick];
}

/* ---- the cache -------------------------------------------------------------------------- */

/* "release|cpu model|ncpu": what the figures depend on, one line. */
static void machine_key(char *key, size_t len)
{
    struct utsname un;
    char model[128] = "unknown";
    if (uname(&un) != 0)
        snprintf(un.release, sizeof(un.release), "unknown");
    FILE *fp = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (fp && fgets(line, sizeof(line), fp)) {
        char *colon = strchr(line, ':');
        if (colon && strncmp(line, "model name", 10) == 0) {
            colon++;
            colon += strspn(colon, " \t");
            colon[strcspn(colon, "\n")] = 0;
            snprintf(model, sizeof(model), "%s", colon);
            break;
        }
    }
    if (fp)
        fclose(fp);
    snprintf(key, len, "%s|%s|%ld", un.release, model, sysconf(_SC_NPROCESSORS_ONLN));
}

/* The cached choice for key: 0 (*out, figures in fig), -ENOENT (none, or another machine's). */
static int cache_read(const char *path, const char *key, const struct br_features *f,
                      enum br_transfer *out, char *fig, size_t fig_len)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -ENOENT;
    char line[1024];
    bool key_ok = false;
    int found = -1;
    fig[0] = 0;
    while (fgets(line, sizeof(line), fp)) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, "key ", 4) == 0)
            key_ok = strcmp(line + 4, key) == 0;
        else if (strncmp(line, "path ", 5) == 0)
            for (int i = 0; i < NPATHS; i++)
                if (strcmp(line + 5, br_transfer_name(paths[i])) == 0)
                    found = i;
        if (strncmp(line, "figures ", 8) == 0)
            snprintf(fig, fig_len, "%.500s", line + 8);
    }
    fclose(fp);
    if (!key_ok || found < 0 || (paths[found] == BR_XFER_SPLICE && !f->splice))
        return -ENOENT;
    *out = paths[found];
    return 0;
}

static int cache_write(const char *dir, const char *path, const char *key, enum br_transfer t,
                       const char *fig)
{
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, CACHE_NAME);
    FILE *fp = fopen(tmp, "w");
    if (!fp)
        return -errno;
    fprintf(fp,
            "# fetch.transfer=auto: chosen by splicelogd's start-up self-test on the machine "
            "below;\n# delete this file to measure again\nkey %s\npath %s\nfigures %s\n",
            key, br_transfer_name(t), fig);
    int rc = fflush(fp) == 0 && ferror(fp) == 0 ? 0 : -EIO;
    if (fclose(fp) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

enum br_transfer br_xfer_auto_choose(const char *data_dir, const struct br_features *f,
                                     size_t copy_cap, char *why, size_t why_len)
{
    char key[512], path[1100], fig[512];
    machine_key(key, sizeof(key));
    snprintf(path, sizeof(path), "%s/%s", data_dir, CACHE_NAME);
    enum br_transfer t;
    if (cache_read(path, key, f, &t, fig, sizeof(fig)) == 0) {
        snprintf(why, why_len, "from the cache %s (%s): %s", path, key, fig);
        return t;
    }
    struct figs figs[NPATHS];
    memset(figs, 0, sizeof(figs));
    char err[256];
    int64_t t0 = ns_of(CLOCK_MONOTONIC);
    int rc = measure(data_dir, f, copy_cap, figs, err, sizeof(err));
    int64_t ms = (ns_of(CLOCK_MONOTONIC) - t0) / 1000000;
    if (rc < 0) {
        snprintf(why, why_len, "the self-test failed (%s): sendfile, the classic path", err);
        return BR_XFER_SENDFILE;
    }
    double mb[NPATHS], cpu[NPATHS];
    for (int i = 0; i < NPATHS; i++) {
        mb[i] = figs[i].n ? median(figs[i].mb_s, figs[i].n) : 0;
        cpu[i] = figs[i].n ? median(figs[i].cpu, figs[i].n) : 0;
    }
    int pick = -1;
    enum br_transfer chosen = br_xfer__auto_pick(mb, cpu);
    for (int i = 0; i < NPATHS; i++)
        if (figs[i].n && paths[i] == chosen)
            pick = i;
    if (pick < 0) {
        snprintf(why, why_len, "the self-test measured nothing: sendfile, the classic path");
        return BR_XFER_SENDFILE;
    }
    size_t o = 0;
    for (int i = 0; i < NPATHS && o < sizeof(fig); i++)
        o += (size_t)snprintf(fig + o, sizeof(fig) - o,
                              figs[i].n ? "%s%s %.0f MB/s %.3f CPU s/GiB" : "%s%s unavailable",
                              i ? ", " : "", br_transfer_name(paths[i]), mb[i], cpu[i]);
    if (o < sizeof(fig))
        snprintf(fig + o, sizeof(fig) - o,
                 " (loopback, %u MiB x %d rounds, median; the cheapest in CPU within %.0f%% "
                 "of the fastest, sendfile unless %.0f%% of its CPU or less)",
                 ST_BYTES >> 20, figs[pick].n, ST_NEAR * 100, ST_CLEAR * 100);
    rc = cache_write(data_dir, path, key, paths[pick], fig);
    snprintf(why, why_len, "measured now in %lld ms (%s): %s%s", (long long)ms, key, fig,
             rc < 0 ? "; not cached: cannot write the cache file" : "");
    return paths[pick];
}
