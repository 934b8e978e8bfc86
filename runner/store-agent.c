#include "runner.h"
#include "store-agent.h"
#include "store.h"
#include "store-internal.h"
#include "run.h"
#include "plan.h"

static void bind_str(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static void bind_count(sqlite3_stmt *s, int i, bool have, uint64_t v)
{
	if (have)
		sqlite3_bind_int64(s, i, (sqlite3_int64)v);
	else
		sqlite3_bind_null(s, i);
}

int store_agent_put(struct store *st, const struct task_run *t,
		    struct strbuf *err)
{
	static const char sql[] =
		"INSERT OR REPLACE INTO agent_outcomes (run_id, task_id,"
		" attempt, format, result, error, subtype, warning, retries,"
		" turns, tool_calls, session_id, model, input_tokens,"
		" output_tokens, cache_read_tokens, cache_write_tokens,"
		" reasoning_tokens, agent_cost_usd, cost_usd, cost_source,"
		" final_text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
		" ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)";
	sqlite3 *db = store_db(st);

	for (size_t i = 0; i < t->nr_attempts; i++) {
		const struct attempt_rec *a = &t->attempts[i];
		const struct attempt_agent *ag = a->agent;
		sqlite3_stmt *s;
		int rc;

		if (!ag)
			continue;
		if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
			goto fail;
		sqlite3_bind_text(s, 1, t->run->id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, t->task->id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(s, 3, a->n);
		sqlite3_bind_text(s, 4, ag->format, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, ag->result, -1, SQLITE_STATIC);
		bind_str(s, 6, ag->error);
		bind_str(s, 7, ag->subtype);
		bind_str(s, 8, ag->warning);
		sqlite3_bind_int64(s, 9, (sqlite3_int64)ag->retries);
		sqlite3_bind_int64(s, 10, (sqlite3_int64)ag->turns);
		sqlite3_bind_int64(s, 11, (sqlite3_int64)ag->tool_calls);
		bind_str(s, 12, ag->session_id);
		bind_str(s, 13, ag->model);
		bind_count(s, 14, ag->has_tokens, ag->input_tokens);
		bind_count(s, 15, ag->has_tokens, ag->output_tokens);
		bind_count(s, 16, ag->has_tokens, ag->cache_read_tokens);
		bind_count(s, 17, ag->has_tokens, ag->cache_write_tokens);
		bind_count(s, 18, ag->has_tokens, ag->reasoning_tokens);
		if (ag->has_cost)
			sqlite3_bind_double(s, 19, ag->cost_usd);
		else
			sqlite3_bind_null(s, 19);
		sqlite3_bind_double(s, 20, a->cost_usd);
		sqlite3_bind_text(s, 21,
				  a->cost_source ? a->cost_source : "none", -1,
				  SQLITE_STATIC);
		bind_str(s, 22, ag->final_text);
		rc = sqlite3_step(s);
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			goto fail;
	}
	return 0;
fail:
	strbuf_addf(err,
		    "cannot record the agent's outcome in the state "
		    "database: %s",
		    sqlite3_errmsg(db));
	return -1;
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);
	return v ? xstrdup((const char *)v) : NULL;
}

static uint64_t col_u64(sqlite3_stmt *s, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(s, i);
	return v > 0 ? (uint64_t)v : 0;
}

/* The static names the row's text stands for. */
static const char *known(const char *v, const char *const *names, size_t nr)
{
	for (size_t i = 0; v && i < nr; i++)
		if (!strcmp(v, names[i]))
			return names[i];
	return names[0];
}

int store_agent_get(struct store *st, const char *run_id, const char *task_id,
		    struct store_agent_row *row, struct strbuf *err)
{
	static const char sql[] =
		"SELECT attempt, format, result, error, subtype, warning,"
		" retries, turns, tool_calls, session_id, model, input_tokens,"
		" output_tokens, cache_read_tokens, cache_write_tokens,"
		" reasoning_tokens, agent_cost_usd, cost_usd, cost_source,"
		" final_text FROM agent_outcomes WHERE run_id = ?1 AND"
		" task_id = ?2 ORDER BY attempt DESC LIMIT 1";
	static const char *const formats[] = { "none", "claude-stream-json",
					       "codex-jsonl" };
	static const char *const results[] = { "none", "success", "error",
					       "max_turns", "max_budget" };
	sqlite3 *db = store_db(st);
	struct attempt_agent *ag;
	sqlite3_stmt *s;
	int rc;

	memset(row, 0, sizeof(*row));
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		/* a state not migrated yet (read-only commands) */
		if (strstr(sqlite3_errmsg(db), "no such table"))
			return 0;
		strbuf_addf(err, "cannot read the agent's outcome: %s",
			    sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_text(s, 1, run_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, task_id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(s);
		if (rc == SQLITE_DONE)
			return 0;
		strbuf_addf(err, "cannot read the agent's outcome: %s",
			    sqlite3_errmsg(db));
		return -1;
	}
	ag = xcalloc(1, sizeof(*ag));
	row->attempt = sqlite3_column_int(s, 0);
	ag->format = known((const char *)sqlite3_column_text(s, 1), formats,
			   ARRAY_SIZE(formats));
	ag->result = known((const char *)sqlite3_column_text(s, 2), results,
			   ARRAY_SIZE(results));
	ag->error = col_dup(s, 3);
	ag->subtype = col_dup(s, 4);
	ag->warning = col_dup(s, 5);
	ag->retries = col_u64(s, 6);
	ag->turns = col_u64(s, 7);
	ag->tool_calls = col_u64(s, 8);
	ag->session_id = col_dup(s, 9);
	ag->model = col_dup(s, 10);
	ag->has_tokens = sqlite3_column_type(s, 11) != SQLITE_NULL;
	ag->input_tokens = col_u64(s, 11);
	ag->output_tokens = col_u64(s, 12);
	ag->cache_read_tokens = col_u64(s, 13);
	ag->cache_write_tokens = col_u64(s, 14);
	ag->reasoning_tokens = col_u64(s, 15);
	ag->has_cost = sqlite3_column_type(s, 16) != SQLITE_NULL;
	ag->cost_usd = sqlite3_column_double(s, 16);
	row->cost_usd = sqlite3_column_double(s, 17);
	row->cost_source = col_dup(s, 18);
	ag->final_text = col_dup(s, 19);
	row->agent = ag;
	sqlite3_finalize(s);
	return 1;
}

void store_agent_row_release(struct store_agent_row *row)
{
	attempt_agent_free(row->agent);
	free(row->cost_source);
	memset(row, 0, sizeof(*row));
}
