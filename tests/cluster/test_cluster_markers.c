/*
 * test_cluster_markers — transaction markers across brokers (issue 18 M4, docs/cluster.md
 * "Transactions"): a real Apache ZooKeeper and three splicelogd processes on loopback; the
 * test itself plays the transaction coordinator, with raw requests.
 * - A transactional batch (producer id from InitProducerId without a transactional id, the
 *   transactional bit set) is accepted by the partition's leader without a local coordinator's
 *   check; read_committed sees nothing and the last stable offset stays at the batch.
 *   WriteTxnMarkers v1 COMMIT to the leader: answered once replicated, the LSO passes the
 *   marker and read_committed sees the records; the leader killed (-9), the new leader (a
 *   former follower) shows the same. A second transaction ended with ABORT: the LSO passes it,
 *   its records are listed aborted and read_committed never returns them.
 * - A follower answers NOT_LEADER_OR_FOLLOWER, an unknown partition UNKNOWN_TOPIC_OR_PARTITION,
 *   and ApiVersions advertises WriteTxnMarkers v1 only (Kafka 4.0).
 * - TxnOffsetCommit at the group's coordinator is accepted and stays invisible to OffsetFetch;
 *   a COMMIT marker to the leader of the group's __consumer_offsets partition makes it the
 *   committed offset; another group's offsets ended with ABORT stay uncommitted.
 * - The group's coordinator killed (-9) between TxnOffsetCommit and the marker: the new leader
 *   of the group's __consumer_offsets partition loads the offsets pending, a COMMIT marker to it
 *   commits them, an ABORT drops them; read_committed readers of the partition stop at them.
 * - The coordinator's sender (br_clu_markers.h) over a fake view of the real brokers: a
 *   3-partition topic's markers go to each leader in one call and are answered replicated
 *   (0, the LSO past them); an unknown partition -ENOENT; a view naming a follower, or a
 *   leader that cannot be reached, -EAGAIN within the deadline; an older producer epoch than
 *   the partition knows -ESTALE; an older coordinator epoch than the producer's last marker's
 *   there -EREMCHG (TRANSACTION_COORDINATOR_FENCED).
 * Every wait is bounded; skipped, saying so, without java or Debian's zookeeper package.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_clu_markers.h"
#include "kp_msg.h"
#include "kp_msg_markers.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_clu.h"
#include "tb_group.h"
#include "tb_kafka.h"
#include "tb_offsets.h"
#include "tb_sasl.h"
#include "tb_txn.h"
#include "tb_zk.h"

#define SESSION_MS 3000
#define WAIT_MS    60000
#define NBROKERS   3
#define NOFS       6 /* __consumer_offsets partitions */
#define TOPIC      "wtm"
#define OFFSETS    "__consumer_offsets"
#define TXN_ID     "wtm-txn"

enum {
    E_NOT_LEADER_OR_FOLLOWER = 6,
    E_REQUEST_TIMED_OUT = 7,
    E_COORDINATOR_LOAD_IN_PROGRESS = 14,
    E_COORDINATOR_NOT_AVAILABLE = 15,
    E_NOT_COORDINATOR = 16,
};

static struct tb_broker B[NBROKERS + 1];

static void teardown(void)
{
    for (int i = 0; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

static void start_broker(int id, const char *chroot)
{
    char nofs[64];
    snprintf(nofs, sizeof nofs, "offsets.topic.num.partitions=%d", NOFS);
    const char *const more[] = {"-o", nofs,
                                "-o", "replica.fetch.backoff.ms=200",
                                "-o", "group.initial.rebalance.delay.ms=0",
                                NULL};
    int64_t until = tb_now_ms() + SESSION_MS * 10 + 20000;
    for (;;) {
        int rc = tb_zk_broker_start(&B[id], &tb_clu_zk, chroot, id, SESSION_MS, NULL, more);
        if (rc == 0)
            return;
        ck_assert_msg(tb_now_ms() < until, "broker %d does not start (%d): see %s", id, rc,
                      B[id].log);
        tb_sleep_ms(500);
    }
}

/* b's Metadata for topic: the leader of partition p (-1 none); the broker count. */
static int leader_of(struct tb_broker *b, const char *topic, int32_t p, int32_t *lead)
{
    const struct tb_metadata *m = tb_clu_metadata(b->port, topic);
    *lead = m->n_topics == 1 && m->topic[0].n_parts > p && m->topic[0].part[p].error == 0
                ? m->topic[0].part[p].leader
                : -1;
    return m->n_brokers;
}

/* Starts the three brokers, creates TOPIC (1 partition, RF 3, min.insync.replicas default)
 * through broker 1, waits until every broker sees it led; returns the leader. */
static int32_t cluster_with_topic(const char *chroot)
{
    memset(B, 0, sizeof B);
    for (int i = 1; i <= NBROKERS; i++)
        start_broker(i, chroot);
    int32_t lead = -1;
    int64_t until = tb_now_ms() + WAIT_MS;
    while (leader_of(&B[1], TOPIC, 0, &lead) != NBROKERS) {
        ck_assert_msg(tb_now_ms() < until, "the three brokers never saw each other");
        tb_sleep_ms(100);
    }
    tb_clu_create_topic(B[1].port, TOPIC, 1, 3);
    for (int i = 1; i <= NBROKERS; i++) {
        until = tb_now_ms() + WAIT_MS;
        while (leader_of(&B[i], TOPIC, 0, &lead) != NBROKERS || lead < 1) {
            ck_assert_msg(tb_now_ms() < until, "broker %d: %s has no leader", i, TOPIC);
            tb_sleep_ms(100);
        }
    }
    return lead;
}

/* An idempotent producer id from b (epoch 0). */
static int64_t new_pid(struct tb_broker *b)
{
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    int16_t err = -1, epoch = -1;
    int64_t pid = -1;
    ck_assert_int_eq(tb_init_producer_id(fd, 1, NULL, 60000, -1, -1, &err, &pid, &epoch), 0);
    close(fd);
    ck_assert_int_eq(err, 0);
    ck_assert_int_ge(pid, 0);
    ck_assert_int_eq(epoch, 0);
    return pid;
}

/* A transactional batch of n records "<prefix>-i" of producer pid/epoch at sequence seq to
 * topic-part on its leader b, produced with acks=-1 (retrying NOT_LEADER_OR_FOLLOWER for a
 * moment after an election); its error. */
static int16_t produce_to(struct tb_broker *b, const char *topic, int32_t part, int64_t pid,
                          int16_t epoch, int32_t seq, const char *prefix, int n)
{
    uint8_t batch[4096];
    long bl = tb_producer_batch(batch, sizeof batch, prefix, 0, n, pid, epoch, seq, true);
    ck_assert_int_gt(bl, 0);
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct tb_produce_resp out;
    int64_t until = tb_now_ms() + 10000;
    for (;;) {
        ck_assert_int_eq(tb_txn_produce(fd, 7, TXN_ID, topic, part, batch, (size_t)bl, &out), 0);
        if (out.error != E_NOT_LEADER_OR_FOLLOWER || tb_now_ms() >= until)
            break;
        tb_sleep_ms(200);
    }
    close(fd);
    return out.error;
}

static int16_t produce_txn(struct tb_broker *b, int64_t pid, int32_t seq, const char *prefix, int n)
{
    return produce_to(b, TOPIC, 0, pid, 0, seq, prefix, n);
}

/* WriteTxnMarkers v1 of one marker for (topic, p) to b; the partition's error, or -errno. */
static int marker(struct tb_broker *b, int64_t pid, int16_t epoch, bool commit, const char *topic,
                  int32_t p)
{
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct kp_write_txn_markers_topic t = {kp_str_of(topic), 1, &p};
    struct kp_write_txn_marker m = {pid, epoch, commit, 1, &t, 0};
    struct kp_write_txn_markers_req req = {1, &m};
    struct kp_write_txn_markers_resp resp;
    int rc = tb_kcall(fd, KP_API_WRITE_TXN_MARKERS, 1, TB_ENC(kp_write_txn_markers_req_encode),
                      &req, TB_DEC(kp_write_txn_markers_resp_decode), &resp);
    close(fd);
    if (rc < 0)
        return rc;
    ck_assert_int_eq(resp.n_markers, 1);
    ck_assert(resp.markers[0].producer_id == pid);
    ck_assert_int_eq(resp.markers[0].n_topics, 1);
    ck_assert_int_eq(resp.markers[0].topics[0].n_partitions, 1);
    ck_assert_int_eq(resp.markers[0].topics[0].partitions[0].partition_index, p);
    return resp.markers[0].topics[0].partitions[0].error_code;
}

struct seen {
    int records;
    int64_t hw, lso;
    int32_t n_aborted;
    int64_t aborted_pid;
};

/* Data records only (a marker is a control batch). */
static void count_batch(void *arg, int64_t base, int32_t count, int64_t pid, int16_t attrs,
                        int ctrl_type, const uint8_t *batch, size_t len)
{
    (void)base, (void)pid, (void)attrs, (void)batch, (void)len;
    if (ctrl_type < 0)
        ((struct seen *)arg)->records += count;
}

/* A read_committed (iso 1) or read_uncommitted (0) fetch of topic-part from offset 0 on b. */
static struct seen fetch_of(struct tb_broker *b, const char *topic, int32_t part, int8_t iso)
{
    struct seen s = {0};
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct tb_frame f;
    struct tb_txn_fetch out;
    ck_assert_int_eq(tb_txn_fetch(fd, 11, iso, 0, 0, topic, part, 0, &f, &out), 0);
    ck_assert_int_eq(out.error, 0);
    ck_assert_int_ge(tb_txn_batches(out.records, (size_t)out.records_len, count_batch, &s), 0);
    s.hw = out.high_watermark;
    s.lso = out.last_stable_offset;
    s.n_aborted = out.n_aborted;
    s.aborted_pid = out.n_aborted > 0 ? out.aborted[0].producer_id : -1;
    tb_frame_free(&f);
    close(fd);
    return s;
}

static struct seen fetch(struct tb_broker *b, int8_t iso) { return fetch_of(b, TOPIC, 0, iso); }

/* Waits until b's high watermark of TOPIC-0 reaches hw. */
static void wait_hw(struct tb_broker *b, int64_t hw)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    while (fetch(b, 0).hw < hw) {
        ck_assert_msg(tb_now_ms() < until, "high watermark never reached %lld", (long long)hw);
        tb_sleep_ms(100);
    }
}

START_TEST(markers_commit_abort_and_failover)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_markers");
    int32_t lead = cluster_with_topic("/markers");
    int32_t other = lead % NBROKERS + 1;
    int64_t pid = new_pid(&B[other]);

    /* ApiVersions: WriteTxnMarkers v1 only */
    {
        int fd = tb_connect(B[lead].port);
        ck_assert_int_ge(fd, 0);
        struct tb_req rr;
        ck_assert_int_eq(tb_req_begin(&rr, 64, 18, 2, 5), 0);
        tb_enc_api_versions(&rr, 2);
        struct tb_frame ff;
        ck_assert_int_eq(tb_call(fd, &rr, 5, &ff), 0);
        tb_req_free(&rr);
        static struct tb_api_versions av;
        ck_assert_int_eq(tb_dec_api_versions(&ff, 2, &av), 0);
        tb_frame_free(&ff);
        close(fd);
        int16_t lo = -1, hi = -1;
        ck_assert_msg(tb_api_range(&av, 27, &lo, &hi), "WriteTxnMarkers not advertised");
        ck_assert_int_eq(lo, 1);
        ck_assert_int_eq(hi, 1);
    }

    /* a transaction's batch: accepted by the leader, held back from read_committed */
    ck_assert_int_eq(produce_txn(&B[lead], pid, 0, "c", 5), 0);
    wait_hw(&B[lead], 5);
    struct seen s = fetch(&B[lead], 1);
    ck_assert_int_eq(s.lso, 0);
    ck_assert_int_eq(s.records, 0);
    ck_assert_int_eq(fetch(&B[lead], 0).records, 5);

    /* not the leader; no such partition */
    ck_assert_int_eq(marker(&B[other], pid, 0, true, TOPIC, 0), E_NOT_LEADER_OR_FOLLOWER);
    ck_assert_int_eq(marker(&B[lead], pid, 0, true, TOPIC, 7), 3);
    ck_assert_int_eq(marker(&B[lead], pid, 0, true, "no-such-topic", 0), 3);
    s = fetch(&B[lead], 1);
    ck_assert_int_eq(s.lso, 0);

    /* COMMIT at the leader: answered replicated; the LSO moves past the marker */
    ck_assert_int_eq(marker(&B[lead], pid, 0, true, TOPIC, 0), 0);
    s = fetch(&B[lead], 1);
    ck_assert_int_eq(s.hw, 6);
    ck_assert_int_eq(s.lso, 6);
    ck_assert_int_eq(s.records, 5);

    /* ABORT of a second transaction */
    ck_assert_int_eq(produce_txn(&B[lead], pid, 5, "a", 3), 0);
    wait_hw(&B[lead], 9);
    ck_assert_int_eq(fetch(&B[lead], 1).lso, 6);
    ck_assert_int_eq(marker(&B[lead], pid, 0, false, TOPIC, 0), 0);
    s = fetch(&B[lead], 1);
    ck_assert_int_eq(s.hw, 10);
    ck_assert_int_eq(s.lso, 10);
    ck_assert_int_eq(s.n_aborted, 1);
    ck_assert(s.aborted_pid == pid);

    /* the leader killed: the new leader (a follower before) holds both markers */
    ck_assert_int_ge(tb_broker_stop(&B[lead], SIGKILL), 0);
    int32_t nl = -1;
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        leader_of(&B[other], TOPIC, 0, &nl);
        if (nl >= 1 && nl != lead) {
            struct seen t = fetch(&B[nl], 1);
            if (t.hw >= 10) {
                ck_assert_int_eq(t.lso, 10);
                ck_assert_int_eq(t.n_aborted, 1);
                ck_assert(t.aborted_pid == pid);
                ck_assert_int_eq(fetch(&B[nl], 0).records, 8);
                break;
            }
        }
        ck_assert_msg(tb_now_ms() < until, "no new leader with the markers");
        tb_sleep_ms(200);
    }
    for (int i = 1; i <= NBROKERS; i++)
        if (B[i].pid > 0)
            ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
}
END_TEST

/* Kafka's partition of a group: abs(String.hashCode) % n (ASCII ids here). */
static int partition_of(const char *group, int n)
{
    uint32_t h = 0;
    for (const char *p = group; *p; p++)
        h = h * 31u + (uint8_t)*p;
    int32_t sh = (int32_t)h;
    int32_t a = sh == INT32_MIN ? 0 : sh < 0 ? -sh : sh;
    return a % n;
}

/* The group's coordinator, once b names one (creating __consumer_offsets), loaded. */
static int32_t coordinator(struct tb_broker *b, const char *group)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        int fd = tb_connect(b->port);
        ck_assert_int_ge(fd, 0);
        struct tb_find_coordinator fc;
        ck_assert_int_eq(tb_find_coordinator(fd, 2, 5, group, 0, &fc), 0);
        close(fd);
        if (fc.error == 0 && fc.node_id >= 1 && fc.node_id <= NBROKERS)
            return fc.node_id;
        ck_assert_msg(tb_now_ms() < until, "no coordinator for %s (%d)", group, fc.error);
        tb_sleep_ms(200);
    }
}

/* OffsetFetch v3 of TOPIC-0 for group on b: the offset (-1 none); retries a coordinator that
 * is still loading. */
static int64_t fetched(struct tb_broker *b, const char *group)
{
    struct tb_ofs_part part = {TOPIC, 0, 0, NULL};
    static struct tb_ofs_resp out;
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        int fd = tb_connect(b->port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(tb_offset_fetch(fd, 3, group, &part, 1, &out), 0);
        close(fd);
        if (out.error != E_COORDINATOR_LOAD_IN_PROGRESS)
            break;
        ck_assert_msg(tb_now_ms() < until, "coordinator of %s keeps loading", group);
        tb_sleep_ms(200);
    }
    ck_assert_int_eq(out.error, 0);
    const struct tb_ofs_result *r = tb_ofs_find(&out, TOPIC, 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->error, 0);
    return r->offset;
}

/* TxnOffsetCommit v3 of TOPIC-0 = offset for group at b; the error (retrying a load). */
static int16_t txn_commit(struct tb_broker *b, const char *group, int64_t pid, int64_t offset)
{
    int16_t err = -1;
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        int fd = tb_connect(b->port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(tb_txn_offset_commit(fd, 3, TXN_ID, group, pid, 0, TOPIC, 0, offset, &err),
                         0);
        close(fd);
        if (err != E_COORDINATOR_LOAD_IN_PROGRESS || tb_now_ms() >= until)
            return err;
        tb_sleep_ms(200);
    }
}

START_TEST(txn_offsets_ended_by_markers)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_markers");
    cluster_with_topic("/markers-offsets");
    static const char *const groups[2] = {"wtm-commit", "wtm-abort"};
    int64_t pid = new_pid(&B[1]);
    for (int g = 0; g < 2; g++) {
        int32_t c = coordinator(&B[1], groups[g]);
        int32_t not_c = c % NBROKERS + 1;
        ck_assert_int_eq(txn_commit(&B[not_c], groups[g], pid, 40 + g), E_NOT_COORDINATOR);
        ck_assert_int_eq(txn_commit(&B[c], groups[g], pid, 40 + g), 0);
        ck_assert_int_eq(fetched(&B[c], groups[g]), -1); /* pending: invisible */
        int32_t p = partition_of(groups[g], NOFS);
        int32_t pl = -1;
        leader_of(&B[c], OFFSETS, p, &pl);
        ck_assert_int_eq(pl, c); /* the coordinator leads the group's partition */
        ck_assert_int_eq(marker(&B[not_c], pid, 0, g == 0, OFFSETS, p), E_NOT_LEADER_OR_FOLLOWER);
        ck_assert_int_eq(fetched(&B[c], groups[g]), -1);
        ck_assert_int_eq(marker(&B[c], pid, 0, g == 0, OFFSETS, p), 0);
        ck_assert_int_eq(fetched(&B[c], groups[g]), g == 0 ? 40 : -1);
        /* a marker repeated changes nothing */
        ck_assert_int_eq(marker(&B[c], pid, 0, g == 0, OFFSETS, p), 0);
        ck_assert_int_eq(fetched(&B[c], groups[g]), g == 0 ? 40 : -1);
    }
    for (int i = 1; i <= NBROKERS; i++)
        if (B[i].pid > 0)
            ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
}
END_TEST

/* A marker to the leader of __consumer_offsets-p as named by b, retried while the leadership
 * moves, the new leader loads or waits for the ISR to drop the dead broker (as the transaction
 * coordinator retries); its final error. *at: the broker it went to. */
static int marker_at_leader(struct tb_broker *b, int64_t pid, bool commit, int32_t p, int32_t *at)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        int32_t l = -1;
        leader_of(b, OFFSETS, p, &l);
        int rc = -1;
        if (l >= 1 && l <= NBROKERS && B[l].pid > 0) {
            rc = marker(&B[l], pid, 0, commit, OFFSETS, p);
            *at = l;
            if (rc != E_NOT_LEADER_OR_FOLLOWER && rc != E_COORDINATOR_LOAD_IN_PROGRESS &&
                rc != E_REQUEST_TIMED_OUT && rc >= 0)
                return rc;
        }
        ck_assert_msg(tb_now_ms() < until, "no leader of %s-%d takes the marker (%d)", OFFSETS, p,
                      rc);
        tb_sleep_ms(200);
    }
}

/* A group id "<prefix><i>" on __consumer_offsets partition p. */
static void group_on(char *out, size_t cap, const char *prefix, int32_t p)
{
    for (int i = 0;; i++) {
        snprintf(out, cap, "%s%d", prefix, i);
        if (partition_of(out, NOFS) == p)
            return;
    }
}

/*
 * The gap docs/cluster.md used to name: TxnOffsetCommit answered by the group's coordinator,
 * which is then killed (-9) before the transaction's marker. The pending offsets are in the
 * group's __consumer_offsets partition as a transactional batch (answered once replicated), so
 * the new leader loads them pending: a COMMIT marker sent to it makes them the group's
 * committed offsets, an ABORT marker (another producer, another group of the partition) drops
 * them. Meanwhile read_committed readers of the partition stop before them (its LSO).
 */
START_TEST(txn_offsets_survive_coordinator_failover)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_markers");
    cluster_with_topic("/markers-failover");
    char gc[32], ga[32];
    snprintf(gc, sizeof gc, "wtf-commit");
    int32_t p = partition_of(gc, NOFS);
    group_on(ga, sizeof ga, "wtf-abort", p); /* the same partition: the same coordinator */
    int64_t pidc = new_pid(&B[1]), pida = new_pid(&B[1]);
    int32_t c = coordinator(&B[1], gc);
    ck_assert_int_eq(coordinator(&B[1], ga), c);
    ck_assert_int_eq(txn_commit(&B[c], gc, pidc, 40), 0);
    ck_assert_int_eq(txn_commit(&B[c], ga, pida, 41), 0);
    ck_assert_int_eq(fetched(&B[c], gc), -1); /* pending: invisible */
    struct seen s = fetch_of(&B[c], OFFSETS, p, 1);
    ck_assert_int_lt(s.lso, s.hw); /* read_committed stops before the open batches */
    ck_assert_int_eq(s.records, 0);

    /* the coordinator killed; another broker leads the partition and loads it */
    ck_assert_int_ge(tb_broker_stop(&B[c], SIGKILL), 0);
    int32_t other = c % NBROKERS + 1, nl = -1;
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        leader_of(&B[other], OFFSETS, p, &nl);
        if (nl >= 1 && nl != c)
            break;
        ck_assert_msg(tb_now_ms() < until, "%s-%d has no new leader", OFFSETS, p);
        tb_sleep_ms(200);
    }
    /* the transaction coordinator ends both transactions at the new leader */
    int32_t at = -1;
    ck_assert_int_eq(marker_at_leader(&B[other], pidc, true, p, &at), 0);
    ck_assert_int_ne(at, c);
    ck_assert_int_eq(marker_at_leader(&B[other], pida, false, p, &at), 0);
    ck_assert_int_eq(coordinator(&B[at], gc), at);
    ck_assert_int_eq(fetched(&B[at], gc), 40); /* committed: not lost with the coordinator */
    ck_assert_int_eq(fetched(&B[at], ga), -1); /* aborted */
    s = fetch_of(&B[at], OFFSETS, p, 1);
    ck_assert_int_eq(s.lso, s.hw); /* both transactions closed by their markers */
    for (int i = 1; i <= NBROKERS; i++)
        if (B[i].pid > 0)
            ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
}
END_TEST

/* ---- the coordinator's sender (br_clu_markers.h) against the real brokers ------------------ */

#define TOPIC3 "wtm3"
#define NP3    3

static int32_t lead3[NP3];   /* TOPIC3's leaders as the fake view says */
static int32_t dead_id = -1; /* a broker id whose endpoint refuses connections */

static int32_t fake_leader(void *arg, const char *topic, size_t len, int32_t p)
{
    (void)arg;
    if (len != strlen(TOPIC3) || memcmp(topic, TOPIC3, len) != 0 || p < 0 || p >= NP3)
        return -ENOENT;
    return lead3[p];
}

static int fake_endpoint(void *arg, int32_t id, char *host, size_t cap, int32_t *port)
{
    (void)arg;
    if (id == dead_id) {
        snprintf(host, cap, "127.0.0.1");
        *port = 1; /* nothing listens there */
        return 0;
    }
    if (id < 1 || id > NBROKERS || B[id].pid <= 0)
        return -ENOENT;
    snprintf(host, cap, "127.0.0.1");
    *port = B[id].port;
    return 0;
}

/* Creates TOPIC3 (NP3 partitions, RF 3) through broker 1; its leaders into lead3. */
static void create_topic3(void)
{
    tb_clu_create_topic(B[1].port, TOPIC3, NP3, 3);
    for (int p = 0; p < NP3; p++) {
        int64_t until = tb_now_ms() + WAIT_MS;
        for (;;) {
            bool all = true;
            for (int i = 1; i <= NBROKERS; i++) {
                int32_t l = -1;
                leader_of(&B[i], TOPIC3, p, &l);
                all = all && l >= 1 && (i == 1 || l == lead3[p]);
                if (i == 1)
                    lead3[p] = l;
            }
            if (all)
                break;
            ck_assert_msg(tb_now_ms() < until, "%s-%d has no leader", TOPIC3, p);
            tb_sleep_ms(100);
        }
    }
}

START_TEST(sender_writes_at_each_leader)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_markers");
    cluster_with_topic("/markers-sender");
    create_topic3();
    int64_t pid = new_pid(&B[1]);
    for (int p = 0; p < NP3; p++)
        ck_assert_int_eq(produce_to(&B[lead3[p]], TOPIC3, p, pid, 0, 0, "s", 5), 0);
    struct br_clu_markers *m = NULL;
    struct br_clu_markers_conf mc = {
        .broker_id = 99, .leader = fake_leader, .endpoint = fake_endpoint, .arg = NULL};
    ck_assert_int_eq(br_clu_markers_new(&mc, &m), 0);

    /* the view says a follower leads partition 0: NOT_LEADER_OR_FOLLOWER, retried later */
    int32_t real0 = lead3[0];
    lead3[0] = real0 % NBROKERS + 1;
    struct br_clu_marker_part one = {TOPIC3, strlen(TOPIC3), 0, 1};
    ck_assert_int_eq(br_clu_markers_write(m, pid, 0, true, 0, &one, 1, tb_now_ms() + 20000), 0);
    ck_assert_int_eq(one.rc, -EAGAIN);
    /* a leader nobody can reach: -EAGAIN within the deadline */
    dead_id = lead3[0];
    int64_t t0 = tb_now_ms();
    ck_assert_int_eq(br_clu_markers_write(m, pid, 0, true, 0, &one, 1, tb_now_ms() + 5000), 0);
    ck_assert_int_eq(one.rc, -EAGAIN);
    ck_assert_int_lt(tb_now_ms() - t0, 6000);
    dead_id = -1;
    lead3[0] = real0;
    ck_assert_int_eq(fetch_of(&B[real0], TOPIC3, 0, 1).lso, 0);

    /* every partition at its leader, one unknown */
    struct br_clu_marker_part parts[NP3 + 1];
    for (int p = 0; p <= NP3; p++)
        parts[p] = (struct br_clu_marker_part){TOPIC3, strlen(TOPIC3), p == NP3 ? 9 : p, 1};
    ck_assert_int_eq(br_clu_markers_write(m, pid, 0, true, 0, parts, NP3 + 1, tb_now_ms() + 40000),
                     0);
    for (int p = 0; p < NP3; p++) {
        ck_assert_msg(parts[p].rc == 0, "partition %d: %d", p, parts[p].rc);
        struct seen s = fetch_of(&B[lead3[p]], TOPIC3, p, 1);
        ck_assert_int_eq(s.lso, 6); /* answered once replicated: the HW passed the marker */
        ck_assert_int_eq(s.hw, 6);
        ck_assert_int_eq(s.records, 5);
    }
    ck_assert_int_eq(parts[NP3].rc, -ENOENT);

    /* a newer epoch of the producer on partition 1: the old epoch's marker is -ESTALE */
    ck_assert_int_eq(produce_to(&B[lead3[1]], TOPIC3, 1, pid, 1, 0, "e", 2), 0);
    struct br_clu_marker_part p1 = {TOPIC3, strlen(TOPIC3), 1, 1};
    ck_assert_int_eq(br_clu_markers_write(m, pid, 0, false, 0, &p1, 1, tb_now_ms() + 20000), 0);
    ck_assert_int_eq(p1.rc, -ESTALE);
    ck_assert_int_eq(br_clu_markers_write(m, pid, 1, false, 0, &p1, 1, tb_now_ms() + 20000), 0);
    ck_assert_int_eq(p1.rc, 0);
    struct seen s = fetch_of(&B[lead3[1]], TOPIC3, 1, 1);
    ck_assert_int_eq(s.lso, 9);
    ck_assert_int_eq(s.n_aborted, 1); /* the consumer drops the aborted two */
    ck_assert(s.aborted_pid == pid);
    /* a marker of an older coordinator epoch than the producer's last one there: the
     * coordinator was deposed (TRANSACTION_COORDINATOR_FENCED) */
    struct br_clu_marker_part p2 = {TOPIC3, strlen(TOPIC3), 2, 1};
    ck_assert_int_eq(br_clu_markers_write(m, pid, 0, false, 3, &p2, 1, tb_now_ms() + 20000), 0);
    ck_assert_int_eq(p2.rc, 0);
    ck_assert_int_eq(br_clu_markers_write(m, pid, 0, false, 2, &p2, 1, tb_now_ms() + 20000), 0);
    ck_assert_int_eq(p2.rc, -EREMCHG);
    br_clu_markers_free(m);
    for (int i = 1; i <= NBROKERS; i++)
        if (B[i].pid > 0)
            ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_markers");
    TCase *tc = tb_clu_tcase("markers", teardown, 300);
    tcase_add_test(tc, markers_commit_abort_and_failover);
    tcase_add_test(tc, txn_offsets_ended_by_markers);
    tcase_add_test(tc, txn_offsets_survive_coordinator_failover);
    tcase_add_test(tc, sender_writes_at_each_leader);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
