#include "runner.h"
#include "review.h"
#include "quote.h"

#include <cJSON.h>

static void add_bool(cJSON *o, const char *key, bool v)
{
	quote_json_checked(cJSON_AddBoolToObject(o, key, v));
}

static void add_num(cJSON *o, const char *key, double v)
{
	quote_json_checked(cJSON_AddNumberToObject(o, key, v));
}

static cJSON *add_array(cJSON *o, const char *key)
{
	return quote_json_checked(cJSON_AddArrayToObject(o, key));
}

static void add_texts(cJSON *o, const char *key, const struct strvec *v)
{
	cJSON *a = add_array(o, key);

	for (size_t i = 0; i < v->nr; i++)
		cJSON_AddItemToArray(a, quote_json_text(v->v[i]));
}

static const char *kind_name(char kind)
{
	return kind == 'A' ? "added" : kind == 'D' ? "deleted" : "modified";
}

static cJSON *file_json(const struct review_file *f, bool diffs)
{
	cJSON *o = quote_json_checked(cJSON_CreateObject());

	quote_json_add_name(o, "path", f->path);
	quote_json_add_text(o, "change", kind_name(f->kind));
	quote_json_add_text_or_null(o, "type", f->type);
	add_bool(o, "pulled", f->pulled);
	add_bool(o, "refused", f->refused);
	add_bool(o, "secret", f->secret);
	add_bool(o, "outside_area", f->outside);
	add_bool(o, "binary", f->binary);
	quote_json_add_text_or_null(o, "note", f->note);
	quote_json_add_text_or_null(o, "patch_note", f->patch_note);
	quote_json_add_text_or_null(o, "base_sha256",
				    *f->base ? f->base : NULL);
	quote_json_add_text_or_null(o, "sha256", *f->sha ? f->sha : NULL);
	add_num(o, "size", (double)f->size);
	add_num(o, "lines_added", (double)f->ins);
	add_num(o, "lines_removed", (double)f->del);
	if (diffs) {
		quote_json_add_text_or_null(o, "diff",
					    f->diff.len ? f->diff.buf : NULL);
		add_num(o, "diff_lines_cut", (double)f->diff_cut);
	}
	return o;
}

static cJSON *task_json(const struct review_task *t, bool diffs)
{
	cJSON *o = quote_json_checked(cJSON_CreateObject()), *a;

	quote_json_add_text(o, "id", t->id);
	quote_json_add_text_or_null(o, "status", t->status);
	quote_json_add_text_or_null(o, "reason", t->reason);
	a = add_array(o, "flags");
	for (int i = 0; i < REVIEW_NR_FLAGS; i++)
		if (t->flags & (1u << i))
			cJSON_AddItemToArray(
				a, quote_json_text(review_flag_name(1u << i)));
	add_num(o, "cost_usd", t->cost_usd);
	quote_json_add_text_or_null(o, "cost_source", t->cost_source);
	if (t->has_tokens) {
		cJSON *k = quote_json_checked(
			cJSON_AddObjectToObject(o, "tokens"));
		add_num(k, "input", (double)t->tok_in);
		add_num(k, "output", (double)t->tok_out);
		add_num(k, "cache_read", (double)t->tok_cache_read);
		add_num(k, "cache_write", (double)t->tok_cache_write);
	} else {
		quote_json_checked(cJSON_AddNullToObject(o, "tokens"));
	}
	quote_json_add_text_or_null(o, "model", t->model);
	quote_json_add_text_or_null(o, "summary", t->summary);
	quote_json_add_text_or_null(o, "tests", t->tests);
	add_texts(o, "usual_area", &t->area);
	add_num(o, "usual_area_runs", (double)t->area_runs);
	add_texts(o, "notes", &t->notes);
	if (!t->has_changes) {
		quote_json_checked(cJSON_AddNullToObject(o, "changes"));
		return o;
	}
	{
		cJSON *c = quote_json_checked(
			cJSON_AddObjectToObject(o, "changes"));
		add_num(c, "added", (double)t->nr_added);
		add_num(c, "modified", (double)t->nr_modified);
		add_num(c, "deleted", (double)t->nr_deleted);
		add_num(c, "refused", (double)t->nr_refused);
		add_num(c, "lines_added", (double)t->ins);
		add_num(c, "lines_removed", (double)t->del);
		a = add_array(c, "files");
		for (size_t k = 0; k < t->nr_files; k++)
			cJSON_AddItemToArray(a,
					     file_json(&t->files[k], diffs));
	}
	return o;
}

static cJSON *conflict_json(const struct review *r,
			    const struct review_conflict *c)
{
	cJSON *o = quote_json_checked(cJSON_CreateObject());

	quote_json_add_text(o, "a", r->tasks[c->a].id);
	quote_json_add_text(o, "b", r->tasks[c->b].id);
	quote_json_add_name(o, "path", c->path);
	quote_json_add_text(o, "verdict",
			    c->same	 ? "same change"
			    : c->overlap ? "overlap"
					 : "same file");
	quote_json_add_text_or_null(o, "why", c->why);
	return o;
}

cJSON *review_json(const struct review *r, bool diffs)
{
	cJSON *o = quote_json_checked(cJSON_CreateObject()), *a;

	quote_json_add_text_or_null(o, "run", r->run_id);
	quote_json_add_text_or_null(o, "plan", r->plan_name);
	quote_json_add_text_or_null(o, "status", r->status);
	a = add_array(o, "tasks");
	for (size_t i = 0; i < r->nr_tasks; i++)
		cJSON_AddItemToArray(a, task_json(&r->tasks[i], diffs));
	a = add_array(o, "conflicts");
	for (size_t i = 0; i < r->nr_conflicts; i++)
		cJSON_AddItemToArray(a, conflict_json(r, &r->conflicts[i]));
	return o;
}
