#ifndef CMD_H
#define CMD_H

#include <stddef.h>
#include <stdint.h>

#include "exitcode.h"

/*
 * Subcommands. Each lives in its own cmd-NAME.c and is listed in
 * main.c's table. argv[0] is the subcommand name. The return value is the
 * process exit code (enum runner_exit).
 */
int cmd_exec(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_archive(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_next(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_gc(int argc, char **argv);

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
 * The values of --jobs (1-1024) and --grace (a duration), shared by exec
 * and resume: 0 with *out set, or a usage error's exit code.
 */
int cmd_opt_jobs(const char *usage, const char *arg, int *out);
int cmd_opt_grace(const char *usage, const char *arg, int64_t *out);

/* Print "runner: usage: ..." and return RUNNER_EXIT_USAGE. */
int usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
