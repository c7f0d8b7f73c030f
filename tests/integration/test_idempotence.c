/*
 * test_idempotence — the idempotent producer (KIP-98) against a real splicelogd, in raw
 * protocol: InitProducerId hands out ids and epoch 0; a batch sent again (a retry) is
 * answered with the offset it was first written at and nothing is appended (the log end does
 * not move, a fetch shows it once); each of the last 5 batches is recognised, an older one
 * is OUT_OF_ORDER_SEQUENCE_NUMBER; a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER; an older
 * epoch is INVALID_PRODUCER_EPOCH; a new epoch starts at sequence 0; batches without a
 * producer id are unaffected; a transactional batch in a request without a transactional id is
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED. The dedupe window survives a clean restart and a
 * kill -9 (producer-state snapshots plus the replay of the log's batch headers), also across
 * a segment roll inside the window, and producer ids stay unique across restarts.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"
#include "../support/tb_txn.h"

static struct tb_broker B;

static void setup(void)
{
    memset(&B, 0, sizeof B);
    const char *extra[] = {"-o", "log.segment.bytes=1024", NULL};
    tb_ck_start(&B, extra);
}

static void teardown(void) { tb_ck_finish(&B); }

static void init_pid(int fd, int16_t v, int64_t *pid, int16_t *epoch)
{
    tb_ck_init_pid(fd, v, NULL, -1, pid, epoch);
    ck_assert_int_ge(*pid, 0);
    ck_assert_int_eq(*epoch, 0);
}

/* Produces count records from (pid, epoch) at seq to t/0; returns the error, *base the offset. */
static int16_t send_batch(int fd, int64_t pid, int16_t epoch, int32_t seq, int first, int count,
                          int64_t *base)
{
    return tb_ck_produce_pid(fd, NULL, "t", 0, "idem", pid, epoch, seq, first, count, base);
}

static int64_t log_end(int fd) { return tb_ck_log_end(fd, 0, "t", 0); }

/* Records in the partition (read_uncommitted fetch from 0, all of it). */
static int count_records(int fd)
{
    struct tb_frame f;
    struct tb_txn_fetch out;
    ck_assert_int_eq(tb_txn_fetch(fd, 11, 0, 0, 0, "t", 0, 0, &f, &out), 0);
    ck_assert_int_eq(out.error, 0);
    int total = 0;
    size_t off = 0;
    while (out.records_len > 0 && (size_t)out.records_len - off >= KP_BATCH_HEADER_LEN) {
        struct kp_batch_hdr h;
        ck_assert_int_eq(kp_batch_validate(out.records + off, (size_t)out.records_len - off, 0, &h),
                         0);
        total += h.record_count;
        off += kp_batch_size(&h);
    }
    tb_frame_free(&f);
    return total;
}

START_TEST(duplicate_answers_first_offset_and_appends_nothing)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 1);
    int64_t pid;
    int16_t ep;
    init_pid(fd, 1, &pid, &ep);
    int64_t b0, b1, d;
    ck_assert_int_eq(send_batch(fd, pid, ep, 0, 0, 3, &b0), 0);
    ck_assert_int_eq(send_batch(fd, pid, ep, 3, 3, 2, &b1), 0);
    ck_assert_int_eq(b0, 0);
    ck_assert_int_eq(b1, 3);
    int64_t end = log_end(fd);
    ck_assert_int_eq(end, 5);
    /* a retry of each: the original offsets, nothing written */
    ck_assert_int_eq(send_batch(fd, pid, ep, 0, 0, 3, &d), 0);
    ck_assert_int_eq(d, 0);
    ck_assert_int_eq(send_batch(fd, pid, ep, 3, 3, 2, &d), 0);
    ck_assert_int_eq(d, 3);
    ck_assert_int_eq(log_end(fd), 5);
    ck_assert_int_eq(count_records(fd), 5);
    /* the next in sequence goes on */
    ck_assert_int_eq(send_batch(fd, pid, ep, 5, 5, 1, &d), 0);
    ck_assert_int_eq(d, 5);
    close(fd);
}
END_TEST

START_TEST(five_batch_window_then_out_of_order)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 1);
    int64_t pid;
    int16_t ep;
    init_pid(fd, 4, &pid, &ep); /* flexible version */
    int64_t base[7];
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(send_batch(fd, pid, ep, i * 2, i * 2, 2, &base[i]), 0);
    int64_t d;
    for (int i = 2; i < 7; i++) { /* the last 5 */
        ck_assert_int_eq(send_batch(fd, pid, ep, i * 2, i * 2, 2, &d), 0);
        ck_assert_int_eq(d, base[i]);
    }
    /* the 6th-newest is outside the window: not lastSeq + 1 */
    ck_assert_int_eq(send_batch(fd, pid, ep, 2, 2, 2, &d), TB_E_OUT_OF_ORDER_SEQUENCE);
    ck_assert_int_eq(log_end(fd), 14);
    close(fd);
}
END_TEST

START_TEST(gap_stale_epoch_new_epoch)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 1);
    int64_t pid;
    int16_t ep;
    init_pid(fd, 0, &pid, &ep);
    int64_t d;
    ck_assert_int_eq(send_batch(fd, pid, 3, 0, 0, 2, &d), 0); /* epoch 3, first batch: any seq */
    ck_assert_int_eq(send_batch(fd, pid, 3, 5, 5, 1, &d), TB_E_OUT_OF_ORDER_SEQUENCE); /* gap */
    ck_assert_int_eq(send_batch(fd, pid, 2, 2, 2, 1, &d), TB_E_INVALID_PRODUCER_EPOCH);
    ck_assert_int_eq(send_batch(fd, pid, 4, 7, 2, 1, &d), TB_E_OUT_OF_ORDER_SEQUENCE); /* new
                                                                                 epoch: from 0 */
    ck_assert_int_eq(send_batch(fd, pid, 4, 0, 2, 1, &d), 0);
    ck_assert_int_eq(d, 2);
    ck_assert_int_eq(send_batch(fd, pid, 3, 2, 3, 1, &d), TB_E_INVALID_PRODUCER_EPOCH);
    /* a batch without a producer id is not checked */
    int64_t plain = tb_ck_produce_seq(fd, "t", 0, "plain", 0, 2, 0);
    ck_assert_int_eq(plain, 3);
    ck_assert_int_eq(log_end(fd), 5);
    /* a transactional batch without a transactional id */
    uint8_t buf[4096];
    long n = tb_producer_batch(buf, sizeof buf, "x", 0, 1, pid, 4, 1, true);
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_txn_produce(fd, 3, NULL, "t", 0, buf, (size_t)n, &pr), 0);
    ck_assert_int_eq(pr.error, TB_E_TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    ck_assert_int_eq(log_end(fd), 5);
    close(fd);
}
END_TEST

/* Restarts (SIGTERM or kill -9) between the original and the retry: still deduplicated, with
 * segments rolled inside the window (log.segment.bytes=1024, batches of ~250 bytes). */
static void restart_case(int sig)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 1);
    int64_t pid;
    int16_t ep;
    init_pid(fd, 1, &pid, &ep);
    int64_t base[8];
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(send_batch(fd, pid, ep, i * 10, i * 10, 10, &base[i]), 0);
    int64_t end = log_end(fd);
    close(fd);
    if (sig == SIGTERM) {
        tb_ck_stop_clean(&B);
    } else {
        ck_assert_int_eq(tb_broker_stop(&B, SIGKILL) & 0x7f, SIGKILL);
    }
    tb_ck_start(&B, (const char *const[]){"-o", "log.segment.bytes=1024", NULL});
    fd = tb_ck_connect(&B);
    int64_t d;
    for (int i = 3; i < 8; i++) {
        ck_assert_int_eq(send_batch(fd, pid, ep, i * 10, i * 10, 10, &d), 0);
        ck_assert_msg(d == base[i], "batch %d after restart: offset %lld, first written at %lld", i,
                      (long long)d, (long long)base[i]);
    }
    ck_assert_int_eq(log_end(fd), end);
    ck_assert_int_eq(send_batch(fd, pid, ep, 80, 80, 1, &d), 0);
    ck_assert_int_eq(d, end);
    ck_assert_int_eq(send_batch(fd, pid, ep, 90, 90, 1, &d), TB_E_OUT_OF_ORDER_SEQUENCE);
    /* a new producer id is not one handed out before the restart */
    int64_t pid2;
    init_pid(fd, 1, &pid2, &ep);
    ck_assert_int_ne(pid2, pid);
    ck_assert_int_gt(pid2, pid);
    close(fd);
}

START_TEST(window_survives_clean_restart) { restart_case(SIGTERM); }
END_TEST

START_TEST(window_survives_kill9) { restart_case(SIGKILL); }
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("idempotence");
    TCase *tc = tcase_create("idempotence");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, duplicate_answers_first_offset_and_appends_nothing);
    tcase_add_test(tc, five_batch_window_then_out_of_order);
    tcase_add_test(tc, gap_stale_epoch_new_epoch);
    tcase_add_test(tc, window_survives_clean_restart);
    tcase_add_test(tc, window_survives_kill9);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
