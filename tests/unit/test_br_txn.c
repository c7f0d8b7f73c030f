/*
 * test_br_txn — the transaction coordinator with an injected clock and recording partitions,
 * no sockets: producer ids (unique across restarts; in a cluster from the blocks a source
 * reserves, COORDINATOR_NOT_AVAILABLE without one), InitProducerId's bumps, retries, fencing
 * and epoch exhaustion, every state transition with Kafka's answers, AddPartitionsToTxn's
 * per-partition errors, TxnOffsetCommit's checks, Produce verification, the timeout abort,
 * expiry, the memory bound, persistence across restarts, ends whose markers fail, the
 * start-up sweep. Then a crash loop against real storage: the process is killed after every
 * step of a commit and of an abort (ORDER OF AN END in br_txn.c), and each restart leaves the
 * transaction wholly committed or wholly aborted in every partition and group.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "br_log.h"
#include "br_txn.h"
#include "kp_api.h"
#include "kp_batch.h"
#include "st_offsets.h"
#include "st_txnlog.h"
#include "test_st_util.h"

static char dir[256];
static int64_t clk;
static int64_t fake_clock(void *arg)
{
    (void)arg;
    return clk;
}

/* ---- recording partitions ------------------------------------------------------------------- */

struct mark {
    char topic[16];
    int32_t partition;
    int64_t pid;
    int16_t epoch;
    bool commit;
};

static struct mark marks[256];
static int nmarks;
static char ends[1024];
static int fail_markers; /* marker() fails with -EIO while > 0 */

static int fake_marker(void *arg, const char *topic, size_t tlen, int32_t p, int64_t pid,
                       int16_t epoch, bool commit, int32_t ce, int64_t now)
{
    ck_assert_int_eq(ce, 0); /* a single node's coordinator epoch */
    (void)arg;
    (void)now;
    if (fail_markers > 0)
        return -EIO;
    ck_assert_int_lt(nmarks, 256);
    struct mark *m = &marks[nmarks++];
    snprintf(m->topic, sizeof m->topic, "%.*s", (int)tlen, topic);
    m->partition = p;
    m->pid = pid;
    m->epoch = epoch;
    m->commit = commit;
    return strncmp(topic, "gone", tlen) == 0 ? -ENOENT : 0;
}

static int fake_offsets_end(void *arg, const char *g, size_t glen, int64_t pid, int16_t epoch,
                            bool commit, int32_t ce, int64_t now)
{
    (void)arg;
    (void)now;
    snprintf(ends + strlen(ends), sizeof ends - strlen(ends), "%.*s:%lld:%d:%s ", (int)glen, g,
             (long long)pid, epoch, commit ? "commit" : "abort");
    return 0;
}

static bool fake_exists(void *arg, const char *t, size_t len, int32_t p)
{
    (void)arg;
    if (len == 1 && t[0] == 'a')
        return p >= 0 && p < 3;
    if (len == 1 && t[0] == 'b')
        return p == 0;
    return len == 4 && memcmp(t, "gone", 4) == 0 && p == 0;
}

static struct br_txn_ops fake_ops = {
    .marker = fake_marker,
    .offsets_end = fake_offsets_end,
    .partition_exists = fake_exists,
};

static struct st_txnlog *L;
static struct br_txns *C;

static struct br_txn_cfg cfg0(void)
{
    struct br_txn_cfg c;
    br_txn_cfg_default(&c);
    c.pid_block_size = 10;
    return c;
}

static void start(const struct br_txn_cfg *c)
{
    ck_assert_int_eq(st_txnlog_open(dir, NULL, &L), 0);
    ck_assert_int_eq(br_txn_new(c, &fake_ops, L, fake_clock, NULL, &C), 0);
}

static void stop(void)
{
    br_txn_free(C);
    st_txnlog_close(L);
    C = NULL;
    L = NULL;
}

static void restart(void)
{
    struct br_txn_cfg c = cfg0();
    stop();
    start(&c);
}

static void setup(void)
{
    br_log_set_level(BR_LOG_ERROR);
    tst_mkdtemp(dir, sizeof(dir));
    clk = 1700000000000;
    nmarks = 0;
    ends[0] = 0;
    fail_markers = 0;
    struct br_txn_cfg c = cfg0();
    start(&c);
}

static void teardown(void)
{
    stop();
    tst_rmrf(dir);
}

static struct kp_str S(const char *s) {
    return kp_str_of(s);
}

static struct br_txn_init_res
init(const char *id, int32_t timeout, int64_t pid, int16_t epoch)
{
    struct br_txn_init_req q = {.txn_id = id ? S(id) : KP_STR_NULL,
                                .timeout_ms = timeout,
                                .producer_id = pid,
                                .epoch = epoch};
    struct br_txn_init_res r;
    br_txn_init_producer(C, &q, &r);
    return r;
}

/* AddPartitionsToTxn of topic a partitions 0..n-1 (plus b-0 when with_b): the common error. */
static int16_t add(const char *id, int64_t pid, int16_t epoch, int n, bool with_b)
{
    static const int32_t ps[3] = {0, 1, 2}, zero[1] = {0};
    struct br_txn_topic t[2] = {{S("a"), n, ps}, {S("b"), 1, zero}};
    int16_t errs[4];
    br_txn_add_partitions(C, S(id), pid, epoch, t, with_b ? 2 : 1, errs);
    for (int i = 1; i < n + with_b; i++)
        ck_assert_int_eq(errs[i], errs[0]);
    return errs[0];
}

START_TEST(t_producer_ids)
{
    struct br_txn_init_res r1 = init(NULL, 0, -1, -1), r2 = init(NULL, 0, -1, -1);
    ck_assert_int_eq(r1.error_code, 0);
    ck_assert_int_eq(r1.epoch, 0);
    ck_assert(r2.producer_id == r1.producer_id + 1);
    int64_t top = r2.producer_id;
    for (int i = 0; i < 25; i++) /* across blocks of 10 */
        top = init(NULL, 0, -1, -1).producer_id;
    restart();
    /* a restart skips the rest of the block in use: never an id twice */
    struct br_txn_init_res r3 = init(NULL, 0, -1, -1);
    ck_assert_int_gt(r3.producer_id, top);
    ck_assert_int_le(r3.producer_id, top + 10);
    /* one of the pair -1: invalid */
    ck_assert_int_eq(init(NULL, 0, 5, -1).error_code, KP_ERR_INVALID_REQUEST);
}
END_TEST

/* ---- a cluster's block source (br_txn_ops.pid_block), played by the test ---------------- */

static int64_t zk_next;  /* the next id the "cluster" has not reserved */
static int64_t zk_floor; /* the floor of the last call */
static int zk_calls, zk_down;
static int64_t zk_give; /* >= 0: the next block starts here whatever zk_next says */

static int fake_pid_block(void *arg, int32_t n, int64_t floor, int64_t *first)
{
    (void)arg;
    zk_calls++;
    zk_floor = floor;
    if (zk_down)
        return -EAGAIN;
    if (zk_give >= 0) {
        *first = zk_give;
        zk_give = -1;
        return 0;
    }
    *first = zk_next > floor ? zk_next : floor;
    zk_next = *first + n;
    return 0;
}

static void start_clustered(void)
{
    stop();
    struct br_txn_cfg c = cfg0();
    struct br_txn_ops ops = fake_ops;
    ops.pid_block = fake_pid_block;
    ck_assert_int_eq(st_txnlog_open(dir, NULL, &L), 0);
    ck_assert_int_eq(br_txn_new(&c, &ops, L, fake_clock, NULL, &C), 0);
}

START_TEST(t_producer_ids_from_the_cluster)
{
    /* a single-node past: ids 0..9 handed out, the log records the block [0, 10) */
    ck_assert_int_eq(init(NULL, 0, -1, -1).producer_id, 0);
    zk_next = 0;
    zk_calls = zk_down = 0;
    zk_give = -1;
    start_clustered();
    /* the first id comes from a block the cluster reserved, at or above the log's end */
    struct br_txn_init_res r = init(NULL, 0, -1, -1);
    ck_assert_int_eq(r.error_code, 0);
    ck_assert_int_eq(zk_calls, 1);
    ck_assert_int_eq(zk_floor, 10);
    ck_assert_int_eq(r.producer_id, 10);
    /* another broker took ids meanwhile: the next block is wherever the cluster says */
    for (int i = 1; i < 10; i++)
        ck_assert_int_eq(init(NULL, 0, -1, -1).producer_id, 10 + i);
    zk_next = 500;
    r = init(NULL, 0, -1, -1);
    ck_assert_int_eq(zk_calls, 2);
    ck_assert_int_eq(r.producer_id, 500);
    /* the cluster unreachable: COORDINATOR_NOT_AVAILABLE, nothing handed out, for idempotent
     * and transactional producers alike */
    for (int i = 1; i < 10; i++)
        ck_assert_int_eq(init(NULL, 0, -1, -1).producer_id, 500 + i);
    zk_down = 1;
    ck_assert_int_eq(init(NULL, 0, -1, -1).error_code, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    r = init("tx", 60000, -1, -1);
    ck_assert_int_eq(r.error_code, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_eq(br_txn_state_of(C, S("tx"), NULL, NULL), -1);
    /* a block below the floor asked is refused, never used */
    zk_down = 0;
    zk_give = 3;
    ck_assert_int_eq(init(NULL, 0, -1, -1).error_code, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    r = init(NULL, 0, -1, -1);
    ck_assert_int_eq(r.error_code, 0);
    ck_assert_int_eq(r.producer_id, 510);
    /* a restart takes a new block from the cluster (its floor: the log's end, 520) */
    zk_next = 2000;
    start_clustered();
    int before = zk_calls;
    r = init(NULL, 0, -1, -1);
    ck_assert_int_eq(zk_calls, before + 1);
    ck_assert_int_eq(zk_floor, 520);
    ck_assert_int_eq(r.producer_id, 2000);
    /* and back to a single node: on from the log's end, no cluster asked */
    restart();
    ck_assert_int_eq(init(NULL, 0, -1, -1).producer_id, 2010);
    ck_assert_int_eq(zk_calls, before + 1);
}
END_TEST

START_TEST(t_init_bumps_and_fences)
{
    ck_assert_int_eq(init("", 60000, -1, -1).error_code, KP_ERR_INVALID_REQUEST);
    ck_assert_int_eq(init("x", 0, -1, -1).error_code, KP_ERR_INVALID_TRANSACTION_TIMEOUT);
    ck_assert_int_eq(init("x", 900001, -1, -1).error_code, KP_ERR_INVALID_TRANSACTION_TIMEOUT);
    struct br_txn_init_res r = init("x", 60000, -1, -1);
    ck_assert_int_eq(r.error_code, 0);
    ck_assert_int_eq(r.epoch, 0);
    int64_t pid = r.producer_id;
    /* a new instance: epoch + 1 */
    r = init("x", 60000, -1, -1);
    ck_assert(r.producer_id == pid && r.epoch == 1);
    /* KIP-360 bump by the current instance (v3+): epoch + 1, and its retry answered alike */
    r = init("x", 60000, pid, 1);
    ck_assert(r.error_code == 0 && r.epoch == 2);
    r = init("x", 60000, pid, 1);
    ck_assert(r.error_code == 0 && r.epoch == 2);
    /* an older epoch, or another producer id: fenced */
    ck_assert_int_eq(init("x", 60000, pid, 0).error_code, KP_ERR_PRODUCER_FENCED);
    ck_assert_int_eq(init("x", 60000, pid + 100, 2).error_code, KP_ERR_PRODUCER_FENCED);
    /* across a restart the last epoch is remembered: the retry still works */
    restart();
    r = init("x", 60000, pid, 1);
    ck_assert(r.error_code == 0 && r.epoch == 2);
    ck_assert_int_eq(br_txn_state_of(C, S("x"), NULL, NULL), 0); /* Empty */
}
END_TEST

START_TEST(t_epoch_exhaustion_rotates_the_producer_id)
{
    struct st_txnlog_rec rec = {.id = "old",
                                .id_len = 3,
                                .producer_id = 5,
                                .last_producer_id = -1,
                                .epoch = INT16_MAX - 1,
                                .last_epoch = -1,
                                .timeout_ms = 60000,
                                .state = 4,
                                .start_ms = -1,
                                .update_ms = clk};
    ck_assert_int_eq(st_txnlog_put(L, &rec), 0);
    restart();
    struct br_txn_init_res r = init("old", 60000, 5, INT16_MAX - 1);
    ck_assert_int_eq(r.error_code, 0);
    ck_assert_int_ne(r.producer_id, 5);
    ck_assert_int_eq(r.epoch, 0);
    int64_t np = r.producer_id;
    /* the retry of that rotation (the old id, the exhausted epoch) is answered the same */
    r = init("old", 60000, 5, INT16_MAX - 1);
    ck_assert_int_eq(r.error_code, 0);
    ck_assert(r.producer_id == np && r.epoch == 0);
    /* and survives a restart (the last id and epoch are in the record) */
    restart();
    r = init("old", 60000, 5, INT16_MAX - 1);
    ck_assert(r.error_code == 0 && r.producer_id == np && r.epoch == 0);
    ck_assert_int_eq(init("old", 60000, 5, 7).error_code, KP_ERR_PRODUCER_FENCED);
}
END_TEST

static int counting_write(void *arg)
{
    ++*(int *)arg;
    return 0;
}

START_TEST(t_transitions)
{
    struct br_txn_init_res r = init("t", 60000, -1, -1);
    int64_t pid = r.producer_id;
    int16_t ep = r.epoch;
    /* EndTxn from Empty */
    ck_assert_int_eq(br_txn_end(C, S("t"), pid, ep, true), KP_ERR_INVALID_TXN_STATE);
    /* AddPartitions: unknown ones named, the others not attempted */
    static const int32_t ps[2] = {0, 7};
    struct br_txn_topic bad[1] = {{S("a"), 2, ps}};
    int16_t errs[2];
    br_txn_add_partitions(C, S("t"), pid, ep, bad, 1, errs);
    ck_assert_int_eq(errs[0], KP_ERR_OPERATION_NOT_ATTEMPTED);
    ck_assert_int_eq(errs[1], KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(add("nope", pid, ep, 1, false), KP_ERR_INVALID_PRODUCER_ID_MAPPING);
    ck_assert_int_eq(add("t", pid + 1, ep, 1, false), KP_ERR_INVALID_PRODUCER_ID_MAPPING);
    ck_assert_int_eq(add("t", pid, (int16_t)(ep + 1), 1, false), KP_ERR_PRODUCER_FENCED);
    ck_assert_int_eq(add("", pid, ep, 1, false), KP_ERR_INVALID_REQUEST);
    ck_assert_int_eq(add("t", pid, ep, 2, false), 0);
    ck_assert_int_eq(br_txn_state_of(C, S("t"), NULL, NULL), 1); /* Ongoing */
    ck_assert_int_eq(add("t", pid, ep, 1, false), 0);            /* a subset: no write */
    ck_assert_int_eq(add("t", pid, ep, 3, true), 0);             /* the union */
    /* AddOffsets, then TxnOffsetCommit */
    int wrote = 0;
    ck_assert_int_eq(br_txn_add_offsets(C, S("t"), pid, ep, S("")), KP_ERR_INVALID_GROUP_ID);
    ck_assert_int_eq(br_txn_add_offsets(C, S("t"), pid, ep, S("grp")), 0);
    restart(); /* Ongoing survives with its partitions and groups */
    ck_assert_int_eq(br_txn_state_of(C, S("t"), NULL, NULL), 1);
    /* EndTxn with a wrong epoch or id */
    ck_assert_int_eq(br_txn_end(C, S("t"), pid, (int16_t)(ep + 1), true), KP_ERR_PRODUCER_FENCED);
    ck_assert_int_eq(br_txn_end(C, S("t"), pid + 1, ep, true), KP_ERR_INVALID_PRODUCER_ID_MAPPING);
    ck_assert_int_eq(br_txn_end(C, S("zz"), pid, ep, true), KP_ERR_INVALID_PRODUCER_ID_MAPPING);
    /* commit: a marker into each of a-0, a-1, a-2, b-0, the group's offsets ended */
    nmarks = 0;
    ck_assert_int_eq(br_txn_end(C, S("t"), pid, ep, true), 0);
    ck_assert_int_eq(nmarks, 4);
    for (int i = 0; i < nmarks; i++)
        ck_assert(marks[i].commit && marks[i].pid == pid && marks[i].epoch == ep);
    char want[64];
    snprintf(want, sizeof want, "grp:%lld:%d:commit ", (long long)pid, ep);
    ck_assert_str_eq(ends, want);
    ck_assert_int_eq(br_txn_state_of(C, S("t"), NULL, NULL), 4); /* CompleteCommit */
    /* a retried EndTxn is answered alike and writes nothing; the other result is refused */
    ck_assert_int_eq(br_txn_end(C, S("t"), pid, ep, true), 0);
    ck_assert_int_eq(br_txn_end(C, S("t"), pid, ep, false), KP_ERR_INVALID_TXN_STATE);
    ck_assert_int_eq(nmarks, 4);
    /* the next transaction, aborted; TxnOffsetCommit needs the group added */
    ck_assert_int_eq(add("t", pid, ep, 1, false), 0);
    ck_assert_int_eq(br_txn_offset_commit(C, S("t"), pid, ep, S("grp"), counting_write, &wrote),
                     KP_ERR_INVALID_TXN_STATE); /* this transaction has no group yet */
    ck_assert_int_eq(br_txn_add_offsets(C, S("t"), pid, ep, S("grp")), 0);
    ck_assert_int_eq(
        br_txn_offset_commit(C, S("t"), pid, (int16_t)(ep + 1), S("grp"), counting_write, &wrote),
        KP_ERR_INVALID_PRODUCER_EPOCH);
    ck_assert_int_eq(br_txn_offset_commit(C, S("t"), pid + 9, ep, S("grp"), counting_write, &wrote),
                     KP_ERR_INVALID_PRODUCER_ID_MAPPING);
    ck_assert_int_eq(br_txn_end(C, S("t"), pid, ep, false), 0);
    ck_assert_int_eq(br_txn_state_of(C, S("t"), NULL, NULL), 5); /* CompleteAbort */
    ck_assert_int_eq(nmarks, 5);
    ck_assert(!marks[4].commit);
    ck_assert_int_eq(br_txn_end(C, S("t"), pid, ep, false), 0);
    ck_assert_int_eq(br_txn_end(C, S("t"), pid, ep, true), KP_ERR_INVALID_TXN_STATE);
    ck_assert_int_eq(wrote, 0);
}
END_TEST

START_TEST(t_offset_commit_runs_the_write_only_when_open)
{
    struct br_txn_init_res r = init("o", 60000, -1, -1);
    int wrote = 0;
    ck_assert_int_eq(
        br_txn_offset_commit(C, S("o"), r.producer_id, r.epoch, S("g"), counting_write, &wrote),
        KP_ERR_INVALID_TXN_STATE);
    ck_assert_int_eq(br_txn_add_offsets(C, S("o"), r.producer_id, r.epoch, S("g")), 0);
    ck_assert_int_eq(
        br_txn_offset_commit(C, S("o"), r.producer_id, r.epoch, S("g"), counting_write, &wrote), 0);
    ck_assert_int_eq(
        br_txn_offset_commit(C, S("o"), r.producer_id, r.epoch, S("h"), counting_write, &wrote),
        KP_ERR_INVALID_TXN_STATE);
    ck_assert_int_eq(wrote, 1);
    ck_assert_int_eq(br_txn_end(C, S("o"), r.producer_id, r.epoch, true), 0);
    ck_assert_int_eq(
        br_txn_offset_commit(C, S("o"), r.producer_id, r.epoch, S("g"), counting_write, &wrote),
        KP_ERR_INVALID_TXN_STATE);
    ck_assert_int_eq(wrote, 1);
}
END_TEST

START_TEST(t_new_instance_fences_an_open_transaction)
{
    struct br_txn_init_res r = init("f", 60000, -1, -1);
    int64_t pid = r.producer_id;
    ck_assert_int_eq(add("f", pid, r.epoch, 2, false), 0);
    nmarks = 0;
    struct br_txn_init_res r2 = init("f", 60000, -1, -1);
    ck_assert_int_eq(r2.error_code, 0);
    ck_assert(r2.producer_id == pid && r2.epoch == r.epoch + 2);
    /* the open transaction was aborted with the fencing epoch */
    ck_assert_int_eq(nmarks, 2);
    ck_assert(!marks[0].commit && marks[0].epoch == r.epoch + 1);
    /* the zombie is fenced everywhere */
    ck_assert_int_eq(add("f", pid, r.epoch, 1, false), KP_ERR_PRODUCER_FENCED);
    ck_assert_int_eq(br_txn_end(C, S("f"), pid, r.epoch, true), KP_ERR_PRODUCER_FENCED);
    ck_assert_int_eq(init("f", 60000, pid, r.epoch).error_code, KP_ERR_PRODUCER_FENCED);
    /* a bump (v3) by a producer in an open transaction: fenced and aborted, then Kafka's
     * answer to the retry: its epoch is no longer current nor the last one */
    ck_assert_int_eq(add("f", pid, r2.epoch, 1, false), 0);
    ck_assert_int_eq(init("f", 60000, pid, r2.epoch).error_code, KP_ERR_PRODUCER_FENCED);
    ck_assert_int_eq(br_txn_state_of(C, S("f"), NULL, NULL), 5);
}
END_TEST

START_TEST(t_timeout_aborts_and_fences)
{
    struct br_txn_cfg c = cfg0();
    c.abort_check_ms = 1000;
    stop();
    start(&c);
    struct br_txn_init_res r = init("slow", 5000, -1, -1);
    ck_assert_int_eq(add("slow", r.producer_id, r.epoch, 1, false), 0);
    nmarks = 0;
    clk += 4000;
    br_txn_tick(C);
    ck_assert_int_eq(nmarks, 0);
    clk += 2000;
    br_txn_tick(C);
    ck_assert_int_eq(nmarks, 1);
    ck_assert(!marks[0].commit && marks[0].epoch == r.epoch + 1);
    struct br_txn_stats st;
    br_txn_stats(C, &st);
    ck_assert_int_eq(st.timed_out, 1);
    ck_assert_int_eq(st.ongoing, 0);
    ck_assert_int_eq(br_txn_end(C, S("slow"), r.producer_id, r.epoch, true),
                     KP_ERR_PRODUCER_FENCED);
}
END_TEST

START_TEST(t_expiry)
{
    struct br_txn_cfg c = cfg0();
    c.id_expiration_ms = 100000;
    c.expire_check_ms = 1000;
    stop();
    start(&c);
    struct br_txn_init_res r = init("e", 60000, -1, -1);
    struct br_txn_init_res r2 = init("open", 600000, -1, -1);
    ck_assert_int_eq(add("open", r2.producer_id, r2.epoch, 1, false), 0);
    clk += 100000;
    br_txn_tick(C);
    ck_assert_int_eq(br_txn_state_of(C, S("e"), NULL, NULL), -1);
    ck_assert_int_eq(br_txn_state_of(C, S("open"), NULL, NULL), 1); /* never while open */
    struct br_txn_stats st;
    br_txn_stats(C, &st);
    ck_assert_int_eq(st.expired, 1);
    stop();
    start(&c);
    ck_assert_int_eq(br_txn_state_of(C, S("e"), NULL, NULL), -1); /* the tombstone holds */
    /* a new id of the same name starts afresh */
    struct br_txn_init_res r3 = init("e", 60000, -1, -1);
    ck_assert_int_eq(r3.epoch, 0);
    ck_assert_int_ne(r3.producer_id, r.producer_id);
}
END_TEST

START_TEST(t_memory_bound)
{
    struct br_txn_cfg c = cfg0();
    c.max_memory_bytes = 2000;
    stop();
    start(&c);
    int ok = 0;
    char id[32];
    struct br_txn_init_res r = {0};
    for (int i = 0; i < 100 && r.error_code == 0; i++) {
        snprintf(id, sizeof id, "id-%d", i);
        r = init(id, 60000, -1, -1);
        ok += r.error_code == 0;
    }
    ck_assert_int_eq(r.error_code, KP_ERR_COORDINATOR_NOT_AVAILABLE);
    ck_assert_int_gt(ok, 1);
    /* known ids go on */
    ck_assert_int_eq(init("id-0", 60000, -1, -1).error_code, 0);
}
END_TEST

static int appends;
static int count_append(void *arg)
{
    (void)arg;
    appends++;
    return 0;
}

START_TEST(t_verify)
{
    struct br_txn_init_res r = init("v", 60000, -1, -1);
    appends = 0;
    ck_assert_int_eq(br_txn_verify(C, 12345, 0, S("a"), 0, count_append, NULL),
                     KP_ERR_INVALID_TXN_STATE);
    ck_assert_int_eq(br_txn_verify(C, r.producer_id, r.epoch, S("a"), 0, count_append, NULL),
                     KP_ERR_INVALID_TXN_STATE); /* not in a transaction */
    ck_assert_int_eq(add("v", r.producer_id, r.epoch, 1, false), 0);
    ck_assert_int_eq(br_txn_verify(C, r.producer_id, r.epoch, S("a"), 1, count_append, NULL),
                     KP_ERR_INVALID_TXN_STATE); /* a partition not added */
    ck_assert_int_eq(
        br_txn_verify(C, r.producer_id, (int16_t)(r.epoch + 1), S("a"), 0, count_append, NULL),
        KP_ERR_INVALID_PRODUCER_EPOCH);
    ck_assert_int_eq(br_txn_verify(C, r.producer_id, r.epoch, S("a"), 0, count_append, NULL), 0);
    ck_assert_int_eq(appends, 1);
    /* an end whose markers fail stays prepared: answered, retried, and verification waits */
    fail_markers = 1;
    ck_assert_int_eq(br_txn_end(C, S("v"), r.producer_id, r.epoch, true), 0);
    ck_assert_int_eq(br_txn_state_of(C, S("v"), NULL, NULL), 2);
    ck_assert_int_eq(br_txn_verify(C, r.producer_id, r.epoch, S("a"), 0, count_append, NULL),
                     KP_ERR_NOT_ENOUGH_REPLICAS);
    ck_assert_int_eq(br_txn_end(C, S("v"), r.producer_id, r.epoch, true),
                     KP_ERR_CONCURRENT_TRANSACTIONS);
    ck_assert_int_eq(init("v", 60000, -1, -1).error_code, KP_ERR_CONCURRENT_TRANSACTIONS);
    ck_assert_int_eq(appends, 1);
    /* a restart finds it prepared; recovery finishes it */
    restart();
    ck_assert_int_eq(br_txn_state_of(C, S("v"), NULL, NULL), 2);
    fail_markers = 0;
    nmarks = 0;
    ck_assert_int_eq(br_txn_recover(C), 1);
    ck_assert_int_eq(nmarks, 1);
    ck_assert(marks[0].commit);
    ck_assert_int_eq(br_txn_state_of(C, S("v"), NULL, NULL), 4);
    /* and the tick would have: */
    struct br_txn_init_res r2 = init("w", 60000, -1, -1);
    ck_assert_int_eq(add("w", r2.producer_id, r2.epoch, 1, false), 0);
    fail_markers = 1;
    ck_assert_int_eq(br_txn_end(C, S("w"), r2.producer_id, r2.epoch, false), 0);
    fail_markers = 0;
    clk += 20000;
    br_txn_tick(C);
    ck_assert_int_eq(br_txn_state_of(C, S("w"), NULL, NULL), 5);
}
END_TEST

START_TEST(t_gone_partition_is_skipped)
{
    struct br_txn_init_res r = init("g", 60000, -1, -1);
    static const int32_t zero[1] = {0};
    struct br_txn_topic t[1] = {{S("gone"), 1, zero}};
    int16_t e;
    br_txn_add_partitions(C, S("g"), r.producer_id, r.epoch, t, 1, &e);
    ck_assert_int_eq(e, 0);
    ck_assert_int_eq(br_txn_end(C, S("g"), r.producer_id, r.epoch, true), 0);
    ck_assert_int_eq(br_txn_state_of(C, S("g"), NULL, NULL), 4);
}
END_TEST

START_TEST(t_sweep)
{
    struct br_txn_init_res r = init("s", 60000, -1, -1);
    ck_assert_int_eq(add("s", r.producer_id, r.epoch, 1, false), 0);
    struct st_open_txn open[3] = {
        {.producer_id = r.producer_id, .epoch = r.epoch, .first_offset = 5}, /* Ongoing: kept */
        {.producer_id = 999, .epoch = 3, .first_offset = 9},                 /* unknown: abort */
    };
    nmarks = 0;
    ck_assert_int_eq(br_txn_sweep(C, "a", 1, 0, open, 2), 1);
    ck_assert_int_eq(nmarks, 1);
    ck_assert(marks[0].pid == 999 && marks[0].epoch == 3 && !marks[0].commit);
    /* its transaction committed with this partition: the commit marker */
    ck_assert_int_eq(br_txn_end(C, S("s"), r.producer_id, r.epoch, true), 0);
    nmarks = 0;
    ck_assert_int_eq(br_txn_sweep(C, "a", 1, 0, open, 1), 1);
    ck_assert(marks[0].commit && marks[0].pid == r.producer_id);
    /* ... but not in a partition its transaction did not hold: abort */
    nmarks = 0;
    ck_assert_int_eq(br_txn_sweep(C, "a", 1, 2, open, 1), 1);
    ck_assert(!marks[0].commit);
}
END_TEST

/* ---- the crash loop, against real storage ---------------------------------------------------- */

struct real {
    struct st_store *store;
    struct st_offsets *ofs;
    int kill_at; /* step at which the process dies; 0 never */
};

static int real_marker(void *arg, const char *topic, size_t tlen, int32_t p, int64_t pid,
                       int16_t epoch, bool commit, int32_t ce, int64_t now)
{
    struct real *r = arg;
    struct st_log *log = st_log_get(r->store, topic, tlen, p);
    if (!log)
        return -ENOENT;
    int err = st_log_append_marker(log, pid, epoch, commit, 0, now, NULL);
    st_log_put(log);
    return err;
}

static int real_offsets_end(void *arg, const char *g, size_t glen, int64_t pid, int16_t epoch,
                            bool commit, int32_t ce, int64_t now)
{
    struct real *r = arg;
    return st_offsets_txn_end(r->ofs, g, glen, pid, epoch, commit, now);
}

static bool real_exists(void *arg, const char *t, size_t len, int32_t p)
{
    struct real *r = arg;
    int32_t n = st_topic_partitions(r->store, t, len);
    return p >= 0 && p < n;
}

static void real_step(void *arg, int n)
{
    struct real *r = arg;
    if (r->kill_at == n)
        raise(SIGKILL); /* as kill -9: what reached the page cache stays */
}

static void real_open(struct real *r, int kill_at)
{
    r->kill_at = kill_at;
    struct st_log_config lc;
    st_log_config_default(&lc);
    lc.producer_id_expiration_ms = -1;
    ck_assert_int_eq(st_store_open(dir, &lc, &r->store), 0);
    if (st_topic_partitions(r->store, "d", 1) < 0)
        ck_assert_int_eq(st_topic_create(r->store, "d", 3, NULL), 0);
    ck_assert_int_eq(st_offsets_open(dir, NULL, &r->ofs), 0);
    ck_assert_int_eq(st_txnlog_open(dir, NULL, &L), 0);
    struct br_txn_ops ops = {.marker = real_marker,
                             .offsets_end = real_offsets_end,
                             .partition_exists = real_exists,
                             .step = real_step,
                             .arg = r};
    struct br_txn_cfg c = cfg0();
    ck_assert_int_eq(br_txn_new(&c, &ops, L, fake_clock, NULL, &C), 0);
}

static void real_close(struct real *r)
{
    br_txn_free(C);
    st_txnlog_close(L);
    st_offsets_close(r->ofs);
    st_store_close(r->store);
    C = NULL;
    L = NULL;
}

/* Writes one transactional batch of pid into d-p (as Produce does after verification). */
static int produce_args[3];
static struct st_store *produce_store;
static int produce_one(void *arg)
{
    int *a = arg; /* partition, pid, epoch */
    struct st_log *log = st_log_get(produce_store, "d", 1, a[0]);
    uint8_t buf[512];
    size_t n = tst_batch(buf, sizeof buf, 2, 8, clk, (uint64_t)a[0]);
    kp_batch_set_producer(buf, n, a[1], (int16_t)a[2], 0, true);
    struct iovec iv = {buf, n};
    struct st_append_opts o = {.txn_verified = true};
    struct st_append_result res;
    int err = st_log_append_opts(log, &iv, 1, clk, &o, &res);
    st_log_put(log);
    return err;
}

/*
 * One life of the process: a transactional producer writes to d-0, d-1, d-2 and commits
 * offsets of group "cg", then ends (commit or abort); with kill_at it dies at that step.
 */
static void one_life(bool commit, int kill_at)
{
    struct real r;
    real_open(&r, kill_at);
    produce_store = r.store;
    struct br_txn_init_res ir = init("crash", 60000, -1, -1);
    ck_assert_int_eq(ir.error_code, 0);
    static const int32_t ps[3] = {0, 1, 2};
    struct br_txn_topic t[1] = {{S("d"), 3, ps}};
    int16_t errs[3];
    br_txn_add_partitions(C, S("crash"), ir.producer_id, ir.epoch, t, 1, errs);
    ck_assert_int_eq(errs[0], 0);
    for (int p = 0; p < 3; p++) {
        produce_args[0] = p;
        produce_args[1] = (int)ir.producer_id;
        produce_args[2] = ir.epoch;
        ck_assert_int_eq(
            br_txn_verify(C, ir.producer_id, ir.epoch, S("d"), p, produce_one, produce_args), 0);
    }
    ck_assert_int_eq(br_txn_add_offsets(C, S("crash"), ir.producer_id, ir.epoch, S("cg")), 0);
    struct st_offset_commit oc = {.topic = "d", .topic_len = 1, .partition = 0, .offset = 42};
    int res;
    ck_assert_int_eq(
        st_offsets_txn_commit_batch(r.ofs, "cg", 2, ir.producer_id, ir.epoch, &oc, 1, clk, &res),
        0);
    ck_assert_int_eq(br_txn_end(C, S("crash"), ir.producer_id, ir.epoch, commit), 0);
    real_close(&r);
}

/* After a restart and recovery: every partition has the transaction decided one way, the
 * offsets agree, nothing is left open. Returns 1 committed, 0 aborted, -1 never prepared. */
static int check_after(void)
{
    struct real r;
    real_open(&r, 0);
    int rec = br_txn_recover(C);
    ck_assert_int_ge(rec, 0);
    int state = br_txn_state_of(C, S("crash"), NULL, NULL);
    int verdict = state == 4 ? 1 : state == 5 ? 0 : -1;
    if (verdict < 0) {
        /* died before the prepare record: still open; its timeout aborts it */
        ck_assert_int_eq(state, 1);
        clk += 120000;
        br_txn_tick(C);
        clk -= 120000;
        ck_assert_int_eq(br_txn_state_of(C, S("crash"), NULL, NULL), 5);
    }
    for (int p = 0; p < 3; p++) {
        struct st_log *log = st_log_get(r.store, "d", 1, p);
        ck_assert_int_eq(st_log_lso(log), st_log_end_offset(log)); /* nothing open */
        struct st_aborted ab[4];
        int n = -1;
        ck_assert_int_eq(st_log_aborted_txns(log, 0, INT64_MAX, ab, 4, &n), 0);
        ck_assert_int_eq(n, verdict == 1 ? 0 : 1);
        st_log_put(log);
    }
    int64_t off = -1;
    int g = st_offsets_get(r.ofs, "cg", 2, "d", 1, 0, &off, NULL, 0, NULL);
    if (verdict == 1)
        ck_assert(g == 0 && off == 42);
    else
        ck_assert_int_eq(g, -ENOENT);
    real_close(&r);
    return verdict;
}

static void crash_loop(bool commit)
{
    stop(); /* the fixture's coordinator: each life opens its own */
    /* steps: prepare, 3 markers, the group's offsets, the complete record: 6 */
    int seen_prepared = 0, seen_never = 0;
    for (int kill_at = 1; kill_at <= 7; kill_at++) {
        tst_rmrf(dir);
        ck_assert_int_eq(mkdir(dir, 0700), 0);
        pid_t child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
            one_life(commit, kill_at);
            _exit(0);
        }
        int st;
        ck_assert_int_eq(waitpid(child, &st, 0), child);
        if (kill_at <= 6)
            ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "step %d: no kill", kill_at);
        else
            ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        int v = check_after();
        /* once the prepare record is written the decision stands */
        ck_assert_int_eq(v, commit ? 1 : 0);
        seen_prepared += v >= 0;
        seen_never += v < 0;
    }
    ck_assert_int_eq(seen_prepared, 7);
    (void)seen_never;
}

START_TEST(t_crash_loop_commit) { crash_loop(true); }
END_TEST

START_TEST(t_crash_loop_abort) { crash_loop(false); }
END_TEST

START_TEST(t_crash_before_prepare_aborts_by_timeout)
{
    stop();
    tst_rmrf(dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    /* killed after its batches and before EndTxn: open at restart, aborted by the timeout */
    int st;
    pid_t child = fork();
    if (child == 0) {
        struct real r;
        real_open(&r, 0);
        produce_store = r.store;
        struct br_txn_init_res ir = init("crash", 60000, -1, -1);
        static const int32_t ps[3] = {0, 1, 2};
        struct br_txn_topic t[1] = {{S("d"), 3, ps}};
        int16_t errs[3];
        br_txn_add_partitions(C, S("crash"), ir.producer_id, ir.epoch, t, 1, errs);
        for (int p = 0; p < 3; p++) {
            produce_args[0] = p;
            produce_args[1] = (int)ir.producer_id;
            produce_args[2] = ir.epoch;
            br_txn_verify(C, ir.producer_id, ir.epoch, S("d"), p, produce_one, produce_args);
        }
        raise(SIGKILL);
    }
    waitpid(child, &st, 0);
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_eq(check_after(), -1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_txn");
    TCase *tc = tcase_create("txn");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_producer_ids);
    tcase_add_test(tc, t_producer_ids_from_the_cluster);
    tcase_add_test(tc, t_init_bumps_and_fences);
    tcase_add_test(tc, t_epoch_exhaustion_rotates_the_producer_id);
    tcase_add_test(tc, t_transitions);
    tcase_add_test(tc, t_offset_commit_runs_the_write_only_when_open);
    tcase_add_test(tc, t_new_instance_fences_an_open_transaction);
    tcase_add_test(tc, t_timeout_aborts_and_fences);
    tcase_add_test(tc, t_expiry);
    tcase_add_test(tc, t_memory_bound);
    tcase_add_test(tc, t_verify);
    tcase_add_test(tc, t_gone_partition_is_skipped);
    tcase_add_test(tc, t_sweep);
    suite_add_tcase(s, tc);
    TCase *cr = tcase_create("crash");
    tcase_add_checked_fixture(cr, setup, teardown);
    tcase_set_timeout(cr, 300);
    tcase_add_test(cr, t_crash_loop_commit);
    tcase_add_test(cr, t_crash_loop_abort);
    tcase_add_test(cr, t_crash_before_prepare_aborts_by_timeout);
    suite_add_tcase(s, cr);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
