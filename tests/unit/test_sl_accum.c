/*
 * test_sl_accum — the producer accumulator: records appended in place into RecordBatch v2
 * buffers that validate (CRC included) and iterate back to the same records; -ENOSPC at
 * batch.size; oversized records get their own batch; pooled buffers are reused (no
 * allocation per record once warm); partition queues keep FIFO order with retries at the
 * head; retried batches go back in send order once nothing of the partition is on the wire, and
 * a retry that would land after a later delivered batch fails instead.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_batch.h"
#include "sl_accum.h"
#include "tb_check.h"

static struct kp_bytes bytes(const char *s)
{
    return (struct kp_bytes){(const uint8_t *)s, (int32_t)strlen(s)};
}

START_TEST(test_append_close_iterate)
{
    struct sl__accum a;
    sl__accum_init(&a, 4096);
    struct sl__batch *b = sl__batch_get(&a, 100);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(b->cap, 4096);
    ck_assert_int_eq(sl__batch_open(b, 1000, 5), 0);
    struct kp_header h[2] = {{{"h1", 2}, {(const uint8_t *)"v1", 2}}, {{"h2", 2}, KP_BYTES_NULL}};
    int tags[10];
    for (int i = 0; i < 10; i++) {
        char k[16], v[32];
        snprintf(k, sizeof(k), "k%d", i);
        snprintf(v, sizeof(v), "value-%d", i);
        ck_assert_int_eq(sl__batch_append(b, 1000 + i, i == 3 ? KP_BYTES_NULL : bytes(k), bytes(v),
                                          i == 5 ? h : NULL, i == 5 ? 2 : 0, &tags[i], 10),
                         0);
    }
    ck_assert_int_eq(b->count, 10);
    ck_assert_uint_eq(b->bytes, 100);
    ck_assert_int_eq(sl__batch_close(&a, b), 0);
    struct kp_batch_hdr hdr;
    ck_assert_int_eq(kp_batch_validate(b->buf, b->size, KP_BATCH_FROM_PRODUCER, &hdr), 0);
    ck_assert_uint_eq(kp_batch_size(&hdr), b->size);
    ck_assert_int_eq(hdr.record_count, 10);
    ck_assert_int_eq(hdr.base_timestamp, 1000);
    ck_assert_int_eq(hdr.max_timestamp, 1009);
    ck_assert_int_eq(kp_batch_check_records(b->buf, &hdr), 0);
    struct kp_record_iter it;
    struct kp_record r;
    kp_record_iter_init(&it, b->buf, &hdr);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(kp_record_next(&it, &r), 1);
        ck_assert_int_eq(r.offset_delta, i);
        ck_assert_int_eq(r.timestamp_delta, i);
        char v[32];
        snprintf(v, sizeof(v), "value-%d", i);
        ck_assert_int_eq(r.value.len, (int32_t)strlen(v));
        ck_assert(memcmp(r.value.ptr, v, strlen(v)) == 0);
        if (i == 3)
            ck_assert_int_eq(r.key.len, -1);
        ck_assert_int_eq(r.header_count, i == 5 ? 2 : 0);
        ck_assert_ptr_eq(b->opq[i], &tags[i]);
    }
    ck_assert_int_eq(kp_record_next(&it, &r), 0);
    sl__batch_put(&a, b);
    sl__accum_destroy(&a);
}
END_TEST

START_TEST(test_full_batch_enospc_and_pool_reuse)
{
    struct sl__accum a;
    sl__accum_init(&a, 1024);
    struct sl__batch *b = sl__batch_get(&a, 100);
    sl__batch_open(b, 0, 0);
    char val[100];
    memset(val, 'x', sizeof(val));
    struct kp_bytes v = {(const uint8_t *)val, sizeof(val)};
    int n = 0, err;
    while ((err = sl__batch_append(b, 0, KP_BYTES_NULL, v, NULL, 0, NULL, 100)) == 0)
        n++;
    ck_assert_int_eq(err, -ENOSPC);
    ck_assert_int_eq(b->count, n);
    ck_assert_int_gt(n, 5);
    ck_assert_int_eq(sl__batch_close(&a, b), 0);
    ck_assert_uint_le(b->size, 1024);
    ck_assert_int_eq(kp_batch_validate(b->buf, b->size, 0, NULL), 0);
    uint8_t *buf = b->buf;
    sl__batch_put(&a, b);
    ck_assert_int_eq(a.pool_n, 1);
    /* The next batch comes from the pool: same buffer, reset state. */
    struct sl__batch *b2 = sl__batch_get(&a, 10);
    ck_assert_ptr_eq(b2->buf, buf);
    ck_assert_int_eq(b2->count, 0);
    ck_assert_uint_eq(b2->bytes, 0);
    ck_assert_int_eq(a.pool_n, 0);
    sl__batch_put(&a, b2);
    sl__accum_destroy(&a);
}
END_TEST

START_TEST(test_oversized_record_gets_own_batch)
{
    struct sl__accum a;
    sl__accum_init(&a, 1024);
    size_t big = 5000;
    char *val = malloc(big);
    memset(val, 'y', big);
    struct kp_bytes v = {(const uint8_t *)val, (int32_t)big};
    size_t need = KP_BATCH_HEADER_LEN + kp_batch_record_size(0, 0, KP_BYTES_NULL, v, NULL, 0);
    struct sl__batch *b = sl__batch_get(&a, need);
    ck_assert_uint_ge(b->cap, need);
    sl__batch_open(b, 0, 0);
    ck_assert_int_eq(sl__batch_append(b, 0, KP_BYTES_NULL, v, NULL, 0, NULL, big), 0);
    ck_assert_int_eq(sl__batch_close(&a, b), 0);
    ck_assert_int_eq(kp_batch_validate(b->buf, b->size, 0, NULL), 0);
    sl__batch_put(&a, b); /* not pool-sized: freed, not pooled */
    ck_assert_int_eq(a.pool_n, 0);
    free(val);
    sl__accum_destroy(&a);
}
END_TEST

/* Records final() verdicts in order. */
static struct sl__batch *finals[16];
static bool finals_ok[16];
static int n_finals;
static void final_cb(void *ctx, struct sl__batch *b, bool ok)
{
    (void)ctx;
    ck_assert_int_lt(n_finals, 16);
    finals[n_finals] = b;
    finals_ok[n_finals++] = ok;
}

struct qfix {
    struct sl__accum a;
    struct sl__ppart pp;
    struct sl__batch *b[4];
};

/* Four batches queued, then the first n sent. */
static void qsetup(struct qfix *f, int n)
{
    sl__accum_init(&f->a, 1024);
    memset(&f->pp, 0, sizeof(f->pp));
    n_finals = 0;
    for (int i = 0; i < 4; i++) {
        f->b[i] = sl__batch_get(&f->a, 10);
        sl__ppart_push_tail(&f->pp, f->b[i]);
    }
    for (int i = 0; i < n; i++) {
        ck_assert_ptr_eq(sl__ppart_pop(&f->pp), f->b[i]);
        sl__ppart_sent(&f->pp, f->b[i]);
    }
}

static void qteardown(struct qfix *f)
{
    for (int i = 0; i < 4; i++)
        sl__batch_put(&f->a, f->b[i]);
    sl__accum_destroy(&f->a);
}

START_TEST(test_retries_requeue_in_send_order)
{
    /* Three in flight, all fail retriably, answers in any order (a lost connection answers
     * newest first): they go back in send order, ahead of the unsent one, only once nothing
     * of the partition is on the wire; meanwhile the partition is held. */
    static const int orders[3][3] = {{2, 1, 0}, {0, 1, 2}, {1, 2, 0}};
    for (int o = 0; o < 3; o++) {
        struct qfix f;
        qsetup(&f, 3);
        ck_assert_uint_lt(f.b[0]->stamp, f.b[1]->stamp);
        ck_assert_int_eq(
            sl__ppart_answer(&f.pp, f.b[orders[o][0]], SL__ANSWER_RETRY, final_cb, NULL), 0);
        ck_assert_int_eq(f.pp.held, 1);
        ck_assert_int_eq(
            sl__ppart_answer(&f.pp, f.b[orders[o][1]], SL__ANSWER_RETRY, final_cb, NULL), 0);
        ck_assert_int_eq(
            sl__ppart_answer(&f.pp, f.b[orders[o][2]], SL__ANSWER_RETRY, final_cb, NULL), 3);
        ck_assert_int_eq(f.pp.held, 0);
        ck_assert_int_eq(n_finals, 0);
        ck_assert_ptr_null(f.pp.inflight);
        for (int i = 0; i < 4; i++)
            ck_assert_ptr_eq(sl__ppart_pop(&f.pp), f.b[i]);
        ck_assert_ptr_null(sl__ppart_pop(&f.pp));
        qteardown(&f);
    }
}
END_TEST

START_TEST(test_later_success_fails_earlier_retry)
{
    /* b0 wants a retry, then b1 (sent after it) is delivered: b0 can no longer go before b1. */
    struct qfix f;
    qsetup(&f, 2);
    ck_assert_int_eq(sl__ppart_answer(&f.pp, f.b[0], SL__ANSWER_RETRY, final_cb, NULL), 0);
    ck_assert_int_eq(sl__ppart_answer(&f.pp, f.b[1], SL__ANSWER_OK, final_cb, NULL), 0);
    ck_assert_int_eq(n_finals, 2);
    ck_assert_ptr_eq(finals[0], f.b[1]);
    ck_assert(finals_ok[0]);
    ck_assert_ptr_eq(finals[1], f.b[0]);
    ck_assert(!finals_ok[1]);
    ck_assert_int_eq(f.pp.held, 0);
    ck_assert_ptr_null(f.pp.inflight);
    ck_assert_ptr_eq(sl__ppart_pop(&f.pp), f.b[2]); /* the unsent ones are untouched */
    ck_assert_ptr_eq(sl__ppart_pop(&f.pp), f.b[3]);
    qteardown(&f);
}
END_TEST

START_TEST(test_earlier_success_keeps_later_retry)
{
    /* b1 wants a retry, b0 (sent before it) is delivered: b1 is retried, ahead of b2. */
    struct qfix f;
    qsetup(&f, 2);
    ck_assert_int_eq(sl__ppart_answer(&f.pp, f.b[1], SL__ANSWER_RETRY, final_cb, NULL), 0);
    ck_assert_int_eq(sl__ppart_answer(&f.pp, f.b[0], SL__ANSWER_OK, final_cb, NULL), 1);
    ck_assert_int_eq(n_finals, 1);
    ck_assert_ptr_eq(finals[0], f.b[0]);
    ck_assert_ptr_eq(sl__ppart_pop(&f.pp), f.b[1]);
    ck_assert_ptr_eq(sl__ppart_pop(&f.pp), f.b[2]);
    qteardown(&f);
}
END_TEST

START_TEST(test_final_failure_does_not_block_retry)
{
    struct qfix f;
    qsetup(&f, 3);
    ck_assert_int_eq(sl__ppart_answer(&f.pp, f.b[2], SL__ANSWER_RETRY, final_cb, NULL), 0);
    ck_assert_int_eq(sl__ppart_answer(&f.pp, f.b[0], SL__ANSWER_FAIL, final_cb, NULL), 0);
    ck_assert_int_eq(f.pp.held, 1);
    ck_assert_int_eq(sl__ppart_answer(&f.pp, f.b[1], SL__ANSWER_RETRY, final_cb, NULL), 2);
    ck_assert_int_eq(n_finals, 1);
    ck_assert_ptr_eq(finals[0], f.b[0]);
    ck_assert(!finals_ok[0]);
    ck_assert_ptr_eq(sl__ppart_pop(&f.pp), f.b[1]);
    ck_assert_ptr_eq(sl__ppart_pop(&f.pp), f.b[2]);
    ck_assert_ptr_eq(sl__ppart_pop(&f.pp), f.b[3]);
    qteardown(&f);
}
END_TEST

START_TEST(test_no_allocation_per_record_when_warm)
{
    /* The per-record opaque array grows geometrically inside a pooled batch and is kept: after
     * one warm-up batch, filling another batch does not change its capacity. */
    struct sl__accum a;
    sl__accum_init(&a, 64 * 1024);
    struct sl__batch *b = sl__batch_get(&a, 10);
    sl__batch_open(b, 0, 0);
    while (sl__batch_append(b, 0, KP_BYTES_NULL, bytes("v"), NULL, 0, NULL, 1) == 0)
        ;
    int32_t cap = b->opq_cap;
    void **opq = b->opq;
    int32_t n = b->count;
    sl__batch_put(&a, b);
    b = sl__batch_get(&a, 10);
    sl__batch_open(b, 0, 0);
    for (int32_t i = 0; i < n; i++)
        ck_assert_int_eq(sl__batch_append(b, 0, KP_BYTES_NULL, bytes("v"), NULL, 0, NULL, 1), 0);
    ck_assert_int_eq(b->opq_cap, cap);
    ck_assert_ptr_eq(b->opq, opq);
    sl__batch_put(&a, b);
    sl__accum_destroy(&a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sl_accum");
    TCase *tc = tcase_create("accum");
    tcase_add_test(tc, test_append_close_iterate);
    tcase_add_test(tc, test_full_batch_enospc_and_pool_reuse);
    tcase_add_test(tc, test_oversized_record_gets_own_batch);
    tcase_add_test(tc, test_retries_requeue_in_send_order);
    tcase_add_test(tc, test_later_success_fails_earlier_retry);
    tcase_add_test(tc, test_earlier_success_keeps_later_retry);
    tcase_add_test(tc, test_final_failure_does_not_block_retry);
    tcase_add_test(tc, test_no_allocation_per_record_when_warm);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
