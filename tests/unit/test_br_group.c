/*
 * test_br_group — the consumer-group state machine with an injected clock and recording
 * waiters, no sockets: joins of one and three members, the initial rebalance delay, leader
 * and protocol selection (and the cap on protocols), INCONSISTENT_GROUP_PROTOCOL and a sole
 * member changing the protocol type, generations, SyncGroup delivering the leader's
 * assignments (unknown ids ignored, missing members empty), Heartbeat errors in every state
 * (0 in CompletingRebalance, keeping the member alive), session expiry, pending-SyncGroup
 * expiry, LeaveGroup, the rebalance timeout dropping members that did not rejoin, commit
 * checks, limits (the byte budget charging member bookkeeping), eviction of the longest
 * empty group, many groups, generated member ids, stop, and KIP-394 (MEMBER_ID_REQUIRED, pending
 * ids that nobody waits for, expire, leave and are bounded; the dropped first JoinGroup of a
 * librdkafka subscription change leaving no ghost), and KIP-345 static members (a restarted
 * instance rejoining without a rebalance, its old member id fenced, a restarted leader not
 * assigning, leaving by instance id, a protocol change rebalancing), and membership kept for a
 * coordinator's move: the store hook's snapshots (Stable, Empty), br_groups_restore (members
 * going on at the restored generation, sessions counted from the restore, a later snapshot
 * replacing the group, forgetting, snapshots it would not make refused) and the GroupMetadataValue
 * codec (round trip, every cut, v0, another version).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "br_clock.h"
#include "br_cotopic.h"
#include "br_group.h"
#include "br_log.h"
#include "kp_api.h"

static int64_t clk;
static int64_t fake_clock(void *arg)
{
    (void)arg;
    return clk;
}

#define DELAY 300 /* initial rebalance delay of most tests */

static struct br_groups *G;

static struct br_groups_cfg cfg_default(void)
{
    return (struct br_groups_cfg){
        .initial_rebalance_delay_ms = DELAY,
        .min_session_timeout_ms = 6000,
        .max_session_timeout_ms = 1800000,
        .max_size = 1000,
        .max_groups = 100,
        .max_member_bytes = 1 << 20,
        .max_total_bytes = 64 << 20,
    };
}

static void setup(void)
{
    clk = 1000000;
    struct br_groups_cfg c = cfg_default();
    ck_assert_int_eq(br_groups_new(&c, fake_clock, NULL, &G), 0);
}

static void teardown(void)
{
    br_groups_stop(G);
    br_groups_free(G);
    G = NULL;
}

/* A waiter that records what it was given (copies, the result's memory is the group's). */
struct rec {
    struct br_group_waiter w;
    int calls;
    int16_t err;
    int32_t gen;
    char member[300], leader[300], proto[300];
    int32_t n_members;
    char members[8][300];
    char meta[8][64];
    char assignment[256];
    int32_t assignment_len;
};

static void cp(char *dst, size_t cap, const void *p, int32_t n)
{
    size_t k = n > 0 ? (size_t)n : 0;
    if (k >= cap)
        k = cap - 1;
    if (k)
        memcpy(dst, p, k);
    dst[k] = 0;
}

static void on_join(struct br_group_waiter *w, const struct br_group_join_result *res)
{
    struct rec *r = (struct rec *)w;
    r->calls++;
    r->err = res->error_code;
    r->gen = res->generation_id;
    cp(r->member, sizeof r->member, res->member_id.ptr, res->member_id.len);
    cp(r->leader, sizeof r->leader, res->leader_id.ptr, res->leader_id.len);
    cp(r->proto, sizeof r->proto, res->protocol_name.ptr, res->protocol_name.len);
    r->n_members = res->n_members;
    for (int32_t i = 0; i < res->n_members && i < 8; i++) {
        cp(r->members[i], sizeof r->members[i], res->members[i].member_id.ptr,
           res->members[i].member_id.len);
        cp(r->meta[i], sizeof r->meta[i], res->members[i].metadata.ptr,
           res->members[i].metadata.len);
    }
}

static void on_sync(struct br_group_waiter *w, const struct br_group_sync_result *res)
{
    struct rec *r = (struct rec *)w;
    r->calls++;
    r->err = res->error_code;
    r->assignment_len = res->assignment.len;
    cp(r->assignment, sizeof r->assignment, res->assignment.ptr, res->assignment.len);
}

static void rec_init(struct rec *r)
{
    memset(r, 0, sizeof(*r));
    r->w.join_done = on_join;
    r->w.sync_done = on_sync;
    r->err = -100;
}

static struct kp_str S(const char *s) {
    return (struct kp_str){s, (int32_t)strlen(s)};
}

static const char *join_instance; /* group_instance_id of the next join_pv; NULL: none */

/* JoinGroup with protocols "a,b,c" (comma list), metadata "<name>-meta<suffix>"; v4 (KIP-394)
 * or older. */
static void join_pv(struct rec *r, const char *group, const char *member, const char *protos,
                    const char *suffix, int32_t session, int32_t rebalance, bool v4)
{
    struct br_group_protocol p[8];
    static char meta[8][64];
    char names[8][32];
    int n = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", protos);
    for (char *save, *t = strtok_r(buf, ",", &save); t && n < 8; t = strtok_r(NULL, ",", &save)) {
        snprintf(names[n], sizeof names[n], "%s", t);
        snprintf(meta[n], sizeof meta[n], "%s-meta%s", t, suffix);
        p[n].name = S(names[n]);
        p[n].metadata = (struct kp_bytes){(const uint8_t *)meta[n], (int32_t)strlen(meta[n])};
        n++;
    }
    struct br_group_join_req req = {
        .group_id = S(group),
        .member_id = S(member),
        .group_instance_id = join_instance ? S(join_instance) : (struct kp_str){NULL, 0},
        .client_id = S("cli"),
        .require_known_member_id = v4,
        .protocol_type = S("consumer"),
        .session_timeout_ms = session,
        .rebalance_timeout_ms = rebalance,
        .n_protocols = n,
        .protocols = p,
    };
    rec_init(r);
    br_group_join(G, &req, &r->w);
}

static void join_p(struct rec *r, const char *group, const char *member, const char *protos,
                   int32_t session, int32_t rebalance)
{
    join_pv(r, group, member, protos, "", session, rebalance, false);
}

static void join(struct rec *r, const char *group, const char *member)
{
    join_p(r, group, member, "range,roundrobin", 10000, 60000);
}

/* JoinGroup v4+ (KIP-394) with "range,roundrobin". */
static void join4(struct rec *r, const char *group, const char *member)
{
    join_pv(r, group, member, "range,roundrobin", "", 10000, 60000, true);
}

/* JoinGroup v5+ of a static member (instance id inst) offering protos. */
static void join_static(struct rec *r, const char *group, const char *member, const char *inst,
                        const char *protos)
{
    join_instance = inst;
    join_pv(r, group, member, protos, "", 10000, 60000, true);
    join_instance = NULL;
}

static void sync_g(struct rec *r, const char *group, int32_t gen, const char *member, int n,
                   const char *const *ids, const char *const *assign)
{
    struct br_group_assignment a[8];
    for (int i = 0; i < n; i++) {
        a[i].member_id = S(ids[i]);
        a[i].assignment = (struct kp_bytes){(const uint8_t *)assign[i], (int32_t)strlen(assign[i])};
    }
    struct br_group_sync_req req = {
        .group_id = S(group),
        .generation_id = gen,
        .member_id = S(member),
        .n_assignments = n,
        .assignments = a,
    };
    rec_init(r);
    br_group_sync(G, &req, &r->w);
}

static void advance(int64_t ms)
{
    clk += ms;
    br_groups_tick(G);
}

/* Through an initial delay extended once (members joined during the first). */
static void settle(void)
{
    advance(DELAY);
    advance(DELAY);
}

static struct br_group_info info(const char *group)
{
    struct br_group_info i;
    br_group_describe(G, S(group), &i);
    return i;
}

/* One member joins an empty group and syncs: generation 1, Stable. */
static void one_member(const char *group, struct rec *j)
{
    join(j, group, "");
    ck_assert_int_eq(j->calls, 0); /* parked for the initial delay */
    ck_assert_int_eq(info(group).state, BR_GROUP_PREPARING_REBALANCE);
    advance(DELAY);
    ck_assert_int_eq(j->calls, 1);
    ck_assert_int_eq(j->err, 0);
    struct rec s;
    const char *ids[] = {j->member};
    const char *as[] = {"A0"};
    sync_g(&s, group, j->gen, j->member, 1, ids, as);
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(s.err, 0);
    ck_assert_str_eq(s.assignment, "A0");
    ck_assert_int_eq(info(group).state, BR_GROUP_STABLE);
}

START_TEST(join_one_member)
{
    struct rec j;
    one_member("g", &j);
    ck_assert_int_eq(j.gen, 1);
    ck_assert_str_eq(j.leader, j.member);
    ck_assert_str_eq(j.proto, "range");
    ck_assert_int_eq(j.n_members, 1);
    ck_assert_str_eq(j.members[0], j.member);
    ck_assert_str_eq(j.meta[0], "range-meta");
    ck_assert(strncmp(j.member, "cli-", 4) == 0);
    ck_assert_int_eq(strlen(j.member), 4 + 36);
    ck_assert_int_eq(br_group_heartbeat(G, S("g"), 1, S(j.member)), 0);
}
END_TEST

START_TEST(join_three_members)
{
    struct rec j[3];
    for (int i = 0; i < 3; i++)
        join(&j[i], "g3", "");
    advance(DELAY - 1);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(j[i].calls, 0);
    advance(1); /* members joined during the delay: extended once more */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(j[i].calls, 0);
    advance(DELAY);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(j[i].calls, 1);
        ck_assert_int_eq(j[i].err, 0);
        ck_assert_int_eq(j[i].gen, 1);
        ck_assert_str_eq(j[i].leader, j[0].member); /* the first joiner leads */
    }
    ck_assert_str_ne(j[0].member, j[1].member);
    ck_assert_str_ne(j[1].member, j[2].member);
    ck_assert_int_eq(j[0].n_members, 3);
    ck_assert_int_eq(j[1].n_members, 0);
    ck_assert_int_eq(j[2].n_members, 0);

    /* followers wait for the leader's assignments */
    struct rec s1, s2, s0;
    sync_g(&s1, "g3", 1, j[1].member, 0, NULL, NULL);
    sync_g(&s2, "g3", 1, j[2].member, 0, NULL, NULL);
    ck_assert_int_eq(s1.calls + s2.calls, 0);
    ck_assert_int_eq(info("g3").state, BR_GROUP_COMPLETING_REBALANCE);
    ck_assert_int_eq(br_group_heartbeat(G, S("g3"), 1, S(j[1].member)), 0); /* as Kafka */
    const char *ids[] = {j[0].member, j[1].member, j[2].member};
    const char *as[] = {"p0", "p1", "p2,p3"};
    sync_g(&s0, "g3", 1, j[0].member, 3, ids, as);
    ck_assert_int_eq(s0.calls, 1);
    ck_assert_int_eq(s1.calls, 1);
    ck_assert_int_eq(s2.calls, 1);
    ck_assert_str_eq(s0.assignment, "p0");
    ck_assert_str_eq(s1.assignment, "p1");
    ck_assert_str_eq(s2.assignment, "p2,p3");
    ck_assert_int_eq(info("g3").state, BR_GROUP_STABLE);
    ck_assert_int_eq(info("g3").n_members, 3);

    /* a late SyncGroup in Stable gets the stored assignment again */
    sync_g(&s1, "g3", 1, j[1].member, 0, NULL, NULL);
    ck_assert_int_eq(s1.calls, 1);
    ck_assert_str_eq(s1.assignment, "p1");
}
END_TEST

START_TEST(protocol_selection)
{
    struct rec a, b, c;
    join_p(&a, "gp", "", "range,roundrobin", 10000, 60000);
    join_p(&b, "gp", "", "roundrobin,range", 10000, 60000);
    join_p(&c, "gp", "", "roundrobin,sticky,range", 10000, 60000);
    advance(DELAY);
    advance(DELAY);
    ck_assert_int_eq(a.calls, 1);
    /* roundrobin: 2 first-choice votes against 1 */
    ck_assert_str_eq(a.proto, "roundrobin");
    ck_assert_str_eq(b.proto, "roundrobin");
    ck_assert_str_eq(a.meta[0], "roundrobin-meta");
}
END_TEST

START_TEST(protocol_tie_follows_leader)
{
    struct rec a, b;
    join_p(&a, "gt", "", "range,roundrobin", 10000, 60000);
    join_p(&b, "gt", "", "roundrobin,range", 10000, 60000);
    settle();
    ck_assert_int_eq(a.calls, 1);
    ck_assert_str_eq(a.proto, "range");
}
END_TEST

START_TEST(inconsistent_protocol)
{
    struct rec a, b, c;
    join_p(&a, "gi", "", "range", 10000, 60000);
    join_p(&b, "gi", "", "RoundRobinAssigner", 10000, 60000);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(b.err, KP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    ck_assert_str_eq(b.member, "");
    /* other protocol type */
    struct br_group_protocol p = {S("range"), {(const uint8_t *)"x", 1}};
    struct br_group_join_req req = {.group_id = S("gi"),
                                    .member_id = S(""),
                                    .client_id = S("c"),
                                    .protocol_type = S("connect"),
                                    .session_timeout_ms = 10000,
                                    .rebalance_timeout_ms = 10000,
                                    .n_protocols = 1,
                                    .protocols = &p};
    rec_init(&c);
    br_group_join(G, &req, &c.w);
    ck_assert_int_eq(c.err, KP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    /* no protocols at all */
    req.protocol_type = S("consumer");
    req.n_protocols = 0;
    rec_init(&c);
    br_group_join(G, &req, &c.w);
    ck_assert_int_eq(c.err, KP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    ck_assert_int_eq(info("gi").n_members, 1);
}
END_TEST

START_TEST(bad_join_inputs)
{
    struct rec r;
    join_p(&r, "", "", "range", 10000, 60000);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.err, KP_ERR_INVALID_GROUP_ID);
    join_p(&r, "g", "", "range", 5999, 60000);
    ck_assert_int_eq(r.err, KP_ERR_INVALID_SESSION_TIMEOUT);
    join_p(&r, "g", "", "range", 1800001, 60000);
    ck_assert_int_eq(r.err, KP_ERR_INVALID_SESSION_TIMEOUT);
    join_p(&r, "g", "nobody", "range", 10000, 60000);
    ck_assert_int_eq(r.err, KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(info("g").state, BR_GROUP_NONE);
}
END_TEST

START_TEST(generation_increments)
{
    struct rec j, j2, s;
    one_member("gg", &j);
    ck_assert_int_eq(j.gen, 1);
    /* the leader rejoining starts a rebalance: generation 2 */
    join(&j2, "gg", j.member);
    ck_assert_int_eq(j2.calls, 1); /* everyone (itself) rejoined */
    ck_assert_int_eq(j2.gen, 2);
    ck_assert_str_eq(j2.member, j.member);
    /* an old generation's SyncGroup is refused */
    sync_g(&s, "gg", 1, j.member, 0, NULL, NULL);
    ck_assert_int_eq(s.err, KP_ERR_ILLEGAL_GENERATION);
    const char *ids[] = {j.member};
    const char *as[] = {"x"};
    sync_g(&s, "gg", 2, j.member, 1, ids, as);
    ck_assert_int_eq(s.err, 0);
    ck_assert_int_eq(info("gg").generation_id, 2);
}
END_TEST

START_TEST(follower_rejoin_in_stable_keeps_generation)
{
    struct rec a, b, s;
    join(&a, "gf", "");
    join(&b, "gf", "");
    settle();
    const char *ids[] = {a.member, b.member};
    const char *as[] = {"A", "B"};
    sync_g(&s, "gf", 1, a.member, 2, ids, as);
    struct rec b2;
    join(&b2, "gf", b.member); /* same protocols, not the leader: the current generation */
    ck_assert_int_eq(b2.calls, 1);
    ck_assert_int_eq(b2.gen, 1);
    ck_assert_int_eq(info("gf").state, BR_GROUP_STABLE);
}
END_TEST

START_TEST(heartbeat_errors_by_state)
{
    /* no group */
    ck_assert_int_eq(br_group_heartbeat(G, S("h"), 1, S("m")), KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(br_group_heartbeat(G, S(""), 1, S("m")), KP_ERR_INVALID_GROUP_ID);
    struct rec a, b, s;
    join(&a, "h", "");
    /* PreparingRebalance (initial delay): the test does not know the member id yet */
    ck_assert_int_eq(br_group_heartbeat(G, S("h"), 0, S(a.member)), KP_ERR_UNKNOWN_MEMBER_ID);
    advance(DELAY);
    ck_assert_int_eq(a.gen, 1);
    /* CompletingRebalance: as in Kafka, a heartbeat of the current generation is fine (the
     * member got its JoinGroup answer), a stale one is not */
    ck_assert_int_eq(br_group_heartbeat(G, S("h"), 1, S(a.member)), 0);
    ck_assert_int_eq(br_group_heartbeat(G, S("h"), 0, S(a.member)), KP_ERR_ILLEGAL_GENERATION);
    const char *ids[] = {a.member};
    const char *as[] = {"x"};
    sync_g(&s, "h", 1, a.member, 1, ids, as);
    /* Stable */
    ck_assert_int_eq(br_group_heartbeat(G, S("h"), 1, S(a.member)), 0);
    ck_assert_int_eq(br_group_heartbeat(G, S("h"), 7, S(a.member)), KP_ERR_ILLEGAL_GENERATION);
    ck_assert_int_eq(br_group_heartbeat(G, S("h"), 1, S("other")), KP_ERR_UNKNOWN_MEMBER_ID);
    /* a new member: PreparingRebalance, the old member is told to rejoin */
    join(&b, "h", "");
    ck_assert_int_eq(b.calls, 0);
    ck_assert_int_eq(info("h").state, BR_GROUP_PREPARING_REBALANCE);
    ck_assert_int_eq(br_group_heartbeat(G, S("h"), 1, S(a.member)), KP_ERR_REBALANCE_IN_PROGRESS);
    /* SyncGroup during PreparingRebalance */
    sync_g(&s, "h", 1, a.member, 0, NULL, NULL);
    ck_assert_int_eq(s.err, KP_ERR_REBALANCE_IN_PROGRESS);
    /* a rejoins: the join completes at once (no initial delay: the group was not Empty) */
    struct rec a2;
    join(&a2, "h", a.member);
    ck_assert_int_eq(a2.calls, 1);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(a2.gen, 2);
    ck_assert_int_eq(b.gen, 2);
    ck_assert_str_eq(a2.leader, a.member); /* the leader is kept */
    ck_assert_int_eq(a2.n_members, 2);
    /* a stale generation during CompletingRebalance */
    ck_assert_int_eq(br_group_heartbeat(G, S("h"), 1, S(b.member)), KP_ERR_ILLEGAL_GENERATION);
}
END_TEST

START_TEST(session_expiry_rebalances)
{
    struct rec a, b, s;
    join(&a, "se", "");
    join(&b, "se", "");
    settle();
    const char *ids[] = {a.member, b.member};
    const char *as[] = {"A", "B"};
    sync_g(&s, "se", 1, a.member, 2, ids, as);
    struct rec sb;
    sync_g(&sb, "se", 1, b.member, 0, NULL, NULL);
    ck_assert_str_eq(sb.assignment, "B");
    /* a keeps heartbeating, b goes quiet */
    for (int i = 0; i < 4; i++) {
        advance(3000);
        int16_t e = br_group_heartbeat(G, S("se"), 1, S(a.member));
        if (i < 3)
            ck_assert_int_eq(e, 0);
        else
            ck_assert_int_eq(e, KP_ERR_REBALANCE_IN_PROGRESS); /* b expired at 10 s */
    }
    ck_assert_int_eq(info("se").n_members, 1);
    ck_assert_int_eq(br_group_heartbeat(G, S("se"), 1, S(b.member)), KP_ERR_UNKNOWN_MEMBER_ID);
    struct rec a2;
    join(&a2, "se", a.member);
    ck_assert_int_eq(a2.calls, 1);
    ck_assert_int_eq(a2.gen, 2);
    ck_assert_int_eq(a2.n_members, 1);
}
END_TEST

START_TEST(leave_rebalances)
{
    struct rec a, b, s;
    join(&a, "lv", "");
    join(&b, "lv", "");
    settle();
    const char *ids[] = {a.member, b.member};
    const char *as[] = {"A", "B"};
    sync_g(&s, "lv", 1, a.member, 2, ids, as);
    ck_assert_int_eq(br_group_leave(G, S("lv"), S("nobody")), KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(br_group_leave(G, S("lv"), S(a.member)), 0); /* the leader leaves */
    ck_assert_int_eq(info("lv").state, BR_GROUP_PREPARING_REBALANCE);
    ck_assert_int_eq(br_group_heartbeat(G, S("lv"), 1, S(b.member)), KP_ERR_REBALANCE_IN_PROGRESS);
    struct rec b2;
    join(&b2, "lv", b.member);
    ck_assert_int_eq(b2.calls, 1);
    ck_assert_int_eq(b2.gen, 2);
    ck_assert_str_eq(b2.leader, b.member); /* a new leader */
    ck_assert_int_eq(b2.n_members, 1);
    /* the last member leaves: Empty, generation moves on */
    ck_assert_int_eq(br_group_leave(G, S("lv"), S(b.member)), 0);
    ck_assert_int_eq(info("lv").state, BR_GROUP_EMPTY);
    ck_assert_int_eq(info("lv").generation_id, 3);
}
END_TEST

START_TEST(leave_while_join_parked)
{
    struct rec a, b;
    one_member("lp", &a);
    join(&b, "lp", ""); /* parked: a must rejoin */
    ck_assert_int_eq(b.calls, 0);
    ck_assert_int_eq(br_group_leave(G, S("lp"), S("x")), KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(br_group_leave(G, S("lp"), S(a.member)), 0);
    /* a left: b is everyone, the join completes */
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(b.err, 0);
    ck_assert_int_eq(b.gen, 2);
    ck_assert_str_eq(b.leader, b.member);
}
END_TEST

START_TEST(rebalance_timeout_drops_non_rejoiners)
{
    struct rec a, b, s;
    join_p(&a, "rt", "", "range", 30000, 5000);
    join_p(&b, "rt", "", "range", 30000, 5000);
    settle();
    const char *ids[] = {a.member, b.member};
    const char *as[] = {"A", "B"};
    sync_g(&s, "rt", 1, a.member, 2, ids, as);
    struct rec c;
    join_p(&c, "rt", "", "range", 30000, 5000);
    struct rec a2;
    join_p(&a2, "rt", a.member, "range", 30000, 5000);
    ck_assert_int_eq(a2.calls, 0); /* b has not rejoined */
    advance(4999);
    ck_assert_int_eq(a2.calls, 0);
    advance(1);
    ck_assert_int_eq(a2.calls, 1);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(a2.gen, 2);
    ck_assert_int_eq(a2.n_members, 2);
    ck_assert_int_eq(info("rt").n_members, 2);
    ck_assert_int_eq(br_group_heartbeat(G, S("rt"), 2, S(b.member)), KP_ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(sync_errors)
{
    struct rec s, a;
    sync_g(&s, "none", 1, "m", 0, NULL, NULL);
    ck_assert_int_eq(s.err, KP_ERR_UNKNOWN_MEMBER_ID);
    one_member("sy", &a);
    sync_g(&s, "sy", 1, "m", 0, NULL, NULL);
    ck_assert_int_eq(s.err, KP_ERR_UNKNOWN_MEMBER_ID);
    sync_g(&s, "sy", 0, a.member, 0, NULL, NULL);
    ck_assert_int_eq(s.err, KP_ERR_ILLEGAL_GENERATION);
    sync_g(&s, "", 0, a.member, 0, NULL, NULL);
    ck_assert_int_eq(s.err, KP_ERR_INVALID_GROUP_ID);
}
END_TEST

START_TEST(leader_gone_during_sync_wakes_followers)
{
    struct rec a, b, sb;
    join_p(&a, "lg", "", "range", 6000, 60000);
    join_p(&b, "lg", "", "range", 6000, 60000);
    settle();
    sync_g(&sb, "lg", 1, b.member, 0, NULL, NULL);
    ck_assert_int_eq(sb.calls, 0);
    advance(6000); /* the leader never syncs: its session expires, b is waiting (alive) */
    ck_assert_int_eq(sb.calls, 1);
    ck_assert_int_eq(sb.err, KP_ERR_REBALANCE_IN_PROGRESS);
    ck_assert_int_eq(info("lg").n_members, 1);
}
END_TEST

START_TEST(commit_checks)
{
    /* no group: a simple consumer may commit, a member of a forgotten generation may not */
    ck_assert_int_eq(br_group_commit_check(G, S("c"), -1, S("")), 0);
    ck_assert_int_eq(br_group_commit_check(G, S("c"), 3, S("m")), KP_ERR_ILLEGAL_GENERATION);
    struct rec a, b;
    join(&a, "c", "");
    ck_assert_int_eq(br_group_commit_check(G, S("c"), -1, S("")), KP_ERR_UNKNOWN_MEMBER_ID);
    advance(DELAY);
    ck_assert_int_eq(br_group_commit_check(G, S("c"), 1, S(a.member)),
                     KP_ERR_REBALANCE_IN_PROGRESS);
    struct rec s;
    const char *ids[] = {a.member};
    const char *as[] = {"x"};
    sync_g(&s, "c", 1, a.member, 1, ids, as);
    ck_assert_int_eq(br_group_commit_check(G, S("c"), 1, S(a.member)), 0);
    ck_assert_int_eq(br_group_commit_check(G, S("c"), 2, S(a.member)), KP_ERR_ILLEGAL_GENERATION);
    ck_assert_int_eq(br_group_commit_check(G, S("c"), 1, S("zz")), KP_ERR_UNKNOWN_MEMBER_ID);
    join(&b, "c", ""); /* PreparingRebalance: a may still commit what it owns */
    ck_assert_int_eq(br_group_commit_check(G, S("c"), 1, S(a.member)), 0);
    ck_assert_int_eq(br_group_leave(G, S("c"), S(a.member)), 0);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(br_group_leave(G, S("c"), S(b.member)), 0);
    ck_assert_int_eq(info("c").state, BR_GROUP_EMPTY);
    ck_assert_int_eq(br_group_commit_check(G, S("c"), -1, S("")), 0);
    ck_assert_int_eq(br_group_commit_check(G, S("c"), 1, S(a.member)), KP_ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(limits)
{
    teardown();
    struct br_groups_cfg c = cfg_default();
    c.max_size = 2;
    c.max_groups = 2;
    c.max_member_bytes = 64;
    c.initial_rebalance_delay_ms = 0;
    ck_assert_int_eq(br_groups_new(&c, fake_clock, NULL, &G), 0);
    struct rec r[3];
    join(&r[0], "L", "");
    ck_assert_int_eq(r[0].calls, 1); /* no initial delay: alone, done at once */
    join(&r[1], "L", "");
    join(&r[2], "L", "");
    ck_assert_int_eq(r[2].calls, 1);
    ck_assert_int_eq(r[2].err, KP_ERR_GROUP_MAX_SIZE_REACHED);
    /* metadata over max_member_bytes */
    struct rec big;
    char meta[100];
    memset(meta, 'm', sizeof meta);
    struct br_group_protocol p = {S("range"), {(const uint8_t *)meta, sizeof meta}};
    struct br_group_join_req req = {.group_id = S("L2"),
                                    .member_id = S(""),
                                    .client_id = S("c"),
                                    .protocol_type = S("consumer"),
                                    .session_timeout_ms = 10000,
                                    .rebalance_timeout_ms = 10000,
                                    .n_protocols = 1,
                                    .protocols = &p};
    rec_init(&big);
    br_group_join(G, &req, &big.w);
    ck_assert_int_eq(big.err, KP_ERR_INVALID_REQUEST);
    /* group count: one more group fits, a third only when one is Empty */
    struct rec x, y;
    join(&x, "L3", "");
    ck_assert_int_eq(x.err, 0);
    join(&y, "L4", "");
    ck_assert_int_eq(y.err, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(br_group_leave(G, S("L3"), S(x.member)), 0);
    join(&y, "L4", "");
    ck_assert_int_eq(y.err, 0);
    ck_assert_int_eq(info("L3").state, BR_GROUP_NONE); /* evicted */
    /* an assignment over max_member_bytes: the leader is refused, a rebalance starts */
    struct rec s, j1;
    join(&j1, "L", r[0].member); /* r[1] joined after r[0]'s generation: r[0] rejoins */
    ck_assert_int_eq(j1.calls, 1);
    ck_assert_int_eq(r[1].calls, 1);
    struct rec j2;
    join(&j2, "L", r[1].member);
    ck_assert_int_eq(j2.calls, 1);
    const char *ids[] = {r[0].member};
    char huge[100];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    const char *as[] = {huge};
    sync_g(&s, "L", j2.gen, r[0].member, 1, ids, as);
    ck_assert_int_eq(s.err, KP_ERR_INVALID_REQUEST);
    ck_assert_int_eq(info("L").state, BR_GROUP_PREPARING_REBALANCE);
}
END_TEST

/* Bytes charged for a member offering only "range" with "range-meta" */
#define RANGE_MEMBER (BR_GROUP_MEMBER_OVERHEAD + BR_GROUP_PROTOCOL_OVERHEAD + 15)

START_TEST(total_bytes_budget)
{
    teardown();
    struct br_groups_cfg c = cfg_default();
    c.max_total_bytes = 6 * RANGE_MEMBER + 10;
    c.initial_rebalance_delay_ms = 0;
    ck_assert_int_eq(br_groups_new(&c, fake_clock, NULL, &G), 0);
    struct rec r[8];
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        char group[8];
        snprintf(group, sizeof group, "B%d", i);
        join_p(&r[i], group, "", "range", 10000, 10000);
        ck_assert_int_eq(r[i].calls, 1);
        if (r[i].err == 0)
            ok++;
        else
            ck_assert_int_eq(r[i].err, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    }
    ck_assert_int_eq(ok, 6);
    /* a member leaving gives its bytes back */
    ck_assert_int_eq(br_group_leave(G, S("B0"), S(r[0].member)), 0);
    struct rec x;
    join_p(&x, "B9", "", "range", 10000, 10000);
    ck_assert_int_eq(x.err, 0);
    /* assignments count too: 10 bytes left, an assignment of 11 does not fit */
    struct rec s;
    const char *ids[] = {x.member};
    const char *as[] = {"0123456789a"};
    sync_g(&s, "B9", x.gen, x.member, 1, ids, as);
    ck_assert_int_eq(s.err, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    struct rec x2;
    join_p(&x2, "B9", x.member, "range", 10000, 10000);
    ck_assert_int_eq(x2.calls, 1);
    const char *as2[] = {"0123456789"};
    sync_g(&s, "B9", x2.gen, x.member, 1, ids, as2);
    ck_assert_int_eq(s.err, 0);
    ck_assert_str_eq(s.assignment, "0123456789");
}
END_TEST

/* Members with (almost) no metadata still cost memory: the budget charges each member and
 * protocol its bookkeeping, so group.max.total.bytes bounds the coordinator's memory. */
START_TEST(total_bytes_counts_members)
{
    teardown();
    struct br_groups_cfg c = cfg_default();
    c.max_total_bytes = 65536;
    c.initial_rebalance_delay_ms = 0;
    ck_assert_int_eq(br_groups_new(&c, fake_clock, NULL, &G), 0);
    struct br_group_protocol p = {S("r"), {(const uint8_t *)"", 0}};
    struct br_group_join_req req = {.group_id = S("tm"),
                                    .member_id = S(""),
                                    .client_id = S("c"),
                                    .protocol_type = S("consumer"),
                                    .session_timeout_ms = 10000,
                                    .rebalance_timeout_ms = 10000,
                                    .n_protocols = 1,
                                    .protocols = &p};
    static struct rec r[1000];
    int ok = 0;
    for (int i = 0; i < 1000; i++) {
        rec_init(&r[i]);
        br_group_join(G, &req, &r[i].w);
        if (r[i].calls == 0 || r[i].err == 0)
            ok++;
        else
            ck_assert_int_eq(r[i].err, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    }
    ck_assert_int_eq(ok, 65536 / (BR_GROUP_MEMBER_OVERHEAD + BR_GROUP_PROTOCOL_OVERHEAD + 1));
}
END_TEST

START_TEST(stop_answers_waiters)
{
    struct rec a, s;
    join(&a, "st", "");
    ck_assert_int_eq(a.calls, 0);
    br_groups_stop(G);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, KP_ERR_NOT_COORDINATOR);
    join(&a, "st", "");
    ck_assert_int_eq(a.err, KP_ERR_NOT_COORDINATOR);
    sync_g(&s, "st", 1, "m", 0, NULL, NULL);
    ck_assert_int_eq(s.err, KP_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(br_group_heartbeat(G, S("st"), 1, S("m")), KP_ERR_NOT_COORDINATOR);
}
END_TEST

START_TEST(second_join_of_one_member_answers_the_first)
{
    struct rec a, b, a2, a3;
    one_member("sj", &a);
    join(&b, "sj", "");
    join(&a2, "sj", a.member);
    /* b and a both joined: complete */
    ck_assert_int_eq(a2.calls, 1);
    ck_assert_int_eq(b.calls, 1);
    /* in CompletingRebalance, a repeated join with the same protocols gets the same answer */
    join(&a3, "sj", a.member);
    ck_assert_int_eq(a3.calls, 1);
    ck_assert_int_eq(a3.gen, a2.gen);
    ck_assert_int_eq(a3.n_members, 2);
}
END_TEST

/* The timer thread with the real clock: a parked JoinGroup is answered at the initial delay
 * without any other call into the module (bounded wait, no timing assertion). */
static volatile int timer_calls;
static void on_join_timer(struct br_group_waiter *w, const struct br_group_join_result *res)
{
    on_join(w, res);
    __atomic_add_fetch(&timer_calls, 1, __ATOMIC_SEQ_CST);
}

START_TEST(timer_thread_fires)
{
    teardown();
    struct br_groups_cfg c = cfg_default();
    c.initial_rebalance_delay_ms = 50;
    ck_assert_int_eq(br_groups_new(&c, NULL, NULL, &G), 0);
    ck_assert_int_eq(br_groups_timer_start(G), 0);
    struct rec r;
    struct br_group_protocol p = {S("range"), {(const uint8_t *)"m", 1}};
    struct br_group_join_req req = {.group_id = S("tt"),
                                    .member_id = S(""),
                                    .client_id = S("c"),
                                    .protocol_type = S("consumer"),
                                    .session_timeout_ms = 10000,
                                    .rebalance_timeout_ms = 10000,
                                    .n_protocols = 1,
                                    .protocols = &p};
    rec_init(&r);
    r.w.join_done = on_join_timer;
    timer_calls = 0;
    br_group_join(G, &req, &r.w);
    for (int i = 0; i < 1000 && __atomic_load_n(&timer_calls, __ATOMIC_SEQ_CST) == 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(__atomic_load_n(&timer_calls, __ATOMIC_SEQ_CST), 1);
    ck_assert_int_eq(r.err, 0);
    ck_assert_int_eq(r.gen, 1);
    struct br_group_info i;
    br_group_describe(G, S("tt"), &i);
    ck_assert_int_eq(i.state, BR_GROUP_COMPLETING_REBALANCE);
    /* br_groups_free (teardown) stops and joins the thread */
}
END_TEST

/* The leader takes longer than the session timeout to compute its assignments but heartbeats
 * meanwhile (Kafka resets the session timer on a heartbeat in CompletingRebalance): it stays. */
START_TEST(heartbeat_in_completing_rebalance_keeps_member)
{
    struct rec a, s;
    join(&a, "hc", "");
    advance(DELAY);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(info("hc").state, BR_GROUP_COMPLETING_REBALANCE);
    for (int i = 0; i < 6; i++) { /* 30 s, session timeout 10 s */
        advance(5000);
        ck_assert_int_eq(br_group_heartbeat(G, S("hc"), a.gen, S(a.member)), 0);
    }
    ck_assert_int_eq(info("hc").n_members, 1);
    ck_assert_int_eq(info("hc").state, BR_GROUP_COMPLETING_REBALANCE);
    const char *ids[] = {a.member};
    const char *as[] = {"late"};
    sync_g(&s, "hc", a.gen, a.member, 1, ids, as);
    ck_assert_int_eq(s.err, 0);
    ck_assert_str_eq(s.assignment, "late");
}
END_TEST

/* Protocol selection costs grow with the protocols a member offers: their number is capped
 * (a JoinGroup offering more is refused before anything is copied). */
START_TEST(protocol_count_capped)
{
    static struct br_group_protocol p[BR_GROUP_PROTOCOLS_MAX + 1];
    static char names[BR_GROUP_PROTOCOLS_MAX + 1][8];
    for (int i = 0; i <= BR_GROUP_PROTOCOLS_MAX; i++) {
        snprintf(names[i], sizeof names[i], "p%d", i);
        p[i] = (struct br_group_protocol){S(names[i]), {(const uint8_t *)"", 0}};
    }
    struct br_group_join_req req = {.group_id = S("pc"),
                                    .member_id = S(""),
                                    .client_id = S("c"),
                                    .protocol_type = S("consumer"),
                                    .session_timeout_ms = 10000,
                                    .rebalance_timeout_ms = 10000,
                                    .n_protocols = BR_GROUP_PROTOCOLS_MAX + 1,
                                    .protocols = p};
    struct rec r;
    rec_init(&r);
    br_group_join(G, &req, &r.w);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.err, KP_ERR_INVALID_REQUEST);
    ck_assert_int_eq(info("pc").state, BR_GROUP_NONE);
    /* exactly the cap is fine; the last protocol is the one every member offers */
    req.n_protocols = BR_GROUP_PROTOCOLS_MAX;
    rec_init(&r);
    br_group_join(G, &req, &r.w);
    advance(DELAY);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.err, 0);
    ck_assert_str_eq(r.proto, "p0");
}
END_TEST

/* A sole member rejoining with another protocol type changes the group's type: a member of
 * that type may join next. */
START_TEST(sole_member_changes_protocol_type)
{
    struct rec a, a2, b;
    one_member("pt", &a);
    struct br_group_protocol p = {S("range"), {(const uint8_t *)"m", 1}};
    struct br_group_join_req req = {.group_id = S("pt"),
                                    .member_id = S(a.member),
                                    .client_id = S("c"),
                                    .protocol_type = S("connect"),
                                    .session_timeout_ms = 10000,
                                    .rebalance_timeout_ms = 10000,
                                    .n_protocols = 1,
                                    .protocols = &p};
    rec_init(&a2);
    br_group_join(G, &req, &a2.w);
    ck_assert_int_eq(a2.calls, 1);
    ck_assert_int_eq(a2.err, 0);
    req.member_id = S("");
    rec_init(&b);
    br_group_join(G, &req, &b.w);
    ck_assert_int_eq(b.err, -100); /* parked: accepted */
    ck_assert_int_eq(info("pt").n_members, 2);
}
END_TEST

/* Kafka's pending-sync expiry: members that got their JoinGroup answer but send no SyncGroup
 * within the rebalance timeout are removed even though they heartbeat, so a leader that never
 * sends the assignments cannot hold its followers forever. */
START_TEST(pending_sync_expires)
{
    struct rec a, b, sb;
    join(&a, "ps", "");
    join(&b, "ps", "");
    settle();
    ck_assert_int_eq(a.calls + b.calls, 2);
    struct rec *leader = a.n_members ? &a : &b, *follower = a.n_members ? &b : &a;
    sync_g(&sb, "ps", follower->gen, follower->member, 0, NULL, NULL);
    ck_assert_int_eq(sb.calls, 0); /* parked for the leader's assignments */
    for (int i = 0; i < 11; i++) { /* 55 s of heartbeats: the rebalance timeout is 60 s */
        advance(5000);
        ck_assert_int_eq(br_group_heartbeat(G, S("ps"), leader->gen, S(leader->member)), 0);
    }
    ck_assert_int_eq(sb.calls, 0);
    advance(5000);
    ck_assert_int_eq(sb.calls, 1);
    ck_assert_int_eq(sb.err, KP_ERR_REBALANCE_IN_PROGRESS);
    ck_assert_int_eq(br_group_heartbeat(G, S("ps"), leader->gen, S(leader->member)),
                     KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(info("ps").n_members, 1);
    ck_assert_int_eq(info("ps").state, BR_GROUP_PREPARING_REBALANCE);

    /* Stable: a follower that never asks for its assignment goes the same way */
    struct rec f2, l2, s2, s3;
    join(&f2, "ps", follower->member);
    ck_assert_int_eq(f2.calls, 1);
    join(&l2, "ps", "");
    join(&f2, "ps", follower->member); /* rejoin for the new member */
    ck_assert_int_eq(f2.calls + l2.calls, 2);
    struct rec *ld = f2.n_members ? &f2 : &l2, *fl = f2.n_members ? &l2 : &f2;
    const char *ids[] = {ld->member, fl->member};
    const char *as[] = {"x", "y"};
    sync_g(&s2, "ps", ld->gen, ld->member, 2, ids, as);
    ck_assert_int_eq(s2.err, 0);
    ck_assert_int_eq(info("ps").state, BR_GROUP_STABLE);
    for (int i = 0; i < 12; i++) {
        advance(5000);
        ck_assert_int_eq(br_group_heartbeat(G, S("ps"), ld->gen, S(ld->member)),
                         i < 11 ? 0 : KP_ERR_REBALANCE_IN_PROGRESS);
        br_group_heartbeat(G, S("ps"), fl->gen, S(fl->member));
    }
    ck_assert_int_eq(info("ps").n_members, 1);
    sync_g(&s3, "ps", fl->gen, fl->member, 0, NULL, NULL);
    ck_assert_int_eq(s3.err, KP_ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

/* At group.max.groups, the group that has been without members longest is forgotten first;
 * groups with members never are. */
START_TEST(eviction_takes_the_longest_empty)
{
    teardown();
    struct br_groups_cfg c = cfg_default();
    c.max_groups = 4;
    c.initial_rebalance_delay_ms = 0;
    ck_assert_int_eq(br_groups_new(&c, fake_clock, NULL, &G), 0);
    const char *names[] = {"ev-a", "ev-b", "ev-c", "ev-d"};
    struct rec r[4];
    for (int i = 0; i < 4; i++) {
        join(&r[i], names[i], "");
        ck_assert_int_eq(r[i].err, 0);
    }
    /* emptied in the order c, a, d; b keeps its member */
    ck_assert_int_eq(br_group_leave(G, S("ev-c"), S(r[2].member)), 0);
    ck_assert_int_eq(br_group_leave(G, S("ev-a"), S(r[0].member)), 0);
    ck_assert_int_eq(br_group_leave(G, S("ev-d"), S(r[3].member)), 0);
    struct rec x;
    join(&x, "ev-x", "");
    ck_assert_int_eq(x.err, 0);
    ck_assert_int_eq(info("ev-c").state, BR_GROUP_NONE);
    ck_assert_int_eq(info("ev-a").state, BR_GROUP_EMPTY);
    join(&x, "ev-y", "");
    ck_assert_int_eq(info("ev-a").state, BR_GROUP_NONE);
    ck_assert_int_eq(info("ev-d").state, BR_GROUP_EMPTY);
    join(&x, "ev-z", "");
    ck_assert_int_eq(info("ev-d").state, BR_GROUP_NONE);
    ck_assert_int_eq(info("ev-b").n_members, 1);
    /* a group that got a member again is not taken: ev-x, ev-y, ev-z and ev-b all have one */
    join(&x, "ev-w", "");
    ck_assert_int_eq(x.err, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(info("ev-w").state, BR_GROUP_NONE);
}
END_TEST

/* Many groups: the table grows and every group stays reachable. */
START_TEST(many_groups)
{
    teardown();
    struct br_groups_cfg c = cfg_default();
    c.max_groups = 20000;
    c.initial_rebalance_delay_ms = 0;
    ck_assert_int_eq(br_groups_new(&c, fake_clock, NULL, &G), 0);
    br_log_set_level(BR_LOG_WARN); /* this process only (Check forks per test) */
    static struct rec r;
    char name[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof name, "many-%d", i);
        join(&r, name, "");
        ck_assert_int_eq(r.err, 0);
    }
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof name, "many-%d", i);
        ck_assert_int_eq(info(name).n_members, 1);
    }
    snprintf(name, sizeof name, "many-%d", 20000);
    join(&r, name, "");
    ck_assert_int_eq(r.err, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    advance(60000); /* every member expires: the tick walks every group */
    for (int i = 0; i < 20000; i += 997) {
        snprintf(name, sizeof name, "many-%d", i);
        ck_assert_int_eq(info(name).state, BR_GROUP_EMPTY);
    }
}
END_TEST

/* A generated member id is "<client id>-<uuid>" with the client id's unprintable bytes
 * (a NUL among them) replaced, at most 64 of them kept. */
START_TEST(member_id_from_odd_client_id)
{
    static const char cid[70] = "ab\0cd\n\x7f";
    struct br_group_protocol p = {S("range"), {(const uint8_t *)"m", 1}};
    struct br_group_join_req req = {.group_id = S("mid"),
                                    .member_id = S(""),
                                    .client_id = {cid, 70},
                                    .protocol_type = S("consumer"),
                                    .session_timeout_ms = 10000,
                                    .rebalance_timeout_ms = 10000,
                                    .n_protocols = 1,
                                    .protocols = &p};
    struct rec r;
    rec_init(&r);
    br_group_join(G, &req, &r.w);
    advance(DELAY);
    ck_assert_int_eq(r.err, 0);
    ck_assert_int_eq(strlen(r.member), 64 + 37);
    ck_assert(strncmp(r.member, "ab_cd__", 7) == 0);
    for (size_t i = 7; i < 64; i++)
        ck_assert_int_eq(r.member[i], '_');
    ck_assert_int_eq(r.member[64], '-');
}
END_TEST

/* The leader's assignments: an id that is not a member is ignored, a member it leaves out
 * gets an empty assignment, as in Kafka; a second SyncGroup of one follower answers the first
 * REBALANCE_IN_PROGRESS and is itself answered with the assignment. */
START_TEST(sync_assignments_unknown_and_missing)
{
    struct rec a, b, c, sb1, sb2, sc, sa;
    join(&a, "sa", "");
    join(&b, "sa", "");
    join(&c, "sa", "");
    settle();
    struct rec *js[] = {&a, &b, &c};
    struct rec *ld = NULL, *f1 = NULL, *f2 = NULL;
    for (int i = 0; i < 3; i++) {
        if (js[i]->n_members)
            ld = js[i];
        else if (!f1)
            f1 = js[i];
        else
            f2 = js[i];
    }
    ck_assert_ptr_nonnull(ld);
    ck_assert_ptr_nonnull(f2);
    sync_g(&sb1, "sa", f1->gen, f1->member, 0, NULL, NULL);
    sync_g(&sb2, "sa", f1->gen, f1->member, 0, NULL, NULL);
    ck_assert_int_eq(sb1.calls, 1);
    ck_assert_int_eq(sb1.err, KP_ERR_REBALANCE_IN_PROGRESS);
    ck_assert_int_eq(sb2.calls, 0);
    sync_g(&sc, "sa", f2->gen, f2->member, 0, NULL, NULL);
    const char *ids[] = {"not-a-member", f1->member, ld->member};
    const char *as[] = {"ghost", "for-f1", "for-leader"};
    sync_g(&sa, "sa", ld->gen, ld->member, 3, ids, as);
    ck_assert_int_eq(sa.err, 0);
    ck_assert_str_eq(sa.assignment, "for-leader");
    ck_assert_int_eq(sb2.calls, 1);
    ck_assert_int_eq(sb2.err, 0);
    ck_assert_str_eq(sb2.assignment, "for-f1");
    ck_assert_int_eq(sc.calls, 1);
    ck_assert_int_eq(sc.err, 0);
    ck_assert_int_eq(sc.assignment_len, 0);
    ck_assert_int_eq(info("sa").n_members, 3);
    ck_assert_int_eq(info("sa").state, BR_GROUP_STABLE);
}
END_TEST

/* Deadlines of many groups fire in order, each at its time, whatever the heartbeats did to
 * them meanwhile: 40 one-member groups with session timeouts 6.0 s, 6.1 s, ... ; the even
 * ones heartbeat once at 3 s (their sessions end 3 s later than the odd ones'). */
START_TEST(deadlines_of_many_groups)
{
    struct rec r[40], s;
    char name[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(name[i], sizeof name[i], "dl-%d", i);
        join_p(&r[i], name[i], "", "range", 6000 + 100 * i, 10000);
    }
    advance(DELAY);
    int64_t t0 = clk;
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(r[i].err, 0);
        const char *ids[] = {r[i].member};
        const char *as[] = {"x"};
        sync_g(&s, name[i], r[i].gen, r[i].member, 1, ids, as);
        ck_assert_int_eq(s.err, 0);
    }
    for (int64_t t = 100; t <= 14000; t += 100) {
        clk = t0 + t;
        if (t == 3000)
            for (int i = 0; i < 40; i += 2)
                ck_assert_int_eq(br_group_heartbeat(G, S(name[i]), r[i].gen, S(r[i].member)), 0);
        int64_t next = br_groups_tick(G);
        ck_assert_int_gt(next, clk);
        for (int i = 0; i < 40; i++) {
            int64_t end = (i % 2 == 0 ? 3000 : 0) + 6000 + 100 * i;
            ck_assert_int_eq(info(name[i]).n_members, t < end ? 1 : 0);
        }
    }
}
END_TEST

/* ---- KIP-394 --------------------------------------------------------------------------------- */

/* JoinGroup v4+ without an id: MEMBER_ID_REQUIRED at once with a new id, kept pending (no
 * member, no rebalance); the JoinGroup with that id makes it a member. */
START_TEST(member_id_required)
{
    struct rec a;
    join4(&a, "k", "");
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.err, KP_ERR_MEMBER_ID_REQUIRED);
    ck_assert_int_eq(a.gen, -1);
    ck_assert_str_eq(a.leader, "");
    ck_assert_int_eq(a.n_members, 0);
    ck_assert(strncmp(a.member, "cli-", 4) == 0);
    ck_assert_int_eq(strlen(a.member), 4 + 36);
    struct br_group_info i = info("k");
    ck_assert_int_eq(i.state, BR_GROUP_EMPTY); /* no rebalance for a pending id */
    ck_assert_int_eq(i.n_members, 0);
    ck_assert_int_eq(i.n_pending, 1);
    /* not a member */
    ck_assert_int_eq(br_group_heartbeat(G, S("k"), 0, S(a.member)), KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(br_group_commit_check(G, S("k"), 0, S(a.member)), KP_ERR_UNKNOWN_MEMBER_ID);
    struct rec s;
    sync_g(&s, "k", 0, a.member, 0, NULL, NULL);
    ck_assert_int_eq(s.err, KP_ERR_UNKNOWN_MEMBER_ID);
    /* joining with it */
    struct rec j;
    join4(&j, "k", a.member);
    ck_assert_int_eq(j.calls, 0); /* parked for the initial delay, as any new member */
    i = info("k");
    ck_assert_int_eq(i.state, BR_GROUP_PREPARING_REBALANCE);
    ck_assert_int_eq(i.n_members, 1);
    ck_assert_int_eq(i.n_pending, 0);
    advance(DELAY);
    ck_assert_int_eq(j.calls, 1);
    ck_assert_int_eq(j.err, 0);
    ck_assert_int_eq(j.gen, 1);
    ck_assert_str_eq(j.member, a.member);
    ck_assert_str_eq(j.leader, a.member);
    /* the id is spent: the next JoinGroup with it is the known member's */
    struct rec k2;
    join4(&k2, "k", a.member);
    ck_assert_int_eq(k2.calls, 1); /* CompletingRebalance, same protocols: the current answer */
    ck_assert_int_eq(k2.gen, 1);
    /* JoinGroup v0-3 without an id: a member at once, as Kafka */
    struct rec old;
    join(&old, "k-old", "");
    ck_assert_int_eq(old.calls, 0);
    ck_assert_int_eq(info("k-old").n_members, 1);
    ck_assert_int_eq(info("k-old").n_pending, 0);
}
END_TEST

/* The librdkafka subscription change of issue 11, with the clock: the first JoinGroup's
 * answer is dropped by the client, which joins again with new metadata and the id it knows.
 * v4+: it knows its id (MEMBER_ID_REQUIRED came first), the rejoin is the same member and
 * the next generation follows at once. v0-3 (and before KIP-394 here): it knows none, the
 * first JoinGroup's member is a ghost the rebalance waits for until its session expires, as
 * Kafka does for those versions. */
START_TEST(dropped_first_join_leaves_no_ghost)
{
    struct rec id, first, again;
    join_pv(&id, "sub", "", "range", "-a", 10000, 60000, true);
    ck_assert_int_eq(id.err, KP_ERR_MEMBER_ID_REQUIRED);
    join_pv(&first, "sub", id.member, "range", "-a", 10000, 60000, true);
    ck_assert_int_eq(first.calls, 0);
    advance(DELAY);
    ck_assert_int_eq(first.calls, 1); /* generation 1: the client drops this answer */
    join_pv(&again, "sub", id.member, "range", "-a,b", 10000, 60000, true);
    ck_assert_int_eq(again.calls, 1); /* at once */
    ck_assert_int_eq(again.err, 0);
    ck_assert_int_eq(again.gen, 2);
    ck_assert_int_eq(again.n_members, 1);
    ck_assert_str_eq(again.meta[0], "range-meta-a,b");

    /* the same with JoinGroup v0-3 */
    struct rec o1, o2;
    join_pv(&o1, "sub-old", "", "range", "-a", 10000, 60000, false);
    advance(DELAY);
    ck_assert_int_eq(o1.calls, 1); /* dropped */
    join_pv(&o2, "sub-old", "", "range", "-a,b", 10000, 60000, false);
    ck_assert_int_eq(o2.calls, 0);
    advance(10000 - 1);
    ck_assert_int_eq(o2.calls, 0); /* waiting for o1's member, whose session runs */
    advance(1);
    ck_assert_int_eq(o2.calls, 1);
    ck_assert_int_eq(o2.gen, 2);
    ck_assert_int_eq(o2.n_members, 1);
}
END_TEST

/* A pending id whose client never comes back starts no rebalance and holds none (Kafka's
 * join phase would wait for it until its session timeout: a deliberate difference); when its
 * session timeout passes it is forgotten, and a JoinGroup with it is UNKNOWN_MEMBER_ID. */
START_TEST(pending_id_not_waited_for_and_expires)
{
    struct rec a;
    one_member("pw", &a);
    struct rec ghost;
    join_pv(&ghost, "pw", "", "range,roundrobin", "", 6000, 60000, true);
    ck_assert_int_eq(ghost.err, KP_ERR_MEMBER_ID_REQUIRED);
    ck_assert_int_eq(info("pw").state, BR_GROUP_STABLE);
    ck_assert_int_eq(br_group_heartbeat(G, S("pw"), 1, S(a.member)), 0);
    /* the leader rejoins: the rebalance ends at once, without the pending id */
    struct rec r;
    join(&r, "pw", a.member);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.gen, 2);
    ck_assert_int_eq(r.n_members, 1);
    /* a new v4 member during a rebalance: joins it, the ghost still counts for nothing */
    struct rec b_id, b, a2;
    join(&a2, "pw", a.member); /* CompletingRebalance, same protocols: current answer */
    ck_assert_int_eq(a2.gen, 2);
    join4(&b_id, "pw", "");
    join4(&b, "pw", b_id.member);
    ck_assert_int_eq(b.calls, 0); /* a's rejoin is awaited */
    join(&a2, "pw", a.member);
    ck_assert_int_eq(a2.calls, 1);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(b.gen, 3);
    ck_assert_int_eq(a2.n_members, 2);
    /* expiry: 6 s after it was handed out (the heartbeats keep a and b) */
    ck_assert_int_eq(info("pw").n_pending, 1);
    advance(5999);
    ck_assert_int_eq(info("pw").n_pending, 1);
    ck_assert_int_eq(br_group_heartbeat(G, S("pw"), 3, S(a.member)), 0);
    ck_assert_int_eq(br_group_heartbeat(G, S("pw"), 3, S(b.member)), 0);
    advance(1);
    ck_assert_int_eq(info("pw").n_pending, 0);
    struct rec late;
    join4(&late, "pw", ghost.member);
    ck_assert_int_eq(late.err, KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(info("pw").n_members, 2);
}
END_TEST

START_TEST(pending_id_leaves)
{
    struct rec a;
    join4(&a, "pl", "");
    ck_assert_int_eq(br_group_leave(G, S("pl"), S(a.member)), 0);
    ck_assert_int_eq(info("pl").n_pending, 0);
    ck_assert_int_eq(br_group_leave(G, S("pl"), S(a.member)), KP_ERR_UNKNOWN_MEMBER_ID);
    struct rec j;
    join4(&j, "pl", a.member);
    ck_assert_int_eq(j.err, KP_ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

/* Pending ids are capped at group.max.size per group (the oldest goes), charged in the byte
 * budget, dropped with their group when it is evicted; GROUP_MAX_SIZE_REACHED when the
 * members are full, for a new id and for a pending one (which is then forgotten, as Kafka). */
START_TEST(pending_id_limits)
{
    teardown();
    struct br_groups_cfg c = cfg_default();
    c.max_size = 2;
    c.max_groups = 2;
    c.initial_rebalance_delay_ms = 0;
    c.max_total_bytes = 3 * BR_GROUP_PENDING_OVERHEAD + 100;
    ck_assert_int_eq(br_groups_new(&c, fake_clock, NULL, &G), 0);
    struct rec p[3];
    for (int i = 0; i < 3; i++) {
        join4(&p[i], "pc", "");
        ck_assert_int_eq(p[i].err, KP_ERR_MEMBER_ID_REQUIRED);
    }
    ck_assert_int_eq(info("pc").n_pending, 2); /* the oldest went */
    struct rec j;
    join4(&j, "pc", p[0].member);
    ck_assert_int_eq(j.err, KP_ERR_UNKNOWN_MEMBER_ID);
    /* the budget: 2 pending here, 1 more fits, then none */
    struct rec q, q2;
    join4(&q, "pc2", "");
    ck_assert_int_eq(q.err, KP_ERR_MEMBER_ID_REQUIRED);
    join4(&q2, "pc2", "");
    ck_assert_int_eq(q2.err, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(br_group_leave(G, S("pc2"), S(q.member)), 0); /* gives its bytes back */
    join4(&q2, "pc2", "");
    ck_assert_int_eq(q2.err, KP_ERR_MEMBER_ID_REQUIRED);
    /* no room for the member a pending id would make: refused, the id stays pending */
    ck_assert_int_eq(br_group_leave(G, S("pc2"), S(q2.member)), 0);
    ck_assert_int_eq(br_group_leave(G, S("pc"), S(p[2].member)), 0);
    struct rec m1;
    join4(&m1, "pc", p[1].member);
    ck_assert_int_eq(m1.err, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(info("pc").n_pending, 1);
    ck_assert_int_eq(info("pc").n_members, 0);
    /* members full: a new id is refused; a pending id joining is refused and forgotten */
    struct rec m2_id, m2, n;
    teardown();
    c.max_total_bytes = 64 << 20;
    ck_assert_int_eq(br_groups_new(&c, fake_clock, NULL, &G), 0);
    join4(&m2_id, "full", "");
    struct rec x1, x2;
    join(&x1, "full", ""); /* v0-3 members fill the group */
    join(&x2, "full", "");
    ck_assert_int_eq(info("full").n_members, 2);
    join4(&n, "full", "");
    ck_assert_int_eq(n.err, KP_ERR_GROUP_MAX_SIZE_REACHED);
    join4(&m2, "full", m2_id.member);
    ck_assert_int_eq(m2.err, KP_ERR_GROUP_MAX_SIZE_REACHED);
    ck_assert_int_eq(info("full").n_pending, 0);
    /* a group with only pending ids has no members: evicted to make room */
    struct rec e1, e2, e3;
    join4(&e1, "ev1", "");
    ck_assert_int_eq(e1.err, KP_ERR_MEMBER_ID_REQUIRED);
    join4(&e2, "ev2", "");
    ck_assert_int_eq(e2.err, KP_ERR_MEMBER_ID_REQUIRED);
    ck_assert_int_eq(info("ev1").state, BR_GROUP_NONE);
    join4(&e3, "ev1", e1.member);
    ck_assert_int_eq(e3.err, KP_ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(static_member_restarts_without_rebalance)
{
    struct rec a, b;
    join_static(&a, "gs", "", "i-a", "range");
    join_static(&b, "gs", "", "i-b", "range");
    ck_assert_int_eq(a.calls + b.calls, 0); /* members at once: no MEMBER_ID_REQUIRED */
    settle();
    ck_assert_int_eq(a.err, 0);
    ck_assert_int_eq(b.err, 0);
    ck_assert_int_eq(a.gen, 1);
    ck_assert_str_eq(b.leader, a.member);
    struct rec s;
    const char *ids[] = {a.member, b.member};
    const char *as[] = {"A0", "B0"};
    sync_g(&s, "gs", 1, a.member, 2, ids, as);
    ck_assert_str_eq(s.assignment, "A0");
    sync_g(&s, "gs", 1, b.member, 0, NULL, NULL);
    ck_assert_str_eq(s.assignment, "B0");

    /* b restarts: a new member id at once, the same generation and assignment */
    struct rec b2;
    join_static(&b2, "gs", "", "i-b", "range");
    ck_assert_int_eq(b2.calls, 1);
    ck_assert_int_eq(b2.err, 0);
    ck_assert_int_eq(b2.gen, 1);
    ck_assert_str_ne(b2.member, b.member);
    ck_assert_str_eq(b2.leader, a.member);
    ck_assert_int_eq(info("gs").state, BR_GROUP_STABLE);
    sync_g(&s, "gs", 1, b2.member, 0, NULL, NULL);
    ck_assert_int_eq(s.err, 0);
    ck_assert_str_eq(s.assignment, "B0");
    ck_assert_int_eq(br_group_heartbeat_inst(G, S("gs"), 1, S(a.member), S("i-a")), 0);

    /* the old id is fenced wherever it names the instance */
    ck_assert_int_eq(br_group_heartbeat_inst(G, S("gs"), 1, S(b.member), S("i-b")),
                     KP_ERR_FENCED_INSTANCE_ID);
    ck_assert_int_eq(br_group_heartbeat(G, S("gs"), 1, S(b.member)), KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(br_group_heartbeat_inst(G, S("gs"), 1, S(b2.member), S("i-b")), 0);
    ck_assert_int_eq(br_group_commit_check_inst(G, S("gs"), 1, S(b.member), S("i-b")),
                     KP_ERR_FENCED_INSTANCE_ID);
    ck_assert_int_eq(br_group_commit_check_inst(G, S("gs"), 1, S(b2.member), S("i-b")), 0);
    struct rec j;
    join_static(&j, "gs", b.member, "i-b", "range");
    ck_assert_int_eq(j.err, KP_ERR_FENCED_INSTANCE_ID);
    struct br_group_sync_req sr = {.group_id = S("gs"),
                                   .generation_id = 1,
                                   .member_id = S(b.member),
                                   .group_instance_id = S("i-b")};
    rec_init(&s);
    br_group_sync(G, &sr, &s.w);
    ck_assert_int_eq(s.err, KP_ERR_FENCED_INSTANCE_ID);

    /* the leader restarts: answered under its old id, so it does not assign */
    struct rec a2;
    join_static(&a2, "gs", "", "i-a", "range");
    ck_assert_int_eq(a2.err, 0);
    ck_assert_str_eq(a2.leader, a.member);
    ck_assert_str_ne(a2.member, a.member);
    ck_assert_int_eq(a2.n_members, 0);
    sync_g(&s, "gs", 1, a2.member, 0, NULL, NULL);
    ck_assert_str_eq(s.assignment, "A0");
    ck_assert_int_eq(info("gs").generation_id, 1);
    ck_assert_int_eq(info("gs").n_members, 2);

    /* leaving by instance id: a stale member id is fenced, none or the current one leaves */
    ck_assert_int_eq(br_group_leave_inst(G, S("gs"), S(b.member), S("i-b")),
                     KP_ERR_FENCED_INSTANCE_ID);
    ck_assert_int_eq(br_group_leave_inst(G, S("gs"), S("nobody"), S("i-x")),
                     KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(br_group_leave_inst(G, S("gs"), S(""), S("i-b")), 0);
    ck_assert_int_eq(info("gs").n_members, 1);
    ck_assert_int_eq(info("gs").state, BR_GROUP_PREPARING_REBALANCE);
}
END_TEST

START_TEST(static_member_restart_with_other_protocols_rebalances)
{
    struct rec a;
    join_static(&a, "gp", "", "i-a", "range");
    advance(DELAY);
    struct rec s;
    const char *ids[] = {a.member};
    const char *as[] = {"A0"};
    sync_g(&s, "gp", 1, a.member, 1, ids, as);
    ck_assert_int_eq(info("gp").state, BR_GROUP_STABLE);
    struct rec a2;
    join_static(&a2, "gp", "", "i-a", "roundrobin");
    /* a rebalance, which the only member has already joined: generation 2 at once */
    ck_assert_int_eq(a2.calls, 1);
    ck_assert_int_eq(info("gp").state, BR_GROUP_COMPLETING_REBALANCE);
    ck_assert_int_eq(a2.gen, 2);
    ck_assert_str_eq(a2.proto, "roundrobin");
    ck_assert_str_eq(a2.leader, a2.member);
    ck_assert_int_eq(br_group_heartbeat_inst(G, S("gp"), 2, S(a.member), S("i-a")),
                     KP_ERR_FENCED_INSTANCE_ID);
}
END_TEST

/* The timer thread sleeps until the next deadline, not to a 10 ms floor: a session expired
 * 10 ms late lost the race with librdkafka's 0081_admin, which waits exactly the session
 * timeout after its members' last commit and then deletes the group (NON_EMPTY_GROUP). */
START_TEST(timer_wait_is_the_deadline_within_a_millisecond)
{
    ck_assert_int_eq(br_timer_wait_ms(3), 3);
    ck_assert_int_eq(br_timer_wait_ms(1), 1);
    ck_assert_int_eq(br_timer_wait_ms(0), 1);
    ck_assert_int_eq(br_timer_wait_ms(-7), 1);
    ck_assert_int_eq(br_timer_wait_ms(999), 999);
    ck_assert_int_eq(br_timer_wait_ms(INT64_MAX), 1000);
}
END_TEST

static bool match_prefix_u(void *arg, const char *id, size_t len)
{
    (void)arg;
    return len > 0 && id[0] == 'u';
}

/* A cluster's coordinator losing a __consumer_offsets partition: the matching groups go, their
 * parked JoinGroup / SyncGroup answered NOT_COORDINATOR; the others stay as they were. */
START_TEST(unload_answers_parked_and_forgets)
{
    struct rec stable;
    one_member("keep", &stable);
    struct rec su;
    one_member("u2", &su);
    struct rec j1;
    join(&j1, "u1", ""); /* parked: the initial rebalance delay */
    struct rec other;
    join(&other, "u2", ""); /* a second member: a rebalance, parked for the first's rejoin */
    ck_assert_int_eq(j1.calls + other.calls, 0);
    ck_assert_int_eq(br_groups_unload(G, match_prefix_u, NULL), 2);
    ck_assert_int_eq(other.calls, 1);
    ck_assert_int_eq(other.err, KP_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(j1.calls, 1);
    ck_assert_int_eq(j1.err, KP_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(info("u1").state, BR_GROUP_NONE);
    ck_assert_int_eq(info("u2").state, BR_GROUP_NONE);
    ck_assert_int_eq(info("keep").state, BR_GROUP_STABLE);
    ck_assert_int_eq(br_group_heartbeat(G, S("keep"), stable.gen, S(stable.member)), 0);
    /* members of a dropped group rejoin as new members, generation afresh */
    ck_assert_int_eq(br_group_heartbeat(G, S("u2"), su.gen, S(su.member)),
                     KP_ERR_UNKNOWN_MEMBER_ID);
    advance(2 * DELAY); /* no timer of the dropped groups fires */
    ck_assert_int_eq(br_groups_unload(G, match_prefix_u, NULL), 0);
}
END_TEST

/* ---- membership stored and restored (a cluster's coordinator move) ------------------------ */

/* What the store hook was given last, copied. */
static struct stored {
    int calls;
    char group[64], ptype[64], proto[64], leader[300];
    bool proto_null, leader_null;
    int32_t gen, n;
    char member[4][300], inst[4][64], sub[4][64], assign[4][64];
    int32_t session[4], rebalance[4];
} ST;

static void cps(char *dst, size_t cap, struct kp_str x) { cp(dst, cap, x.ptr, x.len); }

static void on_store(void *arg, const struct br_group_snap *s)
{
    ck_assert_ptr_eq(arg, &ST);
    ST.calls++;
    cps(ST.group, sizeof ST.group, s->group_id);
    cps(ST.ptype, sizeof ST.ptype, s->protocol_type);
    ST.proto_null = s->protocol_name.len < 0;
    ST.leader_null = s->leader_id.len < 0;
    cps(ST.proto, sizeof ST.proto, s->protocol_name);
    cps(ST.leader, sizeof ST.leader, s->leader_id);
    ST.gen = s->generation;
    ST.n = s->n_members;
    ck_assert(s->state_ms > 0);
    for (int32_t i = 0; i < s->n_members && i < 4; i++) {
        const struct br_group_snap_member *m = &s->members[i];
        cps(ST.member[i], sizeof ST.member[i], m->member_id);
        cps(ST.inst[i], sizeof ST.inst[i], m->group_instance_id);
        cp(ST.sub[i], sizeof ST.sub[i], m->subscription.ptr, m->subscription.len);
        cp(ST.assign[i], sizeof ST.assign[i], m->assignment.ptr, m->assignment.len);
        ST.session[i] = m->session_timeout_ms;
        ST.rebalance[i] = m->rebalance_timeout_ms;
    }
}

START_TEST(store_hook_sees_stable_and_empty)
{
    memset(&ST, 0, sizeof ST);
    br_groups_set_store(G, on_store, &ST);
    struct rec j;
    one_member("g", &j);
    ck_assert_int_eq(ST.calls, 1); /* Stable: once, with the leader's assignment */
    ck_assert_str_eq(ST.group, "g");
    ck_assert_str_eq(ST.ptype, "consumer");
    ck_assert_str_eq(ST.proto, "range");
    ck_assert_str_eq(ST.leader, j.member);
    ck_assert_int_eq(ST.gen, 1);
    ck_assert_int_eq(ST.n, 1);
    ck_assert_str_eq(ST.member[0], j.member);
    ck_assert_str_eq(ST.sub[0], "range-meta"); /* the chosen protocol's metadata */
    ck_assert_str_eq(ST.assign[0], "A0");
    ck_assert_int_eq(ST.session[0], 10000);
    ck_assert_int_eq(ST.rebalance[0], 60000);
    /* heartbeats store nothing; the last member leaving makes it Empty: stored, no members */
    ck_assert_int_eq(br_group_heartbeat(G, S("g"), 1, S(j.member)), 0);
    ck_assert_int_eq(ST.calls, 1);
    ck_assert_int_eq(br_group_leave(G, S("g"), S(j.member)), 0);
    ck_assert_int_eq(info("g").state, BR_GROUP_EMPTY);
    ck_assert_int_eq(ST.calls, 2);
    ck_assert_int_eq(ST.gen, 2);
    ck_assert_int_eq(ST.n, 0);
    ck_assert(ST.proto_null && ST.leader_null);
    br_groups_set_store(G, NULL, NULL);
}
END_TEST

START_TEST(restore_makes_the_group_stable)
{
    memset(&ST, 0, sizeof ST);
    br_groups_set_store(G, on_store, &ST);
    struct br_group_snap_member m[2] = {
        {.member_id = S("m-1"),
         .group_instance_id = KP_STR_NULL,
         .client_id = S("c1"),
         .client_host = S("/10.0.0.1"),
         .rebalance_timeout_ms = 60000,
         .session_timeout_ms = 10000,
         .subscription = {(const uint8_t *)"sub1", 4},
         .assignment = {(const uint8_t *)"as1", 3}},
        {.member_id = S("m-2"),
         .group_instance_id = S("inst-2"),
         .client_id = S("c2"),
         .client_host = S("/10.0.0.2"),
         .rebalance_timeout_ms = 60000,
         .session_timeout_ms = 20000,
         .subscription = {(const uint8_t *)"sub2", 4},
         .assignment = {NULL, 0}},
    };
    struct br_group_snap snap = {
        .group_id = S("r"),
        .protocol_type = S("consumer"),
        .generation = 7,
        .protocol_name = S("range"),
        .leader_id = S("m-2"),
        .state_ms = 5,
        .n_members = 2,
        .members = m,
    };
    ck_assert_int_eq(br_groups_restore(G, &snap), 0);
    ck_assert_int_eq(ST.calls, 0); /* a restore is not stored again */
    struct br_group_info i = info("r");
    ck_assert_int_eq(i.state, BR_GROUP_STABLE);
    ck_assert_int_eq(i.generation_id, 7);
    ck_assert_int_eq(i.n_members, 2);
    /* the members go on: heartbeats and commits at generation 7 */
    ck_assert_int_eq(br_group_heartbeat(G, S("r"), 7, S("m-1")), 0);
    ck_assert_int_eq(br_group_heartbeat_inst(G, S("r"), 7, S("m-2"), S("inst-2")), 0);
    ck_assert_int_eq(br_group_heartbeat(G, S("r"), 6, S("m-1")), KP_ERR_ILLEGAL_GENERATION);
    ck_assert_int_eq(br_group_commit_check(G, S("r"), 7, S("m-1")), 0);
    ck_assert_int_eq(br_group_heartbeat_inst(G, S("r"), 7, S("m-1"), S("inst-2")),
                     KP_ERR_FENCED_INSTANCE_ID);
    /* a follower's SyncGroup in Stable gets its restored assignment */
    struct rec sy;
    sync_g(&sy, "r", 7, "m-1", 0, NULL, NULL);
    ck_assert_int_eq(sy.calls, 1);
    ck_assert_int_eq(sy.err, 0);
    ck_assert_str_eq(sy.assignment, "as1");
    /* a later snapshot replaces the group, whatever its generation (log order decides) */
    snap.generation = 6;
    ck_assert_int_eq(br_groups_restore(G, &snap), 0);
    ck_assert_int_eq(info("r").generation_id, 6);
    snap.generation = 8;
    snap.n_members = 1;
    snap.leader_id = S("m-1");
    ck_assert_int_eq(br_groups_restore(G, &snap), 0);
    i = info("r");
    ck_assert_int_eq(i.generation_id, 8);
    ck_assert_int_eq(i.n_members, 1);
    ck_assert_int_eq(br_group_heartbeat(G, S("r"), 8, S("m-2")), KP_ERR_UNKNOWN_MEMBER_ID);
    /* restored sessions count from the restore: silent members expire */
    advance(10001);
    ck_assert_int_eq(info("r").n_members, 0);
    ck_assert_int_eq(br_group_heartbeat(G, S("r"), 8, S("m-1")), KP_ERR_UNKNOWN_MEMBER_ID);
    /* an Empty snapshot: Empty at its generation */
    struct br_group_snap empty = {.group_id = S("e"),
                                  .protocol_type = S("consumer"),
                                  .generation = 3,
                                  .protocol_name = KP_STR_NULL,
                                  .leader_id = KP_STR_NULL,
                                  .state_ms = -1};
    ck_assert_int_eq(br_groups_restore(G, &empty), 0);
    i = info("e");
    ck_assert_int_eq(i.state, BR_GROUP_EMPTY);
    ck_assert_int_eq(i.generation_id, 3);
    /* forgotten (a load replaying its deletion) */
    ck_assert(br_groups_forget(G, S("e")));
    ck_assert(!br_groups_forget(G, S("e")));
    ck_assert_int_eq(info("e").state, BR_GROUP_NONE);
    br_groups_set_store(G, NULL, NULL);
}
END_TEST

START_TEST(restore_refuses_what_it_would_not_make)
{
    struct br_group_snap_member m = {.member_id = S("m"),
                                     .group_instance_id = KP_STR_NULL,
                                     .client_id = S("c"),
                                     .client_host = S("h"),
                                     .rebalance_timeout_ms = 1000,
                                     .session_timeout_ms = 1000,
                                     .subscription = {(const uint8_t *)"s", 1},
                                     .assignment = {(const uint8_t *)"a", 1}};
    struct br_group_snap_member two[2] = {m, m}; /* one member id twice */
    struct br_group_snap snap = {.group_id = S("x"),
                                 .protocol_type = S("consumer"),
                                 .generation = 1,
                                 .protocol_name = S("range"),
                                 .leader_id = S("m"),
                                 .n_members = 1,
                                 .members = &m};
    struct br_group_snap bad = snap;
    bad.members = two;
    bad.n_members = 2;
    ck_assert_int_eq(br_groups_restore(G, &bad), -EINVAL);
    bad = snap;
    bad.protocol_name = KP_STR_NULL; /* members without a protocol */
    ck_assert_int_eq(br_groups_restore(G, &bad), -EINVAL);
    bad = snap;
    bad.group_id = S("");
    ck_assert_int_eq(br_groups_restore(G, &bad), -EINVAL);
    struct br_group_snap_member bm = m;
    bm.session_timeout_ms = 0;
    bad = snap;
    bad.members = &bm;
    ck_assert_int_eq(br_groups_restore(G, &bad), -EINVAL);
    bm = m;
    bm.assignment.len = (1 << 20) + 1; /* over max_member_bytes (not read: refused first) */
    ck_assert_int_eq(br_groups_restore(G, &bad), -EINVAL);
    ck_assert_int_eq(info("x").state, BR_GROUP_NONE);
    br_groups_stop(G);
    ck_assert_int_eq(br_groups_restore(G, &snap), -ESHUTDOWN);
}
END_TEST

/* The record's value as br_cotopic writes and reads it: a round trip, and every cut short. */
START_TEST(group_value_round_trip)
{
    struct br_group_snap_member m[2] = {
        {.member_id = S("m-1"),
         .group_instance_id = KP_STR_NULL,
         .client_id = S("c1"),
         .client_host = S("/h1"),
         .rebalance_timeout_ms = 60000,
         .session_timeout_ms = 10000,
         .subscription = {(const uint8_t *)"sub1", 4},
         .assignment = {(const uint8_t *)"as1", 3}},
        {.member_id = S("m-2"),
         .group_instance_id = S("i2"),
         .client_id = S("c2"),
         .client_host = S("/h2"),
         .rebalance_timeout_ms = 5000,
         .session_timeout_ms = 6000,
         .subscription = {NULL, 0},
         .assignment = {NULL, 0}},
    };
    struct br_group_snap snap = {.group_id = S("g"),
                                 .protocol_type = S("consumer"),
                                 .generation = 42,
                                 .protocol_name = S("range"),
                                 .leader_id = S("m-2"),
                                 .state_ms = 1234,
                                 .n_members = 2,
                                 .members = m};
    uint8_t buf[512];
    size_t need = br_cotopic_group_value_size(&snap);
    size_t n = br_cotopic_group_value(buf, sizeof buf, &snap);
    ck_assert_uint_eq(n, need);
    ck_assert_uint_eq(br_cotopic_group_value(buf, n - 1, &snap), 0); /* cap short */
    ck_assert_int_eq(buf[0] << 8 | buf[1], 3);
    struct br_group_snap out;
    struct br_group_snap_member om[2];
    ck_assert_int_eq(br_cotopic_group_parse(buf, n, &out, om, 1), -ENOSPC);
    ck_assert_int_eq(out.n_members, 2);
    ck_assert_int_eq(br_cotopic_group_parse(buf, n, &out, om, 2), 0);
    ck_assert_int_eq(out.generation, 42);
    ck_assert_int_eq(out.state_ms, 1234);
    ck_assert(out.protocol_name.len == 5 && memcmp(out.protocol_name.ptr, "range", 5) == 0);
    ck_assert(out.leader_id.len == 3 && memcmp(out.leader_id.ptr, "m-2", 3) == 0);
    ck_assert_int_lt(om[0].group_instance_id.len, 0);
    ck_assert(om[1].group_instance_id.len == 2 &&
              memcmp(om[1].group_instance_id.ptr, "i2", 2) == 0);
    ck_assert(om[0].assignment.len == 3 && memcmp(om[0].assignment.ptr, "as1", 3) == 0);
    ck_assert_int_eq(om[1].subscription.len, 0);
    ck_assert_int_eq(om[1].rebalance_timeout_ms, 5000);
    ck_assert_int_eq(om[1].session_timeout_ms, 6000);
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exactly cut bytes: ASan sees any overread */
        memcpy(copy, buf, cut);
        int rc = br_cotopic_group_parse(copy, cut, &out, om, 2);
        ck_assert_msg(rc == -EBADMSG, "cut at %zu: %d", cut, rc);
        free(copy);
    }
    /* an Empty group: null protocol and leader */
    struct br_group_snap empty = {.group_id = S("g"),
                                  .protocol_type = S(""),
                                  .generation = 3,
                                  .protocol_name = KP_STR_NULL,
                                  .leader_id = KP_STR_NULL,
                                  .state_ms = -1};
    n = br_cotopic_group_value(buf, sizeof buf, &empty);
    ck_assert_int_eq(br_cotopic_group_parse(buf, n, &out, om, 2), 0);
    ck_assert_int_eq(out.n_members, 0);
    ck_assert_int_lt(out.protocol_name.len, 0);
    ck_assert_int_lt(out.leader_id.len, 0);
    /* v0 (Kafka 0.10): no rebalance timeout (the session timeout serves), no timestamp */
    const uint8_t v0[] = {0,    0, 0, 8, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r', 0, 0,
                          0,    5, 0, 5, 'r', 'a', 'n', 'g', 'e', 0,   1,   'm', 0, 0,
                          0,    1, 0, 1, 'm', 0,   1,   'c', 0,   1,   'h', 0,   0, 0x27,
                          0x10, 0, 0, 0, 1,   's', 0,   0,   0,   1,   'a'};
    ck_assert_int_eq(br_cotopic_group_parse(v0, sizeof v0, &out, om, 2), 0);
    ck_assert_int_eq(out.generation, 5);
    ck_assert_int_eq(out.state_ms, -1);
    ck_assert_int_eq(out.n_members, 1);
    ck_assert_int_eq(om[0].session_timeout_ms, 10000);
    ck_assert_int_eq(om[0].rebalance_timeout_ms, 10000);
    /* another version */
    uint8_t v9[sizeof v0];
    memcpy(v9, v0, sizeof v0);
    v9[1] = 9;
    ck_assert_int_eq(br_cotopic_group_parse(v9, sizeof v9, &out, om, 2), -EINVAL);
}
END_TEST

static Suite *group_suite(void)
{
    Suite *s = suite_create("br_group");
    TCase *tc = tcase_create("state machine");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, join_one_member);
    tcase_add_test(tc, unload_answers_parked_and_forgets);
    tcase_add_test(tc, join_three_members);
    tcase_add_test(tc, protocol_selection);
    tcase_add_test(tc, protocol_tie_follows_leader);
    tcase_add_test(tc, inconsistent_protocol);
    tcase_add_test(tc, bad_join_inputs);
    tcase_add_test(tc, generation_increments);
    tcase_add_test(tc, follower_rejoin_in_stable_keeps_generation);
    tcase_add_test(tc, heartbeat_errors_by_state);
    tcase_add_test(tc, session_expiry_rebalances);
    tcase_add_test(tc, leave_rebalances);
    tcase_add_test(tc, leave_while_join_parked);
    tcase_add_test(tc, rebalance_timeout_drops_non_rejoiners);
    tcase_add_test(tc, sync_errors);
    tcase_add_test(tc, leader_gone_during_sync_wakes_followers);
    tcase_add_test(tc, commit_checks);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, total_bytes_budget);
    tcase_add_test(tc, total_bytes_counts_members);
    tcase_add_test(tc, pending_sync_expires);
    tcase_add_test(tc, eviction_takes_the_longest_empty);
    tcase_add_test(tc, many_groups);
    tcase_add_test(tc, member_id_from_odd_client_id);
    tcase_add_test(tc, sync_assignments_unknown_and_missing);
    tcase_add_test(tc, deadlines_of_many_groups);
    tcase_add_test(tc, stop_answers_waiters);
    tcase_add_test(tc, second_join_of_one_member_answers_the_first);
    tcase_add_test(tc, timer_thread_fires);
    tcase_add_test(tc, heartbeat_in_completing_rebalance_keeps_member);
    tcase_add_test(tc, protocol_count_capped);
    tcase_add_test(tc, sole_member_changes_protocol_type);
    tcase_add_test(tc, member_id_required);
    tcase_add_test(tc, dropped_first_join_leaves_no_ghost);
    tcase_add_test(tc, pending_id_not_waited_for_and_expires);
    tcase_add_test(tc, pending_id_leaves);
    tcase_add_test(tc, pending_id_limits);
    tcase_add_test(tc, static_member_restarts_without_rebalance);
    tcase_add_test(tc, static_member_restart_with_other_protocols_rebalances);
    tcase_add_test(tc, timer_wait_is_the_deadline_within_a_millisecond);
    tcase_add_test(tc, store_hook_sees_stable_and_empty);
    tcase_add_test(tc, restore_makes_the_group_stable);
    tcase_add_test(tc, restore_refuses_what_it_would_not_make);
    tcase_add_test(tc, group_value_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(group_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
