/* tb_netns — a bridge and a namespace per broker for the partition tests (tb_netns.h). */
#include "tb_netns.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tb_broker.h"

/* A MAC no interface here has (locally administered): where an isolated namespace's packets
 * go. */
#define TB_NETNS_NOWHERE "02:00:5e:00:53:ee"

/* Runs one shell command line (our own names only), its output discarded: 0 or -EIO. */
static int __attribute__((format(printf, 1, 2))) nn_run(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    int l = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (l < 0 || (size_t)l >= sizeof cmd - 16)
        return -EIO;
    strcat(cmd, " >/dev/null 2>&1");
    int rc = system(cmd);
    return rc == 0 ? 0 : -EIO;
}

/* Deletes the namespaces and links of earlier runs whose process is gone. */
static void nn_clear_stale(void)
{
    static const char *const lists[] = {"ip netns list 2>/dev/null", "ip -o link show 2>/dev/null"};
    for (int k = 0; k < 2; k++) {
        FILE *f = popen(lists[k], "r");
        if (!f)
            continue;
        char line[512];
        while (fgets(line, sizeof line, f)) {
            char *name = line;
            if (k == 1) { /* "5: slpn123v1@if2: <...>" */
                name = strstr(line, ": ");
                if (!name)
                    continue;
                name += 2;
            }
            name[strcspn(name, "@: \n")] = 0;
            int pid = 0, used = 0;
            if (sscanf(name, "slpn%d%n", &pid, &used) != 1 || pid <= 0 || !name[used] ||
                (kill(pid, 0) == 0 || errno != ESRCH))
                continue;
            fprintf(stderr, "tb_netns: deleting %s, left by an earlier run\n", name);
            if (k == 0)
                nn_run("ip netns del %s", name);
            else
                nn_run("ip link del %s", name);
        }
        pclose(f);
    }
}

/* True when some address or route of this host is in 10.x.y.0/24. */
static bool nn_subnet_used(int x, int y)
{
    char pat[32], cmd[200];
    snprintf(pat, sizeof pat, "10\\.%d\\.%d\\.", x, y);
    snprintf(cmd, sizeof cmd,
             "(ip -4 -o addr show; ip -4 route show table all) 2>/dev/null | "
             "grep -Eq '(^|[^0-9.])%s'",
             pat);
    return system(cmd) == 0;
}

/* The reaper: deletes every name once the test process is gone (tb_reaper_spawn). */
static void nn_reaper_start(struct tb_netns *t)
{
    char script[2048];
    size_t l = (size_t)snprintf(script, sizeof script, "trap '' TERM INT HUP; cat >/dev/null; ");
    for (int i = 1; i <= t->n; i++)
        l += (size_t)snprintf(script + l, sizeof script - l, "ip netns del %s; ip link del %s; ",
                              t->ns[i], t->veth[i]);
    snprintf(script + l, sizeof script - l, "ip link del %s; exit 0", t->bridge);
    int fd = tb_reaper_spawn(script, "", &t->reaper_pid);
    if (fd >= 0)
        t->reaper = fd + 1;
}

void tb_netns_setup(struct tb_netns *t, int n)
{
    memset(t, 0, sizeof *t);
    if (geteuid() != 0) {
        t->skip_why = "not root (network namespaces need it)";
        return;
    }
    if (n < 1 || n > TB_NETNS_MAX || system("ip netns list >/dev/null 2>&1") != 0) {
        t->skip_why = "`ip netns` is not available";
        return;
    }
    nn_clear_stale();
    int pid = (int)getpid(), x = 0, y = 0;
    for (int k = 0; k < 64 && !x; k++) {
        unsigned seed = (unsigned)pid * 7919u + (unsigned)k * 104729u;
        int cx = 128 + (int)(seed % 100), cy = 1 + (int)(seed / 100 % 250);
        if (!nn_subnet_used(cx, cy))
            x = cx, y = cy;
    }
    if (!x) {
        t->skip_why = "no free 10.X.Y.0/24 for the bridge";
        return;
    }
    t->n = n;
    snprintf(t->bridge, sizeof t->bridge, "slpn%dbr", pid);
    snprintf(t->gw, sizeof t->gw, "10.%d.%d.1", x, y);
    snprintf(t->client, sizeof t->client, "10.%d.%d.2", x, y);
    for (int i = 1; i <= n; i++) {
        snprintf(t->ns[i], sizeof t->ns[i], "slpn%db%d", pid, i);
        snprintf(t->veth[i], sizeof t->veth[i], "slpn%dv%d", pid, i);
        snprintf(t->peer[i], sizeof t->peer[i], "slpn%dp%d", pid, i);
        snprintf(t->addr[i], sizeof t->addr[i], "10.%d.%d.%d", x, y, 10 + i);
        t->wrap[i][0] = "ip";
        t->wrap[i][1] = "netns";
        t->wrap[i][2] = "exec";
        t->wrap[i][3] = t->ns[i];
        t->wrap[i][4] = NULL;
    }
    nn_reaper_start(t); /* before the first name exists: nothing can be left behind */
    if (!t->reaper) {
        t->skip_why = "cannot start the reaper";
        return;
    }
    int rc = nn_run("ip link add %s type bridge", t->bridge);
    if (rc == 0)
        rc = nn_run("ip addr add %s/24 dev %s && ip addr add %s/24 dev %s && ip link set %s up",
                    t->gw, t->bridge, t->client, t->bridge, t->bridge);
    for (int i = 1; i <= n && rc == 0; i++) {
        rc = nn_run("ip netns add %s", t->ns[i]);
        if (rc == 0)
            rc = nn_run("ip -n %s link set lo up && "
                        "ip link add %s type veth peer name %s netns %s && "
                        "ip link set %s master %s up && "
                        "ip -n %s addr add %s/24 dev %s && ip -n %s link set %s up",
                        t->ns[i], t->veth[i], t->peer[i], t->ns[i], t->veth[i], t->bridge, t->ns[i],
                        t->addr[i], t->peer[i], t->ns[i], t->peer[i]);
    }
    if (rc != 0) {
        tb_netns_teardown(t);
        t->skip_why = "cannot make the bridge, namespaces and veth pairs (`ip` failed)";
        return;
    }
    fprintf(stderr, "tb_netns: bridge %s (%s, %s), namespaces %s..%s (%s..%s)\n", t->bridge, t->gw,
            t->client, t->ns[1], t->ns[n], t->addr[1], t->addr[n]);
}

void tb_netns_teardown(struct tb_netns *t)
{
    if (t->reaper > 0) {
        close(t->reaper - 1); /* EOF: the reaper deletes everything and exits */
        t->reaper = 0;
        if (tb_wait_exit(t->reaper_pid, 30000) < 0)
            fprintf(stderr, "tb_netns: the reaper did not finish; left: %s...\n", t->bridge);
    }
}

int tb_netns_cut(const struct tb_netns *t, int i, bool cut)
{
    return nn_run("ip link set %s %s", t->veth[i], cut ? "down" : "up");
}

int tb_netns_isolate(const struct tb_netns *t, int i, bool isolate, bool gw_too)
{
    int rc = 0;
    for (int j = gw_too ? 0 : 1; j <= t->n; j++) {
        if (j == i)
            continue;
        const char *to = j == 0 ? t->gw : t->addr[j];
        int r = isolate ? nn_run("ip -n %s neigh replace %s lladdr " TB_NETNS_NOWHERE
                                 " dev %s nud permanent",
                                 t->ns[i], to, t->peer[i])
                        : nn_run("ip -n %s neigh del %s dev %s", t->ns[i], to, t->peer[i]);
        rc = rc ? rc : r;
    }
    return rc;
}
