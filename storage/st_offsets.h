/*
 * st_offsets — consumer groups' committed offsets, durable in the data directory.
 *
 * Contract
 * - Owns <data-dir>/__consumer_offsets/ (the store's topic loader only looks at *.topic files
 *   and at <topic>-<n>/ directories it names, so it never sees this one). Keyed by
 *   (group, topic, partition) -> (offset, metadata, commit timestamp). The on-disk format,
 *   the replay rule and the compaction order are written out at the top of st_offsets.c.
 * - Errors: 0 or a negative errno. -EINVAL bad argument (empty group, group or topic longer
 *   than ST_OFFSETS_GROUP_MAX / ST_OFFSETS_TOPIC_MAX), -EMSGSIZE metadata longer than
 *   opts.metadata_max_bytes (the handler answers OFFSET_METADATA_TOO_LARGE), -ENOBUFS the
 *   map is full (opts.max_memory_bytes), -ENOENT nothing
 *   committed, -ESHUTDOWN after an fdatasync failed, a failed write could not be cut back,
 *   or a compaction's directory fsync failed (the store refuses further commits rather than
 *   acknowledge what it may not keep; reads keep working; a restart replays the file), and
 *   the disk's own (a write that fails and is cut back, e.g. -ENOSPC, fails only that call).
 * - Threads: every call may come from any thread; one mutex serialises them (a commit is a
 *   few hundred bytes and one write()). Callbacks run under that mutex: they must not call
 *   back into the store.
 * - Durability: a commit is write()n to the file before the call returns, so it survives a
 *   kill -9 of the process. fdatasync follows the broker's flush policy
 *   (log.flush.interval.messages / log.flush.interval.ms, see struct st_offsets_opts):
 *   with flush_interval_messages = 1 the commit call returns only after fdatasync. An owner
 *   that must not wait for the disk on the committing thread sets -1 and calls
 *   st_offsets_sync() elsewhere before acknowledging. Compaction and st_offsets_close()
 *   always fdatasync.
 * - Nothing runs on its own: the owner calls st_offsets_maintain() every second or so (flush
 *   by time, compaction), and st_offsets_expire() (retention: it says, per group, whether it
 *   has members) and st_offsets_remove_if() (offsets of deleted topics) at its retention
 *   interval. The broker does all three from its housekeeping thread (br_api_commit.c).
 */
#ifndef SPLICELOG_ST_OFFSETS_H
#define SPLICELOG_ST_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st.h"

struct st_offsets;

#define ST_OFFSETS_DIR       "__consumer_offsets"
#define ST_OFFSETS_GROUP_MAX 32767     /* bytes of a group id (a wire STRING's limit) */
#define ST_OFFSETS_TOPIC_MAX 255       /* bytes of a topic name (Kafka's rule: 249) */
#define ST_OFFSETS_META_CAP  (1 << 20) /* largest metadata_max_bytes accepted */

struct st_offsets_opts {
    int32_t metadata_max_bytes;      /* offset.metadata.max.bytes (4096), <= ST_OFFSETS_META_CAP */
    int64_t flush_interval_messages; /* log.flush.interval.messages: fdatasync after this many
                                        commits (1 = before each commit returns; -1 = never) */
    int64_t flush_interval_ms;       /* log.flush.interval.ms: st_offsets_maintain() syncs
                                        when the oldest unsynced commit is this old (-1 = never) */
    int64_t compact_min_bytes;       /* compaction happens only past this file size (1 MiB) */
    int64_t max_memory_bytes;        /* bound on the in-memory map (256 MiB; -1 = none): a
                                        commit item that would add a key or lengthen its
                                        metadata past it gets -ENOBUFS (see below) */
    st_log_fn log_fn;                /* recovery and compaction messages (may be NULL) */
    void *log_arg;
};

/* Fills o with the defaults above. */
void st_offsets_opts_default(struct st_offsets_opts *o);

/*
 * Opens (creating if needed) <data_dir>/__consumer_offsets/ and replays its log into memory.
 * A torn or corrupt record ends the replay: the file is truncated there (and synced), with a
 * log line saying how many bytes were dropped. A leftover compaction temp file is removed.
 */
int st_offsets_open(const char *data_dir, const struct st_offsets_opts *opts,
                    struct st_offsets **out);
/* fdatasyncs and frees. NULL is ignored. */
void st_offsets_close(struct st_offsets *o);

/* One partition's commit, for st_offsets_commit_batch(). */
struct st_offset_commit {
    const char *topic;
    size_t topic_len;
    int32_t partition;
    int64_t offset;
    const char *metadata; /* may be NULL when metadata_len is 0 */
    size_t metadata_len;
};

/*
 * Commits n items of one group with a single write() (and at most one fdatasync; after a
 * crash during that write, replay keeps all of them or none, see REPLAY RULE in
 * st_offsets.c), then
 * compacts if the file has grown past twice max(4 x live bytes, compact_min_bytes), which
 * happens only when st_offsets_maintain() is not called often enough. results[i] is
 * 0, -EINVAL, -EMSGSIZE or -ENOBUFS per item (such an item is skipped, the others are
 * committed). -ENOBUFS: the map is at opts.max_memory_bytes and the item would grow it (a new
 * key, or longer metadata); an item that only moves an existing key's offset always goes on.
 * Returns 0, or -errno when nothing was committed (bad group, write failure, -ENOMEM).
 */
int st_offsets_commit_batch(struct st_offsets *o, const char *group, size_t group_len,
                            const struct st_offset_commit *items, int n, int64_t now_ms,
                            int *results);
/* One item: the same rules, its result returned. */
int st_offsets_commit(struct st_offsets *o, const char *group, size_t group_len, const char *topic,
                      size_t topic_len, int32_t partition, int64_t offset, const char *metadata,
                      size_t metadata_len, int64_t now_ms);

/*
 * Transactional commits (TxnOffsetCommit, KIP-98): the same items and rules as
 * st_offsets_commit_batch (one write, all or none after a crash), but pending: invisible to
 * every read until st_offsets_txn_end() commits them. A later commit of the same key in the
 * same transaction replaces the earlier one. Memory: each pending item counts against
 * max_memory_bytes as a new key would. The caller (the transaction coordinator) checks that
 * producer_id's transaction is open and holds the group before calling.
 */
int st_offsets_txn_commit_batch(struct st_offsets *o, const char *group, size_t group_len,
                                int64_t producer_id, int16_t epoch,
                                const struct st_offset_commit *items, int n, int64_t now_ms,
                                int *results);
/*
 * Ends producer_id's transaction for group: commit makes each pending offset the key's
 * offset unless the key was committed (plainly) after it; abort drops them (Kafka's
 * GroupMetadata.completePendingTxnOffsetCommit). One record, written only when something is
 * pending, so calling it again (recovery redoing an end) changes nothing. 0 or -errno.
 */
int st_offsets_txn_end(struct st_offsets *o, const char *group, size_t group_len,
                       int64_t producer_id, int16_t epoch, bool commit, int64_t now_ms);
/*
 * Calls fn once for each pending offset of producer_id (any group; a group with several pending
 * partitions comes several times), so a partition leader ending producer_id's transaction
 * (WriteTxnMarkers to __consumer_offsets) finds its groups. fn runs under the store's mutex and
 * must not call back into it; the group pointer is valid during the call only. Returns the
 * number of calls. Walks every pending entry: for markers, not for a hot path.
 */
int st_offsets_txn_groups(struct st_offsets *o, int64_t producer_id,
                          void (*fn)(void *arg, const char *group, size_t group_len), void *arg);
/* As st_offsets_txn_groups, for every producer's pending offsets: fn gets each one's group,
 * producer id and epoch (a loader dropping what a partition's groups have pending). */
int st_offsets_txn_foreach(struct st_offsets *o,
                           void (*fn)(void *arg, const char *group, size_t group_len,
                                      int64_t producer_id, int16_t epoch),
                           void *arg);
/* Whether a transaction has a pending offset for (group, topic, partition) (OffsetFetch's
 * require_stable answers UNSTABLE_OFFSET_COMMIT then). */
bool st_offsets_txn_pending(struct st_offsets *o, const char *group, size_t group_len,
                            const char *topic, size_t topic_len, int32_t partition);

/*
 * The committed offset of (group, topic, partition); copies the metadata into meta (up to
 * meta_cap bytes, not NUL-terminated) and stores its full length in *meta_len (either pointer
 * may be NULL). -ENOENT when nothing is committed.
 */
int st_offsets_get(struct st_offsets *o, const char *group, size_t group_len, const char *topic,
                   size_t topic_len, int32_t partition, int64_t *offset, char *meta,
                   size_t meta_cap, size_t *meta_len);

/* What st_offsets_foreach() hands out; the pointers are valid during the callback only. */
struct st_offset_entry {
    const char *topic;
    size_t topic_len;
    int32_t partition;
    int64_t offset;
    const char *metadata;
    size_t metadata_len;
    int64_t commit_ms;
};

/* Calls fn(arg, e) for (group, topic, partition) if something is committed there; 0 or
 * -ENOENT. For callers that copy the metadata into memory of their own. */
int st_offsets_lookup(struct st_offsets *o, const char *group, size_t group_len, const char *topic,
                      size_t topic_len, int32_t partition,
                      void (*fn)(void *arg, const struct st_offset_entry *e), void *arg);

/* Calls fn for every committed partition of group, grouped by topic (every partition of a
 * topic in a row, partitions ascending). Returns the number of calls. */
int st_offsets_foreach(struct st_offsets *o, const char *group, size_t group_len,
                       void (*fn)(void *arg, const struct st_offset_entry *e), void *arg);

/*
 * Calls fn for every committed (group, topic, partition), a group's entries in a row (in no
 * particular order otherwise), stopping after max calls (max < 0: no bound). fn runs under the
 * store's mutex and must not call back into it; the pointers are valid during the call only.
 * Returns the number of calls. (Metrics: consumer lag at scrape time.)
 */
int st_offsets_foreach_all(struct st_offsets *o, int64_t max,
                           void (*fn)(void *arg, const char *group, size_t group_len,
                                      const struct st_offset_entry *e),
                           void *arg);
/* Forgets the offset of (group, topic, partition) (a tombstone, written like a commit).
 * 1 when there was one, 0 when not, or -errno. */
int st_offsets_delete(struct st_offsets *o, const char *group, size_t group_len, const char *topic,
                      size_t topic_len, int32_t partition);
/* Forgets every offset of group (a durable tombstone). Returns how many were removed. */
int st_offsets_delete_group(struct st_offsets *o, const char *group, size_t group_len);

/*
 * Retention (offsets.retention.minutes). For each group, empty_since(arg, group, len) says
 * -1 if the group has members (its offsets are kept), else the time (ms) it became empty, 0
 * if unknown (a simple consumer's group, or one not seen since the broker started). An
 * offset expires when now_ms >= max(empty_since, its commit time) + retention_ms, where
 * empty_since is at least the last call's now_ms that found the group with members (so an
 * owner that knows only "has members or not" gets Kafka's rule, retention counted from
 * when the group became empty, to the precision of its calling interval). A NULL
 * empty_since treats every group as empty since 0. retention_ms < 0 keeps everything.
 * Expired offsets are removed with tombstones in one write. Returns how many expired.
 */
typedef int64_t (*st_offsets_empty_since_fn)(void *arg, const char *group, size_t group_len);
int st_offsets_expire(struct st_offsets *o, int64_t now_ms, int64_t retention_ms,
                      st_offsets_empty_since_fn empty_since, void *arg);

/*
 * Removes (with tombstones, in one write) every offset for which gone(arg, e) is true, e.g.
 * those of partitions whose topic was deleted. gone runs under the store's mutex and must not
 * call back into it. Returns how many were removed.
 */
int st_offsets_remove_if(struct st_offsets *o, int64_t now_ms,
                         bool (*gone)(void *arg, const struct st_offset_entry *e), void *arg);

/*
 * fdatasyncs every commit written so far (without holding the store's mutex during the
 * fdatasync, so commits from other threads go on; concurrent callers share syncs). 0, or the
 * error, after which commits stop (-ESHUTDOWN). For owners that answer commits only once
 * durable but run them on threads that must not wait for the disk.
 */
int st_offsets_sync(struct st_offsets *o);

/* Applies flush_interval_ms and compacts once the file is past max(4 x live bytes,
 * compact_min_bytes). Call every second or so, from a thread that may block on the disk;
 * cheap when there is nothing to do. */
void st_offsets_maintain(struct st_offsets *o);

/*
 * Observing the changes (the broker mirrors them into its __consumer_offsets topic,
 * broker/coord/br_cotopic.h). fn(arg, changes, n) is called under the store's mutex after
 * every write that changes what reads see, once that write is in the file: a commit (one call
 * for its items), a transactional commit (one call for its items, ST_OFS_TXN_SET: pending, not
 * yet seen by reads), the end of a transaction that made pending offsets visible (those keys), a
 * deletion, a group's deletion (a tombstone per key, then one ST_OFS_GROUP_GONE), expiry and
 * st_offsets_remove_if (tombstones, of any number of groups, in one call). Changes come in the
 * order of the file, so the observer sees exactly the store's history. An aborted transaction's
 * end, compactions and replay at open are not changes. fn must not call back into
 * the store; the pointers are valid during the call only. NULL fn stops the calls; set it
 * when no other thread uses the store, or accept that a write under way may miss it.
 */
enum st_ofs_change_kind {
    ST_OFS_SET,        /* e holds the key's new offset, metadata and commit time */
    ST_OFS_REMOVED,    /* the key (e.topic, e.partition) is gone; the rest of e is unset */
    ST_OFS_GROUP_GONE, /* the group was deleted (after the tombstones of its keys); e unset */
    ST_OFS_TXN_SET,    /* e pending for producer_id (st_offsets_txn_commit_batch): invisible to
                          reads until the transaction's end, which brings its ST_OFS_SETs */
};
struct st_offset_change {
    enum st_ofs_change_kind kind;
    const char *group;
    size_t group_len;
    struct st_offset_entry e;
    int64_t ms;             /* when the change was written (the commit time for ST_OFS_SET) */
    int64_t producer_id;    /* ST_OFS_TXN_SET: the transaction's producer; else -1 */
    int16_t producer_epoch; /* ST_OFS_TXN_SET: its epoch; else -1 */
};
typedef void (*st_offsets_observe_fn)(void *arg, const struct st_offset_change *changes, int n);
void st_offsets_set_observer(struct st_offsets *o, st_offsets_observe_fn fn, void *arg);

/* Sizes, for tests and metrics. */
struct st_offsets_stats {
    int64_t entries;      /* live (group, topic, partition) keys */
    int64_t pending;      /* transactional commits not yet ended */
    int64_t groups;       /* groups with at least one live key */
    int64_t file_bytes;   /* current size of the log file */
    int64_t live_bytes;   /* what a compacted file would hold */
    int64_t compactions;  /* since open */
    int64_t memory_bytes; /* the map's estimated memory (what max_memory_bytes bounds) */
};
void st_offsets_stats(struct st_offsets *o, struct st_offsets_stats *s);
/* Compacts now, whatever the size, as st_offsets_maintain() does: commits go on during the
 * fdatasync of the new file. -EBUSY when another compaction is under way. */
int st_offsets_compact(struct st_offsets *o);

#endif
