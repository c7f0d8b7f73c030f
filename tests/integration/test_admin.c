/*
 * test_admin — the admin and group APIs of issue 14 on a real splicelogd, in raw protocol at
 * every advertised version: CreatePartitions (new partitions in Metadata, Kafka's errors),
 * DescribeConfigs / AlterConfigs / IncrementalAlterConfigs (sources and synonyms, errors,
 * changes durable and in effect without a restart: max.message.bytes, min.insync.replicas,
 * retention.bytes), CreateTopics with configs and validate_only, DeleteRecords, DescribeCluster,
 * DescribeLogDirs, ListGroups / DescribeGroups / DeleteGroups / OffsetDelete (a group with a
 * member, a group of committed offsets only), ElectLeaders on a single node (every partition led
 * by its only replica: ELECTION_NOT_NEEDED, UNKNOWN_TOPIC_OR_PARTITION, a null list answered
 * empty, an unknown election type INVALID_REQUEST). Requests are encoded with proto's codec behind
 * a header written here (test_api_flex has golden bytes for the flexible layouts).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"
#include "../support/tb_codec.h"
#include "kp_msg.h"
#include "kp_msg_cluster.h"
#include "kp_msg_config.h"
#include "kp_msg_groups_admin.h"

static struct tb_broker B;
static uint8_t arena_mem[1 << 20];
static int32_t corr = 1;

static void setup(void)
{
    static const char *const extra[] = {"-o", "num.partitions=1",
                                        "-o", "group.initial.rebalance.delay.ms=0",
                                        "-o", "log.retention.check.interval.ms=200",
                                        "-o", "log.cleaner.backoff.ms=100",
                                        NULL};
    tb_ck_start_fresh(&B, extra);
}

static void teardown(void) { tb_ck_finish(&B); }

static struct kp_arena arena(void)
{
    struct kp_arena a;
    kp_arena_init(&a, arena_mem, sizeof(arena_mem));
    return a;
}

/* One request/response with proto's codec: ENC(wr, v, req) and DEC(rd, v, arena, out). */
#define ROUND(fd, key, v, ENC, req, DEC, out, f)                                                   \
    do {                                                                                           \
        struct kp_arena a_ = arena();                                                              \
        TB_CODEC_ROUND(fd, key, v, ++corr, "admin-test", ENC, req, DEC, &a_, out, f);              \
    } while (0)

static int32_t partitions_of(int fd, const char *topic)
{
    struct kp_str name = kp_str_of(topic);
    struct kp_metadata_req req = {.n_topics = 1, .topics = &name};
    struct kp_metadata_resp resp;
    struct tb_frame f;
    ROUND(fd, KP_API_METADATA, 12, kp_metadata_req_encode, &req, kp_metadata_resp_decode, &resp,
          &f);
    int32_t n =
        resp.topics[0].error_code ? -resp.topics[0].error_code : resp.topics[0].n_partitions;
    tb_frame_free(&f);
    return n;
}

static int16_t create_partitions(int fd, int16_t v, const char *topic, int32_t count,
                                 const struct kp_create_partitions_assignment *as, int32_t nas,
                                 bool validate_only)
{
    struct kp_create_partitions_topic t = {
        .name = kp_str_of(topic), .count = count, .n_assignments = nas, .assignments = as};
    struct kp_create_partitions_req req = {
        .n_topics = 1, .topics = &t, .timeout_ms = 5000, .validate_only = validate_only};
    struct kp_create_partitions_resp resp;
    struct tb_frame f;
    ROUND(fd, KP_API_CREATE_PARTITIONS, v, kp_create_partitions_req_encode, &req,
          kp_create_partitions_resp_decode, &resp, &f);
    ck_assert_int_eq(resp.n_results, 1);
    ck_assert(kp_str_eq(resp.results[0].name, topic));
    int16_t err = resp.results[0].error_code;
    if (err == 0)
        ck_assert_int_lt(resp.results[0].error_message.len, 0);
    tb_frame_free(&f);
    return err;
}

START_TEST(create_partitions_every_version_and_errors)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "cp", 1);
    for (int16_t v = 0; v <= 3; v++) {
        ck_assert_int_eq(create_partitions(fd, v, "cp", v + 2, NULL, -1, false), 0);
        ck_assert_int_eq(partitions_of(fd, "cp"), v + 2);
    }
    /* the new partitions take records */
    ck_assert_int_eq(tb_ck_produce_seq(fd, "cp", 4, "n", 0, 3, 0), 0);
    ck_assert_int_eq(create_partitions(fd, 3, "cp", 5, NULL, -1, false), KP_ERR_INVALID_PARTITIONS);
    ck_assert_int_eq(create_partitions(fd, 3, "cp", 2, NULL, -1, false), KP_ERR_INVALID_PARTITIONS);
    ck_assert_int_eq(create_partitions(fd, 3, "nope", 2, NULL, -1, false),
                     KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    int32_t other = 7;
    struct kp_create_partitions_assignment bad = {1, &other};
    ck_assert_int_eq(create_partitions(fd, 3, "cp", 6, &bad, 1, false),
                     KP_ERR_INVALID_REPLICA_ASSIGNMENT);
    int32_t me = 0;
    struct kp_create_partitions_assignment good[2] = {{1, &me}, {1, &me}};
    ck_assert_int_eq(create_partitions(fd, 3, "cp", 7, good, 1, false),
                     KP_ERR_INVALID_REPLICA_ASSIGNMENT); /* one list per new partition */
    ck_assert_int_eq(create_partitions(fd, 3, "cp", 7, good, 2, true), 0);
    ck_assert_int_eq(partitions_of(fd, "cp"), 5); /* validate_only changed nothing */
    ck_assert_int_eq(create_partitions(fd, 3, "cp", 7, good, 2, false), 0);
    ck_assert_int_eq(partitions_of(fd, "cp"), 7);

    /* a topic named twice: INVALID_REQUEST for both */
    struct kp_create_partitions_topic two[2] = {{kp_str_of("cp"), 9, -1, NULL},
                                                {kp_str_of("cp"), 9, -1, NULL}};
    struct kp_create_partitions_req req = {.n_topics = 2, .topics = two, .timeout_ms = 5000};
    struct kp_create_partitions_resp resp;
    struct tb_frame f;
    ROUND(fd, KP_API_CREATE_PARTITIONS, 2, kp_create_partitions_req_encode, &req,
          kp_create_partitions_resp_decode, &resp, &f);
    ck_assert_int_eq(resp.results[0].error_code, KP_ERR_INVALID_REQUEST);
    ck_assert_int_eq(resp.results[1].error_code, KP_ERR_INVALID_REQUEST);
    tb_frame_free(&f);

    /* kept across a restart */
    close(fd);
    tb_ck_stop_clean(&B);
    tb_ck_start(&B, NULL);
    fd = tb_ck_connect(&B);
    ck_assert_int_eq(partitions_of(fd, "cp"), 7);
    close(fd);
}
END_TEST

/* ---- configs ----------------------------------------------------------------------------- */

struct entry {
    char value[64];
    int8_t source;
    int n_synonyms;
    int8_t syn_source[3];
    char syn_name[3][64];
    bool found;
};

/* DescribeConfigs of one topic (or broker) key at version v. */
static struct entry describe(int fd, int16_t v, int8_t type, const char *name, const char *key,
                             int16_t *err)
{
    struct kp_str k = kp_str_of(key);
    struct kp_describe_configs_resource res = {.resource_type = type,
                                               .resource_name = kp_str_of(name),
                                               .n_configuration_keys = 1,
                                               .configuration_keys = &k};
    struct kp_describe_configs_req req = {.n_resources = 1,
                                          .resources = &res,
                                          .include_synonyms = v >= 1,
                                          .include_documentation = v >= 3};
    struct kp_describe_configs_resp resp;
    struct tb_frame f;
    ROUND(fd, KP_API_DESCRIBE_CONFIGS, v, kp_describe_configs_req_encode, &req,
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
        e.n_synonyms = c->n_synonyms;
        for (int32_t j = 0; j < c->n_synonyms && j < 3; j++) {
            e.syn_source[j] = c->synonyms[j].source;
            snprintf(e.syn_name[j], 64, "%.*s", c->synonyms[j].name.len, c->synonyms[j].name.ptr);
        }
    }
    tb_frame_free(&f);
    return e;
}

static int16_t incremental(int fd, int16_t v, int8_t type, const char *name, const char *key,
                           int8_t op, const char *value, bool validate_only, char *msg)
{
    struct kp_incremental_alter_configs_config c = {kp_str_of(key), op,
                                                    value ? kp_str_of(value) : KP_STR_NULL};
    struct kp_incremental_alter_configs_resource res = {type, kp_str_of(name), 1, &c};
    struct kp_incremental_alter_configs_req req = {1, &res, validate_only};
    struct kp_incremental_alter_configs_resp resp;
    struct tb_frame f;
    ROUND(fd, KP_API_INCREMENTAL_ALTER_CONFIGS, v, kp_incremental_alter_configs_req_encode, &req,
          kp_incremental_alter_configs_resp_decode, &resp, &f);
    ck_assert_int_eq(resp.n_responses, 1);
    int16_t err = resp.responses[0].error_code;
    if (msg)
        snprintf(msg, 128, "%.*s",
                 resp.responses[0].error_message.len > 0 ? resp.responses[0].error_message.len : 0,
                 resp.responses[0].error_message.ptr);
    tb_frame_free(&f);
    return err;
}

static int16_t alter(int fd, int16_t v, const char *topic, const struct kp_alter_configs_config *cs,
                     int32_t n)
{
    struct kp_alter_configs_resource res = {KP_CONFIG_RESOURCE_TOPIC, kp_str_of(topic), n, cs};
    struct kp_alter_configs_req req = {1, &res, false};
    struct kp_alter_configs_resp resp;
    struct tb_frame f;
    ROUND(fd, KP_API_ALTER_CONFIGS, v, kp_alter_configs_req_encode, &req,
          kp_alter_configs_resp_decode, &resp, &f);
    int16_t err = resp.responses[0].error_code;
    tb_frame_free(&f);
    return err;
}

START_TEST(configs_sources_synonyms_and_errors)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "cf", 1);
    int16_t err;
    for (int16_t v = 1; v <= 4; v++) {
        struct entry e = describe(fd, v, KP_CONFIG_RESOURCE_TOPIC, "cf", "retention.ms", &err);
        ck_assert_int_eq(err, 0);
        ck_assert(e.found);
        ck_assert_str_eq(e.value, "604800000");
        ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DEFAULT);
        ck_assert_int_eq(e.n_synonyms, 1);
        ck_assert_str_eq(e.syn_name[0], "log.retention.ms");
    }
    /* IncrementalAlterConfigs v0-1: SET, then the source is the topic's */
    for (int16_t v = 0; v <= 1; v++) {
        ck_assert_int_eq(incremental(fd, v, KP_CONFIG_RESOURCE_TOPIC, "cf", "retention.ms",
                                     KP_CONFIG_OP_SET, v ? "3600000" : "7200000", false, NULL),
                         0);
        struct entry e = describe(fd, 4, KP_CONFIG_RESOURCE_TOPIC, "cf", "retention.ms", &err);
        ck_assert_str_eq(e.value, v ? "3600000" : "7200000");
        ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
        ck_assert_int_eq(e.n_synonyms, 2);
        ck_assert_int_eq(e.syn_source[0], KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
        ck_assert_str_eq(e.syn_name[0], "retention.ms");
        ck_assert_int_eq(e.syn_source[1], KP_CONFIG_SOURCE_DEFAULT);
    }
    /* validate_only changes nothing; DELETE goes back to the default */
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cf", "segment.ms",
                                 KP_CONFIG_OP_SET, "60000", true, NULL),
                     0);
    struct entry e = describe(fd, 4, KP_CONFIG_RESOURCE_TOPIC, "cf", "segment.ms", &err);
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DEFAULT);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cf", "retention.ms",
                                 KP_CONFIG_OP_DELETE, NULL, false, NULL),
                     0);
    e = describe(fd, 4, KP_CONFIG_RESOURCE_TOPIC, "cf", "retention.ms", &err);
    ck_assert_str_eq(e.value, "604800000");
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DEFAULT);

    /* AlterConfigs v0-2 replaces the topic's whole set */
    for (int16_t v = 0; v <= 2; v++) {
        struct kp_alter_configs_config cs[2] = {
            {kp_str_of("retention.bytes"), kp_str_of("65536")},
            {kp_str_of("message.timestamp.type"), kp_str_of("LogAppendTime")}};
        ck_assert_int_eq(alter(fd, v, "cf", cs, v == 2 ? 1 : 2), 0);
        e = describe(fd, 2, KP_CONFIG_RESOURCE_TOPIC, "cf", "message.timestamp.type", &err);
        ck_assert_str_eq(e.value, v == 2 ? "CreateTime" : "LogAppendTime");
        e = describe(fd, 2, KP_CONFIG_RESOURCE_TOPIC, "cf", "retention.bytes", &err);
        ck_assert_str_eq(e.value, "65536");
        ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
    }

    /* accepted and ignored, as Kafka 3.0+ ignores message.format.version (librdkafka's test
     * 0092 sets it to 0.10.0.0 through AlterConfigs, 0077 creates with file.delete.delay.ms) */
    {
        struct kp_alter_configs_config cs[3] = {
            {kp_str_of("message.format.version"), kp_str_of("0.10.0.0")},
            {kp_str_of("file.delete.delay.ms"), kp_str_of("10000")},
            {kp_str_of("retention.bytes"), kp_str_of("65536")}};
        ck_assert_int_eq(alter(fd, 0, "cf", cs, 3), 0);
        e = describe(fd, 2, KP_CONFIG_RESOURCE_TOPIC, "cf", "message.format.version", &err);
        ck_assert_str_eq(e.value, "3.0-IV1");
        ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DEFAULT);
        ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cf",
                                     "message.format.version", KP_CONFIG_OP_SET, "2.8-IV1", false,
                                     NULL),
                         0);
        cs[0].value = kp_str_of("banana");
        ck_assert_int_eq(alter(fd, 0, "cf", cs, 1), KP_ERR_INVALID_CONFIG);
        cs[1].value = kp_str_of("-1");
        ck_assert_int_eq(alter(fd, 0, "cf", cs + 1, 1), KP_ERR_INVALID_CONFIG);
        e = describe(fd, 2, KP_CONFIG_RESOURCE_TOPIC, "cf", "retention.bytes", &err);
        ck_assert_str_eq(e.value, "65536");
    }

    /* errors, as Kafka */
    char msg[128];
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cf", "no.such.key",
                                 KP_CONFIG_OP_SET, "1", false, msg),
                     KP_ERR_INVALID_CONFIG);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cf", "retention.ms",
                                 KP_CONFIG_OP_SET, "soon", false, msg),
                     KP_ERR_INVALID_CONFIG);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cf", "cleanup.policy",
                                 KP_CONFIG_OP_SET, "squash", false, msg),
                     KP_ERR_INVALID_CONFIG);
    ck_assert_msg(strstr(msg, "cleanup.policy"), "message: %s", msg);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cf", "retention.ms",
                                 KP_CONFIG_OP_APPEND, "1", false, msg),
                     KP_ERR_INVALID_CONFIG);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "nope", "retention.ms",
                                 KP_CONFIG_OP_SET, "1", false, msg),
                     KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_BROKER, "0", "log.dirs",
                                 KP_CONFIG_OP_SET, "/elsewhere", false, msg),
                     KP_ERR_INVALID_REQUEST); /* not dynamic in Kafka either */
    describe(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "nope", "retention.ms", &err);
    ck_assert_int_eq(err, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    describe(fd, 1, KP_CONFIG_RESOURCE_BROKER, "7", "log.retention.ms", &err);
    ck_assert_int_eq(err, KP_ERR_INVALID_REQUEST);

    /* the broker: read-only, STATIC_BROKER where its file set a key */
    e = describe(fd, 4, KP_CONFIG_RESOURCE_BROKER, "0", "num.partitions", &err);
    ck_assert_int_eq(err, 0);
    ck_assert_str_eq(e.value, "1");
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DEFAULT);
    e = describe(fd, 4, KP_CONFIG_RESOURCE_BROKER, "", "log.retention.ms", &err);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DEFAULT);

    /* kept across a restart */
    close(fd);
    tb_ck_stop_clean(&B);
    tb_ck_start(&B, NULL);
    fd = tb_ck_connect(&B);
    e = describe(fd, 4, KP_CONFIG_RESOURCE_TOPIC, "cf", "retention.bytes", &err);
    ck_assert_str_eq(e.value, "65536");
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
    close(fd);
}
END_TEST

static int16_t produce_keyed(int fd, const char *topic, int16_t acks, int count, size_t pad,
                             bool keyed)
{
    static uint8_t batch[64 << 10];
    long n = tb_batch_values(batch, sizeof batch, "rt", 0, count, pad, keyed, 1700000000000);
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
    ROUND(fd, KP_API_PRODUCE, 9, kp_produce_req_encode, &req, kp_produce_resp_decode, &resp, &f);
    int16_t err = resp.topics[0].partitions[0].error_code;
    tb_frame_free(&f);
    return err;
}

static int16_t produce_err(int fd, const char *topic, int16_t acks, int count, size_t pad)
{
    return produce_keyed(fd, topic, acks, count, pad, false);
}

static int64_t log_start(int fd, const char *topic)
{
    struct tb_list_offsets_resp lo;
    ck_assert_int_eq(tb_list_offsets(fd, topic, 0, -2, &lo), 0);
    return lo.offset;
}

/* Changed configs act on the running topic: max.message.bytes, min.insync.replicas and
 * retention.bytes, without a restart. */
START_TEST(configs_take_effect_at_once)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "rt", 1);
    ck_assert_int_eq(produce_err(fd, "rt", -1, 4, 500), 0);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "rt", "max.message.bytes",
                                 KP_CONFIG_OP_SET, "1000", false, NULL),
                     0);
    ck_assert_int_eq(produce_err(fd, "rt", -1, 4, 500), KP_ERR_MESSAGE_TOO_LARGE);
    ck_assert_int_eq(produce_err(fd, "rt", -1, 1, 10), 0);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "rt", "min.insync.replicas",
                                 KP_CONFIG_OP_SET, "2", false, NULL),
                     0);
    ck_assert_int_eq(produce_err(fd, "rt", -1, 1, 10), KP_ERR_NOT_ENOUGH_REPLICAS);
    ck_assert_int_eq(produce_err(fd, "rt", 1, 1, 10), 0); /* acks=1 does not ask for replicas */
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "rt", "max.message.bytes",
                                 KP_CONFIG_OP_DELETE, NULL, false, NULL),
                     0);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "rt", "min.insync.replicas",
                                 KP_CONFIG_OP_DELETE, NULL, false, NULL),
                     0);
    ck_assert_int_eq(produce_err(fd, "rt", -1, 4, 500), 0);

    /* small segments, then a retention.bytes that the housekeeping applies within a second or
     * two: the log start moves without a restart */
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "rt", "segment.bytes",
                                 KP_CONFIG_OP_SET, "4096", false, NULL),
                     0);
    for (int i = 0; i < 12; i++)
        ck_assert_int_eq(produce_err(fd, "rt", -1, 2, 1000), 0);
    ck_assert_int_eq(log_start(fd, "rt"), 0);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "rt", "retention.bytes",
                                 KP_CONFIG_OP_SET, "8192", false, NULL),
                     0);
    int64_t start = 0;
    for (int i = 0; i < 100 && start == 0; i++) {
        usleep(100 * 1000);
        start = log_start(fd, "rt");
    }
    ck_assert_int_gt(start, 0);
    close(fd);
}
END_TEST

/* Bytes of partition 0 of topic (DescribeLogDirs). */
static int64_t partition_size(int fd, const char *topic)
{
    int32_t part = 0;
    struct kp_describe_log_dirs_req_topic t = {kp_str_of(topic), 1, &part};
    struct kp_describe_log_dirs_req req = {.n_topics = 1, .topics = &t};
    struct kp_describe_log_dirs_resp resp;
    struct tb_frame f;
    ROUND(fd, KP_API_DESCRIBE_LOG_DIRS, 1, kp_describe_log_dirs_req_encode, &req,
          kp_describe_log_dirs_resp_decode, &resp, &f);
    ck_assert_int_eq(resp.n_results, 1);
    ck_assert_int_eq(resp.results[0].n_topics, 1);
    int64_t size = resp.results[0].topics[0].partitions[0].partition_size;
    tb_frame_free(&f);
    return size;
}

/* A topic altered to cleanup.policy=compact at run time is compacted by the running cleaner
 * (the same 8 keys written 16 times over small segments: the log shrinks, its start stays);
 * DescribeConfigs reports the policy as DYNAMIC_TOPIC; APPEND / SUBTRACT edit the list, which
 * may not become empty; the compaction keys are validated. */
START_TEST(alter_to_compact_at_run_time)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "cp", 1);
    int16_t err;
    struct entry e = describe(fd, 4, KP_CONFIG_RESOURCE_TOPIC, "cp", "cleanup.policy", &err);
    ck_assert_int_eq(err, 0);
    ck_assert_str_eq(e.value, "delete");
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DEFAULT);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cp", "segment.bytes",
                                 KP_CONFIG_OP_SET, "4096", false, NULL),
                     0);
    /* the records' timestamps are old: no time retention to blur the sizes */
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cp", "retention.ms",
                                 KP_CONFIG_OP_SET, "-1", false, NULL),
                     0);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(produce_keyed(fd, "cp", -1, 8, 200, true), 0);
    int64_t before = partition_size(fd, "cp");
    ck_assert_int_gt(before, 16 * 8 * 200);
    /* a second of delete-policy housekeeping: nothing is compacted */
    usleep(1000 * 1000);
    ck_assert_int_eq(partition_size(fd, "cp"), before);

    char msg[128];
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cp", "min.cleanable.dirty.ratio",
                                 KP_CONFIG_OP_SET, "1.5", false, msg),
                     KP_ERR_INVALID_CONFIG);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cp", "max.compaction.lag.ms",
                                 KP_CONFIG_OP_SET, "0", false, msg),
                     KP_ERR_INVALID_CONFIG);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cp", "min.cleanable.dirty.ratio",
                                 KP_CONFIG_OP_SET, "0.01", false, NULL),
                     0);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cp", "cleanup.policy",
                                 KP_CONFIG_OP_SET, "compact", false, NULL),
                     0);
    e = describe(fd, 4, KP_CONFIG_RESOURCE_TOPIC, "cp", "cleanup.policy", &err);
    ck_assert_str_eq(e.value, "compact");
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
    ck_assert_int_eq(e.n_synonyms, 2);
    ck_assert_str_eq(e.syn_name[1], "log.cleanup.policy");
    e = describe(fd, 4, KP_CONFIG_RESOURCE_TOPIC, "cp", "min.cleanable.dirty.ratio", &err);
    ck_assert_str_eq(e.value, "0.01");
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
    e = describe(fd, 4, KP_CONFIG_RESOURCE_TOPIC, "cp", "delete.retention.ms", &err);
    ck_assert_str_eq(e.value, "86400000");
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DEFAULT);

    int64_t after = before;
    for (int i = 0; i < 150 && after >= before / 2; i++) { /* up to 15 s */
        usleep(100 * 1000);
        after = partition_size(fd, "cp");
    }
    ck_assert_msg(after < before / 2, "compacted %lld -> %lld bytes", (long long)before,
                  (long long)after);
    ck_assert_int_eq(log_start(fd, "cp"), 0); /* compaction keeps offsets */

    /* APPEND and SUBTRACT on the list */
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cp", "cleanup.policy",
                                 KP_CONFIG_OP_APPEND, "delete", false, NULL),
                     0);
    e = describe(fd, 4, KP_CONFIG_RESOURCE_TOPIC, "cp", "cleanup.policy", &err);
    ck_assert_str_eq(e.value, "compact,delete");
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cp", "cleanup.policy",
                                 KP_CONFIG_OP_SUBTRACT, "compact", false, NULL),
                     0);
    e = describe(fd, 4, KP_CONFIG_RESOURCE_TOPIC, "cp", "cleanup.policy", &err);
    ck_assert_str_eq(e.value, "delete");
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DYNAMIC_TOPIC);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cp", "cleanup.policy",
                                 KP_CONFIG_OP_SUBTRACT, "delete", false, msg),
                     KP_ERR_INVALID_CONFIG);
    ck_assert_msg(strstr(msg, "empty"), "message: %s", msg);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_TOPIC, "cp", "cleanup.policy",
                                 KP_CONFIG_OP_DELETE, NULL, false, NULL),
                     0);
    e = describe(fd, 4, KP_CONFIG_RESOURCE_TOPIC, "cp", "cleanup.policy", &err);
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DEFAULT);
    close(fd);
}
END_TEST

/* CreateTopics v5+ with configs: they are the topic's from the start; validate_only creates
 * nothing; replication factor 3 is INVALID_REPLICATION_FACTOR; a bad config INVALID_CONFIG. */
START_TEST(create_topics_configs_and_validate_only)
{
    int fd = tb_ck_connect(&B);
    for (int16_t v = 5; v <= 7; v++) {
        char name[16];
        snprintf(name, sizeof name, "ct%d", v);
        struct kp_create_topics_config cfg = {kp_str_of("retention.ms"), kp_str_of("1000")};
        struct kp_create_topics_topic t = {.name = kp_str_of(name),
                                           .num_partitions = 2,
                                           .replication_factor = 1,
                                           .n_configs = 1,
                                           .configs = &cfg};
        struct kp_create_topics_req req = {
            .n_topics = 1, .topics = &t, .timeout_ms = 5000, .validate_only = true};
        struct kp_create_topics_resp resp;
        struct tb_frame f;
        ROUND(fd, KP_API_CREATE_TOPICS, v, kp_create_topics_req_encode, &req,
              kp_create_topics_resp_decode, &resp, &f);
        ck_assert_int_eq(resp.topics[0].error_code, 0);
        ck_assert_int_eq(resp.topics[0].num_partitions, 2);
        tb_frame_free(&f);
        ck_assert_int_eq(partitions_of(fd, name), -KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
        req.validate_only = false;
        ROUND(fd, KP_API_CREATE_TOPICS, v, kp_create_topics_req_encode, &req,
              kp_create_topics_resp_decode, &resp, &f);
        ck_assert_int_eq(resp.topics[0].error_code, 0);
        ck_assert_int_eq(resp.topics[0].replication_factor, 1);
        if (v >= 7) {
            static const struct kp_uuid zero;
            ck_assert_int_ne(memcmp(&resp.topics[0].topic_id, &zero, sizeof zero), 0);
        }
        tb_frame_free(&f);
        int16_t err;
        struct entry e = describe(fd, 4, KP_CONFIG_RESOURCE_TOPIC, name, "retention.ms", &err);
        ck_assert_str_eq(e.value, "1000");
        ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DYNAMIC_TOPIC);

        t.replication_factor = 3;
        ROUND(fd, KP_API_CREATE_TOPICS, v, kp_create_topics_req_encode, &req,
              kp_create_topics_resp_decode, &resp, &f);
        ck_assert_int_eq(resp.topics[0].error_code, KP_ERR_INVALID_REPLICATION_FACTOR);
        tb_frame_free(&f);
        t.replication_factor = -1;
        cfg.value = kp_str_of("squash");
        cfg.name = kp_str_of("cleanup.policy");
        t.name = kp_str_of("ctbad");
        ROUND(fd, KP_API_CREATE_TOPICS, v, kp_create_topics_req_encode, &req,
              kp_create_topics_resp_decode, &resp, &f);
        ck_assert_int_eq(resp.topics[0].error_code, KP_ERR_INVALID_CONFIG);
        tb_frame_free(&f);
    }
    close(fd);
}
END_TEST

static struct kp_delete_records_resp_partition delete_records(int fd, int16_t v, const char *topic,
                                                              int32_t part, int64_t offset)
{
    struct kp_delete_records_req_partition p = {part, offset};
    struct kp_delete_records_req_topic t = {kp_str_of(topic), 1, &p};
    struct kp_delete_records_req req = {1, &t, 5000};
    struct kp_delete_records_resp resp;
    struct tb_frame f;
    ROUND(fd, KP_API_DELETE_RECORDS, v, kp_delete_records_req_encode, &req,
          kp_delete_records_resp_decode, &resp, &f);
    struct kp_delete_records_resp_partition o = resp.topics[0].partitions[0];
    tb_frame_free(&f);
    return o;
}

/* DeleteRecords v0-2 advance the log start offset (ListOffsets earliest, fetches below it out
 * of range), for good; Kafka's errors past the high watermark and for unknown partitions. */
START_TEST(delete_records_every_version)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "dr", 1);
    ck_assert_int_eq(tb_ck_produce_seq(fd, "dr", 0, "d", 0, 10, 0), 0);
    for (int16_t v = 0; v <= 2; v++) {
        struct kp_delete_records_resp_partition o = delete_records(fd, v, "dr", 0, 2 + 2 * v);
        ck_assert_int_eq(o.error_code, 0);
        ck_assert_int_eq(o.low_watermark, 2 + 2 * v);
        ck_assert_int_eq(log_start(fd, "dr"), 2 + 2 * v);
    }
    struct tb_fetch_resp fr;
    struct tb_fetch_args fa = {0, 0, 1 << 20, "dr", 0, 3, 1 << 20};
    struct tb_frame ff;
    ck_assert_int_eq(tb_fetch(fd, &fa, &ff, &fr), 0);
    tb_frame_free(&ff);
    ck_assert_int_eq(fr.error, KP_ERR_OFFSET_OUT_OF_RANGE);
    fa.offset = 6;
    ck_assert_int_eq(tb_fetch(fd, &fa, &ff, &fr), 0);
    tb_frame_free(&ff);
    ck_assert_int_eq(fr.error, 0);
    ck_assert_int_eq(fr.log_start_offset, 6);
    ck_assert_int_eq(delete_records(fd, 2, "dr", 0, 11).error_code, KP_ERR_OFFSET_OUT_OF_RANGE);
    ck_assert_int_eq(delete_records(fd, 2, "dr", 3, 1).error_code,
                     KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(delete_records(fd, 2, "nope", 0, 1).error_code,
                     KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    struct kp_delete_records_resp_partition o = delete_records(fd, 2, "dr", 0, 4);
    ck_assert_int_eq(o.error_code, 0);
    ck_assert_int_eq(o.low_watermark, 6); /* below the start: nothing moves */
    close(fd);
    tb_ck_stop_clean(&B);
    tb_ck_start(&B, NULL);
    fd = tb_ck_connect(&B);
    ck_assert_int_eq(log_start(fd, "dr"), 6);
    o = delete_records(fd, 1, "dr", 0, -1); /* -1: the high watermark */
    ck_assert_int_eq(o.low_watermark, 10);
    close(fd);
}
END_TEST

/* ---- cluster ------------------------------------------------------------------------------ */

START_TEST(elect_leaders_single_node)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "el", 2);
    static const int32_t ps[] = {0, 1, 2};
    struct kp_elect_leaders_req_topic tp[] = {{kp_str_of("el"), 3, ps}, {kp_str_of("nope"), 1, ps}};
    for (int16_t v = 0; v <= 2; v++) {
        for (int8_t type = 0; type <= (v ? 1 : 0); type++) {
            struct kp_elect_leaders_req req = {type, 2, tp, 5000};
            struct kp_elect_leaders_resp resp;
            struct tb_frame f;
            ROUND(fd, KP_API_ELECT_LEADERS, v, kp_elect_leaders_req_encode, &req,
                  kp_elect_leaders_resp_decode, &resp, &f);
            ck_assert_int_eq(resp.error_code, 0);
            ck_assert_int_eq(resp.n_results, 2);
            ck_assert_int_eq(resp.results[0].n_partitions, 3);
            ck_assert_int_eq(resp.results[0].partitions[0].error_code, KP_ERR_ELECTION_NOT_NEEDED);
            ck_assert_int_eq(resp.results[0].partitions[1].error_code, KP_ERR_ELECTION_NOT_NEEDED);
            ck_assert_int_eq(resp.results[0].partitions[2].partition_id, 2);
            ck_assert_int_eq(resp.results[0].partitions[2].error_code,
                             KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
            ck_assert_int_eq(resp.results[1].partitions[0].error_code,
                             KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
            tb_frame_free(&f);
        }
    }
    /* a null list: every partition, none needing an election: nothing answered */
    struct kp_elect_leaders_req req = {0, -1, NULL, 5000};
    struct kp_elect_leaders_resp resp;
    struct tb_frame f;
    ROUND(fd, KP_API_ELECT_LEADERS, 2, kp_elect_leaders_req_encode, &req,
          kp_elect_leaders_resp_decode, &resp, &f);
    ck_assert_int_eq(resp.error_code, 0);
    ck_assert_int_eq(resp.n_results, 0);
    tb_frame_free(&f);
    /* an election type Kafka does not know */
    req = (struct kp_elect_leaders_req){7, 1, tp, 5000};
    ROUND(fd, KP_API_ELECT_LEADERS, 1, kp_elect_leaders_req_encode, &req,
          kp_elect_leaders_resp_decode, &resp, &f);
    ck_assert_int_eq(resp.error_code, KP_ERR_INVALID_REQUEST);
    ck_assert_int_eq(resp.results[0].partitions[0].error_code, KP_ERR_INVALID_REQUEST);
    tb_frame_free(&f);
    close(fd);
}
END_TEST

START_TEST(describe_cluster_and_log_dirs)
{
    int fd = tb_ck_connect(&B);
    for (int16_t v = 0; v <= 1; v++) {
        struct kp_describe_cluster_req req = {.include_cluster_authorized_operations = v == 1,
                                              .endpoint_type = 1};
        struct kp_describe_cluster_resp resp;
        struct tb_frame f;
        ROUND(fd, KP_API_DESCRIBE_CLUSTER, v, kp_describe_cluster_req_encode, &req,
              kp_describe_cluster_resp_decode, &resp, &f);
        ck_assert_int_eq(resp.error_code, 0);
        ck_assert_int_eq(resp.n_brokers, 1);
        ck_assert_int_eq(resp.brokers[0].broker_id, 0);
        ck_assert_int_eq(resp.brokers[0].port, B.port);
        ck_assert_int_eq(resp.controller_id, 0);
        ck_assert(kp_str_eq(resp.cluster_id, "splicelog"));
        ck_assert_int_eq(resp.cluster_authorized_operations, v == 1 ? 0x1FA0 : INT32_MIN);
        tb_frame_free(&f);
    }
    struct kp_describe_cluster_req creq = {.endpoint_type = 2};
    struct kp_describe_cluster_resp cresp;
    struct tb_frame f;
    ROUND(fd, KP_API_DESCRIBE_CLUSTER, 1, kp_describe_cluster_req_encode, &creq,
          kp_describe_cluster_resp_decode, &cresp, &f);
    ck_assert_int_eq(cresp.error_code, KP_ERR_UNSUPPORTED_ENDPOINT_TYPE);
    tb_frame_free(&f);

    tb_ck_create_topic(fd, "ld", 2);
    ck_assert_int_eq(produce_err(fd, "ld", -1, 5, 100), 0);
    for (int16_t v = 1; v <= 4; v++) {
        int32_t parts[] = {0, 1, 9};
        struct kp_describe_log_dirs_req_topic t = {kp_str_of("ld"), 3, parts};
        struct kp_describe_log_dirs_req req = {.n_topics = v % 2 ? 1 : -1, .topics = &t};
        struct kp_describe_log_dirs_resp resp;
        ROUND(fd, KP_API_DESCRIBE_LOG_DIRS, v, kp_describe_log_dirs_req_encode, &req,
              kp_describe_log_dirs_resp_decode, &resp, &f);
        ck_assert_int_eq(resp.n_results, 1);
        const struct kp_describe_log_dirs_result *d = &resp.results[0];
        ck_assert_int_eq(d->error_code, 0);
        ck_assert(strstr(d->log_dir.ptr, "data") != NULL);
        ck_assert_int_eq(d->n_topics, 1);
        ck_assert(kp_str_eq(d->topics[0].name, "ld"));
        ck_assert_int_eq(d->topics[0].n_partitions, 2); /* partition 9 does not exist */
        ck_assert_int_gt(d->topics[0].partitions[0].partition_size, 500);
        ck_assert_int_eq(d->topics[0].partitions[1].partition_size, 0);
        if (v >= 4)
            ck_assert_int_gt(d->usable_bytes, 0);
        tb_frame_free(&f);
    }
    close(fd);
}
END_TEST

/* ---- groups ------------------------------------------------------------------------------- */

static int16_t commit_simple(int fd, const char *group, const char *topic, int64_t offset)
{
    struct kp_offset_commit_req_partition p = {.partition_index = 0,
                                               .committed_offset = offset,
                                               .commit_timestamp = -1,
                                               .committed_metadata = kp_str_of(""),
                                               .committed_leader_epoch = -1};
    struct kp_offset_commit_req_topic t = {kp_str_of(topic), 1, &p};
    struct kp_offset_commit_req req = {.group_id = kp_str_of(group),
                                       .generation_id = -1,
                                       .member_id = kp_str_of(""),
                                       .retention_time_ms = -1,
                                       .n_topics = 1,
                                       .topics = &t,
                                       .group_instance_id = KP_STR_NULL};
    struct kp_offset_commit_resp resp;
    struct tb_frame f;
    ROUND(fd, KP_API_OFFSET_COMMIT, 8, kp_offset_commit_req_encode, &req,
          kp_offset_commit_resp_decode, &resp, &f);
    int16_t err = resp.topics[0].partitions[0].error_code;
    tb_frame_free(&f);
    return err;
}

/* Joins group as its only member (JoinGroup v9 twice: KIP-394; SyncGroup v5). */
static void join_alone(int fd, const char *group)
{
    /* ConsumerProtocolSubscription v0: topics ["ga"], user_data null */
    static const uint8_t meta[] = {0, 0, 0, 0, 0, 1, 0, 2, 'g', 'a', 0xff, 0xff, 0xff, 0xff};
    static const uint8_t assign[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    struct kp_join_group_protocol proto = {kp_str_of("range"), {meta, sizeof meta}};
    struct kp_join_group_req req = {.group_id = kp_str_of(group),
                                    .session_timeout_ms = 30000,
                                    .rebalance_timeout_ms = 30000,
                                    .member_id = kp_str_of(""),
                                    .group_instance_id = KP_STR_NULL,
                                    .protocol_type = kp_str_of("consumer"),
                                    .n_protocols = 1,
                                    .protocols = &proto,
                                    .reason = KP_STR_NULL};
    struct kp_join_group_resp resp;
    struct tb_frame f;
    ROUND(fd, KP_API_JOIN_GROUP, 9, kp_join_group_req_encode, &req, kp_join_group_resp_decode,
          &resp, &f);
    ck_assert_int_eq(resp.error_code, KP_ERR_MEMBER_ID_REQUIRED);
    char member[256];
    snprintf(member, sizeof member, "%.*s", resp.member_id.len, resp.member_id.ptr);
    tb_frame_free(&f);
    req.member_id = kp_str_of(member);
    ROUND(fd, KP_API_JOIN_GROUP, 9, kp_join_group_req_encode, &req, kp_join_group_resp_decode,
          &resp, &f);
    ck_assert_int_eq(resp.error_code, 0);
    ck_assert(kp_str_eq(resp.protocol_type, "consumer"));
    ck_assert(kp_str_eq(resp.protocol_name, "range"));
    int32_t gen = resp.generation_id;
    tb_frame_free(&f);
    struct kp_sync_group_assignment as = {kp_str_of(member), {assign, sizeof assign}};
    struct kp_sync_group_req sreq = {.group_id = kp_str_of(group),
                                     .generation_id = gen,
                                     .member_id = kp_str_of(member),
                                     .group_instance_id = KP_STR_NULL,
                                     .n_assignments = 1,
                                     .assignments = &as,
                                     .protocol_type = kp_str_of("consumer"),
                                     .protocol_name = kp_str_of("range")};
    struct kp_sync_group_resp sresp;
    ROUND(fd, KP_API_SYNC_GROUP, 5, kp_sync_group_req_encode, &sreq, kp_sync_group_resp_decode,
          &sresp, &f);
    ck_assert_int_eq(sresp.error_code, 0);
    ck_assert(kp_str_eq(sresp.protocol_name, "range"));
    ck_assert_int_eq(sresp.assignment.len, (int32_t)sizeof assign);
    tb_frame_free(&f);
}

/* OffsetDelete of topic/0 for group: the partition's error, or the top-level one negated. */
static int16_t offset_delete(int fd, const char *group, const char *topic)
{
    struct kp_offset_delete_req_partition p = {0};
    struct kp_offset_delete_req_topic t = {kp_str_of(topic), 1, &p};
    struct kp_offset_delete_req req = {kp_str_of(group), 1, &t};
    struct kp_offset_delete_resp resp;
    struct tb_frame f;
    ROUND(fd, KP_API_OFFSET_DELETE, 0, kp_offset_delete_req_encode, &req,
          kp_offset_delete_resp_decode, &resp, &f);
    int16_t err =
        resp.error_code ? (int16_t)-resp.error_code : resp.topics[0].partitions[0].error_code;
    tb_frame_free(&f);
    return err;
}

/* ListGroups at v; returns how many groups, and the state of group (in state, "" if absent). */
static int32_t list_groups(int fd, int16_t v, const char *group, char *state, const char *filter)
{
    struct kp_str fs = filter ? kp_str_of(filter) : KP_STR_NULL;
    struct kp_list_groups_req req = {.n_states_filter = filter ? 1 : 0, .states_filter = &fs};
    struct kp_list_groups_resp resp;
    struct tb_frame f;
    ROUND(fd, KP_API_LIST_GROUPS, v, kp_list_groups_req_encode, &req, kp_list_groups_resp_decode,
          &resp, &f);
    ck_assert_int_eq(resp.error_code, 0);
    state[0] = 0;
    for (int32_t i = 0; i < resp.n_groups; i++)
        if (kp_str_eq(resp.groups[i].group_id, group))
            snprintf(state, 32, "%.*s", v >= 4 ? resp.groups[i].group_state.len : 1,
                     v >= 4 ? resp.groups[i].group_state.ptr : "?");
    int32_t n = resp.n_groups;
    tb_frame_free(&f);
    return n;
}

START_TEST(groups_list_describe_delete)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "gt", 1);
    join_alone(fd, "live");
    ck_assert_int_eq(commit_simple(fd, "offsets-only", "gt", 3), 0);
    char state[32];
    for (int16_t v = 0; v <= 5; v++) {
        ck_assert_int_eq(list_groups(fd, v, "live", state, NULL), 2);
        ck_assert_str_eq(state, v >= 4 ? "Stable" : "?");
        list_groups(fd, v, "offsets-only", state, NULL);
        ck_assert_str_eq(state, v >= 4 ? "Empty" : "?");
    }
    ck_assert_int_eq(list_groups(fd, 4, "live", state, "stable"), 1);
    ck_assert_int_eq(list_groups(fd, 4, "live", state, "Dead"), 0);

    for (int16_t v = 0; v <= 5; v++) {
        struct kp_str ids[4] = {kp_str_of("live"), kp_str_of("offsets-only"), kp_str_of("none"),
                                kp_str_of("")};
        struct kp_describe_groups_req req = {4, ids, v >= 3};
        struct kp_describe_groups_resp resp;
        struct tb_frame f;
        ROUND(fd, KP_API_DESCRIBE_GROUPS, v, kp_describe_groups_req_encode, &req,
              kp_describe_groups_resp_decode, &resp, &f);
        ck_assert_int_eq(resp.n_groups, 4);
        const struct kp_describe_groups_group *g = &resp.groups[0];
        ck_assert_int_eq(g->error_code, 0);
        ck_assert(kp_str_eq(g->group_state, "Stable"));
        ck_assert(kp_str_eq(g->protocol_type, "consumer"));
        ck_assert(kp_str_eq(g->protocol_data, "range"));
        ck_assert_int_eq(g->n_members, 1);
        ck_assert(kp_str_eq(g->members[0].client_id, "admin-test"));
        ck_assert(kp_str_eq(g->members[0].client_host, "/127.0.0.1"));
        ck_assert_int_eq(g->members[0].member_metadata.len, 14);
        ck_assert_int_eq(g->members[0].member_assignment.len, 10);
        if (v >= 3)
            ck_assert_int_eq(g->authorized_operations, 0x148);
        ck_assert(kp_str_eq(resp.groups[1].group_state, "Empty"));
        ck_assert(kp_str_eq(resp.groups[2].group_state, "Dead"));
        ck_assert_int_eq(resp.groups[2].error_code, 0);
        ck_assert_int_eq(resp.groups[3].error_code, KP_ERR_INVALID_GROUP_ID);
        tb_frame_free(&f);
    }

    for (int16_t v = 0; v <= 2; v++) {
        struct kp_str ids[3] = {kp_str_of("live"), kp_str_of(v == 0 ? "offsets-only" : "none"),
                                kp_str_of("")};
        struct kp_delete_groups_req req = {3, ids};
        struct kp_delete_groups_resp resp;
        struct tb_frame f;
        ROUND(fd, KP_API_DELETE_GROUPS, v, kp_delete_groups_req_encode, &req,
              kp_delete_groups_resp_decode, &resp, &f);
        ck_assert_int_eq(resp.results[0].error_code, KP_ERR_NON_EMPTY_GROUP);
        ck_assert_int_eq(resp.results[1].error_code,
                         v == 0 ? KP_ERR_NONE : KP_ERR_GROUP_ID_NOT_FOUND);
        ck_assert_int_eq(resp.results[2].error_code, KP_ERR_INVALID_GROUP_ID);
        tb_frame_free(&f);
    }
    /* the deleted group's offsets are gone */
    ck_assert_int_eq(list_groups(fd, 4, "offsets-only", state, NULL), 1);
    ck_assert_str_eq(state, "");

    /* OffsetDelete v0 */
    tb_ck_create_topic(fd, "ga", 1);
    ck_assert_int_eq(commit_simple(fd, "od", "gt", 5), 0);
    ck_assert_int_eq(offset_delete(fd, "od", "gt"), KP_ERR_NONE);
    ck_assert_int_eq(list_groups(fd, 4, "od", state, NULL), 1); /* no offsets left */
    ck_assert_str_eq(state, "");
    ck_assert_int_eq(offset_delete(fd, "live", "ga"), KP_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
    ck_assert_int_eq(offset_delete(fd, "live", "gt"), KP_ERR_NONE); /* not subscribed */
    ck_assert_int_eq(offset_delete(fd, "live", "nope"), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(offset_delete(fd, "nobody", "gt"), -KP_ERR_GROUP_ID_NOT_FOUND);
    close(fd);
}
END_TEST

/* Dynamic broker configs: this broker's level and the cluster default's, applied at once to
 * topics without their own value, described with Kafka's sources, kept across a restart. */
START_TEST(dynamic_broker_configs)
{
    int fd = tb_ck_connect(&B);
    int16_t err;
    char msg[128];
    tb_ck_create_topic(fd, "dyn", 1);
    ck_assert_int_eq(produce_err(fd, "dyn", -1, 4, 500), 0);
    /* the default level: message.max.bytes for every topic without max.message.bytes */
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_BROKER, "", "message.max.bytes",
                                 KP_CONFIG_OP_SET, "1000", false, NULL),
                     0);
    ck_assert_int_eq(produce_err(fd, "dyn", -1, 4, 500), KP_ERR_MESSAGE_TOO_LARGE);
    struct entry e = describe(fd, 4, KP_CONFIG_RESOURCE_BROKER, "", "message.max.bytes", &err);
    ck_assert_int_eq(err, 0);
    ck_assert_str_eq(e.value, "1000");
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
    /* this broker's level wins over the default */
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_BROKER, "0", "log.retention.ms",
                                 KP_CONFIG_OP_SET, "3600000", false, NULL),
                     0);
    e = describe(fd, 4, KP_CONFIG_RESOURCE_BROKER, "0", "log.retention.ms", &err);
    ck_assert_str_eq(e.value, "3600000");
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DYNAMIC_BROKER);
    e = describe(fd, 4, KP_CONFIG_RESOURCE_TOPIC, "dyn", "retention.ms", &err);
    ck_assert_str_eq(e.value, "3600000");
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DYNAMIC_BROKER);
    ck_assert_int_ge(e.n_synonyms, 2);
    ck_assert_str_eq(e.syn_name[0], "log.retention.ms");
    ck_assert_int_eq(e.syn_source[0], KP_CONFIG_SOURCE_DYNAMIC_BROKER);
    /* a dynamic key with no effect here (Kerberos), kept and described */
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_BROKER, "0",
                                 "sasl.kerberos.min.time.before.relogin", KP_CONFIG_OP_SET, "58000",
                                 false, NULL),
                     0);
    /* errors as Kafka's: a static key, a bad value, APPEND */
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_BROKER, "0", "num.network.threads",
                                 KP_CONFIG_OP_SET, "3", false, msg),
                     KP_ERR_INVALID_REQUEST);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_BROKER, "0", "log.retention.ms",
                                 KP_CONFIG_OP_SET, "soon", false, msg),
                     KP_ERR_INVALID_CONFIG);
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_BROKER, "0", "log.cleanup.policy",
                                 KP_CONFIG_OP_APPEND, "compact", false, msg),
                     KP_ERR_INVALID_REQUEST);
    /* kept across a restart */
    close(fd);
    tb_ck_stop_clean(&B);
    tb_ck_start(&B, NULL);
    fd = tb_ck_connect(&B);
    e = describe(fd, 4, KP_CONFIG_RESOURCE_BROKER, "0", "sasl.kerberos.min.time.before.relogin",
                 &err);
    ck_assert_str_eq(e.value, "58000");
    ck_assert_int_eq(e.source, KP_CONFIG_SOURCE_DYNAMIC_BROKER);
    e = describe(fd, 4, KP_CONFIG_RESOURCE_TOPIC, "dyn", "retention.ms", &err);
    ck_assert_str_eq(e.value, "3600000");
    ck_assert_int_eq(produce_err(fd, "dyn", -1, 4, 500), KP_ERR_MESSAGE_TOO_LARGE);
    /* deleted: back to the configuration file's */
    ck_assert_int_eq(incremental(fd, 1, KP_CONFIG_RESOURCE_BROKER, "", "message.max.bytes",
                                 KP_CONFIG_OP_DELETE, NULL, false, NULL),
                     0);
    ck_assert_int_eq(produce_err(fd, "dyn", -1, 4, 500), 0);
    e = describe(fd, 4, KP_CONFIG_RESOURCE_BROKER, "0", "message.max.bytes", &err);
    ck_assert_int_ne(e.source, KP_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
    close(fd);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = tcase_create("admin");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, create_partitions_every_version_and_errors);
    tcase_add_test(tc, configs_sources_synonyms_and_errors);
    tcase_add_test(tc, configs_take_effect_at_once);
    tcase_add_test(tc, alter_to_compact_at_run_time);
    tcase_add_test(tc, create_topics_configs_and_validate_only);
    tcase_add_test(tc, delete_records_every_version);
    tcase_add_test(tc, describe_cluster_and_log_dirs);
    tcase_add_test(tc, elect_leaders_single_node);
    tcase_add_test(tc, groups_list_describe_delete);
    tcase_add_test(tc, dynamic_broker_configs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
