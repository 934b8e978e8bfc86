#ifndef SCHED_H
#define SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "run.h"

struct plan;
struct plan_task;
struct strvec;

/*
 * The scheduler (sched.c, see its DESIGN comment): runs a plan's tasks
 * to completion and records them. It prints nothing. What it has to say
 * while the run goes reaches an observer; what came of the run is its
 * outcome. The CLI shows both (cmd-progress.c).
 */

enum progress_mode { PROGRESS_AUTO, PROGRESS_QUIET, PROGRESS_JSON };

struct run_opts {
	const char *state_dir;
	int jobs;		   /* 0: the plan's concurrency */
	const struct strvec *only; /* task ids to run; NULL/empty: all */
	bool dry_run;
	/* How the caller shows the run; the scheduler does not read it. */
	enum progress_mode progress;
	int64_t grace_ms;      /* TERM -> KILL, default 10 s */
	const char *resume_id; /* continue this run instead */
};

/* Where the run is, for a live line. */
struct sched_counts {
	int done, running, queued, failed;
	int total;
	int64_t next_slot_ms;  /* waiting for a cap slot until then, or 0 */
	const char *cap_which; /* "per_hour" / "per_day" */
};

/*
 * What the scheduler reports while it works, in this order, on the
 * calling thread. Any function may be NULL; ctx is passed to each.
 */
struct sched_observer {
	/*
	 * Before the run starts: a warning of the runner's own (a secret too
	 * short to mask well, crash recovery that failed).
	 */
	void (*warning)(void *ctx, const char *msg);
	/* The run has its id and its records; events follow. */
	void (*begin)(void *ctx, const char *run_id);
	/*
	 * kind: "run_started", "task_started", "task_retry",
	 * "task_finished", "task_skipped", "cap_wait", "network_blocked"
	 * (what the network proxy refused for an attempt: "blocked:
	 * example.org:443, 3 times"), "notice" or "run_finished"; task (its
	 * id) and status (its task_status_name) are NULL for the run's own
	 * events. What may quote a task or a backend is masked already.
	 */
	void (*event)(void *ctx, const char *kind, const char *task,
		      const char *status, const char *message);
	/*
	 * An event that carries data, data a JSON object as text: kind
	 * "agent_outcome" after an agent task's last attempt (the agent's
	 * report, attempt_agent_json(), with "cost_usd" and "cost_source"
	 * of the task). NULL: event() gets it, without the data.
	 */
	void (*event_data)(void *ctx, const char *kind, const char *task,
			   const char *status, const char *message,
			   const char *data);
	/* At most ten times a second while tasks are going. */
	void (*tick)(void *ctx, const struct sched_counts *c,
		     int64_t elapsed_ms);
	/* The tasks are done; the run's last records and event follow. */
	void (*end)(void *ctx);
	void *ctx;
};

enum sched_result {
	SCHED_NOT_STARTED, /* the run could not start: error says why */
	SCHED_DRY_RUN,	   /* opts->dry_run: what would run; nothing ran */
	SCHED_RAN,	   /* the run went: the tasks say how */
};

/* One task of the outcome, in plan order. */
struct sched_task_outcome {
	const struct plan_task *task; /* borrowed from the plan */
	enum task_status status;
	char *reason; /* NULL, or why it did not succeed */
	size_t nr_added, nr_modified, nr_deleted;
	size_t *deps; /* indices into the outcome's tasks */
	size_t nr_deps;
};

/*
 * What came of sched_run(). Owns its strings and arrays (release with
 * sched_outcome_release); borrows from the plan, which must outlive it.
 */
struct sched_outcome {
	enum sched_result result;
	int exit_code; /* the process's (enum runner_exit) */

	/*
	 * SCHED_NOT_STARTED: one line for "runner: ", or with error_lines
	 * several lines to print as they are (the secret scan's findings).
	 */
	char *error;
	bool error_lines;

	/* SCHED_DRY_RUN and SCHED_RAN. */
	int concurrency;
	const char *backend; /* its name (static) */
	struct sched_task_outcome *tasks;
	size_t nr_tasks;

	/* SCHED_RAN. */
	char *run_id;
	char *results_dir;  /* state/runs/ID */
	const char *status; /* "succeeded", "failed" or "interrupted" */
	/*
	 * The exit code in the database and run.json: exit_code is 4 over
	 * it when recording the run's end failed.
	 */
	int recorded_exit_code;
	int64_t started_at, ended_at;
	size_t by_status[TASK_STATUS_NR];
	/* The first record that failed (the records may be incomplete). */
	char *records_error;
};

/*
 * Run plan to completion (or only plan it, with opts->dry_run), telling
 * obs (may be NULL) as it goes, and fill *out, which the caller then
 * releases. Handles SIGINT and SIGTERM while the tasks run.
 */
void sched_run(struct plan *plan, const struct run_opts *opts,
	       const struct sched_observer *obs, struct sched_outcome *out);
void sched_outcome_release(struct sched_outcome *out);

#endif
