/*
 * test_cotopic — the internal topic __consumer_offsets (broker/coord/br_cotopic.h) against a
 * real splicelogd, read back and decoded here with kp_buf alone from Kafka's record formats:
 * - It appears at the first commit (or a Metadata request with auto-creation), as in Kafka,
 *   and Metadata lists it with 50 partitions (offsets.topic.num.partitions) and is_internal;
 *   an ordinary topic is not internal.
 * - One OffsetCommit of three partitions is one batch of three records in the group's
 *   partition (abs(Java hashCode) % 50): key v1 (group, topic, partition), value v3 (offset,
 *   leader epoch -1, metadata, commit timestamp); OffsetDelete appends the key's tombstone;
 *   DeleteGroups appends the tombstones of the group's other keys and of its GroupMetadataKey
 *   (v2).
 * - Groups land where Kafka puts them: "polygenelubricants" (hashCode INT32_MIN) in 0, a
 *   group with Latin-1 letters and one with an emoji (a UTF-16 surrogate pair) where Java's
 *   hash of their UTF-16 units puts them.
 * - Produce to it answers INVALID_TOPIC_EXCEPTION, as Kafka does for internal topics.
 * Before: there was no such topic (Metadata: UNKNOWN_TOPIC_OR_PARTITION).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"
#include "../support/tb_offsets.h"
#include "../support/tb_sasl.h"
#include "kp_api.h"
#include "kp_buf.h"
#include "kp_msg_groups_admin.h"

#define CO "__consumer_offsets"

static struct tb_broker B;

static void setup(void)
{
    memset(&B, 0, sizeof B);
    tb_ck_start(&B, NULL);
}

static void teardown(void) { tb_ck_finish(&B); }

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A record of __consumer_offsets, decoded. */
struct co_rec {
    int64_t offset, timestamp;
    int16_t key_version;
    char group[64], topic[64];
    int32_t partition;
    bool tombstone;
    int16_t value_version;
    int64_t committed;
    int32_t leader_epoch;
    char metadata[64];
    int64_t commit_ts;
};

struct co_recs {
    int n;
    struct co_rec r[32];
};

static void rd_cstr(struct kp_rd *rd, char *out, size_t cap)
{
    struct kp_str s = kp_rd_str(rd);
    ck_assert(kp_rd_ok(rd) && s.len >= 0 && (size_t)s.len < cap);
    memcpy(out, s.ptr, (size_t)s.len);
    out[s.len] = 0;
}

static int collect(void *ctx, const struct tb_rec_view *v)
{
    struct co_recs *rs = ctx;
    ck_assert_int_lt(rs->n, 32);
    struct co_rec *r = &rs->r[rs->n++];
    memset(r, 0, sizeof *r);
    r->offset = v->offset;
    r->timestamp = v->timestamp;
    ck_assert_int_ge(v->key.len, 2);
    struct kp_rd rd;
    kp_rd_init(&rd, v->key.ptr, (size_t)v->key.len);
    r->key_version = kp_rd_i16(&rd);
    rd_cstr(&rd, r->group, sizeof r->group);
    if (r->key_version <= 1) {
        rd_cstr(&rd, r->topic, sizeof r->topic);
        r->partition = kp_rd_i32(&rd);
    }
    ck_assert(kp_rd_ok(&rd) && kp_rd_left(&rd) == 0);
    r->tombstone = v->value.len < 0;
    if (r->tombstone)
        return 0;
    kp_rd_init(&rd, v->value.ptr, (size_t)v->value.len);
    r->value_version = kp_rd_i16(&rd);
    ck_assert_int_eq(r->value_version, 3);
    r->committed = kp_rd_i64(&rd);
    r->leader_epoch = kp_rd_i32(&rd);
    rd_cstr(&rd, r->metadata, sizeof r->metadata);
    r->commit_ts = kp_rd_i64(&rd);
    ck_assert(kp_rd_ok(&rd) && kp_rd_left(&rd) == 0);
    return 0;
}

/* Every record of __consumer_offsets-part from offset 0 (a few fetches at most). */
static void read_part(int fd, int32_t part, struct co_recs *rs)
{
    memset(rs, 0, sizeof *rs);
    int64_t next = 0;
    for (int round = 0; round < 8; round++) {
        struct tb_fetch_args a = {.max_wait_ms = 0,
                                  .min_bytes = 0,
                                  .max_bytes = 1 << 20,
                                  .topic = CO,
                                  .partition = part,
                                  .offset = next,
                                  .partition_max_bytes = 1 << 20};
        struct tb_frame f;
        struct tb_fetch_resp fr;
        ck_assert_int_eq(tb_fetch(fd, &a, &f, &fr), 0);
        ck_assert_int_eq(fr.error, 0);
        int before = rs->n;
        if (fr.records_len > 0)
            ck_assert_int_ge(tb_records_walk(fr.records, (size_t)fr.records_len, collect, rs, NULL),
                             0);
        /* records below the fetch offset are in the first batch again: drop them */
        int k = before;
        for (int i = before; i < rs->n; i++)
            if (rs->r[i].offset >= next)
                rs->r[k++] = rs->r[i];
        rs->n = k;
        int64_t hw = fr.high_watermark;
        tb_frame_free(&f);
        if (rs->n > 0)
            next = rs->r[rs->n - 1].offset + 1;
        if (next >= hw)
            return;
    }
    ck_abort_msg("%s-%d not read to its end", CO, part);
}

static void commit(int fd, const char *group, const struct tb_ofs_part *parts, int n)
{
    struct tb_ofs_resp out;
    ck_assert_int_eq(tb_offset_commit(fd, 2, group, -1, "", parts, n, &out), 0);
    ck_assert_int_eq(out.n, n);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(out.p[i].error, 0);
}

/* Metadata of __consumer_offsets and "plain" (auto-creation as asked). */
static void md(int fd, bool auto_create, struct tb_metadata *m, int *co, int *plain)
{
    const char *names[] = {CO, "plain"};
    ck_assert_int_eq(tb_metadata(fd, names, 2, auto_create, m), 0);
    *co = tb_md_topic(m, CO);
    *plain = tb_md_topic(m, "plain");
    ck_assert_int_ge(*co, 0);
    ck_assert_int_ge(*plain, 0);
}

START_TEST(created_at_the_first_commit)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "plain", 1);
    struct tb_metadata *m = calloc(1, sizeof *m);
    ck_assert_ptr_nonnull(m);
    int i, j;
    md(fd, false, m, &i, &j);
    ck_assert_int_eq(m->topic[i].error, 3); /* not before a group needs it, as in Kafka */
    struct tb_ofs_part p = {"plain", 0, 1, NULL};
    struct tb_ofs_resp out;
    ck_assert_int_eq(tb_offset_commit(fd, 2, "first", -1, "", &p, 1, &out), 0);
    ck_assert_int_eq(out.p[0].error, 0);
    md(fd, false, m, &i, &j);
    ck_assert_int_eq(m->topic[i].error, 0);
    ck_assert(m->topic[i].internal);
    ck_assert_int_eq(m->topic[i].n_parts, 50);
    ck_assert(!m->topic[j].internal);
    free(m);
    close(fd);
}
END_TEST

/* A Metadata request with auto-creation creates it as Kafka does: its own partition count,
 * internal; the first commit then lands in it. */
START_TEST(auto_created_with_its_own_settings)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "plain", 1);
    struct tb_metadata *m = calloc(1, sizeof *m);
    ck_assert_ptr_nonnull(m);
    int i, j;
    md(fd, true, m, &i, &j);
    if (m->topic[i].error == 5) /* LEADER_NOT_AVAILABLE while it is created */
        md(fd, false, m, &i, &j);
    ck_assert_int_eq(m->topic[i].error, 0);
    ck_assert(m->topic[i].internal);
    ck_assert_int_eq(m->topic[i].n_parts, 50);
    free(m);
    struct tb_ofs_part p = {"plain", 0, 9, NULL};
    struct tb_ofs_resp out;
    ck_assert_int_eq(tb_offset_commit(fd, 2, "g1", -1, "", &p, 1, &out), 0); /* partition 42 */
    ck_assert_int_eq(out.p[0].error, 0);
    struct co_recs *rs = calloc(1, sizeof *rs);
    ck_assert_ptr_nonnull(rs);
    read_part(fd, 42, rs);
    ck_assert_int_eq(rs->n, 1);
    ck_assert_int_eq(rs->r[0].committed, 9);
    free(rs);
    close(fd);
}
END_TEST

START_TEST(commits_and_deletes_in_kafka_format)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "ct", 3);
    const char *g = "cotopic-g1"; /* Java hashCode -1996290444: partition 44 */
    int64_t t0 = now_ms();
    struct tb_ofs_part parts[] = {{"ct", 0, 5, "m0"}, {"ct", 1, 6, "m1"}, {"ct", 2, 7, ""}};
    commit(fd, g, parts, 3);
    int64_t t1 = now_ms();

    struct co_recs *rs = calloc(1, sizeof *rs);
    ck_assert_ptr_nonnull(rs);
    read_part(fd, 44, rs);
    ck_assert_int_eq(rs->n, 3);
    for (int i = 0; i < 3; i++) {
        const struct co_rec *r = &rs->r[i];
        ck_assert_int_eq(r->offset, i);
        ck_assert_int_eq(r->key_version, 1);
        ck_assert_str_eq(r->group, g);
        ck_assert_str_eq(r->topic, "ct");
        ck_assert_int_eq(r->partition, i);
        ck_assert(!r->tombstone);
        ck_assert_int_eq(r->committed, 5 + i);
        ck_assert_int_eq(r->leader_epoch, -1);
        ck_assert_str_eq(r->metadata, parts[i].metadata);
        ck_assert(r->commit_ts >= t0 && r->commit_ts <= t1);
        ck_assert_int_eq(r->timestamp, r->commit_ts);
    }
    /* the other partitions hold nothing */
    read_part(fd, 43, rs);
    ck_assert_int_eq(rs->n, 0);

    /* OffsetDelete ct-1: its tombstone */
    struct kp_offset_delete_req_partition dp = {1};
    struct kp_offset_delete_req_topic dt = {kp_str_of("ct"), 1, &dp};
    struct kp_offset_delete_req od = {kp_str_of(g), 1, &dt};
    struct kp_offset_delete_resp odr;
    ck_assert_int_eq(tb_kcall(fd, KP_API_OFFSET_DELETE, 0, TB_ENC(kp_offset_delete_req_encode), &od,
                              TB_DEC(kp_offset_delete_resp_decode), &odr),
                     0);
    ck_assert_int_eq(odr.error_code, 0);
    read_part(fd, 44, rs);
    ck_assert_int_eq(rs->n, 4);
    ck_assert(rs->r[3].tombstone);
    ck_assert_int_eq(rs->r[3].key_version, 1);
    ck_assert_str_eq(rs->r[3].topic, "ct");
    ck_assert_int_eq(rs->r[3].partition, 1);

    /* DeleteGroups: tombstones of ct-0 and ct-2, then of the group's metadata key (v2) */
    struct kp_str gs[] = {kp_str_of(g)};
    struct kp_delete_groups_req dg = {1, gs};
    struct kp_delete_groups_resp dgr;
    ck_assert_int_eq(tb_kcall(fd, KP_API_DELETE_GROUPS, 0, TB_ENC(kp_delete_groups_req_encode), &dg,
                              TB_DEC(kp_delete_groups_resp_decode), &dgr),
                     0);
    ck_assert_int_eq(dgr.n_results, 1);
    ck_assert_int_eq(dgr.results[0].error_code, 0);
    read_part(fd, 44, rs);
    ck_assert_int_eq(rs->n, 7);
    bool p0 = false, p2 = false;
    for (int i = 4; i < 6; i++) {
        ck_assert(rs->r[i].tombstone);
        ck_assert_int_eq(rs->r[i].key_version, 1);
        p0 |= rs->r[i].partition == 0;
        p2 |= rs->r[i].partition == 2;
    }
    ck_assert(p0 && p2);
    ck_assert(rs->r[6].tombstone);
    ck_assert_int_eq(rs->r[6].key_version, 2);
    ck_assert_str_eq(rs->r[6].group, g);
    free(rs);
    close(fd);
}
END_TEST

START_TEST(groups_where_kafka_puts_them)
{
    static const struct {
        const char *group;
        int32_t part;
    } cases[] = {
        {"polygenelubricants", 0}, /* hashCode INT32_MIN: Kafka's Utils.abs gives 0 */
        {"gr\xc3\xbc\xc3\x9f"
         "e",
         23},                      /* "grüße": 98768023 */
        {"g\xf0\x9f\x98\x80", 32}, /* "g" + U+1F600 (a surrogate pair): 1871882 */
    };
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "gt", 1);
    struct co_recs *rs = calloc(1, sizeof *rs);
    ck_assert_ptr_nonnull(rs);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tb_ofs_part p = {"gt", 0, 10 + (int64_t)i, NULL};
        commit(fd, cases[i].group, &p, 1);
        read_part(fd, cases[i].part, rs);
        ck_assert_msg(rs->n == 1, "group %zu: %d record(s) in partition %d", i, rs->n,
                      cases[i].part);
        ck_assert_str_eq(rs->r[0].group, cases[i].group);
        ck_assert_int_eq(rs->r[0].committed, 10 + (int64_t)i);
        ck_assert_str_eq(rs->r[0].metadata, ""); /* null metadata is stored as "" */
    }
    free(rs);
    close(fd);
}
END_TEST

START_TEST(produce_refused)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "pt", 1);
    struct tb_ofs_part p = {"pt", 0, 1, NULL};
    commit(fd, "pg", &p, 1); /* the topic exists from here */
    uint8_t batch[512];
    long len = tb_batch_values(batch, sizeof batch, "x", 0, 1, 0, false, 1700000000000);
    ck_assert_int_gt(len, 0);
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_produce(fd, CO, 0, batch, (size_t)len, &pr), 0);
    ck_assert_int_eq(pr.error, 17); /* INVALID_TOPIC_EXCEPTION */
    close(fd);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cotopic");
    TCase *tc = tcase_create("cotopic");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, created_at_the_first_commit);
    tcase_add_test(tc, auto_created_with_its_own_settings);
    tcase_add_test(tc, commits_and_deletes_in_kafka_format);
    tcase_add_test(tc, groups_where_kafka_puts_them);
    tcase_add_test(tc, produce_refused);
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
