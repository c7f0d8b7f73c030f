/*
 * sl_assign.h — the group leader's partition assignors (internal, not installed).
 *
 * Contract
 * - Pure functions over the caller's arrays: members (id, subscribed topics, the partitions
 *   each owns now) and topics (name, partition count) in; each member's assignment out, in
 *   a malloc'd array the caller frees (sl__assign_free). Every partition of a topic some
 *   member subscribes to goes to exactly one member that subscribes to it.
 * - Deterministic: the same input gives the same output whatever the order of the arrays
 *   (members are taken sorted by id, topics by name), so tests and other clients can predict.
 * - Errors: 0 or -ENOMEM (the outputs are then freed and empty).
 *
 * Assignors (the names offered in JoinGroup, as the Java client and librdkafka name them):
 * - "range": per topic, the partitions in order split into contiguous ranges over the
 *   members subscribed to it, the first (partitions % members) members getting one more.
 * - "roundrobin": every topic-partition (by topic name, then partition) dealt to the members
 *   in turn, a member not subscribed to the topic skipped.
 * - "cooperative-sticky": balanced (member loads differ by at most one where subscriptions
 *   allow) and sticky: a member keeps what it owns up to its share, the rest goes to the least
 *   loaded members. Cooperative (KIP-429): a partition whose owner is another member is left
 *   out of this round's assignment; its owner revokes it (it is not in its new assignment)
 *   and rejoins, and the next round gives it out. Members never lose a partition they keep.
 */
#ifndef SPLICELOG_SL_ASSIGN_H
#define SPLICELOG_SL_ASSIGN_H

#include <stdint.h>

struct sl__atp {
    const char *topic; /* points at the caller's topic name (sl__atopic.name) */
    int32_t partition;
};

struct sl__atopic {
    const char *name;
    int32_t n_partitions;
};

struct sl__amember {
    const char *id;
    int n_topics;
    const char *const *topics; /* subscribed topic names */
    int n_owned;
    const struct sl__atp *owned; /* cooperative-sticky: owned now (any topic pointers) */
    /* out */
    struct sl__atp *asg;
    int n_asg;
};

int sl__assign_range(struct sl__amember *m, int n, const struct sl__atopic *t, int nt);
int sl__assign_roundrobin(struct sl__amember *m, int n, const struct sl__atopic *t, int nt);
int sl__assign_cooperative_sticky(struct sl__amember *m, int n, const struct sl__atopic *t, int nt);
void sl__assign_free(struct sl__amember *m, int n);

#endif
