/*
 * test_br_metrics — the metrics registry without a broker: names checked at registration,
 * label values escaped (\\ \" \n) and made valid UTF-8, floats printed as Prometheus reads them,
 * counters summed over per-thread shards (more threads than shards included), histograms with
 * cumulative buckets whose +Inf equals _count, series bounds with and without an overflow
 * series, running out of cells, the exposition cut at max_bytes on a line boundary, a golden
 * exposition, and Prometheus's own checker (promtool check metrics) satisfied with the output,
 * awkward label values included.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_metrics.h"
#include "tb_http.h"

static const double LAT[] = {0.001, 0.01};

START_TEST(name_rules)
{
    ck_assert(br_metrics_name_ok("splicelog_requests_total"));
    ck_assert(br_metrics_name_ok("a:b_c9"));
    ck_assert(!br_metrics_name_ok("9a"));
    ck_assert(!br_metrics_name_ok("a-b"));
    ck_assert(!br_metrics_name_ok(""));
    ck_assert(br_metrics_label_ok("topic"));
    ck_assert(!br_metrics_label_ok("__name__"));
    ck_assert(!br_metrics_label_ok("a:b"));
    ck_assert(!br_metrics_label_ok("1a"));

    struct br_metrics *m = br_metrics_new(2, 64, 0);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_null(br_metrics_family(m, "bad-name", BR_METRICS_COUNTER, "x", NULL));
    static const char *const bad_label[] = {"le"};
    struct br_metrics_opts o = {.labels = bad_label, .nlabels = 1, .bounds = LAT, .nbounds = 2};
    ck_assert_ptr_null(br_metrics_family(m, "h_seconds", BR_METRICS_HISTOGRAM, "x", &o));
    static const double unsorted[] = {1, 0.5};
    struct br_metrics_opts u = {.bounds = unsorted, .nbounds = 2};
    ck_assert_ptr_null(br_metrics_family(m, "h2_seconds", BR_METRICS_HISTOGRAM, "x", &u));
    struct br_metrics_opts nob = {0};
    ck_assert_ptr_null(br_metrics_family(m, "h3_seconds", BR_METRICS_HISTOGRAM, "x", &nob));
    br_metrics_free(m);
}
END_TEST

static const char *esc(const char *v, size_t len)
{
    static char out[256];
    size_t n = br_metrics_escape_value(out, sizeof out, v, len);
    ck_assert_uint_lt(n, sizeof out);
    ck_assert_uint_eq(strlen(out), n);
    return out;
}

START_TEST(escaping)
{
    ck_assert_str_eq(esc("plain", 5), "plain");
    ck_assert_str_eq(esc("a\\b\"c\nd", 7), "a\\\\b\\\"c\\nd");
    /* valid UTF-8 is kept; bad bytes, overlongs, surrogates and control bytes become U+FFFD */
    ck_assert_str_eq(esc("\xc3\xa9t\xc3\xa9", 5), "\xc3\xa9t\xc3\xa9");
    ck_assert_str_eq(esc("\xf0\x9f\x98\x80", 4), "\xf0\x9f\x98\x80");
    ck_assert_str_eq(esc("a\xff", 2), "a\xef\xbf\xbd");
    ck_assert_str_eq(esc("\xc0\xaf", 2), "\xef\xbf\xbd\xef\xbf\xbd");
    ck_assert_str_eq(esc("\xed\xa0\x80", 3), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    ck_assert_str_eq(esc("\xe2\x82", 2), "\xef\xbf\xbd\xef\xbf\xbd"); /* cut short */
    ck_assert_str_eq(esc("a\tb\rc\x7f", 6), "a\xef\xbf\xbd"
                                            "b\xef\xbf\xbd"
                                            "c\xef\xbf\xbd");
    ck_assert_str_eq(esc("a\0b", 3), "a\xef\xbf\xbd"
                                     "b");
    /* too small a buffer: the size needed is returned */
    char small[4];
    ck_assert_uint_eq(br_metrics_escape_value(small, sizeof small, "\"\"\"", 3), 6);
    ck_assert_uint_eq(br_metrics_escape_value(NULL, 0, "abc", 3), 3);
}
END_TEST

START_TEST(floats)
{
    char b[40];
    br_metrics_format_f64(b, sizeof b, 0.1);
    ck_assert_str_eq(b, "0.1");
    br_metrics_format_f64(b, sizeof b, 0.0001);
    ck_assert_str_eq(b, "0.0001");
    br_metrics_format_f64(b, sizeof b, 2.5);
    ck_assert_str_eq(b, "2.5");
    br_metrics_format_f64(b, sizeof b, 30);
    ck_assert_str_eq(b, "30");
    br_metrics_format_f64(b, sizeof b, 1200);
    ck_assert_str_eq(b, "1200");
    br_metrics_format_f64(b, sizeof b, 1e21);
    ck_assert_str_eq(b, "1e+21");
    br_metrics_format_f64(b, sizeof b, 0.00001);
    ck_assert_str_eq(b, "1e-05");
    br_metrics_format_f64(b, sizeof b, 1.0 / 0.0);
    ck_assert_str_eq(b, "+Inf");
    br_metrics_format_f64(b, sizeof b, -1.0 / 0.0);
    ck_assert_str_eq(b, "-Inf");
    br_metrics_format_f64(b, sizeof b, 0.0 / 0.0);
    ck_assert_str_eq(b, "NaN");
    br_metrics_format_f64(b, sizeof b, 1.0 / 3.0);
    ck_assert_double_eq(strtod(b, NULL), 1.0 / 3.0);
}
END_TEST

/* ---- shards --------------------------------------------------------------------------------- */

struct worker {
    struct br_metrics *m;
    struct br_metrics_series *c, *g, *h;
    int n;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        br_metrics_add(w->m, w->c, 1);
        br_metrics_add(w->m, w->g, (uint64_t)(i % 2 ? -1 : 2));
        br_metrics_observe(w->m, w->h, (int64_t)(i % 3) * 5000000); /* 0, 5 ms, 10 ms */
    }
    return NULL;
}

START_TEST(threads_sum_over_shards)
{
    /* 3 writer shards, 8 threads: 3 own a shard, 5 share the last one with atomic adds */
    struct br_metrics *m = br_metrics_new(3, 64, 0);
    struct br_metrics_family *c =
        br_metrics_family(m, "t_ops_total", BR_METRICS_COUNTER, "x", NULL);
    struct br_metrics_family *g = br_metrics_family(m, "t_level", BR_METRICS_GAUGE, "x", NULL);
    struct br_metrics_opts ho = {.bounds = LAT, .nbounds = 2, .unit_scale = 1e-9};
    struct br_metrics_family *h =
        br_metrics_family(m, "t_lat_seconds", BR_METRICS_HISTOGRAM, "x", &ho);
    struct worker w = {m, br_metrics_series(m, c, NULL), br_metrics_series(m, g, NULL),
                       br_metrics_series(m, h, NULL), 30000};
    ck_assert(w.c && w.g && w.h);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(br_metrics_value(m, w.c), 8 * 30000);
    ck_assert_int_eq((int64_t)br_metrics_value(m, w.g), 8 * 15000); /* +2 -1 per pair */
    uint64_t count, sum;
    br_metrics_hist_value(m, w.h, &count, &sum);
    ck_assert_uint_eq(count, 8 * 30000);
    ck_assert_uint_eq(sum, 8ull * 10000 * (5000000 + 10000000));
    char *text;
    size_t len;
    ck_assert_int_eq(br_metrics_expose(m, &text, &len), 0);
    /* 0 ms: le 0.001 (80,000); 5 ms: le 0.01; 10 ms: le 0.01 (bounds are inclusive) */
    ck_assert_double_eq(tb_metric(text, "t_lat_seconds_bucket{le=\"0.001\"}"), 80000);
    ck_assert_double_eq(tb_metric(text, "t_lat_seconds_bucket{le=\"0.01\"}"), 240000);
    ck_assert_double_eq(tb_metric(text, "t_lat_seconds_bucket{le=\"+Inf\"}"), 240000);
    ck_assert_double_eq(tb_metric(text, "t_lat_seconds_count"), 240000);
    ck_assert_double_eq(tb_metric(text, "t_lat_seconds_sum"), 1200);
    ck_assert_double_eq(tb_metric(text, "t_level"), 120000);
    free(text);
    br_metrics_free(m);
}
END_TEST

/* ---- series bounds -------------------------------------------------------------------------- */

START_TEST(series_bounds)
{
    struct br_metrics *m = br_metrics_new(1, 16, 0);
    static const char *const topic[] = {"topic"};
    struct br_metrics_opts over = {
        .labels = topic, .nlabels = 1, .max_series = 2, .overflow = true};
    struct br_metrics_opts strict = {.labels = topic, .nlabels = 1, .max_series = 2};
    struct br_metrics_family *a = br_metrics_family(m, "a_total", BR_METRICS_COUNTER, "a", &over);
    struct br_metrics_family *b = br_metrics_family(m, "b_total", BR_METRICS_COUNTER, "b", &strict);
    const char *names[] = {"t0", "t1", "t2", "t3"};
    struct br_metrics_series *sa[4], *sb[4];
    for (int i = 0; i < 4; i++) {
        sa[i] = br_metrics_series_c(m, a, &names[i]);
        sb[i] = br_metrics_series_c(m, b, &names[i]);
        br_metrics_add(m, sa[i], 10);
        br_metrics_add(m, sb[i], 10);
    }
    /* the same values give the same series, lock-free */
    ck_assert_ptr_eq(br_metrics_series_c(m, a, &names[0]), sa[0]);
    ck_assert_ptr_eq(br_metrics_series(m, a, &(struct br_metrics_val){"t1xx", 2}), sa[1]);
    ck_assert_ptr_ne(sa[0], sa[1]);
    ck_assert_ptr_eq(sa[2], sa[3]); /* both past the bound: (other) */
    ck_assert_ptr_null(sb[2]);
    ck_assert_ptr_null(sb[3]);
    ck_assert_uint_eq(br_metrics_dropped(a), 0);
    ck_assert_uint_eq(br_metrics_dropped(b), 2);
    char *text;
    size_t len;
    ck_assert_int_eq(br_metrics_expose(m, &text, &len), 0);
    ck_assert_double_eq(tb_metric(text, "a_total{topic=\"t0\"}"), 10);
    ck_assert_double_eq(tb_metric(text, "a_total{topic=\"(other)\"}"), 20);
    ck_assert_double_eq(tb_metric(text, "b_total{topic=\"t1\"}"), 10);
    ck_assert_ptr_null(strstr(text, "t2"));
    free(text);

    /* 16 cells: 5 used (a: 3, b: 2); a histogram of 2 bounds takes 4 per series */
    struct br_metrics_opts ho = {.labels = topic, .nlabels = 1, .bounds = LAT, .nbounds = 2};
    struct br_metrics_family *h = br_metrics_family(m, "h_seconds", BR_METRICS_HISTOGRAM, "h", &ho);
    int made = 0;
    for (int i = 0; i < 4; i++)
        made += br_metrics_series_c(m, h, &names[i]) != NULL;
    ck_assert_int_eq(made, 2);
    ck_assert_uint_eq(br_metrics_dropped(h), 2);
    br_metrics_free(m);
}
END_TEST

/* ---- exposition ----------------------------------------------------------------------------- */

static void collect(void *arg, struct br_metrics_out *o)
{
    (void)arg;
    br_metrics_out_family(o, "c_size_bytes", BR_METRICS_GAUGE, "Sizes \\ with a\nnewline.");
    struct br_metrics_label l[2] = {{"topic", "x", 1}, {"partition", "0", 1}};
    br_metrics_out_i64(o, "c_size_bytes", l, 2, 42);
    l[0] = (struct br_metrics_label){"topic", "q\"\\\n\xff\xc3\xa9", 7};
    br_metrics_out_i64(o, "c_size_bytes", l, 2, -3);
    br_metrics_out_family(o, "c_ratio", BR_METRICS_GAUGE, "A ratio.");
    br_metrics_out_f64(o, "c_ratio", NULL, 0, 0.25);
}

static const char GOLDEN[] = "# HELP g_requests_total Requests by API.\n"
                             "# TYPE g_requests_total counter\n"
                             "g_requests_total{api=\"Produce\"} 3\n"
                             "g_requests_total{api=\"Fetch\"} 0\n"
                             "# HELP g_latency_seconds Latency.\n"
                             "# TYPE g_latency_seconds histogram\n"
                             "g_latency_seconds_bucket{api=\"Fetch\",le=\"0.001\"} 1\n"
                             "g_latency_seconds_bucket{api=\"Fetch\",le=\"0.01\"} 2\n"
                             "g_latency_seconds_bucket{api=\"Fetch\",le=\"+Inf\"} 3\n"
                             "g_latency_seconds_sum{api=\"Fetch\"} 2.0055\n"
                             "g_latency_seconds_count{api=\"Fetch\"} 3\n"
                             "# HELP c_size_bytes Sizes \\\\ with a\\nnewline.\n"
                             "# TYPE c_size_bytes gauge\n"
                             "c_size_bytes{topic=\"x\",partition=\"0\"} 42\n"
                             "c_size_bytes{topic=\"q\\\"\\\\\\n\xef\xbf\xbd\xc3\xa9\","
                             "partition=\"0\"} -3\n"
                             "# HELP c_ratio A ratio.\n"
                             "# TYPE c_ratio gauge\n"
                             "c_ratio 0.25\n";

static struct br_metrics *golden_registry(size_t max_bytes)
{
    struct br_metrics *m = br_metrics_new(2, 64, max_bytes);
    static const char *const api[] = {"api"};
    struct br_metrics_opts lo = {.labels = api, .nlabels = 1};
    struct br_metrics_family *req =
        br_metrics_family(m, "g_requests_total", BR_METRICS_COUNTER, "Requests by API.", &lo);
    struct br_metrics_opts ho = {
        .labels = api, .nlabels = 1, .bounds = LAT, .nbounds = 2, .unit_scale = 1e-9};
    struct br_metrics_family *lat =
        br_metrics_family(m, "g_latency_seconds", BR_METRICS_HISTOGRAM, "Latency.", &ho);
    br_metrics_family(m, "g_unused_total", BR_METRICS_COUNTER, "No series: not printed.", NULL);
    const char *p = "Produce", *f = "Fetch";
    br_metrics_add(m, br_metrics_series_c(m, req, &p), 3);
    br_metrics_series_c(m, req, &f);
    struct br_metrics_series *l = br_metrics_series_c(m, lat, &f);
    br_metrics_observe(m, l, 500000);     /* 0.5 ms */
    br_metrics_observe(m, l, 5000000);    /* 5 ms */
    br_metrics_observe(m, l, 2000000000); /* 2 s */
    ck_assert_int_eq(br_metrics_collector(m, collect, NULL), 0);
    return m;
}

START_TEST(golden_exposition)
{
    struct br_metrics *m = golden_registry(0);
    char *text;
    size_t len;
    ck_assert_int_eq(br_metrics_expose(m, &text, &len), 0);
    ck_assert_uint_eq(len, strlen(text));
    ck_assert_str_eq(text, GOLDEN);
    free(text);
    br_metrics_free(m);
}
END_TEST

START_TEST(cut_at_max_bytes)
{
    /* a bound in the middle of a line: the text stops at the last whole line */
    size_t max = 300;
    struct br_metrics *m = golden_registry(max);
    char *text;
    size_t len;
    ck_assert_int_eq(br_metrics_expose(m, &text, &len), -EMSGSIZE);
    ck_assert_uint_lt(len, max);
    ck_assert_uint_gt(len, 0);
    ck_assert_int_eq(text[len - 1], '\n');
    ck_assert_int_eq(memcmp(text, GOLDEN, len), 0);
    free(text);
    br_metrics_free(m);
}
END_TEST

START_TEST(promtool_accepts)
{
    struct br_metrics *m = golden_registry(0);
    char *text;
    size_t len;
    ck_assert_int_eq(br_metrics_expose(m, &text, &len), 0);
    char msg[4096];
    int rc = tb_promtool_check(text, len, msg, sizeof msg);
    ck_assert_msg(rc != -ENOENT, "promtool not found (scripts/deps.sh test installs it)");
    ck_assert_msg(rc == 0, "promtool check metrics: %s\n--- input ---\n%s", msg, text);
    free(text);
    br_metrics_free(m);

    /* and it does complain where it should (the check is real): a counter without _total */
    static const char bad[] = "# HELP x Bad.\n# TYPE x counter\nx 1\n";
    ck_assert_int_eq(tb_promtool_check(bad, sizeof bad - 1, msg, sizeof msg), 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_metrics");
    TCase *tc = tcase_create("metrics");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, name_rules);
    tcase_add_test(tc, escaping);
    tcase_add_test(tc, floats);
    tcase_add_test(tc, threads_sum_over_shards);
    tcase_add_test(tc, series_bounds);
    tcase_add_test(tc, golden_exposition);
    tcase_add_test(tc, cut_at_max_bytes);
    tcase_add_test(tc, promtool_accepts);
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
