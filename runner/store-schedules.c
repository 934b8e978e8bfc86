#include "runner.h"
#include "store-schedules.h"
#include "store-internal.h"

int store_schedules_get(struct store *st, const char *plan_name,
			int64_t *last_fire, struct strbuf *err)
{
	sqlite3_stmt *s = NULL;
	int rc, ret = -1;

	if (sqlite3_prepare_v2(store_db(st),
			       "SELECT last_fire FROM schedules WHERE"
			       " plan_name = ?1",
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, plan_name, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*last_fire = sqlite3_column_int64(s, 0);
			ret = 1;
		} else if (rc == SQLITE_DONE) {
			ret = 0;
		}
	}
	if (ret < 0)
		strbuf_addstr(err, sqlite3_errmsg(store_db(st)));
	sqlite3_finalize(s);
	return ret;
}

static int write_row(struct store *st, const char *sql, const char *plan_name,
		     int64_t now, int64_t last_fire, struct strbuf *err)
{
	sqlite3_stmt *s = NULL;
	int ok = 0;

	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, plan_name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 2, now);
		sqlite3_bind_int64(s, 3, last_fire);
		ok = sqlite3_step(s) == SQLITE_DONE;
	}
	if (!ok)
		strbuf_addstr(err, sqlite3_errmsg(store_db(st)));
	sqlite3_finalize(s);
	return ok ? 0 : -1;
}

int store_schedules_add(struct store *st, const char *plan_name, int64_t now,
			int64_t last_fire, struct strbuf *err)
{
	return write_row(st,
			 "INSERT INTO schedules (plan_name, armed_at,"
			 " last_fire, last_check) VALUES (?1, ?2, ?3, ?2)",
			 plan_name, now, last_fire, err);
}

int store_schedules_set(struct store *st, const char *plan_name, int64_t now,
			int64_t last_fire, struct strbuf *err)
{
	return write_row(st,
			 "UPDATE schedules SET last_fire = ?3, last_check = ?2"
			 " WHERE plan_name = ?1",
			 plan_name, now, last_fire, err);
}
