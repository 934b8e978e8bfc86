#include "runner.h"
#include "caps.h"
#include "store.h"
#include "store-caps.h"

#define HOUR_MS (3600 * 1000LL)
#define DAY_MS (24 * HOUR_MS)

/*
 * When would the window [now - window, now] hold fewer than limit starts?
 * When the oldest start that keeps it full falls out: the limit-th newest
 * start's time plus the window.
 */
static int window_full(struct store *st, const char *key, int64_t window_ms,
		       int limit, int64_t now_ms, int64_t *frees_at,
		       struct strbuf *err)
{
	int64_t at;
	int full = store_caps_nth_start(st, key, now_ms - window_ms, limit - 1,
					&at, err);

	if (full == 1)
		*frees_at = at + window_ms;
	return full;
}

/* A start needs at least a micro-dollar of room, even estimated at 0. */
#define MIN_ROOM_USD 1e-6
#define USD_SLACK 1e-9

static void estimate(struct store *st, struct caps_spend *sp,
		     struct strbuf *err_out, int *failed)
{
	double last;
	int found;

	if (sp->max_cost_usd > 0) {
		sp->estimate_usd = sp->max_cost_usd;
		sp->estimate_from = "its max_cost_usd";
		return;
	}
	found = store_cost_last_actual(st, sp->plan ? sp->plan : "",
				       sp->task_id, &last, err_out);
	if (found < 0) {
		*failed = 1;
		return;
	}
	if (found) {
		sp->estimate_usd = last;
		sp->estimate_from = "its last cost";
	} else if (sp->default_usd > 0) {
		sp->estimate_usd = sp->default_usd;
		sp->estimate_from = "estimate_usd";
	} else {
		sp->estimate_usd = sp->time_usd;
		sp->estimate_from = "timeout x cost_per_hour_usd";
	}
}

/*
 * Within the daily budget? 0: yes; CAPS_FULL with *frees_at (when
 * enough of the window has left it, or sooner to look at open
 * reservations again); CAPS_NEVER; -1.
 */
static int budget_full(struct store *st, const struct caps *c,
		       struct caps_spend *sp, int64_t now_ms,
		       int64_t *frees_at, struct strbuf *msg)
{
	double need = sp->estimate_usd > MIN_ROOM_USD ? sp->estimate_usd
						      : MIN_ROOM_USD;
	int64_t since = now_ms - DAY_MS, at;
	int open, over;

	if (store_cost_window(st, CAPS_COST_KEY, since, &sp->spent_usd, &open,
			      msg) < 0)
		return -1;
	if (sp->spent_usd + need <= c->budget_per_day_usd + USD_SLACK)
		return 0;
	if (need > c->budget_per_day_usd + USD_SLACK)
		return CAPS_NEVER;
	over = store_cost_newest_over(st, CAPS_COST_KEY, since,
				      c->budget_per_day_usd - need + USD_SLACK,
				      &at, msg);
	if (over < 0)
		return -1;
	*frees_at = over ? at + DAY_MS : now_ms;
	if (open && *frees_at > now_ms + CAPS_BUDGET_RECHECK_MS)
		*frees_at = now_ms + CAPS_BUDGET_RECHECK_MS;
	return CAPS_FULL;
}

int caps_try_start(struct store *st, const struct caps *c, int64_t now_ms,
		   const char *run_id, const char *task_id, int64_t *next_ms,
		   const char **which, struct strbuf *err)
{
	struct caps_spend sp = {
		.plan = "", .run_id = run_id, .task_id = task_id, .attempt = 1
	};

	return caps_try_spend(st, c, now_ms, &sp, next_ms, which, err);
}

int caps_try_spend(struct store *st, const struct caps *c, int64_t now_ms,
		   struct caps_spend *sp, int64_t *next_ms, const char **which,
		   struct strbuf *err)
{
	struct strbuf msg = STRBUF_INIT;
	int64_t hour_free = 0, day_free = 0, budget_free = 0;
	int hour_full = 0, day_full = 0, failed = 0, budget;
	struct store_cost_row row;

	*next_ms = 0;
	*which = NULL;
	sp->ledger_id = 0;
	sp->spent_usd = 0;
	if (store_begin(st, err) < 0)
		return -1;
	if (c->per_hour > 0 &&
	    (hour_full = window_full(st, c->key, HOUR_MS, c->per_hour, now_ms,
				     &hour_free, &msg)) < 0)
		goto fail;
	if (c->per_day > 0 &&
	    (day_full = window_full(st, c->key, DAY_MS, c->per_day, now_ms,
				    &day_free, &msg)) < 0)
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
	estimate(st, sp, &msg, &failed);
	if (failed)
		goto fail;
	if (c->budget_per_day_usd > 0) {
		budget = budget_full(st, c, sp, now_ms, &budget_free, &msg);
		if (budget < 0)
			goto fail;
		if (budget) {
			store_rollback(st);
			*next_ms = budget_free;
			*which = "budget_per_day_usd";
			return budget;
		}
	}
	if (store_caps_add_start(st, c->key, now_ms, sp->run_id, sp->task_id,
				 &msg) < 0)
		goto fail;
	row = (struct store_cost_row){
		CAPS_COST_KEY,	 now_ms,      sp->plan ? sp->plan : "",
		sp->run_id,	 sp->task_id, sp->attempt,
		sp->estimate_usd
	};
	if (store_cost_reserve(st, &row, &sp->ledger_id, &msg) < 0)
		goto fail;
	if (store_commit(st, err) < 0)
		return -1;
	return CAPS_TAKEN;
fail:
	strbuf_addf(err, "cannot use the caps ledger: %s", msg.buf);
	strbuf_release(&msg);
	store_rollback(st);
	return -1;
}

int caps_settle(struct store *st, int64_t id, double actual_usd,
		int64_t now_ms, struct strbuf *err)
{
	struct strbuf msg = STRBUF_INIT;
	int ret = store_cost_settle(st, id, actual_usd, now_ms, &msg);

	if (ret < 0)
		strbuf_addf(err, "cannot settle in the cost ledger: %s",
			    msg.buf);
	strbuf_release(&msg);
	return ret;
}

int caps_count(struct store *st, const char *key, int64_t window_ms,
	       int64_t now_ms, int *out, struct strbuf *err)
{
	struct strbuf msg = STRBUF_INIT;
	int ret =
		store_caps_count_since(st, key, now_ms - window_ms, out, &msg);

	if (ret < 0)
		strbuf_addf(err, "cannot read the caps ledger: %s", msg.buf);
	strbuf_release(&msg);
	return ret;
}
