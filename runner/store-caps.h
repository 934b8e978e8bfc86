#ifndef STORE_CAPS_H
#define STORE_CAPS_H

#include <stdint.h>

struct store;
struct strbuf;

/*
 * The starts ledger in the state database: one row per task start
 * (cap_key, at), shared by every runner on the state. caps.c decides
 * with it, inside its own transaction; gc trims it.
 *
 * Errors: -1 with SQLite's message alone in err, for the caller to say
 * what it was doing; nothing is printed.
 */

/*
 * The time of the (n+1)-th newest start of key after since_ms into *at:
 * 1, or 0 when there are not that many.
 */
int store_caps_nth_start(struct store *st, const char *key, int64_t since_ms,
			 int n, int64_t *at, struct strbuf *err);
/* Record a start of key at at_ms for run/task. */
int store_caps_add_start(struct store *st, const char *key, int64_t at_ms,
			 const char *run_id, const char *task_id,
			 struct strbuf *err);
/* The number of starts of key after since_ms. */
int store_caps_count_since(struct store *st, const char *key, int64_t since_ms,
			   int *out, struct strbuf *err);
/* Forget the starts before before_ms (of every key). */
int store_caps_trim(struct store *st, int64_t before_ms, struct strbuf *err);

/*
 * The cost ledger (limits.budget_per_day_usd): one row per attempt,
 * reserved before its start, settled after. A row counts as its actual
 * cost once settled, as its reservation while open.
 */
struct store_cost_row {
	const char *key; /* 'state' */
	int64_t at_ms;	 /* the attempt's start */
	const char *plan, *run_id, *task_id;
	int attempt;
	double reserved_usd;
};

/* What key's rows after since_ms add up to, and how many are open. */
int store_cost_window(struct store *st, const char *key, int64_t since_ms,
		      double *sum, int *open, struct strbuf *err);
/*
 * The time of the newest row of key after since_ms that, with every
 * newer row, adds up to more than target: 1, or 0 when the whole window
 * is within target.
 */
int store_cost_newest_over(struct store *st, const char *key, int64_t since_ms,
			   double target, int64_t *at, struct strbuf *err);
/* The newest settled actual cost of plan's task id: 1, or 0 when none. */
int store_cost_last_actual(struct store *st, const char *plan,
			   const char *task_id, double *usd,
			   struct strbuf *err);
int store_cost_reserve(struct store *st, const struct store_cost_row *r,
		       int64_t *id, struct strbuf *err);
/* Settle row id with what its attempt cost (an open row only). */
int store_cost_settle(struct store *st, int64_t id, double actual_usd,
		      int64_t now_ms, struct strbuf *err);
/* Forget the rows before before_ms (open ones too: out of any window). */
int store_cost_trim(struct store *st, int64_t before_ms, struct strbuf *err);

#endif
