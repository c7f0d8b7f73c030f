/* sb_clu — the cluster and the single node `cluster` measures (sb_clu.h). */
#include "sb_clu.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ZK_JAR "/usr/share/java/zookeeper.jar"

void sb_clu_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- ZooKeeper ---------------------------------------------------------------------------- */

static bool port_bindable(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static bool port_listening(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* A free port below the ephemeral range (a port in it can become the local port of an
 * outgoing connection before ZooKeeper binds it); 0 when none was found in 50 tries. */
static int free_port(void)
{
    int lo = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d", &lo) != 1)
            lo = 32768;
        fclose(f);
    }
    if (lo <= 12000)
        return 0;
    unsigned seed = (unsigned)getpid() ^ (unsigned)sb_now_ns();
    for (int i = 0; i < 50; i++) {
        int port = 10000 + (int)(rand_r(&seed) % (unsigned)(lo - 10000 - 1));
        if (port_bindable(port) && !port_listening(port))
            return port;
    }
    return 0;
}

static int zk_start(struct sb_clu *c, char *why, size_t why_len)
{
    if (access(ZK_JAR, R_OK)) {
        snprintf(why, why_len, "%s: not installed (scripts/deps.sh cluster, as root)", ZK_JAR);
        return -ENOENT;
    }
    c->zk_port = free_port();
    if (!c->zk_port) {
        snprintf(why, why_len, "no free loopback port below the ephemeral range for ZooKeeper");
        return -EADDRINUSE;
    }
    char port[16], data[600];
    snprintf(port, sizeof(port), "%d", c->zk_port);
    snprintf(data, sizeof(data), "%.480s/zookeeper", c->dir);
    snprintf(c->zk_log, sizeof(c->zk_log), "%.480s/zookeeper.log", c->dir);
    if (mkdir(data, 0700)) {
        snprintf(why, why_len, "mkdir %.300s: %s", data, strerror(errno));
        return -errno;
    }
    const char *const argv[] = {"java",
                                "-Xmx128m",
                                "-XX:+UseSerialGC",
                                "-XX:TieredStopAtLevel=1",
                                "-Dzookeeper.admin.enableServer=false",
                                "-cp",
                                "/etc/zookeeper/conf:" ZK_JAR,
                                "org.apache.zookeeper.server.ZooKeeperServerMain",
                                port,
                                data,
                                "500",
                                NULL};
    pid_t pid = sb_spawn("java", argv, c->zk_log, why, why_len);
    if (pid < 0)
        return (int)pid;
    c->zk = pid;
    for (int i = 0; i < 600; i++) { /* 60 s: the JVM starts slowly on a busy machine */
        if (port_listening(c->zk_port))
            return 0;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            c->zk = 0;
            snprintf(why, why_len, "ZooKeeper exited at start (is java installed? see %.300s)",
                     c->zk_log);
            return -ECHILD;
        }
        sb_clu_sleep_ms(100);
    }
    snprintf(why, why_len, "ZooKeeper not listening on 127.0.0.1:%d after 60 s (see %.300s)",
             c->zk_port, c->zk_log);
    return -ETIMEDOUT;
}

static void zk_stop(struct sb_clu *c)
{
    if (c->zk <= 0)
        return;
    kill(c->zk, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(c->zk, NULL, WNOHANG) == c->zk) {
            c->zk = 0;
            return;
        }
        sb_clu_sleep_ms(50);
    }
    kill(c->zk, SIGKILL);
    waitpid(c->zk, NULL, 0);
    c->zk = 0;
}

/* ---- brokers ------------------------------------------------------------------------------ */

void sb_clu_addr(const struct sb_broker *b, char *buf, size_t len)
{
    snprintf(buf, len, "127.0.0.1:%d", b->port);
}

/* Broker i (0-based; broker.id i + 1) on its data dir. */
int sb_clu_broker_start(struct sb_clu *c, int i, char *why, size_t why_len)
{
    const struct sb_opts *o = c->o;
    char id[32], zk[96], sess[64], parts[48], transfer[48], name[32];
    snprintf(id, sizeof(id), "broker.id=%d", i + 1);
    snprintf(zk, sizeof(zk), "zookeeper.connect=127.0.0.1:%d/splicelog-bench", c->zk_port);
    snprintf(sess, sizeof(sess), "zookeeper.session.timeout.ms=%d", SB_CLU_SESSION_MS);
    snprintf(parts, sizeof(parts), "num.partitions=%lld", o->partitions);
    snprintf(transfer, sizeof(transfer), "fetch.transfer=%s", o->transfer);
    snprintf(name, sizeof(name), "b%d-%d", i + 1, ++c->starts[i]);
    const char *set[SB_MAX_PROPS + 8];
    int n = 0;
    set[n++] = id;
    set[n++] = zk;
    set[n++] = sess;
    set[n++] = "zookeeper.connection.timeout.ms=30000";
    set[n++] = "default.replication.factor=3";
    set[n++] = parts;
    set[n++] = transfer;
    for (size_t k = 0; o->broker_set[k] && k < SB_MAX_PROPS; k++) /* last: they override */
        set[n++] = o->broker_set[k];
    set[n] = NULL;
    return sb_broker_start(&c->b[i], o->broker_bin, c->dir, c->data[i], name, set, why, why_len);
}

/* bootstrap := a live cluster broker other than `not` (-1: any); false when none is up. */
static bool pick_bootstrap(struct sb_clu *c, int not )
{
    for (int i = 0; i < SB_CLU_BROKERS; i++)
        if (i != not &&c->b[i].pid > 0) {
            sb_clu_addr(&c->b[i], c->bootstrap, sizeof(c->bootstrap));
            return true;
        }
    return false;
}

/* Waits (bounded) until the cluster's Metadata names all SB_CLU_BROKERS brokers. */
int sb_clu_wait_registered(struct sb_clu *c, int seconds, char *why, size_t why_len)
{
    struct sb_part_state st;
    char w[256] = "";
    for (int i = 0; i < seconds * 20; i++) {
        if (!pick_bootstrap(c, -1)) {
            snprintf(why, why_len, "no cluster broker is running");
            return -ECHILD;
        }
        if (!sb_admin_partition_state(c->bootstrap, NULL, 0, &st, w, sizeof(w)) &&
            st.n_brokers == SB_CLU_BROKERS && st.controller >= 0)
            return 0;
        sb_clu_sleep_ms(50);
    }
    snprintf(why, why_len, "the cluster does not name %d brokers after %d s (%s)", SB_CLU_BROKERS,
             seconds, w[0] ? w : "Metadata answered");
    return -ETIMEDOUT;
}

/* The reaper of c->dir: sh reads its stdin (the pipe) to the end, which comes when the bench
 * exits however it exits, then removes the directory (retrying while the brokers, killed by
 * PR_SET_PDEATHSIG, may still be writing). Not fatal when it cannot start. */
static void reaper_start(struct sb_clu *c)
{
    static const char script[] = "cat >/dev/null; for i in 1 2 3 4 5 6 7 8 9 10; do "
                                 "rm -rf -- \"$1\" 2>/dev/null; [ -e \"$1\" ] || exit 0; "
                                 "sleep 0.5; done";
    int p[2];
    c->reaper_fd = -1;
    if (getenv("SPLICELOG_KEEP_TMP") || pipe2(p, O_CLOEXEC) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[0], STDIN_FILENO); /* the copy is not close-on-exec */
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) {
            dup2(nul, STDOUT_FILENO);
            dup2(nul, STDERR_FILENO);
        }
        close_range(3, ~0U, 0); /* nothing else the bench holds: a pipe of its caller's */
        setsid();               /* a ^C to the bench's process group does not reach it */
        execl("/bin/sh", "sh", "-c", script, "splicelog-bench-reaper", c->dir, (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        return;
    }
    c->reaper = pid;
    c->reaper_fd = p[1];
}

static void reaper_stop(struct sb_clu *c)
{
    if (c->reaper_fd < 0)
        return;
    close(c->reaper_fd); /* it removes what is left (nothing) and exits */
    c->reaper_fd = -1;
    for (int i = 0; i < 100 && waitpid(c->reaper, NULL, WNOHANG) != c->reaper; i++)
        sb_clu_sleep_ms(50);
}

int sb_clu_open(struct sb_clu *c, char *why, size_t why_len)
{
    const struct sb_opts *o = c->o;
    c->session_ms = SB_CLU_SESSION_MS;
    for (size_t k = 0; o->broker_set[k]; k++)
        if (!strncmp(o->broker_set[k], "zookeeper.session.timeout.ms=", 29))
            c->session_ms = atoll(o->broker_set[k] + 29);
    c->reaper_fd = -1;
    int rc = sb_tmpdir_new(c->dir, sizeof(c->dir));
    if (rc) {
        snprintf(why, why_len, "temporary directory: %s", strerror(-rc));
        c->dir[0] = 0;
        return rc;
    }
    reaper_start(c);
    /* the single node first: its start-up is not charged to anything */
    snprintf(c->single_data, sizeof(c->single_data), "%.480s/single", c->dir);
    char parts[48], transfer[48];
    snprintf(parts, sizeof(parts), "num.partitions=%lld", o->partitions);
    snprintf(transfer, sizeof(transfer), "fetch.transfer=%s", o->transfer);
    const char *set[SB_MAX_PROPS + 4];
    int n = 0;
    set[n++] = parts;
    set[n++] = transfer;
    for (size_t k = 0; o->broker_set[k] && k < SB_MAX_PROPS; k++)
        set[n++] = o->broker_set[k];
    set[n] = NULL;
    rc = sb_broker_start(&c->single, o->broker_bin, c->dir, c->single_data, "single", set, why,
                         why_len);
    if (rc)
        return rc;
    sb_progress(o, "cluster: starting ZooKeeper");
    if ((rc = zk_start(c, why, why_len)))
        return rc;
    for (int i = 0; i < SB_CLU_BROKERS; i++) {
        snprintf(c->data[i], sizeof(c->data[i]), "%.480s/broker%d", c->dir, i + 1);
        sb_progress(o, "cluster: starting broker %d", i + 1);
        if ((rc = sb_clu_broker_start(c, i, why, why_len)))
            return rc;
    }
    rc = sb_clu_wait_registered(c, 60, why, why_len);
    sb_progress_end(o);
    return rc;
}

void sb_clu_close(struct sb_clu *c)
{
    for (int i = 0; i < SB_CLU_BROKERS; i++) {
        if (c->b[i].pid > 0)
            kill(c->b[i].pid, SIGCONT); /* a failure in the catch-up may leave one stopped */
        sb_broker_stop(&c->b[i]);
    }
    sb_broker_stop(&c->single);
    zk_stop(c);
    if (c->dir[0]) {
        if (getenv("SPLICELOG_KEEP_TMP"))
            fprintf(stderr, "splicelog-bench cluster: keeping %s\n", c->dir);
        else
            sb_tmpdir_free(c->dir);
    }
    reaper_stop(c);
    c->dir[0] = 0;
}

/* Index of the broker with this broker.id, or -1. */
int sb_clu_by_id(int32_t id) { return id >= 1 && id <= SB_CLU_BROKERS ? (int)id - 1 : -1; }

/* Waits (bounded) until partition p of topic has a leader and all SB_CLU_BROKERS replicas in its
 * ISR. */
int sb_clu_wait_in_sync(struct sb_clu *c, const char *topic, int32_t p, struct sb_part_state *st,
                        char *why, size_t why_len)
{
    char w[256] = "";
    for (int i = 0; i < 600; i++) { /* 30 s */
        if (!sb_admin_partition_state(c->bootstrap, topic, p, st, w, sizeof(w)) && st->found &&
            !st->error && sb_clu_by_id(st->leader) >= 0 && st->n_isr == SB_CLU_BROKERS)
            return 0;
        sb_clu_sleep_ms(50);
    }
    snprintf(why, why_len, "%s[%d]: no leader with %d replicas in sync after 30 s (%s)", topic,
             (int)p, SB_CLU_BROKERS, w[0] ? w : "Metadata answered");
    return -ETIMEDOUT;
}

/* Bytes of the segment files (*.log) of partition p of topic in a broker's data dir. */
long long sb_clu_log_bytes(const char *data, const char *topic, int32_t p)
{
    char path[900];
    snprintf(path, sizeof(path), "%s/%s-%d", data, topic, (int)p);
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    long long sum = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".log"))
            continue;
        struct stat sb;
        if (!fstatat(dirfd(d), de->d_name, &sb, 0))
            sum += (long long)sb.st_size;
    }
    closedir(d);
    return sum;
}
