/*
 * fuzz_request — libFuzzer target over everything the broker decodes from a client (and the
 * client from a broker).
 *
 * Input: one frame body (the bytes after the int32 size prefix): a request header, then a
 * body. The body is decoded at the header's version and then at every other version proto's
 * codec handles for that api key (kp_msg_codec_find), and for each:
 *   1. kp_req_hdr_decode, then the request decoder for (key, version); for Produce, every
 *      partition's records go through kp_batch_validate (CRC skipped too, so the fuzzer gets
 *      past it), the record walk and the header walk, touching every byte of every view;
 *   2. when a request decodes, it is encoded again and that encoding must decode and encode
 *      to the same bytes (decoder and encoder agree);
 *   3. the same bytes after the 8-byte key/version/correlation prefix also go to the response
 *      decoder of that (key, version) behind a response header, the client's attack surface.
 * Every failure must be an error code; ASan/UBSan turn any over-read or UB into a crash.
 * Seeds: tests/fuzz/seeds/fuzz_request/ (the kcat fixtures without their size prefix).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kp_batch.h"
#include "kp_buf.h"
#include "kp_msg.h"
#include "kp_msg_cluster.h"
#include "kp_msg_config.h"
#include "kp_msg_groups_admin.h"
#include "kp_msg_sec.h"
#include "kp_msg_markers.h"
#include "kp_msg_txn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Alignas(max_align_t) uint8_t arena_mem[1 << 18];
static uint8_t enc1[1 << 17];
static uint8_t enc2[1 << 17];

/* Decoded messages live in these (every kp_*_req / _resp struct fits, checked below). */
#define MSG_MAX 256
static _Alignas(max_align_t) uint8_t req_mem[2][MSG_MAX];
static _Alignas(max_align_t) uint8_t resp_mem[MSG_MAX];

static volatile uint8_t sink;

/* Every codec, through typed wrappers (no function pointer casts). */
struct codec {
    int16_t key;
    int (*req_dec)(struct kp_rd *rd, int16_t v, struct kp_arena *a, void *out);
    int (*req_enc)(struct kp_wr *wr, int16_t v, const void *msg);
    int (*resp_dec)(struct kp_rd *rd, int16_t v, struct kp_arena *a, void *out);
};

#define FZ(name)                                                                                   \
    _Static_assert(sizeof(struct kp_##name##_req) <= MSG_MAX, #name);                              \
    _Static_assert(sizeof(struct kp_##name##_resp) <= MSG_MAX, #name);                             \
    static int name##_req_dec(struct kp_rd *rd, int16_t v, struct kp_arena *a, void *out)          \
    {                                                                                              \
        return kp_##name##_req_decode(rd, v, a, out);                                              \
    }                                                                                              \
    static int name##_req_enc(struct kp_wr *wr, int16_t v, const void *msg)                        \
    {                                                                                              \
        return kp_##name##_req_encode(wr, v, msg);                                                 \
    }                                                                                              \
    static int name##_resp_dec(struct kp_rd *rd, int16_t v, struct kp_arena *a, void *out)         \
    {                                                                                              \
        return kp_##name##_resp_decode(rd, v, a, out);                                             \
    }
#define ROW(key, name)                                                                             \
    {                                                                                              \
        key, name##_req_dec, name##_req_enc, name##_resp_dec                                       \
    }

/* One wrapper set and one row per row of KP_API_LIST (kp_api.h). */
#define FZ_API(id, key, name, role, amin, amax, cmin, cmax, flex, stem) FZ(stem)
KP_API_LIST(FZ_API)
#undef FZ_API

static const struct codec codecs[] = {
#define ROW_API(id, key, name, role, amin, amax, cmin, cmax, flex, stem) ROW(KP_API_##id, stem),
    KP_API_LIST(ROW_API)
#undef ROW_API
};

static const struct codec *codec_of(int16_t key)
{
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++)
        if (codecs[i].key == key)
            return &codecs[i];
    return NULL;
}

/* Read every byte of a view, so ASan checks that it lies inside the input. */
static void touch(const void *p, int32_t len)
{
    if (len <= 0)
        return;
    const uint8_t *b = p;
    uint8_t x = 0;
    for (int32_t i = 0; i < len; i++)
        x ^= b[i];
    sink = x;
}

static void walk_batches(struct kp_bytes records)
{
    if (records.len <= 0)
        return;
    const uint8_t *p = records.ptr;
    size_t left = (size_t)records.len;
    while (left > 0) {
        struct kp_batch_hdr h;
        (void)kp_batch_validate(p, left, KP_BATCH_FROM_PRODUCER, NULL);
        if (kp_batch_validate(p, left, KP_BATCH_SKIP_CRC, &h) != 0)
            return;
        size_t bsize = kp_batch_size(&h);
        if (bsize < KP_BATCH_HEADER_LEN || bsize > left)
            abort(); /* validate promised the batch is present */
        if (kp_batch_check_records(p, &h) == 0 && !(h.attributes & KP_BATCH_ATTR_CODEC_MASK)) {
            struct kp_record_iter it;
            struct kp_record r;
            int32_t n = 0;
            kp_record_iter_init(&it, p, &h);
            while (kp_record_next(&it, &r) == 1) {
                n++;
                touch(r.key.ptr, r.key.len);
                touch(r.value.ptr, r.value.len);
                struct kp_rd hr;
                struct kp_header hd;
                int32_t nh = 0;
                kp_rd_init(&hr, r.headers.ptr, (size_t)r.headers.len);
                while (kp_header_next(&hr, &hd) == 1) {
                    touch(hd.key.ptr, hd.key.len);
                    touch(hd.value.ptr, hd.value.len);
                    nh++;
                }
                if (nh != r.header_count)
                    abort(); /* the record walk already checked its headers */
            }
            if (n != h.record_count)
                abort(); /* check_records said the count matches */
        }
        p += bsize;
        left -= bsize;
    }
}

static void walk_produce(const struct kp_produce_req *pr)
{
    for (int32_t t = 0; t < pr->n_topics; t++) {
        touch(pr->topics[t].name.ptr, pr->topics[t].name.len);
        for (int32_t i = 0; i < pr->topics[t].n_partitions; i++)
            walk_batches(pr->topics[t].partitions[i].records);
    }
}

/* Encodes a decoded request; then decode + encode that again must give the same bytes. */
static void round_trip(const struct codec *c, int16_t v, const void *r)
{
    struct kp_wr w1;
    kp_wr_init(&w1, enc1, sizeof enc1);
    if (c->req_enc(&w1, v, r) != 0)
        return; /* e.g. -ENOSPC: the input's views can be larger than enc1 */
    struct kp_arena a2;
    kp_arena_init(&a2, arena_mem + sizeof arena_mem / 2, sizeof arena_mem / 2);
    void *r2 = req_mem[1];
    struct kp_rd rd;
    kp_rd_init(&rd, enc1, kp_wr_len(&w1));
    int rc = c->req_dec(&rd, v, &a2, r2);
    if (rc == -ENOMEM)
        return;
    if (rc != 0)
        abort(); /* the encoder wrote something the decoder rejects */
    struct kp_wr w2;
    kp_wr_init(&w2, enc2, sizeof enc2);
    if (c->req_enc(&w2, v, r2) != 0)
        abort();
    if (kp_wr_len(&w1) != kp_wr_len(&w2) || memcmp(enc1, enc2, kp_wr_len(&w1)) != 0)
        abort(); /* decode/encode is not a fixed point */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kp_arena arena;
    struct kp_rd rd;

    /* Framing on the raw input. */
    int32_t fsize;
    (void)kp_frame_peek(data, size, 100 << 20, &fsize);

    kp_rd_init(&rd, data, size);
    struct kp_req_hdr hdr;
    if (kp_req_hdr_decode(&rd, &hdr) != 0)
        return 0;
    touch(hdr.client_id.ptr, hdr.client_id.len);
    size_t body = kp_rd_pos(&rd);

    /*
     * The header's version first, then every other version the codec has for that key
     * (kp_msg_codec_find), so one input exercises all of them (the fuzzer need not find each
     * version byte itself).
     * An unknown key or a version outside the range must be refused, not decoded.
     */
    const struct kp_msg_codec *range = kp_msg_codec_find(hdr.api_key);
    const struct codec *c = codec_of(hdr.api_key);
    if (!range != !c)
        abort(); /* proto lists a codec this target does not know, or the reverse */
    if (!c)
        return 0;
    int16_t lo = range->min_version;
    int16_t hi = range->max_version;
    for (int32_t v = lo - 1; v <= hi; v++) {
        int16_t ver = v < lo ? hdr.api_version : (int16_t)v;
        if (v >= lo && ver == hdr.api_version)
            continue; /* already done as the first pass */

        /* 1 + 2: the request body. */
        void *req = req_mem[0];
        kp_arena_init(&arena, arena_mem, sizeof arena_mem / 2);
        kp_rd_init(&rd, data + body, size - body);
        int rc = c->req_dec(&rd, ver, &arena, req);
        if (rc == 0) {
            if (ver < lo || ver > hi)
                abort(); /* decoded a version the codec does not claim */
            if (hdr.api_key == KP_API_PRODUCE)
                walk_produce(req);
            round_trip(c, ver, req);
        } else if (rc != -EBADMSG && rc != -ENOMEM && rc != -EINVAL) {
            abort(); /* decoders return only these */
        }

        /* 3: the bytes after key/version as a response header + body of that version. */
        if (size >= 4) {
            int32_t corr;
            kp_arena_init(&arena, arena_mem, sizeof arena_mem / 2);
            kp_rd_init(&rd, data + 4, size - 4);
            if (kp_resp_hdr_decode(&rd, hdr.api_key, ver, &corr) == 0 &&
                c->resp_dec(&rd, ver, &arena, resp_mem) == 0 && hdr.api_key == KP_API_FETCH) {
                const struct kp_fetch_resp *fe = (const void *)resp_mem;
                for (int32_t t = 0; t < fe->n_topics; t++)
                    for (int32_t p = 0; p < fe->topics[t].n_partitions; p++)
                        walk_batches(fe->topics[t].partitions[p].records);
            }
        }
    }
    return 0;
}
