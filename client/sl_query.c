/*
 * sl_query.c — what an application can ask the cluster, waiting for the answer: metadata
 * (brokers, topics, partitions, leaders), a partition's watermarks, offsets for timestamps.
 *
 * Each query is one request (Metadata v4; ListOffsets v2 per leader) whose answer is copied out
 * by its callback. The caller drives the handle's own turn meanwhile (cl->turn: the producer
 * keeps sending, the consumer keeps fetching and heartbeating) until the answer or timeout_ms.
 * A query the caller stopped waiting for is marked abandoned and freed by its request's
 * callback when that completes (every request completes exactly once, at the latest when the
 * handle is freed).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl_cons.h"

struct lo_part {
    struct sl__topic *t;
    int32_t partition;
    int64_t ts;     /* asked: a timestamp, KP_LIST_OFFSETS_EARLIEST or _LATEST */
    int64_t offset; /* answer (-1: none) */
    int16_t ec;
    int32_t corr; /* the request carrying it */
};

struct query {
    int pending; /* requests not answered yet */
    bool abandoned;
    int err; /* the first transport error */
    int n;
    struct lo_part *p;
    sl_metadata *md;
};

static void query_free(struct query *q)
{
    if (!q)
        return;
    free(q->p);
    sl_metadata_free(q->md);
    free(q);
}

/* A request of q completed: true when the caller is gone and q was freed. */
static bool request_done(struct query *q)
{
    q->pending--;
    if (q->abandoned && q->pending == 0) {
        query_free(q);
        return true;
    }
    return false;
}

/* Drives the handle until q has no request pending or the deadline passes. 0 or -ETIMEDOUT
 * (then q belongs to its requests). */
static int wait_query(struct sl__client *cl, struct query *q, int64_t deadline)
{
    while (q->pending > 0) {
        int64_t left = deadline - sl__now_ms();
        if (left <= 0) {
            q->abandoned = true;
            return -ETIMEDOUT;
        }
        cl->turn(cl, (int)(left < 100 ? left : 100));
    }
    return 0;
}

/* ---- metadata ------------------------------------------------------------------------------ */

/* A copy of a decoded Metadata response as one allocation (sl_metadata_free frees it). */
static sl_metadata *md_copy(const struct kp_metadata_resp *r)
{
    size_t sz = sizeof(sl_metadata) + (size_t)r->n_brokers * sizeof(sl_metadata_broker) +
                (size_t)r->n_topics * sizeof(sl_metadata_topic) + 1 +
                (r->cluster_id.len > 0 ? (size_t)r->cluster_id.len : 0);
    for (int32_t i = 0; i < r->n_brokers; i++)
        sz += (size_t)(r->brokers[i].host.len > 0 ? r->brokers[i].host.len : 0) + 1;
    for (int32_t i = 0; i < r->n_topics; i++) {
        const struct kp_metadata_topic *t = &r->topics[i];
        sz += (size_t)(t->name.len > 0 ? t->name.len : 0) + 1;
        sz += (size_t)t->n_partitions * sizeof(sl_metadata_partition);
        for (int32_t j = 0; j < t->n_partitions; j++)
            sz += (size_t)(t->partitions[j].n_replicas + t->partitions[j].n_isr) * 4;
    }
    sz += 64; /* alignment */
    char *m = calloc(1, sz);
    if (!m)
        return NULL;
    sl_metadata *md = (sl_metadata *)m;
    char *at = m + sizeof(*md);
    /* Arrays first (aligned), then ints, then strings. */
    sl_metadata_broker *bs = (sl_metadata_broker *)at;
    at += (size_t)r->n_brokers * sizeof(*bs);
    sl_metadata_topic *ts = (sl_metadata_topic *)at;
    at += (size_t)r->n_topics * sizeof(*ts);
    sl_metadata_partition *ps = (sl_metadata_partition *)at;
    for (int32_t i = 0; i < r->n_topics; i++)
        at += (size_t)r->topics[i].n_partitions * sizeof(*ps);
    int32_t *ints = (int32_t *)at;
    for (int32_t i = 0; i < r->n_topics; i++)
        for (int32_t j = 0; j < r->topics[i].n_partitions; j++)
            at +=
                (size_t)(r->topics[i].partitions[j].n_replicas + r->topics[i].partitions[j].n_isr) *
                4;
    char *str = at;
#define COPY_STR(dst, s)                                                                           \
    do {                                                                                           \
        size_t l_ = (s).len > 0 ? (size_t)(s).len : 0;                                             \
        if (l_)                                                                                    \
            memcpy(str, (s).ptr, l_);                                                              \
        str[l_] = 0;                                                                               \
        (dst) = str;                                                                               \
        str += l_ + 1;                                                                             \
    } while (0)
    md->broker_cnt = r->n_brokers;
    md->brokers = bs;
    for (int32_t i = 0; i < r->n_brokers; i++) {
        bs[i].id = r->brokers[i].node_id;
        bs[i].port = r->brokers[i].port;
        COPY_STR(bs[i].host, r->brokers[i].host);
    }
    md->controller_id = r->controller_id;
    COPY_STR(md->cluster_id, r->cluster_id);
    md->topic_cnt = r->n_topics;
    md->topics = ts;
    for (int32_t i = 0; i < r->n_topics; i++) {
        const struct kp_metadata_topic *t = &r->topics[i];
        COPY_STR(ts[i].topic, t->name);
        ts[i].err = (sl_err)t->error_code;
        ts[i].partition_cnt = t->n_partitions;
        ts[i].partitions = ps;
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_metadata_partition *p = &t->partitions[j];
            sl_metadata_partition *o = &ps[j];
            o->id = p->partition_index;
            o->err = (sl_err)p->error_code;
            o->leader = p->leader_id;
            o->replica_cnt = p->n_replicas;
            o->replicas = ints;
            for (int32_t k = 0; k < p->n_replicas; k++)
                *ints++ = p->replicas[k];
            o->isr_cnt = p->n_isr;
            o->isrs = ints;
            for (int32_t k = 0; k < p->n_isr; k++)
                *ints++ = p->isr[k];
        }
        ps += t->n_partitions;
    }
#undef COPY_STR
    return md;
}

static void md_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    struct query *q = req->ctx;
    if (request_done(q))
        return;
    if (err || !f) {
        q->err = err ? err : -EBADMSG;
        return;
    }
    struct kp_metadata_resp r;
    struct kp_arena *a = sl__arena(cl, f->len);
    struct kp_rd rd;
    kp_rd_init(&rd, f->body, f->len);
    int rc = a ? kp_metadata_resp_decode(&rd, req->api_version, a, &r) : -ENOMEM;
    if (rc) {
        q->err = rc == -ENOMEM ? -ENOMEM : -EBADMSG;
        return;
    }
    q->md = md_copy(&r);
    if (!q->md)
        q->err = -ENOMEM;
}

static int enc_md(struct kp_wr *wr, const void *m)
{
    return kp_metadata_req_encode(wr, SL__V_METADATA, m);
}

sl_err sl__metadata_query(struct sl__client *cl, const char *topic, int timeout_ms,
                          sl_metadata **out)
{
    if (!out || (topic && (!*topic || strlen(topic) > 249)))
        return SL_ERR__INVALID_ARG;
    *out = NULL;
    int64_t deadline = sl__now_ms() + (timeout_ms < 0 ? cl->conf->request_timeout_ms : timeout_ms);
    struct query *q = calloc(1, sizeof(*q));
    if (!q)
        return SL_ERR__NO_MEMORY;
    struct kp_str name = topic ? kp_str_of(topic) : KP_STR_NULL;
    struct kp_metadata_req req = {.n_topics = topic ? 1 : -1,
                                  .topics = topic ? &name : NULL,
                                  .allow_auto_topic_creation = false};
    struct sl__conn *conn = NULL;
    while (!(conn = sl__any_conn(cl))) { /* connecting (name resolution) happens here */
        if (sl__now_ms() >= deadline) {
            query_free(q);
            return cl->conn_fail ? sl__err_from_errno(cl->conn_fail) : SL_ERR__TIMED_OUT;
        }
        cl->turn(cl, 50);
    }
    struct sl__req *r = sl__req_get(cl);
    int err = r ? sl__req_begin(cl, r, KP_API_METADATA, SL__V_METADATA) : -ENOMEM;
    if (!err)
        err = sl__req_body(r, 16 + (topic ? strlen(topic) : 0), enc_md, &req);
    if (!err)
        err = sl__req_end(r);
    if (err) {
        if (r)
            sl__req_put(cl, r);
        query_free(q);
        return sl__err_from_errno(err);
    }
    r->cb = md_cb;
    r->ctx = q;
    q->pending = 1;
    sl__conn_enqueue(conn, r);
    sl__conn_flush(conn);
    if (wait_query(cl, q, deadline))
        return SL_ERR__TIMED_OUT;
    sl_err e = q->err ? sl__err_from_errno(q->err) : SL_ERR_NO_ERROR;
    if (!e) {
        *out = q->md;
        q->md = NULL;
    }
    query_free(q);
    return e;
}

sl_err sl_producer_metadata(sl_producer *p, const char *topic, int timeout_ms, sl_metadata **out)
{
    if (!p)
        return SL_ERR__INVALID_ARG;
    return sl__metadata_query(sl__producer_client(p), topic, timeout_ms, out);
}

sl_err sl_consumer_metadata(sl_consumer *c, const char *topic, int timeout_ms, sl_metadata **out)
{
    if (!c)
        return SL_ERR__INVALID_ARG;
    return sl__metadata_query(&c->cl, topic, timeout_ms, out);
}

void sl_metadata_free(sl_metadata *md) { free(md); }

/* ---- ListOffsets: watermarks and offsets for times ---------------------------------------- */

static void lo_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    struct query *q = req->ctx;
    if (request_done(q))
        return;
    struct kp_list_offsets_resp r = {0};
    if (!err && f) {
        struct kp_arena *a = sl__arena(cl, f->len);
        struct kp_rd rd;
        kp_rd_init(&rd, f->body, f->len);
        if (!a || kp_list_offsets_resp_decode(&rd, req->api_version, a, &r) != 0)
            err = -EBADMSG;
    }
    if (err && !q->err)
        q->err = err;
    for (int32_t i = 0; !err && i < r.n_topics; i++)
        for (int32_t j = 0; j < r.topics[i].n_partitions; j++) {
            const struct kp_list_offsets_resp_partition *rp = &r.topics[i].partitions[j];
            for (int k = 0; k < q->n; k++) {
                struct lo_part *p = &q->p[k];
                if (p->corr != req->corr || p->partition != rp->partition_index ||
                    !kp_str_same(r.topics[i].name,
                                 (struct kp_str){p->t->name, (int32_t)p->t->name_len}))
                    continue;
                p->ec = rp->error_code;
                p->offset = rp->offset;
            }
        }
}

static int enc_lo(struct kp_wr *wr, const void *m)
{
    return kp_list_offsets_req_encode(wr, SL__V_LIST_OFFSETS, m);
}

/*
 * Sends q's partitions, one ListOffsets per leader and never the same partition twice in one
 * request (Kafka refuses that); the partitions' topic metadata must be known. 0 or -errno.
 */
static int send_list(struct sl__client *cl, struct query *q)
{
    bool *sent = calloc((size_t)q->n, sizeof(bool));
    struct kp_list_offsets_req_topic *topics = calloc((size_t)q->n, sizeof(*topics));
    struct kp_list_offsets_req_partition *parts = calloc((size_t)q->n, sizeof(*parts));
    int err = sent && topics && parts ? 0 : -ENOMEM;
    for (int i = 0; !err && i < q->n; i++) {
        if (sent[i])
            continue;
        struct lo_part *first = &q->p[i];
        if (first->partition >= first->t->n_parts) {
            first->ec = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            sent[i] = true;
            continue;
        }
        int32_t leader = first->t->leaders[first->partition];
        struct sl__conn *conn = sl__conn_for_node(cl, leader);
        if (!conn) {
            first->ec = KP_ERR_LEADER_NOT_AVAILABLE;
            sent[i] = true;
            continue;
        }
        struct sl__req *r = sl__req_get(cl);
        if (!r) {
            err = -ENOMEM;
            break;
        }
        int nt = 0;
        size_t guess = 16;
        for (int k = i; k < q->n; k++) {
            struct lo_part *p = &q->p[k];
            if (sent[k] || p->partition >= p->t->n_parts || p->t->leaders[p->partition] != leader)
                continue;
            bool dup = false; /* this partition already in this request */
            for (int j = 0; j < nt && !dup; j++)
                dup = parts[j].partition_index == p->partition && topics[j].name.ptr == p->t->name;
            if (dup)
                continue;
            parts[nt] = (struct kp_list_offsets_req_partition){
                .partition_index = p->partition, .timestamp = p->ts, .current_leader_epoch = -1};
            topics[nt] = (struct kp_list_offsets_req_topic){
                {p->t->name, (int32_t)p->t->name_len}, 1, &parts[nt]};
            nt++;
            guess += 20 + p->t->name_len;
            sent[k] = true;
            p->corr = -1; /* set below */
        }
        struct kp_list_offsets_req req = {.replica_id = -1, .n_topics = nt, .topics = topics};
        err = sl__req_begin(cl, r, KP_API_LIST_OFFSETS, SL__V_LIST_OFFSETS);
        if (!err)
            err = sl__req_body(r, guess, enc_lo, &req);
        if (!err)
            err = sl__req_end(r);
        if (err) {
            sl__req_put(cl, r);
            break;
        }
        for (int k = i; k < q->n; k++)
            if (q->p[k].corr == -1)
                q->p[k].corr = r->corr;
        r->cb = lo_cb;
        r->ctx = q;
        q->pending++;
        if (conn->state == SL__CONN_DOWN)
            sl__conn_ensure(conn);
        sl__conn_enqueue(conn, r);
        sl__conn_flush(conn);
    }
    free(sent);
    free(topics);
    free(parts);
    return err;
}

/* Waits for the metadata of every topic in q (leaders). */
static sl_err topics_known(struct sl__client *cl, struct query *q, int64_t deadline)
{
    for (int i = 0; i < q->n; i++) {
        struct sl__topic *t = q->p[i].t;
        if (t->known && t->n_parts > 0 && !t->stale)
            continue;
        t->stale = true;
        int64_t left = deadline - sl__now_ms();
        int err = sl__metadata_wait(cl, t, left > 0 ? (int)left : 0);
        if (err)
            return sl__err_from_errno(err);
        if (t->n_parts <= 0)
            return t->err ? (sl_err)t->err : SL_ERR__UNKNOWN_TOPIC;
    }
    return SL_ERR_NO_ERROR;
}

/* One ListOffsets round for q; the per-partition answers in q->p. */
static sl_err list_offsets(struct sl__client *cl, struct query *q, int timeout_ms)
{
    int64_t deadline = sl__now_ms() + (timeout_ms < 0 ? cl->conf->request_timeout_ms : timeout_ms);
    sl_err e = topics_known(cl, q, deadline);
    if (e)
        return e;
    for (int i = 0; i < q->n; i++) {
        q->p[i].offset = -1;
        q->p[i].ec = KP_ERR_REQUEST_TIMED_OUT;
        q->p[i].corr = -2; /* not sent */
    }
    int err = send_list(cl, q);
    if (!err && wait_query(cl, q, deadline))
        return SL_ERR__TIMED_OUT; /* q now belongs to the requests */
    if (!err)
        err = q->err;
    return err ? sl__err_from_errno(err) : SL_ERR_NO_ERROR;
}

sl_err sl_consumer_query_watermark_offsets(sl_consumer *c, const char *topic, int32_t partition,
                                           int64_t *low, int64_t *high, int timeout_ms)
{
    if (!c || !topic || !*topic || partition < 0 || !low || !high)
        return SL_ERR__INVALID_ARG;
    struct sl__topic *t = sl__topic_get(&c->cl, topic);
    struct query *q = calloc(1, sizeof(*q));
    if (q)
        q->p = calloc(2, sizeof(*q->p));
    if (!t || !q || !q->p) {
        query_free(q);
        return SL_ERR__NO_MEMORY;
    }
    /* Two requests: the same partition cannot be asked twice in one. */
    q->n = 2;
    q->p[0] = (struct lo_part){t, partition, KP_LIST_OFFSETS_EARLIEST, -1, 0, 0};
    q->p[1] = (struct lo_part){t, partition, KP_LIST_OFFSETS_LATEST, -1, 0, 0};
    sl_err e = list_offsets(&c->cl, q, timeout_ms);
    if (e == SL_ERR__TIMED_OUT && q->abandoned)
        return e;
    if (!e)
        e = q->p[0].ec ? (sl_err)q->p[0].ec : (sl_err)q->p[1].ec;
    if (!e) {
        *low = q->p[0].offset;
        *high = q->p[1].offset;
        struct cpart *cp = sl__cpart_find(c, t->name, t->name_len, partition);
        if (cp) {
            cp->log_start = *low;
            cp->high_watermark = *high;
        }
    }
    query_free(q);
    return e;
}

sl_err sl_consumer_get_watermark_offsets(sl_consumer *c, const char *topic, int32_t partition,
                                         int64_t *low, int64_t *high)
{
    if (!c || !topic || !low || !high)
        return SL_ERR__INVALID_ARG;
    const struct cpart *cp = sl__cpart_find(c, topic, strlen(topic), partition);
    if (!cp)
        return SL_ERR__UNKNOWN_PARTITION;
    *low = cp->log_start;
    *high = cp->high_watermark;
    return SL_ERR_NO_ERROR;
}

sl_err sl_consumer_offsets_for_times(sl_consumer *c, sl_topic_partition *parts, size_t n,
                                     int timeout_ms)
{
    if (!c || (!parts && n) || n > INT32_MAX)
        return SL_ERR__INVALID_ARG;
    if (n == 0)
        return SL_ERR_NO_ERROR;
    struct query *q = calloc(1, sizeof(*q));
    if (q)
        q->p = calloc(n, sizeof(*q->p));
    if (!q || !q->p) {
        query_free(q);
        return SL_ERR__NO_MEMORY;
    }
    for (size_t i = 0; i < n; i++) {
        if (!parts[i].topic || !*parts[i].topic || parts[i].partition < 0 || parts[i].offset < 0) {
            query_free(q);
            return SL_ERR__INVALID_ARG;
        }
        struct sl__topic *t = sl__topic_get(&c->cl, parts[i].topic);
        if (!t) {
            query_free(q);
            return SL_ERR__NO_MEMORY;
        }
        q->p[q->n++] = (struct lo_part){t, parts[i].partition, parts[i].offset, -1, 0, 0};
    }
    /* The same partition twice goes out in separate requests (send_list): fine. */
    sl_err e = list_offsets(&c->cl, q, timeout_ms);
    if (e == SL_ERR__TIMED_OUT && q->abandoned)
        return e;
    if (!e) {
        for (size_t i = 0; i < n; i++) {
            parts[i].err = (sl_err)q->p[i].ec;
            parts[i].offset = q->p[i].ec ? -1 : q->p[i].offset;
        }
    }
    query_free(q);
    return e;
}
