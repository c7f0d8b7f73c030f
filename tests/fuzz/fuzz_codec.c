/*
 * fuzz_codec — libFuzzer target over the batch codecs (proto/kp_codec.c), as the consumer and
 * the log cleaner use them on bytes a producer sent: byte 0 picks the codec (gzip, snappy,
 * lz4, zstd), byte 1 the output bound (2^(b % 24) bytes), the rest is the compressed input.
 *
 * Checks: a decompression never returns more than the bound (a bomb stops there), nor an
 * error outside the contract's (-EBADMSG, -EMSGSIZE, -ENOMEM); what decompresses recompresses
 * within kp_codec_bound and decompresses back to the same bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kp_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kp_codec_ctx z;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int codec = KP_CODEC_GZIP + data[0] % 4;
    size_t max = (size_t)1 << (data[1] % 24);
    uint8_t *out = NULL, *back = NULL, *zbuf = NULL;
    size_t cap = 0, bcap = 0;
    long n = kp_codec_decompress(&z, codec, data + 2, size - 2, &out, &cap, max);
    if (n < 0) {
        if (n != -EBADMSG && n != -EMSGSIZE && n != -ENOMEM)
            abort();
        free(out);
        return 0;
    }
    if ((size_t)n > max || (n > 0 && (size_t)n > cap))
        abort();
    size_t zcap = kp_codec_bound(codec, (size_t)n);
    if (!(zbuf = malloc(zcap ? zcap : 1)))
        abort();
    long zl = kp_codec_compress(&z, codec, -1, out, (size_t)n, zbuf, zcap);
    if (zl <= 0)
        abort();
    long m = kp_codec_decompress(&z, codec, zbuf, (size_t)zl, &back, &bcap, (size_t)n + 1);
    if (m != n || (n > 0 && memcmp(out, back, (size_t)n) != 0))
        abort();
    free(out);
    free(back);
    free(zbuf);
    return 0;
}
