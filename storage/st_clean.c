/*
 * st_clean — one cleaning of one log (Kafka's Cleaner.clean): the key map over the dirty part,
 * the rewrite of the sealed segments below the cleanable end, and the swap of the new segments
 * for the old. What is kept is in st_clean.h; the segment format is st_segment.c's, unchanged:
 * a cleaned segment is an ordinary segment (fetches still leave by splice/sendfile).
 *
 * WHAT IS CLEANABLE: sealed segments whose digest is written (the flusher is done with them),
 *   without fenced ranges, below min(active segment base, last stable offset), and below the
 *   first segment whose largest timestamp is within min.compaction.lag.ms of now. The dirty
 *   part starts at the log's first dirty offset (`clean_next`, kept in the file
 *   cleaner-offset: 4 magic "SLCO", 8 offset, 4 CRC-32C of the 12 before; a hint only, written
 *   tmp + rename without fsync: a lost one makes the next cleaning clean everything again). A
 *   log is due when dirty bytes / cleanable bytes >= min.cleanable.dirty.ratio, or its first
 *   dirty segment is older than max.compaction.lag.ms.
 *
 * A PASS builds the map over the dirty part until it is full (it then ends at the batch that
 *   did not fit, the map end M), then rewrites every cleanable segment with base below M, in
 *   groups of consecutive segments of at most segment.bytes together (and 2^31-1 offsets), each
 *   group into one segment named by the group's first base. A record at offset o is kept when
 *   o >= M, or o >= map[key] (absent: -1) and it is not a tombstone whose time has come: a
 *   null value in a segment that lay below the first dirty offset before this pass (it was
 *   cleaned once already) and whose largest timestamp is older than delete.retention.ms.
 *   Passes repeat until M reaches the cleanable end. A group whose rewrite removes nothing (or
 *   does not come out smaller) is not swapped.
 *
 * COMPRESSED BATCHES (Kafka's cleaner does the same): the map pass and the rewrite decompress a
 *   compressed batch's records (kp_codec) into the cleaner's buffer, at most INFLATE_RATIO
 *   times the batch's compressed size and never past INFLATE_MAX (a decompression bomb stops
 *   there), and check them (count, offset deltas, nothing after the last). The rules above
 *   apply record by record; the kept records are moved down in place in that buffer and
 *   recompressed, at the codec's default level, into one batch with the same codec, baseOffset,
 *   lastOffsetDelta, timestamps, producer fields and attributes (new length, count, CRC); none
 *   kept: an empty batch (or a run, as above) without the codec bits. A batch that cannot be
 *   read so is kept whole and counted (compressed_unreadable) and puts no key in the map, which
 *   is safe: it shadows nothing and loses nothing. Out of memory fails the cleaning instead (the
 *   map and the rewrite must read the same batches).
 *
 * SWAP RULE (a group of old segments O1..On, base B = O1's, replaced by one new segment N)
 *   1. N is written as <dir>/cleaner/B.log, .index, .timeindex, .txnindex (the old
 *      segments' entries, back to back, when they have any) and .digest, each fsynced; then
 *      the cleaner directory is fsynced.
 *   2. Under the log's sync_mu (no sync, no deletion meanwhile) the old segments are pinned
 *      with their index mappings and .txnindex descriptors, so that a reader holding them reads
 *      the old files whatever is renamed. The log's clean-shutdown record is unlinked (it no
 *      longer describes the files once the swap starts).
 *   3. COMMIT: the swap record <dir>/clean-swap is written (clean-swap.tmp and its fsync before
 *      sync_mu is taken; the rename and the directory fsync under it):
 *          0  4  magic "SLCW"        4  4  version 1
 *          8  8  B                  16  8  N's .log size
 *         24  4  1 when N has a .txnindex, else 0
 *         28  4  n (1..ST_CLEAN_GROUP_MAX)
 *         32 8n  the old bases, ascending (the first is B)
 *      32+8n  4  CRC-32C of the bytes before
 *   4. FINISH: rename cleaner/B.{index,timeindex,txnindex,digest,log} over B.* (the .log last);
 *      without a new .txnindex, unlink B.txnindex; unlink every file of O2..On.
 *   5. The new segment list is published under the writer lock (its grace period passes: no
 *      reader still looks at the old list), sync_mu is released, the old segments are
 *      unpinned (readers holding ranges keep their own pins and fds); then the directory is
 *      fsynced, clean-swap unlinked and the directory fsynced again, so that a stale record
 *      never meets the files of a later cleaning that did not commit. Only the commit's
 *      directory fsync is made under sync_mu (a durable produce on the log may wait for it).
 *   RECOVERY (st__clean_recover, before the directory is listed): a valid clean-swap means
 *   the commit happened: step 4 and the end of step 5 are done again (every action in it is
 * idempotent: a missing cleaner/ file was renamed already, a missing old file was unlinked
 * already). No clean-swap (or one that fails its checks, which a rename of a synced file cannot
 * produce): the cleaning never committed, the old segments are whole, and the cleaner directory is
 *   removed. Either way the log reads back as before the cleaning or as after it, never a mix.
 *
 * Transactions: control batches are kept always (their .txnindex entries stay true); data of
 * an aborted transaction (a .txnindex entry of its producer with first <= offset <= last) is
 * removed and never enters the map; nothing cleanable lies in an open transaction (the range
 * ends at the last stable offset). Left out: removing markers once their data is gone, and
 * KIP-534's delete horizon in the batch (tombstones are timed by their segment instead).
 */
#include "st_clean_int.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kp_batch.h"
#include "kp_buf.h"
#include "kp_codec.h"
#include "kp_crc32c.h"

#define CLEAN_DIR  "cleaner"
#define SWAP_NAME  "clean-swap"
#define SWAP_MAGIC "SLCW"
#define CKPT_NAME  "cleaner-offset"
#define CKPT_MAGIC "SLCO"

enum {
    ST_CLEAN_GROUP_MAX = 256, /* old segments one swap replaces */
    SWAP_HDR = 32,
    RBUF = 1 << 20,
    WBUF = 1 << 20,
    MAX_PASSES = 64,
    ABORTED_MAX = 1 << 20, /* aborted transactions one cleaning considers (else none removed) */
    /* COMPRESSED BATCHES: the records of one may decompress to at most INFLATE_RATIO times the
     * batch's compressed size and never past INFLATE_MAX bytes; past that the batch is kept
     * whole, like one that does not decompress. */
    INFLATE_RATIO = 256,
    INFLATE_MAX = 32 << 20,
};

int st__clean_crash_at;

/* SWAP RULE crash points: the crash loop kills the process at each. */
static void crash_point(int step)
{
    if (st__clean_crash_at == step)
        kill(getpid(), SIGKILL);
}

static const char *const KINDS[] = {".index", ".timeindex", ".txnindex", ".digest", ".log"};
enum { NKINDS = 5, K_TXN = 2 };

struct st_cleanwork {
    struct st_cmap *map;
    uint8_t *rbuf;
    size_t rcap;
    uint8_t *wbuf;
    size_t wlen;
    uint8_t *bbuf; /* a rebuilt batch */
    size_t bcap;
    struct kp_codec_ctx z; /* the codecs' contexts */
    uint8_t *dbuf;         /* a compressed batch's records, decompressed (<= INFLATE_MAX) */
    size_t dcap;
    /* compressed batches kept whole in this cleaning: how many, the first's offset, codec and
     * error, logged once at its end */
    int64_t unread_n, unread_off;
    int unread_codec, unread_err;
    int64_t io_bps;
    int64_t io_t0, io_bytes;
    const _Atomic bool *stop; /* set: give up (-ECANCELED) before the next batch */
};

void st__cleanwork_set_stop(struct st_cleanwork *w, const _Atomic bool *stop) { w->stop = stop; }

static bool stopping(const struct st_cleanwork *w)
{
    return w->stop && atomic_load_explicit(w->stop, memory_order_relaxed);
}

int st__cleanwork_new(size_t map_bytes, int64_t io_bps, struct st_cleanwork **out)
{
    struct st_cleanwork *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->rcap = RBUF;
    w->bcap = RBUF;
    w->io_bps = io_bps;
    int err = st__cmap_new(map_bytes, &w->map);
    if (err == 0 &&
        (!(w->rbuf = malloc(w->rcap)) || !(w->wbuf = malloc(WBUF)) || !(w->bbuf = malloc(w->bcap))))
        err = -ENOMEM;
    if (err < 0) {
        st__cleanwork_free(w);
        return err;
    }
    *out = w;
    return 0;
}

void st__cleanwork_free(struct st_cleanwork *w)
{
    if (!w)
        return;
    st__cmap_free(w->map);
    free(w->rbuf);
    free(w->wbuf);
    free(w->bbuf);
    free(w->dbuf);
    kp_codec_ctx_free(&w->z);
    free(w);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* log.cleaner.io.max.bytes.per.second: sleeps until n more bytes are within the rate. */
static void throttle(struct st_cleanwork *w, size_t n)
{
    if (w->io_bps <= 0)
        return;
    int64_t now = mono_ns();
    if (w->io_t0 == 0 || now - w->io_t0 > 1000000000LL) {
        w->io_t0 = now;
        w->io_bytes = 0;
    }
    w->io_bytes += (int64_t)n;
    int64_t due = w->io_t0 + (int64_t)((double)w->io_bytes * 1e9 / (double)w->io_bps);
    if (due > now) {
        struct timespec ts = {(time_t)((due - now) / 1000000000), (long)((due - now) % 1000000000)};
        nanosleep(&ts, NULL);
    }
}

/* ---- reading a pinned segment through a window ------------------------------------------- */

struct rdr {
    struct st_seg *s;
    int64_t size;
    int64_t winpos;
    size_t winlen;
};

static const uint8_t *rd_at(struct st_cleanwork *w, struct rdr *r, int64_t pos, size_t len,
                            int *err)
{
    if (r->winlen > 0 && pos >= r->winpos && pos + (int64_t)len <= r->winpos + (int64_t)r->winlen)
        return w->rbuf + (pos - r->winpos);
    if (pos + (int64_t)len > r->size) {
        *err = -EBADMSG;
        return NULL;
    }
    if (len > w->rcap) {
        uint8_t *nb = realloc(w->rbuf, len);
        if (!nb) {
            *err = -ENOMEM;
            return NULL;
        }
        w->rbuf = nb;
        w->rcap = len;
    }
    size_t n = (size_t)(r->size - pos < (int64_t)w->rcap ? r->size - pos : (int64_t)w->rcap);
    int e = st__seg_read(r->s, w->rbuf, n, pos);
    if (e < 0) {
        *err = e;
        r->winlen = 0;
        return NULL;
    }
    throttle(w, n);
    r->winpos = pos;
    r->winlen = n;
    return w->rbuf;
}

/*
 * The batch at *pos of r, expected at offset *next: its bytes (valid until the next rd_at), its
 * header; *pos and *next advanced. NULL at the end (*err 0) or on damage (*err < 0): a
 * cleaning never writes what it cannot read whole and CRC-checked.
 */
static const uint8_t *next_batch(struct st_cleanwork *w, struct rdr *r, int64_t *pos, int64_t *next,
                                 struct kp_batch_hdr *h, int *err)
{
    *err = 0;
    if (*pos >= r->size)
        return NULL;
    const uint8_t *p = rd_at(w, r, *pos, KP_BATCH_HEADER_LEN, err);
    if (!p)
        return NULL;
    if (kp_batch_parse_hdr(p, KP_BATCH_HEADER_LEN, h) < 0 || h->base_offset != *next ||
        h->last_offset_delta < 0) {
        *err = -EBADMSG;
        return NULL;
    }
    size_t bs = kp_batch_size(h);
    if (!(p = rd_at(w, r, *pos, bs, err)))
        return NULL;
    if (kp_crc32c(0, p + KP_BATCH_OFF_ATTRIBUTES, bs - KP_BATCH_OFF_ATTRIBUTES) != h->crc) {
        *err = -EBADMSG;
        return NULL;
    }
    *pos += (int64_t)bs;
    *next = h->base_offset + h->last_offset_delta + 1;
    return p;
}

/* ---- compressed batches -------------------------------------------------------------------- */

static int codec_of(const struct kp_batch_hdr *h)
{
    return h->attributes & KP_BATCH_ATTR_CODEC_MASK;
}

/*
 * The records of the compressed batch p (header h, record_count > 0) decompressed into w->dbuf
 * (COMPRESSED BATCHES): their length, after checking that they are h->record_count well-formed
 * records, offset deltas rising within [0, lastOffsetDelta], filling the output exactly. -ENOMEM;
 * any other -errno: the batch cannot be read (corrupt, unknown codec, past the bound) and is
 * kept whole by the rewrite and left out of the map.
 */
static long inflate_records(struct st_cleanwork *w, const uint8_t *p, const struct kp_batch_hdr *h)
{
    size_t zlen = kp_batch_size(h) - KP_BATCH_HEADER_LEN;
    size_t max = zlen < INFLATE_MAX / INFLATE_RATIO ? zlen * INFLATE_RATIO : INFLATE_MAX;
    long n = kp_codec_decompress(&w->z, codec_of(h), p + KP_BATCH_HEADER_LEN, zlen, &w->dbuf,
                                 &w->dcap, max);
    if (n < 0)
        return n;
    struct kp_record_iter it;
    struct kp_record rec;
    kp_record_iter_init_records(&it, w->dbuf, (size_t)n, h->record_count);
    int32_t prev = -1;
    int rr;
    while ((rr = kp_record_next(&it, &rec)) == 1) {
        if (rec.offset_delta <= prev || rec.offset_delta > h->last_offset_delta)
            return -EBADMSG;
        prev = rec.offset_delta;
    }
    if (rr < 0 || kp_rd_left(&it.rd) != 0)
        return -EBADMSG;
    return n;
}

/*
 * Starts *it over the records of batch p: in place, or decompressed into w->dbuf. 1 ready;
 * -ENOMEM; another -errno: the batch is compressed and cannot be read (inflate_records).
 */
static int records_begin(struct st_cleanwork *w, const uint8_t *p, const struct kp_batch_hdr *h,
                         struct kp_record_iter *it)
{
    if (codec_of(h) == KP_CODEC_NONE) {
        kp_record_iter_init(it, p, h);
        return 1;
    }
    long n = inflate_records(w, p, h);
    if (n < 0)
        return (int)n;
    kp_record_iter_init_records(it, w->dbuf, (size_t)n, h->record_count);
    return 1;
}

static int bbuf_room(struct st_cleanwork *w, size_t need)
{
    if (need <= w->bcap)
        return 0;
    uint8_t *nb = realloc(w->bbuf, need);
    if (!nb)
        return -ENOMEM;
    w->bbuf = nb;
    w->bcap = need;
    return 0;
}

/* ---- what a cleaning knows about the log ------------------------------------------------- */

struct plast {
    int64_t pid, last; /* a producer's last batch's last offset */
};

struct job {
    struct st_log *log;
    struct st_seg **segs; /* the cleanable segments, referenced; segs[k] the first not */
    int k;
    int64_t clean_end;   /* base of the first segment not cleanable */
    int64_t first_dirty; /* as the pass began */
    int64_t map_end;     /* M */
    int64_t now_ms;
    struct plast *plast; /* sorted by pid */
    uint32_t nplast;
    struct st_abort *ab; /* sorted by pid, first */
    uint32_t nab;
    bool ab_incomplete; /* too many: nothing counts as aborted */
};

static int cmp_plast(const void *a, const void *b)
{
    const struct plast *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

static int cmp_abort(const void *a, const void *b)
{
    const struct st_abort *x = a, *y = b;
    if (x->pid != y->pid)
        return (x->pid > y->pid) - (x->pid < y->pid);
    return (x->first > y->first) - (x->first < y->first);
}

static bool is_aborted(const struct job *j, const struct kp_batch_hdr *h)
{
    if (!(h->attributes & KP_BATCH_ATTR_TRANSACTIONAL) || (h->attributes & KP_BATCH_ATTR_CONTROL) ||
        h->producer_id < 0 || j->ab_incomplete)
        return false;
    /* the last entry of this producer with first <= base */
    uint32_t lo = 0, hi = j->nab;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        const struct st_abort *a = &j->ab[mid];
        if (a->pid < h->producer_id || (a->pid == h->producer_id && a->first <= h->base_offset))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return false;
    const struct st_abort *a = &j->ab[lo - 1];
    return a->pid == h->producer_id && a->first <= h->base_offset && h->base_offset <= a->last;
}

/* Too many aborted transactions to hold: transactional data is then neither removed nor
 * allowed to shadow anything (it might be aborted). */
static bool txn_unknown(const struct job *j, const struct kp_batch_hdr *h)
{
    return j->ab_incomplete && (h->attributes & KP_BATCH_ATTR_TRANSACTIONAL) &&
           !(h->attributes & KP_BATCH_ATTR_CONTROL);
}

static bool is_producer_last(const struct job *j, const struct kp_batch_hdr *h)
{
    if (h->producer_id < 0 || j->nplast == 0)
        return false;
    struct plast key = {.pid = h->producer_id};
    const struct plast *p = bsearch(&key, j->plast, j->nplast, sizeof(key), cmp_plast);
    return p && p->last == h->base_offset + h->last_offset_delta;
}

static void job_free(struct job *j)
{
    for (int i = 0; j->segs && i <= j->k; i++)
        st__seg_put(j->segs[i]);
    free(j->segs);
    free(j->plast);
    free(j->ab);
    memset(j, 0, sizeof(*j));
}

/* The aborted transactions of every segment of v (their .txnindex entries). */
static int load_aborted(struct job *j, struct st_seg **v, int nv)
{
    uint32_t cap = 0;
    for (int i = 0; i < nv; i++) {
        struct st_seg *s = v[i];
        uint32_t total = atomic_load_explicit(&s->txn_n, memory_order_acquire);
        if (total == 0)
            continue;
        if (j->nab + total > ABORTED_MAX) {
            j->ab_incomplete = true;
            return 0;
        }
        if (j->nab + total > cap) {
            uint32_t nc = cap ? cap : 64;
            while (nc < j->nab + total)
                nc *= 2;
            struct st_abort *na = realloc(j->ab, (size_t)nc * sizeof(*na));
            if (!na)
                return -ENOMEM;
            j->ab = na;
            cap = nc;
        }
        int err = st__seg_pin(s);
        if (err < 0)
            return err;
        int fd = st__seg_txn_fd(s, false);
        uint8_t b[ST_TXNIDX_ENTRY];
        for (uint32_t e = 0; fd >= 0 && e < total && err == 0; e++) {
            /* the entry layout is st_txnidx.c's */
            if ((err = st__pread_full(fd, b, sizeof(b), (int64_t)e * ST_TXNIDX_ENTRY)) == 0)
                j->ab[j->nab++] = (struct st_abort){.pid = (int64_t)kp_load_be64(b + 2),
                                                    .first = (int64_t)kp_load_be64(b + 10),
                                                    .last = (int64_t)kp_load_be64(b + 18)};
        }
        if (fd < 0)
            err = fd;
        st__seg_unpin(s);
        if (err < 0)
            return err;
    }
    if (j->nab > 0)
        qsort(j->ab, j->nab, sizeof(*j->ab), cmp_abort);
    return 0;
}

/* ---- the checkpoint (first dirty offset) --------------------------------------------------- */

static int64_t ckpt_read(struct st_log *log)
{
    char path[ST_MAX_PATH];
    uint8_t b[16];
    snprintf(path, sizeof(path), "%s/%s", log->dir, CKPT_NAME);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int err = st__pread_full(fd, b, sizeof(b), 0);
    close(fd);
    if (err < 0 || memcmp(b, CKPT_MAGIC, 4) != 0 || kp_load_be32(b + 12) != kp_crc32c(0, b, 12))
        return -1;
    return (int64_t)kp_load_be64(b + 4);
}

static void ckpt_write(struct st_log *log, int64_t off)
{
    char path[ST_MAX_PATH], tmp[ST_MAX_PATH];
    uint8_t b[16];
    memcpy(b, CKPT_MAGIC, 4);
    kp_store_be64(b + 4, (uint64_t)off);
    kp_store_be32(b + 12, kp_crc32c(0, b, 12));
    snprintf(path, sizeof(path), "%s/%s", log->dir, CKPT_NAME);
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", log->dir, CKPT_NAME);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    int err = st__pwrite_full(fd, b, sizeof(b), 0);
    close(fd);
    if (err < 0 || rename(tmp, path) < 0)
        unlink(tmp);
}

/* ---- choosing what to clean ------------------------------------------------------------------ */

static bool compacts(const struct st_log *log)
{
    return (ST_CLEAN_CFG(log, cleanup_policy) & ST_CLEANUP_COMPACT) != 0;
}

/*
 * Under log->mu: the cleanable segments (referenced) and the first dirty offset. Returns 0
 * with j->k == 0 when nothing is cleanable.
 */
static int job_select_locked(struct st_log *log, struct job *j)
{
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    int64_t limit = atomic_load_explicit(&log->lso, memory_order_relaxed);
    int64_t act = v->s[v->n - 1]->base;
    if (act < limit)
        limit = act;
    int k = 0;
    while (k < v->n - 1 && v->s[k + 1]->base <= limit && atomic_load(&v->s[k]->digested) &&
           !st__fences(v->s[k]))
        k++;
    if (k == 0)
        return 0;
    if (!(j->segs = calloc((size_t)k + 1, sizeof(*j->segs))))
        return -ENOMEM;
    for (int i = 0; i <= k; i++) {
        st__seg_ref(v->s[i]);
        j->segs[i] = v->s[i];
    }
    j->k = k;
    j->clean_end = v->s[k]->base;
    if (log->clean_next < 0)
        log->clean_next = ckpt_read(log);
    j->first_dirty = log->clean_next;
    if (j->first_dirty < v->s[0]->base)
        j->first_dirty = v->s[0]->base;
    /* the producers' last batches (kept for producer state, as Kafka keeps them) */
    const struct st_pstate *ps = &log->ps;
    if (ps->n > 0) {
        if (!(j->plast = malloc((size_t)ps->n * sizeof(*j->plast))))
            return -ENOMEM;
        for (uint32_t i = 0; i < ps->cap; i++) {
            const struct st_producer *p = &ps->tab[i];
            if (p->pid < 0 || p->nb == 0 || j->nplast == ps->n)
                continue;
            const struct st_pbatch *b = &p->b[(p->head + p->nb - 1) % ST_PBATCHES];
            j->plast[j->nplast++] = (struct plast){.pid = p->pid, .last = b->last_offset};
        }
        qsort(j->plast, j->nplast, sizeof(*j->plast), cmp_plast);
    }
    return 0;
}

/* Outside the lock: min.compaction.lag.ms moves the cleanable end down. */
static void job_apply_min_lag(struct job *j)
{
    int64_t lag = ST_CLEAN_CFG(j->log, min_compaction_lag_ms);
    if (lag <= 0)
        return;
    for (int i = 0; i < j->k; i++) {
        int64_t ts = st__seg_max_ts(j->segs[i]);
        if (ts > j->now_ms - lag) {
            for (int x = i + 1; x <= j->k; x++)
                st__seg_put(j->segs[x]);
            j->k = i;
            j->clean_end = j->segs[i]->base;
            return;
        }
    }
}

/* Dirty and total cleanable bytes, and whether max.compaction.lag.ms is overdue. */
static void job_measure(const struct job *j, int64_t *dirty, int64_t *total, bool *overdue)
{
    *dirty = *total = 0;
    *overdue = false;
    bool first = true;
    for (int i = 0; i < j->k; i++) {
        int64_t sz = atomic_load(&j->segs[i]->size);
        *total += sz;
        if (j->segs[i + 1]->base > j->first_dirty) {
            *dirty += sz;
            if (first) {
                first = false;
                int64_t lag = ST_CLEAN_CFG(j->log, max_compaction_lag_ms);
                int64_t ts = st__seg_max_ts(j->segs[i]);
                *overdue = lag < INT64_MAX && ts >= 0 && ts < j->now_ms - lag;
            }
        }
    }
}

bool st__clean_due(struct st_log *log, int64_t now_ms, double *ratio, bool *overdue)
{
    *ratio = 0;
    *overdue = false;
    if (!st__log_open(log) || !compacts(log))
        return false;
    struct job j = {.log = log, .now_ms = now_ms};
    pthread_mutex_lock(&log->mu);
    int err = log->deleted || log->closed || log->cleaning ? -EBUSY : job_select_locked(log, &j);
    pthread_mutex_unlock(&log->mu);
    bool due = false;
    if (err == 0 && j.k > 0) {
        job_apply_min_lag(&j);
        int64_t dirty, total;
        job_measure(&j, &dirty, &total, overdue);
        if (dirty > 0 && total > 0) {
            *ratio = (double)dirty / (double)total;
            due = *ratio >= st__clean_ratio(log) || *overdue;
        }
    }
    job_free(&j);
    return due;
}

/* ---- the map -----------------------------------------------------------------------------------
 */

/* Builds the map from the first dirty offset; sets j->map_end. */
static int build_map(struct job *j, struct st_cleanwork *w, struct st_clean_stats *st)
{
    st__cmap_clear(w->map);
    j->map_end = j->clean_end;
    for (int i = 0; i < j->k; i++) {
        struct st_seg *s = j->segs[i];
        if (j->segs[i + 1]->base <= j->first_dirty)
            continue; /* all clean */
        int err = st__seg_pin(s);
        if (err < 0)
            return err;
        struct rdr r = {.s = s, .size = atomic_load(&s->size)};
        int64_t pos = 0, next = s->base;
        struct kp_batch_hdr h;
        const uint8_t *p;
        bool full = false;
        while (!full && (p = next_batch(w, &r, &pos, &next, &h, &err)) != NULL) {
            if (stopping(w)) {
                err = -ECANCELED;
                break;
            }
            if (next <= j->first_dirty)
                continue;
            st->dirty_bytes += (int64_t)kp_batch_size(&h);
            if ((h.attributes & KP_BATCH_ATTR_CONTROL) || h.record_count <= 0 ||
                is_aborted(j, &h) || txn_unknown(j, &h))
                continue;
            struct kp_record_iter it;
            struct kp_record rec;
            int rr = records_begin(w, p, &h, &it);
            if (rr == -ENOMEM) {
                err = rr;
                break;
            }
            if (rr < 0)
                continue; /* a compressed batch that cannot be read: kept whole, shadows none */
            while ((rr = kp_record_next(&it, &rec)) == 1) {
                int64_t o = h.base_offset + rec.offset_delta;
                if (o < j->first_dirty || rec.key.len < 0)
                    continue;
                if (st__cmap_put(w->map, rec.key.ptr, (size_t)rec.key.len, o) == -ENOSPC) {
                    full = true;
                    j->map_end = h.base_offset;
                    break;
                }
            }
            if (rr < 0) {
                err = rr;
                break;
            }
        }
        st__seg_unpin(s);
        if (err < 0)
            return err;
        if (full) {
            if (j->map_end <= j->first_dirty)
                return -ENOBUFS; /* one batch holds more keys than the map: nothing can move */
            break;
        }
    }
    st->passes++;
    return 0;
}

/* ---- the rewrite ------------------------------------------------------------------------------
 */

struct out {
    struct st_seg *s; /* the new segment, in the cleaner directory (pinned) */
    int64_t flushed;  /* bytes of wbuf written to the file */
    /* a run of batches that lost every record, pending as one empty batch */
    bool gap;
    int64_t gap_lo, gap_hi, gap_ts;
    int32_t gap_epoch;
    int64_t records_in, records_out, tomb, aborted;
    int64_t recompressed, unreadable;
};

static int out_flush(struct st_cleanwork *w, struct out *o)
{
    if (w->wlen == 0)
        return 0;
    int err = st__pwrite_full(o->s->fd, w->wbuf, w->wlen, o->flushed);
    if (err == 0) {
        throttle(w, w->wlen);
        o->flushed += (int64_t)w->wlen;
        w->wlen = 0;
    }
    return err;
}

/* Appends one whole batch to the new segment (indexes by the entry rule, running digest). */
static int out_batch(struct st_cleanwork *w, struct out *o, const uint8_t *b, size_t n)
{
    struct st_seg *s = o->s;
    struct kp_batch_hdr h;
    if (kp_batch_parse_hdr(b, n, &h) < 0 || kp_batch_size(&h) != n)
        return -EBADMSG;
    int err = st__seg_index_grow(s, 1);
    if (err < 0)
        return err;
    if (s->w.pos + (int64_t)n > INT32_MAX)
        return -EFBIG;
    st__seg_note_batch(s, h.base_offset, h.last_offset_delta, (int64_t)n, h.max_timestamp);
    st__idx_publish(&s->idx);
    st__idx_publish(&s->tidx);
    if (s->rd)
        st__rundigest_feed(s->rd, b, n);
    while (n > 0) {
        if (w->wlen == WBUF && (err = out_flush(w, o)) < 0)
            return err;
        size_t k = WBUF - w->wlen < n ? WBUF - w->wlen : n;
        memcpy(w->wbuf + w->wlen, b, k);
        w->wlen += k;
        b += k;
        n -= k;
    }
    return 0;
}

/* The pending run of removed batches as one empty batch (producerId -1). */
static int out_gap(struct st_cleanwork *w, struct out *o)
{
    if (!o->gap)
        return 0;
    o->gap = false;
    uint8_t b[KP_BATCH_HEADER_LEN];
    memset(b, 0, sizeof(b));
    kp_store_be64(b + KP_BATCH_OFF_BASE_OFFSET, (uint64_t)o->gap_lo);
    kp_store_be32(b + KP_BATCH_OFF_LENGTH, KP_BATCH_HEADER_LEN - KP_BATCH_LOG_OVERHEAD);
    kp_store_be32(b + KP_BATCH_OFF_LEADER_EPOCH, (uint32_t)o->gap_epoch);
    b[KP_BATCH_OFF_MAGIC] = KP_BATCH_MAGIC;
    kp_store_be32(b + KP_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(o->gap_hi - o->gap_lo));
    kp_store_be64(b + KP_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)o->gap_ts);
    kp_store_be64(b + KP_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)o->gap_ts);
    kp_store_be64(b + KP_BATCH_OFF_PRODUCER_ID, UINT64_MAX);
    kp_store_be16(b + KP_BATCH_OFF_PRODUCER_EPOCH, 0xffff);
    kp_store_be32(b + KP_BATCH_OFF_BASE_SEQUENCE, UINT32_MAX);
    kp_store_be32(b + KP_BATCH_OFF_RECORD_COUNT, 0);
    kp_store_be32(b + KP_BATCH_OFF_CRC,
                  kp_crc32c(0, b + KP_BATCH_OFF_ATTRIBUTES, sizeof(b) - KP_BATCH_OFF_ATTRIBUTES));
    return out_batch(w, o, b, sizeof(b));
}

static void gap_add(struct out *o, const struct kp_batch_hdr *h)
{
    int64_t last = h->base_offset + h->last_offset_delta;
    if (!o->gap) {
        o->gap = true;
        o->gap_lo = h->base_offset;
        o->gap_ts = -1;
    }
    o->gap_hi = last;
    o->gap_epoch = h->leader_epoch;
    if (h->max_timestamp > o->gap_ts)
        o->gap_ts = h->max_timestamp;
}

static int keep_whole(struct st_cleanwork *w, struct out *o, const uint8_t *p,
                      const struct kp_batch_hdr *h)
{
    int err = out_gap(w, o);
    return err < 0 ? err : out_batch(w, o, p, kp_batch_size(h));
}

/* One batch of the group through the rules (st_clean.h, A PASS above). */
static int clean_batch(struct job *j, struct st_cleanwork *w, struct out *o, const uint8_t *p,
                       const struct kp_batch_hdr *h, bool drop_tombstones)
{
    bool control = h->attributes & KP_BATCH_ATTR_CONTROL;
    int codec = codec_of(h);
    if (h->record_count > 0)
        o->records_in += h->record_count;
    if (control || txn_unknown(j, h)) {
        o->records_out += h->record_count > 0 ? h->record_count : 0;
        return keep_whole(w, o, p, h);
    }
    bool aborted = is_aborted(j, h);
    int64_t tomb0 = o->tomb;
    int err;
    int32_t kept = 0;
    /* the kept records are gathered at q: behind the header in bbuf, or for a compressed
     * batch at the front of its decompressed records, moved down in place */
    uint8_t *q = NULL, *q0 = NULL;
    if (h->record_count > 0 && !aborted) {
        struct kp_record_iter it;
        struct kp_record rec;
        int rr = records_begin(w, p, h, &it);
        if (rr == -ENOMEM)
            return rr;
        if (rr < 0) {
            if (w->unread_n++ == 0) {
                w->unread_off = h->base_offset;
                w->unread_codec = codec;
                w->unread_err = rr;
            }
            o->unreadable++;
            o->records_out += h->record_count;
            return keep_whole(w, o, p, h);
        }
        if (codec == KP_CODEC_NONE) {
            if ((err = bbuf_room(w, kp_batch_size(h))) < 0)
                return err;
            q0 = w->bbuf + KP_BATCH_HEADER_LEN;
        } else {
            q0 = w->dbuf;
        }
        q = q0;
        const uint8_t *at = it.rd.p;
        while ((rr = kp_record_next(&it, &rec)) == 1) {
            int64_t off = h->base_offset + rec.offset_delta;
            bool keep = true;
            if (off < j->map_end && rec.key.len >= 0) {
                int64_t m = st__cmap_get(w->map, rec.key.ptr, (size_t)rec.key.len);
                keep = off >= m;
                if (keep && rec.value.len < 0 && drop_tombstones) {
                    keep = false;
                    o->tomb++;
                }
            }
            if (keep) {
                size_t n = (size_t)(it.rd.p - at);
                memmove(q, at, n);
                q += n;
                kept++;
            }
            at = it.rd.p;
        }
        if (rr < 0)
            return rr;
    } else if (aborted) {
        o->aborted += h->record_count;
    }
    o->records_out += kept;
    bool last = is_producer_last(j, h);
    if (kept == 0 && !last) {
        gap_add(o, h); /* an empty batch of an earlier cleaning merges into the run too */
        return 0;
    }
    if (kept == h->record_count && !aborted)
        return keep_whole(w, o, p, h); /* untouched: the producer's bytes as they were */
    /* rebuilt: the header as it was but for length, count and CRC; the kept records
     * recompressed with the batch's codec (none kept: an empty batch without a codec) */
    size_t n = KP_BATCH_HEADER_LEN;
    if (kept > 0 && codec != KP_CODEC_NONE) {
        size_t raw = (size_t)(q - q0);
        size_t bound = kp_codec_bound(codec, raw);
        if ((err = bbuf_room(w, KP_BATCH_HEADER_LEN + bound)) < 0)
            return err;
        long z = kp_codec_compress(&w->z, codec, -1, q0, raw, w->bbuf + KP_BATCH_HEADER_LEN,
                                   w->bcap - KP_BATCH_HEADER_LEN);
        if (z == -ENOMEM)
            return -ENOMEM;
        if (z < 0) { /* not expected of a bound-sized buffer; the batch as it was is right too */
            if (w->unread_n++ == 0) {
                w->unread_off = h->base_offset;
                w->unread_codec = codec;
                w->unread_err = (int)z;
            }
            o->unreadable++;
            o->records_out += h->record_count - kept;
            o->tomb = tomb0;
            return keep_whole(w, o, p, h);
        }
        n += (size_t)z;
        o->recompressed++;
    } else if (kept > 0) {
        n = (size_t)(q - w->bbuf);
    } else if ((err = bbuf_room(w, KP_BATCH_HEADER_LEN)) < 0) {
        return err;
    }
    memcpy(w->bbuf, p, KP_BATCH_HEADER_LEN);
    if (kept == 0)
        kp_store_be16(w->bbuf + KP_BATCH_OFF_ATTRIBUTES,
                      (uint16_t)(h->attributes & ~KP_BATCH_ATTR_CODEC_MASK));
    kp_store_be32(w->bbuf + KP_BATCH_OFF_LENGTH, (uint32_t)(n - KP_BATCH_LOG_OVERHEAD));
    kp_store_be32(w->bbuf + KP_BATCH_OFF_RECORD_COUNT, (uint32_t)kept);
    kp_store_be32(w->bbuf + KP_BATCH_OFF_CRC,
                  kp_crc32c(0, w->bbuf + KP_BATCH_OFF_ATTRIBUTES, n - KP_BATCH_OFF_ATTRIBUTES));
    err = out_gap(w, o);
    return err < 0 ? err : out_batch(w, o, w->bbuf, n);
}

/* The cleaner directory, emptied (a leftover of an interrupted cleaning goes). */
static int clean_dir_reset(struct st_log *log, char *cdir, size_t cap)
{
    snprintf(cdir, cap, "%s/%s", log->dir, CLEAN_DIR);
    DIR *d = opendir(cdir);
    if (d) {
        struct dirent *de;
        char path[ST_MAX_PATH];
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", cdir, de->d_name);
            unlink(path);
        }
        closedir(d);
        return 0;
    }
    if (mkdir(cdir, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static void clean_dir_remove(struct st_log *log)
{
    char cdir[ST_MAX_PATH];
    if (clean_dir_reset(log, cdir, sizeof(cdir)) == 0)
        rmdir(cdir);
}

/* Copies the .txnindex entries of the group into cleaner/B.txnindex; *any when there were. */
static int write_txnidx(struct st_seg **g, int n, const char *cdir, int64_t base, bool *any)
{
    *any = false;
    uint32_t total = 0;
    for (int i = 0; i < n; i++)
        total += atomic_load_explicit(&g[i]->txn_n, memory_order_acquire);
    if (total == 0)
        return 0;
    char path[ST_MAX_PATH];
    st__seg_path(path, sizeof(path), cdir, base, ".txnindex");
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        return -errno;
    int err = 0;
    int64_t at = 0;
    uint8_t b[64 * ST_TXNIDX_ENTRY];
    for (int i = 0; i < n && err == 0; i++) {
        uint32_t k = atomic_load_explicit(&g[i]->txn_n, memory_order_acquire);
        if (k == 0)
            continue;
        if ((err = st__seg_pin(g[i])) < 0)
            break;
        int fd = st__seg_txn_fd(g[i], false);
        for (uint32_t e = 0; fd >= 0 && e < k && err == 0; e += 64) {
            size_t c = (size_t)(k - e < 64 ? k - e : 64) * ST_TXNIDX_ENTRY;
            if ((err = st__pread_full(fd, b, c, (int64_t)e * ST_TXNIDX_ENTRY)) == 0 &&
                (err = st__pwrite_full(out, b, c, at)) == 0)
                at += (int64_t)c;
        }
        if (fd < 0)
            err = fd;
        st__seg_unpin(g[i]);
    }
    if (err == 0 && fdatasync(out) < 0)
        err = -errno;
    close(out);
    *any = err == 0;
    return err;
}

/* What a group's rewrite made, in the cleaner directory. */
struct made {
    int64_t size, max_ts;
    bool txn;
    uint32_t txn_entries;
};

/*
 * Rewrites g[0..n-1] (next: base of the segment after them) into cleaner/<g[0] base>.*, synced
 * with its digest (SWAP RULE step 1). 0 with *changed false when nothing was removed.
 */
static int rewrite_group(struct job *j, struct st_cleanwork *w, struct st_seg **g, int n,
                         int64_t next_base, const char *cdir, struct made *m, bool *changed,
                         struct st_clean_stats *st)
{
    struct st_log *log = j->log;
    *changed = false;
    struct out o = {0};
    int err = st__seg_open(cdir, g[0]->base, ST_CLEAN_CFG(log, index_interval_bytes),
                           st__log_idx_cap(&log->cfg), true, log->store->fc, &o.s);
    if (err < 0)
        return err;
    struct st_seg *s = o.s;
    int64_t in_bytes = 0;
    s->rd = st__rundigest_new(st__log_digest_chunks(&log->cfg));
    if ((err = st__seg_pin(s)) < 0) {
        st__seg_put(s);
        return err;
    }
    w->wlen = 0;
    for (int i = 0; i < n && err == 0; i++) {
        struct st_seg *src = g[i];
        /* tombstones go once their segment was cleaned before and delete.retention.ms passed */
        int64_t seg_end = i + 1 < n ? g[i + 1]->base : next_base;
        bool drop = seg_end <= j->first_dirty &&
                    st__seg_max_ts(src) < j->now_ms - ST_CLEAN_CFG(log, delete_retention_ms);
        if ((err = st__seg_pin(src)) < 0)
            break;
        struct rdr r = {.s = src, .size = atomic_load(&src->size)};
        in_bytes += r.size;
        int64_t pos = 0, next = src->base;
        struct kp_batch_hdr h;
        const uint8_t *p;
        while ((p = next_batch(w, &r, &pos, &next, &h, &err)) != NULL)
            if ((err = stopping(w) ? -ECANCELED : clean_batch(j, w, &o, p, &h, drop)) < 0)
                break;
        st__seg_unpin(src);
        if (err == 0 && next != seg_end)
            err = -EBADMSG; /* the segment does not end where the next begins */
    }
    if (err == 0)
        err = out_gap(w, &o);
    if (err == 0)
        err = out_flush(w, &o);
    crash_point(12);
    if (err == 0 && s->w.pos < in_bytes) {
        *changed = true;
        atomic_store(&s->size, s->w.pos);
        atomic_store(&s->max_ts, s->w.max_ts);
        if ((err = st__seg_seal(s)) == 0 && (err = st__idx_sync(s, &s->idx)) == 0 &&
            (err = st__idx_sync(s, &s->tidx)) == 0 && fdatasync(s->fd) < 0)
            err = -errno;
        if (err == 0)
            err = st__digest_write(s);
        if (err == 0)
            err = write_txnidx(g, n, cdir, g[0]->base, &m->txn);
        if (err == 0)
            err = st_fsync_dir(cdir);
        m->size = s->w.pos;
        m->max_ts = s->w.max_ts;
        m->txn_entries = 0;
        for (int i = 0; i < n; i++)
            m->txn_entries += atomic_load(&g[i]->txn_n);
        st->bytes_in += in_bytes;
        st->bytes_out += s->w.pos;
        st->segments_in += n;
        st->segments_out += 1;
        st->records_in += o.records_in;
        st->records_out += o.records_out;
        st->tombstones_dropped += o.tomb;
        st->aborted_dropped += o.aborted;
        st->recompressed += o.recompressed;
    }
    st->compressed_unreadable += o.unreadable;
    st__seg_unpin(s);
    st__seg_put(s); /* its files stay in the cleaner directory */
    return err;
}

/* ---- the swap -----------------------------------------------------------------------------------
 */

struct swaprec {
    int64_t base, size;
    bool txn;
    int n;
    int64_t bases[ST_CLEAN_GROUP_MAX];
};

/* SWAP RULE step 3, first half: clean-swap.tmp written and fsynced (no lock needed). */
static int swap_prepare(struct st_log *log, const struct swaprec *r)
{
    uint8_t b[SWAP_HDR + 8 * ST_CLEAN_GROUP_MAX + 4];
    memset(b, 0, SWAP_HDR);
    memcpy(b, SWAP_MAGIC, 4);
    kp_store_be32(b + 4, 1);
    kp_store_be64(b + 8, (uint64_t)r->base);
    kp_store_be64(b + 16, (uint64_t)r->size);
    kp_store_be32(b + 24, r->txn ? 1 : 0);
    kp_store_be32(b + 28, (uint32_t)r->n);
    for (int i = 0; i < r->n; i++)
        kp_store_be64(b + SWAP_HDR + 8 * i, (uint64_t)r->bases[i]);
    size_t len = SWAP_HDR + 8 * (size_t)r->n;
    kp_store_be32(b + len, kp_crc32c(0, b, len));
    len += 4;
    char tmp[ST_MAX_PATH];
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", log->dir, SWAP_NAME);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int err = st__pwrite_full(fd, b, len, 0);
    if (err == 0 && fsync(fd) < 0)
        err = -errno;
    close(fd);
    if (err < 0)
        unlink(tmp);
    crash_point(2);
    return err;
}

/* Second half: the rename and the directory fsync that make it the commit. */
static int swap_commit(struct st_log *log)
{
    char tmp[ST_MAX_PATH], path[ST_MAX_PATH];
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", log->dir, SWAP_NAME);
    snprintf(path, sizeof(path), "%s/%s", log->dir, SWAP_NAME);
    if (rename(tmp, path) < 0) {
        int err = -errno;
        unlink(tmp);
        return err;
    }
    return st_fsync_dir(log->dir);
}

/* 1 and *r when a valid swap record exists, 0 when none, -errno. */
static int swap_read(const char *dir, struct swaprec *r)
{
    char path[ST_MAX_PATH];
    uint8_t b[SWAP_HDR + 8 * ST_CLEAN_GROUP_MAX + 4];
    snprintf(path, sizeof(path), "%s/%s", dir, SWAP_NAME);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    ssize_t got = pread(fd, b, sizeof(b), 0);
    close(fd);
    if (got < SWAP_HDR + 4 || memcmp(b, SWAP_MAGIC, 4) != 0 || kp_load_be32(b + 4) != 1)
        return -EBADMSG;
    uint32_t n = kp_load_be32(b + 28);
    if (n < 1 || n > ST_CLEAN_GROUP_MAX || got != (ssize_t)(SWAP_HDR + 8 * n + 4) ||
        kp_load_be32(b + SWAP_HDR + 8 * n) != kp_crc32c(0, b, SWAP_HDR + 8 * n))
        return -EBADMSG;
    r->base = (int64_t)kp_load_be64(b + 8);
    r->size = (int64_t)kp_load_be64(b + 16);
    r->txn = kp_load_be32(b + 24) != 0;
    r->n = (int)n;
    for (uint32_t i = 0; i < n; i++)
        r->bases[i] = (int64_t)kp_load_be64(b + SWAP_HDR + 8 * i);
    if (r->bases[0] != r->base || r->base < 0)
        return -EBADMSG;
    for (uint32_t i = 1; i < n; i++)
        if (r->bases[i] <= r->bases[i - 1])
            return -EBADMSG;
    return 1;
}

/* SWAP RULE step 4, the renames and unlinks (and recovery's): idempotent. */
static int swap_apply(const char *dir, const struct swaprec *r)
{
    char from[ST_MAX_PATH], to[ST_MAX_PATH], cdir[ST_MAX_PATH];
    snprintf(cdir, sizeof(cdir), "%s/%s", dir, CLEAN_DIR);
    for (int k = 0; k < NKINDS; k++) {
        st__seg_path(from, sizeof(from), cdir, r->base, KINDS[k]);
        st__seg_path(to, sizeof(to), dir, r->base, KINDS[k]);
        crash_point(4 + k);
        if (k == K_TXN && !r->txn) {
            if (unlink(to) < 0 && errno != ENOENT)
                return -errno;
            continue;
        }
        if (rename(from, to) < 0 && errno != ENOENT)
            return -errno;
    }
    for (int i = 1; i < r->n; i++) {
        crash_point(9 + (i > 1));
        for (int k = 0; k < NKINDS; k++) {
            st__seg_path(to, sizeof(to), dir, r->bases[i], KINDS[k]);
            if (unlink(to) < 0 && errno != ENOENT)
                return -errno;
        }
    }
    return 0;
}

/* Step 4's end: the renames durable, then the record gone (durably: a stale record must never
 * meet the files of a later cleaning that did not commit). */
static int swap_done(const char *dir)
{
    int err = st_fsync_dir(dir);
    if (err < 0)
        return err;
    crash_point(11);
    char path[ST_MAX_PATH];
    snprintf(path, sizeof(path), "%s/%s", dir, SWAP_NAME);
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return st_fsync_dir(dir);
}

int st__clean_recover(struct st_log *log)
{
    struct swaprec r;
    int got = swap_read(log->dir, &r);
    char path[ST_MAX_PATH];
    struct st_store *st = log->store;
    if (got == 1) {
        snprintf(path, sizeof(path), "%s/%s", log->dir, ST_CLEAN_NAME);
        unlink(path); /* describes the files before the swap */
        int err = swap_apply(log->dir, &r);
        if (err == 0)
            err = swap_done(log->dir);
        if (err < 0)
            return err;
        if (st->msg_fn) {
            char msg[ST_MAX_PATH + 200];
            snprintf(msg, sizeof(msg),
                     "%s-%" PRId32 ": a cleaning's swap of %d segment(s) at offset %" PRId64
                     " was committed before the process stopped; finished it",
                     log->topic, log->partition, r.n, r.base);
            st__say(st, ST_MSG_WARN, msg);
        }
    } else if (got < 0 && got != -ENOENT) {
        if (st->msg_fn) {
            char msg[ST_MAX_PATH + 200];
            snprintf(msg, sizeof(msg),
                     "%s/%s is unreadable (%s): taken as a cleaning that never committed; the "
                     "old segments stay",
                     log->dir, SWAP_NAME, strerror(-got));
            st__say(st, ST_MSG_ERROR, msg);
        }
        snprintf(path, sizeof(path), "%s/%s", log->dir, SWAP_NAME);
        unlink(path);
    }
    /* clean-swap.tmp goes with the directory's other .tmp files (st_recover.c); the cleaner
     * directory of a cleaning that never committed, when there is one (one rmdir, ENOENT on
     * the common path: no cost worth a listing at start-up) */
    snprintf(path, sizeof(path), "%s/%s", log->dir, CLEAN_DIR);
    if (rmdir(path) < 0 && errno != ENOENT)
        clean_dir_remove(log);
    return 0;
}

/* A sealed segment's object for the files the swap put in place (as a trusted recovery
 * leaves a sealed segment: indexes mapped at first lookup). */
static int new_seg(struct st_log *log, const struct made *m, int64_t base, struct st_seg **out)
{
    struct st_seg *s;
    int err = st__seg_open(log->dir, base, ST_CLEAN_CFG(log, index_interval_bytes), 0, false,
                           log->store->fc, &s);
    if (err < 0)
        return err;
    s->w.pos = m->size;
    atomic_store(&s->size, m->size);
    atomic_store(&s->max_ts, m->max_ts);
    atomic_store(&s->idx.n, ST_IDX_ALL);
    atomic_store(&s->tidx.n, ST_IDX_ALL);
    s->grace = &log->grace;
    s->has_txn = m->txn;
    s->txn_w = m->txn ? m->txn_entries : 0;
    atomic_store(&s->txn_n, s->txn_w);
    atomic_store(&s->txn_synced, s->txn_w);
    atomic_store(&s->sealed, true);
    atomic_store(&s->synced, true);
    atomic_store(&s->digested, true);
    *out = s;
    return 0;
}

/* SWAP RULE steps 2-5 for group g[0..n-1]. */
static int swap_group(struct st_log *log, struct st_seg **g, int n, const struct made *m)
{
    struct swaprec r = {.base = g[0]->base, .size = m->size, .txn = m->txn, .n = n};
    for (int i = 0; i < n; i++)
        r.bases[i] = g[i]->base;
    int err = swap_prepare(log, &r);
    if (err < 0)
        return err;
    pthread_mutex_lock(&log->sync_mu);
    pthread_mutex_lock(&log->mu);
    err = log->deleted ? -ENOENT : log->closed ? -ESHUTDOWN : 0;
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    int at = -1;
    for (int i = 0; err == 0 && i < v->n; i++)
        if (v->s[i] == g[0])
            at = i;
    if (err == 0 && (at < 0 || at + n >= v->n))
        err = -ESTALE;
    for (int i = 0; err == 0 && i < n; i++)
        if (v->s[at + i] != g[i])
            err = -ESTALE;
    pthread_mutex_unlock(&log->mu);
    int pinned = 0;
    for (; err == 0 && pinned < n; pinned++) {
        struct st_seg *s = g[pinned];
        if ((err = st__seg_pin(s)) < 0)
            break;
        /* the old files stay reachable through this pin whatever is renamed over them */
        int64_t c1 = st__idx_count(s, &s->idx), c2 = st__idx_count(s, &s->tidx);
        if (c1 < 0 || c2 < 0)
            err = (int)(c1 < 0 ? c1 : c2);
        if (err == 0 && atomic_load(&s->txn_n) > 0) {
            int fd = st__seg_txn_fd(s, false);
            if (fd < 0)
                err = fd;
        }
        if (err < 0) {
            st__seg_unpin(s);
            break;
        }
    }
    struct st_seg *ns = NULL;
    bool committed = false;
    if (err == 0) {
        crash_point(1);
        char path[ST_MAX_PATH];
        snprintf(path, sizeof(path), "%s/%s", log->dir, ST_CLEAN_NAME);
        unlink(path);
        err = swap_commit(log);
        committed = err == 0;
        crash_point(3);
    } else {
        char tmp[ST_MAX_PATH];
        snprintf(tmp, sizeof(tmp), "%s/%s.tmp", log->dir, SWAP_NAME);
        unlink(tmp);
    }
    if (committed) {
        /* past the commit, a failure leaves the rest to the next recovery */
        err = swap_apply(log->dir, &r);
        if (err == 0)
            err = new_seg(log, m, r.base, &ns);
    }
    if (err == 0) {
        pthread_mutex_lock(&log->mu);
        v = atomic_load_explicit(&log->segs, memory_order_relaxed);
        struct st_segvec *nv = st__segvec_new(v->n - n + 1);
        if (!nv) {
            err = -ENOMEM;
        } else {
            memcpy(nv->s, v->s, (size_t)at * sizeof(nv->s[0]));
            nv->s[at] = ns;
            memcpy(nv->s + at + 1, v->s + at + n, (size_t)(v->n - at - n) * sizeof(nv->s[0]));
            st__log_set_segs(log, nv); /* a grace period: no reader still looks at g */
            log->pristine = false;
            ns = NULL;
        }
        pthread_mutex_unlock(&log->mu);
        if (err == 0)
            for (int i = 0; i < n; i++)
                st__seg_put(g[i]); /* the list's references */
    }
    if (committed && err < 0) {
        /* the files are swapped (or will be at the next open) but the list could not be: the
         * old segments stay served from their pinned descriptors until the log reopens */
        pthread_mutex_lock(&log->mu);
        log->pristine = false;
        pthread_mutex_unlock(&log->mu);
    }
    pthread_mutex_unlock(&log->sync_mu);
    /* committed but not published: the old segments' names now hold the new files, so the
     * old objects keep their pins (and descriptors) until the log is freed or reopened */
    for (int i = 0; i < pinned && !(committed && err < 0); i++)
        st__seg_unpin(g[i]);
    st__seg_put(ns);
    /* outside the lock: the swap is committed and served; the record's removal need not hold
     * up syncs (a topic deleted meanwhile takes the directory with it) */
    if (err == 0) {
        int e = swap_done(log->dir);
        if (e < 0 && e != -ENOENT)
            err = e;
    }
    return err;
}

/* ---- a cleaning
 * ----------------------------------------------------------------------------------- */

/* One pass: select, map, rewrite and swap group by group. *more when the map did not reach the
 * cleanable end. */
static int clean_pass(struct st_log *log, struct st_cleanwork *w, int64_t now_ms, bool force,
                      bool *more, struct st_clean_stats *st)
{
    *more = false;
    struct job j = {.log = log, .now_ms = now_ms};
    struct st_seg **all = NULL;
    int nall = 0;
    pthread_mutex_lock(&log->mu);
    int err = job_select_locked(log, &j);
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    if (err == 0 && j.k > 0) {
        if ((all = malloc((size_t)v->n * sizeof(*all))) != NULL) {
            for (nall = 0; nall < v->n; nall++) {
                st__seg_ref(v->s[nall]);
                all[nall] = v->s[nall];
            }
        } else {
            err = -ENOMEM;
        }
    }
    pthread_mutex_unlock(&log->mu);
    if (err == 0 && j.k > 0) {
        /* every segment's aborted transactions: a marker may lie past the cleanable end */
        err = load_aborted(&j, all, nall);
    }
    for (int i = 0; i < nall; i++)
        st__seg_put(all[i]);
    free(all);
    if (err < 0 || j.k == 0)
        goto out;
    job_apply_min_lag(&j);
    if (j.k == 0 || j.first_dirty >= j.clean_end)
        goto out;
    if (!force) {
        int64_t dirty, total;
        bool overdue;
        job_measure(&j, &dirty, &total, &overdue);
        if (total == 0 || ((double)dirty / (double)total < st__clean_ratio(log) && !overdue))
            goto out;
    }
    if ((err = build_map(&j, w, st)) < 0)
        goto out;
    char cdir[ST_MAX_PATH];
    int64_t seg_max = ST_CLEAN_CFG(log, segment_bytes);
    for (int i = 0; i < j.k && err == 0;) {
        if (j.segs[i]->base >= j.map_end)
            break;
        /* a group: consecutive, below the map end, within segment.bytes and 2^31-1 offsets */
        int n = 1;
        int64_t bytes = atomic_load(&j.segs[i]->size);
        while (i + n < j.k && n < ST_CLEAN_GROUP_MAX && j.segs[i + n]->base < j.map_end) {
            int64_t sz = atomic_load(&j.segs[i + n]->size);
            if (bytes + sz > seg_max || j.segs[i + n + 1]->base - j.segs[i]->base >= INT32_MAX)
                break;
            bytes += sz;
            n++;
        }
        struct made m = {0};
        bool changed;
        if ((err = clean_dir_reset(log, cdir, sizeof(cdir))) < 0)
            break;
        err = rewrite_group(&j, w, j.segs + i, n, j.segs[i + n]->base, cdir, &m, &changed, st);
        if (err == 0 && changed)
            err = swap_group(log, j.segs + i, n, &m);
        i += n;
    }
    clean_dir_remove(log);
    if (err == 0) {
        pthread_mutex_lock(&log->mu);
        log->clean_next = j.map_end;
        pthread_mutex_unlock(&log->mu);
        ckpt_write(log, j.map_end);
        *more = j.map_end < j.clean_end;
        st->logs++;
    }
out:
    job_free(&j);
    return err;
}

int st__clean_log(struct st_log *log, struct st_cleanwork *w, int64_t now_ms, unsigned flags,
                  struct st_clean_stats *stats)
{
    struct st_clean_stats local = {0};
    struct st_clean_stats *st = stats ? stats : &local;
    int64_t t0 = mono_ns();
    if (!compacts(log))
        return 0;
    int err = st__log_activate(log);
    if (err < 0)
        return err;
    pthread_mutex_lock(&log->mu);
    err = log->deleted ? -ENOENT : log->closed ? -ESHUTDOWN : log->cleaning ? -EBUSY : 0;
    if (err == 0)
        log->cleaning = true;
    pthread_mutex_unlock(&log->mu);
    if (err < 0)
        return err;
    bool more = true;
    w->unread_n = 0;
    for (int pass = 0; more && pass < MAX_PASSES && err == 0; pass++)
        err = clean_pass(log, w, now_ms, pass > 0 || (flags & ST_CLEAN_FORCE), &more, st);
    pthread_mutex_lock(&log->mu);
    log->cleaning = false;
    pthread_mutex_unlock(&log->mu);
    if (w->unread_n > 0 && log->store->msg_fn) {
        char msg[ST_MAX_PATH + 200];
        snprintf(msg, sizeof(msg),
                 "%s-%" PRId32 ": %" PRId64 " compressed batch(es) kept whole by the cleaner, "
                 "the first at offset %" PRId64 " (%s: %s); their records are not compacted",
                 log->topic, log->partition, w->unread_n, w->unread_off,
                 kp_codec_name(w->unread_codec) ? kp_codec_name(w->unread_codec) : "unknown codec",
                 w->unread_err == -EMSGSIZE ? "decompresses past the cleaner's bound"
                                            : strerror(-w->unread_err));
        st__say(log->store, ST_MSG_WARN, msg);
    }
    if (w->dcap > 4 * RBUF) { /* a large batch's buffer is not kept between cleanings */
        free(w->dbuf);
        w->dbuf = NULL;
        w->dcap = 0;
    }
    st->ns += mono_ns() - t0;
    return err;
}

int st_log_clean(struct st_log *log, int64_t now_ms, unsigned flags, struct st_clean_stats *stats)
{
    struct st_cleanwork *w;
    int64_t bytes = log->store->defaults.cleaner_dedupe_bytes;
    int err = st__cleanwork_new(bytes > 0 ? (size_t)bytes : (size_t)128 << 20,
                                log->store->defaults.cleaner_io_max_bps, &w);
    if (err < 0)
        return err;
    err = st__clean_log(log, w, now_ms, flags, stats);
    st__cleanwork_free(w);
    return err;
}
