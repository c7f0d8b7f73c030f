/* tb_check — see tb_check.h. */
#include "tb_check.h"

#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "tb_kafka.h"

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
