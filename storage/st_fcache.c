/*
 * st_fcache — the store's cache of open segment files: a bound on descriptors and mappings,
 * whatever the number of partitions (issue 21: 100,000 partitions under a 20,000-descriptor
 * limit).
 *
 * What is open of a segment: its .log descriptor, its .txnindex descriptor (once a lookup or
 * a marker needed it) and, for a sealed segment, the read-only mappings of its .index and
 * .timeindex (st_index.c). All of it is opened at the first need and closed together when
 * the cache evicts the segment; the active segment's in-memory index is not the cache's.
 *
 * Pins. Whoever uses a descriptor or a mapping pins the segment first (st__seg_pin: one
 * compare-and-swap on s->pins when it is open) and unpins when done; a read's ranges stay
 * pinned until st_read_release, so a descriptor handed to the broker for a splice is never
 * closed under it. Eviction closes only an unpinned segment, with one compare-and-swap from
 * "open, no pins" to "closed": a pin and an eviction cannot both succeed.
 *
 * Which one goes: CLOCK, the usual approximation of least-recently-used. Every pin sets the
 * segment's used bit (in the same word as the pin count, so a pin stays one atomic operation
 * and takes no lock); eviction sweeps the ring of open segments from its hand, clearing used
 * bits and closing the first unpinned segment whose bit was clear. A miss (open) and an
 * eviction take the cache's mutex; a hit never does. The bound is soft in one case: when
 * every open segment is pinned, the cache grows past it rather than fail (pins are held for a
 * read's lifetime, so that many readers are in flight). When open() itself reports EMFILE
 * or ENFILE (the rest of the process holds more than the bound left it), the cache evicts up
 * to EVICT_ON_EMFILE segments, lowers its bound to what it then holds, and the open is tried
 * once more: the bound follows the descriptors the process really has.
 *
 * Cost of a miss: an open(2) of a path whose directory entry is warm, 2.5 us on the machine
 * of the README figures (one per segment a read touches: at most ST_READ_MAX_RANGES per
 * st_log_read), plus a close(2) for the segment it evicts. A miss runs on the caller's
 * thread.
 */
#include "st_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum {
    PIN_OPEN = 1u << 31, /* the files are open */
    PIN_USED = 1u << 30, /* pinned since the hand last passed (CLOCK) */
    PIN_COUNT = PIN_USED - 1,
    EVICT_ON_EMFILE = 16,
    FC_MIN = 16,
};

int st__fc_new(int64_t max_open, struct st_fcache **out)
{
    struct st_fcache *fc = calloc(1, sizeof(*fc));
    if (!fc)
        return -ENOMEM;
    if (max_open <= 0) {
        /* half the descriptor limit: the other half is the broker's sockets and pipes */
        struct rlimit rl;
        max_open = 512;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
            max_open = (int64_t)rl.rlim_cur / 2;
    }
    if (max_open < FC_MIN)
        max_open = FC_MIN;
    if (max_open > (1 << 24))
        max_open = 1 << 24;
    fc->max = (uint32_t)max_open;
    atomic_init(&fc->opened, 0);
    atomic_init(&fc->evicted, 0);
    atomic_init(&fc->open_now, 0);
    atomic_init(&fc->refs, 1);
    int err = pthread_mutex_init(&fc->mu, NULL);
    if (err) {
        free(fc);
        return -err;
    }
    *out = fc;
    return 0;
}

void st__fc_ref(struct st_fcache *fc)
{
    if (fc)
        atomic_fetch_add_explicit(&fc->refs, 1, memory_order_relaxed);
}

void st__fc_put(struct st_fcache *fc)
{
    if (!fc || atomic_fetch_sub_explicit(&fc->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* every segment is freed by now: each one took itself out of the ring */
    assert(fc->n == 0);
    free(fc->ring);
    pthread_mutex_destroy(&fc->mu);
    free(fc);
}

/* Closes what is open of s (unpinned, out of the ring or about to leave it). */
static void close_files(struct st_seg *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    int t = atomic_exchange_explicit(&s->txn_fd, -1, memory_order_relaxed);
    if (t >= 0)
        close(t);
    st__idx_unmap(&s->idx);
    st__idx_unmap(&s->tidx);
}

/* Takes ring slot i out (fc->mu held): the last one moves in. */
static void ring_del(struct st_fcache *fc, uint32_t i)
{
    struct st_seg *s = fc->ring[i];
    fc->ring[i] = fc->ring[--fc->n];
    fc->ring[i]->slot = (int32_t)i;
    s->slot = -1;
    atomic_fetch_sub_explicit(&fc->open_now, 1, memory_order_relaxed);
}

/* One CLOCK step after another until an unpinned, unused segment is closed (fc->mu held).
 * False when two turns of the hand found none. */
static bool evict_one(struct st_fcache *fc)
{
    for (uint32_t steps = 0; fc->n > 0 && steps < 2 * fc->n + 1; steps++) {
        if (fc->hand >= fc->n)
            fc->hand = 0;
        struct st_seg *v = fc->ring[fc->hand];
        uint32_t p = atomic_load_explicit(&v->pins, memory_order_relaxed);
        if (p & PIN_USED) {
            atomic_fetch_and_explicit(&v->pins, ~(uint32_t)PIN_USED, memory_order_relaxed);
            fc->hand++;
            continue;
        }
        uint32_t expect = PIN_OPEN;
        if (atomic_compare_exchange_strong_explicit(&v->pins, &expect, 0, memory_order_acquire,
                                                    memory_order_relaxed)) {
            ring_del(fc, fc->hand);
            close_files(v);
            atomic_fetch_add_explicit(&fc->evicted, 1, memory_order_relaxed);
            return true;
        }
        fc->hand++; /* pinned */
    }
    return false;
}

/* Puts s (its fd set, pins still 0) in the ring, evicting down to the bound (fc->mu held). */
static int ring_add(struct st_fcache *fc, struct st_seg *s)
{
    while (fc->n >= fc->max && evict_one(fc))
        ;
    if (fc->n == fc->cap) {
        uint32_t cap = fc->cap ? fc->cap * 2 : 64;
        struct st_seg **nr = realloc(fc->ring, (size_t)cap * sizeof(*nr));
        if (!nr)
            return -ENOMEM;
        fc->ring = nr;
        fc->cap = cap;
    }
    s->slot = (int32_t)fc->n;
    fc->ring[fc->n++] = s;
    atomic_fetch_add_explicit(&fc->open_now, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&fc->opened, 1, memory_order_relaxed);
    return 0;
}

void st__fc_relieve(struct st_fcache *fc)
{
    if (!fc)
        return;
    pthread_mutex_lock(&fc->mu);
    for (int i = 0; i < EVICT_ON_EMFILE && evict_one(fc); i++)
        ;
    /* the process cannot hold as many as the bound says: keep that many below what it just
     * managed, so that the descriptors the rest of the process opens find room */
    if (fc->n < fc->max)
        fc->max = fc->n > FC_MIN ? fc->n : FC_MIN;
    pthread_mutex_unlock(&fc->mu);
}

int st__fc_open(struct st_fcache *fc, const char *path, int flags, mode_t mode)
{
    for (int attempt = 0;; attempt++) {
        int fd = open(path, flags | O_CLOEXEC, mode);
        if (fd >= 0)
            return fd;
        int e = errno;
        if ((e != EMFILE && e != ENFILE) || attempt > 0 || !fc)
            return -e;
        st__fc_relieve(fc);
    }
}

static int open_log(struct st_seg *s, int flags)
{
    return st__fc_open(s->fc, s->path, O_RDWR | flags, 0644);
}

static bool try_pin(struct st_seg *s)
{
    uint32_t p = atomic_load_explicit(&s->pins, memory_order_acquire);
    while (p & PIN_OPEN) {
        assert((p & PIN_COUNT) < PIN_COUNT);
        if (atomic_compare_exchange_weak_explicit(&s->pins, &p, (p + 1) | PIN_USED,
                                                  memory_order_acquire, memory_order_acquire))
            return true;
    }
    return false;
}

/* Installs fd as s's open .log with one pin (s closed; fc->mu held). */
static int install(struct st_seg *s, int fd)
{
    s->fd = fd;
    int err = s->fc ? ring_add(s->fc, s) : 0;
    if (err < 0) {
        s->fd = -1;
        return err;
    }
    atomic_store_explicit(&s->pins, PIN_OPEN | PIN_USED | 1, memory_order_release);
    return 0;
}

int st__seg_pin(struct st_seg *s)
{
    if (try_pin(s))
        return 0;
    int fd = open_log(s, 0);
    if (fd < 0)
        return fd;
    if (s->fc)
        pthread_mutex_lock(&s->fc->mu);
    int err = 0;
    if (atomic_load_explicit(&s->pins, memory_order_relaxed) & PIN_OPEN)
        err = 1; /* another thread opened it meanwhile */
    else
        err = install(s, fd);
    if (s->fc)
        pthread_mutex_unlock(&s->fc->mu);
    if (err == 1) {
        close(fd);
        return st__seg_pin(s);
    }
    if (err < 0)
        close(fd);
    return err;
}

int st__seg_pin_new(struct st_seg *s)
{
    assert(!(atomic_load(&s->pins) & PIN_OPEN));
    int fd = open_log(s, O_CREAT | O_EXCL);
    if (fd < 0)
        return fd;
    if (s->fc)
        pthread_mutex_lock(&s->fc->mu);
    int err = install(s, fd);
    if (s->fc)
        pthread_mutex_unlock(&s->fc->mu);
    if (err < 0)
        close(fd);
    return err;
}

void st__seg_unpin(struct st_seg *s)
{
    uint32_t old = atomic_fetch_sub_explicit(&s->pins, 1, memory_order_release);
    (void)old;
    assert((old & PIN_OPEN) && (old & PIN_COUNT) > 0);
}

void st__seg_close_files(struct st_seg *s)
{
    assert((atomic_load(&s->pins) & PIN_COUNT) == 0);
    if (s->fc) {
        /* slot is the cache's (fc->mu): another segment's close moves this one in the ring */
        pthread_mutex_lock(&s->fc->mu);
        if (s->slot >= 0)
            ring_del(s->fc, (uint32_t)s->slot);
        pthread_mutex_unlock(&s->fc->mu);
    }
    atomic_store_explicit(&s->pins, 0, memory_order_relaxed);
    close_files(s);
}

int st__seg_read(struct st_seg *s, void *buf, size_t n, int64_t pos)
{
    int err = st__seg_pin(s);
    if (err < 0)
        return err;
    err = st__pread_full(s->fd, buf, n, pos);
    st__seg_unpin(s);
    return err;
}

int st__seg_txn_fd(struct st_seg *s, bool create)
{
    int fd = atomic_load_explicit(&s->txn_fd, memory_order_acquire);
    if (fd >= 0)
        return fd;
    char path[ST_MAX_PATH];
    st__seg_sibling(s, path, sizeof(path), ".txnindex");
    fd = st__fc_open(s->fc, path, O_RDWR | (create ? O_CREAT : 0), 0644);
    if (fd < 0)
        return fd;
    int expect = -1;
    if (!atomic_compare_exchange_strong_explicit(&s->txn_fd, &expect, fd, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        close(fd); /* another pinned user opened it first */
        return expect;
    }
    return fd;
}

void st__fc_stats(struct st_fcache *fc, struct st_fcache_stats *out)
{
    out->open = atomic_load_explicit(&fc->open_now, memory_order_relaxed);
    out->opened = atomic_load_explicit(&fc->opened, memory_order_relaxed);
    out->evicted = atomic_load_explicit(&fc->evicted, memory_order_relaxed);
    out->max = fc->max;
}
