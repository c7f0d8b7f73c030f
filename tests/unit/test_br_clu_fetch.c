/*
 * test_br_clu_fetch — the replica fetcher's parsing of a leader's answers (br_clu_fetch.h), no
 * network: the records of a partition split into whole batches (held ones skipped, a partial
 * last batch left for the next fetch, bad headers and diverging offsets refused), and a Fetch
 * v12 response frame decoded, truncated at every length and with every byte overwritten
 * (ASan/UBSan: a broken or hostile leader cannot make the follower read outside the frame).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_clu_fetch.h"
#include "kp_batch.h"
#include "kp_msg.h"
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

START_TEST(batches_split_whole)
{
    three_batches();
    struct iovec iov[8];
    size_t used = 0;
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used), NB);
    ck_assert_uint_eq(used, rlen);
    ck_assert_ptr_eq(iov[0].iov_base, recs);
    ck_assert_uint_eq(iov[1].iov_len, bsize[1]);
    /* held already: skipped */
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, PER, iov, 8, &used), NB - 1);
    ck_assert_ptr_eq(iov[0].iov_base, recs + bsize[0]);
    ck_assert_uint_eq(used, rlen);
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 3 * PER, iov, 8, &used), 0);
    ck_assert_uint_eq(used, rlen);
    /* a batch holding from but starting below it: diverging logs */
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 3, iov, 8, &used), -ERANGE);
    /* a partial last batch is left for the next fetch */
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen - 10, 0, iov, 8, &used), NB - 1);
    ck_assert_uint_eq(used, bsize[0] + bsize[1]);
    /* at most max at a time */
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 1, &used), 1);
    ck_assert_uint_eq(used, bsize[0]);
    /* less than a header: nothing */
    ck_assert_int_eq(br_clu_fetch_batches(recs, 40, 0, iov, 8, &used), 0);
    ck_assert_int_eq(br_clu_fetch_batches(recs, 0, 0, iov, 8, &used), 0);
}
END_TEST

START_TEST(batches_bad_headers_refused)
{
    struct iovec iov[8];
    size_t used = 0;
    /* batchLength below a header's */
    three_batches();
    kp_store_be32(recs + bsize[0] + 8, 10);
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used), -EBADMSG);
    /* negative batchLength */
    three_batches();
    kp_store_be32(recs + 8, 0x80000000u);
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used), -EBADMSG);
    /* huge batchLength: never a whole batch here, nothing taken, nothing read past len */
    three_batches();
    kp_store_be32(recs + bsize[0] + 8, 0x7ffffff0u);
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used), 1);
    ck_assert_uint_eq(used, bsize[0]);
    /* magic not 2 */
    three_batches();
    recs[bsize[0] + 16] = 1;
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used), -EBADMSG);
    /* offsets going backwards */
    three_batches();
    kp_batch_set_base_offset(recs + bsize[0], 0);
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used), -EBADMSG);
    /* a negative base offset */
    three_batches();
    kp_batch_set_base_offset(recs, -5);
    ck_assert_int_eq(br_clu_fetch_batches(recs, rlen, 0, iov, 8, &used), -EBADMSG);
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
                        (void)br_clu_fetch_batches(m, (size_t)r.len, 0, iov, 8, &used);
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
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, batches_split_whole);
    tcase_add_test(tc, batches_bad_headers_refused);
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
