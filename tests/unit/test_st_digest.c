/*
 * test_st_digest — digest sidecars of sealed segments, running digests, and the scrubber:
 * a flipped bit anywhere (every header field, records, sealed or active segment) fences
 * exactly the batch that holds it, and every other offset stays readable.
 */
#include <xxhash.h>

#include "test_st_util.h"

static char dir[256];
static struct st_store *store;
static struct st_log *log_;
static int64_t bsize; /* every batch has this size */
static char msgs[4096];

static void on_msg(void *arg, const char *msg)
{
    (void)arg;
    strncat(msgs, msg, sizeof(msgs) - strlen(msgs) - 2);
    strcat(msgs, "\n");
}

enum { VLEN = 65000, NBATCH = 60 };

static void setup(void)
{
    tst_mkdtemp(dir, sizeof(dir));
    msgs[0] = 0;
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 3670016; /* 3.5 MiB: four 1 MiB digest chunks, the last one partial */
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "t", 1, &c), 0);
    log_ = tst_log_get(store, "t", 1, 0);
    for (int i = 0; i < NBATCH; i++)
        tst_append1(log_, 1, VLEN, i, 1);
    struct st_segvec *v = atomic_load(&log_->segs);
    ck_assert_int_eq(v->n, 2);
    int64_t sz = atomic_load(&v->s[0]->size);
    ck_assert_int_gt(sz, 3 * 1048576);
    bsize = sz / v->s[1]->base;
    ck_assert_int_eq(bsize * v->s[1]->base, sz);
    tst_wait_settled(log_); /* the sealed segment is synced and digested */
}

static void teardown(void)
{
    st_log_put(log_);
    st_store_close(store);
    tst_rmrf(dir);
}

static int64_t sealed_size(void) { return atomic_load(&atomic_load(&log_->segs)->s[0]->size); }

START_TEST(t_sidecar_format)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/t-0/00000000000000000000.digest", dir);
    size_t len;
    uint8_t *d = tst_slurp(path, &len);
    ck_assert_ptr_nonnull(d);
    size_t logl;
    snprintf(path, sizeof(path), "%s/t-0/00000000000000000000.log", dir);
    uint8_t *lg = tst_slurp(path, &logl);
    ck_assert_int_eq((int64_t)logl, sealed_size());
    uint64_t n = (logl + 1048575) / 1048576;
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(len, 32 + 8 * n + 8);
    ck_assert_int_eq(memcmp(d, "SLDG", 4), 0);
    ck_assert_uint_eq(kp_load_be32(d + 4), 1);
    ck_assert_uint_eq(kp_load_be32(d + 8), 1048576);
    ck_assert_uint_eq(kp_load_be64(d + 16), logl);
    ck_assert_uint_eq(kp_load_be64(d + 24), n);
    for (uint64_t i = 0; i < n; i++) {
        size_t at = i * 1048576, l = logl - at < 1048576 ? logl - at : 1048576;
        ck_assert_uint_eq(kp_load_be64(d + 32 + 8 * i), XXH3_64bits(lg + at, l));
    }
    ck_assert_uint_eq(kp_load_be64(d + len - 8), XXH3_64bits(d, len - 8));
    /* the active segment has none */
    snprintf(path, sizeof(path), "%s/t-0/%020lld.digest", dir,
             (long long)atomic_load(&log_->segs)->s[1]->base);
    ck_assert_int_ne(access(path, F_OK), 0);
    free(d);
    free(lg);
}
END_TEST

/* Sidecar of segment base in topic-partition dir pd matches its .log, chunk by chunk. */
static void check_sidecar(const char *pd, int64_t base)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%020lld.digest", pd, (long long)base);
    size_t len, logl;
    uint8_t *d = tst_slurp(path, &len);
    ck_assert_msg(d != NULL, "%s missing", path);
    snprintf(path, sizeof(path), "%s/%020lld.log", pd, (long long)base);
    uint8_t *lg = tst_slurp(path, &logl);
    uint64_t n = (logl + 1048575) / 1048576;
    ck_assert_uint_eq(len, 32 + 8 * n + 8);
    ck_assert_uint_eq(kp_load_be64(d + 16), logl);
    for (uint64_t i = 0; i < n; i++) {
        size_t at = i * 1048576, l = logl - at < 1048576 ? logl - at : 1048576;
        if (kp_load_be64(d + 32 + 8 * i) != XXH3_64bits(lg + at, l))
            ck_abort_msg("segment %lld chunk %llu: digest differs", (long long)base,
                         (unsigned long long)i);
    }
    free(d);
    free(lg);
}

START_TEST(t_running_digests_match_the_bytes)
{
    /* random batch sizes, several per append, crossing 1 MiB chunk boundaries anywhere */
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 3 << 20;
    ck_assert_int_eq(st_topic_create(store, "r", 1, &c), 0);
    struct st_log *log = tst_log_get(store, "r", 1, 0);
    uint64_t rng = 77;
    uint8_t *buf = malloc(4 * 320 * 1024);
    ck_assert_ptr_nonnull(buf);
    for (int i = 0; i < 60; i++) {
        int per = 1 + (int)(tst_rand(&rng) % 4);
        struct iovec iv[4];
        size_t at = 0;
        for (int k = 0; k < per; k++) {
            size_t vlen = 100 + tst_rand(&rng) % (300 * 1024);
            size_t n = tst_batch(buf + at, 320 * 1024, 1, vlen, i, (uint64_t)i * 4 + k);
            iv[k] = (struct iovec){buf + at, n};
            at += 320 * 1024;
        }
        struct st_append_result res;
        ck_assert_int_eq(st_log_append(log, iv, per, 1, &res), 0);
    }
    free(buf);
    tst_wait_settled(log);
    struct st_segvec *v = atomic_load(&log->segs);
    ck_assert_int_ge(v->n, 3);
    char pd[300];
    snprintf(pd, sizeof(pd), "%s/r-0", dir);
    for (int i = 0; i < v->n - 1; i++)
        check_sidecar(pd, v->s[i]->base);
    struct st_scrub_report rep;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_int_eq(rep.bad_segments, 0);
    ck_assert_str_eq(msgs, "");
    st_log_put(log);
}
END_TEST

/* Bytes of the active segment the scrubber covers (all of it once the log is durable). */
static int64_t active_size(struct st_log *log)
{
    struct st_segvec *v = atomic_load(&log->segs);
    return atomic_load(&v->s[v->n - 1]->size);
}

START_TEST(t_scrub_clean)
{
    struct st_scrub_report rep;
    int64_t all = sealed_size() + active_size(log_);
    ck_assert_int_gt(active_size(log_), 0);
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_int_eq(rep.bad_segments, 0);
    ck_assert_int_eq(rep.fenced, 0);
    /* one full pass, the active segment's synced bytes included (the budget allows a second,
     * which the scrubber does not take) */
    ck_assert_int_eq(rep.bytes_checked, all);
    ck_assert_str_eq(msgs, "");
    /* at a bounded rate: 1 MiB per call, resuming where it stopped */
    int64_t sum = 0;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(st_store_scrub(store, 1048576, on_msg, NULL, &rep), 0);
        ck_assert_int_le(rep.bytes_checked, 1048576);
        ck_assert_int_gt(rep.bytes_checked, 0);
        sum += rep.bytes_checked;
    }
    ck_assert_int_eq(sum, all);
}
END_TEST

static void flip_in(const char *topic, int64_t base, int64_t at, uint8_t mask)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s-0/%020lld.log", dir, topic, (long long)base);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t b;
    ck_assert_int_eq(pread(fd, &b, 1, at), 1);
    b ^= mask;
    ck_assert_int_eq(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

static void flip_at(int64_t at) { flip_in("t", 0, at, 1); }

/* Reads every offset of log from start to end: -EBADMSG exactly where bad[offset], every
 * other offset returns whole valid batches starting at it. */
static void expect_fenced_exactly(struct st_log *log, const bool *bad, int64_t n)
{
    ck_assert_int_eq(st_log_end_offset(log), n);
    for (int64_t o = st_log_start_offset(log); o < n; o++) {
        struct st_read rd;
        int rc = st_log_read(log, o, 1, &rd);
        if (bad[o]) {
            if (rc != -EBADMSG)
                ck_abort_msg("offset %lld: read gives %d, want -EBADMSG", (long long)o, rc);
            continue;
        }
        if (rc != 0)
            ck_abort_msg("offset %lld: read gives %d, want the batch", (long long)o, rc);
        struct tst_seen seen;
        tst_check_read(&rd, &seen);
        ck_assert_int_le(seen.first_base, o);
        ck_assert_int_gt(seen.next, o);
        st_read_release(&rd);
    }
}

START_TEST(t_scrub_fences_only_the_bad_batch)
{
    struct st_scrub_report rep;
    ck_assert_int_eq(st_store_scrub(store, 1048576, on_msg, NULL, &rep), 0);
    ck_assert_int_eq(rep.bad_segments, 0);  /* chunk 0 */
    int64_t k = (1048576 + 524288) / bsize; /* the batch holding the flipped byte */
    flip_at(1048576 + 524288);
    ck_assert_int_eq(st_store_scrub(store, 1048576, on_msg, NULL, &rep), 0);
    ck_assert_int_eq(rep.bad_segments, 1);
    ck_assert_int_eq(rep.fenced, 1);
    ck_assert_ptr_nonnull(strstr(msgs, "00000000000000000000.log bytes [1048576, 2097152) do not "
                                       "match their digest"));
    char want[256];
    snprintf(want, sizeof(want), "bytes [%lld, %lld) offsets [%lld, %lld): CRC-32C mismatch",
             (long long)(k * bsize), (long long)((k + 1) * bsize), (long long)k,
             (long long)(k + 1));
    ck_assert_msg(strstr(msgs, want) != NULL, "%s not in\n%s", want, msgs);

    /* from the start: served, cut short of the bad batch */
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log_, 0, 100 << 20, &rd), 0);
    ck_assert_int_eq(rd.n, 1);
    ck_assert_int_eq(rd.r[0].pos + (off_t)rd.r[0].len, k * bsize);
    struct tst_seen seen;
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.next, k);
    st_read_release(&rd);
    /* the bad batch alone fails; the rest of its chunk and everything after is served */
    bool bad[NBATCH] = {false};
    bad[k] = true;
    expect_fenced_exactly(log_, bad, NBATCH);
    ck_assert_int_eq(st_log_read(log_, k + 1, 100 << 20, &rd), 0);
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.first_base, k + 1);
    st_read_release(&rd);
    /* the rest of the pass and later passes find nothing new and say nothing */
    msgs[0] = 0;
    ck_assert_int_eq(st_store_scrub(store, 4 << 20, on_msg, NULL, &rep), 0);
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_int_eq(rep.bad_segments, 0);
    ck_assert_int_eq(rep.fenced, 0);
    ck_assert_str_eq(msgs, "");
}
END_TEST

/* Byte positions (from a batch's start) of each header field and of the records. */
static const struct {
    const char *field;
    int at;
} fields[] = {
    {"baseOffset", 0},
    {"baseOffset", 7},
    {"batchLength", 8},
    {"batchLength", 11},
    {"partitionLeaderEpoch", 12},
    {"partitionLeaderEpoch", 15},
    {"magic", 16},
    {"crc", 17},
    {"crc", 20},
    {"attributes", 22},
    {"lastOffsetDelta", 26},
    {"maxTimestamp", 40},
    {"recordCount", 60},
    {"records", 61},
    {"records", -1} /* last byte */,
};

START_TEST(t_scrub_fences_each_header_field)
{
    /* one flip per field, each in its own batch of the sealed segment (never neighbours),
     * the first and last batches included; all are found and nothing else is fenced */
    int64_t nsealed = sealed_size() / bsize;
    ck_assert_int_ge(nsealed, 2 * (int64_t)(sizeof(fields) / sizeof(fields[0])));
    bool bad[NBATCH] = {false};
    uint64_t rng = 4242;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        int64_t k = i == 0 ? 0 : i == 1 ? nsealed - 1 : (int64_t)(2 + 2 * (i - 2));
        ck_assert(!bad[k] && (k == 0 || !bad[k - 1]) && (k + 1 >= NBATCH || !bad[k + 1]));
        int at = fields[i].at < 0 ? (int)bsize - 1 : fields[i].at;
        uint8_t mask = (uint8_t)(1u << (tst_rand(&rng) % 8));
        flip_in("t", 0, k * bsize + at, mask);
        bad[k] = true;
        msgs[0] = 0;
        struct st_scrub_report rep;
        ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
        if (rep.fenced != 1)
            ck_abort_msg("%s (byte %d, mask %02x) of batch %lld: %lld fenced\n%s", fields[i].field,
                         at, mask, (long long)k, (long long)rep.fenced, msgs);
        char want[128];
        snprintf(want, sizeof(want), "offsets [%lld, %lld)", (long long)k, (long long)(k + 1));
        ck_assert_msg(strstr(msgs, want) != NULL, "%s: %s not in\n%s", fields[i].field, want, msgs);
        expect_fenced_exactly(log_, bad, NBATCH);
    }
}
END_TEST

START_TEST(t_scrub_covers_the_active_segment)
{
    /* a partial chunk (the running digest at the last sync) ... */
    struct st_segvec *v = atomic_load(&log_->segs);
    int64_t base = v->s[1]->base;
    ck_assert_int_ge(NBATCH - base, 3);
    flip_in("t", base, bsize + 100, 0x10); /* the active segment's second batch */
    struct st_scrub_report rep;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_int_eq(rep.fenced, 1);
    bool bad[NBATCH] = {false};
    bad[base + 1] = true;
    expect_fenced_exactly(log_, bad, NBATCH);

    /* ... and complete chunks (running digests) of an active segment past 1 MiB, with the
     * flip in a header field: its epoch */
    ck_assert_int_eq(st_topic_create(store, "a", 1, NULL), 0);
    struct st_log *log = tst_log_get(store, "a", 1, 0);
    for (int i = 0; i < 20; i++)
        tst_append1(log, 1, VLEN, i, 1);
    tst_wait_settled(log);
    ck_assert_int_gt(active_size(log), 1048576);
    flip_in("a", 0, 5 * bsize + 14, 0x01);
    flip_in("a", 0, 17 * bsize + 3000, 0x80); /* and the body of one in the partial chunk */
    msgs[0] = 0;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_msg(rep.fenced == 2, "%lld\n%s", (long long)rep.fenced, msgs);
    ck_assert_ptr_nonnull(strstr(msgs, "partitionLeaderEpoch 256 above both neighbours (0, 0)"));
    bool bad2[20] = {false};
    bad2[5] = bad2[17] = true;
    expect_fenced_exactly(log, bad2, 20);
    /* appends go on behind the fences */
    ck_assert_int_eq(tst_append1(log, 1, 100, 99, 1), 20);
    st_log_put(log);
}
END_TEST

START_TEST(t_digest_rewritten_when_missing)
{
    st_log_put(log_);
    st_store_close(store);
    char path[512];
    snprintf(path, sizeof(path), "%s/t-0/00000000000000000000.digest", dir);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    log_ = tst_log_get(store, "t", 1, 0);
    tst_wait_settled(log_);
    ck_assert_int_eq(access(path, F_OK), 0);
    struct st_scrub_report rep;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_int_eq(rep.bytes_checked, sealed_size() + active_size(log_));
    ck_assert_int_eq(rep.bad_segments, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_digest");
    TCase *tc = tcase_create("digest");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t_sidecar_format);
    tcase_add_test(tc, t_running_digests_match_the_bytes);
    tcase_add_test(tc, t_scrub_clean);
    tcase_add_test(tc, t_scrub_fences_only_the_bad_batch);
    tcase_add_test(tc, t_scrub_fences_each_header_field);
    tcase_add_test(tc, t_scrub_covers_the_active_segment);
    tcase_add_test(tc, t_digest_rewritten_when_missing);
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
