/*
 * br_api_acl — DescribeAcls, CreateAcls, DeleteAcls (KIP-140) against the authorizer
 * (broker/sec/br_acl.h), and the authorization checks every handler makes (br_api.h:
 * br_allowed, br_allowed_any).
 *
 * As Kafka (KafkaApis, AclApis): DescribeAcls needs DESCRIBE on the cluster, CreateAcls and
 * DeleteAcls ALTER on it (CLUSTER_AUTHORIZATION_FAILED otherwise: in the response's error for
 * DescribeAcls, in every result for the other two); without an authorizer all three answer
 * SECURITY_DISABLED. A binding or filter Kafka refuses gets INVALID_REQUEST with Kafka's words.
 * The changes are durable before the answer (the authorizer writes its file, one fdatasync),
 * written on the admin thread so the loop never waits for the disk. In a cluster they go to
 * ZooKeeper instead (br_clu_acl_create / _delete: the admin thread waits for the cluster
 * thread), which every broker's authorizer follows; the answering broker's has them when the
 * answer goes. DeleteAcls takes its candidate patterns from the local set (which follows
 * ZooKeeper, as Kafka's cache) and matches its filters against what ZooKeeper holds for them.
 * Errors there: ZooKeeper unreachable (or a change notification not written yet)
 * REQUEST_TIMED_OUT, a name that cannot be a znode INVALID_REQUEST, past BR_ACL_MAX /
 * BR_ACL_BYTES_MAX or anything else UNKNOWN_SERVER_ERROR (per binding / per filter).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_api.h"
#include "br_auth.h"
#include "br_clu.h"
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
    if (!s->cache) { /* the first decision of this connection (none: decided uncached) */
        s->cache = malloc(sizeof(*s->cache));
        if (s->cache)
            br_authz_cache_init(s->cache);
    }
    *cache = s->cache;
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

int32_t br_authorized_ops(const struct br_ctx *x, const struct br_peer *peer, int8_t type,
                          const char *name, size_t len)
{
    /* Kafka's AclEntry.supportedOperations of each resource type */
    static const int8_t topic[] = {
        KP_ACL_OP_READ,   KP_ACL_OP_WRITE, KP_ACL_OP_CREATE,           KP_ACL_OP_DESCRIBE,
        KP_ACL_OP_DELETE, KP_ACL_OP_ALTER, KP_ACL_OP_DESCRIBE_CONFIGS, KP_ACL_OP_ALTER_CONFIGS};
    static const int8_t group[] = {KP_ACL_OP_READ, KP_ACL_OP_DESCRIBE, KP_ACL_OP_DELETE};
    static const int8_t cluster[] = {KP_ACL_OP_CREATE,           KP_ACL_OP_CLUSTER_ACTION,
                                     KP_ACL_OP_DESCRIBE_CONFIGS, KP_ACL_OP_ALTER_CONFIGS,
                                     KP_ACL_OP_IDEMPOTENT_WRITE, KP_ACL_OP_ALTER,
                                     KP_ACL_OP_DESCRIBE};
    static const int8_t txn[] = {KP_ACL_OP_DESCRIBE, KP_ACL_OP_WRITE};
    const int8_t *ops;
    size_t n;
    switch (type) {
    case KP_ACL_RESOURCE_TOPIC:
        ops = topic, n = sizeof topic;
        break;
    case KP_ACL_RESOURCE_GROUP:
        ops = group, n = sizeof group;
        break;
    case KP_ACL_RESOURCE_CLUSTER:
        ops = cluster, n = sizeof cluster;
        name = BR_ACL_CLUSTER, len = strlen(BR_ACL_CLUSTER);
        break;
    case KP_ACL_RESOURCE_TRANSACTIONAL_ID:
        ops = txn, n = sizeof txn;
        break;
    default:
        return 0;
    }
    struct br_authz *a = authz_of_ctx(x);
    struct br_authz_cache *cache = NULL;
    const struct br_authz_who *who = a ? who_of(peer, &cache) : NULL;
    int32_t bits = 0;
    for (size_t i = 0; i < n; i++)
        if (!a || br_authz_allowed(a, who, cache, type, name, len, ops[i]))
            bits |= (int32_t)1 << ops[i]; /* (unlogged: asking is not being refused) */
    return bits;
}

int32_t br_cluster_authorized_ops(const struct br_ctx *x, const struct br_peer *peer)
{
    return br_allowed_peer(x, peer, KP_ACL_RESOURCE_CLUSTER, BR_ACL_CLUSTER, strlen(BR_ACL_CLUSTER),
                           KP_ACL_OP_DESCRIBE)
               ? br_authorized_ops(x, peer, KP_ACL_RESOURCE_CLUSTER, NULL, 0)
               : 0;
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

/* ---- CreateAcls ---------------------------------------------------------------------------------
 *
 * The write (one file, one fdatasync) runs on the admin thread: the request's bindings are
 * copied into the response's scratch memory first (the request bytes do not outlive the
 * handler), and the answer is encoded back on the loop thread.
 */

/* Copies s into *at (advanced), NUL-terminated; the view of the copy. */
static struct kp_str copy_str(char **at, struct kp_str s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    char *c = *at;
    if (n)
        memcpy(c, s.ptr, n);
    c[n] = 0;
    *at += n + 1;
    return s.len < 0 ? (struct kp_str){NULL, -1} : (struct kp_str){c, (int32_t)n};
}

static size_t str_need(struct kp_str s) { return (size_t)(s.len > 0 ? s.len : 0) + 1; }

struct ca_job {
    struct br_job job; /* first: the job is the start of the scratch memory */
    size_t n;
    struct br_acl_binding *b;
    int *results;
    const char **why;
    int wrc;
    const struct br_peer *peer;
};

/* In a cluster: the valid bindings to ZooKeeper, their results back in place. */
static void ca_run_cluster(struct ca_job *cj, struct br_clu *clu, struct br_authz *authz)
{
    struct br_clu_acl *v = malloc((cj->n ? cj->n : 1) * sizeof(*v));
    int *res = malloc((cj->n ? cj->n : 1) * sizeof(*res));
    size_t *map = malloc((cj->n ? cj->n : 1) * sizeof(*map));
    size_t m = 0;
    cj->wrc = v && res && map ? 0 : -ENOMEM;
    for (size_t i = 0; i < cj->n && !cj->wrc; i++) {
        const struct br_acl_binding *b = &cj->b[i];
        cj->results[i] = br_acl_validate(b, &cj->why[i]);
        if (cj->results[i] == 0) { /* (valid: its strings are set, NUL-terminated copies) */
            v[m] =
                (struct br_clu_acl){b->resource_type, b->pattern_type,  b->operation, b->permission,
                                    b->name.ptr,      b->principal.ptr, b->host.ptr};
            map[m++] = i;
        }
    }
    /* the bounds every broker's authorizer holds (br_acl.h): checked before ZooKeeper is
     * written, so a CreateAcls past them is refused here rather than closing patterns on the
     * readers (as the single node's br_authz_create, -ENOSPC; conservative: bindings already
     * there count too) */
    size_t bytes = 0;
    for (size_t k = 0; k < m; k++)
        bytes += strlen(v[k].name) + strlen(v[k].principal) + strlen(v[k].host);
    if (!cj->wrc && m > 0 && !br_authz_room(authz, m, bytes)) {
        for (size_t k = 0; k < m; k++) {
            cj->results[map[k]] = -ENOSPC;
            cj->why[map[k]] = "Too many ACLs: the cluster holds at most 100000 bindings and 32 MiB "
                              "of names, principals and hosts";
        }
        m = 0;
    }
    if (!cj->wrc && m > 0)
        cj->wrc = br_clu_acl_create(clu, v, m, res);
    for (size_t k = 0; k < m && !cj->wrc; k++) {
        cj->results[map[k]] = res[k];
        if (res[k] == -EINVAL)
            cj->why[map[k]] = "The resource name cannot be a ZooKeeper node's name";
        else if (res[k] == -EBADMSG)
            cj->why[map[k]] = "The resource's ACL document in ZooKeeper cannot be read";
        else if (res[k] == -EAGAIN)
            cj->why[map[k]] = "ZooKeeper did not answer, or the change notification is not "
                              "written yet (the broker keeps trying): retry";
        else if (res[k] == -ENOSPC)
            cj->why[map[k]] = "Too many ACLs for the resource's document (1 MiB)";
        else if (res[k] < 0)
            cj->why[map[k]] = strerror(-res[k]);
    }
    free(v);
    free(res);
    free(map);
}

static void ca_run(struct br_job *j)
{
    struct ca_job *cj = (struct ca_job *)j;
    if (j->x->clu)
        ca_run_cluster(cj, j->x->clu, j->x->auth->authz);
    else
        cj->wrc = br_authz_create(j->x->auth->authz, cj->b, cj->n, cj->results, cj->why);
}

static void ca_done(struct br_job *j)
{
    struct ca_job *cj = (struct ca_job *)j;
    struct kp_acl_result *res = calloc(cj->n ? cj->n : 1, sizeof(*res));
    if (!res) {
        br_fail(j->x, j->r, "out of memory for a CreateAcls response");
        return;
    }
    for (size_t i = 0; i < cj->n; i++) {
        res[i] = (struct kp_acl_result){KP_ERR_NONE, kstr(NULL)};
        if (cj->wrc < 0)
            res[i] = (struct kp_acl_result){KP_ERR_UNKNOWN_SERVER_ERROR, kstr(strerror(-cj->wrc))};
        else if (cj->results[i] == -EINVAL)
            res[i] = (struct kp_acl_result){KP_ERR_INVALID_REQUEST, kstr(cj->why[i])};
        else if (cj->results[i] == -EAGAIN) /* (a cluster's ZooKeeper) */
            res[i] = (struct kp_acl_result){KP_ERR_REQUEST_TIMED_OUT, kstr(cj->why[i])};
        else if (cj->results[i] < 0)
            res[i] = (struct kp_acl_result){KP_ERR_UNKNOWN_SERVER_ERROR, kstr(cj->why[i])};
    }
    if (cj->wrc < 0)
        br_err("peer=%s: CreateAcls: %s", cj->peer->name, strerror(-cj->wrc));
    else
        br_info("peer=%s: %s created ACLs (%zu binding(s) asked)", cj->peer->name,
                cj->peer->principal, cj->n);
    struct kp_create_acls_resp resp = {.n_results = (int32_t)cj->n, .results = res};
    int rc = BR_ENCODE(j->r, kp_create_acls_resp_encode, &resp);
    free(res);
    if (rc < 0) {
        br_fail(j->x, j->r, "cannot encode a CreateAcls response");
        return;
    }
    br_ready(j->x, j->r);
}

static int create_acls_refused(struct br_resp *r, size_t n, int16_t err)
{
    struct kp_acl_result *res = calloc(n ? n : 1, sizeof(*res));
    if (!res)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        res[i] = (struct kp_acl_result){err, kstr(err == KP_ERR_SECURITY_DISABLED
                                                      ? "No Authorizer is configured on the broker"
                                                      : NULL)};
    struct kp_create_acls_resp resp = {.n_results = (int32_t)n, .results = res};
    int rc = BR_ENCODE(r, kp_create_acls_resp_encode, &resp);
    free(res);
    return rc < 0 ? rc : BR_REPLY;
}

int br_api_create_acls(struct br_req *q, struct br_resp *r)
{
    struct kp_create_acls_req req;
    int rc = BR_DECODE(q, kp_create_acls_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t n = req.n_creations > 0 ? (size_t)req.n_creations : 0;
    if (!authz_of(q))
        return create_acls_refused(r, n, KP_ERR_SECURITY_DISABLED);
    if (!br_allowed_cluster(q, KP_ACL_OP_ALTER))
        return create_acls_refused(r, n, KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    if (n == 0)
        return create_acls_refused(r, 0, KP_ERR_NONE);
    size_t strs = 0;
    for (size_t i = 0; i < n; i++)
        strs += str_need(req.creations[i].resource_name) + str_need(req.creations[i].principal) +
                str_need(req.creations[i].host);
    size_t need = br_align8(sizeof(struct ca_job)) + br_align8(n * sizeof(struct br_acl_binding)) +
                  br_align8(n * sizeof(int)) + br_align8(n * sizeof(const char *)) + strs;
    rc = br_resp_scratch(r, need);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct ca_job *cj = (struct ca_job *)m;
    memset(cj, 0, sizeof(*cj));
    m += br_align8(sizeof(*cj));
    cj->b = (struct br_acl_binding *)m;
    m += br_align8(n * sizeof(struct br_acl_binding));
    cj->results = (int *)m;
    m += br_align8(n * sizeof(int));
    cj->why = (const char **)m;
    m += br_align8(n * sizeof(const char *));
    char *sp = (char *)m;
    for (size_t i = 0; i < n; i++) {
        const struct kp_acl_creation *c = &req.creations[i];
        cj->b[i] = (struct br_acl_binding){c->resource_type,       copy_str(&sp, c->resource_name),
                                           c->pattern_type,        copy_str(&sp, c->principal),
                                           copy_str(&sp, c->host), c->operation,
                                           c->permission_type};
        cj->results[i] = 0;
        cj->why[i] = NULL;
    }
    cj->n = n;
    cj->peer = q->peer;
    cj->job.r = r;
    cj->job.run = ca_run;
    cj->job.done = ca_done;
    rc = br_admin(q->x, &cj->job);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- DeleteAcls (the write on the admin thread, as CreateAcls) ------------------------------ */

struct da_job {
    struct br_job job;        /* first */
    size_t n;                 /* filters in the request */
    struct kp_acl_filter *ok; /* the valid ones, strings copied */
    size_t nok;
    size_t *map;  /* ok index -> request index */
    int16_t *err; /* per request filter: INVALID_REQUEST, or 0 */
    const char **why;
    struct acl_list *l; /* what was deleted (malloc'd on the admin thread) */
    int wrc;
    const struct br_peer *peer;
};

static struct br_acl_binding binding_of_clu(const struct br_clu_acl *x)
{
    return (struct br_acl_binding){x->resource_type,   kstr(x->name), x->pattern_type,
                                   kstr(x->principal), kstr(x->host), x->operation,
                                   x->permission};
}

/* In a cluster (on the cluster thread): the first filter b matches, or -1. */
static int da_match(void *arg, const struct br_clu_acl *x)
{
    struct da_job *dj = arg;
    struct br_acl_binding b = binding_of_clu(x);
    for (size_t f = 0; f < dj->nok; f++)
        if (br_acl_filter_matches(&dj->ok[f], &b))
            return (int)f;
    return -1;
}

static void da_deleted(void *arg, int filter, const struct br_clu_acl *x)
{
    struct da_job *dj = arg;
    struct br_acl_binding b = binding_of_clu(x);
    collect(dj->l, (size_t)filter, &b);
}

/* The candidate patterns of a cluster's DeleteAcls: those of the local bindings a filter
 * matches (the local set follows ZooKeeper; Kafka's deleteAcls takes them from its cache). */
struct da_pats {
    struct br_clu_acl *v;
    size_t n, cap;
    bool oom;
};

static void da_pat(void *arg, size_t filter, const struct br_acl_binding *b)
{
    (void)filter;
    struct da_pats *p = arg;
    if (p->oom)
        return;
    if (p->n && p->v[p->n - 1].resource_type == b->resource_type &&
        p->v[p->n - 1].pattern_type == b->pattern_type &&
        strlen(p->v[p->n - 1].name) == (size_t)b->name.len &&
        memcmp(p->v[p->n - 1].name, b->name.ptr, (size_t)b->name.len) == 0)
        return; /* (describe's order: a pattern's bindings are together) */
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 16;
        struct br_clu_acl *v = realloc(p->v, nc * sizeof(*v));
        if (!v) {
            p->oom = true;
            return;
        }
        p->v = v;
        p->cap = nc;
    }
    char *name = strndup(b->name.ptr, (size_t)b->name.len);
    if (!name) {
        p->oom = true;
        return;
    }
    p->v[p->n++] = (struct br_clu_acl){b->resource_type, b->pattern_type, 0, 0, name, "", ""};
}

static int da_pat_cmp(const void *x, const void *y)
{
    const struct br_clu_acl *a = x, *b = y;
    if (a->resource_type != b->resource_type)
        return a->resource_type - b->resource_type;
    if (a->pattern_type != b->pattern_type)
        return a->pattern_type - b->pattern_type;
    return strcmp(a->name, b->name);
}

static int da_run_cluster(struct da_job *dj, struct br_clu *clu, struct br_authz *authz)
{
    struct da_pats p = {0};
    for (size_t f = 0; f < dj->nok; f++)
        br_authz_describe(authz, &dj->ok[f], da_pat, &p);
    int rc = -ENOMEM;
    if (!p.oom) {
        /* (several filters may name one pattern: each once) */
        if (p.n > 1)
            qsort(p.v, p.n, sizeof(*p.v), da_pat_cmp);
        size_t m = 0;
        for (size_t i = 0; i < p.n; i++) {
            if (m && da_pat_cmp(&p.v[m - 1], &p.v[i]) == 0)
                free((void *)p.v[i].name);
            else
                p.v[m++] = p.v[i];
        }
        p.n = m;
        rc = br_clu_acl_delete(clu, p.v, p.n, da_match, da_deleted, dj);
    }
    for (size_t i = 0; i < p.n; i++)
        free((void *)p.v[i].name);
    free(p.v);
    return rc;
}

static void da_run(struct br_job *j)
{
    struct da_job *dj = (struct da_job *)j;
    dj->l = calloc(1, sizeof(*dj->l));
    if (!dj->l) {
        dj->wrc = -ENOMEM;
        return;
    }
    if (j->x->clu)
        dj->wrc = da_run_cluster(dj, j->x->clu, j->x->auth->authz);
    else
        dj->wrc = br_authz_delete(j->x->auth->authz, dj->ok, dj->nok, collect, dj->l);
    if (dj->wrc == 0 && dj->l->oom)
        dj->wrc = -ENOMEM; /* deleted, but the answer cannot list them */
}

static void da_done(struct br_job *j)
{
    struct da_job *dj = (struct da_job *)j;
    struct acl_list empty = {0};
    struct acl_list *l = dj->l ? dj->l : &empty;
    struct kp_delete_acls_filter_result *fr = calloc(dj->n ? dj->n : 1, sizeof(*fr));
    struct kp_delete_acls_matching_acl *m = calloc(l->n ? l->n : 1, sizeof(*m));
    int rc = -ENOMEM;
    if (!fr || !m)
        goto out;
    for (size_t i = 0; i < dj->n; i++) {
        fr[i].error_code = dj->err[i];
        fr[i].error_message = kstr(dj->err[i] ? dj->why[i] : NULL);
    }
    size_t k = 0;
    for (size_t f = 0; f < dj->nok; f++) {
        struct kp_delete_acls_filter_result *x = &fr[dj->map[f]];
        if (dj->wrc < 0) {
            x->error_code =
                dj->wrc == -EAGAIN ? KP_ERR_REQUEST_TIMED_OUT : KP_ERR_UNKNOWN_SERVER_ERROR;
            x->error_message = kstr(strerror(-dj->wrc));
            continue;
        }
        x->matching_acls = &m[k];
        for (size_t i = 0; i < l->n; i++) {
            if (l->v[i].filter != f)
                continue;
            const struct br_acl_binding *b = &l->v[i].b;
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
    if (dj->wrc < 0)
        br_err("peer=%s: DeleteAcls: %s", dj->peer->name, strerror(-dj->wrc));
    else if (l->n)
        br_info("peer=%s: %s deleted %zu ACL binding(s)", dj->peer->name, dj->peer->principal,
                l->n);
    struct kp_delete_acls_resp resp = {.n_filter_results = (int32_t)dj->n, .filter_results = fr};
    rc = BR_ENCODE(j->r, kp_delete_acls_resp_encode, &resp);
out:
    free(fr);
    free(m);
    if (dj->l) {
        list_free(dj->l);
        free(dj->l);
        dj->l = NULL;
    }
    if (rc < 0) {
        br_fail(j->x, j->r, "cannot encode a DeleteAcls response");
        return;
    }
    br_ready(j->x, j->r);
}

static int delete_acls_refused(struct br_resp *r, size_t n, int16_t err)
{
    struct kp_delete_acls_filter_result *fr = calloc(n ? n : 1, sizeof(*fr));
    if (!fr)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        fr[i].error_code = err;
        fr[i].error_message = kstr(
            err == KP_ERR_SECURITY_DISABLED ? "No Authorizer is configured on the broker" : NULL);
    }
    struct kp_delete_acls_resp resp = {.n_filter_results = (int32_t)n, .filter_results = fr};
    int rc = BR_ENCODE(r, kp_delete_acls_resp_encode, &resp);
    free(fr);
    return rc < 0 ? rc : BR_REPLY;
}

int br_api_delete_acls(struct br_req *q, struct br_resp *r)
{
    struct kp_delete_acls_req req;
    int rc = BR_DECODE(q, kp_delete_acls_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t n = req.n_filters > 0 ? (size_t)req.n_filters : 0;
    if (!authz_of(q))
        return delete_acls_refused(r, n, KP_ERR_SECURITY_DISABLED);
    if (!br_allowed_cluster(q, KP_ACL_OP_ALTER))
        return delete_acls_refused(r, n, KP_ERR_CLUSTER_AUTHORIZATION_FAILED);
    size_t strs = 0;
    for (size_t i = 0; i < n; i++)
        strs += str_need(req.filters[i].resource_name) + str_need(req.filters[i].principal) +
                str_need(req.filters[i].host);
    size_t need = br_align8(sizeof(struct da_job)) + br_align8(n * sizeof(struct kp_acl_filter)) +
                  br_align8(n * sizeof(size_t)) + br_align8(n * sizeof(int16_t)) +
                  br_align8(n * sizeof(const char *)) + strs + 8;
    rc = br_resp_scratch(r, need);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct da_job *dj = (struct da_job *)m;
    memset(dj, 0, sizeof(*dj));
    m += br_align8(sizeof(*dj));
    dj->ok = (struct kp_acl_filter *)m;
    m += br_align8(n * sizeof(struct kp_acl_filter));
    dj->map = (size_t *)m;
    m += br_align8(n * sizeof(size_t));
    dj->err = (int16_t *)m;
    m += br_align8(n * sizeof(int16_t));
    dj->why = (const char **)m;
    m += br_align8(n * sizeof(const char *));
    char *sp = (char *)m;
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        dj->err[i] = 0;
        dj->why[i] = NULL;
        if (br_acl_filter_validate(&req.filters[i], &why) < 0) {
            dj->err[i] = KP_ERR_INVALID_REQUEST;
            dj->why[i] = why;
            continue;
        }
        struct kp_acl_filter f = req.filters[i];
        f.resource_name = copy_str(&sp, f.resource_name);
        f.principal = copy_str(&sp, f.principal);
        f.host = copy_str(&sp, f.host);
        dj->map[dj->nok] = i;
        dj->ok[dj->nok++] = f;
    }
    dj->n = n;
    dj->peer = q->peer;
    if (dj->nok == 0) { /* nothing to write: answered here */
        struct kp_delete_acls_filter_result *fr = calloc(n ? n : 1, sizeof(*fr));
        if (!fr)
            return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
            fr[i].error_code = dj->err[i];
            fr[i].error_message = kstr(dj->why[i]);
        }
        struct kp_delete_acls_resp resp = {.n_filter_results = (int32_t)n, .filter_results = fr};
        rc = BR_ENCODE(r, kp_delete_acls_resp_encode, &resp);
        free(fr);
        return rc < 0 ? rc : BR_REPLY;
    }
    dj->job.r = r;
    dj->job.run = da_run;
    dj->job.done = da_done;
    rc = br_admin(q->x, &dj->job);
    return rc < 0 ? rc : BR_REPLY;
}
