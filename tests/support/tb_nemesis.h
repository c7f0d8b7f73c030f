/*
 * tb_nemesis — what the cluster's fault tests (tests/cluster/) share: a topic of n partitions
 * and n replicas, a steady librdkafka producer (acks=all, idempotent) of numbered records, and
 * the checks once the faults have stopped: every acknowledged record exactly once at its
 * acknowledged partition and offset, the replicas identical batch for batch, every broker
 * alive, every ISR full again.
 *
 * Contract
 * - A test fills the first fields of struct tb_nemesis (tb_nem_init, zeroed otherwise) and owns the
 * brokers b[1..nbrokers]; the module never starts or stops one. Each broker is reached at its
 *   tb_broker host (127.0.0.1 when empty) and port, read when the producer or a checking
 *   client is made.
 * - tb_nem_create_topic() creates the topic through broker 1 and waits (bounded) for every
 *   ISR to be full; tb_nem_produce_start() starts the producer's thread (RATE records a
 *   second, each value "seq:<20 digits>"), tb_nem_produce_stop() stops it, flushes (bounded)
 *   and frees the producer. Only the producer's thread writes the counters it keeps;
 *   tb_nem_sent() and the atomics may be read from any thread.
 * - tb_nem_consume_start() starts a consumer group reading along: TB_NEM_CONSUMERS librdkafka
 *   consumers of group "nemesis-group", each in its own thread, with librdkafka's defaults
 *   (automatic commits, session timeout, fetch sizes) except auto.offset.reset=earliest (the
 *   group's first members must see the records sent before they joined). Each record the
 *   group is given is noted with the partition and offset it came from; only the consumers'
 *   threads write those notes, atomically.
 * - tb_nem_finish() runs the checks after the faults, from the test's thread: the brokers
 *   alive, the ISR full (a fresh ZooKeeper session), replicas compared, the log read back
 *   (a record acknowledged without an offset, librdkafka's inference for a retried batch a
 *   later success proves written, must be there once in its partition, at any offset), and,
 *   when a group was started, the group: it must be given every acknowledged record (waited
 *   for, bounded), and every record it was given must be in the final log at the partition
 *   and offset it was given at (a consumer never reads past the high watermark, so never a
 *   suffix a leader later truncates, unless a retry wrote it again the same); records given
 *   more than once are counted (at least once is the group's promise with automatic
 *   commits). Prints one summary line with the test's own rounds text (printf), then fails
 *   the test on a lost or duplicated acknowledged record, a divergent replica, a record the
 *   group missed or read where the log does not hold it, or the producer's fatal error.
 * - tb_nem_seconds() reads CLUSTER_FAULT_SECONDS (default dflt, 5..1200) and seeds rand() from
 *   CLUSTER_FAULT_SEED (else the time), printing both. tb_nem_start_broker() starts (or
 *   restarts on its data) broker id with the options every fault test uses (RF 3,
 *   min.insync.replicas=2, replica.lag.time.max.ms=4000, 256 KiB segments), retrying while
 *   ZooKeeper still holds a dead process's registration. tb_nem_run() is a fault suite's main:
 *   the one test t with the unchecked fixture (setup, teardown) and checked teardown
 *   b_teardown (NULLs allowed), the process's exit status.
 * - Failures are Check assertions (the test's process); nothing here returns an error.
 */
#ifndef SPLICELOG_TB_NEMESIS_H
#define SPLICELOG_TB_NEMESIS_H

#include <check.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "tb_broker.h"
#include "tb_zk.h"

#define TB_NEM_RATE      1000                        /* records per second offered */
#define TB_NEM_MAX_SEQ   (TB_NEM_RATE * 1200 + 1000) /* the longest run's records, with room */
#define TB_NEM_PARTS     3                           /* at most */
#define TB_NEM_BROKERS   8                           /* at most */
#define TB_NEM_CONSUMERS 2                           /* members of the reading group */

struct tb_nem_rec {
    _Atomic uint8_t state; /* 0, TB_NEM_SENT, _ACKED, _FAILED */
    int32_t partition;
    int64_t offset;
};
enum { TB_NEM_SENT = 1, TB_NEM_ACKED = 2, TB_NEM_FAILED = 3 };

/* The group reading along (tb_nem_consume_start). pos[seq]: where the group was first given
 * record seq, partition << 40 | (offset + 1), 0 when never; times[seq]: how often (<= 255). */
struct tb_nem_group {
    _Atomic int64_t *pos;
    _Atomic uint8_t *times;
    pthread_t th[TB_NEM_CONSUMERS];
    rd_kafka_t *rk[TB_NEM_CONSUMERS];
    atomic_bool stop;
    atomic_long given, moved, rebalances, errors;
    bool started;
    char first_error[256];
};

struct tb_nemesis {
    /* set by the test */
    const char *name; /* the suite's name, for messages */
    const char *topic;
    int nparts; /* <= TB_NEM_PARTS; as many replicas as brokers */
    int nbrokers;
    struct tb_broker *b; /* b[1..nbrokers] */
    const struct tb_zk *z;
    const char *chroot;   /* the brokers' ZooKeeper chroot ("" for none) */
    const char *src_addr; /* the producer's source address, or NULL (the kernel's choice) */
    /* kept by the module */
    struct tb_nem_rec *recs; /* by sequence number */
    atomic_long n_sent, n_acked, n_failed;
    int64_t last_ack_ms[TB_NEM_PARTS], longest_gap_ms[TB_NEM_PARTS];
    atomic_bool stop;
    char first_error[256], fatal_error[512];
    rd_kafka_t *rk;
    pthread_t th;
    int left; /* records still queued after the flush */
    struct tb_nem_group group;
};

/* Zeroes n and sets what a 3-partition topic "nemesis" over brokers b[1..nbrokers] needs. */
void tb_nem_init(struct tb_nemesis *n, const char *name, struct tb_broker *b, int nbrokers,
                 const struct tb_zk *z, const char *chroot);
int tb_nem_seconds(const char *name, int dflt);
void tb_nem_start_broker(struct tb_nemesis *n, int id, int session_ms, const char *zk_override);
/* The same with the caller's options (argv pairs, NULL-terminated) instead of the fault tests'
 * (the repair tests' scrubbed small segments, for instance). */
void tb_nem_start_broker_with(struct tb_nemesis *n, int id, int session_ms, const char *zk_override,
                              const char *const *opts);
int tb_nem_run(const char *suite, SFun setup, SFun teardown, SFun b_teardown, const TTest *t);
void tb_nem_create_topic(struct tb_nemesis *n);
/* The nth (0: the oldest) sealed segment file of a partition directory dir: a .log with its
 * .digest sidecar and two newer segments (so sealed for sure); its path in path. false when
 * there is none (yet). For the repair tests, which spoil a byte of one. */
bool tb_nem_sealed_segment(const char *dir, int nth, char *path, size_t cap);
void tb_nem_produce_start(struct tb_nemesis *n);
void tb_nem_produce_stop(struct tb_nemesis *n);
/* Starts the group reading along (after tb_nem_produce_start); tb_nem_finish stops it. */
void tb_nem_consume_start(struct tb_nemesis *n);
/* Every partition's state names a leader and all replicas in the ISR; else why says which. */
bool tb_nem_isr_full(const struct tb_nemesis *n, zhandle_t *zh, char *why, size_t cap);
/* The leader of partition p in ZooKeeper, or -1. */
int tb_nem_leader(const struct tb_nemesis *n, zhandle_t *zh, int p);
/* The leader epoch of partition p in ZooKeeper, or -1. */
int tb_nem_leader_epoch(const struct tb_nemesis *n, zhandle_t *zh, int p);
/* The ISR of partition p in ZooKeeper, in the state's order: up to cap ids into ids; how many
 * (0 when there is no state). */
int tb_nem_isr(const struct tb_nemesis *n, zhandle_t *zh, int p, int *ids, int cap);
/* Prints every partition's state (leader, epoch, ISR) on one line after prefix. */
void tb_nem_print_states(const struct tb_nemesis *n, zhandle_t *zh, const char *prefix);
void tb_nem_finish(struct tb_nemesis *n, const char *rounds_fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
