/*
 * br_place — placement of new connections by load (see br_place.h).
 */
#include "br_place.h"

#include <stdlib.h>
#include <unistd.h>

#include "br_conn.h"
#include "br_log.h"
#include "br_stats.h"

#define MOVE_GAP_MS 5000 /* a connection moves at most once in this long (no ping-pong) */

/* A new socket on its way to its home loop. */
struct handoff {
    struct br_wait wait; /* BR_WAIT_POST on the home loop */
    struct br_loop *home;
    int listener; /* index of the listener it was accepted on */
    int fd;
};

struct load {
    int heavy, conns;
};

static struct load load_of(struct br_loop *l)
{
    return (struct load){
        atomic_load_explicit(&l->load_heavy, memory_order_relaxed),
        atomic_load_explicit(&l->load_conns, memory_order_relaxed) +
            atomic_load_explicit(&l->load_incoming, memory_order_relaxed),
    };
}

static bool lighter(struct load a, struct load b)
{
    return a.heavy < b.heavy || (a.heavy == b.heavy && a.conns < b.conns);
}

struct br_loop *br_place_home(struct br_loop *self)
{
    struct br_loop *best = self;
    struct load bl = load_of(self);
    for (int i = 0; i < self->nall; i++) {
        struct br_loop *l = &self->all[i];
        if (l == self || !atomic_load_explicit(&l->placeable, memory_order_acquire))
            continue;
        struct load ll = load_of(l);
        if (lighter(ll, bl)) {
            best = l;
            bl = ll;
        }
    }
    return best;
}

/* On the home loop's thread: the handed socket becomes a connection of this loop (or is
 * closed, the loop stopping: br_conn_accepted). */
static void handoff_wake(struct br_wait *w, enum br_wake why)
{
    (void)why;
    struct handoff *h = (struct handoff *)((char *)w - offsetof(struct handoff, wait));
    struct br_loop *l = h->home;
    int fd = h->fd;
    struct br_accept *acc = &l->accepts[h->listener];
    free(h);
    atomic_fetch_sub_explicit(&l->load_incoming, 1, memory_order_relaxed);
    br_conn_accepted(l, acc, fd);
}

void br_place_accepted(struct br_loop *loop, struct br_accept *acc, int fd)
{
    if (loop->cfg->placement != BR_PLACE_LOAD || loop->nall < 2 || loop->stopping) {
        br_conn_accepted(loop, acc, fd);
        return;
    }
    struct br_loop *home = br_place_home(loop);
    if (home == loop) {
        br_conn_accepted(loop, acc, fd);
        return;
    }
    struct handoff *h = malloc(sizeof(*h));
    if (!h) {
        br_conn_accepted(loop, acc, fd); /* (kept here: placement is a preference) */
        return;
    }
    h->home = home;
    h->listener = acc->lst->index;
    h->fd = fd;
    atomic_fetch_add_explicit(&home->load_incoming, 1, memory_order_relaxed);
    if (!br_loop_hand(home, &h->wait, handoff_wake)) {
        atomic_fetch_sub_explicit(&home->load_incoming, 1, memory_order_relaxed);
        free(h);
        br_conn_accepted(loop, acc, fd); /* stopping: it closes there */
        return;
    }
    br_stats_handoff(loop->stats);
    br_debug("connection fd=%d accepted on loop %d handed to loop %d", fd, loop->id, home->id);
}

/* The next heavy-free loop after *cursor, round robin (NULL: none): the light connections of
 * one tick spread over every loop without a heavy one. */
static struct br_loop *pick_light_home(struct br_loop *loop, int *cursor)
{
    for (int n = 0; n < loop->nall; n++) {
        struct br_loop *l = &loop->all[(*cursor + n) % loop->nall];
        if (l == loop || !atomic_load_explicit(&l->placeable, memory_order_acquire) ||
            load_of(l).heavy > 0)
            continue;
        *cursor = (*cursor + n + 1) % loop->nall;
        return l;
    }
    return NULL;
}

void br_place_tick(struct br_loop *loop)
{
    if (loop->cfg->placement != BR_PLACE_LOAD || loop->nall < 2 || loop->stopping)
        return;
    br_conn_move_light(loop, loop->nheavy > 0 ? pick_light_home : NULL, MOVE_GAP_MS);
}
