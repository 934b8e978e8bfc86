#ifndef HOOK_H
#define HOOK_H

struct run;
struct strbuf;

/*
 * The plan's on_done: the user's command, run on the host through
 * /bin/sh -c once a run has ended and its results are written (what to
 * do next with them: push a branch, open a pull request, tell someone).
 *
 * It runs in the plan's directory with an environment of its own, never
 * the secrets: PATH, HOME, USER, LOGNAME, LANG, TZ from ours (any of them
 * dropped whose name is a secret's of the plan or whose value holds a
 * secret's value) and RUNNER_RUN_ID, RUNNER_RESULTS (the run's folder),
 * RUNNER_STATUS, RUNNER_EXIT_CODE, RUNNER_PLAN, RUNNER_STATE. Its output
 * (masked, at most HOOK_LOG_MAX bytes) goes into the run's folder as
 * on_done.log; it is ended (TERM, then KILL, with what it started) at
 * the plan's on_done timeout.
 *
 * Returns 0 when there is no hook or it exited 0; -1 with err when it
 * could not start, failed, or timed out. Either way the run's status
 * stays what it is: the caller records and warns.
 */
#define HOOK_LOG_MAX (1u << 20)

int hook_on_done(const struct run *run, const char *status, int exit_code,
		 struct strbuf *err);

#endif
