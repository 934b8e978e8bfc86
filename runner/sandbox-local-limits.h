#ifndef SANDBOX_LOCAL_LIMITS_H
#define SANDBOX_LOCAL_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

struct proc;
struct sandbox_status;
struct strbuf;

/*
 * The local backend's resource limits (memory, pids, cpus): one cgroup
 * per attempt (cgroup.h), made before the task's first process starts
 * and joined by that process between fork and exec (proc.c), so that
 * nothing of the task ever runs outside it; rlimits only where this
 * host gives us no writable cgroup, and then said (local_limits_note).
 *
 * The host is probed once per process, and prepared (this runner's
 * directory made, what dead runners left removed) before the first
 * cgroup; its directory goes when the process exits. RUNNER_CGROUP=none
 * (or v1, v2) restricts what the probe may pick: the fallback can be
 * seen on a host that has cgroups.
 */

/* What one attempt asks for. 0: no limit (pids 0: the default, 1024). */
struct local_limits_want {
	uint64_t memory;
	uint64_t pids;
	uint32_t cpus; /* milli-CPUs */
};

/* The limits of w this host cannot enforce, and what is done instead. */
void local_limits_note(const struct local_limits_want *w, struct strbuf *out);

struct local_limits;

/*
 * Before proc_start(): make the attempt's cgroup, named name
 * ([A-Za-z0-9._-], unique in this process), and point p at it (or set
 * p's rlimits where there is none). Returns 0 with *out set (NULL when
 * no cgroup is used), or -1 with err set.
 */
int local_limits_start(const struct local_limits_want *w, const char *name,
		       struct proc *p, struct local_limits **out,
		       struct strbuf *err);

/*
 * After the task's process was reaped: kill what is left in the cgroup,
 * read its usage into st (memory_peak, cpu_ms, oom) and remove it. A
 * problem is appended to warn (the attempt still counts). Frees ll;
 * NULL is a no-op.
 */
void local_limits_finish(struct local_limits *ll, struct sandbox_status *st,
			 struct strbuf *warn);

#endif
