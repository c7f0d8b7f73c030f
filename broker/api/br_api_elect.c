/*
 * br_api_elect — ElectLeaders (43) v0-2, what `kafka-leader-election.sh` and Admin's
 * electLeaders send to the controller (docs/cluster.md, "The controller").
 *
 * Election types: 0 PREFERRED elects each partition's preferred replica (the first of its
 * assignment) when it is live and in the ISR; 1 UNCLEAN is answered without electing anything
 * (unclean.leader.election.enable is not supported): ELECTION_NOT_NEEDED while a live leader
 * leads, else ELIGIBLE_LEADERS_NOT_AVAILABLE. Any other type: INVALID_REQUEST.
 *
 * Per partition, as Kafka: NONE once the controller wrote the new state; ELECTION_NOT_NEEDED
 * when the preferred replica leads already; PREFERRED_LEADER_NOT_AVAILABLE when it is not live
 * or not in the ISR; UNKNOWN_TOPIC_OR_PARTITION; NOT_CONTROLLER on a broker that is not the
 * controller (and at the top level, v1+), so clients refresh Metadata and ask the controller;
 * REQUEST_TIMED_OUT (retriable, as Kafka's controller answers a partition it has not elected in
 * time) when ZooKeeper could not be reached or the state kept changing (the controller reads a
 * state that changed meanwhile again and decides again, a few times: br_clu_prefer.c);
 * UNKNOWN_SERVER_ERROR when ZooKeeper refused the write for another reason.
 * A null partition list means every partition of the cluster's view; the answer then leaves
 * out those whose preferred replica leads already (Kafka's controller does the same). On a
 * single node, every partition is led by its only replica: ELECTION_NOT_NEEDED. The request's
 * timeout_ms is not waited on: the answer comes once the controller has written each state
 * (the other brokers then see it by their watches, docs/cluster.md).
 *
 * Authorization, as Kafka's KafkaApis: ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED
 * at the top level and for every partition named (none for a null list: the view is not even
 * walked, so an unauthorized client learns no topic). A null list to a broker that is not the
 * controller answers every partition of its view NOT_CONTROLLER (as when the controller
 * changes under the request).
 *
 * Threads: the request is decoded, checked and laid out on the loop thread (the view read
 * under its lock, br_clu_each_partition); the election itself runs on the admin thread, which
 * hands it to the cluster thread and waits (br_clu_elect: never a ZooKeeper call on a loop
 * thread); done encodes on the loop thread. All memory is the response's scratch, sized from
 * the request (or the view) before anything is written into it.
 */
#include <errno.h>
#include <string.h>

#include "br_api.h"
#include "br_clu.h"
#include "br_log.h"
#include "kp_msg.h"
#include "kp_msg_cluster.h"
#include "kp_msg_sec.h"

enum { EL_PREFERRED = 0, EL_UNCLEAN = 1 };

struct el_job {
    struct br_job job; /* first */
    bool unclean;
    bool all;  /* the request's list was null: every partition of the view */
    int whole; /* br_clu_elect's return */
    size_t n;  /* partitions (e and parts run in step) */
    struct br_clu_elect *e;
    int32_t nt;
    struct kp_elect_leaders_resp_topic *topics;
    struct kp_elect_leaders_resp_partition *parts;
    int16_t top; /* the top-level error (v1+) */
};

/* ---- layout --------------------------------------------------------------------------------- */

/* Counts (first pass) or fills (second pass, within the counts) the partitions of the view. */
struct el_walk {
    struct el_job *j;
    bool fill;
    size_t np, nt, names; /* counted (names: their bytes); when filling, the room left (names:
                             with a NUL each) */
    size_t fp, ft;        /* filled */
    char *nb;             /* names' room */
    const char *last;     /* the last topic's name, as copied */
};

static int walk_one(void *ctx, const char *topic, int32_t p, const struct br_clu_replicas *replicas,
                    int32_t leader, int32_t leader_epoch)
{
    struct el_walk *w = ctx;
    size_t len = strlen(topic);
    if (!w->fill) {
        if (!w->last || strcmp(w->last, topic) != 0) {
            w->nt++;
            w->names += len;
        }
        w->last = topic; /* (valid while the view's lock is held: this pass only compares) */
        w->np++;
        return 0;
    }
    struct el_job *j = w->j;
    bool same = w->ft > 0 && w->last && strlen(w->last) == len && memcmp(w->last, topic, len) == 0;
    if (!same) {
        if (w->ft == w->nt || len + 1 > w->names)
            return 1; /* (the view grew between the passes: the rest is left out) */
        memcpy(w->nb, topic, len);
        w->last = w->nb;
        w->nb[len] = 0;
        w->nb += len + 1;
        w->names -= len + 1;
        j->topics[w->ft++] = (struct kp_elect_leaders_resp_topic){.topic = {w->last, (int32_t)len},
                                                                  .partitions = &j->parts[w->fp]};
    }
    if (w->fp == w->np)
        return 1;
    struct kp_elect_leaders_resp_topic *t = &j->topics[w->ft - 1];
    j->e[w->fp] = (struct br_clu_elect){.topic = t->topic.ptr, .len = len, .partition = p};
    j->parts[w->fp] = (struct kp_elect_leaders_resp_partition){.partition_id = p};
    t->n_partitions++;
    w->fp++;
    return 0;
}

/* The job in r's scratch: e, topics and parts for np partitions of nt topics, names bytes of
 * names (each NUL-terminated). NULL: -ENOMEM. */
static struct el_job *el_alloc(struct br_resp *r, size_t nt, size_t np, size_t names)
{
    size_t need = br_align8(sizeof(struct el_job)) + br_align8(np * sizeof(struct br_clu_elect)) +
                  br_align8(nt * sizeof(struct kp_elect_leaders_resp_topic)) +
                  br_align8(np * sizeof(struct kp_elect_leaders_resp_partition)) + names + nt + 8;
    if (br_resp_scratch(r, need) < 0)
        return NULL;
    uint8_t *m = r->scratch;
    struct el_job *j = (struct el_job *)m;
    memset(j, 0, sizeof(*j));
    m += br_align8(sizeof(*j));
    j->e = (struct br_clu_elect *)m;
    m += br_align8(np * sizeof(struct br_clu_elect));
    j->topics = (struct kp_elect_leaders_resp_topic *)m;
    m += br_align8(nt * sizeof(struct kp_elect_leaders_resp_topic));
    j->parts = (struct kp_elect_leaders_resp_partition *)m;
    return j;
}

static char *el_names(struct br_resp *r, size_t nt, size_t np)
{
    return (char *)r->scratch + br_align8(sizeof(struct el_job)) +
           br_align8(np * sizeof(struct br_clu_elect)) +
           br_align8(nt * sizeof(struct kp_elect_leaders_resp_topic)) +
           br_align8(np * sizeof(struct kp_elect_leaders_resp_partition));
}

/* Every partition of the cluster's view. -ENOMEM. */
static int lay_out_all(struct br_req *q, struct br_resp *r, struct el_job **out)
{
    struct el_walk w = {0};
    (void)br_clu_each_partition(q->x->clu, walk_one, &w);
    struct el_job *j = el_alloc(r, w.nt, w.np, w.names);
    if (!j)
        return -ENOMEM;
    struct el_walk f = {.j = j, .fill = true, .np = w.np, .nt = w.nt, .names = w.names + w.nt};
    f.nb = el_names(r, w.nt, w.np);
    (void)br_clu_each_partition(q->x->clu, walk_one, &f);
    j->all = true;
    j->nt = (int32_t)f.ft;
    j->n = f.fp;
    *out = j;
    return 0;
}

/* The partitions the request names, in its order. -ENOMEM. */
static int lay_out_named(const struct kp_elect_leaders_req *req, struct br_resp *r,
                         struct el_job **out)
{
    size_t nt = req->n_topic_partitions > 0 ? (size_t)req->n_topic_partitions : 0, np = 0;
    size_t names = 0;
    for (size_t i = 0; i < nt; i++) {
        const struct kp_elect_leaders_req_topic *t = &req->topic_partitions[i];
        np += t->n_partitions > 0 ? (size_t)t->n_partitions : 0;
        names += t->topic.len > 0 ? (size_t)t->topic.len : 0;
    }
    struct el_job *j = el_alloc(r, nt, np, names);
    if (!j)
        return -ENOMEM;
    char *nb = el_names(r, nt, np);
    size_t k = 0;
    for (size_t i = 0; i < nt; i++) {
        const struct kp_elect_leaders_req_topic *t = &req->topic_partitions[i];
        int32_t nl = t->topic.len > 0 ? t->topic.len : 0;
        if (nl)
            memcpy(nb, t->topic.ptr, (size_t)nl);
        nb[nl] = 0;
        int32_t tn = t->n_partitions > 0 ? t->n_partitions : 0;
        j->topics[i] = (struct kp_elect_leaders_resp_topic){
            .topic = {nb, nl}, .n_partitions = tn, .partitions = &j->parts[k]};
        for (int32_t p = 0; p < tn; p++, k++) {
            j->e[k] = (struct br_clu_elect){
                .topic = nb, .len = (size_t)nl, .partition = t->partitions[p]};
            j->parts[k] =
                (struct kp_elect_leaders_resp_partition){.partition_id = t->partitions[p]};
        }
        nb += nl + 1;
    }
    j->nt = (int32_t)nt;
    j->n = k;
    *out = j;
    return 0;
}

/* ---- answers -------------------------------------------------------------------------------- */

static void set_error(struct kp_elect_leaders_resp_partition *o, int16_t code, const char *msg)
{
    o->error_code = code;
    o->error_message = msg ? kp_str_of(msg) : KP_STR_NULL;
}

/* Each partition's wire answer from its br_clu_elect answer. */
static void answer(struct el_job *j)
{
    for (size_t k = 0; k < j->n; k++) {
        struct kp_elect_leaders_resp_partition *o = &j->parts[k];
        switch (j->e[k].rc) {
        case 0:
            set_error(o, KP_ERR_NONE, NULL);
            break;
        case -EALREADY:
            set_error(o, KP_ERR_ELECTION_NOT_NEEDED,
                      j->unclean ? "a live leader leads the partition"
                                 : "the preferred replica leads the partition already");
            break;
        case -ENXIO:
            if (j->unclean)
                set_error(o, KP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE,
                          "no live leader, and unclean leader election is not supported");
            else
                set_error(o, KP_ERR_PREFERRED_LEADER_NOT_AVAILABLE,
                          "the preferred replica is not live or not in the ISR");
            break;
        case -ENOENT:
            set_error(o, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, "no such partition");
            break;
        case -ENOTCONN:
            set_error(o, KP_ERR_NOT_CONTROLLER, "this broker is not the controller");
            break;
        case -EBUSY:
            set_error(o, KP_ERR_REQUEST_TIMED_OUT,
                      "the partition's state kept changing during the election: try again");
            break;
        case -EAGAIN:
            set_error(o, KP_ERR_REQUEST_TIMED_OUT,
                      "the controller could not reach ZooKeeper: try again");
            break;
        default:
            set_error(o, KP_ERR_UNKNOWN_SERVER_ERROR, "the controller could not write the state");
            break;
        }
    }
}

/* Every partition answered code (a refusal of the whole request). */
static void answer_all(struct el_job *j, int16_t code, const char *msg)
{
    j->top = code;
    for (size_t k = 0; k < j->n; k++)
        set_error(&j->parts[k], code, msg);
}

/* For a null list: the partitions whose answer is ELECTION_NOT_NEEDED, and topics left with
 * none, are left out (as Kafka's controller answers "all partitions"). */
static void drop_not_needed(struct el_job *j)
{
    int32_t kt = 0;
    for (int32_t i = 0; i < j->nt; i++) {
        struct kp_elect_leaders_resp_topic t = j->topics[i];
        struct kp_elect_leaders_resp_partition *ps =
            (struct kp_elect_leaders_resp_partition *)t.partitions;
        int32_t kp = 0;
        for (int32_t p = 0; p < t.n_partitions; p++)
            if (ps[p].error_code != KP_ERR_ELECTION_NOT_NEEDED)
                ps[kp++] = ps[p];
        if (kp == 0)
            continue;
        t.n_partitions = kp;
        j->topics[kt++] = t;
    }
    j->nt = kt;
}

static int el_encode(struct br_resp *r, struct el_job *j)
{
    if (j->all)
        drop_not_needed(j);
    struct kp_elect_leaders_resp resp = {
        .error_code = j->top, .n_results = j->nt, .results = j->topics};
    return BR_ENCODE(r, kp_elect_leaders_resp_encode, &resp);
}

/* ---- the job -------------------------------------------------------------------------------- */

static void el_run(struct br_job *jb)
{
    struct el_job *j = (struct el_job *)jb;
    j->whole = br_clu_elect(jb->x->clu, j->unclean, j->e, j->n);
}

static void el_done(struct br_job *jb)
{
    struct el_job *j = (struct el_job *)jb;
    if (j->whole == -ENOTCONN)
        answer_all(j, KP_ERR_NOT_CONTROLLER, "this broker is not the controller");
    else if (j->whole < 0)
        answer_all(j, KP_ERR_UNKNOWN_SERVER_ERROR, "the controller cannot reach ZooKeeper");
    else
        answer(j);
    if (el_encode(jb->r, j) < 0) {
        br_fail(jb->x, jb->r, "cannot encode an ElectLeaders response");
        return;
    }
    br_ready(jb->x, jb->r);
}

int br_api_elect_leaders(struct br_req *q, struct br_resp *r)
{
    struct kp_elect_leaders_req req;
    int rc = BR_DECODE(q, kp_elect_leaders_req_decode, &req);
    if (rc < 0)
        return br_req_bad(q, rc);
    struct br_ctx *x = q->x;
    bool all = req.n_topic_partitions < 0;
    /* authorized before the view is walked: a refused null list names no partition (nor, so,
     * the cluster's topics) and costs no walk */
    bool allowed = br_allowed_cluster(q, KP_ACL_OP_ALTER);
    struct el_job *j = NULL;
    if (all && x->clu && allowed)
        rc = lay_out_all(q, r, &j);
    else
        rc = lay_out_named(&req, r, &j); /* (a null list here: nothing to answer) */
    if (rc < 0)
        return rc;
    j->all = all;
    j->unclean = req.election_type == EL_UNCLEAN;
    if (req.election_type != EL_PREFERRED && req.election_type != EL_UNCLEAN) {
        answer_all(j, KP_ERR_INVALID_REQUEST, "election type must be 0 (preferred) or 1 (unclean)");
        j->all = false;
    } else if (!allowed) {
        answer_all(j, KP_ERR_CLUSTER_AUTHORIZATION_FAILED, NULL);
        j->all = false;
    } else if (x->clu && br_clu_controller(x->clu, NULL) != x->cfg->node_id) {
        /* each partition NOT_CONTROLLER, for a null list too (every partition of the view, as
         * when the controller changes under the request: el_done): a v0 client, without the
         * top-level error, sees why */
        answer_all(j, KP_ERR_NOT_CONTROLLER, "this broker is not the controller");
        j->all = false;
    } else if (x->clu) {
        j->job.r = r;
        j->job.run = el_run;
        j->job.done = el_done;
        rc = br_admin(x, &j->job);
        return rc < 0 ? rc : BR_REPLY;
    } else {
        /* a single node: each partition's only replica leads it */
        for (size_t k = 0; k < j->n; k++) {
            int32_t np = st_topic_partitions(x->store, j->e[k].topic, j->e[k].len);
            bool known = j->e[k].partition >= 0 && np > j->e[k].partition;
            j->e[k].rc = known ? -EALREADY : -ENOENT;
        }
        answer(j);
    }
    rc = el_encode(r, j);
    return rc < 0 ? rc : BR_REPLY;
}
