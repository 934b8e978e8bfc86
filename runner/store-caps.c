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
