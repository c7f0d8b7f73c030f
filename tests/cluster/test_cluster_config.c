/*
 * test_cluster_config — topic configs changed at run time in a cluster (issue 18, issue 14),
 * against a real ZooKeeper and three brokers, in raw protocol (proto's codec behind a header
 * written here, as test_admin does for a single node).
 *
 * alters_reach_every_broker: IncrementalAlterConfigs and the legacy AlterConfigs of a topic,
 * each through one broker, write the topic's whole override set to /config/topics/<t> (Kafka's
 * {"version":1,"config":{..}}) and a /config/changes/config_change_ notification; at once
 * DescribeConfigs through every other broker answers the new values with DYNAMIC_TOPIC_CONFIG
 * (also through brokers without a replica, of a topic altered through a broker without one);
 * every replica's store takes them (its <topic>.topic file); min.insync.replicas set through
 * a follower makes the leader refuse acks=all produces below it (NOT_ENOUGH_REPLICAS) and
 * accept them again when lowered; a broker stopped during a change has it once restarted;
 * validate_only writes nothing; a change written by Kafka's own tools (a version 1
 * notification) is applied; a deleted topic's /config/topics/<t> is gone. Before, the
 * alters changed the answering broker alone (librdkafka's 0081_admin).
 *
 * zookeeper_away_is_an_error: with ZooKeeper's process stopped, an alter (and a describe) of a
 * cluster's topic answers REQUEST_TIMED_OUT and changes nothing (it was a silent local success);
 * once ZooKeeper is back the alter goes through.
 *
 * auto_create_below_replication_factor: with fewer live brokers than default.replication.factor,
 * Metadata's auto-creation answers INVALID_REPLICATION_FACTOR (Kafka's ZooKeeper-mode
 * AutoTopicCreationManager passes CreateTopics' error on; it was INVALID_TOPIC_EXCEPTION), as
 * CreateTopics does.
 */
#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_msg.h"
#include "kp_msg_config.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_clu.h"
#include "tb_kafka.h"
#include "tb_zk.h"

#define SESSION_MS 3000
#define WAIT_MS    60000
#define NBROKERS   3

static struct tb_broker B[NBROKERS + 1];
static uint8_t arena_mem[1 << 20];
static int32_t corr = 1;

static void teardown(void)
{
    for (int i = 1; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

static int start_broker(const char *chroot, int id)
{
    const char *const more[] = {"-o", "default.replication.factor=3", "-o",
                                "replica.fetch.backoff.ms=200", NULL};
    return tb_zk_broker_start(&B[id], &tb_clu_zk, chroot, id, SESSION_MS, NULL, more);
}

/* ---- raw requests -------------------------------------------------------------------------- */

/* One request/response on broker id with proto's codec; the answer decoded into *out (its
 * strings in f, freed by the caller). */
#define ROUND(id, key, v, ENC, req, DEC, out, f)                                                   \
    TB_CLU_ROUND(B[id].port, key, v, ++corr, "cluster-config-test", ENC, req, DEC, arena_mem, out, \
                 f)

struct entry {
    char value[64];
    int8_t source;
    bool found;
};

/* DescribeConfigs v1 of topic's key through broker id; *err the resource's error. */
static struct entry describe(int id, const char *topic, const char *key, int16_t *err)
{
    struct kp_str k = kp_str_of(key);
    struct kp_describe_configs_resource res = {.resource_type = KP_CONFIG_RESOURCE_TOPIC,
                                               .resource_name = kp_str_of(topic),
                                               .n_configuration_keys = 1,
                                               .configuration_keys = &k};
    struct kp_describe_configs_req req = {.n_resources = 1, .resources = &res};
    struct kp_describe_configs_resp resp;
    struct tb_frame f;
    ROUND(id, KP_API_DESCRIBE_CONFIGS, 1, kp_describe_configs_req_encode, &req,
          kp_describe_configs_resp_decode, &resp, &f);
    struct entry e = {0};
    ck_assert_int_eq(resp.n_results, 1);
    *err = resp.results[0].error_code;
    for (int32_t i = 0; i < resp.results[0].n_configs; i++) {
        const struct kp_describe_configs_entry *c = &resp.results[0].configs[i];
        if (!kp_str_eq(c->name, key))
            continue;
        e.found = true;
        snprintf(e.value, sizeof e.value, "%.*s", c->value.len, c->value.ptr);
        e.source = c->config_source;
    }
    tb_frame_free(&f);
    return e;
}

/* Every broker describes topic's key as value, from source. */
static void described_everywhere(const char *topic, const char *key, const char *value,
                                 int8_t source)
{
    for (int id = 1; id <= NBROKERS; id++) {
        if (!B[id].pid)
            continue;
        int16_t err;
        struct entry e = describe(id, topic, key, &err);
        ck_assert_msg(err == 0, "broker %d: DescribeConfigs of %s: error %d", id, topic, err);
        ck_assert(e.found);
        ck_assert_msg(strcmp(e.value, value) == 0 && e.source == source,
                      "broker %d: %s %s=%s (source %d), want %s (source %d)", id, topic, key,
                      e.value, e.source, value, source);
    }
}

/* IncrementalAlterConfigs v1 of one key of topic through broker id; the resource's error. */
static int16_t incremental(int id, const char *topic, const char *key, int8_t op, const char *value,
                           bool validate_only)
{
    struct kp_incremental_alter_configs_config c = {kp_str_of(key), op,
                                                    value ? kp_str_of(value) : KP_STR_NULL};
    struct kp_incremental_alter_configs_resource res = {KP_CONFIG_RESOURCE_TOPIC, kp_str_of(topic),
                                                        1, &c};
    struct kp_incremental_alter_configs_req req = {1, &res, validate_only};
    struct kp_incremental_alter_configs_resp resp;
    struct tb_frame f;
    ROUND(id, KP_API_INCREMENTAL_ALTER_CONFIGS, 1, kp_incremental_alter_configs_req_encode, &req,
          kp_incremental_alter_configs_resp_decode, &resp, &f);
    ck_assert_int_eq(resp.n_responses, 1);
    int16_t err = resp.responses[0].error_code;
    tb_frame_free(&f);
    return err;
}

/* The legacy AlterConfigs v1 of topic through broker id (the set replaces the topic's). */
static int16_t alter(int id, const char *topic, const struct kp_alter_configs_config *cs, int32_t n)
{
    struct kp_alter_configs_resource res = {KP_CONFIG_RESOURCE_TOPIC, kp_str_of(topic), n, cs};
    struct kp_alter_configs_req req = {1, &res, false};
    struct kp_alter_configs_resp resp;
    struct tb_frame f;
    ROUND(id, KP_API_ALTER_CONFIGS, 1, kp_alter_configs_req_encode, &req,
          kp_alter_configs_resp_decode, &resp, &f);
    int16_t err = resp.responses[0].error_code;
    tb_frame_free(&f);
    return err;
}

/* CreateTopics v4 through broker id of one topic, partition 0 on reps[0..n-1] (n 0: rf). */
static int16_t create(int id, const char *topic, int16_t rf, const int32_t *reps, int32_t n)
{
    struct kp_create_topics_assignment as = {0, n, reps};
    struct kp_create_topics_topic t = {.name = kp_str_of(topic),
                                       .num_partitions = n ? -1 : 1,
                                       .replication_factor = n ? -1 : rf,
                                       .n_assignments = n ? 1 : 0,
                                       .assignments = n ? &as : NULL};
    struct kp_create_topics_req req = {1, &t, 20000, false};
    struct kp_create_topics_resp resp;
    struct tb_frame f;
    ROUND(id, KP_API_CREATE_TOPICS, 4, kp_create_topics_req_encode, &req,
          kp_create_topics_resp_decode, &resp, &f);
    int16_t err = resp.topics[0].error_code;
    tb_frame_free(&f);
    return err;
}

static int16_t delete_topic(int id, const char *topic)
{
    struct kp_str n = kp_str_of(topic);
    struct kp_delete_topics_req req = {.n_topics = 1, .topic_names = &n, .timeout_ms = 20000};
    struct kp_delete_topics_resp resp;
    struct tb_frame f;
    ROUND(id, KP_API_DELETE_TOPICS, 3, kp_delete_topics_req_encode, &req,
          kp_delete_topics_resp_decode, &resp, &f);
    int16_t err = resp.results[0].error_code;
    tb_frame_free(&f);
    return err;
}

/* A produce of one small record with acks to partition 0 of topic through broker id. */
static int16_t produce(int id, const char *topic, int16_t acks)
{
    static uint8_t batch[4096];
    long n = tb_batch_values(batch, sizeof batch, "cfg", 0, 1, 16, false, 1700000000000);
    ck_assert_int_gt(n, 0);
    struct kp_produce_req_partition p = {.partition_index = 0, .records = {batch, (int32_t)n}};
    struct kp_produce_req_topic t = {.name = kp_str_of(topic), .n_partitions = 1, .partitions = &p};
    struct kp_produce_req req = {.transactional_id = KP_STR_NULL,
                                 .acks = acks,
                                 .timeout_ms = 5000,
                                 .n_topics = 1,
                                 .topics = &t};
    struct kp_produce_resp resp;
    struct tb_frame f;
    ROUND(id, KP_API_PRODUCE, 7, kp_produce_req_encode, &req, kp_produce_resp_decode, &resp, &f);
    int16_t err = resp.topics[0].partitions[0].error_code;
    tb_frame_free(&f);
    return err;
}

/* Broker id's Metadata for partition 0 of topic: its leader (-1: none, or no such topic). */
static int32_t leader_of(int id, const char *topic)
{
    const struct tb_metadata *m = tb_clu_metadata(B[id].port, topic);
    return m->n_topics == 1 && m->topic[0].error == 0 && m->topic[0].n_parts > 0
               ? m->topic[0].part[0].leader
               : -1;
}

static int32_t wait_leader(const char *topic)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    int32_t l;
    while ((l = leader_of(1, topic)) < 0) {
        ck_assert_msg(tb_now_ms() < until, "no leader of %s", topic);
        tb_sleep_ms(100);
    }
    return l;
}

/* Whether broker id's store has line (e.g. "retention.ms=123456") in topic's metadata file. */
static bool stored(int id, const char *topic, const char *line)
{
    char path[512], buf[4096];
    snprintf(path, sizeof path, "%s/%s.topic", B[id].data, topic);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return false;
    bool found = false;
    while (!found && fgets(buf, sizeof buf, fp)) {
        buf[strcspn(buf, "\n")] = 0;
        found = strcmp(buf, line) == 0;
    }
    fclose(fp);
    return found;
}

static void wait_stored(int id, const char *topic, const char *line, bool want)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    while (stored(id, topic, line) != want) {
        ck_assert_msg(tb_now_ms() < until, "broker %d: %s.topic %s '%s'", id, topic,
                      want ? "never has" : "still has", line);
        tb_sleep_ms(50);
    }
}

/* Produces with acks=all through broker id until the answer is want (bounded). */
static void wait_produce(int id, const char *topic, int16_t want)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    int16_t got;
    while ((got = produce(id, topic, -1)) != want) {
        ck_assert_msg(tb_now_ms() < until, "acks=all produce through %d: %d, want %d", id, got,
                      want);
        tb_sleep_ms(100);
    }
}

/* ---- the tests ----------------------------------------------------------------------------- */

START_TEST(alters_reach_every_broker)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_config");
    const char *chroot = "/tcfg";
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(start_broker(chroot, i), 0);
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    ck_assert_ptr_nonnull(zh);
    char path[256];

    /* "tc": three replicas; "one": on broker 3 alone */
    ck_assert_int_eq(create(1, "tc", 3, NULL, 0), 0);
    const int32_t on3[] = {3};
    ck_assert_int_eq(create(1, "one", 1, on3, 1), 0);
    int32_t leader = wait_leader("tc");
    ck_assert_int_eq(wait_leader("one"), 3);
    described_everywhere("tc", "retention.ms", "604800000", KP_CONFIG_SOURCE_DEFAULT);

    /* incremental through broker 1: ZooKeeper has the set and a notification, every broker
     * describes it at once, every replica's store takes it */
    ck_assert_int_eq(incremental(1, "tc", "retention.ms", KP_CONFIG_OP_SET, "123456", false), 0);
    ck_assert_int_eq(incremental(1, "tc", "segment.bytes", KP_CONFIG_OP_SET, "1048576", false), 0);
    snprintf(path, sizeof path, "%s/config/topics/tc", chroot);
    const char *json = tb_zk_get(zh, path, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(strstr(json, "\"version\":1") && strstr(json, "\"retention.ms\":\"123456\"") &&
                      strstr(json, "\"segment.bytes\":\"1048576\""),
                  "/config/topics/tc: %s", json);
    struct String_vector kids = {0};
    snprintf(path, sizeof path, "%s/config/changes", chroot);
    ck_assert_int_eq(zoo_get_children(zh, path, 0, &kids), ZOK);
    ck_assert_int_ge(kids.count, 2);
    char note[512];
    snprintf(note, sizeof note, "%s/%s", path, kids.data[0]);
    deallocate_String_vector(&kids);
    json = tb_zk_get(zh, note, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(strstr(json, "\"version\":2") && strstr(json, "\"entity_path\":\"topics/tc\""),
                  "%s: %s", note, json);
    described_everywhere("tc", "retention.ms", "123456", KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
    described_everywhere("tc", "segment.bytes", "1048576", KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
    for (int id = 1; id <= NBROKERS; id++)
        wait_stored(id, "tc", "retention.ms=123456", true);

    /* the legacy AlterConfigs through broker 2 replaces the set */
    struct kp_alter_configs_config set[] = {{kp_str_of("cleanup.policy"), kp_str_of("compact")},
                                            {kp_str_of("max.message.bytes"), kp_str_of("50000")}};
    ck_assert_int_eq(alter(2, "tc", set, 2), 0);
    described_everywhere("tc", "cleanup.policy", "compact", KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
    described_everywhere("tc", "max.message.bytes", "50000", KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
    described_everywhere("tc", "retention.ms", "604800000", KP_CONFIG_SOURCE_DEFAULT);
    for (int id = 1; id <= NBROKERS; id++) {
        wait_stored(id, "tc", "max.message.bytes=50000", true);
        wait_stored(id, "tc", "retention.ms=123456", false);
    }

    /* validate_only: checked, nothing written */
    ck_assert_int_eq(incremental(3, "tc", "retention.ms", KP_CONFIG_OP_SET, "999", true), 0);
    ck_assert_int_eq(incremental(3, "tc", "retention.ms", KP_CONFIG_OP_SET, "x", true),
                     KP_ERR_INVALID_CONFIG);
    ck_assert_int_eq(incremental(3, "nope", "retention.ms", KP_CONFIG_OP_SET, "999", true),
                     KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    /* an unknown topic is UNKNOWN_TOPIC_OR_PARTITION whatever its configs (Kafka looks the
     * topic up first; librdkafka's 0081_admin asks it), a known one with an unknown key
     * INVALID_CONFIG */
    const struct kp_alter_configs_config bogus = {kp_str_of("no.such.key"), kp_str_of("1")};
    ck_assert_int_eq(alter(3, "nope", &bogus, 1), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(incremental(2, "nope", "no.such.key", KP_CONFIG_OP_SET, "1", false),
                     KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(alter(3, "tc", &bogus, 1), KP_ERR_INVALID_CONFIG);
    snprintf(path, sizeof path, "%s/config/topics/tc", chroot);
    json = tb_zk_get(zh, path, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(!strstr(json, "999"), "/config/topics/tc: %s", json);
    described_everywhere("tc", "retention.ms", "604800000", KP_CONFIG_SOURCE_DEFAULT);

    /* a topic altered through a broker without a replica, described by another without one */
    ck_assert_int_eq(incremental(2, "one", "retention.ms", KP_CONFIG_OP_SET, "4242", false), 0);
    described_everywhere("one", "retention.ms", "4242", KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
    wait_stored(3, "one", "retention.ms=4242", true);

    /* min.insync.replicas through a follower acts on the leader: stop the third replica (the
     * controller takes it out of the ISR), then acks=all is refused below 3, taken at 2 */
    int f1 = leader % 3 + 1, f2 = f1 % 3 + 1; /* the followers */
    ck_assert_int_eq(incremental(f1, "tc", "cleanup.policy", KP_CONFIG_OP_DELETE, NULL, false), 0);
    wait_produce(leader, "tc", 0);
    ck_assert_int_eq(tb_broker_stop(&B[f2], SIGTERM), 0);
    ck_assert_int_eq(incremental(f1, "tc", "min.insync.replicas", KP_CONFIG_OP_SET, "3", false), 0);
    wait_produce(leader, "tc", KP_ERR_NOT_ENOUGH_REPLICAS);
    ck_assert_int_eq(incremental(f1, "tc", "min.insync.replicas", KP_CONFIG_OP_SET, "2", false), 0);
    wait_produce(leader, "tc", 0);

    /* a change while f2 is down: it has it once restarted */
    ck_assert_int_eq(incremental(f1, "tc", "retention.ms", KP_CONFIG_OP_SET, "777777", false), 0);
    ck_assert(!stored(f2, "tc", "retention.ms=777777"));
    ck_assert_int_eq(start_broker(chroot, f2), 0);
    wait_stored(f2, "tc", "retention.ms=777777", true);
    wait_stored(f2, "tc", "min.insync.replicas=2", true);
    described_everywhere("tc", "retention.ms", "777777", KP_CONFIG_SOURCE_DYNAMIC_TOPIC);

    /* a change written by Kafka's own tools (kafka-configs --zookeeper: the set, then a
     * notification; an older one writes version 1) is applied too */
    snprintf(path, sizeof path, "%s/config/topics/tc", chroot);
    const char *doc = "{\"version\":1,\"config\":{\"retention.ms\":\"55555\"}}";
    ck_assert_int_eq(zoo_set(zh, path, doc, (int)strlen(doc), -1), ZOK);
    snprintf(path, sizeof path, "%s/config/changes/config_change_", chroot);
    const char *v1 = "{\"version\":1,\"entity_type\":\"topics\",\"entity_name\":\"tc\"}";
    ck_assert_int_eq(
        zoo_create(zh, path, v1, (int)strlen(v1), &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, NULL, 0),
        ZOK);
    for (int id = 1; id <= NBROKERS; id++) {
        wait_stored(id, "tc", "retention.ms=55555", true);
        wait_stored(id, "tc", "min.insync.replicas=2", false);
    }
    described_everywhere("tc", "retention.ms", "55555", KP_CONFIG_SOURCE_DYNAMIC_TOPIC);

    /* a deleted topic's configs go with it */
    ck_assert_int_eq(delete_topic(1, "one"), 0);
    snprintf(path, sizeof path, "%s/config/topics/one", chroot);
    int64_t until = tb_now_ms() + WAIT_MS;
    while (tb_zk_get(zh, path, NULL)) {
        ck_assert_msg(tb_now_ms() < until, "%s still there", path);
        tb_sleep_ms(100);
    }
    zookeeper_close(zh);
}
END_TEST

START_TEST(auto_create_below_replication_factor)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_config");
    const char *chroot = "/tcfg-rf";
    for (int i = 1; i <= 2; i++)
        ck_assert_int_eq(start_broker(chroot, i), 0);
    static struct tb_metadata m;
    const char *const names[] = {"auto-rf"};
    int fd = tb_connect(B[1].port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_metadata(fd, names, 1, true, &m), 0);
    close(fd);
    ck_assert_int_eq(m.n_topics, 1);
    ck_assert_int_eq(m.topic[0].error, KP_ERR_INVALID_REPLICATION_FACTOR);
    ck_assert_int_eq(create(2, "rf3", 3, NULL, 0), KP_ERR_INVALID_REPLICATION_FACTOR);
}
END_TEST

/* With ZooKeeper away (its process stopped), an alter of a cluster's topic is not a silent
 * success: the answer is REQUEST_TIMED_OUT (retriable) and nothing changed; once it is back the
 * same alter goes through. */
START_TEST(zookeeper_away_is_an_error)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_config");
    const char *chroot = "/tcfg-away";
    const char *const more[] = {"-o", "default.replication.factor=1", NULL};
    ck_assert_int_eq(tb_zk_broker_start(&B[1], &tb_clu_zk, chroot, 1, SESSION_MS, NULL, more), 0);
    ck_assert_int_eq(create(1, "away", 1, NULL, 0), 0);
    ck_assert_int_eq(wait_leader("away"), 1);
    ck_assert_int_eq(kill(tb_clu_zk.pid, SIGSTOP), 0);
    int16_t err = incremental(1, "away", "retention.ms", KP_CONFIG_OP_SET, "31337", false);
    int16_t derr;
    (void)describe(1, "away", "retention.ms", &derr);
    ck_assert_int_eq(kill(tb_clu_zk.pid, SIGCONT), 0);
    ck_assert_msg(err == KP_ERR_REQUEST_TIMED_OUT, "alter with ZooKeeper away: %d", err);
    ck_assert_msg(derr == KP_ERR_REQUEST_TIMED_OUT, "describe with ZooKeeper away: %d", derr);
    ck_assert(!stored(1, "away", "retention.ms=31337"));
    int64_t until = tb_now_ms() + WAIT_MS;
    while ((err = incremental(1, "away", "retention.ms", KP_CONFIG_OP_SET, "31337", false))) {
        ck_assert_msg(tb_now_ms() < until, "alter once ZooKeeper is back: %d", err);
        tb_sleep_ms(200);
    }
    described_everywhere("away", "retention.ms", "31337", KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
    wait_stored(1, "away", "retention.ms=31337", true);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_config");
    TCase *tc = tb_clu_tcase("config", teardown, 300);
    tcase_add_test(tc, alters_reach_every_broker);
    tcase_add_test(tc, auto_create_below_replication_factor);
    suite_add_tcase(s, tc);
    /* (its own ZooKeeper: the test stops and resumes the process) */
    TCase *away = tb_clu_tcase("zookeeper_away", teardown, 300);
    tcase_add_test(away, zookeeper_away_is_an_error);
    suite_add_tcase(s, away);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
