#ifndef STORE_AGENT_H
#define STORE_AGENT_H

struct store;
struct strbuf;
struct task_run;
struct attempt_agent;

/*
 * The agent_outcomes table (migrations/0003_agent_outcome): what an
 * agent said about each attempt, and what the attempt cost by which
 * measure. The SQL stays here, in the store.
 */

/*
 * Write the rows of t's attempts that have an agent outcome (replacing
 * what was there), inside the caller's transaction. 0, or -1 with err.
 */
int store_agent_put(struct store *st, const struct task_run *t,
		    struct strbuf *err);

/* One attempt's row, as store_agent_get() reads it. */
struct store_agent_row {
	int attempt;
	struct attempt_agent *agent; /* owned */
	double cost_usd;
	char *cost_source; /* owned */
};

/*
 * The row of the last attempt of run_id/task_id that has one: 1 and *row
 * filled in (release with store_agent_row_release), 0 when there is none
 * (no agent, or a database from before the table), -1 with err.
 */
int store_agent_get(struct store *st, const char *run_id, const char *task_id,
		    struct store_agent_row *row, struct strbuf *err);
void store_agent_row_release(struct store_agent_row *row);

#endif
