/*
 * tb_kafka — test support: speak the Kafka protocol to a broker over a blocking socket, the
 * way a client would, with nothing of the broker's own code in the path.
 *
 * Contract
 * - Framing: tb_send_all()/tb_recv_all() move exact byte counts; tb_recv_frame() reads one
 *   size-prefixed response into a malloc'd buffer the caller frees with tb_frame_free().
 *   Errors are -errno: -ECONNRESET when the peer closed (EOF or RST), -EAGAIN when the
 *   socket's receive timeout (10 s, set by tb_connect) passed, -EMSGSIZE over max.
 * - Requests: tb_req_begin() allocates a buffer of the capacity asked for and writes the size
 *   placeholder and the request header (v1, or v2 for flexible versions such as ApiVersions
 *   v3). The tb_enc_* functions write the body of one API at one version, encoded here with
 *   kp_buf alone (independently of the broker's codec, so a bug shared by encoder and decoder
 *   cannot hide). tb_req_end() patches the size and returns the frame length, or -ENOSPC.
 * - Responses: tb_dec_* parse a frame (correlation id first) into small fixed structs; they
 *   return 0 or -EBADMSG when the bytes do not match the version's layout exactly (trailing
 *   bytes are an error too). Byte views (records) point into the frame.
 * - Records: tb_batch_values() builds one RecordBatch v2 with kp_batch; tb_records_walk()
 *   validates (CRC included) and iterates the batches of a fetched records field.
 * Single-threaded per socket; no global state.
 */
#ifndef SPLICELOG_TB_KAFKA_H
#define SPLICELOG_TB_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kp_batch.h"
#include "kp_buf.h"

/* ---- framing ------------------------------------------------------------------------- */

struct tb_frame {
    uint8_t *data; /* the bytes after the int32 size prefix */
    size_t len;
};

int tb_send_all(int fd, const void *buf, size_t len);
int tb_recv_all(int fd, void *buf, size_t len);
int tb_recv_frame(int fd, struct tb_frame *f, size_t max);
void tb_frame_free(struct tb_frame *f);
/* The correlation id of a response frame (-1 when shorter than 4 bytes). */
int32_t tb_frame_corr(const struct tb_frame *f);
/*
 * Waits up to timeout_ms for the peer to close: reads and discards whatever arrives. 1 when it
 * closed (EOF or reset), 0 when still open at the deadline.
 */
int tb_wait_closed(int fd, int timeout_ms);
/* 1 when bytes are readable on fd within timeout_ms, 0 when not, -errno on error. */
int tb_readable(int fd, int timeout_ms);

/* ---- requests ------------------------------------------------------------------------ */

struct tb_req {
    uint8_t *buf;
    struct kp_wr wr;
};

/* Begins a request frame with room for cap bytes in total; client_id "tb". 0 or -ENOMEM. */
int tb_req_begin(struct tb_req *r, size_t cap, int16_t api_key, int16_t version, int32_t corr);
/* The same with the client_id given (any bytes; len -1 for null). */
int tb_req_begin_id(struct tb_req *r, size_t cap, int16_t api_key, int16_t version, int32_t corr,
                    struct kp_str client_id);
/* Patches the size; returns the whole frame's length, or -ENOSPC when it did not fit. */
long tb_req_end(struct tb_req *r);
void tb_req_free(struct tb_req *r);
/* tb_req_end + send; 0 or -errno. */
int tb_req_send(int fd, struct tb_req *r);

/* ApiVersions v0-3 (v3: client software name and version). */
void tb_enc_api_versions(struct tb_req *r, int16_t version);
/* Metadata v0-4: topics (n == -1: null = all topics; v0 sends an empty array for all). */
void tb_enc_metadata(struct tb_req *r, int16_t version, const char *const *topics, int n,
                     bool allow_auto_create);
/* Produce v0-7 to one partition (transactional_id from v3); records may be NULL (null). */
void tb_enc_produce(struct tb_req *r, int16_t version, int16_t acks, int32_t timeout_ms,
                    const char *topic, int32_t partition, const uint8_t *records, size_t len);

/* Produce v3-7 to n partitions of one topic in one request: records[i] (lens[i] bytes) to
 * parts[i]. */
void tb_enc_produce_multi(struct tb_req *r, int16_t version, int16_t acks, int32_t timeout_ms,
                          const char *topic, int n, const int32_t *parts,
                          const uint8_t *const *records, const size_t *lens);

struct tb_fetch_args {
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes;
    const char *topic;
    int32_t partition;
    int64_t offset;
    int32_t partition_max_bytes;
};
/* Fetch v4-11, one partition, isolation READ_UNCOMMITTED (0), no session. */
void tb_enc_fetch(struct tb_req *r, int16_t version, const struct tb_fetch_args *a);
/* Encodes that Fetch with correlation id corr and sends it on fd; 0 or -errno. */
int tb_send_fetch(int fd, int16_t version, int32_t corr, const struct tb_fetch_args *a);
/*
 * Fetch v4-11 of n partitions of one topic in one request (offsets[i] for parts[i]), each
 * with partition_max_bytes pmax.
 */
void tb_enc_fetch_multi(struct tb_req *r, int16_t version, int32_t max_wait_ms, int32_t min_bytes,
                        int32_t max_bytes, const char *topic, int n, const int32_t *parts,
                        const int64_t *offsets, int32_t pmax);
/* ListOffsets v1-2, one partition; timestamp -1 latest, -2 earliest. */
void tb_enc_list_offsets(struct tb_req *r, int16_t version, const char *topic, int32_t partition,
                         int64_t timestamp);
/* CreateTopics v0-4, one topic, no assignments or configs; validate_only from v1. */
void tb_enc_create_topics(struct tb_req *r, int16_t version, const char *topic,
                          int32_t num_partitions, int16_t replication_factor, int32_t timeout_ms,
                          bool validate_only);
/* DeleteTopics v0-3, one topic. */
void tb_enc_delete_topics(struct tb_req *r, int16_t version, const char *topic, int32_t timeout_ms);

/* ---- responses ----------------------------------------------------------------------- */

enum { TB_MAX_APIS = 64, TB_MAX_TOPICS = 32, TB_MAX_PARTS = 64, TB_MAX_BROKERS = 4 };

struct tb_api_versions {
    int16_t error;
    int32_t n;
    struct {
        int16_t key, min, max;
    } api[TB_MAX_APIS];
    int32_t throttle_ms;
};
int tb_dec_api_versions(const struct tb_frame *f, int16_t version, struct tb_api_versions *out);
/* The advertised range of key; false when absent. */
bool tb_api_range(const struct tb_api_versions *v, int16_t key, int16_t *min, int16_t *max);

struct tb_metadata {
    int32_t n_brokers;
    struct {
        int32_t node_id;
        char host[256];
        int32_t port;
    } broker[TB_MAX_BROKERS];
    int32_t controller_id;
    int32_t n_topics;
    struct {
        int16_t error;
        char name[256];
        bool internal;
        int32_t n_parts;
        struct {
            int16_t error;
            int32_t partition;
            int32_t leader;
        } part[TB_MAX_PARTS];
    } topic[TB_MAX_TOPICS];
};
int tb_dec_metadata(const struct tb_frame *f, int16_t version, struct tb_metadata *out);
/* Index of the topic called name in m, or -1. */
int tb_md_topic(const struct tb_metadata *m, const char *name);

struct tb_produce_resp {
    int16_t error;
    int64_t base_offset;
    int64_t log_append_time;
    int64_t log_start_offset; /* -1 below v5 */
};
int tb_dec_produce(const struct tb_frame *f, int16_t version, struct tb_produce_resp *out);
/* A produce response with one topic and up to max partitions: out[i], part[i], *n. */
int tb_dec_produce_multi(const struct tb_frame *f, int16_t version, struct tb_produce_resp *out,
                         int32_t *part, int max, int *n);

struct tb_fetch_resp {
    int16_t top_error; /* v7+ */
    int32_t session_id;
    int16_t error;
    int64_t high_watermark;
    int64_t last_stable_offset;
    int64_t log_start_offset;       /* -1 below v5 */
    int32_t n_aborted;              /* -1 for null */
    int32_t preferred_read_replica; /* -1 below v11 */
    int32_t records_len;            /* -1 for null */
    const uint8_t *records;         /* into the frame */
};
int tb_dec_fetch(const struct tb_frame *f, int16_t version, struct tb_fetch_resp *out);
/* A fetch response with one topic and up to max partitions: out[i] and *n; part[i] gets the
 * partition index. top_error/session_id are repeated in each out[i]. */
int tb_dec_fetch_multi(const struct tb_frame *f, int16_t version, struct tb_fetch_resp *out,
                       int32_t *part, int max, int *n);

struct tb_list_offsets_resp {
    int16_t error;
    int64_t timestamp;
    int64_t offset;
};
int tb_dec_list_offsets(const struct tb_frame *f, int16_t version,
                        struct tb_list_offsets_resp *out);

/* CreateTopics / DeleteTopics: the error of the one topic asked about. */
int tb_dec_create_topics(const struct tb_frame *f, int16_t version, int16_t *error);
int tb_dec_delete_topics(const struct tb_frame *f, int16_t version, int16_t *error);

/* ---- cross-check with the project's codec (proto/kp_msg.h) ------------------------------ */

/*
 * Decodes a whole request frame (size prefix included) with kp_req_hdr_decode and the API's
 * kp_*_req_decode, or a response frame (after the size prefix) with kp_resp_hdr_decode and
 * kp_*_resp_decode: 0 when the codec accepts it and consumed it exactly, else its -errno
 * (-ENOTSUP for an API it has no decoder for). So the suites check the broker's output with
 * two decoders: tb_dec_* written from the protocol notes, and the project's own.
 */
int tb_codec_req_check(const uint8_t *frame, size_t len);
int tb_codec_resp_check(const struct tb_frame *f, int16_t api_key, int16_t version);

/* ---- one round trip ------------------------------------------------------------------ */

/*
 * Sends r, reads one response, checks its correlation id equals corr (-EPROTO if not).
 * 0 or -errno; f is filled on 0 and must be freed.
 */
int tb_call(int fd, struct tb_req *r, int32_t corr, struct tb_frame *f);
/* One ApiVersions v2 round trip with correlation id corr; 0 when answered, or -errno. */
int tb_ping(int fd, int32_t corr);

/* Convenience round trips on a fresh correlation id; each returns 0 or -errno. */
int tb_produce(int fd, const char *topic, int32_t partition, const uint8_t *records, size_t len,
               struct tb_produce_resp *out);
int tb_fetch(int fd, const struct tb_fetch_args *a, struct tb_frame *f, struct tb_fetch_resp *out);
int tb_list_offsets(int fd, const char *topic, int32_t partition, int64_t ts,
                    struct tb_list_offsets_resp *out);
int tb_metadata(int fd, const char *const *topics, int n, bool auto_create,
                struct tb_metadata *out);
int tb_create_topic(int fd, const char *topic, int32_t partitions, int16_t *error);

/* ---- records ------------------------------------------------------------------------- */

/*
 * Builds one batch of count records into buf: value i is "<prefix>-<first+i>" padded with
 * pad_to bytes of a deterministic pattern (0 for none), key "k<first+i>" when keyed, record
 * timestamps ts. Returns the batch size or -errno.
 */
long tb_batch_values(uint8_t *buf, size_t cap, const char *prefix, int first, int count,
                     size_t pad_to, bool keyed, int64_t ts);

/* Writes value i of a sequence into buf ("<prefix>-<i>" padded to pad_to); its length. */
size_t tb_value(char *buf, size_t cap, const char *prefix, int64_t i, size_t pad_to);

struct tb_rec_view {
    int64_t offset;
    int64_t timestamp;
    struct kp_bytes key;
    struct kp_bytes value;
    int32_t header_count;
};
typedef int (*tb_rec_fn)(void *ctx, const struct tb_rec_view *rec);
/*
 * Validates every batch in [p, p+len) (CRC included) and calls fn for each record (fn
 * returning non-zero stops the walk and is returned). Returns the number of records, or
 * -EBADMSG for a corrupt batch; *trailing (may be NULL) gets the bytes of an incomplete batch
 * at the end, which is only legal as a fetch's cut.
 */
long tb_records_walk(const uint8_t *p, size_t len, tb_rec_fn fn, void *ctx, size_t *trailing);

/*
 * Checks a consumed sequence: records below next_offset are skipped (a fetch starts at the
 * batch holding the offset asked for), then each record must have offset next_offset and
 * value tb_value(prefix, offset - value_base, pad_of ? pad_of(i) : pad_to). Use as tb_rec_fn
 * with a struct tb_seq ctx; on a mismatch it returns 1 and describes it in err.
 */
struct tb_seq {
    const char *prefix;
    size_t pad_to;
    size_t (*pad_of)(int64_t i);
    int64_t value_base;
    int64_t next_offset;
    long seen;
    char err[256];
};
int tb_seq_check(void *ctx, const struct tb_rec_view *rec);

/*
 * Fetches (v11) topic/partition from seq->next_offset until it reaches until, feeding every
 * record to tb_seq_check. Bounded: at most max_fetches fetches of max_wait 200 ms each.
 * 0 when [start, until) was read and matched, 1 on a mismatch (see seq->err), -errno on a
 * protocol or socket error, -ETIMEDOUT when until was not reached.
 */
int tb_consume_seq(int fd, const char *topic, int32_t partition, int64_t until, struct tb_seq *seq,
                   int max_fetches);

#endif
