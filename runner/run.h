#ifndef RUN_H
#define RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strvec.h"

struct mask;
struct netproxy;
struct plan;
struct plan_task;
struct price_table;
struct run_snap;
struct sandbox_backend;
struct ws_manifest;

/*
 * The data model of a run: a run of a plan, its tasks, their attempts.
 * The scheduler (sched.c) fills it in and decides; workers (task.c) add
 * what an attempt did; record.c (the database), results.c (the results
 * folder) and the scheduler's outcome read it. It holds no locks and no
 * scheduling state: how the scheduler and its workers hand a task over
 * is sched.c's business, and stays inside it.
 *
 * Ownership: whoever runs the run (the scheduler) owns the struct run,
 * every task_run and every attempt_rec in it, and frees them with
 * run_release(). The plan and the backend are borrowed for the run's
 * life; the snapshots are snap.c's (snap_release()).
 *
 * Threads. One thread at a time writes a task_run:
 *  - the main thread, while the task is not in a worker's hands;
 *  - the worker running its attempt (task.c), from the scheduler's
 *    handing it to the pool until the worker returns it through the
 *    pool's completion queue (the pool's lock orders both hand-overs).
 * Fields marked "main thread" are never written by a worker, so the
 * scheduler may read them (and write them) while a worker holds the
 * task. Fields marked "fixed" do not change once workers may run.
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
#define TASK_STATUS_NR (TASK_LOST + 1)

/* "queued", "timed_out", ...: the names in the database and the JSON. */
const char *task_status_name(enum task_status s);
/* The status of a name, or -1 for an unknown name. */
int task_status_parse(const char *name);

/*
 * What an agent said about its attempt (agent-stream.h, read off its
 * output as it streamed). Strings are owned, masked, and NULL when the
 * agent did not say.
 */
struct attempt_agent {
	const char *format; /* agent_format_name(): static */
	const char *result; /* agent_result_name(): "none" when no result */
	char *error;	    /* its own reason, when result is not success */
	char *warning;	    /* its last retry notice */
	char *subtype;
	char *session_id;
	char *model;
	char *final_text; /* the last AGENT_FINAL_TEXT_MAX bytes */
	uint64_t turns, tool_calls, retries;
	bool has_tokens;
	uint64_t input_tokens, output_tokens, cache_read_tokens,
		cache_write_tokens, reasoning_tokens;
	bool has_cost;
	double cost_usd; /* what it reported */
};

/* Free what ag holds, and ag. NULL is fine. */
void attempt_agent_free(struct attempt_agent *ag);

/* One attempt of a task: a sandbox from create to destroy. */
struct attempt_rec {
	int n; /* 1, 2, ... */
	enum task_status status;
	int exit_code; /* -1 when none */
	char *reason;  /* NULL or why it did not succeed (owned) */
	char *sandbox_id;
	int64_t started_at, ended_at; /* ms since the epoch */
	bool never_went; /* prepared, then cancelled before its go */
	/* From the attempt's cgroup; usage_known false where none. */
	bool usage_known;
	uint64_t memory_peak; /* bytes */
	uint64_t cpu_ms;
	struct attempt_agent *agent; /* NULL: not an agent task (owned) */
	double cost_usd;	     /* this attempt's, from cost_source */
	const char *cost_source;     /* cost_source_name(): static */
};

struct task_run {
	const struct plan_task *task; /* fixed; borrowed from run->plan */
	struct run *run;	      /* fixed */
	size_t index;		      /* fixed: in run->tasks, plan order */
	size_t *deps;		      /* fixed: indices into run->tasks */
	size_t nr_deps;
	char *dir; /* fixed: its results folder, runs/RUN/tasks/ID */

	/* Fixed: the run's snapshot (borrowed from snap.c), or why not. */
	const struct ws_manifest *manifest;
	char *snap_error;
	/* The commit the workspace's repository was at (hex), or NULL. */
	const char *git_head;
	bool git_dirty;

	/* Main thread. */
	enum task_status status;
	char *reason;  /* owned; NULL */
	int exit_code; /* -1 when none */
	int64_t started_at, ended_at;
	double cost_usd; /* spent by its attempts (the budget reads it) */
	const char *cost_source; /* its last attempt's: static; NULL none */

	/* Written by the worker while it holds the task, else main thread. */
	struct attempt_rec *attempts;
	size_t nr_attempts, alloc_attempts;
	struct strvec warnings;
	size_t nr_warnings_masked; /* main thread: warnings[0..this) masked */
	/*
	 * network: [allowlist]: what the proxy refused, one event text per
	 * destination and attempt ("blocked: example.org:443, 3 times").
	 * The main thread records blocked[nr_blocked_recorded..] as events.
	 */
	struct strvec blocked;
	size_t nr_blocked_recorded;
	size_t nr_added, nr_modified, nr_deleted, nr_refused;
	uint64_t bytes_pulled;
};

struct run {
	/* Fixed. */
	char *id;
	char *dir; /* state/runs/ID */
	const char *state_dir;
	struct plan *plan; /* borrowed */
	const struct sandbox_backend *backend;
	int concurrency;
	int64_t grace_ms;
	char host[256];
	long pid;
	struct strvec secret_values; /* every secret value, for masking */
	struct mask *mask; /* of secret_values: whole strings, shared, const */
	/*
	 * Model prices: the built-in table with the plan's on top (owned,
	 * read-only once workers run; NULL before the run is prepared).
	 */
	struct price_table *prices;
	/*
	 * The run's network proxy (netproxy.h) when the plan has network:
	 * [allowlist], else NULL; started before the first task and stopped
	 * after the last, by the scheduler.
	 */
	struct netproxy *netproxy;

	/* Main thread. */
	int64_t started_at, ended_at;

	/* The selected tasks, in plan order (run_add_tasks). */
	struct task_run *tasks;
	size_t nr_tasks;

	/* Workspace snapshots, one per distinct workspace and filter (snap.h).
	 */
	struct run_snap *snaps;
	size_t nr_snaps;
};

/*
 * Fill run->tasks from run->plan: the tasks named in only (every task
 * when only is NULL or empty), queued, their dependencies resolved to
 * indices. Dependencies outside the selection are dropped (--only runs
 * exactly what it names). run->dir must be set.
 */
void run_add_tasks(struct run *run, const struct strvec *only);

/*
 * A new attempt at the end of t's list, numbered nr_attempts + 1, with
 * no exit code (-1) and every other field zero. The pointer is valid
 * until the next add.
 */
struct attempt_rec *task_run_add_attempt(struct task_run *t);
/* Remove t's last attempt and free what it holds. */
void task_run_drop_attempt(struct task_run *t);

/*
 * Free the tasks, their attempts, the secret values, the mask and the
 * id and dir of run (not the plan, the backend or the snapshots).
 */
void run_release(struct run *run);

#endif
