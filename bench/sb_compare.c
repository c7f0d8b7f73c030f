/*
 * sb_compare — the headline: every fetch path of the broker against the loopback limits, in
 * one run on one machine.
 *
 *  1. Limits (sb_limit.c): a bare sendfile and a bare TLS 1.3 stream of --size bytes between
 *     two processes over loopback; one warm-up each, then the median of --runs. A bare
 *     read+send stream is measured too and reported beside them (not used for the ratios):
 *     where copying beats sendfile on loopback (some kernels and VMs), it says so.
 *  2. Preload: a broker of our own (temporary data dir, ephemeral port) gets --size bytes of
 *     --record-size records from the libsplicelog producer (acks=1); the producer's delivery
 *     reports give the record count and the digest every consumption is checked against.
 *  3. Per path (auto, splice, sendfile, copy: fetch.transfer=...; tls: an SSL listener; ktls: an
 *     SSL listener with ssl.ktls.enable=true): the broker restarts on the same data, one untimed
 *     pass warms the page cache and the broker, then --runs timed passes each consume the
 *     whole topic from offset 0 with a fresh consumer. Per pass: MB/s of fetch response bytes,
 *     records/s, the broker's CPU and ours per GiB (scheduler nanoseconds, sb_proc.c); the row
 *     gives min, median and max over the passes, and so do the limits. Each pass must consume
 *     exactly the records produced, with the same digest. With --alternate the paths take
 *     turns instead: round 0 warms each path up, round i runs timed pass i of each path in
 *     turn (the order rotated by i, so that no path always goes first), every pass on a
 *     broker started for it, so that the load of a shared machine drifts across rounds
 *     rather than favouring the path measured in a quiet minute.
 *
 * The consumer is libsplicelog's, deliberately, not a raw fetch loop: the issue asks for
 * "client CPU seconds per GiB", which only means something for the client users get, and a
 * consumer that hands out every record (and whose bytes the bench hashes) is the honest
 * workload. Its cost is visible in its own column, so the broker's figures stay separable:
 * broker CPU/GiB isolates the fetch path whatever the client does; MB/s is bounded by both
 * (bench/bench_fetch.c has the raw loop that isolates the broker's throughput).
 * A path the build or the kernel cannot run (no SSL listener yet, a client without TLS, no
 * kernel TLS module) becomes a row marked unavailable with the reason; it is not an error.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sb.h"

#define GIB 1073741824.0
/* The background scrubber re-reads sealed segments (16 MiB/s by default): its CPU and its
 * reads are not the fetch path's, so the compare brokers run without it. */
#define SCRUB_OFF "log.scrub.bytes.per.sec=0"

struct path_def {
    const char *name;
    bool tls;
    const char *transfer; /* NULL for the TLS rows: the broker's default */
    bool ktls;
};

static const struct path_def path_defs[] = {
    {"auto", false, "auto", false},
    {"splice", false, "splice", false},
    {"sendfile", false, "sendfile", false},
    {"copy", false, "copy", false},
    {"tls", true, NULL, false},
    {"ktls", true, NULL, true},
};

static const struct path_def *path_find(const char *name)
{
    for (size_t i = 0; i < sizeof(path_defs) / sizeof(path_defs[0]); i++)
        if (!strcmp(path_defs[i].name, name))
            return &path_defs[i];
    return NULL;
}

int sb_compare_paths_valid(const char *paths)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", paths);
    char *save = NULL;
    int n = 0;
    for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save), n++)
        if (!path_find(p) || n >= 8)
            return 0;
    return n > 0;
}

struct ctx {
    const struct sb_opts *o;
    char dir[512], data[600], cert[600], key[600];
    bool cert_ok;
    char cert_why[256];
    long long produced;
    uint64_t digest;
};

enum limit_kind { LIMIT_SENDFILE, LIMIT_COPY, LIMIT_TLS };

/* Run 0 warms up; runs 1..--runs land in out. The count of runs measured (0: it failed). */
static int limit_runs(const struct sb_opts *o, const char *file, const struct ctx *x,
                      enum limit_kind kind, double *out)
{
    static const char *const names[] = {"sendfile", "copy", "tls"};
    for (int i = 0; i <= (int)o->runs; i++) {
        sb_progress(o, "compare: limit %s, run %d/%lld", names[kind], i, o->runs);
        double r = kind == LIMIT_TLS    ? sb_limit_tls(file, o->size, x->cert, x->key)
                   : kind == LIMIT_COPY ? sb_limit_copy(file, o->size)
                                        : sb_limit_sendfile(file, o->size);
        if (r <= 0)
            return 0;
        if (i)
            out[i - 1] = r;
    }
    return (int)o->runs;
}

static int preload(struct ctx *x, char *why, size_t why_len)
{
    const struct sb_opts *o = x->o;
    char parts[64];
    snprintf(parts, sizeof(parts), "num.partitions=%lld", o->partitions);
    const char *settings[] = {parts, "fetch.transfer=splice", SCRUB_OFF, NULL};
    struct sb_env env;
    memset(&env, 0, sizeof(env));
    int rc = sb_broker_start(&env.broker, o->broker_bin, x->dir, x->data, "preload", settings, why,
                             why_len);
    if (rc)
        return rc;
    snprintf(env.bootstrap, sizeof(env.bootstrap), "127.0.0.1:%d", env.broker.port);
    struct sb_opts po = *o;
    po.tls = false;
    po.acks = "1";
    struct sb_produce_job job = {
        .client = &sb_client_splicelog,
        .topic = o->topic,
        .record_size = (size_t)o->record_size,
        .count = o->size / o->record_size > 0 ? o->size / o->record_size : 1,
    };
    sb_env_cfg(&env, &po, &job.cfg);
    sb_progress(o, "compare: preloading %lld records", job.count);
    rc = sb_produce_job_run(&job, why, why_len);
    sb_broker_stop(&env.broker);
    x->produced = job.records;
    x->digest = job.digest;
    return rc;
}

static void unavailable(struct sb_row *row, const char *prefix, const char *why)
{
    row->available = false;
    snprintf(row->reason, sizeof(row->reason), "%s%.200s", prefix, why);
}

/* Consumes the whole topic once; fills the per-pass figures. 0, or -errno with why;
 * -ENOTCONN when the consumer could not even be set up (no records moved). */
static int one_pass(const struct ctx *x, const struct sb_env *env, const struct sb_opts *co,
                    pid_t broker, double *mb_s, double *rec_s, double *bcpu, double *ccpu,
                    struct sb_row *row, char *why, size_t why_len)
{
    const struct sb_client *cl = &sb_client_splicelog;
    struct sb_cfg cfg;
    sb_env_cfg(env, co, &cfg);
    void *c = cl->cons_new(&cfg, why, why_len);
    if (!c)
        return -ENOTCONN;
    for (long long i = 0; i < co->partitions; i++)
        if (cl->assign(c, co->topic, (int32_t)i, why, why_len)) {
            cl->cons_free(c);
            return -ENOTCONN;
        }
    struct sb_consume_job job = {
        .client = cl,
        .c = c,
        .expect = x->produced,
        .idle_ms = 10000,
    };
    int64_t b0 = sb_proc_cpu_ns(broker), c0 = sb_self_cpu_ns();
    int rc = sb_consume_job_run(&job, why, why_len);
    int64_t b1 = sb_proc_cpu_ns(broker), c1 = sb_self_cpu_ns();
    cl->cons_free(c);
    row->records_consumed = job.records;
    if (rc)
        return rc;
    if (job.records != x->produced || job.digest != x->digest) {
        snprintf(why, why_len, "consumed %lld records (digest %016llx), produced %lld (%016llx)",
                 job.records, (unsigned long long)job.digest, x->produced,
                 (unsigned long long)x->digest);
        return -EBADMSG;
    }
    double gib = (double)job.wire_bytes / GIB;
    if (job.seconds <= 0 || gib <= 0) {
        snprintf(why, why_len, "nothing measured");
        return -EIO;
    }
    *mb_s = (double)job.wire_bytes / job.seconds / 1e6;
    *rec_s = (double)job.records / job.seconds;
    *bcpu = b0 >= 0 && b1 >= 0 ? (double)(b1 - b0) / 1e9 / gib : NAN;
    *ccpu = (double)(c1 - c0) / 1e9 / gib;
    return 0;
}

/* Passes first..last of a path (pass 0: the warm-up, checked but not counted) on one broker. */
static void run_path(const struct ctx *x, const struct path_def *d, struct sb_row *row,
                     bool *failed, int first, int last)
{
    const struct sb_opts *o = x->o;
    char why[512] = "", xfer[64], cert[700], key[700];
    const char *settings[10];
    int n = 0;
    snprintf(row->path, sizeof(row->path), "%s", d->name);
    row->limit = d->tls ? "tls" : "sendfile";
    row->available = true;
    if (d->tls && !x->cert_ok) {
        unavailable(row, "no certificate: ", x->cert_why);
        return;
    }
    if (d->ktls && !sb_ktls_probe(why, sizeof(why))) {
        unavailable(row, "", why);
        return;
    }
    settings[n++] = SCRUB_OFF;
    if (d->transfer) {
        snprintf(xfer, sizeof(xfer), "fetch.transfer=%s", d->transfer);
        settings[n++] = xfer;
    }
    if (d->tls) {
        snprintf(cert, sizeof(cert), "ssl.certificate.location=%s", x->cert);
        snprintf(key, sizeof(key), "ssl.key.location=%s", x->key);
        settings[n++] = "listeners=SSL://127.0.0.1:0";
        settings[n++] = cert;
        settings[n++] = key;
        /* the tls row is the userspace copy path even where the kernel has TLS */
        settings[n++] = d->ktls ? "ssl.ktls.enable=true" : "ssl.ktls.enable=false";
    }
    settings[n] = NULL;

    struct sb_env env;
    memset(&env, 0, sizeof(env));
    if (sb_broker_start(&env.broker, o->broker_bin, x->dir, x->data, d->name, settings, why,
                        sizeof(why))) {
        /* A plaintext path that does not start is a failure; a TLS one may not exist yet. */
        unavailable(row, "broker: ", why);
        if (!d->tls)
            *failed = true;
        return;
    }
    /* The broker's listener line names its fetch path (and why): a ktls row that would
     * really measure the copy path is reported unavailable instead. */
    if (d->ktls && sb_broker_log_find(&env.broker, "fetch path tls-copy", why, sizeof(why))) {
        sb_broker_stop(&env.broker);
        unavailable(row, "broker uses tls-copy: ", why);
        return;
    }
    /* auto: which path the broker chose, and the figures it chose by */
    if (d->transfer && !strcmp(d->transfer, "auto") && first <= 1 &&
        sb_broker_log_find(&env.broker, "fetch.transfer=auto: ", why, sizeof(why))) {
        sb_progress_end(o);
        fprintf(stderr, "compare auto: %s\n", strstr(why, "fetch.transfer=auto: "));
    }
    snprintf(env.bootstrap, sizeof(env.bootstrap), "127.0.0.1:%d", env.broker.port);
    if (d->tls)
        snprintf(env.ca, sizeof(env.ca), "%s", x->cert);
    struct sb_opts co = *o;
    co.tls = d->tls;

    if (first == 0)
        row->digest_ok = true;
    for (int i = first; i <= last; i++) {
        sb_progress(o, "compare: %s, %s %d/%lld", d->name, i ? "run" : "warm-up", i, o->runs);
        double m, r, b, c;
        int rc = one_pass(x, &env, &co, env.broker.pid, &m, &r, &b, &c, row, why, sizeof(why));
        if (rc == -ENOTCONN && i == first && d->tls) {
            /* The client or the broker cannot do TLS (yet): say why, not an error. Once a
             * TLS consumer is up, any failure is a failure. */
            unavailable(row, "", why);
            break;
        }
        if (rc) {
            row->digest_ok = false;
            snprintf(row->reason, sizeof(row->reason), "%.200s", why);
            *failed = true;
            break;
        }
        if (i) {
            row->mb_per_s[i - 1] = m;
            row->records_per_s[i - 1] = r;
            row->broker_cpu_s_per_gib[i - 1] = b;
            row->client_cpu_s_per_gib[i - 1] = c;
            row->n = i;
            sb_progress_end(o);
            fprintf(stderr,
                    "compare %s run %d/%lld: %.0f MB/s, broker %.3f client %.3f CPU s/GiB\n",
                    d->name, i, o->runs, m, b, c);
        }
    }
    /* A session whose cipher the kernel could not take was served by tls-copy: not a ktls
     * figure. */
    bool fell_back = d->ktls && row->available &&
                     sb_broker_log_find(&env.broker, "the kernel did not take", why, sizeof(why));
    sb_broker_stop(&env.broker);
    if (fell_back) {
        unavailable(row, "sessions fell back to tls-copy: ", why);
        return;
    }
}

int sb_cmd_compare(const struct sb_opts *o)
{
    static struct sb_report rep;
    static struct ctx x;
    char why[512] = "";
    memset(&rep, 0, sizeof(rep));
    memset(&x, 0, sizeof(x));
    x.o = o;
    rep.size = o->size;
    rep.record_size = o->record_size;
    rep.runs = o->runs;
    sb_figs_init(&rep.head, o);
    rep.head.runs = (int)o->runs;
    snprintf(rep.head.settings, sizeof(rep.head.settings),
             "size=%lld record_size=%lld paths=%s partitions=%lld%s", o->size, o->record_size,
             o->paths, o->partitions, o->alternate ? " alternate" : "");
    snprintf(rep.head.broker, sizeof(rep.head.broker), "own %s", o->broker_bin);
    int rc = sb_tmpdir_new(x.dir, sizeof(x.dir));
    if (rc) {
        fprintf(stderr, "splicelog-bench compare: temporary directory: %s\n", strerror(-rc));
        return 1;
    }
    snprintf(x.data, sizeof(x.data), "%s/data", x.dir);
    snprintf(x.cert, sizeof(x.cert), "%s/bench.pem", x.dir);
    snprintf(x.key, sizeof(x.key), "%s/bench.key", x.dir);
    x.cert_ok = sb_cert_make(x.dir, x.cert_why, sizeof(x.cert_why)) == 0;

    /* 1. limits */
    char file[700];
    snprintf(file, sizeof(file), "%s/limit.bin", x.dir);
    rc = sb_limit_file(file, o->size);
    if (rc) {
        fprintf(stderr, "splicelog-bench compare: limit file: %s\n", strerror(-rc));
        goto fail;
    }
    if (!limit_runs(o, file, &x, LIMIT_SENDFILE, rep.limit_sendfile)) {
        fprintf(stderr, "splicelog-bench compare: the sendfile limit could not be measured\n");
        goto fail;
    }
    limit_runs(o, file, &x, LIMIT_COPY, rep.limit_copy);
    if (!x.cert_ok)
        snprintf(rep.limit_tls_reason, sizeof(rep.limit_tls_reason), "%s", x.cert_why);
    else if (!(rep.n_limit_tls = limit_runs(o, file, &x, LIMIT_TLS, rep.limit_tls)))
        snprintf(rep.limit_tls_reason, sizeof(rep.limit_tls_reason), "bare TLS stream failed");
    unlink(file);

    /* 2. preload */
    if (preload(&x, why, sizeof(why))) {
        sb_progress_end(o);
        fprintf(stderr, "splicelog-bench compare: preload: %s\n", why);
        goto fail;
    }
    rep.records_produced = x.produced;
    rep.digest = x.digest;

    /* 3. paths */
    bool failed = false;
    char list[256];
    snprintf(list, sizeof(list), "%s", o->paths);
    char *save = NULL;
    const struct path_def *defs[8];
    for (char *p = strtok_r(list, ",", &save); p && rep.n_rows < 8;
         p = strtok_r(NULL, ",", &save)) {
        const struct path_def *d = path_find(p);
        if (d)
            defs[rep.n_rows++] = d;
    }
    if (!o->alternate) {
        for (int k = 0; k < rep.n_rows; k++)
            run_path(&x, defs[k], &rep.rows[k], &failed, 0, (int)o->runs);
    } else {
        /* --alternate: round i runs pass i of every path in turn, each on a broker of its
         * own started for it; a path that failed or is unavailable sits the rest out. The
         * order rotates by one path per round, so that no path always goes first (after the
         * preload, in the page cache's and the scheduler's state the previous pass left). */
        for (int i = 0; i <= (int)o->runs; i++)
            for (int j = 0; j < rep.n_rows; j++) {
                int k = (j + i) % rep.n_rows;
                struct sb_row *w = &rep.rows[k];
                if (i == 0 || (w->available && w->digest_ok && w->n == i - 1))
                    run_path(&x, defs[k], w, &failed, i, i);
            }
    }
    sb_progress_end(o);
    sb_tmpdir_free(x.dir);

    rep.head.load_end = sb_loadavg1();
    bool json_stdout = o->json && !strcmp(o->json, "-");
    sb_report_table(json_stdout ? stderr : stdout, &rep);
    fflush(stdout);
    if (o->json && (rc = sb_report_json(o->json, &rep))) {
        fprintf(stderr, "splicelog-bench compare: %s: %s\n", o->json, strerror(-rc));
        failed = true;
    }
    if (o->plot && !sb_plot_or_skip(sb_report_plot(o->plot, &rep, why, sizeof(why)), o->plot, why))
        failed = true;
    for (int i = 0; i < rep.n_rows; i++) {
        const struct sb_row *w = &rep.rows[i];
        const double *figs[] = {w->mb_per_s, w->broker_cpu_s_per_gib, w->client_cpu_s_per_gib};
        for (int k = 0; w->available && w->digest_ok && k < 3; k++) {
            struct sb_stat st;
            sb_stat_of(figs[k], w->n, &st);
            if (sb_stat_spread(&st) > SB_SPREAD_WARN) {
                fprintf(stderr,
                        "splicelog-bench: warning: figures of %s vary by more than "
                        "%.0f%% of the median between runs (marked !): compare paths "
                        "only with more --runs or a quieter machine\n",
                        w->path, SB_SPREAD_WARN * 100);
                break;
            }
        }
    }
    return failed ? 1 : 0;
fail:
    sb_progress_end(o);
    sb_tmpdir_free(x.dir);
    return 1;
}
