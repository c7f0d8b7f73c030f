/* tb_check — see tb_check.h. */
#include "tb_check.h"

#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>

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
