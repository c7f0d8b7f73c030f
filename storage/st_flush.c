/*
 * st_flush — durability: the flusher thread, group commit, the recovery point, clean close.
 *
 * Group commit: a sync takes a snapshot of the log's published end under log->mu, then calls
 * fdatasync outside the lock. Every append published before the snapshot is covered by that
 * one fdatasync; appends that arrive meanwhile set sync_requested again and are covered by
 * the next round, so N producers waiting under log.flush.interval.messages=1 share one
 * fdatasync per round instead of paying one each. The order of the steps (sealed segments,
 * directory, active .log, recovery-point) is the FSYNC ORDER in st_segment.c.
 *
 * The flusher wakes when kicked (an append reached flush.interval.messages, a roll sealed a
 * segment, st_log_request_sync) and otherwise every min(flush.interval.ms) (at most 1 s) to
 * apply flush.interval.ms. After each sync it calls the store's notify callback.
 *
 * Sealed segments: one sync of a log takes its undigested sealed segments, oldest first, up to
 * SEAL_BATCH_BYTES of them together (always at least one) and at most SEAL_BATCH_MAX, syncs
 * them before the active segment and digests them after the durable offset moved. A byte
 * budget rather than a count: hundreds of tiny segments (a compacted topic with a small
 * segment.bytes) are done in a round or two, while a round never syncs more than one segment
 * past the budget ahead of a durable produce. When a round leaves a log with sealed segments
 * still to do, and it digested some, the next round starts at once instead of after the wait
 * (the log cleaner only takes digested segments); a digest that cannot be written waits for
 * the next ordinary round. Digests written for a compacted log wake the cleaners.
 */
#include "st_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kp_buf.h"
#include "kp_crc32c.h"

int64_t st__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t st__store_dir_changed(struct st_store *store)
{
    return atomic_fetch_add(&store->dir_gen, 1) + 1;
}

int st__store_sync_dir(struct st_store *store, uint64_t gen)
{
    if (atomic_load(&store->dir_synced_gen) >= gen)
        return 0;
    pthread_mutex_lock(&store->dir_mu);
    int err = 0;
    if (atomic_load(&store->dir_synced_gen) < gen) {
        uint64_t g = atomic_load(&store->dir_gen); /* every change made before this fsync */
        if ((err = st_fsync_dir(store->dir)) == 0)
            atomic_store(&store->dir_synced_gen, g);
    }
    pthread_mutex_unlock(&store->dir_mu);
    return err;
}

int st_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int err = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return err;
}

struct snap {
    struct st_seg *tail;
    struct st_wstate w;
    struct st_mark mark; /* the tail's scrub bound once this sync is done */
    uint32_t idx_n, tidx_n;
    uint64_t idx_hash, tidx_hash;
    int64_t end;
};

static int rp_store(struct st_log *log, const struct snap *sn, bool sync)
{
    uint8_t b[ST_RP_SIZE];
    memcpy(b, ST_RP_MAGIC, 4);
    kp_store_be32(b + 4, 1);
    kp_store_be64(b + 8, (uint64_t)sn->tail->base);
    kp_store_be64(b + 16, (uint64_t)sn->w.pos);
    kp_store_be64(b + 24, (uint64_t)sn->w.next_offset);
    kp_store_be64(b + 32, (uint64_t)sn->w.max_ts);
    kp_store_be32(b + 40, sn->idx_n);
    kp_store_be32(b + 44, sn->tidx_n);
    kp_store_be64(b + 48, sn->idx_hash);
    kp_store_be64(b + 56, sn->tidx_hash);
    kp_store_be32(b + 64, kp_crc32c(0, b, 64));
    /* opened for each write: a descriptor per log would not fit 100,000 logs (st_fcache.c) */
    char path[ST_MAX_PATH];
    snprintf(path, sizeof(path), "%s/%s", log->dir, ST_RP_NAME);
    int fd = st__fc_open(log->store->fc, path, O_RDWR | O_CREAT, 0644);
    if (fd < 0)
        return fd;
    ssize_t r = pwrite(fd, b, sizeof(b), 0);
    int err = r == (ssize_t)sizeof(b) ? 0 : r < 0 ? -errno : -EIO;
    if (err == 0 && sync && fdatasync(fd) < 0)
        err = -errno;
    close(fd);
    return err;
}

/* One sync's sealed segments: at most this many, and no more once this many bytes are taken
 * (file comment). */
enum { SEAL_BATCH_MAX = 256 };
#define SEAL_BATCH_BYTES (32 * 1024 * 1024)

/* Sealed segments in sealed[0..n) not yet synced: their log and index files. */
static int sync_sealed(struct st_seg **sealed, int n)
{
    for (int i = 0; i < n; i++) {
        struct st_seg *s = sealed[i];
        if (atomic_load(&s->synced))
            continue;
        int err = st__seg_pin(s);
        if (err < 0)
            return err;
        err = fdatasync(s->fd) < 0 ? -errno : 0;
        st__seg_unpin(s);
        if (err == 0)
            err = st__idx_sync(s, &s->idx);
        if (err == 0)
            err = st__idx_sync(s, &s->tidx);
        if (err == 0)
            err = st__txnidx_sync(s);
        if (err < 0)
            return err;
        atomic_store(&s->synced, true);
    }
    return 0;
}

/* Writes the digests of synced, sealed segments (after the durable offset moved); returns how
 * many it wrote. */
static int digest_sealed(struct st_log *log, struct st_seg **sealed, int n)
{
    int wrote = 0;
    for (int i = 0; i < n; i++) {
        struct st_seg *s = sealed[i];
        if (!atomic_load(&s->synced) || atomic_load(&s->digested))
            continue;
        if (st__digest_write(s) < 0) {
            atomic_store(&log->seal_pending, true); /* next round */
            continue;
        }
        st__rundigest_free(s->rd); /* the writer is done with a sealed segment */
        s->rd = NULL;
        atomic_store(&s->digested, true);
        wrote++;
    }
    if (wrote) {
        /* the renames reach the disk with the next sync's directory fsync; a digest lost
         * to a crash is written again after recovery */
        pthread_mutex_lock(&log->mu);
        log->dir_dirty = true;
        pthread_mutex_unlock(&log->mu);
    }
    return wrote;
}

/*
 * The producer-state snapshot as of upto (encoded under log->mu): written, the directory
 * synced, then every older snapshot but the newest one before it unlinked (FSYNC ORDER step
 * 3). Called with log->sync_mu held, after everything below upto is on disk.
 */
static int snap_store(struct st_log *log, int64_t upto, const uint8_t *b, size_t len)
{
    int err = st__ps_snap_write(log->dir, upto, b, len);
    if (err == 0)
        err = st_fsync_dir(log->dir);
    if (err < 0)
        return err;
    pthread_mutex_lock(&log->mu);
    int64_t prev = log->snap_newest;
    if (upto > log->snap_newest)
        log->snap_newest = upto;
    pthread_mutex_unlock(&log->mu);
    st__ps_snap_prune(log->dir, prev >= 0 && prev < upto ? prev : upto);
    return 0;
}

/*
 * One sync of the log (log->sync_mu held): FSYNC ORDER steps 1-4 (st_segment.c) except the
 * digests, which the caller writes afterwards through digest_sealed() so that producers
 * waiting on the durable offset do not wait for a segment to be re-read. sealed[] receives
 * references on the sealed segments still lacking a digest.
 */
static int sync_locked(struct st_log *log, bool close_rp, struct st_seg **sealed, int *nsealed)
{
    struct snap sn;
    *nsealed = 0;

    pthread_mutex_lock(&log->mu);
    if (log->deleted) {
        pthread_mutex_unlock(&log->mu);
        return -ENOENT;
    }
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    if (!v || v->s[v->n - 1]->absent) { /* dormant, or never written: nothing to sync */
        atomic_store(&log->sync_requested, false);
        pthread_mutex_unlock(&log->mu);
        return 0;
    }
    bool more_sealed = false;
    int64_t taken = 0;
    for (int i = 0; i < v->n - 1; i++) {
        if (!atomic_load(&v->s[i]->digested)) {
            if (*nsealed == SEAL_BATCH_MAX || taken >= SEAL_BATCH_BYTES) {
                more_sealed = true;
                break;
            }
            taken += atomic_load_explicit(&v->s[i]->size, memory_order_relaxed);
            st__seg_ref(v->s[i]);
            sealed[(*nsealed)++] = v->s[i];
        }
    }
    sn.tail = v->s[v->n - 1];
    st__seg_ref(sn.tail);
    sn.w = sn.tail->w;
    /* the entries the recovery point certifies go to the index files first (FSYNC ORDER
     * step 4: written now, under the lock that keeps the writer out of the buffers) */
    int ierr = st__idx_flush(sn.tail, &sn.tail->idx);
    if (ierr == 0)
        ierr = st__idx_flush(sn.tail, &sn.tail->tidx);
    sn.idx_n = atomic_load_explicit(&sn.tail->idx.n, memory_order_relaxed);
    sn.tidx_n = atomic_load_explicit(&sn.tail->tidx.n, memory_order_relaxed);
    sn.idx_hash = st__idx_digest(&sn.tail->idx);
    sn.tidx_hash = st__idx_digest(&sn.tail->tidx);
    sn.end = atomic_load_explicit(&log->end_offset, memory_order_relaxed);
    sn.mark = (struct st_mark){.pos = sn.w.pos, .next = sn.w.next_offset};
    const struct st_rundigest *rd = sn.tail->rd;
    if (rd && !rd->failed && rd->pos == sn.w.pos) {
        /* the digest of the incomplete last chunk as of now: what the scrubber checks the
         * active segment's synced tail against */
        sn.mark.dg = XXH3_64bits_digest(rd->state);
        sn.mark.dg_ok = true;
    }
    bool dir_dirty = log->dir_dirty;
    uint64_t parent_gen = log->parent_gen;
    log->dir_dirty = false;
    log->parent_gen = 0;
    uint8_t *snap = NULL;
    size_t snap_len = 0;
    if (atomic_exchange(&log->snap_want, false) &&
        st__ps_snap_encode(log, sn.end, &snap, &snap_len) < 0)
        atomic_store(&log->snap_want, true); /* no memory now: next round */
    atomic_store(&log->unflushed, 0);
    atomic_store(&log->sync_requested, false);
    atomic_store(&log->seal_pending, more_sealed);
    pthread_mutex_unlock(&log->mu);

    int err = ierr;
    if (err == 0)
        err = sync_sealed(sealed, *nsealed);
    if (err == 0 && parent_gen) /* the log's directory itself is new */
        err = st__store_sync_dir(log->store, parent_gen);
    if (err == 0 && dir_dirty)
        err = st_fsync_dir(log->dir);
    if (err == 0 && (sn.tail != log->synced_seg || sn.w.pos != log->synced_pos) &&
        (err = st__seg_pin(sn.tail)) == 0) {
        err = fdatasync(sn.tail->fd) < 0 ? -errno : 0;
        st__seg_unpin(sn.tail);
    }
    if (err == 0)
        err = st__txnidx_sync(sn.tail);
    if (err == 0 && snap)
        err = snap_store(log, sn.end, snap, snap_len);
    if (snap && err < 0)
        atomic_store(&log->snap_want, true);
    free(snap);
    if (err == 0)
        err = rp_store(log, &sn, close_rp);
    if (err == 0) {
        pthread_mutex_lock(&log->mu);
        if (sn.mark.pos > sn.tail->mark.pos)
            sn.tail->mark = sn.mark;
        pthread_mutex_unlock(&log->mu);
        int64_t cur = atomic_load(&log->durable_offset);
        if (sn.end > cur)
            atomic_store_explicit(&log->durable_offset, sn.end, memory_order_release);
        st__seg_ref(sn.tail);
        st__seg_put(log->synced_seg);
        log->synced_seg = sn.tail;
        log->synced_pos = sn.w.pos;
        st__repl_after_sync(log, false); /* leader-epoch cache, high-watermark checkpoint */
    } else {
        /* try again next round */
        pthread_mutex_lock(&log->mu);
        log->dir_dirty = log->dir_dirty || dir_dirty;
        if (!log->parent_gen)
            log->parent_gen = parent_gen;
        pthread_mutex_unlock(&log->mu);
        atomic_store(&log->seal_pending, true);
        atomic_store(&log->sync_requested, true);
    }
    atomic_store(&log->last_sync_mono_ms, st__mono_ms());
    st__seg_put(sn.tail);
    return err;
}

static void put_all(struct st_seg **segs, int n)
{
    for (int i = 0; i < n; i++)
        st__seg_put(segs[i]);
}

void st_store_set_sync_observer(struct st_store *store, st_sync_time_fn fn, void *arg)
{
    pthread_mutex_lock(&store->fl_mu);
    store->sync_time_arg = arg;
    store->sync_time = fn;
    pthread_mutex_unlock(&store->fl_mu);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int st__log_sync(struct st_log *log)
{
    struct st_seg *sealed[SEAL_BATCH_MAX];
    int digested = 0;
    int nsealed;
    pthread_mutex_lock(&log->sync_mu);
    int64_t t0 = mono_ns();
    int err = sync_locked(log, false, sealed, &nsealed);
    int64_t took = mono_ns() - t0;
    pthread_mutex_unlock(&log->sync_mu);
    /* No storage lock is held across the callback, so it may call into the store. */
    struct st_store *store = log->store;
    pthread_mutex_lock(&store->fl_mu);
    st_notify_fn fn = store->notify;
    void *arg = store->notify_arg;
    st_sync_time_fn timed = store->sync_time;
    void *timed_arg = store->sync_time_arg;
    pthread_mutex_unlock(&store->fl_mu);
    if (err != -ENOENT && timed)
        timed(timed_arg, took, err);
    if (err != -ENOENT && fn)
        fn(arg, log);
    if (nsealed > 0) {
        pthread_mutex_lock(&log->sync_mu);
        pthread_mutex_lock(&log->mu);
        bool deleted = log->deleted;
        pthread_mutex_unlock(&log->mu);
        if (!deleted)
            digested = digest_sealed(log, sealed, nsealed);
        pthread_mutex_unlock(&log->sync_mu);
        if (digested > 0 && (ST_CLEAN_CFG(log, cleanup_policy) & ST_CLEANUP_COMPACT))
            st__cleaner_kick(store); /* new cleanable segments (st_clean_run.c) */
    }
    put_all(sealed, nsealed);
    return err < 0 ? err : digested;
}

int st__log_clean_encode(struct st_log *log, uint8_t *b)
{
    memset(b, 0, ST_CLEAN_SIZE);
    pthread_mutex_lock(&log->mu);
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    struct st_seg *first = v->s[0], *tail = v->s[v->n - 1];
    st__seg_ref(first);
    int64_t bytes = 0, franges = 0, fbytes = 0;
    for (int i = 0; i < v->n; i++) {
        bytes += atomic_load_explicit(&v->s[i]->size, memory_order_relaxed);
        const struct st_fenceset *fs = st__fences(v->s[i]);
        for (uint32_t k = 0; fs && k < fs->n; k++) {
            franges++;
            fbytes += fs->f[k].pos_hi - fs->f[k].pos_lo;
        }
    }
    memcpy(b, ST_CLEAN_MAGIC, 4);
    kp_store_be32(b + 4, 1);
    kp_store_be64(b + 8, (uint64_t)first->base);
    kp_store_be64(b + 16, (uint64_t)tail->base);
    kp_store_be64(b + 24, (uint64_t)tail->w.pos);
    kp_store_be64(b + 32, (uint64_t)atomic_load(&log->end_offset));
    kp_store_be64(b + 40, (uint64_t)atomic_load(&log->lso));
    kp_store_be64(b + 48, (uint64_t)bytes);
    kp_store_be32(b + 56, (uint32_t)v->n);
    kp_store_be32(b + 60, (uint32_t)franges);
    kp_store_be64(b + 64, (uint64_t)fbytes);
    kp_store_be64(b + 72, (uint64_t)atomic_load(&first->size));
    kp_store_be64(b + 88, (uint64_t)atomic_load(&log->floor_offset));
    pthread_mutex_unlock(&log->mu);
    kp_store_be64(b + 80, (uint64_t)st__seg_time(first)); /* may read the segment's index */
    st__seg_put(first);
    kp_store_be32(b + 96, kp_crc32c(0, b, 96));
    return 0;
}

int st__log_write_clean(struct st_log *log)
{
    uint8_t b[ST_CLEAN_SIZE];
    int err = st__log_clean_encode(log, b);
    if (err < 0)
        return err;
    char path[ST_MAX_PATH];
    snprintf(path, sizeof(path), "%s/%s", log->dir, ST_CLEAN_NAME);
    int fd = st__fc_open(log->store->fc, path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0)
        return fd;
    /* in place: a torn record fails its CRC, and a log without a good record is recovered */
    err = st__pwrite_full(fd, b, sizeof(b), 0);
    if (err == 0 && fdatasync(fd) < 0)
        err = -errno;
    close(fd);
    return err;
}

int st__log_close_clean(struct st_log *log)
{
    if (!st__log_open(log) && log->ck_dormant) {
        /* left dormant by the log checkpoint: its files are not known synced, nor its
         * clean-shutdown record true; recovered now, it closes as any changed log */
        int e = st__log_activate(log);
        if (e < 0)
            return e;
        pthread_mutex_lock(&log->mu);
        log->pristine = false;
        pthread_mutex_unlock(&log->mu);
    }
    if (st__log_open(log) && atomic_load(&log->fence_dirty))
        (void)st__fence_persist(log); /* a write that failed earlier: one more try */
    pthread_mutex_lock(&log->sync_mu);
    /* no appends, rolls or retention from here on: the log is frozen for the steps below */
    pthread_mutex_lock(&log->mu);
    log->closed = true;
    bool unchanged = log->pristine || !st__log_open(log);
    pthread_mutex_unlock(&log->mu);
    int err = 0;
    if (unchanged) {
        /* Never opened, opened after a clean close and unchanged since, or never written:
         * the files are as the last clean close left them (or there are none), and so is
         * the clean-shutdown record. Nothing to write. */
        pthread_mutex_lock(&log->mu);
        st__ps_free(log); /* no append comes any more */
        pthread_mutex_unlock(&log->mu);
        pthread_mutex_unlock(&log->sync_mu);
        return 0;
    }
    /* drain every sealed segment, then the active one */
    do {
        struct st_seg *sealed[SEAL_BATCH_MAX];
        int nsealed;
        err = sync_locked(log, false, sealed, &nsealed);
        if (err == 0)
            digest_sealed(log, sealed, nsealed);
        put_all(sealed, nsealed);
    } while (err == 0 && atomic_load(&log->seal_pending));
    if (err == 0)
        st__repl_after_sync(log, true);
    pthread_mutex_lock(&log->mu);
    bool dirty = log->dir_dirty;
    uint64_t parent = log->parent_gen;
    log->dir_dirty = false;
    log->parent_gen = 0;
    pthread_mutex_unlock(&log->mu);
    if (err == 0 && parent)
        err = st__store_sync_dir(log->store, parent);
    if (err == 0 && dirty)
        err = st_fsync_dir(log->dir);
    if (err < 0)
        goto out;
    pthread_mutex_lock(&log->mu);
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    struct st_seg *tail = v->s[v->n - 1];
    struct snap sn = {
        .tail = tail,
        .w = tail->w,
        .idx_n = atomic_load(&tail->idx.n),
        .tidx_n = atomic_load(&tail->tidx.n),
        .idx_hash = st__idx_digest(&tail->idx),
        .tidx_hash = st__idx_digest(&tail->tidx),
        .end = atomic_load(&log->end_offset),
    };
    pthread_mutex_unlock(&log->mu);
    if (tail->absent) /* no append reached it: nothing on disk, nothing to record */
        goto out;
    if ((err = st__idx_flush(tail, &tail->idx)) < 0 || (err = st__idx_flush(tail, &tail->tidx)) < 0)
        goto out;
    if ((err = st__idx_sync(tail, &tail->idx)) < 0 || (err = st__idx_sync(tail, &tail->tidx)) < 0)
        goto out;
    if ((err = rp_store(log, &sn, true)) < 0)
        goto out;
    if ((err = st__txnidx_sync(tail)) < 0)
        goto out;
    /* producer state as of the end: the next open reads no batch header */
    pthread_mutex_lock(&log->mu);
    uint8_t *snap = NULL;
    size_t snap_len = 0;
    err = st__ps_snap_encode(log, sn.end, &snap, &snap_len);
    pthread_mutex_unlock(&log->mu);
    if (err == 0)
        err = snap_store(log, sn.end, snap, snap_len);
    free(snap);
    if (err < 0)
        goto out;
    /* last: the record says every file above is as it stands, synced */
    if ((err = st__log_write_clean(log)) == 0)
        err = st_fsync_dir(log->dir);
out:
    pthread_mutex_lock(&log->mu);
    st__ps_free(log); /* no append comes any more */
    pthread_mutex_unlock(&log->mu);
    pthread_mutex_unlock(&log->sync_mu);
    return err;
}

/* ---- the flusher thread ---------------------------------------------------------------------- */

void st__store_kick_flusher(struct st_store *store)
{
    pthread_mutex_lock(&store->fl_mu);
    store->fl_kick = true;
    pthread_cond_signal(&store->fl_cond);
    pthread_mutex_unlock(&store->fl_mu);
}

static bool wants_sync(struct st_log *log, int64_t now)
{
    if (atomic_load(&log->sync_requested) || atomic_load(&log->seal_pending) ||
        atomic_load(&log->snap_want))
        return true;
    int64_t ms = log->cfg.flush_interval_ms;
    return ms >= 0 && atomic_load(&log->unflushed) > 0 &&
           now - atomic_load(&log->last_sync_mono_ms) >= ms;
}

static void *flusher_main(void *arg)
{
    struct st_store *store = arg;
    struct st_log **logs = NULL;
    int cap = 0;
    (void)pthread_setname_np(pthread_self(), "sl-flusher"); /* top -H, perf */
    int64_t wait_ms = 1000;

    pthread_mutex_lock(&store->fl_mu);
    while (!store->fl_stop) {
        if (!store->fl_kick) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += wait_ms / 1000;
            ts.tv_nsec += (wait_ms % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&store->fl_cond, &store->fl_mu, &ts);
            if (store->fl_stop)
                break;
        }
        store->fl_kick = false;
        pthread_mutex_unlock(&store->fl_mu);

        /* take a reference on every log, then work without the store lock */
        int n = 0;
        wait_ms = 1000;
        pthread_rwlock_rdlock(&store->mu);
        int total = 0;
        for (int t = 0; t < store->ntopics; t++)
            total += store->topics[t]->partitions;
        if (total > cap) {
            struct st_log **nl = realloc(logs, (size_t)total * sizeof(*nl));
            if (nl) {
                logs = nl;
                cap = total;
            }
        }
        for (int t = 0; t < store->ntopics; t++) {
            struct st_topic *tp = store->topics[t];
            for (int p = 0; p < tp->partitions && n < cap; p++) {
                atomic_fetch_add(&tp->logs[p]->refs, 1);
                logs[n++] = tp->logs[p];
                int64_t ms = tp->logs[p]->cfg.flush_interval_ms;
                if (ms >= 0 && ms < wait_ms)
                    wait_ms = ms < 1 ? 1 : ms;
            }
        }
        pthread_rwlock_unlock(&store->mu);
        int64_t now = st__mono_ms();
        bool again = false; /* a log has sealed segments left, and this round digested some */
        for (int i = 0; i < n; i++) {
            if (wants_sync(logs[i], now) && st__log_sync(logs[i]) > 0 &&
                atomic_load(&logs[i]->seal_pending))
                again = true;
            /* the log checkpoint (st_ckpt.c) keeps its pace through a long round */
            if ((i & 1023) == 1023)
                st__ck_update(store, logs, n);
        }
        st__ck_update(store, logs, n);
        for (int i = 0; i < n; i++)
            st_log_put(logs[i]);
        pthread_mutex_lock(&store->fl_mu);
        if (again)
            store->fl_kick = true; /* the next round at once (file comment) */
    }
    pthread_mutex_unlock(&store->fl_mu);
    free(logs);
    return NULL;
}

int st__flusher_start(struct st_store *store)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&store->fl_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&store->fl_mu, NULL);
    int err = pthread_create(&store->flusher, NULL, flusher_main, store);
    if (err)
        return -err;
    store->fl_started = true;
    return 0;
}

void st__flusher_stop(struct st_store *store)
{
    if (!store->fl_started)
        return;
    pthread_mutex_lock(&store->fl_mu);
    store->fl_stop = true;
    pthread_cond_signal(&store->fl_cond);
    pthread_mutex_unlock(&store->fl_mu);
    pthread_join(store->flusher, NULL);
    store->fl_started = false;
}
