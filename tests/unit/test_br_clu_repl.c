/*
 * test_br_clu_repl — the leader's side of replication (br_clu_repl.h), no network: followers'
 * fetches raise the high watermark; an in-sync follower that fetches from below the high
 * watermark (it lost committed records: a restart after a power loss) leaves the ISR at once,
 * not after replica.lag.time.max.ms, and the cluster thread is asked to write it; a follower
 * that truncated only above the high watermark (KIP-279) stays.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_clu_repl.h"
#include "st.h"
#include "tb_check.h"
#include "test_st_util.h"

static char dir[256];
static struct st_store *store;
static struct st_log *log_;
static struct br_repl *repl;
static int kicks;

static void kick(void *arg)
{
    (void)arg;
    kicks++;
}

static void setup(void)
{
    tst_mkdtemp(dir, sizeof dir);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "t", 1, NULL), 0);
    log_ = tst_log_get(store, "t", 1, 0);
    st_log_set_replicated(log_, true);
    for (int i = 0; i < 10; i++)
        tst_append1(log_, 2, 50, 1000 + i, 1000);
    kicks = 0;
    /* this broker (1) leads t-0 with replicas 1, 2, 3, all in the ISR, a lag of 30 s */
    repl = br_repl_new(1, 30000, kick, NULL);
    ck_assert_ptr_nonnull(repl);
    br_repl_begin(repl);
    struct br_repl_view v = {.topic = "t",
                             .partition = 0,
                             .leader_epoch = 0,
                             .controller_epoch = 1,
                             .zver = 0,
                             .replicas = {.n = 3, .id = {1, 2, 3}},
                             .isr = {.n = 3, .id = {1, 2, 3}}};
    ck_assert_int_eq(br_repl_lead(repl, st_log_get(store, "t", 1, 0), &v), 0);
    br_repl_end(repl);
}

static void teardown(void)
{
    br_repl_free(repl);
    st_log_put(log_);
    st_store_close(store);
    tst_rmrf(dir);
}

START_TEST(t_follower_below_the_hw_leaves_the_isr_at_once)
{
    int64_t end = st_log_end_offset(log_);
    bool moved;
    ck_assert_int_eq(br_repl_replica_fetch(repl, log_, 2, 0, end, &moved), 0);
    ck_assert_int_eq(br_repl_replica_fetch(repl, log_, 3, 0, end, &moved), 0);
    ck_assert_int_eq(st_log_high_watermark(log_), end);
    struct br_repl_isr w;
    ck_assert(!br_repl_isr_want(repl, 0, &w)); /* all caught up */

    /* broker 3 comes back without its last records: it fetches from below the HW */
    kicks = 0;
    ck_assert_int_eq(br_repl_replica_fetch(repl, log_, 3, 0, end - 4, &moved), 0);
    ck_assert_int_ge(kicks, 1);
    ck_assert(br_repl_isr_want(repl, 0, &w));
    ck_assert_int_eq(w.isr.n, 2);
    ck_assert_int_eq(w.isr.id[0], 1);
    ck_assert_int_eq(w.isr.id[1], 2);
    ck_assert_int_eq(st_log_high_watermark(log_), end); /* never lowered */
}
END_TEST

START_TEST(t_follower_truncated_above_the_hw_stays)
{
    int64_t end = st_log_end_offset(log_);
    bool moved;
    /* the HW at end - 4: followers fetched that far */
    ck_assert_int_eq(br_repl_replica_fetch(repl, log_, 2, 0, end - 4, &moved), 0);
    ck_assert_int_eq(br_repl_replica_fetch(repl, log_, 3, 0, end, &moved), 0);
    ck_assert_int_eq(st_log_high_watermark(log_), end - 4);
    /* broker 3 truncated to the HW (records above it not committed): it stays in sync */
    kicks = 0;
    ck_assert_int_eq(br_repl_replica_fetch(repl, log_, 3, 0, end - 4, &moved), 0);
    struct br_repl_isr w;
    ck_assert(!br_repl_isr_want(repl, 0, &w));
    ck_assert_int_eq(kicks, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_clu_repl");
    TCase *tc = tcase_create("isr");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, t_follower_below_the_hw_leaves_the_isr_at_once);
    tcase_add_test(tc, t_follower_truncated_above_the_hw_stays);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
