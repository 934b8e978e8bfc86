#include "runner.h"
#include "cmd.h"
#include "fs.h"
#include "cmd-opt.h"
#include "quote.h"
#include "runref.h"
#include "store.h"
#include "store-runs.h"
#include "timeutil.h"

#include <fcntl.h>

/*
 * The log goes out as it is, except to a terminal (unless --raw): there
 * the task's ESC, CR and other control characters are escaped (quote.h),
 * so its output cannot move the cursor, erase lines or retitle the
 * window. A UTF-8 character cut by a read waits for its other bytes.
 */
struct log_out {
	bool escape;
	char carry[4];
	size_t nr_carry;
};

static int emit(struct log_out *lo, const char *buf, size_t n, bool last)
{
	struct strbuf sb = STRBUF_INIT;
	size_t keep;
	int ret;

	if (!lo->escape)
		return fs_write_all(1, buf, n);
	strbuf_add(&sb, lo->carry, lo->nr_carry);
	strbuf_add(&sb, buf, n);
	keep = last ? 0 : quote_utf8_partial_tail(sb.buf, sb.len);
	lo->nr_carry = keep;
	memcpy(lo->carry, sb.buf + sb.len - keep, keep);
	{
		struct strbuf q = STRBUF_INIT;
		quote_text(&q, sb.buf, sb.len - keep, QUOTE_KEEP_LINES);
		ret = fs_write_all(1, q.buf, q.len);
		strbuf_release(&q);
	}
	strbuf_release(&sb);
	return ret;
}

static int copy_out(int fd, struct log_out *lo)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		if (emit(lo, buf, (size_t)n, false) < 0)
			return -1;
	}
}

int cmd_logs(int argc, char **argv, const struct cmd_entry *cmd)
{
	const char *usage = cmd->usage, *state = NULL;
	struct store *st = NULL;
	struct strbuf err = STRBUF_INIT;
	char *id = NULL, *path = NULL, *status = NULL;
	bool follow = false, raw = false;
	struct log_out lo = { 0 };
	int ret, fd = -1;
	const struct opt options[] = {
		OPT_BOOL('f', "follow", &follow,
			 "while the task runs, wait for more output"),
		OPT_BOOL(0, "raw", &raw,
			 "print control characters as they are"),
		OPT_STATE(&state),
		OPT_END(),
	};

	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		return ret;
	if (argc - optind != 2)
		return usage_error(usage, "logs takes RUN and TASK");
	lo.escape = !raw && isatty(1);
	if ((ret = cmd_open_state_read(state, &st)))
		return ret;
	ret = RUNNER_EXIT_RUNTIME;
	if (runref_resolve(st, argv[optind], &id, &err) < 0) {
		error("%s", err.buf);
		goto out;
	}
	status = store_runs_task_status(st, id, argv[optind + 1]);
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
		if (fd >= 0 && copy_out(fd, &lo) < 0) {
			error("cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		running = !strcmp(status, "running") ||
			  !strcmp(status, "queued");
		if (!follow || !running)
			break;
		time_sleep_ms(300);
		free(status);
		status = store_runs_task_status(st, id, argv[optind + 1]);
		if (!status)
			break;
	}
	if (lo.nr_carry && emit(&lo, "", 0, true) < 0) {
		error("cannot write the log: %s", strerror(errno));
		goto out;
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
