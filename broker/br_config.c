/*
 * br_config — see br_config.h. One table holds every key: its type, where it lands in
 * struct br_config, its bounds and its default (as text, applied by br_config_init through
 * the same parser, so the default printed by --help is the default in effect).
 */
#include "br_config.h"

#include "st_clean.h"
#include "st_offsets.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum key_type {
    K_I32,
    K_I64,
    K_BOOL,
    K_STR,
    K_LISTENERS,
    K_TRANSFER,
    K_LOGLEVEL,
    K_LOGFORMAT,
    K_TSTYPE,
    K_HOURS, /* an int64 ms field given in hours (log.retention.hours, log.roll.hours) */
    K_IPOVERRIDES,
    K_PLACEMENT,
};

struct key_def {
    const char *key;
    enum key_type type;
    size_t off;  /* offset of the field in struct br_config */
    size_t size; /* K_STR: buffer size */
    int64_t min, max;
    const char *def; /* NULL: no default of its own (an alias) */
    const char *doc;
};

#define OFF(f)  offsetof(struct br_config, f)
#define SZ(f)   sizeof(((struct br_config *)0)->f)
#define I64_MAX INT64_MAX
#define I32_MAX INT32_MAX

static const struct key_def keys[] = {
    {"node.id", K_I32, OFF(node_id), 0, 0, I32_MAX, "0", "this broker's node id"},
    {"broker.id", K_I32, OFF(node_id), 0, 0, I32_MAX, NULL, "alias of node.id"},
    {"listeners", K_LISTENERS, 0, 0, 0, 0, "PLAINTEXT://127.0.0.1:9092",
     "comma-separated NAME://HOST:PORT; port 0 binds an ephemeral port"},
    {"zookeeper.connect", K_STR, OFF(zk_connect), SZ(zk_connect), 0, 0, "",
     "HOST:PORT[,HOST:PORT...][/chroot] of the ZooKeeper ensemble that coordinates the cluster "
     "(docs/cluster.md); empty = a single broker, no cluster"},
    {"zookeeper.session.timeout.ms", K_I64, OFF(zk_session_timeout_ms), 0, 100, I32_MAX, "18000",
     "ZooKeeper session timeout: a broker silent this long leaves the cluster"},
    {"zookeeper.connection.timeout.ms", K_I64, OFF(zk_connection_timeout_ms), 0, 0, I32_MAX, "0",
     "start-up waits this long for a ZooKeeper session, then fails (0 = the session timeout)"},
    {"broker.rack", K_STR, OFF(rack), SZ(rack), 0, 0, "",
     "this broker's rack (none if empty): answered in Metadata; in a cluster registered in "
     "ZooKeeper, and new topics' replicas are spread over racks when every live broker has one "
     "(docs/cluster.md)"},
    {"inter.broker.listener.name", K_STR, OFF(inter_broker_listener), SZ(inter_broker_listener), 0,
     0, "",
     "the listener brokers connect to each other on (replica fetchers, transaction markers); "
     "empty = the first listener of listeners. PLAINTEXT or SSL (a TLS client with the ssl.* "
     "keys: peers verified against ssl.ca.location, this broker's certificate presented); "
     "SASL_* is refused at start"},
    {"num.replica.fetchers", K_I32, OFF(num_replica_fetchers), 0, 1, 64, "1",
     "replica fetcher threads (sl-replicaN); leader brokers are spread over them"},
    {"replica.fetch.max.bytes", K_I32, OFF(replica_fetch_max_bytes), 0, 1024, I32_MAX, "1048576",
     "bytes a follower asks of each partition per fetch (a first batch larger is sent whole)"},
    {"replica.fetch.response.max.bytes", K_I32, OFF(replica_fetch_response_max_bytes), 0, 1024,
     1 << 30, "10485760",
     "bytes a follower asks of a whole fetch response; a larger response closes the connection"},
    {"replica.fetch.wait.max.ms", K_I32, OFF(replica_fetch_wait_max_ms), 0, 0, 60000, "500",
     "how long a leader may hold a follower's fetch waiting for data"},
    {"replica.fetch.min.bytes", K_I32, OFF(replica_fetch_min_bytes), 0, 1, I32_MAX, "1",
     "bytes a leader waits for before answering a follower's fetch"},
    {"replica.fetch.backoff.ms", K_I64, OFF(replica_fetch_backoff_ms), 0, 0, I32_MAX, "1000",
     "a follower waits this long after a fetch error or a lost connection"},
    {"advertised.listeners", K_STR, OFF(advertised), SZ(advertised), 0, 0, "",
     "address given to clients in Metadata; empty = the bound address of each listener"},
    {"log.dirs", K_STR, OFF(data_dir), SZ(data_dir), 0, 0, "./data", "data directory"},
    {"log.dir", K_STR, OFF(data_dir), SZ(data_dir), 0, 0, NULL, "alias of log.dirs"},
    {"num.network.threads", K_I32, OFF(num_network_threads), 0, 0, 256, "0",
     "event-loop threads, each with its own io_uring and listening socket; 0 = CPUs"},
    {"network.threads.pin", K_BOOL, OFF(network_threads_pin), 0, 0, 0, "false",
     "pin event-loop thread i to the i-th CPU the process may run on (splicelog)"},
    {"num.partitions", K_I32, OFF(num_partitions), 0, 1, 100000, "1",
     "partitions of an auto-created topic"},
    {"default.replication.factor", K_I32, OFF(default_replication_factor), 0, 1, 16, "1",
     "replicas of each partition of a topic created without one (a cluster; a single node "
     "has 1)"},
    {"replica.lag.time.max.ms", K_I64, OFF(replica_lag_time_max_ms), 0, 100, I32_MAX, "30000",
     "a follower that has not caught up with the leader's end for this long leaves the ISR "
     "(a cluster)"},
    {"auto.leader.rebalance.enable", K_BOOL, OFF(auto_leader_rebalance), 0, 0, 0, "true",
     "the controller moves leadership back to each partition's preferred replica (the first of "
     "its assignment) when a broker's share led elsewhere passes "
     "leader.imbalance.per.broker.percentage (a cluster)"},
    {"leader.imbalance.check.interval.seconds", K_I64, OFF(leader_imbalance_check_s), 0, 1, I32_MAX,
     "300", "how often the controller checks the leaders' balance (a cluster)"},
    {"leader.imbalance.per.broker.percentage", K_I32, OFF(leader_imbalance_pct), 0, 0, 100, "10",
     "percent of a broker's preferred partitions that may be led elsewhere before the controller "
     "elects it back (a cluster)"},
    {"controlled.shutdown.enable", K_BOOL, OFF(controlled_shutdown), 0, 0, 0, "true",
     "on SIGTERM, a cluster broker first has the controller move its partitions' leadership to "
     "other in-sync replicas (waiting at most shutdown.timeout.ms), then stops serving"},
    {"topic.partitions.max", K_I32, OFF(topic_partitions_max), 0, 1, ST_MAX_PARTITIONS, "4096",
     "most partitions one topic may have"},
    {"auto.create.topics.enable", K_BOOL, OFF(auto_create_topics), 0, 0, 0, "true",
     "create a topic named in Metadata when the request allows it"},
    {"delete.topic.enable", K_BOOL, OFF(delete_topic_enable), 0, 0, 0, "true",
     "allow DeleteTopics"},
    {"message.max.bytes", K_I64, OFF(message_max_bytes), 0, 64, I32_MAX, "1048588",
     "largest record batch accepted from a producer"},
    {"socket.request.max.bytes", K_I64, OFF(socket_request_max_bytes), 0, 64, I32_MAX, "104857600",
     "largest request frame; a bigger one closes the connection"},
    {"max.connections", K_I64, OFF(max_connections), 0, 1, 1000000, "10000",
     "open client connections, all listeners together; at the bound a new one closes the "
     "longest-idle one (see max.connections.evict.idle.ms)"},
    {"max.connections.per.ip", K_I64, OFF(max_connections_per_ip), 0, 0, I32_MAX, "2147483647",
     "open connections from one IP address; more are closed at once"},
    {"max.connections.per.ip.overrides", K_IPOVERRIDES, 0, 0, 0, 0, "",
     "host:count,host:count - per-address (or host name) exceptions to max.connections.per.ip"},
    {"max.connections.evict.idle.ms", K_I64, OFF(evict_idle_ms), 0, -1, I64_MAX, "1000",
     "at max.connections, a new connection closes its loop thread's longest-idle connection if "
     "that one has had no complete request for this long, else it is refused (-1 = always refuse)"},
    {"connections.max.idle.ms", K_I64, OFF(connections_max_idle_ms), 0, 0, I64_MAX, "600000",
     "close connections without a complete request for this long (0 = never)"},
    {"request.receive.timeout.ms", K_I64, OFF(request_receive_timeout_ms), 0, 0, I64_MAX, "30000",
     "once the first byte of a request is in, the whole request must arrive within this, else "
     "the connection is closed (0 = no deadline)"},
    {"queued.max.requests", K_I64, OFF(queued_max_requests), 0, 1, 100000, "500",
     "responses pending on one connection before it is read no further"},
    {"queued.max.request.bytes", K_I64, OFF(queued_max_request_bytes), 0, -1, I64_MAX, "268435456",
     "request bytes being received, all connections together; a connection whose request "
     "would pass it is read no further until bytes are freed (-1 = no bound)"},
    {"socket.output.max.bytes", K_I64, OFF(connection_output_max_bytes), 0, 4096, I64_MAX,
     "67108864", "buffered response bytes on one connection before it is read no further"},
    {"connection.turn.max.requests", K_I64, OFF(turn_max_requests), 0, 0, 1000000, "16",
     "fair service: requests of one connection handled per turn of its loop; a connection with "
     "more waits for the next turn, unread, while others are served (0 = no cap)"},
    {"connection.turn.max.bytes", K_I64, OFF(turn_max_bytes), 0, 0, I64_MAX, "262144",
     "fair service: request bytes of one connection handled per turn of its loop (a request "
     "larger than this is handled alone in its turn; 0 = no cap)"},
    {"connection.heavy.busy.percent", K_I64, OFF(heavy_busy_percent), 0, 1, 100, "75",
     "fair service: while other connections are active, a connection that keeps using up its "
     "share of a turn is served at most this percentage of the time, and not read the rest "
     "(100 = no hold)"},
    {"connection.placement", K_PLACEMENT, 0, 0, 0, 0, "load",
     "which loop thread a new connection lives on: load (the loop with the fewest heavy "
     "connections, then the fewest connections; the accepting loop hands it over) | hash (the "
     "kernel's SO_REUSEPORT choice)"},
    {"log.retention.check.interval.ms", K_I64, OFF(retention_check_interval_ms), 0, 100, I64_MAX,
     "300000", "how often segment roll-by-time and retention run"},
    {"log.scrub.bytes.per.sec", K_I64, OFF(scrub_bytes_per_sec), 0, 0, I64_MAX, "16777216",
     "bytes of sealed segments re-verified against their digests per second (0 = off)"},
    {"fetch.transfer", K_TRANSFER, 0, 0, 0, 0, "auto",
     "how fetched file ranges reach the socket: auto (measured at start-up) | splice | "
     "sendfile | copy"},
    {"fetch.inline.max.bytes", K_I64, OFF(inline_max_bytes), 0, 0, 1 << 20, "65536",
     "file bytes a transfer step may copy in line with the response header in one send when "
     "the page cache holds them (0 = off; at most fetch.copy.buffer.bytes)"},
    {"fetch.splice.pipes", K_I64, OFF(splice_pipes), 0, 1, 4096, "64",
     "pipes in each loop thread's splice pool"},
    {"fetch.copy.buffer.bytes", K_I64, OFF(copy_buffer_bytes), 0, 4096, 64 << 20, "262144",
     "per-connection buffer of the copy transfer path"},
    {"shutdown.timeout.ms", K_I64, OFF(shutdown_timeout_ms), 0, 0, I64_MAX, "10000",
     "on SIGTERM, how long in-flight responses may take before connections are cut"},
    {"log.level", K_LOGLEVEL, 0, 0, 0, 0, "info",
     "error | warn | info | debug; at run time: SIGUSR1 / SIGUSR2 or PUT /log-level"},
    {"log.format", K_LOGFORMAT, 0, 0, 0, 0, "text",
     "text | logfmt | json: one line per event on stderr"},
    {"listener.security.protocol.map", K_STR, OFF(protocol_map), SZ(protocol_map), 0, 0, "",
     "NAME:PROTOCOL,... for listener names that are not a protocol (PLAINTEXT, SSL); empty = "
     "each listener's name is its protocol"},
    {"controller.listener.names", K_STR, OFF(controller_listeners), SZ(controller_listeners), 0, 0,
     "",
     "KRaft's controller listeners: named in listeners, they are not opened (splicelog has "
     "no controller quorum)"},
    {"group.initial.rebalance.delay.ms", K_I64, OFF(group_initial_delay_ms), 0, 0, I32_MAX, "3000",
     "a group's first rebalance waits this long for more members to join"},
    {"group.min.session.timeout.ms", K_I32, OFF(group_min_session_ms), 0, 1, I32_MAX, "6000",
     "smallest session timeout a group member may ask for"},
    {"group.max.session.timeout.ms", K_I32, OFF(group_max_session_ms), 0, 1, I32_MAX, "1800000",
     "largest session timeout a group member may ask for"},
    {"group.max.size", K_I32, OFF(group_max_size), 0, 1, 1000000, "1000",
     "members of one consumer group"},
    {"group.max.groups", K_I32, OFF(group_max_groups), 0, 1, 10000000, "100000",
     "consumer groups held in memory; an empty group is forgotten to make room"},
    {"group.max.member.bytes", K_I32, OFF(group_max_member_bytes), 0, 1024, I32_MAX, "1048576",
     "protocol metadata (JoinGroup) and assignment (SyncGroup) bytes of one member"},
    {"group.max.total.bytes", K_I64, OFF(group_max_total_bytes), 0, 65536, I64_MAX, "268435456",
     "memory the coordinator holds for all groups together: metadata, assignments and each "
     "member's and protocol's bookkeeping"},
    {"transaction.max.timeout.ms", K_I32, OFF(txn_max_timeout_ms), 0, 1, I32_MAX, "900000",
     "largest transaction.timeout.ms a transactional producer may ask for (InitProducerId)"},
    {"transaction.abort.timed.out.transaction.cleanup.interval.ms", K_I64, OFF(txn_abort_check_ms),
     0, 1, I64_MAX, "10000", "how often transactions open longer than their timeout are aborted"},
    {"transactional.id.expiration.ms", K_I64, OFF(txn_id_expiration_ms), 0, 1, I64_MAX, "604800000",
     "a transactional id with no transaction and no request for this long is forgotten"},
    {"transaction.remove.expired.transaction.cleanup.interval.ms", K_I64, OFF(txn_expire_check_ms),
     0, 1, I64_MAX, "3600000", "how often expired transactional ids are looked for"},
    {"transaction.state.max.memory.bytes", K_I64, OFF(txn_max_memory_bytes), 0, -1, I64_MAX,
     "67108864",
     "memory held for all transactional ids together; past it a new id is refused "
     "(COORDINATOR_NOT_AVAILABLE, retried by clients) until ids expire (-1 = no bound)"},
    {"producer.id.expiration.ms", K_I64, OFF(log.producer_id_expiration_ms), 0, -1, I64_MAX,
     "86400000",
     "a producer with no open transaction and no batch for this long is forgotten by each "
     "partition (its next batch is accepted with any sequence) (-1 = never)"},
    {"producer.id.expiration.check.interval.ms", K_I64, OFF(log.producer_id_expiration_check_ms), 0,
     1, I64_MAX, "600000", "how often expired producers are removed"},
    {"producer.state.max.memory.bytes", K_I64, OFF(log.producer_state_max_bytes), 0, -1, I64_MAX,
     "67108864",
     "producer state of all partitions together; past it the longest-idle producer without an "
     "open transaction is forgotten (-1 = no bound)"},
    {"replica.cache.keep.bytes", K_I64, OFF(log.replica_cache_keep_bytes), 0, -1, I64_MAX, "-1",
     "N >= 0: a follower keeps the newest N bytes of each partition it follows in the page "
     "cache; older bytes are written back (started on its fetcher thread) and dropped from it "
     "(-1 = off: the kernel decides, as in Kafka)"},
    {"test.txn.crash.step", K_I32, OFF(test_txn_crash_step), 0, 0, I32_MAX, "0",
     "tests only: the broker kills itself (SIGKILL) after step N of ending a transaction "
     "(ORDER OF AN END in br_txn.c; 0 = off)"},
    {"test.producer.id.block.size", K_I32, OFF(test_pid_block_size), 0, 1, 1000000, "1000",
     "tests only: producer ids the transaction coordinator reserves at a time (Kafka's 1000; "
     "in a cluster each block is a write to ZooKeeper's /latest_producer_id_block)"},
    {"test.tls.socket.mode", K_BOOL, OFF(test_tls_socket_mode), 0, 0, 0, "false",
     "tests only: SSL sessions start in socket mode as on a kernel with TLS (the poll-driven "
     "handshake and the fall-back to tls-copy, on kernels without it)"},
    {"test.tls.cold.reads", K_BOOL, OFF(test_tls_cold_reads), 0, 0, 0, "false",
     "tests only: tls-copy reads every file chunk through io_uring, as if none were cached"},
    {"log.segment.bytes", K_I64, OFF(log.segment_bytes), 0, 1024, I64_MAX, "1073741824",
     "roll a segment at this size"},
    {"log.roll.ms", K_I64, OFF(log.roll_ms), 0, 1, I64_MAX, "604800000",
     "roll a segment at this age"},
    {"log.roll.hours", K_HOURS, OFF(log.roll_ms), 0, 1, I64_MAX / 3600000, NULL,
     "log.roll.ms in hours"},
    {"min.insync.replicas", K_I32, OFF(log.min_insync_replicas), 0, 1, 16, "1",
     "replicas in sync an acks=all produce needs (topics without their own)"},
    {"log.retention.bytes", K_I64, OFF(log.retention_bytes), 0, -1, I64_MAX, "-1",
     "delete old segments beyond this size per partition (-1 = no limit)"},
    {"log.retention.ms", K_I64, OFF(log.retention_ms), 0, -1, I64_MAX, "604800000",
     "delete segments older than this (-1 = keep)"},
    {"log.retention.minutes", K_HOURS, OFF(log.retention_ms), 0, -1, I64_MAX / 3600000, NULL,
     "log.retention.ms in minutes"},
    {"log.retention.hours", K_HOURS, OFF(log.retention_ms), 0, -1, I64_MAX / 3600000, NULL,
     "log.retention.ms in hours"},
    {"log.flush.interval.messages", K_I64, OFF(log.flush_interval_messages), 0, -1, I64_MAX, "-1",
     "fdatasync after this many messages (1 = acks wait for the sync; -1 = never)"},
    {"log.flush.interval.ms", K_I64, OFF(log.flush_interval_ms), 0, -1, I64_MAX, "-1",
     "fdatasync at least this often (-1 = never)"},
    {"log.index.interval.bytes", K_I32, OFF(log.index_interval_bytes), 0, 1, I32_MAX, "4096",
     "bytes of log between two offset-index entries"},
    {"log.index.size.max.bytes", K_I32, OFF(log.index_max_bytes), 0, 64, I32_MAX, "10485760",
     "roll a segment when its index reaches this size"},
    {"log.open.files.max", K_I64, OFF(log.open_files_max), 0, 0, 16777216, "0",
     "segments whose files (descriptor, index mappings) stay open, the least recently used "
     "closed first; 0 = half the process's descriptor limit"},
    {"num.recovery.threads.per.data.dir", K_I32, OFF(log.recovery_threads), 0, 0, 64, "0",
     "threads that recover, while the broker starts, the logs a crash left unchecked; 0 = one "
     "per online CPU"},
    {"log.message.timestamp.type", K_TSTYPE, 0, 0, 0, 0, "CreateTime",
     "CreateTime | LogAppendTime"},
    {"offsets.retention.minutes", K_HOURS, OFF(offsets_retention_ms), 0, -1, I64_MAX / 3600000,
     "10080", "committed offsets of a group without members expire after this (-1 = keep)"},
    {"offset.metadata.max.bytes", K_I32, OFF(offset_metadata_max_bytes), 0, 0, ST_OFFSETS_META_CAP,
     "4096", "longest metadata string an OffsetCommit may store"},
    {"offsets.topic.num.partitions", K_I32, OFF(offsets_topic_partitions), 0, 1, ST_MAX_PARTITIONS,
     "50",
     "partitions of the __consumer_offsets topic when it is created (an existing one keeps "
     "its count)"},
    {"offsets.topic.segment.bytes", K_I64, OFF(offsets_topic_segment_bytes), 0, 1024, I32_MAX,
     "104857600", "segment.bytes of the __consumer_offsets topic when it is created"},
    {"offsets.topic.replication.factor", K_I32, OFF(offsets_topic_replication_factor), 0, 1, 16,
     "3",
     "in a cluster: replicas of each __consumer_offsets partition; the topic is created only "
     "once this many brokers are alive (FindCoordinator answers COORDINATOR_NOT_AVAILABLE "
     "until then)"},
    {"transaction.state.log.num.partitions", K_I32, OFF(txn_topic_partitions), 0, 1,
     ST_MAX_PARTITIONS, "50",
     "in a cluster: partitions of the __transaction_state topic when it is created"},
    {"transaction.state.log.replication.factor", K_I32, OFF(txn_topic_replication_factor), 0, 1, 16,
     "3",
     "in a cluster: replicas of each __transaction_state partition; the topic is created only "
     "once this many brokers are alive (FindCoordinator answers COORDINATOR_NOT_AVAILABLE "
     "until then)"},
    {"transaction.state.log.min.isr", K_I32, OFF(txn_topic_min_isr), 0, 1, 16, "2",
     "in a cluster: min.insync.replicas of __transaction_state when it is created"},
    {"transaction.state.log.segment.bytes", K_I64, OFF(txn_topic_segment_bytes), 0, 1024, I32_MAX,
     "104857600", "in a cluster: segment.bytes of __transaction_state when it is created"},
    {"offsets.commit.timeout.ms", K_I64, OFF(offsets_commit_timeout_ms), 0, 1, I32_MAX, "5000",
     "in a cluster: an OffsetCommit waits at most this long for its record to reach every "
     "in-sync replica of its __consumer_offsets partition"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/*
 * Keys a stock Kafka server.properties (ZooKeeper or KRaft mode) sets that mean nothing to
 * splicelog: the JVM's thread pools and socket buffers, the KRaft quorum, internal
 * topics' replication (splicelog keeps that state in its own files), inter-broker replication.
 * Accepted whatever their value, listed once in a warning at start-up.
 */
static const char *const ignored[] = {
    "process.roles",
    "controller.quorum.voters",
    "controller.quorum.bootstrap.servers",
    "controller.quorum.election.timeout.ms",
    "controller.quorum.fetch.timeout.ms",
    "inter.broker.protocol.version",
    "metadata.log.dir",
    "num.io.threads",
    "background.threads",
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "offsets.topic.min.isr",
    "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.min.isr",
};
#define NIGNORED (sizeof(ignored) / sizeof(ignored[0]))

const char *br_transfer_name(enum br_transfer t)
{
    switch (t) {
    case BR_XFER_SPLICE:
        return "splice";
    case BR_XFER_SENDFILE:
        return "sendfile";
    case BR_XFER_COPY:
        return "copy";
    case BR_XFER_AUTO:
        return "auto";
    }
    return "?";
}

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

static int parse_i64(const char *v, int64_t *out)
{
    if (!*v)
        return -EINVAL;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *out = x;
    return 0;
}

/* "NAME://HOST:PORT"; HOST may be empty or [v6]. */
static int parse_endpoint(const char *s, size_t len, struct br_listener_cfg *l, bool listener)
{
    const char *sep = memmem(s, len, "://", 3);
    if (!sep || sep == s || (size_t)(sep - s) >= sizeof(l->name))
        return -EINVAL;
    char name[32];
    memcpy(name, s, (size_t)(sep - s));
    name[sep - s] = 0;
    const char *hp = sep + 3;
    size_t hplen = len - (size_t)(hp - s);
    const char *colon = NULL;
    for (size_t i = hplen; i > 0; i--) {
        if (hp[i - 1] == ':') {
            colon = hp + i - 1;
            break;
        }
    }
    if (!colon)
        return -EINVAL;
    const char *h = hp;
    size_t hlen = (size_t)(colon - hp);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen >= BR_HOST_MAX)
        return -EINVAL;
    char port[16];
    size_t plen = hplen - (size_t)(colon + 1 - hp);
    if (plen == 0 || plen >= sizeof(port))
        return -EINVAL;
    memcpy(port, colon + 1, plen);
    port[plen] = 0;
    int64_t p;
    if (parse_i64(port, &p) || p < 0 || p > 65535)
        return -EINVAL;
    if (listener) {
        /* The protocol comes from listener.security.protocol.map, known once the whole
         * configuration is (br_config_finish: resolve_protocols). */
        l->protocol = BR_PROTO_PLAINTEXT;
        snprintf(l->name, sizeof(l->name), "%s", name);
        memcpy(l->host, h, hlen);
        l->host[hlen] = 0;
        l->port = (int)p;
        l->adv_host[0] = 0;
        l->adv_port = 0;
    } else {
        snprintf(l->name, sizeof(l->name), "%s", name);
        memcpy(l->adv_host, h, hlen);
        l->adv_host[hlen] = 0;
        l->adv_port = (int)p;
    }
    return 0;
}

/*
 * Walks a comma-separated list: *item and *len get the next element with surrounding white
 * space trimmed; returns where the one after starts, or NULL after the last element.
 */
static const char *next_list_item(const char *p, const char **item, size_t *len)
{
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    while (n && isspace((unsigned char)*p)) {
        p++;
        n--;
    }
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    *item = p;
    *len = n;
    return comma ? comma + 1 : NULL;
}

static int parse_listeners(struct br_config *c, const char *v, char *err, size_t errlen)
{
    struct br_listener_cfg ls[BR_MAX_LISTENERS];
    int n = 0;
    for (const char *next = v; next && *next;) {
        const char *p;
        size_t len;
        next = next_list_item(next, &p, &len);
        if (n == BR_MAX_LISTENERS)
            return fail(err, errlen, -EINVAL, "listeners: more than %d listeners",
                        BR_MAX_LISTENERS);
        memset(&ls[n], 0, sizeof(ls[n]));
        int rc = parse_endpoint(p, len, &ls[n], true);
        if (rc)
            return fail(err, errlen, -EINVAL, "listeners: '%s' is not a list of NAME://HOST:PORT",
                        v);
        n++;
    }
    if (n == 0)
        return fail(err, errlen, -EINVAL, "listeners: empty");
    memcpy(c->listeners, ls, sizeof(ls[0]) * (size_t)n);
    c->nlisteners = n;
    return 0;
}

/* "host:count,host:count"; host may be a name, an IPv4 or IPv6 address (bare or in [ ]). */
static int parse_ip_overrides(struct br_config *c, const char *k, const char *v, char *err,
                              size_t errlen)
{
    struct br_ip_override ov[BR_MAX_IP_OVERRIDES];
    int n = 0;
    for (const char *next = v; next && *next;) {
        const char *p;
        size_t len;
        next = next_list_item(next, &p, &len);
        if (len == 0)
            continue;
        if (n == BR_MAX_IP_OVERRIDES)
            return fail(err, errlen, -EINVAL, "%s: more than %d entries", k, BR_MAX_IP_OVERRIDES);
        const char *colon = NULL;
        for (size_t i = len; i > 0; i--) {
            if (p[i - 1] == ':') {
                colon = p + i - 1;
                break;
            }
        }
        const char *h = p;
        size_t hlen = colon ? (size_t)(colon - p) : 0;
        if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
            h++;
            hlen -= 2;
        }
        char num[16];
        size_t nlen = colon ? len - (size_t)(colon + 1 - p) : 0;
        int64_t x;
        if (!colon || hlen == 0 || hlen >= BR_HOST_MAX || nlen == 0 || nlen >= sizeof(num))
            return fail(err, errlen, -EINVAL, "%s: '%.*s' is not host:count", k, (int)len, p);
        memcpy(num, colon + 1, nlen);
        num[nlen] = 0;
        if (parse_i64(num, &x) || x < 0 || x > I32_MAX)
            return fail(err, errlen, -EINVAL, "%s: '%.*s': bad count (expected 0 to %d)", k,
                        (int)len, p, I32_MAX);
        memset(&ov[n], 0, sizeof(ov[n]));
        memcpy(ov[n].host, h, hlen);
        ov[n].max = (int32_t)x;
        n++;
    }
    memset(c->ip_overrides, 0, sizeof(c->ip_overrides));
    memcpy(c->ip_overrides, ov, sizeof(ov[0]) * (size_t)n);
    c->nip_overrides = n;
    return 0;
}

static const struct key_def *find_key(const char *key)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

static int apply(struct br_config *c, const struct key_def *k, const char *v, char *err,
                 size_t errlen)
{
    char *base = (char *)c;
    int64_t x;
    switch (k->type) {
    case K_I32:
    case K_I64:
    case K_HOURS:
        if (parse_i64(v, &x) || x < k->min || x > k->max) {
            char range[64];
            snprintf(range, sizeof(range), "an integer in [%lld, %lld]", (long long)k->min,
                     (long long)k->max);
            snprintf(err, errlen, "%s: bad value '%s' (expected %s)", k->key, v, range);
            return -EINVAL;
        }
        if (k->type == K_HOURS && x > 0) {
            size_t kl = strlen(k->key);
            bool minutes = kl > 8 && strcmp(k->key + kl - 8, ".minutes") == 0;
            x *= minutes ? 60000 : 3600000;
        }
        if (k->type == K_I32) {
            int32_t y = (int32_t)x;
            memcpy(base + k->off, &y, sizeof(y));
        } else {
            memcpy(base + k->off, &x, sizeof(x));
        }
        return 0;
    case K_BOOL: {
        bool b;
        if (strcasecmp(v, "true") == 0)
            b = true;
        else if (strcasecmp(v, "false") == 0)
            b = false;
        else
            return fail(err, errlen, -EINVAL, "%s: bad value '%s' (expected true or false)", k->key,
                        v);
        memcpy(base + k->off, &b, sizeof(b));
        return 0;
    }
    case K_STR:
        if (strlen(v) >= k->size)
            return fail(err, errlen, -EINVAL, "%s: value too long: '%s'", k->key, v);
        memcpy(base + k->off, v, strlen(v) + 1);
        return 0;
    case K_LISTENERS:
        return parse_listeners(c, v, err, errlen);
    case K_IPOVERRIDES:
        return parse_ip_overrides(c, k->key, v, err, errlen);
    case K_TRANSFER:
        if (strcmp(v, "auto") == 0)
            c->transfer = BR_XFER_AUTO;
        else if (strcmp(v, "splice") == 0)
            c->transfer = BR_XFER_SPLICE;
        else if (strcmp(v, "sendfile") == 0)
            c->transfer = BR_XFER_SENDFILE;
        else if (strcmp(v, "copy") == 0)
            c->transfer = BR_XFER_COPY;
        else
            return fail(err, errlen, -EINVAL,
                        "%s: bad value '%s' (expected auto, splice, sendfile or copy)", k->key, v);
        return 0;
    case K_LOGFORMAT:
        if (br_log_parse_format(v, &c->log_format))
            return fail(err, errlen, -EINVAL, "%s: bad value '%s' (expected text, logfmt or json)",
                        k->key, v);
        return 0;
    case K_LOGLEVEL:
        if (br_log_parse_level(v, &c->log_level))
            return fail(err, errlen, -EINVAL,
                        "%s: bad value '%s' (expected error, warn, info or debug)", k->key, v);
        return 0;
    case K_PLACEMENT:
        if (strcmp(v, "load") == 0)
            c->placement = BR_PLACE_LOAD;
        else if (strcmp(v, "hash") == 0)
            c->placement = BR_PLACE_HASH;
        else
            return fail(err, errlen, -EINVAL, "%s: bad value '%s' (expected load or hash)", k->key,
                        v);
        return 0;
    case K_TSTYPE:
        if (strcmp(v, "CreateTime") == 0)
            c->log.log_append_time = false;
        else if (strcmp(v, "LogAppendTime") == 0)
            c->log.log_append_time = true;
        else
            return fail(err, errlen, -EINVAL,
                        "%s: bad value '%s' (expected CreateTime or LogAppendTime)", k->key, v);
        return 0;
    }
    return -EINVAL;
}

void br_config_init(struct br_config *c)
{
    memset(c, 0, sizeof(*c));
    st_log_config_default(&c->log);
    br_tls_conf_init(&c->tls);
    br_sec_conf_init(&c->sec);
    br_stats_conf_init(&c->metrics);
    char err[256];
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].def) {
            int rc = apply(c, &keys[i], keys[i].def, err, sizeof(err));
            (void)rc;
        }
    }
}

/* Adds key to c->ignored once (a list cut short, with "...", if it ever outgrew the field). */
static int note_ignored(struct br_config *c, const char *key)
{
    size_t have = strlen(c->ignored), kl = strlen(key);
    for (const char *p = c->ignored; (p = strstr(p, key)) != NULL; p += kl)
        if ((p == c->ignored || (p >= c->ignored + 2 && p[-2] == ',' && p[-1] == ' ')) &&
            (p[kl] == ',' || p[kl] == 0))
            return 0;
    if (have && strcmp(c->ignored + have - 3, "...") == 0)
        return 0;
    if (have + 2 + kl + 4 >= sizeof(c->ignored)) {
        snprintf(c->ignored + have, sizeof(c->ignored) - have, ", ...");
        return 0;
    }
    snprintf(c->ignored + have, sizeof(c->ignored) - have, "%s%s", have ? ", " : "", key);
    return 0;
}

void br_config_ignored_keys(void (*fn)(void *arg, const char *key), void *arg)
{
    for (size_t i = 0; i < NIGNORED; i++)
        fn(arg, ignored[i]);
}

int br_config_set_kv(struct br_config *c, const char *key, const char *value, char *err,
                     size_t errlen)
{
    const struct key_def *k = find_key(key);
    if (!k) {
        int rc = br_tls_conf_set(&c->tls, key, value, err, errlen);
        if (rc != -ENOENT)
            return rc;
        rc = br_stats_conf_set(&c->metrics, key, value, err, errlen);
        if (rc != -ENOENT)
            return rc;
        rc = br_sec_conf_set(&c->sec, key, value, err, errlen);
        if (rc != -ENOENT)
            return rc;
        /* log.cleanup.policy and log.cleaner.*: storage parses its compaction keys */
        if (strncmp(key, "log.", 4) == 0) {
            rc = st_clean_config_set(&c->log, key, value);
            if (rc == -EINVAL)
                return fail(err, errlen, -EINVAL, "bad value '%s' for %s", value, key);
            if (rc == 0)
                return 0;
        }
        for (size_t i = 0; i < NIGNORED; i++)
            if (strcmp(key, ignored[i]) == 0)
                return note_ignored(c, key);
        return fail(err, errlen, -EINVAL, "unknown configuration key '%s'", key);
    }
    return apply(c, k, value, err, errlen);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

int br_config_set(struct br_config *c, const char *kv, char *err, size_t errlen)
{
    char buf[2048];
    if (strlen(kv) >= sizeof(buf))
        return fail(err, errlen, -EINVAL, "setting too long: '%.64s...'", kv);
    memcpy(buf, kv, strlen(kv) + 1);
    char *eq = strchr(buf, '=');
    if (!eq)
        return fail(err, errlen, -EINVAL, "'%s' is not key=value", kv);
    *eq = 0;
    char *key = trim(buf);
    char *value = trim(eq + 1);
    if (!*key)
        return fail(err, errlen, -EINVAL, "'%s' has no key", kv);
    return br_config_set_kv(c, key, value, err, errlen);
}

int br_config_load_file(struct br_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    char line[4096];
    int lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            rc = -EINVAL;
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#' || *s == '!')
            continue;
        char *sep = strpbrk(s, "=:");
        if (!sep) {
            snprintf(err, errlen, "%s:%d: '%s' is not key=value", path, lineno, s);
            rc = -EINVAL;
            break;
        }
        /* "listeners=PLAINTEXT://h:p": the first '=' or ':' separates the key. */
        *sep = 0;
        char *key = trim(s);
        char *value = trim(sep + 1);
        char msg[512];
        rc = br_config_set_kv(c, key, value, msg, sizeof(msg));
        if (rc) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            break;
        }
    }
    fclose(f);
    return rc;
}

/* True when name is an element of the comma-separated list. */
static bool in_list(const char *list, const char *name)
{
    for (const char *next = list; next && *next;) {
        const char *p;
        size_t len;
        next = next_list_item(next, &p, &len);
        if (len == strlen(name) && strncasecmp(p, name, len) == 0)
            return true;
    }
    return false;
}

/* Drops the listeners KRaft's controller.listener.names names: splicelog has no controller. */
static void drop_controller_listeners(struct br_config *c)
{
    int k = 0;
    for (int i = 0; i < c->nlisteners; i++) {
        if (c->controller_listeners[0] && in_list(c->controller_listeners, c->listeners[i].name))
            continue;
        if (k != i)
            c->listeners[k] = c->listeners[i];
        k++;
    }
    c->nlisteners = k;
}

/* Each listener's protocol: its name looked up in listener.security.protocol.map, or the name
 * itself when the map is empty (Kafka's default map sends every protocol name to itself). */
static int resolve_protocols(struct br_config *c, char *err, size_t errlen)
{
    for (int i = 0; i < c->nlisteners; i++) {
        struct br_listener_cfg *l = &c->listeners[i];
        char proto[32];
        snprintf(proto, sizeof(proto), "%s", l->name);
        if (c->protocol_map[0]) {
            bool found = false;
            for (const char *next = c->protocol_map; next && *next && !found;) {
                const char *p;
                size_t len;
                next = next_list_item(next, &p, &len);
                const char *colon = memchr(p, ':', len);
                if (!colon || colon == p || (size_t)(p + len - colon - 1) >= sizeof(proto) ||
                    colon + 1 == p + len)
                    return fail(err, errlen, -EINVAL,
                                "listener.security.protocol.map: '%.*s' is not NAME:PROTOCOL",
                                (int)len, p);
                if ((size_t)(colon - p) == strlen(l->name) &&
                    strncasecmp(p, l->name, (size_t)(colon - p)) == 0) {
                    snprintf(proto, sizeof(proto), "%.*s", (int)(p + len - colon - 1), colon + 1);
                    found = true;
                }
            }
            if (!found)
                return fail(err, errlen, -EINVAL,
                            "listeners: listener %s has no entry in "
                            "listener.security.protocol.map",
                            l->name);
        }
        if (strcasecmp(proto, "PLAINTEXT") == 0)
            l->protocol = BR_PROTO_PLAINTEXT;
        else if (strcasecmp(proto, "SSL") == 0)
            l->protocol = BR_PROTO_SSL;
        else if (strcasecmp(proto, "SASL_PLAINTEXT") == 0)
            l->protocol = BR_PROTO_SASL_PLAINTEXT;
        else if (strcasecmp(proto, "SASL_SSL") == 0)
            l->protocol = BR_PROTO_SASL_SSL;
        else
            return fail(err, errlen, -EINVAL,
                        "listeners: listener %s: security protocol %s is not supported (only "
                        "PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL; a name that is no protocol "
                        "needs listener.security.protocol.map)",
                        l->name, proto);
    }
    return 0;
}

int br_config_finish(struct br_config *c, char *err, size_t errlen)
{
    drop_controller_listeners(c);
    if (c->nlisteners == 0)
        return fail(
            err, errlen, -EINVAL,
            "listeners: every listener is a controller listener (controller.listener.names)");
    int prc = resolve_protocols(c, err, errlen);
    if (prc)
        return prc;
    if (c->advertised[0]) {
        for (const char *next = c->advertised; next && *next;) {
            const char *p;
            size_t len;
            next = next_list_item(next, &p, &len);
            struct br_listener_cfg a;
            memset(&a, 0, sizeof(a));
            if (parse_endpoint(p, len, &a, false))
                return fail(err, errlen, -EINVAL,
                            "advertised.listeners: '%s' is not a list of NAME://HOST:PORT",
                            c->advertised);
            if (c->controller_listeners[0] && in_list(c->controller_listeners, a.name))
                continue; /* a controller listener, not opened */
            int i;
            for (i = 0; i < c->nlisteners; i++)
                if (strcasecmp(c->listeners[i].name, a.name) == 0)
                    break;
            if (i == c->nlisteners)
                return fail(err, errlen, -EINVAL,
                            "advertised.listeners: '%s' names no listener in listeners", a.name);
            snprintf(c->listeners[i].adv_host, sizeof(c->listeners[i].adv_host), "%s", a.adv_host);
            c->listeners[i].adv_port = a.adv_port;
        }
    }
    for (int i = 0; i < c->nlisteners; i++)
        for (int j = 0; j < i; j++)
            if (strcasecmp(c->listeners[i].name, c->listeners[j].name) == 0)
                return fail(err, errlen, -EINVAL, "listeners: name '%s' used twice",
                            c->listeners[i].name);
    if (c->num_network_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->num_network_threads = n > 0 ? (int)(n > 256 ? 256 : n) : 1;
    }
    if (c->group_min_session_ms > c->group_max_session_ms)
        return fail(err, errlen, -EINVAL,
                    "group.min.session.timeout.ms=%d is above group.max.session.timeout.ms=%d",
                    (int)c->group_min_session_ms, (int)c->group_max_session_ms);
    if (c->max_connections_per_ip == 0 && c->nip_overrides == 0)
        return fail(err, errlen, -EINVAL,
                    "max.connections.per.ip=0 refuses every client: it needs "
                    "max.connections.per.ip.overrides");
    if (c->queued_max_request_bytes == 0)
        return fail(err, errlen, -EINVAL,
                    "queued.max.request.bytes=0 would read no request: use -1 for no bound");
    if (c->zk_connect[0]) {
        const char *slash = strchr(c->zk_connect, '/');
        size_t hl = slash ? (size_t)(slash - c->zk_connect) : strlen(c->zk_connect);
        if (hl == 0 || memchr(c->zk_connect, ' ', hl) ||
            (slash && (slash[1] == 0 || slash[strlen(slash) - 1] == '/' || strstr(slash, "//"))))
            return fail(err, errlen, -EINVAL,
                        "zookeeper.connect: '%s' is not HOST:PORT[,HOST:PORT...][/chroot]",
                        c->zk_connect);
    }
    if (!c->inter_broker_listener[0]) {
        snprintf(c->inter_broker_listener, sizeof c->inter_broker_listener, "%s",
                 c->listeners[0].name);
    } else {
        int i;
        for (i = 0; i < c->nlisteners; i++)
            if (strcasecmp(c->listeners[i].name, c->inter_broker_listener) == 0)
                break;
        if (i == c->nlisteners)
            return fail(err, errlen, -EINVAL,
                        "inter.broker.listener.name: '%s' names no listener in listeners",
                        c->inter_broker_listener);
        snprintf(c->inter_broker_listener, sizeof c->inter_broker_listener, "%s",
                 c->listeners[i].name);
    }
    if (c->zk_connection_timeout_ms == 0)
        c->zk_connection_timeout_ms = c->zk_session_timeout_ms;
    if (c->socket_request_max_bytes < c->message_max_bytes)
        return fail(err, errlen, -EINVAL,
                    "socket.request.max.bytes: must be at least message.max.bytes");
    return 0;
}

void br_config_keys(void (*fn)(void *arg, const char *key, const char *def, const char *doc),
                    void *arg)
{
    for (size_t i = 0; i < NKEYS; i++)
        fn(arg, keys[i].key, keys[i].def, keys[i].doc);
    br_tls_conf_keys(fn, arg);
    br_stats_conf_keys(fn, arg);
    br_sec_conf_keys(fn, arg);
}

const char *br_protocol_name(enum br_protocol p)
{
    static const char *const names[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};
    return (unsigned)p < 4 ? names[p] : "?";
}

int br_config_listen(struct br_config *c, const char *hostport, char *err, size_t errlen)
{
    char kv[BR_HOST_MAX + 32];
    snprintf(kv, sizeof(kv), "PLAINTEXT://%s", hostport);
    struct br_listener_cfg l;
    memset(&l, 0, sizeof(l));
    if (parse_endpoint(kv, strlen(kv), &l, true))
        return fail(err, errlen, -EINVAL, "--listen: '%s' is not HOST:PORT", hostport);
    for (int i = 0; i < c->nlisteners; i++) {
        if (c->listeners[i].protocol == BR_PROTO_PLAINTEXT) {
            snprintf(c->listeners[i].host, sizeof(c->listeners[i].host), "%s", l.host);
            c->listeners[i].port = l.port;
            return 0;
        }
    }
    c->listeners[0] = l;
    c->nlisteners = 1;
    return 0;
}
