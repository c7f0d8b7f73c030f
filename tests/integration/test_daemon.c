/*
 * test_daemon — splicelogd as a program: --version and --help (every key of the committed
 * config/server.properties documented), configuration errors fail at start-up naming the key,
 * --config with -o overrides, the start-up log (listener, data dir, transfer path, kernel
 * features), SIGINT as a clean stop, a second broker refused on a data dir in use, and its
 * threads named for the OS, the loops pinned to CPUs only when network.threads.pin asks.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/tb_broker.h"
#include "../support/tb_kafka.h"
#include "../support/tb_check.h"

static struct tb_broker B;
static char T[256]; /* a scratch dir for outputs of short runs */

static void setup(void)
{
    memset(&B, 0, sizeof B);
    const char *tmp = getenv("TMPDIR");
    snprintf(T, sizeof T, "%s/splicelog-daemon-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(T));
}

static void teardown(void)
{
    bool alive = B.pid > 0 ? tb_broker_alive(&B) : true;
    int st = B.pid > 0 ? tb_broker_stop(&B, SIGTERM) : 0;
    tb_broker_cleanup(&B);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_msg(alive, "broker died during the test");
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status 0x%x", st);
}

/* Runs the broker binary with args, bounded at 20 s; returns the exit status and leaves its
 * stdout in T/out and stderr in T/out.err. */
static int run_broker(const char *const *args)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = tb_broker_binary();
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char out[300];
    snprintf(out, sizeof out, "%s/out", T);
    pid_t pid = tb_spawn(argv, out);
    ck_assert_msg(pid > 0, "spawn %s: %s", argv[0], strerror(-pid));
    int st = tb_wait_exit(pid, 20000);
    ck_assert_msg(st >= 0, "%s did not exit within 20 s", argv[0]);
    return st;
}

/* Contents of T/name (stdout "out" or stderr "out.err"), malloc'd. */
static char *slurp(const char *name)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", T, name);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static const size_t cap = 1 << 20;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static const char *repo_root(void)
{
    const char *root = getenv("SPLICELOG_ROOT");
    return root && *root ? root : ".";
}

START_TEST(version_and_help)
{
    static const char *const v[] = {"--version", NULL};
    int st = run_broker(v);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "--version: status 0x%x", st);
    char *out = slurp("out");
    ck_assert_msg(strstr(out, "splicelogd") != NULL, "--version printed: %s", out);
    free(out);

    static const char *const h[] = {"--help", NULL};
    st = run_broker(h);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "--help: status 0x%x", st);
    out = slurp("out");
    char *err = slurp("out.err");
    /* Every key set in the committed example config is documented by --help. */
    char path[512];
    snprintf(path, sizeof path, "%s/config/server.properties", repo_root());
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no example config at %s", path);
    char line[512];
    int keys = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '!' || *p == '\n' || *p == 0)
            continue;
        size_t k = strcspn(p, "=: \t\n");
        p[k] = 0;
        keys++;
        ck_assert_msg(strstr(out, p) || strstr(err, p), "--help does not mention key %s", p);
    }
    fclose(f);
    ck_assert_msg(keys >= 10, "only %d keys in %s", keys, path);
    free(out);
    free(err);
}
END_TEST

START_TEST(config_errors_name_the_key)
{
    static const struct {
        const char *args[5];
        const char *needle;
    } cases[] = {
        {{"-o", "no.such.key=1", "--listen", "127.0.0.1:0", NULL}, "no.such.key"},
        {{"-o", "num.partitions=abc", "--listen", "127.0.0.1:0", NULL}, "num.partitions"},
        {{"-o", "fetch.transfer=teleport", "--listen", "127.0.0.1:0", NULL}, "fetch.transfer"},
        {{"-o", "message.max.bytes=-5", "--listen", "127.0.0.1:0", NULL}, "message.max.bytes"},
        {{"--no-such-option", NULL}, "no-such-option"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = run_broker(cases[i].args);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "%s: status 0x%x (must fail)",
                      cases[i].needle, st);
        char *err = slurp("out.err");
        ck_assert_msg(strstr(err, cases[i].needle) != NULL, "%s: error does not name it: %s",
                      cases[i].needle, err);
        free(err);
    }
    /* A config file with a bad line names the file and line. */
    char cfg[300];
    snprintf(cfg, sizeof cfg, "%s/bad.properties", T);
    FILE *f = fopen(cfg, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "# fine\nnum.partitions=2\nlog.segment.bytes=lots\n");
    fclose(f);
    const char *const args[] = {"--config", cfg, NULL};
    int st = run_broker(args);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    char *err = slurp("out.err");
    ck_assert_msg(strstr(err, "log.segment.bytes") != NULL, "bad config file: %s", err);
    free(err);
}
END_TEST

START_TEST(config_file_and_overrides)
{
    char cfg[300];
    snprintf(cfg, sizeof cfg, "%s/server.properties", T);
    FILE *f = fopen(cfg, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "# test config\nnum.partitions = 2\nauto.create.topics.enable: true\n"
               "message.max.bytes=5000\n");
    fclose(f);
    /* The file says 2 partitions; -o message.max.bytes overrides the file's 5000. */
    const char *const extra[] = {"--config", cfg, "-o", "message.max.bytes=100000", NULL};
    int rc = tb_broker_start(&B, extra);
    ck_assert_msg(rc == 0, "start with --config: %s", strerror(-rc));
    int fd = tb_connect(B.port);
    ck_assert_int_ge(fd, 0);
    struct tb_metadata md;
    const char *topics[] = {"fromfile"};
    ck_assert_int_eq(tb_metadata(fd, topics, 1, true, &md), 0);
    if (md.topic[0].error == 5)
        ck_assert_int_eq(tb_metadata(fd, topics, 1, true, &md), 0);
    ck_assert_int_eq(md.topic[0].error, 0);
    ck_assert_msg(md.topic[0].n_parts == 2, "num.partitions from the file: %d partitions",
                  md.topic[0].n_parts);
    uint8_t *buf = malloc(64 << 10);
    ck_assert_ptr_nonnull(buf);
    long len = tb_batch_values(buf, 64 << 10, "ff", 0, 1, 20000, false, 1);
    struct tb_produce_resp pr;
    ck_assert_int_eq(tb_produce(fd, "fromfile", 0, buf, (size_t)len, &pr), 0);
    ck_assert_msg(pr.error == 0, "-o message.max.bytes=100000 did not override the file (%d)",
                  pr.error);
    free(buf);
    close(fd);
}
END_TEST

START_TEST(startup_log_and_sigint)
{
    int rc = tb_broker_start(&B, NULL);
    ck_assert_msg(rc == 0, "start: %s", strerror(-rc));
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", B.port);
    ck_assert_msg(tb_log_contains(&B, addr), "start-up log does not show the listener %s", addr);
    ck_assert_msg(tb_log_contains(&B, B.data), "start-up log does not show the data dir");
    ck_assert_msg(tb_log_contains(&B, "splice"), "start-up log does not show the transfer path");
    ck_assert_msg(tb_log_contains(&B, "io_uring"), "start-up log does not show kernel features");
    int st = tb_broker_stop(&B, SIGINT);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGINT: status 0x%x", st);
}
END_TEST

START_TEST(example_config_starts)
{
    char path[512];
    snprintf(path, sizeof path, "%s/config/server.properties", repo_root());
    const char *const extra[] = {"--config", path, NULL};
    int rc = tb_broker_start(&B, extra); /* --listen/--data-dir from the harness win */
    ck_assert_msg(rc == 0, "the committed example config does not start: %s", strerror(-rc));
    int fd = tb_connect(B.port);
    ck_assert_int_ge(fd, 0);
    struct tb_metadata md;
    ck_assert_int_eq(tb_metadata(fd, NULL, -1, false, &md), 0);
    ck_assert_int_eq(md.broker[0].port, B.port);
    close(fd);
}
END_TEST

START_TEST(second_broker_on_same_data_refused)
{
    int rc = tb_broker_start(&B, NULL);
    ck_assert_msg(rc == 0, "start: %s", strerror(-rc));
    const char *const args[] = {"--listen", "127.0.0.1:0", "--data-dir", B.data, NULL};
    int st = run_broker(args);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0,
                  "a second broker started on a data dir in use (status 0x%x)", st);
    ck_assert_msg(tb_broker_alive(&B), "the first broker died");
    int fd = tb_connect(B.port);
    ck_assert_int_ge(fd, 0);
    struct tb_metadata md;
    ck_assert_int_eq(tb_metadata(fd, NULL, -1, false, &md), 0);
    close(fd);
}
END_TEST

/* The CPUs thread `name` of the broker may run on (its affinity mask's count), or -1 when no
 * thread of that name is found; its first CPU into *cpu_out when given. */
static int thread_cpus(pid_t pid, const char *name, int *cpu_out)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int count = -1;
    for (struct dirent *e; count < 0 && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[128], comm[32] = "";
        snprintf(path, sizeof path, "%s/%.20s/comm", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (!fgets(comm, sizeof comm, f))
            comm[0] = 0;
        fclose(f);
        comm[strcspn(comm, "\n")] = 0;
        if (strcmp(comm, name) != 0)
            continue;
        cpu_set_t set;
        CPU_ZERO(&set);
        ck_assert_int_eq(sched_getaffinity((pid_t)atoi(e->d_name), sizeof set, &set), 0);
        count = CPU_COUNT(&set);
        for (int c = 0; c < CPU_SETSIZE && cpu_out; c++)
            if (CPU_ISSET(c, &set)) {
                *cpu_out = c;
                break;
            }
    }
    closedir(d);
    return count;
}

START_TEST(threads_named_loops_pinned_on_request)
{
    cpu_set_t mine;
    ck_assert_int_eq(sched_getaffinity(0, sizeof mine, &mine), 0);
    int ncpu = CPU_COUNT(&mine);
    const char *const free_loops[] = {"-o", "num.network.threads=2", NULL};
    int rc = tb_broker_start(&B, free_loops);
    ck_assert_msg(rc == 0, "start: %s", strerror(-rc));
    static const char *const names[] = {"sl-loop0", "sl-loop1", "sl-admin", "sl-flusher",
                                        "sl-housekeeping"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        /* threads started late in start-up name themselves when they first run: wait a bit */
        int n = -1;
        for (int t = 0; t < 100 && (n = thread_cpus(B.pid, names[i], NULL)) < 0; t++)
            usleep(50 * 1000);
        ck_assert_msg(n > 0, "no thread named %s", names[i]);
    }
    /* by default the loops may run anywhere the process may */
    ck_assert_int_eq(thread_cpus(B.pid, "sl-loop0", NULL), ncpu);
    ck_assert_int_eq(thread_cpus(B.pid, "sl-loop1", NULL), ncpu);
    int st = tb_broker_stop(&B, SIGTERM);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "stop: status 0x%x", st);

    const char *const pinned[] = {"-o", "num.network.threads=2", "-o", "network.threads.pin=true",
                                  NULL};
    rc = tb_broker_start(&B, pinned);
    ck_assert_msg(rc == 0, "restart: %s", strerror(-rc));
    int c0 = -1, c1 = -1;
    ck_assert_int_eq(thread_cpus(B.pid, "sl-loop0", &c0), 1);
    ck_assert_int_eq(thread_cpus(B.pid, "sl-loop1", &c1), 1);
    ck_assert(CPU_ISSET(c0, &mine) && CPU_ISSET(c1, &mine));
    if (ncpu >= 2)
        ck_assert_msg(c0 != c1, "both loops pinned to CPU %d", c0);
    ck_assert_msg(tb_log_contains(&B, "pinned to CPU"), "the log does not say where loops run");
    ck_assert_int_eq(thread_cpus(B.pid, "sl-admin", NULL), ncpu); /* only the loops */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("daemon");
    TCase *tc = tcase_create("daemon");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, version_and_help);
    tcase_add_test(tc, config_errors_name_the_key);
    tcase_add_test(tc, config_file_and_overrides);
    tcase_add_test(tc, startup_log_and_sigint);
    tcase_add_test(tc, example_config_starts);
    tcase_add_test(tc, second_broker_on_same_data_refused);
    tcase_add_test(tc, threads_named_loops_pinned_on_request);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tb_ck_run(suite()); }
