/*
 * test_kp_schema — the table-driven codec engine (proto/kp_schema.c) and every table in it.
 *
 * - kp__schema_check() accepts every table; kp_msg_codec_find/at list them in key order and
 *   agree with kp_api_flexible() on the first flexible version of every key kp_api knows.
 * - Random messages: for every API, every version the codec handles and both directions, a
 *   generator fills the C struct from the table (arrays of 0-3 elements, nulls where the
 *   version allows them, strings long enough to need 2-byte compact lengths, tagged fields
 *   sometimes at their default, sometimes not). Each must: encode through the public function
 *   to the same bytes as the engine (so the Produce v3-7 and Fetch encoders written by hand,
 *   and the wiring of every public function, agree with the tables); size to its length;
 *   decode through both and re-encode to the same bytes; decode with an unknown tagged field
 *   in every tag buffer (flexible versions) to the same message. A few of them per version
 *   also go through tm_check (every prefix rejected, hostile counts, trailing byte, smaller
 *   arenas).
 * - Tag buffers: a known tag whose size does not match its field, a forged tag count, and a
 *   tagged field at its default (not written).
 */
#include "test_kp_msg_common.h"

#include "kp_msg_cluster.h"
#include "kp_msg_config.h"
#include "kp_msg_groups_admin.h"
#include "kp_msg_sec.h"
#include "kp_msg_markers.h"
#include "kp_msg_txn.h"
#include "kp_schema.h"
#include "tb_check.h"

/* ---- the public functions of every API ----------------------------------------------- */

struct pub {
    int16_t key;
    int (*enc[2])(struct kp_wr *wr, int16_t v, const void *msg);
    int (*dec[2])(struct kp_rd *rd, int16_t v, struct kp_arena *a, void *out);
    size_t size[2];
};

#define PUB(name)                                                                                  \
    static int name##_qe(struct kp_wr *wr, int16_t v, const void *m)                               \
    {                                                                                              \
        return kp_##name##_req_encode(wr, v, m);                                                   \
    }                                                                                              \
    static int name##_qd(struct kp_rd *rd, int16_t v, struct kp_arena *a, void *o)                 \
    {                                                                                              \
        return kp_##name##_req_decode(rd, v, a, o);                                                \
    }                                                                                              \
    static int name##_re(struct kp_wr *wr, int16_t v, const void *m)                               \
    {                                                                                              \
        return kp_##name##_resp_encode(wr, v, m);                                                  \
    }                                                                                              \
    static int name##_rd(struct kp_rd *rd, int16_t v, struct kp_arena *a, void *o)                 \
    {                                                                                              \
        return kp_##name##_resp_decode(rd, v, a, o);                                               \
    }
#define PUB_ROW(key, name)                                                                         \
    {                                                                                              \
        key, {name##_qe, name##_re}, {name##_qd, name##_rd},                                       \
        {                                                                                          \
            sizeof(struct kp_##name##_req), sizeof(struct kp_##name##_resp)                        \
        }                                                                                          \
    }

PUB(produce)
PUB(fetch)
PUB(list_offsets)
PUB(metadata)
PUB(offset_commit)
PUB(offset_fetch)
PUB(find_coordinator)
PUB(join_group)
PUB(heartbeat)
PUB(leave_group)
PUB(sync_group)
PUB(describe_groups)
PUB(list_groups)
PUB(api_versions)
PUB(create_topics)
PUB(delete_topics)
PUB(delete_records)
PUB(init_producer_id)
PUB(offset_for_leader_epoch)
PUB(add_partitions_to_txn)
PUB(add_offsets_to_txn)
PUB(end_txn)
PUB(write_txn_markers)
PUB(txn_offset_commit)
PUB(describe_configs)
PUB(alter_configs)
PUB(describe_log_dirs)
PUB(create_partitions)
PUB(delete_groups)
PUB(elect_leaders)
PUB(incremental_alter_configs)
PUB(offset_delete)
PUB(describe_cluster)
PUB(sasl_handshake)
PUB(describe_acls)
PUB(create_acls)
PUB(delete_acls)
PUB(sasl_authenticate)
PUB(describe_client_quotas)
PUB(alter_client_quotas)
PUB(describe_user_scram_credentials)
PUB(alter_user_scram_credentials)

static const struct pub pubs[] = {
    PUB_ROW(0, produce),
    PUB_ROW(1, fetch),
    PUB_ROW(2, list_offsets),
    PUB_ROW(3, metadata),
    PUB_ROW(8, offset_commit),
    PUB_ROW(9, offset_fetch),
    PUB_ROW(10, find_coordinator),
    PUB_ROW(11, join_group),
    PUB_ROW(12, heartbeat),
    PUB_ROW(13, leave_group),
    PUB_ROW(14, sync_group),
    PUB_ROW(15, describe_groups),
    PUB_ROW(16, list_groups),
    PUB_ROW(17, sasl_handshake),
    PUB_ROW(18, api_versions),
    PUB_ROW(19, create_topics),
    PUB_ROW(20, delete_topics),
    PUB_ROW(21, delete_records),
    PUB_ROW(22, init_producer_id),
    PUB_ROW(23, offset_for_leader_epoch),
    PUB_ROW(24, add_partitions_to_txn),
    PUB_ROW(25, add_offsets_to_txn),
    PUB_ROW(26, end_txn),
    PUB_ROW(27, write_txn_markers),
    PUB_ROW(28, txn_offset_commit),
    PUB_ROW(29, describe_acls),
    PUB_ROW(30, create_acls),
    PUB_ROW(31, delete_acls),
    PUB_ROW(32, describe_configs),
    PUB_ROW(33, alter_configs),
    PUB_ROW(35, describe_log_dirs),
    PUB_ROW(36, sasl_authenticate),
    PUB_ROW(37, create_partitions),
    PUB_ROW(42, delete_groups),
    PUB_ROW(43, elect_leaders),
    PUB_ROW(44, incremental_alter_configs),
    PUB_ROW(47, offset_delete),
    PUB_ROW(48, describe_client_quotas),
    PUB_ROW(49, alter_client_quotas),
    PUB_ROW(50, describe_user_scram_credentials),
    PUB_ROW(51, alter_user_scram_credentials),
    PUB_ROW(60, describe_cluster),
};
#define N_PUBS (sizeof pubs / sizeof pubs[0])

static const struct pub *pub_of(int16_t key)
{
    for (size_t i = 0; i < N_PUBS; i++)
        if (pubs[i].key == key)
            return &pubs[i];
    return NULL;
}

/* ---- random messages from the tables ------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* Memory for the generated arrays and strings; reset per message. */
static alignas(max_align_t) uint8_t pool[1 << 16];
static size_t pool_used;

static void *palloc(size_t n)
{
    size_t off = (pool_used + 15) & ~(size_t)15;
    ck_assert_msg(off + n <= sizeof pool, "generator pool exhausted");
    pool_used = off + n;
    memset(pool + off, 0, n);
    return pool + off;
}

static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._"
                              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._"
                              "abcdefghijklmnopqrstuvwxyz";

static int32_t rnd_len(void)
{
    uint32_t r = rnd() % 16;
    return r == 0 ? 130 : (int32_t)(r % 6); /* sometimes past 127: a 2-byte compact length */
}

static bool nullable_at(const struct kp__field *f, int16_t v)
{
    return f->nullable && v >= f->nlo && v <= f->nhi;
}

static void gen_struct(const struct kp__struct *s, int16_t v, void *base, int depth);

static void set_ptr(void *base, size_t off, const void *p)
{
    memcpy((uint8_t *)base + off, &p, sizeof p);
}
static void set_n(void *base, size_t off, int32_t n)
{
    memcpy((uint8_t *)base + off, &n, sizeof n);
}

static struct kp_str gen_str(bool null_ok)
{
    if (null_ok && rnd() % 4 == 0)
        return KP_STR_NULL;
    int32_t n = rnd_len();
    return (struct kp_str){letters + rnd() % 8, n};
}

static int32_t gen_count(bool null_ok, int depth)
{
    if (null_ok && rnd() % 5 == 0)
        return -1;
    return depth > 3 ? (int32_t)(rnd() % 2) : (int32_t)(rnd() % 4);
}

static void gen_metadata_topics(struct kp_metadata_req *r, int16_t v)
{
    int32_t n = gen_count(v >= 1, 0);
    r->n_topics = n;
    r->topics = NULL;
    r->topic_ids = NULL;
    if (n <= 0)
        return;
    struct kp_str *names = palloc((size_t)n * sizeof *names);
    for (int32_t i = 0; i < n; i++)
        names[i] = gen_str(v >= 10);
    r->topics = names;
    if (v >= 10 && rnd() % 3) {
        struct kp_uuid *ids = palloc((size_t)n * sizeof *ids);
        for (int32_t i = 0; i < n; i++)
            for (size_t b = 0; b < sizeof ids[i].b; b++)
                ids[i].b[b] = (uint8_t)rnd();
        r->topic_ids = ids;
    }
}

static void gen_field(const struct kp__field *f, int16_t v, void *base, int depth)
{
    void *p = (uint8_t *)base + f->off;
    bool def = f->tagged && rnd() % 3 == 0; /* a tagged field left at its default */
    switch (f->type) {
    case KP__T_BOOL:
        *(bool *)p = def ? f->def != 0 : rnd() & 1;
        break;
    case KP__T_I8:
        *(int8_t *)p = def ? (int8_t)f->def : (int8_t)rnd();
        break;
    case KP__T_I16:
        *(int16_t *)p = def ? (int16_t)f->def : (int16_t)rnd();
        break;
    case KP__T_I32:
        *(int32_t *)p = def ? (int32_t)f->def : (int32_t)rnd();
        break;
    case KP__T_I64:
        *(int64_t *)p = def ? f->def : (int64_t)((uint64_t)rnd() << 32 | rnd());
        break;
    case KP__T_UUID:
        for (size_t i = 0; i < sizeof(struct kp_uuid); i++)
            ((uint8_t *)p)[i] = (uint8_t)rnd();
        break;
    case KP__T_STR:
        *(struct kp_str *)p =
            def ? (f->def_null ? KP_STR_NULL : (struct kp_str){"", 0}) : gen_str(nullable_at(f, v));
        break;
    case KP__T_BYTES:
    case KP__T_RECORDS: {
        struct kp_str s = gen_str(nullable_at(f, v) && !f->null_empty);
        *(struct kp_bytes *)p = (struct kp_bytes){(const uint8_t *)s.ptr, s.len};
        break;
    }
    case KP__T_STRUCT:
        gen_struct(f->sub, v, p, depth + 1);
        break;
    case KP__T_PSTRUCT:
        if (rnd() % 2) {
            void *q = palloc(f->sub->size);
            gen_struct(f->sub, v, q, depth + 1);
            if (rnd() % 3 == 0) { /* present but all defaults: not written either */
                for (size_t i = 0; i < f->sub->n; i++) {
                    void *m = (uint8_t *)q + f->sub->f[i].off;
                    if (f->sub->f[i].type == KP__T_I32)
                        *(int32_t *)m = (int32_t)f->sub->f[i].def;
                    else if (f->sub->f[i].type == KP__T_I64)
                        *(int64_t *)m = f->sub->f[i].def;
                }
            }
            set_ptr(base, f->off, q);
        } else {
            set_ptr(base, f->off, NULL);
        }
        break;
    case KP__T_ARRAY:
    case KP__T_I32S:
    case KP__T_STRS: {
        int32_t n = def ? 0 : gen_count(nullable_at(f, v), depth);
        size_t esize = f->type == KP__T_I32S   ? sizeof(int32_t)
                       : f->type == KP__T_STRS ? sizeof(struct kp_str)
                                               : f->sub->size;
        uint8_t *e = n > 0 ? palloc((size_t)n * esize) : NULL;
        for (int32_t i = 0; i < n; i++) {
            if (f->type == KP__T_I32S)
                ((int32_t *)(void *)e)[i] = (int32_t)rnd();
            else if (f->type == KP__T_STRS)
                ((struct kp_str *)(void *)e)[i] = gen_str(false);
            else
                gen_struct(f->sub, v, e + (size_t)i * esize, depth + 1);
        }
        set_n(base, f->n_off, n);
        set_ptr(base, f->off, e);
        break;
    }
    case KP__T_CUSTOM: /* the only one: Metadata's request topics */
        gen_metadata_topics(base, v);
        break;
    }
}

static void gen_struct(const struct kp__struct *s, int16_t v, void *base, int depth)
{
    for (size_t i = 0; i < s->n; i++)
        gen_field(&s->f[i], v, base, depth);
}

/* ---- checks -------------------------------------------------------------------------- */

static uint8_t eng_buf[TM_BUF], pub_buf[TM_BUF], tag_buf[TM_BUF + 4096], again_buf[TM_BUF];
static alignas(max_align_t) uint8_t msg_mem[512], out_mem2[512];
static alignas(max_align_t) uint8_t arena2_mem[1 << 17];

/* Typed adapters for tm_check: the public functions of the API under test. */
static const struct pub *cur_pub;
static int cur_dir;
static int cur_enc(struct kp_wr *wr, int16_t v, const void *m)
{
    return cur_pub->enc[cur_dir](wr, v, m);
}
static int cur_dec(struct kp_rd *rd, int16_t v, struct kp_arena *a, void *o)
{
    return cur_pub->dec[cur_dir](rd, v, a, o);
}

/* encode(m) through engine and public function, equal bytes; returns the length. */
static size_t enc_both(const struct kp__api *api, int dir, int16_t v, const void *m)
{
    const struct kp__struct *body = dir ? api->resp : api->req;
    const struct pub *p = pub_of(api->info->api_key);
    struct kp_wr we, wp;
    kp_wr_init(&we, eng_buf, sizeof eng_buf);
    kp_wr_init(&wp, pub_buf, sizeof pub_buf);
    int re = kp__encode(&we, api, body, v, m);
    int rp = p->enc[dir](&wp, v, m);
    ck_assert_msg(re == 0 && rp == 0, "%s %s v%d encode: engine %d, public %d", api->info->name,
                  dir ? "resp" : "req", v, re, rp);
    size_t len = kp_wr_len(&we);
    ck_assert_msg(kp_wr_len(&wp) == len && memcmp(eng_buf, pub_buf, len) == 0,
                  "%s %s v%d: public encoder (%zu bytes) differs from the table (%zu)",
                  api->info->name, dir ? "resp" : "req", v, kp_wr_len(&wp), len);
    size_t size = 0;
    ck_assert_int_eq(kp__size(api, body, v, m, &size), 0);
    ck_assert_uint_eq(size, len);
    return len;
}

/* bytes decode (engine and public) and re-encode to want[0, want_len). */
static void dec_reenc(const struct kp__api *api, int dir, int16_t v, const uint8_t *bytes,
                      size_t len, const uint8_t *want, size_t want_len)
{
    const struct kp__struct *body = dir ? api->resp : api->req;
    const struct pub *p = pub_of(api->info->api_key);
    for (int which = 0; which < 2; which++) {
        struct kp_arena a;
        kp_arena_init(&a, arena2_mem, sizeof arena2_mem);
        struct kp_rd rd;
        kp_rd_init(&rd, bytes, len);
        memset(out_mem2, 0xa5, sizeof out_mem2); /* decoders must set every field */
        int rc =
            which ? p->dec[dir](&rd, v, &a, out_mem2) : kp__decode(&rd, api, body, v, &a, out_mem2);
        ck_assert_msg(rc == 0, "%s %s v%d decode (%s): %d", api->info->name, dir ? "resp" : "req",
                      v, which ? "public" : "engine", rc);
        struct kp_wr wr;
        kp_wr_init(&wr, again_buf, sizeof again_buf);
        ck_assert_int_eq(kp__encode(&wr, api, body, v, out_mem2), 0);
        ck_assert_msg(kp_wr_len(&wr) == want_len && memcmp(again_buf, want, want_len) == 0,
                      "%s %s v%d: decode (%s) and encode is not the identity", api->info->name,
                      dir ? "resp" : "req", v, which ? "public" : "engine");
    }
}

static void check_random(const struct kp__api *api, int dir, int16_t v, bool full)
{
    const struct kp__struct *body = dir ? api->resp : api->req;
    pool_used = 0;
    memset(msg_mem, 0, sizeof msg_mem);
    gen_struct(body, v, msg_mem, 0);
    size_t len = enc_both(api, dir, v, msg_mem);
    dec_reenc(api, dir, v, eng_buf, len, eng_buf, len);

    /* An unknown tagged field in every tag buffer: skipped. */
    if (v >= api->info->first_flexible) {
        struct kp_wr wr;
        kp_wr_init(&wr, tag_buf, sizeof tag_buf);
        ck_assert_int_eq(kp__encode_ex(&wr, api, body, v, msg_mem, true), 0);
        ck_assert_uint_gt(kp_wr_len(&wr), len);
        dec_reenc(api, dir, v, tag_buf, kp_wr_len(&wr), eng_buf, len);
    }

    if (full) {
        static const struct tm_codec c = {"public", 0, 0, 512, cur_enc, cur_dec};
        cur_pub = pub_of(api->info->api_key);
        cur_dir = dir;
        ck_assert_uint_le(cur_pub->size[dir], sizeof msg_mem);
        struct kp_arena a;
        alignas(max_align_t) static uint8_t out[512];
        tm_check(&c, v, msg_mem, out, buf, &a, out_mem, sizeof out_mem);
    }
}

START_TEST(test_tables_consistent)
{
    char err[256] = "";
    ck_assert_msg(kp__schema_check(err, sizeof err) == 0, "%s", err);

    int16_t prev = -1;
    size_t n = 0;
    for (size_t i = 0; kp_msg_codec_at(i); i++, n++) {
        const struct kp_msg_codec *c = kp_msg_codec_at(i);
        ck_assert_int_gt(c->api_key, prev);
        prev = c->api_key;
        ck_assert_ptr_eq(kp_msg_codec_find(c->api_key), c);
        ck_assert_ptr_nonnull(pub_of(c->api_key));
        /* kp_api's idea of flexibility (headers) agrees wherever kp_api knows the key. */
        if (kp_api_name(c->api_key)[0] != 'U') {
            ck_assert_str_eq(kp_api_name(c->api_key), c->name);
            for (int16_t v = c->min_version; v <= c->max_version; v++)
                ck_assert_msg(kp_api_flexible(c->api_key, v) == (v >= c->first_flexible), "%s v%d",
                              c->name, v);
        }
    }
    ck_assert_uint_eq(n, N_PUBS);
    ck_assert_ptr_null(kp_msg_codec_find(999));
    ck_assert_ptr_null(kp_msg_codec_at(n));
    /* Every advertised API has a codec covering what is advertised, but Produce v0-2 (legacy
     * message sets, advertised for librdkafka's compression gate and refused by the broker's
     * handler itself: kp_api.h). */
    size_t n_adv;
    const struct kp_api_range *adv = kp_api_advertised(&n_adv);
    for (size_t i = 0; i < n_adv; i++) {
        const struct kp_msg_codec *c = kp_msg_codec_find(adv[i].api_key);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_le(c->min_version, adv[i].api_key == KP_API_PRODUCE
                                             ? KP_API_PRODUCE_CODEC_VMIN
                                             : adv[i].min_version);
        ck_assert_int_ge(c->max_version, adv[i].max_version);
    }
}
END_TEST

/* Every API, every version, both directions: many random messages each. */
START_TEST(test_random_messages)
{
    const struct kp__api *api = kp__api_at((size_t)_i);
    ck_assert_ptr_nonnull(api);
    if (!api->req)
        return; /* hand-written codecs have their own suites (test_kp_msg_sec) */
    for (int dir = 0; dir < 2; dir++)
        for (int16_t v = api->info->min_version; v <= api->info->max_version; v++)
            for (int k = 0; k < 40; k++)
                check_random(api, dir, v, k < 2);
}
END_TEST

/* ---- tag buffers by hand ----------------------------------------------------------------- */

/* CreateTopics v5 response, one topic "t" with topic_config_error_code (tag 0) = 0x0102. */
START_TEST(test_known_tag_sizes)
{
    /* throttle, topics[1]{name "t", error 0, message null, partitions -1, rf -1, configs null,
     * tags{0: 2 bytes}}, tags{} */
    static const uint8_t ok[] = {0, 0,    0,    0,    0x02, 0x02, 't',  0,
                                 0, 0,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                 0, 0x01, 0,    0x02, 0x01, 0x02, 0};
    struct kp_create_topics_resp r;
    struct kp_arena a;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    struct kp_rd rd;
    kp_rd_init(&rd, ok, sizeof ok);
    ck_assert_int_eq(kp_create_topics_resp_decode(&rd, 5, &a, &r), 0);
    ck_assert_int_eq(r.topics[0].topic_config_error_code, 0x0102);
    ck_assert_int_eq(r.topics[0].num_partitions, -1);
    ck_assert_int_eq(r.topics[0].n_configs, -1);
    tm_str_null(r.topics[0].error_message);

    /* The same tag declaring 3 bytes (one more than an int16): the size must match. */
    static const uint8_t wide[] = {0, 0,    0,    0,    0x02, 0x02, 't',  0,
                                   0, 0,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0, 0x01, 0,    0x03, 0x01, 0x02, 0x00, 0};
    kp_arena_reset(&a);
    kp_rd_init(&rd, wide, sizeof wide);
    ck_assert_int_eq(kp_create_topics_resp_decode(&rd, 5, &a, &r), -EBADMSG);
    /* ...and one byte short. */
    static const uint8_t narrow[] = {0,    0,    0,    0,    0x02, 0x02, 't',  0, 0,    0,    0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0,    0x01, 0, 0x01, 0x01, 0};
    kp_arena_reset(&a);
    kp_rd_init(&rd, narrow, sizeof narrow);
    ck_assert_int_eq(kp_create_topics_resp_decode(&rd, 5, &a, &r), -EBADMSG);
    /* An unknown tag (7) of any size is skipped, and the known one still decoded. */
    static const uint8_t unknown[] = {0,    0,    0,    0,    0x02, 0x02, 't', 0,    0, 0,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,   0x02, 0, 0x02,
                                      0x01, 0x02, 0x07, 0x03, 'a',  'b',  'c', 0};
    kp_arena_reset(&a);
    kp_rd_init(&rd, unknown, sizeof unknown);
    ck_assert_int_eq(kp_create_topics_resp_decode(&rd, 5, &a, &r), 0);
    ck_assert_int_eq(r.topics[0].topic_config_error_code, 0x0102);
    /* A tag count larger than the bytes could hold: refused before walking. */
    static const uint8_t forged[] = {0,    0,    0,    0,    0x02, 0x02, 't',  0,    0,    0, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0,    0xff, 0xff, 0x7f, 0};
    kp_arena_reset(&a);
    kp_rd_init(&rd, forged, sizeof forged);
    ck_assert_int_eq(kp_create_topics_resp_decode(&rd, 5, &a, &r), -EBADMSG);
}
END_TEST

/* A tagged field at its default is not written; its encoding is the plain one. */
START_TEST(test_tag_default_not_written)
{
    struct kp_create_topics_result t = {.name = TM_S("t"),
                                        .error_message = KP_STR_NULL,
                                        .num_partitions = -1,
                                        .replication_factor = -1,
                                        .n_configs = -1};
    struct kp_create_topics_resp r = {.n_topics = 1, .topics = &t};
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_create_topics_resp_encode(&wr, 5, &r), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 0, 0, 0, 0x02, 0x02, 't', 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0, 0x00, 0);
    t.topic_config_error_code = 0x0102;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_create_topics_resp_encode(&wr, 5, &r), 0);
    EXPECT_BYTES(buf, kp_wr_len(&wr), 0, 0, 0, 0, 0x02, 0x02, 't', 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                 0xff, 0xff, 0, 0x01, 0, 0x02, 0x01, 0x02, 0);
}
END_TEST

static Suite *kp_schema_suite(void)
{
    Suite *s = suite_create("kp_schema");
    TCase *t = tcase_create("tables");
    tcase_add_test(t, test_tables_consistent);
    tcase_add_test(t, test_known_tag_sizes);
    tcase_add_test(t, test_tag_default_not_written);
    suite_add_tcase(s, t);
    TCase *r = tcase_create("random");
    tcase_set_timeout(r, 120);
    tcase_add_loop_test(r, test_random_messages, 0, (int)N_PUBS);
    suite_add_tcase(s, r);
    return s;
}

int main(void) { return tb_ck_run(kp_schema_suite()); }
