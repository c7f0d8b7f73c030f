/*
 * sl_admin_cluster.c — the admin calls on the cluster and its partitions (splicelog.h, "admin"):
 * ListOffsets (each partition's leader), Metadata, DescribeCluster (Metadata on a broker that
 * predates it), DescribeLogDirs (every broker) and ElectLeaders (the controller). Results live in
 * the handle's pool (sl_admin_int.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kp_msg_cluster.h"
#include "sl_admin_int.h"

SL__ADM_API(list_offsets, LIST_OFFSETS, 0, 7);
SL__ADM_API(describe_cluster, DESCRIBE_CLUSTER, 0, 1);
SL__ADM_API(describe_log_dirs, DESCRIBE_LOG_DIRS, 0, 4);
SL__ADM_API(elect_leaders, ELECT_LEADERS, 0, 2);

/* Each of parts' leader (-1: unknown, with parts[i].err saying why) from md. */
static void leaders(const sl_metadata *md, sl_topic_partition *parts, size_t n, int32_t *leader)
{
    for (size_t i = 0; i < n; i++) {
        leader[i] = -1;
        parts[i].err = SL_ERR_UNKNOWN_TOPIC_OR_PART;
        for (int32_t t = 0; t < md->topic_cnt; t++) {
            if (strcmp(md->topics[t].topic, parts[i].topic) != 0)
                continue;
            if (md->topics[t].err) {
                parts[i].err = md->topics[t].err;
                break;
            }
            for (int32_t p = 0; p < md->topics[t].partition_cnt; p++)
                if (md->topics[t].partitions[p].id == parts[i].partition) {
                    leader[i] = md->topics[t].partitions[p].leader;
                    parts[i].err = leader[i] >= 0 ? SL_ERR__BAD_MSG : SL_ERR_LEADER_NOT_AVAILABLE;
                }
        }
    }
}

sl_err sl_admin_list_offsets(sl_admin *a, sl_topic_partition *parts, size_t n, int timeout_ms)
{
    if (!a || !sl__adm_parts_ok(parts, n))
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    if (n == 0)
        return SL_ERR_NO_ERROR;
    int64_t deadline = sl__adm_deadline(a, timeout_ms);
    sl_metadata *md;
    int64_t left = deadline - sl__now_ms();
    sl_err e = sl__metadata_query(&a->cl, NULL, left > 0 ? (int)left : 0, &md);
    if (e)
        return e;
    /* Each partition's leader (-1 unknown); per leader one request. */
    int32_t *leader = sl__adm_alloc(a, n * sizeof(*leader));
    bool *sent = sl__adm_alloc(a, n * sizeof(*sent));
    struct kp_list_offsets_req_topic *ts = sl__adm_alloc(a, n * sizeof(*ts));
    struct kp_list_offsets_req_partition *ps = sl__adm_alloc(a, n * sizeof(*ps));
    if (!leader || !sent || !ts || !ps) {
        sl_metadata_free(md);
        return SL_ERR__NO_MEMORY;
    }
    leaders(md, parts, n, leader);
    for (size_t i = 0; i < n; i++)
        sent[i] = leader[i] < 0;
    int err = 0;
    for (size_t i = 0; !err && i < n; i++) {
        if (sent[i])
            continue;
        struct sl__conn *conn = NULL;
        for (int32_t b = 0; b < md->broker_cnt; b++)
            if (md->brokers[b].id == leader[i])
                conn = sl__adm_node_conn(a, leader[i], md->brokers[b].host, md->brokers[b].port);
        if (!conn) {
            parts[i].err = SL_ERR_LEADER_NOT_AVAILABLE;
            sent[i] = true;
            continue;
        }
        err = sl__adm_ready(a, conn, deadline);
        if (err)
            break;
        /* every partition of this leader, one topic entry per partition (Kafka accepts a topic
         * named twice; the answer is matched by name and partition) */
        size_t np = 0, guess = 32;
        for (size_t k = i; k < n; k++) {
            if (sent[k] || leader[k] != leader[i])
                continue;
            ps[np] =
                (struct kp_list_offsets_req_partition){parts[k].partition, parts[k].offset, -1, 1};
            ts[np] = (struct kp_list_offsets_req_topic){kp_str_of(parts[k].topic), 1, &ps[np]};
            guess += 24 + strlen(parts[k].topic);
            np++;
            sent[k] = true;
        }
        struct kp_list_offsets_req req = {-1, 0, (int32_t)np, ts};
        struct kp_list_offsets_resp resp;
        int16_t v;
        err = sl__adm_ask(a, conn, &api_list_offsets, &req, guess, deadline, &resp, &v);
        for (int32_t t = 0; !err && t < resp.n_topics; t++)
            for (int32_t p = 0; p < resp.topics[t].n_partitions; p++) {
                const struct kp_list_offsets_resp_partition *x = &resp.topics[t].partitions[p];
                for (size_t k = i; k < n; k++)
                    if (leader[k] == leader[i] && parts[k].partition == x->partition_index &&
                        parts[k].err == SL_ERR__BAD_MSG &&
                        kp_str_eq(resp.topics[t].name, parts[k].topic)) {
                        parts[k].err = (sl_err)x->error_code;
                        parts[k].offset = x->error_code ? -1 : x->offset;
                        break;
                    }
            }
    }
    sl_metadata_free(md);
    return sl__err_from_errno(err);
}

sl_err sl_admin_metadata(sl_admin *a, const char *topic, int timeout_ms, sl_metadata **out)
{
    if (!a)
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    return sl__metadata_query(&a->cl, topic, timeout_ms, out);
}

/* The cluster as Metadata tells it, for a broker without DescribeCluster. */
static sl_err cluster_from_metadata(sl_admin *a, int64_t deadline, sl_cluster *cl)
{
    sl_metadata *md;
    int64_t left = deadline - sl__now_ms();
    sl_err e = sl__metadata_query(&a->cl, NULL, left > 0 ? (int)left : 0, &md);
    if (e)
        return e;
    sl_metadata_broker *bs = sl__adm_alloc(a, ((size_t)md->broker_cnt + 1) * sizeof(*bs));
    if (bs)
        for (int32_t i = 0; i < md->broker_cnt; i++)
            bs[i] = (sl_metadata_broker){md->brokers[i].id, sl__adm_cstr(a, md->brokers[i].host),
                                         md->brokers[i].port};
    cl->cluster_id = sl__adm_cstr(a, md->cluster_id);
    cl->controller_id = md->controller_id;
    cl->brokers = bs;
    cl->broker_cnt = bs ? (size_t)md->broker_cnt : 0;
    cl->from_metadata = 1;
    sl_metadata_free(md);
    return SL_ERR_NO_ERROR;
}

sl_err sl_admin_describe_cluster(sl_admin *a, int timeout_ms, const sl_cluster **out)
{
    if (!a || !out)
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *out = NULL;
    int64_t deadline = sl__adm_deadline(a, timeout_ms);
    struct sl__conn *conn;
    int err = sl__adm_any(a, deadline, &conn);
    if (err)
        return sl__err_from_errno(err);
    sl_cluster *cl = sl__adm_alloc(a, sizeof(*cl));
    if (!cl)
        return SL_ERR__NO_MEMORY;
    if (sl__adm_version(conn, &api_describe_cluster) < 0) {
        sl_err e = cluster_from_metadata(a, deadline, cl);
        if (!e)
            *out = cl;
        return sl__adm_done(a, e);
    }
    struct kp_describe_cluster_req req = {false, 1};
    struct kp_describe_cluster_resp resp;
    int16_t v;
    err = sl__adm_ask(a, conn, &api_describe_cluster, &req, 16, deadline, &resp, &v);
    if (err)
        return sl__err_from_errno(err);
    if (resp.error_code)
        return (sl_err)resp.error_code;
    sl_metadata_broker *bs = sl__adm_alloc(a, ((size_t)resp.n_brokers + 1) * sizeof(*bs));
    if (bs)
        for (int32_t i = 0; i < resp.n_brokers; i++)
            bs[i] = (sl_metadata_broker){resp.brokers[i].broker_id,
                                         sl__adm_str(a, resp.brokers[i].host, false),
                                         resp.brokers[i].port};
    cl->cluster_id = sl__adm_str(a, resp.cluster_id, false);
    cl->controller_id = resp.controller_id;
    cl->brokers = bs;
    cl->broker_cnt = bs ? (size_t)resp.n_brokers : 0;
    *out = cl;
    return sl__adm_done(a, SL_ERR_NO_ERROR);
}

struct dirs {
    sl_log_dir *ds;
    size_t n, cap;
};

/* One broker's log dirs, appended to ctx's list. */
static sl_err dirs_one(sl_admin *a, int32_t node, int16_t v, const void *r, void *ctx)
{
    const struct kp_describe_log_dirs_resp *resp = r;
    struct dirs *l = ctx;
    if (resp->error_code)
        return (sl_err)resp->error_code;
    for (int32_t i = 0; i < resp->n_results; i++) {
        sl_log_dir *d = sl__adm_push(a, (void **)&l->ds, &l->n, &l->cap, sizeof(*d));
        if (!d)
            return SL_ERR__NO_MEMORY;
        const struct kp_describe_log_dirs_result *x = &resp->results[i];
        size_t total = 0;
        for (int32_t t = 0; t < x->n_topics; t++)
            total += (size_t)x->topics[t].n_partitions;
        sl_log_dir_partition *ps = sl__adm_alloc(a, (total + 1) * sizeof(*ps));
        size_t k = 0;
        for (int32_t t = 0; ps && t < x->n_topics; t++) {
            const char *topic = sl__adm_str(a, x->topics[t].name, false);
            for (int32_t p = 0; p < x->topics[t].n_partitions; p++) {
                const struct kp_describe_log_dirs_partition *y = &x->topics[t].partitions[p];
                ps[k++] = (sl_log_dir_partition){topic, y->partition_index, y->partition_size,
                                                 y->offset_lag};
            }
        }
        *d = (sl_log_dir){node,
                          sl__adm_str(a, x->log_dir, false),
                          (sl_err)x->error_code,
                          v >= 4 ? x->total_bytes : -1,
                          v >= 4 ? x->usable_bytes : -1,
                          k,
                          ps};
    }
    return SL_ERR_NO_ERROR;
}

sl_err sl_admin_describe_log_dirs(sl_admin *a, int timeout_ms, const sl_log_dir **out, size_t *n)
{
    if (!a || !out || !n)
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *out = NULL;
    *n = 0;
    struct dirs l = {0};
    struct kp_describe_log_dirs_req req = {-1, NULL};
    struct kp_describe_log_dirs_resp resp;
    sl_err e = sl__adm_each_broker(a, sl__adm_deadline(a, timeout_ms), &api_describe_log_dirs, &req,
                                   &resp, dirs_one, &l);
    if (!e && !l.ds)
        l.ds = sl__adm_alloc(a, sizeof(*l.ds));
    e = sl__adm_done(a, e);
    if (!e) {
        *out = l.ds;
        *n = l.n;
    }
    return e;
}

/* The request's topics: parts grouped by topic, in the order each topic first comes. */
static struct kp_elect_leaders_req_topic *elect_topics(sl_admin *a, const sl_topic_partition *parts,
                                                       size_t n, int32_t *nt, size_t *guess)
{
    struct kp_elect_leaders_req_topic *ts = sl__adm_alloc(a, (n + 1) * sizeof(*ts));
    int32_t *ps = sl__adm_alloc(a, (n + 1) * sizeof(*ps));
    bool *done = sl__adm_alloc(a, n + 1);
    if (!ts || !ps || !done)
        return NULL;
    size_t k = 0;
    *nt = 0;
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        struct kp_elect_leaders_req_topic *t = &ts[(*nt)++];
        *t = (struct kp_elect_leaders_req_topic){kp_str_of(parts[i].topic), 0, &ps[k]};
        *guess += 8 + strlen(parts[i].topic);
        for (size_t j = i; j < n; j++)
            if (!done[j] && strcmp(parts[j].topic, parts[i].topic) == 0) {
                ps[k++] = parts[j].partition;
                t->n_partitions++;
                done[j] = true;
                *guess += 4;
            }
    }
    return ts;
}

sl_err sl_admin_elect_leaders(sl_admin *a, const sl_topic_partition *parts, size_t n,
                              int timeout_ms, const sl_election **out, size_t *out_cnt)
{
    if (!a || !out || !out_cnt || (n && !sl__adm_parts_ok(parts, n)))
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *out = NULL;
    *out_cnt = 0;
    int64_t deadline = sl__adm_deadline(a, timeout_ms);
    sl_metadata *md;
    int err = sl__adm_metadata(a, deadline, &md);
    if (err)
        return sl__err_from_errno(err);
    struct sl__conn *conn = NULL;
    for (int32_t b = 0; b < md->broker_cnt; b++)
        if (md->brokers[b].id == md->controller_id)
            conn =
                sl__adm_node_conn(a, md->controller_id, md->brokers[b].host, md->brokers[b].port);
    sl_metadata_free(md);
    if (!conn)
        return sl__adm_done(a, SL_ERR_NOT_CONTROLLER); /* (none known) */
    err = sl__adm_ready(a, conn, deadline);
    if (err)
        return sl__err_from_errno(err);
    size_t guess = 32;
    int32_t nt = 0;
    struct kp_elect_leaders_req_topic *ts = n ? elect_topics(a, parts, n, &nt, &guess) : NULL;
    if (n && !ts)
        return SL_ERR__NO_MEMORY;
    struct kp_elect_leaders_req req = {0, n ? nt : -1, ts, timeout_ms > 0 ? timeout_ms : 60000};
    struct kp_elect_leaders_resp resp;
    int16_t v;
    err = sl__adm_ask(a, conn, &api_elect_leaders, &req, guess, deadline, &resp, &v);
    if (err)
        return sl__err_from_errno(err);
    if (resp.error_code)
        return (sl_err)resp.error_code;
    size_t total = 0;
    for (int32_t t = 0; t < resp.n_results; t++)
        total += resp.results[t].n_partitions > 0 ? (size_t)resp.results[t].n_partitions : 0;
    sl_election *es = sl__adm_alloc(a, (total + 1) * sizeof(*es));
    size_t k = 0;
    for (int32_t t = 0; es && t < resp.n_results; t++) {
        const char *topic = sl__adm_str(a, resp.results[t].topic, false);
        for (int32_t p = 0; p < resp.results[t].n_partitions; p++) {
            const struct kp_elect_leaders_resp_partition *x = &resp.results[t].partitions[p];
            es[k++] = (sl_election){topic, x->partition_id, (sl_err)x->error_code,
                                    sl__adm_str(a, x->error_message, true)};
        }
    }
    sl_err e = sl__adm_done(a, SL_ERR_NO_ERROR);
    if (!e) {
        *out = es;
        *out_cnt = k;
    }
    return e;
}
