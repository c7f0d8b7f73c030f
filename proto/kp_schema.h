/*
 * kp_schema — the table-driven codec behind the kp_msg_*.c messages. Not a public header:
 * only proto/kp_msg_*.c, proto/kp_schema.c and the engine's own unit test include it.
 *
 * Why tables. Kafka defines every message as a list of fields, each with the versions that
 * carry it, the versions in which it may be null, an optional tag (KIP-482 tagged fields) and
 * a default (apache/kafka clients/src/main/resources/common/message/<Name>.json). Turn 1 spelled
 * each (message, version) out by hand; at thirty APIs with flexible versions that is thousands
 * of lines of `if (version >= n)`, where one slip is a silent wire bug. Here a message is the
 * same field list, written as a C table beside the struct it fills, and one walker
 * (kp_schema.c) validates, sizes, encodes and decodes every message at every version. The
 * tables are checked three ways:
 *   - the compiler checks each field's C member type against its wire type (the KP__F_*
 *     macros resolve offsetof through _Generic, so an int32_t member described as an int16
 *     field, or a struct array described with the wrong element type, does not build);
 *   - kp__schema_check() (run by tests/unit/test_kp_schema.c) checks each table's internal
 *     consistency: element sizes, tags unique per struct and only in flexible versions,
 *     nullable and field ranges inside the codec's range;
 *   - scripts/check-schemas.sh compares every table, field by field, with Kafka's JSON
 *     schemas (names, order, types, versions, nullable versions, tags, defaults).
 *
 * Walk rules (the kp_msg.h contract, made mechanical):
 * - Encode = one validating size pass (-EINVAL before a byte is written: version outside the
 *   codec, a null array where the version has no null, a view with len > 0 and no bytes, a
 *   string over INT16_MAX), then one write pass (-ENOSPC from the writer).
 * - Fields a version does not carry are ignored by the encoder and set to their default by
 *   the decoder. A STRING field (not nullable at that version) written from a null view
 *   becomes "" (kp_buf.h). Tagged fields are written only when they differ from their
 *   default, as Kafka does, in ascending tag order.
 * - Decode reads the fields in table order; arrays are allocated in the arena only after
 *   kp_rd_array/kp_rd_carray checked count * (smallest encoding of one element) against the
 *   bytes left; tagged fields the table knows are decoded from exactly their size bytes
 *   (a size that does not match the field is -EBADMSG); unknown tags are skipped.
 */
#ifndef SPLICELOG_KP_SCHEMA_H
#define SPLICELOG_KP_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kp_buf.h"
#include "kp_msg.h"

/* "vN+" in Kafka's notation: the field (or nullability) continues to the last version. */
#define KP__VMAX INT16_MAX

enum kp__type {
    KP__T_BOOL = 1,
    KP__T_I8,
    KP__T_I16,
    KP__T_I32,
    KP__T_I64,
    KP__T_UUID,    /* struct kp_uuid */
    KP__T_STR,     /* struct kp_str: STRING / NULLABLE_STRING / compact forms */
    KP__T_BYTES,   /* struct kp_bytes: BYTES / NULLABLE_BYTES / compact forms */
    KP__T_RECORDS, /* struct kp_bytes: Kafka's "records" (NULLABLE_BYTES on the wire) */
    KP__T_STRUCT,  /* an embedded struct (sub) */
    KP__T_PSTRUCT, /* const ET *: an optional tagged struct (sub); NULL is absent */
    KP__T_ARRAY,   /* const ET * plus int32_t count: an array of structs (sub) */
    KP__T_I32S,    /* const int32_t * plus int32_t count: []int32 */
    KP__T_STRS,    /* const struct kp_str * plus int32_t count: []string */
    KP__T_CUSTOM,  /* a field with its own code (custom); never tagged */
};

struct kp__struct;
struct kp__custom;

struct kp__field {
    const char *name; /* Kafka's field name (scripts/check-schemas.sh matches on it) */
    uint8_t type;     /* enum kp__type */
    bool nullable;    /* may be null in versions [nlo, nhi] */
    bool tagged;      /* a tagged field (tag) in every version that carries it */
    bool def_null;    /* STR/BYTES/arrays: the default is null rather than empty */
    bool null_empty;  /* RECORDS: null encodes as empty and decodes as empty (notes §7) */
    uint8_t tag;
    int16_t lo, hi;   /* versions that carry the field */
    int16_t nlo, nhi; /* versions where it is nullable (when nullable) */
    uint16_t off;     /* offsetof the member */
    uint16_t n_off;   /* ARRAY, I32S, STRS: offsetof the int32_t count */
    uint16_t esize;   /* ARRAY, STRUCT: sizeof the element, checked against sub->size */
    int64_t def;      /* integer and bool default */
    const struct kp__struct *sub;
    const struct kp__custom *custom;
};

struct kp__struct {
    const char *name; /* the C type, for diagnostics */
    size_t size;      /* sizeof the C struct */
    size_t n;
    const struct kp__field *f;
};

/* One API: what the codec handles (its row of KP_API_LIST, kp_api.h, as the public struct
 * kp_msg_codec: KP__INFO), and the two bodies; both NULL for an API whose codec is written by
 * hand (kp_msg_sec.c): walkers of the tables skip it. */
struct kp__api {
    const struct kp_msg_codec *info;
    const struct kp__struct *req;
    const struct kp__struct *resp;
};

/* KP_API_LIST's rows as struct kp_msg_codec, in its (api_key) order, and the index of each. */
extern const struct kp_msg_codec kp__codecs[];
enum {
#define KP__ROW(id, ...) KP__ROW_##id,
    KP_API_LIST(KP__ROW)
#undef KP__ROW
        KP__N_CODECS
};
#define KP__INFO(id) (&kp__codecs[KP__ROW_##id])

/* What a walk knows: the version and whether it is flexible; extra_tag is test-only. */
struct kp__ctx {
    int16_t v;
    bool flex;
    bool extra_tag; /* write one unknown tagged field into every tag buffer (unit tests) */
};

/* A field with its own code, for shapes the table cannot say (Metadata's request topics,
 * kept as parallel arrays for compatibility). Hooks receive the enclosing struct. size
 * validates as the engine does and returns -EINVAL for what it cannot encode. */
struct kp__custom {
    size_t (*min_size)(const struct kp__ctx *c);
    int (*size)(const struct kp__ctx *c, const void *base, size_t *n);
    void (*write)(const struct kp__ctx *c, struct kp_wr *wr, const void *base);
    void (*read)(const struct kp__ctx *c, struct kp_rd *rd, struct kp_arena *a, void *base);
    void (*init)(void *base);
};

/* ---- the walker ---------------------------------------------------------------------- */

int kp__encode(struct kp_wr *wr, const struct kp__api *api, const struct kp__struct *body,
               int16_t version, const void *msg);
/* As kp__encode; with extra_tag, every tag buffer also carries one unknown tagged field. */
int kp__encode_ex(struct kp_wr *wr, const struct kp__api *api, const struct kp__struct *body,
                  int16_t version, const void *msg, bool extra_tag);
int kp__decode(struct kp_rd *rd, const struct kp__api *api, const struct kp__struct *body,
               int16_t version, struct kp_arena *arena, void *out);
/* Exact encoded size of msg (0 with *size set), or -EINVAL as kp__encode. */
int kp__size(const struct kp__api *api, const struct kp__struct *body, int16_t version,
             const void *msg, size_t *size);

/* Tag buffers for custom hooks: an empty one (plus the test tag), and one skipped. */
void kp__wr_tags(const struct kp__ctx *c, struct kp_wr *wr);
size_t kp__tags_size(const struct kp__ctx *c);
void kp__rd_skip_tags(struct kp_rd *rd);

/* Every API with a table, in api_key order (NULL past the end). */
const struct kp__api *kp__api_at(size_t i);
const struct kp__api *kp__api_find(int16_t api_key);

/*
 * Consistency of every table (0, or -EINVAL with a line naming the table and field written
 * to errbuf): element sizes match, tags are unique per struct and lie in flexible versions,
 * field and nullable ranges are sane, custom fields are not tagged.
 */
int kp__schema_check(char *errbuf, size_t errlen);

/* ---- writing tables ------------------------------------------------------------------ */

/*
 * Each table is written with KP__S defined as the C struct it describes:
 *
 *   #define KP__S struct kp_metadata_partition
 *   static const struct kp__field md_partition_f[] = {
 *       KP__F_I16(error_code, "ErrorCode", 0, KP__VMAX),
 *       KP__F_I32(leader_epoch, "LeaderEpoch", 7, KP__VMAX, KP__DEF(-1)),
 *       KP__F_I32S(offline_replicas, n_offline_replicas, "OfflineReplicas", 5, KP__VMAX),
 *   };
 *   #undef KP__S
 *   KP__STRUCT(md_partition, struct kp_metadata_partition, md_partition_f);
 *
 * Options after the versions: KP__NUL(lo, hi) nullable versions, KP__TAG(n) tagged,
 * KP__DEF(x) integer/bool default, KP__DNULL string/array default null, KP__NULL_EMPTY.
 */
#define KP__OFF(m, T) _Generic(((KP__S *)0)->m, T : offsetof(KP__S, m))

#define KP__F_(T, CT, m, nm, lo_, hi_, ...)                                                        \
    {                                                                                              \
        .name = nm, .type = T, .lo = lo_, .hi = hi_, .off = KP__OFF(m, CT), __VA_ARGS__            \
    }
#define KP__F_BOOL(m, nm, lo, hi, ...) KP__F_(KP__T_BOOL, bool, m, nm, lo, hi, __VA_ARGS__)
#define KP__F_I8(m, nm, lo, hi, ...)   KP__F_(KP__T_I8, int8_t, m, nm, lo, hi, __VA_ARGS__)
#define KP__F_I16(m, nm, lo, hi, ...)  KP__F_(KP__T_I16, int16_t, m, nm, lo, hi, __VA_ARGS__)
#define KP__F_I32(m, nm, lo, hi, ...)  KP__F_(KP__T_I32, int32_t, m, nm, lo, hi, __VA_ARGS__)
#define KP__F_I64(m, nm, lo, hi, ...)  KP__F_(KP__T_I64, int64_t, m, nm, lo, hi, __VA_ARGS__)
#define KP__F_UUID(m, nm, lo, hi, ...)                                                             \
    KP__F_(KP__T_UUID, struct kp_uuid, m, nm, lo, hi, __VA_ARGS__)
#define KP__F_STR(m, nm, lo, hi, ...) KP__F_(KP__T_STR, struct kp_str, m, nm, lo, hi, __VA_ARGS__)
#define KP__F_BYTES(m, nm, lo, hi, ...)                                                            \
    KP__F_(KP__T_BYTES, struct kp_bytes, m, nm, lo, hi, __VA_ARGS__)
#define KP__F_RECORDS(m, nm, lo, hi, ...)                                                          \
    KP__F_(KP__T_RECORDS, struct kp_bytes, m, nm, lo, hi, __VA_ARGS__)
#define KP__F_STRUCT(m, nm, ET, sub_, lo, hi, ...)                                                 \
    KP__F_(KP__T_STRUCT, ET, m, nm, lo, hi, .sub = &sub_, .esize = sizeof(ET), __VA_ARGS__)
#define KP__F_PSTRUCT(m, nm, ET, sub_, lo, hi, ...)                                                \
    KP__F_(KP__T_PSTRUCT, const ET *, m, nm, lo, hi, .sub = &sub_, .esize = sizeof(ET), __VA_ARGS__)
#define KP__F_ARRAY(m, n, nm, ET, sub_, lo, hi, ...)                                               \
    KP__F_(KP__T_ARRAY, const ET *, m, nm, lo, hi, .n_off = KP__OFF(n, int32_t), .sub = &sub_,     \
           .esize = sizeof(ET), __VA_ARGS__)
#define KP__F_I32S(m, n, nm, lo, hi, ...)                                                          \
    KP__F_(KP__T_I32S, const int32_t *, m, nm, lo, hi, .n_off = KP__OFF(n, int32_t), __VA_ARGS__)
#define KP__F_STRS(m, n, nm, lo, hi, ...)                                                          \
    KP__F_(KP__T_STRS, const struct kp_str *, m, nm, lo, hi, .n_off = KP__OFF(n, int32_t),         \
           __VA_ARGS__)
#define KP__F_CUSTOM(nm, hooks, lo_, hi_, ...)                                                     \
    {                                                                                              \
        .name = nm, .type = KP__T_CUSTOM, .lo = lo_, .hi = hi_, .custom = &hooks, __VA_ARGS__      \
    }

#define KP__NUL(lo, hi) .nullable = true, .nlo = lo, .nhi = hi
#define KP__TAG(n)      .tagged = true, .tag = n
#define KP__DEF(x)      .def = x
#define KP__DNULL       .def_null = true
#define KP__NULL_EMPTY  .null_empty = true

#define KP__STRUCT(var, T, fields)                                                                 \
    static const struct kp__struct var = {#T, sizeof(T), sizeof(fields) / sizeof((fields)[0]),     \
                                          fields}

/*
 * The four public functions of one message from its API table:
 *   KP__CODEC(kp_heartbeat_req, struct kp_heartbeat_req, kp__api_heartbeat, req)
 * defines kp_heartbeat_req_encode and kp_heartbeat_req_decode (declared in a public header).
 */
#define KP__CODEC(fn, T, api, dir)                                                                 \
    int fn##_encode(struct kp_wr *wr, int16_t version, const T *msg)                               \
    {                                                                                              \
        return kp__encode(wr, &api, api.dir, version, msg);                                        \
    }                                                                                              \
    int fn##_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena, T *out)             \
    {                                                                                              \
        return kp__decode(rd, &api, api.dir, version, arena, out);                                 \
    }

/* The API tables kp__api_<stem>, one per row of KP_API_LIST, each in the kp_msg_*.c file that
 * defines its messages. */
#define KP__API_DECL(id, key, name, role, amin, amax, cmin, cmax, flex, stem)                      \
    extern const struct kp__api kp__api_##stem;
KP_API_LIST(KP__API_DECL)
#undef KP__API_DECL

#endif
