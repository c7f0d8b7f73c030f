/*
 * test_br_loop — handing waits to a loop (br_loop_hand) against that loop's exit
 * (br_loop_exit), on real rings. A loop thread leaves br_loop_run on an io_uring error while
 * the broker runs (the stop flag stays clear); from then on it is handed nothing, and nothing
 * places a connection on it:
 * - after br_loop_exit, br_loop_hand refuses (false, nothing parked, the count back at 0) and
 *   br_place_home no longer picks the loop, though it is the lighter one; a wait handed
 *   before the exit is run by it;
 * - another thread handing waits all through the exit: every wait br_loop_hand took is run,
 *   by the exit's drain, and the hands after it are refused (before 8f8ab04 those were parked
 *   and never run: the fd of a handoff and a moving connection were lost, their clients hung).
 * The test's thread plays the loop's thread (br_loop_init, br_loop_exit); no turn runs.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_config.h"
#include "br_loop.h"
#include "br_place.h"

enum { HANDS = 4096, AFTER = 100 /* hands after the exit returned */ };

static struct br_config cfg;
static struct br_features feat;
static struct br_loop loops[2];
static atomic_bool stop;
static bool exited[2];
static atomic_int woken;

static void setup(void)
{
    memset(loops, 0, sizeof loops);
    br_config_init(&cfg);
    ck_assert_int_eq(br_loop_probe(&feat), 0);
    atomic_store(&stop, false);
    atomic_store(&woken, 0);
    for (int i = 0; i < 2; i++) {
        br_loop_prepare(&loops[i], i, &cfg, &feat);
        loops[i].all = loops;
        loops[i].nall = 2;
        loops[i].stop = &stop;
        ck_assert_int_eq(br_loop_init(&loops[i]), 0);
        exited[i] = false;
    }
}

static void teardown(void)
{
    for (int i = 0; i < 2; i++) {
        if (!exited[i])
            br_loop_exit(&loops[i]);
        br_ring_close_wake(&loops[i].ring);
    }
}

static void wake_count(struct br_wait *w, enum br_wake why)
{
    (void)w;
    (void)why;
    atomic_fetch_add(&woken, 1);
}

START_TEST(an_exited_loop_is_handed_nothing)
{
    struct br_loop *l0 = &loops[0], *l1 = &loops[1];
    atomic_store(&l0->load_conns, 3);
    ck_assert_ptr_eq(br_place_home(l0), l1); /* the lighter loop, while it runs */

    struct br_wait before = {0};
    ck_assert(br_loop_hand(l1, &before, wake_count));
    br_loop_exit(l1); /* (its thread left br_loop_run on an error: stop is still false) */
    exited[1] = true;
    ck_assert_int_eq(atomic_load(&woken), 1); /* the wait handed before it ran there */
    ck_assert(!before.waiting);

    struct br_wait after = {0};
    ck_assert_msg(!br_loop_hand(l1, &after, wake_count),
                  "a loop past br_loop_exit took a handed wait: nobody will run it");
    ck_assert(!after.waiting);
    ck_assert_int_eq(atomic_load(&l1->nwaits[BR_WAIT_POST]), 0);
    ck_assert_msg(br_place_home(l0) == l0,
                  "new connections are still placed on a loop past br_loop_exit");
    ck_assert_int_eq(atomic_load(&woken), 1);
}
END_TEST

struct hander {
    struct br_wait w[HANDS + AFTER];
    atomic_bool exit_done;
    int taken, refused, taken_after;
};

/* Another loop's thread: hands waits to loop 1 one after another, all through its exit, and
 * AFTER more once the exit has returned. */
static void *hand_all(void *arg)
{
    struct hander *h = arg;
    int i = 0;
    for (; i < HANDS && !atomic_load(&h->exit_done); i++) {
        if (br_loop_hand(&loops[1], &h->w[i], wake_count))
            h->taken++;
        else
            h->refused++;
    }
    while (!atomic_load(&h->exit_done))
        sched_yield();
    for (int k = 0; k < AFTER; k++, i++) {
        if (br_loop_hand(&loops[1], &h->w[i], wake_count)) {
            h->taken++;
            h->taken_after++;
        } else {
            h->refused++;
        }
    }
    return NULL;
}

START_TEST(waits_handed_during_the_exit_are_run_or_refused)
{
    static struct hander h;
    memset(&h, 0, sizeof h);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, hand_all, &h), 0);
    while (atomic_load(&loops[1].nwaits[BR_WAIT_POST]) == 0 && atomic_load(&woken) == 0)
        sched_yield(); /* the hands have begun */
    br_loop_exit(&loops[1]);
    exited[1] = true;
    int run_by_exit = atomic_load(&woken);
    atomic_store(&h.exit_done, true);
    pthread_join(t, NULL);
    ck_assert_msg(h.taken_after == 0,
                  "%d waits handed after br_loop_exit returned were taken (never to be run)",
                  h.taken_after);
    ck_assert_msg(run_by_exit == h.taken, "%d waits taken, %d run by the exit (%d refused)",
                  h.taken, run_by_exit, h.refused);
    ck_assert_int_eq(atomic_load(&loops[1].nwaits[BR_WAIT_POST]), 0);
    ck_assert_int_ge(h.refused, AFTER);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_loop");
    TCase *tc = tcase_create("hand");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, an_exited_loop_is_handed_nothing);
    tcase_add_test(tc, waits_handed_during_the_exit_are_run_or_refused);
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
