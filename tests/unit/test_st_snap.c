/*
 * test_st_snap — small files replaced whole (storage/st_snap.c): round trips; every single
 * byte flipped, every truncation and one appended byte refuse the whole file (and say where,
 * in one log line) before the callback sees a record; the states a crash can leave between
 * the write steps (a partial or complete temp file beside the old file) read as the old file
 * and the temp file is removed; a failed fdatasync or rename leaves the old file and no temp
 * file; the mode of a new file; writer bounds.
 *
 * Fault injection: this binary's fdatasync replaces libc's (the executable's definition wins),
 * so a test can make the disk refuse the temp file's sync.
 */
#include <check.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "st_snap.h"
#include "test_st_util.h"

static int fail_fdatasync;

int fdatasync(int fd)
{
    if (fail_fdatasync) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_fdatasync, fd);
}

static char dir[256], path[512], tmp[512];
static int nlines;
static char last_line[8192];

static void log_fn(void *arg, const char *msg)
{
    (void)arg;
    nlines++;
    snprintf(last_line, sizeof last_line, "%s", msg);
}

static void setup(void)
{
    tst_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/f", dir);
    snprintf(tmp, sizeof tmp, "%s/f.tmp", dir);
    nlines = 0;
    fail_fdatasync = 0;
}

static void teardown(void) { tst_rmrf(dir); }

/* Writes n records: record i is i+1 bytes of value (seed + i). */
static int write_n(int n, uint8_t seed)
{
    struct st_snap_w w;
    st_snap_begin(&w, "TEST", 1);
    for (int i = 0; i < n; i++) {
        uint8_t b[300];
        memset(b, (uint8_t)(seed + i), (size_t)i + 1);
        st_snap_add(&w, b, (size_t)i + 1);
    }
    return st_snap_commit(&w, dir, "f", 0640);
}

struct seen {
    int n;
    uint8_t seed;
    bool ok;
};

static int check_rec(void *arg, const uint8_t *b, size_t len)
{
    struct seen *s = arg;
    bool ok = len == (size_t)s->n + 1;
    for (size_t i = 0; ok && i < len; i++)
        ok = b[i] == (uint8_t)(s->seed + s->n);
    s->ok &= ok;
    s->n++;
    return 0;
}

static int read_f(struct seen *s, uint8_t seed)
{
    s->n = 0;
    s->seed = seed;
    s->ok = true;
    uint32_t v = 0;
    int rc = st_snap_read(dir, "f", "TEST", 1, 1 << 20, &v, check_rec, s, log_fn, NULL);
    if (rc == 0)
        ck_assert_uint_eq(v, 1);
    return rc;
}

START_TEST(t_round_trip)
{
    struct seen s;
    ck_assert_int_eq(read_f(&s, 0), -ENOENT);
    ck_assert_int_eq(write_n(0, 1), 0);
    ck_assert_int_eq(read_f(&s, 1), 0);
    ck_assert_int_eq(s.n, 0);
    ck_assert_int_eq(write_n(200, 7), 0);
    ck_assert_int_eq(read_f(&s, 7), 0);
    ck_assert_int_eq(s.n, 200);
    ck_assert(s.ok);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    ck_assert_int_eq(nlines, 0);
}
END_TEST

static int stop_at_3(void *arg, const uint8_t *b, size_t len)
{
    (void)b;
    (void)len;
    return ++*(int *)arg == 3 ? -ECANCELED : 0;
}

START_TEST(t_callback_stops)
{
    ck_assert_int_eq(write_n(10, 0), 0);
    int n = 0;
    uint32_t v;
    ck_assert_int_eq(st_snap_read(dir, "f", "TEST", 1, 1 << 20, &v, stop_at_3, &n, NULL, NULL),
                     -ECANCELED);
    ck_assert_int_eq(n, 3);
}
END_TEST

static int count_rec(void *arg, const uint8_t *b, size_t len)
{
    (void)b;
    (void)len;
    ++*(int *)arg;
    return 0;
}

/* Every byte flipped, every truncation, one byte appended: the file is refused whole, with one
 * log line naming the path, and no record reaches the callback. */
START_TEST(t_damage_refused_whole)
{
    ck_assert_int_eq(write_n(6, 3), 0);
    size_t len;
    uint8_t *good = tst_slurp(path, &len);
    uint8_t *bad = malloc(len + 1);
    uint32_t v;
    for (size_t at = 0; at < len; at++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(bad, good, len);
            bad[at] ^= (uint8_t)(1u << bit);
            tst_spit(path, bad, len);
            int n = 0;
            nlines = 0;
            ck_assert_msg(st_snap_read(dir, "f", "TEST", 1, 1 << 20, &v, count_rec, &n, log_fn,
                                       NULL) == -EBADMSG,
                          "byte %zu bit %d accepted", at, bit);
            ck_assert_int_eq(n, 0);
            ck_assert_int_eq(nlines, 1);
            ck_assert_ptr_nonnull(strstr(last_line, path));
        }
    }
    for (size_t cut = 0; cut < len; cut++) {
        tst_spit(path, good, cut);
        int n = 0;
        ck_assert_int_eq(
            st_snap_read(dir, "f", "TEST", 1, 1 << 20, &v, count_rec, &n, log_fn, NULL), -EBADMSG);
        ck_assert_int_eq(n, 0);
    }
    memcpy(bad, good, len);
    bad[len] = 0;
    tst_spit(path, bad, len + 1);
    int n = 0;
    ck_assert_int_eq(st_snap_read(dir, "f", "TEST", 1, 1 << 20, &v, count_rec, &n, log_fn, NULL),
                     -EBADMSG);
    ck_assert_ptr_nonnull(strstr(last_line, "after the last record"));
    /* Another kind of file, a newer version, a file over the bound. */
    tst_spit(path, good, len);
    ck_assert_int_eq(st_snap_read(dir, "f", "OTHR", 1, 1 << 20, &v, count_rec, &n, NULL, NULL),
                     -EBADMSG);
    ck_assert_int_eq(st_snap_read(dir, "f", "TEST", 1, 16, &v, count_rec, &n, NULL, NULL), -EFBIG);
    struct st_snap_w w;
    st_snap_begin(&w, "TEST", 2);
    ck_assert_int_eq(st_snap_commit(&w, dir, "f", 0600), 0);
    ck_assert_int_eq(st_snap_read(dir, "f", "TEST", 1, 1 << 20, &v, count_rec, &n, log_fn, NULL),
                     -EBADMSG);
    ck_assert_ptr_nonnull(strstr(last_line, "version"));
    free(good);
    free(bad);
}
END_TEST

/* What a crash can leave: the old file beside a partial or complete temp file. Either way the
 * old file is read and the temp file removed. */
START_TEST(t_crash_states)
{
    ck_assert_int_eq(write_n(5, 1), 0);
    size_t oldlen;
    uint8_t *old = tst_slurp(path, &oldlen);
    ck_assert_int_eq(write_n(9, 2), 0);
    size_t newlen;
    uint8_t *neu = tst_slurp(path, &newlen);
    struct seen s;
    for (size_t cut = 0; cut <= newlen; cut++) {
        tst_spit(path, old, oldlen);
        tst_spit(tmp, neu, cut);
        ck_assert_int_eq(read_f(&s, 1), 0);
        ck_assert_int_eq(s.n, 5);
        ck_assert(s.ok);
        ck_assert_int_ne(access(tmp, F_OK), 0);
    }
    /* After the rename, the new file. */
    tst_spit(path, neu, newlen);
    ck_assert_int_eq(read_f(&s, 2), 0);
    ck_assert_int_eq(s.n, 9);
    free(old);
    free(neu);
}
END_TEST

/* A write that fails before its rename changes nothing and leaves no temp file. */
START_TEST(t_failed_write_keeps_old)
{
    ck_assert_int_eq(write_n(4, 1), 0);
    fail_fdatasync = 1;
    ck_assert_int_eq(write_n(8, 2), -EIO);
    fail_fdatasync = 0;
    ck_assert_int_ne(access(tmp, F_OK), 0);
    struct seen s;
    ck_assert_int_eq(read_f(&s, 1), 0);
    ck_assert_int_eq(s.n, 4);
    /* A directory that does not exist: the temp file cannot be created. */
    struct st_snap_w w;
    st_snap_begin(&w, "TEST", 1);
    st_snap_add(&w, "x", 1);
    ck_assert_int_eq(st_snap_commit(&w, "/nonexistent/dir", "f", 0600), -ENOENT);
}
END_TEST

START_TEST(t_writer_bounds)
{
    struct st_snap_w w;
    st_snap_begin(&w, "TEST", 1);
    st_snap_add(&w, "", 0);
    ck_assert_int_eq(w.err, -EINVAL);
    ck_assert_int_eq(st_snap_commit(&w, dir, "f", 0600), -EINVAL);
    ck_assert_int_ne(access(path, F_OK), 0);
    st_snap_begin(&w, "TEST", 1);
    ck_assert_ptr_null(st_snap_reserve(&w, ST_SNAP_BODY_MAX + 1));
    st_snap_abort(&w);
    /* The largest record round-trips. */
    st_snap_begin(&w, "TEST", 1);
    uint8_t *b = st_snap_reserve(&w, ST_SNAP_BODY_MAX);
    ck_assert_ptr_nonnull(b);
    memset(b, 0xab, ST_SNAP_BODY_MAX);
    ck_assert_int_eq(st_snap_commit(&w, dir, "f", 0600), 0);
    int n = 0;
    uint32_t v;
    ck_assert_int_eq(st_snap_read(dir, "f", "TEST", 1, 2 << 20, &v, count_rec, &n, NULL, NULL), 0);
    ck_assert_int_eq(n, 1);
}
END_TEST

static Suite *st_snap_suite(void)
{
    Suite *s = suite_create("st_snap");
    TCase *t = tcase_create("snap");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, t_round_trip);
    tcase_add_test(t, t_callback_stops);
    tcase_add_test(t, t_damage_refused_whole);
    tcase_add_test(t, t_crash_states);
    tcase_add_test(t, t_failed_write_keeps_old);
    tcase_add_test(t, t_writer_bounds);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(st_snap_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
