#include "runner.h"
#include "record.h"
#include "plan.h"
#include "run.h"
#include "sandbox.h"
#include "store.h"
#include "store-agent.h"
#include "store-internal.h"
#include "timeutil.h"

static int fail(sqlite3 *db, struct strbuf *err, const char *what)
{
	strbuf_addf(err, "cannot record %s in the state database: %s", what,
		    sqlite3_errmsg(db));
	return -1;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt)
{
	return sqlite3_prepare_v2(db, sql, -1, stmt, NULL) == SQLITE_OK ? 0
									: -1;
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static void bind_ms_or_null(sqlite3_stmt *s, int i, int64_t ms)
{
	if (ms)
		sqlite3_bind_int64(s, i, ms);
	else
		sqlite3_bind_null(s, i);
}

/* Step a prepared statement to completion and finalize it. */
static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int upsert_task(sqlite3 *db, const struct task_run *t)
{
	static const char sql[] =
		"INSERT INTO tasks (run_id, id, seq, status, reason, exit_code,"
		" attempts, started_at, ended_at, sandbox_id, files_added,"
		" files_modified, files_deleted, bytes_pulled, cost_usd)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		" ?13, ?14, ?15)"
		" ON CONFLICT (run_id, id) DO UPDATE SET status = ?4,"
		" reason = ?5, exit_code = ?6, attempts = ?7, started_at = ?8,"
		" ended_at = ?9, sandbox_id = ?10, files_added = ?11,"
		" files_modified = ?12, files_deleted = ?13,"
		" bytes_pulled = ?14, cost_usd = ?15";
	sqlite3_stmt *s;
	const char *sandbox =
		t->nr_attempts ? t->attempts[t->nr_attempts - 1].sandbox_id
			       : NULL;

	if (prepare(db, sql, &s) < 0)
		return -1;
	sqlite3_bind_text(s, 1, t->run->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, t->task->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)t->index);
	sqlite3_bind_text(s, 4, task_status_name(t->status), -1,
			  SQLITE_STATIC);
	bind_text_or_null(s, 5, t->reason);
	if (t->nr_attempts && t->exit_code >= 0)
		sqlite3_bind_int(s, 6, t->exit_code);
	else
		sqlite3_bind_null(s, 6);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)t->nr_attempts);
	bind_ms_or_null(s, 8, t->started_at);
	bind_ms_or_null(s, 9, t->ended_at);
	bind_text_or_null(s, 10, sandbox);
	sqlite3_bind_int64(s, 11, (sqlite3_int64)t->nr_added);
	sqlite3_bind_int64(s, 12, (sqlite3_int64)t->nr_modified);
	sqlite3_bind_int64(s, 13, (sqlite3_int64)t->nr_deleted);
	sqlite3_bind_int64(s, 14, (sqlite3_int64)t->bytes_pulled);
	sqlite3_bind_double(s, 15, t->cost_usd);
	return step_done(s);
}

int record_run_start(struct store *st, const struct run *run,
		     const char *plan_sha256, struct strbuf *err)
{
	static const char sql[] =
		"INSERT INTO runs (id, plan_name, plan_path, plan_sha256,"
		" backend, status, started_at, host, pid, tasks_total)"
		" VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6, ?7, ?8, ?9)";
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;

	if (store_begin(st, err) < 0)
		return -1;
	if (prepare(db, sql, &s) < 0)
		goto fail;
	sqlite3_bind_text(s, 1, run->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, run->plan->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, run->plan->path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, plan_sha256, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, run->backend->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, run->started_at);
	sqlite3_bind_text(s, 7, run->host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 8, run->pid);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)run->nr_tasks);
	if (step_done(s) < 0)
		goto fail;
	for (size_t i = 0; i < run->nr_tasks; i++)
		if (upsert_task(db, &run->tasks[i]) < 0)
			goto fail;
	return store_commit(st, err);
fail:
	fail(db, err, "the run");
	store_rollback(st);
	return -1;
}

int record_task(struct store *st, const struct task_run *t, struct strbuf *err)
{
	if (store_writable(st, err) < 0)
		return -1;
	if (upsert_task(store_db(st), t) < 0)
		return fail(store_db(st), err, "a task");
	return 0;
}

int record_task_done(struct store *st, const struct task_run *t,
		     struct strbuf *err)
{
	static const char sql[] =
		"INSERT OR REPLACE INTO attempts (run_id, task_id, attempt,"
		" status, exit_code, reason, backend, sandbox_id, host, pid,"
		" started_at, ended_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
	sqlite3 *db = store_db(st);

	if (store_begin(st, err) < 0)
		return -1;
	if (upsert_task(db, t) < 0)
		goto fail;
	for (size_t i = 0; i < t->nr_attempts; i++) {
		const struct attempt_rec *a = &t->attempts[i];
		sqlite3_stmt *s;
		if (prepare(db, sql, &s) < 0)
			goto fail;
		sqlite3_bind_text(s, 1, t->run->id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, t->task->id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 3, a->n);
		sqlite3_bind_text(s, 4, task_status_name(a->status), -1,
				  SQLITE_STATIC);
		if (a->exit_code >= 0)
			sqlite3_bind_int(s, 5, a->exit_code);
		else
			sqlite3_bind_null(s, 5);
		bind_text_or_null(s, 6, a->reason);
		sqlite3_bind_text(s, 7, t->run->backend->name, -1,
				  SQLITE_STATIC);
		bind_text_or_null(s, 8, a->sandbox_id);
		sqlite3_bind_text(s, 9, t->run->host, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 10, t->run->pid);
		sqlite3_bind_int64(s, 11, a->started_at);
		bind_ms_or_null(s, 12, a->ended_at);
		if (step_done(s) < 0)
			goto fail;
	}
	if (store_agent_put(st, t, err) < 0) {
		store_rollback(st);
		return -1;
	}
	return store_commit(st, err);
fail:
	fail(db, err, "a task");
	store_rollback(st);
	return -1;
}

int record_run_end(struct store *st, const struct run *run, const char *status,
		   int exit_code, struct strbuf *err)
{
	static const char sql[] = "UPDATE runs SET status = ?2, ended_at = ?3,"
				  " exit_code = ?4 WHERE id = ?1";
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;

	if (prepare(db, sql, &s) < 0)
		return fail(db, err, "the run's end");
	sqlite3_bind_text(s, 1, run->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, status, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, run->ended_at);
	sqlite3_bind_int(s, 4, exit_code);
	if (step_done(s) < 0)
		return fail(db, err, "the run's end");
	return 0;
}

int record_event(struct store *st, const char *run_id, const char *task_id,
		 const char *level, const char *kind, const char *message,
		 const char *data, struct strbuf *err)
{
	static const char sql[] =
		"INSERT INTO events (at, run_id, task_id, level, kind, message,"
		" data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;

	if (store_writable(st, err) < 0)
		return -1;
	if (prepare(db, sql, &s) < 0)
		return fail(db, err, "an event");
	sqlite3_bind_int64(s, 1, time_now_ms());
	bind_text_or_null(s, 2, run_id);
	bind_text_or_null(s, 3, task_id);
	sqlite3_bind_text(s, 4, level, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 6, message, -1, SQLITE_TRANSIENT);
	bind_text_or_null(s, 7, data);
	if (step_done(s) < 0)
		return fail(db, err, "an event");
	return 0;
}

int record_run_resume(struct store *st, const struct run *run,
		      struct strbuf *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;

	if (prepare(db,
		    "UPDATE runs SET status = 'running', ended_at = NULL,"
		    " exit_code = NULL, host = ?2, pid = ?3 WHERE id = ?1",
		    &s) < 0)
		return fail(db, err, "the resumed run");
	sqlite3_bind_text(s, 1, run->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, run->host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, run->pid);
	if (step_done(s) < 0)
		return fail(db, err, "the resumed run");
	return 0;
}

static struct task_run *find_task(struct run *run, const char *id)
{
	for (size_t i = 0; i < run->nr_tasks; i++)
		if (!strcmp(run->tasks[i].task->id, id))
			return &run->tasks[i];
	return NULL;
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? xstrdup((const char *)t) : NULL;
}

static int64_t col_ms(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL
		       ? 0
		       : sqlite3_column_int64(s, i);
}

int record_load_tasks(struct store *st, struct run *run, struct strbuf *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;

	if (prepare(db,
		    "SELECT id, status, reason, exit_code, started_at,"
		    " ended_at, files_added, files_modified, files_deleted,"
		    " bytes_pulled, cost_usd FROM tasks WHERE run_id = ?1",
		    &s) < 0)
		goto fail;
	sqlite3_bind_text(s, 1, run->id, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct task_run *t = find_task(
			run, (const char *)sqlite3_column_text(s, 0));
		int status;
		if (!t)
			continue;
		status = task_status_parse(
			(const char *)sqlite3_column_text(s, 1));
		t->status = status < 0 ? TASK_QUEUED
				       : (enum task_status)status;
		free(t->reason);
		t->reason = col_dup(s, 2);
		t->exit_code = sqlite3_column_type(s, 3) == SQLITE_NULL
				       ? -1
				       : sqlite3_column_int(s, 3);
		t->started_at = col_ms(s, 4);
		t->ended_at = col_ms(s, 5);
		t->nr_added = (size_t)sqlite3_column_int64(s, 6);
		t->nr_modified = (size_t)sqlite3_column_int64(s, 7);
		t->nr_deleted = (size_t)sqlite3_column_int64(s, 8);
		t->bytes_pulled = (uint64_t)sqlite3_column_int64(s, 9);
		t->cost_usd = sqlite3_column_double(s, 10);
	}
	sqlite3_finalize(s);
	if (prepare(db,
		    "SELECT task_id, attempt, status, exit_code, reason,"
		    " sandbox_id, started_at, ended_at FROM attempts WHERE"
		    " run_id = ?1 ORDER BY task_id, attempt",
		    &s) < 0)
		goto fail;
	sqlite3_bind_text(s, 1, run->id, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct task_run *t = find_task(
			run, (const char *)sqlite3_column_text(s, 0));
		struct attempt_rec *a;
		int status;
		if (!t)
			continue;
		a = task_run_add_attempt(t);
		a->n = sqlite3_column_int(s, 1);
		status = task_status_parse(
			(const char *)sqlite3_column_text(s, 2));
		a->status = status < 0 ? TASK_LOST : (enum task_status)status;
		a->exit_code = sqlite3_column_type(s, 3) == SQLITE_NULL
				       ? -1
				       : sqlite3_column_int(s, 3);
		a->reason = col_dup(s, 4);
		a->sandbox_id = col_dup(s, 5);
		a->started_at = col_ms(s, 6);
		a->ended_at = col_ms(s, 7);
	}
	sqlite3_finalize(s);
	return 0;
fail:
	return fail(db, err, "the resumed run's tasks");
}

int record_attempt_start(struct store *st, const struct task_run *t, int n,
			 struct strbuf *err)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;

	if (store_writable(st, err) < 0)
		return -1;
	/* An upsert: the worker may have recorded the sandbox id already. */
	if (prepare(db,
		    "INSERT INTO attempts (run_id, task_id, attempt, status,"
		    " backend, host, pid, started_at) VALUES (?1, ?2, ?3,"
		    " 'running', ?4, ?5, ?6, ?7) ON CONFLICT (run_id, task_id,"
		    " attempt) DO UPDATE SET status = 'running', started_at ="
		    " excluded.started_at",
		    &s) < 0)
		return fail(db, err, "an attempt");
	sqlite3_bind_text(s, 1, t->run->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, t->task->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 3, n);
	sqlite3_bind_text(s, 4, t->run->backend->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, t->run->host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 6, t->run->pid);
	sqlite3_bind_int64(s, 7, time_now_ms());
	if (step_done(s) < 0)
		return fail(db, err, "an attempt");
	return 0;
}

int record_sandbox_created(const char *state_dir, const struct task_run *t,
			   int attempt, const char *sandbox_id,
			   struct strbuf *err)
{
	char *path = xstrfmt("%s/runner.db", state_dir);
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int ret = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		strbuf_addf(err, "cannot record sandbox %s: %s", sandbox_id,
			    db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, 10000);
	if (prepare(db,
		    "INSERT INTO attempts (run_id, task_id, attempt, status,"
		    " backend, sandbox_id, host, pid, started_at) VALUES (?1,"
		    " ?2, ?3, 'running', ?4, ?5, ?6, ?7, ?8) ON CONFLICT"
		    " (run_id, task_id, attempt) DO UPDATE SET sandbox_id ="
		    " excluded.sandbox_id",
		    &s) < 0)
		goto fail;
	sqlite3_bind_text(s, 1, t->run->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, t->task->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 3, attempt);
	sqlite3_bind_text(s, 4, t->run->backend->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, sandbox_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 6, t->run->host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 7, t->run->pid);
	sqlite3_bind_int64(s, 8, time_now_ms());
	if (step_done(s) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	strbuf_addf(err, "cannot record sandbox %s: %s", sandbox_id,
		    sqlite3_errmsg(db));
out:
	sqlite3_close(db);
	free(path);
	return ret;
}
