/*
 * br_ctx — the request context: everything a Kafka API handler may see and do, and the one
 * entry into the API layer, br_dispatch(). Handlers never see a connection, a loop or the
 * server: what they need of them comes through here, so dispatch and every handler run the
 * same under a test harness or a fuzz target (no socket, no ring) as in the daemon.
 *
 * Contract
 * - One context per thread that dispatches (each loop thread; a test). The daemon fills it
 *   once (br_server.c); the state pointers are shared with the other threads, each behind its
 *   own locking (the store, the offsets store, the group coordinator); cfg is read-only.
 * - The host's operations (struct br_ctx_ops) are called on the dispatching thread, except
 *   post(), which any thread may call. A response given to park() belongs to its owner until
 *   the wake function runs (br_wait.h has the events and the wake reasons):
 *     park(r, on, deadline, wake, arg)  APPEND (an append anywhere: long-polling fetch), SYNC
 *         (an fdatasync: produce), or POST (post(r) from another thread: the group
 *         coordinator's answers). It counts as waiting at once, before the handler looks at
 *         its condition, so an event in between is not lost. 0 or -ENOMEM (nothing parked).
 *     unpark(r)    the handler answers at once after all (not for POST).
 *     ready(r)     a parked response is complete (from its wake).
 *     fail(r, why) a parked response cannot be answered: its connection closes.
 *     notify(on)   this thread caused on (records appended).
 *     admin(j)     parks j->r and runs j->run on the admin thread; j->done then runs here.
 *                  0 or -ENOMEM (nothing parked, nothing queued).
 *   If a call that takes a callback fails, the callback never runs (libuv's rule).
 * - br_dispatch() parses the request header of one whole frame (the bytes after the size
 *   prefix; Produce rewrites its batch in place, so they must be writable), picks the handler
 *   from KP_API_LIST (kp_api.h) and fills r: BR_REPLY (r is queued by the caller: ready, or
 *   parked), BR_NO_REPLY (acks=0 produce: r is given back unused) or -errno (the connection
 *   must close, as Kafka does: a header that does not parse, a key or version outside the
 *   advertised table, a body that does not decode). r->api_key/api_version/corr are set
 *   whenever a response is made. Handlers keep no pointer into the frame after returning;
 *   peer stays valid while its connection lives, which covers the handler and every wake
 *   function of its responses (a wake never runs once the connection has closed).
 * - ApiVersions at a version outside its range gets a v0 body with UNSUPPORTED_VERSION behind
 *   a v0 header, as Kafka does, so clients can fall back.
 */
#ifndef SPLICELOG_BR_CTX_H
#define SPLICELOG_BR_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "br_config.h"
#include "br_resp.h"
#include "st.h"

struct st_offsets;
struct br_groups;
struct br_coload;
struct br_txns;
struct br_stats;
struct br_auth;
struct br_clu;
struct br_dynconf;
struct br_ctx;

/* A handler's wake function: its parked response's event happened, its deadline passed, or
 * the broker is stopping (why); arg as given to park. */
typedef br_resp_wake_fn br_wake_fn;

/* Work for the admin thread; lives in its response's scratch memory. */
struct br_job {
    struct br_job *next; /* the admin queue's */
    struct br_ctx *x;    /* the context the job came from (done runs on its thread) */
    struct br_resp *r;
    /* admin thread: store calls; may encode j->r (the job's until done runs), never into the
     * context's arenas (they are its thread's) */
    void (*run)(struct br_job *j);
    void (*done)(struct br_job *j); /* dispatching thread: encode; ready() or fail() */
};

struct br_ctx_ops {
    int (*park)(struct br_ctx *x, struct br_resp *r, enum br_wait_on on, int64_t deadline_ms,
                br_wake_fn wake, void *arg);
    void (*unpark)(struct br_ctx *x, struct br_resp *r);
    void (*post)(struct br_ctx *x, struct br_resp *r); /* any thread */
    void (*ready)(struct br_ctx *x, struct br_resp *r);
    void (*fail)(struct br_ctx *x, struct br_resp *r, const char *why);
    void (*notify)(struct br_ctx *x, enum br_wait_on on);
    int (*admin)(struct br_ctx *x, struct br_job *j);
    int64_t (*now_ms)(struct br_ctx *x);  /* monotonic, for deadlines */
    int64_t (*wall_ms)(struct br_ctx *x); /* record and commit timestamps */
    bool (*stopping)(struct br_ctx *x);   /* the broker is shutting down */
};

struct br_ctx {
    const struct br_ctx_ops *ops;
    void *host; /* the ops' own (the loop in the daemon) */
    struct st_store *store;
    struct st_offsets *offsets; /* committed offsets (br_offsets.h); NULL: none */
    struct br_groups *groups;   /* the group coordinator (br_group.h) */
    struct br_coload *coload;   /* in a cluster: the groups coordinated here (br_coload.h);
                                   NULL: a single node, which coordinates every group */
    struct br_txns *txns;       /* the transaction coordinator (br_txn.h); NULL: none */
    struct br_stats *stats;     /* metrics hooks (br_stats.h); NULL: metrics off */
    const struct br_config *cfg;
    struct br_auth *auth;   /* security (broker/sec/br_auth.h): authorizer, quotas; NULL: none */
    struct br_clu *clu;     /* the cluster's view (broker/clu/br_clu.h); NULL: a single node */
    struct br_dynconf *dyn; /* dynamic broker configs (br_dynconf.h); NULL: read-only broker */

    /* Decode/encode arenas, reused by every request of this context (br_dispatch.c). */
    void *dec_mem;
    size_t dec_cap;
    void *enc_mem;
    size_t enc_cap;
    /* Produce's recompression into a topic's compression.type (br_rezip.h): made on first
     * use, freed by br_ctx_release. */
    struct br_rezip *rezip;
};

int br_dispatch(struct br_ctx *x, const struct br_peer *peer, uint8_t *frame, size_t len,
                struct br_resp *r);
/* Frees the context's arenas and buffers (once no request is in a handler). */
void br_ctx_release(struct br_ctx *x);

#endif
