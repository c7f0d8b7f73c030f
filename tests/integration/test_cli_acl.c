/*
 * test_cli_acl — `splicelog acl add|list|remove --data-dir` as a real process (the binary is
 * $SPLICELOG_BUILD/san/splicelog): bindings added offline are enforced by a broker started on
 * the directory afterwards (Kafka's ACL authorizer: the PLAINTEXT listener's User:ANONYMOUS
 * may write the topic it was given and nothing else); list filters; remove prints what it
 * removed and needs a filter; Kafka's validation (a principal without a type) is a failure
 * (exit 1); a bad option is a usage error (exit 2); a directory held by a running broker is
 * refused ("locked").
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kp_msg.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_cli.h"
#include "tb_kafka.h"

static void setup(void) { tb_cli_setup("cli_acl"); }
static void teardown(void) { tb_cli_teardown(); }

static int16_t produce(int port, const char *topic)
{
    uint8_t batch[512];
    long bl = tb_batch_values(batch, sizeof batch, "v", 0, 1, 0, false, 1700000000000LL);
    ck_assert_int_gt(bl, 0);
    int fd = tb_connect(port);
    ck_assert_int_ge(fd, 0);
    struct tb_produce_resp r;
    ck_assert_int_eq(tb_produce(fd, topic, 0, batch, (size_t)bl, &r), 0);
    close(fd);
    return r.error;
}

START_TEST(t_add_list_remove_enforced)
{
    const char *add_w[] = {
        "acl",        "add",   "--data-dir", tb_cli_data, "--principal", "User:ANONYMOUS",
        "--resource", "topic", "--name",     "t",         "--operation", "Write",
        NULL};
    ck_assert_int_eq(tb_cli_run(NULL, add_w), 0);
    ck_assert(tb_cli_out_has("", "added\ttopic\tt\tliteral\tUser:ANONYMOUS\t*\twrite\tallow"));
    const char *add_c[] = {
        "acl",        "add",     "--data-dir",  tb_cli_data, "--principal", "User:ANONYMOUS",
        "--resource", "cluster", "--operation", "create",    NULL};
    ck_assert_int_eq(tb_cli_run(NULL, add_c), 0);
    const char *add_d[] = {"acl",       "add",        "--data-dir",  tb_cli_data, "--principal",
                           "User:eve",  "--resource", "topic",       "--name",    "t",
                           "--pattern", "prefixed",   "--operation", "read",      "--permission",
                           "deny",      NULL};
    ck_assert_int_eq(tb_cli_run(NULL, add_d), 0);
    const char *list_all[] = {"acl", "list", "--data-dir", tb_cli_data, NULL};
    ck_assert_int_eq(tb_cli_run(NULL, list_all), 0);
    ck_assert(tb_cli_out_has("", "cluster\tkafka-cluster\tliteral\tUser:ANONYMOUS"));
    ck_assert(tb_cli_out_has("", "topic\tt\tprefixed\tUser:eve\t*\tread\tdeny"));
    const char *list_eve[] = {"acl",         "list",     "--data-dir", tb_cli_data,
                              "--principal", "User:eve", NULL};
    ck_assert_int_eq(tb_cli_run(NULL, list_eve), 0);
    ck_assert(!tb_cli_out_has("", "ANONYMOUS"));

    /* a broker on the directory enforces them */
    struct tb_broker b;
    memset(&b, 0, sizeof b);
    snprintf(b.dir, sizeof b.dir, "%s", tb_cli_tmp); /* the broker's data dir is tmp/data */
    snprintf(b.data, sizeof b.data, "%s", tb_cli_data);
    snprintf(b.log, sizeof b.log, "%s/broker.log", tb_cli_tmp);
    const char *argv[] = {"-o", "authorizer.class.name=kafka.security.authorizer.AclAuthorizer",
                          NULL};
    ck_assert_int_eq(tb_broker_start(&b, argv), 0);
    int fd = tb_connect(b.port);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(fd, "t", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(tb_create_topic(fd, "u", 1, &err), 0);
    close(fd);
    ck_assert_int_eq(produce(b.port, "t"), 0);
    ck_assert_int_eq(produce(b.port, "u"), 29); /* TOPIC_AUTHORIZATION_FAILED */
    /* held by the broker: refused */
    ck_assert_int_eq(tb_cli_run(NULL, list_all), 1);
    ck_assert(tb_cli_out_has(".err", "locked"));
    ck_assert_int_eq(tb_broker_stop(&b, SIGTERM) >= 0, 1);
    b.pid = 0;

    const char *rm_none[] = {"acl", "remove", "--data-dir", tb_cli_data, NULL};
    ck_assert_int_eq(tb_cli_run(NULL, rm_none), 1);
    const char *rm_eve[] = {"acl",         "remove",   "--data-dir", tb_cli_data,
                            "--principal", "User:eve", NULL};
    ck_assert_int_eq(tb_cli_run(NULL, rm_eve), 0);
    ck_assert(tb_cli_out_has("", "removed\ttopic\tt\tprefixed\tUser:eve"));
    ck_assert_int_eq(tb_cli_run(NULL, list_all), 0);
    ck_assert(!tb_cli_out_has("", "User:eve"));
}
END_TEST

START_TEST(t_bad_input)
{
    const char *no_type[] = {"acl",         "add",        "--data-dir", tb_cli_data, "--principal",
                             "alice",       "--resource", "topic",      "--name",    "t",
                             "--operation", "read",       NULL};
    ck_assert_int_eq(tb_cli_run(NULL, no_type), 1);
    ck_assert(tb_cli_out_has(".err", "principalType:principalName"));
    const char *bad_op[] = {"acl",         "add",        "--data-dir", tb_cli_data, "--principal",
                            "User:a",      "--resource", "topic",      "--name",    "t",
                            "--operation", "fly",        NULL};
    ck_assert_int_eq(tb_cli_run(NULL, bad_op), 1);
    const char *bad_cluster[] = {
        "acl",     "add",    "--data-dir", tb_cli_data,   "--principal", "User:a", "--resource",
        "cluster", "--name", "c",          "--operation", "alter",       NULL};
    ck_assert_int_eq(tb_cli_run(NULL, bad_cluster), 1);
    ck_assert(tb_cli_out_has(".err", "kafka-cluster"));
    const char *unknown[] = {"acl", "add", "--data-dir", tb_cli_data, "--wat", "x", NULL};
    ck_assert_int_eq(tb_cli_run(NULL, unknown), 2);
    const char *missing[] = {"acl", "add", "--data-dir", tb_cli_data, NULL};
    ck_assert_int_eq(tb_cli_run(NULL, missing), 2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_acl");
    TCase *tc = tcase_create("cli_acl");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, t_add_list_remove_enforced);
    tcase_add_test(tc, t_bad_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
