/*
 * br_api_meta — ApiVersions, Metadata, CreateTopics, DeleteTopics.
 *
 * ApiVersions: KP_API_LIST's advertised ranges (kp_api_advertised), exactly.
 *
 * Metadata: on a single node, this node is the only broker, leader and sole replica of every
 * partition; in a cluster (zookeeper.connect), the topics, leaders, replicas, ISR and offline
 * replicas are the cluster's view (br_clu.h; __consumer_offsets included, created with its own
 * settings by br_api_create_offsets_topic), and CreateTopics, auto-creation and DeleteTopics
 * go through ZooKeeper. This broker's address
 * is the one advertised to the connection the request came on (q->peer: the
 * listener's advertised.listeners entry, else its bound address, else — for a wildcard bind —
 * the local address of this very connection), so clients reconnect to something reachable.
 * A missing topic is created with num.partitions when the request allows it (v4 flag; always
 * for v0-3) and auto.create.topics.enable is on: on the admin thread (the response is parked
 * until it is done), at most AUTO_CREATE_PER_REQUEST per request, and answered error 0 once
 * created; the others are LEADER_NOT_AVAILABLE, which clients retry. An answer listing
 * META_ADMIN_PARTS partitions or more (100,000 partitions: 3.5 MB) is built on the admin
 * thread too, so that no loop thread stalls encoding it.
 *
 * From v10 every topic carries its id (st_topic_id), and from v12 a topic may be asked for by
 * id alone (an unknown id answers UNKNOWN_TOPIC_ID with a null name, as Kafka 3.x does; a null
 * name below v12 is a malformed request). Partitions report leader epoch 0 (v7+) and no
 * offline replicas; authorized operations (v8+) are INT32_MIN unless asked for, then what the
 * authorizer allows the principal (br_authorized_ops). With ACLs on, only topics the principal
 * may DESCRIBE are listed or answered (TOPIC_AUTHORIZATION_FAILED otherwise), and a missing
 * topic it may not CREATE is answered TOPIC_AUTHORIZATION_FAILED, not created.
 *
 * CreateTopics and DeleteTopics validate on the loop thread and create or delete on the
 * admin thread; a deleted topic's committed offsets go with it (br_offsets.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_api.h"
#include "br_clock.h"
#include "br_clu.h"
#include "kp_msg_sec.h"
#include "br_log.h"
#include "br_cotopic.h"
#include "br_txtopic.h"
#include "br_offsets.h"
#include "kp_msg.h"

#define NAME_MAX_LEN 249

/* ApiVersions: KP_API_LIST's advertised ranges, exactly (kp_api_advertised). */
int br_api_api_versions(struct br_req *q, struct br_resp *r)
{
    struct kp_api_versions_req req;
    int rc = BR_DECODE(q, kp_api_versions_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t n;
    const struct kp_api_range *all = kp_api_advertised(&n);
    struct kp_api_versions_resp resp = {.error_code = KP_ERR_NONE,
                                        .n_api_keys = (int32_t)n,
                                        .api_keys = all,
                                        .throttle_time_ms = 0};
    rc = BR_ENCODE(r, kp_api_versions_resp_encode, &resp);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- Metadata ------------------------------------------------------------------------- */

struct topic_list {
    struct kp_metadata_topic *t;
    int32_t n, cap;
    char *names; /* one allocation per name, freed with the list */
    bool oom;
};

static void collect(void *arg, const char *name, int32_t partitions)
{
    struct topic_list *tl = arg;
    if (tl->oom)
        return;
    if (tl->n == tl->cap) {
        int32_t ncap = tl->cap ? tl->cap * 2 : 16;
        struct kp_metadata_topic *nt = realloc(tl->t, sizeof(*nt) * (size_t)ncap);
        if (!nt) {
            tl->oom = true;
            return;
        }
        tl->t = nt;
        tl->cap = ncap;
    }
    char *copy = strdup(name);
    if (!copy) {
        tl->oom = true;
        return;
    }
    tl->t[tl->n++] = (struct kp_metadata_topic){
        .error_code = KP_ERR_NONE,
        .name = {copy, (int32_t)strlen(copy)},
        .n_partitions = partitions,
    };
}

static void count_parts(void *arg, const char *name, int32_t partitions)
{
    (void)name;
    *(int64_t *)arg += partitions;
}

static void topic_list_free(struct topic_list *tl)
{
    for (int32_t i = 0; i < tl->n; i++)
        free((void *)tl->t[i].name.ptr);
    free(tl->t);
}

/* ---- where a topic lives: the cluster's view, or this broker's store ---------------------- */

/* In a cluster (zookeeper.connect), a topic is what ZooKeeper says (br_clu.h), __consumer_offsets
 * included (docs/cluster.md, M4). */
static bool clustered(const struct br_ctx *x, const char *name, size_t len)
{
    (void)name;
    (void)len;
    return x->clu != NULL;
}

int32_t br_api_topic_partitions(struct br_ctx *x, const char *name, size_t len)
{
    return clustered(x, name, len) ? br_clu_topic_partitions(x->clu, name, len)
                                   : st_topic_partitions(x->store, name, len);
}

int16_t br_api_leader_err(struct br_ctx *x, const char *name, size_t len, int32_t partition)
{
    if (!clustered(x, name, len))
        return KP_ERR_NONE;
    int32_t id = br_clu_leader(x->clu, name, len, partition);
    return id == x->cfg->node_id ? KP_ERR_NONE
           : id == -ENOENT       ? KP_ERR_UNKNOWN_TOPIC_OR_PARTITION
                                 : KP_ERR_NOT_LEADER_OR_FOLLOWER;
}

struct each {
    void (*fn)(void *arg, const char *name, int32_t partitions);
    void *arg;
};

static int each_clustered(void *ctx, const char *name, int32_t partitions)
{
    struct each *e = ctx;
    e->fn(e->arg, name, partitions);
    return 0;
}

/* Every topic a Metadata request for all topics lists. */
static void topics_foreach(struct br_ctx *x,
                           void (*fn)(void *arg, const char *name, int32_t partitions), void *arg)
{
    if (!x->clu) {
        st_topic_foreach(x->store, fn, arg);
        return;
    }
    struct each e = {fn, arg};
    (void)br_clu_topics(x->clu, each_clustered, &e);
}

static struct kp_str cluster_id(const struct br_ctx *x)
{
    return kp_str_of(x->clu ? br_clu_cluster_id(x->clu) : "splicelog");
}

/* Copies a wire topic name to a C string; false when it cannot be a valid name. */
static bool name_cstr(struct kp_str s, char *buf)
{
    if (s.len <= 0 || s.len > NAME_MAX_LEN)
        return false;
    memcpy(buf, s.ptr, (size_t)s.len);
    buf[s.len] = 0;
    return true;
}

/* Answers that list at least this many partitions are built on the admin thread. */
#define META_ADMIN_PARTS 10000

static bool may_describe(struct br_ctx *x, const struct br_peer *peer, struct kp_str name)
{
    return br_allowed_peer(x, peer, KP_ACL_RESOURCE_TOPIC, name.ptr,
                           (size_t)(name.len > 0 ? name.len : 0), KP_ACL_OP_DESCRIBE);
}

/* What a Metadata request asked for besides topics (v8+). */
struct md_flags {
    bool topic_ops, cluster_ops;
};

static bool uuid_zero(const struct kp_uuid *u)
{
    for (size_t i = 0; i < sizeof(u->b); i++)
        if (u->b[i])
            return false;
    return true;
}

int br_api_brokers(struct br_ctx *x, const struct br_peer *peer, struct br_clu_node *self,
                   struct br_clu_node **out, int32_t *controller_id)
{
    int n = 0;
    struct br_clu_node *v = self;
    *controller_id = x->cfg->node_id;
    if (x->clu) {
        *controller_id = br_clu_controller(x->clu, NULL);
        /* the view may grow between counting and copying: copy until it fits */
        int have = br_clu_nodes(x->clu, peer->listener, NULL, 0);
        for (;;) {
            v = malloc((size_t)(have + 1) * sizeof(*v)); /* +1: this broker, registered or not */
            if (!v)
                return -ENOMEM;
            int now = br_clu_nodes(x->clu, peer->listener, v, have);
            if (now <= have) {
                n = now;
                break;
            }
            free(v);
            have = now;
        }
    }
    int i = 0;
    while (i < n && v[i].id < x->cfg->node_id)
        i++;
    if (i == n || v[i].id != x->cfg->node_id) {
        memmove(&v[i + 1], &v[i], (size_t)(n - i) * sizeof(*v));
        n++;
    }
    v[i].id = x->cfg->node_id;
    snprintf(v[i].host, sizeof v[i].host, "%s", peer->adv_host);
    v[i].port = peer->adv_port;
    snprintf(v[i].rack, sizeof v[i].rack, "%s", x->cfg->rack);
    *out = v;
    return n;
}

/* A clustered topic's partitions as the cluster's view has them: no leader is
 * LEADER_NOT_AVAILABLE with leader -1 (Kafka's answer for an offline partition); a partition
 * the view lost since the topic was listed, the same with no replicas. */
static int cluster_partitions(struct br_ctx *x, const struct kp_metadata_topic *t,
                              struct kp_metadata_partition *ps, struct kp_arena *a)
{
    for (int32_t p = 0; p < t->n_partitions; p++) {
        struct br_clu_part cp;
        if (br_clu_partition(x->clu, t->name.ptr, (size_t)t->name.len, p, &cp) < 0)
            memset(&cp, 0, sizeof cp), cp.leader = -1;
        int32_t n = cp.replicas.n + cp.isr.n + cp.offline.n;
        int32_t *ids = kp_arena_alloc(a, (size_t)(n ? n : 1), sizeof(int32_t));
        if (!ids)
            return -ENOMEM;
        memcpy(ids, cp.replicas.id, (size_t)cp.replicas.n * sizeof(int32_t));
        memcpy(ids + cp.replicas.n, cp.isr.id, (size_t)cp.isr.n * sizeof(int32_t));
        memcpy(ids + cp.replicas.n + cp.isr.n, cp.offline.id,
               (size_t)cp.offline.n * sizeof(int32_t));
        ps[p] = (struct kp_metadata_partition){
            .error_code = cp.leader < 0 ? KP_ERR_LEADER_NOT_AVAILABLE : KP_ERR_NONE,
            .partition_index = p,
            .leader_id = cp.leader,
            .n_replicas = cp.replicas.n,
            .replicas = ids,
            .n_isr = cp.isr.n,
            .isr = ids + cp.replicas.n,
            .leader_epoch = cp.leader_epoch,
            .n_offline_replicas = cp.offline.n,
            .offline_replicas = ids + cp.replicas.n + cp.isr.n,
        };
    }
    return 0;
}

/* Builds the Metadata response for the named topics (or all); topics that do not exist get
 * errs[i] when given and non-zero, else UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION
 * for an invalid name), and UNKNOWN_TOPIC_ID with ids[i] for an id that named none. Creates
 * nothing. off_loop: on the admin thread (the partition arrays then go to memory of its own,
 * not the context's encoding arena). */
static int metadata_build(struct br_ctx *x, const struct br_peer *peer, struct br_resp *r,
                          const struct kp_str *names, int32_t n, bool all, const int16_t *errs,
                          const struct kp_uuid *ids, struct md_flags fl, bool off_loop)
{
    int rc = 0;
    struct topic_list tl = {0};
    if (all) {
        topics_foreach(x, collect, &tl);
        /* only the topics the principal may DESCRIBE are listed (Kafka) */
        int32_t kept = 0;
        for (int32_t i = 0; i < tl.n; i++) {
            if (may_describe(x, peer, tl.t[i].name))
                tl.t[kept++] = tl.t[i];
            else
                free((void *)tl.t[i].name.ptr);
        }
        tl.n = kept;
    } else {
        tl.cap = n > 0 ? n : 1;
        tl.t = calloc((size_t)tl.cap, sizeof(*tl.t));
        if (!tl.t)
            return -ENOMEM;
        for (int32_t i = 0; i < n; i++) {
            struct kp_str name = names[i];
            struct kp_metadata_topic *t = &tl.t[tl.n++];
            *t = (struct kp_metadata_topic){.name = name};
            if (errs && errs[i] == KP_ERR_UNKNOWN_TOPIC_ID) {
                t->error_code = errs[i];
                t->topic_id = ids[i];
                continue;
            }
            if (!may_describe(x, peer, name)) {
                /* (asked for by id: answered with the id, the name null, as Kafka does) */
                t->error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
                if (ids && !uuid_zero(&ids[i])) {
                    t->name = KP_STR_NULL;
                    t->topic_id = ids[i];
                }
                continue;
            }
            int32_t np = br_api_topic_partitions(x, name.ptr, name.len > 0 ? (size_t)name.len : 0);
            if (np >= 0) {
                t->n_partitions = np;
                continue;
            }
            char cname[NAME_MAX_LEN + 1];
            if (!name_cstr(name, cname) || !st_topic_name_valid(cname, strlen(cname)))
                t->error_code = KP_ERR_INVALID_TOPIC_EXCEPTION;
            else if (errs && errs[i])
                t->error_code = errs[i];
            else
                t->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    if (tl.oom) {
        topic_list_free(&tl);
        return -ENOMEM;
    }

    /* Partition arrays: a single node leads every partition alone; a cluster says who leads,
     * replicas, ISR and offline replicas of each (one array of ids per partition for the
     * three). */
    size_t nparts = 0;
    for (int32_t i = 0; i < tl.n; i++)
        nparts += tl.t[i].error_code ? 0 : (size_t)tl.t[i].n_partitions;
    struct kp_arena a;
    /* One partition array per topic. */
    size_t need = kp_arena_need((size_t)tl.n, nparts * sizeof(struct kp_metadata_partition));
    if (x->clu)
        need = kp_arena_need((size_t)tl.n + nparts, nparts * (sizeof(struct kp_metadata_partition) +
                                                              3 * BR_CLU_RF_MAX * sizeof(int32_t)));
    void *own = NULL;
    if (!off_loop)
        rc = br_enc_arena(x, &a, need);
    else if ((own = malloc(need ? need : 1)) != NULL)
        kp_arena_init(&a, own, need);
    else
        rc = -ENOMEM;
    if (rc < 0) {
        if (all)
            topic_list_free(&tl);
        else
            free(tl.t);
        return rc;
    }
    static __thread int32_t me[1];
    me[0] = x->cfg->node_id;
    for (int32_t i = 0; i < tl.n; i++) {
        struct kp_metadata_topic *t = &tl.t[i];
        /* v8+, when asked: what the principal may do to each topic it may describe (not to
         * one refused, nor an unknown id), from the authorizer as Kafka computes it */
        t->topic_authorized_operations = INT32_MIN;
        if (fl.topic_ops && t->error_code != KP_ERR_TOPIC_AUTHORIZATION_FAILED &&
            t->error_code != KP_ERR_UNKNOWN_TOPIC_ID)
            t->topic_authorized_operations =
                br_authorized_ops(x, peer, KP_ACL_RESOURCE_TOPIC, t->name.ptr,
                                  (size_t)(t->name.len > 0 ? t->name.len : 0));
        if (t->error_code) {
            t->n_partitions = 0;
            t->partitions = NULL;
            continue;
        }
        if (clustered(x, t->name.ptr, (size_t)t->name.len)) /* the same from every broker */
            (void)br_clu_topic_id(x->clu, t->name.ptr, (size_t)t->name.len, t->topic_id.b);
        else
            (void)st_topic_id(x->store, t->name.ptr, (size_t)t->name.len, t->topic_id.b);
        t->is_internal = br_cotopic_internal(t->name.ptr, (size_t)t->name.len) ||
                         br_txtopic_is(t->name.ptr, (size_t)t->name.len);
        struct kp_metadata_partition *ps = kp_arena_alloc(&a, (size_t)t->n_partitions, sizeof(*ps));
        if (!ps && t->n_partitions > 0) {
            rc = -ENOMEM;
            break;
        }
        if (clustered(x, t->name.ptr, (size_t)t->name.len)) {
            rc = cluster_partitions(x, t, ps, &a);
            if (rc < 0)
                break;
            t->partitions = ps;
            continue;
        }
        for (int32_t p = 0; p < t->n_partitions; p++)
            ps[p] = (struct kp_metadata_partition){
                .error_code = KP_ERR_NONE,
                .partition_index = p,
                .leader_id = me[0],
                .n_replicas = 1,
                .replicas = me,
                .n_isr = 1,
                .isr = me,
                .leader_epoch = 0,
            };
        t->partitions = ps;
    }
    struct br_clu_node self, *nodes = &self;
    struct kp_metadata_broker self_b, *bs = &self_b;
    int32_t controller_id = -1;
    int nb = 0;
    if (rc == 0) {
        /* the brokers: this one alone, or the cluster's live ones (partitions stay this
         * broker's in milestone M1, docs/cluster.md) */
        nb = br_api_brokers(x, peer, &self, &nodes, &controller_id);
        if (nb < 0)
            rc = nb;
        else if (nodes != &self && !(bs = calloc((size_t)nb, sizeof(*bs))))
            rc = -ENOMEM;
        for (int i = 0; rc == 0 && i < nb; i++)
            bs[i] = (struct kp_metadata_broker){.node_id = nodes[i].id,
                                                .host = kp_str_of(nodes[i].host),
                                                .port = nodes[i].port,
                                                .rack = nodes[i].rack[0] ? kp_str_of(nodes[i].rack)
                                                                         : KP_STR_NULL};
    }
    if (rc == 0) {
        struct kp_metadata_resp resp = {
            .throttle_time_ms = 0,
            .n_brokers = nb,
            .brokers = bs,
            .cluster_id = cluster_id(x),
            .controller_id = controller_id,
            .n_topics = tl.n,
            .topics = tl.t,
            .cluster_authorized_operations = INT32_MIN,
        };
        /* v8-10, when asked: 0 without DESCRIBE on the cluster (Kafka) */
        if (fl.cluster_ops)
            resp.cluster_authorized_operations = br_cluster_authorized_ops(x, peer);
        rc = BR_ENCODE(r, kp_metadata_resp_encode, &resp);
    }
    if (bs != &self_b)
        free(bs);
    if (nodes != &self)
        free(nodes);
    free(own);
    if (all)
        topic_list_free(&tl);
    else
        free(tl.t);
    return rc < 0 ? rc : BR_REPLY;
}

/*
 * Auto-creation. Creating a topic costs directories and files, so a Metadata request naming
 * thousands of new topics must not hold anyone up: at most AUTO_CREATE_PER_REQUEST missing
 * topics are created per request, on the admin thread; the others are answered
 * LEADER_NOT_AVAILABLE, Kafka's "being created" code, which clients retry (and the retry
 * creates the next ones).
 */
#define AUTO_CREATE_PER_REQUEST 64
/* In a cluster: how long the answer waits for the controller to elect the new leaders. */
#define AUTO_CREATE_WAIT_MS 5000

struct md_job {
    struct br_job job; /* first: the job is the start of the scratch memory */
    int rc;            /* of the answer built on the admin thread */
    int32_t n;
    bool all;
    struct kp_str *names; /* copies, NUL-terminated, in the scratch memory (null names kept) */
    int16_t *errs;        /* per topic: error when it does not exist afterwards */
    struct kp_uuid *ids;  /* per topic: the id asked for (v10+), for UNKNOWN_TOPIC_ID */
    bool *create;
    int32_t partitions;
    const struct br_peer *peer; /* its advertised address goes into the answer */
    struct md_flags fl;
};

static void md_run(struct br_job *j)
{
    struct md_job *mj = (struct md_job *)j;
    struct br_ctx *x = j->x;
    for (int32_t i = 0; i < mj->n; i++) {
        if (!mj->create[i])
            continue;
        const char *name = mj->names[i].ptr;
        /* __consumer_offsets with its own settings, as Kafka creates it (br_cotopic.h) */
        bool internal = br_cotopic_internal(name, strlen(name));
        /* __transaction_state too, in a cluster (br_txtopic.h) */
        bool txtopic = x->clu && br_txtopic_is(name, strlen(name));
        int crc = txtopic              ? br_api_create_txn_topic(x)
                  : internal && x->clu ? br_api_create_offsets_topic(x)
                  : internal ? br_cotopic_create(x->store, x->cfg->offsets_topic_partitions,
                                                 x->cfg->offsets_topic_segment_bytes)
                  : x->clu   ? br_clu_create_topic(x->clu, name, mj->partitions,
                                                   (int16_t)x->cfg->default_replication_factor, NULL,
                                                   NULL, AUTO_CREATE_WAIT_MS)
                             : st_topic_create(x->store, name, mj->partitions, NULL);
        if (crc == 0) {
            br_info("auto-created topic %s with %d partition(s) (Metadata from peer=%s)",
                    br_log_cstr(name).s, mj->partitions, mj->peer->name);
        } else if (crc != -EEXIST) {
            br_warn("cannot auto-create topic %s: %s", br_log_cstr(name).s, strerror(-crc));
            /* in a cluster -EINVAL is a default.replication.factor above the live brokers:
             * Kafka's ZooKeeper-mode auto-creation answers CreateTopics' own error then
             * (INVALID_REPLICATION_FACTOR); a single node's is a name it cannot take */
            mj->errs[i] = crc != -EINVAL        ? KP_ERR_UNKNOWN_SERVER_ERROR
                          : x->clu && !internal ? KP_ERR_INVALID_REPLICATION_FACTOR
                                                : KP_ERR_INVALID_TOPIC_EXCEPTION;
        }
    }
    /* the answer too, here (the response is this job's until done runs): the loop thread
     * only sends it */
    mj->rc = metadata_build(x, mj->peer, j->r, mj->names, mj->n, mj->all, mj->errs, mj->ids, mj->fl,
                            true);
}

static void md_done(struct br_job *j)
{
    struct md_job *mj = (struct md_job *)j;
    struct br_resp *r = j->r;
    int rc = mj->rc;
    if (rc < 0) {
        br_err("peer=%s: cannot build a Metadata response: %s", mj->peer->name, strerror(-rc));
        br_fail(j->x, r, "cannot build a Metadata response");
        return;
    }
    br_ready(j->x, r);
}

/*
 * Hands a Metadata answer to the admin thread: the missing topics to create (may_create; at
 * most AUTO_CREATE_PER_REQUEST, the rest LEADER_NOT_AVAILABLE) and the answer, however many
 * partitions it lists. names[0, n) (errs and ids, when given, per name) are copied into the
 * response's scratch memory: the request's bytes need not outlive the call.
 */
static int md_submit(struct br_req *q, struct br_resp *r, const struct kp_str *names, int32_t nt,
                     bool all, const int16_t *errs, const struct kp_uuid *ids, struct md_flags fl,
                     bool may_create, int32_t missing)
{
    struct br_ctx *x = q->x;
    size_t n = (size_t)nt;
    size_t nbytes = 0;
    for (int32_t i = 0; i < nt; i++)
        nbytes += (size_t)(names[i].len > 0 ? names[i].len : 0) + 1;
    size_t need = br_align8(sizeof(struct md_job)) + br_align8(n * sizeof(struct kp_str)) +
                  br_align8(n * sizeof(int16_t)) + br_align8(n * sizeof(bool)) +
                  (ids ? br_align8(n * sizeof(struct kp_uuid)) : 0) + nbytes;
    int rc = br_resp_scratch(r, need);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct md_job *mj = (struct md_job *)m;
    memset(mj, 0, sizeof(*mj));
    m += br_align8(sizeof(*mj));
    mj->names = (struct kp_str *)m;
    m += br_align8(n * sizeof(struct kp_str));
    mj->errs = (int16_t *)m;
    m += br_align8(n * sizeof(int16_t));
    mj->create = (bool *)m;
    m += br_align8(n * sizeof(bool));
    if (ids) {
        mj->ids = (struct kp_uuid *)m;
        memcpy(mj->ids, ids, n * sizeof(struct kp_uuid));
        m += br_align8(n * sizeof(struct kp_uuid));
    }
    char *nb = (char *)m;
    mj->n = nt;
    mj->all = all;
    mj->partitions = x->cfg->num_partitions;
    mj->peer = q->peer;
    mj->fl = fl;
    int32_t chosen = 0;
    for (int32_t i = 0; i < mj->n; i++) {
        struct kp_str name = names[i];
        int32_t nl = name.len > 0 ? name.len : 0;
        if (nl)
            memcpy(nb, name.ptr, (size_t)nl);
        nb[nl] = 0;
        mj->names[i] = name.len < 0 ? KP_STR_NULL : (struct kp_str){nb, name.len};
        mj->errs[i] = errs ? errs[i] : 0;
        mj->create[i] = false;
        if (may_create && nl > 0 && nl <= NAME_MAX_LEN && !memchr(nb, 0, (size_t)nl) &&
            st_topic_name_valid(nb, (size_t)nl) && br_api_topic_partitions(x, nb, (size_t)nl) < 0) {
            if (!br_allowed_create_topic(x, q->peer, nb, (size_t)nl)) {
                mj->errs[i] = KP_ERR_TOPIC_AUTHORIZATION_FAILED; /* Kafka's answer */
            } else if (chosen < AUTO_CREATE_PER_REQUEST) {
                mj->create[i] = true;
                chosen++;
            } else {
                mj->errs[i] = KP_ERR_LEADER_NOT_AVAILABLE; /* created by a later request */
            }
        }
        nb += nl + 1;
    }
    if (missing > AUTO_CREATE_PER_REQUEST)
        br_info("peer=%s client.id=%s: Metadata names %d missing topics: creating %d now, the "
                "rest answer LEADER_NOT_AVAILABLE until a retry creates them",
                q->peer->name, BR_LOG_KSTR(q->client_id), missing, AUTO_CREATE_PER_REQUEST);
    mj->job.r = r;
    mj->job.run = md_run;
    mj->job.done = md_done;
    rc = br_admin(x, &mj->job);
    return rc < 0 ? rc : BR_REPLY;
}

/* Topics asked for by id (v10+; an entry with a name goes by its name): no creation. A big
 * answer goes to the admin thread like any other. */
static int metadata_by_id(struct br_req *q, struct br_resp *r, const struct kp_metadata_req *req,
                          struct md_flags fl)
{
    size_t n = req->n_topics > 0 ? (size_t)req->n_topics : 0;
    struct kp_str *names = calloc(n ? n : 1, sizeof(*names) + sizeof(int16_t) + NAME_MAX_LEN + 1);
    if (!names)
        return -ENOMEM;
    int16_t *errs = (int16_t *)(names + n);
    char *buf = (char *)(errs + n);
    int64_t nparts = 0; /* partitions the answer lists */
    for (size_t i = 0; i < n; i++) {
        names[i] = req->topics[i];
        if (names[i].len < 0 && !uuid_zero(&req->topic_ids[i])) {
            if (q->api_version < 12) { /* names are not nullable below v12 */
                free(names);
                return br_req_bad(q, -EBADMSG);
            }
            char *nb = buf + i * (NAME_MAX_LEN + 1);
            if ((q->x->clu &&
                 br_clu_topic_by_id(q->x->clu, req->topic_ids[i].b, nb, NAME_MAX_LEN + 1) == 0) ||
                st_topic_by_id(q->x->store, req->topic_ids[i].b, nb, NAME_MAX_LEN + 1) == 0) {
                names[i] = (struct kp_str){nb, (int32_t)strlen(nb)};
            } else {
                names[i] = KP_STR_NULL;
                errs[i] = KP_ERR_UNKNOWN_TOPIC_ID;
                continue;
            }
        }
        int32_t np = names[i].len > 0
                         ? br_api_topic_partitions(q->x, names[i].ptr, (size_t)names[i].len)
                         : 0;
        nparts += np > 0 ? np : 0;
    }
    int rc;
    if (nparts < META_ADMIN_PARTS) {
        rc = metadata_build(q->x, q->peer, r, names, (int32_t)n, false, errs, req->topic_ids, fl,
                            false);
        if (rc >= 0) /* an unknown id is answered with it */
            rc = BR_REPLY;
    } else {
        rc = md_submit(q, r, names, (int32_t)n, false, errs, req->topic_ids, fl, false, 0);
    }
    free(names);
    return rc;
}

int br_api_metadata(struct br_req *q, struct br_resp *r)
{
    struct br_ctx *x = q->x;
    struct kp_metadata_req req;
    int rc = BR_DECODE(q, kp_metadata_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    bool all = kp_metadata_req_all_topics(&req, q->api_version);
    struct md_flags fl = {.topic_ops = req.include_topic_authorized_operations,
                          .cluster_ops = req.include_cluster_authorized_operations};
    bool by_id = false; /* v10+: an entry with a null name asks by topic id */
    for (int32_t i = 0; !all && req.topic_ids && i < req.n_topics; i++)
        by_id |= req.topics[i].len < 0;
    if (by_id)
        return metadata_by_id(q, r, &req, fl);
    bool may_create = !all && req.allow_auto_topic_creation && x->cfg->auto_create_topics;
    int32_t missing = 0;
    int32_t denied = 0;
    int64_t nparts = 0; /* partitions the answer lists */
    if (all)
        topics_foreach(x, count_parts, &nparts);
    for (int32_t i = 0; !all && i < req.n_topics; i++) {
        struct kp_str name = req.topics[i];
        char cname[NAME_MAX_LEN + 1];
        int32_t np = name_cstr(name, cname) && st_topic_name_valid(cname, strlen(cname))
                         ? br_api_topic_partitions(x, name.ptr, (size_t)name.len)
                         : 0;
        if (np > 0)
            nparts += np;
        else if (np < 0 && may_create &&
                 br_allowed_create_topic(x, q->peer, name.ptr, (size_t)name.len))
            missing++;
        else if (np < 0 && may_create)
            denied++; /* missing, and the principal may not create it */
    }
    if (missing == 0 && denied == 0 && nparts < META_ADMIN_PARTS) {
        rc = metadata_build(x, q->peer, r, req.topics, req.n_topics, all, NULL, NULL, fl, false);
        return rc < 0 ? rc : BR_REPLY;
    }
    int32_t nt = all || req.n_topics < 0 ? 0 : req.n_topics;
    return md_submit(q, r, req.topics, nt, all, NULL, NULL, fl, may_create, missing);
}

/* ---- CreateTopics --------------------------------------------------------------------- */

/* A single node's rule for CreateTopics' assignments: every partition 0..n-1 once, on this
 * node alone. NULL, or why not. */
static const char *single_assignment(const struct kp_create_topics_topic *t, int32_t node_id)
{
    for (int32_t j = 0; j < t->n_assignments; j++) {
        const struct kp_create_topics_assignment *as = &t->assignments[j];
        if (as->partition_index < 0 || as->partition_index >= t->n_assignments ||
            as->n_broker_ids != 1 || as->broker_ids[0] != node_id)
            return "every partition must be assigned to this node";
    }
    return NULL;
}

/* A cluster's (Kafka's checks): partitions 0..n-1 each exactly once, each with the same number
 * (1..BR_CLU_RF_MAX) of distinct broker ids; out[p] gets partition p's replicas in the
 * client's order (the first is the preferred leader). Whether the brokers are alive is
 * checked where the assignment is written (br_clu_create_topic). NULL, or why not. */
static const char *cluster_assignment(const struct kp_create_topics_topic *t,
                                      struct br_clu_replicas *out)
{
    int32_t n = t->n_assignments;
    for (int32_t p = 0; p < n; p++)
        out[p].n = 0;
    for (int32_t j = 0; j < n; j++) {
        const struct kp_create_topics_assignment *as = &t->assignments[j];
        int32_t p = as->partition_index;
        if (p < 0 || p >= n || out[p].n != 0)
            return "partitions must be numbered 0..n-1, each once";
        if (as->n_broker_ids < 1 || as->n_broker_ids > BR_CLU_RF_MAX)
            return "each partition needs 1..16 replicas";
        if (as->n_broker_ids != t->assignments[0].n_broker_ids)
            return "every partition must have the same number of replicas";
        for (int32_t k = 0; k < as->n_broker_ids; k++) {
            for (int32_t q = 0; q < k; q++)
                if (as->broker_ids[q] == as->broker_ids[k])
                    return "a broker is named twice for one partition";
            if (as->broker_ids[k] < 0)
                return "broker ids are not negative";
            out[p].id[k] = as->broker_ids[k];
        }
        out[p].n = as->n_broker_ids;
    }
    return NULL;
}

/* A CreateTopics request in flight on the admin thread: validation happened on the loop;
 * the job only creates, then done() encodes. Lives in the response's scratch memory. */
struct ct_topic {
    uint32_t name_off; /* in the job's name bytes */
    uint32_t cfg_off;  /* in a cluster: its /config/topics document, in the name bytes too */
    int32_t np;
    int16_t rf;                     /* in a cluster: replicas of each partition */
    struct br_clu_replicas *assign; /* in a cluster: the client's assignment ([np], in the
                                       job's memory), or NULL */
    struct st_log_config lc;
    bool create;
};

struct ct_job {
    struct br_job job; /* first: the job is the start of the scratch memory */
    int32_t n;
    /* in a cluster: the waits for the leaders to be elected end here (br_now_ms; the request's
     * timeout from its arrival, shared by all its topics so the answer comes within it) */
    int64_t deadline_ms;
    struct ct_topic *t;
    struct kp_create_topics_result *res; /* names point into the job's name bytes */
    char *names;
};

static void ct_run(struct br_job *j)
{
    struct ct_job *cj = (struct ct_job *)j;
    struct br_ctx *x = j->x;
    for (int32_t i = 0; i < cj->n; i++) {
        struct ct_topic *t = &cj->t[i];
        struct kp_create_topics_result *o = &cj->res[i];
        if (!t->create)
            continue;
        const char *name = cj->names + t->name_off;
        /* in a cluster through ZooKeeper (the controller elects the leaders; the configs go to
         * /config/topics/<t> first); what is left of the request's timeout is waited for the
         * leaders (none left: created all the same, answered without waiting) */
        int64_t left = cj->deadline_ms - br_now_ms();
        int crc = clustered(x, name, strlen(name))
                      ? br_clu_create_topic(x->clu, name, t->np, t->rf, t->assign,
                                            cj->names + t->cfg_off, left > 0 ? left : 0)
                      : st_topic_create(x->store, name, t->np, &t->lc);
        if (crc == -EEXIST) {
            o->error_code = KP_ERR_TOPIC_ALREADY_EXISTS;
            o->error_message = kp_str_of("topic already exists");
        } else if (crc == -ENXIO && x->clu) {
            o->error_code = KP_ERR_INVALID_REPLICA_ASSIGNMENT;
            o->error_message = kp_str_of("the assignment names a broker that is not alive");
        } else if (crc == -EINVAL && x->clu) {
            o->error_code = KP_ERR_INVALID_REPLICATION_FACTOR;
            o->error_message = kp_str_of("replication factor larger than available brokers");
        } else if (crc == -EINVAL) {
            o->error_code = KP_ERR_INVALID_TOPIC_EXCEPTION;
            o->error_message = kp_str_of("invalid topic");
        } else if (crc == -EAGAIN || crc == -ECANCELED) {
            o->error_code = KP_ERR_REQUEST_TIMED_OUT;
            o->error_message = kp_str_of("ZooKeeper is not reachable");
        } else if (crc < 0) {
            br_warn("CreateTopics %s (%d partitions): %s", br_log_cstr(name).s, t->np,
                    strerror(-crc));
            o->error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
            o->error_message = kp_str_of("storage error");
        } else {
            br_info("created topic %s with %d partition(s)", br_log_cstr(name).s, t->np);
            (void)st_topic_id(x->store, name, strlen(name), o->topic_id.b);
        }
        if (o->error_code) {
            o->num_partitions = -1;
            o->replication_factor = -1;
            o->n_configs = -1;
            o->topic_config_error_code = KP_ERR_NONE;
        }
    }
}

static void ct_done(struct br_job *j)
{
    struct ct_job *cj = (struct ct_job *)j;
    struct br_resp *r = j->r;
    struct kp_create_topics_resp resp = {
        .throttle_time_ms = 0, .n_topics = cj->n, .topics = cj->res};
    int rc = BR_ENCODE(r, kp_create_topics_resp_encode, &resp);
    if (rc < 0) {
        br_fail(j->x, r, "cannot encode a CreateTopics response");
        return;
    }
    br_ready(j->x, r);
}

/* In a cluster: t's configs (those with a value) as /config/topics/<t>'s document, written
 * after the names at *off (advanced past it), its offset in ct->cfg_off. */
static bool ct_config_json(struct ct_job *cj, struct ct_topic *ct,
                           const struct kp_create_topics_topic *t, size_t *off)
{
    struct br_clu_kv kv[64];
    int n = 0;
    for (int32_t j = 0; j < t->n_configs; j++) {
        const struct kp_create_topics_config *cf = &t->configs[j];
        if (cf->value.len < 0 || cf->name.len <= 0)
            continue; /* null: the default */
        if (n == (int)(sizeof kv / sizeof kv[0]))
            return false;
        kv[n++] = (struct br_clu_kv){cf->name.ptr, cf->value.ptr, (size_t)cf->name.len,
                                     (size_t)cf->value.len};
    }
    size_t room = 32;
    for (int i = 0; i < n; i++)
        room += 6 * (kv[i].klen + kv[i].vlen) + 8;
    int len = br_clu_json_config_enc(cj->names + *off, room, kv, n);
    if (len < 0)
        return false;
    ct->cfg_off = (uint32_t)*off;
    *off += (size_t)len + 1;
    return true;
}

int br_api_create_topics(struct br_req *q, struct br_resp *r)
{
    struct br_ctx *x = q->x;
    struct kp_create_topics_req req;
    int rc = BR_DECODE(q, kp_create_topics_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t names = 0;
    for (int32_t i = 0; i < req.n_topics; i++) {
        names += (size_t)(req.topics[i].name.len > 0 ? req.topics[i].name.len : 0) + 1;
        if (!x->clu)
            continue;
        /* in a cluster, the configs as a /config/topics document (br_clu_json): at most 6
         * bytes per byte escaped, plus the punctuation */
        names += 32;
        for (int32_t j = 0; j < req.topics[i].n_configs; j++) {
            const struct kp_create_topics_config *cf = &req.topics[i].configs[j];
            names += 6 * ((size_t)(cf->name.len > 0 ? cf->name.len : 0) +
                          (size_t)(cf->value.len > 0 ? cf->value.len : 0)) +
                     8;
        }
    }
    size_t n = (size_t)req.n_topics, assigned = 0; /* (each assignment came in >= 8 bytes) */
    for (int32_t i = 0; x->clu && i < req.n_topics; i++)
        assigned += (size_t)(req.topics[i].n_assignments > 0 ? req.topics[i].n_assignments : 0);
    size_t need = br_align8(sizeof(struct ct_job)) + br_align8(n * sizeof(struct ct_topic)) +
                  br_align8(n * sizeof(struct kp_create_topics_result)) +
                  br_align8(assigned * sizeof(struct br_clu_replicas)) + names;
    rc = br_resp_scratch(r, need);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct ct_job *cj = (struct ct_job *)m;
    memset(cj, 0, sizeof(*cj));
    m += br_align8(sizeof(*cj));
    cj->t = (struct ct_topic *)m;
    m += br_align8(n * sizeof(struct ct_topic));
    cj->res = (struct kp_create_topics_result *)m;
    m += br_align8(n * sizeof(struct kp_create_topics_result));
    struct br_clu_replicas *assign_mem = (struct br_clu_replicas *)m;
    m += br_align8(assigned * sizeof(struct br_clu_replicas));
    cj->names = (char *)m;
    cj->n = req.n_topics;
    cj->deadline_ms =
        br_now_ms() + (req.timeout_ms > 0 ? (req.timeout_ms < 60000 ? req.timeout_ms : 60000) : 0);
    size_t name_off = 0;
    bool any = false;
    for (int32_t i = 0; i < req.n_topics; i++) {
        const struct kp_create_topics_topic *t = &req.topics[i];
        struct ct_topic *ct = &cj->t[i];
        struct kp_create_topics_result *o = &cj->res[i];
        int32_t nl = t->name.len > 0 ? t->name.len : 0;
        char *cname = cj->names + name_off;
        if (nl)
            memcpy(cname, t->name.ptr, (size_t)nl);
        cname[nl] = 0;
        memset(ct, 0, sizeof(*ct));
        ct->name_off = (uint32_t)name_off;
        name_off += (size_t)nl + 1;
        *o = (struct kp_create_topics_result){.name = {cname, t->name.len < 0 ? 0 : nl},
                                              .error_message = KP_STR_NULL,
                                              .num_partitions = -1,
                                              .replication_factor = -1,
                                              .n_configs = -1};
        /* v5+: without DESCRIBE_CONFIGS on the topic its configs are not shown, and the
         * tagged topic_config_error_code says so, on a refused or a created topic (Kafka) */
        int16_t cfg_err =
            br_allowed(q, KP_ACL_RESOURCE_TOPIC, cname, (size_t)nl, KP_ACL_OP_DESCRIBE_CONFIGS)
                ? KP_ERR_NONE
                : KP_ERR_TOPIC_AUTHORIZATION_FAILED;
        if (!br_allowed_create_topic(q->x, q->peer, cname, (size_t)nl)) {
            o->error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
            o->error_message = kp_str_of("Authorization failed.");
            o->topic_config_error_code = cfg_err;
            continue;
        }
        if (nl == 0 || nl > NAME_MAX_LEN || !st_topic_name_valid(cname, (size_t)nl) ||
            memchr(cname, 0, (size_t)nl)) {
            o->error_code = KP_ERR_INVALID_TOPIC_EXCEPTION;
            o->error_message = kp_str_of("invalid topic name");
            continue;
        }
        int32_t np = t->num_partitions;
        if (t->n_assignments > 0) {
            if (np != -1 || t->replication_factor != -1) {
                o->error_code = KP_ERR_INVALID_REQUEST;
                o->error_message =
                    kp_str_of("both partition assignments and a partition count were given");
                continue;
            }
            np = t->n_assignments;
            const char *why =
                x->clu ? cluster_assignment(t, assign_mem) : single_assignment(t, x->cfg->node_id);
            if (why) {
                o->error_code = KP_ERR_INVALID_REPLICA_ASSIGNMENT;
                o->error_message = kp_str_of(why);
                continue;
            }
            if (x->clu) {
                ct->assign = assign_mem;
                ct->rf = (int16_t)assign_mem[0].n;
                assign_mem += np;
            }
        }
        if (np == -1)
            np = x->cfg->num_partitions;
        if (np <= 0) {
            o->error_code = KP_ERR_INVALID_PARTITIONS;
            o->error_message = kp_str_of("number of partitions must be positive");
            continue;
        }
        if (np > x->cfg->topic_partitions_max) {
            o->error_code = KP_ERR_INVALID_PARTITIONS;
            o->error_message = kp_str_of("more partitions than topic.partitions.max");
            br_warn("peer=%s client.id=%s: CreateTopics %s with %d partitions refused "
                    "(topic.partitions.max=%d)",
                    q->peer->name, BR_LOG_KSTR(q->client_id), br_log_cstr(cname).s, np,
                    x->cfg->topic_partitions_max);
            continue;
        }
        int16_t rf = ct->assign ? ct->rf : t->replication_factor;
        if (rf == -1)
            rf = x->clu ? (int16_t)x->cfg->default_replication_factor : 1;
        if (rf < 1 || rf > (x->clu ? BR_CLU_RF_MAX : 1)) {
            o->error_code = KP_ERR_INVALID_REPLICATION_FACTOR;
            o->error_message = kp_str_of(x->clu ? "replication factor out of range (1..16)"
                                                : "replication factor larger than available "
                                                  "brokers: 1");
            continue;
        }
        ct->lc = x->cfg->log;
        bool cfg_ok = true;
        uint32_t overrides = 0;
        for (int32_t j = 0; j < t->n_configs && cfg_ok; j++) {
            if (t->configs[j].value.len < 0)
                continue; /* null: the default */
            const char *why = NULL;
            int16_t cerr = br_topic_config_apply(&ct->lc, &overrides, t->configs[j].name,
                                                 t->configs[j].value, &why);
            if (cerr) {
                cfg_ok = false;
                o->error_code = cerr;
                o->error_message = kp_str_of(why);
            }
        }
        if (!cfg_ok)
            continue;
        if (x->clu && !req.validate_only && !ct_config_json(cj, ct, t, &name_off)) {
            o->error_code = KP_ERR_INVALID_CONFIG;
            o->error_message = kp_str_of("too many configs");
            continue;
        }
        if (req.validate_only) {
            if (br_api_topic_partitions(x, cname, (size_t)nl) >= 0) {
                o->error_code = KP_ERR_TOPIC_ALREADY_EXISTS;
                o->error_message = kp_str_of("topic already exists");
            } else {
                o->num_partitions = np; /* what it would be (v5+) */
                o->replication_factor = rf;
                o->n_configs = 0;
                o->topic_config_error_code = cfg_err;
            }
            continue;
        }
        o->num_partitions = np;
        o->replication_factor = rf;
        o->n_configs = 0;
        o->topic_config_error_code = cfg_err; /* (cleared if the creation fails) */
        ct->np = np;
        ct->rf = rf;
        ct->create = true;
        any = true;
    }
    if (!any) {
        struct kp_create_topics_resp resp = {
            .throttle_time_ms = 0, .n_topics = cj->n, .topics = cj->res};
        rc = BR_ENCODE(r, kp_create_topics_resp_encode, &resp);
        return rc < 0 ? rc : BR_REPLY;
    }
    /* creating many partitions takes long: off the loop thread */
    cj->job.r = r;
    cj->job.run = ct_run;
    cj->job.done = ct_done;
    rc = br_admin(q->x, &cj->job);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- DeleteTopics --------------------------------------------------------------------- */

struct dt_job {
    struct br_job job; /* first: the job is the start of the scratch memory */
    int32_t n;
    bool *del;                           /* per topic: to delete on the admin thread */
    int64_t wait_ms;                     /* in a cluster: for the deletion to be seen */
    struct kp_delete_topics_result *res; /* names point into the job's name bytes */
};

static void dt_run(struct br_job *j)
{
    struct dt_job *dj = (struct dt_job *)j;
    struct br_ctx *x = j->x;
    for (int32_t i = 0; i < dj->n; i++) {
        if (!dj->del[i])
            continue;
        const char *name = dj->res[i].name.ptr; /* NUL-terminated copy */
        /* in a cluster: marked in ZooKeeper, deleted by the controller, then by every
         * broker holding it when it leaves their view */
        int drc = clustered(x, name, strlen(name)) ? br_clu_delete_topic(x->clu, name, dj->wait_ms)
                                                   : st_topic_delete(x->store, name);
        if (drc == -ENOENT || drc == -EINVAL) {
            dj->res[i].error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        } else if (drc == -EAGAIN || drc == -ECANCELED) {
            dj->res[i].error_code = KP_ERR_REQUEST_TIMED_OUT;
        } else if (drc < 0) {
            br_warn("DeleteTopics %s: %s", br_log_cstr(name).s, strerror(-drc));
            dj->res[i].error_code = KP_ERR_UNKNOWN_SERVER_ERROR;
        } else {
            br_info("deleted topic %s", br_log_cstr(name).s);
            /* its committed offsets go with it, so that a topic created again under the same
             * name does not resume groups at offsets of the old one */
            br_offsets_remove_topic(x->offsets, name);
        }
    }
}

static void dt_done(struct br_job *j)
{
    struct dt_job *dj = (struct dt_job *)j;
    struct br_resp *r = j->r;
    struct kp_delete_topics_resp resp = {
        .throttle_time_ms = 0, .n_results = dj->n, .results = dj->res};
    int rc = BR_ENCODE(r, kp_delete_topics_resp_encode, &resp);
    if (rc < 0) {
        br_fail(j->x, r, "cannot encode a DeleteTopics response");
        return;
    }
    br_ready(j->x, r);
}

int br_api_delete_topics(struct br_req *q, struct br_resp *r)
{
    struct br_ctx *x = q->x;
    struct kp_delete_topics_req req;
    int rc = BR_DECODE(q, kp_delete_topics_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    if (q->api_version >= 6) { /* topics by name, or by id */
        req.n_topics = req.n_topic_states > 0 ? req.n_topic_states : 0;
        req.topic_names = NULL;
    }
    size_t n = (size_t)req.n_topics;
    size_t names = 0;
    for (int32_t i = 0; i < req.n_topics; i++)
        names += q->api_version >= 6
                     ? NAME_MAX_LEN + 1
                     : (size_t)(req.topic_names[i].len > 0 ? req.topic_names[i].len : 0) + 1;
    size_t need = br_align8(sizeof(struct dt_job)) + br_align8(n * sizeof(bool)) +
                  br_align8(n * sizeof(struct kp_delete_topics_result)) + names;
    rc = br_resp_scratch(r, need);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct dt_job *dj = (struct dt_job *)m;
    memset(dj, 0, sizeof(*dj));
    m += br_align8(sizeof(*dj));
    dj->del = (bool *)m;
    m += br_align8(n * sizeof(bool));
    dj->res = (struct kp_delete_topics_result *)m;
    m += br_align8(n * sizeof(struct kp_delete_topics_result));
    char *namebuf = (char *)m;
    dj->n = req.n_topics;
    bool any = false;
    for (int32_t i = 0; i < req.n_topics; i++) {
        struct kp_str nm = q->api_version >= 6 ? req.topic_states[i].name : req.topic_names[i];
        struct kp_uuid id =
            q->api_version >= 6 ? req.topic_states[i].topic_id : (struct kp_uuid){0};
        int32_t nl = nm.len > 0 && nm.len <= NAME_MAX_LEN ? nm.len : 0;
        char *cur = namebuf;
        if (nl)
            memcpy(namebuf, nm.ptr, (size_t)nl);
        namebuf[nl] = 0;
        bool by_id = q->api_version >= 6 && nm.len < 0;
        if (by_id && st_topic_by_id(x->store, id.b, namebuf, NAME_MAX_LEN + 1) == 0)
            nl = (int32_t)strlen(namebuf);
        dj->res[i] = (struct kp_delete_topics_result){
            .name = by_id && nl == 0 ? KP_STR_NULL : (struct kp_str){namebuf, nl},
            .error_message = KP_STR_NULL,
            .topic_id = id};
        if (q->api_version >= 6 && nl > 0 && !by_id)
            (void)st_topic_id(x->store, namebuf, (size_t)nl, dj->res[i].topic_id.b);
        dj->del[i] = false;
        namebuf += q->api_version >= 6 ? NAME_MAX_LEN + 1 : (size_t)nl + 1;
        if (by_id && nl == 0) {
            dj->res[i].error_code = KP_ERR_UNKNOWN_TOPIC_ID;
            continue;
        }
        if (!x->cfg->delete_topic_enable) {
            dj->res[i].error_code = KP_ERR_TOPIC_DELETION_DISABLED;
            continue;
        }
        /* DESCRIBE and DELETE on the topic; one asked for by an id it may not see is named
         * null, as Kafka answers it */
        if (!br_allowed(q, KP_ACL_RESOURCE_TOPIC, cur, (size_t)nl, KP_ACL_OP_DESCRIBE)) {
            dj->res[i].error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
            if (by_id)
                dj->res[i].name = KP_STR_NULL;
            continue;
        }
        if (!br_allowed(q, KP_ACL_RESOURCE_TOPIC, cur, (size_t)nl, KP_ACL_OP_DELETE)) {
            dj->res[i].error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
            continue;
        }
        if (nl == 0 || memchr(cur, 0, (size_t)nl)) {
            dj->res[i].error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        dj->del[i] = true;
        any = true;
    }
    if (!any) {
        struct kp_delete_topics_resp resp = {
            .throttle_time_ms = 0, .n_results = dj->n, .results = dj->res};
        rc = BR_ENCODE(r, kp_delete_topics_resp_encode, &resp);
        return rc < 0 ? rc : BR_REPLY;
    }
    dj->wait_ms = req.timeout_ms > 0 ? (req.timeout_ms < 60000 ? req.timeout_ms : 60000) : 0;
    dj->job.r = r;
    dj->job.run = dt_run;
    dj->job.done = dt_done;
    rc = br_admin(q->x, &dj->job);
    return rc < 0 ? rc : BR_REPLY;
}
