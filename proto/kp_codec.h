/*
 * kp_codec — record batch compression: the codecs Kafka numbers in a batch's attributes, for
 * the client (sl_accum.c, sl_consumer.c) and the log cleaner (storage/st_clean.c).
 *
 * Contract
 * - The codecs, bits 0-2 of the attributes, in the framings Kafka's clients write: 1 gzip
 *   (RFC 1952; reading also takes several members back to back), 2 snappy (the Java client's
 *   xerial framing when compressing, 32 KiB blocks; reading takes xerial framing or one raw
 *   snappy block, which is what librdkafka writes), 3 lz4 (the LZ4 frame format with 64 KiB
 *   independent blocks and no checksums, as Java and librdkafka write it; reading takes any
 *   frame), 4 zstd (one frame; reading takes frames with or without a content size).
 * - Bounded output: compression writes at most the caller's cap (kp_codec_bound is enough);
 *   decompression never produces more than the caller's max, however the input claims to
 *   expand (a decompression bomb is -EMSGSIZE once max is reached), and never sizes an
 *   allocation from a length in the input alone.
 * - A struct kp_codec_ctx holds reusable (de)compression contexts; one thread uses it at a
 *   time. It starts all zero, contexts are made on first use, kp_codec_ctx_free releases them.
 * - Errors are -errno: -EINVAL (unknown codec or level), -ENOMEM, -EBADMSG (corrupt or
 *   truncated input, bytes after the last frame), -EMSGSIZE (the output would exceed the
 *   caller's bound: a decompression bomb or a destination too small).
 * - Links against zlib, libsnappy, liblz4 and libzstd (the Makefile's CODEC_LIBS).
 */
#ifndef SPLICELOG_KP_CODEC_H
#define SPLICELOG_KP_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum kp_codec {
    KP_CODEC_NONE = 0,
    KP_CODEC_GZIP = 1,
    KP_CODEC_SNAPPY = 2,
    KP_CODEC_LZ4 = 3,
    KP_CODEC_ZSTD = 4,
};

struct kp_codec_ctx {
    void *gz_deflate; /* z_stream for compressing (deflateReset between batches) */
    int gz_level;
    void *gz_inflate;
    void *lz4_dctx;
    void *zstd_cctx;
    void *zstd_dctx;
};

void kp_codec_ctx_free(struct kp_codec_ctx *z);

/* "none", "gzip", "snappy", "lz4", "zstd" for codec 0-4, NULL otherwise. */
const char *kp_codec_name(int codec);

/* The largest compressed size of n bytes (0 for an unknown codec). */
size_t kp_codec_bound(int codec, size_t n);

/*
 * Compresses src[0, n) into dst (cap bytes, at least kp_codec_bound) at level (-1: the
 * codec's default; gzip 0-9, lz4 0-12, zstd 1-22; snappy has none). Returns the compressed
 * length or -errno.
 */
long kp_codec_compress(struct kp_codec_ctx *z, int codec, int level, const uint8_t *src, size_t n,
                       uint8_t *dst, size_t cap);

/*
 * Decompresses src[0, n) into *buf (a realloc'd buffer of *cap bytes, grown as the output
 * arrives, never sized from a length in the input alone), producing at most max bytes.
 * Returns the decompressed length or -errno.
 */
long kp_codec_decompress(struct kp_codec_ctx *z, int codec, const uint8_t *src, size_t n,
                         uint8_t **buf, size_t *cap, size_t max);

#endif
