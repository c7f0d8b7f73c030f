/* tb_check — see tb_check.h. */
#include "tb_check.h"

#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "tb_kafka.h"
#include "tb_txn.h"

int tb_ck_run(Suite *s)
{
    signal(SIGPIPE, SIG_IGN);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

void tb_ck_start(struct tb_broker *b, const char *const *extra)
{
    int rc = tb_broker_start(b, extra);
    if (rc != 0) {
        tb_broker_cleanup(b); /* teardown does not run after a failed setup */
        ck_abort_msg("broker start: %s (binary %s)", strerror(-rc), tb_broker_binary());
    }
}

void tb_ck_start_fresh(struct tb_broker *b, const char *const *extra)
{
    memset(b, 0, sizeof(*b));
    tb_ck_start(b, extra);
}

static void assert_clean_exit(int st)
{
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "broker did not exit 0 on SIGTERM (status 0x%x)", st);
}

void tb_ck_stop_clean(struct tb_broker *b) { assert_clean_exit(tb_broker_stop(b, SIGTERM)); }

int tb_ck_connect(const struct tb_broker *b)
{
    int fd = tb_connect(b->port);
    ck_assert_msg(fd >= 0, "connect: %s", strerror(-fd));
    return fd;
}

void tb_ck_finish(struct tb_broker *b)
{
    if (b->pid <= 0) {
        tb_broker_cleanup(b);
        return;
    }
    bool alive = tb_broker_alive(b);
    int st = alive ? tb_broker_stop(b, SIGTERM) : -1;
    tb_broker_cleanup(b);
    ck_assert_msg(alive, "broker died during the test");
    assert_clean_exit(st);
}

void tb_ck_create_topic(int fd, const char *topic, int n)
{
    int16_t err = -1;
    int rc = tb_create_topic(fd, topic, n, &err);
    ck_assert_msg(rc == 0, "CreateTopics %s: %s", topic, strerror(-rc));
    ck_assert_msg(err == 0, "CreateTopics %s: error %d", topic, err);
}

int64_t tb_ck_produce_seq(int fd, const char *topic, int32_t part, const char *prefix, int first,
                          int count, size_t pad)
{
    size_t cap = (size_t)count * (pad + 64) + 256;
    uint8_t *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    long len = tb_batch_values(buf, cap, prefix, first, count, pad, false, 1700000000000LL);
    ck_assert_msg(len > 0, "batch build: %ld", len);
    struct tb_produce_resp pr;
    int rc = tb_produce(fd, topic, part, buf, (size_t)len, &pr);
    free(buf);
    ck_assert_msg(rc == 0, "produce: %s", strerror(-rc));
    ck_assert_msg(pr.error == 0, "produce to %s/%d: error %d", topic, part, pr.error);
    return pr.base_offset;
}

void tb_ck_init_pid(int fd, int16_t version, const char *txn_id, int32_t timeout_ms, int64_t *pid,
                    int16_t *epoch)
{
    int16_t err = -1;
    int rc = tb_init_producer_id(fd, version, txn_id, timeout_ms, -1, -1, &err, pid, epoch);
    ck_assert_msg(rc == 0, "InitProducerId v%d: %s", version, strerror(-rc));
    ck_assert_msg(err == 0, "InitProducerId v%d: error %d", version, err);
}

int16_t tb_ck_produce_pid(int fd, const char *txn_id, const char *topic, int32_t part,
                          const char *prefix, int64_t pid, int16_t epoch, int32_t seq, int first,
                          int count, int64_t *base)
{
    uint8_t buf[8192];
    long n = pid >= 0 ? tb_producer_batch(buf, sizeof buf, prefix, first, count, pid, epoch, seq,
                                          txn_id != NULL)
                      : tb_batch_values(buf, sizeof buf, prefix, first, count, 0, false,
                                        1700000000000LL);
    ck_assert_int_gt(n, 0);
    struct tb_produce_resp pr;
    int rc = tb_txn_produce(fd, 7, txn_id, topic, part, buf, (size_t)n, &pr);
    ck_assert_msg(rc == 0, "produce: %s", strerror(-rc));
    if (base)
        *base = pr.base_offset;
    return pr.error;
}

int64_t tb_ck_log_end(int fd, int8_t iso, const char *topic, int32_t part)
{
    int16_t err;
    int64_t off;
    ck_assert_int_eq(tb_list_offsets_iso(fd, iso, topic, part, -1, &err, &off), 0);
    ck_assert_int_eq(err, 0);
    return off;
}
