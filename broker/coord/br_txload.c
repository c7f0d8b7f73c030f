/*
 * br_txload — the transactional ids this broker coordinates in a cluster and the loads of their
 * __transaction_state partitions (see br_txload.h). Follows br_coload.c (groups' loads).
 */
#include "br_txload.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "br_clock.h"
#include "br_log.h"
#include "br_txn.h"
#include "br_txtopic.h"
#include "kp_api.h"
#include "kp_batch.h"
#include "st.h"

enum { ST_NOT_LED = 0, ST_LOADING, ST_LOADED };

#define LOAD_READ_BYTES (1 << 20) /* bytes asked of the log per read */
#define LOAD_RETRY_MS   1000      /* a failed load is tried again after this */

struct pstate {
    uint8_t state;
    bool drop;          /* NOT_LED: its ids are still to be dropped by the loader */
    int32_t epoch;      /* LOADING / LOADED: the leader epoch */
    int64_t retry_at;   /* LOADING: a failed load waits until then (br_now_ms) */
    int64_t recover_at; /* LOADED: prepared transactions to finish again then (0: none) */
};

struct br_txload {
    struct br_txload_conf conf;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* under lock */
    int32_t np, cap;
    struct pstate *st; /* [cap], np in use */
    bool stop;
    int64_t loads;
    pthread_t thread;
    bool started;
    /* the loader thread's own */
    uint8_t *buf;
    size_t buf_cap;
};

/* ---- lookups --------------------------------------------------------------------------- */

int32_t br_txload_partitions(struct br_txload *tl)
{
    pthread_mutex_lock(&tl->lock);
    int32_t np = tl->np;
    pthread_mutex_unlock(&tl->lock);
    return np;
}

int16_t br_txload_check(struct br_txload *tl, const char *id, size_t len, int32_t *part,
                        int32_t *epoch)
{
    int16_t err = KP_ERR_NOT_COORDINATOR;
    int32_t p = -1, e = -1;
    pthread_mutex_lock(&tl->lock);
    if (tl->np > 0) {
        p = br_txtopic_partition_of(id, len, tl->np);
        e = tl->st[p].epoch;
        err = tl->st[p].state == ST_LOADED    ? KP_ERR_NONE
              : tl->st[p].state == ST_LOADING ? KP_ERR_COORDINATOR_LOAD_IN_PROGRESS
                                              : KP_ERR_NOT_COORDINATOR;
    }
    pthread_mutex_unlock(&tl->lock);
    if (part)
        *part = p;
    if (epoch)
        *epoch = e;
    return err;
}

bool br_txload_loaded(struct br_txload *tl, int32_t p, int32_t epoch)
{
    pthread_mutex_lock(&tl->lock);
    bool ok = p >= 0 && p < tl->np && tl->st[p].state == ST_LOADED &&
              (epoch < 0 || tl->st[p].epoch == epoch);
    pthread_mutex_unlock(&tl->lock);
    return ok;
}

int64_t br_txload_loads(struct br_txload *tl)
{
    pthread_mutex_lock(&tl->lock);
    int64_t n = tl->loads;
    pthread_mutex_unlock(&tl->lock);
    return n;
}

/* ---- the view -------------------------------------------------------------------------- */

void br_txload_update(struct br_txload *tl, const int32_t *epochs, int32_t np)
{
    if (np < 0)
        np = 0;
    pthread_mutex_lock(&tl->lock);
    if (tl->np > 0 && np != tl->np && np > 0)
        br_warn("transaction coordinator: %s has %d partition(s), was %d: ids hash anew",
                BR_TXTOPIC_NAME, (int)np, (int)tl->np);
    int32_t span = np > tl->np ? np : tl->np;
    if (np > tl->cap) {
        struct pstate *n = realloc(tl->st, (size_t)np * sizeof(*n));
        if (!n) {
            pthread_mutex_unlock(&tl->lock);
            br_err("transaction coordinator: out of memory for %d partition(s)", (int)np);
            return;
        }
        memset(n + tl->cap, 0, (size_t)(np - tl->cap) * sizeof(*n));
        tl->st = n;
        tl->cap = np;
    }
    bool wake = false;
    for (int32_t p = 0; p < span; p++) {
        struct pstate *s = &tl->st[p];
        int32_t e = p < np ? epochs[p] : -1;
        if (e >= 0) {
            if (s->state == ST_NOT_LED || s->epoch != e) {
                br_info("transaction coordinator: %s-%d led here (leader epoch %d): loading",
                        BR_TXTOPIC_NAME, (int)p, (int)e);
                *s = (struct pstate){.state = ST_LOADING, .epoch = e};
                wake = true;
            }
        } else if (s->state != ST_NOT_LED) {
            br_info("transaction coordinator: %s-%d no longer led here: its ids unloaded",
                    BR_TXTOPIC_NAME, (int)p);
            *s = (struct pstate){.state = ST_NOT_LED, .drop = true, .epoch = -1};
            wake = true;
        }
    }
    tl->np = np;
    if (wake)
        pthread_cond_broadcast(&tl->cond);
    pthread_mutex_unlock(&tl->lock);
}

/* ---- loading --------------------------------------------------------------------------- */

struct part_match {
    int32_t p, np;
};

static bool in_partition(void *arg, const char *id, size_t len)
{
    const struct part_match *m = arg;
    return br_txtopic_partition_of(id, len, m->np) == m->p;
}

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

/* Replays the whole batches in buf[0, len) of partition m->p. 0, -EBADMSG or -ENOMEM. */
static int replay(struct br_txload *tl, const uint8_t *buf, size_t len, const struct part_match *m,
                  int64_t *applied)
{
    size_t pos = 0;
    while (pos < len) {
        struct kp_batch_hdr h;
        if (kp_batch_validate(buf + pos, len - pos, 0, &h) < 0)
            return -EBADMSG;
        const uint8_t *b = buf + pos;
        pos += kp_batch_size(&h);
        if (h.attributes & 0x20)
            continue; /* a control batch: no state */
        if (h.attributes & 0x07) {
            br_warn_limited("transaction coordinator: %s-%d: a compressed batch at offset %lld "
                            "skipped (this broker writes none)",
                            BR_TXTOPIC_NAME, (int)m->p, (long long)h.base_offset);
            continue;
        }
        struct kp_record_iter it;
        struct kp_record rec;
        int rc;
        kp_record_iter_init(&it, b, &h);
        while ((rc = kp_record_next(&it, &rec)) == 1) {
            if (rec.key.len < 0)
                continue;
            struct br_txtopic_rec r;
            rc = br_txtopic_parse(rec.key.ptr, (size_t)rec.key.len,
                                  rec.value.len < 0 ? NULL : rec.value.ptr,
                                  rec.value.len < 0 ? 0 : (size_t)rec.value.len, &r);
            if (rc == -ENOMEM)
                return rc;
            if (rc < 0)
                continue; /* not ours to read (Kafka skips unknown keys too) */
            if (in_partition((void *)m, r.r.id, r.r.id_len)) {
                rc = br_txn_load_rec(tl->conf.txns, &r.r, r.tombstone);
                ++*applied;
            } else {
                rc = 0;
            }
            br_txtopic_rec_free(&r);
            if (rc == -ENOMEM)
                return rc;
        }
        if (rc < 0)
            return -EBADMSG;
    }
    return 0;
}

/* Loads partition p (np partitions) into the coordinator. 0 or -errno. */
static int load(struct br_txload *tl, int32_t p, int32_t np)
{
    struct part_match m = {p, np};
    int rc = br_txn_drop(tl->conf.txns, in_partition, &m);
    if (rc < 0)
        return rc;
    rc = 0;
    struct st_log *log = st_log_get(tl->conf.store, BR_TXTOPIC_NAME, BR_TXTOPIC_LEN, p);
    if (!log)
        return 0; /* no log here: nothing written */
    int64_t applied = 0;
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
        if (rd.total > tl->buf_cap) {
            uint8_t *nb = realloc(tl->buf, rd.total);
            if (!nb) {
                st_read_release(&rd);
                rc = -ENOMEM;
                break;
            }
            tl->buf = nb;
            tl->buf_cap = rd.total;
        }
        size_t at = 0;
        for (int i = 0; i < rd.n && rc == 0; i++) {
            rc = pread_full(rd.r[i].fd, tl->buf + at, rd.r[i].len, rd.r[i].pos);
            at += rd.r[i].len;
        }
        if (rc == 0)
            rc = replay(tl, tl->buf, at, &m, &applied);
        off = rd.end_offset > off ? rd.end_offset : end;
        st_read_release(&rd);
    }
    br_info("transaction coordinator: %s-%d loaded: %lld record(s) replayed up to offset %lld%s%s",
            BR_TXTOPIC_NAME, (int)p, (long long)applied, (long long)end, rc ? ": " : "",
            rc ? strerror(-rc) : "");
    st_log_put(log);
    return rc;
}

/* Finishes the transactions of partition p (loaded at epoch) found prepared; one that cannot be
 * finished yet (a marker's partition not led here yet) is tried again LOAD_RETRY_MS later, as
 * long as p stays loaded at epoch (the coordinator's timer retries it too). */
static void recover(struct br_txload *tl, int32_t p, int32_t epoch)
{
    pthread_mutex_lock(&tl->lock);
    struct part_match m = {p, tl->np};
    pthread_mutex_unlock(&tl->lock);
    int rc = br_txn_recover_matching(tl->conf.txns, in_partition, &m);
    if (rc > 0)
        br_info("transaction coordinator: %s-%d: %d prepared transaction(s) finished",
                BR_TXTOPIC_NAME, (int)p, rc);
    if (rc >= 0)
        return;
    br_warn_limited("transaction coordinator: %s-%d: a prepared transaction could not be "
                    "finished yet (%s): tried again",
                    BR_TXTOPIC_NAME, (int)p, strerror(-rc));
    pthread_mutex_lock(&tl->lock);
    if (p < tl->np && tl->st[p].state == ST_LOADED && tl->st[p].epoch == epoch)
        tl->st[p].recover_at = br_now_ms() + LOAD_RETRY_MS;
    pthread_mutex_unlock(&tl->lock);
}

static void wait_until(struct br_txload *tl, int64_t next, int64_t now)
{
    if (next == INT64_MAX) {
        pthread_cond_wait(&tl->cond, &tl->lock);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = next - now;
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000)
        ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_cond_timedwait(&tl->cond, &tl->lock, &ts);
}

static void *loader_main(void *arg)
{
    struct br_txload *tl = arg;
    pthread_setname_np(pthread_self(), "sl-txload");
    br_log_set_thread("txload");
    pthread_mutex_lock(&tl->lock);
    while (!tl->stop) {
        int64_t now = br_now_ms(), next = INT64_MAX;
        int32_t pick = -1, drop = -1, again = -1;
        for (int32_t p = 0; p < tl->np && pick < 0 && drop < 0 && again < 0; p++) {
            if (tl->st[p].state == ST_NOT_LED && tl->st[p].drop) {
                drop = p;
                continue;
            }
            if (tl->st[p].state == ST_LOADED && tl->st[p].recover_at > 0) {
                if (tl->st[p].recover_at <= now)
                    again = p;
                else
                    next = next < tl->st[p].recover_at ? next : tl->st[p].recover_at;
                continue;
            }
            if (tl->st[p].state != ST_LOADING)
                continue;
            if (tl->st[p].retry_at > now) {
                next = next < tl->st[p].retry_at ? next : tl->st[p].retry_at;
                continue;
            }
            pick = p;
        }
        if (drop >= 0) { /* leadership lost: its ids go */
            tl->st[drop].drop = false;
            struct part_match m = {drop, tl->np};
            pthread_mutex_unlock(&tl->lock);
            int n = br_txn_drop(tl->conf.txns, in_partition, &m);
            if (n > 0)
                br_info("transaction coordinator: %d transactional id(s) of %s-%d unloaded", n,
                        BR_TXTOPIC_NAME, (int)drop);
            pthread_mutex_lock(&tl->lock);
            continue;
        }
        if (again >= 0) { /* a prepared transaction not finished at the load: again */
            tl->st[again].recover_at = 0;
            int32_t epoch = tl->st[again].epoch;
            pthread_mutex_unlock(&tl->lock);
            recover(tl, again, epoch);
            pthread_mutex_lock(&tl->lock);
            continue;
        }
        if (pick < 0) {
            wait_until(tl, next, now);
            continue;
        }
        int32_t epoch = tl->st[pick].epoch, np = tl->np;
        pthread_mutex_unlock(&tl->lock);
        int rc = load(tl, pick, np);
        pthread_mutex_lock(&tl->lock);
        struct pstate *s = pick < tl->np ? &tl->st[pick] : NULL;
        if (!s || s->state != ST_LOADING || s->epoch != epoch || tl->np != np)
            continue; /* the view moved meanwhile: loaded again, or not ours */
        if (rc < 0) {
            br_err("transaction coordinator: %s-%d: load failed (%s), trying again",
                   BR_TXTOPIC_NAME, (int)pick, strerror(-rc));
            s->retry_at = br_now_ms() + LOAD_RETRY_MS;
            continue;
        }
        s->state = ST_LOADED;
        tl->loads++;
        pthread_mutex_unlock(&tl->lock);
        recover(tl, pick, epoch); /* served from here; what the log left prepared, finished */
        pthread_mutex_lock(&tl->lock);
    }
    pthread_mutex_unlock(&tl->lock);
    return NULL;
}

/* ---- life ------------------------------------------------------------------------------ */

int br_txload_new(const struct br_txload_conf *conf, struct br_txload **out)
{
    *out = NULL;
    struct br_txload *tl = calloc(1, sizeof(*tl));
    if (!tl)
        return -ENOMEM;
    tl->conf = *conf;
    pthread_mutex_init(&tl->lock, NULL);
    pthread_cond_init(&tl->cond, NULL);
    if (pthread_create(&tl->thread, NULL, loader_main, tl) != 0) {
        pthread_cond_destroy(&tl->cond);
        pthread_mutex_destroy(&tl->lock);
        free(tl);
        return -EAGAIN;
    }
    tl->started = true;
    *out = tl;
    return 0;
}

void br_txload_stop(struct br_txload *tl)
{
    if (!tl)
        return;
    pthread_mutex_lock(&tl->lock);
    tl->stop = true;
    pthread_cond_broadcast(&tl->cond);
    pthread_mutex_unlock(&tl->lock);
    if (tl->started)
        pthread_join(tl->thread, NULL);
    tl->started = false;
}

void br_txload_free(struct br_txload *tl)
{
    if (!tl)
        return;
    br_txload_stop(tl);
    pthread_cond_destroy(&tl->cond);
    pthread_mutex_destroy(&tl->lock);
    free(tl->st);
    free(tl->buf);
    free(tl);
}
