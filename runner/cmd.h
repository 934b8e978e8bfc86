#ifndef CMD_H
#define CMD_H

/*
 * Subcommands. Each lives in its own cmd-NAME.c and is listed in
 * main.c's table. argv[0] is the subcommand name. The return value is the
 * process exit code.
 */
enum runner_exit {
	RUNNER_EXIT_OK = 0,          /* every task succeeded */
	RUNNER_EXIT_TASK_FAILED = 1, /* some task did not succeed */
	RUNNER_EXIT_USAGE = 2,       /* usage error or invalid plan */
	RUNNER_EXIT_INTERRUPTED = 3, /* signal, or cancelled */
	RUNNER_EXIT_RUNTIME = 4,     /* state store, backend, I/O */
};

int cmd_exec(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_archive(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_next(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_gc(int argc, char **argv);

/* Print "runner: usage: ..." and return RUNNER_EXIT_USAGE. */
int usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
