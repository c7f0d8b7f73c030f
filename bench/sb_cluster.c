/*
 * sb_cluster — `cluster` (issue 18, milestone M5): what replication costs, measured in one
 * command against a single node of the same build on the same machine.
 *
 * The cluster and the single node: sb_clu.h.
 *
 * Each run, on fresh topics (TOPIC-tput-rN, TOPIC-catchup-rN, TOPIC-e2e-rN, TOPIC-failover-rN):
 * a. throughput: the same producer (--count records of --record-size, round robin over the
 *    --partitions, --linger, one client) to the single node with acks=1, then to the cluster
 *    with acks=all (replication factor 3): records/s, MB/s, their ratio, and the brokers' CPU
 *    per GiB (the cluster's: the three brokers together). Before the clock starts, one record
 *    to every partition with the same acks: the followers of every partition are fetching.
 *    The two sides take turns going first (odd runs: the single node first).
 * Before a, b and c the page cache is written back (sync(2)): a measurement must not pay for
 * the writeback of the one before. The throughput and catch-up topics are deleted once
 * measured (drop_topic): their page cache is freed, so that the next measurement writes into
 * recycled memory rather than memory the VM must fault in again (splicelog-bench machine).
 * b. the leader's CPU per GiB served to followers: partition 0 of a replication-factor-3 topic
 *    once all three replicas are in sync; its two followers are stopped (SIGSTOP), --size bytes
 *    are produced to the leader (acks=1); the leader's idle CPU rate is read over 500 ms; the
 *    followers are resumed (SIGCONT), and the leader's CPU is read from then until both
 *    followers' logs hold as many bytes as the leader's. Caught up is read from the followers'
 *    segment files (data/<topic>-0/ *.log: a follower appends the leader's batches byte for
 *    byte), polled every millisecond from here, so that the leader is asked nothing during the
 *    window. The figure: that CPU less the idle rate over the same time, per GiB the followers
 *    were missing (both summed; the raw figure is reported too). Left outside the window: the
 *    one fetch response per follower the leader may have sent before the stop took effect
 *    (at most replica.fetch.max.bytes). The followers must not stay stopped past their
 *    ZooKeeper session (6 s), or they rejoin as restarted brokers: a note says so when they did.
 * c. end-to-end latency: sb_e2e_measure (the e2e mode: --producers paced producers, one
 *    consumer, every record checked) against the cluster with acks=all at --rate for
 *    --duration; e2e and send->ack percentiles. Every partition primed first, as in a.
 * d. failover: every partition primed (acks=all) and in sync; a producer at --rate (acks=all,
 *    round robin over the partitions) runs 2 s, then
 *    the leader of partition 0 is killed (SIGKILL). Times from the kill to the first
 *    acknowledgement of a partition-0 record sent after the kill (one sent before may have been
 *    answered by the dead leader, its answer still in a socket buffer) and to such an
 *    acknowledgement on every partition (each partition whose ISR held the dead broker waits
 *    for it to be removed). A killed broker is dead for the cluster only once its ZooKeeper
 *    session expires, so these include zookeeper.session.timeout.ms (printed in the settings).
 *    The killed broker is restarted on its data afterwards, and the next run waits until it is
 *    registered again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sb.h"
#include "sb_clu.h"

#define FAILOVER_WARMUP 2000  /* ms of steady production before the kill */
#define FAILOVER_BOUND  60000 /* ms after the session timeout to wait for every partition */
#define MAX_PARTS       10000

static void client_cfg(const struct sb_opts *o, const char *bootstrap, const char *acks,
                       long long linger_ms, struct sb_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->bootstrap = bootstrap;
    cfg->acks = acks;
    cfg->linger_ms = linger_ms;
    cfg->props = o->props;
}

static void prime_dr(void *arg, bool ok, const void *value, size_t len, void *msg_opaque,
                     int32_t partition, int64_t offset)
{
    long long *n = arg; /* [0] delivered, [1] failed */
    n[ok ? 0 : 1]++;
}

/*
 * One priming record (seq SB_SEQ_PRIME: no consumer of the bench counts or checks it) to every
 * partition of topic with acks, from a producer of its own: the topic exists, every partition
 * has a leader and, with acks=all on the cluster, followers that fetch it, before a clock starts
 * (a fresh topic's partitions otherwise stall the first acks=all records while the followers
 * learn of them). 0 or -errno with why.
 */
static int prime_partitions(const struct sb_opts *o, const char *bootstrap, const char *topic,
                            const char *acks, char *why, size_t why_len)
{
    struct sb_cfg cfg;
    client_cfg(o, bootstrap, acks, 0, &cfg);
    long long n[2] = {0, 0};
    void *p = o->client->prod_new(&cfg, prime_dr, n, why, why_len);
    if (!p)
        return -EINVAL;
    uint8_t *value = malloc((size_t)o->record_size);
    int rc = value ? 0 : -ENOMEM;
    for (int32_t i = 0; i < (int32_t)o->partitions && !rc; i++) {
        sb_value_fill(value, (size_t)o->record_size, SB_SEQ_PRIME, sb_wall_ns());
        for (int tries = 0; tries < 3000; tries++) { /* a full queue: 30 s at most */
            rc = o->client->produce(p, topic, i, NULL, 0, value, (size_t)o->record_size, 0, NULL,
                                    why, why_len);
            if (rc != -ENOBUFS)
                break;
            o->client->poll(p, 10);
        }
        if (rc == -ENOBUFS)
            snprintf(why, why_len, "%s: the client's queue stayed full for 30 s", topic);
    }
    if (!rc && (o->client->flush(p, 30000) || n[0] != o->partitions)) {
        snprintf(why, why_len, "%s: %lld of %lld priming records delivered (acks=%s)", topic, n[0],
                 o->partitions, acks);
        rc = -EIO;
    }
    if (rc == -ENOMEM)
        snprintf(why, why_len, "out of memory");
    free(value);
    o->client->prod_free(p);
    return rc;
}

/* ---- a. throughput ------------------------------------------------------------------------ */

struct cpu_mark {
    const struct sb_broker *b;
    int n;
    int64_t ns;
};

static int64_t cpu_sum(const struct sb_broker *b, int n)
{
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        int64_t v = b[i].pid > 0 ? sb_proc_cpu_ns(b[i].pid) : -1;
        if (v < 0)
            return -1;
        sum += v;
    }
    return sum;
}

static bool mark_cpu(void *arg, bool ok)
{
    struct cpu_mark *m = arg;
    m->ns = cpu_sum(m->b, m->n);
    return ok;
}

/* One producer run of o's settings; records/s, MB/s and the brokers' CPU s/GiB into fs. */
/* A measured topic is deleted once its figures are taken (its page cache freed, so that the
 * next measurement does not pay for memory the VM has to fault in again: splicelog-bench
 * machine); a failure is counted and noted, the figures stand. */
static void drop_topic(struct sb_clu *c, const char *boot, const char *topic)
{
    char why[512];
    if (sb_admin_delete_topic(boot, topic, why, sizeof(why)))
        c->kept++;
}

static int tput_one(struct sb_clu *c, struct sb_figs *fs, int run, bool cluster, double *rps_out,
                    char *why, size_t why_len)
{
    const struct sb_opts *o = c->o;
    char topic[320], boot[64], label[64];
    snprintf(topic, sizeof(topic), "%s-tput-r%d", o->topic, run + 1);
    const struct sb_broker *b = cluster ? c->b : &c->single;
    if (cluster)
        snprintf(boot, sizeof(boot), "%s", c->bootstrap);
    else
        sb_clu_addr(&c->single, boot, sizeof(boot));
    snprintf(label, sizeof(label), "cluster run %d/%lld %s", run + 1, o->runs,
             cluster ? "RF 3 acks=all" : "single acks=1");
    int rc = prime_partitions(o, boot, topic, cluster ? "all" : "1", why, why_len);
    if (rc)
        return rc;
    struct sb_window w;
    sb_window_init(&w, label, o->interval_ms, true);
    struct cpu_mark m = {b, cluster ? SB_CLU_BROKERS : 1, -1};
    struct sb_produce_job job = {
        .client = o->client,
        .topic = topic,
        .record_size = (size_t)o->record_size,
        .count = o->count,
        .seq_base = (uint64_t)(run * 2 + cluster) << 40,
        .round_robin = (int32_t)o->partitions,
        .ready = mark_cpu,
        .ready_arg = &m,
        .window = &w,
    };
    client_cfg(o, boot, cluster ? "all" : "1", o->linger_ms, &job.cfg);
    rc = sb_produce_job_run(&job, why, why_len);
    int64_t c1 = cpu_sum(b, m.n);
    sb_window_free(&w);
    if (rc)
        return rc;
    const char *who = cluster ? "rf3" : "single";
    char key[32], lab[64];
    double rps = job.seconds > 0 ? (double)job.records / job.seconds : NAN;
    double gib = (double)job.bytes / 1073741824.0;
    *rps_out = rps;
    snprintf(key, sizeof(key), "%s_records_per_s", who);
    snprintf(lab, sizeof(lab), "%s: records/s", cluster ? "RF 3 acks=all" : "single acks=1");
    sb_figs_set(fs, run, "throughput", key, lab, 0, rps);
    snprintf(key, sizeof(key), "%s_mb_per_s", who);
    snprintf(lab, sizeof(lab), "%s: MB/s (values)", cluster ? "RF 3 acks=all" : "single acks=1");
    sb_figs_set(fs, run, "throughput", key, lab, 1,
                job.seconds > 0 ? (double)job.bytes / job.seconds / 1e6 : NAN);
    snprintf(key, sizeof(key), "%s_broker_cpu_s_per_gib", who);
    snprintf(lab, sizeof(lab), "%s",
             cluster ? "RF 3: CPU of the 3 brokers, s/GiB" : "single: broker CPU, s/GiB");
    sb_figs_set(fs, run, "throughput", key, lab, 3,
                m.ns >= 0 && c1 >= 0 && gib > 0 ? (double)(c1 - m.ns) / 1e9 / gib : NAN);
    fprintf(stderr, "%s: %lld records in %.2f s, %.0f records/s\n", label, job.records, job.seconds,
            rps);
    drop_topic(c, boot, topic);
    return 0;
}

/* ---- b. the leader serving its followers -------------------------------------------------- */

static int catchup(struct sb_clu *c, struct sb_figs *fs, int run, char *why, size_t why_len)
{
    const struct sb_opts *o = c->o;
    char topic[320];
    snprintf(topic, sizeof(topic), "%s-catchup-r%d", o->topic, run + 1);
    /* the topic, with every replica in sync */
    struct sb_produce_job job = {
        .client = o->client,
        .topic = topic,
        .record_size = (size_t)o->record_size,
        .count = 1,
        .seq_base = (uint64_t)(run * 2 + 1) << 40,
        .round_robin = 1,
    };
    client_cfg(o, c->bootstrap, "all", 0, &job.cfg);
    int rc = sb_produce_job_run(&job, why, why_len);
    struct sb_part_state st;
    if (rc || (rc = sb_clu_wait_in_sync(c, topic, 0, &st, why, why_len)))
        return rc;
    int lead = sb_clu_by_id(st.leader), fol[2], nf = 0;
    for (int i = 0; i < SB_CLU_BROKERS; i++)
        if (i != lead)
            fol[nf++] = i;
    long long before[2];
    for (int k = 0; k < 2; k++)
        kill(c->b[fol[k]].pid, SIGSTOP);
    uint64_t t_stop = sb_now_ns();
    for (int k = 0; k < 2; k++)
        if ((before[k] = sb_clu_log_bytes(c->data[fol[k]], topic, 0)) < 0) {
            snprintf(why, why_len, "%s: follower %d: no partition directory", topic, fol[k] + 1);
            rc = -ENOENT;
            goto resume;
        }
    /* the bytes the followers will miss, produced to the leader alone */
    char lboot[64];
    sb_clu_addr(&c->b[lead], lboot, sizeof(lboot));
    job.count = o->size / o->record_size;
    job.seq_base = (uint64_t)(run * 2 + 1) << 40 | 1;
    client_cfg(o, lboot, "1", o->linger_ms, &job.cfg);
    sb_progress(o, "cluster run %d: %lld records to the leader, followers stopped", run + 1,
                job.count);
    if ((rc = sb_produce_job_run(&job, why, why_len)))
        goto resume;
    long long lb = sb_clu_log_bytes(c->data[lead], topic, 0);
    int64_t i0 = sb_proc_cpu_ns(c->b[lead].pid);
    uint64_t ti0 = sb_now_ns();
    sb_clu_sleep_ms(500);
    int64_t i1 = sb_proc_cpu_ns(c->b[lead].pid);
    uint64_t ti1 = sb_now_ns();
    double idle_rate = i0 >= 0 && i1 >= 0 ? (double)(i1 - i0) / (double)(ti1 - ti0) : NAN;

    int64_t c0 = sb_proc_cpu_ns(c->b[lead].pid);
    uint64_t t0 = sb_now_ns();
    for (int k = 0; k < 2; k++)
        kill(c->b[fol[k]].pid, SIGCONT);
    bool caught = false;
    for (long i = 0; i < 120000 && !caught; i++) { /* 120 s, every ms */
        caught = sb_clu_log_bytes(c->data[fol[0]], topic, 0) >= lb &&
                 sb_clu_log_bytes(c->data[fol[1]], topic, 0) >= lb;
        if (!caught)
            sb_clu_sleep_ms(1);
    }
    uint64_t t1 = sb_now_ns();
    int64_t c1 = sb_proc_cpu_ns(c->b[lead].pid);
    sb_progress_end(o);
    if (!caught) {
        snprintf(why, why_len, "%s: the followers did not catch up within 120 s", topic);
        return -ETIMEDOUT;
    }
    double stopped_ms = (double)(t0 - t_stop) / 1e6;
    if (stopped_ms >= (double)c->session_ms)
        sb_figs_note(fs,
                     "run %d: the followers were stopped %.0f ms, past their ZooKeeper session "
                     "(%lld ms): they came back as restarted brokers",
                     run + 1, stopped_ms, c->session_ms);
    double secs = (double)(t1 - t0) / 1e9;
    double served = (double)(lb - before[0]) + (double)(lb - before[1]);
    double gib = served / 1073741824.0;
    double raw = c0 >= 0 && c1 >= 0 ? (double)(c1 - c0) / 1e9 : NAN;
    double net = raw - idle_rate * secs;
    sb_figs_set(fs, run, "follower_fetch", "leader_cpu_s_per_gib",
                "leader CPU s/GiB to followers (net of idle)", 3, gib > 0 ? net / gib : NAN);
    sb_figs_set(fs, run, "follower_fetch", "leader_cpu_raw_s_per_gib",
                "leader CPU s/GiB to followers (raw)", 3, gib > 0 ? raw / gib : NAN);
    sb_figs_set(fs, run, "follower_fetch", "leader_idle_cpu_ms_per_s",
                "leader idle CPU, ms/s (subtracted)", 2, idle_rate * 1e3);
    sb_figs_set(fs, run, "follower_fetch", "served_mib", "MiB sent to the 2 followers", 1,
                served / 1048576.0);
    sb_figs_set(fs, run, "follower_fetch", "catchup_s", "catch-up time, s", 3, secs);
    sb_figs_set(fs, run, "follower_fetch", "catchup_mb_per_s", "MB/s to followers (both)", 1,
                secs > 0 ? served / secs / 1e6 : NAN);
    fprintf(stderr,
            "cluster run %d/%lld catch-up: %.1f MiB to 2 followers in %.3f s, leader %.3f s CPU "
            "(idle %.2f ms/s)\n",
            run + 1, o->runs, served / 1048576.0, secs, raw, idle_rate * 1e3);
    drop_topic(c, c->bootstrap, topic);
    return 0;
resume:
    for (int k = 0; k < 2; k++)
        kill(c->b[fol[k]].pid, SIGCONT);
    sb_progress_end(o);
    return rc;
}

/* ---- c. end-to-end latency ---------------------------------------------------------------- */

static int e2e(struct sb_clu *c, struct sb_figs *fs, int run, struct sb_hist *lat,
               struct sb_hist *ack, char *why, size_t why_len)
{
    struct sb_opts o2 = *c->o;
    char topic[320];
    snprintf(topic, sizeof(topic), "%s-e2e", c->o->topic);
    o2.topic = topic;
    o2.acks = "all";
    o2.count = 0;
    if (!o2.linger_given)
        o2.linger_ms = 0;
    struct sb_env env;
    memset(&env, 0, sizeof(env));
    snprintf(env.bootstrap, sizeof(env.bootstrap), "%s", c->bootstrap);
    char rtopic[340];
    snprintf(rtopic, sizeof(rtopic), "%s-r%d", topic, run + 1); /* sb_e2e_measure's name */
    int rc = prime_partitions(c->o, c->bootstrap, rtopic, "all", why, why_len);
    if (rc)
        return rc;
    rc = sb_e2e_measure(&o2, &env, run, lat, ack, why, why_len);
    if (rc)
        return rc;
    sb_figs_latency(fs, run, "e2e_latency", lat);
    sb_figs_latency(fs, run, "ack_latency", ack);
    fprintf(stderr,
            "cluster run %d/%lld e2e: %llu records, p50 %.3f p99 %.3f p99.9 %.3f max %.3f ms\n",
            run + 1, c->o->runs, (unsigned long long)lat->count,
            (double)sb_hist_percentile(lat, 50) / 1e6, (double)sb_hist_percentile(lat, 99) / 1e6,
            (double)sb_hist_percentile(lat, 99.9) / 1e6, (double)lat->max / 1e6);
    return 0;
}

/* ---- d. failover -------------------------------------------------------------------------- */

struct fo {
    int n_parts;
    uint64_t t_kill; /* 0 until the kill */
    uint64_t *first; /* per partition: the first ack of a record sent after the kill; 0: none */
    int n_first;
    long long acked, failed;
};

static void fo_dr(void *arg, bool ok, const void *value, size_t len, void *msg_opaque,
                  int32_t partition, int64_t offset)
{
    (void)value;
    (void)len;
    (void)offset;
    struct fo *f = arg;
    uint64_t intended = (uint64_t)(uintptr_t)msg_opaque;
    if (!ok) {
        f->failed++;
        return;
    }
    f->acked++;
    if (!f->t_kill || intended < f->t_kill || partition < 0 || partition >= f->n_parts ||
        f->first[partition])
        return;
    f->first[partition] = sb_now_ns();
    f->n_first++;
}

static int restart(struct sb_clu *c, int i, double *seconds, char *why, size_t why_len)
{
    uint64_t t0 = sb_now_ns();
    int rc = -ETIMEDOUT;
    for (int attempt = 0; attempt < 5; attempt++) {
        if ((rc = sb_clu_broker_start(c, i, why, why_len))) {
            sb_clu_sleep_ms(1000); /* its old session not expired yet: NodeExists, it exits */
            continue;
        }
        char w[256];
        if (!(rc = sb_clu_wait_registered(c, 30, w, sizeof(w))))
            break;
        snprintf(why, why_len, "broker %d restarted: %s", i + 1, w);
        if (waitpid(c->b[i].pid, NULL, WNOHANG) == c->b[i].pid)
            c->b[i].pid = 0;
        else
            break;
    }
    *seconds = (double)(sb_now_ns() - t0) / 1e9;
    return rc;
}

static int failover(struct sb_clu *c, struct sb_figs *fs, int run, char *why, size_t why_len)
{
    const struct sb_opts *o = c->o;
    char topic[320];
    snprintf(topic, sizeof(topic), "%s-failover-r%d", o->topic, run + 1);
    int np = (int)o->partitions;
    struct fo f = {.n_parts = np, .first = calloc((size_t)np, sizeof(uint64_t))};
    uint8_t *value = malloc((size_t)o->record_size);
    void *p = NULL;
    int rc = 0, victim = -1;
    if (!f.first || !value) {
        snprintf(why, why_len, "out of memory");
        rc = -ENOMEM;
        goto out;
    }
    struct sb_cfg cfg;
    client_cfg(o, c->bootstrap, "all", o->linger_given ? o->linger_ms : 0, &cfg);
    if (!(p = o->client->prod_new(&cfg, fo_dr, &f, why, why_len))) {
        rc = -EINVAL;
        goto out;
    }
    struct sb_part_state st;
    if ((rc = prime_partitions(o, c->bootstrap, topic, "all", why, why_len)) ||
        (rc = sb_clu_wait_in_sync(c, topic, 0, &st, why, why_len)))
        goto out;
    victim = sb_clu_by_id(st.leader);

    uint64_t t0 = sb_now_ns(), wall0 = sb_wall_ns();
    uint64_t kill_at = t0 + FAILOVER_WARMUP * 1000000ULL;
    uint64_t deadline = kill_at + (uint64_t)(c->session_ms + FAILOVER_BOUND) * 1000000ULL;
    double gap = 1e9 / (double)o->rate;
    sb_progress(o, "cluster run %d: failover: producing, leader %d to be killed", run + 1,
                victim + 1);
    for (uint64_t i = 0; !rc; i++) {
        uint64_t intended = t0 + (uint64_t)((double)i * gap), now = sb_now_ns();
        if (now < intended) {
            o->client->poll(p, 0);
            now = sb_now_ns();
            if (now < intended) {
                uint64_t ns = intended - now; /* below gap: --rate is at least 1 */
                struct timespec ts = {(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};
                nanosleep(&ts, NULL);
                now = sb_now_ns();
            }
        }
        if (!f.t_kill && now >= kill_at) {
            kill(c->b[victim].pid, SIGKILL);
            f.t_kill = sb_now_ns();
            waitpid(c->b[victim].pid, NULL, 0);
            c->b[victim].pid = 0;
        }
        if (f.t_kill && f.n_first == np)
            break;
        if (now > deadline) {
            snprintf(why, why_len,
                     "%s: %d of %d partitions acknowledged a record within %lld ms of the kill",
                     topic, f.n_first, np, c->session_ms + FAILOVER_BOUND);
            rc = -ETIMEDOUT;
            break;
        }
        sb_value_fill(value, (size_t)o->record_size, ((uint64_t)run << 40) | i,
                      wall0 + (intended - t0));
        for (;;) {
            rc = o->client->produce(p, topic, (int32_t)(i % (uint64_t)np), NULL, 0, value,
                                    (size_t)o->record_size, 0, (void *)(uintptr_t)intended, why,
                                    why_len);
            if (rc != -ENOBUFS || sb_now_ns() > deadline)
                break;
            o->client->poll(p, 10);
        }
        o->client->poll(p, 0);
    }
    sb_progress_end(o);
    if (o->client->flush(p, 30000) && !rc)
        fprintf(stderr, "cluster run %d/%lld failover: records undelivered 30 s after\n", run + 1,
                o->runs);
    if (rc)
        goto out;
    uint64_t all = 0;
    for (int i = 0; i < np; i++)
        if (f.first[i] > all)
            all = f.first[i];
    double first_ms = (double)(f.first[0] - f.t_kill) / 1e6,
           all_ms = (double)(all - f.t_kill) / 1e6;
    sb_figs_set(fs, run, "failover", "first_ack_ms", "kill -9 -> first ack on its partition, ms", 1,
                first_ms);
    sb_figs_set(fs, run, "failover", "all_partitions_ms",
                "kill -9 -> every partition acked again, ms", 1, all_ms);
    sb_figs_set(fs, run, "failover", "records_failed", "records failed (delivery reports)", 0,
                (double)f.failed);
    fprintf(stderr,
            "cluster run %d/%lld failover: broker %d killed; first ack on partition 0 after "
            "%.1f ms, every partition after %.1f ms; %lld failed\n",
            run + 1, o->runs, victim + 1, first_ms, all_ms, f.failed);
out:
    sb_progress_end(o);
    if (p)
        o->client->prod_free(p);
    free(value);
    free(f.first);
    if (victim >= 0 && c->b[victim].pid == 0) {
        double secs = 0;
        char w[512] = "";
        int e = restart(c, victim, &secs, w, sizeof(w));
        if (e && !rc) {
            snprintf(why, why_len, "%s", w);
            rc = e;
        }
        if (!e)
            sb_figs_set(fs, run, "failover", "restart_s", "killed broker restarted, registered, s",
                        2, secs);
    }
    return rc;
}

/* ---- the command -------------------------------------------------------------------------- */

int sb_cmd_cluster(const struct sb_opts *o)
{
    if (o->partitions > MAX_PARTS || o->size < o->record_size) {
        fprintf(stderr,
                "splicelog-bench cluster: --partitions at most %d, --size at least one "
                "record\n",
                MAX_PARTS);
        return SB_EXIT_USAGE;
    }
    /* the paced producers sleep between records: 10 us of timer slack instead of 50 */
    prctl(PR_SET_TIMERSLACK, 10000UL, 0, 0, 0);
    static struct sb_clu c;
    memset(&c, 0, sizeof(c));
    c.o = o;
    char why[512] = "";
    int rc = sb_clu_open(&c, why, sizeof(why));
    if (rc) {
        fprintf(stderr, "splicelog-bench cluster: %s\n", why);
        sb_clu_close(&c);
        return 1;
    }
    static struct sb_figs fs;
    sb_figs_init(&fs, o);
    snprintf(fs.settings, sizeof(fs.settings),
             "client=%s record_size=%lld count=%lld partitions=%lld linger_ms=%lld rate=%lld "
             "duration_ms=%lld producers=%lld catchup_bytes=%lld brokers=%d replication_factor=3 "
             "zookeeper_session_timeout_ms=%lld",
             o->client->name, o->record_size, o->count, o->partitions, o->linger_ms, o->rate,
             o->duration_ms, o->producers, o->size, SB_CLU_BROKERS, c.session_ms);
    snprintf(fs.broker, sizeof(fs.broker), "own: %s (ZooKeeper + %d brokers, and a single node)",
             o->broker_bin, SB_CLU_BROKERS);
    char t[112];
    sb_figs_sect(&fs, "throughput",
                 "throughput: one producer, single node acks=1 vs 3 brokers RF 3 acks=all");
    sb_figs_sect(&fs, "follower_fetch",
                 "the leader serving its 2 followers (catch-up after SIGSTOP; zero-copy path)");
    snprintf(t, sizeof(t), "end-to-end latency, RF 3 acks=all, %lld records/s, ms", o->rate);
    sb_figs_sect(&fs, "e2e_latency", t);
    sb_figs_sect(&fs, "ack_latency", "send->ack latency, RF 3 acks=all, ms");
    snprintf(t, sizeof(t), "failover: kill -9 of a leader at %lld records/s, acks=all", o->rate);
    sb_figs_sect(&fs, "failover", t);
    struct sb_hist *lat = malloc(sizeof(*lat)), *ack = malloc(sizeof(*ack));
    if (!lat || !ack)
        rc = -ENOMEM;
    for (int r = 0; r < o->runs && !rc; r++) {
        double single = NAN, rf3 = NAN;
        const char *what = "throughput";
        if ((rc = sb_clu_wait_registered(&c, 60, why, sizeof(why))))
            break;
        /* the two sides take turns going first, so that a drift of the machine's load does
         * not always favour the same one; each starts with nothing left to write back */
        bool rf3_first = r % 2 == 1;
        for (int k = 0; k < 2 && !rc; k++) {
            bool cl = k == 0 ? rf3_first : !rf3_first;
            sync();
            rc = tput_one(&c, &fs, r, cl, cl ? &rf3 : &single, why, sizeof(why));
        }
        if (!rc)
            sb_figs_set(&fs, r, "throughput", "rf3_over_single",
                        "RF 3 acks=all / single acks=1 (records/s)", 2, rf3 / single);
        if (!rc) {
            what = "catch-up";
            sync();
            rc = catchup(&c, &fs, r, why, sizeof(why));
        }
        if (!rc) {
            what = "e2e";
            sync();
            rc = e2e(&c, &fs, r, lat, ack, why, sizeof(why));
        }
        if (!rc) {
            what = "failover";
            rc = failover(&c, &fs, r, why, sizeof(why));
        }
        if (rc)
            fprintf(stderr, "splicelog-bench cluster: run %d, %s: %s\n", r + 1, what, why);
    }
    free(lat);
    free(ack);
    sb_clu_close(&c);
    sb_figs_note(&fs,
                 "failover includes the ZooKeeper session timeout (%lld ms): a killed "
                 "broker is dead for the controller only when its session expires",
                 c.session_ms);
    sb_figs_note(&fs, "follower fetch: leader CPU from SIGCONT of the stopped followers until "
                      "their logs hold the leader's bytes, less the leader's idle rate");
    sb_figs_note(&fs,
                 "the throughput and catch-up topics are deleted once measured (their page "
                 "cache freed for the next measurement)%s",
                 c.kept ? "; some could not be: see the count below" : "");
    if (c.kept)
        sb_figs_note(&fs, "%d measured topics could not be deleted", c.kept);
    if (fs.runs && sb_figs_report(&fs))
        rc = -EIO;
    return rc || !fs.runs ? 1 : 0;
}
