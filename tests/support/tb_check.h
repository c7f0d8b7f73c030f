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

#include <stddef.h>
#include <stdint.h>

#include "tb_broker.h"

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

/*
 * The teardown: when b runs, it must still be alive and exit 0 on SIGTERM; then its temp dir
 * is removed either way.
 */
void tb_ck_finish(struct tb_broker *b);

#endif
