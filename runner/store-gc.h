#ifndef STORE_GC_H
#define STORE_GC_H

#include <stdbool.h>
#include <stdint.h>

struct store;
struct strbuf;
struct strvec;

/*
 * Runs that are over, in the state database: finding the ones gc may
 * prune and deleting their rows, and the running runs whose runner died,
 * which recovery marks lost. What to do with their folders and sandboxes
 * is gc's and recovery's business.
 *
 * Errors: -1 with SQLite's message alone in err, unless said otherwise;
 * nothing is printed.
 */

/* Whether run id exists / is going (status running). false if unreadable. */
bool store_gc_run_known(struct store *st, const char *id);
bool store_gc_run_going(struct store *st, const char *id);

/* The ids of runs not going that ended (or, if never, started) before. */
int store_gc_runs_before(struct store *st, int64_t cutoff_ms,
			 struct strvec *ids, struct strbuf *err);
/*
 * Delete run id's events, attempts, tasks and row in one transaction.
 * -1 with a complete message.
 */
int store_gc_delete_run(struct store *st, const char *id, struct strbuf *err);

/* Each run with status running: its id, host, pid and start. */
int store_gc_running(struct store *st,
		     int (*fn)(const char *id, const char *host, long pid,
			       int64_t started_at, void *data),
		     void *data, struct strbuf *err);
/*
 * Mark run id lost in one transaction: the run, its running tasks and
 * unfinished attempts (with reason, ending at now_ms) and a run_lost
 * event. -1 with a complete message.
 */
int store_gc_mark_lost(struct store *st, const char *id, const char *reason,
		       int64_t now_ms, struct strbuf *err);

#endif
