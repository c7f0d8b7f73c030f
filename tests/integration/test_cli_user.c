/*
 * test_cli_user — `splicelog user create|delete|list --data-dir` as a real process (the
 * binary is $SPLICELOG_BUILD/san/splicelog): a user created offline authenticates with
 * PLAIN and SCRAM against the store the broker will open (br_cred + br_sasl); the password
 * can come from stdin; replacing and deleting; listing; bad options are usage errors (exit 2);
 * a data directory held by a running broker is refused (exit 1, "locked") and left as it was;
 * so are creates and deletes in one marked as a cluster's cache (br_cred_zk_mark).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "br_cred.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_cli.h"

static void setup(void) { tb_cli_setup("cli_user"); }
static void teardown(void) { tb_cli_teardown(); }

/* Authenticates name/pw with PLAIN against the data directory's store. */
static int plain_auth(const char *name, const char *pw)
{
    struct br_cred *c;
    ck_assert_int_eq(br_cred_open(tb_cli_data, NULL, NULL, &c), 0);
    struct br_sasl_server srv;
    ck_assert_int_eq(br_sasl_server_init(&srv, br_cred_lookup, c), 0);
    struct br_sasl *s;
    ck_assert_int_eq(br_sasl_new(&srv, BR_SASL_PLAIN, &s), 0);
    uint8_t tok[600], o[BR_SASL_OUT_MAX];
    size_t nl = strlen(name), pl = strlen(pw), on;
    tok[0] = 0;
    memcpy(tok + 1, name, nl);
    tok[1 + nl] = 0;
    memcpy(tok + 2 + nl, pw, pl);
    int rc = br_sasl_step(s, tok, 2 + nl + pl, o, sizeof o, &on);
    br_sasl_free(s);
    br_cred_close(c);
    return rc;
}

START_TEST(t_create_then_authenticate)
{
    const char *create[] = {"user",        "create",        "--data-dir", tb_cli_data,
                            "--name",      "admin",         "--password", "admin-secret",
                            "--mechanism", "SCRAM-SHA-512", NULL};
    ck_assert_int_eq(tb_cli_run(NULL, create), 0);
    ck_assert(tb_cli_out_has("", "SCRAM-SHA-512 credential for user 'admin' (4096 iterations)"));
    ck_assert_int_eq(plain_auth("admin", "admin-secret"), BR_SASL_DONE);
    ck_assert_int_eq(plain_auth("admin", "admin-secreT"), -EPERM);

    /* SCRAM-SHA-512 reaches the stored salt: the server-first message carries i=4096. */
    struct br_cred *c;
    ck_assert_int_eq(br_cred_open(tb_cli_data, NULL, NULL, &c), 0);
    struct br_scram_cred cred;
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_512, "admin", 5, &cred), 0);
    ck_assert_int_eq(cred.iterations, 4096);
    ck_assert_int_eq(br_cred_lookup(c, BR_SASL_SCRAM_SHA_256, "admin", 5, &cred), -ENOENT);
    br_cred_close(c);

    /* The password never reaches the disk. */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "grep -rq admin-secret '%s'", tb_cli_data);
    ck_assert_int_ne(system(cmd), 0);

    /* From stdin, another mechanism and iteration count; then both are listed. */
    const char *create2[] = {
        "user", "create",      "--data-dir",    tb_cli_data,    "--name", "bob", "--password",
        "-",    "--mechanism", "SCRAM-SHA-256", "--iterations", "8192",   NULL};
    ck_assert_int_eq(tb_cli_run("bob pw with spaces\n", create2), 0);
    ck_assert_int_eq(plain_auth("bob", "bob pw with spaces"), BR_SASL_DONE);
    const char *list[] = {"user", "list", "--data-dir", tb_cli_data, NULL};
    ck_assert_int_eq(tb_cli_run(NULL, list), 0);
    ck_assert(tb_cli_out_has("", "admin\tSCRAM-SHA-512\t4096\n"));
    ck_assert(tb_cli_out_has("", "bob\tSCRAM-SHA-256\t8192\n"));

    /* Replace admin's password, then delete bob's credential. */
    const char *replace[] = {"user",        "create",        "--data-dir", tb_cli_data,
                             "--name",      "admin",         "--password", "new",
                             "--mechanism", "SCRAM-SHA-512", NULL};
    ck_assert_int_eq(tb_cli_run(NULL, replace), 0);
    ck_assert_int_eq(plain_auth("admin", "admin-secret"), -EPERM);
    ck_assert_int_eq(plain_auth("admin", "new"), BR_SASL_DONE);
    const char *del[] = {"user", "delete",      "--data-dir",    tb_cli_data, "--name",
                         "bob",  "--mechanism", "SCRAM-SHA-256", NULL};
    ck_assert_int_eq(tb_cli_run(NULL, del), 0);
    ck_assert_int_eq(plain_auth("bob", "bob pw with spaces"), -EPERM);
    ck_assert_int_eq(tb_cli_run(NULL, del), 1);
    ck_assert(tb_cli_out_has(".err", "has no SCRAM-SHA-256 credential"));
}
END_TEST

START_TEST(t_usage_errors)
{
    const char *no_pw[] = {"user", "create",      "--data-dir",    tb_cli_data, "--name",
                           "x",    "--mechanism", "SCRAM-SHA-512", NULL};
    ck_assert_int_eq(tb_cli_run(NULL, no_pw), 2);
    ck_assert(tb_cli_out_has(".err", "--password is required"));
    const char *unknown[] = {"user", "list", "--data-dir", tb_cli_data, "--bogus", "1", NULL};
    ck_assert_int_eq(tb_cli_run(NULL, unknown), 2);
    const char *twice[] = {"user",       "list",      "--data-dir", tb_cli_data,
                           "--data-dir", tb_cli_data, NULL};
    ck_assert_int_eq(tb_cli_run(NULL, twice), 2);
    const char *plain[] = {"user",       "create", "--data-dir",  tb_cli_data, "--name", "x",
                           "--password", "p",      "--mechanism", "PLAIN",     NULL};
    ck_assert_int_eq(tb_cli_run(NULL, plain), 1);
    const char *few[] = {
        "user", "create",      "--data-dir",    tb_cli_data,    "--name", "x", "--password",
        "p",    "--mechanism", "SCRAM-SHA-256", "--iterations", "1000",   NULL};
    ck_assert_int_eq(tb_cli_run(NULL, few), 1);
    const char *badname[] = {"user",        "create",        "--data-dir", tb_cli_data,
                             "--name",      "a\tb",          "--password", "p",
                             "--mechanism", "SCRAM-SHA-256", NULL};
    ck_assert_int_eq(tb_cli_run(NULL, badname), 1);
    const char *nocmd[] = {"user", "frobnicate", NULL};
    ck_assert_int_eq(tb_cli_run(NULL, nocmd), 2);
    /* None of that created a credential file. */
    char f[400];
    snprintf(f, sizeof f, "%s/%s/%s", tb_cli_data, BR_SECURITY_DIR, BR_CRED_FILE);
    ck_assert_int_ne(access(f, F_OK), 0);
}
END_TEST

START_TEST(t_refused_while_broker_runs)
{
    struct tb_broker b = {0};
    ck_assert_int_eq(tb_broker_start(&b, NULL), 0);
    const char *create[] = {"user",        "create",        "--data-dir", b.data,
                            "--name",      "admin",         "--password", "pw",
                            "--mechanism", "SCRAM-SHA-512", NULL};
    ck_assert_int_eq(tb_cli_run(NULL, create), 1);
    ck_assert(tb_cli_out_has(".err", "locked: a broker is running on it"));
    char f[400];
    snprintf(f, sizeof f, "%s/%s/%s", b.data, BR_SECURITY_DIR, BR_CRED_FILE);
    ck_assert_int_ne(access(f, F_OK), 0);
    ck_assert_int_eq(tb_broker_stop(&b, SIGTERM) >= 0, 1);
    /* Stopped: now it works, and the broker starts on the directory afterwards. */
    ck_assert_int_eq(tb_cli_run(NULL, create), 0);
    ck_assert_int_eq(tb_broker_start(&b, NULL), 0);
    tb_broker_cleanup(&b);
}
END_TEST

/* A data directory marked as ZooKeeper's cache (a cluster broker's, after its first start:
 * br_cred_zk_mark) refuses offline creates and deletes (exit 1, pointing at --bootstrap) and
 * is left as it was; listing the cache still works. Before the mark the tool wrote there. */
START_TEST(t_refused_on_a_cluster_cache)
{
    const char *create[] = {"user",        "create",        "--data-dir", tb_cli_data,
                            "--name",      "admin",         "--password", "pw",
                            "--mechanism", "SCRAM-SHA-512", NULL};
    ck_assert_int_eq(tb_cli_run(NULL, create), 0); /* (unmarked: the first administrator) */
    ck_assert_int_eq(br_cred_zk_mark(tb_cli_data), 0);
    const char *bob[] = {"user",       "create", "--data-dir",  tb_cli_data,     "--name", "bob",
                         "--password", "pw",     "--mechanism", "SCRAM-SHA-512", NULL};
    ck_assert_int_eq(tb_cli_run(NULL, bob), 1);
    ck_assert(tb_cli_out_has(".err", "ZooKeeper cluster"));
    ck_assert(tb_cli_out_has(".err", "--bootstrap"));
    const char *del[] = {"user",  "delete",      "--data-dir",    tb_cli_data, "--name",
                         "admin", "--mechanism", "SCRAM-SHA-512", NULL};
    ck_assert_int_eq(tb_cli_run(NULL, del), 1);
    ck_assert(tb_cli_out_has(".err", "--bootstrap"));
    const char *list[] = {"user", "list", "--data-dir", tb_cli_data, NULL};
    ck_assert_int_eq(tb_cli_run(NULL, list), 0);
    ck_assert(tb_cli_out_has("", "admin\tSCRAM-SHA-512\t4096\n"));
    ck_assert(!tb_cli_out_has("", "bob"));
}
END_TEST

static Suite *cli_user_suite(void)
{
    Suite *s = suite_create("cli_user");
    TCase *t = tcase_create("user");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, t_create_then_authenticate);
    tcase_add_test(t, t_usage_errors);
    tcase_add_test(t, t_refused_while_broker_runs);
    tcase_add_test(t, t_refused_on_a_cluster_cache);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tb_ck_run(cli_user_suite()); }
