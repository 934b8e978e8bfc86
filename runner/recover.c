#include "runner.h"
#include "recover.h"
#include "sandbox.h"
#include "store.h"
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
	/* Every statement binds ?1 run id, ?2 reason, ?3 now (ms). */
	static const char *const sql[] = {
		"UPDATE tasks SET status = 'lost', reason = ?2, ended_at = ?3"
		" WHERE run_id = ?1 AND status = 'running'",
		"UPDATE attempts SET status = 'lost', reason = ?2, ended_at = ?3"
		" WHERE run_id = ?1 AND ended_at IS NULL",
		"UPDATE runs SET status = 'lost', ended_at = ?3 WHERE id = ?1"
		" AND status = 'running'",
		"INSERT INTO events (at, run_id, level, kind, message)"
		" VALUES (?3, ?1, 'warn', 'run_lost', ?2)",
	};
	sqlite3 *db = store_db(st);
	char *reason = xstrfmt("the runner (pid %ld on %s) died while the "
			       "task was running",
			       pid, host);
	int64_t now = time_now_ms();
	int ret = -1;

	if (store_begin(st, err) < 0)
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(sql); i++) {
		sqlite3_stmt *s = NULL;
		int ok = sqlite3_prepare_v2(db, sql[i], -1, &s, NULL) ==
			 SQLITE_OK;
		if (ok) {
			sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(s, 2, reason, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(s, 3, now);
			ok = sqlite3_step(s) == SQLITE_DONE;
		}
		sqlite3_finalize(s);
		if (!ok) {
			strbuf_addf(err, "cannot mark run %s lost: %s", id,
				    sqlite3_errmsg(db));
			store_rollback(st);
			goto out;
		}
	}
	ret = store_commit(st, err);
out:
	free(reason);
	return ret;
}

int recover_lost_runs(struct store *st, struct strbuf *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	char host[256] = "";
	struct strvec ids = STRVEC_INIT, hosts = STRVEC_INIT;
	long *pids = NULL;
	size_t alloc = 0;
	int ret = 0;

	gethostname(host, sizeof(host) - 1);
	if (sqlite3_prepare_v2(db,
			       "SELECT id, host, pid, started_at FROM runs"
			       " WHERE status = 'running'",
			       -1, &s, NULL) != SQLITE_OK) {
		strbuf_addf(err, "cannot read runs: %s", sqlite3_errmsg(db));
		return -1;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(s, 1);
		long pid = (long)sqlite3_column_int64(s, 2);
		if (!h || strcmp(h, host) ||
		    recover_pid_alive(pid, sqlite3_column_int64(s, 3)))
			continue;
		ALLOC_GROW(pids, ids.nr + 1, alloc);
		pids[ids.nr] = pid;
		strvec_push(&ids, (const char *)sqlite3_column_text(s, 0));
		strvec_push(&hosts, h);
	}
	sqlite3_finalize(s);
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
