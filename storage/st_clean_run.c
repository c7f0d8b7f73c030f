/*
 * st_clean_run — the background cleaners (Kafka's LogCleaner threads and LogCleanerManager's
 * choice): log.cleaner.threads threads, each taking the due log with the highest dirty ratio
 * (a log whose max.compaction.lag.ms is overdue first), cleaning it (st_clean.c), and sleeping
 * log.cleaner.backoff.ms when nothing is due. log.cleaner.io.max.bytes.per.second is shared
 * out between the threads; so is log.cleaner.dedupe.buffer.size.
 *
 * A cleaner only takes digested segments; the flusher digests them after they are sealed, a
 * round or a few later. So a flusher round that digested sealed segments of a compacted log
 * wakes the sleeping cleaners (st__cleaner_kick) instead of leaving the new segments to the
 * end of log.cleaner.backoff.ms: a compacted topic with a small segment.bytes is cleaned
 * seconds after its segments seal, not a backoff later. A kick that comes while a cleaner is
 * busy is kept for its next sleep (the flag), so none is lost; the store's fl_mu guards the
 * cleaner's pointer against st__cleaner_stop.
 */
#include "st_clean_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct st_cleaner {
    struct st_store *store;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
    bool kicked;        /* st__cleaner_kick since the last pick (under mu) */
    _Atomic bool abort; /* stop: a cleaning in progress gives up */
    int n;
    pthread_t th[64];
    struct st_clean_stats total; /* under mu */
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void add(struct st_clean_stats *t, const struct st_clean_stats *s)
{
    t->logs += s->logs;
    t->passes += s->passes;
    t->segments_in += s->segments_in;
    t->segments_out += s->segments_out;
    t->bytes_in += s->bytes_in;
    t->bytes_out += s->bytes_out;
    t->dirty_bytes += s->dirty_bytes;
    t->records_in += s->records_in;
    t->records_out += s->records_out;
    t->tombstones_dropped += s->tombstones_dropped;
    t->aborted_dropped += s->aborted_dropped;
    t->recompressed += s->recompressed;
    t->compressed_unreadable += s->compressed_unreadable;
    t->ns += s->ns;
}

/* Every log of the store, referenced (*n of them); NULL without memory. */
static struct st_log **all_logs(struct st_store *st, int *n)
{
    pthread_rwlock_rdlock(&st->mu);
    int total = 0;
    for (int t = 0; t < st->ntopics; t++)
        total += st->topics[t]->partitions;
    struct st_log **v = malloc((size_t)(total > 0 ? total : 1) * sizeof(*v));
    *n = 0;
    for (int t = 0; v && t < st->ntopics; t++)
        for (int32_t p = 0; p < st->topics[t]->partitions; p++) {
            struct st_log *log = st->topics[t]->logs[p];
            atomic_fetch_add(&log->refs, 1);
            v[(*n)++] = log;
        }
    pthread_rwlock_unlock(&st->mu);
    return v;
}

/* The log to clean now, referenced; NULL when none is due. */
static struct st_log *pick(struct st_store *st, int64_t now_ms)
{
    int n;
    struct st_log **v = all_logs(st, &n);
    if (!v)
        return NULL;
    struct st_log *best = NULL;
    double best_ratio = -1;
    bool best_overdue = false;
    for (int i = 0; i < n; i++) {
        double ratio;
        bool overdue;
        if (!st__clean_due(v[i], now_ms, &ratio, &overdue))
            continue;
        if ((overdue && !best_overdue) || (overdue == best_overdue && ratio > best_ratio)) {
            best = v[i];
            best_ratio = ratio;
            best_overdue = overdue;
        }
    }
    for (int i = 0; i < n; i++)
        if (v[i] != best)
            st_log_put(v[i]);
    free(v);
    return best;
}

static void *cleaner_main(void *arg)
{
    struct st_cleaner *c = arg;
    struct st_store *st = c->store;
    const struct st_log_config *d = &st->defaults;
    (void)pthread_setname_np(pthread_self(), "sl-cleaner"); /* top -H, perf */
    int64_t bps = d->cleaner_io_max_bps > 0 ? d->cleaner_io_max_bps / c->n : -1;
    if (d->cleaner_io_max_bps > 0 && bps < 1)
        bps = 1;
    size_t map = (size_t)(d->cleaner_dedupe_bytes > 0 ? d->cleaner_dedupe_bytes : 128LL << 20) /
                 (size_t)c->n;
    struct st_cleanwork *w = NULL;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        bool stop = c->stop;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            break;
        pthread_mutex_lock(&c->mu);
        c->kicked = false; /* this pick sees every segment digested before the kick */
        pthread_mutex_unlock(&c->mu);
        struct st_log *log = pick(st, wall_ms());
        if (log && !w) {
            if (st__cleanwork_new(map, bps, &w) < 0)
                w = NULL;
            else
                st__cleanwork_set_stop(w, &c->abort);
        }
        if (log && w) {
            struct st_clean_stats s = {0};
            int err = st__clean_log(log, w, wall_ms(), 0, &s);
            if (err < 0 && err != -EBUSY && err != -ENOENT && err != -ESHUTDOWN &&
                err != -ECANCELED && st->msg_fn) {
                char msg[600];
                snprintf(msg, sizeof(msg),
                         "cleaner: %s-%d: %s; retried after log.cleaner.backoff.ms",
                         st_log_topic(log), st_log_partition(log), strerror(-err));
                st->msg_fn(st->msg_arg, ST_MSG_ERROR, msg);
            }
            st_log_put(log);
            pthread_mutex_lock(&c->mu);
            add(&c->total, &s);
            pthread_mutex_unlock(&c->mu);
            if (err == 0 && s.logs > 0)
                continue; /* maybe another is due */
        } else if (log) {
            st_log_put(log);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (d->cleaner_backoff_ms % 1000) * 1000000;
        ts.tv_sec += (time_t)(d->cleaner_backoff_ms / 1000 + ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_mutex_lock(&c->mu);
        if (!c->stop && !c->kicked)
            pthread_cond_timedwait(&c->cond, &c->mu, &ts);
        pthread_mutex_unlock(&c->mu);
    }
    st__cleanwork_free(w);
    return NULL;
}

int st_store_cleaner_start(struct st_store *store)
{
    int n = store->defaults.cleaner_threads;
    if (n <= 0 || store->cleaner)
        return 0;
    if (n > 64)
        n = 64;
    struct st_cleaner *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->store = store;
    c->n = n;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cond, NULL);
    store->cleaner = c;
    for (int i = 0; i < n; i++) {
        int e = pthread_create(&c->th[i], NULL, cleaner_main, c);
        if (e != 0) {
            c->n = i;
            st__cleaner_stop(store);
            return -e;
        }
    }
    return 0;
}

void st__cleaner_kick(struct st_store *store)
{
    pthread_mutex_lock(&store->fl_mu); /* the flusher's: store->cleaner stays while held */
    struct st_cleaner *c = store->cleaner;
    if (c) {
        pthread_mutex_lock(&c->mu);
        c->kicked = true;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&store->fl_mu);
}

void st__cleaner_stop(struct st_store *store)
{
    struct st_cleaner *c = store->cleaner;
    if (!c)
        return;
    if (store->fl_started) { /* no kick reaches it from here on (st__cleaner_kick) */
        pthread_mutex_lock(&store->fl_mu);
        store->cleaner = NULL;
        pthread_mutex_unlock(&store->fl_mu);
    }
    atomic_store(&c->abort, true);
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < c->n; i++)
        pthread_join(c->th[i], NULL);
    store->cleaner = NULL;
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void st_store_cleaner_stats(struct st_store *store, struct st_clean_stats *out)
{
    memset(out, 0, sizeof(*out));
    struct st_cleaner *c = store->cleaner;
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    *out = c->total;
    pthread_mutex_unlock(&c->mu);
}

int st_store_clean(struct st_store *store, int64_t now_ms, unsigned flags,
                   struct st_clean_stats *stats)
{
    int n;
    struct st_log **v = all_logs(store, &n);
    if (!v)
        return -ENOMEM;
    struct st_cleanwork *w = NULL;
    int64_t bytes = store->defaults.cleaner_dedupe_bytes;
    int err = st__cleanwork_new(bytes > 0 ? (size_t)bytes : (size_t)128 << 20,
                                store->defaults.cleaner_io_max_bps, &w);
    for (int i = 0; i < n; i++) {
        if (err == 0) {
            int e = st__clean_log(v[i], w, now_ms, flags, stats);
            if (e < 0 && e != -EBUSY && e != -ENOENT)
                err = e;
        }
        st_log_put(v[i]);
    }
    free(v);
    st__cleanwork_free(w);
    return err;
}
