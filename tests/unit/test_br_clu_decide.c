/*
 * test_br_clu_decide — the controller's leader election (br_clu__decide, broker/clu/
 * br_clu_topics.c; docs/cluster.md, M2) on made-up live-broker sets, without ZooKeeper: a new
 * partition's first state, a dead leader replaced from the ISR in assignment order, offline
 * when no ISR member lives (the ISR kept, no unclean election), the leader back when an ISR
 * member returns, dead followers leaving the ISR, nothing written when nothing changes.
 */
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

static Suite *suite(void)
{
    Suite *s = suite_create("br_clu_decide");
    TCase *tc = tcase_create("decide");
    tcase_add_test(tc, new_partition);
    tcase_add_test(tc, leader_dies_and_returns);
    tcase_add_test(tc, followers_and_steady_state);
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
