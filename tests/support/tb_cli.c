/* tb_cli — see tb_cli.h. */
#include "tb_cli.h"

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tb_broker.h"

char tb_cli_tmp[256], tb_cli_data[300];
static char out[320];

const char *tb_cli_tool(void)
{
    static char path[PATH_MAX];
    const char *b = getenv("SPLICELOG_BUILD");
    const char *root = getenv("SPLICELOG_ROOT");
    if (b)
        snprintf(path, sizeof path, "%s/san/splicelog", b);
    else
        snprintf(path, sizeof path, "%s/build/san/splicelog", root ? root : ".");
    return path;
}

void tb_cli_setup(const char *prefix)
{
    snprintf(tb_cli_tmp, sizeof tb_cli_tmp, "%s/%s.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", prefix);
    ck_assert_ptr_nonnull(mkdtemp(tb_cli_tmp));
    snprintf(tb_cli_data, sizeof tb_cli_data, "%s/data", tb_cli_tmp);
    snprintf(out, sizeof out, "%s/out", tb_cli_tmp);
}

void tb_cli_teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tb_cli_tmp);
    ck_assert_int_eq(system(cmd), 0);
}

int tb_cli_exec(const char *in, const char *const *argv, const char *out_path)
{
    char inpath[PATH_MAX], errpath[PATH_MAX];
    snprintf(inpath, sizeof inpath, "%s.in", out_path);
    snprintf(errpath, sizeof errpath, "%s.err", out_path);
    FILE *f = fopen(inpath, "w");
    ck_assert_ptr_nonnull(f);
    fputs(in ? in : "", f);
    fclose(f);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(inpath, O_RDONLY);
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 0);
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = tb_wait_exit(pid, 60000);
    ck_assert_msg(st >= 0 && WIFEXITED(st), "%s %s did not exit", argv[0], argv[1] ? argv[1] : "");
    return WEXITSTATUS(st);
}

int tb_cli_run(const char *in, const char *const *args)
{
    const char *argv[32] = {tb_cli_tool()};
    int n = 1;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    return tb_cli_exec(in, argv, out);
}

bool tb_cli_out_has(const char *suffix, const char *needle)
{
    char p[400], buf[8192] = {0};
    snprintf(p, sizeof p, "%s%s", out, suffix);
    FILE *f = fopen(p, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, needle) != NULL;
}
