/*
 * test_br_xfer — the transfer paths' page-cache residency check (br_xfer__resident), on a real
 * file: written and read (in the cache), then written back and dropped (posix_fadvise
 * DONTNEED: not in the cache), then read again; in both modes (cachestat, and mincore for
 * pages up to date), for a range at an unaligned offset, and for an empty range.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_xfer.h"

enum { LEN = 4 << 20 };

static int fd = -1;
static char path[256];

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/test_br_xfer.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    char *buf = malloc(LEN);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 'x', LEN);
    ck_assert_int_eq(pwrite(fd, buf, LEN, 0), LEN);
    free(buf);
}

static void teardown(void)
{
    if (fd >= 0)
        close(fd);
    fd = -1;
}

static void drop(void)
{
    ck_assert_int_eq(fdatasync(fd), 0);
    ck_assert_int_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
}

static void read_all(void)
{
    char *buf = malloc(LEN);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(pread(fd, buf, LEN, 0), LEN);
    free(buf);
}

START_TEST(cached_dropped_cached)
{
    bool uptodate = _i == 1;
    ck_assert_int_eq(br_xfer__resident(fd, 0, LEN, uptodate), 1);
    ck_assert_int_eq(br_xfer__resident(fd, 12345, 1 << 20, uptodate), 1);
    ck_assert_int_eq(br_xfer__resident(fd, 0, 0, uptodate), 1); /* nothing to read */
    drop();
    /* a file system that keeps its pages anyway (tmpfs) cannot show a cold range */
    int rc = br_xfer__resident(fd, 0, LEN, uptodate);
    if (rc == 1) {
        fprintf(stderr, "test_br_xfer: pages stay cached in %s (tmpfs?): cold case skipped\n",
                path);
        return;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(br_xfer__resident(fd, 12345, 1 << 20, uptodate), 0);
    read_all();
    ck_assert_int_eq(br_xfer__resident(fd, 0, LEN, uptodate), 1);
    ck_assert_int_eq(br_xfer__resident(fd, LEN - 100, 100, uptodate), 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_xfer");
    TCase *tc = tcase_create("resident");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, cached_dropped_cached, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
