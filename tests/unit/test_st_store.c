/*
 * test_st_store — topics and their metadata, log lookup, flush policy and group commit.
 */
#include <pthread.h>

#include "test_st_util.h"

static char dir[256];
static struct st_store *store;

static int notified;

static void setup(void)
{
    notified = 0;
    tst_mkdtemp(dir, sizeof(dir));
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
}

static void teardown(void)
{
    if (store)
        st_store_close(store);
    store = NULL;
    tst_rmrf(dir);
}

START_TEST(t_topic_names)
{
    ck_assert(st_topic_name_valid("orders", 6));
    ck_assert(st_topic_name_valid("a.b_c-D9", 8));
    ck_assert(st_topic_name_valid("...", 3));
    ck_assert(!st_topic_name_valid(".", 1));
    ck_assert(!st_topic_name_valid("..", 2));
    ck_assert(!st_topic_name_valid("", 0));
    ck_assert(!st_topic_name_valid("a/b", 3));
    ck_assert(!st_topic_name_valid("a b", 3));
    ck_assert(!st_topic_name_valid("caf\xc3\xa9", 5));
    char name[251];
    memset(name, 'x', sizeof(name));
    ck_assert(st_topic_name_valid(name, 249));
    ck_assert(!st_topic_name_valid(name, 250));
    name[249] = 0;
    ck_assert_int_eq(st_topic_create(store, name, 3, NULL), 0); /* fits NAME_MAX on disk */
    st_store_close(store);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_partitions(store, name, 249), 3);
    ck_assert_int_eq(st_topic_delete(store, name), 0);
    ck_assert_int_eq(st_topic_create(store, "a/b", 1, NULL), -EINVAL);
    ck_assert_int_eq(st_topic_create(store, "..", 1, NULL), -EINVAL);
    ck_assert_int_eq(st_topic_create(store, "ok", 0, NULL), -EINVAL);
}
END_TEST

static void count_topics(void *arg, const char *name, int32_t parts)
{
    (void)name;
    *(int *)arg += parts;
}

START_TEST(t_create_reopen_delete)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 123456;
    c.retention_ms = -1;
    c.log_append_time = true;
    ck_assert_int_eq(st_topic_create(store, "alpha", 3, &c), 0);
    ck_assert_int_eq(st_topic_create(store, "beta", 1, NULL), 0);
    ck_assert_int_eq(st_topic_create(store, "alpha", 2, NULL), -EEXIST);
    ck_assert_int_eq(st_topic_partitions(store, "alpha", 5), 3);
    ck_assert_int_eq(st_topic_partitions(store, "alphabet", 5), 3); /* by length */
    ck_assert_int_eq(st_topic_partitions(store, "gamma", 5), -ENOENT);
    ck_assert_ptr_null(st_log_get(store, "alpha", 5, 3));
    ck_assert_ptr_null(st_log_get(store, "alpha", 5, -1));
    ck_assert_ptr_null(st_log_get(store, "nope", 4, 0));
    for (int p = 0; p < 3; p++) {
        struct st_log *log = st_log_get(store, "alpha", 5, p);
        ck_assert_ptr_nonnull(log);
        ck_assert_str_eq(st_log_topic(log), "alpha");
        ck_assert_int_eq(st_log_partition(log), p);
        for (int i = 0; i <= p; i++)
            tst_append1(log, 2, 10, 1, 1);
        st_log_put(log);
    }
    /* the metadata file holds the overrides only */
    char path[512];
    snprintf(path, sizeof(path), "%s/alpha.topic", dir);
    size_t len;
    char *meta = (char *)tst_slurp(path, &len);
    ck_assert_ptr_nonnull(meta);
    meta[len] = 0;
    ck_assert_ptr_nonnull(strstr(meta, "partitions=3\n"));
    ck_assert_ptr_nonnull(strstr(meta, "segment.bytes=123456\n"));
    ck_assert_ptr_nonnull(strstr(meta, "retention.ms=-1\n"));
    ck_assert_ptr_nonnull(strstr(meta, "message.timestamp.type=LogAppendTime\n"));
    ck_assert_ptr_null(strstr(meta, "flush.ms"));
    free(meta);

    st_store_close(store);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    int total = 0;
    st_topic_foreach(store, count_topics, &total);
    ck_assert_int_eq(total, 4);
    for (int p = 0; p < 3; p++) {
        struct st_log *log = st_log_get(store, "alpha", 5, p);
        ck_assert_ptr_nonnull(log);
        ck_assert_int_eq(st_log_end_offset(log), 2 * (p + 1));
        ck_assert_int_eq(log->cfg.segment_bytes, 123456);
        ck_assert(log->cfg.log_append_time);
        st_log_put(log);
    }

    /* delete while a reader holds a range: the range stays readable */
    struct st_log *log = st_log_get(store, "alpha", 5, 2);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, 0, 1 << 20, &rd), 0);
    ck_assert_int_eq(st_topic_delete(store, "alpha"), 0);
    ck_assert_int_eq(st_topic_delete(store, "alpha"), -ENOENT);
    ck_assert_int_eq(st_topic_partitions(store, "alpha", 5), -ENOENT);
    snprintf(path, sizeof(path), "%s/alpha-2", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    snprintf(path, sizeof(path), "%s/alpha.topic", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    struct tst_seen seen;
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.next, 6);
    st_read_release(&rd);
    /* appends to a deleted topic's log fail; reads of what it had still work */
    uint8_t buf[256];
    size_t n = tst_batch(buf, sizeof(buf), 1, 5, 1, 1);
    struct iovec iv = {buf, n};
    struct st_append_result res;
    ck_assert_int_eq(st_log_append(log, &iv, 1, 1, &res), -ENOENT);
    st_log_put(log);
    /* and the name can be used again, fresh */
    ck_assert_int_eq(st_topic_create(store, "alpha", 1, NULL), 0);
    log = st_log_get(store, "alpha", 5, 0);
    ck_assert_int_eq(st_log_end_offset(log), 0);
    st_log_put(log);
    st_store_close(store);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    total = 0;
    st_topic_foreach(store, count_topics, &total);
    ck_assert_int_eq(total, 2);
}
END_TEST

START_TEST(t_many_topics)
{
    char name[32];
    for (int i = 0; i < 60; i++) {
        snprintf(name, sizeof(name), "topic.%d", i);
        ck_assert_int_eq(st_topic_create(store, name, 1 + i % 3, NULL), 0);
    }
    for (int i = 0; i < 60; i += 2) {
        snprintf(name, sizeof(name), "topic.%d", i);
        ck_assert_int_eq(st_topic_delete(store, name), 0);
    }
    for (int i = 0; i < 60; i++) {
        snprintf(name, sizeof(name), "topic.%d", i);
        int32_t want = i % 2 ? 1 + i % 3 : -ENOENT;
        ck_assert_int_eq(st_topic_partitions(store, name, strlen(name)), want);
        struct st_log *log = st_log_get(store, name, strlen(name), 0);
        ck_assert(i % 2 ? log != NULL : log == NULL);
        if (log) {
            ck_assert_str_eq(st_log_topic(log), name);
            st_log_put(log);
        }
    }
    ck_assert_int_eq(st_topic_partitions(store, "topic.1x", 7), 1 + 1 % 3); /* by length */
    ck_assert_int_eq(st_topic_partitions(store, "topic.", 6), -ENOENT);
}
END_TEST

/* ---- flush policy ---------------------------------------------------------------------------- */

static pthread_mutex_t nmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ncond = PTHREAD_COND_INITIALIZER;

static int64_t seen_durable[64]; /* durable offset at each notification */

static void on_notify(void *arg, struct st_log *log)
{
    (void)arg;
    pthread_mutex_lock(&nmu);
    if (notified < 64)
        seen_durable[notified] = st_log_durable_offset(log);
    notified++;
    pthread_cond_broadcast(&ncond);
    pthread_mutex_unlock(&nmu);
}

/* Waits (bounded) until the log's durable offset reaches want. */
static void wait_durable(struct st_log *log, int64_t want)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 20;
    pthread_mutex_lock(&nmu);
    while (st_log_durable_offset(log) < want) {
        if (pthread_cond_timedwait(&ncond, &nmu, &dl) != 0)
            break;
    }
    pthread_mutex_unlock(&nmu);
    ck_assert_int_ge(st_log_durable_offset(log), want);
}

START_TEST(t_flush_every_message)
{
    st_store_set_notify(store, on_notify, NULL);
    struct st_log_config c = tst_cfg();
    c.flush_interval_messages = 1;
    ck_assert_int_eq(st_topic_create(store, "f", 1, &c), 0);
    struct st_log *log = st_log_get(store, "f", 1, 0);
    ck_assert_int_eq(st_log_durable_offset(log), 0);
    for (int i = 0; i < 5; i++) {
        uint8_t buf[256];
        size_t n = tst_batch(buf, sizeof(buf), 3, 10, i, i);
        struct iovec iv = {buf, n};
        struct st_append_result res;
        ck_assert_int_eq(st_log_append(log, &iv, 1, 1, &res), 0);
        ck_assert(res.sync_needed);
        wait_durable(log, res.last_offset + 1);
    }
    ck_assert_int_gt(notified, 0);
    /* the recovery point covers the log: a crash now loses nothing */
    st_log_put(log);
}
END_TEST

START_TEST(t_flush_by_count_and_time)
{
    struct st_log_config c = tst_cfg();
    c.flush_interval_messages = 10;
    ck_assert_int_eq(st_topic_create(store, "n", 1, &c), 0);
    c.flush_interval_messages = -1;
    c.flush_interval_ms = 20;
    ck_assert_int_eq(st_topic_create(store, "m", 1, &c), 0);
    struct st_log *ln = st_log_get(store, "n", 1, 0);
    struct st_log *lm = st_log_get(store, "m", 1, 0);
    st_store_set_notify(store, on_notify, NULL);
    uint8_t buf[256];
    size_t n = tst_batch(buf, sizeof(buf), 4, 10, 1, 1);
    struct iovec iv = {buf, n};
    struct st_append_result res;
    ck_assert_int_eq(st_log_append(ln, &iv, 1, 1, &res), 0);
    ck_assert(!res.sync_needed);
    ck_assert_int_eq(st_log_append(ln, &iv, 1, 1, &res), 0);
    ck_assert(!res.sync_needed);
    ck_assert_int_eq(st_log_append(ln, &iv, 1, 1, &res), 0); /* 12 records >= 10 */
    ck_assert(res.sync_needed);
    wait_durable(ln, 12);
    ck_assert_int_eq(st_log_append(lm, &iv, 1, 1, &res), 0);
    ck_assert(!res.sync_needed);
    wait_durable(lm, 4); /* by time, with nobody asking */
    st_log_put(ln);
    st_log_put(lm);
}
END_TEST

struct producer {
    struct st_log *log;
    int n;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    uint8_t buf[256];
    for (int i = 0; i < p->n; i++) {
        size_t n = tst_batch(buf, sizeof(buf), 1, 20, i, i);
        struct iovec iv = {buf, n};
        struct st_append_result res;
        if (st_log_append(p->log, &iv, 1, 1, &res) != 0 || !res.sync_needed)
            return (void *)1;
        /* an acks=all producer: wait until its record is durable */
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 20;
        pthread_mutex_lock(&nmu);
        while (st_log_durable_offset(p->log) <= res.last_offset)
            if (pthread_cond_timedwait(&ncond, &nmu, &dl) != 0)
                break;
        pthread_mutex_unlock(&nmu);
        if (st_log_durable_offset(p->log) <= res.last_offset)
            return (void *)2;
    }
    return NULL;
}

START_TEST(t_group_commit_producers)
{
    st_store_set_notify(store, on_notify, NULL);
    struct st_log_config c = tst_cfg();
    c.flush_interval_messages = 1;
    ck_assert_int_eq(st_topic_create(store, "g", 1, &c), 0);
    struct st_log *log = st_log_get(store, "g", 1, 0);
    enum { P = 4, N = 50 };
    pthread_t th[P];
    struct producer pr[P];
    for (int i = 0; i < P; i++) {
        pr[i] = (struct producer){log, N};
        ck_assert_int_eq(pthread_create(&th[i], NULL, produce, &pr[i]), 0);
    }
    for (int i = 0; i < P; i++) {
        void *r;
        pthread_join(th[i], &r);
        ck_assert_ptr_null(r);
    }
    ck_assert_int_eq(st_log_end_offset(log), P * N);
    ck_assert_int_eq(st_log_durable_offset(log), P * N);
    /* one notification per sync; concurrent producers share syncs, so there are at most as
     * many syncs as appends */
    ck_assert_int_le(notified, P * N);
    st_log_put(log);
}
END_TEST

START_TEST(t_group_commit_one_sync_covers_all_waiters)
{
    struct st_log_config c = tst_cfg();
    c.flush_interval_messages = 1;
    ck_assert_int_eq(st_topic_create(store, "gc", 1, &c), 0);
    struct st_log *log = st_log_get(store, "gc", 2, 0);
    st_store_set_notify(store, on_notify, NULL);
    /* (a new log is dormant until its first use, which opens it under sync_mu: open it first) */
    ck_assert_int_eq(st__log_activate(log), 0);
    /* a sync in progress: the flusher cannot start another until it ends */
    pthread_mutex_lock(&log->sync_mu);
    for (int i = 0; i < 4; i++) {
        uint8_t buf[256];
        size_t n = tst_batch(buf, sizeof(buf), 1, 10, i, i);
        struct iovec iv = {buf, n};
        struct st_append_result res;
        ck_assert_int_eq(st_log_append(log, &iv, 1, 1, &res), 0);
        ck_assert(res.sync_needed);
    }
    ck_assert_int_eq(st_log_durable_offset(log), 0);
    pthread_mutex_unlock(&log->sync_mu);
    wait_durable(log, 4);
    /* the first sync after the four appends covered all of them: one fdatasync */
    pthread_mutex_lock(&nmu);
    ck_assert_int_ge(notified, 1);
    ck_assert_int_eq(seen_durable[0], 4);
    pthread_mutex_unlock(&nmu);
    st_log_put(log);
}
END_TEST

START_TEST(t_log_ref_outlives_close_of_topic)
{
    ck_assert_int_eq(st_topic_create(store, "r", 2, NULL), 0);
    struct st_log *log = st_log_get(store, "r", 1, 1);
    tst_append1(log, 1, 10, 1, 1);
    st_store_close(store);
    store = NULL;
    /* the store is gone; the log object lives until put, appends are refused */
    ck_assert_int_eq(st_log_end_offset(log), 1);
    uint8_t buf[256];
    size_t n = tst_batch(buf, sizeof(buf), 1, 5, 1, 1);
    struct iovec iv = {buf, n};
    struct st_append_result res;
    ck_assert_int_eq(st_log_append(log, &iv, 1, 1, &res), -ESHUTDOWN);
    st_log_put(log);
}
END_TEST

/* Topic ids: one per topic, never zero, kept across a reopen; a metadata file written before
 * topic ids gets one at open, written back (the same one at the next open). */
START_TEST(t_topic_ids)
{
    uint8_t a[ST_TOPIC_ID_LEN], b[ST_TOPIC_ID_LEN], zero[ST_TOPIC_ID_LEN] = {0};
    ck_assert_int_eq(st_topic_create(store, "ida", 1, NULL), 0);
    ck_assert_int_eq(st_topic_create(store, "idb", 2, NULL), 0);
    ck_assert_int_eq(st_topic_id(store, "ida", 3, a), 0);
    ck_assert_int_eq(st_topic_id(store, "idb", 3, b), 0);
    ck_assert_int_ne(memcmp(a, zero, sizeof(a)), 0);
    ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
    ck_assert_int_eq(st_topic_id(store, "nope", 4, b), -ENOENT);
    char name[32];
    ck_assert_int_eq(st_topic_by_id(store, a, name, sizeof(name)), 0);
    ck_assert_str_eq(name, "ida");
    /* the id index follows creates and deletes */
    uint8_t ids[40][ST_TOPIC_ID_LEN];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "many-%d", i);
        ck_assert_int_eq(st_topic_create(store, name, 1, NULL), 0);
        ck_assert_int_eq(st_topic_id(store, name, strlen(name), ids[i]), 0);
    }
    for (int i = 0; i < 40; i++) {
        char want[32];
        snprintf(want, sizeof(want), "many-%d", i);
        ck_assert_int_eq(st_topic_by_id(store, ids[i], name, sizeof(name)), 0);
        ck_assert_str_eq(name, want);
        ck_assert_int_eq(st_topic_by_id(store, ids[i], name, 3), -ENAMETOOLONG);
    }
    ck_assert_int_eq(st_topic_delete(store, "many-7"), 0);
    ck_assert_int_eq(st_topic_by_id(store, ids[7], name, sizeof(name)), -ENOENT);
    ck_assert_int_eq(st_topic_by_id(store, ids[8], name, sizeof(name)), 0);
    ck_assert_int_eq(st_topic_by_id(store, a, name, sizeof(name)), 0);
    ck_assert_str_eq(name, "ida");
    st_store_close(store);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_id(store, "ida", 3, b), 0);
    ck_assert_int_eq(memcmp(a, b, sizeof(a)), 0);

    /* an old metadata file, without id= */
    char path[512];
    snprintf(path, sizeof(path), "%s/old.topic", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("# splicelog topic metadata\nversion=1\npartitions=1\nretention.ms=1000\n", f);
    fclose(f);
    st_store_close(store);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_id(store, "old", 3, a), 0);
    ck_assert_int_ne(memcmp(a, zero, sizeof(a)), 0);
    struct st_log_config c;
    uint32_t ov;
    ck_assert_int_eq(st_topic_config(store, "old", 3, &c, &ov), 0);
    ck_assert_int_eq(c.retention_ms, 1000);
    ck_assert_uint_eq(ov, 1u << ST_TK_RETENTION_MS);
    st_store_close(store);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_id(store, "old", 3, b), 0);
    ck_assert_int_eq(memcmp(a, b, sizeof(a)), 0);
}
END_TEST

/* A cluster topic's creation zxid (st_topic_zxid): set by a create with the cluster's zxid or
 * by st_topic_set_zxid, kept across a reopen, a config change and a growth; 0 for a topic
 * created without one; a metadata file with a negative one is refused at open. */
START_TEST(t_topic_cluster_zxid)
{
    uint8_t id[ST_TOPIC_ID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    int64_t big = (int64_t)7 << 32 | 12345; /* (an epoch in the high half, as ZooKeeper's) */
    ck_assert_int_eq(st_topic_create_id(store, "clu", 1, NULL, id, big), 0);
    ck_assert_int_eq(st_topic_create(store, "own", 1, NULL), 0);
    ck_assert_int_eq(st_topic_create(store, "late", 1, NULL), 0);
    ck_assert(st_topic_zxid(store, "clu", 3) == big);
    ck_assert(st_topic_zxid(store, "own", 3) == 0);
    ck_assert(st_topic_zxid(store, "nope", 4) == -ENOENT);
    ck_assert_int_eq(st_topic_set_zxid(store, "late", 99), 0);
    ck_assert_int_eq(st_topic_set_zxid(store, "late", 0), -EINVAL);
    ck_assert_int_eq(st_topic_set_zxid(store, "nope", 5), -ENOENT);
    struct st_log_config c;
    uint32_t ov;
    ck_assert_int_eq(st_topic_config(store, "clu", 3, &c, &ov), 0);
    c.retention_ms = 5000;
    ck_assert_int_eq(st_topic_config_set(store, "clu", &c, 1u << ST_TK_RETENTION_MS), 0);
    ck_assert_int_eq(st_topic_add_partitions(store, "late", 2), 0);
    st_store_close(store);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert(st_topic_zxid(store, "clu", 3) == big);
    ck_assert(st_topic_zxid(store, "late", 4) == 99);
    ck_assert(st_topic_zxid(store, "own", 3) == 0);
    uint8_t got[ST_TOPIC_ID_LEN];
    ck_assert_int_eq(st_topic_id(store, "clu", 3, got), 0);
    ck_assert_int_eq(memcmp(got, id, sizeof(id)), 0);
    st_store_close(store);
    store = NULL;

    char path[512];
    snprintf(path, sizeof(path), "%s/bad.topic", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("version=1\npartitions=1\ncluster.zxid=-3\n", f);
    fclose(f);
    ck_assert_int_lt(st_store_open(dir, NULL, &store), 0);
    unlink(path);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
}
END_TEST

/* Config overrides: set, in effect on the running logs, kept across a reopen; a key taken out
 * of the overrides follows the defaults again. */
START_TEST(t_topic_config_set)
{
    ck_assert_int_eq(st_topic_create(store, "cfg", 2, NULL), 0);
    struct st_log_config c, d;
    uint32_t ov;
    st_store_defaults(store, &d);
    ck_assert_int_eq(st_topic_config(store, "cfg", 3, &c, &ov), 0);
    ck_assert_uint_eq(ov, 0);
    ck_assert_int_eq(st_topic_key_find("retention.bytes", 15), ST_TK_RETENTION_BYTES);
    ck_assert_int_eq(st_topic_key_find("nope", 4), -ENOENT);
    ck_assert_int_eq(st_topic_key_set(&c, ST_TK_RETENTION_BYTES, 4096), 0);
    ck_assert_int_eq(st_topic_key_set(&c, ST_TK_TIMESTAMP_TYPE, 1), 0);
    ck_assert_int_eq(st_topic_key_set(&c, ST_TK_MIN_INSYNC_REPLICAS, 0), -EINVAL);
    ck_assert_int_eq(st_topic_key_set(&c, ST_TK_MAX_MESSAGE_BYTES, 1000), 0);
    uint32_t want =
        1u << ST_TK_RETENTION_BYTES | 1u << ST_TK_TIMESTAMP_TYPE | 1u << ST_TK_MAX_MESSAGE_BYTES;
    ck_assert_int_eq(st_topic_config_set(store, "cfg", &c, want), 0);
    struct st_log *log = st_log_get(store, "cfg", 3, 1);
    ck_assert_ptr_nonnull(log);
    ck_assert_int_eq(log->cfg.retention_bytes, 4096);
    ck_assert(log->cfg.log_append_time);
    ck_assert_int_eq(log->cfg.max_message_bytes, 1000);
    st_log_put(log);
    st_store_close(store);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_config(store, "cfg", 3, &c, &ov), 0);
    ck_assert_uint_eq(ov, want);
    ck_assert_int_eq(c.retention_bytes, 4096);
    ck_assert(c.log_append_time);
    /* drop retention.bytes: back to the default */
    ck_assert_int_eq(st_topic_config_set(store, "cfg", &c, want & ~(1u << ST_TK_RETENTION_BYTES)),
                     0);
    ck_assert_int_eq(st_topic_config(store, "cfg", 3, &c, &ov), 0);
    ck_assert_int_eq(c.retention_bytes, d.retention_bytes);
    /* a default of -1 ("not set": the broker's message.max.bytes) comes back too */
    ck_assert_int_eq(st_topic_config_set(store, "cfg", &c, 1u << ST_TK_TIMESTAMP_TYPE), 0);
    ck_assert_int_eq(st_topic_config(store, "cfg", 3, &c, &ov), 0);
    ck_assert_int_eq(c.max_message_bytes, -1);
    ck_assert(c.log_append_time);
    ck_assert_int_eq(st_topic_config_set(store, "missing", &c, 0), -ENOENT);
}
END_TEST

/* Growing a topic: new partitions usable at once and kept across a reopen; shrinking refused. */
START_TEST(t_topic_add_partitions)
{
    ck_assert_int_eq(st_topic_create(store, "grow", 1, NULL), 0);
    uint8_t id1[ST_TOPIC_ID_LEN], id2[ST_TOPIC_ID_LEN];
    ck_assert_int_eq(st_topic_id(store, "grow", 4, id1), 0);
    ck_assert_int_eq(st_topic_add_partitions(store, "grow", 1), -EINVAL);
    ck_assert_int_eq(st_topic_add_partitions(store, "grow", 4), 0);
    ck_assert_int_eq(st_topic_partitions(store, "grow", 4), 4);
    struct st_log *log = st_log_get(store, "grow", 4, 3);
    ck_assert_ptr_nonnull(log);
    ck_assert_int_eq(st_log_end_offset(log), 0);
    st_log_put(log);
    ck_assert_int_eq(st_topic_add_partitions(store, "none", 4), -ENOENT);
    st_store_close(store);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_partitions(store, "grow", 4), 4);
    ck_assert_int_eq(st_topic_id(store, "grow", 4, id2), 0);
    ck_assert_int_eq(memcmp(id1, id2, sizeof(id1)), 0);
    ck_assert_int_eq(st_topic_delete(store, "grow"), 0);
}
END_TEST

/* DeleteRecords: the log start moves into a segment, reads below it are out of range, it is
 * kept across a reopen, and retention then deletes the segments wholly below it. */
START_TEST(t_delete_records)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 4096;
    ck_assert_int_eq(st_topic_create(store, "dr", 1, &c), 0);
    struct st_log *log = st_log_get(store, "dr", 2, 0);
    ck_assert_ptr_nonnull(log);
    for (int i = 0; i < 20; i++)
        tst_append1(log, 5, 200, 1000 + i, 1000);
    ck_assert_int_eq(st_log_end_offset(log), 100);
    int64_t low = -1;
    ck_assert_int_eq(st_log_delete_records(log, 101, &low), -ERANGE);
    ck_assert_int_eq(st_log_delete_records(log, 37, &low), 0);
    ck_assert_int_eq(low, 37);
    ck_assert_int_eq(st_log_start_offset(log), 37);
    ck_assert_int_eq(st_log_delete_records(log, 10, &low), 0); /* below: nothing changes */
    ck_assert_int_eq(low, 37);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, 36, 1 << 20, &rd), -ERANGE);
    ck_assert_int_eq(st_log_read(log, 37, 1 << 20, &rd), 0);
    ck_assert_int_gt(rd.n, 0);
    st_read_release(&rd);
    st_log_put(log);
    st_store_close(store);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    log = st_log_get(store, "dr", 2, 0);
    ck_assert(!st__log_open(log)); /* dormant: the start from its clean-shutdown record */
    ck_assert_int_eq(st_log_start_offset(log), 37);
    ck_assert_int_eq(st_log_read(log, 36, 1 << 20, &rd), -ERANGE);
    /* retention drops the sealed segments below 37 once synced and digested */
    tst_wait_durable(log);
    int64_t first_base = -1;
    for (int i = 0; i < 200 && first_base < 0; i++) {
        st_store_maintain(store, 2000);
        struct st_segvec *v = atomic_load(&log->segs);
        if (v->s[0]->base > 0)
            first_base = v->s[0]->base;
        else
            usleep(10000);
    }
    ck_assert_int_gt(first_base, 0);
    ck_assert_int_le(first_base, 37);
    ck_assert_int_eq(st_log_start_offset(log), 37);
    ck_assert_int_eq(st_log_delete_records(log, -1, &low), 0); /* -1: the end */
    ck_assert_int_eq(low, 100);
    st_log_put(log);
}
END_TEST

START_TEST(t_scrub_and_maintain_empty_store)
{
    struct st_scrub_report rep = {-1, -1, -1};
    ck_assert_int_eq(st_store_scrub(store, 1 << 20, NULL, NULL, &rep), 0);
    ck_assert_int_eq(rep.bytes_checked, 0);
    ck_assert_int_eq(rep.bad_segments, 0);
    st_store_maintain(store, 1);
    /* a topic with nothing sealed: still nothing to check */
    ck_assert_int_eq(st_topic_create(store, "e", 2, NULL), 0);
    ck_assert_int_eq(st_store_scrub(store, 1 << 20, NULL, NULL, &rep), 0);
    ck_assert_int_eq(rep.bytes_checked, 0);
}
END_TEST

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3;
}

/* Whether <dir>/<rel> exists. */
static bool exists(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    return access(path, F_OK) == 0;
}

/*
 * Many partitions, few written (issue 21): a topic's partitions have no files until their
 * first append; after a clean close the store opens without reading a log (they stay dormant,
 * answering offsets and stats from their clean-shutdown records, with no descriptor), and a
 * log opens at its first use: a read below its end, an append, retention.
 */
/* Counts the store's messages about recovering d-0 (a lazy open of a trusted log that had to
 * scan or rebuild something says so). */
static int d0_recovered;
static void on_msg(void *arg, enum st_msg_level level, const char *msg)
{
    (void)arg;
    (void)level;
    if (strstr(msg, "recovered d-0 "))
        d0_recovered++;
}

START_TEST(t_dormant_logs_open_at_first_use)
{
    enum { P = 2000 };
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 700;   /* several segments for the written ones */
    c.retention_bytes = 500; /* retention has work once they grow */
    c.retention_ms = -1;
    ck_assert_int_eq(st_topic_create(store, "d", P, &c), 0);
    ck_assert(!exists("d-0")); /* nothing on disk for a partition never written */
    for (int p = 0; p < P; p += 100) {
        struct st_log *log = st_log_get(store, "d", 1, p);
        for (int i = 0; i < 4; i++)
            tst_append1(log, 2, 100, 1000 + i, 1);
        st_log_put(log);
    }
    ck_assert(exists("d-0"));
    ck_assert(!exists("d-1"));
    /* a sealed segment under index.interval.bytes has no index entry, yet both files: a missing
     * one would be taken for an index deleted to be rebuilt at every open */
    ck_assert(exists("d-0/00000000000000000000.index"));
    ck_assert(exists("d-0/00000000000000000000.timeindex"));
    struct st_log *l0 = st_log_get(store, "d", 1, 0);
    struct st_log_stats want;
    st_log_stats(l0, &want);
    ck_assert_int_gt(want.segments, 1);
    want.durable_offset = want.end_offset; /* after a clean close */
    st_log_put(l0);
    st_store_close(store);
    ck_assert(exists("clean-shutdown"));

    int fds = open_fds();
    struct st_recovery_report rep;
    d0_recovered = 0;
    ck_assert_int_eq(st_store_open_logged(dir, NULL, on_msg, NULL, &rep, &store), 0);
    ck_assert_int_eq(rep.logs, 0); /* none opened */
    ck_assert_int_eq(rep.dormant, P);
    ck_assert_int_le(open_fds(), fds + 1); /* the flusher's thread, no file of any log */
    struct st_log *log = st_log_get(store, "d", 1, 0);
    ck_assert(!st__log_open(log));
    struct st_log_stats ls;
    st_log_stats(log, &ls);
    ck_assert_mem_eq(&ls, &want, sizeof(ls));
    ck_assert_int_eq(st_log_end_offset(log), 8);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, 8, 100, &rd), 0); /* at the end: nothing, still dormant */
    ck_assert_int_eq(rd.n, 0);
    ck_assert_int_eq(st_log_read(log, 9, 100, &rd), -ERANGE);
    ck_assert(!st__log_open(log));
    ck_assert_int_eq(st_log_read(log, want.start_offset, 1 << 20, &rd), 0); /* opens it */
    ck_assert(st__log_open(log));
    ck_assert_int_eq(d0_recovered, 0); /* taken as it is: nothing scanned, nothing rebuilt */
    struct tst_seen seen;
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.first_base, want.start_offset);
    ck_assert_int_eq(seen.next, 8);
    st_read_release(&rd);
    st_log_stats(log, &ls);
    ck_assert_mem_eq(&ls, &want, sizeof(ls));
    tst_check_index(log);
    st_log_put(log);

    /* a never-written partition: empty, dormant, and its first append makes its files */
    log = st_log_get(store, "d", 1, 1);
    ck_assert_int_eq(st_log_end_offset(log), 0);
    ck_assert_int_eq(st_log_read(log, 0, 100, &rd), 0);
    ck_assert_int_eq(rd.n, 0);
    ck_assert_int_eq(tst_append1(log, 1, 10, 5, 1), 0);
    ck_assert(exists("d-1/00000000000000000000.log"));
    st_log_put(log);

    /* retention of a dormant log: its record says the oldest segment is past the bound */
    log = st_log_get(store, "d", 1, 100);
    ck_assert(!st__log_open(log));
    int64_t start = st_log_start_offset(log);
    st_log_put(log);
    st_store_maintain(store, 1); /* retention.bytes 500: the first segment goes */
    log = st_log_get(store, "d", 1, 100);
    ck_assert(st__log_open(log));
    ck_assert_int_gt(st_log_start_offset(log), start);
    st_log_put(log);
    /* a dormant log whose retention has nothing to do stays so */
    log = st_log_get(store, "d", 1, 5);
    ck_assert(!st__log_open(log));
    st_log_put(log);
}
END_TEST

/*
 * Topic administration meets dormant logs (issue 14's APIs on issue 21's lazy open): after a
 * clean close, a log answers its DeleteRecords low watermark from its clean-shutdown record
 * and carries its topic's overrides before its first use; its largest timestamp counts the
 * sealed segments whose timestamps are not read yet; DeleteRecords and config changes on a
 * dormant log hold; CreatePartitions adds dormant logs without files, usable through a cache of
 * fewer open segments than they have.
 */
START_TEST(t_dormant_logs_and_topic_admin)
{
    st_store_close(store);
    struct st_log_config d = tst_cfg();
    d.open_files_max = 16; /* the cache's least: fewer than the segments below */
    ck_assert_int_eq(st_store_open(dir, &d, &store), 0);
    struct st_log_config c = d;
    c.segment_bytes = 700; /* two batches a segment */
    c.retention_bytes = -1;
    c.retention_ms = -1;
    ck_assert_int_eq(st_topic_create(store, "da", 2, &c), 0);
    struct st_log *log = st_log_get(store, "da", 2, 0);
    for (int i = 0; i < 8; i++) /* later batches are older: the largest is in the first segment */
        tst_append1(log, 2, 100, 50000 - 1000 * i, 1);
    ck_assert_int_eq(st_log_max_timestamp(log), 50001);
    struct st_log_stats ls;
    st_log_stats(log, &ls);
    ck_assert_int_ge(ls.segments, 3);
    int64_t low = -1;
    ck_assert_int_eq(st_log_delete_records(log, 3, &low), 0); /* inside the first segment */
    ck_assert_int_eq(low, 3);
    st_log_put(log);
    struct st_log_config tc;
    uint32_t ov;
    ck_assert_int_eq(st_topic_config(store, "da", 2, &tc, &ov), 0);
    ck_assert_int_eq(st_topic_key_set(&tc, ST_TK_RETENTION_BYTES, 1 << 20), 0);
    ov |= 1u << ST_TK_RETENTION_BYTES;
    ck_assert_int_eq(st_topic_config_set(store, "da", &tc, ov), 0);
    st_store_close(store);

    ck_assert_int_eq(st_store_open(dir, &d, &store), 0);
    log = st_log_get(store, "da", 2, 0);
    ck_assert(!st__log_open(log));
    ck_assert_int_eq(st_log_start_offset(log), 3); /* the record's low watermark */
    ck_assert_int_eq(st_log_end_offset(log), 16);
    ck_assert_int_eq(log->cfg.retention_bytes, 1 << 20);
    ck_assert_int_eq(log->cfg.segment_bytes, 700);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, 2, 1 << 20, &rd), -ERANGE);
    ck_assert(!st__log_open(log));
    ck_assert_int_eq(st_log_max_timestamp(log), 50001); /* opens it, reads sealed segments */
    ck_assert(st__log_open(log));
    ck_assert_int_eq(st_log_start_offset(log), 3);
    ck_assert_int_eq(st_log_read(log, 2, 1 << 20, &rd), -ERANGE);
    ck_assert_int_eq(st_log_read(log, 3, 1 << 20, &rd), 0);
    ck_assert_int_gt(rd.n, 0);
    st_read_release(&rd);
    st_log_put(log);
    log = st_log_get(store, "da", 2, 1); /* never written: nothing to open for */
    ck_assert_int_eq(st_log_max_timestamp(log), -1);
    ck_assert(!st__log_open(log));
    st_log_put(log);

    /* CreatePartitions: dormant logs with the topic's overrides and no files until written */
    enum { NP = 12 };
    ck_assert_int_eq(st_topic_add_partitions(store, "da", NP), 0);
    ck_assert(!exists("da-11"));
    for (int p = 2; p < NP; p++) {
        log = st_log_get(store, "da", 2, p);
        ck_assert(!st__log_open(log));
        ck_assert_int_eq(log->cfg.retention_bytes, 1 << 20);
        ck_assert_int_eq(log->cfg.segment_bytes, 700);
        for (int i = 0; i < 3; i++)
            ck_assert_int_eq(tst_append1(log, 2, 100, 7 + i, 1), 2 * i);
        st_log_put(log);
    }
    ck_assert(exists("da-11/00000000000000000000.log"));
    for (int p = 2; p < NP; p++) { /* read back through the cache of 16 open segments */
        log = st_log_get(store, "da", 2, p);
        struct tst_seen seen = {.first_base = 0};
        for (int64_t off = 0; off < 6; off = seen.next) {
            ck_assert_int_eq(st_log_read(log, off, 1 << 20, &rd), 0);
            ck_assert_int_gt(rd.n, 0);
            seen.first_base = off;
            tst_check_read(&rd, &seen);
            st_read_release(&rd);
        }
        st_log_put(log);
    }
    struct st_fcache_stats fs;
    st__fc_stats(store->fc, &fs);
    ck_assert_int_eq(fs.max, 16);
    ck_assert_int_le(fs.open, fs.max);
    ck_assert_int_gt(fs.evicted, 0);
    st_store_close(store);

    /* DeleteRecords and a config change on dormant logs, across the next clean close */
    ck_assert_int_eq(st_store_open(dir, &d, &store), 0);
    ck_assert_int_eq(st_topic_partitions(store, "da", 2), NP);
    log = st_log_get(store, "da", 2, 0);
    ck_assert(!st__log_open(log));
    ck_assert_int_eq(st_log_delete_records(log, 5, &low), 0);
    ck_assert_int_eq(low, 5);
    st_log_put(log);
    log = st_log_get(store, "da", 2, 11);
    ck_assert(!st__log_open(log));
    ck_assert_int_eq(st_log_end_offset(log), 6);
    ck_assert_int_eq(st_topic_config_set(store, "da", &tc, ov & ~(1u << ST_TK_RETENTION_BYTES)), 0);
    ck_assert_int_eq(log->cfg.retention_bytes, d.retention_bytes);
    ck_assert_int_eq(tst_append1(log, 1, 10, 9, 1), 6); /* opens it with the new config */
    ck_assert_int_eq(log->cfg.retention_bytes, d.retention_bytes);
    st_log_put(log);
    st_store_close(store);
    ck_assert_int_eq(st_store_open(dir, &d, &store), 0);
    log = st_log_get(store, "da", 2, 0);
    ck_assert(!st__log_open(log));
    ck_assert_int_eq(st_log_start_offset(log), 5);
    st_log_put(log);
    log = st_log_get(store, "da", 2, 11);
    ck_assert(!st__log_open(log));
    ck_assert_int_eq(st_log_end_offset(log), 7);
    ck_assert_int_eq(log->cfg.retention_bytes, d.retention_bytes);
    st_log_put(log);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t_topic_names);
    tcase_add_test(tc, t_create_reopen_delete);
    tcase_add_test(tc, t_many_topics);
    tcase_add_test(tc, t_flush_every_message);
    tcase_add_test(tc, t_flush_by_count_and_time);
    tcase_add_test(tc, t_group_commit_producers);
    tcase_add_test(tc, t_group_commit_one_sync_covers_all_waiters);
    tcase_add_test(tc, t_log_ref_outlives_close_of_topic);
    tcase_add_test(tc, t_scrub_and_maintain_empty_store);
    tcase_add_test(tc, t_dormant_logs_open_at_first_use);
    tcase_add_test(tc, t_topic_ids);
    tcase_add_test(tc, t_topic_cluster_zxid);
    tcase_add_test(tc, t_topic_config_set);
    tcase_add_test(tc, t_topic_add_partitions);
    tcase_add_test(tc, t_delete_records);
    tcase_add_test(tc, t_dormant_logs_and_topic_admin);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
