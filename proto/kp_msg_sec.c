/*
 * kp_msg_sec — the security and quota APIs (kp_msg_sec.h). Field lists, in wire order (flexible
 * versions use the compact form of every string, bytes and array, and end every struct,
 * the top level included, with a tag buffer):
 *
 * SaslHandshake req        mechanism STRING.
 * SaslHandshake resp       error_code int16, mechanisms [STRING].
 * SaslAuthenticate req     auth_bytes BYTES.
 * SaslAuthenticate resp    error_code int16, error_message NULLABLE_STRING, auth_bytes BYTES,
 *                          session_lifetime_ms int64 (v1+).
 * DescribeAcls req         resource_type int8, resource_name NULLABLE_STRING, pattern_type int8
 *                          (v1+), principal NULLABLE_STRING, host NULLABLE_STRING, operation
 *                          int8, permission_type int8.
 * DescribeAcls resp        throttle_time_ms int32, error_code int16, error_message
 *                          NULLABLE_STRING, resources ARRAY{resource_type int8, resource_name
 *                          STRING, pattern_type int8 (v1+), acls ARRAY{principal STRING, host
 *                          STRING, operation int8, permission_type int8}}.
 * CreateAcls req           creations ARRAY{resource_type int8, resource_name STRING,
 *                          pattern_type int8 (v1+), principal STRING, host STRING, operation
 *                          int8, permission_type int8}.
 * CreateAcls resp          throttle_time_ms int32, results ARRAY{error_code int16,
 *                          error_message NULLABLE_STRING}.
 * DeleteAcls req           filters ARRAY{the DescribeAcls request's fields}.
 * DeleteAcls resp          throttle_time_ms int32, filter_results ARRAY{error_code int16,
 *                          error_message NULLABLE_STRING, matching_acls ARRAY{error_code int16,
 *                          error_message NULLABLE_STRING, resource_type int8, resource_name
 *                          STRING, pattern_type int8 (v1+), principal STRING, host STRING,
 *                          operation int8, permission_type int8}}.
 * DescribeClientQuotas req components ARRAY{entity_type STRING, match_type int8, match
 *                          NULLABLE_STRING}, strict bool.
 * DescribeClientQuotas resp throttle_time_ms int32, error_code int16, error_message
 *                          NULLABLE_STRING, entries nullable ARRAY{entity ARRAY{entity_type
 *                          STRING, entity_name NULLABLE_STRING}, values ARRAY{key STRING,
 *                          value float64}}.
 * AlterClientQuotas req    entries ARRAY{entity ARRAY{entity_type STRING, entity_name
 *                          NULLABLE_STRING}, ops ARRAY{key STRING, value float64, remove
 *                          bool}}, validate_only bool.
 * AlterClientQuotas resp   throttle_time_ms int32, entries ARRAY{error_code int16,
 *                          error_message NULLABLE_STRING, entity ARRAY{entity_type STRING,
 *                          entity_name NULLABLE_STRING}}.
 * DescribeUserScramCredentials req   users nullable ARRAY{name STRING}.
 * DescribeUserScramCredentials resp  throttle_time_ms int32, error_code int16, error_message
 *                          NULLABLE_STRING, results ARRAY{user STRING, error_code int16,
 *                          error_message NULLABLE_STRING, credential_infos ARRAY{mechanism
 *                          int8, iterations int32}}.
 * AlterUserScramCredentials req      deletions ARRAY{name STRING, mechanism int8},
 *                          upsertions ARRAY{name STRING, mechanism int8, iterations int32,
 *                          salt BYTES, salted_password BYTES}.
 * AlterUserScramCredentials resp     throttle_time_ms int32, results ARRAY{user STRING,
 *                          error_code int16, error_message NULLABLE_STRING}.
 *
 * float64 is Java's writeDouble: the IEEE 754 bits as a big-endian int64, copied bit for bit.
 * Sources: apache/kafka clients/src/main/resources/common/message/<Name>{Request,Response}.json.
 */
#include "kp_msg_sec.h"
#include "kp_msg_int.h"
#include "kp_schema.h"

#include <string.h>

/* Smallest encodings, classic vs compact, for kp_rd_array's minimum element sizes. */
#define S_(f) ((size_t)((f) ? 1 : KP__STR))   /* STRING / NULLABLE_STRING */
#define B_(f) ((size_t)((f) ? 1 : KP__BYTES)) /* BYTES */
#define A_(f) ((size_t)((f) ? 1 : KP__ARRAY)) /* ARRAY count */
#define T_(f) ((size_t)((f) ? 1 : 0))         /* a struct's tag buffer */

/* ---- readers and writers that follow the version's encoding -------------------------------- */

static struct kp_str rd_str(struct kp_rd *rd, bool f) { return f ? kp_rd_cstr(rd) : kp_rd_str(rd); }
static struct kp_str rd_nstr(struct kp_rd *rd, bool f)
{
    return f ? kp_rd_cnstr(rd) : kp_rd_nstr(rd);
}
static struct kp_bytes rd_bytes(struct kp_rd *rd, bool f)
{
    return f ? kp_rd_cbytes(rd) : kp_rd_bytes(rd);
}
static int32_t rd_arr(struct kp_rd *rd, bool f, size_t min, bool nullable)
{
    return f ? kp_rd_carray(rd, min, nullable) : kp_rd_array(rd, min, nullable);
}
static void rd_tags(struct kp_rd *rd, bool f)
{
    if (f)
        kp_rd_tags(rd);
}
static double rd_f64(struct kp_rd *rd)
{
    uint64_t u = (uint64_t)kp_rd_i64(rd);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void wr_str(struct kp_wr *wr, bool f, struct kp_str s)
{
    if (f)
        kp_wr_cstr(wr, s);
    else
        kp_wr_str(wr, s);
}
static void wr_nstr(struct kp_wr *wr, bool f, struct kp_str s)
{
    if (f)
        kp_wr_cnstr(wr, s);
    else
        kp_wr_nstr(wr, s);
}
static void wr_bytes(struct kp_wr *wr, bool f, struct kp_bytes b)
{
    if (f)
        kp_wr_cbytes(wr, b);
    else
        kp_wr_bytes(wr, b);
}
static void wr_arr(struct kp_wr *wr, bool f, int32_t n)
{
    if (f)
        kp_wr_carray(wr, n);
    else
        kp_wr_array(wr, n);
}
static void wr_tags(struct kp_wr *wr, bool f)
{
    if (f)
        kp_wr_tags(wr);
}
static void wr_f64(struct kp_wr *wr, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    kp_wr_i64(wr, (int64_t)u);
}

/* ---- SaslHandshake -------------------------------------------------------------------------- */

#define SH_MIN 0
#define SH_MAX 1

int kp_sasl_handshake_req_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_sasl_handshake_req *req)
{
    if (!kp__ver_in(version, SH_MIN, SH_MAX) || !kp__str_ok(req->mechanism))
        return -EINVAL;
    kp_wr_str(wr, req->mechanism);
    return wr->err;
}

int kp_sasl_handshake_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_sasl_handshake_req *out)
{
    (void)arena;
    if (!kp__ver_in(version, SH_MIN, SH_MAX))
        return -EINVAL;
    out->mechanism = kp_rd_str(rd);
    return kp__rd_end(rd);
}

int kp_sasl_handshake_resp_encode(struct kp_wr *wr, int16_t version,
                                  const struct kp_sasl_handshake_resp *resp)
{
    if (!kp__ver_in(version, SH_MIN, SH_MAX) ||
        !kp__arr_ok(resp->n_mechanisms, resp->mechanisms, false))
        return -EINVAL;
    for (int32_t i = 0; i < resp->n_mechanisms; i++)
        if (!kp__str_ok(resp->mechanisms[i]))
            return -EINVAL;
    kp_wr_i16(wr, resp->error_code);
    kp_wr_array(wr, resp->n_mechanisms);
    for (int32_t i = 0; i < resp->n_mechanisms; i++)
        kp_wr_str(wr, resp->mechanisms[i]);
    return wr->err;
}

int kp_sasl_handshake_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                  struct kp_sasl_handshake_resp *out)
{
    if (!kp__ver_in(version, SH_MIN, SH_MAX))
        return -EINVAL;
    out->error_code = kp_rd_i16(rd);
    out->n_mechanisms = kp_rd_array(rd, KP__STR, false);
    struct kp_str *m = kp__rd_alloc(rd, arena, out->n_mechanisms, sizeof *m);
    out->mechanisms = m;
    for (int32_t i = 0; m && i < out->n_mechanisms; i++)
        m[i] = kp_rd_str(rd);
    return kp__rd_end(rd);
}

/* ---- SaslAuthenticate ----------------------------------------------------------------------- */

#define SA_MIN  0
#define SA_MAX  2
#define SA_FLEX 2

int kp_sasl_authenticate_req_encode(struct kp_wr *wr, int16_t version,
                                    const struct kp_sasl_authenticate_req *req)
{
    if (!kp__ver_in(version, SA_MIN, SA_MAX) || !kp__bytes_ok(req->auth_bytes))
        return -EINVAL;
    bool f = version >= SA_FLEX;
    wr_bytes(wr, f, req->auth_bytes);
    wr_tags(wr, f);
    return wr->err;
}

int kp_sasl_authenticate_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                    struct kp_sasl_authenticate_req *out)
{
    (void)arena;
    if (!kp__ver_in(version, SA_MIN, SA_MAX))
        return -EINVAL;
    bool f = version >= SA_FLEX;
    out->auth_bytes = rd_bytes(rd, f);
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

int kp_sasl_authenticate_resp_encode(struct kp_wr *wr, int16_t version,
                                     const struct kp_sasl_authenticate_resp *resp)
{
    if (!kp__ver_in(version, SA_MIN, SA_MAX) || !kp__str_ok(resp->error_message) ||
        !kp__bytes_ok(resp->auth_bytes))
        return -EINVAL;
    bool f = version >= SA_FLEX;
    kp_wr_i16(wr, resp->error_code);
    wr_nstr(wr, f, resp->error_message);
    wr_bytes(wr, f, resp->auth_bytes);
    if (version >= 1)
        kp_wr_i64(wr, resp->session_lifetime_ms);
    wr_tags(wr, f);
    return wr->err;
}

int kp_sasl_authenticate_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                     struct kp_sasl_authenticate_resp *out)
{
    (void)arena;
    if (!kp__ver_in(version, SA_MIN, SA_MAX))
        return -EINVAL;
    bool f = version >= SA_FLEX;
    out->error_code = kp_rd_i16(rd);
    out->error_message = rd_nstr(rd, f);
    out->auth_bytes = rd_bytes(rd, f);
    out->session_lifetime_ms = version >= 1 ? kp_rd_i64(rd) : 0;
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

/* ---- ACL pieces shared by the three ACL APIs ------------------------------------------------ */

#define ACL_MIN  0
#define ACL_MAX  3
#define ACL_FLEX 2

/* A pattern type this version can carry: v0 has LITERAL only. */
static bool pattern_ok(int16_t v, int8_t pattern_type)
{
    return v >= 1 || pattern_type == KP_ACL_PATTERN_LITERAL;
}

/* Smallest filter (without its tag buffer): type, name, principal, host, op, permission. */
static size_t filter_min(bool f) { return 1 + S_(f) + S_(f) + S_(f) + 1 + 1; }

static bool filter_ok(int16_t v, const struct kp_acl_filter *x)
{
    return kp__str_ok(x->resource_name) && kp__str_ok(x->principal) && kp__str_ok(x->host) &&
           pattern_ok(v, x->pattern_type);
}

static void wr_filter(struct kp_wr *wr, int16_t v, bool f, const struct kp_acl_filter *x)
{
    kp_wr_i8(wr, x->resource_type);
    wr_nstr(wr, f, x->resource_name);
    if (v >= 1)
        kp_wr_i8(wr, x->pattern_type);
    wr_nstr(wr, f, x->principal);
    wr_nstr(wr, f, x->host);
    kp_wr_i8(wr, x->operation);
    kp_wr_i8(wr, x->permission_type);
}

static void rd_filter(struct kp_rd *rd, int16_t v, bool f, struct kp_acl_filter *x)
{
    x->resource_type = kp_rd_i8(rd);
    x->resource_name = rd_nstr(rd, f);
    x->pattern_type = v >= 1 ? kp_rd_i8(rd) : KP_ACL_PATTERN_LITERAL;
    x->principal = rd_nstr(rd, f);
    x->host = rd_nstr(rd, f);
    x->operation = kp_rd_i8(rd);
    x->permission_type = kp_rd_i8(rd);
}

/* ---- DescribeAcls --------------------------------------------------------------------------- */

int kp_describe_acls_req_encode(struct kp_wr *wr, int16_t version,
                                const struct kp_describe_acls_req *req)
{
    if (!kp__ver_in(version, ACL_MIN, ACL_MAX) || !filter_ok(version, &req->filter))
        return -EINVAL;
    bool f = version >= ACL_FLEX;
    wr_filter(wr, version, f, &req->filter);
    wr_tags(wr, f);
    return wr->err;
}

int kp_describe_acls_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                struct kp_describe_acls_req *out)
{
    (void)arena;
    if (!kp__ver_in(version, ACL_MIN, ACL_MAX))
        return -EINVAL;
    bool f = version >= ACL_FLEX;
    rd_filter(rd, version, f, &out->filter);
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

static bool da_resp_ok(int16_t v, const struct kp_describe_acls_resp *r)
{
    if (!kp__str_ok(r->error_message) || !kp__arr_ok(r->n_resources, r->resources, false))
        return false;
    for (int32_t i = 0; i < r->n_resources; i++) {
        const struct kp_describe_acls_resource *res = &r->resources[i];
        if (!kp__str_ok(res->resource_name) || !pattern_ok(v, res->pattern_type) ||
            !kp__arr_ok(res->n_acls, res->acls, false))
            return false;
        for (int32_t j = 0; j < res->n_acls; j++)
            if (!kp__str_ok(res->acls[j].principal) || !kp__str_ok(res->acls[j].host))
                return false;
    }
    return true;
}

int kp_describe_acls_resp_encode(struct kp_wr *wr, int16_t version,
                                 const struct kp_describe_acls_resp *resp)
{
    if (!kp__ver_in(version, ACL_MIN, ACL_MAX) || !da_resp_ok(version, resp))
        return -EINVAL;
    bool f = version >= ACL_FLEX;
    kp_wr_i32(wr, resp->throttle_time_ms);
    kp_wr_i16(wr, resp->error_code);
    wr_nstr(wr, f, resp->error_message);
    wr_arr(wr, f, resp->n_resources);
    for (int32_t i = 0; i < resp->n_resources; i++) {
        const struct kp_describe_acls_resource *res = &resp->resources[i];
        kp_wr_i8(wr, res->resource_type);
        wr_str(wr, f, res->resource_name);
        if (version >= 1)
            kp_wr_i8(wr, res->pattern_type);
        wr_arr(wr, f, res->n_acls);
        for (int32_t j = 0; j < res->n_acls; j++) {
            wr_str(wr, f, res->acls[j].principal);
            wr_str(wr, f, res->acls[j].host);
            kp_wr_i8(wr, res->acls[j].operation);
            kp_wr_i8(wr, res->acls[j].permission_type);
            wr_tags(wr, f);
        }
        wr_tags(wr, f);
    }
    wr_tags(wr, f);
    return wr->err;
}

int kp_describe_acls_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                 struct kp_describe_acls_resp *out)
{
    if (!kp__ver_in(version, ACL_MIN, ACL_MAX))
        return -EINVAL;
    bool f = version >= ACL_FLEX;
    out->throttle_time_ms = kp_rd_i32(rd);
    out->error_code = kp_rd_i16(rd);
    out->error_message = rd_nstr(rd, f);
    out->n_resources = rd_arr(rd, f, 1 + S_(f) + A_(f) + T_(f), false);
    struct kp_describe_acls_resource *res = kp__rd_alloc(rd, arena, out->n_resources, sizeof *res);
    out->resources = res;
    for (int32_t i = 0; res && i < out->n_resources && kp_rd_ok(rd); i++) {
        res[i].resource_type = kp_rd_i8(rd);
        res[i].resource_name = rd_str(rd, f);
        res[i].pattern_type = version >= 1 ? kp_rd_i8(rd) : KP_ACL_PATTERN_LITERAL;
        res[i].n_acls = rd_arr(rd, f, 2 * S_(f) + 2 + T_(f), false);
        struct kp_acl_description *a = kp__rd_alloc(rd, arena, res[i].n_acls, sizeof *a);
        res[i].acls = a;
        for (int32_t j = 0; a && j < res[i].n_acls && kp_rd_ok(rd); j++) {
            a[j].principal = rd_str(rd, f);
            a[j].host = rd_str(rd, f);
            a[j].operation = kp_rd_i8(rd);
            a[j].permission_type = kp_rd_i8(rd);
            rd_tags(rd, f);
        }
        rd_tags(rd, f);
    }
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

/* ---- CreateAcls ----------------------------------------------------------------------------- */

static bool ca_req_ok(int16_t v, const struct kp_create_acls_req *r)
{
    if (!kp__arr_ok(r->n_creations, r->creations, false))
        return false;
    for (int32_t i = 0; i < r->n_creations; i++) {
        const struct kp_acl_creation *c = &r->creations[i];
        if (!kp__str_ok(c->resource_name) || !kp__str_ok(c->principal) || !kp__str_ok(c->host) ||
            !pattern_ok(v, c->pattern_type))
            return false;
    }
    return true;
}

int kp_create_acls_req_encode(struct kp_wr *wr, int16_t version,
                              const struct kp_create_acls_req *req)
{
    if (!kp__ver_in(version, ACL_MIN, ACL_MAX) || !ca_req_ok(version, req))
        return -EINVAL;
    bool f = version >= ACL_FLEX;
    wr_arr(wr, f, req->n_creations);
    for (int32_t i = 0; i < req->n_creations; i++) {
        const struct kp_acl_creation *c = &req->creations[i];
        kp_wr_i8(wr, c->resource_type);
        wr_str(wr, f, c->resource_name);
        if (version >= 1)
            kp_wr_i8(wr, c->pattern_type);
        wr_str(wr, f, c->principal);
        wr_str(wr, f, c->host);
        kp_wr_i8(wr, c->operation);
        kp_wr_i8(wr, c->permission_type);
        wr_tags(wr, f);
    }
    wr_tags(wr, f);
    return wr->err;
}

int kp_create_acls_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                              struct kp_create_acls_req *out)
{
    if (!kp__ver_in(version, ACL_MIN, ACL_MAX))
        return -EINVAL;
    bool f = version >= ACL_FLEX;
    out->n_creations = rd_arr(rd, f, filter_min(f) + T_(f), false);
    struct kp_acl_creation *c = kp__rd_alloc(rd, arena, out->n_creations, sizeof *c);
    out->creations = c;
    for (int32_t i = 0; c && i < out->n_creations && kp_rd_ok(rd); i++) {
        c[i].resource_type = kp_rd_i8(rd);
        c[i].resource_name = rd_str(rd, f);
        c[i].pattern_type = version >= 1 ? kp_rd_i8(rd) : KP_ACL_PATTERN_LITERAL;
        c[i].principal = rd_str(rd, f);
        c[i].host = rd_str(rd, f);
        c[i].operation = kp_rd_i8(rd);
        c[i].permission_type = kp_rd_i8(rd);
        rd_tags(rd, f);
    }
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

int kp_create_acls_resp_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_create_acls_resp *resp)
{
    if (!kp__ver_in(version, ACL_MIN, ACL_MAX) ||
        !kp__arr_ok(resp->n_results, resp->results, false))
        return -EINVAL;
    for (int32_t i = 0; i < resp->n_results; i++)
        if (!kp__str_ok(resp->results[i].error_message))
            return -EINVAL;
    bool f = version >= ACL_FLEX;
    kp_wr_i32(wr, resp->throttle_time_ms);
    wr_arr(wr, f, resp->n_results);
    for (int32_t i = 0; i < resp->n_results; i++) {
        kp_wr_i16(wr, resp->results[i].error_code);
        wr_nstr(wr, f, resp->results[i].error_message);
        wr_tags(wr, f);
    }
    wr_tags(wr, f);
    return wr->err;
}

int kp_create_acls_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_create_acls_resp *out)
{
    if (!kp__ver_in(version, ACL_MIN, ACL_MAX))
        return -EINVAL;
    bool f = version >= ACL_FLEX;
    out->throttle_time_ms = kp_rd_i32(rd);
    out->n_results = rd_arr(rd, f, 2 + S_(f) + T_(f), false);
    struct kp_acl_result *r = kp__rd_alloc(rd, arena, out->n_results, sizeof *r);
    out->results = r;
    for (int32_t i = 0; r && i < out->n_results && kp_rd_ok(rd); i++) {
        r[i].error_code = kp_rd_i16(rd);
        r[i].error_message = rd_nstr(rd, f);
        rd_tags(rd, f);
    }
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

/* ---- DeleteAcls ----------------------------------------------------------------------------- */

int kp_delete_acls_req_encode(struct kp_wr *wr, int16_t version,
                              const struct kp_delete_acls_req *req)
{
    if (!kp__ver_in(version, ACL_MIN, ACL_MAX) || !kp__arr_ok(req->n_filters, req->filters, false))
        return -EINVAL;
    for (int32_t i = 0; i < req->n_filters; i++)
        if (!filter_ok(version, &req->filters[i]))
            return -EINVAL;
    bool f = version >= ACL_FLEX;
    wr_arr(wr, f, req->n_filters);
    for (int32_t i = 0; i < req->n_filters; i++) {
        wr_filter(wr, version, f, &req->filters[i]);
        wr_tags(wr, f);
    }
    wr_tags(wr, f);
    return wr->err;
}

int kp_delete_acls_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                              struct kp_delete_acls_req *out)
{
    if (!kp__ver_in(version, ACL_MIN, ACL_MAX))
        return -EINVAL;
    bool f = version >= ACL_FLEX;
    out->n_filters = rd_arr(rd, f, filter_min(f) + T_(f), false);
    struct kp_acl_filter *x = kp__rd_alloc(rd, arena, out->n_filters, sizeof *x);
    out->filters = x;
    for (int32_t i = 0; x && i < out->n_filters && kp_rd_ok(rd); i++) {
        rd_filter(rd, version, f, &x[i]);
        rd_tags(rd, f);
    }
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

static bool dl_resp_ok(int16_t v, const struct kp_delete_acls_resp *r)
{
    if (!kp__arr_ok(r->n_filter_results, r->filter_results, false))
        return false;
    for (int32_t i = 0; i < r->n_filter_results; i++) {
        const struct kp_delete_acls_filter_result *fr = &r->filter_results[i];
        if (!kp__str_ok(fr->error_message) ||
            !kp__arr_ok(fr->n_matching_acls, fr->matching_acls, false))
            return false;
        for (int32_t j = 0; j < fr->n_matching_acls; j++) {
            const struct kp_delete_acls_matching_acl *m = &fr->matching_acls[j];
            if (!kp__str_ok(m->error_message) || !kp__str_ok(m->resource_name) ||
                !kp__str_ok(m->principal) || !kp__str_ok(m->host) ||
                !pattern_ok(v, m->pattern_type))
                return false;
        }
    }
    return true;
}

int kp_delete_acls_resp_encode(struct kp_wr *wr, int16_t version,
                               const struct kp_delete_acls_resp *resp)
{
    if (!kp__ver_in(version, ACL_MIN, ACL_MAX) || !dl_resp_ok(version, resp))
        return -EINVAL;
    bool f = version >= ACL_FLEX;
    kp_wr_i32(wr, resp->throttle_time_ms);
    wr_arr(wr, f, resp->n_filter_results);
    for (int32_t i = 0; i < resp->n_filter_results; i++) {
        const struct kp_delete_acls_filter_result *fr = &resp->filter_results[i];
        kp_wr_i16(wr, fr->error_code);
        wr_nstr(wr, f, fr->error_message);
        wr_arr(wr, f, fr->n_matching_acls);
        for (int32_t j = 0; j < fr->n_matching_acls; j++) {
            const struct kp_delete_acls_matching_acl *m = &fr->matching_acls[j];
            kp_wr_i16(wr, m->error_code);
            wr_nstr(wr, f, m->error_message);
            kp_wr_i8(wr, m->resource_type);
            wr_str(wr, f, m->resource_name);
            if (version >= 1)
                kp_wr_i8(wr, m->pattern_type);
            wr_str(wr, f, m->principal);
            wr_str(wr, f, m->host);
            kp_wr_i8(wr, m->operation);
            kp_wr_i8(wr, m->permission_type);
            wr_tags(wr, f);
        }
        wr_tags(wr, f);
    }
    wr_tags(wr, f);
    return wr->err;
}

int kp_delete_acls_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                               struct kp_delete_acls_resp *out)
{
    if (!kp__ver_in(version, ACL_MIN, ACL_MAX))
        return -EINVAL;
    bool f = version >= ACL_FLEX;
    out->throttle_time_ms = kp_rd_i32(rd);
    out->n_filter_results = rd_arr(rd, f, 2 + S_(f) + A_(f) + T_(f), false);
    struct kp_delete_acls_filter_result *fr =
        kp__rd_alloc(rd, arena, out->n_filter_results, sizeof *fr);
    out->filter_results = fr;
    for (int32_t i = 0; fr && i < out->n_filter_results && kp_rd_ok(rd); i++) {
        fr[i].error_code = kp_rd_i16(rd);
        fr[i].error_message = rd_nstr(rd, f);
        fr[i].n_matching_acls = rd_arr(rd, f, 2 + S_(f) + 1 + S_(f) + 2 * S_(f) + 2 + T_(f), false);
        struct kp_delete_acls_matching_acl *m =
            kp__rd_alloc(rd, arena, fr[i].n_matching_acls, sizeof *m);
        fr[i].matching_acls = m;
        for (int32_t j = 0; m && j < fr[i].n_matching_acls && kp_rd_ok(rd); j++) {
            m[j].error_code = kp_rd_i16(rd);
            m[j].error_message = rd_nstr(rd, f);
            m[j].resource_type = kp_rd_i8(rd);
            m[j].resource_name = rd_str(rd, f);
            m[j].pattern_type = version >= 1 ? kp_rd_i8(rd) : KP_ACL_PATTERN_LITERAL;
            m[j].principal = rd_str(rd, f);
            m[j].host = rd_str(rd, f);
            m[j].operation = kp_rd_i8(rd);
            m[j].permission_type = kp_rd_i8(rd);
            rd_tags(rd, f);
        }
        rd_tags(rd, f);
    }
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

/* ---- quota entities, shared by both quota APIs ---------------------------------------------- */

#define CQ_MIN  0
#define CQ_MAX  1
#define CQ_FLEX 1

static bool entity_ok(int32_t n, const struct kp_quota_entity *e)
{
    if (!kp__arr_ok(n, e, false))
        return false;
    for (int32_t i = 0; i < n; i++)
        if (!kp__str_ok(e[i].entity_type) || !kp__str_ok(e[i].entity_name))
            return false;
    return true;
}

static void wr_entity(struct kp_wr *wr, bool f, int32_t n, const struct kp_quota_entity *e)
{
    wr_arr(wr, f, n);
    for (int32_t i = 0; i < n; i++) {
        wr_str(wr, f, e[i].entity_type);
        wr_nstr(wr, f, e[i].entity_name);
        wr_tags(wr, f);
    }
}

static const struct kp_quota_entity *rd_entity(struct kp_rd *rd, bool f, struct kp_arena *arena,
                                               int32_t *n)
{
    *n = rd_arr(rd, f, 2 * S_(f) + T_(f), false);
    struct kp_quota_entity *e = kp__rd_alloc(rd, arena, *n, sizeof *e);
    for (int32_t i = 0; e && i < *n && kp_rd_ok(rd); i++) {
        e[i].entity_type = rd_str(rd, f);
        e[i].entity_name = rd_nstr(rd, f);
        rd_tags(rd, f);
    }
    return e;
}

/* ---- DescribeClientQuotas ------------------------------------------------------------------- */

int kp_describe_client_quotas_req_encode(struct kp_wr *wr, int16_t version,
                                         const struct kp_describe_client_quotas_req *req)
{
    if (!kp__ver_in(version, CQ_MIN, CQ_MAX) ||
        !kp__arr_ok(req->n_components, req->components, false))
        return -EINVAL;
    for (int32_t i = 0; i < req->n_components; i++)
        if (!kp__str_ok(req->components[i].entity_type) || !kp__str_ok(req->components[i].match))
            return -EINVAL;
    bool f = version >= CQ_FLEX;
    wr_arr(wr, f, req->n_components);
    for (int32_t i = 0; i < req->n_components; i++) {
        wr_str(wr, f, req->components[i].entity_type);
        kp_wr_i8(wr, req->components[i].match_type);
        wr_nstr(wr, f, req->components[i].match);
        wr_tags(wr, f);
    }
    kp_wr_bool(wr, req->strict);
    wr_tags(wr, f);
    return wr->err;
}

int kp_describe_client_quotas_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                         struct kp_describe_client_quotas_req *out)
{
    if (!kp__ver_in(version, CQ_MIN, CQ_MAX))
        return -EINVAL;
    bool f = version >= CQ_FLEX;
    out->n_components = rd_arr(rd, f, 2 * S_(f) + 1 + T_(f), false);
    struct kp_quota_filter_component *c = kp__rd_alloc(rd, arena, out->n_components, sizeof *c);
    out->components = c;
    for (int32_t i = 0; c && i < out->n_components && kp_rd_ok(rd); i++) {
        c[i].entity_type = rd_str(rd, f);
        c[i].match_type = kp_rd_i8(rd);
        c[i].match = rd_nstr(rd, f);
        rd_tags(rd, f);
    }
    out->strict = kp_rd_bool(rd);
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

static bool dq_resp_ok(const struct kp_describe_client_quotas_resp *r)
{
    if (!kp__str_ok(r->error_message) || !kp__arr_ok(r->n_entries, r->entries, true))
        return false;
    for (int32_t i = 0; i < r->n_entries; i++) {
        const struct kp_describe_client_quotas_entry *e = &r->entries[i];
        if (!entity_ok(e->n_entity, e->entity) || !kp__arr_ok(e->n_values, e->values, false))
            return false;
        for (int32_t j = 0; j < e->n_values; j++)
            if (!kp__str_ok(e->values[j].key))
                return false;
    }
    return true;
}

int kp_describe_client_quotas_resp_encode(struct kp_wr *wr, int16_t version,
                                          const struct kp_describe_client_quotas_resp *resp)
{
    if (!kp__ver_in(version, CQ_MIN, CQ_MAX) || !dq_resp_ok(resp))
        return -EINVAL;
    bool f = version >= CQ_FLEX;
    kp_wr_i32(wr, resp->throttle_time_ms);
    kp_wr_i16(wr, resp->error_code);
    wr_nstr(wr, f, resp->error_message);
    wr_arr(wr, f, resp->n_entries);
    for (int32_t i = 0; i < resp->n_entries; i++) {
        const struct kp_describe_client_quotas_entry *e = &resp->entries[i];
        wr_entity(wr, f, e->n_entity, e->entity);
        wr_arr(wr, f, e->n_values);
        for (int32_t j = 0; j < e->n_values; j++) {
            wr_str(wr, f, e->values[j].key);
            wr_f64(wr, e->values[j].value);
            wr_tags(wr, f);
        }
        wr_tags(wr, f);
    }
    wr_tags(wr, f);
    return wr->err;
}

int kp_describe_client_quotas_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                          struct kp_describe_client_quotas_resp *out)
{
    if (!kp__ver_in(version, CQ_MIN, CQ_MAX))
        return -EINVAL;
    bool f = version >= CQ_FLEX;
    out->throttle_time_ms = kp_rd_i32(rd);
    out->error_code = kp_rd_i16(rd);
    out->error_message = rd_nstr(rd, f);
    out->n_entries = rd_arr(rd, f, 2 * A_(f) + T_(f), true);
    struct kp_describe_client_quotas_entry *e = kp__rd_alloc(rd, arena, out->n_entries, sizeof *e);
    out->entries = e;
    for (int32_t i = 0; e && i < out->n_entries && kp_rd_ok(rd); i++) {
        e[i].entity = rd_entity(rd, f, arena, &e[i].n_entity);
        e[i].n_values = rd_arr(rd, f, S_(f) + 8 + T_(f), false);
        struct kp_quota_value *qv = kp__rd_alloc(rd, arena, e[i].n_values, sizeof *qv);
        e[i].values = qv;
        for (int32_t j = 0; qv && j < e[i].n_values && kp_rd_ok(rd); j++) {
            qv[j].key = rd_str(rd, f);
            qv[j].value = rd_f64(rd);
            rd_tags(rd, f);
        }
        rd_tags(rd, f);
    }
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

/* ---- AlterClientQuotas ---------------------------------------------------------------------- */

static bool aq_req_ok(const struct kp_alter_client_quotas_req *r)
{
    if (!kp__arr_ok(r->n_entries, r->entries, false))
        return false;
    for (int32_t i = 0; i < r->n_entries; i++) {
        const struct kp_alter_client_quotas_entry *e = &r->entries[i];
        if (!entity_ok(e->n_entity, e->entity) || !kp__arr_ok(e->n_ops, e->ops, false))
            return false;
        for (int32_t j = 0; j < e->n_ops; j++)
            if (!kp__str_ok(e->ops[j].key))
                return false;
    }
    return true;
}

int kp_alter_client_quotas_req_encode(struct kp_wr *wr, int16_t version,
                                      const struct kp_alter_client_quotas_req *req)
{
    if (!kp__ver_in(version, CQ_MIN, CQ_MAX) || !aq_req_ok(req))
        return -EINVAL;
    bool f = version >= CQ_FLEX;
    wr_arr(wr, f, req->n_entries);
    for (int32_t i = 0; i < req->n_entries; i++) {
        const struct kp_alter_client_quotas_entry *e = &req->entries[i];
        wr_entity(wr, f, e->n_entity, e->entity);
        wr_arr(wr, f, e->n_ops);
        for (int32_t j = 0; j < e->n_ops; j++) {
            wr_str(wr, f, e->ops[j].key);
            wr_f64(wr, e->ops[j].value);
            kp_wr_bool(wr, e->ops[j].remove);
            wr_tags(wr, f);
        }
        wr_tags(wr, f);
    }
    kp_wr_bool(wr, req->validate_only);
    wr_tags(wr, f);
    return wr->err;
}

int kp_alter_client_quotas_req_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                      struct kp_alter_client_quotas_req *out)
{
    if (!kp__ver_in(version, CQ_MIN, CQ_MAX))
        return -EINVAL;
    bool f = version >= CQ_FLEX;
    out->n_entries = rd_arr(rd, f, 2 * A_(f) + T_(f), false);
    struct kp_alter_client_quotas_entry *e = kp__rd_alloc(rd, arena, out->n_entries, sizeof *e);
    out->entries = e;
    for (int32_t i = 0; e && i < out->n_entries && kp_rd_ok(rd); i++) {
        e[i].entity = rd_entity(rd, f, arena, &e[i].n_entity);
        e[i].n_ops = rd_arr(rd, f, S_(f) + 8 + 1 + T_(f), false);
        struct kp_quota_op *op = kp__rd_alloc(rd, arena, e[i].n_ops, sizeof *op);
        e[i].ops = op;
        for (int32_t j = 0; op && j < e[i].n_ops && kp_rd_ok(rd); j++) {
            op[j].key = rd_str(rd, f);
            op[j].value = rd_f64(rd);
            op[j].remove = kp_rd_bool(rd);
            rd_tags(rd, f);
        }
        rd_tags(rd, f);
    }
    out->validate_only = kp_rd_bool(rd);
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

int kp_alter_client_quotas_resp_encode(struct kp_wr *wr, int16_t version,
                                       const struct kp_alter_client_quotas_resp *resp)
{
    if (!kp__ver_in(version, CQ_MIN, CQ_MAX) || !kp__arr_ok(resp->n_entries, resp->entries, false))
        return -EINVAL;
    for (int32_t i = 0; i < resp->n_entries; i++)
        if (!kp__str_ok(resp->entries[i].error_message) ||
            !entity_ok(resp->entries[i].n_entity, resp->entries[i].entity))
            return -EINVAL;
    bool f = version >= CQ_FLEX;
    kp_wr_i32(wr, resp->throttle_time_ms);
    wr_arr(wr, f, resp->n_entries);
    for (int32_t i = 0; i < resp->n_entries; i++) {
        const struct kp_alter_client_quotas_result *e = &resp->entries[i];
        kp_wr_i16(wr, e->error_code);
        wr_nstr(wr, f, e->error_message);
        wr_entity(wr, f, e->n_entity, e->entity);
        wr_tags(wr, f);
    }
    wr_tags(wr, f);
    return wr->err;
}

int kp_alter_client_quotas_resp_decode(struct kp_rd *rd, int16_t version, struct kp_arena *arena,
                                       struct kp_alter_client_quotas_resp *out)
{
    if (!kp__ver_in(version, CQ_MIN, CQ_MAX))
        return -EINVAL;
    bool f = version >= CQ_FLEX;
    out->throttle_time_ms = kp_rd_i32(rd);
    out->n_entries = rd_arr(rd, f, 2 + S_(f) + A_(f) + T_(f), false);
    struct kp_alter_client_quotas_result *e = kp__rd_alloc(rd, arena, out->n_entries, sizeof *e);
    out->entries = e;
    for (int32_t i = 0; e && i < out->n_entries && kp_rd_ok(rd); i++) {
        e[i].error_code = kp_rd_i16(rd);
        e[i].error_message = rd_nstr(rd, f);
        e[i].entity = rd_entity(rd, f, arena, &e[i].n_entity);
        rd_tags(rd, f);
    }
    rd_tags(rd, f);
    return kp__rd_end(rd);
}

/* ---- DescribeUserScramCredentials (always flexible) ----------------------------------------- */

#define SC_MIN 0
#define SC_MAX 0

int kp_describe_user_scram_credentials_req_encode(
    struct kp_wr *wr, int16_t version, const struct kp_describe_user_scram_credentials_req *req)
{
    if (!kp__ver_in(version, SC_MIN, SC_MAX) || !kp__arr_ok(req->n_users, req->users, true))
        return -EINVAL;
    for (int32_t i = 0; i < req->n_users; i++)
        if (!kp__str_ok(req->users[i]))
            return -EINVAL;
    kp_wr_carray(wr, req->n_users);
    for (int32_t i = 0; i < req->n_users; i++) {
        kp_wr_cstr(wr, req->users[i]);
        kp_wr_tags(wr);
    }
    kp_wr_tags(wr);
    return wr->err;
}

int kp_describe_user_scram_credentials_req_decode(
    struct kp_rd *rd, int16_t version, struct kp_arena *arena,
    struct kp_describe_user_scram_credentials_req *out)
{
    if (!kp__ver_in(version, SC_MIN, SC_MAX))
        return -EINVAL;
    out->n_users = kp_rd_carray(rd, 2, true);
    struct kp_str *u = kp__rd_alloc(rd, arena, out->n_users, sizeof *u);
    out->users = u;
    for (int32_t i = 0; u && i < out->n_users && kp_rd_ok(rd); i++) {
        u[i] = kp_rd_cstr(rd);
        kp_rd_tags(rd);
    }
    kp_rd_tags(rd);
    return kp__rd_end(rd);
}

static bool ds_resp_ok(const struct kp_describe_user_scram_credentials_resp *r)
{
    if (!kp__str_ok(r->error_message) || !kp__arr_ok(r->n_results, r->results, false))
        return false;
    for (int32_t i = 0; i < r->n_results; i++) {
        const struct kp_describe_user_scram_credentials_result *x = &r->results[i];
        if (!kp__str_ok(x->user) || !kp__str_ok(x->error_message) ||
            !kp__arr_ok(x->n_credential_infos, x->credential_infos, false))
            return false;
    }
    return true;
}

int kp_describe_user_scram_credentials_resp_encode(
    struct kp_wr *wr, int16_t version, const struct kp_describe_user_scram_credentials_resp *resp)
{
    if (!kp__ver_in(version, SC_MIN, SC_MAX) || !ds_resp_ok(resp))
        return -EINVAL;
    kp_wr_i32(wr, resp->throttle_time_ms);
    kp_wr_i16(wr, resp->error_code);
    kp_wr_cnstr(wr, resp->error_message);
    kp_wr_carray(wr, resp->n_results);
    for (int32_t i = 0; i < resp->n_results; i++) {
        const struct kp_describe_user_scram_credentials_result *x = &resp->results[i];
        kp_wr_cstr(wr, x->user);
        kp_wr_i16(wr, x->error_code);
        kp_wr_cnstr(wr, x->error_message);
        kp_wr_carray(wr, x->n_credential_infos);
        for (int32_t j = 0; j < x->n_credential_infos; j++) {
            kp_wr_i8(wr, x->credential_infos[j].mechanism);
            kp_wr_i32(wr, x->credential_infos[j].iterations);
            kp_wr_tags(wr);
        }
        kp_wr_tags(wr);
    }
    kp_wr_tags(wr);
    return wr->err;
}

int kp_describe_user_scram_credentials_resp_decode(
    struct kp_rd *rd, int16_t version, struct kp_arena *arena,
    struct kp_describe_user_scram_credentials_resp *out)
{
    if (!kp__ver_in(version, SC_MIN, SC_MAX))
        return -EINVAL;
    out->throttle_time_ms = kp_rd_i32(rd);
    out->error_code = kp_rd_i16(rd);
    out->error_message = kp_rd_cnstr(rd);
    out->n_results = kp_rd_carray(rd, 1 + 2 + 1 + 1 + 1, false);
    struct kp_describe_user_scram_credentials_result *x =
        kp__rd_alloc(rd, arena, out->n_results, sizeof *x);
    out->results = x;
    for (int32_t i = 0; x && i < out->n_results && kp_rd_ok(rd); i++) {
        x[i].user = kp_rd_cstr(rd);
        x[i].error_code = kp_rd_i16(rd);
        x[i].error_message = kp_rd_cnstr(rd);
        x[i].n_credential_infos = kp_rd_carray(rd, 1 + 4 + 1, false);
        struct kp_scram_credential_info *ci =
            kp__rd_alloc(rd, arena, x[i].n_credential_infos, sizeof *ci);
        x[i].credential_infos = ci;
        for (int32_t j = 0; ci && j < x[i].n_credential_infos && kp_rd_ok(rd); j++) {
            ci[j].mechanism = kp_rd_i8(rd);
            ci[j].iterations = kp_rd_i32(rd);
            kp_rd_tags(rd);
        }
        kp_rd_tags(rd);
    }
    kp_rd_tags(rd);
    return kp__rd_end(rd);
}

/* ---- AlterUserScramCredentials (always flexible) -------------------------------------------- */

static bool as_req_ok(const struct kp_alter_user_scram_credentials_req *r)
{
    if (!kp__arr_ok(r->n_deletions, r->deletions, false) ||
        !kp__arr_ok(r->n_upsertions, r->upsertions, false))
        return false;
    for (int32_t i = 0; i < r->n_deletions; i++)
        if (!kp__str_ok(r->deletions[i].name))
            return false;
    for (int32_t i = 0; i < r->n_upsertions; i++) {
        const struct kp_scram_credential_upsertion *u = &r->upsertions[i];
        if (!kp__str_ok(u->name) || !kp__bytes_ok(u->salt) || !kp__bytes_ok(u->salted_password))
            return false;
    }
    return true;
}

int kp_alter_user_scram_credentials_req_encode(
    struct kp_wr *wr, int16_t version, const struct kp_alter_user_scram_credentials_req *req)
{
    if (!kp__ver_in(version, SC_MIN, SC_MAX) || !as_req_ok(req))
        return -EINVAL;
    kp_wr_carray(wr, req->n_deletions);
    for (int32_t i = 0; i < req->n_deletions; i++) {
        kp_wr_cstr(wr, req->deletions[i].name);
        kp_wr_i8(wr, req->deletions[i].mechanism);
        kp_wr_tags(wr);
    }
    kp_wr_carray(wr, req->n_upsertions);
    for (int32_t i = 0; i < req->n_upsertions; i++) {
        const struct kp_scram_credential_upsertion *u = &req->upsertions[i];
        kp_wr_cstr(wr, u->name);
        kp_wr_i8(wr, u->mechanism);
        kp_wr_i32(wr, u->iterations);
        kp_wr_cbytes(wr, u->salt);
        kp_wr_cbytes(wr, u->salted_password);
        kp_wr_tags(wr);
    }
    kp_wr_tags(wr);
    return wr->err;
}

int kp_alter_user_scram_credentials_req_decode(struct kp_rd *rd, int16_t version,
                                               struct kp_arena *arena,
                                               struct kp_alter_user_scram_credentials_req *out)
{
    if (!kp__ver_in(version, SC_MIN, SC_MAX))
        return -EINVAL;
    out->n_deletions = kp_rd_carray(rd, 1 + 1 + 1, false);
    struct kp_scram_credential_deletion *d = kp__rd_alloc(rd, arena, out->n_deletions, sizeof *d);
    out->deletions = d;
    for (int32_t i = 0; d && i < out->n_deletions && kp_rd_ok(rd); i++) {
        d[i].name = kp_rd_cstr(rd);
        d[i].mechanism = kp_rd_i8(rd);
        kp_rd_tags(rd);
    }
    out->n_upsertions = kp_rd_carray(rd, 1 + 1 + 4 + 1 + 1 + 1, false);
    struct kp_scram_credential_upsertion *u = kp__rd_alloc(rd, arena, out->n_upsertions, sizeof *u);
    out->upsertions = u;
    for (int32_t i = 0; u && i < out->n_upsertions && kp_rd_ok(rd); i++) {
        u[i].name = kp_rd_cstr(rd);
        u[i].mechanism = kp_rd_i8(rd);
        u[i].iterations = kp_rd_i32(rd);
        u[i].salt = kp_rd_cbytes(rd);
        u[i].salted_password = kp_rd_cbytes(rd);
        kp_rd_tags(rd);
    }
    kp_rd_tags(rd);
    return kp__rd_end(rd);
}

int kp_alter_user_scram_credentials_resp_encode(
    struct kp_wr *wr, int16_t version, const struct kp_alter_user_scram_credentials_resp *resp)
{
    if (!kp__ver_in(version, SC_MIN, SC_MAX) || !kp__arr_ok(resp->n_results, resp->results, false))
        return -EINVAL;
    for (int32_t i = 0; i < resp->n_results; i++)
        if (!kp__str_ok(resp->results[i].user) || !kp__str_ok(resp->results[i].error_message))
            return -EINVAL;
    kp_wr_i32(wr, resp->throttle_time_ms);
    kp_wr_carray(wr, resp->n_results);
    for (int32_t i = 0; i < resp->n_results; i++) {
        kp_wr_cstr(wr, resp->results[i].user);
        kp_wr_i16(wr, resp->results[i].error_code);
        kp_wr_cnstr(wr, resp->results[i].error_message);
        kp_wr_tags(wr);
    }
    kp_wr_tags(wr);
    return wr->err;
}

int kp_alter_user_scram_credentials_resp_decode(struct kp_rd *rd, int16_t version,
                                                struct kp_arena *arena,
                                                struct kp_alter_user_scram_credentials_resp *out)
{
    if (!kp__ver_in(version, SC_MIN, SC_MAX))
        return -EINVAL;
    out->throttle_time_ms = kp_rd_i32(rd);
    out->n_results = kp_rd_carray(rd, 1 + 2 + 1 + 1, false);
    struct kp_alter_user_scram_credentials_result *r =
        kp__rd_alloc(rd, arena, out->n_results, sizeof *r);
    out->results = r;
    for (int32_t i = 0; r && i < out->n_results && kp_rd_ok(rd); i++) {
        r[i].user = kp_rd_cstr(rd);
        r[i].error_code = kp_rd_i16(rd);
        r[i].error_message = kp_rd_cnstr(rd);
        kp_rd_tags(rd);
    }
    kp_rd_tags(rd);
    return kp__rd_end(rd);
}

/* The rows of KP_API_LIST these codecs serve: written by hand, so their tables have no bodies
 * (kp_schema.h). */
const struct kp__api kp__api_sasl_handshake = {KP__INFO(SASL_HANDSHAKE), NULL, NULL};
const struct kp__api kp__api_describe_acls = {KP__INFO(DESCRIBE_ACLS), NULL, NULL};
const struct kp__api kp__api_create_acls = {KP__INFO(CREATE_ACLS), NULL, NULL};
const struct kp__api kp__api_delete_acls = {KP__INFO(DELETE_ACLS), NULL, NULL};
const struct kp__api kp__api_sasl_authenticate = {KP__INFO(SASL_AUTHENTICATE), NULL, NULL};
const struct kp__api kp__api_describe_client_quotas = {KP__INFO(DESCRIBE_CLIENT_QUOTAS), NULL,
                                                       NULL};
const struct kp__api kp__api_alter_client_quotas = {KP__INFO(ALTER_CLIENT_QUOTAS), NULL, NULL};
const struct kp__api kp__api_describe_user_scram_credentials = {
    KP__INFO(DESCRIBE_USER_SCRAM_CREDENTIALS), NULL, NULL};
const struct kp__api kp__api_alter_user_scram_credentials = {KP__INFO(ALTER_USER_SCRAM_CREDENTIALS),
                                                             NULL, NULL};
