/*
 * sl_admin.c — the admin handle (splicelog.h, "admin"): one synchronous call per Kafka admin
 * API, over the client's connections (sl__client), each message encoded and decoded with
 * proto's kp_msg codecs.
 *
 * A call: pick the connection (any broker, a given node, or a group's coordinator), wait until
 * it is up and its ApiVersions answer is in (sl__conn_version then picks the version: the
 * highest both speak, within the range this file handles), send one request, drive I/O until
 * its answer, copy the response body out of the connection's buffer, decode it into the
 * client's arena, and build the public results in the handle's pool. The pool is emptied at
 * the start of every call, which is what "valid until the next call" means. A request whose
 * caller stopped waiting (timeout) keeps its context until the request completes, then frees it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_consumer.h"
#include "kp_msg_cluster.h"
#include "kp_msg_config.h"
#include "kp_msg_groups_admin.h"
#include "sl_int.h"

/* The highest version this file handles per API (the codec may go further: e.g. OffsetFetch v8
 * and FindCoordinator v4 batch groups, DeleteTopics v6 names topics by id). */
#define V_MAX_CREATE_TOPICS     7
#define V_MAX_DELETE_TOPICS     5
#define V_MAX_CREATE_PARTITIONS 3
#define V_MAX_DESCRIBE_CONFIGS  4
#define V_MAX_ALTER_CONFIGS     2
#define V_MAX_INCREMENTAL_ALTER 1
#define V_MAX_FIND_COORDINATOR  3
#define V_MAX_LIST_GROUPS       4
#define V_MAX_DESCRIBE_GROUPS   5
#define V_MAX_DELETE_GROUPS     2
#define V_MAX_OFFSET_FETCH      7
#define V_MAX_OFFSET_COMMIT     8
#define V_MAX_LIST_OFFSETS      7
#define V_MAX_DESCRIBE_CLUSTER  1
#define V_MAX_DESCRIBE_LOG_DIRS 4

/* ---- the result pool ------------------------------------------------------------------------- */

struct pool_block {
    struct pool_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char mem[];
};

struct sl_admin {
    struct sl__client cl;
    struct pool_block *pool;
    bool pool_failed; /* an allocation failed since the last reset */
};

static void pool_reset(sl_admin *a)
{
    while (a->pool) {
        struct pool_block *b = a->pool;
        a->pool = b->next;
        free(b);
    }
    a->pool_failed = false;
}

/* n zeroed bytes, 16-aligned, owned by the pool; NULL (and pool_failed) when out of memory. */
static void *pool_alloc(sl_admin *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    struct pool_block *b = a->pool;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 64 * 1024 ? n : 64 * 1024;
        b = malloc(sizeof(*b) + cap);
        if (!b) {
            a->pool_failed = true;
            return NULL;
        }
        b->used = 0;
        b->cap = cap;
        b->next = a->pool;
        a->pool = b;
    }
    void *p = b->mem + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

/* A NUL-terminated copy of s in the pool ("" for an empty or null one, NULL with null_ok). */
static const char *pool_str(sl_admin *a, struct kp_str s, bool null_ok)
{
    if (s.len < 0 || !s.ptr)
        return null_ok ? NULL : "";
    char *p = pool_alloc(a, (size_t)s.len + 1);
    if (!p)
        return "";
    memcpy(p, s.ptr, (size_t)s.len);
    p[s.len] = 0;
    return p;
}

static const char *pool_cstr(sl_admin *a, const char *s)
{
    return pool_str(a, s ? kp_str_of(s) : KP_STR_NULL, false);
}

/* ---- the handle ------------------------------------------------------------------------------ */

static void admin_turn(struct sl__client *cl, int timeout_ms) { sl__client_io(cl, timeout_ms); }

sl_admin *sl_admin_new(sl_conf *conf, char *errstr, size_t errstr_size)
{
    if (!conf) {
        sl__errstr(errstr, errstr_size, "conf must not be NULL");
        return NULL;
    }
    sl_admin *a = calloc(1, sizeof(*a));
    if (!a) {
        sl_conf_free(conf);
        sl__errstr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (conf->allow_auto_create < 0)
        conf->allow_auto_create = 0; /* an admin never creates topics by asking about them */
    if (sl__client_init(&a->cl, conf, false, errstr, errstr_size) != 0) {
        sl__client_destroy(&a->cl); /* frees conf */
        free(a);
        return NULL;
    }
    a->cl.turn = admin_turn;
    a->cl.owner = a;
    return a;
}

void sl_admin_free(sl_admin *a)
{
    if (!a)
        return;
    sl__client_destroy(&a->cl); /* completes (fails) every request still out */
    pool_reset(a);
    free(a);
}

static int64_t deadline_of(const sl_admin *a, int timeout_ms)
{
    return sl__now_ms() + (timeout_ms < 0 ? a->cl.conf->request_timeout_ms : timeout_ms);
}

/* ---- connections ------------------------------------------------------------------------------
 */

/*
 * Waits until c is up with its ApiVersions answer in (connecting it if needed). 0, -ETIMEDOUT, or
 * the connection's failure when it failed and the deadline left no time to retry.
 */
static int conn_ready(sl_admin *a, struct sl__conn *c, int64_t deadline)
{
    for (;;) {
        if (c->state == SL__CONN_UP && c->versions_known)
            return 0;
        if (c->state == SL__CONN_DOWN) {
            int err = sl__conn_ensure(c);
            if (err && err != -EAGAIN && sl__now_ms() + 50 >= deadline)
                return err;
        }
        int64_t left = deadline - sl__now_ms();
        if (left <= 0)
            return a->cl.conn_fail ? a->cl.conn_fail : -ETIMEDOUT;
        sl__client_io(&a->cl, (int)(left < 50 ? left : 50));
    }
}

/* Any broker's connection, ready. */
static int any_ready(sl_admin *a, int64_t deadline, struct sl__conn **out)
{
    for (;;) {
        for (int i = 0; i < a->cl.n_conns; i++) {
            struct sl__conn *c = a->cl.conns[i];
            if (c->state == SL__CONN_UP && c->versions_known && c->node_id != -2) {
                *out = c;
                return 0;
            }
        }
        (void)sl__any_conn(&a->cl); /* starts connecting (round robin over the brokers) */
        int64_t left = deadline - sl__now_ms();
        if (left <= 0)
            return a->cl.conn_fail ? a->cl.conn_fail : -ETIMEDOUT;
        sl__client_io(&a->cl, (int)(left < 50 ? left : 50));
    }
}

/* The connection of broker node at host:port: a bootstrap entry with that address is taken over
 * for it, as the client's metadata handling does. NULL when out of memory. */
static struct sl__conn *node_conn(sl_admin *a, int32_t node, const char *host, int port)
{
    struct sl__conn *c = sl__conn_for_node(&a->cl, node);
    if (c && c->port == port && strcmp(c->host, host) == 0)
        return c;
    for (int i = 0; i < a->cl.n_conns; i++) {
        c = a->cl.conns[i];
        if (c->node_id == -1 && c->port == port && strcmp(c->host, host) == 0) {
            c->node_id = node;
            return c;
        }
    }
    return sl__client_conn(&a->cl, host, port, node);
}

/* ---- one request ------------------------------------------------------------------------------
 */

struct call {
    bool done;
    bool abandoned;
    int err;       /* transport failure, -errno */
    uint8_t *body; /* the response body (after the header), malloc'd */
    size_t len;
};

static void call_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    (void)cl;
    struct call *c = req->ctx;
    if (c->abandoned) {
        free(c);
        return;
    }
    c->done = true;
    if (err || !f) {
        c->err = err ? err : -EBADMSG;
        return;
    }
    c->body = malloc(f->len ? f->len : 1);
    if (!c->body) {
        c->err = -ENOMEM;
        return;
    }
    memcpy(c->body, f->body, f->len);
    c->len = f->len;
}

static void call_free(struct call *c)
{
    if (!c)
        return;
    free(c->body);
    free(c);
}

struct venc {
    int16_t v;
    const void *msg;
};

#define ENCODER(stem)                                                                              \
    static int enc_##stem(struct kp_wr *wr, const void *m)                                         \
    {                                                                                              \
        const struct venc *e = m;                                                                  \
        return kp_##stem##_req_encode(wr, e->v, e->msg);                                           \
    }
ENCODER(create_topics)
ENCODER(delete_topics)
ENCODER(create_partitions)
ENCODER(describe_configs)
ENCODER(alter_configs)
ENCODER(incremental_alter_configs)
ENCODER(find_coordinator)
ENCODER(list_groups)
ENCODER(describe_groups)
ENCODER(delete_groups)
ENCODER(offset_fetch)
ENCODER(offset_commit)
ENCODER(list_offsets)
ENCODER(describe_cluster)
ENCODER(describe_log_dirs)

/*
 * Sends msg as api_key version v on conn (ready) and waits for the answer: 0 with *out holding
 * the body (call_free it), or -errno (-ETIMEDOUT: the request stays out and cleans up after
 * itself).
 */
static int roundtrip(sl_admin *a, struct sl__conn *conn, int16_t api_key, int16_t v,
                     int (*enc)(struct kp_wr *, const void *), const void *msg, size_t guess,
                     int64_t deadline, struct call **out)
{
    *out = NULL;
    struct call *c = calloc(1, sizeof(*c));
    struct sl__req *r = c ? sl__req_get(&a->cl) : NULL;
    if (!r) {
        free(c);
        return -ENOMEM;
    }
    struct venc e = {v, msg};
    int err = sl__req_begin(&a->cl, r, api_key, v);
    if (!err)
        err = sl__req_body(r, guess, enc, &e);
    if (!err)
        err = sl__req_end(r);
    if (err) {
        sl__req_put(&a->cl, r);
        free(c);
        return err;
    }
    r->cb = call_cb;
    r->ctx = c;
    int64_t left = deadline - sl__now_ms();
    r->timeout_ms = left > 0 ? (int)left : 1;
    sl__conn_enqueue(conn, r);
    sl__conn_flush(conn);
    while (!c->done) {
        left = deadline - sl__now_ms();
        if (left <= 0) {
            c->abandoned = true;
            return -ETIMEDOUT;
        }
        sl__client_io(&a->cl, (int)(left < 100 ? left : 100));
    }
    if (c->err) {
        err = c->err;
        call_free(c);
        return err;
    }
    *out = c;
    return 0;
}

/* A reader over a call's body and the arena to decode it into. */
static struct kp_arena *decode_setup(sl_admin *a, const struct call *c, struct kp_rd *rd)
{
    kp_rd_init(rd, c->body, c->len);
    return sl__arena(&a->cl, c->len);
}

#define DECODE(a, c, stem, v, out)                                                                 \
    ({                                                                                             \
        struct kp_rd rd_;                                                                          \
        struct kp_arena *ar_ = decode_setup((a), (c), &rd_);                                       \
        ar_ ? (kp_##stem##_resp_decode(&rd_, (v), ar_, (out)) == 0 ? 0 : -EBADMSG) : -ENOMEM;      \
    })

static sl_err from_errno(int err) { return sl__err_from_errno(err); }

/* The version of api_key to speak on c within [vmin, vmax], or -1 (not offered). */
#define VERSION(c, id, vmax_mine)                                                                  \
    sl__conn_version(                                                                              \
        (c), KP_API_##id, KP_API_##id##_CODEC_VMIN > 0 ? KP_API_##id##_CODEC_VMIN : 0,             \
        (vmax_mine) < KP_API_##id##_CODEC_VMAX ? (vmax_mine) : KP_API_##id##_CODEC_VMAX)

/* ---- topics ------------------------------------------------------------------------------------
 */

/* results[i] for names[i], filled from the answers (name, error, message); a name the broker
 * did not answer for gets SL_ERR__BAD_MSG. */
static sl_admin_result *results_new(sl_admin *a, const char *const *names, size_t n)
{
    sl_admin_result *r = pool_alloc(a, (n ? n : 1) * sizeof(*r));
    if (!r)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        r[i].name = pool_cstr(a, names[i]);
        r[i].err = SL_ERR__BAD_MSG;
        r[i].errmsg = "";
    }
    return r;
}

static void result_set(sl_admin *a, sl_admin_result *r, size_t n, struct kp_str name, int16_t ec,
                       struct kp_str msg)
{
    for (size_t i = 0; i < n; i++) {
        if (r[i].err == SL_ERR__BAD_MSG && kp_str_eq(name, r[i].name)) {
            r[i].err = (sl_err)ec;
            r[i].errmsg = pool_str(a, msg, false);
            return;
        }
    }
}

static bool names_ok(const char *const *names, size_t n)
{
    if (n > 100000)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!names[i] || !*names[i] || strlen(names[i]) > 32767)
            return false;
    return true;
}

sl_err sl_admin_create_topics(sl_admin *a, const sl_new_topic *topics, size_t n, int validate_only,
                              int timeout_ms, const sl_admin_result **results)
{
    if (!a || !results || (n && !topics) || n > 100000)
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    *results = NULL;
    int64_t deadline = deadline_of(a, timeout_ms);
    const char **names = pool_alloc(a, (n + 1) * sizeof(*names));
    struct kp_create_topics_topic *ts = pool_alloc(a, (n + 1) * sizeof(*ts));
    if (!names || !ts)
        return SL_ERR__NO_MEMORY;
    size_t guess = 64;
    for (size_t i = 0; i < n; i++) {
        names[i] = topics[i].topic;
        if (topics[i].config_cnt > 10000 || (topics[i].config_cnt && !topics[i].configs))
            return SL_ERR__INVALID_ARG;
        struct kp_create_topics_config *cs =
            pool_alloc(a, (topics[i].config_cnt + 1) * sizeof(*cs));
        if (!cs)
            return SL_ERR__NO_MEMORY;
        for (size_t k = 0; k < topics[i].config_cnt; k++) {
            if (!topics[i].configs[k].name)
                return SL_ERR__INVALID_ARG;
            cs[k].name = kp_str_of(topics[i].configs[k].name);
            cs[k].value =
                topics[i].configs[k].value ? kp_str_of(topics[i].configs[k].value) : KP_STR_NULL;
            guess += 8 + strlen(topics[i].configs[k].name) +
                     (topics[i].configs[k].value ? strlen(topics[i].configs[k].value) : 0);
        }
        ts[i] = (struct kp_create_topics_topic){
            .name = topics[i].topic ? kp_str_of(topics[i].topic) : KP_STR_NULL,
            .num_partitions = topics[i].partitions,
            .replication_factor = topics[i].replication_factor,
            .n_configs = (int32_t)topics[i].config_cnt,
            .configs = cs,
        };
        guess += 32 + (topics[i].topic ? strlen(topics[i].topic) : 0);
    }
    if (!names_ok(names, n))
        return SL_ERR__INVALID_ARG;
    sl_admin_result *res = results_new(a, names, n);
    struct sl__conn *conn;
    int err = res ? any_ready(a, deadline, &conn) : -ENOMEM;
    if (err)
        return from_errno(err);
    int v = VERSION(conn, CREATE_TOPICS, V_MAX_CREATE_TOPICS);
    if (v < 0)
        return SL_ERR__UNSUPPORTED_FEATURE;
    int64_t left = deadline - sl__now_ms();
    struct kp_create_topics_req req = {(int32_t)n, ts, (int32_t)(left > 0 ? left : 0),
                                       validate_only != 0};
    struct call *c;
    err = roundtrip(a, conn, KP_API_CREATE_TOPICS, (int16_t)v, enc_create_topics, &req, guess,
                    deadline, &c);
    if (err)
        return from_errno(err);
    struct kp_create_topics_resp resp;
    err = DECODE(a, c, create_topics, (int16_t)v, &resp);
    if (!err)
        for (int32_t i = 0; i < resp.n_topics; i++)
            result_set(a, res, n, resp.topics[i].name, resp.topics[i].error_code,
                       resp.topics[i].error_message);
    call_free(c);
    if (err)
        return from_errno(err);
    *results = res;
    return a->pool_failed ? SL_ERR__NO_MEMORY : SL_ERR_NO_ERROR;
}

sl_err sl_admin_delete_topics(sl_admin *a, const char *const *topics, size_t n, int timeout_ms,
                              const sl_admin_result **results)
{
    if (!a || !results || (n && !topics) || !names_ok(topics, n))
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    *results = NULL;
    int64_t deadline = deadline_of(a, timeout_ms);
    struct kp_str *ns = pool_alloc(a, (n + 1) * sizeof(*ns));
    sl_admin_result *res = results_new(a, topics, n);
    if (!ns || !res)
        return SL_ERR__NO_MEMORY;
    size_t guess = 32;
    for (size_t i = 0; i < n; i++) {
        ns[i] = kp_str_of(topics[i]);
        guess += 4 + strlen(topics[i]);
    }
    struct sl__conn *conn;
    int err = any_ready(a, deadline, &conn);
    if (err)
        return from_errno(err);
    int v = VERSION(conn, DELETE_TOPICS, V_MAX_DELETE_TOPICS);
    if (v < 0)
        return SL_ERR__UNSUPPORTED_FEATURE;
    int64_t left = deadline - sl__now_ms();
    struct kp_delete_topics_req req = {
        .n_topics = (int32_t)n, .topic_names = ns, .timeout_ms = (int32_t)(left > 0 ? left : 0)};
    struct call *c;
    err = roundtrip(a, conn, KP_API_DELETE_TOPICS, (int16_t)v, enc_delete_topics, &req, guess,
                    deadline, &c);
    if (err)
        return from_errno(err);
    struct kp_delete_topics_resp resp;
    err = DECODE(a, c, delete_topics, (int16_t)v, &resp);
    if (!err)
        for (int32_t i = 0; i < resp.n_results; i++)
            result_set(a, res, n, resp.results[i].name, resp.results[i].error_code,
                       resp.results[i].error_message);
    call_free(c);
    if (err)
        return from_errno(err);
    *results = res;
    return a->pool_failed ? SL_ERR__NO_MEMORY : SL_ERR_NO_ERROR;
}

sl_err sl_admin_create_partitions(sl_admin *a, const sl_new_partitions *parts, size_t n,
                                  int validate_only, int timeout_ms,
                                  const sl_admin_result **results)
{
    if (!a || !results || (n && !parts) || n > 100000)
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    *results = NULL;
    int64_t deadline = deadline_of(a, timeout_ms);
    const char **names = pool_alloc(a, (n + 1) * sizeof(*names));
    struct kp_create_partitions_topic *ts = pool_alloc(a, (n + 1) * sizeof(*ts));
    if (!names || !ts)
        return SL_ERR__NO_MEMORY;
    size_t guess = 32;
    for (size_t i = 0; i < n; i++) {
        names[i] = parts[i].topic;
        if (parts[i].topic)
            guess += 16 + strlen(parts[i].topic);
    }
    if (!names_ok(names, n))
        return SL_ERR__INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        ts[i] = (struct kp_create_partitions_topic){kp_str_of(parts[i].topic), parts[i].total, -1,
                                                    NULL};
    sl_admin_result *res = results_new(a, names, n);
    struct sl__conn *conn;
    int err = res ? any_ready(a, deadline, &conn) : -ENOMEM;
    if (err)
        return from_errno(err);
    int v = VERSION(conn, CREATE_PARTITIONS, V_MAX_CREATE_PARTITIONS);
    if (v < 0)
        return SL_ERR__UNSUPPORTED_FEATURE;
    int64_t left = deadline - sl__now_ms();
    struct kp_create_partitions_req req = {(int32_t)n, ts, (int32_t)(left > 0 ? left : 0),
                                           validate_only != 0};
    struct call *c;
    err = roundtrip(a, conn, KP_API_CREATE_PARTITIONS, (int16_t)v, enc_create_partitions, &req,
                    guess, deadline, &c);
    if (err)
        return from_errno(err);
    struct kp_create_partitions_resp resp;
    err = DECODE(a, c, create_partitions, (int16_t)v, &resp);
    if (!err)
        for (int32_t i = 0; i < resp.n_results; i++)
            result_set(a, res, n, resp.results[i].name, resp.results[i].error_code,
                       resp.results[i].error_message);
    call_free(c);
    if (err)
        return from_errno(err);
    *results = res;
    return a->pool_failed ? SL_ERR__NO_MEMORY : SL_ERR_NO_ERROR;
}

/* ---- configs -----------------------------------------------------------------------------------
 */

const char *sl_config_source_name(int source)
{
    static const char *const names[] = {
        "UNKNOWN",       "DYNAMIC_TOPIC", "DYNAMIC_BROKER",        "DYNAMIC_DEFAULT_BROKER",
        "STATIC_BROKER", "DEFAULT",       "DYNAMIC_BROKER_LOGGER",
    };
    return source >= 0 && source < (int)(sizeof(names) / sizeof(names[0])) ? names[source]
                                                                           : "UNKNOWN";
}

/*
 * The connection for a config resource: a broker resource goes to that broker (its id from the
 * cluster's metadata), a topic to any broker.
 */
static int resource_conn(sl_admin *a, int type, const char *name, int64_t deadline,
                         struct sl__conn **out)
{
    if (type != SL_RESOURCE_BROKER || !*name)
        return any_ready(a, deadline, out);
    char *end;
    long id = strtol(name, &end, 10);
    if (*end || id < 0 || id > INT32_MAX)
        return -EINVAL;
    sl_metadata *md;
    int64_t left = deadline - sl__now_ms();
    sl_err e = sl__metadata_query(&a->cl, NULL, left > 0 ? (int)left : 0, &md);
    if (e)
        return e == SL_ERR__TIMED_OUT ? -ETIMEDOUT : -EIO;
    struct sl__conn *c = NULL;
    for (int32_t i = 0; i < md->broker_cnt; i++)
        if (md->brokers[i].id == id)
            c = node_conn(a, (int32_t)id, md->brokers[i].host, md->brokers[i].port);
    bool found = false;
    for (int32_t i = 0; i < md->broker_cnt; i++)
        found |= md->brokers[i].id == id;
    sl_metadata_free(md);
    if (!found)
        return -ENOENT;
    if (!c)
        return -ENOMEM;
    *out = c;
    return conn_ready(a, c, deadline);
}

static sl_err resource_args(int type, const char *name)
{
    if ((type != SL_RESOURCE_TOPIC && type != SL_RESOURCE_BROKER) || !name ||
        (type == SL_RESOURCE_TOPIC && !*name) || strlen(name) > 32767)
        return SL_ERR__INVALID_ARG;
    return SL_ERR_NO_ERROR;
}

static sl_err resource_err(int err)
{
    if (err == -ENOENT)
        return SL_ERR_BROKER_NOT_AVAILABLE;
    return from_errno(err);
}

sl_err sl_admin_describe_configs(sl_admin *a, int type, const char *name, const char *const *keys,
                                 size_t nkeys, int timeout_ms, const sl_config_resource **out)
{
    if (!a || !out || resource_args(type, name) || (nkeys && !names_ok(keys, nkeys)))
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    *out = NULL;
    int64_t deadline = deadline_of(a, timeout_ms);
    struct kp_str *ks = pool_alloc(a, (nkeys + 1) * sizeof(*ks));
    if (!ks)
        return SL_ERR__NO_MEMORY;
    size_t guess = 64 + strlen(name);
    for (size_t i = 0; i < nkeys; i++) {
        ks[i] = kp_str_of(keys[i]);
        guess += 4 + strlen(keys[i]);
    }
    struct sl__conn *conn;
    int err = resource_conn(a, type, name, deadline, &conn);
    if (err)
        return resource_err(err);
    int v = VERSION(conn, DESCRIBE_CONFIGS, V_MAX_DESCRIBE_CONFIGS);
    if (v < 0)
        return SL_ERR__UNSUPPORTED_FEATURE;
    struct kp_describe_configs_resource rsrc = {(int8_t)type, kp_str_of(name),
                                                nkeys ? (int32_t)nkeys : -1, nkeys ? ks : NULL};
    struct kp_describe_configs_req req = {1, &rsrc, false, false};
    struct call *c;
    err = roundtrip(a, conn, KP_API_DESCRIBE_CONFIGS, (int16_t)v, enc_describe_configs, &req, guess,
                    deadline, &c);
    if (err)
        return from_errno(err);
    struct kp_describe_configs_resp resp;
    err = DECODE(a, c, describe_configs, (int16_t)v, &resp);
    sl_config_resource *r = pool_alloc(a, sizeof(*r));
    if (!err && !r)
        err = -ENOMEM;
    if (!err) {
        r->type = type;
        r->name = pool_cstr(a, name);
        r->err = SL_ERR__BAD_MSG;
        r->errmsg = "";
        for (int32_t i = 0; i < resp.n_results; i++) {
            const struct kp_describe_configs_result *x = &resp.results[i];
            if (x->resource_type != type || !kp_str_eq(x->resource_name, name))
                continue;
            r->err = (sl_err)x->error_code;
            r->errmsg = pool_str(a, x->error_message, false);
            sl_config_entry *es = pool_alloc(a, ((size_t)x->n_configs + 1) * sizeof(*es));
            if (!es)
                break;
            for (int32_t k = 0; k < x->n_configs; k++) {
                const struct kp_describe_configs_entry *y = &x->configs[k];
                es[k].name = pool_str(a, y->name, false);
                es[k].value = pool_str(a, y->value, true);
                es[k].read_only = y->read_only;
                es[k].is_sensitive = y->is_sensitive;
                if (v == 0) {
                    es[k].is_default = y->is_default;
                    es[k].source = y->is_default ? 5 : 0;
                } else {
                    es[k].source = y->config_source >= 0 ? y->config_source : 0;
                    es[k].is_default = y->config_source == KP_CONFIG_SOURCE_DEFAULT;
                }
            }
            r->entries = es;
            r->entry_cnt = (size_t)x->n_configs;
            break;
        }
    }
    call_free(c);
    if (err)
        return from_errno(err);
    *out = r;
    return a->pool_failed ? SL_ERR__NO_MEMORY : SL_ERR_NO_ERROR;
}

/* The one result of an (Incremental)AlterConfigs answer for (type, name). */
static sl_err alter_result(sl_admin *a, const struct kp_alter_configs_result *rs, int32_t n,
                           int type, const char *name, const char **errmsg)
{
    for (int32_t i = 0; i < n; i++) {
        if (rs[i].resource_type != type || !kp_str_eq(rs[i].resource_name, name))
            continue;
        if (errmsg)
            *errmsg = pool_str(a, rs[i].error_message, false);
        return (sl_err)rs[i].error_code;
    }
    return SL_ERR__BAD_MSG;
}

sl_err sl_admin_incremental_alter_configs(sl_admin *a, int type, const char *name,
                                          const sl_config_op *ops, size_t n, int validate_only,
                                          int timeout_ms, const char **errmsg)
{
    if (!a || resource_args(type, name) || (n && !ops) || n > 10000)
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    if (errmsg)
        *errmsg = "";
    int64_t deadline = deadline_of(a, timeout_ms);
    struct kp_incremental_alter_configs_config *cs = pool_alloc(a, (n + 1) * sizeof(*cs));
    if (!cs)
        return SL_ERR__NO_MEMORY;
    size_t guess = 64 + strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (!ops[i].name || ops[i].op < 0 || ops[i].op > 3)
            return SL_ERR__INVALID_ARG;
        cs[i] = (struct kp_incremental_alter_configs_config){
            kp_str_of(ops[i].name), (int8_t)ops[i].op,
            ops[i].value ? kp_str_of(ops[i].value) : KP_STR_NULL};
        guess += 8 + strlen(ops[i].name) + (ops[i].value ? strlen(ops[i].value) : 0);
    }
    struct sl__conn *conn;
    int err = resource_conn(a, type, name, deadline, &conn);
    if (err)
        return resource_err(err);
    int v = VERSION(conn, INCREMENTAL_ALTER_CONFIGS, V_MAX_INCREMENTAL_ALTER);
    if (v < 0)
        return SL_ERR__UNSUPPORTED_FEATURE;
    struct kp_incremental_alter_configs_resource rsrc = {(int8_t)type, kp_str_of(name), (int32_t)n,
                                                         cs};
    struct kp_incremental_alter_configs_req req = {1, &rsrc, validate_only != 0};
    struct call *c;
    err = roundtrip(a, conn, KP_API_INCREMENTAL_ALTER_CONFIGS, (int16_t)v,
                    enc_incremental_alter_configs, &req, guess, deadline, &c);
    if (err)
        return from_errno(err);
    struct kp_incremental_alter_configs_resp resp;
    err = DECODE(a, c, incremental_alter_configs, (int16_t)v, &resp);
    sl_err e = err ? from_errno(err)
                   : alter_result(a, resp.responses, resp.n_responses, type, name, errmsg);
    call_free(c);
    return e;
}

sl_err sl_admin_alter_configs(sl_admin *a, int type, const char *name, const sl_config_kv *kvs,
                              size_t n, int validate_only, int timeout_ms, const char **errmsg)
{
    if (!a || resource_args(type, name) || (n && !kvs) || n > 10000)
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    if (errmsg)
        *errmsg = "";
    int64_t deadline = deadline_of(a, timeout_ms);
    struct kp_alter_configs_config *cs = pool_alloc(a, (n + 1) * sizeof(*cs));
    if (!cs)
        return SL_ERR__NO_MEMORY;
    size_t guess = 64 + strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (!kvs[i].name)
            return SL_ERR__INVALID_ARG;
        cs[i] = (struct kp_alter_configs_config){
            kp_str_of(kvs[i].name), kvs[i].value ? kp_str_of(kvs[i].value) : KP_STR_NULL};
        guess += 8 + strlen(kvs[i].name) + (kvs[i].value ? strlen(kvs[i].value) : 0);
    }
    struct sl__conn *conn;
    int err = resource_conn(a, type, name, deadline, &conn);
    if (err)
        return resource_err(err);
    int v = VERSION(conn, ALTER_CONFIGS, V_MAX_ALTER_CONFIGS);
    if (v < 0)
        return SL_ERR__UNSUPPORTED_FEATURE;
    struct kp_alter_configs_resource rsrc = {(int8_t)type, kp_str_of(name), (int32_t)n, cs};
    struct kp_alter_configs_req req = {1, &rsrc, validate_only != 0};
    struct call *c;
    err = roundtrip(a, conn, KP_API_ALTER_CONFIGS, (int16_t)v, enc_alter_configs, &req, guess,
                    deadline, &c);
    if (err)
        return from_errno(err);
    struct kp_alter_configs_resp resp;
    err = DECODE(a, c, alter_configs, (int16_t)v, &resp);
    sl_err e = err ? from_errno(err)
                   : alter_result(a, resp.responses, resp.n_responses, type, name, errmsg);
    call_free(c);
    return e;
}

/* ---- groups -------------------------------------------------------------------------------------
 */

static int find_coordinator(sl_admin *a, const char *group, int64_t deadline, struct sl__conn **out,
                            int32_t *node, sl_err *kerr);

/* The group's coordinator (FindCoordinator), ready; *node its id. While the broker answers
 * COORDINATOR_NOT_AVAILABLE or COORDINATOR_LOAD_IN_PROGRESS (a broker starting, offsets loading)
 * it is asked again every retry.backoff.ms until the deadline; then that error is returned as
 * the sl_err in *kerr (with 0), as is any other coordinator error. */
static int coordinator(sl_admin *a, const char *group, int64_t deadline, struct sl__conn **out,
                       int32_t *node, sl_err *kerr)
{
    for (;;) {
        int err = find_coordinator(a, group, deadline, out, node, kerr);
        if (err || (*kerr != SL_ERR_COORDINATOR_NOT_AVAILABLE &&
                    *kerr != SL_ERR_COORDINATOR_LOAD_IN_PROGRESS))
            return err;
        int64_t left = deadline - sl__now_ms();
        int backoff = a->cl.conf->retry_backoff_ms;
        if (left <= backoff)
            return 0;
        int64_t until = sl__now_ms() + backoff;
        while (sl__now_ms() < until)
            sl__client_io(&a->cl, (int)(until - sl__now_ms()));
    }
}

static int find_coordinator(sl_admin *a, const char *group, int64_t deadline, struct sl__conn **out,
                            int32_t *node, sl_err *kerr)
{
    *kerr = SL_ERR_NO_ERROR;
    struct sl__conn *conn;
    int err = any_ready(a, deadline, &conn);
    if (err)
        return err;
    int v = VERSION(conn, FIND_COORDINATOR, V_MAX_FIND_COORDINATOR);
    if (v < 0)
        return -ENOTSUP;
    struct kp_find_coordinator_req req = {.key = kp_str_of(group), .key_type = 0};
    struct call *c;
    err = roundtrip(a, conn, KP_API_FIND_COORDINATOR, (int16_t)v, enc_find_coordinator, &req,
                    32 + strlen(group), deadline, &c);
    if (err)
        return err;
    struct kp_find_coordinator_resp resp;
    err = DECODE(a, c, find_coordinator, (int16_t)v, &resp);
    char host[256];
    if (!err && resp.error_code == 0 &&
        (resp.host.len <= 0 || (size_t)resp.host.len >= sizeof(host) || resp.port <= 0 ||
         resp.port > 65535 || resp.node_id < 0))
        err = -EBADMSG;
    if (!err && resp.error_code)
        *kerr = (sl_err)resp.error_code;
    struct sl__conn *cc = NULL;
    if (!err && !resp.error_code) {
        memcpy(host, resp.host.ptr, (size_t)resp.host.len);
        host[resp.host.len] = 0;
        *node = resp.node_id;
        cc = node_conn(a, resp.node_id, host, resp.port);
        if (!cc)
            err = -ENOMEM;
    }
    call_free(c);
    if (err || *kerr)
        return err;
    *out = cc;
    return conn_ready(a, cc, deadline);
}

/* Every broker of the cluster (from Metadata), as (node, connection) pairs in *out. */
static int all_brokers(sl_admin *a, int64_t deadline, struct sl__conn ***out, int32_t **ids,
                       size_t *n)
{
    sl_metadata *md;
    int64_t left = deadline - sl__now_ms();
    sl_err e = sl__metadata_query(&a->cl, NULL, left > 0 ? (int)left : 0, &md);
    if (e)
        return e == SL_ERR__TIMED_OUT ? -ETIMEDOUT : e == SL_ERR__NO_MEMORY ? -ENOMEM : -EIO;
    size_t nb = md->broker_cnt > 0 ? (size_t)md->broker_cnt : 0;
    *out = pool_alloc(a, (nb + 1) * sizeof(**out));
    *ids = pool_alloc(a, (nb + 1) * sizeof(**ids));
    int err = *out && *ids ? 0 : -ENOMEM;
    for (size_t i = 0; !err && i < nb; i++) {
        (*ids)[i] = md->brokers[i].id;
        (*out)[i] = node_conn(a, md->brokers[i].id, md->brokers[i].host, md->brokers[i].port);
        if (!(*out)[i])
            err = -ENOMEM;
    }
    sl_metadata_free(md);
    *n = nb;
    return err;
}

sl_err sl_admin_list_groups(sl_admin *a, int timeout_ms, const sl_group_listing **out, size_t *n)
{
    if (!a || !out || !n)
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    *out = NULL;
    *n = 0;
    int64_t deadline = deadline_of(a, timeout_ms);
    struct sl__conn **conns;
    int32_t *ids;
    size_t nb;
    int err = all_brokers(a, deadline, &conns, &ids, &nb);
    if (err)
        return from_errno(err);
    size_t cap = 64, cnt = 0;
    sl_group_listing *gs = malloc(cap * sizeof(*gs));
    sl_err e = gs ? SL_ERR_NO_ERROR : SL_ERR__NO_MEMORY;
    for (size_t b = 0; !e && b < nb; b++) {
        err = conn_ready(a, conns[b], deadline);
        int v = err ? -1 : VERSION(conns[b], LIST_GROUPS, V_MAX_LIST_GROUPS);
        if (err) {
            e = from_errno(err);
            break;
        }
        if (v < 0) {
            e = SL_ERR__UNSUPPORTED_FEATURE;
            break;
        }
        struct kp_list_groups_req req = {0};
        struct call *c;
        err = roundtrip(a, conns[b], KP_API_LIST_GROUPS, (int16_t)v, enc_list_groups, &req, 16,
                        deadline, &c);
        if (err) {
            e = from_errno(err);
            break;
        }
        struct kp_list_groups_resp resp;
        err = DECODE(a, c, list_groups, (int16_t)v, &resp);
        if (err)
            e = from_errno(err);
        else if (resp.error_code)
            e = (sl_err)resp.error_code;
        for (int32_t i = 0; !e && i < resp.n_groups; i++) {
            if (cnt == cap) {
                sl_group_listing *g2 = realloc(gs, 2 * cap * sizeof(*gs));
                if (!g2) {
                    e = SL_ERR__NO_MEMORY;
                    break;
                }
                gs = g2;
                cap *= 2;
            }
            const struct kp_list_groups_group *g = &resp.groups[i];
            gs[cnt++] = (sl_group_listing){pool_str(a, g->group_id, false),
                                           pool_str(a, g->protocol_type, false),
                                           pool_str(a, g->group_state, false), ids[b]};
        }
        call_free(c);
    }
    if (!e) {
        sl_group_listing *res = pool_alloc(a, (cnt + 1) * sizeof(*res));
        if (res) {
            memcpy(res, gs, cnt * sizeof(*res));
            *out = res;
            *n = cnt;
        }
    }
    free(gs);
    if (!e && a->pool_failed)
        e = SL_ERR__NO_MEMORY;
    return e;
}

/* The consumer protocol's assignment bytes as topic partitions in the pool (none when they do
 * not parse: a group of another protocol type). */
static void member_assignment(sl_admin *a, struct kp_bytes b, sl_group_member *m)
{
    if (b.len <= 0)
        return;
    size_t acap = 4096 + 16 * (size_t)b.len;
    void *mem = malloc(acap);
    if (!mem)
        return;
    struct kp_arena ar;
    kp_arena_init(&ar, mem, acap);
    struct kp_rd rd;
    kp_rd_init(&rd, b.ptr, (size_t)b.len);
    struct kp_consumer_assignment as;
    if (kp_consumer_assignment_decode(&rd, &ar, &as) == 0) {
        size_t total = 0;
        for (int32_t t = 0; t < as.n_topics; t++)
            total += (size_t)as.topics[t].n_partitions;
        sl_topic_partition *tp = pool_alloc(a, (total + 1) * sizeof(*tp));
        if (tp) {
            size_t k = 0;
            for (int32_t t = 0; t < as.n_topics; t++) {
                const char *topic = pool_str(a, as.topics[t].topic, false);
                for (int32_t p = 0; p < as.topics[t].n_partitions; p++)
                    tp[k++] = (sl_topic_partition){
                        topic, as.topics[t].partitions[p], -1, NULL, 0, SL_ERR_NO_ERROR};
            }
            m->assignment = tp;
            m->assignment_cnt = total;
        }
    }
    free(mem);
}

sl_err sl_admin_describe_groups(sl_admin *a, const char *const *groups, size_t n, int timeout_ms,
                                const sl_group_description **out)
{
    if (!a || !out || (n && !groups) || !names_ok(groups, n))
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    *out = NULL;
    int64_t deadline = deadline_of(a, timeout_ms);
    sl_group_description *ds = pool_alloc(a, (n + 1) * sizeof(*ds));
    if (!ds)
        return SL_ERR__NO_MEMORY;
    for (size_t i = 0; i < n; i++) {
        sl_group_description *d = &ds[i];
        d->group = pool_cstr(a, groups[i]);
        d->state = d->protocol_type = d->protocol = "";
        d->coordinator = -1;
        struct sl__conn *conn;
        sl_err kerr;
        int err = coordinator(a, groups[i], deadline, &conn, &d->coordinator, &kerr);
        if (err)
            return from_errno(err);
        if (kerr) {
            d->err = kerr;
            continue;
        }
        int v = VERSION(conn, DESCRIBE_GROUPS, V_MAX_DESCRIBE_GROUPS);
        if (v < 0)
            return SL_ERR__UNSUPPORTED_FEATURE;
        struct kp_str g = kp_str_of(groups[i]);
        struct kp_describe_groups_req req = {1, &g, false};
        struct call *c;
        err = roundtrip(a, conn, KP_API_DESCRIBE_GROUPS, (int16_t)v, enc_describe_groups, &req,
                        32 + strlen(groups[i]), deadline, &c);
        if (err)
            return from_errno(err);
        struct kp_describe_groups_resp resp;
        err = DECODE(a, c, describe_groups, (int16_t)v, &resp);
        d->err = SL_ERR__BAD_MSG;
        for (int32_t k = 0; !err && k < resp.n_groups; k++) {
            const struct kp_describe_groups_group *x = &resp.groups[k];
            if (!kp_str_eq(x->group_id, groups[i]))
                continue;
            d->err = (sl_err)x->error_code;
            d->state = pool_str(a, x->group_state, false);
            d->protocol_type = pool_str(a, x->protocol_type, false);
            d->protocol = pool_str(a, x->protocol_data, false);
            sl_group_member *ms = pool_alloc(a, ((size_t)x->n_members + 1) * sizeof(*ms));
            if (!ms)
                break;
            for (int32_t m = 0; m < x->n_members; m++) {
                const struct kp_describe_groups_member *y = &x->members[m];
                ms[m].member_id = pool_str(a, y->member_id, false);
                ms[m].instance_id = pool_str(a, y->group_instance_id, true);
                ms[m].client_id = pool_str(a, y->client_id, false);
                ms[m].client_host = pool_str(a, y->client_host, false);
                if (kp_str_eq(x->protocol_type, "consumer"))
                    member_assignment(a, y->member_assignment, &ms[m]);
            }
            d->members = ms;
            d->member_cnt = (size_t)x->n_members;
            break;
        }
        call_free(c);
        if (err)
            return from_errno(err);
    }
    *out = ds;
    return a->pool_failed ? SL_ERR__NO_MEMORY : SL_ERR_NO_ERROR;
}

sl_err sl_admin_delete_groups(sl_admin *a, const char *const *groups, size_t n, int timeout_ms,
                              const sl_admin_result **results)
{
    if (!a || !results || (n && !groups) || !names_ok(groups, n))
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    *results = NULL;
    int64_t deadline = deadline_of(a, timeout_ms);
    sl_admin_result *res = results_new(a, groups, n);
    if (!res)
        return SL_ERR__NO_MEMORY;
    /* One request per group, to its coordinator. */
    for (size_t i = 0; i < n; i++) {
        struct sl__conn *conn;
        int32_t node;
        sl_err kerr;
        int err = coordinator(a, groups[i], deadline, &conn, &node, &kerr);
        if (err)
            return from_errno(err);
        if (kerr) {
            res[i].err = kerr;
            continue;
        }
        int v = VERSION(conn, DELETE_GROUPS, V_MAX_DELETE_GROUPS);
        if (v < 0)
            return SL_ERR__UNSUPPORTED_FEATURE;
        struct kp_str g = kp_str_of(groups[i]);
        struct kp_delete_groups_req req = {1, &g};
        struct call *c;
        err = roundtrip(a, conn, KP_API_DELETE_GROUPS, (int16_t)v, enc_delete_groups, &req,
                        32 + strlen(groups[i]), deadline, &c);
        if (err)
            return from_errno(err);
        struct kp_delete_groups_resp resp;
        err = DECODE(a, c, delete_groups, (int16_t)v, &resp);
        for (int32_t k = 0; !err && k < resp.n_results; k++)
            result_set(a, &res[i], 1, resp.results[k].group_id, resp.results[k].error_code,
                       KP_STR_NULL);
        call_free(c);
        if (err)
            return from_errno(err);
    }
    *results = res;
    return a->pool_failed ? SL_ERR__NO_MEMORY : SL_ERR_NO_ERROR;
}

sl_err sl_admin_committed(sl_admin *a, const char *group, int timeout_ms,
                          const sl_topic_partition **out, size_t *n)
{
    if (!a || !out || !n || !group || !*group || strlen(group) > 32767)
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    *out = NULL;
    *n = 0;
    int64_t deadline = deadline_of(a, timeout_ms);
    struct sl__conn *conn;
    int32_t node;
    sl_err kerr;
    int err = coordinator(a, group, deadline, &conn, &node, &kerr);
    if (err)
        return from_errno(err);
    if (kerr)
        return kerr;
    /* v2+: null topics asks for every partition the group committed */
    int v = sl__conn_version(conn, KP_API_OFFSET_FETCH, 2, V_MAX_OFFSET_FETCH);
    if (v < 0)
        return SL_ERR__UNSUPPORTED_FEATURE;
    struct kp_offset_fetch_req req = {.group_id = kp_str_of(group), .n_topics = -1};
    struct call *c;
    err = roundtrip(a, conn, KP_API_OFFSET_FETCH, (int16_t)v, enc_offset_fetch, &req,
                    32 + strlen(group), deadline, &c);
    if (err)
        return from_errno(err);
    struct kp_offset_fetch_resp resp;
    err = DECODE(a, c, offset_fetch, (int16_t)v, &resp);
    sl_err e = err ? from_errno(err) : (sl_err)resp.error_code;
    if (!e) {
        size_t total = 0;
        for (int32_t t = 0; t < resp.n_topics; t++)
            total += (size_t)resp.topics[t].n_partitions;
        sl_topic_partition *tp = pool_alloc(a, (total + 1) * sizeof(*tp));
        if (tp) {
            size_t k = 0;
            for (int32_t t = 0; t < resp.n_topics; t++) {
                const char *topic = pool_str(a, resp.topics[t].name, false);
                for (int32_t p = 0; p < resp.topics[t].n_partitions; p++) {
                    const struct kp_offset_fetch_resp_partition *x = &resp.topics[t].partitions[p];
                    const char *md = pool_str(a, x->metadata, true);
                    tp[k++] = (sl_topic_partition){
                        topic,
                        x->partition_index,
                        x->committed_offset >= 0 ? x->committed_offset : SL_OFFSET_INVALID,
                        md,
                        md ? strlen(md) : 0,
                        (sl_err)x->error_code};
                }
            }
            *out = tp;
            *n = total;
        }
    }
    call_free(c);
    if (!e && a->pool_failed)
        e = SL_ERR__NO_MEMORY;
    return e;
}

/* Groups parts[0..n) by topic (in first-seen order) into kp topic arrays for a request. The
 * topic index of each part goes to tix[i]. */
struct by_topic {
    const char **names;
    size_t *counts;
    size_t nt;
    size_t *tix;
};

static int group_by_topic(sl_admin *a, const sl_topic_partition *parts, size_t n,
                          struct by_topic *bt)
{
    bt->names = pool_alloc(a, (n + 1) * sizeof(*bt->names));
    bt->counts = pool_alloc(a, (n + 1) * sizeof(*bt->counts));
    bt->tix = pool_alloc(a, (n + 1) * sizeof(*bt->tix));
    if (!bt->names || !bt->counts || !bt->tix)
        return -ENOMEM;
    bt->nt = 0;
    for (size_t i = 0; i < n; i++) {
        size_t t = 0;
        while (t < bt->nt && strcmp(bt->names[t], parts[i].topic) != 0)
            t++;
        if (t == bt->nt)
            bt->names[bt->nt++] = parts[i].topic;
        bt->counts[t]++;
        bt->tix[i] = t;
    }
    return 0;
}

static bool parts_ok(const sl_topic_partition *parts, size_t n)
{
    if (n > 1000000 || (n && !parts))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!parts[i].topic || !*parts[i].topic || strlen(parts[i].topic) > 32767 ||
            parts[i].partition < 0)
            return false;
    return true;
}

sl_err sl_admin_commit(sl_admin *a, const char *group, sl_topic_partition *offsets, size_t n,
                       int timeout_ms)
{
    if (!a || !group || !*group || strlen(group) > 32767 || !parts_ok(offsets, n))
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    if (n == 0)
        return SL_ERR_NO_ERROR;
    int64_t deadline = deadline_of(a, timeout_ms);
    struct by_topic bt;
    if (group_by_topic(a, offsets, n, &bt))
        return SL_ERR__NO_MEMORY;
    struct kp_offset_commit_req_topic *ts = pool_alloc(a, (bt.nt + 1) * sizeof(*ts));
    struct kp_offset_commit_req_partition *ps = pool_alloc(a, (n + 1) * sizeof(*ps));
    size_t *at = pool_alloc(a, (bt.nt + 1) * sizeof(*at));
    if (!ts || !ps || !at)
        return SL_ERR__NO_MEMORY;
    size_t guess = 64 + strlen(group);
    for (size_t t = 0, pos = 0; t < bt.nt; t++) {
        ts[t] = (struct kp_offset_commit_req_topic){kp_str_of(bt.names[t]), (int32_t)bt.counts[t],
                                                    ps + pos};
        at[t] = pos;
        pos += bt.counts[t];
        guess += 8 + strlen(bt.names[t]);
    }
    for (size_t i = 0; i < n; i++) {
        offsets[i].err = SL_ERR__BAD_MSG;
        ps[at[bt.tix[i]]++] = (struct kp_offset_commit_req_partition){
            offsets[i].partition, offsets[i].offset, -1,
            offsets[i].metadata
                ? (struct kp_str){offsets[i].metadata, (int32_t)offsets[i].metadata_len}
                : KP_STR_NULL,
            -1};
        guess += 32 + offsets[i].metadata_len;
    }
    struct sl__conn *conn;
    int32_t node;
    sl_err kerr;
    int err = coordinator(a, group, deadline, &conn, &node, &kerr);
    if (err)
        return from_errno(err);
    if (kerr)
        return kerr;
    int v = VERSION(conn, OFFSET_COMMIT, V_MAX_OFFSET_COMMIT);
    if (v < 0)
        return SL_ERR__UNSUPPORTED_FEATURE;
    struct kp_offset_commit_req req = {
        .group_id = kp_str_of(group),
        .generation_id = -1,
        .member_id = kp_str_of(""),
        .retention_time_ms = -1,
        .n_topics = (int32_t)bt.nt,
        .topics = ts,
        .group_instance_id = KP_STR_NULL,
    };
    struct call *c;
    err = roundtrip(a, conn, KP_API_OFFSET_COMMIT, (int16_t)v, enc_offset_commit, &req, guess,
                    deadline, &c);
    if (err)
        return from_errno(err);
    struct kp_offset_commit_resp resp;
    err = DECODE(a, c, offset_commit, (int16_t)v, &resp);
    for (int32_t t = 0; !err && t < resp.n_topics; t++)
        for (int32_t p = 0; p < resp.topics[t].n_partitions; p++)
            for (size_t i = 0; i < n; i++)
                if (offsets[i].partition == resp.topics[t].partitions[p].partition_index &&
                    kp_str_eq(resp.topics[t].name, offsets[i].topic))
                    offsets[i].err = (sl_err)resp.topics[t].partitions[p].error_code;
    call_free(c);
    if (err)
        return from_errno(err);
    for (size_t i = 0; i < n; i++)
        if (offsets[i].err)
            return offsets[i].err;
    return SL_ERR_NO_ERROR;
}

/* ---- offsets ------------------------------------------------------------------------------------
 */

sl_err sl_admin_list_offsets(sl_admin *a, sl_topic_partition *parts, size_t n, int timeout_ms)
{
    if (!a || !parts_ok(parts, n))
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    if (n == 0)
        return SL_ERR_NO_ERROR;
    int64_t deadline = deadline_of(a, timeout_ms);
    sl_metadata *md;
    int64_t left = deadline - sl__now_ms();
    sl_err e = sl__metadata_query(&a->cl, NULL, left > 0 ? (int)left : 0, &md);
    if (e)
        return e;
    /* Each partition's leader (-1 unknown); per leader one request. */
    int32_t *leader = pool_alloc(a, n * sizeof(*leader));
    bool *sent = pool_alloc(a, n * sizeof(*sent));
    struct kp_list_offsets_req_topic *ts = pool_alloc(a, n * sizeof(*ts));
    struct kp_list_offsets_req_partition *ps = pool_alloc(a, n * sizeof(*ps));
    if (!leader || !sent || !ts || !ps) {
        sl_metadata_free(md);
        return SL_ERR__NO_MEMORY;
    }
    for (size_t i = 0; i < n; i++) {
        leader[i] = -1;
        parts[i].err = SL_ERR_UNKNOWN_TOPIC_OR_PART;
        for (int32_t t = 0; t < md->topic_cnt; t++) {
            if (strcmp(md->topics[t].topic, parts[i].topic) != 0)
                continue;
            if (md->topics[t].err) {
                parts[i].err = md->topics[t].err;
                break;
            }
            for (int32_t p = 0; p < md->topics[t].partition_cnt; p++)
                if (md->topics[t].partitions[p].id == parts[i].partition) {
                    leader[i] = md->topics[t].partitions[p].leader;
                    parts[i].err = leader[i] >= 0 ? SL_ERR__BAD_MSG : SL_ERR_LEADER_NOT_AVAILABLE;
                }
        }
        sent[i] = leader[i] < 0;
    }
    int err = 0;
    for (size_t i = 0; !err && !e && i < n; i++) {
        if (sent[i])
            continue;
        struct sl__conn *conn = NULL;
        for (int32_t b = 0; b < md->broker_cnt; b++)
            if (md->brokers[b].id == leader[i])
                conn = node_conn(a, leader[i], md->brokers[b].host, md->brokers[b].port);
        if (!conn) {
            parts[i].err = SL_ERR_LEADER_NOT_AVAILABLE;
            sent[i] = true;
            continue;
        }
        err = conn_ready(a, conn, deadline);
        if (err)
            break;
        int v = VERSION(conn, LIST_OFFSETS, V_MAX_LIST_OFFSETS);
        if (v < 0) {
            e = SL_ERR__UNSUPPORTED_FEATURE;
            break;
        }
        /* every partition of this leader, one topic entry per partition (Kafka accepts a topic
         * named twice; the answer is matched by name and partition) */
        size_t np = 0, guess = 32;
        for (size_t k = i; k < n; k++) {
            if (sent[k] || leader[k] != leader[i])
                continue;
            ps[np] =
                (struct kp_list_offsets_req_partition){parts[k].partition, parts[k].offset, -1, 1};
            ts[np] = (struct kp_list_offsets_req_topic){kp_str_of(parts[k].topic), 1, &ps[np]};
            guess += 24 + strlen(parts[k].topic);
            np++;
            sent[k] = true;
        }
        struct kp_list_offsets_req req = {-1, 0, (int32_t)np, ts};
        struct call *c;
        err = roundtrip(a, conn, KP_API_LIST_OFFSETS, (int16_t)v, enc_list_offsets, &req, guess,
                        deadline, &c);
        if (err)
            break;
        struct kp_list_offsets_resp resp;
        err = DECODE(a, c, list_offsets, (int16_t)v, &resp);
        for (int32_t t = 0; !err && t < resp.n_topics; t++)
            for (int32_t p = 0; p < resp.topics[t].n_partitions; p++) {
                const struct kp_list_offsets_resp_partition *x = &resp.topics[t].partitions[p];
                for (size_t k = i; k < n; k++)
                    if (leader[k] == leader[i] && parts[k].partition == x->partition_index &&
                        parts[k].err == SL_ERR__BAD_MSG &&
                        kp_str_eq(resp.topics[t].name, parts[k].topic)) {
                        parts[k].err = (sl_err)x->error_code;
                        parts[k].offset = x->error_code ? -1 : x->offset;
                        break;
                    }
            }
        call_free(c);
    }
    sl_metadata_free(md);
    if (err)
        return from_errno(err);
    return e;
}

/* ---- cluster ------------------------------------------------------------------------------------
 */

sl_err sl_admin_metadata(sl_admin *a, const char *topic, int timeout_ms, sl_metadata **out)
{
    if (!a)
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    return sl__metadata_query(&a->cl, topic, timeout_ms, out);
}

sl_err sl_admin_describe_cluster(sl_admin *a, int timeout_ms, const sl_cluster **out)
{
    if (!a || !out)
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    *out = NULL;
    int64_t deadline = deadline_of(a, timeout_ms);
    struct sl__conn *conn;
    int err = any_ready(a, deadline, &conn);
    if (err)
        return from_errno(err);
    sl_cluster *cl = pool_alloc(a, sizeof(*cl));
    if (!cl)
        return SL_ERR__NO_MEMORY;
    int v = VERSION(conn, DESCRIBE_CLUSTER, V_MAX_DESCRIBE_CLUSTER);
    if (v < 0) {
        sl_metadata *md;
        int64_t left = deadline - sl__now_ms();
        sl_err e = sl__metadata_query(&a->cl, NULL, left > 0 ? (int)left : 0, &md);
        if (e)
            return e;
        sl_metadata_broker *bs = pool_alloc(a, ((size_t)md->broker_cnt + 1) * sizeof(*bs));
        if (bs)
            for (int32_t i = 0; i < md->broker_cnt; i++)
                bs[i] = (sl_metadata_broker){md->brokers[i].id, pool_cstr(a, md->brokers[i].host),
                                             md->brokers[i].port};
        cl->cluster_id = pool_cstr(a, md->cluster_id);
        cl->controller_id = md->controller_id;
        cl->brokers = bs;
        cl->broker_cnt = bs ? (size_t)md->broker_cnt : 0;
        cl->from_metadata = 1;
        sl_metadata_free(md);
        *out = cl;
        return a->pool_failed ? SL_ERR__NO_MEMORY : SL_ERR_NO_ERROR;
    }
    struct kp_describe_cluster_req req = {false, 1};
    struct call *c;
    err = roundtrip(a, conn, KP_API_DESCRIBE_CLUSTER, (int16_t)v, enc_describe_cluster, &req, 16,
                    deadline, &c);
    if (err)
        return from_errno(err);
    struct kp_describe_cluster_resp resp;
    err = DECODE(a, c, describe_cluster, (int16_t)v, &resp);
    sl_err e = err ? from_errno(err) : (sl_err)resp.error_code;
    if (!e) {
        sl_metadata_broker *bs = pool_alloc(a, ((size_t)resp.n_brokers + 1) * sizeof(*bs));
        if (bs)
            for (int32_t i = 0; i < resp.n_brokers; i++)
                bs[i] = (sl_metadata_broker){resp.brokers[i].broker_id,
                                             pool_str(a, resp.brokers[i].host, false),
                                             resp.brokers[i].port};
        cl->cluster_id = pool_str(a, resp.cluster_id, false);
        cl->controller_id = resp.controller_id;
        cl->brokers = bs;
        cl->broker_cnt = bs ? (size_t)resp.n_brokers : 0;
        *out = cl;
    }
    call_free(c);
    if (!e && a->pool_failed)
        e = SL_ERR__NO_MEMORY;
    return e;
}

sl_err sl_admin_describe_log_dirs(sl_admin *a, int timeout_ms, const sl_log_dir **out, size_t *n)
{
    if (!a || !out || !n)
        return SL_ERR__INVALID_ARG;
    pool_reset(a);
    *out = NULL;
    *n = 0;
    int64_t deadline = deadline_of(a, timeout_ms);
    struct sl__conn **conns;
    int32_t *ids;
    size_t nb;
    int err = all_brokers(a, deadline, &conns, &ids, &nb);
    if (err)
        return from_errno(err);
    size_t cap = 8, cnt = 0;
    sl_log_dir *ds = malloc(cap * sizeof(*ds));
    sl_err e = ds ? SL_ERR_NO_ERROR : SL_ERR__NO_MEMORY;
    for (size_t b = 0; !e && b < nb; b++) {
        err = conn_ready(a, conns[b], deadline);
        if (err) {
            e = from_errno(err);
            break;
        }
        int v = VERSION(conns[b], DESCRIBE_LOG_DIRS, V_MAX_DESCRIBE_LOG_DIRS);
        if (v < 0) {
            e = SL_ERR__UNSUPPORTED_FEATURE;
            break;
        }
        struct kp_describe_log_dirs_req req = {-1, NULL};
        struct call *c;
        err = roundtrip(a, conns[b], KP_API_DESCRIBE_LOG_DIRS, (int16_t)v, enc_describe_log_dirs,
                        &req, 16, deadline, &c);
        if (err) {
            e = from_errno(err);
            break;
        }
        struct kp_describe_log_dirs_resp resp;
        err = DECODE(a, c, describe_log_dirs, (int16_t)v, &resp);
        if (err)
            e = from_errno(err);
        else if (resp.error_code)
            e = (sl_err)resp.error_code;
        for (int32_t i = 0; !e && i < resp.n_results; i++) {
            if (cnt == cap) {
                sl_log_dir *d2 = realloc(ds, 2 * cap * sizeof(*ds));
                if (!d2) {
                    e = SL_ERR__NO_MEMORY;
                    break;
                }
                ds = d2;
                cap *= 2;
            }
            const struct kp_describe_log_dirs_result *x = &resp.results[i];
            size_t total = 0;
            for (int32_t t = 0; t < x->n_topics; t++)
                total += (size_t)x->topics[t].n_partitions;
            sl_log_dir_partition *ps = pool_alloc(a, (total + 1) * sizeof(*ps));
            size_t k = 0;
            for (int32_t t = 0; ps && t < x->n_topics; t++) {
                const char *topic = pool_str(a, x->topics[t].name, false);
                for (int32_t p = 0; p < x->topics[t].n_partitions; p++) {
                    const struct kp_describe_log_dirs_partition *y = &x->topics[t].partitions[p];
                    ps[k++] = (sl_log_dir_partition){topic, y->partition_index, y->partition_size,
                                                     y->offset_lag};
                }
            }
            ds[cnt++] = (sl_log_dir){ids[b],
                                     pool_str(a, x->log_dir, false),
                                     (sl_err)x->error_code,
                                     v >= 4 ? x->total_bytes : -1,
                                     v >= 4 ? x->usable_bytes : -1,
                                     k,
                                     ps};
        }
        call_free(c);
    }
    if (!e) {
        sl_log_dir *res = pool_alloc(a, (cnt + 1) * sizeof(*res));
        if (res) {
            memcpy(res, ds, cnt * sizeof(*res));
            *out = res;
            *n = cnt;
        }
    }
    free(ds);
    if (!e && a->pool_failed)
        e = SL_ERR__NO_MEMORY;
    return e;
}
