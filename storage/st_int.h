/*
 * st_int — storage internals shared between the storage files (never included outside
 * storage/). The on-disk format these structures mirror is written out in st_segment.c.
 *
 * Who touches what
 * - struct st_seg: immutable identity (base, path) set at open; its files (descriptors,
 *   index mappings) are the store's cache's (st_fcache.c): opened at first use, used only
 *   while pinned, closed when the cache evicts the segment. `size`, the index counts and
 *   `fences` are published with release stores and read with acquire loads by lock-free
 *   readers; the active segment's index entries in memory are searched inside the log's grace
 *   period; everything in `w` and the scrub mark belong to the log's writer (log->mu). A fence
 *   set is replaced (never modified) under log->fence_mu; replaced sets live until the segment
 *   is freed, so a reader never needs a grace period for them.
 * - struct st_log: dormant (no segments, answering from its clean-shutdown record) until
 *   st__log_activate opens it under sync_mu and publishes `state` (release); then `segs` is
 *   an immutable snapshot replaced under log->mu and freed only after a grace period
 *   (st__grace_*): a reader inside st__grace_enter/exit may use the segment pointers it
 *   loaded from the snapshot until it exits, and must take a segment reference to keep one
 *   longer (and a pin to use its files).
 * - Errors: 0 or -errno, as in st.h.
 */
#ifndef SPLICELOG_ST_INT_H
#define SPLICELOG_ST_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <xxhash.h>

#include "st.h"
#include "st_clean.h"

/* ---- constants (the on-disk format: st_segment.c) ---------------------------------------- */

enum {
    ST_NAME_DIGITS = 20,       /* 00000000000000000000.log */
    ST_IDX_ENTRY = 8,          /* .index: be32 relative offset, be32 position */
    ST_TIDX_ENTRY = 12,        /* .timeindex: be64 timestamp, be32 relative offset */
    ST_DIGEST_CHUNK = 1 << 20, /* .digest: XXH3-64 per 1 MiB of .log */
    ST_DIGEST_HDR = 32,        /* .digest header */
    ST_RP_SIZE = 68,           /* recovery-point file */
    ST_CLEAN_SIZE = 100,       /* a log's clean-shutdown record */
    ST_FENCE_HDR = 16,         /* fenced file: header, then ranges */
    ST_FENCE_REC = 40,         /* fenced file: one range */
    ST_FENCE_MAX = 65536,      /* fenced ranges one log may hold (the file's N bound) */
    ST_SCAN_BUF = 4 << 20,     /* recovery scan read size */
    ST_TXNIDX_ENTRY = 34,      /* .txnindex: one aborted transaction (st_txnidx.c) */
    ST_PSNAP_HDR = 28,         /* .snapshot: header, then entries, then a CRC (st_pstate.c) */
    ST_PSNAP_ENTRY = 160,      /* .snapshot: one producer */
    ST_PBATCHES = 5,           /* batches remembered per producer (Kafka's NUM_BATCHES_TO_RETAIN) */
    ST_MAX_PATH = 4096,
};

#define ST_DIGEST_MAGIC "SLDG"
#define ST_RP_MAGIC     "SLRP"
#define ST_CLEAN_NAME   "clean-shutdown"
#define ST_CLEAN_MAGIC  "SLCS"
#define ST_RP_NAME      "recovery-point"
#define ST_FENCE_MAGIC  "SLFN"
#define ST_FENCE_NAME   "fenced"
#define ST_META_SUFFIX  ".topic"
#define ST_PSNAP_MAGIC  "SLPS"
#define ST_PSNAP_SUFFIX ".snapshot"

/* ---- index files (st_index.c) -----------------------------------------------------------------
 */

struct st_seg;

/* Published count of a sealed segment's index opened after a clean shutdown: every entry the
 * file holds (its mapping tells how many). */
#define ST_IDX_ALL UINT32_MAX

/*
 * One .index or .timeindex. The active segment's entries live in memory (mem), where appends
 * store them and readers search them; they reach the file in whole runs at each sync, at the
 * seal and at a clean close (st__idx_flush). A sealed segment's index is the file itself,
 * exactly its entries, mapped read-only at its first lookup (map).
 */
struct st_idx {
    uint32_t esize;        /* ST_IDX_ENTRY or ST_TIDX_ENTRY */
    uint32_t limit;        /* entries the segment may hold before it rolls (writer) */
    _Atomic uint32_t n;    /* published entries (readers: acquire); n <= w */
    uint32_t w;            /* entries written by the writer, not yet necessarily published */
    uint32_t filed;        /* entries [0, filed) are in the file, equal to mem's (writer) */
    bool whole;            /* st__idx_load: the file held whole entries only, nothing after */
    uint8_t *_Atomic mem;  /* entries [0, w) (active, or recovery); NULL: none or file-backed */
    uint32_t mem_cap;      /* entries mem has room for */
    struct st_idxbuf *old; /* buffers mem outgrew (a reader may still be in one): freed
                              with mem, after a grace period */
    uint8_t *dead;         /* mem as detached at the seal, freed by st__idx_drop_mem */
    const uint8_t *_Atomic map; /* file-backed: read-only mapping of the whole file; NULL until
                                   the first lookup needs it */
    _Atomic uint32_t map_n;     /* entries the mapping holds (stored before map: the file of a
                                   sealed segment never changes, so every mapper agrees) */
    uint64_t hash;              /* chain over entries [0, n): h = XXH3_64bits_withSeed(entry, h) */
};

void st__idx_init(struct st_idx *ix, uint32_t esize);
/* Frees everything (the segment is being freed: no reader is left). */
void st__idx_free(struct st_idx *ix);
/* Recovery: reads the existing file (if any) into mem; *entries receives how many whole entries
 * it held (filed = that many; whole: and nothing else). Nothing is published. */
int st__idx_load(struct st_seg *s, struct st_idx *ix, uint32_t *entries);
/* Writer: room in mem for k entries in all (grows by doubling; the old buffer is retired). */
int st__idx_reserve(struct st_idx *ix, uint32_t k);
/* Writes published entries [filed, n) to the file (created at its first entry), so that the
 * file holds exactly the first n entries. Under log->mu (or single-threaded). */
int st__idx_flush(struct st_seg *s, struct st_idx *ix);
/* Recovery: flush, and cut the file to exactly w (== n) entries if it is longer. */
int st__idx_settle(struct st_seg *s, struct st_idx *ix);
/* Seal / recovery of a sealed segment: flush, and create the file even when it holds no entry
 * (a segment under index.interval.bytes), so that a later open takes it as it is instead of
 * as an index deleted to be rebuilt. Under log->mu (or single-threaded). */
int st__idx_seal_file(struct st_seg *s, struct st_idx *ix);
/* fsync of the file (its pages and size); 0 when it does not exist and holds nothing. */
int st__idx_sync(struct st_seg *s, struct st_idx *ix);
/* Seal / recovery: the file holds every entry; mem is detached (readers switch to the file)
 * and freed by st__idx_drop_mem once a grace period has passed. */
void st__idx_detach(struct st_idx *ix);
void st__idx_drop_mem(struct st_idx *ix);
/* Unmaps a file-backed index (the cache closes its segment: no pin is held). */
void st__idx_unmap(struct st_idx *ix);
/* Publishes entries [n, w): hash them, release-store n = w. */
void st__idx_publish(struct st_idx *ix);
/* Drops everything from entry k on (writer state and hash; published ones only in recovery). */
void st__idx_reset(struct st_idx *ix, uint32_t k);
uint64_t st__idx_digest(const struct st_idx *ix);
/* Recovery: XXH3-64 chain over the first k entries in mem. */
uint64_t st__idx_hash_prefix(const struct st_idx *ix, uint32_t k);

/* Writer (and recovery) access to entries in mem (i < mem_cap). */
void st__oidx_put(struct st_idx *ix, uint32_t i, int32_t rel, int32_t pos);
void st__oidx_get(const struct st_idx *ix, uint32_t i, int32_t *rel, int32_t *pos);
void st__tidx_put(struct st_idx *ix, uint32_t i, int64_t ts, int32_t rel);
void st__tidx_get(const struct st_idx *ix, uint32_t i, int64_t *ts, int32_t *rel);
/* Recovery, over mem: leading entries that are well formed (strictly increasing, offset-index
 * positions in (0, size)). */
uint32_t st__oidx_valid_prefix(const struct st_idx *ix, uint32_t n, int64_t size);
uint32_t st__tidx_valid_prefix(const struct st_idx *ix, uint32_t n);

/*
 * Readers (any thread, no lock): lookups among the published entries of segment s, wherever
 * they are (mem under the log's grace period, or the file's mapping). 1 found, 0 none, -errno
 * (the file could not be mapped).
 *   _rel:   the entry with the largest rel <= target
 *   _pos:   the entry with the largest position <= target
 *   _below: the time-index entry with the largest timestamp < target
 *   _last:  the last time-index entry
 */
int st__oidx_lookup_rel(struct st_seg *s, int32_t target, int32_t *rel, int32_t *pos);
int st__oidx_lookup_pos(struct st_seg *s, int64_t target, int32_t *rel, int32_t *pos);
int st__tidx_lookup_below(struct st_seg *s, int64_t target, int64_t *ts, int32_t *rel);
int st__tidx_lookup_last(struct st_seg *s, int64_t *ts, int32_t *rel);
/* Published entries, wherever they are (resolves ST_IDX_ALL by mapping the file): or -errno. */
int64_t st__idx_count(struct st_seg *s, struct st_idx *ix);
/* Entry i (< the published count) wherever it is: 1, 0 when i is not published, -errno. */
int st__oidx_entry(struct st_seg *s, uint32_t i, int32_t *rel, int32_t *pos);
int st__tidx_entry(struct st_seg *s, uint32_t i, int64_t *ts, int32_t *rel);

/* ---- open files (st_fcache.c) ---------------------------------------------------------------- */

/* The store's cache of open segment files: a CLOCK ring of open segments, bounded by max. */
struct st_fcache {
    pthread_mutex_t mu; /* misses and evictions; a hit takes no lock */
    struct st_seg **ring;
    uint32_t n, cap, hand;
    uint32_t max; /* open segments kept (soft: pinned ones are never closed) */
    _Atomic int64_t opened, evicted;
    _Atomic int32_t open_now;
    _Atomic int64_t refs; /* the store's and one per segment: logs outlive st_store_close */
};

struct st_fcache_stats {
    int64_t open, max, opened, evicted;
};

/* max_open <= 0: half of RLIMIT_NOFILE's soft limit (at least 16). One reference. */
int st__fc_new(int64_t max_open, struct st_fcache **out);
void st__fc_ref(struct st_fcache *fc);
void st__fc_put(struct st_fcache *fc);
void st__fc_stats(struct st_fcache *fc, struct st_fcache_stats *out);
/* Pins s's files, opening its .log when closed: 0 or -errno. While pinned, s->fd, the
 * .txnindex descriptor and the index mappings stay open. */
int st__seg_pin(struct st_seg *s);
/* Creates s's .log (O_EXCL) and pins it. */
int st__seg_pin_new(struct st_seg *s);
void st__seg_unpin(struct st_seg *s);
/* Closes everything (s is being freed: nobody holds a pin). */
void st__seg_close_files(struct st_seg *s);
/* pread of exactly n bytes at pos of s's .log (pinned inside); -EIO on a short read. */
int st__seg_read(struct st_seg *s, void *buf, size_t n, int64_t pos);
/* open(2) (O_CLOEXEC added); when the process is out of descriptors (EMFILE, ENFILE), once
 * more after the cache closed some of its own. The descriptor or -errno. */
int st__fc_open(struct st_fcache *fc, const char *path, int flags, mode_t mode);
/* The process is out of descriptors: closes some of the cache's and lowers its bound. */
void st__fc_relieve(struct st_fcache *fc);
/* s pinned: its .txnindex descriptor (created when create), -errno (-ENOENT: no file). */
int st__seg_txn_fd(struct st_seg *s, bool create);

/* A sealed segment's largest timestamp not read yet (st__seg_max_ts reads it at first need). */
#define ST_TS_UNKNOWN INT64_MIN

/* ---- segments -------------------------------------------------------------------------------- */

/*
 * The scrub bound of an active segment: bytes [0, pos) were on disk (a sync covered them, or
 * recovery found them there), pos is a batch boundary and next the offset expected there.
 * dg_ok: dg is the XXH3-64 of [pos rounded down to ST_DIGEST_CHUNK, pos), from the running
 * digest at that sync. Written under log->mu by the flusher after each sync.
 */
struct st_mark {
    int64_t pos, next;
    uint64_t dg;
    bool dg_ok;
};

/* The writer's view of a segment; copied to roll back a failed append. */
struct st_wstate {
    int64_t pos;          /* bytes written (== published size after a successful append) */
    int64_t next_offset;  /* offset the next batch gets */
    int64_t max_ts;       /* largest maxTimestamp of the segment's batches, -1 if none */
    int64_t since_entry;  /* bytes appended since the last offset-index entry */
    int64_t tidx_last_ts; /* timestamp of the last time-index entry, -1 if none */
};

struct st_seg {
    _Atomic int refs;
    int64_t base; /* base offset, from the file name */
    char *path;   /* .log path; the index/digest paths swap the suffix */
    /* what is open, kept by the store's cache (st_fcache.c): use only while pinned */
    _Atomic uint32_t pins;    /* open bit, used bit, pin count (st_fcache.c) */
    int32_t slot;             /* in the cache's ring; -1 when closed (cache mutex) */
    int fd;                   /* .log, O_RDWR, while open */
    _Atomic int txn_fd;       /* .txnindex once opened, while open; -1 */
    struct st_fcache *fc;     /* the store's; NULL: uncached (closed when freed) */
    struct st_idx idx;        /* .index */
    struct st_idx tidx;       /* .timeindex */
    _Atomic int64_t size;     /* published bytes; readers bound everything by it */
    _Atomic int64_t size_end; /* stored before size: at or above the end offset of the bytes
                                 size covers (INT64_MAX: unknown); a reader whose log end
                                 offset is below it cuts its read there (read_range) */
    _Atomic int64_t max_ts;   /* published largest maxTimestamp, -1 if none */
    struct st_fenceset *_Atomic fences; /* ranges found corrupt and no longer served; NULL:
                                           none (st_fence.c) */
    _Atomic bool sealed;                /* rolled: no more appends */
    _Atomic bool synced;                /* sealed and its .log and index files synced */
    _Atomic bool digested;              /* sealed, synced, and its .digest sidecar written */
    int32_t interval;                   /* log.index.interval.bytes in force */
    int64_t first_append_ms; /* roll.ms clock: wall time of the first batch, -1 if empty */
    struct st_wstate w;      /* writer state (log->mu) */
    struct st_rundigest *rd; /* chunk digests computed as bytes are appended; NULL when the
                                segment was not written from its start by this process */
    bool prepared;           /* rd set up; done by the first append into a new segment */
    uint32_t rd_chunks;      /* expected digest chunks (log.segment.bytes / 1 MiB + 2) */
    struct st_grace *grace;  /* the log's: readers search idx/tidx mem inside it (NULL while
                                recovery owns the segment alone) */
    bool absent;             /* no .log yet: a log that was never written has no files; its
                                first append creates the directory and the file */
    bool has_txn;            /* a .txnindex existed when the log was opened */
    struct st_mark mark;     /* how far the scrubber may check the active segment (log->mu) */
    int64_t cache_kicked;    /* follower drop-behind (st_log.c, log->mu): writeback started */
    int64_t cache_dropped;   /* ... and the page cache dropped below these positions */

    /* .txnindex (st_txnidx.c): aborted transactions whose marker lies in this segment */
    uint32_t txn_w;              /* entries written (log->mu); txn_n <= txn_w */
    _Atomic uint32_t txn_n;      /* entries published (readers: acquire) */
    _Atomic uint32_t txn_synced; /* entries covered by the last fdatasync (flusher) */
};

/*
 * Running digests of a segment created by this process: every appended byte goes through
 * XXH3 once, as it is written, so sealing needs no re-read. Written by the writer
 * (log->mu); read by the flusher only after the segment is sealed.
 */
struct st_rundigest {
    XXH3_state_t *state; /* over the current, incomplete chunk */
    int64_t pos;         /* bytes hashed; == w.pos after every append */
    uint32_t n, cap;     /* chunk digests done, room in d */
    bool complete;       /* sealed: the last partial chunk is in d[] too */
    bool failed;         /* no memory to grow d: the digest is read back at seal instead */
    uint64_t *d;         /* digest of chunk i */
};

/* For a new, empty segment expected to hold up to cap_chunks chunks (d grows if needed). */
struct st_rundigest *st__rundigest_new(uint32_t cap_chunks);
void st__rundigest_free(struct st_rundigest *rd);
void st__rundigest_feed(struct st_rundigest *rd, const void *p, size_t n);
void st__rundigest_finish(struct st_rundigest *rd);

/*
 * The segment base of dir, its files opened at their first use through the cache fc (create:
 * its empty .log is created now, and stays open in the cache); the index limit is idx_cap
 * entries each (0: none, for a segment that is sealed already).
 */
int st__seg_open(const char *dir, int64_t base, int32_t interval, uint32_t idx_cap, bool create,
                 struct st_fcache *fc, struct st_seg **out);
/* Writer, before the first append into an empty segment: the running digest, and the .log
 * (and the directory dir) when the segment is absent; *made_dir when the directory is new. */
int st__seg_prepare(struct st_seg *s, const char *dir, bool *made_dir);
/* A segment's largest maxTimestamp (-1 none), read from its time index and the headers
 * after its last entry the first time it is unknown (a sealed segment of a log opened after a
 * clean shutdown). */
int64_t st__seg_max_ts(struct st_seg *s);
void st__seg_ref(struct st_seg *s);
void st__seg_put(struct st_seg *s);
/* Builds "<dir>/<20-digit base><suffix>". */
void st__seg_path(char *buf, size_t cap, const char *dir, int64_t base, const char *suffix);
/* Path of this segment's file with another suffix (".index", ".digest"...). */
void st__seg_sibling(const struct st_seg *s, char *buf, size_t cap, const char *suffix);
/* Unlinks all of the segment's files (open fds stay valid). */
void st__seg_unlink(struct st_seg *s);
/*
 * Accounts one batch written at w->pos: adds index entries by the interval rule (in
 * st_segment.c) and advances the writer state. The caller publishes.
 */
void st__seg_note_batch(struct st_seg *s, int64_t base_offset, int32_t last_delta, int64_t size,
                        int64_t max_ts);
/* Entries one append of n batches may add at most fit under the index limit, with one to
 * spare for the seal's time-index entry (roll when they do not). */
static inline bool st__seg_index_room(const struct st_seg *s, int n)
{
    return s->idx.w + (uint32_t)n + 1 <= s->idx.limit &&
           s->tidx.w + (uint32_t)n + 1 <= s->tidx.limit;
}
/* Memory for the entries n more batches may add (writer, before st__seg_note_batch). */
int st__seg_index_grow(struct st_seg *s, int n);
/* Seals: final time-index entry, every entry written to the index files (writer, under
 * log->mu). On success the caller detaches the in-memory indexes (st__idx_detach) before its
 * grace period and drops them after it; on failure they stay in memory for good. */
int st__seg_seal(struct st_seg *s);
/* pread exactly n bytes at pos; -EIO on a short read. */
int st__pread_full(int fd, void *buf, size_t n, int64_t pos);
/* pwrite exactly n bytes at pos (retrying short writes); -errno, -EIO when nothing moves. */
int st__pwrite_full(int fd, const void *buf, size_t n, int64_t pos);

struct st_segvec;

/* ---- fenced ranges (st_fence.c) -------------------------------------------------------------- */

/*
 * Bytes [pos_lo, pos_hi) of a segment's .log, which held offsets [off_lo, off_hi), found
 * corrupt: never served again (a read at those offsets fails with -EBADMSG), skipped over by
 * every walk. pos_lo is a batch boundary; pos_hi is one too, or the segment's end.
 */
struct st_fence {
    int64_t pos_lo, pos_hi;
    int64_t off_lo, off_hi;
};

struct st_fenceset {
    struct st_fenceset *older; /* the set this one replaced (freed with the segment) */
    uint32_t n;
    struct st_fence f[]; /* ascending and disjoint, in positions and in offsets alike */
};

/* The segment's fences (acquire); NULL when none. */
static inline const struct st_fenceset *st__fences(const struct st_seg *s)
{
    return atomic_load_explicit(&((struct st_seg *)s)->fences, memory_order_acquire);
}
/* The fence holding offset off / byte pos; NULL if none. */
const struct st_fence *st__fence_by_off(const struct st_fenceset *fs, int64_t off);
const struct st_fence *st__fence_by_pos(const struct st_fenceset *fs, int64_t pos);
/* The last fence ending at or before offset off; NULL if none. */
const struct st_fence *st__fence_before_off(const struct st_fenceset *fs, int64_t off);
/* The first fence starting at or after byte pos; NULL if none. */
const struct st_fence *st__fence_from_pos(const struct st_fenceset *fs, int64_t pos);
/* Frees every set the segment ever had (st__seg_put). */
void st__fence_free_all(struct st_seg *s);

/*
 * Adds ranges to segment s of log (log->fence_mu taken inside; never under log->mu): merges
 * them into its set, publishes the new set (readers stop at once), then rewrites the log's
 * fenced file (st__fence_persist; *persist_err gets its result). Returns how many were new
 * (0: all already fenced), or -errno when memory ran out (nothing changed).
 */
int st__fence_add(struct st_log *log, struct st_seg *s, const struct st_fence *f, int n,
                  int *persist_err);
/* The same without the file, for recovery and under fence_mu: merges the ranges into s's set
 * (a range inside an existing one changes nothing; overlapping ones become their union). */
int st__fence_merge(struct st_seg *s, const struct st_fence *f, int n);
/* Rewrites <dir>/fenced from the current segment list (removes it when nothing is fenced).
 * 0 or -errno; on failure the log remembers to try again (log->fence_dirty). */
int st__fence_persist(struct st_log *log);
/* The same with log->fence_mu held by the caller (st_repair.c). */
int st__fence_persist_locked(struct st_log *log);
/*
 * Recovery (single-threaded, before the log is published): reads <dir>/fenced and attaches
 * each valid range to its segment in v (sizes[i] = .log size of v->s[i]). A range naming a
 * segment that is gone or bytes past its end is dropped; a damaged file is reported through
 * *damaged and ignored. Returns the number of ranges attached, or -errno.
 */
int st__fence_load(struct st_log *log, struct st_segvec *v, const int64_t *sizes, bool *damaged);
/* Recovery: drops the fences of s at or past byte pos (its .log was cut there). */
void st__fence_cut(struct st_seg *s, int64_t pos);

/* ---- walking batches (st_walk.c) ------------------------------------------------------------- */

enum { ST_WALK_FOUND = 32, ST_WALK_WHY = 96 };

struct kp_batch_hdr;

/*
 * One walk over a segment's batches with the checks of THE RULE FOR A GOOD BATCH (st_walk.c).
 * The caller fills the inputs and the state, calls st__walk_run() until it returns 0 (1: the
 * found[] array is full; take them, set nfound = 0, call again), and reads the results.
 */
struct st_walk {
    /* inputs */
    struct st_seg *seg;
    const struct st_fenceset *known; /* fences in force: passed over, never re-checked */
    int64_t limit;                   /* no byte at or past this is read */
    int64_t stop;                    /* check the batches that start before this (<= limit) */
    int64_t fence_below;             /* a bad batch starting below this is fenced; one at
                                        or past it ends the walk (torn) */
    int64_t end_pos, end_off;        /* a boundary known good at or past stop and the offset
                                        there (resync falls back to it); end_pos < 0: none */
    void (*on_batch)(void *arg, int64_t pos, const struct kp_batch_hdr *h); /* accepted */
    void (*on_undo)(void *arg); /* takes back the last on_batch (the epoch rule) */
    void (*on_fence)(void *arg, int64_t pos_lo, int64_t pos_hi, int64_t off_lo, int64_t off_hi);
    void *arg;
    uint8_t *buf; /* read window */
    size_t bufcap;

    /* state: the next batch starts at pos and should hold offset next */
    int64_t pos, next;
    int32_t floor; /* partitionLeaderEpoch of the last good batch before any rise; 0 at first */
    bool rise;     /* the last good batch's epoch rose above floor: undecided until the next */
    struct st_fence rise_f; /* that batch's bytes and offsets */
    int32_t rise_epoch;
    int64_t winpos, winlen;

    /* results */
    struct st_fence found[ST_WALK_FOUND]; /* new bad ranges, in order */
    char why[ST_WALK_FOUND][ST_WALK_WHY];
    int nfound;
    bool torn; /* ended at a bad batch at pos >= fence_below */
    char torn_why[ST_WALK_WHY];
    bool unconfirmed; /* a rise the walk could not judge (last batch before stop/end) */
    struct st_fence unconfirmed_f;
    int64_t bytes; /* read from the file */
};

/* 0 done (stop reached, or torn), 1 found[] full, -errno on a read error. */
int st__walk_run(struct st_walk *w);
/*
 * A starting point for a walk that must check every batch holding a byte at or after target:
 * a boundary at or before target (the index, fences and batch headers bring it as close as
 * they can) with the offset expected there and the epoch floor. Reads a few headers.
 */
int st__walk_locate(struct st_seg *s, const struct st_fenceset *fs, int64_t target, int64_t limit,
                    int64_t *pos, int64_t *next, int32_t *floor);

/* ---- producer state (st_pstate.c) and aborted transactions (st_txnidx.c) -----------------------
 */

/* One of a producer's last batches (Kafka's BatchMetadata). */
struct st_pbatch {
    int32_t last_seq; /* sequence of its last record */
    int32_t delta;    /* lastOffsetDelta: first_seq = last_seq - delta (wrapping) */
    int64_t last_offset;
    int64_t ts; /* maxTimestamp as stored */
};

/* A producer's state in one partition (Kafka's ProducerStateEntry); a slot of the table. */
struct st_producer {
    int64_t pid;         /* -1: a free slot */
    int16_t epoch;       /* -1: none known */
    uint8_t nb;          /* batches in the ring (<= ST_PBATCHES) */
    uint8_t head;        /* index of the oldest */
    int32_t coord_epoch; /* of the last marker; -1 none */
    int64_t last_ts;     /* maxTimestamp of its last batch or marker (producer.id.expiration.ms) */
    int64_t txn_first;   /* first offset of its open transaction here; -1 none */
    struct st_pbatch b[ST_PBATCHES];
};

/* An open transaction of the partition, by its first offset. */
struct st_ongoing {
    int64_t first, pid;
};

/*
 * Every producer of a partition (under log->mu): an open-addressing table (linear probing,
 * deletion by backward shift, seeded hash since producer ids come from clients), and the open
 * transactions in ascending first offset. tab is NULL until the first producer.
 */
struct st_pstate {
    struct st_producer *tab;
    uint32_t cap, n; /* cap: 0 or a power of two; n <= cap / 2 */
    struct st_ongoing *ong;
    uint32_t nong, ong_cap;
    int64_t next_expiry_ms; /* wall clock of the next producer.id.expiration sweep */
};

/* An aborted transaction as the .txnindex keeps it (Kafka's AbortedTxn). */
struct st_abort {
    int64_t pid, first, last, lso;
};

/* What st__ps_check found for a batch of producer id >= 0. */
struct st_pcheck {
    bool dup; /* a repeat of one of the last ST_PBATCHES batches: write nothing */
    int64_t dup_first, dup_last, dup_ts;
};

struct st_log;
/* Frees the table and gives its bytes back to the store. */
void st__ps_free(struct st_log *log);
struct st_producer *st__ps_find(struct st_log *log, int64_t pid);
/*
 * The rules of a data batch from a producer (st_pstate.c, THE PRODUCER RULES), and room for
 * its entry: 0 (append it, then st__ps_apply_data), 1 (a duplicate: out says of what), or
 * -ESTALE (old epoch), -EILSEQ (sequence), -EPROTO (transactional or not, against the open
 * transaction), -ENOKEY (first transactional batch, not verified), -ENOBUFS / -ENOMEM (no room).
 */
int st__ps_check(struct st_log *log, const struct kp_batch_hdr *h, bool verified,
                 struct st_pcheck *out);
/* Applies a written data batch (after st__ps_check returned 0, or during replay). */
void st__ps_apply_data(struct st_log *log, const struct kp_batch_hdr *h);
/* Room for one more producer (a marker or a replayed batch of an unknown pid). */
int st__ps_reserve(struct st_log *log, int64_t pid, bool replay);
/* The base sequence a next batch of pid at epoch passes rule 3 with (under log->mu). */
int32_t st__ps_next_seq(struct st_log *log, int64_t pid, int16_t epoch);
/* Checks a marker: -ESTALE for an epoch below the producer's. */
int st__ps_check_marker(struct st_log *log, int64_t pid, int16_t epoch, int32_t coord_epoch);
/* What a marker at offset would complete: true and *ab (lso set) when it aborts an open
 * transaction (its .txnindex entry). Changes nothing. */
bool st__ps_marker_abort(struct st_log *log, int64_t pid, int64_t offset, struct st_abort *ab);
/* Applies a written marker (room reserved). */
void st__ps_apply_marker(struct st_log *log, int64_t pid, int16_t epoch, int32_t coord_epoch,
                         int64_t ts);
/* The last stable offset for a log ending at end (under log->mu). */
int64_t st__ps_lso(const struct st_log *log, int64_t end);
/* Forgets producers idle for producer.id.expiration.ms (no open transaction). */
int st__ps_expire(struct st_log *log, int64_t now_ms);
/* Snapshot of the table for a state covering every offset below upto: malloc'd bytes. */
int st__ps_snap_encode(const struct st_log *log, int64_t upto, uint8_t **out, size_t *len);
/* Writes <dir>/<upto>.snapshot: .tmp, fdatasync, rename (the directory fsync is the caller's). */
int st__ps_snap_write(const char *dir, int64_t upto, const uint8_t *b, size_t len);
/* Unlinks every snapshot of dir below keep (keep < 0: all). */
void st__ps_snap_prune(const char *dir, int64_t keep);
/* What st__ps_recover did. */
struct st_ps_recovery {
    int64_t snapshot; /* offset of the snapshot loaded; -1 none */
    int64_t bytes;    /* bytes of batches replayed after it */
    int damaged;      /* .txnindex files found damaged (cut) */
    int stopped;      /* segments whose replay stopped at a header out of place */
};
/* Recovery: load the newest usable snapshot, replay batch headers after it, rebuild the
 * .txnindex entries it covers, publish the LSO (st_pstate.c, PRODUCER STATE RECOVERY). */
int st__ps_recover(struct st_log *log, struct st_segvec *v, int64_t now_ms,
                   struct st_ps_recovery *r);

/* .txnindex (st_txnidx.c). The writer's calls run under log->mu. */
int st__txnidx_write(struct st_log *log, struct st_seg *s, const struct st_abort *ab);
void st__txnidx_publish(struct st_seg *s);
/* Recovery: opens an existing file, keeps the valid entries of a segment holding offsets
 * [s->base, end) (end: the next segment's base or the log end), truncates the rest; *bad set
 * when something was cut. */
int st__txnidx_load(struct st_log *log, struct st_seg *s, int64_t end, bool *bad);
/* Recovery: keeps only entries whose marker is below offset. */
int st__txnidx_cut(struct st_seg *s, int64_t offset);
int st__txnidx_sync(struct st_seg *s);
/* Entries of s with last >= from and first < upper appended to out (*n counts them; -ENOBUFS
 * past cap); returns 1 when an entry with lso >= upper was seen (the search is complete), 0
 * if not. */
int st__txnidx_collect(struct st_seg *s, int64_t from, int64_t upper, struct st_aborted *out,
                       int cap, int *n);

/* ---- grace periods for the segment list ------------------------------------------------------ */

struct st_grace {
    _Atomic uint64_t epoch;
    _Atomic int64_t active[2];
};
uint64_t st__grace_enter(struct st_grace *g);
void st__grace_exit(struct st_grace *g, uint64_t e);
/* Waits until every reader that entered before the call has exited (writer only). */
void st__grace_sync(struct st_grace *g);

/* ---- logs ------------------------------------------------------------------------------------ */

struct st_segvec {
    int n;
    struct st_seg *s[]; /* ascending base; s[n-1] is the active segment; n >= 1 */
};

/*
 * What a clean close left a log as (the clean-shutdown record, st_segment.c): enough to answer
 * for a log that is not opened yet, and to see that its files are still those.
 */
struct st_clean {
    bool valid;  /* read and checked (or the log has no directory: never written) */
    bool legacy; /* an empty clean-shutdown file of an earlier version: clean, nothing known */
    int64_t first_base, tail_base, tail_size, end, lso, bytes;
    int32_t segments;
    int64_t fenced_ranges, fenced_bytes;
    int64_t first_size, first_time; /* the oldest segment: retention */
    int64_t floor;                  /* DeleteRecords' low watermark (log-start-offset) */
};

enum { ST_LOG_DORMANT = 0, ST_LOG_OPEN = 1 };

/* What a log checkpoint slot was written from (st_ckpt.c): dormant, or an open log's segment
 * list, active size, end, start and last stable offset. */
struct st_ckkey {
    bool dormant;
    uintptr_t segs;
    int64_t pos, end, start, lso;
};

struct st_log {
    _Atomic int refs;
    _Atomic int state;   /* ST_LOG_DORMANT until the first use that needs its segments (st__log_
                            activate, under sync_mu); then ST_LOG_OPEN for good */
    struct st_clean rec; /* while dormant: what it holds (offsets, stats, retention) */
    struct st_store *store;
    char *topic;
    int32_t partition;
    char *dir; /* <data-dir>/<topic>-<partition> */
    struct st_log_config cfg;

    struct st_grace grace;
    struct st_segvec *_Atomic segs; /* replaced under mu, freed after a grace period */
    _Atomic int64_t end_offset;     /* published end (high watermark) */
    _Atomic int64_t start_offset;   /* max(base of segs->s[0], floor_offset) */
    _Atomic int64_t floor_offset;   /* DeleteRecords' low watermark (ST_FLOOR_NAME); 0: none */
    _Atomic int64_t durable_offset; /* every offset below is on disk */
    _Atomic int64_t lso;            /* last stable offset: published after end_offset, so a
                                       reader loading lso then end_offset sees lso <= end */

    pthread_mutex_t mu; /* writer lock: append, roll, retention, the flusher's snapshot */
    int32_t leader_epoch;
    bool deleted;        /* topic deleted: appends fail with -ENOENT */
    bool closed;         /* store closed: appends fail with -ESHUTDOWN */
    bool pristine;       /* opened clean (or new) and unchanged since: closing needs no sync */
    bool dir_dirty;      /* segment files created or removed since the directory was synced */
    uint64_t parent_gen; /* the log's directory was created here, as the data directory's
                            change number parent_gen: synced once st__store_sync_dir covers it
                            (0: nothing to sync) (mu) */
    _Atomic int64_t unflushed;   /* records appended since the last sync began */
    _Atomic bool sync_requested; /* st_log_request_sync() or the message count was reached */
    _Atomic bool seal_pending;   /* a sealed segment waits for its sync and digest */
    _Atomic int64_t last_sync_mono_ms;

    struct st_pstate ps;    /* producers (st_pstate.c), under mu */
    _Atomic bool snap_want; /* the flusher should write a producer-state snapshot */
    int64_t snap_newest;    /* offset of the newest snapshot known durable; -1 none (mu) */

    pthread_mutex_t fence_mu; /* the fenced file; replacing fence sets (st_fence.c) */
    _Atomic bool fence_dirty; /* the fenced file is behind the sets (a write failed, or
                                 recovery changed them): rewrite it */

    pthread_mutex_t sync_mu; /* one sync of this log at a time (flusher, close, delete) */
    int64_t synced_pos;      /* position of the active segment covered by the last sync */
    struct st_seg *synced_seg;

    /* log compaction (st_clean.c), under mu */
    bool cleaning;      /* a cleaning runs: retention leaves the segments alone meanwhile */
    int64_t clean_next; /* first dirty offset (every offset below was cleaned); -1 unknown */

    /* the log checkpoint (st_ckpt.c): the flusher's, under the store's ck_mu */
    int32_t ck_slot;        /* its slot; -1 none */
    bool ck_dormant;        /* left dormant at open by its slot: its activation (and a clean
                               close) recovers it as after a crash (set before any thread
                               sees the log) */
    bool ck_keyed;          /* ck_key says what the slot was written from */
    struct st_ckkey ck_key; /* the log as its slot describes it: rewritten when it moves */

    /* replication (st_replica.c, st_epoch.c) */
    _Atomic bool replicated; /* st_log_set_replicated: hw is the high watermark */
    _Atomic int64_t hw;      /* a replicated log's high watermark (<= end_offset); stored under
                                hw_mu (never above the end: truncation lowers the end and the
                                high watermark under it) */
    pthread_mutex_t hw_mu;
    int64_t hw_ckpt;         /* the value last written to ST_HW_NAME (flusher, sync_mu) */
    int64_t hw_ckpt_ms;      /* when (st__mono_ms): at most one write a second per log */
    struct st_epoch_ent *ep; /* leader-epoch cache, epochs and starts increasing (mu) */
    int32_t ep_n, ep_cap;    /* (mu) */
    bool ep_loaded;          /* ep read from its file or rebuilt (mu) */
    _Atomic bool ep_dirty;   /* ep differs from its file: written at the next sync */
};

/* ---- replication (st_replica.c, st_epoch.c) ----------------------------------------------------
 * <dir>/high-watermark: "<offset>\n" in decimal, the high watermark of a replicated log as of
 * a sync (written by the flusher after the data, as .tmp then rename; a missing or damaged
 * file reads as 0). <dir>/leader-epoch-checkpoint: Kafka's text format, "0\n<n>\n" then n
 * lines "<epoch> <start offset>\n"; written as .tmp, fdatasync, rename, fsync of the directory
 * (a missing or damaged file: the cache is rebuilt from the batch headers). */
#define ST_HW_NAME    "high-watermark"
#define ST_EPOCH_NAME "leader-epoch-checkpoint"
struct st_epoch_ent {
    int32_t epoch;
    int64_t start;
};
/* Under mu, the log open: loads (or rebuilds) the cache once. 0 or -errno. */
int st__epoch_load(struct st_log *log);
/* Under mu: adds (epoch, start) when epoch is above the latest (start never below the latest
 * entry's); true when added. */
bool st__epoch_add(struct st_log *log, int32_t epoch, int64_t start);
/* Under mu: drops entries starting at or above end; true when something went. */
bool st__epoch_cut(struct st_log *log, int64_t end);
/* Under mu: entries wholly below start go, the first kept one starts at start at the least. */
bool st__epoch_trim_start(struct st_log *log, int64_t start);
/* Under mu: writes the file now if it is behind and the directory exists (0 or -errno). */
int st__epoch_persist(struct st_log *log);
/* The flusher, after a sync (sync_mu held, not mu): the epoch file if it is behind, the
 * high-watermark file if it moved (at most once a second unless force: a clean close). */
void st__repl_after_sync(struct st_log *log, bool force);
/* Reads <dir>/high-watermark: the value, or 0. */
int64_t st__hw_load(struct st_log *log);
/* Frees the cache (st__log_free). */
void st__epoch_free(struct st_log *log);

/* The batch holding offset in segment s of published size `size` (st_log.c): its position,
 * size and base offset. */
int st__seg_find_batch(struct st_seg *s, int64_t size, int64_t offset, int64_t *pos, int64_t *bsize,
                       int64_t *base);
/* Truncation (st_recover.c): the log's files were cut (st_replica.c); builds its segment
 * list, producer state and .txnindex entries again from them as recovery does, and publishes
 * them (sync_mu and mu held, the log open). 0 or -errno. */
int st__log_reload(struct st_log *log);
/* A follower's producer state for one written batch h (bytes b, sz) of segment s (mu), as
 * recovery replays it: 0 or -errno. */
int st__ps_follow(struct st_log *log, struct st_seg *s, const struct kp_batch_hdr *h,
                  const uint8_t *b, size_t sz);

/* The DeleteRecords low watermark of a log (file format in st_segment.c): read when the log
 * is opened (a missing file is 0; while dormant its clean-shutdown record holds it), and kept
 * in log->floor_offset (st_store.c). */
#define ST_FLOOR_NAME "log-start-offset"
int64_t st__floor_load(struct st_log *log);

/* A dormant log of topic/partition with no files (st_recover.c). */
int st__log_new(struct st_store *store, const char *topic, int32_t partition,
                const struct st_log_config *cfg, struct st_log **out);
/*
 * At store open: reads the log's clean-shutdown record. lazy (the store was closed cleanly):
 * a valid record leaves the log dormant, answering offsets and stats from the record; else
 * (and without lazy) the log must be activated before the store opens: *recover is set (the
 * store's recovery threads do it, st_store.c), nothing else is done to it.
 */
int st__log_load(struct st_log *log, bool lazy, bool *recover);
/* The store's message function, one message at a time (any thread); nothing without one. */
void st__say(struct st_store *st, enum st_msg_level lv, const char *msg);
/* Opens the log for good (RECOVERY RULE in st_segment.c) if it is dormant: 0, or -errno (the
 * log stays dormant; the next use tries again). Any thread; takes sync_mu. */
int st__log_activate(struct st_log *log);
static inline bool st__log_open(const struct st_log *log)
{
    return atomic_load_explicit(&((struct st_log *)log)->state, memory_order_acquire) ==
           ST_LOG_OPEN;
}
/* Writes <dir>/clean-shutdown for the log as it is (st_flush.c, at a clean close). */
int st__log_write_clean(struct st_log *log);
/* The log's CLEAN-SHUTDOWN RECORD as it is now, into b[ST_CLEAN_SIZE] (an open log; takes mu):
 * 0, or -errno. */
int st__log_clean_encode(struct st_log *log, uint8_t *b);
/* A record from its fields, and back (valid false when it fails its checks) (st_recover.c). */
void st__clean_encode_rec(const struct st_clean *c, uint8_t *b);
void st__clean_decode(const uint8_t *b, struct st_clean *c);
/* Frees a log whose last reference was dropped (st_log.c). */
void st__log_free(struct st_log *log);
/* Publishes a new segment list and drops the old one after a grace period (under mu). */
void st__log_set_segs(struct st_log *log, struct st_segvec *nv);
struct st_segvec *st__segvec_new(int n);
/* Roll: seals the active segment and starts one at the next offset (under mu). */
int st__log_roll(struct st_log *log, int64_t now_ms);
/* Index capacity (entries) of an active segment, and its expected digest chunks. */
uint32_t st__log_idx_cap(const struct st_log_config *cfg);
uint32_t st__log_digest_chunks(const struct st_log_config *cfg);
/* A segment's time for retention: its largest timestamp, else its file's mtime (ms). */
int64_t st__seg_time(struct st_seg *s);
/* Retention and roll-by-time for one log. */
void st__log_maintain(struct st_log *log, int64_t now_ms);

/* Log compaction: finishes or undoes a swap a crash interrupted (SWAP RULE in st_clean.c),
 * before the log's directory is listed. Recovery, single-threaded. */
int st__clean_recover(struct st_log *log);
/* Stops the background cleaners (st_clean_run.c; st_store_close, before logs close). */
void st__cleaner_stop(struct st_store *store);
/* Wakes the sleeping background cleaners: a compacted log has newly digested segments (from
 * the flusher, without its fl_mu held). */
void st__cleaner_kick(struct st_store *store);
/* A running log's compaction keys change at run time (AlterConfigs: st_topic_config_set);
 * the writer holds the log's mu and stores them with st__clean_cfg_store, the cleaner reads
 * them without the lock through ST_CLEAN_CFG / st__clean_ratio (each field on its own). */
#define ST_CLEAN_CFG(log, field) __atomic_load_n(&(log)->cfg.field, __ATOMIC_RELAXED)
static inline double st__clean_ratio(const struct st_log *log)
{
    double d;
    __atomic_load(&log->cfg.min_cleanable_ratio, &d, __ATOMIC_RELAXED);
    return d;
}
static inline void st__clean_cfg_store(struct st_log *log, const struct st_log_config *c)
{
    __atomic_store_n(&log->cfg.cleanup_policy, c->cleanup_policy, __ATOMIC_RELAXED);
    __atomic_store(&log->cfg.min_cleanable_ratio, (double *)&c->min_cleanable_ratio,
                   __ATOMIC_RELAXED);
    __atomic_store_n(&log->cfg.min_compaction_lag_ms, c->min_compaction_lag_ms, __ATOMIC_RELAXED);
    __atomic_store_n(&log->cfg.max_compaction_lag_ms, c->max_compaction_lag_ms, __ATOMIC_RELAXED);
    __atomic_store_n(&log->cfg.delete_retention_ms, c->delete_retention_ms, __ATOMIC_RELAXED);
}

/* Syncs the log (st_flush.c): sealed segments, the active one, the recovery point. Returns
 * -errno, or how many sealed segments it digested. */
int st__log_sync(struct st_log *log);
/* At clean close: sync, trim indexes, write the clean-shutdown marker. */
int st__log_close_clean(struct st_log *log);
/* Digests (st_digest.c): writes <base>.digest for a sealed, synced segment. */
int st__digest_write(struct st_seg *s);
/* Loads and checks the sidecar of a segment of `size` bytes: the whole file (digest i at
 * ST_DIGEST_HDR + 8i) malloc'd, *nchunks set; NULL when missing or damaged. */
uint8_t *st__digest_load(struct st_seg *s, int64_t size, uint64_t *nchunks);

/* ---- store ----------------------------------------------------------------------------------- */

struct st_topic {
    char *name;
    int32_t partitions;
    struct st_log_config cfg;
    uint32_t overrides;          /* bit k: enum st_topic_key k is set for the topic */
    uint8_t id[ST_TOPIC_ID_LEN]; /* topic id (the metadata file's id=) */
    int64_t zxid;         /* created from a cluster's assignment: the ZooKeeper zxid that created it
                             (cluster.zxid=); 0: this broker's own topic */
    struct st_log **logs; /* [partitions], one reference each */
};

struct st_scrub_cursor {
    char topic[256];
    int32_t partition;
    int64_t seg_base; /* segment being verified (-1: the log's first); resume there */
    int64_t pos;      /* where in it: a chunk's start, or (walk) a batch boundary */
    int64_t next;     /* walk: the offset expected at pos */
    int32_t floor;    /* walk: the epoch floor there */
    bool walk;        /* pos, next and floor were left by a walk of that segment */
};

struct st_store {
    char *dir;
    struct st_log_config defaults;
    int64_t cache_keep;   /* replica_cache_keep_bytes as opened (st_log.c drop_behind reads it
                             without a lock: st_store_set_defaults rewrites defaults) */
    struct st_fcache *fc; /* open segment files (st_fcache.c) */

    pthread_rwlock_t mu; /* topics: written by create/delete/open/close, read by lookups */
    struct st_topic **topics;
    int ntopics, cap_topics;
    char **pending; /* names of topics being created (reserved, not yet visible) */
    int npending, cap_pending;
    struct st_topic **ht;   /* open-addressing index of topics by name; NULL: search topics[] */
    uint32_t ht_cap;        /* power of two, > 2 * ntopics */
    struct st_topic **idht; /* the same by topic id (ht_cap slots); NULL: search topics[] */

    st_notify_fn notify;
    void *notify_arg;
    st_sync_time_fn sync_time; /* st_store_set_sync_observer (under fl_mu) */
    void *sync_time_arg;

    /* flusher */
    pthread_t flusher;
    pthread_mutex_t fl_mu;
    pthread_cond_t fl_cond;
    bool fl_stop;
    bool fl_kick;
    bool fl_started;

    pthread_mutex_t scrub_mu;
    struct st_scrub_cursor scrub;
    _Atomic uint64_t fence_gen; /* moves whenever a range is fenced (st_store_fence_gen) */

    _Atomic int64_t ps_bytes; /* producer state of every log (producer.state.max.memory.bytes) */
    pthread_mutex_t dir_mu;   /* one fsync of the data directory at a time */
    _Atomic uint64_t dir_gen; /* entries made in the data directory (partitions) */
    _Atomic uint64_t dir_synced_gen; /* of them, covered by an fsync that ended */
    uint64_t ps_seed;                /* seed of the producer tables' hash */

    /* while st_store_open runs: where recovery reports, and its totals (under open_mu: the
     * logs to recover, `rec_logs` (a reference each), are opened by recovery_threads threads) */
    bool opening;
    st_msg_fn msg_fn;
    void *msg_arg;
    pthread_mutex_t msg_mu; /* one message at a time (st__say) */
    pthread_mutex_t open_mu;
    struct st_recovery_report recovery;
    struct st_log **rec_logs;
    int64_t nrec, cap_rec;

    struct st_cleaner *cleaner; /* background cleaners (st_clean_run.c); NULL none */

    /* the log checkpoint (st_ckpt.c), under ck_mu once the store is open */
    pthread_mutex_t ck_mu;
    int ck_fd;       /* -1 none */
    uint8_t *ck_map; /* the file, mapped shared: header and ck_cap slots */
    size_t ck_len;
    uint32_t ck_cap;   /* slots */
    uint8_t *ck_owned; /* per slot: a log has it */
    uint32_t ck_hint;  /* where the next free slot is looked for */
    int32_t *ck_tab;   /* at open: good slots by name (open addressing, -1 empty) */
    uint32_t ck_tab_cap;
    bool ck_use;        /* at open: the file is this boot's, its slots may be used */
    int64_t ck_damaged; /* at open: slots that failed their CRC */
    int64_t ck_last_ms; /* the flusher's last pass (st__mono_ms) */
    char ck_boot[36];   /* this boot's id */
};

/* ---- the log checkpoint (st_ckpt.c; LOG CHECKPOINT there) ---------------------------------- */
#define ST_CK_NAME "log-checkpoint"
enum {
    ST_CK_HDR = 4096,
    ST_CK_SLOT = 256,
    ST_CK_NAME_MAX = 88,
    ST_CK_INTERVAL_MS = 1000, /* at most one pass over the logs per interval */
    ST_CK_AGE_MS = 100,       /* a slot only for files unchanged for this long */
    ST_CK_TAIL_MAX = 1 << 20, /* bytes past the recovery point a slot may leave unscanned */
};
/* At store open, before logs load (one thread): maps the file; clean (the store's own marker
 * was there): start afresh; else its slots may be used by st__ck_dormant. 0 or -errno. */
int st__ck_open(struct st_store *st, bool clean);
/* At load: true when the log's slot lets it stay dormant (log->rec and ck_dormant set). */
bool st__ck_dormant(struct st_log *log);
/* Every log loaded: frees the slots not kept, stamps this boot. */
void st__ck_opened(struct st_store *st);
/* The flusher, after a round over logs[0..n): writes the slots of quiet logs that moved. */
void st__ck_update(struct st_store *st, struct st_log **logs, int n);
void st__ck_close(struct st_store *st);

void st__store_kick_flusher(struct st_store *store);
/* Records a new entry in the data directory; its change number. */
uint64_t st__store_dir_changed(struct st_store *store);
/* fsync of the data directory unless one that began after change gen already ended: one
 * fsync covers every partition directory made before it, however many logs ask. */
int st__store_sync_dir(struct st_store *store, uint64_t gen);
int st__flusher_start(struct st_store *store);
void st__flusher_stop(struct st_store *store);

int64_t st__mono_ms(void);

#endif
