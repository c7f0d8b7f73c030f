/*
 * test_offsets_commit — OffsetCommit v0-5 and OffsetFetch v1-4 against a real splicelogd:
 * commits read back at every version, topics = null, per-partition errors (unknown partition,
 * metadata too large, empty group id), the top-level error of OffsetFetch v2+ (last on the
 * wire: tb_offsets decodes the exact layout), commits that survive a SIGTERM restart and a
 * kill -9, a "simple" consumer (generation -1, no member id) committing for a group that
 * has no members while a commit with a made-up generation is refused, and retention
 * (offsets.retention.minutes) removing an empty group's offsets for good. OffsetCommit v0-1,
 * which Kafka 4.0 removed but sarama still sends (v1 for every group commit, v0 from a
 * simple consumer), commit and read back like v2.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_group.h"
#include "../support/tb_kafka.h"
#include "../support/tb_offsets.h"
#include "kp_api.h"

enum {
    ERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
    ERR_OFFSET_METADATA_TOO_LARGE = 12,
    ERR_ILLEGAL_GENERATION = 22,
    ERR_INVALID_GROUP_ID = 24,
    ERR_UNKNOWN_MEMBER_ID = 25,
};

static struct tb_broker B;

static void setup(void)
{
    memset(&B, 0, sizeof B);
    tb_ck_start(&B, NULL);
}

static void teardown(void) { tb_ck_finish(&B); }

static void commit_ok(int fd, int16_t v, const char *group, const struct tb_ofs_part *parts, int n)
{
    struct tb_ofs_resp out;
    int rc = tb_offset_commit(fd, v, group, -1, "", parts, n, &out);
    ck_assert_msg(rc == 0, "OffsetCommit v%d: %s", v, strerror(-rc));
    ck_assert_int_eq(out.n, n);
    for (int i = 0; i < n; i++) {
        const struct tb_ofs_result *x = tb_ofs_find(&out, parts[i].topic, parts[i].partition);
        ck_assert_ptr_nonnull(x);
        ck_assert_msg(x->error == 0, "OffsetCommit v%d %s/%d: error %d", v, parts[i].topic,
                      parts[i].partition, x->error);
    }
}

/* Fetches (topic, partition) of group at version v; checks offset and metadata. */
static void expect_committed(int fd, int16_t v, const char *group, const char *topic, int32_t part,
                             int64_t offset, const char *meta)
{
    struct tb_ofs_part q = {.topic = topic, .partition = part};
    struct tb_ofs_resp out;
    int rc = tb_offset_fetch(fd, v, group, &q, 1, &out);
    ck_assert_msg(rc == 0, "OffsetFetch v%d: %s", v, strerror(-rc));
    ck_assert_int_eq(out.error, 0);
    ck_assert_int_eq(out.n, 1);
    ck_assert_str_eq(out.p[0].topic, topic);
    ck_assert_int_eq(out.p[0].partition, part);
    ck_assert_int_eq(out.p[0].error, 0);
    ck_assert_msg(out.p[0].offset == offset, "OffsetFetch v%d %s %s/%d: %lld, want %lld", v, group,
                  topic, part, (long long)out.p[0].offset, (long long)offset);
    ck_assert_int_ge(out.p[0].meta_len, 0); /* empty, never null */
    ck_assert_str_eq(out.p[0].metadata, meta);
}

START_TEST(commit_v2_v5_fetch_v1_v4)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 3);
    struct tb_ofs_part c2[] = {{"t", 0, 10, "from v2"}, {"t", 1, 11, NULL}};
    commit_ok(fd, 2, "g", c2, 2);
    for (int16_t v = 1; v <= 4; v++) {
        expect_committed(fd, v, "g", "t", 0, 10, "from v2");
        expect_committed(fd, v, "g", "t", 1, 11, "");
        expect_committed(fd, v, "g", "t", 2, -1, ""); /* nothing committed */
    }
    struct tb_ofs_part c5[] = {{"t", 1, 21, "from v5"}, {"t", 2, 22, ""}};
    commit_ok(fd, 5, "g", c5, 2);
    struct tb_ofs_part c3[] = {{"t", 0, 30, "v3"}};
    commit_ok(fd, 3, "g", c3, 1);
    struct tb_ofs_part c4[] = {{"t", 0, 40, "v4"}};
    commit_ok(fd, 4, "g", c4, 1);
    for (int16_t v = 1; v <= 4; v++) {
        expect_committed(fd, v, "g", "t", 0, 40, "v4");
        expect_committed(fd, v, "g", "t", 1, 21, "from v5");
        expect_committed(fd, v, "g", "t", 2, 22, "");
        expect_committed(fd, v, "other-group", "t", 0, -1, "");
    }
    /* several partitions in one fetch, answered in request order */
    struct tb_ofs_part q[] = {{"t", 2, 0, NULL}, {"t", 0, 0, NULL}, {"nope", 0, 0, NULL}};
    struct tb_ofs_resp out;
    ck_assert_int_eq(tb_offset_fetch(fd, 4, "g", q, 3, &out), 0);
    ck_assert_int_eq(out.n, 3);
    ck_assert_int_eq(out.p[0].partition, 2);
    ck_assert_int_eq(out.p[0].offset, 22);
    ck_assert_int_eq(out.p[1].partition, 0);
    ck_assert_int_eq(out.p[1].offset, 40);
    /* a topic that does not exist: -1, no error (as Kafka answers from v1 on) */
    ck_assert_str_eq(out.p[2].topic, "nope");
    ck_assert_int_eq(out.p[2].offset, -1);
    ck_assert_int_eq(out.p[2].error, 0);
    close(fd);
}
END_TEST

START_TEST(fetch_all_topics_null)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "a", 2);
    tb_ck_create_topic(fd, "b", 4);
    struct tb_ofs_part c[] = {{"b", 3, 300, "m3"}, {"a", 1, 101, NULL}, {"b", 0, 3000, NULL}};
    commit_ok(fd, 5, "all", c, 3);
    struct tb_ofs_part other[] = {{"a", 0, 7, NULL}};
    commit_ok(fd, 5, "someone-else", other, 1);
    for (int16_t v = 2; v <= 4; v++) {
        struct tb_ofs_resp out;
        ck_assert_int_eq(tb_offset_fetch(fd, v, "all", NULL, -1, &out), 0);
        ck_assert_int_eq(out.error, 0);
        ck_assert_int_eq(out.n, 3);
        /* grouped by topic, partitions ascending */
        ck_assert_str_eq(out.p[0].topic, "a");
        ck_assert_int_eq(out.p[0].partition, 1);
        ck_assert_int_eq(out.p[0].offset, 101);
        ck_assert_str_eq(out.p[1].topic, "b");
        ck_assert_int_eq(out.p[1].partition, 0);
        ck_assert_int_eq(out.p[1].offset, 3000);
        ck_assert_str_eq(out.p[2].topic, "b");
        ck_assert_int_eq(out.p[2].partition, 3);
        ck_assert_int_eq(out.p[2].offset, 300);
        ck_assert_str_eq(out.p[2].metadata, "m3");
        /* a group with nothing committed: no topics, no error */
        ck_assert_int_eq(tb_offset_fetch(fd, v, "nobody", NULL, -1, &out), 0);
        ck_assert_int_eq(out.error, 0);
        ck_assert_int_eq(out.n, 0);
    }
    close(fd);
}
END_TEST

START_TEST(per_partition_errors)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 2);
    char *big = malloc(4098);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', 4097);
    big[4097] = 0; /* 4097 bytes: one past offset.metadata.max.bytes */
    char *max = strdup(big);
    max[4096] = 0; /* exactly the limit */
    struct tb_ofs_part c[] = {
        {"t", 0, 5, "ok"},    {"t", 2, 6, NULL},  {"t", 1, 7, big},
        {"nope", 0, 8, NULL}, {"t", -1, 9, NULL},
    };
    for (int16_t v = 2; v <= 5; v++) {
        struct tb_ofs_resp out;
        ck_assert_int_eq(tb_offset_commit(fd, v, "g", -1, "", c, 5, &out), 0);
        ck_assert_int_eq(out.n, 5);
        ck_assert_int_eq(tb_ofs_find(&out, "t", 0)->error, 0);
        ck_assert_int_eq(tb_ofs_find(&out, "t", 2)->error, ERR_UNKNOWN_TOPIC_OR_PARTITION);
        ck_assert_int_eq(tb_ofs_find(&out, "t", 1)->error, ERR_OFFSET_METADATA_TOO_LARGE);
        ck_assert_int_eq(tb_ofs_find(&out, "nope", 0)->error, ERR_UNKNOWN_TOPIC_OR_PARTITION);
        ck_assert_int_eq(tb_ofs_find(&out, "t", -1)->error, ERR_UNKNOWN_TOPIC_OR_PARTITION);
    }
    /* the good one is committed, the refused ones are not */
    expect_committed(fd, 4, "g", "t", 0, 5, "ok");
    expect_committed(fd, 4, "g", "t", 1, -1, "");
    /* metadata of exactly the limit is taken and read back whole */
    struct tb_ofs_part m[] = {{"t", 1, 77, max}};
    commit_ok(fd, 5, "g", m, 1);
    struct tb_ofs_part q = {.topic = "t", .partition = 1};
    struct tb_ofs_resp out;
    ck_assert_int_eq(tb_offset_fetch(fd, 4, "g", &q, 1, &out), 0);
    ck_assert_int_eq(out.p[0].offset, 77);
    ck_assert_int_eq(out.p[0].meta_len, 4096);

    /* an empty group id: every commit partition, the fetch's top-level error (v2+) */
    struct tb_ofs_part e[] = {{"t", 0, 1, NULL}, {"t", 1, 2, NULL}};
    for (int16_t v = 2; v <= 5; v++) {
        ck_assert_int_eq(tb_offset_commit(fd, v, "", -1, "", e, 2, &out), 0);
        ck_assert_int_eq(out.n, 2);
        ck_assert_int_eq(out.p[0].error, ERR_INVALID_GROUP_ID);
        ck_assert_int_eq(out.p[1].error, ERR_INVALID_GROUP_ID);
    }
    for (int16_t v = 2; v <= 4; v++) {
        ck_assert_int_eq(tb_offset_fetch(fd, v, "", e, 2, &out), 0);
        ck_assert_int_eq(out.error, ERR_INVALID_GROUP_ID);
        ck_assert_int_eq(out.n, 0);
        ck_assert_int_eq(tb_offset_fetch(fd, v, "", NULL, -1, &out), 0);
        ck_assert_int_eq(out.error, ERR_INVALID_GROUP_ID);
    }
    ck_assert_int_eq(tb_offset_fetch(fd, 1, "", e, 2, &out), 0); /* v1: per partition */
    ck_assert_int_eq(out.n, 2);
    ck_assert_int_eq(out.p[0].error, ERR_INVALID_GROUP_ID);
    ck_assert_int_eq(out.p[0].offset, -1);
    free(big);
    free(max);
    close(fd);
}
END_TEST

START_TEST(survive_sigterm_and_kill9)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 4);
    struct tb_ofs_part c[] = {{"t", 0, 100, "zero"}, {"t", 3, 103, NULL}};
    commit_ok(fd, 5, "durable", c, 2);
    close(fd);
    tb_ck_stop_clean(&B);
    tb_ck_start(&B, NULL);
    fd = tb_ck_connect(&B);
    expect_committed(fd, 4, "durable", "t", 0, 100, "zero");
    expect_committed(fd, 4, "durable", "t", 3, 103, "");
    /* many commits, the last ones acknowledged just before a kill -9 */
    for (int i = 0; i < 200; i++) {
        struct tb_ofs_part k[] = {{"t", i % 4, 1000 + i, i % 2 ? "odd" : "even"}};
        commit_ok(fd, i % 2 ? 5 : 2, "durable", k, 1);
    }
    close(fd);
    ck_assert_int_eq(tb_broker_stop(&B, SIGKILL) & 0x7f, SIGKILL);
    tb_ck_start(&B, NULL);
    fd = tb_ck_connect(&B);
    for (int p = 0; p < 4; p++) {
        int i = 196 + p; /* the last commit of partition p */
        expect_committed(fd, 1, "durable", "t", p, 1000 + i, i % 2 ? "odd" : "even");
    }
    /* and commits go on after the recovery */
    struct tb_ofs_part more[] = {{"t", 1, 5000, NULL}};
    commit_ok(fd, 5, "durable", more, 1);
    expect_committed(fd, 4, "durable", "t", 1, 5000, "");
    close(fd);
}
END_TEST

START_TEST(simple_consumer_without_members)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 1);
    /* generation -1, no member id: allowed, the group has no members */
    struct tb_ofs_part c[] = {{"t", 0, 42, "simple"}};
    commit_ok(fd, 5, "simple-group", c, 1);
    commit_ok(fd, 2, "simple-group", c, 1);
    expect_committed(fd, 4, "simple-group", "t", 0, 42, "simple");
    /* a generation and member the coordinator never handed out: refused, nothing stored */
    struct tb_ofs_part bad[] = {{"t", 0, 99, NULL}};
    struct tb_ofs_resp out;
    ck_assert_int_eq(tb_offset_commit(fd, 5, "simple-group", 7, "made-up-member", bad, 1, &out), 0);
    ck_assert_int_eq(out.n, 1);
    ck_assert_msg(out.p[0].error == ERR_ILLEGAL_GENERATION ||
                      out.p[0].error == ERR_UNKNOWN_MEMBER_ID,
                  "commit by an unknown member: error %d", out.p[0].error);
    expect_committed(fd, 4, "simple-group", "t", 0, 42, "simple");
    close(fd);
}
END_TEST

START_TEST(retention_expires_empty_groups)
{
    /* offsets.retention.minutes=0: a group without members loses its offsets at the next
     * retention check (every 100 ms here) */
    tb_ck_stop_clean(&B);
    const char *const extra[] = {"-o", "offsets.retention.minutes=0", "-o",
                                 "log.retention.check.interval.ms=100", NULL};
    tb_ck_start(&B, extra);
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 1);
    struct tb_ofs_part c[] = {{"t", 0, 5, "soon gone"}};
    commit_ok(fd, 5, "ephemeral", c, 1);
    ck_assert_msg(tb_log_wait(&B, "committed offset(s) of empty groups expired", 15000),
                  "no retention log line within 15 s");
    struct tb_ofs_part q = {.topic = "t", .partition = 0};
    struct tb_ofs_resp out;
    ck_assert_int_eq(tb_offset_fetch(fd, 4, "ephemeral", &q, 1, &out), 0);
    ck_assert_int_eq(out.p[0].offset, -1);
    ck_assert_int_eq(tb_offset_fetch(fd, 4, "ephemeral", NULL, -1, &out), 0);
    ck_assert_int_eq(out.n, 0);
    close(fd);
    /* and the expiry was durable */
    tb_ck_stop_clean(&B);
    tb_ck_start(&B, NULL);
    fd = tb_ck_connect(&B);
    expect_committed(fd, 4, "ephemeral", "t", 0, -1, "");
    close(fd);
}
END_TEST

START_TEST(commit_v0_v1_as_sarama_does)
{
    /* Before: v0-1 were answered with a bare UNSUPPORTED_VERSION that no client can parse;
     * sarama's default group commits (v1) were lost. The advertised range starts at 0. */
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "old", 2);
    struct tb_frame f;
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 256, 18, 0, 900), 0);
    tb_enc_api_versions(&r, 0);
    ck_assert_int_eq(tb_call(fd, &r, 900, &f), 0);
    tb_req_free(&r);
    struct tb_api_versions av;
    ck_assert_int_eq(tb_dec_api_versions(&f, 0, &av), 0);
    tb_frame_free(&f);
    int16_t lo = -1, hi = -1;
    ck_assert(tb_api_range(&av, 8, &lo, &hi));
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, 8);

    /* a simple consumer at v0 and v1 (no generation, no member) */
    struct tb_ofs_part c0[] = {{"old", 0, 5, "v0 meta"}};
    commit_ok(fd, 0, "sarama-simple", c0, 1);
    expect_committed(fd, 1, "sarama-simple", "old", 0, 5, "v0 meta");
    struct tb_ofs_part c1[] = {{"old", 0, 6, NULL}, {"old", 1, 7, "v1"}};
    commit_ok(fd, 1, "sarama-simple", c1, 2);
    expect_committed(fd, 1, "sarama-simple", "old", 0, 6, "");
    expect_committed(fd, 4, "sarama-simple", "old", 1, 7, "v1");

    /* a group member, as sarama's consumer group: JoinGroup v0, SyncGroup v0, commits v1 */
    tb_ck_stop_clean(&B);
    const char *const extra[] = {"-o", "group.initial.rebalance.delay.ms=0", NULL};
    tb_ck_start(&B, extra);
    close(fd);
    fd = tb_ck_connect(&B);
    const struct tb_proto protos[] = {{"range", "m"}};
    struct tb_join j;
    ck_assert_int_eq(tb_join_group(fd, 0, 1, "sarama-group", 10000, 30000, "", 1, protos, &j), 0);
    ck_assert_int_eq(j.error, 0);
    const struct tb_assign as[] = {{j.member_id, "all of it"}};
    struct tb_sync sy;
    ck_assert_int_eq(tb_sync_group(fd, 0, 2, "sarama-group", j.generation, j.member_id, 1, as, &sy),
                     0);
    ck_assert_int_eq(sy.error, 0);
    struct tb_ofs_resp out;
    ck_assert_int_eq(
        tb_offset_commit(fd, 1, "sarama-group", j.generation, j.member_id, c1, 2, &out), 0);
    ck_assert_int_eq(out.n, 2);
    ck_assert_int_eq(out.p[0].error, 0);
    ck_assert_int_eq(out.p[1].error, 0);
    expect_committed(fd, 1, "sarama-group", "old", 1, 7, "v1");
    /* the generation is checked at v1 as at v2+; a v0 commit is a simple consumer's,
     * refused while the group has members */
    struct tb_ofs_part bad[] = {{"old", 0, 99, NULL}};
    ck_assert_int_eq(
        tb_offset_commit(fd, 1, "sarama-group", j.generation + 1, j.member_id, bad, 1, &out), 0);
    ck_assert_int_eq(out.p[0].error, ERR_ILLEGAL_GENERATION);
    ck_assert_int_eq(tb_offset_commit(fd, 0, "sarama-group", -1, "", bad, 1, &out), 0);
    ck_assert_int_ne(out.p[0].error, 0);
    expect_committed(fd, 1, "sarama-group", "old", 0, 6, "");
    close(fd);
}
END_TEST

START_TEST(member_commits_and_keeps_offsets_while_in_the_group)
{
    /* retention 0, checked every 100 ms: a group's offsets are kept exactly while it has
     * members */
    tb_ck_stop_clean(&B);
    const char *const extra[] = {
        "-o", "offsets.retention.minutes=0",        "-o", "log.retention.check.interval.ms=100",
        "-o", "group.initial.rebalance.delay.ms=0", NULL};
    tb_ck_start(&B, extra);
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 2);
    const struct tb_proto protos[] = {{"range", "m"}};
    struct tb_join j;
    /* JoinGroup v5 (KIP-394): MEMBER_ID_REQUIRED and an id first, then the join with it */
    ck_assert_int_eq(tb_join_group(fd, 5, 1, "members", 10000, 30000, "", 1, protos, &j), 0);
    ck_assert_int_eq(j.error, KP_ERR_MEMBER_ID_REQUIRED);
    char id[TB_GRP_ID];
    snprintf(id, sizeof id, "%s", j.member_id);
    ck_assert_int_eq(tb_join_group(fd, 5, 1, "members", 10000, 30000, id, 1, protos, &j), 0);
    ck_assert_int_eq(j.error, 0);
    const struct tb_assign as[] = {{j.member_id, "all of it"}};
    struct tb_sync sy;
    ck_assert_int_eq(tb_sync_group(fd, 3, 2, "members", j.generation, j.member_id, 1, as, &sy), 0);
    ck_assert_int_eq(sy.error, 0);

    /* the member commits with its generation, at every version */
    struct tb_ofs_part c[] = {{"t", 0, 11, "by member"}, {"t", 1, 12, NULL}};
    struct tb_ofs_resp out;
    for (int16_t v = 2; v <= 5; v++) {
        ck_assert_int_eq(tb_offset_commit(fd, v, "members", j.generation, j.member_id, c, 2, &out),
                         0);
        ck_assert_int_eq(out.n, 2);
        ck_assert_int_eq(out.p[0].error, 0);
        ck_assert_int_eq(out.p[1].error, 0);
    }
    /* a stale generation, an unknown member, and a simple consumer while there are members:
     * refused, nothing changes */
    struct tb_ofs_part bad[] = {{"t", 0, 99, NULL}};
    ck_assert_int_eq(
        tb_offset_commit(fd, 5, "members", j.generation + 1, j.member_id, bad, 1, &out), 0);
    ck_assert_int_eq(out.p[0].error, ERR_ILLEGAL_GENERATION);
    ck_assert_int_eq(tb_offset_commit(fd, 5, "members", j.generation, "stranger", bad, 1, &out), 0);
    ck_assert_int_eq(out.p[0].error, ERR_UNKNOWN_MEMBER_ID);
    ck_assert_int_eq(tb_offset_commit(fd, 5, "members", -1, "", bad, 1, &out), 0);
    ck_assert_int_ne(out.p[0].error, 0);
    expect_committed(fd, 4, "members", "t", 0, 11, "by member");

    /* while the member heartbeats, retention checks run and keep the offsets */
    for (int i = 0; i < 10; i++) {
        int16_t err = -1;
        ck_assert_int_eq(tb_heartbeat(fd, 3, 10 + i, "members", j.generation, j.member_id, &err),
                         0);
        ck_assert_int_eq(err, 0);
        usleep(150 * 1000);
        expect_committed(fd, 4, "members", "t", 0, 11, "by member");
        expect_committed(fd, 4, "members", "t", 1, 12, "");
    }
    /* the member leaves: the empty group's offsets expire at a next check */
    int16_t err = -1;
    ck_assert_int_eq(tb_leave_group(fd, 1, 30, "members", j.member_id, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_msg(tb_log_wait(&B, "committed offset(s) of empty groups expired", 15000),
                  "no retention log line within 15 s");
    expect_committed(fd, 4, "members", "t", 0, -1, "");
    close(fd);
}
END_TEST

START_TEST(sync_per_commit_pipelined)
{
    /* log.flush.interval.messages=1: each commit is answered once fdatasynced (on the admin
     * thread); pipelined commits are answered in order, and all survive a kill -9 */
    tb_ck_stop_clean(&B);
    const char *const extra[] = {"-o", "log.flush.interval.messages=1", NULL};
    tb_ck_start(&B, extra);
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "t", 4);
    enum { N = 60 };
    for (int i = 0; i < N; i++) {
        struct tb_ofs_part c[] = {{"t", i % 4, 100 + i, i % 3 ? "x" : NULL}};
        struct tb_req r;
        ck_assert_int_eq(tb_req_begin(&r, 256, 8, (int16_t)(2 + i % 4), 5000 + i), 0);
        tb_enc_offset_commit(&r, (int16_t)(2 + i % 4), "synced", -1, "", c, 1);
        ck_assert_int_eq(tb_req_send(fd, &r), 0);
        tb_req_free(&r);
    }
    for (int i = 0; i < N; i++) {
        struct tb_frame f;
        ck_assert_int_eq(tb_recv_frame(fd, &f, 1 << 20), 0);
        ck_assert_int_eq(tb_frame_corr(&f), 5000 + i); /* in request order */
        struct tb_ofs_resp out;
        ck_assert_int_eq(tb_dec_offset_commit(&f, (int16_t)(2 + i % 4), &out), 0);
        tb_frame_free(&f);
        ck_assert_int_eq(out.n, 1);
        ck_assert_int_eq(out.p[0].error, 0);
    }
    /* an invalid commit mixed in is answered at once, with its error */
    struct tb_ofs_part bad[] = {{"t", 9, 1, NULL}};
    struct tb_ofs_resp out;
    ck_assert_int_eq(tb_offset_commit(fd, 5, "synced", -1, "", bad, 1, &out), 0);
    ck_assert_int_eq(out.p[0].error, ERR_UNKNOWN_TOPIC_OR_PARTITION);
    close(fd);
    ck_assert_int_eq(tb_broker_stop(&B, SIGKILL) & 0x7f, SIGKILL);
    tb_ck_start(&B, extra);
    fd = tb_ck_connect(&B);
    for (int p = 0; p < 4; p++) {
        int i = N - 4 + p;
        expect_committed(fd, 4, "synced", "t", p, 100 + i, i % 3 ? "x" : "");
    }
    close(fd);
}
END_TEST

START_TEST(wide_group_metadata_grows_the_response)
{
    /* 200 partitions with 300-byte metadata: 60 KB of metadata, past the first guess of the
     * response arena, fetched by name and with topics = null */
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "wide", 200);
    static struct tb_ofs_part c[200];
    static char meta[200][301];
    for (int i = 0; i < 200; i++) {
        memset(meta[i], 'a' + i % 26, 300);
        meta[i][300] = 0;
        c[i] = (struct tb_ofs_part){"wide", i, 1000 + i, meta[i]};
    }
    commit_ok(fd, 5, "wide-group", c, 200);
    static struct tb_ofs_resp out;
    ck_assert_int_eq(tb_offset_fetch(fd, 4, "wide-group", NULL, -1, &out), 0);
    ck_assert_int_eq(out.error, 0);
    ck_assert_int_eq(out.n, 200);
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(out.p[i].partition, i);
        ck_assert_int_eq(out.p[i].offset, 1000 + i);
        ck_assert_int_eq(out.p[i].meta_len, 300);
        ck_assert_int_eq(out.p[i].metadata[0], 'a' + i % 26);
    }
    for (int16_t v = 1; v <= 4; v++) {
        ck_assert_int_eq(tb_offset_fetch(fd, v, "wide-group", c, 200, &out), 0);
        ck_assert_int_eq(out.n, 200);
        for (int i = 0; i < 200; i++) {
            ck_assert_int_eq(out.p[i].offset, 1000 + i);
            ck_assert_int_eq(out.p[i].meta_len, 300);
        }
    }
    close(fd);
}
END_TEST

/* DeleteTopics removes the topic's committed offsets before it answers (the default retention
 * check, 5 minutes away, plays no part), so a topic created again at once starts clean. */
START_TEST(deleted_topic_loses_its_offsets)
{
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "doomed", 2);
    tb_ck_create_topic(fd, "kept", 1);
    struct tb_ofs_part c[] = {{"doomed", 0, 7, NULL}, {"doomed", 1, 8, NULL}, {"kept", 0, 9, NULL}};
    commit_ok(fd, 5, "g", c, 3);
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 256, 20, 3, 777), 0);
    tb_enc_delete_topics(&r, 3, "doomed", 10000);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(fd, &r, 777, &f), 0);
    tb_req_free(&r);
    int16_t err = -1;
    ck_assert_int_eq(tb_dec_delete_topics(&f, 3, &err), 0);
    tb_frame_free(&f);
    ck_assert_int_eq(err, 0);
    ck_assert_msg(tb_log_contains(&B, "deleted topic doomed: 2 committed offset(s) removed"),
                  "no removal log line by the time DeleteTopics answered");
    /* recreated, the topic starts without the old offsets; the other topic keeps its own */
    tb_ck_create_topic(fd, "doomed", 2);
    expect_committed(fd, 4, "g", "doomed", 0, -1, "");
    expect_committed(fd, 4, "g", "doomed", 1, -1, "");
    expect_committed(fd, 4, "g", "kept", 0, 9, "");
    close(fd);
}
END_TEST

START_TEST(topic_created_after_a_refused_commit)
{
    /* a commit for a topic that does not exist yet is refused and leaves nothing behind; once
     * the topic exists, its partitions take commits (and only those in range) */
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "now", 1);
    struct tb_ofs_part early[] = {{"later", 0, 50, "early"}, {"now", 0, 5, NULL}};
    struct tb_ofs_resp out;
    for (int16_t v = 2; v <= 5; v++) {
        ck_assert_int_eq(tb_offset_commit(fd, v, "grp", -1, "", early, 2, &out), 0);
        ck_assert_int_eq(out.n, 2);
        ck_assert_int_eq(tb_ofs_find(&out, "later", 0)->error, ERR_UNKNOWN_TOPIC_OR_PARTITION);
        ck_assert_int_eq(tb_ofs_find(&out, "now", 0)->error, 0);
    }
    tb_ck_create_topic(fd, "later", 2);
    for (int16_t v = 1; v <= 4; v++)
        expect_committed(fd, v, "grp", "later", 0, -1, "");
    struct tb_ofs_part c[] = {{"later", 1, 60, "m"}, {"later", 2, 70, NULL}};
    ck_assert_int_eq(tb_offset_commit(fd, 5, "grp", -1, "", c, 2, &out), 0);
    ck_assert_int_eq(tb_ofs_find(&out, "later", 1)->error, 0);
    ck_assert_int_eq(tb_ofs_find(&out, "later", 2)->error, ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(tb_offset_fetch(fd, 4, "grp", NULL, -1, &out), 0);
    ck_assert_int_eq(out.error, 0);
    ck_assert_int_eq(out.n, 2);
    ck_assert_str_eq(out.p[0].topic, "later");
    ck_assert_int_eq(out.p[0].partition, 1);
    ck_assert_int_eq(out.p[0].offset, 60);
    ck_assert_str_eq(out.p[1].topic, "now");
    ck_assert_int_eq(out.p[1].offset, 5);
    close(fd);
}
END_TEST

START_TEST(fetch_repeated_partitions_answered_once)
{
    /* A partition asked for many times is answered once, as Kafka does (its answer is a map):
     * 4 request bytes must not buy a copy of 4 KiB of metadata each, which would let a small
     * request make the broker build a response thousands of times its size. */
    int fd = tb_ck_connect(&B);
    tb_ck_create_topic(fd, "x", 2);
    tb_ck_create_topic(fd, "y", 1);
    char *meta = malloc(4097);
    ck_assert_ptr_nonnull(meta);
    memset(meta, 'm', 4096);
    meta[4096] = 0;
    struct tb_ofs_part c[] = {{"x", 0, 10, meta}, {"y", 0, 20, NULL}};
    commit_ok(fd, 5, "rep", c, 2);
    enum { N = 200 };
    struct tb_ofs_part q[N];
    for (int i = 0; i < N; i++) /* x:[0, 0, ..., 1], y:[0], x:[0, ...] and so on */
        q[i] = (struct tb_ofs_part){.topic = i % 50 == 49 ? "y" : "x", .partition = i == 10};
    for (int16_t v = 1; v <= 4; v++) {
        struct tb_ofs_resp out;
        ck_assert_int_eq(tb_offset_fetch(fd, v, "rep", q, N, &out), 0);
        ck_assert_int_eq(out.error, 0);
        ck_assert_int_eq(out.n, 3);
        const struct tb_ofs_result *x0 = tb_ofs_find(&out, "x", 0);
        ck_assert_ptr_nonnull(x0);
        ck_assert_int_eq(x0->offset, 10);
        ck_assert_int_eq(x0->meta_len, 4096);
        ck_assert_int_eq(tb_ofs_find(&out, "x", 1)->offset, -1);
        ck_assert_int_eq(tb_ofs_find(&out, "y", 0)->offset, 20);
    }
    free(meta);
    close(fd);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("offsets_commit");
    TCase *tc = tcase_create("offsets_commit");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, commit_v2_v5_fetch_v1_v4);
    tcase_add_test(tc, fetch_all_topics_null);
    tcase_add_test(tc, per_partition_errors);
    tcase_add_test(tc, survive_sigterm_and_kill9);
    tcase_add_test(tc, simple_consumer_without_members);
    tcase_add_test(tc, retention_expires_empty_groups);
    tcase_add_test(tc, member_commits_and_keeps_offsets_while_in_the_group);
    tcase_add_test(tc, commit_v0_v1_as_sarama_does);
    tcase_add_test(tc, sync_per_commit_pipelined);
    tcase_add_test(tc, wide_group_metadata_grows_the_response);
    tcase_add_test(tc, deleted_topic_loses_its_offsets);
    tcase_add_test(tc, topic_created_after_a_refused_commit);
    tcase_add_test(tc, fetch_repeated_partitions_answered_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
