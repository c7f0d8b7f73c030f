/*
 * test_st_fence — fenced ranges end to end: bits flipped at random positions of random
 * batches (sealed and active segments, any byte of the batch) are fenced exactly, a consumer
 * reads every good record, gets -EBADMSG exactly at the fenced offsets and seeks past them;
 * the ranges survive clean and unclean restarts (the fenced file, its format byte by byte),
 * a damaged file is reported and the scrubber finds the ranges again, retention drops them.
 */
#include <xxhash.h>

#include "kp_crc32c.h"
#include "test_st_util.h"

static char dir[256];
static struct st_store *store;
static struct st_log *log_;
static char msgs[1 << 16];

static void on_msg(void *arg, const char *msg)
{
    (void)arg;
    strncat(msgs, msg, sizeof(msgs) - strlen(msgs) - 2);
    strcat(msgs, "\n");
}

static void on_store_msg(void *arg, enum st_msg_level level, const char *msg)
{
    (void)level;
    on_msg(arg, msg);
}

/* Where each batch of the log is, read back from the files. */
struct batch {
    int64_t seg;    /* segment base */
    int64_t pos;    /* byte position in it */
    int64_t size;   /* bytes */
    int64_t off;    /* base offset */
    int64_t last;   /* last offset */
    int64_t max_ts; /* maxTimestamp */
};
static struct batch batches[4096];
static int nbatches;

static struct st_log_config cfg(void)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 200000;
    c.index_interval_bytes = 4096;
    return c;
}

static void open_store(void)
{
    struct st_recovery_report rep;
    ck_assert_int_eq(st_store_open_logged(dir, NULL, on_store_msg, NULL, &rep, &store), 0);
    log_ = tst_log_get(store, "t", 1, 0);
    ck_assert_ptr_nonnull(log_);
}

static void close_store(void)
{
    st_log_put(log_);
    log_ = NULL;
    st_store_close(store);
    store = NULL;
}

static void map_batches(void)
{
    nbatches = 0;
    struct st_segvec *v = atomic_load(&log_->segs);
    for (int i = 0; i < v->n; i++) {
        struct st_seg *s = v->s[i];
        int64_t size = atomic_load(&s->size), pos = 0;
        while (pos < size) {
            uint8_t b[KP_BATCH_HEADER_LEN];
            struct kp_batch_hdr h;
            ck_assert_int_eq(tst_seg_pread(s, b, sizeof(b), pos), (ssize_t)sizeof(b));
            ck_assert_int_eq(kp_batch_parse_hdr(b, sizeof(b), &h), 0);
            ck_assert_int_lt(nbatches, 4096);
            batches[nbatches++] = (struct batch){s->base,
                                                 pos,
                                                 (int64_t)kp_batch_size(&h),
                                                 h.base_offset,
                                                 h.base_offset + h.last_offset_delta,
                                                 h.max_timestamp};
            pos += (int64_t)kp_batch_size(&h);
        }
    }
}

/* A log of random batches: several sealed segments and an active one, all synced. */
static void setup(void)
{
    tst_mkdtemp(dir, sizeof(dir));
    msgs[0] = 0;
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    struct st_log_config c = cfg();
    ck_assert_int_eq(st_topic_create(store, "t", 1, &c), 0);
    log_ = tst_log_get(store, "t", 1, 0);
    uint64_t rng = 7;
    for (int i = 0; i < 160; i++)
        tst_append1(log_, 1 + (int)(tst_rand(&rng) % 4), 50 + tst_rand(&rng) % 6000, i, 1);
    tst_wait_settled(log_);
    ck_assert_int_ge(atomic_load(&log_->segs)->n, 4);
    map_batches();
}

static void teardown(void)
{
    if (store)
        close_store();
    tst_rmrf(dir);
}

static void flip(const struct batch *b, int64_t at, uint8_t mask)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/t-0/%020lld.log", dir, (long long)b->seg);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t x;
    ck_assert_int_eq(pread(fd, &x, 1, b->pos + at), 1);
    x ^= mask;
    ck_assert_int_eq(pwrite(fd, &x, 1, b->pos + at), 1);
    close(fd);
}

/*
 * A consumer from the start: reads whole batches, gets -EBADMSG at an offset and seeks to the
 * next one. Checks that the errors are exactly at the offsets of the bad batches and that
 * every other offset was read exactly once, in order.
 */
static void consume_all(const bool *bad)
{
    int64_t end = st_log_end_offset(log_);
    ck_assert_int_eq(end, batches[nbatches - 1].last + 1);
    int64_t off = 0, good = 0, errors = 0, want_good = 0, want_errors = 0;
    for (int i = 0; i < nbatches; i++) {
        int64_t n = batches[i].last - batches[i].off + 1;
        if (bad[i])
            want_errors += n;
        else
            want_good += n;
    }
    int b = 0; /* batch holding off */
    while (off < end) {
        while (batches[b].last < off)
            b++;
        struct st_read rd;
        int rc = st_log_read(log_, off, 32 * 1024, &rd);
        if (rc == -EBADMSG) {
            if (!bad[b])
                ck_abort_msg("offset %lld (batch %d) fails but is good", (long long)off, b);
            errors++;
            off++; /* seek past */
            continue;
        }
        if (rc != 0)
            ck_abort_msg("offset %lld: %d", (long long)off, rc);
        if (bad[b])
            ck_abort_msg("offset %lld (batch %d) is served but was flipped", (long long)off, b);
        struct tst_seen seen;
        tst_check_read(&rd, &seen); /* every batch served is whole and valid */
        ck_assert_int_eq(seen.first_base, batches[b].off);
        st_read_release(&rd);
        good += seen.next - off;
        off = seen.next;
    }
    ck_assert_int_eq(errors, want_errors);
    ck_assert_int_eq(good, want_good);
}

/* Flips one bit at a random byte of k random batches (never neighbours), returns bad[]. */
static void flip_random(uint64_t *rng, int k, bool *bad)
{
    memset(bad, 0, (size_t)nbatches * sizeof(bad[0]));
    for (int done = 0; done < k;) {
        int i = (int)(tst_rand(rng) % (uint64_t)nbatches);
        if (bad[i] || (i > 0 && bad[i - 1]) || (i + 1 < nbatches && bad[i + 1]))
            continue;
        /* a third of the flips land in the 61-byte header, the rest anywhere */
        int64_t at = tst_rand(rng) % 3 == 0 ? (int64_t)(tst_rand(rng) % KP_BATCH_HEADER_LEN)
                                            : (int64_t)(tst_rand(rng) % (uint64_t)batches[i].size);
        flip(&batches[i], at, (uint8_t)(1u << (tst_rand(rng) % 8)));
        bad[i] = true;
        done++;
    }
}

static int count_lines(const char *needle)
{
    int n = 0;
    for (const char *p = msgs; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

START_TEST(t_random_flips_fenced_exactly_across_restarts)
{
    uint64_t rng = 1000 + (uint64_t)_i;
    static bool bad[4096];
    /* the last batch of the active segment is included in the draw */
    flip_random(&rng, 8, bad);
    struct st_scrub_report rep;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_msg(rep.fenced == 8, "fenced %lld\n%s", (long long)rep.fenced, msgs);
    ck_assert_int_eq(count_lines("fenced t-0: "), 8);
    consume_all(bad);

    /* a clean restart: the ranges come back from the fenced file, and are logged */
    close_store();
    msgs[0] = 0;
    open_store();
    ck_assert_msg(count_lines("(found before; reads of those offsets fail)") == 8, "%s", msgs);
    ck_assert_ptr_nonnull(strstr(msgs, "8 fenced range(s) (8 found before, 0 new)"));
    consume_all(bad);

    /* a crash without a recovery point: every segment is scanned from 0 and the fenced
     * ranges are passed over, not cut (before, the first of them ended the log) */
    close_store();
    char path[512];
    snprintf(path, sizeof(path), "%s/t-0/clean-shutdown", dir);
    ck_assert_int_eq(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/t-0/recovery-point", dir);
    ck_assert_int_eq(unlink(path), 0);
    msgs[0] = 0;
    open_store();
    ck_assert_msg(strstr(msgs, "recovered t-0 (after a crash)") != NULL, "%s", msgs);
    ck_assert_msg(strstr(msgs, " 0 bytes cut") != NULL, "%s", msgs);
    consume_all(bad);
    tst_wait_settled(log_);
    /* the scrubber finds nothing new after all that */
    msgs[0] = 0;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_int_eq(rep.fenced, 0);
    ck_assert_str_eq(msgs, "");
    /* and appends go on */
    int64_t end = st_log_end_offset(log_);
    ck_assert_int_eq(tst_append1(log_, 1, 10, 1, 1), end);
}
END_TEST

START_TEST(t_fenced_file_format)
{
    bool bad[4096];
    memset(bad, 0, sizeof(bad));
    /* batches in two different segments */
    int a = 3, b = nbatches - 3;
    ck_assert_int_ne(batches[a].seg, batches[b].seg);
    flip(&batches[a], 100 % batches[a].size, 0x04);
    flip(&batches[b], 30, 0x04);
    struct st_scrub_report rep;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_int_eq(rep.fenced, 2);
    char path[512];
    snprintf(path, sizeof(path), "%s/t-0/fenced", dir);
    size_t len;
    uint8_t *f = tst_slurp(path, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(len, 16 + 2 * 40 + 4);
    ck_assert_int_eq(memcmp(f, "SLFN", 4), 0);
    ck_assert_uint_eq(kp_load_be32(f + 4), 1);
    ck_assert_uint_eq(kp_load_be32(f + 8), 2);
    ck_assert_uint_eq(kp_load_be32(f + 12), 0);
    int which[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        const uint8_t *r = f + 16 + 40 * i;
        const struct batch *x = &batches[which[i]];
        ck_assert_int_eq((int64_t)kp_load_be64(r), x->seg);
        ck_assert_int_eq((int64_t)kp_load_be64(r + 8), x->off);
        ck_assert_int_eq((int64_t)kp_load_be64(r + 16), x->last + 1);
        ck_assert_int_eq((int64_t)kp_load_be64(r + 24), x->pos);
        ck_assert_int_eq((int64_t)kp_load_be64(r + 32), x->pos + x->size);
    }
    ck_assert_uint_eq(kp_load_be32(f + len - 4), kp_crc32c(0, f, len - 4));
    ck_assert_int_ne(access(strcat(path, ".tmp"), F_OK), 0);

    /* the load rule: a range naming a missing segment, one past its .log's end, and one
     * overlapping the previous are dropped (and the file rewritten), the rest kept */
    uint8_t g[16 + 5 * 40 + 4];
    memcpy(g, f, 16);
    kp_store_be32(g + 8, 5);
    memcpy(g + 16, f + 16, 40); /* good */
    memcpy(g + 56, f + 16, 40);
    kp_store_be64(g + 56 + 24, (uint64_t)batches[a].pos + 1); /* overlaps the one before */
    memcpy(g + 96, f + 56, 40);                               /* good */
    memcpy(g + 136, f + 56, 40);
    kp_store_be64(g + 136, 999999); /* no such segment */
    memcpy(g + 176, f + 56, 40);
    kp_store_be64(g + 176 + 24, 1 << 30); /* past the end */
    kp_store_be64(g + 176 + 32, (1 << 30) + 10);
    kp_store_be32(g + sizeof(g) - 4, kp_crc32c(0, g, sizeof(g) - 4));
    free(f);
    close_store();
    snprintf(path, sizeof(path), "%s/t-0/fenced", dir);
    tst_spit(path, g, sizeof(g));
    msgs[0] = 0;
    open_store();
    ck_assert_ptr_nonnull(strstr(msgs, "2 fenced range(s) (2 found before, 0 new)"));
    f = tst_slurp(path, &len);
    ck_assert_uint_eq(len, 16 + 2 * 40 + 4); /* rewritten with the two good ones */
    free(f);
    bad[a] = bad[b] = true;
    consume_all(bad);
}
END_TEST

START_TEST(t_damaged_fenced_file_is_refound_by_the_scrubber)
{
    bool bad[4096];
    memset(bad, 0, sizeof(bad));
    int a = 5;
    flip(&batches[a], 20, 0x01); /* the CRC field */
    bad[a] = true;
    struct st_scrub_report rep;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_int_eq(rep.fenced, 1);
    close_store();
    char path[512];
    snprintf(path, sizeof(path), "%s/t-0/fenced", dir);
    size_t len;
    uint8_t *f = tst_slurp(path, &len);
    f[30] ^= 1;
    tst_spit(path, f, len);
    free(f);
    msgs[0] = 0;
    open_store();
    ck_assert_msg(strstr(msgs, "fenced is damaged and ignored") != NULL, "%s", msgs);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log_, batches[a].off, 1, &rd), 0); /* served again... */
    st_read_release(&rd);
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_int_eq(rep.fenced, 1); /* ...until the next pass */
    consume_all(bad);
    f = tst_slurp(path, &len);
    ck_assert_uint_eq(len, 16 + 40 + 4);
    ck_assert_uint_eq(kp_load_be32(f + len - 4), kp_crc32c(0, f, len - 4));
    free(f);
}
END_TEST

START_TEST(t_retention_takes_fences_with_their_segment)
{
    flip(&batches[1], 70, 0x02);
    struct st_scrub_report rep;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_int_eq(rep.fenced, 1);
    struct st_log_stats ls;
    st_log_stats(log_, &ls);
    ck_assert_int_eq(ls.fenced_ranges, 1);
    ck_assert_int_eq(ls.fenced_bytes, batches[1].size);
    char path[512];
    snprintf(path, sizeof(path), "%s/t-0/fenced", dir);
    ck_assert_int_eq(access(path, F_OK), 0);
    /* retention by size down to the active segment: the fenced segment goes, and the file
     * with it (nothing is fenced any more) */
    pthread_mutex_lock(&log_->mu);
    log_->cfg.retention_bytes = 1;
    pthread_mutex_unlock(&log_->mu);
    st_store_maintain(store, 1);
    ck_assert_int_eq(atomic_load(&log_->segs)->n, 1);
    ck_assert_int_gt(st_log_start_offset(log_), batches[1].off);
    ck_assert_int_ne(access(path, F_OK), 0);
    st_log_stats(log_, &ls);
    ck_assert_int_eq(ls.fenced_ranges, 0);
    ck_assert_int_eq(ls.fenced_bytes, 0);
    close_store();
    open_store();
    ck_assert_ptr_nonnull(strstr(msgs, "0 fenced range(s)"));
}
END_TEST

START_TEST(t_offset_for_time_passes_over_fences)
{
    /* ListOffsets by time: a fenced batch is never the answer; the first good batch whose
     * maxTimestamp reaches the time is */
    bool bad[4096];
    memset(bad, 0, sizeof(bad));
    int ks[] = {20, 21, nbatches - 5};
    for (int i = 0; i < 3; i++) {
        flip(&batches[ks[i]], 40, 0x01);
        bad[ks[i]] = true;
    }
    struct st_scrub_report rep;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, on_msg, NULL, &rep), 0);
    ck_assert_int_eq(rep.fenced, 2); /* neighbours 20 and 21 are one range */
    consume_all(bad);
    for (int i = 0; i < 3; i++) {
        int64_t ts = batches[ks[i]].max_ts, want = -1;
        for (int j = 0; j < nbatches && want < 0; j++)
            if (!bad[j] && batches[j].max_ts >= ts)
                want = batches[j].off;
        int64_t got = -1;
        ck_assert_int_eq(st_log_offset_for_time(log_, ts, &got), 0);
        ck_assert_msg(got == want, "ts %lld: offset %lld, want %lld", (long long)ts, (long long)got,
                      (long long)want);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_fence");
    TCase *tc = tcase_create("fence");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, t_random_flips_fenced_exactly_across_restarts, 0, 4);
    tcase_add_test(tc, t_fenced_file_format);
    tcase_add_test(tc, t_damaged_fenced_file_is_refound_by_the_scrubber);
    tcase_add_test(tc, t_retention_takes_fences_with_their_segment);
    tcase_add_test(tc, t_offset_for_time_passes_over_fences);
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
