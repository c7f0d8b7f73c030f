/*
 * test_br_acl — the ACL authorizer (broker/sec/br_acl*.c) against Kafka's rules
 * (StandardAuthorizerData; the cases follow Kafka's StandardAuthorizerTest and AuthorizerTest):
 * literal, wildcard and prefixed patterns; principal and host matching with "User:*" and "*";
 * DENY beats ALLOW; ALLOW of READ/WRITE/DELETE/ALTER implies DESCRIBE and ALTER_CONFIGS implies
 * DESCRIBE_CONFIGS, but a DENY implies nothing; ALL; super users; allow.everyone.if.no.acl.found
 * only where no ACL applies to the resource; resource types kept apart; authorizeByResourceType;
 * Kafka's validation messages; filters (ANY, MATCH, null strings) for describe and delete;
 * creation is idempotent; the decision cache hits and is invalidated by any change; changes
 * survive a reopen; a damaged file or an invalid binding in it refuses the file; decisions
 * during changes on other threads. In a cluster (no_file): no file read or written (one left
 * is logged), br_authz_replace swaps the whole set or one pattern's bindings, and a pattern
 * ZooKeeper could not give (closed), or one with a binding Kafka would refuse, FAILS CLOSED:
 * denied to everyone but super users, also with allow.everyone.if.no.acl.found.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "br_acl.h"
#include "br_cred.h"
#include "kp_buf.h"
#include "kp_crc32c.h"
#include "test_st_util.h"

static char dir[256], file[512];
static int nlines;
static char last_line[8192];

static void log_fn(void *arg, const char *msg)
{
    (void)arg;
    nlines++;
    snprintf(last_line, sizeof last_line, "%s", msg);
}

static void setup(void)
{
    tst_mkdtemp(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/%s/%s", dir, BR_SECURITY_DIR, BR_ACL_FILE);
    nlines = 0;
}

static void teardown(void) { tst_rmrf(dir); }

static struct br_authz *open_authz(const char *supers, bool allow_if_none)
{
    struct br_authz_conf c = {dir, supers, allow_if_none, log_fn, NULL, false};
    struct br_authz *a = NULL;
    ck_assert_int_eq(br_authz_open(&c, &a), 0);
    return a;
}

#define S(lit) ((struct kp_str){(lit), (int32_t)strlen(lit)})

enum { T = KP_ACL_RESOURCE_TOPIC, G = KP_ACL_RESOURCE_GROUP, C = KP_ACL_RESOURCE_CLUSTER };
enum { LIT = KP_ACL_PATTERN_LITERAL, PRE = KP_ACL_PATTERN_PREFIXED };
enum { ALLOW = KP_ACL_PERM_ALLOW, DENY = KP_ACL_PERM_DENY };

static void add(struct br_authz *a, int8_t type, const char *name, int8_t pattern,
                const char *principal, const char *host, int8_t op, int8_t perm)
{
    struct br_acl_binding b = {type, S(name), pattern, S(principal), S(host), op, perm};
    int res = 99;
    const char *why = NULL;
    ck_assert_int_eq(br_authz_create(a, &b, 1, &res, &why), 0);
    ck_assert_msg(res == 0, "create refused: %s", why);
}

static bool may(struct br_authz *a, const char *principal, const char *host, int8_t type,
                const char *name, int8_t op)
{
    struct br_authz_who w = {S(principal), S(host), br_authz_is_super(a, S(principal))};
    return br_authz_allowed(a, &w, NULL, type, name, strlen(name), op);
}

static bool may_any(struct br_authz *a, const char *principal, int8_t type, int8_t op)
{
    struct br_authz_who w = {S(principal), S("10.0.0.1"), br_authz_is_super(a, S(principal))};
    return br_authz_allowed_any(a, &w, type, op);
}

#define ALICE "User:alice"
#define BOB   "User:bob"
#define H1    "10.0.0.1"
#define H2    "10.0.0.2"

START_TEST(t_no_acls)
{
    struct br_authz *a = open_authz(NULL, false);
    ck_assert(!may(a, ALICE, H1, T, "t", KP_ACL_OP_READ));
    ck_assert(!may(a, ALICE, H1, C, "kafka-cluster", KP_ACL_OP_DESCRIBE));
    br_authz_close(a);
    a = open_authz(NULL, true);
    ck_assert(may(a, ALICE, H1, T, "t", KP_ACL_OP_READ));
    ck_assert(may(a, ALICE, H1, C, "kafka-cluster", KP_ACL_OP_ALTER));
    br_authz_close(a);
}
END_TEST

START_TEST(t_literal_principal_host_operation)
{
    struct br_authz *a = open_authz(NULL, false);
    add(a, T, "orders", LIT, ALICE, "*", KP_ACL_OP_READ, ALLOW);
    ck_assert(may(a, ALICE, H1, T, "orders", KP_ACL_OP_READ));
    ck_assert(!may(a, BOB, H1, T, "orders", KP_ACL_OP_READ));
    ck_assert(!may(a, ALICE, H1, T, "orders", KP_ACL_OP_WRITE));
    ck_assert(!may(a, ALICE, H1, T, "orders2", KP_ACL_OP_READ));
    ck_assert(!may(a, ALICE, H1, T, "order", KP_ACL_OP_READ));  /* a literal is not a prefix */
    ck_assert(!may(a, ALICE, H1, G, "orders", KP_ACL_OP_READ)); /* types are apart */
    /* Host. */
    add(a, T, "payments", LIT, BOB, H1, KP_ACL_OP_WRITE, ALLOW);
    ck_assert(may(a, BOB, H1, T, "payments", KP_ACL_OP_WRITE));
    ck_assert(!may(a, BOB, H2, T, "payments", KP_ACL_OP_WRITE));
    /* Any user. */
    add(a, T, "public", LIT, "User:*", "*", KP_ACL_OP_READ, ALLOW);
    ck_assert(may(a, BOB, H2, T, "public", KP_ACL_OP_READ));
    ck_assert(may(a, "User:ANONYMOUS", H2, T, "public", KP_ACL_OP_READ));
    /* Principals compare exactly ("User:Alice" is another user). */
    ck_assert(!may(a, "User:Alice", H1, T, "orders", KP_ACL_OP_READ));
    br_authz_close(a);
}
END_TEST

START_TEST(t_implied_operations)
{
    struct br_authz *a = open_authz(NULL, false);
    static const int8_t implies_describe[] = {KP_ACL_OP_READ, KP_ACL_OP_WRITE, KP_ACL_OP_DELETE,
                                              KP_ACL_OP_ALTER, KP_ACL_OP_DESCRIBE};
    for (size_t i = 0; i < sizeof implies_describe; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%zu", i);
        add(a, T, name, LIT, ALICE, "*", implies_describe[i], ALLOW);
        ck_assert_msg(may(a, ALICE, H1, T, name, KP_ACL_OP_DESCRIBE), "op %d", implies_describe[i]);
    }
    /* CREATE, DESCRIBE_CONFIGS and others do not imply DESCRIBE. */
    add(a, T, "c", LIT, ALICE, "*", KP_ACL_OP_CREATE, ALLOW);
    ck_assert(!may(a, ALICE, H1, T, "c", KP_ACL_OP_DESCRIBE));
    add(a, T, "dc", LIT, ALICE, "*", KP_ACL_OP_DESCRIBE_CONFIGS, ALLOW);
    ck_assert(!may(a, ALICE, H1, T, "dc", KP_ACL_OP_DESCRIBE));
    ck_assert(!may(a, ALICE, H1, T, "dc", KP_ACL_OP_ALTER_CONFIGS));
    /* ALTER_CONFIGS implies DESCRIBE_CONFIGS; DESCRIBE implies nothing else. */
    add(a, T, "ac", LIT, ALICE, "*", KP_ACL_OP_ALTER_CONFIGS, ALLOW);
    ck_assert(may(a, ALICE, H1, T, "ac", KP_ACL_OP_DESCRIBE_CONFIGS));
    ck_assert(!may(a, ALICE, H1, T, "t4", KP_ACL_OP_READ));
    /* A DENY of READ does not deny DESCRIBE (implication is for ALLOW only). */
    add(a, T, "x", LIT, ALICE, "*", KP_ACL_OP_ALL, ALLOW);
    add(a, T, "x", LIT, ALICE, "*", KP_ACL_OP_READ, DENY);
    ck_assert(may(a, ALICE, H1, T, "x", KP_ACL_OP_DESCRIBE));
    ck_assert(may(a, ALICE, H1, T, "x", KP_ACL_OP_WRITE));
    ck_assert(!may(a, ALICE, H1, T, "x", KP_ACL_OP_READ));
    /* ALL allows everything, and a DENY of ALL denies everything. */
    add(a, G, "g", LIT, ALICE, "*", KP_ACL_OP_ALL, ALLOW);
    ck_assert(may(a, ALICE, H1, G, "g", KP_ACL_OP_READ));
    ck_assert(may(a, ALICE, H1, G, "g", KP_ACL_OP_DELETE));
    add(a, G, "g", LIT, ALICE, H2, KP_ACL_OP_ALL, DENY);
    ck_assert(may(a, ALICE, H1, G, "g", KP_ACL_OP_READ));
    ck_assert(!may(a, ALICE, H2, G, "g", KP_ACL_OP_DESCRIBE));
    br_authz_close(a);
}
END_TEST

START_TEST(t_deny_beats_allow)
{
    struct br_authz *a = open_authz(NULL, false);
    add(a, T, "t", LIT, "User:*", "*", KP_ACL_OP_READ, ALLOW);
    add(a, T, "t", LIT, BOB, "*", KP_ACL_OP_READ, DENY);
    ck_assert(may(a, ALICE, H1, T, "t", KP_ACL_OP_READ));
    ck_assert(!may(a, BOB, H1, T, "t", KP_ACL_OP_READ));
    /* Across patterns: a wildcard DENY beats a literal ALLOW, a prefixed DENY too. */
    add(a, T, "u", LIT, ALICE, "*", KP_ACL_OP_WRITE, ALLOW);
    ck_assert(may(a, ALICE, H1, T, "u", KP_ACL_OP_WRITE));
    add(a, T, "*", LIT, ALICE, H2, KP_ACL_OP_WRITE, DENY);
    ck_assert(may(a, ALICE, H1, T, "u", KP_ACL_OP_WRITE));
    ck_assert(!may(a, ALICE, H2, T, "u", KP_ACL_OP_WRITE));
    add(a, T, "v", LIT, ALICE, "*", KP_ACL_OP_WRITE, ALLOW);
    add(a, T, "v", PRE, "User:*", "*", KP_ACL_OP_WRITE, DENY);
    ck_assert(!may(a, ALICE, H1, T, "v", KP_ACL_OP_WRITE));
    ck_assert(!may(a, ALICE, H1, T, "vv", KP_ACL_OP_WRITE));
    br_authz_close(a);
}
END_TEST

START_TEST(t_prefixed_and_wildcard)
{
    struct br_authz *a = open_authz(NULL, false);
    add(a, T, "orders-", PRE, ALICE, "*", KP_ACL_OP_WRITE, ALLOW);
    ck_assert(may(a, ALICE, H1, T, "orders-eu", KP_ACL_OP_WRITE));
    ck_assert(may(a, ALICE, H1, T, "orders-", KP_ACL_OP_WRITE)); /* the prefix itself */
    ck_assert(!may(a, ALICE, H1, T, "orders", KP_ACL_OP_WRITE));
    ck_assert(!may(a, ALICE, H1, T, "xorders-eu", KP_ACL_OP_WRITE));
    /* Several prefix lengths, a deny on a longer one. */
    add(a, T, "orders-secret", PRE, ALICE, "*", KP_ACL_OP_WRITE, DENY);
    add(a, T, "o", PRE, BOB, "*", KP_ACL_OP_READ, ALLOW);
    ck_assert(may(a, ALICE, H1, T, "orders-secre", KP_ACL_OP_WRITE));
    ck_assert(!may(a, ALICE, H1, T, "orders-secret", KP_ACL_OP_WRITE));
    ck_assert(!may(a, ALICE, H1, T, "orders-secret-2", KP_ACL_OP_WRITE));
    ck_assert(may(a, BOB, H1, T, "orders-secret-2", KP_ACL_OP_READ));
    ck_assert(may(a, BOB, H1, T, "o", KP_ACL_OP_READ));
    /* A PREFIXED "*" is a prefix like any other, not a wildcard. */
    add(a, G, "*", PRE, ALICE, "*", KP_ACL_OP_READ, ALLOW);
    ck_assert(!may(a, ALICE, H1, G, "g", KP_ACL_OP_READ));
    ck_assert(may(a, ALICE, H1, G, "*g", KP_ACL_OP_READ));
    /* A LITERAL "*" matches every name of its type. */
    add(a, G, "*", LIT, BOB, "*", KP_ACL_OP_READ, ALLOW);
    ck_assert(may(a, BOB, H1, G, "anything", KP_ACL_OP_READ));
    ck_assert(may(a, BOB, H1, G, "*", KP_ACL_OP_READ));
    ck_assert(!may(a, BOB, H1, T, "anything", KP_ACL_OP_WRITE));
    br_authz_close(a);
}
END_TEST

START_TEST(t_allow_everyone_only_without_acls)
{
    struct br_authz *a = open_authz(NULL, true);
    add(a, T, "t", LIT, BOB, "*", KP_ACL_OP_READ, ALLOW);
    ck_assert(!may(a, ALICE, H1, T, "t", KP_ACL_OP_READ)); /* an ACL applies to t */
    ck_assert(!may(a, BOB, H1, T, "t", KP_ACL_OP_WRITE));
    ck_assert(may(a, ALICE, H1, T, "u", KP_ACL_OP_READ)); /* none applies to u */
    add(a, T, "p", PRE, BOB, "*", KP_ACL_OP_READ, ALLOW);
    ck_assert(!may(a, ALICE, H1, T, "p1", KP_ACL_OP_READ));
    ck_assert(may(a, ALICE, H1, T, "q1", KP_ACL_OP_READ));
    add(a, G, "*", LIT, BOB, "*", KP_ACL_OP_READ, ALLOW);
    ck_assert(!may(a, ALICE, H1, G, "any", KP_ACL_OP_READ));
    br_authz_close(a);
}
END_TEST

START_TEST(t_super_users)
{
    struct br_authz *a = open_authz(" User:admin ; User:ops;;", false);
    ck_assert(br_authz_is_super(a, S("User:admin")));
    ck_assert(br_authz_is_super(a, S("User:ops")));
    ck_assert(!br_authz_is_super(a, S("User:admins")));
    ck_assert(!br_authz_is_super(a, S("User:")));
    add(a, T, "t", LIT, "User:*", "*", KP_ACL_OP_ALL, DENY);
    ck_assert(may(a, "User:admin", H1, T, "t", KP_ACL_OP_WRITE)); /* super beats DENY */
    ck_assert(!may(a, ALICE, H1, T, "t", KP_ACL_OP_WRITE));
    ck_assert(may_any(a, "User:ops", T, KP_ACL_OP_WRITE));
    br_authz_close(a);
}
END_TEST

START_TEST(t_by_resource_type)
{
    struct br_authz *a = open_authz(NULL, false);
    ck_assert(!may_any(a, ALICE, T, KP_ACL_OP_WRITE));
    add(a, T, "abc", LIT, ALICE, "*", KP_ACL_OP_WRITE, ALLOW);
    ck_assert(may_any(a, ALICE, T, KP_ACL_OP_WRITE));
    ck_assert(!may_any(a, BOB, T, KP_ACL_OP_WRITE));
    ck_assert(!may_any(a, ALICE, T, KP_ACL_OP_READ));
    ck_assert(!may_any(a, ALICE, G, KP_ACL_OP_WRITE));
    /* A literal deny of the same name dominates; so does a prefixed deny of a prefix. */
    add(a, T, "abc", LIT, ALICE, "*", KP_ACL_OP_WRITE, DENY);
    ck_assert(!may_any(a, ALICE, T, KP_ACL_OP_WRITE));
    add(a, T, "xyz", LIT, ALICE, "*", KP_ACL_OP_WRITE, ALLOW);
    ck_assert(may_any(a, ALICE, T, KP_ACL_OP_WRITE));
    add(a, T, "xy", PRE, ALICE, "*", KP_ACL_OP_WRITE, DENY);
    ck_assert(!may_any(a, ALICE, T, KP_ACL_OP_WRITE));
    /* A prefixed allow is not dominated by a literal deny of its name. */
    add(a, T, "pq", PRE, ALICE, "*", KP_ACL_OP_WRITE, ALLOW);
    add(a, T, "pq", LIT, ALICE, "*", KP_ACL_OP_WRITE, DENY);
    ck_assert(may_any(a, ALICE, T, KP_ACL_OP_WRITE));
    /* A wildcard deny wins over everything, a wildcard allow over prefixes. */
    add(a, T, "*", LIT, ALICE, "*", KP_ACL_OP_WRITE, DENY);
    ck_assert(!may_any(a, ALICE, T, KP_ACL_OP_WRITE));
    add(a, T, "*", LIT, BOB, "*", KP_ACL_OP_ALL, ALLOW);
    add(a, T, "b", PRE, BOB, "*", KP_ACL_OP_WRITE, DENY);
    ck_assert(may_any(a, BOB, T, KP_ACL_OP_WRITE));
    br_authz_close(a);
    /* With allow.everyone.if.no.acl.found and no ACL of the type: allowed (Kafka's
     * "hardcode" probe). */
    tst_rmrf(dir);
    tst_mkdtemp(dir, sizeof dir);
    a = open_authz(NULL, true);
    ck_assert(may_any(a, ALICE, KP_ACL_RESOURCE_TRANSACTIONAL_ID, KP_ACL_OP_WRITE));
    br_authz_close(a);
}
END_TEST

START_TEST(t_validation)
{
    static const struct {
        struct br_acl_binding b;
        const char *why;
    } bad[] = {
        {{KP_ACL_RESOURCE_ANY, {"t", 1}, LIT, {ALICE, 10}, {"*", 1}, 3, ALLOW},
         "Invalid resourceType"},
        {{KP_ACL_RESOURCE_UNKNOWN, {"t", 1}, LIT, {ALICE, 10}, {"*", 1}, 3, ALLOW},
         "Invalid resourceType"},
        {{T, {"t", 1}, KP_ACL_PATTERN_MATCH, {ALICE, 10}, {"*", 1}, 3, ALLOW},
         "Invalid patternType"},
        {{T, {"t", 1}, KP_ACL_PATTERN_ANY, {ALICE, 10}, {"*", 1}, 3, ALLOW}, "Invalid patternType"},
        {{T, {"t", 1}, LIT, {ALICE, 10}, {"*", 1}, KP_ACL_OP_ANY, ALLOW}, "Invalid operation"},
        {{T, {"t", 1}, LIT, {ALICE, 10}, {"*", 1}, KP_ACL_OP_UNKNOWN, ALLOW}, "Invalid operation"},
        {{T, {"t", 1}, LIT, {ALICE, 10}, {"*", 1}, 3, KP_ACL_PERM_ANY}, "Invalid permissionType"},
        {{T, {"", 0}, LIT, {ALICE, 10}, {"*", 1}, 3, ALLOW}, "Invalid empty resource name"},
        {{C, {"c", 1}, LIT, {ALICE, 10}, {"*", 1}, 3, ALLOW},
         "The only valid name for the CLUSTER resource is kafka-cluster"},
        {{T, {"t", 1}, LIT, {"alice", 5}, {"*", 1}, 3, ALLOW}, "Invalid principal"},
        {{T, {"t", 1}, LIT, {"User:", 5}, {"*", 1}, 3, ALLOW}, "Invalid principal"},
        {{T, {"t", 1}, LIT, {ALICE, 10}, {"", 0}, 3, ALLOW}, "Invalid empty host"},
        /* a NUL inside: as a C string (the cluster's znodes) "a\0x" would be the broader "a" */
        {{T, {"a\0x", 3}, KP_ACL_PATTERN_PREFIXED, {ALICE, 10}, {"*", 1}, 3, DENY},
         "Resource name, principal or host contains a NUL character"},
        {{T, {"t", 1}, LIT, {"User:al\0ce", 10}, {"*", 1}, 3, ALLOW},
         "Resource name, principal or host contains a NUL character"},
        {{T, {"t", 1}, LIT, {ALICE, 10}, {"*\0", 2}, 3, ALLOW},
         "Resource name, principal or host contains a NUL character"},
    };
    struct br_authz *a = open_authz(NULL, false);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int res;
        const char *why;
        ck_assert_int_eq(br_authz_create(a, &bad[i].b, 1, &res, &why), 0);
        ck_assert_int_eq(res, -EINVAL);
        ck_assert_msg(strncmp(why, bad[i].why, strlen(bad[i].why)) == 0, "case %zu: %s", i, why);
    }
    ck_assert_uint_eq(br_authz_count(a), 0);
    ck_assert_int_ne(access(file, F_OK), 0); /* nothing valid: nothing written */
    /* A batch with good and bad: the good ones are created. */
    struct br_acl_binding mixed[] = {bad[0].b,
                                     {T, S("t"), LIT, S(ALICE), S("*"), 3, ALLOW},
                                     {C, S("kafka-cluster"), LIT, S(ALICE), S("*"), 9, ALLOW}};
    int res[3];
    ck_assert_int_eq(br_authz_create(a, mixed, 3, res, NULL), 0);
    ck_assert_int_eq(res[0], -EINVAL);
    ck_assert_int_eq(res[1], 0);
    ck_assert_int_eq(res[2], 0);
    ck_assert_uint_eq(br_authz_count(a), 2);
    /* Creating what exists changes nothing and succeeds. */
    uint64_t gen = br_authz_generation(a);
    ck_assert_int_eq(br_authz_create(a, mixed + 1, 2, res, NULL), 0);
    ck_assert_int_eq(res[0] | res[1], 0);
    ck_assert_uint_eq(br_authz_count(a), 2);
    ck_assert_uint_eq(br_authz_generation(a), gen);
    /* Room for more (a cluster's CreateAcls asks before writing to ZooKeeper). */
    ck_assert(br_authz_room(a, BR_ACL_MAX - 2, 0));
    ck_assert(!br_authz_room(a, BR_ACL_MAX - 1, 0));
    ck_assert(br_authz_room(a, 1, BR_ACL_BYTES_MAX - 100));
    ck_assert(!br_authz_room(a, 1, BR_ACL_BYTES_MAX));
    /* Filters Kafka refuses. */
    struct kp_acl_filter f = {
        KP_ACL_RESOURCE_UNKNOWN, KP_STR_NULL,    KP_ACL_PATTERN_ANY, KP_STR_NULL, KP_STR_NULL,
        KP_ACL_OP_ANY,           KP_ACL_PERM_ANY};
    const char *why;
    ck_assert_int_eq(br_acl_filter_validate(&f, &why), -EINVAL);
    f.resource_type = KP_ACL_RESOURCE_ANY;
    ck_assert_int_eq(br_acl_filter_validate(&f, &why), 0);
    f.pattern_type = KP_ACL_PATTERN_UNKNOWN;
    ck_assert_int_eq(br_acl_filter_validate(&f, &why), -EINVAL);
    f.pattern_type = KP_ACL_PATTERN_MATCH;
    f.operation = KP_ACL_OP_UNKNOWN;
    ck_assert_int_eq(br_acl_filter_validate(&f, &why), -EINVAL);
    f.operation = 42;
    ck_assert_int_eq(br_acl_filter_validate(&f, &why), -EINVAL);
    br_authz_close(a);
}
END_TEST

struct got {
    int n;
    char what[16][64];
    size_t idx[16];
};

static void collect(void *arg, size_t k, const struct br_acl_binding *b)
{
    struct got *g = arg;
    ck_assert_int_lt(g->n, 16);
    snprintf(g->what[g->n], sizeof g->what[0], "%d:%d:%.*s:%.*s:%d:%d", b->resource_type,
             b->pattern_type, b->name.len, b->name.ptr, b->principal.len, b->principal.ptr,
             b->operation, b->permission);
    g->idx[g->n] = k;
    g->n++;
}

START_TEST(t_filters_describe_delete)
{
    struct br_authz *a = open_authz(NULL, false);
    add(a, T, "orders", LIT, ALICE, "*", KP_ACL_OP_READ, ALLOW);
    add(a, T, "*", LIT, BOB, "*", KP_ACL_OP_READ, ALLOW);
    add(a, T, "ord", PRE, BOB, "*", KP_ACL_OP_WRITE, DENY);
    add(a, T, "other", PRE, BOB, "*", KP_ACL_OP_WRITE, DENY);
    add(a, G, "orders", LIT, ALICE, "*", KP_ACL_OP_READ, ALLOW);

    /* MATCH "orders": literal orders, the wildcard, prefixed ord; not "other", not groups. */
    struct kp_acl_filter m = {T,           S("orders"),   KP_ACL_PATTERN_MATCH, KP_STR_NULL,
                              KP_STR_NULL, KP_ACL_OP_ANY, KP_ACL_PERM_ANY};
    struct got g = {0};
    br_authz_describe(a, &m, collect, &g);
    ck_assert_int_eq(g.n, 3);
    ck_assert_str_eq(g.what[0], "2:3:*:User:bob:3:3"); /* sorted: LITERAL "*" < "orders" */
    ck_assert_str_eq(g.what[1], "2:3:orders:User:alice:3:3");
    ck_assert_str_eq(g.what[2], "2:4:ord:User:bob:4:2");
    /* ANY with a name: exact names of any pattern type. */
    struct kp_acl_filter any = {KP_ACL_RESOURCE_ANY, S("orders"),   KP_ACL_PATTERN_ANY, KP_STR_NULL,
                                KP_STR_NULL,         KP_ACL_OP_ANY, KP_ACL_PERM_ANY};
    memset(&g, 0, sizeof g);
    br_authz_describe(a, &any, collect, &g);
    ck_assert_int_eq(g.n, 2); /* topic and group "orders" */
    /* Entry filters: principal, operation, permission. */
    struct kp_acl_filter bob_deny = {
        T, KP_STR_NULL, KP_ACL_PATTERN_ANY, S(BOB), KP_STR_NULL, KP_ACL_OP_ANY, DENY};
    memset(&g, 0, sizeof g);
    br_authz_describe(a, &bob_deny, collect, &g);
    ck_assert_int_eq(g.n, 2);
    /* A literal filter sees only literal bindings. */
    struct kp_acl_filter lit = {
        T, KP_STR_NULL, LIT, KP_STR_NULL, KP_STR_NULL, KP_ACL_OP_ANY, KP_ACL_PERM_ANY};
    memset(&g, 0, sizeof g);
    br_authz_describe(a, &lit, collect, &g);
    ck_assert_int_eq(g.n, 2);

    /* Delete with two filters; each deleted binding names the first filter that matched. */
    struct kp_acl_filter del[] = {bob_deny, any};
    memset(&g, 0, sizeof g);
    ck_assert_int_eq(br_authz_delete(a, del, 2, collect, &g), 0);
    ck_assert_int_eq(g.n, 4);
    int by0 = 0, by1 = 0;
    for (int i = 0; i < g.n; i++)
        g.idx[i] == 0 ? by0++ : by1++;
    ck_assert_int_eq(by0, 2);
    ck_assert_int_eq(by1, 2);
    ck_assert_uint_eq(br_authz_count(a), 1);
    /* Deleting nothing writes nothing and keeps the generation. */
    uint64_t gen = br_authz_generation(a);
    ck_assert_int_eq(br_authz_delete(a, del, 2, NULL, NULL), 0);
    ck_assert_uint_eq(br_authz_generation(a), gen);
    br_authz_close(a);
    /* It is all on disk. */
    a = open_authz(NULL, false);
    ck_assert_uint_eq(br_authz_count(a), 1);
    ck_assert(may(a, BOB, H1, T, "anything", KP_ACL_OP_READ));
    ck_assert(!may(a, ALICE, H1, T, "orders", KP_ACL_OP_READ));
    br_authz_close(a);
}
END_TEST

START_TEST(t_cache)
{
    struct br_authz *a = open_authz(NULL, false);
    add(a, T, "t", LIT, ALICE, "*", KP_ACL_OP_READ, ALLOW);
    struct br_authz_cache c;
    br_authz_cache_init(&c);
    struct br_authz_who w = {S(ALICE), S(H1), false};
    for (int i = 0; i < 10; i++)
        ck_assert(br_authz_allowed(a, &w, &c, T, "t", 1, KP_ACL_OP_READ));
    ck_assert_uint_eq(c.misses, 1);
    ck_assert_uint_eq(c.hits, 9);
    ck_assert(!br_authz_allowed(a, &w, &c, T, "t", 1, KP_ACL_OP_WRITE)); /* another key */
    ck_assert(!br_authz_allowed(a, &w, &c, G, "t", 1, KP_ACL_OP_READ));
    ck_assert_uint_eq(c.misses, 3);
    /* A change on the set (a DENY) is seen at once through the cache. */
    add(a, T, "t", LIT, "User:*", H1, KP_ACL_OP_READ, DENY);
    ck_assert(!br_authz_allowed(a, &w, &c, T, "t", 1, KP_ACL_OP_READ));
    ck_assert_uint_eq(c.misses, 4);
    /* So is a deletion. */
    struct kp_acl_filter f = {T, S("t"), LIT, KP_STR_NULL, KP_STR_NULL, KP_ACL_OP_READ, DENY};
    ck_assert_int_eq(br_authz_delete(a, &f, 1, NULL, NULL), 0);
    ck_assert(br_authz_allowed(a, &w, &c, T, "t", 1, KP_ACL_OP_READ));
    /* Names past the cache's bound are decided every time (and still correctly). */
    char longname[100];
    memset(longname, 'x', sizeof longname);
    add(a, T, "xxxx", PRE, ALICE, "*", KP_ACL_OP_READ, ALLOW);
    uint64_t h = c.hits, m = c.misses;
    for (int i = 0; i < 3; i++)
        ck_assert(br_authz_allowed(a, &w, &c, T, longname, sizeof longname, KP_ACL_OP_READ));
    ck_assert_uint_eq(c.hits, h);
    ck_assert_uint_eq(c.misses, m);
    br_authz_close(a);
}
END_TEST

START_TEST(t_damaged_file_refused)
{
    struct br_authz *a = open_authz(NULL, false);
    add(a, T, "t", LIT, ALICE, "*", KP_ACL_OP_READ, ALLOW);
    add(a, T, "t", LIT, BOB, "*", KP_ACL_OP_READ, DENY);
    br_authz_close(a);
    size_t len;
    uint8_t *good = tst_slurp(file, &len);
    struct br_authz_conf conf = {dir, NULL, false, log_fn, NULL, false};
    for (size_t at = 0; at < len; at++) {
        uint8_t *bad = malloc(len);
        memcpy(bad, good, len);
        bad[at] ^= 0x04;
        tst_spit(file, bad, len);
        free(bad);
        ck_assert_int_eq(br_authz_open(&conf, &a), -EBADMSG);
    }
    /* Valid framing around an invalid binding (operation ANY): refused, logged. Record 1 is
     * bob's DENY (sorted by principal); its operation is body byte 2. */
    uint8_t *bad = malloc(len);
    memcpy(bad, good, len);
    size_t at = 16 + 8 + kp_load_be32(bad + 16);
    uint32_t bl = kp_load_be32(bad + at);
    bad[at + 4 + 2] = KP_ACL_OP_ANY;
    kp_store_be32(bad + at + 4 + bl, kp_crc32c(0, bad + at, 4 + bl));
    tst_spit(file, bad, len);
    nlines = 0;
    ck_assert_int_eq(br_authz_open(&conf, &a), -EBADMSG);
    ck_assert_int_eq(nlines, 1);
    ck_assert_ptr_nonnull(strstr(last_line, "Invalid operation"));
    free(bad);
    tst_spit(file, good, len);
    a = open_authz(NULL, false);
    ck_assert(!may(a, BOB, H1, T, "t", KP_ACL_OP_READ));
    br_authz_close(a);
    free(good);
}
END_TEST

static struct br_acl_binding B_(int8_t type, const char *name, int8_t pattern,
                                const char *principal, int8_t op, int8_t perm) {
    return (struct br_acl_binding){type, S(name), pattern, S(principal), S("*"), op, perm};
}

START_TEST(t_cluster_replace)
{
    /* a file from a single-node past: logged, not used */
    struct br_authz *a = open_authz(NULL, false);
    add(a, T, "old", LIT, ALICE, "*", KP_ACL_OP_READ, DENY);
    br_authz_close(a);
    struct br_authz_conf conf = {dir, "User:admin", true, log_fn, NULL, true};
    nlines = 0;
    ck_assert_int_eq(br_authz_open(&conf, &a), 0);
    ck_assert_int_eq(nlines, 1);
    ck_assert_ptr_nonnull(strstr(last_line, "not used in a cluster"));
    ck_assert_uint_eq(br_authz_count(a), 0);
    ck_assert(may(a, ALICE, H1, T, "old", KP_ACL_OP_READ));
    ck_assert_int_eq(unlink(file), 0);

    /* the whole set */
    struct br_acl_binding all[] = {B_(T, "t", LIT, ALICE, KP_ACL_OP_READ, ALLOW),
                                   B_(T, "u", LIT, BOB, KP_ACL_OP_READ, DENY),
                                   B_(G, "g-", PRE, BOB, KP_ACL_OP_READ, DENY)};
    struct br_acl_change ch = {.all = true, .b = all, .n = 3};
    size_t nclosed = 9;
    uint64_t gen = br_authz_generation(a);
    ck_assert_int_eq(br_authz_replace(a, &ch, &nclosed), 0);
    ck_assert_uint_eq(nclosed, 0);
    ck_assert_uint_gt(br_authz_generation(a), gen);
    ck_assert_uint_eq(br_authz_count(a), 3);
    ck_assert(may(a, ALICE, H1, T, "t", KP_ACL_OP_READ));
    ck_assert(!may(a, BOB, H1, T, "t", KP_ACL_OP_READ));
    ck_assert(!may(a, BOB, H1, T, "u", KP_ACL_OP_READ));
    ck_assert(!may(a, BOB, H1, G, "g-1", KP_ACL_OP_READ));
    ck_assert(may(a, BOB, H1, G, "h", KP_ACL_OP_READ)); /* (no ACL: allow everyone) */
    ck_assert_int_ne(access(file, F_OK), 0);            /* (no file in a cluster) */

    /* one pattern: t's bindings replaced (alice's gone, bob's in), the others kept */
    struct br_acl_binding pat = B_(T, "t", LIT, "", 0, 0);
    struct br_acl_binding t2 = B_(T, "t", LIT, BOB, KP_ACL_OP_ALL, ALLOW);
    ch = (struct br_acl_change){.pats = &pat, .npats = 1, .b = &t2, .n = 1};
    ck_assert_int_eq(br_authz_replace(a, &ch, &nclosed), 0);
    ck_assert_uint_eq(br_authz_count(a), 3);
    ck_assert(!may(a, ALICE, H1, T, "t", KP_ACL_OP_READ));
    ck_assert(may(a, BOB, H1, T, "t", KP_ACL_OP_READ));
    ck_assert(!may(a, BOB, H1, T, "u", KP_ACL_OP_READ));
    /* a pattern emptied */
    ch = (struct br_acl_change){.pats = &pat, .npats = 1};
    ck_assert_int_eq(br_authz_replace(a, &ch, &nclosed), 0);
    ck_assert_uint_eq(br_authz_count(a), 2);
    ck_assert(may(a, ALICE, H1, T, "t", KP_ACL_OP_READ)); /* (no ACL again) */

    /* FAIL CLOSED: a pattern that could not be read denies everyone but super users, also
     * where allow.everyone.if.no.acl.found would have allowed */
    struct br_acl_binding shut = B_(T, "p-", PRE, "", 0, 0);
    ch = (struct br_acl_change){.pats = &shut, .npats = 1, .closed = &shut, .nclosed = 1};
    ck_assert_int_eq(br_authz_replace(a, &ch, &nclosed), 0);
    ck_assert_uint_eq(nclosed, 1);
    ck_assert(!may(a, ALICE, H1, T, "p-x", KP_ACL_OP_DESCRIBE));
    ck_assert(!may(a, BOB, H2, T, "p-", KP_ACL_OP_WRITE));
    ck_assert(may(a, "User:admin", H1, T, "p-x", KP_ACL_OP_WRITE));
    ck_assert(may(a, ALICE, H1, T, "p", KP_ACL_OP_DESCRIBE));
    /* a binding Kafka would refuse (principal without a type) closes its pattern, and the
     * valid ALLOW beside it does not open it */
    struct br_acl_binding v = B_(T, "v", LIT, "", 0, 0);
    struct br_acl_binding vs[] = {B_(T, "v", LIT, ALICE, KP_ACL_OP_ALL, ALLOW),
                                  B_(T, "v", LIT, "alice", KP_ACL_OP_READ, DENY)};
    ch = (struct br_acl_change){.pats = &v, .npats = 1, .b = vs, .n = 2};
    ck_assert_int_eq(br_authz_replace(a, &ch, &nclosed), 0);
    ck_assert_uint_eq(nclosed, 1);
    ck_assert(!may(a, ALICE, H1, T, "v", KP_ACL_OP_READ));
    /* read again fine: open */
    ch = (struct br_acl_change){.pats = &v, .npats = 1, .b = vs, .n = 1};
    ck_assert_int_eq(br_authz_replace(a, &ch, &nclosed), 0);
    ck_assert_uint_eq(nclosed, 0);
    ck_assert(may(a, ALICE, H1, T, "v", KP_ACL_OP_READ));
    /* a whole set past the bound: refused, nothing changed */
    size_t n = BR_ACL_MAX + 1;
    struct br_acl_binding *many = malloc(n * sizeof *many);
    char(*names)[16] = malloc(n * sizeof *names);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "n%zu", i);
        many[i] = B_(T, names[i], LIT, ALICE, KP_ACL_OP_READ, DENY);
    }
    size_t before = br_authz_count(a);
    ch = (struct br_acl_change){.all = true, .b = many, .n = n};
    ck_assert_int_eq(br_authz_replace(a, &ch, &nclosed), -ENOSPC);
    ck_assert_uint_eq(br_authz_count(a), before);
    free(many);
    free(names);
    br_authz_close(a);
}
END_TEST

static struct br_authz *shared;
static atomic_int stop_flag;

static void *decider(void *arg)
{
    (void)arg;
    struct br_authz_cache c;
    br_authz_cache_init(&c);
    struct br_authz_who w = {S(ALICE), S(H1), false};
    for (int i = 0; i < 200000 && !atomic_load(&stop_flag); i++) {
        /* t is always allowed (the ALLOW stays); u flips with the DENY the writer toggles. */
        ck_assert(br_authz_allowed(shared, &w, &c, T, "t", 1, KP_ACL_OP_READ));
        (void)br_authz_allowed(shared, &w, &c, T, "u", 1, KP_ACL_OP_READ);
    }
    return NULL;
}

START_TEST(t_concurrent_decisions)
{
    shared = open_authz(NULL, false);
    add(shared, T, "t", LIT, ALICE, "*", KP_ACL_OP_READ, ALLOW);
    add(shared, T, "u", LIT, ALICE, "*", KP_ACL_OP_READ, ALLOW);
    atomic_store(&stop_flag, 0);
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, decider, NULL);
    struct kp_acl_filter f = {T, S("u"), LIT, KP_STR_NULL, KP_STR_NULL, KP_ACL_OP_ANY, DENY};
    for (int i = 0; i < 20; i++) {
        add(shared, T, "u", LIT, ALICE, "*", KP_ACL_OP_READ, DENY);
        struct br_authz_who w = {S(ALICE), S(H1), false};
        ck_assert(!br_authz_allowed(shared, &w, NULL, T, "u", 1, KP_ACL_OP_READ));
        ck_assert_int_eq(br_authz_delete(shared, &f, 1, NULL, NULL), 0);
        ck_assert(br_authz_allowed(shared, &w, NULL, T, "u", 1, KP_ACL_OP_READ));
    }
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    br_authz_close(shared);
}
END_TEST

static Suite *br_acl_suite(void)
{
    Suite *s = suite_create("br_acl");
    TCase *t = tcase_create("acl");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, t_no_acls);
    tcase_add_test(t, t_literal_principal_host_operation);
    tcase_add_test(t, t_implied_operations);
    tcase_add_test(t, t_deny_beats_allow);
    tcase_add_test(t, t_prefixed_and_wildcard);
    tcase_add_test(t, t_allow_everyone_only_without_acls);
    tcase_add_test(t, t_super_users);
    tcase_add_test(t, t_by_resource_type);
    tcase_add_test(t, t_validation);
    tcase_add_test(t, t_filters_describe_delete);
    tcase_add_test(t, t_cache);
    tcase_add_test(t, t_damaged_file_refused);
    tcase_add_test(t, t_concurrent_decisions);
    tcase_add_test(t, t_cluster_replace);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(br_acl_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
