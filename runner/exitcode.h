#ifndef EXITCODE_H
#define EXITCODE_H

/*
 * The exit codes of runner (DESIGN.md, README.md, --help). A run records
 * its exit code too (runs.exit_code, run.json), so the scheduler decides
 * it and the CLI returns it.
 */
enum runner_exit {
	RUNNER_EXIT_OK = 0,	     /* every task succeeded */
	RUNNER_EXIT_TASK_FAILED = 1, /* some task did not succeed */
	RUNNER_EXIT_USAGE = 2,	     /* usage error or invalid plan */
	RUNNER_EXIT_INTERRUPTED = 3, /* signal, or cancelled */
	RUNNER_EXIT_RUNTIME = 4,     /* state store, backend, I/O */
};

#endif
