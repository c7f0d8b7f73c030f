/*
 * test_br_clu_mark — the record of what the topic watches announced (br_clu__topics_mark,
 * broker/clu/br_clu_topics.c; docs/cluster.md "The watches as built"), without ZooKeeper: one
 * entry per topic, a state named twice kept once, a topic's assignment covering its states,
 * too many states of one topic making it whole, too many topics (or a name that cannot be
 * one) making everything be read again, and the cluster thread woken each time.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_clu_int.h"

static struct br_clu *c;

static void setup(void)
{
    c = calloc(1, sizeof(*c));
    ck_assert_ptr_nonnull(c);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
}

static void teardown(void)
{
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static bool mark(const char *name, int32_t p)
{
    return br_clu__topics_mark(c, name, strlen(name), p);
}

START_TEST(states_and_topics)
{
    ck_assert(!mark("a", 3));
    ck_assert(c->topics_dirty);
    ck_assert(!mark("a", 3)); /* (once) */
    ck_assert(!mark("a", 0));
    ck_assert(!mark("ab", 1)); /* (not "a": names compared whole) */
    ck_assert_int_eq(c->tdirty.n, 2);
    ck_assert_str_eq(c->tdirty.t[0].name, "a");
    ck_assert(!c->tdirty.t[0].whole);
    ck_assert_int_eq(c->tdirty.t[0].np, 2);
    ck_assert_int_eq(c->tdirty.t[0].p[0], 3);
    ck_assert_int_eq(c->tdirty.t[0].p[1], 0);
    ck_assert_str_eq(c->tdirty.t[1].name, "ab");
    /* a topic's assignment: the whole topic, later states add nothing */
    ck_assert(!mark("a", -1));
    ck_assert(c->tdirty.t[0].whole);
    ck_assert(!mark("a", 7));
    ck_assert_int_eq(c->tdirty.t[0].np, 2);
    /* a name given with its length (the watcher's path is not cut) */
    ck_assert(!br_clu__topics_mark(c, "ab/partitions/1/state", 2, 5));
    ck_assert_int_eq(c->tdirty.n, 2);
    ck_assert_int_eq(c->tdirty.t[1].np, 2);
    ck_assert(!c->tdirty.full);
}
END_TEST

START_TEST(bounds)
{
    for (int32_t p = 0; p < TDIRTY_PARTS; p++)
        ck_assert(!mark("t", p));
    ck_assert(!c->tdirty.t[0].whole);
    ck_assert(!mark("t", TDIRTY_PARTS)); /* one state too many: the whole topic */
    ck_assert(c->tdirty.t[0].whole);
    char name[32];
    for (int i = 1; i < TDIRTY_TOPICS; i++) {
        snprintf(name, sizeof name, "t%d", i);
        ck_assert(!mark(name, 0));
    }
    ck_assert_int_eq(c->tdirty.n, TDIRTY_TOPICS);
    ck_assert(!mark("t5", 1));          /* (one already there) */
    ck_assert(mark("one-too-many", 0)); /* everything */
    ck_assert(c->tdirty.full);
    ck_assert(mark("t", 0));
}
END_TEST

START_TEST(names_that_cannot_be_kept)
{
    char lng[TDIRTY_NAME + 1];
    memset(lng, 'x', sizeof lng - 1);
    lng[TDIRTY_NAME] = 0;
    ck_assert(br_clu__topics_mark(c, lng, TDIRTY_NAME - 1, 0) == false);
    ck_assert(!c->tdirty.full);
    ck_assert(br_clu__topics_mark(c, lng, TDIRTY_NAME, 0));
    ck_assert(c->tdirty.full);
    c->tdirty.full = false;
    c->tdirty.n = 0;
    ck_assert(br_clu__topics_mark(c, "", 0, -1)); /* (no topic has an empty name) */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_clu_mark");
    TCase *tc = tcase_create("mark");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, states_and_topics);
    tcase_add_test(tc, bounds);
    tcase_add_test(tc, names_that_cannot_be_kept);
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
