/*
 * test_br_metrics_mt — the registry under concurrency (run under ThreadSanitizer by make tsan):
 * writer threads create series (some past the bound, into (other)) and record while a scraper
 * exposes the registry over and over; nothing is lost (the totals are exact once the writers
 * are done) and every scrape is well formed (whole lines, a histogram's +Inf equal to its
 * _count).
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_metrics.h"

#define WRITERS 4
#define ROUNDS  20000
#define TOPICS  60 /* past the bound of 40: the rest count under (other) */

static struct br_metrics *M;
static struct br_metrics_family *F, *H;
static atomic_int done;

static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < ROUNDS; i++) {
        char name[16];
        int n = snprintf(name, sizeof name, "t%d", (i * 7 + id) % TOPICS);
        struct br_metrics_val v = {name, (size_t)n};
        br_metrics_add(M, br_metrics_series(M, F, &v), 1);
        br_metrics_observe(M, br_metrics_series(M, H, NULL), i % 1000);
    }
    return NULL;
}

/* Sums the values of the lines starting with prefix. */
static double sum_of(const char *text, const char *prefix)
{
    double s = 0;
    size_t n = strlen(prefix);
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        ck_assert_ptr_nonnull(end); /* whole lines only */
        if (strncmp(p, prefix, n) == 0) {
            const char *sp = end;
            while (sp > p && sp[-1] != ' ')
                sp--;
            s += strtod(sp, NULL);
        }
        p = end + 1;
    }
    return s;
}

static void *scraper(void *arg)
{
    (void)arg;
    int scrapes = 0;
    while (!atomic_load(&done) || scrapes < 3) {
        char *text;
        size_t len;
        ck_assert_int_eq(br_metrics_expose(M, &text, &len), 0);
        ck_assert(len == 0 || text[len - 1] == '\n');
        ck_assert_double_eq(sum_of(text, "h_seconds_bucket{le=\"+Inf\"}"),
                            sum_of(text, "h_seconds_count"));
        free(text);
        scrapes++;
    }
    return NULL;
}

START_TEST(record_create_and_scrape_at_once)
{
    M = br_metrics_new(2, 4096, 0); /* 2 shards for 4 writers: two share the last one */
    static const char *const topic[] = {"topic"};
    struct br_metrics_opts o = {.labels = topic, .nlabels = 1, .max_series = 40, .overflow = true};
    F = br_metrics_family(M, "a_total", BR_METRICS_COUNTER, "A.", &o);
    static const double b[] = {0.0000001, 0.0000005};
    struct br_metrics_opts ho = {.bounds = b, .nbounds = 2, .unit_scale = 1e-9};
    H = br_metrics_family(M, "h_seconds", BR_METRICS_HISTOGRAM, "H.", &ho);
    pthread_t w[WRITERS], s;
    ck_assert_int_eq(pthread_create(&s, NULL, scraper, NULL), 0);
    for (int i = 0; i < WRITERS; i++)
        ck_assert_int_eq(pthread_create(&w[i], NULL, writer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    atomic_store(&done, 1);
    pthread_join(s, NULL);
    char *text;
    size_t len;
    ck_assert_int_eq(br_metrics_expose(M, &text, &len), 0);
    ck_assert_double_eq(sum_of(text, "a_total{"), WRITERS * ROUNDS);
    ck_assert_double_eq(sum_of(text, "h_seconds_count"), WRITERS * ROUNDS);
    ck_assert_ptr_nonnull(strstr(text, "a_total{topic=\"(other)\"}"));
    ck_assert_uint_eq(br_metrics_dropped(F), 0);
    free(text);
    br_metrics_free(M);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_metrics_mt");
    TCase *tc = tcase_create("mt");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, record_create_and_scrape_at_once);
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
