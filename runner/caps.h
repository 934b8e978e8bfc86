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
 * Times are passed in (ms since the epoch) so tests can use a fake clock.
 */
struct caps {
	const char *key; /* the ledger key: the backend's name */
	int per_hour;	 /* 0: no hourly cap */
	int per_day;	 /* 0: no daily cap */
};

enum caps_verdict {
	CAPS_TAKEN, /* a start was recorded */
	CAPS_FULL,  /* no slot now; *next_ms says when one frees */
};

/*
 * Try to take a start slot at now_ms for run/task. On CAPS_FULL, *next_ms
 * is the first time a slot frees and *which names the cap that is full
 * ("per_hour" or "per_day"). Returns the verdict, or -1 with err.
 */
int caps_try_start(struct store *st, const struct caps *c, int64_t now_ms,
		   const char *run_id, const char *task_id, int64_t *next_ms,
		   const char **which, struct strbuf *err);

/* Starts recorded in the window ending at now_ms (for display). */
int caps_count(struct store *st, const char *key, int64_t window_ms,
	       int64_t now_ms, int *out, struct strbuf *err);

#endif
