#include "runner.h"
#include "store-caps.h"
#include "store-internal.h"

static int fail(struct store *st, sqlite3_stmt *s, struct strbuf *err)
{
	strbuf_addstr(err, sqlite3_errmsg(store_db(st)));
	sqlite3_finalize(s);
	return -1;
}

static int prepare(struct store *st, const char *sql, sqlite3_stmt **s)
{
	return sqlite3_prepare_v2(store_db(st), sql, -1, s, NULL) == SQLITE_OK
		       ? 0
		       : -1;
}

int store_caps_nth_start(struct store *st, const char *key, int64_t since_ms,
			 int n, int64_t *at, struct strbuf *err)
{
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	if (prepare(st,
		    "SELECT at FROM starts WHERE cap_key = ?1 AND"
		    " at > ?2 ORDER BY at DESC LIMIT 1 OFFSET ?3",
		    &s) < 0)
		return fail(st, s, err);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, since_ms);
	sqlite3_bind_int(s, 3, n);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ret = 1;
		*at = sqlite3_column_int64(s, 0);
	} else if (rc != SQLITE_DONE) {
		return fail(st, s, err);
	}
	sqlite3_finalize(s);
	return ret;
}

int store_caps_add_start(struct store *st, const char *key, int64_t at_ms,
			 const char *run_id, const char *task_id,
			 struct strbuf *err)
{
	sqlite3_stmt *s = NULL;

	if (prepare(st,
		    "INSERT INTO starts (at, cap_key, run_id,"
		    " task_id) VALUES (?1, ?2, ?3, ?4)",
		    &s) < 0)
		return fail(st, s, err);
	sqlite3_bind_int64(s, 1, at_ms);
	sqlite3_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, run_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, task_id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) != SQLITE_DONE)
		return fail(st, s, err);
	sqlite3_finalize(s);
	return 0;
}

int store_caps_count_since(struct store *st, const char *key, int64_t since_ms,
			   int *out, struct strbuf *err)
{
	sqlite3_stmt *s = NULL;

	if (prepare(st,
		    "SELECT count(*) FROM starts WHERE cap_key = ?1"
		    " AND at > ?2",
		    &s) < 0)
		return fail(st, s, err);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, since_ms);
	if (sqlite3_step(s) != SQLITE_ROW)
		return fail(st, s, err);
	*out = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return 0;
}

int store_caps_trim(struct store *st, int64_t before_ms, struct strbuf *err)
{
	sqlite3_stmt *s = NULL;

	if (prepare(st, "DELETE FROM starts WHERE at < ?1", &s) < 0)
		return fail(st, s, err);
	sqlite3_bind_int64(s, 1, before_ms);
	if (sqlite3_step(s) != SQLITE_DONE)
		return fail(st, s, err);
	sqlite3_finalize(s);
	return 0;
}

int store_cost_window(struct store *st, const char *key, int64_t since_ms,
		      double *sum, int *open, struct strbuf *err)
{
	sqlite3_stmt *s = NULL;

	if (prepare(st,
		    "SELECT coalesce(sum(coalesce(actual_usd, reserved_usd)),"
		    " 0), count(*) - count(actual_usd) FROM cost_ledger"
		    " WHERE cost_key = ?1 AND at > ?2",
		    &s) < 0)
		return fail(st, s, err);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, since_ms);
	if (sqlite3_step(s) != SQLITE_ROW)
		return fail(st, s, err);
	*sum = sqlite3_column_double(s, 0);
	*open = sqlite3_column_int(s, 1);
	sqlite3_finalize(s);
	return 0;
}

int store_cost_newest_over(struct store *st, const char *key, int64_t since_ms,
			   double target, int64_t *at, struct strbuf *err)
{
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	/* newer: what this row and every newer one in the window add up to. */
	if (prepare(st,
		    "SELECT at FROM (SELECT at, sum(coalesce(actual_usd,"
		    " reserved_usd)) OVER (ORDER BY at DESC, id DESC) AS newer"
		    " FROM cost_ledger WHERE cost_key = ?1 AND at > ?2)"
		    " WHERE newer > ?3 ORDER BY at DESC LIMIT 1",
		    &s) < 0)
		return fail(st, s, err);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, since_ms);
	sqlite3_bind_double(s, 3, target);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ret = 1;
		*at = sqlite3_column_int64(s, 0);
	} else if (rc != SQLITE_DONE) {
		return fail(st, s, err);
	}
	sqlite3_finalize(s);
	return ret;
}

int store_cost_last_actual(struct store *st, const char *plan,
			   const char *task_id, double *usd,
			   struct strbuf *err)
{
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	if (prepare(st,
		    "SELECT actual_usd FROM cost_ledger WHERE plan_name = ?1"
		    " AND task_id = ?2 AND settled_by = 'attempt'"
		    " ORDER BY at DESC, id DESC LIMIT 1",
		    &s) < 0)
		return fail(st, s, err);
	sqlite3_bind_text(s, 1, plan, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, task_id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ret = 1;
		*usd = sqlite3_column_double(s, 0);
	} else if (rc != SQLITE_DONE) {
		return fail(st, s, err);
	}
	sqlite3_finalize(s);
	return ret;
}

int store_cost_reserve(struct store *st, const struct store_cost_row *r,
		       int64_t *id, struct strbuf *err)
{
	sqlite3_stmt *s = NULL;

	if (prepare(st,
		    "INSERT INTO cost_ledger (cost_key, at, plan_name, run_id,"
		    " task_id, attempt, reserved_usd) VALUES (?1, ?2, ?3, ?4,"
		    " ?5, ?6, ?7)",
		    &s) < 0)
		return fail(st, s, err);
	sqlite3_bind_text(s, 1, r->key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, r->at_ms);
	sqlite3_bind_text(s, 3, r->plan, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, r->run_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, r->task_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 6, r->attempt);
	sqlite3_bind_double(s, 7, r->reserved_usd);
	if (sqlite3_step(s) != SQLITE_DONE)
		return fail(st, s, err);
	*id = sqlite3_last_insert_rowid(store_db(st));
	sqlite3_finalize(s);
	return 0;
}

int store_cost_settle(struct store *st, int64_t id, double actual_usd,
		      int64_t now_ms, struct strbuf *err)
{
	sqlite3_stmt *s = NULL;

	if (prepare(st,
		    "UPDATE cost_ledger SET actual_usd = ?2, settled_at = ?3,"
		    " settled_by = 'attempt' WHERE id = ?1 AND"
		    " actual_usd IS NULL",
		    &s) < 0)
		return fail(st, s, err);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_double(s, 2, actual_usd);
	sqlite3_bind_int64(s, 3, now_ms);
	if (sqlite3_step(s) != SQLITE_DONE)
		return fail(st, s, err);
	sqlite3_finalize(s);
	return 0;
}

int store_cost_trim(struct store *st, int64_t before_ms, struct strbuf *err)
{
	sqlite3_stmt *s = NULL;

	if (prepare(st, "DELETE FROM cost_ledger WHERE at < ?1", &s) < 0)
		return fail(st, s, err);
	sqlite3_bind_int64(s, 1, before_ms);
	if (sqlite3_step(s) != SQLITE_DONE)
		return fail(st, s, err);
	sqlite3_finalize(s);
	return 0;
}
