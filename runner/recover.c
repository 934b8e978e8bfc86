#include "runner.h"
#include "recover.h"
#include "sandbox.h"
#include "store.h"
#include "store-gc.h"
#include "timeutil.h"

#include <signal.h>

/* Boot time in seconds since the epoch, from /proc/stat. */
static long long boot_time(void)
{
	struct strbuf sb;
	const char *p;
	long long bt = -1;

	strbuf_init_capped(&sb, 1 << 20);
	if (strbuf_read_file(&sb, "/proc/stat") == 0 &&
	    (p = strstr(sb.buf, "\nbtime ")))
		bt = strtoll(p + 7, NULL, 10);
	strbuf_release(&sb);
	return bt;
}

/* When pid started (ms since the epoch), or -1. */
static long long pid_start_ms(long pid)
{
	char path[64];
	struct strbuf sb;
	const char *p;
	long long ticks = -1, bt = boot_time();
	long hz = sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	strbuf_init_capped(&sb, 8192);
	if (strbuf_read_file(&sb, path) == 0 && (p = strrchr(sb.buf, ')'))) {
		/* Field 22 (starttime); p is at the end of field 2. */
		int field = 2;
		for (; *p && field < 22; p++)
			if (*p == ' ')
				field++;
		if (field == 22)
			ticks = strtoll(p, NULL, 10);
	}
	strbuf_release(&sb);
	if (ticks < 0 || bt < 0 || hz <= 0)
		return -1;
	return bt * 1000 + ticks * 1000 / hz;
}

int recover_pid_alive(long pid, long long started_at_ms)
{
	long long start;
	if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
		return 0;
	start = pid_start_ms(pid);
	/* Boot-time arithmetic is good to a clock tick and btime's second. */
	if (start >= 0 && start > started_at_ms + 2000)
		return 0;
	return 1;
}

int recover_kill_leftovers(const char *state_dir, const char *run_id,
			   unsigned flags, struct strbuf *err)
{
	int ret = 0;

	for (size_t i = 0; i < sandbox_backend_count(); i++) {
		const struct sandbox_backend *be = sandbox_backend_at(i);
		struct sandbox_leftovers l = SANDBOX_LEFTOVERS_INIT;
		if (be->list_leftovers(state_dir, run_id, flags, &l, err) < 0)
			ret = -1;
		for (size_t j = 0; j < l.nr; j++)
			if (be->kill_leftover(state_dir, &l.v[j], err) < 0)
				ret = -1;
		sandbox_leftovers_release(&l);
	}
	return ret;
}

static int mark_lost(struct store *st, const char *id, const char *host,
		     long pid, struct strbuf *err)
{
	char *reason = xstrfmt("the runner (pid %ld on %s) died while the "
			       "task was running",
			       pid, host);
	int ret = store_gc_mark_lost(st, id, reason, time_now_ms(), err);

	free(reason);
	return ret;
}

/* The running runs of this host whose runner is gone. */
struct lost {
	const char *host;
	struct strvec *ids, *hosts;
	long **pids;
	size_t *alloc;
};

static int add_lost(const char *id, const char *host, long pid,
		    int64_t started_at, void *data)
{
	struct lost *l = data;

	if (!host || strcmp(host, l->host) ||
	    recover_pid_alive(pid, started_at))
		return 0;
	ALLOC_GROW(*l->pids, l->ids->nr + 1, *l->alloc);
	(*l->pids)[l->ids->nr] = pid;
	strvec_push(l->ids, id);
	strvec_push(l->hosts, host);
	return 0;
}

int recover_lost_runs(struct store *st, struct strbuf *err)
{
	char host[256] = "";
	struct strvec ids = STRVEC_INIT, hosts = STRVEC_INIT;
	long *pids = NULL;
	size_t alloc = 0;
	struct lost l = { host, &ids, &hosts, &pids, &alloc };
	struct strbuf msg = STRBUF_INIT;
	int ret = 0;

	gethostname(host, sizeof(host) - 1);
	if (store_gc_running(st, add_lost, &l, &msg) < 0) {
		strbuf_addf(err, "cannot read runs: %s", msg.buf);
		strbuf_release(&msg);
		return -1;
	}
	for (size_t i = 0; i < ids.nr; i++) {
		/*
		 * What the dead runner started may still run, and its
		 * sandboxes' folders remain. Those first: a recovery that is
		 * itself killed leaves the run as it was, for the next one
		 * to finish.
		 */
		if (recover_kill_leftovers(store_dir(st), ids.v[i],
					   SANDBOX_LEFTOVERS_OFFLINE |
						   SANDBOX_LEFTOVERS_PROCESSES,
					   err) < 0 ||
		    mark_lost(st, ids.v[i], hosts.v[i], pids[i], err) < 0) {
			ret = -1;
			break;
		}
		ret++;
	}
	strvec_clear(&ids);
	strvec_clear(&hosts);
	free(pids);
	return ret;
}
