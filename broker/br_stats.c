/*
 * br_stats — see br_stats.h.
 *
 * Metric names (all splicelog_ but the process start time), by where they come from:
 *   request path (hooks; per-thread shards, br_metrics.h)
 *     splicelog_requests_total{api}                 requests dispatched, answered or not
 *     splicelog_request_duration_seconds{api}       histogram, dispatch to response ready
 *                                                   (parked ones: when they become ready)
 *     splicelog_topic_bytes_in_total{topic}         record-batch bytes appended
 *     splicelog_topic_records_in_total{topic}       records appended
 *     splicelog_topic_bytes_out_total{topic}        record bytes in complete fetch responses
 *     splicelog_produce_errors_total{error}         partitions answered with an error code
 *     splicelog_fetch_errors_total{error}
 *     splicelog_log_flush_duration_seconds          histogram, the flusher's sync rounds
 *     splicelog_loop_turns_total                    turns of the event loops
 *     splicelog_request_ahead                       histogram: requests of other connections
 *                                                   handled on the loop before a request in
 *                                                   the turn it was received whole in (fair
 *                                                   service, br_conn.h)
 *     splicelog_connection_share_used_total         a connection used its share of a turn
 *                                                   with whole requests left (not read on)
 *     splicelog_connection_holds_total              a heavy connection held after its turn
 *                                                   while light ones wanted service (fair
 *                                                   service's hold, br_conn.h)
 *     splicelog_connection_handoffs_total           new connections handed to a less loaded
 *                                                   loop (connection.placement, br_place.h)
 *     splicelog_connection_moves_total              live light connections moved off a loop
 *                                                   with a heavy one (br_place.h)
 *     splicelog_log_flush_errors_total
 *     splicelog_scrub_bytes_total, splicelog_scrub_fenced_ranges_total,
 *     splicelog_scrub_bad_segments_total            what the scrubber read and found
 *     splicelog_scrub_repaired_ranges_total,
 *     splicelog_scrub_repaired_bytes_total          fenced ranges mended from a replica
 *   scrape time (read from the server's state)
 *     splicelog_ready, process_start_time_seconds, splicelog_connections(_max),
 *     splicelog_request_memory_bytes / _limit_bytes / _waiting_connections
 *     (queued.max.request.bytes), splicelog_parked_requests{kind},
 *     splicelog_loop_connections{loop}, splicelog_loop_heavy_connections{loop} (placement),
 *     splicelog_topics,
 *     splicelog_partitions, splicelog_store_size_bytes, splicelog_store_fenced_ranges,
 *     splicelog_log_{start_offset,end_offset,size_bytes,segments,fenced_ranges,fenced_bytes}
 *     {topic,partition}, splicelog_group_{committed_offset,lag}{group,topic,partition},
 *     splicelog_group_members{group}, splicelog_metrics_series_dropped_total{family},
 *     splicelog_metrics_series_omitted{family}
 */
#include "br_stats.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_group.h"
#include "br_http.h"
#include "br_log.h"
#include "br_metrics.h"
#include "br_server.h"
#include "kp_api.h"
#include "st_offsets.h"

#define API_SLOTS  128        /* api keys 0..127 have a slot; others count as "Unknown" */
#define STAGE_MAX  32         /* topics staged by one fetch evaluation */
#define GROUP_TEXT (8u << 20) /* group and topic names copied by one scrape, at most */

static const double LATENCY_BOUNDS[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                        0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                        1,      2.5,     5,      10,    30,     60};
static const double FLUSH_BOUNDS[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
static const double AHEAD_BOUNDS[] = {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
#define NAHEAD (int)(sizeof(AHEAD_BOUNDS) / sizeof(AHEAD_BOUNDS[0]))
#define NLAT   (int)(sizeof(LATENCY_BOUNDS) / sizeof(LATENCY_BOUNDS[0]))
#define NFLUSH (int)(sizeof(FLUSH_BOUNDS) / sizeof(FLUSH_BOUNDS[0]))

struct br_stats {
    struct br_metrics *m;
    struct br_http *http;
    struct br_server *srv;
    atomic_bool ready; /* scrape-time values may be read (store, offsets, groups, loops) */
    double start_time_s;

    struct br_metrics_family *requests, *latency, *bytes_in, *records_in, *bytes_out;
    struct br_metrics_family *produce_errors, *fetch_errors;
    struct br_metrics_series *req[API_SLOTS + 1], *lat[API_SLOTS + 1];
    struct br_metrics_series *flush, *flush_errors, *scrub_bytes, *scrub_fenced, *scrub_bad;
    struct br_metrics_series *scrub_repaired, *scrub_repaired_bytes;
    struct br_metrics_series *turns, *ahead, *share_used, *handoffs, *moves, *holds;
};

/* ---- settings ------------------------------------------------------------------------------ */

void br_stats_conf_init(struct br_stats_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->http_connections_max = 16;
    c->http_timeout_ms = 10000;
    c->topic_series_max = 1000;
    c->partition_series_max = 10000;
    c->group_series_max = 10000;
}

static int set_int(const char *key, const char *v, int64_t lo, int64_t hi, int64_t *out, char *err,
                   size_t errlen)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) {
        snprintf(err, errlen, "%s: bad value '%.64s' (expected an integer in [%lld, %lld])", key, v,
                 (long long)lo, (long long)hi);
        return -EINVAL;
    }
    *out = x;
    return 0;
}

int br_stats_conf_set(struct br_stats_conf *c, const char *key, const char *value, char *err,
                      size_t errlen)
{
    int64_t x = 0;
    int rc;
    if (strcmp(key, "metrics.listener") == 0) {
        if (!*value) {
            c->listener[0] = 0;
            return 0;
        }
        if (strlen(value) >= sizeof(c->listener) ||
            br_http_parse_url(value, c->host, sizeof(c->host), &c->port) < 0) {
            snprintf(err, errlen, "metrics.listener: '%.64s' is not http://HOST:PORT", value);
            return -EINVAL;
        }
        snprintf(c->listener, sizeof(c->listener), "%s", value);
        return 0;
    }
    if (strcmp(key, "metrics.log.level.remote.enable") == 0) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            snprintf(err, errlen, "%s: bad value '%.64s' (expected true or false)", key, value);
            return -EINVAL;
        }
        c->log_level_remote = value[0] == 't';
        return 0;
    }
    if (strcmp(key, "metrics.http.connections.max") == 0) {
        if ((rc = set_int(key, value, 1, 1024, &x, err, errlen)) == 0)
            c->http_connections_max = (int32_t)x;
        return rc;
    }
    if (strcmp(key, "metrics.http.timeout.ms") == 0) {
        if ((rc = set_int(key, value, 1, 3600000, &x, err, errlen)) == 0)
            c->http_timeout_ms = x;
        return rc;
    }
    if (strcmp(key, "metrics.topic.series.max") == 0) {
        if ((rc = set_int(key, value, 1, 100000, &x, err, errlen)) == 0)
            c->topic_series_max = (int32_t)x;
        return rc;
    }
    if (strcmp(key, "metrics.partition.series.max") == 0) {
        if ((rc = set_int(key, value, 0, 10000000, &x, err, errlen)) == 0)
            c->partition_series_max = (int32_t)x;
        return rc;
    }
    if (strcmp(key, "metrics.group.series.max") == 0) {
        if ((rc = set_int(key, value, 0, 10000000, &x, err, errlen)) == 0)
            c->group_series_max = (int32_t)x;
        return rc;
    }
    return -ENOENT;
}

void br_stats_conf_keys(void (*fn)(void *arg, const char *key, const char *def, const char *doc),
                        void *arg)
{
    fn(arg, "metrics.listener", "",
       "http://HOST:PORT of the /metrics, /health and /log-level listener (\"\" = off; keep it "
       "on loopback, e.g. http://127.0.0.1:9644; port 0 = ephemeral, logged)");
    fn(arg, "metrics.http.connections.max", "16", "HTTP connections the listener serves at once");
    fn(arg, "metrics.http.timeout.ms", "10000",
       "an HTTP connection idle or slow for this long is closed (whole seconds, rounded up)");
    fn(arg, "metrics.log.level.remote.enable", "false",
       "accept PUT /log-level from peers that are not on loopback");
    fn(arg, "metrics.topic.series.max", "1000",
       "topics with series of their own (bytes in/out); more count under topic=\"(other)\"");
    fn(arg, "metrics.partition.series.max", "10000",
       "partitions whose offsets and sizes a scrape shows; more are left out (and counted)");
    fn(arg, "metrics.group.series.max", "10000",
       "committed (group, topic, partition) a scrape shows with their lag; more are left out");
}

/* ---- hooks --------------------------------------------------------------------------------- */

static int api_slot(int16_t key) { return key >= 0 && key < API_SLOTS ? key : API_SLOTS; }

void br_stats_request(struct br_stats *s, int16_t api_key, int64_t t0_ns, bool answered)
{
    if (!s)
        return;
    int i = api_slot(api_key);
    br_metrics_add(s->m, s->req[i], 1);
    if (answered)
        br_metrics_observe(s->m, s->lat[i], br_stats_clock(s) - t0_ns);
}

void br_stats_request_done(struct br_stats *s, int16_t api_key, int64_t t0_ns)
{
    if (s)
        br_metrics_observe(s->m, s->lat[api_slot(api_key)], br_stats_clock(s) - t0_ns);
}

void br_stats_turn(struct br_stats *s)
{
    if (s)
        br_metrics_add(s->m, s->turns, 1);
}

void br_stats_ahead(struct br_stats *s, uint64_t ahead)
{
    if (s)
        br_metrics_observe(s->m, s->ahead, (int64_t)ahead);
}

void br_stats_share_used(struct br_stats *s)
{
    if (s)
        br_metrics_add(s->m, s->share_used, 1);
}

void br_stats_hold(struct br_stats *s)
{
    if (s)
        br_metrics_add(s->m, s->holds, 1);
}

void br_stats_handoff(struct br_stats *s)
{
    if (s)
        br_metrics_add(s->m, s->handoffs, 1);
}

void br_stats_move(struct br_stats *s)
{
    if (s)
        br_metrics_add(s->m, s->moves, 1);
}

static struct br_metrics_series *topic_series(struct br_stats *s, struct br_metrics_family *f,
                                              const char *topic, size_t len)
{
    struct br_metrics_val v = {topic, len};
    return br_metrics_series(s->m, f, &v);
}

void br_stats_produced(struct br_stats *s, const char *topic, size_t topic_len, size_t bytes,
                       int32_t records)
{
    if (!s)
        return;
    br_metrics_add(s->m, topic_series(s, s->bytes_in, topic, topic_len), bytes);
    if (records > 0)
        br_metrics_add(s->m, topic_series(s, s->records_in, topic, topic_len), (uint64_t)records);
}

static void count_error(struct br_stats *s, struct br_metrics_family *f, int16_t code)
{
    const char *name = kp_err_name(code);
    struct br_metrics_val v = {name, strlen(name)};
    br_metrics_add(s->m, br_metrics_series(s->m, f, &v), 1);
}

void br_stats_produce_error(struct br_stats *s, int16_t code)
{
    if (s && code != 0)
        count_error(s, s->produce_errors, code);
}

void br_stats_fetch_error(struct br_stats *s, int16_t code)
{
    if (s && code != 0)
        count_error(s, s->fetch_errors, code);
}

/* One fetch evaluation's bytes per topic, on this thread, until its response is complete. */
static __thread struct {
    int n;
    struct {
        struct br_metrics_series *series;
        uint64_t bytes;
    } e[STAGE_MAX];
} stage;

void br_stats_fetch_begin(struct br_stats *s)
{
    if (s)
        stage.n = 0;
}

void br_stats_fetch_bytes(struct br_stats *s, const char *topic, size_t topic_len, size_t bytes)
{
    if (!s || bytes == 0)
        return;
    struct br_metrics_series *series = topic_series(s, s->bytes_out, topic, topic_len);
    for (int i = stage.n - 1; i >= 0; i--) {
        if (stage.e[i].series == series) {
            stage.e[i].bytes += bytes;
            return;
        }
    }
    if (stage.n == STAGE_MAX) {
        /* more topics in one response than the stage holds: counted at once (a response that
         * then waits for more data would count these bytes again when it completes) */
        br_metrics_add(s->m, series, bytes);
        return;
    }
    stage.e[stage.n].series = series;
    stage.e[stage.n].bytes = bytes;
    stage.n++;
}

void br_stats_fetch_commit(struct br_stats *s)
{
    if (!s)
        return;
    for (int i = 0; i < stage.n; i++)
        br_metrics_add(s->m, stage.e[i].series, stage.e[i].bytes);
    stage.n = 0;
}

void br_stats_scrub(struct br_stats *s, const struct st_scrub_report *rep)
{
    if (!s)
        return;
    br_metrics_add(s->m, s->scrub_bytes, (uint64_t)rep->bytes_checked);
    br_metrics_add(s->m, s->scrub_fenced, (uint64_t)rep->fenced);
    br_metrics_add(s->m, s->scrub_bad, (uint64_t)rep->bad_segments);
}

void br_stats_scrub_repaired(struct br_stats *s, int64_t bytes)
{
    if (!s)
        return;
    br_metrics_add(s->m, s->scrub_repaired, 1);
    br_metrics_add(s->m, s->scrub_repaired_bytes, (uint64_t)bytes);
}

/* The storage flusher: one sync round. */
static void on_sync_time(void *arg, int64_t ns, int err)
{
    struct br_stats *s = arg;
    br_metrics_observe(s->m, s->flush, ns);
    if (err < 0)
        br_metrics_add(s->m, s->flush_errors, 1);
}

/* ---- scrape time: the server ----------------------------------------------------------------- */

static void gauge(struct br_metrics_out *o, const char *name, const char *help, int64_t v)
{
    br_metrics_out_family(o, name, BR_METRICS_GAUGE, help);
    br_metrics_out_i64(o, name, NULL, 0, v);
}

/* Per loop thread: what placement reads (br_place.h). */
static void loop_gauges(struct br_server *srv, struct br_metrics_out *o)
{
    static const struct {
        const char *name, *help;
        size_t field;
    } g[] = {
        {"splicelog_loop_connections",
         "Live client connections of a loop thread (connection.placement reads it).",
         offsetof(struct br_loop, load_conns)},
        {"splicelog_loop_heavy_connections",
         "Connections of a loop thread whose byte share of a turn ran out within the last second "
         "(heavy; connection.placement=load puts new connections on the loop with the fewest).",
         offsetof(struct br_loop, load_heavy)},
    };
    for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
        br_metrics_out_family(o, g[k].name, BR_METRICS_GAUGE, g[k].help);
        for (int i = 0; i < srv->nloops; i++) {
            char id[16];
            int n = snprintf(id, sizeof(id), "%d", i);
            struct br_metrics_label l = {"loop", id, (size_t)n};
            const atomic_int *v = (const atomic_int *)((const char *)&srv->loops[i] + g[k].field);
            br_metrics_out_i64(o, g[k].name, &l, 1, atomic_load_explicit(v, memory_order_relaxed));
        }
    }
}

static void collect_server(struct br_stats *s, struct br_metrics_out *o)
{
    struct br_server *srv = s->srv;
    br_metrics_out_family(o, "process_start_time_seconds", BR_METRICS_GAUGE,
                          "Start time of the process since the Unix epoch, in seconds.");
    br_metrics_out_f64(o, "process_start_time_seconds", NULL, 0, s->start_time_s);
    bool ready = atomic_load(&s->ready);
    gauge(o, "splicelog_ready", "1 once recovery is done and the broker serves requests.", ready);
    if (!ready)
        return;
    gauge(o, "splicelog_connections", "Client connections open (all listeners).",
          atomic_load(&srv->limits.nconns));
    gauge(o, "splicelog_connections_max", "max.connections.", srv->cfg->max_connections);
    gauge(o, "splicelog_request_memory_bytes",
          "Bytes of requests being received, counted against queued.max.request.bytes.",
          br_limits_bytes_used(&srv->limits));
    if (srv->cfg->queued_max_request_bytes >= 0)
        gauge(o, "splicelog_request_memory_limit_bytes", "queued.max.request.bytes.",
              srv->cfg->queued_max_request_bytes);
    gauge(o, "splicelog_request_memory_waiting_connections",
          "Connections read no further until request bytes are freed.",
          atomic_load(&srv->limits.bytes_waiters));
    int64_t fetch = 0, durable = 0;
    for (int i = 0; i < srv->nloops; i++) {
        fetch += atomic_load(&srv->loops[i].nwaits[BR_WAIT_APPEND]);
        durable += atomic_load(&srv->loops[i].nwaits[BR_WAIT_SYNC]);
    }
    br_metrics_out_family(o, "splicelog_parked_requests", BR_METRICS_GAUGE,
                          "Responses waiting: long-polling fetches, produces waiting for "
                          "fdatasync.");
    struct br_metrics_label l = {"kind", "fetch", 5};
    br_metrics_out_i64(o, "splicelog_parked_requests", &l, 1, fetch);
    l = (struct br_metrics_label){"kind", "durable", 7};
    br_metrics_out_i64(o, "splicelog_parked_requests", &l, 1, durable);
    loop_gauges(srv, o);
}

/* ---- scrape time: partitions ----------------------------------------------------------------- */

struct topics {
    struct tname {
        char *name;
        int32_t partitions;
    } * v;
    int n, cap;
    bool nomem;
};

static void topic_cb(void *arg, const char *name, int32_t partitions)
{
    struct topics *t = arg;
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 64;
        struct tname *nv = realloc(t->v, (size_t)cap * sizeof(*nv));
        if (!nv) {
            t->nomem = true;
            return;
        }
        t->v = nv;
        t->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy) {
        t->nomem = true;
        return;
    }
    t->v[t->n++] = (struct tname){copy, partitions};
}

struct prow {
    int topic;
    int32_t partition;
    struct st_log_stats ls;
};

/* One per-partition family: field is the offset of an int64 in struct st_log_stats. */
static void partition_family(struct br_metrics_out *o, const struct topics *t,
                             const struct prow *rows, int n, const char *name, const char *help,
                             size_t field, bool is32)
{
    if (n == 0)
        return;
    br_metrics_out_family(o, name, BR_METRICS_GAUGE, help);
    for (int i = 0; i < n && !br_metrics_out_full(o); i++) {
        const char *tn = t->v[rows[i].topic].name;
        char part[16];
        int pl = snprintf(part, sizeof(part), "%d", rows[i].partition);
        struct br_metrics_label l[2] = {{"topic", tn, strlen(tn)}, {"partition", part, (size_t)pl}};
        const char *p = (const char *)&rows[i].ls + field;
        int64_t v;
        if (is32) {
            int32_t v32;
            memcpy(&v32, p, sizeof(v32));
            v = v32;
        } else {
            memcpy(&v, p, sizeof(v));
        }
        br_metrics_out_i64(o, name, l, 2, v);
    }
}

/* Returns how many partitions were left out by metrics.partition.series.max. */
static int64_t collect_partitions(struct br_stats *s, struct br_metrics_out *o)
{
    struct br_server *srv = s->srv;
    struct topics t = {0};
    st_topic_foreach(srv->store, topic_cb, &t);
    int64_t total = 0;
    for (int i = 0; i < t.n; i++)
        total += t.v[i].partitions;
    int64_t cap = s->srv->cfg->metrics.partition_series_max;
    int64_t want = total < cap ? total : cap;
    struct prow *rows = want > 0 ? calloc((size_t)want, sizeof(*rows)) : NULL;
    int n = 0;
    int64_t bytes = 0, fenced = 0;
    for (int i = 0; i < t.n; i++) {
        for (int32_t p = 0; p < t.v[i].partitions; p++) {
            struct st_log *log = st_log_get(srv->store, t.v[i].name, strlen(t.v[i].name), p);
            if (!log)
                continue; /* deleted meanwhile */
            struct st_log_stats ls;
            st_log_stats(log, &ls);
            st_log_put(log);
            bytes += ls.bytes;
            fenced += ls.fenced_ranges;
            if (rows && n < want)
                rows[n++] = (struct prow){i, p, ls};
        }
    }
    gauge(o, "splicelog_topics", "Topics.", t.n);
    gauge(o, "splicelog_partitions", "Partitions of all topics.", total);
    gauge(o, "splicelog_store_size_bytes", "Bytes of every partition's segments.", bytes);
    gauge(o, "splicelog_store_fenced_ranges",
          "Ranges of batches found corrupt (recovery or scrub) and no longer served.", fenced);
#define F(field) offsetof(struct st_log_stats, field)
    partition_family(o, &t, rows, n, "splicelog_log_start_offset", "Log start offset.",
                     F(start_offset), false);
    partition_family(o, &t, rows, n, "splicelog_log_end_offset",
                     "Log end offset (the high watermark).", F(end_offset), false);
    partition_family(o, &t, rows, n, "splicelog_log_size_bytes", "Bytes of the segments.", F(bytes),
                     false);
    partition_family(o, &t, rows, n, "splicelog_log_segments", "Segment files.", F(segments), true);
    partition_family(o, &t, rows, n, "splicelog_log_fenced_ranges",
                     "Ranges found corrupt and no longer served.", F(fenced_ranges), false);
    partition_family(o, &t, rows, n, "splicelog_log_fenced_bytes", "Bytes of the fenced ranges.",
                     F(fenced_bytes), false);
#undef F
    free(rows);
    for (int i = 0; i < t.n; i++)
        free(t.v[i].name);
    free(t.v);
    return total - n;
}

/* ---- scrape time: consumer groups ---------------------------------------------------------- */

struct grow {
    uint32_t group, topic; /* offsets into text */
    uint16_t glen, tlen;
    int32_t partition;
    int64_t committed;
    int64_t end; /* -1: the partition is gone */
};

struct groups {
    struct grow *v;
    int n, cap;
    char *text;
    size_t len, tcap;
    uint32_t last_group; /* text offset of the group of the previous row */
    bool full;
};

static bool text_add(struct groups *g, const char *p, size_t n, uint32_t *off)
{
    if (g->len + n > GROUP_TEXT)
        return false;
    if (g->len + n > g->tcap) {
        size_t cap = g->tcap ? g->tcap : 4096;
        while (cap < g->len + n)
            cap *= 2;
        char *nt = realloc(g->text, cap);
        if (!nt)
            return false;
        g->text = nt;
        g->tcap = cap;
    }
    memcpy(g->text + g->len, p, n);
    *off = (uint32_t)g->len;
    g->len += n;
    return true;
}

static void group_cb(void *arg, const char *group, size_t glen, const struct st_offset_entry *e)
{
    struct groups *g = arg;
    if (g->full || glen > UINT16_MAX || e->topic_len > UINT16_MAX)
        return;
    if (g->n == g->cap) {
        int cap = g->cap ? g->cap * 2 : 256;
        struct grow *nv = realloc(g->v, (size_t)cap * sizeof(*nv));
        if (!nv) {
            g->full = true;
            return;
        }
        g->v = nv;
        g->cap = cap;
    }
    struct grow r = {.partition = e->partition, .committed = e->offset, .end = -1};
    const struct grow *prev = g->n ? &g->v[g->n - 1] : NULL;
    if (prev && prev->glen == glen && memcmp(g->text + prev->group, group, glen) == 0) {
        r.group = prev->group; /* a group's entries come in a row: its name once */
    } else if (!text_add(g, group, glen, &r.group)) {
        g->full = true;
        return;
    }
    if (!text_add(g, e->topic, e->topic_len, &r.topic)) {
        g->full = true;
        return;
    }
    r.glen = (uint16_t)glen;
    r.tlen = (uint16_t)e->topic_len;
    g->v[g->n++] = r;
}

/* Returns how many committed offsets were left out by metrics.group.series.max. */
static int64_t collect_groups(struct br_stats *s, struct br_metrics_out *o)
{
    struct br_server *srv = s->srv;
    if (!srv->offsets)
        return 0;
    struct groups g = {0};
    int64_t cap = srv->cfg->metrics.group_series_max;
    if (cap > 0)
        st_offsets_foreach_all(srv->offsets, cap, group_cb, &g);
    struct st_offsets_stats os;
    st_offsets_stats(srv->offsets, &os);
    for (int i = 0; i < g.n; i++) {
        struct grow *r = &g.v[i];
        struct st_log *log = st_log_get(srv->store, g.text + r->topic, r->tlen, r->partition);
        if (log) {
            r->end = st_log_end_offset(log);
            st_log_put(log);
        }
    }
    if (g.n > 0) {
        const char *name = "splicelog_group_committed_offset";
        br_metrics_out_family(o, name, BR_METRICS_GAUGE, "Offset a consumer group committed.");
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) {
                name = "splicelog_group_lag";
                br_metrics_out_family(o, name, BR_METRICS_GAUGE,
                                      "Log end offset minus the committed offset (0 when the "
                                      "commit is at or past the end).");
            }
            for (int i = 0; i < g.n && !br_metrics_out_full(o); i++) {
                const struct grow *r = &g.v[i];
                if (pass == 1 && r->end < 0)
                    continue; /* the topic is gone: no lag to speak of */
                char part[16];
                int pl = snprintf(part, sizeof(part), "%d", r->partition);
                struct br_metrics_label l[3] = {{"group", g.text + r->group, r->glen},
                                                {"topic", g.text + r->topic, r->tlen},
                                                {"partition", part, (size_t)pl}};
                int64_t lag = r->end > r->committed ? r->end - r->committed : 0;
                br_metrics_out_i64(o, name, l, 3, pass == 0 ? r->committed : lag);
            }
        }
        br_metrics_out_family(o, "splicelog_group_members", BR_METRICS_GAUGE,
                              "Members of a consumer group that has committed offsets.");
        for (int i = 0; i < g.n && !br_metrics_out_full(o); i++) {
            if (i > 0 && g.v[i].group == g.v[i - 1].group)
                continue;
            struct br_group_info info = {0};
            if (srv->groups)
                br_group_describe(srv->groups, (struct kp_str){g.text + g.v[i].group, g.v[i].glen},
                                  &info);
            struct br_metrics_label l = {"group", g.text + g.v[i].group, g.v[i].glen};
            br_metrics_out_i64(o, "splicelog_group_members", &l, 1, info.n_members);
        }
    }
    free(g.v);
    free(g.text);
    return os.entries > g.n ? os.entries - g.n : 0;
}

static void omitted(struct br_metrics_out *o, int64_t partitions, int64_t groups)
{
    const char *name = "splicelog_metrics_series_omitted";
    br_metrics_out_family(o, name, BR_METRICS_GAUGE,
                          "Samples this scrape left out by metrics.partition.series.max and "
                          "metrics.group.series.max.");
    struct br_metrics_label l = {"family", "partition", 9};
    br_metrics_out_i64(o, name, &l, 1, partitions);
    l = (struct br_metrics_label){"family", "group", 5};
    br_metrics_out_i64(o, name, &l, 1, groups);
    if (partitions > 0)
        br_warn_limited("metrics: %lld partition(s) left out of the scrape (raise "
                        "metrics.partition.series.max to see them)",
                        (long long)partitions);
    if (groups > 0)
        br_warn_limited("metrics: %lld committed offset(s) left out of the scrape (raise "
                        "metrics.group.series.max to see them)",
                        (long long)groups);
}

static void collect_dropped(struct br_stats *s, struct br_metrics_out *o)
{
    struct br_metrics_family *fams[] = {s->requests,    s->latency,   s->bytes_in,
                                        s->records_in,  s->bytes_out, s->produce_errors,
                                        s->fetch_errors};
    br_metrics_out_family(o, "splicelog_metrics_series_dropped_total", BR_METRICS_COUNTER,
                          "Label values refused a series of their own (out of metric cells).");
    for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
        const char *n = br_metrics_family_name(fams[i]);
        struct br_metrics_label l = {"family", n, strlen(n)};
        br_metrics_out_i64(o, "splicelog_metrics_series_dropped_total", &l, 1,
                           (int64_t)br_metrics_dropped(fams[i]));
    }
}

static void collect(void *arg, struct br_metrics_out *o)
{
    struct br_stats *s = arg;
    collect_server(s, o);
    if (atomic_load(&s->ready)) {
        int64_t partitions = collect_partitions(s, o);
        int64_t groups = collect_groups(s, o);
        omitted(o, partitions, groups);
    }
    collect_dropped(s, o);
}

/* ---- set-up -------------------------------------------------------------------------------- */

static int families(struct br_stats *s, const struct br_stats_conf *c)
{
    static const char *const api[] = {"api"};
    static const char *const topic[] = {"topic"};
    static const char *const error[] = {"error"};
    struct br_metrics_opts by_api = {.labels = api, .nlabels = 1, .max_series = 128};
    struct br_metrics_opts lat = {.labels = api,
                                  .nlabels = 1,
                                  .max_series = 128,
                                  .bounds = LATENCY_BOUNDS,
                                  .nbounds = NLAT,
                                  .unit_scale = 1e-9};
    struct br_metrics_opts by_topic = {.labels = topic,
                                       .nlabels = 1,
                                       .max_series = (uint32_t)c->topic_series_max,
                                       .overflow = true};
    struct br_metrics_opts by_error = {.labels = error, .nlabels = 1, .max_series = 128};
    struct br_metrics_opts flush = {.bounds = FLUSH_BOUNDS, .nbounds = NFLUSH, .unit_scale = 1e-9};
    struct br_metrics *m = s->m;
    s->requests = br_metrics_family(m, "splicelog_requests_total", BR_METRICS_COUNTER,
                                    "Requests dispatched, by API.", &by_api);
    s->latency = br_metrics_family(m, "splicelog_request_duration_seconds", BR_METRICS_HISTOGRAM,
                                   "Time from dispatch to the response being ready, by API "
                                   "(long polls and durable produces included).",
                                   &lat);
    s->bytes_in = br_metrics_family(m, "splicelog_topic_bytes_in_total", BR_METRICS_COUNTER,
                                    "Record-batch bytes appended, by topic.", &by_topic);
    s->records_in = br_metrics_family(m, "splicelog_topic_records_in_total", BR_METRICS_COUNTER,
                                      "Records appended, by topic.", &by_topic);
    s->bytes_out =
        br_metrics_family(m, "splicelog_topic_bytes_out_total", BR_METRICS_COUNTER,
                          "Record-batch bytes sent in fetch responses, by topic.", &by_topic);
    s->produce_errors =
        br_metrics_family(m, "splicelog_produce_errors_total", BR_METRICS_COUNTER,
                          "Produce partitions answered with an error, by Kafka error.", &by_error);
    s->fetch_errors =
        br_metrics_family(m, "splicelog_fetch_errors_total", BR_METRICS_COUNTER,
                          "Fetch partitions answered with an error, by Kafka error.", &by_error);
    struct br_metrics_family *fl = br_metrics_family(
        m, "splicelog_log_flush_duration_seconds", BR_METRICS_HISTOGRAM,
        "Sync rounds of the storage flusher (fdatasync of a log's new bytes).", &flush);
    struct br_metrics_family *fle =
        br_metrics_family(m, "splicelog_log_flush_errors_total", BR_METRICS_COUNTER,
                          "Sync rounds that failed.", NULL);
    struct br_metrics_family *sb =
        br_metrics_family(m, "splicelog_scrub_bytes_total", BR_METRICS_COUNTER,
                          "Bytes of segments the scrubber re-read against their digests.", NULL);
    struct br_metrics_family *sf =
        br_metrics_family(m, "splicelog_scrub_fenced_ranges_total", BR_METRICS_COUNTER,
                          "Ranges of batches the scrubber found corrupt and fenced.", NULL);
    struct br_metrics_family *sg =
        br_metrics_family(m, "splicelog_scrub_bad_segments_total", BR_METRICS_COUNTER,
                          "Segments in which the scrubber fenced something new.", NULL);
    struct br_metrics_family *sr = br_metrics_family(
        m, "splicelog_scrub_repaired_ranges_total", BR_METRICS_COUNTER,
        "Fenced ranges repaired in place with the bytes of another replica (a follower's from "
        "its leader, a leader's from an in-sync follower).",
        NULL);
    struct br_metrics_family *srb =
        br_metrics_family(m, "splicelog_scrub_repaired_bytes_total", BR_METRICS_COUNTER,
                          "Bytes of the fenced ranges repaired from another replica.", NULL);
    struct br_metrics_opts ahead = {.bounds = AHEAD_BOUNDS, .nbounds = NAHEAD, .unit_scale = 1};
    struct br_metrics_family *tu =
        br_metrics_family(m, "splicelog_loop_turns_total", BR_METRICS_COUNTER,
                          "Turns of the event loops (all loop threads).", NULL);
    struct br_metrics_family *ah = br_metrics_family(
        m, "splicelog_request_ahead", BR_METRICS_HISTOGRAM,
        "Requests of other connections handled on a request's loop before it, in the turn in "
        "which it was received whole (fair service: bounded by the shares of a turn, "
        "connection.turn.max.requests / .bytes; requests that waited because their own "
        "connection used its share are not observed).",
        &ahead);
    struct br_metrics_family *su = br_metrics_family(
        m, "splicelog_connection_share_used_total", BR_METRICS_COUNTER,
        "Times a connection used its share of a loop turn with whole requests left; it was "
        "read no further until a later turn served them.",
        NULL);
    struct br_metrics_family *hd = br_metrics_family(
        m, "splicelog_connection_holds_total", BR_METRICS_COUNTER,
        "Times a heavy connection was held, unread, after its turn so that it takes at most "
        "connection.heavy.busy.percent of its loop's time while light connections want service.",
        NULL);
    struct br_metrics_family *ho =
        br_metrics_family(m, "splicelog_connection_handoffs_total", BR_METRICS_COUNTER,
                          "New connections the accepting loop thread handed to a less loaded one "
                          "(connection.placement=load).",
                          NULL);
    struct br_metrics_family *mv = br_metrics_family(
        m, "splicelog_connection_moves_total", BR_METRICS_COUNTER,
        "Light connections moved, between two requests, off a loop thread with a heavy "
        "connection to one without (connection.placement=load).",
        NULL);
    if (!s->requests || !s->latency || !s->bytes_in || !s->records_in || !s->bytes_out ||
        !s->produce_errors || !s->fetch_errors || !fl || !fle || !sb || !sf || !sg || !sr || !srb ||
        !tu || !ah || !su || !hd || !ho || !mv)
        return -ENOMEM;
    /* every API key gets its series now (keys with one name share it), so none is made on
     * the request path and an unused API shows as 0 */
    for (int i = 0; i <= API_SLOTS; i++) {
        const char *name = kp_api_name((int16_t)(i < API_SLOTS ? i : -1));
        struct br_metrics_val v = {name, strlen(name)};
        s->req[i] = br_metrics_series(m, s->requests, &v);
        s->lat[i] = br_metrics_series(m, s->latency, &v);
        if (!s->req[i] || !s->lat[i])
            return -ENOMEM;
    }
    s->flush = br_metrics_series(m, fl, NULL);
    s->flush_errors = br_metrics_series(m, fle, NULL);
    s->scrub_bytes = br_metrics_series(m, sb, NULL);
    s->scrub_fenced = br_metrics_series(m, sf, NULL);
    s->scrub_bad = br_metrics_series(m, sg, NULL);
    s->scrub_repaired = br_metrics_series(m, sr, NULL);
    s->scrub_repaired_bytes = br_metrics_series(m, srb, NULL);
    s->turns = br_metrics_series(m, tu, NULL);
    s->ahead = br_metrics_series(m, ah, NULL);
    s->share_used = br_metrics_series(m, su, NULL);
    s->handoffs = br_metrics_series(m, ho, NULL);
    s->moves = br_metrics_series(m, mv, NULL);
    s->holds = br_metrics_series(m, hd, NULL);
    if (!s->flush || !s->flush_errors || !s->scrub_bytes || !s->scrub_fenced || !s->scrub_bad ||
        !s->scrub_repaired || !s->scrub_repaired_bytes || !s->turns || !s->ahead ||
        !s->share_used || !s->handoffs || !s->moves || !s->holds)
        return -ENOMEM;
    return br_metrics_collector(m, collect, s);
}

int br_stats_start(struct br_server *srv)
{
    const struct br_stats_conf *c = &srv->cfg->metrics;
    if (!c->listener[0])
        return 0;
    struct br_stats *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->srv = srv;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->start_time_s = (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000;
    /* cells: the API families (distinct names, at most 32), topics x 3 (+ (other)), error
     * codes x 2, the flush and ahead histograms and the counters */
    uint32_t cells = 32u * (1 + NLAT + 2) + 3u * ((uint32_t)c->topic_series_max + 1) + 2u * 128 +
                     (NFLUSH + 2) + (NAHEAD + 2) + 16;
    s->m = br_metrics_new(srv->cfg->num_network_threads + 8, cells, 0);
    int rc = s->m ? families(s, c) : -ENOMEM;
    char err[512] = "";
    if (rc == 0) {
        struct br_http_opts o = {
            .host = c->host,
            .port = c->port,
            .max_connections = c->http_connections_max,
            .timeout_s = (int)((c->http_timeout_ms + 999) / 1000),
            .log_level_remote = c->log_level_remote,
            .metrics = s->m,
        };
        rc = br_http_start(&o, &s->http, err, sizeof(err));
    } else {
        snprintf(err, sizeof(err), "metrics: out of memory setting up the registry");
    }
    if (rc < 0) {
        br_err("%s", err);
        br_metrics_free(s->m);
        free(s);
        return rc;
    }
    br_info("metrics listener on http://%s%s%s:%d (/metrics, /health, /log-level)",
            strchr(c->host, ':') ? "[" : "", c->host[0] ? c->host : "0.0.0.0",
            strchr(c->host, ':') ? "]" : "", br_http_port(s->http));
    srv->stats = s;
    return 0;
}

void br_stats_ready(struct br_server *srv)
{
    struct br_stats *s = srv->stats;
    if (!s)
        return;
    st_store_set_sync_observer(srv->store, on_sync_time, s);
    atomic_store(&s->ready, true);
    br_http_set_health(s->http, BR_HTTP_READY);
}

void br_stats_stopping(struct br_server *srv)
{
    if (srv->stats)
        br_http_set_health(srv->stats->http, BR_HTTP_STOPPING);
}

void br_stats_stop(struct br_server *srv)
{
    struct br_stats *s = srv->stats;
    if (!s)
        return;
    br_http_stop(s->http); /* waits for a scrape in progress */
    s->http = NULL;
    atomic_store(&s->ready, false);
    if (srv->store)
        st_store_set_sync_observer(srv->store, NULL, NULL);
}

void br_stats_free(struct br_server *srv)
{
    struct br_stats *s = srv->stats;
    if (!s)
        return;
    br_http_stop(s->http);
    br_metrics_free(s->m);
    free(s);
    srv->stats = NULL;
}
