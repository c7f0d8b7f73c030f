/*
 * test_st_log_mt — one writer appending (rolling segments) while reader threads read up to
 * the published end, a maintenance thread applies retention (deleting segments under the
 * readers) and the flusher syncs: readers must never see a torn or invalid batch, offsets
 * must be contiguous, and held ranges must stay readable. Also built under ThreadSanitizer
 * (`make tsan`).
 */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "test_st_util.h"

enum { APPENDS = 1500, READERS = 3 };

static char dir[256];
static struct st_store *store;
static struct st_log *log_;
static atomic_bool writer_done;
static atomic_int failures;
static atomic_long reads_done;
static char first_failure[256];
static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
    pthread_mutex_lock(&fail_mu);
    if (atomic_fetch_add(&failures, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(first_failure, sizeof(first_failure), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&fail_mu);
}

static void *writer(void *arg)
{
    (void)arg;
    uint64_t rng = 1;
    uint8_t *buf = malloc(4 * 4096);
    for (int i = 0; i < APPENDS; i++) {
        int per = 1 + (int)(tst_rand(&rng) % 3);
        struct iovec iv[3];
        size_t at = 0;
        for (int k = 0; k < per; k++) {
            struct kp_batch_builder b;
            kp_batch_begin(&b, buf + at, 4096, i);
            int nrec = 1 + (int)(tst_rand(&rng) % 4);
            size_t vlen = 20 + tst_rand(&rng) % 600;
            uint8_t val[700];
            memset(val, (int)(i + k), vlen);
            for (int r = 0; r < nrec; r++)
                kp_batch_add(&b, i, KP_BYTES_NULL, (struct kp_bytes){val, (int32_t)vlen}, NULL, 0);
            long n = kp_batch_finish(&b);
            if (n <= 0) {
                report("builder failed at append %lld (%lld)", (long long)i, (long long)n);
                break;
            }
            iv[k] = (struct iovec){buf + at, (size_t)n};
            at += (size_t)n;
        }
        struct st_append_result res;
        int err = st_log_append(log_, iv, per, 1000 + i, &res);
        if (err != 0)
            report("append %lld failed: %lld", (long long)i, (long long)err);
        if (i % 4 == 0)
            sched_yield(); /* let the readers interleave on a 2-core machine */
    }
    free(buf);
    atomic_store(&writer_done, true);
    return NULL;
}

static void *maintainer(void *arg)
{
    (void)arg;
    while (!atomic_load(&writer_done)) {
        st_store_maintain(store, 1000 + APPENDS);
        st_log_request_sync(log_);
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Validates every batch of a read; returns the offset after the last batch, or -1. */
static int64_t validate(const struct st_read *rd, int64_t want_first)
{
    int64_t next = -1;
    for (int i = 0; i < rd->n; i++) {
        const struct st_range *r = &rd->r[i];
        uint8_t *buf = malloc(r->len);
        if (pread(r->fd, buf, r->len, r->pos) != (ssize_t)r->len) {
            report("short pread of a held range (%lld bytes at %lld)", (long long)r->len,
                   (long long)r->pos);
            free(buf);
            return -1;
        }
        size_t at = 0;
        while (at < r->len) {
            struct kp_batch_hdr h;
            int err = kp_batch_validate(buf + at, r->len - at, 0, &h);
            if (err != 0) {
                report("torn or invalid batch (%lld) at offset %lld", (long long)err,
                       (long long)next);
                free(buf);
                return -1;
            }
            if (next >= 0 && h.base_offset != next) {
                report("offset %lld where %lld was expected", (long long)h.base_offset,
                       (long long)next);
                free(buf);
                return -1;
            }
            if (next < 0 &&
                (h.base_offset > want_first || h.base_offset + h.last_offset_delta < want_first)) {
                report("first batch %lld does not hold %lld", (long long)h.base_offset,
                       (long long)want_first);
                free(buf);
                return -1;
            }
            next = h.base_offset + h.last_offset_delta + 1;
            at += kp_batch_size(&h);
        }
        free(buf);
    }
    return next;
}

static void *reader(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 7919 + 3;
    int64_t follow = 0; /* a tailing consumer, interleaved with random reads */
    for (;;) {
        bool done = atomic_load(&writer_done);
        int64_t start = st_log_start_offset(log_), end = st_log_end_offset(log_);
        int64_t off;
        bool tail = tst_rand(&rng) % 2;
        if (tail) {
            if (follow < start)
                follow = start;
            off = follow;
        } else {
            off = end > start ? start + (int64_t)(tst_rand(&rng) % (uint64_t)(end - start)) : start;
        }
        size_t max = 1 + tst_rand(&rng) % 65536;
        struct st_read rd;
        int err = st_log_read(log_, off, max, &rd);
        if (err == -ERANGE && off < st_log_start_offset(log_)) {
            continue; /* retention moved the start meanwhile */
        }
        if (err != 0) {
            report("read at %lld failed: %lld", (long long)off, (long long)err);
            break;
        }
        atomic_fetch_add(&reads_done, 1);
        if (rd.n > 0) {
            int64_t next = validate(&rd, off);
            if (next < 0) {
                st_read_release(&rd);
                break;
            }
            if (tail)
                follow = next;
        } else if (off < end) {
            report("empty read at %lld below end %lld", (long long)off, (long long)end);
        }
        st_read_release(&rd);
        if (done && (!tail || follow >= st_log_end_offset(log_)))
            break;
    }
    return NULL;
}

START_TEST(t_writer_and_readers)
{
    tst_mkdtemp(dir, sizeof(dir));
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 64 * 1024;
    c.index_interval_bytes = 1024;
    c.retention_bytes = 256 * 1024;
    c.flush_interval_ms = 5;
    c.index_max_bytes = 8;
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "mt", 1, &c), 0);
    log_ = st_log_get(store, "mt", 2, 0);
    ck_assert_ptr_nonnull(log_);

    pthread_t w, m, r[READERS];
    ck_assert_int_eq(pthread_create(&w, NULL, writer, NULL), 0);
    ck_assert_int_eq(pthread_create(&m, NULL, maintainer, NULL), 0);
    for (intptr_t i = 0; i < READERS; i++)
        ck_assert_int_eq(pthread_create(&r[i], NULL, reader, (void *)i), 0);
    pthread_join(w, NULL);
    pthread_join(m, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_join(r[i], NULL);
    ck_assert_msg(atomic_load(&failures) == 0, "%d failures, first: %s", atomic_load(&failures),
                  first_failure);
    printf("st_log_mt: %ld reads, log [%lld, %lld)\n", atomic_load(&reads_done),
           (long long)st_log_start_offset(log_), (long long)st_log_end_offset(log_));
    ck_assert_int_gt(atomic_load(&reads_done), READERS);
    ck_assert_int_gt(st_log_start_offset(log_), 0); /* retention ran under the readers */
    tst_check_index(log_);
    st_log_put(log_);
    st_store_close(store);
    tst_rmrf(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_log_mt");
    TCase *tc = tcase_create("mt");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, t_writer_and_readers);
    suite_add_tcase(s, tc);
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
