/*
 * test_quota — client quotas on a real splicelogd (KIP-13, KIP-219): AlterClientQuotas sets
 * producer_byte_rate for client id "greedy" and DescribeClientQuotas shows it; then a greedy
 * producer (as fast as it can) and a polite one (a fixed pace, no quota) run at once on their
 * own connections for a few seconds. The greedy one is told throttle_time_ms and its
 * connection is muted, so its throughput stays near its quota; the polite one keeps its pace
 * with no throttle. Bounds are loose (shared CI machines): they separate "throttled" from
 * "unthrottled" by an order of magnitude, not by percent.
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kp_msg.h"
#include "kp_msg_sec.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_kafka.h"
#include "tb_sasl.h"

#define QUOTA_BPS  (256 * 1024)
#define RUN_MS     4000
#define BATCH_SIZE (64 * 1024)

static struct tb_broker B;

static void setup(void)
{
    const char *argv[] = {"-o", "quota.window.num=3",        "-o", "quota.window.size.seconds=1",
                          "-o", "message.max.bytes=2000000", NULL};
    memset(&B, 0, sizeof B);
    ck_assert_int_eq(tb_broker_start(&B, argv), 0);
}

static void teardown(void) { tb_broker_cleanup(&B); }

struct producer {
    const char *client_id;
    int pace_ms; /* 0: as fast as possible */
    size_t batch;
    /* results */
    long bytes, requests, throttled;
    int64_t max_latency_ms;
    int errors;
};

static void *run_producer(void *arg)
{
    struct producer *p = arg;
    tb_set_client_id(p->client_id);
    int fd = tb_connect(B.port);
    static __thread uint8_t batch[BATCH_SIZE + 4096];
    int64_t end = tb_now_ms() + RUN_MS;
    for (int i = 0; tb_now_ms() < end && i < 100000; i++) {
        long bl = tb_batch_values(batch, sizeof batch, "v", i, 1, p->batch, false, 1700000000000LL);
        struct kp_produce_req_partition part = {0, {batch, (int32_t)bl}};
        struct kp_produce_req_topic t = {kp_str_of(p->client_id), 1, &part};
        struct kp_produce_req req = {KP_STR_NULL, 1, 5000, 1, &t};
        struct kp_produce_resp resp;
        int64_t t0 = tb_now_ms();
        int rc = tb_kcall(fd, KP_API_PRODUCE, 7, TB_ENC(kp_produce_req_encode), &req,
                          TB_DEC(kp_produce_resp_decode), &resp);
        int64_t lat = tb_now_ms() - t0;
        if (rc < 0 || resp.topics[0].partitions[0].error_code) {
            p->errors++;
            break;
        }
        p->requests++;
        p->bytes += bl;
        p->throttled += resp.throttle_time_ms > 0;
        if (lat > p->max_latency_ms)
            p->max_latency_ms = lat;
        if (p->pace_ms)
            usleep((useconds_t)p->pace_ms * 1000);
    }
    close(fd);
    return NULL;
}

START_TEST(greedy_throttled_polite_keeps_rate)
{
    int16_t terr = 0;
    int fd = tb_connect(B.port);
    ck_assert_int_eq(tb_create_topic(fd, "greedy", 1, &terr), 0);
    ck_assert_int_eq(tb_create_topic(fd, "polite", 1, &terr), 0);
    ck_assert_int_eq(tb_alter_client_quota(fd, "greedy", "producer_byte_rate", QUOTA_BPS), 0);
    ck_assert_int_eq(tb_alter_client_quota(fd, "greedy", "no_such_quota", 1),
                     KP_ERR_INVALID_REQUEST);
    /* DescribeClientQuotas: the entity and its value */
    struct kp_quota_filter_component c = {kp_str_of("client-id"), KP_QUOTA_MATCH_EXACT,
                                          kp_str_of("greedy")};
    struct kp_describe_client_quotas_req dreq = {1, &c, false};
    struct kp_describe_client_quotas_resp dresp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_DESCRIBE_CLIENT_QUOTAS, 1,
                              TB_ENC(kp_describe_client_quotas_req_encode), &dreq,
                              TB_DEC(kp_describe_client_quotas_resp_decode), &dresp),
                     0);
    ck_assert_int_eq(dresp.error_code, 0);
    ck_assert_int_eq(dresp.n_entries, 1);
    ck_assert_int_eq(dresp.entries[0].n_values, 1);
    ck_assert(kp_str_eq(dresp.entries[0].values[0].key, "producer_byte_rate"));
    ck_assert(dresp.entries[0].values[0].value == QUOTA_BPS);
    close(fd);

    struct producer greedy = {.client_id = "greedy", .pace_ms = 0, .batch = BATCH_SIZE};
    struct producer polite = {.client_id = "polite", .pace_ms = 100, .batch = 16 * 1024};
    pthread_t tg, tp;
    ck_assert_int_eq(pthread_create(&tg, NULL, run_producer, &greedy), 0);
    ck_assert_int_eq(pthread_create(&tp, NULL, run_producer, &polite), 0);
    pthread_join(tg, NULL);
    pthread_join(tp, NULL);
    fprintf(stderr,
            "quota: greedy %ld bytes in %ld requests (%ld throttled, max latency %lld ms); "
            "polite %ld bytes in %ld requests (%ld throttled, max latency %lld ms)\n",
            greedy.bytes, greedy.requests, greedy.throttled, (long long)greedy.max_latency_ms,
            polite.bytes, polite.requests, polite.throttled, (long long)polite.max_latency_ms);
    ck_assert_int_eq(greedy.errors, 0);
    ck_assert_int_eq(polite.errors, 0);
    /* the greedy producer was throttled and held near its quota: within the run plus one
     * window of burst, far below what an unthrottled loop sends (hundreds of MB) */
    ck_assert_int_gt(greedy.throttled, 0);
    ck_assert_int_le(greedy.bytes, (long)QUOTA_BPS * (RUN_MS / 1000 + 4));
    ck_assert_int_ge(greedy.max_latency_ms, 100); /* muted: a request waited */
    /* the polite one kept its pace: ~RUN_MS / (pace + round trip) requests, none throttled */
    ck_assert_int_eq(polite.throttled, 0);
    ck_assert_int_ge(polite.requests, RUN_MS / 100 / 2);
}
END_TEST

/* consumer_byte_rate on Fetch response bytes, request_percentage on handler time: both show
 * in throttle_time_ms (the first field of Fetch v1+ and Metadata v3+ responses). */
START_TEST(fetch_and_request_quotas)
{
    int16_t terr = 0;
    int fd = tb_connect(B.port);
    ck_assert_int_eq(tb_create_topic(fd, "data", 1, &terr), 0);
    ck_assert_int_eq(tb_alter_client_quota(fd, "reader", "consumer_byte_rate", 64 * 1024), 0);
    ck_assert_int_eq(tb_alter_client_quota(fd, "busy", "request_percentage", 0.01), 0);
    static uint8_t batch[BATCH_SIZE + 4096];
    for (int i = 0; i < 8; i++) { /* 512 KiB */
        long bl =
            tb_batch_values(batch, sizeof batch, "d", i, 1, BATCH_SIZE, false, 1700000000000LL);
        struct kp_produce_req_partition part = {0, {batch, (int32_t)bl}};
        struct kp_produce_req_topic t = {kp_str_of("data"), 1, &part};
        struct kp_produce_req req = {KP_STR_NULL, 1, 5000, 1, &t};
        struct kp_produce_resp resp;
        ck_assert_int_eq(tb_kcall(fd, KP_API_PRODUCE, 7, TB_ENC(kp_produce_req_encode), &req,
                                  TB_DEC(kp_produce_resp_decode), &resp),
                         0);
    }
    close(fd);

    tb_set_client_id("reader");
    fd = tb_connect(B.port);
    int32_t max_throttle = 0;
    for (int i = 0; i < 6 && max_throttle == 0; i++) {
        struct kp_fetch_resp resp;
        ck_assert_int_eq(tb_kfetch(fd, "data", 0, 0, &resp), 0);
        ck_assert_int_eq(resp.topics[0].partitions[0].error_code, 0);
        if (resp.throttle_time_ms > max_throttle)
            max_throttle = resp.throttle_time_ms;
    }
    close(fd);
    ck_assert_int_gt(max_throttle, 0); /* 512 KiB against 64 KiB/s */

    tb_set_client_id("busy");
    fd = tb_connect(B.port);
    max_throttle = 0;
    for (int i = 0; i < 200 && max_throttle == 0; i++) {
        struct kp_metadata_req req = {.n_topics = -1};
        struct kp_metadata_resp resp;
        ck_assert_int_eq(tb_kcall(fd, KP_API_METADATA, 4, TB_ENC(kp_metadata_req_encode), &req,
                                  TB_DEC(kp_metadata_resp_decode), &resp),
                         0);
        if (resp.throttle_time_ms > max_throttle)
            max_throttle = resp.throttle_time_ms;
    }
    close(fd);
    tb_set_client_id(NULL);
    ck_assert_int_gt(max_throttle, 0); /* 0.01% of a thread: a few requests exceed it */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("quota");
    TCase *tc = tcase_create("quota");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, greedy_throttled_polite_keeps_rate);
    tcase_add_test(tc, fetch_and_request_quotas);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
