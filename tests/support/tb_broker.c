/*
 * tb_broker — runs a real splicelogd for the integration suites. Contract in tb_broker.h.
 *
 * The broker is a child process: its stderr and stdout are appended to <dir>/broker.log (kept
 * across restarts so a test sees every run), and it gets PR_SET_PDEATHSIG=SIGKILL so a test
 * that crashes or times out never leaves a broker behind. Readiness is the port file the
 * broker writes atomically once it accepts connections.
 */
#include "tb_broker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
    TB_READY_TIMEOUT_MS = 20000,
    TB_STOP_TIMEOUT_MS = 20000,
    TB_MAX_ARGS = 64,
};

void tb_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

const char *tb_broker_binary(void)
{
    static char path[4096];
    const char *env = getenv("SPLICELOGD");
    if (env && *env)
        return env;
    const char *root = getenv("SPLICELOG_ROOT");
    if (root && *root) {
        snprintf(path, sizeof path, "%s/build/san/splicelogd", root);
        return path;
    }
    return "build/san/splicelogd";
}

static void tb_port_file(const struct tb_broker *b, char *out, size_t cap)
{
    snprintf(out, cap, "%s/port", b->dir);
}

/*
 * The reaper: /bin/sh reading a pipe whose only write end this process holds. When the test
 * process goes (normally, by _exit after a failed check, or by a signal) the pipe reads EOF and
 * the reaper removes the temp dir, retrying while the dying broker still writes into it. After
 * a normal tb_broker_cleanup() the dir is already gone and the reaper just exits. exec right
 * after fork, so it is safe in a test process with threads.
 */
int tb_reaper_spawn(const char *script, const char *arg, pid_t *pid_out)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[0], STDIN_FILENO); /* the copy is not close-on-exec */
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) {
            dup2(nul, STDOUT_FILENO);
            dup2(nul, STDERR_FILENO);
        }
        close_range(3, ~0U, 0);
        setsid();
        execl("/bin/sh", "sh", "-c", script, "tb-reaper", arg, (char *)NULL);
        _exit(127);
    }
    int err = -errno;
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        return err;
    }
    *pid_out = pid;
    return p[1];
}

static void tb_reaper_start(struct tb_broker *b)
{
    if (getenv("SPLICELOG_KEEP_TMP"))
        return;
    static const char script[] = "cat >/dev/null; for i in 1 2 3 4 5 6 7 8 9 10; do "
                                 "rm -rf -- \"$1\" 2>/dev/null; [ -e \"$1\" ] || exit 0; "
                                 "sleep 0.5; done";
    int fd = tb_reaper_spawn(script, b->dir, &b->reaper_pid);
    if (fd >= 0)
        b->reaper = fd + 1;
}

static int tb_make_dir(struct tb_broker *b)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int n = snprintf(b->dir, sizeof b->dir, "%s/splicelog-tb-XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof b->dir) {
        b->dir[0] = 0;
        return -ENAMETOOLONG;
    }
    if (!mkdtemp(b->dir)) {
        int err = -errno;
        b->dir[0] = 0;
        return err;
    }
    snprintf(b->data, sizeof b->data, "%s/data", b->dir);
    snprintf(b->log, sizeof b->log, "%s/broker.log", b->dir);
    tb_reaper_start(b);
    if (mkdir(b->data, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Reads the port file: the port (> 0), 0 when it is not there (or not complete) yet. */
static int tb_read_port(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return 0;
    char line[32] = {0};
    char *got = fgets(line, sizeof line, f);
    fclose(f);
    if (!got || !strchr(line, '\n'))
        return 0;
    char *end;
    long port = strtol(line, &end, 10);
    if (end == line || *end != '\n' || port <= 0 || port > 65535)
        return 0;
    return (int)port;
}

int tb_broker_start(struct tb_broker *b, const char *const *extra)
{
    return tb_broker_start_within(b, extra, TB_READY_TIMEOUT_MS);
}

int tb_broker_start_within(struct tb_broker *b, const char *const *extra, int ready_ms)
{
    if (b->pid > 0)
        return -EBUSY;
    const char *bin = tb_broker_binary();
    if (access(bin, X_OK) < 0)
        return -errno;
    if (b->dir[0] == 0) {
        int rc = tb_make_dir(b);
        if (rc < 0)
            return rc;
    }

    char port_file[320];
    tb_port_file(b, port_file, sizeof port_file);
    unlink(port_file);
    b->port = 0;

    char listen[64];
    snprintf(listen, sizeof listen, "%s:0", b->host[0] ? b->host : "127.0.0.1");
    const char *argv[TB_MAX_ARGS];
    int argc = 0;
    for (int i = 0; b->wrap && b->wrap[i]; i++) {
        if (argc >= TB_MAX_ARGS / 2)
            return -E2BIG;
        argv[argc++] = b->wrap[i];
    }
    argv[argc++] = bin;
    argv[argc++] = "--listen";
    argv[argc++] = listen;
    argv[argc++] = "--data-dir";
    argv[argc++] = b->data;
    argv[argc++] = "--port-file";
    argv[argc++] = port_file;
    for (int i = 0; extra && extra[i]; i++) {
        if (argc >= TB_MAX_ARGS - 1)
            return -E2BIG;
        argv[argc++] = extra[i];
    }
    argv[argc] = NULL;

    int logfd = open(b->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0)
        return -errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        close(logfd);
        return err;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, STDIN_FILENO);
        dup2(logfd, STDOUT_FILENO);
        dup2(logfd, STDERR_FILENO);
        if (b->wrap)
            execvp(argv[0], (char *const *)argv);
        else
            execv(bin, (char *const *)argv);
        dprintf(STDERR_FILENO, "tb_broker: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(logfd);
    b->pid = pid;

    int64_t deadline = tb_now_ms() + ready_ms;
    for (;;) {
        int port = tb_read_port(port_file);
        if (port > 0) {
            b->port = port;
            return 0;
        }
        int status;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            b->pid = 0;
            return -ECHILD;
        }
        if (tb_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            b->pid = 0;
            return -ETIMEDOUT;
        }
        tb_sleep_ms(10);
    }
}

int tb_broker_stop(struct tb_broker *b, int sig)
{
    if (b->pid <= 0)
        return -ESRCH;
    if (kill(b->pid, sig) < 0 && errno != ESRCH)
        return -errno;
    int64_t deadline = tb_now_ms() + TB_STOP_TIMEOUT_MS;
    int status = 0;
    for (;;) {
        pid_t w = waitpid(b->pid, &status, WNOHANG);
        if (w == b->pid)
            break;
        if (w < 0 && errno != EINTR) {
            int err = -errno;
            b->pid = 0;
            return err;
        }
        if (tb_now_ms() > deadline) {
            kill(b->pid, SIGKILL);
            waitpid(b->pid, &status, 0);
            b->pid = 0;
            return -ETIMEDOUT;
        }
        tb_sleep_ms(5);
    }
    b->pid = 0;
    b->port = 0;
    return status;
}

static int tb_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void tb_broker_cleanup(struct tb_broker *b)
{
    if (b->pid > 0)
        tb_broker_stop(b, SIGKILL);
    if (b->dir[0]) {
        if (getenv("SPLICELOG_KEEP_TMP"))
            fprintf(stderr, "tb_broker: keeping %s\n", b->dir);
        else
            nftw(b->dir, tb_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (b->reaper > 0) {
        close(b->reaper - 1); /* the reaper finds the dir gone and exits */
        tb_wait_exit(b->reaper_pid, 5000);
    }
    memset(b, 0, sizeof *b);
}

/* Connects fd (its options set here) to host:port; fd, or -errno with fd closed. */
static int tb_connect_fd(int fd, const char *host, int port)
{
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        close(fd);
        return -EINVAL;
    }
    for (;;) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
        if (errno != EINTR)
            break;
    }
    int err = -errno;
    close(fd);
    return err;
}

int tb_connect_host(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return fd < 0 ? -errno : tb_connect_fd(fd, host, port);
}

int tb_connect(int port) { return tb_connect_host("127.0.0.1", port); }

/* Reads the whole log into a NUL-terminated malloc'd buffer; NULL when absent or empty. */
static char *tb_log_read(const struct tb_broker *b, size_t *len_out)
{
    int fd = open(b->log, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        size_t len = (size_t)st.st_size;
        buf = malloc(len + 1);
        if (buf) {
            size_t got = 0;
            while (got < len) {
                ssize_t n = read(fd, buf + got, len - got);
                if (n <= 0)
                    break;
                got += (size_t)n;
            }
            buf[got] = 0;
            *len_out = got;
        }
    }
    close(fd);
    return buf;
}

static bool tb_log_has_line(const struct tb_broker *b, const char *needle,
                            const char *const *exclude)
{
    size_t len = 0;
    char *buf = tb_log_read(b, &len);
    if (!buf)
        return false;
    bool found = false;
    char *line = buf;
    while (!found && line < buf + len) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        if (nl)
            *nl = 0;
        if (strstr(line, needle)) {
            found = true;
            for (int i = 0; exclude && exclude[i]; i++)
                if (strstr(line, exclude[i]))
                    found = false;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    free(buf);
    return found;
}

bool tb_log_wait_line(const struct tb_broker *b, const char *needle, const char *const *exclude,
                      int timeout_ms)
{
    int64_t deadline = tb_now_ms() + timeout_ms;
    for (;;) {
        if (tb_log_has_line(b, needle, exclude))
            return true;
        if (tb_now_ms() > deadline)
            return false;
        tb_sleep_ms(20);
    }
}

bool tb_log_contains(const struct tb_broker *b, const char *needle)
{
    size_t len = 0;
    char *buf = tb_log_read(b, &len);
    if (!buf)
        return false;
    bool found = memmem(buf, len, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

bool tb_log_wait(const struct tb_broker *b, const char *needle, int timeout_ms)
{
    int64_t deadline = tb_now_ms() + timeout_ms;
    for (;;) {
        if (tb_log_contains(b, needle))
            return true;
        if (tb_now_ms() > deadline)
            return false;
        tb_sleep_ms(20);
    }
}

bool tb_broker_alive(struct tb_broker *b)
{
    if (b->pid <= 0)
        return false;
    int status;
    pid_t w = waitpid(b->pid, &status, WNOHANG);
    if (w == b->pid) {
        b->pid = 0;
        return false;
    }
    return true;
}

int tb_local_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return -errno;
    return ntohs(sa.sin_port);
}

pid_t tb_spawn(const char *const *argv, const char *out_path)
{
    char err_path[4096];
    snprintf(err_path, sizeof err_path, "%s.err", out_path);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0)
        return -errno;
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (err < 0) {
        int e = -errno;
        close(out);
        return e;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, STDIN_FILENO);
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        execvp(argv[0], (char *const *)argv);
        dprintf(STDERR_FILENO, "tb_spawn: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int e = pid < 0 ? -errno : 0;
    close(out);
    close(err);
    return pid < 0 ? e : pid;
}

int tb_wait_exit(pid_t pid, int timeout_ms)
{
    int64_t deadline = tb_now_ms() + timeout_ms;
    int status;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return status;
        if (w < 0 && errno != EINTR)
            return -errno;
        if (tb_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -ETIMEDOUT;
        }
        tb_sleep_ms(10);
    }
}

int tb_connect_from(const char *src, int port)
{
    struct sockaddr_in local = {0};
    local.sin_family = AF_INET;
    if (inet_pton(AF_INET, src, &local.sin_addr) != 1)
        return -EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    /* the port is chosen at connect (per destination), not at bind (per source address) */
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return tb_connect_fd(fd, "127.0.0.1", port);
}

int64_t tb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long tb_broker_rss_kib(const struct tb_broker *b)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)b->pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

int tb_broker_metrics_port(const struct tb_broker *b)
{
    static const char needle[] = "metrics listener on http://127.0.0.1:";
    FILE *f = fopen(b->log, "r");
    if (!f)
        return 0;
    char line[1024];
    int port = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, needle);
        if (p)
            port = atoi(p + sizeof needle - 1);
    }
    fclose(f);
    return port;
}

long tb_log_count(const struct tb_broker *b, const char *needle)
{
    size_t len = 0;
    char *buf = tb_log_read(b, &len);
    if (!buf)
        return 0;
    long n = 0;
    size_t nl = strlen(needle);
    for (char *p = buf; (p = memmem(p, len - (size_t)(p - buf), needle, nl)) != NULL; p += nl)
        n++;
    free(buf);
    return n;
}
