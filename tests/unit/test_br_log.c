/*
 * test_br_log — the broker's log module: untrusted strings escaped into one token
 * (br_log_str), no message able to start a second line whatever a call site passes, level
 * filtering before the arguments are evaluated, the 1 KiB cut, and the limiter of repeated
 * lines (a burst per window, then one "(N more like this in the last 10 s)" summary written
 * by the site's next call or by br_log_flush_limited), on an injected clock.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_log.h"

/* ---- capturing stderr ------------------------------------------------------------------- */

static int saved_stderr = -1;
static char cap_path[64];
static char captured[1 << 16];

static void capture_begin(void)
{
    snprintf(cap_path, sizeof cap_path, "/tmp/test_br_log.XXXXXX");
    int fd = mkstemp(cap_path);
    ck_assert_int_ge(fd, 0);
    saved_stderr = dup(STDERR_FILENO);
    ck_assert_int_ge(saved_stderr, 0);
    ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
}

/* Restores stderr; the captured text in `captured`, its number of lines returned. */
static int capture_end(void)
{
    ck_assert_int_eq(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
    close(saved_stderr);
    FILE *f = fopen(cap_path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(captured, 1, sizeof captured - 1, f);
    fclose(f);
    unlink(cap_path);
    captured[n] = 0;
    int lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += captured[i] == '\n';
    ck_assert_msg(n == 0 || captured[n - 1] == '\n', "output does not end with a newline");
    return lines;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static int64_t fake_now;
static int64_t fake_clock(void) { return fake_now; }

static void setup(void)
{
    br_log_set_level(BR_LOG_INFO);
    fake_now = 1000000;
    br_log__set_clock(fake_clock);
}

static void teardown(void) { br_log__set_clock(NULL); }

/* ---- br_log_str ------------------------------------------------------------------------- */

START_TEST(escape_untrusted)
{
    static const char in[] = "a b\n\\c\x1b\xff=\"q\"\0z";
    ck_assert_str_eq(br_log_str(in, (int64_t)sizeof in - 1).s,
                     "a\\x20b\\x0a\\\\c\\x1b\\xff=\"q\"\\x00z");
    ck_assert_str_eq(br_log_str("rdkafka", 7).s, "rdkafka");
    ck_assert_str_eq(br_log_str("", 0).s, "\"\"");
    ck_assert_str_eq(br_log_str("x", -1).s, "(null)");
    ck_assert_str_eq(br_log_str(NULL, 3).s, "(null)");
    ck_assert_str_eq(br_log_cstr(NULL).s, "(null)");
    ck_assert_str_eq(br_log_cstr("topic-1.a_b").s, "topic-1.a_b");

    /* Cut after BR_LOG_STR_MAX bytes, the real length said; the worst case fits. */
    char big[1000];
    memset(big, '\n', sizeof big);
    struct br_log_str e = br_log_str(big, sizeof big);
    ck_assert_uint_eq(strlen(e.s), 4 * BR_LOG_STR_MAX + strlen("...(1000 bytes)"));
    ck_assert_ptr_null(strchr(e.s, '\n'));
    ck_assert(strstr(e.s, "...(1000 bytes)") != NULL);
}
END_TEST

/* ---- one event, one line ---------------------------------------------------------------- */

START_TEST(no_forged_lines)
{
    capture_begin();
    /* a call site that forgot br_log_str: the backstop still keeps one line */
    br_warn("peer=x: client.id=%s", "evil\n2026-01-01T00:00:00.000Z ERROR [main] forged");
    br_warn("peer=x: client.id=%s", br_log_cstr("evil\r\nforged").s);
    int lines = capture_end();
    ck_assert_int_eq(lines, 2);
    ck_assert_int_eq(count(captured, "WARN "), 2);
    ck_assert_int_eq(count(captured, "ERROR"), 1); /* inside the first line, escaped */
    ck_assert(strstr(captured, "client.id=evil\\x0a2026") != NULL);
    ck_assert(strstr(captured, "client.id=evil\\x0d\\x0aforged") != NULL);
}
END_TEST

START_TEST(long_line_cut_whole)
{
    char big[3000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = 0;
    capture_begin();
    br_err("%s", big);
    ck_assert_int_eq(capture_end(), 1);
    ck_assert_uint_le(strlen(captured), 1024);
}
END_TEST

static int evaluated;
static const char *side_effect(void)
{
    evaluated++;
    return "x";
}

START_TEST(filtered_lines_cost_nothing)
{
    capture_begin();
    br_debug("%s", side_effect());
    br_info("%s", side_effect());
    br_log_set_level(BR_LOG_ERROR);
    br_warn("%s", side_effect());
    br_warn_limited("%s", side_effect());
    int lines = capture_end();
    ck_assert_int_eq(evaluated, 1);
    ck_assert_int_eq(lines, 1);
}
END_TEST

/* The level changes at run time, from any thread: set returns the level it replaced, and
 * lines of threads already running follow the new level. */
static atomic_int phase;
static void *chatter(void *arg)
{
    (void)arg;
    while (atomic_load(&phase) == 0)
        ;
    br_debug("debug from a thread");
    atomic_store(&phase, 2);
    while (atomic_load(&phase) != 3)
        ;
    br_debug("debug after the change back");
    return NULL;
}

START_TEST(level_changes_at_run_time)
{
    ck_assert_int_eq(br_log_set_level(BR_LOG_DEBUG), BR_LOG_INFO);
    ck_assert_int_eq(br_log_get_level(), BR_LOG_DEBUG);
    ck_assert_str_eq(br_log_level_name(BR_LOG_WARN), "warn");
    pthread_t t;
    capture_begin();
    ck_assert_int_eq(pthread_create(&t, NULL, chatter, NULL), 0);
    atomic_store(&phase, 1);
    while (atomic_load(&phase) != 2)
        ;
    ck_assert_int_eq(br_log_set_level(BR_LOG_INFO), BR_LOG_DEBUG);
    atomic_store(&phase, 3);
    pthread_join(t, NULL);
    ck_assert_int_eq(capture_end(), 1);
    ck_assert(strstr(captured, "debug from a thread") != NULL);
}
END_TEST

START_TEST(step_level_by_signal)
{
    /* SIGUSR1/SIGUSR2's steps: clamped at both ends, the change logged either way */
    capture_begin();
    ck_assert_int_eq(br_log_step_level(1, "SIGUSR1"), BR_LOG_DEBUG);
    ck_assert_int_eq(br_log_step_level(1, "SIGUSR1"), BR_LOG_DEBUG);
    ck_assert_int_eq(br_log_step_level(-1, "SIGUSR2"), BR_LOG_INFO);
    ck_assert_int_eq(br_log_step_level(-1, "SIGUSR2"), BR_LOG_WARN);
    ck_assert_int_eq(br_log_step_level(-1, "SIGUSR2"), BR_LOG_ERROR);
    ck_assert_int_eq(br_log_step_level(-1, "SIGUSR2"), BR_LOG_ERROR);
    ck_assert_int_eq(capture_end(), 6);
    ck_assert(strstr(captured, "log level info -> debug, by SIGUSR1") != NULL);
    ck_assert(strstr(captured, "log level warn -> error, by SIGUSR2") != NULL);
    ck_assert(strstr(captured, "log level error -> error, by SIGUSR2") != NULL);
}
END_TEST

START_TEST(logfmt_and_json_lines)
{
    enum br_log_format f;
    ck_assert_int_eq(br_log_parse_format("LOGFMT", &f), 0);
    ck_assert_int_eq(f, BR_LOG_FMT_LOGFMT);
    ck_assert_int_eq(br_log_parse_format("yaml", &f), -EINVAL);

    capture_begin();
    br_log_set_format(BR_LOG_FMT_LOGFMT);
    br_warn("peer=%s: say \"%s\" \\ %s", "127.0.0.1:1", "hi", "a\nb");
    br_log_set_format(BR_LOG_FMT_JSON);
    br_info("peer=%s: say \"%s\" \\ %s", "127.0.0.1:1", "hi", "a\nb");
    br_log_set_format(BR_LOG_FMT_TEXT);
    ck_assert_int_eq(capture_end(), 2);
    char *nl = strchr(captured, '\n');
    *nl = 0;
    const char *l1 = captured, *l2 = nl + 1;
    ck_assert_msg(strncmp(l1, "time=", 5) == 0 && strstr(l1, " level=warn thread=main msg=\""),
                  "%s", l1);
    ck_assert_msg(strstr(l1, "msg=\"peer=127.0.0.1:1: say \\\"hi\\\" \\\\ a\\\\x0ab\"") != NULL,
                  "%s", l1);
    ck_assert_msg(strncmp(l2, "{\"time\":\"", 9) == 0, "%s", l2);
    ck_assert_msg(strstr(l2,
                         "\"level\":\"info\",\"thread\":\"main\",\"msg\":\"peer=127.0.0.1:1: say "
                         "\\\"hi\\\" \\\\ a\\\\x0ab\"}\n") != NULL,
                  "%s", l2);

    /* a line at the 1 KiB cut still closes its string */
    char big[3000];
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = 0;
    capture_begin();
    br_log_set_format(BR_LOG_FMT_JSON);
    br_warn("%s", big);
    br_log_set_format(BR_LOG_FMT_TEXT);
    ck_assert_int_eq(capture_end(), 1);
    size_t n = strlen(captured);
    ck_assert_uint_le(n, 1024);
    ck_assert_str_eq(captured + n - 3, "\"}\n");
    ck_assert_msg(captured[n - 4] == '"' && captured[n - 5] == '\\', "%s", captured + n - 8);
}
END_TEST

/* ---- repetitive lines ------------------------------------------------------------------- */

static void disk_full(int i)
{
    br_err_limited("append to t-%d failed: No space left on device", i);
}
static void other_site(void) { br_warn_limited("another hot line"); }

START_TEST(limited_burst_then_summary)
{
    capture_begin();
    for (int i = 0; i < 100; i++) {
        disk_full(i);
        fake_now += 10; /* 100 lines within 1 s */
    }
    other_site(); /* a different call site has its own budget */
    int lines = capture_end();
    ck_assert_int_eq(lines, BR_LOG_LIMIT_BURST + 1);
    ck_assert_int_eq(count(captured, "failed: No space"), BR_LOG_LIMIT_BURST);
    ck_assert(strstr(captured, "append to t-4 failed") != NULL);
    ck_assert(strstr(captured, "append to t-5 failed") == NULL);
    ck_assert(strstr(captured, "more like this") == NULL);

    /* Still inside the window: nothing to flush. */
    capture_begin();
    br_log_flush_limited();
    ck_assert_int_eq(capture_end(), 0);

    /* The window is over: the site's next call writes the summary, then itself. */
    fake_now += BR_LOG_LIMIT_WINDOW_MS;
    capture_begin();
    disk_full(1000);
    lines = capture_end();
    ck_assert_int_eq(lines, 2);
    ck_assert_msg(strstr(captured, "ERROR [main] append to t-99 failed: No space left on device "
                                   "(95 more like this in the last 10 s)\n") != NULL,
                  "%s", captured);
    ck_assert(strstr(captured, "append to t-1000 failed") > strstr(captured, "t-99 failed"));
}
END_TEST

START_TEST(limited_flush_writes_pending_summary)
{
    capture_begin();
    for (int i = 0; i < BR_LOG_LIMIT_BURST + 3; i++)
        disk_full(i);
    ck_assert_int_eq(capture_end(), BR_LOG_LIMIT_BURST);

    /* Nothing else from that site: the periodic flush reports the 3, once. */
    fake_now += BR_LOG_LIMIT_WINDOW_MS + 1;
    capture_begin();
    br_log_flush_limited();
    br_log_flush_limited();
    ck_assert_int_eq(capture_end(), 1);
    ck_assert(strstr(captured, "append to t-7 failed: No space left on device (3 more like this "
                               "in the last 10 s)") != NULL);

    /* A quiet site writes no summary, and a new window starts with a full burst. */
    fake_now += BR_LOG_LIMIT_WINDOW_MS + 1;
    capture_begin();
    br_log_flush_limited();
    for (int i = 0; i < BR_LOG_LIMIT_BURST; i++)
        disk_full(i);
    ck_assert_int_eq(capture_end(), BR_LOG_LIMIT_BURST);
    ck_assert(strstr(captured, "more like this") == NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_log");
    TCase *tc = tcase_create("log");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, escape_untrusted);
    tcase_add_test(tc, no_forged_lines);
    tcase_add_test(tc, long_line_cut_whole);
    tcase_add_test(tc, filtered_lines_cost_nothing);
    tcase_add_test(tc, level_changes_at_run_time);
    tcase_add_test(tc, step_level_by_signal);
    tcase_add_test(tc, logfmt_and_json_lines);
    tcase_add_test(tc, limited_burst_then_summary);
    tcase_add_test(tc, limited_flush_writes_pending_summary);
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
