/*
 * test_br_coload — the group coordinator's partitions in a cluster (br_coload.h, issue 18 M4):
 * records of __consumer_offsets decoded back (br_cotopic_parse against the encoders), and a
 * load: a partition's log replayed into the offsets store, replacing what the store held for
 * that partition's groups (stale entries dropped, tombstones and group deletions applied, other
 * partitions' groups untouched), the lookups' answers before, during and after, and the groups
 * unloaded when the partition is lost; transactional offset batches and markers replayed in
 * log order (committed, aborted, still pending, a later plain commit kept), what a cluster's
 * mirror writes for TxnOffsetCommit (transactional batches holding the LSO back), and group
 * members restored from the mirror's GroupMetadata records (the latest of each group, a
 * deleted group gone, a group held at a newer generation kept, other partitions' untouched).
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

/* ---- transactional offsets (TxnOffsetCommit in a cluster, docs/cluster.md) ---------------- */

static int32_t hook_partitions(void *arg)
{
    (void)arg;
    return NP;
}

static bool hook_may_append(void *arg, int32_t p)
{
    (void)arg, (void)p;
    return true;
}

/* The old coordinator (a store, its offsets store o, a cluster's mirror writing o's changes
 * into the store's __consumer_offsets) and the new one's own offsets store o2, each in a
 * temporary directory. */
struct coords {
    char dir[256], dir2[256];
    struct st_store *store;
    struct st_offsets *o, *o2;
    struct br_cotopic *mirror;
};

static void coords_open(struct coords *x)
{
    tst_mkdtemp(x->dir, sizeof x->dir);
    tst_mkdtemp(x->dir2, sizeof x->dir2);
    struct st_log_config lc = tst_cfg();
    ck_assert_int_eq(st_store_open(x->dir, &lc, &x->store), 0);
    struct st_offsets_opts oo;
    st_offsets_opts_default(&oo);
    ck_assert_int_eq(st_offsets_open(x->dir, &oo, &x->o), 0);
    ck_assert_int_eq(st_offsets_open(x->dir2, &oo, &x->o2), 0);
    struct br_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.offsets_topic_partitions = NP;
    cfg.offsets_topic_segment_bytes = 1 << 20;
    cfg.message_max_bytes = 1 << 20;
    cfg.replica_fetch_max_bytes = 1 << 20;
    snprintf(cfg.zk_connect, sizeof cfg.zk_connect, "127.0.0.1:1");
    ck_assert_int_eq(br_cotopic_create(x->store, NP, 1 << 20), 0);
    ck_assert_int_eq(br_cotopic_open(&cfg, x->store, x->o, &x->mirror), 0);
    struct br_cotopic_cluster hooks = {
        .partitions = hook_partitions, .may_append = hook_may_append, .arg = NULL};
    br_cotopic_set_cluster(x->mirror, &hooks);
}

static void coords_close(struct coords *x)
{
    br_cotopic_close(x->mirror);
    st_offsets_close(x->o2);
    st_offsets_close(x->o);
    st_store_close(x->store);
    tst_rmrf(x->dir);
    tst_rmrf(x->dir2);
}

/* A transaction's marker into partition p of __consumer_offsets (what WriteTxnMarkers writes). */
static void mark(struct st_store *store, int32_t p, int64_t pid, int16_t epoch, bool commit)
{
    struct st_log *log = tst_log_get(store, BR_COTOPIC_NAME, strlen(BR_COTOPIC_NAME), p);
    struct st_append_result res;
    ck_assert_int_eq(st_log_append_marker(log, pid, epoch, commit, 0, 5000, &res), 0);
    st_log_put(log);
}

static void txn_commit(struct st_offsets *o, const char *g, int64_t pid, int16_t epoch,
                       int32_t part, int64_t offset)
{
    struct st_offset_commit it = {"t", 1, part, offset, NULL, 0};
    int res = -1;
    ck_assert_int_eq(st_offsets_txn_commit_batch(o, g, strlen(g), pid, epoch, &it, 1, 3000, &res),
                     0);
    ck_assert_int_eq(res, 0);
}

START_TEST(load_replays_transactions)
{
    struct coords x;
    coords_open(&x);
    struct st_store *store = x.store;
    /* o's mirror writes the transactional batches of pending offsets */
    struct st_offsets *o = x.o, *o2 = x.o2;

    char g1[16], g2[16], g3[16];
    group_on(g1, sizeof g1, 0, true, 0);
    group_on(g2, sizeof g2, 0, true, 1);
    group_on(g3, sizeof g3, 0, true, 2);
    /* pid 10: committed; pid 11: aborted */
    struct br_cotopic_track t;
    br_cotopic_track_begin(&t);
    txn_commit(o, g1, 10, 0, 0, 50);
    br_cotopic_track_end();
    ck_assert_int_eq(t.rc, 0);
    ck_assert_int_eq(t.part, 0);
    ck_assert_int_eq(t.end, 1); /* the transactional batch, tracked as a commit's */
    mark(store, 0, 10, 0, true);
    txn_commit(o, g2, 11, 0, 0, 60);
    mark(store, 0, 11, 0, false);
    /* pid 13: pending, then a plain commit of the same key, then committed: the plain one,
     * later, stays (Kafka's rule, st_offsets_txn_end) */
    txn_commit(o, g1, 13, 0, 2, 80);
    ck_assert_int_eq(st_offsets_commit(o, g1, strlen(g1), "t", 1, 2, 85, NULL, 0, 3500), 0);
    mark(store, 0, 13, 0, true);
    /* pid 12 (epoch 2): pending in two groups, two batches (sequences 0 then 1), no marker */
    txn_commit(o, g3, 12, 2, 0, 70);
    txn_commit(o, g1, 12, 2, 1, 71);

    struct st_log *log = tst_log_get(store, BR_COTOPIC_NAME, strlen(BR_COTOPIC_NAME), 0);
    int64_t end = st_log_end_offset(log);
    ck_assert_int_eq(end, 9);             /* 5 transactional batches, 3 markers, a plain commit */
    ck_assert_int_eq(st_log_lso(log), 7); /* read_committed stops at pid 12's open batches */
    st_log_put(log);

    /* the new leader loads partition 0 into its own store */
    struct br_coload_conf cc = {.store = store, .offsets = o2, .groups = NULL};
    struct br_coload *cl;
    ck_assert_int_eq(br_coload_new(&cc, &cl), 0);
    int32_t epochs[NP] = {1, -1, -1, -1};
    br_coload_update(cl, epochs, NP);
    wait_loaded(cl, 0, 1);
    ck_assert_int_eq(offset_of(o2, g1, "t", 0), 50);      /* committed */
    ck_assert_int_eq(offset_of(o2, g2, "t", 0), -ENOENT); /* aborted */
    ck_assert_int_eq(offset_of(o2, g1, "t", 2), 85);      /* the later plain commit */
    ck_assert_int_eq(offset_of(o, g1, "t", 2), 85);       /* as the old leader's store had it */
    ck_assert_int_eq(offset_of(o2, g3, "t", 0), -ENOENT); /* pending: invisible */
    ck_assert_int_eq(offset_of(o2, g1, "t", 1), -ENOENT);
    ck_assert(st_offsets_txn_pending(o2, g3, strlen(g3), "t", 1, 0));
    ck_assert(st_offsets_txn_pending(o2, g1, strlen(g1), "t", 1, 1));
    ck_assert(!st_offsets_txn_pending(o2, g1, strlen(g1), "t", 1, 0));
    struct st_offsets_stats ss;
    st_offsets_stats(o2, &ss);
    ck_assert_int_eq(ss.pending, 2);
    /* the marker that comes later (to this new leader) completes them */
    ck_assert_int_eq(st_offsets_txn_end(o2, g3, strlen(g3), 12, 2, true, 6000), 0);
    ck_assert_int_eq(st_offsets_txn_end(o2, g1, strlen(g1), 12, 2, true, 6000), 0);
    ck_assert_int_eq(offset_of(o2, g3, "t", 0), 70);
    ck_assert_int_eq(offset_of(o2, g1, "t", 1), 71);

    /* a stale pending offset the store holds beyond the log is dropped by the next load;
     * the log's still-pending ones come back */
    br_cotopic_quiet(true);
    txn_commit(o2, g2, 99, 0, 5, 1);
    br_cotopic_quiet(false);
    epochs[0] = 2;
    br_coload_update(cl, epochs, NP);
    wait_loaded(cl, 0, 2);
    ck_assert(!st_offsets_txn_pending(o2, g2, strlen(g2), "t", 1, 5));
    ck_assert(st_offsets_txn_pending(o2, g3, strlen(g3), "t", 1, 0));
    ck_assert_int_eq(offset_of(o2, g3, "t", 0), -ENOENT);
    /* the marker in the log: a load commits them */
    mark(store, 0, 12, 2, true);
    epochs[0] = 3;
    br_coload_update(cl, epochs, NP);
    wait_loaded(cl, 0, 3);
    ck_assert_int_eq(offset_of(o2, g3, "t", 0), 70);
    ck_assert_int_eq(offset_of(o2, g1, "t", 1), 71);
    st_offsets_stats(o2, &ss);
    ck_assert_int_eq(ss.pending, 0);

    br_coload_free(cl);
    coords_close(&x);
}
END_TEST

/* ---- group members (GroupMetadataValue, br_cotopic_store_group) --------------------------- */

static struct kp_str KS(const char *x) {
    return (struct kp_str){x, (int32_t)strlen(x)};
}

static struct br_group_info
group_info(struct br_groups *g, const char *id)
{
    struct br_group_info i;
    br_group_describe(g, KS(id), &i);
    return i;
}

/* The old coordinator's mirror stores group snapshots; the new one's load restores the latest of
 * each group of the partition in log order (a static member's new id at the same generation
 * wins, a group deleted after its snapshot stays gone, what the coordinator held before the
 * load is dropped, a snapshot too large for a follower's fetch is not written), sessions going
 * on at the stored generation; losing the partition drops its groups. */
START_TEST(load_restores_group_members)
{
    struct coords x;
    coords_open(&x);
    struct st_store *store = x.store;
    struct st_offsets *o = x.o, *o2 = x.o2;
    struct br_cotopic *mirror = x.mirror;

    char g1[16], g2[16], g3[16], gx[16];
    group_on(g1, sizeof g1, 0, true, 0);
    group_on(g2, sizeof g2, 0, true, 1);
    group_on(g3, sizeof g3, 0, true, 2);
    group_on(gx, sizeof gx, 0, false, 0);
    struct br_group_snap_member m[2] = {
        {.member_id = KS("a"),
         .group_instance_id = KP_STR_NULL,
         .client_id = KS("c"),
         .client_host = KS("/h"),
         .rebalance_timeout_ms = 30000,
         .session_timeout_ms = 30000,
         .subscription = {(const uint8_t *)"s", 1},
         .assignment = {(const uint8_t *)"x", 1}},
        {.member_id = KS("b"),
         .group_instance_id = KP_STR_NULL,
         .client_id = KS("c"),
         .client_host = KS("/h"),
         .rebalance_timeout_ms = 30000,
         .session_timeout_ms = 30000,
         .subscription = {(const uint8_t *)"s", 1},
         .assignment = {(const uint8_t *)"y", 1}},
    };
    struct br_group_snap snap = {.protocol_type = KS("consumer"),
                                 .protocol_name = KS("range"),
                                 .leader_id = KS("a"),
                                 .state_ms = 1,
                                 .members = m};
    /* g1: generation 4 with a and b, then 5 with a alone */
    snap.group_id = KS(g1);
    snap.generation = 4;
    snap.n_members = 2;
    br_cotopic_store_group(mirror, &snap);
    snap.generation = 5;
    snap.n_members = 1;
    br_cotopic_store_group(mirror, &snap);
    /* then, at the same generation, a static member's new id (a restart without a rebalance):
     * the later record wins */
    m[0].member_id = KS("a2");
    snap.leader_id = KS("a2");
    br_cotopic_store_group(mirror, &snap);
    m[0].member_id = KS("a");
    snap.leader_id = KS("a");
    /* a snapshot too large for a follower's fetch (message.max.bytes) is not written */
    static uint8_t big[(1 << 20) + 1];
    m[1].assignment = (struct kp_bytes){big, (int32_t)sizeof big};
    snap.n_members = 2;
    snap.generation = 6;
    br_cotopic_store_group(mirror, &snap);
    m[1].assignment = (struct kp_bytes){(const uint8_t *)"y", 1};
    snap.generation = 5;
    snap.n_members = 1;
    /* g2: a snapshot, then the group deleted (its offsets' tombstone and the group key) */
    snap.group_id = KS(g2);
    snap.generation = 2;
    br_cotopic_store_group(mirror, &snap);
    ck_assert_int_eq(st_offsets_commit(o, g2, strlen(g2), "t", 1, 0, 3, NULL, 0, 1000), 0);
    ck_assert_int_eq(st_offsets_delete_group(o, g2, strlen(g2)), 1);
    /* g3: generation 1 stored; the new coordinator already holds it at generation 9 */
    snap.group_id = KS(g3);
    snap.generation = 1;
    br_cotopic_store_group(mirror, &snap);
    /* gx: another partition's, not loaded here */
    snap.group_id = KS(gx);
    br_cotopic_store_group(mirror, &snap);
    struct st_log *log = tst_log_get(store, BR_COTOPIC_NAME, strlen(BR_COTOPIC_NAME), 0);
    ck_assert_int_eq(st_log_end_offset(log), 8); /* 5 snapshots of partition 0's groups... */
    st_log_put(log);                             /* ...a commit, its tombstone and g2's key */

    struct br_groups_cfg gcfg = {.initial_rebalance_delay_ms = 0,
                                 .min_session_timeout_ms = 10,
                                 .max_session_timeout_ms = 100000,
                                 .max_size = 10,
                                 .max_groups = 10,
                                 .max_member_bytes = 1 << 16,
                                 .max_total_bytes = 1 << 20};
    struct br_groups *groups;
    ck_assert_int_eq(br_groups_new(&gcfg, NULL, NULL, &groups), 0);
    snap.group_id = KS(g3);
    snap.generation = 9;
    ck_assert_int_eq(br_groups_restore(groups, &snap), 0);
    struct br_coload_conf cc = {.store = store, .offsets = o2, .groups = groups};
    struct br_coload *cl;
    ck_assert_int_eq(br_coload_new(&cc, &cl), 0);
    int32_t epochs[NP] = {2, -1, -1, -1};
    br_coload_update(cl, epochs, NP);
    wait_loaded(cl, 0, 2);
    struct br_group_info i = group_info(groups, g1);
    ck_assert_int_eq(i.state, BR_GROUP_STABLE);
    ck_assert_int_eq(i.generation_id, 5);
    ck_assert_int_eq(i.n_members, 1);
    ck_assert_int_eq(br_group_heartbeat(groups, KS(g1), 5, KS("a2")), 0);
    ck_assert_int_eq(br_group_heartbeat(groups, KS(g1), 5, KS("a")), KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(br_group_heartbeat(groups, KS(g1), 5, KS("b")), KP_ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(group_info(groups, g2).state, BR_GROUP_NONE);
    /* what the coordinator held of the partition before the load is dropped: the log says */
    ck_assert_int_eq(group_info(groups, g3).generation_id, 1);
    ck_assert_int_eq(group_info(groups, gx).state, BR_GROUP_NONE);
    /* nothing loaded was written back */
    log = tst_log_get(store, BR_COTOPIC_NAME, strlen(BR_COTOPIC_NAME), 0);
    ck_assert_int_eq(st_log_end_offset(log), 8);
    st_log_put(log);
    /* the partition lost: its groups leave the coordinator */
    epochs[0] = -1;
    br_coload_update(cl, epochs, NP);
    for (int k = 0; k < 400 && group_info(groups, g1).state != BR_GROUP_NONE; k++)
        usleep(5000);
    ck_assert_int_eq(group_info(groups, g1).state, BR_GROUP_NONE);

    br_coload_free(cl);
    br_groups_stop(groups);
    br_groups_free(groups);
    coords_close(&x);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("br_coload");
    TCase *tc = tcase_create("coload");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, records_decode_back);
    tcase_add_test(tc, load_replaces_the_partitions_groups);
    tcase_add_test(tc, load_restores_group_members);
    tcase_add_test(tc, load_replays_transactions);
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
