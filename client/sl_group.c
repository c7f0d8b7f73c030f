/*
 * sl_group.c — consumer group membership (sl_cons.h, splicelog.h "consumer groups").
 *
 * Coordinator: FindCoordinator v2 on any connection; the coordinator gets a connection of its
 * own (node SL__NODE_COORD) so that a JoinGroup the broker parks for up to the rebalance timeout
 * never delays a fetch. A coordinator error or a lost connection sends the group back to
 * discovery; the assignment is kept meanwhile (fetching goes on), heartbeats resume after.
 *
 * Membership, one state at a time:
 *   NONE -> WANT_JOIN -> JOINING -(leader)-> ASSIGNING -> SYNCING -> STABLE
 *                                -(follower)-----------> SYNCING
 * JoinGroup v5 offers the configured assignors in order, each with the member's subscription
 * (ConsumerProtocolSubscription v1: the topics and the partitions owned now), asks for
 * rebalance_timeout = max.poll.interval.ms and waits that long plus 5 s for the answer.
 * MEMBER_ID_REQUIRED gives the id to join with. The leader assigns once the metadata of every
 * member's topics is fresh (sl_assign.c), SyncGroup v3 brings each member its assignment.
 * STABLE: Heartbeat v3 every heartbeat.interval.ms; REBALANCE_IN_PROGRESS starts a rebalance,
 * UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION / FENCED_INSTANCE_ID mean the membership is lost; no
 * heartbeat answer for session.timeout.ms likewise.
 *
 * Rebalances are applied from sl__group_tick, at the top of the consumer's calls (so that the
 * rebalance callback and the synchronous commits it implies never run inside an I/O callback):
 * - eager (range, roundrobin): before joining, everything owned is revoked (auto commit sync,
 *   callback, unassigned); the assignment that comes back is assigned whole.
 * - cooperative-sticky: joining keeps the partitions; the new assignment is compared with what
 *   is owned: the partitions gone are revoked (commit, callback), the new ones assigned; when
 *   something was revoked the member rejoins at once so that the partitions can move.
 * - lost membership: everything revoked without a commit (another member may own them now).
 * New partitions start at the group's committed offset (OffsetFetch, sl_commit.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kp_consumer.h"
#include "sl_assign.h"
#include "sl_cons.h"

enum {
    V_FIND_COORDINATOR = 2,
    V_JOIN_GROUP = 5,
    V_SYNC_GROUP = 3,
    V_HEARTBEAT = 3,
    V_LEAVE_GROUP = 1,
};

enum gstate { G_NONE, G_WANT_JOIN, G_JOINING, G_ASSIGNING, G_WANT_SYNC, G_SYNCING, G_STABLE };
enum cstate { CO_NONE, CO_FINDING, CO_KNOWN };

/* A member as the leader saw it in JoinGroup (id and metadata copied). */
struct gmember {
    char *id;
    uint8_t *meta;
    size_t meta_len;
};

/* A topic partition by name (copied), for assignments in transit. */
struct gtp {
    char *topic;
    int32_t partition;
};

struct sl__group {
    char *group_id;
    int assignors; /* enum sl__assignor bits */
    bool cooperative;
    /* coordinator */
    enum cstate co;
    struct sl__conn *coord;
    int64_t co_retry_ms;
    /* subscription */
    bool subscribed;
    char **topics; /* sorted, unique */
    int n_topics;
    /* membership */
    enum gstate st;
    char *member_id; /* "" before the first JoinGroup answer */
    int32_t generation;
    char *protocol;
    bool leader;
    struct gmember *members; /* leader: the members of this generation */
    int n_members;
    uint32_t join_epoch; /* requests of an older epoch are ignored when they complete */
    int64_t retry_ms;    /* no JoinGroup before (backoff after an error) */
    /* work for the next tick */
    bool rejoin;      /* start a rebalance */
    bool lost;        /* the membership is gone: revoke without committing */
    bool asg_arrived; /* SyncGroup brought an assignment (asg) */
    struct gtp *asg;
    int n_asg;
    /* heartbeat */
    bool hb_inflight;
    int64_t hb_next_ms;
    int64_t hb_ok_ms;
    int64_t auto_commit_ms;
    bool leaving; /* LeaveGroup in flight */
};

static int64_t now_ms(void) { return sl__now_ms(); }

static void free_asg(struct sl__group *g)
{
    for (int i = 0; i < g->n_asg; i++)
        free(g->asg[i].topic);
    free(g->asg);
    g->asg = NULL;
    g->n_asg = 0;
    g->asg_arrived = false;
}

static void free_members(struct sl__group *g)
{
    for (int i = 0; i < g->n_members; i++) {
        free(g->members[i].id);
        free(g->members[i].meta);
    }
    free(g->members);
    g->members = NULL;
    g->n_members = 0;
}

static void free_topics(struct sl__group *g)
{
    for (int i = 0; i < g->n_topics; i++)
        free(g->topics[i]);
    free(g->topics);
    g->topics = NULL;
    g->n_topics = 0;
}

static int set_str(char **dst, const char *src, size_t len)
{
    char *p = malloc(len + 1);
    if (!p)
        return -ENOMEM;
    memcpy(p, src, len);
    p[len] = 0;
    free(*dst);
    *dst = p;
    return 0;
}

int sl__group_new(sl_consumer *c)
{
    struct sl__group *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    int bits = sl__assignors_parse(c->cl.conf->assignors);
    g->assignors = bits > 0 ? bits : SL__ASSIGN_RANGE | SL__ASSIGN_ROUNDROBIN;
    g->cooperative = g->assignors == SL__ASSIGN_COOPERATIVE_STICKY;
    g->generation = -1;
    if (set_str(&g->group_id, c->cl.conf->group_id, strlen(c->cl.conf->group_id)) ||
        set_str(&g->member_id, "", 0)) {
        free(g->group_id);
        free(g);
        return -ENOMEM;
    }
    c->g = g;
    return 0;
}

void sl__group_free(sl_consumer *c)
{
    struct sl__group *g = c->g;
    if (!g)
        return;
    free_asg(g);
    free_members(g);
    free_topics(g);
    free(g->group_id);
    free(g->member_id);
    free(g->protocol);
    free(g);
    c->g = NULL;
}

bool sl__group_subscribed(const sl_consumer *c) { return c->g && c->g->subscribed; }

void sl__group_identity(const sl_consumer *c, struct kp_str *member_id, int32_t *generation)
{
    const struct sl__group *g = c->g;
    if (g && g->subscribed && g->generation >= 0 && g->member_id[0]) {
        *member_id = kp_str_of(g->member_id);
        *generation = g->generation;
    } else {
        *member_id = (struct kp_str){"", 0};
        *generation = -1;
    }
}

/* ---- coordinator ------------------------------------------------------------------------- */

void sl__group_coordinator_lost(sl_consumer *c)
{
    struct sl__group *g = c->g;
    if (!g || g->co == CO_NONE)
        return;
    g->co = CO_NONE;
    g->co_retry_ms = now_ms() + c->cl.conf->retry_backoff_ms;
}

static void find_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    sl_consumer *c = cl->owner;
    struct sl__group *g = c->g;
    if (!g || g->co != CO_FINDING)
        return;
    struct kp_find_coordinator_resp resp = {.error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE};
    if (!err && f) {
        struct kp_arena *a = sl__arena(cl, f->len);
        struct kp_rd rd;
        kp_rd_init(&rd, f->body, f->len);
        if (!a || kp_find_coordinator_resp_decode(&rd, req->api_version, a, &resp) != 0)
            resp.error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    char host[256];
    if (resp.error_code == 0 && resp.host.len > 0 && (size_t)resp.host.len < sizeof(host) &&
        resp.port > 0 && resp.port <= 65535) {
        memcpy(host, resp.host.ptr, (size_t)resp.host.len);
        host[resp.host.len] = 0;
        struct sl__conn *conn = sl__client_conn(cl, host, resp.port, SL__NODE_COORD);
        if (conn) {
            g->coord = conn;
            g->co = CO_KNOWN;
            return;
        }
    }
    if (resp.error_code != 0 && resp.error_code != KP_ERR_COORDINATOR_NOT_AVAILABLE &&
        resp.error_code != KP_ERR_COORDINATOR_LOAD_IN_PROGRESS &&
        resp.error_code != KP_ERR_NOT_COORDINATOR)
        sl__cons_event(c, NULL, (sl_err)resp.error_code, -1, -1); /* e.g. not authorized */
    g->co = CO_NONE;
    g->co_retry_ms = now_ms() + cl->conf->retry_backoff_ms;
}

static int enc_find(struct kp_wr *wr, const void *m)
{
    return kp_find_coordinator_req_encode(wr, V_FIND_COORDINATOR, m);
}

struct sl__conn *sl__group_coordinator(sl_consumer *c)
{
    struct sl__group *g = c->g;
    if (!g)
        return NULL;
    if (g->co == CO_KNOWN) {
        if (g->coord->state == SL__CONN_DOWN)
            sl__conn_ensure(g->coord); /* reconnect (backoff permitting) */
        return g->coord;
    }
    if (g->co == CO_FINDING || now_ms() < g->co_retry_ms)
        return NULL;
    struct sl__conn *conn = sl__any_conn(&c->cl);
    if (!conn)
        return NULL;
    struct sl__req *r = sl__req_get(&c->cl);
    if (!r)
        return NULL;
    struct kp_find_coordinator_req req = {.key = kp_str_of(g->group_id), .key_type = 0};
    int err = sl__req_begin(&c->cl, r, KP_API_FIND_COORDINATOR, V_FIND_COORDINATOR);
    if (!err)
        err = sl__req_body(r, 16 + strlen(g->group_id), enc_find, &req);
    if (!err)
        err = sl__req_end(r);
    if (err) {
        sl__req_put(&c->cl, r);
        return NULL;
    }
    r->cb = find_cb;
    g->co = CO_FINDING;
    sl__conn_enqueue(conn, r);
    sl__conn_flush(conn);
    return NULL;
}

/* Queues r (encoded) on the coordinator's connection. */
static void to_coordinator(sl_consumer *c, struct sl__req *r)
{
    struct sl__conn *conn = c->g->coord;
    if (conn->state == SL__CONN_DOWN)
        sl__conn_ensure(conn);
    sl__conn_enqueue(conn, r);
    sl__conn_flush(conn);
}

/* An error about the coordinator itself: find it again. */
static bool coordinator_error(int16_t ec)
{
    return ec == KP_ERR_NOT_COORDINATOR || ec == KP_ERR_COORDINATOR_NOT_AVAILABLE;
}

/* ---- joining ------------------------------------------------------------------------------- */

/* Something about the membership went wrong: after this error, join again (later). */
static void join_again(sl_consumer *c, int16_t ec, bool backoff)
{
    struct sl__group *g = c->g;
    g->st = G_WANT_JOIN;
    g->hb_inflight = false;
    if (ec == KP_ERR_UNKNOWN_MEMBER_ID || ec == KP_ERR_FENCED_INSTANCE_ID) {
        set_str(&g->member_id, "", 0);
        g->generation = -1;
        g->lost = true;
    } else if (ec == KP_ERR_ILLEGAL_GENERATION) {
        g->generation = -1;
        g->lost = true;
    }
    if (coordinator_error(ec))
        sl__group_coordinator_lost(c);
    if (backoff)
        g->retry_ms = now_ms() + c->cl.conf->retry_backoff_ms;
}

/* Errors the application hears of (the consumer keeps trying). */
static bool fatal_group_error(int16_t ec)
{
    return ec == KP_ERR_INVALID_GROUP_ID || ec == KP_ERR_GROUP_AUTHORIZATION_FAILED ||
           ec == KP_ERR_INCONSISTENT_GROUP_PROTOCOL || ec == KP_ERR_INVALID_SESSION_TIMEOUT ||
           ec == KP_ERR_GROUP_MAX_SIZE_REACHED || ec == KP_ERR_FENCED_INSTANCE_ID ||
           ec == KP_ERR_UNSUPPORTED_VERSION;
}

static void join_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    sl_consumer *c = cl->owner;
    struct sl__group *g = c->g;
    if (!g || g->st != G_JOINING || (uint32_t)(uintptr_t)req->ctx != g->join_epoch)
        return;
    struct kp_join_group_resp resp = {.error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE};
    if (!err && f) {
        struct kp_arena *a = sl__arena(cl, f->len);
        struct kp_rd rd;
        kp_rd_init(&rd, f->body, f->len);
        if (!a || kp_join_group_resp_decode(&rd, req->api_version, a, &resp) != 0)
            resp.error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE; /* malformed: rediscover */
    }
    int16_t ec = resp.error_code;
    if (ec == KP_ERR_MEMBER_ID_REQUIRED) {
        /* KIP-394: join again with the id the coordinator made for us. */
        set_str(&g->member_id, resp.member_id.ptr ? resp.member_id.ptr : "",
                resp.member_id.len > 0 ? (size_t)resp.member_id.len : 0);
        g->st = G_WANT_JOIN;
        return;
    }
    if (ec != 0) {
        if (fatal_group_error(ec))
            sl__cons_event(c, NULL, (sl_err)ec, -1, -1);
        join_again(c, ec, ec != KP_ERR_REBALANCE_IN_PROGRESS);
        return;
    }
    if (set_str(&g->member_id, resp.member_id.ptr, (size_t)resp.member_id.len) ||
        set_str(&g->protocol, resp.protocol_name.ptr ? resp.protocol_name.ptr : "",
                resp.protocol_name.len > 0 ? (size_t)resp.protocol_name.len : 0)) {
        join_again(c, 0, true);
        return;
    }
    g->generation = resp.generation_id;
    g->leader = kp_str_same(resp.leader, resp.member_id);
    free_members(g);
    if (g->leader && resp.n_members > 0) {
        g->members = calloc((size_t)resp.n_members, sizeof(*g->members));
        if (!g->members) {
            join_again(c, 0, true);
            return;
        }
        g->n_members = resp.n_members;
        for (int32_t i = 0; i < resp.n_members; i++) {
            const struct kp_join_group_member *m = &resp.members[i];
            struct gmember *gm = &g->members[i];
            size_t ml = m->metadata.len > 0 ? (size_t)m->metadata.len : 0;
            gm->meta = malloc(ml ? ml : 1);
            if (!gm->meta || set_str(&gm->id, m->member_id.ptr ? m->member_id.ptr : "",
                                     m->member_id.len > 0 ? (size_t)m->member_id.len : 0)) {
                join_again(c, 0, true);
                return;
            }
            if (ml)
                memcpy(gm->meta, m->metadata.ptr, ml);
            gm->meta_len = ml;
        }
        g->st = G_ASSIGNING;
        /* The assignment needs fresh metadata of every member's topics. */
        for (int i = 0; i < g->n_members; i++) {
            struct kp_consumer_subscription sub;
            struct kp_arena *a = sl__arena(cl, g->members[i].meta_len);
            struct kp_rd rd;
            kp_rd_init(&rd, g->members[i].meta, g->members[i].meta_len);
            if (!a || kp_consumer_subscription_decode(&rd, a, &sub) != 0)
                continue;
            for (int32_t k = 0; k < sub.n_topics; k++) {
                char name[256];
                if (sub.topics[k].len <= 0 || (size_t)sub.topics[k].len >= sizeof(name))
                    continue;
                memcpy(name, sub.topics[k].ptr, (size_t)sub.topics[k].len);
                name[sub.topics[k].len] = 0;
                struct sl__topic *t = sl__topic_get(cl, name);
                if (t)
                    t->stale = true;
            }
        }
        sl__metadata_want(cl);
    } else {
        g->st = G_WANT_SYNC;
    }
}

static int enc_join(struct kp_wr *wr, const void *m)
{
    return kp_join_group_req_encode(wr, V_JOIN_GROUP, m);
}

/* Encodes this member's subscription (v1: topics and owned partitions) into out. */
static int encode_subscription(sl_consumer *c, struct sl__bytes *out)
{
    struct sl__group *g = c->g;
    int n_owned = 0;
    for (int i = 0; i < c->n_parts; i++)
        n_owned += c->parts[i]->assigned && c->parts[i]->by_group;
    struct kp_str *topics = calloc((size_t)g->n_topics + 1, sizeof(*topics));
    struct kp_consumer_topic_parts *owned = calloc((size_t)n_owned + 1, sizeof(*owned));
    int32_t *parts = calloc((size_t)n_owned + 1, sizeof(*parts));
    int err = -ENOMEM;
    if (!topics || !owned || !parts)
        goto out;
    for (int i = 0; i < g->n_topics; i++)
        topics[i] = kp_str_of(g->topics[i]);
    /* Owned partitions, one entry per partition (the format allows a topic to repeat). */
    int k = 0;
    for (int i = 0; i < c->n_parts && g->cooperative; i++) {
        const struct cpart *cp = c->parts[i];
        if (!cp->assigned || !cp->by_group)
            continue;
        parts[k] = cp->partition;
        owned[k] =
            (struct kp_consumer_topic_parts){{cp->t->name, (int32_t)cp->t->name_len}, 1, &parts[k]};
        k++;
    }
    struct kp_consumer_subscription sub = {
        .version = 1,
        .n_topics = g->n_topics,
        .topics = topics,
        .user_data = KP_BYTES_NULL,
        .n_owned = k,
        .owned = owned,
        .generation_id = -1,
        .rack_id = KP_STR_NULL,
    };
    size_t need = 64;
    for (int i = 0; i < g->n_topics; i++)
        need += 2 + strlen(g->topics[i]);
    for (int i = 0; i < k; i++)
        need += 2 + (size_t)owned[i].topic.len + 8;
    out->len = 0;
    err = sl__bytes_reserve(out, need);
    if (err)
        goto out;
    struct kp_wr wr;
    kp_wr_init(&wr, out->p, out->cap);
    err = kp_consumer_subscription_encode(&wr, &sub);
    out->len = kp_wr_len(&wr);
out:
    free(topics);
    free(owned);
    free(parts);
    return err;
}

static void send_join(sl_consumer *c)
{
    struct sl__group *g = c->g;
    const sl_conf *cf = c->cl.conf;
    struct sl__bytes meta = {0};
    if (encode_subscription(c, &meta)) {
        sl__bytes_free(&meta);
        return;
    }
    struct kp_join_group_protocol protos[3];
    int np = 0;
    struct kp_bytes mb = {meta.p, (int32_t)meta.len};
    if (g->assignors & SL__ASSIGN_COOPERATIVE_STICKY)
        protos[np++] = (struct kp_join_group_protocol){kp_str_of("cooperative-sticky"), mb};
    if (g->assignors & SL__ASSIGN_RANGE)
        protos[np++] = (struct kp_join_group_protocol){kp_str_of("range"), mb};
    if (g->assignors & SL__ASSIGN_ROUNDROBIN)
        protos[np++] = (struct kp_join_group_protocol){kp_str_of("roundrobin"), mb};
    const char *inst =
        cf->group_instance_id && *cf->group_instance_id ? cf->group_instance_id : NULL;
    struct kp_join_group_req req = {
        .group_id = kp_str_of(g->group_id),
        .session_timeout_ms = cf->session_timeout_ms,
        .rebalance_timeout_ms = cf->max_poll_interval_ms,
        .member_id = kp_str_of(g->member_id),
        .group_instance_id = inst ? kp_str_of(inst) : KP_STR_NULL,
        .protocol_type = kp_str_of("consumer"),
        .n_protocols = np,
        .protocols = protos,
    };
    struct sl__req *r = sl__req_get(&c->cl);
    int err = r ? sl__req_begin(&c->cl, r, KP_API_JOIN_GROUP, V_JOIN_GROUP) : -ENOMEM;
    if (!err)
        err = sl__req_body(r, 256 + 3 * meta.len, enc_join, &req);
    if (!err)
        err = sl__req_end(r);
    sl__bytes_free(&meta);
    if (err) {
        if (r)
            sl__req_put(&c->cl, r);
        return;
    }
    /* The coordinator answers when the rebalance completes: up to the rebalance timeout. */
    r->timeout_ms = cf->max_poll_interval_ms + 5000;
    r->cb = join_cb;
    r->ctx = (void *)(uintptr_t)++g->join_epoch;
    g->st = G_JOINING;
    to_coordinator(c, r);
}

/* ---- assigning (leader) and syncing ----------------------------------------------------- */

static int enc_sync(struct kp_wr *wr, const void *m)
{
    return kp_sync_group_req_encode(wr, V_SYNC_GROUP, m);
}

static void sync_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    sl_consumer *c = cl->owner;
    struct sl__group *g = c->g;
    if (!g || g->st != G_SYNCING || (uint32_t)(uintptr_t)req->ctx != g->join_epoch)
        return;
    struct kp_sync_group_resp resp = {.error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE};
    if (!err && f) {
        struct kp_arena *a = sl__arena(cl, f->len);
        struct kp_rd rd;
        kp_rd_init(&rd, f->body, f->len);
        if (!a || kp_sync_group_resp_decode(&rd, req->api_version, a, &resp) != 0)
            resp.error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    if (resp.error_code != 0) {
        if (fatal_group_error(resp.error_code))
            sl__cons_event(c, NULL, (sl_err)resp.error_code, -1, -1);
        join_again(c, resp.error_code, resp.error_code != KP_ERR_REBALANCE_IN_PROGRESS);
        return;
    }
    /* The assignment (empty bytes: nothing assigned, as some leaders send it). */
    struct kp_consumer_assignment asg = {0};
    if (resp.assignment.len > 0) {
        struct kp_arena *a = sl__arena(cl, (size_t)resp.assignment.len);
        struct kp_rd rd;
        kp_rd_init(&rd, resp.assignment.ptr, (size_t)resp.assignment.len);
        if (!a || kp_consumer_assignment_decode(&rd, a, &asg) != 0) {
            sl__cons_event(c, NULL, SL_ERR__BAD_MSG, -1, -1);
            join_again(c, 0, true);
            return;
        }
    }
    free_asg(g);
    int n = 0;
    for (int32_t i = 0; i < asg.n_topics; i++)
        n += asg.topics[i].n_partitions;
    g->asg = calloc((size_t)n + 1, sizeof(*g->asg));
    if (!g->asg) {
        join_again(c, 0, true);
        return;
    }
    for (int32_t i = 0; i < asg.n_topics; i++)
        for (int32_t k = 0; k < asg.topics[i].n_partitions; k++) {
            struct gtp *tp = &g->asg[g->n_asg];
            if (set_str(&tp->topic, asg.topics[i].topic.ptr ? asg.topics[i].topic.ptr : "",
                        asg.topics[i].topic.len > 0 ? (size_t)asg.topics[i].topic.len : 0)) {
                join_again(c, 0, true);
                return;
            }
            tp->partition = asg.topics[i].partitions[k];
            g->n_asg++;
        }
    g->asg_arrived = true;
    g->st = G_STABLE;
    g->hb_ok_ms = now_ms();
    g->hb_next_ms = g->hb_ok_ms + c->cl.conf->heartbeat_interval_ms;
}

/*
 * The leader's assignment: every member's subscription decoded from its JoinGroup metadata,
 * the partition counts from the metadata, the protocol's assignor. Fills per-member encoded
 * assignments into out (n_members entries; the caller frees each p). 0, -EAGAIN (metadata not
 * fresh yet) or -ENOMEM.
 */
static int leader_assign(sl_consumer *c, struct sl__bytes *out)
{
    struct sl__group *g = c->g;
    int n = g->n_members, err = -ENOMEM;
    struct sl__amember *m = calloc((size_t)n + 1, sizeof(*m));
    struct kp_consumer_subscription *subs = calloc((size_t)n + 1, sizeof(*subs));
    /* Everything decoded lives in one arena of our own (the client's is for responses). */
    size_t total = 256;
    for (int i = 0; i < n; i++)
        total += g->members[i].meta_len * SL__ARENA_PER_BYTE + 64;
    void *amem = malloc(total);
    struct sl__atopic *topics = NULL;
    struct sl__atp **owned = calloc((size_t)n + 1, sizeof(*owned));
    const char ***names = calloc((size_t)n + 1, sizeof(*names));
    int nt = 0;
    if (!m || !subs || !amem || !owned || !names)
        goto out;
    struct kp_arena a;
    kp_arena_init(&a, amem, total);
    int max_topics = 0;
    for (int i = 0; i < n; i++) {
        struct kp_rd rd;
        kp_rd_init(&rd, g->members[i].meta, g->members[i].meta_len);
        if (kp_consumer_subscription_decode(&rd, &a, &subs[i]) != 0)
            memset(&subs[i], 0, sizeof(subs[i])); /* unreadable: subscribes to nothing */
        max_topics += subs[i].n_topics;
    }
    topics = calloc((size_t)max_topics + 1, sizeof(*topics));
    if (!topics)
        goto out;
    /* The topics of all subscriptions, with their partition counts (fresh metadata). */
    err = 0;
    for (int i = 0; i < n; i++) {
        names[i] = calloc((size_t)subs[i].n_topics + 1, sizeof(char *));
        if (!names[i]) {
            err = -ENOMEM;
            goto out;
        }
        int kn = 0;
        for (int32_t k = 0; k < subs[i].n_topics; k++) {
            struct kp_str s = subs[i].topics[k];
            struct sl__topic *t = s.len > 0 ? sl__topic_find(&c->cl, s.ptr, (size_t)s.len) : NULL;
            if (!t) {
                if (s.len > 0 && s.len < 250) {
                    char name[256];
                    memcpy(name, s.ptr, (size_t)s.len);
                    name[s.len] = 0;
                    if (sl__topic_get(&c->cl, name))
                        err = -EAGAIN;
                }
                continue;
            }
            if (!t->known || t->stale || t->err == KP_ERR_LEADER_NOT_AVAILABLE) {
                err = -EAGAIN;
                continue;
            }
            if (t->n_parts <= 0)
                continue; /* does not exist: nothing to assign */
            names[i][kn++] = t->name;
            int j = 0;
            while (j < nt && strcmp(topics[j].name, t->name) != 0)
                j++;
            if (j == nt)
                topics[nt++] = (struct sl__atopic){t->name, t->n_parts};
        }
        /* Owned partitions, their topics as the client's names (the assignor compares names). */
        int n_own = 0;
        for (int32_t k = 0; k < subs[i].n_owned; k++)
            n_own += subs[i].owned[k].n_partitions;
        free(owned[i]);
        owned[i] = calloc((size_t)n_own + 1, sizeof(struct sl__atp));
        if (!owned[i]) {
            err = -ENOMEM;
            goto out;
        }
        for (int32_t k = 0; k < subs[i].n_owned; k++) {
            struct kp_str s = subs[i].owned[k].topic;
            struct sl__topic *t = s.len > 0 ? sl__topic_find(&c->cl, s.ptr, (size_t)s.len) : NULL;
            for (int32_t q = 0; t && q < subs[i].owned[k].n_partitions; q++)
                owned[i][m[i].n_owned++] =
                    (struct sl__atp){t->name, subs[i].owned[k].partitions[q]};
        }
        m[i].id = g->members[i].id;
        m[i].n_topics = kn;
        m[i].topics = names[i];
        m[i].owned = owned[i];
    }
    if (err)
        goto out;
    if (g->protocol && !strcmp(g->protocol, "cooperative-sticky"))
        err = sl__assign_cooperative_sticky(m, n, topics, nt);
    else if (g->protocol && !strcmp(g->protocol, "roundrobin"))
        err = sl__assign_roundrobin(m, n, topics, nt);
    else
        err = sl__assign_range(m, n, topics, nt);
    if (err)
        goto out;
    /* Encode each member's assignment (ConsumerProtocolAssignment v1, one topic entry per
     * partition run of the same topic). */
    for (int i = 0; i < n && !err; i++) {
        struct kp_consumer_topic_parts *tps = calloc((size_t)m[i].n_asg + 1, sizeof(*tps));
        int32_t *ps = calloc((size_t)m[i].n_asg + 1, sizeof(*ps));
        int ntp = 0;
        size_t need = 16;
        if (!tps || !ps)
            err = -ENOMEM;
        for (int k = 0; !err && k < m[i].n_asg; k++) {
            ps[k] = m[i].asg[k].partition;
            if (ntp > 0 && !strcmp(tps[ntp - 1].topic.ptr, m[i].asg[k].topic)) {
                tps[ntp - 1].n_partitions++;
            } else {
                tps[ntp++] =
                    (struct kp_consumer_topic_parts){kp_str_of(m[i].asg[k].topic), 1, &ps[k]};
                need += 6 + strlen(m[i].asg[k].topic);
            }
            need += 4;
        }
        struct kp_consumer_assignment as = {1, ntp, tps, KP_BYTES_NULL};
        if (!err)
            err = sl__bytes_reserve(&out[i], need);
        if (!err) {
            struct kp_wr wr;
            kp_wr_init(&wr, out[i].p, out[i].cap);
            err = kp_consumer_assignment_encode(&wr, &as);
            out[i].len = kp_wr_len(&wr);
        }
        free(tps);
        free(ps);
    }
    sl__assign_free(m, n);
out:
    for (int i = 0; i < n && names && owned; i++) {
        free(names[i]);
        free(owned[i]);
    }
    free(names);
    free(owned);
    free(topics);
    free(amem);
    free(subs);
    free(m);
    return err;
}

static void send_sync(sl_consumer *c)
{
    struct sl__group *g = c->g;
    int n = g->leader ? g->n_members : 0;
    struct sl__bytes *enc = calloc((size_t)n + 1, sizeof(*enc));
    struct kp_sync_group_assignment *as = calloc((size_t)n + 1, sizeof(*as));
    int err = enc && as ? 0 : -ENOMEM;
    if (!err && g->leader) {
        err = leader_assign(c, enc);
        if (err == -EAGAIN) { /* metadata on its way: next turn */
            sl__metadata_want(&c->cl);
            goto out;
        }
    }
    size_t guess = 128;
    for (int i = 0; !err && i < n; i++) {
        as[i] = (struct kp_sync_group_assignment){kp_str_of(g->members[i].id),
                                                  {enc[i].p, (int32_t)enc[i].len}};
        guess += 8 + strlen(g->members[i].id) + enc[i].len;
    }
    const char *inst = c->cl.conf->group_instance_id && *c->cl.conf->group_instance_id
                           ? c->cl.conf->group_instance_id
                           : NULL;
    struct kp_sync_group_req req = {
        .group_id = kp_str_of(g->group_id),
        .generation_id = g->generation,
        .member_id = kp_str_of(g->member_id),
        .group_instance_id = inst ? kp_str_of(inst) : KP_STR_NULL,
        .n_assignments = n,
        .assignments = as,
    };
    struct sl__req *r = err ? NULL : sl__req_get(&c->cl);
    if (!err && !r)
        err = -ENOMEM;
    if (!err)
        err = sl__req_begin(&c->cl, r, KP_API_SYNC_GROUP, V_SYNC_GROUP);
    if (!err)
        err = sl__req_body(r, guess, enc_sync, &req);
    if (!err)
        err = sl__req_end(r);
    if (err) {
        if (r)
            sl__req_put(&c->cl, r);
        join_again(c, 0, true);
        goto out;
    }
    r->timeout_ms = c->cl.conf->max_poll_interval_ms + 5000;
    r->cb = sync_cb;
    r->ctx = (void *)(uintptr_t)g->join_epoch;
    g->st = G_SYNCING;
    to_coordinator(c, r);
out:
    for (int i = 0; enc && i < n; i++)
        sl__bytes_free(&enc[i]);
    free(enc);
    free(as);
}

/* ---- heartbeat and leave ------------------------------------------------------------------ */

static void heartbeat_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    sl_consumer *c = cl->owner;
    struct sl__group *g = c->g;
    if (!g)
        return;
    g->hb_inflight = false;
    if (g->st != G_STABLE || (uint32_t)(uintptr_t)req->ctx != g->join_epoch)
        return;
    struct kp_heartbeat_resp resp = {.error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE};
    if (!err && f) {
        struct kp_arena *a = sl__arena(cl, f->len);
        struct kp_rd rd;
        kp_rd_init(&rd, f->body, f->len);
        if (!a || kp_heartbeat_resp_decode(&rd, req->api_version, a, &resp) != 0)
            resp.error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    int16_t ec = resp.error_code;
    if (ec == 0) {
        g->hb_ok_ms = now_ms();
    } else if (ec == KP_ERR_REBALANCE_IN_PROGRESS) {
        g->hb_ok_ms = now_ms();
        g->rejoin = true;
    } else if (coordinator_error(ec)) {
        sl__group_coordinator_lost(c); /* keep the assignment; heartbeat after rediscovery */
    } else {
        if (fatal_group_error(ec))
            sl__cons_event(c, NULL, (sl_err)ec, -1, -1);
        join_again(c, ec, false); /* UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION: lost */
        g->rejoin = true;
    }
}

static int enc_heartbeat(struct kp_wr *wr, const void *m)
{
    return kp_heartbeat_req_encode(wr, V_HEARTBEAT, m);
}

static void send_heartbeat(sl_consumer *c)
{
    struct sl__group *g = c->g;
    const char *inst = c->cl.conf->group_instance_id && *c->cl.conf->group_instance_id
                           ? c->cl.conf->group_instance_id
                           : NULL;
    struct kp_heartbeat_req req = {kp_str_of(g->group_id), g->generation, kp_str_of(g->member_id),
                                   inst ? kp_str_of(inst) : KP_STR_NULL};
    struct sl__req *r = sl__req_get(&c->cl);
    int err = r ? sl__req_begin(&c->cl, r, KP_API_HEARTBEAT, V_HEARTBEAT) : -ENOMEM;
    if (!err)
        err = sl__req_body(r, 64 + strlen(g->group_id) + strlen(g->member_id), enc_heartbeat, &req);
    if (!err)
        err = sl__req_end(r);
    if (err) {
        if (r)
            sl__req_put(&c->cl, r);
        return;
    }
    r->cb = heartbeat_cb;
    r->ctx = (void *)(uintptr_t)g->join_epoch;
    g->hb_inflight = true;
    g->hb_next_ms = now_ms() + c->cl.conf->heartbeat_interval_ms;
    to_coordinator(c, r);
}

static void leave_cb(struct sl__client *cl, struct sl__req *req, int err, struct sl__frame *f)
{
    sl_consumer *c = cl->owner;
    (void)req;
    (void)err;
    (void)f;
    if (c->g)
        c->g->leaving = false;
}

static int enc_leave(struct kp_wr *wr, const void *m)
{
    return kp_leave_group_req_encode(wr, V_LEAVE_GROUP, m);
}

/* LeaveGroup for this member (not for a static member: its session decides, as in Java). */
static void send_leave(sl_consumer *c)
{
    struct sl__group *g = c->g;
    if (!g->member_id[0] || !g->coord || g->co != CO_KNOWN ||
        (c->cl.conf->group_instance_id && *c->cl.conf->group_instance_id))
        return;
    struct kp_leave_group_req req = {.group_id = kp_str_of(g->group_id),
                                     .member_id = kp_str_of(g->member_id)};
    struct sl__req *r = sl__req_get(&c->cl);
    int err = r ? sl__req_begin(&c->cl, r, KP_API_LEAVE_GROUP, V_LEAVE_GROUP) : -ENOMEM;
    if (!err)
        err = sl__req_body(r, 32 + strlen(g->group_id) + strlen(g->member_id), enc_leave, &req);
    if (!err)
        err = sl__req_end(r);
    if (err) {
        if (r)
            sl__req_put(&c->cl, r);
        return;
    }
    r->cb = leave_cb;
    g->leaving = true;
    to_coordinator(c, r);
}

/* ---- applying rebalances (from the tick) ------------------------------------------------ */

/* The rebalance callback with the partitions in list (n of them). */
static void callback(sl_consumer *c, sl_err what, struct cpart *const *list, int n)
{
    const sl_conf *cf = c->cl.conf;
    if (!cf->rebalance_cb || n == 0)
        return;
    sl_topic_partition *tp = calloc((size_t)n, sizeof(*tp));
    if (!tp)
        return;
    for (int i = 0; i < n; i++)
        tp[i] = (sl_topic_partition){
            .topic = list[i]->t->name,
            .partition = list[i]->partition,
            .offset = what == SL_ERR__REVOKE_PARTITIONS &&
                              (list[i]->st == CP_ACTIVE || list[i]->st == CP_PARKED)
                          ? list[i]->pos
                          : SL_OFFSET_INVALID};
    cf->rebalance_cb(c, what, tp, (size_t)n, cf->opaque);
    free(tp);
}

/* Revokes list[0..n): commit first (auto commit, unless lost), callback, unassign. */
static void revoke(sl_consumer *c, struct cpart **list, int n, bool lost)
{
    if (n == 0)
        return;
    if (!lost && c->cl.conf->enable_auto_commit)
        sl__commit_positions(c, false, true, list, n);
    callback(c, SL_ERR__REVOKE_PARTITIONS, list, n);
    for (int i = 0; i < n; i++)
        if (list[i]->assigned && list[i]->by_group)
            sl__cpart_stop(c, list[i]);
}

/* The group-assigned partitions (caller frees the array). */
static struct cpart **owned_list(sl_consumer *c, int *n)
{
    struct cpart **l = calloc((size_t)c->n_parts + 1, sizeof(*l));
    *n = 0;
    for (int i = 0; l && i < c->n_parts; i++)
        if (c->parts[i]->assigned && c->parts[i]->by_group)
            l[(*n)++] = c->parts[i];
    return l;
}

static void revoke_all(sl_consumer *c, bool lost)
{
    int n;
    struct cpart **l = owned_list(c, &n);
    if (l)
        revoke(c, l, n, lost);
    free(l);
}

/* The assignment SyncGroup brought: revoke what is gone, assign what is new. */
static void apply_assignment(sl_consumer *c)
{
    struct sl__group *g = c->g;
    g->asg_arrived = false;
    struct cpart **gone = calloc((size_t)c->n_parts + 1, sizeof(*gone));
    struct cpart **added = calloc((size_t)g->n_asg + 1, sizeof(*added));
    int n_gone = 0, n_added = 0;
    if (!gone || !added)
        goto out;
    for (int i = 0; i < c->n_parts; i++) {
        struct cpart *cp = c->parts[i];
        if (!cp->assigned || !cp->by_group)
            continue;
        bool keep = false;
        for (int k = 0; k < g->n_asg && !keep; k++)
            keep = g->asg[k].partition == cp->partition && !strcmp(g->asg[k].topic, cp->t->name);
        if (!keep)
            gone[n_gone++] = cp;
    }
    revoke(c, gone, n_gone, false);
    for (int k = 0; k < g->n_asg; k++) {
        struct sl__topic *t = sl__topic_get(&c->cl, g->asg[k].topic);
        struct cpart *cp = t ? sl__cpart_get(c, t, g->asg[k].partition) : NULL;
        if (!cp || (cp->assigned && cp->by_group))
            continue;
        sl__cpart_start(c, cp, SL__OFFSET_STORED);
        cp->by_group = true;
        added[n_added++] = cp;
    }
    callback(c, SL_ERR__ASSIGN_PARTITIONS, added, n_added);
    /* Cooperative: partitions given up can now move; the next round hands them out. */
    if (g->cooperative && n_gone > 0)
        g->rejoin = true;
out:
    free(gone);
    free(added);
}

void sl__group_commit_refused(sl_consumer *c, int16_t err)
{
    struct sl__group *g = c->g;
    if (!g || !g->subscribed)
        return;
    if (err == KP_ERR_REBALANCE_IN_PROGRESS) {
        g->rejoin = true;
    } else if (err == KP_ERR_UNKNOWN_MEMBER_ID || err == KP_ERR_ILLEGAL_GENERATION) {
        join_again(c, err, false);
        g->rejoin = true;
    }
}

void sl__group_tick(sl_consumer *c)
{
    struct sl__group *g = c->g;
    if (!g)
        return;
    const sl_conf *cf = c->cl.conf;
    int64_t now = now_ms();
    if (g->subscribed) {
        if (g->st == G_STABLE && c->last_poll_ms &&
            now - c->last_poll_ms > cf->max_poll_interval_ms) {
            /* The application did not poll in time: leave, so the others need not wait for
             * this member in the rebalance, and rejoin. */
            sl__cons_event(c, NULL, SL_ERR__MAX_POLL_EXCEEDED, -1, -1);
            send_leave(c);
            join_again(c, KP_ERR_UNKNOWN_MEMBER_ID, false);
        }
        if (g->st == G_STABLE && now - g->hb_ok_ms > cf->session_timeout_ms)
            join_again(c, KP_ERR_UNKNOWN_MEMBER_ID, false); /* session expired */
        if (g->lost) {
            g->lost = false;
            g->asg_arrived = false;
            revoke_all(c, true);
        }
        if (g->asg_arrived)
            apply_assignment(c);
        if (g->rejoin && (g->st == G_STABLE || g->st == G_WANT_JOIN)) {
            g->rejoin = false;
            if (!g->cooperative)
                revoke_all(c, false);
            g->st = G_WANT_JOIN;
        }
    }
    /* Auto commit: a member between rebalances, or a consumer that assigns its own partitions. */
    if (cf->enable_auto_commit && (g->subscribed ? g->st == G_STABLE : true) &&
        now >= g->auto_commit_ms) {
        g->auto_commit_ms = now + cf->auto_commit_interval_ms;
        sl__commit_positions(c, true, true, NULL, 0);
    }
    sl__commit_serve(c);
}

void sl__group_send(sl_consumer *c)
{
    struct sl__group *g = c->g;
    if (!g)
        return;
    struct sl__conn *coord = sl__group_coordinator(c);
    if (!coord)
        return;
    sl__commit_fetch_starts(c);
    sl__commit_send(c);
    if (!g->subscribed)
        return;
    int64_t now = now_ms();
    switch (g->st) {
    case G_WANT_JOIN:
        if (now >= g->retry_ms && !g->lost && !g->asg_arrived && !g->rejoin)
            send_join(c);
        break;
    case G_ASSIGNING:
    case G_WANT_SYNC:
        send_sync(c);
        break;
    case G_STABLE:
        if (!g->hb_inflight && now >= g->hb_next_ms && !g->rejoin)
            send_heartbeat(c);
        break;
    default:
        break;
    }
}

/* ---- subscribe / unsubscribe ------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

sl_err sl__group_subscribe(sl_consumer *c, const char *const *topics, size_t n)
{
    struct sl__group *g = c->g;
    char **copy = calloc(n + 1, sizeof(*copy));
    if (!copy)
        return SL_ERR__NO_MEMORY;
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        copy[k] = strdup(topics[i]);
        if (!copy[k]) {
            for (int j = 0; j < k; j++)
                free(copy[j]);
            free(copy);
            return SL_ERR__NO_MEMORY;
        }
        k++;
    }
    qsort(copy, (size_t)k, sizeof(*copy), cmp_str);
    int u = 0; /* unique */
    for (int i = 0; i < k; i++) {
        if (u > 0 && !strcmp(copy[u - 1], copy[i])) {
            free(copy[i]);
            continue;
        }
        copy[u++] = copy[i];
    }
    free_topics(g);
    g->topics = copy;
    g->n_topics = u;
    for (int i = 0; i < u; i++)
        sl__topic_get(&c->cl, g->topics[i]); /* their metadata, for fetching and assigning */
    if (g->subscribed) {
        g->rejoin = true; /* a new subscription: a rebalance */
    } else {
        g->subscribed = true;
        g->st = G_WANT_JOIN;
    }
    return SL_ERR_NO_ERROR;
}

sl_err sl__group_unsubscribe(sl_consumer *c, int timeout_ms)
{
    struct sl__group *g = c->g;
    if (!g || !g->subscribed)
        return SL_ERR_NO_ERROR;
    revoke_all(c, false);
    send_leave(c);
    int64_t deadline = now_ms() + timeout_ms;
    while (g->leaving && now_ms() < deadline)
        sl__cons_turn(c, (int)(deadline - now_ms()));
    g->subscribed = false;
    g->st = G_NONE;
    g->rejoin = g->lost = false;
    g->generation = -1;
    g->hb_inflight = false;
    g->join_epoch++;
    free_asg(g);
    free_members(g);
    free_topics(g);
    set_str(&g->member_id, "", 0);
    return SL_ERR_NO_ERROR;
}

/* ---- the public calls ------------------------------------------------------------------ */

sl_err sl_consumer_subscribe(sl_consumer *c, const char *const *topics, size_t n)
{
    if (!c || (!topics && n))
        return SL_ERR__INVALID_ARG;
    if (c->closed)
        return SL_ERR__STATE;
    if (!c->g)
        return SL_ERR__INVALID_ARG; /* no group.id */
    for (size_t i = 0; i < n; i++)
        if (!topics[i] || !*topics[i] || strlen(topics[i]) > 249 || topics[i][0] == '^')
            return SL_ERR__INVALID_ARG; /* regular expressions are not supported */
    for (int i = 0; i < c->n_parts; i++)
        if (c->parts[i]->assigned && !c->parts[i]->by_group)
            return SL_ERR__STATE; /* manual assignment */
    if (n == 0)
        return sl_consumer_unsubscribe(c);
    return sl__group_subscribe(c, topics, n);
}

sl_err sl_consumer_unsubscribe(sl_consumer *c)
{
    if (!c)
        return SL_ERR__INVALID_ARG;
    return sl__group_unsubscribe(c, c->cl.conf->request_timeout_ms);
}

sl_err sl_consumer_close(sl_consumer *c)
{
    if (!c)
        return SL_ERR__INVALID_ARG;
    if (c->closed)
        return SL_ERR_NO_ERROR;
    int timeout = c->cl.conf->request_timeout_ms;
    if (c->g && c->g->subscribed) {
        sl__group_unsubscribe(c, timeout);
    } else if (c->g && c->cl.conf->enable_auto_commit) {
        /* Manually assigned partitions of a consumer with a group.id: a last commit. */
        sl__commit_positions(c, false, true, NULL, 0);
    }
    sl__commit_drain(c, timeout);
    sl__commit_serve(c);
    c->closed = true;
    return SL_ERR_NO_ERROR;
}
