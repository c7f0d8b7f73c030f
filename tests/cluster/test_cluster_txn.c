/*
 * test_cluster_txn — the transaction coordinator's state in a cluster (issue 18 M4, second
 * half; docs/cluster.md "Transactions"): a real Apache ZooKeeper and three splicelogd
 * processes on loopback, raw protocol (tb_txn).
 * - The first FindCoordinator with key_type 1 creates __transaction_state (NTX partitions,
 *   RF 3, internal in Metadata); then every broker names the same coordinator, the leader of the
 *   id's partition (Java's String.hashCode, as Kafka), in v2 and in a v4 batch of two ids.
 *   Another broker answers InitProducerId
 *   with NOT_COORDINATOR; the coordinator bumps the epoch of the same producer id; Produce to
 *   __transaction_state is refused.
 * - A whole transaction on a topic created with the replica assignment of the coordinator's
 *   partition (so its leader is the coordinator and the markers are local): InitProducerId,
 *   AddPartitionsToTxn, a transactional batch, EndTxn commit; a read_committed fetch sees the
 *   LSO held back, then moved past the marker; a consumer of __transaction_state reads the four
 *   states (Empty, Ongoing, PrepareCommit, CompleteCommit) in Kafka's record format; the leader
 * stopped, the new leader (a follower until then) has the records and the marker, LSO = HW.
 * - Failover: broker 3 (test.txn.crash.step=1) coordinates two ids: one with an open
 *   transaction (Ongoing), one whose EndTxn commit kills broker 3 right after its
 *   PrepareCommit record was replicated. The new leader of the partition loads both: the
 *   prepared one is completed (its retried EndTxn answers NONE, its records are committed),
 *   InitProducerId of the other fences it (same producer id, epoch + 2) and aborts it (its
 *   records aborted); a read_committed fetch at the new leader sees LSO = HW.
 * Every wait is bounded; skipped, saying so, without java or Debian's zookeeper package.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "br_txtopic.h"
#include "kp_api.h"
#include "kp_batch.h"
#include "kp_buf.h"
#include "kp_msg.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_clu.h"
#include "tb_group.h"
#include "tb_kafka.h"
#include "tb_sasl.h"
#include "tb_txn.h"
#include "tb_zk.h"

#define SESSION_MS 3000
#define WAIT_MS    60000
#define NBROKERS   3
#define NTX        6 /* __transaction_state partitions */
#define TXTOPIC    "__transaction_state"

enum {
    E_COORDINATOR_LOAD_IN_PROGRESS = 14,
    E_COORDINATOR_NOT_AVAILABLE = 15,
    E_NOT_COORDINATOR = 16,
    E_INVALID_TOPIC_EXCEPTION = 17,
};

static struct tb_broker B[NBROKERS + 1];
static char chroot_[32];

static void teardown(void)
{
    for (int i = 0; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

/* Starts broker id (crash: with test.txn.crash.step=1). */
static void start_broker(int id, bool crash)
{
    char ntx[64];
    snprintf(ntx, sizeof ntx, "transaction.state.log.num.partitions=%d", NTX);
    const char *const more[] = {"-o", ntx,
                                "-o", "replica.fetch.backoff.ms=200",
                                "-o", "offsets.commit.timeout.ms=5000",
                                "-o", crash ? "test.txn.crash.step=1" : "test.txn.crash.step=0",
                                NULL};
    int rc = tb_zk_broker_start(&B[id], &tb_clu_zk, chroot_, id, SESSION_MS, NULL, more);
    ck_assert_msg(rc == 0, "broker %d does not start (%d): see %s", id, rc, B[id].log);
}

static void start_cluster(const char *chroot, bool crash3)
{
    memset(B, 0, sizeof B);
    snprintf(chroot_, sizeof chroot_, "%s", chroot);
    for (int i = 1; i <= NBROKERS; i++)
        start_broker(i, crash3 && i == NBROKERS);
}

/* Kafka's partition of an id: abs(String.hashCode) % n (ASCII ids here). */
static int partition_of(const char *id, int n)
{
    uint32_t h = 0;
    for (const char *p = id; *p; p++)
        h = h * 31u + (uint8_t)*p;
    int32_t s = (int32_t)h;
    int32_t a = s == INT32_MIN ? 0 : s < 0 ? -s : s;
    return a % n;
}

/* An id "<prefix>-<i>" of partition p (into buf). */
static const char *id_of_partition(char *buf, size_t cap, const char *prefix, int p)
{
    for (int i = 0; i < 10000; i++) {
        snprintf(buf, cap, "%s-%d", prefix, i);
        if (partition_of(buf, NTX) == p)
            return buf;
    }
    ck_abort_msg("no id of partition %d", p);
    return NULL;
}

/* b's Metadata for topic: leaders[p] (-1 none) and *internal; the partition count or -1. */
static int metadata(struct tb_broker *b, const char *topic, int32_t *leaders, bool *internal)
{
    const struct tb_metadata *m = tb_clu_metadata(b->port, topic);
    if (m->n_topics != 1 || m->topic[0].error != 0)
        return -1;
    for (int p = 0; p < m->topic[0].n_parts && leaders; p++)
        leaders[p] = m->topic[0].part[p].error == 0 ? m->topic[0].part[p].leader : -1;
    if (internal)
        *internal = m->topic[0].internal;
    return m->topic[0].n_parts;
}

/* FindCoordinator v2 (key_type 1) of id on b: the error; the node into *node. */
static int16_t find_txn_coordinator(struct tb_broker *b, const char *id, int32_t *node)
{
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct tb_find_coordinator fc;
    ck_assert_int_eq(tb_find_coordinator(fd, 2, 5, id, 1, &fc), 0);
    close(fd);
    *node = fc.node_id;
    return fc.error;
}

/* FindCoordinator v4 (key_type 1, a batch of two ids) on b: each answered with its
 * coordinator, want[i]. */
static void find_txn_coordinators_v4(struct tb_broker *b, const char *id0, const char *id1,
                                     const int32_t *want)
{
    const char *const keys[2] = {id0, id1};
    const int port[2] = {B[want[0]].port, B[want[1]].port};
    tb_clu_find_coordinators_v4(b->port, 1, keys, want, port);
}

/* Waits until every live broker names the same coordinator of id (not `not`); returns it. */
static int32_t wait_coordinator(const char *id, int32_t not )
{
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        int32_t first = -1;
        bool same = true;
        for (int i = 1; i <= NBROKERS && same; i++) {
            if (B[i].pid <= 0)
                continue;
            int32_t node = -1;
            int16_t e = find_txn_coordinator(&B[i], id, &node);
            same = e == 0 && node != not &&node >= 1 && B[node].pid > 0 &&
                   (first < 0 || node == first);
            if (same)
                first = node;
        }
        if (same && first > 0)
            return first;
        ck_assert_msg(tb_now_ms() < until, "the brokers never agreed on %s's coordinator", id);
        tb_sleep_ms(200);
    }
}

/* Waits until every partition of __transaction_state has a live leader (seen from b). */
static void wait_txn_topic_led(struct tb_broker *b, int32_t *leaders)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        bool all = metadata(b, TXTOPIC, leaders, NULL) == NTX;
        for (int p = 0; all && p < NTX; p++)
            all = leaders[p] >= 1 && B[leaders[p]].pid > 0;
        if (all)
            return;
        ck_assert_msg(tb_now_ms() < until, "%s never had a leader per partition", TXTOPIC);
        tb_sleep_ms(200);
    }
}

/* InitProducerId v3 of id on b, retrying (bounded) while the coordinator loads or is not yet
 * named: the last error. */
static int16_t init_txn(struct tb_broker *b, const char *id, int64_t pid, int16_t epoch,
                        int64_t *out_pid, int16_t *out_epoch)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        int fd = tb_connect(b->port);
        ck_assert_int_ge(fd, 0);
        int16_t err = -1;
        ck_assert_int_eq(
            tb_init_producer_id(fd, 3, id, 60000, pid, epoch, &err, out_pid, out_epoch), 0);
        close(fd);
        if ((err != E_COORDINATOR_LOAD_IN_PROGRESS && err != E_COORDINATOR_NOT_AVAILABLE) ||
            tb_now_ms() > until)
            return err;
        tb_sleep_ms(200);
    }
}

/* The replicas of partition p of topic in ZooKeeper (the assignment): their count. */
static int zk_replicas(const char *topic, int p, int32_t *out, int max)
{
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    char path[256], key[32];
    snprintf(path, sizeof path, "%s/brokers/topics/%s", chroot_, topic);
    const char *json = tb_zk_get(zh, path, NULL);
    ck_assert_ptr_nonnull(json);
    snprintf(key, sizeof key, "\"%d\":[", p);
    const char *s = strstr(json, key);
    ck_assert_msg(s != NULL, "%s: no partition %d in %s", path, p, json);
    s += strlen(key);
    int n = 0;
    while (*s && *s != ']' && n < max) {
        out[n++] = (int32_t)strtol(s, (char **)&s, 10);
        if (*s == ',')
            s++;
    }
    zookeeper_close(zh);
    return n;
}

/* CreateTopics v4 of topic with one partition on replicas (in order): the error. */
static int16_t create_assigned(struct tb_broker *b, const char *topic, const int32_t *replicas,
                               int n)
{
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct tb_req rr;
    ck_assert_int_eq(tb_req_begin(&rr, 512, 19, 4, 78), 0);
    struct kp_wr *w = &rr.wr;
    kp_wr_array(w, 1);
    kp_wr_str(w, kp_str_of(topic));
    kp_wr_i32(w, -1); /* num_partitions and replication_factor: from the assignment */
    kp_wr_i16(w, -1);
    kp_wr_array(w, 1);
    kp_wr_i32(w, 0);
    kp_wr_array(w, n);
    for (int i = 0; i < n; i++)
        kp_wr_i32(w, replicas[i]);
    kp_wr_array(w, 0); /* configs */
    kp_wr_i32(w, 10000);
    kp_wr_bool(w, false);
    struct tb_frame ff;
    ck_assert_int_eq(tb_call(fd, &rr, 78, &ff), 0);
    tb_req_free(&rr);
    int16_t err = -1;
    ck_assert_int_eq(tb_dec_create_topics(&ff, 4, &err), 0);
    tb_frame_free(&ff);
    close(fd);
    return err;
}

/* Creates topic (one partition) with the replicas of partition p of __transaction_state, and
 * waits until every live broker sees it led by want. */
static void topic_like(const char *topic, int p, int32_t want)
{
    int32_t reps[NBROKERS];
    int n = zk_replicas(TXTOPIC, p, reps, NBROKERS);
    ck_assert_int_eq(n, NBROKERS);
    ck_assert_int_eq(reps[0], want); /* the preferred leader leads a new topic */
    ck_assert_int_eq(create_assigned(&B[1], topic, reps, n), 0);
    for (int i = 1; i <= NBROKERS; i++) {
        int64_t until = tb_now_ms() + WAIT_MS;
        int32_t lead[1] = {-1};
        while (B[i].pid > 0 && (metadata(&B[i], topic, lead, NULL) != 1 || lead[0] != want)) {
            ck_assert_msg(tb_now_ms() < until, "broker %d: %s not led by %d", i, topic, want);
            tb_sleep_ms(100);
        }
    }
}

/* One transactional batch of count records "<prefix>-i" to topic-0 on b (retrying while the
 * ISR is short). */
static void produce_txn(struct tb_broker *b, const char *id, const char *topic, const char *prefix,
                        int count, int64_t pid, int16_t epoch)
{
    uint8_t buf[4096];
    long n = tb_producer_batch(buf, sizeof buf, prefix, 0, count, pid, epoch, 0, true);
    ck_assert_int_gt(n, 0);
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct tb_produce_resp pr;
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        ck_assert_int_eq(tb_txn_produce(fd, 7, id, topic, 0, buf, (size_t)n, &pr), 0);
        if (pr.error != TB_E_NOT_ENOUGH_REPLICAS || tb_now_ms() > until)
            break;
        tb_sleep_ms(200);
    }
    close(fd);
    ck_assert_msg(pr.error == 0, "produce %s: error %d", prefix, pr.error);
}

/* A read_committed Fetch v11 of topic-0 from offset 0 on b: hw, lso, records' size and how
 * many aborted transactions it lists. */
static int16_t fetch_committed(struct tb_broker *b, const char *topic, int64_t *hw, int64_t *lso,
                               int32_t *records_len, int32_t *n_aborted)
{
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct tb_frame f;
    struct tb_txn_fetch out;
    ck_assert_int_eq(tb_txn_fetch(fd, 11, 1, 0, 0, topic, 0, 0, &f, &out), 0);
    tb_frame_free(&f);
    close(fd);
    *hw = out.high_watermark;
    *lso = out.last_stable_offset;
    *records_len = out.records_len;
    *n_aborted = out.n_aborted;
    return out.error;
}

/* Waits until a read_committed fetch on b sees hw = lso = end. */
static void wait_stable(struct tb_broker *b, const char *topic, int64_t end, int32_t *n_aborted)
{
    int64_t until = tb_now_ms() + WAIT_MS, hw = -1, lso = -1;
    int32_t rl = 0;
    int16_t e = -1;
    for (;;) {
        e = fetch_committed(b, topic, &hw, &lso, &rl, n_aborted);
        if (e == 0 && hw == end && lso == end)
            break;
        ck_assert_msg(tb_now_ms() < until,
                      "%s-0 on port %d: error %d hw %lld lso %lld, want both at %lld", topic,
                      b->port, e, (long long)hw, (long long)lso, (long long)end);
        tb_sleep_ms(100);
    }
    ck_assert_int_gt(rl, 0);
}

/* The states of id in __transaction_state's records (br_txtopic_parse, Kafka's format). */
struct states {
    const char *id;
    int n;
    int state[32];
    int64_t pid[32];
};

static void state_batch(void *arg, int64_t base, int32_t count, int64_t pid, int16_t attrs,
                        int ctrl, const uint8_t *batch, size_t len)
{
    (void)base, (void)count, (void)pid, (void)attrs, (void)ctrl;
    struct states *s = arg;
    struct kp_batch_hdr h;
    ck_assert_int_eq(kp_batch_validate(batch, len, 0, &h), 0);
    struct kp_record_iter it;
    struct kp_record rec;
    kp_record_iter_init(&it, batch, &h);
    while (kp_record_next(&it, &rec) == 1) {
        struct br_txtopic_rec r;
        ck_assert_int_eq(br_txtopic_parse(rec.key.ptr, (size_t)rec.key.len,
                                          rec.value.len < 0 ? NULL : rec.value.ptr,
                                          rec.value.len < 0 ? 0 : (size_t)rec.value.len, &r),
                         0);
        if (r.r.id_len == strlen(s->id) && memcmp(r.r.id, s->id, r.r.id_len) == 0 && s->n < 32) {
            s->state[s->n] = r.tombstone ? -1 : r.r.state;
            s->pid[s->n++] = r.r.producer_id;
        }
        br_txtopic_rec_free(&r);
    }
}

/* Reads partition p of __transaction_state on b (a consumer's Fetch) for id's states. */
static void read_states(struct tb_broker *b, int p, struct states *s)
{
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct tb_frame f;
    struct tb_txn_fetch out;
    ck_assert_int_eq(tb_txn_fetch(fd, 11, 0, 0, 0, TXTOPIC, p, 0, &f, &out), 0);
    close(fd);
    ck_assert_int_eq(out.error, 0);
    s->n = 0;
    ck_assert_int_ge(tb_txn_batches(out.records, (size_t)out.records_len, state_batch, s), 0);
    tb_frame_free(&f);
}

START_TEST(coordinator_named_by_every_broker_others_not_coordinator)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_txn");
    start_cluster("/txn1", false);
    const char *id = "m4-txn";
    int32_t c = wait_coordinator(id, -1); /* the first one creates the topic */
    int32_t leaders[NTX];
    bool internal = false;
    ck_assert_int_eq(metadata(&B[1], TXTOPIC, leaders, &internal), NTX);
    ck_assert(internal);
    wait_txn_topic_led(&B[1], leaders);
    ck_assert_int_eq(c, leaders[partition_of(id, NTX)]);
    /* v4's batch: each id its own partition's leader, from every broker */
    char other_id[64];
    int op = (partition_of(id, NTX) + 1) % NTX;
    (void)id_of_partition(other_id, sizeof other_id, "other", op);
    int32_t c2 = wait_coordinator(other_id, -1);
    ck_assert_int_eq(c2, leaders[op]);
    for (int i = 1; i <= NBROKERS; i++)
        find_txn_coordinators_v4(&B[i], id, other_id, (const int32_t[]){c, c2});
    /* a broker that is not the coordinator */
    int other = c % NBROKERS + 1;
    int64_t pid = -1;
    int16_t ep = -1;
    ck_assert_int_eq(init_txn(&B[other], id, -1, -1, &pid, &ep), E_NOT_COORDINATOR);
    /* the coordinator: epoch 0, then the same producer id at epoch 1 */
    ck_assert_int_eq(init_txn(&B[c], id, -1, -1, &pid, &ep), 0);
    ck_assert_int_ge(pid, 0);
    ck_assert_int_eq(ep, 0);
    int64_t pid2 = -1;
    int16_t ep2 = -1;
    ck_assert_int_eq(init_txn(&B[c], id, pid, ep, &pid2, &ep2), 0);
    ck_assert_int_eq(pid2, pid);
    ck_assert_int_eq(ep2, 1);
    /* the others still say NOT_COORDINATOR, and name c */
    for (int i = 1; i <= NBROKERS; i++) {
        if (i == c)
            continue;
        ck_assert_int_eq(init_txn(&B[i], id, pid2, ep2, &pid, &ep), E_NOT_COORDINATOR);
        int32_t node = -1;
        ck_assert_int_eq(find_txn_coordinator(&B[i], id, &node), 0);
        ck_assert_int_eq(node, c);
    }
    /* only the broker writes __transaction_state */
    uint8_t buf[1024];
    long n = tb_producer_batch(buf, sizeof buf, "x", 0, 1, -1, -1, -1, false);
    ck_assert_int_gt(n, 0);
    int fd = tb_connect(B[leaders[0]].port);
    ck_assert_int_ge(fd, 0);
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_txn_produce(fd, 7, NULL, TXTOPIC, 0, buf, (size_t)n, &pr), 0);
    close(fd);
    ck_assert_int_eq(pr.error, E_INVALID_TOPIC_EXCEPTION);
}
END_TEST

START_TEST(transaction_commits_markers_replicated)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_txn");
    start_cluster("/txn2", false);
    int32_t leaders[NTX];
    (void)wait_coordinator("create", -1);
    wait_txn_topic_led(&B[1], leaders);
    char idb[64];
    const char *id = id_of_partition(idb, sizeof idb, "commit", 0);
    int32_t c = wait_coordinator(id, -1);
    ck_assert_int_eq(c, leaders[0]);
    topic_like("ct", 0, c);

    int64_t pid = -1;
    int16_t ep = -1, err = -1;
    ck_assert_int_eq(init_txn(&B[c], id, -1, -1, &pid, &ep), 0);
    int fd = tb_connect(B[c].port);
    ck_assert_int_ge(fd, 0);
    int32_t part = 0;
    int16_t errs[1] = {-1};
    ck_assert_int_eq(tb_add_partitions(fd, 1, id, pid, ep, "ct", &part, 1, errs), 0);
    ck_assert_int_eq(errs[0], 0);
    produce_txn(&B[c], id, "ct", "c", 5, pid, ep);
    /* open: the LSO holds at the transaction's first offset */
    int64_t hw = -1, lso = -1;
    int32_t rl = -1, na = -1;
    int64_t until = tb_now_ms() + WAIT_MS;
    while (fetch_committed(&B[c], "ct", &hw, &lso, &rl, &na) != 0 || hw != 5) {
        ck_assert_msg(tb_now_ms() < until, "hw %lld", (long long)hw);
        tb_sleep_ms(100);
    }
    ck_assert_int_eq(lso, 0);
    ck_assert_int_eq(rl, 0);
    ck_assert_int_eq(tb_end_txn(fd, 1, id, pid, ep, true, &err), 0);
    ck_assert_int_eq(err, 0);
    close(fd);
    /* committed: records and marker, LSO = HW = 6 */
    wait_stable(&B[c], "ct", 6, &na);
    ck_assert_int_le(na, 0);
    /* each state change in __transaction_state-0, replicated (below the HW), Kafka's format:
     * Empty, Ongoing, PrepareCommit, CompleteCommit */
    struct states st = {.id = id};
    read_states(&B[c], 0, &st);
    ck_assert_int_eq(st.n, 4);
    static const int want[4] = {0, 1, 2, 4};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(st.state[i], want[i]);
        ck_assert_int_eq(st.pid[i], pid);
    }
    /* the leader (and coordinator) stopped: a follower leads, with the marker */
    ck_assert_int_eq(tb_broker_stop(&B[c], SIGTERM), 0);
    int32_t lead[1] = {-1};
    int s = c % NBROKERS + 1;
    until = tb_now_ms() + WAIT_MS;
    while (metadata(&B[s], "ct", lead, NULL) != 1 || lead[0] < 1 || lead[0] == c) {
        ck_assert_msg(tb_now_ms() < until, "ct-0 has no new leader");
        tb_sleep_ms(200);
    }
    wait_stable(&B[lead[0]], "ct", 6, &na);
    ck_assert_int_le(na, 0);
    /* the id's new coordinator loaded it: the same producer id, the next epoch */
    int32_t n = wait_coordinator(id, c);
    int64_t pid2 = -1;
    int16_t ep2 = -1;
    ck_assert_int_eq(init_txn(&B[n], id, pid, ep, &pid2, &ep2), 0);
    ck_assert_int_eq(pid2, pid);
    ck_assert_int_eq(ep2, ep + 1);
}
END_TEST

START_TEST(failover_loads_ongoing_and_prepared)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_txn");
    start_cluster("/txn3", true); /* broker 3 dies after step 1 of an end */
    int32_t leaders[NTX];
    (void)wait_coordinator("create", -1);
    wait_txn_topic_led(&B[1], leaders);
    int p = -1;
    for (int i = 0; i < NTX && p < 0; i++)
        if (leaders[i] == 3)
            p = i;
    ck_assert_msg(p >= 0, "broker 3 leads no partition of %s", TXTOPIC);
    char ida[64], idb[64];
    const char *open_id = id_of_partition(ida, sizeof ida, "open", p);
    const char *prep_id = id_of_partition(idb, sizeof idb, "prep", p);
    ck_assert_int_eq(wait_coordinator(open_id, -1), 3);
    topic_like("ft", p, 3);

    int64_t pa = -1, pb = -1;
    int16_t ea = -1, eb = -1, err = -1;
    ck_assert_int_eq(init_txn(&B[3], open_id, -1, -1, &pa, &ea), 0);
    ck_assert_int_eq(init_txn(&B[3], prep_id, -1, -1, &pb, &eb), 0);
    int fd = tb_connect(B[3].port);
    ck_assert_int_ge(fd, 0);
    int32_t part = 0;
    int16_t errs[1] = {-1};
    ck_assert_int_eq(tb_add_partitions(fd, 1, open_id, pa, ea, "ft", &part, 1, errs), 0);
    ck_assert_int_eq(errs[0], 0);
    produce_txn(&B[3], open_id, "ft", "open", 3, pa, ea);
    ck_assert_int_eq(tb_add_partitions(fd, 1, prep_id, pb, eb, "ft", &part, 1, errs), 0);
    ck_assert_int_eq(errs[0], 0);
    produce_txn(&B[3], prep_id, "ft", "prep", 2, pb, eb);
    /* PrepareCommit replicated, then broker 3 kills itself (test.txn.crash.step=1) */
    (void)tb_end_txn(fd, 1, prep_id, pb, eb, true, &err);
    close(fd);
    int st = tb_wait_exit(B[3].pid, 20000);
    ck_assert_msg(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
                  "broker 3 did not kill itself (%d)", st);
    B[3].pid = 0;

    /* a new coordinator for both, once broker 3's session expired */
    int32_t n = wait_coordinator(open_id, 3);
    ck_assert_int_eq(wait_coordinator(prep_id, 3), n);
    int32_t lead[1] = {-1};
    int64_t until = tb_now_ms() + WAIT_MS;
    while (metadata(&B[n], "ft", lead, NULL) != 1 || lead[0] < 1 || lead[0] == 3) {
        ck_assert_msg(tb_now_ms() < until, "ft-0 has no new leader");
        tb_sleep_ms(200);
    }
    /* the markers are local when ft-0 moved to the same broker (the same replica order); a
     * marker into another broker's log waits for WriteTxnMarkers (docs/cluster.md) */
    bool local = lead[0] == n;
    fprintf(stderr, "test_cluster_txn: new coordinator %d, ft-0 led by %d\n", (int)n, (int)lead[0]);

    /* the prepared one: known (not INVALID_PRODUCER_ID_MAPPING) and completed by the load */
    until = tb_now_ms() + WAIT_MS;
    for (;;) {
        fd = tb_connect(B[n].port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(tb_end_txn(fd, 1, prep_id, pb, eb, true, &err), 0);
        close(fd);
        if (err == 0 || tb_now_ms() > until)
            break;
        ck_assert_msg(err == E_COORDINATOR_LOAD_IN_PROGRESS || err == E_NOT_COORDINATOR ||
                          err == E_COORDINATOR_NOT_AVAILABLE || err == TB_E_CONCURRENT_TRANSACTIONS,
                      "EndTxn of the prepared transaction: %d", err);
        if (!local && err == TB_E_CONCURRENT_TRANSACTIONS)
            break; /* known and prepared: its markers wait for WriteTxnMarkers */
        tb_sleep_ms(200);
    }
    ck_assert_int_eq(err, local ? 0 : TB_E_CONCURRENT_TRANSACTIONS);

    /* the open one: known, fenced and aborted by the new producer's InitProducerId */
    int64_t pa2 = -1;
    int16_t ea2 = -1;
    err = init_txn(&B[n], open_id, -1, -1, &pa2, &ea2);
    if (local) {
        ck_assert_int_eq(err, 0);
        ck_assert_int_eq(pa2, pa);
        ck_assert_int_eq(ea2, ea + 2);
        /* ft-0: the prepared transaction committed, the open one aborted, nothing open */
        int32_t na = -1;
        wait_stable(&B[n], "ft", 7, &na);
        ck_assert_int_eq(na, 1);
    } else {
        ck_assert_int_eq(err, TB_E_CONCURRENT_TRANSACTIONS); /* fenced; ABORT waits */
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_txn");
    TCase *tc = tb_clu_tcase("txn_state", teardown, 300);
    tcase_add_test(tc, coordinator_named_by_every_broker_others_not_coordinator);
    tcase_add_test(tc, transaction_commits_markers_replicated);
    tcase_add_test(tc, failover_loads_ongoing_and_prepared);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
