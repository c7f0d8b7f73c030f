/*
 * test_conn_flood — no lock-out, no slowloris (issue 11, item 3), with a real splicelogd on its
 * default max.connections (10,000):
 * - 10,000 idle connections fill max.connections (from 127.0.0.2);
 * - then 2,000 slowloris connections (from 127.0.0.3) each send the first byte of a request
 *   and one more byte per second;
 * - meanwhile kcat (from 127.0.0.1) produces a record and consumes it back: every connection it
 *   opens makes room by closing the longest-idle one instead of being refused;
 * - every slowloris connection is closed by request.receive.timeout.ms (set to 2 s here so the
 *   test stays short), not before it.
 * The test raises its RLIMIT_NOFILE to the hard limit; the broker inherits it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_check.h"
#include "../support/tb_kafka.h"

enum {
    IDLE_CONNS = 10000, /* = max.connections, the default */
    SLOW_CONNS = 2000,
    DEADLINE_MS = 2000, /* request.receive.timeout.ms in this test */
};

static struct tb_broker B;

static void bare_setup(void) { memset(&B, 0, sizeof B); }

static void teardown(void) { tb_ck_finish(&B); }

struct slow {
    int fd;
    int64_t first_ms;  /* when its first byte went out */
    int64_t closed_ms; /* when the broker's close was seen (0: open) */
};

/* Sends one more zero byte of a request that declares 64 bytes: it never completes. */
static void slow_byte(struct slow *s, int i)
{
    uint8_t prefix[4] = {0, 0, 0, 64};
    uint8_t b = i < 4 ? prefix[i] : 0;
    (void)send(s->fd, &b, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Marks the slow connections the broker has closed; returns how many are closed in all. */
static int slow_reap(struct slow *s, int n)
{
    static struct pollfd p[SLOW_CONNS];
    int closed = 0;
    for (int i = 0; i < n; i++)
        p[i] = (struct pollfd){s[i].closed_ms ? -1 : s[i].fd, POLLIN, 0};
    poll(p, (nfds_t)n, 0);
    int64_t t = tb_now_ms();
    for (int i = 0; i < n; i++) {
        if (!s[i].closed_ms && p[i].revents) {
            char c;
            ssize_t r = recv(s[i].fd, &c, 1, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                s[i].closed_ms = t;
        }
        closed += s[i].closed_ms != 0;
    }
    return closed;
}

/* Runs kcat to completion (bounded) while the slow connections keep trickling. */
static int kcat_run(const char *const *argv, const char *out, struct slow *s, int *next_byte,
                    int64_t *next_tick)
{
    pid_t pid = tb_spawn(argv, out);
    ck_assert_msg(pid > 0, "cannot run kcat: %s", strerror(-pid));
    int64_t deadline = tb_now_ms() + 30000;
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return st;
        if (tb_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -ETIMEDOUT;
        }
        if (tb_now_ms() >= *next_tick) {
            for (int i = 0; i < SLOW_CONNS; i++)
                if (!s[i].closed_ms)
                    slow_byte(&s[i], *next_byte);
            (*next_byte)++;
            *next_tick += 1000;
        }
        slow_reap(s, SLOW_CONNS);
        usleep(20 * 1000);
    }
}

START_TEST(idle_flood_and_slowloris)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rlim_t need = IDLE_CONNS + SLOW_CONNS + 512;
    ck_assert_msg(rl.rlim_max >= need,
                  "this test needs RLIMIT_NOFILE of %lu (hard limit %lu): raise it (ulimit -Hn)",
                  (unsigned long)need, (unsigned long)rl.rlim_max);
    rl.rlim_cur = rl.rlim_max;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0); /* the broker inherits it */
    char deadline_opt[64];
    snprintf(deadline_opt, sizeof deadline_opt, "request.receive.timeout.ms=%d", DEADLINE_MS);
    /* debug: the "connection from" lines counted below are DEBUG lines */
    const char *const extra[] = {"-o", deadline_opt, "-o", "log.level=debug", NULL};
    tb_ck_start(&B, extra);

    /* 10,000 idle connections: every place of max.connections taken. */
    static int idle[IDLE_CONNS];
    int64_t t0 = tb_now_ms();
    for (int i = 0; i < IDLE_CONNS; i++) {
        idle[i] = tb_connect_from("127.0.0.2", B.port);
        ck_assert_msg(idle[i] >= 0, "idle connection %d: %s", i, strerror(-idle[i]));
    }
    long accepted = 0;
    for (int i = 0; i < 300 && accepted < IDLE_CONNS; i++) {
        accepted = tb_log_count(&B, "connection from peer=127.0.0.2:");
        if (accepted < IDLE_CONNS)
            usleep(100 * 1000);
    }
    ck_assert_msg(accepted == IDLE_CONNS, "the broker accepted %ld of %d idle connections",
                  accepted, IDLE_CONNS);
    fprintf(stderr, "flood: %d idle connections open after %lld ms\n", IDLE_CONNS,
            (long long)(tb_now_ms() - t0));
    usleep(1200 * 1000); /* idle longer than max.connections.evict.idle.ms (1 s) */

    /* 2,000 slowloris connections, a byte each now and one per second after. */
    static struct slow s[SLOW_CONNS];
    for (int i = 0; i < SLOW_CONNS; i++) {
        s[i].fd = tb_connect_from("127.0.0.3", B.port);
        ck_assert_msg(s[i].fd >= 0, "slow connection %d: %s", i, strerror(-s[i].fd));
        s[i].first_ms = tb_now_ms();
        s[i].closed_ms = 0;
        slow_byte(&s[i], 0);
    }
    int next_byte = 1;
    int64_t next_tick = tb_now_ms() + 1000;

    /* kcat round trip through the full broker. */
    char broker[64], msg_path[400], out[400];
    snprintf(broker, sizeof broker, "127.0.0.1:%d", B.port);
    snprintf(msg_path, sizeof msg_path, "%s/msg", B.dir);
    FILE *f = fopen(msg_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("through-the-flood", f);
    fclose(f);
    snprintf(out, sizeof out, "%s/kcat-p.out", B.dir);
    const char *const prod[] = {"kcat",   "-P", "-b", broker, "-t",
                                "flood",  "-p", "0",  "-X",   "message.timeout.ms=20000",
                                msg_path, NULL};
    int64_t k0 = tb_now_ms();
    int st = kcat_run(prod, out, s, &next_byte, &next_tick);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "kcat producer failed (status 0x%x): locked out?", st);
    snprintf(out, sizeof out, "%s/kcat-c.out", B.dir);
    const char *const cons[] = {"kcat",      "-C", "-b", broker, "-t", "flood", "-p",    "0", "-o",
                                "beginning", "-c", "1",  "-e",   "-q", "-f",    "%s\\n", NULL};
    st = kcat_run(cons, out, s, &next_byte, &next_tick);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "kcat consumer failed (status 0x%x): locked out?", st);
    f = fopen(out, "r");
    ck_assert_ptr_nonnull(f);
    char line[128] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_str_eq(line, "through-the-flood\n");
    fprintf(stderr, "flood: kcat produce + consume round trip in %lld ms\n",
            (long long)(tb_now_ms() - k0));

    /* Every slow connection goes, by the deadline: not before it, not long after. */
    int64_t end = tb_now_ms() + DEADLINE_MS + 15000;
    int closed = 0;
    while ((closed = slow_reap(s, SLOW_CONNS)) < SLOW_CONNS && tb_now_ms() < end) {
        if (tb_now_ms() >= next_tick) {
            for (int i = 0; i < SLOW_CONNS; i++)
                if (!s[i].closed_ms)
                    slow_byte(&s[i], next_byte);
            next_byte++;
            next_tick += 1000;
        }
        usleep(20 * 1000);
    }
    ck_assert_msg(closed == SLOW_CONNS, "%d of %d slowloris connections still open after %d ms",
                  SLOW_CONNS - closed, SLOW_CONNS, (int)(tb_now_ms() - s[0].first_ms));
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < SLOW_CONNS; i++) {
        int64_t d = s[i].closed_ms - s[i].first_ms;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    fprintf(stderr, "flood: slowloris connections closed %lld to %lld ms after their first byte\n",
            (long long)lo, (long long)hi);
    ck_assert_msg(lo >= DEADLINE_MS - 100,
                  "a slow connection was closed after %lld ms, before "
                  "the deadline: refused rather than timed out?",
                  (long long)lo);
    long by_deadline = tb_log_count(&B, "request not received whole within request.receive");
    ck_assert_msg(by_deadline >= SLOW_CONNS, "%ld closes by the deadline logged, want %d",
                  by_deadline, SLOW_CONNS);
    long evicted = tb_log_count(&B, "closing the longest-idle connection");
    fprintf(stderr, "flood: %ld idle connections closed to make room\n", evicted);
    ck_assert_msg(evicted >= SLOW_CONNS, "only %ld idle connections made room", evicted);
    ck_assert(tb_broker_alive(&B));

    for (int i = 0; i < SLOW_CONNS; i++)
        close(s[i].fd);
    for (int i = 0; i < IDLE_CONNS; i++)
        close(idle[i]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("conn_flood");
    TCase *tc = tcase_create("conn_flood");
    tcase_add_checked_fixture(tc, bare_setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, idle_flood_and_slowloris);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
