/*
 * kp_consumer — the consumer protocol embedded in the group APIs (protocol type "consumer"):
 * ConsumerProtocolSubscription, the metadata a member offers in JoinGroup, and
 * ConsumerProtocolAssignment, what the leader hands each member through SyncGroup. Both are
 * opaque BYTES to the broker; clients (Java, librdkafka, kafkajs, libsplicelog) read each
 * other's.
 *
 * Layout (classic encoding, big-endian; apache/kafka clients/src/main/resources/common/message/
 * ConsumerProtocol{Subscription,Assignment}.json):
 *   Subscription  version int16, topics [STRING], user_data NULLABLE_BYTES,
 *                 owned_partitions [topic STRING, partitions [int32]] (v1+),
 *                 generation_id int32 (v2+), rack_id NULLABLE_STRING (v3+)
 *   Assignment    version int16, assigned_partitions [topic STRING, partitions [int32]],
 *                 user_data NULLABLE_BYTES (v1-3 add nothing)
 *
 * Contract: as kp_msg.h. Pure functions over caller memory; decoders take an arena for the
 * arrays and return views into the reader's buffer; every count is checked against the bytes
 * left before the arena is touched. Encoders write the version in the struct (0-3) and return
 * 0, -EINVAL (version outside 0-3, a bad view or count) or -ENOSPC. Decoders accept any version
 * >= 0: the fields of versions above 3 are not known here and their bytes are skipped, as Kafka
 * reads a newer member's metadata (for versions 0-3 the body must end where the reader ends);
 * they return 0, -EBADMSG (short, malformed, negative version) or -ENOMEM (arena).
 */
#ifndef SPLICELOG_KP_CONSUMER_H
#define SPLICELOG_KP_CONSUMER_H

#include <stdint.h>

#include "kp_buf.h"

#define KP_CONSUMER_PROTOCOL_MAX 3

struct kp_consumer_topic_parts {
    struct kp_str topic;
    int32_t n_partitions;
    const int32_t *partitions;
};

struct kp_consumer_subscription {
    int16_t version;
    int32_t n_topics;
    const struct kp_str *topics;
    struct kp_bytes user_data; /* nullable */
    int32_t n_owned;           /* v1+; 0 below */
    const struct kp_consumer_topic_parts *owned;
    int32_t generation_id; /* v2+; -1 below */
    struct kp_str rack_id; /* v3+, nullable; null below */
};

struct kp_consumer_assignment {
    int16_t version;
    int32_t n_topics;
    const struct kp_consumer_topic_parts *topics;
    struct kp_bytes user_data; /* nullable */
};

int kp_consumer_subscription_encode(struct kp_wr *wr, const struct kp_consumer_subscription *s);
int kp_consumer_subscription_decode(struct kp_rd *rd, struct kp_arena *arena,
                                    struct kp_consumer_subscription *out);
int kp_consumer_assignment_encode(struct kp_wr *wr, const struct kp_consumer_assignment *a);
int kp_consumer_assignment_decode(struct kp_rd *rd, struct kp_arena *arena,
                                  struct kp_consumer_assignment *out);

#endif
