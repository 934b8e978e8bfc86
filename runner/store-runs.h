#ifndef STORE_RUNS_H
#define STORE_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct strbuf;
struct strvec;

/*
 * Reading runs, their tasks, attempts and events back from the state
 * database: what show, runs, logs, report, archive and resume look at.
 * (The scheduler writes them through store-record.h; gc and recovery
 * retire them through store-gc.h.)
 *
 * Rows are handed out as the structs below, their strings owned by the
 * row (NULL where the column is NULL). A list comes through a callback
 * that sees each row in turn, the row valid for that call only; a
 * callback that returns non-zero stops the walk, and the walk returns
 * what it returned.
 *
 * Errors: -1 with SQLite's message alone in err, for the caller to say
 * what it was reading; nothing is printed.
 */

/* A row of runs. */
struct store_run {
	char *id, *plan_name, *plan_path, *plan_sha256, *backend, *status;
	char *host;
	int64_t started_at, ended_at; /* ms; ended_at 0 unless has_end */
	bool has_end, has_exit;
	int exit_code;
	int64_t pid;
	int tasks_total;
	int tasks_succeeded; /* store_runs_list() only */
};
void store_run_release(struct store_run *r);

/* A row of tasks. */
struct store_task {
	char *id, *status, *reason, *sandbox_id;
	bool has_exit, has_start, has_end;
	int exit_code, attempts;
	int64_t started_at, ended_at; /* ms, 0 when NULL */
	int64_t files_added, files_modified, files_deleted, bytes_pulled;
	double cost_usd;
};

/* A row of attempts. */
struct store_attempt {
	char *task_id, *status, *reason, *sandbox_id;
	int n;
	bool has_exit, has_end;
	int exit_code;
	int64_t started_at, ended_at; /* ms, 0 when NULL */
};

/* Run id's row into *out (release it): 1, or 0 when there is none. */
int store_runs_get(struct store *st, const char *id, struct store_run *out,
		   struct strbuf *err);

/*
 * The ids of runs, into ids: the newest one when prefix is NULL, else
 * the run of that id first, then up to 5 more whose ids start with it.
 */
int store_runs_match(struct store *st, const char *prefix, struct strvec *ids,
		     struct strbuf *err);

/*
 * The ids of up to limit runs of the same plan as run_id that started
 * before it, newest first, in which task task_id changed files: where
 * `runner review` looks for a task's usual area.
 */
int store_runs_earlier(struct store *st, const char *run_id,
		       const char *task_id, int limit, struct strvec *ids,
		       struct strbuf *err);

/* The newest run of the plan still going, or NULL (also unreadable). */
char *store_runs_going(struct store *st, const char *plan_name);

/*
 * The newest limit runs, newest first, with tasks_succeeded counted.
 */
int store_runs_list(struct store *st, int limit,
		    int (*fn)(const struct store_run *r, void *data),
		    void *data, struct strbuf *err);

/*
 * The same for the runs of one plan (by name, as exec records it and
 * --if-due's overlap check finds it): its newest limit runs, newest
 * first. What history looks back on.
 */
int store_runs_of_plan(struct store *st, const char *plan_name, int limit,
		       int (*fn)(const struct store_run *r, void *data),
		       void *data, struct strbuf *err);

/* The run's tasks in plan order. */
int store_runs_tasks(struct store *st, const char *run_id,
		     int (*fn)(const struct store_task *t, void *data),
		     void *data, struct strbuf *err);
/* One task's row into *out (release it): 1, or 0 when there is none. */
int store_runs_task(struct store *st, const char *run_id, const char *task_id,
		    struct store_task *out, struct strbuf *err);
void store_task_release(struct store_task *t);
/* A task's status, or NULL when there is no such task (or unreadable). */
char *store_runs_task_status(struct store *st, const char *run_id,
			     const char *task_id);

/* The run's attempts, tasks in plan order, each task's by number. */
int store_runs_attempts(struct store *st, const char *run_id,
			int (*fn)(const struct store_attempt *a, void *data),
			void *data, struct strbuf *err);

/*
 * The warnings (events of kind warning) of task_id in the order they
 * came, or, when task_id is NULL, the warnings and what the network proxy
 * refused (network_blocked) of every task of the run, in plan order:
 * what the report lists under each task. message is never NULL.
 */
int store_runs_warnings(struct store *st, const char *run_id,
			const char *task_id,
			int (*fn)(const char *task_id, const char *message,
				  void *data),
			void *data, struct strbuf *err);
/*
 * What the network proxy refused (network_blocked events) for task_id,
 * or with task_id NULL for the whole run, in the order they came.
 */
int store_runs_blocked(struct store *st, const char *run_id,
		       const char *task_id,
		       int (*fn)(const char *task_id, const char *message,
				 void *data),
		       void *data, struct strbuf *err);

/*
 * The run's cap waits (cap_wait events) by time: when, what it said
 * (never NULL), and when the run's next attempt after it started (-1:
 * none did).
 */
int store_runs_cap_waits(struct store *st, const char *run_id,
			 int (*fn)(int64_t at, const char *message,
				   int64_t next_start, void *data),
			 void *data, struct strbuf *err);

/*
 * Rows as they are stored, every column (archive's db.json, which must
 * keep what a later migration adds): the run's row, its tasks (plan
 * order), attempts (by task id, number) or events (by id). Its errors,
 * and store_schema_version()'s, are complete messages.
 */
enum store_rows {
	STORE_ROWS_RUN,
	STORE_ROWS_TASKS,
	STORE_ROWS_ATTEMPTS,
	STORE_ROWS_EVENTS,
};
enum store_value_type {
	STORE_VALUE_NULL,
	STORE_VALUE_INT,
	STORE_VALUE_FLOAT,
	STORE_VALUE_TEXT,
	STORE_VALUE_BLOB,
};
struct store_value {
	const char *name; /* the column */
	enum store_value_type type;
	int64_t i;
	double f;
	const char *text;	   /* TEXT: NUL-terminated */
	const unsigned char *blob; /* BLOB: len bytes */
	size_t len;
};
int store_runs_rows(struct store *st, enum store_rows which,
		    const char *run_id,
		    int (*fn)(const struct store_value *cols, int nr,
			      void *data),
		    void *data, struct strbuf *err);

/* The schema version: the highest applied migration, 0 when none. */
int store_schema_version(struct store *st, int64_t *out, struct strbuf *err);

#endif
