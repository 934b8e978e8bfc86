#ifndef SCHED_H
#define SCHED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "plan.h"
#include "strvec.h"

struct store;
struct sandbox_backend;
struct progress;
struct ws_manifest;
struct run_snap;

/*
 * A run of a plan: the scheduler (sched.c) owns it and every task_run in
 * it. Workers (task.c) borrow one task_run at a time and read the run's
 * immutable fields; the fields they may write are marked.
 */

enum task_status {
	TASK_QUEUED,
	TASK_RUNNING,
	TASK_SUCCEEDED,
	TASK_FAILED,
	TASK_TIMED_OUT,
	TASK_CANCELLED,
	TASK_SKIPPED,
	TASK_LOST,
};

const char *task_status_name(enum task_status s);
/* -1 for an unknown name. */
int task_status_parse(const char *name);

struct attempt_rec {
	int n; /* 1, 2, ... */
	enum task_status status;
	int exit_code; /* -1 when none */
	char *reason;  /* NULL or why it did not succeed */
	char *sandbox_id;
	int64_t started_at, ended_at; /* ms since the epoch */
	bool never_went; /* prepared, then cancelled before its go */
};

struct task_run {
	const struct plan_task *task; /* borrowed from run->plan */
	struct run *run;
	size_t index;
	size_t *deps; /* indices into run->tasks */
	size_t nr_deps;
	char *dir; /* results folder runs/RUN/tasks/ID */

	/* Written by the worker while it owns the task, else by sched. */
	const struct ws_manifest *manifest; /* the run's snapshot: borrowed */
	char *snap_error;     /* why there is no snapshot, or NULL */
	bool no_retry;	      /* a failure retrying cannot fix */
	int64_t not_before;   /* retry backoff: not before (ms) */
	size_t first_attempt; /* attempts made before this session */

	/*
	 * Prepared ahead: the worker makes the sandbox while the task waits
	 * for a slot. phase and attempt_no are the scheduler's; go (set by
	 * the scheduler) and exited (set by the worker) are guarded by
	 * run->go_lock; go_cond is signalled when go is set (one per task,
	 * so a go wakes only its own worker; a cancel is polled for).
	 */
	enum { PHASE_IDLE, PHASE_PREP, PHASE_GO } phase;
	int attempt_no; /* the number of the attempt in flight */
	bool go;
	bool exited;
	pthread_cond_t go_cond;
	enum task_status status;
	char *reason;
	int exit_code;
	struct attempt_rec *attempts;
	size_t nr_attempts, alloc_attempts;
	int64_t started_at, ended_at;
	struct strvec warnings;
	size_t nr_warnings_masked; /* warnings[0..this) are masked */
	size_t nr_added, nr_modified, nr_deleted, nr_refused;
	uint64_t bytes_pulled;
	double cost_usd; /* main thread only (the budget reads it) */
};

enum progress_mode { PROGRESS_AUTO, PROGRESS_QUIET, PROGRESS_JSON };

struct run_opts {
	const char *state_dir;
	int jobs;		   /* 0: the plan's concurrency */
	const struct strvec *only; /* task ids to run; NULL/empty: all */
	bool dry_run;
	enum progress_mode progress;
	int64_t grace_ms;      /* TERM -> KILL, default 10 s */
	const char *resume_id; /* continue this run instead */
};

struct run {
	char *id;
	char *dir; /* state/runs/ID */
	const char *state_dir;
	struct plan *plan; /* borrowed */
	const struct sandbox_backend *backend;
	struct store *store; /* main thread only */
	int concurrency;
	int64_t grace_ms;
	char host[256];
	long pid;
	int64_t started_at, ended_at;
	struct strvec secret_values; /* every secret value, for masking */
	struct mask *mask; /* of secret_values: whole strings, shared, const */

	struct task_run *tasks;
	size_t nr_tasks;

	/* Workspace snapshots, one per distinct workspace and filter. */
	struct run_snap *snaps;
	size_t nr_snaps;

	/* Set by the signal handler, read by everyone. */
	atomic_int cancel;   /* first signal: stop starting, TERM */
	atomic_int kill_now; /* second signal: KILL at once */

	/* The go/exited handshake of prepared tasks. */
	pthread_mutex_t go_lock;
	struct pool *pool; /* wake it when a task's process exits */

	/* Worker notices for the progress display. */
	pthread_mutex_t notice_lock;
	struct strvec notices; /* guarded by notice_lock */
};

/*
 * Run plan to completion and return the exit code (enum runner_exit).
 * Prints progress and a closing summary; errors of the runner itself go
 * to stderr as one line.
 */
int sched_run(struct plan *plan, const struct run_opts *opts);

/*
 * The worker's job: one attempt of a task (task.c): snapshot (first
 * attempt), sandbox, run, pull back, destroy. Appends an attempt_rec;
 * the scheduler decides what happens next.
 */
void task_execute(void *task_run);
/* Free what task_execute keeps between attempts (main thread). */
void task_release(struct task_run *t);

/*
 * Snapshot every workspace the run's tasks use (snap.c), on the main
 * thread before anything starts: hashes through the state's cache, and
 * the secret scan. Returns 0, 1 when secret_scan: block found credentials
 * (the findings are printed, the run must not start), or -1 with err.
 */
int snap_prepare(struct run *run, struct strbuf *err);
void snap_release(struct run *run);

/* Queue a line for the progress display (thread-safe). */
void run_notice(struct run *run, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
