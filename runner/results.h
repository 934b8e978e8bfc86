#ifndef RESULTS_H
#define RESULTS_H

struct strbuf;
struct task_run;
struct run;
struct ws_changes;

/*
 * The results folder (DESIGN.md "Results"): JSON files written atomically
 * (temporary file + rename), following schema/result.schema.json and
 * schema/run.schema.json. Each returns 0 or -1 with a message in err.
 */

/* runs/RUN/tasks/ID/result.json. Reads only t (safe on a worker). */
int results_write_task(const struct task_run *t, struct strbuf *err);
/* runs/RUN/tasks/ID/changes.json; fills t's change counters. */
int results_write_changes(struct task_run *t, const struct ws_changes *c,
			  struct strbuf *err);
/* runs/RUN/run.json, with status and exit code as decided by sched. */
int results_write_run(const struct run *run, const char *status, int exit_code,
		      struct strbuf *err);

#endif
