/*
 * test_cluster_acl — ACLs are the cluster's (issue 18, security gap): a real ZooKeeper and
 * three brokers with the ACL authorizer (allow.everyone.if.no.acl.found=true, so the brokers'
 * own PLAINTEXT connections, User:ANONYMOUS, need no ACL), raw protocol.
 *
 * acls_are_the_clusters: a DENY created through broker 1 is enforced by brokers 2 and 3
 * (Metadata of the topic answers TOPIC_AUTHORIZATION_FAILED everywhere, a Produce to a
 * partition broker 2 or 3 leads too); an ALLOW for another principal on a second topic closes it
 * to ANONYMOUS everywhere (the resource now has ACLs); DescribeAcls through broker 3 lists them;
 * the znodes have Kafka's layout (/kafka-acl/Topic/<t> with AclEntry's JSON,
 * /kafka-acl-extended/prefixed/Group/<p>, the two change directories' notifications, read with
 * the ZooKeeper C client); a topic whose READ is denied to everyone still replicates (a
 * follower's Fetch needs CLUSTER_ACTION, not READ); DeleteAcls through broker 2 removes the
 * DENY everywhere (and its znode); a broker killed (kill -9) while ACLs change has the changes
 * once restarted; an ACL document that cannot be read (written by the test, as a broken tool
 * would) closes its topic to everyone instead of dropping its DENY. Before, every broker had its
 * own ACL file: a DENY through broker 1 did not stop brokers 2 and 3 (librdkafka's
 * 0109/0115/0119 on three brokers).
 *
 * concurrent_writers: CreateAcls of one pattern through the three brokers at once, then one
 * DeleteAcls of it all: the conditional writes lose no entry and delete each once (every
 * broker and the znode agree).
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_msg.h"
#include "kp_msg_sec.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_clu.h"
#include "tb_kafka.h"
#include "tb_zk.h"

#define SESSION_MS 3000
#define WAIT_MS    30000
#define NBROKERS   3
#define CHROOT     "/tacl"
#define ANON       "User:ANONYMOUS"

static struct tb_broker B[NBROKERS + 1];
static uint8_t arena_mem[1 << 20];
static int32_t corr = 1;

static void teardown(void)
{
    for (int i = 1; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

/* Starts broker id (after a kill -9, once its old session has expired). */
static void start_broker(int id)
{
    const char *const more[] = {
        "-o", "authorizer.class.name=kafka.security.authorizer.AclAuthorizer",
        "-o", "allow.everyone.if.no.acl.found=true",
        "-o", "replica.fetch.backoff.ms=200",
        NULL};
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

/* ---- raw requests -------------------------------------------------------------------------- */

/* One request/response on broker id with proto's codec; the answer decoded into *out. */
#define ROUND(id, key, v, ENC, req, DEC, out, f)                                                   \
    TB_CLU_ROUND(B[id].port, key, v, ++corr, "cluster-acl-test", ENC, req, DEC, arena_mem, out, f)

/* CreateAcls v1 through broker id of one binding; its result's error. */
static int16_t create_acl(int id, int8_t type, const char *name, int8_t pattern,
                          const char *principal, int8_t op, int8_t perm)
{
    struct kp_acl_creation c = {
        type, kp_str_of(name), pattern, kp_str_of(principal), kp_str_of("*"), op, perm};
    struct kp_create_acls_req req = {1, &c};
    struct kp_create_acls_resp resp;
    struct tb_frame f;
    ROUND(id, KP_API_CREATE_ACLS, 1, kp_create_acls_req_encode, &req, kp_create_acls_resp_decode,
          &resp, &f);
    ck_assert_int_eq(resp.n_results, 1);
    int16_t err = resp.results[0].error_code;
    tb_frame_free(&f);
    return err;
}

/* DeleteAcls v1 through broker id of everything on (type, name, pattern); how many deleted. */
static int delete_acls(int id, int8_t type, const char *name, int8_t pattern)
{
    struct kp_acl_filter flt = {type,        kp_str_of(name), pattern,        KP_STR_NULL,
                                KP_STR_NULL, KP_ACL_OP_ANY,   KP_ACL_PERM_ANY};
    struct kp_delete_acls_req req = {1, &flt};
    struct kp_delete_acls_resp resp;
    struct tb_frame f;
    ROUND(id, KP_API_DELETE_ACLS, 1, kp_delete_acls_req_encode, &req, kp_delete_acls_resp_decode,
          &resp, &f);
    ck_assert_int_eq(resp.n_filter_results, 1);
    ck_assert_int_eq(resp.filter_results[0].error_code, 0);
    int n = resp.filter_results[0].n_matching_acls;
    tb_frame_free(&f);
    return n;
}

/* DescribeAcls v1 through broker id of every ACL: the number of bindings; whether one is on
 * (type, name, pattern) with op and perm for principal. */
static int describe_acls(int id, int8_t type, const char *name, int8_t pattern, int8_t op,
                         int8_t perm, bool *found)
{
    struct kp_describe_acls_req req = {{KP_ACL_RESOURCE_ANY, KP_STR_NULL, KP_ACL_PATTERN_ANY,
                                        KP_STR_NULL, KP_STR_NULL, KP_ACL_OP_ANY, KP_ACL_PERM_ANY}};
    struct kp_describe_acls_resp resp;
    struct tb_frame f;
    ROUND(id, KP_API_DESCRIBE_ACLS, 1, kp_describe_acls_req_encode, &req,
          kp_describe_acls_resp_decode, &resp, &f);
    ck_assert_int_eq(resp.error_code, 0);
    int n = 0;
    *found = false;
    for (int32_t i = 0; i < resp.n_resources; i++) {
        const struct kp_describe_acls_resource *r = &resp.resources[i];
        for (int32_t k = 0; k < r->n_acls; k++) {
            n++;
            if (r->resource_type == type && r->pattern_type == pattern &&
                kp_str_eq(r->resource_name, name) && r->acls[k].operation == op &&
                r->acls[k].permission_type == perm && kp_str_eq(r->acls[k].principal, ANON))
                *found = true;
        }
    }
    tb_frame_free(&f);
    return n;
}

/* Waits until DescribeAcls through broker id lists n bindings (the notifications are
 * asynchronous), then looks for one as describe_acls. */
static void described(int id, int n, int8_t type, const char *name, int8_t pattern, int8_t op,
                      int8_t perm, bool *found)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    int got;
    while ((got = describe_acls(id, type, name, pattern, op, perm, found)) != n) {
        ck_assert_msg(tb_now_ms() < until, "broker %d: DescribeAcls lists %d, want %d", id, got, n);
        tb_sleep_ms(100);
    }
}

/* Metadata's error for topic on broker id. */
static int16_t md_error(int id, const char *topic)
{
    const struct tb_metadata *m = tb_clu_metadata(B[id].port, topic);
    int t = tb_md_topic(m, topic);
    ck_assert_int_ge(t, 0);
    return m->topic[t].error;
}

/* Waits until Metadata of topic answers want on every running broker. */
static void md_everywhere(const char *topic, int16_t want)
{
    for (int id = 1; id <= NBROKERS; id++) {
        if (!B[id].pid)
            continue;
        int64_t until = tb_now_ms() + WAIT_MS;
        int16_t err;
        while ((err = md_error(id, topic)) != want) {
            ck_assert_msg(tb_now_ms() < until, "broker %d: Metadata of %s: %d, want %d", id, topic,
                          err, want);
            tb_sleep_ms(100);
        }
    }
}

/* Produce of one record to topic's partition p through broker id: the error. */
static int16_t produce_err(int id, const char *topic, int32_t p)
{
    uint8_t buf[4096];
    long n = tb_batch_values(buf, sizeof buf, "acl", 0, 1, 0, false, 0);
    ck_assert_int_gt(n, 0);
    int fd = tb_connect(B[id].port);
    ck_assert_int_ge(fd, 0);
    struct tb_produce_resp r;
    int rc = tb_produce(fd, topic, p, buf, (size_t)n, &r);
    close(fd);
    ck_assert_int_eq(rc, 0);
    return r.error;
}

/* The leader of topic's partition p, once it has one. */
static int32_t leader_of(const char *topic, int32_t p)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        const struct tb_metadata *m = tb_clu_metadata(B[1].port, topic);
        int t = tb_md_topic(m, topic);
        if (t >= 0 && m->topic[t].error == 0 && p < m->topic[t].n_parts &&
            m->topic[t].part[p].leader > 0)
            return m->topic[t].part[p].leader;
        ck_assert_msg(tb_now_ms() < until, "no leader for %s-%d", topic, p);
        tb_sleep_ms(100);
    }
}

/* The data of the first child of dir (children sorted by name: the oldest notification). */
static const char *first_child(zhandle_t *zh, const char *dir, char *name, size_t cap)
{
    struct String_vector kids = {0};
    ck_assert_int_eq(zoo_get_children(zh, dir, 0, &kids), ZOK);
    ck_assert_int_ge(kids.count, 1);
    const char *min = kids.data[0];
    for (int i = 1; i < kids.count; i++)
        if (strcmp(kids.data[i], min) < 0)
            min = kids.data[i];
    snprintf(name, cap, "%s/%s", dir, min);
    deallocate_String_vector(&kids);
    return tb_zk_get(zh, name, NULL);
}

START_TEST(acls_are_the_clusters)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_acl");
    for (int i = 1; i <= NBROKERS; i++)
        start_broker(i);
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    ck_assert_ptr_nonnull(zh);
    char path[512];

    tb_clu_create_topic(B[1].port, "secret", 3, 3);
    tb_clu_create_topic(B[1].port, "closed", 1, 3);
    tb_clu_create_topic(B[1].port, "later", 1, 3);
    tb_clu_create_topic(B[1].port, "broken", 1, 3);
    tb_clu_create_topic(B[1].port, "repl", 1, 3);
    md_everywhere("secret", 0);
    md_everywhere("closed", 0);
    /* (a partition of "secret" another broker than 1 leads, while it is still describable) */
    int32_t p = 0;
    while (p < 3 && leader_of("secret", p) == 1)
        p++;
    ck_assert_int_lt(p, 3);
    int32_t other = leader_of("secret", p);

    /* a DENY through broker 1: every broker refuses */
    ck_assert_int_eq(create_acl(1, KP_ACL_RESOURCE_TOPIC, "secret", KP_ACL_PATTERN_LITERAL, ANON,
                                KP_ACL_OP_DESCRIBE, KP_ACL_PERM_DENY),
                     0);
    md_everywhere("secret", KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    /* a DENY of WRITE: a Produce to a partition another broker leads is refused there */
    ck_assert_int_eq(create_acl(1, KP_ACL_RESOURCE_TOPIC, "secret", KP_ACL_PATTERN_LITERAL, ANON,
                                KP_ACL_OP_WRITE, KP_ACL_PERM_DENY),
                     0);
    int64_t until = tb_now_ms() + WAIT_MS;
    while (produce_err(other, "secret", p) != KP_ERR_TOPIC_AUTHORIZATION_FAILED) {
        ck_assert_msg(tb_now_ms() < until, "broker %d still takes produces to secret", other);
        tb_sleep_ms(100);
    }
    /* an ALLOW for someone else through broker 1: ANONYMOUS loses the topic everywhere */
    ck_assert_int_eq(create_acl(1, KP_ACL_RESOURCE_TOPIC, "closed", KP_ACL_PATTERN_LITERAL,
                                "User:bob", KP_ACL_OP_ALL, KP_ACL_PERM_ALLOW),
                     0);
    md_everywhere("closed", KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    /* a PREFIXED one, and the same again (already there: nothing written) */
    ck_assert_int_eq(create_acl(1, KP_ACL_RESOURCE_GROUP, "grp-", KP_ACL_PATTERN_PREFIXED, ANON,
                                KP_ACL_OP_READ, KP_ACL_PERM_DENY),
                     0);
    ck_assert_int_eq(create_acl(2, KP_ACL_RESOURCE_GROUP, "grp-", KP_ACL_PATTERN_PREFIXED, ANON,
                                KP_ACL_OP_READ, KP_ACL_PERM_DENY),
                     0);

    /* DescribeAcls through broker 3 lists them */
    bool found;
    described(3, 4, KP_ACL_RESOURCE_TOPIC, "secret", KP_ACL_PATTERN_LITERAL, KP_ACL_OP_DESCRIBE,
              KP_ACL_PERM_DENY, &found);
    describe_acls(3, KP_ACL_RESOURCE_TOPIC, "secret", KP_ACL_PATTERN_LITERAL, KP_ACL_OP_WRITE,
                  KP_ACL_PERM_DENY, &found);
    ck_assert(found);
    ck_assert(found);
    describe_acls(3, KP_ACL_RESOURCE_GROUP, "grp-", KP_ACL_PATTERN_PREFIXED, KP_ACL_OP_READ,
                  KP_ACL_PERM_DENY, &found);
    ck_assert(found);

    /* Kafka's layout in ZooKeeper */
    snprintf(path, sizeof path, "%s/kafka-acl/Topic/secret", CHROOT);
    const char *json = tb_zk_get(zh, path, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(strstr(json, "\"version\":1") && strstr(json, "\"acls\":[") &&
                      strstr(json, "\"principal\":\"User:ANONYMOUS\"") &&
                      strstr(json, "\"permissionType\":\"Deny\"") &&
                      strstr(json, "\"operation\":\"Describe\"") && strstr(json, "\"host\":\"*\""),
                  "%s: %s", path, json);
    snprintf(path, sizeof path, "%s/kafka-acl/Topic/closed", CHROOT);
    json = tb_zk_get(zh, path, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(strstr(json, "\"operation\":\"All\"") &&
                      strstr(json, "\"permissionType\":\"Allow\"") &&
                      strstr(json, "\"principal\":\"User:bob\""),
                  "%s: %s", path, json);
    snprintf(path, sizeof path, "%s/kafka-acl-extended/prefixed/Group/grp-", CHROOT);
    json = tb_zk_get(zh, path, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(strstr(json, "\"operation\":\"Read\"") && strstr(json, "\"acls\":[{") &&
                      !strstr(json, "},{"), /* (once, though created twice) */
                  "%s: %s", path, json);
    char note[512], dir[256];
    snprintf(dir, sizeof dir, "%s/kafka-acl-changes", CHROOT);
    json = first_child(zh, dir, note, sizeof note);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(strstr(note, "/acl_changes_") && strcmp(json, "TOPIC:secret") == 0, "%s: %s",
                  note, json);
    snprintf(dir, sizeof dir, "%s/kafka-acl-extended-changes", CHROOT);
    json = first_child(zh, dir, note, sizeof note);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(strstr(note, "/acl_changes_") && strstr(json, "\"version\":1") &&
                      strstr(json, "\"resourceType\":\"GROUP\"") &&
                      strstr(json, "\"name\":\"grp-\"") &&
                      strstr(json, "\"patternType\":\"PREFIXED\""),
                  "%s: %s", note, json);

    /* a topic no one may read still replicates: followers fetch with CLUSTER_ACTION on the
     * cluster, not READ on the topic (Kafka's rule), so an acks=all produce completes */
    int32_t rl = leader_of("repl", 0);
    ck_assert_int_eq(create_acl(1, KP_ACL_RESOURCE_TOPIC, "repl", KP_ACL_PATTERN_LITERAL, "User:*",
                                KP_ACL_OP_READ, KP_ACL_PERM_DENY),
                     0);
    ck_assert_int_eq(create_acl(1, KP_ACL_RESOURCE_TOPIC, "repl", KP_ACL_PATTERN_LITERAL, ANON,
                                KP_ACL_OP_WRITE, KP_ACL_PERM_ALLOW),
                     0);
    described(rl, 6, KP_ACL_RESOURCE_TOPIC, "repl", KP_ACL_PATTERN_LITERAL, KP_ACL_OP_READ,
              KP_ACL_PERM_DENY, &found);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(produce_err(rl, "repl", 0), 0);

    /* broker 3 killed; meanwhile the DENY is deleted through broker 2 and another added */
    ck_assert_int_ge(tb_broker_stop(&B[3], SIGKILL), 0);
    ck_assert_int_eq(delete_acls(2, KP_ACL_RESOURCE_TOPIC, "secret", KP_ACL_PATTERN_LITERAL), 2);
    snprintf(path, sizeof path, "%s/kafka-acl/Topic/secret", CHROOT);
    ck_assert_ptr_null(tb_zk_get(zh, path, NULL)); /* (the last entry takes the znode along) */
    md_everywhere("secret", 0);
    ck_assert_int_eq(
        produce_err(other == 3 ? 1 : other, "secret", p) == KP_ERR_TOPIC_AUTHORIZATION_FAILED, 0);
    ck_assert_int_eq(create_acl(2, KP_ACL_RESOURCE_TOPIC, "later", KP_ACL_PATTERN_LITERAL, ANON,
                                KP_ACL_OP_DESCRIBE, KP_ACL_PERM_DENY),
                     0);
    md_everywhere("later", KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    start_broker(3);
    md_everywhere("secret", 0);
    md_everywhere("later", KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    described(3, 5, KP_ACL_RESOURCE_TOPIC, "secret", KP_ACL_PATTERN_LITERAL, KP_ACL_OP_DESCRIBE,
              KP_ACL_PERM_DENY, &found);
    ck_assert(!found);

    /* a document nobody can read (a broken tool wrote it) with its notification: the topic
     * is closed, not opened (with allow.everyone.if.no.acl.found, dropping it would open it) */
    md_everywhere("broken", 0);
    snprintf(path, sizeof path, "%s/kafka-acl/Topic/broken", CHROOT);
    const char *garbage = "{\"version\":1,\"acls\":[{\"principal\":\"User:ANONYMOUS\"";
    ck_assert_int_eq(
        zoo_create(zh, path, garbage, (int)strlen(garbage), &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0), ZOK);
    snprintf(path, sizeof path, "%s/kafka-acl-changes/acl_changes_", CHROOT);
    ck_assert_int_eq(
        zoo_create(zh, path, "Topic:broken", 12, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, NULL, 0), ZOK);
    md_everywhere("broken", KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    /* a CreateAcls on it leaves it alone and says so */
    ck_assert_int_eq(create_acl(1, KP_ACL_RESOURCE_TOPIC, "broken", KP_ACL_PATTERN_LITERAL, ANON,
                                KP_ACL_OP_READ, KP_ACL_PERM_ALLOW),
                     KP_ERR_UNKNOWN_SERVER_ERROR);
    zookeeper_close(zh);
}
END_TEST

/* ---- concurrent writers -------------------------------------------------------------------- */

#define PER_WRITER 6

struct writer {
    int id;
    int16_t err[PER_WRITER];
    int deleted;
};

/* (Check's assertions are not for other threads: this one records, the test asserts.) */
static int16_t create_raw(int id, const char *principal)
{
    struct kp_acl_creation c = {KP_ACL_RESOURCE_TOPIC, kp_str_of("race"), KP_ACL_PATTERN_LITERAL,
                                kp_str_of(principal),  kp_str_of("*"),    KP_ACL_OP_READ,
                                KP_ACL_PERM_ALLOW};
    struct kp_create_acls_req req = {1, &c};
    uint8_t buf[4096];
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    kp_wr_i32(&wr, 0);
    kp_wr_i16(&wr, KP_API_CREATE_ACLS);
    kp_wr_i16(&wr, 1);
    kp_wr_i32(&wr, 7);
    kp_wr_nstr(&wr, kp_str_of("race"));
    if (kp_create_acls_req_encode(&wr, 1, &req) != 0)
        return -1;
    struct tb_req r = {.buf = buf, .wr = wr};
    int fd = tb_connect(B[id].port);
    if (fd < 0)
        return -1;
    struct tb_frame f;
    int rc = tb_call(fd, &r, 7, &f);
    close(fd);
    if (rc)
        return -1;
    struct kp_rd rd;
    kp_rd_init(&rd, f.data + 4, f.len - 4);
    uint8_t mem[4096];
    struct kp_arena a;
    kp_arena_init(&a, mem, sizeof mem);
    struct kp_create_acls_resp resp;
    int16_t err = -1;
    if (kp_create_acls_resp_decode(&rd, 1, &a, &resp) == 0 && resp.n_results == 1)
        err = resp.results[0].error_code;
    tb_frame_free(&f);
    return err;
}

static void *write_some(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < PER_WRITER; i++) {
        char principal[64];
        snprintf(principal, sizeof principal, "User:w%d-%d", w->id, i);
        w->err[i] = create_raw(w->id, principal);
    }
    return NULL;
}

START_TEST(concurrent_writers)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_acl");
    for (int i = 1; i <= NBROKERS; i++)
        start_broker(i);
    struct writer w[NBROKERS];
    pthread_t th[NBROKERS];
    for (int i = 0; i < NBROKERS; i++) {
        w[i] = (struct writer){.id = i + 1};
        ck_assert_int_eq(pthread_create(&th[i], NULL, write_some, &w[i]), 0);
    }
    for (int i = 0; i < NBROKERS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NBROKERS; i++)
        for (int k = 0; k < PER_WRITER; k++)
            ck_assert_msg(w[i].err[k] == 0, "writer %d, ACL %d: %d", i + 1, k, w[i].err[k]);
    bool found;
    for (int id = 1; id <= NBROKERS; id++)
        described(id, NBROKERS * PER_WRITER, KP_ACL_RESOURCE_TOPIC, "race", KP_ACL_PATTERN_LITERAL,
                  KP_ACL_OP_READ, KP_ACL_PERM_ALLOW, &found);
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    ck_assert_ptr_nonnull(zh);
    char path[256];
    snprintf(path, sizeof path, "%s/kafka-acl/Topic/race", CHROOT);
    const char *json = tb_zk_get(zh, path, NULL);
    ck_assert_ptr_nonnull(json);
    int n = 0;
    for (const char *q = json; (q = strstr(q, "\"principal\"")); q++)
        n++;
    ck_assert_int_eq(n, NBROKERS * PER_WRITER);
    zookeeper_close(zh);
    /* everything deleted through broker 2: each binding reported once */
    ck_assert_int_eq(delete_acls(2, KP_ACL_RESOURCE_TOPIC, "race", KP_ACL_PATTERN_LITERAL),
                     NBROKERS * PER_WRITER);
    for (int id = 1; id <= NBROKERS; id++)
        described(id, 0, KP_ACL_RESOURCE_TOPIC, "race", KP_ACL_PATTERN_LITERAL, KP_ACL_OP_READ,
                  KP_ACL_PERM_ALLOW, &found);
}
END_TEST

/* ---- changes other brokers must not miss ---------------------------------------------------- */

/* Writes (or replaces) the document of topic name as a broken or interrupted writer would:
 * no notification. */
static void doc_put(zhandle_t *zh, const char *name, const char *json)
{
    char path[256];
    snprintf(path, sizeof path, "%s/kafka-acl/Topic", CHROOT);
    int rc = zoo_create(zh, path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    ck_assert(rc == ZOK || rc == ZNODEEXISTS);
    snprintf(path, sizeof path, "%s/kafka-acl/Topic/%s", CHROOT, name);
    rc = zoo_create(zh, path, json, (int)strlen(json), &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    if (rc == ZNODEEXISTS)
        rc = zoo_set(zh, path, json, (int)strlen(json), -1);
    ck_assert_int_eq(rc, ZOK);
}

/* Sets the world's permissions on the literal change directory. */
static void changes_perms(zhandle_t *zh, int perms)
{
    char path[256];
    snprintf(path, sizeof path, "%s/kafka-acl-changes", CHROOT);
    struct ACL acl = {perms, {"world", "anyone"}};
    struct ACL_vector v = {1, &acl};
    ck_assert_int_eq(zoo_set_acl(zh, path, -1, &v), ZOK);
}

#define DENY_DESCRIBE                                                                              \
    "{\"version\":1,\"acls\":[{\"principal\":\"User:ANONYMOUS\",\"permissionType\":\"Deny\","      \
    "\"operation\":\"Describe\",\"host\":\"*\"}]}"

/*
 * A change whose notification was never written (an ambiguous ZCONNECTIONLOSS that landed, a
 * notification that failed) is healed by the client's retry: CreateAcls finding its ACL there
 * already, DeleteAcls finding nothing left to delete, both still notify (the pattern is
 * "already there" / "gone" in ZooKeeper, the others still had the old document). A
 * notification ZooKeeper refuses is answered REQUEST_TIMED_OUT and written by the cluster
 * thread once it can. A document no broker may read (ZooKeeper's own ACL) closes its topic,
 * does not stop the notifications after it, nor a broker from starting; nor does a
 * notification no broker may read. More refused
 * notifications than are kept become one "read everything".
 */
START_TEST(changes_reach_every_broker)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_acl");
    for (int i = 1; i <= NBROKERS; i++)
        start_broker(i);
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    ck_assert_ptr_nonnull(zh);
    const char *topics[] = {"noauth", "marker", "healed", "gone", "pending"};
    for (size_t i = 0; i < 5; i++)
        tb_clu_create_topic(B[1].port, topics[i], 1, 3);
    for (size_t i = 0; i < 5; i++)
        md_everywhere(topics[i], 0);
    char path[256];

    /* a document ZooKeeper lets no broker read, and its notification: the topic closes */
    snprintf(path, sizeof path, "%s/kafka-acl/Topic", CHROOT);
    int rc = zoo_create(zh, path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    ck_assert(rc == ZOK || rc == ZNODEEXISTS);
    struct ACL nobody = {ZOO_PERM_ALL, {"digest", "nobody:AAAAAAAAAAAAAAAAAAAAAAAAAAA="}};
    struct ACL_vector only_nobody = {1, &nobody};
    snprintf(path, sizeof path, "%s/kafka-acl/Topic/noauth", CHROOT);
    ck_assert_int_eq(zoo_create(zh, path, "{}", 2, &only_nobody, 0, NULL, 0), ZOK);
    snprintf(path, sizeof path, "%s/kafka-acl-changes/acl_changes_", CHROOT);
    ck_assert_int_eq(
        zoo_create(zh, path, "Topic:noauth", 12, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, NULL, 0), ZOK);
    md_everywhere("noauth", KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    /* a notification no broker may read does not stop the ones after it (read as one that
     * cannot be parsed: everything is read again) */
    ck_assert_int_eq(zoo_create(zh, path, "Topic:noauth", 12, &only_nobody, ZOO_SEQUENCE, NULL, 0),
                     ZOK);
    ck_assert_int_eq(create_acl(1, KP_ACL_RESOURCE_TOPIC, "marker", KP_ACL_PATTERN_LITERAL, ANON,
                                KP_ACL_OP_DESCRIBE, KP_ACL_PERM_DENY),
                     0);
    md_everywhere("marker", KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    tb_sleep_ms(500); /* (the read of everything it caused is over) */

    /* CreateAcls of what is there already (its notification lost): every broker takes it */
    doc_put(zh, "healed", DENY_DESCRIBE);
    tb_sleep_ms(500);
    ck_assert_int_eq(md_error(2, "healed"), 0); /* (no notification: not seen yet) */
    ck_assert_int_eq(create_acl(1, KP_ACL_RESOURCE_TOPIC, "healed", KP_ACL_PATTERN_LITERAL, ANON,
                                KP_ACL_OP_DESCRIBE, KP_ACL_PERM_DENY),
                     0);
    md_everywhere("healed", KP_ERR_TOPIC_AUTHORIZATION_FAILED);

    /* DeleteAcls of what is gone already (the znode deleted, no notification): every broker
     * drops it */
    ck_assert_int_eq(create_acl(1, KP_ACL_RESOURCE_TOPIC, "gone", KP_ACL_PATTERN_LITERAL, ANON,
                                KP_ACL_OP_DESCRIBE, KP_ACL_PERM_DENY),
                     0);
    md_everywhere("gone", KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    snprintf(path, sizeof path, "%s/kafka-acl/Topic/gone", CHROOT);
    ck_assert_int_eq(zoo_delete(zh, path, -1), ZOK);
    ck_assert_int_eq(delete_acls(2, KP_ACL_RESOURCE_TOPIC, "gone", KP_ACL_PATTERN_LITERAL), 0);
    md_everywhere("gone", 0);

    /* the notification refused by ZooKeeper: REQUEST_TIMED_OUT, the broker that answered has
     * it, the others once ZooKeeper takes notifications again (no client retry) */
    changes_perms(zh, ZOO_PERM_READ | ZOO_PERM_DELETE | ZOO_PERM_ADMIN);
    ck_assert_int_eq(create_acl(1, KP_ACL_RESOURCE_TOPIC, "pending", KP_ACL_PATTERN_LITERAL, ANON,
                                KP_ACL_OP_DESCRIBE, KP_ACL_PERM_DENY),
                     KP_ERR_REQUEST_TIMED_OUT);
    ck_assert_int_eq(md_error(1, "pending"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    changes_perms(zh, ZOO_PERM_ALL);
    md_everywhere("pending", KP_ERR_TOPIC_AUTHORIZATION_FAILED);

    /* more refused notifications than the cluster thread keeps: one "read everything" instead
     * (ANY:*), written once ZooKeeper takes it again */
    changes_perms(zh, ZOO_PERM_READ | ZOO_PERM_DELETE | ZOO_PERM_ADMIN);
    enum { MANY = 70 };
    static char names[MANY][16];
    struct kp_acl_creation many[MANY];
    for (int i = 0; i < MANY; i++) {
        snprintf(names[i], sizeof names[i], "many-%d", i);
        many[i] = (struct kp_acl_creation){
            KP_ACL_RESOURCE_TOPIC, kp_str_of(names[i]), KP_ACL_PATTERN_LITERAL, kp_str_of(ANON),
            kp_str_of("*"),        KP_ACL_OP_READ,      KP_ACL_PERM_DENY};
    }
    struct kp_create_acls_req req = {MANY, many};
    struct kp_create_acls_resp resp;
    struct tb_frame f;
    ROUND(1, KP_API_CREATE_ACLS, 1, kp_create_acls_req_encode, &req, kp_create_acls_resp_decode,
          &resp, &f);
    ck_assert_int_eq(resp.n_results, MANY);
    for (int i = 0; i < MANY; i++)
        ck_assert_int_eq(resp.results[i].error_code, KP_ERR_REQUEST_TIMED_OUT);
    tb_frame_free(&f);
    changes_perms(zh, ZOO_PERM_ALL);
    bool found;
    for (int id = 1; id <= NBROKERS; id++) /* (noauth's DENY ALL, marker, healed, pending, ...) */
        described(id, 4 + MANY, KP_ACL_RESOURCE_TOPIC, "many-69", KP_ACL_PATTERN_LITERAL,
                  KP_ACL_OP_READ, KP_ACL_PERM_DENY, &found);
    ck_assert(found);

    /* a broker starts with the unreadable document there (closed), the rest as they are */
    ck_assert_int_ge(tb_broker_stop(&B[3], SIGTERM), 0);
    start_broker(3);
    md_everywhere("noauth", KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    md_everywhere("healed", KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    md_everywhere("gone", 0);
    zookeeper_close(zh);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_acl");
    TCase *tc = tb_clu_tcase("acl", teardown, 300);
    tcase_add_test(tc, acls_are_the_clusters);
    suite_add_tcase(s, tc);
    TCase *race = tb_clu_tcase("race", teardown, 300);
    tcase_add_test(race, concurrent_writers);
    suite_add_tcase(s, race);
    TCase *heal = tb_clu_tcase("heal", teardown, 300);
    tcase_add_test(heal, changes_reach_every_broker);
    suite_add_tcase(s, heal);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
