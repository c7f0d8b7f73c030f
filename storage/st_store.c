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
    c->replica_cache_keep_bytes = -1;
    c->open_files_max = 0;
    c->recovery_threads = 0;
    c->max_message_bytes = -1;
    c->min_insync_replicas = 1;
    c->compression_type = ST_COMPRESSION_PRODUCER;
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

/* Topic-level keys, as Kafka names them, and where they live in st_log_config; in the order
 * of enum st_topic_key (message.timestamp.type, the last, is a bool and has no row). */
static const struct {
    const char *key;
    size_t off;
    int kind;    /* 0 int64, 1 int32 */
    int64_t min; /* smallest value accepted */
} KEYS[] = {
    {"segment.bytes", offsetof(struct st_log_config, segment_bytes), 0, 14},
    {"segment.ms", offsetof(struct st_log_config, roll_ms), 0, 1},
    {"retention.bytes", offsetof(struct st_log_config, retention_bytes), 0, -1},
    {"retention.ms", offsetof(struct st_log_config, retention_ms), 0, -1},
    {"flush.messages", offsetof(struct st_log_config, flush_interval_messages), 0, -1},
    {"flush.ms", offsetof(struct st_log_config, flush_interval_ms), 0, -1},
    {"index.interval.bytes", offsetof(struct st_log_config, index_interval_bytes), 1, 0},
    {"segment.index.bytes", offsetof(struct st_log_config, index_max_bytes), 1, 8},
    {"max.message.bytes", offsetof(struct st_log_config, max_message_bytes), 1, 0},
    {"min.insync.replicas", offsetof(struct st_log_config, min_insync_replicas), 1, 1},
    {"compression.type", offsetof(struct st_log_config, compression_type), 1, 0},
};
enum { NKEYS = sizeof(KEYS) / sizeof(KEYS[0]) };
_Static_assert((int)NKEYS == (int)ST_TK_TIMESTAMP_TYPE, "KEYS follows enum st_topic_key");
#define TS_KEY "message.timestamp.type"

/* compression.type's text for ST_COMPRESSION_* v (enum kp_codec's names in between). */
static const char *compression_name(int v)
{
    static const char *const names[] = {"producer", "gzip", "snappy",
                                        "lz4",      "zstd", "uncompressed"};
    return v >= 0 && v <= ST_COMPRESSION_UNCOMPRESSED ? names[v] : "producer";
}

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

const char *st_topic_key_name(enum st_topic_key k)
{
    if ((int)k < 0 || k >= ST_TK_COUNT)
        return NULL;
    if (k > ST_TK_TIMESTAMP_TYPE)
        return st_clean_key_name(k - ST_TK_CLEANUP_POLICY);
    return k == ST_TK_TIMESTAMP_TYPE ? TS_KEY : KEYS[k].key;
}

int st_topic_key_find(const char *name, size_t len)
{
    for (int k = 0; k < ST_TK_COUNT; k++) {
        const char *n = st_topic_key_name((enum st_topic_key)k);
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return k;
    }
    return -ENOENT;
}

int64_t st_topic_key_get(const struct st_log_config *c, enum st_topic_key k)
{
    if (k == ST_TK_TIMESTAMP_TYPE)
        return c->log_append_time ? 1 : 0;
    if (k > ST_TK_TIMESTAMP_TYPE && k < ST_TK_COUNT)
        return st_clean_key_get(c, k - ST_TK_CLEANUP_POLICY);
    return (int)k >= 0 && k < ST_TK_TIMESTAMP_TYPE ? cfg_get(c, k) : 0;
}

int st_topic_key_set(struct st_log_config *c, enum st_topic_key k, int64_t v)
{
    if (k == ST_TK_TIMESTAMP_TYPE) {
        if (v != 0 && v != 1)
            return -EINVAL;
        c->log_append_time = v == 1;
        return 0;
    }
    if (k > ST_TK_TIMESTAMP_TYPE && k < ST_TK_COUNT)
        return st_clean_key_set(c, k - ST_TK_CLEANUP_POLICY, v);
    if ((int)k < 0 || k >= ST_TK_TIMESTAMP_TYPE || v < KEYS[k].min ||
        (KEYS[k].kind == 1 && v > INT32_MAX) ||
        (k == ST_TK_COMPRESSION_TYPE && v > ST_COMPRESSION_UNCOMPRESSED))
        return -EINVAL;
    cfg_set(c, k, v);
    return 0;
}

int st_topic_key_parse(struct st_log_config *c, enum st_topic_key k, const char *text)
{
    if ((int)k < 0 || k >= ST_TK_COUNT || !text)
        return -EINVAL;
    if (k > ST_TK_TIMESTAMP_TYPE) /* st_clean_conf.c knows their text */
        return st_clean_config_set(c, st_topic_key_name(k), text) == 0 ? 0 : -EINVAL;
    int64_t v;
    if (k == ST_TK_COMPRESSION_TYPE) {
        for (v = 0; v <= ST_COMPRESSION_UNCOMPRESSED; v++)
            if (strcmp(text, compression_name((int)v)) == 0)
                break;
        /* past the loop: v out of range, refused below */
    } else if (k == ST_TK_TIMESTAMP_TYPE) {
        if (strcmp(text, "CreateTime") == 0)
            v = 0;
        else if (strcmp(text, "LogAppendTime") == 0)
            v = 1;
        else
            return -EINVAL;
    } else {
        char *end;
        errno = 0;
        long long x = strtoll(text, &end, 10);
        if (errno || *end || end == text)
            return -EINVAL;
        v = x;
    }
    return st_topic_key_set(c, k, v);
}

int st_topic_key_format(const struct st_log_config *c, enum st_topic_key k, char *buf, size_t cap,
                        bool line)
{
    const char *name = st_topic_key_name(k);
    if (!name)
        return snprintf(buf, cap, "%s", "");
    int n = line ? snprintf(buf, cap, "%s=", name) : 0;
    size_t at = (size_t)n < cap ? (size_t)n : cap;
    char *p = cap ? buf + at : buf;
    size_t room = cap - at;
    if (k > ST_TK_TIMESTAMP_TYPE)
        n += st_clean_key_format(c, k - ST_TK_CLEANUP_POLICY, p, room);
    else if (k == ST_TK_TIMESTAMP_TYPE)
        n += snprintf(p, room, "%s", c->log_append_time ? "LogAppendTime" : "CreateTime");
    else if (k == ST_TK_COMPRESSION_TYPE)
        n += snprintf(p, room, "%s", compression_name(c->compression_type));
    else
        n += snprintf(p, room, "%" PRId64, cfg_get(c, k));
    if (line) {
        at = (size_t)n < cap ? (size_t)n : cap;
        n += snprintf(cap ? buf + at : buf, cap - at, "\n");
    }
    return n;
}

/* The overrides a config implies when nothing says which keys were set: the keys that differ
 * from the defaults. */
static uint32_t cfg_diff(const struct st_log_config *c, const struct st_log_config *d)
{
    uint32_t m = 0;
    for (int k = 0; k < ST_TK_COUNT; k++)
        if (st_topic_key_get(c, (enum st_topic_key)k) != st_topic_key_get(d, (enum st_topic_key)k))
            m |= 1u << k;
    return m;
}

/* c with every key not in overrides taken from d. */
static void cfg_merge(struct st_log_config *c, const struct st_log_config *d, uint32_t overrides)
{
    for (int k = 0; k < NKEYS; k++)
        if (!(overrides & (1u << k)))
            cfg_set(c, k, cfg_get(d, k)); /* unchecked: a default may be -1, "not set" */
    if (!(overrides & (1u << ST_TK_TIMESTAMP_TYPE)))
        c->log_append_time = d->log_append_time;
    for (int k = ST_TK_CLEANUP_POLICY; k < ST_TK_COUNT; k++)
        if (!(overrides & (1u << k)))
            st_topic_key_set(c, (enum st_topic_key)k, st_topic_key_get(d, (enum st_topic_key)k));
}

static void id_new(uint8_t id[ST_TOPIC_ID_LEN])
{
    if (getrandom(id, ST_TOPIC_ID_LEN, 0) != ST_TOPIC_ID_LEN) {
        uint64_t a = (uint64_t)st__mono_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
        uint64_t b = XXH3_64bits(&a, sizeof(a)) ^ (uint64_t)(uintptr_t)id;
        memcpy(id, &a, 8);
        memcpy(id + 8, &b, 8);
    }
    id[6] = (uint8_t)((id[6] & 0x0f) | 0x40); /* version 4 */
    id[8] = (uint8_t)((id[8] & 0x3f) | 0x80); /* RFC 4122 variant: never all zero */
}

static bool id_zero(const uint8_t id[ST_TOPIC_ID_LEN])
{
    for (int i = 0; i < ST_TOPIC_ID_LEN; i++)
        if (id[i])
            return false;
    return true;
}

/* "<dir>/<topic>.topic", or with tmp "<dir>/<topic>.tmp" (a 249-byte topic name leaves no
 * room for ".topic.tmp" within NAME_MAX). */
static void meta_path(char *buf, size_t cap, const struct st_store *st, const char *name, bool tmp)
{
    snprintf(buf, cap, "%s/%s%s", st->dir, name, tmp ? ".tmp" : ST_META_SUFFIX);
}

static int meta_write(struct st_store *st, const struct st_topic *t)
{
    char text[2048];
    int len = snprintf(
        text, sizeof(text),
        "# splicelog topic metadata\nversion=1\npartitions=%" PRId32 "\nid=", t->partitions);
    for (int i = 0; i < ST_TOPIC_ID_LEN; i++)
        len += snprintf(text + len, sizeof(text) - (size_t)len, "%02x", t->id[i]);
    text[len++] = '\n';
    if (t->zxid > 0)
        len +=
            snprintf(text + len, sizeof(text) - (size_t)len, "cluster.zxid=%" PRId64 "\n", t->zxid);
    for (int k = 0; k < NKEYS; k++)
        if (t->overrides & (1u << k))
            len += snprintf(text + len, sizeof(text) - (size_t)len, "%s=%" PRId64 "\n", KEYS[k].key,
                            cfg_get(&t->cfg, k));
    if (t->overrides & (1u << ST_TK_TIMESTAMP_TYPE))
        len += snprintf(text + len, sizeof(text) - (size_t)len, TS_KEY "=%s\n",
                        t->cfg.log_append_time ? "LogAppendTime" : "CreateTime");
    for (int k = ST_TK_CLEANUP_POLICY; k < ST_TK_COUNT; k++)
        if (t->overrides & (1u << k)) /* the compaction keys' text form: st_clean_conf.c */
            len += st_topic_key_format(&t->cfg, (enum st_topic_key)k, text + len,
                                       sizeof(text) - (size_t)len, true);
    if ((size_t)len >= sizeof(text))
        return -ENAMETOOLONG;
    char tmp[ST_MAX_PATH], path[ST_MAX_PATH];
    meta_path(tmp, sizeof(tmp), st, t->name, true);
    meta_path(path, sizeof(path), st, t->name, false);
    int fd = st__fc_open(st->fc, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644); /* EMFILE: relieved */
    if (fd < 0)
        return fd;
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
    return st_fsync_dir(st->dir);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int meta_read(struct st_store *st, const char *name, int32_t *partitions,
                     struct st_log_config *cfg, uint32_t *overrides, uint8_t id[ST_TOPIC_ID_LEN],
                     int64_t *zxid)
{
    char path[ST_MAX_PATH], text[4096];
    meta_path(path, sizeof(path), st, name, false);
    int fd = st__fc_open(st->fc, path, O_RDONLY, 0);
    if (fd < 0)
        return fd;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    text[n] = 0;
    *cfg = st->defaults;
    *partitions = -1;
    *overrides = 0;
    *zxid = 0;
    memset(id, 0, ST_TOPIC_ID_LEN);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == 0)
            continue;
        char *eq = strchr(line, '=');
        if (!eq)
            return -EBADMSG;
        *eq = 0;
        const char *key = line, *val = eq + 1;
        if (strcmp(key, TS_KEY) == 0) {
            cfg->log_append_time = strcmp(val, "LogAppendTime") == 0;
            *overrides |= 1u << ST_TK_TIMESTAMP_TYPE;
            continue;
        }
        if (strcmp(key, "id") == 0) {
            if (strlen(val) != 2 * ST_TOPIC_ID_LEN)
                return -EBADMSG;
            for (int i = 0; i < ST_TOPIC_ID_LEN; i++) {
                int hi = hexval(val[2 * i]), lo = hexval(val[2 * i + 1]);
                if (hi < 0 || lo < 0)
                    return -EBADMSG;
                id[i] = (uint8_t)(hi << 4 | lo);
            }
            continue;
        }
        int ck = st_topic_key_find(key, strlen(key));
        if (ck > ST_TK_TIMESTAMP_TYPE) { /* the compaction keys: st_clean_conf.c's text */
            if (st_topic_key_parse(cfg, (enum st_topic_key)ck, val) < 0)
                return -EBADMSG;
            *overrides |= 1u << ck;
            continue;
        }
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
        } else if (strcmp(key, "cluster.zxid") == 0) {
            if (v < 0)
                return -EBADMSG;
            *zxid = v;
        } else {
            for (int k = 0; k < NKEYS; k++) {
                if (strcmp(key, KEYS[k].key) == 0) {
                    cfg_set(cfg, k, v);
                    *overrides |= 1u << k;
                }
            }
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
    struct st_topic **idht = ht ? calloc(cap, sizeof(*idht)) : NULL;
    free(st->ht);
    free(st->idht);
    if (!idht) {
        free(ht);
        ht = NULL;
    }
    st->ht = ht;
    st->idht = idht;
    st->ht_cap = ht ? cap : 0;
    if (!ht)
        return;
    for (int i = 0; i < st->ntopics; i++) {
        const char *n = st->topics[i]->name;
        uint32_t h = name_hash(n, strlen(n)) & (cap - 1);
        while (ht[h])
            h = (h + 1) & (cap - 1);
        ht[h] = st->topics[i];
        h = name_hash((const char *)st->topics[i]->id, ST_TOPIC_ID_LEN) & (cap - 1);
        while (idht[h])
            h = (h + 1) & (cap - 1);
        idht[h] = st->topics[i];
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

/* A log to recover before the store opens (recover_logs), referenced until then. */
static int recover_later(struct st_store *st, struct st_log *log)
{
    if (st->nrec == st->cap_rec) {
        int64_t cap = st->cap_rec ? st->cap_rec * 2 : 1024;
        struct st_log **v = realloc(st->rec_logs, (size_t)cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        st->rec_logs = v;
        st->cap_rec = cap;
    }
    atomic_fetch_add(&log->refs, 1);
    st->rec_logs[st->nrec++] = log;
    return 0;
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
        bool recover = false;
        int err = st__log_new(st, name, p, cfg, &t->logs[p]);
        if (err == 0 && load && (err = st__log_load(t->logs[p], lazy, &recover)) == 0 && recover)
            err = recover_later(st, t->logs[p]);
        if (err < 0) {
            t->partitions = t->logs[p] ? p + 1 : p;
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
    return st_topic_create_id(store, name, partitions, cfg, NULL, 0);
}

int st_topic_create_id(struct st_store *store, const char *name, int32_t partitions,
                       const struct st_log_config *cfg, const uint8_t *id, int64_t zxid)
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
    if ((err = topic_load(store, name, partitions, cfg, false, false, &t)) == 0) {
        t->overrides = cfg_diff(cfg, &store->defaults);
        t->zxid = zxid > 0 ? zxid : 0;
        if (id && !id_zero(id))
            memcpy(t->id, id, ST_TOPIC_ID_LEN);
        else
            id_new(t->id);
    }
    if (err == 0 && (err = st_fsync_dir(store->dir)) == 0)
        err = meta_write(store, t);

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
    if (!t || pending_has(store, name)) { /* a config change or growth holds it: retry */
        pthread_rwlock_unlock(&store->mu);
        return t ? -EBUSY : -ENOENT;
    }
    char path[ST_MAX_PATH];
    meta_path(path, sizeof(path), store, name, false);
    int err = unlink(path) < 0 ? -errno : 0;
    if (err == 0)
        err = st_fsync_dir(store->dir);
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
    (void)st_fsync_dir(store->dir);
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

/* ---- topic administration ------------------------------------------------------------------ */

int64_t st__floor_load(struct st_log *log)
{
    char path[ST_MAX_PATH], text[32];
    snprintf(path, sizeof(path), "%s/%s", log->dir, ST_FLOOR_NAME);
    int fd = st__fc_open(log->store->fc, path, O_RDONLY, 0);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    return errno || v < 0 || (*end && *end != '\n') ? 0 : v;
}

int st_log_delete_records(struct st_log *log, int64_t offset, int64_t *low)
{
    /* a dormant log is opened first: its start and end are then those of its files, and the
     * clean close that follows writes its record again, with the new low watermark */
    int err = st__log_activate(log);
    if (err < 0) {
        *low = atomic_load(&log->start_offset);
        return err;
    }
    pthread_mutex_lock(&log->mu);
    int64_t end = atomic_load(&log->end_offset);
    int64_t start = atomic_load(&log->start_offset);
    if (log->deleted)
        err = -ENOENT;
    else if (offset == -1)
        offset = end;
    else if (offset < -1 || offset > end)
        err = -ERANGE;
    if (err == 0 && offset > start) {
        char tmp[ST_MAX_PATH], path[ST_MAX_PATH], text[32];
        snprintf(tmp, sizeof(tmp), "%s/%s.tmp", log->dir, ST_FLOOR_NAME);
        snprintf(path, sizeof(path), "%s/%s", log->dir, ST_FLOOR_NAME);
        int len = snprintf(text, sizeof(text), "%" PRId64 "\n", offset);
        int fd = st__fc_open(log->store->fc, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            err = fd;
        else {
            if (write(fd, text, (size_t)len) != len)
                err = -EIO;
            else if (fsync(fd) < 0)
                err = -errno;
            close(fd);
            if (err == 0 && rename(tmp, path) < 0)
                err = -errno;
            if (err == 0)
                err = st_fsync_dir(log->dir);
            if (err < 0)
                unlink(tmp);
        }
        if (err == 0) {
            atomic_store(&log->floor_offset, offset);
            atomic_store_explicit(&log->start_offset, offset, memory_order_release);
            log->pristine = false;
        }
    }
    *low = atomic_load(&log->start_offset);
    pthread_mutex_unlock(&log->mu);
    return err;
}

int64_t st_log_max_timestamp(struct st_log *log)
{
    if (!st__log_open(log) && log->rec.bytes == 0)
        return -1; /* dormant and without a batch: nothing to open for */
    if (st__log_activate(log) < 0)
        return -1;
    /* A sealed segment's largest timestamp may be unknown until read (a log opened after a
     * clean shutdown): st__seg_max_ts reads it outside the grace period, under a reference, so
     * one segment at a time, by base (retention may drop segments meanwhile). */
    int64_t m = -1, after = -1;
    for (;;) {
        uint64_t e = st__grace_enter(&log->grace);
        struct st_segvec *v = atomic_load_explicit(&log->segs, memory_order_acquire);
        struct st_seg *c = NULL;
        for (int i = 0; i < v->n && !c; i++)
            if (v->s[i]->base > after)
                c = v->s[i];
        if (c)
            st__seg_ref(c);
        st__grace_exit(&log->grace, e);
        if (!c)
            break;
        int64_t t = st__seg_max_ts(c);
        after = c->base;
        st__seg_put(c);
        if (t > m)
            m = t;
    }
    return m;
}

int32_t st_log_max_message_bytes(struct st_log *log)
{
    return __atomic_load_n(&log->cfg.max_message_bytes,
                           __ATOMIC_RELAXED); /* no lock: produce path */
}

int32_t st_log_min_insync_replicas(struct st_log *log)
{
    return __atomic_load_n(&log->cfg.min_insync_replicas,
                           __ATOMIC_RELAXED); /* no lock: produce path */
}

int32_t st_log_compression_type(struct st_log *log)
{
    return __atomic_load_n(&log->cfg.compression_type,
                           __ATOMIC_RELAXED); /* no lock: produce path */
}

void st_store_defaults(const struct st_store *store, struct st_log_config *out)
{
    pthread_rwlock_t *mu = (pthread_rwlock_t *)&store->mu; /* st_store_set_defaults writes */
    pthread_rwlock_rdlock(mu);
    *out = store->defaults;
    pthread_rwlock_unlock(mu);
}

int st_topic_id(struct st_store *store, const char *name, size_t len, uint8_t id[ST_TOPIC_ID_LEN])
{
    pthread_rwlock_rdlock(&store->mu);
    struct st_topic *t = find_topic(store, name, len, NULL);
    if (t)
        memcpy(id, t->id, ST_TOPIC_ID_LEN);
    pthread_rwlock_unlock(&store->mu);
    return t ? 0 : -ENOENT;
}

int st_topic_by_id(struct st_store *store, const uint8_t id[ST_TOPIC_ID_LEN], char *name,
                   size_t cap)
{
    int err = -ENOENT;
    pthread_rwlock_rdlock(&store->mu);
    const struct st_topic *t = NULL;
    if (store->idht) { /* Fetch v13 asks this for every topic of every fetch */
        uint32_t mask = store->ht_cap - 1;
        for (uint32_t h = name_hash((const char *)id, ST_TOPIC_ID_LEN) & mask; store->idht[h] && !t;
             h = (h + 1) & mask)
            if (memcmp(store->idht[h]->id, id, ST_TOPIC_ID_LEN) == 0)
                t = store->idht[h];
    } else {
        for (int i = 0; i < store->ntopics && !t; i++)
            if (memcmp(store->topics[i]->id, id, ST_TOPIC_ID_LEN) == 0)
                t = store->topics[i];
    }
    if (t) {
        size_t n = strlen(t->name);
        if (n < cap)
            memcpy(name, t->name, n + 1);
        err = n < cap ? 0 : -ENAMETOOLONG;
    }
    pthread_rwlock_unlock(&store->mu);
    return err;
}

int st_topic_config(struct st_store *store, const char *name, size_t len, struct st_log_config *cfg,
                    uint32_t *overrides)
{
    pthread_rwlock_rdlock(&store->mu);
    struct st_topic *t = find_topic(store, name, len, NULL);
    if (t) {
        *cfg = t->cfg;
        *overrides = t->overrides;
    }
    pthread_rwlock_unlock(&store->mu);
    return t ? 0 : -ENOENT;
}

/* The keys a running log takes from a new config (the others were fixed when its files were
 * laid out: the index keys apply to segments opened from now on). Under the log's lock, as
 * appends, rolls and retention read them under it. */
static void log_reconfigure(struct st_log *log, const struct st_log_config *c)
{
    pthread_mutex_lock(&log->mu);
    /* atomic stores where the cleaner reads without the lock (ST_CLEAN_CFG) */
    __atomic_store_n(&log->cfg.segment_bytes,
                     c->segment_bytes > 0 && c->segment_bytes <= INT32_MAX ? c->segment_bytes
                                                                           : (int64_t)INT32_MAX,
                     __ATOMIC_RELAXED);
    log->cfg.roll_ms = c->roll_ms;
    log->cfg.retention_bytes = c->retention_bytes;
    log->cfg.retention_ms = c->retention_ms;
    log->cfg.flush_interval_messages = c->flush_interval_messages;
    log->cfg.flush_interval_ms = c->flush_interval_ms;
    __atomic_store_n(&log->cfg.index_interval_bytes, c->index_interval_bytes, __ATOMIC_RELAXED);
    log->cfg.index_max_bytes = c->index_max_bytes;
    log->cfg.log_append_time = c->log_append_time;
    __atomic_store_n(&log->cfg.max_message_bytes, c->max_message_bytes, __ATOMIC_RELAXED);
    __atomic_store_n(&log->cfg.min_insync_replicas, c->min_insync_replicas, __ATOMIC_RELAXED);
    __atomic_store_n(&log->cfg.compression_type, c->compression_type, __ATOMIC_RELAXED);
    /* the compaction keys: the cleaner reads them without the log's lock (st_int.h) */
    st__clean_cfg_store(log, c);
    pthread_mutex_unlock(&log->mu);
}

int st_store_set_defaults(struct st_store *store, const struct st_log_config *d)
{
    if (!d)
        return -EINVAL;
    struct st_log_config nd = store->defaults;
    bool changed = false;
    for (int k = 0; k < ST_TK_COUNT; k++) {
        int64_t v = st_topic_key_get(d, (enum st_topic_key)k);
        if (st_topic_key_get(&nd, (enum st_topic_key)k) == v)
            continue;
        changed = true;
        /* a default may be -1 ("the broker's") where a topic's may not: unchecked, as merges */
        if (k < NKEYS)
            cfg_set(&nd, k, v);
        else if (st_topic_key_set(&nd, (enum st_topic_key)k, v) < 0)
            return -EINVAL;
    }
    if (!changed)
        return 0; /* (at start, without dynamic configs: no log is touched) */
    pthread_rwlock_wrlock(&store->mu);
    store->defaults = nd;
    for (int i = 0; i < store->ntopics; i++) {
        struct st_topic *t = store->topics[i];
        struct st_log_config c = t->cfg;
        cfg_merge(&c, &nd, t->overrides);
        t->cfg = c;
        for (int32_t p = 0; p < t->partitions; p++)
            log_reconfigure(t->logs[p], &c); /* store->mu, then the log's: as nowhere reversed */
    }
    pthread_rwlock_unlock(&store->mu);
    return 0;
}

/*
 * Config changes and partition growth rewrite the metadata file. They are serialised with
 * creates and deletes by reserving the name (pending), as create does, so two of them never
 * write the file at once and a delete cannot interleave; lookups go on meanwhile.
 */
static int topic_reserve(struct st_store *store, const char *name, struct st_topic **out)
{
    pthread_rwlock_wrlock(&store->mu);
    int err = 0;
    struct st_topic *t = find_topic(store, name, strlen(name), NULL);
    if (!t)
        err = -ENOENT;
    else if (pending_has(store, name))
        err = -EBUSY;
    else
        err = pending_add(store, name);
    pthread_rwlock_unlock(&store->mu);
    *out = t;
    return err;
}

static void topic_release(struct st_store *store, const char *name)
{
    pthread_rwlock_wrlock(&store->mu);
    pending_del(store, name);
    pthread_rwlock_unlock(&store->mu);
}

int st_topic_config_set(struct st_store *store, const char *name, const struct st_log_config *cfg,
                        uint32_t overrides)
{
    if (!name || !cfg)
        return -EINVAL;
    overrides &= (1u << ST_TK_COUNT) - 1;
    struct st_log_config nc = *cfg;
    for (int k = 0; k < ST_TK_COUNT; k++)
        if ((overrides & (1u << k)) &&
            st_topic_key_set(&nc, (enum st_topic_key)k,
                             st_topic_key_get(cfg, (enum st_topic_key)k)) < 0)
            return -EINVAL;
    struct st_topic *t;
    int err = topic_reserve(store, name, &t);
    if (err < 0)
        return err;
    /* t stays in topics[] while its name is reserved: no delete can take it */
    struct st_topic shadow = *t;
    /* the defaults under the lock: st_store_set_defaults may change them meanwhile (another
     * thread: a dynamic broker config, while a cluster's topic configs are applied) */
    pthread_rwlock_rdlock(&store->mu);
    struct st_log_config defaults = store->defaults;
    pthread_rwlock_unlock(&store->mu);
    cfg_merge(&nc, &defaults, overrides);
    /* fields that are not topic keys keep the topic's values */
    struct st_log_config full = t->cfg;
    for (int k = 0; k < NKEYS; k++)
        cfg_set(&full, k, cfg_get(&nc, k));
    full.log_append_time = nc.log_append_time;
    for (int k = ST_TK_CLEANUP_POLICY; k < ST_TK_COUNT; k++)
        st_topic_key_set(&full, (enum st_topic_key)k, st_topic_key_get(&nc, (enum st_topic_key)k));
    shadow.cfg = full;
    shadow.overrides = overrides;
    err = meta_write(store, &shadow);
    if (err == 0) {
        pthread_rwlock_wrlock(&store->mu);
        t->cfg = full;
        t->overrides = overrides;
        int32_t np = t->partitions;
        pthread_rwlock_unlock(&store->mu);
        for (int32_t p = 0; p < np; p++)
            log_reconfigure(t->logs[p], &full);
    }
    topic_release(store, name);
    return err;
}

int64_t st_topic_zxid(struct st_store *store, const char *name, size_t len)
{
    pthread_rwlock_rdlock(&store->mu);
    struct st_topic *t = find_topic(store, name, len, NULL);
    int64_t r = t ? t->zxid : -ENOENT;
    pthread_rwlock_unlock(&store->mu);
    return r;
}

int st_topic_set_zxid(struct st_store *store, const char *name, int64_t zxid)
{
    if (!name || zxid <= 0)
        return -EINVAL;
    struct st_topic *t;
    int err = topic_reserve(store, name, &t);
    if (err < 0)
        return err;
    struct st_topic shadow = *t;
    shadow.zxid = zxid;
    if ((err = meta_write(store, &shadow)) == 0) {
        pthread_rwlock_wrlock(&store->mu);
        t->zxid = zxid;
        pthread_rwlock_unlock(&store->mu);
    }
    topic_release(store, name);
    return err;
}

int st_topic_add_partitions(struct st_store *store, const char *name, int32_t total)
{
    if (!name)
        return -EINVAL;
    struct st_topic *t;
    int err = topic_reserve(store, name, &t);
    if (err < 0)
        return err;
    int32_t old = t->partitions;
    if (total <= old || total > ST_MAX_PARTITIONS) {
        topic_release(store, name);
        return -EINVAL;
    }
    struct st_log **logs = calloc((size_t)total, sizeof(*logs));
    if (!logs) {
        topic_release(store, name);
        return -ENOMEM;
    }
    char path[ST_MAX_PATH];
    int32_t made = old;
    for (int32_t p = old; p < total && err == 0; p++) {
        snprintf(path, sizeof(path), "%s/%s-%" PRId32, store->dir, name, p);
        remove_dir(path); /* leftovers of an interrupted growth */
        err = st__log_new(store, name, p, &t->cfg, &logs[p]); /* dormant, no files yet */
        if (err == 0)
            made = p + 1;
    }
    if (err == 0)
        err = st_fsync_dir(store->dir);
    if (err == 0) {
        struct st_topic shadow = *t;
        shadow.partitions = total;
        err = meta_write(store, &shadow); /* the commit point */
    }
    if (err < 0) {
        for (int32_t p = old; p < made; p++) {
            log_delete(logs[p]);
            st_log_put(logs[p]);
        }
        free(logs);
        topic_release(store, name);
        return err;
    }
    pthread_rwlock_wrlock(&store->mu);
    memcpy(logs, t->logs, (size_t)old * sizeof(*logs));
    free(t->logs);
    t->logs = logs;
    t->partitions = total;
    pending_del(store, name);
    pthread_rwlock_unlock(&store->mu);
    return 0;
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

/*
 * Recovering the logs a crash left unchecked (RECOVERY RULE in st_segment.c), at store open:
 * each log is recovered by one thread, under its own sync_mu, as at its first use, and the
 * logs are independent (their directories, files and state are their own; the store's totals
 * are under open_mu, its messages under msg_mu, the descriptor cache has its own lock), so
 * num.recovery.threads.per.data.dir threads take them in turn. The first error ends the
 * open, as one thread's would.
 */
enum { RECOVERERS_MAX = 64 };

struct recovering {
    struct st_log **logs;
    int64_t n;
    _Atomic int64_t next;
    _Atomic int err;
};

static void *recoverer(void *arg)
{
    struct recovering *r = arg;
    for (int64_t i; atomic_load(&r->err) == 0 && (i = atomic_fetch_add(&r->next, 1)) < r->n;) {
        int e = st__log_activate(r->logs[i]);
        int zero = 0;
        if (e < 0)
            atomic_compare_exchange_strong(&r->err, &zero, e);
    }
    return NULL;
}

/* The number of recovery threads for n logs: the key, or one per online CPU. */
static int recoverers(const struct st_store *st, int64_t n)
{
    long k = st->defaults.recovery_threads;
    if (k <= 0)
        k = sysconf(_SC_NPROCESSORS_ONLN);
    if (k < 1)
        k = 1;
    if (k > RECOVERERS_MAX)
        k = RECOVERERS_MAX;
    if (k > n)
        k = n > 0 ? (long)n : 1;
    return (int)k;
}

static int recover_logs(struct st_store *st)
{
    struct recovering r = {.logs = st->rec_logs, .n = st->nrec};
    atomic_init(&r.next, 0);
    atomic_init(&r.err, 0);
    pthread_t th[RECOVERERS_MAX];
    int want = recoverers(st, r.n), nth = 0;
    for (; nth + 1 < want; nth++)
        if (pthread_create(&th[nth], NULL, recoverer, &r) != 0)
            break;
    recoverer(&r); /* this thread too (and alone, when no thread could start) */
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    return atomic_load(&r.err);
}

static void recover_drop(struct st_store *st)
{
    for (int64_t i = 0; i < st->nrec; i++)
        st_log_put(st->rec_logs[i]);
    free(st->rec_logs);
    st->rec_logs = NULL;
    st->nrec = st->cap_rec = 0;
}

void st__say(struct st_store *st, enum st_msg_level lv, const char *msg)
{
    if (!st->msg_fn)
        return;
    pthread_mutex_lock(&st->msg_mu);
    st->msg_fn(st->msg_arg, lv, msg);
    pthread_mutex_unlock(&st->msg_mu);
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
        uint32_t overrides = 0;
        uint8_t id[ST_TOPIC_ID_LEN] = {0};
        int64_t zxid = 0;
        if ((err = meta_read(st, name, &parts, &cfg, &overrides, id, &zxid)) < 0)
            break;
        struct st_topic *t;
        if ((err = topic_load(st, name, parts, &cfg, true, lazy, &t)) < 0)
            break;
        t->overrides = overrides;
        t->zxid = zxid;
        memcpy(t->id, id, ST_TOPIC_ID_LEN);
        if (id_zero(t->id)) { /* written before topic ids: give it one, for good */
            id_new(t->id);
            if ((err = meta_write(st, t)) < 0) {
                topic_free(t);
                break;
            }
        }
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
    st->cache_keep = st->defaults.replica_cache_keep_bytes;
    pthread_rwlock_init(&st->mu, NULL);
    pthread_mutex_init(&st->scrub_mu, NULL);
    pthread_mutex_init(&st->dir_mu, NULL);
    pthread_mutex_init(&st->ck_mu, NULL);
    pthread_mutex_init(&st->msg_mu, NULL);
    pthread_mutex_init(&st->open_mu, NULL);
    st->ck_fd = -1;
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
        if (unlink(mpath) < 0 || (err = st_fsync_dir(dir)) < 0)
            err = err < 0 ? err : -errno;
    }
    st->msg_fn = fn; /* kept: logs opened at their first use report through it too */
    st->msg_arg = arg;
    /* after a crash, the log checkpoint may leave the logs that did not change dormant */
    if (err == 0 && (err = st__ck_open(st, lazy)) < 0) {
        /* without it, a crash recovers every log at start-up, as before it existed */
        if (fn) {
            char msg[ST_MAX_PATH + 128];
            snprintf(msg, sizeof(msg),
                     "storage %s: no log checkpoint (%s): after a crash every "
                     "log is recovered at start-up",
                     dir, strerror(-err));
            fn(arg, ST_MSG_WARN, msg);
        }
        st__ck_close(st);
        err = 0;
    }
    if (err == 0) {
        st->opening = true;
        pthread_rwlock_wrlock(&st->mu);
        err = load_topics(st, lazy);
        if (err == 0)
            err = recover_logs(st);
        recover_drop(st);
        if (err == 0)
            st__ck_opened(st);
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
            if (r->ckpt_dormant > 0 || st->ck_damaged > 0) {
                snprintf(msg, sizeof(msg),
                         "storage %s: %lld log(s) unchanged since the log checkpoint left "
                         "dormant (recovered at their first use), %lld damaged slot(s)",
                         dir, (long long)r->ckpt_dormant, (long long)st->ck_damaged);
                fn(arg, st->ck_damaged > 0 ? ST_MSG_WARN : ST_MSG_INFO, msg);
            }
        }
        if (report)
            *report = *r;
    }
    if (err < 0) {
        st__flusher_stop(st);
        st__ck_close(st);
        for (int i = 0; i < st->ntopics; i++)
            topic_free(st->topics[i]);
        free(st->topics);
        free(st->ht);
        free(st->idht);
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
    st__ck_close(store);
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
            (void)st_fsync_dir(store->dir);
        }
    }
    free(store->topics);
    for (int i = 0; i < store->npending; i++)
        free(store->pending[i]);
    free(store->pending);
    pthread_rwlock_destroy(&store->mu);
    free(store->ht);
    free(store->idht);
    pthread_mutex_destroy(&store->scrub_mu);
    pthread_mutex_destroy(&store->dir_mu);
    pthread_mutex_destroy(&store->fl_mu);
    pthread_mutex_destroy(&store->msg_mu);
    pthread_mutex_destroy(&store->open_mu);
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
