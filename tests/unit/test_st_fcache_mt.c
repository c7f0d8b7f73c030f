/*
 * test_st_fcache_mt — readers on several threads racing the cache's evictions (a bound of 16
 * open segments for 24 partitions that roll as a writer appends): every read gets the bytes
 * it asked for, through descriptors that stay open while pinned (st_fcache.c). Also under
 * ThreadSanitizer (make tsan).
 */
#include <pthread.h>

#include "test_st_util.h"

static char dir[256];
static struct st_store *store;

static void setup(void)
{
    tst_mkdtemp(dir, sizeof(dir));
    store = NULL;
}

static void teardown(void)
{
    if (store)
        st_store_close(store);
    store = NULL;
    tst_rmrf(dir);
}

/* ---- readers racing evictions ---------------------------------------------------------------- */

enum { MT_PARTS = 24, MT_READERS = 3 };
static _Atomic bool mt_stop;
static _Atomic long mt_reads;

static void *mt_reader(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 7919 + 1;
    while (!atomic_load(&mt_stop)) {
        int p = (int)(tst_rand(&rng) % MT_PARTS);
        struct st_log *log = st_log_get(store, "m", 1, p);
        int64_t end = st_log_end_offset(log);
        int64_t at = end > 0 ? (int64_t)(tst_rand(&rng) % (uint64_t)end) : 0;
        struct st_read rd;
        ck_assert_int_eq(st_log_read(log, at, 4096, &rd), 0);
        struct tst_seen seen;
        tst_check_read(&rd, &seen);
        ck_assert_int_le(seen.first_base, at);
        st_read_release(&rd);
        st_log_put(log);
        atomic_fetch_add(&mt_reads, 1);
    }
    return NULL;
}

START_TEST(t_readers_race_evictions)
{
    struct st_log_config c = tst_cfg();
    c.open_files_max = 16;
    ck_assert_int_eq(st_store_open(dir, &c, &store), 0);
    c.segment_bytes = 2000; /* several segments each */
    ck_assert_int_eq(st_topic_create(store, "m", MT_PARTS, &c), 0);
    for (int p = 0; p < MT_PARTS; p++) {
        struct st_log *log = st_log_get(store, "m", 1, p);
        for (int b = 0; b < 4; b++)
            tst_append1(log, 2, 300, 1000 + p, 1);
        st_log_put(log);
    }
    atomic_store(&mt_stop, false);
    atomic_store(&mt_reads, 0);
    pthread_t th[MT_READERS];
    for (int i = 0; i < MT_READERS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, mt_reader, (void *)(uintptr_t)(i + 1)), 0);
    /* the writer rolls segments while readers come and go */
    for (int b = 0; b < 40; b++)
        for (int p = 0; p < MT_PARTS; p++) {
            struct st_log *log = st_log_get(store, "m", 1, p);
            tst_append1(log, 2, 300, 2000 + b, 1);
            st_log_put(log);
        }
    atomic_store(&mt_stop, true);
    for (int i = 0; i < MT_READERS; i++)
        pthread_join(th[i], NULL);
    struct st_fcache_stats fs;
    st__fc_stats(store->fc, &fs);
    ck_assert_int_gt(fs.evicted, 100);
    ck_assert_int_gt(atomic_load(&mt_reads), 100);
    fprintf(stderr, "st_fcache race: %ld reads, %lld opens, %lld evictions\n",
            atomic_load(&mt_reads), (long long)fs.opened, (long long)fs.evicted);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_fcache_mt");
    TCase *tc = tcase_create("mt");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_readers_race_evictions);
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
