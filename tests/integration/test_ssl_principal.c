/*
 * test_ssl_principal — the principal of an SSL client certificate with Kafka's
 * ssl.principal.mapping.rules on a real splicelogd, enforced by the ACL authorizer: the
 * subject in RFC 2253 form ("CN=splicelog-client", as Kafka's X500Principal names it) mapped
 * by a RULE to User:splicelog-client, which may write the topic its ACL names and no other;
 * a subject no rule maps (no DEFAULT) is refused at the handshake's end, with a log line.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_msg.h"
#include "kp_msg_sec.h"
#include "tb_broker.h"
#include "tb_kafka.h"
#include "tb_sasl.h"
#include "tb_tls.h"

static char g_certs[256];
static struct tb_broker B;

static void start(const char *rules)
{
    static char cert[400], key[400], ca[400], rules_kv[300];
    char p[300];
    snprintf(cert, sizeof cert, "ssl.certificate.location=%s",
             tb_cert_path(p, sizeof p, g_certs, "server.pem"));
    snprintf(key, sizeof key, "ssl.key.location=%s",
             tb_cert_path(p, sizeof p, g_certs, "server.key"));
    snprintf(ca, sizeof ca, "ssl.ca.location=%s", tb_cert_path(p, sizeof p, g_certs, "ca.pem"));
    snprintf(rules_kv, sizeof rules_kv, "ssl.principal.mapping.rules=%s", rules);
    const char *argv[] = {
        "-o", "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
        "-o", cert,
        "-o", key,
        "-o", ca,
        "-o", "ssl.client.auth=required",
        "-o", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "-o", "super.users=User:ANONYMOUS", /* the test's own PLAINTEXT admin connection */
        "-o", rules_kv,
        NULL};
    memset(&B, 0, sizeof B);
    ck_assert_int_eq(tb_broker_start(&B, argv), 0);
}

static void teardown(void) { tb_broker_cleanup(&B); }

/* Produce v7 of one record to topic over ssl; the partition's error code. */
static int16_t tls_produce(SSL *ssl, const char *topic)
{
    static uint8_t batch[512], frame[2048];
    long bl = tb_batch_values(batch, sizeof batch, "v", 0, 1, 0, false, 1700000000000LL);
    struct kp_produce_req_partition part = {0, {batch, (int32_t)bl}};
    struct kp_produce_req_topic t = {kp_str_of(topic), 1, &part};
    struct kp_produce_req req = {KP_STR_NULL, 1, 5000, 1, &t};
    struct kp_wr wr;
    kp_wr_init(&wr, frame, sizeof frame);
    size_t pos = kp_frame_begin(&wr);
    struct kp_req_hdr h = {KP_API_PRODUCE, 7, 42, kp_str_of("tls")};
    ck_assert_int_eq(kp_req_hdr_encode(&wr, &h), 0);
    ck_assert_int_eq(kp_produce_req_encode(&wr, 7, &req), 0);
    ck_assert_int_eq(kp_frame_end(&wr, pos), 0);
    ck_assert_int_eq(tb_tls_write_all(ssl, frame, kp_wr_len(&wr)), 0);
    uint8_t sz[4];
    ck_assert_int_eq(tb_tls_read_all(ssl, sz, 4), 0);
    uint32_t n = kp_load_be32(sz);
    ck_assert_uint_lt(n, sizeof frame);
    ck_assert_int_eq(tb_tls_read_all(ssl, frame, n), 0);
    struct kp_rd rd;
    kp_rd_init(&rd, frame, n);
    int32_t corr;
    ck_assert_int_eq(kp_resp_hdr_decode(&rd, KP_API_PRODUCE, 7, &corr), 0);
    static uint8_t mem[8192];
    struct kp_arena a;
    kp_arena_init(&a, mem, sizeof mem);
    struct kp_produce_resp resp;
    ck_assert_int_eq(kp_produce_resp_decode(&rd, 7, &a, &resp), 0);
    return resp.topics[0].partitions[0].error_code;
}

START_TEST(rule_maps_subject_to_principal)
{
    start("RULE:^CN=([a-z-]+)$/$1/L,DEFAULT");
    int fd = tb_connect(B.port);
    int16_t err;
    ck_assert_int_eq(tb_create_topic(fd, "t", 1, &err), 0);
    ck_assert_int_eq(tb_create_topic(fd, "u", 1, &err), 0);
    struct kp_acl_creation c = {KP_ACL_RESOURCE_TOPIC,  kp_str_of("t"),
                                KP_ACL_PATTERN_LITERAL, kp_str_of("User:splicelog-client"),
                                kp_str_of("*"),         KP_ACL_OP_WRITE,
                                KP_ACL_PERM_ALLOW};
    struct kp_create_acls_req req = {1, &c};
    struct kp_create_acls_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_CREATE_ACLS, 2, TB_ENC(kp_create_acls_req_encode), &req,
                              TB_DEC(kp_create_acls_resp_decode), &resp),
                     0);
    ck_assert_int_eq(resp.results[0].error_code, 0);
    close(fd);

    int sp = tb_listener_port(&B, "SSL");
    ck_assert_int_gt(sp, 0);
    int tfd = tb_connect(sp);
    SSL_CTX *ctx = tb_tls_client_ctx(g_certs, "client", 0);
    char why[256];
    SSL *ssl = tb_tls_connect(ctx, tfd, why, sizeof why);
    ck_assert_msg(ssl != NULL, "%s", why);
    ck_assert_int_eq(tls_produce(ssl, "t"), 0);
    ck_assert_int_eq(tls_produce(ssl, "u"), KP_ERR_TOPIC_AUTHORIZATION_FAILED);
    tb_tls_close(ssl);
    SSL_CTX_free(ctx);
    close(tfd);
    ck_assert(tb_log_wait(&B, "client CN=splicelog-client", 3000));
}
END_TEST

START_TEST(unmapped_subject_refused)
{
    start("RULE:^O=nobody$/x/");
    int sp = tb_listener_port(&B, "SSL");
    int tfd = tb_connect(sp);
    SSL_CTX *ctx = tb_tls_client_ctx(g_certs, "client", 0);
    char why[256];
    SSL *ssl = tb_tls_connect(ctx, tfd, why, sizeof why);
    if (ssl) { /* TLS 1.3: the handshake ends on the client's side first; then closed */
        uint8_t b[4];
        ck_assert_int_lt(tb_tls_read_all(ssl, b, 4), 0);
        tb_tls_close(ssl);
    }
    SSL_CTX_free(ctx);
    close(tfd);
    ck_assert(tb_log_wait(&B, "no rule maps it (ssl.principal.mapping.rules)", 3000));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ssl_principal");
    TCase *tc = tcase_create("ssl_principal");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, rule_maps_subject_to_principal);
    tcase_add_test(tc, unmapped_subject_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (tb_certs_make(g_certs, sizeof g_certs) < 0) {
        fprintf(stderr, "cannot generate test certificates\n");
        return 1;
    }
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tb_certs_cleanup(g_certs);
    return failed ? 1 : 0;
}
