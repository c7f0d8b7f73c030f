/* kp_msg_hdr — TEMPORARY stubs so the public headers link; replaced by the codec. */
#include "kp_msg.h"

#include <errno.h>

int kp_req_hdr_decode(struct kp_rd *rd, struct kp_req_hdr *out)
{
    (void)rd;
    (void)out;
    return -ENOSYS;
}

int kp_req_hdr_encode(struct kp_wr *wr, const struct kp_req_hdr *h)
{
    (void)wr;
    (void)h;
    return -ENOSYS;
}

int kp_resp_hdr_encode(struct kp_wr *wr, int16_t api_key, int16_t api_version,
                       int32_t correlation_id)
{
    (void)wr;
    (void)api_key;
    (void)api_version;
    (void)correlation_id;
    return -ENOSYS;
}

int kp_resp_hdr_decode(struct kp_rd *rd, int16_t api_key, int16_t api_version,
                       int32_t *correlation_id)
{
    (void)rd;
    (void)api_key;
    (void)api_version;
    (void)correlation_id;
    return -ENOSYS;
}

size_t kp_resp_hdr_size(int16_t api_key, int16_t api_version)
{
    (void)api_key;
    (void)api_version;
    return 0;
}

size_t kp_frame_begin(struct kp_wr *wr)
{
    (void)wr;
    return 0;
}

int kp_frame_end(struct kp_wr *wr, size_t size_pos)
{
    (void)wr;
    (void)size_pos;
    return -ENOSYS;
}

int kp_frame_peek(const void *buf, size_t len, int32_t max_size, int32_t *size)
{
    (void)buf;
    (void)len;
    (void)max_size;
    (void)size;
    return -ENOSYS;
}
