/*
 * br_api — what the API handlers share (one file per API family, br_api_*.c; the entry is
 * br_dispatch, br_ctx.h).
 *
 * Contract
 * - A handler gets the request (struct br_req: its context, its peer, the header fields, a
 *   bounds-checked reader over the body) and the response slot to fill. It returns BR_REPLY,
 *   BR_NO_REPLY or -errno as br_dispatch does, runs on the dispatching thread, and keeps no
 *   pointer into the request bytes after returning (a parked request copies what it needs into
 *   the response's scratch memory).
 * - Handlers reach the store, the offsets, the groups, the config, the clock and the host's
 *   operations through q->x (br_ctx.h) and nothing else.
 * - Wire errors are enum kp_err values; internal calls return 0 / -errno.
 */
#ifndef SPLICELOG_BR_API_H
#define SPLICELOG_BR_API_H

#include <stdbool.h>
#include <stdint.h>

#include "br_ctx.h"
#include "br_resp.h"
#include "kp_api.h"
#include "kp_buf.h"

struct br_req {
    struct br_ctx *x;
    const struct br_peer *peer;
    int16_t api_key;
    int16_t api_version;
    int32_t corr;
    struct kp_str client_id;
    struct kp_rd rd; /* the request body */
    uint8_t *frame;  /* the whole frame (after the size), mutable: produce rewrites it */
    size_t frame_len;
};

/* A decode arena for this request: attempt 0, 1, 2... gives a bigger one each time, bounded
 * by what the frame could possibly need; -ENOMEM past that. */
int br_req_arena(struct br_req *q, struct kp_arena *a, int attempt);
/* An encode arena of exactly cap bytes (reused per context); -ENOMEM. */
int br_enc_arena(struct br_ctx *x, struct kp_arena *a, size_t cap);
/* Logs a request that cannot be decoded (peer, API, version, reason). Returns rc. */
int br_req_bad(struct br_req *q, int rc);
/* n rounded up to a multiple of 8: lays out several arrays in one scratch block. */
static inline size_t br_align8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Decodes the request body with fn, growing the arena on -ENOMEM. Evaluates to 0 or -errno. */
#define BR_DECODE(q, fn, out)                                                                      \
    ({                                                                                             \
        struct kp_rd _save = (q)->rd;                                                              \
        struct kp_arena _a;                                                                        \
        int _rc;                                                                                   \
        for (int _i = 0;; _i++) {                                                                  \
            _rc = br_req_arena((q), &_a, _i);                                                      \
            if (_rc < 0)                                                                           \
                break;                                                                             \
            (q)->rd = _save;                                                                       \
            _rc = fn(&(q)->rd, (q)->api_version, &_a, (out));                                      \
            if (_rc != -ENOMEM)                                                                    \
                break;                                                                             \
        }                                                                                          \
        _rc;                                                                                       \
    })

/* Encodes a whole response (header + body from msg) into r, growing r's buffer on -ENOSPC,
 * and finishes the frame. Evaluates to 0 or -errno. */
#define BR_ENCODE(r, fn, msg)                                                                      \
    ({                                                                                             \
        int _rc;                                                                                   \
        for (;;) {                                                                                 \
            br_resp_begin(r);                                                                      \
            _rc = fn(&(r)->wr, (r)->api_version, (msg));                                           \
            if (_rc == 0)                                                                          \
                _rc = br_resp_finish(r);                                                           \
            if (_rc != -ENOSPC)                                                                    \
                break;                                                                             \
            if (br_resp_reserve((r), (r)->cap ? (r)->cap * 2 : 4096) < 0) {                        \
                _rc = -ENOMEM;                                                                     \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
        _rc;                                                                                       \
    })

/* Applies one topic config (Kafka's name and value) to c and marks it in *overrides
 * (st_topic_key bits): KP_ERR_NONE, or INVALID_CONFIG with *why (unknown key, bad value, a
 * value splicelog does not support). br_api_config.c; CreateTopics uses it too. */
int16_t br_topic_config_apply(struct st_log_config *c, uint32_t *overrides, struct kp_str name,
                              struct kp_str value, const char **why);

/* The store's defaults made the configuration file's (cfg->log) with the dynamic broker
 * configs of dyn over them (default level, then this broker's): what a topic key without an
 * override follows (st_store_set_defaults). br_api_config.c; the server calls it at start. */
int br_config_dyn_apply(struct st_store *store, const struct br_config *cfg,
                        struct br_dynconf *dyn);

/* The host's operations, spelled for handlers. */
static inline int br_park(struct br_ctx *x, struct br_resp *r, enum br_wait_on on,
                          int64_t deadline_ms, br_wake_fn wake, void *arg)
{
    return x->ops->park(x, r, on, deadline_ms, wake, arg);
}
static inline void br_unpark(struct br_ctx *x, struct br_resp *r) { x->ops->unpark(x, r); }
static inline void br_ready(struct br_ctx *x, struct br_resp *r) { x->ops->ready(x, r); }
static inline void br_fail(struct br_ctx *x, struct br_resp *r, const char *why)
{
    x->ops->fail(x, r, why);
}
static inline int64_t br_wall_ms_of(struct br_ctx *x) { return x->ops->wall_ms(x); }
/* Parks j->r until the admin thread has run j->run; j->done then runs here. */
static inline int br_admin(struct br_ctx *x, struct br_job *j)
{
    j->x = x;
    return x->ops->admin(x, j);
}

/*
 * Authorization (br_api_acl.c), Kafka's checks: may the request's principal do op (enum
 * kp_acl_operation) on the resource (enum kp_acl_resource_type, name)? Always true without an
 * authorizer. Cheap to repeat: a per-connection cache answers repeated questions. A handler
 * makes one call per resource it touches, where Kafka makes it, and answers Kafka's error code
 * (TOPIC_/GROUP_/CLUSTER_/TRANSACTIONAL_ID_AUTHORIZATION_FAILED) for what is refused.
 */
bool br_allowed(const struct br_req *q, int8_t type, const char *name, size_t len, int8_t op);
/* The same for the cluster (kafka-cluster). */
bool br_allowed_cluster(const struct br_req *q, int8_t op);
/* Kafka's authorizeByResourceType: op on some resource of that type. */
bool br_allowed_any(const struct br_req *q, int8_t type, int8_t op);
/* The same as br_allowed for code that runs after the request (a job's done, a wake): the
 * context and the peer (valid while the connection lives, br_ctx.h). */
bool br_allowed_peer(const struct br_ctx *x, const struct br_peer *peer, int8_t type,
                     const char *name, size_t len, int8_t op);
/* Kafka's authorizedOperations: the bit field (1 << enum kp_acl_operation) of the operations
 * the resource type supports that the principal may do on (type, name); every supported one
 * without an authorizer (the cluster's name is implied: name may be NULL). For the
 * authorized-operations fields of Metadata, DescribeCluster and DescribeGroups. */
int32_t br_authorized_ops(const struct br_ctx *x, const struct br_peer *peer, int8_t type,
                          const char *name, size_t len);
/* The cluster's authorized operations as Metadata (v8-10) and DescribeCluster report them: 0
 * without DESCRIBE on the cluster, else br_authorized_ops of the cluster. */
int32_t br_cluster_authorized_ops(const struct br_ctx *x, const struct br_peer *peer);
/* The brokers Metadata and DescribeCluster name to peer, and the controller: this broker alone
 * on a single node (in *self, *out = self: nothing allocated); in a cluster (x->clu) every live
 * broker with an endpoint on peer's listener, this one at peer's advertised address (listed
 * even while its registration is being renewed), by id, in memory of its own (*out != self:
 * free() it). Returns the count or -ENOMEM. */
struct br_clu_node;
/* A topic's partition count where it lives: the cluster's view (br_clu.h) in a cluster, except
 * internal topics, else the store; negative: none. */
int32_t br_api_topic_partitions(struct br_ctx *x, const char *name, size_t len);
/* In a cluster, what a Produce, Fetch or ListOffsets of the partition answers when this broker
 * does not lead it: NOT_LEADER_OR_FOLLOWER (another broker leads it, or none does), or
 * UNKNOWN_TOPIC_OR_PARTITION (the cluster has no such partition); 0 when this broker leads
 * it, always 0 on a single node and for internal topics. */
int16_t br_api_leader_err(struct br_ctx *x, const char *name, size_t len, int32_t partition);
/* In a cluster: creates __consumer_offsets through ZooKeeper with Kafka's settings for it
 * (br_api_group.c); 0 or br_clu_create_topic's errors. Not on a loop thread. */
int br_api_create_offsets_topic(struct br_ctx *x);
/* __transaction_state the same way (transaction.state.log.* keys; br_api_group.c). */
int br_api_create_txn_topic(struct br_ctx *x);
/* What a group API answers for group on this broker before anything else (after the ACL
 * check): KP_ERR_NONE on a single node and where this broker coordinates the group (leads its
 * __consumer_offsets partition, loaded), else NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS
 * (br_coload.h). An empty group id: KP_ERR_NONE (the API's own INVALID_GROUP_ID applies). */
int16_t br_api_coord_err(struct br_ctx *x, struct kp_str group);
int br_api_brokers(struct br_ctx *x, const struct br_peer *peer, struct br_clu_node *self,
                   struct br_clu_node **out, int32_t *controller_id);
/* Kafka's check for creating a topic: CREATE on the cluster, or on the topic. */
bool br_allowed_create_topic(const struct br_ctx *x, const struct br_peer *peer, const char *name,
                             size_t len);

/*
 * Quotas (br_api_quota.c). Dispatch brackets every handler with br_quota_begin (binds the
 * connection to its user and client id; the start of request_percentage's measure, 0 when no
 * such quota applies) and br_quota_end. A handler that measures bytes (Produce, Fetch) charges
 * them with br_quota_charge (the throttle time, 0 within the quota) and applies it with
 * br_resp_throttle (throttle_time_ms in the response where it is the first body field, and
 * the connection's mute, br_resp.throttle_ms). type is enum br_quota_type (br_quota.h).
 */
int64_t br_quota_begin(struct br_req *q);
void br_quota_end(struct br_req *q, struct br_resp *r, int64_t t0_ns, int rc);
int32_t br_quota_charge(struct br_ctx *x, const struct br_peer *peer, int type, double value);
void br_resp_throttle(struct br_resp *r, int32_t ms);

/* The handlers, one per SERVED row of KP_API_LIST (kp_api.h): br_api_<stem>. Each answers
 * every version the row advertises (Produce v0-2 too, refused in their own layout). */
#define BR__API_HANDLER(id, key, name, role, amin, amax, cmin, cmax, flex, stem)                   \
    KP_API_IF_SERVED(role, int br_api_##stem(struct br_req *q, struct br_resp *r);)
KP_API_LIST(BR__API_HANDLER)
#undef BR__API_HANDLER

#endif
