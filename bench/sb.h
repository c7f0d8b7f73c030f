/*
 * sb.h — splicelog-bench (issues 7, 19 and 18's cluster): shared pieces of its subcommands.
 *
 * Contract
 * - The bench is a program, not a library. Threads: e2e/durable (and cluster's e2e part) run
 *   one thread per producer and one consumer thread, each with its own client handle;
 *   everything else is single-threaded. Nothing here is thread-safe unless said so; an
 *   sb_hist is written by one thread and read after that thread is joined.
 * - Errors: 0 or -errno, like the rest of the project; where a failure needs words (a broker
 *   that would not start, a client that refused a setting) the call fills a caller-owned
 *   `char *why, size_t why_len` buffer.
 * - Processes: sb_broker starts build/splicelogd (or --broker PATH) as a child on an ephemeral
 *   loopback port with its stdout/stderr in a log file in the bench's temporary directory;
 *   sb_broker_stop() always reaps it; a broker is killed (PR_SET_PDEATHSIG) when the thread that
 *   started it exits, so a bench that dies leaves no broker behind. Loopback only.
 * - CPU accounting: nanoseconds from the scheduler (sb_proc_cpu_ns: the process CPU clock of
 *   clock_getcpuclockid(3), i.e. the sum_exec_runtime of all its threads, dead ones included;
 *   else the sum of /proc/PID/task/N/schedstat), never clock ticks. This process's own CPU
 *   is CLOCK_PROCESS_CPUTIME_ID. Both are whole-process figures.
 * - Runs: every subcommand repeats its measurement --runs times; every figure is reported as
 *   min / median / max over the runs (sb_stat), flagged when (max - min) / median exceeds
 *   SB_SPREAD_WARN. One run is reported as one value, never as a "median".
 * - Latency: from the record's intended send time (the fixed-rate schedule; without --rate,
 *   the moment the bench handed the record to the client), so a stall is charged to every
 *   record it delays (no coordinated omission). Reported in ms: p50 p95 p99 p99.9 p99.99 max.
 * - Sizes: "16MiB", "1G", "4096", "1k" (powers of 1024); durations "10s", "500ms", "2m".
 *
 * Files: sb_util.c (time, parsing, run statistics, temp dirs, machine), sb_hist.c (latency
 * histogram), sb_json.c (JSON writer), sb_figs.c (figures over runs: table and JSON, window
 * lines), sb_proc.c (broker process, CPU, RSS), sb_sync.c (counting a process's fdatasync
 * calls), sb_tls.c, sb_limit.c (loopback limits), sb_admin.c (Metadata/ListOffsets over a raw
 * connection), sb_cl_splicelog.c / sb_cl_rdkafka.c (the two clients behind struct sb_client),
 * sb_produce.c, sb_consume.c, sb_e2e.c (e2e and durable), sb_scale.c + sb_conns.c (scale),
 * sb_compare.c, sb_report.c (compare table/JSON, gnuplot), sb_overload.c (overload),
 * sb_cluster.c (cluster: ZooKeeper and three brokers of its own against a single node).
 */
#ifndef SPLICELOG_SB_H
#define SPLICELOG_SB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define SB_EXIT_USAGE  2
#define SB_MAX_RUNS    15
#define SB_SPREAD_WARN 0.25 /* (max - min) / median above this: the figure is flagged */

/* ---- sb_util.c ---------------------------------------------------------------------------- */

uint64_t sb_now_ns(void);     /* CLOCK_MONOTONIC */
uint64_t sb_wall_ns(void);    /* CLOCK_REALTIME */
int64_t sb_self_cpu_ns(void); /* CLOCK_PROCESS_CPUTIME_ID: this process, all threads */
/* "16MiB" -> bytes; -EINVAL when malformed or not > 0. */
int sb_parse_size(const char *s, long long *out);
/* "10s", "250ms", "2m", plain number = seconds -> milliseconds; -EINVAL when malformed. */
int sb_parse_duration_ms(const char *s, long long *out);
/* A whole number in [min, max]; -EINVAL otherwise. */
int sb_parse_long(const char *s, long long min, long long max, long long *out);
/* "1,100,1000": up to cap numbers in [min, max]; the count, or -EINVAL. */
int sb_parse_list(const char *s, long long min, long long max, long long *out, int cap);

/* min / median / max of the values of v[0..n) that are not NaN; n = how many were. */
struct sb_stat {
    int n;
    double min, median, max;
};
void sb_stat_of(const double *v, int n, struct sb_stat *out);
/* (max - min) / median; 0 with fewer than two values or a zero median. */
double sb_stat_spread(const struct sb_stat *s);

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
/* The 1-minute load average; negative when unreadable. */
double sb_loadavg1(void);
/* The file system type of path ("ext4", "tmpfs", "xfs", "btrfs", or the magic in hex). */
void sb_fs_type(const char *path, char *buf, size_t len);
/* Raises RLIMIT_NOFILE to at least want (the hard limit too when allowed); the new soft limit. */
long long sb_nofile_raise(long long want);
/* Order-independent digest of a multiset of records: the sum of XXH3-64 of each value. */
uint64_t sb_record_digest(const void *value, size_t len);

/*
 * Record values written by the bench: [u64 seq][u64 send_ns (CLOCK_REALTIME, the intended send
 * time)][filler], little endian, filler derived from seq so that every record's bytes differ.
 * len >= SB_VALUE_MIN.
 */
#define SB_VALUE_MIN 16
void sb_value_fill(uint8_t *buf, size_t len, uint64_t seq, uint64_t send_ns);
uint64_t sb_value_send_ns(const void *value, size_t len); /* 0 if len < SB_VALUE_MIN */
uint64_t sb_value_seq(const void *value, size_t len);     /* 0 if len < SB_VALUE_MIN */
/* Whether value's filler (bytes 16..len) is the one sb_value_fill writes for its own seq: a
 * record's bytes can be checked from its seq alone. false if len < SB_VALUE_MIN. */
bool sb_value_filler_ok(const void *value, size_t len);

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
/* Adds every sample of src to h. */
void sb_hist_merge(struct sb_hist *h, const struct sb_hist *src);
/* The value at percentile p (0 < p <= 100): the highest value of the bucket holding the
 * ceil(p% * count)-th smallest value, never above max. 0 when empty. */
uint64_t sb_hist_percentile(const struct sb_hist *h, double p);
/* Bucket index of ns and the highest value it stands for (exposed for the tests). */
size_t sb_hist_index(uint64_t ns);
uint64_t sb_hist_bucket_high(size_t idx);

/* ---- sb_json.c ---------------------------------------------------------------------------- */

/*
 * A streaming JSON writer: nested objects/arrays up to 16 deep, commas placed for the caller.
 * key is the member name inside an object, NULL inside an array. NaN and infinities are
 * written as null. Errors are sticky and reported by sb_json_close.
 */
struct sb_json {
    FILE *f;
    bool own; /* opened by sb_json_open (closed by sb_json_close) */
    int depth;
    bool first[16];  /* nothing written yet at this level */
    char closer[16]; /* '}' or ']' */
};
/* path "-" writes to stdout. 0 or -errno. */
int sb_json_open(struct sb_json *j, const char *path);
int sb_json_close(struct sb_json *j); /* 0 or -errno */
void sb_json_obj(struct sb_json *j, const char *key);
void sb_json_arr(struct sb_json *j, const char *key);
void sb_json_end(struct sb_json *j); /* closes the innermost object or array */
void sb_json_num(struct sb_json *j, const char *key, double v, int decimals);
void sb_json_int(struct sb_json *j, const char *key, long long v);
void sb_json_str(struct sb_json *j, const char *key, const char *s);
void sb_json_bool(struct sb_json *j, const char *key, bool v);
void sb_json_null(struct sb_json *j, const char *key);
/* {"min": .., "median": .., "max": .., "spread": .., "runs": n} of v[0..n). */
void sb_json_stat(struct sb_json *j, const char *key, const double *v, int n, int decimals);

/* ---- sb_proc.c ---------------------------------------------------------------------------- */

struct sb_broker {
    pid_t pid; /* 0 when not running */
    int port;  /* the first listener's bound port */
    char log[512];
};
/*
 * Starts binary with the data dir, a log file <dir>/broker-<name>.log, --port-file, and the
 * extra "-o key=value" settings (NULL-terminated array of "key=value" strings). Waits until the
 * port file appears (60 s). On failure fills why with the broker's last log line.
 */
int sb_broker_start(struct sb_broker *b, const char *binary, const char *dir, const char *data,
                    const char *name, const char *const *settings, char *why, size_t why_len);
/* Starts program (a path, or a name looked up in PATH when it has no '/') with argv, its stdout
 * and stderr into log (created or truncated), stdin /dev/null; the child dies with the bench
 * (PR_SET_PDEATHSIG). The child's pid, or -errno with why. */
pid_t sb_spawn(const char *program, const char *const *argv, const char *log, char *why,
               size_t why_len);
/* True when a line of the broker's log contains needle; the line is copied to line. */
bool sb_broker_log_find(const struct sb_broker *b, const char *needle, char *line, size_t len);
/* SIGTERM, wait up to 20 s, then SIGKILL. */
void sb_broker_stop(struct sb_broker *b);
/* CPU time of process pid (all threads, dead ones included where the source allows) in ns;
 * -errno when unreadable. */
int64_t sb_proc_cpu_ns(pid_t pid);
/* Which source sb_proc_cpu_ns used last (a static string). */
const char *sb_proc_cpu_source(void);
/* VmRSS of pid in KiB; -errno when unreadable. */
long long sb_proc_rss_kib(pid_t pid);
/* The broker binary: $SPLICELOGD_REL, else build/splicelogd next to the bench binary's dir. */
const char *sb_default_broker(const char *argv0, char *buf, size_t len);

/* ---- sb_sync.c ---------------------------------------------------------------------------- */

/*
 * Counts the fdatasync(2) and fsync(2) calls of a process (all its threads) between start and
 * stop, from outside: `perf stat` on the syscalls:sys_enter_fdatasync/fsync tracepoints (no cost
 * to the process), else `strace -c -f` attached to it (ptrace: every syscall of the process
 * stops, so its latency figures are then inflated; the method says so). The broker exposes no
 * counter of its own.
 */
struct sb_synccount {
    pid_t tool;    /* perf or strace, 0 when not running */
    int ctl, ack;  /* perf's control and ack fifos, -1 when unused */
    char out[600]; /* the tool's output file */
    char fifo[2][600];
    char method[96]; /* what counted, for the report */
    bool perf;
};
/* 0, or -errno with why (no tool, no permission). dir holds the tool's files. */
int sb_synccount_start(struct sb_synccount *s, pid_t target, const char *dir, char *why,
                       size_t why_len);
/* Stops counting; 0 with the counts, or -errno with why. Always reaps the tool. */
int sb_synccount_stop(struct sb_synccount *s, long long *fdatasyncs, long long *fsyncs, char *why,
                      size_t why_len);

/* ---- sb_tls.c ----------------------------------------------------------------------------- */

/* Writes a throw-away CA-less self-signed EC P-256 certificate for 127.0.0.1/localhost to
 * dir/bench.pem and its key to dir/bench.key. 0 or -errno (why filled). */
int sb_cert_make(const char *dir, char *why, size_t why_len);
/* Nonzero when the kernel accepts the "tls" ULP on a TCP socket; why says why not. */
bool sb_ktls_probe(char *why, size_t why_len);

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
/* The disk's own durable-write latency in dir: n rounds of pwrite(size bytes, appending) +
 * fdatasync on a fresh file, into h (ns). 0 or -errno. */
int sb_limit_fdatasync(const char *dir, int n, size_t size, struct sb_hist *h);

/* ---- sb_admin.c --------------------------------------------------------------------------- */

/* Metadata v4 and ListOffsets v2 over one plaintext connection to bootstrap (host:port), for
 * the libsplicelog client, which has no API for them. Single-broker view: the bootstrap broker
 * must lead the partitions asked about. */
/* The partition count of topic (create: let the broker auto-create it), or -errno with why. */
int sb_admin_partitions(const char *bootstrap, const char *topic, bool create, char *why,
                        size_t why_len);
/* The earliest (lo) and the high watermark (hi) of a partition. 0 or -errno with why. */
/* DeleteTopics v1 of one topic (gone already: fine). 0 or -errno with why. */
int sb_admin_delete_topic(const char *bootstrap, const char *topic, char *why, size_t why_len);
int sb_admin_watermarks(const char *bootstrap, const char *topic, int32_t partition, int64_t *lo,
                        int64_t *hi, char *why, size_t why_len);
/* A partition as the bootstrap broker's Metadata tells it (cluster): its leader (-1: none),
 * replicas and ISR size, and the brokers registered and the controller. found: the partition is
 * in the answer (a missing topic is not an error here: found stays false). 0 or -errno. */
#define SB_MAX_REPLICAS 16
struct sb_part_state {
    bool found;
    int16_t error; /* the partition's Kafka error code */
    int32_t leader, controller;
    int n_brokers, n_replicas, n_isr;
    int32_t replicas[SB_MAX_REPLICAS];
};
int sb_admin_partition_state(const char *bootstrap, const char *topic, int32_t partition,
                             struct sb_part_state *out, char *why, size_t why_len);

/* ---- the clients: libsplicelog and librdkafka behind one interface ---------------------- */

struct sb_cfg {
    const char *bootstrap;
    const char *acks;
    long long linger_ms;
    bool tls;
    const char *ca;           /* ssl.ca.location; NULL/"" for the system's */
    const char *const *props; /* NULL-terminated "name=value" client properties (-X) */
};
/* A delivery report: ok, the value as produced, the msg_opaque given to produce, where the
 * record landed (offset -1 when the client cannot tell: acks=0). */
typedef void sb_dr_fn(void *arg, bool ok, const void *value, size_t len, void *msg_opaque,
                      int32_t partition, int64_t offset);
struct sb_rec {
    const void *key, *value; /* views, valid until the next call on the consumer */
    size_t key_len, value_len;
    int32_t partition;
    int64_t offset;
};
/*
 * One client library. Handles are used by one thread at a time. The producer's delivery
 * reports run on the calling thread from poll/flush. produce returns 0, -ENOBUFS when the
 * client's queue is full (poll and retry) or -EIO with why; partition -1 lets the client's
 * partitioner choose (murmur2 of the key as the Java client, sticky when unkeyed). The
 * consumer is assigned partitions explicitly, from the earliest offset; cons_poll returns 0
 * with a record, -ETIMEDOUT, or -EIO with why.
 */
struct sb_client {
    const char *name;
    const char *unavailable; /* non-NULL: why this build cannot use it */
    void *(*prod_new)(const struct sb_cfg *cfg, sb_dr_fn *dr, void *arg, char *why, size_t why_len);
    int (*produce)(void *p, const char *topic, int32_t partition, const void *key, size_t key_len,
                   const void *value, size_t value_len, int64_t timestamp_ms, void *msg_opaque,
                   char *why, size_t why_len);
    void (*poll)(void *p, int timeout_ms);
    int (*flush)(void *p, int timeout_ms); /* 0 or -ETIMEDOUT */
    void (*prod_free)(void *p);
    void *(*cons_new)(const struct sb_cfg *cfg, char *why, size_t why_len);
    int (*assign)(void *c, const char *topic, int32_t partition, char *why, size_t why_len);
    int (*cons_poll)(void *c, int timeout_ms, struct sb_rec *rec, char *why, size_t why_len);
    long long (*wire_bytes)(void *c); /* fetch response bytes received; -1 unknown */
    int (*partitions)(void *c, const struct sb_cfg *cfg, const char *topic, char *why,
                      size_t why_len);
    int (*watermarks)(void *c, const struct sb_cfg *cfg, const char *topic, int32_t partition,
                      int64_t *lo, int64_t *hi, char *why, size_t why_len);
    void (*cons_free)(void *c);
};
extern const struct sb_client sb_client_splicelog; /* sb_cl_splicelog.c */
extern const struct sb_client sb_client_rdkafka;   /* sb_cl_rdkafka.c or sb_cl_rdkafka_none.c */

/* ---- common options ----------------------------------------------------------------------- */

#define SB_MAX_PROPS 16
#define SB_MAX_LIST  8
struct sb_opts {
    const char *cmd;    /* produce, consume, e2e, durable, scale, compare, overload, cluster */
    char command[1024]; /* the command line, for the report */
    const struct sb_client *client;
    const char *bootstrap;  /* NULL: start a broker */
    const char *broker_bin; /* splicelogd */
    const char *topic;
    bool topic_given;
    long long record_size; /* bytes of each value */
    long long count;       /* records; 0 = use duration */
    bool count_given;
    long long duration_ms; /* 0 = use count */
    long long partitions;
    bool partitions_given;
    const char *acks;
    long long linger_ms;
    bool linger_given;    /* --linger given (cluster: else 0 for its latency measurements) */
    long long rate;       /* records per second (all producers together); 0 = as fast as possible */
    long long producers;  /* e2e/durable: producer threads, each with its own connection */
    bool keyed;           /* keys = the record's sequence number (murmur2 partitioner) */
    bool tls;             /* security.protocol=ssl */
    const char *ca;       /* ssl.ca.location (with --bootstrap) */
    const char *transfer; /* fetch.transfer of a self-started broker */
    long long size;       /* compare: bytes to preload */
    long long runs;
    long long interval_ms; /* window lines on stderr; 0 = none */
    const char *paths;     /* compare: comma-separated subset */
    bool alternate;        /* compare: paths in turn, one pass per round, each on a fresh broker */
    long long part_list[SB_MAX_LIST], conn_list[SB_MAX_LIST]; /* scale */
    int n_part_list, n_conn_list;
    long long batch_records; /* scale: records per produce request of the connection sweep */
    long long greedy;        /* overload: unthrottled producers beside the paced ones */
    const struct sb_client *greedy_client; /* overload: theirs (default rdkafka, if built) */
    long long sticky; /* scale: consecutive records to one partition before the next */
    const char *json;
    const char *plot;
    const char *props[SB_MAX_PROPS + 1];
    const char *broker_set[SB_MAX_PROPS + 1]; /* own broker: extra "-o key=value" settings */
    bool progress;                            /* stderr is a terminal */
};
void sb_opts_defaults(struct sb_opts *o);

/* A broker this process started (or an external one). */
struct sb_env {
    char dir[512]; /* temp dir, "" when external */
    char data[600];
    char ca[600]; /* certificate file for ssl.ca.location, "" if none */
    char bootstrap[128];
    struct sb_broker broker;
};
/* Starts a broker unless o->bootstrap is set (plaintext or, with --tls, an SSL listener), with
 * the extra settings (NULL-terminated, may be NULL). */
int sb_env_open(struct sb_env *env, const struct sb_opts *o, const char *const *extra, char *why,
                size_t why_len);
void sb_env_close(struct sb_env *env);
/* Stops the broker of env (SIGTERM: a clean shutdown) and starts it again on the same data with
 * the same settings; *seconds from the start until it is ready (its port file exists). */
int sb_env_restart(struct sb_env *env, const struct sb_opts *o, const char *const *extra,
                   double *seconds, char *why, size_t why_len);
/* The client settings for env with the common options applied. */
void sb_env_cfg(const struct sb_env *env, const struct sb_opts *o, struct sb_cfg *cfg);
/* The broker's CPU in ns (-1 when it is not ours). */
int64_t sb_env_broker_cpu_ns(const struct sb_env *env);

/* ---- sb_figs.c: figures over runs, the report of produce/consume/e2e/durable ------------- */

#define SB_MAX_FIGS 64
struct sb_fig {
    char sect[24];  /* JSON object the figure is in */
    char key[32];   /* JSON key */
    char label[64]; /* text */
    int decimals;
    double v[SB_MAX_RUNS]; /* NaN: not measured in that run */
};
struct sb_sect {
    char key[24];
    char title[112];
};
struct sb_figs {
    const struct sb_opts *o;
    int runs; /* runs done */
    struct sb_fig f[SB_MAX_FIGS];
    int n;
    struct sb_sect sect[12];
    int n_sect;
    char notes[8][400]; /* printed under the table and in JSON "notes" */
    int n_notes;
    struct sb_machine machine;
    double load_start, load_end;
    char settings[512]; /* "record_size=1024 rate=50000 ...", also parsed into JSON */
    char broker[600];   /* "own: PATH" or "external: HOST:PORT" */
};
void sb_figs_init(struct sb_figs *fs, const struct sb_opts *o);
void sb_figs_sect(struct sb_figs *fs, const char *key, const char *title);
void sb_figs_set(struct sb_figs *fs, int run, const char *sect, const char *key, const char *label,
                 int decimals, double v);
/* p50_ms, p95_ms, p99_ms, p99_9_ms, p99_99_ms, max_ms of h (NaN when empty) */
void sb_figs_latency(struct sb_figs *fs, int run, const char *sect, const struct sb_hist *h);
void sb_figs_note(struct sb_figs *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The table (stdout, or stderr when --json -), the JSON file, and the spread warning on stderr.
 * 0, or -errno when the JSON could not be written. */
int sb_figs_report(struct sb_figs *fs);
/* CPU figures of one run for who ("broker", "client") from ns of CPU (negative: unknown):
 * s per GiB of values, s per million records, cores busy. */
void sb_cpu_figs(struct sb_figs *fs, int run, const char *who, int64_t ns, double gib,
                 long long records, double seconds);
/* "0.512", or "0.512 [0.500-0.530]" over several runs, '!' appended when the spread is wide;
 * "-" when nothing was measured. */
void sb_fmt_stat(char *buf, size_t len, const double *v, int n, int decimals);
/* The common head of every JSON report: command, machine, load, settings. */
void sb_figs_json_head(struct sb_json *j, const struct sb_figs *fs);

/* A rate line on stderr every interval (any stderr, not only a terminal):
 *   "[label  3.0 s] 50012 records/s, 51.2 MB/s, p99 0.41 ms" */
struct sb_window {
    const char *label;
    uint64_t interval_ns, start, from;
    long long records, bytes;
    struct sb_hist *hist; /* NULL: no latency in the line */
};
void sb_window_init(struct sb_window *w, const char *label, long long interval_ms, bool latency);
/* The measurement starts now: the window counts from here. */
void sb_window_start(struct sb_window *w, uint64_t now);
void sb_window_add(struct sb_window *w, long long bytes, uint64_t latency_ns);
void sb_window_tick(struct sb_window *w, uint64_t now);
/* The last, partial window (when it holds records): at the end of a job. */
void sb_window_flush(struct sb_window *w, uint64_t now);
void sb_window_free(struct sb_window *w);

/* ---- sb_verify.c: what exactly arrived ----------------------------------------------------- */

/*
 * Record-level checks of one run of our own producers and consumer (e2e, durable), beyond the
 * count and digest: every delivery report's value and every consumed value is checked against
 * its own seq (length, the seq belongs to a producer of the run and is in its range, the filler
 * is the one of that seq; for delivery reports also that the value's send time is the one
 * stamped for that record's msg_opaque); each side remembers where every seq was (partition,
 * offset) in one preallocated slot per seq, so duplicates are seen at once; the consumer's
 * offsets must increase within each partition; at the end every acknowledged seq must have
 * been consumed at the partition and offset of its delivery report, and nothing consumed may
 * lack one. Producers are known by seq range (seq_base, count): disjoint. Threads: each
 * producer index is fed by one thread at a time, the consumer by one; anomalies are recorded
 * under a mutex (rare). No allocation per record.
 */
struct sb_verify;
/* n producers, producer k owns seqs seq_base[k] .. seq_base[k] + count[k] - 1; n_parts
 * partitions. NULL when out of memory. */
struct sb_verify *sb_verify_new(int n, const uint64_t *seq_base, const long long *count,
                                size_t record_size, int n_parts);
void sb_verify_free(struct sb_verify *v);
/* A successful delivery report of producer k (its thread); want_send_ns: the send time the
 * producer stamped into that record (from msg_opaque), 0 to skip that check. */
void sb_verify_acked(struct sb_verify *v, int k, const void *value, size_t len, int32_t partition,
                     int64_t offset, uint64_t want_send_ns);
/* A consumed (non-priming) record. */
void sb_verify_consumed(struct sb_verify *v, const void *value, size_t len, int32_t partition,
                        int64_t offset);
/* After every thread stopped: the cross-checks; the number of anomalies (0: all well). With
 * anomalies, prints the counts per check and the first few (seq, partition, offset, check) to
 * out, each line prefixed with label, and a one-line summary into why. complete: the consumer
 * read every record it expected (an acknowledged record it did not read is then missing). */
long long sb_verify_finish(struct sb_verify *v, bool complete, FILE *out, const char *label,
                           char *why, size_t why_len);

/* ---- the producer and consumer drivers ---------------------------------------------------- */

struct sb_produce_job {
    /* in */
    const struct sb_client *client;
    struct sb_cfg cfg;
    const char *topic;
    size_t record_size;
    long long count; /* records; 0: until duration_ms */
    long long duration_ms;
    double rate;         /* records/s of this producer; 0: as fast as possible */
    uint64_t phase_ns;   /* offset of this producer's schedule (several producers) */
    uint64_t seq_base;   /* first sequence number */
    int32_t round_robin; /* > 0: record i goes to partition (i / sticky) % round_robin */
    int32_t sticky;      /* with round_robin: records per partition in turn (0 or 1: one) */
    bool keyed;          /* key = the 8-byte sequence number */
    /* After the priming record (primed: it was delivered), before the clock starts; always
     * called once. Returning false stops the job (another thread failed). */
    bool (*ready)(void *arg, bool primed);
    void *ready_arg;
    struct sb_window *window; /* may be NULL */
    struct sb_hist *ack;      /* may be NULL: intended send time -> delivery report */
    _Atomic long long *acked; /* may be NULL: records delivered so far, read by other threads */
    const _Atomic bool *stop; /* may be NULL: the job ends (and flushes) once it is true */
    struct sb_verify *verify; /* may be NULL: delivery reports checked as producer verify_k */
    int verify_k;
    /* out */
    long long records, failed, bytes;
    uint64_t digest;
    uint64_t t0; /* monotonic start of the timed part */
    double seconds;
};
/*
 * Produces the job's records. First one priming record (seq SB_SEQ_PRIME, not counted) is
 * produced and flushed: it creates the topic and fetches metadata outside the measurement;
 * then ready(arg, primed) runs (e2e starts its consumer there). 0 or -errno / why.
 */
#define SB_SEQ_PRIME UINT64_MAX
int sb_produce_job_run(struct sb_produce_job *job, char *why, size_t why_len);

struct sb_consume_job {
    /* in */
    const struct sb_client *client;
    void *c;                /* a consumer of client, assigned by the caller */
    long long expect;       /* stop after this many (non-priming) records; fewer is an error */
    const int64_t *lo, *hi; /* per partition 0..n_parts-1: stop when each one handed out the
                             * record below hi (NULL: use expect) */
    int n_parts;
    long long limit;              /* > 0: stop after this many records even below the watermarks */
    int idle_ms;                  /* give up after this long without a record */
    int primes;                   /* priming records to see before on_primed runs (0: at once) */
    void (*on_primed)(void *arg); /* may be NULL: the consumer is reading */
    void *primed_arg;
    struct sb_window *window; /* may be NULL; started at the first poll */
    struct sb_hist *e2e;      /* may be NULL: value's send_ns -> receipt */
    struct sb_verify *verify; /* may be NULL: every record checked (sb_verify_consumed) */
    /* out */
    long long records, value_bytes, wire_bytes; /* wire_bytes -1: the client cannot tell */
    uint64_t digest;
    double seconds; /* first poll to the last record */
};
int sb_consume_job_run(struct sb_consume_job *job, char *why, size_t why_len);

/* ---- subcommands -------------------------------------------------------------------------- */

int sb_cmd_produce(const struct sb_opts *o);
int sb_cmd_consume(const struct sb_opts *o);
int sb_cmd_e2e(const struct sb_opts *o);
int sb_cmd_durable(const struct sb_opts *o);
int sb_cmd_scale(const struct sb_opts *o);
int sb_cmd_compare(const struct sb_opts *o);
int sb_cmd_overload(const struct sb_opts *o);
int sb_cmd_cluster(const struct sb_opts *o); /* sb_cluster.c */
int sb_cmd_machine(const struct sb_opts *o); /* sb_machine.c: no broker */

/* One e2e measurement (sb_e2e.c) on env's broker, on topic TOPIC-rRUN: o's paced producers and
 * a consumer; their e2e and send->ack latency into e2e and ack (initialised here). 0 or -errno
 * with why. */
int sb_e2e_measure(const struct sb_opts *o, const struct sb_env *env, int run, struct sb_hist *e2e,
                   struct sb_hist *ack, char *why, size_t why_len);
/* Nonzero when paths is a comma-separated list of known compare paths (at most 8). */
int sb_compare_paths_valid(const char *paths);

/* ---- sb_conns.c: many raw producer connections (scale) ------------------------------------ */

struct sb_conns_result {
    long long records, requests;
    int connected;
    double seconds;
    uint64_t connect_ns; /* time to establish every connection */
};
struct sb_conns;
/* Opens n connections to 127.0.0.1:port (non-blocking, all established before returning).
 * NULL with why on failure. */
struct sb_conns *sb_conns_open(int port, int n, char *why, size_t why_len);
/* Produces at least `records` records of record_size bytes to partition 0 of topic, in
 * requests of batch records (acks=1), every connection sending at least one request and
 * each keeping one request in flight. 0 or -errno with why. */
int sb_conns_produce(struct sb_conns *cs, const char *topic, long long records, int batch,
                     size_t record_size, struct sb_conns_result *res, char *why, size_t why_len);
void sb_conns_close(struct sb_conns *cs); /* RST, so that no TIME_WAIT is left behind */

/* ---- sb_report.c: compare's and scale's output, the progress line ------------------------- */

struct sb_row {
    char path[16];
    bool available;
    char reason[256];  /* when not available, or a correctness failure */
    const char *limit; /* "sendfile" or "tls" */
    int n;             /* runs measured */
    double mb_per_s[SB_MAX_RUNS], records_per_s[SB_MAX_RUNS];
    double broker_cpu_s_per_gib[SB_MAX_RUNS], client_cpu_s_per_gib[SB_MAX_RUNS];
    long long records_consumed; /* the last run's */
    bool digest_ok;             /* every run: count and digest matched the preload */
};
struct sb_report {
    long long size, record_size, runs;
    long long records_produced;
    uint64_t digest;
    double limit_sendfile[SB_MAX_RUNS], limit_copy[SB_MAX_RUNS], limit_tls[SB_MAX_RUNS];
    int n_limit_tls; /* 0: unavailable */
    char limit_tls_reason[256];
    struct sb_figs head; /* command, machine, load */
    struct sb_row rows[8];
    int n_rows;
};
double sb_row_median(const double *v, int n);
void sb_report_table(FILE *f, const struct sb_report *r);
int sb_report_json(const char *path, const struct sb_report *r);
/* Runs a gnuplot script (text); -ENOENT with why when gnuplot is missing. */
int sb_gnuplot(const char *script, char *why, size_t why_len);
int sb_report_plot(const char *png, const struct sb_report *r, char *why, size_t why_len);
/* The plot, or a message on stderr when it cannot be drawn; never fails the command when
 * gnuplot is missing. false when gnuplot exists but failed. */
bool sb_plot_or_skip(int rc, const char *png, const char *why);

/* Progress line on stderr (only when o->progress): "\r..." overwritten; sb_progress_end()
 * clears it. */
void sb_progress(const struct sb_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sb_progress_end(const struct sb_opts *o);

#endif
