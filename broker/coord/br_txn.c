/*
 * br_txn — the transaction coordinator (see br_txn.h). Follows Kafka 3.8's
 * TransactionCoordinator / TransactionMetadata (core/.../coordinator/transaction/):
 *
 *   Empty --AddPartitions/AddOffsets--> Ongoing --EndTxn--> PrepareCommit --> CompleteCommit
 *     ^                                   |  \----EndTxn--> PrepareAbort ---> CompleteAbort
 *     +---------- InitProducerId ---------+---(fence: InitProducerId of a new instance, or the
 *                                              transaction timeout: epoch + 1, then abort)
 *   CompleteCommit/CompleteAbort --AddPartitions--> Ongoing; --InitProducerId--> Empty.
 *
 * - Every change is made in three moves: build the new state, write it to the coordinator's
 *   log (st_txnlog), change memory. A failed write changes nothing (answer NOT_COORDINATOR,
 *   or COORDINATOR_NOT_AVAILABLE when memory ran out: clients retry both).
 * - InitProducerId: idempotent producers get a new id and epoch 0 each time. A transactional
 *   id gets its epoch bumped (epoch + 1, last = the old one when the request names it: KIP-360,
 *   a retried bump is answered the same), a new producer id when the epoch is exhausted, and
 *   PRODUCER_FENCED when the id and epoch it names are neither current nor the last. Found
 *   Ongoing, the transaction is fenced (epoch + 1) and aborted first; Kafka then answers
 *   CONCURRENT_TRANSACTIONS and bumps again on the retry. Here the abort completes
 *   synchronously, so the retry's work is done at once: the same answer one round trip (and
 *   librdkafka's 500 ms backoff) sooner.
 *
 * ORDER OF AN END (EndTxn, a fence, a timeout; Kafka's endTransaction, whose markers are sent
 * asynchronously after the answer; here they are local appends, written before it):
 *   1. state Prepare{Commit,Abort} in memory (Produce verification now refuses the
 *      transaction) and written to the log with its partitions and groups; step 1
 *   2. a marker into each partition (ops->marker); step 2..k+1
 *   3. each group's transactional offsets ended (ops->offsets_end); steps after those
 *   4. ops->flush: under log.flush.interval.messages=1 the markers and offsets are synced
 *   5. state Complete{Commit,Abort} written, the partitions kept in the record; step
 *   6. the answer.
 *   A crash (kill -9 keeps the write order) between 1 and 5 leaves the prepared record and
 *   some markers: br_txn_recover() at the next start writes every marker again (a second
 *   marker completes nothing, st_pstate.c) and step 3-5, so a transaction is never left half
 *   committed. A crash before 1 leaves it Ongoing, to be aborted by its timeout. A marker or
 *   offsets write that fails leaves the transaction prepared; the tick retries 2-5.
 *
 * LOCKS: c->mu guards the maps and every transaction's state (short sections; never held
 * across the disk except by br_txn_verify's append, a page-cache write). t->op serialises
 * the operations on one transaction and is held across its disk writes. Order: t->op, then
 * c->mu, then a partition's lock (inside the callbacks); c->pid_mu (producer-id blocks) is
 * taken with nothing else held but t->op.
 */
#include "br_txn.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <xxhash.h>

#include "br_log.h"
#include "br_clock.h"
#include "kp_api.h"
#include "st.h"
#include "st_txnlog.h"

enum txn_state {
    TS_EMPTY = 0,
    TS_ONGOING = 1,
    TS_PREPARE_COMMIT = 2,
    TS_PREPARE_ABORT = 3,
    TS_COMPLETE_COMMIT = 4,
    TS_COMPLETE_ABORT = 5,
    TS_DEAD = 6,
};

static const char *state_name(int s)
{
    static const char *const n[] = {"Empty",        "Ongoing",        "PrepareCommit",
                                    "PrepareAbort", "CompleteCommit", "CompleteAbort",
                                    "Dead"};
    return s >= 0 && s <= TS_DEAD ? n[s] : "?";
}

struct txn_topic {
    char *name;
    uint16_t len;
    int32_t n, cap;
    int32_t *parts;
};

struct txn_group {
    char *id;
    uint16_t len;
};

/* The values of a state record (what st_txnlog keeps besides the sets). */
struct txn_vals {
    int64_t pid, last_pid;
    int16_t epoch, last_epoch;
    int32_t timeout_ms;
    uint8_t state;
    int64_t start_ms, update_ms;
};

/* The values a stored state record carries. */
static struct txn_vals vals_of(const struct st_txnlog_rec *r)
{
    return (struct txn_vals){.pid = r->producer_id,
                             .last_pid = r->last_producer_id,
                             .epoch = r->epoch,
                             .last_epoch = r->last_epoch,
                             .timeout_ms = r->timeout_ms,
                             .state = r->state,
                             .start_ms = r->start_ms,
                             .update_ms = r->update_ms};
}

/* A transaction's partitions and groups. */
struct txn_sets {
    struct txn_topic *topics;
    int32_t ntopics, nparts;
    struct txn_group *groups;
    int32_t ngroups;
};

struct txn {
    struct txn *id_next, *pid_next; /* hash chains (c->mu) */
    uint64_t id_hash;
    int refs;           /* c->mu */
    bool linked;        /* in the maps (c->mu) */
    pthread_mutex_t op; /* one operation at a time */
    struct txn_vals v;  /* c->mu */
    struct txn_sets s;  /* c->mu; in Complete states: the completed transaction's */
    int64_t mem;        /* charged to c->mem (c->mu) */
    uint16_t id_len;
    char id[];
};

struct br_txns {
    struct br_txn_cfg cfg;
    struct br_txn_ops ops;
    struct st_txnlog *log;
    br_txn_clock_fn clock;
    void *clock_arg;

    pthread_mutex_t mu;
    uint64_t seed;
    struct txn **by_id, **by_pid;
    size_t nbuckets; /* both tables; a power of two */
    int64_t n, mem;
    int64_t ongoing, timed_out, expired;
    int64_t next_abort_check, next_expire_check;

    pthread_mutex_t pid_mu;
    int64_t next_pid, block_end; /* ids [next_pid, block_end) are ours to hand out */

    pthread_t thread;
    pthread_cond_t cond;
    bool thread_running, thread_stop;
};

void br_txn_cfg_default(struct br_txn_cfg *c)
{
    *c = (struct br_txn_cfg){
        .max_timeout_ms = 900000,
        .abort_check_ms = 10000,
        .id_expiration_ms = 604800000,
        .expire_check_ms = 3600000,
        .max_memory_bytes = 64 << 20,
        .pid_block_size = 1000,
    };
}

static int64_t now_of(struct br_txns *c)
{
    return c->clock ? c->clock(c->clock_arg) : br_wall_ms();
}

static void step(struct br_txns *c, int *n)
{
    ++*n;
    if (c->ops.step)
        c->ops.step(c->ops.arg, *n);
}

/* ---- maps ----------------------------------------------------------------------------------- */

static uint64_t hash_id(const struct br_txns *c, const char *id, size_t len)
{
    return XXH3_64bits_withSeed(id, len, c->seed);
}

static size_t pid_slot(const struct br_txns *c, int64_t pid)
{
    return (size_t)XXH3_64bits_withSeed(&pid, sizeof(pid), c->seed) & (c->nbuckets - 1);
}

static struct txn *find_id(struct br_txns *c, const char *id, size_t len)
{
    uint64_t h = hash_id(c, id, len);
    for (struct txn *t = c->by_id[h & (c->nbuckets - 1)]; t; t = t->id_next)
        if (t->id_hash == h && t->id_len == len && memcmp(t->id, id, len) == 0)
            return t;
    return NULL;
}

static struct txn *find_pid(struct br_txns *c, int64_t pid)
{
    for (struct txn *t = c->by_pid[pid_slot(c, pid)]; t; t = t->pid_next)
        if (t->v.pid == pid)
            return t;
    return NULL;
}

static void pid_unlink(struct br_txns *c, struct txn *t)
{
    struct txn **pp = &c->by_pid[pid_slot(c, t->v.pid)];
    while (*pp && *pp != t)
        pp = &(*pp)->pid_next;
    if (*pp)
        *pp = t->pid_next;
    t->pid_next = NULL;
}

static void pid_link(struct br_txns *c, struct txn *t)
{
    size_t b = pid_slot(c, t->v.pid);
    t->pid_next = c->by_pid[b];
    c->by_pid[b] = t;
}

/* Doubles both tables past one transaction per bucket (c->mu). */
static void maps_grow(struct br_txns *c)
{
    if ((size_t)c->n < c->nbuckets)
        return;
    size_t nb = c->nbuckets * 2;
    struct txn **ni = calloc(nb, sizeof(*ni)), **np = calloc(nb, sizeof(*np));
    if (!ni || !np) {
        free(ni);
        free(np);
        return; /* chains grow longer; still correct */
    }
    struct txn **oi = c->by_id;
    size_t ob = c->nbuckets;
    c->by_id = ni;
    free(c->by_pid);
    c->by_pid = np;
    c->nbuckets = nb;
    for (size_t i = 0; i < ob; i++) {
        for (struct txn *t = oi[i], *next; t; t = next) {
            next = t->id_next;
            t->id_next = ni[t->id_hash & (nb - 1)];
            ni[t->id_hash & (nb - 1)] = t;
            pid_link(c, t);
        }
    }
    free(oi);
}

static int64_t sets_mem(const struct txn_sets *s)
{
    int64_t m = 0;
    for (int32_t i = 0; i < s->ntopics; i++)
        m += 48 + s->topics[i].len + 4 * (int64_t)s->topics[i].cap;
    for (int32_t i = 0; i < s->ngroups; i++)
        m += 32 + s->groups[i].len;
    return m;
}

static void sets_free(struct txn_sets *s)
{
    for (int32_t i = 0; i < s->ntopics; i++) {
        free(s->topics[i].name);
        free(s->topics[i].parts);
    }
    for (int32_t i = 0; i < s->ngroups; i++)
        free(s->groups[i].id);
    free(s->topics);
    free(s->groups);
    memset(s, 0, sizeof(*s));
}

/* Replaces t's sets with ns (taken) and re-charges its memory (c->mu). */
static void sets_take(struct br_txns *c, struct txn *t, struct txn_sets *ns)
{
    sets_free(&t->s);
    t->s = *ns;
    memset(ns, 0, sizeof(*ns));
    int64_t m = (int64_t)sizeof(*t) + t->id_len + 64 + sets_mem(&t->s);
    c->mem += m - t->mem;
    t->mem = m;
}

static struct txn *txn_new(struct br_txns *c, const char *id, size_t len)
{
    struct txn *t = calloc(1, sizeof(*t) + len);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->op, NULL);
    t->id_len = (uint16_t)len;
    memcpy(t->id, id, len);
    t->id_hash = hash_id(c, id, len);
    t->refs = 1; /* the maps' */
    return t;
}

/* Links t into the maps (c->mu). */
static void txn_link(struct br_txns *c, struct txn *t)
{
    maps_grow(c);
    size_t b = t->id_hash & (c->nbuckets - 1);
    t->id_next = c->by_id[b];
    c->by_id[b] = t;
    pid_link(c, t);
    t->linked = true;
    c->n++;
    struct txn_sets none = {0};
    sets_take(c, t, &none);
}

static void txn_put(struct br_txns *c, struct txn *t)
{
    if (--t->refs > 0)
        return;
    sets_free(&t->s);
    pthread_mutex_destroy(&t->op);
    free(t);
    (void)c;
}

/* Removes t from the maps (c->mu); its memory goes with the last reference. */
static void txn_unlink(struct br_txns *c, struct txn *t)
{
    struct txn **pp = &c->by_id[t->id_hash & (c->nbuckets - 1)];
    while (*pp && *pp != t)
        pp = &(*pp)->id_next;
    if (*pp)
        *pp = t->id_next;
    pid_unlink(c, t);
    t->linked = false;
    t->v.state = TS_DEAD;
    c->n--;
    c->mem -= t->mem;
    t->mem = 0;
    txn_put(c, t);
}

/* The transaction of id with a reference and its operation lock, or NULL. */
static struct txn *get_locked(struct br_txns *c, struct kp_str id)
{
    for (;;) {
        pthread_mutex_lock(&c->mu);
        struct txn *t = find_id(c, id.ptr, (size_t)id.len);
        if (t)
            t->refs++;
        pthread_mutex_unlock(&c->mu);
        if (!t)
            return NULL;
        pthread_mutex_lock(&t->op);
        pthread_mutex_lock(&c->mu);
        bool dead = !t->linked;
        pthread_mutex_unlock(&c->mu);
        if (!dead)
            return t;
        pthread_mutex_unlock(&t->op); /* expired meanwhile: look again */
        pthread_mutex_lock(&c->mu);
        txn_put(c, t);
        pthread_mutex_unlock(&c->mu);
    }
}

static void release(struct br_txns *c, struct txn *t)
{
    pthread_mutex_unlock(&t->op);
    pthread_mutex_lock(&c->mu);
    txn_put(c, t);
    pthread_mutex_unlock(&c->mu);
}

/* ---- persistence ----------------------------------------------------------------------------- */

/* Kafka's TransactionStateManager's mapping of a failed append: not replicated in time, too
 * few replicas, no memory: COORDINATOR_NOT_AVAILABLE; anything else NOT_COORDINATOR. */
static int16_t write_error(int err)
{
    return err == -ENOMEM || err == -ETIMEDOUT || err == -EAGAIN ? KP_ERR_COORDINATOR_NOT_AVAILABLE
                                                                 : KP_ERR_NOT_COORDINATOR;
}

/* What the coordinator answers for id here (a cluster: ops.serves; a single node: NONE). */
static int16_t serves(const struct br_txns *c, const char *id, size_t len)
{
    return c->ops.serves ? c->ops.serves(c->ops.arg, id, len, NULL) : KP_ERR_NONE;
}

/* serves, and the coordinator epoch markers carry (a single node: 0). */
static int16_t serves_at(const struct br_txns *c, const char *id, size_t len, int32_t *coord_epoch)
{
    *coord_epoch = 0;
    return c->ops.serves ? c->ops.serves(c->ops.arg, id, len, coord_epoch) : KP_ERR_NONE;
}

/* Writes t's state as v with sets s (t->op held). 0 or -errno. */
static int persist(struct br_txns *c, struct txn *t, const struct txn_vals *v,
                   const struct txn_sets *s)
{
    struct st_txnlog_topic *tt = calloc((size_t)s->ntopics + 1, sizeof(*tt));
    struct st_txnlog_group *gg = calloc((size_t)s->ngroups + 1, sizeof(*gg));
    int err = tt && gg ? 0 : -ENOMEM;
    if (err == 0) {
        for (int32_t i = 0; i < s->ntopics; i++)
            tt[i] = (struct st_txnlog_topic){s->topics[i].name, s->topics[i].len, s->topics[i].n,
                                             s->topics[i].parts};
        for (int32_t i = 0; i < s->ngroups; i++)
            gg[i] = (struct st_txnlog_group){s->groups[i].id, s->groups[i].len};
        struct st_txnlog_rec r = {
            .id = t->id,
            .id_len = t->id_len,
            .producer_id = v->pid,
            .last_producer_id = v->last_pid,
            .epoch = v->epoch,
            .last_epoch = v->last_epoch,
            .timeout_ms = v->timeout_ms,
            .state = v->state,
            .start_ms = v->start_ms,
            .update_ms = v->update_ms,
            .n_topics = s->ntopics,
            .topics = tt,
            .n_groups = s->ngroups,
            .groups = gg,
        };
        err = c->ops.state_write ? c->ops.state_write(c->ops.arg, t->id, t->id_len, &r)
                                 : st_txnlog_put(c->log, &r);
    }
    free(tt);
    free(gg);
    if (err < 0)
        br_err_limited("transactional id %.*s: writing state %s failed: %s", (int)t->id_len, t->id,
                       state_name(v->state), strerror(-err));
    return err;
}

/* Makes v t's state in memory (after persist), moving it in the producer-id index. */
static void apply(struct br_txns *c, struct txn *t, const struct txn_vals *v)
{
    pthread_mutex_lock(&c->mu);
    bool was = t->v.state == TS_ONGOING, is = v->state == TS_ONGOING;
    c->ongoing += (int)is - (int)was;
    if (v->pid != t->v.pid) {
        pid_unlink(c, t);
        t->v = *v;
        pid_link(c, t);
    } else {
        t->v = *v;
    }
    pthread_mutex_unlock(&c->mu);
}

/*
 * A producer id of our own: from the current block, or a new block made durable first. The
 * new block starts where the last one ended, or, in a cluster, where ops.pid_block reserved it
 * (at or above that). The answer to give: NONE and *pid; COORDINATOR_NOT_AVAILABLE when the
 * cluster gave no block (retriable, nothing guessed); COORDINATOR_LOAD_IN_PROGRESS when the
 * log could not record it (a block the cluster reserved is then dropped: its ids are skipped,
 * the next one is reserved anew).
 */
static int16_t alloc_pid(struct br_txns *c, int64_t *pid)
{
    pthread_mutex_lock(&c->pid_mu);
    int16_t e = KP_ERR_NONE;
    if (c->next_pid >= c->block_end) {
        int64_t first = c->next_pid;
        if (c->ops.pid_block) {
            int err = c->ops.pid_block(c->ops.arg, c->cfg.pid_block_size, c->next_pid, &first);
            if (err == 0 && (first < c->next_pid || first > INT64_MAX - c->cfg.pid_block_size))
                err = -ERANGE; /* (not the block asked for: refused, never used) */
            if (err < 0)
                e = KP_ERR_COORDINATOR_NOT_AVAILABLE;
        }
        int64_t end = first + c->cfg.pid_block_size;
        if (e == KP_ERR_NONE && st_txnlog_pid_block(c->log, end) < 0)
            e = KP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
        if (e == KP_ERR_NONE) {
            c->next_pid = first;
            c->block_end = end;
        }
    }
    if (e == KP_ERR_NONE)
        *pid = c->next_pid++;
    pthread_mutex_unlock(&c->pid_mu);
    return e;
}

/* ---- sets ------------------------------------------------------------------------------------ */

static bool sets_has(const struct txn_sets *s, const char *topic, size_t len, int32_t p)
{
    for (int32_t i = 0; i < s->ntopics; i++) {
        const struct txn_topic *t = &s->topics[i];
        if (t->len != len || memcmp(t->name, topic, len) != 0)
            continue;
        for (int32_t k = 0; k < t->n; k++)
            if (t->parts[k] == p)
                return true;
        return false;
    }
    return false;
}

static bool sets_has_group(const struct txn_sets *s, const char *g, size_t len)
{
    for (int32_t i = 0; i < s->ngroups; i++)
        if (s->groups[i].len == len && memcmp(s->groups[i].id, g, len) == 0)
            return true;
    return false;
}

/* A deep copy of s (c->mu held by the caller, or s owned). */
static int sets_copy(struct txn_sets *dst, const struct txn_sets *s)
{
    memset(dst, 0, sizeof(*dst));
    dst->topics = calloc((size_t)s->ntopics + 1, sizeof(*dst->topics));
    dst->groups = calloc((size_t)s->ngroups + 1, sizeof(*dst->groups));
    if (!dst->topics || !dst->groups)
        goto fail;
    for (int32_t i = 0; i < s->ntopics; i++) {
        const struct txn_topic *t = &s->topics[i];
        struct txn_topic *d = &dst->topics[dst->ntopics];
        d->name = malloc(t->len ? t->len : 1);
        d->parts = malloc((size_t)(t->cap ? t->cap : 1) * sizeof(int32_t));
        if (!d->name || !d->parts) {
            free(d->name);
            free(d->parts);
            goto fail;
        }
        memcpy(d->name, t->name, t->len);
        memcpy(d->parts, t->parts, (size_t)t->n * sizeof(int32_t));
        d->len = t->len;
        d->n = t->n;
        d->cap = t->cap ? t->cap : 1;
        dst->ntopics++;
    }
    dst->nparts = s->nparts;
    for (int32_t i = 0; i < s->ngroups; i++) {
        struct txn_group *d = &dst->groups[dst->ngroups];
        if (!(d->id = malloc(s->groups[i].len)))
            goto fail;
        memcpy(d->id, s->groups[i].id, s->groups[i].len);
        d->len = s->groups[i].len;
        dst->ngroups++;
    }
    return 0;
fail:
    sets_free(dst);
    return -ENOMEM;
}

static int sets_add(struct txn_sets *s, const char *topic, size_t len, int32_t p)
{
    if (sets_has(s, topic, len, p))
        return 0;
    struct txn_topic *t = NULL;
    for (int32_t i = 0; i < s->ntopics && !t; i++)
        if (s->topics[i].len == len && memcmp(s->topics[i].name, topic, len) == 0)
            t = &s->topics[i];
    if (!t) {
        struct txn_topic *nt = realloc(s->topics, ((size_t)s->ntopics + 1) * sizeof(*nt));
        if (!nt)
            return -ENOMEM;
        s->topics = nt;
        t = &s->topics[s->ntopics];
        *t = (struct txn_topic){.name = malloc(len), .len = (uint16_t)len};
        if (!t->name)
            return -ENOMEM;
        memcpy(t->name, topic, len);
        s->ntopics++;
    }
    if (t->n == t->cap) {
        int32_t ncap = t->cap ? 2 * t->cap : 4;
        int32_t *np = realloc(t->parts, (size_t)ncap * sizeof(*np));
        if (!np)
            return -ENOMEM;
        t->parts = np;
        t->cap = ncap;
    }
    t->parts[t->n++] = p;
    s->nparts++;
    return 0;
}

static int sets_add_group(struct txn_sets *s, const char *g, size_t len)
{
    if (sets_has_group(s, g, len))
        return 0;
    struct txn_group *ng = realloc(s->groups, ((size_t)s->ngroups + 1) * sizeof(*ng));
    if (!ng)
        return -ENOMEM;
    s->groups = ng;
    struct txn_group *d = &s->groups[s->ngroups];
    if (!(d->id = malloc(len)))
        return -ENOMEM;
    memcpy(d->id, g, len);
    d->len = (uint16_t)len;
    s->ngroups++;
    return 0;
}

/* ---- ending a transaction -------------------------------------------------------------------- */

/*
 * Steps 2-6 of ORDER OF AN END for t, prepared and written (t->op held). 0, or -errno with
 * t still prepared (the tick retries).
 */
static int complete(struct br_txns *c, struct txn *t, int *n)
{
    pthread_mutex_lock(&c->mu);
    struct txn_vals v = t->v;
    struct txn_sets s;
    int err = sets_copy(&s, &t->s); /* the sets do not change while prepared; a copy keeps
                                       c->mu out of the callbacks */
    pthread_mutex_unlock(&c->mu);
    if (err < 0)
        return err;
    bool commit = v.state == TS_PREPARE_COMMIT;
    int64_t now = now_of(c);
    for (int32_t i = 0; i < s.ntopics && err == 0; i++) {
        for (int32_t k = 0; k < s.topics[i].n && err == 0; k++) {
            int32_t ce;
            if (serves_at(c, t->id, t->id_len, &ce) != KP_ERR_NONE) {
                err = -ENOTCONN; /* a cluster: the id's partition lost meanwhile */
                break;
            }
            int rc = c->ops.marker(c->ops.arg, s.topics[i].name, s.topics[i].len,
                                   s.topics[i].parts[k], v.pid, v.epoch, commit, ce, now);
            if (rc == -ENOENT || rc == -ESTALE)
                br_warn_limited("transactional id %.*s: no %s marker in %.*s-%d: %s",
                                (int)t->id_len, t->id, commit ? "COMMIT" : "ABORT",
                                (int)s.topics[i].len, s.topics[i].name, s.topics[i].parts[k],
                                rc == -ENOENT ? "the partition is gone"
                                              : "it knows a newer epoch of the producer");
            else if (rc < 0)
                err = rc;
            if (err == 0)
                step(c, n);
        }
    }
    for (int32_t i = 0; i < s.ngroups && err == 0; i++) {
        int32_t ce;
        if (serves_at(c, t->id, t->id_len, &ce) != KP_ERR_NONE) {
            err = -ENOTCONN;
            break;
        }
        err = c->ops.offsets_end(c->ops.arg, s.groups[i].id, s.groups[i].len, v.pid, v.epoch,
                                 commit, ce, now);
        if (err == 0)
            step(c, n);
    }
    if (err == 0 && c->ops.flush && (err = c->ops.flush(c->ops.arg)) == 0)
        step(c, n);
    if (err == 0) {
        v.state = commit ? TS_COMPLETE_COMMIT : TS_COMPLETE_ABORT;
        v.update_ms = now_of(c);
        if ((err = persist(c, t, &v, &s)) == 0) {
            apply(c, t, &v);
            step(c, n);
        }
    }
    sets_free(&s);
    if (err < 0)
        br_err_limited("transactional id %.*s: ending (%s) failed: %s; retried", (int)t->id_len,
                       t->id, commit ? "commit" : "abort", strerror(-err));
    return err;
}

/*
 * Prepares and completes t's end (t->op held, t Ongoing). fence: bump the epoch first (a new
 * instance, or the timeout; Kafka's prepareFenceProducerEpoch). Returns a Kafka error: NONE
 * once prepared (the completion is retried by the tick if it failed), else the write's.
 */
static int16_t end_locked(struct br_txns *c, struct txn *t, bool commit, bool fence)
{
    pthread_mutex_lock(&c->mu);
    struct txn_vals v = t->v;
    pthread_mutex_unlock(&c->mu);
    v.state = commit ? TS_PREPARE_COMMIT : TS_PREPARE_ABORT;
    v.update_ms = now_of(c);
    if (fence && v.epoch < INT16_MAX) {
        v.epoch++;
        v.last_epoch = -1;
    }
    /* from here Produce verification refuses the transaction (state no longer Ongoing) */
    pthread_mutex_lock(&c->mu);
    struct txn_vals old = t->v;
    c->ongoing -= old.state == TS_ONGOING;
    t->v.state = v.state;
    pthread_mutex_unlock(&c->mu);
    int err = persist(c, t, &v, &t->s);
    if (err < 0) {
        pthread_mutex_lock(&c->mu);
        t->v.state = old.state;
        c->ongoing += old.state == TS_ONGOING;
        pthread_mutex_unlock(&c->mu);
        return write_error(err);
    }
    apply(c, t, &v);
    int n = 0;
    step(c, &n);
    (void)complete(c, t, &n);
    return KP_ERR_NONE;
}

/* ---- requests ---------------------------------------------------------------------------------
 */

static bool id_ok(struct kp_str id) { return id.len >= 1 && id.len <= BR_TXN_ID_MAX; }

/* Kafka's isValidProducerId (prepareInitProducerIdTransit). */
static bool expected_valid(const struct txn_vals *v, int64_t pid, int16_t epoch)
{
    return v->epoch == -1 || pid == v->pid || (pid == v->last_pid && epoch >= INT16_MAX - 1);
}

static void init_locked(struct br_txns *c, struct txn *t, const struct br_txn_init_req *req,
                        struct br_txn_init_res *res)
{
    bool expected = req->producer_id >= 0;
    for (int round = 0; round < 2; round++) {
        pthread_mutex_lock(&c->mu);
        struct txn_vals v = t->v;
        pthread_mutex_unlock(&c->mu);
        if (expected && !expected_valid(&v, req->producer_id, req->epoch)) {
            res->error_code = KP_ERR_PRODUCER_FENCED;
            return;
        }
        if (v.state == TS_PREPARE_COMMIT || v.state == TS_PREPARE_ABORT) {
            res->error_code = KP_ERR_CONCURRENT_TRANSACTIONS; /* a retried end is pending */
            return;
        }
        if (v.state == TS_ONGOING) {
            /* fence and abort; Kafka answers CONCURRENT_TRANSACTIONS here and the client's
             * retry takes the path below: done at once instead */
            int16_t e = end_locked(c, t, false, true);
            pthread_mutex_lock(&c->mu);
            bool done = t->v.state == TS_COMPLETE_ABORT;
            pthread_mutex_unlock(&c->mu);
            if (e != KP_ERR_NONE || !done) {
                res->error_code = e != KP_ERR_NONE ? e : KP_ERR_CONCURRENT_TRANSACTIONS;
                return;
            }
            continue;
        }
        struct txn_vals nv = v;
        nv.state = TS_EMPTY;
        nv.timeout_ms = req->timeout_ms;
        nv.start_ms = -1;
        nv.update_ms = now_of(c);
        if (v.epoch >= INT16_MAX - 1 && (!expected || req->epoch == v.epoch)) {
            /* exhausted: a new producer id (Kafka's prepareProducerIdRotation) */
            int64_t np = -1;
            int16_t ae = alloc_pid(c, &np);
            if (ae != KP_ERR_NONE) {
                res->error_code = ae;
                return;
            }
            nv.last_pid = v.pid;
            nv.pid = np;
            nv.epoch = 0;
            nv.last_epoch = expected ? v.epoch : -1;
        } else if (!expected) {
            nv.epoch = (int16_t)(v.epoch + 1);
            nv.last_epoch = -1;
        } else if (v.epoch == -1 || req->epoch == v.epoch) {
            nv.epoch = (int16_t)(v.epoch + 1);
            nv.last_epoch = v.epoch;
        } else if (req->epoch == v.last_epoch) {
            /* a retry of a bump whose answer was lost: the same answer again */
        } else {
            res->error_code = KP_ERR_PRODUCER_FENCED;
            return;
        }
        struct txn_sets none = {0};
        int err = persist(c, t, &nv, &none);
        if (err < 0) {
            res->error_code = write_error(err);
            return;
        }
        apply(c, t, &nv);
        pthread_mutex_lock(&c->mu);
        sets_take(c, t, &none);
        pthread_mutex_unlock(&c->mu);
        res->error_code = KP_ERR_NONE;
        res->producer_id = nv.pid;
        res->epoch = nv.epoch;
        return;
    }
    res->error_code = KP_ERR_CONCURRENT_TRANSACTIONS;
}

void br_txn_init_producer(struct br_txns *c, const struct br_txn_init_req *req,
                          struct br_txn_init_res *res)
{
    *res = (struct br_txn_init_res){.error_code = KP_ERR_NONE, .producer_id = -1, .epoch = -1};
    if ((req->producer_id < 0) != (req->epoch < 0)) {
        res->error_code = KP_ERR_INVALID_REQUEST;
        return;
    }
    if (req->txn_id.len < 0) { /* idempotent: a new id, epoch 0, nothing else kept */
        int64_t pid = -1;
        int16_t ae = alloc_pid(c, &pid);
        if (ae != KP_ERR_NONE) {
            res->error_code = ae;
            return;
        }
        res->producer_id = pid;
        res->epoch = 0;
        return;
    }
    if (!id_ok(req->txn_id)) {
        res->error_code = KP_ERR_INVALID_REQUEST;
        return;
    }
    if (req->timeout_ms <= 0 || req->timeout_ms > c->cfg.max_timeout_ms) {
        res->error_code = KP_ERR_INVALID_TRANSACTION_TIMEOUT;
        return;
    }
    int16_t ge = serves(c, req->txn_id.ptr, (size_t)req->txn_id.len);
    if (ge != KP_ERR_NONE) {
        res->error_code = ge;
        return;
    }
    struct txn *t = get_locked(c, req->txn_id);
    if (!t) {
        /* a new id: Empty with a new producer id and no epoch yet (Kafka's
         * putTransactionStateIfNotExists), then bumped below to epoch 0 */
        pthread_mutex_lock(&c->mu);
        bool full = c->cfg.max_memory_bytes >= 0 && c->mem >= c->cfg.max_memory_bytes;
        pthread_mutex_unlock(&c->mu);
        int64_t pid = -1;
        if (full) {
            br_warn_limited("transactional ids hold %lld bytes, transaction.state.max.memory.bytes "
                            "(%lld): a new id is refused (COORDINATOR_NOT_AVAILABLE) until ids "
                            "expire",
                            (long long)c->mem, (long long)c->cfg.max_memory_bytes);
            res->error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE;
            return;
        }
        int16_t ae = alloc_pid(c, &pid);
        if (ae != KP_ERR_NONE) {
            res->error_code = ae;
            return;
        }
        struct txn *nt = txn_new(c, req->txn_id.ptr, (size_t)req->txn_id.len);
        if (!nt) {
            res->error_code = KP_ERR_COORDINATOR_NOT_AVAILABLE;
            return;
        }
        nt->v = (struct txn_vals){.pid = pid,
                                  .last_pid = -1,
                                  .epoch = -1,
                                  .last_epoch = -1,
                                  .timeout_ms = req->timeout_ms,
                                  .state = TS_EMPTY,
                                  .start_ms = -1,
                                  .update_ms = now_of(c)};
        pthread_mutex_lock(&c->mu);
        if (!find_id(c, req->txn_id.ptr, (size_t)req->txn_id.len)) /* else: a race, lost */
            txn_link(c, nt);
        else
            txn_put(c, nt);
        pthread_mutex_unlock(&c->mu);
        t = get_locked(c, req->txn_id);
        if (!t) {
            res->error_code = KP_ERR_CONCURRENT_TRANSACTIONS;
            return;
        }
    }
    init_locked(c, t, req, res);
    release(c, t);
}

/* The checks AddPartitions, AddOffsets and EndTxn share (Kafka's order). NONE to go on. */
static int16_t check_producer(const struct txn_vals *v, int64_t pid, int16_t epoch)
{
    if (v->pid != pid)
        return KP_ERR_INVALID_PRODUCER_ID_MAPPING;
    if (v->epoch != epoch)
        return KP_ERR_PRODUCER_FENCED;
    return KP_ERR_NONE;
}

/* AddPartitions / AddOffsets: topics (or group) into t's transaction (t->op held). */
static int16_t add_locked(struct br_txns *c, struct txn *t, int64_t pid, int16_t epoch,
                          const struct br_txn_topic *topics, int32_t n_topics, struct kp_str group)
{
    pthread_mutex_lock(&c->mu);
    struct txn_vals v = t->v;
    int16_t e = check_producer(&v, pid, epoch);
    if (e == KP_ERR_NONE && (v.state == TS_PREPARE_COMMIT || v.state == TS_PREPARE_ABORT))
        e = KP_ERR_CONCURRENT_TRANSACTIONS;
    bool subset = e == KP_ERR_NONE && v.state == TS_ONGOING;
    for (int32_t i = 0; subset && i < n_topics; i++)
        for (int32_t k = 0; subset && k < topics[i].n; k++)
            subset = sets_has(&t->s, topics[i].name.ptr, (size_t)topics[i].name.len,
                              topics[i].partitions[k]);
    if (subset && group.len > 0)
        subset = sets_has_group(&t->s, group.ptr, (size_t)group.len);
    struct txn_sets ns = {0};
    int err = 0;
    if (e == KP_ERR_NONE && !subset && v.state == TS_ONGOING)
        err = sets_copy(&ns, &t->s); /* the union; from Empty or Complete*: anew */
    pthread_mutex_unlock(&c->mu);
    if (e != KP_ERR_NONE || subset)
        return e;
    for (int32_t i = 0; i < n_topics && err == 0; i++)
        for (int32_t k = 0; k < topics[i].n && err == 0; k++)
            err = sets_add(&ns, topics[i].name.ptr, (size_t)topics[i].name.len,
                           topics[i].partitions[k]);
    if (err == 0 && group.len > 0)
        err = sets_add_group(&ns, group.ptr, (size_t)group.len);
    if (err == 0 && ns.nparts > ST_TXNLOG_PARTS_MAX) {
        sets_free(&ns);
        return KP_ERR_INVALID_REQUEST;
    }
    struct txn_vals nv = v;
    int64_t now = now_of(c);
    if (v.state != TS_ONGOING)
        nv.start_ms = now;
    nv.state = TS_ONGOING;
    nv.update_ms = now;
    if (err == 0)
        err = persist(c, t, &nv, &ns);
    if (err < 0) {
        sets_free(&ns);
        return write_error(err);
    }
    apply(c, t, &nv);
    pthread_mutex_lock(&c->mu);
    sets_take(c, t, &ns);
    pthread_mutex_unlock(&c->mu);
    return KP_ERR_NONE;
}

void br_txn_add_partitions(struct br_txns *c, struct kp_str txn_id, int64_t pid, int16_t epoch,
                           const struct br_txn_topic *topics, int32_t n_topics, int16_t *errors)
{
    int32_t n = 0;
    bool unknown = false;
    for (int32_t i = 0; i < n_topics; i++)
        for (int32_t k = 0; k < topics[i].n; k++) {
            bool ok = topics[i].name.len > 0 &&
                      c->ops.partition_exists(c->ops.arg, topics[i].name.ptr,
                                              (size_t)topics[i].name.len, topics[i].partitions[k]);
            errors[n++] = ok ? KP_ERR_OPERATION_NOT_ATTEMPTED : KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            unknown |= !ok;
        }
    if (unknown)
        return; /* Kafka: the unknown ones named, nothing attempted */
    int16_t e;
    struct txn *t = NULL;
    if (!id_ok(txn_id))
        e = KP_ERR_INVALID_REQUEST;
    else if ((e = serves(c, txn_id.ptr, (size_t)txn_id.len)) != KP_ERR_NONE)
        ;
    else if (!(t = get_locked(c, txn_id)))
        e = KP_ERR_INVALID_PRODUCER_ID_MAPPING;
    else
        e = add_locked(c, t, pid, epoch, topics, n_topics, (struct kp_str){NULL, 0});
    if (t)
        release(c, t);
    for (int32_t i = 0; i < n; i++)
        errors[i] = e;
}

int16_t br_txn_add_offsets(struct br_txns *c, struct kp_str txn_id, int64_t pid, int16_t epoch,
                           struct kp_str group_id)
{
    if (!id_ok(txn_id))
        return KP_ERR_INVALID_REQUEST;
    if (group_id.len < 1 || group_id.len > ST_TXNLOG_ID_MAX)
        return KP_ERR_INVALID_GROUP_ID;
    int16_t ge = serves(c, txn_id.ptr, (size_t)txn_id.len);
    if (ge != KP_ERR_NONE)
        return ge;
    struct txn *t = get_locked(c, txn_id);
    if (!t)
        return KP_ERR_INVALID_PRODUCER_ID_MAPPING;
    int16_t e = add_locked(c, t, pid, epoch, NULL, 0, group_id);
    release(c, t);
    return e;
}

int16_t br_txn_end(struct br_txns *c, struct kp_str txn_id, int64_t pid, int16_t epoch, bool commit)
{
    if (!id_ok(txn_id))
        return KP_ERR_INVALID_REQUEST;
    int16_t ge = serves(c, txn_id.ptr, (size_t)txn_id.len);
    if (ge != KP_ERR_NONE)
        return ge;
    struct txn *t = get_locked(c, txn_id);
    if (!t)
        return KP_ERR_INVALID_PRODUCER_ID_MAPPING;
    pthread_mutex_lock(&c->mu);
    struct txn_vals v = t->v;
    pthread_mutex_unlock(&c->mu);
    int16_t e = check_producer(&v, pid, epoch);
    if (e == KP_ERR_NONE) {
        switch (v.state) {
        case TS_ONGOING:
            e = end_locked(c, t, commit, false);
            break;
        case TS_COMPLETE_COMMIT:
            e = commit ? KP_ERR_NONE : KP_ERR_INVALID_TXN_STATE; /* a retried EndTxn */
            break;
        case TS_COMPLETE_ABORT:
            e = commit ? KP_ERR_INVALID_TXN_STATE : KP_ERR_NONE;
            break;
        case TS_PREPARE_COMMIT:
            e = commit ? KP_ERR_CONCURRENT_TRANSACTIONS : KP_ERR_INVALID_TXN_STATE;
            break;
        case TS_PREPARE_ABORT:
            e = commit ? KP_ERR_INVALID_TXN_STATE : KP_ERR_CONCURRENT_TRANSACTIONS;
            break;
        default:
            e = KP_ERR_INVALID_TXN_STATE;
        }
    }
    release(c, t);
    return e;
}

int16_t br_txn_offset_commit(struct br_txns *c, struct kp_str txn_id, int64_t pid, int16_t epoch,
                             struct kp_str group_id, int (*write)(void *arg), void *arg)
{
    if (!id_ok(txn_id))
        return KP_ERR_INVALID_REQUEST;
    if (group_id.len < 1 || group_id.len > ST_TXNLOG_ID_MAX)
        return KP_ERR_INVALID_GROUP_ID;
    struct txn *t = get_locked(c, txn_id);
    if (!t)
        return KP_ERR_INVALID_PRODUCER_ID_MAPPING;
    pthread_mutex_lock(&c->mu);
    int16_t e = KP_ERR_NONE;
    if (t->v.pid != pid)
        e = KP_ERR_INVALID_PRODUCER_ID_MAPPING;
    else if (t->v.epoch != epoch)
        e = KP_ERR_INVALID_PRODUCER_EPOCH; /* what librdkafka's TxnOffsetCommit knows */
    else if (t->v.state != TS_ONGOING || !sets_has_group(&t->s, group_id.ptr, (size_t)group_id.len))
        e = KP_ERR_INVALID_TXN_STATE;
    pthread_mutex_unlock(&c->mu);
    if (e == KP_ERR_NONE)
        (void)write(arg); /* under t->op: no end can come between the check and this */
    release(c, t);
    return e;
}

int16_t br_txn_verify(struct br_txns *c, int64_t pid, int16_t epoch, struct kp_str topic,
                      int32_t partition, int (*append)(void *arg), void *arg)
{
    pthread_mutex_lock(&c->mu);
    struct txn *t = find_pid(c, pid);
    int16_t e = KP_ERR_NONE;
    if (!t)
        e = KP_ERR_INVALID_TXN_STATE;
    else if (t->v.epoch != epoch)
        e = KP_ERR_INVALID_PRODUCER_EPOCH;
    else if (t->v.state == TS_PREPARE_COMMIT || t->v.state == TS_PREPARE_ABORT)
        e = KP_ERR_NOT_ENOUGH_REPLICAS; /* ending: retriable (Kafka's translation) */
    else if (t->v.state != TS_ONGOING ||
             !sets_has(&t->s, topic.ptr, topic.len > 0 ? (size_t)topic.len : 0, partition))
        e = KP_ERR_INVALID_TXN_STATE;
    if (e == KP_ERR_NONE)
        (void)append(arg); /* under c->mu: an end changes the state under it first */
    pthread_mutex_unlock(&c->mu);
    return e;
}

/* ---- start-up -------------------------------------------------------------------------------- */

struct load_ctx {
    struct br_txns *c;
    int err;
};

static void load_one(void *arg, const struct st_txnlog_rec *r)
{
    struct load_ctx *lc = arg;
    struct br_txns *c = lc->c;
    if (lc->err < 0)
        return;
    struct txn *t = txn_new(c, r->id, r->id_len);
    struct txn_sets s = {0};
    int err = t ? 0 : -ENOMEM;
    for (int32_t i = 0; i < r->n_topics && err == 0; i++)
        for (int32_t k = 0; k < r->topics[i].n && err == 0; k++)
            err = sets_add(&s, r->topics[i].name, r->topics[i].len, r->topics[i].partitions[k]);
    for (int32_t i = 0; i < r->n_groups && err == 0; i++)
        err = sets_add_group(&s, r->groups[i].id, r->groups[i].len);
    if (err < 0) {
        sets_free(&s);
        free(t);
        lc->err = err;
        return;
    }
    t->v = vals_of(r);
    txn_link(c, t); /* called under c->mu by br_txn_new */
    sets_take(c, t, &s);
    if (t->v.state == TS_ONGOING)
        c->ongoing++;
}

int br_txn_recover(struct br_txns *c) { return br_txn_recover_matching(c, NULL, NULL); }

int br_txn_recover_matching(struct br_txns *c, br_txn_match_fn match, void *arg)
{
    /* the prepared ones, with references, then each finished under its lock */
    pthread_mutex_lock(&c->mu);
    int64_t n = 0;
    struct txn **v = malloc(((size_t)c->n + 1) * sizeof(*v));
    for (size_t i = 0; v && i < c->nbuckets; i++)
        for (struct txn *t = c->by_id[i]; t; t = t->id_next)
            if ((t->v.state == TS_PREPARE_COMMIT || t->v.state == TS_PREPARE_ABORT) &&
                (!match || match(arg, t->id, t->id_len))) {
                t->refs++;
                v[n++] = t;
            }
    pthread_mutex_unlock(&c->mu);
    if (!v)
        return -ENOMEM;
    int done = 0, err = 0;
    for (int64_t i = 0; i < n; i++) {
        pthread_mutex_lock(&v[i]->op);
        pthread_mutex_lock(&c->mu);
        bool prepared = v[i]->linked &&
                        (v[i]->v.state == TS_PREPARE_COMMIT || v[i]->v.state == TS_PREPARE_ABORT);
        pthread_mutex_unlock(&c->mu);
        int k = 0, rc = prepared ? complete(c, v[i], &k) : 0;
        pthread_mutex_unlock(&v[i]->op);
        if (rc < 0)
            err = rc;
        else
            done++;
        pthread_mutex_lock(&c->mu);
        txn_put(c, v[i]);
        pthread_mutex_unlock(&c->mu);
    }
    free(v);
    if (done > 0)
        br_info("transaction coordinator: %d transaction(s) found prepared at start finished",
                done);
    return err < 0 ? err : done;
}

int br_txn_sweep(struct br_txns *c, const char *topic, size_t topic_len, int32_t partition,
                 const struct st_open_txn *open, int n)
{
    int written = 0;
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&c->mu);
        struct txn *t = find_pid(c, open[i].producer_id);
        int state = t ? t->v.state : -1;
        bool member = t && sets_has(&t->s, topic, topic_len, partition);
        int16_t epoch = t && t->v.epoch > open[i].epoch ? t->v.epoch : open[i].epoch;
        pthread_mutex_unlock(&c->mu);
        if (state == TS_ONGOING && member)
            continue; /* its end (or its timeout) writes the marker */
        bool commit = state == TS_COMPLETE_COMMIT && member;
        int rc = c->ops.marker(c->ops.arg, topic, topic_len, partition, open[i].producer_id, epoch,
                               commit, 0, now_of(c)); /* (a single node's sweep) */
        br_warn("transaction coordinator: %.*s-%d had an open transaction of producer %lld from "
                "offset %lld that the coordinator's log does not hold open: %s marker written "
                "(%s)",
                (int)topic_len, topic, partition, (long long)open[i].producer_id,
                (long long)open[i].first_offset, commit ? "COMMIT" : "ABORT",
                rc == 0 ? "done" : strerror(-rc));
        if (rc < 0 && rc != -ENOENT && rc != -ESTALE)
            return rc;
        written += rc == 0;
    }
    return written;
}

/* ---- a cluster's loads ------------------------------------------------------------------ */

int16_t br_txn_serves(struct br_txns *c, struct kp_str id)
{
    return id.len > 0 ? serves(c, id.ptr, (size_t)id.len) : KP_ERR_NONE;
}

/* The matching ids, each with a reference (c->mu held); NULL when out of memory. */
static struct txn **collect(struct br_txns *c, br_txn_match_fn match, void *arg, int64_t *n)
{
    struct txn **v = malloc(((size_t)c->n + 1) * sizeof(*v));
    *n = 0;
    for (size_t i = 0; v && i < c->nbuckets; i++)
        for (struct txn *t = c->by_id[i]; t; t = t->id_next)
            if (!match || match(arg, t->id, t->id_len)) {
                t->refs++;
                v[(*n)++] = t;
            }
    return v;
}

int br_txn_drop(struct br_txns *c, br_txn_match_fn match, void *arg)
{
    pthread_mutex_lock(&c->mu);
    int64_t n = 0;
    struct txn **v = collect(c, match, arg, &n);
    pthread_mutex_unlock(&c->mu);
    if (!v)
        return -ENOMEM;
    int dropped = 0;
    for (int64_t i = 0; i < n; i++) {
        pthread_mutex_lock(&v[i]->op); /* after the operation under way */
        pthread_mutex_lock(&c->mu);
        if (v[i]->linked) {
            if (v[i]->v.state == TS_ONGOING)
                c->ongoing--;
            txn_unlink(c, v[i]);
            dropped++;
        }
        pthread_mutex_unlock(&c->mu);
        pthread_mutex_unlock(&v[i]->op);
        pthread_mutex_lock(&c->mu);
        txn_put(c, v[i]);
        pthread_mutex_unlock(&c->mu);
    }
    free(v);
    return dropped;
}

int br_txn_load_rec(struct br_txns *c, const struct st_txnlog_rec *r, bool tombstone)
{
    struct kp_str id = {r->id, (int32_t)r->id_len};
    if (!id_ok(id))
        return -EINVAL;
    if (tombstone || r->state > TS_COMPLETE_ABORT) { /* (Dead, or a status this one lacks) */
        struct txn *t = get_locked(c, id);
        if (t) {
            pthread_mutex_lock(&c->mu);
            if (t->v.state == TS_ONGOING)
                c->ongoing--;
            txn_unlink(c, t);
            pthread_mutex_unlock(&c->mu);
            release(c, t);
        }
        return 0;
    }
    struct txn_sets s = {0};
    int err = 0;
    for (int32_t i = 0; i < r->n_topics && err == 0; i++)
        for (int32_t k = 0; k < r->topics[i].n && err == 0; k++)
            err = sets_add(&s, r->topics[i].name, r->topics[i].len, r->topics[i].partitions[k]);
    for (int32_t i = 0; i < r->n_groups && err == 0; i++)
        err = sets_add_group(&s, r->groups[i].id, r->groups[i].len);
    struct txn *t = err == 0 ? get_locked(c, id) : NULL;
    if (err == 0 && !t) {
        struct txn *nt = txn_new(c, r->id, r->id_len);
        if (!nt) {
            err = -ENOMEM;
        } else {
            nt->v = (struct txn_vals){.pid = r->producer_id, .epoch = -1, .state = TS_EMPTY};
            pthread_mutex_lock(&c->mu);
            if (!find_id(c, r->id, r->id_len))
                txn_link(c, nt);
            else
                txn_put(c, nt);
            pthread_mutex_unlock(&c->mu);
            t = get_locked(c, id);
            if (!t)
                err = -EAGAIN;
        }
    }
    if (err < 0) {
        sets_free(&s);
        return err;
    }
    struct txn_vals v = vals_of(r);
    apply(c, t, &v);
    pthread_mutex_lock(&c->mu);
    sets_take(c, t, &s);
    pthread_mutex_unlock(&c->mu);
    release(c, t);
    return 0;
}

/* ---- timers ---------------------------------------------------------------------------------- */

int64_t br_txn_tick(struct br_txns *c)
{
    int64_t now = now_of(c);
    bool abort_due = now >= c->next_abort_check, expire_due = now >= c->next_expire_check;
    pthread_mutex_lock(&c->mu);
    struct txn **v = NULL;
    int64_t n = 0;
    if (abort_due || expire_due)
        v = malloc(((size_t)c->n + 1) * sizeof(*v));
    for (size_t i = 0; v && i < c->nbuckets; i++) {
        for (struct txn *t = c->by_id[i]; t; t = t->id_next) {
            const struct txn_vals *x = &t->v;
            bool timed_out =
                abort_due && x->state == TS_ONGOING && x->start_ms + x->timeout_ms < now;
            bool stuck =
                abort_due && (x->state == TS_PREPARE_COMMIT || x->state == TS_PREPARE_ABORT);
            bool expired = expire_due && c->cfg.id_expiration_ms >= 0 &&
                           (x->state == TS_EMPTY || x->state == TS_COMPLETE_COMMIT ||
                            x->state == TS_COMPLETE_ABORT) &&
                           x->update_ms <= now - c->cfg.id_expiration_ms;
            if (timed_out || stuck || expired) {
                t->refs++;
                v[n++] = t;
            }
        }
    }
    if (abort_due)
        c->next_abort_check = now + c->cfg.abort_check_ms;
    if (expire_due)
        c->next_expire_check = now + c->cfg.expire_check_ms;
    pthread_mutex_unlock(&c->mu);
    for (int64_t i = 0; i < n; i++) {
        struct txn *t = v[i];
        pthread_mutex_lock(&t->op);
        pthread_mutex_lock(&c->mu);
        struct txn_vals x = t->v;
        bool linked = t->linked;
        pthread_mutex_unlock(&c->mu);
        if (linked && serves(c, t->id, t->id_len) != KP_ERR_NONE)
            linked = false; /* a cluster: not (or not yet) this broker's to act on */
        /* looked at again under the lock: a request may have moved it meanwhile */
        if (linked && x.state == TS_ONGOING && x.start_ms + x.timeout_ms < now) {
            br_info("transactional id %.*s: transaction of producer %lld epoch %d open since %lld "
                    "timed out after %d ms: fenced and aborted",
                    (int)t->id_len, t->id, (long long)x.pid, x.epoch, (long long)x.start_ms,
                    x.timeout_ms);
            if (end_locked(c, t, false, true) == KP_ERR_NONE) {
                pthread_mutex_lock(&c->mu);
                c->timed_out++;
                pthread_mutex_unlock(&c->mu);
            }
        } else if (linked && (x.state == TS_PREPARE_COMMIT || x.state == TS_PREPARE_ABORT)) {
            int k = 0;
            (void)complete(c, t, &k);
        } else if (linked && c->cfg.id_expiration_ms >= 0 &&
                   (x.state == TS_EMPTY || x.state == TS_COMPLETE_COMMIT ||
                    x.state == TS_COMPLETE_ABORT) &&
                   x.update_ms <= now - c->cfg.id_expiration_ms) {
            int dr = c->ops.state_write ? c->ops.state_write(c->ops.arg, t->id, t->id_len, NULL)
                                        : st_txnlog_delete(c->log, t->id, t->id_len, now);
            if (dr == 0) {
                pthread_mutex_lock(&c->mu);
                if (t->v.state == TS_ONGOING)
                    c->ongoing--;
                txn_unlink(c, t);
                c->expired++;
                pthread_mutex_unlock(&c->mu);
            }
        }
        pthread_mutex_unlock(&t->op);
        pthread_mutex_lock(&c->mu);
        txn_put(c, t);
        pthread_mutex_unlock(&c->mu);
    }
    free(v);
    pthread_mutex_lock(&c->mu);
    int64_t next =
        c->next_abort_check < c->next_expire_check ? c->next_abort_check : c->next_expire_check;
    pthread_mutex_unlock(&c->mu);
    return next;
}

static void *timer_main(void *arg)
{
    struct br_txns *c = arg;
    br_log_set_thread("txn");
    pthread_mutex_lock(&c->mu);
    while (!c->thread_stop) {
        pthread_mutex_unlock(&c->mu);
        int64_t next = br_txn_tick(c);
        int64_t wait = next - now_of(c);
        pthread_mutex_lock(&c->mu);
        if (!c->thread_stop)
            br_timer_sleep(&c->cond, &c->mu, wait);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int br_txn_timer_start(struct br_txns *c)
{
    pthread_mutex_lock(&c->mu);
    c->thread_stop = false;
    int rc = pthread_create(&c->thread, NULL, timer_main, c);
    c->thread_running = rc == 0;
    pthread_mutex_unlock(&c->mu);
    return -rc;
}

/* ---- lifetime -------------------------------------------------------------------------------- */

int br_txn_new(const struct br_txn_cfg *cfg, const struct br_txn_ops *ops, struct st_txnlog *log,
               br_txn_clock_fn clock, void *clock_arg, struct br_txns **out)
{
    if (!cfg || !ops || !ops->marker || !ops->offsets_end || !ops->partition_exists || !log ||
        cfg->pid_block_size <= 0 || !ops->serves != !ops->state_write)
        return -EINVAL;
    struct br_txns *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cfg = *cfg;
    c->ops = *ops;
    c->log = log;
    c->clock = clock;
    c->clock_arg = clock_arg;
    c->nbuckets = 64;
    c->by_id = calloc(c->nbuckets, sizeof(*c->by_id));
    c->by_pid = calloc(c->nbuckets, sizeof(*c->by_pid));
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->pid_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (getrandom(&c->seed, sizeof(c->seed), GRND_NONBLOCK) != sizeof(c->seed))
        c->seed = (uint64_t)br_now_ms() * 0x9E3779B97F4A7C15ULL;
    int err = c->by_id && c->by_pid ? 0 : -ENOMEM;
    /* ids of a block partly used before a restart are skipped: unique across restarts */
    c->next_pid = c->block_end = st_txnlog_next_pid(log);
    struct load_ctx lc = {.c = c};
    if (err == 0) {
        pthread_mutex_lock(&c->mu);
        int r = st_txnlog_foreach(log, load_one, &lc);
        pthread_mutex_unlock(&c->mu);
        err = r < 0 ? r : lc.err;
    }
    int64_t now = now_of(c);
    c->next_abort_check = now + cfg->abort_check_ms;
    c->next_expire_check = now + cfg->expire_check_ms;
    if (err < 0) {
        br_txn_free(c);
        return err;
    }
    *out = c;
    return 0;
}

void br_txn_free(struct br_txns *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    bool running = c->thread_running;
    c->thread_stop = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    if (running)
        pthread_join(c->thread, NULL);
    for (size_t i = 0; c->by_id && i < c->nbuckets; i++) {
        for (struct txn *t = c->by_id[i], *next; t; t = next) {
            next = t->id_next;
            sets_free(&t->s);
            pthread_mutex_destroy(&t->op);
            free(t);
        }
    }
    free(c->by_id);
    free(c->by_pid);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->pid_mu);
    free(c);
}

void br_txn_stats(struct br_txns *c, struct br_txn_stats *s)
{
    pthread_mutex_lock(&c->mu);
    *s = (struct br_txn_stats){.ids = c->n,
                               .ongoing = c->ongoing,
                               .memory_bytes = c->mem,
                               .timed_out = c->timed_out,
                               .expired = c->expired};
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_lock(&c->pid_mu);
    s->next_pid = c->next_pid;
    pthread_mutex_unlock(&c->pid_mu);
}

int br_txn_state_of(struct br_txns *c, struct kp_str txn_id, int64_t *pid, int16_t *epoch)
{
    pthread_mutex_lock(&c->mu);
    struct txn *t = txn_id.len > 0 ? find_id(c, txn_id.ptr, (size_t)txn_id.len) : NULL;
    int s = t ? t->v.state : -1;
    if (t && pid)
        *pid = t->v.pid;
    if (t && epoch)
        *epoch = t->v.epoch;
    pthread_mutex_unlock(&c->mu);
    return s;
}
