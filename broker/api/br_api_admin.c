/*
 * br_api_admin — CreatePartitions, DescribeCluster, DescribeLogDirs: the cluster's shape for
 * admin clients, on a single node that is every partition's only replica.
 *
 * CreatePartitions grows a topic to `count` partitions (st_topic_add_partitions, on the admin
 * thread: the new logs, then the metadata file; visible to Metadata at once, so keyed
 * producers see the new count at their next metadata refresh). Kafka's errors: an unknown
 * topic UNKNOWN_TOPIC_OR_PARTITION; a count not above the current one, or above
 * topic.partitions.max, INVALID_PARTITIONS; assignments that are not one list per new
 * partition naming this node alone (a single node) or, in a cluster, the topic's replication
 * factor of distinct live brokers, INVALID_REPLICA_ASSIGNMENT; a topic named twice
 * INVALID_REQUEST. validate_only checks and changes nothing.
 *
 * DescribeCluster: this node, the cluster id Metadata reports, this node as controller;
 * endpoint type 2 (controllers, KRaft) is UNSUPPORTED_ENDPOINT_TYPE, as a broker answers.
 *
 * DeleteRecords moves each partition's log start offset up to the offset given (-1: the high
 * watermark), durably, on the admin thread (st_log_delete_records), and answers the new low
 * watermark; an offset past the high watermark is OFFSET_OUT_OF_RANGE, an unknown partition
 * UNKNOWN_TOPIC_OR_PARTITION, as Kafka.
 *
 * DescribeLogDirs: one log dir (log.dirs), every partition asked for (all when topics is null)
 * with its bytes on disk (st_log_stats) and offset lag 0; unknown topics are left out, as Kafka
 * does; v4 adds the file system's total and usable bytes (statvfs).
 *
 * Authorization, as Kafka's KafkaApis: CreatePartitions ALTER on each topic
 * (TOPIC_AUTHORIZATION_FAILED, after the duplicate check); DeleteRecords DELETE on each topic
 * (TOPIC_AUTHORIZATION_FAILED per partition, low watermark -1); DescribeLogDirs DESCRIBE on the
 * cluster (no results, v3+ CLUSTER_AUTHORIZATION_FAILED); DescribeCluster is answered to
 * anyone, as Kafka's broker does, its cluster_authorized_operations (when asked for) computed
 * from the authorizer, 0 without DESCRIBE on the cluster.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "br_api.h"
#include "br_clock.h"
#include "br_clu.h"
#include "br_cotopic.h"
#include "br_log.h"
#include "kp_msg.h"
#include "kp_msg_sec.h"
#include "kp_msg_cluster.h"

#define NAME_MAX_LEN 249

/* ---- CreatePartitions --------------------------------------------------------------------- */

struct cp_item {
    char name[NAME_MAX_LEN + 1];
    int32_t count;
    bool apply;
    struct br_clu_replicas *assign; /* in a cluster: the client's lists of the new partitions
                                       (count - current of them, in the job's memory), or NULL */
    int32_t nassign;
};

struct cp_job {
    struct br_job job;   /* first */
    int64_t deadline_ms; /* in a cluster: the waits for the new leaders end here (br_now_ms) */
    int32_t n;
    struct cp_item *items;
    struct kp_create_partitions_result *res;
};

/* In a cluster: how long CreatePartitions waits, at most and for all its topics together, for
 * the new partitions' leaders (less when the request's timeout is shorter, not at all when it
 * is 0, as Kafka: the answer must reach the client before it gives up; the partitions are
 * created all the same). */
#define CP_WAIT_MS 10000

static void cp_run(struct br_job *j)
{
    struct cp_job *cj = (struct cp_job *)j;
    for (int32_t i = 0; i < cj->n; i++) {
        struct cp_item *it = &cj->items[i];
        struct kp_create_partitions_result *o = &cj->res[i];
        if (!it->apply)
            continue;
        /* in a cluster: the assignment in ZooKeeper grows, the controller elects the new
         * partitions' leaders (br_clu.h) */
        int64_t left = cj->deadline_ms - br_now_ms();
        int rc = j->x->clu ? br_clu_add_partitions(j->x->clu, it->name, it->count, it->assign,
                                                   it->nassign, left > 0 ? left : 0)
                           : st_topic_add_partitions(j->x->store, it->name, it->count);
        if (rc == 0) {
            br_info("topic %s grown to %d partitions", br_log_cstr(it->name).s, it->count);
            continue;
        }
        o->error_code = rc == -ENOENT                 ? KP_ERR_UNKNOWN_TOPIC_OR_PARTITION
                        : rc == -EINVAL               ? KP_ERR_INVALID_PARTITIONS
                        : rc == -EBUSY                ? KP_ERR_REQUEST_TIMED_OUT
                        : rc == -EDOM || rc == -ENXIO ? KP_ERR_INVALID_REPLICA_ASSIGNMENT
                                                      : KP_ERR_KAFKA_STORAGE_ERROR;
        o->error_message =
            kp_str_of(rc == -ENOENT   ? "unknown topic"
                      : rc == -EINVAL ? "the topic has that many partitions already"
                      : rc == -EBUSY  ? "the topic is being changed: retry"
                      : rc == -EDOM   ? "one assignment per new partition, of the topic's "
                                        "replication factor"
                      : rc == -ENXIO  ? "the assignment names a broker that is not alive"
                                      : "cannot create the partitions");
        if (o->error_code == KP_ERR_KAFKA_STORAGE_ERROR)
            br_warn("growing topic %s to %d partitions: %s", br_log_cstr(it->name).s, it->count,
                    strerror(-rc));
    }
}

static void cp_done(struct br_job *j)
{
    struct cp_job *cj = (struct cp_job *)j;
    struct kp_create_partitions_resp resp = {.n_results = cj->n, .results = cj->res};
    if (BR_ENCODE(j->r, kp_create_partitions_resp_encode, &resp) < 0) {
        br_fail(j->x, j->r, "cannot encode a CreatePartitions response");
        return;
    }
    br_ready(j->x, j->r);
}

/* A single node's rule for the new partitions' lists: each names this node alone. NULL, or
 * why not. */
static const char *single_lists(const struct kp_create_partitions_topic *t, int32_t node_id)
{
    for (int32_t k = 0; k < t->n_assignments; k++)
        if (t->assignments[k].n_broker_ids != 1 || t->assignments[k].broker_ids[0] != node_id)
            return "one assignment per new partition, naming this node alone";
    return NULL;
}

/* A cluster's (Kafka's checks): each list 1..BR_CLU_RF_MAX distinct broker ids, the same count
 * for all (that it is the topic's replication factor and that the brokers are alive is checked
 * where the assignment is written, br_clu_add_partitions); out[k] gets the k-th new
 * partition's. NULL, or why not. */
static const char *cluster_lists(const struct kp_create_partitions_topic *t,
                                 struct br_clu_replicas *out)
{
    for (int32_t k = 0; k < t->n_assignments; k++) {
        const struct kp_create_partitions_assignment *as = &t->assignments[k];
        if (as->n_broker_ids < 1 || as->n_broker_ids > BR_CLU_RF_MAX)
            return "each partition needs 1..16 replicas";
        if (as->n_broker_ids != t->assignments[0].n_broker_ids)
            return "every new partition must have the same number of replicas";
        for (int32_t j = 0; j < as->n_broker_ids; j++) {
            for (int32_t q = 0; q < j; q++)
                if (as->broker_ids[q] == as->broker_ids[j])
                    return "a broker is named twice for one partition";
            if (as->broker_ids[j] < 0)
                return "broker ids are not negative";
            out[k].id[j] = as->broker_ids[j];
        }
        out[k].n = as->n_broker_ids;
    }
    return NULL;
}

static void cp_fail(struct kp_create_partitions_result *o, int16_t err, const char *why)
{
    o->error_code = err;
    o->error_message = kp_str_of(why);
}

int br_api_create_partitions(struct br_req *q, struct br_resp *r)
{
    struct br_ctx *x = q->x;
    struct kp_create_partitions_req req;
    int rc = BR_DECODE(q, kp_create_partitions_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    int32_t n = req.n_topics > 0 ? req.n_topics : 0;
    size_t assigned = 0; /* (each list came in >= 4 bytes) */
    for (int32_t i = 0; x->clu && i < n; i++)
        assigned += (size_t)(req.topics[i].n_assignments > 0 ? req.topics[i].n_assignments : 0);
    size_t need = br_align8(sizeof(struct cp_job)) + br_align8((size_t)n * sizeof(struct cp_item)) +
                  br_align8((size_t)n * sizeof(struct kp_create_partitions_result)) +
                  br_align8(assigned * sizeof(struct br_clu_replicas));
    rc = br_resp_scratch(r, need);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct cp_job *cj = (struct cp_job *)m;
    memset(cj, 0, sizeof(*cj));
    m += br_align8(sizeof(*cj));
    cj->items = (struct cp_item *)m;
    m += br_align8((size_t)n * sizeof(struct cp_item));
    cj->res = (struct kp_create_partitions_result *)m;
    m += br_align8((size_t)n * sizeof(struct kp_create_partitions_result));
    struct br_clu_replicas *assign_mem = (struct br_clu_replicas *)m;
    cj->n = n;
    bool any = false;
    for (int32_t i = 0; i < n; i++) {
        const struct kp_create_partitions_topic *t = &req.topics[i];
        struct cp_item *it = &cj->items[i];
        struct kp_create_partitions_result *o = &cj->res[i];
        memset(it, 0, sizeof(*it));
        int32_t nl = t->name.len > 0 && t->name.len <= NAME_MAX_LEN ? t->name.len : 0;
        memcpy(it->name, t->name.ptr, (size_t)nl);
        *o = (struct kp_create_partitions_result){.name = {it->name, nl},
                                                  .error_message = KP_STR_NULL};
        bool dup = false;
        for (int32_t k = 0; k < n && !dup; k++)
            dup = k != i && req.topics[k].name.len == t->name.len &&
                  (t->name.len <= 0 ||
                   memcmp(req.topics[k].name.ptr, t->name.ptr, (size_t)t->name.len) == 0);
        if (dup) {
            cp_fail(o, KP_ERR_INVALID_REQUEST, "duplicate topic in request");
            continue;
        }
        if (!br_allowed(q, KP_ACL_RESOURCE_TOPIC, it->name, (size_t)nl, KP_ACL_OP_ALTER)) {
            cp_fail(o, KP_ERR_TOPIC_AUTHORIZATION_FAILED, "The topic authorization is failed.");
            continue;
        }
        int32_t cur = nl ? br_api_topic_partitions(x, it->name, (size_t)nl) : -ENOENT;
        /* in a cluster a topic this broker's view does not show yet (created a moment ago
         * through another broker, CreateTopics without waiting) is looked up in ZooKeeper by
         * br_clu_add_partitions, as Kafka's brokers read it there: the checks against its
         * current count happen there */
        bool deferred = cur < 0 && nl && x->clu;
        if (cur < 0 && !deferred) {
            cp_fail(o, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, "unknown topic");
            continue;
        }
        if (!deferred && t->count <= cur) {
            cp_fail(o, KP_ERR_INVALID_PARTITIONS,
                    t->count == cur ? "the topic already has that many partitions"
                                    : "the topic has more partitions than requested");
            continue;
        }
        if (t->count > x->cfg->topic_partitions_max) {
            cp_fail(o, KP_ERR_INVALID_PARTITIONS, "more partitions than topic.partitions.max");
            continue;
        }
        if (t->n_assignments >= 0) {
            const char *why = !deferred && t->n_assignments != t->count - cur
                                  ? "one assignment per new partition"
                              : x->clu ? cluster_lists(t, assign_mem)
                                       : single_lists(t, x->cfg->node_id);
            if (why) {
                cp_fail(o, KP_ERR_INVALID_REPLICA_ASSIGNMENT, why);
                continue;
            }
            if (x->clu) {
                it->assign = assign_mem;
                it->nassign = t->n_assignments;
                assign_mem += t->n_assignments;
            }
        }
        if (req.validate_only)
            continue;
        it->count = t->count;
        it->apply = true;
        any = true;
    }
    if (!any) {
        struct kp_create_partitions_resp resp = {.n_results = n, .results = cj->res};
        rc = BR_ENCODE(r, kp_create_partitions_resp_encode, &resp);
        return rc < 0 ? rc : BR_REPLY;
    }
    int64_t wait = req.timeout_ms <= 0           ? 0 /* Kafka: answer without waiting */
                   : req.timeout_ms < CP_WAIT_MS ? req.timeout_ms
                                                 : CP_WAIT_MS;
    cj->deadline_ms = br_now_ms() + wait;
    cj->job.r = r;
    cj->job.run = cp_run;
    cj->job.done = cp_done;
    rc = br_admin(x, &cj->job);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- DeleteRecords ------------------------------------------------------------------------ */

struct dr_job {
    struct br_job job; /* first */
    int32_t n_topics;
    struct kp_delete_records_resp_topic *topics;
    struct kp_delete_records_resp_partition *parts; /* low_watermark holds the request's
                                                        offset until run */
};

static void dr_run(struct br_job *j)
{
    struct dr_job *dj = (struct dr_job *)j;
    struct kp_delete_records_resp_partition *o = dj->parts;
    for (int32_t i = 0; i < dj->n_topics; i++) {
        const struct kp_delete_records_resp_topic *t = &dj->topics[i];
        for (int32_t k = 0; k < t->n_partitions; k++, o++) {
            if (o->error_code)
                continue; /* refused before the job (authorization) */
            int64_t want = o->low_watermark;
            o->low_watermark = -1;
            struct st_log *log =
                t->name.len > 0
                    ? st_log_get(j->x->store, t->name.ptr, (size_t)t->name.len, o->partition_index)
                    : NULL;
            if (!log) {
                o->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            int64_t low = -1;
            int rc = st_log_delete_records(log, want, &low);
            st_log_put(log);
            if (rc == -ERANGE) {
                o->error_code = KP_ERR_OFFSET_OUT_OF_RANGE;
            } else if (rc == -ENOENT) {
                o->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            } else if (rc < 0) {
                br_warn("DeleteRecords %s-%d below %lld: %s", BR_LOG_KSTR(t->name),
                        o->partition_index, (long long)want, strerror(-rc));
                o->error_code = KP_ERR_KAFKA_STORAGE_ERROR;
            } else {
                o->low_watermark = low;
                br_info("DeleteRecords %s-%d: log start offset now %lld", BR_LOG_KSTR(t->name),
                        o->partition_index, (long long)low);
            }
        }
    }
}

static void dr_done(struct br_job *j)
{
    struct dr_job *dj = (struct dr_job *)j;
    struct kp_delete_records_resp resp = {.n_topics = dj->n_topics, .topics = dj->topics};
    if (BR_ENCODE(j->r, kp_delete_records_resp_encode, &resp) < 0) {
        br_fail(j->x, j->r, "cannot encode a DeleteRecords response");
        return;
    }
    br_ready(j->x, j->r);
}

int br_api_delete_records(struct br_req *q, struct br_resp *r)
{
    struct kp_delete_records_req req;
    int rc = BR_DECODE(q, kp_delete_records_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    size_t nt = req.n_topics > 0 ? (size_t)req.n_topics : 0, np = 0, names = 0;
    for (size_t i = 0; i < nt; i++) {
        np += (size_t)req.topics[i].n_partitions;
        names += (size_t)(req.topics[i].name.len > 0 ? req.topics[i].name.len : 0);
    }
    size_t need = br_align8(sizeof(struct dr_job)) +
                  br_align8(nt * sizeof(struct kp_delete_records_resp_topic)) +
                  br_align8(np * sizeof(struct kp_delete_records_resp_partition)) + names + 8;
    rc = br_resp_scratch(r, need);
    if (rc < 0)
        return rc;
    uint8_t *m = r->scratch;
    struct dr_job *dj = (struct dr_job *)m;
    memset(dj, 0, sizeof(*dj));
    m += br_align8(sizeof(*dj));
    dj->topics = (struct kp_delete_records_resp_topic *)m;
    m += br_align8(nt * sizeof(struct kp_delete_records_resp_topic));
    dj->parts = (struct kp_delete_records_resp_partition *)m;
    m += br_align8(np * sizeof(struct kp_delete_records_resp_partition));
    char *nb = (char *)m;
    dj->n_topics = (int32_t)nt;
    struct kp_delete_records_resp_partition *o = dj->parts;
    for (size_t i = 0; i < nt; i++) {
        const struct kp_delete_records_req_topic *t = &req.topics[i];
        int32_t nl = t->name.len > 0 ? t->name.len : 0;
        if (nl)
            memcpy(nb, t->name.ptr, (size_t)nl);
        dj->topics[i] = (struct kp_delete_records_resp_topic){
            .name = {nb, nl}, .n_partitions = t->n_partitions, .partitions = o};
        /* DELETE on the topic, before anything is known of it (Kafka) */
        bool denied = !br_allowed(q, KP_ACL_RESOURCE_TOPIC, nb, (size_t)nl, KP_ACL_OP_DELETE);
        nb += nl;
        for (int32_t k = 0; k < t->n_partitions; k++, o++)
            *o = (struct kp_delete_records_resp_partition){
                .partition_index = t->partitions[k].partition_index,
                .low_watermark = denied ? -1 : t->partitions[k].offset,
                .error_code = denied ? KP_ERR_TOPIC_AUTHORIZATION_FAILED : KP_ERR_NONE};
    }
    dj->job.r = r;
    dj->job.run = dr_run;
    dj->job.done = dr_done;
    rc = br_admin(q->x, &dj->job);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- DescribeCluster ---------------------------------------------------------------------- */

int br_api_describe_cluster(struct br_req *q, struct br_resp *r)
{
    struct kp_describe_cluster_req req;
    int rc = BR_DECODE(q, kp_describe_cluster_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    struct br_clu_node self, *nodes = &self;
    struct kp_describe_cluster_broker self_b, *bs = &self_b;
    int32_t controller_id = -1;
    int nb = br_api_brokers(q->x, q->peer, &self, &nodes, &controller_id);
    if (nb < 0)
        return nb;
    if (nodes != &self && !(bs = calloc((size_t)nb, sizeof(*bs)))) {
        free(nodes);
        return -ENOMEM;
    }
    for (int i = 0; i < nb; i++)
        bs[i] = (struct kp_describe_cluster_broker){
            .broker_id = nodes[i].id,
            .host = kp_str_of(nodes[i].host),
            .port = nodes[i].port,
            .rack = nodes[i].rack[0] ? kp_str_of(nodes[i].rack) : KP_STR_NULL};
    struct kp_describe_cluster_resp resp = {
        .error_message = KP_STR_NULL,
        .endpoint_type = 1,
        .cluster_id = kp_str_of(q->x->clu ? br_clu_cluster_id(q->x->clu) : "splicelog"),
        .controller_id = controller_id,
        .n_brokers = nb,
        .brokers = bs,
        .cluster_authorized_operations = INT32_MIN, /* not asked for */
    };
    /* As Kafka's broker: answered to anyone; the operations only with DESCRIBE on the cluster
     * (else 0) */
    if (req.include_cluster_authorized_operations)
        resp.cluster_authorized_operations = br_cluster_authorized_ops(q->x, q->peer);
    if (q->api_version >= 1 && req.endpoint_type != 1) {
        resp.error_code = KP_ERR_UNSUPPORTED_ENDPOINT_TYPE;
        resp.error_message = kp_str_of("this is a broker: only endpoint type 1 (brokers)");
        resp.endpoint_type = req.endpoint_type;
        resp.n_brokers = 0;
        resp.controller_id = -1;
    }
    rc = BR_ENCODE(r, kp_describe_cluster_resp_encode, &resp);
    if (bs != &self_b)
        free(bs);
    if (nodes != &self)
        free(nodes);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- DescribeLogDirs ---------------------------------------------------------------------- */

struct ld_names {
    char **v;
    int32_t *parts;
    int32_t n, cap;
    bool oom;
};

static void ld_collect(void *arg, const char *name, int32_t partitions)
{
    struct ld_names *ln = arg;
    if (ln->oom)
        return;
    if (ln->n == ln->cap) {
        int32_t cap = ln->cap ? ln->cap * 2 : 16;
        char **v = realloc(ln->v, (size_t)cap * sizeof(*v));
        int32_t *p = v ? realloc(ln->parts, (size_t)cap * sizeof(*p)) : NULL;
        if (v)
            ln->v = v;
        if (!v || !p) {
            ln->oom = true;
            return;
        }
        ln->parts = p;
        ln->cap = cap;
    }
    if (!(ln->v[ln->n] = strdup(name))) {
        ln->oom = true;
        return;
    }
    ln->parts[ln->n++] = partitions;
}

static void ld_free(struct ld_names *ln)
{
    for (int32_t i = 0; i < ln->n; i++)
        free(ln->v[i]);
    free(ln->v);
    free(ln->parts);
}

static int64_t log_bytes(struct st_store *store, struct kp_str topic, int32_t p)
{
    struct st_log *log = st_log_get(store, topic.ptr, (size_t)topic.len, p);
    if (!log)
        return -1;
    struct st_log_stats s;
    st_log_stats(log, &s);
    st_log_put(log);
    return s.bytes;
}

int br_api_describe_log_dirs(struct br_req *q, struct br_resp *r)
{
    struct br_ctx *x = q->x;
    struct kp_describe_log_dirs_req req;
    int rc = BR_DECODE(q, kp_describe_log_dirs_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    if (!br_allowed_cluster(q, KP_ACL_OP_DESCRIBE)) {
        /* no results; v3+ say why (Kafka) */
        struct kp_describe_log_dirs_resp resp = {.error_code = KP_ERR_CLUSTER_AUTHORIZATION_FAILED};
        rc = BR_ENCODE(r, kp_describe_log_dirs_resp_encode, &resp);
        return rc < 0 ? rc : BR_REPLY;
    }
    struct ld_names all = {0};
    int32_t nt;
    if (req.n_topics < 0) {
        st_topic_foreach(x->store, ld_collect, &all);
        if (all.oom) {
            ld_free(&all);
            return -ENOMEM;
        }
        nt = all.n;
    } else {
        nt = req.n_topics;
    }
    size_t nparts = 0;
    for (int32_t i = 0; i < nt; i++)
        nparts += (size_t)(req.n_topics < 0 ? all.parts[i] : req.topics[i].n_partitions);
    struct kp_describe_log_dirs_topic *ts = calloc(nt ? (size_t)nt : 1, sizeof(*ts));
    struct kp_describe_log_dirs_partition *ps = calloc(nparts ? nparts : 1, sizeof(*ps));
    if (!ts || !ps) {
        free(ts);
        free(ps);
        ld_free(&all);
        return -ENOMEM;
    }
    int32_t kt = 0;
    size_t kp = 0;
    for (int32_t i = 0; i < nt; i++) {
        struct kp_str name = req.n_topics < 0 ? kp_str_of(all.v[i]) : req.topics[i].topic;
        if (name.len <= 0 || st_topic_partitions(x->store, name.ptr, (size_t)name.len) < 0)
            continue; /* unknown topics are left out */
        struct kp_describe_log_dirs_topic *t = &ts[kt++];
        *t = (struct kp_describe_log_dirs_topic){.name = name, .partitions = &ps[kp]};
        int32_t np = req.n_topics < 0 ? all.parts[i] : req.topics[i].n_partitions;
        for (int32_t j = 0; j < np; j++) {
            int32_t p = req.n_topics < 0 ? j : req.topics[i].partitions[j];
            int64_t bytes = log_bytes(x->store, name, p);
            if (bytes < 0)
                continue; /* no such partition */
            ps[kp++] = (struct kp_describe_log_dirs_partition){.partition_index = p,
                                                               .partition_size = bytes};
            t->n_partitions++;
        }
    }
    struct kp_describe_log_dirs_result res = {.log_dir = kp_str_of(x->cfg->data_dir),
                                              .n_topics = kt,
                                              .topics = ts,
                                              .total_bytes = -1,
                                              .usable_bytes = -1};
    struct statvfs sv;
    if (statvfs(x->cfg->data_dir, &sv) == 0) {
        res.total_bytes = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
        res.usable_bytes = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
    }
    struct kp_describe_log_dirs_resp resp = {.n_results = 1, .results = &res};
    rc = BR_ENCODE(r, kp_describe_log_dirs_resp_encode, &resp);
    free(ts);
    free(ps);
    ld_free(&all);
    return rc < 0 ? rc : BR_REPLY;
}
