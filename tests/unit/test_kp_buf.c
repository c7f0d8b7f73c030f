/*
 * test_kp_buf — the bounds-checked reader/writer: every primitive round trip, varint edge
 * cases and rejection of overlong encodings, nullable vs non-nullable, compact forms, array
 * counts against the bytes left, tagged fields, sticky errors, the arena.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kp_buf.h"
#include "tb_check.h"

/* A reader over a byte literal. */
#define RD_OVER(rd, ...)                                                                           \
    static const uint8_t rd##_bytes[] = {__VA_ARGS__};                                             \
    struct kp_rd rd;                                                                               \
    kp_rd_init(&rd, rd##_bytes, sizeof rd##_bytes)

START_TEST(test_fixed_width_round_trip)
{
    uint8_t buf[64];
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    kp_wr_i8(&wr, -128);
    kp_wr_i8(&wr, 127);
    kp_wr_i16(&wr, INT16_MIN);
    kp_wr_i16(&wr, 0x1234);
    kp_wr_i32(&wr, INT32_MIN);
    kp_wr_i32(&wr, -2);
    kp_wr_i64(&wr, INT64_MIN);
    kp_wr_i64(&wr, 0x0102030405060708ll);
    kp_wr_u32(&wr, 0xDEADBEEFu);
    kp_wr_bool(&wr, true);
    kp_wr_bool(&wr, false);
    ck_assert(kp_wr_ok(&wr));
    ck_assert_uint_eq(kp_wr_len(&wr), 1 + 1 + 2 + 2 + 4 + 4 + 8 + 8 + 4 + 1 + 1);
    /* Big-endian on the wire. */
    ck_assert_uint_eq(buf[4], 0x12);
    ck_assert_uint_eq(buf[5], 0x34);
    ck_assert_uint_eq(buf[22], 0x01);
    ck_assert_uint_eq(buf[29], 0x08);

    struct kp_rd rd;
    kp_rd_init(&rd, buf, kp_wr_len(&wr));
    ck_assert_int_eq(kp_rd_i8(&rd), -128);
    ck_assert_int_eq(kp_rd_i8(&rd), 127);
    ck_assert_int_eq(kp_rd_i16(&rd), INT16_MIN);
    ck_assert_int_eq(kp_rd_i16(&rd), 0x1234);
    ck_assert_int_eq(kp_rd_i32(&rd), INT32_MIN);
    ck_assert_int_eq(kp_rd_i32(&rd), -2);
    ck_assert(kp_rd_i64(&rd) == INT64_MIN);
    ck_assert(kp_rd_i64(&rd) == 0x0102030405060708ll);
    ck_assert_uint_eq(kp_rd_u32(&rd), 0xDEADBEEFu);
    ck_assert(kp_rd_bool(&rd));
    ck_assert(!kp_rd_bool(&rd));
    ck_assert(kp_rd_ok(&rd));
    ck_assert_uint_eq(kp_rd_left(&rd), 0);
    ck_assert_uint_eq(kp_rd_pos(&rd), kp_wr_len(&wr));
}
END_TEST

/* A short read fails, returns 0, does not advance, and the error sticks. */
START_TEST(test_short_read_sticky)
{
    RD_OVER(rd, 0x00, 0x01, 0x02);
    ck_assert_int_eq(kp_rd_i16(&rd), 1);
    ck_assert_int_eq(kp_rd_i32(&rd), 0);
    ck_assert(!kp_rd_ok(&rd));
    ck_assert_int_eq(rd.err, -EBADMSG);
    ck_assert_uint_eq(kp_rd_pos(&rd), 2);
    /* Even a read that would fit now returns 0 and does not advance. */
    ck_assert_int_eq(kp_rd_i8(&rd), 0);
    ck_assert_uint_eq(kp_rd_pos(&rd), 2);
    ck_assert_ptr_null(kp_rd_raw(&rd, 1));
    /* The first error wins. */
    ck_assert_int_eq(kp_rd_fail(&rd, -EINVAL), -EBADMSG);
}
END_TEST

START_TEST(test_empty_reader)
{
    struct kp_rd rd;
    kp_rd_init(&rd, NULL, 0);
    ck_assert_uint_eq(kp_rd_left(&rd), 0);
    (void)kp_rd_raw(&rd, 0); /* zero bytes are always there */
    ck_assert(kp_rd_ok(&rd));
    ck_assert_int_eq(kp_rd_i8(&rd), 0);
    ck_assert(!kp_rd_ok(&rd));
}
END_TEST

START_TEST(test_raw_skip)
{
    RD_OVER(rd, 1, 2, 3, 4, 5);
    const uint8_t *p = kp_rd_raw(&rd, 2);
    ck_assert_ptr_eq(p, rd_bytes);
    kp_rd_skip(&rd, 2);
    ck_assert_uint_eq(kp_rd_left(&rd), 1);
    kp_rd_skip(&rd, 2);
    ck_assert(!kp_rd_ok(&rd));
    /* A huge skip cannot wrap the cursor. */
    struct kp_rd r2;
    kp_rd_init(&r2, rd_bytes, sizeof rd_bytes);
    kp_rd_skip(&r2, SIZE_MAX);
    ck_assert(!kp_rd_ok(&r2));
    ck_assert_uint_eq(kp_rd_pos(&r2), 0);
}
END_TEST

/* Zigzag varint/varlong: exact encodings of the edge values, then round trips. */
START_TEST(test_varint_golden)
{
    static const struct {
        int64_t v;
        uint8_t enc[10];
        size_t n;
    } cases[] = {
        {0, {0x00}, 1},
        {-1, {0x01}, 1},
        {1, {0x02}, 1},
        {-64, {0x7f}, 1},
        {64, {0x80, 0x01}, 2},
        {INT32_MAX, {0xfe, 0xff, 0xff, 0xff, 0x0f}, 5},
        {INT32_MIN, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[10];
        struct kp_wr wr;
        kp_wr_init(&wr, buf, sizeof buf);
        kp_wr_varint(&wr, (int32_t)cases[i].v);
        ck_assert(kp_wr_ok(&wr));
        ck_assert_uint_eq(kp_wr_len(&wr), cases[i].n);
        ck_assert_uint_eq(kp_varint_size((int32_t)cases[i].v), cases[i].n);
        ck_assert_mem_eq(buf, cases[i].enc, cases[i].n);
        struct kp_rd rd;
        kp_rd_init(&rd, cases[i].enc, cases[i].n);
        ck_assert_int_eq(kp_rd_varint(&rd), cases[i].v);
        ck_assert(kp_rd_ok(&rd));
        ck_assert_uint_eq(kp_rd_left(&rd), 0);
    }
}
END_TEST

START_TEST(test_varlong_golden)
{
    static const struct {
        int64_t v;
        uint8_t enc[10];
        size_t n;
    } cases[] = {
        {0, {0x00}, 1},
        {-1, {0x01}, 1},
        {INT32_MAX, {0xfe, 0xff, 0xff, 0xff, 0x0f}, 5},
        {(int64_t)INT32_MAX + 1, {0x80, 0x80, 0x80, 0x80, 0x10}, 5},
        {INT64_MAX, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
        {INT64_MIN, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
        {INT64_MIN / 2, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[10];
        struct kp_wr wr;
        kp_wr_init(&wr, buf, sizeof buf);
        kp_wr_varlong(&wr, cases[i].v);
        ck_assert(kp_wr_ok(&wr));
        ck_assert_uint_eq(kp_wr_len(&wr), cases[i].n);
        ck_assert_uint_eq(kp_varlong_size(cases[i].v), cases[i].n);
        ck_assert_mem_eq(buf, cases[i].enc, cases[i].n);
        struct kp_rd rd;
        kp_rd_init(&rd, cases[i].enc, cases[i].n);
        ck_assert(kp_rd_varlong(&rd) == cases[i].v);
        ck_assert(kp_rd_ok(&rd));
        ck_assert_uint_eq(kp_rd_left(&rd), 0);
    }
}
END_TEST

START_TEST(test_varint_round_trip_sweep)
{
    /* Powers of two around every 7-bit group boundary, both signs. */
    for (int s = 0; s < 63; s++) {
        int64_t base = (int64_t)1 << s;
        int64_t vals[] = {base - 1, base, base + 1, -base - 1, -base, -base + 1};
        for (size_t k = 0; k < 6; k++) {
            uint8_t buf[32];
            struct kp_wr wr;
            kp_wr_init(&wr, buf, sizeof buf);
            kp_wr_varlong(&wr, vals[k]);
            kp_wr_uvarlong(&wr, (uint64_t)vals[k]);
            bool fits32 = vals[k] >= INT32_MIN && vals[k] <= INT32_MAX;
            if (fits32)
                kp_wr_varint(&wr, (int32_t)vals[k]);
            ck_assert(kp_wr_ok(&wr));
            struct kp_rd rd;
            kp_rd_init(&rd, buf, kp_wr_len(&wr));
            ck_assert(kp_rd_varlong(&rd) == vals[k]);
            ck_assert(kp_rd_uvarlong(&rd) == (uint64_t)vals[k]);
            if (fits32)
                ck_assert(kp_rd_varint(&rd) == vals[k]);
            ck_assert(kp_rd_ok(&rd));
            ck_assert_uint_eq(kp_rd_left(&rd), 0);
        }
    }
}
END_TEST

START_TEST(test_uvarint_edges)
{
    uint8_t buf[16];
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    kp_wr_uvarint(&wr, UINT32_MAX);
    ck_assert_uint_eq(kp_wr_len(&wr), 5);
    static const uint8_t umax[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    ck_assert_mem_eq(buf, umax, 5);
    ck_assert_uint_eq(kp_uvarint_size(UINT32_MAX), 5);
    ck_assert_uint_eq(kp_uvarint_size(0), 1);
    ck_assert_uint_eq(kp_uvarint_size(127), 1);
    ck_assert_uint_eq(kp_uvarint_size(128), 2);
    ck_assert_uint_eq(kp_uvarint_size(UINT64_MAX), 10);

    struct kp_rd rd;
    kp_rd_init(&rd, umax, 5);
    ck_assert_uint_eq(kp_rd_uvarint(&rd), UINT32_MAX);
    ck_assert(kp_rd_ok(&rd));

    /* A 5th byte carrying bits above 32 is rejected by the 32-bit reader. */
    RD_OVER(r2, 0xff, 0xff, 0xff, 0xff, 0x1f);
    (void)kp_rd_uvarint(&r2);
    ck_assert(!kp_rd_ok(&r2));

    /* ... but fine for the 64-bit reader. */
    struct kp_rd r3;
    kp_rd_init(&r3, r2_bytes, sizeof r2_bytes);
    ck_assert(kp_rd_uvarlong(&r3) == 0x1ffffffffull);
    ck_assert(kp_rd_ok(&r3));

    /* Non-minimal but in-range encodings (0 as 0x80 0x00) are accepted, as Kafka does. */
    RD_OVER(r4, 0x80, 0x00);
    ck_assert_uint_eq(kp_rd_uvarint(&r4), 0);
    ck_assert(kp_rd_ok(&r4));
}
END_TEST

START_TEST(test_varint_overlong_rejected)
{
    /* 6-byte varint: continuation bit on the 5th byte. */
    RD_OVER(r1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    (void)kp_rd_varint(&r1);
    ck_assert_int_eq(r1.err, -EBADMSG);
    struct kp_rd r1b;
    kp_rd_init(&r1b, r1_bytes, sizeof r1_bytes);
    (void)kp_rd_uvarint(&r1b);
    ck_assert_int_eq(r1b.err, -EBADMSG);

    /* 11-byte varlong. */
    RD_OVER(r2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    (void)kp_rd_varlong(&r2);
    ck_assert_int_eq(r2.err, -EBADMSG);

    /* 10th byte with bits above 64. */
    RD_OVER(r3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02);
    (void)kp_rd_varlong(&r3);
    ck_assert_int_eq(r3.err, -EBADMSG);

    /* Truncated: continuation bit on the last byte present. */
    RD_OVER(r4, 0x80, 0x80);
    (void)kp_rd_varint(&r4);
    ck_assert_int_eq(r4.err, -EBADMSG);
    ck_assert_uint_eq(kp_rd_left(&r4), 0);
}
END_TEST

START_TEST(test_strings)
{
    uint8_t buf[128];
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    kp_wr_str(&wr, kp_str_of("abc"));
    kp_wr_str(&wr, kp_str_of(""));
    kp_wr_str(&wr, KP_STR_NULL); /* STRING has no null: written as "" */
    kp_wr_nstr(&wr, KP_STR_NULL);
    kp_wr_nstr(&wr, kp_str_of(""));
    kp_wr_nstr(&wr, kp_str_of("xy"));
    ck_assert(kp_wr_ok(&wr));
    static const uint8_t want[] = {0,    3,    'a', 'b', 'c', 0, 0,   0,  0,
                                   0xff, 0xff, 0,   0,   0,   2, 'x', 'y'};
    ck_assert_uint_eq(kp_wr_len(&wr), sizeof want);
    ck_assert_mem_eq(buf, want, sizeof want);

    struct kp_rd rd;
    kp_rd_init(&rd, buf, kp_wr_len(&wr));
    struct kp_str s = kp_rd_str(&rd);
    ck_assert(kp_str_eq(s, "abc"));
    ck_assert_ptr_eq(s.ptr, (const char *)buf + 2); /* a view, not a copy */
    ck_assert(kp_str_eq(kp_rd_str(&rd), ""));
    ck_assert(kp_str_eq(kp_rd_str(&rd), ""));
    s = kp_rd_nstr(&rd);
    ck_assert_int_eq(s.len, -1);
    ck_assert(kp_str_eq(s, NULL));
    s = kp_rd_nstr(&rd);
    ck_assert_int_eq(s.len, 0);
    ck_assert(!kp_str_eq(s, NULL));
    ck_assert(kp_str_eq(kp_rd_nstr(&rd), "xy"));
    ck_assert(kp_rd_ok(&rd));
    ck_assert_uint_eq(kp_rd_left(&rd), 0);
}
END_TEST

START_TEST(test_null_rejected_where_not_nullable)
{
    RD_OVER(r1, 0xff, 0xff);
    (void)kp_rd_str(&r1);
    ck_assert_int_eq(r1.err, -EBADMSG);
    RD_OVER(r2, 0xff, 0xfe); /* -2: never valid */
    (void)kp_rd_nstr(&r2);
    ck_assert_int_eq(r2.err, -EBADMSG);
    RD_OVER(r3, 0xff, 0xff, 0xff, 0xff);
    (void)kp_rd_bytes(&r3);
    ck_assert_int_eq(r3.err, -EBADMSG);
    RD_OVER(r4, 0xff, 0xff, 0xff, 0xfe);
    (void)kp_rd_nbytes(&r4);
    ck_assert_int_eq(r4.err, -EBADMSG);
    RD_OVER(r5, 0x00);
    (void)kp_rd_cstr(&r5);
    ck_assert_int_eq(r5.err, -EBADMSG);
    RD_OVER(r6, 0x00);
    (void)kp_rd_cbytes(&r6);
    ck_assert_int_eq(r6.err, -EBADMSG);
    /* Nullable forms accept -1 / 0. */
    struct kp_rd r;
    kp_rd_init(&r, r3_bytes, 4);
    ck_assert_int_eq(kp_rd_nbytes(&r).len, -1);
    ck_assert(kp_rd_ok(&r));
    kp_rd_init(&r, r5_bytes, 1);
    ck_assert_int_eq(kp_rd_cnstr(&r).len, -1);
    ck_assert(kp_rd_ok(&r));
    kp_rd_init(&r, r6_bytes, 1);
    ck_assert_int_eq(kp_rd_cnbytes(&r).len, -1);
    ck_assert(kp_rd_ok(&r));
}
END_TEST

START_TEST(test_length_beyond_buffer)
{
    RD_OVER(r1, 0x00, 0x05, 'a', 'b');
    struct kp_str s = kp_rd_str(&r1);
    ck_assert_int_eq(s.len, -1);
    ck_assert_int_eq(r1.err, -EBADMSG);
    RD_OVER(r2, 0x7f, 0xff, 0xff, 0xff, 0x00);
    (void)kp_rd_bytes(&r2);
    ck_assert_int_eq(r2.err, -EBADMSG);
    /* Compact: uvarint(UINT32_MAX) - 1 is far above what remains. */
    RD_OVER(r3, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a');
    (void)kp_rd_cbytes(&r3);
    ck_assert_int_eq(r3.err, -EBADMSG);
}
END_TEST

START_TEST(test_bytes)
{
    uint8_t buf[128];
    static const uint8_t data[] = {9, 8, 7};
    struct kp_bytes b = {data, 3};
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    kp_wr_bytes(&wr, b);
    kp_wr_bytes(&wr, KP_BYTES_NULL); /* BYTES has no null: written empty */
    kp_wr_nbytes(&wr, KP_BYTES_NULL);
    kp_wr_nbytes(&wr, (struct kp_bytes){data, 0});
    kp_wr_cbytes(&wr, b);
    kp_wr_cnbytes(&wr, KP_BYTES_NULL);
    kp_wr_cnbytes(&wr, (struct kp_bytes){data, 0});
    ck_assert(kp_wr_ok(&wr));
    static const uint8_t want[] = {0,    0,    0, 3, 9, 8, 7, 0, 0, 0, 0, 0xff, 0xff,
                                   0xff, 0xff, 0, 0, 0, 0, 4, 9, 8, 7, 0, 1};
    ck_assert_uint_eq(kp_wr_len(&wr), sizeof want);
    ck_assert_mem_eq(buf, want, sizeof want);

    struct kp_rd rd;
    kp_rd_init(&rd, buf, kp_wr_len(&wr));
    struct kp_bytes r = kp_rd_bytes(&rd);
    ck_assert_int_eq(r.len, 3);
    ck_assert_mem_eq(r.ptr, data, 3);
    ck_assert_int_eq(kp_rd_bytes(&rd).len, 0);
    ck_assert_int_eq(kp_rd_nbytes(&rd).len, -1);
    ck_assert_int_eq(kp_rd_nbytes(&rd).len, 0);
    r = kp_rd_cbytes(&rd);
    ck_assert_int_eq(r.len, 3);
    ck_assert_mem_eq(r.ptr, data, 3);
    ck_assert_int_eq(kp_rd_cnbytes(&rd).len, -1);
    ck_assert_int_eq(kp_rd_cnbytes(&rd).len, 0);
    ck_assert(kp_rd_ok(&rd));
    ck_assert_uint_eq(kp_rd_left(&rd), 0);
}
END_TEST

START_TEST(test_compact_strings)
{
    uint8_t buf[512];
    char big[200];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    kp_wr_cstr(&wr, kp_str_of("rdkafka"));
    kp_wr_cstr(&wr, kp_str_of(""));
    kp_wr_cnstr(&wr, KP_STR_NULL);
    kp_wr_cstr(&wr, kp_str_of(big)); /* 199 + 1 = 200: a 2-byte uvarint */
    ck_assert(kp_wr_ok(&wr));
    ck_assert_uint_eq(buf[0], 8);
    ck_assert_uint_eq(buf[8], 1);
    ck_assert_uint_eq(buf[9], 0);
    ck_assert_uint_eq(buf[10], 0xc8);
    ck_assert_uint_eq(buf[11], 0x01);
    struct kp_rd rd;
    kp_rd_init(&rd, buf, kp_wr_len(&wr));
    ck_assert(kp_str_eq(kp_rd_cstr(&rd), "rdkafka"));
    ck_assert(kp_str_eq(kp_rd_cnstr(&rd), ""));
    ck_assert(kp_str_eq(kp_rd_cnstr(&rd), NULL));
    ck_assert(kp_str_eq(kp_rd_cstr(&rd), big));
    ck_assert(kp_rd_ok(&rd));
    ck_assert_uint_eq(kp_rd_left(&rd), 0);
}
END_TEST

START_TEST(test_str_helpers)
{
    ck_assert_int_eq(kp_str_of(NULL).len, -1);
    ck_assert_int_eq(kp_str_of("").len, 0);
    ck_assert(kp_str_eq(kp_str_of("a"), "a"));
    ck_assert(!kp_str_eq(kp_str_of("a"), "ab"));
    ck_assert(!kp_str_eq(kp_str_of("ab"), "a"));
    ck_assert(!kp_str_eq(KP_STR_NULL, ""));
    ck_assert(!kp_str_eq(kp_str_of(""), NULL));
    ck_assert(kp_str_same(KP_STR_NULL, KP_STR_NULL));
    ck_assert(!kp_str_same(KP_STR_NULL, kp_str_of("")));
    ck_assert(kp_str_same(kp_str_of(""), (struct kp_str){NULL, 0}));
    ck_assert(kp_str_same(kp_str_of("abc"), (struct kp_str){"abcdef", 3}));
    ck_assert(!kp_str_same(kp_str_of("abc"), kp_str_of("abd")));
}
END_TEST

START_TEST(test_str_too_long_for_int16)
{
    size_t n = 40000;
    char *s = malloc(n);
    ck_assert_ptr_nonnull(s);
    memset(s, 'a', n);
    uint8_t buf[64];
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    kp_wr_str(&wr, (struct kp_str){s, (int32_t)n});
    ck_assert(!kp_wr_ok(&wr));
    ck_assert_uint_eq(kp_wr_len(&wr), 0);
    /* kp_str_of keeps the whole length (no silent truncation), so the writer refuses it. */
    s[n - 1] = 0;
    struct kp_str v = kp_str_of(s);
    ck_assert_int_eq(v.len, (int32_t)n - 1);
    kp_wr_init(&wr, buf, sizeof buf);
    kp_wr_nstr(&wr, v);
    ck_assert(!kp_wr_ok(&wr));
    ck_assert_uint_eq(kp_wr_len(&wr), 0);
    free(s);
}
END_TEST

START_TEST(test_arrays)
{
    uint8_t buf[64];
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    kp_wr_array(&wr, 2);
    kp_wr_i32(&wr, 10);
    kp_wr_i32(&wr, 20);
    kp_wr_array(&wr, -1);
    kp_wr_carray(&wr, 1);
    kp_wr_i8(&wr, 5);
    kp_wr_carray(&wr, -1);
    kp_wr_carray(&wr, 0);
    ck_assert(kp_wr_ok(&wr));
    static const uint8_t want[] = {0, 0,  0,    2,    0,    0,    0, 10, 0, 0,
                                   0, 20, 0xff, 0xff, 0xff, 0xff, 2, 5,  0, 1};
    ck_assert_mem_eq(buf, want, sizeof want);
    ck_assert_uint_eq(kp_wr_len(&wr), sizeof want);

    struct kp_rd rd;
    kp_rd_init(&rd, buf, kp_wr_len(&wr));
    ck_assert_int_eq(kp_rd_array(&rd, 4, false), 2);
    ck_assert_int_eq(kp_rd_i32(&rd), 10);
    ck_assert_int_eq(kp_rd_i32(&rd), 20);
    ck_assert_int_eq(kp_rd_array(&rd, 4, true), -1);
    ck_assert_int_eq(kp_rd_carray(&rd, 1, false), 1);
    ck_assert_int_eq(kp_rd_i8(&rd), 5);
    ck_assert_int_eq(kp_rd_carray(&rd, 1, true), -1);
    ck_assert_int_eq(kp_rd_carray(&rd, 1, false), 0);
    ck_assert(kp_rd_ok(&rd));
    ck_assert_uint_eq(kp_rd_left(&rd), 0);
}
END_TEST

/* CVE-2022-34917 class: a forged count must fail before anything is sized from it. */
START_TEST(test_array_count_vs_bytes_left)
{
    RD_OVER(r1, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0);
    ck_assert_int_eq(kp_rd_array(&r1, 1, false), 0);
    ck_assert_int_eq(r1.err, -EBADMSG);

    /* Exactly enough: 2 elements of 2 bytes with 4 bytes left. */
    RD_OVER(r2, 0, 0, 0, 2, 1, 2, 3, 4);
    ck_assert_int_eq(kp_rd_array(&r2, 2, false), 2);
    ck_assert(kp_rd_ok(&r2));
    /* One byte short. */
    RD_OVER(r3, 0, 0, 0, 2, 1, 2, 3);
    ck_assert_int_eq(kp_rd_array(&r3, 2, false), 0);
    ck_assert(!kp_rd_ok(&r3));
    /* A huge min size cannot overflow the multiplication. */
    RD_OVER(r4, 0, 0, 0, 1, 1);
    ck_assert_int_eq(kp_rd_array(&r4, SIZE_MAX, false), 0);
    ck_assert(!kp_rd_ok(&r4));
    /* Null where not nullable, and negatives other than -1. */
    RD_OVER(r5, 0xff, 0xff, 0xff, 0xff);
    (void)kp_rd_array(&r5, 1, false);
    ck_assert(!kp_rd_ok(&r5));
    RD_OVER(r6, 0x80, 0, 0, 0);
    (void)kp_rd_array(&r6, 1, true);
    ck_assert(!kp_rd_ok(&r6));
    /* Compact: uvarint 2^31 (count 2^31-1) with 4 bytes left. */
    RD_OVER(r7, 0x80, 0x80, 0x80, 0x80, 0x08, 0, 0, 0, 0);
    ck_assert_int_eq(kp_rd_carray(&r7, 1, false), 0);
    ck_assert(!kp_rd_ok(&r7));
    /* Compact count above INT32_MAX. */
    RD_OVER(r8, 0xff, 0xff, 0xff, 0xff, 0x0f);
    (void)kp_rd_carray(&r8, 1, false);
    ck_assert(!kp_rd_ok(&r8));
}
END_TEST

START_TEST(test_tags)
{
    /* Two fields: tag 0 with 3 bytes, tag 300 with 0 bytes; then a trailing int8. */
    RD_OVER(rd, 0x02, 0x00, 0x03, 0xaa, 0xbb, 0xcc, 0xac, 0x02, 0x00, 0x7e);
    kp_rd_tags(&rd);
    ck_assert(kp_rd_ok(&rd));
    ck_assert_int_eq(kp_rd_i8(&rd), 0x7e);
    ck_assert_uint_eq(kp_rd_left(&rd), 0);

    RD_OVER(empty, 0x00);
    kp_rd_tags(&empty);
    ck_assert(kp_rd_ok(&empty));
    ck_assert_uint_eq(kp_rd_left(&empty), 0);

    /* A field whose size runs past the end. */
    RD_OVER(r2, 0x01, 0x00, 0x05, 0xaa);
    kp_rd_tags(&r2);
    ck_assert(!kp_rd_ok(&r2));
    /* A count the remaining bytes cannot hold. */
    RD_OVER(r3, 0x7f, 0x00, 0x00);
    kp_rd_tags(&r3);
    ck_assert(!kp_rd_ok(&r3));
    /* Missing entirely. */
    struct kp_rd r4;
    kp_rd_init(&r4, NULL, 0);
    kp_rd_tags(&r4);
    ck_assert(!kp_rd_ok(&r4));

    uint8_t buf[4];
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    kp_wr_tags(&wr);
    ck_assert_uint_eq(kp_wr_len(&wr), 1);
    ck_assert_uint_eq(buf[0], 0);
}
END_TEST

START_TEST(test_writer_enospc_sticky)
{
    uint8_t buf[8];
    memset(buf, 0xee, sizeof buf);
    struct kp_wr wr;
    kp_wr_init(&wr, buf, 6);
    kp_wr_i32(&wr, 1);
    kp_wr_i32(&wr, 2); /* does not fit: nothing written */
    ck_assert_int_eq(wr.err, -ENOSPC);
    ck_assert_uint_eq(kp_wr_len(&wr), 4);
    kp_wr_i8(&wr, 3); /* would fit, but the error is sticky */
    kp_wr_raw(&wr, "x", 1);
    kp_wr_uvarint(&wr, 1);
    ck_assert_uint_eq(kp_wr_len(&wr), 4);
    ck_assert_uint_eq(buf[4], 0xee);
    ck_assert_ptr_null(kp_wr_reserve(&wr, 0));
    ck_assert(!kp_wr_ok(&wr));

    /* A varint that does not fit is not partly written. */
    kp_wr_init(&wr, buf, 2);
    kp_wr_uvarint(&wr, UINT32_MAX);
    ck_assert_int_eq(wr.err, -ENOSPC);
    ck_assert_uint_eq(kp_wr_len(&wr), 0);

    /* Zero-capacity writer. */
    kp_wr_init(&wr, NULL, 0);
    ck_assert_uint_eq(kp_wr_left(&wr), 0);
    kp_wr_raw(&wr, NULL, 0);
    ck_assert(kp_wr_ok(&wr));
    kp_wr_i8(&wr, 1);
    ck_assert_int_eq(wr.err, -ENOSPC);
}
END_TEST

START_TEST(test_reserve_and_i32_at)
{
    uint8_t buf[16];
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    uint8_t *size = kp_wr_reserve(&wr, 4);
    ck_assert_ptr_eq(size, buf);
    kp_wr_i16(&wr, 7);
    kp_wr_i32_at(&wr, 0, (int32_t)(kp_wr_len(&wr) - 4));
    ck_assert(kp_wr_ok(&wr));
    static const uint8_t want[] = {0, 0, 0, 2, 0, 7};
    ck_assert_mem_eq(buf, want, sizeof want);
    /* Patching beyond what was written is an error, including offsets that would wrap. */
    kp_wr_i32_at(&wr, 3, 1);
    ck_assert_int_eq(wr.err, -EINVAL);
    kp_wr_init(&wr, buf, sizeof buf);
    kp_wr_i64(&wr, 0);
    kp_wr_i32_at(&wr, SIZE_MAX - 1, 1);
    ck_assert_int_eq(wr.err, -EINVAL);
    ck_assert_mem_eq(buf, "\0\0\0\0\0\0\0\0", 8);
    kp_wr_init(&wr, buf, sizeof buf);
    kp_wr_i32_at(&wr, 0, 1);
    ck_assert(!kp_wr_ok(&wr));
}
END_TEST

START_TEST(test_load_store_helpers)
{
    uint8_t b[8];
    kp_store_be16(b, 0xBEEF);
    ck_assert_uint_eq(kp_load_be16(b), 0xBEEF);
    kp_store_be32(b, 0x89ABCDEFu);
    ck_assert_uint_eq(b[0], 0x89);
    ck_assert_uint_eq(kp_load_be32(b), 0x89ABCDEFu);
    kp_store_be64(b, 0xFEDCBA9876543210ull);
    ck_assert_uint_eq(b[0], 0xFE);
    ck_assert_uint_eq(b[7], 0x10);
    ck_assert(kp_load_be64(b) == 0xFEDCBA9876543210ull);
}
END_TEST

START_TEST(test_arena)
{
    _Alignas(max_align_t) uint8_t mem[256];
    memset(mem, 0xaa, sizeof mem);
    struct kp_arena a;
    kp_arena_init(&a, mem, sizeof mem);
    int32_t *x = kp_arena_alloc(&a, 3, sizeof *x);
    ck_assert_ptr_eq(x, mem);
    ck_assert_int_eq(x[0] | x[1] | x[2], 0); /* zeroed */
    uint8_t *y = kp_arena_alloc(&a, 1, 1);
    ck_assert_ptr_nonnull(y);
    ck_assert_uint_eq((uintptr_t)y % _Alignof(max_align_t), 0);
    ck_assert_uint_eq((size_t)(y - mem), _Alignof(max_align_t));
    /* Exhaustion returns NULL and leaves the arena usable. */
    size_t used = a.used;
    ck_assert_ptr_null(kp_arena_alloc(&a, 1, sizeof mem));
    ck_assert_uint_eq(a.used, used);
    /* n * sz overflow. */
    ck_assert_ptr_null(kp_arena_alloc(&a, SIZE_MAX / 2, 4));
    ck_assert_ptr_null(kp_arena_alloc(&a, SIZE_MAX, SIZE_MAX));
    ck_assert_uint_eq(a.used, used);
    /* Exactly the rest fits. */
    size_t off = (a.used + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
    ck_assert_ptr_nonnull(kp_arena_alloc(&a, sizeof mem - off, 1));
    ck_assert_uint_eq(a.used, sizeof mem);
    ck_assert_ptr_null(kp_arena_alloc(&a, 1, 1));
    /* Reset makes it all free again. */
    kp_arena_reset(&a);
    ck_assert_ptr_eq(kp_arena_alloc(&a, sizeof mem, 1), mem);
    /* An empty arena. */
    struct kp_arena e;
    kp_arena_init(&e, NULL, 0);
    ck_assert_ptr_null(kp_arena_alloc(&e, 1, 1));
    ck_assert_ptr_null(kp_arena_alloc(&e, 0, 8));
    /* Zero elements from a real arena: a valid pointer, nothing used beyond alignment. */
    kp_arena_reset(&a);
    ck_assert_ptr_eq(kp_arena_alloc(&a, 0, 8), mem);
    ck_assert_uint_eq(a.used, 0);
}
END_TEST

static Suite *buf_suite(void)
{
    Suite *s = suite_create("kp_buf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fixed_width_round_trip);
    tcase_add_test(tc, test_short_read_sticky);
    tcase_add_test(tc, test_empty_reader);
    tcase_add_test(tc, test_raw_skip);
    tcase_add_test(tc, test_varint_golden);
    tcase_add_test(tc, test_varlong_golden);
    tcase_add_test(tc, test_varint_round_trip_sweep);
    tcase_add_test(tc, test_uvarint_edges);
    tcase_add_test(tc, test_varint_overlong_rejected);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_null_rejected_where_not_nullable);
    tcase_add_test(tc, test_length_beyond_buffer);
    tcase_add_test(tc, test_bytes);
    tcase_add_test(tc, test_compact_strings);
    tcase_add_test(tc, test_str_helpers);
    tcase_add_test(tc, test_str_too_long_for_int16);
    tcase_add_test(tc, test_arrays);
    tcase_add_test(tc, test_array_count_vs_bytes_left);
    tcase_add_test(tc, test_tags);
    tcase_add_test(tc, test_writer_enospc_sticky);
    tcase_add_test(tc, test_reserve_and_i32_at);
    tcase_add_test(tc, test_load_store_helpers);
    tcase_add_test(tc, test_arena);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(buf_suite()); }
