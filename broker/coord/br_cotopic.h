/*
 * br_cotopic — Kafka's internal topic __consumer_offsets, as a durable log of the committed
 * offsets that tools reading that topic (Burrow, kafka-consumer-groups' "describe" of old, any
 * consumer) decode.
 *
 * DECISION (a single node): the source of truth for committed offsets stays the offsets store
 * (st_offsets.h, <data dir>/__consumer_offsets/offsets.log): OffsetFetch, ListGroups,
 * DescribeGroups, retention and transactions read and change it, and it alone decides what a
 * commit is. The topic is its mirror, written from the store's observer
 * (st_offsets_set_observer) under the store's mutex, so its records come in exactly the
 * store's order: one RecordBatch per write of the store (one per OffsetCommit request, one per
 * transaction's end, one per deletion, split only past BR_COTOPIC_BATCH_BYTES or across
 * partitions of the topic) appended to the group's partition. Nothing reads the topic back: a
 * failed append is logged and the store goes on (the mirror then lacks that change). A kill -9
 * between the store's write and the topic's append (both page-cache writes a few microseconds
 * apart) or a power loss with one synced and not the other can likewise leave the topic a
 * change short; the next commit of the same key repairs it for readers that keep the latest
 * value (as compaction does).
 *
 * DECISION (a cluster, zookeeper.connect; docs/cluster.md M4): the topic is a replicated
 * cluster topic (created through ZooKeeper by FindCoordinator, br_api_group.c) and it is the
 * source of truth across brokers: the leader of a group's partition is its coordinator, and
 * becoming leader it loads the partition's records into its offsets store (br_coload.h), which
 * then serves reads as on a single node. The mirror is the only writer of the leader's log: it
 * appends only to partitions the cluster hooks say this broker leads and has loaded
 * (br_cotopic_set_cluster), never creates the topic itself, and takes each partition's log from
 * the store at every append (the cluster thread creates and deletes it); the only other writer
 * is a transaction's marker (a control batch, br_api_markers.c). A change it may not
 * append (another broker leads the partition) is dropped: on that broker the store is a cache
 * that the next load replaces. The committing thread learns what its write appended
 * (br_cotopic_track_*): OffsetCommit and TxnOffsetCommit answer once that end offset is below
 * the partition's high watermark. A load replays records into the store with the mirror quiet
 * (br_cotopic_quiet) so nothing loaded is written back.
 *
 * WHAT IS WRITTEN (Kafka's formats, GroupMetadataManager / the coordinator's record schemas;
 * every integer big-endian, STRING = int16 length + bytes):
 *   offset commit  key   int16 1 (OffsetCommitKey v1), STRING group, STRING topic,
 *                        int32 partition
 *                  value int16 3 (OffsetCommitValue v3), int64 offset, int32 leader epoch
 *                        (-1: the store keeps none), STRING metadata, int64 commit timestamp
 *   offset removed the same key, null value (tombstone): OffsetDelete, DeleteGroups, expiry
 *                  (offsets.retention.minutes), offsets of deleted topics
 *   group deleted  key int16 2 (GroupMetadataKey), STRING group; null value
 *   Record timestamp: the commit (or deletion) time; batches uncompressed, producer id -1.
 *   TxnOffsetCommit, a single node: written when the transaction commits (as plain commits);
 *   nothing on abort.
 *   TxnOffsetCommit, a cluster (Kafka's way): the pending offsets (the store's ST_OFS_TXN_SET
 *   changes) as offset commit records in a transactional batch of the producer: its producer id
 *   and epoch, the transactional attribute bit, baseSequence the producer's next one in the
 *   partition (st_log_next_sequence: the producer rules hold, a follower and a recovery track
 *   the open transaction), appended as verified; it holds the partition's last stable offset
 *   back until the transaction's marker. The end is not mirrored: WriteTxnMarkers appends the
 *   COMMIT/ABORT control batch itself and ends the store's pending offsets with the mirror
 *   quiet (br_api_markers.c, docs/cluster.md "Transaction markers" for the order); a load
 *   replays batch and marker (br_coload.h).
 *   group members key int16 2 (GroupMetadataKey), STRING group
 *                  value int16 3 (GroupMetadataValue v3), STRING protocol type, int32
 *                        generation, NULLABLE_STRING protocol (null: Empty), NULLABLE_STRING
 *                        leader, int64 current state timestamp, int32 N members, each:
 *                        STRING member id, NULLABLE_STRING group instance id, STRING client
 *                        id, STRING client host, int32 rebalance timeout, int32 session
 *                        timeout, BYTES subscription, BYTES assignment
 *                  a cluster only (br_cotopic_store_group, from the group coordinator's store
 *                  hook, br_group.h): each time a group becomes Stable or Empty, one batch of
 *                  one record, appended like the commits (the leader, once loaded) but not
 *                  waited for. v0-v2 (no instance id; v0 no rebalance timeout: the session
 *                  timeout serves; v0-v1 no timestamp) are read as well.
 *
 * THE TOPIC: created when first needed, as Kafka does: by the first change of the store (a
 * commit), or by a Metadata request that asks for it with auto-creation (br_cotopic_create),
 * or at start-up when the store holds offsets and the topic is missing (a data directory from
 * before this module, or a topic an admin deleted), then filled with the store's current
 * offsets (one commit record per key). It gets offsets.topic.num.partitions partitions
 * (Kafka's default 50; a partition's files appear at its first append), cleanup.policy=compact
 * and segment.bytes = offsets.topic.segment.bytes. A topic that exists keeps its partition
 * count and configs. A group's
 * partition is Kafka's: abs(Java String.hashCode(group)) % partitions, abs(INT32_MIN) = 0.
 * Clients read it like any topic (Metadata lists it with is_internal = true) and may not
 * produce to it (Produce answers INVALID_TOPIC_EXCEPTION, as Kafka's ReplicaManager does).
 *
 * Contract
 * - br_cotopic_open(): start-up, after the store and the offsets store are open and before
 *   anything commits; 0 or -errno (logged). Creating the topic at the first commit happens on
 *   the committing thread, once (a metadata file and a directory fsync). br_cotopic_close(): before
 * the offsets store and the topic store close (it detaches the observer). Both from the main
 * thread.
 * - Appends run on the thread that changed the store (a loop thread committing, the admin
 *   thread deleting, the housekeeping thread expiring), under the store's mutex; lock order:
 *   offsets, then the topic store (as br_offsets.h says).
 * - Cluster mode: the hooks run on the thread changing the store, under the store's mutex.
 * - Memory: one batch buffer, grown to the largest batch and reused; no allocation per commit
 *   once warm.
 */
#ifndef SPLICELOG_BR_COTOPIC_H
#define SPLICELOG_BR_COTOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "br_config.h"
#include "br_group.h"
#include "st.h"
#include "st_offsets.h"

#define BR_COTOPIC_NAME        "__consumer_offsets"
#define BR_COTOPIC_BATCH_BYTES (1 << 20) /* a batch is closed past this size */

enum {
    BR_COTOPIC_KEY_OFFSET = 1, /* OffsetCommitKey version written (0 and 1 are one format) */
    BR_COTOPIC_KEY_GROUP = 2,  /* GroupMetadataKey version */
    BR_COTOPIC_VALUE_OFFSET = 3,
    BR_COTOPIC_VALUE_GROUP = 3, /* GroupMetadataValue version written */
};

struct br_cotopic;

int br_cotopic_open(const struct br_config *cfg, struct st_store *store, struct st_offsets *offsets,
                    struct br_cotopic **out);
void br_cotopic_close(struct br_cotopic *c);
/* Creates the topic with the settings above (Metadata's auto-creation, any thread): 0,
 * -EEXIST, or st_topic_create's errors. The mirror attaches to it at the next change. */
int br_cotopic_create(struct st_store *store, int32_t partitions, int64_t segment_bytes);

/* ---- a cluster (M4) -------------------------------------------------------------------- */

struct br_cotopic_cluster {
    /* the cluster topic's partition count (<= 0: not created yet: changes are dropped) */
    int32_t (*partitions)(void *arg);
    /* whether this broker may append to partition p now (it leads it, loaded) */
    bool (*may_append)(void *arg, int32_t p);
    /* after each append to a partition's log (the leader's high watermark, followers'
     * long polls) */
    void (*appended)(void *arg, struct st_log *log);
    void *arg;
};
/* Cluster mode (cfg->zk_connect set at open): the hooks, set once before any client is let
 * in; until then every change is dropped. */
void br_cotopic_set_cluster(struct br_cotopic *c, const struct br_cotopic_cluster *cl);

/* Cluster mode: appends s (GroupMetadataKey + GroupMetadataValue v3) to the group's partition
 * when this broker may append there (the hooks); else, or on failure, nothing (logged, rate
 * limited; the group's members rejoin after a move). A snapshot whose batch would exceed
 * message.max.bytes or replica.fetch.max.bytes is not written (logged), as Kafka refuses a
 * record too large: followers could not fetch it. Any thread; allocates one buffer per
 * call (a rebalance, not a hot path); called under the group coordinator's mutex (lock order:
 * the coordinator's, then br_pload's and the log's). */
void br_cotopic_store_group(struct br_cotopic *c, const struct br_group_snap *s);

/* What the calling thread's store writes appended, between track_begin and track_end (one
 * write of one group: one partition). */
struct br_cotopic_track {
    int32_t part; /* -1: nothing appended */
    int64_t end;  /* the log end offset after its last append */
    int rc;       /* 0, or the first failure (-EAGAIN: this broker may not append there) */
};
void br_cotopic_track_begin(struct br_cotopic_track *t);
void br_cotopic_track_end(void);
/* On: the calling thread's store writes are not mirrored (a load replaying the topic, a marker
 * ending pending offsets in a cluster). Returns the thread's previous setting, to restore. */
bool br_cotopic_quiet(bool on);

/* One record of the topic, decoded (views into the record's bytes). */
enum br_cotopic_rec_kind {
    BR_COTOPIC_REC_OFFSET,      /* an offset commit: group, topic, partition, offset ... */
    BR_COTOPIC_REC_OFFSET_GONE, /* its tombstone */
    BR_COTOPIC_REC_GROUP,       /* group metadata (members): br_cotopic_group_parse */
    BR_COTOPIC_REC_GROUP_GONE,  /* the group deleted */
};
struct br_cotopic_rec {
    enum br_cotopic_rec_kind kind;
    const char *group, *topic, *metadata;
    size_t group_len, topic_len, metadata_len;
    int32_t partition;
    int64_t offset, commit_ms;
};
/* Decodes a record's key and value (value NULL: a tombstone): OffsetCommitKey v0/v1 with
 * OffsetCommitValue v0-v3, GroupMetadataKey v2. 0, -EINVAL (not a record of this topic, or a
 * version this broker does not read), -EBADMSG (cut short). */
int br_cotopic_parse(const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen,
                     struct br_cotopic_rec *out);

/* Whether a topic is one of Kafka's internal topics (here: __consumer_offsets). */
bool br_cotopic_internal(const char *name, size_t len);
/* Java's String.hashCode of the group id read as UTF-8 (UTF-16 code units; a malformed byte
 * counts as U+FFFD), and Kafka's partition for it among n (n >= 1). */
int32_t br_cotopic_java_hash(const char *s, size_t len);
int32_t br_cotopic_partition_of(const char *group, size_t len, int32_t n);

/* The encodings above into buf (cap bytes); the length, or 0 when cap is short. For tests
 * and for readers of the topic written in C. */
size_t br_cotopic_offset_key(uint8_t *buf, size_t cap, const char *group, size_t glen,
                             const char *topic, size_t tlen, int32_t partition);
size_t br_cotopic_offset_value(uint8_t *buf, size_t cap, int64_t offset, const char *meta,
                               size_t mlen, int64_t commit_ms);
size_t br_cotopic_group_key(uint8_t *buf, size_t cap, const char *group, size_t glen);
/* GroupMetadataValue v3 of s (its group_id is the key's, not written); 0 when cap is short or
 * a name is over a STRING's 32767 bytes. br_cotopic_group_value_size: the bytes it takes. */
size_t br_cotopic_group_value(uint8_t *buf, size_t cap, const struct br_group_snap *s);
size_t br_cotopic_group_value_size(const struct br_group_snap *s);
/* Decodes a GroupMetadataValue v0-v3 into out (views into value; out->group_id left empty for
 * the caller to set from the key) with its members in m[0..cap). 0; -ENOSPC when it holds more
 * than cap members (out->n_members says how many: call again with room); -EINVAL another
 * version; -EBADMSG cut short or malformed (a null STRING, a negative length, bytes left). */
int br_cotopic_group_parse(const uint8_t *value, size_t vlen, struct br_group_snap *out,
                           struct br_group_snap_member *m, int32_t cap);

#endif
