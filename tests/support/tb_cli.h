/*
 * tb_cli — Check-level test support for suites that run the `splicelog` tool as a real process
 * (the binary is $SPLICELOG_BUILD/san/splicelog, else $SPLICELOG_ROOT/build/san/splicelog):
 * a per-test temp directory, a run with stdin fed from a string and stdout / stderr captured
 * to files, and a look into what it printed.
 *
 * Contract: one fixture per process (the forked Check test), so the state is this module's;
 * tb_cli_setup / tb_cli_teardown are the fixture's setup and teardown. These call ck_assert:
 * only from a Check test, setup or teardown. Paths stay valid until teardown.
 */
#ifndef SPLICELOG_TB_CLI_H
#define SPLICELOG_TB_CLI_H

#include <stdbool.h>

/* The tool's path (a static buffer). */
const char *tb_cli_tool(void);

/* The fixture's directories: tmp (<$TMPDIR or /tmp>/<prefix>.XXXXXX, made by setup) and the
 * data dir path tmp/data (not made). */
extern char tb_cli_tmp[256], tb_cli_data[300];

/* Makes tb_cli_tmp with prefix; removes it (rm -rf) in teardown. */
void tb_cli_setup(const char *prefix);
void tb_cli_teardown(void);

/* Runs argv (argv[0] the binary, NULL-terminated) with stdin from in (NULL: empty; written to
 * out_path.in), stdout to out_path, stderr to out_path.err. Its exit status; fails the test
 * when it does not exit within 60 s. Needs no fixture. */
int tb_cli_exec(const char *in, const char *const *argv, const char *out_path);

/* tb_cli_exec of the tool with args (NULL-terminated, after "splicelog"; 30 at most), its
 * output in tmp/out and tmp/out.err. */
int tb_cli_run(const char *in, const char *const *args);

/* Whether the last run's stdout (suffix "") or stderr (suffix ".err") contains needle (the
 * first 8 KiB of it). */
bool tb_cli_out_has(const char *suffix, const char *needle);

#endif
