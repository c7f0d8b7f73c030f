/*
 * sb_scale — what the broker costs as the work spreads out (`scale`): broker CPU per million
 * records and resident memory per partition / per connection, at --partition-list partitions
 * (default 1,100,1000,10000) and --connection-list connections (default the same).
 *
 * Partitions: a fresh broker with num.partitions=P; one producer (--client) sends --count
 * records round-robin over the P partitions (record i to partition (i / --sticky) % P: with
 * --sticky N every partition count sees batches of up to N records, so that a figure that grows
 * with P is a cost of partitions, not of smaller batches), or with --keyed through the murmur2
 * partitioner (key = the record's sequence number). Before the clock starts, every partition
 * the run will write gets one record (a partition's directory and first segment file are made
 * by its first append: a one-time cost, not one of the per-batch costs measured). RSS is read
 * after start, after that priming, and after the last record was acknowledged (see
 * derive_marginal for the per-partition figure). Then the broker is stopped (SIGTERM: a clean
 * shutdown) and started again on the same data: start-up is the time until it is ready (its port
 * file, written once the store is open and the listeners are up), idle RSS the restarted broker's,
 * and one Metadata request for the topic (every partition) is timed. Connections: a fresh broker
 * with one partition; C raw connections (sb_conns.c) each keep one Produce request of
 * --batch-records records in flight until --count records (at least one full request per
 * connection) were acknowledged. RSS is read after start, once every connection is established
 * (idle cost) and after producing, with the connections open. RSS is VmRSS: anonymous memory and
 * the mapped file pages the broker touched (its indexes). The broker's CPU is taken over the
 * producing only (topic creation and connecting are reported apart: connect CPU per 1,000
 * connections).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb.h"

/* per point and run: CPU per million records, records/s, RSS growth per unit at creation
 * (partitions) or once connected (connections), broker RSS after producing, RSS per unit beyond
 * the list's first point (derived after all runs), connect CPU per 1,000 connections */
enum {
    F_CPU,
    F_RATE,
    F_RSS_A,
    F_RSS_MIB,
    F_RSS_B,
    F_CONNECT,
    F_START,    /* partitions: start-up on the data, s */
    F_IDLE_MIB, /* partitions: RSS of the restarted broker */
    F_IDLE_B,   /* partitions: its RSS per partition beyond the first point's */
    F_META,     /* partitions: one Metadata request for the topic, ms */
    F_N
};

struct point {
    long long x; /* partitions or connections */
    long long records;
    double v[F_N][SB_MAX_RUNS];
    int n; /* runs measured */
    char error[300];
};

struct scale {
    const struct sb_opts *o;
    struct point parts[SB_MAX_LIST], conns[SB_MAX_LIST];
    struct sb_figs head;
};

static const char *const part_keys[F_N] = {"broker_cpu_s_per_m_records",
                                           "records_per_s",
                                           "rss_kib_per_partition_written",
                                           "broker_rss_mib",
                                           "rss_kib_per_partition",
                                           NULL,
                                           "startup_s",
                                           "idle_rss_mib",
                                           "idle_rss_kib_per_partition",
                                           "metadata_ms"};
static const char *const conn_keys[F_N] = {
    "broker_cpu_s_per_m_records",  "records_per_s",
    "rss_kib_per_connection_idle", "broker_rss_mib",
    "rss_kib_per_connection",      "connect_cpu_ms_per_1000"};
static const int decimals[F_N] = {3, 0, 1, 1, 1, 1, 3, 1, 2, 1};

struct mark {
    const struct sb_env *env;
    int64_t cpu;
    long long rss;
};

static bool mark(void *arg, bool ok)
{
    struct mark *m = arg;
    m->cpu = sb_env_broker_cpu_ns(m->env);
    m->rss = sb_proc_rss_kib(m->env->broker.pid);
    return ok;
}

static int part_run(const struct sb_opts *o, struct point *pt, int run, char *why, size_t why_len)
{
    char maxp[64];
    snprintf(maxp, sizeof(maxp), "topic.partitions.max=%lld", pt->x > 4096 ? pt->x : 4096);
    const char *extra[] = {maxp, "log.scrub.bytes.per.sec=0", NULL};
    struct sb_opts po = *o;
    po.partitions = pt->x;
    struct sb_env env;
    int rc = sb_env_open(&env, &po, extra, why, why_len);
    if (rc)
        return rc;
    long long rss0 = sb_proc_rss_kib(env.broker.pid);
    /* one record to every partition the run writes (round-robin: the first count / sticky) */
    long long touched = pt->x;
    if (!o->keyed && (o->count + o->sticky - 1) / o->sticky < touched)
        touched = (o->count + o->sticky - 1) / o->sticky;
    struct sb_produce_job prime = {
        .client = o->client,
        .topic = "scale",
        .record_size = (size_t)o->record_size,
        .count = touched,
        .round_robin = (int32_t)touched,
        .sticky = 1,
        .seq_base = 1ULL << 40,
    };
    sb_env_cfg(&env, &po, &prime.cfg);
    rc = sb_produce_job_run(&prime, why, why_len);
    if (rc) {
        sb_env_close(&env);
        return rc;
    }
    long long rss_primed = sb_proc_rss_kib(env.broker.pid);
    struct mark m = {&env, 0, 0};
    struct sb_produce_job job = {
        .client = o->client,
        .topic = "scale",
        .record_size = (size_t)o->record_size,
        .count = o->count,
        .round_robin = o->keyed ? 0 : (int32_t)pt->x,
        .sticky = (int32_t)o->sticky,
        .keyed = o->keyed,
        .ready = mark,
        .ready_arg = &m,
    };
    sb_env_cfg(&env, &po, &job.cfg);
    rc = sb_produce_job_run(&job, why, why_len);
    int64_t cpu1 = sb_env_broker_cpu_ns(&env);
    long long rss1 = sb_proc_rss_kib(env.broker.pid);
    double start_s = NAN, meta_ms = NAN;
    long long rss2 = -1;
    if (!rc)
        rc = sb_env_restart(&env, &po, extra, &start_s, why, why_len);
    if (!rc) {
        rss2 = sb_proc_rss_kib(env.broker.pid);
        uint64_t t0 = sb_now_ns();
        int np = sb_admin_partitions(env.bootstrap, "scale", false, why, why_len);
        meta_ms = (double)(sb_now_ns() - t0) / 1e6;
        if (np < 0) {
            rc = np;
        } else if (np != pt->x) {
            snprintf(why, why_len, "Metadata after the restart: %d partitions, want %lld", np,
                     pt->x);
            rc = -EPROTO;
        }
    }
    sb_env_close(&env);
    if (rc)
        return rc;
    pt->records = job.records;
    pt->v[F_CPU][run] = (double)(cpu1 - m.cpu) / 1e9 / (double)job.records * 1e6;
    pt->v[F_RATE][run] = job.seconds > 0 ? (double)job.records / job.seconds : NAN;
    pt->v[F_RSS_A][run] = (double)(rss_primed - rss0) / (double)touched;
    pt->v[F_RSS_MIB][run] = (double)rss1 / 1024.0;
    pt->v[F_RSS_B][run] = NAN;
    pt->v[F_CONNECT][run] = NAN;
    pt->v[F_START][run] = start_s;
    pt->v[F_IDLE_MIB][run] = (double)rss2 / 1024.0;
    pt->v[F_IDLE_B][run] = NAN;
    pt->v[F_META][run] = meta_ms;
    return 0;
}

static int conn_run(const struct sb_opts *o, struct point *pt, int run, char *why, size_t why_len)
{
    char maxc[64];
    snprintf(maxc, sizeof(maxc), "max.connections=%lld", pt->x + 64);
    const char *extra[] = {maxc, "log.scrub.bytes.per.sec=0", NULL};
    struct sb_opts po = *o;
    po.partitions = 1;
    struct sb_env env;
    int rc = sb_env_open(&env, &po, extra, why, why_len);
    if (rc)
        return rc;
    rc = sb_admin_partitions(env.bootstrap, "scale", true, why, why_len);
    if (rc < 0) {
        sb_env_close(&env);
        return rc;
    }
    long long rss0 = sb_proc_rss_kib(env.broker.pid);
    int64_t c0 = sb_env_broker_cpu_ns(&env);
    struct sb_conns *cs = sb_conns_open(env.broker.port, (int)pt->x, why, why_len);
    if (!cs) {
        sb_env_close(&env);
        return -EIO;
    }
    int64_t c1 = sb_env_broker_cpu_ns(&env);
    long long rss1 = sb_proc_rss_kib(env.broker.pid);
    long long records = o->count;
    if (records < pt->x * o->batch_records)
        records = pt->x * o->batch_records; /* every connection sends one full request */
    struct sb_conns_result res;
    rc = sb_conns_produce(cs, "scale", records, (int)o->batch_records, (size_t)o->record_size, &res,
                          why, why_len);
    int64_t c2 = sb_env_broker_cpu_ns(&env);
    long long rss2 = sb_proc_rss_kib(env.broker.pid);
    sb_conns_close(cs);
    sb_env_close(&env);
    if (rc)
        return rc;
    pt->records = res.records;
    pt->v[F_CPU][run] = (double)(c2 - c1) / 1e9 / (double)res.records * 1e6;
    pt->v[F_RATE][run] = res.seconds > 0 ? (double)res.records / res.seconds : NAN;
    pt->v[F_RSS_A][run] = (double)(rss1 - rss0) / (double)pt->x;
    pt->v[F_RSS_MIB][run] = (double)rss2 / 1024.0;
    pt->v[F_RSS_B][run] = NAN;
    pt->v[F_CONNECT][run] = (double)(c1 - c0) / 1e6 / (double)pt->x * 1000.0;
    return 0;
}

/*
 * RSS per partition/connection in use: the broker's RSS after producing, beyond the list's
 * first (smallest) point, per extra partition/connection. Dividing one point's growth by its own
 * count would charge the first segment, buffers and index pages of the data itself to "one
 * partition"; the difference between two points holds the same records and cancels them.
 */
static void derive_marginal(struct point *pts, int n, int from, int to)
{
    int base = -1;
    for (int i = 0; i < n; i++)
        if (!pts[i].error[0] && pts[i].n && (base < 0 || pts[i].x < pts[base].x))
            base = i;
    if (base < 0)
        return;
    struct sb_stat b;
    sb_stat_of(pts[base].v[from], pts[base].n, &b);
    for (int i = 0; i < n; i++) {
        struct point *pt = &pts[i];
        if (i == base || pt->error[0] || pt->x <= pts[base].x)
            continue;
        for (int r = 0; r < pt->n; r++)
            pt->v[to][r] = (pt->v[from][r] - b.median) * 1024.0 / (double)(pt->x - pts[base].x);
    }
}

static void print_points(FILE *f, const struct point *pts, int n, bool conns)
{
    static const char *const phead[F_N] = {"CPU s/M records", "records/s",       "KiB/part written",
                                           "broker RSS MiB",  "KiB/extra part",  NULL,
                                           "start-up s",      "restart RSS MiB", "KiB/idle part",
                                           "Metadata ms"};
    static const char *const chead[F_N] = {"CPU s/M records", "records/s",
                                           "KiB/conn idle",   "broker RSS MiB",
                                           "KiB/extra conn",  "connect CPU ms/1k"};
    const char *const *head = conns ? chead : phead;
    fprintf(f, "  %11s", conns ? "connections" : "partitions");
    for (int k = 0; k < F_N; k++)
        if (head[k])
            fprintf(f, " %20s", head[k]);
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        const struct point *pt = &pts[i];
        fprintf(f, "  %11lld", pt->x);
        if (pt->error[0]) {
            fprintf(f, " FAILED: %s\n", pt->error);
            continue;
        }
        for (int k = 0; k < F_N; k++) {
            if (!head[k])
                continue;
            char b[64];
            sb_fmt_stat(b, sizeof(b), pt->v[k], pt->n, decimals[k]);
            fprintf(f, " %20s", b);
        }
        fputc('\n', f);
    }
}

static void json_points(struct sb_json *j, const char *key, const struct point *pts, int n,
                        bool conns)
{
    const char *const *keys = conns ? conn_keys : part_keys;
    sb_json_arr(j, key);
    for (int i = 0; i < n; i++) {
        const struct point *pt = &pts[i];
        sb_json_obj(j, NULL);
        sb_json_int(j, conns ? "connections" : "partitions", pt->x);
        sb_json_int(j, "records", pt->records);
        for (int k = 0; k < F_N; k++)
            if (keys[k])
                sb_json_stat(j, keys[k], pt->v[k], pt->n, decimals[k] + 1);
        if (pt->error[0])
            sb_json_str(j, "error", pt->error);
        sb_json_end(j);
    }
    sb_json_end(j);
}

/* A chart of three columns: against partitions (top row) CPU, RSS (after producing and of the
 * restarted broker, log y) and start-up; against connections (bottom row) CPU and RSS. Log x,
 * each point the median with a min-max bar; the series of a panel are named by its title. */
static int plot(const struct scale *s, const char *png, char *why, size_t why_len)
{
    const struct sb_opts *o = s->o;
    size_t cap = 16384, used = 0;
    char *sc = malloc(cap);
    if (!sc)
        return -ENOMEM;
#define OUT(...) used += (size_t)snprintf(sc + used, used < cap ? cap - used : 0, __VA_ARGS__)
    const struct point *sets[2] = {s->parts, s->conns};
    int counts[2] = {o->n_part_list, o->n_conn_list};
    for (int g = 0; g < 2; g++) {
        OUT("$%s << EOD\n", g ? "c" : "p");
        for (int i = 0; i < counts[g]; i++) {
            const struct point *pt = &sets[g][i];
            if (pt->error[0] || !pt->n)
                continue;
            OUT("%lld", pt->x);
            for (int k = 0; k < F_N; k++) {
                struct sb_stat st;
                sb_stat_of(pt->v[k], pt->n, &st);
                OUT(" %g %g %g", isnan(st.median) ? 0 : st.median, isnan(st.min) ? 0 : st.min,
                    isnan(st.max) ? 0 : st.max);
            }
            OUT("\n");
        }
        OUT("EOD\n");
    }
    int rows = (o->n_part_list > 0) + (o->n_conn_list > 0);
    OUT("set terminal pngcairo size 1500,%d font 'sans,10'\nset output '%s'\n",
        rows > 1 ? 860 : 470, png);
    OUT("set multiplot layout %d,3 title \"splicelog-bench scale: %s, %d core%s, %s\" font "
        "'sans,12'\n",
        rows > 1 ? rows : 1, s->head.machine.kernel, s->head.machine.cores,
        s->head.machine.cores == 1 ? "" : "s",
        o->runs > 1 ? "median of the runs per point, bars min-max" : "one run per point");
    OUT("unset key\nset logscale x 10\nset grid\nset yrange [0:*]\nset offsets graph 0.05, "
        "graph 0.05, graph 0.1, 0\nset lmargin 12\nset bmargin 4\nset format x '%%.0f'\n"
        "set style line 1 lc rgb '#3b6ea5' lw 2 pt 7 ps 1.2\n"
        "set style line 2 lc rgb '#c0504d' lw 2 pt 5 ps 1.2\n");
    /* columns: x, then per figure k median/min/max at 2+3k, 3+3k, 4+3k */
    const char *xl[2] = {"partitions (one producer)", "connections (producing)"};
    for (int g = 0; g < 2; g++) {
        if (!counts[g])
            continue;
        OUT("set xlabel '%s'\n", xl[g]);
        OUT("set title 'broker CPU per million records'\nset ylabel 'CPU s'\n");
        OUT("plot $%s using 1:2:3:4 with yerrorlines ls 1\n", g ? "c" : "p");
        if (!g) {
            /* RSS after producing and of the restarted (idle) broker, then start-up */
            OUT("set title 'broker RSS: after producing (red), restarted idle (blue)'\n"
                "set ylabel 'MiB'\nset logscale y 10\nset yrange [*:*]\n");
            OUT("plot $p using 1:%d:%d:%d with yerrorlines ls 2, $p using 1:%d:%d:%d with "
                "yerrorlines ls 1\n",
                2 + 3 * F_RSS_MIB, 3 + 3 * F_RSS_MIB, 4 + 3 * F_RSS_MIB, 2 + 3 * F_IDLE_MIB,
                3 + 3 * F_IDLE_MIB, 4 + 3 * F_IDLE_MIB);
            OUT("unset logscale y\nset yrange [0:*]\n");
            OUT("set title 'start-up on the data (clean shutdown)'\nset ylabel 's'\n");
            OUT("plot $p using 1:%d:%d:%d with yerrorlines ls 1\n", 2 + 3 * F_START,
                3 + 3 * F_START, 4 + 3 * F_START);
        } else {
            OUT("set title 'broker RSS after producing'\nset ylabel 'MiB'\n");
            OUT("plot $c using 1:%d:%d:%d with yerrorlines ls 2\n", 2 + 3 * F_RSS_MIB,
                3 + 3 * F_RSS_MIB, 4 + 3 * F_RSS_MIB);
            OUT("set multiplot next\n");
        }
    }
    OUT("unset multiplot\n");
#undef OUT
    if (used >= cap) {
        free(sc);
        snprintf(why, why_len, "chart script too long");
        return -ENOSPC;
    }
    int rc = sb_gnuplot(sc, why, why_len);
    free(sc);
    return rc;
}

int sb_cmd_scale(const struct sb_opts *o)
{
    static struct scale s;
    memset(&s, 0, sizeof(s));
    s.o = o;
    sb_figs_init(&s.head, o);
    snprintf(s.head.settings, sizeof(s.head.settings),
             "client=%s records=%lld record_size=%lld keyed=%d sticky=%lld linger_ms=%lld "
             "batch_records=%lld",
             o->client->name, o->count, o->record_size, o->keyed, o->sticky, o->linger_ms,
             o->batch_records);
    snprintf(s.head.broker, sizeof(s.head.broker), "own %s", o->broker_bin);
    long long maxc = 0, maxp = 0;
    for (int i = 0; i < o->n_conn_list; i++)
        maxc = o->conn_list[i] > maxc ? o->conn_list[i] : maxc;
    for (int i = 0; i < o->n_part_list; i++)
        maxp = o->part_list[i] > maxp ? o->part_list[i] : maxp;
    /* the broker inherits the limit: its sockets, and a bounded number of segment files
     * (log.open.files.max: half the limit), whatever the number of partitions */
    long long want = 2 * (maxc + 1024), got = sb_nofile_raise(want);
    (void)maxp;
    if (got < want)
        sb_figs_note(&s.head, "open-file limit %lld (wanted %lld): the biggest points may fail",
                     got, want);
    bool failed = false;
    for (int i = 0; i < o->n_part_list; i++) {
        struct point *pt = &s.parts[i];
        pt->x = o->part_list[i];
        for (int r = 0; r < o->runs; r++) {
            char why[512] = "";
            int rc = part_run(o, pt, r, why, sizeof(why));
            if (rc) {
                snprintf(pt->error, sizeof(pt->error), "%.290s", why);
                failed = true;
                break;
            }
            pt->n = r + 1;
            fprintf(stderr,
                    "scale partitions=%lld run %d/%lld: %lld records, broker %.3f CPU s per "
                    "million records, RSS %.1f MiB\n",
                    pt->x, r + 1, o->runs, pt->records, pt->v[F_CPU][r], pt->v[F_RSS_MIB][r]);
        }
    }
    for (int i = 0; i < o->n_conn_list; i++) {
        struct point *pt = &s.conns[i];
        pt->x = o->conn_list[i];
        for (int r = 0; r < o->runs; r++) {
            char why[512] = "";
            int rc = conn_run(o, pt, r, why, sizeof(why));
            if (rc) {
                snprintf(pt->error, sizeof(pt->error), "%.290s", why);
                failed = true;
                break;
            }
            pt->n = r + 1;
            fprintf(stderr,
                    "scale connections=%lld run %d/%lld: %lld records, broker %.3f CPU s per "
                    "million records, RSS %.1f MiB\n",
                    pt->x, r + 1, o->runs, pt->records, pt->v[F_CPU][r], pt->v[F_RSS_MIB][r]);
        }
    }
    derive_marginal(s.parts, o->n_part_list, F_RSS_MIB, F_RSS_B);
    derive_marginal(s.parts, o->n_part_list, F_IDLE_MIB, F_IDLE_B);
    derive_marginal(s.conns, o->n_conn_list, F_RSS_MIB, F_RSS_B);
    s.head.runs = (int)o->runs;
    s.head.load_end = sb_loadavg1();

    bool json_stdout = o->json && !strcmp(o->json, "-");
    FILE *f = json_stdout ? stderr : stdout;
    fprintf(f, "splicelog-bench scale: %s\ncommand: %s\n", s.head.settings, o->command);
    fprintf(f, "machine: %s, %d cores, %s; load average (1 min) %.2f at start, %.2f at end\n",
            s.head.machine.cpu_model, s.head.machine.cores, s.head.machine.kernel,
            s.head.load_start, s.head.load_end);
    fprintf(f, "broker: %s; CPU: %s; %lld run%s per point%s\n", s.head.broker, sb_proc_cpu_source(),
            o->runs, o->runs == 1 ? "" : "s",
            o->runs > 1 ? ": median [min-max], '!' = spread above 25% of the median" : "");
    if (o->n_part_list) {
        fprintf(f,
                "partitions: one %s producer, %s (%lld record%s per partition in turn), %lld "
                "records of %lld bytes, acks=%s, linger.ms=%lld\n",
                o->client->name, o->keyed ? "keyed (murmur2)" : "round-robin", o->sticky,
                o->sticky == 1 ? "" : "s", o->count, o->record_size, o->acks, o->linger_ms);
        print_points(f, s.parts, o->n_part_list, false);
    }
    if (o->n_conn_list) {
        fprintf(f,
                "connections: raw Produce v7 requests of %lld records of %lld bytes to one "
                "partition, acks=1, one in flight per connection, at least %lld records\n",
                o->batch_records, o->record_size, o->count);
        print_points(f, s.conns, o->n_conn_list, true);
    }
    fprintf(f, "RSS: VmRSS (anonymous memory and the file pages the broker touched). written: "
               "growth over the fresh broker once every partition the run writes got its first "
               "record, per such partition; idle (connections): once every connection is up, "
               "per connection; extra: RSS after producing beyond the first "
               "point's, per partition / connection beyond its count; idle: the restarted "
               "broker's RSS beyond the first point's, per partition beyond its count. "
               "start-up: a clean stop, then a start on the same data until the broker is ready; "
               "Metadata: one request for every partition of the topic after the restart\n");
    for (int i = 0; i < s.head.n_notes; i++)
        fprintf(f, "note: %s\n", s.head.notes[i]);
    fflush(f);

    int rc = 0;
    if (o->json) {
        struct sb_json j;
        rc = sb_json_open(&j, o->json);
        if (!rc) {
            sb_json_obj(&j, NULL);
            sb_figs_json_head(&j, &s.head);
            json_points(&j, "partitions", s.parts, o->n_part_list, false);
            json_points(&j, "connections", s.conns, o->n_conn_list, true);
            sb_json_arr(&j, "notes");
            for (int i = 0; i < s.head.n_notes; i++)
                sb_json_str(&j, NULL, s.head.notes[i]);
            sb_json_end(&j);
            sb_json_end(&j);
            rc = sb_json_close(&j);
        }
        if (rc)
            fprintf(stderr, "splicelog-bench scale: %s: %s\n", o->json, strerror(-rc));
    }
    if (o->plot) {
        char why[512] = "";
        if (!sb_plot_or_skip(plot(&s, o->plot, why, sizeof(why)), o->plot, why))
            failed = true;
    }
    return failed || rc ? 1 : 0;
}
