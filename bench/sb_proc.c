/*
 * sb_proc — the broker as a child process of the bench, and what a process costs: CPU time
 * from the scheduler in nanoseconds, resident memory.
 * The broker gets --listen 127.0.0.1:0 (or the listeners setting the caller passes), a data
 * dir, a port file and a log file; the bench reads the port back (the first listener's).
 *
 * CPU: /proc/PID/stat's utime + stime count clock ticks (10 ms here), too coarse for a pass
 * of a few hundred milliseconds (issue 19 saw two paths at exactly the same s/GiB). The
 * process CPU clock of clock_getcpuclockid(3) reads the scheduler's sum_exec_runtime of the
 * whole thread group in nanoseconds, exited threads included. Where the kernel refuses it,
 * the per-thread /proc/PID/task/TID/schedstat (first field: ns on the CPU) are summed; that
 * misses threads that exited, which the broker's long-lived threads never do.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

/* The last non-empty line of the log (the broker's reason for exiting, usually). */
static void last_line(const char *path, char *out, size_t len)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0])
            snprintf(out, len, "%.300s", line);
    }
    fclose(f);
}

pid_t sb_spawn(const char *program, const char *const *argv, const char *log, char *why,
               size_t why_len)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, why_len, "fork: %s", strerror(errno));
        return -errno;
    }
    if (pid == 0) {
        /* the child dies with the bench (a bench killed by ^C leaves no process behind) */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (lfd >= 0) {
            dup2(lfd, 1);
            dup2(lfd, 2);
        }
        int nfd = open("/dev/null", O_RDONLY);
        if (nfd >= 0)
            dup2(nfd, 0);
        execvp(program, (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", program, strerror(errno));
        _exit(127);
    }
    return pid;
}

int sb_broker_start(struct sb_broker *b, const char *binary, const char *dir, const char *data,
                    const char *name, const char *const *settings, char *why, size_t why_len)
{
    char portf[600];
    const char *argv[64];
    int argc = 0;
    memset(b, 0, sizeof(*b));
    snprintf(portf, sizeof(portf), "%s/port-%s", dir, name);
    snprintf(b->log, sizeof(b->log), "%s/broker-%s.log", dir, name);
    unlink(portf);

    bool has_listeners = false;
    argv[argc++] = binary;
    argv[argc++] = "--data-dir";
    argv[argc++] = data;
    argv[argc++] = "--port-file";
    argv[argc++] = portf;
    for (size_t i = 0; settings && settings[i] && argc < 60; i++) {
        if (!strncmp(settings[i], "listeners=", 10))
            has_listeners = true;
        argv[argc++] = "-o";
        argv[argc++] = settings[i];
    }
    if (!has_listeners) {
        argv[argc++] = "--listen";
        argv[argc++] = "127.0.0.1:0";
    }
    argv[argc] = NULL;

    pid_t pid = sb_spawn(binary, argv, b->log, why, why_len);
    if (pid < 0)
        return (int)pid;
    b->pid = pid;
    for (int i = 0; i < 12000; i++) { /* 60 s; every 5 ms, so that start-up times are exact */
        FILE *f = fopen(portf, "r");
        if (f) {
            int ok = fscanf(f, "%d", &b->port) == 1 && b->port > 0;
            fclose(f);
            if (ok)
                return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            char line[400];
            last_line(b->log, line, sizeof(line));
            snprintf(why, why_len, "broker exited (%s): %s", WIFEXITED(st) ? "status" : "signal",
                     line[0] ? line : b->log);
            b->pid = 0;
            return -ECHILD;
        }
        usleep(5000);
    }
    snprintf(why, why_len, "broker did not write its port within 60 s (see %s)", b->log);
    sb_broker_stop(b);
    return -ETIMEDOUT;
}

void sb_broker_stop(struct sb_broker *b)
{
    if (b->pid <= 0)
        return;
    kill(b->pid, SIGTERM);
    for (int i = 0; i < 400; i++) {
        if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
            b->pid = 0;
            return;
        }
        usleep(50000);
    }
    kill(b->pid, SIGKILL);
    waitpid(b->pid, NULL, 0);
    b->pid = 0;
}

bool sb_broker_log_find(const struct sb_broker *b, const char *needle, char *line, size_t len)
{
    FILE *f = fopen(b->log, "r");
    if (!f)
        return false;
    char buf[512];
    bool found = false;
    while (!found && fgets(buf, sizeof(buf), f)) {
        if (strstr(buf, needle)) {
            buf[strcspn(buf, "\n")] = 0;
            snprintf(line, len, "%.300s", buf);
            found = true;
        }
    }
    fclose(f);
    return found;
}

static const char *cpu_source = "scheduler ns (the bench: CLOCK_PROCESS_CPUTIME_ID)";

const char *sb_proc_cpu_source(void) { return cpu_source; }

static int64_t schedstat_sum(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    int64_t sum = 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char f[128], buf[128];
        snprintf(f, sizeof(f), "/proc/%d/task/%.20s/schedstat", (int)pid, e->d_name);
        int fd = open(f, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue; /* the thread just exited */
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = 0;
        unsigned long long ns;
        if (sscanf(buf, "%llu", &ns) == 1) {
            sum += (int64_t)ns;
            found++;
        }
    }
    closedir(d);
    return found ? sum : -ENOENT;
}

int64_t sb_proc_cpu_ns(pid_t pid)
{
    clockid_t clk;
    struct timespec ts;
    if (clock_getcpuclockid(pid, &clk) == 0 && clock_gettime(clk, &ts) == 0) {
        cpu_source = "process CPU clock (clock_getcpuclockid: scheduler ns, all threads)";
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    }
    int64_t v = schedstat_sum(pid);
    if (v >= 0)
        cpu_source = "sum of /proc/PID/task/*/schedstat (scheduler ns, live threads)";
    return v;
}

long long sb_proc_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    long long kib = -ENOENT;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %lld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

const char *sb_default_broker(const char *argv0, char *buf, size_t len)
{
    const char *env = getenv("SPLICELOGD_REL");
    if (env && *env)
        return env;
    /* build/splicelog-bench -> build/splicelogd */
    const char *slash = strrchr(argv0, '/');
    if (slash) {
        snprintf(buf, len, "%.*s/splicelogd", (int)(slash - argv0), argv0);
        if (access(buf, X_OK) == 0)
            return buf;
    }
    snprintf(buf, len, "build/splicelogd");
    return buf;
}
