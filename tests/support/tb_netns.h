/*
 * tb_netns — network namespaces for the cluster's partition tests: one bridge in the root
 * namespace and, per broker, a namespace joined to it by a veth pair, so that a test can cut a
 * broker off the network and heal it while every process stays up.
 *
 * Topology (n namespaces, names from the test process's pid, "slpn<pid>..."):
 *   root:  bridge slpn<pid>br with 10.X.Y.1/24 (gw: ZooKeeper, listening on every address, is
 *          reached there) and 10.X.Y.2/24 (client: the test's producer binds it), X.Y chosen so
 *          that no address or route of this host is in 10.X.Y.0/24;
 *   ns i:  slpn<pid>b<i> with lo up and slpn<pid>p<i> = 10.X.Y.(10+i)/24, its peer
 *          slpn<pid>v<i> a port of the bridge.
 *
 * Contract
 * - tb_netns_setup() runs in the test process before anything uses the namespaces (a Check
 *   unchecked fixture), as root; it first deletes what an earlier run left whose process is
 *   gone (names slpn<pid>..., that pid not running). On failure it deletes what it made and
 *   sets skip_why (not root, no `ip netns`, no bridge or veth...). It starts a reaper (a
 *   setsid'd shell holding the read end of a pipe only this process and its forks write) that
 *   deletes the namespaces, veths and bridge once the test process is gone, however it ends
 *   (killed included). tb_netns_teardown() closes the pipe and waits (bounded) for the reaper
 *   to have deleted everything: the one way the topology goes.
 * - wrap[i] is the argv prefix that runs a program in namespace i (tb_broker.wrap).
 * - tb_netns_cut(i, true) cuts namespace i from everything (its veth down on the bridge
 *   side: packets are dropped, nothing is refused); false heals it.
 * - tb_netns_isolate(i, true, gw_too) cuts namespace i from the other namespaces (and from gw
 *   when gw_too) but not from client: its packets to those addresses go to a MAC nobody has
 *   (permanent neighbour entries), silently lost; (i, false, gw_too) deletes the entries. A
 *   broker so isolated still hears the test's producer and answers it, but reaches neither
 *   its peers nor (gw_too) ZooKeeper.
 * - These calls run `ip` commands (fork + exec: safe from a threaded process): 0 or -EIO.
 */
#ifndef SPLICELOG_TB_NETNS_H
#define SPLICELOG_TB_NETNS_H

#include <stdbool.h>
#include <sys/types.h>

#define TB_NETNS_MAX 8

struct tb_netns {
    int n;
    char bridge[16];
    char ns[TB_NETNS_MAX + 1][16];   /* [1..n] */
    char veth[TB_NETNS_MAX + 1][16]; /* [1..n]: the bridge's side */
    char peer[TB_NETNS_MAX + 1][16]; /* [1..n]: the namespace's side */
    char gw[16], client[16];
    char addr[TB_NETNS_MAX + 1][16]; /* [1..n] */
    const char *wrap[TB_NETNS_MAX + 1][5];
    const char *skip_why; /* non-NULL: no namespaces here, skip */
    int reaper;           /* 1 + the pipe's write end; 0: none */
    pid_t reaper_pid;
};

void tb_netns_setup(struct tb_netns *t, int n);
void tb_netns_teardown(struct tb_netns *t);
int tb_netns_cut(const struct tb_netns *t, int i, bool cut);
int tb_netns_isolate(const struct tb_netns *t, int i, bool isolate, bool gw_too);

#endif
