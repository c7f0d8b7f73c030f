/*
 * sb_e2e — end-to-end latency (`e2e`) and the cost of durability (`durable`).
 *
 * One run: --producers threads, each with its own client handle (its own connection), produce
 * at rate/producers each on interleaved schedules (producer k is offset by k / rate), so that
 * together they send --rate records/s; one consumer thread reads every partition of the run's
 * topic. Latency is measured from each record's intended send time (stamped into the value,
 * CLOCK_REALTIME; the record's timestamp field carries the same instant in ms) to the moment
 * the consumer is handed the record, and to its delivery report for send->ack. Both ends run in
 * this process, so there is no clock skew. Each run uses a fresh topic (TOPIC-rN), so a run
 * never reads the previous one's records. Besides count and digest, every record is checked on
 * both sides (sb_verify.c: bytes against its seq, duplicates, offsets, acknowledged where
 * consumed); a run with an anomaly fails and prints the first ones of each kind.
 *
 * Start: every producer primes (one record: topic, metadata, connection), then all wait at a
 * gate; the consumer is started, the CPU marks are taken, and the producers are released
 * together. A producer that fails to prime makes the others return at the gate (abort).
 *
 * durable: the broker of our own runs with log.flush.interval.messages=1, so a produce with
 * acks=all is answered only after fdatasync; producers share fdatasyncs (group commit). Per run
 * the bench also measures the disk's own append+fdatasync latency in the broker's data
 * directory (the limit: an acknowledged durable write cannot beat one fdatasync), and counts
 * the broker's fdatasync calls during the run (sb_sync.c) to give records per fdatasync.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "sb.h"

#define MAX_PRODUCERS 64

struct e2e;
struct pctx {
    struct e2e *x;
    struct sb_produce_job job;
    pthread_t thread;
    bool started;
    int rc;
    char why[512];
    struct sb_hist ack;
};

struct e2e {
    const struct sb_opts *o;
    const struct sb_env *env;
    bool durable;
    char topic[320];
    int n;
    struct pctx p[MAX_PRODUCERS];
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int n_primed; /* producers past their priming record (delivered or not) */
    bool go;      /* set once: the producers may start */
    atomic_bool abort;
    /* the consumer */
    void *c;
    pthread_t cthread;
    bool cstarted;
    bool cprimed, cdone; /* under mu: the consumer has read the priming records / returned */
    struct sb_consume_job cj;
    int crc;
    char cwhy[512];
    struct sb_window w;
    struct sb_hist e2e;
    int64_t b0, c0; /* CPU marks at the release */
    uint64_t t_go;
    struct sb_synccount sync;
    struct sb_verify *verify; /* this run's record checks */
    bool counting;
    char sync_why[300];
};

static bool producer_ready(void *arg, bool primed)
{
    struct e2e *x = ((struct pctx *)arg)->x;
    if (!primed)
        atomic_store(&x->abort, true);
    pthread_mutex_lock(&x->mu);
    x->n_primed++;
    pthread_cond_broadcast(&x->cond);
    while (!x->go)
        pthread_cond_wait(&x->cond, &x->mu);
    pthread_mutex_unlock(&x->mu);
    return !atomic_load(&x->abort);
}

static void release(struct e2e *x)
{
    pthread_mutex_lock(&x->mu);
    x->go = true;
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&x->mu);
}

static void *producer_main(void *arg)
{
    struct pctx *p = arg;
    char name[16];
    snprintf(name, sizeof(name), "sb-producer");
    prctl(PR_SET_NAME, name, 0, 0, 0);
    p->rc = sb_produce_job_run(&p->job, p->why, sizeof(p->why));
    return NULL;
}

static void consumer_primed(void *arg)
{
    struct e2e *x = arg;
    pthread_mutex_lock(&x->mu);
    x->cprimed = true;
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&x->mu);
}

static void *consumer_main(void *arg)
{
    struct e2e *x = arg;
    prctl(PR_SET_NAME, "sb-consumer", 0, 0, 0);
    x->crc = sb_consume_job_run(&x->cj, x->cwhy, sizeof(x->cwhy));
    pthread_mutex_lock(&x->mu);
    x->cdone = true;
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

/* Once every producer primed: the consumer, which reads the priming records first, so that
 * its connection, metadata and first fetches (librdkafka's take ~0.5 s) are done before the
 * clock starts. false: abort the run. */
static bool start_consumer(struct e2e *x, long long expect)
{
    const struct sb_opts *o = x->o;
    const struct sb_client *cl = o->client;
    struct sb_cfg cfg;
    sb_env_cfg(x->env, o, &cfg);
    x->c = cl->cons_new(&cfg, x->cwhy, sizeof(x->cwhy));
    if (!x->c)
        return false;
    int parts = (int)o->partitions;
    if (o->bootstrap && !o->partitions_given) {
        parts = cl->partitions(x->c, &cfg, x->topic, x->cwhy, sizeof(x->cwhy));
        if (parts <= 0)
            return false;
    }
    for (int i = 0; i < parts; i++)
        if (cl->assign(x->c, x->topic, i, x->cwhy, sizeof(x->cwhy)))
            return false;
    x->cj = (struct sb_consume_job){
        .client = cl,
        .c = x->c,
        .expect = expect,
        .idle_ms = 10000,
        .primes = x->n,
        .on_primed = consumer_primed,
        .primed_arg = x,
        .window = &x->w,
        .e2e = &x->e2e,
        .verify = x->verify,
    };
    x->cprimed = x->cdone = false;
    if (pthread_create(&x->cthread, NULL, consumer_main, x)) {
        snprintf(x->cwhy, sizeof(x->cwhy), "pthread_create failed");
        return false;
    }
    x->cstarted = true;
    pthread_mutex_lock(&x->mu);
    while (!x->cprimed && !x->cdone)
        pthread_cond_wait(&x->cond, &x->mu);
    bool ok = x->cprimed;
    pthread_mutex_unlock(&x->mu);
    if (!ok && !x->cwhy[0])
        snprintf(x->cwhy, sizeof(x->cwhy), "the consumer stopped before the priming records");
    return ok;
}

struct run_out {
    long long produced, consumed, failed;
    double seconds;
    bool digest_ok;
    uint64_t digest_p, digest_c;
    long long fdatasyncs, fsyncs; /* -1: not counted */
    int64_t broker_ns, self_ns;
};

/* One run into figs; 0, or -errno with why. */
static int e2e_once(struct e2e *x, int run, struct sb_hist *ack, struct run_out *out, char *why,
                    size_t why_len)
{
    const struct sb_opts *o = x->o;
    memset(out, 0, sizeof(*out));
    out->fdatasyncs = out->fsyncs = -1;
    long long total = o->count ? o->count : o->rate * o->duration_ms / 1000;
    int n = x->n;
    char label[48];
    snprintf(label, sizeof(label), "%s run %d/%lld", o->cmd, run + 1, o->runs);
    sb_window_init(&x->w, label, o->interval_ms, true);
    sb_hist_init(&x->e2e);
    atomic_store(&x->abort, false);
    x->c = NULL;
    x->cstarted = false;
    x->crc = 0;
    x->cwhy[0] = 0;
    x->counting = false;
    x->n_primed = 0;
    x->go = false;
    double gap = o->rate > 0 ? 1e9 / (double)o->rate : 0;
    int started = 0;
    uint64_t bases[MAX_PRODUCERS];
    long long counts[MAX_PRODUCERS];
    for (int i = 0; i < n; i++) {
        bases[i] = ((uint64_t)run << 48) | ((uint64_t)i << 40);
        counts[i] = total / n + (i < total % n ? 1 : 0);
    }
    x->verify = sb_verify_new(n, bases, counts, (size_t)o->record_size,
                              o->partitions > 1024 ? (int)o->partitions : 1024);
    if (!x->verify) {
        snprintf(why, why_len, "out of memory");
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        struct pctx *p = &x->p[i];
        memset(p, 0, sizeof(*p));
        p->x = x;
        sb_hist_init(&p->ack);
        p->job = (struct sb_produce_job){
            .client = o->client,
            .topic = x->topic,
            .record_size = (size_t)o->record_size,
            .count = counts[i],
            .rate = o->rate > 0 ? (double)o->rate / n : 0,
            .phase_ns = (uint64_t)(gap * i),
            .seq_base = bases[i],
            .keyed = o->keyed,
            .ready = producer_ready,
            .ready_arg = p,
            .ack = &p->ack,
            .verify = x->verify,
            .verify_k = i,
        };
        sb_env_cfg(x->env, o, &p->job.cfg);
        if (pthread_create(&p->thread, NULL, producer_main, p)) {
            atomic_store(&x->abort, true);
            snprintf(x->cwhy, sizeof(x->cwhy), "cannot start producer thread %d", i);
            break;
        }
        p->started = true;
        started++;
    }
    pthread_mutex_lock(&x->mu);
    while (x->n_primed < started)
        pthread_cond_wait(&x->cond, &x->mu);
    pthread_mutex_unlock(&x->mu);
    if (!atomic_load(&x->abort) && !start_consumer(x, total))
        atomic_store(&x->abort, true);
    if (!atomic_load(&x->abort) && x->durable && x->env->broker.pid > 0) {
        x->counting = sb_synccount_start(&x->sync, x->env->broker.pid, x->env->dir, x->sync_why,
                                         sizeof(x->sync_why)) == 0;
    }
    x->b0 = sb_env_broker_cpu_ns(x->env);
    x->c0 = sb_self_cpu_ns();
    x->t_go = sb_now_ns();
    release(x);
    for (int i = 0; i < started; i++)
        pthread_join(x->p[i].thread, NULL);
    if (x->cstarted)
        pthread_join(x->cthread, NULL);
    int64_t b1 = sb_env_broker_cpu_ns(x->env), c1 = sb_self_cpu_ns();
    if (x->counting) {
        if (sb_synccount_stop(&x->sync, &out->fdatasyncs, &out->fsyncs, x->sync_why,
                              sizeof(x->sync_why)))
            out->fdatasyncs = out->fsyncs = -1;
    }
    if (x->c)
        o->client->cons_free(x->c);
    x->c = NULL;
    sb_window_free(&x->w);

    int rc = 0;
    for (int i = 0; i < started; i++) {
        struct pctx *p = &x->p[i];
        sb_hist_merge(ack, &p->ack);
        out->produced += p->job.records;
        out->failed += p->job.failed;
        out->digest_p += p->job.digest;
        if (p->job.seconds > out->seconds)
            out->seconds = p->job.seconds;
        if (p->rc && p->rc != -ECANCELED && !rc) {
            snprintf(why, why_len, "producer %d: %s", i, p->why);
            rc = p->rc;
        }
    }
    if (!rc && atomic_load(&x->abort)) {
        snprintf(why, why_len, "consumer: %s", x->cwhy[0] ? x->cwhy : "did not start");
        rc = -EIO;
    }
    if (!rc && x->crc) {
        snprintf(why, why_len, "consumer: %s", x->cwhy);
        rc = x->crc;
    }
    out->consumed = x->cj.records;
    out->digest_c = x->cj.digest;
    out->digest_ok = out->consumed == out->produced && out->digest_c == out->digest_p;
    char vlabel[80], vwhy[400] = "";
    snprintf(vlabel, sizeof(vlabel), "splicelog-bench %s: run %d", o->cmd, run + 1);
    bool complete = !x->crc && x->cj.records >= total;
    long long bad = sb_verify_finish(x->verify, complete, stderr, vlabel, vwhy, sizeof(vwhy));
    sb_verify_free(x->verify);
    x->verify = NULL;
    if (bad)
        out->digest_ok = false;
    if (!rc && !out->digest_ok) {
        snprintf(why, why_len,
                 "consumed %lld records (digest %016llx), produced %lld (%016llx)%s%s",
                 out->consumed, (unsigned long long)out->digest_c, out->produced,
                 (unsigned long long)out->digest_p, bad ? "; record checks: " : "", vwhy);
        rc = -EBADMSG;
    }
    out->broker_ns = x->b0 >= 0 && b1 >= 0 ? b1 - x->b0 : -1;
    out->self_ns = c1 - x->c0;
    return rc;
}

static int run_cmd(const struct sb_opts *o, bool durable)
{
    const char *cmd = o->cmd;
    char why[512] = "";
    if (o->producers > MAX_PRODUCERS) {
        fprintf(stderr, "splicelog-bench %s: at most %d producers\n", cmd, MAX_PRODUCERS);
        return SB_EXIT_USAGE;
    }
    long long total = o->count ? o->count : o->rate * o->duration_ms / 1000;
    if (total < o->producers) {
        fprintf(stderr,
                "splicelog-bench %s: rate x duration gives fewer records than "
                "producers\n",
                cmd);
        return SB_EXIT_USAGE;
    }
    /* The paced producers sleep between records: 10 us of timer slack instead of 50. */
    prctl(PR_SET_TIMERSLACK, 10000UL, 0, 0, 0);
    const char *extra[] = {durable ? "log.flush.interval.messages=1" : NULL, NULL};
    struct sb_env env;
    if (sb_env_open(&env, o, extra, why, sizeof(why))) {
        fprintf(stderr, "splicelog-bench %s: %s\n", cmd, why);
        return 1;
    }
    static struct sb_figs fs;
    static struct e2e x;
    sb_figs_init(&fs, o);
    memset(&x, 0, sizeof(x));
    x.o = o;
    x.env = &env;
    x.durable = durable;
    x.n = (int)o->producers;
    pthread_mutex_init(&x.mu, NULL);
    pthread_cond_init(&x.cond, NULL);
    snprintf(fs.settings, sizeof(fs.settings),
             "client=%s rate=%lld record_size=%lld records_per_run=%lld producers=%lld acks=%s "
             "linger_ms=%lld partitions=%lld keyed=%d tls=%d%s",
             o->client->name, o->rate, o->record_size, total, o->producers, o->acks, o->linger_ms,
             o->partitions, o->keyed, o->tls, durable ? " log.flush.interval.messages=1" : "");
    snprintf(fs.broker, sizeof(fs.broker), "%s %s", o->bootstrap ? "external" : "own",
             o->bootstrap ? o->bootstrap : o->broker_bin);
    sb_figs_sect(&fs, "throughput", "throughput");
    sb_figs_sect(&fs, "e2e_latency",
                 "end-to-end latency, ms (intended send time -> the consumer has the record)");
    sb_figs_sect(&fs, "ack_latency",
                 "send->ack latency, ms (intended send time -> delivery report)");
    if (durable) {
        sb_figs_sect(&fs, "durability", "group commit (the broker's fdatasync calls in the run)");
        sb_figs_sect(&fs, "disk",
                     "the disk alone: append 1 record + fdatasync in the data dir, ms");
    }
    sb_figs_sect(&fs, "cpu", "CPU (scheduler ns)");
    if (durable && !o->bootstrap) {
        char fst[64];
        sb_fs_type(env.data, fst, sizeof(fst));
        if (!strcmp(fst, "tmpfs"))
            sb_figs_note(&fs, "the data directory is on tmpfs: fdatasync costs nothing there; "
                              "set TMPDIR to a directory on a disk");
        sb_figs_note(&fs, "data directory file system: %s", fst);
    }
    if (durable && o->bootstrap)
        sb_figs_note(&fs, "external broker: its flush settings are its own, its fdatasyncs and "
                          "CPU are not measured");
    if (strcmp(o->acks, "all") && strcmp(o->acks, "-1") && durable)
        sb_figs_note(&fs, "acks=%s: acknowledgements do not wait for the fdatasync", o->acks);
    struct sb_hist *ack = malloc(sizeof(*ack)), *disk = malloc(sizeof(*disk));
    int rc = ack && disk ? 0 : -ENOMEM;
    for (int r = 0; r < o->runs && !rc; r++) {
        snprintf(x.topic, sizeof(x.topic), "%s-r%d", o->topic, r + 1);
        if (durable && !o->bootstrap) {
            sb_hist_init(disk);
            int e = sb_limit_fdatasync(env.data, 500, (size_t)o->record_size, disk);
            if (e)
                sb_figs_note(&fs, "disk fdatasync limit: %s", strerror(-e));
            else {
                sb_figs_set(&fs, r, "disk", "fdatasync_p50_ms", "p50", 3,
                            (double)sb_hist_percentile(disk, 50) / 1e6);
                sb_figs_set(&fs, r, "disk", "fdatasync_p99_ms", "p99", 3,
                            (double)sb_hist_percentile(disk, 99) / 1e6);
                sb_figs_set(&fs, r, "disk", "fdatasync_max_ms", "max", 3, (double)disk->max / 1e6);
            }
        }
        sb_hist_init(ack);
        struct run_out out;
        rc = e2e_once(&x, r, ack, &out, why, sizeof(why));
        if (rc) {
            fprintf(stderr, "splicelog-bench %s: run %d: %s\n", cmd, r + 1, why);
            break;
        }
        double rps = out.seconds > 0 ? (double)out.produced / out.seconds : NAN;
        double gib = (double)out.produced * (double)o->record_size / 1073741824.0;
        sb_figs_set(&fs, r, "throughput", "records", "records produced and consumed", 0,
                    (double)out.produced);
        sb_figs_set(&fs, r, "throughput", "records_per_s", "records/s reached (producers)", 0, rps);
        sb_figs_latency(&fs, r, "e2e_latency", &x.e2e);
        sb_figs_latency(&fs, r, "ack_latency", ack);
        if (durable) {
            bool counted = out.fdatasyncs >= 0;
            sb_figs_set(&fs, r, "durability", "fdatasyncs", "fdatasync calls", 0,
                        counted ? (double)out.fdatasyncs : NAN);
            sb_figs_set(&fs, r, "durability", "fdatasyncs_per_s", "fdatasync calls/s", 0,
                        counted && out.seconds > 0 ? (double)out.fdatasyncs / out.seconds : NAN);
            sb_figs_set(&fs, r, "durability", "records_per_fdatasync", "records per fdatasync", 2,
                        counted && out.fdatasyncs > 0
                            ? (double)out.produced / (double)out.fdatasyncs
                            : NAN);
            sb_figs_set(&fs, r, "durability", "fsyncs", "fsync calls (directories, indexes)", 0,
                        counted ? (double)out.fsyncs : NAN);
            if (counted)
                sb_figs_note(&fs, "fdatasync calls counted with %s", x.sync.method);
            else if (!o->bootstrap)
                sb_figs_note(&fs, "fdatasync calls not counted: %s", x.sync_why);
            double dp99 = disk->count ? (double)sb_hist_percentile(disk, 99) : NAN;
            sb_figs_set(
                &fs, r, "durability", "ack_p99_over_disk_p99", "ack p99 / disk fdatasync p99", 2,
                !o->bootstrap && dp99 > 0 ? (double)sb_hist_percentile(ack, 99) / dp99 : NAN);
        }
        sb_cpu_figs(&fs, r, "broker", out.broker_ns, gib, out.produced, out.seconds);
        sb_cpu_figs(&fs, r, "client", out.self_ns, gib, out.produced, out.seconds);
        fprintf(stderr,
                "%s run %d/%lld: %lld records, %.0f records/s, e2e p50 %.3f p99 %.3f p99.9 %.3f "
                "max %.3f ms\n",
                cmd, r + 1, o->runs, out.produced, rps,
                (double)sb_hist_percentile(&x.e2e, 50) / 1e6,
                (double)sb_hist_percentile(&x.e2e, 99) / 1e6,
                (double)sb_hist_percentile(&x.e2e, 99.9) / 1e6, (double)x.e2e.max / 1e6);
    }
    free(ack);
    free(disk);
    sb_env_close(&env);
    if (o->bootstrap && !durable)
        sb_figs_note(&fs, "external broker: its CPU is not measured");
    if (fs.runs && sb_figs_report(&fs))
        rc = -EIO;
    return rc || !fs.runs ? 1 : 0;
}

int sb_cmd_e2e(const struct sb_opts *o) { return run_cmd(o, false); }

int sb_cmd_durable(const struct sb_opts *o) { return run_cmd(o, true); }

int sb_e2e_measure(const struct sb_opts *o, const struct sb_env *env, int run, struct sb_hist *e2e,
                   struct sb_hist *ack, char *why, size_t why_len)
{
    if (o->producers > MAX_PRODUCERS) {
        snprintf(why, why_len, "at most %d producers", MAX_PRODUCERS);
        return -EINVAL;
    }
    static struct e2e x;
    memset(&x, 0, sizeof(x));
    x.o = o;
    x.env = env;
    x.n = (int)o->producers;
    pthread_mutex_init(&x.mu, NULL);
    pthread_cond_init(&x.cond, NULL);
    snprintf(x.topic, sizeof(x.topic), "%s-r%d", o->topic, run + 1);
    sb_hist_init(ack);
    struct run_out out;
    int rc = e2e_once(&x, run, ack, &out, why, why_len);
    *e2e = x.e2e;
    pthread_mutex_destroy(&x.mu);
    pthread_cond_destroy(&x.cond);
    return rc;
}
