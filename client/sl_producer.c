/*
 * sl_producer.c — the asynchronous producer.
 *
 * Flow: sl_produce appends the record to its partition's open batch (sl_accum.c). A turn of
 * the producer (sl_poll, sl_flush, or sl_produce when a batch fills up) closes batches whose
 * linger.ms expired and that no earlier batch of their partition waits ahead of, then for each
 * broker with fewer than max.in.flight requests outstanding builds one Produce v7 request holding
 * the head batch of every ready partition it leads (one batch per partition per request, as Kafka
 * requires), written with writev straight from the batch buffers. Responses complete batches;
 * completed batches wait on the done list until sl_poll runs their records' delivery callbacks, on
 * the application's thread.
 *
 * Unknown metadata: sl_produce never waits for the network. A record for a topic whose
 * partitions are not known yet is appended to the topic's pending batches (partition -1, the
 * requested partition kept per record in want[]); when the metadata arrives they are moved,
 * in produce order, into their partitions' batches (the partitioner runs then), or fail all
 * together with the topic's error; message.timeout.ms (delivery.timeout.ms) bounds the wait.
 * A batch that fills up in sl_produce is written at once, but only to a connection already up:
 * connecting (and resolving a name) happens from sl_poll and sl_flush.
 *
 * Retries: a batch that failed with a retriable error (lost connection, NOT_LEADER, ...) waits
 * until nothing else of its partition is on the wire, then goes back to the head of the
 * partition's queue with the other waiting batches, in their original order, after
 * retry.backoff.ms (sl__ppart_answer). Should a batch sent after it succeed meanwhile, a
 * retry would reorder the log, so it is reported failed instead. Nothing is reported
 * delivered without a response that says so (acks=0 excepted: offset -1, delivered when
 * written).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "sl_accum.h"
#include "sl_int.h"
#include "sl_prod.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct sl__ptopic *ptopic(struct sl__topic *t) { return t->prod; }

/* Makes the per-partition array match the topic's partition count (never shrinks). */
static int ptopic_sync(struct sl__topic *t)
{
    struct sl__ptopic *pt = t->prod;
    if (!pt) {
        pt = calloc(1, sizeof(*pt));
        if (!pt)
            return -ENOMEM;
        pt->sticky = -1;
        t->prod = pt;
    }
    if (t->n_parts > pt->n) {
        struct sl__ppart *p = realloc(pt->parts, (size_t)t->n_parts * sizeof(*p));
        if (!p)
            return -ENOMEM;
        memset(p + pt->n, 0, (size_t)(t->n_parts - pt->n) * sizeof(*p));
        pt->parts = p;
        pt->n = t->n_parts;
    }
    return 0;
}

static void drain_pending(sl_producer *p, struct sl__topic *t);
static void turn(sl_producer *p, int timeout_ms);
static void client_turn(struct sl__client *cl, int timeout_ms);

static void on_metadata(struct sl__client *cl)
{
    sl_producer *p = cl->owner;
    for (int i = 0; i < cl->n_topics; i++) {
        struct sl__topic *t = cl->topics[i];
        if (t->prod && t->n_parts > 0)
            ptopic_sync(t);
        if (t->prod)
            drain_pending(p, t);
    }
}

/* compression.level within what the codec takes (-1: its default), as librdkafka clamps it. */
static int codec_level(int codec, int level)
{
    static const int max[] = {0, 9, 0, 12, 22};
    if (level < 0 || codec <= 0 || codec > KP_CODEC_ZSTD || codec == KP_CODEC_SNAPPY)
        return -1;
    if (codec == KP_CODEC_ZSTD && level == 0)
        return -1;
    return level > max[codec] ? max[codec] : level;
}

sl_producer *sl_producer_new(sl_conf *conf, char *errstr, size_t errstr_size)
{
    if (!conf) {
        sl__errstr(errstr, errstr_size, "conf must not be NULL");
        return NULL;
    }
    sl_producer *p = calloc(1, sizeof(*p));
    if (!p) {
        sl_conf_free(conf);
        sl__errstr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (sl__client_init(&p->cl, conf, true, errstr, errstr_size) != 0) {
        sl__client_destroy(&p->cl);
        free(p);
        return NULL;
    }
    if (sl__conf_idempotence(conf, errstr, errstr_size) != 0) {
        sl__client_destroy(&p->cl);
        free(p);
        return NULL;
    }
    p->cl.owner = p;
    p->cl.on_metadata = on_metadata;
    p->cl.turn = client_turn;
    sl__accum_init(&p->acc, (size_t)conf->batch_size);
    p->acc.codec = conf->compression_codec;
    p->acc.level = codec_level(conf->compression_codec, conf->compression_level);
    p->acc.z = &p->cl.codecs;
    p->q_max_bytes = (size_t)conf->queue_max_kbytes * 1024;
    p->rnd = (unsigned)sl__now_us();
    sl__idemp_init(p);
    return p;
}

/* ---- completion ------------------------------------------------------------------------- */

static void done_push(sl_producer *p, struct sl__batch *b)
{
    sl__idemp_reported(p, b);
    b->next = NULL;
    if (p->done_tail)
        p->done_tail->next = b;
    else
        p->done_head = b;
    p->done_tail = b;
}

/* sl__ppart_answer's verdict on a batch: to the done list (reports run from sl_poll). */
static void batch_final(void *ctx, struct sl__batch *b, bool ok)
{
    sl_producer *p = ctx;
    if (!ok) {
        if (b->err == SL_ERR_NO_ERROR)
            b->err = SL_ERR__BAD_MSG;
        b->base_offset = -1;
    }
    done_push(p, b);
}

/* A sent batch came back with err (0, a Kafka code or a library code). */
static void batch_result(sl_producer *p, struct sl__batch *b, sl_err err, int64_t base_offset,
                         int64_t append_time)
{
    struct sl__ppart *pp = &ptopic(b->topic)->parts[b->partition];
    int64_t now = sl__now_ms();
    enum sl__answer a;
    if (err == SL_ERR_NO_ERROR)
        a = SL__ANSWER_OK;
    else if (sl_err_is_retriable(err) && !p->destroying && b->attempts <= p->cl.conf->retries &&
             now - b->created_ms < p->cl.conf->delivery_timeout_ms)
        a = SL__ANSWER_RETRY;
    else
        a = SL__ANSWER_FAIL;
    sl__idemp_answer(p, b, &err, &a);
    b->err = a == SL__ANSWER_OK ? SL_ERR_NO_ERROR : err;
    if (a == SL__ANSWER_OK) {
        b->base_offset = base_offset;
        b->log_append_time = append_time;
    }
    if (err == SL_ERR__TRANSPORT || err == SL_ERR__TIMED_OUT ||
        err == SL_ERR_NOT_LEADER_OR_FOLLOWER || err == SL_ERR_LEADER_NOT_AVAILABLE ||
        err == SL_ERR_UNKNOWN_TOPIC_OR_PART) {
        b->topic->stale = true;
        sl__metadata_want(&p->cl);
    }
    int requeued = sl__ppart_answer(pp, b, a, batch_final, p);
    if (requeued) {
        p->cl.stats.retries += (uint64_t)requeued;
        /* Back off from the head of the queue: the whole partition waits. */
        for (struct sl__batch *q = pp->q_head; q && requeued--; q = q->next) {
            q->retry_at_ms = now + p->cl.conf->retry_backoff_ms;
            q->err = SL_ERR_NO_ERROR;
        }
    }
}

static sl_err err_of(int err)
{
    if (err == -ECANCELED)
        return SL_ERR__DESTROYED;
    return err == -ETIMEDOUT ? SL_ERR__TIMED_OUT : SL_ERR__TRANSPORT;
}

static void produce_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    sl_producer *p = cl->owner;
    int n = req->nbatches;
    p->produce_out--;
    if (!req->expect_response && !err) {
        for (int i = 0; i < n; i++)
            batch_result(p, req->batches[i], SL_ERR_NO_ERROR, -1, -1);
        return;
    }
    if (err || !f) {
        /* Newest first within the request too, for the same ordering reason. */
        for (int i = n - 1; i >= 0; i--)
            batch_result(p, req->batches[i], err_of(err), -1, -1);
        return;
    }
    bool seen_stack[64] = {false};
    bool *seen = n <= 64 ? seen_stack : calloc((size_t)n, sizeof(bool));
    struct kp_produce_resp resp = {0};
    struct kp_arena *a = sl__arena(cl, f->len);
    struct kp_rd rd;
    kp_rd_init(&rd, f->body, f->len);
    if (!seen || !a || kp_produce_resp_decode(&rd, req->api_version, a, &resp) != 0)
        resp.n_topics = 0; /* malformed: nothing is known delivered */
    for (int32_t i = 0; i < resp.n_topics; i++) {
        const struct kp_produce_resp_topic *t = &resp.topics[i];
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_produce_resp_partition *rp = &t->partitions[j];
            for (int k = 0; k < n; k++) {
                struct sl__batch *b = req->batches[k];
                if (seen[k] || b->partition != rp->partition_index ||
                    !kp_str_same(t->name,
                                 (struct kp_str){b->topic->name, (int32_t)b->topic->name_len}))
                    continue;
                seen[k] = true;
                int16_t ec = rp->error_code;
                if (ec == 0 && rp->base_offset < 0)
                    ec = SL_ERR_UNKNOWN; /* success without an offset is not success */
                batch_result(p, b, (sl_err)ec, rp->base_offset, rp->log_append_time_ms);
                break;
            }
        }
    }
    /* Batches the response did not mention (or a malformed response): not delivered. */
    for (int k = n - 1; k >= 0; k--)
        if (!seen || !seen[k])
            batch_result(p, req->batches[k], SL_ERR__BAD_MSG, -1, -1);
    if (seen && seen != seen_stack)
        free(seen);
}

/* ---- sending ---------------------------------------------------------------------------- */

static int close_open(sl_producer *p, struct sl__ppart *pp)
{
    struct sl__batch *b = pp->open;
    if (!b)
        return 0;
    pp->open = NULL;
    int err = sl__batch_close(&p->acc, b);
    if (err) {
        b->err = SL_ERR__BAD_MSG;
        done_push(p, b);
        return err;
    }
    sl__ppart_push_tail(pp, b);
    return 0;
}

/* The head pending batch of pt is reported failed with err (every record in it). */
static void fail_pending(sl_producer *p, struct sl__ptopic *pt, sl_err err)
{
    struct sl__batch *b = pt->pend_head;
    pt->pend_head = b->next;
    if (!pt->pend_head)
        pt->pend_tail = NULL;
    long n = kp_batch_finish(&b->b);
    b->size = n > 0 ? (size_t)n : 0;
    b->err = err;
    done_push(p, b);
}

/* Closes lingering batches and fails queued batches past delivery.timeout.ms. */
static void expire(sl_producer *p, int64_t now)
{
    const sl_conf *cf = p->cl.conf;
    /* Destroyed, or failed for good: nothing waits any more. */
    bool dead = p->destroying || p->idemp.state == SL__IDEMP_FATAL;
    sl_err dead_err = p->destroying ? SL_ERR__DESTROYED : SL_ERR__FATAL;
    for (int i = 0; i < p->cl.n_topics; i++) {
        struct sl__ptopic *pt = p->cl.topics[i]->prod;
        if (!pt)
            continue;
        /* Records still waiting for the topic's metadata: message.timeout.ms from the oldest. */
        while (pt->pend_head &&
               (dead || now - pt->pend_head->created_ms >= cf->delivery_timeout_ms))
            fail_pending(p, pt, dead ? dead_err : SL_ERR__MSG_TIMED_OUT);
        for (int32_t j = 0; j < pt->n; j++) {
            struct sl__ppart *pp = &pt->parts[j];
            /* A batch whose linger expired is closed once nothing is queued ahead of it: while
             * earlier batches wait (max.in.flight, backoff) new records join it instead of
             * queueing one small batch each. */
            if (pp->open && (p->flushing || dead ||
                             (!pp->q_head && now - pp->open->created_ms >= cf->linger_ms))) {
                if (pt->sticky == j)
                    pt->sticky = -1;
                close_open(p, pp);
            }
            while (pp->q_head &&
                   (dead || now - pp->q_head->created_ms >= cf->delivery_timeout_ms)) {
                struct sl__batch *b = sl__ppart_pop(pp);
                b->err = dead ? dead_err : SL_ERR__MSG_TIMED_OUT;
                done_push(p, b);
            }
        }
    }
}

/* Builds one Produce request for conn c from every ready partition it leads. */
static int build_request(sl_producer *p, struct sl__conn *c, int64_t now)
{
    struct sl__client *cl = &p->cl;
    struct sl__req *r = NULL;
    int ntopics = 0;
    /* Pass 1: pick the batches. */
    for (int i = 0; i < cl->n_topics; i++) {
        struct sl__topic *t = cl->topics[i];
        struct sl__ptopic *pt = t->prod;
        if (!pt || t->n_parts <= 0)
            continue;
        bool any = false;
        for (int32_t j = 0; j < pt->n && j < t->n_parts; j++) {
            struct sl__ppart *pp = &pt->parts[j];
            struct sl__batch *b = pp->q_head;
            if (!b || pp->held || b->retry_at_ms > now || t->leaders[j] != c->node_id ||
                !sl__idemp_part_ready(p, pp, c->node_id))
                continue;
            if (!r) {
                r = sl__req_get(cl);
                if (!r)
                    return -ENOMEM;
            }
            if (r->nbatches == r->batches_cap) {
                int cap = r->batches_cap ? r->batches_cap * 2 : 16;
                struct sl__batch **nb = realloc(r->batches, (size_t)cap * sizeof(*nb));
                if (!nb)
                    break;
                r->batches = nb;
                r->batches_cap = cap;
            }
            sl__ppart_pop(pp);
            sl__idemp_stamp(p, b);
            r->batches[r->nbatches++] = b;
            any = true;
        }
        ntopics += any;
    }
    if (!r)
        return 0;
    /* Pass 2: encode; batches are grouped by topic already (topic order of pass 1). */
    const int16_t v = SL__V_PRODUCE;
    int err = sl__req_begin(cl, r, KP_API_PRODUCE, v);
    struct kp_wr wr;
    if (!err)
        err = sl__req_wr(r, kp_produce_req_head_size(v, KP_STR_NULL), &wr);
    if (!err)
        err = kp_produce_req_head_encode(&wr, v, KP_STR_NULL, (int16_t)cl->conf->acks,
                                         cl->conf->request_timeout_ms, ntopics);
    if (!err)
        sl__req_wr_done(r, &wr);
    for (int k = 0; k < r->nbatches && !err;) {
        struct sl__topic *t = r->batches[k]->topic;
        struct kp_str name = {t->name, (int32_t)t->name_len};
        int m = k;
        while (m < r->nbatches && r->batches[m]->topic == t)
            m++;
        err = sl__req_wr(r, kp_produce_req_topic_size(v, name), &wr);
        if (!err)
            err = kp_produce_req_topic_encode(&wr, v, name, m - k);
        if (err)
            break;
        sl__req_wr_done(r, &wr);
        for (; k < m && !err; k++) {
            struct sl__batch *b = r->batches[k];
            err = sl__req_wr(r, kp_produce_req_partition_head_size(v), &wr);
            if (!err)
                err = kp_produce_req_partition_head_encode(&wr, v, b->partition,
                                                           (int32_t)b->wire_size);
            if (err)
                break;
            sl__req_wr_done(r, &wr);
            err = sl__req_borrow(r, b->wire, b->wire_size); /* sent from the batch */
        }
    }
    if (!err)
        err = sl__req_end(r);
    if (err) {
        /* Put the batches back in order; nothing was sent. */
        for (int k = r->nbatches - 1; k >= 0; k--) {
            struct sl__batch *b = r->batches[k];
            sl__ppart_push_head(&ptopic(b->topic)->parts[b->partition], b);
        }
        r->nbatches = 0;
        sl__req_put(cl, r);
        return err;
    }
    for (int k = 0; k < r->nbatches; k++) {
        struct sl__batch *b = r->batches[k];
        b->attempts++;
        b->node = c->node_id;
        sl__ppart_sent(&ptopic(b->topic)->parts[b->partition], b);
    }
    cl->stats.batches_sent += (uint64_t)r->nbatches;
    r->cb = produce_cb;
    r->expect_response = cl->conf->acks != 0;
    p->produce_out++;
    sl__conn_enqueue(c, r);
    return 1;
}

/* True when a batch is ready to go to broker node. */
static bool ready_for(sl_producer *p, int32_t node, int64_t now)
{
    for (int i = 0; i < p->cl.n_topics; i++) {
        struct sl__topic *t = p->cl.topics[i];
        struct sl__ptopic *pt = t->prod;
        for (int32_t j = 0; pt && j < pt->n && j < t->n_parts; j++)
            if (pt->parts[j].q_head && !pt->parts[j].held &&
                pt->parts[j].q_head->retry_at_ms <= now && t->leaders[j] == node &&
                sl__idemp_part_ready(p, &pt->parts[j], node))
                return true;
    }
    return false;
}

/* True when some ready batch waits for a partition whose leader is unknown. */
static bool leaderless_ready(sl_producer *p)
{
    for (int i = 0; i < p->cl.n_topics; i++) {
        struct sl__topic *t = p->cl.topics[i];
        struct sl__ptopic *pt = t->prod;
        if (!pt)
            continue;
        for (int32_t j = 0; j < pt->n; j++)
            if (pt->parts[j].q_head &&
                (j >= t->n_parts || !sl__conn_for_node(&p->cl, t->leaders[j])))
                return true;
    }
    return false;
}

static void send_ready(sl_producer *p)
{
    struct sl__client *cl = &p->cl;
    int64_t now = sl__now_ms();
    expire(p, now);
    sl__idemp_turn(p, now);
    bool can_send = sl__idemp_ready(p);
    for (int i = 0; i < cl->n_conns; i++) {
        struct sl__conn *c = cl->conns[i];
        if (c->node_id < 0 || !can_send)
            continue;
        if (c->state == SL__CONN_DOWN && (!ready_for(p, c->node_id, now) || sl__conn_ensure(c)))
            continue;
        while (c->n_out < (uint32_t)cl->conf->max_in_flight && c->state != SL__CONN_DOWN) {
            if (build_request(p, c, now) <= 0)
                break;
        }
        sl__conn_flush(c);
    }
    if (leaderless_ready(p))
        sl__metadata_want(cl);
}

/* Pending records of topics whose metadata is known go to their partitions; topics still
 * unknown keep asking for metadata. */
static void drain_all(sl_producer *p)
{
    for (int i = 0; i < p->cl.n_topics; i++) {
        struct sl__topic *t = p->cl.topics[i];
        struct sl__ptopic *pt = t->prod;
        if (!pt || !pt->pend_head)
            continue;
        drain_pending(p, t);
        if (pt->pend_head && !p->cl.md_inflight)
            sl__metadata_want(&p->cl);
    }
}

/* One producer turn: send, wait up to timeout_ms for I/O, send again. */
static void turn(sl_producer *p, int timeout_ms)
{
    drain_all(p);
    p->fresh = false;
    send_ready(p);
    sl__client_io(&p->cl, timeout_ms);
    send_ready(p);
    p->last_io_us = sl__now_us();
}

/* ---- reports ---------------------------------------------------------------------------- */

static int serve_done(sl_producer *p)
{
    int served = 0;
    const sl_conf *cf = p->cl.conf;
    while (p->done_head) {
        struct sl__batch *b = p->done_head;
        p->done_head = b->next;
        if (!p->done_head)
            p->done_tail = NULL;
        if (b->err == SL_ERR_NO_ERROR)
            p->cl.stats.records_delivered += (uint64_t)b->count;
        else
            p->cl.stats.records_failed += (uint64_t)b->count;
        if (cf->dr_cb) {
            sl_delivery dr = {.err = b->err, .topic = b->topic->name, .partition = b->partition};
            struct kp_batch_hdr hdr;
            struct kp_record_iter it;
            struct kp_record rec;
            bool iter = b->size > 0 && kp_batch_parse_hdr(b->buf, b->size, &hdr) == 0;
            if (iter)
                kp_record_iter_init(&it, b->buf, &hdr);
            for (int32_t i = 0; i < b->count; i++) {
                dr.offset = b->base_offset >= 0 ? b->base_offset + i : -1;
                dr.msg_opaque = b->opq[i];
                dr.key = dr.value = NULL;
                dr.key_len = dr.value_len = 0;
                dr.timestamp = -1;
                if (iter && kp_record_next(&it, &rec) == 1) {
                    dr.timestamp = b->log_append_time >= 0
                                       ? b->log_append_time
                                       : hdr.base_timestamp + rec.timestamp_delta;
                    if (rec.key.len >= 0) {
                        dr.key = rec.key.ptr;
                        dr.key_len = (size_t)rec.key.len;
                    }
                    if (rec.value.len >= 0) {
                        dr.value = rec.value.ptr;
                        dr.value_len = (size_t)rec.value.len;
                    }
                }
                cf->dr_cb(p, &dr, cf->opaque);
                served++;
            }
        } else {
            served += b->count;
        }
        assert(p->q_msgs >= (size_t)b->count && p->q_bytes >= b->bytes);
        p->q_msgs -= (size_t)b->count;
        p->q_bytes -= b->bytes;
        sl__batch_put(&p->acc, b);
    }
    return served;
}

/*
 * linger.ms=0 and records produced since the last turn: the zero-timeout poll turns at once
 * when no request is outstanding, else at most every 100 us (to see the response). Records
 * produced while a request is in flight share the next batch (see expire), so the request rate
 * follows the round trip instead of the record rate, and the delay stays near one round trip.
 */
static bool send_now(const sl_producer *p, int64_t now_us)
{
    if (!p->fresh || p->cl.conf->linger_ms != 0)
        return false;
    if (now_us - p->last_io_us >= 100)
        return true;
    for (int i = 0; i < p->cl.n_conns; i++)
        if (p->cl.conns[i]->n_out > 0)
            return false;
    return true;
}

static void fill_stats(const struct sl__client *cl, sl_stats *out) { *out = cl->stats; }

static void client_turn(struct sl__client *cl, int timeout_ms) { turn(cl->owner, timeout_ms); }

struct sl__client *sl__producer_client(sl_producer *p) { return &p->cl; }

int sl_poll(sl_producer *p, int timeout_ms)
{
    int64_t now_us = sl__now_us();
    int64_t deadline = timeout_ms < 0 ? -1 : sl__now_ms() + timeout_ms;
    /* A zero-timeout poll does I/O at most every millisecond, so a tight produce/poll loop
     * does not turn into one syscall per record; with linger.ms=0 sooner (send_now). */
    if (timeout_ms != 0 || now_us - p->last_io_us >= 1000 || send_now(p, now_us))
        turn(p, 0);
    sl__client_serve(&p->cl, fill_stats);
    int served = serve_done(p);
    while (served == 0 && timeout_ms != 0 && p->q_msgs > 0) {
        int64_t left = deadline < 0 ? 100 : deadline - sl__now_ms();
        if (left <= 0)
            break;
        turn(p, (int)left);
        served = serve_done(p);
    }
    return served;
}

sl_err sl_flush(sl_producer *p, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : sl__now_ms() + timeout_ms;
    p->flushing = true;
    for (;;) {
        turn(p, 0);
        sl__client_serve(&p->cl, fill_stats);
        serve_done(p);
        if (p->q_msgs == 0)
            break;
        int64_t left = deadline < 0 ? 100 : deadline - sl__now_ms();
        if (left <= 0)
            break;
        turn(p, (int)(left < 100 ? left : 100));
        serve_done(p);
        if (p->q_msgs == 0)
            break;
    }
    p->flushing = false;
    sl__client_serve(&p->cl, fill_stats); /* errors raised by the last turn */
    return p->q_msgs == 0 ? SL_ERR_NO_ERROR : SL_ERR__TIMED_OUT;
}

size_t sl_outq_len(const sl_producer *p) { return p->q_msgs; }

void sl_producer_stats(const sl_producer *p, sl_stats *out) { *out = p->cl.stats; }

/* ---- produce ---------------------------------------------------------------------------- */

/* The topic record (not waiting for anything); NULL when out of memory. */
static struct sl__topic *topic_of(sl_producer *p, const char *name)
{
    struct sl__topic *t = p->last_topic;
    if (!t || strcmp(t->name, name) != 0) {
        t = sl__topic_get(&p->cl, name);
        if (!t || ptopic_sync(t))
            return NULL;
        p->last_topic = t;
    }
    return t;
}

/* A topic error that will not go away by waiting (the topic does not exist and is not being
 * created, or may not be written): new records for it are refused. */
static bool topic_refused(const struct sl__topic *t)
{
    return t->known && t->n_parts <= 0 && t->err != 0 && t->err != SL_ERR_LEADER_NOT_AVAILABLE;
}

static uint32_t crc32_of(const void *key, size_t len) { return (uint32_t)crc32(0, key, (uInt)len); }

static int32_t pick_partition(sl_producer *p, struct sl__topic *t, const void *key, size_t key_len)
{
    uint32_t n = (uint32_t)t->n_parts;
    bool keyed = key != NULL;
    switch (p->cl.conf->partitioner) {
    case SL__PART_MURMUR2:
        return sl_partition_for_key(key ? key : "", key_len, t->n_parts);
    case SL__PART_CONSISTENT:
        return (int32_t)(crc32_of(key ? key : "", key_len) % n);
    case SL__PART_CONSISTENT_RANDOM:
        if (keyed && key_len > 0)
            return (int32_t)(crc32_of(key, key_len) % n);
        keyed = false;
        break;
    case SL__PART_FNV1A:
        return (int32_t)(sl__fnv1a(key ? key : "", key_len) % n);
    case SL__PART_FNV1A_RANDOM:
        if (keyed && key_len > 0)
            return (int32_t)(sl__fnv1a(key, key_len) % n);
        keyed = false;
        break;
    case SL__PART_RANDOM:
        return (int32_t)(rand_r(&p->rnd) % n);
    default: /* murmur2_random, the Java client's default */
        if (keyed)
            return sl_partition_for_key(key, key_len, t->n_parts);
        break;
    }
    /* No key: sticky, a random partition until its batch is sent (as librdkafka and Java). */
    struct sl__ptopic *pt = t->prod;
    if (pt->sticky < 0 || pt->sticky >= t->n_parts)
        pt->sticky = (int32_t)(rand_r(&p->rnd) % n);
    return pt->sticky;
}

/* One record as sl_produce takes it, its headers already converted. */
struct rec {
    int32_t partition; /* requested: an id or SL_PARTITION_ANY */
    int64_t ts;
    struct kp_bytes key, value;
    const struct kp_header *hdrs;
    int32_t nh;
    void *opaque;
    size_t acct; /* its worst-case encoded size: what the queue counts for it */
};

/*
 * Appends r to its partition's open batch (topic metadata known). A full batch is closed and
 * the record goes into a new one; *kick is set then (a batch is ready to go). 0, or the error
 * for the record (SL_ERR__UNKNOWN_PARTITION, _NO_MEMORY, _MSG_SIZE_TOO_LARGE).
 */
static sl_err append(sl_producer *p, struct sl__topic *t, const struct rec *r, bool *kick)
{
    int32_t partition = r->partition;
    if (partition == SL_PARTITION_ANY)
        partition = pick_partition(p, t, r->key.len >= 0 ? r->key.ptr : NULL,
                                   r->key.len > 0 ? (size_t)r->key.len : 0);
    if (partition >= t->n_parts)
        return SL_ERR__UNKNOWN_PARTITION;
    struct sl__ptopic *pt = t->prod;
    struct sl__ppart *pp = &pt->parts[partition];
    size_t alone = KP_BATCH_HEADER_LEN + r->acct;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!pp->open) {
            struct sl__batch *b = sl__batch_get(&p->acc, alone);
            if (!b)
                return SL_ERR__NO_MEMORY;
            b->topic = t;
            b->partition = partition;
            if (sl__batch_open(b, r->ts, sl__now_ms()) != 0) {
                sl__batch_put(&p->acc, b);
                return SL_ERR__NO_MEMORY;
            }
            pp->open = b;
        }
        int err =
            sl__batch_append(pp->open, r->ts, r->key, r->value, r->hdrs, r->nh, r->opaque, r->acct);
        if (err == 0)
            return SL_ERR_NO_ERROR;
        if (err != -ENOSPC || pp->open->count == 0)
            return err == -ENOMEM ? SL_ERR__NO_MEMORY : SL_ERR__INVALID_ARG;
        /* Full: close it (ready to send), move the sticky partition on, open a new one. */
        if (pt->sticky == partition && r->partition == SL_PARTITION_ANY)
            pt->sticky = -1;
        close_open(p, pp);
        *kick = true;
    }
    return SL_ERR__MSG_SIZE_TOO_LARGE;
}

/* Queues r until the topic's metadata is known (a pending batch of partition -1). */
static sl_err append_pending(sl_producer *p, struct sl__topic *t, const struct rec *r)
{
    struct sl__ptopic *pt = t->prod;
    size_t alone = KP_BATCH_HEADER_LEN + r->acct;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct sl__batch *b = pt->pend_tail;
        if (!b || attempt > 0) {
            b = sl__batch_get(&p->acc, alone);
            if (!b)
                return SL_ERR__NO_MEMORY;
            b->topic = t;
            b->partition = -1;
            if (sl__batch_open(b, r->ts, sl__now_ms()) != 0) {
                sl__batch_put(&p->acc, b);
                return SL_ERR__NO_MEMORY;
            }
            if (pt->pend_tail)
                pt->pend_tail->next = b;
            else
                pt->pend_head = b;
            pt->pend_tail = b;
        }
        if (b->count == b->want_cap) {
            int32_t cap = b->want_cap ? b->want_cap * 2 : 64;
            int32_t *w = realloc(b->want, (size_t)cap * sizeof(*w));
            if (!w)
                return SL_ERR__NO_MEMORY;
            b->want = w;
            b->want_cap = cap;
        }
        int err = sl__batch_append(b, r->ts, r->key, r->value, r->hdrs, r->nh, r->opaque, r->acct);
        if (err == 0) {
            b->want[b->count - 1] = r->partition;
            return SL_ERR_NO_ERROR;
        }
        if (err != -ENOSPC || b->count == 0)
            return err == -ENOMEM ? SL_ERR__NO_MEMORY : SL_ERR__INVALID_ARG;
    }
    return SL_ERR__MSG_SIZE_TOO_LARGE;
}

/* A record that cannot be sent after all: reported alone with err. */
static void fail_record(sl_producer *p, struct sl__topic *t, const struct rec *r, sl_err err)
{
    struct sl__batch *b = sl__batch_get(&p->acc, KP_BATCH_HEADER_LEN + r->acct);
    if (!b) {
        /* no memory to report it: the record is dropped from the queue counts */
        p->q_msgs--;
        p->q_bytes -= r->acct;
        return;
    }
    b->topic = t;
    b->partition = r->partition;
    if (sl__batch_open(b, r->ts, sl__now_ms()) == 0 &&
        sl__batch_append(b, r->ts, r->key, r->value, r->hdrs, r->nh, r->opaque, r->acct) == 0) {
        long n = kp_batch_finish(&b->b);
        b->size = n > 0 ? (size_t)n : 0;
    } else {
        b->count = 1; /* reported without its key and value */
        b->bytes = r->acct;
        if (!b->opq && !(b->opq = malloc(sizeof(void *))))
            b->count = 0;
        else
            b->opq[0] = r->opaque;
    }
    b->err = err;
    done_push(p, b);
}

/*
 * The topic's metadata arrived: its pending records go to their partitions' batches in produce
 * order, or all fail when the topic is refused (does not exist, not authorized).
 */
static void drain_pending(sl_producer *p, struct sl__topic *t)
{
    struct sl__ptopic *pt = t->prod;
    if (!pt->pend_head)
        return;
    if (topic_refused(t)) {
        while (pt->pend_head)
            fail_pending(p, pt, (sl_err)t->err);
        return;
    }
    if (!t->known || t->n_parts <= 0 || ptopic_sync(t))
        return;
    while (pt->pend_head) {
        struct sl__batch *b = pt->pend_head;
        pt->pend_head = b->next;
        if (!pt->pend_head)
            pt->pend_tail = NULL;
        struct kp_batch_hdr hdr;
        long n = kp_batch_finish(&b->b);
        struct kp_record_iter it;
        if (n > 0 && kp_batch_parse_hdr(b->buf, (size_t)n, &hdr) == 0)
            kp_record_iter_init(&it, b->buf, &hdr);
        else
            kp_record_iter_init_records(&it, NULL, 0, 0);
        bool kick = false;
        for (int32_t i = 0; i < b->count; i++) {
            struct kp_record kr;
            if (kp_record_next(&it, &kr) != 1)
                break; /* cannot happen: the batch was built here */
            int32_t nh = kr.header_count;
            if (nh > p->hdrs_cap) {
                struct kp_header *h = realloc(p->hdrs, (size_t)nh * sizeof(*h));
                if (!h)
                    nh = 0;
                else {
                    p->hdrs = h;
                    p->hdrs_cap = nh;
                }
            }
            struct kp_rd hr;
            kp_rd_init(&hr, kr.headers.ptr, kr.headers.len > 0 ? (size_t)kr.headers.len : 0);
            for (int32_t k = 0; k < nh; k++)
                kp_header_next(&hr, &p->hdrs[k]);
            struct rec r = {
                .partition = b->want[i],
                .ts = hdr.base_timestamp + kr.timestamp_delta,
                .key = kr.key,
                .value = kr.value,
                .hdrs = p->hdrs,
                .nh = nh,
                .opaque = b->opq[i],
            };
            r.acct = kp_batch_record_size(INT64_MAX / 2, INT32_MAX, r.key, r.value, r.hdrs, nh);
            sl_err e = append(p, t, &r, &kick);
            if (e != SL_ERR_NO_ERROR)
                fail_record(p, t, &r, e);
        }
        b->count = 0;
        b->bytes = 0;
        sl__batch_put(&p->acc, b);
    }
}

sl_err sl_produce(sl_producer *p, const char *topic, int32_t partition, const void *key,
                  size_t key_len, const void *value, size_t value_len, const sl_header *headers,
                  size_t header_count, int64_t timestamp_ms, void *msg_opaque)
{
    if (!p || !topic || !*topic || strlen(topic) > 249 || key_len > INT32_MAX ||
        value_len > INT32_MAX || header_count > INT32_MAX || (header_count && !headers) ||
        (partition < 0 && partition != SL_PARTITION_ANY) || (!key && key_len) ||
        (!value && value_len))
        return SL_ERR__INVALID_ARG;
    const sl_conf *cf = p->cl.conf;
    if (p->idemp.state == SL__IDEMP_FATAL)
        return SL_ERR__FATAL; /* sl_producer_fatal_error says why */

    /* Headers as kp_header views (scratch array reused across calls). */
    if ((int32_t)header_count > p->hdrs_cap) {
        struct kp_header *h = realloc(p->hdrs, header_count * sizeof(*h));
        if (!h)
            return SL_ERR__NO_MEMORY;
        p->hdrs = h;
        p->hdrs_cap = (int32_t)header_count;
    }
    for (size_t i = 0; i < header_count; i++) {
        if (!headers[i].key || headers[i].key_len > INT16_MAX || headers[i].value_len > INT32_MAX ||
            (!headers[i].value && headers[i].value_len))
            return SL_ERR__INVALID_ARG;
        p->hdrs[i].key = (struct kp_str){headers[i].key, (int32_t)headers[i].key_len};
        p->hdrs[i].value = headers[i].value
                               ? (struct kp_bytes){headers[i].value, (int32_t)headers[i].value_len}
                               : KP_BYTES_NULL;
    }
    struct rec r = {
        .partition = partition,
        .ts = timestamp_ms ? timestamp_ms : wall_ms(),
        .key = key ? (struct kp_bytes){key, (int32_t)key_len} : KP_BYTES_NULL,
        .value = value ? (struct kp_bytes){value, (int32_t)value_len} : KP_BYTES_NULL,
        .hdrs = p->hdrs,
        .nh = (int32_t)header_count,
        .opaque = msg_opaque,
    };

    /* Size checks before anything else: the worst-case record and its own batch. */
    r.acct = kp_batch_record_size(INT64_MAX / 2, INT32_MAX, r.key, r.value, r.hdrs, r.nh);
    if (r.acct == 0)
        return SL_ERR__INVALID_ARG;
    if (KP_BATCH_HEADER_LEN + r.acct > (size_t)cf->message_max_bytes)
        return SL_ERR__MSG_SIZE_TOO_LARGE;
    if (p->q_msgs + 1 > (size_t)cf->queue_max_messages || p->q_bytes + r.acct > p->q_max_bytes)
        return SL_ERR__QUEUE_FULL;

    struct sl__topic *t = topic_of(p, topic);
    if (!t)
        return SL_ERR__NO_MEMORY;
    sl_err e;
    bool kick = false;
    if (topic_refused(t)) {
        /* Known not to exist (or not writable) at the last answer: refused now, and asked
         * again so that a topic created meanwhile is seen. */
        t->stale = true;
        sl__metadata_want(&p->cl);
        return (sl_err)t->err;
    }
    if (t->known && t->n_parts > 0 && !((struct sl__ptopic *)t->prod)->pend_head) {
        e = append(p, t, &r, &kick);
    } else {
        /* Metadata not known yet: queued, never waited for (sent once it arrives, failed by
         * message.timeout.ms). */
        if (partition != SL_PARTITION_ANY && t->known && partition >= t->n_parts && t->n_parts > 0)
            return SL_ERR__UNKNOWN_PARTITION;
        e = append_pending(p, t, &r);
    }
    if (e != SL_ERR_NO_ERROR)
        return e;
    p->q_msgs++;
    p->q_bytes += r.acct;
    p->fresh = true;
    if (kick) {
        /* A batch filled up: send it now, on connections already up (no connect, no name
         * resolution here: sl_produce does not wait on the network). */
        p->cl.no_connect = true;
        turn(p, 0);
        p->cl.no_connect = false;
    }
    return SL_ERR_NO_ERROR;
}

void sl_producer_free(sl_producer *p)
{
    if (!p)
        return;
    p->destroying = true;
    expire(p, sl__now_ms());
    /* In-flight requests fail with -ECANCELED: their batches are reported destroyed. */
    for (int i = 0; i < p->cl.n_conns; i++)
        sl__conn_fail(p->cl.conns[i], -ECANCELED);
    expire(p, sl__now_ms());
    serve_done(p);
    for (int i = 0; i < p->cl.n_topics; i++) {
        struct sl__ptopic *pt = p->cl.topics[i]->prod;
        if (pt) {
            free(pt->parts);
            free(pt);
        }
    }
    sl__accum_destroy(&p->acc);
    free(p->hdrs);
    sl__client_destroy(&p->cl);
    free(p);
}
