/*
 * test_st_scrub_mt — the scrubber fencing while a writer appends (rolling segments), the
 * flusher syncs every few ms and readers read at random offsets: records flipped in sealed
 * segments before, and in the active segment during the run, get fenced; a reader never gets
 * -EBADMSG at a good offset, and never a batch that fails its CRC unless it is one of the
 * flipped ones that the scrubber has not reached yet. Also built under ThreadSanitizer
 * (`make tsan`).
 */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "test_st_util.h"

enum { FIRST = 200, APPENDS = 700, READERS = 2, MAXOFF = 4 * (FIRST + APPENDS) + 16 };

static char dir[256];
static struct st_store *store;
static struct st_log *log_;
static atomic_bool writer_done, stop_scrub;
static atomic_int failures;
static atomic_long reads_done, fenced_total;
static atomic_bool bad[MAXOFF]; /* offsets of flipped batches */
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

static void append_some(uint64_t *rng, int i)
{
    int nrec = 1 + (int)(tst_rand(rng) % 4);
    tst_append1(log_, nrec, 20 + tst_rand(rng) % 900, i, 1);
}

/* Flips a bit in the records of the batch holding offset off (below the durable end),
 * marking its offsets bad first; false when it is not found. */
static bool flip_batch(int64_t off)
{
    struct st_segvec *v = atomic_load(&log_->segs); /* segments are never removed here */
    for (int i = v->n - 1; i >= 0; i--) {
        struct st_seg *s = v->s[i];
        if (s->base > off)
            continue;
        int64_t size = atomic_load(&s->size), pos = 0;
        while (pos < size) {
            uint8_t b[KP_BATCH_HEADER_LEN];
            struct kp_batch_hdr h;
            if (tst_seg_pread(s, b, sizeof(b), pos) != (ssize_t)sizeof(b) ||
                kp_batch_parse_hdr(b, sizeof(b), &h) != 0)
                return false;
            if (off <= h.base_offset + h.last_offset_delta) {
                for (int64_t o = h.base_offset; o <= h.base_offset + h.last_offset_delta; o++)
                    atomic_store(&bad[o], true);
                int64_t at = pos + KP_BATCH_HEADER_LEN + 5;
                uint8_t x;
                if (tst_seg_pread(s, &x, 1, at) != 1)
                    return false;
                x ^= 0x20;
                return tst_seg_pwrite(s, &x, 1, at) == 1;
            }
            pos += (int64_t)kp_batch_size(&h);
        }
        return false;
    }
    return false;
}

/* Corrupts a batch of the active segment below its synced end; false when there is none
 * yet (called from the writer thread: no segment list changes under it). */
static bool flip_active(void)
{
    int64_t d = st_log_durable_offset(log_);
    struct st_segvec *v = atomic_load(&log_->segs);
    int64_t base = v->s[v->n - 1]->base;
    if (d <= base + 4)
        return false;
    if (!flip_batch(d - 2))
        report("cannot flip in the active segment below %lld", (long long)d);
    return true;
}

static void *writer(void *arg)
{
    (void)arg;
    uint64_t rng = 11;
    bool flipped = false;
    for (int i = 0; i < APPENDS; i++) {
        append_some(&rng, FIRST + i);
        if (!flipped && i > APPENDS / 2) /* from halfway on */
            flipped = flip_active();
        if (i % 4 == 0)
            sched_yield();
    }
    /* under load the flusher may not have caught up with a young active segment yet */
    for (int t = 0; !flipped && t < 10000; t++) {
        st_log_request_sync(log_);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        flipped = flip_active();
    }
    if (!flipped)
        report("the active segment never had synced batches to flip");
    atomic_store(&writer_done, true);
    return NULL;
}

static void *scrubber(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_scrub)) {
        struct st_scrub_report rep;
        if (st_store_scrub(store, 64 * 1024, NULL, NULL, &rep) != 0)
            report("scrub failed");
        atomic_fetch_add(&fenced_total, rep.fenced);
        sched_yield();
    }
    return NULL;
}

/* Checks every batch of a read: whole, contiguous, and valid unless flipped. */
static void validate(const struct st_read *rd, int64_t off)
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
                report("torn batch read at %lld", (long long)off);
                break;
            }
            if ((next >= 0 && h.base_offset != next) ||
                (next < 0 && (h.base_offset > off || h.base_offset + h.last_offset_delta < off))) {
                report("offsets not contiguous in a read at %lld", (long long)off);
                break;
            }
            if (kp_batch_validate(buf + at, r->len - at, 0, &h) != 0 &&
                !atomic_load(&bad[h.base_offset]))
                report("batch %lld fails its CRC but was not flipped", (long long)h.base_offset);
            next = h.base_offset + h.last_offset_delta + 1;
            at += kp_batch_size(&h);
        }
        free(buf);
    }
}

static void *reader(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 7919 + 5;
    while (!atomic_load(&writer_done)) {
        int64_t end = st_log_end_offset(log_);
        int64_t off = (int64_t)(tst_rand(&rng) % (uint64_t)end);
        struct st_read rd;
        int err = st_log_read(log_, off, 1 + tst_rand(&rng) % 32768, &rd);
        if (err == -EBADMSG) {
            if (!atomic_load(&bad[off]))
                report("offset %lld fenced but good", (long long)off);
            continue;
        }
        if (err != 0) {
            report("read at %lld: %d", (long long)off, err);
            break;
        }
        validate(&rd, off);
        st_read_release(&rd);
        atomic_fetch_add(&reads_done, 1);
    }
    return NULL;
}

START_TEST(t_scrubber_under_load)
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
        append_some(&rng, i);
    tst_wait_settled(log_);
    ck_assert_int_ge(atomic_load(&log_->segs)->n, 3);
    /* three batches of sealed segments flipped before the run */
    ck_assert(flip_batch(10));
    ck_assert(flip_batch(st_log_end_offset(log_) / 2));
    ck_assert(flip_batch(st_log_end_offset(log_) - 30));

    pthread_t w, sc, r[READERS];
    ck_assert_int_eq(pthread_create(&sc, NULL, scrubber, NULL), 0);
    ck_assert_int_eq(pthread_create(&w, NULL, writer, NULL), 0);
    for (intptr_t i = 0; i < READERS; i++)
        ck_assert_int_eq(pthread_create(&r[i], NULL, reader, (void *)i), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_join(r[i], NULL);
    atomic_store(&stop_scrub, true);
    pthread_join(sc, NULL);
    ck_assert_msg(atomic_load(&failures) == 0, "%d failures, first: %s", atomic_load(&failures),
                  first_failure);

    /* a last full pass: every flipped batch fenced, every other offset served */
    tst_wait_settled(log_);
    struct st_scrub_report rep;
    ck_assert_int_eq(st_store_scrub(store, INT64_MAX / 2, NULL, NULL, &rep), 0);
    atomic_fetch_add(&fenced_total, rep.fenced);
    ck_assert_int_eq(atomic_load(&fenced_total), 4);
    int64_t end = st_log_end_offset(log_);
    for (int64_t o = 0; o < end; o++) {
        struct st_read rd;
        int rc = st_log_read(log_, o, 1, &rd);
        if (atomic_load(&bad[o])) {
            ck_assert_msg(rc == -EBADMSG, "offset %lld: %d", (long long)o, rc);
            continue;
        }
        ck_assert_msg(rc == 0, "offset %lld: %d", (long long)o, rc);
        struct tst_seen seen;
        tst_check_read(&rd, &seen);
        st_read_release(&rd);
    }
    printf("st_scrub_mt: %ld reads, log [0, %lld), %ld ranges fenced\n", atomic_load(&reads_done),
           (long long)end, atomic_load(&fenced_total));
    st_log_put(log_);
    st_store_close(store);
    tst_rmrf(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_scrub_mt");
    TCase *tc = tcase_create("mt");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, t_scrubber_under_load);
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
