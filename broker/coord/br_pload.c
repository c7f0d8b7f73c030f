/*
 * br_pload — the partitions of an internal topic led here and their loads (see br_pload.h).
 */
#include "br_pload.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "br_clock.h"
#include "br_log.h"
#include "kp_api.h"
#include "kp_batch.h"
#include "st.h"

enum { ST_NOT_LED = 0, ST_LOADING, ST_LOADED };

#define LOAD_READ_BYTES (1 << 20) /* bytes asked of the log per read */
#define LOAD_RETRY_MS   1000      /* a failed load (or ops.loaded) is tried again after this */

struct pstate {
    uint8_t state;
    bool drop;         /* NOT_LED: ops.drop still to run on the loader thread */
    int32_t epoch;     /* LOADING / LOADED: the leader epoch */
    int64_t retry_at;  /* LOADING: a failed load waits until then (br_now_ms) */
    int64_t loaded_at; /* LOADED: ops.loaded to run again then (0: no) */
};

struct br_pload {
    const struct br_pload_ops *ops;
    void *arg; /* passed to every callback */
    struct st_store *store;
    size_t topic_len;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* under lock */
    int32_t np, cap;
    struct pstate *st; /* [cap], np in use */
    bool stop;
    int64_t loads;
    pthread_t thread;
    bool started; /* (the thread that calls br_pload_stop / _free) */
    /* the loader thread's own */
    uint8_t *buf;
    size_t buf_cap;
};

/* ---- lookups --------------------------------------------------------------------------- */

/* The partition count and the loads completed, read together (either may be NULL). */
static void counts(struct br_pload *pl, int32_t *np, int64_t *loads)
{
    pthread_mutex_lock(&pl->lock);
    if (np)
        *np = pl->np;
    if (loads)
        *loads = pl->loads;
    pthread_mutex_unlock(&pl->lock);
}

int32_t br_pload_partitions(struct br_pload *pl)
{
    int32_t np;
    counts(pl, &np, NULL);
    return np;
}

int16_t br_pload_check(struct br_pload *pl, const char *key, size_t len, int32_t *part,
                       int32_t *epoch)
{
    int16_t err = KP_ERR_NOT_COORDINATOR;
    int32_t p = -1, e = -1;
    pthread_mutex_lock(&pl->lock);
    if (pl->np > 0) {
        p = pl->ops->partition_of(key, len, pl->np);
        e = pl->st[p].epoch;
        err = pl->st[p].state == ST_LOADED    ? KP_ERR_NONE
              : pl->st[p].state == ST_LOADING ? KP_ERR_COORDINATOR_LOAD_IN_PROGRESS
                                              : KP_ERR_NOT_COORDINATOR;
    }
    pthread_mutex_unlock(&pl->lock);
    if (part)
        *part = p;
    if (epoch)
        *epoch = e;
    return err;
}

bool br_pload_loaded(struct br_pload *pl, int32_t p, int32_t epoch)
{
    pthread_mutex_lock(&pl->lock);
    bool ok = p >= 0 && p < pl->np && pl->st[p].state == ST_LOADED &&
              (epoch < 0 || pl->st[p].epoch == epoch);
    pthread_mutex_unlock(&pl->lock);
    return ok;
}

bool br_pload_loading(struct br_pload *pl)
{
    bool any = false;
    pthread_mutex_lock(&pl->lock);
    for (int32_t p = 0; p < pl->np && !any; p++)
        any = pl->st[p].state == ST_LOADING;
    pthread_mutex_unlock(&pl->lock);
    return any;
}

int64_t br_pload_loads(struct br_pload *pl)
{
    int64_t n;
    counts(pl, NULL, &n);
    return n;
}

/* ---- the view -------------------------------------------------------------------------- */

void br_pload_update(struct br_pload *pl, const int32_t *epochs, int32_t np)
{
    const struct br_pload_ops *o = pl->ops;
    if (np < 0)
        np = 0;
    pthread_mutex_lock(&pl->lock);
    int32_t old = pl->np;
    if (old > 0 && np != old && np > 0)
        br_warn("%s: %s has %d partition(s), was %d: %s hash anew", o->what, o->topic, (int)np,
                (int)old, o->keys);
    int32_t span = np > old ? np : old;
    if (np > pl->cap) {
        struct pstate *n = realloc(pl->st, (size_t)np * sizeof(*n));
        if (!n) {
            pthread_mutex_unlock(&pl->lock);
            br_err("%s: out of memory for %d partition(s)", o->what, (int)np);
            return;
        }
        memset(n + pl->cap, 0, (size_t)(np - pl->cap) * sizeof(*n));
        pl->st = n;
        pl->cap = np;
    }
    bool *lost = o->lost ? calloc(span ? (size_t)span : 1, sizeof(bool)) : NULL;
    bool any_lost = false, wake = false;
    for (int32_t p = 0; p < span; p++) {
        struct pstate *s = &pl->st[p];
        int32_t e = p < np ? epochs[p] : -1;
        if (e >= 0) {
            if (s->state == ST_NOT_LED || s->epoch != e) {
                br_info("%s: %s-%d led here (leader epoch %d): loading", o->what, o->topic, (int)p,
                        (int)e);
                *s = (struct pstate){.state = ST_LOADING, .epoch = e};
                wake = true;
            }
        } else if (s->state != ST_NOT_LED) {
            br_info("%s: %s-%d no longer led here: its %s unloaded", o->what, o->topic, (int)p,
                    o->keys);
            *s = (struct pstate){.state = ST_NOT_LED, .drop = o->drop != NULL, .epoch = -1};
            if (lost)
                lost[p] = true;
            any_lost = true;
            wake = wake || o->drop != NULL;
        }
    }
    pl->np = np;
    if (wake)
        pthread_cond_broadcast(&pl->cond);
    pthread_mutex_unlock(&pl->lock);
    if (any_lost && lost) /* (partitions past a shrunk count hash with the old count) */
        o->lost(pl->arg, lost, span);
    free(lost);
}

/* ---- loading --------------------------------------------------------------------------- */

static int pread_full(int fd, uint8_t *p, size_t len, off_t pos)
{
    while (len > 0) {
        ssize_t n = pread(fd, p, len, pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
        pos += n;
    }
    return 0;
}

/* Replays the whole batches in buf[0, len) through ops.record. 0, -EBADMSG (a batch or record
 * that does not read back) or the callback's -errno. */
static int replay(struct br_pload *pl, struct br_pload_load *ld, const uint8_t *buf, size_t len)
{
    const struct br_pload_ops *o = pl->ops;
    size_t pos = 0;
    while (pos < len) {
        struct kp_batch_hdr h;
        if (kp_batch_validate(buf + pos, len - pos, 0, &h) < 0)
            return -EBADMSG;
        const uint8_t *b = buf + pos;
        pos += kp_batch_size(&h);
        bool txn = (h.attributes & KP_BATCH_ATTR_TRANSACTIONAL) && h.producer_id >= 0;
        ld->producer_id = txn ? h.producer_id : -1;
        ld->producer_epoch = txn ? h.producer_epoch : -1;
        if (h.attributes & KP_BATCH_ATTR_CONTROL) {
            /* a marker: ends its producer's transactional records (ops.control), else no state */
            int type = kp_batch_control_type(b, kp_batch_size(&h));
            if (!o->control || !txn || (type != KP_CONTROL_COMMIT && type != KP_CONTROL_ABORT))
                continue;
            int crc = o->control(pl->arg, ld, type == KP_CONTROL_COMMIT);
            if (crc < 0)
                return crc;
            continue;
        }
        if (h.attributes & KP_BATCH_ATTR_CODEC_MASK) {
            br_warn_limited("%s: %s-%d: a compressed batch at offset %lld skipped (this broker "
                            "writes none)",
                            o->what, o->topic, (int)ld->p, (long long)h.base_offset);
            continue;
        }
        struct kp_record_iter it;
        struct kp_record rec;
        int rc;
        kp_record_iter_init(&it, b, &h);
        while ((rc = kp_record_next(&it, &rec)) == 1) {
            if (rec.key.len < 0)
                continue;
            int crc = o->record(pl->arg, ld, rec.key.ptr, (size_t)rec.key.len,
                                rec.value.len < 0 ? NULL : rec.value.ptr,
                                rec.value.len < 0 ? 0 : (size_t)rec.value.len);
            if (crc < 0)
                return crc;
        }
        if (rc < 0)
            return -EBADMSG;
    }
    if (o->flush)
        o->flush(pl->arg, ld);
    return 0;
}

/* Loads partition p (np partitions). 0 or -errno. */
static int load(struct br_pload *pl, int32_t p, int32_t np)
{
    const struct br_pload_ops *o = pl->ops;
    struct br_pload_load ld = {.p = p, .np = np, .producer_id = -1, .producer_epoch = -1};
    int rc = o->begin(pl->arg, &ld);
    if (rc < 0)
        return rc;
    rc = 0;
    struct st_log *log = st_log_get(pl->store, o->topic, pl->topic_len, p);
    if (!log)
        return 0; /* no log here: nothing written */
    int64_t off = st_log_start_offset(log), end = st_log_end_offset(log);
    while (rc == 0 && off < end) {
        struct st_read rd;
        rc = st_log_read(log, off, LOAD_READ_BYTES, &rd);
        if (rc < 0)
            break;
        if (rd.n == 0) {
            st_read_release(&rd);
            break;
        }
        if (rd.total > pl->buf_cap) {
            uint8_t *nb = realloc(pl->buf, rd.total);
            if (!nb) {
                st_read_release(&rd);
                rc = -ENOMEM;
                break;
            }
            pl->buf = nb;
            pl->buf_cap = rd.total;
        }
        size_t at = 0;
        for (int i = 0; i < rd.n && rc == 0; i++) {
            rc = pread_full(rd.r[i].fd, pl->buf + at, rd.r[i].len, rd.r[i].pos);
            at += rd.r[i].len;
        }
        if (rc == 0)
            rc = replay(pl, &ld, pl->buf, at);
        off = rd.end_offset > off ? rd.end_offset : end;
        st_read_release(&rd);
    }
    br_info("%s: %s-%d loaded: %lld %s replayed up to offset %lld%s%s", o->what, o->topic, (int)p,
            (long long)ld.applied, o->unit, (long long)end, rc ? ": " : "",
            rc ? strerror(-rc) : "");
    st_log_put(log);
    return rc;
}

/* ops.loaded for p, LOADED at epoch: on failure again LOAD_RETRY_MS later, as long as p stays
 * LOADED at epoch. Called and returns with the lock held. */
static void run_loaded(struct br_pload *pl, int32_t p, int32_t epoch)
{
    const struct br_pload_ops *o = pl->ops;
    int32_t np = pl->np;
    pthread_mutex_unlock(&pl->lock);
    int rc = o->loaded(pl->arg, p, np);
    pthread_mutex_lock(&pl->lock);
    if (rc < 0 && p < pl->np && pl->st[p].state == ST_LOADED && pl->st[p].epoch == epoch)
        pl->st[p].loaded_at = br_now_ms() + LOAD_RETRY_MS;
}

/* Waits for a signal, or until next (br_now_ms; INT64_MAX: none). With the lock held. */
static void wait_until(struct br_pload *pl, int64_t next, int64_t now)
{
    if (next == INT64_MAX) {
        pthread_cond_wait(&pl->cond, &pl->lock);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = next - now;
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000)
        ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_cond_timedwait(&pl->cond, &pl->lock, &ts);
}

static void *loader_main(void *arg)
{
    struct br_pload *pl = arg;
    const struct br_pload_ops *o = pl->ops;
    pthread_setname_np(pthread_self(), o->thread);
    br_log_set_thread(o->log_as);
    if (o->thread_start)
        o->thread_start(pl->arg);
    pthread_mutex_lock(&pl->lock);
    while (!pl->stop) {
        int64_t now = br_now_ms(), next = INT64_MAX;
        int32_t pick = -1, drop = -1, again = -1;
        for (int32_t p = 0; p < pl->np && pick < 0 && drop < 0 && again < 0; p++) {
            struct pstate *s = &pl->st[p];
            if (s->state == ST_NOT_LED && s->drop) {
                drop = p;
                continue;
            }
            if (s->state == ST_LOADED && s->loaded_at > 0) {
                if (s->loaded_at <= now)
                    again = p;
                else
                    next = next < s->loaded_at ? next : s->loaded_at;
                continue;
            }
            if (s->state != ST_LOADING)
                continue;
            if (s->retry_at > now) {
                next = next < s->retry_at ? next : s->retry_at;
                continue;
            }
            pick = p;
        }
        if (drop >= 0) { /* leadership lost: its keys go */
            pl->st[drop].drop = false;
            int32_t np = pl->np;
            pthread_mutex_unlock(&pl->lock);
            o->drop(pl->arg, drop, np);
            pthread_mutex_lock(&pl->lock);
            continue;
        }
        if (again >= 0) { /* ops.loaded failed: again */
            pl->st[again].loaded_at = 0;
            run_loaded(pl, again, pl->st[again].epoch);
            continue;
        }
        if (pick < 0) {
            wait_until(pl, next, now);
            continue;
        }
        int32_t epoch = pl->st[pick].epoch, np = pl->np;
        pthread_mutex_unlock(&pl->lock);
        int rc = load(pl, pick, np);
        pthread_mutex_lock(&pl->lock);
        struct pstate *s = pick < pl->np ? &pl->st[pick] : NULL;
        if (!s || s->state != ST_LOADING || s->epoch != epoch || pl->np != np)
            continue; /* the view moved meanwhile: loaded again, or not ours */
        if (rc < 0) {
            br_err("%s: %s-%d: load failed (%s), trying again", o->what, o->topic, (int)pick,
                   strerror(-rc));
            s->retry_at = br_now_ms() + LOAD_RETRY_MS;
            continue;
        }
        s->state = ST_LOADED;
        pl->loads++;
        if (o->loaded)
            run_loaded(pl, pick, epoch);
    }
    pthread_mutex_unlock(&pl->lock);
    return NULL;
}

/* ---- life ------------------------------------------------------------------------------ */

int br_pload_new(struct st_store *store, const struct br_pload_ops *ops, void *arg,
                 struct br_pload **out)
{
    *out = NULL;
    struct br_pload *pl = calloc(1, sizeof(*pl));
    if (!pl)
        return -ENOMEM;
    pl->ops = ops;
    pl->arg = arg;
    pl->store = store;
    pl->topic_len = strlen(ops->topic);
    pthread_mutex_init(&pl->lock, NULL);
    pthread_cond_init(&pl->cond, NULL);
    if (pthread_create(&pl->thread, NULL, loader_main, pl) != 0) {
        pthread_cond_destroy(&pl->cond);
        pthread_mutex_destroy(&pl->lock);
        free(pl);
        return -EAGAIN;
    }
    pl->started = true;
    *out = pl;
    return 0;
}

void br_pload_stop(struct br_pload *pl)
{
    if (!pl)
        return;
    pthread_mutex_lock(&pl->lock);
    pl->stop = true;
    pthread_cond_broadcast(&pl->cond);
    pthread_mutex_unlock(&pl->lock);
    if (pl->started)
        pthread_join(pl->thread, NULL);
    pl->started = false;
}

void br_pload_free(struct br_pload *pl)
{
    if (!pl)
        return;
    br_pload_stop(pl);
    pthread_cond_destroy(&pl->cond);
    pthread_mutex_destroy(&pl->lock);
    free(pl->st);
    free(pl->buf);
    free(pl);
}
