/*
 * test_sl_auth — SASL on libsplicelog's connections (client/sl_auth.c) against the scripted
 * broker (sl_fake_broker.h serving SaslHandshake v1 and SaslAuthenticate): a producer with
 * security.protocol=sasl_plaintext logs in with PLAIN before anything else leaves the
 * connection (its Metadata and Produce wait behind the login) and then delivers; a refused
 * login reaches the error callback as SASL_AUTHENTICATION_FAILED with the broker's message, no
 * other request is ever sent, and the next login waits out a backoff instead of looping; a
 * mechanism the broker does not enable is refused with the mechanisms it offers.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kp_msg_sec.h"
#include "sl_int.h"

#include "sl_fake_broker.h"

static struct {
    int handshakes, authenticates;
    int metadata_before_auth; /* Metadata requests seen at the first login: must be 0 */
    bool logged_in;
    const char *password; /* what the broker accepts for "bob" */
    char mech[32];        /* the last handshake's */
} S;

static const struct kp_api_range sasl_apis[] = {{KP_API_SASL_HANDSHAKE, 0, 1},
                                                {KP_API_SASL_AUTHENTICATE, 0, 2}};

static int serve(int16_t key, int16_t v, struct kp_rd *rd, struct kp_arena *a, struct kp_wr *w)
{
    if (key == KP_API_SASL_HANDSHAKE) {
        struct kp_sasl_handshake_req q;
        if (kp_sasl_handshake_req_decode(rd, v, a, &q))
            return -EBADMSG;
        S.handshakes++;
        snprintf(S.mech, sizeof S.mech, "%.*s", (int)q.mechanism.len, q.mechanism.ptr);
        static const struct kp_str offered[] = {{"PLAIN", 5}};
        struct kp_sasl_handshake_resp r = {kp_str_eq(q.mechanism, "PLAIN") ? 0 : 33, 1, offered};
        return kp_sasl_handshake_resp_encode(w, v, &r);
    }
    if (key == KP_API_SASL_AUTHENTICATE) {
        struct kp_sasl_authenticate_req q;
        if (kp_sasl_authenticate_req_decode(rd, v, a, &q))
            return -EBADMSG;
        S.authenticates++;
        char want[64];
        int n = snprintf(want, sizeof want, "%c%s%c%s", 0, "bob", 0, S.password);
        bool ok = q.auth_bytes.len == n && memcmp(q.auth_bytes.ptr, want, (size_t)n) == 0;
        if (ok && !S.logged_in) {
            S.logged_in = true;
            S.metadata_before_auth = fb.metadata;
        }
        struct kp_sasl_authenticate_resp r = {ok ? 0 : 58,
                                              ok ? KP_STR_NULL
                                                 : kp_str_of("invalid credentials for bob"),
                                              {(const uint8_t *)"", 0},
                                              0};
        return kp_sasl_authenticate_resp_encode(w, v, &r);
    }
    return -ENOTSUP;
}

static void setup(void)
{
    memset(&S, 0, sizeof S);
    S.password = "secret";
    ck_assert_int_eq(fb_start(1), 0);
    fb.extra = serve;
    fb.extra_apis = sasl_apis;
    fb.n_extra_apis = 2;
}

static void teardown(void) { fb_stop(); }

static struct {
    int auth_failed, other_errors, delivered, failed;
    char reason[256];
} E;

static void on_error(void *opaque, sl_err err, const char *reason)
{
    if (err == SL_ERR_SASL_AUTHENTICATION_FAILED) {
        if (E.auth_failed++ == 0)
            snprintf(E.reason, sizeof E.reason, "%s", reason);
    } else {
        E.other_errors++;
    }
}

static void on_dr(sl_producer *p, const sl_delivery *d, void *opaque)
{
    if (d->err)
        E.failed++;
    else
        E.delivered++;
}

static sl_producer *producer(const char *mech, const char *password)
{
    memset(&E, 0, sizeof E);
    sl_conf *c = sl_conf_new();
    char b[64], err[256];
    snprintf(b, sizeof b, "127.0.0.1:%d", fb.port);
    ck_assert_int_eq(sl_conf_set(c, "bootstrap.servers", b, err, sizeof err), 0);
    ck_assert_int_eq(sl_conf_set(c, "security.protocol", "sasl_plaintext", err, sizeof err), 0);
    ck_assert_int_eq(sl_conf_set(c, "sasl.mechanism", mech, err, sizeof err), 0);
    ck_assert_int_eq(sl_conf_set(c, "sasl.username", "bob", err, sizeof err), 0);
    ck_assert_int_eq(sl_conf_set(c, "sasl.password", password, err, sizeof err), 0);
    ck_assert_int_eq(sl_conf_set(c, "message.timeout.ms", "2500", err, sizeof err), 0);
    sl_conf_set_error_cb(c, on_error);
    sl_conf_set_delivery_cb(c, on_dr);
    sl_producer *p = sl_producer_new(c, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    return p;
}

/* Produces one record to "t" and polls until it is reported (bounded). */
static void produce_one(sl_producer *p)
{
    ck_assert_int_eq(sl_produce(p, "t", 0, "k", 1, "v", 1, NULL, 0, 0, NULL), SL_ERR_NO_ERROR);
    for (int i = 0; i < 100 && E.delivered + E.failed == 0; i++)
        sl_poll(p, 100);
    sl_poll(p, 0);
}

START_TEST(login_first_then_deliver)
{
    sl_producer *p = producer("PLAIN", "secret");
    produce_one(p);
    ck_assert_int_eq(E.delivered, 1);
    ck_assert_int_eq(E.auth_failed, 0);
    pthread_mutex_lock(&fb.mu);
    ck_assert(S.logged_in);
    ck_assert_str_eq(S.mech, "PLAIN");
    /* No Metadata reached the broker before the login. */
    ck_assert_int_eq(S.metadata_before_auth, 0);
    ck_assert_int_ge(fb.metadata, 1);
    ck_assert_int_eq(S.handshakes, S.authenticates);
    pthread_mutex_unlock(&fb.mu);
    sl_producer_free(p);
}
END_TEST

START_TEST(refused_login_is_reported_not_looped)
{
    sl_producer *p = producer("PLAIN", "wrong");
    produce_one(p); /* fails at message.timeout.ms (2.5 s) */
    ck_assert_int_eq(E.failed, 1);
    ck_assert_int_ge(E.auth_failed, 1);
    ck_assert_msg(strstr(E.reason, "PLAIN login as 'bob' failed: invalid credentials for bob"),
                  "%s", E.reason);
    pthread_mutex_lock(&fb.mu);
    ck_assert(!S.logged_in);
    ck_assert_int_eq(fb.metadata, 0); /* nothing but the login ever left */
    /* 2.5 s with a backoff from 1 s doubling: a handful of attempts, not a loop. */
    ck_assert_int_le(S.authenticates, 4);
    pthread_mutex_unlock(&fb.mu);
    sl_producer_free(p);
}
END_TEST

START_TEST(mechanism_not_enabled)
{
    sl_producer *p = producer("SCRAM-SHA-256", "secret");
    produce_one(p);
    ck_assert_int_eq(E.failed, 1);
    ck_assert_int_ge(E.auth_failed, 1);
    ck_assert_msg(strstr(E.reason, "does not enable the mechanism (it offers: PLAIN)"), "%s",
                  E.reason);
    pthread_mutex_lock(&fb.mu);
    ck_assert_str_eq(S.mech, "SCRAM-SHA-256");
    ck_assert_int_eq(S.authenticates, 0);
    ck_assert_int_eq(fb.metadata, 0);
    pthread_mutex_unlock(&fb.mu);
    sl_producer_free(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sl_auth");
    TCase *tc = tcase_create("sasl");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, login_first_then_deliver);
    tcase_add_test(tc, refused_login_is_reported_not_looped);
    tcase_add_test(tc, mechanism_not_enabled);
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
