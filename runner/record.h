#ifndef RECORD_H
#define RECORD_H

#include <stdint.h>

struct store;
struct run;
struct task_run;
struct strbuf;

/*
 * The run's rows in the state database (runs, tasks, attempts, events),
 * as the scheduler writes them; implemented in store-record.c, with the
 * rest of the store's SQL.
 * Main thread only: workers hand their results back through the pool's
 * completion queue and the scheduler records them here. Each call is one
 * transaction; each returns 0 or -1 with SQLite's message in err.
 */
int record_run_start(struct store *st, const struct run *run,
		     const char *plan_sha256, struct strbuf *err);
/* A resumed run goes back to running, owned by this process. */
int record_run_resume(struct store *st, const struct run *run,
		      struct strbuf *err);
/*
 * Load a run's task rows and attempt history into the task_runs of run
 * that match by id. Tasks without a row are left queued.
 */
int record_load_tasks(struct store *st, struct run *run, struct strbuf *err);
int record_task(struct store *st, const struct task_run *t,
		struct strbuf *err);
/* The task row and all its attempt rows. */
int record_task_done(struct store *st, const struct task_run *t,
		     struct strbuf *err);
/* An attempt row as it starts (number n, not yet ended). */
int record_attempt_start(struct store *st, const struct task_run *t, int n,
			 struct strbuf *err);
/*
 * From a worker thread: record the id of a sandbox that was just made,
 * before it is used, on a connection of its own to the state's database
 * (the store's connection belongs to the main thread).
 */
int record_sandbox_created(const char *state_dir, const struct task_run *t,
			   int attempt, const char *sandbox_id,
			   struct strbuf *err);
int record_run_end(struct store *st, const struct run *run, const char *status,
		   int exit_code, struct strbuf *err);
/* level: debug|info|warn|error; task and data (JSON text) may be NULL. */
int record_event(struct store *st, const char *run_id, const char *task_id,
		 const char *level, const char *kind, const char *message,
		 const char *data, struct strbuf *err);

#endif
