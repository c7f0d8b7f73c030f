/*
 * br_wait — the entry by which something is parked on a loop until an event or a deadline
 * (br_loop.h has the rules and the functions). A data type only, shared by the loop, which
 * keeps the entries, and the response slots (br_resp.h), which embed one.
 */
#ifndef SPLICELOG_BR_WAIT_H
#define SPLICELOG_BR_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "br_timer.h"

enum br_wait_on {
    BR_WAIT_APPEND = 0, /* records appended to a log (long-polling fetches) */
    BR_WAIT_SYNC,       /* a log fdatasynced (produce waiting for durability) */
    BR_WAIT_BYTES,      /* queued.max.request.bytes given back (connections) */
    BR_WAIT_POST,       /* this very wait posted by another thread (admin jobs, groups) */
    BR_WAIT_TIME,       /* only its deadline (a failed login's late answer) */
    BR_WAIT__N,
};

enum br_wake {
    BR_WAKE_EVENT = 0, /* its event happened (APPEND, SYNC, BYTES: maybe; re-check) */
    BR_WAKE_DEADLINE,  /* its deadline passed (it is off the heap) */
    BR_WAKE_STOP,      /* the broker is stopping (APPEND waits) */
};

struct br_wait;
typedef void (*br_wait_fn)(struct br_wait *w, enum br_wake why);

struct br_wait {
    struct br_timer timer;       /* on the loop's heap while it has a deadline */
    struct br_wait *prev, *next; /* the loop's list of its event, oldest first; POST: the
                                    posted queue once posted */
    br_wait_fn wake;
    uint8_t on;   /* enum br_wait_on */
    bool waiting; /* parked: between br_loop_wait and unwait / its post */
};

struct br_wait_list {
    struct br_wait *head, *tail;
};

#endif
