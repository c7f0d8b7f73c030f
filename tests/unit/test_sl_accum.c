/*
 * test_sl_accum — the producer accumulator: records appended in place into RecordBatch v2
 * buffers that validate (CRC included) and iterate back to the same records; -ENOSPC at
 * batch.size; oversized records get their own batch; pooled buffers are reused (no
 * allocation per record once warm); partition queues keep FIFO order with retries at the
 * head; the in-flight stamp tells whether a later batch of the partition is on the wire.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_batch.h"
#include "sl_accum.h"

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
    ck_assert_int_eq(sl__batch_close(b), 0);
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
    ck_assert_int_eq(sl__batch_close(b), 0);
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
    ck_assert_int_eq(sl__batch_close(b), 0);
    ck_assert_int_eq(kp_batch_validate(b->buf, b->size, 0, NULL), 0);
    sl__batch_put(&a, b); /* not pool-sized: freed, not pooled */
    ck_assert_int_eq(a.pool_n, 0);
    free(val);
    sl__accum_destroy(&a);
}
END_TEST

START_TEST(test_partition_queue_order)
{
    struct sl__accum a;
    sl__accum_init(&a, 1024);
    struct sl__ppart pp;
    memset(&pp, 0, sizeof(pp));
    struct sl__batch *b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = sl__batch_get(&a, 10);
        sl__ppart_push_tail(&pp, b[i]);
    }
    /* Send 0 and 1; 1 fails first while 0 is still out, then 0 fails: both go back in order. */
    ck_assert_ptr_eq(sl__ppart_pop(&pp), b[0]);
    sl__ppart_sent(&pp, b[0]);
    ck_assert_ptr_eq(sl__ppart_pop(&pp), b[1]);
    sl__ppart_sent(&pp, b[1]);
    ck_assert_uint_lt(b[0]->stamp, b[1]->stamp);
    /* Newest first (as a lost connection completes them): no later batch is in flight. */
    ck_assert(!sl__ppart_returned(&pp, b[1]));
    sl__ppart_push_head(&pp, b[1]);
    ck_assert(!sl__ppart_returned(&pp, b[0]));
    sl__ppart_push_head(&pp, b[0]);
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_eq(sl__ppart_pop(&pp), b[i]);
    ck_assert_ptr_null(sl__ppart_pop(&pp));
    /* Oldest first: the older one sees the later batch still in flight (no retry allowed). */
    sl__ppart_sent(&pp, b[2]);
    sl__ppart_sent(&pp, b[3]);
    ck_assert(sl__ppart_returned(&pp, b[2]));
    ck_assert(!sl__ppart_returned(&pp, b[3]));
    ck_assert_ptr_null(pp.inflight);
    for (int i = 0; i < 4; i++)
        sl__batch_put(&a, b[i]);
    sl__accum_destroy(&a);
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
    tcase_add_test(tc, test_partition_queue_order);
    tcase_add_test(tc, test_no_allocation_per_record_when_warm);
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
