/*
 * st_clean_map — the cleaner's key -> latest offset map (st_clean_int.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "st_clean_int.h"

struct slot {
    uint64_t lo, hi; /* XXH3-128 of the key */
    int64_t offset;
    uint32_t gen; /* == map gen: in use */
    uint32_t pad;
};

struct st_cmap {
    struct slot *s;
    uint32_t cap; /* power of two */
    uint32_t n, max;
    uint32_t gen;
};

int st__cmap_new(size_t bytes, struct st_cmap **out)
{
    size_t want = bytes / sizeof(struct slot);
    uint32_t cap = 1024;
    while ((size_t)cap * 2 <= want && cap < (1u << 30))
        cap *= 2;
    struct st_cmap *m = calloc(1, sizeof(*m));
    /* calloc: untouched pages cost nothing until keys land in them */
    if (!m || !(m->s = calloc(cap, sizeof(struct slot)))) {
        free(m);
        return -ENOMEM;
    }
    m->cap = cap;
    m->max = (uint32_t)((uint64_t)cap * 9 / 10);
    m->gen = 1;
    *out = m;
    return 0;
}

void st__cmap_free(struct st_cmap *m)
{
    if (m) {
        free(m->s);
        free(m);
    }
}

void st__cmap_clear(struct st_cmap *m)
{
    m->n = 0;
    if (++m->gen == 0) {
        memset(m->s, 0, (size_t)m->cap * sizeof(struct slot));
        m->gen = 1;
    }
}

static struct slot *find(const struct st_cmap *m, XXH128_hash_t h, bool *found)
{
    uint32_t mask = m->cap - 1, i = (uint32_t)h.low64 & mask;
    for (;;) {
        struct slot *s = &m->s[i];
        if (s->gen != m->gen) {
            *found = false;
            return s;
        }
        if (s->lo == h.low64 && s->hi == h.high64) {
            *found = true;
            return s;
        }
        i = (i + 1) & mask; /* the map is never full: an empty slot ends the probe */
    }
}

int st__cmap_put(struct st_cmap *m, const void *key, size_t len, int64_t offset)
{
    XXH128_hash_t h = XXH3_128bits(key, len);
    bool found;
    struct slot *s = find(m, h, &found);
    if (found) {
        if (offset > s->offset)
            s->offset = offset;
        return 0;
    }
    if (m->n >= m->max)
        return -ENOSPC;
    *s = (struct slot){.lo = h.low64, .hi = h.high64, .offset = offset, .gen = m->gen};
    m->n++;
    return 0;
}

int64_t st__cmap_get(const struct st_cmap *m, const void *key, size_t len)
{
    bool found;
    struct slot *s = find(m, XXH3_128bits(key, len), &found);
    return found ? s->offset : -1;
}

uint32_t st__cmap_count(const struct st_cmap *m) { return m->n; }
uint32_t st__cmap_room(const struct st_cmap *m) { return m->max; }
