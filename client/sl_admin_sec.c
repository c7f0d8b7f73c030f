/*
 * sl_admin_sec.c — the admin handle's security calls (splicelog.h, "admin: SCRAM credentials and
 * ACLs"): DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554, v0), CreateAcls,
 * DescribeAcls and DeleteAcls (v1-3: pattern types need v1). Each is one request to any broker
 * (sl__adm_any, sl__adm_ask of sl_admin_int.h), its results built in the handle's pool.
 *
 * Credentials: like Kafka's admin client, the password is turned into SaltedPassword here
 * (PBKDF2 with the mechanism's HMAC over a fresh 16-byte salt from RAND_bytes, sl_sasl.h), so the
 * request carries salt, iterations and SaltedPassword, never the password; the broker derives
 * StoredKey and ServerKey from it. The salted passwords are wiped once the request is encoded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "kp_msg_sec.h"
#include "sl_admin_int.h"
#include "sl_int.h"
#include "sl_sasl.h"

#define SALT_LEN  16
#define MAX_ITEMS 10000

SL__ADM_API(describe_user_scram_credentials, DESCRIBE_USER_SCRAM_CREDENTIALS, 0, 0);
SL__ADM_API(alter_user_scram_credentials, ALTER_USER_SCRAM_CREDENTIALS, 0, 0);
SL__ADM_API(create_acls, CREATE_ACLS, 1, 3);
SL__ADM_API(describe_acls, DESCRIBE_ACLS, 1, 3);
SL__ADM_API(delete_acls, DELETE_ACLS, 1, 3);

/* One request of api to any broker, its answer decoded into resp. 0 or -errno. */
static int ask(sl_admin *a, const struct sl__adm_api *api, const void *req, size_t guess,
               int timeout_ms, void *resp)
{
    int64_t deadline = sl__adm_deadline(a, timeout_ms);
    struct sl__conn *conn;
    int16_t v;
    int err = sl__adm_any(a, deadline, &conn);
    return err ? err : sl__adm_ask(a, conn, api, req, guess, deadline, resp, &v);
}

static sl_err done(sl_admin *a, int err)
{
    return err ? sl__err_from_errno(err) : sl__adm_done(a, SL_ERR_NO_ERROR);
}

static bool str_ok(const char *s) { return s && *s && strlen(s) <= 32767; }

/* ---- SCRAM credentials ----------------------------------------------------------------------- */

sl_err sl_admin_describe_user_scram_credentials(sl_admin *a, const char *const *users, size_t n,
                                                int timeout_ms,
                                                const sl_user_scram_credentials **out,
                                                size_t *out_cnt)
{
    if (!a || !out || !out_cnt || (n && !users) || n > MAX_ITEMS)
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *out = NULL;
    *out_cnt = 0;
    struct kp_str *names = sl__adm_alloc(a, (n + 1) * sizeof(*names));
    if (!names)
        return SL_ERR__NO_MEMORY;
    size_t guess = 16;
    for (size_t i = 0; i < n; i++) {
        if (!str_ok(users[i]))
            return SL_ERR__INVALID_ARG;
        names[i] = kp_str_of(users[i]);
        guess += 4 + strlen(users[i]);
    }
    struct kp_describe_user_scram_credentials_req req = {n ? (int32_t)n : -1, names};
    struct kp_describe_user_scram_credentials_resp resp;
    int err = ask(a, &api_describe_user_scram_credentials, &req, guess, timeout_ms, &resp);
    sl_err top = SL_ERR_NO_ERROR;
    if (!err && resp.error_code) {
        top = (sl_err)resp.error_code;
    } else if (!err) {
        size_t k = resp.n_results > 0 ? (size_t)resp.n_results : 0;
        sl_user_scram_credentials *u = sl__adm_alloc(a, (k + 1) * sizeof(*u));
        for (size_t i = 0; u && i < k; i++) {
            const struct kp_describe_user_scram_credentials_result *r = &resp.results[i];
            u[i].user = sl__adm_str(a, r->user, false);
            u[i].err = (sl_err)r->error_code;
            u[i].errmsg = sl__adm_str(a, r->error_message, false);
            size_t m = r->n_credential_infos > 0 ? (size_t)r->n_credential_infos : 0;
            sl_scram_credential_info *ci = sl__adm_alloc(a, (m + 1) * sizeof(*ci));
            for (size_t j = 0; ci && j < m; j++) {
                ci[j].mechanism = r->credential_infos[j].mechanism;
                ci[j].iterations = r->credential_infos[j].iterations;
            }
            u[i].credentials = ci;
            u[i].credential_cnt = ci ? m : 0;
        }
        *out = u;
        *out_cnt = u ? k : 0;
    }
    return top ? top : done(a, err);
}

static int mech_of(int scram)
{
    return scram == SL_SCRAM_SHA_256   ? SL__SASL_SCRAM_SHA_256
           : scram == SL_SCRAM_SHA_512 ? SL__SASL_SCRAM_SHA_512
                                       : 0;
}

/* Fills one upsertion: salt and SaltedPassword in the pool (wiped by the caller). */
static sl_err upsertion(sl_admin *a, const sl_scram_upsertion *in,
                        struct kp_scram_credential_upsertion *out)
{
    int32_t iters = in->iterations ? in->iterations : SL_SCRAM_MIN_ITERATIONS;
    int mech = mech_of(in->mechanism);
    if (!str_ok(in->user) || !in->password || !*in->password || !mech ||
        iters < SL__SCRAM_ITER_MIN || iters > SL__SCRAM_ITER_MAX)
        return SL_ERR__INVALID_ARG;
    uint8_t *salt = sl__adm_alloc(a, SALT_LEN);
    uint8_t *salted = sl__adm_alloc(a, 64);
    if (!salt || !salted)
        return SL_ERR__NO_MEMORY;
    size_t n = 0;
    if (RAND_bytes(salt, SALT_LEN) != 1 ||
        sl__scram_salted_password(mech, in->password, salt, SALT_LEN, iters, salted, 64, &n) != 0)
        return SL_ERR__FATAL;
    *out = (struct kp_scram_credential_upsertion){
        kp_str_of(in->user), (int8_t)in->mechanism, iters, {salt, SALT_LEN}, {salted, (int32_t)n}};
    return SL_ERR_NO_ERROR;
}

sl_err sl_admin_alter_user_scram_credentials(sl_admin *a, const sl_scram_upsertion *ups,
                                             size_t n_ups, const sl_scram_deletion *dels,
                                             size_t n_dels, int timeout_ms,
                                             const sl_admin_result **results, size_t *n_results)
{
    if (!a || !results || !n_results || (n_ups && !ups) || (n_dels && !dels) || n_ups > MAX_ITEMS ||
        n_dels > MAX_ITEMS || n_ups + n_dels == 0)
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *results = NULL;
    *n_results = 0;
    struct kp_scram_credential_upsertion *u = sl__adm_alloc(a, (n_ups + 1) * sizeof(*u));
    struct kp_scram_credential_deletion *d = sl__adm_alloc(a, (n_dels + 1) * sizeof(*d));
    if (!u || !d)
        return SL_ERR__NO_MEMORY;
    size_t guess = 32;
    sl_err e = SL_ERR_NO_ERROR;
    for (size_t i = 0; i < n_ups && !e; i++) {
        e = upsertion(a, &ups[i], &u[i]);
        guess += 128 + strlen(ups[i].user ? ups[i].user : "");
    }
    for (size_t i = 0; i < n_dels && !e; i++) {
        if (!str_ok(dels[i].user) || !mech_of(dels[i].mechanism))
            e = SL_ERR__INVALID_ARG;
        else
            d[i] = (struct kp_scram_credential_deletion){kp_str_of(dels[i].user),
                                                         (int8_t)dels[i].mechanism};
        guess += 16 + strlen(dels[i].user ? dels[i].user : "");
    }
    struct kp_alter_user_scram_credentials_req req = {(int32_t)n_dels, d, (int32_t)n_ups, u};
    struct kp_alter_user_scram_credentials_resp resp;
    int err = 0;
    if (!e)
        err = ask(a, &api_alter_user_scram_credentials, &req, guess, timeout_ms, &resp);
    for (size_t i = 0; i < n_ups; i++)
        if (u[i].salted_password.ptr)
            OPENSSL_cleanse((void *)u[i].salted_password.ptr, 64);
    if (e)
        return e;
    if (!err) {
        size_t k = resp.n_results > 0 ? (size_t)resp.n_results : 0;
        sl_admin_result *r = sl__adm_alloc(a, (k + 1) * sizeof(*r));
        for (size_t i = 0; r && i < k; i++) {
            r[i].name = sl__adm_str(a, resp.results[i].user, false);
            r[i].err = (sl_err)resp.results[i].error_code;
            r[i].errmsg = sl__adm_str(a, resp.results[i].error_message, false);
        }
        *results = r;
        *n_results = r ? k : 0;
    }
    return done(a, err);
}

/* ---- ACLs ------------------------------------------------------------------------------------ */

static struct kp_str opt_str(const char *s) { return s ? kp_str_of(s) : KP_STR_NULL; }

static struct kp_acl_filter to_filter(const sl_acl_binding *b)
{
    return (struct kp_acl_filter){(int8_t)b->resource_type,  opt_str(b->resource_name),
                                  (int8_t)b->pattern_type,   opt_str(b->principal),
                                  opt_str(b->host),          (int8_t)b->operation,
                                  (int8_t)b->permission_type};
}

static size_t binding_size(const sl_acl_binding *b)
{
    return 32 + (b->resource_name ? strlen(b->resource_name) : 0) +
           (b->principal ? strlen(b->principal) : 0) + (b->host ? strlen(b->host) : 0);
}

static bool binding_ok(const sl_acl_binding *b)
{
    return b->resource_type >= 0 && b->resource_type <= 127 && b->pattern_type >= 0 &&
           b->pattern_type <= 127 && b->operation >= 0 && b->operation <= 127 &&
           b->permission_type >= 0 && b->permission_type <= 127;
}

/* One binding of a response, copied into the pool. */
static void binding_out(sl_admin *a, sl_acl_binding *o, int8_t type, struct kp_str name,
                        int8_t pattern, struct kp_str principal, struct kp_str host, int8_t op,
                        int8_t perm)
{
    *o = (sl_acl_binding){type,
                          sl__adm_str(a, name, false),
                          pattern,
                          sl__adm_str(a, principal, false),
                          sl__adm_str(a, host, false),
                          op,
                          perm};
}

sl_err sl_admin_create_acls(sl_admin *a, const sl_acl_binding *acls, size_t n, int timeout_ms,
                            const sl_admin_result **results)
{
    if (!a || !results || !acls || n == 0 || n > MAX_ITEMS)
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *results = NULL;
    struct kp_acl_creation *cs = sl__adm_alloc(a, n * sizeof(*cs));
    if (!cs)
        return SL_ERR__NO_MEMORY;
    size_t guess = 16;
    for (size_t i = 0; i < n; i++) {
        if (!binding_ok(&acls[i]) || !acls[i].resource_name || !acls[i].principal || !acls[i].host)
            return SL_ERR__INVALID_ARG;
        struct kp_acl_filter f = to_filter(&acls[i]);
        cs[i] = (struct kp_acl_creation){f.resource_type,  f.resource_name, f.pattern_type,
                                         f.principal,      f.host,          f.operation,
                                         f.permission_type};
        guess += binding_size(&acls[i]);
    }
    struct kp_create_acls_req req = {(int32_t)n, cs};
    struct kp_create_acls_resp resp;
    int err = ask(a, &api_create_acls, &req, guess, timeout_ms, &resp);
    if (!err) {
        sl_admin_result *r = sl__adm_alloc(a, n * sizeof(*r));
        for (size_t i = 0; r && i < n; i++) {
            r[i].err = SL_ERR__BAD_MSG; /* the broker did not answer for it */
            r[i].errmsg = "";
            if (i < (size_t)(resp.n_results > 0 ? resp.n_results : 0)) {
                r[i].err = (sl_err)resp.results[i].error_code;
                r[i].errmsg = sl__adm_str(a, resp.results[i].error_message, false);
            }
        }
        *results = r;
    }
    return done(a, err);
}

sl_err sl_admin_describe_acls(sl_admin *a, const sl_acl_binding *filter, int timeout_ms,
                              const sl_acl_binding **out, size_t *n)
{
    if (!a || !filter || !out || !n || !binding_ok(filter))
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *out = NULL;
    *n = 0;
    struct kp_describe_acls_req req = {to_filter(filter)};
    struct kp_describe_acls_resp resp;
    int err = ask(a, &api_describe_acls, &req, binding_size(filter), timeout_ms, &resp);
    sl_err top = SL_ERR_NO_ERROR;
    if (!err && resp.error_code) {
        top = (sl_err)resp.error_code;
    } else if (!err) {
        size_t total = 0;
        for (int32_t i = 0; i < resp.n_resources; i++)
            total += resp.resources[i].n_acls > 0 ? (size_t)resp.resources[i].n_acls : 0;
        sl_acl_binding *b = sl__adm_alloc(a, (total + 1) * sizeof(*b));
        size_t k = 0;
        for (int32_t i = 0; b && i < resp.n_resources; i++) {
            const struct kp_describe_acls_resource *r = &resp.resources[i];
            for (int32_t j = 0; j < r->n_acls; j++)
                binding_out(a, &b[k++], r->resource_type, r->resource_name, r->pattern_type,
                            r->acls[j].principal, r->acls[j].host, r->acls[j].operation,
                            r->acls[j].permission_type);
        }
        *out = b;
        *n = b ? k : 0;
    }
    return top ? top : done(a, err);
}

sl_err sl_admin_delete_acls(sl_admin *a, const sl_acl_binding *filters, size_t n, int timeout_ms,
                            const sl_acl_binding **deleted, size_t *n_deleted)
{
    if (!a || !filters || !deleted || !n_deleted || n == 0 || n > MAX_ITEMS)
        return SL_ERR__INVALID_ARG;
    sl__adm_begin(a);
    *deleted = NULL;
    *n_deleted = 0;
    struct kp_acl_filter *fs = sl__adm_alloc(a, n * sizeof(*fs));
    if (!fs)
        return SL_ERR__NO_MEMORY;
    size_t guess = 16;
    for (size_t i = 0; i < n; i++) {
        if (!binding_ok(&filters[i]))
            return SL_ERR__INVALID_ARG;
        fs[i] = to_filter(&filters[i]);
        guess += binding_size(&filters[i]);
    }
    struct kp_delete_acls_req req = {(int32_t)n, fs};
    struct kp_delete_acls_resp resp;
    int err = ask(a, &api_delete_acls, &req, guess, timeout_ms, &resp);
    sl_err first = SL_ERR_NO_ERROR;
    if (!err) {
        size_t total = 0;
        for (int32_t i = 0; i < resp.n_filter_results; i++)
            total += resp.filter_results[i].n_matching_acls > 0
                         ? (size_t)resp.filter_results[i].n_matching_acls
                         : 0;
        sl_acl_binding *b = sl__adm_alloc(a, (total + 1) * sizeof(*b));
        size_t k = 0;
        for (int32_t i = 0; b && i < resp.n_filter_results; i++) {
            const struct kp_delete_acls_filter_result *fr = &resp.filter_results[i];
            if (fr->error_code && !first)
                first = (sl_err)fr->error_code;
            for (int32_t j = 0; j < fr->n_matching_acls; j++) {
                const struct kp_delete_acls_matching_acl *m = &fr->matching_acls[j];
                if (m->error_code) {
                    if (!first)
                        first = (sl_err)m->error_code;
                    continue;
                }
                binding_out(a, &b[k++], m->resource_type, m->resource_name, m->pattern_type,
                            m->principal, m->host, m->operation, m->permission_type);
            }
        }
        *deleted = b;
        *n_deleted = b ? k : 0;
    }
    return first ? first : done(a, err);
}
