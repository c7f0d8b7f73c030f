/* kp_msg_meta — TEMPORARY stubs so the public headers link; replaced by the codec. */
#include "kp_msg.h"

#include <errno.h>

int kp_api_versions_req_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_api_versions_req *req)
{
    (void)wr;
    (void)version;
    (void)req;
    return -ENOSYS;
}

int kp_api_versions_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_api_versions_req *out)
{
    (void)rd;
    (void)version;
    (void)arena;
    (void)out;
    return -ENOSYS;
}

int kp_api_versions_resp_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_api_versions_resp *resp)
{
    (void)wr;
    (void)version;
    (void)resp;
    return -ENOSYS;
}

int kp_api_versions_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_api_versions_resp *out)
{
    (void)rd;
    (void)version;
    (void)arena;
    (void)out;
    return -ENOSYS;
}

int kp_api_versions_fallback_encode(struct kp_wr *wr)
{
    (void)wr;
    return -ENOSYS;
}

bool kp_metadata_req_all_topics(const struct kp_metadata_req *req, int16_t version)
{
    (void)req;
    (void)version;
    return false;
}

int kp_metadata_req_encode(struct kp_wr *wr, int16_t version, const struct kp_metadata_req *req)
{
    (void)wr;
    (void)version;
    (void)req;
    return -ENOSYS;
}

int kp_metadata_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                           struct kp_metadata_req *out)
{
    (void)rd;
    (void)version;
    (void)arena;
    (void)out;
    return -ENOSYS;
}

int kp_metadata_resp_encode(struct kp_wr *wr, int16_t version, const struct kp_metadata_resp *resp)
{
    (void)wr;
    (void)version;
    (void)resp;
    return -ENOSYS;
}

int kp_metadata_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                            struct kp_metadata_resp *out)
{
    (void)rd;
    (void)version;
    (void)arena;
    (void)out;
    return -ENOSYS;
}

int kp_create_topics_req_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_create_topics_req *req)
{
    (void)wr;
    (void)version;
    (void)req;
    return -ENOSYS;
}

int kp_create_topics_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_create_topics_req *out)
{
    (void)rd;
    (void)version;
    (void)arena;
    (void)out;
    return -ENOSYS;
}

int kp_create_topics_resp_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_create_topics_resp *resp)
{
    (void)wr;
    (void)version;
    (void)resp;
    return -ENOSYS;
}

int kp_create_topics_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_create_topics_resp *out)
{
    (void)rd;
    (void)version;
    (void)arena;
    (void)out;
    return -ENOSYS;
}

int kp_delete_topics_req_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_delete_topics_req *req)
{
    (void)wr;
    (void)version;
    (void)req;
    return -ENOSYS;
}

int kp_delete_topics_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_delete_topics_req *out)
{
    (void)rd;
    (void)version;
    (void)arena;
    (void)out;
    return -ENOSYS;
}

int kp_delete_topics_resp_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_delete_topics_resp *resp)
{
    (void)wr;
    (void)version;
    (void)resp;
    return -ENOSYS;
}

int kp_delete_topics_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_delete_topics_resp *out)
{
    (void)rd;
    (void)version;
    (void)arena;
    (void)out;
    return -ENOSYS;
}
