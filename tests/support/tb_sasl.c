/*
 * tb_sasl — see tb_sasl.h.
 */
#include "tb_sasl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "kp_msg.h"
#include "kp_msg_sec.h"

static __thread uint8_t kc_mem[1 << 20];
static __thread const char *kc_client_id = "tb-sasl";

void tb_set_client_id(const char *id) { kc_client_id = id ? id : "tb-sasl"; }

static int32_t next_corr(void)
{
    static int32_t corr = 100000;
    return __atomic_fetch_add(&corr, 1, __ATOMIC_RELAXED);
}

static int build(struct kp_wr *wr, uint8_t *buf, size_t cap, int16_t key, int16_t version,
                 int32_t corr, tb_enc_fn enc, const void *msg)
{
    kp_wr_init(wr, buf, cap);
    size_t pos = kp_frame_begin(wr);
    struct kp_req_hdr h = {key, version, corr, kp_str_of(kc_client_id)};
    int rc = kp_req_hdr_encode(wr, &h);
    if (rc == 0 && enc)
        rc = enc(wr, version, msg);
    if (rc == 0)
        rc = kp_frame_end(wr, pos);
    return rc;
}

/* Requests up to 4 MiB, in a buffer of their own. */
#define REQ_CAP (4u << 20)
static uint8_t *req_buf(void) { return malloc(REQ_CAP); }

int tb_ksend(int fd, int16_t key, int16_t version, tb_enc_fn enc, const void *msg)
{
    uint8_t *buf = req_buf();
    if (!buf)
        return -ENOMEM;
    struct kp_wr wr;
    int rc = build(&wr, buf, REQ_CAP, key, version, next_corr(), enc, msg);
    if (rc == 0)
        rc = tb_send_all(fd, buf, kp_wr_len(&wr));
    free(buf);
    return rc;
}

int tb_kcall(int fd, int16_t key, int16_t version, tb_enc_fn enc, const void *msg, tb_dec_fn dec,
             void *out)
{
    uint8_t *buf = req_buf();
    if (!buf)
        return -ENOMEM;
    struct kp_wr wr;
    int32_t corr = next_corr();
    int rc = build(&wr, buf, REQ_CAP, key, version, corr, enc, msg);
    if (rc == 0)
        rc = tb_send_all(fd, buf, kp_wr_len(&wr));
    free(buf);
    if (rc)
        return rc;
    struct tb_frame f;
    rc = tb_recv_frame(fd, &f, 64 << 20);
    if (rc)
        return rc;
    struct kp_rd rd;
    kp_rd_init(&rd, f.data, f.len);
    int32_t got;
    rc = kp_resp_hdr_decode(&rd, key, version, &got);
    if (rc == 0 && got != corr)
        rc = -EPROTO;
    if (rc == 0) {
        struct kp_arena a;
        kp_arena_init(&a, kc_mem, sizeof kc_mem);
        /* views into the frame: copy it into the arena first so they outlive it */
        uint8_t *copy = kp_arena_alloc(&a, f.len ? f.len : 1, 1);
        if (!copy) {
            rc = -ENOMEM;
        } else {
            memcpy(copy, f.data, f.len);
            struct kp_rd rd2;
            kp_rd_init(&rd2, copy + (f.len - kp_rd_left(&rd)), kp_rd_left(&rd));
            rc = dec(&rd2, version, &a, out);
        }
    }
    tb_frame_free(&f);
    return rc;
}

int tb_kfetch(int fd, const char *topic, int32_t part, int64_t offset, struct kp_fetch_resp *out)
{
    struct kp_fetch_req_partition p = {.partition = part,
                                       .current_leader_epoch = -1,
                                       .fetch_offset = offset,
                                       .log_start_offset = -1,
                                       .partition_max_bytes = 1 << 20};
    struct kp_fetch_req_topic t = {.topic = kp_str_of(topic), .n_partitions = 1, .partitions = &p};
    struct kp_fetch_req req = {.replica_id = -1,
                               .max_wait_ms = 0,
                               .min_bytes = 1,
                               .max_bytes = 1 << 20,
                               .session_epoch = -1,
                               .n_topics = 1,
                               .topics = &t};
    return tb_kcall(fd, KP_API_FETCH, 11, TB_ENC(kp_fetch_req_encode), &req,
                    TB_DEC(kp_fetch_resp_decode), out);
}

/* ---- SASL ------------------------------------------------------------------------------------ */

int tb_alter_client_quota(int fd, const char *client, const char *key, double v)
{
    struct kp_quota_entity e = {kp_str_of("client-id"), kp_str_of(client)};
    struct kp_quota_op op = {kp_str_of(key), v, false};
    struct kp_alter_client_quotas_entry en = {1, &e, 1, &op};
    struct kp_alter_client_quotas_req req = {1, &en, false};
    struct kp_alter_client_quotas_resp resp;
    int rc = tb_kcall(fd, KP_API_ALTER_CLIENT_QUOTAS, 1, TB_ENC(kp_alter_client_quotas_req_encode),
                      &req, TB_DEC(kp_alter_client_quotas_resp_decode), &resp);
    if (rc < 0)
        return rc;
    return resp.n_entries >= 1 ? resp.entries[0].error_code : -EPROTO;
}

int tb_sasl_handshake(int fd, int16_t version, const char *mech)
{
    struct kp_sasl_handshake_req req = {kp_str_of(mech)};
    struct kp_sasl_handshake_resp resp;
    int rc = tb_kcall(fd, 17, version, TB_ENC(kp_sasl_handshake_req_encode), &req,
                      TB_DEC(kp_sasl_handshake_resp_decode), &resp);
    return rc < 0 ? rc : resp.error_code;
}

int tb_sasl_auth(int fd, int16_t version, const uint8_t *tok, size_t n, uint8_t *out, size_t cap,
                 size_t *out_len, int64_t *life_ms)
{
    struct kp_sasl_authenticate_req req = {{tok, (int32_t)n}};
    struct kp_sasl_authenticate_resp resp;
    int rc = tb_kcall(fd, 36, version, TB_ENC(kp_sasl_authenticate_req_encode), &req,
                      TB_DEC(kp_sasl_authenticate_resp_decode), &resp);
    if (rc < 0)
        return rc;
    size_t m = resp.auth_bytes.len > 0 ? (size_t)resp.auth_bytes.len : 0;
    if (out) {
        if (m >= cap)
            return -ENOSPC;
        memcpy(out, resp.auth_bytes.ptr, m);
        out[m] = 0;
        *out_len = m;
    }
    if (life_ms)
        *life_ms = resp.session_lifetime_ms;
    return resp.error_code;
}

/* ---- SCRAM (RFC 5802) ------------------------------------------------------------------------ */

static const EVP_MD *md_of(int sha) { return sha == 512 ? EVP_sha512() : EVP_sha256(); }

int tb_scram_first(struct tb_scram *s, const char *cnonce, char *out, size_t cap)
{
    if (cnonce) {
        snprintf(s->cnonce, sizeof s->cnonce, "%s", cnonce);
    } else {
        uint8_t r[18];
        RAND_bytes(r, sizeof r);
        EVP_EncodeBlock((unsigned char *)s->cnonce, r, sizeof r);
    }
    snprintf(s->first_bare, sizeof s->first_bare, "n=%s,r=%s", s->user, s->cnonce);
    int n = snprintf(out, cap, "n,,%s", s->first_bare);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

static const char *attr(const char *msg, size_t n, char a, size_t *len)
{
    const char *p = msg, *end = msg + n;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        if (e - p >= 2 && p[0] == a && p[1] == '=') {
            *len = (size_t)(e - p - 2);
            return p + 2;
        }
        p = comma ? comma + 1 : end;
    }
    return NULL;
}

int tb_scram_final(struct tb_scram *s, const char *sf, size_t n)
{
    size_t rl, sl, il;
    const char *r = attr(sf, n, 'r', &rl), *salt64 = attr(sf, n, 's', &sl),
               *it = attr(sf, n, 'i', &il);
    if (!r || !salt64 || !it || rl >= 256 || sl >= 256 || il >= 16)
        return -EBADMSG;
    uint8_t salt[256];
    char tmp[257];
    memcpy(tmp, salt64, sl);
    tmp[sl] = 0;
    int saltn = EVP_DecodeBlock(salt, (const unsigned char *)tmp, (int)sl);
    if (saltn < 0)
        return -EBADMSG;
    while (sl > 0 && tmp[sl - 1] == '=') {
        saltn--;
        sl--;
    }
    char its[16];
    memcpy(its, it, il);
    its[il] = 0;
    int iters = atoi(its);
    const EVP_MD *md = md_of(s->sha);
    unsigned kl = (unsigned)EVP_MD_size(md);
    uint8_t salted[64], ckey[64], skey_unused[64], stored[64], sig[64], proof[64];
    PKCS5_PBKDF2_HMAC(s->password, (int)strlen(s->password), salt, saltn, iters, md, (int)kl,
                      salted);
    unsigned l;
    HMAC(md, salted, (int)kl, (const uint8_t *)"Client Key", 10, ckey, &l);
    EVP_Digest(ckey, kl, stored, NULL, md, NULL);
    (void)skey_unused;
    char wo[512];
    snprintf(wo, sizeof wo, "c=biws,r=%.*s", (int)rl, r);
    char auth[2048];
    snprintf(auth, sizeof auth, "%s,%.*s,%s", s->first_bare, (int)n, sf, wo);
    HMAC(md, stored, (int)kl, (const uint8_t *)auth, strlen(auth), sig, &l);
    for (unsigned i = 0; i < kl; i++)
        proof[i] = ckey[i] ^ sig[i];
    char p64[128];
    EVP_EncodeBlock((unsigned char *)p64, proof, (int)kl);
    snprintf(s->final, sizeof s->final, "%s,p=%s", wo, p64);
    return 0;
}

int tb_sasl_login(int fd, const char *mech, const char *user, const char *password)
{
    int rc = tb_sasl_handshake(fd, 1, mech);
    if (rc)
        return rc;
    uint8_t out[2048];
    size_t out_len;
    if (strcmp(mech, "PLAIN") == 0) {
        char tok[512];
        int n = snprintf(tok, sizeof tok, "%c%s%c%s", 0, user, 0, password);
        return tb_sasl_auth(fd, 1, (const uint8_t *)tok, (size_t)n, out, sizeof out, &out_len,
                            NULL);
    }
    struct tb_scram s = {.sha = strstr(mech, "512") ? 512 : 256};
    snprintf(s.user, sizeof s.user, "%s", user);
    snprintf(s.password, sizeof s.password, "%s", password);
    char first[600];
    tb_scram_first(&s, NULL, first, sizeof first);
    rc =
        tb_sasl_auth(fd, 1, (const uint8_t *)first, strlen(first), out, sizeof out, &out_len, NULL);
    if (rc)
        return rc;
    if (tb_scram_final(&s, (const char *)out, out_len) < 0)
        return -EBADMSG;
    return tb_sasl_auth(fd, 1, (const uint8_t *)s.final, strlen(s.final), out, sizeof out, &out_len,
                        NULL);
}
