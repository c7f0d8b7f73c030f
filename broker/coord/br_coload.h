/*
 * br_coload — which consumer groups this broker coordinates in a cluster, and the loading of
 * their committed offsets from __consumer_offsets (issue 18 M4, docs/cluster.md "Internal
 * topics and failover").
 *
 * The leader of partition br_cotopic_partition_of(group, N) of __consumer_offsets is the
 * group's coordinator, as in Kafka. For each partition this module keeps a state:
 *   NOT_LED   another broker leads it (or nobody): the group APIs answer NOT_COORDINATOR
 *   LOADING   this broker leads it since leader epoch E and the loader thread is replaying it:
 *             COORDINATOR_LOAD_IN_PROGRESS
 *   LOADED    this broker coordinates its groups: the offsets store serves them, the mirror
 *             (br_cotopic.h) appends their changes to the partition
 *
 * LOAD: the offsets store's entries of every group mapping to the partition are dropped (and
 * what those groups have pending for any producer), then the partition's records from its log
 * start to its log end (at the time the load begins) are replayed into the store in order
 * (commit = set, tombstone = remove, GroupMetadataKey tombstone = the group's offsets removed
 * and the group forgotten by the coordinator; a group metadata value = the group restored in
 * the coordinator with its members, br_groups_restore, the later record replacing the earlier;
 * the coordinator's groups of the partition are dropped first, and again when the partition
 * is lost, on the loader thread, so a load cut short leaves none behind; a transactional batch's
 * commits = pending offsets of its producer and epoch, st_offsets_txn_commit_batch; a control batch
 * = that producer's pending offsets of the partition's groups committed or dropped,
 * st_offsets_txn_end), with the mirror quiet (br_cotopic_quiet) so nothing is written back. The
 * store then holds exactly the committed offsets and the still-pending ones: a marker sent here
 * later ends them (br_api_markers.c), and a plain commit between a pending offset and its marker
 * wins over it as it did on the old coordinator (the same store rule, applied in the same order).
 * Groups are Stable (or Empty) at their last stored generation, so their members go on without a
 * rebalance (br_group.h: what is stored, and when it is not). UNLOAD
 * (leadership lost): the groups of the partition leave the group coordinator (br_groups_unload:
 * parked JoinGroup / SyncGroup answered NOT_COORDINATOR). The offsets store keeps their entries as
 * a stale cache that nothing serves (every read is gated by this module) and that the next load
 * replaces.
 *
 * The states, the view, the loader thread and its reads are br_pload's (br_pload.h); this
 * module is its callbacks (drop, replay into the offsets store, unload from br_groups).
 *
 * Contract
 * - br_coload_new starts the loader thread ("sl-coload"); br_coload_free stops it (a load under
 *   way finishes its current read first) and frees.
 * - br_coload_update: the cluster thread, after each new view (which partitions it leads, at
 *   which leader epoch); it never blocks on a load (the loader thread does it) and unloads
 *   lost partitions' groups itself.
 * - The lookups take br_pload's mutex briefly (no I/O, no allocation): any thread, the
 *   mirror's hook included (under the offsets store's mutex: lock order offsets, then
 *   br_pload's, a leaf).
 * - Errors: Kafka error codes for the lookups, -errno elsewhere.
 */
#ifndef SPLICELOG_BR_COLOAD_H
#define SPLICELOG_BR_COLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct br_coload;
struct st_store;
struct st_offsets;
struct br_groups;

struct br_coload_conf {
    struct st_store *store; /* holds the __consumer_offsets partitions */
    struct st_offsets *offsets;
    struct br_groups *groups;
};

int br_coload_new(const struct br_coload_conf *conf, struct br_coload **out);
void br_coload_free(struct br_coload *cl); /* NULL accepted */

/* The view of __consumer_offsets (epochs[p] >= 0: led here at that leader epoch) and the
 * lookups: br_pload_update, _partitions, _check (what a group API answers for group here, its
 * partition and leader epoch), _loaded, _loading and _loads, as br_pload.h says. */
void br_coload_update(struct br_coload *cl, const int32_t *epochs, int32_t np);
int32_t br_coload_partitions(struct br_coload *cl);
int16_t br_coload_check(struct br_coload *cl, const char *group, size_t len, int32_t *part,
                        int32_t *epoch);
bool br_coload_loaded(struct br_coload *cl, int32_t p, int32_t epoch);
bool br_coload_loading(struct br_coload *cl);
int64_t br_coload_loads(struct br_coload *cl);

#endif
