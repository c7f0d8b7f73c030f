/*
 * fuzz_sec — libFuzzer target over the security and quota codecs (proto/kp_msg_sec.c):
 * SaslHandshake, SaslAuthenticate, the three ACL APIs, the two client-quota APIs and the two
 * SCRAM-credential APIs.
 *
 * Input: one byte, the API key (17, 29, 30, 31, 36, 48, 49, 50 or 51; anything else picks one
 * of them by its value), then a message body. The body goes to the request decoder and to the
 * response decoder of that key at every version the codec has; whenever one decodes, it is
 * encoded again, and that encoding must decode and encode to the same bytes (decoder and
 * encoder agree). Every failure must be an error code; ASan/UBSan turn any over-read or UB
 * into a crash. Seeds: tests/fuzz/seeds/fuzz_sec/ (hand-encoded, see tests/fuzz/README.md).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kp_msg_sec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Alignas(max_align_t) uint8_t arena_mem1[1 << 17];
static _Alignas(max_align_t) uint8_t arena_mem2[1 << 17];
static _Alignas(max_align_t) uint8_t out1[512];
static _Alignas(max_align_t) uint8_t out2[512];
static uint8_t enc1[1 << 17];
static uint8_t enc2[1 << 17];

struct codec {
    int16_t key, lo, hi;
    int (*enc)(struct kp_wr *wr, int16_t v, const void *msg);
    int (*dec)(struct kp_rd *rd, int16_t v, struct kp_arena *a, void *out);
};

#define CODEC(var, fn, type)                                                                       \
    static int var##_enc(struct kp_wr *wr, int16_t v, const void *m)                               \
    {                                                                                              \
        return fn##_encode(wr, v, (const type *)m);                                                \
    }                                                                                              \
    static int var##_dec(struct kp_rd *rd, int16_t v, struct kp_arena *a, void *o)                 \
    {                                                                                              \
        _Static_assert(sizeof(type) <= sizeof out1, "out buffer");                                 \
        return fn##_decode(rd, v, a, (type *)o);                                                   \
    }

CODEC(sh_req, kp_sasl_handshake_req, struct kp_sasl_handshake_req)
CODEC(sh_resp, kp_sasl_handshake_resp, struct kp_sasl_handshake_resp)
CODEC(sa_req, kp_sasl_authenticate_req, struct kp_sasl_authenticate_req)
CODEC(sa_resp, kp_sasl_authenticate_resp, struct kp_sasl_authenticate_resp)
CODEC(da_req, kp_describe_acls_req, struct kp_describe_acls_req)
CODEC(da_resp, kp_describe_acls_resp, struct kp_describe_acls_resp)
CODEC(ca_req, kp_create_acls_req, struct kp_create_acls_req)
CODEC(ca_resp, kp_create_acls_resp, struct kp_create_acls_resp)
CODEC(dl_req, kp_delete_acls_req, struct kp_delete_acls_req)
CODEC(dl_resp, kp_delete_acls_resp, struct kp_delete_acls_resp)
CODEC(dq_req, kp_describe_client_quotas_req, struct kp_describe_client_quotas_req)
CODEC(dq_resp, kp_describe_client_quotas_resp, struct kp_describe_client_quotas_resp)
CODEC(aq_req, kp_alter_client_quotas_req, struct kp_alter_client_quotas_req)
CODEC(aq_resp, kp_alter_client_quotas_resp, struct kp_alter_client_quotas_resp)
CODEC(ds_req, kp_describe_user_scram_credentials_req, struct kp_describe_user_scram_credentials_req)
CODEC(ds_resp, kp_describe_user_scram_credentials_resp,
      struct kp_describe_user_scram_credentials_resp)
CODEC(as_req, kp_alter_user_scram_credentials_req, struct kp_alter_user_scram_credentials_req)
CODEC(as_resp, kp_alter_user_scram_credentials_resp, struct kp_alter_user_scram_credentials_resp)

#define ROW(k, lo, hi, v)                                                                          \
    {                                                                                              \
        k, lo, hi, v##_enc, v##_dec                                                                \
    }
static const struct codec codecs[] = {
    ROW(17, 0, 1, sh_req), ROW(17, 0, 1, sh_resp), ROW(36, 0, 2, sa_req), ROW(36, 0, 2, sa_resp),
    ROW(29, 0, 3, da_req), ROW(29, 0, 3, da_resp), ROW(30, 0, 3, ca_req), ROW(30, 0, 3, ca_resp),
    ROW(31, 0, 3, dl_req), ROW(31, 0, 3, dl_resp), ROW(48, 0, 1, dq_req), ROW(48, 0, 1, dq_resp),
    ROW(49, 0, 1, aq_req), ROW(49, 0, 1, aq_resp), ROW(50, 0, 0, ds_req), ROW(50, 0, 0, ds_resp),
    ROW(51, 0, 0, as_req), ROW(51, 0, 0, as_resp),
};
#define N_CODECS (sizeof codecs / sizeof codecs[0])

static void one(const struct codec *c, int16_t v, const uint8_t *body, size_t len)
{
    struct kp_arena arena;
    kp_arena_init(&arena, arena_mem1, sizeof arena_mem1);
    struct kp_rd rd;
    kp_rd_init(&rd, body, len);
    int rc = c->dec(&rd, v, &arena, out1);
    if (rc != 0) {
        if (rc != -EBADMSG && rc != -ENOMEM)
            abort();
        return;
    }
    struct kp_wr wr;
    kp_wr_init(&wr, enc1, sizeof enc1);
    rc = c->enc(&wr, v, out1);
    if (rc != 0) {
        /* A decoded message the encoder cannot write back: only a string longer than a
         * STRING may hold (compact lengths go further), or the buffer. */
        if (rc != -EINVAL && rc != -ENOSPC)
            abort();
        return;
    }
    size_t n1 = kp_wr_len(&wr);
    struct kp_arena a2;
    kp_arena_init(&a2, arena_mem2, sizeof arena_mem2);
    kp_rd_init(&rd, enc1, n1);
    if (c->dec(&rd, v, &a2, out2) != 0)
        abort();
    kp_wr_init(&wr, enc2, sizeof enc2);
    if (c->enc(&wr, v, out2) != 0 || kp_wr_len(&wr) != n1 || memcmp(enc1, enc2, n1) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int16_t key = data[0];
    bool known = false;
    for (size_t i = 0; i < N_CODECS; i++)
        known |= codecs[i].key == key;
    if (!known)
        key = codecs[data[0] % N_CODECS].key;
    for (size_t i = 0; i < N_CODECS; i++) {
        if (codecs[i].key != key)
            continue;
        for (int16_t v = codecs[i].lo; v <= codecs[i].hi; v++)
            one(&codecs[i], v, data + 1, size - 1);
    }
    return 0;
}
