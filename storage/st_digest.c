/*
 * st_digest — integrity sidecars of sealed segments and the scrubber that checks them.
 * The .digest layout is in st_segment.c.
 *
 * The batch CRC leaves baseOffset, batchLength, partitionLeaderEpoch and magic uncovered, and
 * nothing re-reads a sealed segment until a consumer fetches it. A sealed segment therefore
 * gets XXH3-64 digests over fixed 1 MiB chunks of its bytes. They are computed while the
 * segment is appended to (st_rundigest: each byte is hashed once, as it is written, so a roll
 * never re-reads a 1 GiB segment), and written by the flusher right after the segment is
 * synced; a segment recovered at open is read back instead. st_store_scrub() re-reads sealed
 * segments at the rate its caller allows (budget_bytes per call, resuming where it stopped), and a
 * chunk that no longer matches is logged with its segment and byte range and stops being served: a
 * read that would include any of its bytes fails with -EIO.
 */
#include "st_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_buf.h"

struct st_rundigest *st__rundigest_new(uint32_t cap_chunks)
{
    struct st_rundigest *rd = calloc(1, sizeof(*rd));
    if (!rd)
        return NULL;
    rd->cap = cap_chunks > 0 ? cap_chunks : 1;
    rd->d = malloc((size_t)rd->cap * sizeof(rd->d[0]));
    rd->state = XXH3_createState();
    if (!rd->d || !rd->state) {
        st__rundigest_free(rd);
        return NULL;
    }
    XXH3_64bits_reset(rd->state);
    return rd;
}

void st__rundigest_free(struct st_rundigest *rd)
{
    if (rd) {
        if (rd->state)
            XXH3_freeState(rd->state);
        free(rd->d);
        free(rd);
    }
}

static void rundigest_push(struct st_rundigest *rd)
{
    if (rd->n == rd->cap) {
        /* a segment past log.segment.bytes (one oversized batch): rare, so grow here */
        uint64_t *nd = realloc(rd->d, (size_t)rd->cap * 2 * sizeof(rd->d[0]));
        if (!nd) {
            rd->failed = true;
            return;
        }
        rd->d = nd;
        rd->cap *= 2;
    }
    rd->d[rd->n++] = XXH3_64bits_digest(rd->state);
}

void st__rundigest_feed(struct st_rundigest *rd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0 && !rd->failed) {
        size_t room = ST_DIGEST_CHUNK - (size_t)(rd->pos % ST_DIGEST_CHUNK);
        size_t k = n < room ? n : room;
        XXH3_64bits_update(rd->state, b, k);
        rd->pos += (int64_t)k;
        b += k;
        n -= k;
        if (rd->pos % ST_DIGEST_CHUNK == 0) {
            rundigest_push(rd);
            XXH3_64bits_reset(rd->state);
        }
    }
}

void st__rundigest_finish(struct st_rundigest *rd)
{
    if (!rd->failed && rd->pos % ST_DIGEST_CHUNK != 0)
        rundigest_push(rd);
    rd->complete = !rd->failed;
}

int st__digest_write(struct st_seg *s)
{
    int64_t size = atomic_load(&s->size);
    uint64_t nchunks = (uint64_t)(size + ST_DIGEST_CHUNK - 1) / ST_DIGEST_CHUNK;
    size_t sidecar = ST_DIGEST_HDR + (size_t)nchunks * 8 + 8;
    /* digests computed while appending when this process wrote the whole segment,
     * otherwise (a segment recovered at open) the bytes are read back */
    const struct st_rundigest *rd = s->rd;
    bool running = rd && rd->complete && rd->pos == size && rd->n == nchunks;
    uint8_t *out = malloc(sidecar);
    uint8_t *buf = running ? NULL : malloc(ST_DIGEST_CHUNK);
    int err = 0;
    if (!out || (!running && !buf)) {
        err = -ENOMEM;
        goto done;
    }
    memset(out, 0, ST_DIGEST_HDR);
    memcpy(out, ST_DIGEST_MAGIC, 4);
    kp_store_be32(out + 4, 1);
    kp_store_be32(out + 8, ST_DIGEST_CHUNK);
    kp_store_be64(out + 16, (uint64_t)size);
    kp_store_be64(out + 24, nchunks);
    for (uint64_t i = 0; i < nchunks; i++) {
        int64_t pos = (int64_t)i * ST_DIGEST_CHUNK;
        size_t n = (size_t)(size - pos < ST_DIGEST_CHUNK ? size - pos : ST_DIGEST_CHUNK);
        uint64_t d;
        if (running) {
            d = rd->d[i];
        } else {
            if ((err = st__pread_full(s->fd, buf, n, pos)) < 0)
                goto done;
            d = XXH3_64bits(buf, n);
        }
        kp_store_be64(out + ST_DIGEST_HDR + i * 8, d);
    }
    kp_store_be64(out + sidecar - 8, XXH3_64bits(out, sidecar - 8));

    char tmp[ST_MAX_PATH], path[ST_MAX_PATH];
    st__seg_sibling(s, tmp, sizeof(tmp), ".digest.tmp");
    st__seg_sibling(s, path, sizeof(path), ".digest");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        err = -errno;
        goto done;
    }
    ssize_t w = pwrite(fd, out, sidecar, 0);
    if (w != (ssize_t)sidecar)
        err = w < 0 ? -errno : -EIO;
    else if (fsync(fd) < 0)
        err = -errno;
    close(fd);
    if (err == 0 && rename(tmp, path) < 0)
        err = -errno;
    if (err < 0)
        unlink(tmp);
done:
    free(out);
    free(buf);
    return err;
}

/* Loads and checks a sidecar for a segment of `size` bytes; malloc'd digests or NULL. */
static uint8_t *digest_load(struct st_seg *s, int64_t size, uint64_t *nchunks)
{
    char path[ST_MAX_PATH];
    st__seg_sibling(s, path, sizeof(path), ".digest");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    uint8_t hdr[ST_DIGEST_HDR];
    uint8_t *all = NULL;
    if (st__pread_full(fd, hdr, sizeof(hdr), 0) < 0 || memcmp(hdr, ST_DIGEST_MAGIC, 4) != 0 ||
        kp_load_be32(hdr + 4) != 1 || kp_load_be32(hdr + 8) != ST_DIGEST_CHUNK ||
        (int64_t)kp_load_be64(hdr + 16) != size)
        goto fail;
    uint64_t n = kp_load_be64(hdr + 24);
    if (n != (uint64_t)(size + ST_DIGEST_CHUNK - 1) / ST_DIGEST_CHUNK)
        goto fail;
    size_t total = ST_DIGEST_HDR + (size_t)n * 8 + 8;
    all = malloc(total);
    if (!all || st__pread_full(fd, all, total, 0) < 0 ||
        kp_load_be64(all + total - 8) != XXH3_64bits(all, total - 8))
        goto fail;
    close(fd);
    *nchunks = n;
    return all;
fail:
    free(all);
    close(fd);
    return NULL;
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

static void say(st_log_fn fn, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(st_log_fn fn, void *arg, const char *fmt, ...)
{
    char msg[ST_MAX_PATH + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (fn)
        fn(arg, msg);
}

/*
 * Verifies segment s from chunk *chunk on; returns 1 when the budget ran out mid-segment
 * (*chunk is where to resume), 0 when done with it, < 0 on an I/O error.
 */
static int scrub_seg(struct st_seg *s, int64_t *chunk, int64_t *budget, uint8_t *buf, st_log_fn fn,
                     void *arg, struct st_scrub_report *rep)
{
    int64_t size = atomic_load(&s->size);
    uint64_t n;
    uint8_t *dg = digest_load(s, size, &n);
    if (!dg) {
        say(fn, arg, "scrub: %s: digest sidecar missing or damaged; segment not verified", s->path);
        return 0;
    }
    int ret = 0;
    for (; (uint64_t)*chunk < n; (*chunk)++) {
        if (*budget <= 0) {
            ret = 1;
            break;
        }
        int64_t pos = *chunk * ST_DIGEST_CHUNK;
        size_t len = (size_t)(size - pos < ST_DIGEST_CHUNK ? size - pos : ST_DIGEST_CHUNK);
        int err = st__pread_full(s->fd, buf, len, pos);
        if (err < 0) {
            ret = err;
            break;
        }
        rep->bytes_checked += (int64_t)len;
        *budget -= (int64_t)len;
        uint64_t want = kp_load_be64(dg + ST_DIGEST_HDR + (size_t)*chunk * 8);
        if (XXH3_64bits(buf, len) != want) {
            int64_t hi = pos + (int64_t)len;
            /* bad_hi first: a reader that sees bad_lo already sees a range that covers it */
            atomic_store_explicit(&s->bad_hi, hi, memory_order_release);
            atomic_store_explicit(&s->bad_lo, pos, memory_order_release);
            rep->bad_segments++;
            say(fn, arg,
                "scrub: %s bytes [%" PRId64 ", %" PRId64
                ") do not match their digest; range no longer served",
                s->path, pos, hi);
            break;
        }
    }
    free(dg);
    return ret;
}

int st_store_scrub(struct st_store *store, int64_t budget_bytes, st_log_fn log_fn, void *arg,
                   struct st_scrub_report *report)
{
    struct st_scrub_report rep = {0, 0};
    int64_t budget = budget_bytes;
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

    uint8_t *buf = malloc(ST_DIGEST_CHUNK);
    if (!buf) {
        err = -ENOMEM;
        goto out;
    }
    struct st_scrub_cursor *c = &store->scrub;
    int i = 0;
    while (i < n && cmp_cursor(logs[i], c) < 0)
        i++;
    for (; budget > 0; i++) {
        if (i == n) {
            /* a full pass is done: the next call starts over */
            memset(c, 0, sizeof(*c));
            c->seg_base = -1;
            break;
        }
        struct st_log *log = logs[i];
        bool same = cmp_cursor(log, c) == 0;
        int64_t from_base = same ? c->seg_base : -1;
        int64_t chunk = same && c->seg_base >= 0 ? c->chunk : 0;
        snprintf(c->topic, sizeof(c->topic), "%s", log->topic);
        c->partition = log->partition;

        /* digested (sealed, synced) segments at or after the cursor */
        struct st_seg *segs[32];
        int ns = 0;
        pthread_mutex_lock(&log->mu);
        struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_relaxed);
        for (int k = 0; k < v->n && ns < 32; k++) {
            struct st_seg *s = v->s[k];
            if (s->base >= from_base && atomic_load(&s->digested)) {
                st__seg_ref(s);
                segs[ns++] = s;
            }
        }
        pthread_mutex_unlock(&log->mu);
        bool stopped = false;
        for (int k = 0; k < ns; k++) {
            if (!stopped) {
                if (segs[k]->base != from_base)
                    chunk = 0;
                int64_t bad = atomic_load(&segs[k]->bad_lo);
                int r = bad == INT64_MAX
                            ? scrub_seg(segs[k], &chunk, &budget, buf, log_fn, arg, &rep)
                            : 0;
                if (r < 0) {
                    err = r;
                    stopped = true;
                } else if (r == 1 || budget <= 0) {
                    c->seg_base = segs[k]->base;
                    c->chunk = r == 1 ? chunk : INT64_MAX;
                    if (r == 0 && k + 1 < ns) {
                        c->seg_base = segs[k + 1]->base;
                        c->chunk = 0;
                    }
                    stopped = true;
                }
                from_base = segs[k]->base;
            }
            st__seg_put(segs[k]);
        }
        if (stopped) {
            if (c->seg_base < 0 || c->chunk == INT64_MAX) {
                /* finished this log exactly: next call starts at the following one */
                c->partition++;
                c->seg_base = -1;
                c->chunk = 0;
            }
            break;
        }
        /* this log is done; the cursor moves past it */
        c->partition = log->partition + 1;
        c->seg_base = -1;
        c->chunk = 0;
    }
out:
    free(buf);
    for (int k = 0; k < n; k++)
        st_log_put(logs[k]);
    free(logs);
    pthread_mutex_unlock(&store->scrub_mu);
    if (report)
        *report = rep;
    return err;
}
