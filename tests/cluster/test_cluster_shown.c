/*
 * test_cluster_shown — what CreateTopics' answer means in a cluster (docs/cluster.md M2):
 * once one broker answered, every broker shows the topic whole, against a real ZooKeeper and
 * three brokers, in raw protocol.
 *
 * created_topics_are_shown_everywhere: ROUNDS topics of NPARTS partitions (one replica each,
 * spread over the brokers) are created one after another, alternately through the controller
 * (its view takes its own decisions at once: of all brokers it is the one furthest ahead of
 * the others) and through another broker, and right after each answer, on connections opened
 * beforehand, the two other brokers and then the answering one are asked Metadata for it:
 * every partition is listed with a leader and no error; then every partition's leader answers
 * ListOffsets (latest) without error, at 0.
 * Before, the other brokers learnt the new partitions' states through their own watches a few
 * milliseconds after the controller had answered, and one of them could still list a
 * partition without a leader (LEADER_NOT_AVAILABLE, leader -1): librdkafka's 0081_admin kept
 * that in its metadata cache and failed query_watermark_offsets with "Local: Unknown
 * partition". And the controller named itself leader of a new partition (in Metadata, and in
 * its own CreateTopics wait) before its log was told so, while it answered ListOffsets
 * NOT_LEADER_OR_FOLLOWER for it.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tb_broker.h"
#include "tb_check.h"
#include "tb_clu.h"
#include "tb_kafka.h"
#include "tb_zk.h"

#define SESSION_MS 10000
#define WAIT_MS    60000
#define NBROKERS   3
#define NPARTS     3
#define ROUNDS     60

static struct tb_broker B[NBROKERS + 1];

static void teardown(void)
{
    for (int i = 1; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

/* Waits until broker 1's Metadata names NBROKERS brokers and a controller: its id. */
static int32_t wait_cluster(void)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        const struct tb_metadata *m = tb_clu_metadata(B[1].port, "none-such");
        if (m->n_brokers == NBROKERS && m->controller_id >= 1 && m->controller_id <= NBROKERS)
            return m->controller_id;
        ck_assert_msg(tb_now_ms() < until, "no cluster of %d brokers with a controller", NBROKERS);
        tb_sleep_ms(100);
    }
}

/* Broker id's Metadata (on fd) for topic lists NPARTS partitions, each led without error;
 * their leaders into lead[]. */
static void shown_by(int fd, int id, int via, int ctl, int round, const char *topic, int32_t *lead)
{
    static struct tb_metadata m;
    const char *const names[] = {topic};
    ck_assert_int_eq(tb_metadata(fd, names, 1, false, &m), 0);
    ck_assert_int_eq(m.n_topics, 1);
    ck_assert_msg(m.topic[0].error == 0 && m.topic[0].n_parts == NPARTS,
                  "round %d: broker %d answers %s with error %d and %d partition(s) right "
                  "after CreateTopics through broker %d (the controller: %d)",
                  round, id, topic, m.topic[0].error, m.topic[0].n_parts, via, ctl);
    for (int p = 0; p < NPARTS; p++) {
        ck_assert_int_eq(m.topic[0].part[p].partition, p);
        ck_assert_msg(m.topic[0].part[p].error == 0 && m.topic[0].part[p].leader >= 1 &&
                          m.topic[0].part[p].leader <= NBROKERS,
                      "round %d: broker %d answers %s-%d with error %d, leader %d, right after "
                      "CreateTopics through broker %d (the controller: %d)",
                      round, id, topic, p, m.topic[0].part[p].error, m.topic[0].part[p].leader, via,
                      ctl);
        lead[p] = m.topic[0].part[p].leader;
    }
}

START_TEST(created_topics_are_shown_everywhere)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_shown");
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_zk_broker_start(&B[i], &tb_clu_zk, "/shown", i, SESSION_MS, NULL, NULL),
                         0);
    int ctl = wait_cluster();
    int fd[NBROKERS + 1];
    for (int i = 1; i <= NBROKERS; i++) {
        fd[i] = tb_connect(B[i].port);
        ck_assert_int_ge(fd[i], 0);
    }
    int other = ctl % NBROKERS + 1;
    for (int round = 0; round < ROUNDS; round++) {
        char topic[64];
        snprintf(topic, sizeof topic, "shown-%d", round);
        int via = round % 2 == 0 ? ctl : other;
        tb_clu_create_topic(B[via].port, topic, NPARTS, 1);
        int order[NBROKERS], n = 0; /* the others first, the answering broker last */
        for (int i = 1; i <= NBROKERS; i++)
            if (i != via)
                order[n++] = i;
        order[n++] = via;
        int32_t lead[NPARTS];
        for (int k = 0; k < NBROKERS; k++)
            shown_by(fd[order[k]], order[k], via, ctl, round, topic, lead);
        for (int p = 0; p < NPARTS; p++) {
            struct tb_list_offsets_resp lo;
            ck_assert_int_eq(tb_list_offsets(fd[lead[p]], topic, p, -1, &lo), 0);
            ck_assert_msg(lo.error == 0 && lo.offset == 0,
                          "round %d: leader %d answers ListOffsets of %s-%d with error %d, "
                          "offset %lld",
                          round, (int)lead[p], topic, p, lo.error, (long long)lo.offset);
        }
    }
    for (int i = 1; i <= NBROKERS; i++)
        close(fd[i]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_shown");
    TCase *tc = tb_clu_tcase("shown", teardown, 300);
    tcase_add_test(tc, created_topics_are_shown_everywhere);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
