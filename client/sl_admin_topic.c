/*
 * sl_admin_topic.c — the admin calls on topics and configs (splicelog.h, "admin"): CreateTopics,
 * DeleteTopics, CreatePartitions, DescribeConfigs, AlterConfigs, IncrementalAlterConfigs. Each
 * builds its request in the handle's pool, asks one broker (sl_admin_int.h) and builds its
 * results from the answer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kp_msg_cluster.h"
#include "kp_msg_config.h"
#include "sl_admin_int.h"

/* The highest version handled per API (the codec may go further: DeleteTopics v6 names topics
 * by id). */
SL__ADM_API(create_topics, CREATE_TOPICS, 0, 7);
SL__ADM_API(delete_topics, DELETE_TOPICS, 0, 5);
SL__ADM_API(create_partitions, CREATE_PARTITIONS, 0, 3);
SL__ADM_API(describe_configs, DESCRIBE_CONFIGS, 0, 4);
SL__ADM_API(alter_configs, ALTER_CONFIGS, 0, 2);
SL__ADM_API(incremental_alter_configs, INCREMENTAL_ALTER_CONFIGS, 0, 1);

/* ---- topics ------------------------------------------------------------------------------------
 */

/* The request's timeout_ms: what is left of the deadline. */
static int32_t left_ms(int64_t deadline)
{
    int64_t left = deadline - sl__now_ms();
    return (int32_t)(left > 0 ? left : 0);
}

/* Asks api of any broker; the answer in resp. */
static int ask_any(sl_admin *a, const struct sl__adm_api *api, void *req, int32_t *req_timeout,
                   size_t guess, int64_t deadline, void *resp)
{
    struct sl__conn *conn;
    int err = sl__adm_any(a, deadline, &conn);
    if (err)
        return err;
    *req_timeout = left_ms(deadline);
    int16_t v;
    return sl__adm_ask(a, conn, api, req, guess, deadline, resp, &v);
}

sl_err sl_admin_create_topics(sl_admin *a, const sl_new_topic *topics, size_t n, int validate_only,
                              int timeout_ms, const sl_admin_result **results)
{
    if (!a || !results || (n && !topics) || n > 100000)
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *results = NULL;
    int64_t deadline = sl__adm_deadline(a, timeout_ms);
    const char **names = sl__adm_alloc(a, (n + 1) * sizeof(*names));
    struct kp_create_topics_topic *ts = sl__adm_alloc(a, (n + 1) * sizeof(*ts));
    if (!names || !ts)
        return SL_ERR__NO_MEMORY;
    size_t guess = 64;
    for (size_t i = 0; i < n; i++) {
        names[i] = topics[i].topic;
        if (topics[i].config_cnt > 10000 || (topics[i].config_cnt && !topics[i].configs))
            return SL_ERR__INVALID_ARG;
        struct kp_create_topics_config *cs =
            sl__adm_alloc(a, (topics[i].config_cnt + 1) * sizeof(*cs));
        if (!cs)
            return SL_ERR__NO_MEMORY;
        for (size_t k = 0; k < topics[i].config_cnt; k++) {
            if (!topics[i].configs[k].name)
                return SL_ERR__INVALID_ARG;
            cs[k].name = kp_str_of(topics[i].configs[k].name);
            cs[k].value =
                topics[i].configs[k].value ? kp_str_of(topics[i].configs[k].value) : KP_STR_NULL;
            guess += 8 + strlen(topics[i].configs[k].name) +
                     (topics[i].configs[k].value ? strlen(topics[i].configs[k].value) : 0);
        }
        ts[i] = (struct kp_create_topics_topic){
            .name = topics[i].topic ? kp_str_of(topics[i].topic) : KP_STR_NULL,
            .num_partitions = topics[i].partitions,
            .replication_factor = topics[i].replication_factor,
            .n_configs = (int32_t)topics[i].config_cnt,
            .configs = cs,
        };
        guess += 32 + (topics[i].topic ? strlen(topics[i].topic) : 0);
    }
    if (!sl__adm_names_ok(names, n))
        return SL_ERR__INVALID_ARG;
    sl_admin_result *res = sl__adm_results_new(a, names, n);
    if (!res)
        return SL_ERR__NO_MEMORY;
    struct kp_create_topics_req req = {(int32_t)n, ts, 0, validate_only != 0};
    struct kp_create_topics_resp resp;
    int err = ask_any(a, &api_create_topics, &req, &req.timeout_ms, guess, deadline, &resp);
    if (err)
        return sl__err_from_errno(err);
    for (int32_t i = 0; i < resp.n_topics; i++)
        sl__adm_result_set(a, res, n, resp.topics[i].name, resp.topics[i].error_code,
                           resp.topics[i].error_message);
    *results = res;
    return sl__adm_done(a, SL_ERR_NO_ERROR);
}

sl_err sl_admin_delete_topics(sl_admin *a, const char *const *topics, size_t n, int timeout_ms,
                              const sl_admin_result **results)
{
    if (!a || !results || (n && !topics) || !sl__adm_names_ok(topics, n))
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *results = NULL;
    int64_t deadline = sl__adm_deadline(a, timeout_ms);
    struct kp_str *ns = sl__adm_alloc(a, (n + 1) * sizeof(*ns));
    sl_admin_result *res = sl__adm_results_new(a, topics, n);
    if (!ns || !res)
        return SL_ERR__NO_MEMORY;
    size_t guess = 32;
    for (size_t i = 0; i < n; i++) {
        ns[i] = kp_str_of(topics[i]);
        guess += 4 + strlen(topics[i]);
    }
    struct kp_delete_topics_req req = {.n_topics = (int32_t)n, .topic_names = ns};
    struct kp_delete_topics_resp resp;
    int err = ask_any(a, &api_delete_topics, &req, &req.timeout_ms, guess, deadline, &resp);
    if (err)
        return sl__err_from_errno(err);
    for (int32_t i = 0; i < resp.n_results; i++)
        sl__adm_result_set(a, res, n, resp.results[i].name, resp.results[i].error_code,
                           resp.results[i].error_message);
    *results = res;
    return sl__adm_done(a, SL_ERR_NO_ERROR);
}

sl_err sl_admin_create_partitions(sl_admin *a, const sl_new_partitions *parts, size_t n,
                                  int validate_only, int timeout_ms,
                                  const sl_admin_result **results)
{
    if (!a || !results || (n && !parts) || n > 100000)
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *results = NULL;
    int64_t deadline = sl__adm_deadline(a, timeout_ms);
    const char **names = sl__adm_alloc(a, (n + 1) * sizeof(*names));
    struct kp_create_partitions_topic *ts = sl__adm_alloc(a, (n + 1) * sizeof(*ts));
    if (!names || !ts)
        return SL_ERR__NO_MEMORY;
    size_t guess = 32;
    for (size_t i = 0; i < n; i++) {
        names[i] = parts[i].topic;
        if (parts[i].topic)
            guess += 16 + strlen(parts[i].topic);
    }
    if (!sl__adm_names_ok(names, n))
        return SL_ERR__INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        ts[i] = (struct kp_create_partitions_topic){kp_str_of(parts[i].topic), parts[i].total, -1,
                                                    NULL};
    sl_admin_result *res = sl__adm_results_new(a, names, n);
    if (!res)
        return SL_ERR__NO_MEMORY;
    struct kp_create_partitions_req req = {(int32_t)n, ts, 0, validate_only != 0};
    struct kp_create_partitions_resp resp;
    int err = ask_any(a, &api_create_partitions, &req, &req.timeout_ms, guess, deadline, &resp);
    if (err)
        return sl__err_from_errno(err);
    for (int32_t i = 0; i < resp.n_results; i++)
        sl__adm_result_set(a, res, n, resp.results[i].name, resp.results[i].error_code,
                           resp.results[i].error_message);
    *results = res;
    return sl__adm_done(a, SL_ERR_NO_ERROR);
}

/* ---- configs -----------------------------------------------------------------------------------
 */

const char *sl_config_source_name(int source)
{
    static const char *const names[] = {
        "UNKNOWN",       "DYNAMIC_TOPIC", "DYNAMIC_BROKER",        "DYNAMIC_DEFAULT_BROKER",
        "STATIC_BROKER", "DEFAULT",       "DYNAMIC_BROKER_LOGGER",
    };
    return source >= 0 && source < (int)(sizeof(names) / sizeof(names[0])) ? names[source]
                                                                           : "UNKNOWN";
}

/*
 * The connection for a config resource: a broker resource goes to that broker (its id from the
 * cluster's metadata), a topic to any broker. -ENOENT: no such broker.
 */
static int resource_conn(sl_admin *a, int type, const char *name, int64_t deadline,
                         struct sl__conn **out)
{
    if (type != SL_RESOURCE_BROKER || !*name)
        return sl__adm_any(a, deadline, out);
    char *end;
    long id = strtol(name, &end, 10);
    if (*end || id < 0 || id > INT32_MAX)
        return -EINVAL;
    sl_metadata *md;
    int err = sl__adm_metadata(a, deadline, &md);
    if (err)
        return err;
    struct sl__conn *c = NULL;
    bool found = false;
    for (int32_t i = 0; i < md->broker_cnt; i++)
        if (md->brokers[i].id == id) {
            found = true;
            c = sl__adm_node_conn(a, (int32_t)id, md->brokers[i].host, md->brokers[i].port);
        }
    sl_metadata_free(md);
    if (!found)
        return -ENOENT;
    if (!c)
        return -ENOMEM;
    *out = c;
    return sl__adm_ready(a, c, deadline);
}

/* Asks api about the resource (type, name) of the broker it belongs to. */
static sl_err ask_resource(sl_admin *a, int type, const char *name, const struct sl__adm_api *api,
                           const void *req, size_t guess, int64_t deadline, void *resp, int16_t *v)
{
    struct sl__conn *conn;
    int err = resource_conn(a, type, name, deadline, &conn);
    if (err == -ENOENT)
        return SL_ERR_BROKER_NOT_AVAILABLE;
    if (!err)
        err = sl__adm_ask(a, conn, api, req, guess, deadline, resp, v);
    return sl__err_from_errno(err);
}

static sl_err resource_args(int type, const char *name)
{
    if ((type != SL_RESOURCE_TOPIC && type != SL_RESOURCE_BROKER) || !name ||
        (type == SL_RESOURCE_TOPIC && !*name) || strlen(name) > 32767)
        return SL_ERR__INVALID_ARG;
    return SL_ERR_NO_ERROR;
}

/* One described config in the pool; v 0 has is_default where later versions have a source. */
static void config_entry(sl_admin *a, int16_t v, const struct kp_describe_configs_entry *y,
                         sl_config_entry *e)
{
    e->name = sl__adm_str(a, y->name, false);
    e->value = sl__adm_str(a, y->value, true);
    e->read_only = y->read_only;
    e->is_sensitive = y->is_sensitive;
    if (v == 0) {
        e->is_default = y->is_default;
        e->source = y->is_default ? 5 : 0;
    } else {
        e->source = y->config_source >= 0 ? y->config_source : 0;
        e->is_default = y->config_source == KP_CONFIG_SOURCE_DEFAULT;
    }
}

sl_err sl_admin_describe_configs(sl_admin *a, int type, const char *name, const char *const *keys,
                                 size_t nkeys, int timeout_ms, const sl_config_resource **out)
{
    if (!a || !out || resource_args(type, name) || (nkeys && !sl__adm_names_ok(keys, nkeys)))
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *out = NULL;
    int64_t deadline = sl__adm_deadline(a, timeout_ms);
    struct kp_str *ks = sl__adm_alloc(a, (nkeys + 1) * sizeof(*ks));
    sl_config_resource *r = sl__adm_alloc(a, sizeof(*r));
    if (!ks || !r)
        return SL_ERR__NO_MEMORY;
    size_t guess = 64 + strlen(name);
    for (size_t i = 0; i < nkeys; i++) {
        ks[i] = kp_str_of(keys[i]);
        guess += 4 + strlen(keys[i]);
    }
    struct kp_describe_configs_resource rsrc = {(int8_t)type, kp_str_of(name),
                                                nkeys ? (int32_t)nkeys : -1, nkeys ? ks : NULL};
    struct kp_describe_configs_req req = {1, &rsrc, false, false};
    struct kp_describe_configs_resp resp;
    int16_t v;
    sl_err e = ask_resource(a, type, name, &api_describe_configs, &req, guess, deadline, &resp, &v);
    if (e)
        return e;
    r->type = type;
    r->name = sl__adm_cstr(a, name);
    r->err = SL_ERR__BAD_MSG;
    r->errmsg = "";
    for (int32_t i = 0; i < resp.n_results; i++) {
        const struct kp_describe_configs_result *x = &resp.results[i];
        if (x->resource_type != type || !kp_str_eq(x->resource_name, name))
            continue;
        r->err = (sl_err)x->error_code;
        r->errmsg = sl__adm_str(a, x->error_message, false);
        sl_config_entry *es = sl__adm_alloc(a, ((size_t)x->n_configs + 1) * sizeof(*es));
        if (!es)
            break;
        for (int32_t k = 0; k < x->n_configs; k++)
            config_entry(a, v, &x->configs[k], &es[k]);
        r->entries = es;
        r->entry_cnt = (size_t)x->n_configs;
        break;
    }
    *out = r;
    return sl__adm_done(a, SL_ERR_NO_ERROR);
}

/* Asks an (Incremental)AlterConfigs req about (type, name); its one result, *errmsg its
 * message. Both answers are a kp_alter_configs_result list. */
static sl_err alter(sl_admin *a, int type, const char *name, const struct sl__adm_api *api,
                    const void *req, size_t guess, int64_t deadline, const char **errmsg)
{
    struct kp_alter_configs_resp resp;
    struct kp_incremental_alter_configs_resp iresp;
    bool inc = api == &api_incremental_alter_configs;
    int16_t v;
    sl_err e =
        ask_resource(a, type, name, api, req, guess, deadline, inc ? (void *)&iresp : &resp, &v);
    if (e)
        return e;
    int32_t n = inc ? iresp.n_responses : resp.n_responses;
    const struct kp_alter_configs_result *rs = inc ? iresp.responses : resp.responses;
    for (int32_t i = 0; i < n; i++) {
        if (rs[i].resource_type != type || !kp_str_eq(rs[i].resource_name, name))
            continue;
        if (errmsg)
            *errmsg = sl__adm_str(a, rs[i].error_message, false);
        return (sl_err)rs[i].error_code;
    }
    return SL_ERR__BAD_MSG;
}

sl_err sl_admin_incremental_alter_configs(sl_admin *a, int type, const char *name,
                                          const sl_config_op *ops, size_t n, int validate_only,
                                          int timeout_ms, const char **errmsg)
{
    if (!a || resource_args(type, name) || (n && !ops) || n > 10000)
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    if (errmsg)
        *errmsg = "";
    int64_t deadline = sl__adm_deadline(a, timeout_ms);
    struct kp_incremental_alter_configs_config *cs = sl__adm_alloc(a, (n + 1) * sizeof(*cs));
    if (!cs)
        return SL_ERR__NO_MEMORY;
    size_t guess = 64 + strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (!ops[i].name || ops[i].op < 0 || ops[i].op > 3)
            return SL_ERR__INVALID_ARG;
        cs[i] = (struct kp_incremental_alter_configs_config){
            kp_str_of(ops[i].name), (int8_t)ops[i].op,
            ops[i].value ? kp_str_of(ops[i].value) : KP_STR_NULL};
        guess += 8 + strlen(ops[i].name) + (ops[i].value ? strlen(ops[i].value) : 0);
    }
    struct kp_incremental_alter_configs_resource rsrc = {(int8_t)type, kp_str_of(name), (int32_t)n,
                                                         cs};
    struct kp_incremental_alter_configs_req req = {1, &rsrc, validate_only != 0};
    return alter(a, type, name, &api_incremental_alter_configs, &req, guess, deadline, errmsg);
}

sl_err sl_admin_alter_configs(sl_admin *a, int type, const char *name, const sl_config_kv *kvs,
                              size_t n, int validate_only, int timeout_ms, const char **errmsg)
{
    if (!a || resource_args(type, name) || (n && !kvs) || n > 10000)
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    if (errmsg)
        *errmsg = "";
    int64_t deadline = sl__adm_deadline(a, timeout_ms);
    struct kp_alter_configs_config *cs = sl__adm_alloc(a, (n + 1) * sizeof(*cs));
    if (!cs)
        return SL_ERR__NO_MEMORY;
    size_t guess = 64 + strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (!kvs[i].name)
            return SL_ERR__INVALID_ARG;
        cs[i] = (struct kp_alter_configs_config){
            kp_str_of(kvs[i].name), kvs[i].value ? kp_str_of(kvs[i].value) : KP_STR_NULL};
        guess += 8 + strlen(kvs[i].name) + (kvs[i].value ? strlen(kvs[i].value) : 0);
    }
    struct kp_alter_configs_resource rsrc = {(int8_t)type, kp_str_of(name), (int32_t)n, cs};
    struct kp_alter_configs_req req = {1, &rsrc, validate_only != 0};
    return alter(a, type, name, &api_alter_configs, &req, guess, deadline, errmsg);
}
