/*
 * test_xfer_cold — a consumer of data that is not in the page cache never makes the loop
 * thread wait for the disk (issue 20).
 *
 * The sendfile path moved file ranges with sendfile(2) in the loop thread, which reads a cold
 * page synchronously: every other connection of the loop waited for the disk with it. Now a
 * chunk that the page cache does not hold goes through an io_uring read (counted, and named in
 * the connection's closing debug line), and the bytes are the same. The test writes a topic
 * across several segments, drops their pages (fdatasync, then posix_fadvise DONTNEED on each
 * .log file), reads the topic back whole through a fresh connection, and checks the records
 * and the broker's account of the cold chunks: by the path taken, not by wall time (the
 * latency effect is measured by docs/transfer-paths.md's figures, not asserted here).
 * Variants: sendfile with nothing in line, and sendfile with small responses in line (whose
 * RWF_NOWAIT read of a cold range must hand the step back to the path), and the splice and copy
 * paths, whose cold reads were already asynchronous, for the bytes.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"

enum { BATCHES = 96, PER_BATCH = 40, VALUE = 1000 }; /* ~3.9 MiB: four 1 MiB segments */

static struct tb_broker B;

static void teardown(void) { tb_ck_finish(&B); }

static void produce_all(int fd)
{
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(fd, "cold", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    size_t cap = PER_BATCH * (VALUE + 64) + 256;
    uint8_t *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (int i = 0; i < BATCHES; i++) {
        long len = tb_batch_values(buf, cap, "cold", i * PER_BATCH, PER_BATCH, VALUE, false,
                                   1700000000000LL);
        ck_assert_int_gt(len, 0);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_produce(fd, "cold", 0, buf, (size_t)len, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
        ck_assert_int_eq(pr.base_offset, (int64_t)i * PER_BATCH);
    }
    free(buf);
}

/* Writes back and drops from the page cache every segment of cold-0; how many. */
static int drop_segments(void)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/cold-0", B.data);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 4, ".log") != 0)
            continue;
        char path[700];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(fdatasync(fd), 0); /* only clean pages can be dropped */
        ck_assert_int_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
        close(fd);
        n++;
    }
    closedir(d);
    return n;
}

static const struct {
    const char *path, *inl;
    bool counted; /* the path counts its cold chunks (sendfile) */
} variants[] = {
    {"sendfile", "0", true},
    {"sendfile", "65536", true},
    {"splice", "65536", false},
    {"copy", "65536", false},
};

START_TEST(cold_segments_read_without_blocking_the_loop)
{
    char opt[64], inl[64];
    snprintf(opt, sizeof opt, "fetch.transfer=%s", variants[_i].path);
    snprintf(inl, sizeof inl, "fetch.inline.max.bytes=%s", variants[_i].inl);
    const char *extra[] = {
        "-o", opt, "-o", inl, "-o", "log.segment.bytes=1048576", "-o", "log.level=debug", NULL};
    tb_ck_start_fresh(&B, extra);
    int fd = tb_ck_connect(&B);
    produce_all(fd);
    close(fd);
    ck_assert_int_ge(drop_segments(), 3);

    fd = tb_ck_connect(&B);
    struct tb_seq seq = {.prefix = "cold", .pad_to = VALUE};
    int rc = tb_consume_seq(fd, "cold", 0, (int64_t)BATCHES * PER_BATCH, &seq, 400);
    ck_assert_msg(rc == 0, "[%s inline %s] reading the cold topic: %d %s", variants[_i].path,
                  variants[_i].inl, rc, seq.err);
    close(fd);
    /* the broker's account of the connection, written when it closes */
    ck_assert(tb_log_wait(&B, "bytes out in", 10000));
    if (variants[_i].counted)
        ck_assert_msg(
            tb_log_wait(&B, "chunks were not in the page cache and were read from disk", 10000),
            "[%s inline %s] no cold chunk went through the io_uring read", variants[_i].path,
            variants[_i].inl);
    ck_assert(!tb_log_contains(&B, "transfer failed"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("xfer_cold");
    TCase *tc = tcase_create("cold");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, cold_segments_read_without_blocking_the_loop, 0,
                        (int)(sizeof(variants) / sizeof(variants[0])));
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
