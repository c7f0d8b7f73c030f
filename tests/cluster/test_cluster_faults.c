/*
 * test_cluster_faults — the replicated cluster under faults (issue 18; docs/cluster.md "Fault
 * tests"): a real ZooKeeper and three brokers on loopback, a topic of 3 partitions with 3
 * replicas and min.insync.replicas=2. A librdkafka producer with its defaults that matter here
 * (acks=all, enable.idempotence=true) sends numbered records at a steady rate from its own
 * thread, and a consumer group of two librdkafka consumers (their defaults, automatic commits,
 * reading from the earliest offset) reads along, while a nemesis, round after round, picks
 * one fault:
 *   - kill -9 a random broker (the controller and leaders included), restart it on its data
 *     once ZooKeeper lets it register again;
 *   - SIGSTOP a random broker for longer than its ZooKeeper session, then SIGCONT it (it comes
 *     back fenced: its session expired, the others took its leaderships);
 *   - kill -9 ZooKeeper and restart it on the same data.
 * Then the faults stop, the producer flushes, every replica rejoins the ISR, and the test
 * checks what was acknowledged:
 *   - every record the producer was told is written is in the log exactly once, at the
 *     partition and offset its delivery report gave (read back from the leaders);
 *   - the three replicas of each partition hold the same batches, byte for byte (every .log
 *     segment walked batch by batch: digest and count of the batch bytes);
 *   - the group was given every acknowledged record, each at the partition and offset where
 *     the final log holds it (never a record a leader later truncated: consumers read only
 *     up to the high watermark), through coordinator failovers and rebalances;
 *   - no broker died on its own (sanitizer reports end the process: it would be gone).
 * Printed: rounds of each fault, records sent / acknowledged / failed, lost = 0, duplicates = 0,
 * divergent replicas = 0, the group's records (given, more than once), rebalances, missed = 0.
 * CLUSTER_FAULT_SECONDS sets how long the faults go on (make test: 40; make test-cluster: 600);
 * CLUSTER_FAULT_SEED the random choices (printed, to replay a run). Network partitions are
 * test_cluster_partition's. Skipped, saying so, without java or Debian's zookeeper package. Every
 * wait is bounded.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tb_broker.h"
#include "tb_nemesis.h"
#include "tb_zk.h"

#define SESSION_MS 3000
#define NBROKERS   3

static struct tb_zk Z;
static struct tb_broker B[NBROKERS + 1];

static void zk_start(void) { tb_zk_start(&Z, "test_cluster_faults"); }
static void zk_stop(void) { tb_zk_stop(&Z); }

static void teardown(void)
{
    for (int i = 0; i <= NBROKERS; i++)
        tb_broker_cleanup(&B[i]);
}

START_TEST(acknowledged_records_survive_faults)
{
    TB_ZK_SKIP(&Z, "test_cluster_faults");
    int seconds = tb_nem_seconds("test_cluster_faults", 40);
    static struct tb_nemesis nem;
    tb_nem_init(&nem, "test_cluster_faults", B, NBROKERS, &Z, "/faults");
    for (int i = 1; i <= NBROKERS; i++)
        tb_nem_start_broker(&nem, i, SESSION_MS, NULL);
    tb_nem_create_topic(&nem);
    tb_nem_produce_start(&nem);
    tb_nem_consume_start(&nem);

    /* the nemesis */
    int kills = 0, pauses = 0, zk_restarts = 0, rounds = 0;
    int64_t end = tb_now_ms() + (int64_t)seconds * 1000;
    tb_sleep_ms(2000);
    while (tb_now_ms() < end) {
        int what = rand() % 3, v = 1 + rand() % NBROKERS;
        switch (what) {
        case 0:
            fprintf(stderr, "nemesis: kill -9 broker %d\n", v);
            tb_broker_stop(&B[v], SIGKILL);
            tb_sleep_ms(500 + rand() % 2000);
            tb_nem_start_broker(&nem, v, SESSION_MS, NULL);
            kills++;
            break;
        case 1:
            fprintf(stderr, "nemesis: SIGSTOP broker %d past its session\n", v);
            kill(B[v].pid, SIGSTOP);
            tb_sleep_ms(SESSION_MS + 1000 + rand() % 2000);
            kill(B[v].pid, SIGCONT);
            pauses++;
            break;
        default:
            fprintf(stderr, "nemesis: kill -9 ZooKeeper, restart it\n");
            kill(Z.pid, SIGKILL);
            waitpid(Z.pid, NULL, 0);
            tb_sleep_ms(500 + rand() % 1500);
            Z.pid = tb_zk_spawn(Z.port, Z.dir);
            ck_assert_int_gt(Z.pid, 0);
            zk_restarts++;
            break;
        }
        rounds++;
        tb_sleep_ms(2000 + rand() % 3000); /* the cluster works between faults */
    }

    /* heal and check: every ISR full, replicas identical, every acknowledged record once */
    tb_nem_finish(
        &nem, "%d rounds (%d kill -9, %d SIGSTOP past the session of %d ms, %d ZooKeeper restarts)",
        rounds, kills, pauses, SESSION_MS, zk_restarts);
}
END_TEST

int main(void)
{
    return tb_nem_run("cluster_faults", zk_start, zk_stop, teardown,
                      acknowledged_records_survive_faults);
}
