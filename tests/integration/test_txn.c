/*
 * test_txn — transactions (KIP-98) against a real splicelogd, in raw protocol:
 * FindCoordinator key_type 1; the coordinator's state transitions as the answers show them
 * (EndTxn on Empty, AddPartitionsToTxn with an unknown partition, Ongoing, a retried EndTxn,
 * the wrong producer id, a bad timeout); transactional Produce only to partitions added to the
 * transaction; fencing by a second InitProducerId with the same transactional id (the old
 * epoch's Produce, EndTxn and AddPartitionsToTxn refused, PRODUCER_FENCED only from the
 * versions that know it); read_committed Fetch stopping at the LSO with aborted_transactions
 * and the control batches (their bytes checked), read_uncommitted seeing everything,
 * ListOffsets isolation 1; a parked read_committed fetch woken by EndTxn; TxnOffsetCommit
 * invisible to OffsetFetch until the commit, dropped on abort; the transaction timeout
 * fencing and aborting a hung transaction.
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
#include "../support/tb_group.h"
#include "../support/tb_kafka.h"
#include "../support/tb_offsets.h"
#include "../support/tb_txn.h"

static struct tb_broker B;

static void setup(void)
{
    memset(&B, 0, sizeof B);
    const char *extra[] = {"-o", "transaction.abort.timed.out.transaction.cleanup.interval.ms=200",
                           NULL};
    tb_ck_start(&B, extra);
}

static void teardown(void) { tb_ck_finish(&B); }

static void add_parts_ok(int fd, const char *id, int64_t pid, int16_t ep, const int32_t *parts,
                         int n)
{
    int16_t errs[16];
    ck_assert_int_eq(tb_add_partitions(fd, 1, id, pid, ep, "t", parts, n, errs), 0);
    for (int i = 0; i < n; i++)
        ck_assert_msg(errs[i] == 0, "AddPartitionsToTxn t/%d: error %d", parts[i], errs[i]);
}

static int16_t end_txn(int fd, int16_t v, const char *id, int64_t pid, int16_t ep, bool commit)
{
    int16_t err = -1;
    ck_assert_int_eq(tb_end_txn(fd, v, id, pid, ep, commit, &err), 0);
    return err;
}

/* Produces count transactional records (or plain ones when id is NULL and pid < 0). */
static int16_t produce(int fd, const char *id, int32_t part, int64_t pid, int16_t ep, int32_t seq,
                       int first, int count, int64_t *base)
{
    return tb_ck_produce_pid(fd, id, "t", part, "tx", pid, ep, seq, first, count, base);
}

static int64_t list_offset(int fd, int8_t iso, int32_t part)
{
    return tb_ck_log_end(fd, iso, "t", part);
}

START_TEST(find_coordinator_for_transactions)
{
    int fd = tb_ck_connect(&B);
    for (int16_t v = 1; v <= 2; v++) {
        struct tb_find_coordinator fc;
        ck_assert_int_eq(tb_find_coordinator(fd, v, 5, "tx", 1, &fc), 0);
        ck_assert_int_eq(fc.error, 0);
        ck_assert_int_eq(fc.node_id, 0);
        ck_assert_int_eq(fc.port, B.port);
    }
    close(fd);
}
END_TEST

START_TEST(state_transitions)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 3);
    int64_t pid;
    int16_t ep;
    int16_t err;
    ck_assert_int_eq(tb_init_producer_id(fd, 1, "tx", 0, -1, -1, &err, NULL, NULL), 0);
    ck_assert_int_eq(err, TB_E_INVALID_TRANSACTION_TIMEOUT);
    ck_assert_int_eq(tb_init_producer_id(fd, 1, "tx", 900001, -1, -1, &err, NULL, NULL), 0);
    ck_assert_int_eq(err, TB_E_INVALID_TRANSACTION_TIMEOUT);
    tb_ck_init_pid(fd, 1, "tx", 60000, &pid, &ep);
    ck_assert_int_eq(ep, 0);
    /* Empty: nothing to end */
    ck_assert_int_eq(end_txn(fd, 1, "tx", pid, ep, true), TB_E_INVALID_TXN_STATE);
    /* an unknown partition: named; the others not attempted; nothing changes */
    int16_t errs[3];
    int32_t p3[] = {0, 7, 1};
    ck_assert_int_eq(tb_add_partitions(fd, 0, "tx", pid, ep, "t", p3, 3, errs), 0);
    ck_assert_int_eq(errs[0], TB_E_OPERATION_NOT_ATTEMPTED);
    ck_assert_int_eq(errs[1], TB_E_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(errs[2], TB_E_OPERATION_NOT_ATTEMPTED);
    /* a transactional batch to a partition not in the transaction */
    ck_assert_int_eq(produce(fd, "tx", 0, pid, ep, 0, 0, 1, NULL), TB_E_INVALID_TXN_STATE);
    /* the wrong producer id */
    int32_t p01[] = {0, 1};
    ck_assert_int_eq(tb_add_partitions(fd, 1, "tx", pid + 1, ep, "t", p01, 2, errs), 0);
    ck_assert_int_eq(errs[0], TB_E_INVALID_PRODUCER_ID_MAPPING);
    /* Ongoing (flexible v3) */
    ck_assert_int_eq(tb_add_partitions(fd, 3, "tx", pid, ep, "t", p01, 2, errs), 0);
    ck_assert_int_eq(errs[0], 0);
    ck_assert_int_eq(errs[1], 0);
    int64_t base;
    ck_assert_int_eq(produce(fd, "tx", 0, pid, ep, 0, 0, 2, &base), 0);
    ck_assert_int_eq(base, 0);
    ck_assert_int_eq(produce(fd, "tx", 2, pid, ep, 0, 0, 1, NULL), TB_E_INVALID_TXN_STATE);
    /* a plain batch of the same producer inside its transaction */
    ck_assert_int_eq(produce(fd, NULL, 0, pid, ep, 2, 2, 1, NULL), TB_E_INVALID_TXN_STATE);
    /* commit; a retried commit is answered the same; an abort of it is not */
    ck_assert_int_eq(end_txn(fd, 3, "tx", pid, ep, true), 0);
    ck_assert_int_eq(end_txn(fd, 1, "tx", pid, ep, true), 0);
    ck_assert_int_eq(end_txn(fd, 1, "tx", pid, ep, false), TB_E_INVALID_TXN_STATE);
    /* the commit marker moved the LSO past the data: everything is stable */
    ck_assert_int_eq(list_offset(fd, 1, 0), 3);
    ck_assert_int_eq(list_offset(fd, 0, 0), 3);
    ck_assert_int_eq(list_offset(fd, 1, 1), 1); /* a marker in the untouched partition too */
    /* CompleteCommit -> Ongoing -> abort */
    add_parts_ok(fd, "tx", pid, ep, p01, 1);
    ck_assert_int_eq(produce(fd, "tx", 0, pid, ep, 2, 2, 1, &base), 0);
    ck_assert_int_eq(base, 3);
    ck_assert_int_eq(end_txn(fd, 0, "tx", pid, ep, false), 0);
    ck_assert_int_eq(end_txn(fd, 0, "tx", pid, ep, false), 0);
    ck_assert_int_eq(list_offset(fd, 1, 0), 5);
    /* an unknown transactional id */
    ck_assert_int_eq(end_txn(fd, 1, "nope", pid, ep, true), TB_E_INVALID_PRODUCER_ID_MAPPING);
    /* InitProducerId again from CompleteAbort: the epoch goes up */
    int64_t pid2;
    int16_t ep2;
    tb_ck_init_pid(fd, 4, "tx", 60000, &pid2, &ep2);
    ck_assert_int_eq(pid2, pid);
    ck_assert_int_eq(ep2, ep + 1);
    close(fd);
}
END_TEST

START_TEST(fencing_by_a_second_instance)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 1);
    int64_t pid, pid2;
    int16_t ep, ep2;
    tb_ck_init_pid(fd, 1, "fx", 60000, &pid, &ep);
    int32_t p0[] = {0};
    add_parts_ok(fd, "fx", pid, ep, p0, 1);
    ck_assert_int_eq(produce(fd, "fx", 0, pid, ep, 0, 0, 3, NULL), 0);
    ck_assert_int_eq(list_offset(fd, 1, 0), 0); /* open */
    /* the new instance: the open transaction is fenced and aborted first */
    int fd2 = tb_ck_connect(&B);
    tb_ck_init_pid(fd2, 3, "fx", 60000, &pid2, &ep2);
    ck_assert_int_eq(pid2, pid);
    ck_assert_int_gt(ep2, ep + 1);              /* the fence's bump, then the new instance's */
    ck_assert_int_eq(list_offset(fd, 1, 0), 4); /* aborted: 3 records + the marker */
    /* the zombie: refused everywhere, in the error its request version knows */
    ck_assert_int_eq(produce(fd, "fx", 0, pid, ep, 3, 3, 1, NULL), TB_E_INVALID_PRODUCER_EPOCH);
    ck_assert_int_eq(end_txn(fd, 0, "fx", pid, ep, true), TB_E_INVALID_PRODUCER_EPOCH);
    ck_assert_int_eq(end_txn(fd, 1, "fx", pid, ep, true), TB_E_INVALID_PRODUCER_EPOCH);
    ck_assert_int_eq(end_txn(fd, 2, "fx", pid, ep, true), TB_E_PRODUCER_FENCED);
    ck_assert_int_eq(end_txn(fd, 3, "fx", pid, ep, true), TB_E_PRODUCER_FENCED);
    int16_t errs[1];
    ck_assert_int_eq(tb_add_partitions(fd, 1, "fx", pid, ep, "t", p0, 1, errs), 0);
    ck_assert_int_eq(errs[0], TB_E_INVALID_PRODUCER_EPOCH);
    ck_assert_int_eq(tb_add_partitions(fd, 2, "fx", pid, ep, "t", p0, 1, errs), 0);
    ck_assert_int_eq(errs[0], TB_E_PRODUCER_FENCED);
    int16_t err;
    ck_assert_int_eq(tb_add_offsets(fd, 0, "fx", pid, ep, "g", &err), 0);
    ck_assert_int_eq(err, TB_E_INVALID_PRODUCER_EPOCH);
    /* KIP-360: the old instance asks for a bump naming its epoch: fenced */
    ck_assert_int_eq(tb_init_producer_id(fd, 3, "fx", 60000, pid, ep, &err, NULL, NULL), 0);
    ck_assert_int_eq(err, TB_E_INVALID_PRODUCER_EPOCH);
    ck_assert_int_eq(tb_init_producer_id(fd, 4, "fx", 60000, pid, ep, &err, NULL, NULL), 0);
    ck_assert_int_eq(err, TB_E_PRODUCER_FENCED);
    /* the new instance works */
    add_parts_ok(fd2, "fx", pid2, ep2, p0, 1);
    ck_assert_int_eq(produce(fd2, "fx", 0, pid2, ep2, 0, 0, 1, NULL), 0);
    ck_assert_int_eq(end_txn(fd2, 3, "fx", pid2, ep2, true), 0);
    ck_assert_int_eq(list_offset(fd, 1, 0), 6);
    close(fd);
    close(fd2);
}
END_TEST

struct seen {
    int n;
    int64_t base[64];
    int64_t pid[64];
    int16_t attrs[64];
    int ctrl[64];
    size_t len[64];
    uint8_t marker[64][78];
};

static void on_batch(void *arg, int64_t base, int32_t count, int64_t pid, int16_t attrs, int ctrl,
                     const uint8_t *batch, size_t len)
{
    (void)count;
    struct seen *s = arg;
    if (s->n >= 64)
        return;
    s->base[s->n] = base;
    s->pid[s->n] = pid;
    s->attrs[s->n] = attrs;
    s->ctrl[s->n] = ctrl;
    s->len[s->n] = len;
    if (len == 78)
        memcpy(s->marker[s->n], batch, 78);
    s->n++;
}

static void fetch_at(int fd, int16_t v, int8_t iso, int64_t off, struct tb_txn_fetch *out,
                     struct seen *s)
{
    struct tb_frame f;
    ck_assert_int_eq(tb_txn_fetch(fd, v, iso, 0, 0, "t", 0, off, &f, out), 0);
    memset(s, 0, sizeof *s);
    if (out->records_len > 0)
        ck_assert_int_ge(tb_txn_batches(out->records, (size_t)out->records_len, on_batch, s), 0);
    tb_frame_free(&f);
}

START_TEST(read_committed_stops_at_lso_with_aborted_list)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 1);
    int64_t pa, pb, pp;
    int16_t ea, eb, ep;
    tb_ck_init_pid(fd, 1, "A", 60000, &pa, &ea);
    tb_ck_init_pid(fd, 1, "B", 60000, &pb, &eb);
    int16_t err;
    ck_assert_int_eq(tb_init_producer_id(fd, 1, NULL, -1, -1, -1, &err, &pp, &ep), 0);
    int32_t p0[] = {0};
    add_parts_ok(fd, "A", pa, ea, p0, 1);
    ck_assert_int_eq(produce(fd, "A", 0, pa, ea, 0, 0, 3, NULL), 0);  /* 0-2, A open */
    ck_assert_int_eq(produce(fd, NULL, 0, pp, ep, 0, 3, 2, NULL), 0); /* 3-4, idempotent */
    for (int16_t v = 4; v <= 11; v += 7) {
        struct tb_txn_fetch out;
        struct seen s;
        fetch_at(fd, v, 1, 0, &out, &s);
        ck_assert_int_eq(out.error, 0);
        ck_assert_int_eq(out.high_watermark, 5);
        ck_assert_int_eq(out.last_stable_offset, 0);
        ck_assert_int_eq(out.records_len, 0); /* empty, not an error */
        fetch_at(fd, v, 0, 0, &out, &s);      /* read_uncommitted: everything */
        ck_assert_int_eq(out.last_stable_offset, 0);
        ck_assert_int_eq(s.n, 2);
        ck_assert_int_eq(out.n_aborted, 0);
    }
    ck_assert_int_eq(list_offset(fd, 1, 0), 0);
    ck_assert_int_eq(list_offset(fd, 0, 0), 5);
    /* B opens at 5, then A aborts (marker 7): LSO = B's first offset */
    add_parts_ok(fd, "B", pb, eb, p0, 1);
    ck_assert_int_eq(produce(fd, "B", 0, pb, eb, 0, 5, 2, NULL), 0); /* 5-6 */
    ck_assert_int_eq(end_txn(fd, 1, "A", pa, ea, false), 0);         /* marker 7 */
    struct tb_txn_fetch out;
    struct seen s;
    fetch_at(fd, 11, 1, 0, &out, &s);
    ck_assert_int_eq(out.high_watermark, 8);
    ck_assert_int_eq(out.last_stable_offset, 5);
    ck_assert_int_eq(s.n, 2); /* A's data and the idempotent batch; nothing from 5 on */
    ck_assert_int_eq(s.base[0], 0);
    ck_assert_int_eq(s.base[1], 3);
    ck_assert_int_eq(out.n_aborted, 1);
    ck_assert_int_eq(out.aborted[0].producer_id, pa);
    ck_assert_int_eq(out.aborted[0].first_offset, 0);
    /* B commits (marker 8): everything stable; the two markers as Kafka writes them */
    ck_assert_int_eq(end_txn(fd, 1, "B", pb, eb, true), 0);
    fetch_at(fd, 4, 1, 0, &out, &s);
    ck_assert_int_eq(out.last_stable_offset, 9);
    ck_assert_int_eq(out.high_watermark, 9);
    ck_assert_int_eq(s.n, 5);
    ck_assert_int_eq(out.n_aborted, 1);
    ck_assert_int_eq(s.base[3], 7);
    ck_assert_int_eq(s.ctrl[3], 0); /* ABORT */
    ck_assert_int_eq(s.pid[3], pa);
    ck_assert_int_eq(s.base[4], 8);
    ck_assert_int_eq(s.ctrl[4], 1); /* COMMIT */
    ck_assert_int_eq(s.pid[4], pb);
    for (int i = 3; i < 5; i++) {
        ck_assert_int_eq(s.len[i], 78);
        ck_assert_int_eq(s.attrs[i], 0x30); /* transactional | control */
        const uint8_t *m = s.marker[i];
        ck_assert_int_eq(m[8] << 24 | m[9] << 16 | m[10] << 8 | m[11], 66); /* batchLength */
        ck_assert_int_eq(m[16], 2);                                         /* magic */
        ck_assert_int_eq(m[53] & m[54] & m[55] & m[56], 0xff);              /* baseSequence -1 */
        ck_assert_int_eq(m[60], 1);                                         /* one record */
        static const uint8_t rec[] = {0x20, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00};
        ck_assert_int_eq(memcmp(m + 61, rec, sizeof rec), 0);
        ck_assert_int_eq(m[69], i == 3 ? 0 : 1);
        ck_assert_int_eq(m[70], 0x0c);
    }
    /* from past the aborted transaction's marker: no aborted entry */
    fetch_at(fd, 11, 1, 8, &out, &s);
    ck_assert_int_eq(out.n_aborted, 0);
    ck_assert_int_eq(s.n, 1);
    /* by time under read_committed: only what is below the LSO */
    ck_assert_int_eq(list_offset(fd, 1, 0), 9);
    close(fd);
}
END_TEST

START_TEST(parked_read_committed_fetch_woken_by_commit)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 1);
    int64_t pid;
    int16_t ep;
    tb_ck_init_pid(fd, 1, "W", 60000, &pid, &ep);
    int32_t p0[] = {0};
    add_parts_ok(fd, "W", pid, ep, p0, 1);
    ck_assert_int_eq(produce(fd, "W", 0, pid, ep, 0, 0, 4, NULL), 0);
    /* a consumer waits at the LSO (0) for up to 8 s */
    int c = tb_ck_connect(&B);
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 512, 1, 4, 77), 0);
    struct kp_wr *w = &r.wr;
    kp_wr_i32(w, -1);
    kp_wr_i32(w, 8000);
    kp_wr_i32(w, 1);
    kp_wr_i32(w, 1 << 20);
    kp_wr_i8(w, 1);
    kp_wr_array(w, 1);
    kp_wr_str(w, kp_str_of("t"));
    kp_wr_array(w, 1);
    kp_wr_i32(w, 0);
    kp_wr_i64(w, 0);
    kp_wr_i32(w, 1 << 20);
    ck_assert_int_eq(tb_req_send(c, &r), 0);
    tb_req_free(&r);
    ck_assert_int_eq(tb_readable(c, 500), 0); /* parked: the data is not stable */
    int64_t t0 = tb_now_ms();
    ck_assert_int_eq(end_txn(fd, 1, "W", pid, ep, true), 0);
    struct tb_frame f;
    ck_assert_int_eq(tb_recv_frame(c, &f, 1 << 20), 0);
    int64_t took = tb_now_ms() - t0;
    ck_assert_msg(took < 5000, "the commit did not wake the parked fetch (%lld ms)",
                  (long long)took);
    struct tb_fetch_resp fr;
    ck_assert_int_eq(tb_dec_fetch(&f, 4, &fr), 0);
    ck_assert_int_eq(fr.last_stable_offset, 5);
    ck_assert_int_gt(fr.records_len, 0);
    tb_frame_free(&f);
    close(c);
    close(fd);
}
END_TEST

static int64_t committed_offset(int fd, const char *group)
{
    struct tb_ofs_part q = {.topic = "t", .partition = 0};
    struct tb_ofs_resp out;
    ck_assert_int_eq(tb_offset_fetch(fd, 4, group, &q, 1, &out), 0);
    ck_assert_int_eq(out.n, 1);
    ck_assert_int_eq(out.p[0].error, 0);
    return out.p[0].offset;
}

START_TEST(txn_offset_commit_visible_only_on_commit)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 1);
    int64_t pid;
    int16_t ep, err;
    tb_ck_init_pid(fd, 1, "O", 60000, &pid, &ep);
    /* not added to the transaction yet */
    ck_assert_int_eq(tb_txn_offset_commit(fd, 0, "O", "g", pid, ep, "t", 0, 42, &err), 0);
    ck_assert_int_eq(err, TB_E_INVALID_TXN_STATE);
    ck_assert_int_eq(tb_add_offsets(fd, 1, "O", pid, ep, "g", &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(tb_txn_offset_commit(fd, 3, "O", "g", pid, ep, "t", 0, 42, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(tb_txn_offset_commit(fd, 1, "O", "g", pid, ep, "t", 9, 42, &err), 0);
    ck_assert_int_eq(err, TB_E_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(committed_offset(fd, "g"), -1); /* pending */
    ck_assert_int_eq(end_txn(fd, 1, "O", pid, ep, true), 0);
    ck_assert_int_eq(committed_offset(fd, "g"), 42);
    /* the next one aborts */
    ck_assert_int_eq(tb_add_offsets(fd, 3, "O", pid, ep, "g", &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(tb_txn_offset_commit(fd, 2, "O", "g", pid, ep, "t", 0, 50, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(end_txn(fd, 1, "O", pid, ep, false), 0);
    ck_assert_int_eq(committed_offset(fd, "g"), 42);
    /* both survive a kill -9 */
    close(fd);
    ck_assert_int_eq(tb_broker_stop(&B, SIGKILL) & 0x7f, SIGKILL);
    tb_ck_start(&B, NULL);
    fd = tb_ck_connect(&B);
    ck_assert_int_eq(committed_offset(fd, "g"), 42);
    close(fd);
}
END_TEST

START_TEST(timeout_fences_and_aborts)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 1);
    int64_t pid;
    int16_t ep;
    tb_ck_init_pid(fd, 1, "T", 1000, &pid, &ep);
    int32_t p0[] = {0};
    add_parts_ok(fd, "T", pid, ep, p0, 1);
    ck_assert_int_eq(produce(fd, "T", 0, pid, ep, 0, 0, 2, NULL), 0);
    ck_assert_int_eq(list_offset(fd, 1, 0), 0);
    int64_t lso = 0;
    for (int64_t end = tb_now_ms() + 8000; tb_now_ms() < end && lso == 0;) {
        usleep(100 * 1000);
        lso = list_offset(fd, 1, 0);
    }
    ck_assert_int_eq(lso, 3); /* aborted by the coordinator: 2 records + the ABORT marker */
    struct tb_txn_fetch out;
    struct seen s;
    fetch_at(fd, 4, 1, 0, &out, &s);
    ck_assert_int_eq(out.n_aborted, 1);
    ck_assert_int_eq(s.ctrl[1], 0);
    /* the producer was fenced: its commit is refused */
    ck_assert_int_eq(end_txn(fd, 1, "T", pid, ep, true), TB_E_INVALID_PRODUCER_EPOCH);
    ck_assert(tb_log_contains(&B, "timed out"));
    close(fd);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("txn");
    TCase *tc = tcase_create("txn");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, find_coordinator_for_transactions);
    tcase_add_test(tc, state_transitions);
    tcase_add_test(tc, fencing_by_a_second_instance);
    tcase_add_test(tc, read_committed_stops_at_lso_with_aborted_list);
    tcase_add_test(tc, parked_read_committed_fetch_woken_by_commit);
    tcase_add_test(tc, txn_offset_commit_visible_only_on_commit);
    tcase_add_test(tc, timeout_fences_and_aborts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
