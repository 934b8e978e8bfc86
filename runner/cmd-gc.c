#include "runner.h"
#include "cmd.h"
#include "fs.h"
#include "cmd-opt.h"
#include "plan.h"
#include "recover.h"
#include "sandbox.h"
#include "store.h"
#include "timeutil.h"

/* The ledger only ever looks back 24 hours; keep two days. */
#define LEDGER_KEEP_MS (2 * 86400 * 1000LL)

/* 1 if run id is going (status running: recovery has run already). */
static int run_is_going(sqlite3 *db, const char *id)
{
	sqlite3_stmt *s = NULL;
	int going = 0;
	if (sqlite3_prepare_v2(db,
			       "SELECT 1 FROM runs WHERE id = ?1 AND status ="
			       " 'running'",
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
		going = sqlite3_step(s) == SQLITE_ROW;
	}
	sqlite3_finalize(s);
	return going;
}

/* 1 if this state has a run with that id. */
static int run_known(sqlite3 *db, const char *id)
{
	sqlite3_stmt *s = NULL;
	int known = 0;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM runs WHERE id = ?1", -1, &s,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
		known = sqlite3_step(s) == SQLITE_ROW;
	}
	sqlite3_finalize(s);
	return known;
}

/*
 * What each backend finds left of runs that are no longer going (a
 * crashed runner's). What is not in the state's own folder and whose
 * run this state does not know belongs to someone else: left alone.
 */
static int gc_leftovers(struct store *st, const struct sandbox_backend *be,
			bool dry_run, int *removed)
{
	struct sandbox_leftovers l = SANDBOX_LEFTOVERS_INIT;
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	if (be->list_leftovers(store_dir(st), NULL, 0, &l, &err) < 0) {
		error("%s", err.buf);
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < l.nr; i++) {
		const struct sandbox_leftover *o = &l.v[i];
		if ((!o->in_state && !run_known(store_db(st), o->run_id)) ||
		    run_is_going(store_db(st), o->run_id))
			continue;
		printf("%s %s\n", dry_run ? o->would : o->done, o->what);
		strbuf_reset(&err);
		if (!dry_run &&
		    be->kill_leftover(store_dir(st), o, &err) < 0) {
			error("%s", err.buf);
			ret = -1;
		} else {
			(*removed)++;
		}
	}
out:
	sandbox_leftovers_release(&l);
	strbuf_release(&err);
	return ret;
}

static int delete_run_rows(struct store *st, const char *id,
			   struct strbuf *err)
{
	static const char *const sql[] = {
		"DELETE FROM events WHERE run_id = ?1",
		"DELETE FROM attempts WHERE run_id = ?1",
		"DELETE FROM tasks WHERE run_id = ?1",
		"DELETE FROM runs WHERE id = ?1",
	};
	sqlite3 *db = store_db(st);

	if (store_begin(st, err) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(sql); i++) {
		sqlite3_stmt *s = NULL;
		int ok = sqlite3_prepare_v2(db, sql[i], -1, &s, NULL) ==
			 SQLITE_OK;
		if (ok) {
			sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
			ok = sqlite3_step(s) == SQLITE_DONE;
		}
		sqlite3_finalize(s);
		if (!ok) {
			strbuf_addf(err, "cannot delete run %s: %s", id,
				    sqlite3_errmsg(db));
			store_rollback(st);
			return -1;
		}
	}
	return store_commit(st, err);
}

/* Runs that ended before cutoff: folder first, then rows. */
static int gc_runs(struct store *st, int64_t cutoff, bool dry_run, int *pruned)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	struct strvec ids = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	if (sqlite3_prepare_v2(db,
			       "SELECT id FROM runs WHERE status != 'running'"
			       " AND coalesce(ended_at, started_at) < ?1"
			       " ORDER BY started_at",
			       -1, &s, NULL) != SQLITE_OK) {
		error("cannot list runs: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int64(s, 1, cutoff);
	while (sqlite3_step(s) == SQLITE_ROW)
		strvec_push(&ids, (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	for (size_t i = 0; i < ids.nr; i++) {
		char *dir = xstrfmt("%s/runs/%s", store_dir(st), ids.v[i]);
		printf("%s run %s\n", dry_run ? "would prune" : "pruned",
		       ids.v[i]);
		if (!dry_run &&
		    (fs_rm_rf(dir, &err) < 0 ||
		     recover_kill_leftovers(store_dir(st), ids.v[i],
					    SANDBOX_LEFTOVERS_OFFLINE,
					    &err) < 0 ||
		     delete_run_rows(st, ids.v[i], &err) < 0)) {
			error("%s", err.buf);
			strbuf_reset(&err);
			ret = -1;
		} else {
			(*pruned)++;
		}
		free(dir);
	}
	strvec_clear(&ids);
	strbuf_release(&err);
	return ret;
}

static int gc_ledger(struct store *st, bool dry_run)
{
	sqlite3_stmt *s = NULL;
	int ok;
	if (dry_run)
		return 0;
	if (sqlite3_prepare_v2(store_db(st),
			       "DELETE FROM starts WHERE at < ?1", -1, &s,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, time_now_ms() - LEDGER_KEEP_MS);
	ok = sqlite3_step(s) == SQLITE_DONE;
	sqlite3_finalize(s);
	return ok ? 0 : -1;
}

int cmd_gc(int argc, char **argv, const struct cmd_entry *cmd)
{
	const char *usage = cmd->usage, *state = NULL;
	struct store *st = NULL;
	int64_t older = -1;
	bool dry_run = false;
	int ret, removed = 0, pruned = 0;
	const struct opt options[] = {
		OPT_DURATION(0, "older-than", "DUR", &older, "30d",
			     "also prune runs that ended more than DUR ago"),
		OPT_BOOL('n', "dry-run", &dry_run,
			 "say what would be removed; remove nothing"),
		OPT_STATE(&state),
		OPT_END(),
	};

	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		return ret;
	if (optind != argc)
		return usage_error(usage, "unexpected argument '%s'",
				   argv[optind]);
	/*
	 * Opening the state marks runs whose runner died as lost. A dry run
	 * only reads, so it also works on a full disk.
	 */
	ret = dry_run ? cmd_open_state_read(state, &st)
		      : cmd_open_state(state, &st);
	if (ret)
		return ret;
	ret = RUNNER_EXIT_OK;
	for (size_t i = 0; i < sandbox_backend_count(); i++)
		if (gc_leftovers(st, sandbox_backend_at(i), dry_run,
				 &removed) < 0)
			ret = RUNNER_EXIT_RUNTIME;
	if (older >= 0 &&
	    gc_runs(st, time_now_ms() - older, dry_run, &pruned) < 0)
		ret = RUNNER_EXIT_RUNTIME;
	if (gc_ledger(st, dry_run) < 0) {
		error("cannot trim the caps ledger: %s",
		      sqlite3_errmsg(store_db(st)));
		ret = RUNNER_EXIT_RUNTIME;
	}
	printf("gc: %d sandbox%s removed, %d run%s pruned%s\n", removed,
	       removed == 1 ? "" : "es", pruned, pruned == 1 ? "" : "s",
	       dry_run ? " (dry run)" : "");
	store_close(st);
	return ret;
}
