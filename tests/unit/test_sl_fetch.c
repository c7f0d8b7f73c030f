/*
 * test_sl_fetch — the consumer's view of a fetched records field: complete batches are used,
 * a partial trailing batch is left for the next fetch, a first batch larger than what arrived
 * reports the size it needs (so the fetch size can grow), a corrupt header is an error.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kp_batch.h"
#include "sl_int.h"
#include "tb_check.h"

/* Three batches of 10 records at base offsets 100, 110, 120; returns total length. */
static size_t build(uint8_t *buf, size_t cap, size_t sizes[3])
{
    size_t off = 0;
    for (int b = 0; b < 3; b++) {
        struct kp_batch_builder bb;
        ck_assert_int_eq(kp_batch_begin(&bb, buf + off, cap - off, 1000), 0);
        for (int i = 0; i < 10; i++) {
            char v[32];
            memset(v, 'a' + b, sizeof(v));
            ck_assert_int_eq(kp_batch_add(&bb, 1000 + i, KP_BYTES_NULL,
                                          (struct kp_bytes){(const uint8_t *)v, sizeof(v)}, NULL,
                                          0),
                             0);
        }
        long n = kp_batch_finish(&bb);
        ck_assert_int_gt(n, 0);
        kp_batch_set_base_offset(buf + off, 100 + 10 * b);
        sizes[b] = (size_t)n;
        off += (size_t)n;
    }
    return off;
}

START_TEST(test_complete_batches)
{
    uint8_t buf[8192];
    size_t sz[3];
    size_t len = build(buf, sizeof(buf), sz);
    int64_t next = -1;
    size_t need = 99;
    ck_assert_int_eq(sl__scan_batches(buf, len, &next, &need), (long)len);
    ck_assert_int_eq(next, 130);
    ck_assert_uint_eq(need, 0);
}
END_TEST

START_TEST(test_partial_trailing_batch)
{
    uint8_t buf[8192];
    size_t sz[3];
    size_t len = build(buf, sizeof(buf), sz);
    /* Cut anywhere inside the third batch: only the first two count. */
    for (size_t cut = sz[0] + sz[1] + 1; cut < len; cut += 7) {
        int64_t next = -1;
        size_t need = 99;
        ck_assert_int_eq(sl__scan_batches(buf, cut, &next, &need), (long)(sz[0] + sz[1]));
        ck_assert_int_eq(next, 120);
        ck_assert_uint_eq(need, 0);
    }
}
END_TEST

START_TEST(test_first_batch_larger_than_fetched)
{
    uint8_t buf[8192];
    size_t sz[3];
    build(buf, sizeof(buf), sz);
    for (size_t cut = 1; cut < sz[0]; cut++) {
        int64_t next = -1;
        size_t need = 0;
        ck_assert_int_eq(sl__scan_batches(buf, cut, &next, &need), 0);
        ck_assert_int_eq(next, -1);
        if (cut >= KP_BATCH_LOG_OVERHEAD)
            ck_assert_uint_eq(need, sz[0]); /* the size it needs, from batchLength */
        else
            ck_assert_uint_ge(need, KP_BATCH_HEADER_LEN);
    }
}
END_TEST

START_TEST(test_corrupt_header)
{
    uint8_t buf[8192];
    size_t sz[3];
    size_t len = build(buf, sizeof(buf), sz);
    int64_t next = -1;
    size_t need;
    buf[KP_BATCH_OFF_MAGIC] = 1; /* first batch: wrong magic */
    ck_assert_int_eq(sl__scan_batches(buf, len, &next, &need), -EBADMSG);
    buf[KP_BATCH_OFF_MAGIC] = 2;
    buf[sz[0] + KP_BATCH_OFF_MAGIC] = 7; /* second batch: the good prefix is still used */
    ck_assert_int_eq(sl__scan_batches(buf, len, &next, &need), (long)sz[0]);
    ck_assert_int_eq(next, 110);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sl_fetch");
    TCase *tc = tcase_create("fetch");
    tcase_add_test(tc, test_complete_batches);
    tcase_add_test(tc, test_partial_trailing_batch);
    tcase_add_test(tc, test_first_batch_larger_than_fetched);
    tcase_add_test(tc, test_corrupt_header);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
