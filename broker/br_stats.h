/*
 * br_stats — what the broker measures, where, and how operators read it: the metrics.*
 * settings, the broker's metric families on a br_metrics registry, the hooks the request path
 * calls, the values read at scrape time (store, committed offsets, groups, limits), and the
 * HTTP listener (br_http) that serves them with /health and /log-level.
 *
 * Contract
 * - Off unless metrics.listener is set: then srv->stats stays NULL and every hook is a no-op
 *   on NULL (one test of a pointer; no clock read).
 * - Lifecycle, from br_server_run's thread: br_stats_start() before the store is opened (the
 *   listener answers /health with 503 during recovery), br_stats_ready() once the loops run
 *   (200; scrape-time values switched on), br_stats_stopping() when shutdown begins (503),
 *   br_stats_stop() after the loops and housekeeping stopped and before the store, offsets and
 *   groups are closed (no scrape can touch them after it returns), br_stats_free() after the
 *   store is closed (its flusher may still be reporting a sync until then). start returns 0 or
 *   -errno (logged: a bad address, the port in use); the others cannot fail.
 * - Hooks are called on loop threads (requests, bytes, errors), the storage flusher (sync
 *   time), the housekeeping thread (scrub) and the replica fetchers (repaired ranges); they take no
 * lock except the first time a topic or error code is seen (br_metrics.h). Fetch bytes are staged
 * per thread while a fetch is evaluated (a parked fetch may be evaluated several times) and counted
 * once, when its response is complete: br_stats_fetch_begin / _bytes / _commit.
 * - Bounded: per-topic series past metrics.topic.series.max count under topic="(other)";
 *   per-partition and per-group samples past their bounds are left out of the scrape and
 *   counted (splicelog_metrics_series_omitted), with a rate-limited log line.
 */
#ifndef SPLICELOG_BR_STATS_H
#define SPLICELOG_BR_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct br_server;
struct br_stats;
struct st_scrub_report;

/* ---- settings (metrics.*), parsed with the rest of the configuration ------------------------ */

struct br_stats_conf {
    char listener[300];           /* metrics.listener: "http://HOST:PORT", "" = off */
    char host[256];               /* ... parsed */
    int port;                     /* ... parsed (0 = ephemeral) */
    int32_t http_connections_max; /* metrics.http.connections.max */
    int64_t http_timeout_ms;      /* metrics.http.timeout.ms */
    bool log_level_remote;        /* metrics.log.level.remote.enable */
    int32_t topic_series_max;     /* metrics.topic.series.max */
    int32_t partition_series_max; /* metrics.partition.series.max */
    int32_t group_series_max;     /* metrics.group.series.max */
};

void br_stats_conf_init(struct br_stats_conf *c);
/* 0, -EINVAL (err names the key), or -ENOENT when key is not a metrics.* key of ours. */
int br_stats_conf_set(struct br_stats_conf *c, const char *key, const char *value, char *err,
                      size_t errlen);
void br_stats_conf_keys(void (*fn)(void *arg, const char *key, const char *def, const char *doc),
                        void *arg);

/* ---- lifecycle (br_server_run's thread) ----------------------------------------------------- */

int br_stats_start(struct br_server *srv);
void br_stats_ready(struct br_server *srv);
void br_stats_stopping(struct br_server *srv);
void br_stats_stop(struct br_server *srv);
void br_stats_free(struct br_server *srv);

/* ---- hooks ---------------------------------------------------------------------------------- */

/* Monotonic ns when stats are on, else 0 (no clock read). */
static inline int64_t br_stats_clock(const struct br_stats *s)
{
    if (!s)
        return 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A request handled (dispatch): counted; its latency from t0 observed when answered is true
 * (answered now, or no answer due), else later through br_stats_request_done (parked). */
void br_stats_request(struct br_stats *s, int16_t api_key, int64_t t0_ns, bool answered);
/* A parked response became ready (long-poll fetch, durable produce, admin or group job). */
void br_stats_request_done(struct br_stats *s, int16_t api_key, int64_t t0_ns);
/* A batch appended to a topic: its bytes and records. */
void br_stats_produced(struct br_stats *s, const char *topic, size_t topic_len, size_t bytes,
                       int32_t records);
/* A partition of a Produce / Fetch answered with a Kafka error code (not 0). */
void br_stats_produce_error(struct br_stats *s, int16_t code);
void br_stats_fetch_error(struct br_stats *s, int16_t code);
/* Fetch bytes: begin at each evaluation, bytes per partition read, commit when complete. */
void br_stats_fetch_begin(struct br_stats *s);
void br_stats_fetch_bytes(struct br_stats *s, const char *topic, size_t topic_len, size_t bytes);
void br_stats_fetch_commit(struct br_stats *s);
/* Fair service (br_conn.h, shares of a loop turn), on loop threads: a turn of a loop began; a
 * request is handled in the turn it was received whole in, after `ahead` requests of other
 * connections in that turn (requests that waited for a later turn because their own
 * connection's share ran out are not observed); a connection used its share of a turn with
 * whole requests left (it waits for the next turn, not read). */
void br_stats_turn(struct br_stats *s);
void br_stats_ahead(struct br_stats *s, uint64_t ahead);
void br_stats_share_used(struct br_stats *s);
/* Fair service held a heavy connection (its hold was set or extended). */
void br_stats_hold(struct br_stats *s);
/* Placement (br_place.h), on loop threads: a new connection was handed to another loop. */
void br_stats_handoff(struct br_stats *s);
/* ... a live connection moved to another loop. */
void br_stats_move(struct br_stats *s);
/* Housekeeping: one call of st_store_scrub and what it found. */
void br_stats_scrub(struct br_stats *s, const struct st_scrub_report *rep);
/* A fenced range repaired from another replica (a replica fetcher thread): bytes written. */
void br_stats_scrub_repaired(struct br_stats *s, int64_t bytes);

#endif
