/*
 * rdkafka_resubscribe — a librdkafka consumer that changes its subscription (issue 11 item 5),
 * built by test_kcat_resubscribe.sh against Debian's librdkafka-dev.
 *
 *   rdkafka_resubscribe BROKER GROUP TOPIC1 TOPIC2 CHANGE_AFTER_MS BOUND_MS
 *
 * Subscribes to [TOPIC1], polls for CHANGE_AFTER_MS (assigned or not: a change during the
 * first JoinGroup is the case that stalled), then subscribes to [TOPIC1, TOPIC2] and polls
 * until it is assigned partitions of both. Prints how long that took after the change and
 * exits 0 when it was within BOUND_MS, 1 when later or not within 90 s, 2 on a setup error.
 * session.timeout.ms is librdkafka's default 45000, the stall the bound guards against.
 */
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct state {
    int64_t t0;
    int assignments;
    bool has_topic2; /* the last assignment holds a partition of topic2 */
    const char *topic2;
};

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct state *st = opaque;
    bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
    fprintf(stderr, "rdkafka_resubscribe: %lld ms: %s %d partition(s)\n",
            (long long)(now_ms() - st->t0), assign ? "assigned" : "revoked", parts->cnt);
    if (assign) {
        st->assignments++;
        st->has_topic2 = false;
        for (int i = 0; i < parts->cnt; i++)
            st->has_topic2 |= strcmp(parts->elems[i].topic, st->topic2) == 0;
        rd_kafka_assign(rk, parts);
    } else {
        st->has_topic2 = false;
        rd_kafka_assign(rk, NULL);
    }
}

static int subscribe(rd_kafka_t *rk, int n, char **topics)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err)
        fprintf(stderr, "rdkafka_resubscribe: subscribe: %s\n", rd_kafka_err2str(err));
    return err ? -1 : 0;
}

static void poll_once(rd_kafka_t *rk)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
    if (m)
        rd_kafka_message_destroy(m);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s BROKER GROUP TOPIC1 TOPIC2 CHANGE_AFTER_MS BOUND_MS\n", argv[0]);
        return 2;
    }
    int64_t change_after = atoll(argv[5]), bound = atoll(argv[6]);
    struct state st = {.t0 = now_ms(), .topic2 = argv[4]};
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "group.id", argv[2], errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "session.timeout.ms", "45000", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof errstr)) {
        fprintf(stderr, "rdkafka_resubscribe: %s\n", errstr);
        return 2;
    }
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "rdkafka_resubscribe: %s\n", errstr);
        return 2;
    }
    rd_kafka_poll_set_consumer(rk);
    if (subscribe(rk, 1, &argv[3]) < 0)
        return 2;
    while (now_ms() - st.t0 < change_after)
        poll_once(rk);
    int before = st.assignments;
    int64_t t1 = now_ms();
    fprintf(stderr, "rdkafka_resubscribe: %lld ms: subscription [%s] -> [%s, %s] (%s)\n",
            (long long)(t1 - st.t0), argv[3], argv[3], argv[4],
            before ? "after its first assignment" : "during its first join");
    if (subscribe(rk, 2, &argv[3]) < 0)
        return 2;
    while (!st.has_topic2 && now_ms() - t1 < 90000)
        poll_once(rk);
    int64_t took = now_ms() - t1;
    bool assigned = st.has_topic2; /* (closing revokes it) */
    printf("assigned [%s, %s] %lld ms after the subscription change (%s)\n", argv[3], argv[4],
           (long long)took, before ? "after its first assignment" : "during its first join");
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return assigned && took <= bound ? 0 : 1;
}
