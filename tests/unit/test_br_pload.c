/*
 * test_br_pload — the loads of an internal topic's partitions (br_pload.h, issue 18) with fake
 * callbacks over a real store:
 * - the states and their answers: NOT_COORDINATOR before any view and when not led,
 *   COORDINATOR_LOAD_IN_PROGRESS while the loader is held in begin, NONE once loaded, with the
 *   partition and the leader epoch; the loader thread's name;
 * - a load: begin, then every keyed record of the partition's log in order (a tombstone as
 *   NULL), flush, loaded; a transactional batch's records with their producer, and markers
 *   (control batches) to ops.control, in log order;
 * - a failed load (begin, or a batch whose CRC does not check) tried again a second later and
 *   not LOADED meanwhile; ops.loaded failing run again a second later;
 * - a view that moves during a load (a new leader epoch) loads again at the new epoch;
 * - leadership lost: NOT_LED at once, lost on the updating thread (the mask and the count),
 *   drop on the loader thread.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_clock.h"
#include "br_pload.h"
#include "kp_api.h"
#include "kp_batch.h"
#include "st.h"
#include "tb_check.h"
#include "test_st_util.h"

#define TOPIC "__pload_test"
#define NP    2

/* What the fake callbacks saw; under mu. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool hold;       /* begin waits while set */
static int begin_fail;  /* begins still to fail with -EIO */
static int loaded_fail; /* loaded calls still to fail */
static int nbegin, nflush, nloaded, nlost, ndrop;
static int64_t begin_ms[8], loaded_ms[8];
static char recs[64][48]; /* "p:key", "p:key-" (a tombstone), "p:key@pid"; "p:C|A<pid>.<e>" */
static int nrecs;
static char thread_name[16];
static bool lost_mask[8];
static int32_t lost_n, drop_p, drop_np;
static pthread_t lost_thread, drop_thread, updater;

static int32_t fake_partition_of(const char *key, size_t len, int32_t np)
{
    return len > 0 ? (key[0] - '0') % np : 0;
}

static void fake_thread_start(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    pthread_getname_np(pthread_self(), thread_name, sizeof thread_name);
    pthread_mutex_unlock(&mu);
}

static int fake_begin(void *arg, struct br_pload_load *ld)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    if (nbegin < 8)
        begin_ms[nbegin] = br_now_ms();
    nbegin++;
    nrecs = 0;
    while (hold)
        pthread_cond_wait(&cv, &mu);
    int rc = begin_fail > 0 ? (begin_fail--, -EIO) : 0;
    pthread_mutex_unlock(&mu);
    ck_assert_int_eq(ld->np, NP);
    return rc;
}

static int fake_record(void *arg, struct br_pload_load *ld, const uint8_t *key, size_t klen,
                       const uint8_t *value, size_t vlen)
{
    (void)arg;
    (void)vlen;
    if (fake_partition_of((const char *)key, klen, ld->np) != ld->p)
        return 0;
    char pid[24] = ""; /* "@<pid>": a transactional batch's */
    if (ld->producer_id >= 0)
        snprintf(pid, sizeof pid, "@%lld", (long long)ld->producer_id);
    pthread_mutex_lock(&mu);
    if (nrecs < 64)
        snprintf(recs[nrecs++], sizeof recs[0], "%d:%.*s%s%s", (int)ld->p, (int)klen,
                 (const char *)key, value ? "" : "-", pid);
    pthread_mutex_unlock(&mu);
    ld->applied++;
    return 0;
}

/* A marker: "p:C<pid>.<epoch>" (commit) or "p:A<pid>.<epoch>". */
static int fake_control(void *arg, struct br_pload_load *ld, bool commit)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    if (nrecs < 64)
        snprintf(recs[nrecs++], sizeof recs[0], "%d:%c%lld.%d", (int)ld->p, commit ? 'C' : 'A',
                 (long long)ld->producer_id, ld->producer_epoch);
    pthread_mutex_unlock(&mu);
    return 0;
}

static void fake_flush(void *arg, struct br_pload_load *ld)
{
    (void)arg;
    (void)ld;
    pthread_mutex_lock(&mu);
    nflush++;
    pthread_mutex_unlock(&mu);
}

static int fake_loaded(void *arg, int32_t p, int32_t np)
{
    (void)arg;
    (void)p;
    (void)np;
    pthread_mutex_lock(&mu);
    if (nloaded < 8)
        loaded_ms[nloaded] = br_now_ms();
    nloaded++;
    int rc = loaded_fail > 0 ? (loaded_fail--, -EAGAIN) : 0;
    pthread_mutex_unlock(&mu);
    return rc;
}

static void fake_lost(void *arg, const bool *lost, int32_t n)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    nlost++;
    lost_n = n;
    for (int32_t p = 0; p < n && p < 8; p++)
        lost_mask[p] = lost[p];
    lost_thread = pthread_self();
    pthread_mutex_unlock(&mu);
}

static void fake_drop(void *arg, int32_t p, int32_t np)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    ndrop++;
    drop_p = p;
    drop_np = np;
    drop_thread = pthread_self();
    pthread_mutex_unlock(&mu);
}

static int get(int *v)
{
    pthread_mutex_lock(&mu);
    int x = *v;
    pthread_mutex_unlock(&mu);
    return x;
}

static void set_hold(bool h)
{
    pthread_mutex_lock(&mu);
    hold = h;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void wait_loaded(struct br_pload *pl, int32_t p, int32_t epoch)
{
    for (int i = 0; i < 1000 && !br_pload_loaded(pl, p, epoch); i++)
        usleep(5000);
    ck_assert(br_pload_loaded(pl, p, epoch));
}

static void wait_count(int *v, int n)
{
    for (int i = 0; i < 1000 && get(v) < n; i++)
        usleep(5000);
    ck_assert_int_ge(get(v), n);
}

static char dir[256];
static struct st_store *store;
static struct br_pload *pl;

static const struct br_pload_ops ops = {
    .what = "test coordinator",
    .topic = TOPIC,
    .keys = "keys",
    .unit = "record(s)",
    .thread = "sl-ptest",
    .log_as = "ptest",
    .partition_of = fake_partition_of,
    .thread_start = fake_thread_start,
    .begin = fake_begin,
    .record = fake_record,
    .control = fake_control,
    .flush = fake_flush,
    .loaded = fake_loaded,
    .lost = fake_lost,
    .drop = fake_drop,
};

/* Appends one batch of keyed records to partition p; a key ending in '-' is a tombstone. */
static void append(int32_t p, const char *const *keys, int n)
{
    struct st_log *log = st_log_get(store, TOPIC, strlen(TOPIC), p);
    ck_assert_ptr_nonnull(log);
    uint8_t buf[1024];
    struct kp_batch_builder b;
    ck_assert_int_eq(kp_batch_begin(&b, buf, sizeof buf, 1000), 0);
    for (int i = 0; i < n; i++) {
        size_t kl = strlen(keys[i]);
        bool tomb = keys[i][kl - 1] == '-';
        struct kp_bytes k = {(const uint8_t *)keys[i], (int32_t)(tomb ? kl - 1 : kl)};
        struct kp_bytes v = {tomb ? NULL : (const uint8_t *)"v", tomb ? -1 : 1};
        ck_assert_int_eq(kp_batch_add(&b, 1000 + i, k, v, NULL, 0), 0);
    }
    long len = kp_batch_finish(&b);
    ck_assert_int_gt(len, 0);
    struct iovec iv = {buf, (size_t)len};
    struct st_append_result res;
    ck_assert_int_eq(st_log_append(log, &iv, 1, 1000, &res), 0);
    st_log_put(log);
}

static void reset(void)
{
    pthread_mutex_lock(&mu);
    hold = false;
    begin_fail = loaded_fail = 0;
    nbegin = nflush = nloaded = nlost = ndrop = nrecs = 0;
    memset(lost_mask, 0, sizeof lost_mask);
    thread_name[0] = 0;
    pthread_mutex_unlock(&mu);
}

static void setup(void)
{
    reset();
    updater = pthread_self();
    tst_mkdtemp(dir, sizeof dir);
    struct st_log_config lc = tst_cfg();
    ck_assert_int_eq(st_store_open(dir, &lc, &store), 0);
    ck_assert_int_eq(st_topic_create(store, TOPIC, NP, NULL), 0);
    const char *k0[] = {"0a", "1x", "0b"};
    append(0, k0, 3);
    const char *k1[] = {"0b-", "0c"};
    append(0, k1, 2);
    const char *k2[] = {"1y"};
    append(1, k2, 1);
    ck_assert_int_eq(br_pload_new(store, &ops, NULL, &pl), 0);
}

static void teardown(void)
{
    br_pload_free(pl);
    pl = NULL;
    st_store_close(store);
    tst_rmrf(dir);
}

START_TEST(states_and_a_load)
{
    ck_assert_int_eq(br_pload_partitions(pl), 0);
    int32_t part = 7, epoch = 7;
    ck_assert_int_eq(br_pload_check(pl, "0a", 2, &part, &epoch), KP_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(part, -1);
    ck_assert_int_eq(epoch, -1);

    set_hold(true);
    int32_t epochs[NP] = {3, -1};
    br_pload_update(pl, epochs, NP);
    ck_assert_int_eq(br_pload_partitions(pl), NP);
    wait_count(&nbegin, 1);
    ck_assert_int_eq(br_pload_check(pl, "0a", 2, &part, &epoch),
                     KP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    ck_assert_int_eq(part, 0);
    ck_assert_int_eq(epoch, 3);
    ck_assert(br_pload_loading(pl));
    ck_assert(!br_pload_loaded(pl, 0, -1));
    ck_assert_int_eq(br_pload_check(pl, "1x", 2, &part, NULL), KP_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(part, 1);
    set_hold(false);

    wait_loaded(pl, 0, 3);
    ck_assert(!br_pload_loaded(pl, 0, 2));
    ck_assert(!br_pload_loading(pl));
    ck_assert_int_eq(br_pload_check(pl, "0zz", 3, &part, &epoch), KP_ERR_NONE);
    ck_assert_int_eq(epoch, 3);
    ck_assert_int_eq(br_pload_loads(pl), 1);
    wait_count(&nloaded, 1);
    pthread_mutex_lock(&mu);
    ck_assert_str_eq(thread_name, "sl-ptest");
    ck_assert_int_eq(nrecs, 4); /* (1x is partition 1's, skipped by the callback) */
    ck_assert_str_eq(recs[0], "0:0a");
    ck_assert_str_eq(recs[1], "0:0b");
    ck_assert_str_eq(recs[2], "0:0b-");
    ck_assert_str_eq(recs[3], "0:0c");
    ck_assert_int_ge(nflush, 1);
    ck_assert_int_eq(nbegin, 1);
    pthread_mutex_unlock(&mu);

    /* a new leader epoch: loaded again */
    epochs[0] = 4;
    br_pload_update(pl, epochs, NP);
    wait_loaded(pl, 0, 4);
    ck_assert_int_eq(br_pload_loads(pl), 2);
    ck_assert_int_eq(get(&nbegin), 2);
    /* the same view again: nothing to do */
    br_pload_update(pl, epochs, NP);
    usleep(50000);
    ck_assert_int_eq(get(&nbegin), 2);
    ck_assert_int_eq(get(&nlost), 0);
}
END_TEST

/* A transactional batch of producer pid (epoch 1, sequence seq) with one keyed record. */
static void append_txn(int32_t p, const char *key, int64_t pid, int32_t seq)
{
    struct st_log *log = st_log_get(store, TOPIC, strlen(TOPIC), p);
    ck_assert_ptr_nonnull(log);
    uint8_t buf[256];
    struct kp_batch_builder b;
    ck_assert_int_eq(kp_batch_begin(&b, buf, sizeof buf, 1000), 0);
    struct kp_bytes k = {(const uint8_t *)key, (int32_t)strlen(key)};
    struct kp_bytes v = {(const uint8_t *)"v", 1};
    ck_assert_int_eq(kp_batch_add(&b, 1000, k, v, NULL, 0), 0);
    long len = kp_batch_finish(&b);
    ck_assert_int_gt(len, 0);
    kp_batch_set_producer(buf, (size_t)len, pid, 1, seq, true);
    struct iovec iv = {buf, (size_t)len};
    struct st_append_result res;
    struct st_append_opts o = {.txn_verified = true};
    ck_assert_int_eq(st_log_append_opts(log, &iv, 1, 1000, &o, &res), 0);
    st_log_put(log);
}

static void append_marker(int32_t p, int64_t pid, bool commit)
{
    struct st_log *log = st_log_get(store, TOPIC, strlen(TOPIC), p);
    ck_assert_ptr_nonnull(log);
    struct st_append_result res;
    ck_assert_int_eq(st_log_append_marker(log, pid, 1, commit, 0, 1000, &res), 0);
    st_log_put(log);
}

/* Transactional batches carry their producer to ops.record; markers go to ops.control, in log
 * order with the records. */
START_TEST(transactions_and_markers_in_order)
{
    append_txn(0, "0t", 5, 0);
    append_txn(0, "0u", 6, 0);
    append_marker(0, 5, true);
    append(0, (const char *const[]){"0p"}, 1);
    append_marker(0, 6, false);
    int32_t epochs[NP] = {1, -1};
    br_pload_update(pl, epochs, NP);
    wait_loaded(pl, 0, 1);
    pthread_mutex_lock(&mu);
    ck_assert_int_eq(nrecs, 9);
    ck_assert_str_eq(recs[3], "0:0c"); /* the plain records of setup() first */
    ck_assert_str_eq(recs[4], "0:0t@5");
    ck_assert_str_eq(recs[5], "0:0u@6");
    ck_assert_str_eq(recs[6], "0:C5.1");
    ck_assert_str_eq(recs[7], "0:0p");
    ck_assert_str_eq(recs[8], "0:A6.1");
    pthread_mutex_unlock(&mu);
}
END_TEST

START_TEST(failed_load_tried_again_a_second_later)
{
    pthread_mutex_lock(&mu);
    begin_fail = 1;
    pthread_mutex_unlock(&mu);
    int32_t epochs[NP] = {-1, 1};
    br_pload_update(pl, epochs, NP);
    wait_count(&nbegin, 1);
    usleep(200000);
    ck_assert_int_eq(br_pload_check(pl, "1y", 2, NULL, NULL), KP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    wait_loaded(pl, 1, 1);
    pthread_mutex_lock(&mu);
    ck_assert_int_eq(nbegin, 2);
    ck_assert_int_ge(begin_ms[1] - begin_ms[0], 900);
    ck_assert_int_eq(nrecs, 1);
    ck_assert_str_eq(recs[0], "1:1y");
    pthread_mutex_unlock(&mu);
    ck_assert_int_eq(br_pload_loads(pl), 1);
}
END_TEST

START_TEST(loaded_failing_run_again)
{
    pthread_mutex_lock(&mu);
    loaded_fail = 1;
    pthread_mutex_unlock(&mu);
    int32_t epochs[NP] = {1, -1};
    br_pload_update(pl, epochs, NP);
    wait_loaded(pl, 0, 1);
    wait_count(&nloaded, 2);
    pthread_mutex_lock(&mu);
    ck_assert_int_ge(loaded_ms[1] - loaded_ms[0], 900);
    ck_assert_int_eq(nbegin, 1);
    pthread_mutex_unlock(&mu);
    usleep(1200000);
    ck_assert_int_eq(get(&nloaded), 2); /* succeeded: not again */
}
END_TEST

START_TEST(bad_crc_fails_the_load)
{
    /* the value byte of partition 1's only record flipped on disk (61-byte header, then the
     * record: length, attributes, timestamp and offset deltas, key length, "1y", value length,
     * "v"): only the CRC tells */
    char pdir[512];
    snprintf(pdir, sizeof pdir, "%s/%s-1", dir, TOPIC);
    DIR *d = opendir(pdir);
    ck_assert_ptr_nonnull(d);
    char path[1024] = "";
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".log") == 0)
            snprintf(path, sizeof path, "%s/%s", pdir, e->d_name);
    }
    closedir(d);
    ck_assert(path[0]);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t c;
    ck_assert_int_eq(pread(fd, &c, 1, 69), 1);
    ck_assert_int_eq(c, 'v');
    c ^= 0xff;
    ck_assert_int_eq(pwrite(fd, &c, 1, 69), 1);
    close(fd);

    int32_t epochs[NP] = {-1, 1};
    br_pload_update(pl, epochs, NP);
    wait_count(&nbegin, 2); /* failed, tried again */
    ck_assert_int_eq(br_pload_check(pl, "1y", 2, NULL, NULL), KP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    ck_assert_int_eq(br_pload_loads(pl), 0);
    ck_assert_int_eq(get(&nrecs), 0);
}
END_TEST

START_TEST(view_moves_during_a_load)
{
    set_hold(true);
    int32_t epochs[NP] = {1, -1};
    br_pload_update(pl, epochs, NP);
    wait_count(&nbegin, 1);
    epochs[0] = 2;
    br_pload_update(pl, epochs, NP);
    set_hold(false);
    wait_loaded(pl, 0, 2);
    ck_assert_int_eq(get(&nbegin), 2);
    ck_assert_int_eq(br_pload_loads(pl), 1); /* the epoch-1 load was not counted */
}
END_TEST

START_TEST(leadership_lost)
{
    int32_t epochs[NP] = {1, 1};
    br_pload_update(pl, epochs, NP);
    wait_loaded(pl, 0, 1);
    wait_loaded(pl, 1, 1);
    epochs[1] = -1;
    br_pload_update(pl, epochs, NP);
    /* NOT_LED at once; lost ran on this thread before update returned */
    ck_assert_int_eq(br_pload_check(pl, "1y", 2, NULL, NULL), KP_ERR_NOT_COORDINATOR);
    ck_assert(!br_pload_loaded(pl, 1, -1));
    ck_assert(br_pload_loaded(pl, 0, 1));
    pthread_mutex_lock(&mu);
    ck_assert_int_eq(nlost, 1);
    ck_assert_int_eq(lost_n, NP);
    ck_assert(!lost_mask[0] && lost_mask[1]);
    ck_assert(pthread_equal(lost_thread, updater));
    pthread_mutex_unlock(&mu);
    wait_count(&ndrop, 1);
    pthread_mutex_lock(&mu);
    ck_assert_int_eq(drop_p, 1);
    ck_assert_int_eq(drop_np, NP);
    ck_assert(!pthread_equal(drop_thread, updater));
    pthread_mutex_unlock(&mu);
    /* the topic gone: everything lost, hashed with the old count */
    br_pload_update(pl, NULL, 0);
    ck_assert_int_eq(br_pload_partitions(pl), 0);
    ck_assert_int_eq(br_pload_check(pl, "0a", 2, NULL, NULL), KP_ERR_NOT_COORDINATOR);
    pthread_mutex_lock(&mu);
    ck_assert_int_eq(nlost, 2);
    ck_assert_int_eq(lost_n, NP);
    ck_assert(lost_mask[0] && !lost_mask[1]);
    pthread_mutex_unlock(&mu);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_pload");
    TCase *tc = tcase_create("pload");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, states_and_a_load);
    tcase_add_test(tc, transactions_and_markers_in_order);
    tcase_add_test(tc, failed_load_tried_again_a_second_later);
    tcase_add_test(tc, loaded_failing_run_again);
    tcase_add_test(tc, bad_crc_fails_the_load);
    tcase_add_test(tc, view_moves_during_a_load);
    tcase_add_test(tc, leadership_lost);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
