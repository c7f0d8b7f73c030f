/*
 * st_repair — a fenced range mended in place with another replica's bytes (issue 18, M5;
 * contract in st.h "repair of fenced ranges"; docs/cluster.md "Repair of fenced ranges").
 *
 * A replicated partition's replicas hold the same batches byte for byte (a follower appends
 * its leader's batches unchanged; compaction is the exception, st_clean.c), so the bytes a
 * fenced range (st_fence.c) should hold can be fetched from a replica that serves them. They
 * replace the bad ones at the same place in the same segment: nothing moves, no index entry,
 * producer state or offset changes, and the log's end never goes down.
 *
 * THE RULE FOR A REPAIR (st_log_repair, in this order)
 *   1. The range: a fence of the log starts at exactly off_lo, in a sealed segment (the
 *      active one is repaired once it rolls: -EAGAIN).
 *   2. The bytes: exactly pos_hi - pos_lo of them (-EMSGSIZE otherwise: a compacted replica
 *      whose batches differ in size is refused, never squeezed in); whole batches, each of
 *      magic 2 with a good CRC-32C, records filling it (uncompressed), the first at baseOffset
 *      off_lo, each next one right after the previous one's last offset, the last ending at
 *      off_hi - 1 (-EBADMSG otherwise); no transactional batch or marker among them
 *      (-EOPNOTSUPP: producer state, the LSO and the .txnindex skipped them when the range was
 *      fenced at a recovery, and a repair does not replay them).
 *   3. The digest: when the segment has a .digest sidecar, every chunk the range touches,
 *      read from the .log with the new bytes in place of the fenced ones, must hash to the
 *      sidecar's XXH3-64 (-EILSEQ otherwise: the replica's bytes are not the ones this
 *      segment held when it was sealed). A chunk that another fenced range also touches
 *      cannot match while that one is bad: it is passed over when the topic is not compacted
 *      (its replicas are byte-identical, and the scrubber checks the chunk against its digest
 *      again once every range in it is mended, fencing it anew if it still differs), and
 *      refused otherwise (-EXDEV: a compacted replica's batches may differ with the same
 *      offsets and length); a compacted topic's segment without a sidecar is refused for now
 *      (-EINPROGRESS: the flusher writes it once the sealed segment is synced, so it is
 *      asked again later rather than remembered as a lasting refusal).
 *   4. pwrite at pos_lo, fdatasync of the .log; only then the fence is dropped from the
 *      segment's set (readers serve the range from then on) and the fenced file rewritten
 *      (st_fence.c's rule: fenced.tmp, fdatasync, rename, directory fsync; removed when
 *      nothing is fenced any more).
 *   A crash before 4's fdatasync leaves the range fenced (the file still names it) over
 *   bytes that are old or new; one after it and before the rename leaves it fenced over good
 *   bytes: both are repaired again (the same bytes) by the next attempt.
 *
 * Locking: store->scrub_mu (so that the scrubber never judges a chunk from bytes read before
 * the write against a fence set read after it; taken only if free, else -EBUSY: the scrubber
 * holds it through a whole pass, too long for the fetcher thread calling here), then log->sync_mu
 * (no truncation, sync or compaction swap of the log meanwhile: a truncation by another thread, the
 * log's leadership having moved, never cuts the segment under the write), then log->fence_mu for
 * the whole repair, and log->mu briefly to find the segment and to mark the log changed. Order:
 * scrub_mu, sync_mu, fence_mu, mu, as elsewhere (the scrubber opens dormant logs under
 * scrub_mu; activation persists fences under sync_mu). Appends (mu) go on meanwhile; a
 * durable produce waits for the repair's fdatasync at most. Readers never read inside a
 * fence, and the cleaner leaves segments with fences alone.
 */
#include "st_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_batch.h"
#include "kp_buf.h"

uint64_t st_store_fence_gen(struct st_store *store)
{
    return atomic_load_explicit(&store->fence_gen, memory_order_acquire);
}

int st_log_fenced_next(struct st_log *log, int64_t from, struct st_fenced_range *out)
{
    if (!st__log_open(log)) {
        if (log->rec.fenced_ranges <= 0)
            return 0; /* dormant, and its clean close recorded no fence */
        int err = st__log_activate(log);
        if (err < 0)
            return err;
    }
    int found = 0;
    uint64_t e = st__grace_enter(&log->grace);
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_acquire);
    for (int i = 0; i < v->n && !found; i++) {
        const struct st_fenceset *fs = st__fences(v->s[i]);
        for (uint32_t k = 0; fs && k < fs->n; k++) {
            if (fs->f[k].off_hi <= from)
                continue;
            *out =
                (struct st_fenced_range){.seg_base = v->s[i]->base,
                                         .off_lo = fs->f[k].off_lo,
                                         .off_hi = fs->f[k].off_hi,
                                         .pos_lo = fs->f[k].pos_lo,
                                         .pos_hi = fs->f[k].pos_hi,
                                         .sealed = i < v->n - 1 && atomic_load(&v->s[i]->sealed)};
            found = 1;
            break;
        }
    }
    st__grace_exit(&log->grace, e);
    return found;
}

/* Rule step 2 over b[0, len): the batches hold exactly offsets [lo, hi). */
static int check_batches(const uint8_t *b, size_t len, int64_t lo, int64_t hi)
{
    size_t at = 0;
    int64_t next = lo;
    bool saw_txn = false;
    while (at < len) {
        struct kp_batch_hdr h;
        if (kp_batch_validate(b + at, len - at, 0, &h) < 0 ||
            kp_batch_check_records(b + at, &h) < 0)
            return -EBADMSG;
        if (h.base_offset != next || h.last_offset_delta < 0 ||
            h.last_offset_delta > hi - h.base_offset - 1)
            return -EBADMSG;
        if (h.attributes & (KP_BATCH_ATTR_TRANSACTIONAL | KP_BATCH_ATTR_CONTROL))
            saw_txn = true;
        next = h.base_offset + h.last_offset_delta + 1;
        at += kp_batch_size(&h);
    }
    if (next != hi)
        return -EBADMSG;
    /* a transaction's batches or markers: producer state, the LSO and the .txnindex skipped
     * them when the range was fenced at a recovery, and a repair does not replay them */
    return saw_txn ? -EOPNOTSUPP : 0;
}

/* Whether a fence of s other than f touches chunk [clo, chi). */
static bool chunk_shared(const struct st_seg *s, const struct st_fence *f, int64_t clo, int64_t chi)
{
    const struct st_fenceset *fs = st__fences(s);
    for (uint32_t k = 0; fs && k < fs->n; k++)
        if (fs->f[k].off_lo != f->off_lo && fs->f[k].pos_lo < chi && clo < fs->f[k].pos_hi)
            return true;
    return false;
}

/* Rule step 3: each chunk of s that fence f touches, with b in place of its bytes, against
 * the sidecar (when there is one); compacted: the topic's cleanup.policy has compact. */
static int check_digest(struct st_seg *s, int64_t size, const struct st_fence *f, const uint8_t *b,
                        bool compacted)
{
    int64_t pos_lo = f->pos_lo;
    size_t len = (size_t)(f->pos_hi - f->pos_lo);
    uint64_t nchunks = 0;
    uint8_t *side = st__digest_load(s, size, &nchunks);
    if (!side) /* no sidecar (or a damaged one): the batch checks are all there is, enough
                  where replicas are byte-identical; a compacted topic's may differ */
        return compacted ? -EINPROGRESS : 0;
    uint8_t *chunk = malloc(ST_DIGEST_CHUNK);
    int err = chunk ? 0 : -ENOMEM;
    int64_t pos_hi = pos_lo + (int64_t)len;
    for (int64_t c = pos_lo / ST_DIGEST_CHUNK; err == 0 && c * ST_DIGEST_CHUNK < pos_hi; c++) {
        int64_t clo = c * ST_DIGEST_CHUNK;
        int64_t chi = clo + ST_DIGEST_CHUNK < size ? clo + ST_DIGEST_CHUNK : size;
        if (chunk_shared(s, f, clo, chi)) {
            if (compacted)
                err = -EXDEV;
            continue; /* (checked by the scrubber once the other range is mended too) */
        }
        if ((err = st__seg_read(s, chunk, (size_t)(chi - clo), clo)) < 0)
            break;
        int64_t lo = pos_lo > clo ? pos_lo : clo, hi = pos_hi < chi ? pos_hi : chi;
        memcpy(chunk + (lo - clo), b + (lo - pos_lo), (size_t)(hi - lo));
        uint64_t want = kp_load_be64(side + ST_DIGEST_HDR + (size_t)c * 8);
        if (XXH3_64bits(chunk, (size_t)(chi - clo)) != want)
            err = -EILSEQ;
    }
    free(chunk);
    free(side);
    return err;
}

/* Under fence_mu: the set of s without fence f. */
static int unfence(struct st_seg *s, const struct st_fence *f)
{
    const struct st_fenceset *fs = st__fences(s);
    uint32_t n = fs ? fs->n : 0, m = 0;
    struct st_fenceset *ns = malloc(sizeof(*ns) + (size_t)n * sizeof(ns->f[0]));
    if (!ns)
        return -ENOMEM;
    for (uint32_t k = 0; k < n; k++)
        if (fs->f[k].off_lo != f->off_lo)
            ns->f[m++] = fs->f[k];
    ns->n = m;
    ns->older = atomic_load_explicit(&s->fences, memory_order_relaxed);
    atomic_store_explicit(&s->fences, ns, memory_order_release);
    return 0;
}

/* Under fence_mu: rule steps 1-4 once the segment s (referenced) holding fence f is found. */
static int repair_in(struct st_log *log, struct st_seg *s, const struct st_fence *f,
                     const uint8_t *bytes, size_t len, int *persist_err)
{
    int64_t size = atomic_load_explicit(&s->size, memory_order_acquire);
    if ((int64_t)len != f->pos_hi - f->pos_lo)
        return -EMSGSIZE;
    int err = check_batches(bytes, len, f->off_lo, f->off_hi);
    bool compacted = (ST_CLEAN_CFG(log, cleanup_policy) & ST_CLEANUP_COMPACT) != 0;
    if (err == 0)
        err = check_digest(s, size, f, bytes, compacted);
    if (err < 0)
        return err;
    if ((err = st__seg_pin(s)) < 0)
        return err;
    err = st__pwrite_full(s->fd, bytes, len, f->pos_lo);
    if (err == 0 && fdatasync(s->fd) < 0)
        err = -errno;
    st__seg_unpin(s);
    if (err < 0)
        return err; /* still fenced: whatever reached the file is never served */
    if ((err = unfence(s, f)) < 0)
        return err;
    pthread_mutex_lock(&log->mu);
    log->pristine = false; /* its clean-shutdown record counts fenced ranges */
    pthread_mutex_unlock(&log->mu);
    *persist_err = st__fence_persist_locked(log);
    return 0;
}

int st_log_repair(struct st_log *log, int64_t off_lo, const uint8_t *bytes, size_t len,
                  int *persist_err)
{
    *persist_err = 0;
    if (!bytes || len == 0)
        return -EINVAL;
    if (!st__log_open(log))
        return -ENOENT; /* dormant: nothing fenced since its clean close (st_log_fenced_next
                           opens one that has ranges) */
    struct st_store *store = log->store;
    /* the scrubber holds it through a whole pass (a second of reads, a dormant log's
     * recovery): the fetcher thread calling here must not wait that long */
    if (pthread_mutex_trylock(&store->scrub_mu) != 0)
        return -EBUSY;
    pthread_mutex_lock(&log->sync_mu);
    pthread_mutex_lock(&log->fence_mu);
    int err = -ENOENT;
    struct st_seg *s = NULL;
    struct st_fence f = {0};
    pthread_mutex_lock(&log->mu);
    if (log->deleted || log->closed) {
        err = log->deleted ? -ENOENT : -ESHUTDOWN;
    } else if (log->cleaning) {
        err = -EBUSY;
    } else {
        struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
        for (int i = 0; i < v->n && !s; i++) {
            const struct st_fence *hit = st__fence_by_off(st__fences(v->s[i]), off_lo);
            if (!hit || hit->off_lo != off_lo)
                continue;
            f = *hit;
            if (i == v->n - 1 || !atomic_load(&v->s[i]->sealed)) {
                err = -EAGAIN;
                break;
            }
            s = v->s[i];
            st__seg_ref(s);
        }
    }
    pthread_mutex_unlock(&log->mu);
    if (s) {
        err = repair_in(log, s, &f, bytes, len, persist_err);
        st__seg_put(s);
    }
    pthread_mutex_unlock(&log->fence_mu);
    pthread_mutex_unlock(&log->sync_mu);
    pthread_mutex_unlock(&store->scrub_mu);
    return err;
}
