/*
 * test_sl_conf — libsplicelog configuration: defaults, Kafka property names, validation
 * with messages, ssl properties (files checked when a handle is created).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "splicelog.h"
#include "tb_check.h"

static char *get(const sl_conf *c, const char *name)
{
    static char buf[256];
    size_t size = sizeof(buf);
    ck_assert_int_eq(sl_conf_get(c, name, buf, &size), SL_ERR_NO_ERROR);
    return buf;
}

START_TEST(test_defaults)
{
    sl_conf *c = sl_conf_new();
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(get(c, "bootstrap.servers"), "127.0.0.1:9092");
    ck_assert_str_eq(get(c, "acks"), "-1");
    ck_assert_str_eq(get(c, "linger.ms"), "5");
    ck_assert_str_eq(get(c, "max.in.flight.requests.per.connection"), "5");
    ck_assert_str_eq(get(c, "check.crcs"), "false");
    ck_assert_str_eq(get(c, "security.protocol"), "plaintext");
    ck_assert_str_eq(get(c, "compression.type"), "none");
    ck_assert_str_eq(get(c, "queued.max.messages.kbytes"), "65536");
    ck_assert_str_eq(get(c, "auto.offset.reset"), "latest");
    sl_conf_free(c);
}
END_TEST

START_TEST(test_every_issue_property_is_known)
{
    static const char *const names[] = {
        "bootstrap.servers", "client.id", "acks", "linger.ms", "batch.size",
        "max.in.flight.requests.per.connection", "retries", "request.timeout.ms",
        "delivery.timeout.ms", "compression.type", "security.protocol", "ssl.ca.location",
        "ssl.certificate.location", "ssl.key.location", "fetch.min.bytes", "fetch.wait.max.ms",
        "fetch.max.bytes", "max.partition.fetch.bytes", "check.crcs", "queued.max.messages.kbytes",
        /* issue 15: librdkafka's names and aliases */
        "queue.buffering.max.ms", "message.timeout.ms", "socket.timeout.ms", "compression.codec",
        "compression.level", "statistics.interval.ms", "metadata.broker.list", "partitioner",
        "group.id", "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms",
        "enable.auto.commit", "auto.commit.interval.ms", "partition.assignment.strategy",
        "enable.partition.eof"};
    sl_conf *c = sl_conf_new();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t size = 0;
        ck_assert_msg(sl_conf_get(c, names[i], NULL, &size) == SL_ERR_NO_ERROR, "%s", names[i]);
        ck_assert_uint_ge(size, 1);
    }
    sl_conf_free(c);
}
END_TEST

START_TEST(test_set_valid)
{
    sl_conf *c = sl_conf_new();
    char err[128];
    ck_assert_int_eq(sl_conf_set(c, "acks", "all", err, sizeof(err)), SL_ERR_NO_ERROR);
    ck_assert_str_eq(get(c, "acks"), "-1");
    ck_assert_int_eq(sl_conf_set(c, "acks", "1", err, sizeof(err)), SL_ERR_NO_ERROR);
    ck_assert_str_eq(get(c, "acks"), "1");
    ck_assert_int_eq(sl_conf_set(c, "linger.ms", "0", err, sizeof(err)), SL_ERR_NO_ERROR);
    ck_assert_str_eq(get(c, "linger.ms"), "0");
    ck_assert_int_eq(sl_conf_set(c, "check.crcs", "true", err, sizeof(err)), SL_ERR_NO_ERROR);
    ck_assert_str_eq(get(c, "check.crcs"), "true");
    ck_assert_int_eq(sl_conf_set(c, "bootstrap.servers", "a:1,b.example:65535", err, sizeof(err)),
                     SL_ERR_NO_ERROR);
    ck_assert_str_eq(get(c, "bootstrap.servers"), "a:1,b.example:65535");
    ck_assert_int_eq(sl_conf_set(c, "auto.offset.reset", "smallest", err, sizeof(err)),
                     SL_ERR_NO_ERROR);
    ck_assert_str_eq(get(c, "auto.offset.reset"), "earliest");
    ck_assert_int_eq(sl_conf_set(c, "ssl.ca.location", "/tmp/ca.pem", NULL, 0), SL_ERR_NO_ERROR);
    ck_assert_str_eq(get(c, "ssl.ca.location"), "/tmp/ca.pem");
    /* Codecs, and librdkafka's aliases setting the same property. */
    static const char *const set[][3] = {
        {"compression.type", "GZIP", "gzip"},
        {"compression.codec", "zstd", "zstd"},
        {"compression.type", "zstd", "zstd"},
        {"compression.level", "3", "3"},
        {"queue.buffering.max.ms", "7", "7"},
        {"linger.ms", "7", "7"},
        {"message.timeout.ms", "1234", "1234"},
        {"delivery.timeout.ms", "1234", "1234"},
        {"socket.timeout.ms", "4321", "4321"},
        {"request.timeout.ms", "4321", "4321"},
        {"metadata.broker.list", "h:1", "h:1"},
        {"bootstrap.servers", "h:1", "h:1"},
        {"partitioner", "consistent_random", "consistent_random"},
        {"partition.assignment.strategy", "cooperative-sticky", "cooperative-sticky"},
        {"enable.idempotence", "false", "false"},
        {"statistics.interval.ms", "1000", "1000"},
    };
    for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
        ck_assert_msg(sl_conf_set(c, set[i][0], set[i][1], err, sizeof(err)) == SL_ERR_NO_ERROR,
                      "%s=%s: %s", set[i][0], set[i][1], err);
        ck_assert_str_eq(get(c, set[i][0]), set[i][2]);
    }
    ck_assert_int_eq(sl_conf_set(c, "batch.num.messages", "10000", err, sizeof(err)),
                     SL_ERR_NO_ERROR); /* accepted, no effect */
    sl_conf_free(c);
}
END_TEST

START_TEST(test_set_invalid_leaves_conf_unchanged)
{
    static const char *const bad[][2] = {
        {"acks", "2"},
        {"acks", ""},
        {"linger.ms", "-1"},
        {"linger.ms", "5ms"},
        {"batch.size", "abc"},
        {"batch.size", "10"},
        {"max.in.flight.requests.per.connection", "0"},
        {"check.crcs", "maybe"},
        {"bootstrap.servers", "localhost"},
        {"bootstrap.servers", "host:0"},
        {"bootstrap.servers", "host:70000"},
        {"bootstrap.servers", ":9092"},
        {"security.protocol", "sasl_kerberos"},
        {"sasl.mechanisms", "GSSAPI"},
        {"sasl.mechanism", "OAUTHBEARER"},
        {"compression.type", "brotli"},
        {"compression.codec", "lzma"},
        {"compression.level", "23"},
        {"partitioner", "crc"},
        {"partition.assignment.strategy", "range,cooperative-sticky"},
        {"partition.assignment.strategy", "sticky"},
        {"session.timeout.ms", "0"},
        {"auto.offset.reset", "sometimes"},
        {"fetch.max.bytes", "99999999999999999999"},
    };
    sl_conf *c = sl_conf_new();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char before[256], err[256] = "";
        size_t size = sizeof(before);
        sl_conf_get(c, bad[i][0], before, &size);
        ck_assert_msg(sl_conf_set(c, bad[i][0], bad[i][1], err, sizeof(err)) ==
                          SL_ERR__INVALID_CONF,
                      "%s=%s accepted", bad[i][0], bad[i][1]);
        ck_assert_msg(strstr(err, bad[i][0]) || strstr(err, bad[i][1]), "message \"%s\"", err);
        ck_assert_str_eq(get(c, bad[i][0]), before);
    }
    sl_conf_free(c);
}
END_TEST

/* enable.idempotence as librdkafka takes it: what is left alone follows it, what is set
 * explicitly against it makes the producer refuse to start, naming the property. */
START_TEST(test_idempotence_conflicts)
{
    static const char *const bad[][2] = {
        {"acks", "1"},
        {"acks", "0"},
        {"retries", "0"},
        {"max.in.flight.requests.per.connection", "6"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sl_conf *c = sl_conf_new();
        char err[256] = "";
        ck_assert_int_eq(sl_conf_set(c, "enable.idempotence", "true", err, sizeof(err)),
                         SL_ERR_NO_ERROR);
        ck_assert_int_eq(sl_conf_set(c, bad[i][0], bad[i][1], err, sizeof(err)), SL_ERR_NO_ERROR);
        sl_producer *p = sl_producer_new(c, err, sizeof(err));
        ck_assert_msg(p == NULL, "%s=%s accepted with idempotence", bad[i][0], bad[i][1]);
        ck_assert_msg(strstr(err, "enable.idempotence") &&
                          strstr(err, bad[i][0][0] == 'm' ? "max.in.flight" : bad[i][0]),
                      "message \"%s\"", err);
    }
    /* Explicit values that agree are fine; so are explicit acks=all and retries=1. */
    static const char *const good[][2] = {
        {"acks", "all"},
        {"acks", "-1"},
        {"retries", "1"},
        {"max.in.flight.requests.per.connection", "5"},
        {"max.in.flight.requests.per.connection", "1"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        sl_conf *c = sl_conf_new();
        char err[256] = "";
        sl_conf_set(c, "enable.idempotence", "true", err, sizeof(err));
        sl_conf_set(c, "bootstrap.servers", "127.0.0.1:1", err, sizeof(err));
        ck_assert_int_eq(sl_conf_set(c, good[i][0], good[i][1], err, sizeof(err)), SL_ERR_NO_ERROR);
        sl_producer *p = sl_producer_new(c, err, sizeof(err));
        ck_assert_msg(p != NULL, "%s=%s refused: %s", good[i][0], good[i][1], err);
        sl_producer_free(p);
    }
    /* Without idempotence the same values are fine. */
    sl_conf *c = sl_conf_new();
    char err[256] = "";
    sl_conf_set(c, "bootstrap.servers", "127.0.0.1:1", err, sizeof(err));
    sl_conf_set(c, "acks", "1", err, sizeof(err));
    sl_conf_set(c, "max.in.flight.requests.per.connection", "20", err, sizeof(err));
    sl_producer *p = sl_producer_new(c, err, sizeof(err));
    ck_assert_ptr_nonnull(p);
    sl_producer_free(p);
}
END_TEST

START_TEST(test_unknown_name)
{
    sl_conf *c = sl_conf_new();
    char err[128] = "";
    ck_assert_int_eq(sl_conf_set(c, "no.such.property", "1", err, sizeof(err)),
                     SL_ERR__INVALID_CONF);
    ck_assert_ptr_nonnull(strstr(err, "no.such.property"));
    size_t size = 8;
    char buf[8];
    ck_assert_int_eq(sl_conf_get(c, "no.such.property", buf, &size), SL_ERR__INVALID_CONF);
    /* A tiny errstr is truncated, still terminated. */
    char tiny[5];
    ck_assert_int_eq(sl_conf_set(c, "nope", "1", tiny, sizeof(tiny)), SL_ERR__INVALID_CONF);
    ck_assert_uint_eq(strlen(tiny), 4);
    sl_conf_free(c);
}
END_TEST

START_TEST(test_get_truncates_and_reports_size)
{
    sl_conf *c = sl_conf_new();
    char buf[4];
    size_t size = sizeof(buf);
    ck_assert_int_eq(sl_conf_get(c, "bootstrap.servers", buf, &size), SL_ERR_NO_ERROR);
    ck_assert_uint_eq(size, strlen("127.0.0.1:9092") + 1);
    ck_assert_str_eq(buf, "127");
    sl_conf_free(c);
}
END_TEST

START_TEST(test_dup_is_independent)
{
    sl_conf *a = sl_conf_new();
    sl_conf_set(a, "client.id", "first", NULL, 0);
    sl_conf *b = sl_conf_dup(a);
    sl_conf_set(b, "client.id", "second", NULL, 0);
    ck_assert_str_eq(get(a, "client.id"), "first");
    ck_assert_str_eq(get(b, "client.id"), "second");
    sl_conf_free(a);
    sl_conf_free(b);
}
END_TEST

START_TEST(test_ssl_properties)
{
    sl_conf *c = sl_conf_new();
    ck_assert_str_eq(get(c, "ssl.endpoint.identification.algorithm"), "https");
    ck_assert_int_eq(sl_conf_set(c, "ssl.endpoint.identification.algorithm", "none", NULL, 0),
                     SL_ERR_NO_ERROR);
    ck_assert_str_eq(get(c, "ssl.endpoint.identification.algorithm"), "none");
    char err[256] = "";
    ck_assert_int_eq(
        sl_conf_set(c, "ssl.endpoint.identification.algorithm", "dns", err, sizeof(err)),
        SL_ERR__INVALID_CONF);
    ck_assert_ptr_nonnull(strstr(err, "ssl.endpoint.identification.algorithm"));
    ck_assert_str_eq(get(c, "ssl.endpoint.identification.algorithm"), "none");
    ck_assert_int_eq(sl_conf_set(c, "ssl.key.password", "secret", NULL, 0), SL_ERR_NO_ERROR);
    ck_assert_str_eq(get(c, "ssl.key.password"), "secret");
    sl_conf *d = sl_conf_dup(c);
    ck_assert_str_eq(get(d, "ssl.key.password"), "secret");
    sl_conf_free(d);
    sl_conf_free(c);
}
END_TEST

START_TEST(test_ssl_files_checked_at_creation)
{
    /* ssl with the system's CA paths: the handle is created (it connects lazily). */
    sl_conf *c = sl_conf_new();
    sl_conf_set(c, "bootstrap.servers", "127.0.0.1:1", NULL, 0);
    ck_assert_int_eq(sl_conf_set(c, "security.protocol", "ssl", NULL, 0), SL_ERR_NO_ERROR);
    sl_conf *c2 = sl_conf_dup(c);
    sl_conf *c3 = sl_conf_dup(c);
    char err[512] = "";
    ck_assert_int_eq(sl_conf_set(c, "ssl.ca.location", "", NULL, 0), 0); /* "" is unset */
    sl_producer *p = sl_producer_new(c, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    sl_producer_free(p);
    /* A CA file that does not exist: refused, naming it. */
    ck_assert_int_eq(sl_conf_set(c2, "ssl.ca.location", "/nonexistent/ca.pem", NULL, 0), 0);
    ck_assert_ptr_null(sl_consumer_new(c2, err, sizeof(err))); /* takes c2 */
    ck_assert_msg(strstr(err, "/nonexistent/ca.pem") != NULL, "%s", err);
    /* A key without its certificate. */
    ck_assert_int_eq(sl_conf_set(c3, "ssl.key.location", "/nonexistent/k.pem", NULL, 0), 0);
    err[0] = 0;
    ck_assert_ptr_null(sl_producer_new(c3, err, sizeof(err)));
    ck_assert_msg(strstr(err, "ssl.certificate.location") != NULL, "%s", err);
}
END_TEST

START_TEST(test_handles_take_conf_and_connect_lazily)
{
    /* Nothing listens on port 1: creating and freeing must still succeed without I/O. */
    sl_conf *c = sl_conf_new();
    sl_conf_set(c, "bootstrap.servers", "127.0.0.1:1", NULL, 0);
    sl_producer *p = sl_producer_new(c, NULL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(sl_outq_len(p), 0);
    sl_producer_free(p);
}
END_TEST

START_TEST(test_unreachable_broker_fails_in_time)
{
    /* Port 1 refuses connections: the record is queued at once (sl_produce does not wait for
     * metadata) and reported failed by message.timeout.ms; free returns. */
    sl_conf *c = sl_conf_new();
    sl_conf_set(c, "bootstrap.servers", "127.0.0.1:1", NULL, 0);
    sl_conf_set(c, "request.timeout.ms", "300", NULL, 0);
    sl_conf_set(c, "message.timeout.ms", "300", NULL, 0);
    sl_producer *p = sl_producer_new(c, NULL, 0);
    sl_err e = sl_produce(p, "t", 0, NULL, 0, "v", 1, NULL, 0, 0, NULL);
    ck_assert_int_eq(e, SL_ERR_NO_ERROR);
    ck_assert_uint_eq(sl_outq_len(p), 1);
    ck_assert_int_eq(sl_flush(p, 5000), SL_ERR_NO_ERROR);
    ck_assert_uint_eq(sl_outq_len(p), 0);
    sl_producer_free(p);
    /* The consumer's assign waits for metadata, at most request.timeout.ms. */
    c = sl_conf_new();
    sl_conf_set(c, "bootstrap.servers", "127.0.0.1:1", NULL, 0);
    sl_conf_set(c, "request.timeout.ms", "300", NULL, 0);
    sl_consumer *k = sl_consumer_new(c, NULL, 0);
    e = sl_consumer_assign(k, "t", 0, SL_OFFSET_BEGINNING);
    ck_assert_msg(e == SL_ERR__TRANSPORT || e == SL_ERR__TIMED_OUT, "%s", sl_err2str(e));
    sl_record r;
    ck_assert_int_eq(sl_consumer_poll(k, 50, &r), SL_ERR__TIMED_OUT);
    sl_consumer_free(k);
}
END_TEST

START_TEST(test_sasl_properties)
{
    /* librdkafka's names: security.protocol sasl_plaintext / sasl_ssl, sasl.mechanism(s),
     * sasl.username, sasl.password; a SASL handle without credentials is refused. */
    sl_conf *c = sl_conf_new();
    ck_assert_str_eq(get(c, "sasl.mechanisms"), "PLAIN");
    ck_assert_int_eq(sl_conf_set(c, "security.protocol", "SASL_PLAINTEXT", NULL, 0), 0);
    ck_assert_str_eq(get(c, "security.protocol"), "sasl_plaintext");
    ck_assert_int_eq(sl_conf_set(c, "sasl.mechanism", "scram-sha-512", NULL, 0), 0);
    ck_assert_str_eq(get(c, "sasl.mechanisms"), "SCRAM-SHA-512");
    ck_assert_int_eq(sl_conf_set(c, "sasl.mechanisms", "SCRAM-SHA-256", NULL, 0), 0);
    ck_assert_int_eq(sl_conf_set(c, "security.protocol", "sasl_ssl", NULL, 0), 0);
    ck_assert_int_eq(sl_conf_set(c, "security.protocol", "sasl_plaintext", NULL, 0), 0);
    char err[256] = "";
    sl_conf *d = sl_conf_dup(c);
    sl_admin *a = sl_admin_new(d, err, sizeof err);
    ck_assert_ptr_null(a);
    ck_assert_msg(strstr(err, "sasl.username"), "%s", err);
    ck_assert_int_eq(sl_conf_set(c, "sasl.username", "bob", NULL, 0), 0);
    ck_assert_int_eq(sl_conf_set(c, "sasl.password", "secret", NULL, 0), 0);
    ck_assert_str_eq(get(c, "sasl.username"), "bob");
    a = sl_admin_new(c, err, sizeof err);
    ck_assert_ptr_nonnull(a);
    sl_admin_free(a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sl_conf");
    TCase *tc = tcase_create("conf");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_every_issue_property_is_known);
    tcase_add_test(tc, test_set_valid);
    tcase_add_test(tc, test_set_invalid_leaves_conf_unchanged);
    tcase_add_test(tc, test_unknown_name);
    tcase_add_test(tc, test_idempotence_conflicts);
    tcase_add_test(tc, test_get_truncates_and_reports_size);
    tcase_add_test(tc, test_dup_is_independent);
    tcase_add_test(tc, test_ssl_properties);
    tcase_add_test(tc, test_ssl_files_checked_at_creation);
    tcase_add_test(tc, test_handles_take_conf_and_connect_lazily);
    tcase_add_test(tc, test_unreachable_broker_fails_in_time);
    tcase_add_test(tc, test_sasl_properties);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
