/*
 * br_conn_move — a light connection moving to another loop thread (connection.placement=load;
 * the rule is in br_conn.h's contract, "Placement", and br_place.h says when).
 *
 * The steps, each on the thread that owns the connection at that moment:
 *   1. br_conn_move_light (old loop, once a second from br_place_tick) picks a target for each
 *      light connection and begins the move of those that are quiescent (br_conn__quiescent:
 *      nothing received, handled, queued, parked or in flight but the recv; not TLS, not in a
 *      SASL login); br_conn_complete begins it for the others when they become so.
 *   2. br_conn__move_begin cancels the recv; nothing is handled while moving (bytes that arrive
 *      are kept in the frame buffer).
 *   3. br_conn__move_out, once nothing of the connection is in flight: it leaves every list and
 *      count of the old loop, releases the transfer path's resources, and is posted to the new
 *      loop (br_loop_hand); from then on the new loop's thread owns it. A stopping or failed
 *      target refuses the hand: the connection stays and is read again.
 *   4. move_in (new loop): it joins this loop's list in the order of its last activity, its
 *      shares start afresh, and it is read here; bytes kept during the move are handled now.
 * An EOF during the move abandons it (br_conn_complete): the requests received are answered on
 * the old loop, then the connection closes.
 */
#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>

#include "br_conn.h"
#include "br_log.h"
#include "br_rx.h"
#include "br_stats.h"
#include "br_xfer.h"

/* Nothing of the connection is in flight but its recv, and nothing of it waits anywhere on its
 * loop: no request being received or handled, no response queued, parked or being sent, no
 * wait, no hold; and none of the states that are not moved (br_conn.h: TLS, a SASL login not
 * done). Heavy ones stay. */
bool br_conn__quiescent(const struct br_conn *c)
{
    const struct br_loop *l = c->loop;
    bool login = c->peer.sess && l->sess_ops->max_frame(c->peer.sess) > 0;
    return !c->closing && !c->moving && !c->out_head && c->nresp == 0 && c->send_ops == 0 &&
           c->in_len == 0 && c->req_start_ms == 0 && !c->paused && !c->deferred &&
           !c->bytes_wait.waiting && !c->eof && !c->draining && !c->close_after_tx && !c->tls &&
           !login && !c->rx->handshake && c->pipe_fill == 0 && c->copy_fill == 0 &&
           !c->heavy_counted;
}

/* The connection of l's list after which c goes: the last one active no later than c, so that
 * the list stays ordered by last activity (evict_idle trusts its head); NULL: first. */
static struct br_conn *place_after(struct br_loop *l, const struct br_conn *c)
{
    struct br_conn *after = l->conns_tail;
    while (after && after->last_active_ms > c->last_active_ms)
        after = after->prev;
    return after;
}

/* On the new loop's thread: the connection joins this loop's lists and counts, and is read
 * here (its recv armed on this ring); bytes that arrived during the move are handled now. */
static void move_in(struct br_wait *w, enum br_wake why)
{
    (void)why;
    struct br_conn *c = (struct br_conn *)((char *)w - offsetof(struct br_conn, move_wait));
    struct br_loop *l = c->loop;
    atomic_fetch_sub_explicit(&l->load_incoming, 1, memory_order_relaxed);
    c->moving = false;
    c->moved_ms = l->now_ms;
    /* turn numbers are the old loop's: its shares start afresh here (it was light) */
    c->share_turn = c->used_turn = c->share_out_turn = 0;
    c->share_reqs = 0;
    c->share_bytes = 0;
    c->has_mark = false;
    /* (hold_until_ns is kept: br_now_ns() is the same clock on every loop, and a quota's mute
     * still in force is honoured here, share_check) */
    br_conn__live_join(c, place_after(l, c));
    br_debug("peer=%s moved to loop %d", c->peer.name, l->id);
    br_conn__resume(c); /* (a stopping loop answers what it kept, then closes it: stop_idle) */
}

/* On the old loop's thread, once nothing of c is in flight: c leaves every list and count of
 * this loop and is posted to c->move_to, whose thread owns it from then on. */
void br_conn__move_out(struct br_conn *c)
{
    struct br_loop *from = c->loop, *to = c->move_to;
    assert(to && c->inflight == 0 && !c->recv_armed && c->send_ops == 0);
    /* (quiescent() held when it began, and nothing is handled while moving) */
    assert(!c->deferred && !c->bytes_wait.waiting && c->nresp == 0 && !c->out_head &&
           !c->heavy_counted && !c->closing);
    c->move_to = NULL;
    c->xfer->release(c); /* a splice pipe goes back to this loop's pool (the next response takes
                            one, or a buffer, on the new loop) */
    br_conn__live_leave(c);
    c->loop = to;
    atomic_fetch_add_explicit(&to->load_incoming, 1, memory_order_relaxed);
    struct br_stats *st = from->stats;
    if (br_loop_hand(to, &c->move_wait, move_in)) {
        br_stats_move(st); /* (c is the other loop's now: not touched again here) */
        return;
    }
    /* the broker is stopping: it stays */
    atomic_fetch_sub_explicit(&to->load_incoming, 1, memory_order_relaxed);
    c->loop = from;
    br_conn__live_join(c, from->conns_tail);
    c->moving = false;
    c->moved_ms = from->now_ms; /* (not tried again before the gap: br_conn_move_light) */
    br_conn__resume(c);
}

/* Starts the move: the recv is cancelled, and the connection leaves once its last completion
 * is in (br_conn_complete), or at once when nothing is in flight. */
void br_conn__move_begin(struct br_conn *c)
{
    c->moving = true;
    if (c->recv_armed && !c->recv_cancelling) {
        c->recv_cancelling = true;
        br_ring_cancel(&c->loop->ring, &c->recv_op, &c->cancel_op);
        c->inflight++;
    }
    if (c->inflight == 0)
        br_conn__move_out(c);
}

void br_conn_move_light(struct br_loop *loop, br_conn_pick_fn pick, int64_t gap_ms)
{
    for (struct br_conn *c = loop->conns, *next; c; c = next) {
        next = c->next; /* (c may leave the list: br_conn__move_out) */
        if (c->moving)
            continue; /* a move under way goes on to the loop it chose */
        c->move_to = NULL;
        if (!pick || c->heavy_counted || (c->moved_ms && loop->now_ms - c->moved_ms < gap_ms))
            continue;
        c->move_to = pick(loop, &loop->move_cursor);
        if (!c->move_to)
            continue;
        if (br_conn__quiescent(c))
            br_conn__move_begin(c);
    }
}
