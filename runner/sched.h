#ifndef SCHED_H
#define SCHED_H

#include <stdbool.h>
#include <stdint.h>

struct plan;
struct strvec;

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

/*
 * Run plan to completion and return the exit code (enum runner_exit).
 * Prints progress and a closing summary; errors of the runner itself go
 * to stderr as one line.
 */
int sched_run(struct plan *plan, const struct run_opts *opts);

#endif
