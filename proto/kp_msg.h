/*
 * kp_msg — Kafka request/response headers, framing, and the API messages splicelog speaks.
 * The codecs handle more versions than the broker advertises (kp_api_advertised()); which ones
 * is KP_API_LIST's codec range (kp_api.h), kp_msg_codec_find(key): ApiVersions 0-3, Metadata 0-12,
 * Produce 3-9, Fetch 4-13, ListOffsets 1-7, CreateTopics 0-7, DeleteTopics 0-6, InitProducerId 0-4
 * here, the group APIs below, and the admin APIs of kp_msg_config.h, kp_msg_groups_admin.h and
 * kp_msg_cluster.h. Most codecs are tables walked by one engine (proto/kp_schema.h explains why and
 * how); the classic versions of Produce and Fetch and their piecewise encoders are written by hand.
 *
 * Contract
 * - Pure functions over caller-owned memory: no globals, no malloc, any thread.
 * - Every message has four functions, named kp_<msg>_{req,resp}_{encode,decode}:
 *     request encode (client), request decode (broker), response encode (broker), response
 *     decode (client). They handle the body only; headers and frames are separate calls.
 * - Encoders take a kp_wr and the version, write the body at the writer's position, and return
 *   0, -EINVAL (version outside the supported range, or a field the version cannot carry, such
 *   as a null array where the version has no null; nothing is written then), or the writer's
 *   sticky error (-ENOSPC).
 * - Decoders take a kp_rd positioned at the body, the version, and a caller-supplied arena;
 *   they fill *out and return 0, -EINVAL (unsupported version), -EBADMSG (short, malformed,
 *   or bytes left over after the body: a body must end exactly where the reader ends, unless
 *   the caller allowed trailing bytes with kp_rd_allow_trailing), or -ENOMEM (the arena is too
 *   small for the arrays). On error *out is unspecified and the
 *   arena may be partly used (reset it).
 * - Ownership after decode: arrays (topics, partitions, ...) live in the arena; strings and
 *   bytes (kp_str, kp_bytes) are views into the reader's buffer. Both live as long as those.
 *   Every count is checked against the bytes left (kp_rd_array's minimum element size) before
 *   anything is allocated, so a forged count of 2^31-1 fails without touching the arena.
 * - Array fields are a pointer plus an int32 count (n_xxx); the count is -1 only for nullable
 *   arrays (documented at each field). Fields that a version does not carry are ignored by
 *   the encoder and set to Kafka's default by the decoder (noted as "vN+").
 * - Flexible versions (KIP-482) use compact strings, bytes and arrays and end every struct with
 *   a tag buffer. Known tagged fields are fields of the structs below ("tagged"); encoders write
 *   them only when they differ from their default. Unknown tagged fields are skipped.
 * - New fields of later versions are appended to the structs (existing initialisers keep
 *   compiling); their zero value is not always Kafka's default (noted as "default -1").
 */
#ifndef SPLICELOG_KP_MSG_H
#define SPLICELOG_KP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kp_api.h"
#include "kp_buf.h"

/* ---- headers and framing ---------------------------------------------------------------- */

/* Request header v1 (v2 adds a tag buffer; client_id keeps its int16 length in both). */
struct kp_req_hdr {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    struct kp_str client_id; /* NULLABLE_STRING */
};

/*
 * Decode a request header at the start of a frame body. The header version follows from the
 * api_key and api_version read (kp_api_req_hdr_version), so unknown keys and unsupported
 * versions still decode: the caller decides how to answer. Returns 0 or -EBADMSG. The reader
 * is left at the first body byte.
 */
int kp_req_hdr_decode(struct kp_rd *rd, struct kp_req_hdr *out);
/* Encode a request header (v1 or v2, chosen from api_key/api_version). 0 or -ENOSPC. */
int kp_req_hdr_encode(struct kp_wr *wr, const struct kp_req_hdr *h);

/* Response header v0 (correlation_id) or v1 (+ tag buffer), chosen by kp_api_resp_hdr_version.
 * 0 or the writer's/reader's error. */
int kp_resp_hdr_encode(struct kp_wr *wr, int16_t api_key, int16_t api_version,
                       int32_t correlation_id);
int kp_resp_hdr_decode(struct kp_rd *rd, int16_t api_key, int16_t api_version,
                       int32_t *correlation_id);
/* Encoded size of that response header (4 or 5 bytes). */
size_t kp_resp_hdr_size(int16_t api_key, int16_t api_version);

/*
 * Framing. kp_frame_begin reserves the int32 size at the writer's position and returns that
 * position; after the header and body are written, kp_frame_end patches the size (bytes
 * written after the size field). kp_frame_end returns 0, the writer's error, or -EMSGSIZE when
 * the frame would not fit an int32.
 */
size_t kp_frame_begin(struct kp_wr *wr);
int kp_frame_end(struct kp_wr *wr, size_t size_pos);

/*
 * Look at the start of a receive buffer. Returns -EAGAIN when fewer than 4 bytes are there,
 * -EBADMSG for a negative size, -EMSGSIZE when size > max_size, else 0 with *size = the bytes
 * that follow the size field (the frame is complete once len >= 4 + *size).
 */
int kp_frame_peek(const void *buf, size_t len, int32_t max_size, int32_t *size);

/*
 * What proto's codec handles for an API key (more than the broker may advertise): the version
 * range of kp_<msg>_{req,resp}_{encode,decode} and the first flexible version (INT16_MAX when
 * none): the row of KP_API_LIST (kp_api.h). Static, read-only.
 */
struct kp_msg_codec {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
    int16_t first_flexible;
    const char *name; /* Kafka's name of the API ("DescribeConfigs") */
};

/* The codec of api_key, or NULL when proto has none. */
const struct kp_msg_codec *kp_msg_codec_find(int16_t api_key);
/* The i-th codec in api_key order; NULL past the last. */
const struct kp_msg_codec *kp_msg_codec_at(size_t i);

/* ---- ApiVersions (18), v0-3; v3 is flexible but uses response header v0 ------------------ */

struct kp_api_versions_req {
    struct kp_str client_software_name;    /* v3+, COMPACT_STRING; null below v3 */
    struct kp_str client_software_version; /* v3+, COMPACT_STRING; null below v3 */
};

struct kp_api_versions_resp {
    int16_t error_code;
    int32_t n_api_keys;
    const struct kp_api_range *api_keys;
    int32_t throttle_time_ms; /* v1+ */
};

int kp_api_versions_req_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_api_versions_req *req);
int kp_api_versions_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_api_versions_req *out);
int kp_api_versions_resp_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_api_versions_resp *resp);
int kp_api_versions_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_api_versions_resp *out);

/*
 * Kafka's answer to an ApiVersions request of a version it does not support: a v0 body with
 * error UNSUPPORTED_VERSION (35) and one entry, the advertised ApiVersions range ({18, 0, 3}).
 * Send it behind a response header v0 whatever the request's version (notes §2). A client
 * that asked for v3 and cannot decode the answer as v3 (-EBADMSG) should decode it as v0,
 * or retry at v0, as librdkafka does.
 */
int kp_api_versions_fallback_encode(struct kp_wr *wr);

/* ---- Metadata (3), v0-12; flexible from v9 --------------------------------------------------- */

struct kp_metadata_req {
    /* Topic names. v0: not nullable, an empty array means all topics. v1+: -1 (null) means
     * all topics, 0 means none (broker-only refresh). See kp_metadata_req_all_topics(). */
    int32_t n_topics;
    const struct kp_str *topics;
    bool allow_auto_topic_creation; /* v4+; decoders of v0-3 set true (Kafka's default) */
    /* v10+: the topic id of each entry (n_topics of them), NULL meaning all zero (by name).
     * From v10 a name may be null (len -1) when the topic is asked for by id. Decoders of
     * v10+ set it (NULL when n_topics <= 0); below v10 they set NULL. */
    const struct kp_uuid *topic_ids;
    bool include_cluster_authorized_operations; /* v8-10 */
    bool include_topic_authorized_operations;   /* v8+ */
};

/* True when the request asks for every topic at this version. */
bool kp_metadata_req_all_topics(const struct kp_metadata_req *req, int16_t version);

struct kp_metadata_broker {
    int32_t node_id;
    struct kp_str host;
    int32_t port;
    struct kp_str rack; /* v1+, nullable; null below v1 */
};

struct kp_metadata_partition {
    int16_t error_code;
    int32_t partition_index;
    int32_t leader_id;
    int32_t n_replicas;
    const int32_t *replicas;
    int32_t n_isr;
    const int32_t *isr;
    int32_t leader_epoch;       /* v7+; Kafka's default -1 */
    int32_t n_offline_replicas; /* v5+ */
    const int32_t *offline_replicas;
};

struct kp_metadata_topic {
    int16_t error_code;
    struct kp_str name; /* nullable from v12 */
    bool is_internal;   /* v1+ */
    int32_t n_partitions;
    const struct kp_metadata_partition *partitions;
    struct kp_uuid topic_id;             /* v10+ */
    int32_t topic_authorized_operations; /* v8+; Kafka's default INT32_MIN (not asked for) */
};

struct kp_metadata_resp {
    int32_t throttle_time_ms; /* v3+ */
    int32_t n_brokers;
    const struct kp_metadata_broker *brokers;
    struct kp_str cluster_id; /* v2+, nullable; null below v2 */
    int32_t controller_id;    /* v1+; -1 below v1 */
    int32_t n_topics;
    const struct kp_metadata_topic *topics;
    int32_t cluster_authorized_operations; /* v8-10; Kafka's default INT32_MIN */
};

int kp_metadata_req_encode(struct kp_wr *wr, int16_t version, const struct kp_metadata_req *req);
int kp_metadata_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                           struct kp_metadata_req *out);
int kp_metadata_resp_encode(struct kp_wr *wr, int16_t version, const struct kp_metadata_resp *resp);
int kp_metadata_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                            struct kp_metadata_resp *out);

/* ---- Produce (0), v3-9; flexible from v9 ------------------------------------------------------
 * v3-7 by hand (kp_msg_produce.c), v8-9 by the tables (kp_msg_produce_flex.c). */

struct kp_produce_req_partition {
    int32_t partition_index;
    /*
     * RecordBatch bytes (NULLABLE_BYTES). After decode this is a view into the reader's
     * buffer, i.e. the caller's receive buffer. The broker rewrites baseOffset (and
     * partitionLeaderEpoch) in place there: it owns that buffer and it is mutable, so
     * kp_bytes_mut() gives the writable pointer back.
     */
    struct kp_bytes records;
};

struct kp_produce_req_topic {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_produce_req_partition *partitions;
};

struct kp_produce_req {
    struct kp_str transactional_id; /* nullable */
    int16_t acks;                   /* 0: the broker sends no response */
    int32_t timeout_ms;
    int32_t n_topics;
    const struct kp_produce_req_topic *topics;
};

/* A record batch that failed (v8+): its index within the partition's records and why. */
struct kp_produce_record_error {
    int32_t batch_index;
    struct kp_str batch_index_error_message; /* nullable */
};

struct kp_produce_resp_partition {
    int32_t partition_index;
    int16_t error_code;
    int64_t base_offset;
    int64_t log_append_time_ms; /* -1 = CreateTime */
    int64_t log_start_offset;   /* v5+; -1 below v5 */
    int32_t n_record_errors;    /* v8+ */
    const struct kp_produce_record_error *record_errors;
    struct kp_str error_message; /* v8+, nullable; a zeroed struct writes "" (set KP_STR_NULL) */
};

struct kp_produce_resp_topic {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_produce_resp_partition *partitions;
};

struct kp_produce_resp {
    int32_t n_topics;
    const struct kp_produce_resp_topic *topics;
    int32_t throttle_time_ms; /* last on the wire */
};

int kp_produce_req_encode(struct kp_wr *wr, int16_t version, const struct kp_produce_req *req);
int kp_produce_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                          struct kp_produce_req *out);
int kp_produce_resp_encode(struct kp_wr *wr, int16_t version, const struct kp_produce_resp *resp);
int kp_produce_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                           struct kp_produce_resp *out);

/*
 * Piecewise Produce request encoding, for a client that sends each partition's records from
 * its own buffer (writev) instead of copying them into the request. The body is
 *   head(n_topics) { topic(name, n_partitions) { partition_head(index, len) <len bytes> } }
 * and nothing follows the last partition's records. partition_head writes the index and the
 * records' NULLABLE_BYTES length (-1: null); the caller sends the len bytes itself.
 * kp_produce_req_encode is these pieces with the records copied in. All return 0, -EINVAL
 * (version outside 3-7, negative count, a bad view; nothing written) or -ENOSPC.
 */
int kp_produce_req_head_encode(struct kp_wr *wr, int16_t version, struct kp_str transactional_id,
                               int16_t acks, int32_t timeout_ms, int32_t n_topics);
int kp_produce_req_topic_encode(struct kp_wr *wr, int16_t version, struct kp_str name,
                                int32_t n_partitions);
int kp_produce_req_partition_head_encode(struct kp_wr *wr, int16_t version, int32_t partition_index,
                                         int32_t records_len);
/* Encoded sizes of the same pieces (0 for a version outside 3-7). */
size_t kp_produce_req_head_size(int16_t version, struct kp_str transactional_id);
size_t kp_produce_req_topic_size(int16_t version, struct kp_str name);
size_t kp_produce_req_partition_head_size(int16_t version);

/*
 * The writable pointer behind a view that was decoded from the mutable buffer buf[0, len):
 * buf + (view.ptr - buf). NULL when the view is null or does not lie inside that buffer.
 */
uint8_t *kp_bytes_mut(struct kp_bytes view, uint8_t *buf, size_t len);

/* ---- Fetch (1), v4-13; flexible from v12, topic ids instead of names from v13 ---------------- */

/* Kafka's LeaderIdAndEpoch (Fetch v12+ and later Produce): -1, -1 is "not given". */
struct kp_leader_id_and_epoch {
    int32_t leader_id;
    int32_t leader_epoch;
};

struct kp_fetch_req_partition {
    int32_t partition;
    int32_t current_leader_epoch; /* v9+; -1 below v9 */
    int64_t fetch_offset;
    int64_t log_start_offset; /* v5+; -1 below v5 */
    int32_t partition_max_bytes;
    int32_t last_fetched_epoch; /* v12+; Kafka's default -1 */
};

struct kp_fetch_req_topic {
    struct kp_str topic; /* v4-12 */
    int32_t n_partitions;
    const struct kp_fetch_req_partition *partitions;
    struct kp_uuid topic_id; /* v13+, instead of the name */
};

struct kp_fetch_forgotten_topic {
    struct kp_str topic; /* v7-12 */
    int32_t n_partitions;
    const int32_t *partitions;
    struct kp_uuid topic_id; /* v13+ */
};

struct kp_fetch_req {
    int32_t replica_id; /* -1 for consumers */
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes;
    int8_t isolation_level; /* 0 read_uncommitted, 1 read_committed */
    int32_t session_id;     /* v7+; 0 below v7 */
    int32_t session_epoch;  /* v7+; -1 below v7 */
    int32_t n_topics;
    const struct kp_fetch_req_topic *topics;
    int32_t n_forgotten; /* v7+; 0 below v7 */
    const struct kp_fetch_forgotten_topic *forgotten;
    struct kp_str rack_id; /* v11+, STRING; empty below v11 */
    struct kp_str
        cluster_id; /* v12+, tagged, nullable; a zeroed struct sends "" (KP_STR_NULL: none) */
};

struct kp_fetch_aborted_txn {
    int64_t producer_id;
    int64_t first_offset;
};

/* Fetch v12+ tagged partition fields (Kafka's EpochEndOffset, SnapshotId). */
struct kp_fetch_epoch_end_offset {
    int32_t epoch;
    int64_t end_offset;
};

struct kp_fetch_snapshot_id {
    int64_t end_offset;
    int32_t epoch;
};

struct kp_fetch_resp_partition {
    int32_t partition;
    int16_t error_code;
    int64_t high_watermark;
    int64_t last_stable_offset;
    int64_t log_start_offset; /* v5+; -1 below v5 */
    int32_t n_aborted;        /* -1 = null */
    const struct kp_fetch_aborted_txn *aborted;
    int32_t preferred_read_replica; /* v11+; -1 below v11 */
    /*
     * Record batches. Encoders write a null or empty view as length 0, never -1 (librdkafka
     * rejects -1, notes §7). Decoders return a view into the reader's buffer; a -1 from a
     * broker decodes as an empty view {NULL, 0}.
     */
    struct kp_bytes records;
    /* v12+, tagged; NULL when absent. Encoders also leave out one whose fields are all -1
     * (Kafka's defaults); decoders allocate a present one in the arena. */
    const struct kp_fetch_epoch_end_offset *diverging_epoch; /* tag 0 */
    const struct kp_leader_id_and_epoch *current_leader;     /* tag 1 */
    const struct kp_fetch_snapshot_id *snapshot_id;          /* tag 2 */
};

struct kp_fetch_resp_topic {
    struct kp_str topic; /* v4-12 */
    int32_t n_partitions;
    const struct kp_fetch_resp_partition *partitions;
    struct kp_uuid topic_id; /* v13+, instead of the name */
};

struct kp_fetch_resp {
    int32_t throttle_time_ms;
    int16_t error_code; /* v7+; 0 below v7 */
    int32_t session_id; /* v7+; 0 below v7 */
    int32_t n_topics;
    const struct kp_fetch_resp_topic *topics;
};

int kp_fetch_req_encode(struct kp_wr *wr, int16_t version, const struct kp_fetch_req *req);
int kp_fetch_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                        struct kp_fetch_req *out);
int kp_fetch_resp_encode(struct kp_wr *wr, int16_t version, const struct kp_fetch_resp *resp);
int kp_fetch_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                         struct kp_fetch_resp *out);

/*
 * Incremental Fetch response encoding for the zero-copy path (notes §7). The response body is
 *   head(n_topics) { topic(name, n_partitions) { partition_head(p) <p.records.len bytes>
 *                                                partition_tail(p) } end } end
 * The caller writes each piece with these functions and sends the records bytes itself
 * (splice/sendfile) between a partition's head and tail. kp_fetch_resp_partition_head_encode
 * writes every partition field up to and including the records length (int32, or from v12 a
 * uvarint of len + 1), taken from p->records.len (null or negative: writes 0, i.e. empty);
 * p->records.ptr is not read. Below v12 the tails and ends are empty (nothing follows the last
 * partition's records); from v12 they are the tag buffers of the partition (its tagged
 * fields), the topic and the response. From v13 topics go by id: use
 * kp_fetch_resp_topic_head_encode (any version), which writes t->topic or t->topic_id and
 * t->n_partitions; kp_fetch_resp_topic_encode is for v4-12 only.
 *
 * All return 0, -EINVAL (version outside 4-13, negative count) or -ENOSPC.
 */
int kp_fetch_resp_head_encode(struct kp_wr *wr, int16_t version, int32_t throttle_time_ms,
                              int16_t error_code, int32_t session_id, int32_t n_topics);
int kp_fetch_resp_topic_encode(struct kp_wr *wr, int16_t version, struct kp_str topic,
                               int32_t n_partitions);
int kp_fetch_resp_partition_head_encode(struct kp_wr *wr, int16_t version,
                                        const struct kp_fetch_resp_partition *p);

/*
 * Encoded sizes of the same pieces (0 for a version outside 4-13), so the broker can size its
 * buffer and write the frame size before any piece: frame size = kp_resp_hdr_size +
 * kp_fetch_resp_size (exact). The partition head size is exact (from v12 the records length
 * is a uvarint: size a reservation with the records' real length, or INT32_MAX). From v12 the
 * head and topic sizes count the topic and partition counts at their largest encoding (5
 * bytes), an upper bound; kp_fetch_resp_topic_head_size is exact.
 */
size_t kp_fetch_resp_head_size(int16_t version);
size_t kp_fetch_resp_topic_size(int16_t version, struct kp_str topic);
size_t kp_fetch_resp_partition_head_size(int16_t version, const struct kp_fetch_resp_partition *p);
/*
 * Size of the whole body for a response shape, records counted by their len only (ptr may be
 * NULL: file ranges). Returns 0 with *size set, or -EINVAL (bad version, negative count).
 * The caller checks that kp_resp_hdr_size + *size fits the int32 frame size (<= INT32_MAX)
 * and trims partitions when it does not.
 */
int kp_fetch_resp_size(int16_t version, const struct kp_fetch_resp *resp, size_t *size);

/* The v12+ pieces (see above), and a topic head for every version; with their sizes. */
int kp_fetch_resp_topic_head_encode(struct kp_wr *wr, int16_t version,
                                    const struct kp_fetch_resp_topic *t);
int kp_fetch_resp_partition_tail_encode(struct kp_wr *wr, int16_t version,
                                        const struct kp_fetch_resp_partition *p);
int kp_fetch_resp_end_encode(struct kp_wr *wr, int16_t version);
size_t kp_fetch_resp_topic_head_size(int16_t version, const struct kp_fetch_resp_topic *t);
size_t kp_fetch_resp_partition_tail_size(int16_t version, const struct kp_fetch_resp_partition *p);
size_t kp_fetch_resp_end_size(int16_t version);

/*
 * Piecewise Fetch response decoding, the mirror of the encoder above: a client walks the
 * response without an arena and keeps each partition's records as a view into its receive
 * buffer (zero copy). Call head once, then topic and, n_partitions times, partition, for each
 * of n_topics topics; the body must end after the last partition (kp_rd_left(rd) == 0).
 * kp_fetch_resp_partition_decode leaves p->aborted NULL and returns the aborted transactions
 * as a view (*aborted, n_aborted entries of 16 bytes, read with kp_fetch_aborted_get); records
 * -1 decodes as an empty view {NULL, 0}. Each returns 0, -EINVAL (version outside 4-11) or
 * -EBADMSG (short or malformed; the reader's sticky error), as kp_fetch_resp_decode does,
 * which is these pieces with the aborted entries copied into its arena.
 */
int kp_fetch_resp_head_decode(struct kp_rd *rd, int16_t version, int32_t *throttle_time_ms,
                              int16_t *error_code, int32_t *session_id, int32_t *n_topics);
int kp_fetch_resp_topic_decode(struct kp_rd *rd, int16_t version, struct kp_str *topic,
                               int32_t *n_partitions);
int kp_fetch_resp_partition_decode(struct kp_rd *rd, int16_t version,
                                   struct kp_fetch_resp_partition *p, struct kp_bytes *aborted);
/* Entry i (< the partition's n_aborted) of an aborted-transactions view. */
void kp_fetch_aborted_get(struct kp_bytes aborted, int32_t i, struct kp_fetch_aborted_txn *out);

/* ---- ListOffsets (2), v1-7; flexible from v6 --------------------------------------------------
 */

#define KP_LIST_OFFSETS_LATEST        (-1LL) /* high watermark (LSO for read_committed) */
#define KP_LIST_OFFSETS_EARLIEST      (-2LL) /* log start offset */
#define KP_LIST_OFFSETS_MAX_TIMESTAMP (-3LL) /* v7+: the record with the largest timestamp */

struct kp_list_offsets_req_partition {
    int32_t partition_index;
    int64_t timestamp;
    int32_t current_leader_epoch; /* v4+; Kafka's default -1 (no fencing) */
    int32_t max_num_offsets;      /* v0 only; Kafka's default 1 */
};

struct kp_list_offsets_req_topic {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_list_offsets_req_partition *partitions;
};

struct kp_list_offsets_req {
    int32_t replica_id;
    int8_t isolation_level; /* v2+; 0 below v2 */
    int32_t n_topics;
    const struct kp_list_offsets_req_topic *topics;
};

struct kp_list_offsets_old_offset {
    int64_t offset;
};

struct kp_list_offsets_resp_partition {
    int32_t partition_index;
    int16_t error_code;
    int64_t timestamp;           /* v1+ */
    int64_t offset;              /* v1+ */
    int32_t leader_epoch;        /* v4+; Kafka's default -1 */
    int32_t n_old_style_offsets; /* v0 only (on the wire after error_code) */
    const struct kp_list_offsets_old_offset *old_style_offsets;
    struct kp_list_offsets_old_offset old_one; /* not on the wire: room for a one-offset
                                                  old_style_offsets (the broker's answer) */
};

struct kp_list_offsets_resp_topic {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_list_offsets_resp_partition *partitions;
};

struct kp_list_offsets_resp {
    int32_t throttle_time_ms; /* v2+ */
    int32_t n_topics;
    const struct kp_list_offsets_resp_topic *topics;
};

int kp_list_offsets_req_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_list_offsets_req *req);
int kp_list_offsets_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_list_offsets_req *out);
int kp_list_offsets_resp_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_list_offsets_resp *resp);
int kp_list_offsets_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_list_offsets_resp *out);

/* ---- CreateTopics (19), v0-7; flexible from v5 ------------------------------------------------
 */

struct kp_create_topics_assignment {
    int32_t partition_index;
    int32_t n_broker_ids;
    const int32_t *broker_ids;
};

struct kp_create_topics_config {
    struct kp_str name;
    struct kp_str value; /* nullable */
};

struct kp_create_topics_topic {
    struct kp_str name;
    int32_t num_partitions;     /* -1: manual assignment or broker default */
    int16_t replication_factor; /* -1: manual assignment or broker default */
    int32_t n_assignments;
    const struct kp_create_topics_assignment *assignments;
    int32_t n_configs;
    const struct kp_create_topics_config *configs;
};

struct kp_create_topics_req {
    int32_t n_topics;
    const struct kp_create_topics_topic *topics;
    int32_t timeout_ms;
    bool validate_only; /* v1+ */
};

/* A config of a created topic as the broker set it (v5+). */
struct kp_create_topics_result_config {
    struct kp_str name;
    struct kp_str value; /* nullable */
    bool read_only;
    int8_t config_source; /* Kafka's default -1 (unknown); see kp_msg_config.h */
    bool is_sensitive;
};

struct kp_create_topics_result {
    struct kp_str name;
    int16_t error_code;
    struct kp_str error_message;     /* v1+, nullable; null below v1 */
    struct kp_uuid topic_id;         /* v7+ */
    int16_t topic_config_error_code; /* v5+, tagged (tag 0), written when non-zero */
    int32_t num_partitions;          /* v5+; Kafka's default -1 */
    int16_t replication_factor;      /* v5+; Kafka's default -1 */
    int32_t n_configs;               /* v5+, nullable (-1 = null, e.g. on error) */
    const struct kp_create_topics_result_config *configs;
};

struct kp_create_topics_resp {
    int32_t throttle_time_ms; /* v2+ */
    int32_t n_topics;
    const struct kp_create_topics_result *topics;
};

int kp_create_topics_req_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_create_topics_req *req);
int kp_create_topics_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_create_topics_req *out);
int kp_create_topics_resp_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_create_topics_resp *resp);
int kp_create_topics_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_create_topics_resp *out);

/* ---- DeleteTopics (20), v0-6; flexible from v4 ------------------------------------------------
 */

/* A topic to delete, by name or (name null) by id (v6+). */
struct kp_delete_topics_topic {
    struct kp_str name; /* nullable */
    struct kp_uuid topic_id;
};

struct kp_delete_topics_req {
    int32_t n_topics; /* v0-5: topic_names */
    const struct kp_str *topic_names;
    int32_t timeout_ms;
    int32_t n_topic_states; /* v6+: topics by name or id instead of topic_names */
    const struct kp_delete_topics_topic *topic_states;
};

struct kp_delete_topics_result {
    struct kp_str name; /* nullable from v6 */
    int16_t error_code;
    struct kp_uuid topic_id;     /* v6+ */
    struct kp_str error_message; /* v5+, nullable; null below v5 */
};

struct kp_delete_topics_resp {
    int32_t throttle_time_ms; /* v1+ */
    int32_t n_results;
    const struct kp_delete_topics_result *results;
};

int kp_delete_topics_req_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_delete_topics_req *req);
int kp_delete_topics_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_delete_topics_req *out);
int kp_delete_topics_resp_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_delete_topics_resp *resp);
int kp_delete_topics_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_delete_topics_resp *out);

/* ---- Consumer groups: FindCoordinator (10) v0-4, JoinGroup (11) v0-9, SyncGroup (14) v0-5,
 * Heartbeat (12) v0-4, LeaveGroup (13) v0-5, OffsetCommit (8) v0-8, OffsetFetch (9) v1-8
 * (proto/kp_msg_group.c). Flexible from FindCoordinator v3, JoinGroup v6, SyncGroup v4,
 * Heartbeat v4, LeaveGroup v4, OffsetCommit v8, OffsetFetch v6. Member metadata and
 * assignments are opaque BYTES (views). ------------------------------------------------------ */

struct kp_find_coordinator_req {
    struct kp_str key;          /* v0-3: the group id for key_type 0 */
    int8_t key_type;            /* v1+; 0 (group) below v1; 1 = transaction */
    int32_t n_coordinator_keys; /* v4+: a batch of keys instead of key */
    const struct kp_str *coordinator_keys;
};

/* One answer of a batched (v4+) FindCoordinator. */
struct kp_find_coordinator_coordinator {
    struct kp_str key;
    int32_t node_id;
    struct kp_str host;
    int32_t port;
    int16_t error_code;
    struct kp_str error_message; /* nullable */
};

struct kp_find_coordinator_resp {
    int32_t throttle_time_ms;    /* v1+ */
    int16_t error_code;          /* v0-3 */
    struct kp_str error_message; /* v1-3, nullable; null below v1 */
    int32_t node_id;             /* v0-3 */
    struct kp_str host;          /* v0-3 */
    int32_t port;                /* v0-3 */
    int32_t n_coordinators;      /* v4+, one per key */
    const struct kp_find_coordinator_coordinator *coordinators;
};

int kp_find_coordinator_req_encode(struct kp_wr *wr, int16_t version,
                                   const struct kp_find_coordinator_req *req);
int kp_find_coordinator_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                   struct kp_find_coordinator_req *out);
int kp_find_coordinator_resp_encode(struct kp_wr *wr, int16_t version,
                                    const struct kp_find_coordinator_resp *resp);
int kp_find_coordinator_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                    struct kp_find_coordinator_resp *out);

struct kp_join_group_protocol {
    struct kp_str name;       /* assignor name ("range", "RoundRobinAssigner") */
    struct kp_bytes metadata; /* BYTES, opaque to the broker */
};

struct kp_join_group_req {
    struct kp_str group_id;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;    /* v1+; -1 below v1 (Kafka: use session_timeout_ms) */
    struct kp_str member_id;         /* empty on the first join */
    struct kp_str group_instance_id; /* v5+, nullable; null below v5 */
    struct kp_str protocol_type;     /* "consumer" */
    int32_t n_protocols;
    const struct kp_join_group_protocol *protocols;
    struct kp_str reason; /* v8+, nullable; a zeroed struct sends "" */
};

struct kp_join_group_member {
    struct kp_str member_id;
    struct kp_str group_instance_id; /* v5+, nullable; null below v5 */
    struct kp_bytes metadata;        /* BYTES */
};

struct kp_join_group_resp {
    int32_t throttle_time_ms; /* v2+ */
    int16_t error_code;
    int32_t generation_id;
    struct kp_str protocol_name; /* nullable from v7 */
    struct kp_str leader;
    struct kp_str member_id;
    int32_t n_members; /* non-empty for the leader only */
    const struct kp_join_group_member *members;
    struct kp_str protocol_type; /* v7+, nullable */
    bool skip_assignment;        /* v9+ */
};

int kp_join_group_req_encode(struct kp_wr *wr, int16_t version,
                             const struct kp_join_group_req *req);
int kp_join_group_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                             struct kp_join_group_req *out);
int kp_join_group_resp_encode(struct kp_wr *wr, int16_t version,
                              const struct kp_join_group_resp *resp);
int kp_join_group_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                              struct kp_join_group_resp *out);

struct kp_sync_group_assignment {
    struct kp_str member_id;
    struct kp_bytes assignment; /* BYTES */
};

struct kp_sync_group_req {
    struct kp_str group_id;
    int32_t generation_id;
    struct kp_str member_id;
    struct kp_str group_instance_id; /* v3+, nullable; null below v3 */
    int32_t n_assignments;           /* sent by the leader only */
    const struct kp_sync_group_assignment *assignments;
    struct kp_str protocol_type; /* v5+, nullable; null below v5 */
    struct kp_str protocol_name; /* v5+, nullable; null below v5 */
};

struct kp_sync_group_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    struct kp_bytes assignment;  /* BYTES */
    struct kp_str protocol_type; /* v5+, nullable; null below v5 */
    struct kp_str protocol_name; /* v5+, nullable; null below v5 */
};

int kp_sync_group_req_encode(struct kp_wr *wr, int16_t version,
                             const struct kp_sync_group_req *req);
int kp_sync_group_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                             struct kp_sync_group_req *out);
int kp_sync_group_resp_encode(struct kp_wr *wr, int16_t version,
                              const struct kp_sync_group_resp *resp);
int kp_sync_group_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                              struct kp_sync_group_resp *out);

struct kp_heartbeat_req {
    struct kp_str group_id;
    int32_t generation_id;
    struct kp_str member_id;
    struct kp_str group_instance_id; /* v3+, nullable; null below v3 */
};

struct kp_heartbeat_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
};

int kp_heartbeat_req_encode(struct kp_wr *wr, int16_t version, const struct kp_heartbeat_req *req);
int kp_heartbeat_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                            struct kp_heartbeat_req *out);
int kp_heartbeat_resp_encode(struct kp_wr *wr, int16_t version,
                             const struct kp_heartbeat_resp *resp);
int kp_heartbeat_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                             struct kp_heartbeat_resp *out);

/* A member leaving (v3+: several at once, by member id or group instance id). */
struct kp_leave_group_member {
    struct kp_str member_id;
    struct kp_str group_instance_id; /* nullable */
    struct kp_str reason;            /* v5+, nullable; null below v5 */
};

struct kp_leave_group_member_resp {
    struct kp_str member_id;
    struct kp_str group_instance_id; /* nullable */
    int16_t error_code;
};

struct kp_leave_group_req {
    struct kp_str group_id;
    struct kp_str member_id; /* v0-2 */
    int32_t n_members;       /* v3+, instead of member_id */
    const struct kp_leave_group_member *members;
};

struct kp_leave_group_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    int32_t n_members; /* v3+ */
    const struct kp_leave_group_member_resp *members;
};

int kp_leave_group_req_encode(struct kp_wr *wr, int16_t version,
                              const struct kp_leave_group_req *req);
int kp_leave_group_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                              struct kp_leave_group_req *out);
int kp_leave_group_resp_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_leave_group_resp *resp);
int kp_leave_group_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_leave_group_resp *out);

struct kp_offset_commit_req_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int64_t commit_timestamp;         /* v1 only; -1 otherwise */
    struct kp_str committed_metadata; /* nullable */
    int32_t committed_leader_epoch;   /* v6+; Kafka's default -1 */
};

struct kp_offset_commit_req_topic {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_offset_commit_req_partition *partitions;
};

struct kp_offset_commit_req {
    struct kp_str group_id;
    int32_t generation_id;     /* v1+; -1 below v1 */
    struct kp_str member_id;   /* v1+; empty below v1 */
    int64_t retention_time_ms; /* v2-4; -1 otherwise (broker default retention) */
    int32_t n_topics;
    const struct kp_offset_commit_req_topic *topics;
    struct kp_str group_instance_id; /* v7+, nullable; null below v7 */
};

struct kp_offset_commit_resp_partition {
    int32_t partition_index;
    int16_t error_code;
};

struct kp_offset_commit_resp_topic {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_offset_commit_resp_partition *partitions;
};

struct kp_offset_commit_resp {
    int32_t throttle_time_ms; /* v3+ */
    int32_t n_topics;
    const struct kp_offset_commit_resp_topic *topics;
};

int kp_offset_commit_req_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_offset_commit_req *req);
int kp_offset_commit_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_offset_commit_req *out);
int kp_offset_commit_resp_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_offset_commit_resp *resp);
int kp_offset_commit_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_offset_commit_resp *out);

struct kp_offset_fetch_req_topic {
    struct kp_str name;
    int32_t n_partition_indexes;
    const int32_t *partition_indexes;
};

/* One group of a v8+ OffsetFetch. */
struct kp_offset_fetch_req_group {
    struct kp_str group_id;
    int32_t n_topics; /* -1 (null): every partition the group has committed */
    const struct kp_offset_fetch_req_topic *topics;
};

struct kp_offset_fetch_req {
    struct kp_str group_id; /* v1-7 */
    /* v2-7: -1 (null) means every partition the group has committed; v1 has no null. */
    int32_t n_topics;
    const struct kp_offset_fetch_req_topic *topics;
    int32_t n_groups; /* v8+, instead of group_id and topics */
    const struct kp_offset_fetch_req_group *groups;
    bool require_stable; /* v7+ */
};

struct kp_offset_fetch_resp_partition {
    int32_t partition_index;
    int64_t committed_offset; /* -1: nothing committed */
    struct kp_str metadata;   /* nullable */
    int16_t error_code;
    int32_t committed_leader_epoch; /* v5+; Kafka's default -1 */
};

struct kp_offset_fetch_resp_topic {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_offset_fetch_resp_partition *partitions;
};

struct kp_offset_fetch_resp_group {
    struct kp_str group_id;
    int32_t n_topics;
    const struct kp_offset_fetch_resp_topic *topics;
    int16_t error_code;
};

struct kp_offset_fetch_resp {
    int32_t throttle_time_ms; /* v3+, first on the wire */
    int32_t n_topics;         /* v1-7 */
    const struct kp_offset_fetch_resp_topic *topics;
    int16_t error_code; /* v2-7, after the topics; 0 below v2 */
    int32_t n_groups;   /* v8+, instead of topics and error_code */
    const struct kp_offset_fetch_resp_group *groups;
};

int kp_offset_fetch_req_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_offset_fetch_req *req);
int kp_offset_fetch_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_offset_fetch_req *out);
int kp_offset_fetch_resp_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_offset_fetch_resp *resp);
int kp_offset_fetch_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_offset_fetch_resp *out);

/* ---- InitProducerId (22), v0-4; flexible from v2 (proto/kp_msg_txn.c) ----------------------- */

struct kp_init_producer_id_req {
    struct kp_str transactional_id; /* nullable: null for an idempotent producer */
    int32_t transaction_timeout_ms;
    int64_t producer_id;    /* v3+; Kafka's default -1 (a new producer) */
    int16_t producer_epoch; /* v3+; Kafka's default -1 */
};

struct kp_init_producer_id_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    int64_t producer_id;
    int16_t producer_epoch;
};

int kp_init_producer_id_req_encode(struct kp_wr *wr, int16_t version,
                                   const struct kp_init_producer_id_req *req);
int kp_init_producer_id_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                   struct kp_init_producer_id_req *out);
int kp_init_producer_id_resp_encode(struct kp_wr *wr, int16_t version,
                                    const struct kp_init_producer_id_resp *resp);
int kp_init_producer_id_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                    struct kp_init_producer_id_resp *out);

#endif
