#include "runner.h"
#include "due.h"
#include "cron.h"
#include "plan.h"
#include "store.h"

/* Fire times counted one by one at most; past that, "many". */
#define MAX_COUNT 10000

void due_format(const struct plan *plan, time_t t, char *buf, size_t n)
{
	if (cron_format_time(t, plan->timezone, buf, n) < 0)
		snprintf(buf, n, "@%lld", (long long)t);
}

/* Read the plan's row: 1 found, 0 none, -1 error. */
static int read_row(sqlite3 *db, const char *name, time_t *last_fire)
{
	sqlite3_stmt *s = NULL;
	int rc, ret = -1;

	if (sqlite3_prepare_v2(db,
			       "SELECT last_fire FROM schedules WHERE"
			       " plan_name = ?1",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*last_fire = (time_t)sqlite3_column_int64(s, 0);
		ret = 1;
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	}
	sqlite3_finalize(s);
	return ret;
}

static int write_row(sqlite3 *db, const char *name, time_t now,
		     time_t last_fire, int insert)
{
	sqlite3_stmt *s = NULL;
	int ok;
	const char *sql =
		insert ? "INSERT INTO schedules (plan_name, armed_at,"
			 " last_fire, last_check) VALUES (?1, ?2, ?3, ?2)"
		       : "UPDATE schedules SET last_fire = ?3, last_check = ?2"
			 " WHERE plan_name = ?1";

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)last_fire);
	ok = sqlite3_step(s) == SQLITE_DONE;
	sqlite3_finalize(s);
	return ok ? 0 : -1;
}

int due_check(struct store *st, const struct plan *plan, time_t now,
	      struct due_decision *d, struct strbuf *err)
{
	sqlite3 *db = store_db(st);
	struct cron c;
	struct cron_tz *tz = NULL;
	unsigned col = 0;
	time_t last = 0, t;
	int found, ret = -1;

	memset(d, 0, sizeof(*d));
	if (!plan->has_schedule) {
		strbuf_addf(err, "plan '%s' has no schedule", plan->name);
		return -1;
	}
	if (cron_parse(plan->cron, &c, &col, err) < 0 ||
	    cron_tz_load(plan->timezone, &tz, err) < 0)
		goto out;
	if (cron_next_tz(&c, tz, now, &d->next, err) < 0)
		goto out;
	if (store_begin(st, err) < 0)
		goto out;
	found = read_row(db, plan->name, &last);
	if (found < 0)
		goto dbfail;
	if (!found) {
		d->verdict = DUE_ARMED;
		if (write_row(db, plan->name, now, now, 1) < 0)
			goto dbfail;
		ret = store_commit(st, err);
		goto out;
	}
	/*
	 * Count the fire times in (last, now]. A minutely schedule after a
	 * long downtime has too many to walk: past MAX_COUNT, jump to a day
	 * before now to find the newest one (the count then says "many").
	 */
	for (t = last;;) {
		time_t n;
		if (d->nr_passed == MAX_COUNT && now - t > 86400)
			t = now - 86400;
		if (cron_next_tz(&c, tz, t, &n, err) < 0)
			goto rollback;
		if (n > now)
			break;
		d->fire = n;
		if (d->nr_passed < MAX_COUNT)
			d->nr_passed++;
		t = n;
	}
	if (!d->nr_passed) {
		d->verdict = DUE_NOT_YET;
		if (write_row(db, plan->name, now, last, 0) < 0)
			goto dbfail;
		ret = store_commit(st, err);
		goto out;
	}
	d->verdict = DUE_RUN;
	if (plan->missed == PLAN_MISSED_SKIP && now - d->fire > DUE_TOLERANCE)
		d->verdict = DUE_MISSED;
	if (write_row(db, plan->name, now, d->fire, 0) < 0)
		goto dbfail;
	ret = store_commit(st, err);
	goto out;
dbfail:
	strbuf_addf(err, "cannot use the schedules table: %s",
		    sqlite3_errmsg(db));
rollback:
	store_rollback(st);
out:
	cron_tz_free(tz);
	return ret;
}
