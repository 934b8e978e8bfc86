#ifndef CMD_H
#define CMD_H

#include <stddef.h>
#include <stdint.h>

#include "exitcode.h"

/*
 * Subcommands. Each lives in its own cmd-NAME.c and is listed in
 * main.c's cmd_table[] with its usage. argv[0] is the subcommand name;
 * cmd is the command's own entry, whose usage and help its option
 * parsing prints (cmd-opt.h). The return value is the process exit code.
 */
struct cmd_entry {
	const char *name; /* "exec" */
	int (*fn)(int argc, char **argv, const struct cmd_entry *cmd);
	const char *summary; /* one line, for "runner --help" */
	/*
	 * The synopsis, "runner exec PLAN [--jobs N] ...", printed after
	 * "usage: " by usage errors and --help; a newline marks where a long
	 * one wraps.
	 */
	const char *usage;
	/* What the command does, for --help and the man page; may be NULL. */
	const char *help;
};

int cmd_exec(int argc, char **argv, const struct cmd_entry *cmd);
int cmd_validate(int argc, char **argv, const struct cmd_entry *cmd);
int cmd_resume(int argc, char **argv, const struct cmd_entry *cmd);
int cmd_runs(int argc, char **argv, const struct cmd_entry *cmd);
int cmd_show(int argc, char **argv, const struct cmd_entry *cmd);
int cmd_logs(int argc, char **argv, const struct cmd_entry *cmd);
int cmd_apply(int argc, char **argv, const struct cmd_entry *cmd);
int cmd_archive(int argc, char **argv, const struct cmd_entry *cmd);
int cmd_report(int argc, char **argv, const struct cmd_entry *cmd);
int cmd_review(int argc, char **argv, const struct cmd_entry *cmd);
int cmd_history(int argc, char **argv, const struct cmd_entry *cmd);
int cmd_verify(int argc, char **argv, const struct cmd_entry *cmd);
int cmd_next(int argc, char **argv, const struct cmd_entry *cmd);
int cmd_db(int argc, char **argv, const struct cmd_entry *cmd);
int cmd_gc(int argc, char **argv, const struct cmd_entry *cmd);

struct store;

/*
 * Open the state for a command that reads it (cmd-common.c). state is the
 * --state option or NULL. An absent state is an error ("nothing has run
 * here yet"), not created. Prints the error; returns 0 or an exit code.
 */
int cmd_open_state(const char *state, struct store **st);
/*
 * The same for a command that only reads the state: on a full disk it is
 * opened without writing (store_read_only(), with a warning) instead of
 * failing, and crash recovery waits for a command with space to write.
 */
int cmd_open_state_read(const char *state, struct store **st);
/*
 * The warning of a command that reads a state on a full disk (opened
 * read-only, or crash recovery could not write).
 */
void cmd_warn_disk_full(const struct store *st);

/*
 * Print "runner: MESSAGE" and "usage: USAGE" (opt_print_usage()) on
 * stderr and return RUNNER_EXIT_USAGE.
 */
int usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
