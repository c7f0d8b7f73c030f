/*
 * br_pload — the partitions of an internal topic this broker leads in a cluster, and their loads
 * on a loader thread: the part br_coload (__consumer_offsets, groups) and br_txload
 * (__transaction_state, transactional ids) share (issue 18, docs/cluster.md "Internal topics and
 * failover", "Transactions").
 *
 * A key (a group, a transactional id) belongs to partition ops.partition_of(key, np); the
 * leader of that partition coordinates it. For each partition this module keeps a state:
 *   NOT_LED   another broker leads it (or nobody): br_pload_check answers NOT_COORDINATOR
 *   LOADING   this broker leads it since leader epoch E and the loader thread is replaying it:
 *             COORDINATOR_LOAD_IN_PROGRESS
 *   LOADED    this broker coordinates its keys: KP_ERR_NONE
 * A new leader epoch for a partition led here starts a new load (LOADING at that epoch).
 *
 * LOAD (the loader thread, named ops.thread): ops.begin (drop what the caller holds of the
 * partition), then the partition's batches from its log start to its log end (at the time the
 * load begins) read with pread, each batch's CRC checked (a bad one fails the load), control
 * batches (transaction markers) to ops.control (skipped when unset), compressed ones skipped
 * with a warning; each record with a key goes to ops.record in log order (with the batch's
 * producer in the load when the batch is transactional), and ops.flush (if set) runs after
 * each read's batches. A failed load
 * (-errno from a callback or the read) is tried again LOAD_RETRY_MS (a second) later, as long as
 * the partition stays LOADING at that epoch; a load whose partition moved meanwhile (another
 * epoch, not led, another partition count) is not marked LOADED. After a load the partition is
 * LOADED and ops.loaded (if set) runs; if it fails it runs again a second later, as long as the
 * partition stays LOADED at that epoch.
 * UNLOAD (leadership lost): the partition is NOT_LED at once; ops.lost (if set) then runs on the
 * cluster thread for all partitions lost by one view, and ops.drop (if set) runs on the loader
 * thread for each lost partition.
 *
 * Contract
 * - br_pload_new starts the loader thread; br_pload_stop stops it (a load under way finishes
 *   its current read and replay first; the lookups still answer); br_pload_free stops it and
 *   frees.
 * - br_pload_update: the cluster thread (one thread at a time), after each new view; it never
 *   blocks on a load.
 * - The lookups: any thread; they take the module's mutex briefly (no I/O, no allocation).
 * - Locks: the module's mutex is a leaf. No callback runs under it, so a callback may take any
 *   lock and call the lookups; any thread may call the lookups under its own locks (the offsets
 *   store's mutex in br_cotopic's hook, the transaction coordinator's locks): lock order is
 *   always theirs, then this one.
 * - Callbacks run on the loader thread (thread_start, begin, record, control, flush, loaded,
 *   drop), or on the cluster thread inside br_pload_update (lost); never two at once on one
 *   thread.
 * - Errors: Kafka error codes for br_pload_check, -errno elsewhere.
 */
#ifndef SPLICELOG_BR_PLOAD_H
#define SPLICELOG_BR_PLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct br_pload;
struct st_store;

/* One load, as the loader thread's callbacks see it. */
struct br_pload_load {
    int32_t p;       /* the partition being loaded */
    int32_t np;      /* the partition count its keys hash with */
    int64_t applied; /* changes replayed so far (the callbacks count; logged at the end) */
    /* the batch being replayed: a transactional one's producer id and epoch, else -1 */
    int64_t producer_id;
    int16_t producer_epoch;
};

struct br_pload_ops {
    const char *what;   /* log prefix: "group coordinator" */
    const char *topic;  /* the internal topic: "__consumer_offsets" */
    const char *keys;   /* what its keys are, plural: "groups", "ids" */
    const char *unit;   /* what ops count in applied: "change(s)" */
    const char *thread; /* the loader thread's name (<= 15 chars): "sl-coload" */
    const char *log_as; /* its name in the logs: "coload" */
    int32_t (*partition_of)(const char *key, size_t len, int32_t np);
    /* Optional: the loader thread, first thing. */
    void (*thread_start)(void *arg);
    /* Before a load reads: drop what is held of ld->p's keys, reset per-load state. 0 or
     * -errno (the load fails). */
    int (*begin)(void *arg, struct br_pload_load *ld);
    /* One record with a key (value NULL: a tombstone), in log order. Not ld->p's keys, or
     * unreadable ones, are the callback's to skip. 0 or -errno (the load fails). */
    int (*record)(void *arg, struct br_pload_load *ld, const uint8_t *key, size_t klen,
                  const uint8_t *value, size_t vlen);
    /* Optional: a control batch (a transaction marker) of producer ld->producer_id with epoch
     * ld->producer_epoch, in log order: commit (COMMIT) or abort (ABORT) that producer's
     * transactional records replayed so far. 0 or -errno (the load fails). Unset: control
     * batches are skipped. */
    int (*control)(void *arg, struct br_pload_load *ld, bool commit);
    /* Optional: after each read's batches were replayed. */
    void (*flush)(void *arg, struct br_pload_load *ld);
    /* Optional: p (np partitions) is LOADED now. >= 0, or -errno: run again a second later. */
    int (*loaded)(void *arg, int32_t p, int32_t np);
    /* Optional, cluster thread: the partitions a view took away (lost[p] for p < n; keys hash
     * with n partitions: the larger of the old and the new count). */
    void (*lost)(void *arg, const bool *lost, int32_t n);
    /* Optional, loader thread: partition p (keys hashing with np) is no longer led here. */
    void (*drop)(void *arg, int32_t p, int32_t np);
};

/* ops (kept, not copied: a static table) and arg (passed to every callback) must outlive the
 * loader thread. 0, -ENOMEM or -EAGAIN (no thread). */
int br_pload_new(struct st_store *store, const struct br_pload_ops *ops, void *arg,
                 struct br_pload **out);
void br_pload_stop(struct br_pload *pl); /* NULL accepted; idempotent */
void br_pload_free(struct br_pload *pl); /* NULL accepted; stops it first */

/* The view: np partitions (<= 0: the topic does not exist), epochs[p] >= 0 the leader epoch at
 * which this broker leads p, -1 it does not. */
void br_pload_update(struct br_pload *pl, const int32_t *epochs, int32_t np);

/* The topic's partition count as last updated (0: none). */
int32_t br_pload_partitions(struct br_pload *pl);
/* What an API answers for key here: KP_ERR_NONE (LOADED), NOT_COORDINATOR (NOT_LED, or no
 * partitions), COORDINATOR_LOAD_IN_PROGRESS (LOADING). *part and *epoch (may be NULL): its
 * partition and the leader epoch (-1 with no partitions). */
int16_t br_pload_check(struct br_pload *pl, const char *key, size_t len, int32_t *part,
                       int32_t *epoch);
/* Whether partition p is LOADED here at leader epoch epoch (epoch < 0: at any epoch). */
bool br_pload_loaded(struct br_pload *pl, int32_t p, int32_t epoch);
/* Whether a partition is LOADING here. */
bool br_pload_loading(struct br_pload *pl);
/* How many loads have completed since the start (tests, logs). */
int64_t br_pload_loads(struct br_pload *pl);

#endif
