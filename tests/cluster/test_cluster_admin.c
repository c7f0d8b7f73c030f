/*
 * test_cluster_admin — admin requests in a cluster through librdkafka's AdminClient (a real
 * client, as operators' tools send them), against a real ZooKeeper and three brokers.
 *
 * topics_and_partitions_with_an_assignment: CreateTopics with the client's replica assignment
 * (Kafka's replicaAssignment; librdkafka's rd_kafka_NewTopic_set_replica_assignment, kafka-topics
 * --replica-assignment) writes exactly that assignment to /brokers/topics/<t>, the first live
 * replica of each partition leads it, and the brokers hold their replicas; an assignment naming
 * a broker that is not alive, or one broker twice for a partition, is INVALID_REPLICA_ASSIGNMENT
 * and writes nothing. CreatePartitions with the new partitions' lists likewise (a list of
 * another replication factor than the topic's is refused too). (Before, a cluster applied the
 * single node's rule — every partition on the answering broker alone — and refused every such
 * request: librdkafka's 0081_admin.)
 *
 * a_topic_deleted_while_a_replica_was_down_does_not_come_back: a topic led by broker 3 holds
 * records; broker 3 is killed, the topic deleted (DeleteTopics), broker 3 restarted, and a topic
 * of the same name created again with broker 3 leading: its first record is at offset 0 and a
 * fetch from 0 returns only that record. (Before, the restarted broker kept the deleted topic's
 * log — its first view has no previous one to compare the topic id with — and served it as the
 * new topic's: the new record came after the old ones, and the followers copied them.)
 *
 * a_topic_deleted_while_a_replica_was_down_goes_when_it_returns: the same deletion while broker
 * 3 is down, and a topic of its own written into its data dir; once back, broker 3 deletes the
 * cluster's topic from its data dir (its first full read of /brokers/topics no longer lists
 * it, changed after the topic's creation) and keeps its own and a live cluster topic it
 * follows, with its records, across two restarts. (Before, the deleted topic stayed there,
 * unserved, for good.)
 */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tb_broker.h"
#include "tb_check.h"
#include "tb_clu.h"
#include "tb_kafka.h"
#include "tb_zk.h"

#define SESSION_MS 3000
#define WAIT_MS    60000
#define NBROKERS   3

static struct tb_broker B[NBROKERS + 1];
static const char *chroot_ = "/admin";

static void teardown(void)
{
    for (int i = 1; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

/* b's Metadata for topic: partition p's leader (-1: none, or no such topic). */
static int32_t leader_of(struct tb_broker *b, const char *topic, int p)
{
    const struct tb_metadata *m = tb_clu_metadata(b->port, topic);
    return m->n_topics == 1 && m->topic[0].error == 0 && p < m->topic[0].n_parts
               ? m->topic[0].part[p].leader
               : -1;
}

/* An AdminClient (librdkafka's: a producer handle) bootstrapped to broker id, its result
 * queue, and the options of op with a 20 s operation timeout. */
struct admin {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    rd_kafka_AdminOptions_t *o;
};

static struct admin admin_open(int id, rd_kafka_admin_op_t op)
{
    char err[512], bs[64];
    snprintf(bs, sizeof bs, "127.0.0.1:%d", B[id].port);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(c, "bootstrap.servers", bs, err, sizeof err),
                     RD_KAFKA_CONF_OK);
    struct admin ad = {.rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err)};
    ck_assert_msg(ad.rk != NULL, "rd_kafka_new: %s", err);
    ad.q = rd_kafka_queue_new(ad.rk);
    ad.o = rd_kafka_AdminOptions_new(ad.rk, op);
    ck_assert_int_eq(rd_kafka_AdminOptions_set_operation_timeout(ad.o, 20000, err, sizeof err),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    return ad;
}

/* Waits for the one-topic result of the request sent on ad (CreateTopics, or CreatePartitions
 * when partitions): its error code, its message into why; then closes ad. */
static rd_kafka_resp_err_t admin_result(struct admin *ad, bool partitions, char *why, size_t cap)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(ad->q, WAIT_MS);
    ck_assert_msg(ev != NULL, "no admin result within %d ms", WAIT_MS);
    ck_assert_int_eq(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR);
    size_t cnt = 0;
    const rd_kafka_topic_result_t **tr =
        partitions
            ? rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev),
                                                      &cnt)
            : rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    ck_assert_int_eq(cnt, 1);
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[0]);
    const char *msg = rd_kafka_topic_result_error_string(tr[0]);
    snprintf(why, cap, "%s", msg ? msg : "");
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ad->o);
    rd_kafka_queue_destroy(ad->q);
    rd_kafka_destroy(ad->rk);
    return e;
}

/* CreateTopics (through broker 1) of one topic of n partitions with the assignment
 * reps[p][0..rf[p]-1]; the topic's error code and message (into why). */
static rd_kafka_resp_err_t create(const char *topic, int n, const int *rf, const int32_t reps[][3],
                                  char *why, size_t cap)
{
    char err[512];
    struct admin ad = admin_open(1, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, n, -1, err, sizeof err);
    ck_assert_msg(nt != NULL, "NewTopic: %s", err);
    for (int p = 0; p < n; p++)
        ck_assert_int_eq(rd_kafka_NewTopic_set_replica_assignment(nt, p, (int32_t *)reps[p],
                                                                  (size_t)rf[p], err, sizeof err),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_CreateTopics(ad.rk, &nt, 1, ad.o, ad.q);
    rd_kafka_NewTopic_destroy(nt);
    return admin_result(&ad, false, why, cap);
}

/* CreatePartitions (through broker 2) growing topic to total with the lists
 * reps[k][0..rf[k]-1] of the new partitions; the topic's error code and message. */
static rd_kafka_resp_err_t grow(const char *topic, int total, int nnew, const int *rf,
                                const int32_t reps[][3], char *why, size_t cap)
{
    char err[512];
    struct admin ad = admin_open(2, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
    rd_kafka_NewPartitions_t *np =
        rd_kafka_NewPartitions_new(topic, (size_t)total, err, sizeof err);
    ck_assert_msg(np != NULL, "NewPartitions: %s", err);
    for (int k = 0; k < nnew; k++)
        ck_assert_int_eq(rd_kafka_NewPartitions_set_replica_assignment(
                             np, k, (int32_t *)reps[k], (size_t)rf[k], err, sizeof err),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_CreatePartitions(ad.rk, &np, 1, ad.o, ad.q);
    rd_kafka_NewPartitions_destroy(np);
    return admin_result(&ad, true, why, cap);
}

/* DeleteTopics (through broker 1) of topic; its error code. */
static rd_kafka_resp_err_t delete_topic(const char *topic)
{
    struct admin ad = admin_open(1, RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
    rd_kafka_DeleteTopics(ad.rk, &dt, 1, ad.o, ad.q);
    rd_kafka_DeleteTopic_destroy(dt);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(ad.q, WAIT_MS);
    ck_assert_msg(ev != NULL, "no DeleteTopics result within %d ms", WAIT_MS);
    ck_assert_int_eq(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR);
    size_t cnt = 0;
    const rd_kafka_topic_result_t **tr =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &cnt);
    ck_assert_int_eq(cnt, 1);
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[0]);
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ad.o);
    rd_kafka_queue_destroy(ad.q);
    rd_kafka_destroy(ad.rk);
    return e;
}

/* Produces count records (values prefix-<i>, acks=all) to partition 0 of topic on broker b; the
 * offset of the first. */
static int64_t produce_to(struct tb_broker *b, const char *topic, const char *prefix, int count)
{
    uint8_t batch[4096];
    long bl = tb_batch_values(batch, sizeof batch, prefix, 0, count, 0, false, 0);
    ck_assert_int_gt(bl, 0);
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct tb_produce_resp out;
    ck_assert_int_eq(tb_produce(fd, topic, 0, batch, (size_t)bl, &out), 0);
    close(fd);
    ck_assert_msg(out.error == 0, "produce to %s on port %d: error %d", topic, b->port, out.error);
    return out.base_offset;
}

/* Brokers 1..NBROKERS started afresh under chroot_, and a ZooKeeper handle of the test's. */
static zhandle_t *start_cluster(void)
{
    memset(B, 0, sizeof B);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_zk_broker_start(&B[i], &tb_clu_zk, chroot_, i, SESSION_MS, NULL, NULL),
                         0);
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    ck_assert_ptr_nonnull(zh);
    return zh;
}

START_TEST(topics_and_partitions_with_an_assignment)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_admin");
    zhandle_t *zh = start_cluster();
    char why[512], path[256];

    /* p0 on 2 and 3 (2 preferred), p1 on 3 and 1: written as given, led by the first */
    const int two[] = {2, 2};
    const int32_t ok[2][3] = {{2, 3}, {3, 1}};
    ck_assert_msg(create("asg", 2, two, ok, why, sizeof why) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  "CreateTopics with an assignment: %s", why);
    snprintf(path, sizeof path, "%s/brokers/topics/asg", chroot_);
    const char *json = tb_zk_get(zh, path, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(strstr(json, "\"0\":[2,3]") && strstr(json, "\"1\":[3,1]"),
                  "assignment in ZooKeeper: %s", json);
    int64_t until = tb_now_ms() + WAIT_MS;
    while (leader_of(&B[1], "asg", 0) != 2 || leader_of(&B[1], "asg", 1) != 3) {
        ck_assert_msg(tb_now_ms() < until, "leaders of asg: %d, %d (want 2, 3)",
                      leader_of(&B[1], "asg", 0), leader_of(&B[1], "asg", 1));
        tb_sleep_ms(100);
    }
    /* refused, nothing written: a broker that is not alive, one broker twice, uneven counts */
    const int one[] = {2};
    const int32_t ghost[1][3] = {{1, 9}};
    const int32_t twice[1][3] = {{2, 2}};
    const int uneven_n[] = {2, 1};
    const int32_t uneven[2][3] = {{1, 2}, {3}};
    struct {
        const char *topic;
        int n;
        const int *rf;
        const int32_t (*reps)[3];
    } bad[] = {{"ghost", 1, one, ghost}, {"twice", 1, one, twice}, {"uneven", 2, uneven_n, uneven}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rd_kafka_resp_err_t e =
            create(bad[i].topic, bad[i].n, bad[i].rf, bad[i].reps, why, sizeof why);
        ck_assert_msg(e == RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT, "%s: %s (%s)",
                      bad[i].topic, rd_kafka_err2name(e), why);
        snprintf(path, sizeof path, "%s/brokers/topics/%s", chroot_, bad[i].topic);
        ck_assert_ptr_null(tb_zk_get(zh, path, NULL));
    }

    /* CreatePartitions with the new partition's list: written as given; a list of another
     * replication factor than the topic's, or naming a broker that is not alive, refused */
    const int32_t p2[1][3] = {{1, 2}};
    ck_assert_msg(grow("asg", 3, 1, two, p2, why, sizeof why) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  "CreatePartitions with an assignment: %s", why);
    snprintf(path, sizeof path, "%s/brokers/topics/asg", chroot_);
    json = tb_zk_get(zh, path, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(strstr(json, "\"0\":[2,3]") && strstr(json, "\"2\":[1,2]"),
                  "assignment in ZooKeeper: %s", json);
    const int32_t lone[1][3] = {{3}};
    const int single[] = {1};
    rd_kafka_resp_err_t e = grow("asg", 4, 1, single, lone, why, sizeof why);
    ck_assert_msg(e == RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT, "rf 1 list: %s (%s)",
                  rd_kafka_err2name(e), why);
    e = grow("asg", 4, 1, two, ghost, why, sizeof why);
    ck_assert_msg(e == RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT, "broker 9: %s (%s)",
                  rd_kafka_err2name(e), why);
    json = tb_zk_get(zh, path, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(!strstr(json, "\"3\":"), "assignment in ZooKeeper: %s", json);
    zookeeper_close(zh);
}
END_TEST

/* Topic led by broker 3 (replicas 3, 1, 2) with 20 records (acks=all: on every replica);
 * broker 3 killed, then, once the others lead it, the topic deleted (its znode gone). */
static void delete_while_3_is_down(zhandle_t *zh, const char *topic)
{
    char why[512], path[256];
    const int three[] = {3};
    const int32_t led_by_3[1][3] = {{3, 1, 2}};
    ck_assert_msg(create(topic, 1, three, led_by_3, why, sizeof why) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  "CreateTopics: %s", why);
    int64_t until = tb_now_ms() + WAIT_MS;
    while (leader_of(&B[1], topic, 0) != 3) {
        ck_assert_msg(tb_now_ms() < until, "%s-0 not led by broker 3", topic);
        tb_sleep_ms(100);
    }
    ck_assert_int_eq(produce_to(&B[3], topic, "old", 20), 0);

    ck_assert_int_ge(tb_broker_stop(&B[3], SIGKILL), 0);
    until = tb_now_ms() + WAIT_MS;
    int32_t l;
    while ((l = leader_of(&B[1], topic, 0)) != 1 && l != 2) {
        ck_assert_msg(tb_now_ms() < until, "%s-0 still led by %d", topic, (int)l);
        tb_sleep_ms(100);
    }
    ck_assert_int_eq(delete_topic(topic), RD_KAFKA_RESP_ERR_NO_ERROR);
    snprintf(path, sizeof path, "%s/brokers/topics/%s", chroot_, topic);
    until = tb_now_ms() + WAIT_MS;
    while (tb_zk_get(zh, path, NULL) != NULL) {
        ck_assert_msg(tb_now_ms() < until, "%s still there", path);
        tb_sleep_ms(100);
    }
}

/* Broker 3 started again on its data dir, registered. */
static void restart_3(zhandle_t *zh)
{
    char path[256];
    ck_assert_int_eq(tb_zk_broker_start(&B[3], &tb_clu_zk, chroot_, 3, SESSION_MS, NULL, NULL), 0);
    snprintf(path, sizeof path, "%s/brokers/ids/3", chroot_);
    int64_t until = tb_now_ms() + WAIT_MS;
    while (tb_zk_get(zh, path, NULL) == NULL) {
        ck_assert_msg(tb_now_ms() < until, "broker 3 not registered again");
        tb_sleep_ms(100);
    }
}

static bool exists(const char *dir, const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

START_TEST(a_topic_deleted_while_a_replica_was_down_does_not_come_back)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_admin");
    zhandle_t *zh = start_cluster();
    char why[512];
    const int three[] = {3};
    const int32_t led_by_3[1][3] = {{3, 1, 2}};
    delete_while_3_is_down(zh, "again");

    /* broker 3 back (its data dir still holds the deleted topic's log), then a topic of the
     * same name created again, led by broker 3 */
    restart_3(zh);
    int64_t until = tb_now_ms() + WAIT_MS;
    rd_kafka_resp_err_t e;
    while ((e = create("again", 1, three, led_by_3, why, sizeof why)) !=
           RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* the controller may not count broker 3 alive yet: INVALID_REPLICA_ASSIGNMENT */
        ck_assert_msg(tb_now_ms() < until, "CreateTopics again: %s (%s)", rd_kafka_err2name(e),
                      why);
        tb_sleep_ms(200);
    }
    until = tb_now_ms() + WAIT_MS;
    while (leader_of(&B[3], "again", 0) != 3 || leader_of(&B[1], "again", 0) != 3) {
        ck_assert_msg(tb_now_ms() < until, "the new again-0 not led by broker 3");
        tb_sleep_ms(100);
    }

    /* the new topic starts empty: its first record at offset 0, and nothing else from 0 */
    ck_assert_int_eq(produce_to(&B[3], "again", "new", 1), 0);
    int fd = tb_connect(B[3].port);
    ck_assert_int_ge(fd, 0);
    struct tb_fetch_args a = {.max_wait_ms = 0,
                              .min_bytes = 1,
                              .max_bytes = 1 << 20,
                              .topic = "again",
                              .partition = 0,
                              .offset = 0,
                              .partition_max_bytes = 1 << 20};
    struct tb_frame f;
    struct tb_fetch_resp out;
    ck_assert_int_eq(tb_fetch(fd, &a, &f, &out), 0);
    close(fd);
    ck_assert_int_eq(out.error, 0);
    ck_assert_int_eq(out.high_watermark, 1);
    tb_frame_free(&f);
    zookeeper_close(zh);
}
END_TEST

/* Broker 3 holds "kept" with its records: its metadata file and a non-empty first segment. */
static bool kept_here(void)
{
    char p[600];
    struct stat st;
    snprintf(p, sizeof p, "%s/kept-0/00000000000000000000.log", B[3].data);
    return exists(B[3].data, "kept.topic") && stat(p, &st) == 0 && st.st_size > 0;
}

START_TEST(a_topic_deleted_while_a_replica_was_down_goes_when_it_returns)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_admin");
    chroot_ = "/strays"; /* (the tcase's ZooKeeper still holds the last test's brokers) */
    zhandle_t *zh = start_cluster();
    /* a cluster topic broker 3 follows, which stays: never taken for a deleted one */
    char why[512];
    const int three[] = {3};
    const int32_t led_by_2[1][3] = {{2, 3, 1}};
    ck_assert_msg(create("kept", 1, three, led_by_2, why, sizeof why) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  "CreateTopics: %s", why);
    int64_t until = tb_now_ms() + WAIT_MS;
    while (leader_of(&B[1], "kept", 0) != 2) {
        ck_assert_msg(tb_now_ms() < until, "kept-0 not led by broker 2");
        tb_sleep_ms(100);
    }
    ck_assert_int_eq(produce_to(&B[2], "kept", "k", 5), 0); /* (acks=all: on broker 3 too) */
    delete_while_3_is_down(zh, "gone");
    ck_assert(exists(B[3].data, "gone.topic"));
    ck_assert(exists(B[3].data, "gone-0"));
    /* a topic of broker 3's own (as a single node would have made it, never in ZooKeeper) */
    char own[600];
    snprintf(own, sizeof own, "%s/mine.topic", B[3].data);
    FILE *f = fopen(own, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version=1\npartitions=1\n", f);
    ck_assert_int_eq(fclose(f), 0);

    /* back: the cluster's deleted topic goes from its data dir, its own topic stays */
    restart_3(zh);
    until = tb_now_ms() + WAIT_MS;
    while (exists(B[3].data, "gone.topic") || exists(B[3].data, "gone-0")) {
        ck_assert_msg(tb_now_ms() < until, "the deleted topic is still in broker 3's data dir");
        tb_sleep_ms(100);
    }
    ck_assert(exists(B[3].data, "mine.topic"));
    ck_assert(kept_here());
    /* and stays gone after a restart; the own topic and the live cluster topic still there */
    ck_assert_int_ge(tb_broker_stop(&B[3], SIGTERM), 0);
    restart_3(zh);
    ck_assert(!exists(B[3].data, "gone.topic"));
    ck_assert(exists(B[3].data, "mine.topic"));
    ck_assert(kept_here());
    zookeeper_close(zh);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_admin");
    TCase *tc = tb_clu_tcase("admin", teardown, 300);
    tcase_add_test(tc, topics_and_partitions_with_an_assignment);
    suite_add_tcase(s, tc);
    TCase *tc2 = tb_clu_tcase("incarnations", teardown, 300);
    tcase_add_test(tc2, a_topic_deleted_while_a_replica_was_down_does_not_come_back);
    tcase_add_test(tc2, a_topic_deleted_while_a_replica_was_down_goes_when_it_returns);
    suite_add_tcase(s, tc2);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
