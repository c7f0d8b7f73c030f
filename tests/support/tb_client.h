/*
 * tb_client — Check-level test support for suites that drive libsplicelog (splicelog.h)
 * against a real broker (tb_broker): the broker started with its bootstrap address, a conf
 * property set or the test failed with the reason, and checks cheap enough for loops over
 * many records.
 *
 * Contract: like tb_check.h, these call Check, so only from a Check test, setup or teardown
 * (TB_FAST* from any thread Check allows failing on: they call ck_assert_msg only when the
 * condition fails).
 */
#ifndef SPLICELOG_TB_CLIENT_H
#define SPLICELOG_TB_CLIENT_H

#include <check.h>
#include <stddef.h>

#include "splicelog.h"
#include "tb_broker.h"

/*
 * For loops over many records: Check's ck_assert* report every passing check to the test
 * runner (a write per call), which costs more than the work under test; these call into Check
 * only when the condition fails.
 */
#define TB_FAST(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_assert_msg(0, "failed: %s", #cond);                                                 \
    } while (0)
#define TB_FAST_MSG(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_assert_msg(0, __VA_ARGS__);                                                         \
    } while (0)
#define TB_FAST_EQ(a, b)                                                                           \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            ck_assert_msg(0, "%s == %s failed: %lld != %lld", #a, #b, a_, b_);                     \
    } while (0)

/* tb_broker_start(b, extra) or fail the test with the reason; "127.0.0.1:PORT" into bootstrap
 * (cap bytes). */
void tb_cl_start(struct tb_broker *b, const char *const *extra, char *bootstrap, size_t cap);
/* sl_conf_set(c, name, value) or fail the test with the reason. */
void tb_cl_set(sl_conf *c, const char *name, const char *value);

#endif
