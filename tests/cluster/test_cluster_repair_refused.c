/*
 * test_cluster_repair_refused — a fenced range that will certainly be refused again is not
 * fetched again (issue 18 M5; docs/cluster.md "Repair of fenced ranges":
 * br_clu_repair_precheck). A real ZooKeeper and three brokers on loopback as in
 * test_cluster_repair (small segments, the scrubber at 1 GiB/s), the nemesis topic of 3
 * partitions, RF 3, and its producer running; broker 3 runs with
 * replica.fetch.response.max.bytes=1024. In a sealed, digested segment of a partition broker 3
 * follows, adjacent batches of more than 1024 bytes together are spoilt, the first in its
 * length (the scrubber's walk cannot step over it and resyncs at the next good batch), the
 * others in a record: one fenced range of several batches. Its leader answers the repair fetch
 * with the batches that fit in 1024 bytes (the first whole), which do not cover the range:
 * refused (-EFBIG) and remembered.
 * Bounded waits: the scrubber fences the range, the fetcher logs the refusal as lasting; then,
 * once a retry period (10 s) and a margin have passed, the leader has served exactly one
 * repair fetch of broker 3's for that partition. Without the remembered refusal broker 3 asks
 * again every 10 s (the count is 2) and never says it will not. A new leader epoch of the
 * partition in that window (a broker's ZooKeeper session lost under load) makes broker 3
 * follow it afresh, its memo empty, and fetch the range once more: then the check is a
 * window of 12 s at one leader epoch in which no broker serves it a repair fetch of the range
 * (without the memo: one, at the retry 10 s later). The range stays fenced
 * (nothing can mend it): the nemesis's byte-for-byte checks are not run. Skipped, saying so,
 * without java or Debian's zookeeper package.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tb_broker.h"
#include "tb_nemesis.h"
#include "tb_zk.h"

#define SESSION_MS 6000
#define NBROKERS   3
#define SMALL      3 /* the broker with replica.fetch.response.max.bytes=1024 */

static struct tb_zk Z;
static struct tb_broker B[NBROKERS + 1];

static void zk_start(void) { tb_zk_start(&Z, "test_cluster_repair_refused"); }
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
        "-o", "log.scrub.bytes.per.sec=1073741824", NULL};
    static const char *const small[] = {
        "-o", "default.replication.factor=3",       "-o", "min.insync.replicas=2",
        "-o", "replica.lag.time.max.ms=10000",      "-o", "log.segment.bytes=32768",
        "-o", "log.scrub.bytes.per.sec=1073741824", "-o", "replica.fetch.response.max.bytes=1024",
        NULL};
    tb_nem_start_broker_with(n, id, SESSION_MS, NULL, id == SMALL ? small : opts);
}

/* In the segment at path: a run of at least two adjacent batches holding more than min bytes
 * together, followed by another batch: their positions into pos (at most cap), how many (0:
 * none). */
static int big_run(const char *path, int64_t min, int64_t *pos, int cap)
{
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    struct stat sb;
    ck_assert_int_eq(fstat(fd, &sb), 0);
    int n = 0, found = 0;
    uint8_t h[12];
    for (int64_t at = 0; !found && at + 12 <= sb.st_size && pread(fd, h, 12, at) == 12;) {
        int64_t len = 12 + (int64_t)((uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 |
                                     (uint32_t)h[10] << 8 | h[11]);
        if (n >= 2 && at - pos[0] > min) {
            found = n; /* (this batch follows the run) */
            break;
        }
        if (len < 80 || n == cap)
            n = 0; /* (too small to spoil a record of: start again after it) */
        else
            pos[n++] = at;
        at += len;
    }
    close(fd);
    return found;
}

START_TEST(a_range_larger_than_an_answer_is_fetched_once)
{
    TB_ZK_SKIP(&Z, "test_cluster_repair_refused");
    static struct tb_nemesis nem;
    tb_nem_init(&nem, "test_cluster_repair_refused", B, NBROKERS, &Z, "/refused");
    for (int i = 1; i <= NBROKERS; i++)
        start_broker(&nem, i);
    tb_nem_create_topic(&nem);
    tb_nem_produce_start(&nem);

    /* a partition broker SMALL follows */
    zhandle_t *zh = tb_zk_open(&Z);
    int p = -1, leader = -1;
    int64_t until = tb_now_ms() + 30000;
    while (p < 0) {
        for (int k = 0; k < 3 && p < 0; k++) {
            int l = tb_nem_leader(&nem, zh, k);
            if (l > 0 && l != SMALL)
                p = k, leader = l;
        }
        ck_assert_msg(p >= 0 || tb_now_ms() < until, "no partition led by another broker");
        if (p < 0)
            tb_sleep_ms(250);
    }
    zookeeper_close(zh);

    /* adjacent batches of more than 1024 bytes together (and one after them) in a sealed,
     * digested segment of broker SMALL: the first spoilt in its batchLength, every other in a
     * record */
    char dir[400], seg[800];
    snprintf(dir, sizeof dir, "%s/nemesis-%d", B[SMALL].data, p);
    int64_t pos[64];
    int n = 0;
    until = tb_now_ms() + 90000;
    for (int nth = 0; n == 0;) {
        if (tb_nem_sealed_segment(dir, nth, seg, sizeof seg)) {
            n = big_run(seg, 1024, pos, 64);
            nth++;
            continue;
        }
        ck_assert_msg(tb_now_ms() < until, "no run of batches above 1024 bytes in %s", dir);
        tb_sleep_ms(250);
    }
    int fd = open(seg, O_RDWR);
    ck_assert_int_ge(fd, 0);
    for (int i = 0; i < n; i++) {
        int64_t where = pos[i] + (i == 0 ? 8 : 70);
        uint8_t x;
        ck_assert_int_eq(pread(fd, &x, 1, where), 1);
        x ^= 0x40;
        ck_assert_int_eq(pwrite(fd, &x, 1, where), 1);
    }
    close(fd);
    fprintf(stderr,
            "test_cluster_repair_refused: spoilt %d batches from %lld of %s on broker %d "
            "(follower of nemesis-%d; leader %d)\n",
            n, (long long)pos[0], seg, SMALL, p, leader);

    char want[128];
    snprintf(want, sizeof want, "fenced nemesis-%d: ", p);
    ck_assert_msg(tb_log_wait(&B[SMALL], want, 30000),
                  "broker %d's scrubber did not fence the range (see %s)", SMALL, B[SMALL].log);
    ck_assert_msg(tb_log_wait(&B[SMALL], "larger than one answer may be", 30000),
                  "broker %d did not refuse the range as larger than one answer (see %s)", SMALL,
                  B[SMALL].log);
    zh = tb_zk_open(&Z);
    int epoch = tb_nem_leader_epoch(&nem, zh, p);
    tb_sleep_ms(15000); /* one retry period (10 s) and a margin */
    snprintf(want, sizeof want, "replica: nemesis-%d: broker %d's repair fetch from offset", p,
             SMALL);
    long served = tb_log_count(&B[leader], want);
    int now_epoch = tb_nem_leader_epoch(&nem, zh, p);
    if (now_epoch == epoch) {
        ck_assert_msg(served == 1, "leader %d served %ld repair fetches of broker %d (see %s)",
                      leader, served, SMALL, B[leader].log);
    } else {
        /* a new leader epoch meanwhile (a broker's ZooKeeper session lost under load: the
         * controller moves the leadership or takes that broker out of the ISR): broker SMALL
         * follows the partition afresh, remembering nothing, and may fetch the range once
         * more, from whichever broker leads. Decided instead by a window of a retry period and
         * a margin at one leader epoch: no repair fetch of it served anywhere. */
        fprintf(stderr,
                "test_cluster_repair_refused: nemesis-%d's leader epoch moved from %d to %d; "
                "%ld repair fetches served by broker %d: looking at a quiet window\n",
                p, epoch, now_epoch, served, leader);
        ck_assert_int_ge(served, 1);
        for (int tries = 0;; tries++) {
            ck_assert_msg(tries < 4, "nemesis-%d's leader epoch never held for 15 s", p);
            tb_sleep_ms(3000); /* (the new state's one fetch) */
            int e = tb_nem_leader_epoch(&nem, zh, p);
            long before = 0, after = 0;
            for (int i = 1; i <= NBROKERS; i++)
                before += tb_log_count(&B[i], want);
            tb_sleep_ms(12000);
            if (tb_nem_leader_epoch(&nem, zh, p) != e)
                continue;
            for (int i = 1; i <= NBROKERS; i++)
                after += tb_log_count(&B[i], want);
            ck_assert_msg(after == before,
                          "%ld repair fetches of broker %d served in 12 s at leader epoch %d",
                          after - before, SMALL, e);
            break;
        }
    }
    zookeeper_close(zh);
    ck_assert_msg(tb_log_contains(&B[SMALL], "not fetched again until the log's fences change"),
                  "broker %d did not say it does not fetch the range again (see %s)", SMALL,
                  B[SMALL].log);
    tb_nem_produce_stop(&nem);
}
END_TEST

int main(void)
{
    return tb_nem_run("cluster_repair_refused", zk_start, zk_stop, teardown,
                      a_range_larger_than_an_answer_is_fetched_once);
}
