/*
 * test_br_txn_clu — the transaction coordinator's cluster side without a cluster (issue 18 M4):
 * - br_txtopic: a state record as Kafka's TransactionLogKey v0 / TransactionLogValue v1 in a
 *   one-record batch (the key's exact bytes; every field, the splicelog tags, a tombstone) read
 *   back; a value v0 as Kafka 2.x-3.x writes it read too; short input refused.
 * - br_txn with the cluster hooks played by the test: every request asks serves() first
 *   (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS answered as such), each state change goes
 *   to state_write() (not to st_txnlog) and its errors map as Kafka's coordinator maps a failed
 *   append (memory unchanged); the timer leaves ids it does not serve alone; a new coordinator
 *   loads the records a first one wrote (br_txn_load_rec), finishes the transaction left
 *   PrepareCommit (br_txn_recover_matching: its markers, then CompleteCommit written), a
 *   tombstone forgets an id, and br_txn_drop forgets a partition's ids.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_log.h"
#include "br_txn.h"
#include "br_txtopic.h"
#include "kp_api.h"
#include "kp_batch.h"
#include "st_txnlog.h"
#include "tb_check.h"
#include "test_st_util.h"

static char dir[256];
static int64_t clk;
static int64_t fake_clock(void *arg)
{
    (void)arg;
    return clk;
}

/* the coordinator epoch serves() gives (the partition's leader epoch) and every marker and
 * offsets end must carry */
enum { COORD_EPOCH = 7 };
static int nmarks, fail_markers;
static int fake_marker(void *arg, const char *topic, size_t tlen, int32_t p, int64_t pid,
                       int16_t epoch, bool commit, int32_t ce, int64_t now)
{
    (void)arg, (void)topic, (void)tlen, (void)p, (void)pid, (void)epoch, (void)commit, (void)now;
    ck_assert_int_eq(ce, COORD_EPOCH);
    if (fail_markers)
        return -EIO;
    nmarks++;
    return 0;
}
static int fake_offsets_end(void *arg, const char *g, size_t glen, int64_t pid, int16_t epoch,
                            bool commit, int32_t ce, int64_t now)
{
    (void)arg, (void)g, (void)glen, (void)pid, (void)epoch, (void)commit, (void)now;
    ck_assert_int_eq(ce, COORD_EPOCH);
    return 0;
}
static bool fake_exists(void *arg, const char *t, size_t len, int32_t p)
{
    (void)arg, (void)t, (void)len;
    return p >= 0 && p < 3;
}

/* the cluster hooks: what serves() answers, what state_write() returns, the records written
 * (each as the batch the broker appends) */
static int16_t serving = KP_ERR_NONE;
static const char *not_served = ""; /* an id answered NOT_COORDINATOR whatever serving says */
static int write_rc;
enum { MAXREC = 64 };
static uint8_t *recs[MAXREC];
static size_t rec_len[MAXREC];
static int nrecs;

static int16_t fake_serves(void *arg, const char *id, size_t len, int32_t *coord_epoch)
{
    (void)arg;
    if (coord_epoch)
        *coord_epoch = COORD_EPOCH;
    if (strlen(not_served) == len && memcmp(id, not_served, len) == 0)
        return KP_ERR_NOT_COORDINATOR;
    return serving;
}

static int fake_state_write(void *arg, const char *id, size_t len, const struct st_txnlog_rec *r)
{
    (void)arg;
    if (write_rc)
        return write_rc;
    ck_assert_int_lt(nrecs, MAXREC);
    size_t cap = br_txtopic_batch_size(len, r);
    uint8_t *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    long n = br_txtopic_batch(b, cap, id, len, r, clk);
    ck_assert_int_gt(n, 0);
    recs[nrecs] = b;
    rec_len[nrecs++] = (size_t)n;
    return 0;
}

static const struct br_txn_ops ops = {
    .marker = fake_marker,
    .offsets_end = fake_offsets_end,
    .partition_exists = fake_exists,
    .serves = fake_serves,
    .state_write = fake_state_write,
};

static struct st_txnlog *L;
static struct br_txns *C;

static void start(void)
{
    struct br_txn_cfg c;
    br_txn_cfg_default(&c);
    c.pid_block_size = 10;
    ck_assert_int_eq(st_txnlog_open(dir, NULL, &L), 0);
    ck_assert_int_eq(br_txn_new(&c, &ops, L, fake_clock, NULL, &C), 0);
}

static void stop(void)
{
    br_txn_free(C);
    st_txnlog_close(L);
    C = NULL;
    L = NULL;
}

static void setup(void)
{
    br_log_set_level(BR_LOG_ERROR);
    tst_mkdtemp(dir, sizeof(dir));
    clk = 1700000000000;
    nmarks = fail_markers = nrecs = write_rc = 0;
    serving = KP_ERR_NONE;
    not_served = "";
    start();
}

static void teardown(void)
{
    stop();
    for (int i = 0; i < nrecs; i++)
        free(recs[i]);
    tst_rmrf(dir);
}

/* The one record of batch i, parsed. */
static void parse_rec(int i, struct br_txtopic_rec *out)
{
    struct kp_batch_hdr h;
    ck_assert_int_eq(kp_batch_validate(recs[i], rec_len[i], 0, &h), 0);
    ck_assert_int_eq(h.record_count, 1);
    struct kp_record_iter it;
    struct kp_record rec;
    kp_record_iter_init(&it, recs[i], &h);
    ck_assert_int_eq(kp_record_next(&it, &rec), 1);
    ck_assert_int_eq(br_txtopic_parse(rec.key.ptr, (size_t)rec.key.len,
                                      rec.value.len < 0 ? NULL : rec.value.ptr,
                                      rec.value.len < 0 ? 0 : (size_t)rec.value.len, out),
                     0);
    ck_assert_int_eq(kp_record_next(&it, &rec), 0);
}

static struct kp_str S(const char *s) {
    return kp_str_of(s);
}

static struct br_txn_init_res
init(const char *id)
{
    struct br_txn_init_req q = {
        .txn_id = S(id), .timeout_ms = 60000, .producer_id = -1, .epoch = -1};
    struct br_txn_init_res r;
    br_txn_init_producer(C, &q, &r);
    return r;
}

static int16_t add(const char *id, int64_t pid, int16_t epoch)
{
    static const int32_t ps[2] = {0, 2};
    struct br_txn_topic t = {S("t"), 2, ps};
    int16_t errs[2];
    br_txn_add_partitions(C, S(id), pid, epoch, &t, 1, errs);
    ck_assert_int_eq(errs[1], errs[0]);
    return errs[0];
}

static void counted(void *arg, const struct st_txnlog_rec *r) { (void)r, ++*(int *)arg; }

START_TEST(t_codec_round_trip)
{
    int32_t p1[2] = {0, 7}, p2[1] = {3};
    struct st_txnlog_topic tt[2] = {{"alpha", 5, 2, p1}, {"b", 1, 1, p2}};
    struct st_txnlog_group gg[1] = {{"grp", 3}};
    struct st_txnlog_rec r = {.id = "tx",
                              .id_len = 2,
                              .producer_id = 4242,
                              .last_producer_id = 41,
                              .epoch = 7,
                              .last_epoch = 6,
                              .timeout_ms = 60000,
                              .state = 2,
                              .start_ms = 1000,
                              .update_ms = 2000,
                              .n_topics = 2,
                              .topics = tt,
                              .n_groups = 1,
                              .groups = gg};
    size_t cap = br_txtopic_batch_size(2, &r);
    uint8_t *b = malloc(cap);
    long n = br_txtopic_batch(b, cap, "tx", 2, &r, 2000);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(br_txtopic_batch(b, 60, "tx", 2, &r, 2000), -ENOSPC);
    recs[nrecs] = b;
    rec_len[nrecs++] = (size_t)n;
    struct br_txtopic_rec x;
    parse_rec(0, &x);
    ck_assert(!x.tombstone);
    ck_assert_int_eq(x.r.id_len, 2);
    ck_assert(memcmp(x.r.id, "tx", 2) == 0);
    ck_assert_int_eq(x.r.producer_id, 4242);
    ck_assert_int_eq(x.r.last_producer_id, 41);
    ck_assert_int_eq(x.r.epoch, 7);
    ck_assert_int_eq(x.r.last_epoch, 6);
    ck_assert_int_eq(x.r.timeout_ms, 60000);
    ck_assert_int_eq(x.r.state, 2);
    ck_assert_int_eq(x.r.start_ms, 1000);
    ck_assert_int_eq(x.r.update_ms, 2000);
    ck_assert_int_eq(x.r.n_topics, 2);
    ck_assert_int_eq(x.r.topics[0].len, 5);
    ck_assert(memcmp(x.r.topics[0].name, "alpha", 5) == 0);
    ck_assert_int_eq(x.r.topics[0].n, 2);
    ck_assert_int_eq(x.r.topics[0].partitions[1], 7);
    ck_assert_int_eq(x.r.topics[1].partitions[0], 3);
    ck_assert_int_eq(x.r.n_groups, 1);
    ck_assert(memcmp(x.r.groups[0].id, "grp", 3) == 0);
    br_txtopic_rec_free(&x);

    /* the key's bytes: int16 0, STRING; the value's first: int16 1, the producer id */
    static const uint8_t key[] = {0, 0, 0, 2, 't', 'x'};
    ck_assert_int_eq(br_txtopic_parse(key, sizeof key, NULL, 0, &x), 0);
    ck_assert(x.tombstone);
    ck_assert_int_eq(br_txtopic_parse(key, 3, NULL, 0, &x), -EBADMSG);
    static const uint8_t key1[] = {0, 1, 0, 2, 't', 'x'};
    ck_assert_int_eq(br_txtopic_parse(key1, sizeof key1, NULL, 0, &x), -EINVAL);

    /* a value v0 (Kafka's non-flexible layout): Ongoing with one topic of one partition */
    static const uint8_t v0[] = {0, 0,                          /* version 0 */
                                 0, 0, 0,    0,    0, 0, 0, 9,  /* producer id */
                                 0, 3,                          /* epoch */
                                 0, 0, 0x27, 0x10,              /* timeout 10000 */
                                 1,                             /* Ongoing */
                                 0, 0, 0,    1,                 /* one topic */
                                 0, 1, 'q',  0,    0, 0, 1,     /* "q", one partition */
                                 0, 0, 0,    4,                 /* 4 */
                                 0, 0, 0,    0,    0, 0, 0, 5,  /* last update */
                                 0, 0, 0,    0,    0, 0, 0, 4}; /* start */
    ck_assert_int_eq(br_txtopic_parse(key, sizeof key, v0, sizeof v0, &x), 0);
    ck_assert_int_eq(x.r.producer_id, 9);
    ck_assert_int_eq(x.r.epoch, 3);
    ck_assert_int_eq(x.r.timeout_ms, 10000);
    ck_assert_int_eq(x.r.state, 1);
    ck_assert_int_eq(x.r.n_topics, 1);
    ck_assert_int_eq(x.r.topics[0].partitions[0], 4);
    ck_assert_int_eq(x.r.last_producer_id, -1);
    ck_assert_int_eq(x.r.update_ms, 5);
    ck_assert_int_eq(x.r.start_ms, 4);
    br_txtopic_rec_free(&x);
    ck_assert_int_eq(br_txtopic_parse(key, sizeof key, v0, sizeof v0 - 1, &x), -EBADMSG);

    /* a transactional id's partition is a group's (Java's String.hashCode) */
    ck_assert_int_eq(br_txtopic_partition_of("m4-group", 8, 50),
                     br_txtopic_partition_of("m4-group", 8, 50));
    ck_assert(br_txtopic_is("__transaction_state", 19));
    ck_assert(!br_txtopic_is("__consumer_offsets", 18));
}
END_TEST

START_TEST(t_requests_ask_serves_first)
{
    serving = KP_ERR_NOT_COORDINATOR;
    ck_assert_int_eq(init("a").error_code, KP_ERR_NOT_COORDINATOR);
    serving = KP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    ck_assert_int_eq(init("a").error_code, KP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    ck_assert_int_eq(nrecs, 0);
    serving = KP_ERR_NONE;
    struct br_txn_init_res r = init("a");
    ck_assert_int_eq(r.error_code, 0);
    ck_assert_int_eq(nrecs, 1); /* Empty at epoch 0, to the topic */
    ck_assert_int_eq(add("a", r.producer_id, r.epoch), 0);
    ck_assert_int_eq(nrecs, 2);
    serving = KP_ERR_NOT_COORDINATOR;
    ck_assert_int_eq(add("a", r.producer_id, r.epoch), KP_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(br_txn_add_offsets(C, S("a"), r.producer_id, r.epoch, S("g")),
                     KP_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(br_txn_end(C, S("a"), r.producer_id, r.epoch, true), KP_ERR_NOT_COORDINATOR);
    serving = KP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    ck_assert_int_eq(br_txn_end(C, S("a"), r.producer_id, r.epoch, true),
                     KP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    serving = KP_ERR_NONE;
    ck_assert_int_eq(br_txn_end(C, S("a"), r.producer_id, r.epoch, true), 0);
    ck_assert_int_eq(nmarks, 2);
    ck_assert_int_eq(nrecs, 4); /* PrepareCommit, CompleteCommit */
    struct br_txtopic_rec x;
    parse_rec(2, &x);
    ck_assert_int_eq(x.r.state, 2);
    ck_assert_int_eq(x.r.n_topics, 1);
    br_txtopic_rec_free(&x);
    parse_rec(3, &x);
    ck_assert_int_eq(x.r.state, 4);
    br_txtopic_rec_free(&x);
    /* nothing went to the local log but the producer-id block */
    int n = 0;
    ck_assert_int_ge(st_txnlog_foreach(L, counted, &n), 0);
    ck_assert_int_eq(n, 0);
    /* idempotent producers are not gated */
    serving = KP_ERR_NOT_COORDINATOR;
    struct br_txn_init_req q = {.txn_id = KP_STR_NULL, .producer_id = -1, .epoch = -1};
    struct br_txn_init_res ir;
    br_txn_init_producer(C, &q, &ir);
    ck_assert_int_eq(ir.error_code, 0);
}
END_TEST

START_TEST(t_write_errors_change_nothing)
{
    struct br_txn_init_res r = init("a");
    ck_assert_int_eq(r.error_code, 0);
    write_rc = -ETIMEDOUT;
    ck_assert_int_eq(add("a", r.producer_id, r.epoch), KP_ERR_COORDINATOR_NOT_AVAILABLE);
    write_rc = -EAGAIN;
    ck_assert_int_eq(add("a", r.producer_id, r.epoch), KP_ERR_COORDINATOR_NOT_AVAILABLE);
    write_rc = -ENOTCONN;
    ck_assert_int_eq(add("a", r.producer_id, r.epoch), KP_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(br_txn_state_of(C, S("a"), NULL, NULL), 0); /* still Empty */
    write_rc = 0;
    ck_assert_int_eq(add("a", r.producer_id, r.epoch), 0);
    /* the end stops once the id is no longer served: prepared, no marker */
    not_served = "a";
    ck_assert_int_eq(br_txn_end(C, S("a"), r.producer_id, r.epoch, true), KP_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(br_txn_state_of(C, S("a"), NULL, NULL), 1);
    ck_assert_int_eq(nmarks, 0);
}
END_TEST

START_TEST(t_timer_acts_on_served_ids_only)
{
    struct br_txn_init_res r = init("a");
    ck_assert_int_eq(add("a", r.producer_id, r.epoch), 0);
    not_served = "a";
    clk += 120000; /* past the timeout and the abort check */
    (void)br_txn_tick(C);
    ck_assert_int_eq(br_txn_state_of(C, S("a"), NULL, NULL), 1); /* Ongoing, untouched */
    not_served = "";
    clk += 20000;
    (void)br_txn_tick(C);
    ck_assert_int_eq(br_txn_state_of(C, S("a"), NULL, NULL), 5); /* aborted by the timeout */
}
END_TEST

static bool all_ids(void *arg, const char *id, size_t len)
{
    (void)arg;
    return len == 1 && (id[0] == 'a' || id[0] == 'b');
}

START_TEST(t_load_recover_and_drop)
{
    /* a first coordinator: "a" left PrepareCommit (its markers fail), "b" Ongoing, "c" gone */
    struct br_txn_init_res a = init("a"), b = init("b"), c = init("c");
    ck_assert_int_eq(add("a", a.producer_id, a.epoch), 0);
    ck_assert_int_eq(add("b", b.producer_id, b.epoch), 0);
    fail_markers = 1;
    ck_assert_int_eq(br_txn_end(C, S("a"), a.producer_id, a.epoch, true), 0);
    ck_assert_int_eq(br_txn_state_of(C, S("a"), NULL, NULL), 2);
    int written = nrecs;
    /* a second coordinator loads what the first wrote, in order, plus a tombstone of c */
    stop();
    tst_rmrf(dir);
    tst_mkdtemp(dir, sizeof(dir));
    start();
    ck_assert_int_eq(br_txn_state_of(C, S("a"), NULL, NULL), -1);
    uint8_t tomb[256];
    long tn = br_txtopic_batch(tomb, sizeof tomb, "c", 1, NULL, clk);
    ck_assert_int_gt(tn, 0);
    recs[nrecs] = malloc((size_t)tn);
    memcpy(recs[nrecs], tomb, (size_t)tn);
    rec_len[nrecs++] = (size_t)tn;
    for (int i = 0; i < nrecs; i++) {
        struct br_txtopic_rec x;
        parse_rec(i, &x);
        ck_assert_int_eq(br_txn_load_rec(C, &x.r, x.tombstone), 0);
        br_txtopic_rec_free(&x);
    }
    int64_t pid = -1;
    int16_t ep = -1;
    ck_assert_int_eq(br_txn_state_of(C, S("a"), &pid, &ep), 2);
    ck_assert_int_eq(pid, a.producer_id);
    ck_assert_int_eq(ep, a.epoch);
    ck_assert_int_eq(br_txn_state_of(C, S("b"), &pid, &ep), 1);
    ck_assert_int_eq(pid, b.producer_id);
    ck_assert_int_eq(br_txn_state_of(C, S("c"), NULL, NULL), -1);
    (void)c;
    struct br_txn_stats st;
    br_txn_stats(C, &st);
    ck_assert_int_eq(st.ids, 2);
    ck_assert_int_eq(st.ongoing, 1);
    /* the prepared one finished: its two markers, then CompleteCommit written */
    fail_markers = 0;
    nmarks = 0;
    ck_assert_int_eq(br_txn_recover_matching(C, all_ids, NULL), 1);
    ck_assert_int_eq(nmarks, 2);
    ck_assert_int_eq(br_txn_state_of(C, S("a"), NULL, NULL), 4);
    ck_assert_int_gt(nrecs, written + 1);
    /* a retried EndTxn of the same producer: done */
    ck_assert_int_eq(br_txn_end(C, S("a"), a.producer_id, a.epoch, true), 0);
    /* the partition lost: its ids go */
    ck_assert_int_eq(br_txn_drop(C, all_ids, NULL), 2);
    ck_assert_int_eq(br_txn_state_of(C, S("b"), NULL, NULL), -1);
    br_txn_stats(C, &st);
    ck_assert_int_eq(st.ids, 0);
    ck_assert_int_eq(st.ongoing, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_txn_clu");
    TCase *tc = tcase_create("cluster_hooks");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, t_codec_round_trip);
    tcase_add_test(tc, t_requests_ask_serves_first);
    tcase_add_test(tc, t_write_errors_change_nothing);
    tcase_add_test(tc, t_timer_acts_on_served_ids_only);
    tcase_add_test(tc, t_load_recover_and_drop);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
