/*
 * tb_codec — raw requests through proto's own codec (kp_*_req_encode, kp_*_resp_decode), for
 * suites that test the broker's behaviour rather than the wire format (the wire format has
 * tb_kafka's decoders, written from the protocol notes, and tb_codec_req_check).
 *
 * Contract
 * - The request header is what the codec's table says for (key, version): v2 (a tag buffer
 *   after the client id) when the version is flexible, else v1. The answer's header likewise:
 *   v1 (the correlation id and a tag buffer, which must be empty) for flexible versions but
 *   ApiVersions, whose answer always has header v0.
 * - These call Check's ck_assert: only inside a Check test, setup or teardown; a failure
 *   fails the test with the API key and version. A request buffer is 256 KiB.
 * - TB_CODEC_ROUND leaves the decoded answer in out, whose views point into f (freed by the
 *   caller with tb_frame_free) and arena (reset by the caller between rounds if it wants).
 */
#ifndef SPLICELOG_TB_CODEC_H
#define SPLICELOG_TB_CODEC_H

#include <check.h>
#include <stdint.h>

#include "kp_buf.h"
#include "tb_kafka.h"

#define TB_CODEC_REQ_CAP (256u << 10)

/* Begins r for (key, v) with correlation id corr and client_id client. */
void tb_codec_begin(struct tb_req *r, int16_t key, int16_t v, int32_t corr, const char *client);
/* Sends r on fd (r freed), reads the answer to corr into f and leaves rd at its body. */
void tb_codec_call(int fd, struct tb_req *r, int16_t key, int16_t v, int32_t corr,
                   struct tb_frame *f, struct kp_rd *rd);

/* One round trip on fd: ENC(wr, v, req) into a request begun with tb_codec_begin, the answer
 * DEC(rd, v, arena, out) into out. */
#define TB_CODEC_ROUND(fd, key, v, corr, client, ENC, req, DEC, arena, out, f)                     \
    do {                                                                                           \
        struct tb_req r_;                                                                          \
        int32_t c_ = (corr);                                                                       \
        tb_codec_begin(&r_, (key), (v), c_, (client));                                             \
        ck_assert_int_eq(ENC(&r_.wr, (v), (req)), 0);                                              \
        struct kp_rd rd_;                                                                          \
        tb_codec_call((fd), &r_, (key), (v), c_, (f), &rd_);                                       \
        int rc_ = DEC(&rd_, (v), (arena), (out));                                                  \
        ck_assert_msg(rc_ == 0, "api %d v%d: the response does not decode (%d)", (key), (v), rc_); \
    } while (0)

#endif
