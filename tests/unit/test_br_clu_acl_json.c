/*
 * test_br_clu_acl_json — the ACL znodes' formats (broker/clu/br_clu_json.h, "ACLs"): a
 * resource pattern's document written as Kafka's AclAuthorizer writes it and read back; Kafka's
 * own document (keys in another order, spaces, an extra key) read; every document that is not
 * Kafka's (bad version, unknown operation or permission name, a missing key, a cut) refused
 * whole before any entry is handed out; the two change notifications (literal "TOPIC:<name>",
 * extended JSON) written as Kafka 2.4+ writes them and read back, also in older Kafka's
 * spelling ("Topic:<name>"); names as Kafka spells them.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_clu_json.h"
#include "kp_msg_sec.h"

struct seen {
    int n;
    char principal[4][64], host[4][64];
    int8_t op[4], perm[4];
};

static int collect(void *ctx, const struct br_clu_acl *e)
{
    struct seen *s = ctx;
    ck_assert_int_lt(s->n, 4);
    ck_assert_ptr_null(e->name);
    snprintf(s->principal[s->n], 64, "%s", e->principal);
    snprintf(s->host[s->n], 64, "%s", e->host);
    s->op[s->n] = e->operation;
    s->perm[s->n] = e->permission;
    s->n++;
    return 0;
}

START_TEST(document_round_trip)
{
    struct br_clu_acl v[2] = {
        {KP_ACL_RESOURCE_TOPIC, KP_ACL_PATTERN_LITERAL, KP_ACL_OP_DESCRIBE_CONFIGS,
         KP_ACL_PERM_ALLOW, "orders", "User:alice", "*"},
        {KP_ACL_RESOURCE_TOPIC, KP_ACL_PATTERN_LITERAL, KP_ACL_OP_WRITE, KP_ACL_PERM_DENY, "orders",
         "User:b\"ob", "10.0.0.1"},
    };
    char buf[1024];
    int n = br_clu_json_acls_enc(buf, sizeof buf, v, 2);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq((int)strlen(buf), n);
    ck_assert_str_eq(buf, "{\"version\":1,\"acls\":[{\"principal\":\"User:alice\","
                          "\"permissionType\":\"Allow\",\"operation\":\"DescribeConfigs\","
                          "\"host\":\"*\"},{\"principal\":\"User:b\\\"ob\",\"permissionType\":"
                          "\"Deny\",\"operation\":\"Write\",\"host\":\"10.0.0.1\"}]}");
    struct seen s = {0};
    ck_assert_int_eq(br_clu_json_acls_each(buf, (size_t)n, collect, &s), 0);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.principal[0], "User:alice");
    ck_assert_str_eq(s.host[0], "*");
    ck_assert_int_eq(s.op[0], KP_ACL_OP_DESCRIBE_CONFIGS);
    ck_assert_int_eq(s.perm[0], KP_ACL_PERM_ALLOW);
    ck_assert_str_eq(s.principal[1], "User:b\"ob");
    ck_assert_int_eq(s.op[1], KP_ACL_OP_WRITE);
    ck_assert_int_eq(s.perm[1], KP_ACL_PERM_DENY);
    /* too small a buffer; a code without a Kafka name */
    ck_assert_int_eq(br_clu_json_acls_enc(buf, 20, v, 2), -ENOSPC);
    struct br_clu_acl bad = v[0];
    bad.operation = KP_ACL_OP_ANY;
    ck_assert_int_eq(br_clu_json_acls_enc(buf, sizeof buf, &bad, 1), -EINVAL);
    /* no entries */
    n = br_clu_json_acls_enc(buf, sizeof buf, v, 0);
    ck_assert_str_eq(buf, "{\"version\":1,\"acls\":[]}");
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(br_clu_json_acls_each(buf, (size_t)n, collect, &s), 0);
    ck_assert_int_eq(s.n, 0);
    /* an empty znode: no ACLs (Kafka's AclEntry.fromBytes) */
    ck_assert_int_eq(br_clu_json_acls_each("", 0, collect, &s), 0);
    ck_assert_int_eq(s.n, 0);
}
END_TEST

START_TEST(kafka_document_read)
{
    const char *doc = "{ \"acls\" : [ { \"host\":\"host1\", \"permissionType\": \"Deny\","
                      "\"operation\": \"Read\",\"principal\": \"User:alice\", \"extra\":[1,{}]},"
                      "{\"principal\":\"User:*\",\"host\":\"*\",\"operation\":\"IdempotentWrite\","
                      "\"permissionType\":\"Allow\"},{\"principal\":\"User:x\",\"host\":\"*\","
                      "\"operation\":\"All\",\"permissionType\":\"Allow\"}], \"version\": 1 }";
    struct seen s = {0};
    ck_assert_int_eq(br_clu_json_acls_each(doc, strlen(doc), collect, &s), 0);
    ck_assert_int_eq(s.n, 3);
    ck_assert_str_eq(s.host[0], "host1");
    ck_assert_int_eq(s.op[0], KP_ACL_OP_READ);
    ck_assert_int_eq(s.perm[0], KP_ACL_PERM_DENY);
    ck_assert_int_eq(s.op[1], KP_ACL_OP_IDEMPOTENT_WRITE);
    ck_assert_int_eq(s.op[2], KP_ACL_OP_ALL);
}
END_TEST

START_TEST(documents_refused_whole)
{
    /* the second entry is bad: the first must not have been handed out either */
    const char *bad[] = {
        "{\"version\":2,\"acls\":[]}",
        "{\"acls\":[]}",
        "{\"version\":1}",
        "{\"version\":1,\"acls\":{}}",
        "{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"host\":\"*\",\"operation\":"
        "\"Read\",\"permissionType\":\"Deny\"},{\"principal\":\"User:a\",\"host\":\"*\","
        "\"operation\":\"Frobnicate\",\"permissionType\":\"Deny\"}]}",
        "{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"host\":\"*\",\"operation\":"
        "\"Read\",\"permissionType\":\"Deny\"},{\"principal\":\"User:a\",\"host\":\"*\","
        "\"operation\":\"READ\",\"permissionType\":\"Deny\"}]}",
        "{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"host\":\"*\",\"operation\":"
        "\"Read\",\"permissionType\":\"Deny\"},{\"principal\":\"User:a\",\"host\":\"*\","
        "\"operation\":\"Read\",\"permissionType\":\"Maybe\"}]}",
        "{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"host\":\"*\",\"operation\":"
        "\"Read\",\"permissionType\":\"Deny\"},{\"principal\":\"User:a\",\"operation\":\"Read\","
        "\"permissionType\":\"Deny\"}]}",
        "{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"host\":\"*\",\"operation\":"
        "\"Read\",\"permissionType\":\"Deny\"},{\"principal\":7,\"host\":\"*\",\"operation\":"
        "\"Read\",\"permissionType\":\"Deny\"}]}",
        "{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"host\":\"*\",\"operation\":"
        "\"Read\",\"permissionType\":\"Deny\"}]} x",
        "{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"host\":\"*\",\"operation\":"
        "\"Read\",\"permissionType\":\"Deny\"},{\"principal\":\"User:a\",\"principal\":\"User:b\","
        "\"host\":\"*\",\"operation\":\"Read\",\"permissionType\":\"Deny\"}]}",
        "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct seen s = {0};
        ck_assert_msg(br_clu_json_acls_each(bad[i], strlen(bad[i]), collect, &s) == -EINVAL,
                      "accepted: %s", bad[i]);
        ck_assert_int_eq(s.n, 0);
    }
    /* every cut of a good document is refused */
    const char *good = "{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"host\":\"*\","
                       "\"operation\":\"Read\",\"permissionType\":\"Deny\"}]}";
    for (size_t l = 1; l < strlen(good); l++) {
        struct seen s = {0};
        ck_assert_int_eq(br_clu_json_acls_each(good, l, collect, &s), -EINVAL);
        ck_assert_int_eq(s.n, 0);
    }
    /* a principal longer than Kafka allows */
    size_t big = BR_CLU_ACL_STR_MAX + 200;
    char *doc = malloc(big);
    ck_assert_ptr_nonnull(doc);
    int n = snprintf(doc, big, "{\"version\":1,\"acls\":[{\"principal\":\"User:");
    memset(doc + n, 'a', BR_CLU_ACL_STR_MAX);
    n += BR_CLU_ACL_STR_MAX;
    n += snprintf(doc + n, big - (size_t)n,
                  "\",\"host\":\"*\",\"operation\":\"Read\",\"permissionType\":\"Deny\"}]}");
    struct seen s = {0};
    ck_assert_int_eq(br_clu_json_acls_each(doc, (size_t)n, collect, &s), -EINVAL);
    free(doc);
}
END_TEST

START_TEST(change_notifications)
{
    char buf[256], name[64];
    int8_t type = 0, pattern = 0;
    int n = br_clu_acl_change_literal_enc(buf, sizeof buf, KP_ACL_RESOURCE_TRANSACTIONAL_ID, "t:1");
    ck_assert_str_eq(buf, "TRANSACTIONAL_ID:t:1");
    ck_assert_int_eq(br_clu_acl_change_literal(buf, (size_t)n, &type, name, sizeof name), 0);
    ck_assert_int_eq(type, KP_ACL_RESOURCE_TRANSACTIONAL_ID);
    ck_assert_str_eq(name, "t:1");
    /* older Kafka's spelling */
    ck_assert_int_eq(br_clu_acl_change_literal("Topic:orders", 12, &type, name, sizeof name), 0);
    ck_assert_int_eq(type, KP_ACL_RESOURCE_TOPIC);
    ck_assert_str_eq(name, "orders");
    ck_assert_int_eq(br_clu_acl_change_literal("TransactionalId:x", 17, &type, name, sizeof name),
                     0);
    ck_assert_int_eq(type, KP_ACL_RESOURCE_TRANSACTIONAL_ID);
    ck_assert_int_eq(br_clu_acl_change_literal("Topic:", 6, &type, name, sizeof name), -EINVAL);
    ck_assert_int_eq(br_clu_acl_change_literal("orders", 6, &type, name, sizeof name), -EINVAL);
    ck_assert_int_eq(br_clu_acl_change_literal("Table:x", 7, &type, name, sizeof name), -EINVAL);
    ck_assert_int_eq(br_clu_acl_change_literal("Topic:xy", 8, &type, name, 2), -EINVAL);

    n = br_clu_json_acl_change_enc(buf, sizeof buf, KP_ACL_RESOURCE_GROUP, KP_ACL_PATTERN_PREFIXED,
                                   "g-");
    ck_assert_str_eq(
        buf,
        "{\"version\":1,\"resourceType\":\"GROUP\",\"name\":\"g-\",\"patternType\":\"PREFIXED\"}");
    ck_assert_int_eq(br_clu_json_acl_change(buf, (size_t)n, &type, &pattern, name, sizeof name), 0);
    ck_assert_int_eq(type, KP_ACL_RESOURCE_GROUP);
    ck_assert_int_eq(pattern, KP_ACL_PATTERN_PREFIXED);
    ck_assert_str_eq(name, "g-");
    const char *old = "{\"name\":\"t-\",\"patternType\":\"Prefixed\",\"resourceType\":\"Topic\","
                      "\"version\":1}";
    ck_assert_int_eq(br_clu_json_acl_change(old, strlen(old), &type, &pattern, name, sizeof name),
                     0);
    ck_assert_int_eq(type, KP_ACL_RESOURCE_TOPIC);
    ck_assert_int_eq(pattern, KP_ACL_PATTERN_PREFIXED);
    const char *v2 = "{\"version\":2,\"resourceType\":\"TOPIC\",\"name\":\"t\",\"patternType\":"
                     "\"PREFIXED\"}";
    ck_assert_int_eq(br_clu_json_acl_change(v2, strlen(v2), &type, &pattern, name, sizeof name),
                     -EINVAL);
    const char *pat = "{\"version\":1,\"resourceType\":\"TOPIC\",\"name\":\"t\",\"patternType\":"
                      "\"MATCH\"}";
    ck_assert_int_eq(br_clu_json_acl_change(pat, strlen(pat), &type, &pattern, name, sizeof name),
                     -EINVAL);
    ck_assert_int_eq(br_clu_json_acl_change_enc(buf, sizeof buf, KP_ACL_RESOURCE_ANY,
                                                KP_ACL_PATTERN_PREFIXED, "x"),
                     -EINVAL);
}
END_TEST

/* A NUL in a principal or host (escaped or raw) would make a C string shorter, and broader;
 * a second "acls" or "version" would be read by Kafka (Jackson: the last) and this parser (the
 * first) differently: both make the document unreadable (its pattern fails closed), and a
 * notification with either is not acted on as naming a pattern (everything is read again). */
START_TEST(nul_and_duplicate_keys_refused)
{
    static const char deny[] = "{\"principal\":\"User:a\",\"host\":\"*\",\"operation\":\"Read\","
                               "\"permissionType\":\"Deny\"}";
    char doc[512];
    const char *bad[] = {
        "{\"version\":1,\"acls\":[{\"principal\":\"User:a\\u0000x\",\"host\":\"*\","
        "\"operation\":\"Read\",\"permissionType\":\"Deny\"}]}",
        "{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"host\":\"1.2.3.4\\u0000\","
        "\"operation\":\"Read\",\"permissionType\":\"Deny\"}]}",
        NULL, /* {"acls":[],"acls":[DENY]} */
        NULL, /* {"acls":[DENY],"version":1,"version":2} */
    };
    snprintf(doc, sizeof doc, "{\"version\":1,\"acls\":[],\"acls\":[%s]}", deny);
    bad[2] = strdup(doc);
    snprintf(doc, sizeof doc, "{\"acls\":[%s],\"version\":1,\"version\":1}", deny);
    bad[3] = strdup(doc);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct seen s = {0};
        ck_assert_msg(br_clu_json_acls_each(bad[i], strlen(bad[i]), collect, &s) == -EINVAL,
                      "accepted: %s", bad[i]);
        ck_assert_int_eq(s.n, 0);
    }
    free((void *)bad[2]);
    free((void *)bad[3]);
    /* a raw NUL byte inside the principal */
    int n = snprintf(doc, sizeof doc, "{\"version\":1,\"acls\":[%s]}", deny);
    char *a = strstr(doc, "User:a");
    ck_assert_ptr_nonnull(a);
    a[5] = 0;
    struct seen s = {0};
    ck_assert_int_eq(br_clu_json_acls_each(doc, (size_t)n, collect, &s), -EINVAL);
    ck_assert_int_eq(s.n, 0);
    /* an escaped backslash before "u0000" is no NUL */
    snprintf(doc, sizeof doc,
             "{\"version\":1,\"acls\":[{\"principal\":\"User:a\\\\u0000\",\"host\":\"*\","
             "\"operation\":\"Read\",\"permissionType\":\"Deny\"}]}");
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(br_clu_json_acls_each(doc, strlen(doc), collect, &s), 0);
    ck_assert_str_eq(s.principal[0], "User:a\\u0000");

    char name[64];
    int8_t type, pattern;
    const char *notes[] = {
        "{\"version\":1,\"resourceType\":\"TOPIC\",\"name\":\"a\\u0000x\","
        "\"patternType\":\"PREFIXED\"}",
        "{\"version\":1,\"resourceType\":\"TOPIC\",\"name\":\"a\",\"name\":\"b\","
        "\"patternType\":\"PREFIXED\"}",
        "{\"version\":1,\"resourceType\":\"TOPIC\",\"name\":\"a\",\"patternType\":\"LITERAL\","
        "\"patternType\":\"PREFIXED\"}",
    };
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++)
        ck_assert_msg(br_clu_json_acl_change(notes[i], strlen(notes[i]), &type, &pattern, name,
                                             sizeof name) == -EINVAL,
                      "accepted: %s", notes[i]);
    ck_assert_int_eq(br_clu_acl_change_literal("TOPIC:a\0x", 9, &type, name, sizeof name), -EINVAL);
}
END_TEST

START_TEST(kafka_names)
{
    ck_assert_str_eq(br_clu_acl_type_name(KP_ACL_RESOURCE_TOPIC), "Topic");
    ck_assert_str_eq(br_clu_acl_type_name(KP_ACL_RESOURCE_TRANSACTIONAL_ID), "TransactionalId");
    ck_assert_str_eq(br_clu_acl_type_name(KP_ACL_RESOURCE_DELEGATION_TOKEN), "DelegationToken");
    ck_assert_ptr_null(br_clu_acl_type_name(KP_ACL_RESOURCE_ANY));
    ck_assert_str_eq(br_clu_acl_op_name(KP_ACL_OP_CLUSTER_ACTION), "ClusterAction");
    ck_assert_str_eq(br_clu_acl_op_name(KP_ACL_OP_ALTER_CONFIGS), "AlterConfigs");
    ck_assert_str_eq(br_clu_acl_op_name(KP_ACL_OP_DESCRIBE_TOKENS), "DescribeTokens");
    ck_assert_ptr_null(br_clu_acl_op_name(KP_ACL_OP_ANY));
    ck_assert_ptr_null(br_clu_acl_op_name(15));
    ck_assert_str_eq(br_clu_acl_perm_name(KP_ACL_PERM_DENY), "Deny");
    ck_assert_ptr_null(br_clu_acl_perm_name(KP_ACL_PERM_ANY));
    ck_assert_int_eq(br_clu_acl_type_of("Cluster", 0), KP_ACL_RESOURCE_CLUSTER);
    ck_assert_int_eq(br_clu_acl_type_of("CLUSTER", 0), -1);
    ck_assert_int_eq(br_clu_acl_type_of("CLUSTER", 1), KP_ACL_RESOURCE_CLUSTER);
    ck_assert_int_eq(br_clu_acl_type_of("delegation_token", 1), KP_ACL_RESOURCE_DELEGATION_TOKEN);
    ck_assert_int_eq(br_clu_acl_type_of("Any", 1), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("br_clu_acl_json");
    TCase *tc = tcase_create("acl_json");
    tcase_add_test(tc, document_round_trip);
    tcase_add_test(tc, kafka_document_read);
    tcase_add_test(tc, documents_refused_whole);
    tcase_add_test(tc, change_notifications);
    tcase_add_test(tc, nul_and_duplicate_keys_refused);
    tcase_add_test(tc, kafka_names);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
