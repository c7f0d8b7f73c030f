/* kp_msg_produce — TEMPORARY stubs so the public headers link; replaced by the codec. */
#include "kp_msg.h"

#include <errno.h>

int kp_produce_req_encode(struct kp_wr *wr, int16_t version, const struct kp_produce_req *req)
{
    (void)wr;
    (void)version;
    (void)req;
    return -ENOSYS;
}

int kp_produce_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                          struct kp_produce_req *out)
{
    (void)rd;
    (void)version;
    (void)arena;
    (void)out;
    return -ENOSYS;
}

int kp_produce_resp_encode(struct kp_wr *wr, int16_t version, const struct kp_produce_resp *resp)
{
    (void)wr;
    (void)version;
    (void)resp;
    return -ENOSYS;
}

int kp_produce_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                           struct kp_produce_resp *out)
{
    (void)rd;
    (void)version;
    (void)arena;
    (void)out;
    return -ENOSYS;
}

uint8_t *kp_bytes_mut(struct kp_bytes view, uint8_t *buf, size_t len)
{
    (void)view;
    (void)buf;
    (void)len;
    return NULL;
}
