/*
 * tb_group — see tb_group.h. Layouts (all non-flexible at these versions):
 *   FindCoordinator req  key STRING, key_type INT8 (v1+)
 *                   resp throttle INT32 (v1+), error INT16, error_message NSTRING (v1+),
 *                        node_id INT32, host STRING, port INT32
 *   JoinGroup req  group STRING, session INT32, rebalance INT32 (v1+), member STRING,
 *                  instance NSTRING (v5), protocol_type STRING, [name STRING, metadata BYTES]
 *             resp throttle (v2+), error, generation INT32, protocol STRING, leader STRING,
 *                  member STRING, [member STRING, instance NSTRING (v5), metadata BYTES]
 *   SyncGroup req  group, generation, member, instance NSTRING (v3), [member, assignment BYTES]
 *             resp throttle (v1+), error, assignment BYTES
 *   Heartbeat req  group, generation, member, instance NSTRING (v3); resp throttle (v1+), error
 *   LeaveGroup req group, member; resp throttle (v1), error
 */
#include "tb_group.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kp_api.h"
#include "kp_msg.h"

#define TB_GRP_ARENA (1 << 20)

static struct kp_str S(const char *s) {
    return kp_str_of(s ? s : "");
}

static struct kp_bytes
B(const char *s) {
    return (struct kp_bytes){(const uint8_t *)(s ? s : ""), (int32_t)(s ? strlen(s) : 0)};
}

void tb_enc_find_coordinator(struct tb_req *r, int16_t version, const char *key, int8_t key_type)
{
    kp_wr_str(&r->wr, S(key));
    if (version >= 1)
        kp_wr_i8(&r->wr, key_type);
}

void tb_enc_join_group(struct tb_req *r, int16_t version, const char *group, int32_t session_ms,
                       int32_t rebalance_ms, const char *member_id, const char *ptype, int n,
                       const struct tb_proto *protos)
{
    struct kp_wr *w = &r->wr;
    kp_wr_str(w, S(group));
    kp_wr_i32(w, session_ms);
    if (version >= 1)
        kp_wr_i32(w, rebalance_ms);
    kp_wr_str(w, S(member_id));
    if (version >= 5)
        kp_wr_nstr(w, KP_STR_NULL);
    kp_wr_str(w, S(ptype ? ptype : "consumer"));
    kp_wr_i32(w, n);
    for (int i = 0; i < n; i++) {
        kp_wr_str(w, S(protos[i].name));
        kp_wr_bytes(w, B(protos[i].metadata));
    }
}

void tb_enc_sync_group(struct tb_req *r, int16_t version, const char *group, int32_t generation,
                       const char *member_id, int n, const struct tb_assign *as)
{
    struct kp_wr *w = &r->wr;
    kp_wr_str(w, S(group));
    kp_wr_i32(w, generation);
    kp_wr_str(w, S(member_id));
    if (version >= 3)
        kp_wr_nstr(w, KP_STR_NULL);
    kp_wr_i32(w, n);
    for (int i = 0; i < n; i++) {
        kp_wr_str(w, S(as[i].member_id));
        kp_wr_bytes(w, B(as[i].assignment));
    }
}

void tb_enc_heartbeat(struct tb_req *r, int16_t version, const char *group, int32_t generation,
                      const char *member_id)
{
    kp_wr_str(&r->wr, S(group));
    kp_wr_i32(&r->wr, generation);
    kp_wr_str(&r->wr, S(member_id));
    if (version >= 3)
        kp_wr_nstr(&r->wr, KP_STR_NULL);
}

void tb_enc_leave_group(struct tb_req *r, int16_t version, const char *group, const char *member_id)
{
    (void)version;
    kp_wr_str(&r->wr, S(group));
    kp_wr_str(&r->wr, S(member_id));
}

/* ---- decoders ------------------------------------------------------------------------------ */

static void cp_str(char *dst, size_t cap, struct kp_str s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = 0;
}

static int32_t cp_bytes(char *dst, size_t cap, struct kp_bytes b)
{
    size_t n = b.len > 0 ? (size_t)b.len : 0;
    size_t k = n < cap - 1 ? n : cap - 1;
    if (k)
        memcpy(dst, b.ptr, k);
    dst[k] = 0;
    return b.len;
}

/* A reader after the correlation id. */
static int body(const struct tb_frame *f, struct kp_rd *rd)
{
    if (f->len < 4)
        return -EBADMSG;
    kp_rd_init(rd, f->data + 4, f->len - 4);
    return 0;
}

static int done(struct kp_rd *rd) { return kp_rd_ok(rd) && kp_rd_left(rd) == 0 ? 0 : -EBADMSG; }

int tb_dec_find_coordinator(const struct tb_frame *f, int16_t version,
                            struct tb_find_coordinator *out)
{
    struct kp_rd rd;
    if (body(f, &rd))
        return -EBADMSG;
    memset(out, 0, sizeof(*out));
    if (version >= 1)
        kp_rd_i32(&rd);
    out->error = kp_rd_i16(&rd);
    if (version >= 1)
        kp_rd_nstr(&rd);
    out->node_id = kp_rd_i32(&rd);
    cp_str(out->host, sizeof out->host, kp_rd_str(&rd));
    out->port = kp_rd_i32(&rd);
    return done(&rd);
}

int tb_dec_join_group(const struct tb_frame *f, int16_t version, struct tb_join *out)
{
    struct kp_rd rd;
    if (body(f, &rd))
        return -EBADMSG;
    memset(out, 0, sizeof(*out));
    if (version >= 2)
        kp_rd_i32(&rd);
    out->error = kp_rd_i16(&rd);
    out->generation = kp_rd_i32(&rd);
    cp_str(out->protocol, sizeof out->protocol, kp_rd_str(&rd));
    cp_str(out->leader, sizeof out->leader, kp_rd_str(&rd));
    cp_str(out->member_id, sizeof out->member_id, kp_rd_str(&rd));
    int32_t n = kp_rd_i32(&rd);
    if (!kp_rd_ok(&rd) || n < 0 || (size_t)n > kp_rd_left(&rd) / 6)
        return -EBADMSG;
    out->n_members = n;
    for (int32_t i = 0; i < n; i++) {
        struct kp_str id = kp_rd_str(&rd);
        if (version >= 5)
            kp_rd_nstr(&rd);
        struct kp_bytes meta = kp_rd_bytes(&rd);
        if (i < TB_GRP_MEMBERS) {
            cp_str(out->member[i].member_id, sizeof out->member[i].member_id, id);
            out->member[i].meta_len =
                cp_bytes(out->member[i].metadata, sizeof out->member[i].metadata, meta);
        }
    }
    return done(&rd);
}

int tb_dec_sync_group(const struct tb_frame *f, int16_t version, struct tb_sync *out)
{
    struct kp_rd rd;
    if (body(f, &rd))
        return -EBADMSG;
    memset(out, 0, sizeof(*out));
    if (version >= 1)
        kp_rd_i32(&rd);
    out->error = kp_rd_i16(&rd);
    out->len = cp_bytes(out->assignment, sizeof out->assignment, kp_rd_bytes(&rd));
    return done(&rd);
}

int tb_dec_group_error(const struct tb_frame *f, int16_t version, int16_t *error)
{
    struct kp_rd rd;
    if (body(f, &rd))
        return -EBADMSG;
    if (version >= 1)
        kp_rd_i32(&rd);
    *error = kp_rd_i16(&rd);
    return done(&rd);
}

int tb_group_codec_check(const struct tb_frame *f, int16_t api_key, int16_t version)
{
    struct kp_rd rd;
    kp_rd_init(&rd, f->data, f->len);
    int32_t corr;
    int rc = kp_resp_hdr_decode(&rd, api_key, version, &corr);
    if (rc)
        return rc;
    void *mem = malloc(TB_GRP_ARENA);
    if (!mem)
        return -ENOMEM;
    struct kp_arena a;
    kp_arena_init(&a, mem, TB_GRP_ARENA);
    switch (api_key) {
    case KP_API_FIND_COORDINATOR: {
        struct kp_find_coordinator_resp o;
        rc = kp_find_coordinator_resp_decode(&rd, version, &a, &o);
        break;
    }
    case KP_API_JOIN_GROUP: {
        struct kp_join_group_resp o;
        rc = kp_join_group_resp_decode(&rd, version, &a, &o);
        break;
    }
    case KP_API_SYNC_GROUP: {
        struct kp_sync_group_resp o;
        rc = kp_sync_group_resp_decode(&rd, version, &a, &o);
        break;
    }
    case KP_API_HEARTBEAT: {
        struct kp_heartbeat_resp o;
        rc = kp_heartbeat_resp_decode(&rd, version, &a, &o);
        break;
    }
    case KP_API_LEAVE_GROUP: {
        struct kp_leave_group_resp o;
        rc = kp_leave_group_resp_decode(&rd, version, &a, &o);
        break;
    }
    default:
        rc = -ENOTSUP;
    }
    free(mem);
    if (rc == 0 && kp_rd_left(&rd) != 0)
        rc = -EBADMSG;
    return rc;
}

/* ---- round trips --------------------------------------------------------------------------- */

/* Reads one frame with correlation id corr and checks it with both decoders. */
static int recv_checked(int fd, int32_t corr, int16_t key, int16_t version, struct tb_frame *f)
{
    int rc = tb_recv_frame(fd, f, 64 << 20);
    if (rc < 0)
        return rc;
    if (tb_frame_corr(f) != corr || tb_group_codec_check(f, key, version) != 0) {
        tb_frame_free(f);
        return -EPROTO;
    }
    return 0;
}

#define TB_SEND(fd, key, version, corr, cap, ENCODE)                                               \
    ({                                                                                             \
        struct tb_req r_;                                                                          \
        int rc_ = tb_req_begin(&r_, (cap), (key), (version), (corr));                              \
        if (rc_ == 0) {                                                                            \
            struct tb_req *r = &r_;                                                                \
            ENCODE;                                                                                \
            rc_ = tb_req_send((fd), &r_);                                                          \
            tb_req_free(&r_);                                                                      \
        }                                                                                          \
        rc_;                                                                                       \
    })

static size_t protos_size(int n, const struct tb_proto *p)
{
    size_t s = 1024;
    for (int i = 0; i < n; i++)
        s += 8 + strlen(p[i].name) + (p[i].metadata ? strlen(p[i].metadata) : 0);
    return s;
}

static size_t assign_size(int n, const struct tb_assign *as)
{
    size_t s = 1024;
    for (int i = 0; i < n; i++)
        s += 8 + strlen(as[i].member_id) + (as[i].assignment ? strlen(as[i].assignment) : 0);
    return s;
}

int tb_find_coordinator(int fd, int16_t version, int32_t corr, const char *key, int8_t key_type,
                        struct tb_find_coordinator *out)
{
    int rc = TB_SEND(fd, KP_API_FIND_COORDINATOR, version, corr, 1024 + (key ? strlen(key) : 0),
                     tb_enc_find_coordinator(r, version, key, key_type));
    struct tb_frame f;
    if (rc == 0)
        rc = recv_checked(fd, corr, KP_API_FIND_COORDINATOR, version, &f);
    if (rc == 0) {
        rc = tb_dec_find_coordinator(&f, version, out);
        tb_frame_free(&f);
    }
    return rc;
}

int tb_join_group_send(int fd, int16_t version, int32_t corr, const char *group, int32_t session_ms,
                       int32_t rebalance_ms, const char *member_id, int n,
                       const struct tb_proto *protos)
{
    return TB_SEND(
        fd, KP_API_JOIN_GROUP, version, corr, protos_size(n, protos),
        tb_enc_join_group(r, version, group, session_ms, rebalance_ms, member_id, NULL, n, protos));
}

int tb_join_group_recv(int fd, int16_t version, int32_t corr, struct tb_join *out)
{
    struct tb_frame f;
    int rc = recv_checked(fd, corr, KP_API_JOIN_GROUP, version, &f);
    if (rc == 0) {
        rc = tb_dec_join_group(&f, version, out);
        tb_frame_free(&f);
    }
    return rc;
}

int tb_join_group(int fd, int16_t version, int32_t corr, const char *group, int32_t session_ms,
                  int32_t rebalance_ms, const char *member_id, int n, const struct tb_proto *protos,
                  struct tb_join *out)
{
    int rc = tb_join_group_send(fd, version, corr, group, session_ms, rebalance_ms, member_id, n,
                                protos);
    return rc ? rc : tb_join_group_recv(fd, version, corr, out);
}

int tb_sync_group_send(int fd, int16_t version, int32_t corr, const char *group, int32_t generation,
                       const char *member_id, int n, const struct tb_assign *as)
{
    return TB_SEND(fd, KP_API_SYNC_GROUP, version, corr, assign_size(n, as),
                   tb_enc_sync_group(r, version, group, generation, member_id, n, as));
}

int tb_sync_group_recv(int fd, int16_t version, int32_t corr, struct tb_sync *out)
{
    struct tb_frame f;
    int rc = recv_checked(fd, corr, KP_API_SYNC_GROUP, version, &f);
    if (rc == 0) {
        rc = tb_dec_sync_group(&f, version, out);
        tb_frame_free(&f);
    }
    return rc;
}

int tb_sync_group(int fd, int16_t version, int32_t corr, const char *group, int32_t generation,
                  const char *member_id, int n, const struct tb_assign *as, struct tb_sync *out)
{
    int rc = tb_sync_group_send(fd, version, corr, group, generation, member_id, n, as);
    return rc ? rc : tb_sync_group_recv(fd, version, corr, out);
}

int tb_heartbeat(int fd, int16_t version, int32_t corr, const char *group, int32_t generation,
                 const char *member_id, int16_t *error)
{
    int rc = TB_SEND(fd, KP_API_HEARTBEAT, version, corr, 1024,
                     tb_enc_heartbeat(r, version, group, generation, member_id));
    struct tb_frame f;
    if (rc == 0)
        rc = recv_checked(fd, corr, KP_API_HEARTBEAT, version, &f);
    if (rc == 0) {
        rc = tb_dec_group_error(&f, version, error);
        tb_frame_free(&f);
    }
    return rc;
}

int tb_leave_group(int fd, int16_t version, int32_t corr, const char *group, const char *member_id,
                   int16_t *error)
{
    int rc = TB_SEND(fd, KP_API_LEAVE_GROUP, version, corr, 1024,
                     tb_enc_leave_group(r, version, group, member_id));
    struct tb_frame f;
    if (rc == 0)
        rc = recv_checked(fd, corr, KP_API_LEAVE_GROUP, version, &f);
    if (rc == 0) {
        rc = tb_dec_group_error(&f, version, error);
        tb_frame_free(&f);
    }
    return rc;
}
