/*
 * br_api_groups_admin — ListGroups, DescribeGroups, DeleteGroups: consumer groups as admin
 * clients (kafka-consumer-groups, AdminClient) see them.
 *
 * A group is what the coordinator holds (br_group.h: members, state, protocol) or, like
 * Kafka's groups loaded from __consumer_offsets, one that only has committed offsets (a simple
 * consumer's, or one the coordinator forgot after it emptied): such a group is Empty with
 * protocol type "".
 *
 * ListGroups: every group, with its state (v4+) and type "classic" (v5+); the states and types
 * filters match case-insensitively, as Kafka's. In a cluster only the groups this broker
 * coordinates, and COORDINATOR_LOAD_IN_PROGRESS while one of its partitions loads.
 * DescribeGroups: state, protocol type, and — when Stable, as Kafka — the chosen protocol and
 * each member's metadata and assignment; otherwise members without them. An unknown group is
 * "Dead" with error 0 (Kafka up to v5); an empty group id INVALID_GROUP_ID. Members carry the
 * client.id and address of their JoinGroup; group.instance.id is null (no static members).
 * DeleteGroups: a group with members (or rebalancing) NON_EMPTY_GROUP; otherwise the group and
 * its committed offsets go (a durable tombstone in the offsets store); an unknown group
 * GROUP_ID_NOT_FOUND; an empty id INVALID_GROUP_ID.
 * OffsetDelete: removes committed offsets of partitions the group does not consume: a group
 * with members answers GROUP_SUBSCRIBED_TO_TOPIC for a topic one of its members subscribes to
 * (ConsumerProtocolSubscription of the chosen protocol; while a rebalance hides them, every
 * topic counts as subscribed); an unknown topic UNKNOWN_TOPIC_OR_PARTITION; a group the broker
 * knows nothing of GROUP_ID_NOT_FOUND (top-level), as Kafka.
 *
 * Authorization, as Kafka's KafkaApis: ListGroups lists every group with DESCRIBE on the
 * cluster, else only the groups the principal may DESCRIBE; DescribeGroups needs DESCRIBE on
 * each group (GROUP_AUTHORIZATION_FAILED for that group) and answers its authorized operations
 * when asked (v3+); DeleteGroups needs DELETE on each group; OffsetDelete DELETE on the group
 * (the response's GROUP_AUTHORIZATION_FAILED) and READ on each topic
 * (TOPIC_AUTHORIZATION_FAILED for its partitions).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "br_api.h"
#include "br_coload.h"
#include "br_group.h"
#include "br_log.h"
#include "kp_consumer.h"
#include "kp_msg.h"
#include "kp_msg_sec.h"
#include "kp_msg_groups_admin.h"
#include "st_offsets.h"

/* ---- ListGroups --------------------------------------------------------------------------- */

struct lg_list {
    struct br_ctx *x;
    struct kp_list_groups_group *v;
    int32_t n, cap;
    bool oom;
};

static bool lg_has(const struct lg_list *l, const char *id, size_t len)
{
    for (int32_t i = 0; i < l->n; i++)
        if ((size_t)l->v[i].group_id.len == len && memcmp(l->v[i].group_id.ptr, id, len) == 0)
            return true;
    return false;
}

static void lg_add(struct lg_list *l, const char *id, size_t len, struct kp_str type,
                   const char *state)
{
    if (l->oom || lg_has(l, id, len))
        return;
    if (l->n == l->cap) {
        int32_t cap = l->cap ? l->cap * 2 : 16;
        struct kp_list_groups_group *v = realloc(l->v, (size_t)cap * sizeof(*v));
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    /* one allocation: id then type, freed with the list */
    size_t tl = type.len > 0 ? (size_t)type.len : 0;
    char *m = malloc(len + tl + 1);
    if (!m) {
        l->oom = true;
        return;
    }
    memcpy(m, id, len);
    if (tl)
        memcpy(m + len, type.ptr, tl);
    l->v[l->n++] = (struct kp_list_groups_group){.group_id = {m, (int32_t)len},
                                                 .protocol_type = {m + len, (int32_t)tl},
                                                 .group_state = kp_str_of(state),
                                                 .group_type = kp_str_of("classic")};
}

/* In a cluster, only the groups this broker coordinates are listed (Kafka's ListGroups asks
 * every broker). */
static bool lg_ours(struct lg_list *l, const char *id, size_t len)
{
    return br_api_coord_err(l->x, (struct kp_str){id, (int32_t)len}) == KP_ERR_NONE;
}

static void lg_coord(void *arg, const struct br_group_summary *s)
{
    struct lg_list *l = arg;
    if (l->x->coload && !lg_ours(l, s->group_id.ptr, (size_t)s->group_id.len))
        return;
    lg_add(arg, s->group_id.ptr, (size_t)s->group_id.len, s->protocol_type,
           br_group_state_name(s->state));
}

static void lg_offsets(void *arg, const char *group, size_t group_len,
                       const struct st_offset_entry *e)
{
    (void)e;
    struct lg_list *l = arg;
    if (l->n > 0 && (size_t)l->v[l->n - 1].group_id.len == group_len &&
        memcmp(l->v[l->n - 1].group_id.ptr, group, group_len) == 0)
        return; /* a group's entries come in a row */
    if (l->x->coload && !lg_ours(l, group, group_len))
        return;
    lg_add(l, group, group_len, kp_str_of(""), "Empty");
}

static void lg_free(struct lg_list *l)
{
    for (int32_t i = 0; i < l->n; i++)
        free((void *)l->v[i].group_id.ptr);
    free(l->v);
}

static bool matches(struct kp_str v, const struct kp_str *filter, int32_t n)
{
    if (n <= 0)
        return true;
    for (int32_t i = 0; i < n; i++)
        if (filter[i].len == v.len &&
            (v.len == 0 || strncasecmp(filter[i].ptr, v.ptr, (size_t)v.len) == 0))
            return true;
    return false;
}

int br_api_list_groups(struct br_req *q, struct br_resp *r)
{
    struct br_ctx *x = q->x;
    struct kp_list_groups_req req;
    /* librdkafka 2.0.2's ListConsumerGroups (v4) ends with a second, stray tag buffer
     * (confluentinc/librdkafka#4207, fixed in 2.0.3); Kafka ignores bytes after a body */
    kp_rd_allow_trailing(&q->rd);
    int rc = BR_DECODE(q, kp_list_groups_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    struct lg_list l = {.x = q->x};
    br_groups_foreach(x->groups, lg_coord, &l);
    if (x->offsets)
        st_offsets_foreach_all(x->offsets, -1, lg_offsets, &l);
    if (l.oom) {
        lg_free(&l);
        return -ENOMEM;
    }
    /* DESCRIBE on the cluster lists every group; without it, the groups the principal may
     * DESCRIBE (Kafka) */
    bool all = br_allowed_cluster(q, KP_ACL_OP_DESCRIBE);
    int32_t k = 0;
    for (int32_t i = 0; i < l.n; i++) {
        struct kp_list_groups_group gr = l.v[i];
        if (!matches(gr.group_state, req.states_filter, req.n_states_filter) ||
            !matches(gr.group_type, req.types_filter, req.n_types_filter) ||
            (!all && !br_allowed(q, KP_ACL_RESOURCE_GROUP, gr.group_id.ptr, (size_t)gr.group_id.len,
                                 KP_ACL_OP_DESCRIBE))) {
            free((void *)gr.group_id.ptr);
            continue;
        }
        l.v[k++] = gr;
    }
    l.n = k;
    struct kp_list_groups_resp resp = {.n_groups = l.n, .groups = l.v};
    /* a cluster: while a partition of this coordinator loads, its groups are not listed yet
     * (Kafka's COORDINATOR_LOAD_IN_PROGRESS, with the groups it has) */
    if (x->coload && br_coload_loading(x->coload))
        resp.error_code = KP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    rc = BR_ENCODE(r, kp_list_groups_resp_encode, &resp);
    lg_free(&l);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- DescribeGroups ----------------------------------------------------------------------- */

static void count_one(void *arg, const struct st_offset_entry *e)
{
    (void)e;
    ++*(int *)arg;
}

/* Whether group has committed offsets. */
static bool has_offsets(struct br_ctx *x, struct kp_str group)
{
    int n = 0;
    if (x->offsets && group.len > 0)
        st_offsets_foreach(x->offsets, group.ptr, (size_t)group.len, count_one, &n);
    return n > 0;
}

struct dg_ctx {
    struct kp_arena *a;
    struct kp_describe_groups_group *out;
    bool full;
};

static struct kp_str arena_kstr(struct kp_arena *a, struct kp_str s, bool *full)
{
    if (s.len <= 0)
        return (struct kp_str){"", 0};
    char *p = kp_arena_alloc(a, (size_t)s.len, 1);
    if (!p) {
        *full = true;
        return (struct kp_str){"", 0};
    }
    memcpy(p, s.ptr, (size_t)s.len);
    return (struct kp_str){p, s.len};
}

static struct kp_bytes arena_bytes(struct kp_arena *a, struct kp_bytes b, bool *full)
{
    struct kp_str s = arena_kstr(a, (struct kp_str){(const char *)b.ptr, b.len}, full);
    return (struct kp_bytes){(const uint8_t *)s.ptr, s.len};
}

/* Coordinator mutex held: copies the description into the arena. */
static void dg_fill(void *arg, const struct br_group_desc *d)
{
    struct dg_ctx *c = arg;
    struct kp_describe_groups_group *o = c->out;
    if (d->state == BR_GROUP_NONE)
        return;
    bool stable = d->state == BR_GROUP_STABLE;
    o->group_state = kp_str_of(br_group_state_name(d->state));
    o->protocol_type = arena_kstr(c->a, d->protocol_type, &c->full);
    o->protocol_data = stable ? arena_kstr(c->a, d->protocol_name, &c->full) : kp_str_of("");
    struct kp_describe_groups_member *ms =
        kp_arena_alloc(c->a, d->n_members > 0 ? (size_t)d->n_members : 1, sizeof(*ms));
    if (!ms) {
        c->full = true;
        return;
    }
    for (int32_t i = 0; i < d->n_members; i++) {
        const struct br_group_member_desc *m = &d->members[i];
        ms[i] = (struct kp_describe_groups_member){
            .member_id = arena_kstr(c->a, m->member_id, &c->full),
            .group_instance_id = m->group_instance_id.len >= 0
                                     ? arena_kstr(c->a, m->group_instance_id, &c->full)
                                     : KP_STR_NULL,
            .client_id = arena_kstr(c->a, m->client_id, &c->full),
            .client_host = arena_kstr(c->a, m->client_host, &c->full),
            .member_metadata =
                stable ? arena_bytes(c->a, m->metadata, &c->full) : (struct kp_bytes){NULL, 0},
            .member_assignment =
                stable ? arena_bytes(c->a, m->assignment, &c->full) : (struct kp_bytes){NULL, 0},
        };
    }
    o->n_members = d->n_members;
    o->members = ms;
}

static int describe_build(struct br_req *q, const struct kp_describe_groups_req *req, size_t cap,
                          struct kp_describe_groups_resp *resp)
{
    struct kp_arena a;
    int rc = br_enc_arena(q->x, &a, cap);
    if (rc < 0)
        return rc;
    int32_t n = req->n_groups > 0 ? req->n_groups : 0;
    struct kp_describe_groups_group *gs = kp_arena_alloc(&a, n ? (size_t)n : 1, sizeof(*gs));
    if (!gs)
        return -ENOSPC;
    for (int32_t i = 0; i < n; i++) {
        struct kp_describe_groups_group *o = &gs[i];
        *o = (struct kp_describe_groups_group){
            .group_id = req->groups[i],
            .group_state = kp_str_of("Dead"),
            .protocol_type = kp_str_of(""),
            .protocol_data = kp_str_of(""),
            .authorized_operations = INT32_MIN, /* not asked for, or not described */
        };
        size_t gl = (size_t)(req->groups[i].len > 0 ? req->groups[i].len : 0);
        if (!br_allowed(q, KP_ACL_RESOURCE_GROUP, req->groups[i].ptr, gl, KP_ACL_OP_DESCRIBE)) {
            /* Kafka's groupError: no state, nothing of the group */
            o->error_code = KP_ERR_GROUP_AUTHORIZATION_FAILED;
            o->group_state = kp_str_of("");
            continue;
        }
        if (req->groups[i].len <= 0) {
            o->error_code = KP_ERR_INVALID_GROUP_ID;
            continue;
        }
        if ((o->error_code = br_api_coord_err(q->x, req->groups[i])) != KP_ERR_NONE) {
            o->group_state = kp_str_of(""); /* (a cluster: not the coordinator) */
            continue;
        }
        if (req->include_authorized_operations)
            o->authorized_operations =
                br_authorized_ops(q->x, q->peer, KP_ACL_RESOURCE_GROUP, req->groups[i].ptr, gl);
        struct dg_ctx c = {.a = &a, .out = o};
        rc = br_group_describe_members(q->x->groups, req->groups[i], dg_fill, &c);
        if (rc < 0)
            return rc;
        if (c.full)
            return -ENOSPC;
        if (kp_str_eq(o->group_state, "Dead") && has_offsets(q->x, req->groups[i]))
            o->group_state = kp_str_of("Empty"); /* offsets only, as Kafka loads them */
    }
    *resp = (struct kp_describe_groups_resp){.n_groups = n, .groups = gs};
    return 0;
}

int br_api_describe_groups(struct br_req *q, struct br_resp *r)
{
    struct kp_describe_groups_req req;
    int rc = BR_DECODE(q, kp_describe_groups_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    struct kp_describe_groups_resp resp;
    size_t cap = 16384 + (size_t)(req.n_groups > 0 ? req.n_groups : 0) * 1024;
    for (int attempt = 0;; attempt++) {
        rc = describe_build(q, &req, cap, &resp);
        if (rc != -ENOSPC || attempt == 16)
            break;
        cap *= 2;
    }
    if (rc < 0)
        return rc;
    rc = BR_ENCODE(r, kp_describe_groups_resp_encode, &resp);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- DeleteGroups ------------------------------------------------------------------------- */

int br_api_delete_groups(struct br_req *q, struct br_resp *r)
{
    struct br_ctx *x = q->x;
    struct kp_delete_groups_req req;
    int rc = BR_DECODE(q, kp_delete_groups_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    int32_t n = req.n_groups_names > 0 ? req.n_groups_names : 0;
    struct kp_delete_groups_result *res = calloc(n ? (size_t)n : 1, sizeof(*res));
    if (!res)
        return -ENOMEM;
    for (int32_t i = 0; i < n; i++) {
        struct kp_str g = req.groups_names[i];
        res[i].group_id = g;
        if (!br_allowed(q, KP_ACL_RESOURCE_GROUP, g.ptr, (size_t)(g.len > 0 ? g.len : 0),
                        KP_ACL_OP_DELETE)) {
            res[i].error_code = KP_ERR_GROUP_AUTHORIZATION_FAILED;
            continue;
        }
        if (g.len <= 0) {
            res[i].error_code = KP_ERR_INVALID_GROUP_ID;
            continue;
        }
        if ((res[i].error_code = br_api_coord_err(x, g)) != KP_ERR_NONE)
            continue; /* a cluster: not the coordinator */
        int16_t err = br_group_delete(x->groups, g);
        bool offsets = has_offsets(x, g);
        if (err == KP_ERR_GROUP_ID_NOT_FOUND && offsets)
            err = KP_ERR_NONE; /* a group of offsets only */
        if (err == KP_ERR_NONE && offsets) {
            int drc = st_offsets_delete_group(x->offsets, g.ptr, (size_t)g.len);
            if (drc < 0) {
                br_warn("DeleteGroups %s: its offsets cannot be removed: %s", BR_LOG_KSTR(g),
                        strerror(-drc));
                err = KP_ERR_COORDINATOR_NOT_AVAILABLE;
            }
        }
        if (err == KP_ERR_NONE)
            br_info("peer=%s: group %s deleted", q->peer->name, BR_LOG_KSTR(g));
        res[i].error_code = err;
    }
    struct kp_delete_groups_resp resp = {.n_results = n, .results = res};
    rc = BR_ENCODE(r, kp_delete_groups_resp_encode, &resp);
    free(res);
    return rc < 0 ? rc : BR_REPLY;
}

/* ---- OffsetDelete ------------------------------------------------------------------------- */

/* What OffsetDelete needs of the group: whether it exists, has members, and the topics they
 * subscribe to (views into a copy this context owns). */
struct od_group {
    bool exists, members, unknown_subs;
    uint8_t *meta; /* every member's metadata, back to back */
    int32_t *lens; /* per member */
    int32_t n;
};

static void od_fill(void *arg, const struct br_group_desc *d)
{
    struct od_group *g = arg;
    if (d->state == BR_GROUP_NONE)
        return;
    g->exists = true;
    g->members = d->n_members > 0;
    if (!g->members)
        return;
    size_t total = 0;
    for (int32_t i = 0; i < d->n_members; i++)
        total += (size_t)d->members[i].metadata.len;
    g->meta = malloc(total ? total : 1);
    g->lens = calloc((size_t)d->n_members, sizeof(*g->lens));
    if (!g->meta || !g->lens) {
        g->unknown_subs = true;
        return;
    }
    size_t at = 0;
    for (int32_t i = 0; i < d->n_members; i++) {
        const struct kp_bytes *m = &d->members[i].metadata;
        if (m->len <= 0)
            g->unknown_subs = true; /* rebalancing: no chosen protocol yet */
        if (m->len > 0)
            memcpy(g->meta + at, m->ptr, (size_t)m->len);
        g->lens[i] = m->len > 0 ? m->len : 0;
        at += (size_t)g->lens[i];
    }
    g->n = d->n_members;
}

static bool od_subscribed(const struct od_group *g, struct kp_str topic)
{
    if (!g->members)
        return false;
    if (g->unknown_subs)
        return true;
    static __thread uint8_t mem[64 << 10];
    size_t at = 0;
    for (int32_t i = 0; i < g->n; i++) {
        struct kp_rd rd;
        kp_rd_init(&rd, g->meta + at, (size_t)g->lens[i]);
        at += (size_t)g->lens[i];
        struct kp_arena a;
        kp_arena_init(&a, mem, sizeof mem);
        struct kp_consumer_subscription sub;
        if (kp_consumer_subscription_decode(&rd, &a, &sub) < 0)
            return true; /* not the consumer protocol we know: keep its offsets */
        for (int32_t t = 0; t < sub.n_topics; t++)
            if (sub.topics[t].len == topic.len &&
                memcmp(sub.topics[t].ptr, topic.ptr, (size_t)topic.len) == 0)
                return true;
    }
    return false;
}

int br_api_offset_delete(struct br_req *q, struct br_resp *r)
{
    struct br_ctx *x = q->x;
    struct kp_offset_delete_req req;
    int rc = BR_DECODE(q, kp_offset_delete_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    if (!br_allowed(q, KP_ACL_RESOURCE_GROUP, req.group_id.ptr,
                    (size_t)(req.group_id.len > 0 ? req.group_id.len : 0), KP_ACL_OP_DELETE)) {
        /* DELETE on the group first: the response's error, no topics (Kafka) */
        struct kp_offset_delete_resp resp = {.error_code = KP_ERR_GROUP_AUTHORIZATION_FAILED};
        rc = BR_ENCODE(r, kp_offset_delete_resp_encode, &resp);
        return rc < 0 ? rc : BR_REPLY;
    }
    struct od_group g = {0};
    if (req.group_id.len > 0)
        rc = br_group_describe_members(x->groups, req.group_id, od_fill, &g);
    if (rc < 0)
        return rc;
    int32_t nt = req.n_topics > 0 ? req.n_topics : 0;
    size_t np = 0;
    for (int32_t i = 0; i < nt; i++)
        np += (size_t)req.topics[i].n_partitions;
    struct kp_offset_delete_resp_topic *ts = calloc(nt ? (size_t)nt : 1, sizeof(*ts));
    struct kp_offset_delete_resp_partition *ps = calloc(np ? np : 1, sizeof(*ps));
    struct kp_offset_delete_resp resp = {.n_topics = nt, .topics = ts};
    if (!ts || !ps) {
        rc = -ENOMEM;
        goto out;
    }
    if (req.group_id.len <= 0) {
        resp.error_code = KP_ERR_INVALID_GROUP_ID;
        resp.n_topics = 0;
    } else if ((resp.error_code = br_api_coord_err(x, req.group_id)) != KP_ERR_NONE) {
        resp.n_topics = 0; /* a cluster: not the coordinator */
    } else if (!g.exists && !has_offsets(x, req.group_id)) {
        resp.error_code = KP_ERR_GROUP_ID_NOT_FOUND;
        resp.n_topics = 0;
    }
    size_t k = 0;
    for (int32_t i = 0; i < nt && resp.error_code == 0; i++) {
        const struct kp_offset_delete_req_topic *t = &req.topics[i];
        ts[i] = (struct kp_offset_delete_resp_topic){
            .name = t->name, .n_partitions = t->n_partitions, .partitions = &ps[k]};
        /* READ on each topic, before anything is known of it (Kafka) */
        bool denied = !br_allowed(q, KP_ACL_RESOURCE_TOPIC, t->name.ptr,
                                  (size_t)(t->name.len > 0 ? t->name.len : 0), KP_ACL_OP_READ);
        bool known = !denied && t->name.len > 0 &&
                     br_api_topic_partitions(x, t->name.ptr, (size_t)t->name.len) >= 0;
        bool subscribed = known && od_subscribed(&g, t->name);
        for (int32_t j = 0; j < t->n_partitions; j++, k++) {
            struct kp_offset_delete_resp_partition *o = &ps[k];
            o->partition_index = t->partitions[j].partition_index;
            if (denied) {
                o->error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
            } else if (!known) {
                o->error_code = KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            } else if (subscribed) {
                o->error_code = KP_ERR_GROUP_SUBSCRIBED_TO_TOPIC;
            } else {
                int drc = st_offsets_delete(x->offsets, req.group_id.ptr, (size_t)req.group_id.len,
                                            t->name.ptr, (size_t)t->name.len, o->partition_index);
                if (drc < 0) {
                    br_warn("OffsetDelete %s %s-%d: %s", BR_LOG_KSTR(req.group_id),
                            BR_LOG_KSTR(t->name), o->partition_index, strerror(-drc));
                    o->error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE;
                }
            }
        }
    }
    rc = BR_ENCODE(r, kp_offset_delete_resp_encode, &resp);
    if (rc >= 0)
        rc = BR_REPLY;
out:
    free(ts);
    free(ps);
    free(g.meta);
    free(g.lens);
    return rc;
}
