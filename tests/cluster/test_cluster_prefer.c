/*
 * test_cluster_prefer — preferred-leader election after a restart (issue 18; docs/cluster.md
 * "The controller", br_clu_prefer.c). A real ZooKeeper and three brokers on loopback, the
 * nemesis topic (3 partitions, RF 3, min.insync.replicas=2: each partition's first replica
 * leads it at creation, all three being live, so partition p's preferred replica is its first
 * leader), and its librdkafka producer (acks=all, idempotent) running throughout.
 *   - leadership_returns: with leader.imbalance.check.interval.seconds=1, the preferred replica
 *     V of partition 0 is killed (kill -9) until its partitions are led by others (its session
 *     expires), then started again on its data: every partition is led by its preferred
 *     replica again (bounded wait), with a leader epoch above the one of the failover; the
 *     producer keeps writing through the move (NOT_LEADER_OR_FOLLOWER, new Metadata, the new
 *     leader) and tb_nem_finish checks every acknowledged record is in the log exactly once,
 *     the replicas identical and the ISRs full. Without the controller's check leadership never
 *     returns to V and the wait fails.
 *   - disabled_keeps_leaders: the same restart with auto.leader.rebalance.enable=false: once V
 *     is back in every ISR, leadership stays where the failover put it for several intervals.
 *     Then ElectLeaders (API 43, as kafka-leader-election.sh --election-type preferred sends
 *     it): a broker that is not the controller answers NOT_CONTROLLER (top level and each
 *     partition, also each partition of a null list at v0) and nothing moves; UNCLEAN answers
 *     ELECTION_NOT_NEEDED (live leaders); the controller answers NONE for the partitions V is
 *     preferred for, already written in ZooKeeper (V leads, epoch + 1), ELECTION_NOT_NEEDED
 *     for the others (epoch unchanged) (a partition answered REQUEST_TIMED_OUT, retriable, as
 *     when an ISR change races the election, is asked again, a bounded number of times, and
 *     may then answer ELECTION_NOT_NEEDED), UNKNOWN_TOPIC_OR_PARTITION for a partition that
 *     does not exist (v0), and a null list (every partition) leaves out those already led by
 *     their preferred replica; `splicelog cluster elect --topic` bootstrapped at a broker that
 *     is not the controller goes to the controller and prints ALREADY for each partition. The
 *     producer runs throughout and tb_nem_finish checks every acknowledged record once.
 *   - sigterm_moves_leadership_first: controlled shutdown (br_clu_leave.c). One follower F of
 *     the leader V of partition 0 is paused (SIGSTOP), so that V's acks=all answers wait, and
 *     V gets SIGTERM while the producer runs; F resumes once V has stopped. Then every
 *     partition is led by another broker (bounded wait), V logged that it led nothing before
 *     it stopped; V is started again and tb_nem_finish checks every acknowledged record once.
 *     Without it, V led its partitions until its session ended with the process: its drain
 *     waited for the parked answers while its followers could no longer fetch, until it
 *     shrank its ISRs after replica.lag.time.max.ms (the stop took 4080 ms against 324), to
 *     itself alone at worst, which left the partition offline once it was gone.
 * The first two use kill -9 (their subject is the return, not the way out). Skipped, saying so,
 * without java or Debian's zookeeper package. Every wait is bounded.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_api.h"
#include "kp_msg_cluster.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_cli.h"
#include "tb_clu.h"
#include "tb_codec.h"
#include "tb_kafka.h"
#include "tb_nemesis.h"
#include "tb_zk.h"

#define SESSION_MS 6000
#define NBROKERS   3

static struct tb_zk Z;
static struct tb_broker B[NBROKERS + 1];
static int32_t corr = 500;
static uint8_t arena_mem[1 << 16];

#define NO_ANSWER (-2) /* a partition the answer does not name */

/* ElectLeaders v (type 0 preferred, 1 unclean) to broker id for the nemesis topic's partitions
 * ps[0, np) (np < 0: a null list, every partition); *top: the top-level error (v1+; 0 at v0);
 * errs[p]: partition p's error (NO_ANSWER when not answered). Returns how many partitions were
 * answered. */
static int elect(const struct tb_nemesis *n, int id, int16_t v, int8_t type, int np,
                 const int32_t *ps, int16_t *top, int16_t errs[8])
{
    struct kp_elect_leaders_req_topic tp = {kp_str_of(n->topic), np, ps};
    struct kp_elect_leaders_req req = {type, np < 0 ? -1 : 1, np < 0 ? NULL : &tp, 30000};
    struct kp_elect_leaders_resp out;
    struct tb_frame f;
    TB_CLU_ROUND(B[id].port, KP_API_ELECT_LEADERS, v, ++corr, "cluster-prefer-test",
                 kp_elect_leaders_req_encode, &req, kp_elect_leaders_resp_decode, arena_mem, &out,
                 &f);
    *top = out.error_code;
    for (int p = 0; p < 8; p++)
        errs[p] = NO_ANSWER;
    int answered = 0;
    for (int32_t i = 0; i < out.n_results; i++) {
        const struct kp_elect_leaders_resp_topic *t = &out.results[i];
        ck_assert_int_eq(t->topic.len, (int32_t)strlen(n->topic));
        ck_assert(memcmp(t->topic.ptr, n->topic, strlen(n->topic)) == 0);
        for (int32_t k = 0; k < t->n_partitions; k++) {
            int32_t p = t->partitions[k].partition_id;
            ck_assert(p >= 0 && p < 8);
            errs[p] = t->partitions[k].error_code;
            answered++;
        }
    }
    tb_frame_free(&f);
    return answered;
}

/* ElectLeaders v0 (preferred) with a null list to broker id: the partitions answered, each
 * checked to be answered code; *nt_topic: how many of them are the nemesis topic's. */
static int elect_all_v0(const struct tb_nemesis *n, int id, int16_t code, int *nt_topic)
{
    struct kp_elect_leaders_req req = {0, -1, NULL, 30000};
    struct kp_elect_leaders_resp out;
    struct tb_frame f;
    TB_CLU_ROUND(B[id].port, KP_API_ELECT_LEADERS, 0, ++corr, "cluster-prefer-test",
                 kp_elect_leaders_req_encode, &req, kp_elect_leaders_resp_decode, arena_mem, &out,
                 &f);
    int answered = 0;
    *nt_topic = 0;
    for (int32_t i = 0; i < out.n_results; i++) {
        const struct kp_elect_leaders_resp_topic *t = &out.results[i];
        bool ours = t->topic.len == (int32_t)strlen(n->topic) &&
                    memcmp(t->topic.ptr, n->topic, strlen(n->topic)) == 0;
        for (int32_t k = 0; k < t->n_partitions; k++) {
            ck_assert_int_eq(t->partitions[k].error_code, code);
            answered++;
            *nt_topic += ours;
        }
    }
    tb_frame_free(&f);
    return answered;
}

static void zk_start(void) { tb_zk_start(&Z, "test_cluster_prefer"); }
static void zk_stop(void) { tb_zk_stop(&Z); }

static void teardown(void)
{
    for (int i = 0; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

static void start_broker(struct tb_nemesis *n, int id, bool rebalance)
{
    static const char *const on[] = {"-o", "default.replication.factor=3",
                                     "-o", "min.insync.replicas=2",
                                     "-o", "replica.lag.time.max.ms=4000",
                                     "-o", "log.segment.bytes=262144",
                                     "-o", "auto.leader.rebalance.enable=true",
                                     "-o", "leader.imbalance.check.interval.seconds=1",
                                     NULL};
    static const char *const off[] = {"-o", "default.replication.factor=3",
                                      "-o", "min.insync.replicas=2",
                                      "-o", "replica.lag.time.max.ms=4000",
                                      "-o", "log.segment.bytes=262144",
                                      "-o", "auto.leader.rebalance.enable=false",
                                      "-o", "leader.imbalance.check.interval.seconds=1",
                                      NULL};
    tb_nem_start_broker_with(n, id, SESSION_MS, NULL, rebalance ? on : off);
}

/* Waits (bounded) for every partition to have a leader; their ids into lead. */
static void leaders(struct tb_nemesis *n, zhandle_t *zh, int *lead)
{
    int64_t until = tb_now_ms() + 30000;
    for (int p = 0; p < n->nparts; p++)
        while ((lead[p] = tb_nem_leader(n, zh, p)) < 0) {
            ck_assert_msg(tb_now_ms() < until, "%s-%d has no leader", n->topic, p);
            tb_sleep_ms(100);
        }
}

/* The cluster (each broker with the rebalance on or off), the nemesis topic and its producer,
 * running for 1.5 s; pref[p]: partition p's preferred replica (its leader at creation). */
static zhandle_t *start_producing(struct tb_nemesis *n, const char *chroot, bool rebalance,
                                  int *pref)
{
    tb_nem_init(n, "test_cluster_prefer", B, NBROKERS, &Z, chroot);
    for (int i = 1; i <= NBROKERS; i++)
        start_broker(n, i, rebalance);
    tb_nem_create_topic(n);
    zhandle_t *zh = tb_zk_open(&Z);
    ck_assert_ptr_nonnull(zh);
    leaders(n, zh, pref);
    tb_nem_print_states(n, zh, "test_cluster_prefer: created:");
    tb_nem_produce_start(n);
    tb_sleep_ms(1500);
    return zh;
}

/* Starts the cluster and the producer; pref[p]: partition p's preferred replica (its leader at
 * creation); returns V, the preferred replica of partition 0, once it was stopped, its
 * partitions led by others, and started again; after[p]: the leader epochs then. */
static int restart_preferred(struct tb_nemesis *n, const char *chroot, bool rebalance, int *pref,
                             int *after, zhandle_t **zhp)
{
    zhandle_t *zh = start_producing(n, chroot, rebalance, pref);
    *zhp = zh;

    int v = pref[0];
    fprintf(stderr, "test_cluster_prefer: kill -9 broker %d (preferred for %s-0)\n", v, n->topic);
    tb_broker_stop(&B[v], SIGKILL); /* (see the top: not SIGTERM) */
    int64_t until = tb_now_ms() + 30000;
    for (;;) { /* its partitions led by the others */
        bool moved = true;
        for (int p = 0; p < n->nparts; p++) {
            int l = tb_nem_leader(n, zh, p);
            moved &= l >= 0 && l != v;
        }
        if (moved)
            break;
        if (tb_now_ms() >= until) {
            tb_nem_print_states(n, zh, "test_cluster_prefer: not failed over:");
            ck_abort_msg("broker %d's partitions were not led by others", v);
        }
        tb_sleep_ms(100);
    }
    tb_sleep_ms(1000);
    for (int p = 0; p < n->nparts; p++)
        after[p] = tb_nem_leader_epoch(n, zh, p);
    tb_nem_print_states(n, zh, "test_cluster_prefer: failed over:");
    start_broker(n, v, rebalance);
    return v;
}

START_TEST(leadership_returns)
{
    TB_ZK_SKIP(&Z, "test_cluster_prefer");
    static struct tb_nemesis nem;
    int pref[TB_NEM_PARTS], after[TB_NEM_PARTS];
    zhandle_t *zh = NULL;
    int v = restart_preferred(&nem, "/prefer_on", true, pref, after, &zh);

    /* back to the preferred replicas: V must first catch up and rejoin the ISR */
    int64_t until = tb_now_ms() + 45000;
    for (;;) {
        int back = 0;
        for (int p = 0; p < nem.nparts; p++)
            back += tb_nem_leader(&nem, zh, p) == pref[p];
        if (back == nem.nparts)
            break;
        if (tb_now_ms() >= until) {
            tb_nem_print_states(&nem, zh, "test_cluster_prefer: not back:");
            ck_abort_msg("leadership did not return to the preferred replicas (broker %d "
                         "restarted; %d of %d partitions led by theirs)",
                         v, back, nem.nparts);
        }
        tb_sleep_ms(200);
    }
    tb_nem_print_states(&nem, zh, "test_cluster_prefer: rebalanced:");
    for (int p = 0; p < nem.nparts; p++)
        if (pref[p] == v)
            ck_assert_msg(tb_nem_leader_epoch(&nem, zh, p) > after[p],
                          "%s-%d: leader epoch %d, %d after the failover", nem.topic, p,
                          tb_nem_leader_epoch(&nem, zh, p), after[p]);
    bool logged = false;
    for (int i = 1; i <= NBROKERS; i++)
        logged |= tb_log_contains(&B[i], "cluster: controller: preferred replica ");
    ck_assert_msg(logged, "no controller logged a preferred-replica election");
    zookeeper_close(zh);

    tb_sleep_ms(2000); /* the producer writes on to the moved leaders */
    tb_nem_finish(&nem, "broker %d restarted, leadership returned", v);
}
END_TEST

START_TEST(disabled_keeps_leaders)
{
    TB_ZK_SKIP(&Z, "test_cluster_prefer");
    static struct tb_nemesis nem;
    int pref[TB_NEM_PARTS], after[TB_NEM_PARTS];
    zhandle_t *zh = NULL;
    int v = restart_preferred(&nem, "/prefer_off", false, pref, after, &zh);

    /* V back in every ISR, then several check intervals: nobody moves */
    char why[256] = "";
    int64_t until = tb_now_ms() + 45000;
    while (!tb_nem_isr_full(&nem, zh, why, sizeof why)) {
        ck_assert_msg(tb_now_ms() < until, "the ISRs are not full again: %s", why);
        tb_sleep_ms(200);
    }
    int held[TB_NEM_PARTS];
    leaders(&nem, zh, held);
    tb_sleep_ms(4000);
    tb_nem_print_states(&nem, zh, "test_cluster_prefer: rebalance off:");
    for (int p = 0; p < nem.nparts; p++) {
        ck_assert_int_eq(tb_nem_leader(&nem, zh, p), held[p]);
        if (pref[p] == v)
            ck_assert_int_ne(held[p], v);
    }
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert(!tb_log_contains(&B[i], "cluster: controller: preferred replica "));

    /* ElectLeaders, as kafka-leader-election.sh --election-type preferred sends it */
    int ctl = tb_clu_metadata(B[1].port, nem.topic)->controller_id;
    ck_assert(ctl >= 1 && ctl <= NBROKERS);
    int other = ctl % NBROKERS + 1;
    static const int32_t all3[] = {0, 1, 2}, bad[] = {0, 7};
    int16_t top, errs[8];
    /* a broker that is not the controller: NOT_CONTROLLER, nothing moves */
    ck_assert_int_eq(elect(&nem, other, 2, 0, 3, all3, &top, errs), 3);
    ck_assert_int_eq(top, 41);
    for (int p = 0; p < 3; p++)
        ck_assert_int_eq(errs[p], 41);
    /* a null list (v0, no top-level error) to it: each partition NOT_CONTROLLER, not an empty
     * answer that reads as success */
    int ours = 0;
    ck_assert_int_ge(elect_all_v0(&nem, other, 41, &ours), nem.nparts);
    ck_assert_int_eq(ours, nem.nparts);
    ck_assert_int_eq(tb_nem_leader(&nem, zh, 0), held[0]);
    /* unclean (v1): every partition has a live leader: ELECTION_NOT_NEEDED, nothing moves */
    ck_assert_int_eq(elect(&nem, ctl, 1, 1, 3, all3, &top, errs), 3);
    ck_assert_int_eq(top, 0);
    for (int p = 0; p < 3; p++)
        ck_assert_int_eq(errs[p], 84);
    /* the controller: NONE where the preferred replica did not lead, ELECTION_NOT_NEEDED where
     * it did; an unknown partition UNKNOWN_TOPIC_OR_PARTITION */
    int epochs[TB_NEM_PARTS];
    for (int p = 0; p < nem.nparts; p++)
        epochs[p] = tb_nem_leader_epoch(&nem, zh, p);
    /* An ISR change racing the request may leave an answer REQUEST_TIMED_OUT (retriable: the
     * controller re-reads a changed state a few times, then gives up); such partitions are
     * asked again, a bounded number of times, and may then answer ELECTION_NOT_NEEDED when the
     * earlier attempt's write went through. */
    bool retried[TB_NEM_PARTS] = {false};
    int final[TB_NEM_PARTS];
    for (int p = 0; p < nem.nparts; p++)
        final[p] = NO_ANSWER;
    for (int attempt = 0; attempt < 5; attempt++) {
        int32_t ask[TB_NEM_PARTS];
        int na = 0;
        for (int p = 0; p < nem.nparts; p++)
            if (final[p] == NO_ANSWER)
                ask[na++] = p;
        if (na == 0)
            break;
        ck_assert_int_eq(elect(&nem, ctl, 2, 0, na, ask, &top, errs), na);
        ck_assert_int_eq(top, 0);
        for (int k = 0; k < na; k++) {
            int p = ask[k];
            if (errs[p] == 7) { /* REQUEST_TIMED_OUT */
                retried[p] = true;
                continue;
            }
            final[p] = errs[p];
        }
        tb_sleep_ms(200);
    }
    int moved = 0;
    for (int p = 0; p < nem.nparts; p++) {
        bool ok =
            held[p] == pref[p] ? final[p] == 84 : final[p] == 0 || (retried[p] && final[p] == 84);
        ck_assert_msg(ok, "%s-%d: error %d (retried %d)", nem.topic, p, final[p], retried[p]);
        moved += held[p] != pref[p];
        /* answered once written: ZooKeeper shows it already */
        ck_assert_int_eq(tb_nem_leader(&nem, zh, p), pref[p]);
        if (held[p] != pref[p])
            ck_assert_int_gt(tb_nem_leader_epoch(&nem, zh, p), epochs[p]);
        else
            ck_assert_int_eq(tb_nem_leader_epoch(&nem, zh, p), epochs[p]);
    }
    ck_assert_int_ge(moved, 1);
    ck_assert_int_eq(elect(&nem, ctl, 0, 0, 2, bad, &top, errs), 2); /* v0 */
    ck_assert_int_eq(errs[0], 84);
    ck_assert_int_eq(errs[7], 3);
    /* a null list: every partition; those already led by their preferred replica left out */
    ck_assert_int_eq(elect(&nem, ctl, 2, 0, -1, NULL, &top, errs), 0);
    ck_assert_int_eq(top, 0);
    /* the CLI, bootstrapped at a broker that is not the controller, asks the controller */
    char bs[64], outp[600], text[2048] = "";
    snprintf(bs, sizeof bs, "127.0.0.1:%d", B[other].port);
    snprintf(outp, sizeof outp, "%s.cli", B[other].log);
    const char *argv[] = {tb_cli_tool(), "cluster",     "elect", "--topic",
                          nem.topic,     "--bootstrap", bs,      NULL};
    int crc = tb_cli_exec(NULL, argv, outp);
    FILE *cf = fopen(outp, "r");
    ck_assert_ptr_nonnull(cf);
    text[fread(text, 1, sizeof text - 1, cf)] = 0;
    fclose(cf);
    if (crc != 0) {
        /* what it said, in the failure itself (the temp dir goes at teardown) */
        char err[1024] = "", errp[640];
        snprintf(errp, sizeof errp, "%s.err", outp);
        FILE *ef = fopen(errp, "r");
        if (ef) {
            err[fread(err, 1, sizeof err - 1, ef)] = 0;
            fclose(ef);
        }
        ck_abort_msg("%s cluster elect: exit %d: %s%s", tb_cli_tool(), crc, err, text);
    }
    for (int p = 0; p < nem.nparts; p++) {
        char want[64];
        snprintf(want, sizeof want, "ALREADY %s-%d\n", nem.topic, p);
        ck_assert_msg(strstr(text, want), "splicelog cluster elect printed: %s", text);
    }
    tb_nem_print_states(&nem, zh, "test_cluster_prefer: after ElectLeaders:");
    zookeeper_close(zh);
    tb_sleep_ms(2000); /* the producer writes on to the moved leaders */
    tb_nem_finish(&nem, "broker %d restarted, rebalance off, then ElectLeaders", v);
}
END_TEST

START_TEST(sigterm_moves_leadership_first)
{
    TB_ZK_SKIP(&Z, "test_cluster_prefer");
    static struct tb_nemesis nem;
    int pref[TB_NEM_PARTS];
    zhandle_t *zh = start_producing(&nem, "/leave", false, pref);

    /* V leads partition 0; F, one of its followers, is paused, so that V's acks=all answers
     * wait (its high watermark cannot pass F) when V is told to stop */
    int v = pref[0], f = v % NBROKERS + 1;
    fprintf(stderr,
            "test_cluster_prefer: SIGSTOP to broker %d, then SIGTERM to broker %d (leads "
            "%s-0)\n",
            f, v, nem.topic);
    ck_assert_int_eq(kill(B[f].pid, SIGSTOP), 0);
    tb_sleep_ms(500);
    int64_t t0 = tb_now_ms();
    int rc = tb_broker_stop(&B[v], SIGTERM);
    int64_t stopped_ms = tb_now_ms() - t0;
    ck_assert_int_eq(kill(B[f].pid, SIGCONT), 0);
    ck_assert_int_ge(rc, 0);
    /* every partition led by another broker: none left offline by V's leaving */
    int64_t until = tb_now_ms() + 15000;
    for (;;) {
        bool led = true;
        for (int p = 0; p < nem.nparts; p++) {
            int l = tb_nem_leader(&nem, zh, p);
            led &= l >= 0 && l != v;
        }
        if (led)
            break;
        if (tb_now_ms() >= until) {
            tb_nem_print_states(&nem, zh, "test_cluster_prefer: after the stop:");
            ck_abort_msg("a partition has no leader after broker %d stopped with SIGTERM", v);
        }
        tb_sleep_ms(100);
    }
    tb_nem_print_states(&nem, zh, "test_cluster_prefer: broker stopped:");
    tb_sleep_ms(2000);
    int64_t gap = 0;
    for (int p = 0; p < nem.nparts; p++)
        gap = nem.longest_gap_ms[p] > gap ? nem.longest_gap_ms[p] : gap;
    fprintf(stderr,
            "test_cluster_prefer: broker %d stopped %lld ms after SIGTERM; the longest pause "
            "between two acknowledgements of one partition: %lld ms\n",
            v, (long long)stopped_ms, (long long)gap);
    ck_assert(tb_log_contains(&B[v], "controlled shutdown: this broker leads no partition"));
    /* V stopped long before its followers' lag could have freed its parked answers: without
     * the controlled shutdown that wait is replica.lag.time.max.ms (4 s) less the 0.5 s above */
    ck_assert_msg(stopped_ms < 3000, "broker %d took %lld ms to stop", v, (long long)stopped_ms);
    zookeeper_close(zh);

    start_broker(&nem, v, false); /* back for the final checks (ISRs full, replicas equal) */
    tb_sleep_ms(2000);
    tb_nem_finish(&nem, "broker %d stopped with SIGTERM and started again", v);
}
END_TEST

int main(void)
{
    TCase *tc = tcase_create("prefer");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, zk_start, zk_stop);
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, leadership_returns);
    tcase_add_test(tc, disabled_keeps_leaders);
    tcase_add_test(tc, sigterm_moves_leadership_first);
    Suite *s = suite_create("cluster_prefer");
    suite_add_tcase(s, tc);
    return tb_ck_run(s);
}
