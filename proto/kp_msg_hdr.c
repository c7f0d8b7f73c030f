/*
 * kp_msg_hdr — request and response headers and the int32 size frame (kp_msg.h).
 *
 * Request header v1:  int16 api_key, int16 api_version, int32 correlation_id,
 *                     NULLABLE_STRING client_id (int16 length even in v2).
 * Request header v2:  v1 + TAG_BUFFER. Used by flexible request versions.
 * Response header v0: int32 correlation_id.   v1: v0 + TAG_BUFFER.
 * ApiVersions responses always use v0 (kp_api_resp_hdr_version).
 */
#include "kp_msg.h"
#include "kp_msg_int.h"

int kp_req_hdr_decode(struct kp_rd *rd, struct kp_req_hdr *out)
{
    out->api_key = kp_rd_i16(rd);
    out->api_version = kp_rd_i16(rd);
    out->correlation_id = kp_rd_i32(rd);
    out->client_id = kp_rd_nstr(rd);
    if (kp_rd_ok(rd) && kp_api_req_hdr_version(out->api_key, out->api_version) >= 2)
        kp_rd_tags(rd);
    return rd->err;
}

int kp_req_hdr_encode(struct kp_wr *wr, const struct kp_req_hdr *h)
{
    if (!kp__str_ok(h->client_id))
        return -EINVAL;
    kp_wr_i16(wr, h->api_key);
    kp_wr_i16(wr, h->api_version);
    kp_wr_i32(wr, h->correlation_id);
    kp_wr_nstr(wr, h->client_id);
    if (kp_api_req_hdr_version(h->api_key, h->api_version) >= 2)
        kp_wr_tags(wr);
    return wr->err;
}

int kp_resp_hdr_encode(struct kp_wr *wr, int16_t api_key, int16_t api_version,
                       int32_t correlation_id)
{
    kp_wr_i32(wr, correlation_id);
    if (kp_api_resp_hdr_version(api_key, api_version) >= 1)
        kp_wr_tags(wr);
    return wr->err;
}

int kp_resp_hdr_decode(struct kp_rd *rd, int16_t api_key, int16_t api_version,
                       int32_t *correlation_id)
{
    *correlation_id = kp_rd_i32(rd);
    if (kp_api_resp_hdr_version(api_key, api_version) >= 1)
        kp_rd_tags(rd);
    return rd->err;
}

size_t kp_resp_hdr_size(int16_t api_key, int16_t api_version)
{
    return kp_api_resp_hdr_version(api_key, api_version) >= 1 ? 5 : 4;
}

size_t kp_frame_begin(struct kp_wr *wr)
{
    size_t pos = kp_wr_len(wr);
    kp_wr_i32(wr, 0); /* patched by kp_frame_end */
    return pos;
}

int kp_frame_end(struct kp_wr *wr, size_t size_pos)
{
    if (wr->err)
        return wr->err;
    size_t len = kp_wr_len(wr);
    if (len < 4 || size_pos > len - 4)
        return -EINVAL;
    size_t body = len - size_pos - 4;
    if (body > INT32_MAX)
        return -EMSGSIZE;
    kp_wr_i32_at(wr, size_pos, (int32_t)body);
    return wr->err;
}

int kp_frame_peek(const void *buf, size_t len, int32_t max_size, int32_t *size)
{
    if (len < 4)
        return -EAGAIN;
    int32_t n = (int32_t)kp_load_be32(buf);
    if (n < 0)
        return -EBADMSG;
    if (n > max_size)
        return -EMSGSIZE;
    *size = n;
    return 0;
}
