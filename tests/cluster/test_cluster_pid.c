/*
 * test_cluster_pid — producer ids in a cluster (issue 18; docs/cluster.md "Producer ids"): a
 * real Apache ZooKeeper and three splicelogd processes on loopback.
 * - InitProducerId (raw protocol, idempotent) sent to the three brokers in turn, with blocks
 *   of 4 ids (test.producer.id.block.size) so that every broker crosses block boundaries
 *   while the others take blocks in between: every id distinct, epoch 0, and
 *   /latest_producer_id_block holds Kafka's JSON for the last of the 9 blocks taken
 *   ({"version":1,"broker":3,"block_start":"32","block_end":"35"}, written 9 times). Then all
 *   three at once from two connections each (the conditional writes race): still no id twice,
 *   and the blocks the brokers logged are exactly the znode's writes. A broker stopped and one
 *   killed (-9) take a fresh block when they come back (never an id handed out before). ZooKeeper
 * killed: once a broker's block is used up, InitProducerId answers COORDINATOR_NOT_AVAILABLE
 * (retriable) and says so in its log; ZooKeeper back: ids again, still fresh.
 * - The znode created empty (as Kafka's brokers do), then holding a block Kafka wrote (spaces,
 *   another broker): the next block follows it; unreadable: COORDINATOR_NOT_AVAILABLE once
 *   the block in hand is used up, and a log line.
 * - End to end, raw: two idempotent producers that got their ids from two different brokers
 *   write batches with the same sequence numbers to one RF-3 partition: every acknowledged
 *   record is in the partition exactly once (before the fix both had id 0, epoch 0, and the
 *   leader took the second producer's batches for retries of the first's: acknowledged, not
 *   written).
 * - End to end, librdkafka: two producers with enable.idempotence=true, each bootstrapped to a
 *   different broker only (it asks its bootstrap broker for its id: the only one it is
 *   connected to then), write alternately to one RF-3 partition: every message is delivered
 *   and is in the partition exactly once.
 * Every wait is bounded; skipped, saying so, without java or Debian's zookeeper package.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tb_broker.h"
#include "tb_check.h"
#include "tb_clu.h"
#include "tb_kafka.h"
#include "tb_txn.h"
#include "tb_zk.h"

#define SESSION_MS   3000
#define WAIT_MS      60000
#define NBROKERS     3
#define BLOCK        4  /* test.producer.id.block.size of the first test */
#define ROUNDS       10 /* InitProducerIds per broker: 3 blocks each */
#define RACERS       2  /* connections per broker asking at once */
#define PER_RACER    30 /* ids each asks for */
#define RACE_RETRIES 20
#define MAX_IDS      512

enum { E_COORDINATOR_NOT_AVAILABLE = 15 };

static struct tb_broker B[NBROKERS + 1];
static const char *CHROOT = "/pid";

static void teardown(void)
{
    for (int i = 0; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

/* Starts (or restarts on its data) broker id; retries while ZooKeeper still holds a killed
 * process's registration (NodeExists until its session expires). */
static void start_broker(int id, const char *const *more)
{
    int64_t until = tb_now_ms() + SESSION_MS * 10 + 20000;
    for (;;) {
        int rc = tb_zk_broker_start(&B[id], &tb_clu_zk, CHROOT, id, SESSION_MS, NULL, more);
        if (rc == 0)
            return;
        ck_assert_msg(tb_now_ms() < until, "broker %d does not start (%d): see %s", id, rc,
                      B[id].log);
        tb_sleep_ms(500);
    }
}

/* InitProducerId v1 for an idempotent producer on the broker on port: its error; the id and
 * epoch in *pid, *epoch. */
static int16_t init_pid(int port, int64_t *pid, int16_t *epoch)
{
    int fd = tb_connect(port);
    ck_assert_int_ge(fd, 0);
    int16_t err = -1;
    ck_assert_int_eq(tb_init_producer_id(fd, 1, NULL, 60000, -1, -1, &err, pid, epoch), 0);
    close(fd);
    return err;
}

static int64_t ids[MAX_IDS];
static int nids;

/* Records id, failing the test when it was handed out before. */
static void take(int64_t id, const char *who)
{
    for (int i = 0; i < nids; i++)
        ck_assert_msg(ids[i] != id, "producer id %lld handed out twice (%s, and before)",
                      (long long)id, who);
    ck_assert_int_lt(nids, MAX_IDS);
    ids[nids++] = id;
}

static int64_t max_id(void)
{
    int64_t m = -1;
    for (int i = 0; i < nids; i++)
        m = ids[i] > m ? ids[i] : m;
    return m;
}

/* /latest_producer_id_block as Kafka's JSON, its fields into *broker, *start, *end; the
 * znode's version. */
static int32_t read_block(zhandle_t *zh, int *broker, long long *start, long long *end)
{
    char path[128];
    snprintf(path, sizeof path, "%s/latest_producer_id_block", CHROOT);
    struct Stat st;
    const char *j = tb_zk_get(zh, path, &st);
    ck_assert_msg(j != NULL, "%s missing", path);
    int used = 0;
    int n =
        sscanf(j, "{\"version\":1,\"broker\":%d,\"block_start\":\"%lld\",\"block_end\":\"%lld\"}%n",
               broker, start, end, &used);
    ck_assert_msg(n == 3 && used == (int)strlen(j), "%s holds '%s'", path, j);
    return st.version;
}

/* One connection asking one broker for PER_RACER ids as fast as it answers (no ck_assert off
 * the test's thread: what went wrong is kept for it). COORDINATOR_NOT_AVAILABLE (a broker
 * that lost the race to the znode too often) is retried, at most RACE_RETRIES times. */
struct racer {
    int port;
    int n, rc, err, retries;
    int64_t pid[PER_RACER];
};

static void *race(void *arg)
{
    struct racer *r = arg;
    int fd = tb_connect(r->port);
    r->rc = fd < 0 ? fd : 0;
    while (fd >= 0 && r->n < PER_RACER) {
        int16_t err = -1, epoch = -1;
        int64_t pid = -1;
        r->rc = tb_init_producer_id(fd, 1, NULL, 60000, -1, -1, &err, &pid, &epoch);
        r->err = err;
        if (r->rc < 0)
            break;
        if (err == E_COORDINATOR_NOT_AVAILABLE && r->retries++ < RACE_RETRIES)
            continue;
        if (err != 0 || epoch != 0)
            break;
        r->pid[r->n++] = pid;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

START_TEST(ids_unique_across_brokers_restarts_and_zookeeper_outage)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_pid");
    memset(B, 0, sizeof B);
    nids = 0;
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    static const char *const more[] = {"-o", "test.producer.id.block.size=4", NULL};
    for (int i = 1; i <= NBROKERS; i++)
        start_broker(i, more);

    /* round robin: each broker takes a block, then another while the others take theirs */
    for (int r = 0; r < ROUNDS; r++) {
        for (int b = 1; b <= NBROKERS; b++) {
            int64_t pid = -1;
            int16_t epoch = -1;
            ck_assert_int_eq(init_pid(B[b].port, &pid, &epoch), 0);
            ck_assert_int_eq(epoch, 0);
            char who[32];
            snprintf(who, sizeof who, "broker %d round %d", b, r);
            take(pid, who);
        }
    }
    /* 3 blocks of 4 per broker (10 ids each: 4 + 4 + 2), taken in turn: 9 blocks over
     * 0..35, the last [32, 35] (broker 3's, two of its ids used); the znode at it */
    ck_assert_int_eq(max_id(), 8 * BLOCK + (ROUNDS - 2 * BLOCK) - 1);
    int broker = -1;
    long long start = -1, end = -1;
    int32_t ver = read_block(zh, &broker, &start, &end);
    ck_assert_int_eq(start, 8 * BLOCK);
    ck_assert_int_eq(end, 9 * BLOCK - 1);
    ck_assert_int_eq(broker, 3);
    ck_assert_int_eq(ver, 8); /* created, then set 8 times */
    for (int b = 1; b <= NBROKERS; b++)
        ck_assert_msg(tb_log_contains(&B[b], "reserved for this broker"), "%s", B[b].log);

    /* all three at once, from RACERS connections each: their conditional writes race
     * (BadVersion: read again); still no id twice, and each block a broker says it reserved
     * is one write of the znode */
    struct racer rc[NBROKERS * RACERS];
    pthread_t th[NBROKERS * RACERS];
    for (int i = 0; i < NBROKERS * RACERS; i++) {
        rc[i] = (struct racer){.port = B[1 + i % NBROKERS].port};
        ck_assert_int_eq(pthread_create(&th[i], NULL, race, &rc[i]), 0);
    }
    for (int i = 0; i < NBROKERS * RACERS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NBROKERS * RACERS; i++) {
        ck_assert_msg(rc[i].n == PER_RACER, "racer %d (port %d): %d id(s), then error %d / %d", i,
                      rc[i].port, rc[i].n, rc[i].err, rc[i].rc);
        for (int k = 0; k < rc[i].n; k++)
            take(rc[i].pid[k], "racing");
    }
    ver = read_block(zh, &broker, &start, &end);
    long blocks = 0;
    for (int b = 1; b <= NBROKERS; b++)
        blocks += tb_log_count(&B[b], "reserved for this broker");
    ck_assert_int_eq(blocks, ver + 1);
    ck_assert_int_ge(blocks, 9 + NBROKERS * RACERS * PER_RACER / BLOCK);
    ck_assert_int_le(max_id(), end);

    /* a clean restart and a kill -9: each takes a fresh block (its old one is skipped) */
    long long end0 = end;
    ck_assert_int_eq(tb_broker_stop(&B[2], SIGTERM), 0);
    start_broker(2, more);
    int64_t pid = -1, top = max_id();
    int16_t epoch = -1;
    ck_assert_int_eq(init_pid(B[2].port, &pid, &epoch), 0);
    ck_assert_int_gt(pid, top);
    take(pid, "broker 2 restarted");
    read_block(zh, &broker, &start, &end);
    ck_assert(broker == 2 && start == end0 + 1 && pid == start);
    ck_assert_int_ge(tb_broker_stop(&B[3], SIGKILL), 0);
    start_broker(3, more);
    top = max_id();
    ck_assert_int_eq(init_pid(B[3].port, &pid, &epoch), 0);
    ck_assert_int_gt(pid, top);
    take(pid, "broker 3 after kill -9");
    read_block(zh, &broker, &start, &end);
    ck_assert_int_eq(broker, 3);
    ck_assert_int_eq(start, pid);
    ck_assert_int_eq(end, pid + BLOCK - 1);

    /* ZooKeeper gone: broker 1 hands out what is left of its block, then refuses (retriable)
     * rather than guess */
    zookeeper_close(zh);
    kill(tb_clu_zk.pid, SIGKILL);
    waitpid(tb_clu_zk.pid, NULL, 0);
    int16_t err = 0;
    int ok = 0;
    for (int i = 0; i <= BLOCK && err == 0; i++) {
        err = init_pid(B[1].port, &pid, &epoch);
        if (err == 0) {
            take(pid, "broker 1 without ZooKeeper");
            ok++;
        }
    }
    ck_assert_int_eq(err, E_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_lt(ok, BLOCK);
    ck_assert_msg(tb_log_wait(&B[1], "answers COORDINATOR_NOT_AVAILABLE", 10000), "%s", B[1].log);
    /* ZooKeeper back (same data): ids again, never one handed out before */
    tb_clu_zk.pid = tb_zk_spawn(tb_clu_zk.port, tb_clu_zk.dir);
    ck_assert_int_gt(tb_clu_zk.pid, 0);
    int64_t until = tb_now_ms() + WAIT_MS;
    while ((err = init_pid(B[1].port, &pid, &epoch)) != 0) {
        ck_assert_int_eq(err, E_COORDINATOR_NOT_AVAILABLE);
        ck_assert_msg(tb_now_ms() < until, "no producer id after ZooKeeper came back");
        tb_sleep_ms(200);
    }
    top = max_id();
    ck_assert_int_gt(pid, top);
    take(pid, "broker 1 after ZooKeeper came back");

    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
}
END_TEST

/* The znode as Kafka leaves it: created empty (Kafka's brokers make it at start-up), then
 * holding Kafka's JSON with spaces and another broker's block; and unreadable. */
START_TEST(znode_as_kafka_writes_it_and_unreadable)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_pid");
    CHROOT = "/pid-z";
    memset(B, 0, sizeof B);
    nids = 0;
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    static const char *const more[] = {"-o", "test.producer.id.block.size=4", NULL};
    start_broker(1, more);
    const char *path = "/pid-z/latest_producer_id_block";
    ck_assert_int_eq(zoo_create(zh, path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    /* empty: no block yet, the first is 0..3 */
    int64_t pid = -1;
    int16_t epoch = -1;
    ck_assert_int_eq(init_pid(B[1].port, &pid, &epoch), 0);
    ck_assert_int_eq(pid, 0);
    int broker = -1;
    long long start = -1, end = -1;
    ck_assert_int_eq(read_block(zh, &broker, &start, &end), 1);
    ck_assert(broker == 1 && start == 0 && end == BLOCK - 1);
    /* Kafka's broker 1001 took 5000..5999 meanwhile: the next block is 6000.. */
    const char *k = "{\"version\":1, \"broker\":1001, \"block_start\":\"5000\", "
                    "\"block_end\":\"5999\"}";
    ck_assert_int_eq(zoo_set(zh, path, k, (int)strlen(k), -1), ZOK);
    for (int i = 1; i < BLOCK; i++) {
        ck_assert_int_eq(init_pid(B[1].port, &pid, &epoch), 0);
        ck_assert_int_eq(pid, i);
    }
    ck_assert_int_eq(init_pid(B[1].port, &pid, &epoch), 0);
    ck_assert_int_eq(pid, 6000);
    /* unreadable: once the block is used up, COORDINATOR_NOT_AVAILABLE and a log line, never
     * a guess; readable again: on from it */
    ck_assert_int_eq(zoo_set(zh, path, "{\"block_end\":7}", 15, -1), ZOK);
    for (int i = 1; i < BLOCK; i++)
        ck_assert_int_eq(init_pid(B[1].port, &pid, &epoch), 0);
    ck_assert_int_eq(init_pid(B[1].port, &pid, &epoch), E_COORDINATOR_NOT_AVAILABLE);
    ck_assert_msg(tb_log_wait(&B[1], "holds no producer-id block this broker can read", 5000), "%s",
                  B[1].log);
    ck_assert_msg(tb_log_wait(&B[1], "answers COORDINATOR_NOT_AVAILABLE", 5000), "%s", B[1].log);
    k = "{\"version\":1,\"broker\":2,\"block_start\":\"7000\",\"block_end\":\"7009\"}";
    ck_assert_int_eq(zoo_set(zh, path, k, (int)strlen(k), -1), ZOK);
    ck_assert_int_eq(init_pid(B[1].port, &pid, &epoch), 0);
    ck_assert_int_eq(pid, 7010);
    ck_assert_int_eq(tb_broker_stop(&B[1], SIGTERM), 0);
    zookeeper_close(zh);
}
END_TEST

/* ---- end to end --------------------------------------------------------------------------- */

/* b's Metadata for topic: partition 0's leader (-1 none); the broker count. */
static int leader_of(struct tb_broker *b, const char *topic, int32_t *lead)
{
    const struct tb_metadata *m = tb_clu_metadata(b->port, topic);
    *lead = m->n_topics == 1 && m->topic[0].n_parts >= 1 && m->topic[0].part[0].error == 0
                ? m->topic[0].part[0].leader
                : -1;
    return m->n_brokers;
}

/* Starts the three brokers, creates topic (1 partition, RF 3) through broker 1 and waits until
 * every broker sees it led; returns the leader. */
static int32_t cluster_with_topic(const char *topic)
{
    memset(B, 0, sizeof B);
    for (int i = 1; i <= NBROKERS; i++)
        start_broker(i, NULL);
    int32_t lead = -1;
    int64_t until = tb_now_ms() + WAIT_MS;
    while (leader_of(&B[1], topic, &lead) != NBROKERS) {
        ck_assert_msg(tb_now_ms() < until, "the three brokers never saw each other");
        tb_sleep_ms(100);
    }
    tb_clu_create_topic(B[1].port, topic, 1, 3);
    for (int i = 1; i <= NBROKERS; i++) {
        until = tb_now_ms() + WAIT_MS;
        while (leader_of(&B[i], topic, &lead) != NBROKERS || lead < 1) {
            ck_assert_msg(tb_now_ms() < until, "broker %d: %s has no leader", i, topic);
            tb_sleep_ms(100);
        }
    }
    return lead;
}

#define MAX_VALS 512
struct tally {
    char val[MAX_VALS][24];
    int count[MAX_VALS];
    int n;
    long records;
};

static int count_rec(void *ctx, const struct tb_rec_view *r)
{
    struct tally *t = ctx;
    t->records++;
    char v[24];
    int len = r->value.len > 0 && r->value.len < (int)sizeof v ? r->value.len : 0;
    memcpy(v, r->value.ptr, (size_t)len);
    v[len] = 0;
    for (int i = 0; i < t->n; i++) {
        if (strcmp(t->val[i], v) == 0) {
            t->count[i]++;
            return 0;
        }
    }
    if (t->n < MAX_VALS) {
        snprintf(t->val[t->n], sizeof t->val[0], "%s", v);
        t->count[t->n++] = 1;
    }
    return 0;
}

/* Every record of topic-0 on the broker on port, tallied by value (read_uncommitted, from 0
 * to the high watermark). */
static void read_all(int port, const char *topic, struct tally *t)
{
    memset(t, 0, sizeof *t);
    int fd = tb_connect(port);
    ck_assert_int_ge(fd, 0);
    int64_t off = 0;
    for (int round = 0; round < 1000; round++) {
        struct tb_frame f;
        struct tb_txn_fetch out;
        ck_assert_int_eq(tb_txn_fetch(fd, 11, 0, 0, 0, topic, 0, off, &f, &out), 0);
        ck_assert_int_eq(out.error, 0);
        long got = tb_records_walk(out.records, (size_t)out.records_len, count_rec, t, NULL);
        ck_assert_int_ge(got, 0);
        tb_frame_free(&f);
        if (got == 0 || t->records >= out.high_watermark)
            break;
        off = t->records; /* (no compaction: offsets are 0..n-1) */
    }
    close(fd);
}

/* How many times value v is in t. */
static int times(const struct tally *t, const char *v)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->val[i], v) == 0)
            return t->count[i];
    return 0;
}

START_TEST(idempotent_producers_of_two_brokers_raw)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_pid");
    CHROOT = "/pid-raw";
    const char *topic = "pid-raw";
    int32_t lead = cluster_with_topic(topic);
    /* one producer's id from broker 1, the other's from broker 2 */
    int64_t pid[2];
    int16_t epoch[2];
    for (int k = 0; k < 2; k++)
        ck_assert_int_eq(init_pid(B[1 + k].port, &pid[k], &epoch[k]), 0);
    fprintf(stderr, "test_cluster_pid: producer ids %lld (broker 1) and %lld (broker 2)\n",
            (long long)pid[0], (long long)pid[1]);
    /* alternately, batches of 5 with the same sequence numbers, to the leader */
    int fd = tb_connect(B[lead].port);
    ck_assert_int_ge(fd, 0);
    for (int seq = 0; seq < 20; seq += 5) {
        for (int k = 0; k < 2; k++) {
            uint8_t batch[4096];
            long bl = tb_producer_batch(batch, sizeof batch, k ? "b" : "a", seq, 5, pid[k],
                                        epoch[k], seq, false);
            ck_assert_int_gt(bl, 0);
            struct tb_produce_resp out;
            ck_assert_int_eq(tb_txn_produce(fd, 7, NULL, topic, 0, batch, (size_t)bl, &out), 0);
            ck_assert_msg(out.error == 0, "producer %c seq %d: error %d", k ? 'b' : 'a', seq,
                          out.error);
        }
    }
    close(fd);
    /* every acknowledged record there, once */
    struct tally t;
    read_all(B[lead].port, topic, &t);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 20; i++) {
            char v[24];
            snprintf(v, sizeof v, "%s-%d", k ? "b" : "a", i);
            ck_assert_msg(times(&t, v) == 1,
                          "record %s acknowledged, found %d time(s) (%ld "
                          "records in all; producer ids %lld and %lld)",
                          v, times(&t, v), t.records, (long long)pid[0], (long long)pid[1]);
        }
    }
    ck_assert_int_eq(t.records, 40);
    ck_assert(pid[0] != pid[1]);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
}
END_TEST

/* ---- librdkafka --------------------------------------------------------------------------- */

struct dr_state {
    int ok, failed;
    rd_kafka_resp_err_t last_err;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    struct dr_state *s = m->_private;
    if (m->err) {
        s->failed++;
        s->last_err = m->err;
    } else {
        s->ok++;
    }
}

static rd_kafka_t *producer(int port, struct dr_state *s)
{
    char err[512], bs[64];
    snprintf(bs, sizeof bs, "127.0.0.1:%d", port);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", bs},
                           {"enable.idempotence", "true"},
                           {"acks", "all"},
                           {"linger.ms", "5"},
                           {"message.timeout.ms", "60000"},
                           {"enable.sparse.connections", "true"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        ck_assert_msg(rd_kafka_conf_set(c, kv[i][0], kv[i][1], err, sizeof err) == RD_KAFKA_CONF_OK,
                      "%s: %s", kv[i][0], err);
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    (void)s;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    ck_assert_msg(rk != NULL, "rd_kafka_new: %s", err);
    return rk;
}

START_TEST(idempotent_librdkafka_producers_of_two_brokers)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_pid");
    CHROOT = "/pid-rdk";
    const char *topic = "pid-rdk";
    int32_t lead = cluster_with_topic(topic);
    /* each bootstrapped to one broker only (neither to the leader when it can be helped): it
     * asks that broker for its producer id, the only one it is connected to at first */
    int via[2] = {lead % NBROKERS + 1, (lead + 1) % NBROKERS + 1};
    struct dr_state st[2] = {{0}};
    rd_kafka_t *rk[2];
    for (int k = 0; k < 2; k++)
        rk[k] = producer(B[via[k]].port, &st[k]);
    /* alternately, rounds of 25 messages, each round flushed: the same sequence numbers */
    enum { PER_ROUND = 25, NROUNDS = 4 };
    for (int r = 0; r < NROUNDS; r++) {
        for (int k = 0; k < 2; k++) {
            for (int i = 0; i < PER_ROUND; i++) {
                char v[24];
                int vl = snprintf(v, sizeof v, "%s-%d", k ? "b" : "a", r * PER_ROUND + i);
                rd_kafka_resp_err_t e = rd_kafka_producev(
                    rk[k], RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                    RD_KAFKA_V_VALUE(v, (size_t)vl), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_OPAQUE(&st[k]), RD_KAFKA_V_END);
                ck_assert_msg(e == 0, "produce: %s", rd_kafka_err2str(e));
            }
            ck_assert_int_eq(rd_kafka_flush(rk[k], 60000), 0);
        }
    }
    for (int k = 0; k < 2; k++) {
        ck_assert_msg(st[k].failed == 0 && st[k].ok == NROUNDS * PER_ROUND,
                      "producer %c (via broker %d): %d delivered, %d failed (%s)", k ? 'b' : 'a',
                      via[k], st[k].ok, st[k].failed, rd_kafka_err2str(st[k].last_err));
        rd_kafka_destroy(rk[k]);
    }
    struct tally t;
    read_all(B[lead].port, topic, &t);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < NROUNDS * PER_ROUND; i++) {
            char v[24];
            snprintf(v, sizeof v, "%s-%d", k ? "b" : "a", i);
            ck_assert_msg(times(&t, v) == 1,
                          "message %s delivered, found %d time(s) (%ld records in all)", v,
                          times(&t, v), t.records);
        }
    }
    ck_assert_int_eq(t.records, 2 * NROUNDS * PER_ROUND);
    /* the two ids came from two brokers: each took a block for it (and only those two) */
    int took = 0;
    for (int i = 1; i <= NBROKERS; i++)
        took |= tb_log_contains(&B[i], "reserved for this broker") << i;
    ck_assert_msg(took == (1 << via[0] | 1 << via[1]),
                  "the producers' ids came from brokers %#x, not from %d and %d", took, via[0],
                  via[1]);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_pid");
    TCase *tc = tb_clu_tcase("producer_ids", teardown, 300);
    tcase_add_test(tc, idempotent_producers_of_two_brokers_raw);
    tcase_add_test(tc, idempotent_librdkafka_producers_of_two_brokers);
    tcase_add_test(tc, znode_as_kafka_writes_it_and_unreadable);
    /* last: it restarts ZooKeeper, whose new process ends with the test's */
    tcase_add_test(tc, ids_unique_across_brokers_restarts_and_zookeeper_outage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
