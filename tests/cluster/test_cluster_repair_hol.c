/*
 * test_cluster_repair_hol — a fenced range the other replica answers with an error does not
 * hold up the partition's later ranges (issue 18 M5; docs/cluster.md "Repair of fenced
 * ranges"). A real ZooKeeper and three brokers on loopback as in test_cluster_repair (small
 * segments, the scrubber at 1 GiB/s, metrics on), the nemesis topic of 3 partitions, RF 3, and
 * its producer running. In partition 0:
 *   - a byte of its oldest sealed, digested segment is flipped on all three brokers: each
 *     fences it, and each one's repair fetch of it is answered with an error (every copy is
 *     fenced: CORRUPT_MESSAGE), so that range stays fenced for good;
 *   - then a byte of its next sealed segment is flipped on one follower only, which fences it.
 * Bounded waits and counted facts: that follower repairs the later range from its leader (its
 * log line, splicelog_scrub_repaired_ranges_total 1, the segment the leader's bytes again),
 * while the first range's fetches go on being answered with an error (logged, the next range
 * tried meanwhile). Then the same byte of that later segment is flipped on the leader: every
 * in-sync follower in turn answers its first range with an error, and it goes on to the later
 * range and repairs it from a follower (log line, its metric 1, the bytes the follower's).
 * Without moving on past a range answered with an error, the follower asks for the first range
 * every 10 s and never for the later one, and so does the leader once its turn has gone round:
 * the waits for the repairs fail.
 * The first range stays fenced on every replica (nothing can mend it): the nemesis's
 * byte-for-byte checks are not run. Skipped, saying so, without java or Debian's zookeeper
 * package.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tb_broker.h"
#include "tb_http.h"
#include "tb_nemesis.h"
#include "tb_zk.h"

#define SESSION_MS 6000
#define NBROKERS   3

static struct tb_zk Z;
static struct tb_broker B[NBROKERS + 1];

static void zk_start(void) { tb_zk_start(&Z, "test_cluster_repair_hol"); }
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
        "-o", "replica.lag.time.max.ms=10000",      "-o", "log.segment.bytes=32768",
        "-o", "log.scrub.bytes.per.sec=1073741824", "-o", "metrics.listener=http://127.0.0.1:0",
        NULL};
    tb_nem_start_broker_with(n, id, SESSION_MS, NULL, opts);
}

static double repaired_ranges(const struct tb_broker *b)
{
    int port = tb_broker_metrics_port(b);
    ck_assert_int_gt(port, 0);
    return tb_metric_at(port, "splicelog_scrub_repaired_ranges_total");
}

/* Byte 70 of the file (inside the first batch's records) flipped. */
static void flip(const char *path)
{
    int fd = open(path, O_RDWR);
    ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
    uint8_t x;
    ck_assert_int_eq(pread(fd, &x, 1, 70), 1);
    x ^= 0x20;
    ck_assert_int_eq(pwrite(fd, &x, 1, 70), 1);
    close(fd);
}

/* Whether the first len bytes of files a and b are the same. */
static bool same_prefix(const char *a, const char *b, size_t len)
{
    static uint8_t x[32768], y[32768];
    ck_assert_uint_le(len, sizeof x);
    int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
    ck_assert_msg(fa >= 0 && fb >= 0, "%s, %s", a, b);
    bool same = pread(fa, x, len, 0) == (ssize_t)len && pread(fb, y, len, 0) == (ssize_t)len &&
                memcmp(x, y, len) == 0;
    close(fa);
    close(fb);
    return same;
}

/* Waits (bounded) until needle occurs at least n times in broker b's log. */
static bool wait_count(const struct tb_broker *b, const char *needle, long n, int timeout_ms)
{
    int64_t until = tb_now_ms() + timeout_ms;
    while (tb_log_count(b, needle) < n) {
        if (tb_now_ms() > until)
            return false;
        tb_sleep_ms(250);
    }
    return true;
}

START_TEST(a_range_answered_with_an_error_does_not_hold_up_the_next)
{
    TB_ZK_SKIP(&Z, "test_cluster_repair_hol");
    static struct tb_nemesis nem;
    tb_nem_init(&nem, "test_cluster_repair_hol", B, NBROKERS, &Z, "/hol");
    for (int i = 1; i <= NBROKERS; i++)
        start_broker(&nem, i);
    tb_nem_create_topic(&nem);
    tb_nem_produce_start(&nem);

    zhandle_t *zh = tb_zk_open(&Z);
    int L = -1;
    int64_t until = tb_now_ms() + 30000;
    while ((L = tb_nem_leader(&nem, zh, 0)) < 0) {
        ck_assert_msg(tb_now_ms() < until, "nemesis-0 has no leader");
        tb_sleep_ms(250);
    }
    zookeeper_close(zh);
    int F = L == 1 ? 2 : 1, A = 6 - L - F; /* F: the follower spoilt alone later */

    /* the two oldest sealed, digested segments of partition 0 on F (the replicas roll at the
     * same offsets: the same names on every broker) */
    char dir[400], s0[800], s1[800], p[900];
    snprintf(dir, sizeof dir, "%s/nemesis-0", B[F].data);
    until = tb_now_ms() + 90000;
    while (!tb_nem_sealed_segment(dir, 1, s1, sizeof s1)) {
        ck_assert_msg(tb_now_ms() < until, "no second sealed segment in %s", dir);
        tb_sleep_ms(250);
    }
    ck_assert(tb_nem_sealed_segment(dir, 0, s0, sizeof s0));
    const char *n0 = strrchr(s0, '/') + 1, *n1 = strrchr(s1, '/') + 1;
    const int all[3] = {A, F, L};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/nemesis-0/%s", B[all[i]].data, n0);
        flip(p);
    }
    fprintf(stderr,
            "test_cluster_repair_hol: %s spoilt on brokers %d, %d, %d (leader %d); %s next on "
            "follower %d only\n",
            n0, A, F, L, L, n1, F);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(tb_log_wait(&B[all[i]], "fenced nemesis-0: ", 30000),
                      "broker %d's scrubber did not fence %s (see %s)", all[i], n0, B[all[i]].log);
    /* F asks its leader for the first range, which answers an error (its copy fenced too) */
    ck_assert_msg(tb_log_wait(&B[F], "replica: nemesis-0: repair of fenced offsets [", 30000),
                  "broker %d's leader never answered its repair fetch with an error (see %s)", F,
                  B[F].log);

    long fenced = tb_log_count(&B[F], "fenced nemesis-0: ");
    snprintf(p, sizeof p, "%s/nemesis-0/%s", B[F].data, n1);
    flip(p);
    ck_assert_msg(wait_count(&B[F], "fenced nemesis-0: ", fenced + 1, 30000),
                  "broker %d's scrubber did not fence %s (see %s)", F, n1, B[F].log);
    /* the later range: repaired from the leader (within a few repair walks of 10 s) */
    ck_assert_msg(tb_log_wait(&B[F], "replica: nemesis-0: repaired fenced offsets", 45000),
                  "broker %d never repaired its later range in %s, held up by the first "
                  "(%ld error answers; see %s)",
                  F, n1, tb_log_count(&B[F], "replica: nemesis-0: repair of fenced offsets ["),
                  B[F].log);
    ck_assert(repaired_ranges(&B[F]) == 1.0);
    char lead1[900];
    snprintf(lead1, sizeof lead1, "%s/nemesis-0/%s", B[L].data, n1);
    ck_assert_msg(same_prefix(p, lead1, 4096), "%s differs from the leader's %s", p, lead1);
    /* the first range is still answered with an error, and the next range tried meanwhile */
    ck_assert_int_ge(tb_log_count(&B[F], "the next range meanwhile"), 1);

    /* the same on the leader: its first range is refused by every in-sync follower in turn,
     * then it goes on to the later range (spoilt on it alone now), which F repaired */
    snprintf(p, sizeof p, "%s/nemesis-0/%s", B[L].data, n1);
    fenced = tb_log_count(&B[L], "fenced nemesis-0: ");
    flip(p);
    ck_assert_msg(wait_count(&B[L], "fenced nemesis-0: ", fenced + 1, 30000),
                  "broker %d's scrubber did not fence %s (see %s)", L, n1, B[L].log);
    ck_assert_msg(tb_log_wait(&B[L], "replica: nemesis-0: repaired fenced offsets", 45000),
                  "leader %d never repaired its later range in %s, held up by the first (see %s)",
                  L, n1, B[L].log);
    ck_assert(tb_log_contains(&B[L], "(an in-sync follower: this broker leads the partition)"));
    ck_assert(repaired_ranges(&B[L]) == 1.0);
    snprintf(lead1, sizeof lead1, "%s/nemesis-0/%s", B[F].data, n1);
    ck_assert_msg(same_prefix(p, lead1, 4096), "%s differs from %s", p, lead1);
    tb_nem_produce_stop(&nem);
}
END_TEST

int main(void)
{
    return tb_nem_run("cluster_repair_hol", zk_start, zk_stop, teardown,
                      a_range_answered_with_an_error_does_not_hold_up_the_next);
}
