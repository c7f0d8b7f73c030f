/*
 * br_group_int — internals shared by the coordinator's files (not an API; br_group.h is).
 *
 * Contract
 * - br_group.c owns the groups, their members, the state machine and the timer thread;
 *   br_group_protocol.c owns a member's copy of the protocols it offered and the group's
 *   choice among them; br_group_pending.c a group's list of member ids handed out but not
 *   yet used (KIP-394). The heap of deadlines the timer thread visits is br_timer.h.
 * - Every function here runs with the coordinator's mutex held (br_group.c calls them); none
 *   blocks or calls back into br_group.c.
 * - Errors: 0 / -errno.
 */
#ifndef SPLICELOG_BR_GROUP_INT_H
#define SPLICELOG_BR_GROUP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "br_group.h"

/* One protocol a member offered: name and metadata copied from its JoinGroup. */
struct br_group__proto {
    char *name; /* NUL-terminated copy, name_len bytes before the NUL */
    int32_t name_len;
    uint8_t *meta;
    int32_t meta_len;
};

struct br_group__member {
    char *id;
    int32_t id_len;
    char *instance_id; /* KIP-345: the group_instance_id of a static member; NULL: dynamic */
    int32_t instance_id_len;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    int32_t n_protocols; /* 1..BR_GROUP_PROTOCOLS_MAX */
    struct br_group__proto *protocols;
    int64_t session_deadline;       /* last heartbeat + session timeout */
    struct br_group_waiter *join_w; /* a parked JoinGroup */
    struct br_group_waiter *sync_w; /* a parked SyncGroup */
    uint8_t *assignment;            /* from the leader's SyncGroup; NULL: none */
    int32_t assignment_len;
    int64_t acct;      /* bytes of protocols and assignment counted in br_groups.bytes */
    bool pending_sync; /* has its JoinGroup answer but sent no SyncGroup in this generation */
    /* DescribeGroups: the JoinGroup's client.id and peer address (truncated, NUL-terminated) */
    char client_id[BR_GROUP_CLIENT_KEEP];
    char client_host[BR_GROUP_HOST_KEEP];
};

/* ---- br_group_protocol.c ------------------------------------------------------------------ */

/* What the request's protocols cost in the coordinator's byte budget (names, metadata and
 * BR_GROUP_PROTOCOL_OVERHEAD each). */
int64_t br_group__protocols_bytes(const struct br_group_join_req *req);
/* Copies the request's protocols into m, replacing its old ones. 0 or -ENOMEM (m unchanged). */
int br_group__protocols_set(struct br_group__member *m, const struct br_group_join_req *req);
/* Frees m's protocols (n_protocols 0). */
void br_group__protocols_clear(struct br_group__member *m);
/* Whether the request offers exactly m's protocols, in the same order with the same metadata. */
bool br_group__protocols_same(const struct br_group__member *m,
                              const struct br_group_join_req *req);
/* m's protocol of that name, or NULL. */
const struct br_group__proto *br_group__protocol_find(const struct br_group__member *m,
                                                      const char *name, int32_t len);
/* Whether one of the request's protocols is offered by every member except self (which may
 * be NULL): a member offering them may join. True when there is no other member. */
bool br_group__protocols_acceptable(struct br_group__member *const *members, int32_t n,
                                    const struct br_group__member *self,
                                    const struct br_group_join_req *req);
/* The protocol of a new generation, as Kafka's GroupMetadata.selectProtocol: among those every
 * member offers, the one most members list first; ties go to the leader's order. NULL when no
 * protocol is common (the joins' checks prevent it). O(P^2 * M). */
const struct br_group__proto *br_group__protocol_choose(struct br_group__member *const *members,
                                                        int32_t n,
                                                        const struct br_group__member *leader);

/* ---- br_group_pending.c ------------------------------------------------------------------- */

/* A member id handed out with MEMBER_ID_REQUIRED (KIP-394) and not yet used to join. */
struct br_group__pending {
    char *id; /* NUL-terminated, id_len bytes before the NUL */
    int32_t id_len;
    int64_t deadline; /* when it is forgotten: the handout + the session timeout it asked for */
};

/* A group's pending member ids, oldest first (so the oldest is evicted at the cap). */
struct br_group__pendings {
    struct br_group__pending *v;
    int32_t n, cap;
};

/* Adds id (copied) with its deadline. 0 or -ENOMEM (p unchanged). */
int br_group__pending_add(struct br_group__pendings *p, const char *id, int32_t id_len,
                          int64_t deadline);
/* The index of id, or -1. */
int32_t br_group__pending_find(const struct br_group__pendings *p, struct kp_str id);
/* Removes the entry at index i, keeping the order of the others. */
void br_group__pending_remove(struct br_group__pendings *p, int32_t i);
/* The earliest deadline (INT64_MAX: none). */
int64_t br_group__pending_next(const struct br_group__pendings *p);
void br_group__pending_free(struct br_group__pendings *p);

#endif
