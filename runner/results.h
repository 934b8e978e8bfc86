#ifndef RESULTS_H
#define RESULTS_H

#include <stdbool.h>

struct strbuf;
struct strvec;
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
/*
 * runs/RUN/tasks/ID/changes.json; fills t's change counters and adds
 * to its warnings. A warning that should also be shown while the run
 * goes is appended to notices as a display line. Reads and writes only
 * t (safe on the worker that holds it).
 */
int results_write_changes(struct task_run *t, const struct ws_changes *c,
			  struct strvec *notices, struct strbuf *err);
/*
 * runs/RUN/run.json, with the status and exit code as decided by sched,
 * and whether a signal interrupted the run.
 */
int results_write_run(const struct run *run, const char *status, int exit_code,
		      bool interrupted, struct strbuf *err);

#endif
