/*
 * br_coload — the groups this broker coordinates in a cluster and the loads of their
 * __consumer_offsets partitions (see br_coload.h).
 */
#include "br_coload.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "br_clock.h"
#include "br_cotopic.h"
#include "br_group.h"
#include "br_log.h"
#include "kp_api.h"
#include "kp_batch.h"
#include "st.h"
#include "st_offsets.h"

enum { ST_NOT_LED = 0, ST_LOADING, ST_LOADED };

#define LOAD_READ_BYTES (1 << 20) /* bytes asked of the log per read */
#define LOAD_RETRY_MS   1000      /* a failed load is tried again after this */
#define ACC_MAX         256       /* commits of one group replayed with one write */

struct pstate {
    uint8_t state;
    int32_t epoch;    /* LOADING / LOADED: the leader epoch */
    int64_t retry_at; /* LOADING: a failed load waits until then (br_now_ms) */
};

struct br_coload {
    struct br_coload_conf conf;
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

static int32_t part_of(const char *group, size_t len, int32_t np)
{
    return br_cotopic_partition_of(group, len, np);
}

/* ---- lookups --------------------------------------------------------------------------- */

int32_t br_coload_partitions(struct br_coload *cl)
{
    pthread_mutex_lock(&cl->lock);
    int32_t np = cl->np;
    pthread_mutex_unlock(&cl->lock);
    return np;
}

int16_t br_coload_check(struct br_coload *cl, const char *group, size_t len, int32_t *part,
                        int32_t *epoch)
{
    int16_t err = KP_ERR_NOT_COORDINATOR;
    int32_t p = -1, e = -1;
    pthread_mutex_lock(&cl->lock);
    if (cl->np > 0) {
        p = part_of(group, len, cl->np);
        e = cl->st[p].epoch;
        err = cl->st[p].state == ST_LOADED    ? KP_ERR_NONE
              : cl->st[p].state == ST_LOADING ? KP_ERR_COORDINATOR_LOAD_IN_PROGRESS
                                              : KP_ERR_NOT_COORDINATOR;
    }
    pthread_mutex_unlock(&cl->lock);
    if (part)
        *part = p;
    if (epoch)
        *epoch = e;
    return err;
}

bool br_coload_loaded(struct br_coload *cl, int32_t p, int32_t epoch)
{
    pthread_mutex_lock(&cl->lock);
    bool ok = p >= 0 && p < cl->np && cl->st[p].state == ST_LOADED &&
              (epoch < 0 || cl->st[p].epoch == epoch);
    pthread_mutex_unlock(&cl->lock);
    return ok;
}

bool br_coload_loading(struct br_coload *cl)
{
    bool any = false;
    pthread_mutex_lock(&cl->lock);
    for (int32_t p = 0; p < cl->np && !any; p++)
        any = cl->st[p].state == ST_LOADING;
    pthread_mutex_unlock(&cl->lock);
    return any;
}

int64_t br_coload_loads(struct br_coload *cl)
{
    pthread_mutex_lock(&cl->lock);
    int64_t n = cl->loads;
    pthread_mutex_unlock(&cl->lock);
    return n;
}

/* ---- the view -------------------------------------------------------------------------- */

struct lost {
    const bool *lost; /* [np] */
    int32_t np;
};

static bool lost_match(void *arg, const char *id, size_t len)
{
    const struct lost *l = arg;
    return l->np > 0 && l->lost[part_of(id, len, l->np)];
}

void br_coload_update(struct br_coload *cl, const int32_t *epochs, int32_t np)
{
    if (np < 0)
        np = 0;
    pthread_mutex_lock(&cl->lock);
    int32_t old = cl->np;
    int32_t span = np > old ? np : old;
    if (np > cl->cap) {
        struct pstate *n = realloc(cl->st, (size_t)np * sizeof(*n));
        if (!n) {
            pthread_mutex_unlock(&cl->lock);
            br_err("group coordinator: out of memory for %d partition(s)", (int)np);
            return;
        }
        memset(n + cl->cap, 0, (size_t)(np - cl->cap) * sizeof(*n));
        cl->st = n;
        cl->cap = np;
    }
    bool *lost = calloc(span ? (size_t)span : 1, sizeof(bool));
    bool any_lost = false, wake = false;
    for (int32_t p = 0; p < span; p++) {
        struct pstate *s = &cl->st[p];
        int32_t e = p < np ? epochs[p] : -1;
        if (e >= 0) {
            if (s->state == ST_NOT_LED || s->epoch != e) {
                br_info("group coordinator: %s-%d led here (leader epoch %d): loading",
                        BR_COTOPIC_NAME, (int)p, (int)e);
                *s = (struct pstate){.state = ST_LOADING, .epoch = e};
                wake = true;
            }
        } else if (s->state != ST_NOT_LED) {
            br_info("group coordinator: %s-%d no longer led here: its groups unloaded",
                    BR_COTOPIC_NAME, (int)p);
            *s = (struct pstate){.state = ST_NOT_LED, .epoch = -1};
            if (lost)
                lost[p] = true;
            any_lost = true;
        }
    }
    cl->np = np;
    if (wake)
        pthread_cond_broadcast(&cl->cond);
    pthread_mutex_unlock(&cl->lock);
    if (any_lost && lost && cl->conf.groups) {
        /* (partitions past a shrunk count hash with the old count) */
        struct lost l = {lost, np > 0 ? np : old};
        if (np > 0 && old > np)
            l.np = old;
        int n = br_groups_unload(cl->conf.groups, lost_match, &l);
        if (n > 0)
            br_info("group coordinator: %d group(s) unloaded", n);
    }
    free(lost);
}

/* ---- loading --------------------------------------------------------------------------- */

struct acc {
    struct br_coload *cl;
    int32_t np; /* the partition count the load hashes with */
    const char *group;
    size_t group_len;
    int64_t ms;
    int n;
    struct st_offset_commit items[ACC_MAX];
    int results[ACC_MAX];
    int64_t applied;
};

static void acc_flush(struct acc *a)
{
    if (a->n == 0)
        return;
    int rc = st_offsets_commit_batch(a->cl->conf.offsets, a->group, a->group_len, a->items, a->n,
                                     a->ms, a->results);
    if (rc < 0)
        br_err_limited("group coordinator: cannot load the offsets of group %.*s: %s",
                       (int)(a->group_len > 200 ? 200 : a->group_len), a->group, strerror(-rc));
    a->applied += a->n;
    a->n = 0;
}

static void apply(struct acc *a, const struct br_cotopic_rec *r)
{
    struct st_offsets *o = a->cl->conf.offsets;
    if (r->kind != BR_COTOPIC_REC_OFFSET ||
        (a->n > 0 && (a->group_len != r->group_len || a->ms != r->commit_ms ||
                      memcmp(a->group, r->group, r->group_len) != 0)))
        acc_flush(a);
    switch (r->kind) {
    case BR_COTOPIC_REC_OFFSET:
        if (a->n == ACC_MAX)
            acc_flush(a);
        a->group = r->group;
        a->group_len = r->group_len;
        a->ms = r->commit_ms;
        a->items[a->n++] = (struct st_offset_commit){
            .topic = r->topic,
            .topic_len = r->topic_len,
            .partition = r->partition,
            .offset = r->offset,
            .metadata = r->metadata_len ? r->metadata : NULL,
            .metadata_len = r->metadata_len,
        };
        break;
    case BR_COTOPIC_REC_OFFSET_GONE:
        (void)st_offsets_delete(o, r->group, r->group_len, r->topic, r->topic_len, r->partition);
        a->applied++;
        break;
    case BR_COTOPIC_REC_GROUP_GONE:
        (void)st_offsets_delete_group(o, r->group, r->group_len);
        a->applied++;
        break;
    case BR_COTOPIC_REC_GROUP:
        break; /* members are not restored (br_coload.h) */
    }
}

/* The groups of one partition held in the store, to drop before replaying. */
struct names {
    int32_t p, np;
    char **v;
    size_t *len;
    int n, cap;
    bool oom;
};

static void collect(void *arg, const char *group, size_t group_len, const struct st_offset_entry *e)
{
    (void)e;
    struct names *s = arg;
    if (s->oom || part_of(group, group_len, s->np) != s->p)
        return;
    if (s->n > 0 && s->len[s->n - 1] == group_len && memcmp(s->v[s->n - 1], group, group_len) == 0)
        return; /* (a group's entries come in a row) */
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->v, (size_t)nc * sizeof(*v));
        if (v)
            s->v = v;
        size_t *l = v ? realloc(s->len, (size_t)nc * sizeof(*l)) : NULL;
        if (l)
            s->len = l;
        if (!v || !l) {
            s->oom = true;
            return;
        }
        s->cap = nc;
    }
    char *c = malloc(group_len + 1);
    if (!c) {
        s->oom = true;
        return;
    }
    memcpy(c, group, group_len);
    c[group_len] = 0;
    s->v[s->n] = c;
    s->len[s->n++] = group_len;
}

/* Drops the store's entries of every group of partition p. 0 or -ENOMEM. */
static int drop_partition(struct br_coload *cl, int32_t p, int32_t np)
{
    struct names s = {.p = p, .np = np};
    st_offsets_foreach_all(cl->conf.offsets, -1, collect, &s);
    for (int i = 0; i < s.n; i++) {
        if (!s.oom)
            (void)st_offsets_delete_group(cl->conf.offsets, s.v[i], s.len[i]);
        free(s.v[i]);
    }
    free(s.v);
    free(s.len);
    return s.oom ? -ENOMEM : 0;
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

/* Replays the whole batches in buf[0, len) into a. 0 or -EBADMSG. */
static int replay(struct acc *a, const uint8_t *buf, size_t len, int32_t p)
{
    size_t pos = 0;
    while (pos < len) {
        struct kp_batch_hdr h;
        int rc = kp_batch_validate(buf + pos, len - pos, 0, &h);
        if (rc < 0)
            return -EBADMSG;
        const uint8_t *b = buf + pos;
        pos += kp_batch_size(&h);
        if (h.attributes & 0x20)
            continue; /* a control batch (a marker): no offsets */
        if (h.attributes & 0x07) {
            br_warn_limited("group coordinator: %s-%d: a compressed batch at offset %lld skipped "
                            "(this broker writes none)",
                            BR_COTOPIC_NAME, (int)p, (long long)h.base_offset);
            continue;
        }
        struct kp_record_iter it;
        struct kp_record rec;
        kp_record_iter_init(&it, b, &h);
        while ((rc = kp_record_next(&it, &rec)) == 1) {
            if (rec.key.len < 0)
                continue;
            struct br_cotopic_rec r;
            if (br_cotopic_parse(rec.key.ptr, (size_t)rec.key.len,
                                 rec.value.len < 0 ? NULL : rec.value.ptr,
                                 rec.value.len < 0 ? 0 : (size_t)rec.value.len, &r) < 0)
                continue; /* not ours to read (logged nowhere: Kafka skips unknown keys too) */
            if (part_of(r.group, r.group_len, a->np) != p)
                continue;
            apply(a, &r);
        }
        if (rc < 0)
            return -EBADMSG;
    }
    acc_flush(a);
    return 0;
}

/* Loads partition p (np partitions). 0 or -errno. */
static int load(struct br_coload *cl, int32_t p, int32_t np)
{
    int rc = drop_partition(cl, p, np);
    if (rc < 0)
        return rc;
    struct st_log *log =
        st_log_get(cl->conf.store, BR_COTOPIC_NAME, sizeof(BR_COTOPIC_NAME) - 1, p);
    if (!log)
        return 0; /* no log here: nothing committed */
    struct acc *a = calloc(1, sizeof(*a));
    if (!a) {
        st_log_put(log);
        return -ENOMEM;
    }
    a->cl = cl;
    a->np = np;
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
        if (rd.total > cl->buf_cap) {
            uint8_t *nb = realloc(cl->buf, rd.total);
            if (!nb) {
                st_read_release(&rd);
                rc = -ENOMEM;
                break;
            }
            cl->buf = nb;
            cl->buf_cap = rd.total;
        }
        size_t at = 0;
        for (int i = 0; i < rd.n && rc == 0; i++) {
            rc = pread_full(rd.r[i].fd, cl->buf + at, rd.r[i].len, rd.r[i].pos);
            at += rd.r[i].len;
        }
        if (rc == 0)
            rc = replay(a, cl->buf, at, p);
        off = rd.end_offset > off ? rd.end_offset : end;
        st_read_release(&rd);
    }
    br_info("group coordinator: %s-%d loaded: %lld change(s) replayed up to offset %lld%s%s",
            BR_COTOPIC_NAME, (int)p, (long long)a->applied, (long long)end, rc ? ": " : "",
            rc ? strerror(-rc) : "");
    free(a);
    st_log_put(log);
    return rc;
}

static void *loader_main(void *arg)
{
    struct br_coload *cl = arg;
    pthread_setname_np(pthread_self(), "sl-coload");
    br_log_set_thread("coload");
    br_cotopic_quiet(true); /* nothing this thread writes into the store is mirrored */
    pthread_mutex_lock(&cl->lock);
    while (!cl->stop) {
        int64_t now = br_now_ms(), next = INT64_MAX;
        int32_t pick = -1;
        for (int32_t p = 0; p < cl->np && pick < 0; p++) {
            if (cl->st[p].state != ST_LOADING)
                continue;
            if (cl->st[p].retry_at > now) {
                next = next < cl->st[p].retry_at ? next : cl->st[p].retry_at;
                continue;
            }
            pick = p;
        }
        if (pick < 0) {
            if (next == INT64_MAX) {
                pthread_cond_wait(&cl->cond, &cl->lock);
            } else {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                int64_t ms = next - now;
                ts.tv_sec += ms / 1000;
                ts.tv_nsec += (ms % 1000) * 1000000;
                if (ts.tv_nsec >= 1000000000)
                    ts.tv_sec++, ts.tv_nsec -= 1000000000;
                pthread_cond_timedwait(&cl->cond, &cl->lock, &ts);
            }
            continue;
        }
        int32_t epoch = cl->st[pick].epoch, np = cl->np;
        pthread_mutex_unlock(&cl->lock);
        int rc = load(cl, pick, np);
        pthread_mutex_lock(&cl->lock);
        struct pstate *s = pick < cl->np ? &cl->st[pick] : NULL;
        if (!s || s->state != ST_LOADING || s->epoch != epoch || cl->np != np)
            continue; /* the view moved meanwhile: loaded again, or not ours */
        if (rc < 0) {
            br_err("group coordinator: %s-%d: load failed (%s), trying again", BR_COTOPIC_NAME,
                   (int)pick, strerror(-rc));
            s->retry_at = br_now_ms() + LOAD_RETRY_MS;
            continue;
        }
        s->state = ST_LOADED;
        cl->loads++;
    }
    pthread_mutex_unlock(&cl->lock);
    return NULL;
}

/* ---- life ------------------------------------------------------------------------------ */

int br_coload_new(const struct br_coload_conf *conf, struct br_coload **out)
{
    *out = NULL;
    struct br_coload *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return -ENOMEM;
    cl->conf = *conf;
    pthread_mutex_init(&cl->lock, NULL);
    pthread_cond_init(&cl->cond, NULL);
    if (pthread_create(&cl->thread, NULL, loader_main, cl) != 0) {
        pthread_cond_destroy(&cl->cond);
        pthread_mutex_destroy(&cl->lock);
        free(cl);
        return -EAGAIN;
    }
    cl->started = true;
    *out = cl;
    return 0;
}

void br_coload_free(struct br_coload *cl)
{
    if (!cl)
        return;
    pthread_mutex_lock(&cl->lock);
    cl->stop = true;
    pthread_cond_broadcast(&cl->cond);
    pthread_mutex_unlock(&cl->lock);
    if (cl->started)
        pthread_join(cl->thread, NULL);
    pthread_cond_destroy(&cl->cond);
    pthread_mutex_destroy(&cl->lock);
    free(cl->st);
    free(cl->buf);
    free(cl);
}
