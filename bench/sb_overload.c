/*
 * sb_overload — quality of service under overload (issue 22): what a modest client sees when a
 * greedy one shares the broker.
 *
 * One run, on one broker, in four phases:
 *   quiet   --producers paced producers (--client) at --rate together, with one consumer, for
 *           --duration: end-to-end and send->ack latency as `e2e` measures them (sb_e2e.c:
 *           from each record's intended send time, no coordinated omission);
 *   alone   --greedy unthrottled producers (--greedy-client, librdkafka by default: the issue's
 *           measurement) on a topic of their own, alone: records/s and MB/s over --duration,
 *           counted from delivery reports after their first one and a warm-up second;
 *   loaded  the greedy producers again and, after the same warm-up, the quiet phase again
 *           beside them; the greedy producers' records/s over the paced phase (its priming and
 *           the consumer's drain included);
 *   after   the greedy producers alone again, as in `alone`: their rate drifts with the
 *           machine, so the loaded phase is compared with the mean of the two alone phases
 *           around it (A-B-A).
 * Each phase's topics are deleted when it ends (drop_topic: their page cache freed for the next
 * phase, whose writes would otherwise land in memory the VM has to fault in again).
 * The goal of the issue is checked on the medians over --runs: loaded e2e p99 <= 3 ms and <= 10x
 * the quiet p99, the greedy producers keeping >= 70% of their alone throughput.
 *
 * The greedy producers use the bench's acks and linger.ms 5 (a throughput client's batching;
 * -X applies to both kinds of client); every topic is fresh per run and phase.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "sb.h"

#define MAX_GREEDY  16
#define WARMUP_MS   1000
#define GREEDY_LING 5

struct greedy {
    pthread_t thread;
    bool started;
    struct sb_produce_job job;
    _Atomic long long acked;
    int rc;
    char why[512];
    char topic[320];
};

struct crowd {
    struct greedy g[MAX_GREEDY];
    int n;
    _Atomic bool stop;
};

static void *greedy_main(void *arg)
{
    struct greedy *g = arg;
    prctl(PR_SET_NAME, "sb-greedy", 0, 0, 0);
    g->rc = sb_produce_job_run(&g->job, g->why, sizeof(g->why));
    return NULL;
}

static long long crowd_acked(struct crowd *cr)
{
    long long n = 0;
    for (int i = 0; i < cr->n; i++)
        n += atomic_load(&cr->g[i].acked);
    return n;
}

static void crowd_start(struct crowd *cr, const struct sb_opts *o, const struct sb_env *env,
                        int run, const char *phase)
{
    memset(cr, 0, sizeof(*cr));
    cr->n = (int)o->greedy;
    atomic_store(&cr->stop, false);
    for (int i = 0; i < cr->n; i++) {
        struct greedy *g = &cr->g[i];
        snprintf(g->topic, sizeof(g->topic), "%s-greedy-%s-r%d", o->topic, phase, run + 1);
        g->job = (struct sb_produce_job){
            .client = o->greedy_client,
            .topic = g->topic,
            .record_size = (size_t)o->record_size,
            .seq_base = ((uint64_t)run << 48) | ((uint64_t)(i + 32) << 40),
            .acked = &g->acked,
            .stop = &cr->stop,
        };
        sb_env_cfg(env, o, &g->job.cfg);
        g->job.cfg.linger_ms = GREEDY_LING;
        atomic_store(&g->acked, 0);
        g->started = pthread_create(&g->thread, NULL, greedy_main, g) == 0;
        if (!g->started) {
            g->rc = -EAGAIN;
            snprintf(g->why, sizeof(g->why), "cannot start a thread");
        }
    }
}

/* Stops and joins them; 0, or the first error with why. */
static int crowd_stop(struct crowd *cr, char *why, size_t why_len)
{
    atomic_store(&cr->stop, true);
    int rc = 0;
    for (int i = 0; i < cr->n; i++) {
        struct greedy *g = &cr->g[i];
        if (g->started)
            pthread_join(g->thread, NULL);
        if (g->rc && !rc) {
            rc = g->rc;
            snprintf(why, why_len, "greedy producer %d: %s", i, g->why);
        }
    }
    return rc;
}

static void sleep_ms(long long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* Until the crowd's first records are delivered (their producers have primed and connected:
 * librdkafka takes up to a second), at most 30 s, then the warm-up. */
static void crowd_warm(struct crowd *cr)
{
    for (int i = 0; i < 3000 && crowd_acked(cr) == 0; i++)
        sleep_ms(10);
    sleep_ms(WARMUP_MS);
}

/* Records/s of the crowd over ms milliseconds, after the warm-up. */
static double crowd_rate_alone(struct crowd *cr, long long ms)
{
    crowd_warm(cr);
    long long a0 = crowd_acked(cr);
    uint64_t t0 = sb_now_ns();
    sleep_ms(ms);
    long long a1 = crowd_acked(cr);
    uint64_t t1 = sb_now_ns();
    return t1 > t0 ? (double)(a1 - a0) * 1e9 / (double)(t1 - t0) : NAN;
}

struct goal {
    double quiet_p99[SB_MAX_RUNS], loaded_p99[SB_MAX_RUNS], share[SB_MAX_RUNS];
    int kept; /* topics a phase left behind (not deleted) */
};

/*
 * A phase's topics are deleted when it ends, so that their page cache is freed before the
 * next phase: on a VM whose unused memory goes back to the host, writing into memory the
 * kernel has not recycled lately costs several times more CPU (splicelog-bench machine), and
 * a phase that runs after another one's gigabytes would otherwise pay for them (the greedy
 * producer's loaded phase did: 44-48% of its alone rate with or without the paced clients).
 * Not over TLS (the admin connection is plaintext): the topics are then kept, and said so.
 */
static void drop_topic(const struct sb_opts *o, const struct sb_env *env, struct goal *gl,
                       const char *topic)
{
    char why[512];
    if (o->tls || sb_admin_delete_topic(env->bootstrap, topic, why, sizeof(why)))
        gl->kept++;
}

static void drop_crowd(const struct sb_opts *o, const struct sb_env *env, struct goal *gl,
                       struct crowd *cr)
{
    for (int i = 0; i < cr->n; i++)
        drop_topic(o, env, gl, cr->g[i].topic);
}

/* The greedy producers alone, on topics of their own for this phase: records/s. */
static int alone_phase(const struct sb_opts *o, const struct sb_env *env, int run,
                       const char *phase, struct goal *gl, struct crowd *cr, double *rate,
                       char *why, size_t why_len)
{
    crowd_start(cr, o, env, run, phase);
    *rate = crowd_rate_alone(cr, o->duration_ms);
    int rc = crowd_stop(cr, why, why_len);
    drop_crowd(o, env, gl, cr);
    return rc;
}

static int overload_once(const struct sb_opts *o, const struct sb_env *env, int run,
                         struct sb_figs *fs, struct goal *gl, struct sb_hist *e2e,
                         struct sb_hist *ack, char *why, size_t why_len)
{
    static struct crowd cr;
    double mib = (double)o->record_size / 1048576.0;
    char done[320];

    /* quiet */
    struct sb_opts q = *o;
    char topic[300];
    snprintf(topic, sizeof(topic), "%s-quiet", o->topic);
    q.topic = topic;
    int rc = sb_e2e_measure(&q, env, run, e2e, ack, why, why_len);
    if (rc)
        return rc;
    snprintf(done, sizeof(done), "%s-r%d", topic, run + 1);
    drop_topic(o, env, gl, done);
    sb_figs_latency(fs, run, "quiet_e2e", e2e);
    sb_figs_latency(fs, run, "quiet_ack", ack);
    gl->quiet_p99[run] = (double)sb_hist_percentile(e2e, 99) / 1e6;
    double q50 = (double)sb_hist_percentile(e2e, 50) / 1e6;

    /* alone, before */
    double before = NAN, after = NAN;
    rc = alone_phase(o, env, run, "alone", gl, &cr, &before, why, why_len);
    if (rc)
        return rc;

    /* loaded */
    crowd_start(&cr, o, env, run, "loaded");
    crowd_warm(&cr);
    long long a0 = crowd_acked(&cr);
    uint64_t t0 = sb_now_ns();
    snprintf(topic, sizeof(topic), "%s-loaded", o->topic);
    rc = sb_e2e_measure(&q, env, run, e2e, ack, why, why_len);
    long long a1 = crowd_acked(&cr);
    uint64_t t1 = sb_now_ns();
    char gwhy[512] = "";
    int grc = crowd_stop(&cr, gwhy, sizeof(gwhy));
    drop_crowd(o, env, gl, &cr);
    snprintf(done, sizeof(done), "%s-r%d", topic, run + 1);
    drop_topic(o, env, gl, done);
    if (rc)
        return rc;
    if (grc) {
        snprintf(why, why_len, "%s", gwhy);
        return grc;
    }
    double loaded = t1 > t0 ? (double)(a1 - a0) * 1e9 / (double)(t1 - t0) : NAN;
    sb_figs_latency(fs, run, "loaded_e2e", e2e);
    sb_figs_latency(fs, run, "loaded_ack", ack);

    /* alone, after: the greedy producers' rate drifts with the machine (its memory above all);
     * the loaded phase is compared with the mean of the alone phases on either side of it */
    rc = alone_phase(o, env, run, "after", gl, &cr, &after, why, why_len);
    if (rc)
        return rc;
    double alone = (before + after) / 2;
    sb_figs_set(fs, run, "greedy", "alone_records_per_s", "alone, before: records/s", 0, before);
    sb_figs_set(fs, run, "greedy", "after_records_per_s", "alone, after: records/s", 0, after);
    sb_figs_set(fs, run, "greedy", "alone_mean_records_per_s", "alone, mean of both: records/s", 0,
                alone);
    sb_figs_set(fs, run, "greedy", "alone_mb_per_s", "alone, mean of both: MiB/s of values", 1,
                alone * mib);
    sb_figs_set(fs, run, "greedy", "loaded_records_per_s", "beside the paced clients: records/s", 0,
                loaded);
    sb_figs_set(fs, run, "greedy", "loaded_mb_per_s", "beside the paced clients: MiB/s", 1,
                loaded * mib);
    gl->loaded_p99[run] = (double)sb_hist_percentile(e2e, 99) / 1e6;
    gl->share[run] = alone > 0 ? loaded / alone : NAN;
    sb_figs_set(fs, run, "goal", "loaded_over_quiet_p99", "paced e2e p99: loaded / quiet", 1,
                gl->quiet_p99[run] > 0 ? gl->loaded_p99[run] / gl->quiet_p99[run] : NAN);
    sb_figs_set(fs, run, "goal", "greedy_share", "greedy records/s: loaded / alone", 2,
                gl->share[run]);
    fprintf(stderr,
            "overload run %d/%lld: quiet e2e p50 %.3f p99 %.3f ms; loaded e2e p50 %.3f p99 %.3f "
            "p99.9 %.3f max %.3f ms; greedy %.0f records/s alone (%.0f before, %.0f after), %.0f "
            "loaded (%.0f%%)\n",
            run + 1, o->runs, q50, gl->quiet_p99[run], (double)sb_hist_percentile(e2e, 50) / 1e6,
            gl->loaded_p99[run], (double)sb_hist_percentile(e2e, 99.9) / 1e6,
            (double)e2e->max / 1e6, alone, before, after, loaded, 100 * gl->share[run]);
    return 0;
}

int sb_cmd_overload(const struct sb_opts *o)
{
    char why[512] = "";
    if (o->greedy > MAX_GREEDY) {
        fprintf(stderr, "splicelog-bench overload: at most %d greedy producers\n", MAX_GREEDY);
        return SB_EXIT_USAGE;
    }
    if (!o->duration_ms) {
        fprintf(stderr, "splicelog-bench overload: --duration, not --count\n");
        return SB_EXIT_USAGE;
    }
    prctl(PR_SET_TIMERSLACK, 10000UL, 0, 0, 0); /* the paced producers sleep between records */
    struct sb_env env;
    if (sb_env_open(&env, o, NULL, why, sizeof(why))) {
        fprintf(stderr, "splicelog-bench overload: %s\n", why);
        return 1;
    }
    static struct sb_figs fs;
    static struct goal gl;
    sb_figs_init(&fs, o);
    snprintf(fs.settings, sizeof(fs.settings),
             "client=%s greedy_client=%s greedy=%lld rate=%lld record_size=%lld producers=%lld "
             "acks=%s linger_ms=%lld greedy_linger_ms=%d duration_ms=%lld",
             o->client->name, o->greedy_client->name, o->greedy, o->rate, o->record_size,
             o->producers, o->acks, o->linger_ms, GREEDY_LING, o->duration_ms);
    snprintf(fs.broker, sizeof(fs.broker), "%s %s", o->bootstrap ? "external" : "own",
             o->bootstrap ? o->bootstrap : o->broker_bin);
    sb_figs_sect(&fs, "quiet_e2e", "paced clients alone: end-to-end latency, ms");
    sb_figs_sect(&fs, "quiet_ack", "paced clients alone: send->ack latency, ms");
    sb_figs_sect(&fs, "loaded_e2e", "paced clients beside the greedy ones: end-to-end, ms");
    sb_figs_sect(&fs, "loaded_ack", "paced clients beside the greedy ones: send->ack, ms");
    sb_figs_sect(&fs, "greedy", "greedy producers (unthrottled), all together");
    sb_figs_sect(&fs, "goal", "issue 22: loaded p99 <= 3 ms and <= 10x quiet, greedy >= 70%");
    struct sb_hist *e2e = malloc(sizeof(*e2e)), *ack = malloc(sizeof(*ack));
    int rc = e2e && ack ? 0 : -ENOMEM;
    for (int r = 0; r < o->runs && !rc; r++) {
        rc = overload_once(o, &env, r, &fs, &gl, e2e, ack, why, sizeof(why));
        if (rc)
            fprintf(stderr, "splicelog-bench overload: run %d: %s\n", r + 1, why);
    }
    free(e2e);
    free(ack);
    sb_env_close(&env);
    if (fs.runs) {
        struct sb_stat qs, ls, ss;
        sb_stat_of(gl.quiet_p99, fs.runs, &qs);
        sb_stat_of(gl.loaded_p99, fs.runs, &ls);
        sb_stat_of(gl.share, fs.runs, &ss);
        bool met = ls.median <= 3.0 && ls.median <= 10 * qs.median && ss.median >= 0.70;
        sb_figs_note(&fs,
                     "goal on the medians: loaded e2e p99 %.3f ms (<= 3), %.1fx the quiet p99 "
                     "%.3f ms (<= 10x), greedy at %.0f%% of alone (>= 70%%): %s",
                     ls.median, qs.median > 0 ? ls.median / qs.median : NAN, qs.median,
                     100 * ss.median, met ? "met" : "NOT met");
        sb_figs_note(&fs,
                     "greedy records/s: delivery reports over --duration (alone, before and "
                     "after the loaded phase; the goal uses their mean) or the paced phase "
                     "(loaded), each after their first delivery and a %d ms warm-up; every "
                     "phase's topics are deleted when it ends",
                     WARMUP_MS);
        if (gl.kept)
            sb_figs_note(&fs,
                         "%d topics could not be deleted after their phase (TLS, or "
                         "DeleteTopics refused)",
                         gl.kept);
        if (o->bootstrap)
            sb_figs_note(&fs, "external broker: its settings are its own");
    }
    if (fs.runs && sb_figs_report(&fs))
        rc = -EIO;
    return rc || !fs.runs ? 1 : 0;
}
