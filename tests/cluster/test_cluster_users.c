/*
 * test_cluster_users — SCRAM credentials and client quotas are the cluster's (issue 18), against
 * a real ZooKeeper and three brokers with a PLAINTEXT and a SASL_PLAINTEXT listener each, in raw
 * protocol (tb_sasl's independent SCRAM client; no authorizer, so anyone may alter).
 *
 * users_and_quotas_through_zookeeper:
 * - a SCRAM user ("alice*": the '*' sanitized as %2A, as Kafka's Sanitizer) created through
 *   broker 1 logs in on broker 1 at once and on brokers 2 and 3; /config/users/alice%2A holds
 *   Kafka's {"version":1,"config":{"SCRAM-SHA-512":"salt=..,stored_key=..,server_key=..,
 *   iterations=4096"}} and a /config/changes notification names "users/alice%2A";
 * - quotas of alice* set through broker 1 share that document (the credential stays); broker 3
 *   describes them (DescribeClientQuotas) and enforces request_percentage (throttle_time_ms > 0
 *   on Metadata as alice*); a client-id quota and a (user, <default> client) quota through
 *   broker 2 land in /config/clients/<c> and /config/users/<u>/clients/<default>, described by
 *   broker 1;
 * - written by Kafka's own tools (kafka-configs --zookeeper's znodes and notifications, version
 *   2 and version 1, a user znode without data above a (user, client) one): a credential logs
 *   in, the quota is described, and a credential change through a broker writes over the empty
 *   user znode;
 * - alice*'s credential deleted through broker 2: broker 1 refuses her login, the document keeps
 *   her quotas;
 * - broker 3 killed -9, bob created and alice's quota changed meanwhile, broker 3 restarted: bob
 *   logs in there and the new quota is described, alice* is still refused there;
 * - a document that does not parse (frank's) fails closed: his credential goes; a quota of a
 *   client id of 900 '*' (an entity path of 2,700 bytes) set through broker 2 is described by
 *   broker 1 (its notification was dropped as "not a config change notification" before);
 * - `splicelog user create --data-dir` on a stopped cluster broker is refused, pointing at
 *   --bootstrap (its store is ZooKeeper's cache);
 * - a single node's data dir (broker 4) with users made offline joins the cluster: one
 *   ZooKeeper has no document of (carol) is carried there at the broker's start and logs in on
 *   every broker; one ZooKeeper has a document of (alice*, without a credential now) is
 *   replaced by it; carol deleted in ZooKeeper while broker 4 is down stays deleted when it
 *   comes back (before, every broker's start carried its cached carol back to ZooKeeper).
 * zookeeper_away_changes_nothing: with ZooKeeper's process stopped, AlterUserScramCredentials
 * and AlterClientQuotas answer REQUEST_TIMED_OUT and change nothing locally; once it is back
 * they go through.
 * Before this change each broker kept its own: a user created through broker 1 could not log
 * in on broker 2.
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <limits.h>

#include "kp_msg.h"
#include "kp_msg_sec.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_clu.h"
#include "tb_kafka.h"
#include "tb_sasl.h"
#include "tb_tls.h"
#include "tb_zk.h"

#define SESSION_MS 3000
#define WAIT_MS    20000
#define NBROKERS   3
#define CHROOT     "/tusers"

static struct tb_broker B[NBROKERS + 2]; /* (1..3, and 4: a single node joining later) */

static void teardown(void)
{
    for (int i = 1; i <= NBROKERS + 1; i++)
        tb_broker_cleanup(&B[i]);
}

static const char *const MORE[] = {
    "-o", "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
    "-o", "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512",
    "-o", "connection.failed.authentication.delay.ms=0",
    "-o", "quota.window.num=3",
    "-o", "quota.window.size.seconds=1",
    NULL};

static int start_broker(int id)
{
    return tb_zk_broker_start(&B[id], &tb_clu_zk, CHROOT, id, SESSION_MS, NULL, MORE);
}

/* `splicelog user create --data-dir` of broker id's data dir (the broker stopped): 0 or the
 * tool's exit status. */
static int offline_user(int id, const char *user, const char *pw)
{
    static char tool[PATH_MAX];
    const char *b = getenv("SPLICELOG_BUILD"), *root = getenv("SPLICELOG_ROOT");
    if (b)
        snprintf(tool, sizeof tool, "%s/san/splicelog", b);
    else
        snprintf(tool, sizeof tool, "%s/build/san/splicelog", root ? root : ".");
    char out[400];
    snprintf(out, sizeof out, "%s/tool.out", B[id].dir);
    const char *argv[] = {tool, "user",       "create", "--data-dir",  B[id].data,      "--name",
                          user, "--password", pw,       "--mechanism", "SCRAM-SHA-512", NULL};
    pid_t pid = tb_spawn(argv, out);
    ck_assert_msg(pid > 0, "spawn %s: %s", tool, strerror(-pid));
    int st = tb_wait_exit(pid, 60000);
    ck_assert(st >= 0 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* The first 4 KiB of a file (NUL-terminated; "" when unreadable). */
static const char *file_text(const char *path)
{
    static char buf[4096];
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        buf[fread(buf, 1, sizeof buf - 1, f)] = 0;
        fclose(f);
    }
    return buf;
}

/* ---- requests ------------------------------------------------------------------------------- */

/* AlterUserScramCredentials v0 through broker id's PLAINTEXT listener: one upsertion of
 * SCRAM-SHA-512 (password pw, 4096 iterations) or, with pw NULL, its deletion; the user's error. */
static int16_t alter_scram(int id, const char *user, const char *pw)
{
    uint8_t salt[16] = "0123456789abcdef", salted[64];
    if (pw)
        PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof salt, 4096, EVP_sha512(), 64, salted);
    struct kp_scram_credential_upsertion up = {
        kp_str_of(user), KP_SCRAM_SHA_512, 4096, {salt, sizeof salt}, {salted, 64}};
    struct kp_scram_credential_deletion d = {kp_str_of(user), KP_SCRAM_SHA_512};
    struct kp_alter_user_scram_credentials_req req = {pw ? 0 : 1, &d, pw ? 1 : 0, &up};
    struct kp_alter_user_scram_credentials_resp resp;
    int fd = tb_connect(B[id].port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_kcall(fd, KP_API_ALTER_USER_SCRAM_CREDENTIALS, 0,
                              TB_ENC(kp_alter_user_scram_credentials_req_encode), &req,
                              TB_DEC(kp_alter_user_scram_credentials_resp_decode), &resp),
                     0);
    close(fd);
    ck_assert_int_eq(resp.n_results, 1);
    return resp.results[0].error_code;
}

/* A SCRAM-SHA-512 login on broker id's SASL listener: 0, or the broker's error (58). */
static int login(int id, const char *user, const char *pw)
{
    int port = tb_listener_port(&B[id], "SASL_PLAINTEXT");
    ck_assert_int_gt(port, 0);
    int fd = tb_connect(port);
    ck_assert_int_ge(fd, 0);
    int rc = tb_sasl_login(fd, "SCRAM-SHA-512", user, pw);
    close(fd);
    ck_assert_msg(rc >= 0, "login on broker %d: %d", id, rc);
    return rc;
}

/* Waits (bounded) for the login's outcome to be ok (or refused). */
static void login_becomes(int id, const char *user, const char *pw, bool ok)
{
    int rc = -1;
    for (int64_t end = tb_now_ms() + WAIT_MS; tb_now_ms() < end; tb_sleep_ms(100))
        if (((rc = login(id, user, pw)) == 0) == ok)
            return;
    ck_abort_msg("broker %d: %s's login still %s (%d)", id, user, ok ? "refused" : "accepted", rc);
}

/* AlterClientQuotas v1 through broker id of one key (remove: value ignored) of the entity
 * (user: NULL absent, "" the default; client the same); the entry's error. */
static int16_t alter_quota(int id, const char *user, const char *client, const char *key, double v)
{
    struct kp_quota_entity e[2];
    int32_t ne = 0;
    if (user)
        e[ne++] =
            (struct kp_quota_entity){kp_str_of("user"), user[0] ? kp_str_of(user) : KP_STR_NULL};
    if (client)
        e[ne++] = (struct kp_quota_entity){kp_str_of("client-id"),
                                           client[0] ? kp_str_of(client) : KP_STR_NULL};
    struct kp_quota_op op = {kp_str_of(key), v, false};
    struct kp_alter_client_quotas_entry en = {ne, e, 1, &op};
    struct kp_alter_client_quotas_req req = {1, &en, false};
    struct kp_alter_client_quotas_resp resp;
    int fd = tb_connect(B[id].port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_kcall(fd, KP_API_ALTER_CLIENT_QUOTAS, 1,
                              TB_ENC(kp_alter_client_quotas_req_encode), &req,
                              TB_DEC(kp_alter_client_quotas_resp_decode), &resp),
                     0);
    close(fd);
    ck_assert_int_eq(resp.n_entries, 1);
    return resp.entries[0].error_code;
}

/* DescribeClientQuotas v1 on broker id of the entity with type's name exactly name (strict: no
 * other part): key's value, or -1 when the entity or the key is not there. */
static double describe_q(int id, const char *type, const char *name, const char *key, bool strict)
{
    struct kp_quota_filter_component c = {kp_str_of(type), KP_QUOTA_MATCH_EXACT, kp_str_of(name)};
    struct kp_describe_client_quotas_req req = {1, &c, strict};
    struct kp_describe_client_quotas_resp resp;
    int fd = tb_connect(B[id].port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_kcall(fd, KP_API_DESCRIBE_CLIENT_QUOTAS, 1,
                              TB_ENC(kp_describe_client_quotas_req_encode), &req,
                              TB_DEC(kp_describe_client_quotas_resp_decode), &resp),
                     0);
    close(fd);
    ck_assert_int_eq(resp.error_code, 0);
    for (int32_t i = 0; i < resp.n_entries; i++)
        for (int32_t k = 0; k < resp.entries[i].n_values; k++)
            if (kp_str_eq(resp.entries[i].values[k].key, key))
                return resp.entries[i].values[k].value;
    return -1;
}

static double described(int id, const char *type, const char *name, const char *key)
{
    return describe_q(id, type, name, key, true);
}

static void described_becomes(int id, const char *type, const char *name, const char *key,
                              double want)
{
    double v = -2;
    for (int64_t end = tb_now_ms() + WAIT_MS; tb_now_ms() < end; tb_sleep_ms(100))
        if ((v = described(id, type, name, key)) == want)
            return;
    ck_abort_msg("broker %d: %s %s %s is %g, want %g", id, type, name, key, v, want);
}

/* Metadata v4 requests as user on broker id's SASL listener until one is throttled (bounded):
 * the largest throttle_time_ms seen. */
static int32_t metadata_throttle(int id, const char *user, const char *pw)
{
    int fd = tb_connect(tb_listener_port(&B[id], "SASL_PLAINTEXT"));
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_sasl_login(fd, "SCRAM-SHA-512", user, pw), 0);
    int32_t max = 0;
    for (int i = 0; i < 300 && max == 0; i++) {
        struct kp_metadata_req req = {.n_topics = -1};
        struct kp_metadata_resp resp;
        ck_assert_int_eq(tb_kcall(fd, KP_API_METADATA, 4, TB_ENC(kp_metadata_req_encode), &req,
                                  TB_DEC(kp_metadata_resp_decode), &resp),
                         0);
        if (resp.throttle_time_ms > max)
            max = resp.throttle_time_ms;
    }
    close(fd);
    return max;
}

/* Kafka's text of a SCRAM-SHA-512 credential for pw (ScramCredentialUtils.credentialToString,
 * as kafka-configs --zookeeper writes it), computed here with OpenSSL. */
static void kafka_credential(const char *pw, char *out, size_t cap)
{
    uint8_t salt[20] = "kafka-salt-20-bytes!", salted[64], ck[64], stored[64], server[64];
    unsigned int l = 0;
    PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof salt, 4096, EVP_sha512(), 64, salted);
    HMAC(EVP_sha512(), salted, 64, (const uint8_t *)"Client Key", 10, ck, &l);
    SHA512(ck, 64, stored);
    HMAC(EVP_sha512(), salted, 64, (const uint8_t *)"Server Key", 10, server, &l);
    char b_salt[64], b_stored[100], b_server[100];
    EVP_EncodeBlock((uint8_t *)b_salt, salt, sizeof salt);
    EVP_EncodeBlock((uint8_t *)b_stored, stored, 64);
    EVP_EncodeBlock((uint8_t *)b_server, server, 64);
    snprintf(out, cap, "salt=%s,stored_key=%s,server_key=%s,iterations=4096", b_salt, b_stored,
             b_server);
}

/* What kafka-configs --zookeeper does: path's document (parents created without data), then a
 * notification (version 2 with entity_path, or 1 with entity_type and entity_name). */
static void kafka_write(zhandle_t *zh, const char *path, const char *doc, const char *note)
{
    char p[256];
    snprintf(p, sizeof p, "%s", path);
    for (char *sl = strchr(p + 1, '/'); sl; sl = strchr(sl + 1, '/')) {
        *sl = 0;
        int rc = zoo_create(zh, p, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        ck_assert_msg(rc == ZOK || rc == ZNODEEXISTS, "create %s: %d", p, rc);
        *sl = '/';
    }
    int rc = zoo_create(zh, path, doc, (int)strlen(doc), &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    if (rc == ZNODEEXISTS)
        rc = zoo_set(zh, path, doc, (int)strlen(doc), -1);
    ck_assert_int_eq(rc, ZOK);
    ck_assert_int_eq(zoo_create(zh, CHROOT "/config/changes/config_change_", note,
                                (int)strlen(note), &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, NULL, 0),
                     ZOK);
}

/* The znode's data must contain every needle (NULL-terminated), and not the one of absent. */
static void znode_has(zhandle_t *zh, const char *path, const char *const *needles,
                      const char *absent)
{
    const char *json = tb_zk_get(zh, path, NULL);
    ck_assert_msg(json != NULL, "%s: no such znode", path);
    for (int i = 0; needles[i]; i++)
        ck_assert_msg(strstr(json, needles[i]), "%s: %s has no %s", path, json, needles[i]);
    ck_assert_msg(!absent || !strstr(json, absent), "%s: %s has %s", path, json, absent);
}

/* A notification under /config/changes names entity_path. */
static bool notified(zhandle_t *zh, const char *entity_path)
{
    char path[256], want[300];
    snprintf(path, sizeof path, "%s/config/changes", CHROOT);
    snprintf(want, sizeof want, "\"entity_path\":\"%s\"", entity_path);
    struct String_vector kids = {0};
    ck_assert_int_eq(zoo_get_children(zh, path, 0, &kids), ZOK);
    bool found = false;
    for (int i = 0; i < kids.count && !found; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", path, kids.data[i]);
        const char *json = tb_zk_get(zh, p, NULL);
        found = json && strstr(json, want) && strstr(json, "\"version\":2");
    }
    deallocate_String_vector(&kids);
    return found;
}

START_TEST(users_and_quotas_through_zookeeper)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_users");
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(start_broker(i), 0);
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    ck_assert_ptr_nonnull(zh);
    const char *alice = "alice*", *apath = CHROOT "/config/users/alice%2A";

    /* created through broker 1: at once there, then everywhere */
    ck_assert_int_ne(login(2, alice, "a-secret"), 0);
    ck_assert_int_eq(alter_scram(1, alice, "a-secret"), 0);
    ck_assert_int_eq(login(1, alice, "a-secret"), 0);
    login_becomes(2, alice, "a-secret", true);
    login_becomes(3, alice, "a-secret", true);
    ck_assert_int_ne(login(3, alice, "wrong"), 0);
    const char *const cred[] = {"{\"version\":1,\"config\":{",
                                "\"SCRAM-SHA-512\":\"salt=MDEyMzQ1Njc4OWFiY2RlZg==,stored_key=",
                                ",server_key=", ",iterations=4096\"", NULL};
    znode_has(zh, apath, cred, NULL);
    ck_assert(notified(zh, "users/alice%2A"));

    /* quotas of alice* share her document; broker 3 describes and enforces them */
    ck_assert_int_eq(alter_quota(1, alice, NULL, "producer_byte_rate", 1024), 0);
    ck_assert_int_eq(alter_quota(1, alice, NULL, "request_percentage", 0.01), 0);
    const char *const both[] = {"\"SCRAM-SHA-512\":\"salt=", "\"producer_byte_rate\":\"1024\"",
                                "\"request_percentage\":\"0.01\"", NULL};
    znode_has(zh, apath, both, NULL);
    ck_assert(described(1, "user", alice, "producer_byte_rate") == 1024);
    described_becomes(3, "user", alice, "request_percentage", 0.01);
    described_becomes(3, "user", alice, "producer_byte_rate", 1024);
    ck_assert_int_gt(metadata_throttle(3, alice, "a-secret"), 0);

    /* a client id's quota and a user's default-client quota, through broker 2 */
    ck_assert_int_eq(alter_quota(2, NULL, "app 1", "consumer_byte_rate", 2048), 0);
    ck_assert_int_eq(alter_quota(2, alice, "", "producer_byte_rate", 4096), 0);
    const char *const cq[] = {"\"consumer_byte_rate\":\"2048\"", NULL};
    znode_has(zh, CHROOT "/config/clients/app%201", cq, NULL);
    const char *const ucq[] = {"\"producer_byte_rate\":\"4096\"", NULL};
    znode_has(zh, CHROOT "/config/users/alice%2A/clients/<default>", ucq, NULL);
    ck_assert(notified(zh, "users/alice%2A/clients/<default>"));
    described_becomes(1, "client-id", "app 1", "consumer_byte_rate", 2048);

    /* written by Kafka's own tools: a user's credential (version 2 notification); a (user,
     * client) quota under a user znode without data (version 1) */
    char cred_text[400], doc[600];
    kafka_credential("f-secret", cred_text, sizeof cred_text);
    snprintf(doc, sizeof doc, "{\"version\":1,\"config\":{\"SCRAM-SHA-512\":\"%s\"}}", cred_text);
    kafka_write(zh, CHROOT "/config/users/frank", doc,
                "{\"version\":2,\"entity_path\":\"users/frank\"}");
    login_becomes(2, "frank", "f-secret", true);
    /* a document that does not parse fails closed: frank's credential goes (it stayed before) */
    kafka_write(zh, CHROOT "/config/users/frank", "{\"version\":1,\"config\":{\"SCRAM-SHA-5",
                "{\"version\":2,\"entity_path\":\"users/frank\"}");
    login_becomes(2, "frank", "f-secret", false);
    /* a client id of 900 '*' (2,700 bytes sanitized): its notification is acted on (a
     * notification of an entity path over 1,024 bytes was dropped before) */
    char longc[901];
    memset(longc, '*', 900);
    longc[900] = 0;
    ck_assert_int_eq(alter_quota(2, NULL, longc, "consumer_byte_rate", 4321), 0);
    ck_assert(described(2, "client-id", longc, "consumer_byte_rate") == 4321);
    described_becomes(1, "client-id", longc, "consumer_byte_rate", 4321);
    kafka_write(zh, CHROOT "/config/users/erin/clients/app",
                "{\"version\":1,\"config\":{\"producer_byte_rate\":\"5000.0\"}}",
                "{\"version\":1,\"entity_type\":\"users\",\"entity_name\":\"erin/clients/app\"}");
    for (int64_t end = tb_now_ms() + WAIT_MS;
         describe_q(3, "client-id", "app", "producer_byte_rate", false) != 5000;)
        ck_assert_msg(tb_now_ms() < end, "broker 3: (erin, app) not described"), tb_sleep_ms(100);
    /* and erin's user znode without data takes a credential (a versioned write over it) */
    ck_assert_int_eq(alter_scram(3, "erin", "e-secret"), 0);
    login_becomes(1, "erin", "e-secret", true);

    /* deleted through broker 2: broker 1 refuses her; her quotas stay in the document */
    ck_assert_int_eq(alter_scram(2, alice, NULL), 0);
    ck_assert_int_ne(login(2, alice, "a-secret"), 0);
    login_becomes(1, alice, "a-secret", false);
    const char *const quotas_only[] = {"\"producer_byte_rate\":\"1024\"", NULL};
    znode_has(zh, apath, quotas_only, "SCRAM-SHA-512");
    described_becomes(1, "user", alice, "producer_byte_rate", 1024);

    /* broker 3 down (kill -9) while bob is made and alice's quota changes; back, it has both */
    ck_assert_int_ge(tb_broker_stop(&B[3], SIGKILL), 0);
    ck_assert_int_eq(alter_scram(1, "bob", "b-secret"), 0);
    ck_assert_int_eq(alter_quota(2, alice, NULL, "producer_byte_rate", 777), 0);
    for (int64_t end = tb_now_ms() + WAIT_MS; /* (its session expires first) */
         tb_zk_get(zh, CHROOT "/brokers/ids/3", NULL) && tb_now_ms() < end;)
        tb_sleep_ms(100);
    ck_assert_int_eq(start_broker(3), 0);
    ck_assert_int_eq(login(3, "bob", "b-secret"), 0); /* (read before clients were let in) */
    ck_assert(described(3, "user", alice, "producer_byte_rate") == 777);
    ck_assert_int_ne(login(3, alice, "a-secret"), 0);

    /* a stopped cluster broker's data dir is ZooKeeper's cache: an offline create is refused
     * (it would never reach ZooKeeper), pointing at --bootstrap */
    ck_assert_int_ge(tb_broker_stop(&B[2], SIGTERM), 0);
    ck_assert_int_ne(offline_user(2, "carol", "c-secret"), 0);
    char tool_out[400];
    snprintf(tool_out, sizeof tool_out, "%s/tool.out.err", B[2].dir);
    const char *said = file_text(tool_out);
    ck_assert_msg(strstr(said, "--bootstrap"), "the tool said: %s", said);
    ck_assert_int_eq(start_broker(2), 0);
    ck_assert_int_ne(login(2, "carol", "c-secret"), 0);

    /* a single node's data dir (broker 4, no zookeeper.connect yet) with users made offline,
     * joining the cluster: carol (ZooKeeper has no document of hers) is carried to ZooKeeper at
     * its start and logs in everywhere; alice* (ZooKeeper has her document, without a
     * credential) stays refused, ZooKeeper's set wins */
    ck_assert_int_eq(tb_broker_start(&B[4], MORE), 0);
    ck_assert_int_ge(tb_broker_stop(&B[4], SIGTERM), 0);
    ck_assert_int_eq(offline_user(4, "carol", "c-secret"), 0);
    ck_assert_int_eq(offline_user(4, alice, "a-secret"), 0);
    ck_assert_int_eq(start_broker(4), 0);
    ck_assert_int_eq(login(4, "carol", "c-secret"), 0);
    ck_assert_int_ne(login(4, alice, "a-secret"), 0);
    login_becomes(1, "carol", "c-secret", true);
    login_becomes(3, "carol", "c-secret", true);
    const char *const carol[] = {"\"SCRAM-SHA-512\":\"salt=", NULL};
    const char *cpath = CHROOT "/config/users/carol";
    znode_has(zh, cpath, carol, NULL);

    /* carol deleted by an operator in ZooKeeper (znode and notification) while broker 4 is
     * down: she stays deleted when it comes back (its cached carol was carried back before) */
    ck_assert_int_ge(tb_broker_stop(&B[4], SIGTERM), 0);
    ck_assert_int_eq(zoo_delete(zh, cpath, -1), ZOK);
    const char *note = "{\"version\":2,\"entity_path\":\"users/carol\"}";
    ck_assert_int_eq(zoo_create(zh, CHROOT "/config/changes/config_change_", note,
                                (int)strlen(note), &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, NULL, 0),
                     ZOK);
    login_becomes(1, "carol", "c-secret", false);
    ck_assert_int_eq(start_broker(4), 0);
    ck_assert_int_ne(login(4, "carol", "c-secret"), 0);
    ck_assert_msg(tb_zk_get(zh, cpath, NULL) == NULL, "carol came back in ZooKeeper");
    ck_assert_int_ne(login(1, "carol", "c-secret"), 0);
    zookeeper_close(zh);
}
END_TEST

/* With ZooKeeper away (its process stopped) a credential or quota change is not a local
 * success: REQUEST_TIMED_OUT, nothing changed here; once it is back the same change goes
 * through. */
START_TEST(zookeeper_away_changes_nothing)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_users");
    ck_assert_int_eq(start_broker(1), 0);
    ck_assert_int_eq(kill(tb_clu_zk.pid, SIGSTOP), 0);
    int16_t serr = alter_scram(1, "dave", "d-secret");
    int16_t qerr = alter_quota(1, "dave", NULL, "producer_byte_rate", 1024);
    ck_assert_int_eq(kill(tb_clu_zk.pid, SIGCONT), 0);
    ck_assert_msg(serr == KP_ERR_REQUEST_TIMED_OUT, "credential with ZooKeeper away: %d", serr);
    ck_assert_msg(qerr == KP_ERR_REQUEST_TIMED_OUT, "quota with ZooKeeper away: %d", qerr);
    ck_assert_int_ne(login(1, "dave", "d-secret"), 0);
    ck_assert(described(1, "user", "dave", "producer_byte_rate") == -1);
    int64_t until = tb_now_ms() + WAIT_MS;
    while ((serr = alter_scram(1, "dave", "d-secret"))) {
        ck_assert_msg(tb_now_ms() < until, "credential once ZooKeeper is back: %d", serr);
        tb_sleep_ms(200);
    }
    ck_assert_int_eq(login(1, "dave", "d-secret"), 0);
    ck_assert_int_eq(alter_quota(1, "dave", NULL, "producer_byte_rate", 1024), 0);
    ck_assert(described(1, "user", "dave", "producer_byte_rate") == 1024);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_users");
    TCase *tc = tb_clu_tcase("users", teardown, 300);
    tcase_add_test(tc, users_and_quotas_through_zookeeper);
    suite_add_tcase(s, tc);
    /* (its own ZooKeeper: the test stops and resumes the process) */
    TCase *away = tb_clu_tcase("zookeeper_away", teardown, 300);
    tcase_add_test(away, zookeeper_away_changes_nothing);
    suite_add_tcase(s, away);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
