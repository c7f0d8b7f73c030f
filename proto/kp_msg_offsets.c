/* kp_msg_offsets — TEMPORARY stubs so the public headers link; replaced by the codec. */
#include "kp_msg.h"

#include <errno.h>

int kp_list_offsets_req_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_list_offsets_req *req)
{
    (void)wr;
    (void)version;
    (void)req;
    return -ENOSYS;
}

int kp_list_offsets_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_list_offsets_req *out)
{
    (void)rd;
    (void)version;
    (void)arena;
    (void)out;
    return -ENOSYS;
}

int kp_list_offsets_resp_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_list_offsets_resp *resp)
{
    (void)wr;
    (void)version;
    (void)resp;
    return -ENOSYS;
}

int kp_list_offsets_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_list_offsets_resp *out)
{
    (void)rd;
    (void)version;
    (void)arena;
    (void)out;
    return -ENOSYS;
}
