#include "runner.h"
#include "store-gc.h"
#include "store.h"
#include "store-internal.h"

/* Whether a query bound to id has a row. */
static bool has_row(struct store *st, const char *sql, const char *id)
{
	sqlite3_stmt *s = NULL;
	bool found = false;

	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
		found = sqlite3_step(s) == SQLITE_ROW;
	}
	sqlite3_finalize(s);
	return found;
}

bool store_gc_run_known(struct store *st, const char *id)
{
	return has_row(st, "SELECT 1 FROM runs WHERE id = ?1", id);
}

bool store_gc_run_going(struct store *st, const char *id)
{
	return has_row(st,
		       "SELECT 1 FROM runs WHERE id = ?1 AND status ="
		       " 'running'",
		       id);
}

int store_gc_runs_before(struct store *st, int64_t cutoff_ms,
			 struct strvec *ids, struct strbuf *err)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(store_db(st),
			       "SELECT id FROM runs WHERE status != 'running'"
			       " AND coalesce(ended_at, started_at) < ?1"
			       " ORDER BY started_at",
			       -1, &s, NULL) != SQLITE_OK) {
		strbuf_addstr(err, sqlite3_errmsg(store_db(st)));
		return -1;
	}
	sqlite3_bind_int64(s, 1, cutoff_ms);
	while (sqlite3_step(s) == SQLITE_ROW)
		strvec_push(ids, (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return 0;
}

/*
 * The statements of sql in one transaction, all or none; each binds ?1 the
 * run id and, where it has them, ?2 reason and ?3 now (ms). failed is
 * the message's format for the run id ("cannot delete run %s").
 */
static int exec_each(struct store *st, const char *const *sql, size_t n,
		     const char *id, const char *reason, int64_t now_ms,
		     const char *failed, struct strbuf *err)
{
	sqlite3 *db = store_db(st);

	if (store_begin(st, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s = NULL;
		int ok = sqlite3_prepare_v2(db, sql[i], -1, &s, NULL) ==
			 SQLITE_OK;
		if (ok) {
			int params = sqlite3_bind_parameter_count(s);
			sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
			if (params >= 2)
				sqlite3_bind_text(s, 2, reason, -1,
						  SQLITE_TRANSIENT);
			if (params >= 3)
				sqlite3_bind_int64(s, 3, now_ms);
			ok = sqlite3_step(s) == SQLITE_DONE;
		}
		sqlite3_finalize(s);
		if (!ok) {
			strbuf_addf(err, failed, id);
			strbuf_addf(err, ": %s", sqlite3_errmsg(db));
			store_rollback(st);
			return -1;
		}
	}
	return store_commit(st, err);
}

int store_gc_delete_run(struct store *st, const char *id, struct strbuf *err)
{
	static const char *const sql[] = {
		"DELETE FROM events WHERE run_id = ?1",
		"DELETE FROM attempts WHERE run_id = ?1",
		"DELETE FROM tasks WHERE run_id = ?1",
		"DELETE FROM runs WHERE id = ?1",
	};

	return exec_each(st, sql, ARRAY_SIZE(sql), id, NULL, 0,
			 "cannot delete run %s", err);
}

int store_gc_running(struct store *st,
		     int (*fn)(const char *id, const char *host, long pid,
			       int64_t started_at, void *data),
		     void *data, struct strbuf *err)
{
	sqlite3_stmt *s = NULL;
	int ret = 0;

	if (sqlite3_prepare_v2(store_db(st),
			       "SELECT id, host, pid, started_at FROM runs"
			       " WHERE status = 'running'",
			       -1, &s, NULL) != SQLITE_OK) {
		strbuf_addstr(err, sqlite3_errmsg(store_db(st)));
		return -1;
	}
	while (!ret && sqlite3_step(s) == SQLITE_ROW)
		ret = fn((const char *)sqlite3_column_text(s, 0),
			 (const char *)sqlite3_column_text(s, 1),
			 (long)sqlite3_column_int64(s, 2),
			 sqlite3_column_int64(s, 3), data);
	sqlite3_finalize(s);
	return ret;
}

int store_gc_mark_lost(struct store *st, const char *id, const char *reason,
		       int64_t now_ms, struct strbuf *err)
{
	/* Every statement binds ?1 run id, ?2 reason, ?3 now (ms). */
	static const char *const sql[] = {
		"UPDATE tasks SET status = 'lost', reason = ?2, ended_at = ?3"
		" WHERE run_id = ?1 AND status = 'running'",
		"UPDATE attempts SET status = 'lost', reason = ?2, ended_at = ?3"
		" WHERE run_id = ?1 AND ended_at IS NULL",
		"UPDATE runs SET status = 'lost', ended_at = ?3 WHERE id = ?1"
		" AND status = 'running'",
		/*
		 * What a lost attempt spent is unknown: it keeps its
		 * estimate, the most it was let spend.
		 */
		"UPDATE cost_ledger SET actual_usd = reserved_usd,"
		" settled_at = ?3, settled_by = 'lost' WHERE run_id = ?1"
		" AND actual_usd IS NULL",
		"INSERT INTO events (at, run_id, level, kind, message)"
		" VALUES (?3, ?1, 'warn', 'run_lost', ?2)",
	};

	return exec_each(st, sql, ARRAY_SIZE(sql), id, reason, now_ms,
			 "cannot mark run %s lost", err);
}
