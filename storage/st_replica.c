/*
 * st_replica — a partition log as a replica (issue 18, M3; contract in st.h "replication"):
 * the high watermark, its checkpoint, and truncation. The follower's append is in st_log.c
 * (it shares the writer's path), the leader-epoch cache in st_epoch.c.
 *
 * High watermark: log->hw, meaningful while log->replicated. It is only raised by
 * st_log_set_high_watermark and lowered by st_log_truncate, both under log->hw_mu, which
 * nothing else takes: the truncation lowers the end offset, then the high watermark, under
 * it, so a raise never reads an end offset older than the one it is stored against. Readers
 * load it without a lock (acquire). An unreplicated log answers its end offset, as a single
 * node always has.
 *
 * TRUNCATION RULE (what st_log_truncate does to the files, in this order, with sync_mu and mu
 * held): a kill -9 after the call returned never brings a byte of the cut suffix back; one
 * during the call leaves a prefix of the old log, at or above the cut, with its leader-epoch
 * file (not cut yet) still true of it, which the follower's next truncation cuts (it asks its
 * leader again at start-up, KIP-279).
 *   1. the end offset, the high watermark, the LSO and the durable offset are lowered (readers
 *      stop short of the cut at once: read_range cuts at the batch of the end it loaded);
 *   2. the log's clean-shutdown record is removed, and a recovery point above the cut is
 *      replaced by one naming the cut segment at byte 0 (every segment below it was synced
 *      before the old one was written), so the next open scans the cut segment from its start;
 *   3. the segments wholly above are unlinked; the cut segment's .log is truncated at the
 *      batch boundary and fdatasynced, its .index, .timeindex and .digest unlinked (rebuilt
 *      by the scan: a sealed segment becomes the active one again);
 *   4. the directory is fsynced; the leader-epoch cache is cut and written;
 *   5. the log is built again from its files as recovery does (st__log_reload): segment list,
 *      indexes, producer state (snapshots above the cut are dropped), .txnindex entries.
 * An offset at or below the log start: every segment goes, an empty <offset>.log is created,
 * DeleteRecords' low watermark and the recovery point are removed. An offset inside a fenced
 * range cuts at the range's first byte and offset (the range is one batch for this rule): the
 * fenced file loses it at step 5 (recovery drops ranges past a segment's size) and is written
 * again before the call returns.
 *
 * Which fenced ranges a truncation leaves: those wholly below the cut, untouched.
 */
#include "st_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_batch.h"
#include "kp_crc32c.h"

/* ---- high watermark -------------------------------------------------------------------------- */

int64_t st__hw_load(struct st_log *log)
{
    char path[ST_MAX_PATH], b[32];
    snprintf(path, sizeof(path), "%s/%s", log->dir, ST_HW_NAME);
    int fd = st__fc_open(log->store->fc, path, O_RDONLY, 0);
    if (fd < 0)
        return 0;
    ssize_t n = pread(fd, b, sizeof(b) - 1, 0);
    close(fd);
    if (n <= 1 || b[n - 1] != '\n')
        return 0;
    b[n] = '\0';
    char *e;
    long long v = strtoll(b, &e, 10);
    return e != b && *e == '\n' && v >= 0 ? (int64_t)v : 0;
}

void st_log_set_replicated(struct st_log *log, bool replicated)
{
    pthread_mutex_lock(&log->hw_mu);
    if (replicated && !atomic_load(&log->replicated)) {
        int64_t hw = st__hw_load(log);
        int64_t start = st_log_start_offset(log), end = st_log_end_offset(log);
        if (hw < start)
            hw = start;
        if (hw > end)
            hw = end;
        atomic_store_explicit(&log->hw, hw, memory_order_release);
        atomic_store_explicit(&log->replicated, true, memory_order_release);
    } else if (!replicated) {
        atomic_store_explicit(&log->replicated, false, memory_order_release);
    }
    pthread_mutex_unlock(&log->hw_mu);
}

bool st_log_replicated(const struct st_log *log)
{
    return atomic_load_explicit(&log->replicated, memory_order_acquire);
}

int64_t st_log_high_watermark(const struct st_log *log)
{
    int64_t end = st_log_end_offset(log);
    if (!atomic_load_explicit(&log->replicated, memory_order_acquire))
        return end;
    int64_t hw = atomic_load_explicit(&log->hw, memory_order_acquire);
    if (hw > end)
        hw = end;
    int64_t start = st_log_start_offset(log); /* DeleteRecords past it */
    return hw < start ? start : hw;
}

int64_t st_log_set_high_watermark(struct st_log *log, int64_t hw)
{
    if (!atomic_load_explicit(&log->replicated, memory_order_acquire))
        return st_log_end_offset(log);
    pthread_mutex_lock(&log->hw_mu);
    int64_t end = st_log_end_offset(log);
    if (hw > end)
        hw = end;
    int64_t cur = atomic_load_explicit(&log->hw, memory_order_relaxed);
    if (hw > cur) {
        atomic_store_explicit(&log->hw, hw, memory_order_release);
        cur = hw;
    }
    pthread_mutex_unlock(&log->hw_mu);
    return cur;
}

/* "<v>\n" to <dir>/<name> as .tmp, then rename (no fsync: a checkpoint behind is only older). */
static int write_small(struct st_log *log, const char *name, int64_t v)
{
    char tmp[ST_MAX_PATH + 8], path[ST_MAX_PATH], b[32];
    snprintf(path, sizeof(path), "%s/%s", log->dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int len = snprintf(b, sizeof(b), "%" PRId64 "\n", v);
    int fd = st__fc_open(log->store->fc, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return fd;
    int err = st__pwrite_full(fd, b, (size_t)len, 0);
    close(fd);
    if (err == 0 && rename(tmp, path) < 0)
        err = -errno;
    if (err < 0)
        unlink(tmp);
    return err;
}

void st__repl_after_sync(struct st_log *log, bool force)
{
    if (atomic_load(&log->ep_dirty)) {
        pthread_mutex_lock(&log->mu);
        (void)st__epoch_persist(log);
        pthread_mutex_unlock(&log->mu);
    }
    if (!atomic_load_explicit(&log->replicated, memory_order_acquire))
        return;
    /* the high watermark as of the durable data (never past it) */
    int64_t hw = st_log_high_watermark(log), d = st_log_durable_offset(log);
    if (hw > d)
        hw = d;
    int64_t now = st__mono_ms();
    if (hw == log->hw_ckpt || (!force && now - log->hw_ckpt_ms < 1000))
        return;
    if (write_small(log, ST_HW_NAME, hw) == 0) {
        log->hw_ckpt = hw;
        log->hw_ckpt_ms = now;
    }
}

/* ---- truncation ------------------------------------------------------------------------------ */

/* TRUNCATION RULE step 2: the recovery point never above the cut (segment base at pos). */
static int rp_lower(struct st_log *log, int64_t base, int64_t pos, bool remove)
{
    char path[ST_MAX_PATH];
    uint8_t b[ST_RP_SIZE];
    snprintf(path, sizeof(path), "%s/%s", log->dir, ST_RP_NAME);
    if (remove) {
        if (unlink(path) < 0 && errno != ENOENT)
            return -errno;
        return 0;
    }
    int fd = st__fc_open(log->store->fc, path, O_RDWR, 0);
    if (fd < 0)
        return fd == -ENOENT ? 0 : fd;
    int err = st__pread_full(fd, b, sizeof(b), 0);
    bool valid = err == 0 && memcmp(b, ST_RP_MAGIC, 4) == 0 && kp_load_be32(b + 4) == 1 &&
                 kp_load_be32(b + 64) == kp_crc32c(0, b, 64);
    int64_t rbase = valid ? (int64_t)kp_load_be64(b + 8) : 0;
    int64_t rpos = valid ? (int64_t)kp_load_be64(b + 16) : 0;
    if (valid && (rbase < base || (rbase == base && rpos <= pos))) {
        close(fd);
        return 0; /* at or below the cut: still true */
    }
    memset(b, 0, sizeof(b));
    memcpy(b, ST_RP_MAGIC, 4);
    kp_store_be32(b + 4, 1);
    kp_store_be64(b + 8, (uint64_t)base);
    kp_store_be64(b + 16, 0);
    kp_store_be64(b + 24, (uint64_t)base);
    kp_store_be64(b + 32, (uint64_t)-1);
    kp_store_be32(b + 64, kp_crc32c(0, b, 64));
    err = st__pwrite_full(fd, b, sizeof(b), 0);
    if (err == 0 && fdatasync(fd) < 0)
        err = -errno;
    close(fd);
    if (err < 0 && unlink(path) < 0 && errno != ENOENT)
        return -errno; /* neither lowered nor removed */
    return 0;
}

static void unlink_sibling(struct st_seg *s, const char *suffix)
{
    char p[ST_MAX_PATH];
    st__seg_sibling(s, p, sizeof(p), suffix);
    unlink(p);
}

/* Step 3 for the cut segment: .log cut at pos and synced, indexes and digest gone. */
static int cut_segment(struct st_seg *s, int64_t pos)
{
    int err = st__seg_pin(s);
    if (err < 0)
        return err;
    if (ftruncate(s->fd, (off_t)pos) < 0 || fdatasync(s->fd) < 0)
        err = -errno;
    st__seg_unpin(s);
    if (err < 0)
        return err;
    unlink_sibling(s, ".index");
    unlink_sibling(s, ".timeindex");
    unlink_sibling(s, ".digest");
    return 0;
}

/* Steps 1-5 (sync_mu and mu held, the log open, offset below the end). */
static int truncate_locked(struct st_log *log, int64_t offset, bool all)
{
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    int64_t start = atomic_load_explicit(&log->start_offset, memory_order_relaxed);
    int k = -1;
    int64_t pos = 0, new_end = offset;
    bool empty = all || offset <= start;
    if (!empty) {
        k = v->n - 1;
        while (k > 0 && v->s[k]->base > offset)
            k--;
        struct st_seg *s = v->s[k];
        int64_t bs;
        const struct st_fence *fz = st__fence_by_off(st__fences(s), offset);
        if (fz) { /* a fenced range counts as one batch: cut at its start */
            pos = fz->pos_lo;
            new_end = fz->off_lo;
        } else {
            int err = st__seg_find_batch(s, s->w.pos, offset, &pos, &bs, &new_end);
            if (err < 0)
                return err; /* a damaged batch header at the cut: nothing changed */
        }
        if (new_end <= start)
            empty = true, new_end = offset;
    }

    /* 1: the end last, so that a reader loading the LSO or the high watermark then the end
     * never sees them above it (hw_mu: no raise of the high watermark in between). A restart
     * above the end (st_log_restart_at) moves them up instead: the start first. */
    if (new_end > atomic_load(&log->end_offset)) {
        atomic_store(&log->floor_offset, 0);
        atomic_store_explicit(&log->start_offset, new_end, memory_order_release);
    }
    pthread_mutex_lock(&log->hw_mu);
    if (atomic_load(&log->hw) > new_end || all)
        atomic_store_explicit(&log->hw, new_end, memory_order_release);
    if (atomic_load(&log->lso) > new_end)
        atomic_store_explicit(&log->lso, new_end, memory_order_release);
    if (atomic_load(&log->durable_offset) > new_end || empty)
        atomic_store_explicit(&log->durable_offset, new_end, memory_order_release);
    atomic_store_explicit(&log->end_offset, new_end, memory_order_release);
    if (atomic_load(&log->lso) < new_end && all)
        atomic_store_explicit(&log->lso, new_end, memory_order_release);
    pthread_mutex_unlock(&log->hw_mu);

    /* 2 */
    char path[ST_MAX_PATH];
    snprintf(path, sizeof(path), "%s/%s", log->dir, ST_CLEAN_NAME);
    unlink(path);
    int err = empty ? rp_lower(log, 0, 0, true) : rp_lower(log, v->s[k]->base, pos, false);
    if (err < 0)
        return err;

    /* 3 (the flusher may hold references on the old segments to digest them after its
     * sync: marked done, it leaves the ones that change alone) */
    for (int i = empty ? 0 : k; i < v->n; i++)
        atomic_store(&v->s[i]->digested, true);
    for (int i = v->n - 1; i >= (empty ? 0 : k + 1); i--) /* the newest first: a prefix stays */
        st__seg_unlink(v->s[i]);
    if (empty) {
        snprintf(path, sizeof(path), "%s/%s", log->dir, ST_FLOOR_NAME);
        unlink(path);
        atomic_store(&log->floor_offset, 0);
        st__ps_snap_prune(log->dir, -1);
        if (access(log->dir, F_OK) == 0) {
            st__seg_path(path, sizeof(path), log->dir, offset, ".log");
            int fd = st__fc_open(log->store->fc, path, O_RDWR | O_CREAT | O_TRUNC, 0644);
            if (fd < 0)
                return fd;
            close(fd);
        }
    } else if ((err = cut_segment(v->s[k], pos)) < 0) {
        return err;
    }

    /* 4 (the leader-epoch cache once the log is built again, below) */
    if (access(log->dir, F_OK) == 0 && (err = st_fsync_dir(log->dir)) < 0)
        return err;

    /* 5 */
    if (empty && access(log->dir, F_OK) < 0) {
        /* never written: an empty log at offset without files */
        struct st_seg *s;
        if ((err = st__seg_open(log->dir, offset, log->cfg.index_interval_bytes,
                                st__log_idx_cap(&log->cfg), false, log->store->fc, &s)) < 0)
            return err;
        s->absent = true;
        s->prepared = false; /* its first append makes the directory and the file */
        s->grace = &log->grace;
        s->w = (struct st_wstate){.next_offset = offset, .max_ts = -1, .tidx_last_ts = -1};
        s->rd_chunks = st__log_digest_chunks(&log->cfg);
        s->first_append_ms = -1;
        atomic_store(&s->size_end, offset);
        struct st_segvec *nv = st__segvec_new(1);
        if (!nv) {
            st__seg_put(s);
            return -ENOMEM;
        }
        nv->s[0] = s;
        struct st_segvec *old = v;
        int nold = old->n;
        struct st_seg **gone = malloc((size_t)nold * sizeof(*gone));
        if (!gone) {
            st__seg_put(s);
            free(nv);
            return -ENOMEM;
        }
        memcpy(gone, old->s, (size_t)nold * sizeof(*gone));
        st__log_set_segs(log, nv);
        for (int i = 0; i < nold; i++)
            st__seg_put(gone[i]);
        free(gone);
        st__ps_free(log);
        atomic_store(&log->lso, offset);
    } else if ((err = st__log_reload(log)) < 0) {
        return err;
    }
    if (st__epoch_load(log) == 0 && st__epoch_cut(log, empty ? INT64_MIN : new_end))
        (void)st__epoch_persist(log); /* else the next sync's; after a crash, cut at load */
    return 0;
}

static int truncate_call(struct st_log *log, int64_t offset, bool all)
{
    if (offset < 0)
        return -EINVAL;
    int err = st__log_activate(log);
    if (err < 0)
        return err;
    pthread_mutex_lock(&log->sync_mu);
    pthread_mutex_lock(&log->mu);
    err = log->deleted ? -ENOENT : log->closed ? -ESHUTDOWN : log->cleaning ? -EBUSY : 0;
    if (err == 0 &&
        (all || offset < atomic_load_explicit(&log->end_offset, memory_order_relaxed))) {
        log->pristine = false;
        err = truncate_locked(log, offset, all);
    }
    pthread_mutex_unlock(&log->mu);
    pthread_mutex_unlock(&log->sync_mu);
    if (err == 0 && atomic_load(&log->fence_dirty))
        (void)st__fence_persist(log);
    if (err == 0)
        st_log_request_sync(log); /* a recovery point for the new tail */
    return err;
}

int st_log_truncate(struct st_log *log, int64_t offset)
{
    return truncate_call(log, offset, false);
}

int st_log_restart_at(struct st_log *log, int64_t offset)
{
    return truncate_call(log, offset, true);
}
