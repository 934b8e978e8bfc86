#include "runner.h"
#include "cmd.h"
#include "netproxy.h"
#include "sandbox.h"

#include <fcntl.h>
#include <signal.h>

/*
 * Every command, with its usage beside it: the synopsis (usage errors
 * print it), what it does, and the line "runner --help" lists. The
 * options are in each command's table (opt.h); "CMD --help" prints all
 * of it and tools/gen-man.sh turns that into runner.1.
 */
/* exec's synopsis names the backends built in: set_exec_usage() */
static char exec_usage[256];

static const struct cmd_entry cmd_table[] = {
	{ "exec", cmd_exec, "run a plan", exec_usage,
	  "Run the plan's tasks, each in its own sandbox, and record the run "
	  "in the\nstate: every run, task, attempt and event in its database, "
	  "and a results\nfolder per task. The first SIGINT or SIGTERM stops "
	  "starting tasks and\ngives running ones --grace after a TERM, then "
	  "kills them; a second kills\nat once.\n\n"
	  "Exit status: 0 every task succeeded, 1 some task did not, 2 usage "
	  "error\nor invalid plan, 3 interrupted, 4 runtime failure." },
	{ "validate", cmd_validate, "check plans, reporting every error",
	  "runner validate PLAN...",
	  "Check each plan and print every error as FILE:LINE:COL: message.\n"
	  "Exit status: 0 all plans are valid, 2 an error or a usage error." },
	{ "resume", cmd_resume,
	  "continue a run: run again what did not succeed",
	  "runner resume RUN [--jobs N] [--state DIR] [--quiet|--json]\n"
	  "[--grace DUR]",
	  "Continue RUN in place (same id, same folder): run again its tasks "
	  "that\ndid not succeed, numbering their attempts on. The plan file "
	  "must be as\nit was when the run started. Exit status as for exec." },
	{ "runs", cmd_runs, "list runs",
	  "runner runs [--limit N] [--state DIR]",
	  "List the runs of the state, newest first: id, plan, status, start, "
	  "duration\nand how many tasks succeeded." },
	{ "show", cmd_show, "show a run or a task",
	  "runner show RUN [TASK] [--state DIR]",
	  "Show a run (status, timings, its tasks) or one of its tasks "
	  "(attempts,\nthe files it changed, warnings). RUN is a run id, a "
	  "unique prefix of\none, or 'last'." },
	{ "logs", cmd_logs, "print a task's output",
	  "runner logs RUN TASK [--follow] [--raw] [--state DIR]",
	  "Print a task's output, stdout and stderr in the order it wrote "
	  "them. To a\nterminal, control characters are escaped unless "
	  "--raw." },
	{ "apply", cmd_apply, "apply a task's changes to the workspace",
	  "runner apply RUN TASK|--all [--branch NAME] [--to DIR] [--dry-run] "
	  "[--state DIR]",
	  "Put the files a task added, changed or deleted into the workspace "
	  "it ran\non (or DIR), all or nothing: a file that changed there "
	  "since the task\nstarted is a conflict, and then nothing is "
	  "written.\nExit status: 0 applied, 1 conflicts, 2 usage error, 4 "
	  "runtime failure.\n\n"
	  "With --all, every task of RUN that succeeded and changed no file "
	  "another\nsuch task changed (other than in the same way), in plan "
	  "order, each all or\nnothing; then what it held back and why. "
	  "Exit status 1 when it held back\nany task.\n\n"
	  "With --branch NAME, the changes become one commit on a new branch "
	  "of the\nworkspace's git repository, on the commit the snapshot was "
	  "taken from;\nthe working tree and the index are not touched. With "
	  "--all --branch, a\nbranch for every task that succeeded and changed "
	  "something, each on that\ncommit, NAME a pattern such as "
	  "runner/{run}/{task}." },
	{ "archive", cmd_archive, "write a reproducible .tar.gz of a run",
	  "runner archive RUN [-o FILE] [--state DIR]",
	  "Write the run's folder and records as a .tar.gz that is "
	  "byte-identical\nevery time (times from the run's end, or "
	  "$SOURCE_DATE_EPOCH), with a\nSHA256SUMS that 'runner verify' "
	  "checks; to ./runner-RUN.tar.gz unless -o\nsays otherwise. Exit "
	  "status: 0 written, 1 the run is still going, 2 usage\nerror, 4 "
	  "state or I/O failure." },
	{ "report", cmd_report, "write an HTML report of a run",
	  "runner report RUN [-o FILE|-] [--state DIR]",
	  "Write one self-contained HTML page of a run: summary, timeline, "
	  "tasks.\nIt goes to report.html in the run's folder unless -o "
	  "says otherwise." },
	{ "review", cmd_review,
	  "review a run's tasks: flags, diffs, conflicts",
	  "runner review [RUN] [--no-diff] [--json] [--state DIR]",
	  "Show every task of RUN (default: the last run) in one place: "
	  "status and\nreason, the agent's summary, cost and tokens, flags "
	  "(large-deletion,\noutside-area, refused, secret, no-tests, "
	  "conflict), the files it changed\nand their diffs; then a matrix "
	  "of the tasks that changed the same files,\nand whether their "
	  "changes overlap. --json prints the same as one JSON object,\nfor scripts." },
	{ "history", cmd_history, "a plan's last runs side by side",
	  "runner history PLAN [--last N] [--html] [-o FILE] [--state DIR]",
	  "Show the plan's last N runs (default 14; PLAN is its file or its "
	  "name): a\ngrid of task by run coloured by status, the runs' cost "
	  "and duration,\nflaky tasks (their result flipped back and forth) "
	  "and outliers (a task\nthat cost or took more than 3x its median). "
	  "--html writes a\nself-contained HTML page of the same." },
	{ "verify", cmd_verify, "check an archive against its SHA256SUMS",
	  "runner verify FILE",
	  "Check an archive made by 'runner archive': every file, symlink and "
	  "directory\nmust match its SHA256SUMS line, and none may be "
	  "unlisted. Exit status: 0\nall match, 1 not (or the archive is "
	  "corrupt or unsafe), 2 usage error,\n4 FILE cannot be read." },
	{ "next", cmd_next, "print a plan's next fire times",
	  "runner next PLAN [-n N] [--from TIME]",
	  "Print the next N (default 5) fire times of the plan's schedule "
	  "after TIME\n(default now), one a line, as ISO 8601 in the "
	  "schedule's time zone.\n\n"
	  "TIME: 2026-03-29T01:30:00Z, 2026-03-29T03:30+02:00, @SECONDS, or "
	  "without an\noffset (2026-03-29T01:30, 2026-03-29) in the "
	  "schedule's time zone." },
	{ "db", cmd_db, "database status, migrate, rollback",
	  "runner db status | migrate [--to V] | rollback [--to V | --steps N]\n"
	  "[--state DIR]",
	  "status prints the schema version of the state's database and its "
	  "migrations;\nmigrate applies the migrations up to the newest (or "
	  "to --to V); rollback\nundoes the newest (or --steps N of them, or "
	  "those above --to V). Both copy\nthe database aside first." },
	{ "gc", cmd_gc, "kill orphaned sandboxes, prune old runs",
	  "runner gc [--older-than DUR] [--dry-run] [--state DIR]",
	  "Remove the sandboxes of runs that are no longer going (local "
	  "sandbox\nroots, and E2B sandboxes by their metadata), trim the caps "
	  "ledger, and\nwith --older-than prune the runs that ended before "
	  "then (folders and\nrows)." },
};

static void set_exec_usage(void)
{
	struct strbuf names = STRBUF_INIT;

	sandbox_backend_names(&names, "|", "|");
	snprintf(exec_usage, sizeof(exec_usage),
		 "runner exec PLAN [--jobs N] [--backend %s] [--only ID...]\n"
		 "[--dry-run] [--if-due] [--state DIR] [--quiet|--json]\n"
		 "[--grace DUR]",
		 names.buf);
	strbuf_release(&names);
}

static const struct cmd_entry *find_cmd(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmd_table); i++)
		if (!strcmp(name, cmd_table[i].name))
			return &cmd_table[i];
	return NULL;
}

static void print_help(FILE *f)
{
	fprintf(f, "usage: runner COMMAND [ARGS]\n"
		   "       runner help COMMAND   (or runner COMMAND --help)\n"
		   "       runner --version\n\ncommands:\n");
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

/* "runner help [COMMAND]": the list, or "runner COMMAND --help". */
static int cmd_help(int argc, char **argv)
{
	static const char help_usage[] = "runner help [COMMAND]";
	const struct cmd_entry *cmd;
	char help[] = "--help";
	char *args[3];

	if (argc < 2) {
		print_help(stdout);
		return RUNNER_EXIT_OK;
	}
	if (argc > 2)
		return usage_error(help_usage, "unexpected argument '%s'",
				   argv[2]);
	cmd = find_cmd(argv[1]);
	if (!cmd) {
		fprintf(stderr,
			"runner: unknown command '%s'; see 'runner --help'\n",
			argv[1]);
		return RUNNER_EXIT_USAGE;
	}
	args[0] = argv[1];
	args[1] = help;
	args[2] = NULL;
	return cmd->fn(2, args, cmd);
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

/*
 * The first process in a sandbox with network: [allowlist]: hands the
 * proxy its listener and execs the task (netproxy.h). Before SIGPIPE is
 * ignored: an ignored signal stays ignored across exec, in the task.
 */
static int netproxy_helper(int argc, char **argv)
{
	struct strbuf err = STRBUF_INIT;

	netproxy_helper_main(argc, (const char **)argv, &err);
	fprintf(stderr, "runner: %s\n", err.buf);
	strbuf_release(&err);
	return 127;
}

int main(int argc, char **argv)
{
	const struct cmd_entry *cmd = NULL;
	int ret;

	check_fds();
	if (argc >= 2 && !strcmp(argv[1], NETPROXY_HELPER))
		return netproxy_helper(argc - 1, argv + 1);
	signal(SIGPIPE, SIG_IGN);
	set_exec_usage();

	if (argc < 2) {
		print_help(stderr);
		return RUNNER_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		print_help(stdout);
		return RUNNER_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("runner %s\n", RUNNER_VERSION);
		return RUNNER_EXIT_OK;
	}
	cmd = find_cmd(argv[1]);
	if (!strcmp(argv[1], "help")) {
		ret = cmd_help(argc - 1, argv + 1);
	} else if (!cmd) {
		fprintf(stderr,
			"runner: unknown command '%s'; see 'runner --help'\n",
			argv[1]);
		return RUNNER_EXIT_USAGE;
	} else {
		ret = cmd->fn(argc - 1, argv + 1, cmd);
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr,
			"runner: write failure on standard output: %s\n",
			strerror(errno));
		return RUNNER_EXIT_RUNTIME;
	}
	return ret;
}
