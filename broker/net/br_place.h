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
 * What it cannot do: see load that is not there yet. A connection is placed when it is
 * accepted; a client that becomes greedy later leaves the light connections that share its
 * loop where they are (they are not moved), and two loops accepting at the same instant read
 * each other's counts before either has taken its new connection.
 *
 * Contract
 * - br_place_accepted() runs on the accepting loop's thread, instead of br_conn_accepted().
 * - The loads it reads are the other loops' atomics (br_loop.h, load_*), read relaxed.
 * - No handoff is lost: every handed fd is either taken up by br_conn_accepted() on its home
 *   loop or closed there (br_loop_exit runs every post); the handoff's memory is freed there.
 * - Connections are never moved after that (the struct, its ring ops, its waits and its place
 *   in the loop's lists belong to that loop for good).
 */
#ifndef SPLICELOG_BR_PLACE_H
#define SPLICELOG_BR_PLACE_H

#include "br_listen.h"
#include "br_loop.h"

/* The home of a new connection accepted on self (self itself when no other loop is better). */
struct br_loop *br_place_home(struct br_loop *self);
/* Accept completion: places the new socket fd (hands it over, or br_conn_accepted here). */
void br_place_accepted(struct br_loop *loop, struct br_accept *acc, int fd);

#endif
