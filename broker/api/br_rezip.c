/*
 * br_rezip — see br_rezip.h. The steps: a compressed batch's records are decompressed into
 * rz->raw (bounded by max_raw), copied behind a copy of the header into rz->plain and walked
 * there (kp_batch_check_records: every record whole, their count the header's); an
 * uncompressed batch's records were walked by the produce path already. Then either the plain
 * copy is sealed (uncompressed target) or the records are compressed at the codec's default
 * level into rz->zout and sealed (kp_batch_seal_compressed).
 */
#include "br_rezip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "st.h"

int br_rezip_codec(int32_t compression_type, int16_t attributes)
{
    if (compression_type <= ST_COMPRESSION_PRODUCER ||
        compression_type > ST_COMPRESSION_UNCOMPRESSED || (attributes & KP_BATCH_ATTR_CONTROL))
        return -1;
    int want = compression_type == ST_COMPRESSION_UNCOMPRESSED ? KP_CODEC_NONE : compression_type;
    return want == (attributes & KP_BATCH_ATTR_CODEC_MASK) ? -1 : want;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    uint8_t *p = realloc(*buf, need);
    if (!p)
        return -ENOMEM;
    *buf = p;
    *cap = need;
    return 0;
}

long br_rezip_batch(struct br_rezip *rz, const uint8_t *batch, const struct kp_batch_hdr *hdr,
                    int codec, size_t max_raw, uint8_t **out)
{
    size_t size = kp_batch_size(hdr);
    if (size < KP_BATCH_HEADER_LEN || codec < KP_CODEC_NONE || codec > KP_CODEC_ZSTD)
        return -EINVAL;
    int src = hdr->attributes & KP_BATCH_ATTR_CODEC_MASK;
    const uint8_t *recs = batch + KP_BATCH_HEADER_LEN;
    size_t n = size - KP_BATCH_HEADER_LEN;
    if (n > max_raw && src == KP_CODEC_NONE)
        return -EMSGSIZE;
    if (src != KP_CODEC_NONE) {
        long d = kp_codec_decompress(&rz->z, src, recs, n, &rz->raw, &rz->raw_cap, max_raw);
        if (d < 0)
            return d == -ENOMEM || d == -EMSGSIZE ? d : -EBADMSG;
        n = (size_t)d;
        if (grow(&rz->plain, &rz->plain_cap, KP_BATCH_HEADER_LEN + n) < 0)
            return -ENOMEM;
        memcpy(rz->plain + KP_BATCH_HEADER_LEN, rz->raw, n);
        long ps = kp_batch_seal_plain(rz->plain, batch, n);
        if (ps < 0)
            return ps;
        struct kp_batch_hdr ph;
        if (kp_batch_validate(rz->plain, (size_t)ps, KP_BATCH_SKIP_CRC, &ph) < 0 ||
            kp_batch_check_records(rz->plain, &ph) < 0)
            return -EBADMSG;
        if (codec == KP_CODEC_NONE) {
            *out = rz->plain;
            return ps;
        }
        recs = rz->plain + KP_BATCH_HEADER_LEN;
    } else if (codec == KP_CODEC_NONE) {
        return -EINVAL; /* nothing to do: br_rezip_codec says -1 */
    }
    size_t bound = kp_codec_bound(codec, n);
    if (bound == 0 || grow(&rz->zout, &rz->zout_cap, KP_BATCH_HEADER_LEN + bound) < 0)
        return bound == 0 ? -EINVAL : -ENOMEM;
    long z = kp_codec_compress(&rz->z, codec, -1, recs, n, rz->zout + KP_BATCH_HEADER_LEN, bound);
    if (z < 0)
        return z;
    long bs = kp_batch_seal_compressed(rz->zout, src != KP_CODEC_NONE ? rz->plain : batch,
                                       (size_t)z, (unsigned)codec);
    if (bs >= 0)
        *out = rz->zout;
    return bs;
}

static void trim1(uint8_t **buf, size_t *cap)
{
    if (*cap > BR_REZIP_KEEP) {
        free(*buf);
        *buf = NULL;
        *cap = 0;
    }
}

void br_rezip_trim(struct br_rezip *rz)
{
    trim1(&rz->raw, &rz->raw_cap);
    trim1(&rz->plain, &rz->plain_cap);
    trim1(&rz->zout, &rz->zout_cap);
}

void br_rezip_free(struct br_rezip *rz)
{
    kp_codec_ctx_free(&rz->z);
    free(rz->raw);
    free(rz->plain);
    free(rz->zout);
    *rz = (struct br_rezip){0};
}
