/*
 * test_br_usercfg — the pieces of SCRAM credentials and client quotas in a cluster (issue 18)
 * that need no ZooKeeper: Kafka's Sanitizer (br_clu_sanitize / _desanitize) and the entity
 * paths; the document merge of a read-modify-write (only the given keys change, the others are
 * kept, removal, a document that does not parse, a document too large); Kafka's credential
 * text (br_cred_text_format / _parse: round trip, fields in any order, every malformed field);
 * quota values as text; br_cred_sync and br_quotas_sync (one entity replaced, all replaced);
 * br_usercfg_apply (ZooKeeper's documents into the stores, bad values left out).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "br_auth.h"
#include "br_clu_ents.h"
#include "br_cred.h"
#include "br_quota.h"
#include "br_usercfg.h"
#include "test_st_util.h"

static char dir[256];

static void setup(void) { tst_mkdtemp(dir, sizeof dir); }
static void teardown(void) { tst_rmrf(dir); }

#define S(lit) (lit), (sizeof(lit) - 1)

START_TEST(t_sanitize)
{
    char out[64], back[64];
    ck_assert_int_eq(br_clu_sanitize(S("alice"), out, sizeof out), 5);
    ck_assert_str_eq(out, "alice");
    ck_assert_int_eq(br_clu_sanitize(S("User:a b*c/d.e-f_g+h%"), out, sizeof out), 33);
    ck_assert_str_eq(out, "User%3Aa%20b%2Ac%2Fd.e-f_g%2Bh%25");
    ck_assert_int_eq(br_clu_sanitize(S("<default>"), out, sizeof out), 13);
    ck_assert_str_eq(out, "%3Cdefault%3E");
    ck_assert_int_eq(br_clu_sanitize(S("\xc3\xa9t\xc3\xa9"), out, sizeof out), 13);
    ck_assert_str_eq(out, "%C3%A9t%C3%A9"); /* UTF-8 bytes, upper-case hex */
    ck_assert_int_eq(br_clu_sanitize(S("abc"), out, 3), -ENOSPC);
    ck_assert_int_eq(br_clu_sanitize(S("a*"), out, 4), -ENOSPC);
    /* and back; '+' is a space (URL decoding), lower-case hex is read */
    const char *s = "User%3Aa%20b%2Ac%2Fd.e-f_g%2Bh%25";
    ck_assert_int_eq(br_clu_desanitize(s, strlen(s), back, sizeof back), 21);
    ck_assert_str_eq(back, "User:a b*c/d.e-f_g+h%");
    ck_assert_int_eq(br_clu_desanitize(S("a+b%2a"), back, sizeof back), 4);
    ck_assert_str_eq(back, "a b*");
    ck_assert_int_eq(br_clu_desanitize(S("a%2"), back, sizeof back), -EINVAL);
    ck_assert_int_eq(br_clu_desanitize(S("a%zz"), back, sizeof back), -EINVAL);
    ck_assert_int_eq(br_clu_desanitize(S("abcd"), back, 4), -ENOSPC);
}
END_TEST

START_TEST(t_entity_paths)
{
    char p[128], names[64];
    struct br_clu_entity e = {BR_CLU_ENT_NAMED, BR_CLU_ENT_ABSENT, "al ice", "", 6, 0};
    ck_assert_int_eq(br_clu_entity_path(&e, p, sizeof p), 14);
    ck_assert_str_eq(p, "users/al%20ice");
    e = (struct br_clu_entity){BR_CLU_ENT_NAMED, BR_CLU_ENT_DEFAULT, "<default>", "", 9, 0};
    ck_assert_int_gt(br_clu_entity_path(&e, p, sizeof p), 0);
    ck_assert_str_eq(p, "users/%3Cdefault%3E/clients/<default>"); /* a user named so */
    e = (struct br_clu_entity){BR_CLU_ENT_ABSENT, BR_CLU_ENT_NAMED, "", "app*", 0, 4};
    ck_assert_int_gt(br_clu_entity_path(&e, p, sizeof p), 0);
    ck_assert_str_eq(p, "clients/app%2A");
    e = (struct br_clu_entity){BR_CLU_ENT_DEFAULT, BR_CLU_ENT_ABSENT, "", "", 0, 0};
    ck_assert_int_gt(br_clu_entity_path(&e, p, sizeof p), 0);
    ck_assert_str_eq(p, "users/<default>");
    e = (struct br_clu_entity){BR_CLU_ENT_ABSENT, BR_CLU_ENT_ABSENT, "", "", 0, 0};
    ck_assert_int_eq(br_clu_entity_path(&e, p, sizeof p), -EINVAL);
    e = (struct br_clu_entity){BR_CLU_ENT_NAMED, BR_CLU_ENT_ABSENT, "", "", 0, 0};
    ck_assert_int_eq(br_clu_entity_path(&e, p, sizeof p), -EINVAL);

    ck_assert_int_eq(
        br_clu_entity_parse("users/%3Cdefault%3E/clients/<default>", &e, names, sizeof names), 0);
    ck_assert_int_eq(e.user_kind, BR_CLU_ENT_NAMED);
    ck_assert_str_eq(e.user, "<default>");
    ck_assert_int_eq(e.client_kind, BR_CLU_ENT_DEFAULT);
    ck_assert_int_eq(br_clu_entity_parse("clients/app%2A", &e, names, sizeof names), 0);
    ck_assert_int_eq(e.user_kind, BR_CLU_ENT_ABSENT);
    ck_assert_int_eq(e.client_kind, BR_CLU_ENT_NAMED);
    ck_assert_uint_eq(e.client_len, 4);
    ck_assert_str_eq(e.client, "app*");
    ck_assert_int_eq(br_clu_entity_parse("users/<default>", &e, names, sizeof names), 0);
    ck_assert_int_eq(e.user_kind, BR_CLU_ENT_DEFAULT);
    const char *bad[] = {"topics/t",         "users/",      "users/a/b", "users/a/clients/",
                         "users/a%2",        "clients/a/b", "brokers/1", "users/a/clients/b/c",
                         "users//clients/b", "clients/",    NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(br_clu_entity_parse(bad[i], &e, names, sizeof names) < 0, "%s", bad[i]);
}
END_TEST

START_TEST(t_doc_merge)
{
    char out[512];
    /* a new document */
    struct br_clu_ekv a[] = {{"producer_byte_rate", "1024"}, {"SCRAM-SHA-256", NULL}};
    int n = br_clu_entdoc_merge(NULL, 0, a, 2, out, sizeof out);
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(out, "{\"version\":1,\"config\":{\"producer_byte_rate\":\"1024\"}}");
    /* only the given keys change; Kafka's other keys stay */
    const char *doc = "{\"version\":1,\"config\":{\"SCRAM-SHA-512\":\"salt=x,stored_key=y,"
                      "server_key=z,iterations=4096\",\"producer_byte_rate\":\"1024\","
                      "\"some.other\":\"v\"}}";
    struct br_clu_ekv b[] = {{"producer_byte_rate", "2048"}, {"request_percentage", "0.5"}};
    ck_assert_int_gt(br_clu_entdoc_merge(doc, strlen(doc), b, 2, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "\"SCRAM-SHA-512\":\"salt=x,stored_key=y,server_key=z,"
                              "iterations=4096\"") &&
                      strstr(out, "\"producer_byte_rate\":\"2048\"") &&
                      strstr(out, "\"request_percentage\":\"0.5\"") &&
                      strstr(out, "\"some.other\":\"v\"") && !strstr(out, "1024"),
                  "%s", out);
    /* removal; the last change of a key wins */
    struct br_clu_ekv c[] = {{"SCRAM-SHA-512", "first"}, {"SCRAM-SHA-512", NULL}};
    ck_assert_int_gt(br_clu_entdoc_merge(doc, strlen(doc), c, 2, out, sizeof out), 0);
    ck_assert_msg(!strstr(out, "SCRAM") && strstr(out, "\"producer_byte_rate\":\"1024\""), "%s",
                  out);
    struct br_clu_ekv d[] = {{"k", "gone"}, {"k", "kept"}};
    ck_assert_int_gt(br_clu_entdoc_merge(NULL, 0, d, 2, out, sizeof out), 0);
    ck_assert_str_eq(out, "{\"version\":1,\"config\":{\"k\":\"kept\"}}");
    /* everything removed: an empty config */
    struct br_clu_ekv e[] = {
        {"SCRAM-SHA-512", NULL}, {"producer_byte_rate", NULL}, {"some.other", NULL}};
    ck_assert_int_gt(br_clu_entdoc_merge(doc, strlen(doc), e, 3, out, sizeof out), 0);
    ck_assert_str_eq(out, "{\"version\":1,\"config\":{}}");
    /* refusals: not a document, too large, a value too long */
    ck_assert_int_eq(br_clu_entdoc_merge(S("{\"version\":1,\"config\":"), a, 1, out, sizeof out),
                     -EINVAL);
    ck_assert_int_eq(br_clu_entdoc_merge(S("garbage"), a, 1, out, sizeof out), -EINVAL);
    ck_assert_int_eq(br_clu_entdoc_merge(doc, strlen(doc), b, 2, out, 40), -ENOSPC);
    static char big[1100];
    memset(big, 'v', sizeof big - 1);
    struct br_clu_ekv f[] = {{"k", big}};
    ck_assert_int_eq(br_clu_entdoc_merge(NULL, 0, f, 1, out, sizeof out), -EINVAL);
}
END_TEST

static struct br_scram_cred mk(enum br_sasl_mech m, const char *pw, int32_t iters)
{
    struct br_scram_cred c;
    ck_assert_int_eq(br_scram_cred_from_password(m, pw, strlen(pw), NULL, 0, iters, &c), 0);
    return c;
}

START_TEST(t_cred_text)
{
    char t[BR_CRED_TEXT_MAX];
    struct br_scram_cred c = mk(BR_SASL_SCRAM_SHA_512, "pw", 4096), back;
    c.salt_len = BR_SCRAM_SALT_MAX; /* the longest text */
    int n = br_cred_text_format(&c, t, sizeof t);
    ck_assert_int_gt(n, 0);
    ck_assert_int_lt(n, 1024); /* (a value br_clu_json_config_each reads back) */
    ck_assert(strncmp(t, "salt=", 5) == 0 && strstr(t, ",stored_key=") &&
              strstr(t, ",server_key=") && strstr(t, ",iterations=4096"));
    ck_assert_int_eq(br_cred_text_parse(BR_SASL_SCRAM_SHA_512, t, (size_t)n, &back), 0);
    ck_assert(back.mech == c.mech && back.iterations == 4096 && back.salt_len == c.salt_len &&
              memcmp(back.salt, c.salt, c.salt_len) == 0 &&
              memcmp(back.stored_key, c.stored_key, 64) == 0 &&
              memcmp(back.server_key, c.server_key, 64) == 0);
    /* the wrong mechanism: the keys' length does not fit */
    ck_assert_int_eq(br_cred_text_parse(BR_SASL_SCRAM_SHA_256, t, (size_t)n, &back), -EINVAL);
    ck_assert_int_eq(br_cred_text_format(&c, t, 100), -ENOSPC);
    /* fields in another order */
    struct br_scram_cred s = mk(BR_SASL_SCRAM_SHA_256, "pw", 8192);
    char salt[64], sk[64], vk[64], txt[400];
    ck_assert_int_gt(br_b64_encode(s.salt, s.salt_len, salt, sizeof salt), 0);
    ck_assert_int_gt(br_b64_encode(s.stored_key, 32, sk, sizeof sk), 0);
    ck_assert_int_gt(br_b64_encode(s.server_key, 32, vk, sizeof vk), 0);
    snprintf(txt, sizeof txt, "iterations=8192,server_key=%s,salt=%s,stored_key=%s", vk, salt, sk);
    ck_assert_int_eq(br_cred_text_parse(BR_SASL_SCRAM_SHA_256, txt, strlen(txt), &back), 0);
    ck_assert(memcmp(back.server_key, s.server_key, 32) == 0 && back.iterations == 8192);
    /* every malformed variant (@s, @k, @v: the salt, stored and server keys) */
    const char *tmpl[] = {
        "salt=@s,stored_key=@k,server_key=@v",                           /* no iterations */
        "salt=@s,stored_key=@k,server_key=@v,iterations=1000",           /* below 4096 */
        "salt=@s,stored_key=@k,server_key=@v,iterations=99999",          /* above 16384 */
        "salt=@s,stored_key=@k,server_key=@v,iterations=4096x",          /* not a number */
        "salt=@s,stored_key=@k,server_key=@v,iterations=4096,extra=1",   /* unknown field */
        "salt=@s,stored_key=@k,server_key=@v,iterations=4096,salt=AA==", /* a field twice */
        "salt=@s,stored_key=@k,server_key=@v,iterations=4096,",          /* empty field */
        "salt=@s,stored_key=@k,server_key=@v,iterations",                /* no '=' */
        "salt=!@s,stored_key=@k,server_key=@v,iterations=4096",          /* not base64 */
        "salt=,stored_key=@k,server_key=@v,iterations=4096",             /* empty salt */
        "salt=@s,stored_key=AAAA,server_key=@v,iterations=4096",         /* a key's length */
        NULL};
    for (int i = 0; tmpl[i]; i++) {
        size_t o = 0;
        for (const char *p = tmpl[i]; *p && o + 100 < sizeof txt; p++) {
            const char *put = p[0] == '@' && p[1] == 's'   ? salt
                              : p[0] == '@' && p[1] == 'k' ? sk
                              : p[0] == '@' && p[1] == 'v' ? vk
                                                           : NULL;
            if (put) {
                o += (size_t)snprintf(txt + o, sizeof txt - o, "%s", put);
                p++;
            } else {
                txt[o++] = *p;
            }
        }
        txt[o] = 0;
        ck_assert_msg(br_cred_text_parse(BR_SASL_SCRAM_SHA_256, txt, strlen(txt), &back) == -EINVAL,
                      "%s", txt);
    }
    ck_assert_int_eq(br_cred_text_parse(BR_SASL_PLAIN, t, (size_t)n, &back), -EINVAL);
    ck_assert_int_eq(br_cred_text_parse(BR_SASL_SCRAM_SHA_256, "", 0, &back), -EINVAL);
}
END_TEST

START_TEST(t_quota_text)
{
    char t[40];
    double v;
    ck_assert_int_eq(br_quota_text_format(BR_QUOTA_PRODUCE, 1048576, t, sizeof t), 7);
    ck_assert_str_eq(t, "1048576");
    ck_assert_int_gt(br_quota_text_format(BR_QUOTA_REQUEST, 50, t, sizeof t), 0);
    ck_assert_str_eq(t, "50.0");
    ck_assert_int_gt(br_quota_text_format(BR_QUOTA_REQUEST, 0.01, t, sizeof t), 0);
    ck_assert_str_eq(t, "0.01");
    ck_assert_int_gt(br_quota_text_format(BR_QUOTA_MUTATION, 1.0 / 3, t, sizeof t), 0);
    ck_assert_int_eq(br_quota_text_parse(BR_QUOTA_MUTATION, t, &v), 0);
    ck_assert(v == 1.0 / 3);
    ck_assert_int_eq(br_quota_text_parse(BR_QUOTA_PRODUCE, "1024", &v), 0);
    ck_assert(v == 1024);
    ck_assert_int_eq(br_quota_text_parse(BR_QUOTA_FETCH, "1024.0", &v), 0); /* (Kafka's double) */
    ck_assert(v == 1024);
    const char *bad[] = {"", "abc", "12x", "0", "-5", "nan", "inf", "1.5", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(br_quota_text_parse(BR_QUOTA_PRODUCE, bad[i], &v) == -EINVAL, "%s", bad[i]);
    ck_assert_int_eq(br_quota_text_parse(BR_QUOTA_REQUEST, "0.5", &v), 0);
    ck_assert_int_eq(br_quota_text_parse((enum br_quota_type)9, "1", &v), -EINVAL);
}
END_TEST

START_TEST(t_cred_sync)
{
    struct br_cred *c = NULL;
    ck_assert_int_eq(br_cred_open(dir, NULL, NULL, &c), 0);
    struct br_scram_cred a256 = mk(BR_SASL_SCRAM_SHA_256, "a", 4096),
                         a512 = mk(BR_SASL_SCRAM_SHA_512, "a", 4096),
                         b512 = mk(BR_SASL_SCRAM_SHA_512, "b", 4096),
                         c256 = mk(BR_SASL_SCRAM_SHA_256, "c", 4096), got;
    ck_assert_int_eq(br_cred_put(c, S("alice"), &a256), 0);
    ck_assert_int_eq(br_cred_put(c, S("alice"), &a512), 0);
    ck_assert_int_eq(br_cred_put(c, S("carol"), &c256), 0);
    /* one user replaced: alice keeps only SCRAM-SHA-512; carol untouched */
    struct br_cred_user u = {S("alice"), &a512, 1};
    ck_assert_int_eq(br_cred_sync(c, &u, 1, false), 0);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_256, S("alice"), &got), -ENOENT);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_512, S("alice"), &got), 0);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_256, S("carol"), &got), 0);
    /* a user with no credential left */
    u = (struct br_cred_user){S("carol"), NULL, 0};
    ck_assert_int_eq(br_cred_sync(c, &u, 1, false), 0);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_256, S("carol"), &got), -ENOENT);
    ck_assert_int_eq(br_cred_put(c, S("carol"), &c256), 0);
    /* all: exactly bob, and alice with a new credential */
    struct br_scram_cred a512b = mk(BR_SASL_SCRAM_SHA_512, "a2", 8192);
    struct br_cred_user all[] = {{S("bob"), &b512, 1}, {S("alice"), &a512b, 1}};
    ck_assert_int_eq(br_cred_sync(c, all, 2, true), 0);
    ck_assert_uint_eq(br_cred_count(c), 2);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_512, S("alice"), &got), 0);
    ck_assert_int_eq(got.iterations, 8192);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_512, S("bob"), &got), 0);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_256, S("carol"), &got), -ENOENT);
    /* the same again changes nothing; all of nothing empties the store; the file follows */
    ck_assert_int_eq(br_cred_sync(c, all, 2, true), 0);
    ck_assert_uint_eq(br_cred_count(c), 2);
    br_cred_close(c);
    ck_assert_int_eq(br_cred_open(dir, NULL, NULL, &c), 0);
    ck_assert_uint_eq(br_cred_count(c), 2);
    ck_assert_int_eq(br_cred_sync(c, NULL, 0, true), 0);
    ck_assert_uint_eq(br_cred_count(c), 0);
    br_cred_close(c);
}
END_TEST

struct seen {
    int n;
    double v[8];
    uint8_t uk[8], ck[8];
};

static void count(void *arg, const struct br_quota_entity *e, const double v[BR_QUOTA_NTYPES],
                  const bool has[BR_QUOTA_NTYPES])
{
    struct seen *s = arg;
    if (s->n < 8) {
        s->v[s->n] = has[BR_QUOTA_PRODUCE] ? v[BR_QUOTA_PRODUCE] : -1;
        s->uk[s->n] = e->user_kind;
        s->ck[s->n] = e->client_kind;
    }
    s->n++;
}

static struct seen describe_all(struct br_quotas *q)
{
    struct br_quota_filter f;
    memset(&f, 0, sizeof f);
    struct seen s = {0};
    br_quotas_describe(q, &f, count, &s);
    return s;
}

START_TEST(t_quotas_sync)
{
    struct br_quotas_conf qc = {dir, 11, 1000, NULL, NULL};
    struct br_quotas *q = NULL;
    ck_assert_int_eq(br_quotas_open(&qc, &q), 0);
    struct br_quota_set s[3];
    memset(s, 0, sizeof s);
    s[0].entity = (struct br_quota_entity){BR_QE_NAMED, BR_QE_ABSENT, {"alice", 5}, KP_STR_NULL};
    s[0].has[BR_QUOTA_PRODUCE] = true;
    s[0].v[BR_QUOTA_PRODUCE] = 1024;
    s[1].entity = (struct br_quota_entity){BR_QE_ABSENT, BR_QE_DEFAULT, KP_STR_NULL, KP_STR_NULL};
    s[1].has[BR_QUOTA_PRODUCE] = true;
    s[1].v[BR_QUOTA_PRODUCE] = 99;
    size_t refused = 9;
    ck_assert_int_eq(br_quotas_sync(q, s, 2, true, &refused), 0);
    ck_assert_uint_eq(refused, 0);
    struct seen d = describe_all(q);
    ck_assert_int_eq(d.n, 2);
    /* one entity: alice's produce quota gone (no settings: the entity goes), the default kept */
    s[0].has[BR_QUOTA_PRODUCE] = false;
    ck_assert_int_eq(br_quotas_sync(q, s, 1, false, NULL), 0);
    d = describe_all(q);
    ck_assert_int_eq(d.n, 1);
    ck_assert(d.v[0] == 99 && d.ck[0] == BR_QE_DEFAULT);
    /* all: a new set replaces it; an invalid entity is refused, the others apply */
    s[2].entity = (struct br_quota_entity){BR_QE_NAMED, BR_QE_NAMED, {"u", 1}, {"c", 1}};
    s[2].has[BR_QUOTA_PRODUCE] = true;
    s[2].v[BR_QUOTA_PRODUCE] = 7;
    s[0].entity = (struct br_quota_entity){BR_QE_NAMED, BR_QE_ABSENT, {"", 0}, KP_STR_NULL};
    s[0].has[BR_QUOTA_PRODUCE] = true;
    ck_assert_int_eq(br_quotas_sync(q, &s[2], 1, true, NULL), 0);
    d = describe_all(q);
    ck_assert_int_eq(d.n, 1);
    ck_assert(d.v[0] == 7 && d.uk[0] == BR_QE_NAMED && d.ck[0] == BR_QE_NAMED);
    struct br_quota_set two[2] = {s[0], s[2]};
    ck_assert_int_eq(br_quotas_sync(q, two, 2, true, &refused), 0);
    ck_assert_uint_eq(refused, 1);
    ck_assert_int_eq(describe_all(q).n, 1);
    /* durable: reopened, the same */
    br_quotas_close(q);
    ck_assert_int_eq(br_quotas_open(&qc, &q), 0);
    ck_assert_int_eq(describe_all(q).n, 1);
    ck_assert_int_eq(br_quotas_sync(q, NULL, 0, true, NULL), 0);
    ck_assert_int_eq(describe_all(q).n, 0);
    br_quotas_close(q);
}
END_TEST

START_TEST(t_apply_documents)
{
    struct br_cred *c = NULL;
    ck_assert_int_eq(br_cred_open(dir, NULL, NULL, &c), 0);
    struct br_quotas_conf qc = {dir, 11, 1000, NULL, NULL};
    struct br_quotas *q = NULL;
    ck_assert_int_eq(br_quotas_open(&qc, &q), 0);
    struct br_auth a;
    memset(&a, 0, sizeof a);
    a.cred = c;
    a.quotas = q;
    struct br_scram_cred local = mk(BR_SASL_SCRAM_SHA_256, "old", 4096), got;
    ck_assert_int_eq(br_cred_put(c, S("offline"), &local), 0);

    struct br_scram_cred x = mk(BR_SASL_SCRAM_SHA_512, "pw", 4096);
    char text[BR_CRED_TEXT_MAX];
    ck_assert_int_gt(br_cred_text_format(&x, text, sizeof text), 0);
    struct br_clu_ekv alice[] = {{"SCRAM-SHA-512", text},
                                 {"SCRAM-SHA-256", "salt=garbage"}, /* left out */
                                 {"producer_byte_rate", "2048"},
                                 {"consumer_byte_rate", "-1"}, /* left out */
                                 {"some.other", "v"}};
    struct br_clu_ekv app[] = {{"request_percentage", "25.0"}};
    struct br_clu_entdoc docs[] = {
        {{BR_CLU_ENT_NAMED, BR_CLU_ENT_ABSENT, "alice", "", 5, 0}, alice, 5},
        {{BR_CLU_ENT_NAMED, BR_CLU_ENT_NAMED, "alice", "app", 5, 3}, app, 1},
    };
    /* at a start, the local-only user stays (br_usercfg_seed carries it) */
    br_usercfg_apply(&a, docs, 2, BR_CLU_ENTS_START);
    ck_assert_uint_eq(br_cred_count(c), 2);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_256, S("offline"), &got), 0);
    /* later, ZooKeeper's set is the whole set */
    br_usercfg_apply(&a, docs, 2, BR_CLU_ENTS_ALL);
    ck_assert_uint_eq(br_cred_count(c), 1); /* the local-only user went */
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_512, S("alice"), &got), 0);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_256, S("alice"), &got), -ENOENT);
    struct seen d = describe_all(q);
    ck_assert_int_eq(d.n, 2);
    /* one document: alice without her credential (deleted); her quota stays */
    struct br_clu_entdoc one = {
        {BR_CLU_ENT_NAMED, BR_CLU_ENT_ABSENT, "alice", "", 5, 0}, &alice[2], 1};
    br_usercfg_apply(&a, &one, 1, BR_CLU_ENTS_CHANGED);
    ck_assert_uint_eq(br_cred_count(c), 0);
    d = describe_all(q);
    ck_assert_int_eq(d.n, 2);
    br_quotas_close(q);
    br_cred_close(c);
}
END_TEST

/* A data dir marked as ZooKeeper's cache (br_cred_zk_mark): the start's documents are the
 * whole set (a local-only user goes, quotas of entities ZooKeeper lacks too), where an
 * unmarked one keeps them for br_usercfg_seed. */
START_TEST(t_start_on_a_cache)
{
    static struct br_config cfg;
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", dir);
    struct br_cred *c = NULL;
    ck_assert_int_eq(br_cred_open(dir, NULL, NULL, &c), 0);
    struct br_quotas_conf qc = {dir, 11, 1000, NULL, NULL};
    struct br_quotas *q = NULL;
    ck_assert_int_eq(br_quotas_open(&qc, &q), 0);
    struct br_auth a;
    memset(&a, 0, sizeof a);
    a.cfg = &cfg;
    a.cred = c;
    a.quotas = q;
    struct br_scram_cred local = mk(BR_SASL_SCRAM_SHA_256, "old", 4096), got;
    ck_assert_int_eq(br_cred_put(c, S("bob"), &local), 0);
    struct br_quota_op op = {BR_QUOTA_PRODUCE, 1000, false};
    struct br_quota_alter al = {
        {BR_QE_NAMED, BR_QE_ABSENT, {"bob", 3}, KP_STR_NULL}, &op, 1, 0, NULL};
    ck_assert_int_eq(br_quotas_alter(q, &al, 1, false), 0);
    struct br_clu_ekv none[1];
    struct br_clu_entdoc other = {{BR_CLU_ENT_NAMED, BR_CLU_ENT_ABSENT, "x", "", 1, 0}, none, 0};

    ck_assert_int_eq(br_cred_zk_marked(dir), 0);
    br_usercfg_apply(&a, &other, 1, BR_CLU_ENTS_START); /* unmarked: bob stays */
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_256, S("bob"), &got), 0);
    ck_assert_int_eq(describe_all(q).n, 1);

    ck_assert_int_eq(br_cred_zk_mark(dir), 0);
    ck_assert_int_eq(br_cred_zk_marked(dir), 1);
    br_usercfg_apply(&a, &other, 1, BR_CLU_ENTS_START); /* marked: ZooKeeper's set is all */
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_256, S("bob"), &got), -ENOENT);
    ck_assert_int_eq(describe_all(q).n, 0);
    br_quotas_close(q);
    br_cred_close(c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_usercfg");
    TCase *t = tcase_create("usercfg");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, t_sanitize);
    tcase_add_test(t, t_entity_paths);
    tcase_add_test(t, t_doc_merge);
    tcase_add_test(t, t_cred_text);
    tcase_add_test(t, t_quota_text);
    tcase_add_test(t, t_cred_sync);
    tcase_add_test(t, t_quotas_sync);
    tcase_add_test(t, t_apply_documents);
    tcase_add_test(t, t_start_on_a_cache);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
