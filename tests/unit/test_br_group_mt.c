/*
 * test_br_group_mt — the coordinator from several threads at once (also run under make
 * tsan): members join, sync (as leader or follower), heartbeat, commit-check, leave and
 * rejoin a few shared groups while the timer thread fires initial delays, rebalance
 * timeouts, session expiries and pending-id expiries with the real clock and short timeouts
 * (half the workers join as JoinGroup v4+ clients: MEMBER_ID_REQUIRED first, an id they
 * sometimes drop), and another thread
 * ticks and describes. Every waiter is answered exactly once (some by another thread, some
 * by br_groups_stop at the end), a result is only read after its delivery, and no group ever
 * holds more than group.max.size members or pending ids.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "br_group.h"
#include "br_log.h"
#include "kp_api.h"

#define NTHREADS 4
#define NOPS     1500
#define NGROUPS  3
#define MAXSIZE  5
#define NWAIT    64 /* waiters one worker may have outstanding */

static struct br_groups *G;
static atomic_bool stop_ticker;
static atomic_int n_join_ok, n_sync_ok, n_expired, n_id_required, n_id_dropped;

struct w {
    struct br_group_waiter w; /* first */
    atomic_int calls;
    int16_t err;
    int32_t gen;
    bool leader;
    char member[BR_GROUP_ID_MAX + 1];
    int32_t n_members;
    char members[MAXSIZE][BR_GROUP_ID_MAX + 1];
};

static void cp(char *dst, struct kp_str s)
{
    int32_t n = s.len > 0 ? s.len : 0;
    if (n > BR_GROUP_ID_MAX)
        n = BR_GROUP_ID_MAX;
    memcpy(dst, s.ptr, (size_t)n);
    dst[n] = 0;
}

static void on_join(struct br_group_waiter *bw, const struct br_group_join_result *res)
{
    struct w *x = (struct w *)bw;
    x->err = res->error_code;
    x->gen = res->generation_id;
    cp(x->member, res->member_id);
    x->leader = res->n_members > 0;
    x->n_members = res->n_members < MAXSIZE ? res->n_members : MAXSIZE;
    for (int32_t i = 0; i < x->n_members; i++)
        cp(x->members[i], res->members[i].member_id);
    atomic_fetch_add_explicit(&x->calls, 1, memory_order_release);
}

static void on_sync(struct br_group_waiter *bw, const struct br_group_sync_result *res)
{
    struct w *x = (struct w *)bw;
    x->err = res->error_code;
    if (res->error_code == 0)
        atomic_fetch_add(&n_sync_ok, 1);
    atomic_fetch_add_explicit(&x->calls, 1, memory_order_release);
}

static struct kp_str S(const char *s) {
    return (struct kp_str){s, (int32_t)strlen(s)};
}

struct worker {
    int id;
    unsigned seed;
    struct w *pool[NWAIT];
    int npool;
    /* what this worker knows of its member in each group */
    char member[NGROUPS][BR_GROUP_ID_MAX + 1];
    int32_t gen[NGROUPS];
    struct w *last_join[NGROUPS];
    int delivered_late; /* waiters answered after the call returned */
};

static struct w *waiter_new(struct worker *k)
{
    /* reclaim delivered waiters first (their results were read when they were used) */
    for (int i = 0; i < k->npool; i++) {
        struct w *x = k->pool[i];
        if (atomic_load_explicit(&x->calls, memory_order_acquire) > 0) {
            bool used_as_join = false;
            for (int g = 0; g < NGROUPS; g++)
                used_as_join |= k->last_join[g] == x;
            if (used_as_join)
                continue;
            ck_assert_int_eq(atomic_load(&x->calls), 1);
            free(x);
            k->pool[i] = k->pool[--k->npool];
            i--;
        }
    }
    if (k->npool == NWAIT)
        return NULL;
    struct w *x = calloc(1, sizeof(*x));
    ck_assert_ptr_nonnull(x);
    x->w.join_done = on_join;
    x->w.sync_done = on_sync;
    k->pool[k->npool++] = x;
    return x;
}

static const char *gname[NGROUPS] = {"mt-a", "mt-b", "mt-c"};

/* Picks up the answer of this worker's last JoinGroup in group g, when it came. */
static void learn(struct worker *k, int g)
{
    struct w *x = k->last_join[g];
    if (!x || atomic_load_explicit(&x->calls, memory_order_acquire) == 0)
        return;
    if (x->err == 0) {
        atomic_fetch_add(&n_join_ok, 1);
        snprintf(k->member[g], sizeof k->member[g], "%s", x->member);
        k->gen[g] = x->gen;
        if (x->leader) {
            /* the leader syncs at once with one assignment per member */
            struct br_group_assignment as[MAXSIZE];
            for (int32_t i = 0; i < x->n_members; i++)
                as[i] = (struct br_group_assignment){S(x->members[i]), {(const uint8_t *)"asg", 3}};
            struct w *s = waiter_new(k);
            if (s) {
                struct br_group_sync_req req = {S(gname[g]),  x->gen, S(k->member[g]),
                                                x->n_members, as,     {NULL, 0}};
                br_group_sync(G, &req, &s->w);
            }
        }
    } else if (x->err == KP_ERR_UNKNOWN_MEMBER_ID) {
        atomic_fetch_add(&n_expired, 1);
        k->member[g][0] = 0;
    } else if (x->err == KP_ERR_MEMBER_ID_REQUIRED) {
        /* KIP-394: join again with the id, or (1 in 4) drop the answer as a client that
         * changed its mind would, leaving a pending id nobody uses */
        atomic_fetch_add(&n_id_required, 1);
        if (rand_r(&k->seed) % 4 == 0)
            atomic_fetch_add(&n_id_dropped, 1);
        else
            snprintf(k->member[g], sizeof k->member[g], "%s", x->member);
    }
    k->last_join[g] = NULL;
}

static void do_join(struct worker *k, int g)
{
    if (k->last_join[g] && atomic_load(&k->last_join[g]->calls) == 0)
        return; /* still parked: a client does not send a second JoinGroup */
    k->last_join[g] = NULL;
    struct w *x = waiter_new(k);
    if (!x)
        return;
    const char *protos = (rand_r(&k->seed) & 1) ? "range" : "roundrobin";
    struct br_group_protocol p[2] = {{S(protos), {(const uint8_t *)"m", 1}},
                                     {S("range"), {(const uint8_t *)"m", 1}}};
    struct br_group_join_req req = {
        .group_id = S(gname[g]),
        .member_id = S(k->member[g]),
        .client_id = S("mt"),
        .require_known_member_id = k->id % 2 == 1, /* half the workers speak JoinGroup v4+ */
        .protocol_type = S("consumer"),
        .session_timeout_ms = 20 + (int32_t)(rand_r(&k->seed) % 30),
        .rebalance_timeout_ms = 30,
        .n_protocols = 2,
        .protocols = p,
    };
    k->last_join[g] = x;
    br_group_join(G, &req, &x->w);
    if (atomic_load(&x->calls) == 0)
        k->delivered_late++;
}

static void *worker_main(void *arg)
{
    struct worker *k = arg;
    for (int op = 0; op < NOPS; op++) {
        int g = (int)(rand_r(&k->seed) % NGROUPS);
        learn(k, g);
        switch (rand_r(&k->seed) % 8) {
        case 0:
        case 1:
            do_join(k, g);
            break;
        case 2: {
            struct w *s = waiter_new(k);
            if (s) {
                struct br_group_sync_req req = {S(gname[g]), k->gen[g], S(k->member[g]),
                                                0,           NULL,      {NULL, 0}};
                br_group_sync(G, &req, &s->w);
            }
            break;
        }
        case 3:
        case 4:
            (void)br_group_heartbeat(G, S(gname[g]), k->gen[g], S(k->member[g]));
            break;
        case 5:
            (void)br_group_commit_check(G, S(gname[g]), k->gen[g], S(k->member[g]));
            break;
        case 6:
            if (rand_r(&k->seed) % 4 == 0 && br_group_leave(G, S(gname[g]), S(k->member[g])) == 0)
                k->member[g][0] = 0;
            break;
        default: {
            struct timespec ts = {0, (long)(rand_r(&k->seed) % 2000) * 1000L};
            nanosleep(&ts, NULL);
            break;
        }
        }
    }
    return NULL;
}

static void *ticker_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_ticker)) {
        br_groups_tick(G);
        for (int g = 0; g < NGROUPS; g++) {
            struct br_group_info i;
            br_group_describe(G, S(gname[g]), &i);
            ck_assert_int_le(i.n_members, MAXSIZE);
            ck_assert_int_le(i.n_pending, MAXSIZE);
        }
        struct timespec ts = {0, 500 * 1000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

START_TEST(hammer)
{
    struct br_groups_cfg c = {
        .initial_rebalance_delay_ms = 5,
        .min_session_timeout_ms = 1,
        .max_session_timeout_ms = 1000,
        .max_size = MAXSIZE,
        .max_groups = 2, /* three groups: the Empty ones are evicted and recreated */
        .max_member_bytes = 1024,
        .max_total_bytes = 1 << 20,
    };
    ck_assert_int_eq(br_groups_new(&c, NULL, NULL, &G), 0);
    ck_assert_int_eq(br_groups_timer_start(G), 0);
    static struct worker k[NTHREADS];
    pthread_t t[NTHREADS], ticker;
    atomic_store(&stop_ticker, false);
    ck_assert_int_eq(pthread_create(&ticker, NULL, ticker_main, NULL), 0);
    for (int i = 0; i < NTHREADS; i++) {
        memset(&k[i], 0, sizeof k[i]);
        k[i].id = i;
        k[i].seed = 1234u + (unsigned)i;
        ck_assert_int_eq(pthread_create(&t[i], NULL, worker_main, &k[i]), 0);
    }
    int late = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        late += k[i].delivered_late;
    }
    br_groups_stop(G); /* answers whatever is still parked */
    atomic_store(&stop_ticker, true);
    pthread_join(ticker, NULL);
    for (int i = 0; i < NTHREADS; i++)
        for (int j = 0; j < k[i].npool; j++) {
            ck_assert_int_eq(atomic_load(&k[i].pool[j]->calls), 1);
            free(k[i].pool[j]);
        }
    /* the run went through every phase: JoinGroups answered by another thread, completed
     * generations, delivered assignments, members dropped by the rebalance timeout */
    ck_assert_int_gt(late, 0);
    ck_assert_int_gt(atomic_load(&n_join_ok), 0);
    ck_assert_int_gt(atomic_load(&n_sync_ok), 0);
    ck_assert_int_gt(atomic_load(&n_expired), 0);
    ck_assert_int_gt(atomic_load(&n_id_required), 0);
    ck_assert_int_gt(atomic_load(&n_id_dropped), 0);
    fprintf(stderr,
            "%d late joins, %d joined, %d synced, %d unknown-member joins, %d ids handed out "
            "(%d dropped)\n",
            late, atomic_load(&n_join_ok), atomic_load(&n_sync_ok), atomic_load(&n_expired),
            atomic_load(&n_id_required), atomic_load(&n_id_dropped));
    br_groups_free(G);
    G = NULL;
}
END_TEST

int main(void)
{
    br_log_set_level(BR_LOG_WARN); /* thousands of rebalances */
    Suite *s = suite_create("br_group_mt");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, hammer);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
