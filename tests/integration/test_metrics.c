/*
 * test_metrics — the metrics listener of a real splicelogd (metrics.listener):
 * - off by default: nothing is said about a metrics listener;
 * - /health answers 503 while the data directory is being recovered and 200 once the broker
 *   serves (recovery is held up by a topic metadata file that is a FIFO nobody writes yet);
 * - /metrics moves with traffic: kcat produces 100 records and a kcat group consumes them;
 *   requests per API, latency histograms, bytes and records in and out per topic, log end
 *   offsets and sizes per partition, fsync latency (log.flush.interval.messages=1), committed
 *   offsets and lag per group, produce and fetch errors by code (raw requests to a missing
 *   topic and past the log end); and promtool check metrics accepts every scrape;
 * - the log level changes at run time through PUT /log-level: DEBUG lines appear, then stop.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_http.h"
#include "../support/tb_kafka.h"

static struct tb_broker B;

static void setup(void) { memset(&B, 0, sizeof B); }

static void teardown(void) { tb_ck_finish(&B); }

static const char *const METRICS_ON[] = {"-o", "metrics.listener=http://127.0.0.1:0", "-o",
                                         "log.flush.interval.messages=1", NULL};

/* The metrics port of the broker's latest start, from its log line; 0 when not there. */
static int metrics_port(void) { return tb_broker_metrics_port(&B); }

/* GET path: the body (caller frees); the status in *status. */
static char *get(int port, const char *path, int *status)
{
    struct tb_http_resp r;
    int rc = tb_http(port, "GET", path, NULL, 16 << 20, &r);
    ck_assert_msg(rc == 0, "GET %s: %s", path, strerror(-rc));
    *status = r.status;
    return r.body;
}

/* Scrapes /metrics and has promtool check it; the text (caller frees). */
static char *scrape(int port)
{
    int st;
    char *text = get(port, "/metrics", &st);
    ck_assert_int_eq(st, 200);
    char msg[4096];
    int rc = tb_promtool_check(text, strlen(text), msg, sizeof msg);
    ck_assert_msg(rc != -ENOENT, "promtool not found (scripts/deps.sh test installs it)");
    ck_assert_msg(rc == 0, "promtool check metrics: %s", msg);
    return text;
}

static double metric(const char *text, const char *series)
{
    double v = tb_metric(text, series);
    ck_assert_msg(v >= 0, "no sample %s in the scrape", series);
    return v;
}

static void run_kcat(const char *const *argv, const char *out)
{
    pid_t pid = tb_spawn(argv, out);
    ck_assert_msg(pid > 0, "cannot run kcat: %s", strerror((int)-pid));
    int st = tb_wait_exit(pid, 60000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "kcat status 0x%x", st);
}

START_TEST(off_by_default)
{
    tb_ck_start_fresh(&B, NULL);
    ck_assert(!tb_log_contains(&B, "metrics listener"));
}
END_TEST

/* ---- /health during recovery ------------------------------------------------------------- */

struct recovery_probe {
    char fifo[400];
    char saved[4096];
    size_t saved_len;
    int status; /* /health while the store waits on the FIFO */
    char body[128];
    int err;
};

/* Waits for the listener, asks /health, then lets recovery go on by feeding the FIFO the
 * metadata file it replaced. Not a Check context: results go back through p. */
static void *probe_recovery(void *arg)
{
    struct recovery_probe *p = arg;
    p->err = -ETIMEDOUT;
    if (!tb_log_wait(&B, "metrics listener on", 20000))
        return NULL;
    int port = metrics_port();
    struct tb_http_resp r;
    p->err = tb_http(port, "GET", "/health", NULL, 4096, &r);
    if (p->err == 0) {
        p->status = r.status;
        snprintf(p->body, sizeof p->body, "%s", r.body);
        tb_http_resp_free(&r);
    }
    int fd = open(p->fifo, O_WRONLY); /* blocks until the store opens it for reading */
    if (fd >= 0) {
        if (write(fd, p->saved, p->saved_len) != (ssize_t)p->saved_len)
            p->err = -EIO;
        close(fd);
    }
    return NULL;
}

START_TEST(health_waits_for_recovery)
{
    tb_ck_start_fresh(&B, METRICS_ON);
    int fd = tb_ck_connect(&B);
    int16_t err;
    ck_assert_int_eq(tb_create_topic(fd, "slow", 1, &err), 0);
    ck_assert_int_eq(err, 0);
    close(fd);
    tb_ck_stop_clean(&B);

    /* the topic's metadata file becomes a FIFO: opening the store blocks on it */
    struct recovery_probe p = {0};
    snprintf(p.fifo, sizeof p.fifo, "%s/slow.topic", B.data);
    FILE *f = fopen(p.fifo, "r");
    ck_assert_ptr_nonnull(f);
    p.saved_len = fread(p.saved, 1, sizeof p.saved, f);
    fclose(f);
    ck_assert_int_gt(p.saved_len, 0);
    ck_assert_int_eq(unlink(p.fifo), 0);
    ck_assert_int_eq(mkfifo(p.fifo, 0644), 0);
    unlink(B.log); /* the new start's port line is the only one */
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, probe_recovery, &p), 0);
    tb_ck_start(&B, METRICS_ON); /* returns once the broker is ready */
    pthread_join(t, NULL);
    ck_assert_msg(p.err == 0, "probe: %s", strerror(-p.err));
    ck_assert_int_eq(p.status, 503);
    ck_assert_ptr_nonnull(strstr(p.body, "starting"));
    int st;
    char *body = get(metrics_port(), "/health", &st);
    ck_assert_int_eq(st, 200);
    ck_assert_str_eq(body, "ready\n");
    free(body);
    /* the topic came through recovery */
    char *text = scrape(metrics_port());
    ck_assert_double_eq(metric(text, "splicelog_log_end_offset{topic=\"slow\",partition=\"0\"}"),
                        0);
    free(text);
}
END_TEST

/* ---- values move ----------------------------------------------------------------------------- */

START_TEST(metrics_follow_traffic)
{
    tb_ck_start_fresh(&B, METRICS_ON);
    int port = metrics_port();
    ck_assert_int_gt(port, 0);
    char *text = scrape(port);
    ck_assert_double_eq(metric(text, "splicelog_ready"), 1);
    ck_assert_double_eq(metric(text, "splicelog_requests_total{api=\"Produce\"}"), 0);
    ck_assert_double_eq(metric(text, "splicelog_topics"), 0);
    free(text);

    char bootstrap[64], in[400], out[400];
    snprintf(bootstrap, sizeof bootstrap, "127.0.0.1:%d", B.port);
    snprintf(in, sizeof in, "%s/kcat.in", B.dir);
    snprintf(out, sizeof out, "%s/kcat.out", B.dir);
    FILE *f = fopen(in, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 100; i++)
        fprintf(f, "value-%03d\n", i);
    fclose(f);
    const char *produce[] = {"kcat", "-b", bootstrap, "-P", "-t", "mt", "-p", "0", "-l", in, NULL};
    run_kcat(produce, out);
    const char *consume[] = {"kcat",
                             "-b",
                             bootstrap,
                             "-G",
                             "mtg",
                             "-q",
                             "-e",
                             "-X",
                             "auto.offset.reset=earliest",
                             "-X",
                             "enable.auto.commit=true",
                             "mt",
                             NULL};
    run_kcat(consume, out);

    text = scrape(port);
    ck_assert_double_ge(metric(text, "splicelog_requests_total{api=\"Produce\"}"), 1);
    ck_assert_double_ge(metric(text, "splicelog_requests_total{api=\"Fetch\"}"), 1);
    ck_assert_double_ge(metric(text, "splicelog_requests_total{api=\"JoinGroup\"}"), 1);
    ck_assert_double_ge(metric(text, "splicelog_request_duration_seconds_count{api=\"Produce\"}"),
                        1);
    ck_assert_double_eq(
        metric(text, "splicelog_request_duration_seconds_bucket{api=\"Produce\",le=\"+Inf\"}"),
        metric(text, "splicelog_request_duration_seconds_count{api=\"Produce\"}"));
    double in_bytes = metric(text, "splicelog_topic_bytes_in_total{topic=\"mt\"}");
    ck_assert_double_gt(in_bytes, 100 * 9);
    ck_assert_double_eq(metric(text, "splicelog_topic_records_in_total{topic=\"mt\"}"), 100);
    ck_assert_double_ge(metric(text, "splicelog_topic_bytes_out_total{topic=\"mt\"}"), in_bytes);
    ck_assert_double_eq(metric(text, "splicelog_log_end_offset{topic=\"mt\",partition=\"0\"}"),
                        100);
    ck_assert_double_eq(metric(text, "splicelog_log_start_offset{topic=\"mt\",partition=\"0\"}"),
                        0);
    ck_assert_double_eq(metric(text, "splicelog_log_size_bytes{topic=\"mt\",partition=\"0\"}"),
                        in_bytes);
    /* and the group's commits in __consumer_offsets (partition abs(hashCode("mtg")) % 50) */
    double co_bytes =
        metric(text, "splicelog_log_size_bytes{topic=\"__consumer_offsets\",partition=\"48\"}");
    ck_assert_double_gt(co_bytes, 0);
    ck_assert_double_eq(metric(text, "splicelog_store_size_bytes"), in_bytes + co_bytes);
    ck_assert_double_ge(metric(text, "splicelog_log_flush_duration_seconds_count"), 1);
    ck_assert_double_eq(
        metric(text,
               "splicelog_group_committed_offset{group=\"mtg\",topic=\"mt\",partition=\"0\"}"),
        100);
    ck_assert_double_eq(
        metric(text, "splicelog_group_lag{group=\"mtg\",topic=\"mt\",partition=\"0\"}"), 0);
    /* the group is there (its one member has left, or is leaving) */
    ck_assert_double_le(metric(text, "splicelog_group_members{group=\"mtg\"}"), 1);
    ck_assert_double_ge(metric(text, "splicelog_connections"), 0);
    ck_assert_double_eq(metric(text, "splicelog_request_memory_limit_bytes"), 268435456);
    free(text);

    /* raw requests: five more records (the lag grows), a produce to a missing topic, a fetch
     * past the end */
    int fd = tb_ck_connect(&B);
    uint8_t batch[4096];
    long n = tb_batch_values(batch, sizeof batch, "more", 0, 5, 0, false, 1000);
    ck_assert_int_gt(n, 0);
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_produce(fd, "mt", 0, batch, (size_t)n, &pr), 0);
    ck_assert_int_eq(pr.error, 0);
    n = tb_batch_values(batch, sizeof batch, "lost", 0, 1, 0, false, 1000);
    ck_assert_int_eq(tb_produce(fd, "no-such-topic", 0, batch, (size_t)n, &pr), 0);
    ck_assert_int_eq(pr.error, 3); /* UNKNOWN_TOPIC_OR_PARTITION */
    struct tb_fetch_args fa = {.max_wait_ms = 0,
                               .min_bytes = 1,
                               .max_bytes = 1 << 20,
                               .topic = "mt",
                               .partition = 0,
                               .offset = 500,
                               .partition_max_bytes = 1 << 20};
    struct tb_frame fr;
    struct tb_fetch_resp fres;
    ck_assert_int_eq(tb_fetch(fd, &fa, &fr, &fres), 0);
    ck_assert_int_eq(fres.error, 1); /* OFFSET_OUT_OF_RANGE */
    tb_frame_free(&fr);
    close(fd);

    text = scrape(port);
    ck_assert_double_eq(metric(text, "splicelog_topic_records_in_total{topic=\"mt\"}"), 105);
    ck_assert_double_eq(metric(text, "splicelog_log_end_offset{topic=\"mt\",partition=\"0\"}"),
                        105);
    ck_assert_double_eq(
        metric(text, "splicelog_group_lag{group=\"mtg\",topic=\"mt\",partition=\"0\"}"), 5);
    ck_assert_double_eq(
        metric(text, "splicelog_produce_errors_total{error=\"UNKNOWN_TOPIC_OR_PARTITION\"}"), 1);
    ck_assert_double_eq(metric(text, "splicelog_fetch_errors_total{error=\"OFFSET_OUT_OF_RANGE\"}"),
                        1);
    ck_assert_double_lt(tb_metric(text, "splicelog_topic_bytes_in_total{topic=\"no-such-topic\"}"),
                        0);
    free(text);
}
END_TEST

/* ---- the log level ----------------------------------------------------------------------- */

START_TEST(log_level_at_run_time)
{
    tb_ck_start_fresh(&B, METRICS_ON);
    int port = metrics_port();
    int st;
    char *body = get(port, "/log-level", &st);
    ck_assert_int_eq(st, 200);
    ck_assert_str_eq(body, "info\n");
    free(body);
    /* at INFO, a request writes no DEBUG line */
    int fd = tb_ck_connect(&B);
    int16_t err;
    ck_assert_int_eq(tb_create_topic(fd, "quiet", 1, &err), 0);
    ck_assert(!tb_log_contains(&B, "DEBUG"));

    struct tb_http_resp r;
    ck_assert_int_eq(tb_http(port, "PUT", "/log-level", "debug", 4096, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "debug (was info)\n");
    tb_http_resp_free(&r);
    ck_assert(tb_log_contains(&B, "log level info -> debug, by peer=127.0.0.1:"));
    ck_assert_int_eq(tb_create_topic(fd, "loud", 1, &err), 0);
    ck_assert(tb_log_wait(&B, "DEBUG", 5000));
    ck_assert(tb_log_contains(&B, "CreateTopics v"));

    ck_assert_int_eq(tb_http(port, "PUT", "/log-level", "info", 4096, &r), 0);
    ck_assert_int_eq(r.status, 200);
    tb_http_resp_free(&r);
    long debug_lines = tb_log_count(&B, "DEBUG");
    ck_assert_int_eq(tb_create_topic(fd, "quiet-again", 1, &err), 0);
    close(fd);
    ck_assert_int_eq(tb_log_count(&B, "DEBUG"), debug_lines);
    ck_assert_int_eq(tb_http(port, "PUT", "/log-level", "shout", 4096, &r), 0);
    ck_assert_int_eq(r.status, 400);
    tb_http_resp_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, off_by_default);
    tcase_add_test(tc, health_waits_for_recovery);
    tcase_add_test(tc, metrics_follow_traffic);
    tcase_add_test(tc, log_level_at_run_time);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
