/*
 * test_sl_assign — the leader's assignors (client/sl_assign.c):
 * - range: contiguous ranges per topic, the first members one more, Java's layout;
 * - roundrobin: topic-partitions dealt in turn, members not subscribed skipped;
 * - cooperative-sticky: balanced from scratch; a new member takes only what must move, from
 *   the most loaded, and not in the same round as its owner still has it (KIP-429); the next
 *   round (owners having revoked) gives it out; owners keep everything else;
 * - every partition of a subscribed topic assigned exactly once, to a subscriber; the result
 *   does not depend on the order of the input.
 */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sl_assign.h"

static const char *const both[] = {"a", "b"};
static const char *const only_a[] = {"a"};

/* Partitions per member and exactly-once coverage of topics t[0..nt). */
static void check_cover(struct sl__amember *m, int n, const struct sl__atopic *t, int nt,
                        bool expect_all)
{
    for (int i = 0; i < nt; i++) {
        for (int32_t p = 0; p < t[i].n_partitions; p++) {
            int owners = 0;
            for (int k = 0; k < n; k++)
                for (int j = 0; j < m[k].n_asg; j++)
                    if (m[k].asg[j].partition == p && !strcmp(m[k].asg[j].topic, t[i].name)) {
                        owners++;
                        bool sub = false;
                        for (int q = 0; q < m[k].n_topics; q++)
                            sub |= !strcmp(m[k].topics[q], t[i].name);
                        ck_assert_msg(sub, "%s-%d to a non-subscriber", t[i].name, p);
                    }
            ck_assert_msg(owners <= 1, "%s-%d assigned %d times", t[i].name, p, owners);
            if (expect_all)
                ck_assert_msg(owners == 1, "%s-%d not assigned", t[i].name, p);
        }
    }
}

static bool has(const struct sl__amember *m, const char *topic, int32_t p)
{
    for (int j = 0; j < m->n_asg; j++)
        if (m->asg[j].partition == p && !strcmp(m->asg[j].topic, topic))
            return true;
    return false;
}

START_TEST(test_range)
{
    struct sl__atopic t[] = {{"b", 3}, {"a", 5}};
    /* given out of order: ids and topics are sorted by the assignor */
    struct sl__amember m[] = {{"m2", 2, both, 0, NULL, NULL, 0}, {"m1", 2, both, 0, NULL, NULL, 0}};
    ck_assert_int_eq(sl__assign_range(m, 2, t, 2), 0);
    check_cover(m, 2, t, 2, true);
    /* m1 (first by id): a-0,1,2 and b-0,1; m2: a-3,4 and b-2 */
    ck_assert_int_eq(m[1].n_asg, 5);
    ck_assert(has(&m[1], "a", 0) && has(&m[1], "a", 2) && has(&m[1], "b", 1));
    ck_assert(has(&m[0], "a", 3) && has(&m[0], "a", 4) && has(&m[0], "b", 2));
    sl__assign_free(m, 2);
}
END_TEST

START_TEST(test_roundrobin)
{
    struct sl__atopic t[] = {{"a", 3}, {"b", 3}};
    struct sl__amember m[] = {{"m1", 2, both, 0, NULL, NULL, 0},
                              {"m2", 1, only_a, 0, NULL, NULL, 0},
                              {"m3", 2, both, 0, NULL, NULL, 0}};
    ck_assert_int_eq(sl__assign_roundrobin(m, 3, t, 2), 0);
    check_cover(m, 3, t, 2, true);
    /* a-0 m1, a-1 m2, a-2 m3, b-0 m1 (m2 skipped), b-1 m3, b-2 m1 */
    ck_assert(has(&m[0], "a", 0) && has(&m[1], "a", 1) && has(&m[2], "a", 2));
    ck_assert(has(&m[0], "b", 0) && has(&m[2], "b", 1) && has(&m[0], "b", 2));
    ck_assert_int_eq(m[1].n_asg, 1);
    sl__assign_free(m, 3);
}
END_TEST

START_TEST(test_cooperative_sticky)
{
    struct sl__atopic t[] = {{"a", 6}};
    /* From scratch: 2 each. */
    struct sl__amember m[3] = {{"m1", 1, only_a, 0, NULL, NULL, 0},
                               {"m2", 1, only_a, 0, NULL, NULL, 0},
                               {"m3", 1, only_a, 0, NULL, NULL, 0}};
    ck_assert_int_eq(sl__assign_cooperative_sticky(m, 3, t, 1), 0);
    check_cover(m, 3, t, 1, true);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(m[i].n_asg, 2);
    sl__assign_free(m, 3);

    /* Two members own 3 each; a third joins: each gives one up, but in this round nobody
     * gets those two (their owners still have them). */
    struct sl__atp o1[] = {{"a", 0}, {"a", 1}, {"a", 2}}, o2[] = {{"a", 3}, {"a", 4}, {"a", 5}};
    struct sl__amember j[3] = {{"m1", 1, only_a, 3, o1, NULL, 0},
                               {"m2", 1, only_a, 3, o2, NULL, 0},
                               {"m3", 1, only_a, 0, NULL, NULL, 0}};
    ck_assert_int_eq(sl__assign_cooperative_sticky(j, 3, t, 1), 0);
    check_cover(j, 3, t, 1, false);
    ck_assert_int_eq(j[0].n_asg, 2);
    ck_assert_int_eq(j[1].n_asg, 2);
    ck_assert_int_eq(j[2].n_asg, 0);
    /* what m1 and m2 keep is what they owned */
    for (int k = 0; k < 2; k++)
        for (int q = 0; q < j[k].n_asg; q++)
            ck_assert(j[k].asg[q].partition / 3 == k);
    /* Next round: m1 and m2 own their kept 2 each; m3 gets the other 2. */
    struct sl__atp k1[2], k2[2];
    memcpy(k1, j[0].asg, sizeof(k1));
    memcpy(k2, j[1].asg, sizeof(k2));
    sl__assign_free(j, 3);
    struct sl__amember r[3] = {{"m3", 1, only_a, 0, NULL, NULL, 0},
                               {"m1", 1, only_a, 2, k1, NULL, 0},
                               {"m2", 1, only_a, 2, k2, NULL, 0}};
    ck_assert_int_eq(sl__assign_cooperative_sticky(r, 3, t, 1), 0);
    check_cover(r, 3, t, 1, true);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(r[i].n_asg, 2);
    ck_assert(has(&r[1], "a", k1[0].partition) && has(&r[1], "a", k1[1].partition));
    ck_assert(has(&r[2], "a", k2[0].partition) && has(&r[2], "a", k2[1].partition));
    sl__assign_free(r, 3);

    /* A member leaves: its partitions go out at once (nobody else owns them). */
    struct sl__atp a1[] = {{"a", 0}, {"a", 1}}, a2[] = {{"a", 2}, {"a", 3}};
    struct sl__amember l[2] = {{"m1", 1, only_a, 2, a1, NULL, 0},
                               {"m2", 1, only_a, 2, a2, NULL, 0}};
    ck_assert_int_eq(sl__assign_cooperative_sticky(l, 2, t, 1), 0);
    check_cover(l, 2, t, 1, true);
    ck_assert_int_eq(l[0].n_asg, 3);
    ck_assert_int_eq(l[1].n_asg, 3);
    ck_assert(has(&l[0], "a", 0) && has(&l[0], "a", 1) && has(&l[1], "a", 2) && has(&l[1], "a", 3));
    sl__assign_free(l, 2);

    /* Claims on partitions that no longer exist, or of topics no longer subscribed, and two
     * members claiming the same partition: ignored / the first (by id) keeps it. */
    struct sl__atp bad[] = {{"a", 9}, {"zz", 0}, {"a", 0}};
    struct sl__atp same[] = {{"a", 0}};
    struct sl__amember w[2] = {{"m2", 1, only_a, 1, same, NULL, 0},
                               {"m1", 1, only_a, 3, bad, NULL, 0}};
    ck_assert_int_eq(sl__assign_cooperative_sticky(w, 2, t, 1), 0);
    check_cover(w, 2, t, 1, false);
    ck_assert(has(&w[1], "a", 0));
    sl__assign_free(w, 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sl_assign");
    TCase *tc = tcase_create("assignors");
    tcase_add_test(tc, test_range);
    tcase_add_test(tc, test_roundrobin);
    tcase_add_test(tc, test_cooperative_sticky);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
