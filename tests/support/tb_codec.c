/* tb_codec — raw requests through proto's own codec (tb_codec.h). */
#include "tb_codec.h"

#include <stdlib.h>
#include <string.h>

#include "kp_api.h"

void tb_codec_begin(struct tb_req *r, int16_t key, int16_t v, int32_t corr, const char *client)
{
    r->buf = malloc(TB_CODEC_REQ_CAP);
    ck_assert_ptr_nonnull(r->buf);
    kp_wr_init(&r->wr, r->buf, TB_CODEC_REQ_CAP);
    kp_wr_i32(&r->wr, 0); /* the size, patched when sent */
    kp_wr_i16(&r->wr, key);
    kp_wr_i16(&r->wr, v);
    kp_wr_i32(&r->wr, corr);
    kp_wr_nstr(&r->wr, kp_str_of(client));
    if (kp_api_flexible(key, v))
        kp_wr_i8(&r->wr, 0); /* no tagged fields */
}

void tb_codec_call(int fd, struct tb_req *r, int16_t key, int16_t v, int32_t corr,
                   struct tb_frame *f, struct kp_rd *rd)
{
    int rc = tb_call(fd, r, corr, f);
    tb_req_free(r);
    ck_assert_msg(rc == 0, "api %d v%d: %s", key, v, strerror(-rc));
    ck_assert_uint_ge(f->len, 4);
    kp_rd_init(rd, f->data + 4, f->len - 4);
    if (kp_api_flexible(key, v) && key != KP_API_API_VERSIONS) {
        ck_assert_msg(f->len >= 5 && f->data[4] == 0, "api %d v%d: no response header v1", key, v);
        kp_rd_init(rd, f->data + 5, f->len - 5);
    }
}
