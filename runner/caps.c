#include "runner.h"
#include "caps.h"
#include "store.h"

#define HOUR_MS (3600 * 1000LL)
#define DAY_MS (24 * HOUR_MS)

/*
 * When would the window [now - window, now] hold fewer than limit starts?
 * When the oldest start that keeps it full falls out: the limit-th newest
 * start's time plus the window.
 */
static int window_full(sqlite3 *db, const char *key, int64_t window_ms,
		       int limit, int64_t now_ms, int64_t *frees_at)
{
	sqlite3_stmt *s = NULL;
	int rc, full = 0;

	rc = sqlite3_prepare_v2(db,
				"SELECT at FROM starts WHERE cap_key = ?1 AND"
				" at > ?2 ORDER BY at DESC LIMIT 1 OFFSET ?3",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, now_ms - window_ms);
	sqlite3_bind_int(s, 3, limit - 1);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		full = 1;
		*frees_at = sqlite3_column_int64(s, 0) + window_ms;
	} else if (rc != SQLITE_DONE) {
		full = -1;
	}
	sqlite3_finalize(s);
	return full;
}

int caps_try_start(struct store *st, const struct caps *c, int64_t now_ms,
		   const char *run_id, const char *task_id, int64_t *next_ms,
		   const char **which, struct strbuf *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	int64_t hour_free = 0, day_free = 0;
	int hour_full = 0, day_full = 0;

	*next_ms = 0;
	*which = NULL;
	if (store_begin(st, err) < 0)
		return -1;
	if (c->per_hour > 0 &&
	    (hour_full = window_full(db, c->key, HOUR_MS, c->per_hour, now_ms,
				     &hour_free)) < 0)
		goto fail;
	if (c->per_day > 0 &&
	    (day_full = window_full(db, c->key, DAY_MS, c->per_day, now_ms,
				    &day_free)) < 0)
		goto fail;
	if (hour_full || day_full) {
		store_rollback(st);
		/* Both full: the later of the two frees a real slot. */
		if (day_full && (!hour_full || day_free > hour_free)) {
			*next_ms = day_free;
			*which = "per_day";
		} else {
			*next_ms = hour_free;
			*which = "per_hour";
		}
		return CAPS_FULL;
	}
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO starts (at, cap_key, run_id,"
			       " task_id) VALUES (?1, ?2, ?3, ?4)",
			       -1, &s, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_text(s, 2, c->key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, run_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, task_id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(s);
	if (store_commit(st, err) < 0)
		return -1;
	return CAPS_TAKEN;
fail:
	strbuf_addf(err, "cannot use the caps ledger: %s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	store_rollback(st);
	return -1;
}

int caps_count(struct store *st, const char *key, int64_t window_ms,
	       int64_t now_ms, int *out, struct strbuf *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	int ret = -1;

	if (sqlite3_prepare_v2(db,
			       "SELECT count(*) FROM starts WHERE cap_key = ?1"
			       " AND at > ?2",
			       -1, &s, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, now_ms - window_ms);
	if (sqlite3_step(s) != SQLITE_ROW)
		goto out;
	*out = sqlite3_column_int(s, 0);
	ret = 0;
out:
	if (ret < 0)
		strbuf_addf(err, "cannot read the caps ledger: %s",
			    sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return ret;
}
