#include "runner.h"
#include "cmd.h"
#include "cmd-progress.h"
#include "hash.h"
#include "plan.h"
#include "runref.h"
#include "sched.h"
#include "store.h"
#include "store-runs.h"
#include "cmd-opt.h"

/*
 * The plan the run was made from, checked to be unchanged: resuming
 * runs the plan as it was, in place (same id, same folder).
 */
static int load_run_plan(struct store *st, const char *id, struct plan **plan)
{
	struct store_run r;
	struct strbuf text, errors = STRBUF_INIT, msg = STRBUF_INIT;
	unsigned char sum[32];
	char hex[65];
	char *path = NULL;
	int ret = RUNNER_EXIT_RUNTIME;

	strbuf_init_capped(&text, 64 << 20);
	if (store_runs_get(st, id, &r, &msg) != 1)
		goto out;
	path = xstrdup(r.plan_path ? r.plan_path : "");
	if (strbuf_read_file(&text, path) < 0) {
		error("cannot read the plan of run %s, '%s': %s", id, path,
		      strerror(errno));
		goto out;
	}
	sha256_buf(text.buf, text.len, sum);
	sha256_hex(sum, hex);
	if (strcmp(hex, r.plan_sha256 ? r.plan_sha256 : "")) {
		error("plan '%s' has changed since run %s started; resume runs "
		      "a plan as it was: restore it (a copy is in the run's "
		      "folder as plan.yaml) or start a new run",
		      path, id);
		goto out;
	}
	if (plan_load(path, plan, &errors) < 0) {
		fputs(errors.buf, stderr);
		ret = RUNNER_EXIT_USAGE;
		goto out;
	}
	ret = 0;
out:
	store_run_release(&r);
	strbuf_release(&msg);
	strbuf_release(&text);
	strbuf_release(&errors);
	free(path);
	return ret;
}

int cmd_resume(int argc, char **argv, const struct cmd_entry *cmd)
{
	struct run_opts opts = { .progress = PROGRESS_AUTO };
	struct strbuf err = STRBUF_INIT;
	struct plan *plan = NULL;
	struct store *st = NULL;
	const char *state = NULL;
	char *id = NULL;
	int ret;
	const char *usage = cmd->usage;
	int progress = PROGRESS_AUTO;
	const struct opt options[] = {
		OPT_INT('j', "jobs", "N", &opts.jobs, 1, 1024,
			"tasks at once, 1-1024 (default: the plan's limit)"),
		OPT_STATE(&state),
		OPT_SET_INT('q', "quiet", &progress, PROGRESS_QUIET,
			    "print only the closing summary"),
		OPT_SET_INT(0, "json", &progress, PROGRESS_JSON,
			    "print one JSON object per event on stdout"),
		OPT_DURATION(
			0, "grace", "DUR", &opts.grace_ms, "10s",
			"time from TERM to KILL on a signal (default 10s)"),
		OPT_END(),
	};

	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		return ret;
	opts.progress = progress;
	if (argc - optind != 1)
		return usage_error(usage, "resume takes one RUN");
	if ((ret = cmd_open_state(state, &st)))
		return ret;
	if (runref_resolve(st, argv[optind], &id, &err) < 0) {
		error("%s", err.buf);
		ret = RUNNER_EXIT_RUNTIME;
		goto out;
	}
	ret = load_run_plan(st, id, &plan);
	store_close(st);
	st = NULL;
	if (ret)
		goto out;
	opts.state_dir = store_resolve_dir(state);
	opts.resume_id = id;
	ret = cmd_run_plan(plan, &opts);
out:
	if (st)
		store_close(st);
	plan_free(plan);
	free(id);
	strbuf_release(&err);
	return ret;
}
