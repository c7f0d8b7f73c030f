/*
 * br_clu_repl — the leader's side of replication (issue 18 M3, docs/cluster.md "Replication"):
 * per partition this broker leads with replication factor > 1, each follower's log end offset
 * and last caught-up time, the ISR as this leader knows it, the leader epoch; the high
 * watermark (min over the ISR of log end offsets, the leader's own included) and the ISR
 * changes this leader wants written to ZooKeeper.
 *
 * Contract
 * - The cluster thread alone changes which partitions are tracked: br_repl_begin, then
 *   br_repl_lead for every partition of replication factor > 1 the new view has this broker
 *   lead, then br_repl_end (entries not named again are dropped), before the view is
 *   published. It alone calls br_repl_isr_want / br_repl_isr_done / br_repl_isr_reread.
 * - Any thread (the loop threads, on Fetch and Produce) may call the lookups; they take a
 *   read lock on the table and the entry's mutex, never allocate, never block on I/O.
 * - Times are CLOCK_MONOTONIC milliseconds (br_now_ms), read inside the module.
 * - A partition that is not tracked (replication factor 1, not led here, a single node):
 *   br_repl_replica_fetch answers NOT_LEADER_OR_FOLLOWER, the others answer as for an
 *   unreplicated partition (no epoch check, ISR of 1).
 * - Errors: Kafka error codes (kp_api.h) where the answer goes on the wire, else -errno.
 */
#ifndef SPLICELOG_BR_CLU_REPL_H
#define SPLICELOG_BR_CLU_REPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "br_clu_json.h"

struct br_repl;
struct st_log;

/* Called (any thread) when the module wants the cluster thread to write an ISR change. */
typedef void (*br_repl_kick_fn)(void *arg);

struct br_repl *br_repl_new(int32_t me, int64_t lag_max_ms, br_repl_kick_fn kick, void *arg);
void br_repl_free(struct br_repl *r); /* NULL accepted; drops the log references */

/* A partition this broker leads, as the view has it. */
struct br_repl_view {
    const char *topic;
    int32_t partition;
    int32_t leader_epoch;
    int32_t controller_epoch;
    int32_t zver; /* the state znode's version */
    struct br_clu_replicas replicas, isr;
};

/* Cluster thread. begin; lead (takes over the reference on log, also on failure) for each
 * led partition; end drops the entries not named since begin. A new entry, or a new leader
 * epoch, starts the followers afresh (log end offset unknown, caught up now if in the ISR,
 * Kafka's rule); the same epoch keeps them and takes the view's ISR when its znode version is
 * not older. 0 or -ENOMEM. end returns how many entries it dropped (partitions this broker
 * stopped leading). */
void br_repl_begin(struct br_repl *r);
int br_repl_lead(struct br_repl *r, struct st_log *log, const struct br_repl_view *v);
int br_repl_end(struct br_repl *r); /* partitions no longer led here */

/*
 * A follower's fetch (Fetch with replica_id >= 0) of log: validates (replica among the
 * replicas, else NOT_LEADER_OR_FOLLOWER; cur_epoch above the leader's UNKNOWN_LEADER_EPOCH,
 * below FENCED_LEADER_EPOCH, -1 unchecked), records fetch_offset as its log end offset and
 * its caught-up time (Kafka's lastCaughtUpTimeMs rule), raises the high watermark
 * (st_log_set_high_watermark); *hw_moved says whether it moved. A follower out of the ISR that
 * reached the high watermark and the current epoch's start asks the cluster thread to add it.
 * A fetch_offset below the one it recorded (a follower that truncated: KIP-279) is logged
 * (INFO, rate-limited), and taken.
 */
int16_t br_repl_replica_fetch(struct br_repl *r, struct st_log *log, int32_t replica,
                              int32_t cur_epoch, int64_t fetch_offset, bool *hw_moved);
/*
 * How a leader tells a follower's repair fetch (br_clu_fetch.h: the Fetch of one fenced range
 * at its first offset, far below the follower's end) from its regular fetch: the request
 * header's client_id, which this broker's fetcher sets to "splicelog-repair-<its id>" on
 * repair fetches alone ("splicelog-replica-<id>" on every other request). Not the fetch
 * offset: after a KIP-279 truncation a regular fetch offset legitimately goes down. A
 * mistake costs no data either way: a regular fetch taken for a repair is not recorded (the
 * follower, never caught up, leaves the ISR: the HW is never raised by it), a repair fetch
 * not told apart (another implementation) is recorded as before (the HW held, never lowered).
 * br_repl_repair_client_id writes the id (cap >= 32); true when client_id (len bytes, len < 0
 * for a null string) is the one for replica_id.
 */
void br_repl_repair_client_id(char *out, size_t cap, int32_t replica_id);
bool br_repl_is_repair_fetch(const char *client_id, int32_t len, int32_t replica_id);
/*
 * A follower's repair fetch (br_clu_fetch.h: a Fetch of one fenced range, told apart by
 * br_repl_is_repair_fetch): validated as br_repl_replica_fetch does (replica, epoch), and
 * nothing recorded: the follower's log end offset, its caught-up time, its ISR join and the
 * high watermark stay as its regular fetches left them.
 */
int16_t br_repl_replica_check(struct br_repl *r, struct st_log *log, int32_t replica,
                              int32_t cur_epoch);
/* A client's current_leader_epoch against the leader's (consumers, OffsetsForLeaderEpoch):
 * NONE, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH; NONE when untracked or cur_epoch < 0. */
int16_t br_repl_check_epoch(struct br_repl *r, struct st_log *log, int32_t cur_epoch);
/* The ISR's size as this leader knows it; -ENOENT when untracked. */
int32_t br_repl_isr_size(struct br_repl *r, struct st_log *log);

/* The leader appended to log: the high watermark follows when the ISR is this broker alone
 * (or every follower is at the end already); true when it moved. */
bool br_repl_appended(struct br_repl *r, struct st_log *log);

/* A coordinator's blocking wait (never on a loop thread): polls every millisecond until log's
 * high watermark reaches need (0), still(arg) turns false first (-ENOTCONN: the partition's
 * leadership or its load lost), or deadline_ms (br_now_ms) passes (-ETIMEDOUT). */
int br_repl_wait_hw(struct st_log *log, int64_t need, int64_t deadline_ms, bool (*still)(void *arg),
                    void *arg);

/* An ISR change to write (cluster thread). */
struct br_repl_isr {
    char topic[256];
    int32_t partition;
    int32_t leader_epoch, controller_epoch, zver;
    struct br_clu_replicas isr; /* the new ISR */
};
/* How many entries there are (indexes for the two below; stable on the cluster thread). */
int br_repl_count(struct br_repl *r);
/* Entry i's wanted ISR, when it differs from the one known: followers not caught up for
 * replica.lag.time.max.ms leave, those asking to join are added. true and *out. */
bool br_repl_isr_want(struct br_repl *r, int i, struct br_repl_isr *out);
/* The change w of entry i was written (new znode version zver): the ISR becomes w->isr, the
 * high watermark is raised if it can; true when it moved. Ignored if the epoch moved. */
bool br_repl_isr_done(struct br_repl *r, int i, const struct br_repl_isr *w, int32_t zver);
/* The write failed on the znode version: the state read again has this leader epoch, znode
 * version and ISR. Same epoch: kept (the next want is computed against them). */
void br_repl_isr_reread(struct br_repl *r, int i, int32_t leader_epoch, int32_t zver,
                        const struct br_clu_replicas *isr);

#endif
