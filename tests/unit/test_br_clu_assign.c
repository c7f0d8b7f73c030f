/*
 * test_br_clu_assign — where new partitions' replicas go (br_clu_assign.h): without racks rf
 * consecutive brokers by id (the layout before racks); with a rack on every broker each
 * partition's replicas on distinct racks while there are racks left, then on distinct
 * brokers, leaders spread evenly over the brokers; a half-configured cluster assigned without
 * racks (and said so); bad arguments refused.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "br_clu_assign.h"

#define MAXB 8

static struct br_clu_replicas out[64];

static const char *rack_of(const struct br_clu_assign_broker *b, int n, int32_t id)
{
    for (int i = 0; i < n; i++)
        if (b[i].id == id)
            return b[i].rack ? b[i].rack : "";
    ck_abort_msg("broker %d not in the list", (int)id);
    return NULL;
}

/* Every partition: rf distinct brokers; on min(rf, racks) distinct racks when aware. */
static void check_spread(const struct br_clu_assign_broker *b, int n, int count, int rf, int racks)
{
    for (int p = 0; p < count; p++) {
        ck_assert_int_eq(out[p].n, rf);
        int distinct_racks = 0;
        for (int k = 0; k < rf; k++) {
            bool rack_seen = false;
            for (int j = 0; j < k; j++) {
                ck_assert_msg(out[p].id[j] != out[p].id[k], "partition %d: broker %d twice", p,
                              (int)out[p].id[k]);
                rack_seen = rack_seen ||
                            strcmp(rack_of(b, n, out[p].id[j]), rack_of(b, n, out[p].id[k])) == 0;
            }
            distinct_racks += !rack_seen;
        }
        if (racks > 0)
            ck_assert_msg(distinct_racks == (rf < racks ? rf : racks),
                          "partition %d: %d racks for %d replicas", p, distinct_racks, rf);
    }
}

/* Over a multiple of n partitions every broker leads as often as any other. */
static void check_leaders(const struct br_clu_assign_broker *b, int n, int count)
{
    for (int i = 0; i < n; i++) {
        int led = 0;
        for (int p = 0; p < count; p++)
            led += out[p].id[0] == b[i].id;
        ck_assert_int_eq(led, count / n);
    }
}

START_TEST(without_racks_consecutive)
{
    const struct br_clu_assign_broker b[] = {{1, NULL}, {2, NULL}, {3, ""}, {5, NULL}, {9, NULL}};
    bool mixed = true;
    ck_assert_int_eq(br_clu_assign(b, 5, 2, 0, 10, 3, out, &mixed), 0);
    ck_assert(!mixed);
    for (int p = 0; p < 10; p++)
        for (int k = 0; k < 3; k++)
            ck_assert_int_eq(out[p].id[k], b[(2 + p + k) % 5].id);
    check_leaders(b, 5, 10);
    /* partitions added later continue the same layout */
    ck_assert_int_eq(br_clu_assign(b, 5, 2, 7, 3, 3, out, NULL), 0);
    for (int q = 0; q < 3; q++)
        ck_assert_int_eq(out[q].id[0], b[(2 + 7 + q) % 5].id);
    /* one rack for all is no rack at all */
    const struct br_clu_assign_broker one[] = {{1, "a"}, {2, "a"}, {3, "a"}};
    ck_assert_int_eq(br_clu_assign(one, 3, 0, 0, 3, 2, out, &mixed), 0);
    ck_assert(!mixed);
    for (int p = 0; p < 3; p++)
        ck_assert_int_eq(out[p].id[1], one[(p + 1) % 3].id);
}
END_TEST

START_TEST(racks_spread_replicas)
{
    /* 1a 2a 3b 4b 5c: alternated a b c a b (1 3 5 2 4) */
    const struct br_clu_assign_broker b[] = {{1, "a"}, {2, "a"}, {3, "b"}, {4, "b"}, {5, "c"}};
    bool mixed = true;
    ck_assert_int_eq(br_clu_assign(b, 5, 0, 0, 20, 3, out, &mixed), 0);
    ck_assert(!mixed);
    check_spread(b, 5, 20, 3, 3);
    check_leaders(b, 5, 20);
    ck_assert_int_eq(out[0].id[0], 1);
    ck_assert_int_eq(out[1].id[0], 3);
    ck_assert_int_eq(out[2].id[0], 5);
    ck_assert_int_eq(out[3].id[0], 2);
    /* rf 2 over racks a a a b: every partition on both racks, every broker leads */
    const struct br_clu_assign_broker u[] = {{1, "a"}, {2, "a"}, {3, "a"}, {7, "b"}};
    ck_assert_int_eq(br_clu_assign(u, 4, 1, 0, 8, 2, out, NULL), 0);
    check_spread(u, 4, 8, 2, 2);
    check_leaders(u, 4, 8);
    /* rf 3 over two racks: both racks, three brokers */
    const struct br_clu_assign_broker t[] = {{1, "r1"}, {2, "r1"}, {3, "r2"}, {4, "r2"}};
    ck_assert_int_eq(br_clu_assign(t, 4, 3, 0, 8, 3, out, NULL), 0);
    check_spread(t, 4, 8, 3, 2);
    check_leaders(t, 4, 8);
    /* rf = n: every broker in every partition */
    ck_assert_int_eq(br_clu_assign(t, 4, 0, 0, 4, 4, out, NULL), 0);
    check_spread(t, 4, 4, 4, 2);
    /* names compared as names, not by length */
    const struct br_clu_assign_broker v[] = {{1, "rack-10"}, {2, "rack-9"}, {3, "rack-10"}};
    ck_assert_int_eq(br_clu_assign(v, 3, 0, 0, 3, 2, out, NULL), 0);
    check_spread(v, 3, 3, 2, 2);
}
END_TEST

START_TEST(half_configured_without_racks)
{
    const struct br_clu_assign_broker b[] = {{1, "a"}, {2, NULL}, {3, "b"}};
    bool mixed = false;
    ck_assert_int_eq(br_clu_assign(b, 3, 1, 0, 6, 2, out, &mixed), 0);
    ck_assert(mixed);
    for (int p = 0; p < 6; p++)
        for (int k = 0; k < 2; k++)
            ck_assert_int_eq(out[p].id[k], b[(1 + p + k) % 3].id);
}
END_TEST

START_TEST(bad_arguments)
{
    const struct br_clu_assign_broker b[] = {{1, "a"}, {2, "b"}};
    ck_assert_int_eq(br_clu_assign(b, 2, 0, 0, 1, 3, out, NULL), -EINVAL);
    ck_assert_int_eq(br_clu_assign(b, 2, 0, 0, 1, 0, out, NULL), -EINVAL);
    ck_assert_int_eq(br_clu_assign(b, 0, 0, 0, 1, 1, out, NULL), -EINVAL);
    ck_assert_int_eq(br_clu_assign(b, 2, 0, 0, -1, 1, out, NULL), -EINVAL);
    ck_assert_int_eq(br_clu_assign(b, 2, 0, 0, 0, 1, out, NULL), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("br_clu_assign");
    TCase *tc = tcase_create("assign");
    tcase_add_test(tc, without_racks_consecutive);
    tcase_add_test(tc, racks_spread_replicas);
    tcase_add_test(tc, half_configured_without_racks);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
