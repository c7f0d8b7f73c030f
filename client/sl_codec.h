/*
 * sl_codec.h — record batch compression for libsplicelog (internal, not installed).
 *
 * Contract
 * - The codecs Kafka numbers in a batch's attributes (bits 0-2), in the framings its clients
 *   write: 1 gzip (RFC 1952; reading also takes several members back to back), 2 snappy (the
 *   Java client's xerial framing when compressing, 32 KiB blocks; reading takes xerial framing
 *   or one raw snappy block, which is what librdkafka writes), 3 lz4 (the LZ4 frame format with
 *   64 KiB independent blocks and no checksums, as Java and librdkafka write it; reading takes
 *   any frame), 4 zstd (one frame; reading takes frames with or without a content size).
 * - A struct sl__codecs holds the reusable (de)compression contexts of one handle; it is used
 *   by one thread at a time like the handle, created empty (all zero) and released with
 *   sl__codecs_free. Contexts are made on first use.
 * - Errors are -errno: -EINVAL (unknown codec or level), -ENOMEM, -EBADMSG (corrupt or
 *   truncated input, bytes after the last frame), -EMSGSIZE (the output would exceed the
 *   caller's bound, a decompression bomb or a destination too small).
 */
#ifndef SPLICELOG_SL_CODEC_H
#define SPLICELOG_SL_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum sl__codec {
    SL__CODEC_NONE = 0,
    SL__CODEC_GZIP = 1,
    SL__CODEC_SNAPPY = 2,
    SL__CODEC_LZ4 = 3,
    SL__CODEC_ZSTD = 4,
};

struct sl__codecs {
    void *gz_deflate; /* z_stream for compressing (deflateReset between batches) */
    int gz_level;
    void *gz_inflate;
    void *lz4_dctx;
    void *zstd_cctx;
    void *zstd_dctx;
};

void sl__codecs_free(struct sl__codecs *z);

/* "none", "gzip", "snappy", "lz4", "zstd" for codec 0-4, NULL otherwise. */
const char *sl__codec_name(int codec);

/* The largest compressed size of n bytes (0 for an unknown codec). */
size_t sl__compress_bound(int codec, size_t n);

/*
 * Compresses src[0, n) into dst (cap bytes, at least sl__compress_bound) at level (-1: the
 * codec's default; gzip 0-9, lz4 0-12, zstd 1-22; snappy has none). Returns the compressed
 * length or -errno.
 */
long sl__compress(struct sl__codecs *z, int codec, int level, const uint8_t *src, size_t n,
                  uint8_t *dst, size_t cap);

/*
 * Decompresses src[0, n) into *buf (a realloc'd buffer of *cap bytes, grown as the output
 * arrives, never sized from a length in the input alone), producing at most max bytes.
 * Returns the decompressed length or -errno.
 */
long sl__decompress(struct sl__codecs *z, int codec, const uint8_t *src, size_t n, uint8_t **buf,
                    size_t *cap, size_t max);

#endif
