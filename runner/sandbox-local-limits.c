/*
 * The local backend's limits (sandbox-local-limits.h): cgroup.h wired to
 * the sandbox. Kept apart from sandbox-local.c, which only calls
 * local_limits_start() before proc_start() and local_limits_finish()
 * after proc_run().
 *
 * One host per process. Probing reads a few files and creates nothing
 * (`runner validate` probes too); preparing makes this runner's
 * directory under our own cgroup in each hierarchy, after removing what
 * runners that died left there, and happens on the first attempt. An
 * atexit handler removes the directory: by then every attempt's cgroup
 * is gone (local_limits_finish runs before exec returns), and what a
 * killed runner leaves, the next one removes.
 */
#include "runner.h"
#include "sandbox-local-limits.h"
#include "sandbox.h"
#include "cgroup.h"
#include "proc.h"

#include <pthread.h>

static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cgroup_host host = CGROUP_HOST_INIT;
static bool probed;
/* Prepared and usable; false after a failed prepare (then: rlimits). */
static bool usable;
static struct strbuf prepare_err = STRBUF_INIT;

static enum cgroup_mode wanted_mode(void)
{
	const char *v = getenv("RUNNER_CGROUP");

	if (v && !strcmp(v, "v1"))
		return CGROUP_V1;
	if (v && !strcmp(v, "v2"))
		return CGROUP_V2;
	return CGROUP_NONE;
}

static bool cgroups_refused(void)
{
	const char *v = getenv("RUNNER_CGROUP");
	return v && !strcmp(v, "none");
}

/* Under host_lock. */
static void probe_locked(void)
{
	if (probed)
		return;
	probed = true;
	if (cgroups_refused()) {
		strbuf_addstr(&host.reason, "RUNNER_CGROUP=none");
		return;
	}
	cgroup_probe(&host, wanted_mode(), 0);
}

static void release_host(void)
{
	pthread_mutex_lock(&host_lock);
	if (host.prepared)
		cgroup_host_release(&host);
	pthread_mutex_unlock(&host_lock);
}

/* The prepared host, or NULL where attempts get rlimits. */
static const struct cgroup_host *prepared_host(void)
{
	const struct cgroup_host *h = NULL;

	pthread_mutex_lock(&host_lock);
	probe_locked();
	if (!host.prepared && host.mode != CGROUP_NONE && !prepare_err.len) {
		struct strbuf ignored = STRBUF_INIT;

		/* Leftovers are worth removing, not worth failing over. */
		cgroup_cleanup_stale(&host, NULL, &ignored);
		strbuf_release(&ignored);
		if (cgroup_host_prepare(&host, &prepare_err) < 0) {
			if (!prepare_err.len)
				strbuf_addstr(&prepare_err, "cannot prepare");
		} else {
			usable = true;
			atexit(release_host);
		}
	}
	if (usable)
		h = &host;
	pthread_mutex_unlock(&host_lock);
	return h;
}

/* What to judge notes by: the host, or none when it cannot be used. */
static const struct cgroup_host *note_host(void)
{
	static const struct cgroup_host none = CGROUP_HOST_INIT;
	const struct cgroup_host *h;

	pthread_mutex_lock(&host_lock);
	probe_locked();
	h = prepare_err.len ? &none : &host;
	pthread_mutex_unlock(&host_lock);
	return h;
}

/*
 * The limits as the plan set them: the default pids limit is not the
 * plan's, so it never turns into a per-user RLIMIT_NPROC (which counts
 * every process of that user, the runner's own included) or a note.
 */
static void explicit_limits(const struct local_limits_want *w,
			    struct cgroup_limits *lim)
{
	lim->memory = w->memory;
	lim->pids = w->pids;
	lim->cpus = w->cpus;
}

void local_limits_note(const struct local_limits_want *w, struct strbuf *out)
{
	struct cgroup_limits lim;

	explicit_limits(w, &lim);
	cgroup_note(note_host(), &lim, out);
}

struct local_limits {
	struct cgroup *cg;
	struct cgroup_limits lim;
};

int local_limits_start(const struct local_limits_want *w, const char *name,
		       struct proc *p, struct local_limits **out,
		       struct strbuf *err)
{
	const struct cgroup_host *h = prepared_host();
	struct cgroup_limits lim;
	struct local_limits *ll;

	*out = NULL;
	explicit_limits(w, &lim);
	if (!h) {
		static const struct cgroup_host none = CGROUP_HOST_INIT;
		struct cgroup_rlimits rl;

		cgroup_fallback_rlimits(&none, &lim, &rl);
		p->rlimit_as = rl.as;
		p->rlimit_nproc = rl.nproc;
		return 0;
	}
	if (!lim.pids)
		lim.pids = CGROUP_DEFAULT_PIDS;
	ll = xcalloc(1, sizeof(*ll));
	ll->lim = lim;
	if (cgroup_create(h, name, &lim, &ll->cg, err) < 0) {
		free(ll);
		return -1;
	}
	{
		/* What the host's controllers cannot hold: rlimits. */
		struct cgroup_rlimits rl;

		explicit_limits(w, &lim);
		cgroup_fallback_rlimits(h, &lim, &rl);
		p->rlimit_as = rl.as;
		p->rlimit_nproc = rl.nproc;
	}
	p->nr_cgroup_fds = cgroup_procs_fds(ll->cg, &p->cgroup_fds);
	*out = ll;
	return 0;
}

void local_limits_finish(struct local_limits *ll, struct sandbox_status *st,
			 struct strbuf *warn)
{
	struct strbuf err = STRBUF_INIT;
	struct cgroup_usage u;
	bool ok_exit;

	if (!ll)
		return;
	/* A daemon that left the sandbox's tree is still in here. */
	if (cgroup_kill(ll->cg, &err) < 0) {
		strbuf_addf(warn, "%s", err.buf);
		strbuf_reset(&err);
	}
	if (cgroup_read_usage(ll->cg, &u, &err) < 0) {
		strbuf_addf(warn, "%s%s", warn->len ? "; " : "", err.buf);
		strbuf_reset(&err);
	}
	st->usage_known = true;
	st->memory_peak = u.memory_peak;
	st->cpu_ms = u.cpu_usec / 1000;
	/*
	 * A task that still succeeded got over what the limit killed (a
	 * child it restarted): the limit did not end it.
	 */
	ok_exit = st->exit_code == 0 && !st->term_signal;
	st->oom = ll->lim.memory && !ok_exit &&
		  cgroup_usage_oom(&u, st->term_signal);
	if (cgroup_remove(ll->cg, &err) < 0)
		strbuf_addf(warn, "%s%s", warn->len ? "; " : "", err.buf);
	cgroup_free(ll->cg);
	free(ll);
	strbuf_release(&err);
}
