/* tb_zk — a real ZooKeeper server, a client and brokers for the cluster tests (tb_zk.h). */
#include "tb_zk.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t zk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether 127.0.0.1:port can be bound now (0: the kernel's choice); the bound port or -1. */
static int try_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* The first port of the kernel's ephemeral range (net.ipv4.ip_local_port_range). */
static int ephemeral_low(void)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    int lo = 32768, hi = 0;
    if (f) {
        if (fscanf(f, "%d %d", &lo, &hi) != 2)
            lo = 32768;
        fclose(f);
    }
    return lo;
}

int tb_zk_free_port(void)
{
    /* Below the ephemeral range: a port the kernel hands out itself can become the local
     * port of any outgoing connection (a broker's to ZooKeeper, a client's) before the
     * server binds it, or while a stopped server is down and about to be restarted there. */
    int lo = ephemeral_low();
    if (lo > 12000) {
        unsigned seed = (unsigned)getpid() ^ (unsigned)zk_now_ms();
        for (int i = 0; i < 50; i++) {
            int port = 10000 + (int)(rand_r(&seed) % (unsigned)(lo - 10000 - 1));
            if (try_port(port) == port)
                return port;
        }
    }
    return try_port(0);
}

pid_t tb_zk_spawn(int port, const char *dir)
{
    char portstr[16], data[300], out[300];
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(out, sizeof out, "%s/zookeeper.log", dir);
    mkdir(data, 0700);
    const char *const argv[] = {"java",
                                "-Xmx128m",
                                "-XX:+UseSerialGC",
                                "-XX:TieredStopAtLevel=1",
                                "-Dzookeeper.admin.enableServer=false",
                                "-cp",
                                "/etc/zookeeper/conf:" TB_ZK_JAR,
                                "org.apache.zookeeper.server.ZooKeeperServerMain",
                                portstr,
                                data,
                                "500",
                                NULL};
    return tb_spawn(argv, out);
}

void tb_zk_start(struct tb_zk *z, const char *name)
{
    memset(z, 0, sizeof *z);
    if (access(TB_ZK_JAR, R_OK) != 0) {
        z->skip_why = "Debian's zookeeper package is not installed (" TB_ZK_JAR ")";
        return;
    }
    if (system("command -v java >/dev/null 2>&1") != 0) {
        z->skip_why = "java is not installed";
        return;
    }
    snprintf(z->dir, sizeof z->dir, "%s/%s.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             name);
    if (!mkdtemp(z->dir)) {
        z->dir[0] = 0;
        z->skip_why = "cannot make a temporary directory";
        return;
    }
    if (!getenv("SPLICELOG_KEEP_TMP")) {
        int fd = tb_reaper_spawn("cat >/dev/null; rm -rf -- \"$1\"", z->dir, &z->reaper_pid);
        z->reaper = fd >= 0 ? fd + 1 : 0;
    }
    z->port = tb_zk_free_port();
    z->pid = tb_zk_spawn(z->port, z->dir);
    if (z->pid <= 0) {
        z->skip_why = "cannot start java";
        z->pid = 0;
    }
}

void tb_zk_stop(struct tb_zk *z)
{
    if (z->pid > 0) {
        kill(z->pid, SIGKILL);
        waitpid(z->pid, NULL, 0);
        z->pid = 0;
    }
    if (z->dir[0] && !getenv("SPLICELOG_KEEP_TMP")) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", z->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", z->dir);
    }
    if (z->reaper > 0) {
        close(z->reaper - 1);
        z->reaper = 0;
        tb_wait_exit(z->reaper_pid, 5000);
    }
}

static void zk_quiet(const char *msg) { (void)msg; }

zhandle_t *tb_zk_open(const struct tb_zk *z)
{
    char hosts[64];
    snprintf(hosts, sizeof hosts, "127.0.0.1:%d", z->port);
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init2(hosts, NULL, 10000, NULL, NULL, 0, zk_quiet);
    ck_assert_ptr_nonnull(zh);
    int64_t until = zk_now_ms() + 60000;
    while (zoo_state(zh) != ZOO_CONNECTED_STATE && zk_now_ms() < until) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(zoo_state(zh) == ZOO_CONNECTED_STATE, "no ZooKeeper at %s (see %s)", hosts,
                  z->dir);
    return zh;
}

const char *tb_zk_get(zhandle_t *zh, const char *path, struct Stat *st)
{
    static char buf[8192];
    int len = (int)sizeof buf - 1;
    int rc = zoo_get(zh, path, 0, buf, &len, st);
    if (rc == ZNONODE)
        return NULL;
    ck_assert_msg(rc == ZOK, "get %s: %s", path, zerror(rc));
    buf[len > 0 ? len : 0] = 0;
    return buf;
}

long tb_zk_json_int(const char *json, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = json ? strstr(json, k) : NULL;
    return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

int tb_zk_broker_start(struct tb_broker *b, const struct tb_zk *z, const char *chroot, int id,
                       int session_ms, const char *connect_override, const char *const *more)
{
    char idkv[32], zk[160], sess[64];
    snprintf(idkv, sizeof idkv, "broker.id=%d", id);
    if (connect_override)
        snprintf(zk, sizeof zk, "zookeeper.connect=%s", connect_override);
    else
        snprintf(zk, sizeof zk, "zookeeper.connect=127.0.0.1:%d%s", z->port, chroot);
    snprintf(sess, sizeof sess, "zookeeper.session.timeout.ms=%d", session_ms);
    const char *argv[64];
    int n = 0;
    const char *const base[] = {"-o", idkv,
                                "-o", zk,
                                "-o", sess,
                                "-o", "zookeeper.connection.timeout.ms=30000",
                                "-o", "fetch.transfer=sendfile",
                                "-o", "num.network.threads=1"};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        argv[n++] = base[i];
    for (int i = 0; more && more[i] && n < 62; i++)
        argv[n++] = more[i];
    argv[n] = NULL;
    return tb_broker_start(b, argv);
}
