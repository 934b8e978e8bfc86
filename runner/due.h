#ifndef DUE_H
#define DUE_H

#include <time.h>

struct plan;
struct store;
struct strbuf;

/*
 * The scheduling decision of `exec --if-due`, made and claimed in one
 * IMMEDIATE transaction on the schedules table, so that of two runners
 * started in the same minute exactly one sees the plan due.
 *
 * A plan never seen before is only armed: it first runs at its next fire
 * time (like a Kubernetes CronJob), not when it was installed. A fire
 * time more than DUE_TOLERANCE seconds old when we look counts as missed
 * (the machine was down, or cron did not call us): `missed: run_once`
 * runs once for all of them, `missed: skip` runs nothing and waits for
 * the next fire time.
 */
#define DUE_TOLERANCE (15 * 60)

enum due_verdict {
	DUE_ARMED,   /* first sight of the plan: recorded, not run */
	DUE_NOT_YET, /* no fire time since the last one handled */
	DUE_RUN,     /* a fire time passed: run now (claimed) */
	DUE_MISSED,  /* only missed fire times, and missed: skip */
};

struct due_decision {
	enum due_verdict verdict;
	time_t fire;   /* DUE_RUN/DUE_MISSED: the newest passed fire time */
	int nr_passed; /* fire times since the last handled, up to 10000 */
	time_t next;   /* the next fire time after now */
};

/*
 * Decide for plan (which must have a schedule) at now; with DUE_RUN and
 * DUE_MISSED the fire time is recorded as handled. -1 with err on
 * failure (bad schedule, database).
 */
int due_check(struct store *st, const struct plan *plan, time_t now,
	      struct due_decision *d, struct strbuf *err);

/* Format t in the plan's time zone, ISO 8601 with offset (buf >= 40). */
void due_format(const struct plan *plan, time_t t, char *buf, size_t n);

#endif
