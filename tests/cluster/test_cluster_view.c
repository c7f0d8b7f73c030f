/*
 * test_cluster_view — what one change in a cluster of many topics costs each broker's view
 * (issue 18: every broker learns topics and partition states through ZooKeeper watches,
 * br_clu_topics.c), against a real ZooKeeper and three brokers.
 *
 * one_change_reads_what_changed: N topics (SPLICELOG_VIEW_TOPICS, default 300; 2 partitions
 * each, one replica, spread over the brokers) are written straight into ZooKeeper (assignment
 * as Kafka's version 3 with a topic id; the controller creates their states) and awaited in
 * every broker's Metadata. Then one more topic (1 partition, 3 replicas) is created through
 * CreateTopics on broker 1, and one partition state is changed (the test moves its leader to
 * another replica of the ISR, leader epoch + 1, as a controller's election would), and the
 * new topic grows from 1 to 3 partitions through CreatePartitions on broker 2. Each step
 * is timed (until the answer, and until every broker's Metadata shows it) and printed, and
 * every broker's log lines "cluster: view G: read T topic(s) and S partition state(s)" after
 * the step are summed: a new topic costs each broker at most 2 topic reads (its assignment)
 * and a few state reads, a changed state no topic read and a few state reads, partitions
 * added at most 2 topic reads and a few state reads. Before the view
 * was rebuilt from what changed, every broker read all N + 1 topics and their states again at
 * every change (and logged no such line). No timed assertion: the figures are for the reader;
 * SPLICELOG_VIEW_FIGURES_ONLY=1 prints them without checking the reads (to time an older
 * broker, SPLICELOGD=its binary).
 *
 * deleted_and_created_again_between_reads: a topic of three replicas holding 5 records is
 * deleted and written again under the same name with another topic id in one ZooKeeper multi,
 * so no broker sees a view without it. Every replica deletes its log of the old incarnation
 * (logged) and creates the new one empty: ListOffsets on the new leader is 0, a produce lands
 * at offset 0. Before, the replicas kept the old log and its 5 records under the new id.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kp_api.h"
#include "kp_msg_cluster.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_clu.h"
#include "tb_kafka.h"
#include "tb_sasl.h"
#include "tb_zk.h"

#define SESSION_MS 10000 /* (a loaded machine must not lose its session: a full read) */
#define NBROKERS   3
#define NPARTS     2
#define SETTLE_MS  600000

static struct tb_broker B[NBROKERS + 1];
static const char *const CHROOT = "/view";

static void teardown(void)
{
    for (int i = 1; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

static int ntopics(void)
{
    const char *s = getenv("SPLICELOG_VIEW_TOPICS");
    int n = s ? atoi(s) : 300;
    return n > 0 && n <= 100000 ? n : 300;
}

/* 16 bytes as Kafka's topic id string: base64url, no padding (22 characters). */
static void id_str(const uint8_t b[16], char out[23])
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (int i = 0; i < 16; i++) {
        acc = (acc << 8) | b[i];
        bits += 8;
        while (bits >= 6) {
            out[o++] = A[(acc >> (bits - 6)) & 63];
            bits -= 6;
        }
    }
    out[o++] = A[(acc << (6 - bits)) & 63];
    out[o] = 0;
}

/* Topic i's assignment straight into ZooKeeper: NPARTS partitions on broker (i % 3) + 1. */
static void write_topic(zhandle_t *zh, int i)
{
    uint8_t raw[16];
    for (int k = 0; k < 16; k++)
        raw[k] = (uint8_t)(0x5a ^ (i >> (k % 4 * 8)) ^ k * 37);
    raw[6] = (uint8_t)((raw[6] & 0x0f) | 0x40);
    raw[8] = (uint8_t)((raw[8] & 0x3f) | 0x80);
    char id[23], path[256], doc[512];
    id_str(raw, id);
    int b = i % NBROKERS + 1;
    int n = snprintf(doc, sizeof doc,
                     "{\"version\":3,\"topic_id\":\"%s\",\"partitions\":{\"0\":[%d],\"1\":[%d]},"
                     "\"adding_replicas\":{},\"removing_replicas\":{}}",
                     id, b, b);
    snprintf(path, sizeof path, "%s/brokers/topics/v%04d", CHROOT, i);
    int rc = zoo_create(zh, path, doc, n, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    ck_assert_msg(rc == ZOK, "create %s: %s", path, zerror(rc));
}

/* Whether broker id's Metadata has every partition of topics [from, to) led. */
static bool all_led(int id, int from, int to)
{
    int fd = tb_connect(B[id].port);
    ck_assert_int_ge(fd, 0);
    bool ok = true;
    for (int i = from; ok && i < to; i += TB_MAX_TOPICS) {
        char names[TB_MAX_TOPICS][16];
        const char *ptr[TB_MAX_TOPICS];
        int n = 0;
        for (; n < TB_MAX_TOPICS && i + n < to; n++) {
            snprintf(names[n], sizeof names[n], "v%04d", i + n);
            ptr[n] = names[n];
        }
        static struct tb_metadata m;
        ck_assert_int_eq(tb_metadata(fd, ptr, n, false, &m), 0);
        for (int k = 0; ok && k < n; k++) {
            int t = tb_md_topic(&m, ptr[k]);
            ok = t >= 0 && m.topic[t].error == 0 && m.topic[t].n_parts == NPARTS;
            for (int p = 0; ok && p < NPARTS; p++)
                ok = m.topic[t].part[p].leader >= 0;
        }
    }
    close(fd);
    return ok;
}

/* The leader of topic's partition 0 in broker id's Metadata (-1: none, -2: no such topic). */
static int32_t leader_at(int id, const char *topic)
{
    const struct tb_metadata *m = tb_clu_metadata(B[id].port, topic);
    int t = tb_md_topic(m, topic);
    if (t < 0 || m->topic[t].error != 0 || m->topic[t].n_parts < 1)
        return -2;
    return m->topic[t].part[0].leader;
}

static long log_size(int id)
{
    struct stat st;
    return stat(B[id].log, &st) == 0 ? (long)st.st_size : 0;
}

/* What broker id's view rebuilds logged after byte from of its log. */
struct reads {
    int rebuilds, topics, states;
};

static struct reads reads_since(int id, long from)
{
    struct reads r = {0};
    FILE *f = fopen(B[id].log, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, from, SEEK_SET), 0);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "cluster: view ");
        unsigned long long gen;
        int t, s;
        if (p && sscanf(p, "cluster: view %llu: read %d topic(s) and %d partition state(s)", &gen,
                        &t, &s) == 3) {
            r.rebuilds++;
            r.topics += t;
            r.states += s;
        }
    }
    fclose(f);
    return r;
}

/* Waits (bounded) until no broker logged a view rebuild for 1.5 s. */
static void settle(const long from[NBROKERS + 1])
{
    int64_t until = tb_now_ms() + 20000, quiet_since = tb_now_ms();
    int last = -1;
    while (tb_now_ms() < until && tb_now_ms() - quiet_since < 1500) {
        int sum = 0;
        for (int i = 1; i <= NBROKERS; i++)
            sum += reads_since(i, from[i]).rebuilds;
        if (sum != last) {
            last = sum;
            quiet_since = tb_now_ms();
        }
        tb_sleep_ms(100);
    }
}

/* Prints every broker's reads since from[] and checks them against the bounds. */
static void check_reads(const char *what, const long from[NBROKERS + 1], int max_topics,
                        int max_states)
{
    settle(from);
    struct reads r[NBROKERS + 1];
    for (int i = 1; i <= NBROKERS; i++) {
        r[i] = reads_since(i, from[i]);
        printf("test_cluster_view: %s: broker %d: %d view rebuild(s), %d topic(s) and %d "
               "partition state(s) read\n",
               what, i, r[i].rebuilds, r[i].topics, r[i].states);
    }
    fflush(stdout);
    if (getenv("SPLICELOG_VIEW_FIGURES_ONLY"))
        return; /* (timing a broker that does not log its reads: SPLICELOGD=an older one) */
    for (int i = 1; i <= NBROKERS; i++) {
        ck_assert_msg(r[i].rebuilds >= 1, "%s: broker %d logged no view rebuild", what, i);
        ck_assert_msg(r[i].topics <= max_topics,
                      "%s: broker %d read %d topic(s) again (at most %d wanted)", what, i,
                      r[i].topics, max_topics);
        ck_assert_msg(r[i].states <= max_states,
                      "%s: broker %d read %d partition state(s) again (at most %d wanted)", what, i,
                      r[i].states, max_states);
    }
}

/* CreateTopics of topic (1 partition, rf 3, 10 s) through broker id; its error code. */
static int16_t create_timed(int id, const char *topic)
{
    int fd = tb_connect(B[id].port);
    ck_assert_int_ge(fd, 0);
    struct tb_req rr;
    ck_assert_int_eq(tb_req_begin(&rr, 256, 19, 4, 91), 0);
    tb_enc_create_topics(&rr, 4, topic, 1, 3, 10000, false);
    struct tb_frame ff;
    int rc = tb_call(fd, &rr, 91, &ff);
    tb_req_free(&rr);
    close(fd);
    ck_assert_msg(rc == 0, "CreateTopics %s: no answer (%d)", topic, rc);
    int16_t err = -1;
    ck_assert_int_eq(tb_dec_create_topics(&ff, 4, &err), 0);
    tb_frame_free(&ff);
    return err;
}

/* Waits (bounded) until every broker's Metadata names want the leader of topic's partition 0;
 * the milliseconds since t0. */
static int64_t wait_leader_everywhere(const char *topic, int32_t want, int64_t t0)
{
    int64_t until = tb_now_ms() + 60000;
    for (int i = 1; i <= NBROKERS; i++)
        for (;;) {
            int32_t l = leader_at(i, topic);
            if (want >= 0 ? l == want : l >= 0)
                break;
            ck_assert_msg(tb_now_ms() < until, "broker %d: leader of %s is %d", i, topic, l);
            tb_sleep_ms(10);
        }
    return tb_now_ms() - t0;
}

/* CreatePartitions v2 of topic to total partitions (placed by the broker, 10 s) through broker
 * id; its error code. */
static int16_t add_partitions(int id, const char *topic, int32_t total)
{
    int fd = tb_connect(B[id].port);
    ck_assert_int_ge(fd, 0);
    struct kp_create_partitions_topic t = {
        .name = kp_str_of(topic), .count = total, .n_assignments = -1};
    struct kp_create_partitions_req req = {.n_topics = 1, .topics = &t, .timeout_ms = 10000};
    struct kp_create_partitions_resp resp;
    ck_assert_int_eq(tb_kcall(fd, KP_API_CREATE_PARTITIONS, 2,
                              TB_ENC(kp_create_partitions_req_encode), &req,
                              TB_DEC(kp_create_partitions_resp_decode), &resp),
                     0);
    close(fd);
    ck_assert_int_eq(resp.n_results, 1);
    return resp.results[0].error_code;
}

/* Waits (bounded) until every broker's Metadata has topic with np partitions, each led. */
static void wait_partitions_everywhere(const char *topic, int32_t np)
{
    int64_t until = tb_now_ms() + 60000;
    for (int i = 1; i <= NBROKERS; i++)
        for (;;) {
            const struct tb_metadata *m = tb_clu_metadata(B[i].port, topic);
            int t = tb_md_topic(m, topic);
            bool ok = t >= 0 && m->topic[t].error == 0 && m->topic[t].n_parts == np;
            for (int p = 0; ok && p < np; p++)
                ok = m->topic[t].part[p].leader >= 0;
            if (ok)
                break;
            ck_assert_msg(tb_now_ms() < until, "broker %d: %s not %d partitions led", i, topic, np);
            tb_sleep_ms(10);
        }
}

/* The value of "key":[...] in json (with the brackets) into out; false when missing. */
static bool json_array(const char *json, const char *key, char *out, size_t cap)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(json, k);
    const char *e = p ? strchr(p, ']') : NULL;
    if (!p || !e || (size_t)(e + 1 - (p + strlen(k))) >= cap)
        return false;
    p += strlen(k);
    memcpy(out, p, (size_t)(e + 1 - p));
    out[e + 1 - p] = 0;
    return true;
}

START_TEST(one_change_reads_what_changed)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_view");
    const int n = ntopics();
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_zk_broker_start(&B[i], &tb_clu_zk, CHROOT, i, SESSION_MS, NULL, NULL),
                         0);
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    ck_assert_ptr_nonnull(zh);

    /* N topics, straight into ZooKeeper; every broker's Metadata has them led */
    int64_t t0 = tb_now_ms();
    for (int i = 0; i < n; i++)
        write_topic(zh, i);
    int64_t until = tb_now_ms() + SETTLE_MS;
    for (int i = 1; i <= NBROKERS; i++)
        while (!all_led(i, 0, n)) {
            ck_assert_msg(tb_now_ms() < until, "broker %d: not every topic led", i);
            tb_sleep_ms(500);
        }
    printf("test_cluster_view: %d topics of %d partitions seen led by every broker in %lld ms\n", n,
           NPARTS, (long long)(tb_now_ms() - t0));
    fflush(stdout);
    long from[NBROKERS + 1];
    for (int i = 1; i <= NBROKERS; i++)
        from[i] = 0;
    settle(from);

    /* one more topic through CreateTopics */
    for (int i = 1; i <= NBROKERS; i++)
        from[i] = log_size(i);
    t0 = tb_now_ms();
    int16_t err = create_timed(1, "view-new");
    int64_t answered = tb_now_ms() - t0;
    int64_t seen = wait_leader_everywhere("view-new", -1, t0);
    printf("test_cluster_view: CreateTopics with %d topics there: answered in %lld ms (error %d), "
           "led in every broker's Metadata after %lld ms\n",
           n, (long long)answered, err, (long long)seen);
    fflush(stdout);
    ck_assert_msg(err == 0, "CreateTopics view-new: error %d", err);
    check_reads("a new topic", from, 2, 8);

    /* one partition state changed: its leader moved to another replica of the ISR */
    char path[256], isr[128], doc[512];
    snprintf(path, sizeof path, "%s/brokers/topics/view-new/partitions/0/state", CHROOT);
    int32_t moved = -1;
    for (int attempt = 0; attempt < 20 && moved < 0; attempt++) {
        struct Stat st;
        const char *json = tb_zk_get(zh, path, &st);
        ck_assert_ptr_nonnull(json);
        long leader = tb_zk_json_int(json, "leader");
        long epoch = tb_zk_json_int(json, "leader_epoch");
        long cepoch = tb_zk_json_int(json, "controller_epoch");
        ck_assert_msg(json_array(json, "isr", isr, sizeof isr), "no isr in %s", json);
        int32_t to = (int32_t)(leader % NBROKERS + 1);
        char mark[16];
        snprintf(mark, sizeof mark, "%d", (int)to);
        if (!strstr(isr, mark)) { /* (a follower out of the ISR for now) */
            tb_sleep_ms(200);
            continue;
        }
        int dl = snprintf(doc, sizeof doc,
                          "{\"controller_epoch\":%ld,\"leader\":%d,\"version\":1,"
                          "\"leader_epoch\":%ld,\"isr\":%s}",
                          cepoch, (int)to, epoch + 1, isr);
        for (int i = 1; i <= NBROKERS; i++)
            from[i] = log_size(i);
        t0 = tb_now_ms();
        int rc = zoo_set(zh, path, doc, dl, st.version);
        if (rc == ZBADVERSION)
            continue; /* (its leader wrote an ISR change meanwhile) */
        ck_assert_msg(rc == ZOK, "set %s: %s", path, zerror(rc));
        moved = to;
    }
    ck_assert_int_ge(moved, 1);
    seen = wait_leader_everywhere("view-new", moved, t0);
    printf("test_cluster_view: a partition state changed with %d topics there: its new leader in "
           "every broker's Metadata after %lld ms\n",
           n + 1, (long long)seen);
    fflush(stdout);
    check_reads("a changed state", from, 0, 4);

    /* partitions added: the topic's assignment changed */
    for (int i = 1; i <= NBROKERS; i++)
        from[i] = log_size(i);
    t0 = tb_now_ms();
    err = add_partitions(2, "view-new", 3);
    answered = tb_now_ms() - t0;
    wait_partitions_everywhere("view-new", 3);
    printf("test_cluster_view: CreatePartitions (1 to 3) with %d topics there: answered in %lld "
           "ms (error %d), led in every broker's Metadata after %lld ms\n",
           n + 1, (long long)answered, err, (long long)(tb_now_ms() - t0));
    fflush(stdout);
    ck_assert_msg(err == 0, "CreatePartitions view-new: error %d", err);
    check_reads("partitions added", from, 2, 12);
    zookeeper_close(zh);
}
END_TEST

/* ListOffsets latest of topic/0 on broker id, retried (bounded) while it answers an error (a
 * leader not told yet); the offset. */
static int64_t log_end(int id, const char *topic)
{
    int64_t until = tb_now_ms() + 60000;
    for (;;) {
        int fd = tb_connect(B[id].port);
        ck_assert_int_ge(fd, 0);
        struct tb_list_offsets_resp r;
        int rc = tb_list_offsets(fd, topic, 0, -1, &r);
        close(fd);
        if (rc == 0 && r.error == 0)
            return r.offset;
        ck_assert_msg(tb_now_ms() < until, "ListOffsets %s on broker %d: %d / error %d", topic, id,
                      rc, r.error);
        tb_sleep_ms(100);
    }
}

START_TEST(deleted_and_created_again_between_reads)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_view");
    const char *chroot = "/view-again";
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_zk_broker_start(&B[i], &tb_clu_zk, chroot, i, SESSION_MS, NULL, NULL),
                         0);
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    ck_assert_ptr_nonnull(zh);
    tb_clu_create_topic(B[1].port, "again", 1, 3);
    wait_leader_everywhere("again", -1, tb_now_ms());
    int32_t lead = leader_at(1, "again");
    ck_assert_int_ge(lead, 1);
    int fd = tb_connect(B[lead].port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_ck_produce_seq(fd, "again", 0, "old", 0, 5, 16), 0);
    close(fd);
    ck_assert_int_eq(log_end(lead, "again"), 5);

    /* one multi: the topic's znodes deleted and its assignment written again with another topic
     * id; every broker sees the two at once (no view without the topic in between) */
    char tp[128], pp[160], p0[176], sp[192];
    snprintf(tp, sizeof tp, "%s/brokers/topics/again", chroot);
    snprintf(pp, sizeof pp, "%s/partitions", tp);
    snprintf(p0, sizeof p0, "%s/0", pp);
    snprintf(sp, sizeof sp, "%s/state", p0);
    const char *doc = "{\"version\":3,\"topic_id\":\"q2VX8hZ0QmOkK3f1T0aAbw\","
                      "\"partitions\":{\"0\":[1,2,3]},\"adding_replicas\":{},"
                      "\"removing_replicas\":{}}";
    zoo_op_t ops[5];
    zoo_op_result_t res[5];
    zoo_delete_op_init(&ops[0], sp, -1);
    zoo_delete_op_init(&ops[1], p0, -1);
    zoo_delete_op_init(&ops[2], pp, -1);
    zoo_delete_op_init(&ops[3], tp, -1);
    zoo_create_op_init(&ops[4], tp, doc, (int)strlen(doc), &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    int rc = zoo_multi(zh, 5, ops, res);
    ck_assert_msg(rc == ZOK, "multi: %s", zerror(rc));
    zookeeper_close(zh);

    /* every replica drops the old incarnation's log and holds the new one, empty, led */
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_msg(tb_log_wait(&B[i], "topic again deleted here: created again", 60000),
                      "broker %d kept the old incarnation of again", i);
    wait_leader_everywhere("again", -1, tb_now_ms());
    lead = leader_at(1, "again");
    ck_assert_int_ge(lead, 1);
    ck_assert_int_eq(log_end(lead, "again"), 0);
    fd = tb_connect(B[lead].port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_ck_produce_seq(fd, "again", 0, "new", 0, 3, 16), 0);
    close(fd);
    ck_assert_int_eq(log_end(lead, "again"), 3);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_view");
    TCase *tc = tb_clu_tcase("view", teardown, 900);
    tcase_add_test(tc, one_change_reads_what_changed);
    suite_add_tcase(s, tc);
    TCase *again = tb_clu_tcase("again", teardown, 300);
    tcase_add_test(again, deleted_and_created_again_between_reads);
    suite_add_tcase(s, again);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
