/*
 * test_txn_crash — kill -9 at every step of a transaction's end leaves it committed or
 * aborted, never half: a transaction over three partitions and one group's offsets
 * (AddPartitionsToTxn, Produce, AddOffsetsToTxn, TxnOffsetCommit) is ended (commit or abort)
 * on a broker started with test.txn.crash.step=N, which kills itself with SIGKILL right after
 * step N of ORDER OF AN END (br_txn.c: 1 prepared record, 2-4 the markers, 5 the group's
 * offsets, 6 the flush, 7 the complete record). The broker is started again (for some steps
 * first with a crash step that kills it again inside start-up recovery), and then every
 * partition must agree: read_committed sees the data and a COMMIT marker in all three, or an
 * ABORT marker and an aborted_transactions entry in all three; the LSO equals the HW (nothing
 * left open); the transactional offset is visible exactly when the transaction committed; and
 * the transactional id goes on (a new InitProducerId, a new transaction, a commit). A crash
 * before EndTxn (kill -9 with the transaction open) ends in an abort by the transaction
 * timeout.
 *
 * TXN_CRASH_ROUNDS (environment, default 1) repeats the whole loop: make test-txn-crash runs
 * it longer.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"
#include "../support/tb_offsets.h"
#include "../support/tb_txn.h"

enum { PARTS = 3, LAST_STEP = 7 };

static struct tb_broker B;

static void start_with(int crash_step)
{
    char kv[64];
    snprintf(kv, sizeof kv, "test.txn.crash.step=%d", crash_step);
    const char *extra[] = {"-o", kv, "-o",
                           "transaction.abort.timed.out.transaction.cleanup.interval.ms=200", NULL};
    tb_ck_start(&B, extra);
}

struct part_view {
    int data_batches, commits, aborts;
    int32_t n_aborted;
    int64_t hw, lso;
};

static void on_batch(void *arg, int64_t base, int32_t count, int64_t pid, int16_t attrs, int ctrl,
                     const uint8_t *batch, size_t len)
{
    (void)base;
    (void)count;
    (void)pid;
    (void)batch;
    (void)len;
    struct part_view *v = arg;
    if (attrs & KP_BATCH_ATTR_CONTROL) {
        v->commits += ctrl == 1;
        v->aborts += ctrl == 0;
    } else {
        v->data_batches++;
    }
}

static void view(int fd, int32_t part, struct part_view *v)
{
    struct tb_frame f;
    struct tb_txn_fetch out;
    ck_assert_int_eq(tb_txn_fetch(fd, 11, 1, 0, 0, "t", part, 0, &f, &out), 0);
    ck_assert_int_eq(out.error, 0);
    memset(v, 0, sizeof *v);
    v->hw = out.high_watermark;
    v->lso = out.last_stable_offset;
    v->n_aborted = out.n_aborted;
    if (out.records_len > 0)
        ck_assert_int_ge(tb_txn_batches(out.records, (size_t)out.records_len, on_batch, v), 0);
    tb_frame_free(&f);
}

static int64_t committed_offset(int fd)
{
    struct tb_ofs_part q = {.topic = "t", .partition = 0};
    struct tb_ofs_resp out;
    ck_assert_int_eq(tb_offset_fetch(fd, 4, "g", &q, 1, &out), 0);
    return out.p[0].offset;
}

/* One round: a transaction ended with the broker killed after step `step` (0: killed before
 * EndTxn), then recovery (first killed again at recovery step `again` when > 0). */
static void round_at(int step, bool commit, int again)
{
    memset(&B, 0, sizeof B);
    start_with(step > 0 ? step : 0);
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", PARTS);
    int64_t pid;
    int16_t ep, err;
    ck_assert_int_eq(
        tb_init_producer_id(fd, 1, "c", step > 0 ? 60000 : 1000, -1, -1, &err, &pid, &ep), 0);
    ck_assert_int_eq(err, 0);
    int32_t parts[PARTS] = {0, 1, 2};
    int16_t errs[PARTS];
    ck_assert_int_eq(tb_add_partitions(fd, 1, "c", pid, ep, "t", parts, PARTS, errs), 0);
    for (int i = 0; i < PARTS; i++) {
        ck_assert_int_eq(errs[i], 0);
        uint8_t buf[4096];
        long n = tb_producer_batch(buf, sizeof buf, "c", 0, 3, pid, ep, 0, true);
        struct tb_produce_resp pr;
        ck_assert_int_eq(tb_txn_produce(fd, 7, "c", "t", i, buf, (size_t)n, &pr), 0);
        ck_assert_int_eq(pr.error, 0);
    }
    ck_assert_int_eq(tb_add_offsets(fd, 1, "c", pid, ep, "g", &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(tb_txn_offset_commit(fd, 1, "c", "g", pid, ep, "t", 0, 3, &err), 0);
    ck_assert_int_eq(err, 0);
    if (step > 0) {
        int rc = tb_end_txn(fd, 1, "c", pid, ep, commit, &err);
        ck_assert_msg(rc < 0, "step %d: EndTxn answered (%d) though the broker should have died",
                      step, err);
        ck_assert_int_eq(tb_broker_stop(&B, SIGKILL) & 0x7f, SIGKILL);
        ck_assert(tb_log_contains(&B, "killing the broker"));
    } else {
        ck_assert_int_eq(tb_broker_stop(&B, SIGKILL) & 0x7f, SIGKILL);
    }
    close(fd);
    if (again > 0) {
        char kv[64];
        snprintf(kv, sizeof kv, "test.txn.crash.step=%d", again);
        const char *extra[] = {"-o", kv, NULL};
        int rc = tb_broker_start(&B, extra);
        if (rc == 0)
            (void)tb_broker_stop(&B, SIGKILL);
        ck_assert_msg(rc == -ECHILD, "recovery step %d: the broker did not die in recovery (%d)",
                      again, rc);
    }
    start_with(0);
    fd = tb_ck_connect(&B);
    bool want_commit = step > 0 && commit;
    /* a transaction left open (step 0) is aborted by its timeout (1 s) */
    struct part_view v[PARTS];
    for (int64_t end = tb_now_ms() + 10000;;) {
        view(fd, 0, &v[0]);
        if (v[0].lso == v[0].hw || tb_now_ms() > end)
            break;
        usleep(100 * 1000);
    }
    for (int i = 0; i < PARTS; i++) {
        view(fd, i, &v[i]);
        ck_assert_msg(v[i].lso == v[i].hw, "step %d %s: t/%d LSO %lld < HW %lld (left open)", step,
                      commit ? "commit" : "abort", i, (long long)v[i].lso, (long long)v[i].hw);
        /* a marker written before the crash is written again by recovery (it completes
         * nothing the second time, as a retried marker in Kafka): one kind, at least one */
        ck_assert_msg(
            v[i].data_batches == 1 && (want_commit ? v[i].commits >= 1 && v[i].aborts == 0
                                                   : v[i].aborts >= 1 && v[i].commits == 0),
            "step %d %s: t/%d has %d data batch(es), %d COMMIT and %d ABORT markers", step,
            commit ? "commit" : "abort", i, v[i].data_batches, v[i].commits, v[i].aborts);
        ck_assert_int_eq(v[i].n_aborted, want_commit ? 0 : 1);
    }
    ck_assert_msg(committed_offset(fd) == (want_commit ? 3 : -1),
                  "step %d %s: committed offset %lld", step, commit ? "commit" : "abort",
                  (long long)committed_offset(fd));
    /* the id goes on */
    int64_t pid2;
    int16_t ep2;
    ck_assert_int_eq(tb_init_producer_id(fd, 1, "c", 60000, -1, -1, &err, &pid2, &ep2), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(pid2, pid);
    ck_assert_int_gt(ep2, ep);
    ck_assert_int_eq(tb_add_partitions(fd, 1, "c", pid2, ep2, "t", parts, 1, errs), 0);
    ck_assert_int_eq(errs[0], 0);
    ck_assert_int_eq(tb_end_txn(fd, 1, "c", pid2, ep2, true, &err), 0);
    ck_assert_int_eq(err, 0);
    close(fd);
    tb_ck_finish(&B);
}

START_TEST(kill9_at_every_step_of_an_end)
{
    const char *env = getenv("TXN_CRASH_ROUNDS");
    int rounds = env ? atoi(env) : 1;
    if (rounds < 1)
        rounds = 1;
    for (int r = 0; r < rounds; r++) {
        round_at(0, true, 0);
        for (int step = 1; step <= LAST_STEP; step++) {
            round_at(step, true, 0);
            round_at(step, false, 0);
        }
        /* killed again inside start-up recovery (its own steps 1-3), then recovered */
        round_at(1, true, 2);
        round_at(3, false, 1);
        round_at(2, true, 3);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("txn_crash");
    TCase *tc = tcase_create("txn_crash");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, kill9_at_every_step_of_an_end);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
