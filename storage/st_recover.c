/*
 * st_recover — opening a partition log: load its fenced ranges, find its segments, decide
 * what to trust, scan the rest batch by batch (st_walk.c), fence bad batches in bytes known
 * to be on disk, truncate at the first bad batch of an unsynced tail, rebuild indexes, and
 * say what was done. The rule is written out under RECOVERY RULE at the top of st_segment.c;
 * this file implements it.
 *
 * Runs at store open (on one of the store's recovery threads, st_store.c: logs are recovered
 * side by side, each under its own sync_mu), or for a dormant log at its first use
 * (st__log_activate, on the thread that uses it, under the log's sync_mu): either way before
 * the log's segments are visible to anyone (readers see a dormant log's record until `state`
 * turns open). Nothing here touches another log; the store's totals are under open_mu. Messages go
 * to the store's st_msg_fn (st_store_open_logged); the totals of its report only count the logs
 * opened while the store opens.
 */
#include "st_int.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kp_batch.h"
#include "kp_crc32c.h"

struct rp {
    bool valid;
    int64_t base, pos, next, max_ts;
    uint32_t idx_n, tidx_n;
    uint64_t idx_hash, tidx_hash;
};

static void rp_read(struct st_log *log, struct rp *rp)
{
    char path[ST_MAX_PATH];
    uint8_t b[ST_RP_SIZE];
    memset(rp, 0, sizeof(*rp));
    snprintf(path, sizeof(path), "%s/%s", log->dir, ST_RP_NAME);
    int fd = st__fc_open(log->store->fc, path, O_RDONLY, 0);
    if (fd < 0)
        return;
    int err = st__pread_full(fd, b, sizeof(b), 0);
    close(fd);
    if (err < 0 || memcmp(b, ST_RP_MAGIC, 4) != 0 || kp_load_be32(b + 4) != 1 ||
        kp_load_be32(b + 64) != kp_crc32c(0, b, 64))
        return;
    rp->base = (int64_t)kp_load_be64(b + 8);
    rp->pos = (int64_t)kp_load_be64(b + 16);
    rp->next = (int64_t)kp_load_be64(b + 24);
    rp->max_ts = (int64_t)kp_load_be64(b + 32);
    rp->idx_n = kp_load_be32(b + 40);
    rp->tidx_n = kp_load_be32(b + 44);
    rp->idx_hash = kp_load_be64(b + 48);
    rp->tidx_hash = kp_load_be64(b + 56);
    rp->valid = rp->pos >= 0 && rp->next >= rp->base;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

enum { HAS_TXN = 1, HAS_DIGEST = 2, HAS_IDX = 4, HAS_TIDX = 8 };

/* What a log's directory holds, from one readdir (leftovers of interrupted writes removed). */
struct listing {
    bool exists;    /* the directory exists */
    bool clean;     /* clean-shutdown is there */
    bool fenced;    /* fenced is there */
    bool floor;     /* log-start-offset is there (DeleteRecords) */
    int n;          /* segments (.log files) */
    int64_t *bases; /* ascending */
    uint8_t *flags; /* per segment: HAS_TXN, HAS_DIGEST */
};

static void listing_free(struct listing *ls)
{
    free(ls->bases);
    free(ls->flags);
    memset(ls, 0, sizeof(*ls));
}

/* The base of "<20 digits><suffix>", or -1. */
static int64_t name_base(const char *name, size_t len, const char *suffix)
{
    size_t sl = strlen(suffix);
    if (len != ST_NAME_DIGITS + sl || strcmp(name + ST_NAME_DIGITS, suffix) != 0)
        return -1;
    int64_t base = 0;
    for (int i = 0; i < ST_NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9' || base > (INT64_MAX - 9) / 10)
            return -1;
        base = base * 10 + (name[i] - '0');
    }
    return base;
}

static int push(int64_t **v, int *n, int *cap, int64_t x)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        int64_t *nv = realloc(*v, (size_t)nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = x;
    return 0;
}

static int list_dir(struct st_log *log, struct listing *ls)
{
    memset(ls, 0, sizeof(*ls));
    const char *dir = log->dir;
    DIR *d = opendir(dir);
    if (!d && (errno == EMFILE || errno == ENFILE)) {
        st__fc_relieve(log->store->fc);
        d = opendir(dir);
    }
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    ls->exists = true;
    int64_t *txn = NULL, *dg = NULL, *ix = NULL, *tix = NULL;
    int ntxn = 0, ctxn = 0, ndg = 0, cdg = 0, nix = 0, cix = 0, ntix = 0, ctix = 0, cap = 0,
        err = 0;
    struct dirent *de;
    while (err == 0 && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t len = strlen(name);
        int64_t b;
        if (len > 4 && strcmp(name + len - 4, ".tmp") == 0) {
            char path[ST_MAX_PATH];
            snprintf(path, sizeof(path), "%s/%s", dir, name);
            unlink(path);
        } else if (strcmp(name, ST_CLEAN_NAME) == 0) {
            ls->clean = true;
        } else if (strcmp(name, ST_FENCE_NAME) == 0) {
            ls->fenced = true;
        } else if (strcmp(name, ST_FLOOR_NAME) == 0) {
            ls->floor = true;
        } else if ((b = name_base(name, len, ".log")) >= 0) {
            err = push(&ls->bases, &ls->n, &cap, b);
        } else if ((b = name_base(name, len, ".txnindex")) >= 0) {
            err = push(&txn, &ntxn, &ctxn, b);
        } else if ((b = name_base(name, len, ".digest")) >= 0) {
            err = push(&dg, &ndg, &cdg, b);
        } else if ((b = name_base(name, len, ".index")) >= 0) {
            err = push(&ix, &nix, &cix, b);
        } else if ((b = name_base(name, len, ".timeindex")) >= 0) {
            err = push(&tix, &ntix, &ctix, b);
        }
    }
    closedir(d);
    if (err == 0 && !(ls->flags = calloc(ls->n > 0 ? (size_t)ls->n : 1, 1)))
        err = -ENOMEM;
    if (err == 0) {
        qsort(ls->bases, (size_t)ls->n, sizeof(int64_t), cmp_i64);
        int64_t *lists[4] = {txn, dg, ix, tix};
        int counts[4] = {ntxn, ndg, nix, ntix};
        static const uint8_t bits[4] = {HAS_TXN, HAS_DIGEST, HAS_IDX, HAS_TIDX};
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < counts[k]; i++) {
                int64_t *at =
                    bsearch(&lists[k][i], ls->bases, (size_t)ls->n, sizeof(int64_t), cmp_i64);
                if (at)
                    ls->flags[at - ls->bases] |= bits[k];
            }
        }
    }
    free(txn);
    free(dg);
    free(ix);
    free(tix);
    if (err < 0)
        listing_free(ls);
    return err;
}

static int64_t file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    return (int64_t)st.st_size;
}

/* ftruncate and/or fdatasync of a segment's .log. */
static int seg_cut_sync(struct st_seg *s, int64_t cut)
{
    int err = st__seg_pin(s);
    if (err < 0)
        return err;
    if (cut >= 0 && ftruncate(s->fd, (off_t)cut) < 0)
        err = -errno;
    if (err == 0 && fdatasync(s->fd) < 0)
        err = -errno;
    st__seg_unpin(s);
    return err;
}

/* Resets a segment's writer state and indexes to "empty" before a scan from 0. */
static void seg_reset(struct st_seg *s)
{
    s->w = (struct st_wstate){.next_offset = s->base, .max_ts = -1, .tidx_last_ts = -1};
    st__idx_reset(&s->idx, 0);
    st__idx_reset(&s->tidx, 0);
}

/* Makes room for the entries a scan of [from, fsize) may add. */
static int seg_reserve_for(struct st_seg *s, int64_t from, int64_t fsize)
{
    int64_t step = s->interval > KP_BATCH_HEADER_LEN ? s->interval : KP_BATCH_HEADER_LEN;
    int64_t more = (fsize - from) / step + 2;
    int64_t want_i = (int64_t)s->idx.w + more, want_t = (int64_t)s->tidx.w + more;
    if (want_i > UINT32_MAX / 4 || want_t > UINT32_MAX / 4)
        return -EFBIG;
    int err = st__idx_reserve(&s->idx, (uint32_t)want_i);
    if (err == 0)
        err = st__idx_reserve(&s->tidx, (uint32_t)want_t);
    return err;
}

/* What recovery did to one log, for its report line and the store's totals. */
struct recov {
    int64_t scanned, scanned_bytes, cut, deleted, rebuilt, loaded, fenced_new;
    bool damaged;                                /* the fenced file was damaged and ignored */
    char cut_at[ST_MAX_PATH + ST_WALK_WHY + 64]; /* where and why the log was cut */
};

static void say(struct st_log *log, enum st_msg_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(struct st_log *log, enum st_msg_level lv, const char *fmt, ...)
{
    struct st_store *st = log->store;
    if (!st->msg_fn)
        return;
    char msg[2 * ST_MAX_PATH + 512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    st__say(st, lv, msg);
}

/* The walk's callbacks: the index and writer state follow the accepted batches. */
struct scan_note {
    struct st_seg *s;
    struct st_wstate saved; /* before the last batch noted (for on_undo) */
    uint32_t saved_idx, saved_tidx;
};

static void note_batch(void *arg, int64_t pos, const struct kp_batch_hdr *h)
{
    struct scan_note *sn = arg;
    struct st_seg *s = sn->s;
    assert(pos == s->w.pos);
    (void)pos;
    sn->saved = s->w;
    sn->saved_idx = s->idx.w;
    sn->saved_tidx = s->tidx.w;
    st__seg_note_batch(s, h->base_offset, h->last_offset_delta, (int64_t)kp_batch_size(h),
                       h->max_timestamp);
}

static void note_undo(void *arg)
{
    struct scan_note *sn = arg;
    sn->s->w = sn->saved;
    st__idx_reset(&sn->s->idx, sn->saved_idx);
    st__idx_reset(&sn->s->tidx, sn->saved_tidx);
}

/* A fenced range counts as one batch whose bytes are never read (st_segment.c). */
static void note_fence(void *arg, int64_t pos_lo, int64_t pos_hi, int64_t off_lo, int64_t off_hi)
{
    struct scan_note *sn = arg;
    assert(pos_lo == sn->s->w.pos && off_lo == sn->s->w.next_offset);
    (void)pos_lo;
    st__seg_note_batch(sn->s, off_lo, (int32_t)(off_hi - off_lo - 1), pos_hi - pos_lo, -1);
}

/*
 * Scans [s->w.pos, fsize) batch by batch with THE RULE FOR A GOOD BATCH (st_walk.c), adding
 * index entries by the rule. Bytes below durable are on disk (durable_off: the offset there):
 * a bad batch there is fenced and the scan goes on. Returns 0 and leaves s->w.pos at the end
 * of the last good batch; the caller truncates if that is short of fsize.
 */
static int seg_scan(struct st_log *log, struct st_seg *s, int64_t fsize, int64_t durable,
                    int64_t durable_off, uint8_t *buf, struct recov *rc)
{
    int err = seg_reserve_for(s, s->w.pos, fsize);
    if (err < 0)
        return err;
    struct scan_note sn = {.s = s};
    struct st_walk w;
    memset(&w, 0, sizeof(w));
    w.seg = s;
    w.known = st__fences(s);
    w.limit = fsize;
    w.stop = fsize;
    w.fence_below = durable;
    w.end_pos = durable > s->w.pos ? durable : -1;
    w.end_off = durable_off;
    w.on_batch = note_batch;
    w.on_undo = note_undo;
    w.on_fence = note_fence;
    w.arg = &sn;
    w.buf = buf;
    w.bufcap = ST_SCAN_BUF;
    w.pos = s->w.pos;
    w.next = s->w.next_offset;
    int64_t from = w.pos;
    for (;;) {
        int r = st__walk_run(&w);
        if (r < 0)
            return r;
        if (w.nfound > 0) {
            int added = st__fence_merge(s, w.found, w.nfound);
            if (added < 0)
                return added;
            for (int i = 0; i < w.nfound; i++)
                say(log, ST_MSG_ERROR,
                    "recovery fenced %s-%" PRId32 ": %s bytes [%" PRId64 ", %" PRId64
                    ") offsets [%" PRId64 ", %" PRId64
                    "): %s; reads of those offsets fail, the rest is served",
                    log->topic, log->partition, s->path, w.found[i].pos_lo, w.found[i].pos_hi,
                    w.found[i].off_lo, w.found[i].off_hi, w.why[i]);
            rc->fenced_new += added;
            if (added > 0)
                atomic_fetch_add(&log->store->fence_gen, 1);
            atomic_store(&log->fence_dirty, true);
            w.nfound = 0;
        }
        if (r == 0)
            break;
    }
    assert(w.pos == s->w.pos);
    rc->scanned++;
    rc->scanned_bytes += fsize - from;
    if (w.torn && w.pos < fsize)
        snprintf(rc->cut_at, sizeof(rc->cut_at), "%s byte %" PRId64 " (%s)", s->path, w.pos,
                 w.torn_why);
    return 0;
}

/*
 * Cheap checks of a trusted segment's indexes against its .log (no CRC): entries well formed
 * and filling the file exactly, the last entry pointing at the batch it names, and no entry
 * missing after it (walking the 61-byte headers from there to the end with the entry rule).
 * On success the writer state and both indexes are set up and 0 is returned; 1 means
 * "rebuild"; < 0 an I/O error.
 */
static int seg_check(struct st_seg *s, int64_t fsize)
{
    uint32_t ni = s->idx.filed, nt = s->tidx.filed; /* entries the files held */
    if (ni > 0 && st__oidx_valid_prefix(&s->idx, ni, fsize) != ni)
        return 1;
    if (nt > 0 && st__tidx_valid_prefix(&s->tidx, nt) != nt)
        return 1;
    if ((fsize > 0 && fsize < KP_BATCH_HEADER_LEN) || fsize > INT32_MAX)
        return 1;
    const struct st_fenceset *fs = st__fences(s);
    int64_t pos = 0, next = s->base;
    if (ni > 0) {
        int32_t rel, p;
        st__oidx_get(&s->idx, ni - 1, &rel, &p);
        pos = p;
        next = s->base + rel;
    }
    const struct st_fence *in = st__fence_by_pos(fs, pos);
    if (in && (in->pos_lo != pos || in->off_lo != next))
        return 1; /* the last entry points into a fenced range: rebuild around it */
    int64_t tlast = -1;
    int32_t trel = 0;
    if (nt > 0)
        st__tidx_get(&s->tidx, nt - 1, &tlast, &trel);
    int64_t max_ts = tlast, since = 0;
    int64_t start = pos;
    while (pos < fsize) {
        const struct st_fence *f = st__fence_from_pos(fs, pos);
        if (f && f->pos_lo == pos) {
            /* one batch for the entry rule, never read */
            if ((pos > start && since >= s->interval) || f->off_lo != next)
                return 1;
            since += f->pos_hi - f->pos_lo;
            pos = f->pos_hi;
            next = f->off_hi;
            continue;
        }
        uint8_t b[KP_BATCH_HEADER_LEN];
        struct kp_batch_hdr h;
        if (pos + KP_BATCH_HEADER_LEN > fsize)
            return 1;
        int err = st__seg_read(s, b, sizeof(b), pos);
        if (err < 0)
            return err;
        if (kp_batch_parse_hdr(b, sizeof(b), &h) < 0 || h.base_offset != next ||
            h.last_offset_delta < 0 || pos + (int64_t)kp_batch_size(&h) > fsize ||
            (f && pos + (int64_t)kp_batch_size(&h) > f->pos_lo))
            return 1;
        if (pos > start && since >= s->interval)
            return 1; /* the rule would have added an entry here: the index is short */
        since += (int64_t)kp_batch_size(&h);
        pos += (int64_t)kp_batch_size(&h);
        next = h.base_offset + h.last_offset_delta + 1;
        if (h.max_timestamp > max_ts)
            max_ts = h.max_timestamp;
    }
    if (nt > 0 && trel > next - s->base)
        return 1;
    s->w = (struct st_wstate){.pos = fsize,
                              .next_offset = next,
                              .max_ts = max_ts,
                              .since_entry = since,
                              .tidx_last_ts = tlast};
    s->idx.w = ni;
    s->tidx.w = nt;
    st__idx_publish(&s->idx);
    st__idx_publish(&s->tidx);
    return 0;
}

/*
 * Restores the writer state of segment s at the recovery point if its index prefixes are
 * the ones the record certified; false means "scan from 0".
 */
static bool seg_resume(struct st_seg *s, const struct rp *rp, int64_t fsize)
{
    if (rp->pos > fsize || rp->idx_n > s->idx.filed || rp->tidx_n > s->tidx.filed ||
        rp->next < s->base || rp->next - s->base > INT32_MAX)
        return false;
    if (st__oidx_valid_prefix(&s->idx, rp->idx_n, rp->pos) != rp->idx_n ||
        st__tidx_valid_prefix(&s->tidx, rp->tidx_n) != rp->tidx_n ||
        st__idx_hash_prefix(&s->idx, rp->idx_n) != rp->idx_hash ||
        st__idx_hash_prefix(&s->tidx, rp->tidx_n) != rp->tidx_hash)
        return false;
    if ((rp->pos == 0) != (rp->next == s->base))
        return false;
    int64_t last_pos = 0, tlast = -1;
    if (rp->idx_n > 0) {
        int32_t rel, p;
        st__oidx_get(&s->idx, rp->idx_n - 1, &rel, &p);
        last_pos = p;
    }
    if (rp->tidx_n > 0) {
        int32_t rel;
        st__tidx_get(&s->tidx, rp->tidx_n - 1, &tlast, &rel);
    }
    s->w = (struct st_wstate){.pos = rp->pos,
                              .next_offset = rp->next,
                              .max_ts = rp->max_ts,
                              .since_entry = rp->pos - last_pos,
                              .tidx_last_ts = tlast};
    s->idx.w = rp->idx_n;
    s->tidx.w = rp->tidx_n;
    if (s->idx.filed > rp->idx_n)
        s->idx.filed = rp->idx_n; /* the file is cut to the entries kept when settled */
    if (s->tidx.filed > rp->tidx_n)
        s->tidx.filed = rp->tidx_n;
    st__idx_publish(&s->idx);
    st__idx_publish(&s->tidx);
    return true;
}

/* Sealed segment: does a .digest for exactly this size exist? */
static bool digest_present(struct st_seg *s, int64_t size)
{
    char path[ST_MAX_PATH];
    uint8_t b[ST_DIGEST_HDR];
    st__seg_sibling(s, path, sizeof(path), ".digest");
    int fd = st__fc_open(s->fc, path, O_RDONLY, 0);
    if (fd < 0)
        return false;
    int err = st__pread_full(fd, b, sizeof(b), 0);
    close(fd);
    return err == 0 && memcmp(b, ST_DIGEST_MAGIC, 4) == 0 && (int64_t)kp_load_be64(b + 16) == size;
}

static int64_t first_batch_time(struct st_seg *s)
{
    uint8_t b[KP_BATCH_HEADER_LEN];
    struct kp_batch_hdr h;
    if (s->w.pos >= KP_BATCH_HEADER_LEN && !st__fence_by_pos(st__fences(s), 0) &&
        st__seg_read(s, b, sizeof(b), 0) == 0 && kp_batch_parse_hdr(b, sizeof(b), &h) == 0 &&
        h.max_timestamp >= 0)
        return h.max_timestamp;
    struct stat st;
    if (stat(s->path, &st) == 0)
        return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return -1;
}

/* Whether a clean-shutdown record describes these files: the record of a clean close whose
 * log nothing changed since (appends move the tail's size, rolls its base, retention the
 * first base; nothing else rewrites a segment). */
static bool rec_matches(const struct st_clean *c, const struct listing *ls, const int64_t *sizes)
{
    if (c->legacy)
        return true; /* an earlier version's marker: removed before any change, so clean */
    return c->valid && ls->n > 0 && c->segments == ls->n && c->first_base == ls->bases[0] &&
           c->tail_base == ls->bases[ls->n - 1] && c->tail_size == sizes[ls->n - 1];
}

/*
 * Opens every segment of the listing and recovers; fills *segs with the ones that remain.
 * *trusted: the log's clean-shutdown record matched, so its files were taken as they are
 * (sealed segments are not read at all: their indexes map at first use, their largest
 * timestamps are read at first need; the active one's index is loaded and checked).
 */
static int recover(struct st_log *log, const struct listing *ls, struct st_segvec **out,
                   struct recov *rc, bool *trusted)
{
    int nb = ls->n;
    const int64_t *bases = ls->bases;
    int64_t *sizes = NULL;
    bool *check = NULL;  /* per segment: read and checked (not taken as it is) */
    bool *intact = NULL; /* per segment: sealed, checked, found as its seal left it */
    int err = 0;
    *trusted = false;
    struct st_segvec *v = st__segvec_new(nb > 0 ? nb : 1);
    uint8_t *buf = NULL;
    if (!v || !(sizes = calloc(nb > 0 ? (size_t)nb : 1, sizeof(*sizes)))) {
        free(v);
        return -ENOMEM;
    }
    v->n = 0;
    if (nb == 0) {
        /* no segment: an empty log, whose first append creates the .log (and the directory
         * when there is none: a partition never written has no files at all) */
        struct st_seg *s;
        err =
            st__seg_open(log->dir, 0, log->cfg.index_interval_bytes, 0, false, log->store->fc, &s);
        if (err < 0)
            goto out;
        s->absent = true;
        v->s[v->n++] = s;
        *trusted = true;
        goto done;
    }
    for (int i = 0; i < nb; i++) {
        struct st_seg *s;
        err = st__seg_open(log->dir, bases[i], log->cfg.index_interval_bytes, 0, false,
                           log->store->fc, &s);
        if (err < 0)
            goto out;
        v->s[v->n++] = s;
        s->has_txn = ls->flags[i] & HAS_TXN;
        if ((sizes[i] = file_size(s->path)) < 0) {
            err = (int)sizes[i];
            goto out;
        }
    }
    /* (a log left dormant by the log checkpoint is recovered as after a crash) */
    *trusted = ls->clean && !log->ck_dormant && rec_matches(&log->rec, ls, sizes);
    /* a trusted log's sealed segment is taken as it is, unless an index file is missing
     * (deleted to have it rebuilt, as with Kafka): that one is checked like any other */
    check = calloc(nb > 0 ? (size_t)nb : 1, sizeof(bool));
    intact = calloc(nb > 0 ? (size_t)nb : 1, sizeof(bool));
    if (!check || !intact) {
        err = -ENOMEM;
        goto out;
    }
    for (int i = 0; i < nb; i++)
        check[i] = !*trusted || i == nb - 1 ||
                   (ls->flags[i] & (HAS_IDX | HAS_TIDX)) != (HAS_IDX | HAS_TIDX);
    for (int i = 0; i < nb; i++) {
        /* the index files, into memory for the checks below (a sealed segment's copy is
         * dropped once recovery is done with it); a trusted log reads only its active one's */
        struct st_seg *s = v->s[i];
        uint32_t k;
        /* (a file the listing did not see is not there: nothing to open) */
        if (check[i] && (((ls->flags[i] & HAS_IDX) && (err = st__idx_load(s, &s->idx, &k)) < 0) ||
                         ((ls->flags[i] & HAS_TIDX) && (err = st__idx_load(s, &s->tidx, &k)) < 0)))
            goto out;
    }

    /* fenced ranges first: every check and scan below passes over them */
    int loaded = ls->fenced ? st__fence_load(log, v, sizes, &rc->damaged) : 0;
    if (loaded < 0) {
        err = loaded;
        goto out;
    }
    rc->loaded = loaded;
    if (rc->damaged)
        say(log, ST_MSG_ERROR,
            "%s/%s is damaged and ignored: ranges fenced before are served again until the "
            "scrubber finds them",
            log->dir, ST_FENCE_NAME);
    for (int i = 0; i < nb; i++) {
        const struct st_fenceset *fs = st__fences(v->s[i]);
        for (uint32_t k = 0; fs && k < fs->n; k++)
            say(log, ST_MSG_WARN,
                "fenced %s-%" PRId32 ": %s bytes [%" PRId64 ", %" PRId64 ") offsets [%" PRId64
                ", %" PRId64 ") (found before; reads of those offsets fail)",
                log->topic, log->partition, v->s[i]->path, fs->f[k].pos_lo, fs->f[k].pos_hi,
                fs->f[k].off_lo, fs->f[k].off_hi);
    }

    struct rp rp;
    memset(&rp, 0, sizeof(rp));
    /* first segment that must be scanned (nb = none), and whether it resumes at the RP */
    int scan_from = nb;
    bool resume = false;
    if (!*trusted) {
        rp_read(log, &rp);
        scan_from = 0;
        if (rp.valid) {
            for (int i = 0; i < nb; i++) {
                if (bases[i] >= rp.base) {
                    scan_from = i;
                    resume = bases[i] == rp.base;
                    break;
                }
                scan_from = i + 1 < nb ? i + 1 : nb - 1;
            }
        }
    }

    int keep = nb;
    for (int i = 0; i < nb; i++) {
        struct st_seg *s = v->s[i];
        int64_t fsize = sizes[i];
        if (!check[i]) {
            /* sealed, synced and indexed before the clean close: taken as it is */
            s->w = (struct st_wstate){.pos = fsize,
                                      .next_offset = bases[i + 1],
                                      .max_ts = ST_TS_UNKNOWN,
                                      .tidx_last_ts = -1};
            continue;
        }
        if (i > 0 && s->base != v->s[i - 1]->w.next_offset) {
            keep = i; /* a gap or overlap: the log ends at the previous segment */
            break;
        }
        bool scan = i >= scan_from, resumed = false;
        if (!scan) {
            int r = seg_check(s, fsize);
            if (r < 0) {
                err = r;
                goto out;
            }
            scan = r == 1;
            if (scan)
                seg_reset(s);
            /* Sealed and untouched: its index files hold exactly the entries the check
             * accepted, and its .digest (for this size) is written only after the .log and
             * both index files were synced (FSYNC ORDER, sync 1 and 5): nothing to settle,
             * write or sync again (a crash soon after writes to many partitions re-checks
             * their sealed segments, it need not re-write them). */
            intact[i] = !scan && i + 1 < nb && s->idx.whole && s->tidx.whole &&
                        (ls->flags[i] & (HAS_IDX | HAS_TIDX)) == (HAS_IDX | HAS_TIDX) &&
                        (ls->flags[i] & HAS_DIGEST) && digest_present(s, fsize);
        } else if (i == scan_from && resume && seg_resume(s, &rp, fsize)) {
            resumed = true;
        } else {
            seg_reset(s);
        }
        if (scan) {
            /* bytes known to be on disk (a bad batch there is fenced, not cut), and the
             * offset where they end: the RECOVERY RULE in st_segment.c */
            int64_t durable = 0, durable_off = -1;
            if (*trusted && !rp.valid)
                rp_read(log, &rp); /* the clean close's: it covers the whole tail */
            if (rp.valid && bases[i] == rp.base && rp.pos <= fsize) {
                durable = rp.pos;
                durable_off = rp.next;
            }
            if (i + 1 < nb &&
                (i < scan_from || ((ls->flags[i] & HAS_DIGEST) && digest_present(s, fsize)))) {
                durable = fsize;
                durable_off = bases[i + 1];
            }
            if (!buf && !(buf = malloc(ST_SCAN_BUF))) {
                err = -ENOMEM;
                goto out;
            }
            if ((err = seg_scan(log, s, fsize, durable, durable_off, buf, rc)) < 0)
                goto out;
            if (!resumed)
                rc->rebuilt++;
            st__idx_publish(&s->idx);
            st__idx_publish(&s->tidx);
            /* the first bad or torn batch: cut there, drop everything after; and what was
             * scanned may only be in the page cache (a crashed process): fdatasync */
            if ((err = seg_cut_sync(s, s->w.pos < fsize ? s->w.pos : -1)) < 0)
                goto out;
            if (s->w.pos < fsize) {
                rc->cut += fsize - s->w.pos;
                st__fence_cut(s, s->w.pos);
                keep = i + 1;
            }
            char dp[ST_MAX_PATH];
            st__seg_sibling(s, dp, sizeof(dp), ".digest");
            if (s->w.pos < fsize)
                unlink(dp);
            log->dir_dirty = true;
        }
        if (keep == i + 1)
            break;
    }
    for (int i = keep; i < v->n; i++) {
        if (st__fences(v->s[i]))
            atomic_store(&log->fence_dirty, true);
        rc->cut += sizes[i];
        rc->deleted++;
        st__seg_unlink(v->s[i]);
        st__seg_put(v->s[i]);
        log->dir_dirty = true;
    }
    v->n = keep;

done:
    /* Sealed segments: settle their indexes, note their digests; the last one is active. */
    for (int i = 0; i < v->n; i++) {
        struct st_seg *s = v->s[i];
        bool tail = i == v->n - 1;
        atomic_store(&s->size_end, s->w.next_offset);
        atomic_store(&s->size, s->w.pos);
        atomic_store(&s->max_ts, s->w.max_ts);
        s->grace = &log->grace;
        if (!tail && nb > 0 && !check[i]) {
            /* the files as the clean close left them: lookups map them at first use */
            atomic_store(&s->idx.n, ST_IDX_ALL);
            atomic_store(&s->tidx.n, ST_IDX_ALL);
            atomic_store(&s->sealed, true);
            atomic_store(&s->synced, true);
            bool dg = ls->flags[i] & HAS_DIGEST;
            atomic_store(&s->digested, dg);
            if (!dg)
                atomic_store(&log->seal_pending, true);
            continue;
        }
        bool as_sealed = intact && intact[i];
        uint8_t fl = ls->flags && i < ls->n ? ls->flags[i] : 0;
        /* the index files hold exactly the entries kept (rebuilt ones are written now; no
         * file and no entry: nothing to settle) */
        if (!as_sealed &&
            ((((fl & HAS_IDX) || s->idx.w > 0) && (err = st__idx_settle(s, &s->idx)) < 0) ||
             (((fl & HAS_TIDX) || s->tidx.w > 0) && (err = st__idx_settle(s, &s->tidx)) < 0)))
            goto out;
        if (!tail) {
            if (!as_sealed &&
                ((err = st__idx_seal_file(s, &s->idx)) < 0 ||
                 (err = st__idx_seal_file(s, &s->tidx)) < 0 ||
                 (err = st__idx_sync(s, &s->idx)) < 0 || (err = st__idx_sync(s, &s->tidx)) < 0))
                goto out;
            /* sealed: lookups map the file (nobody sees the segment yet: no grace needed) */
            st__idx_detach(&s->idx);
            st__idx_detach(&s->tidx);
            st__idx_drop_mem(&s->idx);
            st__idx_drop_mem(&s->tidx);
            atomic_store(&s->sealed, true);
            atomic_store(&s->synced, true); /* trusted, or scanned and synced above */
            bool dg = as_sealed || digest_present(s, s->w.pos);
            atomic_store(&s->digested, dg);
            if (!dg)
                atomic_store(&log->seal_pending, true);
        } else if (s->w.pos == 0) {
            /* empty: its first append sets up a running digest (st__seg_prepare) */
            s->idx.limit = s->tidx.limit = st__log_idx_cap(&log->cfg);
            s->rd_chunks = st__log_digest_chunks(&log->cfg);
            s->prepared = false;
            s->first_append_ms = -1;
        } else {
            s->idx.limit = s->tidx.limit = st__log_idx_cap(&log->cfg);
            s->prepared = true;
            s->first_append_ms = first_batch_time(s);
        }
        if (tail) /* everything recovery kept is on disk: the scrubber may check it all */
            s->mark = (struct st_mark){.pos = s->w.pos, .next = s->w.next_offset};
    }
    err = 0;
out:
    free(sizes);
    free(check);
    free(intact);
    free(buf);
    if (err < 0) {
        for (int i = 0; i < v->n; i++)
            st__seg_put(v->s[i]);
        free(v);
        return err;
    }
    *out = v;
    return 0;
}

/* One line for a log that needed work, and the store's totals while it opens. */
static void report(struct st_log *log, bool clean, const struct recov *rc,
                   const struct st_segvec *v)
{
    struct st_store *st = log->store;
    if (st->opening) {
        pthread_mutex_lock(&st->open_mu);
        struct st_recovery_report *t = &st->recovery;
        t->logs++;
        t->unclean += !clean;
        t->segments_scanned += rc->scanned;
        t->bytes_scanned += rc->scanned_bytes;
        t->bytes_cut += rc->cut;
        t->indexes_rebuilt += rc->rebuilt;
        t->fenced_loaded += rc->loaded;
        t->fenced_new += rc->fenced_new;
        pthread_mutex_unlock(&st->open_mu);
    }
    if (clean && rc->scanned == 0 && rc->cut == 0 && rc->loaded == 0 && !rc->damaged)
        return;
    char cut[sizeof(rc->cut_at) + 96] = "";
    if (rc->cut > 0)
        snprintf(cut, sizeof(cut), " at %s, %" PRId64 " later segment(s) deleted",
                 rc->cut_at[0] ? rc->cut_at : "the first gap", rc->deleted);
    bool loud = !clean || rc->cut > 0 || rc->fenced_new > 0;
    say(log, loud ? ST_MSG_WARN : ST_MSG_INFO,
        "recovered %s-%" PRId32 " (%s): %" PRId64 " segment(s) scanned (%" PRId64
        " bytes, CRC-32C and header continuity), %" PRId64 " bytes cut%s, %" PRId64
        " index(es) rebuilt, %" PRId64 " fenced range(s) (%" PRId64 " found before, %" PRId64
        " new); %d segment(s), offsets [%" PRId64 ", %" PRId64 ")",
        log->topic, log->partition, clean ? "clean shutdown" : "after a crash", rc->scanned,
        rc->scanned_bytes, rc->cut, cut, rc->rebuilt, rc->loaded + rc->fenced_new, rc->loaded,
        rc->fenced_new, v->n, v->s[0]->base, v->s[v->n - 1]->w.next_offset);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Producer state (PRODUCER STATE RECOVERY in st_pstate.c). When batch headers were replayed,
 * their .txnindex entries are synced and a snapshot as of the end is written, so the next
 * open after a crash starts from here (recovery synced every byte it kept).
 */
static int pstate_recover(struct st_log *log, bool clean, int64_t *replayed)
{
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    struct st_ps_recovery pr;
    int err = st__ps_recover(log, v, wall_ms(), &pr);
    if (err < 0)
        return err;
    int64_t end = v->s[v->n - 1]->w.next_offset;
    struct st_store *st = log->store;
    if (st->opening) {
        pthread_mutex_lock(&st->open_mu);
        st->recovery.pstate_bytes += pr.bytes;
        st->recovery.txnidx_damaged += pr.damaged;
        pthread_mutex_unlock(&st->open_mu);
    }
    if (pr.bytes > 0 || pr.damaged > 0 || pr.stopped > 0) {
        bool loud = pr.damaged > 0 || pr.stopped > 0;
        char from[64] = "the log start (no snapshot)";
        if (pr.snapshot >= 0)
            snprintf(from, sizeof(from), "the snapshot at %" PRId64, pr.snapshot);
        say(log, loud ? ST_MSG_WARN : ST_MSG_INFO,
            "producer state of %s-%" PRId32 " (%s): from %s, %" PRId64
            " bytes of batches replayed by their headers, %d damaged .txnindex file(s) cut and "
            "rebuilt, %d segment(s) whose headers stopped making sense; %" PRIu32
            " producer(s), %" PRIu32 " open transaction(s), last stable offset %" PRId64,
            log->topic, log->partition, clean ? "clean shutdown" : "after a crash", from, pr.bytes,
            pr.damaged, pr.stopped, log->ps.n, log->ps.nong, atomic_load(&log->lso));
    }
    *replayed = pr.bytes + pr.damaged;
    if (pr.bytes == 0 && pr.damaged == 0)
        return 0;
    for (int i = 0; i < v->n; i++)
        if ((err = st__txnidx_sync(v->s[i])) < 0)
            return err;
    uint8_t *b;
    size_t len;
    if ((err = st__ps_snap_encode(log, end, &b, &len)) < 0)
        return err;
    err = st__ps_snap_write(log->dir, end, b, len);
    free(b);
    if (err == 0)
        err = st_fsync_dir(log->dir);
    if (err < 0)
        return err;
    st__ps_snap_prune(log->dir, pr.snapshot >= 0 && pr.snapshot < end ? pr.snapshot : end);
    log->snap_newest = end;
    return 0;
}

int st__log_new(struct st_store *store, const char *topic, int32_t partition,
                const struct st_log_config *cfg, struct st_log **out)
{
    char path[ST_MAX_PATH];
    struct st_log *log = calloc(1, sizeof(*log));
    if (!log)
        return -ENOMEM;
    atomic_init(&log->refs, 1);
    atomic_init(&log->state, ST_LOG_DORMANT);
    log->store = store;
    log->partition = partition;
    log->cfg = *cfg;
    if (log->cfg.index_interval_bytes < 0)
        log->cfg.index_interval_bytes = 0;
    if (log->cfg.segment_bytes <= 0 || log->cfg.segment_bytes > INT32_MAX)
        log->cfg.segment_bytes = INT32_MAX;
    pthread_mutex_init(&log->mu, NULL);
    pthread_mutex_init(&log->sync_mu, NULL);
    pthread_mutex_init(&log->fence_mu, NULL);
    pthread_mutex_init(&log->hw_mu, NULL);
    snprintf(path, sizeof(path), "%s/%s-%" PRId32, store->dir, topic, partition);
    log->topic = strdup(topic);
    log->dir = strdup(path);
    if (!log->topic || !log->dir) {
        st__log_free(log);
        return -ENOMEM;
    }
    /* no files: an empty log, until its first append creates them */
    log->rec = (struct st_clean){.valid = true, .lso = 0, .first_time = -1};
    log->snap_newest = -1;
    log->clean_next = -1;
    log->pristine = true;
    log->ck_slot = -1;
    *out = log;
    return 0;
}

void st__clean_decode(const uint8_t *b, struct st_clean *c)
{
    memset(c, 0, sizeof(*c));
    if (memcmp(b, ST_CLEAN_MAGIC, 4) != 0 || kp_load_be32(b + 4) != 1 ||
        kp_load_be32(b + 96) != kp_crc32c(0, b, 96))
        return;
    *c = (struct st_clean){
        .valid = true,
        .first_base = (int64_t)kp_load_be64(b + 8),
        .tail_base = (int64_t)kp_load_be64(b + 16),
        .tail_size = (int64_t)kp_load_be64(b + 24),
        .end = (int64_t)kp_load_be64(b + 32),
        .lso = (int64_t)kp_load_be64(b + 40),
        .bytes = (int64_t)kp_load_be64(b + 48),
        .segments = (int32_t)kp_load_be32(b + 56),
        .fenced_ranges = (int32_t)kp_load_be32(b + 60),
        .fenced_bytes = (int64_t)kp_load_be64(b + 64),
        .first_size = (int64_t)kp_load_be64(b + 72),
        .first_time = (int64_t)kp_load_be64(b + 80),
        .floor = (int64_t)kp_load_be64(b + 88),
    };
    if (c->first_base < 0 || c->tail_base < c->first_base || c->end < c->tail_base ||
        c->lso < c->first_base || c->lso > c->end || c->tail_size < 0 || c->segments < 1 ||
        c->bytes < c->tail_size || c->fenced_ranges < 0 || c->fenced_bytes < 0 || c->floor < 0 ||
        c->floor > c->end)
        c->valid = false;
}

void st__clean_encode_rec(const struct st_clean *c, uint8_t *b)
{
    memset(b, 0, ST_CLEAN_SIZE);
    memcpy(b, ST_CLEAN_MAGIC, 4);
    kp_store_be32(b + 4, 1);
    kp_store_be64(b + 8, (uint64_t)c->first_base);
    kp_store_be64(b + 16, (uint64_t)c->tail_base);
    kp_store_be64(b + 24, (uint64_t)c->tail_size);
    kp_store_be64(b + 32, (uint64_t)c->end);
    kp_store_be64(b + 40, (uint64_t)c->lso);
    kp_store_be64(b + 48, (uint64_t)c->bytes);
    kp_store_be32(b + 56, (uint32_t)c->segments);
    kp_store_be32(b + 60, (uint32_t)c->fenced_ranges);
    kp_store_be64(b + 64, (uint64_t)c->fenced_bytes);
    kp_store_be64(b + 72, (uint64_t)c->first_size);
    kp_store_be64(b + 80, (uint64_t)c->first_time);
    kp_store_be64(b + 88, (uint64_t)c->floor);
    kp_store_be32(b + 96, kp_crc32c(0, b, 96));
}

/* Reads the log's clean-shutdown record (CLEAN-SHUTDOWN RECORD in st_segment.c). */
static void rec_read(struct st_log *log, struct st_clean *c, bool *missing)
{
    char path[ST_MAX_PATH];
    uint8_t b[ST_CLEAN_SIZE];
    memset(c, 0, sizeof(*c));
    *missing = false;
    snprintf(path, sizeof(path), "%s/%s", log->dir, ST_CLEAN_NAME);
    int fd = st__fc_open(log->store->fc, path, O_RDONLY, 0);
    if (fd < 0) {
        *missing = fd == -ENOENT;
        return;
    }
    ssize_t n = pread(fd, b, sizeof(b), 0);
    close(fd);
    if (n == 0) {
        c->valid = c->legacy = true;
        return;
    }
    if (n == (ssize_t)sizeof(b))
        st__clean_decode(b, c);
}

/* Publishes what a dormant log answers with: the record's offsets. */
static void rec_publish(struct st_log *log)
{
    const struct st_clean *c = &log->rec;
    atomic_store(&log->floor_offset, c->floor);
    atomic_store(&log->start_offset, c->first_base > c->floor ? c->first_base : c->floor);
    atomic_store(&log->end_offset, c->end);
    atomic_store(&log->durable_offset, c->end);
    atomic_store(&log->lso, c->lso);
}

int st__log_load(struct st_log *log, bool lazy, bool *recover)
{
    *recover = false;
    if (!lazy && st__ck_dormant(log)) {
        /* unchanged since the log checkpoint (st_ckpt.c): as after a clean close, except
         * that its first use recovers it as after a crash */
        rec_publish(log);
        log->store->recovery.dormant++;
        log->store->recovery.ckpt_dormant++;
        return 0;
    }
    bool missing;
    rec_read(log, &log->rec, &missing);
    if (!log->rec.valid && missing && access(log->dir, F_OK) < 0 && errno == ENOENT) {
        /* never written: no directory, nothing to open */
        log->rec = (struct st_clean){.valid = true, .lso = 0, .first_time = -1};
        rec_publish(log);
        if (log->store->opening)
            log->store->recovery.dormant++;
        return 0;
    }
    if (lazy && log->rec.valid && !log->rec.legacy) {
        rec_publish(log); /* opened at its first use (st__log_activate) */
        if (log->store->opening)
            log->store->recovery.dormant++;
        return 0;
    }
    *recover = true;
    return 0;
}

/* The activation proper (sync_mu held, the log dormant). */
static int log_activate(struct st_log *log)
{
    struct listing ls;
    int err = st__clean_recover(log); /* a cleaning's swap, finished or undone */
    if (err == 0)
        err = list_dir(log, &ls);
    if (err < 0)
        return err;
    struct st_segvec *v;
    struct recov rc;
    memset(&rc, 0, sizeof(rc));
    bool trusted;
    if ((err = recover(log, &ls, &v, &rc, &trusted)) < 0) {
        listing_free(&ls);
        return err;
    }
    bool stale = ls.clean && !trusted;
    /* DeleteRecords' low watermark, never past what recovery kept */
    int64_t floor = ls.floor ? st__floor_load(log) : 0;
    listing_free(&ls);
    if (floor > v->s[v->n - 1]->w.next_offset)
        floor = v->s[v->n - 1]->w.next_offset;
    atomic_store(&log->floor_offset, floor);
    st__log_set_segs(log, v);
    if (atomic_load(&log->fence_dirty) && (err = st__fence_persist(log)) < 0)
        say(log, ST_MSG_ERROR,
            "%s/%s cannot be written (%s): the fenced ranges hold until a restart; the "
            "scrubber retries the write",
            log->dir, ST_FENCE_NAME, strerror(-err));
    report(log, trusted, &rc, v);
    struct st_seg *tail = v->s[v->n - 1];
    int64_t replayed = 0;
    if ((err = pstate_recover(log, trusted, &replayed)) < 0)
        return err;
    atomic_store(&log->end_offset, tail->w.next_offset);
    atomic_store(&log->durable_offset, tail->w.next_offset);
    atomic_store(&log->last_sync_mono_ms, st__mono_ms());
    st__seg_ref(tail);
    st__seg_put(log->synced_seg);
    log->synced_seg = tail;
    log->synced_pos = tail->w.pos;
    /* A record that no longer describes the files (the log changed after it was written and
     * the process did not close cleanly) goes: the next clean close writes a true one. */
    if (stale) {
        char path[ST_MAX_PATH];
        snprintf(path, sizeof(path), "%s/%s", log->dir, ST_CLEAN_NAME);
        unlink(path);
    }
    /* Unchanged since a clean close (or never written): closing needs no sync, and its record
     * stays true. Recovery's own changes (scans, cuts, fences, a replay) make it un-pristine. */
    pthread_mutex_lock(&log->mu);
    log->pristine = trusted && !log->rec.legacy && rc.scanned == 0 && rc.cut == 0 &&
                    rc.fenced_new == 0 && replayed == 0 && !atomic_load(&log->fence_dirty);
    pthread_mutex_unlock(&log->mu);
    log->ck_dormant = false;
    atomic_store_explicit(&log->state, ST_LOG_OPEN, memory_order_release);
    return 0;
}

int st__log_reload(struct st_log *log)
{
    struct listing ls;
    int err = list_dir(log, &ls);
    if (err < 0)
        return err;
    struct st_segvec *v;
    struct recov rc;
    memset(&rc, 0, sizeof(rc));
    bool trusted;
    err = recover(log, &ls, &v, &rc, &trusted);
    int64_t floor = ls.floor ? st__floor_load(log) : 0;
    listing_free(&ls);
    if (err < 0)
        return err;
    struct st_seg *tail = v->s[v->n - 1];
    if (floor > tail->w.next_offset)
        floor = tail->w.next_offset;
    atomic_store(&log->floor_offset, floor);
    struct st_segvec *old = atomic_load_explicit(&log->segs, memory_order_relaxed);
    int nold = old->n;
    struct st_seg **gone = malloc((size_t)nold * sizeof(*gone));
    if (!gone) {
        for (int i = 0; i < v->n; i++)
            st__seg_put(v->s[i]);
        free(v);
        return -ENOMEM;
    }
    memcpy(gone, old->s, (size_t)nold * sizeof(*gone));
    st__log_set_segs(log, v); /* a grace period: no reader is left in the old list */
    for (int i = 0; i < nold; i++)
        st__seg_put(gone[i]);
    free(gone);
    st__ps_free(log);
    int64_t replayed = 0;
    if ((err = pstate_recover(log, false, &replayed)) < 0)
        return err;
    atomic_store(&log->end_offset, tail->w.next_offset);
    atomic_store(&log->lso, st__ps_lso(log, tail->w.next_offset));
    int64_t d = atomic_load(&log->durable_offset);
    if (d > tail->w.next_offset)
        atomic_store(&log->durable_offset, tail->w.next_offset);
    st__seg_ref(tail);
    st__seg_put(log->synced_seg);
    log->synced_seg = tail;
    log->synced_pos = tail->w.pos; /* recovery synced every byte it kept */
    log->pristine = false;
    log->dir_dirty = true;
    return 0;
}

int st__log_activate(struct st_log *log)
{
    if (st__log_open(log))
        return 0;
    pthread_mutex_lock(&log->sync_mu);
    pthread_mutex_lock(&log->mu);
    int err = log->deleted ? -ENOENT : log->closed ? -ESHUTDOWN : 0;
    pthread_mutex_unlock(&log->mu);
    if (err == 0 && !st__log_open(log))
        err = log_activate(log);
    pthread_mutex_unlock(&log->sync_mu);
    return err;
}
