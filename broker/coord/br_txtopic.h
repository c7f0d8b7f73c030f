/*
 * br_txtopic — Kafka's internal topic __transaction_state in a cluster (issue 18 M4,
 * docs/cluster.md "Transactions"): the records of the transaction coordinator's state, their
 * encoding and decoding, and a transactional id's partition.
 *
 * DECISION (a cluster, zookeeper.connect): the topic is a replicated cluster topic (created
 * through ZooKeeper by the first FindCoordinator with key_type 1, br_api_group.c) and it is the
 * coordinator's source of truth: every state change of a transactional id is one record
 * appended to the id's partition by that partition's leader, which answers the request once the
 * high watermark passed it (br_txn_clu.c); a new leader loads the partition (br_txload.h). The
 * local st_txnlog file is bypassed for states in a cluster (it keeps only the producer-id
 * blocks' ends, br_txn.h), so a broker never serves a state its partition does not hold.
 * A single node keeps st_txnlog alone and has no such topic.
 *
 * WHAT IS WRITTEN (Kafka's TransactionLogKey / TransactionLogValue schemas; integers big-endian;
 * STRING = int16 length + bytes; COMPACT = Kafka's flexible encodings, uvarint length + 1):
 *   key    int16 0 (TransactionLogKey v0), STRING transactional_id
 *   value  int16 1 (TransactionLogValue v1, Kafka's first flexible version)
 *          int64 producer_id, int16 producer_epoch, int32 transaction_timeout_ms,
 *          int8 status (Kafka's: Empty 0, Ongoing 1, PrepareCommit 2, PrepareAbort 3,
 *          CompleteCommit 4, CompleteAbort 5, Dead 6),
 *          COMPACT_ARRAY partitions (null for none): { COMPACT_STRING topic,
 *          COMPACT_ARRAY int32 partition ids, tags (0) },
 *          int64 last_update_ms, int64 start_ms,
 *          tagged fields: splicelog's own, which Kafka's readers skip as unknown tags:
 *            tag BR_TXTOPIC_TAG_LAST (10 bytes) int64 last producer id, int16 last epoch
 *              (KIP-360's retried bump; written when either is set)
 *            tag BR_TXTOPIC_TAG_GROUPS  COMPACT_ARRAY of COMPACT_STRING group ids (the
 *              groups whose transactional offsets the transaction ends; written when any).
 *   tombstone (the id expired, transactional.id.expiration.ms): the key, null value.
 *   One record per batch, uncompressed, producer id -1, timestamp = last update.
 * Deviation: Kafka lists a transaction's groups as partitions of __consumer_offsets among the
 * topic-partitions; here they are the GROUPS tag (the coordinator ends a group's offsets by its
 * id, br_txn.h), and __consumer_offsets partitions never appear in the list.
 * Read back: value v0 (Kafka's non-flexible layout) and v1 (unknown tags skipped).
 *
 * A transactional id's partition: Kafka's abs(Java String.hashCode(id)) % partitions
 * (br_cotopic_partition_of).
 *
 * Contract: pure functions, any thread; -errno / 0-length answers as said per function.
 */
#ifndef SPLICELOG_BR_TXTOPIC_H
#define SPLICELOG_BR_TXTOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_txnlog.h"

#define BR_TXTOPIC_NAME "__transaction_state"
#define BR_TXTOPIC_LEN  (sizeof(BR_TXTOPIC_NAME) - 1)

enum {
    BR_TXTOPIC_KEY_VERSION = 0,
    BR_TXTOPIC_VALUE_VERSION = 1,
    BR_TXTOPIC_TAG_LAST = 10000,   /* splicelog's: last producer id and epoch */
    BR_TXTOPIC_TAG_GROUPS = 10001, /* splicelog's: the transaction's groups */
    BR_TXTOPIC_DEAD = 6,           /* Kafka's Dead status */
};

/* Whether name is __transaction_state. */
bool br_txtopic_is(const char *name, size_t len);
/* The partition of a transactional id among n (n >= 1). */
int32_t br_txtopic_partition_of(const char *id, size_t len, int32_t n);

/* A batch of one record for r (r NULL: the tombstone of id) into buf (cap bytes): its length,
 * -ENOSPC when cap is short (br_txtopic_batch_size says how much is needed), -EINVAL. */
long br_txtopic_batch(uint8_t *buf, size_t cap, const char *id, size_t id_len,
                      const struct st_txnlog_rec *r, int64_t ts);
size_t br_txtopic_batch_size(size_t id_len, const struct st_txnlog_rec *r);

/* One decoded record; br_txtopic_parse allocates its arrays (br_txtopic_rec_free), the id and
 * names are views into the record's bytes. */
struct br_txtopic_rec {
    bool tombstone;
    struct st_txnlog_rec r; /* r.id and r.id_len set for a tombstone too */
};
/* 0, -EINVAL (not a TransactionLogKey v0 / value v0-1), -EBADMSG (cut short), -ENOMEM. */
int br_txtopic_parse(const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen,
                     struct br_txtopic_rec *out);
void br_txtopic_rec_free(struct br_txtopic_rec *rec);

#endif
