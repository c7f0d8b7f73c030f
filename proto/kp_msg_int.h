/*
 * kp_msg_int — helpers shared by the kp_msg_*.c codec files. Not a public header: nothing
 * outside proto/kp_msg_*.c includes it.
 *
 * Decoders lean on the reader's sticky error: they read a body linearly, route arena
 * exhaustion into the same error (-ENOMEM through kp_rd_fail), loop over arrays only while
 * the reader is healthy, and finish with kp__rd_end(), which also rejects trailing bytes.
 * Encoders validate the whole message (version, counts, views) before writing a byte, so an
 * -EINVAL leaves the writer untouched.
 */
#ifndef SPLICELOG_KP_MSG_INT_H
#define SPLICELOG_KP_MSG_INT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "kp_buf.h"

/* Classic encoded sizes, used as minimum element sizes for kp_rd_array(). */
enum {
    KP__I8 = 1,
    KP__I16 = 2,
    KP__I32 = 4,
    KP__I64 = 8,
    KP__STR = 2,   /* int16 length of an empty STRING / NULLABLE_STRING */
    KP__BYTES = 4, /* int32 length */
    KP__ARRAY = 4, /* int32 count */
};

static inline bool kp__ver_in(int16_t v, int16_t lo, int16_t hi) { return v >= lo && v <= hi; }

/* n zeroed elements of size sz from the arena for a count just read; NULL for n <= 0 or when
 * the reader already failed; on exhaustion the reader fails with -ENOMEM. */
static inline void *kp__rd_alloc(struct kp_rd *rd, struct kp_arena *a, int32_t n, size_t sz)
{
    if (n <= 0 || !kp_rd_ok(rd))
        return NULL;
    void *p = kp_arena_alloc(a, (size_t)n, sz);
    if (!p)
        kp_rd_fail(rd, -ENOMEM);
    return p;
}

/* End of a body: it must end exactly where the reader ends, unless the caller allowed
 * trailing bytes (kp_rd_allow_trailing). Returns 0 or the error. */
static inline int kp__rd_end(struct kp_rd *rd)
{
    if (kp_rd_ok(rd) && kp_rd_left(rd) != 0 && !rd->trailing_ok)
        kp_rd_fail(rd, -EBADMSG);
    return rd->err;
}

/* An array field the encoder can write: count >= 0 with elements present, or -1 (null) when
 * the version allows null. */
static inline bool kp__arr_ok(int32_t n, const void *elems, bool nullable)
{
    if (n < 0)
        return n == -1 && nullable;
    return n == 0 || elems != NULL;
}

/* A string view the writer can encode with an int16 length. A null view is fine everywhere:
 * NULLABLE_STRING keeps it, STRING writes it as empty (kp_buf.h). */
static inline bool kp__str_ok(struct kp_str s)
{
    return s.len >= -1 && s.len <= INT16_MAX && (s.len <= 0 || s.ptr != NULL);
}

/* A bytes view with its bytes present (null is written as empty by BYTES). */
static inline bool kp__bytes_ok(struct kp_bytes b)
{
    return b.len >= -1 && (b.len <= 0 || b.ptr != NULL);
}

/* [int32] arrays (replica lists, broker ids, forgotten partitions). */
static inline const int32_t *kp__rd_i32s(struct kp_rd *rd, struct kp_arena *a, int32_t *n)
{
    *n = kp_rd_array(rd, KP__I32, false);
    int32_t *v = kp__rd_alloc(rd, a, *n, sizeof *v);
    for (int32_t i = 0; v && i < *n; i++)
        v[i] = kp_rd_i32(rd);
    return v;
}

static inline void kp__wr_i32s(struct kp_wr *wr, int32_t n, const int32_t *v)
{
    kp_wr_array(wr, n);
    for (int32_t i = 0; i < n; i++)
        kp_wr_i32(wr, v[i]);
}

#endif
