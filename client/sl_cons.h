/*
 * sl_cons.h — the consumer's internals shared by its files (not installed):
 *   sl_consumer.c  partitions, fetching, handing out records, events
 *   sl_group.c     group membership: coordinator, JoinGroup/SyncGroup/Heartbeat/LeaveGroup,
 *                  rebalances (eager and cooperative), the rebalance callback
 *   sl_commit.c    committed offsets: OffsetCommit (auto, sync, async), OffsetFetch (starting
 *                  positions, sl_consumer_committed)
 *   sl_assign.c    the leader's assignors (sl_assign.h)
 * Single-threaded like the rest (splicelog.h); internal calls return 0 / -errno.
 *
 * Where application callbacks run: only from the top of the public calls (sl_consumer_poll,
 * sl_consumer_close, ...), never from inside a response callback. Response callbacks change
 * state (a rebalance is needed, an assignment arrived) and the next call acts on it
 * (sl__group_tick), so a callback may itself call into the consumer (commit, seek).
 */
#ifndef SPLICELOG_SL_CONS_H
#define SPLICELOG_SL_CONS_H

#include "sl_int.h"

/*
 * Partition states. A group-assigned partition starts at NEED_COMMITTED (its committed offset
 * is asked for), a manually assigned one at ACTIVE or NEED_OFFSET; NEED_OFFSET (a logical start,
 * earliest/latest) is resolved with ListOffsets; PARKED waits for the application (seek).
 */
enum cp_state {
    CP_NEED_COMMITTED,
    CP_COMMITTED_ASKED,
    CP_NEED_OFFSET,
    CP_LISTING,
    CP_ACTIVE,
    CP_PARKED,
};

struct cpart {
    struct sl__topic *t;
    int32_t partition;
    enum cp_state st;
    bool assigned;
    bool by_group;     /* assigned by the group (subscribe), not by sl_consumer_assign */
    int64_t want;      /* logical start for NEED_OFFSET: SL_OFFSET_BEGINNING / END */
    int64_t pos;       /* next offset to hand out */
    int64_t fetch_pos; /* next offset to fetch */
    int32_t max_bytes; /* partition fetch size (grows for big batches) */
    int32_t need;      /* bytes of a first batch that did not fit the last ask (0: none) */
    uint32_t epoch;
    bool fetching;
    int32_t fetch_corr;
    uint32_t fetch_epoch;
    int32_t list_corr;
    int32_t committed_corr; /* the OffsetFetch asking for this partition's start */
    int64_t retry_at_ms;
    /* From the last fetch response: -1 while unknown. */
    int64_t high_watermark;
    int64_t log_start;
    int queued;          /* chunks of this partition in the queue (or being handed out) */
    int64_t eof_at;      /* offset at which _PARTITION_EOF was last reported (-1: none) */
    int64_t committed;   /* last offset known committed for the group (SL_OFFSET_INVALID) */
    int64_t commit_sent; /* last offset sent in a commit (auto commit skips unchanged ones) */
};

struct fbuf {
    uint8_t *buf; /* from sl__buf_get (or a big frame's own buffer): given back when unused */
    size_t cap;
    const uint8_t *body; /* the response body inside buf */
    int refs;
};

struct chunk {
    struct chunk *next;
    struct fbuf *fb;
    struct cpart *cp;
    uint32_t epoch;
    const uint8_t *p; /* complete batches */
    size_t len;
};

#define EVQ 64

struct sl__group;  /* sl_group.c */
struct sl__commit; /* sl_commit.c */

/* An async commit's result waiting for the offset commit callback (sl_commit.c). */
struct sl__commit_done {
    struct sl__commit_done *next;
    sl_err err;
    size_t n;
    sl_topic_partition parts[]; /* topics point at the consumer's topic names */
};

struct sl_consumer {
    struct sl__client cl;
    struct cpart **parts;
    int n_parts;
    int parts_cap;
    struct chunk *q_head, *q_tail;
    size_t q_bytes;
    /* Iteration state over the current chunk. */
    struct chunk *cur;
    size_t cur_off; /* next batch within cur */
    bool in_batch;
    const uint8_t *batch;
    struct kp_batch_hdr hdr;
    struct kp_record_iter it;
    /* Errors and events waiting to be returned (cp NULL: about the group, not a partition). */
    struct {
        struct cpart *cp;
        sl_err err;
        int64_t first, last; /* offsets the error is about, -1 when none */
    } ev[EVQ];
    int ev_head;
    int ev_n;
    int64_t last_io_us;
    /* Fetch request scratch (one topic entry per partition), reused. */
    struct kp_fetch_req_topic *fetch_topics;
    struct kp_fetch_req_partition *fetch_parts;
    int fetch_scratch_cap;
    /* The records of the compressed batch being handed out, decompressed (kept, grown). */
    uint8_t *dbuf;
    size_t dbuf_cap;
    /* Group membership and committed offsets (NULL without group.id). */
    struct sl__group *g;
    bool closed;
    int64_t last_poll_ms;       /* the application's last sl_consumer_poll (max.poll.interval.ms) */
    struct sl__commit *commits; /* commits queued or in flight (sl_commit.c) */
    struct sl__commit_done *commits_done, *commits_done_tail;
    /* Storage behind views handed to the application until its next call (committed()'s
     * metadata, assignment lists). */
    struct sl__bytes scratch;
};

/* ---- sl_consumer.c ----------------------------------------------------------------------- */

struct cpart *sl__cpart_find(const sl_consumer *c, const char *topic, size_t len, int32_t part);
/* The partition record (created unassigned on first use); NULL when out of memory. */
struct cpart *sl__cpart_get(sl_consumer *c, struct sl__topic *t, int32_t part);
/* Assigns cp starting at offset (>= 0, SL_OFFSET_BEGINNING/END, or SL_OFFSET_STORED: the
 * group's committed offset, else auto.offset.reset). */
void sl__cpart_start(sl_consumer *c, struct cpart *cp, int64_t offset);
/* Unassigns cp: its prefetched records are dropped, responses in flight ignored. */
void sl__cpart_stop(sl_consumer *c, struct cpart *cp);
/* Queues an error for sl_consumer_poll (cp NULL: not about one partition). */
void sl__cons_event(sl_consumer *c, struct cpart *cp, sl_err err, int64_t first, int64_t last);
/* One consumer I/O turn (send, poll up to timeout_ms, send). */
void sl__cons_turn(sl_consumer *c, int timeout_ms);

/* The start offset meaning "where the group committed" (internal to the consumer files). */
#define SL__OFFSET_STORED (-1000)

/* ---- sl_group.c -------------------------------------------------------------------------- */

int sl__group_new(sl_consumer *c);
void sl__group_free(sl_consumer *c);
/* From the top of every public call that polls: timers, pending rebalance work (callbacks,
 * commits), requests to send. */
void sl__group_tick(sl_consumer *c);
/* Sends what the group needs now (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, commits,
 * OffsetFetch): no application callback runs here (it is part of every I/O turn). */
void sl__group_send(sl_consumer *c);
/* The coordinator's connection once known (discovery is started otherwise); NULL meanwhile. */
struct sl__conn *sl__group_coordinator(sl_consumer *c);
/* The coordinator answered NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE or its connection
 * failed: look it up again. */
void sl__group_coordinator_lost(sl_consumer *c);
/* Member id and generation for commits: ("", -1) outside a group generation. */
void sl__group_identity(const sl_consumer *c, struct kp_str *member_id, int32_t *generation);
/* A commit answered ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / REBALANCE_IN_PROGRESS. */
void sl__group_commit_refused(sl_consumer *c, int16_t err);
bool sl__group_subscribed(const sl_consumer *c);
sl_err sl__group_subscribe(sl_consumer *c, const char *const *topics, size_t n);
/* Leaves the group: revokes (auto commit first, rebalance callback), LeaveGroup. */
sl_err sl__group_unsubscribe(sl_consumer *c, int timeout_ms);

/* ---- sl_commit.c ------------------------------------------------------------------------- */

/* Sends OffsetFetch for partitions waiting for their committed offset, and the commits queued
 * (coordinator known). */
void sl__commit_fetch_starts(sl_consumer *c);
void sl__commit_send(sl_consumer *c);
/* Frees what is left of the commits (the consumer is going away). */
void sl__commit_free(sl_consumer *c);
/* Commits the current position of every assigned partition (only_changed: skip those already
 * committed at that offset; parts_of_group: only group-assigned ones). sync waits up to
 * request.timeout.ms. SL_ERR__NO_OFFSET when there was nothing to commit. */
sl_err sl__commit_positions(sl_consumer *c, bool async, bool only_changed,
                            struct cpart *const *only, int n_only);
/* Runs the offset commit callback for async commits that completed. */
void sl__commit_serve(sl_consumer *c);
/* Waits (driving I/O) until no commit is in flight or timeout_ms passes. */
void sl__commit_drain(sl_consumer *c, int timeout_ms);

#endif
