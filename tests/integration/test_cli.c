/*
 * test_cli — the `splicelog` CLI's broker commands as a real process against a real broker
 * (the binary is $SPLICELOG_BUILD/san/splicelog):
 * - topic create / list / describe / delete, text and --json, with the exit codes (0 done,
 *   1 refused, 2 usage, 3 unreachable);
 * - produce lines from stdin, consume them back (keys, --json, --count, --partition);
 * - cluster info, cluster elect (ElectLeaders on a single node: ELECTION_NOT_NEEDED),
 *   --command-config (client properties from a file);
 * - a group: consume --group commits, group describe shows committed, end offset and lag per
 *   partition, group seek moves the offsets (earliest, offset, timestamp, dry run);
 * - --help on every command.
 * The commands whose broker handlers are not on every branch yet (topic add-partitions,
 * alter-config and describe's configs, group list, delete and describe's members, cluster
 * log-dirs) are run too: where the broker advertises the API the result is checked, else the
 * command must exit 4 ("the broker does not offer the API") and the test says so on stderr.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kp_api.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_cli.h"
#include "tb_kafka.h"

static struct tb_broker B;
static char out_path[400], bootstrap[64];
static char out[1 << 16], err_text[1 << 14];

static void slurp(const char *path, char *buf, size_t cap)
{
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
}

/*
 * Runs splicelog with the words of args (NULL-terminated), --bootstrap added unless nobs,
 * stdin from in (NULL: empty); its exit status; stdout in out[], stderr in err_text[].
 */
static int runv(const char *in, bool nobs, const char *const *args)
{
    const char *argv[48] = {tb_cli_tool()};
    int n = 1;
    for (int i = 0; args[i] && n < 44; i++)
        argv[n++] = args[i];
    if (!nobs) {
        argv[n++] = "--bootstrap";
        argv[n++] = bootstrap;
    }
    argv[n] = NULL;
    int rc = tb_cli_exec(in, argv, out_path);
    char errpath[420];
    snprintf(errpath, sizeof errpath, "%s.err", out_path);
    slurp(out_path, out, sizeof out);
    slurp(errpath, err_text, sizeof err_text);
    return rc;
}

#define RUN(in, ...)  runv((in), false, (const char *const[]){__VA_ARGS__, NULL})
#define RUN_NOBS(...) runv(NULL, true, (const char *const[]){__VA_ARGS__, NULL})

/* Exit status 0 or fail with what the tool said. */
#define OK(in, ...)                                                                                \
    do {                                                                                           \
        int rc_ = RUN(in, __VA_ARGS__);                                                            \
        ck_assert_msg(rc_ == 0, "exit %d: %s%s", rc_, err_text, out);                              \
    } while (0)

static bool has(const char *needle) { return strstr(out, needle) != NULL; }

/* Whether the broker advertises api_key (ApiVersions). */
static bool advertised(int16_t api_key)
{
    int fd = tb_ck_connect(&B);
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 256, KP_API_API_VERSIONS, 3, 1), 0);
    tb_enc_api_versions(&r, 3);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(fd, &r, 1, &f), 0);
    tb_req_free(&r);
    struct tb_api_versions v;
    ck_assert_int_eq(tb_dec_api_versions(&f, 3, &v), 0);
    tb_frame_free(&f);
    close(fd);
    int16_t lo, hi;
    return tb_api_range(&v, api_key, &lo, &hi);
}

/* Runs a command that needs api_key: checked by check() where the broker offers it, else it
 * must exit 4. Returns whether it was offered. */
static bool needs(int16_t api_key, const char *what, int rc)
{
    if (advertised(api_key)) {
        ck_assert_msg(rc == 0, "%s: exit %d: %s", what, rc, err_text);
        return true;
    }
    ck_assert_msg(rc == 4, "%s without %s: exit %d, expected 4: %s", what, kp_api_name(api_key), rc,
                  err_text);
    ck_assert_msg(strstr(err_text, "does not offer"), "%s", err_text);
    fprintf(stderr, "test_cli: %s needs %s, which this broker does not offer yet (exit 4)\n", what,
            kp_api_name(api_key));
    return false;
}

static void setup(void)
{
    tb_ck_start_fresh(&B, NULL);
    snprintf(out_path, sizeof out_path, "%s/cli.out", B.dir);
    snprintf(bootstrap, sizeof bootstrap, "127.0.0.1:%d", B.port);
}

static void teardown(void) { tb_ck_finish(&B); }

START_TEST(topics)
{
    OK(NULL, "topic", "create", "orders", "--partitions", "3");
    ck_assert(has("created topic orders"));
    ck_assert_int_eq(RUN(NULL, "topic", "create", "orders"), 1);
    ck_assert(strstr(err_text, "TOPIC_ALREADY_EXISTS"));
    ck_assert_int_eq(RUN(NULL, "topic", "create", "orders", "--partitions", "0"), 2);
    ck_assert_int_eq(RUN(NULL, "topic", "create"), 2);
    ck_assert_int_eq(RUN(NULL, "topic", "create", "x", "--bogus", "1"), 2);
    OK(NULL, "topic", "create", "--json", "small", "--validate-only");
    ck_assert(has("{\"name\":\"small\",\"error\":null"));
    OK(NULL, "topic", "create", "--json", "small");
    OK(NULL, "topic", "list");
    ck_assert(has("TOPIC") && has("orders  3") && has("small"));
    OK(NULL, "topic", "list", "--json");
    ck_assert(has("{\"topic\":\"orders\",\"partitions\":3}"));

    /* produce: partitions by key; describe then shows the end offsets */
    OK("k1:v1\nk2:v2\nk3:v3\nk4:v4\n", "produce", "orders", "--key-separator", ":");
    ck_assert(has("4 record(s) produced to orders"));
    OK(NULL, "topic", "describe", "orders", "--json");
    ck_assert(has("\"topic\":\"orders\""));
    long end_sum = 0;
    for (const char *p = strstr(out, "\"end_offset\":"); p; p = strstr(p + 1, "\"end_offset\":"))
        end_sum += strtol(p + strlen("\"end_offset\":"), NULL, 10);
    ck_assert_int_eq(end_sum, 4);
    OK(NULL, "topic", "describe", "orders");
    ck_assert(has("PARTITION") && has("LOG-START") && has("END-OFFSET"));
    if (advertised(KP_API_DESCRIBE_CONFIGS)) {
        ck_assert(has("retention.ms"));
    } else {
        ck_assert_msg(has("configs: not available (_UNSUPPORTED_FEATURE)"), "%s", out);
        fprintf(stderr, "test_cli: topic describe shows no configs: the broker does not offer "
                        "DescribeConfigs yet\n");
    }

    /* unknown topic, deleted topic */
    ck_assert_int_eq(RUN(NULL, "topic", "describe", "nosuch"), 1);
    ck_assert(strstr(err_text, "UNKNOWN_TOPIC_OR_PART"));
    OK(NULL, "topic", "delete", "small");
    ck_assert(has("deleted topic small"));
    ck_assert_int_eq(RUN(NULL, "topic", "delete", "small"), 1);
    OK(NULL, "topic", "list", "--json");
    ck_assert(!has("\"small\""));

    /* add-partitions and alter-config need the admin handlers */
    if (needs(KP_API_CREATE_PARTITIONS, "topic add-partitions",
              RUN(NULL, "topic", "add-partitions", "orders", "--total", "5"))) {
        OK(NULL, "topic", "list");
        ck_assert(has("orders  5"));
        ck_assert_int_eq(RUN(NULL, "topic", "add-partitions", "orders", "--total", "2"), 1);
    }
    if (needs(KP_API_INCREMENTAL_ALTER_CONFIGS, "topic alter-config",
              RUN(NULL, "topic", "alter-config", "orders", "--set", "retention.ms=3600000"))) {
        OK(NULL, "topic", "describe", "orders", "--json");
        ck_assert_msg(has("{\"name\":\"retention.ms\",\"value\":\"3600000\",\"source\":"
                          "\"DYNAMIC_TOPIC\""),
                      "%s", out);
        OK(NULL, "topic", "alter-config", "orders", "--delete", "retention.ms");
    }
    ck_assert_int_eq(RUN(NULL, "topic", "alter-config", "orders"), 2); /* nothing to change */
}
END_TEST

START_TEST(produce_and_consume)
{
    OK(NULL, "topic", "create", "lines", "--partitions", "2");
    OK("alpha\nbeta\ngamma\n", "produce", "lines", "--partition", "1");
    OK("k:delta\n", "produce", "lines", "--partition", "0", "--key-separator", ":");
    OK(NULL, "consume", "lines", "--partition", "1");
    ck_assert_str_eq(out, "alpha\nbeta\ngamma\n");
    OK(NULL, "consume", "lines", "--partition", "1", "--from", "1", "--count", "1");
    ck_assert_str_eq(out, "beta\n");
    OK(NULL, "consume", "lines", "--key-separator", "=", "--partition", "0");
    ck_assert_str_eq(out, "k=delta\n");
    OK(NULL, "consume", "lines", "--json");
    ck_assert(has("{\"topic\":\"lines\",\"partition\":0,\"offset\":0,"));
    ck_assert(has("\"key\":\"k\",\"value\":\"delta\"}"));
    ck_assert(has("\"key\":null,\"value\":\"gamma\"}"));
    int lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 4);
    /* too few records within the time given */
    ck_assert_int_eq(
        RUN(NULL, "consume", "lines", "--partition", "0", "--count", "5", "--timeout", "1000"), 1);
    ck_assert_int_eq(RUN(NULL, "consume", "nosuch", "--timeout", "2000"), 1);
}
END_TEST

START_TEST(cluster)
{
    OK(NULL, "cluster", "info");
    char port[32];
    snprintf(port, sizeof port, "127.0.0.1  %d", B.port);
    ck_assert_msg(has("controller: 0") && has(port), "%s", out);
    OK(NULL, "cluster", "info", "--json");
    snprintf(port, sizeof port, "\"port\":%d}", B.port);
    ck_assert(has("\"controller\":0,\"brokers\":[{\"id\":0,\"host\":\"127.0.0.1\"") && has(port));
    OK(NULL, "topic", "create", "sized");
    OK("x\n", "produce", "sized");
    if (needs(KP_API_DESCRIBE_LOG_DIRS, "cluster log-dirs", RUN(NULL, "cluster", "log-dirs"))) {
        ck_assert(has("sized"));
        OK(NULL, "cluster", "log-dirs", "--json");
        ck_assert(has("{\"topic\":\"sized\",\"partition\":0,\"size\":"));
    }
    /* cluster elect: a single node's partitions are led by their only replica */
    OK(NULL, "cluster", "elect", "--topic", "sized");
    ck_assert_msg(has("ALREADY sized-0"), "%s", out);
    OK(NULL, "cluster", "elect", "--topic", "sized", "--partition", "0", "--json");
    ck_assert_msg(has("[{\"topic\":\"sized\",\"partition\":0,\"error\":\"ELECTION_NOT_NEEDED\"}]"),
                  "%s", out);
    OK(NULL, "cluster", "elect"); /* every partition: none needs it, nothing printed */
    ck_assert_msg(!has("ELECTED") && !has("ALREADY"), "%s", out);
    ck_assert_int_eq(RUN(NULL, "cluster", "elect", "--topic", "sized", "--partition", "9"), 1);
    ck_assert_msg(strstr(err_text, "sized-9"), "%s", err_text);
    ck_assert_int_eq(RUN(NULL, "cluster", "elect", "--partition", "0"), 2);
    /* --command-config: libsplicelog properties from a file; a bad one is a usage error */
    char cc[420];
    snprintf(cc, sizeof cc, "%s/client.properties", B.dir);
    FILE *f = fopen(cc, "w");
    ck_assert_ptr_nonnull(f);
    fputs("# the client's own keys\nclient.id = ops-cli\nrequest.timeout.ms=5000\n", f);
    fclose(f);
    OK(NULL, "cluster", "info", "--command-config", cc);
    f = fopen(cc, "w");
    fputs("no.such.property=1\n", f);
    fclose(f);
    ck_assert_int_eq(RUN(NULL, "cluster", "info", "--command-config", cc), 2);
    ck_assert_msg(strstr(err_text, "client.properties:1:"), "%s", err_text);

    /* nothing listens: exit 3 */
    ck_assert_int_eq(RUN_NOBS("cluster", "info", "--bootstrap", "127.0.0.1:1", "--timeout", "500"),
                     3);
    ck_assert(strstr(err_text, "not reachable"));
}
END_TEST

/* The committed offset of topic-partition in `group describe --json` output (-1: none). */
static long committed_of(int partition)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"partition\":%d,\"committed\":", partition);
    const char *p = strstr(out, needle);
    if (!p)
        return -2;
    p += strlen(needle);
    return strncmp(p, "null", 4) == 0 ? -1 : strtol(p, NULL, 10);
}

static long lag_of(int partition)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"partition\":%d,", partition);
    const char *p = strstr(out, needle);
    p = p ? strstr(p, "\"lag\":") : NULL;
    return p ? strtol(p + 6, NULL, 10) : -2;
}

START_TEST(groups)
{
    OK(NULL, "topic", "create", "ev", "--partitions", "2");
    OK("a\nb\nc\n", "produce", "ev", "--partition", "0");
    OK("d\n", "produce", "ev", "--partition", "1");
    /* a group consumes everything and commits on close */
    OK(NULL, "consume", "ev", "--group", "g", "--count", "4");
    OK(NULL, "group", "describe", "g", "--json");
    ck_assert_int_eq(committed_of(0), 3);
    ck_assert_int_eq(committed_of(1), 1);
    ck_assert_int_eq(lag_of(0), 0);
    OK("e\n", "produce", "ev", "--partition", "0");
    OK(NULL, "group", "describe", "g");
    ck_assert_msg(has("ev     0          3          4           1") && has("total lag: 1"), "%s",
                  out);

    /* seek: dry run changes nothing; earliest, an offset, a timestamp */
    OK(NULL, "group", "seek", "g", "--topic", "ev", "--to-earliest", "--dry-run");
    ck_assert(has("dry run"));
    OK(NULL, "group", "describe", "g", "--json");
    ck_assert_int_eq(committed_of(0), 3);
    OK(NULL, "group", "seek", "g", "--topic", "ev", "--to-earliest");
    ck_assert(has("committed"));
    OK(NULL, "group", "describe", "g", "--json");
    ck_assert_int_eq(committed_of(0), 0);
    ck_assert_int_eq(lag_of(0), 4);
    OK(NULL, "group", "seek", "g", "--topic", "ev", "--partition", "0", "--to-offset", "2");
    OK(NULL, "group", "describe", "g", "--json");
    ck_assert_int_eq(committed_of(0), 2);
    ck_assert_int_eq(committed_of(1), 0);
    OK(NULL, "group", "seek", "g", "--topic", "ev", "--partition", "0", "--to-offset", "99");
    OK(NULL, "group", "describe", "g", "--json");
    ck_assert_int_eq(committed_of(0), 4); /* clamped to the end */
    OK(NULL, "group", "seek", "g", "--topic", "ev", "--to-timestamp", "0", "--json");
    ck_assert(has("\"partition\":0,\"offset\":0,\"error\":null"));
    OK(NULL, "group", "seek", "g", "--topic", "ev", "--to-latest");
    OK(NULL, "group", "describe", "g", "--json");
    ck_assert_int_eq(committed_of(0), 4);
    ck_assert_int_eq(committed_of(1), 1);
    /* the group resumes where seek put it */
    OK(NULL, "group", "seek", "g", "--topic", "ev", "--partition", "0", "--to-offset", "3");
    OK(NULL, "consume", "ev", "--group", "g", "--count", "1");
    ck_assert_str_eq(out, "e\n"); /* partition 0 from offset 3; partition 1 is at its end */

    ck_assert_int_eq(RUN(NULL, "group", "seek", "g", "--topic", "ev"), 2);
    ck_assert_int_eq(
        RUN(NULL, "group", "seek", "g", "--topic", "ev", "--to-earliest", "--to-latest"), 2);
    ck_assert_int_eq(RUN(NULL, "group", "seek", "g", "--topic", "nosuch", "--to-earliest"), 1);

    /* list, members and delete need the group admin handlers */
    if (needs(KP_API_LIST_GROUPS, "group list", RUN(NULL, "group", "list")))
        ck_assert(has("g "));
    if (needs(KP_API_DELETE_GROUPS, "group delete", RUN(NULL, "group", "delete", "g")))
        ck_assert_int_eq(RUN(NULL, "group", "describe", "g"), 1); /* gone */
    if (!advertised(KP_API_DESCRIBE_GROUPS))
        fprintf(stderr, "test_cli: group describe shows no state or members: the broker does not "
                        "offer DescribeGroups yet\n");
}
END_TEST

START_TEST(help_everywhere)
{
    static const char *const cmds[][2] = {
        {"topic", "create"},  {"topic", "list"},           {"topic", "describe"},
        {"topic", "delete"},  {"topic", "add-partitions"}, {"topic", "alter-config"},
        {"group", "list"},    {"group", "describe"},       {"group", "delete"},
        {"group", "seek"},    {"cluster", "info"},         {"cluster", "log-dirs"},
        {"produce", NULL},    {"consume", NULL},           {"user", "list"},
        {"cluster", "elect"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        int rc = cmds[i][1] ? RUN_NOBS(cmds[i][0], cmds[i][1], "--help")
                            : RUN_NOBS(cmds[i][0], "--help");
        ck_assert_msg(rc == 0 && strncmp(out, "usage: splicelog ", 17) == 0, "%s %s: %d %s",
                      cmds[i][0], cmds[i][1] ? cmds[i][1] : "", rc, out);
    }
    ck_assert_int_eq(RUN_NOBS("--help"), 0);
    ck_assert(has("exit status"));
    ck_assert_int_eq(RUN_NOBS("topic", "--help"), 0);
    ck_assert(has("topic alter-config") && !has("group seek"));
    ck_assert_int_eq(RUN_NOBS("topic", "frobnicate"), 2);
    ck_assert_int_eq(RUN_NOBS("nosuch"), 2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, topics);
    tcase_add_test(tc, produce_and_consume);
    tcase_add_test(tc, cluster);
    tcase_add_test(tc, groups);
    tcase_add_test(tc, help_everywhere);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
