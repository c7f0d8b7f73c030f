/*
 * cli — the `splicelog` command-line tool: one binary, "splicelog NOUN VERB [--option value]...",
 * each (noun, verb) a function in its own tools/cli_<noun>.c, listed once in tools/splicelog.c.
 *
 * Contract
 * - A command gets argv from its first argument on and returns the process exit status
 *   (CLI_EXIT_*): 0 done, 1 failed (the broker refused, or the operation failed: one line on
 *   stderr saying why), 2 usage error (the command's usage on stderr), 3 the broker could not
 *   be reached or did not answer in time, 4 the broker does not offer the API the command
 *   needs. Commands print results on stdout, nothing else; "splicelog NOUN VERB --help" prints
 *   the command's usage and help on stdout and exits 0.
 * - Options are long ("--name VALUE", or "--flag" for a flag), parsed by cli_parse(): every
 *   option a command takes is declared with where its value goes; an unknown option or a
 *   missing value is a usage error. Positional arguments (a topic name) are collected in order.
 * - Two families: the commands that speak the Kafka API to a running broker through
 *   libsplicelog (--bootstrap HOST:PORT, default 127.0.0.1:9092; --timeout MS; --json for
 *   machine-readable output: one JSON document on stdout; --command-config FILE and -X KEY=VALUE
 *   for the client's properties, security.protocol and sasl.* among them), with the helpers of
 *   tools/cli_net.c; and `user` and `acl` with --data-dir, which work offline on a data
 *   directory (without it they are of the first family).
 */
#ifndef SPLICELOG_CLI_H
#define SPLICELOG_CLI_H

#include <stdbool.h>

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILED = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_UNREACHABLE = 3,
    CLI_EXIT_UNSUPPORTED = 4,
};

struct cli_cmd {
    const char *noun, *verb; /* verb NULL: a one-word command ("splicelog produce") */
    const char *usage;       /* the options, for "usage: splicelog NOUN VERB <usage>" */
    const char *help;        /* one line */
    int (*run)(const struct cli_cmd *cmd, int argc, char **argv);
};

/* One option: "--name" with a value stored in *value (NULL until given); a flag takes no
 * value and stores "1". A one-letter name is a short option, "-N VALUE" (the Kafka tools' -X
 * key=value), that may be given up to CLI_REPEAT_MAX times: its value is an array of
 * CLI_REPEAT_MAX + 1 entries, filled in order and NULL-terminated. */
#define CLI_REPEAT_MAX 32
struct cli_opt {
    const char *name; /* without the dashes */
    const char **value;
    bool required;
    bool flag;
};
#define CLI_OPT_REPEATS(o) ((o)->name[0] && !(o)->name[1])

/* Parses argv[0, argc) against opts (terminated by a {NULL}); prints the usage and returns
 * false on an unknown option, a repeated one, a missing value or a missing required one. */
bool cli_opts(const struct cli_cmd *cmd, int argc, char **argv, const struct cli_opt *opts);
/* cli_opts with positional arguments: up to max_pos of them into pos[], their number in *npos
 * (more is a usage error). */
bool cli_parse(const struct cli_cmd *cmd, int argc, char **argv, const struct cli_opt *opts,
               const char **pos, int max_pos, int *npos);
/* Prints "usage: splicelog NOUN VERB USAGE" to stderr; returns 2. */
int cli_usage(const struct cli_cmd *cmd);
/* Prints "splicelog NOUN VERB: " and the message to stderr; returns 1. */
int cli_fail(const struct cli_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Takes the data directory's lock as the broker does (mkdir -p, then an exclusive
 * non-blocking flock on the directory): fails with a line saying the broker may be running.
 * Returns the descriptor to keep open, or -1 after printing why. */
int cli_lock_data_dir(const struct cli_cmd *cmd, const char *dir);

/* ---- commands that speak to a broker (tools/cli_net.c) ------------------------------------ */

#include <stdint.h>
#include <stdio.h>

#include "splicelog.h"

/* The options every such command takes, declared with CLI_NET_OPTS(&net) in its table. */
struct cli_net {
    const char *bootstrap; /* --bootstrap */
    const char *timeout;   /* --timeout (ms) */
    const char *json;      /* --json (a flag) */
    const char *conf_file; /* --command-config: libsplicelog properties, key=value lines */
    const char *props[CLI_REPEAT_MAX + 1]; /* -X key=value, applied after the file */
    int timeout_ms;                        /* parsed by cli_net_conf */
};
/* clang-format off */
#define CLI_NET_OPTS(n)                                                                            \
    {"bootstrap", &(n)->bootstrap, false, false},                                                  \
    {"timeout", &(n)->timeout, false, false},                                                      \
    {"json", &(n)->json, false, true},                                                             \
    {"command-config", &(n)->conf_file, false, false},                                             \
    {"X", (n)->props, false, false}
/* clang-format on */
#define CLI_NET_USAGE                                                                              \
    "[--bootstrap HOST:PORT] [--timeout MS] [--json] [--command-config FILE] [-X KEY=VALUE]..."

/* A conf for the command (bootstrap.servers, client.id splicelog-cli, request.timeout.ms, then
 * the --command-config file's properties, then each -X key=value: security.protocol=sasl_ssl,
 * sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ... as splicelog.h lists them),
 * or NULL after printing why (usage error). */
sl_conf *cli_net_conf(const struct cli_cmd *cmd, struct cli_net *net);
/* An admin handle on the conf (taken), or NULL after printing why. */
sl_admin *cli_admin(const struct cli_cmd *cmd, struct cli_net *net);
/* For a command of the network options and positional names only: parses argv (min_pos to
 * max_pos names into pos, their number in *npos; pos NULL when it takes none), then opens the
 * admin handle. NULL after printing why: the exit status is then CLI_EXIT_USAGE. */
sl_admin *cli_admin_parse(const struct cli_cmd *cmd, int argc, char **argv, struct cli_net *net,
                          const char **pos, int min_pos, int max_pos, int *npos);
/* A delete command (topics, groups): the names given (1 to 64), deleted with del, the results
 * printed as cli_print_results does; the exit status. */
int cli_admin_delete(const struct cli_cmd *cmd, int argc, char **argv,
                     sl_err (*del)(sl_admin *a, const char *const *names, size_t n, int timeout_ms,
                                   const sl_admin_result **results),
                     const char *done, bool message);
/* Prints per-name admin results (text: "DONE NAME" a line for each success; JSON: an array of
 * {name, error[, message]}), one line on stderr per failure; the exit status of the worst. */
int cli_print_results(const struct cli_cmd *cmd, const struct cli_net *net,
                      const sl_admin_result *r, size_t n, const char *done, bool message);
/* The exit status for an sl_err, after printing "what: reason" on stderr (err != 0). */
int cli_err(const struct cli_cmd *cmd, sl_err err, const char *what);
/* The exit status an error maps to (no printing). */
int cli_exit_of(sl_err err);
/* Parses a decimal integer in [min, max]; false when it is not one. */
bool cli_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* JSON output on stdout: strings escaped, separators handled by the caller's "first" flags. */
void cli_json_str(FILE *f, const char *s);
void cli_json_strn(FILE *f, const char *s, size_t n);

/* A text table: columns added row by row, printed with aligned columns and a header. */
struct cli_table;
struct cli_table *cli_table_new(int ncols, const char *const *headers);
/* Adds one row of ncols strings (copied). */
void cli_table_row(struct cli_table *t, const char *const *cells);
/* printf-style cell helper: a static buffer ring, valid until 64 more calls. */
const char *cli_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_table_print(struct cli_table *t, FILE *f);
void cli_table_free(struct cli_table *t);

/* Commands: tools/cli_topic.c, cli_group.c, cli_cluster.c, cli_data.c. */
int cli_topic_create(const struct cli_cmd *cmd, int argc, char **argv);
int cli_topic_list(const struct cli_cmd *cmd, int argc, char **argv);
int cli_topic_describe(const struct cli_cmd *cmd, int argc, char **argv);
int cli_topic_delete(const struct cli_cmd *cmd, int argc, char **argv);
int cli_topic_add_partitions(const struct cli_cmd *cmd, int argc, char **argv);
int cli_topic_alter_config(const struct cli_cmd *cmd, int argc, char **argv);
int cli_group_list(const struct cli_cmd *cmd, int argc, char **argv);
int cli_group_describe(const struct cli_cmd *cmd, int argc, char **argv);
int cli_group_delete(const struct cli_cmd *cmd, int argc, char **argv);
int cli_group_seek(const struct cli_cmd *cmd, int argc, char **argv);
int cli_cluster_info(const struct cli_cmd *cmd, int argc, char **argv);
int cli_cluster_log_dirs(const struct cli_cmd *cmd, int argc, char **argv);
int cli_cluster_elect(const struct cli_cmd *cmd, int argc, char **argv);
int cli_produce(const struct cli_cmd *cmd, int argc, char **argv);
int cli_consume(const struct cli_cmd *cmd, int argc, char **argv);

/* Commands (tools/cli_user.c). */
int cli_user_create(const struct cli_cmd *cmd, int argc, char **argv);
int cli_user_delete(const struct cli_cmd *cmd, int argc, char **argv);
int cli_user_list(const struct cli_cmd *cmd, int argc, char **argv);

/* Commands (tools/cli_acl.c). */
int cli_acl_add(const struct cli_cmd *cmd, int argc, char **argv);
int cli_acl_list(const struct cli_cmd *cmd, int argc, char **argv);
int cli_acl_remove(const struct cli_cmd *cmd, int argc, char **argv);

#endif
