/*
 * sl_client.c — what the producer and the consumer share: the broker connections, the
 * cluster metadata (topics, partition leaders) and the I/O loop.
 *
 * Metadata: one Metadata v4 request at a time, for every topic the handle uses, sent on any
 * live connection (a bootstrap one at first). Brokers in the answer are matched to existing
 * connections by node id, then by host:port (a bootstrap entry becomes that node), else get a
 * new connection record, connected when first needed. Refreshes are asked for by the owner
 * (errors such as NOT_LEADER_OR_FOLLOWER, a lost connection) and rate limited by
 * retry.backoff.ms.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_int.h"

int64_t sl__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sl__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int add_conn(struct sl__client *cl, struct sl__conn *c)
{
    if (cl->n_conns == cl->conns_cap) {
        int cap = cl->conns_cap ? cl->conns_cap * 2 : 4;
        struct sl__conn **p = realloc(cl->conns, (size_t)cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        cl->conns = p;
        cl->conns_cap = cap;
    }
    cl->conns[cl->n_conns++] = c;
    return 0;
}

/* Parses bootstrap.servers (already validated by the conf) into connection records. */
static int add_bootstrap(struct sl__client *cl, const char *list)
{
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *colon = memrchr(p, ':', n);
        if (!colon)
            return -EINVAL;
        char host[256];
        size_t hl = (size_t)(colon - p);
        if (hl == 0 || hl >= sizeof(host))
            return -EINVAL;
        memcpy(host, p, hl);
        host[hl] = 0;
        int port = atoi(colon + 1);
        struct sl__conn *c = sl__conn_new(cl, host, port, -1);
        if (!c)
            return -ENOMEM;
        if (add_conn(cl, c)) {
            sl__conn_free(c, -ECANCELED);
            return -ENOMEM;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return cl->n_conns ? 0 : -EINVAL;
}

int sl__client_init(struct sl__client *cl, sl_conf *conf, bool is_producer, char *errstr,
                    size_t errstr_size)
{
    memset(cl, 0, sizeof(*cl));
    cl->conf = conf;
    cl->is_producer = is_producer;
    if ((conf->security_protocol & SL__SEC_SASL) &&
        (!conf->sasl_username || !conf->sasl_password || !*conf->sasl_username)) {
        sl__errstr(errstr, errstr_size,
                   "security.protocol=%s needs sasl.username and sasl.password",
                   (conf->security_protocol & SL__SEC_SSL) ? "sasl_ssl" : "sasl_plaintext");
        return -EINVAL;
    }
    if (conf->security_protocol & SL__SEC_SSL) {
        /* Certificates and keys are read now, so that a bad file fails the handle's creation
         * rather than every connection later. */
        int err = sl__tls_ctx_new(conf, &cl->tls_ctx, errstr, errstr_size);
        if (err)
            return err;
    }
    if (conf->allow_auto_create < 0)
        conf->allow_auto_create = is_producer ? 1 : 0;
    if (add_bootstrap(cl, conf->bootstrap_servers) != 0) {
        sl__errstr(errstr, errstr_size, "invalid bootstrap.servers \"%s\"",
                   conf->bootstrap_servers);
        return -EINVAL;
    }
    return 0;
}

uint8_t *sl__buf_get(struct sl__client *cl, size_t min, size_t *cap)
{
    if (cl->n_buf_cache > 0) {
        int i = --cl->n_buf_cache; /* the largest */
        uint8_t *p = cl->buf_cache[i];
        size_t c = cl->buf_cache_cap[i];
        cl->buf_cache_bytes -= c;
        if (c < min) {
            uint8_t *q = realloc(p, min);
            if (!q) {
                free(p);
                return NULL;
            }
            p = q;
            c = min;
        }
        *cap = c;
        return p;
    }
    uint8_t *p = malloc(min);
    if (p)
        *cap = min;
    return p;
}

void sl__buf_put(struct sl__client *cl, uint8_t *p, size_t cap)
{
    if (!p)
        return;
    if (cl->n_buf_cache == SL__BUF_CACHE && cap > cl->buf_cache_cap[0]) {
        /* full: the smallest kept buffer makes room for a larger one */
        cl->buf_cache_bytes -= cl->buf_cache_cap[0];
        free(cl->buf_cache[0]);
        memmove(&cl->buf_cache[0], &cl->buf_cache[1], (SL__BUF_CACHE - 1) * sizeof(uint8_t *));
        memmove(&cl->buf_cache_cap[0], &cl->buf_cache_cap[1], (SL__BUF_CACHE - 1) * sizeof(size_t));
        cl->n_buf_cache--;
    }
    if (cl->n_buf_cache == SL__BUF_CACHE || cl->buf_cache_bytes + cap > SL__BUF_CACHE_BYTES) {
        free(p);
        return;
    }
    /* keep the array sorted by size, largest last */
    int i = cl->n_buf_cache;
    while (i > 0 && cl->buf_cache_cap[i - 1] > cap) {
        cl->buf_cache[i] = cl->buf_cache[i - 1];
        cl->buf_cache_cap[i] = cl->buf_cache_cap[i - 1];
        i--;
    }
    cl->buf_cache[i] = p;
    cl->buf_cache_cap[i] = cap;
    cl->n_buf_cache++;
    cl->buf_cache_bytes += cap;
}

void sl__error(struct sl__client *cl, sl_err err, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (cl->errq_n == SL__ERRQ) {
        cl->errors_dropped++;
        return;
    }
    int k = (cl->errq_head + cl->errq_n) % SL__ERRQ;
    cl->errq[k].err = err;
    memcpy(cl->errq[k].reason, reason, sizeof(reason));
    cl->errq_n++;
}

int sl__client_serve(struct sl__client *cl, void (*fill)(const struct sl__client *, sl_stats *))
{
    const sl_conf *cf = cl->conf;
    int n = 0;
    /* One at a time from the head: a callback may call back into the handle. */
    while (cl->errq_n > 0) {
        int k = cl->errq_head;
        sl_err err = cl->errq[k].err;
        char reason[256];
        memcpy(reason, cl->errq[k].reason, sizeof(reason));
        cl->errq_head = (cl->errq_head + 1) % SL__ERRQ;
        cl->errq_n--;
        if (cf->error_cb)
            cf->error_cb(cf->opaque, err, reason);
        n++;
    }
    if (cf->statistics_interval_ms > 0 && cf->stats_cb) {
        int64_t now = sl__now_ms();
        if (cl->stats_next_ms == 0)
            cl->stats_next_ms = now + cf->statistics_interval_ms;
        if (now >= cl->stats_next_ms) {
            cl->stats_next_ms = now + cf->statistics_interval_ms;
            sl_stats st;
            fill(cl, &st);
            cf->stats_cb(cf->opaque, &st);
        }
    }
    return n;
}

struct kp_arena *sl__arena(struct sl__client *cl, size_t len)
{
    size_t need = len * SL__ARENA_PER_BYTE + 256;
    if (cl->arena.cap < need) {
        void *p = realloc(cl->arena.base, need);
        if (!p)
            return NULL;
        kp_arena_init(&cl->arena, p, need);
    }
    kp_arena_reset(&cl->arena);
    return &cl->arena;
}

void sl__client_destroy(struct sl__client *cl)
{
    kp_codec_ctx_free(&cl->codecs);
    free(cl->arena.base);
    cl->arena = (struct kp_arena){0};
    for (int i = 0; i < cl->n_conns; i++)
        sl__conn_free(cl->conns[i], -ECANCELED);
    free(cl->conns);
    sl__tls_ctx_free(cl->tls_ctx);
    cl->tls_ctx = NULL;
    for (int i = 0; i < cl->n_topics; i++) {
        free(cl->topics[i]->name);
        free(cl->topics[i]->leaders);
        free(cl->topics[i]);
    }
    free(cl->topics);
    while (cl->req_free) {
        struct sl__req *r = cl->req_free;
        cl->req_free = r->next;
        sl__bytes_free(&r->out);
        free(r->iov);
        free(r->segs);
        free(r->batches);
        free(r);
    }
    for (int i = 0; i < cl->n_buf_cache; i++)
        free(cl->buf_cache[i]);
    cl->n_buf_cache = 0;
    cl->buf_cache_bytes = 0;
    free(cl->pfds);
    sl_conf_free(cl->conf);
    cl->conf = NULL;
}

struct sl__topic *sl__topic_find(struct sl__client *cl, const char *name, size_t len)
{
    for (int i = 0; i < cl->n_topics; i++) {
        struct sl__topic *t = cl->topics[i];
        if (t->name_len == len && memcmp(t->name, name, len) == 0)
            return t;
    }
    return NULL;
}

struct sl__topic *sl__topic_get(struct sl__client *cl, const char *name)
{
    size_t len = strlen(name);
    struct sl__topic *t = sl__topic_find(cl, name, len);
    if (t)
        return t;
    if (cl->n_topics == cl->topics_cap) {
        int cap = cl->topics_cap ? cl->topics_cap * 2 : 8;
        struct sl__topic **p = realloc(cl->topics, (size_t)cap * sizeof(*p));
        if (!p)
            return NULL;
        cl->topics = p;
        cl->topics_cap = cap;
    }
    t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->name = strdup(name);
    if (!t->name) {
        free(t);
        return NULL;
    }
    t->name_len = len;
    t->n_parts = -1;
    t->stale = true;
    cl->topics[cl->n_topics++] = t;
    sl__metadata_want(cl);
    return t;
}

struct sl__conn *sl__client_conn(struct sl__client *cl, const char *host, int port, int32_t node_id)
{
    for (int i = 0; i < cl->n_conns; i++) {
        struct sl__conn *c = cl->conns[i];
        if (c->node_id == node_id && c->port == port && strcmp(c->host, host) == 0)
            return c;
    }
    struct sl__conn *c = sl__conn_new(cl, host, port, node_id);
    if (!c)
        return NULL;
    if (add_conn(cl, c)) {
        sl__conn_free(c, -ECANCELED);
        return NULL;
    }
    return c;
}

struct sl__conn *sl__conn_for_node(struct sl__client *cl, int32_t node_id)
{
    if (node_id < 0)
        return NULL;
    for (int i = 0; i < cl->n_conns; i++)
        if (cl->conns[i]->node_id == node_id)
            return cl->conns[i];
    return NULL;
}

void sl__metadata_want(struct sl__client *cl) { cl->md_wanted = true; }

/* ---- Metadata v4 ------------------------------------------------------------------------ */

static int topic_set_parts(struct sl__topic *t, int32_t n)
{
    if (t->n_parts != n) {
        int32_t *l = realloc(t->leaders, (size_t)(n > 0 ? n : 1) * sizeof(*l));
        if (!l)
            return -ENOMEM;
        t->leaders = l;
        t->n_parts = n;
    }
    for (int32_t i = 0; i < n; i++)
        t->leaders[i] = -1;
    return 0;
}

static int broker_seen(struct sl__client *cl, int32_t node, struct kp_str host, int32_t port)
{
    char h[256];
    if (host.len <= 0 || (size_t)host.len >= sizeof(h) || port <= 0 || port > 65535)
        return -EBADMSG;
    memcpy(h, host.ptr, (size_t)host.len);
    h[host.len] = 0;
    struct sl__conn *c = sl__conn_for_node(cl, node);
    if (c) {
        if (c->port == port && strcmp(c->host, h) == 0)
            return 0;
        /* The node moved: forget the old address (its requests fail and are retried). */
        c->node_id = -2;
    }
    for (int i = 0; i < cl->n_conns; i++) {
        c = cl->conns[i];
        if (c->node_id == -1 && c->port == port && strcmp(c->host, h) == 0) {
            c->node_id = node;
            return 0;
        }
    }
    c = sl__conn_new(cl, h, port, node);
    if (!c)
        return -ENOMEM;
    if (add_conn(cl, c)) {
        sl__conn_free(c, -ECANCELED);
        return -ENOMEM;
    }
    return 0;
}

static int metadata_parse(struct sl__client *cl, const uint8_t *body, size_t len)
{
    struct kp_metadata_resp md;
    struct kp_arena *a = sl__arena(cl, len);
    if (!a)
        return -ENOMEM;
    struct kp_rd rd;
    kp_rd_init(&rd, body, len);
    int err = kp_metadata_resp_decode(&rd, SL__V_METADATA, a, &md);
    if (err)
        return err == -ENOMEM ? -EBADMSG : err;
    for (int32_t i = 0; i < md.n_brokers; i++) {
        err = broker_seen(cl, md.brokers[i].node_id, md.brokers[i].host, md.brokers[i].port);
        if (err)
            return err;
    }
    for (int32_t i = 0; i < md.n_topics; i++) {
        const struct kp_metadata_topic *mt = &md.topics[i];
        int32_t np = mt->n_partitions;
        struct sl__topic *t = sl__topic_find(cl, mt->name.ptr, (size_t)mt->name.len);
        if (!t)
            continue;
        t->known = true;
        t->stale = false;
        t->err = mt->error_code;
        if (mt->error_code == 0 && np > 0) {
            if (topic_set_parts(t, np))
                return -ENOMEM;
        } else if (mt->error_code != 0) {
            /* Keep a previously known layout across transient errors. */
            if (t->n_parts < 0 && topic_set_parts(t, 0))
                return -ENOMEM;
            continue;
        }
        for (int32_t j = 0; j < np; j++) {
            const struct kp_metadata_partition *p = &mt->partitions[j];
            int32_t idx = p->partition_index;
            if (idx < 0 || idx >= t->n_parts)
                return -EBADMSG; /* a partition index outside the count */
            t->leaders[idx] = p->error_code == 0 || p->error_code == KP_ERR_REPLICA_NOT_AVAILABLE
                                  ? p->leader_id
                                  : -1;
        }
    }
    return 0;
}

static void metadata_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    cl->md_inflight = false;
    if (!err)
        err = metadata_parse(cl, f->body, f->len);
    cl->md_fail = err;
    if (!err)
        cl->md_ok_ms = sl__now_ms();
    if (err) {
        cl->md_wanted = true;
        cl->md_next_ms = sl__now_ms() + cl->conf->retry_backoff_ms;
    } else {
        /* Topics still being created (LEADER_NOT_AVAILABLE) or leaderless: ask again soon. */
        for (int i = 0; i < cl->n_topics; i++) {
            struct sl__topic *t = cl->topics[i];
            bool again = t->stale || t->err == SL_ERR_LEADER_NOT_AVAILABLE;
            for (int32_t p = 0; !again && t->err == 0 && p < t->n_parts; p++)
                again = t->leaders[p] < 0;
            if (again) {
                cl->md_wanted = true;
                cl->md_next_ms = sl__now_ms() + cl->conf->retry_backoff_ms;
            }
        }
    }
    if (cl->on_metadata)
        cl->on_metadata(cl);
}

/* Connections that general requests (metadata, FindCoordinator) may use: not a retired one,
 * not the group coordinator's (a JoinGroup may be parked on it). */
static bool general(const struct sl__conn *c)
{
    return c->node_id != -2 && c->node_id != SL__NODE_COORD;
}

struct sl__conn *sl__any_conn(struct sl__client *cl)
{
    /*
     * A broker answers a connection's requests in order, so a request queued behind a fetch
     * long poll waits up to fetch.wait.max.ms. Best: a connection with nothing outstanding but
     * no fetch; then the group coordinator's while idle (no JoinGroup parked on it); then any
     * with room (max.in.flight.requests.per.connection counts every request).
     */
    struct sl__conn *best = NULL;
    int best_score = 0;
    bool busy = false;
    for (int i = 0; i < cl->n_conns; i++) {
        struct sl__conn *c = cl->conns[i];
        if (c->state != SL__CONN_UP || c->node_id == -2)
            continue;
        int score;
        if (c->node_id == SL__NODE_COORD)
            score = c->n_out == 0 ? 2 : 0;
        else if (c->n_out >= (uint32_t)cl->conf->max_in_flight)
            score = 0;
        else
            score = c->fetch_out == 0 ? 3 : 1;
        busy |= general(c);
        if (score > best_score) {
            best = c;
            best_score = score;
        }
    }
    if (best)
        return best;
    if (busy)
        return NULL;
    for (int i = 0; i < cl->n_conns; i++)
        if (cl->conns[i]->state == SL__CONN_CONNECTING && general(cl->conns[i]))
            return cl->conns[i];
    /* Round robin over the rest so that one dead bootstrap entry does not block the others. */
    for (int k = 0; k < cl->n_conns; k++) {
        struct sl__conn *c = cl->conns[(cl->corr_next + k) % cl->n_conns];
        if (!general(c))
            continue;
        if (sl__conn_ensure(c) == 0)
            return c;
    }
    return NULL;
}

static int enc_metadata(struct kp_wr *wr, const void *m)
{
    return kp_metadata_req_encode(wr, SL__V_METADATA, m);
}

static void send_metadata(struct sl__client *cl)
{
    struct sl__conn *c = sl__any_conn(cl);
    if (!c)
        return;
    struct kp_str *names = malloc((size_t)(cl->n_topics ? cl->n_topics : 1) * sizeof(*names));
    struct sl__req *r = names ? sl__req_get(cl) : NULL;
    if (!r) {
        free(names);
        return;
    }
    size_t guess = 4 + 1;
    for (int i = 0; i < cl->n_topics; i++) {
        names[i] = (struct kp_str){cl->topics[i]->name, (int32_t)cl->topics[i]->name_len};
        guess += 2 + cl->topics[i]->name_len;
    }
    struct kp_metadata_req req = {
        .n_topics = cl->n_topics,
        .topics = names,
        .allow_auto_topic_creation = cl->conf->allow_auto_create > 0,
    };
    int err = sl__req_begin(cl, r, KP_API_METADATA, SL__V_METADATA);
    if (!err)
        err = sl__req_body(r, guess, enc_metadata, &req);
    if (!err)
        err = sl__req_end(r);
    free(names);
    if (err) {
        sl__req_put(cl, r);
        return;
    }
    r->cb = metadata_cb;
    cl->md_inflight = true;
    cl->md_wanted = false;
    cl->stats.metadata_requests++;
    sl__conn_enqueue(c, r);
    sl__conn_flush(c);
}

void sl__client_io(struct sl__client *cl, int timeout_ms)
{
    int64_t now = sl__now_ms();
    int refresh = cl->conf->metadata_refresh_ms;
    if (refresh >= 0 && cl->md_ok_ms && now - cl->md_ok_ms >= refresh && cl->n_topics > 0)
        cl->md_wanted = true; /* topic.metadata.refresh.interval.ms */
    if (cl->md_wanted && !cl->md_inflight && now >= cl->md_next_ms && !cl->no_connect)
        send_metadata(cl);

    if (cl->pfds_cap < cl->n_conns) {
        struct pollfd *p = realloc(cl->pfds, (size_t)cl->n_conns * 2 * sizeof(*p));
        if (!p)
            return;
        cl->pfds = p;
        cl->pfds_cap = cl->n_conns * 2;
    }
    /* pfds[i] belongs to conns[i]; conns never shrink while the client lives. */
    int n = cl->n_conns;
    bool any = false;
    for (int i = 0; i < n; i++) {
        struct sl__conn *c = cl->conns[i];
        cl->pfds[i].fd = c->fd;
        cl->pfds[i].events = sl__conn_events(c);
        cl->pfds[i].revents = 0;
        if (!cl->pfds[i].events)
            cl->pfds[i].fd = -1;
        else
            any = true;
    }
    if (cl->md_wanted && !cl->md_inflight) {
        int64_t wait = cl->md_next_ms - now;
        if (wait < 0)
            wait = 0;
        if (timeout_ms < 0 || wait < timeout_ms)
            timeout_ms = (int)wait;
    }
    if (timeout_ms < 0 || timeout_ms > 100)
        timeout_ms = 100; /* timers (linger, backoff, timeouts) are checked every turn */
    if (any || timeout_ms > 0) {
        int rc = poll(cl->pfds, (nfds_t)n, timeout_ms);
        if (rc > 0) {
            for (int i = 0; i < n; i++)
                if (cl->pfds[i].revents)
                    sl__conn_io(cl->conns[i], cl->pfds[i].revents);
        }
    }
    now = sl__now_ms();
    for (int i = 0; i < cl->n_conns; i++)
        sl__conn_check_timeouts(cl->conns[i], now);
}

int sl__metadata_wait(struct sl__client *cl, struct sl__topic *t, int timeout_ms)
{
    int64_t deadline = sl__now_ms() + timeout_ms;
    for (;;) {
        if (t->known && !t->stale && t->err != SL_ERR_LEADER_NOT_AVAILABLE)
            return 0;
        if (!cl->md_inflight)
            cl->md_wanted = true;
        int64_t left = deadline - sl__now_ms();
        if (left <= 0)
            return cl->md_fail ? cl->md_fail : cl->conn_fail ? cl->conn_fail : -ETIMEDOUT;
        sl__client_io(cl, (int)left);
    }
}
