/*
 * test_st_fcache — the store's cache of open segment files (st_fcache.c): descriptors stay
 * under log.open.files.max whatever the number of partitions, a pinned segment (a read's
 * ranges) is never closed, and a process out of descriptors (EMFILE) makes the cache give
 * some back, lower its bound and try again. (Readers racing evictions: test_st_fcache_mt.)
 */
#include <sys/resource.h>

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

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", "..", and the directory's own descriptor */
}

static void open_store(int64_t max_open)
{
    struct st_log_config c = tst_cfg();
    c.open_files_max = max_open;
    ck_assert_int_eq(st_store_open(dir, &c, &store), 0);
}

/* Partition p holds records whose value bytes are derived from p (tst_batch seed p). */
static void fill(const char *topic, int parts, int batches)
{
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 2000; /* several segments each */
    ck_assert_int_eq(st_topic_create(store, topic, parts, &c), 0);
    for (int p = 0; p < parts; p++) {
        struct st_log *log = st_log_get(store, topic, strlen(topic), p);
        ck_assert_ptr_nonnull(log);
        for (int b = 0; b < batches; b++)
            tst_append1(log, 2, 300, 1000 + p, 1);
        st_log_put(log);
    }
}

/* Reads partition p from offset 0 and checks every batch; the read is released unless keep. */
static void read_part(const char *topic, int p, struct st_read *keep)
{
    struct st_log *log = st_log_get(store, topic, strlen(topic), p);
    ck_assert_ptr_nonnull(log);
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, 0, 1 << 20, &rd), 0);
    ck_assert_int_ge(rd.n, 2);
    struct tst_seen seen;
    tst_check_read(&rd, &seen);
    ck_assert_int_eq(seen.first_base, 0);
    ck_assert_int_eq(seen.next, st_log_end_offset(log));
    if (keep)
        *keep = rd;
    else
        st_read_release(&rd);
    st_log_put(log);
}

START_TEST(t_descriptors_stay_under_the_bound)
{
    int base = open_fds();
    open_store(16);
    fill("t", 100, 12); /* about 3 segments each: 300 segment files */
    struct st_fcache_stats fs;
    st__fc_stats(store->fc, &fs);
    ck_assert_int_le(fs.open, 16);
    ck_assert_int_gt(fs.evicted, 0);
    for (int round = 0; round < 2; round++)
        for (int p = 0; p < 100; p++) {
            read_part("t", p, NULL);
            ck_assert_int_le(open_fds() - base, 16 + 4); /* + the flusher's transient ones */
        }
    st__fc_stats(store->fc, &fs);
    ck_assert_int_le(fs.open, 16);
    ck_assert_int_eq(fs.max, 16);
    /* across a restart too: recovery opens segments through the cache */
    st_store_close(store);
    store = NULL;
    ck_assert_int_eq(open_fds(), base);
    open_store(16);
    ck_assert_int_le(open_fds() - base, 16 + 2);
    for (int p = 99; p >= 0; p--)
        read_part("t", p, NULL);
    ck_assert_int_le(open_fds() - base, 16 + 2);
}
END_TEST

START_TEST(t_pinned_segments_stay_open)
{
    open_store(16);
    fill("t", 40, 12);
    /* 40 reads held at once: the cache goes past its bound rather than close one */
    static struct st_read held[40];
    for (int p = 0; p < 40; p++)
        read_part("t", p, &held[p]);
    struct st_fcache_stats fs;
    st__fc_stats(store->fc, &fs);
    ck_assert_int_gt(fs.open, 16);
    for (int p = 0; p < 40; p++) {
        struct tst_seen seen;
        tst_check_read(&held[p], &seen); /* every descriptor still reads its own bytes */
        ck_assert_int_eq(seen.first_base, 0);
    }
    for (int p = 0; p < 40; p++)
        st_read_release(&held[p]);
    /* the next misses bring it back under the bound (hits change nothing) */
    fill("u", 4, 12);
    for (int p = 0; p < 4; p++)
        read_part("u", p, NULL);
    st__fc_stats(store->fc, &fs);
    ck_assert_int_le(fs.open, 16);
}
END_TEST

START_TEST(t_out_of_descriptors_evicts_and_retries)
{
    open_store(0);
    fill("t", 60, 12);
    st_store_close(store);
    store = NULL;
    /* the default bound is half the descriptor limit; the rest of the process (sockets, in
     * the broker) holds more than the other half: open(2) itself says EMFILE before the
     * cache reaches its bound */
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = (rlim_t)open_fds() + 96;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0); /* this test's process only (fork) */
    while (open_fds() < (int)rl.rlim_cur - 30)
        ck_assert_int_ge(dup(0), 0);
    open_store(0);
    struct st_fcache_stats fs;
    st__fc_stats(store->fc, &fs);
    int64_t max0 = (int64_t)rl.rlim_cur / 2;
    ck_assert_int_eq(fs.max, max0);
    for (int round = 0; round < 3; round++)
        for (int p = 0; p < 60; p++)
            read_part("t", p, NULL);
    st__fc_stats(store->fc, &fs);
    ck_assert_int_gt(fs.evicted, 0);
    ck_assert_int_le(fs.open, fs.max);
    ck_assert_int_lt(fs.max, max0); /* the bound follows the descriptors there are */
    /* and appends (which open the active segment) still work */
    for (int p = 0; p < 60; p++) {
        struct st_log *log = st_log_get(store, "t", 1, p);
        tst_append1(log, 1, 100, 5, 1);
        st_log_put(log);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_fcache");
    TCase *tc = tcase_create("fcache");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_descriptors_stay_under_the_bound);
    tcase_add_test(tc, t_pinned_segments_stay_open);
    tcase_add_test(tc, t_out_of_descriptors_evicts_and_retries);
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
