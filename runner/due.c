#include "runner.h"
#include "due.h"
#include "cron.h"
#include "plan.h"
#include "store.h"
#include "store-schedules.h"

/* Fire times counted one by one at most; past that, "many". */
#define MAX_COUNT 10000

void due_format(const struct plan *plan, time_t t, char *buf, size_t n)
{
	if (cron_format_time(t, plan->timezone, buf, n) < 0)
		snprintf(buf, n, "@%lld", (long long)t);
}

int due_check(struct store *st, const struct plan *plan, time_t now,
	      struct due_decision *d, struct strbuf *err)
{
	struct strbuf msg = STRBUF_INIT;
	int64_t last_fire = 0;
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
	found = store_schedules_get(st, plan->name, &last_fire, &msg);
	if (found < 0)
		goto dbfail;
	last = (time_t)last_fire;
	if (!found) {
		d->verdict = DUE_ARMED;
		if (store_schedules_add(st, plan->name, now, now, &msg) < 0)
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
		if (store_schedules_set(st, plan->name, now, last, &msg) < 0)
			goto dbfail;
		ret = store_commit(st, err);
		goto out;
	}
	d->verdict = DUE_RUN;
	if (plan->missed == PLAN_MISSED_SKIP && now - d->fire > DUE_TOLERANCE)
		d->verdict = DUE_MISSED;
	if (store_schedules_set(st, plan->name, now, d->fire, &msg) < 0)
		goto dbfail;
	ret = store_commit(st, err);
	goto out;
dbfail:
	strbuf_addf(err, "cannot use the schedules table: %s", msg.buf);
rollback:
	store_rollback(st);
out:
	strbuf_release(&msg);
	cron_tz_free(tz);
	return ret;
}
