/*
 * test_xfer_auto — fetch.transfer=auto (the default): the broker measures the transfer paths
 * at start-up, says which it chose and by which figures, and caches the choice in the data dir
 * keyed by the machine (issue 20).
 *
 * - A fresh data dir: the start-up line "fetch.transfer=auto: PATH, measured now ..." names
 *   the three paths' figures, the cache file holds the key, the path and the figures, and the
 *   listener serves with that path; a fetch reads the records back.
 * - A restart on the same data dir reads the cache instead of measuring again.
 * - A cache written on another machine (another key) is measured over; one with this machine's
 *   key is used as it says (a made-up choice and figures show it was not measured).
 * - An explicit fetch.transfer runs no self-test and writes no cache.
 * The self-test's duration is bounded by its own deadline; timing is not asserted here.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"

#define CACHE ".fetch-transfer-auto"

static struct tb_broker B;

static void teardown(void) { tb_ck_finish(&B); }

static void cache_path(char *buf, size_t len) { snprintf(buf, len, "%s/%s", B.data, CACHE); }

/* The cache file's "path" line value, or "" when there is none. */
static void cached_path(char *out, size_t len)
{
    char path[400], line[1024];
    cache_path(path, sizeof path);
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "path ", 5) == 0) {
            line[strcspn(line, "\n")] = 0;
            snprintf(out, len, "%.20s", line + 5);
        }
    fclose(f);
}

/* This machine's key as the broker writes it: kernel release|CPU model|online CPUs. */
static void machine_key(char *key, size_t len)
{
    struct utsname un;
    ck_assert_int_eq(uname(&un), 0);
    char model[128] = "unknown", line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (colon && strncmp(line, "model name", 10) == 0) {
            colon++;
            colon += strspn(colon, " \t");
            colon[strcspn(colon, "\n")] = 0;
            snprintf(model, sizeof model, "%s", colon);
            break;
        }
    }
    if (f)
        fclose(f);
    snprintf(key, len, "%s|%s|%ld", un.release, model, sysconf(_SC_NPROCESSORS_ONLN));
}

static void write_cache(const char *key, const char *path, const char *figures)
{
    char p[400];
    cache_path(p, sizeof p);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "# test\nkey %s\npath %s\nfigures %s\n", key, path, figures);
    ck_assert_int_eq(fclose(f), 0);
}

static void fetch_back(void)
{
    int fd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(fd, "a", 1, &err), 0);
    uint8_t buf[8192];
    long len = tb_batch_values(buf, sizeof buf, "a", 0, 5, 300, false, 1700000000000LL);
    ck_assert_int_gt(len, 0);
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_produce(fd, "a", 0, buf, (size_t)len, &pr), 0);
    ck_assert_int_eq(pr.error, 0);
    struct tb_seq seq = {.prefix = "a", .pad_to = 300};
    ck_assert_int_eq(tb_consume_seq(fd, "a", 0, 5, &seq, 20), 0);
    close(fd);
}

START_TEST(measured_then_cached)
{
    tb_ck_start_fresh(&B, NULL);
    ck_assert(tb_log_contains(&B, "fetch.transfer=auto: "));
    ck_assert_msg(tb_log_contains(&B, "measured now in"), "no self-test line");
    ck_assert(tb_log_contains(&B, "splice ") && tb_log_contains(&B, "sendfile ") &&
              tb_log_contains(&B, "copy "));
    char chosen[32];
    cached_path(chosen, sizeof chosen);
    ck_assert_msg(!strcmp(chosen, "splice") || !strcmp(chosen, "sendfile") ||
                      !strcmp(chosen, "copy"),
                  "cache file names path '%s'", chosen);
    char listener[64];
    snprintf(listener, sizeof listener, "fetch transfer %s", chosen);
    ck_assert_msg(tb_log_contains(&B, listener), "the listener does not use %s", chosen);
    fetch_back();
    tb_ck_stop_clean(&B);

    tb_ck_start(&B, NULL); /* same data dir */
    ck_assert_msg(tb_log_contains(&B, "from the cache"), "the restart measured again");
    ck_assert_int_eq(tb_log_count(&B, "measured now in"), 1);
    tb_ck_stop_clean(&B);
}
END_TEST

START_TEST(cache_keyed_by_machine)
{
    tb_ck_start_fresh(&B, NULL);
    tb_ck_stop_clean(&B);
    /* another machine's figures: measured over */
    write_cache("2.6.32|Some Other CPU|64", "copy", "made-up figures of another machine");
    tb_ck_start(&B, NULL);
    ck_assert_int_eq(tb_log_count(&B, "measured now in"), 2);
    ck_assert(!tb_log_contains(&B, "made-up figures"));
    tb_ck_stop_clean(&B);
    /* this machine's key: used as written, without measuring */
    char key[512];
    machine_key(key, sizeof key);
    write_cache(key, "copy", "made-up figures for this machine");
    tb_ck_start(&B, NULL);
    ck_assert_int_eq(tb_log_count(&B, "measured now in"), 2);
    ck_assert(tb_log_contains(&B, "fetch.transfer=auto: copy, from the cache"));
    ck_assert(tb_log_contains(&B, "made-up figures for this machine"));
    ck_assert(tb_log_contains(&B, "fetch transfer copy"));
    fetch_back();
    tb_ck_stop_clean(&B);
    /* a damaged cache (no path) is measured over, never trusted */
    write_cache(key, "teleport", "x");
    tb_ck_start(&B, NULL);
    ck_assert_int_eq(tb_log_count(&B, "measured now in"), 3);
    tb_ck_stop_clean(&B);
}
END_TEST

START_TEST(explicit_path_runs_no_self_test)
{
    const char *extra[] = {"-o", "fetch.transfer=sendfile", NULL};
    tb_ck_start_fresh(&B, extra);
    ck_assert(!tb_log_contains(&B, "fetch.transfer=auto"));
    ck_assert(tb_log_contains(&B, "fetch transfer sendfile"));
    char p[400];
    cache_path(p, sizeof p);
    struct stat st;
    ck_assert_int_ne(stat(p, &st), 0);
    fetch_back();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("xfer_auto");
    TCase *tc = tcase_create("auto");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, measured_then_cached);
    tcase_add_test(tc, cache_keyed_by_machine);
    tcase_add_test(tc, explicit_path_runs_no_self_test);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
