/*
 * test_br_clu_fetch — the replica fetcher's parsing of a leader's answers (br_clu_fetch.h), no
 * network: the records of a partition split into whole batches (held ones skipped, a partial
 * last batch left for the next fetch, bad headers and diverging offsets refused), and a Fetch
 * v12 response frame decoded, truncated at every length and with every byte overwritten
 * (ASan/UBSan: a broken or hostile leader cannot make the follower read outside the frame).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_clu_fetch.h"
#include "kp_batch.h"
#include "kp_crc32c.h"
#include "kp_msg.h"
#include "st.h"
#include "st_clean.h"
#include "test_st_util.h"
#include "tb_kafka.h"

#define NB  3
#define PER 6 /* records per batch */

static uint8_t recs[8192];
static size_t rlen, bsize[NB];

/* Three batches of PER records: offsets [0, 6), [6, 12), [12, 18). */
static void three_batches(void)
{
    rlen = 0;
    for (int b = 0; b < NB; b++) {
        long n = tb_batch_values(recs + rlen, sizeof recs - rlen, "v", b * PER, PER, 0, false, 0);
        ck_assert_int_gt(n, 0);
        kp_batch_set_base_offset(recs + rlen, b * PER);
        bsize[b] = (size_t)n;
        rlen += (size_t)n;
    }
}

/* ---- the repair scheduler's local checks (br_clu_repair_precheck): how many Fetches a
 * partition's looks at its fenced ranges (one every REPAIR_RETRY_MS) would send ---------- */

static const struct st_fenced_range RANGE = {
    .seg_base = 100, .off_lo = 120, .off_hi = 127, .pos_lo = 4096, .pos_hi = 4374, .sealed = true};

/* looks at fr, n times, as the scheduler does: a Fetch when the precheck lets it through,
 * answered rc (st_log_repair's verdict on the bytes), remembered as the fetcher does */
static int fetches(struct br_clu_repair_memo *m, const struct st_fenced_range *fr, int n, int rc)
{
    int sent = 0;
    for (int i = 0; i < n; i++) {
        if (br_clu_repair_precheck(m, fr) != 0)
            continue;
        sent++;
        (void)br_clu_repair_remember(m, fr, rc);
    }
    return sent;
}

START_TEST(repair_active_segment_fetched_once_rolled)
{
    struct br_clu_repair_memo m = {0};
    struct st_fenced_range fr = RANGE;
    fr.sealed = false; /* in the active segment: st_log_repair would answer -EAGAIN */
    ck_assert_int_eq(br_clu_repair_precheck(&m, &fr), -EAGAIN);
    ck_assert_int_eq(fetches(&m, &fr, 100, -EAGAIN), 0);
    fr.sealed = true; /* rolled */
    ck_assert_int_eq(fetches(&m, &fr, 1, 0), 1);
}
END_TEST

START_TEST(repair_too_large_fetched_once)
{
    /* a range larger than one answer may be one batch (sent whole, KIP-74: repaired); one of
     * several batches, refused -EFBIG once, is not fetched again */
    struct br_clu_repair_memo m = {0};
    ck_assert_int_eq(br_clu_repair_precheck(&m, &RANGE), 0);
    ck_assert_int_eq(fetches(&m, &RANGE, 100, -EFBIG), 1);
    ck_assert_int_eq(br_clu_repair_precheck(&m, &RANGE), -EFBIG);
}
END_TEST

START_TEST(repair_lasting_refusals_remembered)
{
    struct br_clu_repair_memo m = {0};
    /* -EXDEV (compacted, a shared digest chunk), -EOPNOTSUPP (transactional): one Fetch
     * each, then none until the fences change */
    ck_assert_int_eq(fetches(&m, &RANGE, 100, -EXDEV), 1);
    ck_assert_int_eq(br_clu_repair_precheck(&m, &RANGE), -EXDEV);
    struct st_fenced_range o = RANGE;
    o.off_lo = 200, o.off_hi = 201, o.pos_lo = 9000, o.pos_hi = 9100;
    ck_assert_int_eq(fetches(&m, &o, 100, -EOPNOTSUPP), 1);
    /* a compacted segment's sidecar not written yet (-EINPROGRESS) is not remembered */
    struct st_fenced_range w = RANGE;
    w.off_lo = 250, w.off_hi = 251, w.pos_lo = 9500, w.pos_hi = 9600;
    ck_assert_int_eq(fetches(&m, &w, 5, -EINPROGRESS), 5);
    ck_assert(!br_clu_repair_remember(&m, &w, -EINPROGRESS));
    /* refusals another replica's bytes may change are fetched again at each look */
    struct st_fenced_range b = RANGE;
    b.off_lo = 300, b.pos_lo = 10000, b.pos_hi = 10100;
    ck_assert_int_eq(fetches(&m, &b, 10, -EBADMSG), 10);
    ck_assert_int_eq(fetches(&m, &b, 10, -EILSEQ), 10);
    /* the same offsets in another segment (or at other bytes): another range */
    struct st_fenced_range c = RANGE;
    c.seg_base = 0;
    ck_assert_int_eq(br_clu_repair_precheck(&m, &c), 0);
    /* bounded: BR_CLU_REFUSED_MAX kept; beyond, nothing new is (fetched at each look) */
    for (int i = 0; i < 50; i++) {
        struct st_fenced_range x = RANGE;
        x.off_lo = 1000 + i;
        ck_assert_int_eq(fetches(&m, &x, 3, -EXDEV), i < BR_CLU_REFUSED_MAX - 2 ? 1 : 3);
        ck_assert_int_le(m.n, BR_CLU_REFUSED_MAX);
    }
    ck_assert_int_eq(br_clu_repair_precheck(&m, &RANGE), -EXDEV); /* kept */
    /* forgotten (fences moved, or a range repaired): fetched again */
    br_clu_repair_forget(&m);
    ck_assert_int_eq(m.n, 0);
    ck_assert_int_eq(fetches(&m, &RANGE, 5, 0), 5);
}
END_TEST

/* The scheduler walks a partition's fenced ranges in offset order, one walk every
 * REPAIR_RETRY_MS: with more lasting refusals than the table holds, each walk fetches only the
 * ranges beyond it (a table replacing its oldest entry evicted the next range's at each
 * refusal: every range fetched at every walk). */
START_TEST(repair_memo_stable_under_a_walk)
{
    enum { N = BR_CLU_REFUSED_MAX + 3 };
    struct br_clu_repair_memo m = {0};
    struct st_fenced_range r[N];
    for (int i = 0; i < N; i++)
        r[i] = (struct st_fenced_range){.seg_base = 0,
                                        .off_lo = 100 * i,
                                        .off_hi = 100 * i + 10,
                                        .pos_lo = 1000 * i,
                                        .pos_hi = 1000 * i + 500,
                                        .sealed = true};
    for (int walk = 0; walk < 5; walk++) {
        int sent = 0;
        for (int i = 0; i < N; i++)
            sent += fetches(&m, &r[i], 1, i % 2 ? -EOPNOTSUPP : -EFBIG);
        if (walk == 0)
            ck_assert_int_eq(sent, N);
        else
            ck_assert_msg(sent <= N - BR_CLU_REFUSED_MAX, "walk %d fetched %d of %d ranges", walk,
                          sent, N);
    }
}
END_TEST

/* ---- a repair Fetch's answer (br_clu_repair_answer) ---------------------------------------- */

START_TEST(repair_answer_classified)
{
    three_batches();
    size_t take = 99;
    /* the range [0, 12): the first two batches */
    struct st_fenced_range fr = {.seg_base = 0,
                                 .off_lo = 0,
                                 .off_hi = 12,
                                 .pos_lo = 0,
                                 .pos_hi = (int64_t)(bsize[0] + bsize[1]),
                                 .sealed = true};
    int32_t big = 1 << 20, small = (int32_t)bsize[0] + 1; /* response_max */
    /* covered: the batches up to the range's end (not the third) */
    ck_assert_int_eq(br_clu_repair_answer(recs, rlen, 18, &fr, big, &take), 0);
    ck_assert_uint_eq(take, bsize[0] + bsize[1]);
    ck_assert_int_eq(br_clu_repair_answer(recs, rlen, -1, &fr, small, &take), 0);
    ck_assert_uint_eq(take, bsize[0] + bsize[1]);
    /* nothing came back: never the lasting "larger than an answer", whatever the range's size */
    ck_assert_int_eq(br_clu_repair_answer(NULL, 0, 18, &fr, small, &take), -ENODATA);
    ck_assert_int_eq(br_clu_repair_answer(NULL, 0, -1, &fr, big, &take), -ENODATA);
    ck_assert_uint_eq(take, 0);
    /* short of the range: larger than an answer, unless the other replica's high watermark is
     * below its end (it may send more later) */
    ck_assert_int_eq(br_clu_repair_answer(recs, bsize[0], 18, &fr, small, &take), -EFBIG);
    ck_assert_int_eq(br_clu_repair_answer(recs, bsize[0], 6, &fr, small, &take), -ENODATA);
    ck_assert_int_eq(br_clu_repair_answer(recs, bsize[0], 18, &fr, big, &take), -EBADMSG);
    ck_assert_int_eq(br_clu_repair_answer(recs, bsize[0] + 10, 18, &fr, big, &take), -EBADMSG);
    ck_assert_int_eq(br_clu_repair_answer(recs, 10, 18, &fr, big, &take), -EBADMSG);
    /* a header whose last offset + 1 overflows: malformed (UBSan: no signed overflow) */
    static uint8_t bad[8192];
    memcpy(bad, recs, rlen);
    int64_t edge[] = {INT64_MAX - 5, INT64_MAX - 3, INT64_MAX, -1, INT64_MIN};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        kp_batch_set_base_offset(bad, edge[i]);
        ck_assert_int_eq(br_clu_repair_answer(bad, rlen, 18, &fr, big, &take), -EBADMSG);
        ck_assert_uint_eq(take, 0);
    }
    /* the first batch good, the second's offsets overflowing */
    memcpy(bad, recs, rlen);
    kp_batch_set_base_offset(bad + bsize[0], INT64_MAX - 2);
    ck_assert_int_eq(br_clu_repair_answer(bad, rlen, 18, &fr, big, &take), -EBADMSG);
}
END_TEST

START_TEST(batches_split_whole)
{
    three_batches();
    struct iovec iov[8];
    size_t used = 0;
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used, NULL), NB);
    ck_assert_uint_eq(used, rlen);
    ck_assert_ptr_eq(iov[0].iov_base, recs);
    ck_assert_uint_eq(iov[1].iov_len, bsize[1]);
    /* held already: skipped */
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, PER, iov, 8, &used, NULL), NB - 1);
    ck_assert_ptr_eq(iov[0].iov_base, recs + bsize[0]);
    ck_assert_uint_eq(used, rlen);
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 3 * PER, iov, 8, &used, NULL), 0);
    ck_assert_uint_eq(used, rlen);
    /* a batch holding from but starting below it: diverging logs */
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 3, iov, 8, &used, NULL), -ERANGE);
    /* a partial last batch is left for the next fetch */
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen - 10, 0, iov, 8, &used, NULL), NB - 1);
    ck_assert_uint_eq(used, bsize[0] + bsize[1]);
    /* at most max at a time */
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 1, &used, NULL), 1);
    ck_assert_uint_eq(used, bsize[0]);
    /* less than a header: nothing */
    ck_assert_int_eq(br_clu_fetch_batches(recs, 40, 0, iov, 8, &used, NULL), 0);
    ck_assert_int_eq(br_clu_fetch_batches(recs, 0, 0, iov, 8, &used, NULL), 0);
}
END_TEST

START_TEST(batches_bad_headers_refused)
{
    struct iovec iov[8];
    size_t used = 0;
    /* batchLength below a header's */
    three_batches();
    kp_store_be32(recs + bsize[0] + 8, 10);
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used, NULL), -EBADMSG);
    /* negative batchLength */
    three_batches();
    kp_store_be32(recs + 8, 0x80000000u);
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used, NULL), -EBADMSG);
    /* huge batchLength: never a whole batch here, nothing taken, nothing read past len */
    three_batches();
    kp_store_be32(recs + bsize[0] + 8, 0x7ffffff0u);
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used, NULL), 1);
    ck_assert_uint_eq(used, bsize[0]);
    /* magic not 2 */
    three_batches();
    recs[bsize[0] + 16] = 1;
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used, NULL), -EBADMSG);
    /* offsets going backwards */
    three_batches();
    kp_batch_set_base_offset(recs + bsize[0], 0);
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used, NULL), -EBADMSG);
    /* a negative base offset */
    three_batches();
    kp_batch_set_base_offset(recs, -5);
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used, NULL), -EBADMSG);
}
END_TEST

/* recs: an empty batch over [0, 2 * PER) (as the cleaner merges a run of removed batches:
 * a header, no records, producerId -1 or pid with base sequence seq), then the third batch. */
static void gap_then_batch(int64_t pid, int32_t seq)
{
    three_batches();
    uint8_t third[4096];
    memcpy(third, recs + bsize[0] + bsize[1], bsize[2]);
    kp_store_be32(recs + KP_BATCH_OFF_LENGTH, KP_BATCH_HEADER_LEN - KP_BATCH_LOG_OVERHEAD);
    kp_store_be32(recs + KP_BATCH_OFF_LEADER_EPOCH, 7);
    kp_store_be32(recs + KP_BATCH_OFF_LAST_OFFSET_DELTA, 2 * PER - 1);
    kp_store_be64(recs + KP_BATCH_OFF_PRODUCER_ID, (uint64_t)pid);
    kp_store_be32(recs + KP_BATCH_OFF_BASE_SEQUENCE, (uint32_t)seq);
    kp_store_be32(recs + KP_BATCH_OFF_RECORD_COUNT, 0);
    kp_store_be32(recs + KP_BATCH_OFF_CRC,
                  kp_crc32c(0, recs + KP_BATCH_OFF_ATTRIBUTES,
                            KP_BATCH_HEADER_LEN - KP_BATCH_OFF_ATTRIBUTES));
    ck_assert_int_eq(kp_batch_validate(recs, KP_BATCH_HEADER_LEN, 0, NULL), 0);
    memcpy(recs + KP_BATCH_HEADER_LEN, third, bsize[2]);
    bsize[0] = KP_BATCH_HEADER_LEN;
    bsize[1] = bsize[2];
    rlen = KP_BATCH_HEADER_LEN + bsize[2];
}

START_TEST(batches_inside_an_empty_run_go_on)
{
    struct iovec iov[8];
    size_t used = 0;
    uint8_t empty[KP_BATCH_HEADER_LEN];
    struct kp_batch_hdr h;
    gap_then_batch(-1, -1);
    /* from its start: the empty batch as it is */
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used, empty), 2);
    ck_assert_ptr_eq(iov[0].iov_base, recs);
    /* a log ending inside it (it had the first PER offsets as their own batch): its tail */
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, PER + 1, iov, 8, &used, empty), 2);
    ck_assert_uint_eq(used, rlen);
    ck_assert_ptr_eq(iov[0].iov_base, empty);
    ck_assert_uint_eq(iov[0].iov_len, KP_BATCH_HEADER_LEN);
    ck_assert_int_eq(kp_batch_validate(empty, KP_BATCH_HEADER_LEN, 0, &h), 0);
    ck_assert_int_eq(h.base_offset, PER + 1);
    ck_assert_int_eq(h.base_offset + h.last_offset_delta, 2 * PER - 1);
    ck_assert_int_eq(h.record_count, 0);
    ck_assert_int_eq(h.leader_epoch, 7);
    ck_assert_int_eq(h.producer_id, -1);
    ck_assert_int_eq(h.base_sequence, -1);
    ck_assert_ptr_eq(iov[1].iov_base, recs + KP_BATCH_HEADER_LEN);
    /* at its last offset: one offset left */
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 2 * PER - 1, iov, 8, &used, empty), 2);
    ck_assert_int_eq(kp_batch_validate(empty, KP_BATCH_HEADER_LEN, 0, &h), 0);
    ck_assert_int_eq(h.last_offset_delta, 0);
    /* without a buffer: refused as before */
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, PER, iov, 8, &used, NULL), -ERANGE);
    /* a producer's empty batch: the sequence moves with the base (wrapping past INT32_MAX) */
    gap_then_batch(42, INT32_MAX - 2);
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 5, iov, 8, &used, empty), 2);
    ck_assert_int_eq(kp_batch_validate(empty, KP_BATCH_HEADER_LEN, 0, &h), 0);
    ck_assert_int_eq(h.producer_id, 42);
    ck_assert_int_eq(h.base_sequence, 2); /* INT32_MAX - 2 + 5, wrapped at INT32_MAX to 0 */
    /* a batch with records starting below from still means diverging logs */
    three_batches();
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 3, iov, 8, &used, empty), -ERANGE);
}
END_TEST

/* ---- a follower behind its leader's cleaning (storage underneath, no network) ---- */

/* Appends count batches of one record each, key "k<i % 5>", value "v<i>", to log. */
static void append_keyed(struct st_log *log, int first, int count)
{
    for (int i = first; i < first + count; i++) {
        uint8_t buf[256];
        char k[16], v[16];
        snprintf(k, sizeof k, "k%d", i % 5);
        snprintf(v, sizeof v, "v%d", i);
        struct kp_batch_builder b;
        ck_assert_int_eq(kp_batch_begin(&b, buf, sizeof buf, 1000 + i), 0);
        ck_assert_int_eq(
            kp_batch_add(&b, 1000 + i, (struct kp_bytes){(const uint8_t *)k, (int32_t)strlen(k)},
                         (struct kp_bytes){(const uint8_t *)v, (int32_t)strlen(v)}, NULL, 0),
            0);
        long n = kp_batch_finish(&b);
        ck_assert_int_gt(n, 0);
        struct iovec iv = {buf, (size_t)n};
        struct st_append_result r;
        ck_assert_int_eq(st_log_append(log, &iv, 1, 1000 + i, &r), 0);
    }
}

/* The leader's bytes from at (the batch holding it first), at most cap; their length. */
static size_t read_from(struct st_log *log, int64_t at, uint8_t *out, size_t cap)
{
    struct st_read rd;
    ck_assert_int_eq(st_log_read(log, at, cap, &rd), 0);
    size_t n = 0;
    for (int i = 0; i < rd.n && n + rd.r[i].len <= cap; i++) {
        ck_assert_int_eq(pread(rd.r[i].fd, out + n, rd.r[i].len, rd.r[i].pos),
                         (ssize_t)rd.r[i].len);
        n += rd.r[i].len;
    }
    st_read_release(&rd);
    return n;
}

/* The follower's fetch loop without the network, until its end reaches upto (or the leader's):
 * at most one batch per append when one_by_one. */
static void follow_to(struct st_log *lead, struct st_log *fol, int64_t upto, bool one_by_one)
{
    static uint8_t buf[1 << 16];
    uint8_t empty[KP_BATCH_HEADER_LEN];
    for (int guard = 0; guard < 10000 && st_log_end_offset(fol) < upto &&
                        st_log_end_offset(fol) < st_log_end_offset(lead);
         guard++) {
        size_t len = read_from(lead, st_log_end_offset(fol), buf, sizeof buf);
        struct iovec iov[16];
        size_t used = 0;
        int n = br_clu_fetch_batches(buf, len, st_log_end_offset(fol), iov, one_by_one ? 1 : 16,
                                     &used, empty);
        ck_assert_msg(n > 0, "follower at %lld: %d", (long long)st_log_end_offset(fol), n);
        struct st_append_result r;
        ck_assert_int_eq(st_log_append_replica(fol, iov, n, 5000, &r), 0);
    }
}

/* Every record of log at or above from, as "offset:value" lines into out. */
static void records_from(struct st_log *log, int64_t from, char *out, size_t cap)
{
    static uint8_t buf[1 << 16];
    size_t o = 0;
    out[0] = 0;
    for (int64_t at = from; at < st_log_end_offset(log);) {
        size_t len = read_from(log, at, buf, sizeof buf);
        ck_assert_uint_gt(len, 0);
        for (size_t p = 0; p < len;) {
            struct kp_batch_hdr h;
            ck_assert_int_eq(kp_batch_validate(buf + p, len - p, 0, &h), 0);
            struct kp_record_iter it;
            struct kp_record rec;
            kp_record_iter_init(&it, buf + p, &h);
            while (kp_record_next(&it, &rec) == 1) {
                int64_t off = h.base_offset + rec.offset_delta;
                if (off >= from && o + 64 < cap)
                    o += (size_t)snprintf(out + o, cap - o, "%lld:%.*s\n", (long long)off,
                                          (int)rec.value.len, (const char *)rec.value.ptr);
            }
            at = h.base_offset + h.last_offset_delta + 1;
            p += kp_batch_size(&h);
        }
    }
}

START_TEST(follower_behind_a_cleaning_goes_on)
{
    char dir[] = "/tmp/test_br_clu_fetch.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct st_store *store;
    ck_assert_int_eq(st_store_open(dir, NULL, &store), 0);
    struct st_log_config c;
    st_log_config_default(&c);
    ck_assert_int_eq(st_clean_config_set(&c, "cleanup.policy", "compact"), 0);
    c.segment_bytes = 4096;
    ck_assert_int_eq(st_topic_create(store, "lead", 1, &c), 0);
    ck_assert_int_eq(st_topic_create(store, "fol", 1, &c), 0);
    struct st_log *lead = st_log_get(store, "lead", 4, 0);
    struct st_log *fol = st_log_get(store, "fol", 3, 0);
    ck_assert_ptr_nonnull(lead);
    ck_assert_ptr_nonnull(fol);
    /* 300 updates of 5 keys, one per batch, over several segments; the follower copies the
     * first 101, one batch at a time (its end is a batch boundary of the leader's then) */
    append_keyed(lead, 0, 300);
    follow_to(lead, fol, 101, true);
    ck_assert_int_eq(st_log_end_offset(fol), 101);
    /* the leader's cleaner removes the updates that later ones replace: its sealed segments
     * become runs of empty batches, one of which holds the follower's end */
    tst_wait_settled(lead); /* (the cleaner takes durable, digested segments only) */
    struct st_clean_stats cs = {0};
    ck_assert_int_eq(st_log_clean(lead, 10000, ST_CLEAN_FORCE, &cs), 0);
    ck_assert_int_gt(cs.records_in, cs.records_out);
    static uint8_t b0[1 << 16];
    size_t l0 = read_from(lead, 101, b0, sizeof b0);
    struct kp_batch_hdr h0;
    ck_assert_int_eq(kp_batch_parse_hdr(b0, l0, &h0), 0);
    ck_assert_int_lt(h0.base_offset, 101); /* (the case under test) */
    ck_assert_int_eq(h0.record_count, 0);
    /* the follower goes on to the leader's end, with the leader's records */
    follow_to(lead, fol, INT64_MAX, false);
    ck_assert_int_eq(st_log_end_offset(fol), st_log_end_offset(lead));
    static char want[1 << 16], got[1 << 16];
    records_from(lead, 101, want, sizeof want);
    records_from(fol, 101, got, sizeof got);
    ck_assert_str_eq(got, want);
    ck_assert_ptr_nonnull(strstr(want, "299:v299"));
    st_log_put(lead);
    st_log_put(fol);
    st_store_close(store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static uint8_t frame[16384];
static size_t flen;

/* A Fetch v12 response (header and body, no size) with one topic, two partitions. */
static void v12_response(int32_t corr)
{
    three_batches();
    struct kp_fetch_resp_partition parts[2] = {
        {.partition = 0,
         .high_watermark = 18,
         .last_stable_offset = 18,
         .log_start_offset = 0,
         .n_aborted = -1,
         .preferred_read_replica = -1,
         .records = {recs, (int32_t)rlen}},
        {.partition = 1,
         .error_code = 6,
         .high_watermark = -1,
         .last_stable_offset = -1,
         .log_start_offset = -1,
         .n_aborted = -1,
         .preferred_read_replica = -1},
    };
    struct kp_fetch_resp_topic t = {
        .topic = kp_str_of("repl"), .n_partitions = 2, .partitions = parts};
    struct kp_fetch_resp resp = {.n_topics = 1, .topics = &t};
    struct kp_wr wr;
    kp_wr_init(&wr, frame, sizeof frame);
    ck_assert_int_eq(kp_resp_hdr_encode(&wr, KP_API_FETCH, 12, corr), 0);
    ck_assert_int_eq(kp_fetch_resp_encode(&wr, 12, &resp), 0);
    flen = kp_wr_len(&wr);
}

START_TEST(response_decoded_and_checked)
{
    static uint8_t mem[1 << 16];
    struct kp_arena a;
    kp_arena_init(&a, mem, sizeof mem);
    v12_response(42);
    struct kp_fetch_resp out;
    ck_assert_int_eq(br_clu_fetch_decode(frame, flen, 12, 42, &a, &out), 0);
    ck_assert_int_eq(out.n_topics, 1);
    ck_assert(kp_str_eq(out.topics[0].topic, "repl"));
    ck_assert_int_eq(out.topics[0].n_partitions, 2);
    const struct kp_fetch_resp_partition *p = &out.topics[0].partitions[0];
    ck_assert_int_eq(p->high_watermark, 18);
    ck_assert_int_eq(p->records.len, (int32_t)rlen);
    ck_assert(p->records.ptr >= frame && p->records.ptr + p->records.len <= frame + flen);
    ck_assert_int_eq(out.topics[0].partitions[1].error_code, 6);
    /* another request's answer */
    ck_assert_int_eq(br_clu_fetch_decode(frame, flen, 12, 43, &a, &out), -EPROTO);
    /* every cut is refused, inside the frame (ASan watches the copy's end) */
    for (size_t cut = 0; cut < flen; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, frame, cut);
        ck_assert_int_lt(br_clu_fetch_decode(copy, cut, 12, 42, &a, &out), 0);
        free(copy);
    }
    /* a tiny arena: -ENOMEM, not a crash */
    struct kp_arena small;
    kp_arena_init(&small, mem, 16);
    ck_assert_int_lt(br_clu_fetch_decode(frame, flen, 12, 42, &small, &out), 0);
}
END_TEST

START_TEST(response_any_byte_overwritten)
{
    static uint8_t mem[1 << 16];
    struct kp_arena a;
    kp_arena_init(&a, mem, sizeof mem);
    v12_response(7);
    uint8_t *copy = malloc(flen);
    for (size_t i = 0; i < flen; i++) {
        for (int v = 0; v < 3; v++) {
            static const uint8_t vals[] = {0x00, 0x7f, 0xff};
            memcpy(copy, frame, flen);
            copy[i] = vals[v];
            struct kp_fetch_resp out;
            if (br_clu_fetch_decode(copy, flen, 12, 7, &a, &out) != 0)
                continue;
            /* what decodes stays inside the frame, and its batches split safely */
            for (int32_t t = 0; t < out.n_topics; t++)
                for (int32_t k = 0; k < out.topics[t].n_partitions; k++) {
                    struct kp_bytes r = out.topics[t].partitions[k].records;
                    ck_assert(r.len >= 0 &&
                              (r.len == 0 || (r.ptr >= copy && r.ptr + r.len <= copy + flen)));
                    uint8_t *m = kp_bytes_mut(r, copy, flen);
                    struct iovec iov[8];
                    size_t used = 0;
                    if (m)
                        (void)br_clu_fetch_batches(m, (size_t)r.len, 0, iov, 8, &used, NULL);
                    ck_assert_uint_le(used, (size_t)r.len);
                }
        }
    }
    free(copy);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_clu_fetch");
    TCase *tr = tcase_create("repair");
    tcase_add_test(tr, repair_active_segment_fetched_once_rolled);
    tcase_add_test(tr, repair_too_large_fetched_once);
    tcase_add_test(tr, repair_lasting_refusals_remembered);
    tcase_add_test(tr, repair_memo_stable_under_a_walk);
    tcase_add_test(tr, repair_answer_classified);
    suite_add_tcase(s, tr);
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, batches_split_whole);
    tcase_add_test(tc, batches_bad_headers_refused);
    tcase_add_test(tc, batches_inside_an_empty_run_go_on);
    tcase_add_test(tc, follower_behind_a_cleaning_goes_on);
    tcase_add_test(tc, response_decoded_and_checked);
    tcase_add_test(tc, response_any_byte_overwritten);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
