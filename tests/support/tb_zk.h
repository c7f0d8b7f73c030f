/*
 * tb_zk — a real Apache ZooKeeper for the cluster tests (Debian's zookeeper package, run as
 * ZooKeeperServerMain from its jars on an ephemeral loopback port, its data in a temporary
 * directory), a ZooKeeper client for the test's own reads, and brokers started against it.
 *
 * Contract
 * - tb_zk_start() runs once per test process (a Check unchecked fixture): on success z->pid,
 *   z->port and z->dir are set; when java or the package is missing, or the server cannot be
 *   spawned, z->skip_why says why and the tests skip (TB_ZK_SKIP). tb_zk_stop() kills the
 *   server and removes its directory (kept with SPLICELOG_KEEP_TMP); a reaper removes it too
 *   when the test process is killed. tickTime is 500 ms, so
 *   sessions of 1..10 s are allowed and expiry tests stay short.
 * - tb_zk_spawn() starts another server on port with its data under dir (a test restarting
 *   ZooKeeper, or running its own): pid or -errno.
 * - tb_zk_open() waits (at most 60 s: the JVM starts slowly) for a session to z's server and
 *   fails the test without one. tb_zk_get() returns a znode's data as a string (a static
 *   buffer, overwritten by the next call) or NULL when it does not exist; other errors fail
 *   the test.
 * - tb_zk_broker_start() starts splicelogd id on b with zookeeper.connect = z's server plus
 *   chroot (or connect_override), the session timeout session_ms, sendfile fetches and one
 *   network thread, plus the "-o", "k=v" pairs of more (NULL-terminated, may be NULL).
 */
#ifndef SPLICELOG_TB_ZK_H
#define SPLICELOG_TB_ZK_H

#include <stdio.h>
#include <sys/types.h>

#define THREADED
#include <zookeeper/zookeeper.h>

#include "tb_broker.h"

#define TB_ZK_JAR "/usr/share/java/zookeeper.jar"

struct tb_zk {
    pid_t pid;
    int port;
    char dir[256];
    const char *skip_why; /* non-NULL: no ZooKeeper here, skip */
    int reaper;           /* 1 + the write end of dir's reaper (tb_reaper_spawn); 0: none */
    pid_t reaper_pid;
};

void tb_zk_start(struct tb_zk *z, const char *name);
void tb_zk_stop(struct tb_zk *z);
pid_t tb_zk_spawn(int port, const char *dir);
zhandle_t *tb_zk_open(const struct tb_zk *z);
const char *tb_zk_get(zhandle_t *zh, const char *path, struct Stat *st);
/* The integer after "key": in json, or -1 (json may be NULL). */
long tb_zk_json_int(const char *json, const char *key);
/* A loopback port nothing listens on right now, below the kernel's ephemeral range when
 * there is room (else the kernel's choice), or -1. */
int tb_zk_free_port(void);
int tb_zk_broker_start(struct tb_broker *b, const struct tb_zk *z, const char *chroot, int id,
                       int session_ms, const char *connect_override, const char *const *more);

/* In a test function: returns early, saying so, when there is no ZooKeeper. */
#define TB_ZK_SKIP(z, suite)                                                                       \
    do {                                                                                           \
        if ((z)->skip_why) {                                                                       \
            fprintf(stderr, "%s: skipped: %s\n", suite, (z)->skip_why);                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#endif
