#include "runner.h"
#include "cmd.h"
#include "cmd-progress.h"
#include "plan.h"
#include "sched.h"
#include "store.h"
#include "store-runs.h"
#include "cron.h"
#include "due.h"
#include "fs.h"
#include "recover.h"
#include "sandbox.h"
#include "timeutil.h"
#include "cmd-opt.h"

#include <fcntl.h>
#include <sys/file.h>

/*
 * The clock for the scheduling decision: RUNNER_NOW (ISO 8601), a
 * testing aid, else the real time. Nothing else reads RUNNER_NOW.
 */
static int decision_time(const struct plan *plan, time_t *now)
{
	const char *fake = getenv("RUNNER_NOW");
	struct cron_tz *tz = NULL;
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	*now = time(NULL);
	if (!fake || !*fake)
		return 0;
	if (cron_tz_load(plan->timezone, &tz, &err) < 0 ||
	    cron_parse_time(fake, tz, now, &err) < 0) {
		error("RUNNER_NOW: %s", err.buf);
		ret = -1;
	}
	cron_tz_free(tz);
	strbuf_release(&err);
	return ret;
}

/*
 * exec --if-due: decide whether the plan runs now. Returns -1 to go on
 * and run it, or an exit code to stop with. A lock file serialises the
 * decision and the overlap check between runners of the same plan; the
 * claim of the fire time in the database is what makes it run once.
 */
static int decide_if_due(const struct plan *plan, const char *state_dir)
{
	struct store *st = NULL;
	struct strbuf err = STRBUF_INIT;
	struct due_decision d;
	char next[48], fire[48];
	char *lock_path = NULL, *busy = NULL;
	time_t now;
	int lock_fd = -1, ret = RUNNER_EXIT_RUNTIME;

	if (!plan->has_schedule) {
		error("plan '%s' has no schedule; --if-due needs one "
		      "(schedule: {cron: \"0 2 * * *\"})",
		      plan->name);
		ret = RUNNER_EXIT_USAGE;
		goto out;
	}
	if (decision_time(plan, &now) < 0) {
		ret = RUNNER_EXIT_USAGE;
		goto out;
	}
	if (store_open(state_dir, STORE_MIGRATE, &st, &err) < 0) {
		error("%s", err.buf);
		goto out;
	}
	if (recover_lost_runs(st, &err) < 0) {
		warning("%s", err.buf);
		strbuf_reset(&err);
	}
	lock_path = xstrfmt("%s/if-due-%s.lock", state_dir, plan->name);
	lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0) {
		error("cannot lock '%s': %s", lock_path, strerror(errno));
		goto out;
	}
	if (due_check(st, plan, now, &d, &err) < 0) {
		error("%s", err.buf);
		goto out;
	}
	due_format(plan, d.next, next, sizeof(next));
	due_format(plan, d.fire, fire, sizeof(fire));
	switch (d.verdict) {
	case DUE_ARMED:
		printf("armed plan '%s': it first runs at %s\n", plan->name,
		       next);
		ret = RUNNER_EXIT_OK;
		goto out;
	case DUE_NOT_YET:
		printf("plan '%s' is not due; next run at %s\n", plan->name,
		       next);
		ret = RUNNER_EXIT_OK;
		goto out;
	case DUE_MISSED:
		printf("plan '%s' missed %d fire time%s (the last at %s); "
		       "missed: skip, so next run at %s\n",
		       plan->name, d.nr_passed, d.nr_passed == 1 ? "" : "s",
		       fire, next);
		ret = RUNNER_EXIT_OK;
		goto out;
	case DUE_RUN:
		break;
	}
	busy = store_runs_going(st, plan->name);
	if (busy && plan->overlap == PLAN_OVERLAP_FORBID) {
		printf("plan '%s' was due at %s, but run %s is still going "
		       "(overlap: forbid); next run at %s\n",
		       plan->name, fire, busy, next);
		ret = RUNNER_EXIT_OK;
		goto out;
	}
	if (busy) {
		printf("plan '%s' is due (%s); waiting for run %s to finish "
		       "(overlap: wait)\n",
		       plan->name, fire, busy);
		fflush(stdout);
		while (busy) {
			free(busy);
			time_sleep_ms(1000);
			recover_lost_runs(st, &err);
			strbuf_reset(&err);
			busy = store_runs_going(st, plan->name);
		}
	}
	printf("plan '%s' is due (%s%s); running it\n", plan->name, fire,
	       d.nr_passed > 1 ? ", after missed fire times" : "");
	fflush(stdout);
	ret = -1;
out:
	if (lock_fd >= 0)
		close(lock_fd);
	free(lock_path);
	free(busy);
	if (st)
		store_close(st);
	strbuf_release(&err);
	return ret;
}

/* "local|e2b": the backends built in. */
static char *backend_names(void)
{
	struct strbuf sb = STRBUF_INIT;
	sandbox_backend_names(&sb, "|", "|");
	return strbuf_detach(&sb, NULL);
}

int cmd_exec(int argc, char **argv, const struct cmd_entry *cmd)
{
	char *backend_argh = backend_names();
	struct run_opts opts = { .progress = PROGRESS_AUTO };
	struct strvec only = STRVEC_INIT;
	struct strbuf errors = STRBUF_INIT;
	struct plan *plan = NULL;
	const char *state = NULL, *backend = NULL;
	int ret = RUNNER_EXIT_USAGE;
	bool quiet = false, json = false, if_due = false;
	const char *usage = cmd->usage;
	const struct opt options[] = {
		OPT_INT('j', "jobs", "N", &opts.jobs, 1, 1024,
			"tasks at once, 1-1024 (default: the plan's limit)"),
		OPT_STRING(0, "backend", backend_argh, &backend,
			   "run there, not on the plan's backend"),
		OPT_LIST(0, "only", "ID[,ID...]", &only,
			 "run only these tasks, not their dependencies"),
		OPT_BOOL(0, "dry-run", &opts.dry_run,
			 "print the tasks and their order; run nothing"),
		OPT_BOOL(0, "if-due", &if_due,
			 "run only if a schedule fire time has passed (cron)"),
		OPT_STATE(&state),
		OPT_BOOL('q', "quiet", &quiet,
			 "print only the closing summary"),
		OPT_BOOL(0, "json", &json,
			 "print one JSON object per event on stdout"),
		OPT_DURATION(
			0, "grace", "DUR", &opts.grace_ms, "10s",
			"time from TERM to KILL on a signal (default 10s)"),
		OPT_END(),
	};

	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		goto out;
	ret = RUNNER_EXIT_USAGE;
	if (optind != argc - 1) {
		ret = usage_error(usage, optind == argc
						 ? "exec needs a plan file"
						 : "exec takes one plan file");
		goto out;
	}
	if (quiet && json) {
		ret = usage_error(usage, "--quiet and --json do not mix");
		goto out;
	}
	opts.progress = json	? PROGRESS_JSON
			: quiet ? PROGRESS_QUIET
				: PROGRESS_AUTO;
	if (plan_load(argv[optind], &plan, &errors) < 0) {
		fputs(errors.buf, stderr);
		ret = RUNNER_EXIT_USAGE;
		goto out;
	}
	if (backend && plan_use_backend(plan, backend, &errors) < 0) {
		if (sandbox_backend_find(backend)) {
			fputs(errors.buf, stderr);
			ret = RUNNER_EXIT_USAGE;
		} else {
			ret = usage_error(usage, "%s", errors.buf);
		}
		goto out;
	}
	for (size_t i = 0; i < only.nr; i++) {
		if (!plan_find_task(plan, only.v[i])) {
			ret = usage_error(usage,
					  "--only: plan '%s' has no task '%s'",
					  plan->name, only.v[i]);
			goto out;
		}
	}
	opts.only = &only;
	opts.state_dir = store_resolve_dir(state);
	if (if_due) {
		ret = decide_if_due(plan, opts.state_dir);
		if (ret != -1)
			goto out;
	}
	ret = cmd_run_plan(plan, &opts);
out:
	plan_free(plan);
	strvec_clear(&only);
	strbuf_release(&errors);
	free(backend_argh);
	return ret;
}
