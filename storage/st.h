/*
 * st — partition logs on disk: topics, segments in Kafka wire format, indexes, appends with
 * offset assignment, reads as file ranges, recovery, retention, flush policy, digests.
 *
 * Contract
 * - Knows nothing of sockets or requests. The on-disk format, the fsync order and the
 *   recovery rule are written out at the top of storage/st_segment.c. Files: st_store.c
 *   (topics, metadata), st_log.c (append, read, roll, retention), st_index.c, st_segment.c,
 *   st_recover.c, st_flush.c (flusher, group commit), st_digest.c (running digests, sidecars),
 *   st_scrub.c (the scrubber), st_walk.c (the rule for a good batch), st_fence.c (fenced
 *   ranges), st_repair.c (a fenced range mended with a replica's bytes), st_pstate.c
 *   (producer state: idempotence, open transactions, the last stable offset, snapshots),
 *   st_txnidx.c (aborted-transaction indexes), st_fcache.c (the cache of open segment
 *   files), st_clean*.c (log compaction: its own contract in st_clean.h).
 * - Errors: 0 or a negative errno. -ENOENT unknown topic/partition (or appending to a deleted
 *   topic's log), -EEXIST topic exists, -EINVAL bad name or argument, -ERANGE offset outside
 *   [log start, log end], -E2BIG too many batches in one append, -ESHUTDOWN appending after
 *   st_store_close(), -EBADMSG a read at an offset whose batch is corrupt (fenced by the
 *   scrubber or recovery, or a batch header found inconsistent on the way), and the disk's
 *   own errors (-EIO...).
 * - Corruption is fenced, not spread: a batch found bad in bytes that reached the disk is
 *   fenced (st_fence.c): reads of its offsets fail with -EBADMSG for good (the fence is
 *   persisted) unless a replica's bytes mend it (st_log_repair) or a truncation cuts it
 *   away; every other offset stays readable, and a read that starts before it stops short
 *   of it.
 * - Threads: a store may be used from any number of threads. Appends to one partition are
 *   serialised by a short per-partition lock (offset assignment + write). Reads take no lock:
 *   they are bounded by the published end (offset and byte position), which an append
 *   publishes with release semantics after its bytes are written, so a reader never sees a
 *   half-written batch. Topic create/delete take a store lock briefly (a topic is built
 *   outside it and appears when complete); an st_log pointer stays valid
 *   until st_log_put() even if its topic is deleted meanwhile.
 * - Ownership: ranges returned by st_log_read() hold a reference and a pin on their segment;
 *   the file descriptor stays open (even if retention or topic deletion unlinks the file, or
 *   the cache of open files is over its bound) until st_read_release(). The caller owns the
 *   struct st_read it passes in.
 * - Descriptors: a store keeps at most open_files_max segments' files open (st_fcache.c), the
 *   least recently used closed first and reopened at their next use (an open(2) on the
 *   calling thread, at most one per segment a call touches), whatever the number of
 *   partitions; index mappings of sealed segments go with them.
 * - Durability follows Kafka's keys. Appends go to the page cache; a background flusher
 *   fdatasyncs per log.flush.interval.messages / log.flush.interval.ms. One fdatasync covers
 *   every append that reached the file before it started (group commit). Completion is
 *   reported through the notify callback set with st_store_set_notify(), from the flusher
 *   thread; the caller then reads st_log_durable_offset().
 */
#ifndef SPLICELOG_ST_H
#define SPLICELOG_ST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct st_store;
struct st_log;

/* Per-topic settings; Kafka's keys in comments. -1 means "unlimited / never". */
struct st_log_config {
    int64_t segment_bytes;           /* log.segment.bytes (1 GiB) */
    int64_t roll_ms;                 /* log.roll.ms (7 days) */
    int64_t retention_bytes;         /* log.retention.bytes (-1) */
    int64_t retention_ms;            /* log.retention.ms (7 days) */
    int64_t flush_interval_messages; /* log.flush.interval.messages (-1 = never by count) */
    int64_t flush_interval_ms;       /* log.flush.interval.ms (-1 = never by time) */
    int32_t index_interval_bytes;    /* log.index.interval.bytes (4096) */
    int32_t index_max_bytes;         /* log.index.size.max.bytes (10 MiB): roll when full */
    bool log_append_time;            /* message.timestamp.type=LogAppendTime */
    /* Producer state. Broker-wide keys in Kafka: only the store's defaults count. */
    int64_t producer_id_expiration_ms;       /* producer.id.expiration.ms (1 day; -1 never) */
    int64_t producer_id_expiration_check_ms; /* producer.id.expiration.check.interval.ms (10 min) */
    int64_t producer_state_max_bytes;        /* producer.state.max.memory.bytes (64 MiB; -1 no
                                                bound): every partition's producers together */
    int64_t open_files_max;   /* store-wide: segments whose files stay open, a least-recently-used
                                 bound on descriptors and index mappings whatever the number of
                                 partitions (st_fcache.c); 0: half of RLIMIT_NOFILE */
    int32_t recovery_threads; /* num.recovery.threads.per.data.dir, store-wide: threads that
                                 recover the logs a crash left unchecked while the store opens
                                 (0: one per online CPU) */
    /* Topic keys the broker enforces (the store only keeps them): -1 = the broker's value. */
    int32_t max_message_bytes;   /* max.message.bytes (-1: message.max.bytes) */
    int32_t min_insync_replicas; /* min.insync.replicas (1) */
    int32_t compression_type;    /* compression.type: ST_COMPRESSION_* (producer) */
    /* Log compaction (st_clean.h; every key parsed in st_clean_conf.c) */
    int32_t cleanup_policy;        /* cleanup.policy: ST_CLEANUP_* bits (delete) */
    double min_cleanable_ratio;    /* min.cleanable.dirty.ratio (0.5) */
    int64_t min_compaction_lag_ms; /* min.compaction.lag.ms (0) */
    int64_t max_compaction_lag_ms; /* max.compaction.lag.ms (INT64_MAX) */
    int64_t delete_retention_ms;   /* delete.retention.ms (1 day) */
    /* the cleaner's, store-wide (only the store's defaults count) */
    int32_t cleaner_threads;      /* log.cleaner.threads (1; 0: log.cleaner.enable=false) */
    int64_t cleaner_io_max_bps;   /* log.cleaner.io.max.bytes.per.second (-1: unbounded) */
    int64_t cleaner_backoff_ms;   /* log.cleaner.backoff.ms (15 s) */
    int64_t cleaner_dedupe_bytes; /* log.cleaner.dedupe.buffer.size (128 MiB, all threads) */
    /* replica.cache.keep.bytes, store-wide: a follower's append (st_log_append_replica) keeps
     * the newest this many bytes of the partition's active segment in the page cache, starts
     * writeback of what is older and drops it once written (-1, the default: off, the kernel
     * decides) */
    int64_t replica_cache_keep_bytes;
};

/* Fills c with Kafka's defaults. */
void st_log_config_default(struct st_log_config *c);

/* ---- store ----------------------------------------------------------------------------------- */

/*
 * Opens (creating if needed) the data directory, loads every topic and recovers every log
 * (RECOVERY RULE in st_segment.c): a log without a clean-shutdown record that matches its
 * files has its unsynced tail scanned and cut at the first bad batch; a bad batch in bytes
 * known to be on disk is fenced instead; fenced ranges are loaded. After a clean close of the
 * store, logs with a good record stay dormant (their files untouched, their offsets and stats
 * answered from the record) until a call needs their segments: the first append, a read
 * below the end, offset_for_time, max_timestamp, aborted_txns, delete_records, retention or
 * the scrubber opens the log on the calling thread (a directory listing, the active segment's
 * index, its producer-state snapshot: tens of microseconds with warm caches). A dormant log
 * carries its topic's config (overrides changed at run time included) and its DeleteRecords
 * low watermark (in its record). Starts the flusher and is ready for appends on return. A
 * malformed topic metadata file fails the open with -EBADMSG (nothing is guessed). A
 * partition never written has no directory; its first append makes it (CreatePartitions'
 * new partitions too). The logs that must be recovered before it returns (after a crash,
 * those the log checkpoint does not leave dormant) are recovered by
 * defaults->recovery_threads threads side by side, each log by one of them; the first error
 * fails the open. fn (st_store_open_logged) is called by one thread at a time.
 */
int st_store_open(const char *dir, const struct st_log_config *defaults, struct st_store **out);

/* How loud a store message is. */
enum st_msg_level { ST_MSG_INFO, ST_MSG_WARN, ST_MSG_ERROR };
typedef void (*st_msg_fn)(void *arg, enum st_msg_level level, const char *msg);

/* What recovery did over the whole store (st_store_open). */
struct st_recovery_report {
    int64_t logs;             /* logs opened */
    int64_t unclean;          /* of them without a clean-shutdown marker */
    int64_t segments_scanned; /* segments read batch by batch (CRC and header continuity) */
    int64_t bytes_scanned;    /* bytes they covered */
    int64_t bytes_cut;        /* bytes truncated away or deleted with later segments */
    int64_t indexes_rebuilt;  /* segments whose .index/.timeindex were rebuilt */
    int64_t fenced_loaded;    /* fenced ranges read back from the fenced files */
    int64_t fenced_new;       /* ranges recovery itself fenced */
    int64_t pstate_bytes;     /* bytes of batches replayed (by their headers) into producer
                                 state after its newest snapshot */
    int64_t txnidx_damaged;   /* .txnindex files found damaged, cut and rebuilt */
    int64_t dormant;          /* logs left closed until their first use (the store was closed
                                 cleanly: their clean-shutdown records answer until then) */
    int64_t ckpt_dormant;     /* of them, after a crash: unchanged since the log checkpoint
                                 (st_ckpt.c), their slots answer until then */
};

/*
 * st_store_open, telling what it does through fn: for each log that needed work, one line
 * with what recovery scanned, cut, rebuilt and fenced (INFO after a clean shutdown, WARN after
 * a crash), each fenced range with its path, offsets and bytes (WARN; ERROR when new), and one
 * summary line for the store (INFO). report (may be NULL) gets the totals of the open. fn is
 * called from the opening thread during the call, and afterwards from whichever thread opens
 * a dormant log at its first use (that log's lines only; not counted in report), until
 * st_store_close: it must be thread-safe and cheap.
 */
int st_store_open_logged(const char *dir, const struct st_log_config *defaults, st_msg_fn fn,
                         void *arg, struct st_recovery_report *report, struct st_store **out);
/* Flushes everything, writes the clean-shutdown records of the logs that changed and the
 * store's own marker (CLEAN-SHUTDOWN RECORD in st_segment.c), stops the flusher, frees the
 * store.
 * Logs still referenced by callers stay valid for reads, offsets and st_log_put(); appends
 * to them fail with -ESHUTDOWN, and st_log_request_sync() must no longer be called. */
void st_store_close(struct st_store *store);

/* Called from the flusher thread after each sync of a log (any log), once its durable offset
 * is updated; a failed sync notifies too (the durable offset did not move). No storage lock
 * is held during the call, but it delays the next sync: keep it cheap. Must not call
 * st_store_close(). */
typedef void (*st_notify_fn)(void *arg, struct st_log *log);
void st_store_set_notify(struct st_store *store, st_notify_fn fn, void *arg);
/* Called from the flusher thread after each sync round of a log with how
 * long it took, in ns (sealed segments, directory, active .log: the fdatasyncs a durable
 * produce waits for), and its result (0 or -errno). Same rules as the notify callback. */
typedef void (*st_sync_time_fn)(void *arg, int64_t ns, int err);
void st_store_set_sync_observer(struct st_store *store, st_sync_time_fn fn, void *arg);

/* Kafka's topic name rule: 1..249 chars of [a-zA-Z0-9._-], not "." or "..". */
bool st_topic_name_valid(const char *name, size_t len);

/* Creates a topic with n (1..ST_MAX_PARTITIONS) partitions; cfg NULL = store defaults.
 * -EEXIST, -EINVAL. */
#define ST_MAX_PARTITIONS 100000
int st_topic_create(struct st_store *store, const char *name, int32_t partitions,
                    const struct st_log_config *cfg);
/* st_topic_create with the topic id given (a cluster's, from ZooKeeper: every replica has the
 * same); id NULL or all zero: a new random one. zxid > 0: the ZooKeeper zxid that created the
 * topic's assignment, which marks it as the cluster's (st_topic_zxid); 0: this broker's own. */
int st_topic_create_id(struct st_store *store, const char *name, int32_t partitions,
                       const struct st_log_config *cfg, const uint8_t *id, int64_t zxid);
/* Deletes a topic and its files (readers holding ranges keep their fds). -ENOENT. */
int st_topic_delete(struct st_store *store, const char *name);
/* Number of partitions, or -ENOENT. */
int32_t st_topic_partitions(struct st_store *store, const char *name, size_t name_len);
/* Calls fn for every topic (under the store lock: do not call back into the store). */
void st_topic_foreach(struct st_store *store,
                      void (*fn)(void *arg, const char *name, int32_t partitions), void *arg);

/* ---- topic administration (st_store.c) --------------------------------------------------------
 * Topic ids: a random UUID per topic (never all zero), kept in its metadata file; a topic
 * loaded from a file without one gets one at open, written back. Per-topic configs: the keys
 * below, each either set for the topic (an override, kept in the metadata file) or following
 * the store's defaults. Changes are durable when the call returns (metadata file written,
 * fsynced, renamed) and take effect on the topic's logs at once: appends, rolls, retention and
 * the flusher read them from then on. */
#define ST_TOPIC_ID_LEN 16
enum st_topic_key {
    ST_TK_SEGMENT_BYTES,        /* segment.bytes */
    ST_TK_SEGMENT_MS,           /* segment.ms */
    ST_TK_RETENTION_BYTES,      /* retention.bytes */
    ST_TK_RETENTION_MS,         /* retention.ms */
    ST_TK_FLUSH_MESSAGES,       /* flush.messages */
    ST_TK_FLUSH_MS,             /* flush.ms */
    ST_TK_INDEX_INTERVAL_BYTES, /* index.interval.bytes */
    ST_TK_SEGMENT_INDEX_BYTES,  /* segment.index.bytes */
    ST_TK_MAX_MESSAGE_BYTES,    /* max.message.bytes */
    ST_TK_MIN_INSYNC_REPLICAS,  /* min.insync.replicas */
    ST_TK_COMPRESSION_TYPE,     /* compression.type (ST_COMPRESSION_*; text: Kafka's names) */
    ST_TK_TIMESTAMP_TYPE,       /* message.timestamp.type (log_append_time) */
    /* log compaction's keys: names, ranges and text forms in st_clean_conf.c */
    ST_TK_CLEANUP_POLICY,        /* cleanup.policy (ST_CLEANUP_* bits, st_clean.h) */
    ST_TK_MIN_CLEANABLE_RATIO,   /* min.cleanable.dirty.ratio (a double: see st_topic_key_get) */
    ST_TK_MIN_COMPACTION_LAG_MS, /* min.compaction.lag.ms */
    ST_TK_MAX_COMPACTION_LAG_MS, /* max.compaction.lag.ms */
    ST_TK_DELETE_RETENTION_MS,   /* delete.retention.ms */
    ST_TK_COUNT
};
/* compression.type's values: "producer" (batches stored as produced), a codec 1-4 (enum
 * kp_codec: "gzip", "snappy", "lz4", "zstd"), or "uncompressed". The broker recompresses
 * (br_api_produce.c); the store keeps the value. */
enum {
    ST_COMPRESSION_PRODUCER = 0,
    ST_COMPRESSION_UNCOMPRESSED = 5,
};
/* Kafka's name of a key ("retention.ms"); NULL past ST_TK_COUNT. */
const char *st_topic_key_name(enum st_topic_key k);
/* The key named name (len bytes), or -ENOENT. */
int st_topic_key_find(const char *name, size_t len);
/* A key's value in c (message.timestamp.type: 1 LogAppendTime, 0 CreateTime;
 * min.cleanable.dirty.ratio: the bits of the double, only good for comparing and for
 * st_topic_key_set). */
int64_t st_topic_key_get(const struct st_log_config *c, enum st_topic_key k);
/* Sets a key's value in c; -EINVAL when v is outside the key's range (c unchanged). */
int st_topic_key_set(struct st_log_config *c, enum st_topic_key k, int64_t v);
/* A key's value parsed from Kafka's text form ("compact,delete", "0.25", "CreateTime",
 * "604800000"); -EINVAL when it is not one (c unchanged). */
int st_topic_key_parse(struct st_log_config *c, enum st_topic_key k, const char *text);
/* A key's value in Kafka's text form into buf (cap bytes, NUL-terminated when it fits), as
 * "name=value\n" with line; the length it needs, as snprintf. */
int st_topic_key_format(const struct st_log_config *c, enum st_topic_key k, char *buf, size_t cap,
                        bool line);
/* The store's defaults (what a key without an override follows). */
void st_store_defaults(const struct st_store *store, struct st_log_config *out);
/* New defaults for the topic keys (the other fields of d are not looked at): every topic key
 * without an override follows them at once, on every log (a dynamic broker config); nothing
 * is written to disk (the caller keeps them). -EINVAL for a value out of range (nothing
 * changed). One caller at a time (the admin thread); with st_topic_config_set at the same
 * time, see there. */
int st_store_set_defaults(struct st_store *store, const struct st_log_config *d);
/* fsync(2) of the directory dir, so that the entries made in it (creations, renames, unlinks)
 * are durable; 0 or -errno. Any thread; blocks on the disk. */
int st_fsync_dir(const char *dir);
/* The topic's id; -ENOENT. */
int st_topic_id(struct st_store *store, const char *name, size_t len, uint8_t id[ST_TOPIC_ID_LEN]);
/* The name of the topic with this id into name (cap bytes, NUL-terminated); -ENOENT. */
int st_topic_by_id(struct st_store *store, const uint8_t id[ST_TOPIC_ID_LEN], char *name,
                   size_t cap);
/* The topic's configs and its overrides (bit k set: key k is set for the topic); -ENOENT. */
int st_topic_config(struct st_store *store, const char *name, size_t len, struct st_log_config *cfg,
                    uint32_t *overrides);
/* Replaces the topic's overrides: keys whose bit is set in overrides take their value from
 * cfg, the others follow the store's defaults. Durable and in effect on return. -ENOENT,
 * -EINVAL (a value out of range), -EBUSY (another change of the topic is being written:
 * retry), the disk's errors (nothing changed then). Any thread; two calls for one topic never
 * interleave (-EBUSY). Run at the same time as st_store_set_defaults, the keys without an
 * override may keep the previous defaults until the next change of either. */
int st_topic_config_set(struct st_store *store, const char *name, const struct st_log_config *cfg,
                        uint32_t overrides);
/* The zxid that created the topic's assignment in its cluster's ZooKeeper (st_topic_create_id,
 * st_topic_set_zxid): > 0 for a topic created from a cluster's assignment, 0 for this broker's
 * own, -ENOENT. A cluster broker deletes such a topic when the cluster has deleted it, also
 * after being down meanwhile (br_clu_topics.c drop_strays); never its own for that reason (an
 * own topic is replaced only when the cluster creates one of the same name: br_clu_topics.c
 * match_local). */
int64_t st_topic_zxid(struct st_store *store, const char *name, size_t len);
/* Records zxid (> 0) as the topic's (topics created before it was recorded); durable on return.
 * -ENOENT, -EINVAL, -EBUSY (another change of the topic is being written: retry), the disk's. */
int st_topic_set_zxid(struct st_store *store, const char *name, int64_t zxid);
/* Grows the topic to total partitions (more than it has, at most ST_MAX_PARTITIONS): the new
 * logs are created, then the metadata file commits the new count; visible on return. -ENOENT,
 * -EINVAL (total not above the current count or too large), the disk's errors. */
int st_topic_add_partitions(struct st_store *store, const char *name, int32_t total);

/* Looks up a partition and takes a reference; NULL if absent. Release with st_log_put(). */
struct st_log *st_log_get(struct st_store *store, const char *topic, size_t topic_len,
                          int32_t partition);
void st_log_put(struct st_log *log);

/* ---- append ---------------------------------------------------------------------------------- */

struct st_append_result {
    int64_t base_offset;     /* offset given to the first record appended */
    int64_t last_offset;     /* offset of the last record appended */
    int64_t end_position;    /* byte position after this append (for durability waits) */
    int64_t log_append_time; /* -1 unless the topic uses LogAppendTime */
    int64_t log_start_offset;
    bool sync_needed; /* the flush policy asks for a sync covering this append: an
                         acks != 0 producer should wait for st_log_durable_offset() to
                         reach last_offset + 1 */
    bool duplicate;   /* the batch repeated one of its producer's last 5: nothing was written,
                         the offsets (and log_append_time on LogAppendTime topics) are the
                         original's, and sync_needed says whether it is durable yet */
};

/*
 * Appends n (1..ST_APPEND_MAX_BATCHES) already-validated batches, each iovec holding exactly
 * one whole batch (iov_len == 12 + batchLength, else -EINVAL), with one pwritev. Rewrites
 * each batch's baseOffset and partitionLeaderEpoch in the caller's buffer (and maxTimestamp +
 * CRC for LogAppendTime topics), writes them, then publishes the new end. Rolls the segment
 * first when it is full (log.segment.bytes, a full index, 2^31 offsets) or old (log.roll.ms
 * since its first append, by now_ms). Returns 0 or -errno; on error nothing is published.
 */
int st_log_append(struct st_log *log, struct iovec *batches, int n, int64_t now_ms,
                  struct st_append_result *res);
/* Most batches one st_log_append() takes (one pwritev); more gives -E2BIG. */
#define ST_APPEND_MAX_BATCHES 1024

/*
 * Idempotent and transactional producers (KIP-98). A batch with producerId >= 0 must be
 * appended alone (n == 1, as Produce v3+ carries one batch per partition; else -EINVAL) and
 * passes THE PRODUCER RULES in st_pstate.c first, under the same lock as the write:
 *   duplicate of one of the producer's last 5 batches -> 0 with res->duplicate, nothing written;
 *   -ESTALE  epoch below the producer's (INVALID_PRODUCER_EPOCH)
 *   -EILSEQ  sequence out of order (OUT_OF_ORDER_SEQUENCE_NUMBER)
 *   -EPROTO  a non-transactional batch during the producer's open transaction (INVALID_TXN_STATE)
 *   -ENOKEY  the producer's first transactional batch here, without opts->txn_verified: ask the
 *            transaction coordinator, then append again with txn_verified (KIP-890 part 1)
 *   -ENOBUFS producer.state.max.memory.bytes reached and nothing idle to evict (retriable)
 * A control batch (marker) is refused here (-EINVAL): st_log_append_marker() writes those.
 */
struct st_append_opts {
    bool txn_verified; /* the coordinator holds the producer's transaction open with this
                          partition in it, and keeps it so until this call returns */
};
int st_log_append_opts(struct st_log *log, struct iovec *batches, int n, int64_t now_ms,
                       const struct st_append_opts *opts, struct st_append_result *res);

/*
 * Writes a transaction marker: a COMMIT or ABORT control batch of producer pid with epoch
 * (the 78 bytes of kp_batch_build_txn_marker), closing its open transaction here if it has
 * one (an ABORT then gets a .txnindex entry), moving the LSO. -ESTALE when epoch is below
 * the producer's; -EREMCHG when coordinator_epoch is below the one of the producer's last
 * marker here (a deposed transaction coordinator's marker: TRANSACTION_COORDINATOR_FENCED);
 * -ENOENT / -ESHUTDOWN as appends. Durability as an append (res).
 */
int st_log_append_marker(struct st_log *log, int64_t pid, int16_t epoch, bool commit,
                         int32_t coordinator_epoch, int64_t now_ms, struct st_append_result *res);
/* The baseSequence with which producer pid's next batch at epoch passes the producer rules
 * (the one after its newest batch here; 0 for a producer or an epoch this partition does not
 * know). For a writer that is the producer's only one on this partition and serialises its
 * appends (br_cotopic's transactional offset commits); 0 when the log cannot be opened. */
int32_t st_log_next_sequence(struct st_log *log, int64_t pid, int16_t epoch);
/* partitionLeaderEpoch written into appended batches from now on (default 0); an epoch above
 * the leader-epoch cache's latest is added to it at the log end offset (and written: the log
 * is opened if dormant, the cache file loaded or rebuilt, see "replication" below). */
void st_log_set_leader_epoch(struct st_log *log, int32_t epoch);
/* The topic's max.message.bytes (-1: not set, the broker's message.max.bytes) and
 * min.insync.replicas, as set now (st_topic_config_set changes them at run time). */
int32_t st_log_max_message_bytes(struct st_log *log);
int32_t st_log_min_insync_replicas(struct st_log *log);
/* The topic's compression.type (ST_COMPRESSION_*), as set now. */
int32_t st_log_compression_type(struct st_log *log);
/* The log's topic name and partition (valid until st_log_put). */
const char *st_log_topic(const struct st_log *log);
int32_t st_log_partition(const struct st_log *log);

/* ---- read ------------------------------------------------------------------------------------ */

#define ST_READ_MAX_RANGES 8

struct st_range {
    int fd;     /* segment .log file, open for reading */
    off_t pos;  /* byte position in that file */
    size_t len; /* whole batches only */
    void *seg;  /* reference held on the segment; dropped by st_read_release() */
};

struct st_read {
    int n;                /* ranges filled */
    size_t total;         /* sum of ranges' len */
    int64_t first_offset; /* baseOffset of the first batch returned */
    int64_t end_offset;   /* offset of the first batch not returned (the read's upper bound) */
    struct st_range r[ST_READ_MAX_RANGES];
};

/*
 * Reads from the batch containing offset onwards, whole batches only, at most max_bytes
 * except that the first batch is returned whole even if larger, crossing segments as
 * needed (at most ST_READ_MAX_RANGES of them), bounded by the published end. offset == end
 * gives n = 0 (not an error). -ERANGE when offset < log start or > log end. -EBADMSG when
 * offset lies in a fenced range (or its batch's header is found inconsistent); a read that
 * starts before a fenced range stops short of it, and one at the range's end reads on.
 * Costs: a binary search of the index (and of the segment's fences, when it has any), then
 * 61-byte header preads from the nearest entry (about one index interval), and the same at
 * the cut; batch bodies are never read.
 * st_read_release() is safe on a result with n == 0 and after an error.
 */
int st_log_read(struct st_log *log, int64_t offset, size_t max_bytes, struct st_read *out);
/*
 * st_log_read bounded by limit (<= the published end; a batch boundary, such as the last
 * stable offset): nothing at or past limit is returned, the first batch included (offset ==
 * limit gives n = 0, offset > limit -ERANGE). For read_committed fetches (limit = st_log_lso).
 */
int st_log_read_upto(struct st_log *log, int64_t offset, size_t max_bytes, int64_t limit,
                     struct st_read *out);
void st_read_release(struct st_read *rd);

/* An aborted transaction, as Fetch's aborted_transactions carries it. */
struct st_aborted {
    int64_t producer_id;
    int64_t first_offset;
};
/*
 * The aborted transactions a read_committed consumer needs for offsets [from, upper): those
 * whose marker is at or after from and whose data starts before upper (Kafka's
 * collectAbortedTransactions), from the .txnindex of the segment holding from onwards,
 * sorted by first_offset ascending (kafkajs takes them in the order given). Reads only the
 * small index files, never record bytes. *n receives the count; -ENOBUFS when more than cap.
 */
int st_log_aborted_txns(struct st_log *log, int64_t from, int64_t upper, struct st_aborted *out,
                        int cap, int *n);

/* An open transaction of the partition (for the coordinator's start-up sweep). */
struct st_open_txn {
    int64_t producer_id;
    int16_t epoch;
    int64_t first_offset;
};
/* Copies up to cap open transactions into out, oldest first; returns how many there are. A
 * dormant log whose record puts its last stable offset at its end has none and stays dormant. */
int st_log_open_txns(struct st_log *log, struct st_open_txn *out, int cap);

/* ---- replication (issue 18, M3: docs/cluster.md "Replication") ------------------------------- */

/*
 * High watermark. A log is unreplicated when opened: its high watermark is its end offset, as
 * a single node has always served. st_log_set_replicated(log, true) (a broker holding a
 * partition of replication factor > 1, leader or follower) separates them: from then the high
 * watermark moves only by st_log_set_high_watermark, never down (except by st_log_truncate),
 * never above the end offset. It starts at the value last checkpointed for the log (the
 * flusher writes <partition dir>/high-watermark with the durable data; 0 when none), clamped
 * to [start offset, end offset]. false returns to high watermark = end offset.
 * st_log_lso() never exceeds the high watermark of a replicated log. The checkpoint is the
 * high watermark as of the durable offset, written at most once a second per log and at a
 * clean close ("<offset>\n"). Any thread; reads take no lock.
 */
void st_log_set_replicated(struct st_log *log, bool replicated);
bool st_log_replicated(const struct st_log *log);
int64_t st_log_high_watermark(const struct st_log *log);
/* Raises the high watermark to min(hw, end offset) if above it; returns the high watermark. */
int64_t st_log_set_high_watermark(struct st_log *log, int64_t hw);

/*
 * A follower's append: n (1..ST_APPEND_MAX_BATCHES) batches fetched from the leader, written
 * unchanged (baseOffset, partitionLeaderEpoch, timestamps and CRC kept). The first batch's
 * baseOffset must be the log end offset (-ERANGE otherwise), each next one must start after
 * the previous one's last offset (-EINVAL), every batch's CRC must check (-EBADMSG; nothing
 * written). The producer state (idempotent sequences, open and closed transactions, the
 * .txnindex, the LSO) is rebuilt from the batch headers as recovery does, without the
 * producer rules. A batch whose partitionLeaderEpoch is above the leader-epoch cache's latest
 * adds (epoch, baseOffset) to it. Does not move the high watermark. res as st_log_append
 * (duplicate is never set). Rolls segments as st_log_append. With replica_cache_keep_bytes
 * >= 0 (the store's), starts writeback of the active segment's new bytes every 4 MiB and
 * drops from the page cache what lies before its newest keep bytes (drop-behind, st_log.c):
 * advice to the kernel that never waits and changes no durability rule.
 */
int st_log_append_replica(struct st_log *log, struct iovec *batches, int n, int64_t now_ms,
                          struct st_append_result *res);

/*
 * Removes every offset at and above offset (a follower's divergent suffix, KIP-101/279): the
 * batch holding offset and everything after it (so the end offset becomes that batch's base
 * offset, or stays when offset >= end offset: nothing to do). Segments wholly above are
 * deleted, the one holding the cut is truncated at the batch boundary with its indexes; the
 * producer state, open transactions, .txnindex entries and leader-epoch cache entries at or
 * above the new end go; high watermark and durable offset are lowered to the new end if
 * above. An offset inside a fenced range (st_fence.c) cuts at the range's start: the range is
 * taken as one batch, its first offset becomes the end, it leaves the fenced file with
 * everything above (a follower whose divergence point falls in a fenced range). offset at or below
 * the log start offset: the log is emptied and restarts at offset (DeleteRecords' low
 * watermark goes). Durable on return: a crash after it never brings the cut suffix back
 * (TRUNCATION RULE in st_replica.c). Costs: the cut segment is scanned (CRC) as recovery
 * would, the sealed ones below have their indexes checked. 0 or -errno: -EBUSY while a
 * compaction runs on the log, -EBADMSG when a batch header at the cut is found inconsistent
 * (nothing changed). Not concurrently with appends to the same log (the caller's one writer);
 * readers may run (they stop at the new end at once).
 */
int st_log_truncate(struct st_log *log, int64_t offset);
/* Empties the log and restarts it at offset, above its end as well (Kafka's
 * truncateFullyAndStartAt: a follower whose end is below its leader's log start offset):
 * start = end = high watermark = LSO = offset, every segment, snapshot and epoch entry gone.
 * Same rules as st_log_truncate otherwise. (Added by rep-st: not in the agreed contract.) */
int st_log_restart_at(struct st_log *log, int64_t offset);

/*
 * Leader-epoch cache (Kafka's leader-epoch-checkpoint in the partition dir, same text format:
 * "0\n<count>\n<epoch> <start offset>\n..."): the start offset of every leader epoch the
 * log holds batches of, epochs and offsets increasing. st_log_set_leader_epoch(log, e) adds
 * (e, end offset) when e is above the latest; st_log_append_replica adds as above;
 * st_log_truncate drops entries at or above the cut; entries below the log start offset are
 * dropped as segments are deleted (the first kept entry's start raised to the log start).
 */
/* The latest epoch of the cache, -1 when empty. */
int32_t st_log_latest_epoch(struct st_log *log);
/*
 * OffsetsForLeaderEpoch (KIP-279) on this log: the largest epoch <= epoch in the cache
 * (*out_epoch) and its end offset (*out_end: the start offset of the next epoch in the
 * cache, or the log end offset when it is the latest). epoch below the earliest entry, or an
 * empty cache: *out_epoch = -1, *out_end = -1. Returns 0.
 */
int st_log_epoch_end_offset(struct st_log *log, int32_t epoch, int32_t *out_epoch,
                            int64_t *out_end);

/* ---- repair of fenced ranges (issue 18, M5; st_repair.c) --------------------------------------
 */

/* A fenced range (st_fence.c) as st_log_fenced_next tells it. */
struct st_fenced_range {
    int64_t seg_base;       /* base offset of its segment */
    int64_t off_lo, off_hi; /* offsets [off_lo, off_hi) */
    int64_t pos_lo, pos_hi; /* bytes [pos_lo, pos_hi) of the segment's .log */
    bool sealed;            /* its segment is sealed (not the active one): false, and
                               st_log_repair answers -EAGAIN until the log rolls */
};
/*
 * The log's first fenced range ending above offset from: 1 and *out, 0 when there is none,
 * or -errno. A dormant log whose clean-shutdown record counts fenced ranges is opened (its
 * fences load with it); one that counts none answers 0 without being opened. Any thread, no
 * lock (inside the log's grace period).
 */
int st_log_fenced_next(struct st_log *log, int64_t from, struct st_fenced_range *out);
/*
 * Mends the fenced range that starts at offset off_lo with another replica's bytes for it
 * (len bytes at bytes), in place (THE RULE FOR A REPAIR in st_repair.c): the bytes must be
 * exactly the range's byte length and hold whole batches with good CRCs for exactly its
 * offsets, and match the segment's digest sidecar where it has one; they are written at the
 * range's position and synced, then the range is served again and the fenced file
 * rewritten (*persist_err: that write's result; a failure is retried as st_fence.c says, the
 * range is repaired either way). Nothing else of the log changes (offsets, indexes, producer
 * state, end, high watermark). 0, or (nothing changed):
 *   -ENOENT   no fenced range starts at off_lo (repaired already, cut away; a dormant log)
 *   -EAGAIN   the range is in the active segment (repaired once it rolls)
 *   -EXDEV    in a compacted topic: another fenced range shares a digest chunk with it
 *             (replicas' bytes may differ there; in another topic a shared chunk's digest is
 *             left to the scrubber's next pass)
 *   -EINPROGRESS in a compacted topic: the segment has no digest sidecar (yet: the flusher
 *             writes it once the sealed segment is synced; try again later)
 *   -EMSGSIZE len is not the range's byte length (a compacted replica's batches: refused)
 *   -EBADMSG  the bytes are not whole good batches holding exactly [off_lo, off_hi)
 *   -EOPNOTSUPP they hold a transaction's batches or markers (producer state, the LSO and the
 *             .txnindex are not replayed by a repair: the range stays fenced)
 *   -EILSEQ   with them in place a digest chunk of the sidecar does not match
 *   -EBUSY    a compaction runs on the log, or a st_store_scrub call is under way (tried
 *             again later: never waited for); -ESHUTDOWN, and the disk's errors
 * Any thread; takes store->scrub_mu only if free and holds the log's sync lock throughout (no sync,
 * truncation or compaction swap of the log meanwhile; appends go on). Not on a hot path: it reads
 * the touched digest chunks (1 MiB each) into a buffer it allocates.
 */
int st_log_repair(struct st_log *log, int64_t off_lo, const uint8_t *bytes, size_t len,
                  int *persist_err);
/* A number that changes whenever a range is fenced anywhere in the store (scrubber,
 * recovery, a dormant log opened with fences): a caller looking for ranges to repair looks
 * again when it moves. Any thread. */
uint64_t st_store_fence_gen(struct st_store *store);

/* ---- offsets --------------------------------------------------------------------------------- */

int64_t st_log_start_offset(const struct st_log *log);
int64_t st_log_end_offset(const struct st_log *log);     /* published log end offset (LEO) */
int64_t st_log_durable_offset(const struct st_log *log); /* every offset below is synced */
/* Last stable offset: the first offset of the oldest open transaction, else the end. Never
 * above st_log_end_offset() loaded after it. */
int64_t st_log_lso(const struct st_log *log);
/* What a log holds now (metrics, DescribeLogDirs): read without the writer's lock. */
struct st_log_stats {
    int64_t start_offset, end_offset, durable_offset;
    int64_t bytes;         /* published bytes of every segment's .log */
    int32_t segments;      /* segment files, the active one included */
    int64_t fenced_ranges; /* ranges found corrupt and no longer served (st_fence.c) */
    int64_t fenced_bytes;  /* bytes they cover */
};
void st_log_stats(struct st_log *log, struct st_log_stats *out);
/*
 * DeleteRecords: moves the log start offset up to offset (-1: the log end), durably (the
 * low watermark file, st_segment.c) before returning; reads below it fail with -ERANGE from
 * then on and retention deletes the segments wholly below it. *low receives the log start
 * offset after the call. An offset at or below the start changes nothing. -ERANGE when
 * offset is past the log end (or below -1), -ENOENT for a deleted log, the disk's errors
 * (-ESHUTDOWN after st_store_close for a log still dormant). A dormant log is opened first.
 */
int st_log_delete_records(struct st_log *log, int64_t offset, int64_t *low);
/* The largest maxTimestamp of the log's batches; -1 when it has none (or a dormant log cannot be
 * opened). Opens a dormant log that has batches; reads the timestamps of sealed segments not
 * known yet (a log opened after a clean shutdown), once each. */
int64_t st_log_max_timestamp(struct st_log *log);
/* First offset whose batch has maxTimestamp >= ts; -ENOENT if none. */
int st_log_offset_for_time(struct st_log *log, int64_t ts, int64_t *offset);
/* Asks the flusher to sync this log now (e.g. for acks under flush.interval.messages=1). */
void st_log_request_sync(struct st_log *log);

/* ---- housekeeping ---------------------------------------------------------------------------- */

/* Applies roll-by-time and retention to every log (call every few seconds). Retention
 * deletes whole sealed segments, oldest first, only once the flusher has synced them and
 * written their digest; the active segment is never deleted. */
void st_store_maintain(struct st_store *store, int64_t now_ms);

struct st_scrub_report {
    int64_t bytes_checked;
    int64_t bad_segments; /* segments in which this call fenced something new */
    int64_t fenced;       /* ranges this call fenced */
};

/*
 * Verifies sealed segments against their XXH3-64 digest sidecars and the active segment up
 * to its last synced byte (running digests, or batch by batch for a segment recovered at
 * open), reading about budget_bytes (whole 1 MiB chunks) this call and resuming where it
 * stopped on the next call; at most one pass over the store per call. In a chunk that no
 * longer matches, the bad batches alone are found (CRC-32C and header continuity) and
 * fenced: persisted, no longer served (st_log_read: -EBADMSG), and logged through log_fn (may
 * be NULL) with the path, offsets and byte range. A chunk found again on a later pass is
 * not reported again. report counts this call only.
 */
typedef void (*st_log_fn)(void *arg, const char *msg);
int st_store_scrub(struct st_store *store, int64_t budget_bytes, st_log_fn log_fn, void *arg,
                   struct st_scrub_report *report);

#endif
