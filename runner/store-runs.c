#include "runner.h"
#include "store-runs.h"
#include "store-internal.h"

#define RUN_COLS                                                        \
	"id, plan_name, plan_path, plan_sha256, backend, status, host," \
	" started_at, ended_at, exit_code, pid, tasks_total"

#define TASK_COLS                                                          \
	"id, status, reason, sandbox_id, exit_code, attempts, started_at," \
	" ended_at, files_added, files_modified, files_deleted,"           \
	" bytes_pulled, cost_usd"

static bool is_null(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL;
}

static int fail(struct store *st, struct strbuf *err)
{
	strbuf_addstr(err, sqlite3_errmsg(store_db(st)));
	return -1;
}

static int prepare(struct store *st, const char *sql, sqlite3_stmt **s,
		   struct strbuf *err)
{
	if (sqlite3_prepare_v2(store_db(st), sql, -1, s, NULL) != SQLITE_OK) {
		*s = NULL;
		return fail(st, err);
	}
	return 0;
}

static void read_run(sqlite3_stmt *s, struct store_run *r)
{
	memset(r, 0, sizeof(*r));
	r->id = store_col_dup(s, 0);
	r->plan_name = store_col_dup(s, 1);
	r->plan_path = store_col_dup(s, 2);
	r->plan_sha256 = store_col_dup(s, 3);
	r->backend = store_col_dup(s, 4);
	r->status = store_col_dup(s, 5);
	r->host = store_col_dup(s, 6);
	r->started_at = sqlite3_column_int64(s, 7);
	r->has_end = !is_null(s, 8);
	r->ended_at = sqlite3_column_int64(s, 8);
	r->has_exit = !is_null(s, 9);
	r->exit_code = sqlite3_column_int(s, 9);
	r->pid = sqlite3_column_int64(s, 10);
	r->tasks_total = sqlite3_column_int(s, 11);
}

void store_run_release(struct store_run *r)
{
	free(r->id);
	free(r->plan_name);
	free(r->plan_path);
	free(r->plan_sha256);
	free(r->backend);
	free(r->status);
	free(r->host);
	memset(r, 0, sizeof(*r));
}

static void read_task(sqlite3_stmt *s, struct store_task *t)
{
	memset(t, 0, sizeof(*t));
	t->id = store_col_dup(s, 0);
	t->status = store_col_dup(s, 1);
	t->reason = store_col_dup(s, 2);
	t->sandbox_id = store_col_dup(s, 3);
	t->has_exit = !is_null(s, 4);
	t->exit_code = sqlite3_column_int(s, 4);
	t->attempts = sqlite3_column_int(s, 5);
	t->has_start = !is_null(s, 6);
	t->started_at = sqlite3_column_int64(s, 6);
	t->has_end = !is_null(s, 7);
	t->ended_at = sqlite3_column_int64(s, 7);
	t->files_added = sqlite3_column_int64(s, 8);
	t->files_modified = sqlite3_column_int64(s, 9);
	t->files_deleted = sqlite3_column_int64(s, 10);
	t->bytes_pulled = sqlite3_column_int64(s, 11);
	t->cost_usd = sqlite3_column_double(s, 12);
}

void store_task_release(struct store_task *t)
{
	free(t->id);
	free(t->status);
	free(t->reason);
	free(t->sandbox_id);
	memset(t, 0, sizeof(*t));
}

/* Step s to its end: 0, fn's non-zero return, or -1 on an error. */
typedef int row_fn(sqlite3_stmt *s, void *ctx);

static int walk(struct store *st, sqlite3_stmt *s, row_fn *row, void *ctx,
		struct strbuf *err)
{
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((ret = row(s, ctx)))
			break;
	if (!ret && rc != SQLITE_DONE)
		ret = fail(st, err);
	sqlite3_finalize(s);
	return ret;
}

/* One row or none: 1, 0, or -1. */
static int step_one(struct store *st, sqlite3_stmt *s, struct strbuf *err)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fail(st, err);
}

int store_runs_get(struct store *st, const char *id, struct store_run *out,
		   struct strbuf *err)
{
	sqlite3_stmt *s;
	int ret;

	memset(out, 0, sizeof(*out));
	if (prepare(st, "SELECT " RUN_COLS " FROM runs WHERE id = ?1", &s,
		    err) < 0)
		return -1;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	if ((ret = step_one(st, s, err)) == 1)
		read_run(s, out);
	sqlite3_finalize(s);
	return ret;
}

static int push_id(sqlite3_stmt *s, void *ids)
{
	strvec_push(ids, (const char *)sqlite3_column_text(s, 0));
	return 0;
}

int store_runs_match(struct store *st, const char *prefix, struct strvec *ids,
		     struct strbuf *err)
{
	sqlite3_stmt *s;

	if (!prefix) {
		if (prepare(st,
			    "SELECT id FROM runs ORDER BY started_at DESC, id"
			    " DESC LIMIT 1",
			    &s, err) < 0)
			return -1;
	} else {
		if (prepare(st,
			    "SELECT id FROM runs WHERE id = ?1 OR"
			    " substr(id, 1, length(?1)) = ?1"
			    " ORDER BY (id = ?1) DESC, id LIMIT 6",
			    &s, err) < 0)
			return -1;
		sqlite3_bind_text(s, 1, prefix, -1, SQLITE_TRANSIENT);
	}
	return walk(st, s, push_id, ids, err);
}

int store_runs_earlier(struct store *st, const char *run_id,
		       const char *task_id, int limit, struct strvec *ids,
		       struct strbuf *err)
{
	sqlite3_stmt *s;

	if (prepare(st,
		    "SELECT r.id FROM runs r, runs me"
		    " WHERE me.id = ?1 AND r.plan_name = me.plan_name"
		    " AND r.id <> me.id AND r.started_at <= me.started_at"
		    " AND EXISTS (SELECT 1 FROM tasks t WHERE t.run_id = r.id"
		    "  AND t.id = ?2 AND t.files_added + t.files_modified"
		    "  + t.files_deleted > 0)"
		    " ORDER BY r.started_at DESC, r.id DESC LIMIT ?3",
		    &s, err) < 0)
		return -1;
	sqlite3_bind_text(s, 1, run_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, task_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, limit);
	return walk(st, s, push_id, ids, err);
}

/* The text of the first column of a one-row query bound to a and b. */
static char *one_text(struct store *st, const char *sql, const char *a,
		      const char *b)
{
	sqlite3_stmt *s = NULL;
	char *v = NULL;

	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(s, 1, a, -1, SQLITE_TRANSIENT);
	if (b)
		sqlite3_bind_text(s, 2, b, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return v;
}

char *store_runs_going(struct store *st, const char *plan_name)
{
	return one_text(st,
			"SELECT id FROM runs WHERE plan_name = ?1 AND"
			" status = 'running' ORDER BY started_at DESC"
			" LIMIT 1",
			plan_name, NULL);
}

char *store_runs_task_status(struct store *st, const char *run_id,
			     const char *task_id)
{
	return one_text(st,
			"SELECT status FROM tasks WHERE run_id = ?1"
			" AND id = ?2",
			run_id, task_id);
}

/* A caller's callback and its data, for the row functions of walk(). */
struct cb {
	union {
		int (*run)(const struct store_run *, void *);
		int (*task)(const struct store_task *, void *);
		int (*attempt)(const struct store_attempt *, void *);
		int (*warning)(const char *, const char *, void *);
		int (*cap_wait)(int64_t, const char *, int64_t, void *);
		int (*value)(const struct store_value *, int, void *);
	} fn;
	void *data;
};

static int list_row(sqlite3_stmt *s, void *ctx)
{
	struct cb *cb = ctx;
	struct store_run r;
	int ret;

	read_run(s, &r);
	r.tasks_succeeded = sqlite3_column_int(s, 12);
	ret = cb->fn.run(&r, cb->data);
	store_run_release(&r);
	return ret;
}

int store_runs_list(struct store *st, int limit,
		    int (*fn)(const struct store_run *r, void *data),
		    void *data, struct strbuf *err)
{
	struct cb cb = { .fn.run = fn, .data = data };
	sqlite3_stmt *s;

	if (prepare(st,
		    "SELECT " RUN_COLS ", (SELECT count(*) FROM tasks t WHERE"
		    "  t.run_id = r.id AND t.status = 'succeeded')"
		    " FROM runs r ORDER BY r.started_at DESC, r.id"
		    " DESC LIMIT ?1",
		    &s, err) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, limit);
	return walk(st, s, list_row, &cb, err);
}

int store_runs_of_plan(struct store *st, const char *plan_name, int limit,
		       int (*fn)(const struct store_run *r, void *data),
		       void *data, struct strbuf *err)
{
	struct cb cb = { .fn.run = fn, .data = data };
	sqlite3_stmt *s;

	if (prepare(st,
		    "SELECT " RUN_COLS ", (SELECT count(*) FROM tasks t WHERE"
		    "  t.run_id = r.id AND t.status = 'succeeded')"
		    " FROM runs r WHERE r.plan_name = ?1"
		    " ORDER BY r.started_at DESC, r.id DESC LIMIT ?2",
		    &s, err) < 0)
		return -1;
	sqlite3_bind_text(s, 1, plan_name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, limit);
	return walk(st, s, list_row, &cb, err);
}

static int task_row(sqlite3_stmt *s, void *ctx)
{
	struct cb *cb = ctx;
	struct store_task t;
	int ret;

	read_task(s, &t);
	ret = cb->fn.task(&t, cb->data);
	store_task_release(&t);
	return ret;
}

int store_runs_tasks(struct store *st, const char *run_id,
		     int (*fn)(const struct store_task *t, void *data),
		     void *data, struct strbuf *err)
{
	struct cb cb = { .fn.task = fn, .data = data };
	sqlite3_stmt *s;

	if (prepare(st,
		    "SELECT " TASK_COLS " FROM tasks WHERE run_id = ?1"
		    " ORDER BY seq, id",
		    &s, err) < 0)
		return -1;
	sqlite3_bind_text(s, 1, run_id, -1, SQLITE_TRANSIENT);
	return walk(st, s, task_row, &cb, err);
}

int store_runs_task(struct store *st, const char *run_id, const char *task_id,
		    struct store_task *out, struct strbuf *err)
{
	sqlite3_stmt *s;
	int ret;

	memset(out, 0, sizeof(*out));
	if (prepare(st,
		    "SELECT " TASK_COLS " FROM tasks WHERE run_id = ?1 AND"
		    " id = ?2",
		    &s, err) < 0)
		return -1;
	sqlite3_bind_text(s, 1, run_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, task_id, -1, SQLITE_TRANSIENT);
	if ((ret = step_one(st, s, err)) == 1)
		read_task(s, out);
	sqlite3_finalize(s);
	return ret;
}

static int attempt_row(sqlite3_stmt *s, void *ctx)
{
	struct cb *cb = ctx;
	struct store_attempt a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.task_id = store_col_dup(s, 0);
	a.n = sqlite3_column_int(s, 1);
	a.status = store_col_dup(s, 2);
	a.has_exit = !is_null(s, 3);
	a.exit_code = sqlite3_column_int(s, 3);
	a.reason = store_col_dup(s, 4);
	a.sandbox_id = store_col_dup(s, 5);
	a.started_at = sqlite3_column_int64(s, 6);
	a.has_end = !is_null(s, 7);
	a.ended_at = sqlite3_column_int64(s, 7);
	ret = cb->fn.attempt(&a, cb->data);
	free(a.task_id);
	free(a.status);
	free(a.reason);
	free(a.sandbox_id);
	return ret;
}

int store_runs_attempts(struct store *st, const char *run_id,
			int (*fn)(const struct store_attempt *a, void *data),
			void *data, struct strbuf *err)
{
	struct cb cb = { .fn.attempt = fn, .data = data };
	sqlite3_stmt *s;

	if (prepare(st,
		    "SELECT a.task_id, a.attempt, a.status, a.exit_code,"
		    " a.reason, a.sandbox_id, a.started_at, a.ended_at"
		    " FROM attempts a JOIN tasks t ON t.run_id = a.run_id"
		    " AND t.id = a.task_id WHERE a.run_id = ?1"
		    " ORDER BY t.seq, t.id, a.attempt",
		    &s, err) < 0)
		return -1;
	sqlite3_bind_text(s, 1, run_id, -1, SQLITE_TRANSIENT);
	return walk(st, s, attempt_row, &cb, err);
}

static const char *text_or_empty(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? (const char *)t : "";
}

static int warning_row(sqlite3_stmt *s, void *ctx)
{
	struct cb *cb = ctx;

	return cb->fn.warning((const char *)sqlite3_column_text(s, 0),
			      text_or_empty(s, 1), cb->data);
}

int store_runs_warnings(struct store *st, const char *run_id,
			const char *task_id,
			int (*fn)(const char *task_id, const char *message,
				  void *data),
			void *data, struct strbuf *err)
{
	struct cb cb = { .fn.warning = fn, .data = data };
	sqlite3_stmt *s;

	if (task_id) {
		if (prepare(st,
			    "SELECT task_id, message FROM events WHERE"
			    " run_id = ?1 AND task_id = ?2 AND kind ="
			    " 'warning' ORDER BY id",
			    &s, err) < 0)
			return -1;
		sqlite3_bind_text(s, 2, task_id, -1, SQLITE_TRANSIENT);
	} else if (prepare(st,
			   "SELECT e.task_id, e.message FROM events e"
			   " JOIN tasks t ON t.run_id = e.run_id AND"
			   " t.id = e.task_id WHERE e.run_id = ?1"
			   " AND e.kind IN ('warning', 'network_blocked')"
			   " ORDER BY t.seq, t.id, e.id",
			   &s, err) < 0) {
		return -1;
	}
	sqlite3_bind_text(s, 1, run_id, -1, SQLITE_TRANSIENT);
	return walk(st, s, warning_row, &cb, err);
}

int store_runs_blocked(struct store *st, const char *run_id,
		       const char *task_id,
		       int (*fn)(const char *task_id, const char *message,
				 void *data),
		       void *data, struct strbuf *err)
{
	struct cb cb = { .fn.warning = fn, .data = data };
	sqlite3_stmt *s;

	if (prepare(st,
		    "SELECT task_id, message FROM events"
		    " WHERE run_id = ?1 AND kind = 'network_blocked'"
		    " AND (?2 IS NULL OR task_id = ?2) ORDER BY id",
		    &s, err) < 0)
		return -1;
	sqlite3_bind_text(s, 1, run_id, -1, SQLITE_TRANSIENT);
	if (task_id)
		sqlite3_bind_text(s, 2, task_id, -1, SQLITE_TRANSIENT);
	return walk(st, s, warning_row, &cb, err);
}

static int cap_wait_row(sqlite3_stmt *s, void *ctx)
{
	struct cb *cb = ctx;

	return cb->fn.cap_wait(sqlite3_column_int64(s, 0), text_or_empty(s, 1),
			       is_null(s, 2) ? -1 : sqlite3_column_int64(s, 2),
			       cb->data);
}

int store_runs_cap_waits(struct store *st, const char *run_id,
			 int (*fn)(int64_t at, const char *message,
				   int64_t next_start, void *data),
			 void *data, struct strbuf *err)
{
	struct cb cb = { .fn.cap_wait = fn, .data = data };
	sqlite3_stmt *s;

	if (prepare(st,
		    "SELECT e.at, e.message, (SELECT min(a.started_at) FROM"
		    " attempts a WHERE a.run_id = e.run_id AND"
		    " a.started_at > e.at) FROM events e WHERE e.run_id = ?1"
		    " AND e.kind = 'cap_wait' ORDER BY e.at, e.id",
		    &s, err) < 0)
		return -1;
	sqlite3_bind_text(s, 1, run_id, -1, SQLITE_TRANSIENT);
	return walk(st, s, cap_wait_row, &cb, err);
}

static int value_row(sqlite3_stmt *s, void *ctx)
{
	struct cb *cb = ctx;
	int n = sqlite3_column_count(s), ret;
	struct store_value *v = xcalloc((size_t)n + 1, sizeof(*v));

	for (int i = 0; i < n; i++) {
		v[i].name = sqlite3_column_name(s, i);
		switch (sqlite3_column_type(s, i)) {
		case SQLITE_INTEGER:
			v[i].type = STORE_VALUE_INT;
			v[i].i = sqlite3_column_int64(s, i);
			break;
		case SQLITE_FLOAT:
			v[i].type = STORE_VALUE_FLOAT;
			v[i].f = sqlite3_column_double(s, i);
			break;
		case SQLITE_TEXT:
			v[i].type = STORE_VALUE_TEXT;
			v[i].text = (const char *)sqlite3_column_text(s, i);
			break;
		case SQLITE_BLOB:
			v[i].type = STORE_VALUE_BLOB;
			v[i].blob = sqlite3_column_blob(s, i);
			v[i].len = (size_t)sqlite3_column_bytes(s, i);
			break;
		default:
			v[i].type = STORE_VALUE_NULL;
		}
	}
	ret = cb->fn.value(v, n, cb->data);
	free(v);
	return ret;
}

int store_runs_rows(struct store *st, enum store_rows which,
		    const char *run_id,
		    int (*fn)(const struct store_value *cols, int nr,
			      void *data),
		    void *data, struct strbuf *err)
{
	static const char *const sql[] = {
		[STORE_ROWS_RUN] = "SELECT * FROM runs WHERE id = ?1",
		[STORE_ROWS_TASKS] = "SELECT * FROM tasks WHERE run_id = ?1"
				     " ORDER BY seq, id",
		[STORE_ROWS_ATTEMPTS] = "SELECT * FROM attempts WHERE"
					" run_id = ?1 ORDER BY task_id,"
					" attempt",
		[STORE_ROWS_EVENTS] = "SELECT * FROM events WHERE"
				      " run_id = ?1 ORDER BY id",
	};
	static const char *const what[] = {
		[STORE_ROWS_RUN] = "run",
		[STORE_ROWS_TASKS] = "tasks",
		[STORE_ROWS_ATTEMPTS] = "attempts",
		[STORE_ROWS_EVENTS] = "events",
	};
	struct cb cb = { .fn.value = fn, .data = data };
	struct strbuf msg = STRBUF_INIT;
	sqlite3_stmt *s;
	int ret;

	if (store_prepare(st, sql[which], &s, err) < 0)
		return -1;
	sqlite3_bind_text(s, 1, run_id, -1, SQLITE_TRANSIENT);
	ret = walk(st, s, value_row, &cb, &msg);
	if (ret < 0 && msg.len)
		strbuf_addf(err, "cannot read the %s of run %s: %s",
			    what[which], run_id, msg.buf);
	strbuf_release(&msg);
	return ret;
}

int store_schema_version(struct store *st, int64_t *out, struct strbuf *err)
{
	sqlite3_stmt *s;
	int ret = -1;

	if (store_prepare(st,
			  "SELECT coalesce(max(version), 0)"
			  " FROM schema_migrations",
			  &s, err) < 0)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		ret = 0;
	} else {
		strbuf_addf(err, "cannot read the schema version: %s",
			    sqlite3_errmsg(store_db(st)));
	}
	sqlite3_finalize(s);
	return ret;
}
