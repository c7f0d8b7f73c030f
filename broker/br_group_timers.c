/*
 * br_group_timers — the coordinator's heap of deadlines (see br_group_int.h): a binary
 * min-heap of pointers to entries embedded in their owners, each entry knowing its position,
 * so an entry's key moves either way and an entry leaves in O(log n).
 */
#include <errno.h>
#include <stdlib.h>

#include "br_group_int.h"

static void put(struct br_group__timers *t, int32_t i, struct br_group__timer *e)
{
    t->v[i] = e;
    e->pos = i;
}

static void up(struct br_group__timers *t, int32_t i)
{
    struct br_group__timer *e = t->v[i];
    while (i > 0 && t->v[(i - 1) / 2]->key > e->key) {
        put(t, i, t->v[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    put(t, i, e);
}

static void down(struct br_group__timers *t, int32_t i)
{
    struct br_group__timer *e = t->v[i];
    for (;;) {
        int32_t c = 2 * i + 1;
        if (c >= t->len)
            break;
        if (c + 1 < t->len && t->v[c + 1]->key < t->v[c]->key)
            c++;
        if (t->v[c]->key >= e->key)
            break;
        put(t, i, t->v[c]);
        i = c;
    }
    put(t, i, e);
}

int br_group__timers_add(struct br_group__timers *t, struct br_group__timer *e)
{
    if (t->len == t->cap) {
        int32_t ncap = t->cap ? 2 * t->cap : 64;
        struct br_group__timer **nv = realloc(t->v, (size_t)ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        t->v = nv;
        t->cap = ncap;
    }
    e->key = INT64_MAX;
    put(t, t->len++, e);
    up(t, e->pos);
    return 0;
}

void br_group__timers_remove(struct br_group__timers *t, struct br_group__timer *e)
{
    int32_t i = e->pos;
    struct br_group__timer *last = t->v[--t->len];
    if (last != e) {
        put(t, i, last);
        up(t, i);
        down(t, last->pos);
    }
    e->pos = -1;
}

void br_group__timers_set(struct br_group__timers *t, struct br_group__timer *e, int64_t key)
{
    bool earlier = key < e->key;
    e->key = key;
    if (earlier)
        up(t, e->pos);
    else
        down(t, e->pos);
}

struct br_group__timer *br_group__timers_first(const struct br_group__timers *t)
{
    return t->len > 0 ? t->v[0] : NULL;
}

void br_group__timers_free(struct br_group__timers *t)
{
    free(t->v);
    *t = (struct br_group__timers){0};
}
