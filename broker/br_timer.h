/*
 * br_timer — a binary min-heap of deadline entries embedded in their owners: the one timer
 * structure of the broker. The group coordinator keys each group by a lower bound of its
 * earliest deadline (br_group.c); every loop keys its parked responses by their deadlines
 * (br_loop.c, long-polling fetches).
 *
 * Contract
 * - An entry (struct br_timer) lives inside its owner; the heap holds pointers, and each entry
 *   knows its position, so a key moves either way and an entry leaves in O(log n). The owner
 *   is found from its entry with container_of-style arithmetic.
 * - Not thread-safe: each heap belongs to one thread or is guarded by its owner's lock.
 * - br_timers_add() may grow the heap (realloc, amortized): 0 or -ENOMEM (nothing added).
 *   Nothing else allocates or fails.
 */
#ifndef SPLICELOG_BR_TIMER_H
#define SPLICELOG_BR_TIMER_H

#include <stdint.h>

struct br_timer {
    int64_t key; /* INT64_MAX: nothing due */
    int32_t pos; /* index in the heap; -1 when in none */
};

struct br_timers {
    struct br_timer **v;
    int32_t len, cap;
};

/* Adds e with the given key. 0 or -ENOMEM. */
int br_timers_add(struct br_timers *t, struct br_timer *e, int64_t key);
void br_timers_remove(struct br_timers *t, struct br_timer *e);
/* Sets e's key (earlier or later). */
void br_timers_set(struct br_timers *t, struct br_timer *e, int64_t key);
/* The entry with the smallest key, or NULL when empty. */
static inline struct br_timer *br_timers_first(const struct br_timers *t)
{
    return t->len > 0 ? t->v[0] : 0;
}
void br_timers_free(struct br_timers *t);

#endif
