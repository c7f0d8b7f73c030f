/*
 * test_kp_consumer — the consumer protocol carried in JoinGroup/SyncGroup (proto/kp_consumer.h):
 * round trips of every version, Kafka's byte layout (golden bytes written from the schema),
 * every strict prefix refused, a newer member's metadata read (its extra fields skipped), a
 * forged count refused before the arena is touched.
 */
#include <check.h>
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "kp_consumer.h"

#define S(s) ((struct kp_str){s, (int32_t)(sizeof(s) - 1)})

static alignas(max_align_t) uint8_t arena_mem[8192];

static const int32_t p02[] = {0, 2};
static const int32_t p1[] = {1};
static const struct kp_consumer_topic_parts owned[] = {{S("orders"), 2, p02}, {S("audit"), 1, p1}};
static const struct kp_str topics[] = {S("orders"), S("audit")};

START_TEST(test_subscription_round_trip)
{
    for (int16_t v = 0; v <= 3; v++) {
        struct kp_consumer_subscription s = {v, 2,     topics, {(const uint8_t *)"ud", 2},
                                             2, owned, 7,      S("rack-1")};
        uint8_t buf[512];
        struct kp_wr wr;
        kp_wr_init(&wr, buf, sizeof buf);
        ck_assert_int_eq(kp_consumer_subscription_encode(&wr, &s), 0);
        size_t len = kp_wr_len(&wr);
        for (size_t cut = 0; cut <= len; cut++) {
            struct kp_arena a;
            kp_arena_init(&a, arena_mem, sizeof arena_mem);
            struct kp_rd rd;
            kp_rd_init(&rd, buf, cut);
            struct kp_consumer_subscription o;
            int rc = kp_consumer_subscription_decode(&rd, &a, &o);
            if (cut < len) {
                ck_assert_msg(rc == -EBADMSG, "v%d cut %zu: %d", v, cut, rc);
                continue;
            }
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq(o.version, v);
            ck_assert_int_eq(o.n_topics, 2);
            ck_assert(kp_str_same(o.topics[1], S("audit")));
            ck_assert_int_eq(o.user_data.len, 2);
            ck_assert_int_eq(o.n_owned, v >= 1 ? 2 : 0);
            if (v >= 1) {
                ck_assert(kp_str_same(o.owned[0].topic, S("orders")));
                ck_assert_int_eq(o.owned[0].n_partitions, 2);
                ck_assert_int_eq(o.owned[0].partitions[1], 2);
            }
            ck_assert_int_eq(o.generation_id, v >= 2 ? 7 : -1);
            ck_assert(v >= 3 ? kp_str_same(o.rack_id, S("rack-1")) : o.rack_id.len == -1);
        }
        /* One byte more is refused for a known version. */
        buf[len] = 0;
        struct kp_arena a;
        kp_arena_init(&a, arena_mem, sizeof arena_mem);
        struct kp_rd rd;
        kp_rd_init(&rd, buf, len + 1);
        struct kp_consumer_subscription o;
        ck_assert_int_eq(kp_consumer_subscription_decode(&rd, &a, &o), -EBADMSG);
    }
    struct kp_consumer_subscription bad = {4, 0, NULL, KP_BYTES_NULL, 0, NULL, -1, KP_STR_NULL};
    uint8_t buf[64];
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_consumer_subscription_encode(&wr, &bad), -EINVAL);
    ck_assert_uint_eq(kp_wr_len(&wr), 0);
}
END_TEST

START_TEST(test_golden_bytes)
{
    /* Subscription v0 to ["t"] without user data; assignment v0 of t:[0,1]. */
    static const uint8_t sub[] = {0, 0, 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff};
    static const uint8_t asg[] = {0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 2,
                                  0, 0, 0, 0, 0, 0, 0, 1, 0,   0, 0, 0};
    struct kp_str t = S("t");
    struct kp_consumer_subscription s = {0, 1, &t, KP_BYTES_NULL, 0, NULL, -1, KP_STR_NULL};
    static const int32_t p01[] = {0, 1};
    struct kp_consumer_topic_parts tp = {S("t"), 2, p01};
    struct kp_consumer_assignment as = {0, 1, &tp, {(const uint8_t *)"", 0}};
    uint8_t buf[64];
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_consumer_subscription_encode(&wr, &s), 0);
    ck_assert_uint_eq(kp_wr_len(&wr), sizeof sub);
    ck_assert(memcmp(buf, sub, sizeof sub) == 0);
    kp_wr_init(&wr, buf, sizeof buf);
    ck_assert_int_eq(kp_consumer_assignment_encode(&wr, &as), 0);
    ck_assert_uint_eq(kp_wr_len(&wr), sizeof asg);
    ck_assert(memcmp(buf, asg, sizeof asg) == 0);
    struct kp_arena a;
    kp_arena_init(&a, arena_mem, sizeof arena_mem);
    struct kp_rd rd;
    kp_rd_init(&rd, asg, sizeof asg);
    struct kp_consumer_assignment o;
    ck_assert_int_eq(kp_consumer_assignment_decode(&rd, &a, &o), 0);
    ck_assert_int_eq(o.n_topics, 1);
    ck_assert_int_eq(o.topics[0].partitions[1], 1);
    ck_assert_int_eq(o.user_data.len, 0);
}
END_TEST

START_TEST(test_newer_versions_and_forged_counts)
{
    /* A v5 subscription: the v3 fields, then bytes of fields not known here. */
    uint8_t buf[256];
    struct kp_wr wr;
    kp_wr_init(&wr, buf, sizeof buf);
    struct kp_consumer_subscription s = {3, 2, topics, KP_BYTES_NULL, 2, owned, 9, KP_STR_NULL};
    ck_assert_int_eq(kp_consumer_subscription_encode(&wr, &s), 0);
    kp_store_be16(buf, 5);
    kp_wr_i32(&wr, 12345);
    kp_wr_i8(&wr, 1);
    struct kp_arena a;
    kp_arena_init(&a, arena_mem, sizeof arena_mem);
    struct kp_rd rd;
    kp_rd_init(&rd, buf, kp_wr_len(&wr));
    struct kp_consumer_subscription o;
    ck_assert_int_eq(kp_consumer_subscription_decode(&rd, &a, &o), 0);
    ck_assert_int_eq(o.version, 5);
    ck_assert_int_eq(o.n_owned, 2);
    ck_assert_int_eq(o.generation_id, 9);
    /* Negative version. */
    kp_store_be16(buf, 0xffff);
    kp_rd_init(&rd, buf, kp_wr_len(&wr));
    ck_assert_int_eq(kp_consumer_subscription_decode(&rd, &a, &o), -EBADMSG);
    /* An assignment claiming 2^31-1 topics in 10 bytes: refused, the arena untouched. */
    static const uint8_t forged[] = {0, 1, 0x7f, 0xff, 0xff, 0xff, 0, 1, 't', 0};
    kp_arena_init(&a, arena_mem, sizeof arena_mem);
    kp_rd_init(&rd, forged, sizeof forged);
    struct kp_consumer_assignment oa;
    ck_assert_int_eq(kp_consumer_assignment_decode(&rd, &a, &oa), -EBADMSG);
    ck_assert_uint_eq(a.used, 0);
    /* Empty bytes are not an assignment (the caller treats them as "nothing assigned"). */
    kp_rd_init(&rd, forged, 0);
    ck_assert_int_eq(kp_consumer_assignment_decode(&rd, &a, &oa), -EBADMSG);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kp_consumer");
    TCase *tc = tcase_create("consumer protocol");
    tcase_add_test(tc, test_subscription_round_trip);
    tcase_add_test(tc, test_golden_bytes);
    tcase_add_test(tc, test_newer_versions_and_forged_counts);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
