/*
 * test_st_repair_mt — st_log_repair while everything else runs: a writer appends (rolling
 * segments, the flusher syncing every few ms), a background scrubber re-reads the store, and
 * readers read at random offsets, while the main thread, batch after batch of the sealed
 * segments, flips a byte, waits for the fence and repairs the range with the batch's good
 * bytes. A reader never gets -EBADMSG at an offset that was never flipped, never a batch that
 * fails its CRC unless it was flipped, never a flipped batch's bad bytes in a read that began
 * after its fence was seen (the repair writes before it unfences), and every offset reads back
 * whole once all is over (nothing fenced, the scrubber content). Also built under ThreadSanitizer
 * (`make tsan`).
 */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "test_st_util.h"

enum { FIRST = 300, APPENDS = 600, READERS = 2, REPAIRS = 12, MAXOFF = 4 * (FIRST + APPENDS) + 16 };

static char dir[256];
static struct st_store *store;
static struct st_log *log_;
static atomic_bool stop;
static atomic_int failures;
static atomic_long reads_done;
static atomic_bool ever_bad[MAXOFF]; /* offsets of batches flipped at some point */
/* gen counts the fences the main thread has seen; seen_at[o]: the gen at which it saw the
 * fence of offset o (0: none). A read that begins after that must never get the range's bad
 * bytes: it is either refused (fenced) or served the repaired bytes (written before the fence
 * goes). */
static atomic_long gen, seen_at[MAXOFF];
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
    uint64_t rng = 17;
    static uint8_t buf[4 * 1024 + 256];
    for (int i = 0; i < APPENDS && !atomic_load(&stop); i++) {
        int nrec = 1 + (int)(tst_rand(&rng) % 4);
        size_t n = tst_batch(buf, sizeof buf, nrec, 20 + tst_rand(&rng) % 900, FIRST + i,
                             (uint64_t)(FIRST + i));
        struct iovec iv = {buf, n};
        struct st_append_result res;
        int err = st_log_append(log_, &iv, 1, 1, &res);
        if (err != 0) {
            report("append %d: %s", i, strerror(-err));
            break;
        }
        if (i % 4 == 0)
            sched_yield();
    }
    return NULL;
}

static void *scrubber(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        struct st_scrub_report rep;
        if (st_store_scrub(store, 64 * 1024, NULL, NULL, &rep) != 0)
            report("scrub failed");
        sched_yield();
    }
    return NULL;
}

/* Every batch of a read whole, contiguous, and valid unless it was flipped and its fence not
 * seen before the read began (g0). */
static void validate(const struct st_read *rd, int64_t off, long g0)
{
    int64_t next = -1;
    for (int i = 0; i < rd->n; i++) {
        const struct st_range *r = &rd->r[i];
        uint8_t *buf = malloc(r->len);
        if (pread(r->fd, buf, r->len, r->pos) != (ssize_t)r->len) {
            report("short pread of a held range");
            free(buf);
            return;
        }
        size_t at = 0;
        while (at < r->len) {
            struct kp_batch_hdr h;
            if (kp_batch_parse_hdr(buf + at, r->len - at, &h) != 0 ||
                at + kp_batch_size(&h) > r->len) {
                if (!atomic_load(&ever_bad[next >= 0 ? next : off]))
                    report("torn batch read at %lld", (long long)off);
                break;
            }
            if ((next >= 0 && h.base_offset != next) ||
                (next < 0 && (h.base_offset > off || h.base_offset + h.last_offset_delta < off))) {
                report("offsets not contiguous in a read at %lld", (long long)off);
                break;
            }
            if (kp_batch_validate(buf + at, r->len - at, 0, &h) != 0) {
                long g = atomic_load(&seen_at[h.base_offset]);
                if (!atomic_load(&ever_bad[h.base_offset]))
                    report("batch %lld fails its CRC but was never flipped",
                           (long long)h.base_offset);
                else if (g != 0 && g <= g0)
                    report("batch %lld served with its bad bytes after its fence was seen",
                           (long long)h.base_offset);
            }
            next = h.base_offset + h.last_offset_delta + 1;
            at += kp_batch_size(&h);
        }
        free(buf);
    }
}

static void *reader(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 7919 + 5;
    while (!atomic_load(&stop)) {
        int64_t end = st_log_end_offset(log_);
        int64_t off = (int64_t)(tst_rand(&rng) % (uint64_t)end);
        struct st_read rd;
        long g0 = atomic_load(&gen);
        int err = st_log_read(log_, off, 1 + tst_rand(&rng) % 32768, &rd);
        if (err == -EBADMSG) {
            if (!atomic_load(&ever_bad[off]))
                report("offset %lld fenced but never flipped", (long long)off);
            continue;
        }
        if (err != 0) {
            report("read at %lld: %d", (long long)off, err);
            break;
        }
        validate(&rd, off, g0);
        st_read_release(&rd);
        atomic_fetch_add(&reads_done, 1);
    }
    return NULL;
}

struct batch {
    struct st_seg *s; /* referenced: st__seg_put */
    int64_t pos, size, off, last;
};

/* The k-th batch of the log's sealed segments (the writer rolls new ones meanwhile: the list
 * is read inside the log's grace period, the segment referenced). */
static bool nth_batch(int k, struct batch *out)
{
    uint64_t e = st__grace_enter(&log_->grace);
    struct st_segvec *v = atomic_load(&log_->segs);
    bool found = false;
    for (int i = 0; i < v->n - 1 && !found; i++) {
        struct st_seg *s = v->s[i];
        int64_t size = atomic_load(&s->size), pos = 0;
        while (pos < size) {
            uint8_t b[KP_BATCH_HEADER_LEN];
            struct kp_batch_hdr h;
            if (tst_seg_pread(s, b, sizeof(b), pos) != (ssize_t)sizeof(b) ||
                kp_batch_parse_hdr(b, sizeof(b), &h) != 0)
                break;
            if (k-- == 0) {
                st__seg_ref(s);
                *out = (struct batch){s, pos, (int64_t)kp_batch_size(&h), h.base_offset,
                                      h.base_offset + h.last_offset_delta};
                found = true;
                break;
            }
            pos += (int64_t)kp_batch_size(&h);
        }
    }
    st__grace_exit(&log_->grace, e);
    return found;
}

START_TEST(t_repair_under_load)
{
    tst_mkdtemp(dir, sizeof(dir));
    struct st_log_config c = tst_cfg();
    c.segment_bytes = 48 * 1024;
    c.index_interval_bytes = 1024;
    c.flush_interval_ms = 5;
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    ck_assert_int_eq(st_topic_create(store, "mt", 1, &c), 0);
    log_ = tst_log_get(store, "mt", 2, 0);
    uint64_t rng = 3;
    for (int i = 0; i < FIRST; i++)
        tst_append1(log_, 1 + (int)(tst_rand(&rng) % 4), 20 + tst_rand(&rng) % 900, i, 1);
    tst_wait_settled(log_);
    ck_assert_int_ge(atomic_load(&log_->segs)->n, 4);

    pthread_t w, sc, rd[READERS];
    ck_assert_int_eq(pthread_create(&w, NULL, writer, NULL), 0);
    ck_assert_int_eq(pthread_create(&sc, NULL, scrubber, NULL), 0);
    for (int i = 0; i < READERS; i++)
        ck_assert_int_eq(pthread_create(&rd[i], NULL, reader, (void *)(uintptr_t)(i + 1)), 0);

    int repaired = 0;
    for (int k = 0; k < REPAIRS && atomic_load(&failures) == 0; k++) {
        struct batch b = {0};
        ck_assert(nth_batch(3 + 9 * k, &b));
        uint8_t *good = malloc((size_t)b.size);
        ck_assert_int_eq(tst_seg_pread(b.s, good, (size_t)b.size, b.pos), b.size);
        for (int64_t o = b.off; o <= b.last; o++)
            atomic_store(&ever_bad[o], true);
        uint8_t x = good[b.size / 2] ^ 0x08;
        ck_assert_int_eq(tst_seg_pwrite(b.s, &x, 1, b.pos + b.size / 2), 1);
        /* the background scrubber fences it (bounded) */
        struct st_fenced_range fr = {0};
        bool fenced = false;
        for (int t = 0; t < 20000 && !fenced; t++) {
            fenced = st_log_fenced_next(log_, b.off, &fr) == 1 && fr.off_lo == b.off;
            if (!fenced) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
        }
        ck_assert_msg(fenced, "batch at %lld not fenced", (long long)b.off);
        long g = atomic_fetch_add(&gen, 1) + 1;
        for (int64_t o = b.off; o <= b.last; o++)
            atomic_store(&seen_at[o], g);
        int perr = 0, rc = -EBUSY;
        /* the scrubber's pass holds its lock: the repair is refused, never waits (bounded) */
        for (int t = 0; t < 20000 && rc == -EBUSY; t++) {
            rc = st_log_repair(log_, b.off, good, (size_t)b.size, &perr);
            if (rc == -EBUSY) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
        }
        ck_assert_msg(rc == 0, "repair at %lld: %d", (long long)b.off, rc);
        ck_assert_int_eq(perr, 0);
        struct st_read r;
        ck_assert_int_eq(st_log_read(log_, b.off, 1, &r), 0);
        st_read_release(&r);
        repaired++;
        free(good);
        st__seg_put(b.s);
    }
    pthread_join(w, NULL);
    atomic_store(&stop, true);
    pthread_join(sc, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_join(rd[i], NULL);
    ck_assert_msg(atomic_load(&failures) == 0, "%d failure(s), first: %s", atomic_load(&failures),
                  first_failure);
    ck_assert_int_eq(repaired, REPAIRS);
    ck_assert_int_gt(atomic_load(&reads_done), 0);

    /* all over: nothing fenced, every offset whole, the scrubber content */
    tst_wait_settled(log_);
    struct st_fenced_range fr;
    ck_assert_int_eq(st_log_fenced_next(log_, 0, &fr), 0);
    struct st_scrub_report rep;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, NULL, NULL, &rep), 0);
    ck_assert_int_eq(rep.fenced, 0);
    int64_t off = 0, end = st_log_end_offset(log_);
    while (off < end) {
        struct st_read r;
        ck_assert_msg(st_log_read(log_, off, 64 * 1024, &r) == 0, "offset %lld", (long long)off);
        struct tst_seen seen;
        tst_check_read(&r, &seen);
        st_read_release(&r);
        off = seen.next;
    }
    fprintf(stderr, "test_st_repair_mt: %d ranges repaired under %ld reads\n", repaired,
            atomic_load(&reads_done));
    st_log_put(log_);
    st_store_close(store);
    tst_rmrf(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_repair_mt");
    TCase *tc = tcase_create("load");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, t_repair_under_load);
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
