/*
 * kp_schema — the walker over the message tables (kp_schema.h explains the tables and why).
 *
 * Three walks share one shape, each a switch over the field type:
 *   size  validates and counts (encoders run it first, so -EINVAL writes nothing);
 *   write emits the bytes, trusting what size validated;
 *   read  fills a struct: defaults first, then the fields of this version in table order,
 *         then the tag buffer.
 * Flexible versions (KIP-482) change only the leaf encodings: COMPACT_STRING/BYTES/ARRAY are
 * uvarint(N + 1) with 0 for null, and every struct, array element and the body itself end in
 * a tag buffer: uvarint count, then per field uvarint tag, uvarint size, value.
 */
#include "kp_schema.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kp_msg_int.h"

/* The test-only unknown tag (kp__encode_ex): larger than any tag Kafka uses, two bytes as a
 * uvarint, carrying three bytes. */
#define EXTRA_TAG      0x3fff
#define EXTRA_TAG_SIZE 3

static const uint8_t extra_tag_value[EXTRA_TAG_SIZE] = {'x', 'y', 'z'};

/* ---- member access ------------------------------------------------------------------- */

static const void *cfield(const void *base, size_t off) { return (const uint8_t *)base + off; }

static void *field(void *base, size_t off) { return (uint8_t *)base + off; }

static int32_t get_count(const void *base, const struct kp__field *f)
{
    int32_t n;
    memcpy(&n, cfield(base, f->n_off), sizeof n);
    return n;
}

static const void *get_ptr(const void *base, const struct kp__field *f)
{
    const void *p;
    memcpy(&p, cfield(base, f->off), sizeof p);
    return p;
}

static void set_array(void *base, const struct kp__field *f, int32_t n, const void *p)
{
    memcpy(field(base, f->n_off), &n, sizeof n);
    memcpy(field(base, f->off), &p, sizeof p);
}

static int64_t get_int(const void *base, const struct kp__field *f)
{
    const void *p = cfield(base, f->off);
    switch (f->type) {
    case KP__T_BOOL:
        return *(const bool *)p;
    case KP__T_I8:
        return *(const int8_t *)p;
    case KP__T_I16:
        return *(const int16_t *)p;
    case KP__T_I32:
        return *(const int32_t *)p;
    default:
        return *(const int64_t *)p;
    }
}

static bool has(const struct kp__field *f, int16_t v) { return v >= f->lo && v <= f->hi; }

static bool nullable_at(const struct kp__field *f, int16_t v)
{
    return f->nullable && v >= f->nlo && v <= f->nhi;
}

static bool is_array(const struct kp__field *f)
{
    return f->type == KP__T_ARRAY || f->type == KP__T_I32S || f->type == KP__T_STRS;
}

/* ---- defaults ------------------------------------------------------------------------ */

static void init_struct(const struct kp__struct *s, void *base);

static void init_field(const struct kp__field *f, void *base)
{
    void *p = field(base, f->off);
    switch (f->type) {
    case KP__T_BOOL:
        *(bool *)p = f->def != 0;
        break;
    case KP__T_I8:
        *(int8_t *)p = (int8_t)f->def;
        break;
    case KP__T_I16:
        *(int16_t *)p = (int16_t)f->def;
        break;
    case KP__T_I32:
        *(int32_t *)p = (int32_t)f->def;
        break;
    case KP__T_I64:
        *(int64_t *)p = f->def;
        break;
    case KP__T_UUID:
        memset(p, 0, sizeof(struct kp_uuid));
        break;
    case KP__T_STR:
        *(struct kp_str *)p = f->def_null ? KP_STR_NULL : (struct kp_str){"", 0};
        break;
    case KP__T_BYTES:
    case KP__T_RECORDS:
        *(struct kp_bytes *)p =
            f->def_null ? KP_BYTES_NULL : (struct kp_bytes){(const uint8_t *)"", 0};
        break;
    case KP__T_STRUCT:
        init_struct(f->sub, p);
        break;
    case KP__T_PSTRUCT: {
        const void *none = NULL;
        memcpy(p, &none, sizeof none);
        break;
    }
    case KP__T_ARRAY:
    case KP__T_I32S:
    case KP__T_STRS:
        set_array(base, f, f->def_null ? -1 : 0, NULL);
        break;
    case KP__T_CUSTOM:
        f->custom->init(base);
        break;
    }
}

static void init_struct(const struct kp__struct *s, void *base)
{
    for (size_t i = 0; i < s->n; i++)
        init_field(&s->f[i], base);
}

static bool struct_is_default(const struct kp__struct *s, const void *base);

/* Whether a tagged field holds its default (Kafka then leaves it off the wire). */
static bool is_default(const struct kp__field *f, const void *base)
{
    const void *p = cfield(base, f->off);
    switch (f->type) {
    case KP__T_UUID: {
        static const struct kp_uuid zero;
        return memcmp(p, &zero, sizeof zero) == 0;
    }
    case KP__T_STR:
        return ((const struct kp_str *)p)->len == (f->def_null ? -1 : 0);
    case KP__T_BYTES:
    case KP__T_RECORDS:
        return ((const struct kp_bytes *)p)->len == (f->def_null ? -1 : 0);
    case KP__T_STRUCT:
        return struct_is_default(f->sub, p);
    case KP__T_PSTRUCT: {
        const void *q = get_ptr(base, f);
        return !q || struct_is_default(f->sub, q);
    }
    case KP__T_ARRAY:
    case KP__T_I32S:
    case KP__T_STRS:
        return get_count(base, f) == (f->def_null ? -1 : 0);
    case KP__T_CUSTOM:
        return true;
    default:
        return get_int(base, f) == (f->type == KP__T_BOOL ? (f->def != 0) : f->def);
    }
}

static bool struct_is_default(const struct kp__struct *s, const void *base)
{
    for (size_t i = 0; i < s->n; i++)
        if (!is_default(&s->f[i], base))
            return false;
    return true;
}

/* ---- size (and validation) ------------------------------------------------------------- */

static size_t str_size(const struct kp__ctx *c, int32_t len)
{
    size_t n = len > 0 ? (size_t)len : 0;
    if (!c->flex)
        return 2 + n;
    return kp_uvarint_size(len < 0 ? 0 : (uint64_t)len + 1) + n;
}

static size_t bytes_size(const struct kp__ctx *c, int32_t len)
{
    size_t n = len > 0 ? (size_t)len : 0;
    if (!c->flex)
        return 4 + n;
    return kp_uvarint_size(len < 0 ? 0 : (uint64_t)len + 1) + n;
}

static size_t count_size(const struct kp__ctx *c, int32_t n)
{
    if (!c->flex)
        return 4;
    return kp_uvarint_size(n < 0 ? 0 : (uint64_t)n + 1);
}

static int size_struct(const struct kp__ctx *c, const struct kp__struct *s, const void *base,
                       size_t *n);

static int size_field(const struct kp__ctx *c, const struct kp__field *f, const void *base,
                      size_t *n)
{
    const void *p = cfield(base, f->off);
    switch (f->type) {
    case KP__T_BOOL:
    case KP__T_I8:
        *n += 1;
        return 0;
    case KP__T_I16:
        *n += 2;
        return 0;
    case KP__T_I32:
        *n += 4;
        return 0;
    case KP__T_I64:
        *n += 8;
        return 0;
    case KP__T_UUID:
        *n += 16;
        return 0;
    case KP__T_STR: {
        struct kp_str s = *(const struct kp_str *)p;
        if (!kp__str_ok(s))
            return -EINVAL;
        *n += str_size(c, nullable_at(f, c->v) ? s.len : (s.len < 0 ? 0 : s.len));
        return 0;
    }
    case KP__T_BYTES:
    case KP__T_RECORDS: {
        struct kp_bytes b = *(const struct kp_bytes *)p;
        if (!kp__bytes_ok(b))
            return -EINVAL;
        bool null_ok = nullable_at(f, c->v) && !f->null_empty;
        *n += bytes_size(c, null_ok ? b.len : (b.len < 0 ? 0 : b.len));
        return 0;
    }
    case KP__T_STRUCT:
        return size_struct(c, f->sub, p, n);
    case KP__T_PSTRUCT: /* tagged only (kp__schema_check): reached only when non-NULL */
        return size_struct(c, f->sub, get_ptr(base, f), n);
    case KP__T_ARRAY:
    case KP__T_I32S:
    case KP__T_STRS: {
        int32_t cnt = get_count(base, f);
        const uint8_t *e = get_ptr(base, f);
        if (!kp__arr_ok(cnt, e, nullable_at(f, c->v)))
            return -EINVAL;
        *n += count_size(c, cnt);
        if (f->type == KP__T_I32S) {
            *n += 4 * (size_t)(cnt > 0 ? cnt : 0);
            return 0;
        }
        for (int32_t i = 0; i < cnt; i++) {
            if (f->type == KP__T_STRS) {
                const struct kp_str *s = (const struct kp_str *)(const void *)e + i;
                if (!kp__str_ok(*s))
                    return -EINVAL;
                *n += str_size(c, s->len < 0 ? 0 : s->len);
            } else {
                int rc = size_struct(c, f->sub, e + (size_t)i * f->sub->size, n);
                if (rc)
                    return rc;
            }
        }
        return 0;
    }
    case KP__T_CUSTOM:
        return f->custom->size(c, base, n);
    }
    return -EINVAL;
}

/* The tagged fields of s that go on the wire at this version (present and not default). */
static bool tag_written(const struct kp__ctx *c, const struct kp__field *f, const void *base)
{
    return f->tagged && has(f, c->v) && !is_default(f, base);
}

size_t kp__tags_size(const struct kp__ctx *c)
{
    return c->extra_tag ? 1 + kp_uvarint_size(EXTRA_TAG) + 1 + EXTRA_TAG_SIZE : 1;
}

static int size_struct(const struct kp__ctx *c, const struct kp__struct *s, const void *base,
                       size_t *n)
{
    uint32_t n_tags = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct kp__field *f = &s->f[i];
        if (!has(f, c->v))
            continue;
        if (!f->tagged) {
            int rc = size_field(c, f, base, n);
            if (rc)
                return rc;
        } else if (c->flex && tag_written(c, f, base)) {
            size_t fs = 0;
            int rc = size_field(c, f, base, &fs);
            if (rc)
                return rc;
            *n += kp_uvarint_size(f->tag) + kp_uvarint_size(fs) + fs;
            n_tags++;
        }
    }
    if (c->flex) {
        if (c->extra_tag) {
            n_tags++;
            *n += kp_uvarint_size(EXTRA_TAG) + 1 + EXTRA_TAG_SIZE;
        }
        *n += kp_uvarint_size(n_tags);
    }
    return 0;
}

/* ---- write --------------------------------------------------------------------------- */

static void write_struct(const struct kp__ctx *c, struct kp_wr *wr, const struct kp__struct *s,
                         const void *base);

static void write_str(const struct kp__ctx *c, struct kp_wr *wr, struct kp_str s, bool null_ok)
{
    if (c->flex)
        null_ok ? kp_wr_cnstr(wr, s) : kp_wr_cstr(wr, s);
    else
        null_ok ? kp_wr_nstr(wr, s) : kp_wr_str(wr, s);
}

static void write_count(const struct kp__ctx *c, struct kp_wr *wr, int32_t n)
{
    c->flex ? kp_wr_carray(wr, n) : kp_wr_array(wr, n);
}

static void write_field(const struct kp__ctx *c, struct kp_wr *wr, const struct kp__field *f,
                        const void *base)
{
    const void *p = cfield(base, f->off);
    switch (f->type) {
    case KP__T_BOOL:
        kp_wr_bool(wr, *(const bool *)p);
        break;
    case KP__T_I8:
        kp_wr_i8(wr, *(const int8_t *)p);
        break;
    case KP__T_I16:
        kp_wr_i16(wr, *(const int16_t *)p);
        break;
    case KP__T_I32:
        kp_wr_i32(wr, *(const int32_t *)p);
        break;
    case KP__T_I64:
        kp_wr_i64(wr, *(const int64_t *)p);
        break;
    case KP__T_UUID:
        kp_wr_raw(wr, p, sizeof(struct kp_uuid));
        break;
    case KP__T_STR:
        write_str(c, wr, *(const struct kp_str *)p, nullable_at(f, c->v));
        break;
    case KP__T_BYTES:
    case KP__T_RECORDS: {
        struct kp_bytes b = *(const struct kp_bytes *)p;
        bool null_ok = nullable_at(f, c->v) && !f->null_empty;
        if (c->flex)
            null_ok ? kp_wr_cnbytes(wr, b) : kp_wr_cbytes(wr, b);
        else
            null_ok ? kp_wr_nbytes(wr, b) : kp_wr_bytes(wr, b);
        break;
    }
    case KP__T_STRUCT:
        write_struct(c, wr, f->sub, p);
        break;
    case KP__T_PSTRUCT:
        write_struct(c, wr, f->sub, get_ptr(base, f));
        break;
    case KP__T_ARRAY:
    case KP__T_I32S:
    case KP__T_STRS: {
        int32_t cnt = get_count(base, f);
        const uint8_t *e = get_ptr(base, f);
        write_count(c, wr, cnt);
        for (int32_t i = 0; i < cnt; i++) {
            if (f->type == KP__T_I32S)
                kp_wr_i32(wr, ((const int32_t *)(const void *)e)[i]);
            else if (f->type == KP__T_STRS)
                write_str(c, wr, ((const struct kp_str *)(const void *)e)[i], false);
            else
                write_struct(c, wr, f->sub, e + (size_t)i * f->sub->size);
        }
        break;
    }
    case KP__T_CUSTOM:
        f->custom->write(c, wr, base);
        break;
    }
}

static void write_extra_tag(struct kp_wr *wr)
{
    kp_wr_uvarint(wr, EXTRA_TAG);
    kp_wr_uvarint(wr, EXTRA_TAG_SIZE);
    kp_wr_raw(wr, extra_tag_value, EXTRA_TAG_SIZE);
}

void kp__wr_tags(const struct kp__ctx *c, struct kp_wr *wr)
{
    kp_wr_uvarint(wr, c->extra_tag ? 1 : 0);
    if (c->extra_tag)
        write_extra_tag(wr);
}

/* The tag buffer of s: tables list tagged fields in ascending tag order (kp__schema_check),
 * which is the order Kafka writes them in. */
static void write_tags(const struct kp__ctx *c, struct kp_wr *wr, const struct kp__struct *s,
                       const void *base)
{
    uint32_t n_tags = c->extra_tag ? 1 : 0;
    for (size_t i = 0; i < s->n; i++)
        n_tags += tag_written(c, &s->f[i], base);
    kp_wr_uvarint(wr, n_tags);
    for (size_t i = 0; i < s->n; i++) {
        const struct kp__field *f = &s->f[i];
        if (!tag_written(c, f, base))
            continue;
        size_t fs = 0;
        (void)size_field(c, f, base, &fs); /* validated by the size pass */
        kp_wr_uvarint(wr, f->tag);
        kp_wr_uvarint(wr, (uint32_t)fs);
        write_field(c, wr, f, base);
    }
    if (c->extra_tag)
        write_extra_tag(wr);
}

static void write_struct(const struct kp__ctx *c, struct kp_wr *wr, const struct kp__struct *s,
                         const void *base)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct kp__field *f = &s->f[i];
        if (has(f, c->v) && !f->tagged)
            write_field(c, wr, f, base);
    }
    if (c->flex)
        write_tags(c, wr, s, base);
}

/* ---- read ---------------------------------------------------------------------------- */

/* Smallest encoding of one element of s: what kp_rd_array checks a count against. */
static size_t min_struct(const struct kp__ctx *c, const struct kp__struct *s);

static size_t min_field(const struct kp__ctx *c, const struct kp__field *f)
{
    switch (f->type) {
    case KP__T_BOOL:
    case KP__T_I8:
        return 1;
    case KP__T_I16:
        return 2;
    case KP__T_I32:
        return 4;
    case KP__T_I64:
        return 8;
    case KP__T_UUID:
        return 16;
    case KP__T_STR:
        return c->flex ? 1 : 2;
    case KP__T_BYTES:
    case KP__T_RECORDS:
    case KP__T_ARRAY:
    case KP__T_I32S:
    case KP__T_STRS:
        return c->flex ? 1 : 4;
    case KP__T_STRUCT:
        return min_struct(c, f->sub);
    case KP__T_PSTRUCT: /* tagged only: never counted */
        return 0;
    case KP__T_CUSTOM:
        return f->custom->min_size(c);
    }
    return 1;
}

static size_t min_struct(const struct kp__ctx *c, const struct kp__struct *s)
{
    size_t n = c->flex ? 1 : 0;
    for (size_t i = 0; i < s->n; i++)
        if (has(&s->f[i], c->v) && !s->f[i].tagged)
            n += min_field(c, &s->f[i]);
    return n;
}

static void read_struct(const struct kp__ctx *c, struct kp_rd *rd, struct kp_arena *a,
                        const struct kp__struct *s, void *base);

static struct kp_str read_str(const struct kp__ctx *c, struct kp_rd *rd, bool null_ok)
{
    if (c->flex)
        return null_ok ? kp_rd_cnstr(rd) : kp_rd_cstr(rd);
    return null_ok ? kp_rd_nstr(rd) : kp_rd_str(rd);
}

static void read_field(const struct kp__ctx *c, struct kp_rd *rd, struct kp_arena *a,
                       const struct kp__field *f, void *base)
{
    void *p = field(base, f->off);
    bool null_ok = nullable_at(f, c->v);
    switch (f->type) {
    case KP__T_BOOL:
        *(bool *)p = kp_rd_bool(rd);
        break;
    case KP__T_I8:
        *(int8_t *)p = kp_rd_i8(rd);
        break;
    case KP__T_I16:
        *(int16_t *)p = kp_rd_i16(rd);
        break;
    case KP__T_I32:
        *(int32_t *)p = kp_rd_i32(rd);
        break;
    case KP__T_I64:
        *(int64_t *)p = kp_rd_i64(rd);
        break;
    case KP__T_UUID: {
        const uint8_t *u = kp_rd_raw(rd, sizeof(struct kp_uuid));
        if (u)
            memcpy(p, u, sizeof(struct kp_uuid));
        break;
    }
    case KP__T_STR:
        *(struct kp_str *)p = read_str(c, rd, null_ok);
        break;
    case KP__T_BYTES:
    case KP__T_RECORDS: {
        struct kp_bytes b;
        if (c->flex)
            b = null_ok ? kp_rd_cnbytes(rd) : kp_rd_cbytes(rd);
        else
            b = null_ok ? kp_rd_nbytes(rd) : kp_rd_bytes(rd);
        if (f->null_empty && b.len < 0)
            b = (struct kp_bytes){NULL, 0};
        *(struct kp_bytes *)p = b;
        break;
    }
    case KP__T_STRUCT:
        read_struct(c, rd, a, f->sub, p);
        break;
    case KP__T_PSTRUCT: {
        void *q = kp__rd_alloc(rd, a, 1, f->sub->size);
        memcpy(p, &q, sizeof q);
        if (q)
            read_struct(c, rd, a, f->sub, q);
        break;
    }
    case KP__T_ARRAY:
    case KP__T_I32S:
    case KP__T_STRS: {
        size_t min = f->type == KP__T_I32S   ? 4
                     : f->type == KP__T_STRS ? (c->flex ? 1 : 2)
                                             : min_struct(c, f->sub);
        int32_t n = c->flex ? kp_rd_carray(rd, min, null_ok) : kp_rd_array(rd, min, null_ok);
        size_t esize = f->type == KP__T_I32S   ? sizeof(int32_t)
                       : f->type == KP__T_STRS ? sizeof(struct kp_str)
                                               : f->sub->size;
        uint8_t *e = kp__rd_alloc(rd, a, n, esize);
        set_array(base, f, kp_rd_ok(rd) ? n : 0, e);
        for (int32_t i = 0; e && i < n && kp_rd_ok(rd); i++) {
            if (f->type == KP__T_I32S)
                ((int32_t *)(void *)e)[i] = kp_rd_i32(rd);
            else if (f->type == KP__T_STRS)
                ((struct kp_str *)(void *)e)[i] = read_str(c, rd, false);
            else
                read_struct(c, rd, a, f->sub, e + (size_t)i * esize);
        }
        break;
    }
    case KP__T_CUSTOM:
        f->custom->read(c, rd, a, base);
        break;
    }
}

static const struct kp__field *find_tag(const struct kp__ctx *c, const struct kp__struct *s,
                                        uint32_t tag)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct kp__field *f = &s->f[i];
        if (f->tagged && f->tag == tag && has(f, c->v))
            return f;
    }
    return NULL;
}

/* A tag buffer. Each field is at least two bytes (tag, size), which bounds the count. */
static void read_tags(const struct kp__ctx *c, struct kp_rd *rd, struct kp_arena *a,
                      const struct kp__struct *s, void *base)
{
    uint32_t n = kp_rd_uvarint(rd);
    if (kp_rd_ok(rd) && n > kp_rd_left(rd) / 2)
        kp_rd_fail(rd, -EBADMSG);
    for (uint32_t i = 0; i < n && kp_rd_ok(rd); i++) {
        uint32_t tag = kp_rd_uvarint(rd);
        uint32_t size = kp_rd_uvarint(rd);
        const uint8_t *v = kp_rd_raw(rd, size);
        const struct kp__field *f = s ? find_tag(c, s, tag) : NULL;
        if (!v || !f)
            continue; /* short (the reader failed), or a tag this version does not know */
        struct kp_rd sub;
        kp_rd_init(&sub, v, size);
        read_field(c, &sub, a, f, base);
        if (kp_rd_ok(&sub) && kp_rd_left(&sub) != 0)
            kp_rd_fail(&sub, -EBADMSG); /* the size does not match the field */
        if (!kp_rd_ok(&sub))
            kp_rd_fail(rd, sub.err);
    }
}

void kp__rd_skip_tags(struct kp_rd *rd)
{
    static const struct kp__ctx flex = {.flex = true};
    read_tags(&flex, rd, NULL, NULL, NULL);
}

static void read_struct(const struct kp__ctx *c, struct kp_rd *rd, struct kp_arena *a,
                        const struct kp__struct *s, void *base)
{
    /* Fields on the wire are read; the others (absent at this version, tagged, or after an
     * error) get their default, so that every member is set. */
    for (size_t i = 0; i < s->n; i++) {
        const struct kp__field *f = &s->f[i];
        if (has(f, c->v) && !f->tagged && kp_rd_ok(rd))
            read_field(c, rd, a, f, base);
        else
            init_field(f, base);
    }
    if (c->flex)
        read_tags(c, rd, a, s, base);
}

/* ---- entry points -------------------------------------------------------------------- */

static bool ctx_init(struct kp__ctx *c, const struct kp__api *api, int16_t version, bool extra_tag)
{
    if (!kp__ver_in(version, api->info->min_version, api->info->max_version))
        return false;
    c->v = version;
    c->flex = version >= api->info->first_flexible;
    c->extra_tag = extra_tag;
    return true;
}

int kp__size(const struct kp__api *api, const struct kp__struct *body, int16_t version,
             const void *msg, size_t *size)
{
    struct kp__ctx c;
    if (!ctx_init(&c, api, version, false))
        return -EINVAL;
    *size = 0;
    return size_struct(&c, body, msg, size);
}

int kp__encode_ex(struct kp_wr *wr, const struct kp__api *api, const struct kp__struct *body,
                  int16_t version, const void *msg, bool extra_tag)
{
    struct kp__ctx c;
    size_t n = 0;
    if (!ctx_init(&c, api, version, extra_tag) || size_struct(&c, body, msg, &n) != 0)
        return -EINVAL;
    write_struct(&c, wr, body, msg);
    return wr->err;
}

int kp__encode(struct kp_wr *wr, const struct kp__api *api, const struct kp__struct *body,
               int16_t version, const void *msg)
{
    return kp__encode_ex(wr, api, body, version, msg, false);
}

int kp__decode(struct kp_rd *rd, const struct kp__api *api, const struct kp__struct *body,
               int16_t version, struct kp_arena *arena, void *out)
{
    struct kp__ctx c;
    if (!ctx_init(&c, api, version, false))
        return -EINVAL;
    read_struct(&c, rd, arena, body, out);
    return kp__rd_end(rd);
}

/* ---- the list of APIs ---------------------------------------------------------------- */

const struct kp_msg_codec kp__codecs[] = {
#define CODEC(id, key, name, role, amin, amax, cmin, cmax, flex, stem)                             \
    {KP_API_##id, cmin, cmax, flex, name},
    KP_API_LIST(CODEC)
#undef CODEC
};

/* In api_key order, as KP_API_LIST. */
static const struct kp__api *const apis[] = {
#define API(id, key, name, role, amin, amax, cmin, cmax, flex, stem) &kp__api_##stem,
    KP_API_LIST(API)
#undef API
};

#define N_APIS (sizeof apis / sizeof apis[0])
_Static_assert(N_APIS == KP__N_CODECS, "one table per row of KP_API_LIST");

const struct kp__api *kp__api_at(size_t i) { return i < N_APIS ? apis[i] : NULL; }

const struct kp__api *kp__api_find(int16_t api_key)
{
    for (size_t i = 0; i < N_APIS; i++)
        if (apis[i]->info->api_key == api_key)
            return apis[i];
    return NULL;
}

const struct kp_msg_codec *kp_msg_codec_at(size_t i) { return i < N_APIS ? &kp__codecs[i] : NULL; }

const struct kp_msg_codec *kp_msg_codec_find(int16_t api_key)
{
    const struct kp__api *a = kp__api_find(api_key);
    return a ? a->info : NULL;
}

/* ---- table consistency --------------------------------------------------------------- */

struct check {
    const struct kp__api *api;
    char *err;
    size_t errlen;
};

static int check_fail(struct check *k, const struct kp__struct *s, const struct kp__field *f,
                      const char *why)
{
    snprintf(k->err, k->errlen, "%s: %s.%s: %s", k->api->info->name, s->name, f ? f->name : "-",
             why);
    return -EINVAL;
}

static int check_struct(struct check *k, const struct kp__struct *s, int depth)
{
    const struct kp_msg_codec *in = k->api->info;
    if (depth > 8)
        return check_fail(k, s, NULL, "nested too deep");
    for (size_t i = 0; i < s->n; i++) {
        const struct kp__field *f = &s->f[i];
        if (!f->name || f->lo > f->hi || f->lo < 0)
            return check_fail(k, s, f, "bad version range");
        if (f->nullable && (f->nlo > f->nhi || f->nlo < 0))
            return check_fail(k, s, f, "bad nullable range");
        if (f->tagged) {
            if (f->type == KP__T_CUSTOM)
                return check_fail(k, s, f, "custom fields cannot be tagged");
            if (f->lo < in->first_flexible)
                return check_fail(k, s, f, "tagged outside flexible versions");
            for (size_t j = 0; j < i; j++)
                if (s->f[j].tagged && s->f[j].tag >= f->tag)
                    return check_fail(k, s, f, "tags not unique and ascending");
        }
        if (f->null_empty && f->type != KP__T_RECORDS)
            return check_fail(k, s, f, "null_empty on a non-records field");
        if (f->type == KP__T_PSTRUCT && !f->tagged)
            return check_fail(k, s, f, "optional structs must be tagged");
        if (f->type == KP__T_ARRAY || f->type == KP__T_STRUCT || f->type == KP__T_PSTRUCT) {
            if (!f->sub || f->sub->size != f->esize)
                return check_fail(k, s, f, "element type and table differ");
            int rc = check_struct(k, f->sub, depth + 1);
            if (rc)
                return rc;
        }
        if (is_array(f) && f->n_off == f->off)
            return check_fail(k, s, f, "count and pointer overlap");
        if (f->type == KP__T_CUSTOM && !f->custom)
            return check_fail(k, s, f, "custom field without hooks");
    }
    return 0;
}

int kp__schema_check(char *errbuf, size_t errlen)
{
    int16_t prev = -1;
    for (size_t i = 0; i < N_APIS; i++) {
        struct check k = {apis[i], errbuf, errlen};
        const struct kp_msg_codec *in = apis[i]->info;
        if (in->api_key <= prev || in->min_version > in->max_version || !in->name) {
            snprintf(errbuf, errlen, "api %d: out of order or bad range", in->api_key);
            return -EINVAL;
        }
        prev = in->api_key;
        if (!apis[i]->req)
            continue; /* a hand-written codec (kp_schema.h) */
        int rc = check_struct(&k, apis[i]->req, 0);
        if (!rc)
            rc = check_struct(&k, apis[i]->resp, 0);
        if (rc)
            return rc;
    }
    return 0;
}
