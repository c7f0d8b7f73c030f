/*
 * test_st_util — helpers shared by the storage suites (tests/unit/test_st_*.c): temporary
 * data directories, batch fixtures built with kp_batch_builder, and a checker that reads the
 * ranges st_log_read() returns and validates every batch in them (CRC, offsets).
 * Header-only (static inline) so every suite stays one file.
 */
#ifndef SPLICELOG_TEST_ST_UTIL_H
#define SPLICELOG_TEST_ST_UTIL_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kp_batch.h"
#include "st.h"
#include "st_int.h" /* white-box checks of index contents */

/* A fresh directory under /dev/shm when available (fsync is cheap there), else $TMPDIR. */
static inline void tst_mkdtemp(char *buf, size_t cap)
{
    const char *base = getenv("ST_TEST_DIR");
    if (!base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                                             : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    snprintf(buf, cap, "%s/st-test-XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

static inline int tst_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void tst_rmrf(const char *dir) { nftw(dir, tst_rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

/*
 * st_log_get, then the log opened (st__log_activate): after a clean shutdown a store leaves
 * its logs dormant until their first use, and white-box checks look at segments, indexes and
 * producer state directly.
 */
static inline struct st_log *tst_log_get(struct st_store *st, const char *topic, size_t len,
                                         int32_t partition)
{
    struct st_log *log = st_log_get(st, topic, len, partition);
    if (log)
        ck_assert_int_eq(st__log_activate(log), 0);
    return log;
}

/* As if the store had not been closed cleanly: its next open opens (and checks, and reports)
 * every log at once instead of at first use. The logs' own records stay. */
static inline void tst_store_unclean(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/clean-shutdown", dir);
    unlink(path);
}

/* pread / pwrite on a segment's .log through the store's cache of open files (a pin while
 * the call runs): bytes moved, or -1. */
static inline ssize_t tst_seg_pread(struct st_seg *s, void *b, size_t n, int64_t pos)
{
    if (st__seg_pin(s) < 0)
        return -1;
    ssize_t r = pread(s->fd, b, n, (off_t)pos);
    st__seg_unpin(s);
    return r;
}

static inline ssize_t tst_seg_pwrite(struct st_seg *s, const void *b, size_t n, int64_t pos)
{
    if (st__seg_pin(s) < 0)
        return -1;
    ssize_t r = pwrite(s->fd, b, n, (off_t)pos);
    st__seg_unpin(s);
    return r;
}

/* Deterministic PRNG (xorshift64*). */
static inline uint64_t tst_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ULL;
}

/*
 * Builds a batch of nrec records with values of vlen bytes (content derived from seed) and
 * timestamps ts, ts+1, ...; returns its size. buf must hold it (ck_assert otherwise).
 */
static inline size_t tst_batch(uint8_t *buf, size_t cap, int nrec, size_t vlen, int64_t ts,
                               uint64_t seed)
{
    struct kp_batch_builder b;
    ck_assert_int_eq(kp_batch_begin(&b, buf, cap, ts), 0);
    uint8_t *val = malloc(vlen + 1);
    ck_assert_ptr_nonnull(val);
    for (int r = 0; r < nrec; r++) {
        for (size_t i = 0; i < vlen; i++)
            val[i] = (uint8_t)(seed + (uint64_t)r * 31 + i);
        struct kp_bytes k = {(const uint8_t *)"k", 1};
        struct kp_bytes v = {val, (int32_t)vlen};
        ck_assert_int_eq(kp_batch_add(&b, ts + r, k, v, NULL, 0), 0);
    }
    free(val);
    long n = kp_batch_finish(&b);
    ck_assert_int_gt(n, 0);
    return (size_t)n;
}

/* Appends one batch; returns its base offset. */
static inline int64_t tst_append1(struct st_log *log, int nrec, size_t vlen, int64_t ts,
                                  int64_t now_ms)
{
    size_t cap = 128 + (size_t)nrec * (vlen + 32);
    uint8_t *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    size_t n = tst_batch(buf, cap, nrec, vlen, ts, (uint64_t)ts);
    struct iovec iv = {buf, n};
    struct st_append_result res;
    int err = st_log_append(log, &iv, 1, now_ms, &res);
    ck_assert_int_eq(err, 0);
    free(buf);
    return res.base_offset;
}

struct tst_seen {
    int64_t first_base; /* baseOffset of the first batch */
    int64_t next;       /* offset after the last batch */
    int batches;
    size_t first_size;
};

/*
 * Reads every range of rd and checks that it is a run of whole, valid (CRC) batches with
 * contiguous offsets, continuing across ranges. Fails the test otherwise.
 */
static inline void tst_check_read(const struct st_read *rd, struct tst_seen *seen)
{
    memset(seen, 0, sizeof(*seen));
    seen->first_base = -1;
    size_t total = 0;
    for (int i = 0; i < rd->n; i++) {
        const struct st_range *r = &rd->r[i];
        ck_assert_int_gt(r->len, 0);
        uint8_t *buf = malloc(r->len);
        ck_assert_ptr_nonnull(buf);
        ssize_t got = pread(r->fd, buf, r->len, r->pos);
        ck_assert_int_eq(got, (ssize_t)r->len);
        size_t at = 0;
        while (at < r->len) {
            struct kp_batch_hdr h;
            int err = kp_batch_validate(buf + at, r->len - at, 0, &h);
            if (err != 0)
                ck_abort_msg("range %d: bad batch at +%zu: %d", i, at, err);
            if (seen->first_base < 0) {
                seen->first_base = h.base_offset;
                seen->first_size = kp_batch_size(&h);
            } else if (h.base_offset != seen->next) {
                ck_abort_msg("range %d: offset %lld, want %lld", i, (long long)h.base_offset,
                             (long long)seen->next);
            }
            seen->next = h.base_offset + h.last_offset_delta + 1;
            seen->batches++;
            at += kp_batch_size(&h);
        }
        ck_assert_uint_eq(at, r->len);
        total += r->len;
        free(buf);
    }
    ck_assert_uint_eq(total, rd->total);
    if (rd->n > 0)
        ck_assert_int_eq(rd->first_offset, seen->first_base);
}

static inline struct st_log_config tst_cfg(void)
{
    struct st_log_config c;
    st_log_config_default(&c);
    return c;
}

/* Waits (bounded, 20 s) until the log's durable offset reaches its end. */
static inline void tst_wait_durable(struct st_log *log)
{
    st_log_request_sync(log);
    for (int i = 0; i < 20000; i++) {
        if (st_log_durable_offset(log) >= st_log_end_offset(log))
            return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    ck_abort_msg("durable offset did not reach the end");
}

/* Waits (bounded, 20 s) until the log is durable and every sealed segment has its digest
 * (the flusher writes digests right after it publishes the durable offset). */
static inline void tst_wait_settled(struct st_log *log)
{
    tst_wait_durable(log);
    for (int i = 0; i < 20000; i++) {
        struct st_segvec *v = atomic_load(&log->segs);
        bool all = true;
        for (int k = 0; k < v->n - 1; k++)
            all = all && atomic_load(&v->s[k]->digested);
        if (all)
            return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    ck_abort_msg("sealed segments were not digested");
}

/* Whole file into memory (for crash-test snapshots). */
static inline uint8_t *tst_slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        *len = 0;
        return NULL;
    }
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    uint8_t *b = malloc((size_t)st.st_size + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(pread(fd, b, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return b;
}

static inline void tst_spit(const char *path, const uint8_t *b, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, b, len, 0), (ssize_t)len);
    close(fd);
}

/* The files of one directory, as a crash would leave them (tst_dir_take / tst_dir_restore). */
struct tst_dirsnap {
    struct {
        char name[256];
        uint8_t *data;
        size_t len;
    } f[128];
    int n;
};

static inline void tst_dir_take(const char *dir, struct tst_dirsnap *s)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    s->n = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        ck_assert_int_lt(s->n, 128);
        snprintf(s->f[s->n].name, sizeof(s->f[s->n].name), "%s", de->d_name);
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        s->f[s->n].data = tst_slurp(path, &s->f[s->n].len);
        s->n++;
    }
    closedir(d);
}

static inline void tst_dir_restore(const char *dir, const struct tst_dirsnap *s)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    char path[1024];
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    for (int i = 0; i < s->n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, s->f[i].name);
        tst_spit(path, s->f[i].data, s->f[i].len);
    }
}

static inline void tst_dir_free(struct tst_dirsnap *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->f[i].data);
    s->n = 0;
}

/*
 * Recomputes every segment's offset and time index from its .log by the entry rule in
 * st_segment.c and checks the published entries are exactly those.
 */
static inline void tst_check_index(struct st_log *log)
{
    /* plain checks in the loop, one ck_abort on failure: Check records every assertion */
#define TST_REQUIRE(c, ...)                                                                        \
    do {                                                                                           \
        if (!(c))                                                                                  \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)
    ck_assert_int_eq(st__log_activate(log), 0);
    struct st_segvec *v = atomic_load(&log->segs);
    for (int i = 0; i < v->n; i++) {
        struct st_seg *s = v->s[i];
        long long sb = (long long)s->base;
        int64_t size = atomic_load(&s->size);
        int64_t n = st__idx_count(s, &s->idx), tn = st__idx_count(s, &s->tidx);
        ck_assert_int_ge(n, 0);
        ck_assert_int_ge(tn, 0);
        uint32_t k = 0, tk = 0;
        int64_t pos = 0, since = 0, max_ts = -1, tlast = -1, next = s->base;
        while (pos < size) {
            uint8_t b[KP_BATCH_HEADER_LEN];
            struct kp_batch_hdr h;
            TST_REQUIRE(tst_seg_pread(s, b, sizeof(b), pos) == (ssize_t)sizeof(b),
                        "seg %lld: short read", sb);
            TST_REQUIRE(kp_batch_parse_hdr(b, sizeof(b), &h) == 0, "seg %lld: bad header at %lld",
                        sb, (long long)pos);
            TST_REQUIRE(h.base_offset == next, "seg %lld: offset gap at %lld", sb, (long long)pos);
            if (pos > 0 && since >= s->interval) {
                TST_REQUIRE(k < n, "segment %lld: index entry %u missing", sb, k);
                int32_t rel, p;
                TST_REQUIRE(st__oidx_entry(s, k++, &rel, &p) == 1, "segment %lld: entry %u", sb,
                            k - 1);
                TST_REQUIRE(rel == h.base_offset - s->base && p == pos,
                            "segment %lld: index entry %u is {%d, %d}, want {%lld, %lld}", sb,
                            k - 1, rel, p, (long long)(h.base_offset - s->base), (long long)pos);
                if (max_ts > tlast) {
                    TST_REQUIRE(tk < tn, "segment %lld: time index entry %u missing", sb, tk);
                    int64_t t;
                    TST_REQUIRE(st__tidx_entry(s, tk++, &t, &rel) == 1,
                                "segment %lld: time entry %u", sb, tk - 1);
                    TST_REQUIRE(t == max_ts && rel == h.base_offset - s->base,
                                "segment %lld: time index entry %u wrong", sb, tk - 1);
                    tlast = max_ts;
                }
                since = 0;
            }
            since += (int64_t)kp_batch_size(&h);
            pos += (int64_t)kp_batch_size(&h);
            if (h.max_timestamp > max_ts)
                max_ts = h.max_timestamp;
            next = h.base_offset + h.last_offset_delta + 1;
        }
        TST_REQUIRE(pos == size, "segment %lld: batches overrun the size", sb);
        TST_REQUIRE(k == n, "segment %lld: %lld index entries, want %u", sb, (long long)n, k);
        /* a sealed segment may end with the final time-index entry */
        TST_REQUIRE(tk == tn || (tk + 1 == tn && atomic_load(&s->sealed)),
                    "segment %lld: %lld time index entries, want %u", sb, (long long)tn, tk);
    }
#undef TST_REQUIRE
}

#endif
