/*
 * st_index — the .index and .timeindex files (entry layouts in st_segment.c).
 *
 * Why the active segment's entries live in memory: an append adds an entry every ~4 KiB of
 * log, and a store into a heap buffer costs the same whatever the number of partitions. The
 * earlier design stored them into a shared mapping of a file pre-sized (sparse) to the index
 * capacity: at 1,000 partitions every first touch of a page there faulted, the kernel read
 * ahead around it and zeroed a large folio of holes (zero_user_segments under the fault),
 * and that was more than half the broker's CPU (issue 21). Now:
 *   - the writer stores entries into mem (grown by doubling, under log->mu) and publishes
 *     them with a release store of n; readers search mem inside the log's grace period;
 *   - the file is written in runs, never pre-sized: at each sync the entries the recovery
 *     point will certify (st_flush.c), at the seal every entry, at a clean close the rest
 *     (st__idx_flush). A file therefore always holds exactly a prefix of the entries, with no
 *     hole for the kernel to zero and no page written twice except the last partial one;
 *   - a sealed segment's file is complete: mem is detached at the seal and freed after a grace
 *     period (st__idx_detach / st__idx_drop_mem), and lookups map the file read-only at their
 *     first need (map). A mapping is made only of a file that no longer changes, and belongs
 *     to the store's cache of open files (st_fcache.c): made and used under a pin, unmapped
 *     when the cache closes the segment, so mappings are bounded as descriptors are.
 * An empty segment has no index file and no buffer; a sealed one always has both files, even
 * with no entry (st__idx_seal_file): a missing file is how an operator asks for a rebuild.
 */
#include "st_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kp_buf.h"

enum { IDX_MIN_CAP = 8 };

/* A buffer mem outgrew; kept until mem is dropped, since a reader may still search it. */
struct st_idxbuf {
    struct st_idxbuf *next;
    uint8_t *p;
};

static const char *suffix(const struct st_seg *s, const struct st_idx *ix)
{
    return ix == &s->idx ? ".index" : ".timeindex";
}

static int idx_open(const struct st_seg *s, const struct st_idx *ix, int flags)
{
    char path[ST_MAX_PATH];
    st__seg_sibling(s, path, sizeof(path), suffix(s, ix));
    return st__fc_open(s->fc, path, flags, 0644);
}

/*
 * The hash the recovery point certifies an index prefix with: a chain, one XXH3-64 per entry
 * seeded with the previous value, so it needs 8 bytes of state rather than a streaming
 * state per index, and extends entry by entry as appends publish them.
 */
static uint64_t chain(const uint8_t *m, uint32_t esize, uint32_t from, uint32_t to, uint64_t h)
{
    for (uint32_t i = from; i < to; i++)
        h = XXH3_64bits_withSeed(m + (size_t)i * esize, esize, h);
    return h;
}

static uint8_t *mem_of(const struct st_idx *ix)
{
    return atomic_load_explicit(&((struct st_idx *)ix)->mem, memory_order_relaxed);
}

void st__idx_init(struct st_idx *ix, uint32_t esize)
{
    memset(ix, 0, sizeof(*ix));
    ix->esize = esize;
    atomic_init(&ix->n, 0);
    atomic_init(&ix->mem, NULL);
    atomic_init(&ix->map, NULL);
    atomic_init(&ix->map_n, 0);
}

static void free_old(struct st_idx *ix)
{
    for (struct st_idxbuf *b = ix->old, *nx; b; b = nx) {
        nx = b->next;
        free(b->p);
        free(b);
    }
    ix->old = NULL;
}

void st__idx_unmap(struct st_idx *ix)
{
    const uint8_t *m = atomic_load_explicit(&ix->map, memory_order_relaxed);
    if (m)
        munmap((void *)m,
               (size_t)atomic_load_explicit(&ix->map_n, memory_order_relaxed) * ix->esize);
    atomic_store_explicit(&ix->map, NULL, memory_order_relaxed);
}

void st__idx_free(struct st_idx *ix)
{
    st__idx_drop_mem(ix);
    free(mem_of(ix));
    atomic_store_explicit(&ix->mem, NULL, memory_order_relaxed);
    ix->mem_cap = 0;
    st__idx_unmap(ix);
}

int st__idx_reserve(struct st_idx *ix, uint32_t k)
{
    if (k <= ix->mem_cap)
        return 0;
    if (k > UINT32_MAX / 4)
        return -EFBIG;
    uint32_t cap = ix->mem_cap ? ix->mem_cap : IDX_MIN_CAP;
    while (cap < k)
        cap *= 2;
    uint8_t *nm = malloc((size_t)cap * ix->esize);
    struct st_idxbuf *ob = NULL;
    uint8_t *om = mem_of(ix);
    if (!nm || (om && !(ob = malloc(sizeof(*ob))))) {
        free(nm);
        return -ENOMEM;
    }
    if (om) {
        memcpy(nm, om, (size_t)ix->w * ix->esize);
        ob->p = om;
        ob->next = ix->old;
        ix->old = ob;
    }
    /* readers load n before mem: a count published after this store finds the new buffer */
    atomic_store_explicit(&ix->mem, nm, memory_order_release);
    ix->mem_cap = cap;
    return 0;
}

int st__idx_load(struct st_seg *s, struct st_idx *ix, uint32_t *entries)
{
    *entries = 0;
    int fd = idx_open(s, ix, O_RDONLY);
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return fd;
    struct stat st;
    int err = fstat(fd, &st) < 0 ? -errno : 0;
    uint64_t k = err == 0 ? (uint64_t)st.st_size / ix->esize : 0;
    if (k > (1u << 26))
        k = 0; /* no index this large is ever written: derived data, rebuilt by recovery */
    if (err == 0 && k > 0 && (err = st__idx_reserve(ix, (uint32_t)k)) == 0)
        err = st__pread_full(fd, mem_of(ix), (size_t)k * ix->esize, 0);
    close(fd);
    if (err < 0)
        return err;
    ix->filed = (uint32_t)k;
    ix->whole = (uint64_t)st.st_size == k * ix->esize;
    *entries = (uint32_t)k;
    return 0;
}

int st__idx_flush(struct st_seg *s, struct st_idx *ix)
{
    uint32_t n = atomic_load_explicit(&ix->n, memory_order_relaxed);
    if (ix->filed >= n)
        return 0;
    const uint8_t *m = mem_of(ix);
    assert(m);
    int fd = idx_open(s, ix, O_WRONLY | O_CREAT);
    if (fd < 0)
        return fd;
    int err = st__pwrite_full(fd, m + (size_t)ix->filed * ix->esize,
                              (size_t)(n - ix->filed) * ix->esize, (int64_t)ix->filed * ix->esize);
    close(fd);
    if (err == 0)
        ix->filed = n;
    return err;
}

int st__idx_seal_file(struct st_seg *s, struct st_idx *ix)
{
    int err = st__idx_flush(s, ix);
    if (err < 0 || ix->filed > 0)
        return err;
    int fd = idx_open(s, ix, O_WRONLY | O_CREAT);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

int st__idx_settle(struct st_seg *s, struct st_idx *ix)
{
    assert(atomic_load_explicit(&ix->n, memory_order_relaxed) == ix->w);
    int err = st__idx_flush(s, ix);
    if (err < 0)
        return err;
    int fd = idx_open(s, ix, O_WRONLY);
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return fd;
    struct stat st;
    off_t want = (off_t)ix->w * ix->esize;
    if (fstat(fd, &st) < 0 || (st.st_size != want && ftruncate(fd, want) < 0))
        err = -errno;
    close(fd);
    return err;
}

int st__idx_sync(struct st_seg *s, struct st_idx *ix)
{
    int fd = idx_open(s, ix, O_RDONLY);
    if (fd == -ENOENT && ix->filed == 0)
        return 0;
    if (fd < 0)
        return fd;
    int err = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return err;
}

void st__idx_detach(struct st_idx *ix)
{
    assert(ix->filed == atomic_load_explicit(&ix->n, memory_order_relaxed));
    assert(!ix->dead);
    ix->dead = mem_of(ix);
    atomic_store_explicit(&ix->mem, NULL, memory_order_release);
    ix->mem_cap = 0;
}

void st__idx_drop_mem(struct st_idx *ix)
{
    free(ix->dead);
    ix->dead = NULL;
    free_old(ix);
}

void st__idx_publish(struct st_idx *ix)
{
    uint32_t n = atomic_load_explicit(&ix->n, memory_order_relaxed);
    assert(n <= ix->w && ix->w <= ix->mem_cap);
    if (ix->w == n)
        return;
    ix->hash = chain(mem_of(ix), ix->esize, n, ix->w, ix->hash);
    atomic_store_explicit(&ix->n, ix->w, memory_order_release);
}

void st__idx_reset(struct st_idx *ix, uint32_t k)
{
    uint32_t n = atomic_load_explicit(&ix->n, memory_order_relaxed);
    if (ix->filed > k)
        ix->filed = k; /* recovery: the file is cut to what is kept when settled */
    if (k >= n) {
        ix->w = k > ix->w ? ix->w : k;
        return;
    }
    /* Dropping published entries happens only before the segment is visible (recovery). */
    ix->hash = chain(mem_of(ix), ix->esize, 0, k, 0);
    atomic_store_explicit(&ix->n, k, memory_order_relaxed);
    ix->w = k;
}

uint64_t st__idx_digest(const struct st_idx *ix) { return ix->hash; }

uint64_t st__idx_hash_prefix(const struct st_idx *ix, uint32_t k)
{
    assert(k <= ix->mem_cap);
    return chain(mem_of(ix), ix->esize, 0, k, 0);
}

/* ---- entries --------------------------------------------------------------------------------- */

static void oget(const uint8_t *m, uint32_t i, int32_t *rel, int32_t *pos)
{
    const uint8_t *e = m + (size_t)i * ST_IDX_ENTRY;
    *rel = (int32_t)kp_load_be32(e);
    *pos = (int32_t)kp_load_be32(e + 4);
}

static void tget(const uint8_t *m, uint32_t i, int64_t *ts, int32_t *rel)
{
    const uint8_t *e = m + (size_t)i * ST_TIDX_ENTRY;
    *ts = (int64_t)kp_load_be64(e);
    *rel = (int32_t)kp_load_be32(e + 8);
}

void st__oidx_put(struct st_idx *ix, uint32_t i, int32_t rel, int32_t pos)
{
    assert(i < ix->mem_cap);
    uint8_t *e = mem_of(ix) + (size_t)i * ST_IDX_ENTRY;
    kp_store_be32(e, (uint32_t)rel);
    kp_store_be32(e + 4, (uint32_t)pos);
}

void st__oidx_get(const struct st_idx *ix, uint32_t i, int32_t *rel, int32_t *pos)
{
    oget(mem_of(ix), i, rel, pos);
}

void st__tidx_put(struct st_idx *ix, uint32_t i, int64_t ts, int32_t rel)
{
    assert(i < ix->mem_cap);
    uint8_t *e = mem_of(ix) + (size_t)i * ST_TIDX_ENTRY;
    kp_store_be64(e, (uint64_t)ts);
    kp_store_be32(e + 8, (uint32_t)rel);
}

void st__tidx_get(const struct st_idx *ix, uint32_t i, int64_t *ts, int32_t *rel)
{
    tget(mem_of(ix), i, ts, rel);
}

uint32_t st__oidx_valid_prefix(const struct st_idx *ix, uint32_t n, int64_t size)
{
    int32_t prev_rel = 0, prev_pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        int32_t rel, pos;
        st__oidx_get(ix, i, &rel, &pos);
        if (rel <= prev_rel || pos <= prev_pos || pos >= size)
            return i;
        prev_rel = rel;
        prev_pos = pos;
    }
    return n;
}

uint32_t st__tidx_valid_prefix(const struct st_idx *ix, uint32_t n)
{
    int64_t prev_ts = -1;
    int32_t prev_rel = 0;
    for (uint32_t i = 0; i < n; i++) {
        int64_t ts;
        int32_t rel;
        st__tidx_get(ix, i, &ts, &rel);
        if (ts <= prev_ts || rel <= prev_rel)
            return i;
        prev_ts = ts;
        prev_rel = rel;
    }
    return n;
}

/* ---- lookups --------------------------------------------------------------------------------- */

enum key { K_REL, K_POS, K_TS_BELOW, K_LAST, K_AT };

/* Index of the last entry among m[0, n) whose key is <= target (< for K_TS_BELOW); -1. */
static int64_t search(const uint8_t *m, uint32_t n, enum key k, int64_t target)
{
    if (k == K_LAST)
        return (int64_t)n - 1;
    if (k == K_AT)
        return target >= 0 && target < n ? target : -1;
    int64_t lo = 0, hi = (int64_t)n - 1, best = -1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        bool le;
        if (k == K_TS_BELOW) {
            int64_t ts;
            int32_t rel;
            tget(m, (uint32_t)mid, &ts, &rel);
            le = ts < target;
        } else {
            int32_t rel, pos;
            oget(m, (uint32_t)mid, &rel, &pos);
            le = (k == K_REL ? rel : pos) <= target;
        }
        if (le) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return best;
}

/* The read-only mapping of a file-backed index, made at the first need (s pinned: the cache
 * unmaps it when it closes the segment). */
static const uint8_t *map_of(struct st_seg *s, struct st_idx *ix, uint32_t need, int *err)
{
    const uint8_t *m = atomic_load_explicit(&ix->map, memory_order_acquire);
    if (m)
        return m;
    int fd = idx_open(s, ix, O_RDONLY);
    struct stat st;
    uint64_t k = 0;
    if (fd >= 0 && fstat(fd, &st) < 0) {
        *err = -errno;
        close(fd);
        return NULL;
    }
    if (fd >= 0)
        k = (uint64_t)st.st_size / ix->esize;
    if ((fd == -ENOENT || (fd >= 0 && k == 0)) && need == ST_IDX_ALL) {
        /* a sealed segment without entries (an empty file, or none from an earlier version):
         * now known to hold none; there is nothing to map */
        if (fd >= 0)
            close(fd);
        uint32_t all = ST_IDX_ALL;
        atomic_compare_exchange_strong(&ix->n, &all, 0);
        *err = 0;
        return NULL;
    }
    if (fd < 0) {
        *err = fd;
        return NULL;
    }
    void *p = MAP_FAILED;
    if ((k < need && need != ST_IDX_ALL) || k == 0 || k > (1u << 26)) {
        *err = -EBADMSG; /* shorter than its published entries: changed under us */
    } else if ((p = mmap(NULL, (size_t)k * ix->esize, PROT_READ, MAP_SHARED, fd, 0)) ==
               MAP_FAILED) {
        *err = -errno;
    }
    close(fd);
    if (p == MAP_FAILED)
        return NULL;
    atomic_store_explicit(&ix->map_n, (uint32_t)k, memory_order_relaxed);
    const uint8_t *expect = NULL;
    if (!atomic_compare_exchange_strong_explicit(&ix->map, &expect, (const uint8_t *)p,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        munmap(p, (size_t)k * ix->esize); /* another reader mapped it first */
        return expect;
    }
    return p;
}

static int lookup(struct st_seg *s, struct st_idx *ix, enum key k, int64_t target, uint8_t *out)
{
    uint32_t n = atomic_load_explicit(&ix->n, memory_order_acquire);
    if (n == 0)
        return 0;
    int64_t i = -1;
    uint64_t e = s->grace ? st__grace_enter(s->grace) : 0;
    const uint8_t *m = atomic_load_explicit(&ix->mem, memory_order_acquire);
    if (m) {
        if ((i = search(m, n, k, target)) >= 0)
            memcpy(out, m + (size_t)i * ix->esize, ix->esize);
    }
    if (s->grace)
        st__grace_exit(s->grace, e);
    if (!m) {
        int err = st__seg_pin(s);
        if (err < 0)
            return err;
        if ((m = map_of(s, ix, n, &err)) != NULL) {
            uint32_t mn = atomic_load_explicit(&ix->map_n, memory_order_relaxed);
            if (n > mn)
                n = mn; /* ST_IDX_ALL: what the file holds */
            if ((i = search(m, n, k, target)) >= 0)
                memcpy(out, m + (size_t)i * ix->esize, ix->esize);
        }
        st__seg_unpin(s);
        if (!m)
            return err; /* 0: no file, no entry */
    }
    return i >= 0;
}

int64_t st__idx_count(struct st_seg *s, struct st_idx *ix)
{
    uint32_t n = atomic_load_explicit(&ix->n, memory_order_acquire);
    if (n != ST_IDX_ALL)
        return n;
    int err = st__seg_pin(s);
    if (err < 0)
        return err;
    if (map_of(s, ix, n, &err))
        n = atomic_load_explicit(&ix->map_n, memory_order_relaxed);
    else if (err == 0)
        n = 0;
    st__seg_unpin(s);
    return err < 0 ? err : (int64_t)n;
}

int st__oidx_lookup_rel(struct st_seg *s, int32_t target, int32_t *rel, int32_t *pos)
{
    uint8_t e[ST_IDX_ENTRY];
    int r = lookup(s, &s->idx, K_REL, target, e);
    if (r == 1)
        oget(e, 0, rel, pos);
    return r;
}

int st__oidx_lookup_pos(struct st_seg *s, int64_t target, int32_t *rel, int32_t *pos)
{
    uint8_t e[ST_IDX_ENTRY];
    int r = lookup(s, &s->idx, K_POS, target, e);
    if (r == 1)
        oget(e, 0, rel, pos);
    return r;
}

int st__tidx_lookup_below(struct st_seg *s, int64_t target, int64_t *ts, int32_t *rel)
{
    uint8_t e[ST_TIDX_ENTRY];
    int r = lookup(s, &s->tidx, K_TS_BELOW, target, e);
    if (r == 1)
        tget(e, 0, ts, rel);
    return r;
}

int st__oidx_entry(struct st_seg *s, uint32_t i, int32_t *rel, int32_t *pos)
{
    uint8_t e[ST_IDX_ENTRY];
    int r = lookup(s, &s->idx, K_AT, i, e);
    if (r == 1)
        oget(e, 0, rel, pos);
    return r;
}

int st__tidx_entry(struct st_seg *s, uint32_t i, int64_t *ts, int32_t *rel)
{
    uint8_t e[ST_TIDX_ENTRY];
    int r = lookup(s, &s->tidx, K_AT, i, e);
    if (r == 1)
        tget(e, 0, ts, rel);
    return r;
}

int st__tidx_lookup_last(struct st_seg *s, int64_t *ts, int32_t *rel)
{
    uint8_t e[ST_TIDX_ENTRY];
    int r = lookup(s, &s->tidx, K_LAST, 0, e);
    if (r == 1)
        tget(e, 0, ts, rel);
    return r;
}
