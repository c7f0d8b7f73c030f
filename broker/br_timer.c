/*
 * br_timer — the heap (see br_timer.h): parent of i at (i - 1) / 2, children at 2i + 1 and
 * 2i + 2; every move writes the entry's new position into it.
 */
#include "br_timer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

static void put(struct br_timers *t, int32_t i, struct br_timer *e)
{
    t->v[i] = e;
    e->pos = i;
}

static void up(struct br_timers *t, int32_t i)
{
    struct br_timer *e = t->v[i];
    while (i > 0 && t->v[(i - 1) / 2]->key > e->key) {
        put(t, i, t->v[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    put(t, i, e);
}

static void down(struct br_timers *t, int32_t i)
{
    struct br_timer *e = t->v[i];
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

int br_timers_add(struct br_timers *t, struct br_timer *e, int64_t key)
{
    if (t->len == t->cap) {
        int32_t ncap = t->cap ? 2 * t->cap : 64;
        struct br_timer **nv = realloc(t->v, (size_t)ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        t->v = nv;
        t->cap = ncap;
    }
    e->key = key;
    put(t, t->len++, e);
    up(t, e->pos);
    return 0;
}

void br_timers_remove(struct br_timers *t, struct br_timer *e)
{
    int32_t i = e->pos;
    struct br_timer *last = t->v[--t->len];
    if (last != e) {
        put(t, i, last);
        up(t, i);
        down(t, last->pos);
    }
    e->pos = -1;
}

void br_timers_set(struct br_timers *t, struct br_timer *e, int64_t key)
{
    bool earlier = key < e->key;
    e->key = key;
    if (earlier)
        up(t, e->pos);
    else
        down(t, e->pos);
}

void br_timers_free(struct br_timers *t)
{
    free(t->v);
    *t = (struct br_timers){0};
}
