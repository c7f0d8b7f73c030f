/*
 * tb_check — Check-suite glue for tests that run a real broker (tb_broker): start it or fail
 * the test with the reason, connect or fail, and the standard teardown that fails a test whose
 * broker died or did not shut down cleanly.
 *
 * Contract: these call Check's ck_assert/ck_abort, so they may only be called from a Check
 * test, setup or teardown function. They never leave a temp dir behind on failure.
 */
#ifndef SPLICELOG_TB_CHECK_H
#define SPLICELOG_TB_CHECK_H

#include "tb_broker.h"

/* tb_broker_start(b, extra) or, on failure, remove b's temp dir and abort the test. */
void tb_ck_start(struct tb_broker *b, const char *const *extra);
/* Like tb_ck_start on a zeroed b: a fresh data dir. */
void tb_ck_start_fresh(struct tb_broker *b, const char *const *extra);
/* SIGTERM; the broker must exit 0 (its clean shutdown). */
void tb_ck_stop_clean(struct tb_broker *b);
/* tb_connect to b's port or fail the test; returns the fd. */
int tb_ck_connect(const struct tb_broker *b);
/*
 * The teardown: when b runs, it must still be alive and exit 0 on SIGTERM; then its temp dir
 * is removed either way.
 */
void tb_ck_finish(struct tb_broker *b);

#endif
