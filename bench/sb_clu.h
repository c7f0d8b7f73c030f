/*
 * sb_clu — the ZooKeeper, the three brokers and the single node that `cluster` (sb_cluster.c)
 * measures, started and stopped for it.
 *
 * Set-up (sb_clu_open): Apache ZooKeeper from Debian's jars (ZooKeeperServerMain, tickTime 500 ms,
 * so sessions of 1..10 s) on a free loopback port below the kernel's ephemeral range; three brokers
 * (broker.id 1..3, --listen 127.0.0.1:0, zookeeper.connect=127.0.0.1:PORT/splicelog-bench,
 * num.partitions=--partitions, default.replication.factor=3, zookeeper.session.timeout.ms=6000,
 * then --broker-set); a single node (no ZooKeeper; num.partitions, --broker-set). Data, logs
 * and port files live in the bench's temporary directory. Every child dies with the bench
 * (PR_SET_PDEATHSIG); the end of the command, a failure included, stops them all and removes
 * the directory; a reaper (a shell in its own session, reading a pipe only the bench holds)
 * removes it when the bench dies otherwise (^C, kill -9). Loopback only; every wait is
 * bounded.
 *
 * Contract
 * - sb_clu_open fills c (c->o set by the caller) or returns -errno with why; sb_clu_close stops
 *   everything it started and removes the directory (safe after a failed open). Brokers are
 *   0-based here (broker.id i + 1); a stopped broker has pid 0 and sb_clu_broker_start starts
 *   it again on its data (its own log file per start).
 * - c->bootstrap is one live cluster broker (the waits choose it).
 * - The waits are bounded; every function is for the bench's one thread.
 */
#ifndef SPLICELOG_SB_CLU_H
#define SPLICELOG_SB_CLU_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sb.h"

#define SB_CLU_BROKERS    3    /* brokers in the cluster */
#define SB_CLU_SESSION_MS 6000 /* zookeeper.session.timeout.ms, unless --broker-set says */

struct sb_clu {
    const struct sb_opts *o;
    char dir[512];
    int reaper_fd; /* the write end of the reaper's pipe; -1: none */
    pid_t reaper;
    pid_t zk;
    int zk_port;
    char zk_log[600];
    long long session_ms;
    struct sb_broker b[SB_CLU_BROKERS]; /* broker.id i + 1; pid 0 while down */
    char data[SB_CLU_BROKERS][600];
    int starts[SB_CLU_BROKERS]; /* starts of broker i so far: each start logs to its own file */
    struct sb_broker single;
    char single_data[600];
    char bootstrap[64]; /* one live cluster broker, host:port (clients learn the rest) */
    int kept;           /* measured topics that could not be deleted (sb_cluster.c) */
};

/* Sleeps ms milliseconds. */
void sb_clu_sleep_ms(long ms);
/* "127.0.0.1:<port>" of b into buf. */
void sb_clu_addr(const struct sb_broker *b, char *buf, size_t len);
/* Starts broker i (0-based; broker.id i + 1) on its data dir. */
int sb_clu_broker_start(struct sb_clu *c, int i, char *why, size_t why_len);
/* Waits (at most seconds) until the cluster's Metadata names all SB_CLU_BROKERS brokers. */
int sb_clu_wait_registered(struct sb_clu *c, int seconds, char *why, size_t why_len);
/* Starts ZooKeeper, the SB_CLU_BROKERS brokers and the single node in a temporary directory. */
int sb_clu_open(struct sb_clu *c, char *why, size_t why_len);
/* Stops everything and removes the directory (keeps it with SPLICELOG_KEEP_TMP). */
void sb_clu_close(struct sb_clu *c);
/* Index of the broker with this broker.id, or -1. */
int sb_clu_by_id(int32_t id);
/* Waits (30 s) until partition p of topic has a leader and all SB_CLU_BROKERS replicas in its ISR.
 */
int sb_clu_wait_in_sync(struct sb_clu *c, const char *topic, int32_t p, struct sb_part_state *st,
                        char *why, size_t why_len);
/* Bytes of the segment files (*.log) of partition p of topic in a data dir, or -errno. */
long long sb_clu_log_bytes(const char *data, const char *topic, int32_t p);

#endif
