/*
 * st_recover — opening a partition log: find its segments, decide what to trust, scan the
 * rest batch by batch, truncate at the first bad batch, rebuild indexes. The rule is written
 * out under RECOVERY RULE at the top of st_segment.c; this file implements it.
 *
 * Runs single-threaded at store open (or topic create), before the log is visible to anyone.
 */
#include "st_int.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/*
 * Scans [s->w.pos, fsize) batch by batch with full checks (header, bounds, offset
 * continuity, CRC-32C), adding index entries by the rule. Returns 0 and leaves s->w.pos at
 * the end of the last good batch; the caller truncates if that is short of fsize.
 */
static int seg_scan(struct st_seg *s, int64_t fsize, uint8_t *buf)
{
    int err = seg_reserve_for(s, s->w.pos, fsize);
    if (err < 0)
        return err;
    int64_t pos = s->w.pos;
    int64_t bufpos = pos, buflen = 0;
    for (;;) {
        if (pos + KP_BATCH_HEADER_LEN > fsize)
            break;
        if (pos + KP_BATCH_HEADER_LEN > bufpos + buflen) {
            bufpos = pos;
            buflen = fsize - pos < ST_SCAN_BUF ? fsize - pos : ST_SCAN_BUF;
            if ((err = st__pread_full(s->fd, buf, (size_t)buflen, pos)) < 0)
                return err;
        }
        const uint8_t *p = buf + (pos - bufpos);
        struct kp_batch_hdr h;
        if (kp_batch_parse_hdr(p, KP_BATCH_HEADER_LEN, &h) < 0)
            break;
        int64_t bsize = (int64_t)kp_batch_size(&h);
        if (pos + bsize > fsize || pos + bsize > INT32_MAX || h.last_offset_delta < 0 ||
            h.base_offset != s->w.next_offset ||
            h.base_offset - s->base + h.last_offset_delta >= INT32_MAX)
            break;
        uint32_t crc;
        if (pos + bsize <= bufpos + buflen) {
            crc =
                kp_crc32c(0, p + KP_BATCH_OFF_ATTRIBUTES, (size_t)bsize - KP_BATCH_OFF_ATTRIBUTES);
        } else if (bsize <= ST_SCAN_BUF) {
            bufpos = pos;
            buflen = fsize - pos < ST_SCAN_BUF ? fsize - pos : ST_SCAN_BUF;
            if ((err = st__pread_full(s->fd, buf, (size_t)buflen, pos)) < 0)
                return err;
            p = buf;
            crc =
                kp_crc32c(0, p + KP_BATCH_OFF_ATTRIBUTES, (size_t)bsize - KP_BATCH_OFF_ATTRIBUTES);
        } else {
            /* larger than the buffer: CRC in pieces */
            crc = 0;
            int64_t at = pos + KP_BATCH_OFF_ATTRIBUTES, end = pos + bsize;
            while (at < end) {
                size_t n = (size_t)(end - at < ST_SCAN_BUF ? end - at : ST_SCAN_BUF);
                if ((err = st__pread_full(s->fd, buf, n, at)) < 0)
                    return err;
                crc = kp_crc32c(crc, buf, n);
                at += (int64_t)n;
            }
            buflen = 0; /* buffer no longer holds [bufpos, ...) */
            bufpos = end;
        }
        if (crc != h.crc)
            break;
        st__seg_note_batch(s, h.base_offset, h.last_offset_delta, bsize, h.max_timestamp);
        pos += bsize;
    }
    assert(pos == s->w.pos);
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
    int64_t pos = 0, next = s->base;
    if (s->idx.cap > 0) {
        int32_t rel, p;
        st__oidx_get(&s->idx, s->idx.cap - 1, &rel, &p);
        pos = p;
        next = s->base + rel;
    }
    int64_t tlast = -1;
    int32_t trel = 0;
    if (s->tidx.cap > 0)
        st__tidx_get(&s->tidx, s->tidx.cap - 1, &tlast, &trel);
    int64_t max_ts = tlast, since = 0;
    int64_t start = pos;
    while (pos < fsize) {
        uint8_t b[KP_BATCH_HEADER_LEN];
        struct kp_batch_hdr h;
        if (pos + KP_BATCH_HEADER_LEN > fsize)
            return 1;
        int err = st__pread_full(s->fd, b, sizeof(b), pos);
        if (err < 0)
            return err;
        if (kp_batch_parse_hdr(b, sizeof(b), &h) < 0 || h.base_offset != next ||
            h.last_offset_delta < 0 || pos + (int64_t)kp_batch_size(&h) > fsize)
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
    if (s->w.pos >= KP_BATCH_HEADER_LEN && st__pread_full(s->fd, b, sizeof(b), 0) == 0 &&
        kp_batch_parse_hdr(b, sizeof(b), &h) == 0 && h.max_timestamp >= 0)
        return h.max_timestamp;
    struct stat st;
    if (fstat(s->fd, &st) == 0)
        return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return -1;
}

/* Opens every segment and recovers; fills *segs with the ones that remain. */
static int recover(struct st_log *log, bool clean, struct st_segvec **out)
{
    int64_t *bases = NULL;
    int nb = 0;
    int err = list_segments(log->dir, &bases, &nb);
    if (err < 0)
        return err;
    struct st_segvec *v = st__segvec_new(nb > 0 ? nb : 1);
    uint8_t *buf = NULL;
    if (!v) {
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
        int64_t fsize = file_size(s->fd);
        if (fsize < 0) {
            err = (int)fsize;
            goto out;
        }
        if (i > 0 && s->base != v->s[i - 1]->w.next_offset) {
            keep = i; /* a gap or overlap: the log ends at the previous segment */
            break;
        }
        bool scan = i >= scan_from;
        if (!scan) {
            int r = seg_check(s, fsize);
            if (r < 0) {
                err = r;
                goto out;
            }
            scan = r == 1;
            if (scan)
                seg_reset(s);
        } else if (!(i == scan_from && resume && seg_resume(s, &rp, fsize))) {
            seg_reset(s);
        }
        if (scan) {
            if (!buf && !(buf = malloc(ST_SCAN_BUF))) {
                err = -ENOMEM;
                goto out;
            }
            if ((err = seg_scan(s, fsize, buf)) < 0)
                goto out;
            st__idx_publish(&s->idx);
            st__idx_publish(&s->tidx);
            if (s->w.pos < fsize) {
                /* the first bad or torn batch: cut here, drop everything after */
                if (ftruncate(s->fd, (off_t)s->w.pos) < 0) {
                    err = -errno;
                    goto out;
                }
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
    }
    err = 0;
out:
    free(bases);
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
    if ((err = recover(log, clean, &v)) < 0)
        goto fail;
    st__log_set_segs(log, v);
    struct st_seg *tail = v->s[v->n - 1];
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
