/*
 * br_txload — which transactional ids this broker coordinates in a cluster, and the loading of
 * their state from __transaction_state (issue 18 M4, docs/cluster.md "Transactions").
 *
 * The leader of partition br_txtopic_partition_of(id, N) of __transaction_state is the id's
 * transaction coordinator, as in Kafka; the coordinator epoch is that partition's leader epoch.
 * For each partition this module keeps a state:
 *   NOT_LED   another broker leads it (or nobody): the transaction APIs answer NOT_COORDINATOR
 *   LOADING   this broker leads it since leader epoch E and the loader thread is replaying it:
 *             COORDINATOR_LOAD_IN_PROGRESS
 *   LOADED    this broker coordinates its ids (br_txn.h serves them, their changes are appended
 *             to the partition)
 *
 * LOAD (the loader thread, "sl-txload"): the coordinator's ids of the partition are dropped
 * (br_txn_drop, each after the operation under way on it), the partition's records from its
 * log start to its log end (at the time the load begins) are replayed in order
 * (br_txn_load_rec: the last record of an id wins, a tombstone forgets it), the partition is
 * LOADED, and then the transactions found PrepareCommit / PrepareAbort are finished
 * (br_txn_recover_matching: their markers and Complete record, as a single node's start-up
 * does; one that cannot be finished stays prepared and the timer retries it).
 * UNLOAD (leadership lost): the partition is NOT_LED at once (every request and the timer ask
 * this module first, an end under way stops at its next step, its writes are refused), and the
 * loader thread drops its ids.
 *
 * The states, the view, the loader thread and its reads are br_pload's (br_pload.h); this
 * module is its callbacks (br_txn_drop, br_txn_load_rec, br_txn_recover_matching).
 *
 * Contract
 * - br_txload_new starts the loader thread; br_txload_free stops it (a load under way finishes
 *   its current read and replay first) and frees. The coordinator outlives it.
 * - br_txload_update: the cluster thread, after each new view; it never blocks on a load.
 * - The lookups take br_pload's mutex briefly (no I/O, no allocation): any thread, the
 *   coordinator's hooks included (lock order: the coordinator's locks, then br_pload's, a
 *   leaf).
 * - Errors: Kafka error codes for the lookups, -errno elsewhere.
 */
#ifndef SPLICELOG_BR_TXLOAD_H
#define SPLICELOG_BR_TXLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct br_txload;
struct st_store;
struct br_txns;

struct br_txload_conf {
    struct st_store *store; /* holds the __transaction_state partitions */
    struct br_txns *txns;
};

int br_txload_new(const struct br_txload_conf *conf, struct br_txload **out);
/* Stops the loader thread (the lookups still answer); then the coordinator may be freed. */
void br_txload_stop(struct br_txload *tl);
void br_txload_free(struct br_txload *tl); /* NULL accepted; stops it first */

/* The view of __transaction_state (epochs[p] >= 0: led here at that leader epoch) and the
 * lookups: br_pload_update, _check (what a transaction API answers for id here, its partition
 * and the coordinator epoch) and _loaded, as br_pload.h says. */
void br_txload_update(struct br_txload *tl, const int32_t *epochs, int32_t np);
int16_t br_txload_check(struct br_txload *tl, const char *id, size_t len, int32_t *part,
                        int32_t *epoch);
bool br_txload_loaded(struct br_txload *tl, int32_t p, int32_t epoch);

#endif
