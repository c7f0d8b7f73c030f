/*
 * cli_acl — `splicelog acl add|list|remove`: Kafka ACL bindings.
 *
 * Without --data-dir, through a running broker's Kafka API (CreateAcls, DescribeAcls, DeleteAcls
 * through libsplicelog, as kafka-acls.sh does), which applies them at once; the connection's
 * security (SASL as a super user) comes from --command-config FILE or -X key=value. The broker
 * validates the bindings and answers with Kafka's errors.
 *
 * With --data-dir, offline: straight into a data directory's ACL file (broker/sec/br_acl.h)
 * while no broker runs on it, as the first administrator's rights are set up before the first
 * start.
 *
 * Names are Kafka's (kafka-acls.sh): resource types topic, group, cluster, transactional-id;
 * operations read, write, create, delete, alter, describe, cluster-action, describe-configs,
 * alter-configs, idempotent-write, all (any case, '-' or '_' or none between words); pattern
 * literal or prefixed; permission allow or deny. list and remove take the same options as
 * filters: an option not given matches anything.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "br_acl.h"

struct name_val {
    const char *name;
    int8_t v;
};

static const struct name_val types[] = {
    {"topic", KP_ACL_RESOURCE_TOPIC},
    {"group", KP_ACL_RESOURCE_GROUP},
    {"cluster", KP_ACL_RESOURCE_CLUSTER},
    {"transactionalid", KP_ACL_RESOURCE_TRANSACTIONAL_ID},
    {NULL, 0},
};
static const struct name_val ops[] = {
    {"all", KP_ACL_OP_ALL},
    {"read", KP_ACL_OP_READ},
    {"write", KP_ACL_OP_WRITE},
    {"create", KP_ACL_OP_CREATE},
    {"delete", KP_ACL_OP_DELETE},
    {"alter", KP_ACL_OP_ALTER},
    {"describe", KP_ACL_OP_DESCRIBE},
    {"clusteraction", KP_ACL_OP_CLUSTER_ACTION},
    {"describeconfigs", KP_ACL_OP_DESCRIBE_CONFIGS},
    {"alterconfigs", KP_ACL_OP_ALTER_CONFIGS},
    {"idempotentwrite", KP_ACL_OP_IDEMPOTENT_WRITE},
    {NULL, 0},
};
static const struct name_val patterns[] = {
    {"literal", KP_ACL_PATTERN_LITERAL}, {"prefixed", KP_ACL_PATTERN_PREFIXED}, {NULL, 0}};
static const struct name_val perms[] = {
    {"allow", KP_ACL_PERM_ALLOW}, {"deny", KP_ACL_PERM_DENY}, {NULL, 0}};

/* "Describe-Configs" -> "describeconfigs" */
static bool lookup(const struct name_val *t, const char *s, int8_t *out)
{
    char k[32];
    size_t n = 0;
    for (; *s && n + 1 < sizeof k; s++)
        if (*s != '-' && *s != '_')
            k[n++] = (char)tolower((unsigned char)*s);
    k[n] = 0;
    for (; t->name; t++)
        if (strcmp(t->name, k) == 0) {
            *out = t->v;
            return true;
        }
    return false;
}

static const char *name_of(const struct name_val *t, int8_t v)
{
    for (; t->name; t++)
        if (t->v == v)
            return t->name;
    return "?";
}

static void log_line(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "splicelog: %s\n", msg);
}

/* The options every verb takes, as strings, and the broker's (without --data-dir). */
struct acl_args {
    const char *dir, *principal, *host, *type, *name, *op, *pattern, *perm;
    struct cli_net net;
};

/* clang-format off */
#define ACL_OPTS(a, req)                                                                           \
    {                                                                                              \
        {"data-dir", &(a).dir, false, false}, {"principal", &(a).principal, req, false},           \
        {"host", &(a).host, false, false}, {"resource", &(a).type, req, false},                    \
        {"name", &(a).name, false, false}, {"operation", &(a).op, req, false},                     \
        {"pattern", &(a).pattern, false, false}, {"permission", &(a).perm, false, false},          \
        CLI_NET_OPTS(&(a).net), {NULL, NULL, false, false}                                         \
    }
/* clang-format on */

/* The filter the options make (ANY / null for what is not given). false after printing why. */
static bool to_filter(const struct cli_cmd *cmd, const struct acl_args *a, struct kp_acl_filter *f)
{
    *f = (struct kp_acl_filter){KP_ACL_RESOURCE_ANY, KP_STR_NULL,   KP_ACL_PATTERN_ANY, KP_STR_NULL,
                                KP_STR_NULL,         KP_ACL_OP_ANY, KP_ACL_PERM_ANY};
    if (a->type && !lookup(types, a->type, &f->resource_type))
        return cli_fail(cmd, "--resource must be topic, group, cluster or transactional-id"), false;
    if (a->op && !lookup(ops, a->op, &f->operation))
        return cli_fail(cmd, "--operation '%s' is not a Kafka ACL operation", a->op), false;
    if (a->pattern && !lookup(patterns, a->pattern, &f->pattern_type))
        return cli_fail(cmd, "--pattern must be literal or prefixed"), false;
    if (a->perm && !lookup(perms, a->perm, &f->permission_type))
        return cli_fail(cmd, "--permission must be allow or deny"), false;
    if (a->name)
        f->resource_name = kp_str_of(a->name);
    else if (f->resource_type == KP_ACL_RESOURCE_CLUSTER)
        f->resource_name = kp_str_of(BR_ACL_CLUSTER);
    if (a->principal)
        f->principal = kp_str_of(a->principal);
    if (a->host)
        f->host = kp_str_of(a->host);
    return true;
}

static struct br_authz *open_acls(const struct cli_cmd *cmd, const char *dir, int *lock_fd)
{
    *lock_fd = cli_lock_data_dir(cmd, dir);
    if (*lock_fd < 0)
        return NULL;
    struct br_authz_conf conf = {.data_dir = dir, .log_fn = log_line};
    struct br_authz *a = NULL;
    int rc = br_authz_open(&conf, &a);
    if (rc) {
        cli_fail(cmd, "cannot open the ACLs in %s: %s", dir, strerror(-rc));
        close(*lock_fd);
        return NULL;
    }
    return a;
}

static void close_acls(struct br_authz *z, int lock_fd)
{
    br_authz_close(z);
    close(lock_fd);
}

/* The filter of a list or remove command (a) and the ACLs it applies to, opened: NULL after
 * printing why (exit status 1). */
/* The filter the arguments give, validated as the broker validates it; false when refused (said).
 */
static bool filter_of(const struct cli_cmd *cmd, const struct acl_args *a, struct kp_acl_filter *f)
{
    if (!to_filter(cmd, a, f))
        return false;
    const char *why;
    if (br_acl_filter_validate(f, &why) < 0) {
        cli_fail(cmd, "%s", why);
        return false;
    }
    return true;
}

static void print_binding(void *arg, size_t filter, const struct br_acl_binding *b)
{
    (void)filter;
    const char *verb = arg;
    printf("%s%s\t%.*s\t%s\t%.*s\t%.*s\t%s\t%s\n", verb ? verb : "",
           name_of(types, b->resource_type), (int)b->name.len, b->name.ptr,
           name_of(patterns, b->pattern_type), (int)b->principal.len, b->principal.ptr,
           (int)b->host.len, b->host.ptr, name_of(ops, b->operation),
           name_of(perms, b->permission));
}

/* ---- through a running broker ---------------------------------------------------------------- */

static const char *cstr(struct kp_str s) { return s.ptr ? s.ptr : NULL; } /* argv: NUL-ended */

static sl_acl_binding to_sl(const struct br_acl_binding *b)
{
    return (sl_acl_binding){b->resource_type, cstr(b->name), b->pattern_type, cstr(b->principal),
                            cstr(b->host),    b->operation,  b->permission};
}

static struct br_acl_binding from_sl(const sl_acl_binding *b)
{
    struct kp_str null = KP_STR_NULL;
    return (struct br_acl_binding){(int8_t)b->resource_type,
                                   b->resource_name ? kp_str_of(b->resource_name) : null,
                                   (int8_t)b->pattern_type,
                                   b->principal ? kp_str_of(b->principal) : null,
                                   b->host ? kp_str_of(b->host) : null,
                                   (int8_t)b->operation,
                                   (int8_t)b->permission_type};
}

static sl_acl_binding filter_to_sl(const struct kp_acl_filter *f)
{
    return (sl_acl_binding){f->resource_type,   cstr(f->resource_name), f->pattern_type,
                            cstr(f->principal), cstr(f->host),          f->operation,
                            f->permission_type};
}

static void print_sl(const sl_acl_binding *b, size_t n, const char *verb)
{
    for (size_t i = 0; i < n; i++) {
        struct br_acl_binding x = from_sl(&b[i]);
        print_binding((void *)verb, 0, &x);
    }
}

static int add_online(const struct cli_cmd *cmd, struct acl_args *a, const struct br_acl_binding *b)
{
    sl_admin *ad = cli_admin(cmd, &a->net);
    if (!ad)
        return 1;
    sl_acl_binding sb = to_sl(b);
    const sl_admin_result *r;
    sl_err err = sl_admin_create_acls(ad, &sb, 1, a->net.timeout_ms, &r);
    int rc = err ? cli_err(cmd, err, "CreateAcls") : 0;
    if (!err && r[0].err)
        rc = cli_fail(cmd, "%s%s%s", sl_err2str(r[0].err), r[0].errmsg[0] ? ": " : "", r[0].errmsg);
    if (rc == 0)
        print_binding("added\t", 0, b);
    sl_admin_free(ad);
    return rc;
}

static int list_online(const struct cli_cmd *cmd, struct acl_args *a, const struct kp_acl_filter *f,
                       bool remove)
{
    sl_admin *ad = cli_admin(cmd, &a->net);
    if (!ad)
        return 1;
    sl_acl_binding sf = filter_to_sl(f);
    const sl_acl_binding *out;
    size_t n;
    sl_err err = remove ? sl_admin_delete_acls(ad, &sf, 1, a->net.timeout_ms, &out, &n)
                        : sl_admin_describe_acls(ad, &sf, a->net.timeout_ms, &out, &n);
    int rc = err ? cli_err(cmd, err, remove ? "DeleteAcls" : "DescribeAcls") : 0;
    if (!err)
        print_sl(out, n, remove ? "removed\t" : NULL);
    sl_admin_free(ad);
    return rc;
}

/* ---- the commands ---------------------------------------------------------------------------- */

int cli_acl_add(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct acl_args a = {0};
    const struct cli_opt opts[] = ACL_OPTS(a, true);
    if (!cli_opts(cmd, argc, argv, opts))
        return 2;
    struct kp_acl_filter f;
    if (!to_filter(cmd, &a, &f))
        return 1;
    struct br_acl_binding b = {
        f.resource_type,
        f.resource_name,
        a.pattern ? f.pattern_type : KP_ACL_PATTERN_LITERAL,
        f.principal,
        a.host ? f.host : kp_str_of(BR_ACL_WILDCARD),
        f.operation,
        a.perm ? f.permission_type : KP_ACL_PERM_ALLOW,
    };
    const char *why = NULL;
    if (br_acl_validate(&b, &why) < 0)
        return cli_fail(cmd, "%s", why ? why : "invalid ACL");
    if (!a.dir)
        return add_online(cmd, &a, &b);
    int lock_fd;
    struct br_authz *z = open_acls(cmd, a.dir, &lock_fd);
    if (!z)
        return 1;
    int result = 0;
    int rc = br_authz_create(z, &b, 1, &result, &why);
    close_acls(z, lock_fd);
    if (rc)
        return cli_fail(cmd, "cannot write the ACLs: %s", strerror(-rc));
    if (result)
        return cli_fail(cmd, "%s", why ? why : "invalid ACL");
    print_binding("added\t", 0, &b);
    return 0;
}

int cli_acl_list(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct acl_args a = {0};
    const struct cli_opt opts[] = ACL_OPTS(a, false);
    if (!cli_opts(cmd, argc, argv, opts))
        return 2;
    struct kp_acl_filter f;
    if (!filter_of(cmd, &a, &f))
        return 1;
    if (!a.dir)
        return list_online(cmd, &a, &f, false);
    int lock_fd;
    struct br_authz *z = open_acls(cmd, a.dir, &lock_fd);
    if (!z)
        return 1;
    br_authz_describe(z, &f, print_binding, NULL);
    close_acls(z, lock_fd);
    return 0;
}

int cli_acl_remove(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct acl_args a = {0};
    const struct cli_opt opts[] = ACL_OPTS(a, false);
    if (!cli_opts(cmd, argc, argv, opts))
        return 2;
    if (!a.type && !a.principal && !a.name && !a.op)
        return cli_fail(cmd, "give at least one of --resource, --name, --principal, --operation "
                             "(removing every ACL at once is not done by accident)");
    struct kp_acl_filter f;
    if (!filter_of(cmd, &a, &f))
        return 1;
    if (!a.dir)
        return list_online(cmd, &a, &f, true);
    int lock_fd;
    struct br_authz *z = open_acls(cmd, a.dir, &lock_fd);
    if (!z)
        return 1;
    int rc = br_authz_delete(z, &f, 1, print_binding, "removed\t");
    close_acls(z, lock_fd);
    if (rc)
        return cli_fail(cmd, "cannot write the ACLs: %s", strerror(-rc));
    return 0;
}
