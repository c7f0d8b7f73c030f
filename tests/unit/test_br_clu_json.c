/*
 * test_br_clu_json — the znode JSON of the cluster (broker/clu/br_clu_json.h): a broker's
 * registration as Kafka writes it (version 5), read back; Kafka's own registration and
 * controller documents parsed; keys inside nested values not mistaken for top-level ones;
 * truncated and malformed documents refused; buffers too small refused; zookeeper.connect
 * split into hosts and chroot; producer-id blocks (/latest_producer_id_block) written as Kafka
 * writes them and read back, Kafka's own read, malformed ones refused.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "br_clu.h"
#include "br_clu_json.h"

static struct br_clu_endpoint ep(const char *l, const char *p, const char *h, int port)
{
    struct br_clu_endpoint e;
    memset(&e, 0, sizeof e);
    strcpy(e.listener, l);
    strcpy(e.protocol, p);
    strcpy(e.host, h);
    e.port = port;
    return e;
}

START_TEST(broker_registration_round_trip)
{
    struct br_clu_endpoint eps[3] = {ep("PLAINTEXT", "PLAINTEXT", "10.0.0.1", 9092),
                                     ep("INTERNAL", "SASL_SSL", "::1", 9093),
                                     ep("SSL", "SSL", "b\"1", 9094)};
    char buf[2048];
    int n = br_clu_json_broker(buf, sizeof buf, eps, 3, NULL, 1700000000123LL);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq((int)strlen(buf), n);
    ck_assert_str_eq(
        buf, "{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\",\"INTERNAL\":"
             "\"SASL_SSL\",\"SSL\":\"SSL\"},\"endpoints\":[\"PLAINTEXT://10.0.0.1:9092\","
             "\"INTERNAL://[::1]:9093\",\"SSL://b\\\"1:9094\"],\"jmx_port\":-1,\"host\":"
             "\"10.0.0.1\",\"timestamp\":\"1700000000123\",\"port\":9092,\"version\":5}");
    struct br_clu_endpoint back[4];
    ck_assert_int_eq(br_clu_json_endpoints(buf, (size_t)n, back, 4), 3);
    ck_assert_str_eq(back[0].listener, "PLAINTEXT");
    ck_assert_str_eq(back[0].host, "10.0.0.1");
    ck_assert_int_eq(back[0].port, 9092);
    ck_assert_str_eq(back[1].listener, "INTERNAL");
    ck_assert_str_eq(back[1].host, "::1");
    ck_assert_int_eq(back[1].port, 9093);
    ck_assert_str_eq(back[2].host, "b\"1");
    /* more endpoints than room: the first ones */
    ck_assert_int_eq(br_clu_json_endpoints(buf, (size_t)n, back, 1), 1);
    int64_t v;
    ck_assert_int_eq(br_clu_json_int(buf, (size_t)n, "port", &v), 0);
    ck_assert_int_eq(v, 9092);
    ck_assert_int_eq(br_clu_json_int(buf, (size_t)n, "jmx_port", &v), 0);
    ck_assert_int_eq(v, -1);
    /* without a PLAINTEXT listener: host null, port -1 */
    n = br_clu_json_broker(buf, sizeof buf, &eps[1], 1, "", 5);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(buf, "\"host\":null,"));
    ck_assert_ptr_nonnull(strstr(buf, "\"port\":-1,"));
    /* every too-small buffer refused, never a cut document */
    char full[2048];
    int len = br_clu_json_broker(full, sizeof full, eps, 3, "rack-a", 1);
    for (int cap = 0; cap <= len; cap++) {
        char small[2048];
        ck_assert_int_eq(br_clu_json_broker(small, (size_t)cap, eps, 3, "rack-a", 1), -ENOSPC);
    }
    ck_assert_int_eq(br_clu_json_broker(buf, (size_t)len + 1, eps, 3, "rack-a", 1), len);
    /* a rack: "rack" after the endpoints, as Kafka writes it, read back; none: no key */
    char rack[BR_CLU_RACK_MAX];
    ck_assert_ptr_nonnull(strstr(full, "],\"rack\":\"rack-a\",\"jmx_port\""));
    ck_assert_int_eq(br_clu_json_str(full, (size_t)len, "rack", rack, sizeof rack), 0);
    ck_assert_str_eq(rack, "rack-a");
    ck_assert_int_eq(br_clu_json_str(buf, (size_t)n, "rack", rack, sizeof rack), -EINVAL);
    struct br_clu_endpoint bad = ep("", "PLAINTEXT", "h", 1);
    ck_assert_int_eq(br_clu_json_broker(buf, sizeof buf, &bad, 1, NULL, 1), -EINVAL);
}
END_TEST

START_TEST(kafka_documents)
{
    /* as Kafka 2.8 registers a broker, with features and a rack */
    const char *k = "{\"features\":{},\"listener_security_protocol_map\":{\"PLAINTEXT\":"
                    "\"PLAINTEXT\"},\"endpoints\":[\"PLAINTEXT://kafka-1.example:9092\"],"
                    "\"jmx_port\":-1,\"port\":9092,\"host\":\"kafka-1.example\",\"version\":5,"
                    "\"timestamp\":\"1618000000000\", \"rack\" : \"r1\" }";
    struct br_clu_endpoint e[2];
    ck_assert_int_eq(br_clu_json_endpoints(k, strlen(k), e, 2), 1);
    ck_assert_str_eq(e[0].host, "kafka-1.example");
    ck_assert_int_eq(e[0].port, 9092);
    char rack[BR_CLU_RACK_MAX];
    ck_assert_int_eq(br_clu_json_str(k, strlen(k), "rack", rack, sizeof rack), 0);
    ck_assert_str_eq(rack, "r1");
    const char *c = "{\"version\":1,\"brokerid\":3,\"timestamp\":\"1618000000000\"}";
    int64_t id;
    ck_assert_int_eq(br_clu_json_int(c, strlen(c), "brokerid", &id), 0);
    ck_assert_int_eq(id, 3);
    char buf[128];
    int n = br_clu_json_controller(buf, sizeof buf, 42, 7);
    ck_assert_str_eq(buf, "{\"version\":1,\"brokerid\":42,\"timestamp\":\"7\"}");
    ck_assert_int_eq(br_clu_json_int(buf, (size_t)n, "brokerid", &id), 0);
    ck_assert_int_eq(id, 42);
    ck_assert_int_eq(br_clu_json_controller(buf, 10, 42, 7), -ENOSPC);
}
END_TEST

START_TEST(nested_and_malformed)
{
    /* a key of the same name inside another value is not the top-level key */
    const char *j = "{\"x\":{\"brokerid\":9,\"endpoints\":[\"A://h:1\"]},\"y\":[\"brokerid\"],"
                    "\"brokerid\":2}";
    int64_t v;
    ck_assert_int_eq(br_clu_json_int(j, strlen(j), "brokerid", &v), 0);
    ck_assert_int_eq(v, 2);
    struct br_clu_endpoint e[2];
    ck_assert_int_eq(br_clu_json_endpoints(j, strlen(j), e, 2), -EINVAL);
    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "{\"brokerid\":}",
        "{\"brokerid\":1.5}",
        "{\"brokerid\":\"1\"}",
        "{\"brokerid\":99999999999999999999}",
        "{\"a\":1 \"brokerid\":1}",
        "{\"a\":\"\\q\",\"brokerid\":1}",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]],\"brokerid\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(br_clu_json_int(bad[i], strlen(bad[i]), "brokerid", &v) < 0, "%s", bad[i]);
    static const char *const bad_ep[] = {
        "{\"endpoints\":[\"PLAINTEXT:/h:1\"]}", "{\"endpoints\":[\"://h:1\"]}",
        "{\"endpoints\":[\"A://h\"]}",          "{\"endpoints\":[\"A://h:99999\"]}",
        "{\"endpoints\":[\"A://h:1x\"]}",       "{\"endpoints\":[\"A://[::1:1\"]}",
        "{\"endpoints\":[\"A://h:1\",]}",       "{\"endpoints\":\"A://h:1\"}",
        "{\"endpoints\":[\"A://h:1\"",
    };
    for (size_t i = 0; i < sizeof bad_ep / sizeof bad_ep[0]; i++)
        ck_assert_msg(br_clu_json_endpoints(bad_ep[i], strlen(bad_ep[i]), e, 2) < 0, "%s",
                      bad_ep[i]);
    /* the length bounds the read: a document cut anywhere is refused */
    const char *ok = "{\"endpoints\":[\"A://h:1\"],\"brokerid\":5}";
    for (size_t cut = 0; cut < strlen(ok); cut++) {
        char *copy = malloc(cut ? cut : 1); /* exactly cut bytes: ASan sees any over-read */
        memcpy(copy, ok, cut);
        ck_assert_int_lt(br_clu_json_int(copy, cut, "brokerid", &v), 0);
        free(copy);
    }
    ck_assert_int_eq(br_clu_json_endpoints(ok, strlen(ok), e, 2), 1);
}
END_TEST

START_TEST(connect_string)
{
    char hosts[64], chroot[64];
    ck_assert_int_eq(
        br_clu_parse_connect("a:1,b:2/kafka/x", hosts, sizeof hosts, chroot, sizeof chroot), 0);
    ck_assert_str_eq(hosts, "a:1,b:2");
    ck_assert_str_eq(chroot, "/kafka/x");
    ck_assert_int_eq(br_clu_parse_connect("a:1", hosts, sizeof hosts, chroot, sizeof chroot), 0);
    ck_assert_str_eq(chroot, "");
    static const char *const bad[] = {"", "/x", "a:1/", "a:1/x/", "a:1//x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(br_clu_parse_connect(bad[i], hosts, sizeof hosts, chroot, sizeof chroot),
                         -EINVAL);
    ck_assert_int_eq(br_clu_parse_connect("abcdef:1", hosts, 4, chroot, sizeof chroot), -EINVAL);
}
END_TEST

START_TEST(topic_state_cluster_id)
{
    char buf[512];
    struct br_clu_replicas parts[3] = {{1, {2}}, {1, {3}}, {2, {1, 2}}};
    int n = br_clu_json_topic(buf, sizeof buf, parts, 3, NULL);
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(buf, "{\"version\":2,\"partitions\":{\"0\":[2],\"1\":[3],\"2\":[1,2]},"
                          "\"adding_replicas\":{},\"removing_replicas\":{}}");
    struct br_clu_replicas got[3];
    ck_assert_int_eq(br_clu_json_partitions(buf, (size_t)n, got, 3), 3);
    ck_assert_int_eq(got[2].n, 2);
    ck_assert_int_eq(got[2].id[1], 2);
    ck_assert_int_eq(got[1].id[0], 3);
    /* too little room: the count, to call again */
    ck_assert_int_eq(br_clu_json_partitions(buf, (size_t)n, got, 1), 3);
    ck_assert_int_eq(br_clu_json_topic(buf, 10, parts, 3, NULL), -ENOSPC);
    uint8_t tid[16];
    n = br_clu_json_topic(buf, sizeof buf, parts, 3, NULL);
    ck_assert_int_eq(br_clu_json_topic_id(buf, (size_t)n, tid), -ENOENT);
    /* version 3 with a topic id (Kafka's Uuid text), read back */
    const uint8_t id[16] = {0xfb, 0x01, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff};
    n = br_clu_json_topic(buf, sizeof buf, parts, 3, id);
    ck_assert_msg(
        strstr(buf, "{\"version\":3,\"topic_id\":\"-wECAwQFBgcICQoLDA0O_w\",\"partitions\""), "%s",
        buf);
    ck_assert_int_eq(br_clu_json_topic_id(buf, (size_t)n, tid), 0);
    ck_assert_mem_eq(tid, id, 16);
    ck_assert_int_eq(br_clu_json_partitions(buf, (size_t)n, got, 3), 3);
    ck_assert_int_eq(br_clu_uuid_parse("-wECAwQFBgcICQoLDA0O_x", tid), -EINVAL); /* spare bits */
    ck_assert_int_eq(br_clu_uuid_parse("-wECAwQFBgcICQoLDA0O", tid), -EINVAL);
    ck_assert_int_eq(br_clu_uuid_parse("-wECAwQFBgcICQoLDA0O_*", tid), -EINVAL);
    /* Kafka's own, out of order, with a topic id */
    const char *k = "{\"version\":3,\"topic_id\":\"x\",\"partitions\":{\"1\":[1],\"0\":[3]},"
                    "\"adding_replicas\":{},\"removing_replicas\":{}}";
    ck_assert_int_eq(br_clu_json_partitions(k, strlen(k), got, 3), 2);
    ck_assert_int_eq(got[0].id[0], 3);
    static const char *const badp[] = {
        "{\"partitions\":{\"0\":[1],\"2\":[1]}}", /* a hole */
        "{\"partitions\":{\"0\":[1],\"0\":[2]}}", /* twice */
        "{\"partitions\":{\"0\":[]}}",            /* no replica */
        "{\"partitions\":{\"x\":[1]}}",
        "{\"partitions\":{\"0\":[1]}",
    };
    for (size_t i = 0; i < sizeof badp / sizeof badp[0]; i++)
        ck_assert_int_eq(br_clu_json_partitions(badp[i], strlen(badp[i]), got, 3), -EINVAL);

    struct br_clu_state st = {
        .leader = 2, .leader_epoch = 4, .controller_epoch = 7, .isr = {2, {2, 3}}};
    n = br_clu_json_state_enc(buf, sizeof buf, &st);
    ck_assert_str_eq(buf, "{\"controller_epoch\":7,\"leader\":2,\"version\":1,\"leader_epoch\":4,"
                          "\"isr\":[2,3]}");
    struct br_clu_state back;
    ck_assert_int_eq(br_clu_json_state(buf, (size_t)n, &back), 0);
    ck_assert_int_eq(back.leader, 2);
    ck_assert_int_eq(back.leader_epoch, 4);
    ck_assert_int_eq(back.controller_epoch, 7);
    ck_assert_int_eq(back.isr.n, 2);
    ck_assert_int_eq(back.isr.id[1], 3);
    const char *off = "{\"controller_epoch\":1,\"leader\":-1,\"version\":1,\"leader_epoch\":1,"
                      "\"isr\":[1]}";
    ck_assert_int_eq(br_clu_json_state(off, strlen(off), &back), 0);
    ck_assert_int_eq(back.leader, -1);
    ck_assert_int_eq(br_clu_json_state(off, strlen(off) - 1, &back), -EINVAL);

    n = br_clu_json_cluster_id_enc(buf, sizeof buf, "AbC-d_9");
    ck_assert_str_eq(buf, "{\"version\":\"1\",\"id\":\"AbC-d_9\"}");
    char cid[32];
    ck_assert_int_eq(br_clu_json_cluster_id(buf, (size_t)n, cid, sizeof cid), 0);
    ck_assert_str_eq(cid, "AbC-d_9");
    ck_assert_int_eq(br_clu_json_cluster_id(buf, (size_t)n, cid, 4), -EINVAL);
}
END_TEST

START_TEST(producer_id_blocks)
{
    char buf[256];
    struct br_clu_pid_block b = {2, 2000, 2999}, back;
    int n = br_clu_json_pid_block_enc(buf, sizeof buf, &b);
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(
        buf, "{\"version\":1,\"broker\":2,\"block_start\":\"2000\",\"block_end\":\"2999\"}");
    ck_assert_int_eq(br_clu_json_pid_block(buf, (size_t)n, &back), 0);
    ck_assert_int_eq(back.broker, 2);
    ck_assert(back.first == 2000 && back.last == 2999);
    /* the largest ids round-trip */
    b = (struct br_clu_pid_block){7, INT64_MAX - 999, INT64_MAX};
    n = br_clu_json_pid_block_enc(buf, sizeof buf, &b);
    ck_assert_int_eq(br_clu_json_pid_block(buf, (size_t)n, &back), 0);
    ck_assert(back.first == INT64_MAX - 999 && back.last == INT64_MAX);
    /* every too-small buffer refused; a block that is not one refused */
    int len = br_clu_json_pid_block_enc(buf, sizeof buf, &b);
    for (int cap = 0; cap <= len; cap++)
        ck_assert_int_eq(br_clu_json_pid_block_enc(buf, (size_t)cap, &b), -ENOSPC);
    b = (struct br_clu_pid_block){1, 10, 9};
    ck_assert_int_eq(br_clu_json_pid_block_enc(buf, sizeof buf, &b), -EINVAL);
    b = (struct br_clu_pid_block){1, -1, 9};
    ck_assert_int_eq(br_clu_json_pid_block_enc(buf, sizeof buf, &b), -EINVAL);
    /* as Kafka writes it (key order of its map, spaces allowed), and a block of one id */
    const char *k = "{ \"version\" : 1, \"broker\" : 1001, \"block_start\" : \"0\", "
                    "\"block_end\" : \"999\" }";
    ck_assert_int_eq(br_clu_json_pid_block(k, strlen(k), &back), 0);
    ck_assert(back.broker == 1001 && back.first == 0 && back.last == 999);
    const char *one = "{\"block_end\":\"5\",\"block_start\":\"5\",\"broker\":0}";
    ck_assert_int_eq(br_clu_json_pid_block(one, strlen(one), &back), 0);
    ck_assert(back.first == 5 && back.last == 5);
    static const char *const bad[] = {
        "{\"version\":1,\"broker\":1,\"block_start\":0,\"block_end\":\"9\"}", /* a number */
        "{\"version\":1,\"broker\":1,\"block_start\":\"0\"}",                 /* no end */
        "{\"version\":1,\"block_start\":\"0\",\"block_end\":\"9\"}",          /* no broker */
        "{\"broker\":1,\"block_start\":\"10\",\"block_end\":\"9\"}",          /* end < start */
        "{\"broker\":1,\"block_start\":\"-1\",\"block_end\":\"9\"}",          /* negative */
        "{\"broker\":1,\"block_start\":\"\",\"block_end\":\"9\"}",            /* empty */
        "{\"broker\":1,\"block_start\":\" 1\",\"block_end\":\"9\"}",          /* a space */
        "{\"broker\":1,\"block_start\":\"1x\",\"block_end\":\"9\"}",          /* not digits */
        "{\"broker\":1,\"block_start\":\"0\",\"block_end\":\"9223372036854775808\"}",
        "{\"broker\":1,\"block_start\":\"0\",\"block_end\":\"99999999999999999999999\"}",
        "{\"broker\":1.5,\"block_start\":\"0\",\"block_end\":\"9\"}",
        "{\"broker\":4294967296,\"block_start\":\"0\",\"block_end\":\"9\"}",
        "{\"broker\":1,\"block_start\":\"0\",\"block_end\":\"9\"}x", /* after */
        "",
        "{}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(br_clu_json_pid_block(bad[i], strlen(bad[i]), &back) == -EINVAL, "%s",
                      bad[i]);
    /* every cut of a valid document refused (the znode's data is not NUL-terminated) */
    n = br_clu_json_pid_block_enc(buf, sizeof buf, &(struct br_clu_pid_block){3, 1000, 1999});
    for (int cut = 0; cut < n; cut++)
        ck_assert_int_eq(br_clu_json_pid_block(buf, (size_t)cut, &back), -EINVAL);
}
END_TEST

static int collect_kv(void *ctx, const char *key, const char *val)
{
    char *out = ctx;
    size_t l = strlen(out);
    snprintf(out + l, 256 - l, "%s=%s;", key, val);
    return 0;
}

START_TEST(topic_configs)
{
    char buf[256], seen[256] = "";
    struct br_clu_kv kv[2] = {{"cleanup.policy", "compact", 14, 7}, {"x.y", "a\"b", 3, 3}};
    int n = br_clu_json_config_enc(buf, sizeof buf, kv, 2);
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(
        buf, "{\"version\":1,\"config\":{\"cleanup.policy\":\"compact\",\"x.y\":\"a\\\"b\"}}");
    ck_assert_int_eq(br_clu_json_config_each(buf, (size_t)n, collect_kv, seen), 0);
    ck_assert_str_eq(seen, "cleanup.policy=compact;x.y=a\"b;");
    n = br_clu_json_config_enc(buf, sizeof buf, kv, 0);
    ck_assert_str_eq(buf, "{\"version\":1,\"config\":{}}");
    seen[0] = 0;
    ck_assert_int_eq(br_clu_json_config_each(buf, (size_t)n, collect_kv, seen), 0);
    ck_assert_str_eq(seen, "");
    ck_assert_int_eq(br_clu_json_config_each(buf, (size_t)n - 1, collect_kv, seen), -EINVAL);
    ck_assert_int_eq(br_clu_json_config_enc(buf, 8, kv, 2), -ENOSPC);
}
END_TEST

/* A config change notification as Kafka's ZooKeeper mode writes it (version 2), and its
 * entity_path read back, also from a document with other keys and whitespace. */
START_TEST(config_change_notifications)
{
    char buf[128], out[64];
    int n = br_clu_json_change_enc(buf, sizeof buf, "topics/a\"b");
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(buf, "{\"version\":2,\"entity_path\":\"topics/a\\\"b\"}");
    ck_assert_int_eq(br_clu_json_str(buf, (size_t)n, "entity_path", out, sizeof out), 0);
    ck_assert_str_eq(out, "topics/a\"b");
    const char *kafka = "{ \"entity_path\" : \"topics/t1\", \"version\":2 }";
    ck_assert_int_eq(br_clu_json_str(kafka, strlen(kafka), "entity_path", out, sizeof out), 0);
    ck_assert_str_eq(out, "topics/t1");
    ck_assert_int_eq(br_clu_json_str(kafka, strlen(kafka), "version", out, sizeof out), -EINVAL);
    ck_assert_int_eq(br_clu_json_str(kafka, strlen(kafka), "missing", out, sizeof out), -EINVAL);
    ck_assert_int_eq(br_clu_json_str(kafka, strlen(kafka) - 2, "entity_path", out, sizeof out),
                     -EINVAL);
    ck_assert_int_eq(br_clu_json_str(kafka, strlen(kafka), "entity_path", out, 5), -EINVAL);
    ck_assert_int_eq(br_clu_json_change_enc(buf, 10, "topics/t1"), -ENOSPC);
}
END_TEST

static int collect_tp(void *ctx, const char *topic, int32_t partition)
{
    char *out = ctx;
    size_t l = strlen(out);
    snprintf(out + l, 256 - l, "%s-%d;", topic, (int)partition);
    return strcmp(topic, "stop") == 0 ? 7 : 0;
}

/* ISR change notifications as Kafka's leaders write them (version 1): every entry in order,
 * keys in any order and others skipped; a document malformed anywhere calls fn for none. */
START_TEST(isr_change_notifications)
{
    char seen[256] = "";
    const char *one = "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0}]}";
    ck_assert_int_eq(br_clu_json_isr_change_each(one, strlen(one), collect_tp, seen), 0);
    ck_assert_str_eq(seen, "t-0;");
    seen[0] = 0;
    const char *two = "{ \"partitions\" : [ {\"partition\":3, \"x\":[1,{}], \"topic\":\"a\\\"b\"},"
                      "{\"topic\":\"c\",\"partition\":2147483647} ], \"version\":1 }";
    ck_assert_int_eq(br_clu_json_isr_change_each(two, strlen(two), collect_tp, seen), 0);
    ck_assert_str_eq(seen, "a\"b-3;c-2147483647;");
    seen[0] = 0;
    const char *none = "{\"version\":1,\"partitions\":[]}";
    ck_assert_int_eq(br_clu_json_isr_change_each(none, strlen(none), collect_tp, seen), 0);
    ck_assert_str_eq(seen, "");
    const char *stop = "{\"partitions\":[{\"topic\":\"stop\",\"partition\":1},"
                       "{\"topic\":\"after\",\"partition\":1}]}";
    ck_assert_int_eq(br_clu_json_isr_change_each(stop, strlen(stop), collect_tp, seen), 7);
    ck_assert_str_eq(seen, "stop-1;");
    const char *bad[] = {
        "",
        "garbage",
        "{}",
        "{\"version\":2,\"partitions\":[{\"topic\":\"t\",\"partition\":0}]}",
        "{\"version\":1,\"partitions\":{}}",
        "{\"partitions\":[{\"topic\":\"t\",\"partition\":0},{\"topic\":\"u\"}]}",
        "{\"partitions\":[{\"topic\":\"t\",\"partition\":0},{\"partition\":1}]}",
        "{\"partitions\":[{\"topic\":\"t\",\"partition\":-1}]}",
        "{\"partitions\":[{\"topic\":\"t\",\"partition\":2147483648}]}",
        "{\"partitions\":[{\"topic\":\"\",\"partition\":0}]}",
        "{\"partitions\":[{\"topic\":7,\"partition\":0}]}",
        "{\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"topic\":\"u\"}]}",
        "{\"partitions\":[{\"topic\":\"t\",\"partition\":0}]} x",
        "{\"partitions\":[{\"topic\":\"t\",\"partition\":0}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        seen[0] = 0;
        ck_assert_msg(br_clu_json_isr_change_each(bad[i], strlen(bad[i]), collect_tp, seen) ==
                          -EINVAL,
                      "accepted: %s", bad[i]);
        ck_assert_str_eq(seen, "");
    }
    /* a topic name longer than any Kafka allows */
    char big[BR_CLU_TOPIC_MAX + 64];
    int n = snprintf(big, sizeof big, "{\"partitions\":[{\"topic\":\"");
    memset(big + n, 'x', BR_CLU_TOPIC_MAX);
    snprintf(big + n + BR_CLU_TOPIC_MAX, sizeof big - (size_t)n - BR_CLU_TOPIC_MAX,
             "\",\"partition\":0}]}");
    ck_assert_int_eq(br_clu_json_isr_change_each(big, strlen(big), collect_tp, seen), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_clu_json");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, broker_registration_round_trip);
    tcase_add_test(tc, kafka_documents);
    tcase_add_test(tc, nested_and_malformed);
    tcase_add_test(tc, connect_string);
    tcase_add_test(tc, topic_state_cluster_id);
    tcase_add_test(tc, topic_configs);
    tcase_add_test(tc, config_change_notifications);
    tcase_add_test(tc, isr_change_notifications);
    tcase_add_test(tc, producer_id_blocks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
