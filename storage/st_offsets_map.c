/*
 * st_offsets_map — the committed-offsets store's in-memory map (see st_offsets_int.h).
 */
#include "st_offsets_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "kp_buf.h"

int st__ofs_map_init(struct st__ofs_map *m)
{
    *m = (struct st__ofs_map){.nkeys_buckets = 64, .ngroup_buckets = 16, .npend_buckets = 16};
    m->keys = calloc(m->nkeys_buckets, sizeof(*m->keys));
    m->groups = calloc(m->ngroup_buckets, sizeof(*m->groups));
    m->pend = calloc(m->npend_buckets, sizeof(*m->pend));
    if (!m->keys || !m->groups || !m->pend) {
        st__ofs_map_free(m);
        return -ENOMEM;
    }
    if (getrandom(&m->seed, sizeof(m->seed), GRND_NONBLOCK) != sizeof(m->seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        m->seed =
            ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) * 0x9E3779B97F4A7C15ULL ^
            (uint64_t)getpid();
    }
    return 0;
}

void st__ofs_map_free(struct st__ofs_map *m)
{
    for (size_t i = 0; m->keys && i < m->nkeys_buckets; i++) {
        struct ofs_entry *e = m->keys[i];
        while (e) {
            struct ofs_entry *next = e->hnext;
            free(e->meta);
            free(e);
            e = next;
        }
    }
    for (size_t i = 0; m->groups && i < m->ngroup_buckets; i++) {
        struct ofs_group *g = m->groups[i];
        while (g) {
            struct ofs_group *next = g->hnext;
            free(g);
            g = next;
        }
    }
    for (size_t i = 0; m->pend && i < m->npend_buckets; i++) {
        struct ofs_pending *x = m->pend[i];
        while (x) {
            struct ofs_pending *next = x->next;
            free(x->meta);
            free(x);
            x = next;
        }
    }
    free(m->keys);
    free(m->groups);
    free(m->pend);
    m->keys = NULL;
    m->groups = NULL;
    m->pend = NULL;
}

uint64_t st__ofs_group_hash(const struct st__ofs_map *m, const char *g, size_t glen)
{
    return XXH3_64bits_withSeed(g, glen, m->seed);
}

uint64_t st__ofs_key_hash(uint64_t gh, const char *t, size_t tlen, int32_t p)
{
    uint8_t pb[4];
    kp_store_be32(pb, (uint32_t)p);
    return XXH3_64bits_withSeed(pb, 4, XXH3_64bits_withSeed(t, tlen, gh));
}

static size_t entry_record_size(const struct ofs_entry *e)
{
    return st__ofs_record_size(e->grp->len, e->topic_len, e->meta_len);
}

/* What a key and a group cost in memory, allocator overhead and hash buckets included
 * (a table has between one and two buckets per item). */
enum { OFS_ALLOC_OVERHEAD = 16 };

int64_t st__ofs_entry_mem(size_t tlen, size_t mlen)
{
    return (int64_t)(sizeof(struct ofs_entry) + tlen + mlen + 2 * OFS_ALLOC_OVERHEAD +
                     2 * sizeof(struct ofs_entry *));
}

int64_t st__ofs_group_mem(size_t glen)
{
    return (int64_t)(sizeof(struct ofs_group) + glen + OFS_ALLOC_OVERHEAD +
                     2 * sizeof(struct ofs_group *));
}

struct ofs_group *st__ofs_group_find(struct st__ofs_map *m, const char *g, size_t glen, uint64_t h)
{
    for (struct ofs_group *x = m->groups[h & (m->ngroup_buckets - 1)]; x; x = x->hnext)
        if (x->hash == h && x->len == glen && memcmp(x->name, g, glen) == 0)
            return x;
    return NULL;
}

struct ofs_entry *st__ofs_key_find(struct st__ofs_map *m, const struct ofs_group *grp,
                                   const char *t, size_t tlen, int32_t p, uint64_t h)
{
    for (struct ofs_entry *e = m->keys[h & (m->nkeys_buckets - 1)]; e; e = e->hnext)
        if (e->hash == h && e->grp == grp && e->partition == p && e->topic_len == tlen &&
            memcmp(e->topic, t, tlen) == 0)
            return e;
    return NULL;
}

/* Doubles a chained table when it holds more items than buckets. */
static int rehash_keys(struct st__ofs_map *m)
{
    if ((size_t)m->nkeys < m->nkeys_buckets)
        return 0;
    size_t nb = m->nkeys_buckets * 2;
    struct ofs_entry **t = calloc(nb, sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < m->nkeys_buckets; i++) {
        struct ofs_entry *e = m->keys[i];
        while (e) {
            struct ofs_entry *next = e->hnext;
            e->hnext = t[e->hash & (nb - 1)];
            t[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    free(m->keys);
    m->keys = t;
    m->nkeys_buckets = nb;
    return 0;
}

static int rehash_groups(struct st__ofs_map *m)
{
    if ((size_t)m->ngroups < m->ngroup_buckets)
        return 0;
    size_t nb = m->ngroup_buckets * 2;
    struct ofs_group **t = calloc(nb, sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < m->ngroup_buckets; i++) {
        struct ofs_group *g = m->groups[i];
        while (g) {
            struct ofs_group *next = g->hnext;
            g->hnext = t[g->hash & (nb - 1)];
            t[g->hash & (nb - 1)] = g;
            g = next;
        }
    }
    free(m->groups);
    m->groups = t;
    m->ngroup_buckets = nb;
    return 0;
}

static void group_unlink_free(struct st__ofs_map *m, struct ofs_group *grp)
{
    struct ofs_group **pp = &m->groups[grp->hash & (m->ngroup_buckets - 1)];
    while (*pp != grp)
        pp = &(*pp)->hnext;
    *pp = grp->hnext;
    m->ngroups--;
    m->mem_bytes -= st__ofs_group_mem(grp->len);
    free(grp);
}

void st__ofs_key_remove(struct st__ofs_map *m, struct ofs_entry *e)
{
    struct ofs_entry **pp = &m->keys[e->hash & (m->nkeys_buckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    struct ofs_group *grp = e->grp;
    if (e->gprev)
        e->gprev->gnext = e->gnext;
    else
        grp->head = e->gnext;
    if (e->gnext)
        e->gnext->gprev = e->gprev;
    m->nkeys--;
    m->live_bytes -= (int64_t)entry_record_size(e);
    m->mem_bytes -= st__ofs_entry_mem(e->topic_len, e->meta_len);
    free(e->meta);
    free(e);
    if (--grp->n == 0)
        group_unlink_free(m, grp);
}

/* Sets a key (creating its group and entry as needed). 0 or -ENOMEM (state unchanged). */
int st__ofs_key_set(struct st__ofs_map *m, const char *g, size_t glen, const char *t, size_t tlen,
                    int32_t p, int64_t offset, const char *meta, size_t mlen, int64_t ms)
{
    uint64_t gh = st__ofs_group_hash(m, g, glen);
    uint64_t kh = st__ofs_key_hash(gh, t, tlen, p);
    struct ofs_group *grp = st__ofs_group_find(m, g, glen, gh);
    struct ofs_entry *e = grp ? st__ofs_key_find(m, grp, t, tlen, p, kh) : NULL;
    char *mbuf = NULL;
    if (mlen > 0) {
        if (e && e->meta_len == mlen) {
            mbuf = e->meta; /* same size: reuse */
        } else if (!(mbuf = malloc(mlen))) {
            return -ENOMEM;
        }
        memcpy(mbuf, meta, mlen);
    }
    if (e) {
        m->live_bytes -= (int64_t)entry_record_size(e);
        m->mem_bytes += (int64_t)mlen - (int64_t)e->meta_len;
        if (e->meta != mbuf)
            free(e->meta);
        e->meta = mbuf;
        e->meta_len = (uint32_t)mlen;
        e->offset = offset;
        e->commit_ms = ms;
        e->seq = ++m->next_seq;
        m->live_bytes += (int64_t)entry_record_size(e);
        return 0;
    }
    bool new_group = grp == NULL;
    if (new_group) {
        if (rehash_groups(m) < 0 || !(grp = calloc(1, sizeof(*grp) + glen))) {
            free(mbuf);
            return -ENOMEM;
        }
        grp->hash = gh;
        grp->len = (uint16_t)glen;
        memcpy(grp->name, g, glen);
    }
    if (rehash_keys(m) < 0 || !(e = calloc(1, sizeof(*e) + tlen))) {
        free(mbuf);
        if (new_group)
            free(grp);
        return -ENOMEM;
    }
    if (new_group) {
        size_t b = gh & (m->ngroup_buckets - 1);
        grp->hnext = m->groups[b];
        m->groups[b] = grp;
        m->ngroups++;
        m->mem_bytes += st__ofs_group_mem(glen);
    }
    e->grp = grp;
    e->hash = kh;
    e->partition = p;
    e->topic_len = (uint16_t)tlen;
    memcpy(e->topic, t, tlen);
    e->meta = mbuf;
    e->meta_len = (uint32_t)mlen;
    e->offset = offset;
    e->commit_ms = ms;
    e->seq = ++m->next_seq;
    size_t b = kh & (m->nkeys_buckets - 1);
    e->hnext = m->keys[b];
    m->keys[b] = e;
    e->gnext = grp->head;
    if (grp->head)
        grp->head->gprev = e;
    grp->head = e;
    grp->n++;
    m->nkeys++;
    m->live_bytes += (int64_t)entry_record_size(e);
    m->mem_bytes += st__ofs_entry_mem(tlen, mlen);
    return 0;
}

void st__ofs_key_delete(struct st__ofs_map *m, const char *g, size_t glen, const char *t,
                        size_t tlen, int32_t p)
{
    uint64_t gh = st__ofs_group_hash(m, g, glen);
    struct ofs_group *grp = st__ofs_group_find(m, g, glen, gh);
    struct ofs_entry *e =
        grp ? st__ofs_key_find(m, grp, t, tlen, p, st__ofs_key_hash(gh, t, tlen, p)) : NULL;
    if (e)
        st__ofs_key_remove(m, e);
}

/* Removes every key of a group; returns how many. */
int st__ofs_group_delete(struct st__ofs_map *m, const char *g, size_t glen)
{
    struct ofs_group *grp = st__ofs_group_find(m, g, glen, st__ofs_group_hash(m, g, glen));
    if (!grp)
        return 0;
    int n = 0;
    while (grp->n > 1) { /* the last removal frees grp */
        st__ofs_key_remove(m, grp->head);
        n++;
    }
    st__ofs_key_remove(m, grp->head);
    return n + 1;
}

/* ---- transactional offsets ------------------------------------------------------------------ */

uint64_t st__ofs_pending_hash(const struct st__ofs_map *m, const char *g, size_t glen, int64_t pid)
{
    uint8_t pb[8];
    kp_store_be64(pb, (uint64_t)pid);
    return XXH3_64bits_withSeed(pb, 8, XXH3_64bits_withSeed(g, glen, m->seed));
}

static bool pend_is(const struct ofs_pending *x, uint64_t h, const char *g, size_t glen,
                    int64_t pid)
{
    return x->hash == h && x->pid == pid && x->group_len == glen && memcmp(x->names, g, glen) == 0;
}

static int rehash_pend(struct st__ofs_map *m)
{
    if ((size_t)m->npend < m->npend_buckets)
        return 0;
    size_t nb = m->npend_buckets * 2;
    struct ofs_pending **t = calloc(nb, sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < m->npend_buckets; i++) {
        for (struct ofs_pending *x = m->pend[i], *next; x; x = next) {
            next = x->next;
            x->next = t[x->hash & (nb - 1)];
            t[x->hash & (nb - 1)] = x;
        }
    }
    free(m->pend);
    m->pend = t;
    m->npend_buckets = nb;
    return 0;
}

static void pend_unlink_free(struct st__ofs_map *m, struct ofs_pending **pp)
{
    struct ofs_pending *x = *pp;
    *pp = x->next;
    m->npend--;
    m->live_bytes -= (int64_t)st__ofs_txn_record_size(x->group_len, x->topic_len, x->meta_len);
    m->mem_bytes -= st__ofs_entry_mem((size_t)x->group_len + x->topic_len, x->meta_len);
    free(x->meta);
    free(x);
}

int st__ofs_pending_set(struct st__ofs_map *m, const char *g, size_t glen, int64_t pid,
                        int16_t epoch, const char *t, size_t tlen, int32_t p, int64_t offset,
                        const char *meta, size_t mlen, int64_t ms)
{
    uint64_t h = st__ofs_pending_hash(m, g, glen, pid);
    if (rehash_pend(m) < 0)
        return -ENOMEM;
    struct ofs_pending *x = calloc(1, sizeof(*x) + glen + tlen);
    char *mb = mlen ? malloc(mlen) : NULL;
    if (!x || (mlen && !mb)) {
        free(x);
        free(mb);
        return -ENOMEM;
    }
    /* an earlier commit of the same partition in this transaction is replaced */
    struct ofs_pending **pp = &m->pend[h & (m->npend_buckets - 1)];
    while (*pp) {
        struct ofs_pending *y = *pp;
        if (pend_is(y, h, g, glen, pid) && y->partition == p && y->topic_len == tlen &&
            memcmp(y->names + glen, t, tlen) == 0)
            pend_unlink_free(m, pp);
        else
            pp = &y->next;
    }
    x->hash = h;
    x->seq = ++m->next_seq;
    x->pid = pid;
    x->epoch = epoch;
    x->offset = offset;
    x->commit_ms = ms;
    if (mlen)
        memcpy(mb, meta, mlen);
    x->meta = mb;
    x->meta_len = (uint32_t)mlen;
    x->partition = p;
    x->group_len = (uint16_t)glen;
    x->topic_len = (uint16_t)tlen;
    memcpy(x->names, g, glen);
    memcpy(x->names + glen, t, tlen);
    size_t b = h & (m->npend_buckets - 1);
    x->next = m->pend[b];
    m->pend[b] = x;
    m->npend++;
    m->live_bytes += (int64_t)st__ofs_txn_record_size(glen, tlen, mlen);
    m->mem_bytes += st__ofs_entry_mem(glen + tlen, mlen);
    return 0;
}

int st__ofs_pending_end(struct st__ofs_map *m, const char *g, size_t glen, int64_t pid, bool commit,
                        void (*set)(void *arg, const struct ofs_entry *e), void *set_arg)
{
    uint64_t h = st__ofs_pending_hash(m, g, glen, pid);
    struct ofs_pending **pp = &m->pend[h & (m->npend_buckets - 1)];
    int n = 0;
    while (*pp) {
        struct ofs_pending *x = *pp;
        if (!pend_is(x, h, g, glen, pid)) {
            pp = &x->next;
            continue;
        }
        if (commit) {
            const char *t = x->names + glen;
            uint64_t gh = st__ofs_group_hash(m, g, glen);
            struct ofs_group *grp = st__ofs_group_find(m, g, glen, gh);
            struct ofs_entry *e =
                grp ? st__ofs_key_find(m, grp, t, x->topic_len, x->partition,
                                       st__ofs_key_hash(gh, t, x->topic_len, x->partition))
                    : NULL;
            /* Kafka's completePendingTxnOffsetCommit: only over an older commit */
            if (!e || e->seq < x->seq) {
                uint64_t keep = m->next_seq;
                if (st__ofs_key_set(m, g, glen, t, x->topic_len, x->partition, x->offset, x->meta,
                                    x->meta_len, x->commit_ms) < 0)
                    return -ENOMEM;
                m->next_seq = keep; /* the key takes the pending record's place in order */
                e = st__ofs_key_find(m, st__ofs_group_find(m, g, glen, gh), t, x->topic_len,
                                     x->partition,
                                     st__ofs_key_hash(gh, t, x->topic_len, x->partition));
                e->seq = x->seq;
                if (set)
                    set(set_arg, e);
            }
        }
        pend_unlink_free(m, pp);
        n++;
    }
    return n;
}

struct ofs_pending *st__ofs_pending_find_key(struct st__ofs_map *m, const char *g, size_t glen,
                                             const char *t, size_t tlen, int32_t p)
{
    for (size_t i = 0; i < m->npend_buckets; i++)
        for (struct ofs_pending *x = m->pend[i]; x; x = x->next)
            if (x->group_len == glen && memcmp(x->names, g, glen) == 0 && x->partition == p &&
                x->topic_len == tlen && memcmp(x->names + glen, t, tlen) == 0)
                return x;
    return NULL;
}
