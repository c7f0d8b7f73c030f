/*
 * test_log — what the broker's log and signals promise, against a real splicelogd:
 * - SIGHUP is logged and changes nothing: the broker keeps serving and still shuts down
 *   cleanly on SIGTERM (before: SIGHUP's default action ended it, without a clean shutdown).
 * - No client can forge a log line: a client.id and a group id carrying "\n" and a fake
 *   timestamp end up escaped inside one line; every line of the log starts with
 *   its own timestamp (before: a group id was logged raw and its newline started a line).
 * - A full disk does not flood the log: with the broker's file size limit reached
 *   (RLIMIT_FSIZE, SIGXFSZ ignored: every append fails with EFBIG, as a full disk fails with
 *   ENOSPC), 60 rejected batches write at most 5 lines per call site, then one summary line
 *   "(N more like this in the last 10 s)" (before: 2 lines per rejected batch).
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_group.h"
#include "../support/tb_kafka.h"

static struct tb_broker B;

static void setup(void) { memset(&B, 0, sizeof B); }

static void teardown(void) { tb_ck_finish(&B); }

/* The broker's whole log, NUL-terminated (caller frees). */
static char *read_log(void)
{
    FILE *f = fopen(B.log, "r");
    ck_assert_ptr_nonnull(f);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap + 1);
    ck_assert_ptr_nonnull(buf);
    len = fread(buf, 1, cap, f);
    fclose(f);
    buf[len] = 0;
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* True when line (up to its newline) starts with "YYYY-MM-DDTHH:MM:SS.mmmZ LEVEL [". */
static bool line_has_prefix(const char *line)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
    for (size_t i = 0; i < sizeof pat - 1; i++) {
        char c = line[i];
        if (pat[i] == 'd' ? (c < '0' || c > '9') : c != pat[i])
            return false;
    }
    const char *lv = line + sizeof pat - 1;
    return strncmp(lv, "ERROR [", 7) == 0 || strncmp(lv, "WARN  [", 7) == 0 ||
           strncmp(lv, "INFO  [", 7) == 0 || strncmp(lv, "DEBUG [", 7) == 0;
}

/* ---- SIGHUP ------------------------------------------------------------------------------ */

START_TEST(sighup_logged_and_ignored)
{
    tb_ck_start(&B, NULL);
    int fd = tb_ck_connect(&B);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(kill(B.pid, SIGHUP), 0);
        usleep(100 * 1000);
    }
    ck_assert_msg(tb_log_wait(&B, "received SIGHUP: nothing to do, still running", 5000),
                  "no log line for SIGHUP");
    usleep(300 * 1000);
    ck_assert_msg(tb_broker_alive(&B), "SIGHUP ended the broker");
    /* still serving, on the old connection and a new one */
    static const char *const topics[] = {"hup"};
    struct tb_metadata md;
    ck_assert_int_eq(tb_metadata(fd, topics, 1, true, &md), 0);
    close(fd);
    fd = tb_ck_connect(&B);
    ck_assert_int_eq(tb_metadata(fd, topics, 1, true, &md), 0);
    close(fd);
    /* the teardown checks the clean SIGTERM shutdown (exit 0) */
}
END_TEST

/* ---- forged lines ------------------------------------------------------------------------ */

#define FORGED "\n2026-01-01T00:00:00.000Z ERROR [main] forged: the disk is on fire"

START_TEST(client_strings_cannot_forge_lines)
{
    const char *const extra[] = {"-o", "group.initial.rebalance.delay.ms=0", NULL};
    tb_ck_start(&B, extra);

    /* 1. a client.id, in the line for a version this broker does not speak (Fetch v0) */
    static const char cid[] = "evil" FORGED;
    int fd = tb_ck_connect(&B);
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin_id(&r, 512, 1, 0, 1, kp_str_of(cid)), 0);
    kp_wr_i32(&r.wr, -1); /* replica_id */
    kp_wr_i32(&r.wr, 100);
    kp_wr_i32(&r.wr, 1);
    kp_wr_i32(&r.wr, 0); /* no topics */
    ck_assert_int_eq(tb_req_send(fd, &r), 0);
    tb_req_free(&r);
    tb_wait_closed(fd, 2000); /* closed (test_protocol_baseline checks that) */
    close(fd);

    /* 2. the same client.id in a malformed request's line (a Metadata v4 cut short) */
    fd = tb_ck_connect(&B);
    ck_assert_int_eq(tb_req_begin_id(&r, 512, 3, 4, 2, kp_str_of(cid)), 0);
    kp_wr_i32(&r.wr, 1);
    kp_wr_i16(&r.wr, 50); /* a topic name of 50 bytes, 3 sent */
    kp_wr_raw(&r.wr, "abc", 3);
    ck_assert_int_eq(tb_req_send(fd, &r), 0);
    tb_req_free(&r);
    struct tb_frame f;
    if (tb_recv_frame(fd, &f, 1 << 20) == 0)
        tb_frame_free(&f);
    close(fd);

    /* 3. a group id: the coordinator logs every rebalance of the group */
    fd = tb_ck_connect(&B);
    const struct tb_proto protos[] = {{"range", "m"}};
    struct tb_join j;
    ck_assert_int_eq(tb_join_group(fd, 0, 3, "group" FORGED, 10000, 30000, "", 1, protos, &j), 0);
    ck_assert_int_eq(j.error, 0);
    close(fd);

    tb_log_wait(&B, "group group", 5000);
    char *log = read_log();
    ck_assert_msg(strstr(log, "\n2026-01-01T00:00:00.000Z") == NULL, "a forged line:\n%s", log);
    free(log);
    ck_assert(tb_log_wait(&B, "client.id=evil\\x0a2026-01-01T00:00:00.000Z\\x20ERROR", 5000));
    ck_assert(tb_log_wait(&B, "malformed Metadata v4 request", 5000));
    ck_assert(tb_log_wait(&B, "group group\\x0a2026-01-01T00:00:00.000Z\\x20ERROR", 5000));
    log = read_log();
    ck_assert_int_ge(count(log, "forged:\\x20the\\x20disk"), 3); /* one token each time */
    int lines = 0;
    for (char *line = log; *line; lines++) {
        ck_assert_msg(line_has_prefix(line), "a line without its own prefix: %.120s", line);
        char *nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        line = nl + 1;
    }
    ck_assert_int_ge(lines, 10);
    free(log);
}
END_TEST

/* ---- a full disk ------------------------------------------------------------------------- */

START_TEST(full_disk_lines_limited)
{
    /* The broker inherits a 1 MiB file size limit and an ignored SIGXFSZ: appends past 1 MiB
     * fail (EFBIG) like appends to a full disk (ENOSPC). Index files are kept small so that
     * creating the topic fits. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {.rlim_cur = 1 << 20, .rlim_max = 1 << 20};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    const char *const extra[] = {"-o", "log.index.size.max.bytes=65536", NULL};
    tb_ck_start(&B, extra);
    int fd = tb_ck_connect(&B);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(fd, "full", 1, &err), 0);
    ck_assert_int_eq(err, 0);

    static uint8_t batch[40 << 10];
    long len = tb_batch_values(batch, sizeof batch, "full", 0, 1, 32 << 10, false, 1);
    ck_assert_int_gt(len, 0);
    struct tb_produce_resp pr;
    int ok = 0;
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(tb_produce(fd, "full", 0, batch, (size_t)len, &pr), 0);
        if (pr.error)
            break;
        ok++;
    }
    ck_assert_msg(pr.error == 56, "the disk never filled: %d batches, error %d", ok, pr.error);
    ck_assert_int_ge(ok, 20);
    /* 60 more rejected batches, within a second or two */
    for (int i = 0; i < 60; i++) {
        ck_assert_int_eq(tb_produce(fd, "full", 0, batch, (size_t)len, &pr), 0);
        ck_assert_int_eq(pr.error, 56); /* KAFKA_STORAGE_ERROR */
    }
    char *log = read_log();
    int appends = count(log, "append to full-0 failed: File too large");
    int rejected = count(log, "produce to full-0 rejected: KAFKA_STORAGE_ERROR");
    free(log);
    ck_assert_msg(appends >= 1 && appends <= 5, "%d 'append failed' lines for 61 batches", appends);
    ck_assert_msg(rejected >= 1 && rejected <= 5, "%d 'rejected' lines for 61 batches", rejected);
    /* the summaries, once the 10 s window is over (the main thread flushes each second) */
    ck_assert_msg(tb_log_wait(&B, "more like this in the last 10 s)", 15000), "no summary line");
    ck_assert(tb_log_wait(&B, "append to full-0 failed: File too large (", 3000));
    ck_assert(tb_log_wait(&B, "rejected: KAFKA_STORAGE_ERROR (append failed) (", 3000));
    log = read_log();
    const char *s = strstr(log, "append to full-0 failed: File too large (");
    int n = s ? atoi(s + strlen("append to full-0 failed: File too large (")) : -1;
    free(log);
    ck_assert_int_eq(n + appends, 61);
    close(fd);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sighup_logged_and_ignored);
    tcase_add_test(tc, client_strings_cannot_forge_lines);
    tcase_add_test(tc, full_disk_lines_limited);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
