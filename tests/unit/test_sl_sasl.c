/*
 * test_sl_sasl — libsplicelog's SASL mechanisms, client side (client/sl_sasl.h): PLAIN's one
 * token; SCRAM-SHA-256 against RFC 7677's test vector (client-first, client-final with the
 * proof, the server signature accepted); a server signature that does not match, an "e="
 * answer, a nonce that does not extend ours and an iteration count below 4096 refused;
 * SCRAM-SHA-512's proof length; user names escaped; SaltedPassword as the admin computes it.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sl_sasl.h"

/* RFC 7677 section 3. */
#define V_NONCE "rOprNGfwEbeRWgbNEkqO"
#define V_SERVER_FIRST                                                                             \
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define V_CLIENT_FINAL                                                                             \
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfM"  \
    "Hgsqmmiz7AndVQ="
#define V_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static const uint8_t *tok;
static size_t tl;

static int step(struct sl__sasl *s, const char *in)
{
    return sl__sasl_step(s, (const uint8_t *)in, in ? strlen(in) : 0, &tok, &tl);
}

static void tok_is(const char *want)
{
    ck_assert_msg(tl == strlen(want) && memcmp(tok, want, tl) == 0, "token %.*s, want %s", (int)tl,
                  (const char *)tok, want);
}

/* An exchange at the point where the client-final was sent (RFC 7677's vector). */
static struct sl__sasl *vector_until_final(void)
{
    struct sl__sasl *s;
    ck_assert_int_eq(sl__sasl_new(SL__SASL_SCRAM_SHA_256, "user", "pencil", V_NONCE, &s), 0);
    ck_assert_int_eq(step(s, NULL), 1);
    tok_is("n,,n=user,r=" V_NONCE);
    ck_assert_int_eq(step(s, V_SERVER_FIRST), 1);
    tok_is(V_CLIENT_FINAL);
    return s;
}

START_TEST(test_rfc7677_vector)
{
    struct sl__sasl *s = vector_until_final();
    ck_assert_int_eq(step(s, V_SERVER_FINAL), 0);
    ck_assert_str_eq(sl__sasl_why(s), "");
    sl__sasl_free(s);
}
END_TEST

START_TEST(test_server_signature_mismatch)
{
    struct sl__sasl *s = vector_until_final();
    /* The first byte off in the signature: a broker that does not know the password. */
    ck_assert_int_eq(step(s, "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), -EACCES);
    ck_assert_ptr_nonnull(strstr(sl__sasl_why(s), "signature"));
    ck_assert_int_eq(step(s, V_SERVER_FINAL), -EPROTO); /* over */
    sl__sasl_free(s);
    /* A signature of the wrong length, and one that is not base64. */
    s = vector_until_final();
    ck_assert_int_eq(step(s, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl9"), -EACCES);
    sl__sasl_free(s);
    s = vector_until_final();
    ck_assert_int_eq(step(s, "v=@@@@"), -EBADMSG);
    sl__sasl_free(s);
}
END_TEST

START_TEST(test_server_error)
{
    struct sl__sasl *s = vector_until_final();
    ck_assert_int_eq(step(s, "e=invalid-proof"), -EACCES);
    ck_assert_ptr_nonnull(strstr(sl__sasl_why(s), "invalid-proof"));
    sl__sasl_free(s);
}
END_TEST

START_TEST(test_bad_server_first)
{
    static const char *const bad[] = {
        "r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",          /* not our nonce */
        "r=" V_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",          /* no server part */
        "r=" V_NONCE "xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095",       /* too few iterations */
        "r=" V_NONCE "xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999",   /* too many */
        "r=" V_NONCE "xyz,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096",        /* salt not base64 */
        "m=ext,r=" V_NONCE "xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", /* mandatory extension */
        "r=" V_NONCE "xyz,i=4096",                                  /* no salt */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sl__sasl *s;
        ck_assert_int_eq(sl__sasl_new(SL__SASL_SCRAM_SHA_256, "user", "pencil", V_NONCE, &s), 0);
        ck_assert_int_eq(step(s, NULL), 1);
        ck_assert_msg(step(s, bad[i]) == -EBADMSG, "accepted %s", bad[i]);
        ck_assert_str_ne(sl__sasl_why(s), "");
        sl__sasl_free(s);
    }
}
END_TEST

START_TEST(test_sha512_and_random_nonce)
{
    struct sl__sasl *s;
    ck_assert_int_eq(sl__sasl_new(SL__SASL_SCRAM_SHA_512, "a=b,c", "pw", NULL, &s), 0);
    ck_assert_int_eq(step(s, NULL), 1);
    ck_assert_msg(tl == 3 + 11 + 3 + 32 && memcmp(tok, "n,,n=a=3Db=2Cc,r=", 17) == 0, "%.*s",
                  (int)tl, (const char *)tok);
    char nonce[33];
    memcpy(nonce, tok + 17, 32);
    nonce[32] = 0;
    ck_assert_ptr_null(strchr(nonce, ','));
    char first[200];
    snprintf(first, sizeof first, "r=%sSRV,s=QSXCR+Q6sek8bf92,i=4096", nonce);
    ck_assert_int_eq(step(s, first), 1);
    /* "c=biws,r=" nonce "SRV,p=" base64 of a 64-byte proof (88 characters). */
    ck_assert_uint_eq(tl, 9 + 32 + 3 + 3 + 88);
    sl__sasl_free(s);
}
END_TEST

START_TEST(test_plain)
{
    struct sl__sasl *s;
    ck_assert_int_eq(sl__sasl_new(SL__SASL_PLAIN, "bob", "secret", NULL, &s), 0);
    ck_assert_int_eq(step(s, NULL), 1);
    ck_assert_uint_eq(tl, 11);
    ck_assert(memcmp(tok, "\0bob\0secret", 11) == 0);
    ck_assert_int_eq(step(s, ""), 0);
    sl__sasl_free(s);
    ck_assert_int_eq(sl__sasl_new(99, "bob", "secret", NULL, &s), -EINVAL);
}
END_TEST

START_TEST(test_salted_password)
{
    /* RFC 7677's SaltedPassword for "pencil", checked through its ClientProof above; here the
     * admin's bounds: below 4096 iterations refused, PLAIN refused, 32 and 64 bytes. */
    uint8_t out[64];
    size_t n = 0;
    const uint8_t salt[] = "0123456789abcdef";
    ck_assert_int_eq(sl__scram_salted_password(SL__SASL_SCRAM_SHA_256, "pw", salt, 16, 4096, out,
                                               sizeof out, &n),
                     0);
    ck_assert_uint_eq(n, 32);
    ck_assert_int_eq(sl__scram_salted_password(SL__SASL_SCRAM_SHA_512, "pw", salt, 16, 4096, out,
                                               sizeof out, &n),
                     0);
    ck_assert_uint_eq(n, 64);
    ck_assert_int_eq(sl__scram_salted_password(SL__SASL_SCRAM_SHA_512, "pw", salt, 16, 4095, out,
                                               sizeof out, &n),
                     -EINVAL);
    ck_assert_int_eq(
        sl__scram_salted_password(SL__SASL_PLAIN, "pw", salt, 16, 4096, out, sizeof out, &n),
        -EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sl_sasl");
    TCase *tc = tcase_create("scram");
    tcase_add_test(tc, test_rfc7677_vector);
    tcase_add_test(tc, test_server_signature_mismatch);
    tcase_add_test(tc, test_server_error);
    tcase_add_test(tc, test_bad_server_first);
    tcase_add_test(tc, test_sha512_and_random_nonce);
    tcase_add_test(tc, test_plain);
    tcase_add_test(tc, test_salted_password);
    suite_add_tcase(s, tc);
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
