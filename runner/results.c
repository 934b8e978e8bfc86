#include "runner.h"
#include "plan.h"
#include "results.h"
#include "agent-outcome.h"
#include "run.h"
#include "sandbox.h"
#include "ws.h"
#include "fs.h"
#include "hash.h"
#include "patch.h"
#include "quote.h"

#include <cJSON.h>

/* Write obj pretty-printed to path atomically; takes ownership of obj. */
static int write_json(const char *path, cJSON *obj, struct strbuf *err)
{
	char *text = cJSON_Print(obj);
	int ret;
	cJSON_Delete(obj);
	if (!text)
		BUG("cJSON_Print failed");
	{
		size_t len = strlen(text);
		char *withnl = xmalloc(len + 2);
		memcpy(withnl, text, len);
		withnl[len] = '\n';
		withnl[len + 1] = '\0';
		/* The database holds the truth; these mirror it for people. */
		ret = fs_write_atomic_flags(path, withnl, len + 1, 0644, 0,
					    err);
		free(withnl);
	}
	cJSON_free(text);
	return ret;
}

/* memory_peak and cpu_ms: null where the backend measured nothing. */
static void add_usage(cJSON *ao, const struct attempt_rec *a)
{
	if (a->usage_known && a->memory_peak)
		cJSON_AddNumberToObject(ao, "memory_peak",
					(double)a->memory_peak);
	else
		cJSON_AddNullToObject(ao, "memory_peak");
	if (a->usage_known)
		cJSON_AddNumberToObject(ao, "cpu_ms", (double)a->cpu_ms);
	else
		cJSON_AddNullToObject(ao, "cpu_ms");
}

int results_write_task(const struct task_run *t, struct strbuf *err)
{
	const struct plan_task *pt = t->task;
	cJSON *o = cJSON_CreateObject();
	cJSON *arr, *ch;
	char *path;
	int ret;

	cJSON_AddStringToObject(o, "run_id", t->run->id);
	cJSON_AddStringToObject(o, "task_id", pt->id);
	cJSON_AddStringToObject(o, "status", task_status_name(t->status));
	quote_json_add_text_or_null(o, "reason", t->reason);
	if (t->nr_attempts && t->exit_code >= 0)
		cJSON_AddNumberToObject(o, "exit_code", t->exit_code);
	else
		cJSON_AddNullToObject(o, "exit_code");
	cJSON_AddNumberToObject(o, "attempts", (double)t->nr_attempts);
	quote_json_add_time(o, "started_at", t->started_at);
	quote_json_add_time(o, "ended_at", t->ended_at);
	if (t->started_at && t->ended_at)
		cJSON_AddNumberToObject(o, "duration_ms",
					(double)(t->ended_at - t->started_at));
	else
		cJSON_AddNullToObject(o, "duration_ms");
	cJSON_AddStringToObject(o, "backend", t->run->backend->name);
	quote_json_add_text_or_null(
		o, "sandbox_id",
		t->nr_attempts ? t->attempts[t->nr_attempts - 1].sandbox_id
			       : NULL);
	arr = cJSON_AddArrayToObject(o, "attempt_list");
	for (size_t i = 0; i < t->nr_attempts; i++) {
		const struct attempt_rec *a = &t->attempts[i];
		cJSON *ao = cJSON_CreateObject();
		cJSON_AddNumberToObject(ao, "attempt", a->n);
		cJSON_AddStringToObject(ao, "status",
					task_status_name(a->status));
		if (a->exit_code >= 0)
			cJSON_AddNumberToObject(ao, "exit_code", a->exit_code);
		else
			cJSON_AddNullToObject(ao, "exit_code");
		quote_json_add_text_or_null(ao, "reason", a->reason);
		quote_json_add_text_or_null(ao, "sandbox_id", a->sandbox_id);
		quote_json_add_time(ao, "started_at", a->started_at);
		quote_json_add_time(ao, "ended_at", a->ended_at);
		add_usage(ao, a);
		cJSON_AddNumberToObject(ao, "cost_usd", a->cost_usd);
		quote_json_add_text_or_null(ao, "cost_source", a->cost_source);
		if (a->agent)
			cJSON_AddItemToObject(ao, "agent",
					      attempt_agent_json(a->agent));
		else
			cJSON_AddNullToObject(ao, "agent");
		cJSON_AddItemToArray(arr, ao);
	}
	arr = cJSON_AddArrayToObject(o, "warnings");
	for (size_t i = 0; i < t->warnings.nr; i++)
		cJSON_AddItemToArray(arr, quote_json_text(t->warnings.v[i]));
	ch = cJSON_AddObjectToObject(o, "changes");
	cJSON_AddNumberToObject(ch, "added", (double)t->nr_added);
	cJSON_AddNumberToObject(ch, "modified", (double)t->nr_modified);
	cJSON_AddNumberToObject(ch, "deleted", (double)t->nr_deleted);
	cJSON_AddNumberToObject(ch, "refused", (double)t->nr_refused);
	cJSON_AddNumberToObject(o, "bytes_pulled", (double)t->bytes_pulled);
	cJSON_AddNumberToObject(o, "cost_usd", t->cost_usd);
	cJSON_AddStringToObject(o, "cost_source",
				t->cost_source ? t->cost_source : "none");
	/* The agent's word on its last attempt (each is in attempt_list). */
	if (t->nr_attempts && t->attempts[t->nr_attempts - 1].agent)
		cJSON_AddItemToObject(
			o, "agent",
			attempt_agent_json(
				t->attempts[t->nr_attempts - 1].agent));
	else
		cJSON_AddNullToObject(o, "agent");

	if (fs_mkdir_p(t->dir, 0755, err) < 0) {
		cJSON_Delete(o);
		return -1;
	}
	path = fs_join(t->dir, "result.json");
	ret = write_json(path, o, err);
	free(path);
	return ret;
}

int results_write_changes(struct task_run *t, const struct ws_changes *c,
			  struct strvec *notices, struct strbuf *err)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *lists[3];
	static const char *const names[3] = { "added", "modified", "deleted" };
	struct strbuf left_out = STRBUF_INIT, secret = STRBUF_INIT;
	size_t nr_left_out = 0, nr_secret = 0;
	char *path;
	int ret;

	t->nr_added = t->nr_modified = t->nr_deleted = 0;
	for (int i = 0; i < 3; i++)
		lists[i] = cJSON_AddArrayToObject(o, names[i]);
	for (size_t i = 0; i < c->nr; i++) {
		const struct ws_change *x = &c->items[i];
		cJSON *e = cJSON_CreateObject();
		char hex[65];
		int which = x->kind == 'A' ? 0 : x->kind == 'M' ? 1 : 2;

		quote_json_add_name(e, "path", x->path);
		cJSON_AddStringToObject(e, "type",
					x->type == WS_LINK  ? "symlink"
					: x->type == WS_DIR ? "directory"
							    : "file");
		if (which != 2)
			cJSON_AddNumberToObject(e, "size", (double)x->size);
		sha256_hex(x->sha256, hex);
		if (x->pulled || which == 2)
			cJSON_AddStringToObject(e, "sha256", hex);
		if (x->has_base) {
			sha256_hex(x->base_sha256, hex);
			cJSON_AddStringToObject(e, "base_sha256", hex);
		}
		if (which != 2)
			cJSON_AddBoolToObject(e, "pulled", x->pulled);
		if (x->note)
			quote_json_add_text(e, "note", x->note);
		if (x->secret)
			cJSON_AddBoolToObject(e, "secret", true);
		if (x->secret && nr_secret++ < 10) {
			strbuf_addstr(&secret, nr_secret > 1 ? "; " : "");
			quote_path(&secret, x->path);
			strbuf_addf(&secret, " (%s)", x->note);
		}
		if (patch_wanted(x) && !patch_name_ok(x->path)) {
			cJSON_AddBoolToObject(e, "patch_unsafe_name", true);
			if (nr_left_out++ < 10) {
				strbuf_addstr(&left_out,
					      nr_left_out > 1 ? ", " : "");
				quote_path(&left_out, x->path);
			}
		}
		cJSON_AddItemToArray(lists[which], e);
		if (which == 0)
			t->nr_added++;
		else if (which == 1)
			t->nr_modified++;
		else
			t->nr_deleted++;
	}
	t->nr_refused = c->nr_refused;
	t->bytes_pulled = c->bytes_pulled;
	cJSON_AddNumberToObject(o, "bytes_pulled", (double)c->bytes_pulled);
	cJSON_AddBoolToObject(o, "truncated", c->truncated);
	/* apply refuses such a list: it would take a part as the whole. */
	if (c->nr_unwritten)
		cJSON_AddBoolToObject(o, "incomplete", true);
	if (c->truncated)
		strvec_pushf(&t->warnings,
			     "more than %d changes: the list "
			     "was cut there",
			     WS_MAX_CHANGES);
	if (nr_left_out) {
		/* In result.json, `runner show`, and on screen as it runs. */
		char *msg = xstrfmt("changes.patch leaves out %zu file%s "
				    "whose name cannot be written into a "
				    "diff (runner apply takes them): %s%s",
				    nr_left_out, nr_left_out == 1 ? "" : "s",
				    left_out.buf,
				    nr_left_out > 10 ? ", ..." : "");
		strvec_push(&t->warnings, msg);
		strvec_pushf(notices, "%s: warning: %s", t->task->id, msg);
		free(msg);
	}
	if (nr_secret) {
		/* Names only: paths and notes hold "***", never a value. */
		char *msg = xstrfmt("%zu file%s not pulled back, as %s the "
				    "value of a secret: %s%s",
				    nr_secret, nr_secret == 1 ? "" : "s",
				    nr_secret == 1 ? "it holds" : "they hold",
				    secret.buf, nr_secret > 10 ? "; ..." : "");
		strvec_push(&t->warnings, msg);
		strvec_pushf(notices, "%s: warning: %s", t->task->id, msg);
		free(msg);
	}
	strbuf_release(&left_out);
	strbuf_release(&secret);
	/* Where `runner apply` puts the changes by default. */
	quote_json_add_name(o, "workspace", t->task->workspace);
	/* And what apply --branch bases its commit on. */
	if (t->git_head) {
		cJSON *g = cJSON_AddObjectToObject(o, "git");
		cJSON_AddStringToObject(g, "commit", t->git_head);
		cJSON_AddBoolToObject(g, "dirty", t->git_dirty);
	}
	if (fs_mkdir_p(t->dir, 0755, err) < 0) {
		cJSON_Delete(o);
		return -1;
	}
	path = fs_join(t->dir, "changes.json");
	ret = write_json(path, o, err);
	free(path);
	return ret;
}

int results_write_run(const struct run *run, const char *status, int exit_code,
		      bool interrupted, struct strbuf *err)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *counts, *tasks;
	size_t by_status[TASK_LOST + 1] = { 0 };
	double cost = 0;
	char *path;
	int ret;

	cJSON_AddStringToObject(o, "run_id", run->id);
	cJSON_AddStringToObject(o, "plan", run->plan->name);
	quote_json_add_name(o, "plan_path", run->plan->path);
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddBoolToObject(o, "interrupted", interrupted);
	cJSON_AddNumberToObject(o, "exit_code", exit_code);
	cJSON_AddStringToObject(o, "backend", run->backend->name);
	quote_json_add_text(o, "host", run->host);
	quote_json_add_time(o, "started_at", run->started_at);
	quote_json_add_time(o, "ended_at", run->ended_at);
	if (run->ended_at)
		cJSON_AddNumberToObject(
			o, "duration_ms",
			(double)(run->ended_at - run->started_at));
	else
		cJSON_AddNullToObject(o, "duration_ms");
	tasks = cJSON_AddArrayToObject(o, "tasks");
	for (size_t i = 0; i < run->nr_tasks; i++) {
		const struct task_run *t = &run->tasks[i];
		cJSON *e = cJSON_CreateObject();
		by_status[t->status]++;
		cost += t->cost_usd;
		cJSON_AddStringToObject(e, "id", t->task->id);
		cJSON_AddStringToObject(e, "status",
					task_status_name(t->status));
		quote_json_add_text_or_null(e, "reason", t->reason);
		cJSON_AddNumberToObject(e, "attempts", (double)t->nr_attempts);
		if (t->started_at && t->ended_at)
			cJSON_AddNumberToObject(
				e, "duration_ms",
				(double)(t->ended_at - t->started_at));
		else
			cJSON_AddNullToObject(e, "duration_ms");
		cJSON_AddItemToArray(tasks, e);
	}
	counts = cJSON_AddObjectToObject(o, "counts");
	cJSON_AddNumberToObject(counts, "total", (double)run->nr_tasks);
	for (int s = TASK_QUEUED; s <= TASK_LOST; s++)
		if (by_status[s])
			cJSON_AddNumberToObject(
				counts, task_status_name((enum task_status)s),
				(double)by_status[s]);
	cJSON_AddNumberToObject(o, "cost_usd", cost);
	path = fs_join(run->dir, "run.json");
	ret = write_json(path, o, err);
	free(path);
	return ret;
}
