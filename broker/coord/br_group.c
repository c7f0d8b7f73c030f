/*
 * br_group — the classic consumer-group state machine (see br_group.h).
 *
 * Follows Kafka's GroupCoordinator (2.x), with static membership (KIP-345) as br_group.h says:
 *
 *   Empty --join--> PreparingRebalance --all rejoined / timeout--> CompletingRebalance
 *         <--------- (last member gone: generation+1, Empty)             | leader's SyncGroup
 *   PreparingRebalance <--- member joins, leaves, expires, changes ---- Stable <--+
 *
 * - A rebalance starting from Empty waits group.initial.rebalance.delay.ms (extended by the
 *   same again, up to the rebalance timeout, while new members keep arriving), so a group of
 *   consumers starting together gets one generation instead of one per member.
 * - Otherwise the join phase ends when every known member has rejoined, or at the rebalance
 *   timeout (the largest of the members'), when those that did not rejoin are removed.
 * - Completing a join: generation + 1, the protocol with the most first-choice votes among
 *   those every member offered (ties: the leader's order), the leader kept or the first
 *   member, every parked JoinGroup answered (the leader with the member list).
 * - The leader's SyncGroup stores the assignments, makes the group Stable and answers every
 *   parked SyncGroup with its member's bytes. A member that has not sent its SyncGroup within
 *   the rebalance timeout of the join's end is removed (Kafka's pending-sync expiry), so a
 *   leader that never assigns cannot hold the group.
 * - KIP-394 (JoinGroup v4+): a JoinGroup without a member id is answered at once with
 *   MEMBER_ID_REQUIRED and a new id, which stays pending for the session timeout it asked
 *   for; a JoinGroup with a pending id adds the member as above. Kafka's join phase also
 *   waits for pending ids (GroupMetadata.hasAllMembersJoined), so a client that dropped the
 *   MEMBER_ID_REQUIRED answer holds the next rebalance until that session timeout; here a
 *   pending id is no member and nobody waits for it: when its client does come, it is a new
 *   member and starts the next rebalance, as any new member does.
 * - A member's session expires session_timeout_ms after its last heartbeat (JoinGroup,
 *   SyncGroup, Heartbeat - also in CompletingRebalance, as Kafka - and OffsetCommit count),
 *   unless it is waiting in JoinGroup or SyncGroup; an expired member is removed, which
 *   starts a rebalance. A closed connection removes nobody: clients reconnect and keep their
 *   member id.
 * - Heartbeat answers: UNKNOWN_MEMBER_ID, then ILLEGAL_GENERATION, then by state
 *   (PreparingRebalance: REBALANCE_IN_PROGRESS; CompletingRebalance and Stable: 0).
 * - Deadlines (join, pending sync, sessions) are found through a heap with one entry per
 *   group (br_timer.h), keyed by a lower bound of the group's earliest deadline: every
 *   change that makes a deadline earlier lowers the key (group_wake); heartbeats only move
 *   deadlines later and leave the key, which then costs one idle visit. A tick visits only
 *   the groups whose key is due.
 *
 * All state is behind g->lock. Waiters are delivered under it; the timer thread waits on
 * g->cond (CLOCK_MONOTONIC) under it, at most a second, and is signalled when a deadline
 * earlier than the one it sleeps towards appears.
 */
#include "br_group.h"
#include "br_group_int.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "br_clock.h"
#include "br_log.h"
#include "br_timer.h"
#include "kp_api.h"

#define BUCKETS_MIN    256 /* hash buckets at first; doubled when groups outnumber them 2:1 */
#define CLIENT_ID_KEEP 64  /* bytes of the client id kept in a generated member id */

/* The bookkeeping charged per member and per protocol covers what is allocated for them
 * (malloc's own overhead is ~16 bytes per block). */
_Static_assert(sizeof(struct br_group__member) + 16 + (CLIENT_ID_KEEP + 48 + 16) +
                       2 * (sizeof(struct br_group__member *) +
                            sizeof(struct br_group_member_view)) <=
                   BR_GROUP_MEMBER_OVERHEAD,
               "BR_GROUP_MEMBER_OVERHEAD");
_Static_assert(sizeof(struct br_group__proto) + 2 * (16 + 16) <= BR_GROUP_PROTOCOL_OVERHEAD,
               "BR_GROUP_PROTOCOL_OVERHEAD");
/* a pending id: its entry (the array may be twice as long as needed) and a generated id */
_Static_assert(2 * sizeof(struct br_group__pending) + (CLIENT_ID_KEEP + 48 + 16) <=
                   BR_GROUP_PENDING_OVERHEAD,
               "BR_GROUP_PENDING_OVERHEAD");

struct group {
    struct group *hnext; /* hash chain */
    uint32_t hash;
    /* without members: on the idle list (oldest first), the order of eviction */
    struct group *iprev, *inext;
    bool idle;
    /* in br_groups.timers: timer.key <= the group's earliest deadline (group_next_deadline) */
    struct br_timer timer;
    char *id;
    int32_t id_len;
    enum br_group_state state;
    int32_t generation;
    char protocol_type[BR_GROUP_ID_MAX]; /* of its members (bytes, protocol_type_len) */
    char protocol_name[BR_GROUP_ID_MAX]; /* chosen at the last completed join */
    int32_t protocol_type_len, protocol_name_len;
    struct br_group__member **members;
    struct br_group_member_view *views; /* scratch for the leader's answer, cap_members long */
    int32_t n_members, cap_members;
    struct br_group__member *leader;
    /* ids handed out with MEMBER_ID_REQUIRED, not yet joined with (each charged
     * BR_GROUP_PENDING_OVERHEAD in br_groups.bytes); at most cfg.max_size */
    struct br_group__pendings pending;
    /* PreparingRebalance */
    int64_t join_deadline;
    bool initial_delay;     /* in the initial delay of a rebalance from Empty */
    int64_t initial_left;   /* rebalance time left for extensions of the initial delay */
    bool new_member_joined; /* during the current initial delay */
    /* CompletingRebalance and Stable: members with pending_sync, removed at sync_deadline */
    int32_t n_pending_sync;
    int64_t sync_deadline;
};

struct br_groups {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* timer thread; CLOCK_MONOTONIC */
    struct br_groups_cfg cfg;
    br_group_clock_fn clock;
    void *clock_arg;
    struct group **buckets; /* nbuckets (a power of two) chains */
    uint32_t nbuckets;
    int32_t ngroups;
    struct group *idle_head, *idle_tail; /* groups without members, longest first */
    struct br_timers timers;             /* every group, by its earliest deadline */
    int64_t bytes; /* member metadata and assignments of every group, <= cfg.max_total_bytes */
    bool stopped;
    uint64_t id_seed, id_count;
    /* timer */
    pthread_t thread;
    bool thread_running, thread_stop;
    int64_t timer_target; /* what the timer thread sleeps towards (INT64_MAX: nothing) */
    /* membership kept elsewhere (br_groups_set_store) */
    br_group_store_fn store_fn;
    void *store_arg;
};

static int64_t now_of(struct br_groups *g)
{
    return g->clock ? g->clock(g->clock_arg) : br_now_ms();
}

static uint32_t hash_of(const char *p, int32_t n)
{
    uint32_t h = 2166136261u;
    for (int32_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

static bool str_eq(const char *a, int32_t alen, struct kp_str b)
{
    return b.len == alen && (alen == 0 || memcmp(a, b.ptr, (size_t)alen) == 0);
}

static struct kp_str str_of(const char *p, int32_t n) { return (struct kp_str){p, n}; }

const char *br_group_state_name(enum br_group_state s)
{
    switch (s) {
    case BR_GROUP_EMPTY:
        return "Empty";
    case BR_GROUP_PREPARING_REBALANCE:
        return "PreparingRebalance";
    case BR_GROUP_COMPLETING_REBALANCE:
        return "CompletingRebalance";
    case BR_GROUP_STABLE:
        return "Stable";
    case BR_GROUP_NONE:
        break;
    }
    return "None";
}

/* ---- the timer --------------------------------------------------------------------------- */

/* A deadline was set: wake the timer thread when it sleeps towards a later one. */
static void deadline_set(struct br_groups *g, int64_t t)
{
    if (t < g->timer_target) {
        g->timer_target = t;
        pthread_cond_signal(&g->cond);
    }
}

/* One of grp's deadlines is now t: the heap and the timer thread learn of it. */
static void group_wake(struct br_groups *g, struct group *grp, int64_t t)
{
    if (t < grp->timer.key)
        br_timers_set(&g->timers, &grp->timer, t);
    deadline_set(g, t);
}

static struct group *group_of_timer(struct br_timer *e)
{
    return (struct group *)((char *)e - offsetof(struct group, timer));
}

/* ---- members and groups ------------------------------------------------------------------ */

/* Recounts m's bytes in g->bytes after its protocols or assignment changed: the member's
 * bookkeeping, its protocols' and its assignment, so that max_total_bytes bounds the memory
 * of every member of every group (the groups themselves are bounded by max_groups). */
static void account(struct br_groups *g, struct br_group__member *m)
{
    int64_t b = BR_GROUP_MEMBER_OVERHEAD + m->assignment_len + m->instance_id_len;
    for (int32_t i = 0; i < m->n_protocols; i++)
        b += BR_GROUP_PROTOCOL_OVERHEAD + m->protocols[i].name_len + m->protocols[i].meta_len;
    g->bytes += b - m->acct;
    m->acct = b;
}

static void member_free(struct br_group__member *m)
{
    if (!m)
        return;
    br_group__protocols_clear(m);
    free(m->assignment);
    free(m->id);
    free(m->instance_id);
    free(m);
}

static void deliver_join_error(struct br_group_waiter *w, int16_t err, struct kp_str member_id)
{
    struct br_group_join_result res = {
        .error_code = err,
        .generation_id = -1,
        .protocol_name = str_of("", 0),
        .leader_id = str_of("", 0),
        .member_id = member_id.len >= 0 ? member_id : str_of("", 0),
        .n_members = 0,
        .members = NULL,
    };
    w->join_done(w, &res);
}

static void deliver_sync(struct br_group_waiter *w, int16_t err, const uint8_t *p, int32_t n)
{
    struct br_group_sync_result res = {.error_code = err,
                                       .assignment = {p ? p : (const uint8_t *)"", p ? n : 0}};
    w->sync_done(w, &res);
}

static void idle_unlink(struct br_groups *g, struct group *grp)
{
    if (grp->iprev)
        grp->iprev->inext = grp->inext;
    else
        g->idle_head = grp->inext;
    if (grp->inext)
        grp->inext->iprev = grp->iprev;
    else
        g->idle_tail = grp->iprev;
    grp->iprev = grp->inext = NULL;
    grp->idle = false;
}

/* Keeps grp on the idle list (at the tail when it joins) exactly while it has no members. */
static void idle_update(struct br_groups *g, struct group *grp)
{
    if (grp->n_members > 0) {
        if (grp->idle)
            idle_unlink(g, grp);
        return;
    }
    if (grp->idle)
        return;
    grp->iprev = g->idle_tail;
    grp->inext = NULL;
    if (g->idle_tail)
        g->idle_tail->inext = grp;
    else
        g->idle_head = grp;
    g->idle_tail = grp;
    grp->idle = true;
}

/* Doubles the hash table when groups outnumber buckets 2:1 (lookups stay short). Without
 * memory for it, the table stays as it is: longer chains, still correct. */
static void buckets_grow(struct br_groups *g)
{
    if ((uint32_t)g->ngroups <= 2 * g->nbuckets || g->nbuckets >= (1u << 30))
        return;
    uint32_t n = g->nbuckets * 2;
    struct group **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return;
    for (uint32_t b = 0; b < g->nbuckets; b++)
        for (struct group *grp = g->buckets[b], *next; grp; grp = next) {
            next = grp->hnext;
            grp->hnext = nb[grp->hash & (n - 1)];
            nb[grp->hash & (n - 1)] = grp;
        }
    free(g->buckets);
    g->buckets = nb;
    g->nbuckets = n;
}

/* Answers m's parked SyncGroup. Its session counts again from now on: the timer learns of
 * its deadline. */
static void sync_answer(struct br_groups *g, struct group *grp, struct br_group__member *m,
                        int16_t err, const uint8_t *p, int32_t n)
{
    struct br_group_waiter *w = m->sync_w;
    m->sync_w = NULL;
    group_wake(g, grp, m->session_deadline);
    deliver_sync(w, err, p, n);
}

static struct group *group_find(struct br_groups *g, struct kp_str id)
{
    if (id.len <= 0)
        return NULL;
    uint32_t h = hash_of(id.ptr, id.len);
    for (struct group *grp = g->buckets[h & (g->nbuckets - 1)]; grp; grp = grp->hnext)
        if (grp->hash == h && str_eq(grp->id, grp->id_len, id))
            return grp;
    return NULL;
}

static void group_unlink_free(struct br_groups *g, struct group *grp)
{
    struct group **pp = &g->buckets[grp->hash & (g->nbuckets - 1)];
    while (*pp != grp)
        pp = &(*pp)->hnext;
    *pp = grp->hnext;
    for (int32_t i = 0; i < grp->n_members; i++) {
        g->bytes -= grp->members[i]->acct;
        member_free(grp->members[i]);
    }
    g->bytes -= (int64_t)grp->pending.n * BR_GROUP_PENDING_OVERHEAD;
    br_group__pending_free(&grp->pending);
    if (grp->idle)
        idle_unlink(g, grp);
    br_timers_remove(&g->timers, &grp->timer);
    free(grp->members);
    free(grp->views);
    free(grp->id);
    free(grp);
    g->ngroups--;
}

/* A new Empty group; at the cap, forgets the group that has had no members longest (its
 * committed offsets are the offsets store's, untouched). NULL: no room (or no memory). */
static struct group *group_create(struct br_groups *g, struct kp_str id)
{
    if (g->ngroups >= g->cfg.max_groups) {
        if (!g->idle_head)
            return NULL;
        br_info("group %s: forgotten (no members) to make room for group %s",
                br_log_str(g->idle_head->id, g->idle_head->id_len).s, BR_LOG_KSTR(id));
        group_unlink_free(g, g->idle_head);
    }
    struct group *grp = calloc(1, sizeof(*grp));
    if (!grp)
        return NULL;
    grp->id = malloc((size_t)id.len);
    if (!grp->id || br_timers_add(&g->timers, &grp->timer, INT64_MAX) < 0) {
        free(grp->id);
        free(grp);
        return NULL;
    }
    memcpy(grp->id, id.ptr, (size_t)id.len);
    grp->id_len = id.len;
    grp->hash = hash_of(id.ptr, id.len);
    grp->state = BR_GROUP_EMPTY;
    grp->generation = 0;
    grp->hnext = g->buckets[grp->hash & (g->nbuckets - 1)];
    g->buckets[grp->hash & (g->nbuckets - 1)] = grp;
    g->ngroups++;
    idle_update(g, grp);
    buckets_grow(g);
    return grp;
}

static struct br_group__member *member_find(struct group *grp, struct kp_str id)
{
    for (int32_t i = 0; i < grp->n_members; i++)
        if (str_eq(grp->members[i]->id, grp->members[i]->id_len, id))
            return grp->members[i];
    return NULL;
}

/* The static member of that group_instance_id (len <= 0: none), or NULL. */
static struct br_group__member *member_find_instance(struct group *grp, struct kp_str iid)
{
    if (!grp || iid.len <= 0)
        return NULL;
    for (int32_t i = 0; i < grp->n_members; i++)
        if (grp->members[i]->instance_id &&
            str_eq(grp->members[i]->instance_id, grp->members[i]->instance_id_len, iid))
            return grp->members[i];
    return NULL;
}

/* Kafka's isStaticMemberFenced: the request names a known instance under another member id. */
static bool instance_fenced(struct group *grp, struct kp_str iid, struct kp_str member_id)
{
    struct br_group__member *s = member_find_instance(grp, iid);
    return s && !str_eq(s->id, s->id_len, member_id);
}

static void member_heartbeat(struct br_groups *g, struct br_group__member *m, int64_t now)
{
    (void)g;
    m->session_deadline = now + m->session_timeout_ms;
}

/* ---- membership kept elsewhere ------------------------------------------------------------ */

/* Hands the store hook a snapshot of grp, Stable or Empty (br_group.h). Not stored without
 * memory for the member list: a new coordinator then has an older snapshot (the contract's
 * best effort). */
static void group_store(struct br_groups *g, struct group *grp)
{
    if (!g->store_fn)
        return;
    bool stable = grp->state == BR_GROUP_STABLE;
    int32_t n = stable ? grp->n_members : 0;
    struct br_group_snap_member *sm = n > 0 ? calloc((size_t)n, sizeof(*sm)) : NULL;
    if (n > 0 && !sm) {
        br_warn("group %s: membership of generation %d not stored: out of memory",
                br_log_str(grp->id, grp->id_len).s, grp->generation);
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        const struct br_group__member *m = grp->members[i];
        const struct br_group__proto *p =
            br_group__protocol_find(m, grp->protocol_name, grp->protocol_name_len);
        sm[i] = (struct br_group_snap_member){
            .member_id = str_of(m->id, m->id_len),
            .group_instance_id =
                m->instance_id ? str_of(m->instance_id, m->instance_id_len) : KP_STR_NULL,
            .client_id = str_of(m->client_id, (int32_t)strlen(m->client_id)),
            .client_host = str_of(m->client_host, (int32_t)strlen(m->client_host)),
            .rebalance_timeout_ms = m->rebalance_timeout_ms,
            .session_timeout_ms = m->session_timeout_ms,
            .subscription =
                p ? (struct kp_bytes){p->meta, p->meta_len} : (struct kp_bytes){NULL, 0},
            .assignment = (struct kp_bytes){m->assignment, m->assignment ? m->assignment_len : 0},
        };
    }
    struct br_group_snap snap = {
        .group_id = str_of(grp->id, grp->id_len),
        .protocol_type = str_of(grp->protocol_type, grp->protocol_type_len),
        .generation = grp->generation,
        .protocol_name = stable ? str_of(grp->protocol_name, grp->protocol_name_len) : KP_STR_NULL,
        .leader_id =
            stable && grp->leader ? str_of(grp->leader->id, grp->leader->id_len) : KP_STR_NULL,
        .state_ms = br_wall_ms(),
        .n_members = n,
        .members = sm,
    };
    g->store_fn(g->store_arg, &snap);
    free(sm);
}

void br_groups_set_store(struct br_groups *g, br_group_store_fn fn, void *arg)
{
    pthread_mutex_lock(&g->lock);
    g->store_fn = fn;
    g->store_arg = fn ? arg : NULL;
    pthread_mutex_unlock(&g->lock);
}

/* ---- the rebalance ----------------------------------------------------------------------- */

static int32_t max_rebalance_timeout(const struct group *grp)
{
    int32_t t = 0;
    for (int32_t i = 0; i < grp->n_members; i++)
        if (grp->members[i]->rebalance_timeout_ms > t)
            t = grp->members[i]->rebalance_timeout_ms;
    return t;
}

static void prepare_rebalance(struct br_groups *g, struct group *grp, int64_t now, const char *why)
{
    br_info("group %s: preparing to rebalance in state %s with generation %d (%s)",
            br_log_str(grp->id, grp->id_len).s, br_group_state_name(grp->state), grp->generation,
            why);
    if (grp->state == BR_GROUP_COMPLETING_REBALANCE) {
        /* followers waiting for assignments that will never come: rejoin */
        for (int32_t i = 0; i < grp->n_members; i++) {
            struct br_group__member *m = grp->members[i];
            if (m->sync_w)
                sync_answer(g, grp, m, KP_ERR_REBALANCE_IN_PROGRESS, NULL, 0);
        }
    }
    grp->n_pending_sync = 0;
    for (int32_t i = 0; i < grp->n_members; i++) {
        grp->members[i]->pending_sync = false;
        free(grp->members[i]->assignment);
        grp->members[i]->assignment = NULL;
        grp->members[i]->assignment_len = 0;
        account(g, grp->members[i]);
    }
    int64_t rebalance = max_rebalance_timeout(grp);
    if (grp->state == BR_GROUP_EMPTY && g->cfg.initial_rebalance_delay_ms > 0) {
        int64_t d = g->cfg.initial_rebalance_delay_ms < rebalance
                        ? g->cfg.initial_rebalance_delay_ms
                        : rebalance;
        grp->initial_delay = true;
        grp->initial_left = rebalance - d;
        grp->new_member_joined = false;
        grp->join_deadline = now + d;
    } else {
        grp->initial_delay = false;
        grp->join_deadline = now + rebalance;
    }
    grp->state = BR_GROUP_PREPARING_REBALANCE;
    group_wake(g, grp, grp->join_deadline);
}

static void remove_member(struct br_groups *g, struct group *grp, int32_t idx, int16_t why)
{
    struct br_group__member *m = grp->members[idx];
    if (m->join_w) {
        struct br_group_waiter *w = m->join_w;
        m->join_w = NULL;
        deliver_join_error(w, why, str_of(m->id, m->id_len));
    }
    if (m->sync_w)
        sync_answer(g, grp, m, why, NULL, 0);
    if (grp->leader == m)
        grp->leader = NULL;
    if (m->pending_sync)
        grp->n_pending_sync--;
    grp->members[idx] = grp->members[grp->n_members - 1];
    grp->n_members--;
    idle_update(g, grp);
    g->bytes -= m->acct;
    member_free(m);
}

/* Answers one member's JoinGroup with the current generation. */
static void deliver_join_current(struct group *grp, struct br_group__member *m,
                                 struct br_group_waiter *w)
{
    struct br_group_join_result res = {
        .error_code = KP_ERR_NONE,
        .generation_id = grp->generation,
        .protocol_name = str_of(grp->protocol_name, grp->protocol_name_len),
        .leader_id = grp->leader ? str_of(grp->leader->id, grp->leader->id_len) : str_of("", 0),
        .member_id = str_of(m->id, m->id_len),
        .n_members = 0,
        .members = NULL,
    };
    if (m == grp->leader) {
        for (int32_t i = 0; i < grp->n_members; i++) {
            const struct br_group__member *o = grp->members[i];
            const struct br_group__proto *p =
                br_group__protocol_find(o, grp->protocol_name, grp->protocol_name_len);
            grp->views[i] = (struct br_group_member_view){
                .member_id = str_of(o->id, o->id_len),
                .group_instance_id =
                    o->instance_id ? str_of(o->instance_id, o->instance_id_len) : KP_STR_NULL,
                .metadata = {p ? p->meta : (const uint8_t *)"", p ? p->meta_len : 0},
            };
        }
        res.n_members = grp->n_members;
        res.members = grp->views;
    }
    w->join_done(w, &res);
}

/* Ends the join phase: members that did not rejoin leave, the next generation starts. */
static void complete_join(struct br_groups *g, struct group *grp, int64_t now)
{
    for (int32_t i = grp->n_members - 1; i >= 0; i--)
        if (!grp->members[i]->join_w)
            remove_member(g, grp, i, KP_ERR_UNKNOWN_MEMBER_ID);
    grp->generation++;
    grp->initial_delay = false;
    if (grp->n_members == 0) {
        grp->state = BR_GROUP_EMPTY;
        grp->protocol_name_len = 0;
        grp->leader = NULL;
        br_info("group %s: generation %d has no members: Empty", br_log_str(grp->id, grp->id_len).s,
                grp->generation);
        group_store(g, grp);
        return;
    }
    if (!grp->leader)
        grp->leader = grp->members[0];
    const struct br_group__proto *p =
        br_group__protocol_choose(grp->members, grp->n_members, grp->leader);
    assert(p); /* every join checked that the members share a protocol */
    grp->protocol_name_len = p ? p->name_len : 0;
    if (p)
        memcpy(grp->protocol_name, p->name, (size_t)p->name_len);
    grp->state = BR_GROUP_COMPLETING_REBALANCE;
    br_info("group %s: generation %d with %d member(s), protocol %s, leader %s",
            br_log_str(grp->id, grp->id_len).s, grp->generation, grp->n_members,
            br_log_str(grp->protocol_name, grp->protocol_name_len).s,
            br_log_str(grp->leader->id, grp->leader->id_len).s);
    /* as Kafka: who does not ask for its assignment within the rebalance timeout goes */
    grp->n_pending_sync = grp->n_members;
    grp->sync_deadline = now + max_rebalance_timeout(grp);
    group_wake(g, grp, grp->sync_deadline);
    for (int32_t i = 0; i < grp->n_members; i++) {
        struct br_group__member *m = grp->members[i];
        struct br_group_waiter *w = m->join_w;
        m->join_w = NULL;
        m->pending_sync = true;
        member_heartbeat(g, m, now);
        group_wake(g, grp, m->session_deadline);
        deliver_join_current(grp, m, w);
    }
}

static void try_complete_join(struct br_groups *g, struct group *grp, int64_t now)
{
    if (grp->state != BR_GROUP_PREPARING_REBALANCE || grp->initial_delay)
        return;
    for (int32_t i = 0; i < grp->n_members; i++)
        if (!grp->members[i]->join_w)
            return;
    complete_join(g, grp, now);
}

/* Membership changed (a member left or expired). */
static void members_changed(struct br_groups *g, struct group *grp, int64_t now, const char *why)
{
    switch (grp->state) {
    case BR_GROUP_STABLE:
    case BR_GROUP_COMPLETING_REBALANCE:
        prepare_rebalance(g, grp, now, why);
        try_complete_join(g, grp, now);
        break;
    case BR_GROUP_PREPARING_REBALANCE:
        try_complete_join(g, grp, now);
        break;
    default:
        break;
    }
}

/* ---- JoinGroup --------------------------------------------------------------------------- */

static bool name_ok(struct kp_str s) { return s.len > 0 && s.len <= BR_GROUP_ID_MAX; }

static int16_t join_validate(struct br_groups *g, const struct br_group_join_req *req)
{
    if (!name_ok(req->group_id))
        return KP_ERR_INVALID_GROUP_ID;
    if (req->session_timeout_ms < g->cfg.min_session_timeout_ms ||
        req->session_timeout_ms > g->cfg.max_session_timeout_ms)
        return KP_ERR_INVALID_SESSION_TIMEOUT;
    if (!name_ok(req->protocol_type) || req->n_protocols <= 0)
        return KP_ERR_INCONSISTENT_GROUP_PROTOCOL;
    if (req->n_protocols > BR_GROUP_PROTOCOLS_MAX)
        return KP_ERR_INVALID_REQUEST;
    int64_t bytes = 0;
    for (int32_t i = 0; i < req->n_protocols; i++) {
        if (!name_ok(req->protocols[i].name))
            return KP_ERR_INCONSISTENT_GROUP_PROTOCOL;
        bytes += req->protocols[i].name.len;
        bytes += req->protocols[i].metadata.len > 0 ? req->protocols[i].metadata.len : 0;
    }
    if (bytes > g->cfg.max_member_bytes)
        return KP_ERR_INVALID_REQUEST;
    if (req->member_id.len > BR_GROUP_ID_MAX)
        return KP_ERR_UNKNOWN_MEMBER_ID;
    if (req->group_instance_id.len > BR_GROUP_ID_MAX)
        return KP_ERR_INVALID_REQUEST;
    return KP_ERR_NONE;
}

/* "<client id>-<uuid>" */
static char *new_member_id(struct br_groups *g, struct kp_str client_id, int32_t *len)
{
    uint64_t x = g->id_seed + 0x9e3779b97f4a7c15ull * ++g->id_count;
    uint64_t a = x, b = x ^ 0xbf58476d1ce4e5b9ull;
    a = (a ^ (a >> 30)) * 0xbf58476d1ce4e5b9ull;
    a = (a ^ (a >> 27)) * 0x94d049bb133111ebull;
    a ^= a >> 31;
    b = (b ^ (b >> 30)) * 0x94d049bb133111ebull;
    b = (b ^ (b >> 27)) * 0xbf58476d1ce4e5b9ull;
    b ^= b >> 31;
    int32_t cl = client_id.len > 0 ? client_id.len : 0;
    if (cl > CLIENT_ID_KEEP)
        cl = CLIENT_ID_KEEP;
    /* the client id's bytes made printable first (a NUL would cut it short in snprintf) */
    char cid[CLIENT_ID_KEEP];
    for (int32_t i = 0; i < cl; i++) {
        unsigned char c = (unsigned char)client_id.ptr[i];
        cid[i] = c < 0x20 || c >= 0x7f ? '_' : (char)c;
    }
    char buf[CLIENT_ID_KEEP + 48];
    int n = snprintf(buf, sizeof(buf), "%.*s-%08x-%04x-%04x-%04x-%012llx", (int)cl, cid,
                     (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xffff,
                     (unsigned)(b >> 48), (unsigned long long)(b & 0xffffffffffffull));
    if (n < 0 || (size_t)n >= sizeof(buf))
        return NULL;
    char *id = malloc((size_t)n + 1);
    if (id)
        memcpy(id, buf, (size_t)n + 1);
    *len = n;
    return id;
}

/* A new member with id (empty: a generated one) and the request's protocols. */
static int16_t add_member(struct br_groups *g, struct group *grp,
                          const struct br_group_join_req *req, struct kp_str id,
                          struct br_group__member **out)
{
    if (grp->n_members >= g->cfg.max_size)
        return KP_ERR_GROUP_MAX_SIZE_REACHED;
    if (grp->n_members == grp->cap_members) {
        int32_t ncap = grp->cap_members ? grp->cap_members * 2 : 4;
        if (ncap > g->cfg.max_size)
            ncap = g->cfg.max_size;
        struct br_group__member **nm = realloc(grp->members, (size_t)ncap * sizeof(*nm));
        if (!nm)
            return KP_ERR_UNKNOWN_SERVER_ERROR;
        grp->members = nm;
        struct br_group_member_view *nv = realloc(grp->views, (size_t)ncap * sizeof(*nv));
        if (!nv)
            return KP_ERR_UNKNOWN_SERVER_ERROR;
        grp->views = nv;
        grp->cap_members = ncap;
    }
    struct br_group__member *m = calloc(1, sizeof(*m));
    if (!m)
        return KP_ERR_UNKNOWN_SERVER_ERROR;
    if (id.len > 0) {
        m->id = strndup(id.ptr, (size_t)id.len);
        m->id_len = id.len;
    } else {
        m->id = new_member_id(g, req->client_id, &m->id_len);
    }
    if (req->group_instance_id.len > 0) {
        m->instance_id = strndup(req->group_instance_id.ptr, (size_t)req->group_instance_id.len);
        m->instance_id_len = m->instance_id ? req->group_instance_id.len : 0;
    }
    if (!m->id || (req->group_instance_id.len > 0 && !m->instance_id) ||
        br_group__protocols_set(m, req) < 0) {
        member_free(m);
        return KP_ERR_UNKNOWN_SERVER_ERROR;
    }
    size_t cl = req->client_id.len > 0 ? (size_t)req->client_id.len : 0;
    if (cl >= sizeof(m->client_id))
        cl = sizeof(m->client_id) - 1;
    if (cl)
        memcpy(m->client_id, req->client_id.ptr, cl);
    if (req->client_host)
        snprintf(m->client_host, sizeof(m->client_host), "%s", req->client_host);
    grp->members[grp->n_members++] = m;
    idle_update(g, grp);
    account(g, m);
    *out = m;
    return KP_ERR_NONE;
}

/* Whether a member (self: NULL for a new one) offering these may join: the group's protocol
 * type and one protocol every other member offers, unless there is no other member. */
static bool group_accepts(const struct group *grp, const struct br_group__member *self,
                          const struct br_group_join_req *req)
{
    if (grp->n_members - (self ? 1 : 0) == 0)
        return true;
    return str_eq(grp->protocol_type, grp->protocol_type_len, req->protocol_type) &&
           br_group__protocols_acceptable(grp->members, grp->n_members, self, req);
}

static void set_protocol_type(struct group *grp, struct kp_str type)
{
    memcpy(grp->protocol_type, type.ptr, (size_t)type.len); /* join_validate: <= ID_MAX */
    grp->protocol_type_len = type.len;
}

static void member_timeouts(struct br_group__member *m, const struct br_group_join_req *req)
{
    m->session_timeout_ms = req->session_timeout_ms;
    /* JoinGroup v0 has no rebalance timeout: the session timeout serves */
    m->rebalance_timeout_ms =
        req->rebalance_timeout_ms > 0 ? req->rebalance_timeout_ms : req->session_timeout_ms;
}

/* A group created for a JoinGroup that then failed is forgotten again. */
static void group_drop_if_unused(struct br_groups *g, struct group *grp)
{
    if (grp->n_members == 0 && grp->pending.n == 0 && grp->generation == 0 &&
        grp->state == BR_GROUP_EMPTY)
        group_unlink_free(g, grp);
}

/* A new member joins with id (empty: a generated one, JoinGroup v0-3; else the id handed out
 * to it by join_hand_out_id) and its JoinGroup is parked, as Kafka's addMemberAndRebalance.
 * A Kafka error code when it cannot join (then nothing changed and w was not called). */
static int16_t join_new_member(struct br_groups *g, struct group *grp,
                               const struct br_group_join_req *req, struct kp_str id,
                               struct br_group_waiter *w, int64_t now)
{
    struct br_group__member *m = NULL;
    /* the coordinator's memory for all groups together is bounded: a client is told to come
     * back later (it retries FindCoordinator and JoinGroup) */
    int16_t err = g->bytes + BR_GROUP_MEMBER_OVERHEAD + br_group__protocols_bytes(req) +
                              (req->group_instance_id.len > 0 ? req->group_instance_id.len : 0) >
                          g->cfg.max_total_bytes
                      ? KP_ERR_COORDINATOR_NOT_AVAILABLE
                      : add_member(g, grp, req, id, &m);
    if (err)
        return err;
    if (grp->n_members == 1)
        set_protocol_type(grp, req->protocol_type);
    member_timeouts(m, req);
    member_heartbeat(g, m, now);
    m->join_w = w;
    if (grp->state == BR_GROUP_PREPARING_REBALANCE)
        grp->new_member_joined = true;
    else
        prepare_rebalance(g, grp, now, "a new member joined");
    try_complete_join(g, grp, now);
    return KP_ERR_NONE;
}

static void pending_drop(struct br_groups *g, struct group *grp, int32_t i)
{
    br_group__pending_remove(&grp->pending, i);
    g->bytes -= BR_GROUP_PENDING_OVERHEAD;
}

/* KIP-394, as Kafka's doDynamicNewMemberJoinGroup with requireKnownMemberId: JoinGroup v4+
 * without a member id gets MEMBER_ID_REQUIRED and a new id at once, kept as pending for the
 * session timeout the request asked for. The group's membership does not change: a client
 * that never comes back with the id (it dropped this answer) is waited for by nobody. */
static void join_hand_out_id(struct br_groups *g, struct group *grp,
                             const struct br_group_join_req *req, struct br_group_waiter *w,
                             int64_t now)
{
    bool full = grp->pending.n >= g->cfg.max_size; /* then the oldest makes room */
    int16_t err = KP_ERR_NONE;
    if (grp->n_members >= g->cfg.max_size)
        err = KP_ERR_GROUP_MAX_SIZE_REACHED;
    else if (!full && g->bytes + BR_GROUP_PENDING_OVERHEAD > g->cfg.max_total_bytes)
        err = KP_ERR_COORDINATOR_NOT_AVAILABLE;
    int32_t len = 0;
    char *id = err ? NULL : new_member_id(g, req->client_id, &len);
    if (!err && !id)
        err = KP_ERR_UNKNOWN_SERVER_ERROR;
    if (!err && full) {
        br_info("group %.*s: pending member %.*s forgotten: %d ids handed out are waiting "
                "(group.max.size)",
                (int)grp->id_len, grp->id, (int)grp->pending.v[0].id_len, grp->pending.v[0].id,
                (int)grp->pending.n);
        pending_drop(g, grp, 0);
    }
    int64_t deadline = now + req->session_timeout_ms;
    if (!err && br_group__pending_add(&grp->pending, id, len, deadline) < 0)
        err = KP_ERR_UNKNOWN_SERVER_ERROR;
    if (err) {
        free(id);
        deliver_join_error(w, err, req->member_id);
        group_drop_if_unused(g, grp);
        return;
    }
    g->bytes += BR_GROUP_PENDING_OVERHEAD;
    group_wake(g, grp, deadline);
    br_debug("group %.*s: member id %.*s handed out (MEMBER_ID_REQUIRED)", (int)grp->id_len,
             grp->id, (int)len, id);
    deliver_join_error(w, KP_ERR_MEMBER_ID_REQUIRED, str_of(id, len));
    free(id);
}

/* JoinGroup with a pending id: the client is a member now (Kafka: "a rejoining pending member
 * will be accepted"). The id stays pending when the coordinator had no room for it. */
static void join_pending_member(struct br_groups *g, struct group *grp, int32_t pend,
                                const struct br_group_join_req *req, struct br_group_waiter *w,
                                int64_t now)
{
    const struct br_group__pending *p = &grp->pending.v[pend];
    /* (joining copies the id and may answer waiters; it never touches the pending ids) */
    int16_t err = join_new_member(g, grp, req, str_of(p->id, p->id_len), w, now);
    if (err == KP_ERR_NONE || err == KP_ERR_GROUP_MAX_SIZE_REACHED)
        pending_drop(g, grp, pend);
    if (err)
        deliver_join_error(w, err, req->member_id);
}

/* JoinGroup of a known member, as Kafka's doCurrentMemberJoinGroup. */
static void join_known_member(struct br_groups *g, struct group *grp, struct br_group__member *m,
                              const struct br_group_join_req *req, struct br_group_waiter *w,
                              int64_t now)
{
    member_timeouts(m, req);
    member_heartbeat(g, m, now);
    bool same = br_group__protocols_same(m, req);
    if (!same) {
        if (g->bytes + br_group__protocols_bytes(req) > g->cfg.max_total_bytes) {
            deliver_join_error(w, KP_ERR_COORDINATOR_NOT_AVAILABLE, req->member_id);
            return;
        }
        if (br_group__protocols_set(m, req) < 0) {
            deliver_join_error(w, KP_ERR_UNKNOWN_SERVER_ERROR, req->member_id);
            return;
        }
        account(g, m);
    }
    if (grp->n_members == 1) /* alone, it may change the group's protocol type */
        set_protocol_type(grp, req->protocol_type);
    switch (grp->state) {
    case BR_GROUP_PREPARING_REBALANCE:
        if (m->join_w) {
            /* a second JoinGroup (another connection): the first gets an answer it retries */
            struct br_group_waiter *old = m->join_w;
            m->join_w = NULL;
            deliver_join_error(old, KP_ERR_REBALANCE_IN_PROGRESS, req->member_id);
        }
        m->join_w = w;
        try_complete_join(g, grp, now);
        break;
    case BR_GROUP_COMPLETING_REBALANCE:
    case BR_GROUP_STABLE:
        /* the same protocols: the answer it missed (a follower in Stable, or anyone in
         * CompletingRebalance); otherwise, or the leader in Stable, a rebalance */
        if (same && (grp->state == BR_GROUP_COMPLETING_REBALANCE || m != grp->leader)) {
            deliver_join_current(grp, m, w);
            break;
        }
        m->join_w = w;
        prepare_rebalance(g, grp, now,
                          same ? "the leader rejoined" : "a member changed its protocols");
        try_complete_join(g, grp, now);
        break;
    default: /* Empty: it has no members, so m cannot be one */
        deliver_join_error(w, KP_ERR_UNKNOWN_MEMBER_ID, req->member_id);
        break;
    }
}

/* KIP-345, as Kafka's updateStaticMemberAndRebalance: a known instance joins without a member
 * id (it restarted). It takes a new member id, which fences the old one (whose parked
 * requests are answered FENCED_INSTANCE_ID). In Stable with the same protocols it is answered
 * at once with the current generation and no member list, under the old leader id when it
 * led (so a restarted leader does not assign: a Stable group keeps its assignments, which
 * its SyncGroup returns); otherwise it joins a rebalance (CompletingRebalance: the leader may
 * be assigning to the old id, so a new one starts, as Kafka). */
static void join_static_rejoin(struct br_groups *g, struct group *grp, struct br_group__member *m,
                               const struct br_group_join_req *req, struct br_group_waiter *w,
                               int64_t now)
{
    bool same = br_group__protocols_same(m, req);
    if (!same && g->bytes + br_group__protocols_bytes(req) > g->cfg.max_total_bytes) {
        deliver_join_error(w, KP_ERR_COORDINATOR_NOT_AVAILABLE, req->member_id);
        return;
    }
    int32_t len = 0;
    char *id = new_member_id(g, req->client_id, &len);
    if (!id || (!same && br_group__protocols_set(m, req) < 0)) {
        free(id);
        deliver_join_error(w, KP_ERR_UNKNOWN_SERVER_ERROR, req->member_id);
        return;
    }
    account(g, m);
    if (m->join_w) {
        struct br_group_waiter *old = m->join_w;
        m->join_w = NULL;
        deliver_join_error(old, KP_ERR_FENCED_INSTANCE_ID, str_of(m->id, m->id_len));
    }
    if (m->sync_w)
        sync_answer(g, grp, m, KP_ERR_FENCED_INSTANCE_ID, NULL, 0);
    br_info("group %s: static member %s rejoined: member id %s replaces %s",
            br_log_str(grp->id, grp->id_len).s, br_log_str(m->instance_id, m->instance_id_len).s,
            br_log_str(id, len).s, br_log_str(m->id, m->id_len).s);
    char *old_id = m->id;
    int32_t old_len = m->id_len;
    m->id = id;
    m->id_len = len;
    size_t cl = req->client_id.len > 0 ? (size_t)req->client_id.len : 0;
    if (cl >= sizeof(m->client_id))
        cl = sizeof(m->client_id) - 1;
    if (cl)
        memcpy(m->client_id, req->client_id.ptr, cl);
    m->client_id[cl] = 0;
    if (req->client_host)
        snprintf(m->client_host, sizeof(m->client_host), "%s", req->client_host);
    member_timeouts(m, req);
    member_heartbeat(g, m, now);
    if (grp->state == BR_GROUP_STABLE && same) {
        group_store(g, grp); /* the instance's new member id */
        struct br_group_join_result res = {
            .error_code = KP_ERR_NONE,
            .generation_id = grp->generation,
            .protocol_name = str_of(grp->protocol_name, grp->protocol_name_len),
            .leader_id = grp->leader == m ? str_of(old_id, old_len)
                         : grp->leader    ? str_of(grp->leader->id, grp->leader->id_len)
                                          : str_of("", 0),
            .member_id = str_of(m->id, m->id_len),
        };
        w->join_done(w, &res);
    } else {
        m->join_w = w;
        if (grp->state != BR_GROUP_PREPARING_REBALANCE)
            prepare_rebalance(g, grp, now,
                              same ? "a static member rejoined while the group was assigning"
                                   : "a static member rejoined with other protocols");
        try_complete_join(g, grp, now);
    }
    free(old_id);
}

void br_group_join(struct br_groups *g, const struct br_group_join_req *req,
                   struct br_group_waiter *w)
{
    pthread_mutex_lock(&g->lock);
    int64_t now = now_of(g);
    bool new_member = req->member_id.len <= 0;
    bool is_static = req->group_instance_id.len > 0;
    int16_t err = g->stopped ? KP_ERR_NOT_COORDINATOR : join_validate(g, req);
    struct group *grp = err ? NULL : group_find(g, req->group_id);
    struct br_group__member *m = grp && !new_member ? member_find(grp, req->member_id) : NULL;
    /* a known instance: rejoining after a restart (no member id) or under its own id */
    struct br_group__member *sm = member_find_instance(grp, req->group_instance_id);
    int32_t pend =
        grp && !new_member && !m ? br_group__pending_find(&grp->pending, req->member_id) : -1;
    if (!err && sm && !new_member && sm != m)
        err = KP_ERR_FENCED_INSTANCE_ID;
    else if (!err && !new_member && !m && pend < 0)
        err = KP_ERR_UNKNOWN_MEMBER_ID;
    else if (!err && grp && !group_accepts(grp, m ? m : sm, req))
        err = KP_ERR_INCONSISTENT_GROUP_PROTOCOL;
    else if (!err && !grp && !(grp = group_create(g, req->group_id)))
        err = KP_ERR_COORDINATOR_NOT_AVAILABLE;
    if (err) {
        deliver_join_error(w, err, req->member_id);
    } else if (sm && new_member) {
        join_static_rejoin(g, grp, sm, req, w, now);
    } else if (m) {
        join_known_member(g, grp, m, req, w, now);
    } else if (pend >= 0) {
        join_pending_member(g, grp, pend, req, w, now);
    } else if (req->require_known_member_id && !is_static) { /* static: a member at once */
        join_hand_out_id(g, grp, req, w, now);
    } else if ((err = join_new_member(g, grp, req, str_of("", 0), w, now)) != KP_ERR_NONE) {
        deliver_join_error(w, err, req->member_id);
        group_drop_if_unused(g, grp);
    }
    pthread_mutex_unlock(&g->lock);
}

/* ---- SyncGroup --------------------------------------------------------------------------- */

/* The leader's SyncGroup in CompletingRebalance (its waiter parked in m->sync_w): stores the
 * assignments of the members it names (others get none, unknown ids are ignored, as in
 * Kafka), makes the group Stable and answers every parked SyncGroup. Over the limits, the
 * leader is refused and a rebalance starts. */
static void leader_sync(struct br_groups *g, struct group *grp, struct br_group__member *m,
                        const struct br_group_sync_req *req, int64_t now)
{
    bool too_big = false;
    int64_t total = 0;
    for (int32_t i = 0; i < req->n_assignments; i++) {
        int32_t n = req->assignments[i].assignment.len;
        if (n > g->cfg.max_member_bytes)
            too_big = true;
        total += n > 0 ? n : 0;
    }
    int16_t err = too_big                                     ? KP_ERR_INVALID_REQUEST
                  : g->bytes + total > g->cfg.max_total_bytes ? KP_ERR_COORDINATOR_NOT_AVAILABLE
                                                              : KP_ERR_NONE;
    for (int32_t i = 0; i < req->n_assignments && !err; i++) {
        const struct br_group_assignment *a = &req->assignments[i];
        struct br_group__member *o = member_find(grp, a->member_id);
        if (!o)
            continue; /* not a member (any more) */
        int32_t n = a->assignment.len > 0 ? a->assignment.len : 0;
        uint8_t *copy = malloc((size_t)n + 1);
        if (!copy) {
            err = KP_ERR_UNKNOWN_SERVER_ERROR;
            break;
        }
        if (n)
            memcpy(copy, a->assignment.ptr, (size_t)n);
        free(o->assignment);
        o->assignment = copy;
        o->assignment_len = n;
        account(g, o);
    }
    if (err) {
        sync_answer(g, grp, m, err, NULL, 0);
        prepare_rebalance(
            g, grp, now,
            err == KP_ERR_INVALID_REQUEST             ? "an assignment over group.max.member.bytes"
            : err == KP_ERR_COORDINATOR_NOT_AVAILABLE ? "assignments over group.max.total.bytes"
                                                      : "out of memory storing the assignments");
        return;
    }
    grp->state = BR_GROUP_STABLE;
    group_store(g, grp);
    for (int32_t i = 0; i < grp->n_members; i++) {
        struct br_group__member *o = grp->members[i];
        if (o->sync_w) {
            member_heartbeat(g, o, now);
            sync_answer(g, grp, o, KP_ERR_NONE, o->assignment, o->assignment_len);
        }
    }
}

void br_group_sync(struct br_groups *g, const struct br_group_sync_req *req,
                   struct br_group_waiter *w)
{
    pthread_mutex_lock(&g->lock);
    int64_t now = now_of(g);
    struct group *grp = g->stopped ? NULL : group_find(g, req->group_id);
    struct br_group__member *m = grp ? member_find(grp, req->member_id) : NULL;
    if (g->stopped) {
        deliver_sync(w, KP_ERR_NOT_COORDINATOR, NULL, 0);
    } else if (!name_ok(req->group_id)) {
        deliver_sync(w, KP_ERR_INVALID_GROUP_ID, NULL, 0);
    } else if (instance_fenced(grp, req->group_instance_id, req->member_id)) {
        deliver_sync(w, KP_ERR_FENCED_INSTANCE_ID, NULL, 0);
    } else if (!m) {
        deliver_sync(w, KP_ERR_UNKNOWN_MEMBER_ID, NULL, 0);
    } else if (req->generation_id != grp->generation) {
        deliver_sync(w, KP_ERR_ILLEGAL_GENERATION, NULL, 0);
    } else if (grp->state == BR_GROUP_PREPARING_REBALANCE) {
        deliver_sync(w, KP_ERR_REBALANCE_IN_PROGRESS, NULL, 0);
    } else {
        /* CompletingRebalance or Stable (a group with members is never Empty) */
        member_heartbeat(g, m, now);
        if (m->pending_sync) {
            m->pending_sync = false;
            grp->n_pending_sync--;
        }
        if (grp->state == BR_GROUP_STABLE) {
            deliver_sync(w, KP_ERR_NONE, m->assignment, m->assignment_len);
        } else {
            if (m->sync_w) /* a second SyncGroup: the first gets an answer it retries */
                sync_answer(g, grp, m, KP_ERR_REBALANCE_IN_PROGRESS, NULL, 0);
            m->sync_w = w;
            if (m == grp->leader)
                leader_sync(g, grp, m, req, now);
        }
    }
    pthread_mutex_unlock(&g->lock);
}

/* ---- Heartbeat, LeaveGroup, commits ------------------------------------------------------ */

int16_t br_group_heartbeat(struct br_groups *g, struct kp_str group_id, int32_t generation_id,
                           struct kp_str member_id)
{
    return br_group_heartbeat_inst(g, group_id, generation_id, member_id, str_of(NULL, 0));
}

int16_t br_group_heartbeat_inst(struct br_groups *g, struct kp_str group_id, int32_t generation_id,
                                struct kp_str member_id, struct kp_str instance_id)
{
    int16_t err;
    pthread_mutex_lock(&g->lock);
    int64_t now = now_of(g);
    struct group *grp = group_find(g, group_id);
    struct br_group__member *m = grp ? member_find(grp, member_id) : NULL;
    if (g->stopped)
        err = KP_ERR_NOT_COORDINATOR;
    else if (!name_ok(group_id))
        err = KP_ERR_INVALID_GROUP_ID;
    else if (instance_fenced(grp, instance_id, member_id))
        err = KP_ERR_FENCED_INSTANCE_ID;
    else if (!m)
        err = KP_ERR_UNKNOWN_MEMBER_ID;
    else if (generation_id != grp->generation)
        err = KP_ERR_ILLEGAL_GENERATION;
    else {
        /* CompletingRebalance: the member has its JoinGroup answer and may heartbeat while
         * the leader computes the assignments; that keeps it alive, as in Kafka */
        member_heartbeat(g, m, now);
        err =
            grp->state == BR_GROUP_PREPARING_REBALANCE ? KP_ERR_REBALANCE_IN_PROGRESS : KP_ERR_NONE;
    }
    pthread_mutex_unlock(&g->lock);
    return err;
}

int16_t br_group_leave(struct br_groups *g, struct kp_str group_id, struct kp_str member_id)
{
    return br_group_leave_inst(g, group_id, member_id, str_of(NULL, 0));
}

int16_t br_group_leave_inst(struct br_groups *g, struct kp_str group_id, struct kp_str member_id,
                            struct kp_str instance_id)
{
    int16_t err = KP_ERR_NONE;
    pthread_mutex_lock(&g->lock);
    int64_t now = now_of(g);
    struct group *grp = group_find(g, group_id);
    struct br_group__member *sm = member_find_instance(grp, instance_id);
    int32_t idx = -1;
    for (int32_t i = 0; grp && i < grp->n_members; i++)
        if (sm ? grp->members[i] == sm
               : str_eq(grp->members[i]->id, grp->members[i]->id_len, member_id))
            idx = i;
    int32_t pend = grp && idx < 0 && instance_id.len <= 0
                       ? br_group__pending_find(&grp->pending, member_id)
                       : -1;
    if (g->stopped)
        err = KP_ERR_NOT_COORDINATOR;
    else if (!name_ok(group_id))
        err = KP_ERR_INVALID_GROUP_ID;
    else if (sm && member_id.len > 0 && !str_eq(sm->id, sm->id_len, member_id))
        err = KP_ERR_FENCED_INSTANCE_ID;
    else if (pend >= 0)
        pending_drop(g, grp, pend); /* as Kafka: a pending member may leave */
    else if (idx < 0)
        err = KP_ERR_UNKNOWN_MEMBER_ID;
    else {
        remove_member(g, grp, idx, KP_ERR_UNKNOWN_MEMBER_ID);
        members_changed(g, grp, now, "a member left");
    }
    pthread_mutex_unlock(&g->lock);
    return err;
}

int16_t br_group_commit_check(struct br_groups *g, struct kp_str group_id, int32_t generation_id,
                              struct kp_str member_id)
{
    return br_group_commit_check_inst(g, group_id, generation_id, member_id, str_of(NULL, 0));
}

int16_t br_group_commit_check_inst(struct br_groups *g, struct kp_str group_id,
                                   int32_t generation_id, struct kp_str member_id,
                                   struct kp_str instance_id)
{
    int16_t err;
    pthread_mutex_lock(&g->lock);
    int64_t now = now_of(g);
    struct group *grp = group_find(g, group_id);
    if (g->stopped) {
        err = KP_ERR_NOT_COORDINATOR;
    } else if (!name_ok(group_id)) {
        err = KP_ERR_INVALID_GROUP_ID;
    } else if (instance_fenced(grp, instance_id, member_id)) {
        err = KP_ERR_FENCED_INSTANCE_ID;
    } else if (!grp || grp->n_members == 0) {
        /* no members: only a consumer that manages its partitions itself may commit; a
         * member of an earlier generation must rejoin first */
        if (generation_id < 0 && member_id.len <= 0)
            err = KP_ERR_NONE;
        else
            err = grp ? KP_ERR_UNKNOWN_MEMBER_ID : KP_ERR_ILLEGAL_GENERATION;
    } else {
        struct br_group__member *m = member_find(grp, member_id);
        if (!m)
            err = KP_ERR_UNKNOWN_MEMBER_ID;
        else if (generation_id != grp->generation)
            err = KP_ERR_ILLEGAL_GENERATION;
        else if (grp->state == BR_GROUP_COMPLETING_REBALANCE)
            err = KP_ERR_REBALANCE_IN_PROGRESS;
        else {
            /* Stable, or PreparingRebalance before the member rejoined: its commit of the
             * partitions it still owns is accepted, as Kafka does */
            member_heartbeat(g, m, now);
            err = KP_ERR_NONE;
        }
    }
    pthread_mutex_unlock(&g->lock);
    return err;
}

void br_group_describe(struct br_groups *g, struct kp_str group_id, struct br_group_info *out)
{
    pthread_mutex_lock(&g->lock);
    struct group *grp = group_find(g, group_id);
    if (grp)
        *out = (struct br_group_info){grp->state, grp->generation, grp->n_members, grp->pending.n};
    else
        *out = (struct br_group_info){BR_GROUP_NONE, -1, 0, 0};
    pthread_mutex_unlock(&g->lock);
}

/* ---- administration ---------------------------------------------------------------------- */

void br_groups_foreach(struct br_groups *g, void (*fn)(void *arg, const struct br_group_summary *s),
                       void *arg)
{
    pthread_mutex_lock(&g->lock);
    for (uint32_t b = 0; b < g->nbuckets; b++)
        for (struct group *grp = g->buckets[b]; grp; grp = grp->hnext) {
            struct br_group_summary sm = {
                {grp->id, grp->id_len}, {grp->protocol_type, grp->protocol_type_len}, grp->state};
            fn(arg, &sm);
        }
    pthread_mutex_unlock(&g->lock);
}

int br_group_describe_members(struct br_groups *g, struct kp_str group_id,
                              void (*fn)(void *arg, const struct br_group_desc *d), void *arg)
{
    pthread_mutex_lock(&g->lock);
    struct group *grp = group_find(g, group_id);
    struct br_group_desc d = {
        .state = BR_GROUP_NONE, .protocol_type = {"", 0}, .protocol_name = {"", 0}};
    struct br_group_member_desc *ms = NULL;
    if (grp) {
        ms = calloc(grp->n_members > 0 ? (size_t)grp->n_members : 1, sizeof(*ms));
        if (!ms) {
            pthread_mutex_unlock(&g->lock);
            return -ENOMEM;
        }
        bool chosen = grp->state == BR_GROUP_STABLE || grp->state == BR_GROUP_COMPLETING_REBALANCE;
        d.state = grp->state;
        d.protocol_type = (struct kp_str){grp->protocol_type, grp->protocol_type_len};
        if (chosen)
            d.protocol_name = (struct kp_str){grp->protocol_name, grp->protocol_name_len};
        for (int32_t i = 0; i < grp->n_members; i++) {
            const struct br_group__member *m = grp->members[i];
            const struct br_group__proto *p =
                chosen ? br_group__protocol_find(m, grp->protocol_name, grp->protocol_name_len)
                       : NULL;
            ms[i] = (struct br_group_member_desc){
                .member_id = {m->id, m->id_len},
                .group_instance_id =
                    m->instance_id ? str_of(m->instance_id, m->instance_id_len) : KP_STR_NULL,
                .client_id = {m->client_id, (int32_t)strlen(m->client_id)},
                .client_host = {m->client_host, (int32_t)strlen(m->client_host)},
                .metadata =
                    p ? (struct kp_bytes){p->meta, p->meta_len} : (struct kp_bytes){NULL, 0},
                .assignment = {m->assignment, m->assignment ? m->assignment_len : 0},
            };
        }
        d.n_members = grp->n_members;
        d.members = ms;
    }
    fn(arg, &d);
    pthread_mutex_unlock(&g->lock);
    free(ms);
    return 0;
}

int16_t br_group_delete(struct br_groups *g, struct kp_str group_id)
{
    pthread_mutex_lock(&g->lock);
    struct group *grp = group_find(g, group_id);
    int16_t err = KP_ERR_NONE;
    if (!grp)
        err = KP_ERR_GROUP_ID_NOT_FOUND;
    else if (grp->n_members > 0 || grp->state != BR_GROUP_EMPTY)
        err = KP_ERR_NON_EMPTY_GROUP;
    else
        group_unlink_free(g, grp);
    pthread_mutex_unlock(&g->lock);
    return err;
}

/* ---- timers ------------------------------------------------------------------------------ */

/* The join phase's deadline: extends the initial delay while members keep arriving, or ends
 * the phase. */
static void join_deadline_passed(struct br_groups *g, struct group *grp, int64_t now)
{
    if (grp->initial_delay && grp->new_member_joined && grp->initial_left > 0) {
        int64_t d = g->cfg.initial_rebalance_delay_ms < grp->initial_left
                        ? g->cfg.initial_rebalance_delay_ms
                        : grp->initial_left;
        grp->initial_left -= d;
        grp->new_member_joined = false;
        grp->join_deadline = now + d;
    } else {
        complete_join(g, grp, now);
    }
}

/* Removes the members whose session expired (those waiting in JoinGroup or SyncGroup are
 * alive) and, in CompletingRebalance or Stable past the sync deadline, those that never sent
 * their SyncGroup. Whether any went. */
static bool expire_members(struct group *grp, struct br_groups *g, int64_t now)
{
    bool sync_due =
        (grp->state == BR_GROUP_COMPLETING_REBALANCE || grp->state == BR_GROUP_STABLE) &&
        grp->n_pending_sync > 0 && now >= grp->sync_deadline;
    bool removed = false;
    for (int32_t i = grp->n_members - 1; i >= 0; i--) {
        struct br_group__member *m = grp->members[i];
        if (sync_due && m->pending_sync) {
            br_info("group %s: member %s removed: no SyncGroup within the rebalance timeout "
                    "of generation %d",
                    br_log_str(grp->id, grp->id_len).s, br_log_str(m->id, m->id_len).s,
                    grp->generation);
        } else if (m->join_w || m->sync_w || now < m->session_deadline) {
            continue;
        } else {
            br_info("group %s: member %s removed: no heartbeat within its session timeout "
                    "(%d ms)",
                    br_log_str(grp->id, grp->id_len).s, br_log_str(m->id, m->id_len).s,
                    m->session_timeout_ms);
        }
        remove_member(g, grp, i, KP_ERR_UNKNOWN_MEMBER_ID);
        removed = true;
    }
    return removed;
}

/* Forgets the pending ids whose session timeout passed with no JoinGroup using them (Kafka's
 * pending member expiration). Membership does not change: nothing waited for them. */
static void expire_pending(struct group *grp, struct br_groups *g, int64_t now)
{
    for (int32_t i = grp->pending.n - 1; i >= 0; i--) {
        const struct br_group__pending *p = &grp->pending.v[i];
        if (now < p->deadline)
            continue;
        br_info("group %.*s: pending member %.*s forgotten: no JoinGroup with its id within its "
                "session timeout",
                (int)grp->id_len, grp->id, (int)p->id_len, p->id);
        pending_drop(g, grp, i);
    }
}

/* The group's earliest deadline (INT64_MAX: none). */
static int64_t group_next_deadline(const struct group *grp)
{
    int64_t next = br_group__pending_next(&grp->pending);
    if (grp->state == BR_GROUP_PREPARING_REBALANCE && grp->join_deadline < next)
        next = grp->join_deadline;
    else if (grp->n_pending_sync > 0 && grp->sync_deadline < next)
        next = grp->sync_deadline;
    for (int32_t i = 0; i < grp->n_members; i++) {
        const struct br_group__member *m = grp->members[i];
        if (!m->join_w && !m->sync_w && m->session_deadline < next)
            next = m->session_deadline;
    }
    return next;
}

/* Visits the groups whose heap key is due (the key is a lower bound of their earliest
 * deadline, so a visit may find nothing to do), then files each under its next deadline. */
static int64_t tick_locked(struct br_groups *g)
{
    int64_t now = now_of(g);
    struct br_timer *e;
    while ((e = br_timers_first(&g->timers)) && e->key <= now) {
        struct group *grp = group_of_timer(e);
        if (grp->state == BR_GROUP_PREPARING_REBALANCE && now >= grp->join_deadline)
            join_deadline_passed(g, grp, now);
        if (expire_members(grp, g, now))
            members_changed(g, grp, now, "members expired");
        expire_pending(grp, g, now);
        int64_t t = group_next_deadline(grp);
        /* (a deadline of now itself is left for the next tick: every visit moves the key past
         * now, so the loop ends) */
        br_timers_set(&g->timers, e, t > now ? t : now + 1);
    }
    return e ? e->key : INT64_MAX;
}

int64_t br_groups_tick(struct br_groups *g)
{
    pthread_mutex_lock(&g->lock);
    int64_t next = tick_locked(g);
    pthread_mutex_unlock(&g->lock);
    return next;
}

static void *timer_main(void *arg)
{
    struct br_groups *g = arg;
    br_log_set_thread("groups");
    pthread_mutex_lock(&g->lock);
    while (!g->thread_stop) {
        int64_t next = tick_locked(g);
        g->timer_target = next;
        /* at the next deadline, within a millisecond, and at least every second (a key that
         * was only a lower bound costs one visit) */
        if (!g->thread_stop)
            br_timer_sleep(&g->cond, &g->lock, next == INT64_MAX ? 1000 : next - now_of(g));
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

int br_groups_timer_start(struct br_groups *g)
{
    pthread_mutex_lock(&g->lock);
    g->thread_stop = false;
    int rc = pthread_create(&g->thread, NULL, timer_main, g);
    g->thread_running = rc == 0;
    pthread_mutex_unlock(&g->lock);
    return -rc;
}

/* ---- lifetime ---------------------------------------------------------------------------- */

int br_groups_new(const struct br_groups_cfg *cfg, br_group_clock_fn clock, void *clock_arg,
                  struct br_groups **out)
{
    if (cfg->min_session_timeout_ms < 0 ||
        cfg->max_session_timeout_ms < cfg->min_session_timeout_ms || cfg->max_size <= 0 ||
        cfg->max_groups <= 0 || cfg->max_member_bytes <= 0 || cfg->max_total_bytes <= 0)
        return -EINVAL;
    struct br_groups *g = calloc(1, sizeof(*g));
    if (g)
        g->buckets = calloc(BUCKETS_MIN, sizeof(*g->buckets));
    if (!g || !g->buckets) {
        free(g);
        return -ENOMEM;
    }
    g->nbuckets = BUCKETS_MIN;
    g->cfg = *cfg;
    g->clock = clock;
    g->clock_arg = clock_arg;
    g->timer_target = INT64_MAX;
    pthread_mutex_init(&g->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (getrandom(&g->id_seed, sizeof(g->id_seed), GRND_NONBLOCK) != sizeof(g->id_seed))
        g->id_seed = (uint64_t)time(NULL) ^ ((uint64_t)(uintptr_t)g << 16);
    *out = g;
    return 0;
}

/* Delivers every parked waiter of grp with err (mutex held). */
static void answer_parked(struct br_groups *g, struct group *grp, int16_t err)
{
    for (int32_t i = 0; i < grp->n_members; i++) {
        struct br_group__member *m = grp->members[i];
        if (m->join_w) {
            struct br_group_waiter *w = m->join_w;
            m->join_w = NULL;
            group_wake(g, grp, m->session_deadline);
            deliver_join_error(w, err, str_of(m->id, m->id_len));
        }
        if (m->sync_w)
            sync_answer(g, grp, m, err, NULL, 0);
    }
}

void br_groups_stop(struct br_groups *g)
{
    pthread_mutex_lock(&g->lock);
    g->stopped = true;
    for (uint32_t b = 0; b < g->nbuckets; b++)
        for (struct group *grp = g->buckets[b]; grp; grp = grp->hnext)
            answer_parked(g, grp, KP_ERR_NOT_COORDINATOR);
    pthread_mutex_unlock(&g->lock);
}

int br_groups_unload(struct br_groups *g, bool (*match)(void *arg, const char *id, size_t len),
                     void *arg)
{
    int n = 0;
    pthread_mutex_lock(&g->lock);
    for (uint32_t b = 0; b < g->nbuckets; b++) {
        struct group *grp = g->buckets[b];
        while (grp) {
            struct group *next = grp->hnext;
            if (match(arg, grp->id, (size_t)grp->id_len)) {
                answer_parked(g, grp, KP_ERR_NOT_COORDINATOR);
                group_unlink_free(g, grp);
                n++;
            }
            grp = next;
        }
    }
    pthread_mutex_unlock(&g->lock);
    return n;
}

/* What restoring s would cost in g->bytes (as account() counts a member), or -1 when s is not
 * a snapshot this coordinator would have made (br_groups_restore's -EINVAL). */
static int64_t restore_check(const struct br_groups *g, const struct br_group_snap *s)
{
    bool stable = s->n_members > 0;
    if (!name_ok(s->group_id) || s->protocol_type.len > BR_GROUP_ID_MAX || s->generation < 0 ||
        s->n_members < 0 || s->n_members > g->cfg.max_size ||
        (stable && (!name_ok(s->protocol_name) || s->leader_id.len > BR_GROUP_ID_MAX)))
        return -1;
    int64_t bytes = 0;
    for (int32_t i = 0; i < s->n_members; i++) {
        const struct br_group_snap_member *m = &s->members[i];
        if (!name_ok(m->member_id) || m->group_instance_id.len > BR_GROUP_ID_MAX ||
            m->session_timeout_ms <= 0 || m->rebalance_timeout_ms <= 0 ||
            m->subscription.len > g->cfg.max_member_bytes ||
            m->assignment.len > g->cfg.max_member_bytes)
            return -1;
        for (int32_t j = 0; j < i; j++) /* one entry per member id (max_size members: bounded) */
            if (str_eq(s->members[j].member_id.ptr, s->members[j].member_id.len, m->member_id))
                return -1;
        bytes += BR_GROUP_MEMBER_OVERHEAD + BR_GROUP_PROTOCOL_OVERHEAD + s->protocol_name.len +
                 (m->subscription.len > 0 ? m->subscription.len : 0) +
                 (m->assignment.len > 0 ? m->assignment.len : 0) +
                 (m->group_instance_id.len > 0 ? m->group_instance_id.len : 0);
    }
    return bytes;
}

/* One member of a snapshot into grp (mutex held): its protocol the group's, its metadata the
 * subscription, its assignment, its session from now. A Kafka error code (add_member's). */
static int16_t restore_member(struct br_groups *g, struct group *grp, const struct br_group_snap *s,
                              const struct br_group_snap_member *sm, int64_t now)
{
    char host[BR_GROUP_HOST_KEEP];
    int hl = sm->client_host.len > 0 ? sm->client_host.len : 0;
    snprintf(host, sizeof(host), "%.*s", hl, hl ? sm->client_host.ptr : "");
    struct br_group_protocol proto = {
        .name = s->protocol_name,
        .metadata = sm->subscription.len > 0 ? sm->subscription : (struct kp_bytes){NULL, 0},
    };
    struct br_group_join_req req = {
        .group_id = s->group_id,
        .member_id = sm->member_id,
        .group_instance_id = sm->group_instance_id,
        .client_id = sm->client_id,
        .client_host = host,
        .protocol_type = s->protocol_type,
        .session_timeout_ms = sm->session_timeout_ms,
        .rebalance_timeout_ms = sm->rebalance_timeout_ms,
        .n_protocols = 1,
        .protocols = &proto,
    };
    struct br_group__member *m = NULL;
    int16_t err = add_member(g, grp, &req, sm->member_id, &m);
    if (err)
        return err;
    if (sm->assignment.len > 0) {
        m->assignment = malloc((size_t)sm->assignment.len);
        if (!m->assignment)
            return KP_ERR_UNKNOWN_SERVER_ERROR;
        memcpy(m->assignment, sm->assignment.ptr, (size_t)sm->assignment.len);
        m->assignment_len = sm->assignment.len;
        account(g, m);
    }
    member_timeouts(m, &req);
    member_heartbeat(g, m, now);
    group_wake(g, grp, m->session_deadline);
    return KP_ERR_NONE;
}

int br_groups_restore(struct br_groups *g, const struct br_group_snap *s)
{
    int64_t bytes = restore_check(g, s);
    if (bytes < 0)
        return -EINVAL;
    pthread_mutex_lock(&g->lock);
    int rc = 0;
    struct group *grp = group_find(g, s->group_id);
    int64_t held = 0;
    for (int32_t i = 0; grp && i < grp->n_members; i++)
        held += grp->members[i]->acct;
    if (g->stopped)
        rc = -ESHUTDOWN;
    else if (g->bytes - held + bytes > g->cfg.max_total_bytes)
        rc = -ENOSPC;
    if (rc < 0) {
        pthread_mutex_unlock(&g->lock);
        return rc;
    }
    if (grp) {
        answer_parked(g, grp, KP_ERR_NOT_COORDINATOR);
        group_unlink_free(g, grp);
    }
    grp = group_create(g, s->group_id);
    if (!grp) {
        pthread_mutex_unlock(&g->lock);
        return -ENOSPC;
    }
    if (s->protocol_type.len > 0)
        set_protocol_type(grp, s->protocol_type);
    grp->generation = s->generation;
    int64_t now = now_of(g);
    for (int32_t i = 0; i < s->n_members && rc == 0; i++)
        if (restore_member(g, grp, s, &s->members[i], now) != KP_ERR_NONE)
            rc = -ENOMEM;
    if (rc < 0) {
        group_unlink_free(g, grp);
        pthread_mutex_unlock(&g->lock);
        return rc;
    }
    if (s->n_members > 0) {
        memcpy(grp->protocol_name, s->protocol_name.ptr, (size_t)s->protocol_name.len);
        grp->protocol_name_len = s->protocol_name.len;
        grp->leader = member_find(grp, s->leader_id);
        if (!grp->leader)
            grp->leader = grp->members[0];
        grp->state = BR_GROUP_STABLE;
    }
    br_info("group %s: restored at generation %d, %s with %d member(s)",
            br_log_str(grp->id, grp->id_len).s, grp->generation, br_group_state_name(grp->state),
            grp->n_members);
    pthread_mutex_unlock(&g->lock);
    return 0;
}

bool br_groups_forget(struct br_groups *g, struct kp_str group_id)
{
    pthread_mutex_lock(&g->lock);
    struct group *grp = group_find(g, group_id);
    if (grp) {
        answer_parked(g, grp, KP_ERR_NOT_COORDINATOR);
        group_unlink_free(g, grp);
    }
    pthread_mutex_unlock(&g->lock);
    return grp != NULL;
}

void br_groups_free(struct br_groups *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    bool running = g->thread_running;
    g->thread_stop = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
    if (running)
        pthread_join(g->thread, NULL);
    for (uint32_t b = 0; b < g->nbuckets; b++)
        while (g->buckets[b])
            group_unlink_free(g, g->buckets[b]);
    free(g->buckets);
    br_timers_free(&g->timers);
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
    free(g);
}
