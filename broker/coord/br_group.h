/*
 * br_group — the consumer-group coordinator: Kafka's classic group protocol (JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup) as a state machine, with this single broker the
 * coordinator of every group. Wire codecs and sockets live elsewhere (br_api_group.c);
 * this module sees decoded requests and hands results to waiters.
 *
 * Contract
 * - One struct br_groups per server holds every group behind one mutex; every function here
 *   is thread-safe (loop threads of different connections of one group call in at once).
 * - Group states: Empty -> PreparingRebalance -> CompletingRebalance -> Stable, back to
 *   PreparingRebalance on any membership change, to Empty when the last member goes. An
 *   Empty group keeps its generation until it is evicted to make room for a new group.
 * - JoinGroup and SyncGroup may have to wait (for the other members, for the leader's
 *   assignments). The caller passes a struct br_group_waiter it owns; the module calls
 *   waiter->deliver exactly once, either before br_group_join / br_group_sync returns or
 *   later from another thread (another member's request, the timer, br_groups_stop). The
 *   result passed to deliver is valid only during that call (it points into group state);
 *   deliver runs with the group mutex held and must not call back into this module. The
 *   waiter must stay valid until deliver has run; a waiter is never cancelled (a client
 *   whose connection closed is answered into the void, as Kafka does).
 * - KIP-394 (JoinGroup v4+, req->require_known_member_id): a JoinGroup without a member id is
 *   answered at once with MEMBER_ID_REQUIRED and a generated id, which the group keeps as
 *   pending (not a member: no metadata, no say in a rebalance, never waited for) until the
 *   client joins with it or the session timeout of that first JoinGroup passes. So a client
 *   that drops its first JoinGroup's answer leaves no member behind, only a pending id that
 *   expires; with older versions a JoinGroup without an id is a member at once, as in Kafka.
 * - Static membership (KIP-345, as Kafka 2.3+): a member that joins with a group_instance_id
 *   is a member at once (no MEMBER_ID_REQUIRED) and keeps its instance id. A JoinGroup with a
 *   known instance id and no member id (the instance restarted) gets a new member id, which
 *   replaces the old one: in Stable with the same protocols, no rebalance (it is answered with
 *   the current generation and syncs to its old assignment; the leader id returned is the old
 *   one, so a restarted leader does not assign); with other protocols, or in
 *   CompletingRebalance, a rebalance. The old member id is fenced: JoinGroup, SyncGroup,
 *   Heartbeat and LeaveGroup naming the instance with another member id get
 *   FENCED_INSTANCE_ID. A static member leaves by LeaveGroup or when its session expires.
 * - Timers (initial rebalance delay, rebalance timeout, pending SyncGroup, session expiry)
 *   fire when br_groups_tick() runs with the clock past them. br_groups_timer_start() runs a
 *   thread that sleeps until the earliest deadline and ticks; tests tick by hand with an
 *   injected clock instead.
 * - Limits: at most max_groups groups (Empty ones are evicted first), max_size members per
 *   group (GROUP_MAX_SIZE_REACHED) and max_size pending ids (the oldest is forgotten to make
 *   room), max_member_bytes of protocol metadata per member and of assignment per member and
 *   at most BR_GROUP_PROTOCOLS_MAX protocols per member (INVALID_REQUEST), max_total_bytes
 *   for the metadata, assignments and bookkeeping of all members and pending ids of all
 *   groups together (BR_GROUP_MEMBER_OVERHEAD, BR_GROUP_PROTOCOL_OVERHEAD,
 *   BR_GROUP_PENDING_OVERHEAD; COORDINATOR_NOT_AVAILABLE: the client retries later), ids of
 *   at most BR_GROUP_ID_MAX bytes.
 * - Membership survives a coordinator's move (a cluster, docs/cluster.md M4), as in Kafka: the
 *   store hook (br_groups_set_store) is given a snapshot of a group each time it becomes Stable
 *   (the leader's assignments stored, or a static member's new id in Stable) and each time
 *   it becomes Empty; the caller writes it to __consumer_offsets (GroupMetadataValue,
 *   br_cotopic.h). A new coordinator replays the snapshots (br_groups_restore): the group is
 *   Stable (or Empty) at that generation with those members, protocol, leader and
 *   assignments, each member's session counted from the restore, so members that heartbeat
 *   in time go on without a rebalance. A snapshot is not stored when its value would exceed
 *   the caller's record limit (br_cotopic.h): those members rejoin after a move. Best effort:
 * SyncGroup does not wait for the snapshot's replication, so a coordinator lost right after a
 * rebalance may hand over an older generation, whose members are then told ILLEGAL_GENERATION /
 * UNKNOWN_MEMBER_ID and rejoin (a rebalance, nothing lost).
 * - Errors: internal calls return 0 / -errno; results carry Kafka error codes (kp_api.h).
 */
#ifndef SPLICELOG_BR_GROUP_H
#define SPLICELOG_BR_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "kp_buf.h"

#define BR_GROUP_ID_MAX        255 /* bytes of a group id, member id, protocol name or type */
#define BR_GROUP_PROTOCOLS_MAX 64  /* protocols one member may offer (clients offer 1-3) */
/* Bytes charged to max_total_bytes for a member's bookkeeping (its struct, id, slots) and for
 * each protocol it offers, besides the name and metadata bytes themselves. */
#define BR_GROUP_MEMBER_OVERHEAD 512
/* Bytes of a member's client.id and peer address kept for DescribeGroups. */
#define BR_GROUP_CLIENT_KEEP       64
#define BR_GROUP_HOST_KEEP         64
#define BR_GROUP_PROTOCOL_OVERHEAD 96
/* Bytes charged for a pending member id (KIP-394): its entry and its copy. */
#define BR_GROUP_PENDING_OVERHEAD 192

struct br_groups;

struct br_groups_cfg {
    int64_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms */
    int32_t min_session_timeout_ms;     /* group.min.session.timeout.ms */
    int32_t max_session_timeout_ms;     /* group.max.session.timeout.ms */
    int32_t max_size;                   /* group.max.size: members per group */
    int32_t max_groups;                 /* groups held in memory */
    int32_t max_member_bytes;           /* metadata (all protocols) / assignment per member */
    int64_t max_total_bytes;            /* members of all groups together (see the contract) */
};

/* Monotonic milliseconds; NULL in br_groups_new means br_now_ms(). */
typedef int64_t (*br_group_clock_fn)(void *arg);

int br_groups_new(const struct br_groups_cfg *cfg, br_group_clock_fn clock, void *clock_arg,
                  struct br_groups **out);
/* Stops the timer thread (if started) and frees everything. Every waiter must have been
 * delivered (br_groups_stop does that). NULL is a no-op. */
void br_groups_free(struct br_groups *g);
/* Starts the timer thread; 0 or -errno. */
int br_groups_timer_start(struct br_groups *g);
/* Shutdown: delivers every parked waiter with NOT_COORDINATOR and answers every later
 * JoinGroup / SyncGroup at once with the same (clients move to another coordinator). */
void br_groups_stop(struct br_groups *g);
/* A cluster's coordinator stops coordinating some groups (docs/cluster.md, M4): every group
 * for which match(arg, id, len) is true is forgotten, its parked JoinGroup / SyncGroup
 * waiters delivered NOT_COORDINATOR first (the members find the new coordinator and join
 * there). match runs with the mutex held. Returns how many groups were dropped. */
int br_groups_unload(struct br_groups *g, bool (*match)(void *arg, const char *id, size_t len),
                     void *arg);
/* Fires every timer due at the clock's now. Returns the next deadline (INT64_MAX: none). */
int64_t br_groups_tick(struct br_groups *g);

/* ---- requests ---------------------------------------------------------------------------- */

struct br_group_protocol {
    struct kp_str name;
    struct kp_bytes metadata;
};

struct br_group_join_req {
    struct kp_str group_id;
    struct kp_str member_id;         /* empty: a new member */
    struct kp_str group_instance_id; /* len <= 0: a dynamic member (KIP-345: static) */
    struct kp_str client_id;         /* the request header's; prefix of a generated member id */
    const char *client_host;         /* the peer's address (DescribeGroups); NULL: unknown */
    /* JoinGroup v4+ (KIP-394): a new member gets MEMBER_ID_REQUIRED and an id to join with */
    bool require_known_member_id;
    struct kp_str protocol_type;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* <= 0: the session timeout (JoinGroup v0) */
    int32_t n_protocols;
    const struct br_group_protocol *protocols;
};

struct br_group_member_view {
    struct kp_str member_id;
    struct kp_str group_instance_id; /* KP_STR_NULL for a dynamic member */
    struct kp_bytes metadata;        /* of the chosen protocol */
};

struct br_group_join_result {
    int16_t error_code;
    int32_t generation_id; /* -1 on error */
    struct kp_str protocol_name;
    struct kp_str leader_id;
    struct kp_str member_id; /* the member's id (generated for a new member) */
    int32_t n_members;       /* the leader only: every member and its metadata */
    const struct br_group_member_view *members;
};

struct br_group_sync_result {
    int16_t error_code;
    struct kp_bytes assignment; /* empty (len 0) on error or when none was given */
};

struct br_group_waiter {
    /* Exactly one of these is called, once, with the group mutex held. */
    void (*join_done)(struct br_group_waiter *w, const struct br_group_join_result *res);
    void (*sync_done)(struct br_group_waiter *w, const struct br_group_sync_result *res);
    void *arg;
};

/* JoinGroup: w->join_done is called now or later (see the contract). */
void br_group_join(struct br_groups *g, const struct br_group_join_req *req,
                   struct br_group_waiter *w);

struct br_group_assignment {
    struct kp_str member_id;
    struct kp_bytes assignment;
};

struct br_group_sync_req {
    struct kp_str group_id;
    int32_t generation_id;
    struct kp_str member_id;
    int32_t n_assignments; /* the leader's */
    const struct br_group_assignment *assignments;
    struct kp_str group_instance_id; /* len <= 0: none (last: positional initializers) */
};

/* SyncGroup: w->sync_done is called now or later. */
void br_group_sync(struct br_groups *g, const struct br_group_sync_req *req,
                   struct br_group_waiter *w);

/* Heartbeat: a Kafka error code (0: the member's generation, CompletingRebalance or Stable). */
int16_t br_group_heartbeat(struct br_groups *g, struct kp_str group_id, int32_t generation_id,
                           struct kp_str member_id);
/* The same with the request's group_instance_id (len <= 0: none): FENCED_INSTANCE_ID when the
 * instance is a member under another member id. */
int16_t br_group_heartbeat_inst(struct br_groups *g, struct kp_str group_id, int32_t generation_id,
                                struct kp_str member_id, struct kp_str instance_id);

/* LeaveGroup (v0-1, one member, or a pending member id, which is forgotten): a Kafka error
 * code. */
int16_t br_group_leave(struct br_groups *g, struct kp_str group_id, struct kp_str member_id);
/* LeaveGroup v3+ for one listed member: by instance id when it has one (UNKNOWN_MEMBER_ID for
 * an unknown instance, FENCED_INSTANCE_ID when member_id is given and is not the instance's),
 * else by member id. */
int16_t br_group_leave_inst(struct br_groups *g, struct kp_str group_id, struct kp_str member_id,
                            struct kp_str instance_id);

/* Kafka error code for an OffsetCommit by (member_id, generation_id) of group_id:
 * 0 when it may commit; generation_id -1 with empty member_id (a "simple" consumer
 * committing without joining) is allowed only while the group has no members.
 * ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS otherwise. Thread-safe. */
int16_t br_group_commit_check(struct br_groups *g, struct kp_str group_id, int32_t generation_id,
                              struct kp_str member_id);
/* The same with the request's group_instance_id (OffsetCommit v7+, TxnOffsetCommit v3+;
 * len <= 0: none): FENCED_INSTANCE_ID first when the instance is a member under another id. */
int16_t br_group_commit_check_inst(struct br_groups *g, struct kp_str group_id,
                                   int32_t generation_id, struct kp_str member_id,
                                   struct kp_str instance_id);

/* ---- introspection (tests, logs) ---------------------------------------------------------- */

enum br_group_state {
    BR_GROUP_NONE = 0, /* no such group */
    BR_GROUP_EMPTY,
    BR_GROUP_PREPARING_REBALANCE,
    BR_GROUP_COMPLETING_REBALANCE,
    BR_GROUP_STABLE,
};

struct br_group_info {
    enum br_group_state state;
    int32_t generation_id;
    int32_t n_members;
    int32_t n_pending; /* member ids handed out with MEMBER_ID_REQUIRED, not yet used */
};

void br_group_describe(struct br_groups *g, struct kp_str group_id, struct br_group_info *out);
const char *br_group_state_name(enum br_group_state s);

/* ---- administration: ListGroups, DescribeGroups, DeleteGroups ---------------------------- */

struct br_group_summary {
    struct kp_str group_id;
    struct kp_str protocol_type; /* "" before the first member joined */
    enum br_group_state state;
};

/* Calls fn for every group the coordinator holds. fn runs with the mutex held (it must not
 * call back into this module); the views are valid during the call only. */
void br_groups_foreach(struct br_groups *g, void (*fn)(void *arg, const struct br_group_summary *s),
                       void *arg);

struct br_group_member_desc {
    struct kp_str member_id, client_id, client_host;
    struct kp_str group_instance_id; /* KP_STR_NULL for a dynamic member */
    struct kp_bytes metadata;        /* of the group's protocol (empty before one is chosen) */
    struct kp_bytes assignment;      /* empty until the leader's SyncGroup */
};

struct br_group_desc {
    enum br_group_state state; /* BR_GROUP_NONE: no such group */
    struct kp_str protocol_type, protocol_name;
    int32_t n_members;
    const struct br_group_member_desc *members;
};

/* Calls fn once with the group's description, as br_groups_foreach does (views valid during
 * the call). -ENOMEM (fn not called) when the member list cannot be built. */
int br_group_describe_members(struct br_groups *g, struct kp_str group_id,
                              void (*fn)(void *arg, const struct br_group_desc *d), void *arg);

/* ---- membership kept elsewhere (a cluster's __consumer_offsets) ---------------------------- */

struct br_group_snap_member {
    struct kp_str member_id;
    struct kp_str group_instance_id; /* len <= 0: a dynamic member */
    struct kp_str client_id, client_host;
    int32_t rebalance_timeout_ms, session_timeout_ms;
    struct kp_bytes subscription; /* the metadata of the group's protocol */
    struct kp_bytes assignment;   /* empty: none */
};

/* A group as Kafka's GroupMetadataValue holds it: Stable with members, or Empty (no members,
 * protocol and leader len < 0: null). Views, valid for the call they are passed to. */
struct br_group_snap {
    struct kp_str group_id;
    struct kp_str protocol_type;
    int32_t generation;
    struct kp_str protocol_name; /* len < 0: null */
    struct kp_str leader_id;     /* len < 0: null */
    int64_t state_ms;            /* currentStateTimestamp (wall clock ms), -1: unknown */
    int32_t n_members;
    const struct br_group_snap_member *members;
};

/* Called with the coordinator's mutex held (see the contract): it must not call back into this
 * module, nor block for long (an append to a local log is fine). */
typedef void (*br_group_store_fn)(void *arg, const struct br_group_snap *s);
/* Sets (or with NULL clears) the store hook. Before clients are let in. */
void br_groups_set_store(struct br_groups *g, br_group_store_fn fn, void *arg);
/* Makes group s->group_id what s says (a new coordinator replaying __consumer_offsets, in log
 * order: a later snapshot replaces an earlier one, whatever its generation, e.g. a static
 * member's new id at the same generation): the group is created or replaced (parked JoinGroup
 * / SyncGroup of the replaced one answered NOT_COORDINATOR). The caller drops the partition's
 * groups before a load. Members' sessions count from now. 0; -EINVAL (a
 * snapshot this coordinator would not have made: ids or names over BR_GROUP_ID_MAX, more
 * than max_size members, a subscription or assignment over max_member_bytes, a Stable
 * snapshot without a protocol, a timeout <= 0); -ENOSPC (over max_total_bytes, or no room
 * among max_groups); -ENOMEM; -ESHUTDOWN after br_groups_stop. The store hook is not called. */
int br_groups_restore(struct br_groups *g, const struct br_group_snap *s);
/* Forgets one group (a load replaying its deletion): parked JoinGroup / SyncGroup answered
 * NOT_COORDINATOR. Whether it was held. */
bool br_groups_forget(struct br_groups *g, struct kp_str group_id);

/* DeleteGroups: forgets a group without members: KP_ERR_NONE, NON_EMPTY_GROUP (members, or a
 * rebalance under way), GROUP_ID_NOT_FOUND (the coordinator holds no such group). Its
 * committed offsets are the offsets store's: the caller removes them. */
int16_t br_group_delete(struct br_groups *g, struct kp_str group_id);

#endif
