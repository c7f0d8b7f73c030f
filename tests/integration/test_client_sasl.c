/*
 * test_client_sasl — libsplicelog's SASL against a real splicelogd with a SASL_PLAINTEXT (and a
 * SASL_SSL) listener and Kafka's ACL authorizer (super.users=User:admin), the way an operator
 * works: the first administrator made offline with `splicelog user create --data-dir`, then,
 * over the Kafka API as admin, `splicelog user create` bob, `splicelog acl add` letting bob write
 * topic t; a libsplicelog producer logged in as bob (SCRAM-SHA-512) delivers to t and gets
 * TOPIC_AUTHORIZATION_FAILED for u, and with READ ACLs bob consumes t in a group; a wrong
 * password reaches the error callback as SASL_AUTHENTICATION_FAILED with the broker's message
 * (and the producer does not hammer the broker with logins); `splicelog user list` shows bob,
 * `acl list` the binding; after `user delete` bob cannot log in. The same login and produce
 * over SASL_SSL (TLS, then SASL), and SASL PLAIN and SCRAM-SHA-256 on the admin handle.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "splicelog.h"
#include "tb_broker.h"
#include "tb_tls.h"

static struct tb_broker B;
static char certs[256];
static int sasl_port, ssl_port;
static char out[400];

/* ---- the splicelog tool ---------------------------------------------------------------------- */

static const char *tool_path(void)
{
    static char path[PATH_MAX];
    const char *b = getenv("SPLICELOG_BUILD"), *root = getenv("SPLICELOG_ROOT");
    if (b)
        snprintf(path, sizeof path, "%s/san/splicelog", b);
    else
        snprintf(path, sizeof path, "%s/build/san/splicelog", root ? root : ".");
    return path;
}

/* Runs `splicelog args...` (stdout in out, stderr in out.err): its exit status. */
static int splicelog(const char *const *args)
{
    const char *argv[48] = {tool_path()};
    int n = 1;
    for (; args[n - 1] && n < 47; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = tb_spawn(argv, out);
    ck_assert_msg(pid > 0, "spawn %s %s (out %s): %s", args[0], args[1], out, strerror(-pid));
    int st = tb_wait_exit(pid, 60000);
    ck_assert_msg(st >= 0 && WIFEXITED(st), "splicelog did not exit");
    if (WEXITSTATUS(st) != 0) { /* the tool's stderr, for the test's log */
        char p[420], buf[2048] = {0};
        snprintf(p, sizeof p, "%s.err", out);
        FILE *f = fopen(p, "r");
        if (f) {
            fprintf(stderr, "splicelog %s %s: %.*s", args[0], args[1],
                    (int)fread(buf, 1, sizeof buf - 1, f), buf);
            fclose(f);
        }
    }
    return WEXITSTATUS(st);
}

static bool out_has(const char *suffix, const char *needle)
{
    char p[420], buf[8192] = {0};
    snprintf(p, sizeof p, "%s%s", out, suffix);
    FILE *f = fopen(p, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, needle) != NULL;
}

/* splicelog NOUN VERB ... as admin over the SASL_PLAINTEXT listener (extra: more options). */
#define AS_ADMIN(bs)                                                                               \
    "--bootstrap", (bs), "-X", "security.protocol=sasl_plaintext", "-X",                           \
        "sasl.mechanism=SCRAM-SHA-512", "-X", "sasl.username=admin", "-X",                         \
        "sasl.password=admin-secret"

/* ---- the broker ------------------------------------------------------------------------------ */

static void start(void)
{
    ck_assert_int_eq(tb_certs_make(certs, sizeof certs), 0);
    char a_cert[600], a_key[600], a_ca[600], p[512];
    snprintf(a_cert, sizeof a_cert, "ssl.certificate.location=%s",
             tb_cert_path(p, sizeof p, certs, "server.pem"));
    snprintf(a_key, sizeof a_key, "ssl.key.location=%s",
             tb_cert_path(p, sizeof p, certs, "server.key"));
    snprintf(a_ca, sizeof a_ca, "ssl.ca.location=%s", tb_cert_path(p, sizeof p, certs, "ca.pem"));
    const char *argv[] = {
        "-o",
        "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,"
        "SASL_SSL://127.0.0.1:0",
        "-o",
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "-o",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "-o",
        "super.users=User:admin",
        "-o",
        "connection.failed.authentication.delay.ms=0",
        "-o",
        "num.partitions=1",
        "-o",
        a_cert,
        "-o",
        a_key,
        "-o",
        a_ca,
        "-o",
        "ssl.client.auth=none",
        NULL};
    memset(&B, 0, sizeof B);
    ck_assert_int_eq(tb_broker_start(&B, argv), 0);
    ck_assert_int_ge(tb_broker_stop(&B, SIGTERM), 0);
    snprintf(out, sizeof out, "%s/tool.out", B.dir);
    /* The first administrator, offline, before the broker runs: both SCRAM mechanisms. */
    const char *const mechs[] = {"SCRAM-SHA-512", "SCRAM-SHA-256"};
    for (int i = 0; i < 2; i++) {
        const char *mk[] = {"user",        "create", "--data-dir", B.data,
                            "--name",      "admin",  "--password", "admin-secret",
                            "--mechanism", mechs[i], NULL};
        ck_assert_int_eq(splicelog(mk), 0);
    }
    ck_assert_int_eq(tb_broker_start(&B, argv), 0);
    sasl_port = tb_listener_port(&B, "SASL_PLAINTEXT");
    ssl_port = tb_listener_port(&B, "SASL_SSL");
    ck_assert_int_gt(sasl_port, 0);
    ck_assert_int_gt(ssl_port, 0);
}

/* The checked fixture's teardown: runs after a failed test too. */
static void stop(void)
{
    tb_broker_cleanup(&B);
    if (certs[0])
        tb_certs_cleanup(certs);
    certs[0] = 0;
}

/* ---- libsplicelog ---------------------------------------------------------------------------- */

struct events {
    int auth_failed;  /* SL_ERR_SASL_AUTHENTICATION_FAILED error callbacks */
    char reason[256]; /* the first one's */
    int delivered, failed;
    sl_err last_err;
};

static void on_error(void *opaque, sl_err err, const char *reason)
{
    struct events *ev = opaque;
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "error callback: %s: %s\n", sl_err2name(err), reason);
    if (err == SL_ERR_SASL_AUTHENTICATION_FAILED && ev->auth_failed++ == 0)
        snprintf(ev->reason, sizeof ev->reason, "%s", reason);
}

static void on_delivery(sl_producer *p, const sl_delivery *dr, void *opaque)
{
    struct events *ev = opaque;
    if (dr->err) {
        ev->failed++;
        ev->last_err = dr->err;
    } else {
        ev->delivered++;
    }
}

static sl_conf *conf_for(int port, bool tls, const char *mech, const char *user, const char *pw,
                         struct events *ev)
{
    sl_conf *c = sl_conf_new();
    char bs[64], err[512], p[512];
    snprintf(bs, sizeof bs, "127.0.0.1:%d", port);
    ck_assert_int_eq(sl_conf_set(c, "bootstrap.servers", bs, err, sizeof err), 0);
    ck_assert_int_eq(
        sl_conf_set(c, "security.protocol", tls ? "SASL_SSL" : "SASL_PLAINTEXT", err, sizeof err),
        0);
    ck_assert_int_eq(sl_conf_set(c, "sasl.mechanism", mech, err, sizeof err), 0);
    ck_assert_int_eq(sl_conf_set(c, "sasl.username", user, err, sizeof err), 0);
    ck_assert_int_eq(sl_conf_set(c, "sasl.password", pw, err, sizeof err), 0);
    if (tls)
        ck_assert_int_eq(sl_conf_set(c, "ssl.ca.location",
                                     tb_cert_path(p, sizeof p, certs, "ca.pem"), err, sizeof err),
                         0);
    ck_assert_int_eq(sl_conf_set(c, "message.timeout.ms", "8000", err, sizeof err), 0);
    ck_assert_int_eq(sl_conf_set(c, "request.timeout.ms", "5000", err, sizeof err), 0);
    sl_conf_set_opaque(c, ev);
    sl_conf_set_error_cb(c, on_error);
    sl_conf_set_delivery_cb(c, on_delivery);
    return c;
}

/* Produces one record to topic as user and waits for its report: the record's error. */
static sl_err produce_as(int port, bool tls, const char *user, const char *pw, const char *topic,
                         struct events *ev)
{
    memset(ev, 0, sizeof *ev);
    char err[512];
    sl_producer *p =
        sl_producer_new(conf_for(port, tls, "SCRAM-SHA-512", user, pw, ev), err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    sl_err e = sl_produce(p, topic, -1, "k", 1, "v", 1, NULL, 0, 0, NULL);
    if (e == SL_ERR_NO_ERROR) {
        for (int i = 0; i < 200 && ev->delivered + ev->failed == 0; i++)
            sl_poll(p, 100);
        sl_poll(p, 0); /* error callbacks queued with the report */
        e = ev->delivered ? SL_ERR_NO_ERROR : ev->failed ? ev->last_err : SL_ERR__TIMED_OUT;
    }
    sl_producer_free(p);
    return e;
}

static void create_topics_as_admin(void)
{
    struct events ev = {0};
    char err[512];
    sl_admin *a = sl_admin_new(
        conf_for(sasl_port, false, "SCRAM-SHA-256", "admin", "admin-secret", &ev), err, sizeof err);
    ck_assert_msg(a != NULL, "%s", err);
    sl_new_topic ts[] = {{"t", 1, -1, NULL, 0}, {"u", 1, -1, NULL, 0}};
    const sl_admin_result *r;
    ck_assert_int_eq(sl_admin_create_topics(a, ts, 2, 0, 10000, &r), SL_ERR_NO_ERROR);
    ck_assert_int_eq(r[0].err, SL_ERR_NO_ERROR);
    ck_assert_int_eq(r[1].err, SL_ERR_NO_ERROR);
    ck_assert_int_eq(ev.auth_failed, 0);
    sl_admin_free(a);
}

/* The broker started, topics t and u made, bob made through the API as admin (`splicelog user
 * create`) and allowed to write t (`splicelog acl add`). bs: the SASL_PLAINTEXT bootstrap. */
static void start_with_bob(char *bs, size_t bs_len)
{
    start();
    snprintf(bs, bs_len, "127.0.0.1:%d", sasl_port);
    create_topics_as_admin();
    const char *mk[] = {"user",       "create",      "--name",        "bob",        "--password",
                        "bob-secret", "--mechanism", "SCRAM-SHA-512", AS_ADMIN(bs), NULL};
    ck_assert_msg(splicelog(mk) == 0, "user create failed");
    ck_assert(out_has("", "stored by the broker"));
    const char *acl[] = {"acl",    "add", "--principal", "User:bob", "--resource", "topic",
                         "--name", "t",   "--operation", "write",    AS_ADMIN(bs), NULL};
    ck_assert_int_eq(splicelog(acl), 0);
    ck_assert(out_has("", "added\ttopic\tt\tliteral\tUser:bob\t*\twrite\tallow"));
}

/* A consumer in group g as bob reads the record produced to t. */
static void consume_as_bob(void)
{
    struct events ev = {0};
    char err[512];
    sl_conf *c = conf_for(sasl_port, false, "SCRAM-SHA-512", "bob", "bob-secret", &ev);
    ck_assert_int_eq(sl_conf_set(c, "group.id", "g", err, sizeof err), 0);
    ck_assert_int_eq(sl_conf_set(c, "auto.offset.reset", "earliest", err, sizeof err), 0);
    sl_consumer *k = sl_consumer_new(c, err, sizeof err);
    ck_assert_msg(k != NULL, "%s", err);
    const char *topics[] = {"t"};
    ck_assert_int_eq(sl_consumer_subscribe(k, topics, 1), SL_ERR_NO_ERROR);
    sl_record rec;
    sl_err e = SL_ERR__TIMED_OUT;
    for (int i = 0; i < 300 && e == SL_ERR__TIMED_OUT; i++)
        e = sl_consumer_poll(k, 100, &rec);
    ck_assert_msg(e == SL_ERR_NO_ERROR, "poll: %s", sl_err2name(e));
    ck_assert_int_eq(rec.value_len, 1);
    ck_assert(memcmp(rec.value, "v", 1) == 0);
    ck_assert_int_eq(ev.auth_failed, 0);
    sl_consumer_close(k);
    sl_consumer_free(k);
}

START_TEST(t_users_acls_and_producer)
{
    char bs[64];
    start_with_bob(bs, sizeof bs);
    const char *acls[] = {"acl", "list", "--principal", "User:bob", AS_ADMIN(bs), NULL};
    ck_assert_int_eq(splicelog(acls), 0);
    ck_assert(out_has("", "topic\tt\tliteral\tUser:bob\t*\twrite\tallow"));

    /* bob writes t, is refused u. */
    struct events ev;
    ck_assert_int_eq(produce_as(sasl_port, false, "bob", "bob-secret", "t", &ev), SL_ERR_NO_ERROR);
    ck_assert_int_eq(ev.auth_failed, 0);
    ck_assert_int_eq(produce_as(sasl_port, false, "bob", "bob-secret", "u", &ev),
                     SL_ERR_TOPIC_AUTHORIZATION_FAILED);

    /* With READ on t and on group g, bob consumes it back in a group (every connection of the
     * consumer, the coordinator's too, logs in). */
    const char *const reads[][2] = {{"topic", "t"}, {"group", "g"}};
    for (int i = 0; i < 2; i++) {
        const char *ra[] = {"acl",         "add",       "--principal", "User:bob",
                            "--resource",  reads[i][0], "--name",      reads[i][1],
                            "--operation", "read",      AS_ADMIN(bs),  NULL};
        ck_assert_int_eq(splicelog(ra), 0);
    }
    consume_as_bob();

    /* A wrong password: the error callback says so with the broker's message, once or a few
     * times (the reconnect backoff starts at 1 s), not in a loop; the record fails. */
    ck_assert_int_ne(produce_as(sasl_port, false, "bob", "wrong", "t", &ev), SL_ERR_NO_ERROR);
    ck_assert_int_ge(ev.auth_failed, 1);
    ck_assert_int_le(ev.auth_failed, 6);
    ck_assert_msg(strstr(ev.reason, "SCRAM-SHA-512 login as 'bob' failed"), "%s", ev.reason);
    ck_assert_msg(strstr(ev.reason, "127.0.0.1:"), "%s", ev.reason);

    /* The admin handle surfaces it as the call's error. */
    char err[512];
    struct events aev = {0};
    sl_admin *a =
        sl_admin_new(conf_for(sasl_port, false, "PLAIN", "admin", "nope", &aev), err, sizeof err);
    const sl_cluster *cl;
    ck_assert_int_eq(sl_admin_describe_cluster(a, 3000, &cl), SL_ERR_SASL_AUTHENTICATION_FAILED);
    sl_admin_free(a);
    const char *bad_admin[] = {"user",        "list",
                               "--bootstrap", bs,
                               "-X",          "security.protocol=sasl_plaintext",
                               "-X",          "sasl.username=admin",
                               "-X",          "sasl.password=nope",
                               NULL};
    ck_assert_int_eq(splicelog(bad_admin), 1);
    ck_assert(out_has(".err", "SASL_AUTHENTICATION_FAILED"));

    /* user list shows bob; user delete; then bob cannot log in. */
    const char *ls[] = {"user", "list", AS_ADMIN(bs), NULL};
    ck_assert_int_eq(splicelog(ls), 0);
    ck_assert(out_has("", "bob\tSCRAM-SHA-512\t4096"));
    ck_assert(out_has("", "admin\tSCRAM-SHA-256\t4096"));
    const char *del[] = {"user",        "delete",        "--name",     "bob",
                         "--mechanism", "SCRAM-SHA-512", AS_ADMIN(bs), NULL};
    ck_assert_int_eq(splicelog(del), 0);
    ck_assert_int_eq(splicelog(ls), 0);
    ck_assert(!out_has("", "bob\t"));
    ck_assert_int_ne(produce_as(sasl_port, false, "bob", "bob-secret", "t", &ev), SL_ERR_NO_ERROR);
    ck_assert_int_ge(ev.auth_failed, 1);

    /* Usage: too few iterations is refused before anything is sent. */
    const char *few[] = {"user",         "create", "--name",      "carol",
                         "--password",   "p",      "--mechanism", "SCRAM-SHA-256",
                         "--iterations", "1000",   AS_ADMIN(bs),  NULL};
    ck_assert_int_eq(splicelog(few), 1);
}
END_TEST

START_TEST(t_sasl_ssl)
{
    char bs[64];
    start_with_bob(bs, sizeof bs);
    struct events ev;
    ck_assert_int_eq(produce_as(ssl_port, true, "bob", "bob-secret", "t", &ev), SL_ERR_NO_ERROR);
    ck_assert_int_eq(produce_as(ssl_port, true, "bob", "bad", "t", &ev) != SL_ERR_NO_ERROR, 1);
    ck_assert_int_ge(ev.auth_failed, 1);
    /* PLAIN over TLS, on the admin handle. */
    char err[512];
    struct events aev = {0};
    sl_admin *a = sl_admin_new(conf_for(ssl_port, true, "PLAIN", "admin", "admin-secret", &aev),
                               err, sizeof err);
    ck_assert_msg(a != NULL, "%s", err);
    const sl_cluster *cl;
    ck_assert_int_eq(sl_admin_describe_cluster(a, 10000, &cl), SL_ERR_NO_ERROR);
    ck_assert_uint_eq(cl->broker_cnt, 1);
    sl_admin_free(a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("client_sasl");
    TCase *tc = tcase_create("client_sasl");
    tcase_set_timeout(tc, 180);
    tcase_add_checked_fixture(tc, NULL, stop);
    tcase_add_test(tc, t_users_acls_and_producer);
    tcase_add_test(tc, t_sasl_ssl);
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
