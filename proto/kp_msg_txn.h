/*
 * kp_msg_txn — the transaction APIs' messages (KIP-98), client versions only:
 * AddPartitionsToTxn (24) v0-3, AddOffsetsToTxn (25) v0-3, EndTxn (26) v0-3, TxnOffsetCommit
 * (28) v0-3, each flexible from v3 (apache/kafka common/message/<Name>{Request,Response}.json).
 * AddPartitionsToTxn v4+ (batched, verify-only) is broker-to-broker and not spoken here.
 * InitProducerId (22) lives with the other producer messages (kp_msg.h).
 *
 * Contract: exactly kp_msg.h's (four functions per message, pure, caller-owned memory,
 * arrays in the arena, strings as views into the reader's buffer, -EINVAL for an unsupported
 * version or an unencodable field, -EBADMSG for a malformed or over-long body, -ENOMEM when
 * the arena is too small; unknown tagged fields skipped, empty tag buffers written).
 */
#ifndef SPLICELOG_KP_MSG_TXN_H
#define SPLICELOG_KP_MSG_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "kp_buf.h"

enum {
    KP_TXN_MSG_MAX_VERSION = 3, /* of the four APIs here */
    KP_TXN_MSG_FIRST_FLEXIBLE = 3,
};

/* ---- AddPartitionsToTxn (24), v0-3 ----------------------------------------------------------- */

struct kp_add_partitions_to_txn_topic {
    struct kp_str name;
    int32_t n_partitions;
    const int32_t *partitions;
};

struct kp_add_partitions_to_txn_req {
    struct kp_str transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t n_topics;
    const struct kp_add_partitions_to_txn_topic *topics;
};

struct kp_add_partitions_to_txn_partition_result {
    int32_t partition_index;
    int16_t error_code;
};

struct kp_add_partitions_to_txn_topic_result {
    struct kp_str name;
    int32_t n_results;
    const struct kp_add_partitions_to_txn_partition_result *results;
};

struct kp_add_partitions_to_txn_resp {
    int32_t throttle_time_ms;
    int32_t n_topics;
    const struct kp_add_partitions_to_txn_topic_result *topics;
};

int kp_add_partitions_to_txn_req_encode(struct kp_wr *wr, int16_t version,
                                        const struct kp_add_partitions_to_txn_req *req);
int kp_add_partitions_to_txn_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                        struct kp_add_partitions_to_txn_req *out);
int kp_add_partitions_to_txn_resp_encode(struct kp_wr *wr, int16_t version,
                                         const struct kp_add_partitions_to_txn_resp *resp);
int kp_add_partitions_to_txn_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                         struct kp_add_partitions_to_txn_resp *out);

/* ---- AddOffsetsToTxn (25), v0-3 -------------------------------------------------------------- */

struct kp_add_offsets_to_txn_req {
    struct kp_str transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    struct kp_str group_id;
};

struct kp_add_offsets_to_txn_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
};

int kp_add_offsets_to_txn_req_encode(struct kp_wr *wr, int16_t version,
                                     const struct kp_add_offsets_to_txn_req *req);
int kp_add_offsets_to_txn_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                     struct kp_add_offsets_to_txn_req *out);
int kp_add_offsets_to_txn_resp_encode(struct kp_wr *wr, int16_t version,
                                      const struct kp_add_offsets_to_txn_resp *resp);
int kp_add_offsets_to_txn_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                      struct kp_add_offsets_to_txn_resp *out);

/* ---- EndTxn (26), v0-3 ----------------------------------------------------------------------- */

struct kp_end_txn_req {
    struct kp_str transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    bool committed;
};

struct kp_end_txn_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
};

int kp_end_txn_req_encode(struct kp_wr *wr, int16_t version, const struct kp_end_txn_req *req);
int kp_end_txn_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                          struct kp_end_txn_req *out);
int kp_end_txn_resp_encode(struct kp_wr *wr, int16_t version, const struct kp_end_txn_resp *resp);
int kp_end_txn_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                           struct kp_end_txn_resp *out);

/* ---- TxnOffsetCommit (28), v0-3 -------------------------------------------------------------- */

struct kp_txn_offset_commit_req_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch;   /* v2+; -1 below */
    struct kp_str committed_metadata; /* nullable */
};

struct kp_txn_offset_commit_req_topic {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_txn_offset_commit_req_partition *partitions;
};

struct kp_txn_offset_commit_req {
    struct kp_str transactional_id;
    struct kp_str group_id;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t generation_id;           /* v3+; -1 below */
    struct kp_str member_id;         /* v3+; "" below */
    struct kp_str group_instance_id; /* v3+, nullable; null below */
    int32_t n_topics;
    const struct kp_txn_offset_commit_req_topic *topics;
};

struct kp_txn_offset_commit_resp_partition {
    int32_t partition_index;
    int16_t error_code;
};

struct kp_txn_offset_commit_resp_topic {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_txn_offset_commit_resp_partition *partitions;
};

struct kp_txn_offset_commit_resp {
    int32_t throttle_time_ms;
    int32_t n_topics;
    const struct kp_txn_offset_commit_resp_topic *topics;
};

int kp_txn_offset_commit_req_encode(struct kp_wr *wr, int16_t version,
                                    const struct kp_txn_offset_commit_req *req);
int kp_txn_offset_commit_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                    struct kp_txn_offset_commit_req *out);
int kp_txn_offset_commit_resp_encode(struct kp_wr *wr, int16_t version,
                                     const struct kp_txn_offset_commit_resp *resp);
int kp_txn_offset_commit_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                     struct kp_txn_offset_commit_resp *out);

#endif
