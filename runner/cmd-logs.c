#include "runner.h"
#include "cmd.h"
#include "fs.h"
#include "runref.h"
#include "store.h"
#include "timeutil.h"

#include <fcntl.h>
#include <getopt.h>

static const char usage[] = "runner logs RUN TASK [--follow] [--state DIR]";

/* The task's status, or NULL if the run has no such task. Caller frees. */
static char *task_status(struct store *st, const char *run, const char *task)
{
	sqlite3_stmt *s = NULL;
	char *status = NULL;
	if (sqlite3_prepare_v2(store_db(st),
			       "SELECT status FROM tasks WHERE run_id = ?1"
			       " AND id = ?2",
			       -1, &s, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(s, 1, run, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, task, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_ROW)
		status = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return status;
}

static int copy_out(int fd)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		if (fs_write_all(1, buf, (size_t)n) < 0)
			return -1;
	}
}

int cmd_logs(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "state", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state = NULL;
	struct store *st = NULL;
	struct strbuf err = STRBUF_INIT;
	char *id = NULL, *path = NULL, *status = NULL;
	bool follow = false;
	int c, ret, fd = -1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f", longopts, NULL)) != -1) {
		if (c == 'f')
			follow = true;
		else if (c == 's')
			state = optarg;
		else
			return usage_error(usage, "unknown option '%s'",
					   argv[optind - 1]);
	}
	if (argc - optind != 2)
		return usage_error(usage, "logs takes RUN and TASK");
	if ((ret = cmd_open_state_read(state, &st)))
		return ret;
	ret = RUNNER_EXIT_RUNTIME;
	if (runref_resolve(st, argv[optind], &id, &err) < 0) {
		error("%s", err.buf);
		goto out;
	}
	status = task_status(st, id, argv[optind + 1]);
	if (!status) {
		error("run %s has no task '%s'; 'runner show %s' lists them",
		      id, argv[optind + 1], id);
		goto out;
	}
	path = xstrfmt("%s/runs/%s/tasks/%s/output.log", store_dir(st), id,
		       argv[optind + 1]);
	for (;;) {
		bool running;
		if (fd < 0)
			fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && copy_out(fd) < 0) {
			error("cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		running = !strcmp(status, "running") ||
			  !strcmp(status, "queued");
		if (!follow || !running)
			break;
		time_sleep_ms(300);
		free(status);
		status = task_status(st, id, argv[optind + 1]);
		if (!status)
			break;
	}
	if (fd < 0 && !follow) {
		if (!strcmp(status, "skipped") || !strcmp(status, "queued"))
			fprintf(stderr,
				"runner: task '%s' has no output (%s)\n",
				argv[optind + 1], status);
		else {
			error("cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
	}
	ret = RUNNER_EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	free(id);
	free(path);
	free(status);
	strbuf_release(&err);
	if (st)
		store_close(st);
	return ret;
}
