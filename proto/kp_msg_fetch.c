/* kp_msg_fetch — TEMPORARY stubs so the public headers link; replaced by the codec. */
#include "kp_msg.h"

#include <errno.h>

int kp_fetch_req_encode(struct kp_wr *wr, int16_t version, const struct kp_fetch_req *req)
{
    (void)wr;
    (void)version;
    (void)req;
    return -ENOSYS;
}

int kp_fetch_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                        struct kp_fetch_req *out)
{
    (void)rd;
    (void)version;
    (void)arena;
    (void)out;
    return -ENOSYS;
}

int kp_fetch_resp_encode(struct kp_wr *wr, int16_t version, const struct kp_fetch_resp *resp)
{
    (void)wr;
    (void)version;
    (void)resp;
    return -ENOSYS;
}

int kp_fetch_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                         struct kp_fetch_resp *out)
{
    (void)rd;
    (void)version;
    (void)arena;
    (void)out;
    return -ENOSYS;
}

int kp_fetch_resp_head_encode(struct kp_wr *wr, int16_t version, int32_t throttle_time_ms,
                              int16_t error_code, int32_t session_id, int32_t n_topics)
{
    (void)wr;
    (void)version;
    (void)throttle_time_ms;
    (void)error_code;
    (void)session_id;
    (void)n_topics;
    return -ENOSYS;
}

int kp_fetch_resp_topic_encode(struct kp_wr *wr, int16_t version, struct kp_str topic,
                               int32_t n_partitions)
{
    (void)wr;
    (void)version;
    (void)topic;
    (void)n_partitions;
    return -ENOSYS;
}

int kp_fetch_resp_partition_head_encode(struct kp_wr *wr, int16_t version,
                                        const struct kp_fetch_resp_partition *p)
{
    (void)wr;
    (void)version;
    (void)p;
    return -ENOSYS;
}

size_t kp_fetch_resp_head_size(int16_t version)
{
    (void)version;
    return 0;
}

size_t kp_fetch_resp_topic_size(int16_t version, struct kp_str topic)
{
    (void)version;
    (void)topic;
    return 0;
}

size_t kp_fetch_resp_partition_head_size(int16_t version, const struct kp_fetch_resp_partition *p)
{
    (void)version;
    (void)p;
    return 0;
}

int kp_fetch_resp_size(int16_t version, const struct kp_fetch_resp *resp, size_t *size)
{
    (void)version;
    (void)resp;
    (void)size;
    return -ENOSYS;
}
