#ifndef CMD_PROGRESS_H
#define CMD_PROGRESS_H

struct plan;
struct run_opts;

/*
 * exec's and resume's run (cmd-progress.c): sched_run() with an observer
 * that shows the run as opts->progress says, then the closing summary
 * (with where the results are), the dry run's plan, or why the run could
 * not start. Returns the exit code (enum runner_exit).
 */
int cmd_run_plan(struct plan *plan, const struct run_opts *opts);

#endif
