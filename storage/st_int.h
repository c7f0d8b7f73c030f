/*
 * st_int — storage internals shared between the storage files (never included outside
 * storage/). The on-disk format these structures mirror is written out in st_segment.c.
 *
 * Who touches what
 * - struct st_seg: immutable identity (base, fds, paths) set at open; `size`, the index
 *   counts and `bad_lo/bad_hi` are published with release stores and read with acquire
 *   loads by lock-free readers; everything in `w` belongs to the log's writer (log->mu).
 * - struct st_log: `segs` is an immutable snapshot replaced under log->mu and freed only
 *   after a grace period (st__grace_*): a reader inside st__grace_enter/exit may use the
 *   segment pointers it loaded from the snapshot until it exits, and must take a segment
 *   reference to keep one longer.
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

/* ---- constants (the on-disk format: st_segment.c) ---------------------------------------- */

enum {
    ST_NAME_DIGITS = 20,       /* 00000000000000000000.log */
    ST_IDX_ENTRY = 8,          /* .index: be32 relative offset, be32 position */
    ST_TIDX_ENTRY = 12,        /* .timeindex: be64 timestamp, be32 relative offset */
    ST_DIGEST_CHUNK = 1 << 20, /* .digest: XXH3-64 per 1 MiB of .log */
    ST_DIGEST_HDR = 32,        /* .digest header */
    ST_RP_SIZE = 68,           /* recovery-point file */
    ST_SCAN_BUF = 4 << 20,     /* recovery scan read size */
    ST_MAX_PATH = 4096,
};

#define ST_DIGEST_MAGIC "SLDG"
#define ST_RP_MAGIC     "SLRP"
#define ST_CLEAN_NAME   "clean-shutdown"
#define ST_RP_NAME      "recovery-point"
#define ST_META_SUFFIX  ".topic"

/* ---- index files ----------------------------------------------------------------------------- */

/* One .index or .timeindex: a shared mapping of a file pre-sized to `cap` entries. */
struct st_idx {
    char *path;
    uint8_t *map;       /* cap * esize bytes mapped (MAP_SHARED); NULL when cap == 0 */
    uint32_t cap;       /* entries the mapping holds */
    uint32_t esize;     /* ST_IDX_ENTRY or ST_TIDX_ENTRY */
    _Atomic uint32_t n; /* published entries (readers: acquire); n <= w <= cap */
    uint32_t w;         /* entries written by the writer, not yet necessarily published */
    uint64_t hash;      /* chain over entries [0, n): h = XXH3_64bits_withSeed(entry, h) */
};

int st__idx_open(struct st_idx *ix, const char *path, uint32_t esize, bool create);
void st__idx_close(struct st_idx *ix);
/* Grows the file and the mapping to cap entries (never shrinks). */
int st__idx_reserve(struct st_idx *ix, uint32_t cap);
/* Truncates the file to its n entries (the mapping stays; entries >= n are never read). */
int st__idx_trim(struct st_idx *ix);
/* fsync of the file (its pages and size). */
int st__idx_sync(struct st_idx *ix);
/* Publishes entries [n, w): hash them, release-store n = w. */
void st__idx_publish(struct st_idx *ix);
/* Drops everything from entry k on (writer state and hash; before any publication). */
void st__idx_reset(struct st_idx *ix, uint32_t k);
uint64_t st__idx_digest(const struct st_idx *ix);
/* XXH3-64 over the first k entries as stored in the file. */
uint64_t st__idx_hash_prefix(const struct st_idx *ix, uint32_t k);

/* Offset index entries. */
void st__oidx_put(struct st_idx *ix, uint32_t i, int32_t rel, int32_t pos);
void st__oidx_get(const struct st_idx *ix, uint32_t i, int32_t *rel, int32_t *pos);
/* Largest entry with rel <= target among the first n; -1 when none. */
int64_t st__oidx_find_rel(const struct st_idx *ix, uint32_t n, int32_t target);
/* Largest entry with pos <= target among the first n; -1 when none. */
int64_t st__oidx_find_pos(const struct st_idx *ix, uint32_t n, int64_t target);
/* Number of leading entries that are well formed (strictly increasing, pos in (0, size)). */
uint32_t st__oidx_valid_prefix(const struct st_idx *ix, uint32_t n, int64_t size);

/* Time index entries. */
void st__tidx_put(struct st_idx *ix, uint32_t i, int64_t ts, int32_t rel);
void st__tidx_get(const struct st_idx *ix, uint32_t i, int64_t *ts, int32_t *rel);
/* Last entry with ts < target among the first n; -1 when none. */
int64_t st__tidx_find_below(const struct st_idx *ix, uint32_t n, int64_t target);
uint32_t st__tidx_valid_prefix(const struct st_idx *ix, uint32_t n);

/* ---- segments -------------------------------------------------------------------------------- */

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
    int64_t base;           /* base offset, from the file name */
    int fd;                 /* .log, O_RDWR */
    char *path;             /* .log path; the index/digest paths swap the suffix */
    struct st_idx idx;      /* .index */
    struct st_idx tidx;     /* .timeindex */
    _Atomic int64_t size;   /* published bytes; readers bound everything by it */
    _Atomic int64_t max_ts; /* published largest maxTimestamp, -1 if none */
    _Atomic int64_t bad_lo; /* scrub found [bad_lo, bad_hi) corrupt; INT64_MAX = none */
    _Atomic int64_t bad_hi;
    _Atomic bool sealed;     /* rolled: no more appends */
    _Atomic bool synced;     /* sealed and its .log and index files synced */
    _Atomic bool digested;   /* sealed, synced, and its .digest sidecar written */
    int32_t interval;        /* log.index.interval.bytes in force */
    int64_t first_append_ms; /* roll.ms clock: wall time of the first batch, -1 if empty */
    struct st_wstate w;      /* writer state (log->mu) */
    struct st_rundigest *rd; /* chunk digests computed as bytes are appended; NULL when the
                                segment was not written from its start by this process */
    bool prepared;           /* index mappings (and rd) set up; done by the first append
                                into a new segment, so an empty log costs no mappings */
    uint32_t idx_want;       /* index capacity to set up then, in entries */
    uint32_t rd_chunks;      /* expected digest chunks (log.segment.bytes / 1 MiB + 2) */
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
 * Opens (create: creates empty files for) segment base in dir. A created segment is not
 * prepared: st__seg_prepare() maps its indexes (idx_cap entries) at its first append.
 */
int st__seg_open(const char *dir, int64_t base, int32_t interval, uint32_t idx_cap, bool create,
                 struct st_seg **out);
/* Writer, before the first append into an empty segment: index mappings, running digest. */
int st__seg_prepare(struct st_seg *s);
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
/* Entries one append of n batches may add at most (roll when they do not fit). */
static inline bool st__seg_index_room(const struct st_seg *s, int n)
{
    return s->idx.w + (uint32_t)n + 1 <= s->idx.cap && s->tidx.w + (uint32_t)n + 1 <= s->tidx.cap;
}
/* Seals: final time-index entry, trims the index files (writer, under log->mu). */
int st__seg_seal(struct st_seg *s);
/* pread exactly n bytes at pos; -EIO on a short read. */
int st__pread_full(int fd, void *buf, size_t n, int64_t pos);
/* pwrite exactly n bytes at pos (retrying short writes); -errno, -EIO when nothing moves. */
int st__pwrite_full(int fd, const void *buf, size_t n, int64_t pos);

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

struct st_log {
    _Atomic int refs;
    struct st_store *store;
    char *topic;
    int32_t partition;
    char *dir; /* <data-dir>/<topic>-<partition> */
    struct st_log_config cfg;

    struct st_grace grace;
    struct st_segvec *_Atomic segs; /* replaced under mu, freed after a grace period */
    _Atomic int64_t end_offset;     /* published end (high watermark) */
    _Atomic int64_t start_offset;   /* base of segs->s[0] */
    _Atomic int64_t durable_offset; /* every offset below is on disk */

    pthread_mutex_t mu; /* writer lock: append, roll, retention, the flusher's snapshot */
    int32_t leader_epoch;
    bool deleted;   /* topic deleted: appends fail with -ENOENT */
    bool closed;    /* store closed: appends fail with -ESHUTDOWN */
    bool pristine;  /* opened clean (or new) and unchanged since: closing needs no sync */
    bool dir_dirty; /* segment files created or removed since the directory was synced */
    _Atomic int64_t unflushed;   /* records appended since the last sync began */
    _Atomic bool sync_requested; /* st_log_request_sync() or the message count was reached */
    _Atomic bool seal_pending;   /* a sealed segment waits for its sync and digest */
    _Atomic int64_t last_sync_mono_ms;
    int rp_fd; /* recovery-point file, -1 until first written */

    pthread_mutex_t sync_mu; /* one sync of this log at a time (flusher, close, delete) */
    int64_t synced_pos;      /* position of the active segment covered by the last sync */
    struct st_seg *synced_seg;
};

/* Opens and recovers the log in dir (st_recover.c). */
int st__log_open(struct st_store *store, const char *topic, int32_t partition,
                 const struct st_log_config *cfg, struct st_log **out);
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
/* Retention and roll-by-time for one log. */
void st__log_maintain(struct st_log *log, int64_t now_ms);

/* Syncs the log (st_flush.c): sealed segments, the active one, the recovery point. */
int st__log_sync(struct st_log *log);
/* At clean close: sync, trim indexes, write the clean-shutdown marker. */
int st__log_close_clean(struct st_log *log);
/* Digests (st_digest.c): writes <base>.digest for a sealed, synced segment. */
int st__digest_write(struct st_seg *s);

/* ---- store ----------------------------------------------------------------------------------- */

struct st_topic {
    char *name;
    int32_t partitions;
    struct st_log_config cfg;
    struct st_log **logs; /* [partitions], one reference each */
};

struct st_scrub_cursor {
    char topic[256];
    int32_t partition;
    int64_t seg_base; /* segment being verified, -1 when between segments */
    int64_t chunk;    /* next chunk to verify in it */
};

struct st_store {
    char *dir;
    struct st_log_config defaults;

    pthread_rwlock_t mu; /* topics: written by create/delete/open/close, read by lookups */
    struct st_topic **topics;
    int ntopics, cap_topics;
    char **pending; /* names of topics being created (reserved, not yet visible) */
    int npending, cap_pending;
    struct st_topic **ht; /* open-addressing index of topics by name; NULL: search topics[] */
    uint32_t ht_cap;      /* power of two, > 2 * ntopics */

    st_notify_fn notify;
    void *notify_arg;

    /* flusher */
    pthread_t flusher;
    pthread_mutex_t fl_mu;
    pthread_cond_t fl_cond;
    bool fl_stop;
    bool fl_kick;
    bool fl_started;

    pthread_mutex_t scrub_mu;
    struct st_scrub_cursor scrub;
};

void st__store_kick_flusher(struct st_store *store);
int st__flusher_start(struct st_store *store);
void st__flusher_stop(struct st_store *store);

int64_t st__mono_ms(void);
int st__fsync_dir(const char *dir);

#endif
