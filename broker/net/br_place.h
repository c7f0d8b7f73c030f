/*
 * br_place — which loop thread a new connection lives on (connection.placement).
 *
 * Every loop keeps its own SO_REUSEPORT listening socket per listener (br_listen.h), so the
 * kernel's hash of the 4-tuple decides which loop accepts a connection. With placement=hash
 * that loop keeps it. With placement=load (the default) the accepting loop chooses the
 * connection's home among the loops that are up and not stopping: the one with the fewest
 * heavy connections (a connection whose byte share of a turn ran out in the last second,
 * br_conn.h), then the fewest connections (live ones plus those handed to it and not yet
 * taken up), then the accepting loop itself. A connection whose home is another loop is handed
 * over before anything is armed or counted on it: a small heap-allocated handoff (the fd and
 * the listener) is posted to the home loop (br_loop_hand), whose thread runs
 * br_conn_accepted() for it: admission (max.connections, per-ip) is counted once, there. A
 * handoff the home loop takes while stopping closes the fd (as an accept would), and one that
 * cannot be posted (the broker is stopping) stays on the accepting loop.
 *
 * Load that comes later: a client that turns greedy after light ones connected to its loop.
 * Once a second (br_place_tick) a loop with a heavy connection, when another loop has none,
 * marks its light connections to move there (spread round robin over the heavy-free loops,
 * one connection to each in turn); each moves at its next quiescent point (between two requests,
 * nothing queued or in flight; br_conn.h says exactly when, and which connections never move: TLS,
 * a SASL login not done). A connection moves at most once per MOVE_GAP_MS (5 s): no ping-pong.
 * Heavy connections never move.
 *
 * What it cannot do: split the load of one greedy client, or of more greedy clients than
 * loops; see load before it shows (a connection is heavy only once its byte share has run
 * out); or keep two loops that accept (or move) at the same instant from reading each other's
 * counts before either has taken its new connection. The move of a connection that always
 * has a request pending (a pipelining client) waits until it has none.
 *
 * Contract
 * - br_place_accepted() runs on the accepting loop's thread, instead of br_conn_accepted().
 * - The loads it reads are the other loops' atomics (br_loop.h, load_*), read relaxed.
 * - No handoff is lost: every handed fd is either taken up by br_conn_accepted() on its home
 *   loop or closed there (br_loop_exit runs every post); the handoff's memory is freed there.
 * - A moving connection is in no loop's lists while in transit: it is a posted wait of its
 *   new loop (br_loop_hand), taken up there (a stopping loop answers what it kept, then closes it).
 */
#ifndef SPLICELOG_BR_PLACE_H
#define SPLICELOG_BR_PLACE_H

#include "br_listen.h"
#include "br_loop.h"

/* The home of a new connection accepted on self (self itself when no other loop is better). */
struct br_loop *br_place_home(struct br_loop *self);
/* Accept completion: places the new socket fd (hands it over, or br_conn_accepted here). */
void br_place_accepted(struct br_loop *loop, struct br_accept *acc, int fd);
/* Loop, once a second: while this loop has a heavy connection and another loop has none, its
 * light connections move there (br_conn_move_light), each at most once per MOVE_GAP_MS. */
void br_place_tick(struct br_loop *loop);

#endif
