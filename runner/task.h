#ifndef TASK_H
#define TASK_H

#include <stdatomic.h>

struct task_run;

/*
 * What a worker needs from whoever hands it the task (sched.c gives one
 * per task). Each function is called on the worker's thread with ctx;
 * the implementation does its own locking.
 */
struct task_hooks {
	/*
	 * The sandbox is ready and the process waits at its gate: block
	 * until the task may start (1) or the run is cancelled first (0).
	 */
	int (*wait_go)(void *ctx);
	/*
	 * The attempt's process has ended (or never will): its slot may go
	 * to another task. Called at least once per attempt; more is fine.
	 */
	void (*exited)(void *ctx);
	/* One line for the run's display, masked by the receiver. */
	void (*notice)(void *ctx, const char *line);
	void *ctx;
	/*
	 * Raised on the run's first signal (stop: TERM, then the grace) and
	 * its second (KILL at once); the sandbox's exec loop watches both.
	 */
	const atomic_int *cancel;
	const atomic_int *kill_now;
};

/*
 * One attempt of t, on a worker thread (DESIGN.md "A task's life"):
 * sandbox, workspace in, run, changes out, sandbox destroyed. Appends
 * an attempt_rec to t with what happened and writes the task's files
 * (output.log, changes/, changes.json, changes.patch); the scheduler
 * decides what happens next. t->manifest must be set.
 */
void task_execute(struct task_run *t, const struct task_hooks *hooks);

#endif
