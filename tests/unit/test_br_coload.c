/*
 * test_br_coload — the group coordinator's partitions in a cluster (br_coload.h, issue 18 M4):
 * records of __consumer_offsets decoded back (br_cotopic_parse against the encoders), and a
 * load: a partition's log replayed into the offsets store, replacing what the store held for
 * that partition's groups (stale entries dropped, tombstones and group deletions applied, other
 * partitions' groups untouched), the lookups' answers before, during and after, and the groups
 * unloaded when the partition is lost.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br_coload.h"
#include "br_config.h"
#include "br_cotopic.h"
#include "br_group.h"
#include "kp_api.h"
#include "st.h"
#include "st_offsets.h"
#include "test_st_util.h"

#define NP 4

START_TEST(records_decode_back)
{
    uint8_t k[256], v[256];
    size_t kl = br_cotopic_offset_key(k, sizeof k, "grp", 3, "topic", 5, 7);
    size_t vl = br_cotopic_offset_value(v, sizeof v, 42, "meta", 4, 1234);
    ck_assert_uint_gt(kl, 0);
    ck_assert_uint_gt(vl, 0);
    struct br_cotopic_rec r;
    ck_assert_int_eq(br_cotopic_parse(k, kl, v, vl, &r), 0);
    ck_assert_int_eq(r.kind, BR_COTOPIC_REC_OFFSET);
    ck_assert(r.group_len == 3 && memcmp(r.group, "grp", 3) == 0);
    ck_assert(r.topic_len == 5 && memcmp(r.topic, "topic", 5) == 0);
    ck_assert_int_eq(r.partition, 7);
    ck_assert_int_eq(r.offset, 42);
    ck_assert(r.metadata_len == 4 && memcmp(r.metadata, "meta", 4) == 0);
    ck_assert_int_eq(r.commit_ms, 1234);
    /* a tombstone */
    ck_assert_int_eq(br_cotopic_parse(k, kl, NULL, 0, &r), 0);
    ck_assert_int_eq(r.kind, BR_COTOPIC_REC_OFFSET_GONE);
    /* OffsetCommitValue v1 (Kafka 0.10-2.0: an expire timestamp after the commit's) */
    const uint8_t v1[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0,
                          0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6};
    ck_assert_int_eq(br_cotopic_parse(k, kl, v1, sizeof v1, &r), 0);
    ck_assert_int_eq(r.offset, 9);
    ck_assert_int_eq(r.metadata_len, 0);
    ck_assert_int_eq(r.commit_ms, 5);
    /* the group deleted; group metadata (members) */
    size_t gl = br_cotopic_group_key(k, sizeof k, "grp", 3);
    ck_assert_int_eq(br_cotopic_parse(k, gl, NULL, 0, &r), 0);
    ck_assert_int_eq(r.kind, BR_COTOPIC_REC_GROUP_GONE);
    ck_assert_int_eq(br_cotopic_parse(k, gl, v, vl, &r), 0);
    ck_assert_int_eq(r.kind, BR_COTOPIC_REC_GROUP);
    /* every cut is refused, never read past */
    kl = br_cotopic_offset_key(k, sizeof k, "grp", 3, "topic", 5, 7);
    for (size_t cut = 0; cut < kl; cut++)
        ck_assert_int_lt(br_cotopic_parse(k, cut, v, vl, &r), 0);
    for (size_t cut = 0; cut < vl; cut++)
        ck_assert_int_lt(br_cotopic_parse(k, kl, v, cut, &r), 0);
    /* unknown versions */
    const uint8_t k9[] = {0, 9, 0, 0};
    ck_assert_int_eq(br_cotopic_parse(k9, sizeof k9, NULL, 0, &r), -EINVAL);
    const uint8_t v9[] = {0, 4, 0, 0, 0, 0, 0, 0, 0, 1};
    ck_assert_int_eq(br_cotopic_parse(k, kl, v9, sizeof v9, &r), -EINVAL);
}
END_TEST

/* A group id (g<i>) whose partition among NP is (or is not, same false) part. */
static void group_on(char *out, size_t cap, int32_t part, bool same, int skip)
{
    for (int i = 0;; i++) {
        snprintf(out, cap, "g%d", i);
        if ((br_cotopic_partition_of(out, strlen(out), NP) == part) == same && skip-- == 0)
            return;
    }
}

static int64_t offset_of(struct st_offsets *o, const char *g, const char *t, int32_t p)
{
    int64_t off = -1;
    int rc = st_offsets_get(o, g, strlen(g), t, strlen(t), p, &off, NULL, 0, NULL);
    return rc == 0 ? off : rc;
}

static void wait_loaded(struct br_coload *cl, int32_t p, int32_t epoch)
{
    for (int i = 0; i < 2000 && !br_coload_loaded(cl, p, epoch); i++)
        usleep(5000);
    ck_assert(br_coload_loaded(cl, p, epoch));
}

START_TEST(load_replaces_the_partitions_groups)
{
    char dir[256];
    tst_mkdtemp(dir, sizeof dir);
    struct st_log_config lc = tst_cfg();
    struct st_store *store;
    ck_assert_int_eq(st_store_open(dir, &lc, &store), 0);
    struct st_offsets_opts oo;
    st_offsets_opts_default(&oo);
    struct st_offsets *o;
    ck_assert_int_eq(st_offsets_open(dir, &oo, &o), 0);
    /* the single node's mirror writes the records (the same format a cluster's leader writes) */
    struct br_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.offsets_topic_partitions = NP;
    cfg.offsets_topic_segment_bytes = 1 << 20;
    ck_assert_int_eq(br_cotopic_create(store, NP, 1 << 20), 0);
    struct br_cotopic *mirror;
    ck_assert_int_eq(br_cotopic_open(&cfg, store, o, &mirror), 0);

    char ga[16], gb[16], gc[16], gz[16];
    group_on(ga, sizeof ga, 0, false, 0);
    int32_t pa = br_cotopic_partition_of(ga, strlen(ga), NP);
    group_on(gb, sizeof gb, pa, true, 1);
    group_on(gc, sizeof gc, pa, true, 2);
    group_on(gz, sizeof gz, pa, false, 0);
    ck_assert_int_eq(st_offsets_commit(o, ga, strlen(ga), "t", 1, 0, 5, "m", 1, 1000), 0);
    ck_assert_int_eq(st_offsets_commit(o, ga, strlen(ga), "t", 1, 1, 7, NULL, 0, 1000), 0);
    ck_assert_int_eq(st_offsets_commit(o, ga, strlen(ga), "t", 1, 0, 9, NULL, 0, 2000), 0);
    ck_assert_int_eq(st_offsets_delete(o, ga, strlen(ga), "t", 1, 1), 1);
    ck_assert_int_eq(st_offsets_commit(o, gb, strlen(gb), "t", 1, 0, 3, NULL, 0, 1000), 0);
    ck_assert_int_eq(st_offsets_delete_group(o, gb, strlen(gb)), 1);
    /* what the store holds beyond the log (a stale cache): dropped for pa's groups, kept for
     * another partition's */
    br_cotopic_quiet(true);
    ck_assert_int_eq(st_offsets_commit(o, ga, strlen(ga), "t", 1, 3, 100, NULL, 0, 1000), 0);
    ck_assert_int_eq(st_offsets_commit(o, ga, strlen(ga), "t", 1, 0, 1, NULL, 0, 1000), 0);
    ck_assert_int_eq(st_offsets_commit(o, gc, strlen(gc), "t", 1, 0, 100, NULL, 0, 1000), 0);
    ck_assert_int_eq(st_offsets_commit(o, gz, strlen(gz), "t", 1, 0, 100, NULL, 0, 1000), 0);
    br_cotopic_quiet(false);

    struct br_groups_cfg gcfg = {.initial_rebalance_delay_ms = 0,
                                 .min_session_timeout_ms = 10,
                                 .max_session_timeout_ms = 100000,
                                 .max_size = 10,
                                 .max_groups = 10,
                                 .max_member_bytes = 1 << 16,
                                 .max_total_bytes = 1 << 20};
    struct br_groups *groups;
    ck_assert_int_eq(br_groups_new(&gcfg, NULL, NULL, &groups), 0);
    struct br_coload_conf cc = {.store = store, .offsets = o, .groups = groups};
    struct br_coload *cl;
    ck_assert_int_eq(br_coload_new(&cc, &cl), 0);
    /* no view yet: not the coordinator of anything */
    ck_assert_int_eq(br_coload_check(cl, ga, strlen(ga), NULL, NULL), KP_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(br_coload_partitions(cl), 0);

    int32_t epochs[NP] = {-1, -1, -1, -1};
    epochs[pa] = 3;
    br_coload_update(cl, epochs, NP);
    wait_loaded(cl, pa, 3);
    ck_assert(!br_coload_loading(cl));
    int32_t part = -1, epoch = -1;
    ck_assert_int_eq(br_coload_check(cl, ga, strlen(ga), &part, &epoch), KP_ERR_NONE);
    ck_assert_int_eq(part, pa);
    ck_assert_int_eq(epoch, 3);
    ck_assert_int_eq(br_coload_check(cl, gz, strlen(gz), NULL, NULL), KP_ERR_NOT_COORDINATOR);
    ck_assert_int_eq(offset_of(o, ga, "t", 0), 9);
    char meta[8];
    size_t ml = 99;
    int64_t off = 0;
    ck_assert_int_eq(st_offsets_get(o, ga, strlen(ga), "t", 1, 0, &off, meta, sizeof meta, &ml), 0);
    ck_assert_int_eq(ml, 0);                             /* the last commit's metadata */
    ck_assert_int_eq(offset_of(o, ga, "t", 1), -ENOENT); /* its tombstone */
    ck_assert_int_eq(offset_of(o, ga, "t", 3), -ENOENT); /* not in the log */
    ck_assert_int_eq(offset_of(o, gb, "t", 0), -ENOENT); /* the group deleted */
    ck_assert_int_eq(offset_of(o, gc, "t", 0), -ENOENT); /* not in the log */
    ck_assert_int_eq(offset_of(o, gz, "t", 0), 100);     /* another partition's */
    ck_assert_int_eq(br_coload_loads(cl), 1);

    /* nothing loaded was written back to the log */
    struct st_log *log = tst_log_get(store, BR_COTOPIC_NAME, strlen(BR_COTOPIC_NAME), pa);
    int64_t end = st_log_end_offset(log);
    st_log_put(log);
    ck_assert_int_eq(end, 7); /* 4 of ga, 3 of gb (a commit, its tombstone, the group key) */

    /* a new leader epoch loads again; losing the partition unloads its groups */
    epochs[pa] = 4;
    br_coload_update(cl, epochs, NP);
    wait_loaded(cl, pa, 4);
    ck_assert_int_eq(br_coload_loads(cl), 2);
    ck_assert_int_eq(offset_of(o, ga, "t", 0), 9);
    epochs[pa] = -1;
    br_coload_update(cl, epochs, NP);
    ck_assert_int_eq(br_coload_check(cl, ga, strlen(ga), NULL, NULL), KP_ERR_NOT_COORDINATOR);
    ck_assert(!br_coload_loaded(cl, pa, -1));

    br_coload_free(cl);
    br_groups_stop(groups);
    br_groups_free(groups);
    br_cotopic_close(mirror);
    st_offsets_close(o);
    st_store_close(store);
    tst_rmrf(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_coload");
    TCase *tc = tcase_create("coload");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, records_decode_back);
    tcase_add_test(tc, load_replaces_the_partitions_groups);
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
