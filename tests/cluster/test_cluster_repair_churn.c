/*
 * test_cluster_repair_churn — a leader whose in-sync followers all fail to connect keeps each
 * one's backoff while its repair turn goes round them (issue 18 M5; docs/cluster.md "Repair of
 * fenced ranges"). A real ZooKeeper and three brokers on loopback (small segments, the
 * scrubber at 1 GiB/s), the nemesis topic of 3 partitions, RF 3, and its producer running.
 * Broker 3 runs with num.replica.fetchers=3 (its thread 0 then follows no partition: its
 * connections to brokers 1 and 2 are the repair's alone), replica.fetch.backoff.ms=2000 and
 * replica.lag.time.max.ms=60000; brokers 1 and 2 with 15 s ZooKeeper sessions. Both followers
 * are killed (SIGKILL: still registered, their ports refusing), then a byte of a sealed,
 * digested segment of a partition broker 3 leads is flipped: broker 3 fences it and its
 * repair asks follower after follower, each connection refused. Once the controller has taken
 * the dead followers out of that partition's ISR (their sessions expired), the moves stop;
 * the moves are counted from broker 3's log (its rate-limited line and the limiter's "N more
 * like this" summaries), once the limiter's window has closed: at most two per backoff period
 * (each follower dialled once per backoff) and a margin, and at least two (the turn went
 * round). Measured: 10 moves in 8.8 s (bound 18); without the backoff kept across the turn's
 * moves a session made again for a follower dials it at once, and the turn moves at about every
 * loop turn (100 ms): 76 moves in 7.8 s (bound 16).
 * Skipped, saying so, without java or Debian's zookeeper package.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tb_broker.h"
#include "tb_nemesis.h"
#include "tb_zk.h"

#define NBROKERS   3
#define LEADER     3
#define BACKOFF_MS 2000

static struct tb_zk Z;
static struct tb_broker B[NBROKERS + 1];

static void zk_start(void) { tb_zk_start(&Z, "test_cluster_repair_churn"); }
static void zk_stop(void) { tb_zk_stop(&Z); }

static void teardown(void)
{
    for (int i = 0; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

static void start_broker(struct tb_nemesis *n, int id)
{
    static const char *const opts[] = {
        "-o", "default.replication.factor=3",       "-o", "min.insync.replicas=2",
        "-o", "replica.lag.time.max.ms=60000",      "-o", "log.segment.bytes=32768",
        "-o", "log.scrub.bytes.per.sec=1073741824", "-o", "num.replica.fetchers=3",
        "-o", "replica.fetch.backoff.ms=2000",      NULL};
    tb_nem_start_broker_with(n, id, id == LEADER ? 6000 : 15000, NULL, opts);
}

/* The moves of a led partition's repair turn logged in b's log for lines holding needle: a
 * line written counts one, the limiter's summary "(N more like this ...)" N. */
static long moves(const struct tb_broker *b, const char *needle)
{
    FILE *f = fopen(b->log, "r");
    ck_assert_msg(f != NULL, "%s: %s", b->log, strerror(errno));
    static char line[4096];
    long n = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, needle))
            continue;
        const char *more = strstr(line, " more like this in the last");
        if (!more) {
            n++;
            continue;
        }
        const char *open = more;
        while (open > line && open[-1] != '(')
            open--;
        n += strtol(open, NULL, 10);
    }
    fclose(f);
    return n;
}

START_TEST(a_turn_round_unreachable_followers_keeps_their_backoff)
{
    TB_ZK_SKIP(&Z, "test_cluster_repair_churn");
    static struct tb_nemesis nem;
    tb_nem_init(&nem, "test_cluster_repair_churn", B, NBROKERS, &Z, "/churn");
    for (int i = 1; i <= NBROKERS; i++)
        start_broker(&nem, i);
    tb_nem_create_topic(&nem);
    tb_nem_produce_start(&nem);

    zhandle_t *zh = tb_zk_open(&Z);
    int p = -1;
    int64_t until = tb_now_ms() + 30000;
    while (p < 0) {
        for (int k = 0; k < 3 && p < 0; k++)
            if (tb_nem_leader(&nem, zh, k) == LEADER)
                p = k;
        ck_assert_msg(p >= 0 || tb_now_ms() < until, "broker %d leads no partition", LEADER);
        if (p < 0)
            tb_sleep_ms(250);
    }
    char dir[400], seg[800];
    snprintf(dir, sizeof dir, "%s/nemesis-%d", B[LEADER].data, p);
    until = tb_now_ms() + 90000;
    while (!tb_nem_sealed_segment(dir, 0, seg, sizeof seg)) {
        ck_assert_msg(tb_now_ms() < until, "no sealed segment in %s", dir);
        tb_sleep_ms(250);
    }
    tb_nem_produce_stop(&nem);
    tb_broker_stop(&B[1], SIGKILL);
    tb_broker_stop(&B[2], SIGKILL);
    int fd = open(seg, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t x;
    ck_assert_int_eq(pread(fd, &x, 1, 70), 1);
    x ^= 0x20;
    ck_assert_int_eq(pwrite(fd, &x, 1, 70), 1);
    close(fd);
    char want[96];
    snprintf(want, sizeof want, "fenced nemesis-%d: ", p);
    ck_assert_msg(tb_log_wait(&B[LEADER], want, 30000), "broker %d did not fence %s (see %s)",
                  LEADER, seg, B[LEADER].log);
    int64_t t0 = tb_now_ms();

    /* until the dead followers are out of the ISR (their 15 s sessions expired): the turn
     * goes round them meanwhile */
    int isr[8], n = 0;
    until = tb_now_ms() + 90000;
    while ((n = tb_nem_isr(&nem, zh, p, isr, 8)) != 1) {
        ck_assert_msg(tb_now_ms() < until, "nemesis-%d's ISR keeps %d brokers", p, n);
        tb_sleep_ms(250);
    }
    int64_t window = tb_now_ms() - t0;
    zookeeper_close(zh);
    tb_sleep_ms(12000); /* the limiter's window (10 s) closed: its summaries written */

    snprintf(want, sizeof want, "replica: nemesis-%d: in-sync follower ", p);
    long m = moves(&B[LEADER], want);
    /* (two dials per backoff period, two at once when the turn starts, and a margin for the
     * time broker 3 takes to see the ISR change after ZooKeeper has it) */
    long bound = 2 * (window / BACKOFF_MS + 2) + 6;
    fprintf(stderr,
            "test_cluster_repair_churn: %ld moves of nemesis-%d's repair turn in %lld ms "
            "(bound %ld)\n",
            m, p, (long long)window, bound);
    ck_assert_msg(m >= 2, "the turn never went round the followers (see %s)", B[LEADER].log);
    ck_assert_msg(m <= bound, "%ld moves in %lld ms: the followers' backoff was not kept (see %s)",
                  m, (long long)window, B[LEADER].log);
}
END_TEST

int main(void)
{
    return tb_nem_run("cluster_repair_churn", zk_start, zk_stop, teardown,
                      a_turn_round_unreachable_followers_keeps_their_backoff);
}
