/*
 * test_kp_msg_sec — the security and quota codecs (proto/kp_msg_sec.c): SaslHandshake 0-1,
 * SaslAuthenticate 0-2, DescribeAcls / CreateAcls / DeleteAcls 0-3, DescribeClientQuotas and
 * AlterClientQuotas 0-1, DescribeUserScramCredentials and AlterUserScramCredentials 0. Every
 * message at every version goes through tm_check (encode, every strict prefix rejected,
 * hostile counts, trailing byte, decode, smaller arenas, encode(decode(x)) == x) with its
 * fields compared; golden bytes written by hand from Kafka's JSON schemas at a classic and a
 * flexible version of each; v0's LITERAL-only rule; forged counts rejected before the arena
 * grows; float64 bit for bit.
 */
#include "test_kp_msg_common.h"

#include "kp_msg_sec.h"
#include "tb_check.h"

TM_CODEC(c_sh_req, kp_sasl_handshake_req, struct kp_sasl_handshake_req, 0, 1);
TM_CODEC(c_sh_resp, kp_sasl_handshake_resp, struct kp_sasl_handshake_resp, 0, 1);
TM_CODEC(c_sa_req, kp_sasl_authenticate_req, struct kp_sasl_authenticate_req, 0, 2);
TM_CODEC(c_sa_resp, kp_sasl_authenticate_resp, struct kp_sasl_authenticate_resp, 0, 2);
TM_CODEC(c_da_req, kp_describe_acls_req, struct kp_describe_acls_req, 0, 3);
TM_CODEC(c_da_resp, kp_describe_acls_resp, struct kp_describe_acls_resp, 0, 3);
TM_CODEC(c_ca_req, kp_create_acls_req, struct kp_create_acls_req, 0, 3);
TM_CODEC(c_ca_resp, kp_create_acls_resp, struct kp_create_acls_resp, 0, 3);
TM_CODEC(c_dl_req, kp_delete_acls_req, struct kp_delete_acls_req, 0, 3);
TM_CODEC(c_dl_resp, kp_delete_acls_resp, struct kp_delete_acls_resp, 0, 3);
TM_CODEC(c_dq_req, kp_describe_client_quotas_req, struct kp_describe_client_quotas_req, 0, 1);
TM_CODEC(c_dq_resp, kp_describe_client_quotas_resp, struct kp_describe_client_quotas_resp, 0, 1);
TM_CODEC(c_aq_req, kp_alter_client_quotas_req, struct kp_alter_client_quotas_req, 0, 1);
TM_CODEC(c_aq_resp, kp_alter_client_quotas_resp, struct kp_alter_client_quotas_resp, 0, 1);
TM_CODEC(c_ds_req, kp_describe_user_scram_credentials_req,
         struct kp_describe_user_scram_credentials_req, 0, 0);
TM_CODEC(c_ds_resp, kp_describe_user_scram_credentials_resp,
         struct kp_describe_user_scram_credentials_resp, 0, 0);
TM_CODEC(c_as_req, kp_alter_user_scram_credentials_req, struct kp_alter_user_scram_credentials_req,
         0, 0);
TM_CODEC(c_as_resp, kp_alter_user_scram_credentials_resp,
         struct kp_alter_user_scram_credentials_resp, 0, 0);

/* Encode msg at v into buf; returns the length (the encode must succeed). */
static size_t enc(const struct tm_codec *c, int16_t v, const void *msg)
{
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    int rc = c->enc(&wr, v, msg);
    ck_assert_msg(rc == 0, "%s v%d: %d", c->name, v, rc);
    return kp_wr_len(&wr);
}

/* Encode must refuse msg at v with -EINVAL and write nothing. */
static void enc_refused(const struct tm_codec *c, int16_t v, const void *msg)
{
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(c->enc(&wr, v, msg), -EINVAL);
    ck_assert_uint_eq(kp_wr_len(&wr), 0);
}

/* ---- SASL ----------------------------------------------------------------------------------- */

START_TEST(test_sasl_handshake)
{
    struct kp_sasl_handshake_req req = {TM_S("SCRAM-SHA-512")};
    struct kp_str mechs[] = {TM_S("PLAIN"), TM_S("SCRAM-SHA-256")};
    struct kp_sasl_handshake_resp resp = {0, 2, mechs};
    for (int16_t v = 0; v <= 1; v++) {
        struct kp_sasl_handshake_req o;
        struct kp_arena a;
        ck_assert_uint_eq(tm_check(&c_sh_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem), 15);
        tm_str_eq(o.mechanism, req.mechanism);
        struct kp_sasl_handshake_resp r;
        tm_check(&c_sh_resp, v, &resp, &r, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(r.error_code, 0);
        ck_assert_int_eq(r.n_mechanisms, 2);
        tm_str_eq(r.mechanisms[0], mechs[0]);
        tm_str_eq(r.mechanisms[1], mechs[1]);
    }
    tm_check_bad_versions(&c_sh_req, &req);
    tm_check_bad_versions(&c_sh_resp, &resp);

    struct kp_sasl_handshake_req plain = {TM_S("PLAIN")};
    EXPECT_BYTES(buf, enc(&c_sh_req, 1, &plain), 0, 5, 'P', 'L', 'A', 'I', 'N');
    EXPECT_BYTES(buf, enc(&c_sh_resp, 1, &resp), 0, 0, /* error_code */
                 0, 0, 0, 2,                           /* mechanisms: 2 */
                 0, 5, 'P', 'L', 'A', 'I', 'N', 0, 13, 'S', 'C', 'R', 'A', 'M', '-', 'S', 'H', 'A',
                 '-', '2', '5', '6');
    /* UNSUPPORTED_SASL_MECHANISM with no mechanisms listed. */
    struct kp_sasl_handshake_resp none = {KP_ERR_UNSUPPORTED_SASL_MECHANISM, 0, NULL};
    EXPECT_BYTES(buf, enc(&c_sh_resp, 0, &none), 0, 33, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_sasl_authenticate)
{
    struct kp_sasl_authenticate_req req = {TM_B("n,,n=user,r=abc")};
    struct kp_sasl_authenticate_resp resp = {KP_ERR_NONE, KP_STR_NULL,
                                             TM_B("r=abcdef,s=c2FsdA==,i=4096"), 3600000};
    static const size_t req_len[] = {19, 19, 17};
    static const size_t resp_len[] = {34, 42, 39};
    for (int16_t v = 0; v <= 2; v++) {
        struct kp_arena a;
        struct kp_sasl_authenticate_req o;
        ck_assert_uint_eq(tm_check(&c_sa_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem),
                          req_len[v]);
        tm_bytes_eq(o.auth_bytes, req.auth_bytes);
        struct kp_sasl_authenticate_resp r;
        ck_assert_uint_eq(tm_check(&c_sa_resp, v, &resp, &r, buf, &a, out_mem, sizeof out_mem),
                          resp_len[v]);
        ck_assert_int_eq(r.error_code, 0);
        tm_str_null(r.error_message);
        tm_bytes_eq(r.auth_bytes, resp.auth_bytes);
        ck_assert_int_eq(r.session_lifetime_ms, v >= 1 ? 3600000 : 0);
    }
    tm_check_bad_versions(&c_sa_req, &req);
    tm_check_bad_versions(&c_sa_resp, &resp);

    struct kp_sasl_authenticate_req ab = {TM_B("ab")};
    EXPECT_BYTES(buf, enc(&c_sa_req, 0, &ab), 0, 0, 0, 2, 'a', 'b');
    EXPECT_BYTES(buf, enc(&c_sa_req, 2, &ab), 3, 'a', 'b', 0 /* tags */);

    struct kp_sasl_authenticate_resp ok = {0, KP_STR_NULL, TM_B("v"), 3600000};
    EXPECT_BYTES(buf, enc(&c_sa_resp, 0, &ok), 0, 0, 0xff, 0xff, 0, 0, 0, 1, 'v');
    EXPECT_BYTES(buf, enc(&c_sa_resp, 1, &ok), 0, 0, 0xff, 0xff, 0, 0, 0, 1, 'v', /* lifetime */
                 0, 0, 0, 0, 0, 0x36, 0xee, 0x80);
    struct kp_sasl_authenticate_resp bad = {58 /* SASL_AUTHENTICATION_FAILED */, TM_S("bad"),
                                            TM_B(""), 0};
    EXPECT_BYTES(buf, enc(&c_sa_resp, 2, &bad), 0, 58, /* SASL_AUTHENTICATION_FAILED */
                 4, 'b', 'a', 'd',                     /* compact nullable string */
                 1,                                    /* empty compact bytes */
                 0, 0, 0, 0, 0, 0, 0, 0,               /* session_lifetime_ms */
                 0);                                   /* tags */

    /* A null request token is written as empty; decoding gives an empty view. */
    struct kp_sasl_authenticate_req nul = {KP_BYTES_NULL};
    EXPECT_BYTES(buf, enc(&c_sa_req, 2, &nul), 1, 0);
    /* Compact bytes of "null" (0) are not BYTES: refused. */
    static const uint8_t null_bytes[] = {0, 0};
    struct kp_sasl_authenticate_req o;
    struct kp_arena a;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    struct kp_rd rd;
    kp_rd_init(&rd, null_bytes, sizeof null_bytes);
    ck_assert_int_eq(kp_sasl_authenticate_req_decode(&rd, 2, &a, &o), -EBADMSG);
}
END_TEST

/* ---- ACLs ----------------------------------------------------------------------------------- */

START_TEST(test_create_acls)
{
    struct kp_acl_creation cr[] = {
        {KP_ACL_RESOURCE_TOPIC, TM_S("orders"), KP_ACL_PATTERN_LITERAL, TM_S("User:alice"),
         TM_S("*"), KP_ACL_OP_READ, KP_ACL_PERM_ALLOW},
        {KP_ACL_RESOURCE_GROUP, TM_S("g-"), KP_ACL_PATTERN_LITERAL, TM_S("User:*"),
         TM_S("10.0.0.1"), KP_ACL_OP_ALL, KP_ACL_PERM_DENY},
    };
    struct kp_create_acls_req req = {2, cr};
    struct kp_acl_result res[] = {{0, KP_STR_NULL}, {KP_ERR_INVALID_REQUEST, TM_S("bad")}};
    struct kp_create_acls_resp resp = {5, 2, res};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_arena a;
        cr[1].pattern_type = v >= 1 ? KP_ACL_PATTERN_PREFIXED : KP_ACL_PATTERN_LITERAL;
        struct kp_create_acls_req o;
        tm_check(&c_ca_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_creations, 2);
        for (int i = 0; i < 2; i++) {
            ck_assert_int_eq(o.creations[i].resource_type, cr[i].resource_type);
            tm_str_eq(o.creations[i].resource_name, cr[i].resource_name);
            ck_assert_int_eq(o.creations[i].pattern_type, cr[i].pattern_type);
            tm_str_eq(o.creations[i].principal, cr[i].principal);
            tm_str_eq(o.creations[i].host, cr[i].host);
            ck_assert_int_eq(o.creations[i].operation, cr[i].operation);
            ck_assert_int_eq(o.creations[i].permission_type, cr[i].permission_type);
        }
        struct kp_create_acls_resp r;
        tm_check(&c_ca_resp, v, &resp, &r, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(r.throttle_time_ms, 5);
        ck_assert_int_eq(r.n_results, 2);
        tm_str_null(r.results[0].error_message);
        ck_assert_int_eq(r.results[1].error_code, KP_ERR_INVALID_REQUEST);
        tm_str_eq(r.results[1].error_message, res[1].error_message);
    }
    tm_check_bad_versions(&c_ca_req, &req);
    tm_check_bad_versions(&c_ca_resp, &resp);

    /* v0 carries LITERAL only. */
    cr[1].pattern_type = KP_ACL_PATTERN_PREFIXED;
    enc_refused(&c_ca_req, 0, &req);

    struct kp_acl_creation one = {KP_ACL_RESOURCE_TOPIC, TM_S("t"), KP_ACL_PATTERN_LITERAL,
                                  TM_S("User:a"),        TM_S("*"), KP_ACL_OP_READ,
                                  KP_ACL_PERM_ALLOW};
    struct kp_create_acls_req r1 = {1, &one};
    EXPECT_BYTES(buf, enc(&c_ca_req, 0, &r1), 0, 0, 0, 1, /* creations: 1 */
                 2,                                       /* resource_type TOPIC */
                 0, 1, 't',                               /* resource_name */
                 0, 6, 'U', 's', 'e', 'r', ':', 'a',      /* principal */
                 0, 1, '*',                               /* host */
                 3, 3);                                   /* READ, ALLOW */
    one.pattern_type = KP_ACL_PATTERN_PREFIXED;
    EXPECT_BYTES(buf, enc(&c_ca_req, 2, &r1), 2, /* compact count 1 */
                 2, 2, 't', 4,                   /* type, name, PREFIXED */
                 7, 'U', 's', 'e', 'r', ':', 'a', 2, '*', 3, 3, 0 /* creation tags */,
                 0 /* request tags */);

    struct kp_acl_result ok = {0, KP_STR_NULL};
    struct kp_create_acls_resp rr = {0, 1, &ok};
    EXPECT_BYTES(buf, enc(&c_ca_resp, 1, &rr), 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff);
    EXPECT_BYTES(buf, enc(&c_ca_resp, 3, &rr), 0, 0, 0, 0, 2, 0, 0, 0 /* null */, 0, 0);
}
END_TEST

START_TEST(test_describe_acls)
{
    struct kp_describe_acls_req req = {{KP_ACL_RESOURCE_TOPIC, TM_S("orders"),
                                        KP_ACL_PATTERN_LITERAL, KP_STR_NULL, TM_S("*"),
                                        KP_ACL_OP_ANY, KP_ACL_PERM_ANY}};
    struct kp_acl_description d1[] = {
        {TM_S("User:alice"), TM_S("*"), KP_ACL_OP_READ, KP_ACL_PERM_ALLOW},
        {TM_S("User:bob"), TM_S("10.1.2.3"), KP_ACL_OP_WRITE, KP_ACL_PERM_DENY}};
    struct kp_describe_acls_resource rs[] = {
        {KP_ACL_RESOURCE_TOPIC, TM_S("orders"), KP_ACL_PATTERN_LITERAL, 2, d1},
        {KP_ACL_RESOURCE_CLUSTER, TM_S("kafka-cluster"), KP_ACL_PATTERN_LITERAL, 0, NULL}};
    struct kp_describe_acls_resp resp = {0, 0, KP_STR_NULL, 2, rs};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_arena a;
        req.filter.pattern_type = v >= 1 ? KP_ACL_PATTERN_MATCH : KP_ACL_PATTERN_LITERAL;
        struct kp_describe_acls_req o;
        tm_check(&c_da_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.filter.resource_type, KP_ACL_RESOURCE_TOPIC);
        tm_str_eq(o.filter.resource_name, req.filter.resource_name);
        ck_assert_int_eq(o.filter.pattern_type, req.filter.pattern_type);
        tm_str_null(o.filter.principal);
        tm_str_eq(o.filter.host, req.filter.host);
        ck_assert_int_eq(o.filter.operation, KP_ACL_OP_ANY);
        ck_assert_int_eq(o.filter.permission_type, KP_ACL_PERM_ANY);

        rs[0].pattern_type = v >= 1 ? KP_ACL_PATTERN_PREFIXED : KP_ACL_PATTERN_LITERAL;
        struct kp_describe_acls_resp r;
        tm_check(&c_da_resp, v, &resp, &r, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(r.n_resources, 2);
        ck_assert_int_eq(r.resources[0].pattern_type, rs[0].pattern_type);
        ck_assert_int_eq(r.resources[0].n_acls, 2);
        tm_str_eq(r.resources[0].acls[1].host, d1[1].host);
        ck_assert_int_eq(r.resources[0].acls[1].operation, KP_ACL_OP_WRITE);
        ck_assert_int_eq(r.resources[0].acls[1].permission_type, KP_ACL_PERM_DENY);
        tm_str_eq(r.resources[1].resource_name, rs[1].resource_name);
        ck_assert_int_eq(r.resources[1].n_acls, 0);
    }
    tm_check_bad_versions(&c_da_req, &req);
    tm_check_bad_versions(&c_da_resp, &resp);
    req.filter.pattern_type = KP_ACL_PATTERN_ANY;
    enc_refused(&c_da_req, 0, &req);
    enc_refused(&c_da_resp, 0, &resp); /* rs[0] is PREFIXED */

    /* Everything: ANY with null strings. */
    struct kp_describe_acls_req any = {{KP_ACL_RESOURCE_ANY, KP_STR_NULL, KP_ACL_PATTERN_ANY,
                                        KP_STR_NULL, KP_STR_NULL, KP_ACL_OP_ANY, KP_ACL_PERM_ANY}};
    EXPECT_BYTES(buf, enc(&c_da_req, 1, &any), 1, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff, 1, 1);
    EXPECT_BYTES(buf, enc(&c_da_req, 2, &any), 1, 0, 1, 0, 0, 1, 1, 0);

    struct kp_acl_description d = {TM_S("User:a"), TM_S("*"), KP_ACL_OP_WRITE, KP_ACL_PERM_ALLOW};
    struct kp_describe_acls_resource one = {KP_ACL_RESOURCE_TOPIC, TM_S("t"),
                                            KP_ACL_PATTERN_LITERAL, 1, &d};
    struct kp_describe_acls_resp r1 = {0, 0, KP_STR_NULL, 1, &one};
    EXPECT_BYTES(buf, enc(&c_da_resp, 2, &r1), 0, 0, 0, 0,         /* throttle_time_ms */
                 0, 0, 0,                                          /* error_code, null message */
                 2,                                                /* resources: 1 */
                 2, 2, 't', 3,                                     /* TOPIC "t" LITERAL */
                 2,                                                /* acls: 1 */
                 7, 'U', 's', 'e', 'r', ':', 'a', 2, '*', 4, 3, 0, /* acl + tags */
                 0,                                                /* resource tags */
                 0);                                               /* response tags */
    EXPECT_BYTES(buf, enc(&c_da_resp, 0, &r1), 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1, 2, 0, 1,
                 't', 0, 0, 0, 1, 0, 6, 'U', 's', 'e', 'r', ':', 'a', 0, 1, '*', 4, 3);
}
END_TEST

START_TEST(test_delete_acls)
{
    struct kp_acl_filter fl[] = {{KP_ACL_RESOURCE_TOPIC, TM_S("t"), KP_ACL_PATTERN_LITERAL,
                                  KP_STR_NULL, KP_STR_NULL, KP_ACL_OP_ANY, KP_ACL_PERM_ANY},
                                 {KP_ACL_RESOURCE_ANY, KP_STR_NULL, KP_ACL_PATTERN_LITERAL,
                                  TM_S("User:bob"), TM_S("*"), KP_ACL_OP_WRITE, KP_ACL_PERM_DENY}};
    struct kp_delete_acls_req req = {2, fl};
    struct kp_delete_acls_matching_acl m[] = {
        {0, KP_STR_NULL, KP_ACL_RESOURCE_TOPIC, TM_S("t"), KP_ACL_PATTERN_LITERAL, TM_S("User:a"),
         TM_S("*"), KP_ACL_OP_READ, KP_ACL_PERM_ALLOW},
        {0, KP_STR_NULL, KP_ACL_RESOURCE_TOPIC, TM_S("t"), KP_ACL_PATTERN_LITERAL, TM_S("User:b"),
         TM_S("*"), KP_ACL_OP_WRITE, KP_ACL_PERM_ALLOW}};
    struct kp_delete_acls_filter_result fr[] = {{0, KP_STR_NULL, 2, m},
                                                {KP_ERR_INVALID_REQUEST, TM_S("no"), 0, NULL}};
    struct kp_delete_acls_resp resp = {0, 2, fr};
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_arena a;
        fl[1].pattern_type = v >= 1 ? KP_ACL_PATTERN_ANY : KP_ACL_PATTERN_LITERAL;
        m[1].pattern_type = v >= 1 ? KP_ACL_PATTERN_PREFIXED : KP_ACL_PATTERN_LITERAL;
        struct kp_delete_acls_req o;
        tm_check(&c_dl_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_filters, 2);
        tm_str_eq(o.filters[0].resource_name, fl[0].resource_name);
        tm_str_null(o.filters[0].principal);
        tm_str_null(o.filters[1].resource_name);
        ck_assert_int_eq(o.filters[1].pattern_type, fl[1].pattern_type);
        tm_str_eq(o.filters[1].principal, fl[1].principal);
        struct kp_delete_acls_resp r;
        tm_check(&c_dl_resp, v, &resp, &r, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(r.n_filter_results, 2);
        ck_assert_int_eq(r.filter_results[0].n_matching_acls, 2);
        ck_assert_int_eq(r.filter_results[0].matching_acls[1].pattern_type, m[1].pattern_type);
        tm_str_eq(r.filter_results[0].matching_acls[1].principal, m[1].principal);
        ck_assert_int_eq(r.filter_results[1].error_code, KP_ERR_INVALID_REQUEST);
        tm_str_eq(r.filter_results[1].error_message, fr[1].error_message);
    }
    tm_check_bad_versions(&c_dl_req, &req);
    tm_check_bad_versions(&c_dl_resp, &resp);
    enc_refused(&c_dl_req, 0, &req);   /* fl[1] is ANY */
    enc_refused(&c_dl_resp, 0, &resp); /* m[1] is PREFIXED */

    struct kp_delete_acls_req one = {1, fl};
    EXPECT_BYTES(buf, enc(&c_dl_req, 2, &one), 2, /* filters: 1 */
                 2, 2, 't', 3,                    /* TOPIC "t" LITERAL */
                 0, 0,                            /* principal, host: null */
                 1, 1,                            /* ANY, ANY */
                 0, 0);                           /* filter tags, request tags */
    struct kp_delete_acls_filter_result f1 = {0, KP_STR_NULL, 1, m};
    struct kp_delete_acls_resp r1 = {0, 1, &f1};
    EXPECT_BYTES(buf, enc(&c_dl_resp, 1, &r1), 0, 0, 0, 0, /* throttle */
                 0, 0, 0, 1, 0, 0, 0xff, 0xff,             /* 1 result: error 0, null */
                 0, 0, 0, 1, 0, 0, 0xff, 0xff,             /* 1 matching acl: error 0, null */
                 2, 0, 1, 't', 3,                          /* TOPIC "t" LITERAL */
                 0, 6, 'U', 's', 'e', 'r', ':', 'a', 0, 1, '*', 3, 3);
}
END_TEST

/* ---- client quotas -------------------------------------------------------------------------- */

START_TEST(test_describe_client_quotas)
{
    struct kp_quota_filter_component comp[] = {
        {TM_S("user"), KP_QUOTA_MATCH_EXACT, TM_S("alice")},
        {TM_S("client-id"), KP_QUOTA_MATCH_DEFAULT, KP_STR_NULL}};
    struct kp_describe_client_quotas_req req = {2, comp, true};
    struct kp_quota_entity ent[] = {{TM_S("user"), TM_S("alice")},
                                    {TM_S("client-id"), KP_STR_NULL}};
    struct kp_quota_value val[] = {{TM_S("producer_byte_rate"), 1048576.0},
                                   {TM_S("request_percentage"), 12.5}};
    struct kp_describe_client_quotas_entry e = {2, ent, 2, val};
    struct kp_describe_client_quotas_resp resp = {0, 0, KP_STR_NULL, 1, &e};
    for (int16_t v = 0; v <= 1; v++) {
        struct kp_arena a;
        struct kp_describe_client_quotas_req o;
        tm_check(&c_dq_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_components, 2);
        tm_str_eq(o.components[0].match, comp[0].match);
        ck_assert_int_eq(o.components[1].match_type, KP_QUOTA_MATCH_DEFAULT);
        tm_str_null(o.components[1].match);
        ck_assert(o.strict);
        struct kp_describe_client_quotas_resp r;
        tm_check(&c_dq_resp, v, &resp, &r, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(r.n_entries, 1);
        ck_assert_int_eq(r.entries[0].n_entity, 2);
        tm_str_null(r.entries[0].entity[1].entity_name);
        ck_assert(r.entries[0].values[0].value == 1048576.0);
        ck_assert(r.entries[0].values[1].value == 12.5);

        /* Null entries (Kafka's answer with an error). */
        struct kp_describe_client_quotas_resp err = {0, KP_ERR_INVALID_REQUEST, TM_S("x"), -1,
                                                     NULL};
        tm_check(&c_dq_resp, v, &err, &r, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(r.n_entries, -1);
    }
    tm_check_bad_versions(&c_dq_req, &req);
    tm_check_bad_versions(&c_dq_resp, &resp);

    struct kp_describe_client_quotas_req one = {1, comp, false};
    EXPECT_BYTES(buf, enc(&c_dq_req, 0, &one), 0, 0, 0, 1, 0, 4, 'u', 's', 'e', 'r', 0, 0, 5, 'a',
                 'l', 'i', 'c', 'e', 0);
    EXPECT_BYTES(buf, enc(&c_dq_req, 1, &one), 2, 5, 'u', 's', 'e', 'r', 0, 6, 'a', 'l', 'i', 'c',
                 'e', 0 /* component tags */, 0 /* strict */, 0 /* tags */);

    struct kp_quota_value kb = {TM_S("producer_byte_rate"), 1024.0};
    struct kp_describe_client_quotas_entry e1 = {1, ent, 1, &kb};
    struct kp_describe_client_quotas_resp r1 = {0, 0, KP_STR_NULL, 1, &e1};
    EXPECT_BYTES(buf, enc(&c_dq_resp, 1, &r1), 0, 0, 0, 0, 0, 0, 0, /* throttle, error, null */
                 2,                                                 /* entries: 1 */
                 2, 5, 'u', 's', 'e', 'r', 6, 'a', 'l', 'i', 'c', 'e', 0, /* entity */
                 2, 19, 'p', 'r', 'o', 'd', 'u', 'c', 'e', 'r', '_', 'b', 'y', 't', 'e', '_', 'r',
                 'a', 't', 'e', 0x40, 0x90, 0, 0, 0, 0, 0, 0, 0, /* 1024.0, value tags */
                 0, 0);                                          /* entry tags, response tags */
    struct kp_describe_client_quotas_resp nul = {0, 0, KP_STR_NULL, -1, NULL};
    EXPECT_BYTES(buf, enc(&c_dq_resp, 0, &nul), 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff,
                 0xff);
}
END_TEST

START_TEST(test_alter_client_quotas)
{
    struct kp_quota_entity ent[] = {{TM_S("user"), KP_STR_NULL}, {TM_S("client-id"), TM_S("c1")}};
    struct kp_quota_op ops[] = {{TM_S("consumer_byte_rate"), 2.5, false},
                                {TM_S("producer_byte_rate"), 0, true}};
    struct kp_alter_client_quotas_entry e = {2, ent, 2, ops};
    struct kp_alter_client_quotas_req req = {1, &e, true};
    struct kp_alter_client_quotas_result res = {0, KP_STR_NULL, 2, ent};
    struct kp_alter_client_quotas_resp resp = {9, 1, &res};
    for (int16_t v = 0; v <= 1; v++) {
        struct kp_arena a;
        struct kp_alter_client_quotas_req o;
        tm_check(&c_aq_req, v, &req, &o, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(o.n_entries, 1);
        tm_str_null(o.entries[0].entity[0].entity_name);
        tm_str_eq(o.entries[0].entity[1].entity_name, ent[1].entity_name);
        ck_assert(o.entries[0].ops[0].value == 2.5);
        ck_assert(!o.entries[0].ops[0].remove);
        ck_assert(o.entries[0].ops[1].remove);
        ck_assert(o.validate_only);
        struct kp_alter_client_quotas_resp r;
        tm_check(&c_aq_resp, v, &resp, &r, buf, &a, out_mem, sizeof out_mem);
        ck_assert_int_eq(r.throttle_time_ms, 9);
        ck_assert_int_eq(r.entries[0].n_entity, 2);
    }
    tm_check_bad_versions(&c_aq_req, &req);
    tm_check_bad_versions(&c_aq_resp, &resp);

    struct kp_quota_entity ce = {TM_S("client-id"), KP_STR_NULL};
    struct kp_quota_op op = {TM_S("consumer_byte_rate"), 2.5, false};
    struct kp_alter_client_quotas_entry e1 = {1, &ce, 1, &op};
    struct kp_alter_client_quotas_req r1 = {1, &e1, true};
    EXPECT_BYTES(buf, enc(&c_aq_req, 1, &r1), 2,                           /* entries: 1 */
                 2, 10, 'c', 'l', 'i', 'e', 'n', 't', '-', 'i', 'd', 0, 0, /* entity, null, tags */
                 2, 19, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r', '_', 'b', 'y', 't', 'e', '_', 'r',
                 'a', 't', 'e', 0x40, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, /* 2.5, remove, op tags */
                 0, 1, 0);                                          /* entry tags, validate, tags */
    struct kp_alter_client_quotas_result ok = {0, KP_STR_NULL, 1, &ce};
    struct kp_alter_client_quotas_resp rr = {0, 1, &ok};
    EXPECT_BYTES(buf, enc(&c_aq_resp, 0, &rr), 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0, 0, 0, 1,
                 0, 9, 'c', 'l', 'i', 'e', 'n', 't', '-', 'i', 'd', 0xff, 0xff);

    /* float64 is copied bit for bit (a NaN payload and -0.0 survive). */
    uint64_t nan_bits = 0x7ff8000000000123ull;
    double nan_v;
    memcpy(&nan_v, &nan_bits, sizeof nan_v);
    op.value = nan_v;
    size_t n = enc(&c_aq_req, 0, &r1);
    struct kp_alter_client_quotas_req o;
    struct kp_arena a;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    struct kp_rd rd;
    kp_rd_init(&rd, buf, n);
    ck_assert_int_eq(kp_alter_client_quotas_req_decode(&rd, 0, &a, &o), 0);
    uint64_t got;
    memcpy(&got, &o.entries[0].ops[0].value, sizeof got);
    ck_assert(got == nan_bits);
}
END_TEST

/* ---- SCRAM credentials ---------------------------------------------------------------------- */

START_TEST(test_describe_user_scram_credentials)
{
    struct kp_str users[] = {TM_S("alice"), TM_S("bob")};
    struct kp_describe_user_scram_credentials_req req = {2, users};
    struct kp_scram_credential_info ci[] = {{KP_SCRAM_SHA_256, 4096}, {KP_SCRAM_SHA_512, 8192}};
    struct kp_describe_user_scram_credentials_result res[] = {
        {TM_S("alice"), 0, KP_STR_NULL, 2, ci},
        {TM_S("bob"), 91 /* RESOURCE_NOT_FOUND */, TM_S("no such user"), 0, NULL}};
    struct kp_describe_user_scram_credentials_resp resp = {0, 0, KP_STR_NULL, 2, res};
    struct kp_arena a;
    struct kp_describe_user_scram_credentials_req o;
    ck_assert_uint_eq(tm_check(&c_ds_req, 0, &req, &o, buf, &a, out_mem, sizeof out_mem), 14);
    ck_assert_int_eq(o.n_users, 2);
    tm_str_eq(o.users[1], users[1]);
    struct kp_describe_user_scram_credentials_req all = {-1, NULL};
    tm_check(&c_ds_req, 0, &all, &o, buf, &a, out_mem, sizeof out_mem);
    ck_assert_int_eq(o.n_users, -1);
    struct kp_describe_user_scram_credentials_resp r;
    tm_check(&c_ds_resp, 0, &resp, &r, buf, &a, out_mem, sizeof out_mem);
    ck_assert_int_eq(r.n_results, 2);
    ck_assert_int_eq(r.results[0].n_credential_infos, 2);
    ck_assert_int_eq(r.results[0].credential_infos[1].mechanism, KP_SCRAM_SHA_512);
    ck_assert_int_eq(r.results[0].credential_infos[1].iterations, 8192);
    ck_assert_int_eq(r.results[1].error_code, 91);
    tm_check_bad_versions(&c_ds_req, &req);
    tm_check_bad_versions(&c_ds_resp, &resp);

    EXPECT_BYTES(buf, enc(&c_ds_req, 0, &all), 0, 0);
    struct kp_describe_user_scram_credentials_req one = {1, users};
    EXPECT_BYTES(buf, enc(&c_ds_req, 0, &one), 2, 6, 'a', 'l', 'i', 'c', 'e', 0, 0);
    struct kp_describe_user_scram_credentials_result r1 = {TM_S("alice"), 0, KP_STR_NULL, 1, ci};
    struct kp_describe_user_scram_credentials_resp rr = {0, 0, KP_STR_NULL, 1, &r1};
    EXPECT_BYTES(buf, enc(&c_ds_resp, 0, &rr), 0, 0, 0, 0, 0, 0, 0, /* throttle, error, null */
                 2, 6, 'a', 'l', 'i', 'c', 'e', 0, 0, 0,            /* alice, error 0, null */
                 2, 1, 0, 0, 0x10, 0, 0,                            /* SCRAM-SHA-256, 4096, tags */
                 0, 0);                                             /* result tags, response tags */
}
END_TEST

START_TEST(test_alter_user_scram_credentials)
{
    struct kp_scram_credential_deletion del[] = {{TM_S("bob"), KP_SCRAM_SHA_256}};
    struct kp_scram_credential_upsertion up[] = {
        {TM_S("alice"), KP_SCRAM_SHA_512, 8192, TM_B("ss"), TM_B("pp")},
        {TM_S("carol"), KP_SCRAM_SHA_256, 4096, TM_B("salt-bytes"), TM_B("0123456789abcdef")}};
    struct kp_alter_user_scram_credentials_req req = {1, del, 2, up};
    struct kp_alter_user_scram_credentials_result res[] = {{TM_S("bob"), 0, KP_STR_NULL},
                                                           {TM_S("alice"), 93, TM_S("weak")}};
    struct kp_alter_user_scram_credentials_resp resp = {0, 2, res};
    struct kp_arena a;
    struct kp_alter_user_scram_credentials_req o;
    tm_check(&c_as_req, 0, &req, &o, buf, &a, out_mem, sizeof out_mem);
    ck_assert_int_eq(o.n_deletions, 1);
    ck_assert_int_eq(o.deletions[0].mechanism, KP_SCRAM_SHA_256);
    ck_assert_int_eq(o.n_upsertions, 2);
    ck_assert_int_eq(o.upsertions[1].iterations, 4096);
    tm_bytes_eq(o.upsertions[1].salt, up[1].salt);
    tm_bytes_eq(o.upsertions[1].salted_password, up[1].salted_password);
    struct kp_alter_user_scram_credentials_resp r;
    tm_check(&c_as_resp, 0, &resp, &r, buf, &a, out_mem, sizeof out_mem);
    ck_assert_int_eq(r.n_results, 2);
    tm_str_eq(r.results[1].error_message, res[1].error_message);
    tm_check_bad_versions(&c_as_req, &req);
    tm_check_bad_versions(&c_as_resp, &resp);

    struct kp_alter_user_scram_credentials_req r1 = {1, del, 1, up};
    EXPECT_BYTES(buf, enc(&c_as_req, 0, &r1), 2, 4, 'b', 'o', 'b', 1, 0, /* deletion + tags */
                 2, 6, 'a', 'l', 'i', 'c', 'e', 2, 0, 0, 0x20, 0,        /* alice SHA-512 8192 */
                 3, 's', 's', 3, 'p', 'p', 0,                            /* salt, salted, tags */
                 0);                                                     /* request tags */
    struct kp_alter_user_scram_credentials_resp rr = {0, 1, res};
    EXPECT_BYTES(buf, enc(&c_as_resp, 0, &rr), 0, 0, 0, 0, 2, 4, 'b', 'o', 'b', 0, 0, 0, 0, 0);
}
END_TEST

/* ---- hostile input -------------------------------------------------------------------------- */

START_TEST(test_forged_counts)
{
    /* CreateAcls v1: 2^31-1 creations in a 4-byte body. */
    static const uint8_t ca[] = {0x7f, 0xff, 0xff, 0xff, 2, 0, 1, 't'};
    tm_check_forged(&c_ca_req, 1, ca, sizeof ca, 0);
    /* CreateAcls v2: compact count of 2^32-2 (uvarint 0xffffffff). */
    static const uint8_t ca2[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0};
    tm_check_forged(&c_ca_req, 2, ca2, sizeof ca2, 0);
    /* SaslHandshake response: 1000 mechanisms in 4 bytes. */
    static const uint8_t sh[] = {0, 0, 0, 0, 0x03, 0xe8, 0, 0, 0, 0};
    tm_check_forged(&c_sh_resp, 1, sh, sizeof sh, 0);
    /* DeleteAcls response v2: one filter result claiming 100 matching ACLs. */
    static const uint8_t dl[] = {0, 0, 0, 0, 2, 0, 0, 0, 101, 0, 0};
    tm_check_forged(&c_dl_resp, 2, dl, sizeof dl, 64);
    /* DescribeClientQuotas response: -2 entries (only -1 is null). */
    static const uint8_t dq[] = {0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    tm_check_forged(&c_dq_resp, 0, dq, sizeof dq, 0);
    /* SaslAuthenticate v0: auth_bytes longer than the frame. */
    static const uint8_t sa[] = {0, 0, 0x10, 0, 'x'};
    tm_check_forged(&c_sa_req, 0, sa, sizeof sa, 0);
    /* DescribeUserScramCredentials: a tag buffer claiming a 1 GiB field. */
    static const uint8_t ds[] = {0, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x04};
    tm_check_forged(&c_ds_req, 0, ds, sizeof ds, 0);
}
END_TEST

START_TEST(test_unknown_tags_skipped)
{
    /* SaslAuthenticate v2 with an unknown tagged field (tag 7, 2 bytes) at the top level. */
    static const uint8_t b[] = {3, 'a', 'b', 1, 7, 2, 'z', 'z'};
    struct kp_sasl_authenticate_req o;
    struct kp_arena a;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    struct kp_rd rd;
    kp_rd_init(&rd, b, sizeof b);
    ck_assert_int_eq(kp_sasl_authenticate_req_decode(&rd, 2, &a, &o), 0);
    ck_assert_int_eq(o.auth_bytes.len, 2);
    /* ... and inside an element: CreateAcls v2 creation with a tag. */
    static const uint8_t c[] = {2, 2, 2, 't', 3, 2, 'U', 2, '*', 3, 3, 1, 0, 1, 'q', 0};
    struct kp_create_acls_req co;
    kp_arena_init(&a, out_mem, sizeof out_mem);
    kp_rd_init(&rd, c, sizeof c);
    ck_assert_int_eq(kp_create_acls_req_decode(&rd, 2, &a, &co), 0);
    ck_assert_int_eq(co.n_creations, 1);
    tm_str_eq(co.creations[0].host, TM_S("*"));
}
END_TEST

static Suite *kp_msg_sec_suite(void)
{
    Suite *s = suite_create("kp_msg_sec");
    TCase *t = tcase_create("codecs");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_sasl_handshake);
    tcase_add_test(t, test_sasl_authenticate);
    tcase_add_test(t, test_create_acls);
    tcase_add_test(t, test_describe_acls);
    tcase_add_test(t, test_delete_acls);
    tcase_add_test(t, test_describe_client_quotas);
    tcase_add_test(t, test_alter_client_quotas);
    tcase_add_test(t, test_describe_user_scram_credentials);
    tcase_add_test(t, test_alter_user_scram_credentials);
    tcase_add_test(t, test_forged_counts);
    tcase_add_test(t, test_unknown_tags_skipped);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tb_ck_run(kp_msg_sec_suite()); }
