/*
 * tb_clu — Check glue shared by the cluster suites (tests/cluster, tests/integration
 * test_cluster_*): their ZooKeeper fixture and the requests every one of them makes against a
 * running cluster of tb_broker processes, written once.
 *
 * Contract
 * - tb_clu_zk is the suite's ZooKeeper (one per test process). tb_clu_tcase() returns a TCase
 *   whose unchecked fixture starts it (tb_zk_start under the test program's name) before the
 *   case's first test and stops it (tb_zk_stop) after its last, so every TCase of a suite gets
 *   a fresh server; teardown (may be NULL) runs after each test as a checked fixture, and a
 *   test may run timeout_s seconds. The caller adds its tests and the case to its Suite.
 * - Like tb_check, the request helpers call ck_assert, so they may only run inside a Check
 *   test, setup or teardown; every failure fails the test with the reason. They open and close
 *   their own connection and leave no state behind.
 */
#ifndef SPLICELOG_TB_CLU_H
#define SPLICELOG_TB_CLU_H

#include <check.h>
#include <stdint.h>

#include "tb_codec.h"
#include "tb_zk.h"

struct tb_metadata;

extern struct tb_zk tb_clu_zk;

TCase *tb_clu_tcase(const char *name, void (*teardown)(void), int timeout_s);

/* Metadata (no auto-creation) of topic from the broker listening on port, through a connection
 * of its own; the request must succeed. A static buffer, overwritten by the next call. */
const struct tb_metadata *tb_clu_metadata(int port, const char *topic);

/* CreateTopics v4 of topic (nparts partitions, replication factor rf, a 10 s timeout) sent
 * through the broker listening on port; the answer's error must be 0 (created). */
void tb_clu_create_topic(int port, const char *topic, int32_t nparts, int16_t rf);

/* FindCoordinator v4 of key_type (0 group, 1 transactional id) for the batch of two keys sent
 * to the broker listening on port: the request must succeed, both keys be answered without
 * error, key i by node want[i] at port want_port[i]. */
void tb_clu_find_coordinators_v4(int port, int8_t key_type, const char *const keys[2],
                                 const int32_t want[2], const int want_port[2]);

/* TB_CODEC_ROUND (tb_codec.h) on a connection of its own to the broker listening on port, the
 * answer's arena over mem (a static array of the suite's). */
#define TB_CLU_ROUND(port, key, v, corr, client, ENC, req, DEC, mem, out, f)                       \
    do {                                                                                           \
        int cfd_ = tb_connect(port);                                                               \
        ck_assert_int_ge(cfd_, 0);                                                                 \
        struct kp_arena ca_;                                                                       \
        kp_arena_init(&ca_, (mem), sizeof(mem));                                                   \
        TB_CODEC_ROUND(cfd_, key, v, corr, client, ENC, req, DEC, &ca_, out, f);                   \
        close(cfd_);                                                                               \
    } while (0)

#endif
