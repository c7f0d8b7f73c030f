/*
 * test_restart — durability across broker restarts, with a real splicelogd:
 * - SIGTERM (clean): everything produced is readable after a restart, offsets continue, and a
 *   second restart after more appends changes nothing;
 * - kill -9 while a background producer is appending: after a restart every record that was
 *   acknowledged before the kill is readable (the page cache survives a process kill), the
 *   log is a clean prefix of what was sent (every batch whole, CRC valid), and production
 *   continues at the log end;
 * - a torn batch at the tail of the active segment (a write cut short) is truncated away on
 *   recovery and never served;
 * - kill -9 and an immediate restart on the same fixed port, 20 times: the killed broker's
 *   listening sockets close asynchronously (its io_uring holds them), and the new one must
 *   wait for them instead of exiting "already in use".
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"

static struct tb_broker B;

static void bare_setup(void) { memset(&B, 0, sizeof B); }

static void teardown(void) { tb_ck_finish(&B); }

static void start(const char *const *extra) { tb_ck_start(&B, extra); }

static void stop_clean(void) { tb_ck_stop_clean(&B); }

static int64_t end_offset(int fd, const char *topic, int32_t part)
{
    struct tb_list_offsets_resp lo;
    ck_assert_int_eq(tb_list_offsets(fd, topic, part, -1, &lo), 0);
    ck_assert_msg(lo.error == 0, "ListOffsets %s/%d: %d", topic, part, lo.error);
    return lo.offset;
}

/* Checks that topic/part holds exactly prefix-0 .. prefix-(n-1), read from offset 0. */
static void expect_seq(int fd, const char *topic, int32_t part, const char *prefix, size_t pad,
                       int64_t n)
{
    ck_assert_msg(end_offset(fd, topic, part) == n, "%s/%d ends at %lld, want %lld", topic, part,
                  (long long)end_offset(fd, topic, part), (long long)n);
    struct tb_seq seq = {.prefix = prefix, .pad_to = pad};
    int rc = tb_consume_seq(fd, topic, part, n, &seq, 1000);
    ck_assert_msg(rc == 0, "%s/%d: %d %s (read up to %lld of %lld)", topic, part, rc, seq.err,
                  (long long)seq.next_offset, (long long)n);
}

/* ---- clean restart -------------------------------------------------------------------------- */

START_TEST(sigterm_restart_everything_readable)
{
    static const char *const extra[] = {"-o", "log.segment.bytes=32768", NULL};
    start(extra);
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "r1", 1);
    tb_ck_create_topic(fd, "r4", 4);
    for (int b = 0; b < 100; b++)
        ck_assert_int_eq(tb_ck_produce_seq(fd, "r1", 0, "r1", b * 5, 5, 100), b * 5);
    for (int p = 0; p < 4; p++)
        for (int b = 0; b < 5; b++)
            tb_ck_produce_seq(fd, "r4", p, "r4", b * 3, 3, 10);
    close(fd);
    stop_clean();

    for (int round = 0; round < 2; round++) {
        start(extra);
        fd = tb_ck_connect(&B);
        int64_t n = 500 + round * 10;
        expect_seq(fd, "r1", 0, "r1", 100, n);
        for (int p = 0; p < 4; p++)
            expect_seq(fd, "r4", p, "r4", 10, 15);
        struct tb_list_offsets_resp lo;
        ck_assert_int_eq(tb_list_offsets(fd, "r1", 0, -2, &lo), 0);
        ck_assert_int_eq(lo.offset, 0);
        /* Production continues at the end. */
        ck_assert_int_eq(tb_ck_produce_seq(fd, "r1", 0, "r1", (int)n, 10, 100), n);
        expect_seq(fd, "r1", 0, "r1", 100, n + 10);
        close(fd);
        stop_clean();
    }
}
END_TEST

/* ---- kill -9 mid-production ----------------------------------------------------------------- */

enum { K9_BATCH = 10, K9_PAD = 200 };

struct producer {
    int port;
    int64_t acked_end; /* offsets below were acknowledged; atomic */
    int64_t sent;      /* records handed to the socket */
    int last_error;
    char err[256];
};

static void *producer_main(void *arg)
{
    struct producer *p = arg;
    int fd = tb_connect(p->port);
    if (fd < 0) {
        p->last_error = fd;
        return NULL;
    }
    uint8_t *buf = malloc(K9_BATCH * (K9_PAD + 64) + 256);
    if (!buf) {
        close(fd);
        p->last_error = -ENOMEM;
        return NULL;
    }
    /* Bounded: at most 100,000 batches; the kill ends it long before. */
    for (int64_t next = 0; next < 100000 * K9_BATCH; next += K9_BATCH) {
        long len = tb_batch_values(buf, K9_BATCH * (K9_PAD + 64) + 256, "k9", (int)next, K9_BATCH,
                                   K9_PAD, false, 1700000000000LL);
        struct tb_produce_resp pr;
        __atomic_store_n(&p->sent, next + K9_BATCH, __ATOMIC_RELEASE);
        int rc = len > 0 ? tb_produce(fd, "k9", 0, buf, (size_t)len, &pr) : (int)len;
        if (rc) {
            p->last_error = rc; /* the kill: connection reset */
            break;
        }
        if (pr.error != 0 || pr.base_offset != next) {
            snprintf(p->err, sizeof p->err, "ack for %lld: error %d base %lld", (long long)next,
                     pr.error, (long long)pr.base_offset);
            break;
        }
        __atomic_store_n(&p->acked_end, next + K9_BATCH, __ATOMIC_RELEASE);
    }
    free(buf);
    close(fd);
    return NULL;
}

START_TEST(kill9_mid_production)
{
    static const char *const extra[] = {"-o", "log.segment.bytes=262144", NULL};
    start(extra);
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "k9", 1);
    close(fd);

    struct producer prod = {.port = B.port};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, producer_main, &prod), 0);
    /* Let it get well into the log (several segments), bounded at 30 s. */
    for (int i = 0; i < 3000 && __atomic_load_n(&prod.acked_end, __ATOMIC_ACQUIRE) < 3000; i++)
        usleep(10 * 1000);
    int64_t before = __atomic_load_n(&prod.acked_end, __ATOMIC_ACQUIRE);
    int st = tb_broker_stop(&B, SIGKILL);
    ck_assert_msg(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "kill status 0x%x", st);
    pthread_join(th, NULL);
    ck_assert_msg(prod.err[0] == 0, "producer: %s", prod.err);
    int64_t acked = prod.acked_end;
    ck_assert_msg(before >= 3000 && acked >= before, "only %lld records acknowledged before kill",
                  (long long)acked);

    start(extra);
    fd = tb_ck_connect(&B);
    int64_t end = end_offset(fd, "k9", 0);
    ck_assert_msg(end >= acked, "after kill -9: log ends at %lld, %lld were acknowledged",
                  (long long)end, (long long)acked);
    ck_assert_msg(end <= prod.sent, "log ends at %lld, beyond the %lld records ever sent",
                  (long long)end, (long long)prod.sent);
    ck_assert_msg(end % K9_BATCH == 0, "log ends at %lld: not on a batch boundary", (long long)end);
    /* Every record, acknowledged or in flight, is whole and the one that was sent. */
    struct tb_seq seq = {.prefix = "k9", .pad_to = K9_PAD};
    int rc = tb_consume_seq(fd, "k9", 0, end, &seq, 5000);
    ck_assert_msg(rc == 0, "reading back: %d %s (at %lld of %lld)", rc, seq.err,
                  (long long)seq.next_offset, (long long)end);
    /* Production continues at the right offset. */
    ck_assert_int_eq(tb_ck_produce_seq(fd, "k9", 0, "k9", (int)end, K9_BATCH, K9_PAD), end);
    seq.next_offset = end;
    rc = tb_consume_seq(fd, "k9", 0, end + K9_BATCH, &seq, 100);
    ck_assert_msg(rc == 0, "after restart: %d %s", rc, seq.err);
    close(fd);
}
END_TEST

START_TEST(sigterm_during_production)
{
    /* SIGTERM while a producer is appending: in-flight requests finish, the broker exits 0,
     * and after a restart everything acknowledged is there and production continues. */
    start(NULL);
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "k9", 1);
    close(fd);
    struct producer prod = {.port = B.port};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, producer_main, &prod), 0);
    for (int i = 0; i < 3000 && __atomic_load_n(&prod.acked_end, __ATOMIC_ACQUIRE) < 1000; i++)
        usleep(10 * 1000);
    int st = tb_broker_stop(&B, SIGTERM);
    pthread_join(th, NULL);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "SIGTERM during production: status 0x%x", st);
    ck_assert_msg(prod.err[0] == 0, "producer: %s", prod.err);
    int64_t acked = prod.acked_end;
    ck_assert_int_ge(acked, 1000);
    start(NULL);
    fd = tb_ck_connect(&B);
    int64_t end = end_offset(fd, "k9", 0);
    ck_assert_msg(end >= acked && end <= prod.sent && end % K9_BATCH == 0,
                  "after SIGTERM: log ends at %lld, %lld acknowledged, %lld sent", (long long)end,
                  (long long)acked, (long long)prod.sent);
    struct tb_seq seq = {.prefix = "k9", .pad_to = K9_PAD};
    int rc = tb_consume_seq(fd, "k9", 0, end, &seq, 5000);
    ck_assert_msg(rc == 0, "reading back: %d %s", rc, seq.err);
    ck_assert_int_eq(tb_ck_produce_seq(fd, "k9", 0, "k9", (int)end, K9_BATCH, K9_PAD), end);
    close(fd);
}
END_TEST

/* ---- torn tail ------------------------------------------------------------------------------ */

/* Path of the newest segment of topic-0 (the greatest 20-digit name). */
static void tail_segment(const char *topic, char *out, size_t cap)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s-0", B.data, topic);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "no partition directory %s", dir);
    char best[64] = "";
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n == 24 && strcmp(e->d_name + 20, ".log") == 0 && strcmp(e->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", e->d_name);
    }
    closedir(d);
    ck_assert_msg(best[0] != 0, "no segment in %s", dir);
    snprintf(out, cap, "%s/%s", dir, best);
}

START_TEST(torn_tail_truncated_on_recovery)
{
    start(NULL);
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "torn", 1);
    for (int b = 0; b < 20; b++)
        tb_ck_produce_seq(fd, "torn", 0, "torn", b * 4, 4, 50);
    close(fd);
    /* No clean shutdown: the tail is scanned on start. */
    int st = tb_broker_stop(&B, SIGKILL);
    ck_assert(WIFSIGNALED(st));

    /* Append the first 40 bytes of a real batch claiming offset 80: a write cut short. */
    uint8_t batch[2048];
    long len = tb_batch_values(batch, sizeof batch, "torn", 80, 4, 50, false, 1700000000000LL);
    ck_assert_int_gt(len, 40);
    kp_store_be64(batch, 80);
    char seg[1024];
    tail_segment("torn", seg, sizeof seg);
    int sfd = open(seg, O_WRONLY | O_APPEND);
    ck_assert_int_ge(sfd, 0);
    ck_assert_int_eq(write(sfd, batch, 40), 40);
    close(sfd);

    start(NULL);
    fd = tb_ck_connect(&B);
    expect_seq(fd, "torn", 0, "torn", 50, 80);
    ck_assert_int_eq(tb_ck_produce_seq(fd, "torn", 0, "torn", 80, 4, 50), 80);
    expect_seq(fd, "torn", 0, "torn", 50, 84);
    close(fd);
    /* And the repaired log survives a clean restart. */
    stop_clean();
    start(NULL);
    fd = tb_ck_connect(&B);
    expect_seq(fd, "torn", 0, "torn", 50, 84);
    close(fd);
}
END_TEST

/* Size of a file, or -1. */
static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

START_TEST(corrupt_last_batch_truncated_on_recovery)
{
    start(NULL);
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "crc", 1);
    for (int b = 0; b < 10; b++)
        tb_ck_produce_seq(fd, "crc", 0, "crc", b * 4, 4, 50);
    close(fd);
    int st = tb_broker_stop(&B, SIGKILL);
    ck_assert(WIFSIGNALED(st));

    /* Flip a byte inside the last batch's records: its CRC no longer matches. */
    char seg[1024];
    tail_segment("crc", seg, sizeof seg);
    long size = file_size(seg);
    ck_assert_int_gt(size, 100);
    int sfd = open(seg, O_RDWR);
    ck_assert_int_ge(sfd, 0);
    uint8_t byte;
    ck_assert_int_eq(pread(sfd, &byte, 1, size - 10), 1);
    byte ^= 0xff;
    ck_assert_int_eq(pwrite(sfd, &byte, 1, size - 10), 1);
    close(sfd);

    start(NULL);
    fd = tb_ck_connect(&B);
    /* The bad batch (offsets 36..39) is gone, never served; the rest is intact. */
    expect_seq(fd, "crc", 0, "crc", 50, 36);
    ck_assert_int_eq(tb_ck_produce_seq(fd, "crc", 0, "crc", 36, 4, 50), 36);
    expect_seq(fd, "crc", 0, "crc", 50, 40);
    close(fd);
}
END_TEST

START_TEST(missing_indexes_rebuilt)
{
    static const char *const extra[] = {"-o", "log.segment.bytes=16384", NULL};
    start(extra);
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "idx", 1);
    for (int b = 0; b < 60; b++) {
        uint8_t buf[8192];
        long len = tb_batch_values(buf, sizeof buf, "idx", b * 5, 5, 100, false,
                                   1000000 + (int64_t)b * 1000);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_produce(fd, "idx", 0, buf, (size_t)len, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
    }
    close(fd);
    int st = tb_broker_stop(&B, SIGKILL);
    ck_assert(WIFSIGNALED(st));
    /* Remove every .index and .timeindex file of the partition. */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/idx-0", B.data);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int removed = 0;
    while ((e = readdir(d)) != NULL) {
        const char *dot = strrchr(e->d_name, '.');
        if (dot && (strcmp(dot, ".index") == 0 || strcmp(dot, ".timeindex") == 0)) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            ck_assert_int_eq(unlink(path), 0);
            removed++;
        }
    }
    closedir(d);
    ck_assert_msg(removed >= 2, "only %d index files found (segments did not roll?)", removed);

    start(extra);
    fd = tb_ck_connect(&B);
    expect_seq(fd, "idx", 0, "idx", 100, 300);
    /* Fetches from the middle of later segments find their batch. */
    for (int64_t off = 3; off < 300; off += 37) {
        struct tb_seq seq = {.prefix = "idx", .pad_to = 100, .next_offset = off};
        int rc = tb_consume_seq(fd, "idx", 0, off + 1, &seq, 2);
        ck_assert_msg(rc == 0, "fetch at %lld: %d %s", (long long)off, rc, seq.err);
    }
    /* And by time. */
    struct tb_list_offsets_resp lo;
    ck_assert_int_eq(tb_list_offsets(fd, "idx", 0, 1000000 + 41 * 1000, &lo), 0);
    ck_assert_int_eq(lo.error, 0);
    ck_assert_int_eq(lo.offset, 41 * 5);
    close(fd);
}
END_TEST

/* ---- kill -9, immediate restart on the same port ----------------------------------------- */

enum { RESTART_CYCLES = 20, RESTART_CONNS = 4 };

START_TEST(kill9_immediate_restart_same_port)
{
    /* The release binary where there is one: it starts within the window in which the killed
     * broker's sockets still exist (the ASan one, slower to start, often misses it). Check runs
     * each test in its own process, so the setting ends with this test. */
    const char *rel = getenv("SPLICELOGD_REL");
    if (rel && *rel && access(rel, X_OK) == 0)
        setenv("SPLICELOGD", rel, 1);
    /* The port must be fixed: an ephemeral one first, then reused by every restart. */
    start(NULL);
    int port = B.port;
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    const char *const extra[] = {"--listen", listen, NULL};
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "rs", 1);
    close(fd);
    for (int i = 0; i < RESTART_CYCLES; i++) {
        /* Connections with long-polling fetches parked, so the killed broker has sockets with
         * io_uring operations in flight, as a busy one would. */
        int fds[RESTART_CONNS];
        for (int k = 0; k < RESTART_CONNS; k++) {
            fds[k] = tb_ck_connect(&B);
            struct tb_req r;
            ck_assert_int_eq(tb_req_begin(&r, 256, 1, 11, 900 + i), 0);
            struct tb_fetch_args a = {10000, 1, 1 << 20, "rs", 0, i, 1 << 20};
            tb_enc_fetch(&r, 11, &a);
            ck_assert_int_eq(tb_req_send(fds[k], &r), 0);
            tb_req_free(&r);
        }
        usleep(20 * 1000);
        int st = tb_broker_stop(&B, SIGKILL);
        ck_assert_msg(st >= 0 && WIFSIGNALED(st), "cycle %d: kill status 0x%x", i, st);
        for (int k = 0; k < RESTART_CONNS; k++)
            close(fds[k]);
        int rc = tb_broker_start(&B, extra); /* at once: no pause after the kill */
        ck_assert_msg(rc == 0, "cycle %d: restart on port %d failed: %s (see %s)", i, port,
                      strerror(-rc), B.log);
        ck_assert_int_eq(B.port, port);
        fd = tb_ck_connect(&B);
        ck_assert_int_eq(tb_ck_produce_seq(fd, "rs", 0, "rs", i, 1, 10), i);
        close(fd);
    }
    fd = tb_ck_connect(&B);
    expect_seq(fd, "rs", 0, "rs", 10, RESTART_CYCLES);
    close(fd);
    ck_assert_msg(!tb_log_contains(&B, "already in use"), "a restart reported the port in use");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("restart");
    TCase *tc = tcase_create("restart");
    tcase_add_checked_fixture(tc, bare_setup, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, sigterm_restart_everything_readable);
    tcase_add_test(tc, kill9_mid_production);
    tcase_add_test(tc, sigterm_during_production);
    tcase_add_test(tc, torn_tail_truncated_on_recovery);
    tcase_add_test(tc, corrupt_last_batch_truncated_on_recovery);
    tcase_add_test(tc, missing_indexes_rebuilt);
    tcase_add_test(tc, kill9_immediate_restart_same_port);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
