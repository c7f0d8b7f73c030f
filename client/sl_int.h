/*
 * sl_int.h — libsplicelog internals shared by the client's files (not installed).
 *
 * Contract
 * - Everything here runs on the thread that called into the public handle (splicelog.h:
 *   application-driven, no library threads, no locks).
 * - Internal calls return 0 or -errno; sl_err values are produced only at the public edge
 *   (sl__err_from_errno) or copied from the wire's error_code fields.
 * - Cross-file names carry the sl__ prefix.
 *
 * Pieces
 *   sl_conf.c      configuration (struct sl_conf)
 *   sl_err.c       error names
 *   sl_murmur2.c   key hashes of the partitioners (murmur2, FNV-1a)
 *   sl_conn.c      one broker connection: non-blocking socket, pipelined requests, frames
 *   sl_tls.c       TLS on a connection's socket (OpenSSL 3), the handle's SSL_CTX
 *   sl_auth.c      SASL on a connection: SaslHandshake, SaslAuthenticate before anything else
 *   sl_sasl.c      the SASL mechanisms, client side: PLAIN, SCRAM-SHA-256/512 (sl_sasl.h)
 *   (codecs)       gzip, snappy, lz4, zstd for record batches: proto/kp_codec.h
 *   sl_client.c    what producer and consumer share: brokers, metadata (Metadata v4), the
 *                  I/O loop
 *   sl_accum.c     producer accumulator: per-partition RecordBatch v2 buffers
 *   sl_producer.c  producer (Produce v7); sl_prod.h for its other file:
 *   sl_idemp.c     enable.idempotence (InitProducerId v0-4): producer id, epochs, sequences
 *   sl_consumer.c  consumer (Fetch v11, ListOffsets v2); sl_cons.h for its other files:
 *   sl_group.c     consumer groups (FindCoordinator v2, JoinGroup v5, SyncGroup v3,
 *                  Heartbeat v3, LeaveGroup v1), rebalances
 *   sl_commit.c    committed offsets (OffsetCommit v5, OffsetFetch v4)
 *   sl_assign.c    the group leader's assignors (sl_assign.h)
 *   sl_query.c     metadata, watermark and offsets-for-times queries
 *   sl_admin.c     the admin handle (topics, partitions, configs, groups, offsets, cluster)
 *   sl_admin_sec.c the admin handle's SCRAM credential and ACL calls (through sl_admin_int.h)
 *
 * Wire messages are encoded and decoded with proto/kp_msg's codecs, as the broker's are (one
 * codec per message). Two of them are used piece by piece: a Produce request is written as
 * iovecs that point into the batch buffers (kp_produce_req_*_encode pieces, the records never
 * copied), and a Fetch response is walked with kp_fetch_resp_*_decode pieces, each partition's
 * records kept as a view into the received frame. The other responses are decoded whole into
 * the client's arena (sl__arena). RecordBatch building and parsing come from proto/kp_batch.
 */
#ifndef SPLICELOG_SL_INT_H
#define SPLICELOG_SL_INT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "kp_batch.h"
#include "kp_buf.h"
#include "kp_msg.h"
#include "kp_codec.h"
#include "splicelog.h"

/* API versions the client speaks (all within what kp_api_advertised() lists; API keys are
 * proto's KP_API_*). */
enum {
    SL__V_PRODUCE = 7,
    SL__V_FETCH = 11,
    SL__V_LIST_OFFSETS = 2,
    SL__V_METADATA = 4,
    SL__V_API_VERSIONS = 0,
};

#define SL__V_OK(id, v) ((int)(v) >= (int)KP_API_##id##_VMIN && (int)(v) <= (int)KP_API_##id##_VMAX)
_Static_assert(SL__V_OK(PRODUCE, SL__V_PRODUCE) && SL__V_OK(FETCH, SL__V_FETCH) &&
                   SL__V_OK(LIST_OFFSETS, SL__V_LIST_OFFSETS) &&
                   SL__V_OK(METADATA, SL__V_METADATA) && SL__V_OK(API_VERSIONS, SL__V_API_VERSIONS),
               "a version the client speaks is not advertised (kp_api.h KP_API_LIST)");

/* Largest response frame accepted (librdkafka's receive.message.max.bytes is 100 MB). */
#define SL__MAX_FRAME (128 * 1024 * 1024)
/* Largest decompressed records area of one batch (a bigger one is SL_ERR__BAD_COMPRESSION). */
#define SL__MAX_DECOMPRESSED SL__MAX_FRAME

int64_t sl__now_ms(void);
int64_t sl__now_us(void);
/* Copies msg (printf-style) into errstr when errstr is not NULL. */
void sl__errstr(char *errstr, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Logs through conf->log_cb (or stderr when none is set); level as in syslog (3 = error). */
void sl__log(const sl_conf *conf, int level, const char *fac, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Maps an internal -errno to the library's sl_err. */
sl_err sl__err_from_errno(int err);
/* The internal errno of a broker name that does not resolve (sl_err: SL_ERR__RESOLVE). */
#define SL__ERESOLVE (-ENXIO)
/* The internal errno of a failed SASL authentication (sl_err: SL_ERR_SASL_AUTHENTICATION_FAILED;
 * the broker's message is in the connection's why). */
#define SL__EAUTH (-EACCES)

/* ---- configuration ------------------------------------------------------------------------ */

/* security.protocol as bits: plaintext 0, ssl, sasl_plaintext, sasl_ssl. */
enum { SL__SEC_SSL = 1, SL__SEC_SASL = 2 };

enum sl__reset { SL__RESET_LATEST = 0, SL__RESET_EARLIEST = 1, SL__RESET_ERROR = 2 };

/* partitioner: librdkafka's names; murmur2_random is the Java client's default. */
enum sl__partitioner {
    SL__PART_MURMUR2_RANDOM, /* murmur2 of the key; no key: sticky (a random partition per batch) */
    SL__PART_MURMUR2,        /* murmur2 of the key; no key: murmur2 of the empty key */
    SL__PART_CONSISTENT_RANDOM, /* CRC-32 of the key; no (or empty) key: random */
    SL__PART_CONSISTENT,        /* CRC-32 of the key (no key: of the empty key) */
    SL__PART_RANDOM,            /* random for every record */
    SL__PART_FNV1A,             /* FNV-1a of the key */
    SL__PART_FNV1A_RANDOM,      /* FNV-1a of the key; no (or empty) key: random */
};

/* partition.assignment.strategy, as bits. */
enum sl__assignor {
    SL__ASSIGN_RANGE = 1,
    SL__ASSIGN_ROUNDROBIN = 2,
    SL__ASSIGN_COOPERATIVE_STICKY = 4,
};
/* librdkafka's FNV-1a key hash (sl_murmur2.c). */
uint32_t sl__fnv1a(const void *key, size_t len);

/* The bits of a partition.assignment.strategy value, or -1 when it is not valid. */
int sl__assignors_parse(const char *v);

struct sl_conf {
    char *bootstrap_servers;
    char *client_id;
    int acks; /* 0, 1, -1 */
    int linger_ms;
    int batch_size;
    int max_in_flight;
    int retries;
    int retry_backoff_ms;
    int request_timeout_ms;
    int delivery_timeout_ms; /* alias message.timeout.ms */
    int queue_max_kbytes;
    int queue_max_messages;
    int message_max_bytes;
    int compression_codec; /* enum kp_codec */
    int compression_level; /* -1: the codec's default */
    int partitioner;       /* enum sl__partitioner */
    int enable_idempotence;
    int allow_auto_create; /* -1: the role's default */
    int statistics_interval_ms;
    int metadata_refresh_ms; /* topic.metadata.refresh.interval.ms; -1: never */
    int security_protocol;   /* SL__SEC_* bits: TLS, SASL */
    int sasl_mechanism;      /* enum sl__sasl_mech (sl_sasl.h) */
    char *sasl_username;
    char *sasl_password;
    char *ssl_ca_location;
    char *ssl_certificate_location;
    char *ssl_key_location;
    char *ssl_key_password;
    int ssl_endpoint_https; /* ssl.endpoint.identification.algorithm: 1 https, 0 none */
    int fetch_min_bytes;
    int fetch_wait_max_ms;
    int fetch_max_bytes;
    int max_partition_fetch_bytes;
    int check_crcs;
    int queued_max_kbytes;
    int auto_offset_reset; /* enum sl__reset */
    int enable_partition_eof;
    char *group_id;
    char *group_instance_id;
    int session_timeout_ms;
    int heartbeat_interval_ms;
    int max_poll_interval_ms;
    int enable_auto_commit;
    int auto_commit_interval_ms;
    char *assignors; /* partition.assignment.strategy as set (valid: sl__assignors_parse) */
    sl_delivery_cb *dr_cb;
    sl_log_cb *log_cb; /* NULL: errors go to stderr */
    sl_error_cb *error_cb;
    sl_stats_cb *stats_cb;
    sl_rebalance_cb *rebalance_cb;
    sl_offset_commit_cb *offset_commit_cb;
    void *opaque;
    unsigned explicit_set; /* SL__SET_* bits: properties the application set itself */
};

/* Properties whose explicit setting matters to enable.idempotence (sl__conf_idempotence). */
enum { SL__SET_ACKS = 1, SL__SET_RETRIES = 2, SL__SET_MAX_IN_FLIGHT = 4 };
/* Batches of one partition in flight at most with idempotence (Kafka's broker keeps 5). */
#define SL__IDEMP_MAX_IN_FLIGHT 5
/*
 * enable.idempotence=true: acks, retries and max.in.flight take the values idempotence needs
 * unless set explicitly, and an explicit conflicting value is refused (librdkafka's rules).
 * 0, or -EINVAL with the reason in errstr. Nothing happens when idempotence is off.
 */
int sl__conf_idempotence(sl_conf *c, char *errstr, size_t errstr_size);

/* ---- growable byte buffer ------------------------------------------------------------------ */

struct sl__bytes {
    uint8_t *p;
    size_t len;
    size_t cap;
};
int sl__bytes_reserve(struct sl__bytes *b, size_t need);
void sl__bytes_free(struct sl__bytes *b);

/* ---- requests and connections -------------------------------------------------------------- */

struct sl__client;
struct sl__conn;
struct sl__req;

/*
 * A received response: body points just after the correlation id. When own is non-NULL the
 * frame lives in its own heap buffer (own == the frame start) that the callback may take by
 * setting own to NULL (it then frees it with free()); otherwise the bytes are a view into the
 * connection's receive buffer, valid only during the callback.
 */
struct sl__frame {
    const uint8_t *body;
    size_t len;
    uint8_t *own;   /* the frame's own buffer (a big frame): the callback may take it */
    size_t own_cap; /* its allocated size, for sl__buf_put */
};

/*
 * Completion of a request: err 0 and resp set for a response, or -errno (transport loss,
 * timeout: resp NULL). Called exactly once per request that was queued; the request is
 * recycled after the callback returns.
 */
typedef void sl__req_cb(struct sl__client *cl, struct sl__req *req, int err,
                        struct sl__frame *resp);

struct sl__batch;

struct sl__req {
    struct sl__req *next; /* in the connection's send or wait queue, or the free list */
    int32_t corr;
    int timeout_ms; /* response due this long after written; 0: request.timeout.ms */
    int16_t api_key;
    int16_t api_version;
    bool expect_response;
    bool preauth;         /* ApiVersions or SASL: may go out while the connection authenticates */
    struct sl__bytes out; /* the encoded bytes that are not borrowed (frame head, fields) */
    struct iovec *iov;    /* the frame as iovecs over out and borrowed buffers */
    int niov;
    int iov_cap;
    size_t total;        /* frame bytes, sum of iov lengths */
    size_t sent;         /* bytes written so far; sent <= total */
    int64_t deadline_ms; /* response due by (set when fully written) */
    sl__req_cb *cb;
    void *ctx;                  /* callback's context */
    struct sl__batch **batches; /* produce: the batches in the request, in wire order */
    int nbatches;
    int batches_cap;
    /* Borrowed segments, recorded while encoding: out[mark] is followed by seg. */
    struct {
        size_t out_pos;
        const uint8_t *ptr;
        size_t len;
    } * segs;
    int nsegs;
    int segs_cap;
};

enum sl__conn_state { SL__CONN_DOWN, SL__CONN_CONNECTING, SL__CONN_UP };

/* API keys whose ApiVersions range a connection keeps (Kafka's keys are below 100). */
#define SL__API_KEYS 100

struct sl__conn {
    struct sl__client *cl;
    char *host;
    int port;
    int32_t node_id; /* -1 for a bootstrap entry not (yet) matched to a broker */
    int fd;          /* -1 when down */
    enum sl__conn_state state;
    int64_t reconnect_at_ms; /* no new connect before this */
    int failures;            /* consecutive connect failures */
    /* Requests not fully written (FIFO), then written and awaiting a response (FIFO). */
    struct sl__req *sendq, *sendq_tail;
    struct sl__req *waitq, *waitq_tail;
    uint32_t n_out; /* requests in sendq + waitq */
    /* Receive: small frames are parsed in rx; a frame larger than rx gets its own buffer. */
    uint8_t *rx;
    size_t rx_len; /* bytes in rx */
    size_t rx_cap;
    uint8_t *big;        /* frame being filled, including its 4-byte size; NULL when none */
    size_t big_len;      /* bytes in big; big_len <= big_cap <= big_need */
    size_t big_cap;      /* allocated: grows (doubling) with the bytes that actually arrive */
    size_t big_need;     /* total bytes of the frame */
    int fetch_out;       /* consumer: fetch requests outstanding on this connection */
    struct sl__tls *tls; /* security.protocol=ssl: the session, from TCP connect to close */
    /* The broker's ApiVersions answer on this connection (api_vmax[key] -1: not offered);
     * versions_known once it arrived, cleared when the connection goes down. */
    bool versions_known;
    int16_t api_vmin[SL__API_KEYS];
    int16_t api_vmax[SL__API_KEYS];
    char why[200]; /* why the connection is failing (resolver, TLS, SASL), for the error event */
    /* security.protocol=sasl_*: from connect until SaslAuthenticate succeeds only requests
     * marked preauth leave (sl_auth.c); sasl is the exchange under way. */
    bool authing;
    struct sl__sasl *sasl;
    int auth_failures; /* consecutive failed authentications: the reconnect backoff grows */
};

#define SL__RX_CAP (256 * 1024)
/* Fetch responses are aimed at about this size, split between the partitions fetched from one
 * broker, each asked for at least SL__FETCH_SHARE_MIN (and at most max.partition.fetch.bytes). */
#define SL__FETCH_TARGET    (1024 * 1024)
#define SL__FETCH_SHARE_MIN (64 * 1024)

/* Creates a connection record (not connected). */
struct sl__conn *sl__conn_new(struct sl__client *cl, const char *host, int port, int32_t node_id);
/* Fails every request (err), closes the socket and frees the record. */
void sl__conn_free(struct sl__conn *c, int err);
/* Starts connecting if down and the reconnect backoff allows; 0, -EAGAIN (backoff) or -errno. */
int sl__conn_ensure(struct sl__conn *c);
/* Closes the socket and fails every queued and in-flight request with err (newest first). */
void sl__conn_fail(struct sl__conn *c, int err);
/* Puts a request at the head of the send queue, marked preauth (the handshake's requests: the
 * head is never a partly written request then, since only one is in flight at a time). */
void sl__conn_push_front(struct sl__conn *c, struct sl__req *r);
/* Encodes a request (api_key at v, body by enc(wr, msg) unless enc is NULL) whose callback gets
 * the connection as ctx, and puts it at the head with sl__conn_push_front. 0 or -errno. */
int sl__conn_push_new(struct sl__conn *c, int16_t api_key, int16_t v,
                      int (*enc)(struct kp_wr *, const void *), const void *msg, size_t guess,
                      sl__req_cb *cb);
/* Appends a request (encoded with sl__req_begin/..._end) to the send queue. */
void sl__conn_enqueue(struct sl__conn *c, struct sl__req *r);
/* poll(2) interest for this connection (0 when down). */
short sl__conn_events(const struct sl__conn *c);
/* Handles readiness: writes what it can, reads and dispatches every complete frame. */
void sl__conn_io(struct sl__conn *c, short revents);
/* Writes queued requests without waiting (may complete acks=0 requests). */
void sl__conn_flush(struct sl__conn *c);
/* The highest version of api_key in [vmin, vmax] that the broker offers on c (its ApiVersions
 * answer), or -1 when none (or the answer has not arrived). */
int sl__conn_version(const struct sl__conn *c, int16_t api_key, int vmin, int vmax);
/* Fails the connection when the oldest in-flight request is past its deadline. */
void sl__conn_check_timeouts(struct sl__conn *c, int64_t now_ms);
/* Feeds received bytes to the frame parser (exposed for unit tests of the matching logic). */
int sl__conn_feed(struct sl__conn *c, const uint8_t *data, size_t len);

/* Request building: begin writes the frame size placeholder and the request header v1. */
struct sl__req *sl__req_get(struct sl__client *cl);
void sl__req_put(struct sl__client *cl, struct sl__req *r);
int sl__req_begin(struct sl__client *cl, struct sl__req *r, int16_t api_key, int16_t ver);
/* A kp_wr over the request's out buffer with room for at least n more bytes. */
int sl__req_wr(struct sl__req *r, size_t n, struct kp_wr *wr);
/* Commits what wr wrote (wr must come from sl__req_wr). */
void sl__req_wr_done(struct sl__req *r, const struct kp_wr *wr);
/*
 * Encodes a message body with enc(wr, msg) into the request's out buffer, starting with room
 * for guess bytes and doubling it while enc says -ENOSPC. 0 or enc's error / -ENOMEM.
 */
int sl__req_body(struct sl__req *r, size_t guess, int (*enc)(struct kp_wr *, const void *),
                 const void *msg);
/* Adds borrowed bytes (kept alive by the caller until the request completes). */
int sl__req_borrow(struct sl__req *r, const void *p, size_t len);
/* Patches the frame size and builds the iovecs. */
int sl__req_end(struct sl__req *r);

/* ---- SASL on a connection (sl_auth.c; the mechanisms: sl_sasl.h) ---------------------- */

/*
 * Starts authenticating c (its ApiVersions answer is in, c->authing set): SaslHandshake v1 for
 * sasl.mechanisms, then SaslAuthenticate with each token until the mechanism is done; the
 * requests go at the head of the send queue, everything else waits behind them. Success clears
 * c->authing; a refusal fails the connection with SL__EAUTH and the reason in c->why. 0 or
 * -errno (then the caller fails the connection).
 */
int sl__auth_start(struct sl__conn *c);

/* ---- TLS (sl_tls.c) --------------------------------------------------------------------- */

struct sl__tls_ctx; /* one per handle (security.protocol=ssl) */
struct sl__tls;     /* one per connection, from TCP connect to close */

/*
 * The handle's TLS context, built from the conf's ssl.* properties (CA, optional client
 * certificate and key, host verification). 0, or -EINVAL/-ENOMEM with the reason (OpenSSL's
 * included) in errstr. Freed with sl__tls_ctx_free (NULL is fine).
 */
int sl__tls_ctx_new(const sl_conf *conf, struct sl__tls_ctx **out, char *errstr,
                    size_t errstr_size);
void sl__tls_ctx_free(struct sl__tls_ctx *ctx);
/*
 * A client session over fd (a connected non-blocking TCP socket, still owned by the caller),
 * verifying the broker as host (a name or an IP literal). 0 or -ENOMEM/-EINVAL.
 */
int sl__tls_new(struct sl__tls_ctx *ctx, int fd, const char *host, struct sl__tls **out);
/* Frees the session (the socket is left to the caller). NULL is fine. */
void sl__tls_free(struct sl__tls *t);
/* Advances the handshake: 0 when complete, -EAGAIN (wait for sl__tls_events), or a fatal
 * -ECONNABORTED/-errno with sl__tls_reason set. */
int sl__tls_handshake(struct sl__tls *t);
bool sl__tls_handshake_done(const struct sl__tls *t);
/* Decrypted bytes into buf: > 0, -EAGAIN, -ECONNRESET (peer closed) or fatal -errno. */
ssize_t sl__tls_read(struct sl__tls *t, void *buf, size_t len);
/*
 * Encrypts and sends a prefix of the iovecs: the bytes taken (> 0), 0 for no bytes, -EAGAIN
 * or fatal -errno. After -EAGAIN the next call must pass iovecs starting with the same bytes
 * (the caller must not advance: the session keeps them staged until they are sent).
 */
ssize_t sl__tls_writev(struct sl__tls *t, const struct iovec *v, int nv);
/* The poll events the session waits for after -EAGAIN (POLLIN or POLLOUT), 0 when none. */
short sl__tls_events(const struct sl__tls *t);
/* True when OpenSSL holds bytes that poll(2) cannot see (decrypted, or read ahead). */
bool sl__tls_pending(const struct sl__tls *t);
/* Why the last fatal error happened (OpenSSL's reasons and the verify result). */
const char *sl__tls_reason(const struct sl__tls *t);

/* ---- metadata --------------------------------------------------------------------------- */

struct sl__topic {
    char *name;
    size_t name_len;
    int32_t n_parts;  /* -1 while unknown */
    int32_t *leaders; /* node id per partition (n_parts entries) */
    int16_t err;      /* topic-level error of the last metadata answer */
    bool known;       /* a metadata answer covered this topic */
    bool stale;       /* refresh wanted */
    void *prod;       /* producer's per-topic state (sl_producer.c) */
};

/*
 * Frame buffers: a big response is received into a buffer of its own, and a consumer's record
 * views point into it until they are consumed. Buffers given back are kept (at most
 * SL__BUF_CACHE of them, SL__BUF_CACHE_BYTES in all) and handed out again, so a steady stream
 * of fetch responses reuses the same memory instead of faulting in fresh pages and growing
 * each buffer to its frame's size.
 */
#define SL__BUF_CACHE       8
#define SL__BUF_CACHE_BYTES (64u * 1024 * 1024)

/* Errors for the application's error callback, queued where they happen and served from the
 * handle's poll (SL__ERRQ at most; more are counted in errors_dropped). */
#define SL__ERRQ 32

struct sl__client {
    sl_conf *conf;
    struct sl__tls_ctx *tls_ctx; /* NULL for plaintext */
    bool is_producer;
    struct sl__conn **conns;
    int n_conns;
    int conns_cap;
    int32_t corr_next;
    struct sl__req *req_free;
    struct sl__topic **topics;
    int n_topics;
    int topics_cap;
    bool md_inflight;
    bool md_wanted;
    int64_t md_next_ms; /* earliest time for the next metadata request */
    int md_fail;        /* last metadata error (-errno), 0 if fine */
    int64_t md_ok_ms;   /* when the last metadata answer arrived (periodic refresh) */
    int conn_fail;      /* the last connection failure (-errno), 0 once one is up */
    bool no_connect;    /* while set, no connection is started (no name resolution) */
    bool all_down;      /* _ALL_BROKERS_DOWN reported; cleared when a connection is up */
    struct {
        sl_err err;
        char reason[256];
    } errq[SL__ERRQ];
    int errq_head, errq_n;
    uint64_t errors_dropped;
    int64_t stats_next_ms; /* statistics.interval.ms: the next stats callback */
    sl_stats stats;
    struct pollfd *pfds;
    int pfds_cap;
    /* Frame buffers kept for reuse (sl__buf_get/put), largest last. */
    uint8_t *buf_cache[SL__BUF_CACHE];
    size_t buf_cache_cap[SL__BUF_CACHE];
    int n_buf_cache;
    size_t buf_cache_bytes;
    struct kp_codec_ctx codecs; /* compression contexts (kp_codec.h) */
    /* Arena for decoding whole responses (sl__arena), kept and grown, never shrunk. */
    struct kp_arena arena;
    /* The owner's I/O turn (sending its own work too), for calls that wait for an answer. */
    void (*turn)(struct sl__client *cl, int timeout_ms);
    /* Owner hooks: the producer/consumer learn about metadata and connection changes. */
    void (*on_metadata)(struct sl__client *cl);
    void *owner;
};

/* A buffer of at least min bytes (*cap: its size, possibly larger): a kept one, grown when
 * needed, or a new one. NULL when out of memory. */
uint8_t *sl__buf_get(struct sl__client *cl, size_t min, size_t *cap);
/* Gives a buffer back: kept for reuse, or freed when the cache is full. p may be NULL. */
void sl__buf_put(struct sl__client *cl, uint8_t *p, size_t cap);

/*
 * The client's arena, emptied, with room for whatever a kp_msg decoder builds from a body of len
 * bytes: SL__ARENA_PER_BYTE bytes per wire byte. A decoder allocates only for array elements
 * that each consumed their minimum wire size first (kp_rd_array), and no element struct is more
 * than 8 times its minimum wire size (a JoinGroup member: 48 bytes for 6), plus at most 15 bytes
 * of alignment per array (an array takes at least 5 wire bytes): under 11 bytes per wire byte.
 * NULL when out of memory.
 */
#define SL__ARENA_PER_BYTE 16
struct kp_arena *sl__arena(struct sl__client *cl, size_t len);

/* Queues an error for the error callback (and logs it at level 3 or 7, see sl_conn.c). */
void sl__error(struct sl__client *cl, sl_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* From the handle's poll: runs the error callbacks queued, and the stats callback when due
 * (stats filled by the owner's fill function). Returns the number of error callbacks run. */
int sl__client_serve(struct sl__client *cl, void (*fill)(const struct sl__client *, sl_stats *));

/* 0, or -EINVAL (bootstrap.servers, ssl.* files) / -ENOMEM with a message in errstr. */
int sl__client_init(struct sl__client *cl, sl_conf *conf, bool is_producer, char *errstr,
                    size_t errstr_size);
void sl__client_destroy(struct sl__client *cl);
/* The topic record (created, unknown, on first use); NULL on allocation failure. */
struct sl__topic *sl__topic_get(struct sl__client *cl, const char *name);
struct sl__topic *sl__topic_find(struct sl__client *cl, const char *name, size_t len);
/* A connection to send a request on: an established one with room (max.in.flight), else one
 * being connected, else one to connect; NULL when none can take it now. */
struct sl__conn *sl__any_conn(struct sl__client *cl);
/* A connection record to host:port for node_id (a special id: not a partition leader), made
 * once and reused; NULL when out of memory. */
struct sl__conn *sl__client_conn(struct sl__client *cl, const char *host, int port,
                                 int32_t node_id);
/* The group coordinator's connection's node id (a connection of its own, as the Java client
 * keeps one: a JoinGroup parked by the broker must not hold up fetches). */
#define SL__NODE_COORD (-3)
/* Connection to broker node_id; NULL when the node is unknown. */
struct sl__conn *sl__conn_for_node(struct sl__client *cl, int32_t node_id);
/* Asks for a metadata refresh at the next I/O turn (rate limited by retry.backoff.ms). */
void sl__metadata_want(struct sl__client *cl);
/* Waits (driving I/O) until t is known or timeout; 0 or -errno (-ETIMEDOUT). */
int sl__metadata_wait(struct sl__client *cl, struct sl__topic *t, int timeout_ms);
/* One I/O turn: sends metadata if wanted, polls up to timeout_ms, handles readiness. */
void sl__client_io(struct sl__client *cl, int timeout_ms);

/* One Metadata answer for topic (NULL: every topic), waiting up to timeout_ms (-1:
 * request.timeout.ms) and driving cl->turn (sl_query.c; sl_producer_metadata's body). */
sl_err sl__metadata_query(struct sl__client *cl, const char *topic, int timeout_ms,
                          sl_metadata **out);

/* The producer's client (sl_query.c asks the cluster through it). */
struct sl__client *sl__producer_client(sl_producer *p);

/* ---- consumer ---------------------------------------------------------------------------- */

/*
 * The records field of one fetched partition: returns how many leading bytes are complete
 * batches (0 when none; a partial trailing batch is left out), sets *next to the offset after
 * the last of them, and *first_need to the size of the first batch when it is incomplete
 * (else 0). Negative -EBADMSG when the first batch's header is corrupt.
 */
long sl__scan_batches(const uint8_t *p, size_t len, int64_t *next, size_t *first_need);

#endif
