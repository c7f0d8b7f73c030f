/*
 * test_cluster_zk — the cluster's coordination through a real Apache ZooKeeper (issue 18, M1;
 * docs/cluster.md): Debian's ZooKeeper server (ZooKeeperServerMain from its jars, an ephemeral
 * port, a temporary directory, killed at the end) and three splicelogd processes on loopback.
 * - all three register /brokers/ids/<id> (read back with the ZooKeeper C client: Kafka's v5
 *   JSON with the broker's endpoint), exactly one /controller, /controller_epoch >= 1;
 *   Metadata from every broker lists the three and names the same controller, and so does
 *   DescribeCluster (`splicelog cluster info`);
 * - kill -9 of the controller: another broker becomes controller with a higher controller
 *   epoch once the dead one's session expires, Metadata lists two; restarted, three again;
 * - a broker paused past its session timeout (SIGSTOP, SIGCONT) registers again;
 * - ZooKeeper killed: the brokers still answer Metadata from their last view; restarted on
 *   the same data, both are registered again under one controller;
 * - a second broker with an id already registered is refused at start-up (NodeExists);
 * - ZooKeeper unreachable at start-up: a clear error and a non-zero exit after
 *   zookeeper.connection.timeout.ms.
 * - a data directory knows its cluster and broker (meta.properties, as Kafka's): restarted
 *   against another chroot (another cluster id) or with another broker.id, the broker refuses
 *   to start, saying which, and registers nothing; with its own, it starts.
 * M2 (the controller's duties):
 * - a topic of 6 partitions created on one broker is assigned in /brokers/topics/<t>, its
 *   partition states written by the controller, and every broker answers Metadata with the
 *   same leaders, spread over all three; Produce and Fetch on a broker that does not lead a
 *   partition answer NOT_LEADER_OR_FOLLOWER; kcat produces to every partition through one
 *   bootstrap broker and reads them back through another; /cluster/id is the cluster id;
 * - kill -9 of the controller, which leads partitions too: the new controller takes them
 *   offline (RF 1: leader -1, LEADER_NOT_AVAILABLE, the state znode says -1, written under the
 *   new controller epoch); restarted: it leads them again, the data readable;
 * - CreatePartitions on any broker grows the assignment, the new partitions get leaders;
 * - DeleteTopics on any broker: the controller deletes the znodes, every broker the topic.
 * Each test works under its own chroot. Skipped, saying so, without java or Debian's
 * zookeeper package. Every wait is bounded.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tb_broker.h"
#include "tb_check.h"
#include "tb_clu.h"
#include "tb_group.h"
#include "tb_kafka.h"
#include "tb_txn.h"
#include "tb_zk.h"

#define SESSION_MS 3000
#define WAIT_MS    (SESSION_MS * 10) /* bound of every wait for the cluster to settle */
#define NBROKERS   3

/* ---- brokers ----------------------------------------------------------------------------------
 */

static struct tb_broker B[NBROKERS + 1];
static char chroot_[64];

static void teardown(void)
{
    for (int i = 0; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

#define SKIP_WITHOUT_ZOOKEEPER() TB_ZK_SKIP(&tb_clu_zk, "test_cluster_zk")

/* Starts broker id (1-based) on b under the test's chroot; 0 or tb_broker_start's -errno. */
static int start_broker(struct tb_broker *b, int id, const char *connect_override)
{
    return tb_zk_broker_start(b, &tb_clu_zk, chroot_, id, SESSION_MS, connect_override, NULL);
}

static void metadata_of(struct tb_broker *b, struct tb_metadata *m)
{
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_metadata(fd, NULL, -1, false, m), 0);
    close(fd);
}

/* Polls b's Metadata until it lists n brokers and a controller other than not_controller (-2:
 * any); returns the controller. */
static int32_t wait_metadata(struct tb_broker *b, int n, int32_t not_controller)
{
    static struct tb_metadata m;
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        metadata_of(b, &m);
        if (m.n_brokers == n && m.controller_id >= 0 && m.controller_id != not_controller)
            return m.controller_id;
        ck_assert_msg(tb_now_ms() < until,
                      "broker on port %d: %d broker(s), controller %d; wanted %d, not %d", b->port,
                      m.n_brokers, m.controller_id, n, not_controller);
        tb_sleep_ms(100);
    }
}

/* `splicelog cluster info --json` against b (DescribeCluster through libsplicelog's admin
 * client): its output (static buffer). */
static const char *cluster_info(struct tb_broker *b)
{
    static char text[8192];
    char tool[600], bs[64], out[400];
    const char *build = getenv("SPLICELOG_BUILD"), *root = getenv("SPLICELOG_ROOT");
    if (build)
        snprintf(tool, sizeof tool, "%s/san/splicelog", build);
    else
        snprintf(tool, sizeof tool, "%s/build/san/splicelog", root ? root : ".");
    snprintf(bs, sizeof bs, "127.0.0.1:%d", b->port);
    snprintf(out, sizeof out, "%s/cluster-info.out", b->dir);
    const char *const argv[] = {tool, "cluster", "info", "--json", "--bootstrap", bs, NULL};
    pid_t pid = tb_spawn(argv, out);
    ck_assert_int_gt(pid, 0);
    int st = tb_wait_exit(pid, 60000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed", tool);
    FILE *f = fopen(out, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    return text;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void use_chroot(const char *name)
{
    snprintf(chroot_, sizeof chroot_, "/%s", name);
    memset(B, 0, sizeof B);
}

/* The chroot's controller id and epoch, read from ZooKeeper. */
static void controller_of(zhandle_t *zh, long *id, long *epoch)
{
    char p[128];
    snprintf(p, sizeof p, "%s/controller", chroot_);
    *id = tb_zk_json_int(tb_zk_get(zh, p, NULL), "brokerid");
    snprintf(p, sizeof p, "%s/controller_epoch", chroot_);
    const char *e = tb_zk_get(zh, p, NULL);
    *epoch = e ? strtol(e, NULL, 10) : -1;
}

START_TEST(three_brokers_one_controller_failover)
{
    SKIP_WITHOUT_ZOOKEEPER();
    use_chroot("failover");
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(start_broker(&B[i], i, NULL), 0);

    /* every broker registered, with its endpoint, as Kafka writes it */
    for (int i = 1; i <= NBROKERS; i++) {
        char p[128], ep[64];
        snprintf(p, sizeof p, "%s/brokers/ids/%d", chroot_, i);
        const char *j = tb_zk_get(zh, p, NULL);
        ck_assert_msg(j != NULL, "%s missing", p);
        snprintf(ep, sizeof ep, "\"PLAINTEXT://127.0.0.1:%d\"", B[i].port);
        ck_assert_msg(strstr(j, ep), "%s: %s", p, j);
        ck_assert_int_eq(tb_zk_json_int(j, "port"), B[i].port);
        ck_assert_int_eq(tb_zk_json_int(j, "version"), 5);
        ck_assert_int_eq(tb_zk_json_int(j, "jmx_port"), -1);
        ck_assert_msg(strstr(j, "\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"}"),
                      "%s", j);
        ck_assert_msg(strstr(j, "\"timestamp\":\""), "%s", j);
    }
    struct String_vector kids = {0};
    char ids[128];
    snprintf(ids, sizeof ids, "%s/brokers/ids", chroot_);
    ck_assert_int_eq(zoo_get_children(zh, ids, 0, &kids), ZOK);
    ck_assert_int_eq(kids.count, NBROKERS);
    deallocate_String_vector(&kids);

    /* exactly one controller (one znode), known to every broker */
    long ctl, epoch;
    controller_of(zh, &ctl, &epoch);
    ck_assert_msg(ctl >= 1 && ctl <= NBROKERS, "controller %ld", ctl);
    ck_assert_int_ge(epoch, 1);
    int32_t seen[NBROKERS + 1];
    for (int i = 1; i <= NBROKERS; i++) {
        seen[i] = wait_metadata(&B[i], NBROKERS, -2);
        ck_assert_int_eq(seen[i], ctl);
    }
    struct tb_metadata m;
    metadata_of(&B[1], &m);
    for (int i = 0; i < m.n_brokers; i++) {
        ck_assert_int_eq(m.broker[i].node_id, i + 1);
        ck_assert_int_eq(m.broker[i].port, B[i + 1].port);
        ck_assert_str_eq(m.broker[i].host, "127.0.0.1");
    }
    ck_assert_msg(tb_log_contains(&B[ctl], "is the controller"), "no election line");
    /* DescribeCluster (the admin client's view) says the same */
    const char *info = cluster_info(&B[2]);
    char want[64];
    snprintf(want, sizeof want, "\"controller\":%ld,", ctl);
    ck_assert_msg(strstr(info, want), "%s", info);
    ck_assert_msg(count_of(info, "\"id\":") == NBROKERS, "%s", info);

    /* kill -9 the controller: once its session expires another broker is elected, with a
     * higher epoch, and Metadata lists the two left */
    ck_assert_int_ge(tb_broker_stop(&B[ctl], SIGKILL), 0);
    int other = ctl == 1 ? 2 : 1;
    int32_t next = wait_metadata(&B[other], NBROKERS - 1, (int32_t)ctl);
    long ctl2, epoch2;
    controller_of(zh, &ctl2, &epoch2);
    ck_assert_int_eq(ctl2, next);
    ck_assert_int_gt(epoch2, epoch);
    for (int i = 1; i <= NBROKERS; i++)
        if (i != ctl)
            ck_assert_int_eq(wait_metadata(&B[i], NBROKERS - 1, (int32_t)ctl), next);

    /* restarted (its old registration is gone with its session): three again, same controller */
    ck_assert_int_eq(start_broker(&B[ctl], (int)ctl, NULL), 0);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(wait_metadata(&B[i], NBROKERS, -2), next);
    controller_of(zh, &ctl2, &epoch2);
    ck_assert_int_eq(ctl2, next);

    /* a clean stop leaves at once: the session is closed, not left to expire */
    ck_assert_int_eq(tb_broker_stop(&B[ctl], SIGTERM), 0);
    char p[128];
    snprintf(p, sizeof p, "%s/brokers/ids/%ld", chroot_, ctl);
    ck_assert_ptr_null(tb_zk_get(zh, p, NULL));
    zookeeper_close(zh);
}
END_TEST

START_TEST(paused_past_session_registers_again)
{
    SKIP_WITHOUT_ZOOKEEPER();
    use_chroot("pause");
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    ck_assert_int_eq(start_broker(&B[1], 1, NULL), 0);
    ck_assert_int_eq(start_broker(&B[2], 2, NULL), 0);
    wait_metadata(&B[2], 2, -2);
    /* SIGSTOP broker 1 past its session: ZooKeeper drops it; SIGCONT: it finds its session
     * expired, opens a new one and registers again */
    ck_assert_int_eq(kill(B[1].pid, SIGSTOP), 0);
    wait_metadata(&B[2], 1, -2);
    ck_assert_int_eq(kill(B[1].pid, SIGCONT), 0);
    ck_assert_msg(tb_log_wait(&B[1], "registered again", WAIT_MS), "no re-registration");
    wait_metadata(&B[2], 2, -2);
    wait_metadata(&B[1], 2, -2);
    char p[128];
    snprintf(p, sizeof p, "%s/brokers/ids/1", chroot_);
    ck_assert_ptr_nonnull(tb_zk_get(zh, p, NULL));
    zookeeper_close(zh);
}
END_TEST

START_TEST(zookeeper_restarted)
{
    SKIP_WITHOUT_ZOOKEEPER();
    use_chroot("zkrestart");
    /* a ZooKeeper of this test's own (this process's copy of tb_clu_zk.port points at it), so the
     * shared one stays up for the others */
    char dir[300];
    snprintf(dir, sizeof dir, "%s/own", tb_clu_zk.dir);
    mkdir(dir, 0700);
    tb_clu_zk.port = tb_zk_free_port();
    pid_t own = tb_zk_spawn(tb_clu_zk.port, dir);
    ck_assert_int_gt(own, 0);
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    ck_assert_int_eq(start_broker(&B[1], 1, NULL), 0);
    ck_assert_int_eq(start_broker(&B[2], 2, NULL), 0);
    int32_t ctl = wait_metadata(&B[1], 2, -2);
    ck_assert_int_eq(wait_metadata(&B[2], 2, -2), ctl);
    zookeeper_close(zh);

    /* ZooKeeper killed: the brokers go on answering Metadata from their last view (no loop
     * thread waits on ZooKeeper) */
    kill(own, SIGKILL);
    waitpid(own, NULL, 0);
    for (int i = 1; i <= 2; i++) {
        struct tb_metadata m;
        metadata_of(&B[i], &m);
        ck_assert_int_eq(m.n_brokers, 2);
        ck_assert_int_eq(m.controller_id, ctl);
    }
    /* back on the same port and data: the brokers reconnect (or, if their sessions expired
     * meanwhile, register again and elect); one controller, both registered, both agree */
    own = tb_zk_spawn(tb_clu_zk.port, dir);
    ck_assert_int_gt(own, 0);
    zh = tb_zk_open(&tb_clu_zk);
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        struct String_vector kids = {0};
        char ids[128];
        snprintf(ids, sizeof ids, "%s/brokers/ids", chroot_);
        int rc = zoo_get_children(zh, ids, 0, &kids);
        int n = rc == ZOK ? kids.count : -1;
        deallocate_String_vector(&kids);
        long id, epoch;
        controller_of(zh, &id, &epoch);
        if (n == 2 && id >= 1) {
            ck_assert_int_eq(wait_metadata(&B[1], 2, -2), id);
            ck_assert_int_eq(wait_metadata(&B[2], 2, -2), id);
            break;
        }
        ck_assert_msg(tb_now_ms() < until, "after the restart: %d registered, controller %ld", n,
                      id);
        tb_sleep_ms(100);
    }
    zookeeper_close(zh);
    kill(own, SIGKILL);
    waitpid(own, NULL, 0);
}
END_TEST

START_TEST(duplicate_broker_id_refused)
{
    SKIP_WITHOUT_ZOOKEEPER();
    use_chroot("dup");
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    ck_assert_int_eq(start_broker(&B[1], 7, NULL), 0);
    /* Kafka's answer: NodeExists, and no start */
    ck_assert_int_eq(start_broker(&B[2], 7, NULL), -ECHILD);
    ck_assert_msg(tb_log_contains(&B[2], "NodeExists"), "no NodeExists in %s", B[2].log);
    ck_assert_msg(tb_log_contains(&B[2], "broker.id 7 is already registered"), "%s", B[2].log);
    /* the first one is untouched */
    char p[128];
    snprintf(p, sizeof p, "%s/brokers/ids/7", chroot_);
    const char *j = tb_zk_get(zh, p, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(tb_zk_json_int(j, "port"), B[1].port);
    ck_assert(tb_broker_alive(&B[1]));
    zookeeper_close(zh);
}
END_TEST

START_TEST(a_data_dir_joins_only_its_own_cluster)
{
    SKIP_WITHOUT_ZOOKEEPER();
    use_chroot("meta");
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    ck_assert_int_eq(start_broker(&B[1], 1, NULL), 0);
    char p[320];
    snprintf(p, sizeof p, "%s/data/meta.properties", B[1].dir);
    ck_assert_msg(access(p, F_OK) == 0, "no %s", p);
    ck_assert_int_eq(tb_broker_stop(&B[1], SIGTERM), 0);

    /* another chroot is another cluster (its own /cluster/id): refused, nothing registered */
    char other[160];
    snprintf(other, sizeof other, "127.0.0.1:%d/meta-other", tb_clu_zk.port);
    ck_assert_int_eq(start_broker(&B[1], 1, other), -ECHILD);
    ck_assert_msg(tb_log_contains(&B[1], "belongs to cluster"), "%s", B[1].log);
    ck_assert_ptr_null(tb_zk_get(zh, "/meta-other/brokers/ids/1", NULL));

    /* another broker.id on this data dir: refused */
    ck_assert_int_eq(start_broker(&B[1], 2, NULL), -ECHILD);
    ck_assert_msg(tb_log_contains(&B[1], "broker.id is 2"), "%s", B[1].log);
    snprintf(p, sizeof p, "%s/brokers/ids/2", chroot_);
    ck_assert_ptr_null(tb_zk_get(zh, p, NULL));

    /* its own cluster and id: starts and registers */
    ck_assert_int_eq(start_broker(&B[1], 1, NULL), 0);
    snprintf(p, sizeof p, "%s/brokers/ids/1", chroot_);
    ck_assert_ptr_nonnull(tb_zk_get(zh, p, NULL));
    ck_assert_int_eq(tb_broker_stop(&B[1], SIGTERM), 0);
    zookeeper_close(zh);
}
END_TEST

START_TEST(zookeeper_down_at_start_up)
{
    SKIP_WITHOUT_ZOOKEEPER();
    use_chroot("down");
    char dead[64];
    snprintf(dead, sizeof dead, "127.0.0.1:%d/down", tb_zk_free_port());
    char idkv[] = "broker.id=1", zk[128];
    snprintf(zk, sizeof zk, "zookeeper.connect=%s", dead);
    const char *const extra[] = {"-o", idkv,
                                 "-o", zk,
                                 "-o", "zookeeper.connection.timeout.ms=1000",
                                 "-o", "fetch.transfer=sendfile",
                                 NULL};
    ck_assert_int_eq(tb_broker_start(&B[1], extra), -ECHILD);
    ck_assert_msg(tb_log_contains(&B[1], "cannot connect to ZooKeeper at"), "%s", B[1].log);
    ck_assert_msg(tb_log_contains(&B[1], "zookeeper.connection.timeout.ms"), "%s", B[1].log);
}
END_TEST

/* ---- M2: topics through the controller ------------------------------------------------------ */

#define SPREAD_PARTS 6

/* Polls b's Metadata for topic until every partition's leader is not -2 (any: pass want NULL)
 * or equals want[p] (-1: offline); the leaders into got. */
static void wait_leaders_n(struct tb_broker *b, const char *topic, int nparts, const int32_t *want,
                           int32_t *got)
{
    static struct tb_metadata m;
    const char *const names[] = {topic};
    int64_t until = tb_now_ms() + WAIT_MS;
    for (;;) {
        int fd = tb_connect(b->port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(tb_metadata(fd, names, 1, false, &m), 0);
        close(fd);
        bool ok = m.n_topics == 1 && m.topic[0].error == 0 && m.topic[0].n_parts == nparts;
        for (int p = 0; ok && p < nparts; p++) {
            int32_t l = m.topic[0].part[p].leader;
            ok = want ? l == want[p] : l >= 1;
            /* an offline partition says so, a led one does not */
            ok = ok && m.topic[0].part[p].error == (l < 0 ? 5 : 0);
            got[p] = l;
        }
        if (ok)
            return;
        ck_assert_msg(tb_now_ms() < until, "broker on port %d: leaders of %s not as wanted",
                      b->port, topic);
        tb_sleep_ms(100);
    }
}

static void wait_leaders(struct tb_broker *b, const char *topic, const int32_t *want, int32_t *got)
{
    wait_leaders_n(b, topic, SPREAD_PARTS, want, got);
}

/* A shell command's exit status (0: success). */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* kcat reads partition p of topic through bootstrap b into out (the values, one a line). */
static void kcat_read(struct tb_broker *b, const char *topic, int p, char *out, size_t cap)
{
    char path[400];
    snprintf(path, sizeof path, "%s/kcat-read.out", b->dir);
    ck_assert_int_eq(sh("timeout 60 kcat -C -b 127.0.0.1:%d -t %s -p %d -o beginning -e -q "
                        "-X topic.metadata.refresh.interval.ms=200 > '%s' 2>/dev/null",
                        b->port, topic, p, path),
                     0);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = 0;
}

/* A Produce of one record to partition p of topic on b: its error code. */
static int16_t produce_err(struct tb_broker *b, const char *topic, int32_t p)
{
    uint8_t batch[512];
    long bl = tb_batch_values(batch, sizeof batch, "direct", 0, 1, 0, false, 0);
    ck_assert_int_gt(bl, 0);
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct tb_produce_resp out;
    ck_assert_int_eq(tb_produce(fd, topic, p, batch, (size_t)bl, &out), 0);
    close(fd);
    return out.error;
}

static int16_t fetch_err(struct tb_broker *b, const char *topic, int32_t p)
{
    int fd = tb_connect(b->port);
    ck_assert_int_ge(fd, 0);
    struct tb_fetch_args a = {.max_wait_ms = 0,
                              .min_bytes = 1,
                              .max_bytes = 1 << 20,
                              .topic = topic,
                              .partition = p,
                              .offset = 0,
                              .partition_max_bytes = 1 << 20};
    struct tb_frame f;
    struct tb_fetch_resp out;
    ck_assert_int_eq(tb_fetch(fd, &a, &f, &out), 0);
    tb_frame_free(&f);
    close(fd);
    return out.error;
}

/* Without __transaction_state (too few brokers for its replication factor) no broker
 * coordinates a transactional id: FindCoordinator answers COORDINATOR_NOT_AVAILABLE (with a log
 * line saying why), the transaction APIs NOT_COORDINATOR; idempotent producers are served. */
START_TEST(transactions_without_their_state_topic_idempotence_served)
{
    /* two brokers, transaction.state.log.replication.factor 3: __transaction_state cannot be
     * created (as Kafka refuses it), so no broker coordinates a transactional id; idempotent
     * producers are served (docs/cluster.md "Transactions") */
    SKIP_WITHOUT_ZOOKEEPER();
    use_chroot("txn");
    for (int i = 1; i <= 2; i++)
        ck_assert_int_eq(start_broker(&B[i], i, NULL), 0);
    for (int i = 1; i <= 2; i++)
        wait_metadata(&B[i], 2, -2);
    enum { COORDINATOR_NOT_AVAILABLE = 15, NOT_COORDINATOR = 16 };
    for (int i = 1; i <= 2; i++) {
        int fd = tb_connect(B[i].port);
        ck_assert_int_ge(fd, 0);
        const int16_t versions[] = {1, 2}; /* (tb_group speaks the non-flexible ones) */
        for (int v = 0; v < 2; v++) {
            struct tb_find_coordinator fc;
            ck_assert_int_eq(tb_find_coordinator(fd, versions[v], 10 + v, "tx", 1, &fc), 0);
            ck_assert_msg(fc.error == COORDINATOR_NOT_AVAILABLE,
                          "broker %d: FindCoordinator v%d of a transactional id: error %d", i,
                          versions[v], fc.error);
        }
        int16_t err = -1, epoch = -1;
        int64_t pid = -1;
        ck_assert_int_eq(tb_init_producer_id(fd, 3, "tx", 60000, -1, -1, &err, &pid, &epoch), 0);
        ck_assert_int_eq(err, NOT_COORDINATOR);
        ck_assert_int_eq(pid, -1);
        ck_assert_int_eq(tb_end_txn(fd, 1, "tx", 0, 0, true, &err), 0);
        ck_assert_int_eq(err, NOT_COORDINATOR);
        ck_assert_int_eq(tb_add_offsets(fd, 1, "tx", 0, 0, "grp", &err), 0);
        ck_assert_int_eq(err, NOT_COORDINATOR);
        /* TxnOffsetCommit goes to the group's coordinator: none either (__consumer_offsets
         * needs three brokers too) */
        ck_assert_int_eq(tb_txn_offset_commit(fd, 0, "tx", "grp", 0, 0, "t", 0, 1, &err), 0);
        ck_assert_int_eq(err, NOT_COORDINATOR);
        /* an idempotent producer gets its id */
        ck_assert_int_eq(tb_init_producer_id(fd, 3, NULL, 60000, -1, -1, &err, &pid, &epoch), 0);
        ck_assert_int_eq(err, TB_E_NONE);
        ck_assert_int_ge(pid, 0);
        close(fd);
    }
    ck_assert_msg(
        tb_log_contains(&B[1],
                        "fewer live brokers than transaction.state.log.replication.factor") ||
            tb_log_contains(&B[2],
                            "fewer live brokers than transaction.state.log.replication.factor"),
        "no log line says why");
}
END_TEST

START_TEST(topics_through_the_controller)
{
    SKIP_WITHOUT_ZOOKEEPER();
    bool have_kcat = sh("command -v kcat >/dev/null 2>&1") == 0;
    if (!have_kcat)
        fprintf(stderr, "test_cluster_zk: kcat is not installed: its part is skipped\n");
    use_chroot("topics");
    zhandle_t *zh = tb_zk_open(&tb_clu_zk);
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(start_broker(&B[i], i, NULL), 0);
    for (int i = 1; i <= NBROKERS; i++)
        wait_metadata(&B[i], NBROKERS, -2);

    /* created on broker 1: the assignment and the states are in ZooKeeper */
    const char *topic = "spread";
    int fd = tb_connect(B[1].port);
    ck_assert_int_ge(fd, 0);
    int16_t err = -1;
    ck_assert_int_eq(tb_create_topic(fd, topic, SPREAD_PARTS, &err), 0);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(tb_create_topic(fd, topic, SPREAD_PARTS, &err), 0);
    ck_assert_int_eq(err, 36); /* TOPIC_ALREADY_EXISTS, from ZooKeeper */
    close(fd);
    char p[256];
    snprintf(p, sizeof p, "%s/brokers/topics/%s", chroot_, topic);
    const char *assign = tb_zk_get(zh, p, NULL);
    ck_assert_msg(assign && strstr(assign, "\"partitions\":{\"0\":["), "%s: %s", p,
                  assign ? assign : "(none)");

    /* every broker answers the same leaders, spread over all three */
    int32_t lead[SPREAD_PARTS], seen[SPREAD_PARTS];
    wait_leaders(&B[1], topic, NULL, lead);
    for (int i = 2; i <= NBROKERS; i++) {
        wait_leaders(&B[i], topic, lead, seen);
    }
    int per[NBROKERS + 1] = {0};
    for (int q = 0; q < SPREAD_PARTS; q++) {
        ck_assert(lead[q] >= 1 && lead[q] <= NBROKERS);
        per[lead[q]]++;
        snprintf(p, sizeof p, "%s/brokers/topics/%s/partitions/%d/state", chroot_, topic, q);
        const char *st = tb_zk_get(zh, p, NULL);
        ck_assert_msg(st != NULL, "%s missing", p);
        ck_assert_int_eq(tb_zk_json_int(st, "leader"), lead[q]);
        ck_assert_int_ge(tb_zk_json_int(st, "controller_epoch"), 1);
    }
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_msg(per[i] > 0, "broker %d leads none of %s's partitions", i, topic);

    /* one topic id for the topic everywhere: in the assignment (Kafka's version 3), and in each
     * broker's topic metadata file (so Metadata v10+ and Fetch v13 by id agree across brokers) */
    snprintf(p, sizeof p, "%s/brokers/topics/%s", chroot_, topic);
    ck_assert_msg(strstr(tb_zk_get(zh, p, NULL), "\"topic_id\":\""), "%s", tb_zk_get(zh, p, NULL));
    char ids[NBROKERS + 1][64];
    for (int i = 1; i <= NBROKERS; i++) {
        char mf[400], line[256];
        snprintf(mf, sizeof mf, "%s/%s.topic", B[i].data, topic);
        FILE *f = fopen(mf, "r");
        ck_assert_msg(f != NULL, "%s", mf);
        ids[i][0] = 0;
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "id=", 3) == 0 && strlen(line + 3) < sizeof ids[i])
                memcpy(ids[i], line + 3, strlen(line + 3) + 1);
        fclose(f);
        ck_assert_msg(ids[i][0], "no id in %s", mf);
        ck_assert_str_eq(ids[i], ids[1]);
    }

    /* not the leader: NOT_LEADER_OR_FOLLOWER (6) for Produce and Fetch; the leader takes it */
    int other = lead[0] == 1 ? 2 : 1;
    ck_assert_int_eq(produce_err(&B[other], topic, 0), 6);
    ck_assert_int_eq(fetch_err(&B[other], topic, 0), 6);
    ck_assert_int_eq(produce_err(&B[lead[0]], topic, 0), 0);
    ck_assert_int_eq(fetch_err(&B[lead[0]], topic, 0), 0);
    struct tb_list_offsets_resp lo;
    fd = tb_connect(B[other].port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_list_offsets(fd, topic, 0, -1, &lo), 0);
    ck_assert_int_eq(lo.error, 6);
    close(fd);

    /* auto-created by a Metadata request to broker 3: through ZooKeeper too, led, and known
     * to the others */
    {
        static struct tb_metadata am;
        const char *const auto_names[] = {"auto1"};
        fd = tb_connect(B[3].port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(tb_metadata(fd, auto_names, 1, true, &am), 0);
        close(fd);
        snprintf(p, sizeof p, "%s/brokers/topics/auto1", chroot_);
        ck_assert_ptr_nonnull(tb_zk_get(zh, p, NULL));
        for (int i = 1; i <= NBROKERS; i++)
            wait_leaders_n(&B[i], "auto1", 1, NULL, seen);
    }

    /* a replication factor above 1 is refused until replication exists (M3) */
    {
        fd = tb_connect(B[1].port);
        ck_assert_int_ge(fd, 0);
        struct tb_req rr;
        ck_assert_int_eq(tb_req_begin(&rr, 256, 19, 4, 4343), 0);
        tb_enc_create_topics(&rr, 4, "rf4", 3, 4, 10000, false);
        struct tb_frame ff;
        ck_assert_int_eq(tb_call(fd, &rr, 4343, &ff), 0);
        tb_req_free(&rr);
        ck_assert_int_eq(tb_dec_create_topics(&ff, 4, &err), 0);
        tb_frame_free(&ff);
        ck_assert_int_eq(err, 38); /* INVALID_REPLICATION_FACTOR: 4 replicas, 3 brokers */
        snprintf(p, sizeof p, "%s/brokers/topics/rf4", chroot_);
        ck_assert_ptr_null(tb_zk_get(zh, p, NULL));
        /* 3 replicas on 3 brokers: every partition on all three, leaders spread */
        ck_assert_int_eq(tb_req_begin(&rr, 256, 19, 4, 4344), 0);
        tb_enc_create_topics(&rr, 4, "rf3", 3, 3, 10000, false);
        ck_assert_int_eq(tb_call(fd, &rr, 4344, &ff), 0);
        tb_req_free(&rr);
        ck_assert_int_eq(tb_dec_create_topics(&ff, 4, &err), 0);
        tb_frame_free(&ff);
        close(fd);
        ck_assert_int_eq(err, 0);
        snprintf(p, sizeof p, "%s/brokers/topics/rf3", chroot_);
        const char *as = tb_zk_get(zh, p, NULL);
        ck_assert_ptr_nonnull(as);
        ck_assert_msg(count_of(as, ",") >= 3 * 2 + 3, "%s", as); /* [a,b,c] x 3 */
        int32_t led = 0;
        for (int q = 0; q < 3; q++) {
            snprintf(p, sizeof p, "%s/brokers/topics/rf3/partitions/%d/state", chroot_, q);
            int64_t until = tb_now_ms() + WAIT_MS;
            const char *st;
            while (!(st = tb_zk_get(zh, p, NULL)) || tb_zk_json_int(st, "leader") < 1) {
                ck_assert_msg(tb_now_ms() < until, "no state for %s", p);
                tb_sleep_ms(100);
            }
            led |= 1 << tb_zk_json_int(st, "leader");
            ck_assert_msg(strstr(st, "\"isr\":[") && count_of(st, ",") >= 6, "%s", st);
        }
        ck_assert_int_eq(__builtin_popcount((unsigned)led), 3);
    }

    /* fencing: /controller_epoch moved on behind the controller's back (as a newer controller
     * would): its next write fails the check, it says so and reads who leads again (itself,
     * /controller still names it), then writes under the version it now knows */
    {
        long c0, e0;
        controller_of(zh, &c0, &e0);
        char ep[128], val[32];
        snprintf(ep, sizeof ep, "%s/controller_epoch", chroot_);
        snprintf(val, sizeof val, "%ld", e0);
        ck_assert_int_eq(zoo_set(zh, ep, val, (int)strlen(val), -1), ZOK);
        fd = tb_connect(B[1].port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(tb_create_topic(fd, "fenced", 3, &err), 0);
        close(fd);
        int32_t l3[3];
        for (int i = 1; i <= NBROKERS; i++)
            wait_leaders_n(&B[i], "fenced", 3, NULL, l3);
        ck_assert_msg(tb_log_contains(&B[c0], "is no longer the controller"),
                      "the controller did not see its epoch move");
    }

    /* created with a config through broker 2: /config/topics/<t> holds it, and every broker
     * holding a partition (3 partitions: all three) created the topic with it */
    {
        char tool[600], out[400];
        const char *build = getenv("SPLICELOG_BUILD"), *root = getenv("SPLICELOG_ROOT");
        if (build)
            snprintf(tool, sizeof tool, "%s/san/splicelog", build);
        else
            snprintf(tool, sizeof tool, "%s/build/san/splicelog", root ? root : ".");
        ck_assert_int_eq(sh("'%s' topic create cfgd --partitions 3 --config cleanup.policy=compact "
                            "--bootstrap 127.0.0.1:%d >'%s/create.out' 2>&1",
                            tool, B[2].port, B[2].dir),
                         0);
        snprintf(p, sizeof p, "%s/config/topics/cfgd", chroot_);
        const char *cfg = tb_zk_get(zh, p, NULL);
        ck_assert_msg(cfg && strstr(cfg, "\"cleanup.policy\":\"compact\""), "%s: %s", p,
                      cfg ? cfg : "(none)");
        int32_t l3[3];
        wait_leaders_n(&B[1], "cfgd", 3, NULL, l3);
        for (int i = 1; i <= NBROKERS; i++) {
            snprintf(out, sizeof out, "%s/describe.out", B[i].dir);
            ck_assert_int_eq(sh("'%s' topic describe cfgd --bootstrap 127.0.0.1:%d >'%s' 2>&1 && "
                                "grep -q 'cleanup.policy *compact' '%s'",
                                tool, B[i].port, out, out),
                             0);
        }
    }

    /* /cluster/id is the cluster id every broker gives */
    snprintf(p, sizeof p, "%s/cluster/id", chroot_);
    const char *cj = tb_zk_get(zh, p, NULL);
    ck_assert_ptr_nonnull(cj);
    char id[64] = "";
    const char *at = strstr(cj, "\"id\":\"");
    ck_assert_ptr_nonnull(at);
    sscanf(at + 6, "%63[^\"]", id);
    ck_assert_int_eq((int)strlen(id), 22);
    char want_id[96];
    snprintf(want_id, sizeof want_id, "\"cluster_id\":\"%s\"", id);
    for (int i = 1; i <= NBROKERS; i++) {
        const char *info = cluster_info(&B[i]);
        ck_assert_msg(strstr(info, want_id), "broker %d: %s (want %s)", i, info, id);
    }

    /* kcat: every partition through broker 1 (it must reach each partition's leader), read
     * back through broker 2 */
    char got[4096], want[256];
    if (have_kcat) {
        for (int q = 0; q < SPREAD_PARTS; q++)
            ck_assert_int_eq(
                sh("printf 'p%d-a\\np%d-b\\n' | timeout 60 kcat -P -b 127.0.0.1:%d -t %s "
                   "-p %d -X message.send.max.retries=20 2>'%s/kcat-produce.err'",
                   q, q, B[1].port, topic, q, B[1].dir),
                0);
        for (int q = 0; q < SPREAD_PARTS; q++) {
            kcat_read(&B[2], topic, q, got, sizeof got);
            snprintf(want, sizeof want, "%sp%d-a\np%d-b\n", q == 0 ? "direct-0\n" : "", q, q);
            ck_assert_msg(strcmp(got, want) == 0, "partition %d: '%s', want '%s'", q, got, want);
        }
    }

    /* kill -9 the controller, a leader too: once its session has expired, the new controller
     * takes its partitions offline (RF 1: no other replica), in ZooKeeper and in every live
     * broker's Metadata */
    long ctl, epoch;
    controller_of(zh, &ctl, &epoch);
    int victim = (int)ctl, q0 = -1, alive = victim == 1 ? 2 : 1;
    for (int q = SPREAD_PARTS - 1; q >= 0; q--)
        if (lead[q] == victim)
            q0 = q;
    ck_assert_int_ge(q0, 0);
    ck_assert_int_ge(tb_broker_stop(&B[victim], SIGKILL), 0);
    int32_t offline[SPREAD_PARTS];
    for (int q = 0; q < SPREAD_PARTS; q++)
        offline[q] = lead[q] == victim ? -1 : lead[q];
    for (int i = 1; i <= NBROKERS; i++)
        if (i != victim)
            wait_leaders(&B[i], topic, offline, seen);
    snprintf(p, sizeof p, "%s/brokers/topics/%s/partitions/%d/state", chroot_, topic, q0);
    int64_t until = tb_now_ms() + WAIT_MS;
    while (!strstr(tb_zk_get(zh, p, NULL), "\"leader\":-1,")) {
        ck_assert_msg(tb_now_ms() < until, "%s: %s", p, tb_zk_get(zh, p, NULL));
        tb_sleep_ms(100);
    }
    long ctl2, epoch2;
    controller_of(zh, &ctl2, &epoch2);
    ck_assert_int_ne(ctl2, victim);
    ck_assert_int_ge(tb_zk_json_int(tb_zk_get(zh, p, NULL), "controller_epoch"), epoch2);
    ck_assert_int_eq(produce_err(&B[alive], topic, q0), 6);

    /* restarted: it leads its partitions again, the data still there */
    ck_assert_int_eq(start_broker(&B[victim], victim, NULL), 0);
    for (int i = 1; i <= NBROKERS; i++)
        wait_leaders(&B[i], topic, lead, seen);
    if (have_kcat) {
        kcat_read(&B[alive], topic, q0, got, sizeof got);
        snprintf(want, sizeof want, "%sp%d-a\np%d-b\n", q0 == 0 ? "direct-0\n" : "", q0, q0);
        ck_assert_str_eq(got, want);
    }

    /* grown to 8 partitions through broker 3 (CreatePartitions): every broker sees 8 led */
    char tool[600];
    const char *build = getenv("SPLICELOG_BUILD"), *root = getenv("SPLICELOG_ROOT");
    if (build)
        snprintf(tool, sizeof tool, "%s/san/splicelog", build);
    else
        snprintf(tool, sizeof tool, "%s/build/san/splicelog", root ? root : ".");
    ck_assert_int_eq(sh("'%s' topic add-partitions %s --total 8 --bootstrap 127.0.0.1:%d "
                        ">'%s/add.out' 2>&1",
                        tool, topic, B[3].port, B[3].dir),
                     0);
    int32_t lead8[8];
    for (int i = 1; i <= NBROKERS; i++)
        wait_leaders_n(&B[i], topic, 8, NULL, lead8);
    for (int q = 0; q < SPREAD_PARTS; q++)
        ck_assert_int_eq(lead8[q], lead[q]);
    snprintf(p, sizeof p, "%s/brokers/topics/%s/partitions/7/state", chroot_, topic);
    ck_assert_int_eq(tb_zk_json_int(tb_zk_get(zh, p, NULL), "leader"), lead8[7]);

    /* deleted through broker 2: gone from ZooKeeper and from every broker */
    fd = tb_connect(B[2].port);
    ck_assert_int_ge(fd, 0);
    struct tb_req r;
    ck_assert_int_eq(tb_req_begin(&r, 256, 20, 1, 4242), 0);
    tb_enc_delete_topics(&r, 1, topic, 10000);
    struct tb_frame f;
    ck_assert_int_eq(tb_call(fd, &r, 4242, &f), 0);
    tb_req_free(&r);
    ck_assert_int_eq(tb_dec_delete_topics(&f, 1, &err), 0);
    tb_frame_free(&f);
    close(fd);
    ck_assert_int_eq(err, 0);
    snprintf(p, sizeof p, "%s/brokers/topics/%s", chroot_, topic);
    until = tb_now_ms() + WAIT_MS;
    for (;;) {
        bool gone = tb_zk_get(zh, p, NULL) == NULL;
        for (int i = 1; gone && i <= NBROKERS; i++) {
            struct tb_metadata m;
            metadata_of(&B[i], &m);
            gone = tb_md_topic(&m, topic) < 0;
        }
        if (gone)
            break;
        ck_assert_msg(tb_now_ms() < until, "topic %s still there", topic);
        tb_sleep_ms(100);
    }
    /* a clean stop of each: exit 0 (under ASan: no leak, no error) */
    for (int i = 1; i <= NBROKERS; i++)
        ck_assert_int_eq(tb_broker_stop(&B[i], SIGTERM), 0);
    zookeeper_close(zh);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cluster_zk");
    TCase *tc = tb_clu_tcase("zookeeper", teardown, 240);
    tcase_add_test(tc, three_brokers_one_controller_failover);
    tcase_add_test(tc, paused_past_session_registers_again);
    tcase_add_test(tc, zookeeper_restarted);
    tcase_add_test(tc, duplicate_broker_id_refused);
    tcase_add_test(tc, a_data_dir_joins_only_its_own_cluster);
    tcase_add_test(tc, zookeeper_down_at_start_up);
    tcase_add_test(tc, topics_through_the_controller);
    tcase_add_test(tc, transactions_without_their_state_topic_idempotence_served);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
