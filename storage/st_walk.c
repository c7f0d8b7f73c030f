/*
 * st_walk — checking a segment's batches one by one and telling the bad ones from the good:
 * recovery scans (st_recover.c), the scrubber placing a chunk that failed its digest and the
 * scrubber's check of an active segment that has no running digest (st_scrub.c).
 *
 * THE RULE FOR A GOOD BATCH (the format is in st_segment.c)
 *   The batch at byte p of a segment, expected to hold offset E (the segment's base offset
 *   at p = 0, the previous batch's last offset + 1, or the offset after a fenced range that
 *   ends at p), is good when
 *   1. its 61-byte header lies within the bytes the walk may read, magic is 2 and
 *      batchLength >= 49;
 *   2. it ends within them, below byte 2^31 - 1, and crosses no known boundary (the start of
 *      a fenced range, the walk's end position);
 *   3. baseOffset == E, lastOffsetDelta >= 0, its offsets stay within 2^31 - 1 of the segment's
 *      base, and its last offset + 1 is the offset known at the next boundary when it ends
 *      there (below it otherwise);
 *   4. CRC-32C over bytes [21, end) matches;
 *   5. partitionLeaderEpoch: epochs never decrease along a log and are >= 0. A batch whose
 *      epoch is below the last good batch's is bad; one whose epoch rises is judged by the
 *      next good batch: if that one falls back (to at least the earlier epoch) the rise was
 *      the odd one and is bad, a genuine leader change stays. A rise with no good batch
 *      right after it in the walk cannot be judged: it stays, reported as unconfirmed.
 *   Rules 1-3 cover the header fields CRC-32C leaves out (baseOffset, batchLength, magic),
 *   rule 5 the fourth (partitionLeaderEpoch).
 *
 * A BAD BATCH below fence_below (bytes known to have reached the disk: corruption, not a torn
 *   write) is fenced. Its own length cannot be trusted, so the walk finds the next batch by
 *   RESYNC: the first position q > p + 60, before the next known boundary, where a batch is
 *   good by rules 1-4 with baseOffset > E, whose following header (unless it ends at the
 *   boundary) continues its offsets. That boundary (a fenced range's start, the walk's end
 *   position with its known offset) is the answer when nothing before it qualifies. Bytes
 *   [p, q) and offsets [E, baseOffset(q)) are the fenced range. Bad neighbours make one
 *   range; a good batch whose successor's header is damaged fails the confirmation and is
 *   fenced with them: the one case where a good batch is lost. A bad batch at or past
 *   fence_below ends the walk there ("torn"): recovery cuts the file at that point.
 *
 * Costs: each byte of each checked batch is read once (a window of bufcap bytes) and CRC'd
 * once; a resync tests every byte position between the bad batch and the next good one, but
 * only positions whose magic byte is 2 and whose offsets fit are CRC'd.
 */
#include "st_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kp_batch.h"
#include "kp_crc32c.h"

/* Bytes [pos, pos + len) in the window (len <= bufcap, pos + len <= limit); NULL on error. */
static const uint8_t *win(struct st_walk *w, int64_t pos, int64_t len, int *err)
{
    if (w->winlen > 0 && pos >= w->winpos && pos + len <= w->winpos + w->winlen)
        return w->buf + (pos - w->winpos);
    int64_t n = w->limit - pos;
    if (n > (int64_t)w->bufcap)
        n = (int64_t)w->bufcap;
    int e = n >= len ? st__seg_read(w->seg, w->buf, (size_t)n, pos) : -EINVAL;
    if (e < 0) {
        w->winlen = 0;
        *err = e;
        return NULL;
    }
    w->winpos = pos;
    w->winlen = n;
    w->bytes += n;
    return w->buf;
}

/* Whether the CRC-32C of the batch at pos (size bytes) is want. */
static int crc_matches(struct st_walk *w, int64_t pos, int64_t size, uint32_t want, bool *ok)
{
    int err = 0;
    if (size <= (int64_t)w->bufcap) {
        const uint8_t *p = win(w, pos, size, &err);
        if (!p)
            return err;
        *ok = kp_crc32c(0, p + KP_BATCH_OFF_ATTRIBUTES, (size_t)size - KP_BATCH_OFF_ATTRIBUTES) ==
              want;
        return 0;
    }
    uint32_t crc = 0;
    int64_t at = pos + KP_BATCH_OFF_ATTRIBUTES, end = pos + size;
    w->winlen = 0; /* the window is reused piece by piece */
    while (at < end) {
        size_t n = (size_t)(end - at < (int64_t)w->bufcap ? end - at : (int64_t)w->bufcap);
        if ((err = st__seg_read(w->seg, w->buf, n, at)) < 0)
            return err;
        w->bytes += (int64_t)n;
        crc = kp_crc32c(crc, w->buf, n);
        at += (int64_t)n;
    }
    *ok = crc == want;
    return 0;
}

/*
 * Rules 1-4 for the batch at w->pos, whose bytes must end by bound (the next known boundary;
 * bound_off the offset there, -1 unknown). 0 good (*h filled), 1 bad (why), -errno.
 */
static int check(struct st_walk *w, int64_t bound, int64_t bound_off, struct kp_batch_hdr *h,
                 char *why)
{
    int64_t pos = w->pos;
    int err = 0;
    if (pos + KP_BATCH_HEADER_LEN > bound) {
        snprintf(why, ST_WALK_WHY, "header runs past byte %" PRId64, bound);
        return 1;
    }
    const uint8_t *p = win(w, pos, KP_BATCH_HEADER_LEN, &err);
    if (!p)
        return err;
    if (kp_batch_parse_hdr(p, KP_BATCH_HEADER_LEN, h) < 0) {
        snprintf(why, ST_WALK_WHY, "magic %d or batchLength %" PRId32 " wrong",
                 (int)p[KP_BATCH_OFF_MAGIC], (int32_t)kp_load_be32(p + KP_BATCH_OFF_LENGTH));
        return 1;
    }
    int64_t size = (int64_t)kp_batch_size(h);
    if (pos + size > INT32_MAX) {
        snprintf(why, ST_WALK_WHY, "batch runs past byte 2^31-1 of the segment");
        return 1;
    }
    if (pos + size > bound) {
        snprintf(why, ST_WALK_WHY, "batchLength %" PRId32 " runs past byte %" PRId64,
                 h->batch_length, bound);
        return 1;
    }
    if (h->base_offset != w->next) {
        snprintf(why, ST_WALK_WHY, "baseOffset %" PRId64 ", expected %" PRId64, h->base_offset,
                 w->next);
        return 1;
    }
    if (h->last_offset_delta < 0 ||
        h->base_offset - w->seg->base + h->last_offset_delta >= INT32_MAX) {
        snprintf(why, ST_WALK_WHY, "lastOffsetDelta %" PRId32 " out of range",
                 h->last_offset_delta);
        return 1;
    }
    int64_t after = h->base_offset + h->last_offset_delta + 1;
    if (bound_off >= 0 && (pos + size == bound ? after != bound_off : after >= bound_off)) {
        snprintf(why, ST_WALK_WHY, "last offset %" PRId64 " does not lead to offset %" PRId64,
                 after - 1, bound_off);
        return 1;
    }
    bool ok;
    if ((err = crc_matches(w, pos, size, h->crc, &ok)) < 0)
        return err;
    if (!ok) {
        snprintf(why, ST_WALK_WHY, "CRC-32C mismatch");
        return 1;
    }
    return 0;
}

/* The next boundary after w->pos that the walk knows, and the offset there (-1: unknown). */
static void boundary(const struct st_walk *w, const struct st_fence *kf, int64_t *bpos,
                     int64_t *boff)
{
    *bpos = w->limit;
    *boff = -1;
    if (w->end_pos > w->pos && w->end_pos <= *bpos) {
        *bpos = w->end_pos;
        *boff = w->end_off;
    }
    if (kf && kf->pos_lo < *bpos) {
        *bpos = kf->pos_lo;
        *boff = kf->off_lo;
    }
}

/* RESYNC (top of file) after a bad batch at w->pos. 0 with *q_out and *qoff_out, 1 when there is no
 * boundary to fall back on, -errno. */
static int resync(struct st_walk *w, const struct st_fence *kf, int64_t *q_out, int64_t *qoff_out)
{
    int64_t end, end_off;
    boundary(w, kf, &end, &end_off);
    int err = 0;
    for (int64_t q = w->pos + KP_BATCH_HEADER_LEN; q + KP_BATCH_HEADER_LEN <= end; q++) {
        const uint8_t *p = win(w, q, KP_BATCH_HEADER_LEN, &err);
        if (!p)
            return err;
        struct kp_batch_hdr h;
        if (p[KP_BATCH_OFF_MAGIC] != KP_BATCH_MAGIC ||
            kp_batch_parse_hdr(p, KP_BATCH_HEADER_LEN, &h) < 0)
            continue;
        int64_t size = (int64_t)kp_batch_size(&h);
        if (q + size > end || q + size > INT32_MAX || h.base_offset <= w->next ||
            h.last_offset_delta < 0 ||
            h.base_offset - w->seg->base + h.last_offset_delta >= INT32_MAX)
            continue;
        int64_t after = h.base_offset + h.last_offset_delta + 1;
        if (end_off >= 0 && (q + size == end ? after != end_off : after >= end_off))
            continue;
        if (q + size < end) {
            struct kp_batch_hdr h2;
            const uint8_t *p2 = q + size + KP_BATCH_HEADER_LEN <= end
                                    ? win(w, q + size, KP_BATCH_HEADER_LEN, &err)
                                    : NULL;
            if (!p2 && err < 0)
                return err;
            if (!p2 || kp_batch_parse_hdr(p2, KP_BATCH_HEADER_LEN, &h2) < 0 ||
                h2.base_offset != after)
                continue;
        }
        bool ok;
        if ((err = crc_matches(w, q, size, h.crc, &ok)) < 0)
            return err;
        if (ok) {
            *q_out = q;
            *qoff_out = h.base_offset;
            return 0;
        }
    }
    if (end_off > w->next) {
        *q_out = end;
        *qoff_out = end_off;
        return 0;
    }
    return 1;
}

/* The pending rise stays: judged (a later batch agreed) or not (reported unconfirmed). */
static void keep_rise(struct st_walk *w, bool judged)
{
    if (!w->rise)
        return;
    if (!judged) {
        w->unconfirmed = true;
        w->unconfirmed_f = w->rise_f;
    }
    w->floor = w->rise_epoch;
    w->rise = false;
}

static void record(struct st_walk *w, const struct st_fence *f, const char *why)
{
    w->found[w->nfound] = *f;
    snprintf(w->why[w->nfound], ST_WALK_WHY, "%s", why);
    w->nfound++;
    if (w->on_fence)
        w->on_fence(w->arg, f->pos_lo, f->pos_hi, f->off_lo, f->off_hi);
}

/* The pending rise was the odd one (e: the epoch that fell back). 1: the walk ends torn. */
static int drop_rise(struct st_walk *w, int32_t e)
{
    w->rise = false;
    if (w->on_undo)
        w->on_undo(w->arg);
    char why[ST_WALK_WHY];
    snprintf(why, sizeof(why),
             "partitionLeaderEpoch %" PRId32 " above both neighbours (%" PRId32 ", %" PRId32 ")",
             w->rise_epoch, w->floor, e);
    if (w->rise_f.pos_lo >= w->fence_below) {
        w->pos = w->rise_f.pos_lo;
        w->next = w->rise_f.off_lo;
        w->torn = true;
        snprintf(w->torn_why, sizeof(w->torn_why), "%s", why);
        return 1;
    }
    record(w, &w->rise_f, why);
    return 0;
}

int st__walk_run(struct st_walk *w)
{
    /* a walk that starts inside a known range starts after it */
    const struct st_fence *in = st__fence_by_pos(w->known, w->pos);
    if (in && in->pos_lo < w->pos) {
        keep_rise(w, false);
        w->pos = in->pos_hi;
        w->next = in->off_hi;
    }
    while (w->pos < w->stop && !w->torn) {
        if (w->nfound + 2 > ST_WALK_FOUND)
            return 1;
        const struct st_fence *kf = st__fence_from_pos(w->known, w->pos);
        if (kf && kf->pos_lo == w->pos) {
            keep_rise(w, false);
            if (kf->off_hi <= w->next) {
                w->torn = true;
                snprintf(w->torn_why, sizeof(w->torn_why),
                         "fenced range ends at offset %" PRId64 ", before %" PRId64, kf->off_hi,
                         w->next);
                return 0;
            }
            if (w->on_fence)
                w->on_fence(w->arg, kf->pos_lo, kf->pos_hi, w->next, kf->off_hi);
            w->pos = kf->pos_hi;
            w->next = kf->off_hi;
            continue;
        }
        int64_t bpos, boff;
        boundary(w, kf, &bpos, &boff);
        struct kp_batch_hdr h;
        char why[ST_WALK_WHY];
        int bad = check(w, bpos, boff, &h, why);
        if (bad < 0)
            return bad;
        if (bad == 0) {
            int32_t e = h.leader_epoch;
            if (w->rise) {
                if (e >= w->rise_epoch)
                    keep_rise(w, true);
                else if (e >= w->floor && drop_rise(w, e))
                    return 0;
                else
                    keep_rise(w, false); /* e is below both: e is the odd one (below) */
            }
            if (e < w->floor || e < 0) {
                snprintf(why, sizeof(why),
                         "partitionLeaderEpoch %" PRId32 " below the previous batch's %" PRId32, e,
                         w->floor);
                bad = 1;
            }
        }
        if (bad == 0) {
            int64_t size = (int64_t)kp_batch_size(&h);
            if (w->on_batch)
                w->on_batch(w->arg, w->pos, &h);
            if (h.leader_epoch > w->floor) {
                w->rise = true;
                w->rise_epoch = h.leader_epoch;
                w->rise_f = (struct st_fence){w->pos, w->pos + size, h.base_offset,
                                              h.base_offset + h.last_offset_delta + 1};
            }
            w->pos += size;
            w->next = h.base_offset + h.last_offset_delta + 1;
            continue;
        }
        keep_rise(w, false);
        if (w->pos >= w->fence_below) {
            w->torn = true;
            snprintf(w->torn_why, sizeof(w->torn_why), "%s", why);
            return 0;
        }
        int64_t q = 0, qoff = 0;
        int r = resync(w, kf, &q, &qoff);
        if (r < 0)
            return r;
        if (r == 1) {
            w->torn = true;
            snprintf(w->torn_why, sizeof(w->torn_why), "%.60s (and no good batch after it)", why);
            return 0;
        }
        struct st_fence f = {w->pos, q, w->next, qoff};
        record(w, &f, why);
        w->pos = q;
        w->next = qoff;
    }
    if (w->rise) {
        w->unconfirmed = true; /* may still be judged by a later call */
        w->unconfirmed_f = w->rise_f;
    }
    return 0;
}

int st__walk_locate(struct st_seg *s, const struct st_fenceset *fs, int64_t target, int64_t limit,
                    int64_t *pos_out, int64_t *next_out, int32_t *floor_out)
{
    *floor_out = 0;
    const struct st_fence *f = st__fence_by_pos(fs, target);
    if (f) {
        *pos_out = f->pos_lo;
        *next_out = f->off_lo;
        return 0;
    }
    int64_t pos = 0, next = s->base;
    int32_t rel, p;
    int k = st__oidx_lookup_pos(s, target, &rel, &p);
    if (k < 0)
        return k;
    if (k == 1) {
        if (p < limit && !st__fence_by_pos(fs, p)) {
            pos = p;
            next = s->base + rel;
        }
    }
    const struct st_fence *b = NULL;
    if (fs) {
        const struct st_fence *nf = st__fence_from_pos(fs, target);
        uint32_t i = nf ? (uint32_t)(nf - fs->f) : fs->n;
        b = i > 0 ? &fs->f[i - 1] : NULL; /* the last range ending at or before target */
    }
    if (b && b->pos_hi > pos) {
        pos = b->pos_hi;
        next = b->off_hi;
    }
    /* walk headers up to the batch that holds target */
    for (;;) {
        const struct st_fence *nf = st__fence_from_pos(fs, pos);
        if (pos >= target || pos + KP_BATCH_HEADER_LEN > limit)
            break;
        uint8_t hb[KP_BATCH_HEADER_LEN];
        struct kp_batch_hdr h;
        int err = st__seg_read(s, hb, sizeof(hb), pos);
        if (err < 0)
            return err;
        if (kp_batch_parse_hdr(hb, sizeof(hb), &h) < 0 || h.base_offset != next ||
            h.last_offset_delta < 0)
            break; /* the walk will judge this one */
        int64_t size = (int64_t)kp_batch_size(&h);
        if (pos + size > target || pos + size > limit || (nf && pos + size > nf->pos_lo))
            break;
        if (h.leader_epoch >= 0)
            *floor_out = h.leader_epoch;
        pos += size;
        next = h.base_offset + h.last_offset_delta + 1;
    }
    *pos_out = pos;
    *next_out = next;
    return 0;
}
