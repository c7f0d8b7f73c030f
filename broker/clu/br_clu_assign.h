/*
 * br_clu_assign — where the replicas of a new partition go (issue 18): the controller's
 * choice for CreateTopics, CreatePartitions and auto-creation when the client names none.
 *
 * The live brokers come sorted by id, each with its broker.rack or none. Partition p's
 * preferred leader is the (start + p) % n-th broker of an order, and its further replicas
 * follow it in that order:
 *   - without racks (some broker has none, or all share one): the order is by id and the rf
 *     replicas are consecutive in it;
 *   - with racks (every broker has one, two or more distinct): Kafka's rack-alternated order —
 *     the racks by name, taken round robin, each giving its next broker by id (a1 b1 c1 a2 b2
 *     ...) — and each further replica is the next broker after the previous one (circularly)
 *     on a rack that holds no replica of p yet; once every rack holds one, the next broker
 *     without a replica. So rf <= number of racks puts every replica on its own rack, and the
 *     leaders go round the racks as they go round the brokers.
 * A cluster where only some brokers have a rack is assigned without racks, as if none had
 * one (Kafka's AdminZkClient would refuse the topic; splicelog logs it and goes on, so
 * auto-creation never fails on a half-configured rollout).
 *
 * Contract: pure (no lock, no I/O); it allocates one scratch array of n entries. 0, -EINVAL
 * (rf < 1, rf > n, rf > BR_CLU_RF_MAX, n < 1, count < 0) or -ENOMEM. *mixed (may be NULL) is
 * set when some brokers have a rack and others not.
 */
#ifndef SPLICELOG_BR_CLU_ASSIGN_H
#define SPLICELOG_BR_CLU_ASSIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "br_clu_json.h"

struct br_clu_assign_broker {
    int32_t id;
    const char *rack; /* NULL or "": none */
};

/* Replicas of partitions first .. first + count - 1 into out[0 .. count - 1]. */
int br_clu_assign(const struct br_clu_assign_broker *brokers, int n, uint32_t start, int32_t first,
                  int32_t count, int rf, struct br_clu_replicas *out, bool *mixed);

#endif
