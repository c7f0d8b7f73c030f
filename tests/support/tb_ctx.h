/*
 * tb_ctx — a request context (br_ctx.h) without a loop or a socket: a host for br_dispatch in
 * unit tests (tests/unit/test_br_dispatch.c) and in the broker fuzz target
 * (tests/fuzz/fuzz_broker.c). It owns a real store, committed offsets, a group coordinator
 * and a transaction coordinator (no timer thread: tb_host_tick) in a temporary directory, a
 * hand-driven clock, and records what the handlers ask of their host: parked responses, posts,
 * notifications, admin jobs, ready and failed responses.
 *
 * Contract
 * - One thread. Nothing runs by itself: tb_host_turn() does what a loop turn would (admin jobs
 *   run and are posted, posted responses' wakes run, then the wakes of parked responses whose
 *   event was notified, then the due deadlines) and returns how many wakes ran.
 * - Responses come from tb_host_call() and are freed by tb_host_free_resp() (which first
 *   forgets them: a parked response must be finished first, tb_host_stop() answers long polls).
 * - Errors: 0 / -errno; tb_host_open() logs why it failed to stderr.
 */
#ifndef SPLICELOG_TB_CTX_H
#define SPLICELOG_TB_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "br_config.h"
#include "br_ctx.h"
#include "br_resp.h"

#define TB_HOST_SLOTS 64

enum tb_resp_state {
    TB_RESP_UNKNOWN = 0,
    TB_RESP_PARKED,
    TB_RESP_READY,  /* br_dispatch returned BR_REPLY unparked, or ready() was called */
    TB_RESP_FAILED, /* fail() was called: the connection would close */
};

struct tb_slot {
    struct br_resp *r;
    enum tb_resp_state state;
    enum br_wait_on on;
    int64_t deadline;
    br_wake_fn wake;
    void *arg;
    bool posted;
    char why[128]; /* fail()'s reason */
};

struct tb_host {
    struct br_ctx x;
    struct br_config cfg;
    char dir[512];
    struct br_peer peer;
    int64_t now_ms;  /* the monotonic clock handlers see (and the group coordinator) */
    int64_t wall_ms; /* record timestamps */
    bool stopping;
    unsigned events; /* 1 << enum br_wait_on, notified and not yet turned */
    int notified[BR_WAIT__N];
    struct tb_slot slots[TB_HOST_SLOTS];
    struct br_job *jobs;      /* admin jobs not yet run, newest first */
    struct st_txnlog *txnlog; /* the transaction coordinator's log (x.txns runs on it) */
};

/* Opens a host on a fresh temporary directory; kv are extra "key=value" settings (NULL-ended,
 * may be NULL). 0 or -errno. */
int tb_host_open(struct tb_host *h, const char *const *kv);
/* Closes the store and the rest, removes the directory. */
void tb_host_close(struct tb_host *h);
/* Dispatches one frame given with its 4-byte size prefix (copied: handlers may write into it):
 * the rc of br_dispatch, *out the response (freed by tb_host_free_resp, also on error; NULL,
 * with -ENOMEM, when every slot of the host is taken). */
int tb_host_call(struct tb_host *h, const uint8_t *frame, size_t len, struct br_resp **out);
/* Runs what a loop turn would (see the contract); the number of wakes run. */
int tb_host_turn(struct tb_host *h);
/* The broker is stopping: long polls are woken to answer (then tb_host_turn). */
void tb_host_stop(struct tb_host *h);
/* Fires the group coordinator's timers due at now_ms (its answers are posted: then turn). */
void tb_host_tick(struct tb_host *h);
/* Responses parked and not yet woken for good. */
int tb_host_parked(const struct tb_host *h);
enum tb_resp_state tb_host_state(const struct tb_host *h, const struct br_resp *r);
void tb_host_free_resp(struct tb_host *h, struct br_resp *r);
/* The whole response frame, memory and file pieces in order, into a malloc'd buffer: its length,
 * or -errno. */
ssize_t tb_resp_flatten(const struct br_resp *r, uint8_t **out);

#endif
