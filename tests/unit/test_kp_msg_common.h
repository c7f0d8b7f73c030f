/*
 * test_kp_msg_common — shared machinery of the kp_msg suites (test_kp_msg*.c): a uniform view
 * of every codec and one routine that runs the checks every message must pass at every
 * version:
 *   - encode succeeds, and fails with -ENOSPC into a buffer one byte short;
 *   - every strict prefix of the encoding decodes to -EBADMSG (sanitizers catch over-reads);
 *   - hostile int32s written over every 4-byte window never make the decoder misbehave;
 *   - one trailing byte after the body decodes to -EBADMSG;
 *   - the whole encoding decodes, and re-encoding the decoded struct gives the same bytes;
 *   - with any arena smaller than what the decode used, it fails with -ENOMEM.
 * Field-by-field comparison is left to each suite (tm_* helpers below).
 */
#ifndef TEST_KP_MSG_COMMON_H
#define TEST_KP_MSG_COMMON_H

#include <check.h>
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kp_msg.h"

/* The suites write messages as positional initialisers in wire order; fields appended to the
 * structs for later versions are meant to stay zero there. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

struct tm_codec {
    const char *name;
    int16_t lo, hi;  /* supported versions */
    size_t out_size; /* sizeof the decoded struct */
    int (*enc)(struct kp_wr *wr, int16_t v, const void *msg);
    int (*dec)(struct kp_rd *rd, int16_t v, struct kp_arena *a, void *out);
};

/* Typed wrappers so the table never casts function pointers. */
#define TM_CODEC(var, fn, type, lo_, hi_)                                                          \
    static int var##_enc(struct kp_wr *wr, int16_t v, const void *m)                               \
    {                                                                                              \
        return fn##_encode(wr, v, (const type *)m);                                                \
    }                                                                                              \
    static int var##_dec(struct kp_rd *rd, int16_t v, struct kp_arena *a, void *o)                 \
    {                                                                                              \
        return fn##_decode(rd, v, a, (type *)o);                                                   \
    }                                                                                              \
    static const struct tm_codec var = {#fn, lo_, hi_, sizeof(type), var##_enc, var##_dec}

#define TM_BUF   16384
#define TM_ARENA 16384

/* Aligned arena memory shared by the helpers (one suite runs one test at a time per process). */
static alignas(max_align_t) uint8_t tm_arena_mem[TM_ARENA] __attribute__((unused));

/*
 * Runs the checks listed at the top for msg at version v. On return out holds the decoded
 * message, with arrays in *arena (initialised here over arena_mem) and views into buf.
 * Returns the encoded length.
 */
static inline size_t tm_check(const struct tm_codec *c, int16_t v, const void *msg, void *out,
                              uint8_t *buf, struct kp_arena *arena, void *arena_mem,
                              size_t arena_cap)
{
    struct kp_wr wr;
    kp_wr_init(&wr, buf, TM_BUF - 1);
    int rc = c->enc(&wr, v, msg);
    ck_assert_msg(rc == 0, "%s v%d encode: %d", c->name, v, rc);
    size_t len = kp_wr_len(&wr);
    ck_assert(len < TM_BUF - 1);

    if (len > 0) { /* one byte short: -ENOSPC, never a write past the end */
        uint8_t *small = malloc(len - 1 ? len - 1 : 1);
        struct kp_wr sw;
        kp_wr_init(&sw, small, len - 1);
        ck_assert_int_eq(c->enc(&sw, v, msg), -ENOSPC);
        free(small);
    }

    void *tmp = malloc(c->out_size);
    struct kp_arena big;
    kp_arena_init(&big, tm_arena_mem, sizeof tm_arena_mem);
    for (size_t n = 0; n < len; n++) {
        /* A heap copy of exactly n bytes, so ASan sees any read past the prefix. */
        uint8_t *pre = malloc(n ? n : 1);
        memcpy(pre, buf, n);
        struct kp_rd rd;
        kp_rd_init(&rd, pre, n);
        kp_arena_reset(&big);
        rc = c->dec(&rd, v, &big, tmp);
        ck_assert_msg(rc == -EBADMSG, "%s v%d prefix %zu/%zu decoded: %d", c->name, v, n, len, rc);
        free(pre);
    }

    /* Every 4-byte window overwritten with a hostile int32 (a count or length of 2^31-1, -1,
     * INT32_MIN): the decode may succeed or fail, but never reads or writes out of bounds
     * (the sanitizers check) and never returns anything but 0 or a negative errno. */
    static const uint32_t hostile[] = {0x7fffffffu, 0xffffffffu, 0x80000000u};
    for (size_t at = 0; at + 4 <= len; at++) {
        for (size_t h = 0; h < sizeof hostile / sizeof hostile[0]; h++) {
            uint8_t *m = malloc(len);
            memcpy(m, buf, len);
            kp_store_be32(m + at, hostile[h]);
            struct kp_rd hr;
            kp_rd_init(&hr, m, len);
            kp_arena_reset(&big);
            rc = c->dec(&hr, v, &big, tmp);
            ck_assert_msg(rc == 0 || rc == -EBADMSG || rc == -ENOMEM, "%s v%d: %d", c->name, v, rc);
            free(m);
        }
    }

    /* One trailing byte is an error. */
    buf[len] = 0;
    struct kp_rd rd;
    kp_rd_init(&rd, buf, len + 1);
    kp_arena_reset(&big);
    ck_assert_int_eq(c->dec(&rd, v, &big, tmp), -EBADMSG);

    /* The full decode, and how much arena it needs. */
    kp_rd_init(&rd, buf, len);
    kp_arena_reset(&big);
    rc = c->dec(&rd, v, &big, tmp);
    ck_assert_msg(rc == 0, "%s v%d decode: %d", c->name, v, rc);
    size_t used = big.used;

    /* Every smaller arena: -ENOMEM (never a partial success, never a crash). */
    for (size_t cap = 0; cap < used; cap++) {
        struct kp_arena small;
        kp_arena_init(&small, tm_arena_mem, cap);
        kp_rd_init(&rd, buf, len);
        ck_assert_int_eq(c->dec(&rd, v, &small, tmp), -ENOMEM);
    }
    free(tmp);

    kp_arena_init(arena, arena_mem, arena_cap);
    kp_rd_init(&rd, buf, len);
    ck_assert_int_eq(c->dec(&rd, v, arena, out), 0);
    ck_assert_uint_eq(arena->used, used);

    /* encode(decode(x)) == x */
    uint8_t *again = malloc(TM_BUF);
    kp_wr_init(&wr, again, TM_BUF);
    ck_assert_int_eq(c->enc(&wr, v, out), 0);
    ck_assert_uint_eq(kp_wr_len(&wr), len);
    ck_assert(memcmp(again, buf, len) == 0);
    free(again);
    return len;
}

/* Versions outside [lo, hi]: both directions refuse with -EINVAL and write nothing. */
static inline void tm_check_bad_versions(const struct tm_codec *c, const void *msg)
{
    int16_t bad[] = {(int16_t)(c->lo - 1), (int16_t)(c->hi + 1), -1, INT16_MAX};
    uint8_t buf[256];
    void *tmp = malloc(c->out_size);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (bad[i] >= c->lo && bad[i] <= c->hi)
            continue;
        struct kp_wr wr;
        kp_wr_init(&wr, buf, sizeof buf);
        ck_assert_msg(c->enc(&wr, bad[i], msg) == -EINVAL, "%s encode v%d", c->name, bad[i]);
        ck_assert_uint_eq(kp_wr_len(&wr), 0);
        struct kp_rd rd;
        kp_rd_init(&rd, buf, sizeof buf);
        struct kp_arena a;
        kp_arena_init(&a, tm_arena_mem, sizeof tm_arena_mem);
        ck_assert_msg(c->dec(&rd, bad[i], &a, tmp) == -EINVAL, "%s decode v%d", c->name, bad[i]);
        ck_assert_uint_eq(a.used, 0);
    }
    free(tmp);
}

/*
 * Decode bytes that carry a forged count: must fail with -EBADMSG without the arena growing
 * past arena_before (what the decoder may legitimately have allocated before the count).
 */
static inline void tm_check_forged(const struct tm_codec *c, int16_t v, const uint8_t *bytes,
                                   size_t len, size_t arena_before)
{
    void *tmp = malloc(c->out_size);
    struct kp_arena a;
    kp_arena_init(&a, tm_arena_mem, sizeof tm_arena_mem);
    struct kp_rd rd;
    kp_rd_init(&rd, bytes, len);
    ck_assert_int_eq(c->dec(&rd, v, &a, tmp), -EBADMSG);
    ck_assert_msg(a.used <= arena_before, "%s v%d: arena grew to %zu", c->name, v, a.used);
    free(tmp);
}

/* Field helpers. */
#define tm_str_eq(a, b)   ck_assert_msg(kp_str_same((a), (b)), "string differs: %s", #a)
#define tm_str_null(a)    ck_assert_int_eq((a).len, -1)
#define tm_bytes_eq(a, b) tm_bytes_eq_((a), (b), #a)
static inline void tm_bytes_eq_(struct kp_bytes a, struct kp_bytes b, const char *what)
{
    ck_assert_msg(a.len == b.len, "bytes length differs: %s (%d vs %d)", what, a.len, b.len);
    ck_assert_msg(a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0, "bytes differ: %s", what);
}
static inline void tm_i32s_eq(int32_t na, const int32_t *a, int32_t nb, const int32_t *b)
{
    ck_assert_int_eq(na, nb);
    for (int32_t i = 0; i < na; i++)
        ck_assert_int_eq(a[i], b[i]);
}

#define TM_S(lit) ((struct kp_str){(lit), (int32_t)sizeof(lit) - 1})
#define TM_B(lit) ((struct kp_bytes){(const uint8_t *)(lit), (int32_t)sizeof(lit) - 1})
#define TM_N(arr) ((int32_t)(sizeof(arr) / sizeof((arr)[0])))

/* Each suite's scratch encode buffer and decode arena. */
static uint8_t buf[TM_BUF] __attribute__((unused));
static alignas(max_align_t) uint8_t out_mem[TM_ARENA] __attribute__((unused));

/* got[0, got_len) must be exactly the listed bytes. */
#define EXPECT_BYTES(got, got_len, ...)                                                            \
    do {                                                                                           \
        static const uint8_t want_[] = {__VA_ARGS__};                                              \
        ck_assert_uint_eq((got_len), sizeof want_);                                                \
        for (size_t i_ = 0; i_ < sizeof want_; i_++)                                               \
            ck_assert_msg((got)[i_] == want_[i_], "byte %zu: got %02x want %02x", i_, (got)[i_],   \
                          want_[i_]);                                                              \
    } while (0)

/* Encoded length of msg at version v (round trips cannot see a field that is wrongly present or
 * absent in both directions; these lengths, counted by hand from the schemas, can). */
static inline size_t enc_len(const struct tm_codec *c, int16_t v, const void *msg)
{
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(c->enc(&wr, v, msg), 0);
    return kp_wr_len(&wr);
}

/* Decode bytes[0, len) at version v: returns the decoder's result (out in a fresh arena over
 * out_mem). */
static inline int dec_bytes(const struct tm_codec *c, int16_t v, const uint8_t *bytes, size_t len,
                            void *out)
{
    struct kp_arena a;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    struct kp_rd rd;
    kp_rd_init(&rd, bytes, len);
    return c->dec(&rd, v, &a, out);
}

/* ---- golden bytes written from the schemas, and what every golden message must pass ------- */

/* Big-endian bytes of an integer, for golden arrays written field by field. */
#define B16(x) (uint8_t)((uint16_t)(x) >> 8), (uint8_t)(x)
#define B32(x)                                                                                     \
    (uint8_t)((uint32_t)(x) >> 24), (uint8_t)((uint32_t)(x) >> 16), (uint8_t)((uint32_t)(x) >> 8), \
        (uint8_t)(x)
#define B64(x) B32((uint64_t)(x) >> 32), B32((uint64_t)(x))
/* The UUID 00 01 02 ... 0f, and ZERO_UUID. */
#define UUID_SEQ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
#define UUID_0   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
static const struct kp_uuid tm_uuid_seq __attribute__((unused)) = {{UUID_SEQ}};

/*
 * Every byte position of a valid encoding replaced by a 5-byte uvarint near 2^32 (a forged
 * compact count or length), and every 4-byte window by INT32_MAX (a forged int32 count): the
 * decoder returns 0, -EBADMSG or -ENOMEM, and the arena never grows past a small multiple of
 * the input (counts are checked against the bytes left before anything is allocated).
 */
static inline void tm_check_forged_all(const struct tm_codec *c, int16_t v, const uint8_t *bytes,
                                       size_t len)
{
    static const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    void *tmp = malloc(c->out_size);
    uint8_t *m = malloc(len + sizeof big);
    for (size_t at = 0; at < len; at++) {
        for (int kind = 0; kind < 2; kind++) {
            size_t n;
            if (kind == 0) { /* uvarint in place of byte at */
                memcpy(m, bytes, at);
                memcpy(m + at, big, sizeof big);
                memcpy(m + at + sizeof big, bytes + at + 1, len - at - 1);
                n = len - 1 + sizeof big;
            } else {
                if (at + 4 > len)
                    continue;
                memcpy(m, bytes, len);
                kp_store_be32(m + at, 0x7fffffffu);
                n = len;
            }
            struct kp_arena a;
            kp_arena_init(&a, tm_arena_mem, sizeof tm_arena_mem);
            struct kp_rd rd;
            kp_rd_init(&rd, m, n);
            int rc = c->dec(&rd, v, &a, tmp);
            ck_assert_msg(rc == 0 || rc == -EBADMSG || rc == -ENOMEM, "%s v%d at %zu: %d", c->name,
                          v, at, rc);
            ck_assert_msg(a.used <= 64 * n + 1024, "%s v%d: forged count at %zu took %zu bytes",
                          c->name, v, at, a.used);
        }
    }
    free(m);
    free(tmp);
}

/*
 * msg encodes at version v to exactly want[0, want_len) (bytes written by hand from Kafka's
 * schema); then tm_check at v (out holds the decode, arrays in *arena over out_mem) and the
 * forged counts above.
 */
static inline void tm_golden(const struct tm_codec *c, int16_t v, const void *msg,
                             const uint8_t *want, size_t want_len, void *out,
                             struct kp_arena *arena)
{
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    int rc = c->enc(&wr, v, msg);
    ck_assert_msg(rc == 0, "%s v%d encode: %d", c->name, v, rc);
    size_t len = kp_wr_len(&wr);
    for (size_t i = 0; i < len && i < want_len; i++)
        ck_assert_msg(buf[i] == want[i], "%s v%d byte %zu: got %02x want %02x", c->name, v, i,
                      buf[i], want[i]);
    ck_assert_msg(len == want_len, "%s v%d: %zu bytes, want %zu", c->name, v, len, want_len);
    tm_check(c, v, msg, out, buf, arena, out_mem, sizeof out_mem);
    tm_check_forged_all(c, v, want, want_len);
}
#define TM_GOLDEN(c, v, msg, out, arena, ...)                                                      \
    do {                                                                                           \
        static const uint8_t want_[] = {__VA_ARGS__};                                              \
        tm_golden((c), (v), (msg), want_, sizeof want_, (out), (arena));                           \
    } while (0)

/* tm_check at every version of the codec where msg can be encoded; returns how many. */
static inline int tm_every_version(const struct tm_codec *c, const void *msg)
{
    int n = 0;
    void *out = malloc(c->out_size);
    static alignas(max_align_t) uint8_t mem[TM_ARENA];
    for (int16_t v = c->lo; v <= c->hi; v++) {
        struct kp_wr wr;
        kp_wr_init(&wr, buf, sizeof buf);
        if (c->enc(&wr, v, msg) == -EINVAL)
            continue; /* e.g. a null the version cannot carry */
        struct kp_arena a;
        tm_check(c, v, msg, out, buf, &a, mem, sizeof mem);
        n++;
    }
    free(out);
    return n;
}

#endif
