/*
 * br_config — the broker's configuration: embedded defaults, a server.properties file and
 * command-line overrides, with Kafka's key names where Kafka has one.
 *
 * Contract
 * - br_config_init() fills every field with its default; br_config_load_file() and
 *   br_config_set() apply "key=value" settings in the order given (a later one wins), and
 *   br_config_finish() checks what only makes sense as a whole (listeners, threads).
 * - Unknown keys and bad values fail with -EINVAL and a message in err naming the key (and
 *   the file line), so the daemon refuses to start instead of running on a surprise. The
 *   exception: keys that only Kafka's JVM, KRaft or replication read
 *   (process.roles, num.io.threads, socket.send.buffer.bytes, ...; the
 *   list is br_config.c's ignored[]) are accepted whatever their value and collected in
 *   struct br_config.ignored, which the daemon logs once, as one warning line, so a stock
 *   Kafka server.properties starts.
 * - Listener names resolve to security protocols in br_config_finish(), through
 *   listener.security.protocol.map when it is set (else a listener's name is its protocol, as
 *   in Kafka); listeners named in controller.listener.names (KRaft's) are not opened.
 * - The struct is plain data, read-only once the server starts; any thread may read it.
 * - config/server.properties lists every key handled here with its default; br_config_keys()
 *   walks the same table (--help prints it).
 */
#ifndef SPLICELOG_BR_CONFIG_H
#define SPLICELOG_BR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "br_log.h"
#include "br_sec_conf.h"
#include "br_stats.h"
#include "br_tls_conf.h"
#include "st.h"

#define BR_MAX_LISTENERS    4
#define BR_HOST_MAX         256
#define BR_MAX_IP_OVERRIDES 64

enum br_protocol {
    BR_PROTO_PLAINTEXT = 0,
    BR_PROTO_SSL = 1,            /* TLS, settings in struct br_config.tls (br_tls.h) */
    BR_PROTO_SASL_PLAINTEXT = 2, /* SASL before any other API (br_sec_conf.h) */
    BR_PROTO_SASL_SSL = 3,       /* TLS, then SASL */
};
static inline bool br_proto_tls(enum br_protocol p)
{
    return p == BR_PROTO_SSL || p == BR_PROTO_SASL_SSL;
}
static inline bool br_proto_sasl(enum br_protocol p)
{
    return p == BR_PROTO_SASL_PLAINTEXT || p == BR_PROTO_SASL_SSL;
}

enum br_transfer {
    BR_XFER_SPLICE = 0,
    BR_XFER_SENDFILE = 1,
    BR_XFER_COPY = 2,
    BR_XFER_AUTO = 3, /* chosen at start-up by br_xfer_auto_choose (br_xfer.h) */
};

/* connection.placement: which loop thread a new connection lives on (br_place.h). */
enum br_placement {
    BR_PLACE_LOAD = 0, /* the least loaded loop (heavy connections, then connections) */
    BR_PLACE_HASH = 1, /* the loop whose SO_REUSEPORT socket the kernel chose */
};

struct br_listener_cfg {
    enum br_protocol protocol;  /* from the name, resolved by br_config_finish() */
    char name[32];              /* listener name, e.g. "PLAINTEXT" */
    char host[BR_HOST_MAX];     /* bind host; "" or 0.0.0.0 = every address */
    int port;                   /* 0 = ephemeral */
    char adv_host[BR_HOST_MAX]; /* advertised host ("" = the bound address) */
    int adv_port;               /* advertised port (0 = the bound port) */
};

/* One entry of max.connections.per.ip.overrides: a host (an address, or a name resolved when
 * the server starts) and the connections it may open. */
struct br_ip_override {
    char host[BR_HOST_MAX];
    int32_t max;
};

struct br_config {
    int32_t node_id; /* node.id / broker.id */
    struct br_listener_cfg listeners[BR_MAX_LISTENERS];
    int nlisteners;                      /* listeners */
    char advertised[1024];               /* advertised.listeners, applied by finish() */
    char zk_connect[1024];               /* zookeeper.connect ("" = single node) */
    char rack[128];                      /* broker.rack ("" = none) */
    int64_t zk_session_timeout_ms;       /* zookeeper.session.timeout.ms */
    int64_t zk_connection_timeout_ms;    /* zookeeper.connection.timeout.ms (finish(): 0 = the
                                          * session timeout) */
    char data_dir[1024];                 /* log.dirs / log.dir */
    int num_network_threads;             /* 0 = number of CPUs */
    bool network_threads_pin;            /* loop i on the i-th allowed CPU */
    int32_t num_partitions;              /* num.partitions */
    int32_t topic_partitions_max;        /* topic.partitions.max (splicelog) */
    int32_t default_replication_factor;  /* default.replication.factor (a cluster) */
    int64_t replica_lag_time_max_ms;     /* replica.lag.time.max.ms (a cluster) */
    bool auto_leader_rebalance;          /* auto.leader.rebalance.enable (a cluster) */
    int64_t leader_imbalance_check_s;    /* leader.imbalance.check.interval.seconds */
    int32_t leader_imbalance_pct;        /* leader.imbalance.per.broker.percentage */
    bool controlled_shutdown;            /* controlled.shutdown.enable (a cluster) */
    bool auto_create_topics;             /* auto.create.topics.enable */
    bool delete_topic_enable;            /* delete.topic.enable */
    int64_t message_max_bytes;           /* message.max.bytes */
    int64_t socket_request_max_bytes;    /* socket.request.max.bytes */
    int64_t max_connections;             /* max.connections */
    int64_t max_connections_per_ip;      /* max.connections.per.ip */
    int nip_overrides;                   /* entries of ip_overrides */
    int64_t evict_idle_ms;               /* max.connections.evict.idle.ms (splicelog) */
    int64_t connections_max_idle_ms;     /* connections.max.idle.ms */
    int64_t request_receive_timeout_ms;  /* request.receive.timeout.ms (splicelog) */
    int64_t queued_max_requests;         /* queued.max.requests: per-connection responses */
    int64_t queued_max_request_bytes;    /* queued.max.request.bytes, -1 = no bound */
    int64_t connection_output_max_bytes; /* socket.output.max.bytes (splicelog) */
    int64_t turn_max_requests;           /* connection.turn.max.requests (splicelog), 0 = no cap */
    int64_t turn_max_bytes;              /* connection.turn.max.bytes (splicelog), 0 = no cap */
    int64_t heavy_busy_percent;          /* connection.heavy.busy.percent (splicelog) */
    enum br_placement placement;         /* connection.placement (splicelog) */
    int64_t retention_check_interval_ms; /* log.retention.check.interval.ms */
    int64_t scrub_bytes_per_sec;         /* log.scrub.bytes.per.sec (splicelog), 0 = off */
    enum br_transfer transfer;           /* fetch.transfer (splicelog) */
    int64_t splice_pipes;                /* fetch.splice.pipes (splicelog): per loop thread */
    int64_t copy_buffer_bytes;           /* fetch.copy.buffer.bytes (splicelog) */
    int64_t inline_max_bytes;            /* fetch.inline.max.bytes (splicelog) */
    int64_t shutdown_timeout_ms;         /* shutdown.timeout.ms (splicelog) */
    enum br_log_level log_level;         /* log.level (splicelog) */
    enum br_log_format log_format;       /* log.format (splicelog) */
    char protocol_map[1024];             /* listener.security.protocol.map ("" = names) */
    char controller_listeners[256];      /* controller.listener.names: not opened */
    char ignored[1024];                  /* Kafka-only keys seen, comma-separated, for the
                                          * one warning line ("" = none) */
    int64_t offsets_retention_ms;        /* offsets.retention.minutes, in ms (-1 = keep) */
    int32_t offset_metadata_max_bytes;   /* offset.metadata.max.bytes */
    int32_t offsets_topic_partitions;    /* offsets.topic.num.partitions (br_cotopic.h) */
    int64_t offsets_topic_segment_bytes; /* offsets.topic.segment.bytes */
    int64_t group_initial_delay_ms;      /* group.initial.rebalance.delay.ms */
    int32_t group_min_session_ms;        /* group.min.session.timeout.ms */
    int32_t group_max_session_ms;        /* group.max.session.timeout.ms */
    int32_t group_max_size;              /* group.max.size */
    int32_t group_max_groups;            /* group.max.groups (splicelog) */
    int32_t group_max_member_bytes;      /* group.max.member.bytes (splicelog) */
    int64_t group_max_total_bytes;       /* group.max.total.bytes (splicelog) */
    /* in a cluster (docs/cluster.md, M4): __consumer_offsets' replication factor, and how long
     * an OffsetCommit waits for its record to reach every in-sync replica */
    int32_t offsets_topic_replication_factor; /* offsets.topic.replication.factor */
    int64_t offsets_commit_timeout_ms;        /* offsets.commit.timeout.ms */
    /* in a cluster: __transaction_state as FindCoordinator creates it (br_txtopic.h) */
    int32_t txn_topic_partitions;         /* transaction.state.log.num.partitions */
    int32_t txn_topic_replication_factor; /* transaction.state.log.replication.factor */
    int32_t txn_topic_min_isr;            /* transaction.state.log.min.isr */
    int64_t txn_topic_segment_bytes;      /* transaction.state.log.segment.bytes */
    /* the transaction coordinator (br_txn.h; Kafka's TransactionStateManagerConfigs) */
    int32_t txn_max_timeout_ms;   /* transaction.max.timeout.ms */
    int64_t txn_abort_check_ms;   /* transaction.abort.timed.out.transaction.cleanup.interval.ms */
    int64_t txn_id_expiration_ms; /* transactional.id.expiration.ms */
    int64_t txn_expire_check_ms;  /* transaction.remove.expired.transaction.cleanup.interval.ms */
    int64_t txn_max_memory_bytes; /* transaction.state.max.memory.bytes (splicelog) */
    int32_t test_txn_crash_step;  /* test.txn.crash.step (tests only; 0 = off) */
    int32_t test_pid_block_size;  /* test.producer.id.block.size (tests only; 1000) */
    struct st_log_config log;     /* log.segment.bytes, retention, flush, ... */
    struct br_tls_conf tls;       /* ssl.* (br_tls_conf.h), used by SSL listeners */
    struct br_sec_conf sec;       /* SASL, ACLs, quotas (br_sec_conf.h) */
    bool test_tls_socket_mode;    /* test.tls.socket.mode (tests only) */
    bool test_tls_cold_reads;     /* test.tls.cold.reads (tests only) */
    struct br_stats_conf metrics; /* metrics.* (br_stats.h): the HTTP listener */
    /* replication, the follower side (broker/clu/br_clu_fetch.h) */
    char inter_broker_listener[32];           /* inter.broker.listener.name (finish(): "" =
                                               * the first listener) */
    int32_t num_replica_fetchers;             /* num.replica.fetchers */
    int32_t replica_fetch_max_bytes;          /* replica.fetch.max.bytes */
    int32_t replica_fetch_response_max_bytes; /* replica.fetch.response.max.bytes */
    int32_t replica_fetch_wait_max_ms;        /* replica.fetch.wait.max.ms */
    int32_t replica_fetch_min_bytes;          /* replica.fetch.min.bytes */
    int64_t replica_fetch_backoff_ms;         /* replica.fetch.backoff.ms */
    /* max.connections.per.ip.overrides */
    struct br_ip_override ip_overrides[BR_MAX_IP_OVERRIDES];
};

void br_config_init(struct br_config *c);
/* Applies one "key=value" (spaces around both trimmed). */
int br_config_set(struct br_config *c, const char *kv, char *err, size_t errlen);
/* Applies key and value separately. */
int br_config_set_kv(struct br_config *c, const char *key, const char *value, char *err,
                     size_t errlen);
/* Reads a server.properties file: key=value or key: value lines, # and ! comments. */
int br_config_load_file(struct br_config *c, const char *path, char *err, size_t errlen);
/* Resolves advertised.listeners and the thread count; validates cross-key rules. */
int br_config_finish(struct br_config *c, char *err, size_t errlen);

const char *br_transfer_name(enum br_transfer t);
const char *br_protocol_name(enum br_protocol p);
/* --listen HOST:PORT: replaces the address of the first PLAINTEXT listener (keeping the
 * others), or makes the listener list that one PLAINTEXT listener when there is none. */
int br_config_listen(struct br_config *c, const char *hostport, char *err, size_t errlen);

/* Calls fn for each key that is accepted and ignored (Kafka's JVM, ZooKeeper, KRaft). */
void br_config_ignored_keys(void (*fn)(void *arg, const char *key), void *arg);

/* Every key with its default (NULL for an alias of another key) and a one-line description,
 * for --help. */
void br_config_keys(void (*fn)(void *arg, const char *key, const char *def, const char *doc),
                    void *arg);

#endif
