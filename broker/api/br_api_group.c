/*
 * br_api_group — FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup: the wire side
 * of the group coordinator (br_group.h holds the state machine).
 *
 * FindCoordinator names this node, at the host and port of the listener the client connected
 * to (the address Metadata advertises on it): a single broker coordinates every group.
 * The same for key_type 1, transaction coordinators (v1+; br_api_txn.c), when the broker runs
 * one. In a cluster (docs/cluster.md, M4) a group's coordinator is the leader of its partition
 * of __consumer_offsets, which the first FindCoordinator creates (coordinator_of, fc_run), and
 * every group API answers NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS first where this
 * broker does not (yet) coordinate the group (br_api_coord_err, br_coload.h).
 *
 * JoinGroup and SyncGroup may wait for other members, whose requests arrive on other
 * connections, often on other loop threads. Such a request's response is parked until posted
 * (BR_WAIT_POST, br_ctx.h): a struct grp_job in the response's scratch memory, parked before
 * the request goes to br_group_*() (the connection outlives the park even when the client
 * goes away), and the group delivers its result through the waiter, on whichever thread
 * completes the phase (another member's request, the group timer, shutdown). The delivery
 * encodes the response into the parked slot right there — under the group mutex, while the
 * owning loop does not touch a parked slot — and posts it back to the owning loop, which
 * sends it, or, when the connection closed meanwhile, frees it with the connection. No loop
 * thread ever blocks on a group.
 *
 * Heartbeat and LeaveGroup never wait.
 *
 * Versions (Java 3.x's): FindCoordinator v4 answers each key of its batch; JoinGroup v7+ and
 * SyncGroup v5 report the protocol type and name (SyncGroup's as the member sent them: the
 * group agreed on them at the join); LeaveGroup v3+ removes each listed member and answers per
 * member. A group_instance_id (static membership, KIP-345: JoinGroup v5+, SyncGroup, Heartbeat
 * and LeaveGroup v3+) goes to the coordinator, which keeps static members as br_group.h says;
 * JoinGroup's member list and DescribeGroups show each member's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_api.h"
#include "kp_msg_sec.h"
#include "br_clu.h"
#include "br_coload.h"
#include "br_cotopic.h"
#include "br_txn.h"
#include "br_txtopic.h"
#include "br_group.h"
#include "br_log.h"
#include "kp_msg.h"

struct grp_job {
    struct br_ctx *x;
    const struct br_peer *peer;
    struct br_resp *r;
    struct br_group_waiter w;
    int rc; /* encoding the response: 0 or -errno */
    /* JoinGroup v7+ / SyncGroup v5+: echoed (copies in the scratch memory after the job) */
    struct kp_str protocol_type, protocol_name;
};

static struct grp_job *job_of(struct br_group_waiter *w)
{
    return (struct grp_job *)((char *)w - offsetof(struct grp_job, w));
}

/* Loop thread: the group answered (posted back); send it. */
static void job_wake(struct br_resp *r, enum br_wake why, void *arg)
{
    (void)why;
    struct grp_job *gj = arg;
    if (gj->rc < 0) {
        br_err("peer=%s: cannot build a %s response: %s", gj->peer->name, kp_api_name(r->api_key),
               strerror(-gj->rc));
        br_fail(gj->x, r, "cannot build a group response");
        return;
    }
    br_ready(gj->x, r);
}

/* Any thread, group mutex held: the answer is encoded; back to the owning loop. */
static void job_deliver(struct grp_job *gj) { gj->x->ops->post(gj->x, gj->r); }

/* Parks r (BR_WAIT_POST) before the group can answer: the job lives in its scratch memory. */
static struct grp_job *job_park(struct br_req *q, struct br_resp *r, struct kp_str type,
                                struct kp_str name)
{
    size_t tl = type.len > 0 ? (size_t)type.len : 0, nl = name.len > 0 ? (size_t)name.len : 0;
    if (br_resp_scratch(r, sizeof(struct grp_job) + tl + nl) < 0)
        return NULL;
    struct grp_job *gj = r->scratch;
    memset(gj, 0, sizeof(*gj));
    char *m = (char *)(gj + 1);
    if (tl)
        memcpy(m, type.ptr, tl);
    if (nl)
        memcpy(m + tl, name.ptr, nl);
    gj->protocol_type = type.len < 0 ? KP_STR_NULL : (struct kp_str){m, (int32_t)tl};
    gj->protocol_name = name.len < 0 ? KP_STR_NULL : (struct kp_str){m + tl, (int32_t)nl};
    gj->x = q->x;
    gj->peer = q->peer;
    gj->r = r;
    if (br_park(q->x, r, BR_WAIT_POST, INT64_MAX, job_wake, gj) < 0)
        return NULL;
    return gj;
}

/* ---- which groups this broker coordinates ------------------------------------------------ */

int16_t br_api_coord_err(struct br_ctx *x, struct kp_str group)
{
    if (!x->coload || group.len <= 0)
        return KP_ERR_NONE; /* a single node coordinates every group */
    return br_coload_check(x->coload, group.ptr, (size_t)group.len, NULL, NULL);
}

/* ---- FindCoordinator --------------------------------------------------------------------- */

/* READ on the group: what Kafka asks of JoinGroup, SyncGroup, Heartbeat, LeaveGroup and
 * OffsetCommit. */
static bool group_read_ok(struct br_req *q, struct kp_str group)
{
    return br_allowed(q, KP_ACL_RESOURCE_GROUP, group.ptr, (size_t)(group.len > 0 ? group.len : 0),
                      KP_ACL_OP_READ);
}

/* The coordinator of one key (key_type 0: a group, 1: a transactional id), as Kafka's
 * getCoordinator: DESCRIBE on the key's resource first, then the broker, or the reason there
 * is none. On a single node that is this node; in a cluster a group's is the leader of its
 * partition of __consumer_offsets (br_cotopic_partition_of), at its endpoint on the listener
 * the client is connected to, as Metadata names brokers: COORDINATOR_NOT_AVAILABLE while the
 * topic does not exist or the partition has no live leader (Kafka's answers). KP_ERR_NONE
 * with *out set, or the error code. */
static int16_t coordinator_of(struct br_req *q, int8_t key_type, struct kp_str key,
                              struct br_clu_node *out)
{
    if (key_type != 0 && key_type != 1)
        return KP_ERR_INVALID_REQUEST;
    int8_t kind = key_type == 1 ? KP_ACL_RESOURCE_TRANSACTIONAL_ID : KP_ACL_RESOURCE_GROUP;
    if (!br_allowed(q, kind, key.ptr, (size_t)(key.len > 0 ? key.len : 0), KP_ACL_OP_DESCRIBE))
        return key_type == 0 ? KP_ERR_GROUP_AUTHORIZATION_FAILED
                             : KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    if (key_type == 1 && !q->x->txns)
        return KP_ERR_COORDINATOR_NOT_AVAILABLE;
    struct br_ctx *x = q->x;
    int32_t id = x->cfg->node_id;
    if (x->clu) {
        /* a transactional id's: the leader of its partition of __transaction_state (the same
         * hash, br_txtopic.h) */
        const char *topic = key_type == 1 ? BR_TXTOPIC_NAME : BR_COTOPIC_NAME;
        size_t tlen = strlen(topic);
        int32_t np = br_clu_topic_partitions(x->clu, topic, tlen);
        struct br_clu_part cp;
        if (np <= 0 ||
            br_clu_partition(
                x->clu, topic, tlen,
                br_cotopic_partition_of(key.ptr, key.len > 0 ? (size_t)key.len : 0, np), &cp) < 0 ||
            cp.leader < 0)
            return KP_ERR_COORDINATOR_NOT_AVAILABLE;
        id = cp.leader;
        /* this broker, named by a view its coordinator has not heard of yet (the controller
         * writes its own decisions into the view at once): not available for a moment rather
         * than NOT_COORDINATOR at the next request */
        if (key_type == 0 && id == x->cfg->node_id && x->coload &&
            br_coload_check(x->coload, key.ptr, key.len > 0 ? (size_t)key.len : 0, NULL, NULL) ==
                KP_ERR_NOT_COORDINATOR)
            return KP_ERR_COORDINATOR_NOT_AVAILABLE;
        if (key_type == 1 && id == x->cfg->node_id &&
            br_txn_serves(x->txns, key) == KP_ERR_NOT_COORDINATOR)
            return KP_ERR_COORDINATOR_NOT_AVAILABLE; /* (the same for a transactional id) */
    }
    if (id != x->cfg->node_id)
        return br_clu_node(x->clu, q->peer->listener, id, out) == 0
                   ? KP_ERR_NONE
                   : KP_ERR_COORDINATOR_NOT_AVAILABLE;
    out->id = id;
    snprintf(out->host, sizeof out->host, "%s", q->peer->adv_host);
    out->port = q->peer->adv_port;
    return KP_ERR_NONE;
}

static struct kp_str coordinator_message(const struct br_req *q, int8_t key_type, int16_t err)
{
    return err == KP_ERR_COORDINATOR_NOT_AVAILABLE
               ? kp_str_of(key_type != 1 ? "the group's coordinator is not available"
                           : q->x->txns  ? "the transaction coordinator is not available"
                                         : "transactions are not supported")
           : err == KP_ERR_INVALID_REQUEST ? kp_str_of("unknown key_type")
                                           : KP_STR_NULL;
}

/* The answer to FindCoordinator for n keys (v4+: each answered; below: the one key). */
static int find_coordinator_answer(struct br_req *q, struct br_resp *r, int8_t key_type,
                                   const struct kp_str *keys, int32_t n)
{
    struct br_clu_node *nodes = calloc(n ? (size_t)n : 1, sizeof(*nodes));
    struct kp_find_coordinator_coordinator *cs = calloc(n ? (size_t)n : 1, sizeof(*cs));
    if (!nodes || !cs) {
        free(nodes);
        free(cs);
        return -ENOMEM;
    }
    for (int32_t i = 0; i < n; i++) {
        struct kp_find_coordinator_coordinator *c = &cs[i];
        *c = (struct kp_find_coordinator_coordinator){.key = keys[i],
                                                      .node_id = -1,
                                                      .host = kp_str_of(""),
                                                      .port = -1,
                                                      .error_message = KP_STR_NULL};
        c->error_code = coordinator_of(q, key_type, c->key, &nodes[i]);
        c->error_message = coordinator_message(q, key_type, c->error_code);
        if (c->error_code == KP_ERR_NONE) {
            c->node_id = nodes[i].id;
            c->host = kp_str_of(nodes[i].host);
            c->port = nodes[i].port;
            c->error_message = KP_STR_NULL;
        }
    }
    struct kp_find_coordinator_resp resp = {.throttle_time_ms = 0,
                                            .error_message = KP_STR_NULL,
                                            .node_id = -1,
                                            .host = kp_str_of(""),
                                            .port = -1};
    if (q->api_version >= 4) {
        resp.n_coordinators = n;
        resp.coordinators = cs;
    } else if (n == 1) {
        resp.error_code = cs[0].error_code;
        resp.node_id = cs[0].node_id;
        resp.host = cs[0].host;
        resp.port = cs[0].port;
        if (q->api_version >= 1)
            resp.error_message = cs[0].error_message;
    }
    int rc = BR_ENCODE(r, kp_find_coordinator_resp_encode, &resp);
    free(cs);
    free(nodes);
    return rc < 0 ? rc : BR_REPLY;
}

/*
 * In a cluster, the first FindCoordinator for a group creates __consumer_offsets, as Kafka's
 * does: through ZooKeeper like CreateTopics (offsets.topic.num.partitions partitions,
 * offsets.topic.replication.factor replicas, cleanup.policy=compact, segment.bytes =
 * offsets.topic.segment.bytes), on the admin thread, waiting at most FC_CREATE_WAIT_MS for
 * the partitions to be led; then the keys are answered (COORDINATOR_NOT_AVAILABLE when the
 * creation failed, e.g. fewer live brokers than the replication factor). The request's keys
 * are copied into the response's scratch memory.
 */
#define FC_CREATE_WAIT_MS 3000

struct fc_job {
    struct br_job job; /* first: the job is the start of the scratch memory */
    struct br_req q;   /* what the answer needs of the request: context, peer, version */
    int8_t key_type;
    int32_t n;
    struct kp_str *keys;
};

int br_api_create_offsets_topic(struct br_ctx *x)
{
    char segment[32], json[256];
    snprintf(segment, sizeof segment, "%lld", (long long)x->cfg->offsets_topic_segment_bytes);
    struct br_clu_kv kv[2] = {
        {"cleanup.policy", "compact", strlen("cleanup.policy"), strlen("compact")},
        {"segment.bytes", segment, strlen("segment.bytes"), strlen(segment)},
    };
    int jl = br_clu_json_config_enc(json, sizeof json, kv, 2);
    int rc = jl < 0 ? jl
                    : br_clu_create_topic(x->clu, BR_COTOPIC_NAME, x->cfg->offsets_topic_partitions,
                                          (int16_t)x->cfg->offsets_topic_replication_factor, NULL,
                                          json, FC_CREATE_WAIT_MS);
    if (rc == 0)
        br_info("created %s (%d partition(s), replication factor %d) for a FindCoordinator",
                BR_COTOPIC_NAME, (int)x->cfg->offsets_topic_partitions,
                (int)x->cfg->offsets_topic_replication_factor);
    else if (rc != -EEXIST)
        br_warn_limited("cannot create %s (replication factor %d): %s: FindCoordinator answers "
                        "COORDINATOR_NOT_AVAILABLE",
                        BR_COTOPIC_NAME, (int)x->cfg->offsets_topic_replication_factor,
                        rc == -EINVAL ? "fewer live brokers than offsets.topic.replication.factor"
                                      : strerror(-rc));
    return rc;
}

int br_api_create_txn_topic(struct br_ctx *x)
{
    char segment[32], isr[16], json[320];
    snprintf(segment, sizeof segment, "%lld", (long long)x->cfg->txn_topic_segment_bytes);
    snprintf(isr, sizeof isr, "%d", (int)x->cfg->txn_topic_min_isr);
    struct br_clu_kv kv[3] = {
        {"cleanup.policy", "compact", strlen("cleanup.policy"), strlen("compact")},
        {"min.insync.replicas", isr, strlen("min.insync.replicas"), strlen(isr)},
        {"segment.bytes", segment, strlen("segment.bytes"), strlen(segment)},
    };
    int jl = br_clu_json_config_enc(json, sizeof json, kv, 3);
    int16_t rf = (int16_t)x->cfg->txn_topic_replication_factor;
    int rc = jl < 0 ? jl
                    : br_clu_create_topic(x->clu, BR_TXTOPIC_NAME, x->cfg->txn_topic_partitions, rf,
                                          NULL, json, FC_CREATE_WAIT_MS);
    if (rc == 0)
        br_info("created %s (%d partition(s), replication factor %d) for a FindCoordinator",
                BR_TXTOPIC_NAME, (int)x->cfg->txn_topic_partitions, (int)rf);
    else if (rc != -EEXIST)
        br_warn_limited("cannot create %s (replication factor %d): %s: FindCoordinator answers "
                        "COORDINATOR_NOT_AVAILABLE",
                        BR_TXTOPIC_NAME, (int)rf,
                        rc == -EINVAL
                            ? "fewer live brokers than transaction.state.log.replication.factor"
                            : strerror(-rc));
    return rc;
}

static void fc_run(struct br_job *j)
{
    struct fc_job *fj = (struct fc_job *)j;
    (void)(fj->key_type == 1 ? br_api_create_txn_topic(j->x) : br_api_create_offsets_topic(j->x));
}

static void fc_done(struct br_job *j)
{
    struct fc_job *fj = (struct fc_job *)j;
    int rc = find_coordinator_answer(&fj->q, j->r, fj->key_type, fj->keys, fj->n);
    if (rc < 0) {
        br_fail(j->x, j->r, "cannot build a FindCoordinator response");
        return;
    }
    br_ready(j->x, j->r);
}

static int find_coordinator_create(struct br_req *q, struct br_resp *r, int8_t key_type,
                                   const struct kp_str *keys, int32_t n)
{
    size_t bytes = 0;
    for (int32_t i = 0; i < n; i++)
        bytes += keys[i].len > 0 ? (size_t)keys[i].len : 0;
    int rc = br_resp_scratch(r, br_align8(sizeof(struct fc_job)) +
                                    br_align8((size_t)n * sizeof(struct kp_str)) + bytes + 1);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct fc_job *fj = (struct fc_job *)m;
    memset(fj, 0, sizeof(*fj));
    m += br_align8(sizeof(*fj));
    fj->keys = (struct kp_str *)m;
    m += br_align8((size_t)n * sizeof(struct kp_str));
    for (int32_t i = 0; i < n; i++) {
        int32_t l = keys[i].len > 0 ? keys[i].len : 0;
        if (l)
            memcpy(m, keys[i].ptr, (size_t)l);
        fj->keys[i] = keys[i].len < 0 ? KP_STR_NULL : (struct kp_str){(const char *)m, l};
        m += l;
    }
    fj->q = *q;
    fj->q.rd = (struct kp_rd){0}; /* (the frame is gone by the time done runs) */
    fj->q.frame = NULL;
    fj->q.frame_len = 0;
    fj->q.client_id = kp_str_of("");
    fj->key_type = key_type;
    fj->n = n;
    fj->job.r = r;
    fj->job.run = fc_run;
    fj->job.done = fc_done;
    rc = br_admin(q->x, &fj->job);
    return rc < 0 ? rc : BR_REPLY;
}

int br_api_find_coordinator(struct br_req *q, struct br_resp *r)
{
    struct kp_find_coordinator_req req;
    int rc = BR_DECODE(q, kp_find_coordinator_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    const struct kp_str *keys = &req.key;
    int32_t n = 1;
    if (q->api_version >= 4) {
        keys = req.coordinator_keys;
        n = req.n_coordinator_keys > 0 ? req.n_coordinator_keys : 0;
    }
    if (q->x->clu && req.key_type == 0 && n > 0 &&
        br_clu_topic_partitions(q->x->clu, BR_COTOPIC_NAME, sizeof(BR_COTOPIC_NAME) - 1) < 0)
        return find_coordinator_create(q, r, req.key_type, keys, n);
    if (q->x->clu && q->x->txns && req.key_type == 1 && n > 0 &&
        br_clu_topic_partitions(q->x->clu, BR_TXTOPIC_NAME, BR_TXTOPIC_LEN) < 0)
        return find_coordinator_create(q, r, req.key_type, keys, n);
    return find_coordinator_answer(q, r, req.key_type, keys, n);
}

/* ---- JoinGroup --------------------------------------------------------------------------- */

/* Group mutex held, any thread. */
static void join_done(struct br_group_waiter *w, const struct br_group_join_result *res)
{
    struct grp_job *gj = job_of(w);
    struct br_resp *r = gj->r;
    struct kp_join_group_member *members = NULL;
    if (res->n_members > 0) {
        members = calloc((size_t)res->n_members, sizeof(*members));
        if (!members) {
            gj->rc = -ENOMEM;
            job_deliver(gj);
            return;
        }
        for (int32_t i = 0; i < res->n_members; i++)
            members[i] = (struct kp_join_group_member){
                .member_id = res->members[i].member_id,
                .group_instance_id = res->members[i].group_instance_id,
                .metadata = res->members[i].metadata,
            };
    }
    struct kp_join_group_resp resp = {
        .throttle_time_ms = 0,
        .error_code = res->error_code,
        .generation_id = res->generation_id,
        .protocol_name = res->protocol_name,
        .leader = res->leader_id,
        .member_id = res->member_id,
        .n_members = res->n_members,
        .members = members,
        .protocol_type = res->error_code ? KP_STR_NULL : gj->protocol_type,
    };
    gj->rc = BR_ENCODE(r, kp_join_group_resp_encode, &resp);
    free(members);
    job_deliver(gj);
}

int br_api_join_group(struct br_req *q, struct br_resp *r)
{
    struct kp_join_group_req req;
    int rc = BR_DECODE(q, kp_join_group_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    int16_t cerr = group_read_ok(q, req.group_id) ? br_api_coord_err(q->x, req.group_id)
                                                  : KP_ERR_GROUP_AUTHORIZATION_FAILED;
    if (cerr != KP_ERR_NONE) {
        struct kp_join_group_resp resp = {
            .error_code = cerr,
            .generation_id = -1,
            .protocol_name = kp_str_of(""),
            .leader = kp_str_of(""),
            .member_id = kp_str_of(""),
            .protocol_type = KP_STR_NULL,
        };
        rc = BR_ENCODE(r, kp_join_group_resp_encode, &resp);
        return rc < 0 ? rc : BR_REPLY;
    }
    struct br_group_protocol *protos = NULL;
    if (req.n_protocols > 0) {
        protos = calloc((size_t)req.n_protocols, sizeof(*protos));
        if (!protos)
            return -ENOMEM;
        for (int32_t i = 0; i < req.n_protocols; i++)
            protos[i] =
                (struct br_group_protocol){req.protocols[i].name, req.protocols[i].metadata};
    }
    /* the member's address as Kafka shows it: "/host" */
    char host[BR_GROUP_HOST_KEEP];
    const char *pn = q->peer->name, *colon = strrchr(pn, ':');
    int hl = colon ? (int)(colon - pn) : (int)strlen(pn);
    snprintf(host, sizeof host, "/%.*s", hl, pn);
    struct br_group_join_req gr = {
        .group_id = req.group_id,
        .client_host = host,
        .member_id = req.member_id.len > 0 ? req.member_id : kp_str_of(""),
        .group_instance_id = req.group_instance_id,
        .client_id = q->client_id,
        .require_known_member_id = q->api_version >= 4, /* KIP-394, as Kafka */
        .protocol_type = req.protocol_type,
        .session_timeout_ms = req.session_timeout_ms,
        .rebalance_timeout_ms = req.rebalance_timeout_ms,
        .n_protocols = req.n_protocols > 0 ? req.n_protocols : 0,
        .protocols = protos,
    };
    struct grp_job *gj = job_park(q, r, req.protocol_type, KP_STR_NULL);
    if (!gj) {
        free(protos);
        return -ENOMEM;
    }
    gj->w.join_done = join_done;
    br_group_join(q->x->groups, &gr, &gj->w);
    free(protos);
    return BR_REPLY;
}

/* ---- SyncGroup --------------------------------------------------------------------------- */

static void sync_done(struct br_group_waiter *w, const struct br_group_sync_result *res)
{
    struct grp_job *gj = job_of(w);
    struct br_resp *r = gj->r;
    struct kp_sync_group_resp resp = {
        .throttle_time_ms = 0,
        .error_code = res->error_code,
        .assignment = res->assignment,
        .protocol_type = res->error_code ? KP_STR_NULL : gj->protocol_type,
        .protocol_name = res->error_code ? KP_STR_NULL : gj->protocol_name,
    };
    gj->rc = BR_ENCODE(r, kp_sync_group_resp_encode, &resp);
    job_deliver(gj);
}

int br_api_sync_group(struct br_req *q, struct br_resp *r)
{
    struct kp_sync_group_req req;
    int rc = BR_DECODE(q, kp_sync_group_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    int16_t cerr = group_read_ok(q, req.group_id) ? br_api_coord_err(q->x, req.group_id)
                                                  : KP_ERR_GROUP_AUTHORIZATION_FAILED;
    if (cerr != KP_ERR_NONE) {
        struct kp_sync_group_resp resp = {.error_code = cerr};
        rc = BR_ENCODE(r, kp_sync_group_resp_encode, &resp);
        return rc < 0 ? rc : BR_REPLY;
    }
    struct br_group_assignment *as = NULL;
    if (req.n_assignments > 0) {
        as = calloc((size_t)req.n_assignments, sizeof(*as));
        if (!as)
            return -ENOMEM;
        for (int32_t i = 0; i < req.n_assignments; i++)
            as[i] = (struct br_group_assignment){req.assignments[i].member_id,
                                                 req.assignments[i].assignment};
    }
    struct br_group_sync_req gr = {
        .group_id = req.group_id,
        .generation_id = req.generation_id,
        .member_id = req.member_id,
        .group_instance_id = req.group_instance_id,
        .n_assignments = req.n_assignments > 0 ? req.n_assignments : 0,
        .assignments = as,
    };
    struct grp_job *gj = job_park(q, r, q->api_version >= 5 ? req.protocol_type : KP_STR_NULL,
                                  q->api_version >= 5 ? req.protocol_name : KP_STR_NULL);
    if (!gj) {
        free(as);
        return -ENOMEM;
    }
    gj->w.sync_done = sync_done;
    br_group_sync(q->x->groups, &gr, &gj->w);
    free(as);
    return BR_REPLY;
}

/* ---- Heartbeat, LeaveGroup --------------------------------------------------------------- */

int br_api_heartbeat(struct br_req *q, struct br_resp *r)
{
    struct kp_heartbeat_req req;
    int rc = BR_DECODE(q, kp_heartbeat_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    struct kp_heartbeat_resp resp = {
        .throttle_time_ms = 0,
        .error_code = !group_read_ok(q, req.group_id) ? KP_ERR_GROUP_AUTHORIZATION_FAILED
                      : br_api_coord_err(q->x, req.group_id) != KP_ERR_NONE
                          ? br_api_coord_err(q->x, req.group_id)
                          : br_group_heartbeat_inst(q->x->groups, req.group_id, req.generation_id,
                                                    req.member_id, req.group_instance_id),
    };
    rc = BR_ENCODE(r, kp_heartbeat_resp_encode, &resp);
    return rc < 0 ? rc : BR_REPLY;
}

/* LeaveGroup v3+: every listed member leaves, by instance id when it has one; errors per
 * member. */
static int leave_group_batch(struct br_req *q, struct br_resp *r,
                             const struct kp_leave_group_req *req)
{
    int32_t n = req->n_members > 0 ? req->n_members : 0;
    struct kp_leave_group_member_resp *ms = calloc(n ? (size_t)n : 1, sizeof(*ms));
    if (!ms)
        return -ENOMEM;
    for (int32_t i = 0; i < n; i++) {
        const struct kp_leave_group_member *m = &req->members[i];
        ms[i] = (struct kp_leave_group_member_resp){.member_id = m->member_id,
                                                    .group_instance_id = m->group_instance_id};
        ms[i].error_code = m->member_id.len > 0 || m->group_instance_id.len > 0
                               ? br_group_leave_inst(q->x->groups, req->group_id, m->member_id,
                                                     m->group_instance_id)
                               : KP_ERR_UNKNOWN_MEMBER_ID;
        if (ms[i].error_code == KP_ERR_NONE)
            br_info("peer=%s: member %s left group %s", q->peer->name, BR_LOG_KSTR(m->member_id),
                    BR_LOG_KSTR(req->group_id));
    }
    struct kp_leave_group_resp resp = {
        .throttle_time_ms = 0,
        .error_code = req->group_id.len > 0 ? KP_ERR_NONE : KP_ERR_INVALID_GROUP_ID,
        .n_members = n,
        .members = ms};
    int rc = BR_ENCODE(r, kp_leave_group_resp_encode, &resp);
    free(ms);
    return rc < 0 ? rc : BR_REPLY;
}

int br_api_leave_group(struct br_req *q, struct br_resp *r)
{
    struct kp_leave_group_req req;
    int rc = BR_DECODE(q, kp_leave_group_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    if (q->api_version >= 3) {
        int16_t cerr = group_read_ok(q, req.group_id) ? br_api_coord_err(q->x, req.group_id)
                                                      : KP_ERR_GROUP_AUTHORIZATION_FAILED;
        if (cerr != KP_ERR_NONE) {
            /* (Kafka's error response: the members are not answered one by one) */
            struct kp_leave_group_resp resp = {.error_code = cerr};
            rc = BR_ENCODE(r, kp_leave_group_resp_encode, &resp);
            return rc < 0 ? rc : BR_REPLY;
        }
        return leave_group_batch(q, r, &req);
    }
    struct kp_leave_group_resp resp = {
        .throttle_time_ms = 0,
        .error_code = !group_read_ok(q, req.group_id) ? KP_ERR_GROUP_AUTHORIZATION_FAILED
                      : br_api_coord_err(q->x, req.group_id) != KP_ERR_NONE
                          ? br_api_coord_err(q->x, req.group_id)
                          : br_group_leave(q->x->groups, req.group_id, req.member_id),
    };
    if (resp.error_code == KP_ERR_NONE)
        br_info("peer=%s client.id=%s: member %s left group %s", q->peer->name,
                BR_LOG_KSTR(q->client_id), BR_LOG_KSTR(req.member_id), BR_LOG_KSTR(req.group_id));
    rc = BR_ENCODE(r, kp_leave_group_resp_encode, &resp);
    return rc < 0 ? rc : BR_REPLY;
}
