/*
 * test_client_group — libsplicelog consumer groups against a real splicelogd:
 * - three members split 6 partitions (eager: range,roundrobin); one leaves, a fourth joins,
 *   records keep arriving: every record is handed out exactly once across the members and the
 *   rebalances (auto commits, the synchronous commit before every revoke), no partition is ever
 *   assigned to two members at once (rebalance callbacks), the rebalance times are printed;
 * - the same with cooperative-sticky: when the fourth member joins only the partitions that
 *   move are revoked (2 of 6), the others keep being fetched;
 * - commits: sync with metadata read back by sl_consumer_committed, async reported by the
 *   offset commit callback, positions (offsets NULL), a later member starting where the group
 *   committed, enable.auto.commit=false, auto.offset.reset=latest without a commit;
 * - a member that stops polling for longer than max.poll.interval.ms gets
 *   SL_ERR__MAX_POLL_EXCEEDED and its partitions go to the other member.
 * All members are driven from this one thread, in turn (the library starts no threads).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_client.h"
#include "splicelog.h"
#include "../support/tb_check.h"

static struct tb_broker B;
static char bootstrap[64];

static void setup(void)
{
    memset(&B, 0, sizeof(B));
    static const char *const extra[] = {"-o", "num.partitions=6", "-o",
                                        "group.initial.rebalance.delay.ms=0", NULL};
    int rc = tb_broker_start(&B, extra);
    ck_assert_msg(rc == 0, "broker start: %d", rc);
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", B.port);
}

static void teardown(void) { tb_broker_cleanup(&B); }

/* Produces n records to topic, partition i % 6, values "<i>". */
static void produce(const char *topic, int from, int n)
{
    sl_conf *c = sl_conf_new();
    tb_cl_set(c, "bootstrap.servers", bootstrap);
    tb_cl_set(c, "linger.ms", "2");
    sl_producer *p = sl_producer_new(c, NULL, 0);
    ck_assert_ptr_nonnull(p);
    for (int i = from; i < from + n; i++) {
        char v[32];
        int vl = snprintf(v, sizeof(v), "%d", i);
        sl_err e;
        while ((e = sl_produce(p, topic, i % 6, NULL, 0, v, (size_t)vl, NULL, 0, 0, NULL)) ==
               SL_ERR__QUEUE_FULL)
            sl_poll(p, 10);
        ck_assert_int_eq(e, SL_ERR_NO_ERROR);
        sl_poll(p, 0);
    }
    ck_assert_int_eq(sl_flush(p, 30000), SL_ERR_NO_ERROR);
    sl_producer_free(p);
}

/* ---- the members ------------------------------------------------------------------------- */

#define MAXM   4
#define MAXREC 40000

struct member {
    sl_consumer *c;
    int id;
    long got;
    int revoked, assigned; /* partitions, from the callbacks */
};

static struct member M[MAXM];
static int owner[6];         /* member id + 1 owning each partition, 0: none */
static int overlap;          /* a partition assigned while another member had it */
static uint8_t seen[MAXREC]; /* per record value: times handed out */
static long dups, total;
static int revokes_now; /* partitions revoked since the counter was reset */

static void rebalance_cb(sl_consumer *c, sl_err what, const sl_topic_partition *p, size_t n,
                         void *opaque)
{
    struct member *m = opaque;
    (void)c;
    for (size_t i = 0; i < n; i++) {
        int q = p[i].partition;
        if (what == SL_ERR__ASSIGN_PARTITIONS) {
            if (owner[q] != 0)
                overlap++;
            owner[q] = m->id + 1;
            m->assigned++;
        } else {
            if (owner[q] == m->id + 1)
                owner[q] = 0;
            m->revoked++;
            revokes_now++;
        }
    }
}

static int owned_count(void)
{
    int n = 0;
    for (int q = 0; q < 6; q++)
        n += owner[q] != 0;
    return n;
}

static void member_new(int i, const char *group, const char *strategy)
{
    sl_conf *c = sl_conf_new();
    tb_cl_set(c, "bootstrap.servers", bootstrap);
    tb_cl_set(c, "group.id", group);
    tb_cl_set(c, "auto.offset.reset", "earliest");
    tb_cl_set(c, "heartbeat.interval.ms", "100");
    tb_cl_set(c, "session.timeout.ms", "10000");
    tb_cl_set(c, "max.poll.interval.ms", "20000");
    tb_cl_set(c, "auto.commit.interval.ms", "200");
    tb_cl_set(c, "fetch.wait.max.ms", "50");
    if (strategy)
        tb_cl_set(c, "partition.assignment.strategy", strategy);
    M[i].id = i;
    M[i].got = 0;
    M[i].revoked = M[i].assigned = 0;
    sl_conf_set_rebalance_cb(c, rebalance_cb);
    sl_conf_set_opaque(c, &M[i]);
    char err[256];
    M[i].c = sl_consumer_new(c, err, sizeof(err));
    ck_assert_msg(M[i].c != NULL, "%s", err);
    const char *topics[] = {"g6"};
    ck_assert_int_eq(sl_consumer_subscribe(M[i].c, topics, 1), SL_ERR_NO_ERROR);
}

/* One round: every live member polls for up to 5 ms and takes up to 200 records. */
static void round_all(void)
{
    for (int i = 0; i < MAXM; i++) {
        if (!M[i].c)
            continue;
        for (int k = 0; k < 200; k++) {
            sl_record r;
            sl_err e = sl_consumer_poll(M[i].c, k == 0 ? 5 : 0, &r);
            if (e == SL_ERR__TIMED_OUT)
                break;
            if (e != SL_ERR_NO_ERROR)
                ck_abort_msg("member %d: %s", i, sl_err2str(e));
            int v = 0;
            for (size_t b = 0; b < r.value_len; b++)
                v = v * 10 + (((const char *)r.value)[b] - '0');
            TB_FAST(v >= 0 && v < MAXREC);
            TB_FAST(r.partition == v % 6);
            if (seen[v]++)
                dups++;
            total++;
            M[i].got++;
        }
    }
}

/* Rounds until cond() or timeout_ms; returns the ms it took. */
static int64_t rounds_until(bool (*cond)(void), int timeout_ms, const char *what)
{
    int64_t t0 = tb_now_ms();
    while (!cond()) {
        if (tb_now_ms() - t0 > timeout_ms)
            ck_abort_msg("%s: not within %d ms (owned %d, total %ld)", what, timeout_ms,
                         owned_count(), total);
        round_all();
    }
    return tb_now_ms() - t0;
}

static long want_total;
static bool all_seen(void) { return total >= want_total; }
static int want_members;
static bool balanced(void)
{
    if (owned_count() != 6)
        return false;
    int per[MAXM] = {0};
    for (int q = 0; q < 6; q++)
        per[owner[q] - 1]++;
    /* Balanced means the final shares (6 / members each), not merely every member owning
     * something: a cooperative rebalance may pass through 3+2+1 when a member's SyncGroup
     * lost the race with the next round (it rejoins still owning 3, gives one back later). */
    int live = 0;
    for (int i = 0; i < MAXM; i++)
        live += M[i].c != NULL;
    if (live != want_members)
        return false;
    for (int i = 0; i < MAXM; i++)
        if (M[i].c && per[i] != 6 / live)
            return false;
    return true;
}

static void group_scenario(const char *group, const char *strategy, bool cooperative)
{
    memset(M, 0, sizeof(M));
    memset(owner, 0, sizeof(owner));
    memset(seen, 0, sizeof(seen));
    overlap = 0;
    dups = total = 0;
    produce("g6", 0, 6000);
    for (int i = 0; i < 3; i++)
        member_new(i, group, strategy);
    want_members = 3;
    int64_t t_join = rounds_until(balanced, 60000, "three members balanced");
    want_total = 3000;
    rounds_until(all_seen, 60000, "first 3000 records");

    /* Member 0 leaves (final commit, LeaveGroup) while records keep coming. */
    int64_t t0 = tb_now_ms();
    ck_assert_int_eq(sl_consumer_close(M[0].c), SL_ERR_NO_ERROR);
    sl_consumer_free(M[0].c);
    M[0].c = NULL;
    produce("g6", 6000, 3000);
    want_members = 2;
    rounds_until(balanced, 60000, "two members after a leave");
    int64_t t_leave = tb_now_ms() - t0;

    /* A fourth member joins. */
    revokes_now = 0;
    t0 = tb_now_ms();
    member_new(3, group, strategy);
    want_members = 3;
    rounds_until(balanced, 60000, "three members after a join");
    int64_t t_add = tb_now_ms() - t0;
    int revoked_at_join = revokes_now;
    produce("g6", 9000, 3000);
    want_total = 12000;
    rounds_until(all_seen, 60000, "all 12000 records");
    /* Nothing more comes (no duplicate after the fact). */
    for (int k = 0; k < 20; k++)
        round_all();
    printf("%s: initial join %lld ms, rebalance after a leave %lld ms, after a join %lld ms "
           "(%d partitions revoked at the join); per member %ld/%ld/%ld/%ld records\n",
           strategy ? strategy : "range,roundrobin", (long long)t_join, (long long)t_leave,
           (long long)t_add, revoked_at_join, M[0].got, M[1].got, M[2].got, M[3].got);
    ck_assert_int_eq(dups, 0);
    ck_assert_int_eq(total, 12000);
    for (int v = 0; v < 12000; v++)
        TB_FAST(seen[v] == 1);
    ck_assert_int_eq(overlap, 0);
    if (cooperative)
        ck_assert_int_eq(revoked_at_join, 2); /* 3+3 -> 2+2+2: one from each */
    else
        ck_assert_int_eq(revoked_at_join, 6); /* eager: everything, then reassigned */
    for (int i = 1; i < MAXM; i++) {
        if (!M[i].c)
            continue;
        ck_assert_int_eq(sl_consumer_close(M[i].c), SL_ERR_NO_ERROR);
        sl_consumer_free(M[i].c);
        M[i].c = NULL;
    }
}

START_TEST(test_three_members_eager_exactly_once) { group_scenario("eager", NULL, false); }
END_TEST

START_TEST(test_three_members_cooperative_sticky_exactly_once)
{
    group_scenario("coop", "cooperative-sticky", true);
}
END_TEST

/* ---- commits ----------------------------------------------------------------------------- */

static int commit_cb_calls;
static sl_err commit_cb_err;
static int64_t commit_cb_offset;
static void commit_cb(sl_consumer *c, sl_err err, const sl_topic_partition *p, size_t n,
                      void *opaque)
{
    (void)c;
    (void)opaque;
    commit_cb_calls++;
    commit_cb_err = err;
    commit_cb_offset = n ? p[0].offset : -1;
}

static sl_consumer *plain_consumer(const char *group, const char *autocommit, const char *reset)
{
    sl_conf *c = sl_conf_new();
    tb_cl_set(c, "bootstrap.servers", bootstrap);
    tb_cl_set(c, "group.id", group);
    tb_cl_set(c, "enable.auto.commit", autocommit);
    tb_cl_set(c, "auto.offset.reset", reset);
    tb_cl_set(c, "heartbeat.interval.ms", "100");
    tb_cl_set(c, "session.timeout.ms", "10000");
    sl_conf_set_offset_commit_cb(c, commit_cb);
    sl_consumer *k = sl_consumer_new(c, NULL, 0);
    ck_assert_ptr_nonnull(k);
    return k;
}

static int take(sl_consumer *k, int n)
{
    int got = 0;
    int64_t t0 = tb_now_ms();
    while (got < n && tb_now_ms() - t0 < 30000) {
        sl_record r;
        sl_err e = sl_consumer_poll(k, 100, &r);
        if (e == SL_ERR__TIMED_OUT)
            continue;
        ck_assert_msg(e == SL_ERR_NO_ERROR, "%s", sl_err2str(e));
        got++;
    }
    return got;
}

START_TEST(test_commits)
{
    produce("c1", 0, 60); /* 10 per partition */
    /* Manual assignment with a group.id: sync commit with metadata, read back. */
    sl_consumer *k = plain_consumer("commits", "false", "earliest");
    ck_assert_int_eq(sl_consumer_assign(k, "c1", 0, 0), SL_ERR_NO_ERROR);
    ck_assert_int_eq(take(k, 4), 4);
    sl_topic_partition tp = {
        .topic = "c1", .partition = 0, .offset = 3, .metadata = "note-3", .metadata_len = 6};
    ck_assert_int_eq(sl_consumer_commit(k, &tp, 1, 0), SL_ERR_NO_ERROR);
    sl_topic_partition q[2] = {{.topic = "c1", .partition = 0}, {.topic = "c1", .partition = 1}};
    ck_assert_int_eq(sl_consumer_committed(k, q, 2, 10000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(q[0].offset, 3);
    ck_assert_int_eq(q[0].metadata_len, 6);
    ck_assert(memcmp(q[0].metadata, "note-3", 6) == 0);
    ck_assert_int_eq(q[1].offset, SL_OFFSET_INVALID);
    ck_assert_int_eq(q[1].err, SL_ERR_NO_ERROR);
    /* Positions (offsets NULL), async: the callback reports the position, 4. */
    commit_cb_calls = 0;
    ck_assert_int_eq(sl_consumer_commit(k, NULL, 0, 1), SL_ERR_NO_ERROR);
    sl_record r;
    for (int i = 0; i < 100 && commit_cb_calls == 0; i++)
        sl_consumer_poll(k, 20, &r);
    ck_assert_int_eq(commit_cb_calls, 1);
    ck_assert_int_eq(commit_cb_err, SL_ERR_NO_ERROR);
    ck_assert_int_eq(commit_cb_offset, 4);
    ck_assert_int_eq(sl_consumer_committed(k, q, 1, 10000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(q[0].offset, 4);
    ck_assert_uint_eq(sl_consumer_assignment(k, NULL, 0), 1);
    sl_consumer_free(k);
    /* Nothing to commit, no group.id. */
    k = plain_consumer("commits", "false", "earliest");
    ck_assert_int_eq(sl_consumer_commit(k, NULL, 0, 0), SL_ERR__NO_OFFSET);
    sl_consumer_free(k);
    sl_conf *nc = sl_conf_new();
    tb_cl_set(nc, "bootstrap.servers", bootstrap);
    k = sl_consumer_new(nc, NULL, 0);
    ck_assert_int_eq(sl_consumer_commit(k, NULL, 0, 0), SL_ERR__INVALID_ARG);
    const char *t[] = {"c1"};
    ck_assert_int_eq(sl_consumer_subscribe(k, t, 1), SL_ERR__INVALID_ARG);
    sl_consumer_free(k);

    /* Subscribed with auto commit: 25 of 60, close (final commit); the next member of the
     * group starts there and reads the other 35, no more. */
    k = plain_consumer("sub", "true", "earliest");
    ck_assert_int_eq(sl_consumer_subscribe(k, t, 1), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_consumer_assign(k, "c1", 0, 0), SL_ERR__STATE);
    ck_assert_int_eq(take(k, 25), 25);
    ck_assert_int_eq(sl_consumer_close(k), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_consumer_poll(k, 0, &r), SL_ERR__STATE);
    sl_consumer_free(k);
    k = plain_consumer("sub", "true", "earliest");
    ck_assert_int_eq(sl_consumer_subscribe(k, t, 1), SL_ERR_NO_ERROR);
    ck_assert_int_eq(take(k, 35), 35);
    ck_assert_int_eq(take(k, 1), 0);
    sl_consumer_free(k); /* closes */

    /* enable.auto.commit=false and nothing committed: the next member starts over. */
    k = plain_consumer("nocommit", "false", "earliest");
    ck_assert_int_eq(sl_consumer_subscribe(k, t, 1), SL_ERR_NO_ERROR);
    ck_assert_int_eq(take(k, 60), 60);
    sl_consumer_free(k);
    k = plain_consumer("nocommit", "false", "earliest");
    ck_assert_int_eq(sl_consumer_subscribe(k, t, 1), SL_ERR_NO_ERROR);
    ck_assert_int_eq(take(k, 60), 60);
    sl_consumer_free(k);

    /* auto.offset.reset=latest without a commit: only records produced after the start. */
    k = plain_consumer("latest", "true", "latest");
    ck_assert_int_eq(sl_consumer_subscribe(k, t, 1), SL_ERR_NO_ERROR);
    int64_t t0 = tb_now_ms();
    while (sl_consumer_assignment(k, NULL, 0) < 6 && tb_now_ms() - t0 < 20000)
        sl_consumer_poll(k, 50, &r);
    sl_topic_partition a[6];
    for (int i = 0; i < 200; i++) { /* positions resolved (ListOffsets) */
        size_t n = sl_consumer_assignment(k, a, 6);
        bool all = n == 6;
        for (size_t j = 0; j < n; j++)
            all = all && a[j].offset >= 0;
        if (all)
            break;
        sl_consumer_poll(k, 20, &r);
    }
    produce("c1", 60, 12);
    ck_assert_int_eq(take(k, 12), 12);
    ck_assert_int_eq(take(k, 1), 0);
    sl_consumer_free(k);
}
END_TEST

/* A member that does not poll within max.poll.interval.ms leaves and hears of it. */
START_TEST(test_max_poll_interval)
{
    produce("mp", 0, 60);
    const char *t[] = {"mp"};
    sl_consumer *a = plain_consumer("mp", "true", "earliest");
    sl_consumer *b = plain_consumer("mp", "true", "earliest");
    ck_assert_int_eq(sl_consumer_subscribe(a, t, 1), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_consumer_subscribe(b, t, 1), SL_ERR_NO_ERROR);
    sl_record r;
    int64_t t0 = tb_now_ms();
    while ((sl_consumer_assignment(a, NULL, 0) == 0 || sl_consumer_assignment(b, NULL, 0) == 0) &&
           tb_now_ms() - t0 < 30000) {
        sl_consumer_poll(a, 10, &r);
        sl_consumer_poll(b, 10, &r);
    }
    ck_assert_uint_eq(sl_consumer_assignment(a, NULL, 0) + sl_consumer_assignment(b, NULL, 0), 6);
    sl_consumer_free(a);
    sl_consumer_free(b);
    /* max.poll.interval.ms is also the rebalance timeout: short here. */
    sl_conf *c = sl_conf_new();
    tb_cl_set(c, "bootstrap.servers", bootstrap);
    tb_cl_set(c, "group.id", "mp2");
    tb_cl_set(c, "max.poll.interval.ms", "1000");
    tb_cl_set(c, "session.timeout.ms", "10000");
    tb_cl_set(c, "heartbeat.interval.ms", "100");
    a = sl_consumer_new(c, NULL, 0);
    ck_assert_int_eq(sl_consumer_subscribe(a, t, 1), SL_ERR_NO_ERROR);
    t0 = tb_now_ms();
    while (sl_consumer_assignment(a, NULL, 0) < 6 && tb_now_ms() - t0 < 20000)
        sl_consumer_poll(a, 10, &r);
    ck_assert_uint_eq(sl_consumer_assignment(a, NULL, 0), 6);
    usleep(1300 * 1000);
    sl_err e = SL_ERR_NO_ERROR;
    for (int i = 0; i < 10 && e != SL_ERR__MAX_POLL_EXCEEDED; i++)
        e = sl_consumer_poll(a, 10, &r);
    ck_assert_int_eq(e, SL_ERR__MAX_POLL_EXCEEDED);
    /* ...and it rejoins and gets the partitions back. */
    t0 = tb_now_ms();
    while (sl_consumer_assignment(a, NULL, 0) < 6 && tb_now_ms() - t0 < 20000)
        sl_consumer_poll(a, 10, &r);
    ck_assert_uint_eq(sl_consumer_assignment(a, NULL, 0), 6);
    sl_consumer_free(a);
}
END_TEST

/*
 * A mixed group: a libsplicelog member and kcat (librdkafka) share "range,roundrobin": each
 * reads the other's subscription and assignment, the 6 partitions are split between them
 * without overlap (kcat's assignment as it prints it, ours from sl_consumer_assignment).
 */
START_TEST(test_mixed_group_with_kcat)
{
    produce("g6", 0, 600);
    sl_consumer *a = plain_consumer("mixed", "true", "earliest");
    const char *t[] = {"g6"};
    ck_assert_int_eq(sl_consumer_subscribe(a, t, 1), SL_ERR_NO_ERROR);
    ck_assert_int_eq(take(a, 600), 600); /* all of it, committed below */
    ck_assert_int_eq(sl_consumer_commit(a, NULL, 0, 0), SL_ERR_NO_ERROR);
    ck_assert_uint_eq(sl_consumer_assignment(a, NULL, 0), 6);
    char out[400], err[420];
    snprintf(out, sizeof(out), "%s/kcat-group.out", B.dir);
    snprintf(err, sizeof(err), "%s.err", out);
    const char *argv[] = {"kcat",
                          "-b",
                          bootstrap,
                          "-G",
                          "mixed",
                          "g6",
                          "-e",
                          "-X",
                          "heartbeat.interval.ms=100",
                          "-X",
                          "session.timeout.ms=10000",
                          NULL};
    pid_t pid = tb_spawn(argv, out);
    ck_assert_int_gt(pid, 0);
    /* Poll while kcat joins: our share drops to 3, then kcat reaches the end and leaves. */
    sl_topic_partition mine[6];
    size_t min_n = 6;
    int32_t ours_when_split[6];
    int n_split = 0;
    int64_t t0 = tb_now_ms();
    int st = -1;
    while (tb_now_ms() - t0 < 60000) {
        sl_record r;
        sl_err e = sl_consumer_poll(a, 20, &r);
        ck_assert_msg(e == SL_ERR_NO_ERROR || e == SL_ERR__TIMED_OUT, "%s", sl_err2str(e));
        ck_assert_int_ne(e, SL_ERR_NO_ERROR); /* everything was committed */
        size_t n = sl_consumer_assignment(a, mine, 6);
        if (n > 0 && n < min_n) { /* eager: 6, none while rejoining, 3, none, 6 */
            min_n = n;
            n_split = (int)n;
            for (size_t i = 0; i < n; i++)
                ours_when_split[i] = mine[i].partition;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            st = status;
            break;
        }
    }
    if (st < 0)
        tb_wait_exit(pid, 1); /* still running: killed and reaped */
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "kcat status 0x%x", st);
    ck_assert_int_eq(n_split, 3);
    FILE *f = fopen(err, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    int kcat_parts[6], nk = 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "assigned:") && nk == 0)
            for (char *p = strchr(line, '['); p && nk < 6; p = strchr(p + 1, '['))
                kcat_parts[nk++] = atoi(p + 1);
    fclose(f);
    ck_assert_int_eq(nk, 3);
    for (int i = 0; i < nk; i++)
        for (int j = 0; j < n_split; j++)
            ck_assert_int_ne(kcat_parts[i], ours_when_split[j]);
    /* kcat has left: ours again, all six. */
    t0 = tb_now_ms();
    while (sl_consumer_assignment(a, NULL, 0) < 6 && tb_now_ms() - t0 < 30000) {
        sl_record r;
        sl_consumer_poll(a, 20, &r);
    }
    ck_assert_uint_eq(sl_consumer_assignment(a, NULL, 0), 6);
    sl_consumer_free(a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("client_group");
    TCase *tc = tcase_create("group");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_three_members_eager_exactly_once);
    tcase_add_test(tc, test_three_members_cooperative_sticky_exactly_once);
    tcase_add_test(tc, test_commits);
    tcase_add_test(tc, test_max_poll_interval);
    tcase_add_test(tc, test_mixed_group_with_kcat);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
