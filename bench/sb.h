/*
 * sb.h — splicelog-bench, the benchmark tool of issue 7: shared pieces of its subcommands.
 *
 * Contract
 * - The bench is a program, not a library: single-threaded except e2e (one producer thread and
 *   one consumer thread, each with its own libsplicelog handle). Nothing here is thread-safe
 *   unless said so; sb_hist is written by one thread and read after it is joined.
 * - Errors: 0 or -errno, like the rest of the project; where a failure needs words (a broker
 *   that would not start, a TLS setup that is unavailable) the call fills a caller-owned
 *   `char *why, size_t why_len` buffer.
 * - Processes: sb_broker starts build/splicelogd (or --broker PATH) as a child on an ephemeral
 *   loopback port with its stdout/stderr in a log file in the bench's temporary directory;
 *   sb_broker_stop() always reaps it. Loopback only.
 * - CPU accounting: a process's CPU from /proc/PID/stat (utime + stime, clock ticks), this
 *   process's from getrusage(RUSAGE_SELF). Both are whole-process figures.
 * - Sizes: "16MiB", "1G", "4096", "1k" (powers of 1024); durations "10s", "500ms", "2m".
 *
 * Files: sb_util.c (time, sizes, stats, temp dirs, machine), sb_hist.c (latency histogram),
 * sb_proc.c (broker process, CPU), sb_tls.c (throw-away certificates, TLS client/server setup,
 * kTLS probe), sb_limit.c (loopback limits), sb_produce.c, sb_consume.c, sb_e2e.c,
 * sb_compare.c (subcommands), sb_report.c (table, JSON, gnuplot).
 */
#ifndef SPLICELOG_SB_H
#define SPLICELOG_SB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "splicelog.h"

#define SB_EXIT_USAGE 2
#define SB_MAX_RUNS   15

/* ---- sb_util.c ---------------------------------------------------------------------------- */

uint64_t sb_now_ns(void);   /* CLOCK_MONOTONIC */
uint64_t sb_wall_ns(void);  /* CLOCK_REALTIME */
double sb_self_cpu_s(void); /* user + system CPU of this process */
/* "16MiB" -> bytes; -EINVAL when malformed or not > 0. */
int sb_parse_size(const char *s, long long *out);
/* "10s", "250ms", "2m", plain number = seconds -> milliseconds; -EINVAL when malformed. */
int sb_parse_duration_ms(const char *s, long long *out);
/* A whole number in [min, max]; -EINVAL otherwise. */
int sb_parse_long(const char *s, long long min, long long max, long long *out);
double sb_median(const double *v, int n);
/* mkdtemp under $TMPDIR (else /tmp) named splicelog-bench.XXXXXX; 0 or -errno. */
int sb_tmpdir_new(char *dir, size_t len);
/* Removes dir and everything below it (no symlinks followed). */
void sb_tmpdir_free(const char *dir);
struct sb_machine {
    char cpu_model[128];
    int cores;
    char kernel[128];
};
void sb_machine_get(struct sb_machine *m);
/* Order-independent digest of a multiset of records: the sum of XXH3-64 of each value. */
uint64_t sb_record_digest(const void *value, size_t len);

/*
 * Record values written by the bench: [u64 seq][u64 send_ns (CLOCK_REALTIME)][filler], little
 * endian, filler derived from seq so that every record's bytes differ. len >= SB_VALUE_MIN.
 */
#define SB_VALUE_MIN 16
void sb_value_fill(uint8_t *buf, size_t len, uint64_t seq, uint64_t send_ns);
uint64_t sb_value_send_ns(const void *value, size_t len); /* 0 if len < SB_VALUE_MIN */
uint64_t sb_value_seq(const void *value, size_t len);     /* 0 if len < SB_VALUE_MIN */

/* ---- sb_hist.c ---------------------------------------------------------------------------- */

/*
 * A log-bucketed histogram of nanosecond values, HdrHistogram style, in fixed memory: values
 * below 2^SB_HIST_SUB_BITS are exact; above, each power of two is split into
 * 2^(SB_HIST_SUB_BITS-1) buckets (relative error < 1/64). Values above SB_HIST_MAX_NS are counted
 * in the top bucket (max stays exact).
 */
#define SB_HIST_SUB_BITS 7
#define SB_HIST_MAX_BITS 40 /* 2^40 ns ~ 18 minutes */
#define SB_HIST_MAX_NS   ((1ULL << SB_HIST_MAX_BITS) - 1)
#define SB_HIST_BUCKETS                                                                            \
    ((1u << SB_HIST_SUB_BITS) +                                                                    \
     (SB_HIST_MAX_BITS - SB_HIST_SUB_BITS) * (1u << (SB_HIST_SUB_BITS - 1)))
struct sb_hist {
    uint64_t count;
    uint64_t min, max; /* exact; min is UINT64_MAX while count == 0 */
    double sum;
    uint64_t bucket[SB_HIST_BUCKETS];
};
void sb_hist_init(struct sb_hist *h);
void sb_hist_add(struct sb_hist *h, uint64_t ns);
/* The value at percentile p (0 < p <= 100): the highest value of the bucket holding the
 * ceil(p% * count)-th smallest value, never above max. 0 when empty. */
uint64_t sb_hist_percentile(const struct sb_hist *h, double p);
/* Bucket index of ns and the highest value it stands for (exposed for the tests). */
size_t sb_hist_index(uint64_t ns);
uint64_t sb_hist_bucket_high(size_t idx);

/* ---- sb_proc.c ---------------------------------------------------------------------------- */

struct sb_broker {
    pid_t pid; /* 0 when not running */
    int port;  /* the first listener's bound port */
    char log[512];
};
/*
 * Starts binary with the data dir, a log file <dir>/broker-<name>.log, --port-file, and the
 * extra "-o key=value" settings (NULL-terminated array of "key=value" strings). Waits until the
 * port file appears (20 s). On failure fills why with the broker's last log line.
 */
int sb_broker_start(struct sb_broker *b, const char *binary, const char *dir, const char *data,
                    const char *name, const char *const *settings, char *why, size_t why_len);
/* True when a line of the broker's log contains needle; the line is copied to line. */
bool sb_broker_log_find(const struct sb_broker *b, const char *needle, char *line, size_t len);
/* SIGTERM, wait up to 20 s, then SIGKILL. */
void sb_broker_stop(struct sb_broker *b);
/* utime + stime of pid in seconds; negative -errno-ish value when unreadable. */
double sb_proc_cpu_s(pid_t pid);
/* The broker binary: $SPLICELOGD_REL, else build/splicelogd next to the bench binary's dir. */
const char *sb_default_broker(const char *argv0, char *buf, size_t len);

/* ---- sb_tls.c ----------------------------------------------------------------------------- */

/* Writes a throw-away CA-less self-signed EC P-256 certificate for 127.0.0.1/localhost to
 * dir/bench.pem and its key to dir/bench.key. 0 or -errno (why filled). */
int sb_cert_make(const char *dir, char *why, size_t why_len);
/* Nonzero when the kernel accepts the "tls" ULP on a TCP socket; why says why not. */
bool sb_ktls_probe(char *why, size_t why_len);
/* Sets security.protocol=ssl and ssl.ca.location=ca on conf (which may refuse it). */
int sb_conf_ssl(sl_conf *conf, const char *ca, char *why, size_t why_len);

/* ---- sb_limit.c --------------------------------------------------------------------------- */

/* Writes size bytes of pseudo-random data to path and reads them back once (page cache). */
int sb_limit_file(const char *path, long long size);
/* MB/s of one bare sendfile(2) of path from this process to a child over loopback TCP; <= 0
 * on error. */
double sb_limit_sendfile(const char *path, long long size);
/* The same with read(2) + send(2) of 256 KiB instead of sendfile: a bare copy stream, shown
 * beside the sendfile limit because on some kernels (and VMs) copying is the faster of the two. */
double sb_limit_copy(const char *path, long long size);
/* MB/s of one bare TLS 1.3 stream (same cipher as the broker's default, AES-128-GCM) of the
 * file's bytes from this process (read(2) + SSL_write) to a child (SSL_read); cert/key from
 * sb_cert_make. <= 0 on error. */
double sb_limit_tls(const char *path, long long size, const char *cert, const char *key);

/* ---- common options and the producer/consumer drivers ------------------------------------ */

struct sb_opts {
    const char *bootstrap;  /* NULL: start a broker */
    const char *broker_bin; /* splicelogd */
    const char *topic;
    long long record_size; /* bytes of each value */
    long long count;       /* records; 0 = use duration */
    long long duration_ms; /* 0 = use count */
    long long partitions;
    const char *acks;
    long long linger_ms;
    long long rate;       /* e2e: records per second */
    bool tls;             /* security.protocol=ssl */
    const char *ca;       /* ssl.ca.location (with --bootstrap) */
    const char *transfer; /* fetch.transfer of a self-started broker */
    long long size;       /* compare: bytes to preload */
    long long runs;       /* compare */
    const char *paths;    /* compare: comma-separated subset */
    const char *json;
    const char *plot;
    bool progress; /* stderr is a terminal */
};
void sb_opts_defaults(struct sb_opts *o);

/* A broker this process started for produce/consume/e2e (or an external one). */
struct sb_env {
    char dir[512]; /* temp dir, "" when external */
    char data[600];
    char ca[600]; /* certificate file for ssl.ca.location, "" if none */
    char bootstrap[128];
    struct sb_broker broker;
};
/* Starts a broker unless o->bootstrap is set (plaintext or, with --tls, an SSL listener). */
int sb_env_open(struct sb_env *env, const struct sb_opts *o, char *why, size_t why_len);
void sb_env_close(struct sb_env *env);
/* A conf for env with the common options applied (acks, linger, tls). NULL + why on error. */
sl_conf *sb_env_conf(const struct sb_env *env, const struct sb_opts *o, char *why, size_t why_len);

struct sb_produce_result {
    long long records; /* delivered without error */
    long long failed;
    long long bytes; /* value bytes delivered */
    uint64_t digest; /* sb_record_digest sum over delivered values */
    double seconds;
    struct sb_hist *ack_latency; /* may be NULL */
};
/*
 * Produces records of o->record_size to o->topic until count (or duration) is reached, at
 * o->rate records/s when rate > 0. First one priming record (seq SB_SEQ_PRIME, not counted) is
 * produced and flushed: it creates the topic and fetches metadata outside the measurement;
 * then ready(arg) runs (e2e starts its consumer there). Delivery callbacks fill res.
 * 0 or -errno / why.
 */
#define SB_SEQ_PRIME UINT64_MAX
int sb_produce_run(const struct sb_env *env, const struct sb_opts *o, struct sb_produce_result *res,
                   void (*ready)(void *), void *arg, char *why, size_t why_len);

struct sb_consume_result {
    long long records;
    long long value_bytes;
    long long wire_bytes; /* Kafka response bytes received (sl_stats.bytes_received) */
    uint64_t digest;
    double seconds;
    struct sb_hist *e2e_latency; /* may be NULL: value's send_ns -> receipt */
};
/*
 * Consumes partitions 0..partitions-1 of topic from the beginning until `expect` records
 * arrived (expect > 0) or until idle_ms passes without a record. Priming records
 * (SB_SEQ_PRIME) are skipped and not counted.
 * `c` is a consumer made by the caller (so that setup is outside the timed region).
 */
int sb_consume_run(sl_consumer *c, long long expect, int idle_ms, struct sb_consume_result *res,
                   char *why, size_t why_len);
/* A consumer on env with topic's partitions assigned from the beginning. */
sl_consumer *sb_consumer_open(const struct sb_env *env, const struct sb_opts *o, char *why,
                              size_t why_len);

/* ---- subcommands -------------------------------------------------------------------------- */

int sb_cmd_produce(const struct sb_opts *o);
int sb_cmd_consume(const struct sb_opts *o);
int sb_cmd_e2e(const struct sb_opts *o);
int sb_cmd_compare(const struct sb_opts *o);
/* Nonzero when paths is a comma-separated list of known compare paths (at most 8). */
int sb_compare_paths_valid(const char *paths);

/* ---- sb_report.c -------------------------------------------------------------------------- */

struct sb_row {
    char path[16];
    bool available;
    char reason[256];  /* when not available, or a correctness failure */
    const char *limit; /* "sendfile" or "tls" */
    double mb_per_s, records_per_s, broker_cpu_s_per_gib, client_cpu_s_per_gib;
    double ratio_to_limit;
    long long records_consumed; /* the last run's */
    bool digest_ok;             /* every run: count and digest matched the preload */
};
struct sb_report {
    long long size, record_size, runs;
    long long records_produced;
    uint64_t digest;
    double limit_sendfile_mb_per_s;
    double limit_copy_mb_per_s; /* bare read+send stream: reference only */
    double limit_tls_mb_per_s;  /* 0: unavailable */
    char limit_tls_reason[256];
    struct sb_machine machine;
    struct sb_row rows[8];
    int n_rows;
};
void sb_report_table(FILE *f, const struct sb_report *r);
int sb_report_json(const char *path, const struct sb_report *r);
/* Runs gnuplot; -ENOENT with why when it is missing. */
int sb_report_plot(const char *png, const struct sb_report *r, const char *tmpdir, char *why,
                   size_t why_len);
void sb_hist_print(FILE *f, const char *title, const struct sb_hist *h);

/* Progress line on stderr (only when o->progress): "\r..." overwritten; sb_progress_end()
 * clears it. */
void sb_progress(const struct sb_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sb_progress_end(const struct sb_opts *o);

#endif
