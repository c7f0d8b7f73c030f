/*
 * test_sl_errors — one error enum: Kafka's numbers for broker errors, the library's own
 * below -100, names and descriptions for all, the retriable set.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "splicelog.h"
#include "tb_check.h"

START_TEST(test_kafka_numbers)
{
    /* apache/kafka Errors.java */
    ck_assert_int_eq(SL_ERR_UNKNOWN, -1);
    ck_assert_int_eq(SL_ERR_NO_ERROR, 0);
    ck_assert_int_eq(SL_ERR_OFFSET_OUT_OF_RANGE, 1);
    ck_assert_int_eq(SL_ERR_CORRUPT_MESSAGE, 2);
    ck_assert_int_eq(SL_ERR_UNKNOWN_TOPIC_OR_PART, 3);
    ck_assert_int_eq(SL_ERR_NOT_LEADER_OR_FOLLOWER, 6);
    ck_assert_int_eq(SL_ERR_MSG_SIZE_TOO_LARGE, 10);
    ck_assert_int_eq(SL_ERR_UNSUPPORTED_VERSION, 35);
    ck_assert_int_eq(SL_ERR_INVALID_REQUEST, 42);
    ck_assert_int_eq(SL_ERR_INVALID_RECORD, 87);
}
END_TEST

START_TEST(test_library_errors_are_apart)
{
    static const sl_err local[] = {SL_ERR__TRANSPORT,
                                   SL_ERR__TIMED_OUT,
                                   SL_ERR__MSG_TIMED_OUT,
                                   SL_ERR__QUEUE_FULL,
                                   SL_ERR__MSG_SIZE_TOO_LARGE,
                                   SL_ERR__UNKNOWN_TOPIC,
                                   SL_ERR__UNKNOWN_PARTITION,
                                   SL_ERR__INVALID_ARG,
                                   SL_ERR__INVALID_CONF,
                                   SL_ERR__NOT_IMPLEMENTED,
                                   SL_ERR__BAD_MSG,
                                   SL_ERR__CRC,
                                   SL_ERR__DESTROYED,
                                   SL_ERR__AUTO_OFFSET_RESET,
                                   SL_ERR__BAD_COMPRESSION,
                                   SL_ERR__PARTITION_EOF,
                                   SL_ERR__ASSIGN_PARTITIONS,
                                   SL_ERR__REVOKE_PARTITIONS,
                                   SL_ERR__SSL,
                                   SL_ERR__ALL_BROKERS_DOWN,
                                   SL_ERR__NO_OFFSET,
                                   SL_ERR__MAX_POLL_EXCEEDED,
                                   SL_ERR__RESOLVE};
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
        ck_assert_int_lt(local[i], SL_ERR__END);
        ck_assert_int_gt(local[i], SL_ERR__BEGIN);
        ck_assert_ptr_nonnull(strstr(sl_err2str(local[i]), "Local: "));
        ck_assert_int_eq(sl_err2name(local[i])[0], '_');
        for (size_t j = 0; j < i; j++)
            ck_assert_int_ne(local[i], local[j]);
    }
}
END_TEST

START_TEST(test_strings)
{
    ck_assert_str_eq(sl_err2str(SL_ERR_NO_ERROR), "Success");
    ck_assert_str_eq(sl_err2str(SL_ERR__QUEUE_FULL), "Local: Queue full");
    ck_assert_str_eq(sl_err2str(SL_ERR_MSG_SIZE_TOO_LARGE), "Broker: Message size too large");
    ck_assert_str_eq(sl_err2name(SL_ERR_UNKNOWN_TOPIC_OR_PART), "UNKNOWN_TOPIC_OR_PART");
    ck_assert_str_eq(sl_err2name(SL_ERR__QUEUE_FULL), "_QUEUE_FULL");
    /* Unknown codes still give a string. */
    ck_assert_ptr_nonnull(strstr(sl_err2str((sl_err)9999), "Broker"));
    ck_assert_ptr_nonnull(strstr(sl_err2str((sl_err)-150), "Local"));
    ck_assert_str_eq(sl_err2name((sl_err)9999), "UNKNOWN_CODE");
    for (int e = -1; e <= 87; e++)
        ck_assert_ptr_nonnull(sl_err2str((sl_err)e));
}
END_TEST

START_TEST(test_retriable)
{
    ck_assert(sl_err_is_retriable(SL_ERR__TRANSPORT));
    ck_assert(sl_err_is_retriable(SL_ERR_NOT_LEADER_OR_FOLLOWER));
    ck_assert(sl_err_is_retriable(SL_ERR_LEADER_NOT_AVAILABLE));
    ck_assert(sl_err_is_retriable(SL_ERR_REQUEST_TIMED_OUT));
    ck_assert(!sl_err_is_retriable(SL_ERR_MSG_SIZE_TOO_LARGE));
    ck_assert(!sl_err_is_retriable(SL_ERR_CORRUPT_MESSAGE));
    ck_assert(!sl_err_is_retriable(SL_ERR_INVALID_RECORD));
    ck_assert(!sl_err_is_retriable(SL_ERR__QUEUE_FULL));
    ck_assert(!sl_err_is_retriable(SL_ERR_NO_ERROR));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sl_errors");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, test_kafka_numbers);
    tcase_add_test(tc, test_library_errors_are_apart);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_retriable);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
