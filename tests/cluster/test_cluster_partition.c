/*
 * test_cluster_partition — the replicated cluster under network partitions (issue 18;
 * docs/cluster.md "Fault tests"). The test makes its own network (tests/support/tb_netns): a
 * bridge in the root namespace where ZooKeeper is reached, and one namespace per broker joined
 * to it by a veth pair; each broker runs in its namespace (`ip netns exec`) on its address.
 * A topic of 3 partitions with 3 replicas and min.insync.replicas=2 gets numbered records from
 * a librdkafka producer (acks=all, enable.idempotence=true; tests/support/tb_nemesis) at a
 * steady rate, read along by a consumer group of two librdkafka consumers, while a nemesis,
 * round after round, makes one partition, each lasting longer
 * than the ZooKeeper session (or the replica lag time), then heals it and waits (bounded) for the
 * ISR to fill:
 *   - cut a random broker from everything (its veth down on the bridge side);
 *   - cut the controller from everything;
 *   - isolate the leader of a partition the producer writes to from ZooKeeper and the other
 *     brokers but not from the producer: it still receives writes and must not acknowledge
 *     them (acks=all: its followers are gone, its ISR cannot shrink without ZooKeeper), the
 *     others elect a new leader, and when healed it must truncate what it appended alone;
 *   - cut the leader of a partition from its peers only (ZooKeeper and the producer still
 *     reach it), past replica.lag.time.max.ms: it keeps leading, shrinks the ISR to itself
 *     (below min.insync.replicas: writes refused, not acknowledged), and when healed the
 *     followers catch up and rejoin.
 * Then the producer flushes and the checks of tb_nem_finish: every acknowledged record exactly
 * once at its acknowledged partition and offset, replicas identical batch for batch, the group
 * given every acknowledged record and none where the final log does not hold it (an isolated
 * leader's unacknowledged suffix is never read), no broker died. Printed: rounds, the partitions'
 * states at each step, records sent / acknowledged / failed, lost, duplicates, divergent replicas,
 * the longest pause in one partition's acknowledgements. CLUSTER_FAULT_SECONDS sets how long the
 * faults go on (default 50), CLUSTER_FAULT_SEED the random choices. Skipped, saying so, when not
 * root, without `ip netns`, java or Debian's zookeeper package. The namespaces, veths and bridge go
 * however the test ends (tb_netns' reaper); those of an earlier run that was killed are deleted at
 * the start.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tb_broker.h"
#include "tb_nemesis.h"
#include "tb_netns.h"
#include "tb_zk.h"

#define SESSION_MS 3000
#define NBROKERS   3
#define CHROOT     "/partition"

static struct tb_netns N;
static struct tb_zk Z;
static struct tb_broker B[NBROKERS + 1];

static void net_start(void)
{
    tb_netns_setup(&N, NBROKERS);
    if (!N.skip_why)
        tb_zk_start(&Z, "test_cluster_partition");
}

static void net_stop(void)
{
    for (int i = 0; i <= NBROKERS; i++) /* the brokers leave their namespaces first */
        tb_broker_cleanup(&B[i]);
    tb_zk_stop(&Z);
    tb_netns_teardown(&N);
}

/* Broker id in its namespace, on its address, reaching ZooKeeper through the bridge. */
static void start_broker(struct tb_nemesis *n, int id)
{
    char zk[96];
    snprintf(zk, sizeof zk, "%s:%d" CHROOT, N.gw, Z.port);
    snprintf(B[id].host, sizeof B[id].host, "%s", N.addr[id]);
    B[id].wrap = N.wrap[id];
    tb_nem_start_broker(n, id, SESSION_MS, zk);
}

static void teardown(void)
{
    for (int i = 0; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

static int controller(zhandle_t *zh)
{
    return (int)tb_zk_json_int(tb_zk_get(zh, CHROOT "/controller", NULL), "brokerid");
}

START_TEST(acknowledged_records_survive_partitions)
{
    if (N.skip_why) {
        fprintf(stderr, "test_cluster_partition: skipped: %s\n", N.skip_why);
        return;
    }
    TB_ZK_SKIP(&Z, "test_cluster_partition");
    int seconds = tb_nem_seconds("test_cluster_partition", 50);
    static struct tb_nemesis nem;
    tb_nem_init(&nem, "test_cluster_partition", B, NBROKERS, &Z, CHROOT);
    for (int i = 1; i <= NBROKERS; i++)
        start_broker(&nem, i);
    nem.src_addr = N.client;
    tb_nem_create_topic(&nem);
    zhandle_t *zh = tb_zk_open(&Z);
    tb_nem_print_states(&nem, zh, "nemesis: at the start:");
    tb_nem_produce_start(&nem);
    tb_nem_consume_start(&nem);

    /* the nemesis: the four kinds in turn from a random one, random victims */
    int n_cut = 0, n_ctl = 0, n_iso = 0, n_peers = 0, rounds = 0, kind = rand() % 4;
    int64_t t0 = tb_now_ms(), end = t0 + (int64_t)seconds * 1000;
    tb_sleep_ms(2000);
    while (tb_now_ms() < end) {
        int v = 1 + rand() % NBROKERS, p = rand() % nem.nparts;
        int ms = SESSION_MS + 1000 + rand() % 2000;
        long acked = atomic_load(&nem.n_acked);
        char before[64];
        snprintf(before, sizeof before, "nemesis: %.1f s:", (double)(tb_now_ms() - t0) / 1000);
        tb_nem_print_states(&nem, zh, before);
        switch ((kind + rounds) % 4) {
        case 0:
            fprintf(stderr, "nemesis: cut broker %d from everything for %d ms\n", v, ms);
            ck_assert_int_eq(tb_netns_cut(&N, v, true), 0);
            tb_sleep_ms(ms);
            ck_assert_int_eq(tb_netns_cut(&N, v, false), 0);
            n_cut++;
            break;
        case 1:
            v = controller(zh);
            ck_assert_msg(v >= 1 && v <= NBROKERS, "no controller");
            fprintf(stderr, "nemesis: cut the controller, broker %d, from everything for %d ms\n",
                    v, ms);
            ck_assert_int_eq(tb_netns_cut(&N, v, true), 0);
            tb_sleep_ms(ms);
            ck_assert_int_eq(tb_netns_cut(&N, v, false), 0);
            n_ctl++;
            break;
        default: { /* 2: from ZooKeeper and its peers; 3: from its peers only */
            bool zk_too = (kind + rounds) % 4 == 2;
            v = tb_nem_leader(&nem, zh, p);
            ck_assert_msg(v >= 1 && v <= NBROKERS, "partition %d has no leader", p);
            if (!zk_too) /* past replica.lag.time.max.ms: the ISR shrinks */
                ms = 4000 + 2000 + rand() % 2000;
            fprintf(stderr,
                    "nemesis: cut broker %d, leader of partition %d, from %s (not from the "
                    "producer) for %d ms\n",
                    v, p, zk_too ? "ZooKeeper and its peers" : "its peers only", ms);
            ck_assert_int_eq(tb_netns_isolate(&N, v, true, zk_too), 0);
            tb_sleep_ms(ms);
            ck_assert_int_eq(tb_netns_isolate(&N, v, false, zk_too), 0);
            *(zk_too ? &n_iso : &n_peers) += 1;
            break;
        }
        }
        rounds++;
        fprintf(stderr, "nemesis: healed; %ld records acknowledged during the fault\n",
                atomic_load(&nem.n_acked) - acked);
        /* each round one fault: the cluster recovers (bounded) before the next */
        char why[512];
        int64_t healed = tb_now_ms(), until = healed + 30000;
        while (!tb_nem_isr_full(&nem, zh, why, sizeof why) && tb_now_ms() < until)
            tb_sleep_ms(200);
        snprintf(before, sizeof before,
                 "nemesis: +%.1f s after healing:", (double)(tb_now_ms() - healed) / 1000);
        tb_nem_print_states(&nem, zh, before);
        tb_sleep_ms(1000 + rand() % 2000);
    }
    zookeeper_close(zh);

    tb_nem_finish(&nem,
                  "%d rounds (%d cuts of a broker, %d of the controller, %d isolated leaders, each "
                  "past the session of %d ms; %d leaders cut from their peers only)",
                  rounds, n_cut, n_ctl, n_iso, SESSION_MS, n_peers);
}
END_TEST

int main(void)
{
    return tb_nem_run("cluster_partition", net_start, net_stop, teardown,
                      acknowledged_records_survive_partitions);
}
