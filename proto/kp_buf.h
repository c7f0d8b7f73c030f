/*
 * kp_buf — bounds-checked read cursor and write cursor for the Kafka wire format.
 *
 * Contract
 * - Owns nothing: both cursors walk caller-owned memory. Views handed out by the reader
 *   (kp_str, kp_bytes) point into the caller's buffer and live exactly as long as it.
 * - Pure and reentrant: no globals, no allocation, any thread may use its own cursor.
 * - Errors are sticky. The first short read (or short write) puts the cursor into an error
 *   state (err = -EBADMSG for reads, -ENOSPC for writes; struct kp_wr lists the writer's
 *   other errors); every later call is a no-op that returns a zero value. Decoders
 *   therefore read a whole message linearly and check kp_rd_ok() once at the end, as
 *   librdkafka's read macros do with their error label.
 * - Every length and count is checked against what remains before the caller can size
 *   anything from it: kp_rd_array() takes the smallest encoded size of one element and fails
 *   when count * min_size exceeds the bytes left (the CVE-2022-34917 class of bug).
 * - Big-endian fixed-width integers; varints as Kafka uses them: unsigned varints for
 *   flexible-version lengths (no zigzag), zigzag varint/varlong inside record batches.
 */
#ifndef SPLICELOG_KP_BUF_H
#define SPLICELOG_KP_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A string view. len == -1 means null (NULLABLE_STRING / COMPACT_NULLABLE_STRING). */
struct kp_str {
    const char *ptr;
    int32_t len;
};

/* A bytes view. len == -1 means null. */
struct kp_bytes {
    const uint8_t *ptr;
    int32_t len;
};

/* A UUID (Kafka's "uuid": 16 raw bytes, e.g. a topic id). All zero is Kafka's ZERO_UUID. */
struct kp_uuid {
    uint8_t b[16];
};

#define KP_STR_NULL   ((struct kp_str){NULL, -1})
#define KP_BYTES_NULL ((struct kp_bytes){NULL, -1})

/* View of a NUL-terminated C string (NULL gives a null kp_str). */
struct kp_str kp_str_of(const char *s);
/* True when a equals the C string s (a null kp_str equals only s == NULL). */
bool kp_str_eq(struct kp_str a, const char *s);
/* True when both views hold the same bytes (or are both null). */
bool kp_str_same(struct kp_str a, struct kp_str b);

/* ---- reader --------------------------------------------------------------------------- */

struct kp_rd {
    const uint8_t *start; /* first byte of the buffer, for kp_rd_pos() */
    const uint8_t *p;     /* next byte to read; start <= p <= end */
    const uint8_t *end;   /* one past the last readable byte */
    int err;              /* 0, or the first error (negative errno); sticky */
    bool trailing_ok;     /* kp_rd_allow_trailing(): false after kp_rd_init */
};

void kp_rd_init(struct kp_rd *rd, const void *buf, size_t len);
/*
 * Message decoders (kp_msg.h) normally fail with -EBADMSG when bytes follow the body. After
 * this call they accept them and leave the reader at the end of the body, as Kafka's broker
 * does with requests (it never checks what is left): librdkafka 2.0.2, for one, appends an
 * extra tag buffer to ListGroups v3+ requests (fixed in 2.0.3, confluentinc/librdkafka#4207).
 */
static inline void kp_rd_allow_trailing(struct kp_rd *rd) { rd->trailing_ok = true; }
static inline bool kp_rd_ok(const struct kp_rd *rd) { return rd->err == 0; }
static inline size_t kp_rd_left(const struct kp_rd *rd) { return (size_t)(rd->end - rd->p); }
static inline size_t kp_rd_pos(const struct kp_rd *rd) { return (size_t)(rd->p - rd->start); }
/* Put the reader in error state err (negative errno) unless it already is; returns err. */
int kp_rd_fail(struct kp_rd *rd, int err);

int8_t kp_rd_i8(struct kp_rd *rd);
int16_t kp_rd_i16(struct kp_rd *rd);
int32_t kp_rd_i32(struct kp_rd *rd);
int64_t kp_rd_i64(struct kp_rd *rd);
uint32_t kp_rd_u32(struct kp_rd *rd);
bool kp_rd_bool(struct kp_rd *rd);
/* Unsigned varint of at most 5 bytes (values above UINT32_MAX fail). */
uint32_t kp_rd_uvarint(struct kp_rd *rd);
/* Unsigned varlong of at most 10 bytes. */
uint64_t kp_rd_uvarlong(struct kp_rd *rd);
/* Zigzag varint (<= 5 bytes) and varlong (<= 10 bytes), as in record batches. */
int32_t kp_rd_varint(struct kp_rd *rd);
int64_t kp_rd_varlong(struct kp_rd *rd);

/* n raw bytes: returns a pointer into the buffer, or NULL (and error) when fewer remain. */
const uint8_t *kp_rd_raw(struct kp_rd *rd, size_t n);
void kp_rd_skip(struct kp_rd *rd, size_t n);

/* STRING (int16 length, -1 is an error), NULLABLE_STRING, and the compact forms. */
struct kp_str kp_rd_str(struct kp_rd *rd);
struct kp_str kp_rd_nstr(struct kp_rd *rd);
struct kp_str kp_rd_cstr(struct kp_rd *rd);
struct kp_str kp_rd_cnstr(struct kp_rd *rd);
/* BYTES (int32 length), NULLABLE_BYTES, and the compact forms. */
struct kp_bytes kp_rd_bytes(struct kp_rd *rd);
struct kp_bytes kp_rd_nbytes(struct kp_rd *rd);
struct kp_bytes kp_rd_cbytes(struct kp_rd *rd);
struct kp_bytes kp_rd_cnbytes(struct kp_rd *rd);

/*
 * ARRAY count (int32) and COMPACT_ARRAY count (uvarint N+1). Returns the count, -1 for a null
 * array (only when nullable is true; otherwise null is an error), and fails when
 * count * min_elem_size is more than the bytes left. min_elem_size must be >= 1.
 */
int32_t kp_rd_array(struct kp_rd *rd, size_t min_elem_size, bool nullable);
int32_t kp_rd_carray(struct kp_rd *rd, size_t min_elem_size, bool nullable);
/* A tagged-field buffer: reads the count and skips every field (none are understood yet). */
void kp_rd_tags(struct kp_rd *rd);

/* ---- writer --------------------------------------------------------------------------- */

struct kp_wr {
    uint8_t *start; /* first byte of the buffer */
    uint8_t *p;     /* next byte to write; start <= p <= end */
    uint8_t *end;   /* one past the last writable byte */
    int err;        /* 0, or the first error; sticky: -ENOSPC (a write did not fit),
                       -EOVERFLOW (STRING longer than INT16_MAX), -EINVAL (kp_wr_i32_at
                       outside what was written) */
};

void kp_wr_init(struct kp_wr *wr, void *buf, size_t cap);
static inline bool kp_wr_ok(const struct kp_wr *wr) { return wr->err == 0; }
static inline size_t kp_wr_len(const struct kp_wr *wr) { return (size_t)(wr->p - wr->start); }
static inline size_t kp_wr_left(const struct kp_wr *wr) { return (size_t)(wr->end - wr->p); }

void kp_wr_i8(struct kp_wr *wr, int8_t v);
void kp_wr_i16(struct kp_wr *wr, int16_t v);
void kp_wr_i32(struct kp_wr *wr, int32_t v);
void kp_wr_i64(struct kp_wr *wr, int64_t v);
void kp_wr_u32(struct kp_wr *wr, uint32_t v);
void kp_wr_bool(struct kp_wr *wr, bool v);
void kp_wr_uvarint(struct kp_wr *wr, uint32_t v);
void kp_wr_uvarlong(struct kp_wr *wr, uint64_t v);
void kp_wr_varint(struct kp_wr *wr, int32_t v);
void kp_wr_varlong(struct kp_wr *wr, int64_t v);
void kp_wr_raw(struct kp_wr *wr, const void *p, size_t n);
/* Reserve n bytes and return where they start (NULL and error when they do not fit). */
uint8_t *kp_wr_reserve(struct kp_wr *wr, size_t n);

/* STRING writes a null view as an empty string; the nullable forms keep null. */
void kp_wr_str(struct kp_wr *wr, struct kp_str s);
void kp_wr_nstr(struct kp_wr *wr, struct kp_str s);
void kp_wr_cstr(struct kp_wr *wr, struct kp_str s);
void kp_wr_cnstr(struct kp_wr *wr, struct kp_str s);
void kp_wr_bytes(struct kp_wr *wr, struct kp_bytes b);
void kp_wr_nbytes(struct kp_wr *wr, struct kp_bytes b);
void kp_wr_cbytes(struct kp_wr *wr, struct kp_bytes b);
void kp_wr_cnbytes(struct kp_wr *wr, struct kp_bytes b);
/* ARRAY count (n == -1 writes null) and COMPACT_ARRAY count. */
void kp_wr_array(struct kp_wr *wr, int32_t n);
void kp_wr_carray(struct kp_wr *wr, int32_t n);
/* An empty tagged-field buffer (a single 0x00). */
void kp_wr_tags(struct kp_wr *wr);

/* Overwrite a big-endian int32 at byte position pos (< kp_wr_len), e.g. a frame size. */
void kp_wr_i32_at(struct kp_wr *wr, size_t pos, int32_t v);

/* Encoded sizes, for sizing buffers and frames before writing. */
size_t kp_uvarint_size(uint64_t v);
size_t kp_varint_size(int32_t v);
size_t kp_varlong_size(int64_t v);

/* Big-endian load/store helpers for fixed offsets (batch headers, index entries). */
static inline uint16_t kp_load_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t kp_load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t kp_load_be64(const uint8_t *p)
{
    return (uint64_t)kp_load_be32(p) << 32 | kp_load_be32(p + 4);
}
static inline void kp_store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void kp_store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void kp_store_be64(uint8_t *p, uint64_t v)
{
    kp_store_be32(p, (uint32_t)(v >> 32));
    kp_store_be32(p + 4, (uint32_t)v);
}

/* ---- arena ---------------------------------------------------------------------------- */

/*
 * A bump allocator over caller-owned memory, for the arrays a decoder must build (topics,
 * partitions). Bounded by its capacity: exhaustion returns NULL and the decoder fails with
 * -ENOMEM. kp_arena_reset() makes all of it free again; nothing is freed one by one.
 */
struct kp_arena {
    uint8_t *base;
    size_t cap;
    size_t used; /* used <= cap */
};

void kp_arena_init(struct kp_arena *a, void *mem, size_t cap);
static inline void kp_arena_reset(struct kp_arena *a) { a->used = 0; }
/* n elements of size sz, zeroed, aligned for any scalar; NULL when it does not fit. */
void *kp_arena_alloc(struct kp_arena *a, size_t n, size_t sz);
/*
 * The capacity that n_allocs allocations totalling bytes always fit in, alignment padding
 * included: size an arena with this instead of guessing the padding.
 */
static inline size_t kp_arena_need(size_t n_allocs, size_t bytes)
{
    return bytes + n_allocs * (_Alignof(max_align_t) - 1);
}

#endif
