#include "runner.h"
#include "cmd.h"
#include "cmd-opt.h"
#include "quote.h"
#include "store.h"
#include "timeutil.h"

int cmd_runs(int argc, char **argv, const struct cmd_entry *cmd)
{
	const char *usage = cmd->usage, *state = NULL;
	int limit = 20;
	struct store *st = NULL;
	sqlite3_stmt *s = NULL;
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
	if (sqlite3_prepare_v2(store_db(st),
			       "SELECT r.id, r.plan_name, r.status,"
			       " r.started_at, r.ended_at, r.tasks_total,"
			       " (SELECT count(*) FROM tasks t WHERE"
			       "  t.run_id = r.id AND t.status = 'succeeded')"
			       " FROM runs r ORDER BY r.started_at DESC, r.id"
			       " DESC LIMIT ?1",
			       -1, &s, NULL) != SQLITE_OK) {
		ret = error("cannot list runs: %s",
			    sqlite3_errmsg(store_db(st)));
		ret = RUNNER_EXIT_RUNTIME;
		goto out;
	}
	sqlite3_bind_int64(s, 1, limit);
	while (sqlite3_step(s) == SQLITE_ROW) {
		char when[40], dur[32], *id, *plan, *status;
		int64_t start = sqlite3_column_int64(s, 3);
		if (!rows++)
			printf("%-22s %-20s %-11s %-21s %-8s %s\n", "RUN",
			       "PLAN", "STATUS", "STARTED", "DURATION",
			       "OK/TASKS");
		time_human_utc(start, when, sizeof(when));
		if (sqlite3_column_type(s, 4) == SQLITE_NULL)
			snprintf(dur, sizeof(dur), "-");
		else
			time_format_elapsed(sqlite3_column_int64(s, 4) - start,
					    dur, sizeof(dur));
		/* Nothing here is a sandbox's, but the terminal is guarded. */
		id = quote_text_dup((const char *)sqlite3_column_text(s, 0));
		plan = quote_text_dup((const char *)sqlite3_column_text(s, 1));
		status = quote_text_dup(
			(const char *)sqlite3_column_text(s, 2));
		printf("%-22s %-20s %-11s %-21s %-8s %d/%d\n", id, plan,
		       status, when, dur, sqlite3_column_int(s, 6),
		       sqlite3_column_int(s, 5));
		free(id);
		free(plan);
		free(status);
	}
	if (!rows)
		printf("no runs yet\n");
	ret = RUNNER_EXIT_OK;
out:
	sqlite3_finalize(s);
	store_close(st);
	return ret;
}
