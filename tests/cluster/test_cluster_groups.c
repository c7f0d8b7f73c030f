/*
 * test_cluster_groups — consumer groups in a cluster (issue 18 M4, docs/cluster.md "Consumer
 * groups (M4)"): a real Apache ZooKeeper and three splicelogd processes on loopback.
 * - The first FindCoordinator creates __consumer_offsets (RF 3, offsets.topic.num.partitions =
 *   NOFS) through ZooKeeper; then every broker names the same coordinator, the leader of the
 *   group's partition (Java's String.hashCode of the group id, as Kafka), in v2 and in a v4
 *   batch.
 * - A broker that is not the coordinator answers NOT_COORDINATOR to OffsetCommit, OffsetFetch,
 *   Heartbeat and JoinGroup, and ListGroups lists the group on the coordinator only.
 * - With fewer live brokers than offsets.topic.replication.factor the topic is not created:
 *   COORDINATOR_NOT_AVAILABLE.
 * - An OffsetCommit waits for every in-sync replica: followers paused, it times out
 *   COORDINATOR_NOT_AVAILABLE.
 * - A librdkafka consumer of the group reads part of an RF-3 topic and commits synchronously
 *   (every commit it was told succeeded is "acknowledged"); kill -9 of the coordinator: once
 *   its session expired FindCoordinator names another broker from both that are left, whose
 *   OffsetFetch returns every acknowledged commit, and a new consumer of the same group resumes
 *   exactly at the committed offsets (nothing read again, nothing skipped) to the end.
 * - Membership survives the same kill: a member of a second group on the same partition of
 *   __consumer_offsets (joined and synced through raw requests, session 30 s) heartbeats the
 *   new coordinator with its member id and generation and is answered 0 (not
 *   UNKNOWN_MEMBER_ID: no rebalance), and commits with them.
 * Every wait is bounded; skipped, saying so, without java or Debian's zookeeper package.
 */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_msg.h"
#include "kp_msg_groups_admin.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_clu.h"
#include "tb_group.h"
#include "tb_kafka.h"
#include "tb_offsets.h"
#include "tb_sasl.h"
#include "tb_zk.h"

#define SESSION_MS 3000
#define WAIT_MS    60000
#define NBROKERS   3
#define NPARTS     3   /* of TOPIC */
#define NREC       100 /* records per partition */
#define NOFS       6   /* __consumer_offsets partitions */
#define TOPIC      "grp"
#define GROUP      "m4-group"
#define OFFSETS    "__consumer_offsets"

enum {
    ERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    ERR_COORDINATOR_NOT_AVAILABLE = 15,
    ERR_NOT_COORDINATOR = 16
};

static struct tb_broker B[NBROKERS + 1];

static void teardown(void)
{
    for (int i = 0; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

static const char *chroot_ = "/groups"; /* each test its own */
static int session_ms = SESSION_MS;
static const char *commit_timeout = "offsets.commit.timeout.ms=5000";

static int start_broker(int id)
{
    char nofs[64];
    snprintf(nofs, sizeof nofs, "offsets.topic.num.partitions=%d", NOFS);
    const char *const more[] = {"-o", nofs,
                                "-o", "group.initial.rebalance.delay.ms=0",
                                "-o", "replica.fetch.backoff.ms=200",
                                "-o", commit_timeout,
                                NULL};
    return tb_zk_broker_start(&B[id], &tb_clu_zk, chroot_, id, session_ms, NULL, more);
}

/* Kafka's partition of a group: abs(String.hashCode) % n (ASCII ids here). */
static int partition_of(const char *group, int n)
{
    uint32_t h = 0;
    for (const char *p = group; *p; p++)
        h = h * 31u + (uint8_t)*p;
    int32_t s = (int32_t)h;
    int32_t a = s == INT32_MIN ? 0 : s < 0 ? -s : s;
    return a % n;
}

/* b's Metadata for topic: the leader of partition p (-1: none or no such topic); the broker
 * count into *nb (may be NULL). */
static int32_t leader_of(struct tb_broker *b, const char *topic, int p, int *nb)
{
    const struct tb_metadata *m = tb_clu_metadata(b->port, topic);
    if (nb)
        *nb = m->n_brokers;
    return m->n_topics == 1 && m->topic[0].error == 0 && p < m->topic[0].n_parts
               ? m->topic[0].part[p].leader
               : -1;
}

/* FindCoordinator v2 of GROUP on b: the error, the node into *node. */
static int16_t find_coordinator(struct tb_broker *b, int32_t *node)
{
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct tb_find_coordinator fc;
    ck_assert_int_eq(tb_find_coordinator(fd, 2, 5, GROUP, 0, &fc), 0);
    close(fd);
    *node = fc.node_id;
    /* a live broker is named at its endpoint, as Metadata names it (a dead one, still in the
     * view until its session expires, is retried by the caller) */
    if (fc.error == 0 && fc.node_id >= 1 && fc.node_id <= NBROKERS && B[fc.node_id].pid > 0)
        ck_assert_msg(fc.port == B[fc.node_id].port, "FindCoordinator on %d: node %d at port %d",
                      b->port, (int)fc.node_id, (int)fc.port);
    return fc.error;
}

/* Waits until every broker in ids answers FindCoordinator with the same node (other than not);
 * returns it. */
static int32_t wait_coordinator(const int *ids, int n, int32_t not )
{
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        int32_t first = -1;
        bool ok = true;
        for (int i = 0; i < n && ok; i++) {
            int32_t node = -1;
            int16_t err = find_coordinator(&B[ids[i]], &node);
            ok = err == 0 && node != not &&(i == 0 || node == first);
            if (!ok && err != 0)
                ck_assert_msg(err == ERR_COORDINATOR_NOT_AVAILABLE, "FindCoordinator: %d", err);
            if (i == 0)
                first = node;
        }
        if (ok)
            return first;
        ck_assert_msg(tb_now_ms() < until, "no coordinator every broker agrees on");
        tb_sleep_ms(200);
    }
}

/* FindCoordinator v4 (a batch of two groups) on b: both answered with the coordinator of each. */
static void find_coordinator_v4(struct tb_broker *b, int32_t want)
{
    const char *const keys[2] = {GROUP, GROUP};
    const int32_t node[2] = {want, want};
    const int port[2] = {B[want].port, B[want].port};
    tb_clu_find_coordinators_v4(b->port, 0, keys, node, port);
}

static void produce_all(void)
{
    for (int p = 0; p < NPARTS; p++) {
        int32_t l = leader_of(&B[1], TOPIC, p, NULL);
        ck_assert_int_ge(l, 1);
        char prefix[16];
        snprintf(prefix, sizeof prefix, "p%d", p);
        int fd = tb_connect(B[l].port);
        ck_assert_int_ge(fd, 0);
        for (int i = 0; i < NREC; i += 10) {
            uint8_t batch[4096];
            long bl = tb_batch_values(batch, sizeof batch, prefix, i, 10, 0, false, 0);
            ck_assert_int_gt(bl, 0);
            struct tb_produce_resp out;
            ck_assert_int_eq(tb_produce(fd, TOPIC, p, batch, (size_t)bl, &out), 0);
            ck_assert_int_eq(out.error, 0);
        }
        close(fd);
    }
}

static rd_kafka_t *consumer_new(const int *ids, int n)
{
    char bs[256] = "", err[512];
    size_t l = 0;
    for (int i = 0; i < n; i++)
        l +=
            (size_t)snprintf(bs + l, sizeof bs - l, "%s127.0.0.1:%d", i ? "," : "", B[ids[i]].port);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    const char *kv[][2] = {
        {"bootstrap.servers", bs},
        {"group.id", GROUP},
        {"enable.auto.commit", "false"},
        {"auto.offset.reset", "earliest"},
        {"enable.partition.eof", "true"},
        {"session.timeout.ms", "6000"},
        {"heartbeat.interval.ms", "500"},
        {"fetch.wait.max.ms", "100"},
        {"topic.metadata.refresh.interval.ms", "1000"},
        {"reconnect.backoff.max.ms", "500"},
        {"max.poll.interval.ms", "60000"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        ck_assert_msg(rd_kafka_conf_set(c, kv[i][0], kv[i][1], err, sizeof err) == RD_KAFKA_CONF_OK,
                      "%s: %s", kv[i][0], err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    ck_assert_msg(rk != NULL, "rd_kafka_new: %s", err);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, TOPIC, RD_KAFKA_PARTITION_UA);
    ck_assert_int_eq(rd_kafka_subscribe(rk, t), 0);
    rd_kafka_topic_partition_list_destroy(t);
    return rk;
}

/* Reads records of the group's consumer rk until it has read want of them (next[p]: the offset
 * after the last one read of p; first[p]: the first read, -1 none); each record's value must
 * name its offset, and offsets go up by one (nothing skipped, nothing again). */
static void consume(rd_kafka_t *rk, int want, int64_t *next, int64_t *first)
{
    int got = 0;
    int64_t until = tb_now_ms() + WAIT_MS;
    while (got < want) {
        ck_assert_msg(tb_now_ms() < until, "consumed %d of %d record(s)", got, want);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err) {
            ck_assert_msg(m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ||
                              m->err == RD_KAFKA_RESP_ERR__TRANSPORT ||
                              m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
                          "consume: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        int p = m->partition;
        ck_assert(p >= 0 && p < NPARTS);
        char want_v[32];
        int wl = snprintf(want_v, sizeof want_v, "p%d-%" PRId64, p, m->offset);
        ck_assert_msg(m->len == (size_t)wl && memcmp(m->payload, want_v, (size_t)wl) == 0,
                      "%s-%d@%" PRId64 ": not the record written there", TOPIC, p, m->offset);
        if (first[p] < 0)
            first[p] = m->offset;
        else
            ck_assert_msg(m->offset == next[p], "%s-%d: offset %" PRId64 " after %" PRId64, TOPIC,
                          p, m->offset, next[p] - 1);
        next[p] = m->offset + 1;
        got++;
        rd_kafka_message_destroy(m);
    }
}

/* Commits next[] synchronously: true when the coordinator acknowledged it. */
static bool commit(rd_kafka_t *rk, const int64_t *next)
{
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(NPARTS);
    for (int p = 0; p < NPARTS; p++)
        if (next[p] >= 0)
            rd_kafka_topic_partition_list_add(t, TOPIC, p)->offset = next[p];
    rd_kafka_resp_err_t e = rd_kafka_commit(rk, t, 0);
    bool ok = e == 0;
    for (int i = 0; ok && i < t->cnt; i++)
        ok = t->elems[i].err == 0;
    rd_kafka_topic_partition_list_destroy(t);
    if (!ok)
        fprintf(stderr, "test_cluster_groups: commit: %s\n", rd_kafka_err2str(e));
    return ok;
}

/* OffsetFetch v2 of GROUP's TOPIC partitions on b (retried while the coordinator loads). */
static void offset_fetch(struct tb_broker *b, int16_t *err, int64_t *out)
{
    struct tb_ofs_part parts[NPARTS];
    for (int p = 0; p < NPARTS; p++)
        parts[p] = (struct tb_ofs_part){.topic = TOPIC, .partition = p};
    static struct tb_ofs_resp r;
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_offset_fetch(fd, 2, GROUP, parts, NPARTS, &r), 0);
    close(fd);
    *err = r.error;
    for (int p = 0; p < NPARTS; p++) {
        const struct tb_ofs_result *x = tb_ofs_find(&r, TOPIC, p);
        out[p] = x ? x->offset : -2;
    }
}

/* Waits until every thread of process pid is stopped (state T in /proc). */
static void wait_stopped(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        bool all = true;
        DIR *d = opendir(path);
        ck_assert_ptr_nonnull(d);
        for (struct dirent *e; all && (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            char sp[400], buf[512];
            snprintf(sp, sizeof sp, "%s/%s/stat", path, e->d_name);
            FILE *f = fopen(sp, "r");
            size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
            if (f)
                fclose(f);
            buf[n] = 0;
            const char *rp = strrchr(buf, ')'); /* "pid (comm) S ..." */
            all = !rp || (rp[1] == ' ' && (rp[2] == 'T' || rp[2] == 't'));
        }
        closedir(d);
        if (all)
            return;
        ck_assert_msg(tb_now_ms() < until, "process %d does not stop", (int)pid);
        tb_sleep_ms(5);
    }
}

/* Whether ListGroups (v2) on b lists GROUP. */
static bool lists_group(struct tb_broker *b)
{
    struct kp_list_groups_req req = {0};
    struct kp_list_groups_resp resp;
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        int fd = tb_connect(b->port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(tb_kcall(fd, KP_API_LIST_GROUPS, 2, TB_ENC(kp_list_groups_req_encode),
                                  &req, TB_DEC(kp_list_groups_resp_decode), &resp),
                         0);
        close(fd);
        if (resp.error_code != ERR_COORDINATOR_LOAD_IN_PROGRESS)
            break;
        ck_assert_msg(tb_now_ms() < until, "ListGroups: still loading");
        tb_sleep_ms(100);
    }
    ck_assert_int_eq(resp.error_code, 0);
    for (int32_t i = 0; i < resp.n_groups; i++)
        if (resp.groups[i].group_id.len == (int32_t)strlen(GROUP) &&
            memcmp(resp.groups[i].group_id.ptr, GROUP, strlen(GROUP)) == 0)
            return true;
    return false;
}

/* A group id other than GROUP on GROUP's partition of __consumer_offsets (so one coordinator). */
static void same_partition_group(char *out, size_t cap)
{
    for (int i = 0; i < 1000; i++) {
        snprintf(out, cap, "m4-members-%d", i);
        if (partition_of(out, NOFS) == partition_of(GROUP, NOFS))
            return;
    }
    ck_abort_msg("no group id shares %s's partition", GROUP);
}

/* One member of group joins and syncs at broker b (session 30 s): its member id into member,
 * the generation returned. */
static int32_t member_join(struct tb_broker *b, const char *group, char *member, size_t cap)
{
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct tb_proto proto = {"range", "subscription-bytes"};
    static struct tb_join j;
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        ck_assert_int_eq(tb_join_group(fd, 1, 20, group, 30000, 30000, "", 1, &proto, &j), 0);
        if (j.error != ERR_COORDINATOR_LOAD_IN_PROGRESS)
            break;
        ck_assert_msg(tb_now_ms() < until, "JoinGroup: still loading");
        tb_sleep_ms(100);
    }
    ck_assert_int_eq(j.error, 0);
    ck_assert_str_eq(j.leader, j.member_id);
    snprintf(member, cap, "%s", j.member_id);
    struct tb_assign as = {member, "assignment-bytes"};
    struct tb_sync sy;
    ck_assert_int_eq(tb_sync_group(fd, 1, 21, group, j.generation, member, 1, &as, &sy), 0);
    ck_assert_int_eq(sy.error, 0);
    ck_assert_int_eq(sy.len, (int32_t)strlen("assignment-bytes"));
    ck_assert(memcmp(sy.assignment, "assignment-bytes", (size_t)sy.len) == 0);
    close(fd);
    return j.generation;
}

/* The group APIs on a broker that does not coordinate GROUP: NOT_COORDINATOR. */
static void not_coordinator(struct tb_broker *b)
{
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct tb_ofs_part part = {.topic = TOPIC, .partition = 0, .offset = 1, .metadata = ""};
    static struct tb_ofs_resp r;
    ck_assert_int_eq(tb_offset_commit(fd, 2, GROUP, -1, "", &part, 1, &r), 0);
    ck_assert_int_eq(r.n, 1);
    ck_assert_int_eq(r.p[0].error, ERR_NOT_COORDINATOR);
    ck_assert_int_eq(tb_offset_fetch(fd, 2, GROUP, &part, 1, &r), 0);
    ck_assert_int_eq(r.error, ERR_NOT_COORDINATOR);
    int16_t e = -1;
    ck_assert_int_eq(tb_heartbeat(fd, 1, 9, GROUP, 1, "m", &e), 0);
    ck_assert_int_eq(e, ERR_NOT_COORDINATOR);
    struct tb_proto proto = {"range", ""};
    static struct tb_join j;
    ck_assert_int_eq(tb_join_group(fd, 1, 10, GROUP, 6000, 6000, "", 1, &proto, &j), 0);
    ck_assert_int_eq(j.error, ERR_NOT_COORDINATOR);
    close(fd);
}

START_TEST(offsets_survive_the_coordinator)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_groups");
    memset(B, 0, sizeof B);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(start_broker(i), 0);
    int nb = 0;
    int64_t until = tb_now_ms() + WAIT_MS;
    while ((void)leader_of(&B[1], TOPIC, 0, &nb), nb != NBROKERS) {
        ck_assert_msg(tb_now_ms() < until, "the three brokers never saw each other");
        tb_sleep_ms(100);
    }
    /* an RF-3 topic, its records */
    tb_clu_create_topic(B[1].port, TOPIC, NPARTS, 3);
    for (int i = 1; i <= NBROKERS; i++)
        for (int p = 0; p < NPARTS; p++) {
            until = tb_now_ms() + WAIT_MS;
            while (leader_of(&B[i], TOPIC, p, NULL) < 1) {
                ck_assert_msg(tb_now_ms() < until, "%s-%d never led", TOPIC, p);
                tb_sleep_ms(100);
            }
        }
    produce_all();

    /* FindCoordinator creates __consumer_offsets; every broker names its partition's leader */
    const int all[] = {1, 2, 3};
    int32_t coord = wait_coordinator(all, NBROKERS, -1);
    int gp = partition_of(GROUP, NOFS);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(leader_of(&B[i], OFFSETS, gp, NULL), coord);
    for (int i = 1; i <= NBROKERS; i++)
        find_coordinator_v4(&B[i], coord);
    ck_assert_msg(tb_log_contains(&B[1], "created " OFFSETS) ||
                      tb_log_contains(&B[2], "created " OFFSETS) ||
                      tb_log_contains(&B[3], "created " OFFSETS),
                  "nobody created %s", OFFSETS);
    /* the others: NOT_COORDINATOR */
    for (int i = 1; i <= NBROKERS; i++)
        if (i != coord)
            not_coordinator(&B[i]);

    /* a member of a second group on the same partition: Stable at its first generation (its
     * GroupMetadata record goes before the commits below, which wait for the ISR) */
    char group2[64], member2[TB_GRP_ID];
    same_partition_group(group2, sizeof group2);
    int32_t gen2 = member_join(&B[coord], group2, member2, sizeof member2);

    /* a librdkafka consumer of the group: two synchronous commits */
    int64_t next[NPARTS], first[NPARTS], acked[NPARTS];
    for (int p = 0; p < NPARTS; p++)
        next[p] = first[p] = acked[p] = -1;
    rd_kafka_t *rk = consumer_new(all, NBROKERS);
    consume(rk, NPARTS * NREC / 3, next, first);
    ck_assert(commit(rk, next));
    memcpy(acked, next, sizeof acked);
    consume(rk, NPARTS * NREC / 3, next, first);
    ck_assert(commit(rk, next));
    memcpy(acked, next, sizeof acked);
    rd_kafka_destroy(rk); /* as if it crashed: no LeaveGroup, no more commits */
    /* ListGroups: only the coordinator lists it */
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_msg(lists_group(&B[i]) == (i == coord), "ListGroups on broker %d", i);
    int64_t done = 0;
    for (int p = 0; p < NPARTS; p++)
        done += acked[p] > 0 ? acked[p] : 0;
    ck_assert_int_eq(done, 2 * NPARTS * NREC / 3);
    int64_t fetched[NPARTS];
    int16_t err = -1;
    offset_fetch(&B[coord], &err, fetched);
    ck_assert_int_eq(err, 0);
    for (int p = 0; p < NPARTS; p++)
        ck_assert_int_eq(fetched[p], acked[p] > 0 ? acked[p] : -1);

    /* kill -9 the coordinator: another broker coordinates once its session expired */
    ck_assert_int_ge(tb_broker_stop(&B[coord], SIGKILL), 0);
    int alive[2], na = 0;
    for (int i = 1; i <= NBROKERS; i++)
        if (i != coord)
            alive[na++] = i;
    int32_t coord2 = wait_coordinator(alive, 2, coord);
    ck_assert_int_ne(coord2, coord);
    /* every acknowledged commit is there */
    until = tb_now_ms() + WAIT_MS;
    for (;;) {
        offset_fetch(&B[coord2], &err, fetched);
        if (err == 0)
            break;
        /* (its group coordinator hears of its leadership before the view naming it is
         * published: never NOT_COORDINATOR here) */
        ck_assert_msg(err == ERR_COORDINATOR_LOAD_IN_PROGRESS, "OffsetFetch: %d", err);
        ck_assert_msg(tb_now_ms() < until, "the new coordinator never loaded");
        tb_sleep_ms(100);
    }
    for (int p = 0; p < NPARTS; p++)
        ck_assert_msg(fetched[p] == (acked[p] > 0 ? acked[p] : -1),
                      "%s-%d: committed %" PRId64 " acknowledged, %" PRId64 " after failover",
                      TOPIC, p, acked[p], fetched[p]);
    ck_assert(tb_log_contains(&B[coord2], "group coordinator: " OFFSETS));
    /* the second group's member goes on at the new coordinator: same member id, same
     * generation (restored from __consumer_offsets), no rebalance */
    int fd = tb_connect(B[coord2].port);
    ck_assert_int_ge(fd, 0);
    int16_t herr = -1;
    ck_assert_int_eq(tb_heartbeat(fd, 1, 30, group2, gen2, member2, &herr), 0);
    ck_assert_msg(herr == 0, "Heartbeat of %s's member %s at generation %d: error %d", group2,
                  member2, (int)gen2, (int)herr);
    struct tb_ofs_part part2 = {.topic = TOPIC, .partition = 0, .offset = 7, .metadata = ""};
    static struct tb_ofs_resp r2;
    ck_assert_int_eq(tb_offset_commit(fd, 2, group2, gen2, member2, &part2, 1, &r2), 0);
    ck_assert_int_eq(r2.n, 1);
    ck_assert_int_eq(r2.p[0].error, 0);
    close(fd);
    ck_assert(tb_log_contains(&B[coord2], "restored at generation"));

    /* a new consumer of the group resumes there: the rest, exactly once */
    int64_t first2[NPARTS], next2[NPARTS];
    for (int p = 0; p < NPARTS; p++)
        first2[p] = next2[p] = -1;
    rk = consumer_new(alive, 2);
    consume(rk, NPARTS * NREC - (int)done, next2, first2);
    for (int p = 0; p < NPARTS; p++) {
        int64_t from = acked[p] > 0 ? acked[p] : 0;
        ck_assert_msg(from == NREC || first2[p] == from,
                      "%s-%d: resumed at %" PRId64 ", committed %" PRId64, TOPIC, p, first2[p],
                      from);
        ck_assert_msg(from == NREC || next2[p] == NREC, "%s-%d: read up to %" PRId64, TOPIC, p,
                      next2[p]);
    }
    /* and it commits through the new coordinator */
    ck_assert(commit(rk, next2));
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);

    for (int i = 1; i <= NBROKERS; i++)
        if (i != coord)
            ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
}
END_TEST

/* An OffsetCommit is acknowledged only once every in-sync replica has its record: with both
 * followers of the group's partition paused (their sessions outlast the test's wait, so they
 * stay in the ISR), it times out COORDINATOR_NOT_AVAILABLE (Kafka's mapping of
 * REQUEST_TIMED_OUT); resumed, the next commit is acknowledged and the fetch shows it. */
START_TEST(commit_waits_for_the_isr)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_groups");
    memset(B, 0, sizeof B);
    chroot_ = "/groups-isr";
    session_ms = 10000;
    commit_timeout = "offsets.commit.timeout.ms=1500";
    /* two brokers, fewer than offsets.topic.replication.factor (3): no __consumer_offsets,
     * COORDINATOR_NOT_AVAILABLE (Kafka's answer) */
    for (int i = 1; i <= 2; i++)
        ck_assert_int_eq(start_broker(i), 0);
    int nb = 0;
    int64_t until = tb_now_ms() + WAIT_MS;
    while ((void)leader_of(&B[1], TOPIC, 0, &nb), nb != 2) {
        ck_assert_msg(tb_now_ms() < until, "the two brokers never saw each other");
        tb_sleep_ms(100);
    }
    for (int k = 0; k < 3; k++) {
        int32_t node = -1;
        ck_assert_int_eq(find_coordinator(&B[1 + k % 2], &node), ERR_COORDINATOR_NOT_AVAILABLE);
    }
    ck_assert_int_lt(leader_of(&B[1], OFFSETS, 0, NULL), 0);
    /* the third: created at the next FindCoordinator */
    ck_assert_int_eq(start_broker(3), 0);
    until = tb_now_ms() + WAIT_MS;
    while ((void)leader_of(&B[1], TOPIC, 0, &nb), nb != NBROKERS) {
        ck_assert_msg(tb_now_ms() < until, "the three brokers never saw each other");
        tb_sleep_ms(100);
    }
    int fd = tb_connect(B[1].port);
    ck_assert_int_ge(fd, 0);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(fd, TOPIC, 1, &err), 0);
    close(fd);
    const int all[] = {1, 2, 3};
    int32_t coord = wait_coordinator(all, NBROKERS, -1);
    struct tb_ofs_part part = {.topic = TOPIC, .partition = 0, .offset = 11, .metadata = "m"};
    static struct tb_ofs_resp r;
    /* every replica in: acknowledged */
    fd = tb_connect(B[coord].port);
    ck_assert_int_ge(fd, 0);
    until = tb_now_ms() + WAIT_MS;
    for (;;) {
        ck_assert_int_eq(tb_offset_commit(fd, 2, GROUP, -1, "", &part, 1, &r), 0);
        if (r.p[0].error == 0)
            break;
        ck_assert_msg(r.p[0].error == ERR_COORDINATOR_LOAD_IN_PROGRESS, "commit: %d", r.p[0].error);
        ck_assert_msg(tb_now_ms() < until, "never loaded");
        tb_sleep_ms(100);
    }
    /* the followers paused (every thread stopped: kill returns before they are): not
     * acknowledged */
    for (int i = 1; i <= NBROKERS; i++)
        if (i != coord) {
            ck_assert_int_eq(kill(B[i].pid, SIGSTOP), 0);
            wait_stopped(B[i].pid);
        }
    part.offset = 22;
    int64_t t0 = tb_now_ms();
    ck_assert_int_eq(tb_offset_commit(fd, 2, GROUP, -1, "", &part, 1, &r), 0);
    int64_t waited = tb_now_ms() - t0;
    ck_assert_int_eq(r.p[0].error, ERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_msg(waited >= 1400 && waited < 5000, "answered after %lld ms", (long long)waited);
    /* resumed: the followers catch up, the next commit is acknowledged */
    for (int i = 1; i <= NBROKERS; i++)
        if (i != coord)
            ck_assert_int_eq(kill(B[i].pid, SIGCONT), 0);
    part.offset = 33;
    ck_assert_int_eq(tb_offset_commit(fd, 2, GROUP, -1, "", &part, 1, &r), 0);
    ck_assert_int_eq(r.p[0].error, 0);
    ck_assert_int_eq(tb_offset_fetch(fd, 2, GROUP, &part, 1, &r), 0);
    ck_assert_int_eq(r.error, 0);
    ck_assert_int_eq(r.p[0].offset, 33);
    close(fd);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_groups");
    TCase *tc = tb_clu_tcase("groups", teardown, 300);
    tcase_add_test(tc, offsets_survive_the_coordinator);
    tcase_add_test(tc, commit_waits_for_the_isr);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
