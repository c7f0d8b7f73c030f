/*
 * test_br_clu_decide — the controller's leader election (br_clu__decide, broker/clu/
 * br_clu_topics.c; docs/cluster.md, M2) on made-up live-broker sets, without ZooKeeper: a new
 * partition's first state, a dead leader replaced from the ISR in assignment order, offline
 * when no ISR member lives (the ISR kept, no unclean election), the leader back when an ISR
 * member returns, dead followers leaving the ISR, nothing written when nothing changes.
 * Preferred-replica election (br_clu__prefer, br_clu__imbalance, br_clu_prefer.c): the first
 * replica of the assignment leads again only when it is live and in the ISR (epoch + 1, ISR
 * unchanged); per broker, only once more than leader.imbalance.per.broker.percentage of its
 * preferred partitions are led elsewhere (Kafka's strict "greater than"). ElectLeaders'
 * answers that need no ZooKeeper write (br_clu__elect_run): not the controller, unknown
 * partitions, already led, preferred replica unavailable, and the unclean type. The cap on
 * one cluster-thread turn's controller writes (br_clu__turn_budget) and how the rebalance and
 * ElectLeaders stop at it, at a membership change and when closing, before any write.
 */
#include <errno.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "br_clu_int.h"

static struct br_clu c;
static struct member live[8];

static void set_live(int n, const int32_t *ids)
{
    memset(live, 0, sizeof live);
    for (int i = 0; i < n; i++)
        live[i].id = ids[i];
    c.members = live;
    c.nmembers = n;
}

static struct cpart part(int nrep, const int32_t *rep, int32_t leader, int32_t epoch, int nisr,
                         const int32_t *isr)
{
    struct cpart p;
    memset(&p, 0, sizeof p);
    p.rep.n = nrep;
    memcpy(p.rep.id, rep, (size_t)nrep * sizeof(int32_t));
    p.zver = leader == -2 ? -1 : 3;
    p.st.leader = leader == -2 ? -1 : leader;
    p.st.leader_epoch = epoch;
    p.st.isr.n = nisr;
    if (nisr)
        memcpy(p.st.isr.id, isr, (size_t)nisr * sizeof(int32_t));
    return p;
}

START_TEST(new_partition)
{
    set_live(2, (int32_t[]){1, 3});
    struct cpart p = part(3, (int32_t[]){2, 3, 1}, -2, 0, 0, NULL);
    struct br_clu_state ns;
    ck_assert(br_clu__decide(&c, &p, &ns));
    ck_assert_int_eq(ns.leader, 3); /* the first live replica */
    ck_assert_int_eq(ns.leader_epoch, 0);
    ck_assert_int_eq(ns.isr.n, 2); /* the live replicas, in assignment order */
    ck_assert_int_eq(ns.isr.id[0], 3);
    ck_assert_int_eq(ns.isr.id[1], 1);
    /* none live: no leader, the ISR the assignment */
    set_live(0, NULL);
    ck_assert(br_clu__decide(&c, &p, &ns));
    ck_assert_int_eq(ns.leader, -1);
    ck_assert_int_eq(ns.isr.n, 3);
}
END_TEST

START_TEST(leader_dies_and_returns)
{
    /* RF 3: leader 1 dies, 2 is not in the ISR, 3 is: 3 leads, 1 leaves the ISR */
    set_live(2, (int32_t[]){2, 3});
    struct cpart p = part(3, (int32_t[]){1, 2, 3}, 1, 4, 2, (int32_t[]){1, 3});
    struct br_clu_state ns;
    ck_assert(br_clu__decide(&c, &p, &ns));
    ck_assert_int_eq(ns.leader, 3);
    ck_assert_int_eq(ns.leader_epoch, 5);
    ck_assert_int_eq(ns.isr.n, 1);
    ck_assert_int_eq(ns.isr.id[0], 3);

    /* RF 1: its only replica dies: offline, the ISR kept, the epoch raised */
    set_live(2, (int32_t[]){2, 3});
    p = part(1, (int32_t[]){1}, 1, 0, 1, (int32_t[]){1});
    ck_assert(br_clu__decide(&c, &p, &ns));
    ck_assert_int_eq(ns.leader, -1);
    ck_assert_int_eq(ns.leader_epoch, 1);
    ck_assert_int_eq(ns.isr.n, 1);
    ck_assert_int_eq(ns.isr.id[0], 1);
    /* offline already: nothing to write */
    p = part(1, (int32_t[]){1}, -1, 1, 1, (int32_t[]){1});
    ck_assert(!br_clu__decide(&c, &p, &ns));
    /* it returns: it leads again */
    set_live(3, (int32_t[]){1, 2, 3});
    ck_assert(br_clu__decide(&c, &p, &ns));
    ck_assert_int_eq(ns.leader, 1);
    ck_assert_int_eq(ns.leader_epoch, 2);

    /* a live replica outside the ISR is never elected (no unclean election) */
    set_live(1, (int32_t[]){2});
    p = part(2, (int32_t[]){1, 2}, 1, 7, 1, (int32_t[]){1});
    ck_assert(br_clu__decide(&c, &p, &ns));
    ck_assert_int_eq(ns.leader, -1);
}
END_TEST

START_TEST(followers_and_steady_state)
{
    /* a live leader, a dead follower in the ISR: the follower leaves it */
    set_live(2, (int32_t[]){1, 3});
    struct cpart p = part(3, (int32_t[]){1, 2, 3}, 1, 2, 3, (int32_t[]){1, 2, 3});
    struct br_clu_state ns;
    ck_assert(br_clu__decide(&c, &p, &ns));
    ck_assert_int_eq(ns.leader, 1);
    ck_assert_int_eq(ns.leader_epoch, 3);
    ck_assert_int_eq(ns.isr.n, 2);
    ck_assert_int_eq(ns.isr.id[1], 3);
    /* everything live and in place: nothing */
    set_live(3, (int32_t[]){1, 2, 3});
    ck_assert(!br_clu__decide(&c, &p, &ns));
}
END_TEST

START_TEST(preferred_replica)
{
    struct br_clu_state ns;
    /* 1 preferred, 2 leads, 1 live and back in the ISR: 1 leads, epoch + 1, same ISR */
    set_live(3, (int32_t[]){1, 2, 3});
    struct cpart p = part(3, (int32_t[]){1, 2, 3}, 2, 5, 3, (int32_t[]){2, 3, 1});
    ck_assert_int_eq(br_clu__prefer(&c, &p, &ns), BR_CLU_PREFER_MOVE);
    ck_assert_int_eq(ns.leader, 1);
    ck_assert_int_eq(ns.leader_epoch, 6);
    ck_assert_int_eq(ns.isr.n, 3);
    ck_assert_int_eq(ns.isr.id[0], 2);
    ck_assert_int_eq(ns.isr.id[2], 1);
    /* live but not in the ISR (still catching up): never */
    p = part(3, (int32_t[]){1, 2, 3}, 2, 5, 2, (int32_t[]){2, 3});
    ck_assert_int_eq(br_clu__prefer(&c, &p, &ns), BR_CLU_PREFER_UNAVAILABLE);
    /* in the ISR but dead */
    set_live(2, (int32_t[]){2, 3});
    p = part(3, (int32_t[]){1, 2, 3}, 2, 5, 2, (int32_t[]){2, 1});
    ck_assert_int_eq(br_clu__prefer(&c, &p, &ns), BR_CLU_PREFER_UNAVAILABLE);
    /* it leads already; no state yet */
    set_live(3, (int32_t[]){1, 2, 3});
    p = part(3, (int32_t[]){1, 2, 3}, 1, 5, 3, (int32_t[]){1, 2, 3});
    ck_assert_int_eq(br_clu__prefer(&c, &p, &ns), BR_CLU_PREFER_LEADS);
    p = part(3, (int32_t[]){1, 2, 3}, -2, 0, 0, NULL);
    ck_assert_int_eq(br_clu__prefer(&c, &p, &ns), BR_CLU_PREFER_UNAVAILABLE);
}
END_TEST

/* br_clu__imbalance's fn: records which partitions it was handed, and their new leader. */
static int picked[64];
static int npicked;
static int note(void *ctx, struct ctopic *t, int32_t p, struct br_clu_state *ns)
{
    ck_assert_int_lt(npicked, 64);
    picked[npicked++] = p * 100 + ns->leader;
    return 0;
}

START_TEST(imbalance_per_broker)
{
    /* ten partitions: 0..4 prefer broker 1, 5..9 prefer broker 2; every ISR full */
    static struct cpart ps[10];
    struct ctopic t = {.name = (char *)"t", .np = 10, .p = ps};
    set_live(3, (int32_t[]){1, 2, 3});
    for (int i = 0; i < 10; i++) {
        int32_t pref = i < 5 ? 1 : 2;
        ps[i] = part(3, (int32_t[]){pref, 3, pref == 1 ? 2 : 1}, pref, 1, 3, (int32_t[]){1, 2, 3});
    }
    npicked = 0;
    ck_assert_int_eq(br_clu__imbalance(&c, &t, 1, 10, note, NULL), 0);
    ck_assert_int_eq(npicked, 0); /* balanced */

    /* broker 1 leads 4 of its 5 (20% elsewhere > 10%): partition 0 moves back; broker 2 all */
    ps[0].st.leader = 3;
    npicked = 0;
    ck_assert_int_eq(br_clu__imbalance(&c, &t, 1, 10, note, NULL), 0);
    ck_assert_int_eq(npicked, 1);
    ck_assert_int_eq(picked[0], 0 * 100 + 1);
    /* at 20% exactly nothing moves (strictly greater), at 19% it does */
    npicked = 0;
    ck_assert_int_eq(br_clu__imbalance(&c, &t, 1, 20, note, NULL), 0);
    ck_assert_int_eq(npicked, 0);
    npicked = 0;
    ck_assert_int_eq(br_clu__imbalance(&c, &t, 1, 19, note, NULL), 0);
    ck_assert_int_eq(npicked, 1);

    /* broker 2 led nowhere for 3 of its 5 (60%), one of them out of the ISR, one offline
     * (leader -1): those two with 2 in the ISR move; broker 1's 0 too */
    ps[5].st.leader = 1;
    ps[6].st.leader = 3;
    ps[6].st.isr = (struct br_clu_replicas){.n = 2, .id = {1, 3}};
    ps[7].st.leader = -1;
    npicked = 0;
    ck_assert_int_eq(br_clu__imbalance(&c, &t, 1, 10, note, NULL), 0);
    ck_assert_int_eq(npicked, 3);
    ck_assert_int_eq(picked[0], 0 * 100 + 1);
    ck_assert_int_eq(picked[1], 5 * 100 + 2);
    ck_assert_int_eq(picked[2], 7 * 100 + 2);
    /* 100%: never */
    npicked = 0;
    ck_assert_int_eq(br_clu__imbalance(&c, &t, 1, 100, note, NULL), 0);
    ck_assert_int_eq(npicked, 0);
    /* broker 2 dead: only broker 1's partition */
    set_live(2, (int32_t[]){1, 3});
    npicked = 0;
    ck_assert_int_eq(br_clu__imbalance(&c, &t, 1, 10, note, NULL), 0);
    ck_assert_int_eq(npicked, 1);
    ck_assert_int_eq(picked[0], 0 * 100 + 1);
}
END_TEST

START_TEST(elect_answers_without_a_write)
{
    static struct cpart ps[3];
    static struct ctopic tops[1];
    set_live(2, (int32_t[]){2, 3});                                    /* broker 1 is down */
    ps[0] = part(3, (int32_t[]){1, 2, 3}, 2, 4, 2, (int32_t[]){2, 3}); /* 1 preferred, dead */
    ps[1] = part(3, (int32_t[]){2, 3, 1}, 2, 4, 2, (int32_t[]){2, 3}); /* 2 leads: preferred */
    ps[2] = part(3, (int32_t[]){3, 1, 2}, 2, 4, 1, (int32_t[]){2});    /* 3 live, not in ISR */
    tops[0] = (struct ctopic){.name = (char *)"t", .np = 3, .p = ps};
    c.topics = tops;
    c.ntopics = 1;
    c.conf.broker_id = 2;
    c.controller = 3;
    c.ctl_zver = 5;
    struct br_clu_elect e[5] = {
        {"t", 1, 0, 1}, {"t", 1, 1, 1}, {"t", 1, 2, 1}, {"t", 1, 3, 1}, {"u", 1, 0, 1}};
    struct clu_req r = {.kind = REQ_ELECT, .elect = e, .np = 5};
    /* not the controller: the whole request */
    ck_assert_int_eq(br_clu__elect_run(&c, &r), -ENOTCONN);
    c.controller = 2;
    ck_assert_int_eq(br_clu__elect_run(&c, &r), 0);
    ck_assert_int_eq(e[0].rc, -ENXIO);    /* PREFERRED_LEADER_NOT_AVAILABLE: dead */
    ck_assert_int_eq(e[1].rc, -EALREADY); /* ELECTION_NOT_NEEDED */
    ck_assert_int_eq(e[2].rc, -ENXIO);    /* live but outside the ISR */
    ck_assert_int_eq(e[3].rc, -ENOENT);   /* no partition 3 */
    ck_assert_int_eq(e[4].rc, -ENOENT);   /* no topic u */
    /* unclean: a live leader everywhere but where it died */
    ps[2].st.leader = 1;
    r.unclean = true;
    ck_assert_int_eq(br_clu__elect_run(&c, &r), 0);
    ck_assert_int_eq(e[0].rc, -EALREADY);
    ck_assert_int_eq(e[1].rc, -EALREADY);
    ck_assert_int_eq(e[2].rc, -ENXIO); /* ELIGIBLE_LEADERS_NOT_AVAILABLE: never unclean */
    ck_assert_int_eq(e[3].rc, -ENOENT);
    /* a replaced controller (its epoch check failed): every partition NOT_CONTROLLER */
    c.ctl_zver = -1;
    ck_assert_int_eq(br_clu__elect_run(&c, &r), -ENOTCONN);
    c.topics = NULL;
    c.ntopics = 0;
}
END_TEST

/* The cap on a turn's controller writes (br_clu__turn_budget): BR_CLU_TURN_WRITES, a
 * membership change (go on after the turn's reads), closing or an expired session (stop).
 * Without ZooKeeper: each refusal comes before any write. */
START_TEST(turn_budget_caps_writes)
{
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(br_clu__turn_budget(&c, 0), BR_CLU_BUDGET_GO);
    ck_assert_int_eq(br_clu__turn_budget(&c, BR_CLU_TURN_WRITES - 1), BR_CLU_BUDGET_GO);
    ck_assert_int_eq(br_clu__turn_budget(&c, BR_CLU_TURN_WRITES), BR_CLU_BUDGET_MORE);
    c.ids_dirty = true;
    ck_assert_int_eq(br_clu__turn_budget(&c, 0), BR_CLU_BUDGET_MORE);
    c.expired = true;
    ck_assert_int_eq(br_clu__turn_budget(&c, 0), BR_CLU_BUDGET_STOP);
    c.expired = c.ids_dirty = false;
    c.stop = true;
    ck_assert_int_eq(br_clu__turn_budget(&c, 0), BR_CLU_BUDGET_STOP);
    c.stop = false;

    /* the controller of a view where broker 1, preferred for every partition, leads none */
    static struct cpart ps[4];
    static struct ctopic tops[1];
    set_live(3, (int32_t[]){1, 2, 3});
    for (int i = 0; i < 4; i++)
        ps[i] = part(3, (int32_t[]){1, 2, 3}, 2, 4, 3, (int32_t[]){1, 2, 3});
    tops[0] = (struct ctopic){.name = (char *)"t", .np = 4, .p = ps};
    c.topics = tops;
    c.ntopics = 1;
    c.conf.broker_id = 2;
    c.controller = 2;
    c.ctl_zver = 5;
    c.conf.imbalance_pct = 10;
    /* the rebalance: cut before its first write by a membership change, stopped by closing */
    c.ids_dirty = true;
    ck_assert_int_eq(br_clu__rebalance(&c), BR_CLU_BUDGET_MORE);
    c.ids_dirty = false;
    c.stop = true;
    ck_assert(br_clu__rebalance(&c) < 0 && br_clu__transient(br_clu__rebalance(&c)));
    c.stop = false;
    /* ElectLeaders: cut where it is (r.more, r.elect_next), nothing answered past it */
    struct br_clu_elect e[3] = {{"t", 1, 0, 1}, {"t", 1, 1, 1}, {"t", 1, 9, 1}};
    struct clu_req r = {.kind = REQ_ELECT, .elect = e, .np = 3};
    c.ids_dirty = true;
    ck_assert_int_eq(br_clu__elect_run(&c, &r), 0);
    ck_assert(r.more);
    ck_assert_int_eq(r.elect_next, 0);
    ck_assert_int_eq(e[0].rc, 1);
    ck_assert_int_eq(e[2].rc, 1);
    c.ids_dirty = false;
    /* closing: the rest NOT_CONTROLLER (another controller answers), no write */
    c.stop = true;
    ck_assert_int_eq(br_clu__elect_run(&c, &r), 0);
    ck_assert(!r.more);
    ck_assert_int_eq(r.elect_next, 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(e[i].rc, -ENOTCONN);
    c.stop = false;
    /* a cut request not run again (closing): br_clu__elect_cancel answers from elect_next */
    e[1].rc = e[2].rc = 1;
    r.elect_next = 1;
    r.more = true;
    br_clu__elect_cancel(&r);
    ck_assert(!r.more);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_int_eq(e[0].rc, -ENOTCONN);
    ck_assert_int_eq(e[1].rc, -ENOTCONN);
    ck_assert_int_eq(e[2].rc, -ENOTCONN);
    memset(&c, 0, sizeof c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_clu_decide");
    TCase *tc = tcase_create("decide");
    tcase_add_test(tc, new_partition);
    tcase_add_test(tc, leader_dies_and_returns);
    tcase_add_test(tc, followers_and_steady_state);
    tcase_add_test(tc, preferred_replica);
    tcase_add_test(tc, imbalance_per_broker);
    tcase_add_test(tc, elect_answers_without_a_write);
    tcase_add_test(tc, turn_budget_caps_writes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
