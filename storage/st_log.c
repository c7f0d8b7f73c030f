/*
 * st_log — append, read, roll, retention and offset lookups of one partition log.
 *
 * Publication protocol (the reason readers need no lock):
 *   writer (log->mu held)                         reader (no lock)
 *   1. roll: publish the new segment list         1. end   = load_acquire(log->end_offset)
 *   2. pwritev the batches at seg->w.pos          2. segs  = load_acquire(log->segs)
 *   3. publish index counts (release)             3. size  = load_acquire(seg->size)
 *   4. store_release(seg->size_end)               4. index entries below load_acquire(idx.n)
 *   5. store_release(seg->size)                   5. the last segment: size_end > end? cut
 *   6. store_release(log->end_offset)                at the batch of offset end
 * A reader that sees an end offset also sees the segment list and the bytes that produced it;
 * every pread is bounded by the published size, so no half-written batch is ever read. The
 * reverse does not hold: between 5 and 6 (a writer preempted there) the size covers a batch
 * the end offset does not, and a read that served it would hand a consumer an offset above
 * the end offset its next fetch is checked against (OFFSET_OUT_OF_RANGE: it would reset and
 * read the log again). So a reader never serves bytes past the end offset it loaded: when
 * the last segment's size_end (loaded after its size) is above that end, the read stops at
 * the batch of offset end (a walk of headers from the index, only then). A
 * segment list is replaced, never modified; the old one is freed after a grace period
 * (st__grace_sync), and a reader that keeps a segment past its grace section holds a
 * reference, and a pin while it uses the segment's descriptor (st_fcache.c), so neither
 * retention, topic deletion nor the cache of open files closes an fd under a reader.
 * A dormant log (opened at its first use, st_recover.c) has no segment list: the calls that
 * need one open it first; its offsets are published from its clean-shutdown record.
 */
#include "st_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kp_batch.h"

/* ---- grace periods --------------------------------------------------------------------------- */

uint64_t st__grace_enter(struct st_grace *g)
{
    for (;;) {
        uint64_t e = atomic_load(&g->epoch);
        atomic_fetch_add(&g->active[e & 1], 1);
        if (atomic_load(&g->epoch) == e)
            return e;
        atomic_fetch_sub(&g->active[e & 1], 1);
    }
}

void st__grace_exit(struct st_grace *g, uint64_t e) { atomic_fetch_sub(&g->active[e & 1], 1); }

void st__grace_sync(struct st_grace *g)
{
    uint64_t e = atomic_load(&g->epoch);
    atomic_store(&g->epoch, e + 1);
    /* Readers that entered under e are counted in active[e & 1]; new ones use the other
     * slot. Grace sections are a few loads and reference increments, so this is short. */
    while (atomic_load(&g->active[e & 1]) != 0)
        sched_yield();
}

/* ---- segment lists --------------------------------------------------------------------------- */

struct st_segvec *st__segvec_new(int n)
{
    struct st_segvec *v = calloc(1, sizeof(*v) + (size_t)n * sizeof(v->s[0]));
    if (v)
        v->n = n;
    return v;
}

void st__log_set_segs(struct st_log *log, struct st_segvec *nv)
{
    assert(nv->n >= 1);
    struct st_segvec *old = atomic_load_explicit(&log->segs, memory_order_relaxed);
    int64_t floor = atomic_load_explicit(&log->floor_offset, memory_order_relaxed);
    atomic_store_explicit(&log->start_offset, nv->s[0]->base > floor ? nv->s[0]->base : floor,
                          memory_order_release);
    atomic_store_explicit(&log->segs, nv, memory_order_release);
    if (old) {
        st__grace_sync(&log->grace);
        free(old);
    }
}

static struct st_seg *active_seg(struct st_log *log)
{
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    return v->s[v->n - 1];
}

uint32_t st__log_idx_cap(const struct st_log_config *cfg)
{
    int64_t cap = cfg->index_max_bytes / ST_IDX_ENTRY;
    if (cap < ST_APPEND_MAX_BATCHES + 2)
        cap = ST_APPEND_MAX_BATCHES + 2;
    if (cap > (1 << 26))
        cap = 1 << 26;
    return (uint32_t)cap;
}

uint32_t st__log_digest_chunks(const struct st_log_config *cfg)
{
    int64_t sb =
        cfg->segment_bytes > 0 && cfg->segment_bytes < INT32_MAX ? cfg->segment_bytes : INT32_MAX;
    return (uint32_t)(sb / ST_DIGEST_CHUNK + 2);
}

int st__log_roll(struct st_log *log, int64_t now_ms)
{
    (void)now_ms;
    log->pristine = false;
    struct st_seg *old = active_seg(log);
    struct st_seg *ns;
    int err = st__seg_open(log->dir, old->w.next_offset, log->cfg.index_interval_bytes,
                           st__log_idx_cap(&log->cfg), true, log->store->fc, &ns);
    if (err < 0)
        return err;
    ns->rd_chunks = st__log_digest_chunks(&log->cfg);
    struct st_segvec *ov = atomic_load_explicit(&log->segs, memory_order_relaxed);
    struct st_segvec *nv = st__segvec_new(ov->n + 1);
    if (!nv) {
        st__seg_unlink(ns);
        st__seg_put(ns);
        return -ENOMEM;
    }
    ns->grace = &log->grace;
    /* Seal first: the segment is sealed either way. When its entries reached the index files,
     * readers move to the files: the in-memory copies are detached now and freed once the
     * grace period below has passed; when a write failed they stay (recovery rebuilds a short
     * file). */
    bool filed = st__seg_seal(old) == 0;
    if (filed) {
        st__idx_detach(&old->idx);
        st__idx_detach(&old->tidx);
    }
    memcpy(nv->s, ov->s, (size_t)ov->n * sizeof(nv->s[0]));
    nv->s[ov->n] = ns;
    log->dir_dirty = true;
    st__log_set_segs(log, nv); /* a grace period */
    if (filed) {
        st__idx_drop_mem(&old->idx);
        st__idx_drop_mem(&old->tidx);
    }
    atomic_store(&log->seal_pending, true);
    atomic_store(&log->snap_want, true); /* producer state as of the new segment */
    st__store_kick_flusher(log->store);  /* the sealed segment wants its sync and digest */
    return 0;
}

/* ---- append ---------------------------------------------------------------------------------- */

/* The segment n batches of total bytes and count offsets go to: the active one, rolled first
 * when they do not fit it or it is old (log.roll.ms), prepared for its first append. */
static int segment_for(struct st_log *log, int64_t total, int64_t count, int n, int64_t now_ms,
                       struct st_seg **out)
{
    struct st_seg *seg = active_seg(log);
    const struct st_log_config *cfg = &log->cfg;
    if (seg->w.pos > 0 &&
        (seg->w.pos + total > cfg->segment_bytes || seg->w.pos + total > INT32_MAX ||
         (cfg->roll_ms >= 0 && seg->first_append_ms >= 0 &&
          now_ms - seg->first_append_ms >= cfg->roll_ms) ||
         !st__seg_index_room(seg, n) || seg->w.next_offset + count - seg->base > INT32_MAX)) {
        int err = st__log_roll(log, now_ms);
        if (err < 0)
            return err;
        seg = active_seg(log);
    }
    if (!seg->prepared) {
        bool made_dir;
        int err = st__seg_prepare(seg, log->dir, &made_dir);
        if (err < 0)
            return err;
        if (made_dir)
            log->parent_gen = st__store_dir_changed(log->store);
        log->dir_dirty = true;
    }
    int err = st__seg_index_grow(seg, n);
    if (err < 0)
        return err;
    *out = seg;
    return 0;
}

/*
 * Assigns offsets to the batches (rewriting baseOffset, partitionLeaderEpoch and, on
 * LogAppendTime topics, maxTimestamp) and writes them at the end of seg with one pwritev.
 * On failure the writer state is rolled back and nothing is published. Under mu.
 */
static int write_batches(struct st_log *log, struct st_seg *seg, struct iovec *batches, int n,
                         int64_t now_ms, bool keep)
{
    const struct st_log_config *cfg = &log->cfg;
    struct st_wstate saved = seg->w;
    uint32_t saved_idx = seg->idx.w, saved_tidx = seg->tidx.w;
    for (int i = 0; i < n; i++) {
        uint8_t *b = batches[i].iov_base;
        size_t sz = batches[i].iov_len;
        int64_t base = seg->w.next_offset;
        if (!keep) {
            kp_batch_set_base_offset(b, base);
            kp_batch_set_leader_epoch(b, log->leader_epoch);
            if (cfg->log_append_time)
                kp_batch_set_log_append_time(b, sz, now_ms);
        }
        int32_t delta = (int32_t)kp_load_be32(b + KP_BATCH_OFF_LAST_OFFSET_DELTA);
        int64_t max_ts = (int64_t)kp_load_be64(b + KP_BATCH_OFF_MAX_TIMESTAMP);
        st__seg_note_batch(seg, base, delta, (int64_t)sz, max_ts);
    }

    /* One pwritev for all of them (loops only on a short write). */
    int64_t pos = saved.pos;
    int iov_i = 0;
    size_t iov_off = 0;
    int err = st__seg_pin(seg);
    if (err < 0) {
        seg->w = saved;
        st__idx_reset(&seg->idx, saved_idx);
        st__idx_reset(&seg->tidx, saved_tidx);
        return err;
    }
    while (iov_i < n) {
        struct iovec tmp;
        struct iovec *iv = &batches[iov_i];
        int cnt = n - iov_i;
        if (iov_off > 0) {
            /* resume inside a partly written batch: first iovec shortened */
            tmp.iov_base = (uint8_t *)iv->iov_base + iov_off;
            tmp.iov_len = iv->iov_len - iov_off;
            ssize_t w1 = pwrite(seg->fd, tmp.iov_base, tmp.iov_len, (off_t)pos);
            if (w1 < 0) {
                if (errno == EINTR)
                    continue;
                err = -errno;
                break;
            }
            pos += w1;
            iov_off += (size_t)w1;
            if (iov_off == iv->iov_len) {
                iov_i++;
                iov_off = 0;
            }
            continue;
        }
        ssize_t w = pwritev(seg->fd, iv, cnt, (off_t)pos);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            err = -errno;
            break;
        }
        if (w == 0) {
            err = -EIO;
            break;
        }
        pos += w;
        while (iov_i < n && (size_t)w >= batches[iov_i].iov_len) {
            w -= (ssize_t)batches[iov_i].iov_len;
            iov_i++;
        }
        iov_off = (size_t)w;
    }
    if (err < 0) {
        /* Nothing is published: restore the writer state and cut what reached the file. */
        seg->w = saved;
        st__idx_reset(&seg->idx, saved_idx);
        st__idx_reset(&seg->tidx, saved_tidx);
        if (ftruncate(seg->fd, (off_t)saved.pos) < 0) {
            /* the bytes past the end are never served and fail recovery's offset check */
        }
        st__seg_unpin(seg);
        return err;
    }
    st__seg_unpin(seg);
    assert(pos == seg->w.pos);
    if (seg->rd) {
        for (int i = 0; i < n; i++)
            st__rundigest_feed(seg->rd, batches[i].iov_base, batches[i].iov_len);
    }
    return 0;
}

/*
 * Publishes what write_batches wrote (and the producer state applied meanwhile): index
 * entries, size, .txnindex entries, end offset, then the LSO; fills res. Under mu. Returns
 * whether the flush policy asks for a sync.
 */
static bool publish(struct st_log *log, struct st_seg *seg, int64_t first, int64_t count,
                    int64_t now_ms, struct st_append_result *res)
{
    const struct st_log_config *cfg = &log->cfg;
    if (seg->first_append_ms < 0)
        seg->first_append_ms = now_ms;
    st__idx_publish(&seg->idx);
    st__idx_publish(&seg->tidx);
    if (seg->txn_w != atomic_load_explicit(&seg->txn_n, memory_order_relaxed))
        st__txnidx_publish(seg);
    atomic_store_explicit(&seg->max_ts, seg->w.max_ts, memory_order_release);
    atomic_store_explicit(&seg->size_end, seg->w.next_offset, memory_order_release);
    atomic_store_explicit(&seg->size, seg->w.pos, memory_order_release);
    atomic_store_explicit(&log->end_offset, seg->w.next_offset, memory_order_release);
    atomic_store_explicit(&log->lso, st__ps_lso(log, seg->w.next_offset), memory_order_release);

    bool sync = false;
    int64_t unflushed = atomic_fetch_add(&log->unflushed, count) + count;
    if (cfg->flush_interval_messages > 0 && unflushed >= cfg->flush_interval_messages) {
        sync = true;
        atomic_store(&log->sync_requested, true);
    }
    if (res) {
        res->base_offset = first;
        res->last_offset = seg->w.next_offset - 1;
        res->end_position = seg->w.pos;
        res->log_append_time = cfg->log_append_time ? now_ms : -1;
        res->log_start_offset = atomic_load_explicit(&log->start_offset, memory_order_relaxed);
        res->sync_needed = sync;
        res->duplicate = false;
    }
    return sync;
}

int st_log_append(struct st_log *log, struct iovec *batches, int n, int64_t now_ms,
                  struct st_append_result *res)
{
    return st_log_append_opts(log, batches, n, now_ms, NULL, res);
}

int st_log_append_opts(struct st_log *log, struct iovec *batches, int n, int64_t now_ms,
                       const struct st_append_opts *opts, struct st_append_result *res)
{
    if (n <= 0 || !batches)
        return -EINVAL;
    if (n > ST_APPEND_MAX_BATCHES)
        return -E2BIG;
    int aerr = st__log_activate(log);
    if (aerr < 0)
        return aerr;

    /* Lengths first, outside the lock: each iovec is exactly one batch. */
    int64_t total = 0, count = 0;
    struct kp_batch_hdr ph = {.producer_id = -1}; /* the producer batch, if any */
    for (int i = 0; i < n; i++) {
        struct kp_batch_hdr h;
        if (kp_batch_parse_hdr(batches[i].iov_base, batches[i].iov_len, &h) < 0 ||
            kp_batch_size(&h) != batches[i].iov_len || h.last_offset_delta < 0)
            return -EINVAL;
        if (h.producer_id >= 0) {
            /* alone (Produce v3+), with a sequence, and no marker: st_log_append_marker */
            if (n > 1 || h.base_sequence < 0 || (h.attributes & KP_BATCH_ATTR_CONTROL))
                return -EINVAL;
            ph = h;
        }
        total += (int64_t)batches[i].iov_len;
        count += (int64_t)h.last_offset_delta + 1;
    }
    if (total > INT32_MAX || count > INT32_MAX)
        return -EMSGSIZE;

    pthread_mutex_lock(&log->mu);
    if (log->deleted || log->closed) {
        pthread_mutex_unlock(&log->mu);
        return log->deleted ? -ENOENT : -ESHUTDOWN;
    }
    if (ph.producer_id >= 0) {
        struct st_pcheck pc;
        int r = st__ps_check(log, &ph, opts && opts->txn_verified, &pc);
        if (r < 0) {
            pthread_mutex_unlock(&log->mu);
            return r;
        }
        if (r == 1) {
            /* a repeat: the original's offsets; it waits for the disk as the original would */
            const struct st_log_config *cfg = &log->cfg;
            if (res) {
                res->base_offset = pc.dup_first;
                res->last_offset = pc.dup_last;
                res->end_position = -1;
                res->log_append_time = cfg->log_append_time ? pc.dup_ts : -1;
                res->log_start_offset =
                    atomic_load_explicit(&log->start_offset, memory_order_relaxed);
                res->sync_needed =
                    cfg->flush_interval_messages > 0 &&
                    atomic_load_explicit(&log->durable_offset, memory_order_acquire) <= pc.dup_last;
                res->duplicate = true;
            }
            pthread_mutex_unlock(&log->mu);
            return 0;
        }
    }
    log->pristine = false;
    struct st_seg *seg = NULL;
    int err = segment_for(log, total, count, n, now_ms, &seg);
    int64_t first = seg ? seg->w.next_offset : 0;
    if (err == 0)
        err = write_batches(log, seg, batches, n, now_ms, false);
    if (err < 0) {
        pthread_mutex_unlock(&log->mu);
        return err;
    }
    if (ph.producer_id >= 0) {
        ph.base_offset = first;
        ph.max_timestamp = (int64_t)kp_load_be64((uint8_t *)batches[0].iov_base +
                                                 KP_BATCH_OFF_MAX_TIMESTAMP); /* as stored */
        st__ps_apply_data(log, &ph);
    }
    bool sync = publish(log, seg, first, count, now_ms, res);
    pthread_mutex_unlock(&log->mu);
    if (sync)
        st__store_kick_flusher(log->store);
    return 0;
}

int st_log_append_marker(struct st_log *log, int64_t pid, int16_t epoch, bool commit,
                         int32_t coordinator_epoch, int64_t now_ms, struct st_append_result *res)
{
    if (pid < 0)
        return -EINVAL;
    int aerr = st__log_activate(log);
    if (aerr < 0)
        return aerr;
    uint8_t b[KP_BATCH_MARKER_LEN];
    kp_batch_build_txn_marker(b, pid, epoch, commit, coordinator_epoch, now_ms);
    struct iovec iv = {b, sizeof(b)};
    pthread_mutex_lock(&log->mu);
    int err = log->deleted ? -ENOENT : log->closed ? -ESHUTDOWN : 0;
    if (err == 0)
        err = st__ps_check_marker(log, pid, epoch, coordinator_epoch);
    if (err == 0)
        err = st__ps_reserve(log, pid, true); /* a marker is never refused for memory */
    struct st_seg *seg = NULL;
    if (err == 0) {
        log->pristine = false;
        err = segment_for(log, sizeof(b), 1, 1, now_ms, &seg);
    }
    int64_t at = seg ? seg->w.next_offset : -1;
    struct st_abort ab;
    /* the entry goes first (unpublished), so that a marker is never without it */
    uint32_t txn_w = seg ? seg->txn_w : 0;
    if (err == 0 && !commit && st__ps_marker_abort(log, pid, at, &ab))
        err = st__txnidx_write(log, seg, &ab);
    if (err == 0)
        err = write_batches(log, seg, &iv, 1, now_ms, false);
    if (err < 0) {
        if (seg)
            seg->txn_w = txn_w;
        pthread_mutex_unlock(&log->mu);
        return err;
    }
    st__ps_apply_marker(log, pid, epoch, coordinator_epoch,
                        (int64_t)kp_load_be64(b + KP_BATCH_OFF_MAX_TIMESTAMP));
    bool sync = publish(log, seg, at, 1, now_ms, res);
    pthread_mutex_unlock(&log->mu);
    if (sync)
        st__store_kick_flusher(log->store);
    return 0;
}

int32_t st_log_next_sequence(struct st_log *log, int64_t pid, int16_t epoch)
{
    if (pid < 0 || st__log_activate(log) < 0)
        return 0;
    pthread_mutex_lock(&log->mu);
    int32_t seq = st__ps_next_seq(log, pid, epoch);
    pthread_mutex_unlock(&log->mu);
    return seq;
}

void st_log_set_leader_epoch(struct st_log *log, int32_t epoch)
{
    /* the leader-epoch cache needs the log open (its file, or the batch headers) */
    bool open = st__log_activate(log) == 0;
    pthread_mutex_lock(&log->mu);
    log->leader_epoch = epoch;
    if (open && !log->deleted && st__epoch_load(log) == 0 &&
        st__epoch_add(log, epoch, atomic_load_explicit(&log->end_offset, memory_order_relaxed)))
        (void)st__epoch_persist(log); /* a failure is retried by the flusher (ep_dirty) */
    pthread_mutex_unlock(&log->mu);
}

/*
 * Follower drop-behind (replica.cache.keep.bytes). A follower's bytes are read again only if
 * it becomes the leader, yet each one takes a page of the cache that the partitions this
 * broker leads could use, and on a machine whose memory is backed lazily (a VM that hands
 * freed pages back to its host) every new page costs a host fault. So, every CACHE_STEP bytes
 * of a follower's active segment, writeback of the new bytes starts (SYNC_FILE_RANGE_WRITE,
 * which does not wait for it) and the bytes older than the newest keep are dropped from the
 * cache (POSIX_FADV_DONTNEED). The drop skips pages still dirty or under writeback, so its
 * range reaches one step back: a page missed once is dropped at the next step. Writing back
 * sooner costs no extra I/O (the bytes reach the disk either way); the flush policy is
 * unchanged (this never waits, and a page is dropped only once it is on the disk). Both calls
 * are advice: their failures change nothing but the cache. Under mu, seg pinned by caller.
 */
#define CACHE_STEP (4LL << 20)

static void drop_behind(struct st_seg *seg, int64_t keep)
{
    int64_t pos = seg->w.pos;
    if (seg->cache_kicked > pos || seg->cache_dropped > pos) /* cut since: start again there */
        seg->cache_kicked = seg->cache_dropped = pos;
    if (pos - seg->cache_kicked > 4 * CACHE_STEP) {
        /* a segment this broker wrote as leader (or recovered): its older bytes stay as they
         * are, rather than one call writing back and dropping the whole segment under mu */
        seg->cache_kicked = pos - CACHE_STEP;
        if (seg->cache_dropped < seg->cache_kicked - keep)
            seg->cache_dropped = seg->cache_kicked - keep > 0 ? seg->cache_kicked - keep : 0;
    }
    if (pos - seg->cache_kicked < CACHE_STEP)
        return;
    (void)sync_file_range(seg->fd, seg->cache_kicked, pos - seg->cache_kicked,
                          SYNC_FILE_RANGE_WRITE);
    seg->cache_kicked = pos;
    int64_t to = pos - keep;
    if (to <= seg->cache_dropped)
        return;
    int64_t from = seg->cache_dropped > CACHE_STEP ? seg->cache_dropped - CACHE_STEP : 0;
    (void)posix_fadvise(seg->fd, from, to - from, POSIX_FADV_DONTNEED);
    seg->cache_dropped = to;
}

/*
 * A follower's append (st.h): the batches as the leader wrote them. CRCs and continuity are
 * checked before the lock, the first offset against the end under it; the producer state is
 * applied from the headers once the bytes are written, as recovery replays them.
 */
int st_log_append_replica(struct st_log *log, struct iovec *batches, int n, int64_t now_ms,
                          struct st_append_result *res)
{
    if (n <= 0 || !batches)
        return -EINVAL;
    if (n > ST_APPEND_MAX_BATCHES)
        return -E2BIG;
    int64_t total = 0, count = 0, first = -1, next = -1;
    for (int i = 0; i < n; i++) {
        struct kp_batch_hdr h;
        if (kp_batch_parse_hdr(batches[i].iov_base, batches[i].iov_len, &h) < 0 ||
            kp_batch_size(&h) != batches[i].iov_len || h.last_offset_delta < 0)
            return -EINVAL;
        if (kp_batch_validate(batches[i].iov_base, batches[i].iov_len, 0, NULL) < 0)
            return -EBADMSG;
        if (i == 0)
            first = h.base_offset;
        else if (h.base_offset != next)
            return -EINVAL;
        next = h.base_offset + h.last_offset_delta + 1;
        total += (int64_t)batches[i].iov_len;
        count += (int64_t)h.last_offset_delta + 1;
    }
    if (total > INT32_MAX || count > INT32_MAX)
        return -EMSGSIZE;
    int aerr = st__log_activate(log);
    if (aerr < 0)
        return aerr;

    pthread_mutex_lock(&log->mu);
    int err = log->deleted ? -ENOENT : log->closed ? -ESHUTDOWN : 0;
    if (err == 0 && first != active_seg(log)->w.next_offset)
        err = -ERANGE;
    if (err == 0)
        err = st__epoch_load(log);
    if (err < 0) {
        pthread_mutex_unlock(&log->mu);
        return err;
    }
    log->pristine = false;
    struct st_seg *seg = NULL;
    err = segment_for(log, total, count, n, now_ms, &seg);
    if (err == 0)
        err = write_batches(log, seg, batches, n, now_ms, true);
    if (err < 0) {
        pthread_mutex_unlock(&log->mu);
        return err;
    }
    int64_t keep = log->store->cache_keep;
    if (keep >= 0 && st__seg_pin(seg) == 0) {
        drop_behind(seg, keep);
        st__seg_unpin(seg);
    }
    bool epochs = false;
    for (int i = 0; i < n; i++) {
        const uint8_t *b = batches[i].iov_base;
        struct kp_batch_hdr h;
        (void)kp_batch_parse_hdr(b, batches[i].iov_len, &h);
        /* the bytes are in the log: a producer that finds no memory is rebuilt by the next
         * recovery (a replay never needs more than the table's doubling) */
        (void)st__ps_follow(log, seg, &h, b, batches[i].iov_len);
        epochs |= st__epoch_add(log, h.leader_epoch, h.base_offset);
    }
    bool sync = publish(log, seg, first, count, now_ms, res);
    if (res)
        res->log_append_time = -1; /* the leader's timestamps are in the batches */
    if (epochs)
        (void)st__epoch_persist(log); /* a failure is retried by the flusher (ep_dirty) */
    pthread_mutex_unlock(&log->mu);
    if (sync)
        st__store_kick_flusher(log->store);
    return 0;
}

/* ---- read ------------------------------------------------------------------------------------ */

/* Header of the batch at pos, checked against the published size (-EBADMSG: it does not
 * parse or runs past the end). */
static int read_hdr(struct st_seg *s, int64_t pos, int64_t size, struct kp_batch_hdr *h)
{
    uint8_t b[KP_BATCH_HEADER_LEN];
    if (pos + KP_BATCH_HEADER_LEN > size)
        return -EBADMSG;
    int err = st__seg_read(s, b, sizeof(b), pos);
    if (err < 0)
        return err;
    if (kp_batch_parse_hdr(b, sizeof(b), h) < 0 || pos + (int64_t)kp_batch_size(h) > size ||
        h->last_offset_delta < 0)
        return -EBADMSG;
    return 0;
}

/* Size of the batch at pos from its 12-byte prefix. */
static int read_len(struct st_seg *s, int64_t pos, int64_t size, int64_t *bsize)
{
    uint8_t b[KP_BATCH_LOG_OVERHEAD];
    if (pos + KP_BATCH_HEADER_LEN > size)
        return -EBADMSG;
    int err = st__seg_read(s, b, sizeof(b), pos);
    if (err < 0)
        return err;
    int32_t len = (int32_t)kp_load_be32(b + KP_BATCH_OFF_LENGTH);
    if (len < KP_BATCH_HEADER_LEN - KP_BATCH_LOG_OVERHEAD ||
        pos + KP_BATCH_LOG_OVERHEAD + len > size)
        return -EBADMSG;
    *bsize = KP_BATCH_LOG_OVERHEAD + (int64_t)len;
    return 0;
}

/*
 * A boundary to walk headers from towards offset (below the segment's published end): the
 * nearest index entry at or below it, moved past a fenced range that ends at or below it
 * (an entry may point into one). -EBADMSG when offset itself is fenced.
 */
static int walk_start(struct st_seg *s, const struct st_fenceset *fs, int64_t offset, int64_t *pos,
                      int64_t *next)
{
    int32_t rel, p;
    int k = st__oidx_lookup_rel(s, (int32_t)(offset - s->base), &rel, &p);
    if (k < 0)
        return k;
    *pos = 0;
    *next = s->base;
    if (k == 1) {
        *pos = p;
        *next = s->base + rel;
    }
    if (fs) {
        if (st__fence_by_off(fs, offset))
            return -EBADMSG;
        const struct st_fence *b = st__fence_before_off(fs, offset);
        if (b && b->pos_hi > *pos) {
            *pos = b->pos_hi;
            *next = b->off_hi;
        }
    }
    return 0;
}

/* Position of the batch holding offset (which must be below the segment's published end). */
static int find_batch(struct st_seg *s, int64_t size, int64_t offset, int64_t *pos_out,
                      int64_t *bsize, int64_t *base_out);

int st__seg_find_batch(struct st_seg *s, int64_t size, int64_t offset, int64_t *pos, int64_t *bsize,
                       int64_t *base)
{
    return find_batch(s, size, offset, pos, bsize, base);
}

static int find_batch(struct st_seg *s, int64_t size, int64_t offset, int64_t *pos_out,
                      int64_t *bsize, int64_t *base_out)
{
    const struct st_fenceset *fs = st__fences(s);
    int64_t pos, next;
    int err = walk_start(s, fs, offset, &pos, &next);
    if (err < 0)
        return err;
    const struct st_fence *nf = st__fence_from_pos(fs, pos);
    int64_t stop = nf ? nf->pos_lo : size; /* the batch is before the next fenced range */
    for (;;) {
        struct kp_batch_hdr h;
        if ((err = read_hdr(s, pos, stop, &h)) < 0)
            return err;
        if (h.base_offset != next)
            return -EBADMSG; /* offsets must be contiguous */
        if (offset <= h.base_offset + h.last_offset_delta) {
            *pos_out = pos;
            *bsize = (int64_t)kp_batch_size(&h);
            *base_out = h.base_offset;
            return 0;
        }
        pos += (int64_t)kp_batch_size(&h);
        next = h.base_offset + h.last_offset_delta + 1;
    }
}

/*
 * End of the last whole batch that starts at or after from and ends at or before limit
 * (limit < size): the index gives a boundary near limit, then 12-byte headers are walked.
 */
static int cut_at(struct st_seg *s, int64_t size, int64_t from, int64_t limit, int64_t *end)
{
    int32_t rel, p;
    int k = st__oidx_lookup_pos(s, limit, &rel, &p);
    if (k < 0)
        return k;
    int64_t pos = from;
    if (k == 1 && p > pos)
        pos = p;
    for (;;) {
        if (pos + KP_BATCH_HEADER_LEN > limit)
            break;
        int64_t bs;
        int err = read_len(s, pos, size, &bs);
        if (err < 0)
            return err;
        if (pos + bs > limit)
            break;
        pos += bs;
    }
    *end = pos;
    return 0;
}

/*
 * Where the bytes of s below size stop being below the log end offset end: the position of
 * the first batch at or past offset end, or size when there is none (publication protocol:
 * an append whose size is published but not yet its end offset).
 */
static int end_pos(struct st_seg *s, int64_t size, int64_t end, int64_t *out)
{
    const struct st_fenceset *fs = st__fences(s);
    int64_t pos, next;
    int err = walk_start(s, fs, end, &pos, &next);
    if (err < 0)
        return err;
    while (pos < size && next < end) {
        const struct st_fence *f = st__fence_from_pos(fs, pos);
        if (f && f->pos_lo == pos) {
            pos = f->pos_hi;
            next = f->off_hi;
            continue;
        }
        struct kp_batch_hdr h;
        if ((err = read_hdr(s, pos, size, &h)) < 0)
            return err;
        pos += (int64_t)kp_batch_size(&h);
        next = h.base_offset + h.last_offset_delta + 1;
    }
    *out = pos < size ? pos : size;
    return 0;
}

/* Start of the first fenced range of s at or after byte pos; INT64_MAX when none. */
static int64_t fence_from(struct st_seg *s, int64_t pos)
{
    const struct st_fence *f = st__fence_from_pos(st__fences(s), pos);
    return f ? f->pos_lo : INT64_MAX;
}

/* The offset held at byte pos of s (a batch boundary below its published size). */
static int offset_at(struct st_seg *s, int64_t pos, int64_t *off)
{
    const struct st_fence *f = st__fence_by_pos(st__fences(s), pos);
    if (f && f->pos_lo == pos) {
        *off = f->off_lo;
        return 0;
    }
    uint8_t b[8];
    int err = st__seg_read(s, b, sizeof(b), pos);
    if (err == 0)
        *off = (int64_t)kp_load_be64(b);
    return err;
}

/* st_log_read and st_log_read_upto: limit INT64_MAX is no limit. */
static int read_range(struct st_log *log, int64_t offset, size_t max_bytes, int64_t limit,
                      struct st_read *out)
{
    out->n = 0;
    out->total = 0;
    out->first_offset = -1;
    out->end_offset = limit == INT64_MAX ? -1 : offset;
    if (!st__log_open(log)) {
        /* a dormant log answers a read at its end (a consumer waiting for more) as it is */
        int64_t start = st_log_start_offset(log), end = st_log_end_offset(log);
        if (offset < start || offset > end)
            return -ERANGE;
        if (offset == end || (limit != INT64_MAX && offset >= limit))
            return 0;
        int err = st__log_activate(log);
        if (err < 0)
            return err;
    }

    struct st_seg *held[ST_READ_MAX_RANGES];
    int nheld = 0;
    uint64_t e = st__grace_enter(&log->grace);
    int64_t end = atomic_load_explicit(&log->end_offset, memory_order_acquire);
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_acquire);
    int64_t start = v->s[0]->base;
    int64_t floor = atomic_load_explicit(&log->floor_offset, memory_order_acquire);
    if (floor > start)
        start = floor; /* DeleteRecords moved the log start into this segment */
    if (limit != INT64_MAX && limit > end)
        limit = end;
    int64_t bound = limit == INT64_MAX ? end : limit;
    if (offset < start || offset > end) {
        st__grace_exit(&log->grace, e);
        return -ERANGE;
    }
    if (offset >= bound) {
        st__grace_exit(&log->grace, e);
        return 0;
    }
    int lo = 0, hi = v->n - 1, at = 0;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (v->s[mid]->base <= offset) {
            at = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    /* the segment whose bytes stop at limit (limit is a batch boundary inside it): the last
     * one with a base below it; -1 when the limit is the end (no cut) */
    int lim_seg = -1;
    for (int i = at; i < v->n && nheld < ST_READ_MAX_RANGES && v->s[i]->base < bound; i++) {
        st__seg_ref(v->s[i]);
        held[nheld++] = v->s[i];
        if (limit != INT64_MAX && limit < end && (i + 1 == v->n || v->s[i + 1]->base > limit))
            lim_seg = nheld - 1; /* (a limit at the next segment's base cuts nothing here) */
    }
    st__grace_exit(&log->grace, e);

    int err = 0;
    int64_t budget = max_bytes > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max_bytes;
    int used = 0, pinned = 0;
    bool short_stop = false; /* the read stopped before its segment's (bounded) end */
    int64_t stop_pos = 0;
    for (int i = 0; i < nheld; i++) {
        struct st_seg *s = held[i];
        /* a range hands out the descriptor: pinned until st_read_release (st_fcache.c) */
        if ((err = st__seg_pin(s)) < 0)
            break;
        pinned = i + 1;
        int64_t size = atomic_load_explicit(&s->size, memory_order_acquire);
        if (i == lim_seg) {
            int64_t lp, lbs, lbase;
            if ((err = find_batch(s, size, limit, &lp, &lbs, &lbase)) < 0)
                break;
            size = lp; /* nothing at or past the limit */
        } else if (bound == end && i == nheld - 1 &&
                   atomic_load_explicit(&s->size_end, memory_order_acquire) > end) {
            /* bytes past the end offset loaded (publication protocol): not served */
            int64_t ep;
            if ((err = end_pos(s, size, end, &ep)) < 0)
                break;
            size = ep;
        }
        int64_t from = 0, endpos;
        if (i == 0) {
            int64_t bs, first;
            if ((err = find_batch(s, size, offset, &from, &bs, &first)) < 0)
                break;
            int64_t lim = from + (budget > bs ? budget : bs);
            int64_t fence = fence_from(s, from + bs); /* serve up to the next fenced range */
            if (fence < lim)
                lim = fence;
            if (lim >= size) {
                endpos = size;
            } else if ((err = cut_at(s, size, from + bs, lim, &endpos)) < 0) {
                break;
            }
            out->first_offset = first;
        } else {
            if (size == 0 || budget < KP_BATCH_HEADER_LEN)
                break;
            int64_t lim = budget;
            int64_t fence = fence_from(s, 0);
            if (fence < lim)
                lim = fence;
            if (lim >= size)
                endpos = size;
            else if ((err = cut_at(s, size, 0, lim, &endpos)) < 0)
                break;
            if (endpos == 0)
                break;
        }
        struct st_range *r = &out->r[out->n++];
        r->fd = s->fd;
        r->pos = (off_t)from;
        r->len = (size_t)(endpos - from);
        r->seg = s;
        out->total += r->len;
        used = i + 1;
        budget -= endpos - from;
        if (endpos < size) {
            short_stop = true;
            stop_pos = endpos;
            break;
        }
        if (budget <= 0)
            break;
    }
    if (err == 0 && limit != INT64_MAX && out->n > 0) {
        /* an upper bound of the offsets returned, for st_log_aborted_txns */
        struct st_seg *last = held[used - 1];
        if (short_stop)
            err = offset_at(last, stop_pos, &out->end_offset);
        else if (used < nheld)
            out->end_offset = held[used]->base;
        else
            out->end_offset = limit;
    }
    for (int i = used; i < nheld; i++) {
        if (i < pinned)
            st__seg_unpin(held[i]);
        st__seg_put(held[i]);
    }
    if (err < 0) {
        st_read_release(out);
        return err;
    }
    return 0;
}

int st_log_read(struct st_log *log, int64_t offset, size_t max_bytes, struct st_read *out)
{
    return read_range(log, offset, max_bytes, INT64_MAX, out);
}

int st_log_read_upto(struct st_log *log, int64_t offset, size_t max_bytes, int64_t limit,
                     struct st_read *out)
{
    if (limit < 0)
        return -EINVAL;
    return read_range(log, offset, max_bytes, limit, out);
}

static int cmp_aborted(const void *a, const void *b)
{
    const struct st_aborted *x = a, *y = b;
    if (x->first_offset != y->first_offset)
        return (x->first_offset > y->first_offset) - (x->first_offset < y->first_offset);
    return (x->producer_id > y->producer_id) - (x->producer_id < y->producer_id);
}

int st_log_aborted_txns(struct st_log *log, int64_t from, int64_t upper, struct st_aborted *out,
                        int cap, int *n)
{
    *n = 0;
    int aerr = st__log_activate(log);
    if (aerr < 0)
        return aerr;
    enum { BATCH = 16 };
    int err = 0;
    bool complete = false;
    int64_t resume = INT64_MIN; /* base of the last segment visited; none yet */
    while (!complete && err == 0) {
        struct st_seg *held[BATCH];
        int nheld = 0;
        bool more = false;
        uint64_t e = st__grace_enter(&log->grace);
        struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_acquire);
        int i = 0;
        if (resume == INT64_MIN) { /* the segment holding from (or the first) */
            while (i + 1 < v->n && v->s[i + 1]->base <= from)
                i++;
        } else {
            while (i < v->n && v->s[i]->base <= resume)
                i++;
        }
        for (; i < v->n; i++) {
            if (nheld == BATCH) {
                more = true;
                break;
            }
            resume = v->s[i]->base;
            if (atomic_load_explicit(&v->s[i]->txn_n, memory_order_acquire) > 0) {
                st__seg_ref(v->s[i]);
                held[nheld++] = v->s[i];
            }
        }
        st__grace_exit(&log->grace, e);
        for (int k = 0; k < nheld; k++) {
            if (!complete && err == 0) {
                int r = st__txnidx_collect(held[k], from, upper, out, cap, n);
                if (r < 0)
                    err = r;
                complete = r == 1;
            }
            st__seg_put(held[k]);
        }
        if (!more)
            break;
    }
    if (err < 0)
        return err;
    qsort(out, (size_t)*n, sizeof(*out), cmp_aborted);
    return 0;
}

int st_log_open_txns(struct st_log *log, struct st_open_txn *out, int cap)
{
    /* a dormant log whose record has its last stable offset at its end holds no open
     * transaction: no need to open it (the start-up sweep asks every log) */
    if (!st__log_open(log) && log->rec.valid && !log->rec.legacy && log->rec.lso >= log->rec.end)
        return 0;
    if (st__log_activate(log) < 0)
        return 0;
    pthread_mutex_lock(&log->mu);
    int n = (int)log->ps.nong;
    for (int i = 0; i < n && i < cap; i++) {
        const struct st_producer *e = st__ps_find(log, log->ps.ong[i].pid);
        out[i] = (struct st_open_txn){.producer_id = log->ps.ong[i].pid,
                                      .epoch = e ? e->epoch : -1,
                                      .first_offset = log->ps.ong[i].first};
    }
    pthread_mutex_unlock(&log->mu);
    return n;
}

void st_read_release(struct st_read *rd)
{
    for (int i = 0; i < rd->n; i++) {
        st__seg_unpin(rd->r[i].seg);
        st__seg_put(rd->r[i].seg);
        rd->r[i].seg = NULL;
    }
    rd->n = 0;
    rd->total = 0;
}

/* ---- offsets --------------------------------------------------------------------------------- */

int64_t st_log_start_offset(const struct st_log *log)
{
    return atomic_load_explicit(&log->start_offset, memory_order_acquire);
}

int64_t st_log_end_offset(const struct st_log *log)
{
    return atomic_load_explicit(&log->end_offset, memory_order_acquire);
}

int64_t st_log_lso(const struct st_log *log)
{
    int64_t lso = atomic_load_explicit(&log->lso, memory_order_acquire);
    if (atomic_load_explicit(&log->replicated, memory_order_acquire)) {
        int64_t hw = atomic_load_explicit(&log->hw, memory_order_acquire);
        if (hw < lso)
            lso = hw;
    }
    return lso;
}

int64_t st_log_durable_offset(const struct st_log *log)
{
    return atomic_load_explicit(&log->durable_offset, memory_order_acquire);
}

const char *st_log_topic(const struct st_log *log) { return log->topic; }
int32_t st_log_partition(const struct st_log *log) { return log->partition; }

int st_log_offset_for_time(struct st_log *log, int64_t ts, int64_t *offset)
{
    int aerr = st__log_activate(log);
    if (aerr < 0)
        return aerr;
    /* the first segment whose largest timestamp reaches ts (a sealed segment's is read at its
     * first need, st__seg_max_ts: outside the grace period, under a reference) */
    struct st_seg *s = NULL;
    for (int i = 0;; i++) {
        uint64_t e = st__grace_enter(&log->grace);
        (void)atomic_load_explicit(&log->end_offset, memory_order_acquire);
        struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_acquire);
        struct st_seg *c = NULL;
        bool last = true;
        for (int k = 0; k < v->n; k++) {
            if (k < i)
                continue;
            c = v->s[k];
            last = k == v->n - 1;
            st__seg_ref(c);
            break;
        }
        st__grace_exit(&log->grace, e);
        if (!c)
            break;
        if (st__seg_max_ts(c) >= ts) {
            s = c;
            break;
        }
        st__seg_put(c);
        if (last)
            break;
    }
    if (!s)
        return -ENOENT;

    int64_t size = atomic_load_explicit(&s->size, memory_order_acquire);
    int32_t rel = 0;
    int64_t t;
    int k = st__tidx_lookup_below(s, ts, &t, &rel);
    if (k < 0) {
        st__seg_put(s);
        return k;
    }
    if (k == 0)
        rel = 0;
    /* from the batch holding base + rel, or from after the fenced ranges holding it, passing
     * over fenced ranges: their timestamps are unknown, so they are never the answer */
    const struct st_fenceset *fs = st__fences(s);
    int64_t target = s->base + rel, pos, next;
    for (const struct st_fence *in; (in = st__fence_by_off(fs, target)) != NULL;)
        target = in->off_hi;
    int err = walk_start(s, fs, target, &pos, &next);
    if (err == 0)
        err = -ENOENT;
    while (pos < size) {
        struct kp_batch_hdr h;
        const struct st_fence *f = st__fence_from_pos(fs, pos);
        if (f && f->pos_lo == pos) {
            pos = f->pos_hi;
            continue;
        }
        if ((err = read_hdr(s, pos, f ? f->pos_lo : size, &h)) < 0)
            break;
        if (h.max_timestamp >= ts) {
            *offset = h.base_offset;
            err = 0;
            break;
        }
        pos += (int64_t)kp_batch_size(&h);
        err = -ENOENT;
    }
    st__seg_put(s);
    return err;
}

void st_log_request_sync(struct st_log *log)
{
    atomic_store(&log->sync_requested, true);
    st__store_kick_flusher(log->store);
}

/* ---- housekeeping ---------------------------------------------------------------------------- */

int64_t st__seg_time(struct st_seg *s)
{
    int64_t t = st__seg_max_ts(s);
    if (t >= 0)
        return t;
    struct stat st;
    if (stat(s->path, &st) < 0)
        return INT64_MAX;
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

/* A dormant log's retention, from its clean-shutdown record: whether its oldest segment would
 * go (then the log is opened for it). The active segment never goes; roll-by-time waits for
 * the next append, as Kafka's does. */
static bool dormant_retention_due(struct st_log *log, int64_t now_ms)
{
    const struct st_clean *c = &log->rec;
    if (c->segments < 2)
        return false;
    pthread_mutex_lock(&log->mu); /* the topic's config may change at run time (st_store.c) */
    int64_t rbytes = log->cfg.retention_bytes, rms = log->cfg.retention_ms;
    bool deletes = (log->cfg.cleanup_policy & ST_CLEANUP_DELETE) != 0;
    pthread_mutex_unlock(&log->mu);
    /* size and time only under cleanup.policy delete; the log start offset under any policy */
    bool by_size = deletes && rbytes >= 0 && c->bytes - c->first_size >= rbytes;
    bool by_time = deletes && rms >= 0 && c->first_time < now_ms - rms;
    /* DeleteRecords moved the start past the first segment's base: the segments wholly below
     * it go (the record does not say where the second one starts, so the log is opened to see) */
    bool by_floor = atomic_load(&log->floor_offset) > c->first_base;
    return by_size || by_time || by_floor;
}

void st__log_maintain(struct st_log *log, int64_t now_ms)
{
    if (!st__log_open(log) && (!dormant_retention_due(log, now_ms) || st__log_activate(log) < 0))
        return;
    pthread_mutex_lock(&log->mu);
    if (log->deleted || log->closed) {
        pthread_mutex_unlock(&log->mu);
        return;
    }
    const struct st_log_config *cfg = &log->cfg;
    struct st_seg *act = active_seg(log);
    if (cfg->roll_ms >= 0 && act->w.pos > 0 && act->first_append_ms >= 0 &&
        now_ms - act->first_append_ms >= cfg->roll_ms)
        (void)st__log_roll(log, now_ms);
    if (log->ps.n > 0 && now_ms >= log->ps.next_expiry_ms) {
        (void)st__ps_expire(log, now_ms);
        log->ps.next_expiry_ms = now_ms + log->store->defaults.producer_id_expiration_check_ms;
    }

    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    int64_t total = 0;
    for (int i = 0; i < v->n; i++)
        total += atomic_load_explicit(&v->s[i]->size, memory_order_relaxed);
    int k = 0;
    /* Only sealed segments whose digest is written (the flusher is done with them). */
    /* Not while a cleaning may swap them (st_clean.c). Size and time only under
     * cleanup.policy delete; segments wholly below the log start offset under any policy, as
     * Kafka's deleteLogStartOffsetBreachedSegments. */
    bool deletes = cfg->cleanup_policy == 0 || (cfg->cleanup_policy & ST_CLEANUP_DELETE);
    while (!log->cleaning && k < v->n - 1 && atomic_load(&v->s[k]->digested)) {
        struct st_seg *s = v->s[k];
        int64_t sz = atomic_load_explicit(&s->size, memory_order_relaxed);
        bool by_size = deletes && cfg->retention_bytes >= 0 && total - sz >= cfg->retention_bytes;
        bool by_time =
            deletes && cfg->retention_ms >= 0 && st__seg_time(s) < now_ms - cfg->retention_ms;
        /* every offset of it below the DeleteRecords low watermark */
        bool by_floor = v->s[k + 1]->base <= atomic_load(&log->floor_offset);
        if (!by_size && !by_time && !by_floor)
            break;
        total -= sz;
        k++;
    }
    if (k > 64)
        k = 64; /* the rest on the next call */
    /* never past the newest snapshot: the producers of the deleted batches live on in it
     * (st_pstate.c); if it is too old, the flusher writes one and the next call goes on */
    bool limited = false;
    while (k > 0 && v->s[k]->base > log->snap_newest) {
        k--;
        limited = true;
    }
    if (limited && !atomic_exchange(&log->snap_want, true))
        st__store_kick_flusher(log->store);
    if (k > 0)
        log->pristine = false;
    bool fenced = false;
    if (k > 0) {
        struct st_segvec *nv = st__segvec_new(v->n - k);
        if (nv) {
            struct st_seg *gone[64];
            memcpy(nv->s, v->s + k, (size_t)nv->n * sizeof(nv->s[0]));
            memcpy(gone, v->s, (size_t)k * sizeof(gone[0]));
            st__log_set_segs(log, nv);
            atomic_store_explicit(
                &log->lso,
                st__ps_lso(log, atomic_load_explicit(&log->end_offset, memory_order_relaxed)),
                memory_order_release);
            if (log->ep_loaded &&
                st__epoch_trim_start(
                    log, atomic_load_explicit(&log->start_offset, memory_order_relaxed)))
                (void)st__epoch_persist(log); /* else the flusher's (ep_dirty) */
            for (int i = 0; i < k; i++) {
                fenced = fenced || st__fences(gone[i]) != NULL;
                st__seg_unlink(gone[i]);
                st__seg_put(gone[i]);
            }
            log->dir_dirty = true;
        }
    }
    pthread_mutex_unlock(&log->mu);
    if (fenced)
        (void)st__fence_persist(log); /* their ranges leave the fenced file (a failure is
                                         retried by the scrubber; a stale entry is dropped at
                                         open) */
}

/* ---- lifetime -------------------------------------------------------------------------------- */

void st__log_free(struct st_log *log)
{
    st__ps_free(log);
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    if (v) {
        for (int i = 0; i < v->n; i++)
            st__seg_put(v->s[i]);
        free(v);
    }
    st__seg_put(log->synced_seg);
    pthread_mutex_destroy(&log->mu);
    pthread_mutex_destroy(&log->sync_mu);
    pthread_mutex_destroy(&log->fence_mu);
    pthread_mutex_destroy(&log->hw_mu);
    st__epoch_free(log);
    free(log->topic);
    free(log->dir);
    free(log);
}

void st_log_put(struct st_log *log)
{
    if (log && atomic_fetch_sub_explicit(&log->refs, 1, memory_order_acq_rel) == 1)
        st__log_free(log);
}
