/*
 * test_kp_codec — batch compression (proto/kp_codec.c) and compressed batches:
 * - every codec round-trips small, multi-block and incompressible inputs;
 * - the framings other clients read: snappy in xerial framing (magic, 32 KiB blocks), lz4 as a
 *   frame with independent 64 KiB blocks and no checksums, gzip as a gzip member;
 * - what other clients write is read: raw snappy (librdkafka), gzip members back to back;
 * - bad input never crashes nor over-allocates: every truncation fails, a forged snappy length
 *   fails before any allocation, an output past the caller's bound is -EMSGSIZE;
 * - a batch closed by the accumulator with a codec is a valid compressed batch (CRC, codec
 *   bits) whose records decompress to the plain batch's records.
 */
#include <check.h>
#include <errno.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "kp_batch.h"
#include "sl_accum.h"
#include "kp_codec.h"
#include "tb_check.h"

static const int all_codecs[] = {KP_CODEC_GZIP, KP_CODEC_SNAPPY, KP_CODEC_LZ4, KP_CODEC_ZSTD};

/* n bytes: text-like (compressible) or pseudo-random. */
static uint8_t *sample(size_t n, bool random)
{
    uint8_t *p = malloc(n ? n : 1);
    unsigned x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245 + 12345;
        p[i] = random ? (uint8_t)(x >> 16) : (uint8_t)("record value "[i % 13] + (i / 4096) % 3);
    }
    return p;
}

/* Compresses and decompresses src; returns the compressed bytes (caller frees), *zlen set. */
static uint8_t *round_trip(struct kp_codec_ctx *z, int codec, int level, const uint8_t *src,
                           size_t n, size_t *zlen)
{
    size_t cap = kp_codec_bound(codec, n);
    ck_assert_uint_gt(cap, 0);
    uint8_t *dst = malloc(cap);
    long k = kp_codec_compress(z, codec, level, src, n, dst, cap);
    ck_assert_msg(k > 0, "%s: compress %zu bytes: %ld", kp_codec_name(codec), n, k);
    uint8_t *out = NULL;
    size_t ocap = 0;
    long m = kp_codec_decompress(z, codec, dst, (size_t)k, &out, &ocap, 1 << 26);
    ck_assert_msg(m == (long)n, "%s: %zu bytes came back as %ld", kp_codec_name(codec), n, m);
    ck_assert(n == 0 || memcmp(out, src, n) == 0);
    free(out);
    *zlen = (size_t)k;
    return dst;
}

START_TEST(test_round_trip_every_codec)
{
    struct kp_codec_ctx z = {0};
    static const size_t sizes[] = {1, 100, 32768, 70001, 1 << 20};
    for (size_t c = 0; c < sizeof(all_codecs) / sizeof(all_codecs[0]); c++) {
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            for (int random = 0; random <= 1; random++) {
                uint8_t *src = sample(sizes[s], random);
                size_t zlen;
                free(round_trip(&z, all_codecs[c], -1, src, sizes[s], &zlen));
                if (!random && sizes[s] >= 32768)
                    ck_assert_msg(zlen < sizes[s] / 4, "%s: %zu -> %zu",
                                  kp_codec_name(all_codecs[c]), sizes[s], zlen);
                free(src);
            }
        }
    }
    /* Levels within each codec's range; out of range is refused. */
    uint8_t *src = sample(5000, false);
    size_t zlen;
    free(round_trip(&z, KP_CODEC_GZIP, 9, src, 5000, &zlen));
    free(round_trip(&z, KP_CODEC_GZIP, 1, src, 5000, &zlen)); /* a new level: a new stream */
    free(round_trip(&z, KP_CODEC_LZ4, 12, src, 5000, &zlen));
    free(round_trip(&z, KP_CODEC_ZSTD, 19, src, 5000, &zlen));
    uint8_t dst[8192];
    ck_assert_int_eq(kp_codec_compress(&z, KP_CODEC_GZIP, 10, src, 5000, dst, sizeof(dst)),
                     -EINVAL);
    ck_assert_int_eq(kp_codec_compress(&z, 7, -1, src, 5000, dst, sizeof(dst)), -EINVAL);
    ck_assert_int_eq(kp_codec_compress(&z, KP_CODEC_ZSTD, -1, src, 5000, dst, 8), -EMSGSIZE);
    free(src);
    kp_codec_ctx_free(&z);
}
END_TEST

START_TEST(test_framings_other_clients_read)
{
    struct kp_codec_ctx z = {0};
    uint8_t *src = sample(70000, false);
    size_t zlen;
    /* snappy: xerial header, then 32 KiB blocks (3 for 70,000 bytes), each length-prefixed. */
    uint8_t *x = round_trip(&z, KP_CODEC_SNAPPY, -1, src, 70000, &zlen);
    static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
    ck_assert(memcmp(x, magic, 8) == 0);
    ck_assert_uint_eq(kp_load_be32(x + 8), 1);
    ck_assert_uint_eq(kp_load_be32(x + 12), 1);
    int blocks = 0;
    for (size_t pos = 16; pos < zlen; blocks++) {
        size_t ulen;
        size_t blen = kp_load_be32(x + pos);
        ck_assert_int_eq(snappy_uncompressed_length((const char *)x + pos + 4, blen, &ulen),
                         SNAPPY_OK);
        ck_assert_uint_eq(ulen, blocks < 2 ? 32768 : 70000 - 65536);
        pos += 4 + blen;
    }
    ck_assert_int_eq(blocks, 3);
    free(x);
    /* lz4: frame magic, FLG version 01 + block independence, BD 64 KiB. */
    x = round_trip(&z, KP_CODEC_LZ4, -1, src, 70000, &zlen);
    ck_assert_uint_eq(x[0] | x[1] << 8 | x[2] << 16 | (uint32_t)x[3] << 24, 0x184D2204);
    ck_assert_uint_eq(x[4], 0x60);
    ck_assert_uint_eq(x[5], 0x40);
    free(x);
    /* gzip: one gzip member. */
    x = round_trip(&z, KP_CODEC_GZIP, -1, src, 70000, &zlen);
    ck_assert(x[0] == 0x1f && x[1] == 0x8b);
    free(x);
    free(src);
    kp_codec_ctx_free(&z);
}
END_TEST

START_TEST(test_reads_what_others_write)
{
    struct kp_codec_ctx z = {0};
    uint8_t *src = sample(50000, false);
    /* Raw snappy, as librdkafka produces it. */
    size_t rlen = snappy_max_compressed_length(50000);
    char *raw = malloc(rlen);
    ck_assert_int_eq(snappy_compress((const char *)src, 50000, raw, &rlen), SNAPPY_OK);
    uint8_t *out = NULL;
    size_t ocap = 0;
    ck_assert_int_eq(
        kp_codec_decompress(&z, KP_CODEC_SNAPPY, (uint8_t *)raw, rlen, &out, &ocap, 1 << 20),
        50000);
    ck_assert(memcmp(out, src, 50000) == 0);
    free(raw);
    /* Two gzip members back to back (Java's GZIPInputStream reads both). */
    size_t cap = kp_codec_bound(KP_CODEC_GZIP, 25000) * 2;
    uint8_t *two = malloc(cap);
    long a = kp_codec_compress(&z, KP_CODEC_GZIP, -1, src, 25000, two, cap);
    long b = kp_codec_compress(&z, KP_CODEC_GZIP, -1, src + 25000, 25000, two + a, cap - (size_t)a);
    ck_assert(a > 0 && b > 0);
    ck_assert_int_eq(
        kp_codec_decompress(&z, KP_CODEC_GZIP, two, (size_t)(a + b), &out, &ocap, 1 << 20), 50000);
    ck_assert(memcmp(out, src, 50000) == 0);
    /* ...but not garbage after a member. */
    two[a] = 0x00;
    ck_assert_int_eq(
        kp_codec_decompress(&z, KP_CODEC_GZIP, two, (size_t)(a + b), &out, &ocap, 1 << 20),
        -EBADMSG);
    free(two);
    free(out);
    free(src);
    kp_codec_ctx_free(&z);
}
END_TEST

START_TEST(test_bad_input)
{
    struct kp_codec_ctx z = {0};
    /* an empty raw snappy block into no buffer yet: 0 bytes (fuzz_codec found a NULL + 0) */
    uint8_t *none = NULL;
    size_t ncap = 0;
    ck_assert_int_eq(
        kp_codec_decompress(&z, KP_CODEC_SNAPPY, (const uint8_t *)"", 1, &none, &ncap, 1), 0);
    ck_assert_int_eq(
        kp_codec_decompress(&z, KP_CODEC_SNAPPY, (const uint8_t *)"\0\1", 2, &none, &ncap, 1),
        -EBADMSG);
    free(none);
    uint8_t *src = sample(100000, false);
    for (size_t c = 0; c < sizeof(all_codecs) / sizeof(all_codecs[0]); c++) {
        int codec = all_codecs[c];
        size_t zlen;
        uint8_t *x = round_trip(&z, codec, -1, src, 100000, &zlen);
        uint8_t *out = NULL;
        size_t ocap = 0;
        /* Every truncation (by steps) fails, and the contexts recover for the next input. */
        for (size_t cut = 0; cut < zlen; cut += 1 + zlen / 200) {
            long r = kp_codec_decompress(&z, codec, x, cut, &out, &ocap, 1 << 20);
            ck_assert_msg(r < 0 || (codec == KP_CODEC_SNAPPY && r >= 0 && cut <= 16),
                          "%s: %zu of %zu bytes decoded to %ld", kp_codec_name(codec), cut, zlen,
                          r);
        }
        ck_assert_int_eq(kp_codec_decompress(&z, codec, x, zlen, &out, &ocap, 1 << 20), 100000);
        /* Output past the bound. */
        ck_assert_int_eq(kp_codec_decompress(&z, codec, x, zlen, &out, &ocap, 99999), -EMSGSIZE);
        ck_assert_int_eq(kp_codec_decompress(&z, codec, x, zlen, &out, &ocap, 1 << 20), 100000);
        /* Flipped bytes: an error or some output, never a crash (ASan/UBSan watch). */
        for (size_t i = 0; i < zlen; i += 1 + zlen / 64) {
            x[i] ^= 0x5a;
            (void)kp_codec_decompress(&z, codec, x, zlen, &out, &ocap, 1 << 20);
            x[i] ^= 0x5a;
        }
        ck_assert_int_eq(kp_codec_decompress(&z, codec, x, zlen, &out, &ocap, 1 << 20), 100000);
        free(out);
        free(x);
    }
    /* A raw snappy block claiming 2^31 bytes of output in 6 input bytes: refused at once. */
    static const uint8_t forged[] = {0x80, 0x80, 0x80, 0x80, 0x08, 0x00};
    uint8_t *out = NULL;
    size_t ocap = 0;
    ck_assert_int_eq(
        kp_codec_decompress(&z, KP_CODEC_SNAPPY, forged, sizeof(forged), &out, &ocap, 1u << 31),
        -EBADMSG);
    ck_assert_uint_eq(ocap, 0);
    /* A zlib (not gzip) stream is not gzip. */
    uLongf zl = compressBound(1000);
    uint8_t *zb = malloc(zl);
    ck_assert_int_eq(compress(zb, &zl, src, 1000), Z_OK);
    ck_assert_int_eq(kp_codec_decompress(&z, KP_CODEC_GZIP, zb, zl, &out, &ocap, 1 << 20),
                     -EBADMSG);
    ck_assert_int_eq(kp_codec_decompress(&z, 5, zb, zl, &out, &ocap, 1 << 20), -EINVAL);
    free(zb);
    free(out);
    free(src);
    kp_codec_ctx_free(&z);
}
END_TEST

/* The accumulator's compressed batches: valid, CRC right, records equal to the plain ones. */
START_TEST(test_compressed_batches_from_the_accumulator)
{
    struct kp_codec_ctx z = {0};
    for (int codec = KP_CODEC_NONE; codec <= KP_CODEC_ZSTD; codec++) {
        struct sl__accum a;
        sl__accum_init(&a, 256 * 1024);
        a.codec = codec;
        a.level = -1;
        a.z = &z;
        struct sl__batch *b = sl__batch_get(&a, 0);
        ck_assert_int_eq(sl__batch_open(b, 1000, 0), 0);
        char v[200];
        int n = 0;
        for (;; n++) {
            snprintf(v, sizeof(v), "value %06d of a compressible batch, padded .................",
                     n);
            struct kp_bytes key = {(const uint8_t *)"k", 1};
            if (sl__batch_append(b, 1000 + n, key, (struct kp_bytes){(uint8_t *)v, (int)strlen(v)},
                                 NULL, 0, NULL, 1) != 0)
                break;
        }
        ck_assert_int_eq(sl__batch_close(&a, b), 0);
        struct kp_batch_hdr h;
        ck_assert_int_eq(kp_batch_validate(b->wire, b->wire_size, 0, &h), 0); /* CRC checked */
        ck_assert_int_eq(h.attributes & KP_BATCH_ATTR_CODEC_MASK, codec);
        ck_assert_int_eq(h.record_count, n);
        struct kp_record_iter it;
        uint8_t *out = NULL;
        size_t ocap = 0;
        if (codec == KP_CODEC_NONE) {
            ck_assert_ptr_eq(b->wire, b->buf);
            kp_record_iter_init(&it, b->wire, &h);
        } else {
            ck_assert_uint_lt(b->wire_size, b->size / 3);
            long m = kp_codec_decompress(&z, codec, b->wire + KP_BATCH_HEADER_LEN,
                                         b->wire_size - KP_BATCH_HEADER_LEN, &out, &ocap, 1 << 24);
            ck_assert_int_eq(m, (long)(b->size - KP_BATCH_HEADER_LEN));
            ck_assert(memcmp(out, b->buf + KP_BATCH_HEADER_LEN, (size_t)m) == 0);
            kp_record_iter_init_records(&it, out, (size_t)m, h.record_count);
        }
        struct kp_record r;
        for (int i = 0; i < n; i++) {
            ck_assert_int_eq(kp_record_next(&it, &r), 1);
            ck_assert_int_eq(r.offset_delta, i);
            snprintf(v, sizeof(v), "value %06d", i);
            ck_assert(memcmp(r.value.ptr, v, strlen(v)) == 0);
        }
        ck_assert_int_eq(kp_record_next(&it, &r), 0);
        free(out);
        sl__batch_put(&a, b);
        sl__accum_destroy(&a);
    }
    /* Incompressible records: the batch goes plain even with a codec set. */
    struct sl__accum a;
    sl__accum_init(&a, 64 * 1024);
    a.codec = KP_CODEC_ZSTD;
    a.level = -1;
    a.z = &z;
    struct sl__batch *b = sl__batch_get(&a, 0);
    ck_assert_int_eq(sl__batch_open(b, 1000, 0), 0);
    uint8_t *rnd = sample(1000, true);
    ck_assert_int_eq(
        sl__batch_append(b, 1000, KP_BYTES_NULL, (struct kp_bytes){rnd, 1000}, NULL, 0, NULL, 1),
        0);
    ck_assert_int_eq(sl__batch_close(&a, b), 0);
    ck_assert_ptr_eq(b->wire, b->buf);
    free(rnd);
    sl__batch_put(&a, b);
    sl__accum_destroy(&a);
    kp_codec_ctx_free(&z);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kp_codec");
    TCase *tc = tcase_create("codec");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip_every_codec);
    tcase_add_test(tc, test_framings_other_clients_read);
    tcase_add_test(tc, test_reads_what_others_write);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_compressed_batches_from_the_accumulator);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
