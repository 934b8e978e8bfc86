#ifndef CAPS_H
#define CAPS_H

#include <stdint.h>

struct store;
struct strbuf;

/*
 * Rolling-window caps on task starts (sandbox creations, retries
 * included), counted in the `starts` ledger that every runner sharing the
 * state uses. Checking and recording a start is one IMMEDIATE transaction,
 * so two runner processes can never both take the last slot.
 *
 * The daily budget works the same way in the cost ledger, which is one
 * for the whole state (every backend, every plan): each attempt reserves
 * its estimate in the transaction that takes its start slot, and settles
 * its actual cost when it ends. A runner that dies leaves its
 * reservations open: recovery settles them at the estimate (recover.c),
 * and in any case a row counts only in the 24 hours after its start.
 *
 * Times are passed in (ms since the epoch) so tests can use a fake clock.
 */
struct caps {
	const char *key;	   /* the ledger key: the backend's name */
	int per_hour;		   /* 0: no hourly cap */
	int per_day;		   /* 0: no daily cap */
	double budget_per_day_usd; /* 0: no daily budget */
};

/* The cost ledger's one key: the budget is the state's. */
#define CAPS_COST_KEY "state"

/*
 * While another attempt's reservation is open it may settle for less:
 * a wait for the budget looks again this often.
 */
#define CAPS_BUDGET_RECHECK_MS 2000

/* One attempt's start, for both ledgers. */
struct caps_spend {
	/* In. */
	const char *plan, *run_id, *task_id;
	int attempt;
	double max_cost_usd; /* the task's max_cost_usd; 0: none */
	double default_usd;  /* limits.estimate_usd; 0: none */
	double time_usd;     /* timeout x cost_per_hour_usd */
	/* Out, on CAPS_TAKEN and on a budget's CAPS_FULL or CAPS_NEVER. */
	double estimate_usd;
	const char *estimate_from; /* static: which source said it */
	double spent_usd;  /* spent or reserved in the last 24 h, before it */
	int64_t ledger_id; /* the reservation (CAPS_TAKEN) */
};

enum caps_verdict {
	CAPS_TAKEN, /* a start was recorded */
	CAPS_FULL,  /* no slot now; *next_ms says when one frees */
	CAPS_NEVER, /* the estimate alone is over budget_per_day_usd */
};

/*
 * Try to take a start slot at now_ms for run/task. On CAPS_FULL, *next_ms
 * is the first time a slot frees and *which names the cap that is full
 * ("per_hour" or "per_day"). Returns the verdict, or -1 with err.
 */
int caps_try_start(struct store *st, const struct caps *c, int64_t now_ms,
		   const char *run_id, const char *task_id, int64_t *next_ms,
		   const char **which, struct strbuf *err);

/*
 * caps_try_start() with the daily budget: the estimate is sp's
 * max_cost_usd, else the last actual cost of its task in the ledger,
 * else default_usd, else time_usd; the start may go when what the last
 * 24 h spent or reserved plus the estimate is within the budget. On
 * CAPS_FULL *which is "budget_per_day_usd" when that said no. The
 * reservation is made whether or not this plan has a budget: others may.
 */
int caps_try_spend(struct store *st, const struct caps *c, int64_t now_ms,
		   struct caps_spend *sp, int64_t *next_ms, const char **which,
		   struct strbuf *err);

/* The attempt of reservation id ended having cost actual_usd. */
int caps_settle(struct store *st, int64_t id, double actual_usd,
		int64_t now_ms, struct strbuf *err);

/* Starts recorded in the window ending at now_ms (for display). */
int caps_count(struct store *st, const char *key, int64_t window_ms,
	       int64_t now_ms, int *out, struct strbuf *err);

#endif
