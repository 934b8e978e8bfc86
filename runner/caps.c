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

int caps_try_start(struct store *st, const struct caps *c, int64_t now_ms,
		   const char *run_id, const char *task_id, int64_t *next_ms,
		   const char **which, struct strbuf *err)
{
	struct strbuf msg = STRBUF_INIT;
	int64_t hour_free = 0, day_free = 0;
	int hour_full = 0, day_full = 0;

	*next_ms = 0;
	*which = NULL;
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
	if (store_caps_add_start(st, c->key, now_ms, run_id, task_id, &msg) <
	    0)
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
