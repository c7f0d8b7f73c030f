/*
 * sl_admin.c — the admin handle (splicelog.h, "admin"): one synchronous call per Kafka admin
 * API, over the client's connections (sl__client), each message encoded and decoded with
 * proto's kp_msg codecs. This file owns the handle, its result pool, the connections it picks
 * and the one request/response call (sl__adm_ask); the calls themselves are in
 * sl_admin_topic.c, sl_admin_group.c and sl_admin_cluster.c (sl_admin_int.h).
 *
 * A call: pick the connection (any broker, a given node, or a group's coordinator), wait until
 * it is up and its ApiVersions answer is in (sl__conn_version then picks the version: the
 * highest both speak, within the range the admin handles), send one request, drive I/O until
 * its answer, keep the response body, decode it into the client's arena, and build the public
 * results in the handle's pool. The pool is emptied at the start of every call, which is what
 * "valid until the next call" means. A request whose caller stopped waiting (timeout) keeps its
 * context until the request completes, then frees it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_msg_groups_admin.h"
#include "sl_admin_int.h"

/* The highest FindCoordinator version the admin handles (v4 batches groups). */
#define V_MAX_FIND_COORDINATOR 3

SL__ADM_API(find_coordinator, FIND_COORDINATOR, 0, V_MAX_FIND_COORDINATOR);

/* ---- the result pool ------------------------------------------------------------------------- */

struct sl__adm_block {
    struct sl__adm_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char mem[];
};

/* A request's context: the response body, once in. */
struct sl__adm_call {
    bool done;
    bool abandoned;
    int err;       /* transport failure, -errno */
    uint8_t *body; /* the response body (after the header), malloc'd */
    size_t len;
};

static void call_free(struct sl__adm_call *c)
{
    if (!c)
        return;
    free(c->body);
    free(c);
}

void sl__adm_begin(sl_admin *a)
{
    while (a->pool) {
        struct sl__adm_block *b = a->pool;
        a->pool = b->next;
        free(b);
    }
    a->pool_failed = false;
    call_free(a->held);
    a->held = NULL;
}

void *sl__adm_alloc(sl_admin *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    struct sl__adm_block *b = a->pool;
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

const char *sl__adm_str(sl_admin *a, struct kp_str s, bool null_ok)
{
    if (s.len < 0 || !s.ptr)
        return null_ok ? NULL : "";
    char *p = sl__adm_alloc(a, (size_t)s.len + 1);
    if (!p)
        return "";
    memcpy(p, s.ptr, (size_t)s.len);
    p[s.len] = 0;
    return p;
}

const char *sl__adm_cstr(sl_admin *a, const char *s)
{
    return sl__adm_str(a, s ? kp_str_of(s) : KP_STR_NULL, false);
}

void *sl__adm_push(sl_admin *a, void **arr, size_t *n, size_t *cap, size_t size)
{
    if (*n == *cap) {
        size_t cap2 = *cap ? 2 * *cap : 16;
        unsigned char *p = sl__adm_alloc(a, cap2 * size);
        if (!p)
            return NULL;
        if (*n)
            memcpy(p, *arr, *n * size);
        *arr = p;
        *cap = cap2;
    }
    return (unsigned char *)*arr + (*n)++ * size;
}

sl_err sl__adm_done(const sl_admin *a, sl_err e)
{
    return !e && a->pool_failed ? SL_ERR__NO_MEMORY : e;
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
    sl__adm_begin(a);
    free(a);
}

int64_t sl__adm_deadline(const sl_admin *a, int timeout_ms)
{
    return sl__now_ms() + (timeout_ms < 0 ? a->cl.conf->request_timeout_ms : timeout_ms);
}

/* ---- connections ------------------------------------------------------------------------------
 */

/* Fails with the connection's failure when the deadline left no time to retry it. */
int sl__adm_ready(sl_admin *a, struct sl__conn *c, int64_t deadline)
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

int sl__adm_any(sl_admin *a, int64_t deadline, struct sl__conn **out)
{
    for (;;) {
        for (int i = 0; i < a->cl.n_conns; i++) {
            struct sl__conn *c = a->cl.conns[i];
            if (c->state == SL__CONN_UP && c->versions_known && c->node_id != -2) {
                *out = c;
                return 0;
            }
        }
        /* a refused login ends the call at once rather than at the deadline (the next login
         * waits out its backoff anyway) */
        if (a->cl.conn_fail == SL__EAUTH)
            return SL__EAUTH;
        (void)sl__any_conn(&a->cl); /* starts connecting (round robin over the brokers) */
        int64_t left = deadline - sl__now_ms();
        if (left <= 0)
            return a->cl.conn_fail ? a->cl.conn_fail : -ETIMEDOUT;
        sl__client_io(&a->cl, (int)(left < 50 ? left : 50));
    }
}

/* A bootstrap entry with that address is taken over for the node, as the client's metadata
 * handling does. */
struct sl__conn *sl__adm_node_conn(sl_admin *a, int32_t node, const char *host, int port)
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

int sl__adm_metadata(sl_admin *a, int64_t deadline, sl_metadata **md)
{
    int64_t left = deadline - sl__now_ms();
    sl_err e = sl__metadata_query(&a->cl, NULL, left > 0 ? (int)left : 0, md);
    if (e)
        return e == SL_ERR__TIMED_OUT ? -ETIMEDOUT : e == SL_ERR__NO_MEMORY ? -ENOMEM : -EIO;
    return 0;
}

/* ---- one request ------------------------------------------------------------------------------
 */

static void call_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    (void)cl;
    struct sl__adm_call *c = req->ctx;
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

struct venc {
    const struct sl__adm_api *api;
    int16_t v;
    const void *req;
};

static int enc_versioned(struct kp_wr *wr, const void *m)
{
    const struct venc *e = m;
    return e->api->enc(wr, e->v, e->req);
}

/* Sends req on conn (ready) and waits for the answer: 0 with *out holding the body (call_free
 * it), or -errno (-ETIMEDOUT: the request stays out and cleans up after itself). */
static int roundtrip(sl_admin *a, struct sl__conn *conn, const struct sl__adm_api *api, int16_t v,
                     const void *req, size_t guess, int64_t deadline, struct sl__adm_call **out)
{
    *out = NULL;
    struct sl__adm_call *c = calloc(1, sizeof(*c));
    struct sl__req *r = c ? sl__req_get(&a->cl) : NULL;
    if (!r) {
        free(c);
        return -ENOMEM;
    }
    struct venc e = {api, v, req};
    int err = sl__req_begin(&a->cl, r, api->key, v);
    if (!err)
        err = sl__req_body(r, guess, enc_versioned, &e);
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

int sl__adm_version(const struct sl__conn *c, const struct sl__adm_api *api)
{
    return sl__conn_version(c, api->key, api->vmin, api->vmax);
}

int sl__adm_ask(sl_admin *a, struct sl__conn *conn, const struct sl__adm_api *api, const void *req,
                size_t guess, int64_t deadline, void *resp, int16_t *v)
{
    int ver = sl__adm_version(conn, api);
    if (ver < 0)
        return -ENOTSUP;
    *v = (int16_t)ver;
    struct sl__adm_call *c;
    int err = roundtrip(a, conn, api, *v, req, guess, deadline, &c);
    if (err)
        return err;
    call_free(a->held); /* what the previous answer pointed into */
    a->held = c;
    struct kp_rd rd;
    kp_rd_init(&rd, c->body, c->len);
    struct kp_arena *ar = sl__arena(&a->cl, c->len);
    if (!ar)
        return -ENOMEM;
    return api->dec(&rd, *v, ar, resp) == 0 ? 0 : -EBADMSG;
}

/* ---- coordinators and brokers ------------------------------------------------------------------
 */

static int find_coordinator(sl_admin *a, const char *group, int64_t deadline, struct sl__conn **out,
                            int32_t *node, sl_err *kerr)
{
    *kerr = SL_ERR_NO_ERROR;
    struct sl__conn *conn;
    int err = sl__adm_any(a, deadline, &conn);
    if (err)
        return err;
    struct kp_find_coordinator_req req = {.key = kp_str_of(group), .key_type = 0};
    struct kp_find_coordinator_resp resp;
    int16_t v;
    err =
        sl__adm_ask(a, conn, &api_find_coordinator, &req, 32 + strlen(group), deadline, &resp, &v);
    if (err)
        return err;
    if (resp.error_code) {
        *kerr = (sl_err)resp.error_code;
        return 0;
    }
    char host[256];
    if (resp.host.len <= 0 || (size_t)resp.host.len >= sizeof(host) || resp.port <= 0 ||
        resp.port > 65535 || resp.node_id < 0)
        return -EBADMSG;
    memcpy(host, resp.host.ptr, (size_t)resp.host.len);
    host[resp.host.len] = 0;
    *node = resp.node_id;
    struct sl__conn *cc = sl__adm_node_conn(a, resp.node_id, host, resp.port);
    if (!cc)
        return -ENOMEM;
    *out = cc;
    return sl__adm_ready(a, cc, deadline);
}

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

int sl__adm_ask_coordinator(sl_admin *a, const char *group, const struct sl__adm_api *api,
                            const void *req, size_t guess, int64_t deadline, void *resp, int16_t *v,
                            int32_t *node, sl_err *kerr)
{
    struct sl__conn *conn;
    int err = coordinator(a, group, deadline, &conn, node, kerr);
    if (err || *kerr)
        return err;
    return sl__adm_ask(a, conn, api, req, guess, deadline, resp, v);
}

sl_err sl__adm_each_broker(
    sl_admin *a, int64_t deadline, const struct sl__adm_api *api, const void *req, void *resp,
    sl_err (*each)(sl_admin *a, int32_t node, int16_t v, const void *resp, void *ctx), void *ctx)
{
    sl_metadata *md;
    int err = sl__adm_metadata(a, deadline, &md);
    if (err)
        return sl__err_from_errno(err);
    /* every broker's connection first: md is gone before the first request goes out */
    size_t nb = md->broker_cnt > 0 ? (size_t)md->broker_cnt : 0;
    struct sl__conn **conns = sl__adm_alloc(a, (nb + 1) * sizeof(*conns));
    int32_t *ids = sl__adm_alloc(a, (nb + 1) * sizeof(*ids));
    err = conns && ids ? 0 : -ENOMEM;
    for (size_t i = 0; !err && i < nb; i++) {
        ids[i] = md->brokers[i].id;
        conns[i] =
            sl__adm_node_conn(a, md->brokers[i].id, md->brokers[i].host, md->brokers[i].port);
        if (!conns[i])
            err = -ENOMEM;
    }
    sl_metadata_free(md);
    sl_err e = sl__err_from_errno(err);
    for (size_t b = 0; !e && b < nb; b++) {
        int16_t v;
        err = sl__adm_ready(a, conns[b], deadline);
        if (!err)
            err = sl__adm_ask(a, conns[b], api, req, 16, deadline, resp, &v);
        e = err ? sl__err_from_errno(err) : each(a, ids[b], v, resp, ctx);
    }
    return e;
}

/* ---- arguments and results ---------------------------------------------------------------------
 */

bool sl__adm_names_ok(const char *const *names, size_t n)
{
    if (n > 100000)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!names[i] || !*names[i] || strlen(names[i]) > 32767)
            return false;
    return true;
}

bool sl__adm_parts_ok(const sl_topic_partition *parts, size_t n)
{
    if (n > 1000000 || (n && !parts))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!parts[i].topic || !*parts[i].topic || strlen(parts[i].topic) > 32767 ||
            parts[i].partition < 0)
            return false;
    return true;
}

sl_admin_result *sl__adm_results_new(sl_admin *a, const char *const *names, size_t n)
{
    sl_admin_result *r = sl__adm_alloc(a, (n ? n : 1) * sizeof(*r));
    if (!r)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        r[i].name = sl__adm_cstr(a, names[i]);
        r[i].err = SL_ERR__BAD_MSG;
        r[i].errmsg = "";
    }
    return r;
}

void sl__adm_result_set(sl_admin *a, sl_admin_result *r, size_t n, struct kp_str name, int16_t ec,
                        struct kp_str msg)
{
    for (size_t i = 0; i < n; i++) {
        if (r[i].err == SL_ERR__BAD_MSG && kp_str_eq(name, r[i].name)) {
            r[i].err = (sl_err)ec;
            r[i].errmsg = sl__adm_str(a, msg, false);
            return;
        }
    }
}
