/*
 * test_sasl — SASL on a real splicelogd (listeners PLAINTEXT + SASL_PLAINTEXT), raw protocol
 * through tests/support/tb_sasl (an independent SCRAM client): the handshake and its mechanism
 * list, PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 logins, wrong passwords answered late and the
 * connection closed, a replayed SCRAM client-final refused, requests before authentication
 * refused by closing, a pre-auth frame above sasl.server.max.receive.size closing the
 * connection before it is read, the raw-token (v0) framing, SASL APIs on a PLAINTEXT listener,
 * and KIP-368 session expiry with re-authentication.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "kp_msg.h"
#include "kp_msg_sec.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_kafka.h"
#include "tb_sasl.h"
#include "tb_sec.h"

static struct tb_broker B;
static int sasl_port;

/* A broker with users alice and bob; extra settings appended. */
static void start(const char *const *more)
{
    static const char *const base[] = {
        "-o", "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0", "-o",
        "connection.failed.authentication.delay.ms=300", NULL};
    static const char *const users[] = {"alice", "alice-pw", "bob", "bob-pw", NULL};
    sasl_port = tb_sec_start(&B, base, more, users);
}

static void setup(void) { start(NULL); }
static void teardown(void) { tb_broker_cleanup(&B); }

static int metadata_v4(int fd)
{
    struct kp_metadata_req req = {.n_topics = -1, .allow_auto_topic_creation = false};
    struct kp_metadata_resp resp;
    return tb_kcall(fd, KP_API_METADATA, 4, TB_ENC(kp_metadata_req_encode), &req,
                    TB_DEC(kp_metadata_resp_decode), &resp);
}

START_TEST(handshake_lists_mechanisms)
{
    int fd = tb_connect(sasl_port);
    struct kp_sasl_handshake_req req = {kp_str_of("GSSAPI")};
    struct kp_sasl_handshake_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_SASL_HANDSHAKE, 1, TB_ENC(kp_sasl_handshake_req_encode),
                              &req, TB_DEC(kp_sasl_handshake_resp_decode), &resp),
                     0);
    ck_assert_int_eq(resp.error_code, KP_ERR_UNSUPPORTED_SASL_MECHANISM);
    ck_assert_int_eq(resp.n_mechanisms, 3);
    ck_assert(kp_str_eq(resp.mechanisms[0], "PLAIN"));
    ck_assert(kp_str_eq(resp.mechanisms[1], "SCRAM-SHA-256"));
    ck_assert(kp_str_eq(resp.mechanisms[2], "SCRAM-SHA-512"));
    ck_assert_int_eq(tb_wait_closed(fd, 3000), 1);
    close(fd);
}
END_TEST

/* Each mechanism logs in; the connection then serves other APIs. */
START_TEST(login_each_mechanism)
{
    static const char *const mechs[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
    int fd = tb_connect(sasl_port);
    /* ApiVersions is answered before authentication, and lists the SASL APIs */
    struct kp_api_versions_req av = {kp_str_of("tb"), kp_str_of("1")};
    struct kp_api_versions_resp avr;
    ck_assert_int_eq(tb_kcall(fd, KP_API_API_VERSIONS, 3, TB_ENC(kp_api_versions_req_encode), &av,
                              TB_DEC(kp_api_versions_resp_decode), &avr),
                     0);
    bool hs = false, au = false;
    for (int32_t i = 0; i < avr.n_api_keys; i++) {
        hs |= avr.api_keys[i].api_key == KP_API_SASL_HANDSHAKE;
        au |= avr.api_keys[i].api_key == KP_API_SASL_AUTHENTICATE;
    }
    ck_assert(hs && au);
    ck_assert_int_eq(tb_sasl_login(fd, mechs[_i], "alice", "alice-pw"), 0);
    ck_assert_int_eq(metadata_v4(fd), 0);
    close(fd);
    ck_assert(tb_log_wait(&B, "authenticated as User:alice", 3000));
}
END_TEST

/* A wrong password: SASL_AUTHENTICATION_FAILED, answered no sooner than the delay, then the
 * connection closes; the log names peer, mechanism and user. */
START_TEST(wrong_password_delayed_and_closed)
{
    static const char *const mechs[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
    int fd = tb_connect(sasl_port);
    int64_t t0 = tb_now_ms();
    int rc = tb_sasl_login(fd, mechs[_i], "alice", "not-her-password");
    int64_t took = tb_now_ms() - t0;
    ck_assert_int_eq(rc, KP_ERR_SASL_AUTHENTICATION_FAILED);
    ck_assert_int_ge(took, 280);
    ck_assert_int_eq(tb_wait_closed(fd, 3000), 1);
    close(fd);
    char want[96];
    snprintf(want, sizeof want, "authentication failed (mechanism %s, user alice)", mechs[_i]);
    ck_assert(tb_log_wait(&B, want, 3000));
}
END_TEST

/* An unknown user fails exactly like a wrong password. */
START_TEST(unknown_user)
{
    int fd = tb_connect(sasl_port);
    ck_assert_int_eq(tb_sasl_login(fd, "SCRAM-SHA-512", "mallory", "x"),
                     KP_ERR_SASL_AUTHENTICATION_FAILED);
    close(fd);
}
END_TEST

/* A client-final recorded from one exchange, replayed in another: refused (the server nonce
 * differs). */
START_TEST(replayed_scram_nonce)
{
    struct tb_scram s = {.sha = 256};
    snprintf(s.user, sizeof s.user, "alice");
    snprintf(s.password, sizeof s.password, "alice-pw");
    uint8_t out[2048];
    size_t n;
    char first[600];
    int fd = tb_connect(sasl_port);
    ck_assert_int_eq(tb_sasl_handshake(fd, 1, "SCRAM-SHA-256"), 0);
    tb_scram_first(&s, "fixedclientnonce", first, sizeof first);
    ck_assert_int_eq(
        tb_sasl_auth(fd, 1, (uint8_t *)first, strlen(first), out, sizeof out, &n, NULL), 0);
    ck_assert_int_eq(tb_scram_final(&s, (char *)out, n), 0);
    char recorded[1024];
    snprintf(recorded, sizeof recorded, "%s", s.final);
    ck_assert_int_eq(
        tb_sasl_auth(fd, 1, (uint8_t *)recorded, strlen(recorded), out, sizeof out, &n, NULL), 0);
    close(fd);

    fd = tb_connect(sasl_port);
    ck_assert_int_eq(tb_sasl_handshake(fd, 1, "SCRAM-SHA-256"), 0);
    ck_assert_int_eq(
        tb_sasl_auth(fd, 1, (uint8_t *)first, strlen(first), out, sizeof out, &n, NULL), 0);
    ck_assert_int_eq(
        tb_sasl_auth(fd, 1, (uint8_t *)recorded, strlen(recorded), out, sizeof out, &n, NULL),
        KP_ERR_SASL_AUTHENTICATION_FAILED);
    ck_assert_int_eq(tb_wait_closed(fd, 3000), 1);
    close(fd);
    ck_assert(tb_log_wait(&B, "not the nonce this exchange sent", 3000));
}
END_TEST

/* Any API other than ApiVersions and the SASL ones before authentication: closed, unanswered. */
START_TEST(preauth_request_closes)
{
    int fd = tb_connect(sasl_port);
    ck_assert_int_eq(tb_ksend(fd, KP_API_METADATA, 4, NULL, NULL), 0);
    ck_assert_int_eq(tb_wait_closed(fd, 3000), 1);
    close(fd);
    ck_assert(tb_log_wait(&B, "Metadata request before SASL authentication", 3000));
    /* also after the handshake, before the exchange is done */
    fd = tb_connect(sasl_port);
    ck_assert_int_eq(tb_sasl_handshake(fd, 1, "PLAIN"), 0);
    ck_assert_int_eq(metadata_v4(fd) < 0, 1);
    close(fd);
}
END_TEST

/* A frame size above sasl.server.max.receive.size before authentication: closed at once,
 * without the broker waiting for (or buffering) the body. */
START_TEST(preauth_oversize_frame)
{
    int fd = tb_connect(sasl_port);
    uint8_t hdr[4] = {0, 0x09, 0x00, 0x00}; /* 576 KiB */
    ck_assert_int_eq(tb_send_all(fd, hdr, 4), 0);
    ck_assert_int_eq(tb_wait_closed(fd, 3000), 1);
    close(fd);
    ck_assert(tb_log_wait(&B, "exceeds sasl.server.max.receive.size=524288", 3000));
    /* the same size on the PLAINTEXT listener is only bounded by socket.request.max.bytes */
    fd = tb_connect(B.port);
    ck_assert_int_eq(tb_send_all(fd, hdr, 4), 0);
    ck_assert_int_eq(tb_wait_closed(fd, 500), 0);
    close(fd);
}
END_TEST

/* SaslHandshake v0: the tokens follow as raw length-prefixed frames (kafka-python 2.0). */
START_TEST(raw_v0_tokens)
{
    int fd = tb_connect(sasl_port);
    ck_assert_int_eq(tb_sasl_handshake(fd, 0, "PLAIN"), 0);
    char tok[64];
    int n = snprintf(tok, sizeof tok, "%c%s%c%s", 0, "bob", 0, "bob-pw");
    uint8_t frame[80] = {0, 0, 0, (uint8_t)n};
    memcpy(frame + 4, tok, (size_t)n);
    ck_assert_int_eq(tb_send_all(fd, frame, 4 + (size_t)n), 0);
    struct tb_frame f;
    ck_assert_int_eq(tb_recv_frame(fd, &f, 1024), 0);
    ck_assert_uint_eq(f.len, 0); /* PLAIN's empty server token */
    tb_frame_free(&f);
    ck_assert_int_eq(metadata_v4(fd), 0);
    close(fd);
    ck_assert(tb_log_wait(&B, "authenticated as User:bob", 3000));
}
END_TEST

/* On a PLAINTEXT listener the SASL APIs answer ILLEGAL_SASL_STATE (as Kafka's KafkaApis). */
START_TEST(sasl_on_plaintext_listener)
{
    int fd = tb_connect(B.port);
    ck_assert_int_eq(tb_sasl_handshake(fd, 1, "PLAIN"), KP_ERR_ILLEGAL_SASL_STATE);
    ck_assert_int_eq(tb_sasl_auth(fd, 1, (const uint8_t *)"x", 1, NULL, 0, NULL, NULL),
                     KP_ERR_ILLEGAL_SASL_STATE);
    ck_assert_int_eq(metadata_v4(fd), 0);
    close(fd);
}
END_TEST

/* KIP-368: the session lifetime is told; re-authenticating in time keeps the connection, a
 * request after the session ended closes it. */
START_TEST(reauthentication)
{
    tb_broker_cleanup(&B);
    const char *more[] = {"-o", "connections.max.reauth.ms=1500", NULL};
    start(more);
    int fd = tb_connect(sasl_port);
    ck_assert_int_eq(tb_sasl_handshake(fd, 1, "PLAIN"), 0);
    char tok[64];
    int n = snprintf(tok, sizeof tok, "%c%s%c%s", 0, "alice", 0, "alice-pw");
    int64_t life = 0;
    uint8_t out[64];
    size_t ol;
    ck_assert_int_eq(tb_sasl_auth(fd, 1, (uint8_t *)tok, (size_t)n, out, sizeof out, &ol, &life),
                     0);
    ck_assert_int_eq(life, 1500);
    ck_assert_int_eq(metadata_v4(fd), 0);
    /* re-authenticate as the same user: the session starts again */
    usleep(900 * 1000);
    ck_assert_int_eq(tb_sasl_login(fd, "PLAIN", "alice", "alice-pw"), 0);
    usleep(900 * 1000); /* 1.8 s after the first login, 0.9 s after the second */
    ck_assert_int_eq(metadata_v4(fd), 0);
    /* re-authenticating as someone else closes the connection */
    ck_assert_int_ne(tb_sasl_login(fd, "PLAIN", "bob", "bob-pw"), 0);
    close(fd);
    /* no re-authentication: the next request after the lifetime closes the connection */
    fd = tb_connect(sasl_port);
    ck_assert_int_eq(tb_sasl_login(fd, "PLAIN", "alice", "alice-pw"), 0);
    usleep(1700 * 1000);
    ck_assert_int_lt(metadata_v4(fd), 0);
    close(fd);
    ck_assert(tb_log_wait(&B, "session expired", 3000));
}
END_TEST

/* KIP-554 over the API (no authorizer here: anyone may): a credential made from a salted
 * password logs in at once, Describe lists it, Delete removes it; Kafka's refusals. */
static int16_t alter_one(int fd, const char *user, int8_t mech, int32_t iters, const char *pw,
                         bool del)
{
    uint8_t salt[16] = "0123456789abcdef", salted[64];
    int kl = mech == KP_SCRAM_SHA_512 ? 64 : 32;
    PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof salt, iters > 0 ? iters : 1,
                      mech == KP_SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256(), kl, salted);
    struct kp_scram_credential_upsertion up = {
        kp_str_of(user), mech, iters, {salt, sizeof salt}, {salted, kl}};
    struct kp_scram_credential_deletion d = {kp_str_of(user), mech};
    struct kp_alter_user_scram_credentials_req req = {del ? 1 : 0, &d, del ? 0 : 1, &up};
    struct kp_alter_user_scram_credentials_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_ALTER_USER_SCRAM_CREDENTIALS, 0,
                              TB_ENC(kp_alter_user_scram_credentials_req_encode), &req,
                              TB_DEC(kp_alter_user_scram_credentials_resp_decode), &resp),
                     0);
    ck_assert_int_eq(resp.n_results, 1);
    return resp.results[0].error_code;
}

static int16_t describe_one(int fd, const char *user, int32_t *n_infos, int32_t *iters)
{
    struct kp_str u = kp_str_of(user);
    struct kp_describe_user_scram_credentials_req req = {user ? 1 : -1, user ? &u : NULL};
    struct kp_describe_user_scram_credentials_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_DESCRIBE_USER_SCRAM_CREDENTIALS, 0,
                              TB_ENC(kp_describe_user_scram_credentials_req_encode), &req,
                              TB_DEC(kp_describe_user_scram_credentials_resp_decode), &resp),
                     0);
    ck_assert_int_eq(resp.error_code, 0);
    if (!user) {
        *n_infos = resp.n_results; /* users */
        return 0;
    }
    ck_assert_int_eq(resp.n_results, 1);
    *n_infos = resp.results[0].n_credential_infos;
    *iters = *n_infos > 0 ? resp.results[0].credential_infos[0].iterations : 0;
    return resp.results[0].error_code;
}

START_TEST(scram_credentials_over_the_api)
{
    int fd = tb_connect(B.port);
    ck_assert_int_eq(alter_one(fd, "carol", KP_SCRAM_SHA_512, 8192, "carol-pw", false), 0);
    int32_t n = 0, it = 0;
    ck_assert_int_eq(describe_one(fd, "carol", &n, &it), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(it, 8192);
    ck_assert_int_eq(describe_one(fd, NULL, &n, &it), 0);
    ck_assert_int_eq(n, 3); /* alice, bob, carol */
    int s = tb_connect(sasl_port);
    ck_assert_int_eq(tb_sasl_login(s, "SCRAM-SHA-512", "carol", "carol-pw"), 0);
    close(s);
    /* Kafka's refusals */
    ck_assert_int_eq(alter_one(fd, "carol", KP_SCRAM_SHA_256, 1000, "x", false),
                     KP_ERR_UNACCEPTABLE_CREDENTIAL);
    ck_assert_int_eq(alter_one(fd, "carol", 9, 4096, "x", false),
                     KP_ERR_UNSUPPORTED_SASL_MECHANISM);
    ck_assert_int_eq(alter_one(fd, "", KP_SCRAM_SHA_256, 4096, "x", false),
                     KP_ERR_UNACCEPTABLE_CREDENTIAL);
    ck_assert_int_eq(alter_one(fd, "carol", KP_SCRAM_SHA_256, 4096, "x", true),
                     KP_ERR_RESOURCE_NOT_FOUND);
    ck_assert_int_eq(describe_one(fd, "nobody", &n, &it), KP_ERR_RESOURCE_NOT_FOUND);
    /* deleted: the login fails at once */
    ck_assert_int_eq(alter_one(fd, "carol", KP_SCRAM_SHA_512, 4096, "", true), 0);
    s = tb_connect(sasl_port);
    ck_assert_int_eq(tb_sasl_login(s, "SCRAM-SHA-512", "carol", "carol-pw"),
                     KP_ERR_SASL_AUTHENTICATION_FAILED);
    close(s);
    close(fd);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sasl");
    TCase *tc = tcase_create("sasl");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, handshake_lists_mechanisms);
    tcase_add_loop_test(tc, login_each_mechanism, 0, 3);
    tcase_add_loop_test(tc, wrong_password_delayed_and_closed, 0, 3);
    tcase_add_test(tc, unknown_user);
    tcase_add_test(tc, replayed_scram_nonce);
    tcase_add_test(tc, preauth_request_closes);
    tcase_add_test(tc, preauth_oversize_frame);
    tcase_add_test(tc, raw_v0_tokens);
    tcase_add_test(tc, sasl_on_plaintext_listener);
    tcase_add_test(tc, reauthentication);
    tcase_add_test(tc, scram_credentials_over_the_api);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
