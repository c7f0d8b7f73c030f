/*
 * kp_msg_markers — WriteTxnMarkers (27): what a transaction coordinator sends to a partition's
 * leader to end a transaction there (KIP-98), broker to broker (apache/kafka
 * common/message/WriteTxnMarkers{Request,Response}.json). The codec speaks v0-1 (flexible from
 * v1); the broker advertises v1 alone, as Kafka 4.0 does (KIP-896 removed v0). v2 (Kafka 4.1+:
 * a TransactionVersion per marker, for KIP-890's transaction version 2) is not spoken.
 *
 * Contract: exactly kp_msg.h's (four functions per message, pure, caller-owned memory, arrays
 * in the arena, strings as views into the reader's buffer, -EINVAL for an unsupported version
 * or an unencodable field, -EBADMSG for a malformed or over-long body, -ENOMEM when the arena
 * is too small; unknown tagged fields skipped, empty tag buffers written).
 */
#ifndef SPLICELOG_KP_MSG_MARKERS_H
#define SPLICELOG_KP_MSG_MARKERS_H

#include <stdbool.h>
#include <stdint.h>

#include "kp_buf.h"

struct kp_write_txn_markers_topic {
    struct kp_str name;
    int32_t n_partitions;
    const int32_t *partitions; /* PartitionIndexes */
};

struct kp_write_txn_marker {
    int64_t producer_id;
    int16_t producer_epoch;
    bool transaction_result; /* true COMMIT, false ABORT */
    int32_t n_topics;
    const struct kp_write_txn_markers_topic *topics;
    int32_t coordinator_epoch; /* the coordinator's __transaction_state partition epoch */
};

struct kp_write_txn_markers_req {
    int32_t n_markers;
    const struct kp_write_txn_marker *markers;
};

struct kp_write_txn_markers_partition_result {
    int32_t partition_index;
    int16_t error_code;
};

struct kp_write_txn_markers_topic_result {
    struct kp_str name;
    int32_t n_partitions;
    const struct kp_write_txn_markers_partition_result *partitions;
};

struct kp_write_txn_marker_result {
    int64_t producer_id;
    int32_t n_topics;
    const struct kp_write_txn_markers_topic_result *topics;
};

struct kp_write_txn_markers_resp {
    int32_t n_markers;
    const struct kp_write_txn_marker_result *markers;
};

int kp_write_txn_markers_req_encode(struct kp_wr *wr, int16_t version,
                                    const struct kp_write_txn_markers_req *req);
int kp_write_txn_markers_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                    struct kp_write_txn_markers_req *out);
int kp_write_txn_markers_resp_encode(struct kp_wr *wr, int16_t version,
                                     const struct kp_write_txn_markers_resp *resp);
int kp_write_txn_markers_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                     struct kp_write_txn_markers_resp *out);

#endif
