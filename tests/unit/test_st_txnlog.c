/*
 * test_st_txnlog — the transaction coordinator's durable log: records round-trip through a
 * reopen (topics, groups, last producer id and epoch), tombstones forget, producer-id blocks
 * only grow; a crash that cuts the file at any byte of its last record reopens to the state
 * before that record (the file cut back); a flipped byte ends the replay there; compaction
 * keeps the state and the next producer id; bad arguments and a bad header are refused.
 */
#include "st_txnlog.h"
#include "test_st_util.h"

static char dir[256];
static char logpath[400];

static void setup(void)
{
    tst_mkdtemp(dir, sizeof(dir));
    snprintf(logpath, sizeof(logpath), "%s/%s/txn.log", dir, ST_TXNLOG_DIR);
}

static void teardown(void) { tst_rmrf(dir); }

static struct st_txnlog *open_log(void)
{
    struct st_txnlog *l;
    ck_assert_int_eq(st_txnlog_open(dir, NULL, &l), 0);
    return l;
}

/* What foreach hands out, flattened into text for comparison. */
static char seen[1 << 16];

static void dump_one(void *arg, const struct st_txnlog_rec *r)
{
    (void)arg;
    char line[4096];
    int n = snprintf(
        line, sizeof line, "%.*s pid=%lld/%lld ep=%d/%d to=%d st=%d start=%lld up=%lld",
        (int)r->id_len, r->id, (long long)r->producer_id, (long long)r->last_producer_id, r->epoch,
        r->last_epoch, r->timeout_ms, r->state, (long long)r->start_ms, (long long)r->update_ms);
    for (int32_t i = 0; i < r->n_topics; i++) {
        n += snprintf(line + n, sizeof line - (size_t)n, " %.*s:", (int)r->topics[i].len,
                      r->topics[i].name);
        for (int32_t k = 0; k < r->topics[i].n; k++)
            n += snprintf(line + n, sizeof line - (size_t)n, "%d,", r->topics[i].partitions[k]);
    }
    for (int32_t i = 0; i < r->n_groups; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, " g=%.*s", (int)r->groups[i].len,
                      r->groups[i].id);
    /* insertion in sorted order: foreach gives no order */
    char *lines[256];
    int nl = 0;
    char *save = NULL;
    static char copy[1 << 16];
    snprintf(copy, sizeof copy, "%s", seen);
    for (char *t = strtok_r(copy, "\n", &save); t && nl < 255; t = strtok_r(NULL, "\n", &save))
        lines[nl++] = t;
    lines[nl++] = line;
    for (int i = 1; i < nl; i++)
        for (int j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
            char *x = lines[j];
            lines[j] = lines[j - 1];
            lines[j - 1] = x;
        }
    char out[1 << 16];
    out[0] = 0;
    size_t o = 0;
    for (int i = 0; i < nl; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s\n", lines[i]);
    snprintf(seen, sizeof seen, "%s", out);
}

static const char *dump(struct st_txnlog *l)
{
    seen[0] = 0;
    ck_assert_int_ge(st_txnlog_foreach(l, dump_one, NULL), 0);
    static char keep[1 << 16];
    snprintf(keep, sizeof keep, "next=%lld\n%s", (long long)st_txnlog_next_pid(l), seen);
    return keep;
}

static void put(struct st_txnlog *l, const char *id, int64_t pid, int16_t epoch, uint8_t state,
                int nparts, const char *group)
{
    int32_t ps[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    struct st_txnlog_topic t[2] = {{"orders", 6, nparts < 8 ? nparts : 8, ps},
                                   {"pay", 3, 1, ps + 3}};
    struct st_txnlog_group g = {group, group ? strlen(group) : 0};
    struct st_txnlog_rec r = {
        .id = id,
        .id_len = strlen(id),
        .producer_id = pid,
        .last_producer_id = pid - 1,
        .epoch = epoch,
        .last_epoch = (int16_t)(epoch - 1),
        .timeout_ms = 60000,
        .state = state,
        .start_ms = 1000 + epoch,
        .update_ms = 2000 + epoch,
        .n_topics = nparts > 0 ? 2 : 0,
        .topics = t,
        .n_groups = group ? 1 : 0,
        .groups = &g,
    };
    ck_assert_int_eq(st_txnlog_put(l, &r), 0);
}

START_TEST(t_round_trip)
{
    struct st_txnlog *l = open_log();
    ck_assert_int_eq(st_txnlog_next_pid(l), 0);
    ck_assert_int_eq(st_txnlog_pid_block(l, 1000), 0);
    put(l, "a", 5, 0, 0, 0, NULL);
    put(l, "a", 5, 1, 1, 3, "grp");
    put(l, "b", 6, 0, 2, 1, NULL);
    put(l, "c", 7, 0, 0, 0, NULL);
    ck_assert_int_eq(st_txnlog_delete(l, "c", 1, 3000), 0);
    ck_assert_int_eq(st_txnlog_pid_block(l, 2000), 0);
    char want[4096];
    snprintf(want, sizeof want, "%s", dump(l));
    ck_assert_ptr_nonnull(strstr(want, "next=2000\n"));
    ck_assert_ptr_nonnull(strstr(want, "a pid=5/4 ep=1/0 to=60000 st=1 start=1001 up=2001 "
                                       "orders:0,1,2, pay:3, g=grp\n"));
    ck_assert_ptr_null(strstr(want, "\nc "));
    st_txnlog_close(l);
    l = open_log();
    ck_assert_str_eq(dump(l), want);
    /* a smaller block never lowers the next id */
    ck_assert_int_eq(st_txnlog_pid_block(l, 1500), 0);
    ck_assert_int_eq(st_txnlog_next_pid(l), 2000);
    st_txnlog_close(l);
}
END_TEST

START_TEST(t_cut_at_every_byte)
{
    struct st_txnlog *l = open_log();
    ck_assert_int_eq(st_txnlog_pid_block(l, 1000), 0);
    put(l, "a", 5, 0, 1, 2, "g1");
    char before[4096];
    snprintf(before, sizeof before, "%s", dump(l));
    size_t len0;
    free(tst_slurp(logpath, &len0));
    put(l, "a", 5, 0, 2, 5, "g1");
    put(l, "b", 9, 3, 0, 0, NULL);
    char after[4096];
    snprintf(after, sizeof after, "%s", dump(l));
    st_txnlog_close(l);
    size_t len;
    uint8_t *full = tst_slurp(logpath, &len);
    /* the first of the two later records torn at every byte: the state before it */
    size_t len1 = 0;
    for (size_t cut = len0; cut <= len; cut++) {
        tst_spit(logpath, full, cut);
        ck_assert_int_eq(truncate(logpath, (off_t)cut), 0);
        l = open_log();
        const char *d = dump(l);
        struct st_txnlog_stats s;
        st_txnlog_stats(l, &s);
        if (cut == len) {
            ck_assert_str_eq(d, after);
        } else if (strstr(d, "b pid") == NULL && strstr(d, "st=2") == NULL) {
            ck_assert_str_eq(d, before);
            ck_assert_int_eq(s.file_bytes, (int64_t)len0); /* cut back */
        } else {
            if (len1 == 0)
                len1 = cut;
            ck_assert_ptr_nonnull(strstr(d, "st=2"));
        }
        /* writes go on after the cut */
        put(l, "z", 1, 0, 0, 0, NULL);
        st_txnlog_close(l);
    }
    ck_assert_uint_gt(len1, len0);
    /* a flipped byte in the first later record: the replay ends before it */
    full[len0 + 20] ^= 1;
    tst_spit(logpath, full, len);
    ck_assert_int_eq(truncate(logpath, (off_t)len), 0);
    l = open_log();
    ck_assert_str_eq(dump(l), before);
    st_txnlog_close(l);
    free(full);
}
END_TEST

START_TEST(t_compaction)
{
    struct st_txnlog_opts o;
    st_txnlog_opts_default(&o);
    o.compact_min_bytes = 4096;
    struct st_txnlog *l;
    ck_assert_int_eq(st_txnlog_open(dir, &o, &l), 0);
    ck_assert_int_eq(st_txnlog_pid_block(l, 7000), 0);
    for (int i = 0; i < 400; i++) {
        char id[16];
        snprintf(id, sizeof id, "t%d", i % 7);
        put(l, id, 100 + i % 7, (int16_t)i, (uint8_t)(i % 6), i % 4, i % 2 ? "g" : NULL);
    }
    ck_assert_int_eq(st_txnlog_delete(l, "t3", 2, 5), 0);
    char want[8192];
    snprintf(want, sizeof want, "%s", dump(l));
    struct st_txnlog_stats s;
    st_txnlog_stats(l, &s);
    ck_assert_int_gt(s.compactions, 0); /* automatic, at twice the threshold */
    ck_assert_int_eq(s.ids, 6);
    st_txnlog_maintain(l);
    ck_assert_int_eq(st_txnlog_compact(l), 0);
    st_txnlog_stats(l, &s);
    ck_assert_int_eq(s.file_bytes, s.live_bytes + 16 + 8 + 17);
    st_txnlog_close(l);
    ck_assert_int_eq(st_txnlog_open(dir, &o, &l), 0);
    ck_assert_str_eq(dump(l), want);
    ck_assert_int_eq(st_txnlog_next_pid(l), 7000);
    st_txnlog_close(l);
}
END_TEST

START_TEST(t_bad_input)
{
    struct st_txnlog *l = open_log();
    struct st_txnlog_rec r = {.id = "x", .id_len = 0};
    ck_assert_int_eq(st_txnlog_put(l, &r), -EINVAL);
    r.id_len = ST_TXNLOG_ID_MAX + 1;
    ck_assert_int_eq(st_txnlog_put(l, &r), -EINVAL);
    r.id_len = 1;
    r.state = 8;
    ck_assert_int_eq(st_txnlog_put(l, &r), -EINVAL);
    r.state = 0;
    int32_t p = -1;
    struct st_txnlog_topic t = {"t", 1, 1, &p};
    r.n_topics = 1;
    r.topics = &t;
    ck_assert_int_eq(st_txnlog_put(l, &r), -EINVAL);
    p = 0;
    t.len = 256;
    ck_assert_int_eq(st_txnlog_put(l, &r), -EINVAL);
    t.len = 1;
    ck_assert_int_eq(st_txnlog_put(l, &r), 0);
    ck_assert_int_eq(st_txnlog_pid_block(l, 0), -EINVAL);
    st_txnlog_close(l);
    /* a damaged header: refused, nothing guessed */
    size_t len;
    uint8_t *b = tst_slurp(logpath, &len);
    b[5] ^= 1;
    tst_spit(logpath, b, len);
    free(b);
    ck_assert_int_eq(st_txnlog_open(dir, NULL, &l), -EBADMSG);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_txnlog");
    TCase *tc = tcase_create("txnlog");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_round_trip);
    tcase_add_test(tc, t_cut_at_every_byte);
    tcase_add_test(tc, t_compaction);
    tcase_add_test(tc, t_bad_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
