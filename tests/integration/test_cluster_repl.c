/*
 * test_cluster_repl — replication end to end, the follower side (issue 18 M3, docs/cluster.md
 * "Replication"): a real Apache ZooKeeper and three splicelogd processes on loopback.
 * - an RF-3 topic of 3 partitions (leaders spread over the three): records produced to each
 *   leader reach both followers (their replica fetchers, br_clu_fetch.c), and the three
 *   replicas of each partition are byte-identical on disk (every .log segment of the partition
 *   directory, concatenated in offset order: segments may roll at other offsets on a follower,
 *   the bytes may not differ);
 * - kill -9 of a leader: once its session expires the controller elects another replica
 *   (Metadata says so), more records go through the new leaders; restarted, the killed broker
 *   becomes a follower of all three partitions (truncating, then fetching what it missed), and
 *   the three replicas are byte-identical again with every record exactly once, at the offset
 *   its value names.
 * - a follower whose log ends below its leader's log start (it was down while the leader's
 *   records were deleted, DeleteRecords) is answered OFFSET_OUT_OF_RANGE: it empties its
 *   replica, starts it again at the leader's log start (st_log_restart_at) and fetches on.
 * - a follower paused past replica.lag.time.max.ms leaves the ISRs and rejoins them once
 *   resumed; every ISR change's /isr_change_notification is read and deleted by the controller
 *   (none left, the parent's cversion counts each created and deleted).
 * A follower answers a consumer's Fetch NOT_LEADER_OR_FOLLOWER, and every broker stops cleanly
 * (exit 0 under LeakSanitizer: no log reference left behind).
 * Every wait is bounded; skipped, saying so, without java or Debian's zookeeper package.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tb_broker.h"
#include "tb_check.h"
#include "tb_clu.h"
#include "kp_msg_cluster.h"
#include "tb_sasl.h"
#include "tb_kafka.h"
#include "tb_zk.h"

#define SESSION_MS 3000
#define WAIT_MS    60000
#define NBROKERS   3
#define NPARTS     3
#define NREC       60 /* records per partition per round */
#define PER_BATCH  6
#define TOPIC      "repl"

static struct tb_broker B[NBROKERS + 1];
static const char *CHROOT = "/repl"; /* each test its own */

static void teardown(void)
{
    for (int i = 0; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

static int LAG_MS; /* 0: replica.lag.time.max.ms left to its default */
static int SESSION = SESSION_MS;

static int start_broker(int id)
{
    char lag[64];
    snprintf(lag, sizeof lag, "replica.lag.time.max.ms=%d", LAG_MS);
    const char *const more[] = {"-o",
                                "log.segment.bytes=4096",
                                "-o",
                                "replica.fetch.backoff.ms=200",
                                LAG_MS ? "-o" : NULL,
                                lag,
                                NULL};
    return tb_zk_broker_start(&B[id], &tb_clu_zk, CHROOT, id, SESSION, NULL, more);
}

/* b's Metadata for TOPIC: every partition's leader into lead (-1 none); the broker count. */
static int metadata(struct tb_broker *b, int32_t *lead)
{
    const struct tb_metadata *m = tb_clu_metadata(b->port, TOPIC);
    for (int p = 0; p < NPARTS; p++)
        lead[p] =
            m->n_topics == 1 && m->topic[0].n_parts == NPARTS ? m->topic[0].part[p].leader : -1;
    return m->n_brokers;
}

/* Waits until b lists n brokers and every partition has a leader other than not (-2: any). */
static void wait_leaders(struct tb_broker *b, int n, int32_t not, int32_t *lead)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        bool ok = metadata(b, lead) == n;
        for (int p = 0; ok && p < NPARTS; p++)
            ok = lead[p] >= 1 && lead[p] != not ;
        if (ok)
            return;
        ck_assert_msg(tb_now_ms() < until, "broker on port %d: no leaders as wanted", b->port);
        tb_sleep_ms(100);
    }
}

/* Records [first, first + NREC) of partition p ("p<p>-<i>", value i at offset i), produced
 * to its leader in batches of PER_BATCH. */
static void produce_round(int p, int32_t leader, int first)
{
    char prefix[16];
    snprintf(prefix, sizeof prefix, "p%d", p);
    int fd = tb_connect(B[leader].port);
    ck_assert_int_ge(fd, 0);
    for (int i = first; i < first + NREC; i += PER_BATCH) {
        uint8_t batch[4096];
        long bl = tb_batch_values(batch, sizeof batch, prefix, i, PER_BATCH, 0, false, 0);
        ck_assert_int_gt(bl, 0);
        struct tb_produce_resp out;
        /* a leader its own controller just elected answers NOT_LEADER_OR_FOLLOWER (6) until
         * its log was told (br_clu_leader): retried, bounded, as a client retries */
        int64_t until = tb_now_ms() + 10000;
        do {
            ck_assert_int_eq(tb_produce(fd, TOPIC, p, batch, (size_t)bl, &out), 0);
        } while (out.error == 6 && tb_now_ms() < until && (tb_sleep_ms(50), true));
        ck_assert_msg(out.error == 0, "produce to %s-%d on broker %d: error %d", TOPIC, p,
                      (int)leader, out.error);
        ck_assert_int_eq(out.base_offset, i);
    }
    close(fd);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every .log segment of partition p on broker id, concatenated in offset order (the names are
 * the zero-padded base offsets): malloc'd, its length in *len. */
static uint8_t *partition_bytes(int id, int p, size_t *len)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s-%d", B[id].data, TOPIC, p);
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, by_name);
    size_t cap = 1 << 16, have = 0;
    uint8_t *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(names[i]->d_name);
        if (nl > 4 && strcmp(names[i]->d_name + nl - 4, ".log") == 0) {
            char path[800];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            FILE *f = fopen(path, "rb");
            if (f) {
                for (;;) {
                    if (cap - have < 4096) {
                        cap *= 2;
                        out = realloc(out, cap);
                        ck_assert_ptr_nonnull(out);
                    }
                    size_t r = fread(out + have, 1, cap - have, f);
                    if (r == 0)
                        break;
                    have += r;
                }
                fclose(f);
            }
        }
        free(names[i]);
    }
    free(names);
    *len = have;
    return out;
}

struct seen {
    int p;
    int64_t next;
    int bad;
};

/* Each record at offset o has value "p<p>-<o>": so each value is there exactly once. */
static int check_rec(void *ctx, const struct tb_rec_view *r)
{
    struct seen *s = ctx;
    char want[32];
    int wl = snprintf(want, sizeof want, "p%d-%lld", s->p, (long long)r->offset);
    if (r->offset != s->next || r->value.len != wl || memcmp(r->value.ptr, want, (size_t)wl) != 0)
        s->bad++;
    s->next = r->offset + 1;
    return 0;
}

/* Waits until the replicas of every partition on the brokers in ids are byte-identical and
 * hold n records each, every one exactly once. */
static void wait_identical(const int *ids, int nids, long n)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    for (int p = 0; p < NPARTS; p++) {
        for (;;) {
            size_t l0 = 0;
            uint8_t *b0 = partition_bytes(ids[0], p, &l0);
            bool same = true;
            for (int k = 1; k < nids && same; k++) {
                size_t lk = 0;
                uint8_t *bk = partition_bytes(ids[k], p, &lk);
                same = lk == l0 && memcmp(bk, b0, l0) == 0;
                free(bk);
            }
            struct seen s = {p, 0, 0};
            size_t trailing = 0;
            long recs = tb_records_walk(b0, l0, check_rec, &s, &trailing);
            free(b0);
            if (same && recs == n) {
                ck_assert_msg(s.bad == 0 && trailing == 0,
                              "%s-%d: %d record(s) out of place, %zu trailing byte(s)", TOPIC, p,
                              s.bad, trailing);
                break;
            }
            ck_assert_msg(tb_now_ms() < until,
                          "%s-%d: replicas not identical (%s) or %ld record(s), want %ld", TOPIC, p,
                          same ? "same bytes" : "bytes differ", recs, n);
            tb_sleep_ms(200);
        }
    }
}

/* Starts the three brokers under CHROOT, creates the RF-3 TOPIC of NPARTS partitions through
 * broker 1 and waits until every broker sees every partition led: the leaders into lead. */
static void start_cluster_with_topic(int32_t *lead)
{
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(start_broker(i), 0);
    int64_t until = tb_now_ms() + WAIT_MS;
    while (metadata(&B[1], lead) != NBROKERS) {
        ck_assert_msg(tb_now_ms() < until, "the three brokers never saw each other");
        tb_sleep_ms(100);
    }
    tb_clu_create_topic(B[1].port, TOPIC, NPARTS, 3);
    for (int i = 1; i <= NBROKERS; i++)
        wait_leaders(&B[i], NBROKERS, -2, lead);
}

START_TEST(followers_replicate_and_catch_up_after_kill)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_repl");
    memset(B, 0, sizeof B);
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    /* an RF-3 topic of 3 partitions: every broker holds all three, leaders spread */
    int32_t lead[NPARTS];
    start_cluster_with_topic(lead);
    int fd;
    int led = 0;
    for (int p = 0; p < NPARTS; p++)
        led |= 1 << lead[p];
    ck_assert_msg(__builtin_popcount((unsigned)led) == NPARTS, "leaders not spread");

    /* produced to each leader: the followers fetch it; three identical replicas */
    for (int p = 0; p < NPARTS; p++)
        produce_round(p, lead[p], 0);
    const int all[] = {1, 2, 3};
    wait_identical(all, NBROKERS, NREC);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_msg(tb_log_contains(&B[i], "replica: " TOPIC "-"), "broker %d never followed", i);

    /* a follower holds the log but does not serve it: NOT_LEADER_OR_FOLLOWER (and lets go
     * of the log: the clean stops at the end exit 0 under LeakSanitizer) */
    for (int p = 0; p < NPARTS; p++) {
        int f = lead[p] % NBROKERS + 1;
        fd = tb_connect(B[f].port);
        ck_assert_int_ge(fd, 0);
        struct tb_fetch_args a = {.max_wait_ms = 0,
                                  .min_bytes = 1,
                                  .max_bytes = 1 << 20,
                                  .topic = TOPIC,
                                  .partition = p,
                                  .offset = 0,
                                  .partition_max_bytes = 1 << 20};
        struct tb_frame f1;
        struct tb_fetch_resp out;
        ck_assert_int_eq(tb_fetch(fd, &a, &f1, &out), 0);
        tb_frame_free(&f1);
        close(fd);
        ck_assert_int_eq(out.error, 6);
    }

    /* kill -9 the leader of partition 0: another replica leads once its session expired */
    int victim = lead[0];
    int alive[2], na = 0;
    for (int i = 1; i <= NBROKERS; i++)
        if (i != victim)
            alive[na++] = i;
    ck_assert_int_ge(tb_broker_stop(&B[victim], SIGKILL), 0);
    int32_t lead2[NPARTS];
    wait_leaders(&B[alive[0]], NBROKERS - 1, victim, lead2);
    wait_leaders(&B[alive[1]], NBROKERS - 1, victim, lead2);

    /* more records through the new leaders, replicated between the two left */
    for (int p = 0; p < NPARTS; p++)
        produce_round(p, lead2[p], NREC);
    wait_identical(alive, 2, 2 * NREC);

    /* restarted: a follower of all three; truncates, catches up; identical again */
    ck_assert_int_eq(start_broker(victim), 0);
    wait_identical(all, NBROKERS, 2 * NREC);
    ck_assert_msg(tb_log_contains(&B[victim], "follower of broker"), "%s", B[victim].log);

    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
    zookeeper_close(zh);
}
END_TEST

/* DeleteRecords of TOPIC-p below offset on the broker on port: the new low watermark. */
static int64_t delete_records(int port, int p, int64_t offset)
{
    int fd = tb_connect(port);
    ck_assert_int_ge(fd, 0);
    struct kp_delete_records_req_partition rp = {p, offset};
    struct kp_delete_records_req_topic t = {kp_str_of(TOPIC), 1, &rp};
    struct kp_delete_records_req req = {1, &t, 5000};
    struct kp_delete_records_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_DELETE_RECORDS, 2, TB_ENC(kp_delete_records_req_encode),
                              &req, TB_DEC(kp_delete_records_resp_decode), &resp),
                     0);
    close(fd);
    return resp.topics[0].partitions[0].error_code ? -1
                                                   : resp.topics[0].partitions[0].low_watermark;
}

START_TEST(follower_behind_leader_log_start_restarts_there)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_repl");
    CHROOT = "/repl-start";
    memset(B, 0, sizeof B);
    int32_t lead[NPARTS];
    start_cluster_with_topic(lead);

    /* round 0 everywhere; then one follower of partition 0 stops */
    const int p = 0, leader = lead[0], f = lead[0] % NBROKERS + 1;
    for (int q = 0; q < NPARTS; q++)
        produce_round(q, lead[q], 0);
    const int all[] = {1, 2, 3};
    wait_identical(all, NBROKERS, NREC);
    ck_assert_int_eq(tb_broker_stop(&B[f], SIGTERM), 0);

    /* round 1 while it is away, then everything below the high watermark deleted: the
     * leader's log starts above the stopped follower's end */
    produce_round(p, leader, NREC);
    int64_t low = -1;
    int64_t until = tb_now_ms() + WAIT_MS;
    while ((low = delete_records(B[leader].port, p, 2 * NREC)) != 2 * NREC) {
        ck_assert_msg(tb_now_ms() < until, "DeleteRecords to %d: low watermark %lld", 2 * NREC,
                      (long long)low);
        tb_sleep_ms(200); /* the high watermark waits for the other follower */
    }

    /* back: OFFSET_OUT_OF_RANGE, restarted at the leader's log start, fetches round 2 */
    ck_assert_int_eq(start_broker(f), 0);
    ck_assert_msg(tb_log_wait(&B[f], "restarted there", WAIT_MS), "%s", B[f].log);
    produce_round(p, leader, 2 * NREC);
    until = tb_now_ms() + WAIT_MS;
    for (;;) {
        size_t len = 0;
        uint8_t *b = partition_bytes(f, p, &len);
        struct seen s = {p, 2 * NREC, 0};
        size_t trailing = 0;
        long recs = tb_records_walk(b, len, check_rec, &s, &trailing);
        free(b);
        if (recs == NREC) {
            ck_assert_msg(s.bad == 0 && trailing == 0, "%d record(s) out of place", s.bad);
            break;
        }
        ck_assert_msg(tb_now_ms() < until, "broker %d holds %ld record(s) of %s-%d, want %d", f,
                      recs, TOPIC, p, NREC);
        tb_sleep_ms(200);
    }
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
}
END_TEST

/* How many times needle is in broker b's log. */
static int log_count(const struct tb_broker *b, const char *needle)
{
    FILE *f = fopen(b->log, "r");
    if (!f)
        return 0;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* TOPIC-p's ISR in ZooKeeper (the state znode's "isr" array, e.g. "1,2,3"; static buffer). */
static const char *zk_isr(zhandle_t *zh, int p)
{
    static char isr[64];
    char path[256];
    snprintf(path, sizeof path, "%s/brokers/topics/%s/partitions/%d/state", CHROOT, TOPIC, p);
    const char *st = tb_zk_get(zh, path, NULL);
    const char *a = st ? strstr(st, "\"isr\":[") : NULL;
    isr[0] = 0;
    if (a) {
        a += 7;
        size_t l = strcspn(a, "]");
        snprintf(isr, sizeof isr, "%.*s", (int)(l < sizeof isr ? l : sizeof isr - 1), a);
    }
    return isr;
}

/* The children of /isr_change_notification and its cversion (raised by every child created
 * or deleted). */
static int isrn(zhandle_t *zh, int32_t *cversion)
{
    char path[256];
    snprintf(path, sizeof path, "%s/isr_change_notification", CHROOT);
    struct String_vector kids = {0};
    struct Stat st;
    int rc = zoo_get_children2(zh, path, 0, &kids, &st);
    ck_assert_msg(rc == ZOK, "%s: %s", path, zerror(rc));
    int n = kids.count;
    deallocate_String_vector(&kids);
    if (cversion)
        *cversion = st.cversion;
    return n;
}

/* A follower paused past replica.lag.time.max.ms (SIGSTOP, not past its session) leaves the
 * ISRs of the partitions it follows, and rejoins once resumed: every leader writes an
 * /isr_change_notification per change, and the controller reads and deletes them all. */
START_TEST(isr_flaps_and_the_controller_deletes_notifications)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_repl");
    CHROOT = "/repl-isrn";
    LAG_MS = 1500;
    SESSION = 15000; /* (the pause below stays well inside it) */
    memset(B, 0, sizeof B);
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    int32_t lead[NPARTS];
    start_cluster_with_topic(lead);
    for (int q = 0; q < NPARTS; q++)
        produce_round(q, lead[q], 0);
    const int all[] = {1, 2, 3};
    wait_identical(all, NBROKERS, NREC);
    char path[256];
    snprintf(path, sizeof path, "%s/controller", CHROOT);
    long ctl = tb_zk_json_int(tb_zk_get(zh, path, NULL), "brokerid");
    ck_assert(ctl >= 1 && ctl <= NBROKERS);
    int victim = (int)ctl % NBROKERS + 1; /* a follower that is not the controller */
    int32_t cv0;
    isrn(zh, &cv0);

    /* paused; records for the partitions it follows: their leaders drop it from the ISR */
    ck_assert_int_eq(kill(B[victim].pid, SIGSTOP), 0);
    for (int q = 0; q < NPARTS; q++)
        if (lead[q] != victim)
            produce_round(q, lead[q], NREC);
    char v[2] = {(char)('0' + victim), 0};
    int64_t until = tb_now_ms() + WAIT_MS;
    for (int q = 0; q < NPARTS; q++) {
        if (lead[q] == victim)
            continue;
        while (strchr(zk_isr(zh, q), v[0])) {
            ck_assert_msg(tb_now_ms() < until, "%s-%d: broker %s still in the ISR %s", TOPIC, q, v,
                          zk_isr(zh, q));
            tb_sleep_ms(100);
        }
    }
    /* resumed: it catches up and rejoins every ISR */
    ck_assert_int_eq(kill(B[victim].pid, SIGCONT), 0);
    for (int q = 0; q < NPARTS; q++) {
        while (strlen(zk_isr(zh, q)) != 5) {
            ck_assert_msg(tb_now_ms() < until, "%s-%d: ISR %s, not all three", TOPIC, q,
                          zk_isr(zh, q));
            tb_sleep_ms(100);
        }
    }
    /* a shrink and an expand each, at least (each leader logs its change once its ZooKeeper
     * write returned, which may come just after the test saw the new ISR there: recounted) */
    int changes = 0;
    for (;;) {
        changes = 0;
        for (int i = 1; i <= NBROKERS; i++)
            changes += log_count(&B[i], "cluster: leader: " TOPIC "-");
        if (changes >= 2 * (NPARTS - 1) || tb_now_ms() >= until)
            break;
        tb_sleep_ms(100);
    }
    ck_assert_int_ge(changes, 2 * (NPARTS - 1));
    /* every notification deleted by the controller: none left, each created and deleted */
    int32_t cv = 0;
    int left;
    while ((left = isrn(zh, &cv)) > 0) {
        ck_assert_msg(tb_now_ms() < until, "%d ISR change notification(s) left", left);
        tb_sleep_ms(100);
    }
    ck_assert_msg(cv - cv0 >= 2 * changes, "cversion %d -> %d for %d ISR change(s)", (int)cv0,
                  (int)cv, changes);
    for (int q = 0; q < NPARTS; q++)
        if (lead[q] == victim)
            produce_round(q, lead[q], NREC);
    wait_identical(all, NBROKERS, 2 * NREC);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
    zookeeper_close(zh);
    LAG_MS = 0;
    SESSION = SESSION_MS;
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_repl");
    TCase *tc = tb_clu_tcase("replication", teardown, 300);
    tcase_add_test(tc, followers_replicate_and_catch_up_after_kill);
    tcase_add_test(tc, follower_behind_leader_log_start_restarts_there);
    tcase_add_test(tc, isr_flaps_and_the_controller_deletes_notifications);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
