/*
 * kp_codec.c — gzip, snappy, lz4 and zstd for record batches (kp_codec.h), over Debian's zlib,
 * libsnappy, liblz4 and libzstd.
 *
 * Output growth: decompression writes into the caller's buffer and doubles it when the codec
 * has produced enough to fill it, starting from a few times the input, up to the caller's max.
 * A length field in the input (snappy's varint, a zstd frame's content size) never sizes an
 * allocation by itself: snappy's is checked against the most a snappy block can expand (about
 * 21 times: a 3-byte copy yields 64 bytes), and zstd's is not used at all.
 *
 * Framings (the Kafka clients' own choices):
 * - snappy, xerial: an 8-byte magic 0x82 "SNAPPY" 0x00, int32 version (1), int32 compatible
 *   version (1), then blocks of int32 big-endian length + one raw snappy block. The Java client
 *   writes it (SnappyOutputStream, 32 KiB blocks); librdkafka writes one raw snappy block and
 *   reads both.
 * - lz4: the frame format (magic 0x184D2204; since KIP-57 with a correct header checksum), with
 *   block independence, 64 KiB blocks, no block or content checksums.
 */
#include <errno.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "kp_buf.h"
#include "kp_codec.h"

#define XERIAL_BLOCK 32768
static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

void kp_codec_ctx_free(struct kp_codec_ctx *z)
{
    if (z->gz_deflate) {
        deflateEnd(z->gz_deflate);
        free(z->gz_deflate);
    }
    if (z->gz_inflate) {
        inflateEnd(z->gz_inflate);
        free(z->gz_inflate);
    }
    LZ4F_freeDecompressionContext(z->lz4_dctx);
    ZSTD_freeCCtx(z->zstd_cctx);
    ZSTD_freeDCtx(z->zstd_dctx);
    memset(z, 0, sizeof(*z));
}

const char *kp_codec_name(int codec)
{
    static const char *const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    return codec >= 0 && codec <= KP_CODEC_ZSTD ? names[codec] : NULL;
}

static const LZ4F_preferences_t lz4_prefs_default = {
    .frameInfo = {.blockSizeID = LZ4F_max64KB, .blockMode = LZ4F_blockIndependent},
};

size_t kp_codec_bound(int codec, size_t n)
{
    switch (codec) {
    case KP_CODEC_GZIP:
        return compressBound((uLong)n) + 32; /* zlib's bound plus the larger gzip wrapper */
    case KP_CODEC_SNAPPY:
        return sizeof(xerial_magic) + 8 +
               (n / XERIAL_BLOCK + 1) * (4 + snappy_max_compressed_length(XERIAL_BLOCK));
    case KP_CODEC_LZ4:
        return LZ4F_compressFrameBound(n, &lz4_prefs_default);
    case KP_CODEC_ZSTD:
        return ZSTD_compressBound(n);
    default:
        return 0;
    }
}

/* ---- compression ---------------------------------------------------------------------- */

static long gzip_compress(struct kp_codec_ctx *z, int level, const uint8_t *src, size_t n,
                          uint8_t *dst, size_t cap)
{
    if (level < -1 || level > 9)
        return -EINVAL;
    z_stream *s = z->gz_deflate;
    if (s && z->gz_level != level) {
        deflateEnd(s);
        free(s);
        s = z->gz_deflate = NULL;
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -ENOMEM;
        if (deflateInit2(s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(s);
            return -ENOMEM;
        }
        z->gz_deflate = s;
        z->gz_level = level;
    } else if (deflateReset(s) != Z_OK) {
        return -EINVAL;
    }
    s->next_in = (Bytef *)src;
    s->avail_in = (uInt)n;
    s->next_out = dst;
    s->avail_out = (uInt)cap;
    int rc = deflate(s, Z_FINISH);
    if (rc != Z_STREAM_END)
        return -EMSGSIZE;
    return (long)(cap - s->avail_out);
}

static long snappy_compress_xerial(const uint8_t *src, size_t n, uint8_t *dst, size_t cap)
{
    if (cap < sizeof(xerial_magic) + 8)
        return -EMSGSIZE;
    memcpy(dst, xerial_magic, sizeof(xerial_magic));
    kp_store_be32(dst + 8, 1);  /* version */
    kp_store_be32(dst + 12, 1); /* compatible version */
    size_t out = 16;
    for (size_t in = 0; in < n;) {
        size_t blk = n - in < XERIAL_BLOCK ? n - in : XERIAL_BLOCK;
        if (cap - out < 4 + snappy_max_compressed_length(blk))
            return -EMSGSIZE;
        size_t zlen = cap - out - 4;
        if (snappy_compress((const char *)src + in, blk, (char *)dst + out + 4, &zlen) != SNAPPY_OK)
            return -EMSGSIZE;
        kp_store_be32(dst + out, (uint32_t)zlen);
        out += 4 + zlen;
        in += blk;
    }
    return (long)out;
}

long kp_codec_compress(struct kp_codec_ctx *z, int codec, int level, const uint8_t *src, size_t n,
                       uint8_t *dst, size_t cap)
{
    switch (codec) {
    case KP_CODEC_GZIP:
        return gzip_compress(z, level, src, n, dst, cap);
    case KP_CODEC_SNAPPY:
        return snappy_compress_xerial(src, n, dst, cap);
    case KP_CODEC_LZ4: {
        if (level < -1 || level > LZ4F_compressionLevel_max())
            return -EINVAL;
        LZ4F_preferences_t prefs = lz4_prefs_default;
        prefs.compressionLevel = level < 0 ? 0 : level;
        size_t r = LZ4F_compressFrame(dst, cap, src, n, &prefs);
        return LZ4F_isError(r) ? -EMSGSIZE : (long)r;
    }
    case KP_CODEC_ZSTD: {
        if (level < -1 || level > ZSTD_maxCLevel() || level == 0)
            return -EINVAL;
        if (!z->zstd_cctx && !(z->zstd_cctx = ZSTD_createCCtx()))
            return -ENOMEM;
        size_t r = ZSTD_compressCCtx(z->zstd_cctx, dst, cap, src, n,
                                     level < 0 ? ZSTD_CLEVEL_DEFAULT : level);
        return ZSTD_isError(r) ? -EMSGSIZE : (long)r;
    }
    default:
        return -EINVAL;
    }
}

/* ---- decompression -------------------------------------------------------------------- */

/* The usable part of the output buffer: its size, or less when max is smaller. */
static size_t usable(size_t cap, size_t max) { return cap < max ? cap : max; }

/* Room for at least one more byte after len: doubles *buf (from a start based on the input
 * size), never past max. 0, -EMSGSIZE (the output reached max) or -ENOMEM. */
static int room(uint8_t **buf, size_t *cap, size_t len, size_t in_len, size_t max)
{
    if (len < usable(*cap, max))
        return 0;
    if (*cap >= max)
        return -EMSGSIZE;
    size_t want = *cap * 2;
    size_t start = in_len * 4 + 4096;
    if (want < start)
        want = start;
    if (want > max)
        want = max;
    uint8_t *p = realloc(*buf, want);
    if (!p)
        return -ENOMEM;
    *buf = p;
    *cap = want;
    return 0;
}

static long gzip_decompress(struct kp_codec_ctx *z, const uint8_t *src, size_t n, uint8_t **buf,
                            size_t *cap, size_t max)
{
    z_stream *s = z->gz_inflate;
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -ENOMEM;
        if (inflateInit2(s, 15 + 16) != Z_OK) {
            free(s);
            return -ENOMEM;
        }
        z->gz_inflate = s;
    } else if (inflateReset(s) != Z_OK) {
        return -EINVAL;
    }
    s->next_in = (Bytef *)src;
    s->avail_in = (uInt)n;
    size_t len = 0;
    for (;;) {
        int err = room(buf, cap, len, n, max);
        if (err)
            return err;
        s->next_out = *buf + len;
        s->avail_out = (uInt)(usable(*cap, max) - len);
        int rc = inflate(s, Z_NO_FLUSH);
        len = (size_t)(s->next_out - *buf);
        if (rc == Z_STREAM_END) {
            if (s->avail_in == 0)
                return (long)len;
            /* Another gzip member follows (Java's GZIPInputStream reads them all). */
            if (s->avail_in < 2 || s->next_in[0] != 0x1f || s->next_in[1] != 0x8b ||
                inflateReset(s) != Z_OK)
                return -EBADMSG;
            continue;
        }
        if (rc == Z_OK || (rc == Z_BUF_ERROR && s->avail_out == 0)) {
            if (s->avail_in == 0 && s->avail_out > 0)
                return -EBADMSG; /* the input ended inside the stream */
            continue;
        }
        return -EBADMSG;
    }
}

static int snappy_block(const uint8_t *blk, size_t n, uint8_t **buf, size_t *cap, size_t *len,
                        size_t max)
{
    size_t ulen;
    if (snappy_uncompressed_length((const char *)blk, n, &ulen) != SNAPPY_OK)
        return -EBADMSG;
    if (ulen > 32 * n + 64)
        return -EBADMSG; /* more than a snappy block can expand to */
    if (ulen > max - *len)
        return -EMSGSIZE;
    while (*cap - *len < ulen) {
        int err = room(buf, cap, *cap, n, max); /* *cap < *len + ulen <= max: it grows */
        if (err)
            return err;
    }
    if (ulen == 0) /* nothing to write, and *buf may be NULL still */
        return snappy_validate_compressed_buffer((const char *)blk, n) == SNAPPY_OK ? 0 : -EBADMSG;
    size_t got = ulen;
    if (snappy_uncompress((const char *)blk, n, (char *)*buf + *len, &got) != SNAPPY_OK ||
        got != ulen)
        return -EBADMSG;
    *len += ulen;
    return 0;
}

static long snappy_decompress(const uint8_t *src, size_t n, uint8_t **buf, size_t *cap, size_t max)
{
    size_t len = 0;
    if (n < 16 || memcmp(src, xerial_magic, sizeof(xerial_magic)) != 0) {
        int err = snappy_block(src, n, buf, cap, &len, max); /* raw snappy (librdkafka) */
        return err ? err : (long)len;
    }
    for (size_t pos = 16; pos < n;) {
        if (n - pos < 4)
            return -EBADMSG;
        size_t blen = kp_load_be32(src + pos);
        pos += 4;
        if (blen > n - pos)
            return -EBADMSG;
        int err = snappy_block(src + pos, blen, buf, cap, &len, max);
        if (err)
            return err;
        pos += blen;
    }
    return (long)len;
}

static long lz4_decompress(struct kp_codec_ctx *z, const uint8_t *src, size_t n, uint8_t **buf,
                           size_t *cap, size_t max)
{
    if (!z->lz4_dctx) {
        LZ4F_dctx *d;
        if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
            return -ENOMEM;
        z->lz4_dctx = d;
    }
    LZ4F_dctx *d = z->lz4_dctx;
    size_t in = 0, len = 0;
    long ret;
    for (;;) {
        int err = room(buf, cap, len, n, max);
        if (err) {
            ret = err;
            break;
        }
        size_t dst_size = usable(*cap, max) - len, src_size = n - in;
        size_t r = LZ4F_decompress(d, *buf + len, &dst_size, src + in, &src_size, NULL);
        if (LZ4F_isError(r)) {
            ret = -EBADMSG;
            break;
        }
        in += src_size;
        len += dst_size;
        if (r == 0 && in == n)
            return (long)len; /* the frame (or the last of several) ended with the input */
        if (in == n && len < usable(*cap, max)) {
            ret = -EBADMSG; /* the input ended inside a frame */
            break;
        }
    }
    LZ4F_resetDecompressionContext(d);
    return ret;
}

static long zstd_decompress(struct kp_codec_ctx *z, const uint8_t *src, size_t n, uint8_t **buf,
                            size_t *cap, size_t max)
{
    if (!z->zstd_dctx && !(z->zstd_dctx = ZSTD_createDCtx()))
        return -ENOMEM;
    ZSTD_DCtx *d = z->zstd_dctx;
    ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
    ZSTD_inBuffer in = {src, n, 0};
    size_t len = 0;
    for (;;) {
        int err = room(buf, cap, len, n, max);
        if (err)
            return err;
        ZSTD_outBuffer out = {*buf, usable(*cap, max), len};
        size_t r = ZSTD_decompressStream(d, &out, &in);
        if (ZSTD_isError(r))
            return -EBADMSG;
        len = out.pos;
        if (r == 0 && in.pos == in.size)
            return (long)len;
        if (in.pos == in.size && out.pos < out.size)
            return -EBADMSG; /* the input ended inside a frame */
    }
}

long kp_codec_decompress(struct kp_codec_ctx *z, int codec, const uint8_t *src, size_t n,
                         uint8_t **buf, size_t *cap, size_t max)
{
    switch (codec) {
    case KP_CODEC_GZIP:
        return gzip_decompress(z, src, n, buf, cap, max);
    case KP_CODEC_SNAPPY:
        return snappy_decompress(src, n, buf, cap, max);
    case KP_CODEC_LZ4:
        return lz4_decompress(z, src, n, buf, cap, max);
    case KP_CODEC_ZSTD:
        return zstd_decompress(z, src, n, buf, cap, max);
    default:
        return -EINVAL;
    }
}
