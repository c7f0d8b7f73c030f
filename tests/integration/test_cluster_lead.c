/*
 * test_cluster_lead — the leader's side of replication (issue 18 M3, docs/cluster.md
 * "Replication"), made deterministic by playing the followers: ONE real broker (id 1) against a
 * real ZooKeeper (tb_zk.h), and fake brokers 2 and 3 registered by the test's own ZooKeeper
 * session (ephemeral /brokers/ids/2 and /3, Kafka's v5 JSON, an endpoint nothing listens on).
 * The test writes the topics' assignments itself (every partition [1,2,3], so broker 1, the
 * controller, makes itself leader with the ISR [1,2,3]) and sends the Fetch requests a
 * follower would (replica_id 2 or 3, Fetch v12 as docs/cluster.md's wire facts say).
 * - consumers read nothing at or above the high watermark (Fetch, ListOffsets latest); the HW
 *   moves as the fake followers fetch (min over the ISR), and a follower reads up to the end;
 * - a replica_id that is not a replica: NOT_LEADER_OR_FOLLOWER; current_leader_epoch above the
 *   leader's: UNKNOWN_LEADER_EPOCH; below (after the controller bumped it): FENCED_LEADER_EPOCH;
 * - OffsetForLeaderEpoch answers the end offset of an epoch (followers and consumers);
 * - acks=all is answered once both followers fetched past the batch, REQUEST_TIMED_OUT when
 *   they do not within the request's timeout;
 * - with replica.lag.time.max.ms=1500: a follower that stops fetching leaves the ISR (the state
 *   znode, an /isr_change_notification, Metadata), acks=all to a topic with
 *   min.insync.replicas=3 is then NOT_ENOUGH_REPLICAS, and one parked meanwhile is answered
 *   NOT_ENOUGH_REPLICAS_AFTER_APPEND; fetching again to the end brings it back in;
 * - broker 1 as the controller reads and deletes the ISR change notifications: those there
 *   before its election, those its ISR changes write, garbage (with a warning naming it).
 * Only partitions broker 1 leads are asserted on. Skipped without ZooKeeper; every wait is
 * bounded.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kp_api.h"
#include "kp_buf.h"
#include "kp_msg.h"
#include "kp_msg_cluster.h"
#include "tb_broker.h"
#include "tb_check.h"
#include "tb_clu.h"
#include "tb_kafka.h"
#include "tb_codec.h"
#include "tb_zk.h"

#define SESSION_MS   6000
#define WAIT_MS      30000
#define ISRN_BACKLOG 450 /* notifications there before the controller's election */

static struct tb_broker B;
static char chroot_[64];
static zhandle_t *ZH;
static int32_t corr_ = 1000;

static void teardown(void)
{
    if (ZH)
        zookeeper_close(ZH);
    ZH = NULL;
    tb_broker_cleanup(&B);
}

static void zk_put(const char *path, const char *data, int flags)
{
    int rc = zoo_create(ZH, path, data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE, flags, NULL, 0);
    ck_assert_msg(rc == ZOK, "create %s: %s", path, zerror(rc));
}

/* Fake broker id: an ephemeral registration of the test's session, its endpoint closed. */
static void register_fake(int id)
{
    int port = tb_zk_free_port();
    char json[512];
    snprintf(json, sizeof json,
             "{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},\"endpoints\":"
             "[\"PLAINTEXT://127.0.0.1:%d\"],\"jmx_port\":-1,\"host\":\"127.0.0.1\",\"port\":%d,"
             "\"timestamp\":\"1\",\"version\":5}",
             port, port);
    char p[256];
    snprintf(p, sizeof p, "%s/brokers/ids/%d", chroot_, id);
    zk_put(p, json, ZOO_EPHEMERAL);
}

/* Starts broker 1 (with the "-o", "k=v" pairs of more) and registers the fakes 2 and 3. */
static void start_cluster(const char *name, const char *const *more)
{
    snprintf(chroot_, sizeof chroot_, "/%s", name);
    memset(&B, 0, sizeof B);
    ck_assert_int_eq(tb_zk_broker_start(&B, &tb_clu_zk, chroot_, 1, SESSION_MS, NULL, more), 0);
    ZH = tb_zk_open(&tb_clu_zk);
    register_fake(2);
    register_fake(3);
}

/* The topic's state znode (static buffer) and its leader epoch, ISR length. */
static const char *state_of(const char *topic, int p)
{
    char path[512];
    snprintf(path, sizeof path, "%s/brokers/topics/%s/partitions/%d/state", chroot_, topic, p);
    return tb_zk_get(ZH, path, NULL);
}

/* Writes topic (one partition, replicas [1,2,3], configs config_json or none) and waits until
 * broker 1 leads it; returns the leader epoch. */
static int32_t make_topic(const char *topic, const char *config_json)
{
    char p[256];
    if (config_json) {
        snprintf(p, sizeof p, "%s/config/topics/%s", chroot_, topic);
        zk_put(p, config_json, 0);
    }
    snprintf(p, sizeof p, "%s/brokers/topics/%s", chroot_, topic);
    zk_put(p,
           "{\"version\":2,\"partitions\":{\"0\":[1,2,3]},\"adding_replicas\":{},"
           "\"removing_replicas\":{}}",
           0);
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        int fd = tb_connect(B.port);
        ck_assert_int_ge(fd, 0);
        struct tb_metadata m;
        const char *const ts[] = {topic};
        ck_assert_int_eq(tb_metadata(fd, ts, 1, false, &m), 0);
        close(fd);
        int t = tb_md_topic(&m, topic);
        if (t >= 0 && m.topic[t].n_parts == 1 && m.topic[t].part[0].leader == 1 &&
            m.topic[t].part[0].error == 0)
            break;
        ck_assert_msg(tb_now_ms() < until, "broker 1 does not lead %s", topic);
        tb_sleep_ms(100);
    }
    /* Metadata names the controller's decision at once; the leader serves once its log was
     * told (br_clu_leader): until then NOT_LEADER_OR_FOLLOWER, as a Kafka broker answers before
     * its LeaderAndIsr */
    for (;;) {
        int fd = tb_connect(B.port);
        ck_assert_int_ge(fd, 0);
        struct tb_list_offsets_resp o;
        ck_assert_int_eq(tb_list_offsets(fd, topic, 0, -1, &o), 0);
        close(fd);
        if (o.error == 0)
            break;
        ck_assert_msg(o.error == KP_ERR_NOT_LEADER_OR_FOLLOWER && tb_now_ms() < until,
                      "broker 1 does not serve %s: ListOffsets error %d", topic, o.error);
        tb_sleep_ms(50);
    }
    const char *st = state_of(topic, 0);
    ck_assert_ptr_nonnull(st);
    ck_assert_ptr_nonnull(strstr(st, "\"isr\":[1,2,3]"));
    return (int32_t)tb_zk_json_int(st, "leader_epoch");
}

/* ---- requests through the project's codecs --------------------------------------------------- */

static uint8_t arena_mem[1 << 16];

struct fetch_out {
    int16_t error;
    int64_t hw;
    int32_t records_len;
};

/* Sends a Fetch v12 of topic-0 at offset as replica_id with current_leader_epoch epoch. */
static int32_t send_fetch(int fd, const char *topic, int32_t replica_id, int32_t epoch,
                          int64_t offset, int32_t max_wait)
{
    struct kp_fetch_req_partition fp = {.partition = 0,
                                        .current_leader_epoch = epoch,
                                        .fetch_offset = offset,
                                        .log_start_offset = -1,
                                        .partition_max_bytes = 1 << 20,
                                        .last_fetched_epoch = -1};
    struct kp_fetch_req_topic ft = {
        .topic = {topic, (int32_t)strlen(topic)}, .n_partitions = 1, .partitions = &fp};
    struct kp_fetch_req req = {.replica_id = replica_id,
                               .max_wait_ms = max_wait,
                               .min_bytes = 1,
                               .max_bytes = 1 << 20,
                               .session_id = 0,
                               .session_epoch = -1,
                               .n_topics = 1,
                               .topics = &ft,
                               .rack_id = {"", 0},
                               .cluster_id = KP_STR_NULL};
    struct tb_req r;
    int32_t corr = corr_++;
    tb_codec_begin(&r, KP_API_FETCH, 12, corr, "tb");
    ck_assert_int_eq(kp_fetch_req_encode(&r.wr, 12, &req), 0);
    ck_assert_int_eq(tb_req_send(fd, &r), 0);
    tb_req_free(&r);
    return corr;
}

static void recv_fetch(int fd, int32_t corr, struct fetch_out *o)
{
    struct tb_frame f;
    ck_assert_int_eq(tb_recv_frame(fd, &f, 8 << 20), 0);
    ck_assert_int_eq(tb_frame_corr(&f), corr);
    struct kp_rd rd;
    kp_rd_init(&rd, f.data + 4, f.len - 4);
    kp_rd_tags(&rd);
    struct kp_arena a;
    kp_arena_init(&a, arena_mem, sizeof arena_mem);
    struct kp_fetch_resp resp;
    ck_assert_int_eq(kp_fetch_resp_decode(&rd, 12, &a, &resp), 0);
    ck_assert_int_eq(resp.n_topics, 1);
    ck_assert_int_eq(resp.topics[0].n_partitions, 1);
    const struct kp_fetch_resp_partition *p = &resp.topics[0].partitions[0];
    o->error = p->error_code;
    o->hw = p->high_watermark;
    o->records_len = p->records.len;
    tb_frame_free(&f);
}

static struct fetch_out fetch(const char *topic, int32_t replica_id, int32_t epoch, int64_t offset)
{
    int fd = tb_connect(B.port);
    ck_assert_int_ge(fd, 0);
    struct fetch_out o;
    recv_fetch(fd, send_fetch(fd, topic, replica_id, epoch, offset, 0), &o);
    close(fd);
    return o;
}

static int64_t latest(const char *topic)
{
    int fd = tb_connect(B.port);
    ck_assert_int_ge(fd, 0);
    struct tb_list_offsets_resp o;
    ck_assert_int_eq(tb_list_offsets(fd, topic, 0, -1, &o), 0);
    close(fd);
    ck_assert_int_eq(o.error, 0);
    return o.offset;
}

/* OffsetForLeaderEpoch v4 of topic-0: *epoch_out, *end (error returned). */
static int16_t epoch_end(const char *topic, int32_t replica_id, int32_t cur, int32_t epoch,
                         int32_t *epoch_out, int64_t *end)
{
    struct kp_offset_for_leader_epoch_req_partition rp = {
        .partition = 0, .current_leader_epoch = cur, .leader_epoch = epoch};
    struct kp_offset_for_leader_epoch_req_topic rt = {
        .topic = {topic, (int32_t)strlen(topic)}, .n_partitions = 1, .partitions = &rp};
    struct kp_offset_for_leader_epoch_req req = {
        .replica_id = replica_id, .n_topics = 1, .topics = &rt};
    int fd = tb_connect(B.port);
    ck_assert_int_ge(fd, 0);
    struct tb_req r;
    int32_t corr = corr_++;
    tb_codec_begin(&r, KP_API_OFFSET_FOR_LEADER_EPOCH, 4, corr, "tb");
    ck_assert_int_eq(kp_offset_for_leader_epoch_req_encode(&r.wr, 4, &req), 0);
    struct tb_frame f;
    struct kp_rd rd;
    tb_codec_call(fd, &r, KP_API_OFFSET_FOR_LEADER_EPOCH, 4, corr, &f, &rd);
    struct kp_arena a;
    kp_arena_init(&a, arena_mem, sizeof arena_mem);
    struct kp_offset_for_leader_epoch_resp resp;
    ck_assert_int_eq(kp_offset_for_leader_epoch_resp_decode(&rd, 4, &a, &resp), 0);
    tb_frame_free(&f);
    close(fd);
    ck_assert_int_eq(resp.n_topics, 1);
    ck_assert_int_eq(resp.topics[0].n_partitions, 1);
    *epoch_out = resp.topics[0].partitions[0].leader_epoch;
    *end = resp.topics[0].partitions[0].end_offset;
    return resp.topics[0].partitions[0].error_code;
}

/* The ISR Metadata v9 reports for topic-0, as "1,2,3" (static buffer). */
static const char *metadata_isr(const char *topic)
{
    static char out[64];
    struct kp_str name = {topic, (int32_t)strlen(topic)};
    struct kp_metadata_req req = {.n_topics = 1, .topics = &name};
    int fd = tb_connect(B.port);
    ck_assert_int_ge(fd, 0);
    struct tb_req r;
    int32_t corr = corr_++;
    tb_codec_begin(&r, KP_API_METADATA, 9, corr, "tb");
    ck_assert_int_eq(kp_metadata_req_encode(&r.wr, 9, &req), 0);
    struct tb_frame f;
    struct kp_rd rd;
    tb_codec_call(fd, &r, KP_API_METADATA, 9, corr, &f, &rd);
    struct kp_arena a;
    kp_arena_init(&a, arena_mem, sizeof arena_mem);
    struct kp_metadata_resp resp;
    ck_assert_int_eq(kp_metadata_resp_decode(&rd, 9, &a, &resp), 0);
    ck_assert_int_eq(resp.n_topics, 1);
    ck_assert_int_eq(resp.topics[0].n_partitions, 1);
    const struct kp_metadata_partition *p = &resp.topics[0].partitions[0];
    size_t l = 0;
    out[0] = 0;
    for (int32_t k = 0; k < p->n_isr; k++)
        l += (size_t)snprintf(out + l, sizeof out - l, "%s%d", k ? "," : "", (int)p->isr[k]);
    tb_frame_free(&f);
    close(fd);
    return out;
}

/* Produce v7 of one record with acks to topic-0 on fd, not waiting for the answer. */
static int32_t send_produce(int fd, const char *topic, int16_t acks, int32_t timeout_ms)
{
    uint8_t batch[512];
    long bl = tb_batch_values(batch, sizeof batch, "lead", 0, 1, 0, false, 0);
    ck_assert_int_gt(bl, 0);
    struct tb_req r;
    int32_t corr = corr_++;
    ck_assert_int_eq(tb_req_begin_id(&r, 1024, KP_API_PRODUCE, 7, corr, (struct kp_str){"tb", 2}),
                     0);
    tb_enc_produce(&r, 7, acks, timeout_ms, topic, 0, batch, (size_t)bl);
    ck_assert_int_eq(tb_req_send(fd, &r), 0);
    tb_req_free(&r);
    return corr;
}

static struct tb_produce_resp recv_produce(int fd, int32_t corr)
{
    struct tb_frame f;
    ck_assert_int_eq(tb_recv_frame(fd, &f, 1 << 20), 0);
    ck_assert_int_eq(tb_frame_corr(&f), corr);
    struct tb_produce_resp o;
    ck_assert_int_eq(tb_dec_produce(&f, 7, &o), 0);
    tb_frame_free(&f);
    return o;
}

static struct tb_produce_resp produce(const char *topic, int16_t acks, int32_t timeout_ms)
{
    int fd = tb_connect(B.port);
    ck_assert_int_ge(fd, 0);
    struct tb_produce_resp o = recv_produce(fd, send_produce(fd, topic, acks, timeout_ms));
    close(fd);
    return o;
}

/* ---- tests ----------------------------------------------------------------------------------- */

START_TEST(consumers_below_the_high_watermark)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_lead");
    start_cluster("hw", NULL);
    const char *t = "hw";
    int32_t e = make_topic(t, NULL);
    ck_assert_int_ge(e, 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(produce(t, 1, 10000).error, 0);
    /* nothing committed: consumers see no record, ListOffsets latest 0 */
    struct fetch_out o = fetch(t, -1, -1, 0);
    ck_assert_int_eq(o.error, 0);
    ck_assert_int_eq(o.hw, 0);
    ck_assert_int_eq(o.records_len, 0);
    ck_assert_int_eq(latest(t), 0);
    /* an offset between the HW and the end is empty, not out of range; past the end it is */
    ck_assert_int_eq(fetch(t, -1, -1, 2).error, 0);
    ck_assert_int_eq(fetch(t, -1, -1, 4).error, KP_ERR_OFFSET_OUT_OF_RANGE);
    /* a follower reads up to the end */
    o = fetch(t, 2, e, 0);
    ck_assert_int_eq(o.error, 0);
    ck_assert_int_gt(o.records_len, 0);
    ck_assert_int_eq(o.hw, 0);
    /* HW = min over the ISR: 3 at the end, 2 at 0 */
    ck_assert_int_eq(fetch(t, 3, e, 3).hw, 0);
    o = fetch(t, 2, e, 2);
    ck_assert_int_eq(o.error, 0);
    ck_assert_int_eq(o.hw, 2);
    ck_assert_int_eq(latest(t), 2);
    o = fetch(t, -1, -1, 0);
    ck_assert_int_eq(o.hw, 2);
    ck_assert_int_gt(o.records_len, 0);
    ck_assert_int_eq(fetch(t, 2, e, 3).hw, 3);
    ck_assert_int_eq(latest(t), 3);
    /* not a replica; epochs off the leader's */
    ck_assert_int_eq(fetch(t, 4, e, 3).error, KP_ERR_NOT_LEADER_OR_FOLLOWER);
    ck_assert_int_eq(fetch(t, 2, e + 1, 3).error, KP_ERR_UNKNOWN_LEADER_EPOCH);
    ck_assert_int_eq(fetch(t, -1, e + 1, 0).error, KP_ERR_UNKNOWN_LEADER_EPOCH);
    /* OffsetForLeaderEpoch: the current epoch ends at the log end */
    int32_t oe;
    int64_t end;
    ck_assert_int_eq(epoch_end(t, 2, e, e, &oe, &end), 0);
    ck_assert_int_eq(oe, e);
    ck_assert_int_eq(end, 3);
    ck_assert_int_eq(epoch_end(t, -2, -1, e, &oe, &end), 0);
    ck_assert_int_eq(end, 3);
    ck_assert_int_eq(epoch_end(t, 2, e + 1, e, &oe, &end), KP_ERR_UNKNOWN_LEADER_EPOCH);
    ck_assert_int_eq(epoch_end("nosuch", 2, -1, e, &oe, &end), KP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    /* fake 3 leaves: the controller takes it out of the ISR with a new leader epoch */
    char p[128];
    snprintf(p, sizeof p, "%s/brokers/ids/3", chroot_);
    ck_assert_int_eq(zoo_delete(ZH, p, -1), ZOK);
    int64_t until = tb_now_ms() + WAIT_MS;
    int32_t e2 = e;
    while (e2 == e) {
        ck_assert_msg(tb_now_ms() < until, "no new leader epoch");
        tb_sleep_ms(100);
        const char *st = state_of(t, 0);
        e2 = (int32_t)tb_zk_json_int(st, "leader_epoch");
    }
    ck_assert_int_eq(e2, e + 1);
    until = tb_now_ms() + WAIT_MS;
    while (fetch(t, 2, e, 3).error != KP_ERR_FENCED_LEADER_EPOCH)
        ck_assert_msg(tb_now_ms() < until, "the old epoch is not fenced"), tb_sleep_ms(100);
    ck_assert_int_eq(fetch(t, 2, e2, 3).error, 0);
    ck_assert_int_eq(fetch(t, -1, e, 0).error, KP_ERR_FENCED_LEADER_EPOCH);
    /* the old epoch ended where the new one began */
    ck_assert_int_eq(produce(t, 1, 10000).error, 0);
    ck_assert_int_eq(epoch_end(t, 2, e2, e, &oe, &end), 0);
    ck_assert_int_eq(oe, e);
    ck_assert_int_eq(end, 3);
    ck_assert_int_eq(epoch_end(t, 2, e2, e2, &oe, &end), 0);
    ck_assert_int_eq(oe, e2);
    ck_assert_int_eq(end, 4);
    ck_assert_int_eq(tb_broker_stop(&B, SIGTERM), 0);
}
END_TEST

START_TEST(acks_all_waits_for_the_isr)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_lead");
    start_cluster("acks", NULL);
    const char *t = "acks";
    int32_t e = make_topic(t, NULL);
    int fd = tb_connect(B.port);
    ck_assert_int_ge(fd, 0);
    int32_t corr = send_produce(fd, t, -1, 20000);
    /* not answered while the followers have not fetched it */
    ck_assert_int_eq(tb_readable(fd, 300), 0);
    ck_assert_int_eq(fetch(t, 2, e, 1).error, 0);
    ck_assert_int_eq(tb_readable(fd, 300), 0);
    ck_assert_int_eq(fetch(t, 3, e, 0).hw, 0);
    ck_assert_int_eq(tb_readable(fd, 300), 0);
    /* both past it: answered */
    ck_assert_int_eq(fetch(t, 3, e, 1).hw, 1);
    struct tb_produce_resp o = recv_produce(fd, corr);
    ck_assert_int_eq(o.error, 0);
    ck_assert_int_eq(o.base_offset, 0);
    /* a follower's long poll waiting at the end wakes on the next append */
    int ffd = tb_connect(B.port);
    ck_assert_int_ge(ffd, 0);
    int32_t fcorr = send_fetch(ffd, t, 2, e, 1, 10000);
    corr = send_produce(fd, t, -1, 20000);
    struct fetch_out fo;
    recv_fetch(ffd, fcorr, &fo);
    ck_assert_int_eq(fo.error, 0);
    ck_assert_int_gt(fo.records_len, 0);
    close(ffd);
    ck_assert_int_eq(fetch(t, 2, e, 2).error, 0);
    ck_assert_int_eq(fetch(t, 3, e, 2).hw, 2);
    ck_assert_int_eq(recv_produce(fd, corr).error, 0);
    /* no follower fetches: REQUEST_TIMED_OUT at the request's timeout; the record is written */
    corr = send_produce(fd, t, -1, 1000);
    o = recv_produce(fd, corr);
    ck_assert_int_eq(o.error, KP_ERR_REQUEST_TIMED_OUT);
    /* acks=1: answered at once */
    ck_assert_int_eq(produce(t, 1, 1000).error, 0);
    close(fd);
    ck_assert_int_eq(tb_broker_stop(&B, SIGTERM), 0);
}
END_TEST

/* The parent of the ISR change notifications: its children's count, its cversion (raised by
 * each child created or deleted). */
static int isrn_count(void)
{
    char p[256];
    snprintf(p, sizeof p, "%s/isr_change_notification", chroot_);
    struct String_vector kids = {0};
    int rc = zoo_get_children(ZH, p, 0, &kids);
    ck_assert_msg(rc == ZOK, "%s: %s", p, zerror(rc));
    int n = kids.count;
    deallocate_String_vector(&kids);
    return n;
}

static int32_t isrn_cversion(void)
{
    char p[256];
    snprintf(p, sizeof p, "%s/isr_change_notification", chroot_);
    struct Stat st;
    ck_assert_int_eq(zoo_exists(ZH, p, 0, &st), ZOK);
    return st.cversion;
}

/* Waits (bounded) until the controller has deleted every ISR change notification. */
static void wait_isrn_empty(void)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    int n;
    while ((n = isrn_count()) > 0) {
        ck_assert_msg(tb_now_ms() < until, "%d ISR change notification(s) left", n);
        tb_sleep_ms(100);
    }
}

/* A notification under the chroot (sequential); its name into made. */
static void isrn_put(const char *data, char *made, int cap)
{
    char p[256];
    snprintf(p, sizeof p, "%s/isr_change_notification/isr_change_", chroot_);
    int rc =
        zoo_create(ZH, p, data, (int)strlen(data), &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, made, cap);
    ck_assert_msg(rc == ZOK, "create %s: %s", p, zerror(rc));
}

/* Polls this broker's Metadata of topic-0 until its ISR reads want ("1,2"): the broker's view
 * follows the state znode through its watch, a moment after the znode changed (as Kafka's
 * metadata cache follows the controller's UpdateMetadata). */
static void wait_metadata_isr(const char *t, const char *want)
{
    int64_t until = tb_now_ms() + WAIT_MS;
    const char *got;
    while (strcmp(got = metadata_isr(t), want) != 0) {
        ck_assert_msg(tb_now_ms() < until, "Metadata's isr of %s: %s, not %s", t, got, want);
        tb_sleep_ms(50);
    }
}

/* Polls the state znode of topic-0 until its ISR is isr ("[1,2]"), fetching meanwhile as each
 * follower in fetchers (at the log end, so it stays caught up). */
static void wait_isr(const char *t, const char *isr, int32_t e, const int32_t *fetchers, int nf,
                     int64_t end)
{
    char want[64];
    snprintf(want, sizeof want, "\"isr\":%s", isr);
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        const char *st = state_of(t, 0);
        if (st && strstr(st, want))
            return;
        ck_assert_msg(tb_now_ms() < until, "isr of %s not %s: %s", t, isr, st ? st : "(none)");
        for (int i = 0; i < nf; i++)
            ck_assert_int_eq(fetch(t, fetchers[i], e, end).error, 0);
        tb_sleep_ms(200);
    }
}

START_TEST(isr_shrinks_and_expands)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_lead");
    const char *const more[] = {"-o", "replica.lag.time.max.ms=1500", NULL};
    start_cluster("isr", more);
    const char *t = "strict";
    int32_t e = make_topic(t, "{\"version\":1,\"config\":{\"min.insync.replicas\":\"3\"}}");
    /* the full ISR: acks=all answered once both fetched */
    int fd = tb_connect(B.port);
    ck_assert_int_ge(fd, 0);
    int32_t corr = send_produce(fd, t, -1, 20000);
    ck_assert_int_eq(fetch(t, 2, e, 1).error, 0);
    ck_assert_int_eq(fetch(t, 3, e, 1).error, 0);
    ck_assert_int_eq(recv_produce(fd, corr).error, 0);
    /* 3 stops fetching while there is something new for it: out of the ISR */
    ck_assert_int_eq(produce(t, 1, 1000).error, 0);
    const int32_t only2[] = {2};
    wait_isr(t, "[1,2]", e, only2, 1, 2);
    wait_metadata_isr(t, "1,2");
    /* an /isr_change_notification was written (the controller, broker 1 itself, may have
     * deleted it already: the parent's cversion counts both) */
    ck_assert_int_ge(isrn_cversion(), 1);
    /* the leader epoch is the leader's: unchanged */
    ck_assert_int_eq(tb_zk_json_int(state_of(t, 0), "leader_epoch"), e);
    /* min.insync.replicas=3 with an ISR of 2: refused before appending */
    ck_assert_int_eq(produce(t, -1, 5000).error, KP_ERR_NOT_ENOUGH_REPLICAS);
    ck_assert_int_eq(latest(t), 2);
    /* 3 catches up: back in the ISR */
    const int32_t both[] = {2, 3};
    wait_isr(t, "[1,2,3]", e, both, 2, 2);
    wait_metadata_isr(t, "1,2,3");
    /* parked with the full ISR, 3 falls out meanwhile: NOT_ENOUGH_REPLICAS_AFTER_APPEND once
     * the HW passes the batch */
    corr = send_produce(fd, t, -1, 20000);
    wait_isr(t, "[1,2]", e, only2, 1, 3);
    ck_assert_int_eq(fetch(t, 2, e, 3).hw, 3);
    ck_assert_int_eq(recv_produce(fd, corr).error, KP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    close(fd);
    ck_assert_int_eq(tb_broker_stop(&B, SIGTERM), 0);
}
END_TEST

/* The controller (broker 1) reads and deletes the ISR change notifications: those there
 * before it was elected (garbage ones with a warning naming them), those its own ISR changes
 * write, and garbage written meanwhile. */
START_TEST(controller_deletes_isr_change_notifications)
{
    TB_ZK_SKIP(&tb_clu_zk, "test_cluster_lead");
    snprintf(chroot_, sizeof chroot_, "/isrn");
    ZH = tb_zk_open(&tb_clu_zk);
    char p[256], garbage[256], empty[256], gone[256], later[256];
    zk_put(chroot_, "", 0);
    snprintf(p, sizeof p, "%s/isr_change_notification", chroot_);
    zk_put(p, "", 0);
    isrn_put("not json", garbage, sizeof garbage);
    isrn_put("", empty, sizeof empty);
    isrn_put("{\"version\":1,\"partitions\":[{\"topic\":\"gone\",\"partition\":0}]}", gone,
             sizeof gone);
    /* more than one turn of the cluster thread takes (200 a turn) */
    for (int i = 1; i < ISRN_BACKLOG; i++) {
        char doc[128], made[256];
        snprintf(doc, sizeof doc,
                 "{\"version\":1,\"partitions\":[{\"topic\":\"gone\",\"partition\":%d}]}", i);
        isrn_put(doc, made, sizeof made);
    }
    ck_assert_int_eq(isrn_count(), 2 + ISRN_BACKLOG);
    const char *const more[] = {"-o", "replica.lag.time.max.ms=1500", NULL};
    memset(&B, 0, sizeof B);
    ck_assert_int_eq(tb_zk_broker_start(&B, &tb_clu_zk, chroot_, 1, SESSION_MS, NULL, more), 0);
    register_fake(2);
    register_fake(3);
    /* at its election: what was there is read and deleted, the garbage named in a warning */
    wait_isrn_empty();
    char want[512];
    snprintf(want, sizeof want, "%s is not an ISR change notification", garbage);
    ck_assert_msg(tb_log_wait(&B, want, 5000), "no warning: %s", want);
    snprintf(want, sizeof want, "%s is not an ISR change notification", empty);
    ck_assert_msg(tb_log_wait(&B, want, 5000), "no warning: %s", want);
    snprintf(want, sizeof want, "%s is not an ISR change notification", gone);
    ck_assert(!tb_log_contains(&B, want));
    /* its own ISR changes: 3 out, then back in; each writes a notification, each deleted */
    const char *t = "flap";
    int32_t e = make_topic(t, NULL);
    int32_t cv0 = isrn_cversion();
    ck_assert_int_eq(produce(t, 1, 1000).error, 0);
    ck_assert_int_eq(fetch(t, 2, e, 0).error, 0);
    ck_assert_int_eq(fetch(t, 3, e, 0).error, 0);
    const int32_t only2[] = {2}, both[] = {2, 3};
    wait_isr(t, "[1,2]", e, only2, 1, 1);
    wait_isr(t, "[1,2,3]", e, both, 2, 1);
    ck_assert(tb_log_contains(&B, "flap-0 isr [1,2] "));
    ck_assert(tb_log_contains(&B, "flap-0 isr [1,2,3] "));
    wait_isrn_empty();
    /* two written and two deleted at least */
    ck_assert_int_ge(isrn_cversion() - cv0, 4);
    /* garbage while it runs: a partition without its topic */
    isrn_put("{\"version\":1,\"partitions\":[{\"partition\":0}]}", later, sizeof later);
    wait_isrn_empty();
    snprintf(want, sizeof want, "%s is not an ISR change notification", later);
    ck_assert_msg(tb_log_wait(&B, want, 5000), "no warning: %s", want);
    wait_metadata_isr(t, "1,2,3");
    ck_assert_int_eq(tb_broker_stop(&B, SIGTERM), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_lead");
    TCase *tc = tb_clu_tcase("leader", teardown, 180);
    tcase_add_test(tc, consumers_below_the_high_watermark);
    tcase_add_test(tc, acks_all_waits_for_the_isr);
    tcase_add_test(tc, isr_shrinks_and_expands);
    tcase_add_test(tc, controller_deletes_isr_change_notifications);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
