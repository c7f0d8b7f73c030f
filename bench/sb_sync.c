/*
 * sb_sync — how many fdatasync(2)/fsync(2) calls a process made in a window (see sb.h): the
 * group-commit figure of `durable` (records per fdatasync) needs it and splicelogd exposes no
 * counter.
 *
 * First choice: `perf stat -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync -p PID`,
 * started with its events disabled (-D -1) and switched on and off through its control fifo
 * (--control fifo:ctl,ack), each switch acknowledged, so the window is exactly the measured
 * one. Tracepoint counting happens in the kernel; the process is not slowed.
 * Fallback: `strace -c -f -e trace=fdatasync,fsync -p PID`. ptrace stops the process at every
 * system call (not only the traced ones) while attached, so latencies measured meanwhile are
 * worse than the broker's own; the method string says so and the report prints it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sb.h"

extern char **environ;

/* Spawns argv with stdout/stderr to log; 0 or -errno. */
static int spawn_tool(pid_t *pid, char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    int rc = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return -rc;
}

static void tool_log_line(const char *log, char *out, size_t len)
{
    out[0] = 0;
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    char line[300];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0])
            snprintf(out, len, "%.200s", line);
    }
    fclose(f);
}

/* Sends a perf control command and waits for its "ack" (10 s); false when perf is gone. */
static bool perf_cmd(struct sb_synccount *s, const char *cmd)
{
    if (write(s->ctl, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
        return false;
    char buf[64];
    size_t got = 0;
    for (int i = 0; i < 100; i++) {
        struct pollfd p = {s->ack, POLLIN, 0};
        if (poll(&p, 1, 100) > 0) {
            ssize_t n = read(s->ack, buf + got, sizeof(buf) - 1 - got);
            if (n > 0) {
                got += (size_t)n;
                buf[got] = 0;
                if (strstr(buf, "ack"))
                    return true;
            }
        }
        if (waitpid(s->tool, NULL, WNOHANG) == s->tool) {
            s->tool = 0;
            return false;
        }
    }
    return false;
}

static void close_fifos(struct sb_synccount *s)
{
    if (s->ctl >= 0)
        close(s->ctl);
    if (s->ack >= 0)
        close(s->ack);
    s->ctl = s->ack = -1;
    unlink(s->fifo[0]);
    unlink(s->fifo[1]);
}

static int start_perf(struct sb_synccount *s, pid_t target, const char *dir, char *why,
                      size_t why_len)
{
    char pid[16], control[1300], log[600];
    snprintf(pid, sizeof(pid), "%d", (int)target);
    snprintf(s->fifo[0], sizeof(s->fifo[0]), "%s/perf-ctl", dir);
    snprintf(s->fifo[1], sizeof(s->fifo[1]), "%s/perf-ack", dir);
    snprintf(log, sizeof(log), "%s/perf.log", dir);
    unlink(s->fifo[0]);
    unlink(s->fifo[1]);
    if (mkfifo(s->fifo[0], 0600) || mkfifo(s->fifo[1], 0600)) {
        snprintf(why, why_len, "mkfifo: %s", strerror(errno));
        return -errno;
    }
    /* O_RDWR: neither open waits for perf to open the other end. */
    s->ctl = open(s->fifo[0], O_RDWR | O_CLOEXEC);
    s->ack = open(s->fifo[1], O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (s->ctl < 0 || s->ack < 0) {
        snprintf(why, why_len, "fifo: %s", strerror(errno));
        close_fifos(s);
        return -EIO;
    }
    snprintf(control, sizeof(control), "fifo:%s,%s", s->fifo[0], s->fifo[1]);
    char *argv[] = {"perf",  "stat", "-x",
                    ",",     "-e",   "syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync",
                    "-D",    "-1",   "--control",
                    control, "-o",   s->out,
                    "-p",    pid,    NULL};
    int rc = spawn_tool(&s->tool, argv, log);
    if (rc) {
        snprintf(why, why_len, "perf: %s", strerror(-rc));
        close_fifos(s);
        return rc;
    }
    if (!perf_cmd(s, "enable\n")) {
        char line[256];
        if (s->tool) {
            kill(s->tool, SIGKILL);
            waitpid(s->tool, NULL, 0);
            s->tool = 0;
        }
        tool_log_line(log, line, sizeof(line));
        snprintf(why, why_len, "perf stat did not start counting: %s", line[0] ? line : "?");
        close_fifos(s);
        return -EIO;
    }
    s->perf = true;
    snprintf(s->method, sizeof(s->method), "perf stat on syscalls:sys_enter_fdatasync/fsync");
    return 0;
}

static int start_strace(struct sb_synccount *s, pid_t target, const char *dir, char *why,
                        size_t why_len)
{
    char pid[16], log[600];
    snprintf(pid, sizeof(pid), "%d", (int)target);
    snprintf(log, sizeof(log), "%s/strace.log", dir);
    char *argv[] = {"strace", "-f",   "-c", "-e", "trace=fdatasync,fsync",
                    "-o",     s->out, "-p", pid,  NULL};
    int rc = spawn_tool(&s->tool, argv, log);
    if (rc) {
        snprintf(why, why_len, "strace: %s", strerror(-rc));
        return rc;
    }
    /* strace prints nothing when it has attached to every thread: give it a moment. */
    usleep(500000);
    if (waitpid(s->tool, NULL, WNOHANG) == s->tool) {
        char line[256];
        s->tool = 0;
        tool_log_line(log, line, sizeof(line));
        snprintf(why, why_len, "strace exited: %s", line);
        return -EIO;
    }
    snprintf(s->method, sizeof(s->method),
             "strace -c -f (ptrace: the broker's latency is inflated meanwhile)");
    return 0;
}

int sb_synccount_start(struct sb_synccount *s, pid_t target, const char *dir, char *why,
                       size_t why_len)
{
    memset(s, 0, sizeof(*s));
    s->ctl = s->ack = -1;
    snprintf(s->out, sizeof(s->out), "%s/synccount.out", dir);
    char pwhy[300] = "", swhy[300] = "";
    if (start_perf(s, target, dir, pwhy, sizeof(pwhy)) == 0)
        return 0;
    if (start_strace(s, target, dir, swhy, sizeof(swhy)) == 0)
        return 0;
    snprintf(why, why_len, "%.200s; %.200s", pwhy, swhy);
    return -ENOTSUP;
}

/* perf -x, lines: "<count>,<unit>,<event>,..." ("<not counted>" when the event never ran). */
static void parse_perf(FILE *f, long long *fdatasyncs, long long *fsyncs)
{
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        long long v = 0;
        if (line[0] != '<' && sscanf(line, "%lld", &v) != 1)
            continue;
        if (strstr(line, "sys_enter_fdatasync"))
            *fdatasyncs = v;
        else if (strstr(line, "sys_enter_fsync"))
            *fsyncs = v;
    }
}

/* strace -c: "% time seconds usecs/call calls [errors] syscall" rows. */
static void parse_strace(FILE *f, long long *fdatasyncs, long long *fsyncs)
{
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        double pct, sec;
        long long usecs, calls;
        char name[64];
        if (sscanf(line, "%lf %lf %lld %lld", &pct, &sec, &usecs, &calls) != 4)
            continue;
        line[strcspn(line, "\n")] = 0;
        char *last = strrchr(line, ' ');
        snprintf(name, sizeof(name), "%s", last ? last + 1 : "");
        if (!strcmp(name, "fdatasync"))
            *fdatasyncs = calls;
        else if (!strcmp(name, "fsync"))
            *fsyncs = calls;
    }
}

int sb_synccount_stop(struct sb_synccount *s, long long *fdatasyncs, long long *fsyncs, char *why,
                      size_t why_len)
{
    *fdatasyncs = *fsyncs = 0;
    if (!s->tool) {
        snprintf(why, why_len, "not counting");
        return -ESRCH;
    }
    bool ok = true;
    if (s->perf)
        ok = perf_cmd(s, "disable\n");
    if (s->tool) {
        kill(s->tool, SIGINT);
        int st = 0;
        for (int i = 0; i < 200 && waitpid(s->tool, &st, WNOHANG) != s->tool; i++)
            usleep(50000);
        if (kill(s->tool, 0) == 0) {
            kill(s->tool, SIGKILL);
            waitpid(s->tool, NULL, 0);
        }
        s->tool = 0;
    }
    close_fifos(s);
    FILE *f = fopen(s->out, "r");
    if (!f || !ok) {
        snprintf(why, why_len, "%s: no counts", s->method);
        if (f)
            fclose(f);
        return -EIO;
    }
    if (s->perf)
        parse_perf(f, fdatasyncs, fsyncs);
    else
        parse_strace(f, fdatasyncs, fsyncs);
    fclose(f);
    unlink(s->out);
    return 0;
}
