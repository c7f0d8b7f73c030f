/*
 * test_client_query — asking the cluster through libsplicelog, against a real splicelogd:
 * - metadata: every topic, one topic (partitions, leaders = the broker), a topic that does not
 *   exist (its error, and not created by asking), from a producer and from a consumer;
 * - query_watermark_offsets (log start and end), get_watermark_offsets (from fetches);
 * - offsets_for_times over records with known timestamps (before the first, between, after
 *   the last: -1);
 * - enable.partition.eof: SL_ERR__PARTITION_EOF once the records up to the end are handed out,
 *   once per end, again after new records;
 * - the version macro and function agree.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/tb_broker.h"
#include "splicelog.h"
#include "../support/tb_check.h"

static struct tb_broker B;
static char bootstrap[64];

static void setup(void)
{
    memset(&B, 0, sizeof(B));
    static const char *const extra[] = {"-o", "num.partitions=3", NULL};
    int rc = tb_broker_start(&B, extra);
    ck_assert_msg(rc == 0, "broker start: %d", rc);
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", B.port);
}

static void teardown(void) { tb_broker_cleanup(&B); }

static sl_conf *conf(void)
{
    sl_conf *c = sl_conf_new();
    ck_assert_int_eq(sl_conf_set(c, "bootstrap.servers", bootstrap, NULL, 0), SL_ERR_NO_ERROR);
    return c;
}

/* n records to topic/partition, record i with timestamp ts0 + 1000 * i (ts0 0: now). */
static void produce(const char *topic, int32_t part, int n, int64_t ts0)
{
    sl_producer *p = sl_producer_new(conf(), NULL, 0);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(
            sl_produce(p, topic, part, NULL, 0, "v", 1, NULL, 0, ts0 ? ts0 + 1000 * i : 0, NULL),
            SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_flush(p, 20000), SL_ERR_NO_ERROR);
    sl_producer_free(p);
}

START_TEST(test_metadata)
{
    produce("md-a", 0, 1, 0);
    produce("md-b", 2, 1, 0);
    sl_producer *p = sl_producer_new(conf(), NULL, 0);
    sl_metadata *md = NULL;
    ck_assert_int_eq(sl_producer_metadata(p, NULL, 10000, &md), SL_ERR_NO_ERROR);
    ck_assert_int_eq(md->broker_cnt, 1);
    ck_assert_str_eq(md->brokers[0].host, "127.0.0.1");
    ck_assert_int_eq(md->brokers[0].port, B.port);
    int found = 0;
    for (int32_t i = 0; i < md->topic_cnt; i++) {
        const sl_metadata_topic *t = &md->topics[i];
        if (strcmp(t->topic, "md-a") && strcmp(t->topic, "md-b"))
            continue;
        found++;
        ck_assert_int_eq(t->err, SL_ERR_NO_ERROR);
        ck_assert_int_eq(t->partition_cnt, 3);
        for (int32_t j = 0; j < 3; j++) {
            ck_assert_int_eq(t->partitions[j].id, j);
            ck_assert_int_eq(t->partitions[j].leader, md->brokers[0].id);
            ck_assert_int_ge(t->partitions[j].replica_cnt, 1);
        }
    }
    ck_assert_int_eq(found, 2);
    sl_metadata_free(md);
    sl_producer_free(p);

    sl_consumer *k = sl_consumer_new(conf(), NULL, 0);
    ck_assert_int_eq(sl_consumer_metadata(k, "md-b", 10000, &md), SL_ERR_NO_ERROR);
    ck_assert_int_eq(md->topic_cnt, 1);
    ck_assert_str_eq(md->topics[0].topic, "md-b");
    ck_assert_int_eq(md->topics[0].partition_cnt, 3);
    sl_metadata_free(md);
    /* Not there, and not created by asking. */
    ck_assert_int_eq(sl_consumer_metadata(k, "md-none", 10000, &md), SL_ERR_NO_ERROR);
    ck_assert_int_eq(md->topic_cnt, 1);
    ck_assert_int_eq(md->topics[0].err, SL_ERR_UNKNOWN_TOPIC_OR_PART);
    sl_metadata_free(md);
    ck_assert_int_eq(sl_consumer_metadata(k, NULL, 10000, &md), SL_ERR_NO_ERROR);
    for (int32_t i = 0; i < md->topic_cnt; i++)
        ck_assert_str_ne(md->topics[i].topic, "md-none");
    sl_metadata_free(md);
    ck_assert_int_eq(sl_consumer_metadata(k, "", 1000, &md), SL_ERR__INVALID_ARG);
    sl_consumer_free(k);
    /* Nobody there: a bounded wait and the connection's error. */
    sl_conf *c = sl_conf_new();
    sl_conf_set(c, "bootstrap.servers", "127.0.0.1:1", NULL, 0);
    k = sl_consumer_new(c, NULL, 0);
    sl_err e = sl_consumer_metadata(k, NULL, 500, &md);
    ck_assert_msg(e == SL_ERR__TRANSPORT || e == SL_ERR__TIMED_OUT, "%s", sl_err2str(e));
    sl_consumer_free(k);
}
END_TEST

START_TEST(test_watermarks_and_times)
{
    int64_t ts0 = 1700000000000LL;
    produce("wm", 1, 10, ts0); /* timestamps ts0, ts0+1000, ..., ts0+9000 */
    sl_consumer *k = sl_consumer_new(conf(), NULL, 0);
    int64_t lo = -5, hi = -5;
    ck_assert_int_eq(sl_consumer_query_watermark_offsets(k, "wm", 1, &lo, &hi, 10000),
                     SL_ERR_NO_ERROR);
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, 10);
    ck_assert_int_eq(sl_consumer_query_watermark_offsets(k, "wm", 0, &lo, &hi, 10000),
                     SL_ERR_NO_ERROR);
    ck_assert_int_eq(hi, 0);
    ck_assert_int_eq(sl_consumer_query_watermark_offsets(k, "wm", 7, &lo, &hi, 10000),
                     SL_ERR_UNKNOWN_TOPIC_OR_PART);
    ck_assert_int_eq(sl_consumer_get_watermark_offsets(k, "wm", 2, &lo, &hi),
                     SL_ERR__UNKNOWN_PARTITION);
    sl_topic_partition tp[4] = {{.topic = "wm", .partition = 1, .offset = ts0 - 5000},
                                {.topic = "wm", .partition = 1, .offset = ts0 + 2500},
                                {.topic = "wm", .partition = 1, .offset = ts0 + 9000},
                                {.topic = "wm", .partition = 1, .offset = ts0 + 60000}};
    ck_assert_int_eq(sl_consumer_offsets_for_times(k, tp, 4, 10000), SL_ERR_NO_ERROR);
    ck_assert_int_eq(tp[0].offset, 0);
    ck_assert_int_eq(tp[1].offset, 3);
    ck_assert_int_eq(tp[2].offset, 9);
    ck_assert_int_eq(tp[3].offset, -1);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(tp[i].err, SL_ERR_NO_ERROR);
    /* From fetches: after reading, the cached watermarks. */
    ck_assert_int_eq(sl_consumer_assign(k, "wm", 1, 5), SL_ERR_NO_ERROR);
    sl_record r;
    ck_assert_int_eq(sl_consumer_poll(k, 10000, &r), SL_ERR_NO_ERROR);
    ck_assert_int_eq(r.offset, 5);
    ck_assert_int_eq(sl_consumer_get_watermark_offsets(k, "wm", 1, &lo, &hi), SL_ERR_NO_ERROR);
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, 10);
    sl_consumer_free(k);
}
END_TEST

START_TEST(test_partition_eof)
{
    produce("eof", 0, 5, 0);
    sl_conf *c = conf();
    ck_assert_int_eq(sl_conf_set(c, "enable.partition.eof", "true", NULL, 0), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_conf_set(c, "fetch.wait.max.ms", "50", NULL, 0), SL_ERR_NO_ERROR);
    sl_consumer *k = sl_consumer_new(c, NULL, 0);
    ck_assert_int_eq(sl_consumer_assign(k, "eof", 0, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    ck_assert_int_eq(sl_consumer_assign(k, "eof", 1, SL_OFFSET_BEGINNING), SL_ERR_NO_ERROR);
    sl_record r;
    int recs = 0, eof0 = 0, eof1 = 0;
    for (int i = 0; i < 200 && (recs < 5 || !eof0 || !eof1); i++) {
        sl_err e = sl_consumer_poll(k, 50, &r);
        if (e == SL_ERR_NO_ERROR) {
            ck_assert_int_eq(eof0, 0); /* the end comes after the records */
            recs++;
        } else if (e == SL_ERR__PARTITION_EOF) {
            ck_assert_str_eq(r.topic, "eof");
            if (r.partition == 0) {
                ck_assert_int_eq(r.offset, 5);
                eof0++;
            } else {
                ck_assert_int_eq(r.offset, 0);
                eof1++;
            }
        } else {
            ck_assert_int_eq(e, SL_ERR__TIMED_OUT);
        }
    }
    ck_assert_int_eq(recs, 5);
    ck_assert_int_eq(eof0, 1);
    ck_assert_int_eq(eof1, 1);
    /* Once per end: polling on says nothing more. */
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(sl_consumer_poll(k, 20, &r), SL_ERR__TIMED_OUT);
    produce("eof", 0, 3, 0);
    recs = eof0 = 0;
    for (int i = 0; i < 200 && (recs < 3 || !eof0); i++) {
        sl_err e = sl_consumer_poll(k, 50, &r);
        if (e == SL_ERR_NO_ERROR)
            recs++;
        else if (e == SL_ERR__PARTITION_EOF) {
            ck_assert_int_eq(r.offset, 8);
            eof0++;
        }
    }
    ck_assert_int_eq(recs, 3);
    ck_assert_int_eq(eof0, 1);
    sl_consumer_free(k);
}
END_TEST

START_TEST(test_version)
{
    ck_assert_int_eq(sl_version(), SL_VERSION);
    ck_assert_str_eq(sl_version_str(), SL_VERSION_STR);
    char v[32];
    snprintf(v, sizeof(v), "%d.%d.%d", SL_VERSION >> 24, (SL_VERSION >> 16) & 0xff,
             (SL_VERSION >> 8) & 0xff);
    ck_assert_str_eq(v, SL_VERSION_STR);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("client_query");
    TCase *tc = tcase_create("query");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_metadata);
    tcase_add_test(tc, test_watermarks_and_times);
    tcase_add_test(tc, test_partition_eof);
    tcase_add_test(tc, test_version);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
