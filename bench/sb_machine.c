/*
 * sb_machine — what the machine itself allows, with no broker and no client (issue 19: "a
 * bench people trust"). The latency and throughput goals of the other modes are measured on
 * a shared, virtualised two-core machine; before a figure is blamed on the broker, the bench
 * measures the floor under it. Per run, four probes:
 *
 *   stalls     one thread per CPU of the affinity mask, each pinned to its CPU, reads
 *              CLOCK_MONOTONIC in a tight loop for --duration (default 3 s). A gap of more than
 *              STALL_NS between two reads is time the thread was kept off its CPU (another
 *              thread, a kernel thread, interrupts, the hypervisor not running the vCPU). The
 *              longest gap, gaps of 1 ms and 3 ms or more per CPU-second, and the share of time
 *              lost. Every CPU is busy meanwhile, so this is what a busy thread meets; a
 *              latency tail below the longest gap cannot be promised on this machine.
 *   hand-off   one thread wakes another through an eventfd, --rate times a second
 *              (default 20,000), --count times (default 20,000): the time from just before the
 *              write to the woken thread's return from read, across two CPUs (both pinned, the
 *              sleeping side's vCPU may halt in between, as a loop thread's does) and on one
 *              CPU. A record crosses at least four threads between a producer and a consumer.
 *   page cache --size bytes (default 2 GiB) written with 1 MiB pwrite(2) calls into a new
 *              file of a temporary directory (TMPDIR, where the other modes keep their
 *              brokers' data), timed in windows of 256 MiB, then 256 MiB into a second file
 *              right after the first was deleted (its pages just freed): MB/s and the writing
 *              thread's CPU per GiB of the whole, the fastest and the slowest window, and
 *              of the second file. The kernel hands out the pages it freed last first; past
 *              those, a VM whose free memory goes back to the host (free page reporting, a
 *              balloon, proactive reclaim) pays a host fault per page on first touch: on the
 *              project's VM the slowest window costs over ten times the second file's CPU per
 *              GiB, and a broker's appends (each replica's) pay that for everything past the
 *              memory the machine has recycled lately.
 *   fdatasync  200 appends of 4 KiB, each followed by fdatasync(2), in the same directory:
 *              the disk's floor for a durable acknowledgement.
 *
 * Figures go through sb_figs (median [min-max] over --runs, --json); notes under the table
 * say what the floors mean for the other modes' goals.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "sb.h"

#define STALL_NS    50000ULL /* a gap longer than this between two clock reads is a stall */
#define MAX_CPUS    64
#define WRITE_CHUNK (1u << 20)
#define SYNC_N      200
#define SYNC_SIZE   4096

/* ---- stalls ------------------------------------------------------------------------------ */

struct spinner {
    pthread_t th;
    int cpu;
    uint64_t run_ns;
    /* out */
    uint64_t max_gap, lost_ns, n_1ms, n_3ms;
    bool pinned;
};

static bool pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return pthread_setaffinity_np(pthread_self(), sizeof(s), &s) == 0;
}

static void *spin_main(void *arg)
{
    struct spinner *sp = arg;
    prctl(PR_SET_NAME, "sb-spin", 0, 0, 0);
    sp->pinned = pin(sp->cpu);
    uint64_t t0 = sb_now_ns(), last = t0, now;
    while ((now = sb_now_ns()) - t0 < sp->run_ns) {
        uint64_t gap = now - last;
        last = now;
        if (gap <= STALL_NS)
            continue;
        sp->lost_ns += gap;
        if (gap > sp->max_gap)
            sp->max_gap = gap;
        sp->n_1ms += gap >= 1000000;
        sp->n_3ms += gap >= 3000000;
    }
    return NULL;
}

/* The CPUs this process may run on, at most cap. */
static int cpus_allowed(int *cpu, int cap)
{
    cpu_set_t s;
    int n = 0;
    if (sched_getaffinity(0, sizeof(s), &s))
        return 0;
    for (int c = 0; c < CPU_SETSIZE && n < cap; c++)
        if (CPU_ISSET(c, &s))
            cpu[n++] = c;
    return n;
}

static int probe_stalls(const struct sb_opts *o, struct sb_figs *fs, int run, double *max_ms,
                        char *why, size_t why_len)
{
    int cpu[MAX_CPUS];
    int n = cpus_allowed(cpu, MAX_CPUS);
    if (n == 0) {
        snprintf(why, why_len, "sched_getaffinity: %s", strerror(errno));
        return -EINVAL;
    }
    struct spinner sp[MAX_CPUS];
    memset(sp, 0, sizeof(sp));
    int started = 0;
    for (int i = 0; i < n; i++) {
        sp[i].cpu = cpu[i];
        sp[i].run_ns = (uint64_t)o->duration_ms * 1000000ULL;
        if (pthread_create(&sp[i].th, NULL, spin_main, &sp[i]))
            break;
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(sp[i].th, NULL);
    if (started < n) {
        snprintf(why, why_len, "could start only %d of %d probe threads", started, n);
        return -EAGAIN;
    }
    uint64_t max = 0, lost = 0, n1 = 0, n3 = 0;
    bool pinned = true;
    for (int i = 0; i < n; i++) {
        max = sp[i].max_gap > max ? sp[i].max_gap : max;
        lost += sp[i].lost_ns;
        n1 += sp[i].n_1ms;
        n3 += sp[i].n_3ms;
        pinned = pinned && sp[i].pinned;
    }
    double cpu_s = (double)n * (double)o->duration_ms / 1e3;
    *max_ms = (double)max / 1e6;
    sb_figs_set(fs, run, "stalls", "cpus", "CPUs probed (one busy thread each)", 0, n);
    sb_figs_set(fs, run, "stalls", "longest_ms", "longest stall, ms", 3, *max_ms);
    sb_figs_set(fs, run, "stalls", "over_1ms_per_cpu_s", "stalls >= 1 ms per CPU-second", 2,
                (double)n1 / cpu_s);
    sb_figs_set(fs, run, "stalls", "over_3ms_per_cpu_s", "stalls >= 3 ms per CPU-second", 2,
                (double)n3 / cpu_s);
    sb_figs_set(fs, run, "stalls", "lost_percent", "time kept off the CPU, % (gaps > 50 us)", 2,
                100.0 * (double)lost / (cpu_s * 1e9));
    if (!pinned)
        sb_figs_note(fs, "stalls: a probe thread could not be pinned to its CPU");
    return 0;
}

/* ---- hand-off ------------------------------------------------------------------------------ */

struct handoff {
    int efd;
    int cpu_tx, cpu_rx;
    long long count, rate;
    _Atomic uint64_t stamp; /* when the sender wrote (0: not yet) */
    struct sb_hist *h;
    bool rx_pinned, tx_pinned;
    int rc;
};

static void *rx_main(void *arg)
{
    struct handoff *x = arg;
    prctl(PR_SET_NAME, "sb-handoff-rx", 0, 0, 0);
    x->rx_pinned = pin(x->cpu_rx);
    for (;;) {
        uint64_t v;
        ssize_t n = read(x->efd, &v, sizeof(v));
        uint64_t now = sb_now_ns();
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof(v)) {
            x->rc = -EIO;
            return NULL;
        }
        uint64_t st = atomic_load(&x->stamp);
        if (st == UINT64_MAX)
            return NULL; /* the sender is done */
        if (st && now >= st)
            sb_hist_add(x->h, now - st);
    }
}

/* count hand-offs at rate from a thread on cpu_tx to one on cpu_rx: their latency into h. */
static int handoff_run(struct handoff *x)
{
    x->efd = eventfd(0, EFD_CLOEXEC);
    if (x->efd < 0)
        return -errno;
    pthread_t rx;
    if (pthread_create(&rx, NULL, rx_main, x)) {
        close(x->efd);
        return -EAGAIN;
    }
    /* the sender is this thread, pinned for the run and unpinned after */
    cpu_set_t old;
    bool had = pthread_getaffinity_np(pthread_self(), sizeof(old), &old) == 0;
    x->tx_pinned = pin(x->cpu_tx);
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    uint64_t period = 1000000000ULL / (uint64_t)x->rate;
    uint64_t next = sb_now_ns() + 10000000ULL; /* the receiver is asleep in read by then */
    for (long long i = 0; i < x->count && x->rc == 0; i++) {
        struct timespec ts = {(time_t)(next / 1000000000ULL), (long)(next % 1000000000ULL)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        next += period;
        uint64_t one = 1;
        atomic_store(&x->stamp, sb_now_ns());
        if (write(x->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
            x->rc = -errno;
    }
    atomic_store(&x->stamp, UINT64_MAX);
    uint64_t one = 1;
    if (write(x->efd, &one, sizeof(one)) < 0)
        x->rc = x->rc ? x->rc : -errno;
    pthread_join(rx, NULL);
    close(x->efd);
    if (had)
        pthread_setaffinity_np(pthread_self(), sizeof(old), &old);
    return x->rc;
}

static int probe_handoff(const struct sb_opts *o, struct sb_figs *fs, int run, struct sb_hist *h,
                         double *cross_p999, char *why, size_t why_len)
{
    int cpu[MAX_CPUS];
    int n = cpus_allowed(cpu, MAX_CPUS);
    if (n == 0) {
        snprintf(why, why_len, "sched_getaffinity: %s", strerror(errno));
        return -EINVAL;
    }
    static const struct {
        const char *sect;
        bool cross;
    } kinds[] = {{"handoff_cpus", true}, {"handoff_cpu", false}};
    for (size_t k = 0; k < 2; k++) {
        if (kinds[k].cross && n < 2)
            continue;
        sb_hist_init(h);
        struct handoff x = {.cpu_tx = cpu[0],
                            .cpu_rx = kinds[k].cross ? cpu[1] : cpu[0],
                            .count = o->count,
                            .rate = o->rate,
                            .h = h};
        int rc = handoff_run(&x);
        if (rc) {
            snprintf(why, why_len, "hand-off probe: %s", strerror(-rc));
            return rc;
        }
        sb_figs_latency(fs, run, kinds[k].sect, h);
        if (kinds[k].cross)
            *cross_p999 = (double)sb_hist_percentile(h, 99.9) / 1e6;
    }
    return 0;
}

/* ---- page cache and fdatasync ---------------------------------------------------------------- */

static int64_t thread_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* What one write of a file gave: whole, and its fastest and slowest windows. */
struct wrote {
    double mb_s, cpu_gib;           /* the whole file */
    double fast_mb_s, fast_cpu_gib; /* the window of the least CPU per GiB */
    double slow_mb_s, slow_cpu_gib; /* the window of the most */
};

/* Writes size bytes into a new file path (1 MiB pwrites), timing every window of `window`
 * bytes (the last, partial one only when it is the only one). The file stays (the caller
 * deletes it). */
static int write_file(const char *path, long long size, long long window, const uint8_t *buf,
                      struct wrote *w)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    uint64_t t0 = sb_now_ns(), tw = t0;
    int64_t c0 = thread_cpu_ns(), cw = c0;
    long long at_w = 0;
    w->fast_cpu_gib = INFINITY;
    w->slow_cpu_gib = -1;
    int rc = 0;
    for (long long off = 0; off < size && !rc;) {
        size_t n = size - off < WRITE_CHUNK ? (size_t)(size - off) : WRITE_CHUNK;
        ssize_t k = pwrite(fd, buf, n, (off_t)off);
        if (k <= 0) {
            rc = k < 0 ? -errno : -EIO;
            break;
        }
        off += k;
        if (off - at_w >= window || (off == size && at_w == 0)) {
            uint64_t t = sb_now_ns();
            int64_t c = thread_cpu_ns();
            double gib = (double)(off - at_w) / (1 << 30);
            double cg = (double)(c - cw) / 1e9 / gib;
            double mb = (double)(off - at_w) / 1e6 / ((double)(t - tw) / 1e9);
            if (cg < w->fast_cpu_gib) {
                w->fast_cpu_gib = cg;
                w->fast_mb_s = mb;
            }
            if (cg > w->slow_cpu_gib) {
                w->slow_cpu_gib = cg;
                w->slow_mb_s = mb;
            }
            tw = t;
            cw = c;
            at_w = off;
        }
    }
    double secs = (double)(sb_now_ns() - t0) / 1e9;
    double cpu = (double)(thread_cpu_ns() - c0) / 1e9;
    close(fd);
    if (rc)
        return rc;
    w->mb_s = secs > 0 ? (double)size / 1e6 / secs : NAN;
    w->cpu_gib = cpu / ((double)size / (1 << 30));
    return 0;
}

/*
 * --size bytes into a new file in windows of PC_WINDOW (or the whole, when smaller): memory
 * the kernel has not used lately comes after the pages it freed last, so the slowest window
 * shows what a first touch costs here; then PC_WINDOW bytes into a second file right after
 * the first was deleted (pages just freed: what a machine whose page cache is recycled pays).
 */
#define PC_WINDOW (256LL << 20)

static int probe_pagecache(const struct sb_opts *o, const char *dir, struct sb_figs *fs, int run,
                           double *ratio, double *slow_mb, char *why, size_t why_len)
{
    uint8_t *buf = malloc(WRITE_CHUNK);
    if (!buf) {
        snprintf(why, why_len, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < WRITE_CHUNK; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    char a[700], b[700];
    snprintf(a, sizeof(a), "%s/pagecache-first.bin", dir);
    snprintf(b, sizeof(b), "%s/pagecache-again.bin", dir);
    long long window = o->size < PC_WINDOW ? o->size : PC_WINDOW;
    struct wrote w1, w2;
    int rc = write_file(a, o->size, window, buf, &w1);
    unlink(a); /* its pages are freed: the next file can take them */
    if (!rc)
        rc = write_file(b, window, window, buf, &w2);
    unlink(b);
    free(buf);
    if (rc) {
        snprintf(why, why_len, "page-cache probe in %s: %s", dir, strerror(-rc));
        return rc;
    }
    sb_figs_set(fs, run, "pagecache", "new_mb_per_s", "new file, whole: MB/s", 0, w1.mb_s);
    sb_figs_set(fs, run, "pagecache", "new_cpu_s_per_gib", "new file, whole: CPU s/GiB", 3,
                w1.cpu_gib);
    sb_figs_set(fs, run, "pagecache", "new_fast_mb_per_s", "new file, fastest window: MB/s", 0,
                w1.fast_mb_s);
    sb_figs_set(fs, run, "pagecache", "new_fast_cpu_s_per_gib",
                "new file, fastest window: CPU s/GiB", 3, w1.fast_cpu_gib);
    sb_figs_set(fs, run, "pagecache", "new_slow_mb_per_s", "new file, slowest window: MB/s", 0,
                w1.slow_mb_s);
    sb_figs_set(fs, run, "pagecache", "new_slow_cpu_s_per_gib",
                "new file, slowest window: CPU s/GiB", 3, w1.slow_cpu_gib);
    sb_figs_set(fs, run, "pagecache", "again_mb_per_s", "again, into pages just freed: MB/s", 0,
                w2.mb_s);
    sb_figs_set(fs, run, "pagecache", "again_cpu_s_per_gib",
                "again, into pages just freed: CPU s/GiB", 3, w2.cpu_gib);
    *ratio = w2.cpu_gib > 0 ? w1.slow_cpu_gib / w2.cpu_gib : NAN;
    *slow_mb = w1.slow_mb_s;
    sb_figs_set(fs, run, "pagecache", "slow_over_again_cpu", "CPU per GiB: slowest window / again",
                2, *ratio);
    return 0;
}

static int probe_fdatasync(const char *dir, struct sb_figs *fs, int run, struct sb_hist *h,
                           char *why, size_t why_len)
{
    sb_hist_init(h);
    int rc = sb_limit_fdatasync(dir, SYNC_N, SYNC_SIZE, h);
    if (rc) {
        snprintf(why, why_len, "fdatasync probe in %s: %s", dir, strerror(-rc));
        return rc;
    }
    sb_figs_latency(fs, run, "fdatasync", h);
    return 0;
}

/* ---- the command ------------------------------------------------------------------------- */

static double median_of(double *v, int n)
{
    struct sb_stat st;
    sb_stat_of(v, n, &st);
    return st.median;
}

int sb_cmd_machine(const struct sb_opts *o)
{
    static struct sb_figs fs;
    sb_figs_init(&fs, o);
    snprintf(fs.settings, sizeof(fs.settings),
             "duration_ms=%lld handoffs=%lld handoff_rate=%lld write_bytes=%lld "
             "fdatasync_appends=%d fdatasync_bytes=%d stall_threshold_us=%llu",
             o->duration_ms, o->count, o->rate, o->size, SYNC_N, SYNC_SIZE, STALL_NS / 1000);
    snprintf(fs.broker, sizeof(fs.broker), "none (the machine alone)");
    sb_figs_sect(&fs, "stalls", "a busy thread on every CPU: time kept off its CPU");
    sb_figs_sect(&fs, "handoff_cpus", "one thread waking another on another CPU (eventfd), ms");
    sb_figs_sect(&fs, "handoff_cpu", "one thread waking another on the same CPU (eventfd), ms");
    sb_figs_sect(&fs, "pagecache", "page-cache writes (1 MiB pwrite) in TMPDIR");
    sb_figs_sect(&fs, "fdatasync", "append 4 KiB + fdatasync in TMPDIR, ms");
    char dir[400], why[512] = "";
    int rc = sb_tmpdir_new(dir, sizeof(dir));
    if (rc) {
        fprintf(stderr, "splicelog-bench machine: temporary directory: %s\n", strerror(-rc));
        return 1;
    }
    struct sb_hist *h = malloc(sizeof(*h));
    double stall[SB_MAX_RUNS], p999[SB_MAX_RUNS], ratio[SB_MAX_RUNS], slow[SB_MAX_RUNS];
    rc = h ? 0 : -ENOMEM;
    for (int r = 0; r < o->runs && !rc; r++) {
        stall[r] = p999[r] = ratio[r] = slow[r] = NAN;
        sb_progress(o, "machine run %d/%lld: stalls", r + 1, o->runs);
        rc = probe_stalls(o, &fs, r, &stall[r], why, sizeof(why));
        if (!rc) {
            sb_progress(o, "machine run %d/%lld: hand-offs", r + 1, o->runs);
            rc = probe_handoff(o, &fs, r, h, &p999[r], why, sizeof(why));
        }
        if (!rc) {
            sb_progress(o, "machine run %d/%lld: page cache", r + 1, o->runs);
            rc = probe_pagecache(o, dir, &fs, r, &ratio[r], &slow[r], why, sizeof(why));
        }
        if (!rc) {
            sb_progress(o, "machine run %d/%lld: fdatasync", r + 1, o->runs);
            rc = probe_fdatasync(dir, &fs, r, h, why, sizeof(why));
        }
        sb_progress_end(o);
        if (rc)
            fprintf(stderr, "splicelog-bench machine: run %d: %s\n", r + 1, why);
        else
            fprintf(stderr,
                    "machine run %d/%lld: longest stall %.3f ms, cross-CPU hand-off p99.9 "
                    "%.3f ms, page-cache new/again CPU %.2fx\n",
                    r + 1, o->runs, stall[r], p999[r], ratio[r]);
    }
    free(h);
    sb_tmpdir_free(dir);
    int runs = fs.runs;
    if (runs) {
        sb_figs_note(&fs,
                     "a busy thread here is kept off its CPU for up to %.3f ms (median of the "
                     "runs' longest): a latency max below that is not this machine's to give",
                     median_of(stall, runs));
        if (!isnan(median_of(p999, runs)))
            sb_figs_note(&fs,
                         "each thread a record crosses (producer, loop, loop, consumer) can "
                         "cost a cross-CPU wake-up: p99.9 %.3f ms each here",
                         median_of(p999, runs));
        sb_figs_note(&fs,
                     "page-cache writes: the slowest %lld MiB of a new %lld MiB file ran at "
                     "%.0f MB/s, %.2fx the CPU per GiB of writing into pages just freed; "
                     "produce and replication figures that write more than the machine "
                     "recycles move with that",
                     (o->size < PC_WINDOW ? o->size : PC_WINDOW) >> 20, o->size >> 20,
                     median_of(slow, runs), median_of(ratio, runs));
    }
    if (runs && sb_figs_report(&fs))
        rc = -EIO;
    return rc || !runs ? 1 : 0;
}
