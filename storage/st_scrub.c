/*
 * st_scrub — the scrubber: re-reads segments at the rate its caller allows and fences the
 * batches that went bad, and only those.
 *
 * What it checks, log by log, oldest segment first:
 * - a sealed segment with its digest sidecar: every 1 MiB chunk against its XXH3-64;
 * - the active segment up to its scrub mark (the last synced byte, st_mark in st_int.h): when
 *   this process wrote it from its first byte, every complete chunk against the running
 *   digest and the incomplete last one against the digest the flusher recorded at that sync;
 *   otherwise (a segment recovered at open) batch by batch with THE RULE FOR A GOOD BATCH
 *   (st_walk.c), so that a restart does not leave the synced part of the tail unchecked.
 * A chunk that fails its digest is walked batch by batch from the boundary before it to the
 * first one past it (st_walk.c), and the bad batches are fenced (st_fence.c): readers stop at
 * once, the ranges are persisted and logged with the path, offsets and byte positions. When
 * every batch passes (a change no batch check can see: a partitionLeaderEpoch rise that
 * nothing after it judged), the unconfirmed rise, or failing that every batch overlapping the
 * chunk, is fenced: bytes that no longer match their digest are never served as good. A chunk
 * that fails again on a later pass finds its ranges already fenced and says nothing.
 *
 * One call reads about budget_bytes (whole chunks; a walk counts what it reads), resumes where
 * the previous call stopped (store->scrub, under store->scrub_mu) and makes at most one pass
 * over the store. Segments are referenced while checked, so retention or topic deletion never
 * closes a file under the scrubber. Locks: log->mu briefly to snapshot segments and running
 * digests; fences are added outside it.
 */
#include "st_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_buf.h"

struct scrub {
    st_log_fn fn;
    void *arg;
    struct st_scrub_report *rep;
    int64_t budget;
    uint8_t *chunk;             /* ST_DIGEST_CHUNK bytes */
    struct st_walk *walk;       /* with a ST_SCAN_BUF window; allocated at first use */
    int64_t chunk_lo, chunk_hi; /* the chunk being placed (hi 0: none) */
    bool announced;             /* its mismatch was logged */
};

/* A segment as the scrubber sees it this call (taken under log->mu). */
struct snap {
    struct st_seg *s; /* referenced */
    bool active;      /* the log's active segment, checked up to its mark */
    bool running;     /* active and written from its first byte here: running digests */
    int64_t size;     /* sealed: the .log's size; active: the mark */
    int64_t end_off;  /* the offset at size */
    uint64_t mark_dg; /* active: digest of the incomplete last chunk up to the mark */
    bool mark_dg_ok;
};

static void say(struct scrub *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct scrub *sc, const char *fmt, ...)
{
    char msg[ST_MAX_PATH + 512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (sc->fn)
        sc->fn(sc->arg, msg);
}

static int cmp_log(const void *a, const void *b)
{
    const struct st_log *x = *(struct st_log *const *)a, *y = *(struct st_log *const *)b;
    int c = strcmp(x->topic, y->topic);
    if (c)
        return c;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

/* Position of (topic, partition) relative to the cursor: < 0 before it. */
static int cmp_cursor(const struct st_log *l, const struct st_scrub_cursor *c)
{
    int r = strcmp(l->topic, c->topic);
    if (r)
        return r;
    return (l->partition > c->partition) - (l->partition < c->partition);
}

static struct st_walk *walk_get(struct scrub *sc)
{
    if (!sc->walk) {
        struct st_walk *w = calloc(1, sizeof(*w));
        uint8_t *buf = malloc(ST_SCAN_BUF);
        if (!w || !buf) {
            free(w);
            free(buf);
            return NULL;
        }
        w->buf = buf;
        sc->walk = w;
    }
    struct st_walk *w = sc->walk;
    uint8_t *buf = w->buf;
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->bufcap = ST_SCAN_BUF;
    return w;
}

/* Fences ranges of sn found by a walk (or the fallback) and logs them; the number new. */
static int fence(struct scrub *sc, struct st_log *log, const struct snap *sn,
                 const struct st_fence *f, char (*why)[ST_WALK_WHY], int n)
{
    if (n == 0)
        return 0;
    int perr = 0;
    int added = st__fence_add(log, sn->s, f, n, &perr);
    if (added < 0) {
        say(sc, "scrub: %s: cannot fence %d bad range(s): %s; they are still served", sn->s->path,
            n, strerror(-added));
        return added;
    }
    if (perr < 0)
        say(sc,
            "scrub: %s/%s could not be written (%s); the fenced ranges hold in memory and "
            "the write is retried",
            log->dir, ST_FENCE_NAME, strerror(-perr));
    if (added > 0 && sc->chunk_hi > 0 && !sc->announced) {
        say(sc, "scrub: %s bytes [%" PRId64 ", %" PRId64 ") do not match their digest", sn->s->path,
            sc->chunk_lo, sc->chunk_hi);
        sc->announced = true;
    }
    for (int i = 0; i < n && added > 0; i++)
        say(sc,
            "fenced %s-%" PRId32 ": %s bytes [%" PRId64 ", %" PRId64 ") offsets [%" PRId64
            ", %" PRId64 "): %s; reads of those offsets fail, the rest is served",
            log->topic, log->partition, sn->s->path, f[i].pos_lo, f[i].pos_hi, f[i].off_lo,
            f[i].off_hi, why[i]);
    sc->rep->fenced += added;
    return added;
}

/* Runs w to its stop, fencing what it finds as it goes; the number of ranges found. */
static int walk_and_fence(struct scrub *sc, struct st_log *log, const struct snap *sn,
                          struct st_walk *w, int *added)
{
    int found = 0, r;
    bool extended = false;
    for (;;) {
        r = st__walk_run(w);
        if (r < 0)
            return r;
        if (w->nfound > 0) {
            found += w->nfound;
            int a = fence(sc, log, sn, w->found, w->why, w->nfound);
            *added += a > 0 ? a : 0;
            w->nfound = 0;
        }
        if (r == 0 && w->rise && !w->torn && w->pos < w->limit && !extended) {
            /* judge the last rise by the batch after it */
            extended = true;
            w->unconfirmed = false;
            w->stop = w->pos + 1;
            continue;
        }
        if (r == 0)
            break;
    }
    if (w->torn) {
        /* the walk could not find its way on (offsets that do not add up): fence the rest */
        struct st_fence f = {w->pos, sn->size, w->next, sn->end_off};
        char why[1][ST_WALK_WHY];
        snprintf(why[0], ST_WALK_WHY, "%.60s; nothing after it could be placed", w->torn_why);
        if (f.pos_lo < f.pos_hi && f.off_lo < f.off_hi) {
            int a = fence(sc, log, sn, &f, why, 1);
            *added += a > 0 ? a : 0;
            found++;
        } else {
            say(sc, "scrub: %s byte %" PRId64 ": %s; cannot be placed", sn->s->path, w->pos,
                w->torn_why);
        }
    }
    sc->budget -= w->bytes;
    return found;
}

/* Chunk [lo, hi) of sn failed its digest: fence its bad batches. New ranges, or -errno. */
static int place(struct scrub *sc, struct st_log *log, const struct snap *sn, int64_t lo,
                 int64_t hi)
{
    struct st_walk *w = walk_get(sc);
    if (!w)
        return -ENOMEM;
    const struct st_fenceset *fs = st__fences(sn->s);
    int64_t pos, next;
    int32_t floor;
    int err = st__walk_locate(sn->s, fs, lo, sn->size, &pos, &next, &floor);
    if (err < 0)
        return err;
    w->seg = sn->s;
    w->known = fs;
    w->limit = sn->size;
    w->stop = hi;
    w->fence_below = sn->size; /* every byte checked here is on disk */
    w->end_pos = sn->size;
    w->end_off = sn->end_off;
    w->pos = pos;
    w->next = next;
    w->floor = floor;
    int added = 0;
    int found = walk_and_fence(sc, log, sn, w, &added);
    if (found < 0)
        return found;
    if (found > 0)
        return added;
    /* every batch passed: is the difference inside a range fenced before? */
    for (uint32_t i = 0; fs && i < fs->n; i++)
        if (fs->f[i].pos_lo < hi && lo < fs->f[i].pos_hi)
            return 0;
    struct st_fence f = {pos, w->pos, next, w->next};
    char why[1][ST_WALK_WHY];
    if (w->unconfirmed && w->unconfirmed_f.pos_lo < hi && lo < w->unconfirmed_f.pos_hi) {
        f = w->unconfirmed_f;
        snprintf(why[0], ST_WALK_WHY,
                 "digest mismatch; its partitionLeaderEpoch rise is the only candidate");
    } else {
        snprintf(why[0], ST_WALK_WHY, "digest mismatch that no batch check can place");
    }
    return fence(sc, log, sn, &f, why, 1);
}

/* An active segment without running digests: batch by batch from the cursor. 1: the budget
 * ran out (cursor saved), 0: done, -errno. */
static int walk_active(struct scrub *sc, struct st_log *log, const struct snap *sn,
                       struct st_scrub_cursor *c, bool *bad)
{
    struct st_walk *w = walk_get(sc);
    if (!w)
        return -ENOMEM;
    w->seg = sn->s;
    w->known = st__fences(sn->s);
    w->limit = sn->size;
    w->fence_below = sn->size;
    w->end_pos = sn->size;
    w->end_off = sn->end_off;
    if (c->walk && c->pos < sn->size) {
        w->pos = c->pos;
        w->next = c->next;
        w->floor = c->floor;
    } else {
        w->next = sn->s->base;
    }
    int64_t from = w->pos;
    w->stop = sc->budget < sn->size - w->pos ? w->pos + sc->budget : sn->size;
    int added = 0;
    int found = walk_and_fence(sc, log, sn, w, &added);
    if (found < 0)
        return found;
    if (added > 0)
        *bad = true;
    sc->rep->bytes_checked += (w->torn ? sn->size : w->pos) - from;
    if (!w->torn && w->pos < sn->size) {
        c->pos = w->pos;
        c->next = w->next;
        c->floor = w->floor;
        c->walk = true;
        return 1;
    }
    return 0;
}

/* Checks sn from the cursor on. 1: the budget ran out (cursor saved), 0: done, -errno. */
static int scrub_seg(struct scrub *sc, struct st_log *log, const struct snap *sn,
                     struct st_scrub_cursor *c)
{
    struct st_seg *s = sn->s;
    bool bad = false;
    int ret = 0;
    if (sn->active && !sn->running) {
        ret = walk_active(sc, log, sn, c, &bad);
        goto out;
    }
    uint64_t nch = (uint64_t)(sn->size + ST_DIGEST_CHUNK - 1) / ST_DIGEST_CHUNK;
    uint8_t *dg = NULL;
    if (!sn->active && !(dg = st__digest_load(s, sn->size, &nch))) {
        say(sc, "scrub: %s: digest sidecar missing or damaged; segment not verified", s->path);
        return 0;
    }
    for (int64_t chunk = c->walk ? 0 : c->pos / ST_DIGEST_CHUNK; (uint64_t)chunk < nch; chunk++) {
        if (sc->budget <= 0) {
            c->pos = chunk * ST_DIGEST_CHUNK;
            c->walk = false;
            ret = 1;
            break;
        }
        int64_t lo = chunk * ST_DIGEST_CHUNK;
        size_t len = (size_t)(sn->size - lo < ST_DIGEST_CHUNK ? sn->size - lo : ST_DIGEST_CHUNK);
        uint64_t want = 0;
        bool have = true;
        if (dg) {
            want = kp_load_be64(dg + ST_DIGEST_HDR + (size_t)chunk * 8);
        } else if (len == ST_DIGEST_CHUNK) {
            /* d[] may be regrown by the writer: read it under its lock, and only while the
             * segment is active (a sealed one's is freed by the flusher) */
            pthread_mutex_lock(&log->mu);
            have = !atomic_load(&s->sealed) && s->rd && (uint64_t)chunk < s->rd->n;
            if (have)
                want = s->rd->d[chunk];
            pthread_mutex_unlock(&log->mu);
        } else {
            have = sn->mark_dg_ok;
            want = sn->mark_dg;
        }
        if (!have)
            continue;
        if ((ret = st__seg_read(s, sc->chunk, len, lo)) < 0)
            break;
        sc->rep->bytes_checked += (int64_t)len;
        sc->budget -= (int64_t)len;
        if (XXH3_64bits(sc->chunk, len) == want)
            continue;
        sc->chunk_lo = lo;
        sc->chunk_hi = lo + (int64_t)len;
        sc->announced = false;
        int r = place(sc, log, sn, lo, lo + (int64_t)len);
        sc->chunk_hi = 0;
        if (r > 0) {
            bad = true;
        } else if (r < 0) {
            say(sc,
                "scrub: %s bytes [%" PRId64 ", %" PRId64 ") do not match their digest and "
                "could not be placed: %s",
                s->path, lo, lo + (int64_t)len, strerror(-r));
        }
    }
    free(dg);
out:
    if (bad)
        sc->rep->bad_segments++;
    return ret;
}

/* Up to cap segments of log with base >= from that can be checked now, referenced. */
static int snap_segs(struct st_log *log, int64_t from, struct snap *out, int cap)
{
    int n = 0;
    pthread_mutex_lock(&log->mu);
    struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
    for (int k = 0; k < v->n && n < cap; k++) {
        struct st_seg *s = v->s[k];
        if (s->base < from)
            continue;
        struct snap sn = {.s = s};
        if (k < v->n - 1) {
            if (!atomic_load(&s->digested))
                continue; /* its digest is on the way */
            sn.size = atomic_load(&s->size);
            sn.end_off = s->w.next_offset;
        } else {
            if (atomic_load(&s->sealed) || s->mark.pos <= 0)
                continue;
            sn.active = true;
            sn.running = s->rd && !s->rd->failed;
            sn.size = s->mark.pos;
            sn.end_off = s->mark.next;
            sn.mark_dg = s->mark.dg;
            sn.mark_dg_ok = s->mark.dg_ok;
        }
        st__seg_ref(s);
        out[n++] = sn;
    }
    pthread_mutex_unlock(&log->mu);
    return n;
}

/* Checks log's segments from the cursor. 1: the budget ran out (cursor saved), 0: done. */
static int scrub_log(struct scrub *sc, struct st_log *log, struct st_scrub_cursor *c)
{
    enum { BATCH = 16 };
    int64_t from = c->seg_base >= 0 ? c->seg_base : 0;
    for (;;) {
        struct snap sn[BATCH];
        int ns = snap_segs(log, from, sn, BATCH);
        int ret = 0;
        for (int k = 0; k < ns; k++) {
            if (ret == 0) {
                if (c->seg_base != sn[k].s->base) {
                    c->seg_base = sn[k].s->base;
                    c->pos = 0;
                    c->walk = false;
                }
                int r = sc->budget > 0 ? scrub_seg(sc, log, &sn[k], c) : 1;
                if (r == 1) {
                    ret = 1;
                } else {
                    if (r < 0)
                        say(sc, "scrub: %s: %s; segment skipped this pass", sn[k].s->path,
                            strerror(-r));
                    c->seg_base = sn[k].s->base + 1; /* done with it */
                    c->pos = 0;
                    c->walk = false;
                }
            }
            st__seg_put(sn[k].s);
        }
        if (ret)
            return 1;
        if (ns < BATCH)
            return 0;
        from = c->seg_base;
    }
}

int st_store_scrub(struct st_store *store, int64_t budget_bytes, st_log_fn log_fn, void *arg,
                   struct st_scrub_report *report)
{
    struct st_scrub_report rep = {0, 0, 0};
    struct scrub sc = {.fn = log_fn, .arg = arg, .rep = &rep, .budget = budget_bytes};
    int err = 0;
    pthread_mutex_lock(&store->scrub_mu);

    struct st_log **logs = NULL;
    int n = 0;
    pthread_rwlock_rdlock(&store->mu);
    int total = 0;
    for (int t = 0; t < store->ntopics; t++)
        total += store->topics[t]->partitions;
    if (total > 0 && !(logs = malloc((size_t)total * sizeof(*logs)))) {
        pthread_rwlock_unlock(&store->mu);
        pthread_mutex_unlock(&store->scrub_mu);
        return -ENOMEM;
    }
    for (int t = 0; t < store->ntopics; t++) {
        struct st_topic *tp = store->topics[t];
        for (int p = 0; p < tp->partitions; p++) {
            atomic_fetch_add(&tp->logs[p]->refs, 1);
            logs[n++] = tp->logs[p];
        }
    }
    pthread_rwlock_unlock(&store->mu);
    if (n > 1)
        qsort(logs, (size_t)n, sizeof(*logs), cmp_log);

    struct st_scrub_cursor *c = &store->scrub;
    if (!(sc.chunk = malloc(ST_DIGEST_CHUNK))) {
        err = -ENOMEM;
        goto out;
    }
    int i = 0;
    while (i < n && cmp_cursor(logs[i], c) < 0)
        i++;
    for (; sc.budget > 0; i++) {
        if (i == n) {
            /* a full pass is done: the next call starts over */
            memset(c, 0, sizeof(*c));
            c->seg_base = -1;
            break;
        }
        struct st_log *log = logs[i];
        if (cmp_cursor(log, c) != 0) {
            snprintf(c->topic, sizeof(c->topic), "%s", log->topic);
            c->partition = log->partition;
            c->seg_base = -1;
            c->pos = 0;
            c->walk = false;
        }
        if (atomic_load(&log->fence_dirty))
            (void)st__fence_persist(log); /* an earlier write failed: try again */
        /* a dormant log is opened for its check (this thread, not a client's) */
        if (st__log_activate(log) == 0 && scrub_log(&sc, log, c) == 1)
            break;
        /* this log is done; the cursor moves past it */
        c->partition = log->partition + 1;
        c->seg_base = -1;
        c->pos = 0;
        c->walk = false;
    }
out:
    free(sc.chunk);
    if (sc.walk)
        free(sc.walk->buf);
    free(sc.walk);
    for (int k = 0; k < n; k++)
        st_log_put(logs[k]);
    free(logs);
    pthread_mutex_unlock(&store->scrub_mu);
    if (report)
        *report = rep;
    return err;
}
