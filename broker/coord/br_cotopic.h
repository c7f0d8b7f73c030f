/*
 * br_cotopic — Kafka's internal topic __consumer_offsets, as a durable log of the committed
 * offsets that tools reading that topic (Burrow, kafka-consumer-groups' "describe" of old, any
 * consumer) decode.
 *
 * DECISION: the source of truth for committed offsets stays the offsets store (st_offsets.h,
 * <data dir>/__consumer_offsets/offsets.log): OffsetFetch, ListGroups, DescribeGroups,
 * retention and transactions read and change it, and it alone decides what a commit is. The
 * topic is its mirror, written from the store's observer (st_offsets_set_observer) under the
 * store's mutex, so its records come in exactly the store's order: one RecordBatch per write
 * of the store (one per OffsetCommit request, one per transaction's end, one per deletion,
 * split only past BR_COTOPIC_BATCH_BYTES or across partitions of the topic) appended to the
 * group's partition. Nothing reads the topic back: a failed append is logged and the store
 * goes on (the mirror then lacks that change). A kill -9 between the store's write and the
 * topic's append (both page-cache writes a few microseconds apart) or a power loss with one
 * synced and not the other can likewise leave the topic a change short; the next commit of
 * the same key repairs it for readers that keep the latest value (as compaction does).
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
 *   TxnOffsetCommit: written when the transaction commits (as plain commits); nothing on abort.
 *   Group metadata values (members and assignments) are not written.
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
 * - Memory: one batch buffer, grown to the largest batch and reused; no allocation per commit
 *   once warm.
 */
#ifndef SPLICELOG_BR_COTOPIC_H
#define SPLICELOG_BR_COTOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "br_config.h"
#include "st.h"
#include "st_offsets.h"

#define BR_COTOPIC_NAME        "__consumer_offsets"
#define BR_COTOPIC_BATCH_BYTES (1 << 20) /* a batch is closed past this size */

enum {
    BR_COTOPIC_KEY_OFFSET = 1, /* OffsetCommitKey version written (0 and 1 are one format) */
    BR_COTOPIC_KEY_GROUP = 2,  /* GroupMetadataKey version */
    BR_COTOPIC_VALUE_OFFSET = 3,
};

struct br_cotopic;

int br_cotopic_open(const struct br_config *cfg, struct st_store *store, struct st_offsets *offsets,
                    struct br_cotopic **out);
void br_cotopic_close(struct br_cotopic *c);
/* Creates the topic with the settings above (Metadata's auto-creation, any thread): 0,
 * -EEXIST, or st_topic_create's errors. The mirror attaches to it at the next change. */
int br_cotopic_create(struct st_store *store, int32_t partitions, int64_t segment_bytes);

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

#endif
