/*
 * tb_clu — Check glue shared by the cluster suites (tests/cluster, tests/integration
 * test_cluster_*): the requests every one of them makes against a running cluster of tb_broker
 * processes, written once.
 *
 * Contract: like tb_check, these call ck_assert, so they may only run inside a Check test,
 * setup or teardown; every failure fails the test with the reason. They open and close their
 * own connection and leave no state behind.
 */
#ifndef SPLICELOG_TB_CLU_H
#define SPLICELOG_TB_CLU_H

#include <stdint.h>

/* CreateTopics v4 of topic (nparts partitions, replication factor rf, a 10 s timeout) sent
 * through the broker listening on port; the answer's error must be 0 (created). */
void tb_clu_create_topic(int port, const char *topic, int32_t nparts, int16_t rf);

#endif
