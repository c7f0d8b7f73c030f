/*
 * sl_commit.c — a consumer's committed offsets (sl_cons.h): OffsetCommit v5 for auto, sync and
 * async commits, OffsetFetch v4 for the starting positions of group-assigned partitions and for
 * sl_consumer_committed. Both go to the group coordinator (sl_group.c finds it).
 *
 * A commit is a list of (topic, partition, offset, metadata) made when it is asked for (the
 * positions at that moment) and queued; it is sent once the coordinator is known, with the
 * member id and generation of the current group generation (none, -1 for a consumer that
 * assigns its own partitions). A coordinator error or a lost connection sends it again while
 * request.timeout.ms allows; a rebalance error (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID) fails it and makes the consumer rejoin. A sync commit waits for its result
 * by driving I/O; an async one (auto commits too) ends in the offset commit callback from a
 * later poll.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl_cons.h"

enum { V_OFFSET_COMMIT = 5, V_OFFSET_FETCH = 4 };

struct cpos {
    struct sl__topic *t;
    int32_t partition;
    int64_t offset;
    char *meta; /* NULL: none */
    size_t meta_len;
    sl_err err;
};

struct sl__commit {
    struct sl__commit *next;
    bool async;
    bool sent;
    bool done;
    bool abandoned; /* a sync commit that timed out while its request was out: freed by it */
    sl_err err;
    int64_t deadline_ms;
    int n;
    struct cpos *p;
};

static void commit_free(struct sl__commit *k)
{
    for (int i = 0; i < k->n; i++)
        free(k->p[i].meta);
    free(k->p);
    free(k);
}

static struct sl__commit *commit_new(int n)
{
    struct sl__commit *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    k->p = calloc((size_t)(n ? n : 1), sizeof(*k->p));
    if (!k->p) {
        free(k);
        return NULL;
    }
    return k;
}

void sl__commit_free(sl_consumer *c)
{
    while (c->commits) {
        struct sl__commit *k = c->commits;
        c->commits = k->next;
        commit_free(k);
    }
}

static void unlink_commit(sl_consumer *c, struct sl__commit *k)
{
    for (struct sl__commit **pk = &c->commits; *pk; pk = &(*pk)->next)
        if (*pk == k) {
            *pk = k->next;
            return;
        }
}

/* A commit is over: an async one becomes a callback (served by sl__commit_serve). */
static void finish(sl_consumer *c, struct sl__commit *k, sl_err err)
{
    k->done = true;
    k->err = err;
    if (!k->async)
        return; /* the caller waiting in sync_wait takes it */
    unlink_commit(c, k);
    if (c->cl.conf->offset_commit_cb) {
        struct sl__commit_done *d = malloc(sizeof(*d) + (size_t)k->n * sizeof(sl_topic_partition));
        if (d) {
            d->next = NULL;
            d->err = err;
            d->n = (size_t)k->n;
            for (int i = 0; i < k->n; i++)
                d->parts[i] = (sl_topic_partition){.topic = k->p[i].t->name,
                                                   .partition = k->p[i].partition,
                                                   .offset = k->p[i].offset,
                                                   .err = k->p[i].err};
            if (c->commits_done_tail)
                c->commits_done_tail->next = d;
            else
                c->commits_done = d;
            c->commits_done_tail = d;
        }
    }
    commit_free(k);
}

static void commit_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    sl_consumer *c = cl->owner;
    struct sl__commit *k = req->ctx;
    if (k->abandoned) {
        commit_free(k);
        return;
    }
    struct kp_offset_commit_resp resp = {0};
    if (!err && f) {
        struct kp_arena *a = sl__arena(cl, f->len);
        struct kp_rd rd;
        kp_rd_init(&rd, f->body, f->len);
        if (!a || kp_offset_commit_resp_decode(&rd, req->api_version, a, &resp) != 0)
            err = -EBADMSG;
    }
    if (err) {
        /* The coordinator's connection failed or answered nonsense: try it again. */
        sl__group_coordinator_lost(c);
        k->sent = false;
        if (sl__now_ms() >= k->deadline_ms)
            finish(c, k, sl__err_from_errno(err));
        return;
    }
    int16_t first = 0;
    bool retry = false;
    for (int i = 0; i < k->n; i++)
        k->p[i].err = SL_ERR__BAD_MSG; /* unless the answer mentions it */
    for (int32_t i = 0; i < resp.n_topics; i++) {
        const struct kp_offset_commit_resp_topic *t = &resp.topics[i];
        for (int32_t j = 0; j < t->n_partitions; j++) {
            int16_t ec = t->partitions[j].error_code;
            for (int q = 0; q < k->n; q++) {
                struct cpos *p = &k->p[q];
                if (p->partition != t->partitions[j].partition_index ||
                    !kp_str_same(t->name, (struct kp_str){p->t->name, (int32_t)p->t->name_len}))
                    continue;
                p->err = (sl_err)ec;
                if (ec == 0) {
                    struct cpart *cp = sl__cpart_find(c, p->t->name, p->t->name_len, p->partition);
                    if (cp) {
                        cp->committed = p->offset;
                        cp->commit_sent = p->offset;
                    }
                }
            }
            if (ec != 0 && !first)
                first = ec;
            if (ec == KP_ERR_NOT_COORDINATOR || ec == KP_ERR_COORDINATOR_NOT_AVAILABLE ||
                ec == KP_ERR_COORDINATOR_LOAD_IN_PROGRESS || ec == KP_ERR_REQUEST_TIMED_OUT)
                retry = true;
        }
    }
    if (retry && sl__now_ms() < k->deadline_ms) {
        sl__group_coordinator_lost(c);
        k->sent = false;
        return;
    }
    sl_err e = SL_ERR_NO_ERROR;
    for (int i = 0; i < k->n && !e; i++)
        e = k->p[i].err;
    if (first)
        sl__group_commit_refused(c, first);
    finish(c, k, e);
}

static int enc_commit(struct kp_wr *wr, const void *m)
{
    return kp_offset_commit_req_encode(wr, V_OFFSET_COMMIT, m);
}

/* Sends k to the coordinator (known): 0 or -errno. */
static int send_one(sl_consumer *c, struct sl__conn *coord, struct sl__commit *k)
{
    struct kp_offset_commit_req_topic *topics = calloc((size_t)k->n, sizeof(*topics));
    struct kp_offset_commit_req_partition *parts = calloc((size_t)k->n, sizeof(*parts));
    struct sl__req *r = topics && parts ? sl__req_get(&c->cl) : NULL;
    int err = r ? 0 : -ENOMEM;
    int nt = 0;
    size_t guess = 64 + strlen(c->cl.conf->group_id);
    /* Partitions grouped by topic, in the order the topics first appear. */
    int np = 0;
    for (int i = 0; !err && i < k->n; i++) {
        bool seen = false;
        for (int q = 0; q < i && !seen; q++)
            seen = k->p[q].t == k->p[i].t;
        if (seen)
            continue;
        struct kp_offset_commit_req_topic *t = &topics[nt++];
        t->name = (struct kp_str){k->p[i].t->name, (int32_t)k->p[i].t->name_len};
        t->partitions = &parts[np];
        guess += 8 + k->p[i].t->name_len;
        for (int q = i; q < k->n; q++) {
            if (k->p[q].t != k->p[i].t)
                continue;
            parts[np++] = (struct kp_offset_commit_req_partition){
                .partition_index = k->p[q].partition,
                .committed_offset = k->p[q].offset,
                .commit_timestamp = -1,
                .committed_metadata = k->p[q].meta
                                          ? (struct kp_str){k->p[q].meta, (int32_t)k->p[q].meta_len}
                                          : KP_STR_NULL,
            };
            t->n_partitions++;
            guess += 16 + k->p[q].meta_len;
        }
    }
    struct kp_offset_commit_req req = {.group_id = kp_str_of(c->cl.conf->group_id),
                                       .retention_time_ms = -1,
                                       .n_topics = nt,
                                       .topics = topics};
    sl__group_identity(c, &req.member_id, &req.generation_id);
    guess += (size_t)(req.member_id.len > 0 ? req.member_id.len : 0);
    if (!err)
        err = sl__req_begin(&c->cl, r, KP_API_OFFSET_COMMIT, V_OFFSET_COMMIT);
    if (!err)
        err = sl__req_body(r, guess, enc_commit, &req);
    if (!err)
        err = sl__req_end(r);
    free(topics);
    free(parts);
    if (err) {
        if (r)
            sl__req_put(&c->cl, r);
        return err;
    }
    r->cb = commit_cb;
    r->ctx = k;
    k->sent = true;
    if (coord->state == SL__CONN_DOWN)
        sl__conn_ensure(coord);
    sl__conn_enqueue(coord, r);
    sl__conn_flush(coord);
    return 0;
}

void sl__commit_send(sl_consumer *c)
{
    int64_t now = sl__now_ms();
    struct sl__commit *next;
    for (struct sl__commit *k = c->commits; k; k = next) {
        next = k->next;
        if (k->sent || k->done)
            continue;
        if (now >= k->deadline_ms) {
            finish(c, k, SL_ERR__TIMED_OUT);
            continue;
        }
        struct sl__conn *coord = sl__group_coordinator(c);
        if (!coord)
            return;
        int err = send_one(c, coord, k);
        if (err)
            finish(c, k, sl__err_from_errno(err));
    }
}

/* Queues k; a sync commit waits for its result (driving I/O). */
static sl_err submit(sl_consumer *c, struct sl__commit *k)
{
    k->deadline_ms = sl__now_ms() + c->cl.conf->request_timeout_ms;
    k->next = c->commits;
    c->commits = k;
    if (!c->g) {
        finish(c, k, SL_ERR__INVALID_ARG);
        if (!k->async) {
            unlink_commit(c, k);
            commit_free(k);
        }
        return SL_ERR__INVALID_ARG;
    }
    sl__commit_send(c);
    if (k->async)
        return SL_ERR_NO_ERROR;
    while (!k->done) {
        int64_t left = k->deadline_ms + 1000 - sl__now_ms(); /* the request's own timeout */
        if (left <= 0) {
            unlink_commit(c, k);
            if (k->sent)
                k->abandoned = true; /* its request frees it when it completes */
            else
                commit_free(k);
            return SL_ERR__TIMED_OUT;
        }
        sl__cons_turn(c, (int)(left < 100 ? left : 100));
    }
    sl_err err = k->err;
    unlink_commit(c, k);
    commit_free(k);
    return err;
}

sl_err sl__commit_positions(sl_consumer *c, bool async, bool only_changed,
                            struct cpart *const *only, int n_only)
{
    int n = only ? n_only : c->n_parts;
    struct sl__commit *k = commit_new(n);
    if (!k)
        return SL_ERR__NO_MEMORY;
    k->async = async;
    for (int i = 0; i < n; i++) {
        struct cpart *cp = only ? only[i] : c->parts[i];
        if (!cp->assigned || (cp->st != CP_ACTIVE && cp->st != CP_PARKED) || cp->pos < 0)
            continue;
        if (only_changed && cp->commit_sent == cp->pos)
            continue;
        k->p[k->n++] = (struct cpos){cp->t, cp->partition, cp->pos, NULL, 0, 0};
    }
    if (k->n == 0) {
        commit_free(k);
        return SL_ERR__NO_OFFSET;
    }
    return submit(c, k);
}

sl_err sl_consumer_commit(sl_consumer *c, const sl_topic_partition *offsets, size_t n, int async)
{
    if (!c || (offsets == NULL && n != 0) || n > INT32_MAX)
        return SL_ERR__INVALID_ARG;
    if (!c->g)
        return SL_ERR__INVALID_ARG; /* no group.id */
    if (!offsets)
        return sl__commit_positions(c, async != 0, false, NULL, 0);
    if (n == 0)
        return SL_ERR__NO_OFFSET;
    struct sl__commit *k = commit_new((int)n);
    if (!k)
        return SL_ERR__NO_MEMORY;
    k->async = async != 0;
    for (size_t i = 0; i < n; i++) {
        const sl_topic_partition *o = &offsets[i];
        if (!o->topic || !*o->topic || o->partition < 0 || o->metadata_len > INT16_MAX ||
            (o->metadata_len && !o->metadata)) {
            commit_free(k);
            return SL_ERR__INVALID_ARG;
        }
        if (o->offset < 0)
            continue; /* no position (SL_OFFSET_INVALID): nothing to commit for it */
        struct sl__topic *t = sl__topic_get(&c->cl, o->topic);
        if (!t) {
            commit_free(k);
            return SL_ERR__NO_MEMORY;
        }
        struct cpos *p = &k->p[k->n++];
        *p = (struct cpos){t, o->partition, o->offset, NULL, 0, 0};
        if (o->metadata) {
            p->meta = malloc(o->metadata_len + 1);
            if (!p->meta) {
                commit_free(k);
                return SL_ERR__NO_MEMORY;
            }
            memcpy(p->meta, o->metadata, o->metadata_len);
            p->meta_len = o->metadata_len;
        }
    }
    if (k->n == 0) {
        commit_free(k);
        return SL_ERR__NO_OFFSET;
    }
    return submit(c, k);
}

void sl__commit_serve(sl_consumer *c)
{
    while (c->commits_done) {
        struct sl__commit_done *d = c->commits_done;
        c->commits_done = d->next;
        if (!c->commits_done)
            c->commits_done_tail = NULL;
        const sl_conf *cf = c->cl.conf;
        if (cf->offset_commit_cb)
            cf->offset_commit_cb(c, d->err, d->parts, d->n, cf->opaque);
        free(d);
    }
}

void sl__commit_drain(sl_consumer *c, int timeout_ms)
{
    int64_t deadline = sl__now_ms() + timeout_ms;
    while (c->commits && sl__now_ms() < deadline)
        sl__cons_turn(c, 50);
}

/* ---- OffsetFetch ---------------------------------------------------------------------------- */

/* One OffsetFetch: the partitions asked for, and what came back. */
struct ofetch {
    bool starts; /* for the partitions' starting positions (else for sl_consumer_committed) */
    bool done;
    bool abandoned; /* sl_consumer_committed gave up waiting: the request frees it */
    sl_err err;
    int n;
    struct cpos *p; /* offset -1 until answered; meta copied */
};

static int enc_ofetch(struct kp_wr *wr, const void *m)
{
    return kp_offset_fetch_req_encode(wr, V_OFFSET_FETCH, m);
}

static void ofetch_free(struct ofetch *o)
{
    for (int i = 0; o && i < o->n; i++)
        free(o->p[i].meta);
    if (o)
        free(o->p);
    free(o);
}

/* The answer for a starting position: where the partition starts. */
static void start_at(sl_consumer *c, struct cpos *p, int32_t corr, int16_t ec)
{
    struct cpart *cp = sl__cpart_find(c, p->t->name, p->t->name_len, p->partition);
    if (!cp || !cp->assigned || cp->st != CP_COMMITTED_ASKED || cp->committed_corr != corr)
        return;
    if (ec != 0) {
        cp->st = CP_NEED_COMMITTED;
        cp->retry_at_ms = sl__now_ms() + c->cl.conf->retry_backoff_ms;
        if (ec != KP_ERR_UNSTABLE_OFFSET_COMMIT && ec != KP_ERR_COORDINATOR_LOAD_IN_PROGRESS &&
            ec != KP_ERR_NOT_COORDINATOR && ec != KP_ERR_COORDINATOR_NOT_AVAILABLE)
            sl__cons_event(c, cp, (sl_err)ec, -1, -1);
        return;
    }
    cp->committed = p->offset >= 0 ? p->offset : SL_OFFSET_INVALID;
    cp->commit_sent = cp->committed;
    if (p->offset >= 0) {
        sl__cpart_start(c, cp, p->offset);
        return;
    }
    /* Nothing committed: auto.offset.reset. */
    int reset = c->cl.conf->auto_offset_reset;
    if (reset == SL__RESET_ERROR) {
        cp->st = CP_PARKED;
        sl__cons_event(c, cp, SL_ERR__AUTO_OFFSET_RESET, -1, -1);
        return;
    }
    sl__cpart_start(c, cp, reset == SL__RESET_EARLIEST ? SL_OFFSET_BEGINNING : SL_OFFSET_END);
}

static void ofetch_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    sl_consumer *c = cl->owner;
    struct ofetch *o = req->ctx;
    if (o->abandoned) {
        ofetch_free(o);
        return;
    }
    struct kp_offset_fetch_resp resp = {0};
    if (!err && f) {
        struct kp_arena *a = sl__arena(cl, f->len);
        struct kp_rd rd;
        kp_rd_init(&rd, f->body, f->len);
        if (!a || kp_offset_fetch_resp_decode(&rd, req->api_version, a, &resp) != 0)
            err = -EBADMSG;
    }
    int16_t top = err ? KP_ERR_COORDINATOR_NOT_AVAILABLE : resp.error_code;
    if (err ||
        (top != 0 && (top == KP_ERR_NOT_COORDINATOR || top == KP_ERR_COORDINATOR_NOT_AVAILABLE)))
        sl__group_coordinator_lost(c);
    for (int i = 0; i < o->n; i++)
        o->p[i].err = top ? (sl_err)top : SL_ERR__BAD_MSG;
    for (int32_t i = 0; !top && i < resp.n_topics; i++) {
        const struct kp_offset_fetch_resp_topic *t = &resp.topics[i];
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_offset_fetch_resp_partition *rp = &t->partitions[j];
            for (int q = 0; q < o->n; q++) {
                struct cpos *p = &o->p[q];
                if (p->partition != rp->partition_index ||
                    !kp_str_same(t->name, (struct kp_str){p->t->name, (int32_t)p->t->name_len}))
                    continue;
                p->err = (sl_err)rp->error_code;
                p->offset = rp->committed_offset;
                if (!o->starts && rp->metadata.len > 0) {
                    p->meta = malloc((size_t)rp->metadata.len);
                    if (p->meta) {
                        memcpy(p->meta, rp->metadata.ptr, (size_t)rp->metadata.len);
                        p->meta_len = (size_t)rp->metadata.len;
                    }
                }
            }
        }
    }
    if (o->starts) {
        for (int i = 0; i < o->n; i++)
            start_at(c, &o->p[i], req->corr,
                     o->p[i].err == SL_ERR__BAD_MSG ? KP_ERR_COORDINATOR_NOT_AVAILABLE
                                                    : (int16_t)o->p[i].err);
        ofetch_free(o);
        return;
    }
    o->done = true;
    o->err = err ? sl__err_from_errno(err) : (sl_err)top;
}

/* Sends an OffsetFetch for o's partitions to coord; corr_out: its correlation id. */
static int send_ofetch(sl_consumer *c, struct sl__conn *coord, struct ofetch *o, int32_t *corr_out)
{
    struct kp_offset_fetch_req_topic *topics = calloc((size_t)o->n, sizeof(*topics));
    int32_t *ids = calloc((size_t)o->n, sizeof(*ids));
    struct sl__req *r = topics && ids ? sl__req_get(&c->cl) : NULL;
    int err = r ? 0 : -ENOMEM;
    int nt = 0, ni = 0;
    size_t guess = 32 + strlen(c->cl.conf->group_id);
    for (int i = 0; !err && i < o->n; i++) {
        bool seen = false;
        for (int q = 0; q < i && !seen; q++)
            seen = o->p[q].t == o->p[i].t;
        if (seen)
            continue;
        struct kp_offset_fetch_req_topic *t = &topics[nt++];
        t->name = (struct kp_str){o->p[i].t->name, (int32_t)o->p[i].t->name_len};
        t->partition_indexes = &ids[ni];
        guess += 8 + o->p[i].t->name_len;
        for (int q = i; q < o->n; q++)
            if (o->p[q].t == o->p[i].t) {
                ids[ni++] = o->p[q].partition;
                t->n_partition_indexes++;
                guess += 4;
            }
    }
    struct kp_offset_fetch_req req = {
        .group_id = kp_str_of(c->cl.conf->group_id), .n_topics = nt, .topics = topics};
    if (!err)
        err = sl__req_begin(&c->cl, r, KP_API_OFFSET_FETCH, V_OFFSET_FETCH);
    if (!err)
        err = sl__req_body(r, guess, enc_ofetch, &req);
    if (!err)
        err = sl__req_end(r);
    free(topics);
    free(ids);
    if (err) {
        if (r)
            sl__req_put(&c->cl, r);
        return err;
    }
    r->cb = ofetch_cb;
    r->ctx = o;
    *corr_out = r->corr;
    if (coord->state == SL__CONN_DOWN)
        sl__conn_ensure(coord);
    sl__conn_enqueue(coord, r);
    sl__conn_flush(coord);
    return 0;
}

void sl__commit_fetch_starts(sl_consumer *c)
{
    int64_t now = sl__now_ms();
    int n = 0;
    for (int i = 0; i < c->n_parts; i++) {
        const struct cpart *cp = c->parts[i];
        n += cp->assigned && cp->st == CP_NEED_COMMITTED && cp->retry_at_ms <= now;
    }
    if (!n)
        return;
    struct sl__conn *coord = sl__group_coordinator(c);
    if (!coord)
        return;
    struct ofetch *o = calloc(1, sizeof(*o));
    if (o)
        o->p = calloc((size_t)n, sizeof(*o->p));
    if (!o || !o->p) {
        ofetch_free(o);
        return;
    }
    o->starts = true;
    for (int i = 0; i < c->n_parts; i++) {
        struct cpart *cp = c->parts[i];
        if (cp->assigned && cp->st == CP_NEED_COMMITTED && cp->retry_at_ms <= now)
            o->p[o->n++] = (struct cpos){cp->t, cp->partition, -1, NULL, 0, 0};
    }
    int32_t corr;
    if (send_ofetch(c, coord, o, &corr) != 0) {
        ofetch_free(o);
        return;
    }
    for (int i = 0; i < c->n_parts; i++) {
        struct cpart *cp = c->parts[i];
        if (cp->assigned && cp->st == CP_NEED_COMMITTED && cp->retry_at_ms <= now) {
            cp->st = CP_COMMITTED_ASKED;
            cp->committed_corr = corr;
        }
    }
}

sl_err sl_consumer_committed(sl_consumer *c, sl_topic_partition *parts, size_t n, int timeout_ms)
{
    if (!c || (!parts && n) || n > INT32_MAX)
        return SL_ERR__INVALID_ARG;
    if (!c->g)
        return SL_ERR__INVALID_ARG;
    if (n == 0)
        return SL_ERR_NO_ERROR;
    struct ofetch *o = calloc(1, sizeof(*o));
    if (o)
        o->p = calloc(n, sizeof(*o->p));
    if (!o || !o->p) {
        ofetch_free(o);
        return SL_ERR__NO_MEMORY;
    }
    for (size_t i = 0; i < n; i++) {
        if (!parts[i].topic || !*parts[i].topic || parts[i].partition < 0) {
            ofetch_free(o);
            return SL_ERR__INVALID_ARG;
        }
        struct sl__topic *t = sl__topic_get(&c->cl, parts[i].topic);
        if (!t) {
            ofetch_free(o);
            return SL_ERR__NO_MEMORY;
        }
        o->p[o->n++] = (struct cpos){t, parts[i].partition, -1, NULL, 0, 0};
    }
    int64_t deadline =
        sl__now_ms() + (timeout_ms < 0 ? c->cl.conf->request_timeout_ms : timeout_ms);
    bool sent = false;
    for (;;) {
        if (!sent) {
            struct sl__conn *coord = sl__group_coordinator(c);
            int32_t corr;
            if (coord) {
                if (send_ofetch(c, coord, o, &corr) != 0) {
                    ofetch_free(o);
                    return SL_ERR__NO_MEMORY;
                }
                sent = true;
            }
        }
        if (o->done)
            break;
        int64_t left = deadline - sl__now_ms();
        if (left <= 0) {
            if (sent)
                o->abandoned = true; /* the request still holds o and frees it */
            else
                ofetch_free(o);
            return SL_ERR__TIMED_OUT;
        }
        sl__cons_turn(c, (int)(left < 100 ? left : 100));
    }
    /* Results; metadata copied into the consumer's scratch (valid until the next call). */
    size_t need = 0;
    for (int i = 0; i < o->n; i++)
        need += o->p[i].meta_len;
    c->scratch.len = 0;
    if (need && sl__bytes_reserve(&c->scratch, need)) {
        ofetch_free(o);
        return SL_ERR__NO_MEMORY;
    }
    for (int i = 0; i < o->n; i++) {
        parts[i].offset = o->p[i].offset >= 0 ? o->p[i].offset : SL_OFFSET_INVALID;
        parts[i].err = o->p[i].err;
        parts[i].metadata = NULL;
        parts[i].metadata_len = 0;
        if (o->p[i].meta_len) {
            memcpy(c->scratch.p + c->scratch.len, o->p[i].meta, o->p[i].meta_len);
            parts[i].metadata = c->scratch.p + c->scratch.len;
            parts[i].metadata_len = o->p[i].meta_len;
            c->scratch.len += o->p[i].meta_len;
        }
    }
    sl_err err = o->err;
    ofetch_free(o);
    return err;
}
