/*
 * test_sl_mt — handles on different threads are independent (splicelog.h's threading
 * contract): four threads, each with its own producer and then its own consumer, against one
 * scripted broker (sl_fake_broker.h), every record delivered and read back in order. Built
 * with ASan by `make test` and with ThreadSanitizer by `make tsan`.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_fake_broker.h"
#include "splicelog.h"

#define NT 4
#define NR 20000

struct worker {
    int id;
    long delivered;
    long failed;
    long order_bad;
    int64_t last;
    long consumed;
    long consume_bad;
    char err[128];
};

static void dr(sl_producer *p, const sl_delivery *d, void *opaque)
{
    (void)p;
    struct worker *w = opaque;
    if (d->err) {
        w->failed++;
        return;
    }
    w->delivered++;
    if (d->offset != w->last + 1 || d->partition != w->id)
        w->order_bad++;
    w->last = d->offset;
}

static sl_conf *conf(void)
{
    sl_conf *c = sl_conf_new();
    char b[64];
    snprintf(b, sizeof(b), "127.0.0.1:%d", fb.port);
    sl_conf_set(c, "bootstrap.servers", b, NULL, 0);
    sl_conf_set(c, "batch.size", "16384", NULL, 0);
    sl_conf_set(c, "linger.ms", "1", NULL, 0);
    return c;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    w->last = -1;
    sl_conf *c = conf();
    sl_conf_set_delivery_cb(c, dr);
    sl_conf_set_opaque(c, w);
    sl_producer *p = sl_producer_new(c, w->err, sizeof(w->err));
    if (!p)
        return NULL;
    for (int i = 0; i < NR; i++) {
        char v[32];
        int n = snprintf(v, sizeof(v), "w%d-%d", w->id, i);
        sl_err e;
        while ((e = sl_produce(p, "t", w->id, NULL, 0, v, (size_t)n, NULL, 0, 0, NULL)) ==
               SL_ERR__QUEUE_FULL)
            sl_poll(p, 5);
        if (e) {
            snprintf(w->err, sizeof(w->err), "produce: %s", sl_err2str(e));
            break;
        }
        sl_poll(p, 0);
    }
    sl_flush(p, 30000);
    sl_producer_free(p);

    sl_consumer *k = sl_consumer_new(conf(), w->err, sizeof(w->err));
    if (!k)
        return NULL;
    sl_consumer_assign(k, "t", w->id, SL_OFFSET_BEGINNING);
    while (w->consumed < NR) {
        sl_record r;
        sl_err e = sl_consumer_poll(k, 10000, &r);
        if (e) {
            snprintf(w->err, sizeof(w->err), "poll: %s", sl_err2str(e));
            break;
        }
        char v[32];
        int n = snprintf(v, sizeof(v), "w%d-%ld", w->id, w->consumed);
        if (r.offset != w->consumed || r.value_len != (size_t)n || memcmp(r.value, v, (size_t)n))
            w->consume_bad++;
        w->consumed++;
    }
    sl_consumer_free(k);
    return NULL;
}

START_TEST(test_threads_with_own_handles)
{
    ck_assert_int_eq(fb_start(NT), 0);
    struct worker w[NT];
    pthread_t th[NT];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < NT; i++) {
        w[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < NT; i++)
        pthread_join(th[i], NULL);
    fb_stop();
    for (int i = 0; i < NT; i++) {
        ck_assert_msg(w[i].err[0] == 0, "worker %d: %s", i, w[i].err);
        ck_assert_int_eq(w[i].delivered, NR);
        ck_assert_int_eq(w[i].failed, 0);
        ck_assert_int_eq(w[i].order_bad, 0);
        ck_assert_int_eq(w[i].consumed, NR);
        ck_assert_int_eq(w[i].consume_bad, 0);
        ck_assert_int_eq(fb.part[i].next_offset, NR);
    }
    ck_assert_int_eq(fb.bad_requests, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sl_mt");
    TCase *tc = tcase_create("mt");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_threads_with_own_handles);
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
