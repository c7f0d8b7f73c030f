/*
 * test_st_clean — log compaction (st_clean*.c) over synthetic logs: the latest record per key
 * kept at its offset, tombstones dropped after delete.retention.ms, passes when the keys do
 * not fit the map, aborted transactions removed and markers kept, CRCs valid, indexes that
 * recovery accepts; compressed batches of every codec compacted and recompressed with their
 * codec, and ones that cannot be read (corrupt, a decompression bomb) kept whole; and a crash
 * loop that kills the cleaning process at every step of a swap.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "kp_codec.h"
#include "kp_crc32c.h"
#include "st_clean_int.h"
#include "test_st_util.h"

static char dir[256];
static struct st_store *store;
static struct kp_codec_ctx tz; /* the tests' own codec contexts */
static int g_codec;            /* the codec append_kv compresses its batches with (0: none) */
static uint8_t *g_dbuf;        /* read_all's decompression buffer */
static size_t g_dcap;

static void setup(void)
{
    tst_mkdtemp(dir, sizeof(dir));
    store = NULL;
    st__clean_crash_at = 0;
    g_codec = 0;
}

static void teardown(void)
{
    if (store)
        st_store_close(store);
    store = NULL;
    tst_rmrf(dir);
    kp_codec_ctx_free(&tz);
    free(g_dbuf);
    g_dbuf = NULL;
    g_dcap = 0;
}

/* ---- fixtures ---- */

struct rec {
    int64_t off;
    char key[24];
    char val[40]; /* "" with null */
    bool null;
    bool control;
    int codec; /* of its batch */
};

struct recs {
    struct rec *r;
    int n, cap;
    int64_t end;
    int batches, empty_batches;
    int compressed, unreadable; /* batches with a codec; those that do not decompress */
};

static void recs_push(struct recs *v, const struct rec *r)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->r = realloc(v->r, (size_t)v->cap * sizeof(*v->r));
        ck_assert_ptr_nonnull(v->r);
    }
    v->r[v->n++] = *r;
}

/* The plain batch b[0, len) with its records compressed with codec (in place; cap bytes): the
 * new length, the codec bits set, CRC right (as a producer with compression.type writes it). */
static size_t zip_batch(uint8_t *b, size_t len, size_t cap, int codec)
{
    size_t raw = len - KP_BATCH_HEADER_LEN, zcap = KP_BATCH_HEADER_LEN + kp_codec_bound(codec, raw);
    uint8_t *z = malloc(zcap);
    ck_assert_ptr_nonnull(z);
    long zl = kp_codec_compress(&tz, codec, -1, b + KP_BATCH_HEADER_LEN, raw,
                                z + KP_BATCH_HEADER_LEN, zcap - KP_BATCH_HEADER_LEN);
    ck_assert_int_gt(zl, 0);
    long n = kp_batch_seal_compressed(z, b, (size_t)zl, (unsigned)codec);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_le((size_t)n, cap);
    memcpy(b, z, (size_t)n);
    free(z);
    return (size_t)n;
}

static int64_t append_raw(struct st_log *log, uint8_t *buf, size_t len, int64_t ts)
{
    struct iovec iv = {buf, len};
    struct st_append_result res;
    ck_assert_int_eq(st_log_append(log, &iv, 1, ts, &res), 0);
    return res.base_offset;
}

/* Appends one batch of n records: keys[i], vals[i] (NULL: tombstone), compressed with g_codec. */
static int64_t append_kv(struct st_log *log, int n, const char *const *keys,
                         const char *const *vals, int64_t ts)
{
    uint8_t buf[16384];
    struct kp_batch_builder b;
    ck_assert_int_eq(kp_batch_begin(&b, buf, 8192, ts), 0);
    for (int i = 0; i < n; i++) {
        struct kp_bytes k = {(const uint8_t *)keys[i], (int32_t)strlen(keys[i])};
        struct kp_bytes v = {(const uint8_t *)vals[i], vals[i] ? (int32_t)strlen(vals[i]) : -1};
        ck_assert_int_eq(kp_batch_add(&b, ts, k, v, NULL, 0), 0);
    }
    long len = kp_batch_finish(&b);
    ck_assert_int_gt(len, 0);
    if (g_codec)
        len = (long)zip_batch(buf, (size_t)len, sizeof(buf), g_codec);
    return append_raw(log, buf, (size_t)len, ts);
}

/*
 * Reads the whole log: every batch whole, CRC-valid, offsets continuous (empty batches
 * included), records in offset order within [base, base + lastOffsetDelta].
 */
static void read_all(struct st_log *log, struct recs *out)
{
    memset(out, 0, sizeof(*out));
    int64_t at = st_log_start_offset(log), end = st_log_end_offset(log);
    int64_t next = at;
    while (at < end) {
        struct st_read rd;
        ck_assert_int_eq(st_log_read(log, at, 64 << 10, &rd), 0);
        ck_assert_int_gt(rd.n, 0);
        for (int i = 0; i < rd.n; i++) {
            uint8_t *buf = malloc(rd.r[i].len);
            ck_assert_ptr_nonnull(buf);
            ck_assert_int_eq(pread(rd.r[i].fd, buf, rd.r[i].len, rd.r[i].pos),
                             (ssize_t)rd.r[i].len);
            size_t p = 0;
            while (p < rd.r[i].len) {
                struct kp_batch_hdr h;
                struct kp_record_iter it;
                bool readable = true;
                ck_assert_int_eq(kp_batch_parse_hdr(buf + p, rd.r[i].len - p, &h), 0);
                size_t bs = kp_batch_size(&h);
                ck_assert_uint_le(p + bs, rd.r[i].len);
                ck_assert_uint_eq(kp_crc32c(0, buf + p + 21, bs - 21), h.crc);
                ck_assert_int_eq(h.base_offset, next);
                out->batches++;
                if (h.record_count == 0) {
                    out->empty_batches++;
                    ck_assert_uint_eq(bs, KP_BATCH_HEADER_LEN);
                    ck_assert_int_eq(h.attributes & KP_BATCH_ATTR_CODEC_MASK, 0);
                } else if (h.attributes & KP_BATCH_ATTR_CODEC_MASK) {
                    out->compressed++;
                    long dl = kp_codec_decompress(
                        &tz, h.attributes & KP_BATCH_ATTR_CODEC_MASK, buf + p + KP_BATCH_HEADER_LEN,
                        bs - KP_BATCH_HEADER_LEN, &g_dbuf, &g_dcap, 64 << 20);
                    if (dl < 0)
                        out->unreadable++;
                    else
                        kp_record_iter_init_records(&it, g_dbuf, (size_t)dl, h.record_count);
                    readable = dl >= 0;
                } else {
                    kp_record_iter_init(&it, buf + p, &h);
                }
                if (h.record_count != 0 && readable) {
                    struct kp_record r;
                    int64_t last = -1;
                    int got = 0, rr;
                    while ((rr = kp_record_next(&it, &r)) == 1) {
                        struct rec x = {.off = h.base_offset + r.offset_delta};
                        ck_assert_int_gt(x.off, last);
                        ck_assert_int_le(r.offset_delta, h.last_offset_delta);
                        last = x.off;
                        x.control = h.attributes & KP_BATCH_ATTR_CONTROL;
                        x.codec = h.attributes & KP_BATCH_ATTR_CODEC_MASK;
                        if (!x.control) {
                            snprintf(x.key, sizeof(x.key), "%.*s", (int)r.key.len, r.key.ptr);
                            x.null = r.value.len < 0;
                            if (!x.null)
                                snprintf(x.val, sizeof(x.val), "%.*s", (int)r.value.len,
                                         r.value.ptr);
                        }
                        recs_push(out, &x);
                        got++;
                    }
                    ck_assert_int_eq(rr, 0);
                    ck_assert_int_eq(got, h.record_count);
                }
                next = h.base_offset + h.last_offset_delta + 1;
                p += bs;
            }
            free(buf);
        }
        at = next;
        st_read_release(&rd);
    }
    ck_assert_int_eq(next, end);
    out->end = end;
}

static const struct rec *find_off(const struct recs *v, int64_t off)
{
    int lo = 0, hi = v->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (v->r[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->n && v->r[lo].off == off ? &v->r[lo] : NULL;
}

/*
 * after is a compaction of before below clean_end: every record of after is before's at the
 * same offset; below clean_end each key appears once, at its latest offset in before (unless
 * that was a tombstone and tombstones_gone); at and past clean_end nothing changed.
 */
static void check_compacted(const struct recs *before, const struct recs *after, int64_t clean_end,
                            bool tombstones_gone)
{
    ck_assert_int_eq(before->end, after->end);
    for (int i = 0; i < after->n; i++) {
        const struct rec *b = find_off(before, after->r[i].off);
        ck_assert_ptr_nonnull(b);
        ck_assert_str_eq(b->key, after->r[i].key);
        ck_assert_str_eq(b->val, after->r[i].val);
        ck_assert_int_eq(b->null, after->r[i].null);
        ck_assert_int_eq(b->codec, after->r[i].codec); /* recompressed with its codec */
    }
    for (int i = 0; i < before->n; i++) {
        const struct rec *b = &before->r[i];
        bool latest = true;
        for (int k = i + 1; k < before->n && latest && before->r[k].off < clean_end; k++)
            if (!before->r[k].control && !b->control && strcmp(before->r[k].key, b->key) == 0)
                latest = false;
        bool want = b->off >= clean_end || b->control || (latest && !(b->null && tombstones_gone));
        bool got = find_off(after, b->off) != NULL;
        if (want != got)
            ck_abort_msg("offset %lld key %s: want %d got %d", (long long)b->off, b->key, want,
                         got);
    }
}

static void roll(struct st_log *log)
{
    pthread_mutex_lock(&log->mu);
    ck_assert_int_eq(st__log_roll(log, 0), 0);
    pthread_mutex_unlock(&log->mu);
}

static struct st_log *open_compact(const char *extra_key, const char *extra_val)
{
    struct st_log_config c = tst_cfg();
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_clean_config_set(&c, "cleanup.policy", "compact"), 0);
    c.index_interval_bytes = 128;
    if (extra_key)
        ck_assert_int_eq(st_clean_config_set(&c, extra_key, extra_val), 0);
    ck_assert_int_eq(st_topic_create(store, "t", 1, &c), 0);
    struct st_log *log = tst_log_get(store, "t", 1, 0);
    ck_assert_ptr_nonnull(log);
    return log;
}

/* Writes nb batches of 1-3 updates over nkeys keys (tombstones with 1/tomb odds when tomb > 0),
 * rolling every per_seg batches; the last segment stays active. */
static void fill_keys(struct st_log *log, const char *prefix, int nb, int nkeys, int per_seg,
                      int tomb, int64_t ts, uint64_t seed)
{
    for (int b = 0; b < nb; b++) {
        char kb[3][24], vb[3][40];
        const char *keys[3], *vals[3];
        int n = 1 + (int)(tst_rand(&seed) % 3);
        for (int i = 0; i < n; i++) {
            snprintf(kb[i], sizeof(kb[i]), "%s-%d", prefix,
                     (int)(tst_rand(&seed) % (uint64_t)nkeys));
            snprintf(vb[i], sizeof(vb[i]), "v%d.%d", b, i);
            keys[i] = kb[i];
            vals[i] = tomb > 0 && tst_rand(&seed) % (uint64_t)tomb == 0 ? NULL : vb[i];
        }
        append_kv(log, n, keys, vals, ts + b);
        if ((b + 1) % per_seg == 0)
            roll(log);
    }
    tst_wait_settled(log);
}

static void fill(struct st_log *log, int nb, int nkeys, int per_seg, int tomb, int64_t ts,
                 uint64_t seed)
{
    fill_keys(log, "key", nb, nkeys, per_seg, tomb, ts, seed);
}

static int64_t active_base(struct st_log *log)
{
    struct st_segvec *v = atomic_load(&log->segs);
    return v->s[v->n - 1]->base;
}

/* ---- tests ---- */

START_TEST(t_config_keys)
{
    struct st_log_config c = tst_cfg(), d = tst_cfg();
    ck_assert_int_eq(c.cleanup_policy, ST_CLEANUP_DELETE);
    ck_assert_int_eq(st_clean_config_set(&c, "cleanup.policy", "compact,delete"), 0);
    ck_assert_int_eq(c.cleanup_policy, ST_CLEANUP_COMPACT | ST_CLEANUP_DELETE);
    ck_assert_int_eq(st_clean_config_set(&c, "cleanup.policy", "compact, delete"), 0);
    ck_assert_int_eq(st_clean_config_set(&c, "cleanup.policy", "squash"), -EINVAL);
    ck_assert_int_eq(st_clean_config_set(&c, "cleanup.policy", ""), -EINVAL);
    ck_assert_int_eq(st_clean_config_set(&c, "min.cleanable.dirty.ratio", "0.1"), 0);
    ck_assert_int_eq(st_clean_config_set(&c, "min.cleanable.dirty.ratio", "1.5"), -EINVAL);
    ck_assert_int_eq(st_clean_config_set(&c, "delete.retention.ms", "1000"), 0);
    ck_assert_int_eq(st_clean_config_set(&c, "log.cleaner.threads", "2"), 0);
    ck_assert_int_eq(c.cleaner_threads, 2);
    ck_assert_int_eq(st_clean_config_set(&c, "log.cleaner.enable", "false"), 0);
    ck_assert_int_eq(c.cleaner_threads, 0);
    ck_assert_int_eq(st_clean_config_set(&c, "segment.bytes", "1"), -ENOENT);
    char buf[512];
    int n = st_topic_key_format(&c, ST_TK_CLEANUP_POLICY, buf, sizeof(buf), true);
    ck_assert_int_eq(n, (int)strlen("cleanup.policy=compact,delete\n"));
    ck_assert_str_eq(buf, "cleanup.policy=compact,delete\n");
    ck_assert_int_eq(st_topic_key_format(&c, ST_TK_DELETE_RETENTION_MS, buf, sizeof(buf), false),
                     4);
    ck_assert_str_eq(buf, "1000");
    ck_assert_int_eq(st_topic_key_format(&c, ST_TK_MIN_CLEANABLE_RATIO, buf, 4, false), 3);
    ck_assert_str_eq(buf, "0.1");
    /* the key table: names, int64 round trip, text parse */
    ck_assert_int_eq(st_topic_key_find("min.cleanable.dirty.ratio", 25), ST_TK_MIN_CLEANABLE_RATIO);
    ck_assert_int_eq(st_topic_key_set(&d, ST_TK_MIN_CLEANABLE_RATIO,
                                      st_topic_key_get(&c, ST_TK_MIN_CLEANABLE_RATIO)),
                     0);
    ck_assert(d.min_cleanable_ratio == 0.1);
    ck_assert_int_eq(st_topic_key_set(&d, ST_TK_CLEANUP_POLICY, 0), -EINVAL);
    ck_assert_int_eq(st_topic_key_parse(&d, ST_TK_CLEANUP_POLICY, "compact"), 0);
    ck_assert_int_eq(d.cleanup_policy, ST_CLEANUP_COMPACT);
    ck_assert_int_eq(st_topic_key_parse(&d, ST_TK_MAX_COMPACTION_LAG_MS, "0"), -EINVAL);
    /* the topic's policy survives a restart (the metadata file) */
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "t", 1, &c), 0);
    st_store_close(store);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    struct st_log *log = tst_log_get(store, "t", 1, 0);
    ck_assert_int_eq(log->cfg.cleanup_policy, ST_CLEANUP_COMPACT | ST_CLEANUP_DELETE);
    ck_assert_int_eq(log->cfg.delete_retention_ms, 1000);
    ck_assert(log->cfg.min_cleanable_ratio == 0.1);
    st_log_put(log);
}
END_TEST

START_TEST(t_map)
{
    struct st_cmap *m;
    ck_assert_int_eq(st__cmap_new(64 << 10, &m), 0);
    uint32_t room = st__cmap_room(m);
    ck_assert_uint_ge(room, 1000);
    char k[32];
    for (uint32_t i = 0; i < room; i++) {
        snprintf(k, sizeof(k), "k%u", i);
        ck_assert_int_eq(st__cmap_put(m, k, strlen(k), i), 0);
    }
    ck_assert_int_eq(st__cmap_put(m, "more", 4, 1), -ENOSPC);
    ck_assert_int_eq(st__cmap_put(m, "k5", 2, 99999), 0); /* an update needs no room */
    ck_assert_int_eq(st__cmap_get(m, "k5", 2), 99999);
    ck_assert_int_eq(st__cmap_get(m, "k6", 2), 6);
    ck_assert_int_eq(st__cmap_get(m, "zz", 2), -1);
    st__cmap_clear(m);
    ck_assert_uint_eq(st__cmap_count(m), 0);
    ck_assert_int_eq(st__cmap_get(m, "k6", 2), -1);
    st__cmap_free(m);
}
END_TEST

START_TEST(t_latest_per_key)
{
    struct st_log *log = open_compact(NULL, NULL);
    fill(log, 600, 40, 50, 0, 1000000, 7);
    append_kv(log, 1, (const char *[]){"key-1"}, (const char *[]){"tail"}, 2000000);
    struct recs before, after;
    read_all(log, &before);
    int64_t clean_end = active_base(log);
    struct st_clean_stats s = {0};
    ck_assert_int_eq(st_log_clean(log, 3000000, 0, &s), 0); /* dirty ratio 1.0 >= 0.5 */
    ck_assert_int_eq(s.logs, 1);
    ck_assert_int_gt(s.bytes_in, s.bytes_out);
    ck_assert_int_eq(s.records_in, before.n - 1);
    read_all(log, &after);
    check_compacted(&before, &after, clean_end, false);
    ck_assert_int_eq(s.records_out, after.n - 1);
    ck_assert_int_le(after.n, 41);
    tst_check_index(log);
    /* nothing dirty any more: a second cleaning changes nothing */
    struct st_clean_stats s2 = {0};
    ck_assert_int_eq(st_log_clean(log, 3000000, 0, &s2), 0);
    ck_assert_int_eq(s2.segments_in, 0);
    /* a reopen after a crash scans it all (CRC, continuity, indexes) and keeps it whole */
    st_log_put(log);
    st_store_close(store);
    tst_store_unclean(dir);
    char path[512];
    snprintf(path, sizeof(path), "%s/t-0/clean-shutdown", dir);
    unlink(path);
    struct st_recovery_report rep;
    ck_assert_int_eq(st_store_open_logged(dir, NULL, NULL, NULL, &rep, &store), 0);
    ck_assert_int_eq(rep.bytes_cut, 0);
    log = tst_log_get(store, "t", 1, 0);
    struct recs again;
    read_all(log, &again);
    ck_assert_int_eq(again.n, after.n);
    check_compacted(&before, &again, clean_end, false);
    tst_check_index(log);
    st_log_put(log);
    free(before.r);
    free(after.r);
    free(again.r);
}
END_TEST

START_TEST(t_ratio_and_lag)
{
    struct st_log *log = open_compact("min.cleanable.dirty.ratio", "0.9");
    fill(log, 200, 10, 50, 0, 1000000, 11);
    struct st_clean_stats s = {0};
    ck_assert_int_eq(st_log_clean(log, 3000000, 0, &s), 0);
    ck_assert_int_eq(s.logs, 1); /* all dirty */
    fill(log, 30, 10, 50, 0, 1100000, 12);
    roll(log);
    tst_wait_settled(log);
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(st_log_clean(log, 3000000, 0, &s), 0);
    ck_assert_int_eq(s.segments_in, 0); /* a little dirty, under 0.9 */
    /* min.compaction.lag.ms: segments newer than the lag are not cleanable */
    log->cfg.min_compaction_lag_ms = 5000000;
    ck_assert_int_eq(st_log_clean(log, 3000000, ST_CLEAN_FORCE, &s), 0);
    ck_assert_int_eq(s.segments_in, 0);
    log->cfg.min_compaction_lag_ms = 0;
    /* max.compaction.lag.ms overdue: cleaned whatever the ratio */
    log->cfg.max_compaction_lag_ms = 1000;
    ck_assert_int_eq(st_log_clean(log, 3000000, 0, &s), 0);
    ck_assert_int_gt(s.segments_in, 0);
    st_log_put(log);
}
END_TEST

/*
 * After a first cleaning of a log fill()ed with tombstones (delete.retention.ms 100000,
 * timestamps from 1000000): more data, cleaned again within delete.retention.ms of the
 * tombstones, keeps them; more again, cleaned past it, drops them all with every older value
 * of their keys.
 */
static void check_tombstones_go(struct st_log *log)
{
    struct st_clean_stats s = {0};
    struct recs mid, after;
    /* more data; cleaned again within delete.retention.ms of the tombstones: they stay */
    fill_keys(log, "other", 45, 500, 40, 0, 1000400, 4);
    roll(log);
    tst_wait_settled(log);
    ck_assert_int_eq(st_log_clean(log, 1000400 + 50000, ST_CLEAN_FORCE, &s), 0);
    ck_assert_int_eq(s.tombstones_dropped, 0);
    /* and after it: gone, with every older value of their keys */
    fill_keys(log, "other", 45, 500, 40, 0, 1000500, 5);
    roll(log);
    tst_wait_settled(log);
    read_all(log, &mid);
    int64_t end2 = active_base(log);
    int tombs = 0;
    for (int i = 0; i < mid.n; i++)
        tombs += mid.r[i].null && mid.r[i].off < end2;
    ck_assert_int_gt(tombs, 0);
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(st_log_clean(log, 1000500 + 200000, ST_CLEAN_FORCE, &s), 0);
    ck_assert_int_eq(s.tombstones_dropped, tombs);
    read_all(log, &after);
    for (int i = 0; i < after.n; i++)
        ck_assert(!(after.r[i].null && after.r[i].off < end2));
    check_compacted(&mid, &after, end2, true);
    tst_check_index(log);
    free(mid.r);
    free(after.r);
}

START_TEST(t_tombstones)
{
    struct st_log *log = open_compact("delete.retention.ms", "100000");
    fill(log, 300, 20, 40, 4, 1000000, 3);
    struct recs before, after;
    read_all(log, &before);
    int64_t clean_end = active_base(log);
    struct st_clean_stats s = {0};
    /* first cleaning: the tombstones stay (they were never clean before) */
    ck_assert_int_eq(st_log_clean(log, 5000000, ST_CLEAN_FORCE, &s), 0);
    ck_assert_int_eq(s.tombstones_dropped, 0);
    read_all(log, &after);
    check_compacted(&before, &after, clean_end, false);
    free(after.r);
    check_tombstones_go(log);
    st_log_put(log);
    free(before.r);
}
END_TEST

START_TEST(t_passes)
{
    struct st_log_config d = tst_cfg();
    d.cleaner_dedupe_bytes = 64 << 10; /* about 1,800 keys a pass */
    ck_assert_int_eq(st_store_open(dir, &d, &store), 0);
    struct st_log_config c = d;
    c.cleanup_policy = ST_CLEANUP_COMPACT;
    ck_assert_int_eq(st_topic_create(store, "t", 1, &c), 0);
    struct st_log *log = tst_log_get(store, "t", 1, 0);
    fill(log, 3000, 5000, 300, 0, 1000000, 9);
    struct recs before, after;
    read_all(log, &before);
    int64_t clean_end = active_base(log);
    struct st_clean_stats s = {0};
    ck_assert_int_eq(st_log_clean(log, 3000000, 0, &s), 0);
    ck_assert_int_ge(s.passes, 2);
    read_all(log, &after);
    check_compacted(&before, &after, clean_end, false);
    st_log_put(log);
    free(before.r);
    free(after.r);
}
END_TEST

/* Transactional batches of producer pid: records of an aborted transaction go, markers stay. */
static void txn_append(struct st_log *log, int64_t pid, int16_t epoch, int32_t *seq,
                       const char *key, const char *val, int64_t ts)
{
    uint8_t buf[1024];
    struct kp_batch_builder b;
    ck_assert_int_eq(kp_batch_begin(&b, buf, 512, ts), 0);
    struct kp_bytes k = {(const uint8_t *)key, (int32_t)strlen(key)};
    struct kp_bytes v = {(const uint8_t *)val, (int32_t)strlen(val)};
    ck_assert_int_eq(kp_batch_add(&b, ts, k, v, NULL, 0), 0);
    long len = kp_batch_finish(&b);
    kp_batch_set_producer(buf, (size_t)len, pid, epoch, *seq, true);
    if (g_codec)
        len = (long)zip_batch(buf, (size_t)len, sizeof(buf), g_codec);
    (*seq)++;
    struct iovec iv = {buf, (size_t)len};
    struct st_append_opts o = {.txn_verified = true};
    struct st_append_result res;
    ck_assert_int_eq(st_log_append_opts(log, &iv, 1, ts, &o, &res), 0);
}

START_TEST(t_transactions)
{
    g_codec = _i; /* plain, then each codec: the same rules inside compressed batches */
    struct st_log *log = open_compact(NULL, NULL);
    int32_t seq = 0;
    struct st_append_result res;
    append_kv(log, 1, (const char *[]){"a"}, (const char *[]){"a0"}, 1000);
    txn_append(log, 77, 0, &seq, "a", "aborted-a", 1001);
    txn_append(log, 77, 0, &seq, "b", "aborted-b", 1002);
    ck_assert_int_eq(st_log_append_marker(log, 77, 0, false, 0, 1003, &res), 0);
    txn_append(log, 77, 0, &seq, "c", "committed-c", 1004);
    ck_assert_int_eq(st_log_append_marker(log, 77, 0, true, 0, 1005, &res), 0);
    append_kv(log, 1, (const char *[]){"c"}, (const char *[]){"c-last"}, 1006);
    append_kv(log, 1, (const char *[]){"d"}, (const char *[]){"d0"}, 1007);
    roll(log);
    append_kv(log, 1, (const char *[]){"e"}, (const char *[]){"tail"}, 1008);
    tst_wait_settled(log);
    struct recs before, after;
    read_all(log, &before);
    struct st_clean_stats s = {0};
    ck_assert_int_eq(st_log_clean(log, 5000, ST_CLEAN_FORCE, &s), 0);
    ck_assert_int_eq(s.aborted_dropped, 2);
    read_all(log, &after);
    /* kept: a0 (the aborted a does not shadow it), both markers, c-last, d0, tail */
    const char *want[] = {"a0", "", "", "c-last", "d0", "tail"};
    ck_assert_int_eq(after.n, 6);
    int controls = 0;
    for (int i = 0; i < after.n; i++) {
        controls += after.r[i].control;
        ck_assert_str_eq(after.r[i].val, want[i]);
        ck_assert_int_eq(find_off(&before, after.r[i].off) != NULL, 1);
    }
    ck_assert_int_eq(controls, 2);
    /* read_committed still finds its aborted transaction at the same offsets */
    struct st_aborted ab[4];
    int n = 0;
    ck_assert_int_eq(st_log_aborted_txns(log, 0, st_log_end_offset(log), ab, 4, &n), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(ab[0].producer_id, 77);
    ck_assert_int_eq(ab[0].first_offset, 1);
    st_log_put(log);
    free(before.r);
    free(after.r);
}
END_TEST

/* The header of the batch that holds offset off. */
static void hdr_at(struct st_log *log, int64_t off, struct kp_batch_hdr *h)
{
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, off, 1, &rd), 0);
    ck_assert_int_gt(rd.n, 0);
    uint8_t b[KP_BATCH_HEADER_LEN];
    ck_assert_int_eq(pread(rd.r[0].fd, b, sizeof(b), rd.r[0].pos), (ssize_t)sizeof(b));
    ck_assert_int_eq(kp_batch_parse_hdr(b, sizeof(b), h), 0);
    st_read_release(&rd);
}

/* Compressed batches (codec _i): compacted like plain ones, recompressed with their codec,
 * offsets and header fields kept, tombstones dropped in their time, CRCs right. */
START_TEST(t_compressed)
{
    g_codec = _i;
    struct st_log *log = open_compact("delete.retention.ms", "100000");
    /* an idempotent producer's batch of two records, one of them superseded later */
    uint8_t buf[16384];
    struct kp_batch_builder b;
    ck_assert_int_eq(kp_batch_begin(&b, buf, 8192, 999000), 0);
    ck_assert_int_eq(kp_batch_add(&b, 999000, (struct kp_bytes){(const uint8_t *)"pa", 2},
                                  (struct kp_bytes){(const uint8_t *)"old", 3}, NULL, 0),
                     0);
    ck_assert_int_eq(kp_batch_add(&b, 999000, (struct kp_bytes){(const uint8_t *)"pb", 2},
                                  (struct kp_bytes){(const uint8_t *)"kept", 4}, NULL, 0),
                     0);
    long len = kp_batch_finish(&b);
    kp_batch_set_producer(buf, (size_t)len, 55, 3, 0, false);
    len = (long)zip_batch(buf, (size_t)len, sizeof(buf), _i);
    int64_t pbase = append_raw(log, buf, (size_t)len, 999000);
    append_kv(log, 1, (const char *[]){"pa"}, (const char *[]){"new"}, 999001);
    fill(log, 300, 20, 40, 4, 1000000, 3 + (uint64_t)_i);
    struct kp_batch_hdr ph0, ph;
    hdr_at(log, pbase, &ph0);
    struct recs before, after;
    read_all(log, &before);
    ck_assert_int_eq(before.compressed, before.batches);
    int64_t clean_end = active_base(log);
    struct st_clean_stats s = {0};
    ck_assert_int_eq(st_log_clean(log, 1000400, ST_CLEAN_FORCE, &s), 0);
    ck_assert_int_gt(s.recompressed, 0);
    ck_assert_int_eq(s.compressed_unreadable, 0);
    ck_assert_int_eq(s.tombstones_dropped, 0);
    ck_assert_int_lt(s.bytes_out, s.bytes_in);
    ck_assert_int_lt(s.records_out, s.records_in);
    read_all(log, &after);
    ck_assert_int_eq(after.unreadable, 0);
    ck_assert_int_gt(after.compressed, 0);
    check_compacted(&before, &after, clean_end, false);
    /* the producer's batch: same offsets and producer fields, one record, its codec */
    hdr_at(log, pbase, &ph);
    ck_assert_int_eq(ph.base_offset, pbase);
    ck_assert_int_eq(ph.last_offset_delta, ph0.last_offset_delta);
    ck_assert_int_eq(ph.attributes, ph0.attributes);
    ck_assert_int_eq(ph.producer_id, 55);
    ck_assert_int_eq(ph.producer_epoch, 3);
    ck_assert_int_eq(ph.base_sequence, 0);
    ck_assert_int_eq(ph.base_timestamp, ph0.base_timestamp);
    ck_assert_int_eq(ph.max_timestamp, ph0.max_timestamp);
    ck_assert_int_eq(ph.record_count, 1);
    ck_assert_ptr_null(find_off(&after, pbase));
    ck_assert_str_eq(find_off(&after, pbase + 1)->val, "kept");
    tst_check_index(log);
    free(after.r);
    check_tombstones_go(log);
    st_log_put(log);
    free(before.r);
}
END_TEST

/* Compressed batches that cannot be read are kept whole, shadow nothing, and are counted: a
 * corrupt lz4 frame (its CRC right) and a zstd decompression bomb past the ratio bound. */
static void capture_msg(void *arg, enum st_msg_level level, const char *msg)
{
    if (level == ST_MSG_WARN)
        snprintf(arg, 512, "%s", msg);
}

START_TEST(t_compressed_unreadable)
{
    struct st_log *log = open_compact(NULL, NULL);
    char warned[512] = "";
    store->msg_fn = capture_msg; /* white box: the store's message sink */
    store->msg_arg = warned;
    append_kv(log, 2, (const char *[]){"a", "c"}, (const char *[]){"a0", "c0"}, 1000);
    g_codec = KP_CODEC_LZ4;
    uint8_t buf[16384];
    struct kp_batch_builder b;
    ck_assert_int_eq(kp_batch_begin(&b, buf, 8192, 1001), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(kp_batch_add(&b, 1001, (struct kp_bytes){(const uint8_t *)"ac" + i, 1},
                                      (struct kp_bytes){(const uint8_t *)"x", 1}, NULL, 0),
                         0);
    size_t len = zip_batch(buf, (size_t)kp_batch_finish(&b), sizeof(buf), KP_CODEC_LZ4);
    memset(buf + KP_BATCH_HEADER_LEN + 7, 0xab, len - KP_BATCH_HEADER_LEN - 7); /* past the
                                                                                  frame header */
    kp_store_be32(buf + KP_BATCH_OFF_CRC,
                  kp_crc32c(0, buf + KP_BATCH_OFF_ATTRIBUTES, len - KP_BATCH_OFF_ATTRIBUTES));
    int64_t bad = append_raw(log, buf, len, 1001);
    /* 4 MiB of zeros under key c: a few hundred bytes of zstd, far past 256 times that */
    size_t vlen = 4 << 20, cap = vlen + 4096;
    uint8_t *big = malloc(cap), *zeros = calloc(1, vlen);
    ck_assert_ptr_nonnull(big);
    ck_assert_ptr_nonnull(zeros);
    ck_assert_int_eq(kp_batch_begin(&b, big, cap, 1002), 0);
    ck_assert_int_eq(kp_batch_add(&b, 1002, (struct kp_bytes){(const uint8_t *)"c", 1},
                                  (struct kp_bytes){zeros, (int32_t)vlen}, NULL, 0),
                     0);
    size_t blen = zip_batch(big, (size_t)kp_batch_finish(&b), cap, KP_CODEC_ZSTD);
    ck_assert_uint_lt(blen * 256, vlen);
    int64_t bomb = append_raw(log, big, blen, 1002);
    free(big);
    free(zeros);
    g_codec = 0;
    append_kv(log, 1, (const char *[]){"a"}, (const char *[]){"a1"}, 1003);
    roll(log);
    append_kv(log, 1, (const char *[]){"t"}, (const char *[]){"tail"}, 1004);
    tst_wait_settled(log);
    struct kp_batch_hdr h0, h;
    hdr_at(log, bad, &h0);
    struct recs before, after;
    read_all(log, &before);
    ck_assert_int_eq(before.unreadable, 1);
    struct st_clean_stats s = {0};
    ck_assert_int_eq(st_log_clean(log, 5000, ST_CLEAN_FORCE, &s), 0);
    ck_assert_int_eq(s.compressed_unreadable, 2);
    ck_assert_int_eq(s.recompressed, 0);
    ck_assert_msg(strstr(warned, "t-0: 2 compressed batch(es) kept whole") &&
                      strstr(warned, "the first at offset 2 (lz4: Bad message)"),
                  "logged: %s", warned);
    read_all(log, &after);
    ck_assert_int_eq(after.unreadable, 1);
    ck_assert_ptr_null(find_off(&after, 0));          /* a0: a1 is later */
    ck_assert_str_eq(find_off(&after, 1)->val, "c0"); /* the bomb's c is not in the map */
    ck_assert_str_eq(find_off(&after, bomb)->key, "c");
    ck_assert_str_eq(find_off(&after, bomb + 1)->val, "a1");
    hdr_at(log, bad, &h); /* the corrupt batch as it was */
    ck_assert_int_eq(h.base_offset, bad);
    ck_assert_uint_eq(h.crc, h0.crc);
    ck_assert_int_eq(h.batch_length, h0.batch_length);
    ck_assert_int_eq(h.record_count, 2);
    tst_check_index(log);
    st_log_put(log);
    free(before.r);
    free(after.r);
}
END_TEST

/* ---- the crash loop ---- */

static void copy_dir(const char *from, const char *to)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    ck_assert_int_eq(system(cmd), 0);
}

static bool same(const struct recs *a, const struct recs *b)
{
    if (a->n != b->n || a->end != b->end)
        return false;
    for (int i = 0; i < a->n; i++)
        if (a->r[i].off != b->r[i].off || strcmp(a->r[i].key, b->r[i].key) != 0 ||
            strcmp(a->r[i].val, b->r[i].val) != 0 || a->r[i].null != b->r[i].null)
            return false;
    return true;
}

static void read_dir(const char *d, struct recs *out, struct st_recovery_report *rep)
{
    struct st_store *st;
    ck_assert_int_eq(st_store_open_logged(d, NULL, NULL, NULL, rep, &st), 0);
    struct st_log *log = tst_log_get(st, "t", 1, 0);
    read_all(log, out);
    tst_check_index(log);
    st_log_put(log);
    st_store_close(st);
}

START_TEST(t_crash_loop)
{
    g_codec = _i ? KP_CODEC_LZ4 : KP_CODEC_NONE; /* recompressed batches in the swap too */
    char base[300], work[300];
    snprintf(base, sizeof(base), "%s/base", dir);
    snprintf(work, sizeof(work), "%s/work", dir);
    ck_assert_int_eq(mkdir(base, 0755), 0);
    /* a log of 4 sealed segments (one group) with a transaction, then its compaction */
    struct st_log_config c = tst_cfg();
    c.cleanup_policy = ST_CLEANUP_COMPACT;
    c.index_interval_bytes = 128;
    ck_assert_int_eq(st_store_open(base, NULL, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "t", 1, &c), 0);
    struct st_log *log = tst_log_get(store, "t", 1, 0);
    int32_t seq = 0;
    struct st_append_result res;
    txn_append(log, 5, 0, &seq, "key-1", "aborted", 999);
    ck_assert_int_eq(st_log_append_marker(log, 5, 0, false, 0, 999, &res), 0);
    fill(log, 200, 15, 50, 5, 1000000, 21);
    st_log_put(log);
    st_store_close(store);
    store = NULL;
    struct recs before, after, got;
    struct st_recovery_report rep;
    read_dir(base, &before, &rep);
    /* the reference: a cleaning that ran to its end */
    copy_dir(base, work);
    ck_assert_int_eq(st_store_open(work, NULL, &store), 0);
    log = tst_log_get(store, "t", 1, 0);
    struct st_clean_stats s = {0};
    ck_assert_int_eq(st_log_clean(log, 3000000, ST_CLEAN_FORCE, &s), 0);
    ck_assert_int_eq(s.segments_out, 1);
    st_log_put(log);
    st_store_close(store);
    store = NULL;
    read_dir(work, &after, &rep);
    ck_assert(!same(&before, &after));
    int compacted = 0, untouched = 0;
    for (int step = 1; step <= 12; step++) {
        copy_dir(base, work);
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            struct st_store *cs;
            if (st_store_open(work, NULL, &cs) != 0)
                _exit(2);
            struct st_log *cl = st_log_get(cs, "t", 1, 0);
            if (!cl || st__log_activate(cl) != 0)
                _exit(3);
            st__clean_crash_at = step;
            st_log_clean(cl, 3000000, ST_CLEAN_FORCE, NULL);
            _exit(4); /* the step was never reached */
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                      "step %d: the child was not killed (status %d)", step, status);
        read_dir(work, &got, &rep);
        ck_assert_int_eq(rep.bytes_cut, 0);
        if (same(&got, &after))
            compacted++;
        else if (same(&got, &before))
            untouched++;
        else
            ck_abort_msg("step %d: the log is neither compacted nor as it was", step);
        char leftover[400];
        snprintf(leftover, sizeof(leftover), "%s/t-0/cleaner", work);
        ck_assert_int_ne(access(leftover, F_OK), 0);
        snprintf(leftover, sizeof(leftover), "%s/t-0/clean-swap", work);
        ck_assert_int_ne(access(leftover, F_OK), 0);
        free(got.r);
    }
    /* steps 1, 2 and 12 before the commit; 3-11 after it */
    ck_assert_int_eq(untouched, 3);
    ck_assert_int_eq(compacted, 9);
    free(before.r);
    free(after.r);
}
END_TEST

/* Readers holding ranges of replaced segments keep reading the old bytes. */
START_TEST(t_reader_keeps_old_range)
{
    struct st_log *log = open_compact(NULL, NULL);
    fill(log, 200, 5, 50, 0, 1000000, 13);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, 0, 1 << 20, &rd), 0);
    size_t len = rd.r[0].len;
    uint8_t *b1 = malloc(len), *b2 = malloc(len);
    ck_assert_int_eq(pread(rd.r[0].fd, b1, len, rd.r[0].pos), (ssize_t)len);
    struct st_clean_stats s = {0};
    ck_assert_int_eq(st_log_clean(log, 3000000, ST_CLEAN_FORCE, &s), 0);
    ck_assert_int_gt(s.segments_in, 0);
    ck_assert_int_eq(pread(rd.r[0].fd, b2, len, rd.r[0].pos), (ssize_t)len);
    ck_assert_int_eq(memcmp(b1, b2, len), 0);
    st_read_release(&rd);
    free(b1);
    free(b2);
    st_log_put(log);
}
END_TEST

/* The background cleaner finds a dirty log and cleans it; a store closes while it runs. */
START_TEST(t_background)
{
    struct st_log_config d = tst_cfg();
    d.cleaner_threads = 2;
    d.cleaner_backoff_ms = 20;
    d.cleaner_io_max_bps = 50 << 20;
    ck_assert_int_eq(st_store_open(dir, &d, &store), 0);
    struct st_log_config c = d;
    c.cleanup_policy = ST_CLEANUP_COMPACT | ST_CLEANUP_DELETE;
    ck_assert_int_eq(st_topic_create(store, "t", 1, &c), 0);
    struct st_log *log = tst_log_get(store, "t", 1, 0);
    fill(log, 400, 10, 100, 0, 1000000, 5);
    struct recs before, after;
    read_all(log, &before);
    int64_t clean_end = active_base(log);
    ck_assert_int_eq(st_store_cleaner_start(store), 0);
    struct st_clean_stats s = {0};
    for (int i = 0; i < 2000 && s.logs == 0; i++) {
        usleep(5000);
        st_store_cleaner_stats(store, &s);
    }
    ck_assert_int_ge(s.logs, 1);
    read_all(log, &after);
    check_compacted(&before, &after, clean_end, false);
    /* more dirt, and a close while the cleaners may be at it */
    fill(log, 400, 10, 100, 0, 2000000, 6);
    st_log_put(log);
    st_store_close(store);
    store = NULL;
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    log = tst_log_get(store, "t", 1, 0);
    struct recs again;
    read_all(log, &again);
    ck_assert_int_eq(again.end, st_log_end_offset(log));
    st_log_put(log);
    free(before.r);
    free(after.r);
    free(again.r);
}
END_TEST

/* Appends, rolls, reads and cleanings at once: every read is whole batches with valid CRCs
 * and continuous offsets, and a key written before a cleaning is never lost by it. */
struct conc {
    struct st_log *log;
    _Atomic bool stop;
    _Atomic int bad;
    _Atomic int reads;
    _Atomic int cleanings;
};

static bool read_valid(struct st_log *log)
{
    int64_t at = st_log_start_offset(log), end = st_log_end_offset(log), next = at;
    bool ok = true;
    while (ok && at < end) {
        struct st_read rd;
        if (st_log_read(log, at, 256 << 10, &rd) != 0 || rd.n == 0)
            return false;
        for (int i = 0; ok && i < rd.n; i++) {
            uint8_t *buf = malloc(rd.r[i].len);
            ok = buf && pread(rd.r[i].fd, buf, rd.r[i].len, rd.r[i].pos) == (ssize_t)rd.r[i].len;
            size_t p = 0;
            while (ok && p < rd.r[i].len) {
                struct kp_batch_hdr h;
                /* a read's first batch holds its offset; it may begin before it when a
                 * cleaning swapped in, meanwhile, an empty batch spanning removed ones */
                bool first = i == 0 && p == 0;
                ok = kp_batch_parse_hdr(buf + p, rd.r[i].len - p, &h) == 0 &&
                     p + kp_batch_size(&h) <= rd.r[i].len &&
                     (h.base_offset == next || (first && h.base_offset < next &&
                                                h.base_offset + h.last_offset_delta >= next)) &&
                     kp_crc32c(0, buf + p + 21, kp_batch_size(&h) - 21) == h.crc;
                if (ok) {
                    next = h.base_offset + h.last_offset_delta + 1;
                    p += kp_batch_size(&h);
                }
            }
            free(buf);
        }
        st_read_release(&rd);
        at = next;
    }
    return ok;
}

static void *conc_reader(void *arg)
{
    struct conc *c = arg;
    while (!atomic_load(&c->stop)) {
        if (!read_valid(c->log))
            atomic_fetch_add(&c->bad, 1);
        atomic_fetch_add(&c->reads, 1);
        usleep(500);
    }
    return NULL;
}

static void *conc_cleaner(void *arg)
{
    struct conc *c = arg;
    while (!atomic_load(&c->stop)) {
        struct st_clean_stats s = {0};
        int err = st_log_clean(c->log, 1000000, ST_CLEAN_FORCE, &s);
        if (err < 0)
            atomic_fetch_add(&c->bad, 1000);
        if (s.segments_in > 0)
            atomic_fetch_add(&c->cleanings, 1);
        usleep(2000);
    }
    return NULL;
}

START_TEST(t_concurrent)
{
    struct st_log *log = open_compact(NULL, NULL);
    struct conc c = {.log = log};
    atomic_init(&c.stop, false);
    atomic_init(&c.bad, 0);
    atomic_init(&c.reads, 0);
    atomic_init(&c.cleanings, 0);
    pthread_t th[3];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, conc_reader, &c), 0);
    ck_assert_int_eq(pthread_create(&th[2], NULL, conc_cleaner, &c), 0);
    /* the model: each key's last append (offset, value) */
    enum { NK = 40 };
    int64_t last_off[NK];
    char last_val[NK][40];
    bool last_null[NK];
    for (int k = 0; k < NK; k++)
        last_off[k] = -1;
    uint64_t seed = 99;
    for (int b = 0; b < 1500; b++) {
        int k = (int)(tst_rand(&seed) % NK);
        char key[24], val[40];
        snprintf(key, sizeof(key), "key-%d", k);
        snprintf(val, sizeof(val), "b%d", b);
        bool null = tst_rand(&seed) % 8 == 0;
        const char *vp = null ? NULL : val;
        last_off[k] = append_kv(log, 1, (const char *[]){key}, &vp, 1000 + b);
        snprintf(last_val[k], sizeof(last_val[k]), "%s", null ? "" : val);
        last_null[k] = null;
        if (b % 50 == 49) {
            roll(log);
            st_log_request_sync(log);
        }
        usleep(300); /* cleanings interleave with the appends */
    }
    tst_wait_settled(log);
    for (int i = 0; i < 2000 && atomic_load(&c.cleanings) < 3 && atomic_load(&c.bad) == 0; i++)
        usleep(1000); /* the cleaner catches up with the last segments (at most 2 s) */
    usleep(20000);
    atomic_store(&c.stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(atomic_load(&c.bad), 0);
    ck_assert_int_gt(atomic_load(&c.reads), 10);
    ck_assert_int_ge(atomic_load(&c.cleanings), 3);
    /* the background cleanings need not have reached the last sealed segments yet (a loaded
     * machine): one more, now, so that what follows does not depend on timing */
    ck_assert_int_eq(st_log_clean(log, 1000000, ST_CLEAN_FORCE, NULL), 0);
    struct recs got;
    read_all(log, &got);
    for (int k = 0; k < NK; k++) {
        if (last_off[k] < 0)
            continue;
        const struct rec *r = find_off(&got, last_off[k]);
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->val, last_val[k]);
        ck_assert_int_eq(r->null, last_null[k]);
    }
    /* below the active segment, each key once */
    int64_t ab = active_base(log);
    int seen[NK] = {0};
    for (int i = 0; i < got.n; i++)
        if (got.r[i].off < ab)
            ck_assert_int_le(++seen[atoi(got.r[i].key + 4)], 1);
    tst_check_index(log);
    free(got.r);
    st_log_put(log);
}
END_TEST

/* Sync rounds of any log (the store's sync observer). */
static atomic_int g_rounds;
static void count_round(void *arg, int64_t ns, int err)
{
    (void)arg;
    (void)ns;
    (void)err;
    atomic_fetch_add(&g_rounds, 1);
}

/*
 * Hundreds of tiny sealed segments (librdkafka's 0077_compaction: segment.bytes=10000, ~390
 * segments): the flusher digests them in a few rounds (a byte budget per round, and the next
 * round at once while some are left), so the cleaner can take them all. The flusher is held
 * off (the log's sync_mu) while they are written, so that its rounds are counted from one
 * backlog. Before: 16 segments per round, a round a second: 25 rounds for 400.
 */
START_TEST(t_many_small_segments_digested)
{
    enum { NSEG = 400, NKEYS = 10 };
    struct st_log *log = open_compact(NULL, NULL);
    st_store_set_sync_observer(store, count_round, NULL);
    append_kv(log, 1, (const char *[]){"k-0"}, (const char *[]){"first"}, 1000000);
    tst_wait_settled(log); /* activated and synced once */
    pthread_mutex_lock(&log->sync_mu);
    for (int b = 0; b < NSEG; b++) {
        char k[24], v[40];
        snprintf(k, sizeof(k), "k-%d", b % NKEYS);
        snprintf(v, sizeof(v), "v%d", b);
        append_kv(log, 1, (const char *[]){k}, (const char *[]){v}, 1000001 + b);
        roll(log);
    }
    atomic_store(&g_rounds, 0);
    pthread_mutex_unlock(&log->sync_mu);
    st__store_kick_flusher(store);
    /* bounded: 30 s; every sealed segment digested */
    int undigested = NSEG + 1;
    for (int i = 0; i < 3000 && undigested > 0; i++) {
        struct st_segvec *v = atomic_load(&log->segs);
        undigested = 0;
        for (int k = 0; k < v->n - 1; k++)
            undigested += !atomic_load(&v->s[k]->digested);
        if (undigested > 0)
            nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    ck_assert_int_eq(undigested, 0);
    int rounds = atomic_load(&g_rounds);
    ck_assert_msg(rounds <= 4, "%d flusher rounds to digest %d sealed segments", rounds, NSEG);
    /* and the cleaner takes all of them in one cleaning: one record per key left below the
     * active segment */
    struct st_clean_stats s = {0};
    ck_assert_int_eq(st_log_clean(log, 3000000, ST_CLEAN_FORCE, &s), 0);
    ck_assert_int_eq(s.segments_in, NSEG);
    ck_assert_int_eq(s.records_in, NSEG + 1);
    ck_assert_int_eq(s.records_out, NKEYS);
    struct recs after;
    read_all(log, &after);
    ck_assert_int_eq(after.n, NKEYS);
    free(after.r);
    st_log_put(log);
}
END_TEST

/*
 * The flusher's digests of a compacted log wake the sleeping background cleaner: segments
 * sealed while the cleaner sleeps a long log.cleaner.backoff.ms (10 minutes here) are cleaned
 * once digested, not a backoff later. The flusher is held off (sync_mu) while they are written
 * and the cleaner has had its first look (nothing digested then); before, the cleaner slept on.
 */
START_TEST(t_digests_wake_the_cleaner)
{
    struct st_log_config d = tst_cfg();
    d.cleaner_threads = 1;
    d.cleaner_backoff_ms = 600000;
    ck_assert_int_eq(st_store_open(dir, &d, &store), 0);
    struct st_log_config c = d;
    c.cleanup_policy = ST_CLEANUP_COMPACT;
    ck_assert_int_eq(st_topic_create(store, "t", 1, &c), 0);
    struct st_log *log = tst_log_get(store, "t", 1, 0);
    append_kv(log, 1, (const char *[]){"k-0"}, (const char *[]){"first"}, 1000000);
    tst_wait_settled(log);
    pthread_mutex_lock(&log->sync_mu);
    ck_assert_int_eq(st_store_cleaner_start(store), 0);
    for (int b = 0; b < 40; b++) {
        char k[24], v[40];
        snprintf(k, sizeof(k), "k-%d", b % 4);
        snprintf(v, sizeof(v), "v%d", b);
        append_kv(log, 1, (const char *[]){k}, (const char *[]){v}, 1000001 + b);
        roll(log);
    }
    usleep(300 * 1000); /* the cleaner's first pick: nothing digested, it sleeps */
    pthread_mutex_unlock(&log->sync_mu);
    st__store_kick_flusher(store);
    struct st_clean_stats s = {0};
    for (int i = 0; i < 3000 && s.records_out == 0; i++) { /* bounded: 30 s */
        usleep(10000);
        st_store_cleaner_stats(store, &s);
    }
    ck_assert_int_ge(s.logs, 1);
    ck_assert_int_gt(s.records_in, s.records_out);
    st_log_put(log);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_clean");
    TCase *tc = tcase_create("clean");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_config_keys);
    tcase_add_test(tc, t_map);
    tcase_add_test(tc, t_latest_per_key);
    tcase_add_test(tc, t_ratio_and_lag);
    tcase_add_test(tc, t_tombstones);
    tcase_add_test(tc, t_passes);
    tcase_add_loop_test(tc, t_transactions, KP_CODEC_NONE, KP_CODEC_ZSTD + 1);
    tcase_add_loop_test(tc, t_compressed, KP_CODEC_GZIP, KP_CODEC_ZSTD + 1);
    tcase_add_test(tc, t_compressed_unreadable);
    tcase_add_test(tc, t_reader_keeps_old_range);
    tcase_add_test(tc, t_background);
    tcase_add_test(tc, t_concurrent);
    tcase_add_loop_test(tc, t_crash_loop, 0, 2);
    tcase_add_test(tc, t_many_small_segments_digested);
    tcase_add_test(tc, t_digests_wake_the_cleaner);
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
