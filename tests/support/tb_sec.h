/*
 * tb_sec — Check-level test support for brokers with SASL users: SCRAM credentials written
 * into a stopped broker's data directory (the broker's own br_cred store, as `splicelog user
 * create` does), and the start / stop / add users / restart sequence that gives a test a
 * broker whose SASL_PLAINTEXT listener knows them.
 *
 * Contract: like tb_check.h, these call ck_assert, so only from a Check test, setup or
 * teardown; a failure fails the test. Single-threaded.
 */
#ifndef SPLICELOG_TB_SEC_H
#define SPLICELOG_TB_SEC_H

#include "tb_broker.h"

/* SCRAM-SHA-256 and SCRAM-SHA-512 credentials for user with password pw (4096 iterations) in
 * the store of data dir data; no broker may run on it. */
void tb_sec_add_user(const char *data, const char *user, const char *pw);

/*
 * Starts b (zeroed first) with the options base then more (each NULL-terminated; more may be
 * NULL; 30 at most in all), stops it, adds users (user, password pairs, NULL-terminated) to its
 * data dir, and starts it again. Returns the SASL_PLAINTEXT listener's port (base must declare
 * one).
 */
int tb_sec_start(struct tb_broker *b, const char *const *base, const char *const *more,
                 const char *const *users);

#endif
