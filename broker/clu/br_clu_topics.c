/*
 * br_clu_topics — topics in the cluster (issue 18 M2, docs/cluster.md): the view of every
 * topic's assignment and partition states, the controller's duties, topic creation and
 * deletion through ZooKeeper. See br_clu.h for the contract, br_clu_int.h for what is shared
 * with br_clu.c.
 *
 * How the view is kept: one watcher (on_topics) on /brokers/topics' children, on every
 * /brokers/topics/<t> (its assignment) and on every partition state (an exists-watch while
 * the state is missing). The path that fired says what changed, recorded in c->tdirty under
 * the lock (br_clu__topics_mark): the children (the list is read again: new topics read
 * whole, those no longer listed dropped), a topic (its assignment and every state read again:
 * partitions added, deleted and created again with another id), one state (read again).
 * Bounded: too many topics or a name too long marks everything, too many states of one topic
 * the whole topic. Everything is read again at the first read, after any (new) connection
 * (on_session: an expired session's watches are lost), after an overflow and after a failed
 * read. The cluster thread takes and clears the record before it reads, so a change during the
 * reads fires again and is read next turn; a read re-arms exactly the watch that fired (and
 * those of a topic read whole); what is not read keeps its armed watch. The new view is built
 * from a copy of the old one with what was read put in (the published view is not touched by
 * the rebuild); sync_store acts on the topics whose assignment changed, br_clu__lead and
 * br_clu__coord_tell get the whole new view. Each rebuild logs what it read. Still a watch per
 * partition, replaced by controller requests later (docs/cluster.md, "How brokers learn
 * state").
 *
 * The controller (br_clu__reconcile) writes partition states only in a multi that begins with
 * check(/controller_epoch, the version it wrote when elected), and each setData carries the
 * state's version it read: a controller that was replaced fails the check and stops; a state
 * changed meanwhile fails the version and is read again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_clock.h"
#include "br_clu_assign.h"
#include "br_clu_int.h"
#include "br_log.h"
#include "st.h"

/* A znode's path into out; false when it does not fit (a name too long for any path). */
static bool path_of(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool path_of(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

static void random_uuid(uint8_t b[16]);

/* ---- the view ------------------------------------------------------------------------------- */

void br_clu__topics_free(struct ctopic *t, int n)
{
    for (int i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].p);
    }
    free(t);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct ctopic *)a)->name, ((const struct ctopic *)b)->name);
}

/* The topic called name[0, len) in (topics, n), or NULL. */
static struct ctopic *find_in(struct ctopic *topics, int n, const char *name, size_t len)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int cmp = strncmp(topics[mid].name, name, len);
        if (cmp == 0 && topics[mid].name[len])
            cmp = 1;
        if (cmp == 0)
            return &topics[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

struct ctopic *br_clu__find_topic(struct ctopic *topics, int n, const char *name, size_t len)
{
    return find_in(topics, n, name, len);
}

static bool holds(const struct ctopic *t, int32_t id)
{
    for (int32_t p = 0; p < t->np; p++)
        for (int32_t k = 0; k < t->p[p].rep.n; k++)
            if (t->p[p].rep.id[k] == id)
                return true;
    return false;
}

/* Whether partition cp's log here was given the leader epoch of its state (br_clu__lead):
 * until then this broker does not lead it, even when its state names it. */
static bool told(const struct cpart *cp)
{
    return cp->zver >= 0 && cp->told == cp->st.leader_epoch + 1;
}

static bool has(const struct br_clu_replicas *r, int32_t id)
{
    for (int32_t k = 0; k < r->n; k++)
        if (r->id[k] == id)
            return true;
    return false;
}

bool br_clu__topics_mark(struct br_clu *c, const char *name, size_t len, int32_t p)
{
    pthread_mutex_lock(&c->lock);
    struct tdirty *d = &c->tdirty;
    struct tdirty_topic *e = NULL;
    for (int i = 0; i < d->n && !e && !d->full; i++)
        if (strncmp(d->t[i].name, name, len) == 0 && !d->t[i].name[len])
            e = &d->t[i];
    if (!e && !d->full && len > 0 && len < TDIRTY_NAME && d->n < TDIRTY_TOPICS) {
        e = &d->t[d->n++];
        memcpy(e->name, name, len);
        e->name[len] = 0;
        e->whole = false;
        e->np = 0;
    }
    if (!e) {
        d->full = true; /* (too many, or a name longer than any topic's) */
    } else if (p < 0) {
        e->whole = true;
    } else if (!e->whole) {
        bool there = false;
        for (int k = 0; k < e->np && !there; k++)
            there = e->p[k] == p;
        if (!there && e->np == TDIRTY_PARTS)
            e->whole = true;
        else if (!there)
            e->p[e->np++] = p;
    }
    bool full = d->full;
    c->topics_dirty = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return full;
}

/* "/partitions/<p>/state": p; else -1. */
static int32_t state_of(const char *s)
{
    static const char pre[] = "/partitions/";
    if (strncmp(s, pre, sizeof pre - 1) != 0)
        return -1;
    s += sizeof pre - 1;
    int64_t p = 0;
    const char *d = s;
    for (; *d >= '0' && *d <= '9' && d - s < 10; d++)
        p = p * 10 + (*d - '0');
    if (d == s || p > INT32_MAX || strcmp(d, "/state") != 0)
        return -1;
    return (int32_t)p;
}

/* The topics' watcher: the path that fired says what to read again. */
static void on_topics(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    (void)state;
    struct br_clu *c = ctx;
    if (type == ZOO_SESSION_EVENT)
        return; /* on_session has it */
    size_t pl = strlen(c->p_topics);
    if (type == ZOO_NOTWATCHING_EVENT || !path || strncmp(path, c->p_topics, pl) != 0 ||
        (path[pl] && path[pl] != '/')) {
        /* /admin/delete_topics (the controller's: nothing to read, br_clu__reconcile follows
         * the view's read); anything else: everything, to be safe */
        bool deletes = path && strcmp(path, c->p_deletes) == 0 && type != ZOO_NOTWATCHING_EVENT;
        pthread_mutex_lock(&c->lock);
        c->tdirty.full |= !deletes;
        c->topics_dirty = true;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        return;
    }
    if (!path[pl]) { /* the children: topics added or removed */
        pthread_mutex_lock(&c->lock);
        c->tdirty.kids = true;
        c->topics_dirty = true;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        return;
    }
    const char *name = path + pl + 1;
    size_t nl = strcspn(name, "/");
    /* /brokers/topics/<t>: its assignment; .../partitions/<p>/state: that state; anything
     * else under the topic: all of it */
    (void)br_clu__topics_mark(c, name, nl, name[nl] ? state_of(name + nl) : -1);
}

/* Partition p's state (with a watch) into *cp; a ZooKeeper code. */
static int read_state(struct br_clu *c, const char *topic, int32_t p, struct cpart *cp)
{
    char path[PATH_MAX_LEN], buf[DATA_MAX];
    (void)path_of(path, sizeof path, "%s/%s/partitions/%d/state", c->p_topics, topic, (int)p);
    for (int attempt = 0; attempt < ELECT_TRIES; attempt++) {
        int len = (int)sizeof buf;
        struct Stat st;
        int rc = zoo_wget(c->zh, path, on_topics, c, buf, &len, &st);
        if (rc == ZNONODE) {
            /* (an exists-watch tells when the controller creates it) */
            rc = zoo_wexists(c->zh, path, on_topics, c, &st);
            if (rc == ZOK)
                continue; /* created in between */
            if (rc != ZNONODE)
                return rc;
            cp->zver = -1;
            cp->st = (struct br_clu_state){.leader = -1};
            return ZOK;
        }
        if (rc != ZOK)
            return rc;
        cp->zver = st.version;
        if (len <= 0 || br_clu_json_state(buf, (size_t)len, &cp->st) < 0) {
            br_warn_limited("cluster: %s is not a partition state: '%.*s'", path, len > 0 ? len : 0,
                            buf);
            /* the controller writes a valid one over it */
            cp->st = (struct br_clu_state){.leader = -1, .isr = cp->rep};
        }
        return ZOK;
    }
    return ZOPERATIONTIMEOUT;
}

/* Topic name's assignment and states (with watches) into *t; ZNONODE also for a document
 * that cannot be read (it is left out of the view, with a warning). */
static int read_topic(struct br_clu *c, const char *name, struct ctopic *t)
{
    char path[PATH_MAX_LEN];
    if (snprintf(path, sizeof path, "%s/%s", c->p_topics, name) >= (int)sizeof path)
        return ZNONODE;
    int len = BIG_MAX;
    struct Stat zs;
    int rc = zoo_wget(c->zh, path, on_topics, c, c->big, &len, &zs);
    if (rc != ZOK)
        return rc;
    t->czxid = zs.czxid;
    int32_t n = len > 0 ? br_clu_json_partitions(c->big, (size_t)len, NULL, 0) : -EINVAL;
    if (n <= 0 || n > ST_MAX_PARTITIONS) {
        br_warn_limited("cluster: %s: no readable assignment", path);
        return ZNONODE;
    }
    struct br_clu_replicas *reps = calloc((size_t)n, sizeof(*reps));
    t->p = calloc((size_t)n, sizeof(*t->p));
    t->name = strdup(name);
    t->np = n;
    if (!reps || !t->p || !t->name) {
        free(reps);
        return ZSYSTEMERROR;
    }
    (void)br_clu_json_partitions(c->big, (size_t)len, reps, n);
    if (br_clu_json_topic_id(c->big, (size_t)len, t->id) < 0)
        memset(t->id, 0, sizeof t->id); /* (written by a Kafka before topic ids) */
    for (int32_t p = 0; p < n; p++)
        t->p[p].rep = reps[p];
    free(reps);
    for (int32_t p = 0; p < n; p++)
        if ((rc = read_state(c, name, p, &t->p[p])) != ZOK)
            return rc;
    return ZOK;
}

struct cfg_apply {
    struct br_clu *c;
    const char *topic;
    struct st_log_config *lc;
};

static int apply_one(void *ctx, const char *key, const char *val)
{
    struct cfg_apply *a = ctx;
    uint32_t ov = 0;
    if (a->c->conf.topic_config && a->c->conf.topic_config(a->lc, &ov, key, val) != 0)
        br_warn("cluster: topic %s: config %s=%s not applied here", a->topic, key, val);
    return 0;
}

/* The configs topic name is created with here: the defaults and /config/topics/<t>'s. */
static void topic_config(struct br_clu *c, const char *name, struct st_log_config *lc)
{
    *lc = c->conf.log_defaults;
    char path[PATH_MAX_LEN], buf[DATA_MAX];
    int len = (int)sizeof buf;
    if (!path_of(path, sizeof path, "%s/%s", c->p_configs, name) ||
        zoo_get(c->zh, path, 0, buf, &len, NULL) != ZOK || len <= 0)
        return; /* none: the defaults */
    struct cfg_apply a = {c, name, lc};
    if (br_clu_json_config_each(buf, (size_t)len, apply_one, &a) < 0)
        br_warn("cluster: %s is not a topic config document", path);
}

static bool id_zero(const uint8_t id[16]);

/* Whether topics a and b have the same id and assignment (what sync_store acts on). */
static bool same_assignment(const struct ctopic *a, const struct ctopic *b)
{
    if (a->np != b->np || memcmp(a->id, b->id, sizeof a->id) != 0)
        return false;
    for (int32_t p = 0; p < a->np; p++)
        if (a->p[p].rep.n != b->p[p].rep.n ||
            memcmp(a->p[p].rep.id, b->p[p].rep.id, (size_t)a->p[p].rep.n * sizeof(int32_t)) != 0)
            return false;
    return true;
}

/* Brings the local topic t->name in line with the view's topic t, by their ids:
 * - another id: the local topic is an earlier incarnation (a topic of that name deleted and
 *   created again), deleted here so that it is created again empty where this broker holds the
 *   new one and never served as the new topic's data. Decided by the ids alone, not by the
 *   previous view: the deletion may have happened between two reads, or while this broker was
 *   down (its first view after a restart has no previous one), and its old log must not lead or
 *   seed the new topic's replicas either way;
 * - the same id, on a full pass (record): a local topic whose creation zxid is not recorded
 *   (created before it was) gets it, so that drop_strays can take it once the cluster has
 *   deleted it (a failure is logged and tried again at the next full pass).
 * Nothing is done when either id is unknown (zero: an assignment written without "topic_id").
 * 0 or -errno of a deletion (logged; the old log stays: sync_store tries again on its next full
 * pass). */
static int match_local(struct st_store *store, const struct ctopic *t, bool record)
{
    uint8_t sid[16];
    size_t len = strlen(t->name);
    if (id_zero(t->id) || st_topic_id(store, t->name, len, sid) != 0 || id_zero(sid))
        return 0;
    if (memcmp(sid, t->id, 16) == 0) {
        if (!record || t->czxid <= 0 || st_topic_zxid(store, t->name, len) != 0)
            return 0;
        int rc = st_topic_set_zxid(store, t->name, t->czxid);
        if (rc < 0 && rc != -ENOENT)
            br_err_limited("cluster: cannot mark topic %s here as the cluster's: %s", t->name,
                           strerror(-rc));
        return 0;
    }
    int rc = st_topic_delete(store, t->name);
    if (rc == 0)
        br_info("cluster: topic %s deleted here: created again in the cluster, a new topic id",
                t->name);
    else if (rc != -ENOENT)
        br_err_limited("cluster: cannot delete topic %s here (an earlier topic of that name): %s",
                       t->name, strerror(-rc));
    return rc == -ENOENT ? 0 : rc;
}

/* The local topics' names (st_topic_foreach's callback), grown as needed; names NULL on no
 * memory. */
struct local_names {
    char **names;
    int n, cap;
    bool failed;
};

static void add_local(void *arg, const char *name, int32_t partitions)
{
    (void)partitions;
    struct local_names *l = arg;
    if (l->failed)
        return;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **nn = realloc(l->names, (size_t)cap * sizeof(*nn));
        if (!nn) {
            l->failed = true;
            return;
        }
        l->names = nn;
        l->cap = cap;
    }
    if (!(l->names[l->n] = strdup(name)))
        l->failed = true;
    else
        l->n++;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* After a full read: deletes here the cluster's topics that /brokers/topics no longer lists,
 * listed being that listing (sorted) and pzxid the zxid of its last change. Such a topic was
 * deleted while this broker was away (the controller removes a topic's znodes without waiting
 * for its replicas; Kafka's keeps the deletion pending until every replica has done it, to the
 * same end). A local topic records the zxid that created its assignment (st_topic_zxid); it is
 * deleted only when missing from a listing whose last change came after that zxid: ZooKeeper
 * orders reads within a session only, and a new session (a restart, an expiry) may read from a
 * server that has not applied the topic's creation yet, whose listing would lack it with an
 * older pzxid. Only the listing decides, not the view: a topic the view left out (unreadable)
 * is still listed. A broker's own topics (zxid 0: created before it joined, never in
 * ZooKeeper) are never touched. */
static void drop_strays(struct br_clu *c, char **listed, int n, int64_t pzxid)
{
    struct st_store *store = c->conf.store;
    if (!store)
        return;
    struct local_names l = {0};
    st_topic_foreach(store, add_local, &l);
    for (int i = 0; i < l.n && !l.failed; i++) {
        const char *name = l.names[i];
        int64_t z = st_topic_zxid(store, name, strlen(name));
        if (z <= 0 || (n > 0 && bsearch(&name, listed, (size_t)n, sizeof(*listed), by_str)))
            continue;
        if (pzxid <= z) { /* a listing older than the topic: not a deletion */
            br_info("cluster: topic %s is not in %s, read before its creation (zxid %lld, the "
                    "listing's last change %lld): kept",
                    name, c->p_topics, (long long)z, (long long)pzxid);
            continue;
        }
        int rc = st_topic_delete(store, name);
        if (rc == 0)
            br_info("cluster: topic %s deleted here: the cluster deleted it while this broker "
                    "was away",
                    name);
        else if (rc != -ENOENT)
            br_err_limited("cluster: cannot delete topic %s here (the cluster deleted it): %s",
                           name, strerror(-rc));
    }
    if (l.failed)
        br_err_limited("cluster: no memory to list the local topics (deleted topics are looked "
                       "for again at the next full read)");
    for (int i = 0; i < l.n; i++)
        free(l.names[i]);
    free(l.names);
}

/* Brings the local store in line with the view: the topics this broker holds a partition of
 * exist with their partition count; those that left the view are deleted. Only the topics
 * whose assignment differs from the old view's, unless all (a full read, or a store operation
 * failed earlier: c->sync_all, set again when one fails now). */
static void sync_store(struct br_clu *c, struct ctopic *nt, int nn, struct ctopic *ot, int on,
                       bool all)
{
    struct st_store *store = c->conf.store;
    if (!store)
        return;
    int32_t me = c->conf.broker_id;
    bool failed = false;
    for (int i = 0; i < nn; i++) {
        struct ctopic *t = &nt[i];
        size_t len = strlen(t->name);
        const struct ctopic *old = find_in(ot, on, t->name, len);
        if (!all && old && same_assignment(old, t))
            continue;
        if (match_local(store, t, all) < 0) {
            failed = true; /* not created over the old one: tried again on the next full pass */
            continue;
        }
        if (!holds(t, me)) /* (__consumer_offsets and __transaction_state too: M4) */
            continue;
        int32_t have = st_topic_partitions(store, t->name, len);
        int rc = 0;
        if (have < 0) {
            struct st_log_config lc;
            topic_config(c, t->name, &lc);
            rc = st_topic_create_id(store, t->name, t->np, &lc, t->id, t->czxid);
            if (rc == 0) {
                br_info("cluster: topic %s (%d partition(s)) created here", t->name, (int)t->np);
                /* its overrides as such (the keys it does not set follow the defaults) */
                (void)br_clu__cfg_apply(c, t->name);
            }
        } else if (have < t->np) {
            rc = st_topic_add_partitions(store, t->name, t->np);
            if (rc == 0)
                br_info("cluster: topic %s grown here to %d partition(s)", t->name, (int)t->np);
        }
        if (rc < 0 && rc != -EEXIST) {
            br_err_limited("cluster: cannot hold topic %s here: %s", t->name, strerror(-rc));
            failed = true;
        }
    }
    for (int i = 0; i < on; i++) {
        struct ctopic *t = &ot[i];
        if (find_in(nt, nn, t->name, strlen(t->name)))
            continue;
        int rc = st_topic_delete(store, t->name);
        if (rc == 0)
            br_info("cluster: topic %s deleted here", t->name);
        else if (rc != -ENOENT)
            br_err_limited("cluster: cannot delete topic %s here: %s", t->name, strerror(-rc));
        failed |= rc < 0 && rc != -ENOENT;
    }
    c->sync_all = failed; /* (a failed deletion is not tried again: the topic left the view) */
}

/* ---- building a view ----------------------------------------------------------------------- */

/* A view being built by the cluster thread, and what it cost in ZooKeeper reads. */
struct build {
    struct ctopic *t; /* [n]; np < 0: left out (compacted away before it is published) */
    int n, cap;
    int topics_read, states_read; /* assignments, partition states */
};

static int build_room(struct build *b)
{
    if (b->n < b->cap)
        return ZOK;
    int cap = b->cap ? 2 * b->cap : 64;
    struct ctopic *t = realloc(b->t, (size_t)cap * sizeof(*t));
    if (!t)
        return ZSYSTEMERROR;
    memset(t + b->n, 0, (size_t)(cap - b->n) * sizeof(*t));
    b->t = t;
    b->cap = cap;
    return ZOK;
}

/* Appends a copy of the old view's topic (the old view stays as published until the swap). */
static int build_copy(struct build *b, const struct ctopic *old)
{
    if (build_room(b) != ZOK)
        return ZSYSTEMERROR;
    struct ctopic *t = &b->t[b->n];
    t->name = strdup(old->name);
    t->p = malloc((size_t)old->np * sizeof(*t->p));
    if (!t->name || !t->p) {
        free(t->name);
        free(t->p);
        memset(t, 0, sizeof *t);
        return ZSYSTEMERROR;
    }
    memcpy(t->p, old->p, (size_t)old->np * sizeof(*t->p));
    memcpy(t->id, old->id, sizeof t->id);
    t->czxid = old->czxid;
    t->np = old->np;
    b->n++;
    return ZOK;
}

/* Topic name as ZooKeeper has it (with watches) into *t; ZNONODE: not there, or unreadable. */
static int build_read(struct br_clu *c, struct build *b, const char *name, struct ctopic *t)
{
    memset(t, 0, sizeof *t);
    b->topics_read++;
    int rc = read_topic(c, name, t);
    if (rc == ZOK) {
        b->states_read += t->np;
        return ZOK;
    }
    free(t->name);
    free(t->p);
    memset(t, 0, sizeof *t);
    return rc;
}

/* Appends topic name as ZooKeeper has it; ZOK also when it is not there (nothing appended). */
static int build_add(struct br_clu *c, struct build *b, const char *name)
{
    if (build_room(b) != ZOK)
        return ZSYSTEMERROR;
    int rc = build_read(c, b, name, &b->t[b->n]);
    if (rc == ZOK)
        b->n++;
    return rc == ZNONODE ? ZOK : rc; /* (deleted since the listing, or unreadable) */
}

/* The topics /brokers/topics lists (its children watch set again): those of the old view
 * copied (all read again when full), the others read. The listing into *kids (the caller
 * deallocates it, also on an error), the zxid of its last change into *pzxid. */
static int build_from_children(struct br_clu *c, struct build *b, bool full,
                               struct String_vector *kids, int64_t *pzxid)
{
    struct Stat zs;
    int rc = zoo_wget_children2(c->zh, c->p_topics, on_topics, c, kids, &zs);
    *pzxid = rc == ZOK ? zs.pzxid : 0;
    for (int i = 0; rc == ZOK && i < kids->count; i++) {
        const struct ctopic *old =
            full ? NULL : find_in(c->topics, c->ntopics, kids->data[i], strlen(kids->data[i]));
        rc = old ? build_copy(b, old) : build_add(c, b, kids->data[i]);
    }
    return rc;
}

/* Reads again what d names into b (sorted, holding every topic of the view or of the listing
 * that was read: kids). The view's topics not named keep their armed watches. */
static int build_marked(struct br_clu *c, struct build *b, const struct tdirty *d, bool kids)
{
    int sorted = b->n; /* (topics appended below are named once each: never looked up) */
    int rc = ZOK;
    for (int i = 0; rc == ZOK && i < d->n; i++) {
        const struct tdirty_topic *e = &d->t[i];
        size_t len = strlen(e->name);
        struct ctopic *t = find_in(b->t, sorted, e->name, len);
        bool known = find_in(c->topics, c->ntopics, e->name, len) != NULL;
        if (t && !known)
            continue; /* new in the listing: read just now */
        if (!t) {
            /* not listed (gone), or a state of a topic the view lacks (its own read comes);
             * else a topic the view left out (unreadable then): read */
            if (!kids && e->whole)
                rc = build_add(c, b, e->name);
            continue;
        }
        if (e->whole) { /* its assignment: the whole topic, states too */
            struct ctopic nt;
            rc = build_read(c, b, e->name, &nt);
            if (rc != ZOK && rc != ZNONODE)
                continue;
            free(t->p);
            if (rc == ZOK) {
                free(nt.name);
                nt.name = t->name;
                *t = nt;
            } else {
                t->p = NULL;
                t->np = -1; /* gone, or unreadable now: left out */
            }
            rc = ZOK;
            continue;
        }
        for (int k = 0; rc == ZOK && k < e->np; k++) {
            if (e->p[k] >= t->np)
                continue; /* (an assignment with fewer partitions: its own mark follows) */
            b->states_read++;
            rc = read_state(c, t->name, e->p[k], &t->p[e->p[k]]);
        }
    }
    return rc;
}

/* Drops the topics left out (np < 0) and sorts b by name. */
static void build_finish(struct build *b)
{
    int n = 0;
    for (int i = 0; i < b->n; i++) {
        if (b->t[i].np < 0) {
            free(b->t[i].name);
            continue;
        }
        b->t[n++] = b->t[i];
    }
    b->n = n;
    if (n > 1)
        qsort(b->t, (size_t)n, sizeof(*b->t), by_name);
}

int br_clu__read_topics(struct br_clu *c)
{
    /* what the watches announced until now; what they announce from now on is read next time
     * (a watch that fires during these reads saw a change they may have missed) */
    struct tdirty *d = malloc(sizeof(*d));
    if (!d)
        return ZSYSTEMERROR;
    pthread_mutex_lock(&c->lock);
    d->full = c->tdirty.full;
    d->kids = c->tdirty.kids;
    d->n = c->tdirty.n;
    memcpy(d->t, c->tdirty.t, (size_t)d->n * sizeof(d->t[0]));
    c->tdirty.full = c->tdirty.kids = false;
    c->tdirty.n = 0;
    pthread_mutex_unlock(&c->lock);
    /* (the cluster thread is the view's only writer: it reads it without the lock) */
    bool full = d->full || c->view_gen == 0;
    if (!full && !d->kids && d->n == 0) {
        free(d);
        return ZOK; /* nothing to read (/admin/delete_topics: the controller's reconcile) */
    }
    struct build b = {0};
    struct String_vector kids = {0};
    int64_t pzxid = 0;
    int rc = ZOK;
    if (full || d->kids) {
        rc = build_from_children(c, &b, full, &kids, &pzxid);
    } else {
        for (int i = 0; rc == ZOK && i < c->ntopics; i++)
            rc = build_copy(&b, &c->topics[i]);
    }
    if (rc == ZOK && !full) {
        if (b.n > 1)
            qsort(b.t, (size_t)b.n, sizeof(*b.t), by_name);
        rc = build_marked(c, &b, d, d->kids);
    }
    free(d);
    if (rc != ZOK) {
        deallocate_String_vector(&kids);
        br_clu__topics_free(b.t, b.n);
        pthread_mutex_lock(&c->lock);
        c->tdirty.full = true; /* (what was taken is lost: everything next time) */
        pthread_mutex_unlock(&c->lock);
        return rc;
    }
    build_finish(&b);
    struct ctopic *nt = b.t;
    int n = b.n;
    if (!nt && !(nt = calloc(1, sizeof(*nt)))) {
        deallocate_String_vector(&kids);
        return ZSYSTEMERROR;
    }
    /* the logs exist before any client is told this broker leads them */
    sync_store(c, nt, n, c->topics, c->ntopics, full || c->sync_all);
    if (full) {
        if (kids.count > 1)
            qsort(kids.data, (size_t)kids.count, sizeof(*kids.data), by_str);
        drop_strays(c, kids.data, kids.count, pzxid);
    }
    deallocate_String_vector(&kids);
    /* and carry the leader epoch (M3) before a produce can reach them through this view */
    int lost = br_clu__lead(c, nt, n);
    /* the group coordinator's partitions (M4), before followers see the view */
    br_clu__coord_tell(c, nt, n);
    pthread_mutex_lock(&c->lock);
    struct ctopic *old = c->topics;
    int on = c->ntopics;
    c->topics = nt;
    c->ntopics = n;
    uint64_t gen = ++c->view_gen;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    br_clu__topics_free(old, on);
    if (lost > 0 && c->conf.hw_moved) /* acks=all answers parked there: NOT_LEADER_OR_FOLLOWER */
        c->conf.hw_moved(c->conf.hw_arg);
    br_info("cluster: view %llu: read %d topic(s) and %d partition state(s) (%s), %d topic(s)",
            (unsigned long long)gen, b.topics_read, b.states_read, full ? "all" : "the changes", n);
    return ZOK;
}

/* ---- the controller ------------------------------------------------------------------------- */

static void ids_str(char *out, size_t cap, const struct br_clu_replicas *r)
{
    size_t l = 0;
    out[0] = 0;
    for (int32_t k = 0; k < r->n && l + 14 < cap; k++)
        l += (size_t)snprintf(out + l, cap - l, "%s%d", k ? "," : "", (int)r->id[k]);
}

int br_clu__write_state(struct br_clu *c, const struct ctopic *t, int32_t p, struct cpart *cp,
                        struct br_clu_state *ns)
{
    char path[PATH_MAX_LEN], json[DATA_MAX];
    ns->controller_epoch = (int32_t)c->epoch;
    int jl = br_clu_json_state_enc(json, sizeof json, ns);
    if (jl < 0)
        return ZBADARGUMENTS;
    (void)path_of(path, sizeof path, "%s/%s/partitions/%d", c->p_topics, t->name, (int)p);
    if (cp->zver < 0) {
        int rc = br_clu__ensure_path(c, path);
        if (rc != ZOK)
            return rc == ZNONODE ? ZOK : rc; /* (the topic went away) */
    }
    strncat(path, "/state", sizeof path - strlen(path) - 1);
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    struct Stat st;
    memset(res, 0, sizeof res);
    memset(&st, 0, sizeof st);
    zoo_check_op_init(&ops[0], c->p_epoch, c->ctl_zver);
    if (cp->zver < 0)
        zoo_create_op_init(&ops[1], path, json, jl, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    else
        zoo_set_op_init(&ops[1], path, json, jl, cp->zver, &st);
    int rc = zoo_multi(c->zh, 2, ops, res);
    if (rc != ZOK) {
        if (res[0].err == ZBADVERSION || res[0].err == ZNONODE) {
            br_warn("cluster: /controller_epoch moved on: this broker is no longer the "
                    "controller; its change to %s-%d is not written",
                    t->name, (int)p);
            c->ctl_zver = -1;
            return ZBADVERSION;
        }
        if (res[1].err == ZBADVERSION || res[1].err == ZNODEEXISTS || res[1].err == ZNONODE) {
            /* changed meanwhile: read it again (its watch fires too, maybe later) */
            (void)br_clu__topics_mark(c, t->name, strlen(t->name), p);
            return ZOK;
        }
        return rc;
    }
    char isr[128];
    ids_str(isr, sizeof isr, &ns->isr);
    br_info("cluster: controller: %s-%d leader %d, leader epoch %d, isr [%s]", t->name, (int)p,
            (int)ns->leader, (int)ns->leader_epoch, isr);
    pthread_mutex_lock(&c->lock);
    cp->st = *ns;
    cp->zver = cp->zver < 0 ? 0 : st.version;
    pthread_mutex_unlock(&c->lock);
    return ZOK;
}

bool br_clu__decide(const struct br_clu *c, const struct cpart *cp, struct br_clu_state *ns)
{
    struct br_clu_replicas live = {0};
    for (int32_t k = 0; k < cp->rep.n; k++)
        if (br_clu__live(c, cp->rep.id[k]))
            live.id[live.n++] = cp->rep.id[k];
    if (cp->zver < 0) {
        /* a new partition: the first live replica leads, the live replicas are the ISR */
        *ns = (struct br_clu_state){
            .leader = live.n ? live.id[0] : -1, .leader_epoch = 0, .isr = live.n ? live : cp->rep};
        return true;
    }
    const struct br_clu_state *st = &cp->st;
    struct br_clu_replicas isr = {0}; /* the ISR's live members */
    for (int32_t k = 0; k < st->isr.n; k++)
        if (br_clu__live(c, st->isr.id[k]))
            isr.id[isr.n++] = st->isr.id[k];
    if (st->leader >= 0 && br_clu__live(c, st->leader)) {
        if (isr.n == st->isr.n)
            return false; /* a live leader, a live ISR */
        *ns = (struct br_clu_state){
            .leader = st->leader, .leader_epoch = st->leader_epoch + 1, .isr = isr};
        return true;
    }
    /* no live leader: the first replica of the assignment that is live and in the ISR (no
     * unclean election); none: offline, the ISR kept as it was (Kafka) */
    int32_t pick = -1;
    for (int32_t k = 0; k < cp->rep.n && pick < 0; k++)
        if (br_clu__live(c, cp->rep.id[k]) && has(&st->isr, cp->rep.id[k]))
            pick = cp->rep.id[k];
    if (pick < 0) {
        if (st->leader == -1)
            return false; /* offline already */
        *ns = (struct br_clu_state){
            .leader = -1, .leader_epoch = st->leader_epoch + 1, .isr = st->isr};
        return true;
    }
    *ns = (struct br_clu_state){.leader = pick, .leader_epoch = st->leader_epoch + 1, .isr = isr};
    return true;
}

/* Deletes topic name's znodes (states, partitions, the assignment: fenced), then its mark. */
static int delete_topic_nodes(struct br_clu *c, const char *name)
{
    char tp[PATH_MAX_LEN], pp[PATH_MAX_LEN], sp[PATH_MAX_LEN + 32];
    (void)path_of(tp, sizeof tp, "%s/%s", c->p_topics, name);
    (void)path_of(pp, sizeof pp, "%s/partitions", tp);
    struct String_vector kids = {0};
    int rc = zoo_get_children(c->zh, pp, 0, &kids);
    if (rc != ZOK && rc != ZNONODE)
        return rc;
    for (int i = 0; rc == ZOK && i < kids.count; i++) {
        (void)path_of(sp, sizeof sp, "%s/%s/state", pp, kids.data[i]);
        int drc = zoo_delete(c->zh, sp, -1);
        (void)path_of(sp, sizeof sp, "%s/%s", pp, kids.data[i]);
        if (drc == ZOK || drc == ZNONODE)
            drc = zoo_delete(c->zh, sp, -1);
        if (drc != ZOK && drc != ZNONODE)
            rc = drc;
    }
    deallocate_String_vector(&kids);
    if (rc != ZOK && rc != ZNONODE)
        return rc;
    rc = zoo_delete(c->zh, pp, -1);
    if (rc != ZOK && rc != ZNONODE)
        return rc;
    zoo_op_t ops[2];
    zoo_op_result_t res[2];
    memset(res, 0, sizeof res);
    zoo_check_op_init(&ops[0], c->p_epoch, c->ctl_zver);
    zoo_delete_op_init(&ops[1], tp, -1);
    rc = zoo_multi(c->zh, 2, ops, res);
    if (rc != ZOK && (res[0].err == ZBADVERSION || res[0].err == ZNONODE)) {
        c->ctl_zver = -1;
        return ZBADVERSION;
    }
    if (rc != ZOK && res[1].err != ZNONODE)
        return rc;
    br_info("cluster: controller: topic %s deleted", name);
    (void)path_of(sp, sizeof sp, "%s/%s", c->p_configs, name);
    rc = zoo_delete(c->zh, sp, -1);
    if (rc != ZOK && rc != ZNONODE)
        return rc;
    (void)path_of(sp, sizeof sp, "%s/%s", c->p_deletes, name);
    rc = zoo_delete(c->zh, sp, -1);
    return rc == ZNONODE ? ZOK : rc;
}

int br_clu__reconcile(struct br_clu *c)
{
    if (c->ctl_zver < 0)
        return ZBADVERSION; /* (who is the controller is read again) */
    struct String_vector kids = {0};
    int rc = zoo_wget_children(c->zh, c->p_deletes, on_topics, c, &kids);
    if (rc != ZOK)
        return rc;
    for (int i = 0; rc == ZOK && i < kids.count; i++)
        rc = delete_topic_nodes(c, kids.data[i]);
    deallocate_String_vector(&kids);
    if (rc != ZOK)
        return rc;
    /* (the cluster thread is the view's only writer: it reads it without the lock) */
    for (int i = 0; i < c->ntopics; i++) {
        const struct ctopic *t = &c->topics[i];
        for (int32_t p = 0; p < t->np; p++) {
            struct br_clu_state ns;
            if (!br_clu__decide(c, &t->p[p], &ns))
                continue;
            rc = br_clu__write_state(c, t, p, &t->p[p], &ns);
            if (rc != ZOK)
                return rc;
        }
    }
    return ZOK;
}

/* ---- requests of other threads -------------------------------------------------------------- */

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int zk_errno(int rc)
{
    if (br_clu__transient(rc))
        return -EAGAIN;
    return -EIO;
}

/* The replicas of partitions [first, first + count) of topic name over the live brokers
 * (br_clu_assign.h: racks when every broker has one), from a start that depends on the name,
 * so the leaders of a topic go round every broker. */
static int assign(struct br_clu *c, const char *name, int32_t first, int32_t count, int rf,
                  struct br_clu_replicas *out)
{
    int n = c->nmembers;
    struct br_clu_assign_broker *b = calloc(n > 0 ? (size_t)n : 1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    for (int i = 0; i < n; i++)
        b[i] = (struct br_clu_assign_broker){c->members[i].id, c->members[i].rack};
    bool mixed = false;
    int rc =
        br_clu_assign(b, n, n > 0 ? fnv1a(name) % (uint32_t)n : 0, first, count, rf, out, &mixed);
    free(b);
    if (mixed)
        br_warn_limited("cluster: topic %s: some live brokers have a broker.rack and others not: "
                        "replicas assigned without racks",
                        name);
    return rc;
}

static int run_create(struct br_clu *c, struct clu_req *r)
{
    int n = c->nmembers;
    if (r->rf < 1 || r->rf > n || r->rf > BR_CLU_RF_MAX)
        return -EINVAL;
    if (r->np < 1 || r->np > ST_MAX_PARTITIONS)
        return -EINVAL;
    struct br_clu_replicas *reps = calloc((size_t)r->np, sizeof(*reps));
    size_t cap = (size_t)r->np * ((size_t)r->rf * 12 + 16) + 128;
    char *json = malloc(cap);
    if (!reps || !json) {
        free(reps);
        free(json);
        return -ENOMEM;
    }
    if (r->assign) {
        for (int32_t p = 0; p < r->np; p++) {
            reps[p].n = r->rf;
            for (int k = 0; k < r->rf; k++)
                reps[p].id[k] = r->assign[p].id[k];
        }
    } else {
        int arc = assign(c, r->name, 0, r->np, r->rf, reps);
        if (arc < 0) {
            free(reps);
            free(json);
            return arc;
        }
    }
    /* a client's assignment names live brokers only (Kafka: INVALID_REPLICA_ASSIGNMENT) */
    for (int32_t p = 0; r->assign && p < r->np; p++)
        for (int k = 0; k < r->rf; k++) {
            bool live = false;
            for (int m = 0; m < n && !live; m++)
                live = c->members[m].id == reps[p].id[k];
            if (!live) {
                free(reps);
                free(json);
                return -ENXIO;
            }
        }
    uint8_t id[16];
    random_uuid(id);
    int jl = br_clu_json_topic(json, cap, reps, r->np, id);
    free(reps);
    char path[PATH_MAX_LEN];
    int rc = ZBADARGUMENTS;
    /* the configs first, as Kafka: a broker that sees the assignment finds them */
    if (r->config && path_of(path, sizeof path, "%s/%s", c->p_configs, r->name)) {
        int cl = (int)strlen(r->config);
        rc = zoo_create(c->zh, path, r->config, cl, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        if (rc == ZNODEEXISTS) /* (left by a topic of that name that is gone, or being made) */
            rc = zoo_set(c->zh, path, r->config, cl, -1);
        if (rc != ZOK) {
            free(json);
            br_warn("cluster: cannot write the configs of topic %s: %s", r->name, zerror(rc));
            return zk_errno(rc);
        }
        rc = ZBADARGUMENTS;
    }
    if (jl > 0 && jl <= BIG_MAX && path_of(path, sizeof path, "%s/%s", c->p_topics, r->name))
        rc = zoo_create(c->zh, path, json, jl, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    free(json);
    if (rc == ZOK) {
        br_info("cluster: topic %s assigned: %d partition(s) over %d live broker(s), replication "
                "factor %d",
                r->name, (int)r->np, n, (int)r->rf);
        return 0;
    }
    if (rc == ZNODEEXISTS)
        return -EEXIST;
    br_warn("cluster: cannot write the assignment of topic %s: %s", r->name, zerror(rc));
    return rc == ZBADARGUMENTS ? -EINVAL : zk_errno(rc);
}

static int run_add(struct br_clu *c, struct clu_req *r)
{
    char path[PATH_MAX_LEN];
    if (!path_of(path, sizeof path, "%s/%s", c->p_topics, r->name))
        return -ENOENT;
    int len = BIG_MAX;
    struct Stat st;
    int rc = zoo_get(c->zh, path, 0, c->big, &len, &st);
    if (rc == ZNONODE)
        return -ENOENT;
    if (rc != ZOK)
        return zk_errno(rc);
    int32_t have = len > 0 ? br_clu_json_partitions(c->big, (size_t)len, NULL, 0) : -EINVAL;
    if (have <= 0)
        return -EIO;
    if (r->np <= have || r->np > ST_MAX_PARTITIONS || c->nmembers < 1)
        return -EINVAL;
    struct br_clu_replicas *reps = calloc((size_t)r->np, sizeof(*reps));
    if (!reps)
        return -ENOMEM;
    (void)br_clu_json_partitions(c->big, (size_t)len, reps, have);
    int n = c->nmembers;
    int32_t rf = reps[0].n < n ? reps[0].n : n;
    /* a client's assignment of the new partitions: one list each, the topic's replication
     * factor, live brokers (Kafka's checks; the shape was checked by the caller) */
    int arc = 0;
    if (r->assign && r->nassign != r->np - have)
        arc = -EDOM; /* (counted against ZooKeeper's assignment, the truth) */
    for (int32_t k = 0; r->assign && arc == 0 && k < r->nassign; k++) {
        if (r->assign[k].n != reps[0].n)
            arc = -EDOM;
        for (int32_t j = 0; arc == 0 && j < r->assign[k].n; j++) {
            bool live = false;
            for (int m = 0; m < n && !live; m++)
                live = c->members[m].id == r->assign[k].id[j];
            if (!live)
                arc = -ENXIO;
        }
    }
    if (arc < 0) {
        free(reps);
        return arc;
    }
    for (int32_t p = have; r->assign && p < r->np; p++)
        reps[p] = r->assign[p - have];
    if (!r->assign && (arc = assign(c, r->name, have, r->np - have, rf, reps + have)) < 0) {
        free(reps);
        return arc;
    }
    size_t cap = (size_t)r->np * ((size_t)BR_CLU_RF_MAX * 12 + 16) + 128;
    char *json = malloc(cap);
    uint8_t id[16];
    bool has_id = br_clu_json_topic_id(c->big, (size_t)len, id) == 0;
    int jl = json ? br_clu_json_topic(json, cap, reps, r->np, has_id ? id : NULL) : -ENOMEM;
    free(reps);
    rc = jl > 0 && jl <= BIG_MAX ? zoo_set(c->zh, path, json, jl, st.version) : ZBADARGUMENTS;
    free(json);
    if (rc == ZOK) {
        br_info("cluster: topic %s grown from %d to %d partition(s)", r->name, (int)have,
                (int)r->np);
        return 0;
    }
    if (rc == ZBADVERSION)
        return -EBUSY;
    if (rc == ZNONODE)
        return -ENOENT;
    return rc == ZBADARGUMENTS ? -EINVAL : zk_errno(rc);
}

static int run_delete(struct br_clu *c, struct clu_req *r)
{
    char path[PATH_MAX_LEN];
    if (snprintf(path, sizeof path, "%s/%s", c->p_topics, r->name) >= (int)sizeof path)
        return -ENOENT;
    struct Stat st;
    int rc = zoo_exists(c->zh, path, 0, &st);
    if (rc == ZNONODE)
        return -ENOENT;
    if (rc != ZOK)
        return zk_errno(rc);
    (void)path_of(path, sizeof path, "%s/%s", c->p_deletes, r->name);
    rc = zoo_create(c->zh, path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    if (rc == ZOK || rc == ZNODEEXISTS) {
        br_info("cluster: topic %s marked for deletion", r->name);
        return 0;
    }
    return zk_errno(rc);
}

void br_clu__run_req(struct br_clu *c, struct clu_req *r)
{
    pthread_mutex_lock(&c->lock);
    bool connected = c->zstate == ZOO_CONNECTED_STATE && c->zh;
    pthread_mutex_unlock(&c->lock);
    if (!connected)
        r->rc = -EAGAIN;
    else if (r->kind == REQ_CREATE)
        r->rc = run_create(c, r);
    else if (r->kind == REQ_ADD)
        r->rc = run_add(c, r);
    else if (r->kind == REQ_PID)
        r->rc = br_clu__pid_run(c, r);
    else if (r->kind == REQ_CFG_GET || r->kind == REQ_CFG_SET)
        r->rc = br_clu__cfg_run(c, r);
    else if (r->kind == REQ_ACL)
        r->rc = br_clu__acl_run(c, r);
    else if (r->kind == REQ_ELECT)
        r->rc = br_clu__elect_run(c, r);
    else if (r->kind == REQ_LEAVE)
        r->rc = br_clu__leave_run(c, r);
    else
        r->rc = run_delete(c, r);
}

int br_clu__submit(struct br_clu *c, struct clu_req *r)
{
    pthread_mutex_lock(&c->lock);
    if (c->stop) {
        pthread_mutex_unlock(&c->lock);
        return -ECANCELED;
    }
    r->next = c->reqs;
    c->reqs = r;
    pthread_cond_broadcast(&c->cond);
    while (!r->done)
        pthread_cond_wait(&c->cond, &c->lock);
    pthread_mutex_unlock(&c->lock);
    return r->rc;
}

/* Under lock: whether name has at least np partitions, each with a leader that serves it
 * (this broker: once its log was told, as br_clu_leader), when want; or is gone (!want). */
static bool settled(struct br_clu *c, const char *name, bool want, int32_t np)
{
    struct ctopic *t = find_in(c->topics, c->ntopics, name, strlen(name));
    if (!t)
        return !want;
    if (!want || t->np < np)
        return false;
    for (int32_t p = 0; p < t->np; p++)
        if (t->p[p].zver < 0 || t->p[p].st.leader < 0 ||
            (t->p[p].st.leader == c->conf.broker_id && !told(&t->p[p])))
            return false;
    return true;
}

/* Whether the view settled (as settled()) within wait_ms. */
static bool wait_view(struct br_clu *c, const char *name, bool want, int32_t np, int64_t wait_ms)
{
    struct timespec dl = br_clu__deadline_in(wait_ms);
    pthread_mutex_lock(&c->lock);
    bool ok;
    while (!(ok = settled(c, name, want, np)) && !c->stop)
        if (pthread_cond_timedwait(&c->cond, &c->lock, &dl) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&c->lock);
    return ok;
}

/* After a topic change made here: this broker's view shows name's np partitions led, then
 * every other live broker's Metadata does (br_clu_peers.c), all within wait_ms; the change
 * stands whatever this wait sees. */
static void wait_shown(struct br_clu *c, const char *name, int32_t np, int64_t wait_ms)
{
    int64_t deadline = br_now_ms() + wait_ms;
    if (!wait_view(c, name, true, np, wait_ms))
        return; /* (not led here in time: the others are not asked) */
    (void)br_clu__peers_wait(c, name, np, deadline);
}

int br_clu_create_topic(struct br_clu *c, const char *name, int32_t np, int16_t rf,
                        const struct br_clu_replicas *assign, const char *config_json,
                        int64_t wait_ms)
{
    struct clu_req r = {.kind = REQ_CREATE,
                        .name = name,
                        .config = config_json,
                        .np = np,
                        .rf = rf,
                        .assign = assign};
    int rc = br_clu__submit(c, &r);
    if (rc == 0 && wait_ms > 0)
        wait_shown(c, name, np, wait_ms);
    return rc;
}

int br_clu_add_partitions(struct br_clu *c, const char *name, int32_t total,
                          const struct br_clu_replicas *assign, int32_t nassign, int64_t wait_ms)
{
    struct clu_req r = {
        .kind = REQ_ADD, .name = name, .np = total, .assign = assign, .nassign = nassign};
    int rc = br_clu__submit(c, &r);
    if (rc == 0 && wait_ms > 0)
        wait_shown(c, name, total, wait_ms);
    return rc;
}

int br_clu_delete_topic(struct br_clu *c, const char *name, int64_t wait_ms)
{
    struct clu_req r = {.kind = REQ_DELETE, .name = name};
    int rc = br_clu__submit(c, &r);
    if (rc == 0 && wait_ms > 0)
        wait_view(c, name, false, 0, wait_ms);
    return rc;
}

/* ---- reading the view ----------------------------------------------------------------------- */

int32_t br_clu_topic_partitions(struct br_clu *c, const char *name, size_t len)
{
    pthread_mutex_lock(&c->lock);
    struct ctopic *t = find_in(c->topics, c->ntopics, name, len);
    int32_t n = t ? t->np : -ENOENT;
    pthread_mutex_unlock(&c->lock);
    return n;
}

static bool id_zero(const uint8_t id[16])
{
    for (int i = 0; i < 16; i++)
        if (id[i])
            return false;
    return true;
}

int br_clu_topic_id(struct br_clu *c, const char *name, size_t len, uint8_t id[16])
{
    int rc = -ENOENT;
    pthread_mutex_lock(&c->lock);
    struct ctopic *t = find_in(c->topics, c->ntopics, name, len);
    if (t && !id_zero(t->id)) {
        memcpy(id, t->id, 16);
        rc = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int br_clu_topic_by_id(struct br_clu *c, const uint8_t id[16], char *name, size_t cap)
{
    int rc = -ENOENT;
    if (id_zero(id))
        return rc;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->ntopics && rc; i++)
        if (memcmp(c->topics[i].id, id, 16) == 0 && strlen(c->topics[i].name) < cap) {
            memcpy(name, c->topics[i].name, strlen(c->topics[i].name) + 1);
            rc = 0;
        }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int br_clu_partition(struct br_clu *c, const char *name, size_t len, int32_t p,
                     struct br_clu_part *out)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&c->lock);
    struct ctopic *t = find_in(c->topics, c->ntopics, name, len);
    if (t && p >= 0 && p < t->np) {
        const struct cpart *cp = &t->p[p];
        out->leader = cp->zver < 0 ? -1 : cp->st.leader;
        out->leader_epoch = cp->zver < 0 ? 0 : cp->st.leader_epoch;
        out->replicas = cp->rep;
        out->isr = cp->zver < 0 ? (struct br_clu_replicas){0} : cp->st.isr;
        out->offline.n = 0;
        for (int32_t k = 0; k < cp->rep.n; k++)
            if (!br_clu__live(c, cp->rep.id[k]))
                out->offline.id[out->offline.n++] = cp->rep.id[k];
        if (out->leader >= 0 && !br_clu__live(c, out->leader))
            out->leader = -1; /* dead, and the controller has not moved it yet */
        /* this broker, named by its own controller's decision before its log was told (as
         * br_clu_leader): not leading yet, so not named, or a client sent here would be
         * answered NOT_LEADER_OR_FOLLOWER */
        if (out->leader == c->conf.broker_id && !told(cp))
            out->leader = -1;
        rc = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int32_t br_clu_leader(struct br_clu *c, const char *name, size_t len, int32_t p)
{
    int32_t id = -ENOENT;
    pthread_mutex_lock(&c->lock);
    struct ctopic *t = find_in(c->topics, c->ntopics, name, len);
    if (t && p >= 0 && p < t->np) {
        const struct cpart *cp = &t->p[p];
        id = cp->zver >= 0 ? cp->st.leader : -1;
        /* this broker, named by its own controller's decision (written into the published view
         * at once) before its log was told (br_clu__lead: the leader epoch, the replica state
         * that makes acks=all wait for the ISR): not leading yet. Serving then would answer an
         * acks=all produce as if the log had no followers. */
        if (id == c->conf.broker_id && !told(cp))
            id = -1;
    }
    pthread_mutex_unlock(&c->lock);
    return id;
}

int br_clu_topics(struct br_clu *c, int (*fn)(void *ctx, const char *name, int32_t np), void *ctx)
{
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->ntopics && rc == 0; i++)
        rc = fn(ctx, c->topics[i].name, c->topics[i].np);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* ---- /cluster/id ---------------------------------------------------------------------------- */

/* 16 random bytes, a version 4 UUID (never all zero), as Kafka's Uuid.randomUuid. */
static void random_uuid(uint8_t b[16])
{
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(b, 1, 16, f) : 0;
    if (f)
        fclose(f);
    if (got != 16) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
        for (int i = 0; i < 16; i++, x = x * 6364136223846793005ull + 1442695040888963407ull)
            b[i] = (uint8_t)(x >> 56);
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
}

int br_clu__cluster_id(struct br_clu *c)
{
    char path[PATH_MAX_LEN], buf[DATA_MAX];
    (void)path_of(path, sizeof path, "%s/cluster", c->chroot);
    int rc = br_clu__ensure_path(c, path);
    if (rc != ZOK)
        return rc;
    strncat(path, "/id", sizeof path - strlen(path) - 1);
    for (int attempt = 0; attempt < ELECT_TRIES; attempt++) {
        int len = (int)sizeof buf;
        rc = zoo_get(c->zh, path, 0, buf, &len, NULL);
        if (rc == ZOK) {
            if (len <= 0 ||
                br_clu_json_cluster_id(buf, (size_t)len, c->cluster_id, sizeof c->cluster_id) < 0)
                return ZBADARGUMENTS;
            br_info("cluster: cluster id %s", c->cluster_id);
            return ZOK;
        }
        if (rc != ZNONODE)
            return rc;
        char id[23], json[128];
        uint8_t raw[16];
        random_uuid(raw);
        br_clu_uuid_str(raw, id);
        int jl = br_clu_json_cluster_id_enc(json, sizeof json, id);
        rc = zoo_create(c->zh, path, json, jl, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        if (rc != ZOK && rc != ZNODEEXISTS)
            return rc;
    }
    return ZOPERATIONTIMEOUT;
}

const char *br_clu_cluster_id(const struct br_clu *c) { return c->cluster_id; }
