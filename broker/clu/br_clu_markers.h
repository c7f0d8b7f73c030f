/*
 * br_clu_markers — the transaction coordinator's side of WriteTxnMarkers (api key 27) in a
 * cluster (issue 18 M4, docs/cluster.md "Transactions"): writes a producer's COMMIT or ABORT
 * marker into partitions that other brokers lead, by sending WriteTxnMarkers v1 to each
 * partition's current leader (conf.leader: the cluster's view) at its endpoint of
 * inter.broker.listener.name (conf.endpoint), as Kafka's TransactionMarkerChannelManager does.
 *
 * Contract
 * - br_clu_markers_write() blocks the calling thread (the transaction coordinator's: the admin
 *   thread or the coordinator's timer; never a loop thread) until every partition is answered
 *   or deadline_ms (monotonic, br_now_ms) passes. Per partition, parts[i].rc:
 *     0        the leader wrote the marker (and had it replicated: its answer waits for that)
 *     -ENOENT  no such partition (the leader said so, or the view has none): the caller skips it
 *     -ESTALE  the leader knows a newer epoch of this producer: skipped, as Kafka does
 *     -EREMCHG TRANSACTION_COORDINATOR_FENCED: a coordinator of a newer coordinator epoch wrote
 *              this producer's markers there (this one is deposed; Kafka's stops sending)
 *     -EAGAIN  not known now: no leader in the view, not the leader any more, loading, timed
 *              out, the leader's connection failed or its answer did not parse, refused
 *              (CLUSTER_AUTHORIZATION_FAILED: logged): the caller retries later
 *   The call returns 0, or -EINVAL for bad arguments (then no rc is set).
 * - One connection per leader broker, opened on first use (blocking connect of at most
 *   CONNECT_MS) and reused by later calls; closed on any error (reopened at the next call).
 *   One request in flight per connection: calls to the same broker wait for each other
 *   (per-connection mutex); calls to different brokers run in parallel. Within a call, the
 *   partitions of one leader travel in one request and leaders are asked one after another.
 * - Any thread; br_clu_markers_free() once no call is running (closes every connection).
 * - Connections are PLAINTEXT, or TLS when conf.tls is set (an SSL inter-broker listener:
 *   br_clu_link.h, the leader's certificate verified, this broker's presented; the handshake
 *   bounded by conf.handshake_ms and the deadline, a failure logged naming the broker and the
 *   reason, then -EAGAIN as any lost connection), never SASL, as the replica fetcher's
 *   (br_clu_fetch.h). With an authorizer the principal the leader sees (ANONYMOUS, or the
 *   certificate's subject over TLS) needs CLUSTER_ACTION on the cluster.
 * - Errors: 0 or -errno; Kafka's codes never leave this module.
 */
#ifndef SPLICELOG_BR_CLU_MARKERS_H
#define SPLICELOG_BR_CLU_MARKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct br_clu_markers;
struct br_clu_tls;

/* Where partitions are led and where brokers listen: the broker gives the cluster's view
 * (br_clu_leader; br_clu_node on inter.broker.listener.name), tests give fakes. Any thread. */
struct br_clu_markers_conf {
    int32_t broker_id; /* this broker (the client id names it) */
    /* the leader's broker id, -1 none, -ENOENT no such partition */
    int32_t (*leader)(void *arg, const char *topic, size_t topic_len, int32_t partition);
    /* broker id's endpoint (host NUL-terminated in cap bytes): 0, or -ENOENT (not live) */
    int (*endpoint)(void *arg, int32_t id, char *host, size_t cap, int32_t *port);
    void *arg;
    struct br_clu_tls *tls; /* NULL: PLAINTEXT; else the caller's, outliving this sender */
    int64_t handshake_ms;   /* ssl.handshake.timeout.ms (0: CONNECT_MS) */
};

struct br_clu_marker_part {
    const char *topic; /* not NUL-terminated necessarily */
    size_t topic_len;
    int32_t partition;
    int rc; /* out: see above */
};

int br_clu_markers_new(const struct br_clu_markers_conf *conf, struct br_clu_markers **out);
void br_clu_markers_free(struct br_clu_markers *m); /* NULL accepted */

int br_clu_markers_write(struct br_clu_markers *m, int64_t pid, int16_t epoch, bool commit,
                         int32_t coordinator_epoch, struct br_clu_marker_part *parts, int n,
                         int64_t deadline_ms);

#endif
