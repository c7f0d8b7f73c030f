/*
 * splicelog — the command-line tool (tools/cli.h): the command table, option parsing and the
 * data directory's lock. Each command lives in tools/cli_<noun>.c.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct cli_cmd cmds[] = {
    {"user", "create",
     "--data-dir DIR --name NAME --password PW|- --mechanism SCRAM-SHA-256|SCRAM-SHA-512 "
     "[--iterations N]",
     "add or replace a user's SCRAM credential, offline, before the broker starts (PW '-' reads "
     "one line from stdin)",
     cli_user_create},
    {"user", "delete", "--data-dir DIR --name NAME --mechanism SCRAM-SHA-256|SCRAM-SHA-512",
     "remove a user's SCRAM credential, offline", cli_user_delete},
    {"user", "list", "--data-dir DIR", "list users, mechanisms and iteration counts, offline",
     cli_user_list},
    {"acl", "add",
     "--data-dir DIR --principal User:NAME --resource topic|group|cluster|transactional-id "
     "[--name NAME] --operation OP [--pattern literal|prefixed] [--permission allow|deny] "
     "[--host ADDR]",
     "add a Kafka ACL binding, offline (a running broker: CreateAcls through the Kafka API)",
     cli_acl_add},
    {"acl", "list", "--data-dir DIR [filters: the options of acl add]",
     "list ACL bindings, offline", cli_acl_list},
    {"acl", "remove", "--data-dir DIR filters (the options of acl add, at least one)",
     "remove the matching ACL bindings, offline", cli_acl_remove},
};
#define N_CMDS (sizeof cmds / sizeof cmds[0])

static int help(FILE *to)
{
    fprintf(to, "usage: splicelog NOUN VERB [options]\n\n");
    for (size_t i = 0; i < N_CMDS; i++)
        fprintf(to, "  splicelog %s %s %s\n      %s\n", cmds[i].noun, cmds[i].verb, cmds[i].usage,
                cmds[i].help);
    return to == stdout ? 0 : 2;
}

int cli_usage(const struct cli_cmd *cmd)
{
    fprintf(stderr, "usage: splicelog %s %s %s\n", cmd->noun, cmd->verb, cmd->usage);
    return 2;
}

int cli_fail(const struct cli_cmd *cmd, const char *fmt, ...)
{
    fprintf(stderr, "splicelog %s %s: ", cmd->noun, cmd->verb);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

bool cli_opts(const struct cli_cmd *cmd, int argc, char **argv, const struct cli_opt *opts)
{
    for (const struct cli_opt *o = opts; o->name; o++)
        *o->value = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const struct cli_opt *o = NULL;
        if (strncmp(a, "--", 2) == 0)
            for (const struct cli_opt *p = opts; p->name && !o; p++)
                if (strcmp(a + 2, p->name) == 0)
                    o = p;
        if (!o) {
            fprintf(stderr, "splicelog %s %s: unknown option '%s'\n", cmd->noun, cmd->verb, a);
            cli_usage(cmd);
            return false;
        }
        if (i + 1 >= argc || *o->value) {
            fprintf(stderr, "splicelog %s %s: --%s %s\n", cmd->noun, cmd->verb, o->name,
                    *o->value ? "given twice" : "needs a value");
            cli_usage(cmd);
            return false;
        }
        *o->value = argv[++i];
    }
    for (const struct cli_opt *o = opts; o->name; o++) {
        if (o->required && !*o->value) {
            fprintf(stderr, "splicelog %s %s: --%s is required\n", cmd->noun, cmd->verb, o->name);
            cli_usage(cmd);
            return false;
        }
    }
    return true;
}

int cli_lock_data_dir(const struct cli_cmd *cmd, const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        cli_fail(cmd, "data directory path too long");
        return -1;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            cli_fail(cmd, "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        cli_fail(cmd, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        cli_fail(cmd, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            cli_fail(cmd, "%s is locked: a broker is running on it (stop it first)", path);
        else
            cli_fail(cmd, "cannot lock %s: %s", path, strerror(e));
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0))
        return help(stdout);
    if (argc < 3)
        return help(stderr);
    for (size_t i = 0; i < N_CMDS; i++)
        if (strcmp(argv[1], cmds[i].noun) == 0 && strcmp(argv[2], cmds[i].verb) == 0)
            return cmds[i].run(&cmds[i], argc - 3, argv + 3);
    fprintf(stderr, "splicelog: no command '%s %s'\n", argv[1], argv[2]);
    return help(stderr);
}
