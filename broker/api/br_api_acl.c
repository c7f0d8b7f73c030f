/*
 * br_api_acl — DescribeAcls, CreateAcls, DeleteAcls (KIP-140) against the authorizer
 * (broker/sec/br_acl.h), and the authorization checks every handler makes (br_api.h:
 * br_allowed, br_allowed_any).
 *
 * As Kafka (KafkaApis, AclApis): DescribeAcls needs DESCRIBE on the cluster, CreateAcls and
 * DeleteAcls ALTER on it (CLUSTER_AUTHORIZATION_FAILED otherwise: in the response's error for
 * DescribeAcls, in every result for the other two); without an authorizer all three answer
 * SECURITY_DISABLED. A binding or filter Kafka refuses gets INVALID_REQUEST with Kafka's words.
 * The changes are durable before the answer (the authorizer writes its file); they are made on
 * the loop thread: ACL changes are rare administrative requests, and the write is one small
 * file with one fdatasync.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_api.h"
#include "br_auth.h"
#include "br_log.h"
#include "kp_msg_sec.h"

/* ---- decisions --------------------------------------------------------------------------------
 */

static struct br_authz *authz_of_ctx(const struct br_ctx *x)
{
    return x->auth ? x->auth->authz : NULL;
}

static struct br_authz *authz_of(const struct br_req *q) { return authz_of_ctx(q->x); }

/* The connection's identity; a request without a session (test harnesses) is ANONYMOUS. */
static const struct br_authz_who *who_of(const struct br_peer *peer, struct br_authz_cache **cache)
{
    static const struct br_authz_who anonymous = {{"User:ANONYMOUS", 14}, {"", 0}, false};
    struct br_auth_sess *s = peer->sess;
    if (!s || !s->who_valid) {
        *cache = NULL;
        return &anonymous;
    }
    *cache = &s->cache;
    return &s->who;
}

bool br_allowed_peer(const struct br_ctx *x, const struct br_peer *peer, int8_t type,
                     const char *name, size_t len, int8_t op)
{
    struct br_authz *a = authz_of_ctx(x);
    if (!a)
        return true;
    struct br_authz_cache *cache;
    const struct br_authz_who *who = who_of(peer, &cache);
    bool ok = br_authz_allowed(a, who, cache, type, name, len, op);
    if (!ok)
        br_debug("peer=%s: %.*s denied operation %d on resource type %d %s", peer->name,
                 (int)who->principal.len, who->principal.ptr, op, type,
                 br_log_str(name, (int64_t)len).s);
    return ok;
}

bool br_allowed(const struct br_req *q, int8_t type, const char *name, size_t len, int8_t op)
{
    return br_allowed_peer(q->x, q->peer, type, name, len, op);
}

bool br_allowed_any(const struct br_req *q, int8_t type, int8_t op)
{
    struct br_authz *a = authz_of(q);
    if (!a)
        return true;
    struct br_authz_cache *cache;
    const struct br_authz_who *who = who_of(q->peer, &cache);
    return br_authz_allowed_any(a, who, type, op);
}

bool br_allowed_cluster(const struct br_req *q, int8_t op)
{
    return br_allowed(q, KP_ACL_RESOURCE_CLUSTER, BR_ACL_CLUSTER, strlen(BR_ACL_CLUSTER), op);
}

bool br_allowed_create_topic(const struct br_ctx *x, const struct br_peer *peer, const char *name,
                             size_t len)
{
    return br_allowed_peer(x, peer, KP_ACL_RESOURCE_CLUSTER, BR_ACL_CLUSTER, strlen(BR_ACL_CLUSTER),
                           KP_ACL_OP_CREATE) ||
           br_allowed_peer(x, peer, KP_ACL_RESOURCE_TOPIC, name, len, KP_ACL_OP_CREATE);
}

static struct kp_str kstr(const char *s) { return (struct kp_str){s, s ? (int32_t)strlen(s) : -1}; }

/* ---- copies of bindings (the authorizer's views end with its callback) ----------------------- */

struct acl_copy {
    size_t filter;
    struct br_acl_binding b; /* strings in the copy's own memory */
};

struct acl_list {
    struct acl_copy *v;
    size_t n, cap;
    char **strs;
    size_t ns, caps;
    bool oom;
};

static struct kp_str dup_str(struct acl_list *l, struct kp_str s)
{
    if (l->ns == l->caps) {
        size_t nc = l->caps ? l->caps * 2 : 64;
        char **p = realloc(l->strs, nc * sizeof(*p));
        if (!p) {
            l->oom = true;
            return (struct kp_str){"", 0};
        }
        l->strs = p;
        l->caps = nc;
    }
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    char *c = malloc(n + 1);
    if (!c) {
        l->oom = true;
        return (struct kp_str){"", 0};
    }
    if (n)
        memcpy(c, s.ptr, n);
    c[n] = 0;
    l->strs[l->ns++] = c;
    return (struct kp_str){c, (int32_t)n};
}

static void collect(void *arg, size_t filter, const struct br_acl_binding *b)
{
    struct acl_list *l = arg;
    if (l->oom)
        return;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 32;
        struct acl_copy *p = realloc(l->v, nc * sizeof(*p));
        if (!p) {
            l->oom = true;
            return;
        }
        l->v = p;
        l->cap = nc;
    }
    struct acl_copy *c = &l->v[l->n++];
    c->filter = filter;
    c->b = *b;
    c->b.name = dup_str(l, b->name);
    c->b.principal = dup_str(l, b->principal);
    c->b.host = dup_str(l, b->host);
}

static void list_free(struct acl_list *l)
{
    for (size_t i = 0; i < l->ns; i++)
        free(l->strs[i]);
    free(l->strs);
    free(l->v);
}

/* ---- DescribeAcls ------------------------------------------------------------------------------
 */

static int describe_err(struct br_resp *r, int16_t err, const char *msg)
{
    struct kp_describe_acls_resp resp = {.error_code = err, .error_message = kstr(msg)};
    int rc = BR_ENCODE(r, kp_describe_acls_resp_encode, &resp);
    return rc < 0 ? rc : BR_REPLY;
}

static bool same_resource(const struct br_acl_binding *a, const struct br_acl_binding *b)
{
    return a->resource_type == b->resource_type && a->pattern_type == b->pattern_type &&
           a->name.len == b->name.len && memcmp(a->name.ptr, b->name.ptr, (size_t)a->name.len) == 0;
}

int br_api_describe_acls(struct br_req *q, struct br_resp *r)
{
    struct kp_describe_acls_req req;
    int rc = BR_DECODE(q, kp_describe_acls_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    struct br_authz *a = authz_of(q);
    if (!a)
        return describe_err(r, KP_ERR_SECURITY_DISABLED,
                            "No Authorizer is configured on the broker");
    if (!br_allowed_cluster(q, KP_ACL_OP_DESCRIBE))
        return describe_err(r, KP_ERR_CLUSTER_AUTHORIZATION_FAILED, NULL);
    const char *why = NULL;
    if (br_acl_filter_validate(&req.filter, &why) < 0)
        return describe_err(r, KP_ERR_INVALID_REQUEST, why);
    struct acl_list l = {0};
    br_authz_describe(a, &req.filter, collect, &l);
    size_t nres = 0;
    for (size_t i = 0; i < l.n; i++)
        nres += i == 0 || !same_resource(&l.v[i - 1].b, &l.v[i].b);
    struct kp_describe_acls_resource *res = calloc(nres ? nres : 1, sizeof(*res));
    struct kp_acl_description *acls = calloc(l.n ? l.n : 1, sizeof(*acls));
    if (l.oom || !res || !acls) {
        free(res);
        free(acls);
        list_free(&l);
        return -ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < l.n; i++) {
        const struct br_acl_binding *b = &l.v[i].b;
        if (i == 0 || !same_resource(&l.v[i - 1].b, b)) {
            res[k++] = (struct kp_describe_acls_resource){
                .resource_type = b->resource_type,
                .resource_name = b->name,
                .pattern_type = b->pattern_type,
                .acls = &acls[i],
            };
        }
        res[k - 1].n_acls++;
        acls[i] = (struct kp_acl_description){b->principal, b->host, b->operation, b->permission};
    }
    struct kp_describe_acls_resp resp = {
        .error_message = kstr(NULL), .n_resources = (int32_t)nres, .resources = res};
    rc = BR_ENCODE(r, kp_describe_acls_resp_encode, &resp);
    free(res);
    free(acls);
    list_free(&l);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- CreateAcls --------------------------------------------------------------------------------
 */

int br_api_create_acls(struct br_req *q, struct br_resp *r)
{
    struct kp_create_acls_req req;
    int rc = BR_DECODE(q, kp_create_acls_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t n = req.n_creations > 0 ? (size_t)req.n_creations : 0;
    struct kp_acl_result *res = calloc(n ? n : 1, sizeof(*res));
    struct br_acl_binding *b = calloc(n ? n : 1, sizeof(*b));
    int *results = calloc(n ? n : 1, sizeof(*results));
    const char **why = calloc(n ? n : 1, sizeof(*why));
    if (!res || !b || !results || !why) {
        rc = -ENOMEM;
        goto out;
    }
    struct br_authz *a = authz_of(q);
    int16_t all = !a                                        ? KP_ERR_SECURITY_DISABLED
                  : !br_allowed_cluster(q, KP_ACL_OP_ALTER) ? KP_ERR_CLUSTER_AUTHORIZATION_FAILED
                                                            : KP_ERR_NONE;
    for (size_t i = 0; i < n; i++) {
        const struct kp_acl_creation *c = &req.creations[i];
        b[i] = (struct br_acl_binding){c->resource_type,  c->resource_name, c->pattern_type,
                                       c->principal,      c->host,          c->operation,
                                       c->permission_type};
        res[i] = (struct kp_acl_result){all, kstr(all == KP_ERR_SECURITY_DISABLED
                                                      ? "No Authorizer is configured on the broker"
                                                      : NULL)};
    }
    if (all == KP_ERR_NONE && n) {
        int wrc = br_authz_create(a, b, n, results, why);
        for (size_t i = 0; i < n; i++) {
            if (wrc < 0)
                res[i] = (struct kp_acl_result){KP_ERR_UNKNOWN_SERVER_ERROR, kstr(strerror(-wrc))};
            else if (results[i] < 0)
                res[i] = (struct kp_acl_result){KP_ERR_INVALID_REQUEST, kstr(why[i])};
        }
        if (wrc < 0)
            br_err("peer=%s: CreateAcls: %s", q->peer->name, strerror(-wrc));
        else
            br_info("peer=%s: %s created ACLs (%zu binding(s) asked)", q->peer->name,
                    q->peer->principal, n);
    }
    struct kp_create_acls_resp resp = {.n_results = (int32_t)n, .results = res};
    rc = BR_ENCODE(r, kp_create_acls_resp_encode, &resp);
out:
    free(res);
    free(b);
    free(results);
    free(why);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- DeleteAcls --------------------------------------------------------------------------------
 */

int br_api_delete_acls(struct br_req *q, struct br_resp *r)
{
    struct kp_delete_acls_req req;
    int rc = BR_DECODE(q, kp_delete_acls_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t n = req.n_filters > 0 ? (size_t)req.n_filters : 0;
    struct kp_delete_acls_filter_result *fr = calloc(n ? n : 1, sizeof(*fr));
    struct kp_acl_filter *ok = calloc(n ? n : 1, sizeof(*ok));
    size_t *map = calloc(n ? n : 1, sizeof(*map)); /* index in ok -> filter index */
    struct acl_list l = {0};
    struct kp_delete_acls_matching_acl *m = NULL;
    if (!fr || !ok || !map) {
        rc = -ENOMEM;
        goto out;
    }
    struct br_authz *a = authz_of(q);
    int16_t all = !a                                        ? KP_ERR_SECURITY_DISABLED
                  : !br_allowed_cluster(q, KP_ACL_OP_ALTER) ? KP_ERR_CLUSTER_AUTHORIZATION_FAILED
                                                            : KP_ERR_NONE;
    size_t nok = 0;
    for (size_t i = 0; i < n; i++) {
        fr[i].error_code = all;
        fr[i].error_message = kstr(
            all == KP_ERR_SECURITY_DISABLED ? "No Authorizer is configured on the broker" : NULL);
        const char *why = NULL;
        if (all == KP_ERR_NONE && br_acl_filter_validate(&req.filters[i], &why) < 0) {
            fr[i].error_code = KP_ERR_INVALID_REQUEST;
            fr[i].error_message = kstr(why);
            continue;
        }
        if (all == KP_ERR_NONE) {
            map[nok] = i;
            ok[nok++] = req.filters[i];
        }
    }
    if (nok) {
        int wrc = br_authz_delete(a, ok, nok, collect, &l);
        if (l.oom) {
            rc = -ENOMEM;
            goto out;
        }
        if (wrc < 0) {
            br_err("peer=%s: DeleteAcls: %s", q->peer->name, strerror(-wrc));
            for (size_t i = 0; i < nok; i++) {
                fr[map[i]].error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
                fr[map[i]].error_message = kstr(strerror(-wrc));
            }
            l.n = 0;
        }
        m = calloc(l.n ? l.n : 1, sizeof(*m));
        if (!m) {
            rc = -ENOMEM;
            goto out;
        }
        /* group the deleted bindings by filter, in the order the filters came */
        size_t k = 0;
        for (size_t f = 0; f < nok; f++) {
            struct kp_delete_acls_filter_result *x = &fr[map[f]];
            x->matching_acls = &m[k];
            for (size_t i = 0; i < l.n; i++) {
                if (l.v[i].filter != f)
                    continue;
                const struct br_acl_binding *b = &l.v[i].b;
                m[k++] = (struct kp_delete_acls_matching_acl){
                    .error_message = kstr(NULL),
                    .resource_type = b->resource_type,
                    .resource_name = b->name,
                    .pattern_type = b->pattern_type,
                    .principal = b->principal,
                    .host = b->host,
                    .operation = b->operation,
                    .permission_type = b->permission,
                };
                x->n_matching_acls++;
            }
        }
        if (wrc == 0 && l.n)
            br_info("peer=%s: %s deleted %zu ACL binding(s)", q->peer->name, q->peer->principal,
                    l.n);
    }
    struct kp_delete_acls_resp resp = {.n_filter_results = (int32_t)n, .filter_results = fr};
    rc = BR_ENCODE(r, kp_delete_acls_resp_encode, &resp);
out:
    free(m);
    list_free(&l);
    free(fr);
    free(ok);
    free(map);
    return rc < 0 ? rc : BR_REPLY;
}
