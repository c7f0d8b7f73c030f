/*
 * test_cluster_repair — fenced ranges repaired from another replica (issue 18 M5;
 * docs/cluster.md "Repair of fenced ranges"). A real ZooKeeper and three brokers on loopback
 * (small segments, the scrubber at 1 GiB/s, metrics on), the nemesis topic of 3 partitions,
 * RF 3, min.insync.replicas=2, and its librdkafka producer (acks=all, idempotent) running
 * throughout. While it runs, one byte is flipped inside each of two sealed, digested segments
 * of partition 0 on a follower, and then inside one of partition 1 on its leader; for each,
 * bounded waits:
 *   - the broker's scrubber fences the bad batch (its log says so);
 *   - its replica fetcher repairs the range from another replica: the follower from its
 *     leader, the leader from an in-sync follower (the log line names the partition, the
 *     offsets, the bytes and the broker; splicelog_scrub_repaired_ranges_total counts it);
 *   - the segment holds its original bytes again, and nothing is fenced (no fenced file);
 *   - the follower's leader served its repair fetches (logged, one per range) without taking
 *     them for its log end going down to each range's start (no such line in its log);
 * then, in partition 2, the same byte flipped in one segment of its leader and of its first
 * in-sync follower (the first of the state's ISR other than the leader): the leader is refused
 * by that follower (CORRUPT_MESSAGE, or its bad bytes), says it asks the next one of the ISR,
 * is repaired from it (log line, bytes identical), and the first follower then from the
 * leader; then the nemesis checks: every ISR full, the three replicas of every partition the
 * same batches byte for byte (so every acknowledged record is on the repaired brokers as on
 * the others), every acknowledged record exactly once when read back, and no repair counted
 * twice.
 * Without the repair the ranges stay fenced: the waits for the repairs fail (and the replicas
 * differ). Skipped, saying so, without java or Debian's zookeeper package.
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
#include "tb_http.h"
#include "tb_nemesis.h"
#include "tb_zk.h"

#define SESSION_MS 6000
#define NBROKERS   3

static struct tb_zk Z;
static struct tb_broker B[NBROKERS + 1];

static void zk_start(void) { tb_zk_start(&Z, "test_cluster_repair"); }
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

static uint8_t *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
    struct stat sb;
    ck_assert_int_eq(fstat(fd, &sb), 0);
    uint8_t *b = malloc((size_t)sb.st_size + 1);
    ck_assert_int_eq(pread(fd, b, (size_t)sb.st_size, 0), sb.st_size);
    close(fd);
    *len = (size_t)sb.st_size;
    return b;
}

static double repaired_ranges(const struct tb_broker *b)
{
    int port = tb_broker_metrics_port(b);
    ck_assert_int_gt(port, 0);
    return tb_metric_at(port, "splicelog_scrub_repaired_ranges_total");
}

/* A byte flipped in the records of the first batch of each of the nseg oldest sealed,
 * digested segments of partition p on broker id (each its own fenced range): the first
 * segment's path into seg and its bytes before (malloc'd). */
static uint8_t *flip_sealed_n(int id, int p, int nseg, char *seg, size_t cap, size_t *len)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/nemesis-%d", B[id].data, p);
    int64_t until = tb_now_ms() + 60000;
    while (!tb_nem_sealed_segment(dir, nseg - 1, seg, cap)) {
        ck_assert_msg(tb_now_ms() < until, "no sealed segment with a digest in %s", dir);
        tb_sleep_ms(250);
    }
    uint8_t *orig = NULL;
    for (int i = nseg - 1; i >= 0; i--) {
        ck_assert(tb_nem_sealed_segment(dir, i, seg, cap));
        size_t l;
        uint8_t *b = slurp(seg, &l);
        ck_assert_int_gt(l, 200);
        int fd = open(seg, O_RDWR);
        ck_assert_int_ge(fd, 0);
        uint8_t x = b[70] ^ 0x20;
        ck_assert_int_eq(pwrite(fd, &x, 1, 70), 1);
        close(fd);
        if (i > 0) {
            free(b);
        } else {
            orig = b;
            *len = l;
        }
    }
    return orig;
}

static uint8_t *flip_sealed(int id, int p, char *seg, size_t cap, size_t *len)
{
    return flip_sealed_n(id, p, 1, seg, cap, len);
}

/* Broker id fenced and repaired partition p (its log says so, naming from and who it is), the
 * segment holds its bytes from before the flip again, and nothing is fenced there. */
static void check_repaired(int id, int p, const char *seg, const uint8_t *orig, size_t len,
                           int from, const char *who)
{
    char want[128];
    snprintf(want, sizeof want, "fenced nemesis-%d: ", p);
    ck_assert_msg(tb_log_wait(&B[id], want, 30000),
                  "broker %d's scrubber did not fence the range (see %s)", id, B[id].log);
    snprintf(want, sizeof want, "replica: nemesis-%d: repaired fenced offsets", p);
    ck_assert_msg(tb_log_wait(&B[id], want, 30000),
                  "broker %d did not repair its fenced range of nemesis-%d (see %s)", id, p,
                  B[id].log);
    snprintf(want, sizeof want, "with broker %d's bytes (%s", from, who);
    ck_assert_msg(tb_log_contains(&B[id], want), "broker %d's repair does not say \"%s\"", id,
                  want);
    size_t len2;
    uint8_t *now = slurp(seg, &len2);
    ck_assert_uint_eq(len2, len);
    ck_assert_msg(memcmp(now, orig, len) == 0, "%s differs from its bytes before the flip", seg);
    free(now);
    char fenced[500];
    snprintf(fenced, sizeof fenced, "%s/nemesis-%d/fenced", B[id].data, p);
    ck_assert_msg(access(fenced, F_OK) != 0, "%s is still there", fenced);
}

START_TEST(fenced_ranges_are_repaired_from_another_replica)
{
    TB_ZK_SKIP(&Z, "test_cluster_repair");
    static struct tb_nemesis nem;
    tb_nem_init(&nem, "test_cluster_repair", B, NBROKERS, &Z, "/repair");
    for (int i = 1; i <= NBROKERS; i++)
        start_broker(&nem, i);
    tb_nem_create_topic(&nem);
    tb_nem_produce_start(&nem);

    /* the leaders of partitions 0 and 1 */
    zhandle_t *zh = tb_zk_open(&Z);
    int leader0 = -1, leader1 = -1;
    int64_t until = tb_now_ms() + 30000;
    while ((leader0 = tb_nem_leader(&nem, zh, 0)) < 0 ||
           (leader1 = tb_nem_leader(&nem, zh, 1)) < 0) {
        ck_assert_msg(tb_now_ms() < until, "no leaders for nemesis-0 and -1");
        tb_sleep_ms(250);
    }
    zookeeper_close(zh);
    double repaired[NBROKERS + 1] = {0};

    /* a follower of partition 0, two fenced ranges (in its two oldest sealed segments):
     * repaired from its leader, range after range, while the producer runs */
    int f = leader0 == 1 ? 2 : 1;
    char seg[800];
    size_t len;
    uint8_t *orig = flip_sealed_n(f, 0, 2, seg, sizeof seg, &len);
    fprintf(stderr,
            "test_cluster_repair: flipped byte 70 of %s and of the next segment on broker %d "
            "(follower; leader %d)\n",
            seg, f, leader0);
    repaired[f] += 2;
    until = tb_now_ms() + 60000;
    while (repaired_ranges(&B[f]) < repaired[f]) {
        ck_assert_msg(tb_now_ms() < until, "broker %d repaired %g ranges, not 2 (see %s)", f,
                      repaired_ranges(&B[f]), B[f].log);
        tb_sleep_ms(250);
    }
    check_repaired(f, 0, seg, orig, len, leader0, "the leader");
    free(orig);
    ck_assert(repaired_ranges(&B[f]) == repaired[f]);
    /* the leader told the repair fetches from the follower's regular ones: served, not taken
     * for its log end (which would have gone down to each range's start) */
    char want[96];
    snprintf(want, sizeof want, "replica: nemesis-0: broker %d fetches from", f);
    ck_assert_msg(tb_log_count(&B[leader0], want) == 0,
                  "leader %d took a repair fetch of broker %d for its log end going down (see "
                  "%s)",
                  leader0, f, B[leader0].log);
    snprintf(want, sizeof want, "replica: nemesis-0: broker %d's repair fetch from offset", f);
    long served = tb_log_count(&B[leader0], want);
    ck_assert_msg(served >= 2, "leader %d logged %ld repair fetches of broker %d (see %s)", leader0,
                  served, f, B[leader0].log);

    /* the leader of partition 1: repaired from an in-sync follower */
    orig = flip_sealed(leader1, 1, seg, sizeof seg, &len);
    fprintf(stderr, "test_cluster_repair: flipped byte 70 of %s on broker %d (leader)\n", seg,
            leader1);
    snprintf(want, sizeof want, "replica: nemesis-1: repaired fenced offsets");
    ck_assert_msg(tb_log_wait(&B[leader1], want, 30000),
                  "broker %d, the leader of nemesis-1, did not repair its fenced range from a "
                  "follower (see %s)",
                  leader1, B[leader1].log);
    int from = -1;
    for (int i = 1; i <= NBROKERS && from < 0; i++) {
        char w[64];
        snprintf(w, sizeof w, "with broker %d's bytes (an in-sync follower", i);
        if (i != leader1 && tb_log_contains(&B[leader1], w))
            from = i;
    }
    ck_assert_msg(from > 0, "the leader's repair names no follower (see %s)", B[leader1].log);
    check_repaired(leader1, 1, seg, orig, len, from, "an in-sync follower");
    free(orig);
    repaired[leader1]++;
    ck_assert(repaired_ranges(&B[leader1]) == repaired[leader1]);

    /* partition 2: its leader's copy and its first in-sync follower's fenced at the same
     * batch; the leader asks that follower (CORRUPT_MESSAGE, or bytes refused), then the next
     * one of the ISR, whose copy is good; the first follower then mends its own from the
     * leader */
    zh = tb_zk_open(&Z);
    int leader2 = -1, isr[8], nisr = 0;
    until = tb_now_ms() + 30000;
    while ((leader2 = tb_nem_leader(&nem, zh, 2)) < 0 ||
           (nisr = tb_nem_isr(&nem, zh, 2, isr, 8)) < NBROKERS) {
        ck_assert_msg(tb_now_ms() < until, "nemesis-2 has no full ISR");
        tb_sleep_ms(250);
    }
    zookeeper_close(zh);
    int first = -1, second = -1;
    for (int k = 0; k < nisr; k++)
        if (isr[k] != leader2 && first < 0)
            first = isr[k];
        else if (isr[k] != leader2 && second < 0)
            second = isr[k];
    ck_assert(first > 0 && second > 0);
    char dir[400], seg1[800];
    snprintf(dir, sizeof dir, "%s/nemesis-2", B[leader2].data);
    until = tb_now_ms() + 60000;
    while (!tb_nem_sealed_segment(dir, 0, seg, sizeof seg)) {
        ck_assert_msg(tb_now_ms() < until, "no sealed segment with a digest in %s", dir);
        tb_sleep_ms(250);
    }
    snprintf(seg1, sizeof seg1, "%s/nemesis-2/%s", B[first].data, strrchr(seg, '/') + 1);
    ck_assert_msg(access(seg1, F_OK) == 0, "%s: no such segment on broker %d", seg1, first);
    size_t len1;
    uint8_t *orig1 = slurp(seg1, &len1);
    orig = slurp(seg, &len);
    ck_assert_uint_eq(len1, len);
    ck_assert_msg(memcmp(orig, orig1, len) == 0, "%s and %s differ", seg, seg1);
    free(orig1);
    /* (the follower's first: had the leader's scrubber fenced its copy first, it would ask the
     * follower before that follower's copy was bad) */
    const char *flip[2] = {seg1, seg};
    for (int i = 0; i < 2; i++) {
        int fd = open(flip[i], O_RDWR);
        ck_assert_int_ge(fd, 0);
        uint8_t x = orig[70] ^ 0x20;
        ck_assert_int_eq(pwrite(fd, &x, 1, 70), 1);
        close(fd);
    }
    fprintf(stderr,
            "test_cluster_repair: flipped byte 70 of %s on broker %d (leader) and on broker %d "
            "(its first in-sync follower; the next: %d)\n",
            strrchr(seg, '/') + 1, leader2, first, second);
    snprintf(want, sizeof want, "replica: nemesis-2: repaired fenced offsets");
    ck_assert_msg(tb_log_wait(&B[leader2], want, 60000),
                  "broker %d, the leader of nemesis-2, did not repair its fenced range (see %s)",
                  leader2, B[leader2].log);
    check_repaired(leader2, 2, seg, orig, len, second, "an in-sync follower");
    snprintf(want, sizeof want, "replica: nemesis-2: in-sync follower %d ", first);
    ck_assert_msg(tb_log_contains(&B[leader2], want), "broker %d did not log \"%s\"", leader2,
                  want);
    snprintf(want, sizeof want, "are asked of broker %d next", second);
    ck_assert_msg(tb_log_contains(&B[leader2], want), "broker %d did not log \"%s\"", leader2,
                  want);
    snprintf(want, sizeof want, "replica: nemesis-2: repaired fenced offsets");
    ck_assert_msg(tb_log_wait(&B[first], want, 60000),
                  "broker %d did not repair its fenced range of nemesis-2 (see %s)", first,
                  B[first].log);
    check_repaired(first, 2, seg1, orig, len, leader2, "the leader");
    free(orig);
    repaired[leader2]++;
    repaired[first]++;

    /* a little more traffic, then the nemesis's checks: ISR full, replicas byte-identical,
     * every acknowledged record once */
    tb_sleep_ms(2000);
    tb_nem_finish(&nem,
                  "a byte flipped in two sealed segments of follower %d (nemesis-0, repaired "
                  "from leader %d), in one of leader %d (nemesis-1, repaired from follower %d), "
                  "in one of leader %d and its first in-sync follower %d (nemesis-2, repaired "
                  "from follower %d, then from the leader)",
                  f, leader0, leader1, from, leader2, first, second);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_msg(repaired_ranges(&B[i]) == repaired[i], "broker %d: %g repaired", i,
                      repaired_ranges(&B[i]));
}
END_TEST

int main(void)
{
    return tb_nem_run("cluster_repair", zk_start, zk_stop, teardown,
                      fenced_ranges_are_repaired_from_another_replica);
}
