/*
 * test_kafka_config — the configuration and logs an operator coming from Kafka expects, on a
 * real broker process:
 * - Kafka's stock server.properties (KRaft and ZooKeeper mode, tests/fixtures/kafka_*.properties:
 *   the keys of Kafka's files, without its comments) starts as it is (the ZooKeeper one with
 *   zookeeper.connect emptied: a single node): the keys only Kafka's
 *   JVM or KRaft read are named in exactly one warning line and ignored; the KRaft
 *   CONTROLLER listener is not opened; the rest (node.id, num.network.threads, ...) applies.
 * - a genuinely wrong value in the same file still stops start-up (exit 2, the key named);
 *   a listener name missing from listener.security.protocol.map does too.
 * - log.format=json: every line of the broker's log is one JSON object; logfmt likewise.
 * - connections open and close at DEBUG; SIGUSR1 / SIGUSR2 raise and lower the level at run
 *   time; a request-scoped line names the client.id.
 * The file is given with --config; --listen and --data-dir (tb_broker) replace its address and
 * data directory, as an operator trying it next to Kafka would.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_api.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_kafka.h"

static struct tb_broker B;

static const char *fixture(const char *name)
{
    static char path[PATH_MAX];
    const char *root = getenv("SPLICELOG_ROOT");
    snprintf(path, sizeof path, "%s/tests/fixtures/%s", root ? root : ".", name);
    return path;
}

static void teardown(void) { tb_ck_finish(&B); }

/* The whole broker log (static buffer). */
static const char *log_text(void)
{
    static char text[1 << 18];
    FILE *f = fopen(B.log, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    return text;
}

/* The one log line containing needle (static buffer); fails unless there is exactly one. */
static const char *the_line(const char *needle)
{
    static char line[4096];
    ck_assert_int_eq(tb_log_count(&B, needle), 1);
    const char *p = strstr(log_text(), needle);
    const char *s = p, *e = strchr(p, '\n');
    while (s > log_text() && s[-1] != '\n')
        s--;
    snprintf(line, sizeof line, "%.*s", (int)((e ? e : p + strlen(p)) - s), s);
    return line;
}

/* How many times key is an element of the warning's list ("...use: a, b, c"). */
static int listed(const char *warning, const char *key)
{
    const char *p = strstr(warning, "use: ");
    ck_assert_ptr_nonnull(p);
    int n = 0;
    size_t kl = strlen(key);
    for (p += 5; *p;) {
        const char *e = strstr(p, ", ");
        size_t len = e ? (size_t)(e - p) : strlen(p);
        n += len == kl && strncmp(p, key, kl) == 0;
        p += len + (e ? 2 : 0);
    }
    return n;
}

/* ApiVersions answers on the broker's port. */
static void answers(void)
{
    int fd = tb_ck_connect(&B);
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 256, KP_API_API_VERSIONS, 3, 7), 0);
    tb_enc_api_versions(&r, 3);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(fd, &r, 7, &f), 0);
    tb_req_free(&r);
    struct tb_api_versions v;
    ck_assert_int_eq(tb_dec_api_versions(&f, 3, &v), 0);
    ck_assert_int_eq(v.error, 0);
    tb_frame_free(&f);
    close(fd);
}

START_TEST(kraft_stock_file_starts)
{
    const char *const extra[] = {"--config", fixture("kafka_kraft_server.properties"), NULL};
    tb_ck_start_fresh(&B, extra);
    answers();
    const char *w = the_line("ignoring configuration keys");
    ck_assert_msg(strstr(w, " WARN  "), "%s", w);
    static const char *const ignored[] = {
        "process.roles",
        "controller.quorum.bootstrap.servers",
        "num.io.threads",
        "socket.send.buffer.bytes",
        "socket.receive.buffer.bytes",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
    };
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        ck_assert_msg(strstr(w, ignored[i]), "%s not in: %s", ignored[i], w);
    ck_assert_int_eq(listed(w, "process.roles"), 1);
    /* keys splicelog applies are not in the list */
    static const char *const used[] = {"node.id",
                                       "transaction.state.log.replication.factor",
                                       "transaction.state.log.min.isr",
                                       "inter.broker.listener.name",
                                       "num.network.threads",
                                       "num.recovery.threads.per.data.dir",
                                       "listeners",
                                       "log.dirs",
                                       "log.segment.bytes",
                                       "num.partitions",
                                       "offsets.topic.replication.factor",
                                       "controller.listener.names",
                                       "listener.security.protocol.map"};
    for (size_t i = 0; i < sizeof used / sizeof used[0]; i++)
        ck_assert_msg(listed(w, used[i]) == 0, "%s listed: %s", used[i], w);
    /* the CONTROLLER listener (controller.listener.names) is not opened */
    ck_assert(!tb_log_contains(&B, "CONTROLLER"));
    ck_assert(!tb_log_contains(&B, ":9093"));
}
END_TEST

START_TEST(zookeeper_stock_file_starts)
{
    /* zookeeper.connect is splicelog's now (the cluster, docs/cluster.md): emptied, the file
     * starts a single node, and the ZooKeeper keys are applied, not ignored */
    const char *const extra[] = {"--config", fixture("kafka_zk_server.properties"), "-o",
                                 "zookeeper.connect=", NULL};
    tb_ck_start_fresh(&B, extra);
    answers();
    const char *w = the_line("ignoring configuration keys");
    ck_assert_msg(!strstr(w, "zookeeper."), "%s", w);
    ck_assert_msg(strstr(w, "num.io.threads"), "%s", w);
    ck_assert_msg(!strstr(w, "broker.id") && !strstr(w, "group.initial"), "%s", w);
}
END_TEST

/* A bad start: exit status 2, and the reason on the broker's stderr naming needle. */
static void refused(const char *const *extra, const char *needle)
{
    memset(&B, 0, sizeof B);
    ck_assert_int_eq(tb_broker_start(&B, extra), -ECHILD);
    ck_assert_msg(tb_log_contains(&B, needle), "no '%s' in: %s", needle, log_text());
    ck_assert_int_eq(tb_log_count(&B, "ignoring configuration keys"), 0);
}

START_TEST(wrong_values_still_stop_startup)
{
    const char *kraft = fixture("kafka_kraft_server.properties");
    const char *const bad_value[] = {"--config", kraft, "-o", "num.partitions=0", NULL};
    refused(bad_value, "num.partitions: bad value '0'");
    tb_broker_cleanup(&B);
    const char *const typo[] = {"--config", kraft, "-o", "num.partitons=3", NULL};
    refused(typo, "unknown configuration key 'num.partitons'");
    tb_broker_cleanup(&B);
    /* a listener name the map does not know */
    const char *const unmapped[] = {"--config", kraft, "-o",
                                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT", NULL};
    refused(unmapped, "listener PLAINTEXT has no entry in listener.security.protocol.map");
    tb_broker_cleanup(&B);
    const char *const gssapi[] = {"--config", kraft, "-o",
                                  "listener.security.protocol.map=PLAINTEXT:KERBEROS", NULL};
    refused(gssapi, "security protocol KERBEROS is not supported");
}
END_TEST

/* Every line of the log satisfies ok(line); at least min lines. */
static void every_line(bool (*ok)(const char *line, size_t len), int min)
{
    const char *t = log_text();
    int n = 0;
    for (const char *p = t; *p;) {
        const char *e = strchr(p, '\n');
        ck_assert_msg(e, "unterminated last line: %s", p);
        ck_assert_msg(ok(p, (size_t)(e - p)), "line %d: %.*s", n + 1, (int)(e - p), p);
        n++;
        p = e + 1;
    }
    ck_assert_int_ge(n, min);
}

/* A JSON object with the four fields, the message string closed (no stray quote inside). */
static bool json_line(const char *l, size_t n)
{
    if (n < 40 || strncmp(l, "{\"time\":\"", 9) != 0 || strncmp(l + n - 2, "\"}", 2) != 0)
        return false;
    const char *m = strstr(l, "\",\"level\":\"");
    const char *msg = m ? strstr(m, "\",\"thread\":\"") : NULL;
    msg = msg ? strstr(msg, "\",\"msg\":\"") : NULL;
    if (!msg)
        return false;
    for (const char *p = msg + 9; p < l + n - 2; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return false;
    }
    return true;
}

static bool logfmt_line(const char *l, size_t n)
{
    return n > 40 && strncmp(l, "time=", 5) == 0 && strstr(l, " level=") && strstr(l, " thread=") &&
           strstr(l, " msg=\"") && l[n - 1] == '"';
}

START_TEST(json_and_logfmt_formats)
{
    const char *const json[] = {"-o", "log.format=json", "-o", "log.level=debug", NULL};
    tb_ck_start_fresh(&B, json);
    answers();
    ck_assert(tb_log_wait(&B, "\"msg\":\"connection from peer=127.0.0.1:", 5000));
    tb_ck_stop_clean(&B);
    every_line(json_line, 5);
    tb_broker_cleanup(&B);

    const char *const logfmt[] = {"-o", "log.format=logfmt", NULL};
    tb_ck_start_fresh(&B, logfmt);
    answers();
    tb_ck_stop_clean(&B);
    every_line(logfmt_line, 3);
    ck_assert(tb_log_contains(&B, "level=info thread=main msg=\"splicelogd ready\""));
}
END_TEST

START_TEST(connections_at_debug_levels_by_signal)
{
    tb_ck_start_fresh(&B, NULL);
    answers();
    /* info: connections are not logged */
    usleep(200 * 1000);
    ck_assert_int_eq(tb_log_count(&B, "connection from peer="), 0);
    ck_assert_int_eq(tb_log_count(&B, "closing connection peer="), 0);

    ck_assert_int_eq(kill(B.pid, SIGUSR1), 0);
    ck_assert(tb_log_wait(&B, "log level info -> debug, by SIGUSR1", 5000));
    answers();
    ck_assert(tb_log_wait(&B, "connection from peer=127.0.0.1:", 5000));
    ck_assert(tb_log_wait(&B, "closing connection peer=127.0.0.1:", 5000));
    ck_assert(tb_log_wait(&B, "DEBUG [loop", 5000));

    ck_assert_int_eq(kill(B.pid, SIGUSR2), 0);
    ck_assert(tb_log_wait(&B, "log level debug -> info, by SIGUSR2", 5000));
    ck_assert_int_eq(kill(B.pid, SIGUSR2), 0);
    ck_assert(tb_log_wait(&B, "log level info -> warn, by SIGUSR2", 5000));
    long before = tb_log_count(&B, "connection from peer=");
    answers();
    usleep(300 * 1000);
    ck_assert_int_eq(tb_log_count(&B, "connection from peer="), before);

    /* a request-scoped warning names the client.id */
    int fd = tb_ck_connect(&B);
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin_id(&r, 256, KP_API_CREATE_TOPICS, 4, 9, kp_str_of("ops-cli id")),
                     0);
    tb_enc_create_topics(&r, 4, "toomany", 5000, 1, 1000, false);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(fd, &r, 9, &f), 0);
    tb_req_free(&r);
    tb_frame_free(&f);
    close(fd);
    ck_assert(tb_log_wait(&B, "client.id=ops-cli\\x20id: CreateTopics toomany with 5000 partitions",
                          5000));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kafka_config");
    TCase *tc = tcase_create("kafka_config");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, kraft_stock_file_starts);
    tcase_add_test(tc, zookeeper_stock_file_starts);
    tcase_add_test(tc, wrong_values_still_stop_startup);
    tcase_add_test(tc, json_and_logfmt_formats);
    tcase_add_test(tc, connections_at_debug_levels_by_signal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
