/*
 * br_rezip — a produced batch rewritten in its topic's compression.type, as Kafka's log
 * validator does when the topic's codec is not the producer's: the records decompressed
 * (kp_codec), checked against the header, and compressed again with the topic's codec (or
 * left uncompressed). The header is kept (baseOffset, lastOffsetDelta, timestamps, producer
 * id, epoch and sequence, the transactional bit, the record count); the codec bits,
 * batchLength and CRC are recomputed.
 *
 * Contract
 * - One struct br_rezip per dispatching thread (its struct br_ctx's); it starts all zero. Its
 *   buffers grow to the largest batch rewritten, are reused, and are given back after a batch
 *   past BR_REZIP_KEEP bytes (br_rezip_trim); br_rezip_free releases everything.
 * - br_rezip_codec: the codec (0-4) a batch with these attributes must be stored in for the
 *   topic's compression.type, or -1 when it is stored as produced (compression.type producer,
 *   the codec already the topic's, a control batch, an unknown value): the zero-copy path.
 * - br_rezip_batch takes a batch that passed kp_batch_validate (and, uncompressed,
 *   kp_batch_check_records). It never holds more than max_raw bytes of decompressed records,
 *   whatever the input claims. Returns the new batch's size with *out pointing at it (valid
 *   until the next call), or -EBADMSG (the records do not decompress, or do not match the
 *   header's count: CORRUPT_MESSAGE), -EMSGSIZE (records past max_raw), -ENOMEM, -EINVAL.
 */
#ifndef SPLICELOG_BR_REZIP_H
#define SPLICELOG_BR_REZIP_H

#include <stddef.h>
#include <stdint.h>

#include "kp_batch.h"
#include "kp_codec.h"

#define BR_REZIP_KEEP (8u << 20) /* buffers kept between batches: at most this many bytes each */

struct br_rezip {
    struct kp_codec_ctx z;
    uint8_t *raw; /* decompressed records (kp_codec_decompress grows it) */
    size_t raw_cap;
    uint8_t *plain; /* header + records, uncompressed */
    size_t plain_cap;
    uint8_t *zout; /* header + records, compressed */
    size_t zout_cap;
};

int br_rezip_codec(int32_t compression_type, int16_t attributes);

long br_rezip_batch(struct br_rezip *rz, const uint8_t *batch, const struct kp_batch_hdr *hdr,
                    int codec, size_t max_raw, uint8_t **out);

void br_rezip_trim(struct br_rezip *rz);
void br_rezip_free(struct br_rezip *rz);

#endif
