/*
 * splicelog.h — libsplicelog, an asynchronous Kafka producer and a zero-copy consumer.
 *
 * Contract
 * - Handles are opaque: sl_conf, sl_producer, sl_consumer. Every public name starts with
 *   sl_ / SL_. Link with `pkg-config --libs splicelog`.
 * - Threading: fully application-driven. The library starts no thread. All network I/O is
 *   non-blocking and happens inside the calls that take a handle (sl_produce, sl_poll,
 *   sl_flush, sl_consumer_poll, ...). One handle must be used by one thread at a time (the
 *   application serialises calls on a handle); different handles are independent. Callbacks
 *   run on the calling thread: the producer's (delivery, error, stats) only from sl_poll(),
 *   sl_flush() and sl_producer_free(); the consumer's (rebalance, offset commit, error,
 *   stats) only from sl_consumer_poll(), sl_consumer_close()/_free() and the calls that
 *   wait for the group (subscribe's rebalances happen in sl_consumer_poll); the log callback
 *   (sl_conf_set_log_cb) from any call that does network I/O. A callback may call into its
 *   handle (commit or seek from a rebalance callback) but must not free it.
 *   Consequence: linger.ms, request timeouts and retries advance only while the application
 *   calls into the handle; a producer should call sl_poll(p, 0) regularly (e.g. after each
 *   sl_produce) and sl_flush() before exiting. sl_producer_fd()/sl_consumer_fd()-style event
 *   loop integration is left for later.
 * - Name resolution uses getaddrinfo(3), which blocks the calling thread while it resolves a
 *   broker's host name (not at all for numeric addresses). It happens only when connecting,
 *   from the calls that poll (sl_poll, sl_flush, sl_consumer_poll, ...), never from
 *   sl_produce. A name that does not resolve is reported as SL_ERR__RESOLVE (error callback).
 * - Connections: one TCP connection per broker, written and read in the same turn (the
 *   connection always reads responses while requests are still being written), with up to
 *   max.in.flight.requests.per.connection requests outstanding, each response matched to its
 *   request by correlation id.
 * - Errors: one enum, sl_err. Values >= -1 are Kafka's protocol error codes (0 = no error);
 *   values <= -100 are the library's own (transport, timeout, queue full, ...). sl_err2str()
 *   names any of them. Functions that can fail and return a pointer take an errstr buffer.
 * - Ownership: *_new returns a handle that *_free releases. sl_producer_new and
 *   sl_consumer_new take ownership of the conf passed to them (also when they fail).
 *   Pointers passed to sl_produce (topic, key, value, headers) are only read during the call:
 *   the record is copied into a batch buffer before sl_produce returns.
 * - Producer ordering: the records of one partition that are reported delivered appear in
 *   the log in the order they were produced, with up to max.in.flight requests outstanding.
 *   A batch that failed with a retriable error (connection lost, NOT_LEADER_OR_FOLLOWER, ...)
 *   is sent again once nothing else of its partition is on the wire, ahead of everything
 *   produced after it; if a batch sent after it was delivered meanwhile, the retry would
 *   reorder the log, so it is reported failed instead. After a connection loss a batch whose
 *   response was lost is sent again, so a record can be in the log twice (at-least-once); a
 *   record is never reported delivered without the broker saying so (acks=0: when written).
 * - Idempotent producer (enable.idempotence=true, a broker with InitProducerId): the producer
 *   gets a producer id before sending anything, and every batch carries it with an epoch and a
 *   per-partition sequence; a batch sent again keeps them, so a broker that already has it
 *   answers with the original offset instead of writing it twice, and a batch that arrives
 *   after a gap is refused and sent again in order. Records reported delivered are then in
 *   the log exactly once and in produce order, across connection losses and broker restarts,
 *   with up to 5 requests in flight. A batch that fails for good (delivery.timeout.ms) makes
 *   the producer bump its epoch once nothing is in flight (sequences restart at 0); records
 *   queued then whose last send may have reached the broker are reported failed with
 *   SL_ERR__TRANSPORT rather than sent under the new epoch. What the library cannot recover
 *   from without risking duplicates (the broker says the producer is fenced or out of
 *   sequence with it) is fatal: see sl_producer_fatal_error.
 * - Consumer records are views (no copy per record): into the fetched response buffer for an
 *   uncompressed batch, into a buffer the library owns for a compressed one (each compressed
 *   batch is decompressed once, when its first record is handed out). Either way a record's
 *   views stay valid until the next call on the consumer, and no longer.
 * - Compression: batches compressed with gzip, snappy (xerial framing or raw), lz4 (frame
 *   format) or zstd are read; the producer compresses with compression.type.
 * - Stored records the consumer cannot read (a corrupt batch, a CRC mismatch with check.crcs, a
 *   compressed batch that does not decompress) are an error from sl_consumer_poll naming the
 *   topic, partition and the batch's offsets [offset, last_offset]; that partition then stops
 *   there (the others go on) until the application seeks it, e.g. to last_offset + 1 to skip
 *   the batch, or to offset to try again.
 * - Security: security.protocol=plaintext or ssl (TLS 1.2/1.3 through OpenSSL 3, on the same
 *   non-blocking sockets and I/O turns as plaintext). With ssl the broker's certificate is
 *   verified against ssl.ca.location (the system's CA paths when unset) and, with
 *   ssl.endpoint.identification.algorithm=https (the default), its host name or IP address
 *   as written in bootstrap.servers / advertised by the broker. A client certificate is sent
 *   when ssl.certificate.location and ssl.key.location are set (ssl.key.password for an
 *   encrypted key). Files are read by sl_producer_new/sl_consumer_new: a missing or bad file
 *   fails them with the reason (OpenSSL's included) in errstr. A failed handshake (unknown CA,
 *   host mismatch, client certificate refused) is a connection failure: the requests on it
 *   fail or are retried like any other SL_ERR__TRANSPORT; the error callback gets SL_ERR__SSL
 *   with the reason, which is also logged (level 3, facility "SSL"; the same connection's next
 *   failures at level 7 until it works again) through the log callback, or to stderr when
 *   none is set. A broker closing a connection
 *   is not a TLS error (not logged). Writes never raise SIGPIPE, over TLS or not.
 * - SASL: security.protocol=sasl_plaintext or sasl_ssl, with sasl.mechanism PLAIN,
 *   SCRAM-SHA-256 or SCRAM-SHA-512 and sasl.username / sasl.password (required: the handle's
 *   creation fails without them). Each connection logs in (SaslHandshake v1, SaslAuthenticate)
 *   after TLS and ApiVersions and before any other request, without blocking; SCRAM verifies
 *   the broker's signature. A refused login fails the connection: the error callback gets
 *   SL_ERR_SASL_AUTHENTICATION_FAILED with the broker's message, the requests on it fail or are
 *   retried like any transport failure, and the next login waits 1 s, doubling up to 64 s.
 * - The consumer takes explicit assignments (sl_consumer_assign) or joins a consumer group
 *   (sl_consumer_subscribe: rebalances, commits; see "consumer groups" below).
 * - The admin handle (sl_admin, "admin" below) creates, describes and deletes topics,
 *   partitions, configs and groups, and moves a group's offsets: synchronous calls whose results
 *   the handle owns until its next call.
 */
#ifndef SPLICELOG_H
#define SPLICELOG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility (make's SPLICELOG_BUILD_LIB): only SL_API names
 * are exported, from the shared and the static library alike. */
#if defined(SPLICELOG_BUILD_LIB)
#define SL_API __attribute__((visibility("default")))
#else
#define SL_API
#endif

/* ---- errors ----------------------------------------------------------------------------- */

typedef enum sl_err {
    /* The library's own errors (never on the wire). */
    SL_ERR__BEGIN = -200,
    SL_ERR__TRANSPORT = -199,           /* connection failed or lost */
    SL_ERR__TIMED_OUT = -198,           /* an operation did not finish in the time given */
    SL_ERR__MSG_TIMED_OUT = -197,       /* record not delivered within delivery.timeout.ms */
    SL_ERR__QUEUE_FULL = -196,          /* producer queue full (queue.buffering.max.*) */
    SL_ERR__MSG_SIZE_TOO_LARGE = -195,  /* record larger than batch.size / message.max.bytes */
    SL_ERR__UNKNOWN_TOPIC = -194,       /* topic not in the cluster metadata */
    SL_ERR__UNKNOWN_PARTITION = -193,   /* partition not in the topic */
    SL_ERR__INVALID_ARG = -192,         /* bad argument */
    SL_ERR__INVALID_CONF = -191,        /* unknown property name or bad value */
    SL_ERR__NOT_IMPLEMENTED = -190,     /* a feature this version does not have */
    SL_ERR__BAD_MSG = -189,             /* malformed response from the broker */
    SL_ERR__CRC = -188,                 /* record batch CRC mismatch (check.crcs) */
    SL_ERR__DESTROYED = -187,           /* record purged because the handle was freed */
    SL_ERR__RESOLVE = -186,             /* could not resolve a broker address */
    SL_ERR__NO_MEMORY = -185,           /* allocation failed */
    SL_ERR__UNSUPPORTED_FEATURE = -184, /* broker lacks an API version the library needs */
    SL_ERR__AUTO_OFFSET_RESET = -183,   /* offset out of range and auto.offset.reset=error */
    SL_ERR__STATE = -182,               /* call not valid in the current state */
    SL_ERR__BAD_COMPRESSION = -181,     /* a compressed batch that does not decompress */
    SL_ERR__PARTITION_EOF = -180,       /* consumer: at the end of a partition (an event) */
    SL_ERR__ASSIGN_PARTITIONS = -179,   /* rebalance callback: partitions assigned */
    SL_ERR__REVOKE_PARTITIONS = -178,   /* rebalance callback: partitions revoked */
    SL_ERR__SSL = -177,                 /* TLS failure (error callback) */
    SL_ERR__ALL_BROKERS_DOWN = -176,    /* every known broker is unreachable (error callback) */
    SL_ERR__NO_OFFSET = -175,           /* commit: no offset to commit */
    SL_ERR__MAX_POLL_EXCEEDED = -174,   /* consumer: not polled within max.poll.interval.ms */
    SL_ERR__FATAL = -173,               /* the producer failed for good (sl_producer_fatal_error) */
    SL_ERR__END = -100,

    /* Kafka protocol errors (apache/kafka Errors.java), same numbers. */
    SL_ERR_UNKNOWN = -1, /* UNKNOWN_SERVER_ERROR */
    SL_ERR_NO_ERROR = 0,
    SL_ERR_OFFSET_OUT_OF_RANGE = 1,
    SL_ERR_CORRUPT_MESSAGE = 2,
    SL_ERR_UNKNOWN_TOPIC_OR_PART = 3,
    SL_ERR_INVALID_FETCH_SIZE = 4,
    SL_ERR_LEADER_NOT_AVAILABLE = 5,
    SL_ERR_NOT_LEADER_OR_FOLLOWER = 6,
    SL_ERR_REQUEST_TIMED_OUT = 7,
    SL_ERR_BROKER_NOT_AVAILABLE = 8,
    SL_ERR_REPLICA_NOT_AVAILABLE = 9,
    SL_ERR_MSG_SIZE_TOO_LARGE = 10, /* MESSAGE_TOO_LARGE */
    SL_ERR_STALE_CTRL_EPOCH = 11,
    SL_ERR_OFFSET_METADATA_TOO_LARGE = 12,
    SL_ERR_NETWORK_EXCEPTION = 13,
    SL_ERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    SL_ERR_COORDINATOR_NOT_AVAILABLE = 15,
    SL_ERR_NOT_COORDINATOR = 16,
    SL_ERR_TOPIC_EXCEPTION = 17, /* INVALID_TOPIC_EXCEPTION */
    SL_ERR_RECORD_LIST_TOO_LARGE = 18,
    SL_ERR_NOT_ENOUGH_REPLICAS = 19,
    SL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20,
    SL_ERR_INVALID_REQUIRED_ACKS = 21,
    SL_ERR_ILLEGAL_GENERATION = 22,
    SL_ERR_INCONSISTENT_GROUP_PROTOCOL = 23,
    SL_ERR_INVALID_GROUP_ID = 24,
    SL_ERR_UNKNOWN_MEMBER_ID = 25,
    SL_ERR_INVALID_SESSION_TIMEOUT = 26,
    SL_ERR_REBALANCE_IN_PROGRESS = 27,
    SL_ERR_INVALID_COMMIT_OFFSET_SIZE = 28,
    SL_ERR_TOPIC_AUTHORIZATION_FAILED = 29,
    SL_ERR_GROUP_AUTHORIZATION_FAILED = 30,
    SL_ERR_CLUSTER_AUTHORIZATION_FAILED = 31,
    SL_ERR_INVALID_TIMESTAMP = 32,
    SL_ERR_UNSUPPORTED_SASL_MECHANISM = 33,
    SL_ERR_ILLEGAL_SASL_STATE = 34,
    SL_ERR_UNSUPPORTED_VERSION = 35,
    SL_ERR_TOPIC_ALREADY_EXISTS = 36,
    SL_ERR_INVALID_PARTITIONS = 37,
    SL_ERR_INVALID_REPLICATION_FACTOR = 38,
    SL_ERR_INVALID_REPLICA_ASSIGNMENT = 39,
    SL_ERR_INVALID_CONFIG = 40,
    SL_ERR_NOT_CONTROLLER = 41,
    SL_ERR_INVALID_REQUEST = 42,
    SL_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT = 43,
    SL_ERR_POLICY_VIOLATION = 44,
    SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    SL_ERR_DUPLICATE_SEQUENCE_NUMBER = 46,
    SL_ERR_INVALID_PRODUCER_EPOCH = 47,
    SL_ERR_INVALID_TXN_STATE = 48,
    SL_ERR_INVALID_PRODUCER_ID_MAPPING = 49,
    SL_ERR_INVALID_TRANSACTION_TIMEOUT = 50,
    SL_ERR_CONCURRENT_TRANSACTIONS = 51,
    SL_ERR_TRANSACTION_COORDINATOR_FENCED = 52,
    SL_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53,
    SL_ERR_KAFKA_STORAGE_ERROR = 56,
    SL_ERR_SECURITY_DISABLED = 54,
    SL_ERR_SASL_AUTHENTICATION_FAILED = 58,
    SL_ERR_UNKNOWN_PRODUCER_ID = 59,
    SL_ERR_FETCH_SESSION_ID_NOT_FOUND = 70,
    SL_ERR_INVALID_FETCH_SESSION_EPOCH = 71,
    SL_ERR_TOPIC_DELETION_DISABLED = 73,
    SL_ERR_FENCED_LEADER_EPOCH = 74,
    SL_ERR_UNKNOWN_LEADER_EPOCH = 75,
    SL_ERR_UNSUPPORTED_COMPRESSION_TYPE = 76,
    SL_ERR_OFFSET_NOT_AVAILABLE = 78,
    SL_ERR_NON_EMPTY_GROUP = 68,
    SL_ERR_GROUP_ID_NOT_FOUND = 69,
    SL_ERR_MEMBER_ID_REQUIRED = 79,
    SL_ERR_PREFERRED_LEADER_NOT_AVAILABLE = 80,
    SL_ERR_GROUP_MAX_SIZE_REACHED = 81,
    SL_ERR_FENCED_INSTANCE_ID = 82,
    SL_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE = 83,
    SL_ERR_ELECTION_NOT_NEEDED = 84,
    SL_ERR_GROUP_SUBSCRIBED_TO_TOPIC = 86,
    SL_ERR_INVALID_RECORD = 87,
    SL_ERR_UNSTABLE_OFFSET_COMMIT = 88,
    SL_ERR_PRODUCER_FENCED = 90,
    SL_ERR_RESOURCE_NOT_FOUND = 91,
    SL_ERR_DUPLICATE_RESOURCE = 92,
    SL_ERR_UNACCEPTABLE_CREDENTIAL = 93,
} sl_err;

/* A static, human-readable name for err ("Broker: Message size too large", ...). */
SL_API const char *sl_err2str(sl_err err);
/* The enum name without prefix ("MSG_SIZE_TOO_LARGE", "_QUEUE_FULL"). */
SL_API const char *sl_err2name(sl_err err);
/* Nonzero when a produce that failed with err may succeed if sent again. */
SL_API int sl_err_is_retriable(sl_err err);

/* ---- configuration ---------------------------------------------------------------------- */

typedef struct sl_conf sl_conf;
typedef struct sl_producer sl_producer;
typedef struct sl_consumer sl_consumer;

/*
 * Properties (Kafka names; defaults in brackets):
 *   bootstrap.servers [127.0.0.1:9092]     host:port[,host:port...] (alias metadata.broker.list)
 *   client.id [splicelog]
 *   acks [-1]                              0, 1, -1 or all
 *   linger.ms [5]                          0..900000 (alias queue.buffering.max.ms)
 *   batch.size [1048576]                   bytes per partition batch, 1024..(64 MiB)
 *   max.in.flight.requests.per.connection [5]  1..64
 *   retries [2147483647]                   0..2147483647 (alias message.send.max.retries)
 *   retry.backoff.ms [100]
 *   request.timeout.ms [30000]             alias socket.timeout.ms
 *   delivery.timeout.ms [120000]           alias message.timeout.ms: a record not delivered by
 *                                          then is reported SL_ERR__MSG_TIMED_OUT
 *   queue.buffering.max.kbytes [1048576]   bound on produced-but-unreported bytes
 *   queue.buffering.max.messages [1000000] bound on produced-but-unreported records
 *   message.max.bytes [1000000]            largest record the producer accepts
 *   compression.type [none]                none, gzip, snappy, lz4, zstd (alias compression.codec);
 *                                          a batch that compression does not make smaller is
 *                                          sent plain. snappy is written in the Java client's
 *                                          xerial framing, lz4 as an LZ4 frame (64 KiB
 *                                          independent blocks), gzip as one gzip member
 *   compression.level [-1]                 -1: the codec's default; else clamped to the codec's
 *                                          range (gzip 0-9, lz4 0-12, zstd 1-22)
 *   enable.idempotence [false]             true: the idempotent producer (see the contract);
 *                                          acks, retries and max.in.flight.requests.per.connection
 *                                          then default to all, 2147483647 and 5, and
 *                                          sl_producer_new refuses acks != all, retries=0 or
 *                                          max.in.flight > 5 set explicitly (librdkafka's rules)
 *   partitioner [murmur2_random]           librdkafka's: murmur2_random (Java's default: murmur2
 *                                          of the key, unkeyed sticky), murmur2 (unkeyed: one
 *                                          partition), consistent_random (librdkafka's default:
 *                                          CRC-32 of the key, empty/unkeyed sticky), consistent,
 *                                          fnv1a, fnv1a_random, random (every record)
 *   allow.auto.create.topics [true for producers, false for consumers]
 *   statistics.interval.ms [0]             the stats callback's interval (0: never)
 *   topic.metadata.refresh.interval.ms [300000]  periodic metadata refresh (-1: never)
 *   security.protocol [plaintext]          plaintext | ssl (TLS 1.2+, see the contract) |
 *                                          sasl_plaintext | sasl_ssl (SASL, see the contract)
 *   sasl.mechanism [PLAIN]                 PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 (alias
 *                                          sasl.mechanisms)
 *   sasl.username, sasl.password           the SASL login (required with sasl_*)
 *   ssl.ca.location                        CA file (PEM) or hashed directory [system paths]
 *   ssl.certificate.location, ssl.key.location  client certificate chain and key (PEM),
 *                                          both or neither
 *   ssl.key.password                       for an encrypted ssl.key.location
 *   ssl.endpoint.identification.algorithm [https]  https: verify the broker's host name /
 *                                          IP against its certificate; none: CA chain only
 *   fetch.min.bytes [1]  fetch.wait.max.ms [500]  fetch.max.bytes [52428800]
 *   max.partition.fetch.bytes [1048576]    grows (doubling) for a batch larger than it
 *   check.crcs [false]                     verify every fetched batch's CRC-32C
 *   queued.max.messages.kbytes [65536]     bound on fetched-but-unconsumed bytes (prefetch)
 *   enable.partition.eof [false]           sl_consumer_poll returns SL_ERR__PARTITION_EOF (offset
 *                                          = the position) once a partition's records up to the
 *                                          high watermark are all handed out, once per position
 *   auto.offset.reset [latest]             earliest|smallest|beginning, latest|largest|end,
 *                                          error (reported from sl_consumer_poll)
 */
SL_API sl_conf *sl_conf_new(void);
SL_API sl_conf *sl_conf_dup(const sl_conf *conf);
SL_API void sl_conf_free(sl_conf *conf);
/*
 * Sets a property. SL_ERR_NO_ERROR, or SL_ERR__INVALID_CONF with a message in errstr
 * (NUL-terminated, truncated to errstr_size; errstr may be NULL) for an unknown name or a
 * value out of range. The conf is unchanged on error.
 */
SL_API sl_err sl_conf_set(sl_conf *conf, const char *name, const char *value, char *errstr,
                          size_t errstr_size);
/*
 * Copies the value of name into buf (NUL-terminated; *size in: capacity, out: length + 1).
 * SL_ERR__INVALID_CONF for an unknown name. With buf NULL only *size is set.
 */
SL_API sl_err sl_conf_get(const sl_conf *conf, const char *name, char *buf, size_t *size);

/* ---- producer --------------------------------------------------------------------------- */

#define SL_PARTITION_ANY (-1)

/* A record header: key is a string view, value bytes (value NULL = null value). */
typedef struct sl_header {
    const char *key;
    size_t key_len;
    const void *value;
    size_t value_len;
} sl_header;

/*
 * One delivery report. Views (topic, key, value) are valid only during the callback.
 * key/value NULL means null. offset is -1 when unknown (acks=0 or error).
 */
typedef struct sl_delivery {
    sl_err err;
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp;
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    void *msg_opaque; /* as passed to sl_produce */
} sl_delivery;

typedef void(sl_delivery_cb)(sl_producer *p, const sl_delivery *dr, void *opaque);

/* The callback run once per produced record (from sl_poll/sl_flush/sl_producer_free). */
SL_API void sl_conf_set_delivery_cb(sl_conf *conf, sl_delivery_cb *cb);
/* The opaque pointer handed to callbacks. */
SL_API void sl_conf_set_opaque(sl_conf *conf, void *opaque);

/*
 * Log lines: level as in syslog (3 error, 4 warning, 6 info, 7 debug), a facility ("SSL") and
 * a message, valid only during the call; opaque is sl_conf_set_opaque's. Runs on the calling
 * thread from any call that does network I/O. Without a callback, lines of level <= 4 are written
 * to stderr. Today the library logs TLS failures (with OpenSSL's reason) only.
 */
typedef void(sl_log_cb)(void *opaque, int level, const char *fac, const char *msg);
SL_API void sl_conf_set_log_cb(sl_conf *conf, sl_log_cb *cb);

/*
 * Errors no call returns: a connection that fails (SL_ERR__TRANSPORT: "host:port: reason"), a
 * broker name that does not resolve (SL_ERR__RESOLVE), a TLS failure (SL_ERR__SSL, OpenSSL's
 * reason: unknown CA, host name mismatch, certificate refused), every known broker down at
 * once (SL_ERR__ALL_BROKERS_DOWN). reason is valid only during the call; opaque is
 * sl_conf_set_opaque's. Runs on the calling thread from sl_poll/sl_flush (producer) and
 * sl_consumer_poll (consumer). These are reports: the library keeps reconnecting by itself,
 * and records still fail or succeed through their own reports. A connection's failures are
 * reported once per run (again only after it worked in between), _ALL_BROKERS_DOWN once until
 * a connection is up again. Without a callback they are dropped (TLS failures are still
 * logged, see sl_conf_set_log_cb). At most 32 wait between two polls; more are dropped.
 */
typedef void(sl_error_cb)(void *opaque, sl_err err, const char *reason);
SL_API void sl_conf_set_error_cb(sl_conf *conf, sl_error_cb *cb);

/*
 * Creates a producer, taking conf (freed by the library, also on failure). Connects lazily.
 * NULL on failure with a message in errstr.
 */
SL_API sl_producer *sl_producer_new(sl_conf *conf_take, char *errstr, size_t errstr_size);
/*
 * Frees the producer. Records not yet reported are reported with SL_ERR__DESTROYED; call
 * sl_flush() first to deliver them.
 */
SL_API void sl_producer_free(sl_producer *p);

/*
 * Queues one record. partition is a partition id or SL_PARTITION_ANY (the partitioner picks:
 * by default murmur2 of the key like the Java client, unkeyed records sticky to a random
 * partition until its batch is sent). key/value NULL means null. timestamp_ms 0 means now.
 * The record is copied before the call returns; its delivery callback runs exactly once later,
 * unless this call fails, in which case the callback never runs.
 * Never waits on the network: a record for a topic whose metadata is not known yet (first use,
 * broker unreachable) is queued and sent once the metadata arrives, or reported failed by
 * message.timeout.ms (SL_ERR__MSG_TIMED_OUT), or with the topic's error when the metadata says
 * it does not exist (SL_ERR_UNKNOWN_TOPIC_OR_PART; a partition past its count:
 * SL_ERR__UNKNOWN_PARTITION). When a batch fills up the call writes it to a connection that is
 * already up, without waiting; connecting and name resolution happen in sl_poll/sl_flush.
 * Errors: SL_ERR__QUEUE_FULL (call sl_poll and retry), SL_ERR__MSG_SIZE_TOO_LARGE,
 * SL_ERR_UNKNOWN_TOPIC_OR_PART (the last metadata said the topic does not exist and it is not
 * auto-created: a refresh is asked for, so a topic created meanwhile is accepted once it
 * arrives), SL_ERR__UNKNOWN_PARTITION (a known topic with fewer partitions),
 * SL_ERR__INVALID_ARG.
 */
SL_API sl_err sl_produce(sl_producer *p, const char *topic, int32_t partition, const void *key,
                         size_t key_len, const void *value, size_t value_len,
                         const sl_header *headers, size_t header_count, int64_t timestamp_ms,
                         void *msg_opaque);

/*
 * Drives I/O and runs the delivery callbacks that are due. Waits up to timeout_ms for at least
 * one report (0: no waiting; -1: no limit); returns at once when nothing is outstanding.
 * Returns the number of callbacks run. With timeout 0 the socket work is done at most once a
 * millisecond, so calling it after every sl_produce is cheap; with linger.ms=0, records
 * produced since the last call are sent at once when no request is outstanding, else within
 * about 100 us (records produced meanwhile share one batch).
 */
SL_API int sl_poll(sl_producer *p, int timeout_ms);
/*
 * Sends everything queued (ignoring linger.ms) and waits until every record is reported or
 * timeout_ms passes (-1: no limit). SL_ERR_NO_ERROR when nothing is left, else
 * SL_ERR__TIMED_OUT.
 */
SL_API sl_err sl_flush(sl_producer *p, int timeout_ms);
/* Records produced but not yet reported. */
SL_API size_t sl_outq_len(const sl_producer *p);
/*
 * enable.idempotence: SL_ERR_NO_ERROR while the producer works; once it has failed for good
 * (the error callback got SL_ERR__FATAL, sl_produce returns it), the error that caused it
 * (INVALID_PRODUCER_EPOCH, PRODUCER_FENCED, OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID,
 * _UNSUPPORTED_FEATURE for a broker without InitProducerId, ...) with the reason in errstr.
 * A failed producer only reports: every record not yet delivered fails with SL_ERR__FATAL, and
 * the application makes a new producer to go on.
 */
SL_API sl_err sl_producer_fatal_error(const sl_producer *p, char *errstr, size_t errstr_size);

/* ---- statistics ------------------------------------------------------------------------- */

typedef struct sl_stats {
    uint64_t requests_sent;      /* every request written to a socket */
    uint64_t responses_received; /* matched to a request by correlation id */
    uint32_t in_flight;          /* requests awaiting a response right now */
    uint32_t max_in_flight_seen; /* most requests ever outstanding on one connection */
    uint64_t batches_sent;       /* produce: record batches sent (retries included) */
    uint64_t records_delivered;  /* produce: reported without error */
    uint64_t records_failed;     /* produce: reported with an error */
    uint64_t retries;            /* produce: batches sent again */
    uint64_t metadata_requests;
    uint64_t connects;    /* connections established */
    uint64_t disconnects; /* connections lost or closed after an error */
    uint64_t bytes_sent;
    uint64_t bytes_received;
    uint64_t fetches;              /* consume: fetch requests */
    uint64_t records_consumed;     /* consume: records returned by sl_consumer_poll */
    uint64_t fetch_size_grows;     /* consume: partition fetch size doubled for a big batch */
    uint64_t offset_resets;        /* consume: OFFSET_OUT_OF_RANGE resets */
    uint64_t queue_bytes;          /* consume: fetched bytes not yet handed out (prefetch) */
    uint64_t queue_bytes_max;      /* consume: the most ever held; bounded by
                                    * queued.max.messages.kbytes plus one response */
    uint64_t batches_decompressed; /* consume: compressed batches decompressed */
} sl_stats;

SL_API void sl_producer_stats(const sl_producer *p, sl_stats *out);
SL_API void sl_consumer_stats(const sl_consumer *c, sl_stats *out);
/*
 * With statistics.interval.ms > 0, the handle's counters (as sl_*_stats gives them) about every
 * interval, from the same calls as the error callback; stats is valid only during the call.
 */
typedef void(sl_stats_cb)(void *opaque, const sl_stats *stats);
SL_API void sl_conf_set_stats_cb(sl_conf *conf, sl_stats_cb *cb);

/* ---- consumer --------------------------------------------------------------------------- */

#define SL_OFFSET_BEGINNING (-2) /* earliest offset still in the log */
#define SL_OFFSET_END       (-1) /* the high watermark: only new records */

/* A consumed record. All pointers are views (into the fetch buffer, or the library's buffer of
 * a decompressed batch), valid until the next call on the consumer. key/value NULL means null.
 */
typedef struct sl_record {
    const char *topic; /* NUL-terminated */
    int32_t partition;
    int64_t offset;
    /* The last offset this record (or error) covers: offset for a record; for an error about
     * stored records (SL_ERR__BAD_MSG, SL_ERR__CRC, SL_ERR__BAD_COMPRESSION) the batch's last
     * offset, the partition waiting at offset until the application seeks. -1 when the error
     * concerns no offsets. */
    int64_t last_offset;
    int64_t timestamp;
    int timestamp_type; /* 0 CreateTime, 1 LogAppendTime */
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    size_t header_count;
    const void *headers_raw; /* encoded headers: walk them with sl_record_header() */
    size_t headers_raw_len;
} sl_record;

/* The idx-th header of rec (views into the fetch buffer); SL_ERR__INVALID_ARG past the end. */
SL_API sl_err sl_record_header(const sl_record *rec, size_t idx, sl_header *out);

SL_API sl_consumer *sl_consumer_new(sl_conf *conf_take, char *errstr, size_t errstr_size);
SL_API void sl_consumer_free(sl_consumer *c);

/*
 * Adds (topic, partition) to the assignment, starting at offset (>= 0), SL_OFFSET_BEGINNING or
 * SL_OFFSET_END. Reassigning an assigned partition seeks it. Waits for metadata on the first
 * use of a topic (errors as sl_produce's).
 */
SL_API sl_err sl_consumer_assign(sl_consumer *c, const char *topic, int32_t partition,
                                 int64_t offset);
/* Removes (topic, partition) from the assignment (its prefetched records are dropped). */
SL_API sl_err sl_consumer_unassign(sl_consumer *c, const char *topic, int32_t partition);
/* Moves an assigned partition to offset (same forms as assign); drops prefetched records. */
SL_API sl_err sl_consumer_seek(sl_consumer *c, const char *topic, int32_t partition,
                               int64_t offset);
/* The next offset the consumer will return for the partition, or -1 if unknown yet. */
SL_API int64_t sl_consumer_position(const sl_consumer *c, const char *topic, int32_t partition);

/*
 * Returns the next record in *rec (SL_ERR_NO_ERROR), or SL_ERR__TIMED_OUT when none arrived
 * within timeout_ms (0: no waiting, -1: no limit). Other errors concern one partition (its
 * topic/partition are set in *rec, offset/last_offset as described at sl_record, other fields
 * zero): SL_ERR__CRC, SL_ERR__BAD_MSG, SL_ERR__BAD_COMPRESSION (that partition stops at the
 * batch until sl_consumer_seek), SL_ERR__AUTO_OFFSET_RESET (stopped until a seek), broker
 * errors such as SL_ERR_UNKNOWN_TOPIC_OR_PART; the other partitions keep going. Records of one
 * partition come in offset order.
 */
SL_API sl_err sl_consumer_poll(sl_consumer *c, int timeout_ms, sl_record *rec);

/* ---- consumer groups --------------------------------------------------------------------- */

/*
 * Group subscription: the classic consumer group protocol (FindCoordinator, JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch), as the Java client and
 * librdkafka speak it, against splicelogd or any broker with those APIs. Needs group.id.
 *
 * - Polling drives the membership: heartbeats, rebalances, auto commits and the callbacks
 *   all happen inside sl_consumer_poll (and the other consumer calls that wait). The library
 *   starts no thread, so the application must call sl_consumer_poll at least every
 *   heartbeat.interval.ms (default 3 s) while subscribed, even when it has no use for records
 *   (poll with timeout 0 and keep the record for later is fine). A consumer not polled for
 *   session.timeout.ms (default 45 s) is removed by the coordinator and its partitions go to
 *   the other members; one not polled for max.poll.interval.ms (default 300 s; also the
 *   rebalance timeout it joins with) leaves the group itself at its next poll, which returns
 *   SL_ERR__MAX_POLL_EXCEEDED, then rejoins. Either way records it had been given may be
 *   delivered to another member too (at least once).
 * - partition.assignment.strategy: "range,roundrobin" (default; eager: every rebalance first
 *   revokes the whole assignment) or "cooperative-sticky" (KIP-429: a rebalance revokes only
 *   the partitions that move; the others keep being fetched throughout).
 * - Rebalance callback (sl_conf_set_rebalance_cb): called with SL_ERR__REVOKE_PARTITIONS
 *   before partitions are taken away (they are still assigned: their positions can be
 *   committed, with sl_consumer_commit sync) and with SL_ERR__ASSIGN_PARTITIONS after new ones
 *   are assigned (they start at the group's committed offset, else per auto.offset.reset; the
 *   callback may sl_consumer_seek them). Eager: the whole assignment each time; cooperative:
 *   only the partitions that move. The library applies the assignment itself (unlike
 *   librdkafka the callback need not call assign). Lost membership (session expired,
 *   fenced) revokes without committing.
 * - Commits: enable.auto.commit (default true) commits every partition's position (the offset
 *   after the last record returned by sl_consumer_poll) every auto.commit.interval.ms
 *   (default 5 s, async), and synchronously before partitions are revoked and when leaving.
 *   So a record counts as consumed once sl_consumer_poll has returned it; an application that
 *   must finish processing first sets enable.auto.commit=false and commits itself.
 * - Subscriptions are topic names (no regular expressions). Partitions added to a subscribed
 *   topic are picked up at the next metadata refresh (topic.metadata.refresh.interval.ms),
 *   the leader starting a rebalance.
 * - sl_consumer_assign/unassign (manual assignment) and subscribe exclude each other
 *   (SL_ERR__STATE). Manually assigned consumers with a group.id may commit and read commits
 *   (as a "simple" consumer: generation -1, no member id).
 * Properties (defaults in brackets): group.id, group.instance.id (static membership),
 * session.timeout.ms [45000], heartbeat.interval.ms [3000], max.poll.interval.ms [300000],
 * enable.auto.commit [true], auto.commit.interval.ms [5000], partition.assignment.strategy
 * [range,roundrobin], auto.offset.reset (for partitions without a committed offset).
 */

#define SL_OFFSET_INVALID (-1001) /* no offset: nothing committed yet */

/* A topic partition with an offset: commit lists, committed(), assignments, callbacks. */
typedef struct sl_topic_partition {
    const char *topic; /* NUL-terminated */
    int32_t partition;
    int64_t offset;       /* the next record to read (what Kafka commits) */
    const void *metadata; /* commit metadata (opaque bytes, usually a string); NULL: none */
    size_t metadata_len;
    sl_err err; /* per partition: the result of a commit or committed() */
} sl_topic_partition;

/*
 * Subscribes to topics (n names, copied), replacing any earlier subscription: joins the group
 * at the next sl_consumer_poll. SL_ERR__INVALID_ARG (no group.id, a bad name or a regular
 * expression), SL_ERR__STATE (partitions assigned manually).
 */
SL_API sl_err sl_consumer_subscribe(sl_consumer *c, const char *const *topics, size_t n);
/* Leaves the group (revoke callback, final commit with enable.auto.commit, LeaveGroup). */
SL_API sl_err sl_consumer_unsubscribe(sl_consumer *c);
/*
 * Leaves the group as unsubscribe does and waits (up to request.timeout.ms) for commits in
 * flight; the consumer takes no more work after it. sl_consumer_free closes an open consumer.
 */
SL_API sl_err sl_consumer_close(sl_consumer *c);

/*
 * Commits offsets for the group. offsets NULL: the position of every assigned partition (the
 * offset after the last record returned), else the n given (offset = the next record to read,
 * metadata optional; entries with a negative offset, e.g. SL_OFFSET_INVALID, are left out, so
 * the list a revoke callback gets can be committed as it is). async 0: waits for the answer (up to
 * request.timeout.ms, driving I/O) and returns the first partition error or SL_ERR_NO_ERROR; async
 * 1: returns at once, the result goes to the offset commit callback from a later poll.
 * SL_ERR__NO_OFFSET when there is nothing to commit, SL_ERR__INVALID_ARG without group.id. A commit
 * refused because a rebalance is under way (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID) makes the consumer rejoin.
 */
SL_API sl_err sl_consumer_commit(sl_consumer *c, const sl_topic_partition *offsets, size_t n,
                                 int async);
/*
 * The group's committed offset of each of parts[0..n) (topic and partition set by the caller)
 * into its offset (SL_OFFSET_INVALID when none), metadata (a view valid until the next call on
 * the consumer) and err. Waits up to timeout_ms. SL_ERR__TIMED_OUT, SL_ERR__INVALID_ARG.
 */
SL_API sl_err sl_consumer_committed(sl_consumer *c, sl_topic_partition *parts, size_t n,
                                    int timeout_ms);
/*
 * The current assignment (group or manual): fills out[0..cap) with topic, partition and the
 * position (offset; -1 while not known yet) and returns how many partitions are assigned
 * (which may exceed cap). Topic names stay valid while the consumer lives.
 */
SL_API size_t sl_consumer_assignment(sl_consumer *c, sl_topic_partition *out, size_t cap);

/*
 * what is SL_ERR__ASSIGN_PARTITIONS or SL_ERR__REVOKE_PARTITIONS; parts is valid only during
 * the call. Runs from the consumer's calls on the calling thread, which may call into the
 * consumer (commit, seek, position).
 */
typedef void(sl_rebalance_cb)(sl_consumer *c, sl_err what, const sl_topic_partition *parts,
                              size_t n, void *opaque);
SL_API void sl_conf_set_rebalance_cb(sl_conf *conf, sl_rebalance_cb *cb);
/* The result of an async commit (and of auto commits), from a later poll; offsets valid only
 * during the call. */
typedef void(sl_offset_commit_cb)(sl_consumer *c, sl_err err, const sl_topic_partition *offsets,
                                  size_t n, void *opaque);
SL_API void sl_conf_set_offset_commit_cb(sl_conf *conf, sl_offset_commit_cb *cb);

/* ---- asking the cluster ------------------------------------------------------------------ */

typedef struct sl_metadata_broker {
    int32_t id;
    const char *host;
    int port;
} sl_metadata_broker;

typedef struct sl_metadata_partition {
    int32_t id;
    sl_err err;
    int32_t leader; /* -1: none */
    int32_t replica_cnt;
    const int32_t *replicas;
    int32_t isr_cnt;
    const int32_t *isrs;
} sl_metadata_partition;

typedef struct sl_metadata_topic {
    const char *topic;
    sl_err err; /* e.g. SL_ERR_UNKNOWN_TOPIC_OR_PART */
    int32_t partition_cnt;
    const sl_metadata_partition *partitions;
} sl_metadata_topic;

/* The cluster as one Metadata answer describes it; one allocation, freed by sl_metadata_free. */
typedef struct sl_metadata {
    int32_t broker_cnt;
    const sl_metadata_broker *brokers;
    int32_t topic_cnt;
    const sl_metadata_topic *topics;
    int32_t controller_id;
    const char *cluster_id; /* "" when the broker sends none */
} sl_metadata;

/*
 * Asks for the metadata of topic (NULL: every topic; never creates one) and waits up to
 * timeout_ms (-1: request.timeout.ms), driving the handle's other work meanwhile. *out is set
 * on success; free it with sl_metadata_free. SL_ERR__TIMED_OUT, SL_ERR__TRANSPORT/_RESOLVE.
 */
SL_API sl_err sl_producer_metadata(sl_producer *p, const char *topic, int timeout_ms,
                                   sl_metadata **out);
SL_API sl_err sl_consumer_metadata(sl_consumer *c, const char *topic, int timeout_ms,
                                   sl_metadata **out);
SL_API void sl_metadata_free(sl_metadata *md);

/*
 * The partition's low (log start) and high (high watermark) offsets, asked from its leader
 * (ListOffsets), waiting up to timeout_ms. get_: the values the last fetch response (or query)
 * carried for an assigned partition, without asking (-1 while unknown); SL_ERR__UNKNOWN_PARTITION
 * for a partition never assigned.
 */
SL_API sl_err sl_consumer_query_watermark_offsets(sl_consumer *c, const char *topic,
                                                  int32_t partition, int64_t *low, int64_t *high,
                                                  int timeout_ms);
SL_API sl_err sl_consumer_get_watermark_offsets(sl_consumer *c, const char *topic,
                                                int32_t partition, int64_t *low, int64_t *high);
/*
 * For each of parts[0..n), offset holding a timestamp (ms since the epoch) on input: replaced by
 * the offset of the first record whose timestamp is at or after it, or -1 when there is none
 * (the end); err per partition. Waits up to timeout_ms. As librdkafka's offsets_for_times.
 */
SL_API sl_err sl_consumer_offsets_for_times(sl_consumer *c, sl_topic_partition *parts, size_t n,
                                            int timeout_ms);

/* ---- admin ---------------------------------------------------------------------------------- */

/*
 * The admin handle: topics, partitions, configs, consumer groups, offsets and the cluster, through
 * Kafka's admin APIs (CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs, AlterConfigs,
 * IncrementalAlterConfigs, FindCoordinator, ListGroups, DescribeGroups, DeleteGroups, OffsetFetch,
 * OffsetCommit, ListOffsets, Metadata, DescribeCluster, DescribeLogDirs, ElectLeaders, Describe/
 * AlterUserScramCredentials, CreateAcls, DescribeAcls, DeleteAcls). It uses the conf's
 * connection properties (bootstrap.servers, client.id, request.timeout.ms, security.*).
 * - Every call is synchronous: it sends its requests and drives I/O until the answers arrive or
 *   timeout_ms passes (-1: request.timeout.ms); nothing happens between calls.
 * - Each request goes out at the highest version both the library and the broker speak (the
 *   broker's ApiVersions answer); an API the broker does not offer is SL_ERR__UNSUPPORTED_FEATURE
 *   and nothing is sent.
 * - The return value is the call's fate: SL_ERR_NO_ERROR, a transport or timeout error, a
 *   request-level Kafka error (a group coordinator's, a whole response's), or
 *   SL_ERR__BAD_MSG for a response that does not parse. Per-item outcomes (each topic, group,
 *   partition, config resource) are in the results.
 * - Results (and every string and array they reach) belong to the handle and stay valid until the
 *   next call on it or sl_admin_free. Strings are NUL-terminated; a missing error message is "".
 */
typedef struct sl_admin sl_admin;

SL_API sl_admin *sl_admin_new(sl_conf *conf_take, char *errstr, size_t errstr_size);
SL_API void sl_admin_free(sl_admin *a);

/* The outcome for one named item (a topic, a group). */
typedef struct sl_admin_result {
    const char *name;
    sl_err err;
    const char *errmsg; /* the broker's message, or "" */
} sl_admin_result;

typedef struct sl_config_kv {
    const char *name;
    const char *value; /* NULL: null */
} sl_config_kv;

typedef struct sl_new_topic {
    const char *topic;
    int32_t partitions;         /* -1: the broker's num.partitions */
    int16_t replication_factor; /* -1: the broker's default */
    const sl_config_kv *configs;
    size_t config_cnt;
} sl_new_topic;

/* CreateTopics; *results has n entries, in the order asked. validate_only: check, create nothing.
 */
SL_API sl_err sl_admin_create_topics(sl_admin *a, const sl_new_topic *topics, size_t n,
                                     int validate_only, int timeout_ms,
                                     const sl_admin_result **results);
/* DeleteTopics; *results has n entries, in the order asked. */
SL_API sl_err sl_admin_delete_topics(sl_admin *a, const char *const *topics, size_t n,
                                     int timeout_ms, const sl_admin_result **results);

typedef struct sl_new_partitions {
    const char *topic;
    int32_t total; /* the topic's new partition count */
} sl_new_partitions;

/* CreatePartitions; *results has n entries, in the order asked. */
SL_API sl_err sl_admin_create_partitions(sl_admin *a, const sl_new_partitions *parts, size_t n,
                                         int validate_only, int timeout_ms,
                                         const sl_admin_result **results);

/* Config resources and sources (Kafka's numbers). */
#define SL_RESOURCE_TOPIC  2
#define SL_RESOURCE_BROKER 4
/* "DYNAMIC_TOPIC", "STATIC_BROKER", "DEFAULT", ... ("UNKNOWN" for others). */
SL_API const char *sl_config_source_name(int source);

typedef struct sl_config_entry {
    const char *name;
    const char *value; /* NULL: null (a sensitive value, or unset) */
    int source;        /* 1 DYNAMIC_TOPIC, 2 DYNAMIC_BROKER, 4 STATIC_BROKER, 5 DEFAULT, ... */
    int read_only;
    int is_default;
    int is_sensitive;
} sl_config_entry;

typedef struct sl_config_resource {
    int type;         /* SL_RESOURCE_* */
    const char *name; /* topic name, or broker id */
    sl_err err;
    const char *errmsg;
    size_t entry_cnt;
    const sl_config_entry *entries;
} sl_config_resource;

/* DescribeConfigs of one resource (type SL_RESOURCE_TOPIC with a topic name, or
 * SL_RESOURCE_BROKER with a broker id in decimal), keys[0..nkeys) or every key when nkeys is 0.
 * The resource's own error is (*out)->err. */
SL_API sl_err sl_admin_describe_configs(sl_admin *a, int type, const char *name,
                                        const char *const *keys, size_t nkeys, int timeout_ms,
                                        const sl_config_resource **out);

#define SL_CONFIG_OP_SET      0
#define SL_CONFIG_OP_DELETE   1 /* back to the default */
#define SL_CONFIG_OP_APPEND   2 /* to a list value */
#define SL_CONFIG_OP_SUBTRACT 3 /* from a list value */

typedef struct sl_config_op {
    const char *name;
    const char *value; /* NULL for SL_CONFIG_OP_DELETE */
    int op;
} sl_config_op;

/* IncrementalAlterConfigs of one resource: returns the resource's error (*errmsg its message). */
SL_API sl_err sl_admin_incremental_alter_configs(sl_admin *a, int type, const char *name,
                                                 const sl_config_op *ops, size_t n,
                                                 int validate_only, int timeout_ms,
                                                 const char **errmsg);
/* AlterConfigs (the older API: replaces every dynamic config of the resource with kvs). */
SL_API sl_err sl_admin_alter_configs(sl_admin *a, int type, const char *name,
                                     const sl_config_kv *kvs, size_t n, int validate_only,
                                     int timeout_ms, const char **errmsg);

typedef struct sl_group_listing {
    const char *group;
    const char *protocol_type; /* "consumer", or "" */
    const char *state;         /* "Stable", "Empty", ...; "" when the broker does not say */
    int32_t coordinator;       /* the broker that answered */
} sl_group_listing;

/* ListGroups, asked of every broker in the cluster; *n groups in *out. */
SL_API sl_err sl_admin_list_groups(sl_admin *a, int timeout_ms, const sl_group_listing **out,
                                   size_t *n);

typedef struct sl_group_member {
    const char *member_id;
    const char *instance_id; /* NULL when none */
    const char *client_id;
    const char *client_host;
    size_t assignment_cnt; /* the consumer protocol's assignment (offsets -1) */
    const sl_topic_partition *assignment;
} sl_group_member;

typedef struct sl_group_description {
    const char *group;
    sl_err err;
    const char *state;         /* "Stable", "PreparingRebalance", "Empty", "Dead", ... */
    const char *protocol_type; /* "consumer" */
    const char *protocol;      /* the assignor, when Stable */
    int32_t coordinator;
    size_t member_cnt;
    const sl_group_member *members;
} sl_group_description;

/* DescribeGroups through each group's coordinator; *out has n entries, in the order asked. */
SL_API sl_err sl_admin_describe_groups(sl_admin *a, const char *const *groups, size_t n,
                                       int timeout_ms, const sl_group_description **out);
/* DeleteGroups (only empty groups can be deleted: NON_EMPTY_GROUP otherwise). */
SL_API sl_err sl_admin_delete_groups(sl_admin *a, const char *const *groups, size_t n,
                                     int timeout_ms, const sl_admin_result **results);
/* The group's committed offsets (OffsetFetch of every partition it committed): *n entries. */
SL_API sl_err sl_admin_committed(sl_admin *a, const char *group, int timeout_ms,
                                 const sl_topic_partition **out, size_t *n);
/* Commits offsets for the group as a "simple" (memberless) consumer, as Kafka's
 * kafka-consumer-groups --reset-offsets does: the broker refuses it while the group has members.
 * offsets[i].err gets each partition's result; returns the first error. */
SL_API sl_err sl_admin_commit(sl_admin *a, const char *group, sl_topic_partition *offsets, size_t n,
                              int timeout_ms);
/* ListOffsets: for each of parts[0..n) (each partition at most once), offset holds
 * SL_OFFSET_BEGINNING, SL_OFFSET_END or a timestamp (ms) on input and the offset on output (-1
 * when a timestamp is past the end); err per partition. */
SL_API sl_err sl_admin_list_offsets(sl_admin *a, sl_topic_partition *parts, size_t n,
                                    int timeout_ms);

/* Metadata of topic (NULL: every topic), as sl_producer_metadata (free with sl_metadata_free). */
SL_API sl_err sl_admin_metadata(sl_admin *a, const char *topic, int timeout_ms, sl_metadata **out);

typedef struct sl_cluster {
    const char *cluster_id; /* "" when none */
    int32_t controller_id;  /* -1 when none */
    size_t broker_cnt;
    const sl_metadata_broker *brokers;
    int from_metadata; /* 1: the broker lacks DescribeCluster, the answer comes from Metadata */
} sl_cluster;

/* DescribeCluster, or Metadata where the broker does not offer it. */
SL_API sl_err sl_admin_describe_cluster(sl_admin *a, int timeout_ms, const sl_cluster **out);

typedef struct sl_log_dir_partition {
    const char *topic;
    int32_t partition;
    int64_t size;       /* bytes on disk */
    int64_t offset_lag; /* 0 for a current replica */
} sl_log_dir_partition;

typedef struct sl_log_dir {
    int32_t broker;
    const char *path;
    sl_err err;
    int64_t total_bytes;  /* -1 when the broker does not say */
    int64_t usable_bytes; /* -1 when the broker does not say */
    size_t partition_cnt;
    const sl_log_dir_partition *partitions;
} sl_log_dir;

/* DescribeLogDirs of every partition, asked of every broker; *n log directories in *out. */
SL_API sl_err sl_admin_describe_log_dirs(sl_admin *a, int timeout_ms, const sl_log_dir **out,
                                         size_t *n);

/* One partition's answer to a leader election. */
typedef struct sl_election {
    const char *topic;
    int32_t partition;
    sl_err err;         /* NO_ERROR: its preferred replica leads now; ELECTION_NOT_NEEDED: it led
                           already; PREFERRED_LEADER_NOT_AVAILABLE: not live or not in the ISR;
                           UNKNOWN_TOPIC_OR_PART; NOT_CONTROLLER; ... */
    const char *errmsg; /* the broker's message, or NULL */
} sl_election;

/* ElectLeaders (preferred replica, Kafka's kafka-leader-election.sh --election-type preferred)
 * of parts[0..n) (their topic and partition are read), or of every partition when n is 0, sent
 * to the controller (Metadata's controller id): *out_cnt answers in *out (for every partition:
 * only those that needed an election). A top-level error (NOT_CONTROLLER,
 * CLUSTER_AUTHORIZATION_FAILED) is returned; SL_ERR__UNSUPPORTED_FEATURE when the controller
 * does not offer the API. */
SL_API sl_err sl_admin_elect_leaders(sl_admin *a, const sl_topic_partition *parts, size_t n,
                                     int timeout_ms, const sl_election **out, size_t *out_cnt);

/* ---- admin: SCRAM credentials and ACLs (sl_admin_sec.c) ------------------------------------- */

/* SCRAM mechanisms (Kafka's ScramMechanism type bytes). */
#define SL_SCRAM_SHA_256 1
#define SL_SCRAM_SHA_512 2
/* Fewest iterations a credential may have (Kafka's minimum), the default of an upsertion. */
#define SL_SCRAM_MIN_ITERATIONS 4096

typedef struct sl_scram_credential_info {
    int mechanism; /* SL_SCRAM_SHA_* */
    int32_t iterations;
} sl_scram_credential_info;

typedef struct sl_user_scram_credentials {
    const char *user;
    sl_err err; /* RESOURCE_NOT_FOUND for a user asked for by name that has none */
    const char *errmsg;
    size_t credential_cnt;
    const sl_scram_credential_info *credentials;
} sl_user_scram_credentials;

/* DescribeUserScramCredentials (KIP-554) of users[0..n), or of every user when n is 0: *out_cnt
 * users in *out (mechanisms and iteration counts: never a key). */
SL_API sl_err sl_admin_describe_user_scram_credentials(sl_admin *a, const char *const *users,
                                                       size_t n, int timeout_ms,
                                                       const sl_user_scram_credentials **out,
                                                       size_t *out_cnt);

/* A credential to create or replace: the library draws a 16-byte salt (RAND_bytes) and sends
 * SaltedPassword = PBKDF2(password, salt, iterations), as Kafka's admin client does; the
 * password never leaves the process. iterations 0: SL_SCRAM_MIN_ITERATIONS; fewer than that
 * (or more than 16384) is SL_ERR__INVALID_ARG. */
typedef struct sl_scram_upsertion {
    const char *user;
    int mechanism;
    int32_t iterations;
    const char *password;
} sl_scram_upsertion;

typedef struct sl_scram_deletion {
    const char *user;
    int mechanism;
} sl_scram_deletion;

/* AlterUserScramCredentials: *n_results per-user outcomes (one per user named), in the broker's
 * order. */
SL_API sl_err sl_admin_alter_user_scram_credentials(sl_admin *a, const sl_scram_upsertion *ups,
                                                    size_t n_ups, const sl_scram_deletion *dels,
                                                    size_t n_dels, int timeout_ms,
                                                    const sl_admin_result **results,
                                                    size_t *n_results);

/* ACL resource types, pattern types, operations and permissions: Kafka's numbers. */
#define SL_ACL_RESOURCE_ANY              1
#define SL_ACL_RESOURCE_TOPIC            2
#define SL_ACL_RESOURCE_GROUP            3
#define SL_ACL_RESOURCE_CLUSTER          4
#define SL_ACL_RESOURCE_TRANSACTIONAL_ID 5
#define SL_ACL_PATTERN_ANY               1
#define SL_ACL_PATTERN_MATCH             2
#define SL_ACL_PATTERN_LITERAL           3
#define SL_ACL_PATTERN_PREFIXED          4
#define SL_ACL_OP_ANY                    1
#define SL_ACL_OP_ALL                    2
#define SL_ACL_OP_READ                   3
#define SL_ACL_OP_WRITE                  4
#define SL_ACL_OP_CREATE                 5
#define SL_ACL_OP_DELETE                 6
#define SL_ACL_OP_ALTER                  7
#define SL_ACL_OP_DESCRIBE               8
#define SL_ACL_OP_CLUSTER_ACTION         9
#define SL_ACL_OP_DESCRIBE_CONFIGS       10
#define SL_ACL_OP_ALTER_CONFIGS          11
#define SL_ACL_OP_IDEMPOTENT_WRITE       12
#define SL_ACL_PERMISSION_ANY            1
#define SL_ACL_PERMISSION_DENY           2
#define SL_ACL_PERMISSION_ALLOW          3

/* An ACL binding ("User:bob may WRITE the LITERAL TOPIC t from host *"), or, as a filter, a
 * pattern of them: NULL strings and the *_ANY values match anything (PATTERN_MATCH: the patterns
 * that would apply to the name). The cluster resource is named "kafka-cluster". */
typedef struct sl_acl_binding {
    int resource_type;
    const char *resource_name;
    int pattern_type;
    const char *principal; /* "User:bob" */
    const char *host;      /* "*" for any */
    int operation;
    int permission_type;
} sl_acl_binding;

/* CreateAcls: results[i] for acls[i] (name NULL; err, errmsg). */
SL_API sl_err sl_admin_create_acls(sl_admin *a, const sl_acl_binding *acls, size_t n,
                                   int timeout_ms, const sl_admin_result **results);
/* DescribeAcls: the bindings matching the filter, *n of them in *out. The request's error
 * (SECURITY_DISABLED without an authorizer, CLUSTER_AUTHORIZATION_FAILED) is returned. */
SL_API sl_err sl_admin_describe_acls(sl_admin *a, const sl_acl_binding *filter, int timeout_ms,
                                     const sl_acl_binding **out, size_t *n);
/* DeleteAcls of every binding matching any of filters[0..n): the deleted bindings, *n_deleted of
 * them in *deleted; returns the first filter's (or binding's) error. */
SL_API sl_err sl_admin_delete_acls(sl_admin *a, const sl_acl_binding *filters, size_t n,
                                   int timeout_ms, const sl_acl_binding **deleted,
                                   size_t *n_deleted);

/* ---- helpers ---------------------------------------------------------------------------- */

/* Kafka's murmur2 (seed 0x9747b28c) as the Java client computes it. */
SL_API uint32_t sl_murmur2(const void *key, size_t len);
/* The partition the Java client's default partitioner picks for key:
 * (murmur2(key) & 0x7fffffff) % partition_cnt. */
SL_API int32_t sl_partition_for_key(const void *key, size_t len, int32_t partition_cnt);

/* The version this header belongs to: major << 24 | minor << 16 | patch << 8. */
#define SL_VERSION     0x00020000
#define SL_VERSION_STR "0.2.0"
/* The version of the library linked (compare with SL_VERSION). */
SL_API int sl_version(void);
/* "0.2.0" */
SL_API const char *sl_version_str(void);

#ifdef __cplusplus
}
#endif

#endif
