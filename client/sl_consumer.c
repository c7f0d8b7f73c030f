/*
 * sl_consumer.c — the consumer: explicit assignments, Fetch v11, ListOffsets v2, records
 * handed out as views into the fetch response.
 *
 * Partition states: NEED_OFFSET (a logical start, earliest/latest, must be resolved with
 * ListOffsets) -> LISTING -> ACTIVE (fetching from fetch_pos) ; PARKED after an error that
 * needs the application (auto.offset.reset=error, corrupt data) until it seeks.
 *
 * Fetching: at most one Fetch outstanding per broker connection and one per partition. When a
 * response arrives its frame buffer is kept (taken from the connection without copying when
 * it was large enough to have its own buffer) and each partition's complete batches become a
 * chunk on the consumer's queue; the partition's next fetch starts right after the last
 * complete batch, so the next request goes out while the application still works through the
 * chunk (prefetch). Queued bytes are bounded by queued.max.messages.kbytes: no new fetch is
 * sent while the queue holds that much.
 *
 * Fetch answers: a trailing partial batch is ignored (fetched again next time); a first batch
 * larger than max.partition.fetch.bytes doubles the partition's fetch size (up to what the
 * batch needs) and fetches again; records below the requested offset (the first batch may
 * start earlier) are skipped; OFFSET_OUT_OF_RANGE resets per auto.offset.reset. With
 * check.crcs every batch's CRC-32C is verified before its records are returned.
 *
 * Lifetime: sl_consumer_poll returns one record whose views point into a chunk's buffer; the
 * chunk is released only when a later call moves past it, so the views stay valid until the
 * next call. Seek/unassign bump the partition's epoch; chunks and responses of an older epoch
 * are dropped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kp_codec.h"
#include "sl_cons.h"

static void client_turn(struct sl__client *cl, int timeout_ms)
{
    sl__cons_turn(cl->owner, timeout_ms);
}

sl_consumer *sl_consumer_new(sl_conf *conf, char *errstr, size_t errstr_size)
{
    if (!conf) {
        sl__errstr(errstr, errstr_size, "conf must not be NULL");
        return NULL;
    }
    sl_consumer *c = calloc(1, sizeof(*c));
    if (!c) {
        sl_conf_free(conf);
        sl__errstr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (sl__client_init(&c->cl, conf, false, errstr, errstr_size) != 0) {
        sl__client_destroy(&c->cl);
        free(c);
        return NULL;
    }
    c->cl.owner = c;
    c->cl.turn = client_turn;
    if (conf->group_id && *conf->group_id && sl__group_new(c) != 0) {
        sl__errstr(errstr, errstr_size, "out of memory");
        sl__client_destroy(&c->cl);
        free(c);
        return NULL;
    }
    return c;
}

static void fbuf_unref(sl_consumer *c, struct fbuf *fb)
{
    if (--fb->refs == 0) {
        sl__buf_put(&c->cl, fb->buf, fb->cap);
        free(fb);
    }
}

static void eof_check(sl_consumer *c, struct cpart *cp);

static void chunk_release(sl_consumer *c, struct chunk *ch)
{
    c->q_bytes -= ch->len < c->q_bytes ? ch->len : c->q_bytes;
    fbuf_unref(c, ch->fb);
    struct cpart *cp = ch->cp;
    cp->queued--;
    free(ch);
    if (!c->closed)
        eof_check(c, cp);
}

void sl_consumer_free(sl_consumer *c)
{
    if (!c)
        return;
    if (!c->closed)
        sl_consumer_close(c);
    for (int i = 0; i < c->cl.n_conns; i++)
        sl__conn_fail(c->cl.conns[i], -ECANCELED);
    sl__commit_free(c);
    if (c->cur)
        chunk_release(c, c->cur);
    while (c->q_head) {
        struct chunk *ch = c->q_head;
        c->q_head = ch->next;
        chunk_release(c, ch);
    }
    sl__group_free(c);
    while (c->commits_done) {
        struct sl__commit_done *d = c->commits_done;
        c->commits_done = d->next;
        free(d);
    }
    for (int i = 0; i < c->n_parts; i++)
        free(c->parts[i]);
    free(c->parts);
    free(c->fetch_topics);
    free(c->fetch_parts);
    free(c->dbuf);
    sl__bytes_free(&c->scratch);
    sl__client_destroy(&c->cl);
    free(c);
}

void sl_consumer_stats(const sl_consumer *c, sl_stats *out)
{
    *out = c->cl.stats;
    out->queue_bytes = c->q_bytes;
}

void sl__cons_event(sl_consumer *c, struct cpart *cp, sl_err err, int64_t first, int64_t last)
{
    for (int i = 0; i < c->ev_n; i++) {
        int k = (c->ev_head + i) % EVQ;
        if (c->ev[k].cp == cp && c->ev[k].err == err && c->ev[k].first == first)
            return; /* already waiting */
    }
    if (c->ev_n == EVQ)
        return;
    int k = (c->ev_head + c->ev_n) % EVQ;
    c->ev[k].cp = cp;
    c->ev[k].err = err;
    c->ev[k].first = first;
    c->ev[k].last = last;
    c->ev_n++;
}

static void event(sl_consumer *c, struct cpart *cp, sl_err err)
{
    sl__cons_event(c, cp, err, -1, -1);
}

/*
 * Stored records that cannot be read (a corrupt batch, a CRC mismatch, a compressed batch that
 * does not decompress): the partition stops at them (PARKED) and the application is told the
 * offsets; it moves on only by seeking.
 */
static void park_bad(sl_consumer *c, struct cpart *cp, sl_err err, int64_t first, int64_t last)
{
    cp->st = CP_PARKED;
    sl__cons_event(c, cp, err, first, last);
}

/*
 * enable.partition.eof: once everything up to the high watermark of the last fetch has been
 * handed out (nothing of the partition queued), SL_ERR__PARTITION_EOF, once per position.
 */
static void eof_check(sl_consumer *c, struct cpart *cp)
{
    if (!c->cl.conf->enable_partition_eof || !cp->assigned || cp->st != CP_ACTIVE ||
        cp->queued > 0 || cp->high_watermark < 0 || cp->pos != cp->high_watermark ||
        cp->fetch_pos != cp->pos || cp->eof_at == cp->pos)
        return;
    cp->eof_at = cp->pos;
    sl__cons_event(c, cp, SL_ERR__PARTITION_EOF, cp->pos, cp->pos);
}

struct cpart *sl__cpart_find(const sl_consumer *c, const char *topic, size_t len, int32_t part)
{
    for (int i = 0; i < c->n_parts; i++) {
        struct cpart *cp = c->parts[i];
        if (cp->partition == part && cp->t->name_len == len && !memcmp(cp->t->name, topic, len))
            return cp;
    }
    return NULL;
}

static struct cpart *find_part(const sl_consumer *c, const char *topic, size_t len, int32_t part)
{
    return sl__cpart_find(c, topic, len, part);
}

struct cpart *sl__cpart_get(sl_consumer *c, struct sl__topic *t, int32_t partition)
{
    struct cpart *cp = find_part(c, t->name, t->name_len, partition);
    if (cp)
        return cp;
    if (c->n_parts == c->parts_cap) {
        int cap = c->parts_cap ? c->parts_cap * 2 : 8;
        struct cpart **p = realloc(c->parts, (size_t)cap * sizeof(*p));
        if (!p)
            return NULL;
        c->parts = p;
        c->parts_cap = cap;
    }
    cp = calloc(1, sizeof(*cp));
    if (!cp)
        return NULL;
    cp->t = t;
    cp->partition = partition;
    cp->max_bytes = c->cl.conf->max_partition_fetch_bytes;
    cp->high_watermark = cp->log_start = -1;
    cp->eof_at = -1;
    cp->committed = cp->commit_sent = SL_OFFSET_INVALID;
    c->parts[c->n_parts++] = cp;
    return cp;
}

static void set_start(sl_consumer *c, struct cpart *cp, int64_t offset)
{
    cp->epoch++;
    cp->fetching = false; /* a response still in flight is dropped by its epoch */
    cp->retry_at_ms = 0;
    cp->eof_at = -1;
    if (offset >= 0) {
        cp->st = CP_ACTIVE;
        cp->pos = cp->fetch_pos = offset;
    } else if (offset == SL__OFFSET_STORED) {
        cp->st = CP_NEED_COMMITTED;
        cp->pos = cp->fetch_pos = -1;
    } else {
        cp->st = CP_NEED_OFFSET;
        cp->want = offset;
        cp->pos = cp->fetch_pos = -1;
    }
    (void)c;
}

void sl__cpart_start(sl_consumer *c, struct cpart *cp, int64_t offset)
{
    cp->assigned = true;
    set_start(c, cp, offset);
}

void sl__cpart_stop(sl_consumer *c, struct cpart *cp)
{
    (void)c;
    cp->assigned = false;
    cp->by_group = false;
    cp->epoch++;
    cp->fetching = false;
}

sl_err sl_consumer_assign(sl_consumer *c, const char *topic, int32_t partition, int64_t offset)
{
    if (!c || !topic || !*topic || partition < 0 ||
        (offset < 0 && offset != SL_OFFSET_BEGINNING && offset != SL_OFFSET_END))
        return SL_ERR__INVALID_ARG;
    if (sl__group_subscribed(c) || c->closed)
        return SL_ERR__STATE;
    struct sl__topic *t = sl__topic_get(&c->cl, topic);
    if (!t)
        return SL_ERR__NO_MEMORY;
    if (!t->known || t->n_parts <= 0) {
        t->stale = true; /* unknown, or missing at the last answer: ask again */
        int err = sl__metadata_wait(&c->cl, t, c->cl.conf->request_timeout_ms);
        if (err)
            return sl__err_from_errno(err);
    }
    if (t->err != 0 && t->n_parts <= 0)
        return (sl_err)t->err;
    if (partition >= t->n_parts)
        return SL_ERR__UNKNOWN_PARTITION;
    struct cpart *cp = sl__cpart_get(c, t, partition);
    if (!cp)
        return SL_ERR__NO_MEMORY;
    sl__cpart_start(c, cp, offset);
    return SL_ERR_NO_ERROR;
}

sl_err sl_consumer_seek(sl_consumer *c, const char *topic, int32_t partition, int64_t offset)
{
    if (!c || !topic || (offset < 0 && offset != SL_OFFSET_BEGINNING && offset != SL_OFFSET_END))
        return SL_ERR__INVALID_ARG;
    struct cpart *cp = find_part(c, topic, strlen(topic), partition);
    if (!cp || !cp->assigned)
        return SL_ERR__UNKNOWN_PARTITION;
    set_start(c, cp, offset);
    return SL_ERR_NO_ERROR;
}

sl_err sl_consumer_unassign(sl_consumer *c, const char *topic, int32_t partition)
{
    if (!c || !topic)
        return SL_ERR__INVALID_ARG;
    if (sl__group_subscribed(c))
        return SL_ERR__STATE;
    struct cpart *cp = find_part(c, topic, strlen(topic), partition);
    if (!cp || !cp->assigned)
        return SL_ERR__UNKNOWN_PARTITION;
    sl__cpart_stop(c, cp);
    return SL_ERR_NO_ERROR;
}

static bool position_known(const struct cpart *cp)
{
    return cp->st == CP_ACTIVE || cp->st == CP_PARKED;
}

int64_t sl_consumer_position(const sl_consumer *c, const char *topic, int32_t partition)
{
    const struct cpart *cp = find_part(c, topic, strlen(topic), partition);
    return cp && cp->assigned && position_known(cp) ? cp->pos : -1;
}

size_t sl_consumer_assignment(sl_consumer *c, sl_topic_partition *out, size_t cap)
{
    size_t n = 0;
    for (int i = 0; c && i < c->n_parts; i++) {
        const struct cpart *cp = c->parts[i];
        if (!cp->assigned)
            continue;
        if (n < cap && out)
            out[n] = (sl_topic_partition){.topic = cp->t->name,
                                          .partition = cp->partition,
                                          .offset = position_known(cp) ? cp->pos : -1};
        n++;
    }
    return n;
}

/* ---- ListOffsets v2 ---------------------------------------------------------------------- */

static void retry_later(sl_consumer *c, struct cpart *cp, bool refresh)
{
    cp->retry_at_ms = sl__now_ms() + c->cl.conf->retry_backoff_ms;
    if (refresh) {
        cp->t->stale = true;
        sl__metadata_want(&c->cl);
    }
}

static bool retriable_part_err(int16_t ec)
{
    return ec == SL_ERR_NOT_LEADER_OR_FOLLOWER || ec == SL_ERR_LEADER_NOT_AVAILABLE ||
           ec == SL_ERR_UNKNOWN_TOPIC_OR_PART || ec == SL_ERR_REQUEST_TIMED_OUT ||
           ec == 74 /* FENCED_LEADER_EPOCH */ || ec == 75 /* UNKNOWN_LEADER_EPOCH */;
}

static void list_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    sl_consumer *c = cl->owner;
    struct kp_list_offsets_resp resp = {0};
    if (!err && f) {
        struct kp_arena *a = sl__arena(cl, f->len);
        struct kp_rd rd;
        kp_rd_init(&rd, f->body, f->len);
        if (!a || kp_list_offsets_resp_decode(&rd, req->api_version, a, &resp) != 0)
            resp.n_topics = 0;
    }
    for (int32_t i = 0; i < resp.n_topics; i++) {
        const struct kp_list_offsets_resp_topic *t = &resp.topics[i];
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const struct kp_list_offsets_resp_partition *lp = &t->partitions[j];
            struct cpart *cp = find_part(c, t->name.ptr, (size_t)t->name.len, lp->partition_index);
            if (!cp || cp->st != CP_LISTING || cp->list_corr != req->corr)
                continue;
            int16_t ec = lp->error_code;
            if (ec == 0 && lp->offset >= 0) {
                cp->st = CP_ACTIVE;
                cp->pos = cp->fetch_pos = lp->offset;
            } else {
                cp->st = CP_NEED_OFFSET;
                if (ec != 0 && !retriable_part_err(ec))
                    event(c, cp, (sl_err)ec);
                retry_later(c, cp, ec != 0);
            }
        }
    }
    /* Anything still LISTING under this request failed (transport, malformed, missing). */
    for (int i = 0; i < c->n_parts; i++) {
        struct cpart *cp = c->parts[i];
        if (cp->st == CP_LISTING && cp->list_corr == req->corr) {
            cp->st = CP_NEED_OFFSET;
            retry_later(c, cp, true);
        }
    }
}

static bool listable(const struct cpart *cp, int32_t node, int64_t now)
{
    return cp->assigned && cp->st == CP_NEED_OFFSET && cp->retry_at_ms <= now &&
           cp->partition < cp->t->n_parts && cp->t->leaders[cp->partition] == node;
}

static int enc_list_offsets(struct kp_wr *wr, const void *m)
{
    return kp_list_offsets_req_encode(wr, SL__V_LIST_OFFSETS, m);
}

static void send_list_offsets(sl_consumer *c, struct sl__conn *conn, int64_t now)
{
    struct sl__client *cl = &c->cl;
    int n = 0;
    for (int i = 0; i < c->n_parts; i++)
        n += listable(c->parts[i], conn->node_id, now);
    if (!n)
        return;
    if (conn->state == SL__CONN_DOWN && sl__conn_ensure(conn) != 0)
        return;
    /* One topic entry per partition keeps the request simple (Kafka accepts repeats). */
    struct kp_list_offsets_req_topic *topics = malloc((size_t)n * sizeof(*topics));
    struct kp_list_offsets_req_partition *parts = malloc((size_t)n * sizeof(*parts));
    struct sl__req *r = topics && parts ? sl__req_get(cl) : NULL;
    if (!r) {
        free(topics);
        free(parts);
        return;
    }
    int err = sl__req_begin(cl, r, KP_API_LIST_OFFSETS, SL__V_LIST_OFFSETS);
    size_t guess = 4 + 1 + 4;
    int k = 0;
    for (int i = 0; i < c->n_parts; i++) {
        struct cpart *cp = c->parts[i];
        if (!listable(cp, conn->node_id, now))
            continue;
        parts[k] = (struct kp_list_offsets_req_partition){
            .partition_index = cp->partition,
            .timestamp =
                cp->want == SL_OFFSET_BEGINNING ? KP_LIST_OFFSETS_EARLIEST : KP_LIST_OFFSETS_LATEST,
            .current_leader_epoch = -1};
        topics[k] = (struct kp_list_offsets_req_topic){
            {cp->t->name, (int32_t)cp->t->name_len}, 1, &parts[k]};
        guess += 2 + cp->t->name_len + 4 + 4 + 8;
        cp->st = CP_LISTING;
        cp->list_corr = r->corr;
        k++;
    }
    struct kp_list_offsets_req req = {.replica_id = -1, .n_topics = n, .topics = topics};
    if (!err)
        err = sl__req_body(r, guess, enc_list_offsets, &req);
    if (!err)
        err = sl__req_end(r);
    free(topics);
    free(parts);
    if (err) {
        for (int i = 0; i < c->n_parts; i++)
            if (c->parts[i]->st == CP_LISTING && c->parts[i]->list_corr == r->corr)
                c->parts[i]->st = CP_NEED_OFFSET;
        sl__req_put(cl, r);
        return;
    }
    r->cb = list_cb;
    sl__conn_enqueue(conn, r);
}

/* ---- Fetch v11 ----------------------------------------------------------------------------- */

/*
 * Looks at the records of one partition: returns the length of the complete batches at the
 * start (0 when none) and sets *next to the offset after the last of them. *first_need is the
 * size of the first batch when it is incomplete (0 otherwise). -EBADMSG when corrupt.
 */
long sl__scan_batches(const uint8_t *p, size_t len, int64_t *next, size_t *first_need)
{
    size_t off = 0;
    *first_need = 0;
    while (off < len) {
        struct kp_batch_hdr h;
        int err = kp_batch_parse_hdr(p + off, len - off, &h);
        if (err == -ENODATA) {
            if (off == 0)
                *first_need = len - off >= KP_BATCH_LOG_OVERHEAD
                                  ? (size_t)KP_BATCH_LOG_OVERHEAD + kp_load_be32(p + 8)
                                  : (size_t)KP_BATCH_HEADER_LEN;
            break;
        }
        if (err)
            return off ? (long)off : err;
        size_t sz = kp_batch_size(&h);
        if (sz > len - off) {
            if (off == 0)
                *first_need = sz;
            break;
        }
        *next = h.base_offset + h.last_offset_delta + 1;
        off += sz;
    }
    return (long)off;
}

static void fetch_partition(sl_consumer *c, struct sl__req *req, struct cpart *cp,
                            const struct kp_fetch_resp_partition *fp, struct sl__frame *f,
                            struct fbuf **fb)
{
    int16_t ec = fp->error_code;
    struct kp_bytes rec = fp->records;
    cp->fetching = false;
    if (cp->fetch_epoch != cp->epoch || !cp->assigned || cp->st != CP_ACTIVE)
        return;
    if (ec == 0) {
        cp->high_watermark = fp->high_watermark;
        cp->log_start = fp->log_start_offset;
    }
    if (ec == SL_ERR_OFFSET_OUT_OF_RANGE) {
        c->cl.stats.offset_resets++;
        int reset = c->cl.conf->auto_offset_reset;
        if (reset == SL__RESET_ERROR) {
            cp->st = CP_PARKED;
            event(c, cp, SL_ERR__AUTO_OFFSET_RESET);
        } else {
            set_start(c, cp, reset == SL__RESET_EARLIEST ? SL_OFFSET_BEGINNING : SL_OFFSET_END);
        }
        return;
    }
    if (ec != 0) {
        if (!retriable_part_err(ec))
            event(c, cp, (sl_err)ec);
        retry_later(c, cp, retriable_part_err(ec));
        return;
    }
    if (rec.len <= 0) {
        eof_check(c, cp);
        return;
    }
    int64_t next = cp->fetch_pos;
    size_t first_need;
    long good = sl__scan_batches(rec.ptr, (size_t)rec.len, &next, &first_need);
    if (good < 0) {
        park_bad(c, cp, SL_ERR__BAD_MSG, cp->fetch_pos, cp->fetch_pos);
        return;
    }
    if (good == 0) {
        /* the next ask covers this batch at least (send_fetch) */
        cp->need = first_need < (size_t)INT32_MAX ? (int32_t)first_need : INT32_MAX;
        if (first_need > (size_t)cp->max_bytes) {
            /* The first batch is bigger than max.partition.fetch.bytes: ask for more next
             * time (one cut by a share smaller than that is asked for whole, see need). */
            int64_t want = (int64_t)cp->max_bytes * 2;
            if (want < (int64_t)first_need)
                want = (int64_t)first_need;
            if (want > SL__MAX_FRAME - 1024)
                want = SL__MAX_FRAME - 1024;
            if (want > cp->max_bytes) {
                cp->max_bytes = (int32_t)want;
                c->cl.stats.fetch_size_grows++;
            } else {
                cp->st = CP_PARKED;
                event(c, cp, SL_ERR_MSG_SIZE_TOO_LARGE);
            }
        }
        return;
    }
    cp->need = 0;
    if (!*fb) {
        *fb = calloc(1, sizeof(**fb));
        if (!*fb)
            return;
        if (f->own) {
            (*fb)->buf = f->own; /* zero copy: keep the connection's frame buffer */
            (*fb)->cap = f->own_cap;
            (*fb)->body = (*fb)->buf + (f->body - f->own);
            f->own = NULL;
        } else {
            (*fb)->buf = sl__buf_get(&c->cl, f->len, &(*fb)->cap);
            if (!(*fb)->buf) {
                free(*fb);
                *fb = NULL;
                return;
            }
            memcpy((*fb)->buf, f->body, f->len);
            (*fb)->body = (*fb)->buf;
        }
        (*fb)->refs = 1; /* held by this callback until it returns */
    }
    struct chunk *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return;
    /* rec points into f->body; the same bytes sit at the same offset in the kept body. */
    ch->p = (*fb)->body + (size_t)(rec.ptr - f->body);
    ch->len = (size_t)good;
    ch->fb = *fb;
    ch->cp = cp;
    ch->epoch = cp->epoch;
    cp->queued++;
    (*fb)->refs++;
    if (c->q_tail)
        c->q_tail->next = ch;
    else
        c->q_head = ch;
    c->q_tail = ch;
    c->q_bytes += ch->len;
    if (c->q_bytes > c->cl.stats.queue_bytes_max)
        c->cl.stats.queue_bytes_max = c->q_bytes;
    cp->fetch_pos = next;
    (void)req;
}

static void fetch_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    sl_consumer *c = cl->owner;
    struct sl__conn *conn = req->ctx;
    conn->fetch_out--;
    struct fbuf *fb = NULL;
    if (!err && f) {
        const int16_t v = req->api_version;
        struct kp_rd rd;
        kp_rd_init(&rd, f->body, f->len);
        int32_t throttle, session, nt;
        int16_t top;
        err = kp_fetch_resp_head_decode(&rd, v, &throttle, &top, &session, &nt);
        if (!err && top != 0)
            err = -EPROTO;
        for (int32_t i = 0; !err && i < nt; i++) {
            struct kp_str name;
            int32_t np;
            err = kp_fetch_resp_topic_decode(&rd, v, &name, &np);
            for (int32_t j = 0; !err && j < np; j++) {
                struct kp_fetch_resp_partition fp;
                struct kp_bytes aborted;
                err = kp_fetch_resp_partition_decode(&rd, v, &fp, &aborted);
                if (err)
                    break;
                struct cpart *cp = find_part(c, name.ptr, (size_t)name.len, fp.partition);
                if (cp && cp->fetching && cp->fetch_corr == req->corr)
                    fetch_partition(c, req, cp, &fp, f, &fb);
            }
        }
    }
    if (fb)
        fbuf_unref(c, fb);
    /* Partitions of this request not answered (error, malformed, omitted): fetch again. */
    for (int i = 0; i < c->n_parts; i++) {
        struct cpart *cp = c->parts[i];
        if (cp->fetching && cp->fetch_corr == req->corr) {
            cp->fetching = false;
            retry_later(c, cp, err != 0);
        }
    }
}

static bool fetchable(const sl_consumer *c, const struct cpart *cp, int32_t node, int64_t now)
{
    (void)c;
    return cp->assigned && cp->st == CP_ACTIVE && !cp->fetching && cp->retry_at_ms <= now &&
           cp->partition < cp->t->n_parts && cp->t->leaders[cp->partition] == node;
}

static int enc_fetch(struct kp_wr *wr, const void *m)
{
    return kp_fetch_req_encode(wr, SL__V_FETCH, m);
}

static void send_fetch(sl_consumer *c, struct sl__conn *conn, int64_t now)
{
    struct sl__client *cl = &c->cl;
    const sl_conf *cf = cl->conf;
    if (conn->fetch_out > 0 || c->q_bytes >= (size_t)cf->queued_max_kbytes * 1024)
        return;
    int n = 0;
    for (int i = 0; i < c->n_parts; i++)
        n += fetchable(c, c->parts[i], conn->node_id, now);
    if (!n)
        return;
    /* Each partition's share of a response of about SL__FETCH_TARGET bytes: a response much
     * bigger than the caches is copied in by the kernel and read again by the application from
     * memory (4 partitions x 1 MiB cost 2.4 s of client CPU per GiB against 0.5-0.6 with this
     * share, on a 2-core EPYC VM). */
    int32_t share = SL__FETCH_TARGET / n;
    if (share < SL__FETCH_SHARE_MIN)
        share = SL__FETCH_SHARE_MIN;
    if (conn->state == SL__CONN_DOWN && sl__conn_ensure(conn) != 0)
        return;
    if (c->fetch_scratch_cap < n) {
        free(c->fetch_topics);
        free(c->fetch_parts);
        c->fetch_topics = malloc((size_t)n * sizeof(*c->fetch_topics));
        c->fetch_parts = malloc((size_t)n * sizeof(*c->fetch_parts));
        c->fetch_scratch_cap = c->fetch_topics && c->fetch_parts ? n : 0;
        if (!c->fetch_scratch_cap)
            return;
    }
    struct sl__req *r = sl__req_get(cl);
    if (!r)
        return;
    int err = sl__req_begin(cl, r, KP_API_FETCH, SL__V_FETCH);
    /* Bound the response by what the prefetch budget still allows. */
    int64_t budget = (int64_t)cf->queued_max_kbytes * 1024 - (int64_t)c->q_bytes;
    int32_t max_bytes = cf->fetch_max_bytes;
    if (budget < max_bytes)
        max_bytes = (int32_t)(budget > 1024 ? budget : 1024);
    /* One topic entry per partition keeps the request simple (Kafka accepts repeats). */
    size_t guess = 64;
    int k = 0;
    for (int i = 0; i < c->n_parts; i++) {
        struct cpart *cp = c->parts[i];
        if (!fetchable(c, cp, conn->node_id, now))
            continue;
        int32_t ask = cp->max_bytes < share ? cp->max_bytes : share;
        if (ask < cp->need) /* a first batch bigger than the share */
            ask = cp->need < cp->max_bytes ? cp->need : cp->max_bytes;
        c->fetch_parts[k] = (struct kp_fetch_req_partition){
            .partition = cp->partition,
            .current_leader_epoch = -1,
            .fetch_offset = cp->fetch_pos,
            .log_start_offset = -1,
            .partition_max_bytes = ask,
        };
        c->fetch_topics[k] =
            (struct kp_fetch_req_topic){.topic = {cp->t->name, (int32_t)cp->t->name_len},
                                        .n_partitions = 1,
                                        .partitions = &c->fetch_parts[k]};
        guess += 2 + cp->t->name_len + 4 + 4 + 4 + 8 + 8 + 4;
        cp->fetching = true;
        cp->fetch_corr = r->corr;
        cp->fetch_epoch = cp->epoch;
        k++;
    }
    struct kp_fetch_req req = {
        .replica_id = -1,
        .max_wait_ms = cf->fetch_wait_max_ms,
        .min_bytes = cf->fetch_min_bytes,
        .max_bytes = max_bytes,
        .isolation_level = 0, /* read_uncommitted */
        .session_id = 0,
        .session_epoch = -1, /* no fetch session */
        .n_topics = n,
        .topics = c->fetch_topics,
        .rack_id = {"", 0},
    };
    if (!err)
        err = sl__req_body(r, guess, enc_fetch, &req);
    if (!err)
        err = sl__req_end(r);
    if (err) {
        for (int i = 0; i < c->n_parts; i++)
            if (c->parts[i]->fetching && c->parts[i]->fetch_corr == r->corr)
                c->parts[i]->fetching = false;
        sl__req_put(cl, r);
        return;
    }
    r->cb = fetch_cb;
    r->ctx = conn;
    conn->fetch_out++;
    cl->stats.fetches++;
    sl__conn_enqueue(conn, r);
}

static void send_requests(sl_consumer *c)
{
    int64_t now = sl__now_ms();
    bool leaderless = false;
    for (int i = 0; i < c->n_parts; i++) {
        struct cpart *cp = c->parts[i];
        if (cp->assigned && (cp->st == CP_ACTIVE || cp->st == CP_NEED_OFFSET) &&
            (cp->partition >= cp->t->n_parts ||
             !sl__conn_for_node(&c->cl, cp->t->leaders[cp->partition])))
            leaderless = true;
    }
    if (leaderless)
        sl__metadata_want(&c->cl);
    for (int i = 0; i < c->cl.n_conns; i++) {
        struct sl__conn *conn = c->cl.conns[i];
        if (conn->node_id < 0)
            continue;
        send_list_offsets(c, conn, now);
        send_fetch(c, conn, now);
        sl__conn_flush(conn);
    }
    sl__group_send(c);
}

void sl__cons_turn(sl_consumer *c, int timeout_ms)
{
    send_requests(c);
    sl__client_io(&c->cl, timeout_ms);
    send_requests(c);
    c->last_io_us = sl__now_us();
}

/* ---- handing out records --------------------------------------------------------------- */

/*
 * Starts handing out the records of the batch at b (hdr validated): in place, or for a
 * compressed batch from the consumer's decompression buffer (decompressed once, here). 0, or
 * -errno when the records cannot be read (the caller parks the partition).
 */
static int batch_records(sl_consumer *c, const uint8_t *b)
{
    int codec = c->hdr.attributes & KP_BATCH_ATTR_CODEC_MASK;
    if (codec == 0) {
        kp_record_iter_init(&c->it, b, &c->hdr);
        return 0;
    }
    size_t zlen = kp_batch_size(&c->hdr) - KP_BATCH_HEADER_LEN;
    long n = kp_codec_decompress(&c->cl.codecs, codec, b + KP_BATCH_HEADER_LEN, zlen, &c->dbuf,
                                 &c->dbuf_cap, SL__MAX_DECOMPRESSED);
    if (n < 0)
        return (int)n;
    c->cl.stats.batches_decompressed++;
    kp_record_iter_init_records(&c->it, c->dbuf, (size_t)n, c->hdr.record_count);
    return 0;
}

/* Fills rec with the next record; 1, or 0 when the queue is empty. Releases spent chunks. */
static int next_record(sl_consumer *c, sl_record *rec)
{
    for (;;) {
        if (!c->cur) {
            struct chunk *ch = c->q_head;
            if (!ch)
                return 0;
            c->q_head = ch->next;
            if (!c->q_head)
                c->q_tail = NULL;
            ch->next = NULL;
            if (ch->epoch != ch->cp->epoch || !ch->cp->assigned) {
                chunk_release(c, ch);
                continue;
            }
            c->cur = ch;
            c->cur_off = 0;
            c->in_batch = false;
        }
        struct chunk *ch = c->cur;
        struct cpart *cp = ch->cp;
        if (ch->epoch != cp->epoch || !cp->assigned || cp->st == CP_PARKED) {
            c->cur = NULL;
            chunk_release(c, ch);
            continue;
        }
        if (c->in_batch) {
            struct kp_record r;
            int rc = kp_record_next(&c->it, &r);
            if (rc == 1) {
                int64_t off = c->hdr.base_offset + r.offset_delta;
                if (off < cp->pos)
                    continue;
                memset(rec, 0, sizeof(*rec));
                rec->topic = cp->t->name;
                rec->partition = cp->partition;
                rec->offset = rec->last_offset = off;
                bool lat = c->hdr.attributes & KP_BATCH_ATTR_LOG_APPEND_TIME;
                rec->timestamp_type = lat ? 1 : 0;
                rec->timestamp =
                    lat ? c->hdr.max_timestamp : c->hdr.base_timestamp + r.timestamp_delta;
                if (r.key.len >= 0) {
                    rec->key = r.key.ptr;
                    rec->key_len = (size_t)r.key.len;
                }
                if (r.value.len >= 0) {
                    rec->value = r.value.ptr;
                    rec->value_len = (size_t)r.value.len;
                }
                rec->header_count = r.header_count > 0 ? (size_t)r.header_count : 0;
                rec->headers_raw = r.headers.ptr;
                rec->headers_raw_len = r.headers.len > 0 ? (size_t)r.headers.len : 0;
                cp->pos = off + 1;
                c->cl.stats.records_consumed++;
                return 1;
            }
            c->in_batch = false;
            if (rc < 0) {
                /* A record that does not parse: the rest of the batch cannot be trusted. */
                park_bad(c, cp,
                         c->hdr.attributes & KP_BATCH_ATTR_CODEC_MASK ? SL_ERR__BAD_COMPRESSION
                                                                      : SL_ERR__BAD_MSG,
                         cp->pos, c->hdr.base_offset + c->hdr.last_offset_delta);
            }
            continue;
        }
        if (c->cur_off >= ch->len) {
            c->cur = NULL;
            chunk_release(c, ch);
            continue;
        }
        const uint8_t *b = ch->p + c->cur_off;
        size_t left = ch->len - c->cur_off;
        unsigned flags = c->cl.conf->check_crcs ? 0 : KP_BATCH_SKIP_CRC;
        int err = kp_batch_validate(b, left, flags, &c->hdr);
        if (err) {
            /* sl__scan_batches checked the framing, so the header and size are readable. */
            struct kp_batch_hdr h;
            if (kp_batch_parse_hdr(b, left, &h) != 0 || kp_batch_size(&h) > left) {
                park_bad(c, cp, SL_ERR__BAD_MSG, cp->pos, cp->pos);
                continue;
            }
            c->cur_off += kp_batch_size(&h);
            if (h.base_offset + h.last_offset_delta >= cp->pos)
                park_bad(c, cp,
                         err == -EBADMSG && c->cl.conf->check_crcs ? SL_ERR__CRC : SL_ERR__BAD_MSG,
                         h.base_offset > cp->pos ? h.base_offset : cp->pos,
                         h.base_offset + h.last_offset_delta);
            continue;
        }
        c->cur_off += kp_batch_size(&c->hdr);
        int64_t last = c->hdr.base_offset + c->hdr.last_offset_delta;
        if (last < cp->pos || (c->hdr.attributes & KP_BATCH_ATTR_CONTROL))
            continue;
        if (batch_records(c, b) != 0) {
            int64_t first = c->hdr.base_offset > cp->pos ? c->hdr.base_offset : cp->pos;
            park_bad(c, cp, SL_ERR__BAD_COMPRESSION, first, last);
            continue;
        }
        c->in_batch = true;
    }
}

static void fill_stats(const struct sl__client *cl, sl_stats *out)
{
    const sl_consumer *c = cl->owner;
    sl_consumer_stats(c, out);
}

sl_err sl_consumer_poll(sl_consumer *c, int timeout_ms, sl_record *rec)
{
    if (!c || !rec)
        return SL_ERR__INVALID_ARG;
    if (c->closed)
        return SL_ERR__STATE;
    int64_t deadline = timeout_ms < 0 ? -1 : sl__now_ms() + timeout_ms;
    sl__group_tick(c); /* before the poll time moves: max.poll.interval.ms */
    c->last_poll_ms = sl__now_ms();
    /* Keep the next fetch going while records are handed out from the buffer. */
    if (sl__now_us() - c->last_io_us >= 1000)
        sl__cons_turn(c, 0);
    for (;;) {
        sl__client_serve(&c->cl, fill_stats);
        sl__group_tick(c);
        if (c->ev_n) {
            memset(rec, 0, sizeof(*rec));
            int k = c->ev_head;
            struct cpart *cp = c->ev[k].cp;
            sl_err err = c->ev[k].err;
            c->ev_head = (c->ev_head + 1) % EVQ;
            c->ev_n--;
            rec->topic = cp ? cp->t->name : "";
            rec->partition = cp ? cp->partition : -1;
            rec->offset = c->ev[k].first;
            rec->last_offset = c->ev[k].last;
            return err;
        }
        if (next_record(c, rec))
            return SL_ERR_NO_ERROR;
        if (c->ev_n)
            continue;
        int64_t left = deadline < 0 ? 100 : deadline - sl__now_ms();
        if (left <= 0)
            return SL_ERR__TIMED_OUT;
        sl__cons_turn(c, (int)left);
    }
}

sl_err sl_record_header(const sl_record *rec, size_t idx, sl_header *out)
{
    if (!rec || !out || idx >= rec->header_count)
        return SL_ERR__INVALID_ARG;
    struct kp_rd rd;
    kp_rd_init(&rd, rec->headers_raw, rec->headers_raw_len);
    struct kp_header h;
    for (size_t i = 0; i <= idx; i++)
        if (kp_header_next(&rd, &h) != 1)
            return SL_ERR__BAD_MSG;
    out->key = h.key.ptr;
    out->key_len = (size_t)h.key.len;
    out->value = h.value.len >= 0 ? h.value.ptr : NULL;
    out->value_len = h.value.len >= 0 ? (size_t)h.value.len : 0;
    return SL_ERR_NO_ERROR;
}
