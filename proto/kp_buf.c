/*
 * kp_buf — see kp_buf.h for the contract. Every read goes through need(), which is the one
 * place that compares a requested size with what is left.
 */
#include "kp_buf.h"

#include <errno.h>
#include <string.h>

struct kp_str kp_str_of(const char *s)
{
    if (!s)
        return KP_STR_NULL;
    size_t n = strlen(s);
    /* Clamped only where a kp_str cannot say more; kp_wr_str refuses > INT16_MAX itself. */
    return (struct kp_str){s, n > INT32_MAX ? INT32_MAX : (int32_t)n};
}

bool kp_str_eq(struct kp_str a, const char *s)
{
    if (a.len < 0 || !s)
        return a.len < 0 && !s;
    size_t n = strlen(s);
    return (size_t)a.len == n && memcmp(a.ptr, s, n) == 0;
}

bool kp_str_same(struct kp_str a, struct kp_str b)
{
    if (a.len != b.len)
        return false;
    return a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0;
}

/* ---- reader --------------------------------------------------------------------------- */

void kp_rd_init(struct kp_rd *rd, const void *buf, size_t len)
{
    rd->start = buf;
    rd->p = buf;
    rd->end = len ? rd->p + len : rd->p; /* NULL + 0 is undefined in C */
    rd->err = 0;
    rd->trailing_ok = false;
}

int kp_rd_fail(struct kp_rd *rd, int err)
{
    if (rd->err == 0)
        rd->err = err;
    return rd->err;
}

/* Returns a pointer to n readable bytes and advances, or NULL (sticky error). */
static const uint8_t *need(struct kp_rd *rd, size_t n)
{
    if (rd->err)
        return NULL;
    if (n > kp_rd_left(rd)) {
        rd->err = -EBADMSG;
        return NULL;
    }
    const uint8_t *p = rd->p;
    rd->p += n;
    return p;
}

int8_t kp_rd_i8(struct kp_rd *rd)
{
    const uint8_t *p = need(rd, 1);
    return p ? (int8_t)p[0] : 0;
}

int16_t kp_rd_i16(struct kp_rd *rd)
{
    const uint8_t *p = need(rd, 2);
    return p ? (int16_t)kp_load_be16(p) : 0;
}

int32_t kp_rd_i32(struct kp_rd *rd)
{
    const uint8_t *p = need(rd, 4);
    return p ? (int32_t)kp_load_be32(p) : 0;
}

int64_t kp_rd_i64(struct kp_rd *rd)
{
    const uint8_t *p = need(rd, 8);
    return p ? (int64_t)kp_load_be64(p) : 0;
}

uint32_t kp_rd_u32(struct kp_rd *rd)
{
    const uint8_t *p = need(rd, 4);
    return p ? kp_load_be32(p) : 0;
}

bool kp_rd_bool(struct kp_rd *rd) { return kp_rd_i8(rd) != 0; }

/* Reads a base-128 varint of at most max_bytes; values wider than max_bits fail. */
static uint64_t rd_uvar(struct kp_rd *rd, unsigned max_bytes, unsigned max_bits)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < max_bytes; i++) {
        const uint8_t *p = need(rd, 1);
        if (!p)
            return 0;
        uint64_t group = p[0] & 0x7f;
        unsigned shift = 7 * i;
        if (shift + 7 > max_bits && (group >> (max_bits - shift)) != 0) {
            kp_rd_fail(rd, -EBADMSG); /* bits beyond the type's width */
            return 0;
        }
        v |= group << shift;
        if (!(p[0] & 0x80))
            return v;
    }
    kp_rd_fail(rd, -EBADMSG); /* continuation bit on the last allowed byte */
    return 0;
}

uint32_t kp_rd_uvarint(struct kp_rd *rd) { return (uint32_t)rd_uvar(rd, 5, 32); }
uint64_t kp_rd_uvarlong(struct kp_rd *rd) { return rd_uvar(rd, 10, 64); }

int32_t kp_rd_varint(struct kp_rd *rd)
{
    uint32_t u = kp_rd_uvarint(rd);
    return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

int64_t kp_rd_varlong(struct kp_rd *rd)
{
    uint64_t u = kp_rd_uvarlong(rd);
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

const uint8_t *kp_rd_raw(struct kp_rd *rd, size_t n) { return need(rd, n); }
void kp_rd_skip(struct kp_rd *rd, size_t n) { (void)need(rd, n); }

/* A length-prefixed view once the length is known; len < 0 is null when allowed. */
static struct kp_bytes rd_view(struct kp_rd *rd, int64_t len, bool nullable)
{
    if (rd->err)
        return KP_BYTES_NULL;
    if (len < 0) {
        if (len != -1 || !nullable)
            kp_rd_fail(rd, -EBADMSG);
        return KP_BYTES_NULL;
    }
    if (len > INT32_MAX) {
        kp_rd_fail(rd, -EBADMSG);
        return KP_BYTES_NULL;
    }
    const uint8_t *p = need(rd, (size_t)len);
    if (!p)
        return KP_BYTES_NULL;
    return (struct kp_bytes){p, (int32_t)len};
}

static struct kp_str as_str(struct kp_bytes b)
{
    return (struct kp_str){(const char *)b.ptr, b.len};
}

struct kp_str kp_rd_str(struct kp_rd *rd) { return as_str(rd_view(rd, kp_rd_i16(rd), false)); }
struct kp_str kp_rd_nstr(struct kp_rd *rd) { return as_str(rd_view(rd, kp_rd_i16(rd), true)); }

/* Compact lengths are uvarint(N + 1) with 0 meaning null. */
static int64_t rd_clen(struct kp_rd *rd) { return (int64_t)kp_rd_uvarint(rd) - 1; }

struct kp_str kp_rd_cstr(struct kp_rd *rd) { return as_str(rd_view(rd, rd_clen(rd), false)); }
struct kp_str kp_rd_cnstr(struct kp_rd *rd) { return as_str(rd_view(rd, rd_clen(rd), true)); }
struct kp_bytes kp_rd_bytes(struct kp_rd *rd) { return rd_view(rd, kp_rd_i32(rd), false); }
struct kp_bytes kp_rd_nbytes(struct kp_rd *rd) { return rd_view(rd, kp_rd_i32(rd), true); }
struct kp_bytes kp_rd_cbytes(struct kp_rd *rd) { return rd_view(rd, rd_clen(rd), false); }
struct kp_bytes kp_rd_cnbytes(struct kp_rd *rd) { return rd_view(rd, rd_clen(rd), true); }

static int32_t rd_count(struct kp_rd *rd, int64_t n, size_t min_elem_size, bool nullable)
{
    if (rd->err)
        return 0;
    if (n < 0) {
        if (n != -1 || !nullable) {
            kp_rd_fail(rd, -EBADMSG);
            return 0;
        }
        return -1;
    }
    if (min_elem_size == 0)
        min_elem_size = 1;
    if (n > INT32_MAX || (uint64_t)n > kp_rd_left(rd) / min_elem_size) {
        kp_rd_fail(rd, -EBADMSG);
        return 0;
    }
    return (int32_t)n;
}

int32_t kp_rd_array(struct kp_rd *rd, size_t min_elem_size, bool nullable)
{
    return rd_count(rd, kp_rd_i32(rd), min_elem_size, nullable);
}

int32_t kp_rd_carray(struct kp_rd *rd, size_t min_elem_size, bool nullable)
{
    return rd_count(rd, rd_clen(rd), min_elem_size, nullable);
}

void kp_rd_tags(struct kp_rd *rd)
{
    /* Each tagged field is at least a tag and a size: two bytes. */
    int32_t n = rd_count(rd, kp_rd_uvarint(rd), 2, false);
    for (int32_t i = 0; i < n && !rd->err; i++) {
        (void)kp_rd_uvarint(rd); /* tag */
        kp_rd_skip(rd, kp_rd_uvarint(rd));
    }
}

/* ---- writer --------------------------------------------------------------------------- */

void kp_wr_init(struct kp_wr *wr, void *buf, size_t cap)
{
    wr->start = buf;
    wr->p = buf;
    wr->end = cap ? wr->p + cap : wr->p;
    wr->err = 0;
}

uint8_t *kp_wr_reserve(struct kp_wr *wr, size_t n)
{
    if (wr->err)
        return NULL;
    if (n > kp_wr_left(wr)) {
        wr->err = -ENOSPC;
        return NULL;
    }
    uint8_t *p = wr->p;
    wr->p += n;
    return p;
}

void kp_wr_i8(struct kp_wr *wr, int8_t v)
{
    uint8_t *p = kp_wr_reserve(wr, 1);
    if (p)
        p[0] = (uint8_t)v;
}

void kp_wr_i16(struct kp_wr *wr, int16_t v)
{
    uint8_t *p = kp_wr_reserve(wr, 2);
    if (p)
        kp_store_be16(p, (uint16_t)v);
}

void kp_wr_i32(struct kp_wr *wr, int32_t v) { kp_wr_u32(wr, (uint32_t)v); }

void kp_wr_u32(struct kp_wr *wr, uint32_t v)
{
    uint8_t *p = kp_wr_reserve(wr, 4);
    if (p)
        kp_store_be32(p, v);
}

void kp_wr_i64(struct kp_wr *wr, int64_t v)
{
    uint8_t *p = kp_wr_reserve(wr, 8);
    if (p)
        kp_store_be64(p, (uint64_t)v);
}

void kp_wr_bool(struct kp_wr *wr, bool v) { kp_wr_i8(wr, v ? 1 : 0); }

void kp_wr_uvarlong(struct kp_wr *wr, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        tmp[n++] = b | (v ? 0x80 : 0);
    } while (v);
    kp_wr_raw(wr, tmp, n);
}

void kp_wr_uvarint(struct kp_wr *wr, uint32_t v) { kp_wr_uvarlong(wr, v); }

void kp_wr_varint(struct kp_wr *wr, int32_t v)
{
    kp_wr_uvarlong(wr, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void kp_wr_varlong(struct kp_wr *wr, int64_t v)
{
    kp_wr_uvarlong(wr, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void kp_wr_raw(struct kp_wr *wr, const void *p, size_t n)
{
    uint8_t *d = kp_wr_reserve(wr, n);
    if (d && n)
        memcpy(d, p, n);
}

void kp_wr_str(struct kp_wr *wr, struct kp_str s)
{
    int32_t n = s.len < 0 ? 0 : s.len;
    if (n > INT16_MAX) {
        wr->err = wr->err ? wr->err : -EOVERFLOW;
        return;
    }
    kp_wr_i16(wr, (int16_t)n);
    kp_wr_raw(wr, s.ptr, (size_t)n);
}

void kp_wr_nstr(struct kp_wr *wr, struct kp_str s)
{
    if (s.len < 0)
        kp_wr_i16(wr, -1);
    else
        kp_wr_str(wr, s);
}

void kp_wr_cstr(struct kp_wr *wr, struct kp_str s)
{
    uint32_t n = s.len < 0 ? 0 : (uint32_t)s.len;
    kp_wr_uvarint(wr, n + 1);
    kp_wr_raw(wr, s.ptr, n);
}

void kp_wr_cnstr(struct kp_wr *wr, struct kp_str s)
{
    if (s.len < 0)
        kp_wr_uvarint(wr, 0);
    else
        kp_wr_cstr(wr, s);
}

void kp_wr_bytes(struct kp_wr *wr, struct kp_bytes b)
{
    int32_t n = b.len < 0 ? 0 : b.len;
    kp_wr_i32(wr, n);
    kp_wr_raw(wr, b.ptr, (size_t)n);
}

void kp_wr_nbytes(struct kp_wr *wr, struct kp_bytes b)
{
    if (b.len < 0)
        kp_wr_i32(wr, -1);
    else
        kp_wr_bytes(wr, b);
}

void kp_wr_cbytes(struct kp_wr *wr, struct kp_bytes b)
{
    uint32_t n = b.len < 0 ? 0 : (uint32_t)b.len;
    kp_wr_uvarint(wr, n + 1);
    kp_wr_raw(wr, b.ptr, n);
}

void kp_wr_cnbytes(struct kp_wr *wr, struct kp_bytes b)
{
    if (b.len < 0)
        kp_wr_uvarint(wr, 0);
    else
        kp_wr_cbytes(wr, b);
}

void kp_wr_array(struct kp_wr *wr, int32_t n) { kp_wr_i32(wr, n < 0 ? -1 : n); }
void kp_wr_carray(struct kp_wr *wr, int32_t n) { kp_wr_uvarint(wr, n < 0 ? 0 : (uint32_t)n + 1); }
void kp_wr_tags(struct kp_wr *wr) { kp_wr_uvarint(wr, 0); }

void kp_wr_i32_at(struct kp_wr *wr, size_t pos, int32_t v)
{
    if (kp_wr_len(wr) < 4 || pos > kp_wr_len(wr) - 4) { /* pos + 4 could wrap */
        wr->err = wr->err ? wr->err : -EINVAL;
        return;
    }
    kp_store_be32(wr->start + pos, (uint32_t)v);
}

size_t kp_uvarint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t kp_varint_size(int32_t v)
{
    return kp_uvarint_size(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

size_t kp_varlong_size(int64_t v)
{
    return kp_uvarint_size(((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* ---- arena ---------------------------------------------------------------------------- */

void kp_arena_init(struct kp_arena *a, void *mem, size_t cap)
{
    a->base = mem;
    a->cap = cap;
    a->used = 0;
}

void *kp_arena_alloc(struct kp_arena *a, size_t n, size_t sz)
{
    const size_t align = _Alignof(max_align_t);
    if (!a->base)
        return NULL; /* an arena over no memory holds nothing (and NULL + 0 is undefined) */
    size_t off = (a->used + align - 1) & ~(align - 1);
    if (sz && n > SIZE_MAX / sz)
        return NULL;
    size_t bytes = n * sz;
    if (off > a->cap || bytes > a->cap - off)
        return NULL;
    a->used = off + bytes;
    void *p = a->base + off;
    memset(p, 0, bytes);
    return p;
}
