/*
 * st_txnlog — the transaction coordinator's durable state: the last record of every live
 * transactional id and the producer-id blocks handed out (Kafka's __transaction_state and its
 * ProducerIdManager, for one node).
 *
 * Contract
 * - Owns <data-dir>/__transaction_state/ (the store's topic loader ignores it, as it does
 *   __consumer_offsets). The format, the replay rule and the write and sync order are written
 *   out at the top of st_txnlog.c.
 * - Keeps, in memory, the last record of each transactional id (what a replay gives); the
 *   owner (broker/coord/br_txn.c) reads them back once at start-up with st_txnlog_foreach and then
 *   writes every change before it applies it.
 * - Errors: 0 or a negative errno. -EINVAL a bad argument (an id longer than
 *   ST_TXNLOG_ID_MAX, a topic longer than ST_TXNLOG_TOPIC_MAX, more than
 *   ST_TXNLOG_PARTS_MAX partitions, a record over ST_TXNLOG_BODY_MAX), -ESHUTDOWN after a
 *   failed fdatasync or a write that could not be cut back (the log refuses further writes
 *   rather than acknowledge what it may not keep; a restart replays the file), and the disk's
 *   own (a failed write is cut back and fails only that call).
 * - Threads: any thread; one mutex serialises the calls (a record is a few hundred bytes and
 *   one write()). Callbacks of st_txnlog_foreach run under it and must not call back in.
 * - Durability: a record is written before the call returns (kill -9 safe). fdatasync follows
 *   flush_interval_messages / flush_interval_ms as the partition logs do; a producer-id block
 *   is always fdatasynced before st_txnlog_pid_block returns (ids stay unique across power
 *   loss); compaction and close always fdatasync.
 */
#ifndef SPLICELOG_ST_TXNLOG_H
#define SPLICELOG_ST_TXNLOG_H

#include <stddef.h>
#include <stdint.h>

#include "st.h"

#define ST_TXNLOG_DIR       "__transaction_state"
#define ST_TXNLOG_ID_MAX    32767     /* bytes of a transactional id or group id (wire STRING) */
#define ST_TXNLOG_TOPIC_MAX 255       /* bytes of a topic name */
#define ST_TXNLOG_PARTS_MAX 100000    /* partitions in one transaction */
#define ST_TXNLOG_BODY_MAX  (8 << 20) /* bytes of one record's body */

struct st_txnlog;

struct st_txnlog_opts {
    int64_t flush_interval_messages; /* 1: fdatasync before each write returns; -1 never */
    int64_t flush_interval_ms;       /* st_txnlog_maintain() syncs what is this old (-1 never) */
    int64_t compact_min_bytes;       /* compaction only past this size (1 MiB) */
    st_log_fn log_fn;                /* replay and compaction messages (may be NULL) */
    void *log_arg;
};

void st_txnlog_opts_default(struct st_txnlog_opts *o);

/* The partitions of one topic in a transaction. */
struct st_txnlog_topic {
    const char *name;
    size_t len;
    int32_t n;
    const int32_t *partitions;
};

/* A group whose offsets the transaction commits (AddOffsetsToTxn). */
struct st_txnlog_group {
    const char *id;
    size_t len;
};

/* One transactional id's state (Kafka's TransactionLogValue, plus last_pid / last_epoch). */
struct st_txnlog_rec {
    const char *id;
    size_t id_len;
    int64_t producer_id, last_producer_id;
    int16_t epoch, last_epoch;
    int32_t timeout_ms;
    uint8_t state; /* the coordinator's (Kafka's numbers: Empty 0 .. CompleteAbort 5) */
    int64_t start_ms, update_ms;
    int32_t n_topics;
    const struct st_txnlog_topic *topics;
    int32_t n_groups;
    const struct st_txnlog_group *groups;
};

/*
 * Opens (creating if needed) <data_dir>/__transaction_state/ and replays txn.log. A torn or
 * corrupt record ends the replay: the file is truncated there (and synced), with a log line.
 */
int st_txnlog_open(const char *data_dir, const struct st_txnlog_opts *opts, struct st_txnlog **out);
/* fdatasyncs and frees. NULL is ignored. */
void st_txnlog_close(struct st_txnlog *l);

/* Calls fn for the last record of every live id (any order); views valid during the call.
 * Returns how many, or -ENOMEM. */
int st_txnlog_foreach(struct st_txnlog *l, void (*fn)(void *arg, const struct st_txnlog_rec *r),
                      void *arg);
/* The first producer id above every block handed out (0 for a new log). */
int64_t st_txnlog_next_pid(struct st_txnlog *l);

/* Writes r (replacing the id's previous record). */
int st_txnlog_put(struct st_txnlog *l, const struct st_txnlog_rec *r);
/* Forgets an id (transactional.id.expiration.ms) with a durable tombstone. */
int st_txnlog_delete(struct st_txnlog *l, const char *id, size_t id_len, int64_t now_ms);
/* Records that ids below block_end are handed out; fdatasynced before it returns. */
int st_txnlog_pid_block(struct st_txnlog *l, int64_t block_end);
/* fdatasync of everything written so far. */
int st_txnlog_sync(struct st_txnlog *l);
/* flush_interval_ms and compaction (file > max(4 x live bytes, compact_min_bytes)). */
void st_txnlog_maintain(struct st_txnlog *l);
/* Compacts now. */
int st_txnlog_compact(struct st_txnlog *l);

struct st_txnlog_stats {
    int64_t ids;        /* live transactional ids */
    int64_t file_bytes; /* txn.log's size */
    int64_t live_bytes; /* what a compacted file holds */
    int64_t compactions;
};
void st_txnlog_stats(struct st_txnlog *l, struct st_txnlog_stats *s);

#endif
