#ifndef RECOVER_H
#define RECOVER_H

struct store;
struct strbuf;

/*
 * Crash recovery. A runner killed without a chance to clean up (SIGKILL,
 * power loss) leaves its run and tasks marked running. The next runner
 * that opens the state on the same host finds runs whose process is gone
 * (or whose pid now belongs to a younger process), kills what is left of
 * them (each backend's leftovers of the run, offline: processes that
 * carry its RUNNER_RUN_ID, sandbox folders), and marks their unfinished
 * tasks and the run `lost`.
 * Runs of other hosts are left alone: we cannot see their processes.
 *
 * Returns the number of runs recovered, or -1 with err.
 */
int recover_lost_runs(struct store *st, struct strbuf *err);

/*
 * Kill or remove what every backend lists as left of run_id in the state
 * at state_dir (sandbox.h list_leftovers, with flags). -1 with err if
 * something may remain.
 */
int recover_kill_leftovers(const char *state_dir, const char *run_id,
			   unsigned flags, struct strbuf *err);

/* 1 if pid on this host is a process that started by started_at_ms. */
int recover_pid_alive(long pid, long long started_at_ms);

#endif
