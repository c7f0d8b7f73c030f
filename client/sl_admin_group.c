/*
 * sl_admin_group.c — the admin calls on consumer groups (splicelog.h, "admin"): ListGroups
 * (every broker), DescribeGroups and DeleteGroups (each group's coordinator), and a group's
 * committed offsets read (OffsetFetch) and written (OffsetCommit). Requests and results live in
 * the handle's pool (sl_admin_int.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kp_consumer.h"
#include "kp_msg_groups_admin.h"
#include "sl_admin_int.h"

/* The highest version handled per API (the codec may go further: OffsetFetch v8 batches
 * groups). OffsetFetch from v2: null topics asks for every partition the group committed. */
SL__ADM_API(list_groups, LIST_GROUPS, 0, 4);
SL__ADM_API(describe_groups, DESCRIBE_GROUPS, 0, 5);
SL__ADM_API(delete_groups, DELETE_GROUPS, 0, 2);
SL__ADM_API(offset_fetch, OFFSET_FETCH, 2, 7);
SL__ADM_API(offset_commit, OFFSET_COMMIT, 0, 8);

struct listing {
    sl_group_listing *gs;
    size_t n, cap;
};

static sl_err list_one(sl_admin *a, int32_t node, int16_t v, const void *r, void *ctx)
{
    (void)v;
    const struct kp_list_groups_resp *resp = r;
    struct listing *l = ctx;
    if (resp->error_code)
        return (sl_err)resp->error_code;
    for (int32_t i = 0; i < resp->n_groups; i++) {
        sl_group_listing *g = sl__adm_push(a, (void **)&l->gs, &l->n, &l->cap, sizeof(*g));
        if (!g)
            return SL_ERR__NO_MEMORY;
        const struct kp_list_groups_group *x = &resp->groups[i];
        *g = (sl_group_listing){sl__adm_str(a, x->group_id, false),
                                sl__adm_str(a, x->protocol_type, false),
                                sl__adm_str(a, x->group_state, false), node};
    }
    return SL_ERR_NO_ERROR;
}

sl_err sl_admin_list_groups(sl_admin *a, int timeout_ms, const sl_group_listing **out, size_t *n)
{
    if (!a || !out || !n)
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *out = NULL;
    *n = 0;
    struct listing l = {0};
    struct kp_list_groups_req req = {0};
    struct kp_list_groups_resp resp;
    sl_err e = sl__adm_each_broker(a, sl__adm_deadline(a, timeout_ms), &api_list_groups, &req,
                                   &resp, list_one, &l);
    if (!e && !l.gs)
        l.gs = sl__adm_alloc(a, sizeof(*l.gs));
    e = sl__adm_done(a, e);
    if (!e) {
        *out = l.gs;
        *n = l.n;
    }
    return e;
}

/* The consumer protocol's assignment bytes as topic partitions in the pool (none when they do
 * not parse: a group of another protocol type). */
static void member_assignment(sl_admin *a, struct kp_bytes b, sl_group_member *m)
{
    if (b.len <= 0)
        return;
    size_t acap = 4096 + 16 * (size_t)b.len;
    void *mem = malloc(acap);
    if (!mem)
        return;
    struct kp_arena ar;
    kp_arena_init(&ar, mem, acap);
    struct kp_rd rd;
    kp_rd_init(&rd, b.ptr, (size_t)b.len);
    struct kp_consumer_assignment as;
    if (kp_consumer_assignment_decode(&rd, &ar, &as) == 0) {
        size_t total = 0;
        for (int32_t t = 0; t < as.n_topics; t++)
            total += (size_t)as.topics[t].n_partitions;
        sl_topic_partition *tp = sl__adm_alloc(a, (total + 1) * sizeof(*tp));
        if (tp) {
            size_t k = 0;
            for (int32_t t = 0; t < as.n_topics; t++) {
                const char *topic = sl__adm_str(a, as.topics[t].topic, false);
                for (int32_t p = 0; p < as.topics[t].n_partitions; p++)
                    tp[k++] = (sl_topic_partition){
                        topic, as.topics[t].partitions[p], -1, NULL, 0, SL_ERR_NO_ERROR};
            }
            m->assignment = tp;
            m->assignment_cnt = total;
        }
    }
    free(mem);
}

/* d from the answer's entry for d's group (SL_ERR__BAD_MSG when there is none). */
static void describe_one(sl_admin *a, const struct kp_describe_groups_resp *resp, const char *group,
                         sl_group_description *d)
{
    d->err = SL_ERR__BAD_MSG;
    for (int32_t k = 0; k < resp->n_groups; k++) {
        const struct kp_describe_groups_group *x = &resp->groups[k];
        if (!kp_str_eq(x->group_id, group))
            continue;
        d->err = (sl_err)x->error_code;
        d->state = sl__adm_str(a, x->group_state, false);
        d->protocol_type = sl__adm_str(a, x->protocol_type, false);
        d->protocol = sl__adm_str(a, x->protocol_data, false);
        sl_group_member *ms = sl__adm_alloc(a, ((size_t)x->n_members + 1) * sizeof(*ms));
        if (!ms)
            return;
        for (int32_t m = 0; m < x->n_members; m++) {
            const struct kp_describe_groups_member *y = &x->members[m];
            ms[m].member_id = sl__adm_str(a, y->member_id, false);
            ms[m].instance_id = sl__adm_str(a, y->group_instance_id, true);
            ms[m].client_id = sl__adm_str(a, y->client_id, false);
            ms[m].client_host = sl__adm_str(a, y->client_host, false);
            if (kp_str_eq(x->protocol_type, "consumer"))
                member_assignment(a, y->member_assignment, &ms[m]);
        }
        d->members = ms;
        d->member_cnt = (size_t)x->n_members;
        return;
    }
}

sl_err sl_admin_describe_groups(sl_admin *a, const char *const *groups, size_t n, int timeout_ms,
                                const sl_group_description **out)
{
    if (!a || !out || (n && !groups) || !sl__adm_names_ok(groups, n))
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *out = NULL;
    int64_t deadline = sl__adm_deadline(a, timeout_ms);
    sl_group_description *ds = sl__adm_alloc(a, (n + 1) * sizeof(*ds));
    if (!ds)
        return SL_ERR__NO_MEMORY;
    /* One request per group, to its coordinator. */
    for (size_t i = 0; i < n; i++) {
        sl_group_description *d = &ds[i];
        d->group = sl__adm_cstr(a, groups[i]);
        d->state = d->protocol_type = d->protocol = "";
        d->coordinator = -1;
        struct kp_str g = kp_str_of(groups[i]);
        struct kp_describe_groups_req req = {1, &g, false};
        struct kp_describe_groups_resp resp;
        int16_t v;
        int err = sl__adm_ask_coordinator(a, groups[i], &api_describe_groups, &req,
                                          32 + strlen(groups[i]), deadline, &resp, &v,
                                          &d->coordinator, &d->err);
        if (err)
            return sl__err_from_errno(err);
        if (!d->err)
            describe_one(a, &resp, groups[i], d);
    }
    *out = ds;
    return sl__adm_done(a, SL_ERR_NO_ERROR);
}

sl_err sl_admin_delete_groups(sl_admin *a, const char *const *groups, size_t n, int timeout_ms,
                              const sl_admin_result **results)
{
    if (!a || !results || (n && !groups) || !sl__adm_names_ok(groups, n))
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *results = NULL;
    int64_t deadline = sl__adm_deadline(a, timeout_ms);
    sl_admin_result *res = sl__adm_results_new(a, groups, n);
    if (!res)
        return SL_ERR__NO_MEMORY;
    /* One request per group, to its coordinator. */
    for (size_t i = 0; i < n; i++) {
        struct kp_str g = kp_str_of(groups[i]);
        struct kp_delete_groups_req req = {1, &g};
        struct kp_delete_groups_resp resp;
        int16_t v;
        int32_t node;
        sl_err kerr;
        int err =
            sl__adm_ask_coordinator(a, groups[i], &api_delete_groups, &req, 32 + strlen(groups[i]),
                                    deadline, &resp, &v, &node, &kerr);
        if (err)
            return sl__err_from_errno(err);
        if (kerr) {
            res[i].err = kerr;
            continue;
        }
        for (int32_t k = 0; k < resp.n_results; k++)
            sl__adm_result_set(a, &res[i], 1, resp.results[k].group_id, resp.results[k].error_code,
                               KP_STR_NULL);
    }
    *results = res;
    return sl__adm_done(a, SL_ERR_NO_ERROR);
}

sl_err sl_admin_committed(sl_admin *a, const char *group, int timeout_ms,
                          const sl_topic_partition **out, size_t *n)
{
    if (!a || !out || !n || !group || !*group || strlen(group) > 32767)
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *out = NULL;
    *n = 0;
    struct kp_offset_fetch_req req = {.group_id = kp_str_of(group), .n_topics = -1};
    struct kp_offset_fetch_resp resp;
    int16_t v;
    int32_t node;
    sl_err kerr;
    int err = sl__adm_ask_coordinator(a, group, &api_offset_fetch, &req, 32 + strlen(group),
                                      sl__adm_deadline(a, timeout_ms), &resp, &v, &node, &kerr);
    if (err || kerr)
        return err ? sl__err_from_errno(err) : kerr;
    if (resp.error_code)
        return (sl_err)resp.error_code;
    size_t total = 0;
    for (int32_t t = 0; t < resp.n_topics; t++)
        total += (size_t)resp.topics[t].n_partitions;
    sl_topic_partition *tp = sl__adm_alloc(a, (total + 1) * sizeof(*tp));
    if (tp) {
        size_t k = 0;
        for (int32_t t = 0; t < resp.n_topics; t++) {
            const char *topic = sl__adm_str(a, resp.topics[t].name, false);
            for (int32_t p = 0; p < resp.topics[t].n_partitions; p++) {
                const struct kp_offset_fetch_resp_partition *x = &resp.topics[t].partitions[p];
                const char *md = sl__adm_str(a, x->metadata, true);
                tp[k++] = (sl_topic_partition){
                    topic,
                    x->partition_index,
                    x->committed_offset >= 0 ? x->committed_offset : SL_OFFSET_INVALID,
                    md,
                    md ? strlen(md) : 0,
                    (sl_err)x->error_code};
            }
        }
        *out = tp;
        *n = total;
    }
    return sl__adm_done(a, SL_ERR_NO_ERROR);
}

/* Groups parts[0..n) by topic (in first-seen order) into kp topic arrays for a request. The
 * topic index of each part goes to tix[i]. */
struct by_topic {
    const char **names;
    size_t *counts;
    size_t nt;
    size_t *tix;
};

static int group_by_topic(sl_admin *a, const sl_topic_partition *parts, size_t n,
                          struct by_topic *bt)
{
    bt->names = sl__adm_alloc(a, (n + 1) * sizeof(*bt->names));
    bt->counts = sl__adm_alloc(a, (n + 1) * sizeof(*bt->counts));
    bt->tix = sl__adm_alloc(a, (n + 1) * sizeof(*bt->tix));
    if (!bt->names || !bt->counts || !bt->tix)
        return -ENOMEM;
    bt->nt = 0;
    for (size_t i = 0; i < n; i++) {
        size_t t = 0;
        while (t < bt->nt && strcmp(bt->names[t], parts[i].topic) != 0)
            t++;
        if (t == bt->nt)
            bt->names[bt->nt++] = parts[i].topic;
        bt->counts[t]++;
        bt->tix[i] = t;
    }
    return 0;
}

sl_err sl_admin_commit(sl_admin *a, const char *group, sl_topic_partition *offsets, size_t n,
                       int timeout_ms)
{
    if (!a || !group || !*group || strlen(group) > 32767 || !sl__adm_parts_ok(offsets, n))
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    if (n == 0)
        return SL_ERR_NO_ERROR;
    int64_t deadline = sl__adm_deadline(a, timeout_ms);
    struct by_topic bt;
    if (group_by_topic(a, offsets, n, &bt))
        return SL_ERR__NO_MEMORY;
    struct kp_offset_commit_req_topic *ts = sl__adm_alloc(a, (bt.nt + 1) * sizeof(*ts));
    struct kp_offset_commit_req_partition *ps = sl__adm_alloc(a, (n + 1) * sizeof(*ps));
    size_t *at = sl__adm_alloc(a, (bt.nt + 1) * sizeof(*at));
    if (!ts || !ps || !at)
        return SL_ERR__NO_MEMORY;
    size_t guess = 64 + strlen(group);
    for (size_t t = 0, pos = 0; t < bt.nt; t++) {
        ts[t] = (struct kp_offset_commit_req_topic){kp_str_of(bt.names[t]), (int32_t)bt.counts[t],
                                                    ps + pos};
        at[t] = pos;
        pos += bt.counts[t];
        guess += 8 + strlen(bt.names[t]);
    }
    for (size_t i = 0; i < n; i++) {
        offsets[i].err = SL_ERR__BAD_MSG;
        ps[at[bt.tix[i]]++] = (struct kp_offset_commit_req_partition){
            offsets[i].partition, offsets[i].offset, -1,
            offsets[i].metadata
                ? (struct kp_str){offsets[i].metadata, (int32_t)offsets[i].metadata_len}
                : KP_STR_NULL,
            -1};
        guess += 32 + offsets[i].metadata_len;
    }
    struct kp_offset_commit_req req = {
        .group_id = kp_str_of(group),
        .generation_id = -1,
        .member_id = kp_str_of(""),
        .retention_time_ms = -1,
        .n_topics = (int32_t)bt.nt,
        .topics = ts,
        .group_instance_id = KP_STR_NULL,
    };
    struct kp_offset_commit_resp resp;
    int16_t v;
    int32_t node;
    sl_err kerr;
    int err = sl__adm_ask_coordinator(a, group, &api_offset_commit, &req, guess, deadline, &resp,
                                      &v, &node, &kerr);
    if (err || kerr)
        return err ? sl__err_from_errno(err) : kerr;
    for (int32_t t = 0; t < resp.n_topics; t++)
        for (int32_t p = 0; p < resp.topics[t].n_partitions; p++)
            for (size_t i = 0; i < n; i++)
                if (offsets[i].partition == resp.topics[t].partitions[p].partition_index &&
                    kp_str_eq(resp.topics[t].name, offsets[i].topic))
                    offsets[i].err = (sl_err)resp.topics[t].partitions[p].error_code;
    for (size_t i = 0; i < n; i++)
        if (offsets[i].err)
            return offsets[i].err;
    return SL_ERR_NO_ERROR;
}
