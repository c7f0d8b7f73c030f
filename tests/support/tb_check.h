/*
 * tb_check — Check-suite glue for tests that run a real broker (tb_broker): start it or fail
 * the test with the reason, connect or fail, and the standard teardown that fails a test whose
 * broker died or did not shut down cleanly.
 *
 * Contract: these call Check's ck_assert/ck_abort, so they may only be called from a Check
 * test, setup or teardown function. They never leave a temp dir behind on failure. The
 * request helpers (create a topic, produce a sequence) speak raw protocol through tb_kafka.h
 * and fail the test unless the broker answers without error.
 */
#ifndef SPLICELOG_TB_CHECK_H
#define SPLICELOG_TB_CHECK_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_broker.h"

/* A suite's main: SIGPIPE ignored (a broker may close first), the suite run (CK_NORMAL, forking
 * as CK_FORK says); the process's exit status: 0 when every test passed, else 1. */
int tb_ck_run(Suite *s);

/* tb_broker_start(b, extra) or, on failure, remove b's temp dir and abort the test. */
void tb_ck_start(struct tb_broker *b, const char *const *extra);
/* Like tb_ck_start on a zeroed b: a fresh data dir. */
void tb_ck_start_fresh(struct tb_broker *b, const char *const *extra);
/* SIGTERM; the broker must exit 0 (its clean shutdown). */
void tb_ck_stop_clean(struct tb_broker *b);
/* tb_connect to b's port or fail the test; returns the fd. */
int tb_ck_connect(const struct tb_broker *b);
/* CreateTopics topic with n partitions on fd; the topic must be created (error 0). */
void tb_ck_create_topic(int fd, const char *topic, int n);
/* Produces one batch of count records to topic/part: values "prefix-<first + i>" padded to pad
 * bytes (tb_batch_values), timestamps from 1700000000000. Error 0 required; its base offset. */
int64_t tb_ck_produce_seq(int fd, const char *topic, int32_t part, const char *prefix, int first,
                          int count, size_t pad);

/* InitProducerId v(version) for txn_id (NULL: an idempotent producer) with timeout_ms; the
 * request must succeed with error 0. *pid, *epoch: what it handed out. */
void tb_ck_init_pid(int fd, int16_t version, const char *txn_id, int32_t timeout_ms, int64_t *pid,
                    int16_t *epoch);
/* Produce v7 of one batch of count records "<prefix>-<first + i>" to topic/part: from producer
 * (pid, epoch) at sequence seq when pid >= 0 (transactional when txn_id is not NULL), else a
 * plain batch. The request must succeed; the broker's error code, *base (may be NULL) the
 * batch's base offset. */
int16_t tb_ck_produce_pid(int fd, const char *txn_id, const char *topic, int32_t part,
                          const char *prefix, int64_t pid, int16_t epoch, int32_t seq, int first,
                          int count, int64_t *base);
/* ListOffsets (latest) of topic/part at isolation level iso; error 0 required. */
int64_t tb_ck_log_end(int fd, int8_t iso, const char *topic, int32_t part);

/*
 * The teardown: when b runs, it must still be alive and exit 0 on SIGTERM; then its temp dir
 * is removed either way.
 */
void tb_ck_finish(struct tb_broker *b);

#endif
