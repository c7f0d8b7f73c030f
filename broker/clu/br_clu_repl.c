/*
 * br_clu_repl — see br_clu_repl.h and docs/cluster.md "Replication".
 *
 * Layout: an array of entries (one per led partition of replication factor > 1), each behind
 * its own mutex, and an open-addressing index from the st_log pointer (the store keeps one
 * object per partition while referenced, and every entry holds a reference) to the entry.
 * The cluster thread rebuilds both under the write lock (br_repl_end); the loop threads look
 * up under the read lock and change an entry's follower fields under its mutex.
 *
 * Kafka's rules kept here:
 * - lastCaughtUpTimeMs: a fetch at or past the leader's end now: caught up now; at or past
 *   the leader's end at the follower's previous fetch: caught up as of that previous fetch.
 * - out of sync: the follower's end is not the leader's and it has not caught up for
 *   replica.lag.time.max.ms; back in: its end reached the high watermark and the start of the
 *   leader's current epoch.
 * - on becoming leader (or a new epoch) followers' ends are unknown; those in the ISR count
 *   as caught up now.
 */
#include "br_clu_repl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "br_clock.h"
#include "br_log.h"
#include "kp_api.h"
#include "st.h"

struct rpart {
    struct st_log *log; /* reference held */
    char topic[256];
    int32_t partition;
    bool seen; /* named since br_repl_begin */
    pthread_mutex_t mu;
    /* under mu */
    int32_t leader_epoch, controller_epoch, zver;
    int64_t epoch_start; /* the leader's end offset when its epoch began */
    int nrep;
    int32_t rep[BR_CLU_RF_MAX];
    uint32_t isr;  /* bit k: rep[k] is in the ISR (this broker's bit always set) */
    uint32_t join; /* bit k: rep[k] asks to join the ISR */
    int64_t leo[BR_CLU_RF_MAX];
    int64_t caught_up_ms[BR_CLU_RF_MAX];
    int64_t last_fetch_end[BR_CLU_RF_MAX]; /* the leader's end at that follower's last fetch */
    int64_t last_fetch_ms[BR_CLU_RF_MAX];
};

struct br_repl {
    int32_t me;
    int64_t lag_max_ms;
    br_repl_kick_fn kick;
    void *kick_arg;
    pthread_rwlock_t lock;
    /* under lock (written by the cluster thread under the write lock) */
    struct rpart **parts;
    int n, cap;
    int32_t *index; /* nindex slots: entry index or -1 */
    int nindex;
};

struct br_repl *br_repl_new(int32_t me, int64_t lag_max_ms, br_repl_kick_fn kick, void *arg)
{
    struct br_repl *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->me = me;
    r->lag_max_ms = lag_max_ms > 0 ? lag_max_ms : 30000;
    r->kick = kick;
    r->kick_arg = arg;
    pthread_rwlock_init(&r->lock, NULL);
    return r;
}

static void part_free(struct rpart *p)
{
    st_log_put(p->log);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void br_repl_free(struct br_repl *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++)
        part_free(r->parts[i]);
    free(r->parts);
    free(r->index);
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

static size_t slot_of(const struct st_log *log, int nindex)
{
    uintptr_t h = (uintptr_t)log;
    h ^= h >> 17;
    h *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 7) & (size_t)(nindex - 1);
}

/* Under the lock (read or write): the entry of log, or NULL. */
static struct rpart *find(struct br_repl *r, const struct st_log *log)
{
    if (!r->nindex)
        return NULL;
    for (size_t s = slot_of(log, r->nindex), k = 0; k < (size_t)r->nindex;
         k++, s = (s + 1) & (size_t)(r->nindex - 1)) {
        int32_t i = r->index[s];
        if (i < 0)
            return NULL;
        if (r->parts[i]->log == log)
            return r->parts[i];
    }
    return NULL;
}

/* Under the write lock: the index over parts[0, n). */
static int reindex(struct br_repl *r)
{
    int want = 16;
    while (want < 2 * r->n)
        want *= 2;
    if (want != r->nindex) {
        int32_t *ni = malloc((size_t)want * sizeof(*ni));
        if (!ni)
            return -ENOMEM;
        free(r->index);
        r->index = ni;
        r->nindex = want;
    }
    for (int s = 0; s < r->nindex; s++)
        r->index[s] = -1;
    for (int i = 0; i < r->n; i++) {
        size_t s = slot_of(r->parts[i]->log, r->nindex);
        while (r->index[s] >= 0)
            s = (s + 1) & (size_t)(r->nindex - 1);
        r->index[s] = i;
    }
    return 0;
}

void br_repl_begin(struct br_repl *r)
{
    /* (the cluster thread is the only writer: it reads the table without the lock) */
    for (int i = 0; i < r->n; i++)
        r->parts[i]->seen = false;
}

static int rep_index(const struct rpart *p, int32_t id)
{
    for (int k = 0; k < p->nrep; k++)
        if (p->rep[k] == id)
            return k;
    return -1;
}

static uint32_t bits_of(const struct rpart *p, const struct br_clu_replicas *set)
{
    uint32_t b = 0;
    for (int32_t j = 0; j < set->n; j++) {
        int k = rep_index(p, set->id[j]);
        if (k >= 0)
            b |= 1u << k;
    }
    return b;
}

/* Under p->mu: a new leadership (or epoch) of p. */
static void start_epoch(struct br_repl *r, struct rpart *p, const struct br_repl_view *v)
{
    int64_t now = br_now_ms();
    p->nrep = v->replicas.n < BR_CLU_RF_MAX ? v->replicas.n : BR_CLU_RF_MAX;
    memcpy(p->rep, v->replicas.id, (size_t)p->nrep * sizeof(p->rep[0]));
    p->leader_epoch = v->leader_epoch;
    p->controller_epoch = v->controller_epoch;
    p->zver = v->zver;
    p->epoch_start = st_log_end_offset(p->log);
    p->isr = bits_of(p, &v->isr);
    int me = rep_index(p, r->me);
    if (me >= 0)
        p->isr |= 1u << me;
    p->join = 0;
    for (int k = 0; k < p->nrep; k++) {
        p->leo[k] = -1;
        p->caught_up_ms[k] = (p->isr & (1u << k)) ? now : 0;
        p->last_fetch_end[k] = -1;
        p->last_fetch_ms[k] = 0;
    }
}

int br_repl_lead(struct br_repl *r, struct st_log *log, const struct br_repl_view *v)
{
    struct rpart *p = find(r, log); /* (entries older than this view's begin) */
    if (p) {
        st_log_put(log); /* (the entry holds one already) */
        p->seen = true;
        pthread_mutex_lock(&p->mu);
        if (v->leader_epoch != p->leader_epoch) {
            start_epoch(r, p, v);
        } else if (v->zver >= p->zver) {
            p->zver = v->zver;
            p->controller_epoch = v->controller_epoch;
            uint32_t isr = bits_of(p, &v->isr);
            int me = rep_index(p, r->me);
            p->isr = isr | (me >= 0 ? 1u << me : 0);
        }
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    if (r->n == r->cap) {
        int ncap = r->cap ? 2 * r->cap : 16;
        /* the loop threads read parts under the read lock: grow it under the write lock */
        pthread_rwlock_wrlock(&r->lock);
        struct rpart **np = realloc(r->parts, (size_t)ncap * sizeof(*np));
        if (np) {
            r->parts = np;
            r->cap = ncap;
        }
        pthread_rwlock_unlock(&r->lock);
        if (!np) {
            st_log_put(log);
            return -ENOMEM;
        }
    }
    p = calloc(1, sizeof(*p));
    if (!p) {
        st_log_put(log);
        return -ENOMEM;
    }
    p->log = log;
    size_t tl = strlen(v->topic);
    if (tl >= sizeof p->topic)
        tl = sizeof p->topic - 1;
    memcpy(p->topic, v->topic, tl);
    p->partition = v->partition;
    p->seen = true;
    pthread_mutex_init(&p->mu, NULL);
    start_epoch(r, p, v);
    /* appended past n: invisible to the lookups until br_repl_end reindexes */
    r->parts[r->n] = p;
    pthread_rwlock_wrlock(&r->lock);
    r->n++;
    pthread_rwlock_unlock(&r->lock);
    return 0;
}

int br_repl_end(struct br_repl *r)
{
    pthread_rwlock_wrlock(&r->lock);
    int n = 0, was = r->n;
    struct rpart *gone[64];
    int ngone = 0;
    for (int i = 0; i < r->n; i++) {
        struct rpart *p = r->parts[i];
        if (p->seen) {
            r->parts[n++] = p;
        } else if (ngone < (int)(sizeof gone / sizeof gone[0])) {
            gone[ngone++] = p;
        } else {
            part_free(p); /* (rare: many at once; the lock is held a little longer) */
        }
    }
    r->n = n;
    if (reindex(r) < 0) {
        /* no memory for the index: look-ups find nothing until the next view */
        for (int s = 0; s < r->nindex; s++)
            r->index[s] = -1;
    }
    pthread_rwlock_unlock(&r->lock);
    for (int i = 0; i < ngone; i++)
        part_free(gone[i]);
    return was - n;
}

/* Under p->mu: min over the ISR of log end offsets (the leader's included), raised into the
 * log; true when the high watermark moved. */
static bool raise_hw(struct br_repl *r, struct rpart *p)
{
    int64_t hw = st_log_end_offset(p->log);
    for (int k = 0; k < p->nrep; k++)
        if ((p->isr & (1u << k)) && p->rep[k] != r->me && p->leo[k] < hw)
            hw = p->leo[k];
    int64_t before = st_log_high_watermark(p->log);
    if (hw <= before)
        return false;
    return st_log_set_high_watermark(p->log, hw) > before;
}

static int16_t epoch_err(int32_t leader_epoch, int32_t cur)
{
    if (cur < 0 || cur == leader_epoch)
        return KP_ERR_NONE;
    return cur > leader_epoch ? KP_ERR_UNKNOWN_LEADER_EPOCH : KP_ERR_FENCED_LEADER_EPOCH;
}

/* A replica's Fetch checked (a replica of the partition other than this broker, at the
 * leader's epoch) and, when record, taken as that replica's fetch (br_repl_replica_fetch). */
static int16_t replica_fetch(struct br_repl *r, struct st_log *log, int32_t replica,
                             int32_t cur_epoch, bool record, int64_t fetch_offset, bool *hw_moved)
{
    *hw_moved = false;
    int16_t err = KP_ERR_NONE;
    bool kick = false;
    pthread_rwlock_rdlock(&r->lock);
    struct rpart *p = find(r, log);
    if (!p) {
        pthread_rwlock_unlock(&r->lock);
        return KP_ERR_NOT_LEADER_OR_FOLLOWER;
    }
    pthread_mutex_lock(&p->mu);
    int k = rep_index(p, replica);
    if (k < 0 || replica == r->me) {
        err = KP_ERR_NOT_LEADER_OR_FOLLOWER;
    } else if ((err = epoch_err(p->leader_epoch, cur_epoch)) == KP_ERR_NONE && record) {
        int64_t now = br_now_ms();
        int64_t end = st_log_end_offset(log);
        if (p->leo[k] >= 0 && fetch_offset < p->leo[k])
            /* (a follower that truncated, KIP-279: its end goes down, the HW does not) */
            br_info_limited("replica: %s-%d: broker %d fetches from %lld, below the %lld it "
                            "fetched from before (its log end went down)",
                            p->topic, (int)p->partition, (int)replica, (long long)fetch_offset,
                            (long long)p->leo[k]);
        bool lost = (p->isr & (1u << k)) && fetch_offset < st_log_high_watermark(log);
        if (lost) {
            /* An in-sync follower never truncates below the high watermark (KIP-279 cuts only
             * what was not committed): this one lost committed records (a restart after a
             * power loss, a data dir replaced). It leaves the ISR now, not after the lag, so
             * that no election picks it before it has them again. */
            br_warn_limited("replica: %s-%d: broker %d fetches from %lld, below the high "
                            "watermark %lld: it lacks committed records; out of the ISR",
                            p->topic, (int)p->partition, (int)replica, (long long)fetch_offset,
                            (long long)st_log_high_watermark(log));
            p->caught_up_ms[k] = now - r->lag_max_ms - 1;
            p->last_fetch_ms[k] = p->caught_up_ms[k];
            kick = true;
        }
        if (fetch_offset >= end)
            p->caught_up_ms[k] = now;
        else if (fetch_offset >= p->last_fetch_end[k] && p->last_fetch_ms[k] > p->caught_up_ms[k])
            p->caught_up_ms[k] = p->last_fetch_ms[k];
        p->last_fetch_end[k] = end;
        p->last_fetch_ms[k] = now;
        p->leo[k] = fetch_offset <= end ? fetch_offset : end;
        *hw_moved = raise_hw(r, p);
        if (!(p->isr & (1u << k)) && !(p->join & (1u << k)) &&
            p->leo[k] >= st_log_high_watermark(log) && p->leo[k] >= p->epoch_start) {
            p->join |= 1u << k;
            kick = true;
        }
    }
    pthread_mutex_unlock(&p->mu);
    pthread_rwlock_unlock(&r->lock);
    if (kick && r->kick)
        r->kick(r->kick_arg);
    return err;
}

int16_t br_repl_replica_fetch(struct br_repl *r, struct st_log *log, int32_t replica,
                              int32_t cur_epoch, int64_t fetch_offset, bool *hw_moved)
{
    return replica_fetch(r, log, replica, cur_epoch, true, fetch_offset, hw_moved);
}

int16_t br_repl_replica_check(struct br_repl *r, struct st_log *log, int32_t replica,
                              int32_t cur_epoch)
{
    bool moved;
    return replica_fetch(r, log, replica, cur_epoch, false, 0, &moved);
}

void br_repl_repair_client_id(char *out, size_t cap, int32_t replica_id)
{
    snprintf(out, cap, "splicelog-repair-%d", (int)replica_id);
}

bool br_repl_is_repair_fetch(const char *client_id, int32_t len, int32_t replica_id)
{
    /* (every Fetch of a cluster broker asks: a consumer's, replica_id -1, is answered before
     * anything is formatted) */
    if (replica_id < 0)
        return false;
    char want[32];
    br_repl_repair_client_id(want, sizeof want, replica_id);
    return len == (int32_t)strlen(want) && memcmp(client_id, want, (size_t)len) == 0;
}

int16_t br_repl_check_epoch(struct br_repl *r, struct st_log *log, int32_t cur_epoch)
{
    if (cur_epoch < 0)
        return KP_ERR_NONE;
    int16_t err = KP_ERR_NONE;
    pthread_rwlock_rdlock(&r->lock);
    struct rpart *p = find(r, log);
    if (p) {
        pthread_mutex_lock(&p->mu);
        err = epoch_err(p->leader_epoch, cur_epoch);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_rwlock_unlock(&r->lock);
    return err;
}

int32_t br_repl_isr_size(struct br_repl *r, struct st_log *log)
{
    int32_t n = -ENOENT;
    pthread_rwlock_rdlock(&r->lock);
    struct rpart *p = find(r, log);
    if (p) {
        pthread_mutex_lock(&p->mu);
        n = __builtin_popcount(p->isr);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_rwlock_unlock(&r->lock);
    return n;
}

int br_repl_wait_hw(struct st_log *log, int64_t need, int64_t deadline_ms, bool (*still)(void *arg),
                    void *arg)
{
    while (st_log_high_watermark(log) < need) {
        if (!still(arg))
            return -ENOTCONN;
        if (br_now_ms() >= deadline_ms)
            return -ETIMEDOUT;
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

bool br_repl_appended(struct br_repl *r, struct st_log *log)
{
    bool moved = false;
    pthread_rwlock_rdlock(&r->lock);
    struct rpart *p = find(r, log);
    if (p) {
        pthread_mutex_lock(&p->mu);
        moved = raise_hw(r, p);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_rwlock_unlock(&r->lock);
    return moved;
}

int br_repl_count(struct br_repl *r) { return r->n; }

bool br_repl_isr_want(struct br_repl *r, int i, struct br_repl_isr *out)
{
    if (i < 0 || i >= r->n)
        return false;
    struct rpart *p = r->parts[i];
    int64_t now = br_now_ms();
    pthread_mutex_lock(&p->mu);
    int64_t end = st_log_end_offset(p->log);
    uint32_t want = p->isr | p->join;
    for (int k = 0; k < p->nrep; k++) {
        if (p->rep[k] == r->me || !(p->isr & (1u << k)))
            continue;
        if (p->leo[k] != end && now - p->caught_up_ms[k] > r->lag_max_ms)
            want &= ~(1u << k);
    }
    bool change = want != p->isr;
    if (change) {
        memcpy(out->topic, p->topic, sizeof out->topic);
        out->partition = p->partition;
        out->leader_epoch = p->leader_epoch;
        out->controller_epoch = p->controller_epoch;
        out->zver = p->zver;
        out->isr.n = 0;
        for (int k = 0; k < p->nrep; k++)
            if (want & (1u << k))
                out->isr.id[out->isr.n++] = p->rep[k];
    }
    p->join = 0; /* (asked again by its next fetch if still wanted and not written) */
    pthread_mutex_unlock(&p->mu);
    return change;
}

bool br_repl_isr_done(struct br_repl *r, int i, const struct br_repl_isr *w, int32_t zver)
{
    if (i < 0 || i >= r->n)
        return false;
    struct rpart *p = r->parts[i];
    bool moved = false;
    pthread_mutex_lock(&p->mu);
    if (p->leader_epoch == w->leader_epoch) {
        uint32_t old = p->isr;
        p->isr = bits_of(p, &w->isr);
        p->zver = zver;
        int64_t now = br_now_ms();
        for (int k = 0; k < p->nrep; k++)
            if ((p->isr & ~old) & (1u << k))
                p->caught_up_ms[k] = now; /* (joined: caught up now) */
        moved = raise_hw(r, p);
    }
    pthread_mutex_unlock(&p->mu);
    return moved;
}

void br_repl_isr_reread(struct br_repl *r, int i, int32_t leader_epoch, int32_t zver,
                        const struct br_clu_replicas *isr)
{
    if (i < 0 || i >= r->n)
        return;
    struct rpart *p = r->parts[i];
    pthread_mutex_lock(&p->mu);
    if (p->leader_epoch == leader_epoch && zver > p->zver) {
        p->zver = zver;
        int me = rep_index(p, r->me);
        p->isr = bits_of(p, isr) | (me >= 0 ? 1u << me : 0);
    }
    pthread_mutex_unlock(&p->mu);
}
