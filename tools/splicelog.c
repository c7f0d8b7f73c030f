/*
 * splicelog — the command-line tool (tools/cli.h): the command table, option parsing, --help
 * and the data directory's lock. Each command lives in tools/cli_<noun>.c.
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

#define NET CLI_NET_USAGE

static const struct cli_cmd cmds[] = {
    {"topic", "create",
     "NAME [--partitions N] [--replication-factor N] [--config K=V[,K=V...]] "
     "[--validate-only] " NET,
     "create a topic (partitions and replication factor default to the broker's)",
     cli_topic_create},
    {"topic", "list", NET, "list the topics with their partition counts", cli_topic_list},
    {"topic", "describe", "NAME " NET,
     "a topic's partitions (leader, replicas, log start and end offsets) and configs",
     cli_topic_describe},
    {"topic", "delete", "NAME... " NET, "delete topics", cli_topic_delete},
    {"topic", "add-partitions", "NAME --total N [--validate-only] " NET,
     "grow a topic to N partitions (CreatePartitions)", cli_topic_add_partitions},
    {"topic", "alter-config",
     "NAME [--set K=V[,K=V...]] [--delete K[,K...]] [--validate-only] " NET,
     "change a topic's dynamic configs (IncrementalAlterConfigs); --delete restores defaults",
     cli_topic_alter_config},
    {"group", "list", NET, "list the consumer groups of every broker", cli_group_list},
    {"group", "describe", "GROUP " NET,
     "a group's state, members and, per partition, committed offset, log end offset and lag",
     cli_group_describe},
    {"group", "delete", "GROUP... " NET, "delete empty consumer groups", cli_group_delete},
    {"group", "seek",
     "GROUP --topic T [--partition P] (--to-earliest | --to-latest | --to-timestamp MS | "
     "--to-offset N) [--dry-run] " NET,
     "reset a group's committed offsets (the group must have no members)", cli_group_seek},
    {"cluster", "info", NET, "cluster id, controller and brokers", cli_cluster_info},
    {"cluster", "log-dirs", NET, "each broker's log directories and partition sizes",
     cli_cluster_log_dirs},
    {"cluster", "elect", "[--topic T [--partition P]] " NET,
     "move leadership back to the preferred replica (the first of each partition's assignment) "
     "where it is live and in the ISR (ElectLeaders to the controller; no --topic: every "
     "partition): ELECTED / ALREADY per partition",
     cli_cluster_elect},
    {"produce", NULL, "TOPIC [--partition P] [--key-separator SEP] [--acks 0|1|all] " NET,
     "produce one record per line of stdin (KEY<SEP>VALUE with --key-separator)", cli_produce},
    {"consume", NULL,
     "TOPIC [--partition P] [--from beginning|end|OFFSET] [--count N] [--group G] [--follow] "
     "[--key-separator SEP] " NET,
     "print records, one per line (KEY<SEP>VALUE with --key-separator; --json: one JSON object "
     "per record and line), until the end of the topic (or N records; --follow: keep waiting)",
     cli_consume},
    {"user", "create",
     "--name NAME --password PW|- --mechanism SCRAM-SHA-256|SCRAM-SHA-512 [--iterations N] "
     "(--data-dir DIR | " NET ")",
     "add or replace a user's SCRAM credential: through a running broker as a super user "
     "(AlterUserScramCredentials; -X/--command-config for security.protocol and sasl.*), or "
     "offline with --data-dir before the broker starts (PW '-' reads one line from stdin; in a "
     "cluster the broker carries it to ZooKeeper at its start unless ZooKeeper has that user)",
     cli_user_create},
    {"user", "delete",
     "--name NAME --mechanism SCRAM-SHA-256|SCRAM-SHA-512 (--data-dir DIR | " NET ")",
     "remove a user's SCRAM credential (through a running broker, or offline with --data-dir)",
     cli_user_delete},
    {"user", "list", "[--name NAME] (--data-dir DIR | " NET ")",
     "list users, mechanisms and iteration counts (through a running broker, or offline)",
     cli_user_list},
    {"acl", "add",
     "--principal User:NAME --resource topic|group|cluster|transactional-id [--name NAME] "
     "--operation OP [--pattern literal|prefixed] [--permission allow|deny] [--host ADDR] "
     "(--data-dir DIR | " NET ")",
     "add a Kafka ACL binding: through a running broker (CreateAcls, applied at once), or "
     "offline with --data-dir",
     cli_acl_add},
    {"acl", "list", "[filters: the options of acl add] (--data-dir DIR | " NET ")",
     "list ACL bindings (DescribeAcls, or offline)", cli_acl_list},
    {"acl", "remove", "filters (the options of acl add, at least one) (--data-dir DIR | " NET ")",
     "remove the matching ACL bindings (DeleteAcls, or offline)", cli_acl_remove},
};
#define N_CMDS (sizeof cmds / sizeof cmds[0])

static void print_cmd(FILE *to, const struct cli_cmd *c)
{
    fprintf(to, "  splicelog %s%s%s %s\n      %s\n", c->noun, c->verb ? " " : "",
            c->verb ? c->verb : "", c->usage, c->help);
}

/* Every command, or those of one noun. */
static int help(FILE *to, const char *noun)
{
    fprintf(to, "usage: splicelog NOUN [VERB] [options]   (splicelog NOUN [VERB] --help)\n\n");
    for (size_t i = 0; i < N_CMDS; i++)
        if (!noun || strcmp(noun, cmds[i].noun) == 0)
            print_cmd(to, &cmds[i]);
    if (!noun)
        fprintf(to, "\nexit status: 0 done, 1 failed (the broker refused), 2 usage error, 3 broker "
                    "unreachable or timed out,\n4 the broker does not offer the API the command "
                    "needs\n");
    return to == stdout ? 0 : 2;
}

int cli_usage(const struct cli_cmd *cmd)
{
    fprintf(stderr, "usage: splicelog %s%s%s %s\n", cmd->noun, cmd->verb ? " " : "",
            cmd->verb ? cmd->verb : "", cmd->usage);
    return 2;
}

int cli_fail(const struct cli_cmd *cmd, const char *fmt, ...)
{
    fprintf(stderr, "splicelog %s%s%s: ", cmd->noun, cmd->verb ? " " : "",
            cmd->verb ? cmd->verb : "");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

bool cli_parse(const struct cli_cmd *cmd, int argc, char **argv, const struct cli_opt *opts,
               const char **pos, int max_pos, int *npos)
{
    const char *name = cmd->verb ? cmd->verb : cmd->noun;
    int np = 0;
    for (const struct cli_opt *o = opts; o->name; o++)
        for (int k = 0; k <= (CLI_OPT_REPEATS(o) ? CLI_REPEAT_MAX : 0); k++)
            o->value[k] = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const struct cli_opt *o = NULL;
        /* A one-letter option is also "-X" (the Kafka tools' -X key=value). */
        bool short_opt = a[0] == '-' && a[1] && a[1] != '-' && !a[2];
        if (strncmp(a, "--", 2) != 0 && !short_opt && np < max_pos) {
            pos[np++] = a;
            continue;
        }
        for (const struct cli_opt *p = opts; p->name && !o; p++)
            if ((strncmp(a, "--", 2) == 0 && !CLI_OPT_REPEATS(p) && strcmp(a + 2, p->name) == 0) ||
                (short_opt && CLI_OPT_REPEATS(p) && strcmp(a + 1, p->name) == 0))
                o = p;
        if (!o) {
            fprintf(stderr, "splicelog %s %s: %s '%s'\n", cmd->noun, name,
                    strncmp(a, "--", 2) == 0 ? "unknown option" : "unexpected argument", a);
            cli_usage(cmd);
            return false;
        }
        if (CLI_OPT_REPEATS(o)) {
            int k = 0;
            while (k < CLI_REPEAT_MAX && o->value[k])
                k++;
            if (k == CLI_REPEAT_MAX || i + 1 >= argc) {
                fprintf(stderr, "splicelog %s %s: -%s needs a value (at most %d times)\n",
                        cmd->noun, name, o->name, CLI_REPEAT_MAX);
                cli_usage(cmd);
                return false;
            }
            o->value[k] = argv[++i];
            continue;
        }
        if (*o->value) {
            fprintf(stderr, "splicelog %s %s: --%s given twice\n", cmd->noun, name, o->name);
            cli_usage(cmd);
            return false;
        }
        if (o->flag) {
            *o->value = "1";
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "splicelog %s %s: --%s needs a value\n", cmd->noun, name, o->name);
            cli_usage(cmd);
            return false;
        }
        *o->value = argv[++i];
    }
    for (const struct cli_opt *o = opts; o->name; o++) {
        if (o->required && !*o->value) {
            fprintf(stderr, "splicelog %s %s: --%s is required\n", cmd->noun, name, o->name);
            cli_usage(cmd);
            return false;
        }
    }
    if (npos)
        *npos = np;
    return true;
}

bool cli_opts(const struct cli_cmd *cmd, int argc, char **argv, const struct cli_opt *opts)
{
    return cli_parse(cmd, argc, argv, opts, NULL, 0, NULL);
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

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0)
        return help(argc < 2 ? stderr : stdout, NULL);
    bool noun_known = false;
    for (size_t i = 0; i < N_CMDS; i++) {
        const struct cli_cmd *c = &cmds[i];
        if (strcmp(argv[1], c->noun) != 0)
            continue;
        noun_known = true;
        int first = 2; /* argv index of the command's first argument */
        if (c->verb) {
            if (argc < 3 || strcmp(argv[2], c->verb) != 0)
                continue;
            first = 3;
        }
        if (wants_help(argc - first, argv + first)) {
            printf("usage: splicelog %s%s%s %s\n\n%s\n", c->noun, c->verb ? " " : "",
                   c->verb ? c->verb : "", c->usage, c->help);
            return 0;
        }
        return c->run(c, argc - first, argv + first);
    }
    if (noun_known)
        return help(argc >= 3 && wants_help(1, argv + 2) ? stdout : stderr, argv[1]);
    fprintf(stderr, "splicelog: no command '%s'\n", argv[1]);
    return help(stderr, NULL);
}
