/*
 * test_br_config — the broker's configuration: embedded defaults, key=value overrides,
 * server.properties files (comments, ':' separator, line numbers in errors), every error
 * naming its key, listeners / advertised.listeners parsing, unit conversions, the connection
 * and request-byte bounds (max.connections.per.ip and its overrides list), and the shipped
 * config/server.properties loading to exactly the defaults.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_config.h"

static struct br_config C;
static char err[1024];

static void setup(void)
{
    br_config_init(&C);
    err[0] = 0;
}

static int set(const char *kv) { return br_config_set(&C, kv, err, sizeof err); }

/* Writes text to a temporary file; returns its path (static buffer). */
static const char *tmpfile_with(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_br_config.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(defaults)
{
    ck_assert_int_eq(C.node_id, 0);
    ck_assert_int_eq(C.nlisteners, 1);
    ck_assert_str_eq(C.listeners[0].name, "PLAINTEXT");
    ck_assert_str_eq(C.listeners[0].host, "127.0.0.1");
    ck_assert_int_eq(C.listeners[0].port, 9092);
    ck_assert_str_eq(C.data_dir, "./data");
    ck_assert(C.auto_create_topics);
    ck_assert_int_eq(C.num_partitions, 1);
    ck_assert_int_eq(C.socket_request_max_bytes, 100 << 20);
    ck_assert_int_eq(C.message_max_bytes, 1048588);
    ck_assert_int_eq(C.transfer, BR_XFER_AUTO);
    ck_assert_int_eq(C.inline_max_bytes, 65536);
    ck_assert_int_eq(C.log.segment_bytes, 1LL << 30);
    ck_assert(!C.log.log_append_time);
    ck_assert_int_eq(C.max_connections, 10000);
    ck_assert_int_eq(C.max_connections_per_ip, 2147483647);
    ck_assert_int_eq(C.nip_overrides, 0);
    ck_assert_int_eq(C.evict_idle_ms, 1000);
    ck_assert_int_eq(C.request_receive_timeout_ms, 30000);
    ck_assert_int_eq(C.queued_max_request_bytes, 256 << 20);
    ck_assert_int_eq(C.turn_max_requests, 16); /* fair service is on without a quota */
    ck_assert_int_eq(C.turn_max_bytes, 256 << 10);
    ck_assert_int_eq(C.heavy_busy_percent, 75);
    ck_assert_int_eq(C.placement, BR_PLACE_LOAD); /* by load, not the kernel's hash */
    ck_assert_int_eq(br_config_finish(&C, err, sizeof err), 0);
    ck_assert_int_ge(C.num_network_threads, 1); /* 0 became the CPU count */
}
END_TEST

START_TEST(overrides_and_aliases)
{
    ck_assert_int_eq(set("num.partitions = 4"), 0);
    ck_assert_int_eq(C.num_partitions, 4);
    ck_assert_int_eq(set("broker.id=7"), 0);
    ck_assert_int_eq(C.node_id, 7);
    ck_assert_int_eq(set("log.dir=/tmp/x"), 0);
    ck_assert_str_eq(C.data_dir, "/tmp/x");
    ck_assert_int_eq(set("fetch.transfer=copy"), 0);
    ck_assert_int_eq(C.transfer, BR_XFER_COPY);
    ck_assert_int_eq(set("connection.placement=hash"), 0);
    ck_assert_int_eq(C.placement, BR_PLACE_HASH);
    ck_assert_int_eq(set("auto.create.topics.enable=FALSE"), 0);
    ck_assert(!C.auto_create_topics);
    ck_assert_int_eq(set("log.retention.hours=2"), 0);
    ck_assert_int_eq(C.log.retention_ms, 2 * 3600000LL);
    ck_assert_int_eq(set("log.retention.minutes=3"), 0);
    ck_assert_int_eq(C.log.retention_ms, 3 * 60000LL);
    ck_assert_int_eq(set("log.retention.ms=-1"), 0);
    ck_assert_int_eq(C.log.retention_ms, -1);
    ck_assert_int_eq(set("log.message.timestamp.type=LogAppendTime"), 0);
    ck_assert(C.log.log_append_time);
    ck_assert_int_eq(set("log.level=debug"), 0);
    ck_assert_int_eq(C.log_level, BR_LOG_DEBUG);
    ck_assert_int_eq(set("log.flush.interval.messages=1"), 0);
    ck_assert_int_eq(C.log.flush_interval_messages, 1);
    /* Kafka's key, applied (no longer among the ignored ones) */
    ck_assert_int_eq(C.log.recovery_threads, 0);
    ck_assert_int_eq(set("num.recovery.threads.per.data.dir=3"), 0);
    ck_assert_int_eq(C.log.recovery_threads, 3);
    ck_assert_int_eq(set("num.recovery.threads.per.data.dir=-1"), -EINVAL);
    ck_assert_str_eq(C.ignored, "");
}
END_TEST

START_TEST(errors_name_the_key)
{
    static const struct {
        const char *kv, *key;
    } bad[] = {
        {"no.such.key=1", "no.such.key"},
        {"num.partitions=0", "num.partitions"},
        {"num.partitions=abc", "num.partitions"},
        {"num.partitions=", "num.partitions"},
        {"num.partitions=1x", "num.partitions"},
        {"message.max.bytes=99999999999", "message.max.bytes"},
        {"auto.create.topics.enable=yes", "auto.create.topics.enable"},
        {"fetch.transfer=mmap", "fetch.transfer"},
        {"connection.placement=random", "connection.placement"},
        {"log.level=loud", "log.level"},
        {"log.format=xml", "log.format"},
        {"log.message.timestamp.type=Now", "log.message.timestamp.type"},
        {"listeners=127.0.0.1:9092", "listeners"},
        {"listeners=PLAINTEXT:/127.0.0.1:9093", "listeners"},
        {"sasl.enabled.mechanisms=GSSAPI", "sasl.enabled.mechanisms"},
        {"ssl.principal.mapping.rules=RULE:x", "ssl.principal.mapping.rules"},
        {"connection.failed.authentication.delay.ms=-1",
         "connection.failed.authentication.delay.ms"},
        {"listeners=PLAINTEXT://127.0.0.1:70000", "listeners"},
        {"listeners=PLAINTEXT://127.0.0.1:", "listeners"},
        {"max.connections.per.ip=-1", "max.connections.per.ip"},
        {"max.connections.per.ip.overrides=127.0.0.1", "max.connections.per.ip.overrides"},
        {"max.connections.per.ip.overrides=127.0.0.1:x", "max.connections.per.ip.overrides"},
        {"max.connections.per.ip.overrides=:5", "max.connections.per.ip.overrides"},
        {"max.connections.per.ip.overrides=h:-1", "max.connections.per.ip.overrides"},
        {"max.connections.per.ip.overrides=h:2147483648", "max.connections.per.ip.overrides"},
        {"max.connections.evict.idle.ms=-2", "max.connections.evict.idle.ms"},
        {"request.receive.timeout.ms=-1", "request.receive.timeout.ms"},
        {"queued.max.request.bytes=-2", "queued.max.request.bytes"},
        {"metrics.listener=127.0.0.1:9644", "metrics.listener"},
        {"metrics.listener=https://127.0.0.1:9644", "metrics.listener"},
        {"metrics.listener=http://127.0.0.1:65536", "metrics.listener"},
        {"metrics.http.connections.max=0", "metrics.http.connections.max"},
        {"metrics.http.timeout.ms=0", "metrics.http.timeout.ms"},
        {"metrics.log.level.remote.enable=yes", "metrics.log.level.remote.enable"},
        {"metrics.topic.series.max=0", "metrics.topic.series.max"},
        {"metrics.partition.series.max=-1", "metrics.partition.series.max"},
        {"metrics.group.series.max=x", "metrics.group.series.max"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        ck_assert_msg(set(bad[i].kv) == -EINVAL, "%s accepted", bad[i].kv);
        ck_assert_msg(strstr(err, bad[i].key) != NULL, "%s: message '%s' lacks the key", bad[i].kv,
                      err);
    }
    /* metrics.*: off by default; a listener URL is parsed (v6 in brackets) */
    ck_assert_str_eq(C.metrics.listener, "");
    ck_assert_int_eq(set("metrics.listener=http://[::1]:9644"), 0);
    ck_assert_str_eq(C.metrics.host, "::1");
    ck_assert_int_eq(C.metrics.port, 9644);
    ck_assert_int_eq(set("metrics.listener="), 0);
    ck_assert_str_eq(C.metrics.listener, "");
    ck_assert_int_eq(set("no equals sign"), -EINVAL);
    ck_assert_int_eq(set("=1"), -EINVAL);
    /* a failed setting leaves the previous value */
    ck_assert_int_eq(C.num_partitions, 1);
    ck_assert_int_eq(C.listeners[0].port, 9092);
}
END_TEST

START_TEST(connection_and_request_byte_bounds)
{
    /* Kafka's format: host:count, comma-separated; hosts may be names or v4/v6 addresses. */
    ck_assert_int_eq(
        set("max.connections.per.ip.overrides = 10.0.0.1:5, broker-2.example:0,[::1]:7,fe80::1:9"),
        0);
    ck_assert_int_eq(C.nip_overrides, 4);
    ck_assert_str_eq(C.ip_overrides[0].host, "10.0.0.1");
    ck_assert_int_eq(C.ip_overrides[0].max, 5);
    ck_assert_str_eq(C.ip_overrides[1].host, "broker-2.example");
    ck_assert_int_eq(C.ip_overrides[1].max, 0);
    ck_assert_str_eq(C.ip_overrides[2].host, "::1");
    ck_assert_int_eq(C.ip_overrides[2].max, 7);
    ck_assert_str_eq(C.ip_overrides[3].host, "fe80::1");
    ck_assert_int_eq(C.ip_overrides[3].max, 9);
    /* a later setting replaces the list; an empty one clears it */
    ck_assert_int_eq(set("max.connections.per.ip.overrides=127.0.0.1:3"), 0);
    ck_assert_int_eq(C.nip_overrides, 1);
    ck_assert_int_eq(set("max.connections.per.ip.overrides="), 0);
    ck_assert_int_eq(C.nip_overrides, 0);
    ck_assert_str_eq(C.ip_overrides[0].host, "");

    /* per.ip=0 admits nobody unless overrides let some in (as Kafka) */
    ck_assert_int_eq(set("max.connections.per.ip=0"), 0);
    ck_assert_int_eq(br_config_finish(&C, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "max.connections.per.ip"));
    ck_assert_int_eq(set("max.connections.per.ip.overrides=127.0.0.1:10"), 0);
    ck_assert_int_eq(br_config_finish(&C, err, sizeof err), 0);

    ck_assert_int_eq(set("queued.max.request.bytes=0"), 0);
    ck_assert_int_eq(br_config_finish(&C, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "queued.max.request.bytes"));
    ck_assert_int_eq(set("queued.max.request.bytes=-1"), 0);
    ck_assert_int_eq(set("max.connections.evict.idle.ms=-1"), 0);
    ck_assert_int_eq(set("request.receive.timeout.ms=0"), 0);
    ck_assert_int_eq(br_config_finish(&C, err, sizeof err), 0);
}
END_TEST

/* ssl.principal.mapping.rules: Kafka's grammar and semantics (first matching rule, $n groups,
 * /L and /U, DEFAULT the subject itself, no match refused). */
START_TEST(principal_mapping_rules)
{
    char out[256];
    const char *rules = "RULE:^CN=([a-z-]+),OU=svc$/$1@svc/U, RULE:^CN=(.*)$/$1/L, DEFAULT";
    ck_assert_int_eq(br_sec_principal_rules_check(rules, err, sizeof err), 0);
    ck_assert_int_eq(br_sec_principal_map(rules, "CN=app-one,OU=svc", out, sizeof out), 0);
    ck_assert_str_eq(out, "APP-ONE@SVC");
    ck_assert_int_eq(br_sec_principal_map(rules, "CN=Alice", out, sizeof out), 0);
    ck_assert_str_eq(out, "alice");
    ck_assert_int_eq(br_sec_principal_map(rules, "O=x", out, sizeof out), 0); /* DEFAULT */
    ck_assert_str_eq(out, "O=x");
    ck_assert_int_eq(br_sec_principal_map("RULE:^CN=(.*)$/$1/", "O=x", out, sizeof out), -ENOENT);
    ck_assert_int_eq(br_sec_principal_map("DEFAULT", "CN=a", out, 3), -ENOSPC);
    ck_assert_int_eq(br_sec_principal_rules_check("RULE:(/x/", err, sizeof err), -EINVAL);
    ck_assert_int_eq(br_sec_principal_rules_check("NOPE", err, sizeof err), -EINVAL);
    ck_assert_int_eq(br_sec_principal_map("RULE:^CN=a\\/b$/ok/", "CN=a/b", out, sizeof out), 0);
    ck_assert_str_eq(out, "ok");
}
END_TEST

START_TEST(listeners_and_advertised)
{
    /* a listener name that is no protocol, without a map: refused once the whole config is
     * known (the map may come later in the file) */
    ck_assert_int_eq(set("listeners=PLAINTEXT://0.0.0.0:0, plaintext2://[::1]:9093"), 0);
    ck_assert_int_eq(br_config_finish(&C, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "plaintext2") && strstr(err, "listener.security.protocol.map"), "%s",
                  err);
    ck_assert_int_eq(set("listener.security.protocol.map=PLAINTEXT:PLAINTEXT,plaintext2:SASL_SSL"),
                     0);
    ck_assert_msg(br_config_finish(&C, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(C.listeners[1].protocol, BR_PROTO_SASL_SSL);
    /* the SASL protocols as listener names; a protocol splicelog does not have */
    setup();
    ck_assert_int_eq(set("listeners=SASL_SSL://127.0.0.1:9093,SASL_PLAINTEXT://127.0.0.1:0"), 0);
    ck_assert_msg(br_config_finish(&C, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(C.listeners[0].protocol, BR_PROTO_SASL_SSL);
    ck_assert_int_eq(C.listeners[1].protocol, BR_PROTO_SASL_PLAINTEXT);
    setup();
    ck_assert_int_eq(set("listeners=x://127.0.0.1:0"), 0);
    ck_assert_int_eq(set("listener.security.protocol.map=x:KERBEROS"), 0);
    ck_assert_int_eq(br_config_finish(&C, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "KERBEROS is not supported"), "%s", err);
    setup();
    ck_assert_int_eq(set("sasl.enabled.mechanisms=GSSAPI"), -EINVAL);
    ck_assert_int_eq(set("authorizer.class.name=kafka.security.authorizer.AclAuthorizer"), 0);
    ck_assert(C.sec.authorizer);
    ck_assert_int_eq(set("authorizer.class.name=com.example.Custom"), -EINVAL);
    setup();
    ck_assert_int_eq(set("listeners=PLAINTEXT://:0"), 0);
    ck_assert_int_eq(C.nlisteners, 1);
    ck_assert_str_eq(C.listeners[0].host, "");
    ck_assert_int_eq(C.listeners[0].port, 0);
    ck_assert_int_eq(set("listeners=PLAINTEXT://[::1]:9093"), 0);
    ck_assert_str_eq(C.listeners[0].host, "::1");
    ck_assert_int_eq(C.listeners[0].port, 9093);
    ck_assert_int_eq(set("advertised.listeners=PLAINTEXT://broker.example:19093"), 0);
    ck_assert_int_eq(br_config_finish(&C, err, sizeof err), 0);
    ck_assert_str_eq(C.listeners[0].adv_host, "broker.example");
    ck_assert_int_eq(C.listeners[0].adv_port, 19093);

    setup();
    ck_assert_int_eq(set("advertised.listeners=OTHER://h:1"), 0);
    ck_assert_int_eq(br_config_finish(&C, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "advertised.listeners"));

    setup();
    ck_assert_int_eq(set("message.max.bytes=2000000"), 0);
    ck_assert_int_eq(set("socket.request.max.bytes=1000000"), 0);
    ck_assert_int_eq(br_config_finish(&C, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "socket.request.max.bytes"));
}
END_TEST

START_TEST(protocol_map_and_controller_listeners)
{
    /* Kafka's KRaft example: a CONTROLLER listener (not opened), names through the map. */
    ck_assert_int_eq(set("listeners=CLIENT://127.0.0.1:0,CONTROLLER://:9093,SECURE://:0"), 0);
    ck_assert_int_eq(set("advertised.listeners=CLIENT://h:1,CONTROLLER://h:9093"), 0);
    ck_assert_int_eq(set("controller.listener.names=CONTROLLER"), 0);
    ck_assert_int_eq(set("listener.security.protocol.map=CONTROLLER:PLAINTEXT, CLIENT:PLAINTEXT,"
                         "SECURE:SSL,SASL_SSL:SASL_SSL"),
                     0);
    ck_assert_msg(br_config_finish(&C, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(C.nlisteners, 2);
    ck_assert_str_eq(C.listeners[0].name, "CLIENT");
    ck_assert_int_eq(C.listeners[0].protocol, BR_PROTO_PLAINTEXT);
    ck_assert_str_eq(C.listeners[0].adv_host, "h");
    ck_assert_str_eq(C.listeners[1].name, "SECURE");
    ck_assert_int_eq(C.listeners[1].protocol, BR_PROTO_SSL);

    /* a listener missing from the map, a map entry without a protocol, an unsupported one */
    setup();
    ck_assert_int_eq(set("listeners=CLIENT://127.0.0.1:0"), 0);
    ck_assert_int_eq(set("listener.security.protocol.map=OTHER:PLAINTEXT"), 0);
    ck_assert_int_eq(br_config_finish(&C, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "CLIENT has no entry"), "%s", err);
    setup();
    ck_assert_int_eq(set("listeners=CLIENT://127.0.0.1:0"), 0);
    ck_assert_int_eq(set("listener.security.protocol.map=CLIENT"), 0);
    ck_assert_int_eq(br_config_finish(&C, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "listener.security.protocol.map"), "%s", err);
    setup();
    ck_assert_int_eq(set("listeners=CLIENT://127.0.0.1:0"), 0);
    ck_assert_int_eq(set("listener.security.protocol.map=CLIENT:GSSAPI"), 0);
    ck_assert_int_eq(br_config_finish(&C, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "GSSAPI is not supported"), "%s", err);
    /* only controller listeners: nothing to serve */
    setup();
    ck_assert_int_eq(set("listeners=CONTROLLER://:9093"), 0);
    ck_assert_int_eq(set("controller.listener.names=CONTROLLER"), 0);
    ck_assert_int_eq(br_config_finish(&C, err, sizeof err), -EINVAL);
}
END_TEST

START_TEST(kafka_only_keys_ignored)
{
    /* accepted whatever the value, listed once each, in the order first seen */
    ck_assert_int_eq(set("process.roles=broker,controller"), 0);
    ck_assert_int_eq(set("num.io.threads=8"), 0);
    ck_assert_int_eq(set("socket.send.buffer.bytes=not-a-number"), 0);
    ck_assert_int_eq(set("num.io.threads=16"), 0);
    ck_assert_int_eq(set("io.threads=1"), -EINVAL); /* a typo is still an unknown key */
    ck_assert_str_eq(C.ignored, "process.roles, num.io.threads, socket.send.buffer.bytes");
    /* a key that is a suffix of one already listed is listed too */
    ck_assert_int_eq(set("offsets.topic.min.isr=1"), 0);
    ck_assert_int_eq(set("share.coordinator.state.topic.min.isr=1"), 0);
    ck_assert_ptr_nonnull(strstr(C.ignored, ", share.coordinator.state.topic.min.isr"));
    /* keys splicelog uses are still checked */
    ck_assert_int_eq(set("num.network.threads=-3"), -EINVAL);
    ck_assert_int_eq(set("log.format=logfmt"), 0);
    ck_assert_int_eq(C.log_format, BR_LOG_FMT_LOGFMT);
    ck_assert_msg(br_config_finish(&C, err, sizeof err) == 0, "%s", err);
}
END_TEST

START_TEST(zookeeper_keys)
{
    /* no zookeeper.connect: a single node; the connection timeout follows the session's */
    ck_assert_str_eq(C.zk_connect, "");
    ck_assert_int_eq(C.zk_session_timeout_ms, 18000);
    ck_assert_msg(br_config_finish(&C, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(C.zk_connection_timeout_ms, 18000);
    ck_assert_str_eq(C.ignored, "");
    /* the keys are applied, not ignored */
    setup();
    ck_assert_int_eq(set("broker.id=3"), 0);
    ck_assert_int_eq(set("zookeeper.connect=127.0.0.1:2181,127.0.0.1:2182/kafka/a"), 0);
    ck_assert_int_eq(set("zookeeper.session.timeout.ms=4000"), 0);
    ck_assert_int_eq(set("zookeeper.connection.timeout.ms=1500"), 0);
    ck_assert_msg(br_config_finish(&C, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(C.node_id, 3);
    ck_assert_str_eq(C.zk_connect, "127.0.0.1:2181,127.0.0.1:2182/kafka/a");
    ck_assert_int_eq(C.zk_session_timeout_ms, 4000);
    ck_assert_int_eq(C.zk_connection_timeout_ms, 1500);
    ck_assert_str_eq(C.ignored, "");
    /* bad values */
    ck_assert_int_eq(set("zookeeper.session.timeout.ms=abc"), -EINVAL);
    static const char *const bad[] = {"/chroot", "h:1/", "h:1/a/", "h:1//a", "h 1:2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setup();
        char kv[64];
        snprintf(kv, sizeof kv, "zookeeper.connect=%s", bad[i]);
        ck_assert_int_eq(set(kv), 0);
        ck_assert_int_eq(br_config_finish(&C, err, sizeof err), -EINVAL);
        ck_assert_msg(strstr(err, "zookeeper.connect"), "%s", err);
    }
}
END_TEST

START_TEST(file_syntax_and_line_numbers)
{
    const char *path = tmpfile_with("# comment\n"
                                    "! also a comment\n"
                                    "\n"
                                    "   num.partitions = 3   \n"
                                    "listeners=PLAINTEXT://127.0.0.1:0\n"
                                    "log.dirs: /var/tmp/sl\n");
    ck_assert_int_eq(br_config_load_file(&C, path, err, sizeof err), 0);
    ck_assert_int_eq(C.num_partitions, 3);
    ck_assert_int_eq(C.listeners[0].port, 0);
    ck_assert_str_eq(C.data_dir, "/var/tmp/sl");
    unlink(path);

    path = tmpfile_with("num.partitions=2\n\nbogus.key=1\n");
    ck_assert_int_eq(br_config_load_file(&C, path, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, ":3:") && strstr(err, "bogus.key"), "message: %s", err);
    unlink(path);

    path = tmpfile_with("just words\n");
    ck_assert_int_eq(br_config_load_file(&C, path, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, ":1:"));
    unlink(path);

    ck_assert_int_eq(br_config_load_file(&C, "/nonexistent/x.properties", err, sizeof err),
                     -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x.properties"));
}
END_TEST

static int nkeys;
static void count_key(void *arg, const char *key, const char *def, const char *doc)
{
    (void)arg;
    ck_assert_ptr_nonnull(key);
    ck_assert_ptr_nonnull(doc);
    (void)def;
    nkeys++;
}

START_TEST(shipped_example_is_the_defaults)
{
    /* config/server.properties sets every key to its default: loading it changes nothing. */
    const char *root = getenv("SPLICELOG_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/config/server.properties", root ? root : ".");
    struct br_config file;
    br_config_init(&file);
    ck_assert_msg(br_config_load_file(&file, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(memcmp(&file, &C, sizeof file), 0);
    nkeys = 0;
    br_config_keys(count_key, NULL);
    ck_assert_int_ge(nkeys, 30);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_config");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, overrides_and_aliases);
    tcase_add_test(tc, errors_name_the_key);
    tcase_add_test(tc, connection_and_request_byte_bounds);
    tcase_add_test(tc, listeners_and_advertised);
    tcase_add_test(tc, principal_mapping_rules);
    tcase_add_test(tc, protocol_map_and_controller_listeners);
    tcase_add_test(tc, kafka_only_keys_ignored);
    tcase_add_test(tc, zookeeper_keys);
    tcase_add_test(tc, file_syntax_and_line_numbers);
    tcase_add_test(tc, shipped_example_is_the_defaults);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
