/*
 * st_store — the data directory: topics, their metadata files, partition logs, housekeeping.
 * The metadata file format is in st_segment.c (<topic>.topic).
 */
#include "st_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

void st_log_config_default(struct st_log_config *c)
{
    c->segment_bytes = 1LL << 30;
    c->roll_ms = 7LL * 24 * 3600 * 1000;
    c->retention_bytes = -1;
    c->retention_ms = 7LL * 24 * 3600 * 1000;
    c->flush_interval_messages = -1;
    c->flush_interval_ms = -1;
    c->index_interval_bytes = 4096;
    c->index_max_bytes = 10 << 20;
    c->log_append_time = false;
    c->producer_id_expiration_ms = 86400000;
    c->producer_id_expiration_check_ms = 600000;
    c->producer_state_max_bytes = 64LL << 20;
    c->open_files_max = 0;
    st_clean_config_default(c);
}

bool st_topic_name_valid(const char *name, size_t len)
{
    if (!name || len == 0 || len > 249)
        return false;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* ---- metadata files -------------------------------------------------------------------------- */

/* Topic-level keys, as Kafka names them, and where they live in st_log_config. */
static const struct {
    const char *key;
    size_t off;
    int kind; /* 0 int64, 1 int32 */
} KEYS[] = {
    {"segment.bytes", offsetof(struct st_log_config, segment_bytes), 0},
    {"segment.ms", offsetof(struct st_log_config, roll_ms), 0},
    {"retention.bytes", offsetof(struct st_log_config, retention_bytes), 0},
    {"retention.ms", offsetof(struct st_log_config, retention_ms), 0},
    {"flush.messages", offsetof(struct st_log_config, flush_interval_messages), 0},
    {"flush.ms", offsetof(struct st_log_config, flush_interval_ms), 0},
    {"index.interval.bytes", offsetof(struct st_log_config, index_interval_bytes), 1},
    {"segment.index.bytes", offsetof(struct st_log_config, index_max_bytes), 1},
};
enum { NKEYS = sizeof(KEYS) / sizeof(KEYS[0]) };

static int64_t cfg_get(const struct st_log_config *c, int k)
{
    const char *p = (const char *)c + KEYS[k].off;
    if (KEYS[k].kind == 0) {
        int64_t v;
        memcpy(&v, p, sizeof(v));
        return v;
    }
    int32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void cfg_set(struct st_log_config *c, int k, int64_t v)
{
    char *p = (char *)c + KEYS[k].off;
    if (KEYS[k].kind == 0) {
        memcpy(p, &v, sizeof(v));
    } else {
        int32_t x = (int32_t)v;
        memcpy(p, &x, sizeof(x));
    }
}

/* "<dir>/<topic>.topic", or with tmp "<dir>/<topic>.tmp" (a 249-byte topic name leaves no
 * room for ".topic.tmp" within NAME_MAX). */
static void meta_path(char *buf, size_t cap, const struct st_store *st, const char *name, bool tmp)
{
    snprintf(buf, cap, "%s/%s%s", st->dir, name, tmp ? ".tmp" : ST_META_SUFFIX);
}

static int meta_write(struct st_store *st, const char *name, int32_t partitions,
                      const struct st_log_config *cfg)
{
    char text[2048];
    int len =
        snprintf(text, sizeof(text),
                 "# splicelog topic metadata\nversion=1\npartitions=%" PRId32 "\n", partitions);
    for (int k = 0; k < NKEYS; k++) {
        int64_t v = cfg_get(cfg, k);
        if (v != cfg_get(&st->defaults, k))
            len += snprintf(text + len, sizeof(text) - (size_t)len, "%s=%" PRId64 "\n", KEYS[k].key,
                            v);
    }
    if (cfg->log_append_time != st->defaults.log_append_time)
        len += snprintf(text + len, sizeof(text) - (size_t)len, "message.timestamp.type=%s\n",
                        cfg->log_append_time ? "LogAppendTime" : "CreateTime");
    len += st_clean_config_format(cfg, &st->defaults, text + len, sizeof(text) - (size_t)len);
    if ((size_t)len >= sizeof(text))
        return -ENAMETOOLONG;
    char tmp[ST_MAX_PATH], path[ST_MAX_PATH];
    meta_path(tmp, sizeof(tmp), st, name, true);
    meta_path(path, sizeof(path), st, name, false);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int err = 0;
    if (write(fd, text, (size_t)len) != len)
        err = -EIO;
    else if (fsync(fd) < 0)
        err = -errno;
    close(fd);
    if (err == 0 && rename(tmp, path) < 0)
        err = -errno;
    if (err < 0) {
        unlink(tmp);
        return err;
    }
    return st__fsync_dir(st->dir);
}

static int meta_read(struct st_store *st, const char *name, int32_t *partitions,
                     struct st_log_config *cfg)
{
    char path[ST_MAX_PATH], text[4096];
    meta_path(path, sizeof(path), st, name, false);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    text[n] = 0;
    *cfg = st->defaults;
    *partitions = -1;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == 0)
            continue;
        char *eq = strchr(line, '=');
        if (!eq)
            return -EBADMSG;
        *eq = 0;
        const char *key = line, *val = eq + 1;
        if (strcmp(key, "message.timestamp.type") == 0) {
            cfg->log_append_time = strcmp(val, "LogAppendTime") == 0;
            continue;
        }
        int ce = st_clean_config_set(cfg, key, val);
        if (ce == 0)
            continue;
        if (ce != -ENOENT)
            return -EBADMSG;
        char *end;
        errno = 0;
        long long v = strtoll(val, &end, 10);
        if (errno || *end || end == val)
            return -EBADMSG;
        if (strcmp(key, "version") == 0) {
            if (v != 1)
                return -EBADMSG;
        } else if (strcmp(key, "partitions") == 0) {
            if (v < 1 || v > ST_MAX_PARTITIONS)
                return -EBADMSG;
            *partitions = (int32_t)v;
        } else {
            for (int k = 0; k < NKEYS; k++)
                if (strcmp(key, KEYS[k].key) == 0)
                    cfg_set(cfg, k, v);
            /* unknown keys are kept for forward compatibility by being ignored */
        }
    }
    return *partitions > 0 ? 0 : -EBADMSG;
}

/* ---- topics ---------------------------------------------------------------------------------- */

static uint32_t name_hash(const char *name, size_t len) { return (uint32_t)XXH3_64bits(name, len); }

static bool name_is(const struct st_topic *t, const char *name, size_t len)
{
    return strlen(t->name) == len && memcmp(t->name, name, len) == 0;
}

/* Rebuilds the name index after topics[] changed; on no memory, lookups search topics[]. */
static void ht_rebuild(struct st_store *st)
{
    uint32_t cap = 16;
    while (cap <= 2 * (uint32_t)st->ntopics)
        cap *= 2;
    struct st_topic **ht = calloc(cap, sizeof(*ht));
    free(st->ht);
    st->ht = ht;
    st->ht_cap = ht ? cap : 0;
    if (!ht)
        return;
    for (int i = 0; i < st->ntopics; i++) {
        const char *n = st->topics[i]->name;
        uint32_t h = name_hash(n, strlen(n)) & (cap - 1);
        while (ht[h])
            h = (h + 1) & (cap - 1);
        ht[h] = st->topics[i];
    }
}

static struct st_topic *find_topic(struct st_store *st, const char *name, size_t len, int *at)
{
    if (st->ht && !at) {
        uint32_t mask = st->ht_cap - 1;
        for (uint32_t h = name_hash(name, len) & mask; st->ht[h]; h = (h + 1) & mask)
            if (name_is(st->ht[h], name, len))
                return st->ht[h];
        return NULL;
    }
    for (int i = 0; i < st->ntopics; i++) {
        if (strlen(st->topics[i]->name) == len && memcmp(st->topics[i]->name, name, len) == 0) {
            if (at)
                *at = i;
            return st->topics[i];
        }
    }
    return NULL;
}

static void topic_free(struct st_topic *t)
{
    if (!t)
        return;
    if (t->logs)
        for (int32_t p = 0; p < t->partitions; p++)
            st_log_put(t->logs[p]);
    free(t->logs);
    free(t->name);
    free(t);
}

/*
 * The logs of a topic: load (at store open; lazy: the store was closed cleanly, so logs with a
 * clean-shutdown record stay dormant until their first use) or new (a topic being created:
 * dormant and without files until their first append).
 */
static int topic_load(struct st_store *st, const char *name, int32_t partitions,
                      const struct st_log_config *cfg, bool load, bool lazy, struct st_topic **out)
{
    struct st_topic *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->name = strdup(name);
    t->cfg = *cfg;
    t->logs = calloc((size_t)partitions, sizeof(*t->logs));
    if (!t->name || !t->logs) {
        topic_free(t);
        return -ENOMEM;
    }
    for (int32_t p = 0; p < partitions; p++) {
        int err = st__log_new(st, name, p, cfg, &t->logs[p]);
        if (err == 0 && load && (err = st__log_load(t->logs[p], lazy)) < 0) {
            t->partitions = p + 1;
            topic_free(t);
            return err;
        }
        if (err < 0) {
            topic_free(t);
            return err;
        }
        t->partitions = p + 1;
    }
    *out = t;
    return 0;
}

static int topics_add(struct st_store *st, struct st_topic *t)
{
    if (st->ntopics == st->cap_topics) {
        int cap = st->cap_topics ? st->cap_topics * 2 : 16;
        struct st_topic **nt = realloc(st->topics, (size_t)cap * sizeof(*nt));
        if (!nt)
            return -ENOMEM;
        st->topics = nt;
        st->cap_topics = cap;
    }
    st->topics[st->ntopics++] = t;
    ht_rebuild(st);
    return 0;
}

/* Removes a partition directory and everything in it (one level). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    char path[ST_MAX_PATH];
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (unlink(path) < 0 && errno == EISDIR)
            remove_dir(path); /* a cleaning's temporary directory (st_clean.c) */
    }
    closedir(d);
    rmdir(dir);
}

/* Stops a log for good and removes its files; readers holding ranges keep their fds. */
static void log_delete(struct st_log *log)
{
    pthread_mutex_lock(&log->mu);
    log->deleted = true;
    st__ps_free(log); /* no append comes any more */
    pthread_mutex_unlock(&log->mu);
    pthread_mutex_lock(&log->sync_mu); /* waits for a sync in progress */
    pthread_mutex_unlock(&log->sync_mu);
    remove_dir(log->dir);
}

static bool pending_has(const struct st_store *st, const char *name)
{
    for (int i = 0; i < st->npending; i++)
        if (strcmp(st->pending[i], name) == 0)
            return true;
    return false;
}

static int pending_add(struct st_store *st, const char *name)
{
    if (st->npending == st->cap_pending) {
        int cap = st->cap_pending ? st->cap_pending * 2 : 4;
        char **np = realloc(st->pending, (size_t)cap * sizeof(*np));
        if (!np)
            return -ENOMEM;
        st->pending = np;
        st->cap_pending = cap;
    }
    if (!(st->pending[st->npending] = strdup(name)))
        return -ENOMEM;
    st->npending++;
    return 0;
}

static void pending_del(struct st_store *st, const char *name)
{
    for (int i = 0; i < st->npending; i++) {
        if (strcmp(st->pending[i], name) == 0) {
            free(st->pending[i]);
            st->pending[i] = st->pending[--st->npending];
            return;
        }
    }
}

/*
 * The name is reserved under the store lock, the partitions are created without it (a topic
 * with thousands of partitions takes a while, and lookups of other topics must not wait for
 * it), and the topic becomes visible under the lock once its metadata file is written.
 */
int st_topic_create(struct st_store *store, const char *name, int32_t partitions,
                    const struct st_log_config *cfg)
{
    if (!name || !st_topic_name_valid(name, strlen(name)) || partitions < 1 ||
        partitions > ST_MAX_PARTITIONS)
        return -EINVAL;
    if (!cfg)
        cfg = &store->defaults;
    pthread_rwlock_wrlock(&store->mu);
    int err = 0;
    if (find_topic(store, name, strlen(name), NULL) || pending_has(store, name))
        err = -EEXIST;
    else
        err = pending_add(store, name);
    pthread_rwlock_unlock(&store->mu);
    if (err < 0)
        return err;

    /* leftovers of an interrupted create or delete (no metadata file) go first */
    char path[ST_MAX_PATH];
    for (int32_t p = 0; p < partitions; p++) {
        snprintf(path, sizeof(path), "%s/%s-%" PRId32, store->dir, name, p);
        remove_dir(path);
    }
    struct st_topic *t = NULL;
    if ((err = topic_load(store, name, partitions, cfg, false, false, &t)) == 0 &&
        (err = st__fsync_dir(store->dir)) == 0)
        err = meta_write(store, name, partitions, cfg);

    pthread_rwlock_wrlock(&store->mu);
    pending_del(store, name);
    if (err == 0)
        err = topics_add(store, t);
    pthread_rwlock_unlock(&store->mu);
    if (err < 0) {
        /* nobody saw the topic: free its logs, then remove whatever reached the disk */
        meta_path(path, sizeof(path), store, name, false);
        unlink(path);
        topic_free(t);
        for (int32_t p = 0; p < partitions; p++) {
            snprintf(path, sizeof(path), "%s/%s-%" PRId32, store->dir, name, p);
            remove_dir(path);
        }
    }
    return err;
}

int st_topic_delete(struct st_store *store, const char *name)
{
    if (!name)
        return -EINVAL;
    pthread_rwlock_wrlock(&store->mu);
    int at;
    struct st_topic *t = find_topic(store, name, strlen(name), &at);
    if (!t) {
        pthread_rwlock_unlock(&store->mu);
        return -ENOENT;
    }
    char path[ST_MAX_PATH];
    meta_path(path, sizeof(path), store, name, false);
    int err = unlink(path) < 0 ? -errno : 0;
    if (err == 0)
        err = st__fsync_dir(store->dir);
    if (err < 0) {
        pthread_rwlock_unlock(&store->mu);
        return err;
    }
    store->topics[at] = store->topics[--store->ntopics];
    ht_rebuild(store);
    /* The files go without the lock (thousands of partitions take a while); the name stays
     * reserved meanwhile so that a create of the same name cannot interleave. */
    bool reserved = pending_add(store, name) == 0;
    if (reserved)
        pthread_rwlock_unlock(&store->mu);
    for (int32_t p = 0; p < t->partitions; p++)
        log_delete(t->logs[p]);
    (void)st__fsync_dir(store->dir);
    if (reserved) {
        pthread_rwlock_wrlock(&store->mu);
        pending_del(store, name);
    }
    pthread_rwlock_unlock(&store->mu);
    topic_free(t);
    return 0;
}

int32_t st_topic_partitions(struct st_store *store, const char *name, size_t name_len)
{
    pthread_rwlock_rdlock(&store->mu);
    struct st_topic *t = find_topic(store, name, name_len, NULL);
    int32_t n = t ? t->partitions : -ENOENT;
    pthread_rwlock_unlock(&store->mu);
    return n;
}

void st_topic_foreach(struct st_store *store,
                      void (*fn)(void *arg, const char *name, int32_t partitions), void *arg)
{
    pthread_rwlock_rdlock(&store->mu);
    for (int i = 0; i < store->ntopics; i++)
        fn(arg, store->topics[i]->name, store->topics[i]->partitions);
    pthread_rwlock_unlock(&store->mu);
}

struct st_log *st_log_get(struct st_store *store, const char *topic, size_t topic_len,
                          int32_t partition)
{
    struct st_log *log = NULL;
    pthread_rwlock_rdlock(&store->mu);
    struct st_topic *t = find_topic(store, topic, topic_len, NULL);
    if (t && partition >= 0 && partition < t->partitions) {
        log = t->logs[partition];
        atomic_fetch_add(&log->refs, 1);
    }
    pthread_rwlock_unlock(&store->mu);
    return log;
}

/* ---- store ----------------------------------------------------------------------------------- */

void st_store_set_notify(struct st_store *store, st_notify_fn fn, void *arg)
{
    pthread_mutex_lock(&store->fl_mu);
    store->notify_arg = arg;
    store->notify = fn;
    pthread_mutex_unlock(&store->fl_mu);
}

static int load_topics(struct st_store *st, bool lazy)
{
    DIR *d = opendir(st->dir);
    if (!d)
        return -errno;
    struct dirent *de;
    int err = 0;
    size_t sl = strlen(ST_META_SUFFIX);
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        char name[256];
        if (len > 4 && strcmp(nm + len - 4, ".tmp") == 0) {
            char path[ST_MAX_PATH];
            snprintf(path, sizeof(path), "%s/%s", st->dir, nm);
            unlink(path);
            continue;
        }
        if (len <= sl || strcmp(nm + len - sl, ST_META_SUFFIX) != 0 || len - sl >= sizeof(name))
            continue;
        memcpy(name, nm, len - sl);
        name[len - sl] = 0;
        if (!st_topic_name_valid(name, len - sl))
            continue;
        int32_t parts = 0;
        struct st_log_config cfg;
        if ((err = meta_read(st, name, &parts, &cfg)) < 0)
            break;
        struct st_topic *t;
        if ((err = topic_load(st, name, parts, &cfg, true, lazy, &t)) < 0)
            break;
        if ((err = topics_add(st, t)) < 0) {
            topic_free(t);
            break;
        }
    }
    closedir(d);
    return err;
}

int st_store_open(const char *dir, const struct st_log_config *defaults, struct st_store **out)
{
    return st_store_open_logged(dir, defaults, NULL, NULL, NULL, out);
}

int st_store_open_logged(const char *dir, const struct st_log_config *defaults, st_msg_fn fn,
                         void *arg, struct st_recovery_report *report, struct st_store **out)
{
    if (!dir || !out)
        return -EINVAL;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -errno;
    struct st_store *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->dir = strdup(dir);
    if (defaults)
        st->defaults = *defaults;
    else
        st_log_config_default(&st->defaults);
    pthread_rwlock_init(&st->mu, NULL);
    pthread_mutex_init(&st->scrub_mu, NULL);
    pthread_mutex_init(&st->dir_mu, NULL);
    if (getrandom(&st->ps_seed, sizeof(st->ps_seed), GRND_NONBLOCK) != sizeof(st->ps_seed))
        st->ps_seed = (uint64_t)st__mono_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    st->scrub.seg_base = -1;
    int err = st->dir ? 0 : -ENOMEM;
    if (err == 0)
        err = st__fc_new(st->defaults.open_files_max, &st->fc);
    if (err == 0)
        err = st__flusher_start(st);
    /* The store's own clean-shutdown marker: every log's clean-shutdown record is true, so
     * those logs may stay dormant. It goes (durably) before anything can change a log. */
    bool lazy = false;
    char mpath[ST_MAX_PATH];
    snprintf(mpath, sizeof(mpath), "%s/%s", dir, ST_CLEAN_NAME);
    if (err == 0 && access(mpath, F_OK) == 0) {
        lazy = true;
        if (unlink(mpath) < 0 || (err = st__fsync_dir(dir)) < 0)
            err = err < 0 ? err : -errno;
    }
    if (err == 0) {
        st->opening = true;
        st->msg_fn = fn; /* kept: logs opened at their first use report through it too */
        st->msg_arg = arg;
        pthread_rwlock_wrlock(&st->mu);
        err = load_topics(st, lazy);
        pthread_rwlock_unlock(&st->mu);
        st->opening = false;
    }
    if (err == 0) {
        const struct st_recovery_report *r = &st->recovery;
        if (fn) {
            char msg[ST_MAX_PATH + 512];
            snprintf(msg, sizeof(msg),
                     "storage %s: %lld log(s), %lld after a crash, %lld dormant (closed cleanly: "
                     "opened at their first use); %lld segment(s) scanned "
                     "(%lld bytes), %lld bytes cut, %lld index(es) rebuilt, %lld fenced "
                     "range(s) (%lld found before, %lld new)",
                     dir, (long long)(r->logs + r->dormant), (long long)r->unclean,
                     (long long)r->dormant, (long long)r->segments_scanned,
                     (long long)r->bytes_scanned, (long long)r->bytes_cut,
                     (long long)r->indexes_rebuilt, (long long)(r->fenced_loaded + r->fenced_new),
                     (long long)r->fenced_loaded, (long long)r->fenced_new);
            fn(arg, ST_MSG_INFO, msg);
        }
        if (report)
            *report = *r;
    }
    if (err < 0) {
        st__flusher_stop(st);
        for (int i = 0; i < st->ntopics; i++)
            topic_free(st->topics[i]);
        free(st->topics);
        free(st->dir);
        st__fc_put(st->fc);
        free(st);
        return err;
    }
    *out = st;
    return 0;
}

/*
 * Closing many logs: a log that changed waits for several fsyncs in turn (FSYNC ORDER, close),
 * so CLOSERS threads close logs side by side, and the filesystem commits their fsyncs
 * together instead of one after another.
 */
enum { CLOSERS = 16 };

struct closing {
    struct st_log **logs;
    int n;
    _Atomic int next;
    _Atomic int err;
};

static void *closer(void *arg)
{
    struct closing *c = arg;
    for (int i; (i = atomic_fetch_add(&c->next, 1)) < c->n;) {
        int e = st__log_close_clean(c->logs[i]);
        int zero = 0;
        if (e < 0)
            atomic_compare_exchange_strong(&c->err, &zero, e);
    }
    return NULL;
}

static int close_logs(struct st_store *store)
{
    struct closing c = {.n = 0};
    atomic_init(&c.next, 0);
    atomic_init(&c.err, 0);
    int total = 0;
    for (int i = 0; i < store->ntopics; i++)
        total += store->topics[i]->partitions;
    if (total > 0 && !(c.logs = malloc((size_t)total * sizeof(*c.logs)))) {
        /* no memory for the list: one by one */
        int err = 0;
        for (int i = 0; i < store->ntopics; i++)
            for (int32_t p = 0; p < store->topics[i]->partitions; p++) {
                int e = st__log_close_clean(store->topics[i]->logs[p]);
                err = err < 0 ? err : e;
            }
        return err;
    }
    for (int i = 0; i < store->ntopics; i++)
        for (int32_t p = 0; p < store->topics[i]->partitions; p++)
            c.logs[c.n++] = store->topics[i]->logs[p];
    pthread_t th[CLOSERS];
    int nth = 0;
    for (; nth < CLOSERS && nth * 64 < c.n; nth++)
        if (pthread_create(&th[nth], NULL, closer, &c) != 0)
            break;
    closer(&c); /* this thread too (and alone, when no thread could start) */
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    free(c.logs);
    return atomic_load(&c.err);
}

void st_store_close(struct st_store *store)
{
    if (!store)
        return;
    st__cleaner_stop(store);
    st__flusher_stop(store);
    pthread_rwlock_wrlock(&store->mu);
    int err = close_logs(store);
    for (int i = 0; i < store->ntopics; i++)
        topic_free(store->topics[i]);
    store->ntopics = 0;
    pthread_rwlock_unlock(&store->mu);
    /* every log closed cleanly: their records are true, the next open may leave them
     * dormant (a log whose close failed makes the next open check them all) */
    if (err == 0 && store->npending == 0) {
        char path[ST_MAX_PATH];
        snprintf(path, sizeof(path), "%s/%s", store->dir, ST_CLEAN_NAME);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            close(fd);
            (void)st__fsync_dir(store->dir);
        }
    }
    free(store->topics);
    for (int i = 0; i < store->npending; i++)
        free(store->pending[i]);
    free(store->pending);
    pthread_rwlock_destroy(&store->mu);
    free(store->ht);
    pthread_mutex_destroy(&store->scrub_mu);
    pthread_mutex_destroy(&store->dir_mu);
    pthread_mutex_destroy(&store->fl_mu);
    pthread_cond_destroy(&store->fl_cond);
    free(store->dir);
    st__fc_put(store->fc); /* freed with the last segment of a log still referenced */
    free(store);
}

void st_store_maintain(struct st_store *store, int64_t now_ms)
{
    struct st_log *logs[256];
    int start = 0;
    for (;;) {
        int n = 0, seen = 0;
        bool more = false;
        pthread_rwlock_rdlock(&store->mu);
        for (int t = 0; t < store->ntopics && !more; t++) {
            struct st_topic *tp = store->topics[t];
            for (int32_t p = 0; p < tp->partitions; p++, seen++) {
                if (seen < start)
                    continue;
                if (n == 256) {
                    more = true;
                    break;
                }
                atomic_fetch_add(&tp->logs[p]->refs, 1);
                logs[n++] = tp->logs[p];
            }
        }
        pthread_rwlock_unlock(&store->mu);
        for (int i = 0; i < n; i++) {
            st__log_maintain(logs[i], now_ms);
            st_log_put(logs[i]);
        }
        if (!more)
            break;
        start += n;
    }
}
