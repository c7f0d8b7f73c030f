/*
 * test_sl_admin — libsplicelog's admin handle (sl_admin_*, client/sl_admin.c) against the scripted
 * broker of sl_fake_broker.h, which this suite teaches the admin APIs (fb.extra: a small
 * in-memory model of topics, configs and groups, every request decoded and every response
 * encoded with proto's codecs, so a request the client encodes wrongly fails here):
 * - each call's request arrives as meant (names, counts, configs, operations, validate_only) and
 *   its per-item results come back in the order asked, with the broker's errors and messages;
 * - versions: the highest both sides speak is used (flexible ones included), an older broker's
 *   range is respected (DescribeConfigs v0's is_default), and an API the broker does not
 *   advertise is SL_ERR__UNSUPPORTED_FEATURE with nothing sent;
 * - groups go through FindCoordinator; describe decodes the consumer protocol's assignment;
 *   committed offsets, commits (refused while the group has members) and list offsets;
 * - describe cluster falls back to Metadata without DescribeCluster; log dirs.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_consumer.h"
#include "kp_msg_cluster.h"
#include "kp_msg_config.h"
#include "kp_msg_groups_admin.h"
#include "sl_int.h"

#include "sl_fake_broker.h"
#include "tb_check.h"

/* ---- the model ------------------------------------------------------------------------------ */

#define MAXT 16

static struct {
    char topics[MAXT][64]; /* created topics (besides "t") */
    int ntopics;
    char last_config[128];      /* "name=value" of the last CreateTopics config */
    int32_t t_parts;            /* "t"'s partition count as CreatePartitions set it */
    char ops[256];              /* IncrementalAlterConfigs / AlterConfigs, as "op:name=value;" */
    int64_t committed[FB_MAXP]; /* group g2's commits of t */
    int16_t seen_v[100];        /* the version of the last request per API key */
    int requests[100];          /* requests per API key */
} M;

static struct kp_api_range ranges[] = {
    {KP_API_CREATE_TOPICS, 0, 4},     {KP_API_DELETE_TOPICS, 0, 3},
    {KP_API_CREATE_PARTITIONS, 0, 3}, {KP_API_DESCRIBE_CONFIGS, 0, 4},
    {KP_API_ALTER_CONFIGS, 0, 2},     {KP_API_INCREMENTAL_ALTER_CONFIGS, 0, 1},
    {KP_API_FIND_COORDINATOR, 0, 2},  {KP_API_LIST_GROUPS, 0, 5},
    {KP_API_DESCRIBE_GROUPS, 0, 5},   {KP_API_DELETE_GROUPS, 0, 2},
    {KP_API_OFFSET_FETCH, 1, 4},      {KP_API_OFFSET_COMMIT, 0, 5},
    {KP_API_DESCRIBE_CLUSTER, 0, 1},  {KP_API_DESCRIBE_LOG_DIRS, 0, 4},
};
#define NRANGES ((int)(sizeof ranges / sizeof ranges[0]))

static int find_topic(struct kp_str name)
{
    for (int i = 0; i < M.ntopics; i++)
        if (kp_str_eq(name, M.topics[i]))
            return i;
    return -1;
}

static int serve_topics(int16_t key, int16_t v, struct kp_rd *rd, struct kp_arena *a,
                        struct kp_wr *w)
{
    if (key == KP_API_CREATE_TOPICS) {
        struct kp_create_topics_req q;
        if (kp_create_topics_req_decode(rd, v, a, &q))
            return -EBADMSG;
        struct kp_create_topics_result *rs = kp_arena_alloc(a, (size_t)q.n_topics + 1, sizeof(*rs));
        for (int32_t i = 0; i < q.n_topics; i++) {
            const struct kp_create_topics_topic *t = &q.topics[i];
            int16_t ec = 0;
            struct kp_str msg = KP_STR_NULL;
            if (kp_str_eq(t->name, "t") || find_topic(t->name) >= 0) {
                ec = KP_ERR_TOPIC_ALREADY_EXISTS;
                msg = kp_str_of("it is there");
            } else if (t->num_partitions == 0) {
                ec = KP_ERR_INVALID_PARTITIONS;
            } else if (!q.validate_only && M.ntopics < MAXT && t->name.len < 64) {
                memcpy(M.topics[M.ntopics], t->name.ptr, (size_t)t->name.len);
                M.topics[M.ntopics++][t->name.len] = 0;
            }
            for (int32_t k = 0; k < t->n_configs; k++)
                snprintf(M.last_config, sizeof M.last_config, "%.*s=%.*s",
                         (int)t->configs[k].name.len, t->configs[k].name.ptr,
                         (int)(t->configs[k].value.len > 0 ? t->configs[k].value.len : 0),
                         t->configs[k].value.ptr ? t->configs[k].value.ptr : "");
            rs[i] = (struct kp_create_topics_result){.name = t->name,
                                                     .error_code = ec,
                                                     .error_message = msg,
                                                     .num_partitions = -1,
                                                     .replication_factor = -1,
                                                     .n_configs = -1};
        }
        /* answered in reverse order: the client matches by name */
        for (int32_t i = 0; i < q.n_topics / 2; i++) {
            struct kp_create_topics_result x = rs[i];
            rs[i] = rs[q.n_topics - 1 - i];
            rs[q.n_topics - 1 - i] = x;
        }
        struct kp_create_topics_resp r = {0, q.n_topics, rs};
        return kp_create_topics_resp_encode(w, v, &r);
    }
    if (key == KP_API_DELETE_TOPICS) {
        struct kp_delete_topics_req q;
        if (kp_delete_topics_req_decode(rd, v, a, &q))
            return -EBADMSG;
        struct kp_delete_topics_result *rs = kp_arena_alloc(a, (size_t)q.n_topics + 1, sizeof(*rs));
        for (int32_t i = 0; i < q.n_topics; i++) {
            int k = find_topic(q.topic_names[i]);
            if (k >= 0)
                M.topics[k][0] = 0;
            rs[i] = (struct kp_delete_topics_result){
                q.topic_names[i], k >= 0 ? 0 : KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, {0}, KP_STR_NULL};
        }
        struct kp_delete_topics_resp r = {0, q.n_topics, rs};
        return kp_delete_topics_resp_encode(w, v, &r);
    }
    if (key == KP_API_CREATE_PARTITIONS) {
        struct kp_create_partitions_req q;
        if (kp_create_partitions_req_decode(rd, v, a, &q))
            return -EBADMSG;
        struct kp_create_partitions_result *rs =
            kp_arena_alloc(a, (size_t)q.n_topics + 1, sizeof(*rs));
        for (int32_t i = 0; i < q.n_topics; i++) {
            int16_t ec = 0;
            if (!kp_str_eq(q.topics[i].name, "t"))
                ec = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (q.topics[i].count <= M.t_parts)
                ec = KP_ERR_INVALID_PARTITIONS;
            else if (!q.validate_only)
                M.t_parts = q.topics[i].count;
            rs[i] = (struct kp_create_partitions_result){q.topics[i].name, ec,
                                                         ec ? kp_str_of("no") : KP_STR_NULL};
        }
        struct kp_create_partitions_resp r = {0, q.n_topics, rs};
        return kp_create_partitions_resp_encode(w, v, &r);
    }
    return 1; /* not mine */
}

static int serve_configs(int16_t key, int16_t v, struct kp_rd *rd, struct kp_arena *a,
                         struct kp_wr *w)
{
    if (key == KP_API_DESCRIBE_CONFIGS) {
        struct kp_describe_configs_req q;
        if (kp_describe_configs_req_decode(rd, v, a, &q) || q.n_resources != 1)
            return -EBADMSG;
        const struct kp_describe_configs_resource *res = &q.resources[0];
        struct kp_describe_configs_entry *es = kp_arena_alloc(a, 2, sizeof(*es));
        int32_t n = 0;
        int16_t ec = 0;
        if (res->resource_type == KP_CONFIG_RESOURCE_TOPIC && kp_str_eq(res->resource_name, "t")) {
            es[n++] =
                (struct kp_describe_configs_entry){.name = kp_str_of("retention.ms"),
                                                   .value = kp_str_of("1000"),
                                                   .config_source = KP_CONFIG_SOURCE_DYNAMIC_TOPIC,
                                                   .config_type = KP_CONFIG_TYPE_LONG};
            es[n++] = (struct kp_describe_configs_entry){.name = kp_str_of("cleanup.policy"),
                                                         .value = kp_str_of("delete"),
                                                         .is_default = true,
                                                         .config_source = KP_CONFIG_SOURCE_DEFAULT,
                                                         .config_type = KP_CONFIG_TYPE_LIST};
        } else if (res->resource_type == KP_CONFIG_RESOURCE_BROKER &&
                   kp_str_eq(res->resource_name, "0")) {
            es[n++] =
                (struct kp_describe_configs_entry){.name = kp_str_of("ssl.key.password"),
                                                   .value = KP_STR_NULL,
                                                   .is_sensitive = true,
                                                   .config_source = KP_CONFIG_SOURCE_STATIC_BROKER,
                                                   .config_type = KP_CONFIG_TYPE_PASSWORD};
        } else {
            ec = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
        if (res->n_configuration_keys > 0) /* asked for some keys: only the first one */
            n = 1;
        struct kp_describe_configs_result rs = {ec,
                                                ec ? kp_str_of("no such resource") : KP_STR_NULL,
                                                res->resource_type,
                                                res->resource_name,
                                                ec ? 0 : n,
                                                es};
        struct kp_describe_configs_resp r = {0, 1, &rs};
        return kp_describe_configs_resp_encode(w, v, &r);
    }
    if (key == KP_API_INCREMENTAL_ALTER_CONFIGS) {
        struct kp_incremental_alter_configs_req q;
        if (kp_incremental_alter_configs_req_decode(rd, v, a, &q) || q.n_resources != 1)
            return -EBADMSG;
        const struct kp_incremental_alter_configs_resource *res = &q.resources[0];
        int16_t ec = 0;
        for (int32_t i = 0; i < res->n_configs; i++) {
            const struct kp_incremental_alter_configs_config *c = &res->configs[i];
            if (kp_str_eq(c->name, "no.such.config"))
                ec = KP_ERR_INVALID_CONFIG;
            size_t l = strlen(M.ops);
            snprintf(M.ops + l, sizeof M.ops - l, "%d:%.*s=%.*s;", c->config_operation,
                     (int)c->name.len, c->name.ptr, (int)(c->value.len > 0 ? c->value.len : 4),
                     c->value.ptr ? c->value.ptr : "null");
        }
        struct kp_alter_configs_result rs = {ec, ec ? kp_str_of("unknown config") : KP_STR_NULL,
                                             res->resource_type, res->resource_name};
        struct kp_incremental_alter_configs_resp r = {0, 1, &rs};
        return kp_incremental_alter_configs_resp_encode(w, v, &r);
    }
    if (key == KP_API_ALTER_CONFIGS) {
        struct kp_alter_configs_req q;
        if (kp_alter_configs_req_decode(rd, v, a, &q) || q.n_resources != 1)
            return -EBADMSG;
        const struct kp_alter_configs_resource *res = &q.resources[0];
        for (int32_t i = 0; i < res->n_configs; i++) {
            size_t l = strlen(M.ops);
            snprintf(M.ops + l, sizeof M.ops - l, "alter:%.*s=%.*s;", (int)res->configs[i].name.len,
                     res->configs[i].name.ptr, (int)res->configs[i].value.len,
                     res->configs[i].value.ptr);
        }
        struct kp_alter_configs_result rs = {q.validate_only ? KP_ERR_POLICY_VIOLATION : 0,
                                             KP_STR_NULL, res->resource_type, res->resource_name};
        struct kp_alter_configs_resp r = {0, 1, &rs};
        return kp_alter_configs_resp_encode(w, v, &r);
    }
    return 1;
}

/* g1: Stable, one member assigned t-0 and t-1; g2: Empty, commits kept in M.committed. */
static int serve_groups(int16_t key, int16_t v, struct kp_rd *rd, struct kp_arena *a,
                        struct kp_wr *w)
{
    if (key == KP_API_FIND_COORDINATOR) {
        struct kp_find_coordinator_req q;
        if (kp_find_coordinator_req_decode(rd, v, a, &q))
            return -EBADMSG;
        bool loading = kp_str_eq(q.key, "loading");
        struct kp_find_coordinator_resp r = {.error_code =
                                                 loading ? KP_ERR_COORDINATOR_NOT_AVAILABLE : 0,
                                             .error_message = KP_STR_NULL,
                                             .node_id = loading ? -1 : 0,
                                             .host = kp_str_of(loading ? "" : "127.0.0.1"),
                                             .port = loading ? -1 : fb.port};
        return kp_find_coordinator_resp_encode(w, v, &r);
    }
    if (key == KP_API_LIST_GROUPS) {
        struct kp_list_groups_req q;
        if (kp_list_groups_req_decode(rd, v, a, &q))
            return -EBADMSG;
        static struct kp_list_groups_group gs[2];
        gs[0] = (struct kp_list_groups_group){kp_str_of("g1"), kp_str_of("consumer"),
                                              kp_str_of("Stable"), kp_str_of("classic")};
        gs[1] = (struct kp_list_groups_group){kp_str_of("g2"), kp_str_of("consumer"),
                                              kp_str_of("Empty"), kp_str_of("classic")};
        struct kp_list_groups_resp r = {0, 0, 2, gs};
        return kp_list_groups_resp_encode(w, v, &r);
    }
    if (key == KP_API_DESCRIBE_GROUPS) {
        struct kp_describe_groups_req q;
        if (kp_describe_groups_req_decode(rd, v, a, &q))
            return -EBADMSG;
        struct kp_describe_groups_group *gs =
            kp_arena_alloc(a, (size_t)q.n_groups + 1, sizeof(*gs));
        static const int32_t parts[] = {0, 1};
        struct kp_consumer_topic_parts tp = {kp_str_of("t"), 2, parts};
        struct kp_consumer_assignment as = {1, 1, &tp, {NULL, -1}};
        uint8_t *abuf = kp_arena_alloc(a, 256, 1);
        struct kp_wr aw;
        kp_wr_init(&aw, abuf, 256);
        if (kp_consumer_assignment_encode(&aw, &as))
            return -EINVAL;
        struct kp_describe_groups_member *m = kp_arena_alloc(a, 1, sizeof(*m));
        *m = (struct kp_describe_groups_member){
            kp_str_of("member-1"),   KP_STR_NULL, kp_str_of("app"),
            kp_str_of("/127.0.0.1"), {NULL, 0},   {abuf, (int32_t)kp_wr_len(&aw)}};
        for (int32_t i = 0; i < q.n_groups; i++) {
            bool g1 = kp_str_eq(q.groups[i], "g1");
            bool g2 = kp_str_eq(q.groups[i], "g2");
            gs[i] = (struct kp_describe_groups_group){0,
                                                      q.groups[i],
                                                      kp_str_of(g1   ? "Stable"
                                                                : g2 ? "Empty"
                                                                     : "Dead"),
                                                      kp_str_of(g1 || g2 ? "consumer" : ""),
                                                      kp_str_of(g1 ? "range" : ""),
                                                      g1 ? 1 : 0,
                                                      g1 ? m : NULL,
                                                      INT32_MIN};
        }
        struct kp_describe_groups_resp r = {0, q.n_groups, gs};
        return kp_describe_groups_resp_encode(w, v, &r);
    }
    if (key == KP_API_DELETE_GROUPS) {
        struct kp_delete_groups_req q;
        if (kp_delete_groups_req_decode(rd, v, a, &q))
            return -EBADMSG;
        struct kp_delete_groups_result *rs =
            kp_arena_alloc(a, (size_t)q.n_groups_names + 1, sizeof(*rs));
        for (int32_t i = 0; i < q.n_groups_names; i++)
            rs[i] = (struct kp_delete_groups_result){
                q.groups_names[i], kp_str_eq(q.groups_names[i], "g1")   ? 68 /* NON_EMPTY_GROUP */
                                   : kp_str_eq(q.groups_names[i], "g2") ? 0
                                                                        : 69 /* NOT_FOUND */};
        struct kp_delete_groups_resp r = {0, q.n_groups_names, rs};
        return kp_delete_groups_resp_encode(w, v, &r);
    }
    if (key == KP_API_OFFSET_FETCH) {
        struct kp_offset_fetch_req q;
        if (kp_offset_fetch_req_decode(rd, v, a, &q) || q.n_topics != -1)
            return -EBADMSG; /* the admin asks for every committed partition */
        struct kp_offset_fetch_resp_partition *ps = kp_arena_alloc(a, FB_MAXP, sizeof(*ps));
        int32_t n = 0;
        for (int p = 0; p < fb.nparts; p++) {
            int64_t off = kp_str_eq(q.group_id, "g1") ? (p == 0 ? 5 : -1) : M.committed[p];
            if (off < 0 && !kp_str_eq(q.group_id, "g1"))
                continue;
            ps[n++] = (struct kp_offset_fetch_resp_partition){p, off, kp_str_of(""), 0, -1};
        }
        struct kp_offset_fetch_resp_topic t = {kp_str_of("t"), n, ps};
        struct kp_offset_fetch_resp r = {0, n ? 1 : 0, &t, 0, 0, NULL};
        return kp_offset_fetch_resp_encode(w, v, &r);
    }
    if (key == KP_API_OFFSET_COMMIT) {
        struct kp_offset_commit_req q;
        if (kp_offset_commit_req_decode(rd, v, a, &q))
            return -EBADMSG;
        bool members = kp_str_eq(q.group_id, "g1");
        if (q.generation_id != -1 || q.member_id.len != 0)
            return -EBADMSG; /* the admin commits as a memberless consumer */
        struct kp_offset_commit_resp_topic *ts =
            kp_arena_alloc(a, (size_t)q.n_topics + 1, sizeof(*ts));
        for (int32_t i = 0; i < q.n_topics; i++) {
            const struct kp_offset_commit_req_topic *t = &q.topics[i];
            struct kp_offset_commit_resp_partition *ps =
                kp_arena_alloc(a, (size_t)t->n_partitions + 1, sizeof(*ps));
            for (int32_t k = 0; k < t->n_partitions; k++) {
                int32_t p = t->partitions[k].partition_index;
                int16_t ec = members ? KP_ERR_UNKNOWN_MEMBER_ID
                             : !kp_str_eq(t->name, "t") || p >= fb.nparts
                                 ? KP_ERR_UNKNOWN_TOPIC_OR_PARTITION
                                 : 0;
                if (!ec)
                    M.committed[p] = t->partitions[k].committed_offset;
                ps[k] = (struct kp_offset_commit_resp_partition){p, ec};
            }
            ts[i] = (struct kp_offset_commit_resp_topic){t->name, t->n_partitions, ps};
        }
        struct kp_offset_commit_resp r = {0, q.n_topics, ts};
        return kp_offset_commit_resp_encode(w, v, &r);
    }
    return 1;
}

static int serve_cluster(int16_t key, int16_t v, struct kp_rd *rd, struct kp_arena *a,
                         struct kp_wr *w)
{
    if (key == KP_API_DESCRIBE_CLUSTER) {
        struct kp_describe_cluster_req q;
        if (kp_describe_cluster_req_decode(rd, v, a, &q))
            return -EBADMSG;
        struct kp_describe_cluster_broker *b = kp_arena_alloc(a, 1, sizeof(*b));
        *b = (struct kp_describe_cluster_broker){0, kp_str_of("127.0.0.1"), fb.port, KP_STR_NULL};
        struct kp_describe_cluster_resp r = {.error_message = KP_STR_NULL,
                                             .endpoint_type = 1,
                                             .cluster_id = kp_str_of("fake-cluster"),
                                             .controller_id = 0,
                                             .n_brokers = 1,
                                             .brokers = b,
                                             .cluster_authorized_operations = INT32_MIN};
        return kp_describe_cluster_resp_encode(w, v, &r);
    }
    if (key == KP_API_DESCRIBE_LOG_DIRS) {
        struct kp_describe_log_dirs_req q;
        if (kp_describe_log_dirs_req_decode(rd, v, a, &q) || q.n_topics != -1)
            return -EBADMSG;
        struct kp_describe_log_dirs_partition *ps = kp_arena_alloc(a, 2, sizeof(*ps));
        ps[0] = (struct kp_describe_log_dirs_partition){0, 123, 0, false};
        ps[1] = (struct kp_describe_log_dirs_partition){1, 0, 0, false};
        struct kp_describe_log_dirs_topic *t = kp_arena_alloc(a, 1, sizeof(*t));
        *t = (struct kp_describe_log_dirs_topic){kp_str_of("t"), 2, ps};
        struct kp_describe_log_dirs_result *res = kp_arena_alloc(a, 1, sizeof(*res));
        *res = (struct kp_describe_log_dirs_result){0,      kp_str_of("/fake/data"), 1, t, 1 << 30,
                                                    1 << 29};
        struct kp_describe_log_dirs_resp r = {0, 0, 1, res};
        return kp_describe_log_dirs_resp_encode(w, v, &r);
    }
    return 1;
}

static int serve(int16_t key, int16_t v, struct kp_rd *rd, struct kp_arena *a, struct kp_wr *w)
{
    if (key >= 0 && key < 100) {
        M.seen_v[key] = v;
        M.requests[key]++;
    }
    int rc = serve_topics(key, v, rd, a, w);
    if (rc == 1)
        rc = serve_configs(key, v, rd, a, w);
    if (rc == 1)
        rc = serve_groups(key, v, rd, a, w);
    if (rc == 1)
        rc = serve_cluster(key, v, rd, a, w);
    return rc == 1 ? -ENOTSUP : rc;
}

/* ---- fixture ------------------------------------------------------------------------------- */

static sl_admin *A;

static void start_with(const struct kp_api_range *r, int n)
{
    memset(&M, 0, sizeof M);
    for (int p = 0; p < FB_MAXP; p++)
        M.committed[p] = -1;
    ck_assert_int_eq(fb_start(2), 0);
    M.t_parts = 2;
    fb.extra = serve;
    fb.extra_apis = r;
    fb.n_extra_apis = n;
    sl_conf *c = sl_conf_new();
    char b[64];
    snprintf(b, sizeof b, "127.0.0.1:%d", fb.port);
    ck_assert_int_eq(sl_conf_set(c, "bootstrap.servers", b, NULL, 0), SL_ERR_NO_ERROR);
    char err[256];
    A = sl_admin_new(c, err, sizeof err);
    ck_assert_msg(A != NULL, "%s", err);
}

static void setup(void) { start_with(ranges, NRANGES); }

static void teardown(void)
{
    sl_admin_free(A);
    A = NULL;
    fb_stop();
    ck_assert_int_eq(fb.bad_requests, 0); /* every request decoded and answered */
}

/* ---- topics --------------------------------------------------------------------------------- */

START_TEST(create_delete_and_grow_topics)
{
    sl_config_kv cfg = {"retention.ms", "60000"};
    sl_new_topic ts[3] = {{"a", 3, 1, &cfg, 1}, {"t", 1, -1, NULL, 0}, {"b", 0, -1, NULL, 0}};
    const sl_admin_result *r;
    ck_assert_int_eq(sl_admin_create_topics(A, ts, 3, 0, 5000, &r), SL_ERR_NO_ERROR);
    ck_assert_int_eq(M.seen_v[KP_API_CREATE_TOPICS], 4); /* the broker's highest */
    ck_assert_str_eq(r[0].name, "a");
    ck_assert_int_eq(r[0].err, SL_ERR_NO_ERROR);
    ck_assert_str_eq(r[0].errmsg, "");
    ck_assert_str_eq(r[1].name, "t");
    ck_assert_int_eq(r[1].err, SL_ERR_TOPIC_ALREADY_EXISTS);
    ck_assert_str_eq(r[1].errmsg, "it is there");
    ck_assert_int_eq(r[2].err, SL_ERR_INVALID_PARTITIONS);
    ck_assert_str_eq(M.last_config, "retention.ms=60000");
    ck_assert_int_eq(M.ntopics, 1);
    /* validate_only creates nothing */
    sl_new_topic c = {"c", 1, 1, NULL, 0};
    ck_assert_int_eq(sl_admin_create_topics(A, &c, 1, 1, 5000, &r), SL_ERR_NO_ERROR);
    ck_assert_int_eq(r[0].err, SL_ERR_NO_ERROR);
    ck_assert_int_eq(M.ntopics, 1);

    const char *del[] = {"a", "nosuch"};
    ck_assert_int_eq(sl_admin_delete_topics(A, del, 2, 5000, &r), SL_ERR_NO_ERROR);
    ck_assert_int_eq(M.seen_v[KP_API_DELETE_TOPICS], 3);
    ck_assert_int_eq(r[0].err, SL_ERR_NO_ERROR);
    ck_assert_int_eq(r[1].err, SL_ERR_UNKNOWN_TOPIC_OR_PART);

    sl_new_partitions np[2] = {{"t", 5}, {"t2", 2}};
    ck_assert_int_eq(sl_admin_create_partitions(A, np, 1, 0, 5000, &r), SL_ERR_NO_ERROR);
    ck_assert_int_eq(r[0].err, SL_ERR_NO_ERROR);
    ck_assert_int_eq(M.t_parts, 5);
    ck_assert_int_eq(M.seen_v[KP_API_CREATE_PARTITIONS], 3); /* flexible */
    ck_assert_int_eq(sl_admin_create_partitions(A, np, 2, 0, 5000, &r), SL_ERR_NO_ERROR);
    ck_assert_int_eq(r[0].err, SL_ERR_INVALID_PARTITIONS);
    ck_assert_str_eq(r[0].errmsg, "no");
    ck_assert_int_eq(r[1].err, SL_ERR_UNKNOWN_TOPIC_OR_PART);

    /* bad arguments never reach the wire */
    const char *empty[] = {""};
    int before = M.requests[KP_API_DELETE_TOPICS];
    ck_assert_int_eq(sl_admin_delete_topics(A, empty, 1, 5000, &r), SL_ERR__INVALID_ARG);
    ck_assert_int_eq(M.requests[KP_API_DELETE_TOPICS], before);
}
END_TEST

/* ---- configs -------------------------------------------------------------------------------- */

START_TEST(describe_and_alter_configs)
{
    const sl_config_resource *r;
    ck_assert_int_eq(sl_admin_describe_configs(A, SL_RESOURCE_TOPIC, "t", NULL, 0, 5000, &r),
                     SL_ERR_NO_ERROR);
    ck_assert_int_eq(M.seen_v[KP_API_DESCRIBE_CONFIGS], 4); /* flexible */
    ck_assert_int_eq(r->err, SL_ERR_NO_ERROR);
    ck_assert_uint_eq(r->entry_cnt, 2);
    ck_assert_str_eq(r->entries[0].name, "retention.ms");
    ck_assert_str_eq(r->entries[0].value, "1000");
    ck_assert_str_eq(sl_config_source_name(r->entries[0].source), "DYNAMIC_TOPIC");
    ck_assert_int_eq(r->entries[0].is_default, 0);
    ck_assert_int_eq(r->entries[1].is_default, 1);
    /* a broker resource goes to that broker; a sensitive value is null */
    ck_assert_int_eq(sl_admin_describe_configs(A, SL_RESOURCE_BROKER, "0", NULL, 0, 5000, &r),
                     SL_ERR_NO_ERROR);
    ck_assert_uint_eq(r->entry_cnt, 1);
    ck_assert_ptr_null(r->entries[0].value);
    ck_assert_int_eq(r->entries[0].is_sensitive, 1);
    ck_assert_int_eq(sl_admin_describe_configs(A, SL_RESOURCE_BROKER, "7", NULL, 0, 5000, &r),
                     SL_ERR_BROKER_NOT_AVAILABLE);
    /* some keys only; an unknown resource's error and message */
    const char *keys[] = {"retention.ms"};
    ck_assert_int_eq(sl_admin_describe_configs(A, SL_RESOURCE_TOPIC, "t", keys, 1, 5000, &r),
                     SL_ERR_NO_ERROR);
    ck_assert_uint_eq(r->entry_cnt, 1);
    ck_assert_int_eq(sl_admin_describe_configs(A, SL_RESOURCE_TOPIC, "x", NULL, 0, 5000, &r),
                     SL_ERR_NO_ERROR);
    ck_assert_int_eq(r->err, SL_ERR_UNKNOWN_TOPIC_OR_PART);
    ck_assert_str_eq(r->errmsg, "no such resource");

    sl_config_op ops[] = {{"retention.ms", "5", SL_CONFIG_OP_SET},
                          {"segment.ms", NULL, SL_CONFIG_OP_DELETE}};
    const char *msg;
    ck_assert_int_eq(
        sl_admin_incremental_alter_configs(A, SL_RESOURCE_TOPIC, "t", ops, 2, 0, 5000, &msg),
        SL_ERR_NO_ERROR);
    ck_assert_int_eq(M.seen_v[KP_API_INCREMENTAL_ALTER_CONFIGS], 1);
    ck_assert_str_eq(M.ops, "0:retention.ms=5;1:segment.ms=null;");
    sl_config_op bad = {"no.such.config", "1", SL_CONFIG_OP_SET};
    ck_assert_int_eq(
        sl_admin_incremental_alter_configs(A, SL_RESOURCE_TOPIC, "t", &bad, 1, 0, 5000, &msg),
        SL_ERR_INVALID_CONFIG);
    ck_assert_str_eq(msg, "unknown config");

    M.ops[0] = 0;
    sl_config_kv kv = {"retention.ms", "7"};
    ck_assert_int_eq(sl_admin_alter_configs(A, SL_RESOURCE_TOPIC, "t", &kv, 1, 0, 5000, &msg),
                     SL_ERR_NO_ERROR);
    ck_assert_str_eq(M.ops, "alter:retention.ms=7;");
    ck_assert_int_eq(M.seen_v[KP_API_ALTER_CONFIGS], 2);
}
END_TEST

/* An older broker: DescribeConfigs v0 only (is_default instead of sources); no
 * CreatePartitions, ListGroups, DescribeCluster or DescribeLogDirs at all. */
static const struct kp_api_range old_ranges[] = {
    {KP_API_DESCRIBE_CONFIGS, 0, 0},
    {KP_API_FIND_COORDINATOR, 0, 2},
    {KP_API_OFFSET_FETCH, 1, 4},
};

static void setup_old(void) { start_with(old_ranges, 3); }

START_TEST(older_broker_versions_and_missing_apis)
{
    const sl_config_resource *r;
    ck_assert_int_eq(sl_admin_describe_configs(A, SL_RESOURCE_TOPIC, "t", NULL, 0, 5000, &r),
                     SL_ERR_NO_ERROR);
    ck_assert_int_eq(M.seen_v[KP_API_DESCRIBE_CONFIGS], 0);
    ck_assert_uint_eq(r->entry_cnt, 2);
    ck_assert_int_eq(r->entries[1].is_default, 1);
    ck_assert_str_eq(sl_config_source_name(r->entries[1].source), "DEFAULT");

    /* not offered: refused before anything is sent */
    sl_new_partitions np = {"t", 5};
    const sl_admin_result *res;
    ck_assert_int_eq(sl_admin_create_partitions(A, &np, 1, 0, 5000, &res),
                     SL_ERR__UNSUPPORTED_FEATURE);
    const sl_group_listing *gs;
    size_t n;
    ck_assert_int_eq(sl_admin_list_groups(A, 5000, &gs, &n), SL_ERR__UNSUPPORTED_FEATURE);
    const sl_log_dir *ds;
    ck_assert_int_eq(sl_admin_describe_log_dirs(A, 5000, &ds, &n), SL_ERR__UNSUPPORTED_FEATURE);
    ck_assert_int_eq(M.requests[KP_API_CREATE_PARTITIONS] + M.requests[KP_API_LIST_GROUPS] +
                         M.requests[KP_API_DESCRIBE_LOG_DIRS],
                     0);
    /* describe cluster comes from Metadata */
    const sl_cluster *c;
    ck_assert_int_eq(sl_admin_describe_cluster(A, 5000, &c), SL_ERR_NO_ERROR);
    ck_assert_int_eq(c->from_metadata, 1);
    ck_assert_uint_eq(c->broker_cnt, 1);
    ck_assert_int_eq(c->brokers[0].port, fb.port);
    ck_assert_int_eq(M.requests[KP_API_DESCRIBE_CLUSTER], 0);
    /* the group's committed offsets still work (OffsetFetch) */
    const sl_topic_partition *tp;
    ck_assert_int_eq(sl_admin_committed(A, "g1", 5000, &tp, &n), SL_ERR_NO_ERROR);
    ck_assert_uint_eq(n, 2);
}
END_TEST

/* ---- groups --------------------------------------------------------------------------------- */

START_TEST(groups_list_describe_delete)
{
    const sl_group_listing *gs;
    size_t n;
    ck_assert_int_eq(sl_admin_list_groups(A, 5000, &gs, &n), SL_ERR_NO_ERROR);
    ck_assert_int_eq(M.seen_v[KP_API_LIST_GROUPS], 4); /* the client's highest (v5 filters types) */
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(gs[0].group, "g1");
    ck_assert_str_eq(gs[0].state, "Stable");
    ck_assert_str_eq(gs[1].protocol_type, "consumer");
    ck_assert_int_eq(gs[1].coordinator, 0);

    const char *names[] = {"g1", "g2", "loading"};
    const sl_group_description *d;
    /* "loading": COORDINATOR_NOT_AVAILABLE every time, asked again until the deadline */
    int before = M.requests[KP_API_FIND_COORDINATOR];
    ck_assert_int_eq(sl_admin_describe_groups(A, names, 3, 1500, &d), SL_ERR_NO_ERROR);
    ck_assert_int_ge(M.requests[KP_API_FIND_COORDINATOR] - before, 2 + 3);
    ck_assert_int_eq(M.seen_v[KP_API_DESCRIBE_GROUPS], 5);
    ck_assert_int_eq(d[0].err, SL_ERR_NO_ERROR);
    ck_assert_str_eq(d[0].state, "Stable");
    ck_assert_str_eq(d[0].protocol, "range");
    ck_assert_uint_eq(d[0].member_cnt, 1);
    ck_assert_str_eq(d[0].members[0].client_id, "app");
    ck_assert_ptr_null(d[0].members[0].instance_id);
    ck_assert_uint_eq(d[0].members[0].assignment_cnt, 2);
    ck_assert_str_eq(d[0].members[0].assignment[1].topic, "t");
    ck_assert_int_eq(d[0].members[0].assignment[1].partition, 1);
    ck_assert_str_eq(d[1].state, "Empty");
    ck_assert_uint_eq(d[1].member_cnt, 0);
    ck_assert_int_eq(d[2].err, SL_ERR_COORDINATOR_NOT_AVAILABLE);

    const char *del[] = {"g1", "g2", "g3"};
    const sl_admin_result *r;
    ck_assert_int_eq(sl_admin_delete_groups(A, del, 3, 5000, &r), SL_ERR_NO_ERROR);
    ck_assert_int_eq(r[0].err, SL_ERR_NON_EMPTY_GROUP);
    ck_assert_str_eq(sl_err2name(r[0].err), "NON_EMPTY_GROUP");
    ck_assert_int_eq(r[1].err, SL_ERR_NO_ERROR);
    ck_assert_int_eq(r[2].err, SL_ERR_GROUP_ID_NOT_FOUND);
}
END_TEST

START_TEST(offsets_committed_commit_list)
{
    /* log end offsets of t: produce 3 records to partition 0 through the fake's log */
    sl_topic_partition lo[2] = {{"t", 0, SL_OFFSET_BEGINNING, NULL, 0, 0},
                                {"t", 1, SL_OFFSET_END, NULL, 0, 0}};
    ck_assert_int_eq(sl_admin_list_offsets(A, lo, 2, 5000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(lo[0].err, SL_ERR_NO_ERROR);
    ck_assert_int_eq(lo[0].offset, 0);
    ck_assert_int_eq(lo[1].offset, 0);
    sl_topic_partition bad = {"nosuch", 0, SL_OFFSET_END, NULL, 0, 0};
    ck_assert_int_eq(sl_admin_list_offsets(A, &bad, 1, 5000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(bad.err, SL_ERR_UNKNOWN_TOPIC_OR_PART);

    const sl_topic_partition *tp;
    size_t n;
    ck_assert_int_eq(sl_admin_committed(A, "g1", 5000, &tp, &n), SL_ERR_NO_ERROR);
    ck_assert_int_eq(M.seen_v[KP_API_OFFSET_FETCH], 4);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(tp[0].offset, 5);
    ck_assert_int_eq(tp[1].offset, SL_OFFSET_INVALID);

    /* commit as a memberless consumer: refused while the group has members */
    sl_topic_partition c[2] = {{"t", 0, 1, NULL, 0, 0}, {"t", 1, 0, NULL, 0, 0}};
    ck_assert_int_eq(sl_admin_commit(A, "g1", c, 2, 5000), SL_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(c[1].err, SL_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(sl_admin_commit(A, "g2", c, 2, 5000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(M.seen_v[KP_API_OFFSET_COMMIT], 5);
    ck_assert_int_eq(M.committed[0], 1);
    ck_assert_int_eq(M.committed[1], 0);
    ck_assert_int_eq(sl_admin_committed(A, "g2", 5000, &tp, &n), SL_ERR_NO_ERROR);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(tp[0].offset, 1);
    /* a coordinator that is not available */
    ck_assert_int_eq(sl_admin_commit(A, "loading", c, 2, 500), SL_ERR_COORDINATOR_NOT_AVAILABLE);
}
END_TEST

/* ---- cluster -------------------------------------------------------------------------------- */

START_TEST(cluster_and_log_dirs)
{
    const sl_cluster *c;
    ck_assert_int_eq(sl_admin_describe_cluster(A, 5000, &c), SL_ERR_NO_ERROR);
    ck_assert_int_eq(M.seen_v[KP_API_DESCRIBE_CLUSTER], 1);
    ck_assert_int_eq(c->from_metadata, 0);
    ck_assert_str_eq(c->cluster_id, "fake-cluster");
    ck_assert_uint_eq(c->broker_cnt, 1);
    ck_assert_str_eq(c->brokers[0].host, "127.0.0.1");

    const sl_log_dir *ds;
    size_t n;
    ck_assert_int_eq(sl_admin_describe_log_dirs(A, 5000, &ds, &n), SL_ERR_NO_ERROR);
    ck_assert_int_eq(M.seen_v[KP_API_DESCRIBE_LOG_DIRS], 4);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(ds[0].path, "/fake/data");
    ck_assert_int_eq(ds[0].broker, 0);
    ck_assert_int_eq(ds[0].total_bytes, 1 << 30);
    ck_assert_uint_eq(ds[0].partition_cnt, 2);
    ck_assert_int_eq(ds[0].partitions[0].size, 123);

    sl_metadata *md;
    ck_assert_int_eq(sl_admin_metadata(A, NULL, 5000, &md), SL_ERR_NO_ERROR);
    ck_assert_int_eq(md->topic_cnt, 1);
    ck_assert_str_eq(md->topics[0].topic, "t");
    sl_metadata_free(md);
}
END_TEST

START_TEST(unreachable_broker_times_out)
{
    sl_conf *c = sl_conf_new();
    ck_assert_int_eq(sl_conf_set(c, "bootstrap.servers", "127.0.0.1:1", NULL, 0), 0);
    sl_admin *a = sl_admin_new(c, NULL, 0);
    ck_assert_ptr_nonnull(a);
    const sl_cluster *cl;
    sl_err e = sl_admin_describe_cluster(a, 300, &cl);
    ck_assert_msg(e == SL_ERR__TRANSPORT || e == SL_ERR__TIMED_OUT, "%s", sl_err2name(e));
    sl_admin_free(a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sl_admin");
    TCase *tc = tcase_create("admin");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, create_delete_and_grow_topics);
    tcase_add_test(tc, describe_and_alter_configs);
    tcase_add_test(tc, groups_list_describe_delete);
    tcase_add_test(tc, offsets_committed_commit_list);
    tcase_add_test(tc, cluster_and_log_dirs);
    tcase_add_test(tc, unreachable_broker_times_out);
    suite_add_tcase(s, tc);
    TCase *old = tcase_create("old");
    tcase_add_checked_fixture(old, setup_old, teardown);
    tcase_set_timeout(old, 30);
    tcase_add_test(old, older_broker_versions_and_missing_apis);
    suite_add_tcase(s, old);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
