/*
 * test_acl — Kafka's ACL authorizer on a real splicelogd (authorizer.class.name=
 * org.apache.kafka.metadata.authorizer.StandardAuthorizer, super.users=User:admin, users
 * logging in with SASL PLAIN), raw protocol: every served API refused without the right ACL
 * with Kafka's error code; Metadata lists only describable topics; CreateAcls, DescribeAcls,
 * DeleteAcls applied at once on connections already open (the per-connection decision cache
 * is emptied); deny beats allow; PREFIXED patterns; the CLUSTER resource for the ACL APIs;
 * allow.everyone.if.no.acl.found; and without an authorizer the ACL APIs say SECURITY_DISABLED.
 * Transactions and idempotence (Kafka's KafkaApis): FindCoordinator key_type 1 DESCRIBE on the
 * transactional id; InitProducerId WRITE on it, or, for an idempotent producer, IDEMPOTENT_WRITE
 * on the cluster or WRITE on some topic (KIP-679); AddPartitionsToTxn, AddOffsetsToTxn, EndTxn
 * and TxnOffsetCommit WRITE on the transactional id, then WRITE on each topic / READ on the
 * group / READ on each topic; transactional Produce WRITE on its transactional id; idempotent
 * Produce nothing beyond WRITE on the topic. WriteTxnMarkers CLUSTER_ACTION on the cluster.
 * The admin and group APIs (KafkaApis): DescribeGroups DESCRIBE on each group; ListGroups every
 * group with DESCRIBE on the cluster, else the describable ones; DeleteGroups DELETE on each
 * group; OffsetDelete DELETE on the group, READ on each topic; DescribeConfigs DESCRIBE_CONFIGS
 * and AlterConfigs / IncrementalAlterConfigs ALTER_CONFIGS on the topic or the cluster;
 * CreatePartitions ALTER and DeleteRecords DELETE on the topic; DescribeLogDirs DESCRIBE on the
 * cluster; DescribeCluster for anyone, its authorized operations 0 without DESCRIBE on the
 * cluster; Metadata v10's and DescribeGroups' authorized operations from the authorizer;
 * FindCoordinator v4 and LeaveGroup v3 checked like their older versions.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_msg.h"
#include "kp_msg_cluster.h"
#include "kp_msg_config.h"
#include "kp_msg_groups_admin.h"
#include "kp_msg_markers.h"
#include "kp_msg_sec.h"
#include "kp_msg_txn.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_group.h"
#include "tb_kafka.h"
#include "tb_sasl.h"
#include "tb_sec.h"
#include "tb_tls.h"
#include "tb_txn.h"

static struct tb_broker B;
static int sasl_port;

static void start(const char *const *more)
{
    static const char *const base[] = {
        "-o", "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        "-o", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "-o", "super.users=User:admin",
        "-o", "connection.failed.authentication.delay.ms=0",
        NULL};
    static const char *const users[] = {"admin", "admin", "alice", "alice", NULL}; /* pw = name */
    sasl_port = tb_sec_start(&B, base, more, users);
}

static int login(const char *user)
{
    int fd = tb_connect(sasl_port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_sasl_login(fd, "PLAIN", user, user), 0);
    return fd;
}

/* ---- requests ------------------------------------------------------------------------------- */

static int16_t create_topic(int fd, const char *name)
{
    struct kp_create_topics_topic t = {
        .name = kp_str_of(name), .num_partitions = 1, .replication_factor = -1};
    struct kp_create_topics_req req = {.n_topics = 1, .topics = &t, .timeout_ms = 5000};
    struct kp_create_topics_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_CREATE_TOPICS, 4, TB_ENC(kp_create_topics_req_encode),
                              &req, TB_DEC(kp_create_topics_resp_decode), &resp),
                     0);
    return resp.topics[0].error_code;
}

static int16_t delete_topic(int fd, const char *name)
{
    struct kp_str n = kp_str_of(name);
    struct kp_delete_topics_req req = {.n_topics = 1, .topic_names = &n, .timeout_ms = 5000};
    struct kp_delete_topics_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_DELETE_TOPICS, 3, TB_ENC(kp_delete_topics_req_encode),
                              &req, TB_DEC(kp_delete_topics_resp_decode), &resp),
                     0);
    return resp.results[0].error_code;
}

static int16_t produce(int fd, const char *topic)
{
    static uint8_t batch[4096];
    long bl = tb_batch_values(batch, sizeof batch, "v", 0, 1, 0, false, 1700000000000LL);
    ck_assert_int_gt(bl, 0);
    struct kp_produce_req_partition p = {0, {batch, (int32_t)bl}};
    struct kp_produce_req_topic t = {kp_str_of(topic), 1, &p};
    struct kp_produce_req req = {KP_STR_NULL, -1, 5000, 1, &t};
    struct kp_produce_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_PRODUCE, 7, TB_ENC(kp_produce_req_encode), &req,
                              TB_DEC(kp_produce_resp_decode), &resp),
                     0);
    return resp.topics[0].partitions[0].error_code;
}

static int16_t fetch(int fd, const char *topic)
{
    struct kp_fetch_resp resp;
    ck_assert_int_eq(tb_kfetch(fd, topic, 0, 0, &resp), 0);
    return resp.topics[0].partitions[0].error_code;
}

static int16_t list_offsets(int fd, const char *topic)
{
    struct kp_list_offsets_req_partition p = {0, -1, -1, 1};
    struct kp_list_offsets_req_topic t = {kp_str_of(topic), 1, &p};
    struct kp_list_offsets_req req = {-1, 0, 1, &t};
    struct kp_list_offsets_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_LIST_OFFSETS, 2, TB_ENC(kp_list_offsets_req_encode), &req,
                              TB_DEC(kp_list_offsets_resp_decode), &resp),
                     0);
    return resp.topics[0].partitions[0].error_code;
}

/* Metadata for one topic (its error), or for all (*n_all topics listed; has: t listed). */
static int16_t metadata_one(int fd, const char *topic)
{
    struct kp_str n = kp_str_of(topic);
    struct kp_metadata_req req = {.n_topics = 1, .topics = &n, .allow_auto_topic_creation = false};
    struct kp_metadata_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_METADATA, 4, TB_ENC(kp_metadata_req_encode), &req,
                              TB_DEC(kp_metadata_resp_decode), &resp),
                     0);
    return resp.topics[0].error_code;
}

static bool metadata_lists(int fd, const char *topic)
{
    struct kp_metadata_req req = {.n_topics = -1};
    struct kp_metadata_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_METADATA, 4, TB_ENC(kp_metadata_req_encode), &req,
                              TB_DEC(kp_metadata_resp_decode), &resp),
                     0);
    for (int32_t i = 0; i < resp.n_topics; i++)
        if (kp_str_eq(resp.topics[i].name, topic))
            return true;
    return false;
}

static int16_t find_coordinator(int fd, const char *group)
{
    struct kp_find_coordinator_req req = {.key = kp_str_of(group), .key_type = 0};
    struct kp_find_coordinator_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_FIND_COORDINATOR, 2,
                              TB_ENC(kp_find_coordinator_req_encode), &req,
                              TB_DEC(kp_find_coordinator_resp_decode), &resp),
                     0);
    return resp.error_code;
}

static int16_t join_group(int fd, const char *group)
{
    struct kp_join_group_protocol pr = {kp_str_of("range"), {(const uint8_t *)"", 0}};
    struct kp_join_group_req req = {.group_id = kp_str_of(group),
                                    .session_timeout_ms = 10000,
                                    .rebalance_timeout_ms = 10000,
                                    .member_id = kp_str_of(""),
                                    .group_instance_id = KP_STR_NULL,
                                    .protocol_type = kp_str_of("consumer"),
                                    .n_protocols = 1,
                                    .protocols = &pr};
    struct kp_join_group_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_JOIN_GROUP, 5, TB_ENC(kp_join_group_req_encode), &req,
                              TB_DEC(kp_join_group_resp_decode), &resp),
                     0);
    return resp.error_code;
}

static int16_t sync_group(int fd, const char *group)
{
    struct kp_sync_group_req req = {.group_id = kp_str_of(group),
                                    .generation_id = 1,
                                    .member_id = kp_str_of("m"),
                                    .group_instance_id = KP_STR_NULL};
    struct kp_sync_group_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_SYNC_GROUP, 3, TB_ENC(kp_sync_group_req_encode), &req,
                              TB_DEC(kp_sync_group_resp_decode), &resp),
                     0);
    return resp.error_code;
}

static int16_t heartbeat(int fd, const char *group)
{
    struct kp_heartbeat_req req = {kp_str_of(group), 1, kp_str_of("m"), KP_STR_NULL};
    struct kp_heartbeat_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_HEARTBEAT, 3, TB_ENC(kp_heartbeat_req_encode), &req,
                              TB_DEC(kp_heartbeat_resp_decode), &resp),
                     0);
    return resp.error_code;
}

static int16_t leave_group(int fd, const char *group)
{
    struct kp_leave_group_req req = {.group_id = kp_str_of(group), .member_id = kp_str_of("m")};
    struct kp_leave_group_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_LEAVE_GROUP, 1, TB_ENC(kp_leave_group_req_encode), &req,
                              TB_DEC(kp_leave_group_resp_decode), &resp),
                     0);
    return resp.error_code;
}

static int16_t offset_commit(int fd, const char *group, const char *topic)
{
    struct kp_offset_commit_req_partition p = {0, 0, -1, kp_str_of(""), -1};
    struct kp_offset_commit_req_topic t = {kp_str_of(topic), 1, &p};
    struct kp_offset_commit_req req = {.group_id = kp_str_of(group),
                                       .generation_id = -1,
                                       .member_id = kp_str_of(""),
                                       .retention_time_ms = -1,
                                       .n_topics = 1,
                                       .topics = &t,
                                       .group_instance_id = KP_STR_NULL};
    struct kp_offset_commit_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_OFFSET_COMMIT, 5, TB_ENC(kp_offset_commit_req_encode),
                              &req, TB_DEC(kp_offset_commit_resp_decode), &resp),
                     0);
    return resp.topics[0].partitions[0].error_code;
}

/* OffsetFetch v4 of one partition: the response's error, else the partition's. */
static int16_t offset_fetch(int fd, const char *group, const char *topic)
{
    int32_t part = 0;
    struct kp_offset_fetch_req_topic t = {kp_str_of(topic), 1, &part};
    struct kp_offset_fetch_req req = {.group_id = kp_str_of(group), .n_topics = 1, .topics = &t};
    struct kp_offset_fetch_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_OFFSET_FETCH, 4, TB_ENC(kp_offset_fetch_req_encode), &req,
                              TB_DEC(kp_offset_fetch_resp_decode), &resp),
                     0);
    if (resp.error_code)
        return resp.error_code;
    return resp.topics[0].partitions[0].error_code;
}

struct acl {
    int8_t type;
    const char *name;
    int8_t pattern;
    const char *principal;
    int8_t op, perm;
};

static int16_t create_acl(int fd, struct acl a)
{
    struct kp_acl_creation c = {
        a.type, kp_str_of(a.name), a.pattern, kp_str_of(a.principal), kp_str_of("*"), a.op, a.perm};
    struct kp_create_acls_req req = {1, &c};
    struct kp_create_acls_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_CREATE_ACLS, 2, TB_ENC(kp_create_acls_req_encode), &req,
                              TB_DEC(kp_create_acls_resp_decode), &resp),
                     0);
    return resp.results[0].error_code;
}

/* Deletes every ACL on (type, name, pattern); the error and *n deleted. */
static int16_t delete_acls(int fd, int8_t type, const char *name, int8_t pattern, int *n)
{
    struct kp_acl_filter f = {type,        kp_str_of(name), pattern,        KP_STR_NULL,
                              KP_STR_NULL, KP_ACL_OP_ANY,   KP_ACL_PERM_ANY};
    struct kp_delete_acls_req req = {1, &f};
    struct kp_delete_acls_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_DELETE_ACLS, 2, TB_ENC(kp_delete_acls_req_encode), &req,
                              TB_DEC(kp_delete_acls_resp_decode), &resp),
                     0);
    if (n)
        *n = resp.filter_results[0].n_matching_acls;
    return resp.filter_results[0].error_code;
}

/* DescribeAcls of everything: the error, and *n bindings. */
static int16_t describe_acls(int fd, int *n)
{
    struct kp_describe_acls_req req = {{KP_ACL_RESOURCE_ANY, KP_STR_NULL, KP_ACL_PATTERN_ANY,
                                        KP_STR_NULL, KP_STR_NULL, KP_ACL_OP_ANY, KP_ACL_PERM_ANY}};
    struct kp_describe_acls_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_DESCRIBE_ACLS, 2, TB_ENC(kp_describe_acls_req_encode),
                              &req, TB_DEC(kp_describe_acls_resp_decode), &resp),
                     0);
    int k = 0;
    for (int32_t i = 0; i < resp.n_resources; i++)
        k += resp.resources[i].n_acls;
    if (n)
        *n = k;
    return resp.error_code;
}

/* ElectLeaders v2 (preferred) of topic's partition 0: the top-level error; *part the
 * partition's. */
static int16_t elect_leaders(int fd, const char *topic, int16_t *part)
{
    static const int32_t p0 = 0;
    struct kp_elect_leaders_req_topic tp = {kp_str_of(topic), 1, &p0};
    struct kp_elect_leaders_req req = {0, 1, &tp, 5000};
    struct kp_elect_leaders_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_ELECT_LEADERS, 2, TB_ENC(kp_elect_leaders_req_encode),
                              &req, TB_DEC(kp_elect_leaders_resp_decode), &resp),
                     0);
    ck_assert_int_eq(resp.n_results, 1);
    ck_assert_int_eq(resp.results[0].n_partitions, 1);
    *part = resp.results[0].partitions[0].error_code;
    return resp.error_code;
}

#define LIT   KP_ACL_PATTERN_LITERAL
#define PRE   KP_ACL_PATTERN_PREFIXED
#define ALLOW KP_ACL_PERM_ALLOW
#define DENY  KP_ACL_PERM_DENY
#define TOPIC KP_ACL_RESOURCE_TOPIC
#define GROUP KP_ACL_RESOURCE_GROUP

static int admin_fd;

static void setup(void)
{
    start(NULL);
    admin_fd = login("admin");
    ck_assert_int_eq(create_topic(admin_fd, "t"), 0);
    ck_assert_int_eq(create_topic(admin_fd, "pre-x"), 0);
    ck_assert_int_eq(create_topic(admin_fd, "other"), 0);
    ck_assert_int_eq(produce(admin_fd, "t"), 0); /* the super user may do anything */
}

static void teardown(void)
{
    close(admin_fd);
    tb_broker_cleanup(&B);
}

/* Without ACLs alice is refused everything (ElectLeaders too: ALTER on the cluster), each API with
 * Kafka's error code. */
START_TEST(every_api_refused_without_acl)
{
    int fd = login("alice");
    ck_assert_int_eq(produce(fd, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(fetch(fd, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(list_offsets(fd, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(metadata_one(fd, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert(!metadata_lists(fd, "t"));
    ck_assert_int_eq(find_coordinator(fd, "g"), KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(join_group(fd, "g"), KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(sync_group(fd, "g"), KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(heartbeat(fd, "g"), KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(leave_group(fd, "g"), KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(offset_commit(fd, "g", "t"), KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(offset_fetch(fd, "g", "t"), KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(create_topic(fd, "new"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(delete_topic(fd, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(
        create_acl(fd, (struct acl){TOPIC, "t", LIT, "User:alice", KP_ACL_OP_ALL, ALLOW}),
        KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    ck_assert_int_eq(delete_acls(fd, TOPIC, "t", LIT, NULL), KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    ck_assert_int_eq(describe_acls(fd, NULL), KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    int16_t ep = 0;
    ck_assert_int_eq(elect_leaders(fd, "t", &ep), KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    ck_assert_int_eq(ep, KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    {
        struct kp_describe_user_scram_credentials_req dr = {-1, NULL};
        struct kp_describe_user_scram_credentials_resp drs;
        ck_assert_int_eq(tb_kcall(fd, KP_API_DESCRIBE_USER_SCRAM_CREDENTIALS, 0,
                                  TB_ENC(kp_describe_user_scram_credentials_req_encode), &dr,
                                  TB_DEC(kp_describe_user_scram_credentials_resp_decode), &drs),
                         0);
        ck_assert_int_eq(drs.error_code, KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
        struct kp_scram_credential_deletion d = {kp_str_of("admin"), KP_SCRAM_SHA_256};
        struct kp_alter_user_scram_credentials_req ar = {1, &d, 0, NULL};
        struct kp_alter_user_scram_credentials_resp ars;
        ck_assert_int_eq(tb_kcall(fd, KP_API_ALTER_USER_SCRAM_CREDENTIALS, 0,
                                  TB_ENC(kp_alter_user_scram_credentials_req_encode), &ar,
                                  TB_DEC(kp_alter_user_scram_credentials_resp_decode), &ars),
                         0);
        ck_assert_int_eq(ars.results[0].error_code, KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
        struct kp_describe_client_quotas_req qr = {0, NULL, false};
        struct kp_describe_client_quotas_resp qrs;
        ck_assert_int_eq(tb_kcall(fd, KP_API_DESCRIBE_CLIENT_QUOTAS, 1,
                                  TB_ENC(kp_describe_client_quotas_req_encode), &qr,
                                  TB_DEC(kp_describe_client_quotas_resp_decode), &qrs),
                         0);
        ck_assert_int_eq(qrs.error_code, KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    }
    /* the PLAINTEXT listener's ANONYMOUS principal: refused the same way */
    int anon = tb_connect(B.port);
    ck_assert_int_eq(produce(anon, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    close(anon);
    close(fd);
}
END_TEST

/* Each API allowed by the ACL Kafka asks for, granted while alice's connection stays open. */
START_TEST(each_api_allowed_by_its_acl)
{
    int fd = login("alice");
    ck_assert_int_eq(produce(fd, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED); /* cached: denied */
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){TOPIC, "t", LIT, "User:alice", KP_ACL_OP_WRITE, ALLOW}),
        0);
    ck_assert_int_eq(produce(fd, "t"), 0); /* applied at once, cache emptied */
    ck_assert_int_eq(fetch(fd, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    /* WRITE implies DESCRIBE: Metadata and ListOffsets work */
    ck_assert_int_eq(metadata_one(fd, "t"), 0);
    ck_assert(metadata_lists(fd, "t"));
    ck_assert(!metadata_lists(fd, "other"));
    ck_assert_int_eq(list_offsets(fd, "t"), 0);
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){TOPIC, "t", LIT, "User:alice", KP_ACL_OP_READ, ALLOW}),
        0);
    ck_assert_int_eq(fetch(fd, "t"), 0);
    /* the group: READ for the members' APIs and commits, DESCRIBE for FindCoordinator and
     * OffsetFetch (READ implies it) */
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){GROUP, "g", LIT, "User:alice", KP_ACL_OP_READ, ALLOW}),
        0);
    ck_assert_int_eq(find_coordinator(fd, "g"), 0);
    ck_assert_int_eq(offset_commit(fd, "g", "t"), 0);
    ck_assert_int_eq(offset_fetch(fd, "g", "t"), 0);
    ck_assert_int_eq(heartbeat(fd, "g"), KP_ERR_UNKNOWN_MEMBER_ID); /* past the check */
    ck_assert_int_eq(offset_commit(fd, "g", "other"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(offset_fetch(fd, "g", "other"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    /* CREATE on a topic name; DELETE on a topic */
    ck_assert_int_eq(create_acl(admin_fd, (struct acl){TOPIC, "mine", LIT, "User:alice",
                                                       KP_ACL_OP_CREATE, ALLOW}),
                     0);
    ck_assert_int_eq(create_topic(fd, "mine"), 0);
    ck_assert_int_eq(create_acl(admin_fd, (struct acl){TOPIC, "mine", LIT, "User:alice",
                                                       KP_ACL_OP_DELETE, ALLOW}),
                     0);
    ck_assert_int_eq(delete_topic(fd, "mine"), 0);
    /* ALTER on the cluster: ACL changes; DESCRIBE on it: listing them */
    ck_assert_int_eq(create_acl(admin_fd, (struct acl){KP_ACL_RESOURCE_CLUSTER, "kafka-cluster",
                                                       LIT, "User:alice", KP_ACL_OP_ALTER, ALLOW}),
                     0);
    int16_t ep = 0;
    ck_assert_int_eq(elect_leaders(fd, "t", &ep), 0); /* ALTER on the cluster: ElectLeaders */
    ck_assert_int_eq(ep, KP_ERR_ELECTION_NOT_NEEDED);
    int n = 0;
    ck_assert_int_eq(describe_acls(fd, &n), 0); /* ALTER implies DESCRIBE */
    ck_assert_int_eq(n, 6);
    /* removed: refused again on the same connection */
    ck_assert_int_eq(delete_acls(admin_fd, TOPIC, "t", LIT, &n), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(produce(fd, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(fetch(fd, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    close(fd);
}
END_TEST

/* ---- transactions and idempotent producers ------------------------------------------------- */

static int16_t find_txn_coordinator(int fd, const char *txn_id)
{
    struct tb_find_coordinator fc;
    ck_assert_int_eq(tb_find_coordinator(fd, 2, 77, txn_id, 1, &fc), 0);
    return fc.error;
}

static int16_t init_pid(int fd, const char *txn_id, int64_t *pid, int16_t *epoch)
{
    int16_t err = -1;
    ck_assert_int_eq(tb_init_producer_id(fd, 4, txn_id, 60000, -1, -1, &err, pid, epoch), 0);
    return err;
}

/* AddPartitionsToTxn v3 of two topics (t1: partition 0; t2: partitions 0 and 5) into errs[3]. */
static void add_two_topics(int fd, const char *txn_id, int64_t pid, int16_t epoch, const char *t1,
                           const char *t2, int16_t errs[3])
{
    static const int32_t p0[] = {0}, p05[] = {0, 5};
    struct kp_add_partitions_to_txn_topic ts[2] = {{kp_str_of(t1), 1, p0}, {kp_str_of(t2), 2, p05}};
    struct kp_add_partitions_to_txn_req req = {kp_str_of(txn_id), pid, epoch, 2, ts};
    struct kp_add_partitions_to_txn_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_ADD_PARTITIONS_TO_TXN, 3,
                              TB_ENC(kp_add_partitions_to_txn_req_encode), &req,
                              TB_DEC(kp_add_partitions_to_txn_resp_decode), &resp),
                     0);
    ck_assert_int_eq(resp.n_topics, 2);
    int k = 0;
    for (int32_t i = 0; i < resp.n_topics; i++)
        for (int32_t j = 0; j < resp.topics[i].n_results && k < 3; j++)
            errs[k++] = resp.topics[i].results[j].error_code;
    ck_assert_int_eq(k, 3);
}

/* One record to t/0 from producer pid/epoch at sequence seq (transactional when txn_id). */
static int16_t produce_pid(int fd, const char *txn_id, int64_t pid, int16_t epoch, int32_t seq)
{
    uint8_t buf[4096];
    long n = tb_producer_batch(buf, sizeof buf, "p", seq, 1, pid, epoch, seq, txn_id != NULL);
    ck_assert_int_gt(n, 0);
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_txn_produce(fd, 7, txn_id, "t", 0, buf, (size_t)n, &pr), 0);
    return pr.error;
}

static int16_t add_offsets(int fd, const char *txn_id, int64_t pid, int16_t epoch, const char *g)
{
    int16_t err = -1;
    ck_assert_int_eq(tb_add_offsets(fd, 3, txn_id, pid, epoch, g, &err), 0);
    return err;
}

static int16_t end_txn(int fd, const char *txn_id, int64_t pid, int16_t epoch, bool commit)
{
    int16_t err = -1;
    ck_assert_int_eq(tb_end_txn(fd, 3, txn_id, pid, epoch, commit, &err), 0);
    return err;
}

static int16_t txn_commit(int fd, const char *txn_id, const char *g, int64_t pid, int16_t epoch,
                          const char *topic)
{
    int16_t err = -1;
    ck_assert_int_eq(tb_txn_offset_commit(fd, 3, txn_id, g, pid, epoch, topic, 0, 1, &err), 0);
    return err;
}

#define TXNID   KP_ACL_RESOURCE_TRANSACTIONAL_ID
#define CLUSTER KP_ACL_RESOURCE_CLUSTER

/* Each transaction API refused without its ACL with Kafka's code, then allowed by it, on one
 * connection of alice's while the ACLs change. */
START_TEST(transaction_apis)
{
    int fd = login("alice");
    int64_t pid = 0;
    int16_t ep = 0, errs[3];
    const int32_t p0[] = {0};
    /* nothing granted: each refused on the transactional id */
    ck_assert_int_eq(find_txn_coordinator(fd, "tx"), KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    ck_assert_int_eq(init_pid(fd, "tx", NULL, NULL), KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    ck_assert_int_eq(tb_add_partitions(fd, 3, "tx", 0, 0, "t", p0, 1, errs), 0);
    ck_assert_int_eq(errs[0], KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    ck_assert_int_eq(add_offsets(fd, "tx", 0, 0, "g"),
                     KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    ck_assert_int_eq(end_txn(fd, "tx", 0, 0, true), KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    ck_assert_int_eq(txn_commit(fd, "tx", "g", 0, 0, "t"),
                     KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);

    /* WRITE on the transactional id (it implies DESCRIBE, what FindCoordinator asks) */
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){TXNID, "tx", LIT, "User:alice", KP_ACL_OP_WRITE, ALLOW}),
        0);
    ck_assert_int_eq(find_txn_coordinator(fd, "tx"), 0);
    ck_assert_int_eq(find_txn_coordinator(fd, "tx2"), KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    ck_assert_int_eq(init_pid(fd, "tx", &pid, &ep), 0);
    ck_assert_int_ge(pid, 0);
    /* the topics: WRITE on each, else nothing is added (Kafka: the refused topic's partitions
     * TOPIC_AUTHORIZATION_FAILED, unknown ones UNKNOWN_TOPIC_OR_PARTITION, the rest
     * OPERATION_NOT_ATTEMPTED) */
    ck_assert_int_eq(tb_add_partitions(fd, 3, "tx", pid, ep, "t", p0, 1, errs), 0);
    ck_assert_int_eq(errs[0], KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(create_acl(admin_fd, (struct acl){TOPIC, "pre-", PRE, "User:alice",
                                                       KP_ACL_OP_WRITE, ALLOW}),
                     0);
    add_two_topics(fd, "tx", pid, ep, "t", "pre-x", errs);
    ck_assert_int_eq(errs[0], KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(errs[1], KP_ERR_OPERATION_NOT_ATTEMPTED);
    ck_assert_int_eq(errs[2], KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(end_txn(fd, "tx", pid, ep, true),
                     KP_ERR_INVALID_TXN_STATE); /* nothing added */
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){TOPIC, "t", LIT, "User:alice", KP_ACL_OP_WRITE, ALLOW}),
        0);
    ck_assert_int_eq(tb_add_partitions(fd, 3, "tx", pid, ep, "t", p0, 1, errs), 0);
    ck_assert_int_eq(errs[0], 0);
    ck_assert_int_eq(produce_pid(fd, "tx", pid, ep, 0), 0);
    /* a transactional Produce under an id alice may not write */
    ck_assert_int_eq(produce_pid(fd, "tx2", pid, ep, 1),
                     KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    /* the group: READ for AddOffsetsToTxn and TxnOffsetCommit, then READ on each topic */
    ck_assert_int_eq(add_offsets(fd, "tx", pid, ep, "g"), KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(txn_commit(fd, "tx", "g", pid, ep, "t"), KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){GROUP, "g", LIT, "User:alice", KP_ACL_OP_READ, ALLOW}),
        0);
    ck_assert_int_eq(add_offsets(fd, "tx", pid, ep, "g"), 0);
    ck_assert_int_eq(txn_commit(fd, "tx", "g", pid, ep, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){TOPIC, "t", LIT, "User:alice", KP_ACL_OP_READ, ALLOW}),
        0);
    ck_assert_int_eq(txn_commit(fd, "tx", "g", pid, ep, "t"), 0);
    ck_assert_int_eq(end_txn(fd, "tx", pid, ep, true), 0);
    /* the WRITE on the id removed: refused again, the transaction state untouched */
    ck_assert_int_eq(delete_acls(admin_fd, TXNID, "tx", LIT, NULL), 0);
    ck_assert_int_eq(end_txn(fd, "tx", pid, ep, true),
                     KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    ck_assert_int_eq(init_pid(fd, "tx", NULL, NULL), KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    close(fd);
}
END_TEST

/* An idempotent producer (no transactional id): InitProducerId needs IDEMPOTENT_WRITE on the
 * cluster or WRITE on some topic (KIP-679), CLUSTER_AUTHORIZATION_FAILED otherwise; its Produce
 * needs WRITE on the topic and nothing more. */
START_TEST(idempotent_producer)
{
    int fd = login("alice");
    int64_t pid = -1;
    int16_t ep = -1;
    ck_assert_int_eq(init_pid(fd, NULL, NULL, NULL), KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    /* a READ on a topic is not enough */
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){TOPIC, "t", LIT, "User:alice", KP_ACL_OP_READ, ALLOW}),
        0);
    ck_assert_int_eq(init_pid(fd, NULL, NULL, NULL), KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    /* IDEMPOTENT_WRITE on the cluster: a producer id, but its Produce still needs the topic */
    ck_assert_int_eq(create_acl(admin_fd, (struct acl){CLUSTER, "kafka-cluster", LIT, "User:alice",
                                                       KP_ACL_OP_IDEMPOTENT_WRITE, ALLOW}),
                     0);
    ck_assert_int_eq(init_pid(fd, NULL, &pid, &ep), 0);
    ck_assert_int_ge(pid, 0);
    ck_assert_int_eq(produce_pid(fd, NULL, pid, ep, 0), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(delete_acls(admin_fd, CLUSTER, "kafka-cluster", LIT, NULL), 0);
    ck_assert_int_eq(init_pid(fd, NULL, NULL, NULL), KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    /* WRITE on some topic (a prefix counts) is enough for both, without IDEMPOTENT_WRITE */
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){TOPIC, "zz-", PRE, "User:alice", KP_ACL_OP_WRITE, ALLOW}),
        0);
    ck_assert_int_eq(init_pid(fd, NULL, &pid, &ep), 0);
    ck_assert_int_eq(produce_pid(fd, NULL, pid, ep, 0), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){TOPIC, "t", LIT, "User:alice", KP_ACL_OP_WRITE, ALLOW}),
        0);
    ck_assert_int_eq(produce_pid(fd, NULL, pid, ep, 0), 0);
    ck_assert_int_eq(produce_pid(fd, NULL, pid, ep, 1), 0);
    /* a deny on the cluster's IDEMPOTENT_WRITE does not take the topic route away */
    ck_assert_int_eq(create_acl(admin_fd, (struct acl){CLUSTER, "kafka-cluster", LIT, "User:alice",
                                                       KP_ACL_OP_IDEMPOTENT_WRITE, DENY}),
                     0);
    ck_assert_int_eq(init_pid(fd, NULL, NULL, NULL), 0);
    close(fd);
}
END_TEST

/* WriteTxnMarkers of producer pid (COMMIT, epoch 0) for t-0 and t-7: both partitions' errors. */
static void write_markers(int fd, int64_t pid, int16_t e[2])
{
    static const int32_t parts[2] = {0, 7};
    struct kp_write_txn_markers_topic t = {kp_str_of("t"), 2, parts};
    struct kp_write_txn_marker m = {pid, 0, true, 1, &t, 0};
    struct kp_write_txn_markers_req req = {1, &m};
    struct kp_write_txn_markers_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_WRITE_TXN_MARKERS, 1,
                              TB_ENC(kp_write_txn_markers_req_encode), &req,
                              TB_DEC(kp_write_txn_markers_resp_decode), &resp),
                     0);
    ck_assert_int_eq(resp.n_markers, 1);
    ck_assert_int_eq(resp.markers[0].n_topics, 1);
    ck_assert_int_eq(resp.markers[0].topics[0].n_partitions, 2);
    e[0] = resp.markers[0].topics[0].partitions[0].error_code;
    e[1] = resp.markers[0].topics[0].partitions[1].error_code;
}

/* WriteTxnMarkers (a transaction coordinator's request to a partition leader) needs
 * CLUSTER_ACTION on the cluster (KafkaApis): without it every partition is
 * CLUSTER_AUTHORIZATION_FAILED and nothing is written; with it the marker is written. */
START_TEST(write_txn_markers_cluster_action)
{
    int64_t pid = -1;
    int16_t ep = -1;
    ck_assert_int_eq(init_pid(admin_fd, "tx", &pid, &ep), 0);
    int32_t part = 0;
    int16_t perr = -1;
    ck_assert_int_eq(tb_add_partitions(admin_fd, 1, "tx", pid, ep, "t", &part, 1, &perr), 0);
    ck_assert_int_eq(perr, 0);
    ck_assert_int_eq(produce_pid(admin_fd, "tx", pid, ep, 0), 0); /* an open transaction */
    int fd = login("alice");
    int16_t e[2];
    write_markers(fd, pid, e);
    ck_assert_int_eq(e[0], KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    ck_assert_int_eq(e[1], KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    /* nothing written: the transaction is still open, so a plain batch is refused */
    ck_assert_int_eq(produce_pid(admin_fd, NULL, pid, ep, 1), KP_ERR_INVALID_TXN_STATE);
    /* another cluster operation does not do */
    ck_assert_int_eq(create_acl(admin_fd, (struct acl){CLUSTER, "kafka-cluster", LIT, "User:alice",
                                                       KP_ACL_OP_IDEMPOTENT_WRITE, ALLOW}),
                     0);
    write_markers(fd, pid, e);
    ck_assert_int_eq(e[0], KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    ck_assert_int_eq(create_acl(admin_fd, (struct acl){CLUSTER, "kafka-cluster", LIT, "User:alice",
                                                       KP_ACL_OP_CLUSTER_ACTION, ALLOW}),
                     0);
    write_markers(fd, pid, e);
    ck_assert_int_eq(e[0], KP_ERR_NONE);
    ck_assert_int_eq(e[1], KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    /* the transaction is closed: a plain batch of the producer goes in */
    ck_assert_int_eq(produce_pid(admin_fd, NULL, pid, ep, 1), 0);
    close(fd);
}
END_TEST

/* ---- the admin and group APIs --------------------------------------------------------------- */

#define BIT(op) ((int32_t)1 << (op))

static struct kp_describe_groups_group describe_group(int fd, const char *group)
{
    struct kp_str g = kp_str_of(group);
    struct kp_describe_groups_req req = {1, &g, true};
    struct kp_describe_groups_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_DESCRIBE_GROUPS, 5, TB_ENC(kp_describe_groups_req_encode),
                              &req, TB_DEC(kp_describe_groups_resp_decode), &resp),
                     0);
    ck_assert_int_eq(resp.n_groups, 1);
    return resp.groups[0];
}

/* ListGroups: whether group a and group b are listed (bit 0: a, bit 1: b). */
static int list_groups(int fd, const char *a, const char *b)
{
    struct kp_list_groups_req req = {0};
    struct kp_list_groups_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_LIST_GROUPS, 4, TB_ENC(kp_list_groups_req_encode), &req,
                              TB_DEC(kp_list_groups_resp_decode), &resp),
                     0);
    ck_assert_int_eq(resp.error_code, 0);
    int seen = 0;
    for (int32_t i = 0; i < resp.n_groups; i++)
        seen |= (kp_str_eq(resp.groups[i].group_id, a) ? 1 : 0) |
                (kp_str_eq(resp.groups[i].group_id, b) ? 2 : 0);
    return seen;
}

static int16_t delete_group(int fd, const char *group)
{
    struct kp_str g = kp_str_of(group);
    struct kp_delete_groups_req req = {1, &g};
    struct kp_delete_groups_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_DELETE_GROUPS, 2, TB_ENC(kp_delete_groups_req_encode),
                              &req, TB_DEC(kp_delete_groups_resp_decode), &resp),
                     0);
    return resp.results[0].error_code;
}

/* OffsetDelete of topic/0: the response's error, or else the partition's. */
static int16_t offset_delete(int fd, const char *group, const char *topic)
{
    struct kp_offset_delete_req_partition p = {0};
    struct kp_offset_delete_req_topic t = {kp_str_of(topic), 1, &p};
    struct kp_offset_delete_req req = {kp_str_of(group), 1, &t};
    struct kp_offset_delete_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_OFFSET_DELETE, 0, TB_ENC(kp_offset_delete_req_encode),
                              &req, TB_DEC(kp_offset_delete_resp_decode), &resp),
                     0);
    if (resp.error_code)
        return resp.error_code;
    ck_assert_int_eq(resp.n_topics, 1);
    return resp.topics[0].partitions[0].error_code;
}

static int16_t describe_config(int fd, int8_t type, const char *name)
{
    struct kp_describe_configs_resource res = {type, kp_str_of(name), -1, NULL};
    struct kp_describe_configs_req req = {1, &res, false, false};
    struct kp_describe_configs_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_DESCRIBE_CONFIGS, 4,
                              TB_ENC(kp_describe_configs_req_encode), &req,
                              TB_DEC(kp_describe_configs_resp_decode), &resp),
                     0);
    if (resp.results[0].error_code)
        ck_assert_int_eq(resp.results[0].n_configs, 0);
    return resp.results[0].error_code;
}

static int16_t alter_config(int fd, int8_t type, const char *name, bool incremental)
{
    if (incremental) {
        struct kp_incremental_alter_configs_config c = {kp_str_of("retention.ms"), KP_CONFIG_OP_SET,
                                                        kp_str_of("3600000")};
        struct kp_incremental_alter_configs_resource res = {type, kp_str_of(name), 1, &c};
        struct kp_incremental_alter_configs_req req = {1, &res, false};
        struct kp_alter_configs_resp resp;
        ck_assert_int_eq(tb_kcall(fd, KP_API_INCREMENTAL_ALTER_CONFIGS, 1,
                                  TB_ENC(kp_incremental_alter_configs_req_encode), &req,
                                  TB_DEC(kp_incremental_alter_configs_resp_decode), &resp),
                         0);
        return resp.responses[0].error_code;
    }
    struct kp_alter_configs_config c = {kp_str_of("retention.ms"), kp_str_of("7200000")};
    struct kp_alter_configs_resource res = {type, kp_str_of(name), 1, &c};
    struct kp_alter_configs_req req = {1, &res, false};
    struct kp_alter_configs_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_ALTER_CONFIGS, 2, TB_ENC(kp_alter_configs_req_encode),
                              &req, TB_DEC(kp_alter_configs_resp_decode), &resp),
                     0);
    return resp.responses[0].error_code;
}

static int16_t create_partitions(int fd, const char *topic, int32_t count)
{
    struct kp_create_partitions_topic t = {kp_str_of(topic), count, -1, NULL};
    struct kp_create_partitions_req req = {1, &t, 5000, false};
    struct kp_create_partitions_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_CREATE_PARTITIONS, 3,
                              TB_ENC(kp_create_partitions_req_encode), &req,
                              TB_DEC(kp_create_partitions_resp_decode), &resp),
                     0);
    return resp.results[0].error_code;
}

static int16_t delete_records(int fd, const char *topic, int64_t *low)
{
    struct kp_delete_records_req_partition p = {0, -1};
    struct kp_delete_records_req_topic t = {kp_str_of(topic), 1, &p};
    struct kp_delete_records_req req = {1, &t, 5000};
    struct kp_delete_records_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_DELETE_RECORDS, 2, TB_ENC(kp_delete_records_req_encode),
                              &req, TB_DEC(kp_delete_records_resp_decode), &resp),
                     0);
    *low = resp.topics[0].partitions[0].low_watermark;
    return resp.topics[0].partitions[0].error_code;
}

/* DescribeLogDirs v3 of everything: the error; *n results. */
static int16_t describe_log_dirs(int fd, int32_t *n)
{
    struct kp_describe_log_dirs_req req = {-1, NULL};
    struct kp_describe_log_dirs_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_DESCRIBE_LOG_DIRS, 3,
                              TB_ENC(kp_describe_log_dirs_req_encode), &req,
                              TB_DEC(kp_describe_log_dirs_resp_decode), &resp),
                     0);
    *n = resp.n_results;
    return resp.error_code;
}

/* DescribeCluster asking for the cluster's authorized operations: them (the error is 0). */
static int32_t cluster_ops(int fd)
{
    struct kp_describe_cluster_req req = {true, 1};
    struct kp_describe_cluster_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_DESCRIBE_CLUSTER, 1,
                              TB_ENC(kp_describe_cluster_req_encode), &req,
                              TB_DEC(kp_describe_cluster_resp_decode), &resp),
                     0);
    ck_assert_int_eq(resp.error_code, 0);
    ck_assert_int_eq(resp.n_brokers, 1);
    return resp.cluster_authorized_operations;
}

/* Metadata v10 of one topic asking for both authorized operations: the topic's error, *ops
 * its operations, *cops the cluster's. */
static int16_t metadata_ops(int fd, const char *topic, int32_t *ops, int32_t *cops)
{
    struct kp_str n = kp_str_of(topic);
    struct kp_uuid zero = {{0}};
    struct kp_metadata_req req = {.n_topics = 1,
                                  .topics = &n,
                                  .topic_ids = &zero,
                                  .include_cluster_authorized_operations = true,
                                  .include_topic_authorized_operations = true};
    struct kp_metadata_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_METADATA, 10, TB_ENC(kp_metadata_req_encode), &req,
                              TB_DEC(kp_metadata_resp_decode), &resp),
                     0);
    *ops = resp.topics[0].topic_authorized_operations;
    *cops = resp.cluster_authorized_operations;
    return resp.topics[0].error_code;
}

/* FindCoordinator v4 with two group keys: their errors in e[0], e[1]. */
static void find_coordinators(int fd, const char *g1, const char *g2, int16_t e[2])
{
    struct kp_str keys[2] = {kp_str_of(g1), kp_str_of(g2)};
    struct kp_find_coordinator_req req = {
        .key_type = 0, .n_coordinator_keys = 2, .coordinator_keys = keys};
    struct kp_find_coordinator_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_FIND_COORDINATOR, 4,
                              TB_ENC(kp_find_coordinator_req_encode), &req,
                              TB_DEC(kp_find_coordinator_resp_decode), &resp),
                     0);
    ck_assert_int_eq(resp.n_coordinators, 2);
    e[0] = resp.coordinators[0].error_code;
    e[1] = resp.coordinators[1].error_code;
}

/* LeaveGroup v3 of one member: the response's error (*member: the member's, or -1). */
static int16_t leave_group_v3(int fd, const char *group, int16_t *member)
{
    struct kp_leave_group_member m = {kp_str_of("m"), KP_STR_NULL, KP_STR_NULL};
    struct kp_leave_group_req req = {.group_id = kp_str_of(group), .n_members = 1, .members = &m};
    struct kp_leave_group_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_LEAVE_GROUP, 3, TB_ENC(kp_leave_group_req_encode), &req,
                              TB_DEC(kp_leave_group_resp_decode), &resp),
                     0);
    *member = resp.n_members > 0 ? resp.members[0].error_code : -1;
    return resp.error_code;
}

#define CLUSTER    KP_ACL_RESOURCE_CLUSTER
#define CFG_TOPIC  KP_CONFIG_RESOURCE_TOPIC
#define CFG_BROKER KP_CONFIG_RESOURCE_BROKER

static void allow(int8_t type, const char *name, int8_t op)
{
    ck_assert_int_eq(create_acl(admin_fd, (struct acl){type, name, LIT, "User:alice", op, ALLOW}),
                     0);
}

/* Each API main's adm branch serves: refused without its ACL with Kafka's code, allowed by the
 * ACL Kafka asks for. */
START_TEST(admin_apis)
{
    /* groups with committed offsets only (Empty): g and h */
    ck_assert_int_eq(offset_commit(admin_fd, "g", "t"), 0);
    ck_assert_int_eq(offset_commit(admin_fd, "h", "t"), 0);
    int32_t all_topic = BIT(KP_ACL_OP_READ) | BIT(KP_ACL_OP_WRITE) | BIT(KP_ACL_OP_CREATE) |
                        BIT(KP_ACL_OP_DELETE) | BIT(KP_ACL_OP_ALTER) | BIT(KP_ACL_OP_DESCRIBE) |
                        BIT(KP_ACL_OP_DESCRIBE_CONFIGS) | BIT(KP_ACL_OP_ALTER_CONFIGS);
    int32_t all_cluster = BIT(KP_ACL_OP_CREATE) | BIT(KP_ACL_OP_CLUSTER_ACTION) |
                          BIT(KP_ACL_OP_DESCRIBE_CONFIGS) | BIT(KP_ACL_OP_ALTER_CONFIGS) |
                          BIT(KP_ACL_OP_IDEMPOTENT_WRITE) | BIT(KP_ACL_OP_ALTER) |
                          BIT(KP_ACL_OP_DESCRIBE);
    int32_t ops, cops;
    /* the super user may do everything: every operation reported */
    ck_assert_int_eq(metadata_ops(admin_fd, "t", &ops, &cops), 0);
    ck_assert_int_eq(ops, all_topic);
    ck_assert_int_eq(cops, all_cluster);
    ck_assert_int_eq(cluster_ops(admin_fd), all_cluster);
    ck_assert_int_eq(describe_group(admin_fd, "g").authorized_operations,
                     BIT(KP_ACL_OP_READ) | BIT(KP_ACL_OP_DELETE) | BIT(KP_ACL_OP_DESCRIBE));

    int fd = login("alice");
    int16_t e[2], member;
    int64_t low;
    int32_t n;
    /* refused, each with Kafka's code */
    struct kp_describe_groups_group dg = describe_group(fd, "g");
    ck_assert_int_eq(dg.error_code, KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(dg.authorized_operations, INT32_MIN);
    ck_assert_int_eq(list_groups(fd, "g", "h"), 0);
    ck_assert_int_eq(delete_group(fd, "g"), KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(offset_delete(fd, "g", "t"), KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(describe_config(fd, CFG_TOPIC, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(describe_config(fd, CFG_BROKER, "1"), KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    ck_assert_int_eq(alter_config(fd, CFG_TOPIC, "t", false), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(alter_config(fd, CFG_TOPIC, "t", true), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(alter_config(fd, CFG_BROKER, "1", true), KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    ck_assert_int_eq(create_partitions(fd, "t", 2), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(delete_records(fd, "t", &low), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(low, -1);
    ck_assert_int_eq(describe_log_dirs(fd, &n), KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(cluster_ops(fd), 0); /* answered, no operations without DESCRIBE */
    ck_assert_int_eq(metadata_ops(fd, "t", &ops, &cops), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(ops, INT32_MIN);
    ck_assert_int_eq(cops, 0);
    find_coordinators(fd, "g", "h", e);
    ck_assert_int_eq(e[0], KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(e[1], KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(leave_group_v3(fd, "g", &member), KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(member, -1);

    /* DESCRIBE on group g: described, listed, found; not h */
    allow(GROUP, "g", KP_ACL_OP_DESCRIBE);
    dg = describe_group(fd, "g");
    ck_assert_int_eq(dg.error_code, 0);
    ck_assert(kp_str_eq(dg.group_state, "Empty"));
    ck_assert_int_eq(dg.authorized_operations, BIT(KP_ACL_OP_DESCRIBE));
    ck_assert_int_eq(list_groups(fd, "g", "h"), 1);
    find_coordinators(fd, "g", "h", e);
    ck_assert_int_eq(e[0], 0);
    ck_assert_int_eq(e[1], KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(delete_group(fd, "g"), KP_ERR_GROUP_AUTHORIZATION_FAILED); /* not DELETE */
    /* DESCRIBE on the cluster: every group, the log dirs, the cluster's operations */
    allow(CLUSTER, "kafka-cluster", KP_ACL_OP_DESCRIBE);
    ck_assert_int_eq(list_groups(fd, "g", "h"), 3);
    ck_assert_int_eq(describe_log_dirs(fd, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(cluster_ops(fd), BIT(KP_ACL_OP_DESCRIBE));
    /* READ on g (the members' APIs): LeaveGroup v3 gets past the check */
    allow(GROUP, "g", KP_ACL_OP_READ);
    ck_assert_int_eq(leave_group_v3(fd, "g", &member), 0);
    ck_assert_int_eq(member, KP_ERR_UNKNOWN_MEMBER_ID);
    /* DELETE on g: OffsetDelete then needs READ on each topic */
    allow(GROUP, "g", KP_ACL_OP_DELETE);
    ck_assert_int_eq(offset_delete(fd, "g", "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    allow(TOPIC, "t", KP_ACL_OP_READ);
    ck_assert_int_eq(offset_delete(fd, "g", "t"), 0);
    ck_assert_int_eq(delete_group(fd, "h"), KP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(delete_group(fd, "g"), KP_ERR_GROUP_ID_NOT_FOUND); /* past the check */
    /* configs: DESCRIBE_CONFIGS / ALTER_CONFIGS on the topic, or on the cluster */
    allow(TOPIC, "t", KP_ACL_OP_DESCRIBE_CONFIGS);
    ck_assert_int_eq(describe_config(fd, CFG_TOPIC, "t"), 0);
    ck_assert_int_eq(alter_config(fd, CFG_TOPIC, "t", false), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    allow(TOPIC, "t", KP_ACL_OP_ALTER_CONFIGS);
    ck_assert_int_eq(alter_config(fd, CFG_TOPIC, "t", false), 0);
    ck_assert_int_eq(alter_config(fd, CFG_TOPIC, "t", true), 0);
    ck_assert_int_eq(describe_config(fd, CFG_TOPIC, "other"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    allow(CLUSTER, "kafka-cluster", KP_ACL_OP_DESCRIBE_CONFIGS);
    ck_assert_int_ne(describe_config(fd, CFG_BROKER, "1"), KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    allow(CLUSTER, "kafka-cluster", KP_ACL_OP_ALTER_CONFIGS);
    ck_assert_int_eq(alter_config(fd, CFG_BROKER, "1", true),
                     KP_ERR_INVALID_REQUEST); /* read-only */
    /* ALTER on the topic: CreatePartitions; DELETE on it: DeleteRecords */
    allow(TOPIC, "t", KP_ACL_OP_ALTER);
    ck_assert_int_eq(create_partitions(fd, "t", 2), 0);
    ck_assert_int_eq(create_partitions(fd, "other", 2), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    allow(TOPIC, "t", KP_ACL_OP_DELETE);
    ck_assert_int_eq(delete_records(fd, "t", &low), 0);
    ck_assert_int_eq(low, 1); /* the one record setup produced */
    /* Metadata v10: what alice may do to t, from the authorizer */
    ck_assert_int_eq(metadata_ops(fd, "t", &ops, &cops), 0);
    ck_assert_int_eq(ops, BIT(KP_ACL_OP_READ) | BIT(KP_ACL_OP_DELETE) | BIT(KP_ACL_OP_ALTER) |
                              BIT(KP_ACL_OP_DESCRIBE) | BIT(KP_ACL_OP_DESCRIBE_CONFIGS) |
                              BIT(KP_ACL_OP_ALTER_CONFIGS));
    ck_assert_int_eq(cops, BIT(KP_ACL_OP_DESCRIBE) | BIT(KP_ACL_OP_DESCRIBE_CONFIGS) |
                               BIT(KP_ACL_OP_ALTER_CONFIGS));
    close(fd);
}
END_TEST

START_TEST(deny_beats_allow)
{
    int fd = login("alice");
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){TOPIC, "*", LIT, "User:*", KP_ACL_OP_ALL, ALLOW}), 0);
    ck_assert_int_eq(produce(fd, "t"), 0);
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){TOPIC, "t", LIT, "User:alice", KP_ACL_OP_WRITE, DENY}),
        0);
    ck_assert_int_eq(produce(fd, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(produce(fd, "other"), 0);
    ck_assert_int_eq(fetch(fd, "t"), 0); /* a DENY of WRITE leaves READ */
    close(fd);
}
END_TEST

START_TEST(prefixed_patterns)
{
    int fd = login("alice");
    ck_assert_int_eq(create_acl(admin_fd, (struct acl){TOPIC, "pre-", PRE, "User:alice",
                                                       KP_ACL_OP_WRITE, ALLOW}),
                     0);
    ck_assert_int_eq(produce(fd, "pre-x"), 0);
    ck_assert_int_eq(produce(fd, "other"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(produce(fd, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert(metadata_lists(fd, "pre-x"));
    ck_assert(!metadata_lists(fd, "t"));
    /* a prefixed DENY beats a literal ALLOW */
    ck_assert_int_eq(create_acl(admin_fd, (struct acl){TOPIC, "pre-x", LIT, "User:alice",
                                                       KP_ACL_OP_READ, ALLOW}),
                     0);
    ck_assert_int_eq(fetch(fd, "pre-x"), 0);
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){TOPIC, "pre", PRE, "User:alice", KP_ACL_OP_READ, DENY}),
        0);
    ck_assert_int_eq(fetch(fd, "pre-x"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    close(fd);
}
END_TEST

/* A binding Kafka refuses is INVALID_REQUEST; ACLs survive a restart. */
START_TEST(invalid_binding_and_restart)
{
    ck_assert_int_eq(create_acl(admin_fd, (struct acl){KP_ACL_RESOURCE_CLUSTER, "other-name", LIT,
                                                       "User:alice", KP_ACL_OP_ALTER, ALLOW}),
                     KP_ERR_INVALID_REQUEST);
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){TOPIC, "t", LIT, "alice", KP_ACL_OP_READ, ALLOW}),
        KP_ERR_INVALID_REQUEST);
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){TOPIC, "t", LIT, "User:alice", KP_ACL_OP_WRITE, ALLOW}),
        0);
    close(admin_fd);
    ck_assert_int_eq(tb_broker_stop(&B, SIGTERM) >= 0, 1);
    const char *argv[] = {"-o", "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
                          "-o", "authorizer.class.name=kafka.security.authorizer.AclAuthorizer",
                          "-o", "super.users=User:admin",
                          NULL};
    ck_assert_int_eq(tb_broker_start(&B, argv), 0);
    sasl_port = tb_listener_port(&B, "SASL_PLAINTEXT");
    admin_fd = login("admin");
    int fd = login("alice");
    ck_assert_int_eq(produce(fd, "t"), 0);
    close(fd);
}
END_TEST

/* allow.everyone.if.no.acl.found: a resource no ACL names is open; one that is named is not. */
START_TEST(allow_everyone_if_no_acl)
{
    close(admin_fd);
    tb_broker_cleanup(&B);
    const char *more[] = {"-o", "allow.everyone.if.no.acl.found=true", NULL};
    start(more);
    admin_fd = login("admin");
    ck_assert_int_eq(create_topic(admin_fd, "t"), 0);
    ck_assert_int_eq(create_topic(admin_fd, "other"), 0);
    int fd = login("alice");
    ck_assert_int_eq(produce(fd, "t"), 0);
    ck_assert_int_eq(
        create_acl(admin_fd, (struct acl){TOPIC, "t", LIT, "User:bob", KP_ACL_OP_WRITE, ALLOW}), 0);
    ck_assert_int_eq(produce(fd, "t"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    ck_assert_int_eq(produce(fd, "other"), 0);
    close(fd);
}
END_TEST

/* No authorizer: the ACL APIs answer SECURITY_DISABLED, everything else is allowed. */
START_TEST(no_authorizer)
{
    close(admin_fd);
    tb_broker_cleanup(&B);
    memset(&B, 0, sizeof B);
    ck_assert_int_eq(tb_broker_start(&B, NULL), 0);
    int fd = tb_connect(B.port);
    ck_assert_int_eq(describe_acls(fd, NULL), KP_ERR_SECURITY_DISABLED);
    ck_assert_int_eq(
        create_acl(fd, (struct acl){TOPIC, "t", LIT, "User:alice", KP_ACL_OP_ALL, ALLOW}),
        KP_ERR_SECURITY_DISABLED);
    ck_assert_int_eq(create_topic(fd, "t"), 0);
    ck_assert_int_eq(produce(fd, "t"), 0);
    close(fd);
    admin_fd = -1;
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("acl");
    TCase *tc = tcase_create("acl");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_api_refused_without_acl);
    tcase_add_test(tc, each_api_allowed_by_its_acl);
    tcase_add_test(tc, transaction_apis);
    tcase_add_test(tc, idempotent_producer);
    tcase_add_test(tc, write_txn_markers_cluster_action);
    tcase_add_test(tc, admin_apis);
    tcase_add_test(tc, deny_beats_allow);
    tcase_add_test(tc, prefixed_patterns);
    tcase_add_test(tc, invalid_binding_and_restart);
    tcase_add_test(tc, allow_everyone_if_no_acl);
    tcase_add_test(tc, no_authorizer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
