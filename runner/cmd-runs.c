#include "runner.h"
#include "cmd.h"
#include "cmd-opt.h"
#include "quote.h"
#include "store.h"
#include "store-runs.h"
#include "timeutil.h"

static int print_run(const struct store_run *r, void *data)
{
	int *rows = data;
	char when[40], dur[32], *id, *plan, *status;

	if (!(*rows)++)
		printf("%-22s %-20s %-11s %-21s %-8s %s\n", "RUN", "PLAN",
		       "STATUS", "STARTED", "DURATION", "OK/TASKS");
	time_human_utc(r->started_at, when, sizeof(when));
	if (!r->has_end)
		snprintf(dur, sizeof(dur), "-");
	else
		time_format_elapsed(r->ended_at - r->started_at, dur,
				    sizeof(dur));
	/* Nothing here is a sandbox's, but the terminal is guarded. */
	id = quote_text_dup(r->id);
	plan = quote_text_dup(r->plan_name);
	status = quote_text_dup(r->status);
	printf("%-22s %-20s %-11s %-21s %-8s %d/%d\n", id, plan, status, when,
	       dur, r->tasks_succeeded, r->tasks_total);
	free(id);
	free(plan);
	free(status);
	return 0;
}

int cmd_runs(int argc, char **argv, const struct cmd_entry *cmd)
{
	const char *usage = cmd->usage, *state = NULL;
	int limit = 20;
	struct store *st = NULL;
	struct strbuf err = STRBUF_INIT;
	int ret, rows = 0;
	const struct opt options[] = {
		OPT_INT('n', "limit", "N", &limit, 1, INT_MAX,
			"list the newest N runs (default 20)"),
		OPT_STATE(&state),
		OPT_END(),
	};

	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		return ret;
	if (optind != argc)
		return usage_error(usage, "unexpected argument '%s'",
				   argv[optind]);
	if ((ret = cmd_open_state_read(state, &st)))
		return ret;
	if (store_runs_list(st, limit, print_run, &rows, &err) < 0) {
		error("cannot list runs: %s", err.buf);
		ret = RUNNER_EXIT_RUNTIME;
		goto out;
	}
	if (!rows)
		printf("no runs yet\n");
	ret = RUNNER_EXIT_OK;
out:
	strbuf_release(&err);
	store_close(st);
	return ret;
}
