/*
 * br_hwait — parked Produce / WriteTxnMarkers answers (br_hwait.h).
 */
#include "br_hwait.h"

#include <errno.h>

#include "br_api.h"
#include "br_clu.h"
#include "br_clu_repl.h"

bool br_hwait_resolve(struct br_ctx *x, struct br_resp *r, enum br_wake why,
                      br_hwait_answer_fn answer)
{
    struct br_repl *repl = x->clu ? br_clu_repl(x->clu) : NULL;
    bool left = false;
    for (int i = 0; i < r->ndwaits; i++) {
        struct br_durable_wait *d = &r->dwaits[i];
        if (d->done)
            continue;
        if (!d->hw) {
            d->done = st_log_durable_offset(d->log) >= d->need || why == BR_WAKE_DEADLINE;
        } else {
            int32_t isr = repl ? br_repl_isr_size(repl, d->log) : -ENOENT;
            if (isr < 0) {
                d->done = true;
                answer(r, d->slot, KP_ERR_NOT_LEADER_OR_FOLLOWER);
            } else if (st_log_high_watermark(d->log) >= d->need) {
                d->done = true;
                if (isr < d->min_isr)
                    answer(r, d->slot, KP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
            } else if (why == BR_WAKE_DEADLINE) {
                d->done = true;
                answer(r, d->slot, KP_ERR_REQUEST_TIMED_OUT);
            }
        }
        left |= !d->done;
    }
    return !left;
}

void br_hwait_drop(struct br_resp *r)
{
    for (int i = 0; i < r->ndwaits; i++)
        st_log_put(r->dwaits[i].log);
    r->ndwaits = 0;
}

int br_hwait_park(struct br_ctx *x, struct br_resp *r, int64_t deadline_ms, br_wake_fn wake,
                  br_hwait_answer_fn answer)
{
    int rc = br_park(x, r, BR_WAIT_SYNC, deadline_ms, wake, x);
    if (rc < 0) {
        br_hwait_drop(r);
        r->hstate = NULL;
        return rc;
    }
    if (!br_hwait_resolve(x, r, BR_WAKE_EVENT, answer))
        return 0;
    br_unpark(x, r);
    return 1;
}

void br_hwait_wake(struct br_ctx *x, struct br_resp *r, enum br_wake why, br_hwait_answer_fn answer,
                   br_hwait_complete_fn complete, const char *what)
{
    if (!br_hwait_resolve(x, r, why, answer))
        return;
    if (complete(r) < 0) {
        br_fail(x, r, what);
        return;
    }
    br_ready(x, r);
}
