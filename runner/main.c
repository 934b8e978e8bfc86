#include "runner.h"
#include "cmd.h"

#include <fcntl.h>
#include <signal.h>

struct cmd_entry {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct cmd_entry cmd_table[] = {
	{ "exec", cmd_exec, "run a plan" },
	{ "validate", cmd_validate, "check plans, reporting every error" },
	{ "resume", cmd_resume,
	  "continue a run: run again what did not succeed" },
	{ "runs", cmd_runs, "list runs" },
	{ "show", cmd_show, "show a run or a task" },
	{ "logs", cmd_logs, "print a task's output" },
	{ "apply", cmd_apply, "apply a task's changes to the workspace" },
	{ "archive", cmd_archive, "write a reproducible .tar.gz of a run" },
	{ "report", cmd_report, "write an HTML report of a run" },
	{ "verify", cmd_verify, "check an archive against its SHA256SUMS" },
	{ "next", cmd_next, "print a plan's next fire times" },
	{ "db", cmd_db, "database status, migrate, rollback" },
	{ "gc", cmd_gc, "kill orphaned sandboxes, prune old runs" },
};

static void print_help(FILE *f)
{
	fprintf(f, "usage: runner COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmd_table); i++)
		fprintf(f, "  %-9s %s\n", cmd_table[i].name,
			cmd_table[i].summary);
	fprintf(f,
		"\nexit codes:\n"
		"  0  every task succeeded\n"
		"  1  some task did not succeed\n"
		"  2  usage error or invalid plan\n"
		"  3  interrupted (signal) or cancelled\n"
		"  4  runtime failure (state store, backend, I/O)\n"
		"\nstate: --state DIR, else $RUNNER_STATE, else ./.runner\n");
}

/* A closed fd 0-2 would let the next open() become our stdout. */
static void check_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0 &&
		    open("/dev/null", fd ? O_WRONLY : O_RDONLY) < 0)
			_exit(RUNNER_EXIT_RUNTIME);
	}
}

int main(int argc, char **argv)
{
	const struct cmd_entry *cmd = NULL;
	int ret;

	check_fds();
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2) {
		print_help(stderr);
		return RUNNER_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		print_help(stdout);
		return RUNNER_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("runner %s\n", RUNNER_VERSION);
		return RUNNER_EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmd_table); i++)
		if (!strcmp(argv[1], cmd_table[i].name))
			cmd = &cmd_table[i];
	if (!cmd) {
		fprintf(stderr,
			"runner: unknown command '%s'; see 'runner --help'\n",
			argv[1]);
		return RUNNER_EXIT_USAGE;
	}
	ret = cmd->fn(argc - 1, argv + 1);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr,
			"runner: write failure on standard output: %s\n",
			strerror(errno));
		return RUNNER_EXIT_RUNTIME;
	}
	return ret;
}
