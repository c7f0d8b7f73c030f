/*
 * br_hwait — a response parked until what it appended is durable or, on a replicated partition
 * this broker leads, until the high watermark passes it (acks=all). Shared by Produce
 * (br_api_produce.c) and WriteTxnMarkers (br_api_markers.c).
 *
 * Contract: the handler appends, adds its waits to r (br_resp_add_dwait, br_resp_add_hwait with
 * the slot of the partition's answer), keeps its answer in r->hstate, then calls br_hwait_park.
 * An answer that changes while waiting goes through the handler's br_hwait_answer_fn (r->hstate
 * is then still the handler's). The log references of the waits are the response's until
 * br_hwait_drop. Event-loop thread only (br_ctx.h); allocates nothing.
 */
#ifndef BR_HWAIT_H
#define BR_HWAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "br_ctx.h"
#include "br_resp.h"

/* Sets the error of the partition answered at slot (an index the handler gave the wait). */
typedef void (*br_hwait_answer_fn)(struct br_resp *r, int32_t slot, int16_t err);
/* Every wait done: drops the waits (br_hwait_drop), clears r->hstate and encodes the final
 * response if needed. 0 or -errno. */
typedef int (*br_hwait_complete_fn)(struct br_resp *r);

/*
 * Marks done what r waits on and can be answered now: a durable offset reached; a high
 * watermark passed (NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR is then smaller than
 * min.insync.replicas; NOT_LEADER_OR_FOLLOWER when this broker stopped leading); at the
 * deadline every wait (REQUEST_TIMED_OUT for a high watermark not reached). true when none
 * is left.
 */
bool br_hwait_resolve(struct br_ctx *x, struct br_resp *r, enum br_wake why,
                      br_hwait_answer_fn answer);
/* Releases the log references of r's waits; r then waits on nothing. */
void br_hwait_drop(struct br_resp *r);
/*
 * Parks r (BR_WAIT_SYNC, until deadline_ms) with wake, then resolves at once, so that a sync
 * or a high watermark moving right now is either seen here or wakes r (br_ctx.h). 1: nothing
 * left, r unparked (the caller completes it now); 0: parked; -errno: not parked, the waits
 * dropped and r->hstate cleared.
 */
int br_hwait_park(struct br_ctx *x, struct br_resp *r, int64_t deadline_ms, br_wake_fn wake,
                  br_hwait_answer_fn answer);
/* The body of a parked response's wake function: resolves; once nothing is left completes r
 * and hands it over ready (br_fail with what when complete fails). */
void br_hwait_wake(struct br_ctx *x, struct br_resp *r, enum br_wake why, br_hwait_answer_fn answer,
                   br_hwait_complete_fn complete, const char *what);

#endif
