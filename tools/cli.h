/*
 * cli — the `splicelog` command-line tool: one binary, "splicelog NOUN VERB [--option value]...",
 * each (noun, verb) a function in its own tools/cli_<noun>.c, listed once in tools/splicelog.c.
 *
 * Contract
 * - A command gets argv from its first option on and returns the process exit status:
 *   0 done, 1 failed (one line on stderr saying why), 2 usage error (the command's usage on
 *   stderr). Commands print results on stdout, nothing else.
 * - Options are long ("--name VALUE"), parsed by cli_opts(): every option a command takes is
 *   declared with where its value goes; an unknown option or a missing value is a usage
 *   error. Today's commands work offline on a data directory (--data-dir); commands that speak
 *   the Kafka API to a running broker (--bootstrap) join the same table.
 */
#ifndef SPLICELOG_CLI_H
#define SPLICELOG_CLI_H

#include <stdbool.h>

struct cli_cmd {
    const char *noun, *verb;
    const char *usage; /* the options, for "usage: splicelog NOUN VERB <usage>" */
    const char *help;  /* one line */
    int (*run)(const struct cli_cmd *cmd, int argc, char **argv);
};

/* One option: "--name" with a value stored in *value (NULL until given). */
struct cli_opt {
    const char *name; /* without the dashes */
    const char **value;
    bool required;
};

/* Parses argv[0, argc) against opts (terminated by a {NULL}); prints the usage and returns
 * false on an unknown option, a repeated one, a missing value or a missing required one. */
bool cli_opts(const struct cli_cmd *cmd, int argc, char **argv, const struct cli_opt *opts);
/* Prints "usage: splicelog NOUN VERB USAGE" to stderr; returns 2. */
int cli_usage(const struct cli_cmd *cmd);
/* Prints "splicelog NOUN VERB: " and the message to stderr; returns 1. */
int cli_fail(const struct cli_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Takes the data directory's lock as the broker does (mkdir -p, then an exclusive
 * non-blocking flock on the directory): fails with a line saying the broker may be running.
 * Returns the descriptor to keep open, or -1 after printing why. */
int cli_lock_data_dir(const struct cli_cmd *cmd, const char *dir);

/* Commands (tools/cli_user.c). */
int cli_user_create(const struct cli_cmd *cmd, int argc, char **argv);
int cli_user_delete(const struct cli_cmd *cmd, int argc, char **argv);
int cli_user_list(const struct cli_cmd *cmd, int argc, char **argv);

/* Commands (tools/cli_acl.c). */
int cli_acl_add(const struct cli_cmd *cmd, int argc, char **argv);
int cli_acl_list(const struct cli_cmd *cmd, int argc, char **argv);
int cli_acl_remove(const struct cli_cmd *cmd, int argc, char **argv);

#endif
