/*
 * br_api_quota — client quotas as the API layer applies them (KIP-13, KIP-124, KIP-219), and
 * DescribeClientQuotas / AlterClientQuotas (KIP-546) against broker/sec/br_quota.h.
 *
 * What is measured, as Kafka does:
 *   producer_byte_rate   the bytes of each Produce request (br_api_produce.c);
 *   consumer_byte_rate   the bytes of each Fetch response (br_api_fetch.c);
 *   request_percentage   the time each request kept the loop thread busy in its handler
 *                        (br_dispatch.c: br_quota_begin / br_quota_end).
 * A client over its quota gets the throttle time in its response's throttle_time_ms and its
 * connection is not read for that long (br_resp.throttle_ms; br_conn.c mutes it). Kafka answers
 * a throttled fetch empty; here the response goes out whole and the mute makes up for it over
 * the window (the rate is measured over the same samples, so the client's average stays at
 * its quota).
 *
 * The connection's (user, client id) binding lives in its session (br_auth.h): the user is
 * the principal's name, the client id the request header's; a new client id rebinds.
 * DescribeClientQuotas needs DESCRIBE_CONFIGS on the cluster, AlterClientQuotas ALTER_CONFIGS
 * (CLUSTER_AUTHORIZATION_FAILED).
 *
 * In a cluster (zookeeper.connect) AlterClientQuotas (not validate_only) writes each entity's
 * keys to its ZooKeeper document on the admin thread and answers once ZooKeeper took them
 * (REQUEST_TIMED_OUT: unreachable; UNKNOWN_SERVER_ERROR: another failure); the cluster thread
 * applies the document written here before that (br_clu_ents.h); every other broker applies them
 * from the change notification (br_usercfg.h, docs/cluster.md). DescribeClientQuotas answers this
 * broker's copy, which follows ZooKeeper.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "br_api.h"
#include "br_auth.h"
#include "br_log.h"
#include "br_usercfg.h"
#include "kp_msg_sec.h"

static struct br_auth_sess *sess_of(const struct br_ctx *x, const struct br_peer *peer)
{
    if (!x->auth || !x->auth->quotas || !peer->sess)
        return NULL;
    return peer->sess;
}

/* Binds the session's quota client to (principal's user, client id). */
static bool bind(struct br_ctx *x, struct br_auth_sess *s, struct kp_str client)
{
    size_t cl = client.len > 0 ? (size_t)client.len : 0;
    if (s->qc_bound && s->qc.client_len == cl &&
        (cl == 0 || memcmp(s->qc.client, client.ptr, cl) == 0))
        return true;
    if (s->qc_bound) {
        br_quota_client_release(x->auth->quotas, &s->qc);
        s->qc_bound = false;
    }
    const char *p = s->peer->principal;
    const char *user = strncmp(p, "User:", 5) == 0 ? p + 5 : p;
    s->qc_bound = br_quota_client_init(x->auth->quotas, &s->qc, user, strlen(user),
                                       cl ? client.ptr : "", cl) == 0;
    return s->qc_bound;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t br_quota_begin(struct br_req *q)
{
    struct br_auth_sess *s = sess_of(q->x, q->peer);
    if (!s || !bind(q->x, s, q->client_id))
        return 0;
    if (br_quota_bound(q->x->auth->quotas, &s->qc, BR_QUOTA_REQUEST) <= 0)
        return 0;
    return mono_ns();
}

int32_t br_quota_charge(struct br_ctx *x, const struct br_peer *peer, int type, double value)
{
    struct br_auth_sess *s = sess_of(x, peer);
    if (!s || !s->qc_bound)
        return 0;
    int64_t ms = br_quota_record(x->auth->quotas, &s->qc, (enum br_quota_type)type, value,
                                 x->ops->now_ms(x));
    return ms > INT32_MAX ? INT32_MAX : (int32_t)ms;
}

/* APIs whose response body starts with throttle_time_ms, from which version. */
static int16_t throttle_first_from(int16_t key)
{
    switch (key) {
    case KP_API_FETCH:
    case KP_API_FIND_COORDINATOR:
    case KP_API_HEARTBEAT:
    case KP_API_LEAVE_GROUP:
    case KP_API_SYNC_GROUP:
    case KP_API_DELETE_TOPICS:
        return 1;
    case KP_API_LIST_OFFSETS:
    case KP_API_JOIN_GROUP:
    case KP_API_CREATE_TOPICS:
        return 2;
    case KP_API_METADATA:
    case KP_API_OFFSET_COMMIT:
    case KP_API_OFFSET_FETCH:
        return 3;
    case KP_API_DESCRIBE_ACLS:
    case KP_API_CREATE_ACLS:
    case KP_API_DELETE_ACLS:
    case KP_API_DESCRIBE_CLIENT_QUOTAS:
    case KP_API_ALTER_CLIENT_QUOTAS:
        return 0;
    default:
        return INT16_MAX; /* Produce has it last (its handler sets it); ApiVersions after the keys
                           */
    }
}

void br_resp_throttle(struct br_resp *r, int32_t ms)
{
    if (ms <= 0)
        return;
    if (ms > r->throttle_ms)
        r->throttle_ms = ms;
    if (r->api_version < throttle_first_from(r->api_key))
        return;
    size_t at = 4 + kp_resp_hdr_size(r->api_key, r->api_version);
    if (r->cap < at + 4 || kp_wr_len(&r->wr) < at + 4)
        return;
    int32_t cur = (int32_t)kp_load_be32(r->buf + at);
    if (ms > cur) {
        r->buf[at] = (uint8_t)(ms >> 24);
        r->buf[at + 1] = (uint8_t)(ms >> 16);
        r->buf[at + 2] = (uint8_t)(ms >> 8);
        r->buf[at + 3] = (uint8_t)ms;
    }
}

void br_quota_end(struct br_req *q, struct br_resp *r, int64_t t0_ns, int rc)
{
    if (!t0_ns)
        return;
    int32_t ms =
        br_quota_charge(q->x, q->peer, BR_QUOTA_REQUEST, br_quota_request_value(mono_ns() - t0_ns));
    if (ms <= 0 || rc < 0)
        return;
    if (rc == BR_NO_REPLY || r->parked) {
        r->throttle_ms = ms > r->throttle_ms ? ms : r->throttle_ms; /* the mute only */
        return;
    }
    br_resp_throttle(r, ms);
}

/* ---- DescribeClientQuotas
 * ------------------------------------------------------------------------ */

struct dq_collect {
    struct kp_describe_client_quotas_entry *e;
    struct kp_quota_entity *ents;
    struct kp_quota_value *vals;
    size_t n, cap;
    char **names;
    size_t nn, capn;
    bool oom;
};

static struct kp_str keep(struct dq_collect *c, struct kp_str s)
{
    if (c->nn == c->capn) {
        size_t nc = c->capn ? c->capn * 2 : 32;
        char **p = realloc(c->names, nc * sizeof(*p));
        if (!p) {
            c->oom = true;
            return (struct kp_str){"", 0};
        }
        c->names = p;
        c->capn = nc;
    }
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    char *m = malloc(n + 1);
    if (!m) {
        c->oom = true;
        return (struct kp_str){"", 0};
    }
    if (n)
        memcpy(m, s.ptr, n);
    m[n] = 0;
    c->names[c->nn++] = m;
    return (struct kp_str){m, (int32_t)n};
}

static void dq_each(void *arg, const struct br_quota_entity *e, const double v[BR_QUOTA_NTYPES],
                    const bool has[BR_QUOTA_NTYPES])
{
    struct dq_collect *c = arg;
    if (c->oom)
        return;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        void *a = realloc(c->e, nc * sizeof(*c->e));
        void *b = a ? realloc(c->ents, nc * 2 * sizeof(*c->ents)) : NULL;
        void *d = b ? realloc(c->vals, nc * BR_QUOTA_NTYPES * sizeof(*c->vals)) : NULL;
        if (a)
            c->e = a;
        if (b)
            c->ents = b;
        if (!a || !b || !d) {
            c->oom = true;
            return;
        }
        c->vals = d;
        c->cap = nc;
    }
    size_t i = c->n++;
    struct kp_quota_entity *en = &c->ents[i * 2];
    int32_t ne = 0;
    if (e->user_kind != BR_QE_ABSENT)
        en[ne++] = (struct kp_quota_entity){
            kp_str_of("user"), e->user_kind == BR_QE_NAMED ? keep(c, e->user) : KP_STR_NULL};
    if (e->client_kind != BR_QE_ABSENT)
        en[ne++] = (struct kp_quota_entity){kp_str_of("client-id"), e->client_kind == BR_QE_NAMED
                                                                        ? keep(c, e->client)
                                                                        : KP_STR_NULL};
    struct kp_quota_value *vv = &c->vals[i * BR_QUOTA_NTYPES];
    int32_t nv = 0;
    for (int t = 0; t < BR_QUOTA_NTYPES; t++)
        if (has[t])
            vv[nv++] =
                (struct kp_quota_value){kp_str_of(br_quota_key((enum br_quota_type)t)), v[t]};
    c->e[i] = (struct kp_describe_client_quotas_entry){ne, NULL, nv, NULL};
}

int br_api_describe_client_quotas(struct br_req *q, struct br_resp *r)
{
    struct kp_describe_client_quotas_req req;
    int rc = BR_DECODE(q, kp_describe_client_quotas_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    struct kp_describe_client_quotas_resp resp = {.error_message = KP_STR_NULL, .n_entries = -1};
    struct dq_collect c = {0};
    struct br_quota_filter f;
    const char *why = NULL;
    if (!q->x->auth || !q->x->auth->quotas) {
        resp.error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
    } else if (!br_allowed_cluster(q, KP_ACL_OP_DESCRIBE_CONFIGS)) {
        resp.error_code = KP_ERR_CLUSTER_AUTHORIZATION_FAILED;
    } else if ((rc = br_quota_filter_from_wire(req.components, req.n_components, req.strict, &f,
                                               &why)) < 0) {
        resp.error_code = rc == -EOPNOTSUPP ? KP_ERR_UNSUPPORTED_VERSION : KP_ERR_INVALID_REQUEST;
        resp.error_message = kp_str_of(why ? why : "invalid filter");
    } else {
        br_quotas_describe(q->x->auth->quotas, &f, dq_each, &c);
        if (c.oom) {
            rc = -ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < c.n; i++) {
            c.e[i].entity = &c.ents[i * 2];
            c.e[i].values = &c.vals[i * BR_QUOTA_NTYPES];
        }
        resp.n_entries = (int32_t)c.n;
        resp.entries = c.e;
    }
    rc = BR_ENCODE(r, kp_describe_client_quotas_resp_encode, &resp);
out:
    for (size_t i = 0; i < c.nn; i++)
        free(c.names[i]);
    free(c.names);
    free(c.e);
    free(c.ents);
    free(c.vals);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- AlterClientQuotas
 * ---------------------------------------------------------------------------- */

/* In a cluster (zookeeper.connect): each valid entity's quota keys are changed in its
 * ZooKeeper document (/config/users/.., /config/clients/..: br_usercfg.h) on the admin thread,
 * which the cluster thread applies to the local quotas as it writes it; the response is encoded
 * once all are done. The job, the results, the entities and every name live in the response's
 * scratch memory (the request's frame is gone by then). */
struct aq_job {
    struct br_job job; /* first: the job is the start of the scratch memory */
    struct kp_alter_client_quotas_result *res;
    size_t n;
    struct br_quota_alter *al; /* the valid entities (result 0) and the refused ones */
    size_t na;
    size_t *idx; /* al[j]'s entry in res */
    const struct br_peer *peer;
    size_t written;
};

static void aq_run(struct br_job *j)
{
    struct aq_job *aj = (struct aq_job *)j;
    for (size_t k = 0; k < aj->na; k++) {
        struct br_quota_alter *a = &aj->al[k];
        struct kp_alter_client_quotas_result *x = &aj->res[aj->idx[k]];
        if (a->result < 0) {
            x->error_code = KP_ERR_INVALID_REQUEST;
            x->error_message = kp_str_of(a->why ? a->why : "invalid");
            continue;
        }
        /* (the cluster thread applies the document it wrote here: br_clu_ents.h) */
        int zrc = br_usercfg_quota_write(j->x->clu, a);
        if (zrc) {
            x->error_code = zrc == -EAGAIN ? KP_ERR_REQUEST_TIMED_OUT : KP_ERR_UNKNOWN_SERVER_ERROR;
            x->error_message = kp_str_of("cannot write the quotas to ZooKeeper");
        } else {
            aj->written++;
        }
    }
}

static void aq_done(struct br_job *j)
{
    struct aq_job *aj = (struct aq_job *)j;
    if (aj->written)
        br_info("peer=%s: %s altered client quotas of %zu entit%s (through ZooKeeper)",
                aj->peer->name, aj->peer->principal, aj->written, aj->written == 1 ? "y" : "ies");
    struct kp_alter_client_quotas_resp resp = {.n_entries = (int32_t)aj->n, .entries = aj->res};
    if (BR_ENCODE(j->r, kp_alter_client_quotas_resp_encode, &resp) < 0) {
        br_fail(j->x, j->r, "cannot encode an AlterClientQuotas response");
        return;
    }
    br_ready(j->x, j->r);
}

static struct kp_str copy_str(char **sp, struct kp_str s)
{
    if (s.len <= 0)
        return s; /* (null, or empty: never read) */
    memcpy(*sp, s.ptr, (size_t)s.len);
    (*sp)[s.len] = 0;
    struct kp_str out = {*sp, s.len};
    *sp += s.len + 1;
    return out;
}

static size_t str_room(struct kp_str s) { return s.len > 0 ? (size_t)s.len + 1 : 1; }

static int aq_submit(struct br_req *q, struct br_resp *r,
                     const struct kp_alter_client_quotas_result *res, size_t n,
                     const struct br_quota_alter *al, size_t na, const size_t *idx)
{
    size_t nent = 0, nops = 0, strs = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t ne = res[i].n_entity > 0 ? res[i].n_entity : 0;
        nent += (size_t)ne;
        for (int32_t k = 0; k < ne; k++)
            strs += str_room(res[i].entity[k].entity_type) + str_room(res[i].entity[k].entity_name);
    }
    for (size_t k = 0; k < na; k++) {
        nops += al[k].n_ops;
        strs += str_room(al[k].entity.user) + str_room(al[k].entity.client);
    }
    size_t need = br_align8(sizeof(struct aq_job)) + br_align8(n * sizeof(*res)) +
                  br_align8(nent * sizeof(struct kp_quota_entity)) + br_align8(na * sizeof(*al)) +
                  br_align8(nops * sizeof(struct br_quota_op)) + br_align8(na * sizeof(*idx)) +
                  strs + 8;
    int rc = br_resp_scratch(r, need);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct aq_job *aj = (struct aq_job *)m;
    memset(aj, 0, sizeof *aj);
    m += br_align8(sizeof *aj);
    aj->res = (struct kp_alter_client_quotas_result *)m;
    m += br_align8(n * sizeof(*res));
    struct kp_quota_entity *ents = (struct kp_quota_entity *)m;
    m += br_align8(nent * sizeof(struct kp_quota_entity));
    aj->al = (struct br_quota_alter *)m;
    m += br_align8(na * sizeof(*al));
    struct br_quota_op *ops = (struct br_quota_op *)m;
    m += br_align8(nops * sizeof(struct br_quota_op));
    aj->idx = (size_t *)m;
    m += br_align8(na * sizeof(*idx));
    char *sp = (char *)m;
    for (size_t i = 0; i < n; i++) {
        aj->res[i] = res[i];
        int32_t ne = res[i].n_entity > 0 ? res[i].n_entity : 0;
        for (int32_t k = 0; k < ne; k++)
            ents[k] = (struct kp_quota_entity){copy_str(&sp, res[i].entity[k].entity_type),
                                               copy_str(&sp, res[i].entity[k].entity_name)};
        aj->res[i].entity = ents;
        ents += ne;
    }
    for (size_t k = 0; k < na; k++) {
        aj->al[k] = al[k];
        aj->al[k].entity.user = copy_str(&sp, al[k].entity.user);
        aj->al[k].entity.client = copy_str(&sp, al[k].entity.client);
        memcpy(ops, al[k].ops, al[k].n_ops * sizeof *ops);
        aj->al[k].ops = ops;
        ops += al[k].n_ops;
        aj->idx[k] = idx[k];
    }
    aj->n = n;
    aj->na = na;
    aj->peer = q->peer;
    aj->job.r = r;
    aj->job.run = aq_run;
    aj->job.done = aq_done;
    rc = br_admin(q->x, &aj->job);
    return rc < 0 ? rc : BR_REPLY;
}

int br_api_alter_client_quotas(struct br_req *q, struct br_resp *r)
{
    struct kp_alter_client_quotas_req req;
    int rc = BR_DECODE(q, kp_alter_client_quotas_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t n = req.n_entries > 0 ? (size_t)req.n_entries : 0, nops = 0;
    for (size_t i = 0; i < n; i++)
        nops += req.entries[i].n_ops > 0 ? (size_t)req.entries[i].n_ops : 0;
    struct kp_alter_client_quotas_result *res = calloc(n ? n : 1, sizeof(*res));
    struct br_quota_alter *al = calloc(n ? n : 1, sizeof(*al));
    struct br_quota_op *ops = calloc(nops ? nops : 1, sizeof(*ops));
    size_t *idx = calloc(n ? n : 1, sizeof(*idx));
    if (!res || !al || !ops || !idx) {
        rc = -ENOMEM;
        goto out;
    }
    int16_t all = !q->x->auth || !q->x->auth->quotas ? KP_ERR_UNKNOWN_SERVER_ERROR
                  : !br_allowed_cluster(q, KP_ACL_OP_ALTER_CONFIGS)
                      ? KP_ERR_CLUSTER_AUTHORIZATION_FAILED
                      : KP_ERR_NONE;
    size_t na = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct kp_alter_client_quotas_entry *e = &req.entries[i];
        res[i] = (struct kp_alter_client_quotas_result){all, KP_STR_NULL, e->n_entity, e->entity};
        if (all)
            continue;
        const char *why = NULL;
        struct br_quota_alter *a = &al[na];
        rc = br_quota_entity_from_wire(e->entity, e->n_entity, &a->entity, &why);
        bool ok = rc == 0;
        size_t first = k;
        for (int32_t j = 0; ok && j < e->n_ops; j++) {
            enum br_quota_type t;
            const struct kp_quota_op *o = &e->ops[j];
            if (br_quota_key_parse(o->key.ptr, (size_t)(o->key.len > 0 ? o->key.len : 0), &t) < 0) {
                ok = false;
                rc = -EINVAL;
                why = "Unknown quota key";
                break;
            }
            ops[k++] = (struct br_quota_op){t, o->value, o->remove};
        }
        if (!ok) {
            k = first;
            res[i].error_code =
                rc == -EOPNOTSUPP ? KP_ERR_UNSUPPORTED_VERSION : KP_ERR_INVALID_REQUEST;
            res[i].error_message = kp_str_of(why ? why : "invalid entity");
            continue;
        }
        a->ops = &ops[first];
        a->n_ops = k - first;
        idx[na++] = i;
    }
    if (na && q->x->clu && !req.validate_only) {
        /* in a cluster: judged here, written to ZooKeeper and applied on the admin thread */
        (void)br_quotas_alter(q->x->auth->quotas, al, na, true);
        rc = aq_submit(q, r, res, n, al, na, idx);
        goto out;
    }
    if (na) {
        int wrc = br_quotas_alter(q->x->auth->quotas, al, na, req.validate_only);
        for (size_t j = 0; j < na; j++) {
            struct kp_alter_client_quotas_result *x = &res[idx[j]];
            if (wrc < 0) {
                x->error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
                x->error_message = kp_str_of(strerror(-wrc));
            } else if (al[j].result < 0) {
                x->error_code = KP_ERR_INVALID_REQUEST;
                x->error_message = kp_str_of(al[j].why ? al[j].why : "invalid");
            }
        }
        if (wrc == 0 && !req.validate_only)
            br_info("peer=%s: %s altered client quotas of %zu entit%s", q->peer->name,
                    q->peer->principal, na, na == 1 ? "y" : "ies");
    }
    struct kp_alter_client_quotas_resp resp = {.n_entries = (int32_t)n, .entries = res};
    rc = BR_ENCODE(r, kp_alter_client_quotas_resp_encode, &resp);
out:
    free(res);
    free(al);
    free(ops);
    free(idx);
    return rc < 0 ? rc : BR_REPLY;
}
