/*
 * tb_broker — test support: run a real splicelogd process for an integration suite.
 *
 * Contract: each broker gets an ephemeral port (--listen 127.0.0.1:0, or host:0 when the test
 * sets tb_broker.host, the bound port read back from --port-file) and a fresh temporary data dir
 * under $TMPDIR. tb_broker_stop() sends the signal, waits (bounded), and tb_broker_cleanup()
 * removes the data dir. The binary is $SPLICELOGD (set by scripts/run-tests.sh; defaults to
 * build/san/splicelogd). The broker's stderr goes to <dir>/broker.log so a test can grep it.
 * Loopback unless the test sets host (e.g. a network namespace's address, with wrap). Errors: 0 or
 * -errno; a broker that is not ready within 20 s is an error (-ETIMEDOUT). A test that dies or
 * fails (Check's fork mode leaves with _exit, skipping teardown) still leaves nothing behind: the
 * broker has PR_SET_PDEATHSIG=SIGKILL, and a small reaper process removes the temp dir once the
 * test process is gone. SPLICELOG_KEEP_TMP=1 keeps the dirs.
 */
#ifndef SPLICELOG_TB_BROKER_H
#define SPLICELOG_TB_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct tb_broker {
    pid_t pid;      /* 0 when not running */
    int port;       /* the PLAINTEXT listener's bound port */
    char dir[256];  /* temporary directory: data/ inside, broker.log, port file */
    char data[300]; /* dir + "/data": the broker's --data-dir */
    char log[300];  /* dir + "/broker.log" */
    int reaper;     /* 1 + write end of the reaper's pipe (0: none); see tb_broker.c */
    pid_t reaper_pid;
    /* Set by the test before a start (tb_broker_cleanup clears them), else the defaults: */
    char host[48];           /* the listener's address ("": 127.0.0.1) */
    const char *const *wrap; /* argv run in front of the broker's, NULL-terminated, e.g.
                              * {"ip", "netns", "exec", "ns1", NULL}; it must exec the broker
                              * in the same process (pid, PR_SET_PDEATHSIG); NULL: none */
};

/*
 * Creates a temp dir (once: a restarted broker keeps it) and starts the broker on it.
 * extra: NULL-terminated argv additions, e.g. {"-o", "log.segment.bytes=1048576", NULL}.
 * Pass b with dir[0] == 0 for a fresh dir, or an already-used b to restart on the same data.
 */
int tb_broker_start(struct tb_broker *b, const char *const *extra);
/* The same, for a broker that may take longer than 20 s to be ready (ready_ms): e.g. one
 * that recovers tens of thousands of partitions after a crash under the sanitizers. */
int tb_broker_start_within(struct tb_broker *b, const char *const *extra, int ready_ms);
/* Sends sig (SIGTERM, SIGKILL...), waits up to 20 s; returns the exit status as waitpid. */
int tb_broker_stop(struct tb_broker *b, int sig);
/* Stops the broker if running (SIGKILL) and removes the temp dir. */
void tb_broker_cleanup(struct tb_broker *b);
/* A blocking TCP connection to 127.0.0.1:port with 10 s send/receive timeouts; fd or -errno. */
int tb_connect(int port);
/* The same to the IPv4 address host (a broker's tb_broker.host). */
int tb_connect_host(const char *host, int port);
/* True when the broker log contains needle. */
bool tb_log_contains(const struct tb_broker *b, const char *needle);

/* Extensions. */
/* The broker binary: $SPLICELOGD, else $SPLICELOG_ROOT/build/san/splicelogd, else relative. */
const char *tb_broker_binary(void);
/* Polls the log until it contains needle or timeout_ms passes; true when found. */
bool tb_log_wait(const struct tb_broker *b, const char *needle, int timeout_ms);
/*
 * Polls the log until one line contains needle and none of the exclude strings (NULL-terminated,
 * may be NULL), or timeout_ms passes; true when found. E.g. a line naming a peer that is not
 * the "connection from" line every accepted connection gets.
 */
bool tb_log_wait_line(const struct tb_broker *b, const char *needle, const char *const *exclude,
                      int timeout_ms);
/* True while the broker process exists (reaps it, and clears pid, if it has exited). */
bool tb_broker_alive(struct tb_broker *b);
/*
 * Runs argv[0] (searched in PATH) as a child with stdout to out_path and stderr to
 * out_path + ".err", and SIGKILL when the test process dies. pid or -errno.
 */
pid_t tb_spawn(const char *const *argv, const char *out_path);
/*
 * A reaper: /bin/sh -c script (arg as $1) in its own session (a signal to the test's process
 * group does not reach it), its stdin the read end of a pipe. The write end, returned
 * (close-on-exec; -errno on failure), is held by this process and its forks only: when they
 * are all gone, however they end, a script that starts with `cat >/dev/null` goes on. *pid:
 * the shell's.
 */
int tb_reaper_spawn(const char *script, const char *arg, pid_t *pid);
/* Waits up to timeout_ms for pid to exit; its waitpid status, or -ETIMEDOUT (then killed). */
int tb_wait_exit(pid_t pid, int timeout_ms);
/* The local (client-side) port of a connected socket, as the broker sees the peer; or -errno. */
int tb_local_port(int fd);
/*
 * Like tb_connect, from the loopback address src (e.g. "127.0.0.2": the whole 127/8 is local),
 * so a test can be several clients as the broker counts them per address. fd or -errno.
 */
int tb_connect_from(const char *src, int port);
/* CLOCK_MONOTONIC in milliseconds. */
int64_t tb_now_ms(void);
/* Sleeps ms milliseconds (nanosleep). */
void tb_sleep_ms(int ms);
/* The broker's resident set in KiB (VmRSS of /proc/PID/status), or -1. */
long tb_broker_rss_kib(const struct tb_broker *b);
/* The metrics listener's port of the broker's latest start, from its log line ("metrics listener
 * on http://127.0.0.1:PORT"); 0 when the log has none (yet). */
int tb_broker_metrics_port(const struct tb_broker *b);
/* How many times needle occurs in the broker log. */
long tb_log_count(const struct tb_broker *b, const char *needle);

#endif
