/*
 * st_index — the .index and .timeindex files (entry layouts in st_segment.c).
 *
 * Why a pre-sized shared mapping rather than pwrite per entry: an append adds an entry every
 * ~4 KiB of log, and with a mapping that is a plain 8- or 12-byte store into memory set up
 * once per segment, no syscall and no allocation on the append path; readers search the same
 * mapping without a copy. The file is created and ftruncate'd to its capacity at the
 * segment's first append (sparse, so it costs no disk until written; an empty partition has
 * no index files and no mappings) and trimmed to its entries when the segment is sealed or
 * the log closes cleanly. A mapping is created or resized only while no reader can use it:
 * at open, before the segment is published, or at the first append, while its published
 * entry count is still 0; readers touch only entries below the published count, which never
 * exceed the trimmed file. The file descriptor is closed once mapped.
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

/*
 * The hash the recovery point certifies an index prefix with: a chain, one XXH3-64 per entry
 * seeded with the previous value, so it needs 8 bytes of state rather than a streaming
 * state per index, and extends entry by entry as appends publish them.
 */
static uint64_t chain(const struct st_idx *ix, uint32_t from, uint32_t to, uint64_t h)
{
    for (uint32_t i = from; i < to; i++)
        h = XXH3_64bits_withSeed(ix->map + (size_t)i * ix->esize, ix->esize, h);
    return h;
}

/* The file is opened only while it is resized, trimmed or synced: a segment keeps one fd
 * (its .log) however many indexes it has; the mapping needs none. */
static int idx_fd(const struct st_idx *ix, int flags)
{
    int fd = open(ix->path, O_RDWR | O_CLOEXEC | flags, 0644);
    return fd < 0 ? -errno : fd;
}

int st__idx_open(struct st_idx *ix, const char *path, uint32_t esize, bool create)
{
    memset(ix, 0, sizeof(*ix));
    ix->esize = esize;
    atomic_init(&ix->n, 0);
    if (!(ix->path = strdup(path)))
        return -ENOMEM;
    if (create) {
        /* a new segment's index file is created when it is first reserved */
        if (unlink(path) < 0 && errno != ENOENT)
            return -errno;
        return 0;
    }
    int fd = idx_fd(ix, O_CREAT);
    if (fd < 0)
        return fd;
    int err = 0;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        err = -errno;
        goto out;
    }
    uint64_t entries = (uint64_t)st.st_size / esize;
    if (entries > (1u << 28)) {
        /* no index this large is ever written: derived data, rebuilt by recovery */
        if (ftruncate(fd, 0) < 0) {
            err = -errno;
            goto out;
        }
        entries = 0;
    }
    if (entries > 0) {
        void *m = mmap(NULL, (size_t)entries * esize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
            err = -errno;
            goto out;
        }
        ix->map = m;
        ix->cap = (uint32_t)entries;
    }
out:
    close(fd);
    return err;
}

void st__idx_close(struct st_idx *ix)
{
    if (ix->map)
        munmap(ix->map, (size_t)ix->cap * ix->esize);
    free(ix->path);
    ix->map = NULL;
    ix->path = NULL;
}

int st__idx_reserve(struct st_idx *ix, uint32_t cap)
{
    if (cap <= ix->cap)
        return 0;
    if (cap > UINT32_MAX / 2)
        return -EFBIG;
    size_t bytes = (size_t)cap * ix->esize;
    int fd = idx_fd(ix, O_CREAT);
    if (fd < 0)
        return fd;
    int err = 0;
    struct stat st;
    void *m;
    if (fstat(fd, &st) < 0 || ((uint64_t)st.st_size < bytes && ftruncate(fd, (off_t)bytes) < 0)) {
        err = -errno;
        goto out;
    }
    if (ix->map)
        m = mremap(ix->map, (size_t)ix->cap * ix->esize, bytes, MREMAP_MAYMOVE);
    else
        m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        err = -errno;
        goto out;
    }
    ix->map = m;
    ix->cap = cap;
out:
    close(fd);
    return err;
}

int st__idx_trim(struct st_idx *ix)
{
    uint32_t n = atomic_load_explicit(&ix->n, memory_order_relaxed);
    int fd = idx_fd(ix, n > 0 ? O_CREAT : 0);
    if (fd == -ENOENT)
        return 0; /* never created, nothing in it */
    if (fd < 0)
        return fd;
    int err = ftruncate(fd, (off_t)n * ix->esize) < 0 ? -errno : 0;
    close(fd);
    return err;
}

int st__idx_sync(struct st_idx *ix)
{
    int fd = idx_fd(ix, 0);
    if (fd == -ENOENT && atomic_load_explicit(&ix->n, memory_order_relaxed) == 0)
        return 0;
    if (fd < 0)
        return fd;
    int err = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return err;
}

void st__idx_publish(struct st_idx *ix)
{
    uint32_t n = atomic_load_explicit(&ix->n, memory_order_relaxed);
    assert(n <= ix->w && ix->w <= ix->cap);
    if (ix->w == n)
        return;
    ix->hash = chain(ix, n, ix->w, ix->hash);
    atomic_store_explicit(&ix->n, ix->w, memory_order_release);
}

void st__idx_reset(struct st_idx *ix, uint32_t k)
{
    uint32_t n = atomic_load_explicit(&ix->n, memory_order_relaxed);
    if (k >= n) {
        ix->w = k > ix->w ? ix->w : k;
        return;
    }
    /* Dropping published entries happens only before the segment is visible (recovery). */
    ix->hash = chain(ix, 0, k, 0);
    atomic_store_explicit(&ix->n, k, memory_order_relaxed);
    ix->w = k;
}

uint64_t st__idx_digest(const struct st_idx *ix) { return ix->hash; }

uint64_t st__idx_hash_prefix(const struct st_idx *ix, uint32_t k)
{
    assert(k <= ix->cap);
    return chain(ix, 0, k, 0);
}

/* ---- offset index ---------------------------------------------------------------------------- */

void st__oidx_put(struct st_idx *ix, uint32_t i, int32_t rel, int32_t pos)
{
    uint8_t *e = ix->map + (size_t)i * ST_IDX_ENTRY;
    kp_store_be32(e, (uint32_t)rel);
    kp_store_be32(e + 4, (uint32_t)pos);
}

void st__oidx_get(const struct st_idx *ix, uint32_t i, int32_t *rel, int32_t *pos)
{
    const uint8_t *e = ix->map + (size_t)i * ST_IDX_ENTRY;
    *rel = (int32_t)kp_load_be32(e);
    *pos = (int32_t)kp_load_be32(e + 4);
}

int64_t st__oidx_find_rel(const struct st_idx *ix, uint32_t n, int32_t target)
{
    int64_t lo = 0, hi = (int64_t)n - 1, best = -1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int32_t rel, pos;
        st__oidx_get(ix, (uint32_t)mid, &rel, &pos);
        if (rel <= target) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return best;
}

int64_t st__oidx_find_pos(const struct st_idx *ix, uint32_t n, int64_t target)
{
    int64_t lo = 0, hi = (int64_t)n - 1, best = -1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int32_t rel, pos;
        st__oidx_get(ix, (uint32_t)mid, &rel, &pos);
        if (pos <= target) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return best;
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

/* ---- time index ------------------------------------------------------------------------------ */

void st__tidx_put(struct st_idx *ix, uint32_t i, int64_t ts, int32_t rel)
{
    uint8_t *e = ix->map + (size_t)i * ST_TIDX_ENTRY;
    kp_store_be64(e, (uint64_t)ts);
    kp_store_be32(e + 8, (uint32_t)rel);
}

void st__tidx_get(const struct st_idx *ix, uint32_t i, int64_t *ts, int32_t *rel)
{
    const uint8_t *e = ix->map + (size_t)i * ST_TIDX_ENTRY;
    *ts = (int64_t)kp_load_be64(e);
    *rel = (int32_t)kp_load_be32(e + 8);
}

int64_t st__tidx_find_below(const struct st_idx *ix, uint32_t n, int64_t target)
{
    int64_t lo = 0, hi = (int64_t)n - 1, best = -1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int64_t ts;
        int32_t rel;
        st__tidx_get(ix, (uint32_t)mid, &ts, &rel);
        if (ts < target) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return best;
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
