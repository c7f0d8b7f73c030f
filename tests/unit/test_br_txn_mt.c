/*
 * test_br_txn_mt — the transaction coordinator from several threads at once, over real
 * storage (also run under make tsan): workers run transactions on their own transactional ids
 * (InitProducerId, AddPartitionsToTxn, Produce through verification, more batches, EndTxn
 * commit or abort) while a fencer starts new instances of the same ids, idempotent producers
 * ask for ids, and the timer thread aborts transactions that outlive a short timeout. Every
 * answer is one Kafka allows for the situation; at the end, once every id is fenced one last
 * time, no partition has an open transaction and the producer ids handed out were unique.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_log.h"
#include "br_txn.h"
#include "kp_api.h"
#include "kp_batch.h"
#include "st.h"
#include "st_txnlog.h"
#include "test_st_util.h"

#define NWORKERS 3
#define NROUNDS  60
#define NPART    3

static char dir[256];
static struct st_store *store;
static struct st_txnlog *tlog;
static struct br_txns *C;
static atomic_bool done;
static atomic_int n_commit, n_abort, n_fenced;

static int marker(void *arg, const char *topic, size_t tlen, int32_t p, int64_t pid, int16_t epoch,
                  bool commit, int32_t ce, int64_t now)
{
    (void)arg;
    struct st_log *log = st_log_get(store, topic, tlen, p);
    if (!log)
        return -ENOENT;
    int err = st_log_append_marker(log, pid, epoch, commit, 0, now, NULL);
    st_log_put(log);
    return err;
}

static int offsets_end(void *arg, const char *g, size_t glen, int64_t pid, int16_t epoch,
                       bool commit, int32_t ce, int64_t now)
{
    (void)arg, (void)g, (void)glen, (void)pid, (void)epoch, (void)commit, (void)now;
    return 0;
}

static bool exists(void *arg, const char *t, size_t len, int32_t p)
{
    (void)arg;
    int32_t n = st_topic_partitions(store, t, len);
    return p >= 0 && p < n;
}

struct app {
    int32_t partition;
    int64_t pid;
    int16_t epoch;
    int32_t seq;
    bool verified;
    int rc;
};

static int append_batch(void *arg)
{
    struct app *a = arg;
    struct st_log *log = st_log_get(store, "d", 1, a->partition);
    uint8_t buf[256];
    size_t n = tst_batch(buf, sizeof buf, 1, 8, 1, (uint64_t)a->seq);
    kp_batch_set_producer(buf, n, a->pid, a->epoch, a->seq, true);
    struct iovec iv = {buf, n};
    struct st_append_opts o = {.txn_verified = a->verified};
    struct st_append_result res;
    a->rc = st_log_append_opts(log, &iv, 1, 1, &o, &res);
    st_log_put(log);
    return a->rc;
}

static struct kp_str S(const char *s) {
    return kp_str_of(s);
}

static void *
worker(void *arg)
{
    int w = (int)(intptr_t)arg;
    char id[16];
    snprintf(id, sizeof id, "w%d", w);
    int64_t pid = -1;
    int16_t ep = -1;
    int32_t seq[NPART] = {0};
    for (int round = 0; round < NROUNDS; round++) {
        if (pid < 0) {
            struct br_txn_init_req q = {
                .txn_id = S(id), .timeout_ms = 40, .producer_id = -1, .epoch = -1};
            struct br_txn_init_res r;
            br_txn_init_producer(C, &q, &r);
            if (r.error_code != 0) {
                ck_assert_int_eq(r.error_code, KP_ERR_CONCURRENT_TRANSACTIONS);
                continue;
            }
            pid = r.producer_id;
            ep = r.epoch;
            memset(seq, 0, sizeof seq);
        }
        static const int32_t ps[NPART] = {0, 1, 2};
        struct br_txn_topic t = {S("d"), NPART, ps};
        int16_t errs[NPART];
        br_txn_add_partitions(C, S(id), pid, ep, &t, 1, errs);
        if (errs[0] != 0) {
            ck_assert_msg(errs[0] == KP_ERR_PRODUCER_FENCED ||
                              errs[0] == KP_ERR_CONCURRENT_TRANSACTIONS ||
                              errs[0] == KP_ERR_INVALID_PRODUCER_ID_MAPPING,
                          "AddPartitions: %d", errs[0]);
            pid = -1;
            atomic_fetch_add(&n_fenced, 1);
            continue;
        }
        bool fenced = false;
        for (int p = 0; p < NPART && !fenced; p++) {
            for (int k = 0; k < 2 && !fenced; k++) {
                struct app a = {.partition = p, .pid = pid, .epoch = ep, .seq = seq[p]};
                int rc = append_batch(&a);
                if (rc == -ENOKEY) {
                    a.verified = true;
                    int16_t e = br_txn_verify(C, pid, ep, S("d"), p, append_batch, &a);
                    if (e != 0) {
                        ck_assert_msg(e == KP_ERR_INVALID_PRODUCER_EPOCH ||
                                          e == KP_ERR_INVALID_TXN_STATE ||
                                          e == KP_ERR_NOT_ENOUGH_REPLICAS,
                                      "verify: %d", e);
                        fenced = true;
                        break;
                    }
                    rc = a.rc;
                }
                if (rc == -ESTALE) { /* a fencing marker got there first */
                    fenced = true;
                    break;
                }
                ck_assert_msg(rc == 0, "append: %d", rc);
                seq[p]++;
            }
        }
        if (fenced) {
            pid = -1;
            atomic_fetch_add(&n_fenced, 1);
            continue;
        }
        if (round % 9 == 4) { /* outlive the timeout now and then: the timer aborts */
            struct timespec ts = {0, 60000000};
            nanosleep(&ts, NULL);
        }
        bool commit = round % 2 == 0;
        int16_t e = br_txn_end(C, S(id), pid, ep, commit);
        if (e == 0) {
            atomic_fetch_add(commit ? &n_commit : &n_abort, 1);
        } else {
            ck_assert_msg(e == KP_ERR_PRODUCER_FENCED || e == KP_ERR_INVALID_PRODUCER_ID_MAPPING,
                          "EndTxn: %d", e);
            pid = -1;
            atomic_fetch_add(&n_fenced, 1);
        }
    }
    return NULL;
}

static void *fencer(void *arg)
{
    (void)arg;
    for (int i = 0; !atomic_load(&done); i++) {
        char id[16];
        snprintf(id, sizeof id, "w%d", i % NWORKERS);
        struct br_txn_init_req q = {
            .txn_id = S(id), .timeout_ms = 40, .producer_id = -1, .epoch = -1};
        struct br_txn_init_res r;
        br_txn_init_producer(C, &q, &r);
        ck_assert(r.error_code == 0 || r.error_code == KP_ERR_CONCURRENT_TRANSACTIONS);
        struct timespec ts = {0, 3000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static int64_t ids[4096];
static atomic_int nids;

static void *idempotent(void *arg)
{
    (void)arg;
    for (int i = 0; i < 500; i++) {
        struct br_txn_init_req q = {.txn_id = KP_STR_NULL, .producer_id = -1, .epoch = -1};
        struct br_txn_init_res r;
        br_txn_init_producer(C, &q, &r);
        ck_assert_int_eq(r.error_code, 0);
        int k = atomic_fetch_add(&nids, 1);
        if (k < 4096)
            ids[k] = r.producer_id;
    }
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

START_TEST(t_concurrent_transactions)
{
    br_log_set_level(BR_LOG_ERROR);
    tst_mkdtemp(dir, sizeof dir);
    struct st_log_config lc;
    st_log_config_default(&lc);
    lc.producer_id_expiration_ms = -1;
    ck_assert_int_eq(st_store_open(dir, &lc, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "d", NPART, NULL), 0);
    ck_assert_int_eq(st_txnlog_open(dir, NULL, &tlog), 0);
    struct br_txn_cfg cfg;
    br_txn_cfg_default(&cfg);
    cfg.abort_check_ms = 5;
    cfg.pid_block_size = 7;
    struct br_txn_ops ops = {
        .marker = marker, .offsets_end = offsets_end, .partition_exists = exists};
    ck_assert_int_eq(br_txn_new(&cfg, &ops, tlog, NULL, NULL, &C), 0);
    ck_assert_int_eq(br_txn_timer_start(C), 0);
    pthread_t th[NWORKERS + 2];
    for (int i = 0; i < NWORKERS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i), 0);
    ck_assert_int_eq(pthread_create(&th[NWORKERS], NULL, fencer, NULL), 0);
    ck_assert_int_eq(pthread_create(&th[NWORKERS + 1], NULL, idempotent, NULL), 0);
    for (int i = 0; i < NWORKERS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&done, true);
    pthread_join(th[NWORKERS], NULL);
    pthread_join(th[NWORKERS + 1], NULL);
    /* a last new instance of every id: whatever was open is aborted */
    for (int i = 0; i < NWORKERS; i++) {
        char id[16];
        snprintf(id, sizeof id, "w%d", i);
        struct br_txn_init_req q = {
            .txn_id = S(id), .timeout_ms = 40, .producer_id = -1, .epoch = -1};
        struct br_txn_init_res r;
        br_txn_init_producer(C, &q, &r);
        ck_assert_int_eq(r.error_code, 0);
    }
    for (int p = 0; p < NPART; p++) {
        struct st_log *log = st_log_get(store, "d", 1, p);
        ck_assert_int_eq(st_log_lso(log), st_log_end_offset(log));
        st_log_put(log);
    }
    int n = atomic_load(&nids);
    qsort(ids, (size_t)n, sizeof ids[0], cmp64);
    for (int i = 1; i < n; i++)
        ck_assert(ids[i] != ids[i - 1]);
    fprintf(stderr, "br_txn_mt: %d committed, %d aborted, %d fenced or timed out\n",
            atomic_load(&n_commit), atomic_load(&n_abort), atomic_load(&n_fenced));
    ck_assert_int_gt(atomic_load(&n_commit) + atomic_load(&n_abort), 0);
    br_txn_free(C);
    st_txnlog_close(tlog);
    st_store_close(store);
    tst_rmrf(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("br_txn_mt");
    TCase *tc = tcase_create("mt");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, t_concurrent_transactions);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
