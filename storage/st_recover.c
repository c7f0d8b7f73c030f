/*
 * st_recover — opening a partition log: load its fenced ranges, find its segments, decide
 * what to trust, scan the rest batch by batch (st_walk.c), fence bad batches in bytes known
 * to be on disk, truncate at the first bad batch of an unsynced tail, rebuild indexes, and
 * say what was done. The rule is written out under RECOVERY RULE at the top of st_segment.c;
 * this file implements it.
 *
 * Runs single-threaded at store open (or topic create), before the log is visible to anyone.
 * Messages go to the store's st_msg_fn (st_store_open_logged), only while the store opens.
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

static void rp_read(const char *dir, struct rp *rp)
{
    char path[ST_MAX_PATH];
    uint8_t b[ST_RP_SIZE];
    memset(rp, 0, sizeof(*rp));
    snprintf(path, sizeof(path), "%s/%s", dir, ST_RP_NAME);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
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

/* Segment base offsets found in dir, ascending; removes leftovers of interrupted writes. */
static int list_segments(const char *dir, int64_t **out, int *nout)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int n = 0, cap = 16;
    int64_t *v = malloc((size_t)cap * sizeof(*v));
    if (!v) {
        closedir(d);
        return -ENOMEM;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t len = strlen(name);
        if (len > 4 && strcmp(name + len - 4, ".tmp") == 0) {
            char path[ST_MAX_PATH];
            snprintf(path, sizeof(path), "%s/%s", dir, name);
            unlink(path);
            continue;
        }
        if (len != ST_NAME_DIGITS + 4 || strcmp(name + ST_NAME_DIGITS, ".log") != 0)
            continue;
        int64_t base = 0;
        bool ok = true;
        for (int i = 0; i < ST_NAME_DIGITS; i++) {
            if (name[i] < '0' || name[i] > '9' || base > (INT64_MAX - 9) / 10) {
                ok = false;
                break;
            }
            base = base * 10 + (name[i] - '0');
        }
        if (!ok)
            continue;
        if (n == cap) {
            int64_t *nv = realloc(v, (size_t)cap * 2 * sizeof(*v));
            if (!nv) {
                free(v);
                closedir(d);
                return -ENOMEM;
            }
            v = nv;
            cap *= 2;
        }
        v[n++] = base;
    }
    closedir(d);
    qsort(v, (size_t)n, sizeof(*v), cmp_i64);
    *out = v;
    *nout = n;
    return 0;
}

static int64_t file_size(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    return (int64_t)st.st_size;
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
    st->msg_fn(st->msg_arg, lv, msg);
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
    if (s->idx.cap > 0 && st__oidx_valid_prefix(&s->idx, s->idx.cap, fsize) != s->idx.cap)
        return 1;
    if (s->tidx.cap > 0 && st__tidx_valid_prefix(&s->tidx, s->tidx.cap) != s->tidx.cap)
        return 1;
    if ((fsize > 0 && fsize < KP_BATCH_HEADER_LEN) || fsize > INT32_MAX)
        return 1;
    const struct st_fenceset *fs = st__fences(s);
    int64_t pos = 0, next = s->base;
    if (s->idx.cap > 0) {
        int32_t rel, p;
        st__oidx_get(&s->idx, s->idx.cap - 1, &rel, &p);
        pos = p;
        next = s->base + rel;
    }
    const struct st_fence *in = st__fence_by_pos(fs, pos);
    if (in && (in->pos_lo != pos || in->off_lo != next))
        return 1; /* the last entry points into a fenced range: rebuild around it */
    int64_t tlast = -1;
    int32_t trel = 0;
    if (s->tidx.cap > 0)
        st__tidx_get(&s->tidx, s->tidx.cap - 1, &tlast, &trel);
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
        int err = st__pread_full(s->fd, b, sizeof(b), pos);
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
    if (s->tidx.cap > 0 && trel > next - s->base)
        return 1;
    s->w = (struct st_wstate){.pos = fsize,
                              .next_offset = next,
                              .max_ts = max_ts,
                              .since_entry = since,
                              .tidx_last_ts = tlast};
    s->idx.w = s->idx.cap;
    s->tidx.w = s->tidx.cap;
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
    if (rp->pos > fsize || rp->idx_n > s->idx.cap || rp->tidx_n > s->tidx.cap ||
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
    st__idx_publish(&s->idx);
    st__idx_publish(&s->tidx);
    return true;
}

static bool file_exists(const char *path) { return access(path, F_OK) == 0; }

/* Sealed segment: does a .digest for exactly this size exist? */
static bool digest_present(struct st_seg *s, int64_t size)
{
    char path[ST_MAX_PATH];
    uint8_t b[ST_DIGEST_HDR];
    st__seg_sibling(s, path, sizeof(path), ".digest");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
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
        st__pread_full(s->fd, b, sizeof(b), 0) == 0 && kp_batch_parse_hdr(b, sizeof(b), &h) == 0 &&
        h.max_timestamp >= 0)
        return h.max_timestamp;
    struct stat st;
    if (fstat(s->fd, &st) == 0)
        return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return -1;
}

/* Opens every segment and recovers; fills *segs with the ones that remain. */
static int recover(struct st_log *log, bool clean, struct st_segvec **out, struct recov *rc)
{
    int64_t *bases = NULL, *sizes = NULL;
    int nb = 0;
    int err = list_segments(log->dir, &bases, &nb);
    if (err < 0)
        return err;
    struct st_segvec *v = st__segvec_new(nb > 0 ? nb : 1);
    uint8_t *buf = NULL;
    if (!v || !(sizes = calloc(nb > 0 ? (size_t)nb : 1, sizeof(*sizes)))) {
        free(v);
        free(bases);
        return -ENOMEM;
    }
    v->n = 0;
    if (nb == 0) {
        struct st_seg *s;
        err = st__seg_open(log->dir, 0, log->cfg.index_interval_bytes, 0, true, &s);
        if (err < 0)
            goto out;
        v->s[v->n++] = s;
        log->dir_dirty = true;
        log->pristine = true; /* a new, empty log */
        goto done;
    }
    for (int i = 0; i < nb; i++) {
        struct st_seg *s;
        err = st__seg_open(log->dir, bases[i], log->cfg.index_interval_bytes, 0, false, &s);
        if (err < 0)
            goto out;
        v->s[v->n++] = s;
        if ((sizes[i] = file_size(s->fd)) < 0) {
            err = (int)sizes[i];
            goto out;
        }
    }

    /* fenced ranges first: every check and scan below passes over them */
    int loaded = st__fence_load(log, v, sizes, &rc->damaged);
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
    rp_read(log->dir, &rp);
    /* first segment that must be scanned (nb = none), and whether it resumes at the RP */
    int scan_from = nb;
    bool resume = false;
    if (!clean) {
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
        } else if (i == scan_from && resume && seg_resume(s, &rp, fsize)) {
            resumed = true;
        } else {
            seg_reset(s);
        }
        if (scan) {
            /* bytes known to be on disk (a bad batch there is fenced, not cut), and the
             * offset where they end: the RECOVERY RULE in st_segment.c */
            int64_t durable = 0, durable_off = -1;
            if (rp.valid && bases[i] == rp.base && rp.pos <= fsize) {
                durable = rp.pos;
                durable_off = rp.next;
            }
            if ((i < scan_from || digest_present(s, fsize)) && i + 1 < nb) {
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
            if (s->w.pos < fsize) {
                /* the first bad or torn batch: cut here, drop everything after */
                if (ftruncate(s->fd, (off_t)s->w.pos) < 0) {
                    err = -errno;
                    goto out;
                }
                rc->cut += fsize - s->w.pos;
                st__fence_cut(s, s->w.pos);
                keep = i + 1;
            }
            /* what was scanned may only be in the page cache (a crashed process) */
            if (fdatasync(s->fd) < 0) {
                err = -errno;
                goto out;
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
    /* Sealed segments: trim their indexes, note their digests; the last one is active. */
    for (int i = 0; i < v->n; i++) {
        struct st_seg *s = v->s[i];
        bool tail = i == v->n - 1;
        atomic_store(&s->size, s->w.pos);
        atomic_store(&s->max_ts, s->w.max_ts);
        if (!tail) {
            if (s->idx.cap != s->idx.w || s->tidx.cap != s->tidx.w) {
                if ((err = st__idx_trim(&s->idx)) < 0 || (err = st__idx_trim(&s->tidx)) < 0)
                    goto out;
                if ((err = st__idx_sync(&s->idx)) < 0 || (err = st__idx_sync(&s->tidx)) < 0)
                    goto out;
            }
            atomic_store(&s->sealed, true);
            atomic_store(&s->synced, true); /* trusted, or scanned and synced above */
            bool dg = digest_present(s, s->w.pos);
            atomic_store(&s->digested, dg);
            if (!dg)
                atomic_store(&log->seal_pending, true);
        } else if (s->w.pos == 0) {
            /* empty: mapped at its first append (st__seg_prepare), with a running digest */
            s->idx_want = st__log_idx_cap(&log->cfg);
            s->rd_chunks = st__log_digest_chunks(&log->cfg);
            s->prepared = false;
            s->first_append_ms = -1;
        } else {
            uint32_t cap = st__log_idx_cap(&log->cfg);
            if ((err = st__idx_reserve(&s->idx, cap)) < 0 ||
                (err = st__idx_reserve(&s->tidx, cap)) < 0)
                goto out;
            s->prepared = true;
            s->first_append_ms = first_batch_time(s);
        }
        if (tail) /* everything recovery kept is on disk: the scrubber may check it all */
            s->mark = (struct st_mark){.pos = s->w.pos, .next = s->w.next_offset};
    }
    err = 0;
out:
    free(bases);
    free(sizes);
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
        struct st_recovery_report *t = &st->recovery;
        t->logs++;
        t->unclean += !clean;
        t->segments_scanned += rc->scanned;
        t->bytes_scanned += rc->scanned_bytes;
        t->bytes_cut += rc->cut;
        t->indexes_rebuilt += rc->rebuilt;
        t->fenced_loaded += rc->loaded;
        t->fenced_new += rc->fenced_new;
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
static int pstate_recover(struct st_log *log, bool clean)
{
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    struct st_ps_recovery pr;
    int err = st__ps_recover(log, v, wall_ms(), &pr);
    if (err < 0)
        return err;
    int64_t end = v->s[v->n - 1]->w.next_offset;
    struct st_store *st = log->store;
    if (st->opening) {
        st->recovery.pstate_bytes += pr.bytes;
        st->recovery.txnidx_damaged += pr.damaged;
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
        err = st__fsync_dir(log->dir);
    if (err < 0)
        return err;
    st__ps_snap_prune(log->dir, pr.snapshot >= 0 && pr.snapshot < end ? pr.snapshot : end);
    log->snap_newest = end;
    return 0;
}

int st__log_open(struct st_store *store, const char *topic, int32_t partition,
                 const struct st_log_config *cfg, struct st_log **out)
{
    char path[ST_MAX_PATH];
    struct st_log *log = calloc(1, sizeof(*log));
    if (!log)
        return -ENOMEM;
    atomic_init(&log->refs, 1);
    log->rp_fd = -1;
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
    snprintf(path, sizeof(path), "%s/%s-%" PRId32, store->dir, topic, partition);
    log->topic = strdup(topic);
    log->dir = strdup(path);
    int err = 0;
    if (!log->topic || !log->dir) {
        err = -ENOMEM;
        goto fail;
    }
    if (mkdir(log->dir, 0755) < 0 && errno != EEXIST) {
        err = -errno;
        goto fail;
    }
    snprintf(path, sizeof(path), "%s/%s", log->dir, ST_CLEAN_NAME);
    bool clean = file_exists(path);

    struct st_segvec *v;
    struct recov rc;
    memset(&rc, 0, sizeof(rc));
    if ((err = recover(log, clean, &v, &rc)) < 0)
        goto fail;
    /* DeleteRecords' low watermark, never past what recovery kept */
    int64_t floor = st__floor_load(log->dir);
    if (floor > v->s[v->n - 1]->w.next_offset)
        floor = v->s[v->n - 1]->w.next_offset;
    atomic_store(&log->floor_offset, floor);
    st__log_set_segs(log, v);
    if (atomic_load(&log->fence_dirty) && (err = st__fence_persist(log)) < 0)
        say(log, ST_MSG_ERROR,
            "%s/%s cannot be written (%s): the fenced ranges hold until a restart; the "
            "scrubber retries the write",
            log->dir, ST_FENCE_NAME, strerror(-err));
    report(log, clean, &rc, v);
    struct st_seg *tail = v->s[v->n - 1];
    if ((err = pstate_recover(log, clean)) < 0)
        goto fail;
    atomic_store(&log->end_offset, tail->w.next_offset);
    atomic_store(&log->durable_offset, tail->w.next_offset);
    atomic_store(&log->last_sync_mono_ms, st__mono_ms());
    st__seg_ref(tail);
    log->synced_seg = tail;
    log->synced_pos = tail->w.pos;

    /* From here on the log may change: the marker must be gone, durably, before that. */
    if (clean && unlink(path) < 0) {
        err = -errno;
        goto fail;
    }
    if (clean && (err = st__fsync_dir(log->dir)) < 0)
        goto fail;
    /* Other directory changes (a new log's files, recovery's truncations) are synced by the
     * first sync or the close: until then a crash only repeats them. */
    if (clean)
        log->pristine = true;
    *out = log;
    return 0;
fail:
    st__log_free(log);
    return err;
}
