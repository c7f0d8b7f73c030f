/*
 * st_clean — log compaction (cleanup.policy=compact and compact,delete), Kafka's log cleaner:
 * for a log's sealed segments, keep only the latest record of each key.
 *
 * Contract
 * - Files: st_clean_conf.c (every compaction key, topic-level and broker-level, parsed and
 *   printed in one place), st_clean_map.c (the key -> latest offset map), st_clean.c (one
 *   cleaning of one log: the map, the rewrite, the crash-safe swap and its recovery, written
 *   out at the top of that file), st_clean_run.c (the background cleaner threads).
 * - What a cleaning keeps: for each key, the record at the latest offset (among the records the
 *   map covered); tombstones (null value) until delete.retention.ms after the pass that first
 *   found them clean; records without a key; control batches (transaction markers) always; records
 * of aborted transactions are removed; the last batch of every producer the partition still tracks
 * stays (empty if none of its records are kept), as Kafka keeps it for producer state. Offsets are
 * never renumbered: a batch that loses some records keeps its baseOffset, lastOffsetDelta,
 *   timestamps and producer fields (CRC recomputed), and a run of batches that lose all of
 *   theirs becomes one empty batch (61 bytes, producerId -1) spanning their offsets, so that
 *   every segment still satisfies the format's offset continuity (st_segment.c).
 * - Compressed batches (gzip, snappy, lz4, zstd: proto's kp_codec) are cleaned like the others:
 *   their records are decompressed for the map and for the rewrite, and the kept ones
 *   recompressed with the batch's codec (same header fields, new length, count and CRC). A
 *   batch that does not decompress, or would decompress past 256 times its size or 32 MiB, is
 *   kept whole, its keys left out of the map, counted (compressed_unreadable) and logged (the
 *   store's st_msg_fn, one WARN per cleaning); never dropped.
 * - Threads: st_log_clean() may run on any thread, one cleaning per log at a time (-EBUSY for
 *   a second); appends, reads, the flusher and retention go on meanwhile. The swap takes the
 *   log's sync_mu and, briefly, its writer lock. Readers holding ranges of replaced segments
 *   keep their descriptors (and the segments their files) until st_read_release().
 * - Errors: 0 or -errno; a failed cleaning leaves the log as it was (and its temporary files
 *   are removed then or at the next open).
 */
#ifndef SPLICELOG_ST_CLEAN_H
#define SPLICELOG_ST_CLEAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st.h"

/* cleanup.policy bits (st_log_config.cleanup_policy). */
enum { ST_CLEANUP_DELETE = 1, ST_CLEANUP_COMPACT = 2 };

/* Kafka's defaults for the compaction keys of c (called by st_log_config_default). */
void st_clean_config_default(struct st_log_config *c);
/*
 * Sets one compaction key from its text value: the topic-level names (cleanup.policy,
 * min.cleanable.dirty.ratio, min.compaction.lag.ms, max.compaction.lag.ms,
 * delete.retention.ms) and the broker's (log.cleanup.policy, log.cleaner.min.cleanable.ratio,
 * log.cleaner.min.compaction.lag.ms, log.cleaner.max.compaction.lag.ms,
 * log.cleaner.delete.retention.ms, log.cleaner.threads, log.cleaner.io.max.bytes.per.second,
 * log.cleaner.backoff.ms, log.cleaner.dedupe.buffer.size, log.cleaner.enable).
 * 0; -ENOENT not a compaction key; -EINVAL a bad value (c unchanged).
 */
int st_clean_config_set(struct st_log_config *c, const char *key, const char *value);
/* The topic-level compaction keys by index i = k - ST_TK_CLEANUP_POLICY (enum st_topic_key,
 * st.h): Kafka's name; the value as an int64 (the ratio: the double's bits); setting it
 * (-EINVAL out of range, c unchanged); its text form into buf (snprintf's contract). */
enum { ST_CLEAN_NKEYS = 5 };
const char *st_clean_key_name(int i);
int64_t st_clean_key_get(const struct st_log_config *c, int i);
int st_clean_key_set(struct st_log_config *c, int i, int64_t v);
int st_clean_key_format(const struct st_log_config *c, int i, char *buf, size_t cap);

/* What cleanings did (added up). */
struct st_clean_stats {
    int64_t logs;   /* logs cleaned */
    int64_t passes; /* map passes (more than one per log when its keys did not fit) */
    int64_t segments_in, segments_out;
    int64_t bytes_in, bytes_out; /* .log bytes of the segments rewritten, before and after */
    int64_t dirty_bytes;         /* bytes the map was built over */
    int64_t records_in, records_out;
    int64_t tombstones_dropped, aborted_dropped;
    int64_t recompressed;          /* compressed batches rewritten with fewer records */
    int64_t compressed_unreadable; /* compressed batches kept whole: they do not decompress
                                    * (corrupt, or past the size bound), counted per rewrite */
    int64_t ns;                    /* wall time spent */
};

enum {
    ST_CLEAN_FORCE = 1, /* clean whatever is cleanable, whatever min.cleanable.dirty.ratio says */
};

/*
 * Cleans one log once (now_ms: the wall clock, for the compaction lags and delete.retention):
 * if its policy compacts and, unless ST_CLEAN_FORCE, its dirty ratio reaches
 * min.cleanable.dirty.ratio or max.compaction.lag.ms is overdue, every sealed segment below
 * min(active segment, last stable offset, min.compaction.lag.ms) is rewritten, in passes of
 * as many keys as log.cleaner.dedupe.buffer.size holds. stats (may be NULL) is added to.
 * 0 (also when there was nothing to do), -EBUSY another cleaning of the log is running,
 * -ENOENT deleted, -ESHUTDOWN closed, -errno from the disk.
 */
int st_log_clean(struct st_log *log, int64_t now_ms, unsigned flags, struct st_clean_stats *stats);
/* st_log_clean over every open log of the store, on the calling thread. */
int st_store_clean(struct st_store *store, int64_t now_ms, unsigned flags,
                   struct st_clean_stats *stats);
/* Starts log.cleaner.threads background cleaners (st_clean_run.c), each taking the dirtiest
 * log due, every log.cleaner.backoff.ms when idle, reading at most
 * log.cleaner.io.max.bytes.per.second between them. Stopped (a cleaning in progress finished
 * first) by st_store_close(). 0 when the store's threads setting is 0. */
int st_store_cleaner_start(struct st_store *store);
/* Totals of the background cleaners since start. */
void st_store_cleaner_stats(struct st_store *store, struct st_clean_stats *out);

#endif
