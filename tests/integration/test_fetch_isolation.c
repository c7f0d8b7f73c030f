/*
 * test_fetch_isolation — no byte of one topic reaches another client's fetch.
 *
 * The reproduction of the stale-pipe leak (issue 11, item 1): 40 threads loop {connect, Fetch
 * v4 of topic "secret" asking for 4 MiB, read 1 byte, close} while one consumer fetches topic
 * "good" again and again. Every response the good consumer gets must be whole (its frame
 * parses exactly, its correlation id is the one it sent, every batch passes its CRC and holds
 * the good sequence) and must not contain the secret marker anywhere. Run on each transfer
 * path (splice, sendfile, copy, auto; with and without small responses in line) for a bounded
 * time, with a small pipe pool so that pipes are
 * handed from abandoned transfers to the good consumer often.
 *
 * Before the fix, on splice, the good consumer received secret bytes (or a frame cut short)
 * within seconds: completions of splices still in flight when a connection began closing were
 * not counted, and the pipe went back to the pool with bytes in it.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"

static struct tb_broker B;

enum {
    ABANDONERS = 40,
    SECRET_BATCHES = 96, /* x 60 KB: ~5.6 MiB, more than one 4 MiB fetch */
    SECRET_VALUE = 60000,
    GOOD_BATCHES = 400, /* 4 records of ~700 B each */
    GOOD_PAD = 700,
    RUN_MS = 7000,
};

static const char MARK[] = "S3CR3T!"; /* the secret topic's values repeat it */

static void teardown(void) { tb_ck_finish(&B); }

static void produce_secret(int fd)
{
    size_t cap = SECRET_VALUE + 1024;
    uint8_t *buf = malloc(cap);
    char *v = malloc(SECRET_VALUE);
    ck_assert_ptr_nonnull(buf);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < SECRET_VALUE; i++)
        v[i] = MARK[i % (sizeof(MARK) - 1)];
    for (int b = 0; b < SECRET_BATCHES; b++) {
        struct kp_batch_builder bb;
        ck_assert_int_eq(kp_batch_begin(&bb, buf, cap, 1700000000000LL), 0);
        ck_assert_int_eq(kp_batch_add(&bb, 1700000000000LL, KP_BYTES_NULL,
                                      (struct kp_bytes){(uint8_t *)v, SECRET_VALUE}, NULL, 0),
                         0);
        long len = kp_batch_finish(&bb);
        ck_assert_int_gt(len, 0);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_produce(fd, "secret", 0, buf, (size_t)len, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
    }
    free(v);
    free(buf);
}

static void produce_good(int fd)
{
    size_t cap = 4 * (GOOD_PAD + 256) + 1024;
    uint8_t *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (int b = 0; b < GOOD_BATCHES; b++) {
        long len = tb_batch_values(buf, cap, "good", b * 4, 4, GOOD_PAD, false, 1700000000000LL);
        ck_assert_int_gt(len, 0);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_produce(fd, "good", 0, buf, (size_t)len, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
    }
    free(buf);
}

struct abandoner {
    pthread_t th;
    int port;
    int64_t until;
    atomic_bool *stop;
    long rounds;
};

/* {connect, Fetch v4 of secret for 4 MiB, read 1 byte, close} until told to stop. */
static void *abandon_loop(void *arg)
{
    struct abandoner *a = arg;
    struct tb_fetch_args fa = {0, 1, 4 << 20, "secret", 0, 0, 4 << 20};
    while (!atomic_load(a->stop) && tb_now_ms() < a->until) {
        int fd = tb_connect(a->port);
        if (fd < 0)
            continue;
        if (tb_send_fetch(fd, 4, 7, &fa) == 0) {
            char c;
            (void)recv(fd, &c, 1, 0);
        }
        close(fd);
        a->rounds++;
    }
    return NULL;
}

/* memmem for the marker: how many bytes of the frame hold a piece of it. */
static bool has_secret(const uint8_t *p, size_t n)
{
    return memmem(p, n, MARK, sizeof(MARK) - 1) != NULL || memmem(p, n, "3CR3T!S", 7) != NULL ||
           memmem(p, n, "CR3T!S3", 7) != NULL;
}

START_TEST(abandoned_fetches_never_reach_another_consumer)
{
    /* each path with small responses in line (the default) and without */
    static const char *const paths[] = {"splice", "sendfile", "copy", "auto",
                                        "splice", "sendfile", "copy"};
    char opt[64], inl[64];
    snprintf(opt, sizeof opt, "fetch.transfer=%s", paths[_i]);
    snprintf(inl, sizeof inl, "fetch.inline.max.bytes=%s", _i < 4 ? "65536" : "0");
    /* a small pool: pipes go from abandoned transfers to the good consumer often */
    const char *extra[] = {"-o", opt, "-o", "fetch.splice.pipes=4", "-o", "max.connections=1000",
                           "-o", inl, NULL};
    tb_ck_start_fresh(&B, extra);
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "secret", 1);
    tb_ck_create_topic(fd, "good", 1);
    produce_secret(fd);
    produce_good(fd);
    close(fd);

    atomic_bool stop = false;
    int64_t until = tb_now_ms() + RUN_MS;
    static struct abandoner ab[ABANDONERS];
    for (int i = 0; i < ABANDONERS; i++) {
        ab[i] = (struct abandoner){.port = B.port, .until = until, .stop = &stop};
        ck_assert_int_eq(pthread_create(&ab[i].th, NULL, abandon_loop, &ab[i]), 0);
    }

    int gfd = tb_ck_connect(&B);
    long fetches = 0, records = 0;
    char bad[320] = "";
    for (int32_t corr = 1; tb_now_ms() < until && !bad[0]; corr++) {
        /* from a moving offset, so that responses vary in size and start */
        int64_t from = (corr * 37) % (GOOD_BATCHES * 4);
        struct tb_fetch_args fa = {0, 1, 1 << 20, "good", 0, from, 1 << 20};
        int rc = tb_send_fetch(gfd, 11, corr, &fa);
        struct tb_frame f = {0};
        if (rc == 0)
            rc = tb_recv_frame(gfd, &f, 8 << 20);
        if (rc != 0) {
            snprintf(bad, sizeof bad, "fetch %ld: %s (a frame cut short or framed wrong)", fetches,
                     strerror(-rc));
            break;
        }
        fetches++;
        struct tb_fetch_resp fr;
        if (tb_frame_corr(&f) != corr)
            snprintf(bad, sizeof bad, "fetch %ld: correlation id %d, sent %d", fetches,
                     tb_frame_corr(&f), corr);
        else if (has_secret(f.data, f.len))
            snprintf(bad, sizeof bad, "fetch %ld: the good consumer received secret bytes",
                     fetches);
        else if (tb_dec_fetch(&f, 11, &fr) != 0 || fr.error != 0)
            snprintf(bad, sizeof bad, "fetch %ld: the response does not parse", fetches);
        else {
            struct tb_seq seq = {.prefix = "good", .pad_to = GOOD_PAD, .next_offset = from};
            size_t trailing = 0;
            long k =
                tb_records_walk(fr.records, (size_t)fr.records_len, tb_seq_check, &seq, &trailing);
            if (k <= 0 || seq.err[0])
                snprintf(bad, sizeof bad, "fetch %ld from %lld: %ld records %s", fetches,
                         (long long)from, k, seq.err);
            records += k;
        }
        tb_frame_free(&f);
    }
    atomic_store(&stop, true);
    long rounds = 0;
    for (int i = 0; i < ABANDONERS; i++) {
        pthread_join(ab[i].th, NULL);
        rounds += ab[i].rounds;
    }
    close(gfd);
    fprintf(stderr, "[%s] %ld good fetches (%ld records), %ld abandoned secret fetches\n",
            paths[_i], fetches, records, rounds);
    ck_assert_msg(!bad[0], "[%s] %s", paths[_i], bad);
    ck_assert_msg(!tb_log_contains(&B, "pipe accounting"),
                  "[%s] the broker's count of bytes in a pipe disagreed with the kernel's",
                  paths[_i]);
    ck_assert_msg(fetches > 20 && rounds > 200, "[%s] too little traffic: %ld fetches, %ld rounds",
                  paths[_i], fetches, rounds);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fetch_isolation");
    TCase *tc = tcase_create("isolation");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, abandoned_fetches_never_reach_another_consumer, 0, 7);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
