/*
 * st_fence — fenced ranges: bytes of a segment found corrupt (by the scrubber or by a recovery
 * scan) that are no longer served. Each segment keeps its ranges in an immutable set that
 * lock-free readers load with acquire (st__fences); each log keeps them on disk in its
 * partition directory so that they survive a restart.
 *
 * ON-DISK FORMAT of <topic>-<partition>/fenced (every integer big-endian)
 *      0  4  magic "SLFN"
 *      4  4  version 1
 *      8  4  N, the ranges that follow, 1..ST_FENCE_MAX
 *     12  4  0
 *     16 40N ranges (ST_FENCE_REC = 40 bytes each), ascending by segment, then by position:
 *             0  8  base offset of the segment (the name of its .log)
 *             8  8  first fenced offset
 *            16  8  offset after the range
 *            24  8  first fenced byte of the .log (a batch boundary)
 *            32  8  byte after the range (a batch boundary, or the end of the .log)
 *  16+40N 4  CRC-32C of bytes [0, 16 + 40N)
 *   Rewritten whole whenever a set changes: fenced.tmp, fdatasync, rename over fenced, fsync
 *   of the directory; removed (directory synced) when nothing is fenced any more. A crash
 *   leaves the old file or the new one, never a mix.
 *
 * LOAD RULE (recovery, before any segment of the log is checked or scanned)
 *   The file is used only if it is 16 + 40N + 4 bytes with the right magic, version, N and
 *   CRC. A damaged file is reported and ignored: the scrubber finds corrupt chunks of sealed
 *   segments again from their digests. A range is kept only if its segment exists,
 *   base <= first offset < offset after <= base + 2^31 - 1, 0 <= first byte < byte after <=
 *   the .log's size, and it starts at or after the end of the previous range of the same
 *   segment, in bytes and in offsets. Dropped ranges are reported, and the file is rewritten
 *   once recovery is over.
 *
 * A range leaves a set when a truncation cuts it away (st__fence_cut at recovery of the cut
 * segment) or a replica's bytes mend it (st_repair.c: written and synced before the set
 * without it is published and the file rewritten).
 *
 * Locking: sets are replaced under log->fence_mu, which is never taken under log->mu (the
 * file is written outside the writer lock; building its bytes takes log->mu briefly). During
 * recovery the log is not yet visible and st__fence_load / st__fence_merge / st__fence_cut run
 * without locks.
 */
#include "st_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kp_buf.h"
#include "kp_crc32c.h"

/* ---- lookups (readers: no lock) -------------------------------------------------------------- */

enum field { POS_LO, OFF_LO, OFF_HI };

static int64_t field_of(const struct st_fence *f, enum field which)
{
    switch (which) {
    case POS_LO:
        return f->pos_lo;
    case OFF_LO:
        return f->off_lo;
    default:
        return f->off_hi;
    }
}

/* Number of fences whose field is <= x (every field ascends along a set). */
static uint32_t count_le(const struct st_fenceset *fs, enum field which, int64_t x)
{
    uint32_t lo = 0, hi = fs->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (field_of(&fs->f[mid], which) <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const struct st_fence *st__fence_by_off(const struct st_fenceset *fs, int64_t off)
{
    if (!fs)
        return NULL;
    uint32_t k = count_le(fs, OFF_LO, off);
    return k > 0 && off < fs->f[k - 1].off_hi ? &fs->f[k - 1] : NULL;
}

const struct st_fence *st__fence_by_pos(const struct st_fenceset *fs, int64_t pos)
{
    if (!fs)
        return NULL;
    uint32_t k = count_le(fs, POS_LO, pos);
    return k > 0 && pos < fs->f[k - 1].pos_hi ? &fs->f[k - 1] : NULL;
}

const struct st_fence *st__fence_before_off(const struct st_fenceset *fs, int64_t off)
{
    if (!fs)
        return NULL;
    uint32_t k = count_le(fs, OFF_HI, off);
    return k > 0 ? &fs->f[k - 1] : NULL;
}

const struct st_fence *st__fence_from_pos(const struct st_fenceset *fs, int64_t pos)
{
    if (!fs)
        return NULL;
    uint32_t k = count_le(fs, POS_LO, pos - 1);
    return k < fs->n ? &fs->f[k] : NULL;
}

void st__fence_free_all(struct st_seg *s)
{
    struct st_fenceset *fs = atomic_load_explicit(&s->fences, memory_order_relaxed);
    while (fs) {
        struct st_fenceset *older = fs->older;
        free(fs);
        fs = older;
    }
    atomic_store_explicit(&s->fences, NULL, memory_order_relaxed);
}

/* ---- changing a set -------------------------------------------------------------------------- */

static int cmp_fence(const void *a, const void *b)
{
    const struct st_fence *x = a, *y = b;
    return (x->pos_lo > y->pos_lo) - (x->pos_lo < y->pos_lo);
}

static bool overlaps(const struct st_fence *a, const struct st_fence *b)
{
    return (a->pos_lo < b->pos_hi && b->pos_lo < a->pos_hi) ||
           (a->off_lo < b->off_hi && b->off_lo < a->off_hi);
}

static bool covers(const struct st_fence *a, const struct st_fence *b)
{
    return a->pos_lo <= b->pos_lo && b->pos_hi <= a->pos_hi && a->off_lo <= b->off_lo &&
           b->off_hi <= a->off_hi;
}

/* Publishes a set of n ranges (sorted, disjoint) replacing the current one. */
static int publish(struct st_seg *s, const struct st_fence *f, uint32_t n)
{
    struct st_fenceset *ns = malloc(sizeof(*ns) + (size_t)n * sizeof(ns->f[0]));
    if (!ns)
        return -ENOMEM;
    ns->older = atomic_load_explicit(&s->fences, memory_order_relaxed);
    ns->n = n;
    if (n > 0)
        memcpy(ns->f, f, (size_t)n * sizeof(f[0]));
    atomic_store_explicit(&s->fences, ns, memory_order_release);
    return 0;
}

int st__fence_merge(struct st_seg *s, const struct st_fence *add, int n)
{
    const struct st_fenceset *old = atomic_load_explicit(&s->fences, memory_order_relaxed);
    uint32_t on = old ? old->n : 0;
    struct st_fence *all = malloc(((size_t)on + (size_t)n) * sizeof(*all));
    if (!all)
        return -ENOMEM;
    uint32_t m = 0;
    for (uint32_t i = 0; i < on; i++)
        all[m++] = old->f[i];
    int added = 0;
    for (int i = 0; i < n; i++) {
        bool inside = false;
        for (uint32_t k = 0; k < on && !inside; k++)
            inside = covers(&old->f[k], &add[i]);
        if (inside || add[i].pos_lo >= add[i].pos_hi || add[i].off_lo >= add[i].off_hi)
            continue;
        all[m++] = add[i];
        added++;
    }
    if (added == 0) {
        free(all);
        return 0;
    }
    qsort(all, m, sizeof(all[0]), cmp_fence);
    uint32_t out = 0;
    for (uint32_t i = 0; i < m; i++) {
        if (out > 0 && overlaps(&all[out - 1], &all[i])) {
            struct st_fence *p = &all[out - 1];
            if (all[i].pos_hi > p->pos_hi)
                p->pos_hi = all[i].pos_hi;
            if (all[i].off_lo < p->off_lo)
                p->off_lo = all[i].off_lo;
            if (all[i].off_hi > p->off_hi)
                p->off_hi = all[i].off_hi;
            continue;
        }
        all[out++] = all[i];
    }
    int err = publish(s, all, out);
    free(all);
    return err < 0 ? err : added;
}

void st__fence_cut(struct st_seg *s, int64_t pos)
{
    const struct st_fenceset *fs = atomic_load_explicit(&s->fences, memory_order_relaxed);
    if (!fs)
        return;
    uint32_t keep = 0;
    while (keep < fs->n && fs->f[keep].pos_hi <= pos)
        keep++;
    if (keep < fs->n)
        (void)publish(s, fs->f, keep); /* on ENOMEM the set stays: it only over-fences */
}

/* ---- the file -------------------------------------------------------------------------------- */

static void fence_path(const struct st_log *log, char *buf, size_t cap, const char *suffix)
{
    snprintf(buf, cap, "%s/%s%s", log->dir, ST_FENCE_NAME, suffix);
}

/* The file's bytes for the current segment list (log->mu taken inside); *len = 0: nothing is
 * fenced; -ENOENT: the topic is deleted or the log dormant (leave the file). Caller frees. */
static int fence_image(struct st_log *log, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    pthread_mutex_lock(&log->mu);
    if (log->deleted) {
        pthread_mutex_unlock(&log->mu);
        return -ENOENT;
    }
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    if (!v) { /* dormant: nothing changed since its clean close; the file stays as it is */
        pthread_mutex_unlock(&log->mu);
        return -ENOENT;
    }
    size_t n = 0;
    for (int i = 0; i < v->n; i++) {
        const struct st_fenceset *fs = st__fences(v->s[i]);
        n += fs ? fs->n : 0;
    }
    if (n == 0) {
        pthread_mutex_unlock(&log->mu);
        return 0;
    }
    if (n > ST_FENCE_MAX) {
        pthread_mutex_unlock(&log->mu);
        return -EFBIG;
    }
    size_t total = ST_FENCE_HDR + n * ST_FENCE_REC + 4;
    uint8_t *b = malloc(total);
    if (!b) {
        pthread_mutex_unlock(&log->mu);
        return -ENOMEM;
    }
    memcpy(b, ST_FENCE_MAGIC, 4);
    kp_store_be32(b + 4, 1);
    kp_store_be32(b + 8, (uint32_t)n);
    kp_store_be32(b + 12, 0);
    uint8_t *r = b + ST_FENCE_HDR;
    for (int i = 0; i < v->n; i++) {
        const struct st_fenceset *fs = st__fences(v->s[i]);
        for (uint32_t k = 0; fs && k < fs->n; k++, r += ST_FENCE_REC) {
            kp_store_be64(r, (uint64_t)v->s[i]->base);
            kp_store_be64(r + 8, (uint64_t)fs->f[k].off_lo);
            kp_store_be64(r + 16, (uint64_t)fs->f[k].off_hi);
            kp_store_be64(r + 24, (uint64_t)fs->f[k].pos_lo);
            kp_store_be64(r + 32, (uint64_t)fs->f[k].pos_hi);
        }
    }
    pthread_mutex_unlock(&log->mu);
    kp_store_be32(r, kp_crc32c(0, b, total - 4));
    *out = b;
    *len = total;
    return 0;
}

int st__fence_persist_locked(struct st_log *log)
{
    uint8_t *img;
    size_t len;
    int err = fence_image(log, &img, &len);
    if (err == -ENOENT)
        return 0; /* topic deleted (its directory is going), or the log dormant */
    if (err < 0) {
        atomic_store(&log->fence_dirty, true);
        return err;
    }
    char path[ST_MAX_PATH], tmp[ST_MAX_PATH];
    fence_path(log, path, sizeof(path), "");
    fence_path(log, tmp, sizeof(tmp), ".tmp");
    if (len == 0) {
        if (unlink(path) == 0)
            err = st_fsync_dir(log->dir);
        else if (errno != ENOENT)
            err = -errno;
    } else {
        int fd = st__fc_open(log->store->fc, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            err = fd;
        } else {
            err = st__pwrite_full(fd, img, len, 0);
            if (err == 0 && fdatasync(fd) < 0)
                err = -errno;
            close(fd);
            if (err == 0 && rename(tmp, path) < 0)
                err = -errno;
            if (err < 0)
                unlink(tmp);
            else
                err = st_fsync_dir(log->dir);
        }
    }
    free(img);
    atomic_store(&log->fence_dirty, err < 0);
    return err;
}

int st__fence_persist(struct st_log *log)
{
    pthread_mutex_lock(&log->fence_mu);
    int err = st__fence_persist_locked(log);
    pthread_mutex_unlock(&log->fence_mu);
    return err;
}

int st__fence_add(struct st_log *log, struct st_seg *s, const struct st_fence *f, int n,
                  int *persist_err)
{
    pthread_mutex_lock(&log->fence_mu);
    int added = st__fence_merge(s, f, n);
    *persist_err = 0;
    if (added > 0) {
        atomic_fetch_add(&log->store->fence_gen, 1);
        pthread_mutex_lock(&log->mu);
        log->pristine = false; /* its clean-shutdown record counts fenced ranges */
        pthread_mutex_unlock(&log->mu);
    }
    if (added > 0 || (added == 0 && atomic_load(&log->fence_dirty)))
        *persist_err =
            st__fence_persist_locked(log); /* a failure leaves fence_dirty: retried later */
    pthread_mutex_unlock(&log->fence_mu);
    return added;
}

static int cmp_base(const void *key, const void *elem)
{
    int64_t k = *(const int64_t *)key;
    int64_t b = (*(struct st_seg *const *)elem)->base;
    return (k > b) - (k < b);
}

int st__fence_load(struct st_log *log, struct st_segvec *v, const int64_t *sizes, bool *damaged)
{
    *damaged = false;
    char path[ST_MAX_PATH];
    fence_path(log, path, sizeof(path), ".tmp");
    unlink(path); /* an interrupted rewrite: the old file is whole */
    fence_path(log, path, sizeof(path), "");
    int fd = st__fc_open(log->store->fc, path, O_RDONLY, 0);
    if (fd < 0)
        return fd == -ENOENT ? 0 : fd;
    struct stat st;
    uint8_t hdr[ST_FENCE_HDR];
    uint8_t *b = NULL;
    int err = 0;
    if (fstat(fd, &st) < 0) {
        err = -errno;
        goto out;
    }
    uint32_t n = 0;
    size_t total = 0;
    if (st.st_size < ST_FENCE_HDR + 4 || st__pread_full(fd, hdr, sizeof(hdr), 0) < 0 ||
        memcmp(hdr, ST_FENCE_MAGIC, 4) != 0 || kp_load_be32(hdr + 4) != 1 ||
        (n = kp_load_be32(hdr + 8)) == 0 || n > ST_FENCE_MAX ||
        (total = ST_FENCE_HDR + (size_t)n * ST_FENCE_REC + 4) != (size_t)st.st_size) {
        *damaged = true;
        goto out;
    }
    if (!(b = malloc(total))) {
        err = -ENOMEM;
        goto out;
    }
    if (st__pread_full(fd, b, total, 0) < 0 ||
        kp_load_be32(b + total - 4) != kp_crc32c(0, b, total - 4)) {
        *damaged = true;
        goto out;
    }
    struct st_fence *run = malloc((size_t)n * sizeof(*run));
    if (!run) {
        err = -ENOMEM;
        goto out;
    }
    /* records are grouped by segment: gather each group, then publish it as one set */
    int attached = 0;
    uint32_t i = 0;
    while (i < n) {
        int64_t base = (int64_t)kp_load_be64(b + ST_FENCE_HDR + (size_t)i * ST_FENCE_REC);
        struct st_seg **sp = bsearch(&base, v->s, (size_t)v->n, sizeof(v->s[0]), cmp_base);
        int64_t size = sp ? sizes[sp - v->s] : 0;
        uint32_t m = 0;
        for (; i < n; i++) {
            const uint8_t *r = b + ST_FENCE_HDR + (size_t)i * ST_FENCE_REC;
            if ((int64_t)kp_load_be64(r) != base)
                break;
            struct st_fence f = {
                .off_lo = (int64_t)kp_load_be64(r + 8),
                .off_hi = (int64_t)kp_load_be64(r + 16),
                .pos_lo = (int64_t)kp_load_be64(r + 24),
                .pos_hi = (int64_t)kp_load_be64(r + 32),
            };
            bool ok = sp && base <= f.off_lo && f.off_lo < f.off_hi &&
                      f.off_hi - base <= INT32_MAX && 0 <= f.pos_lo && f.pos_lo < f.pos_hi &&
                      f.pos_hi <= size &&
                      (m == 0 || (run[m - 1].pos_hi <= f.pos_lo && run[m - 1].off_hi <= f.off_lo));
            if (ok)
                run[m++] = f;
            else
                atomic_store(&log->fence_dirty, true); /* dropped: rewritten after recovery */
        }
        if (m > 0) {
            if ((err = publish(*sp, run, m)) < 0)
                break;
            attached += (int)m;
        }
    }
    free(run);
    if (attached > 0)
        atomic_fetch_add(&log->store->fence_gen, 1);
    if (err == 0)
        err = attached;
out:
    free(b);
    close(fd);
    if (*damaged)
        atomic_store(&log->fence_dirty, true);
    return err;
}
