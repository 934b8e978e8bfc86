#include "runner.h"
#include "fs.h"
#include "plan.h"
#include "quote.h"
#include "review.h"
#include "store.h"
#include "store-runs.h"

#include <cJSON.h>
#include <stdio.h>

/*
 * Loading is per task: the database row, then result.json, changes.json
 * and changes.patch of its folder, then the earlier runs for its area.
 * The conflicts come last, from the sorted file lists of every pair of
 * tasks. Files are read capped: a results folder is what a sandbox made.
 */

#define JSON_MAX (512u << 20)
#define PATCH_READ_MAX ((64u << 20) + 4096)
#define LOG_LINE_MAX (1u << 20)
#define LOG_READ_MAX (256u << 20)

static const char *const flag_names[REVIEW_NR_FLAGS] = {
	"large-deletion", "outside-area", "refused",
	"secret",	  "no-tests",	  "conflict",
};

const char *review_flag_name(unsigned flag)
{
	for (int i = 0; i < REVIEW_NR_FLAGS; i++)
		if (flag == 1u << i)
			return flag_names[i];
	return "?";
}

/* ---- tests ---- */

static bool word_in(const char *w, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(w, *list))
			return true;
	return false;
}

bool review_runs_tests(const char *cmd, char **what)
{
	static const char *const runners[] = {
		"pytest", "ctest", "prove", "tox",     "nox",	   "jest",
		"vitest", "mocha", "rspec", "phpunit", "unittest", NULL,
	};
	static const char *const tools[] = {
		"make", "ninja",  "go",	    "cargo", "npm", "yarn", "pnpm",
		"mvn",	"gradle", "dotnet", "mix",   "run", NULL,
	};
	static const char *const targets[] = { "test", "tests", "check",
					       NULL };
	struct strvec words = STRVEC_INIT;
	struct strbuf w = STRBUF_INIT;
	bool found = false;

	*what = NULL;
	/* Words split at blanks and shell operators, quotes dropped. */
	for (const char *p = cmd;; p++) {
		if (!*p || strchr(" \t\n;&|()<>`", *p)) {
			if (w.len)
				strvec_push(&words, w.buf);
			strbuf_reset(&w);
			if (!*p)
				break;
		} else if (*p != '"' && *p != '\'') {
			strbuf_addch(&w, *p);
		}
	}
	for (size_t i = 0; i < words.nr && !found; i++) {
		const char *x = words.v[i], *base = strrchr(x, '/');
		base = base ? base + 1 : x;
		if (word_in(base, runners) ||
		    (i && word_in(x, targets) &&
		     word_in(words.v[i - 1], tools)) ||
		    (strchr(x, '/') && (!strncmp(base, "test", 4) ||
					!strncmp(base, "run-tests", 9)))) {
			*what = i && word_in(x, targets)
					? xstrfmt("%s %s", words.v[i - 1], x)
					: xstrdup(x);
			found = true;
		}
	}
	strvec_clear(&words);
	strbuf_release(&w);
	return found;
}

/* ---- results files ---- */

static cJSON *read_json(const char *path, bool *missing)
{
	struct strbuf text;
	cJSON *root = NULL;

	strbuf_init_capped(&text, JSON_MAX);
	*missing = false;
	if (strbuf_read_file(&text, path) < 0)
		*missing = errno == ENOENT;
	else
		root = cJSON_Parse(text.buf);
	strbuf_release(&text);
	return root;
}

static char *json_str(const cJSON *o, const char *key)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
	return s ? xstrdup(s) : NULL;
}

static long long json_int(const cJSON *o, const char *key)
{
	const cJSON *n = cJSON_GetObjectItem(o, key);
	return cJSON_IsNumber(n) && n->valuedouble > 0
		       ? (long long)n->valuedouble
		       : 0;
}

static void load_result(struct review_task *t, const char *dir)
{
	char *path = fs_join(dir, "result.json");
	bool missing;
	cJSON *root = read_json(path, &missing), *agent, *tok;

	if (!root) {
		if (!missing)
			strvec_push(&t->notes, "result.json cannot be read");
		goto out;
	}
	t->cost_source = json_str(root, "cost_source");
	agent = cJSON_GetObjectItem(root, "agent");
	if (!cJSON_IsObject(agent))
		goto out;
	t->summary = json_str(agent, "final_text");
	t->model = json_str(agent, "model");
	tok = cJSON_GetObjectItem(agent, "tokens");
	if (cJSON_IsObject(tok)) {
		t->has_tokens = true;
		t->tok_in = json_int(tok, "input");
		t->tok_out = json_int(tok, "output");
		t->tok_cache_read = json_int(tok, "cache_read");
		t->tok_cache_write = json_int(tok, "cache_write");
	}
out:
	cJSON_Delete(root);
	free(path);
}

static int file_cmp(const void *a, const void *b)
{
	const struct review_file *x = a, *y = b;
	return strcmp(x->path, y->path);
}

static struct review_file *find_file(const struct review_task *t,
				     const char *path)
{
	struct review_file key = { .path = (char *)path };
	return t->nr_files ? bsearch(&key, t->files, t->nr_files, sizeof(key),
				     file_cmp)
			   : NULL;
}

static void hex_copy(char dst[65], const cJSON *o, const char *key)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
	dst[0] = '\0';
	if (s && strlen(s) == 64)
		memcpy(dst, s, 65);
}

/* The names of the changes in changes.json at path, or -1. */
static int load_changes(struct review_task *t, const char *dir)
{
	static const char *const lists[] = { "added", "modified", "deleted" };
	static const char kinds[] = "AMD";
	char *path = fs_join(dir, "changes.json");
	struct strbuf name = STRBUF_INIT;
	bool missing;
	cJSON *root = read_json(path, &missing);

	if (!root) {
		if (!missing)
			strvec_push(&t->notes, "changes.json cannot be read");
		free(path);
		return -1;
	}
	t->has_changes = true;
	for (int k = 0; k < 3; k++) {
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(root, lists[k]))
		{
			struct review_file *f;
			const cJSON *pulled = cJSON_GetObjectItem(e, "pulled");
			const cJSON *secret = cJSON_GetObjectItem(e, "secret");

			strbuf_reset(&name);
			if (quote_json_get_name(e, "path", &name) < 0)
				continue;
			ALLOC_GROW(t->files, t->nr_files + 1, t->alloc_files);
			f = &t->files[t->nr_files++];
			memset(f, 0, sizeof(*f));
			strbuf_init(&f->diff, 0);
			f->kind = kinds[k];
			f->path = xstrdup(name.buf);
			f->type = json_str(e, "type");
			f->note = json_str(e, "note");
			f->size = json_int(e, "size");
			f->pulled = k == 2 || cJSON_IsTrue(pulled);
			hex_copy(f->base, e, "base_sha256");
			hex_copy(f->sha, e, "sha256");
			/* Left out by pull: patterns is a choice, not a
			 * refusal. */
			f->refused =
				!f->pulled &&
				!(f->note &&
				  !strcmp(f->note, "not matched by pull"));
			/* Older results have no "secret" key: the note says.
			 */
			f->secret = cJSON_IsTrue(secret) ||
				    (f->refused && f->note &&
				     strstr(f->note, "value of secret"));
			if (k == 0)
				t->nr_added++;
			else if (k == 1)
				t->nr_modified++;
			else
				t->nr_deleted++;
			if (f->refused)
				t->nr_refused++;
		}
	}
	if (t->nr_files)
		qsort(t->files, t->nr_files, sizeof(*t->files), file_cmp);
	cJSON_Delete(root);
	strbuf_release(&name);
	free(path);
	return 0;
}

/* The next line of buf from *pos (without its '\n'), or NULL at the end. */
static const char *next_line(const struct strbuf *buf, size_t *pos,
			     size_t *len)
{
	const char *s = buf->buf + *pos, *nl;
	if (*pos >= buf->len)
		return NULL;
	nl = memchr(s, '\n', buf->len - *pos);
	*len = nl ? (size_t)(nl - s) : buf->len - *pos;
	*pos += *len + (nl ? 1 : 0);
	return s;
}

/* The name in a "--- a/NAME" or "+++ b/NAME" label (a tab may end it). */
static char *label_name(const char *s, size_t len)
{
	s += 4, len -= 4;
	if (len >= 2 && (s[0] == 'a' || s[0] == 'b') && s[1] == '/')
		s += 2, len -= 2;
	if (len && s[len - 1] == '\t')
		len--;
	return xstrndup(s, len);
}

static void keep_line(struct review_file *f, long *kept, const char *s,
		      size_t len)
{
	if (*kept < REVIEW_DIFF_LINES) {
		strbuf_add(&f->diff, s, len);
		strbuf_addch(&f->diff, '\n');
		(*kept)++;
	} else {
		f->diff_cut++;
	}
}

static bool parse_range(const char *s, long *start, long *len)
{
	char *end;
	*start = strtol(s, &end, 10);
	*len = 1;
	if (end == s)
		return false;
	if (*end == ',')
		*len = strtol(end + 1, &end, 10);
	return true;
}

static bool starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len > n && !memcmp(s, prefix, n);
}

/*
 * A comment ("# NAME: what", NAME quoted or not) or diff's notice on a
 * binary file: noted on the file it is about.
 */
static void line_about(struct review_task *t, const char *s, size_t len)
{
	for (size_t i = 0; i < t->nr_files; i++) {
		struct review_file *f = &t->files[i];
		char *q = quote_path_dup(f->path);
		char *forms[5] = {
			xstrfmt("# %s: ", q),
			xstrfmt("# %s: ", f->path),
			xstrfmt("Binary files a/%s and b/%s differ", f->path,
				f->path),
			xstrfmt("Binary files /dev/null and b/%s differ",
				f->path),
			xstrfmt("Binary files a/%s and /dev/null differ",
				f->path),
		};
		bool hit = false;

		for (int k = 0; k < 5 && !hit; k++) {
			size_t n = strlen(forms[k]);
			if (k < 2 && starts(s, len, forms[k])) {
				if (!f->patch_note)
					f->patch_note =
						xstrndup(s + n, len - n);
				hit = true;
			} else if (k >= 2 && n == len &&
				   !memcmp(s, forms[k], n)) {
				f->binary = hit = true;
			}
		}
		for (int k = 0; k < 5; k++)
			free(forms[k]);
		free(q);
		if (hit)
			return;
	}
}

/*
 * changes.patch into each file's section: a header (---, +++) and its
 * hunks, each hunk exactly as long as its @@ line says, so that a line
 * of content that looks like a header ("--- x" deleted) stays content.
 */
static void load_patch(struct review_task *t, const char *dir)
{
	char *path = fs_join(dir, "changes.patch");
	struct strbuf text;
	size_t pos = 0, len, len2, save = 0;
	const char *s, *s2;
	struct review_file *f = NULL;
	long kept = 0;

	strbuf_init_capped(&text, PATCH_READ_MAX);
	if (strbuf_read_file(&text, path) < 0) {
		if (errno != ENOENT)
			strvec_push(&t->notes, "changes.patch cannot be read");
		goto out;
	}
	while ((s = next_line(&text, &pos, &len))) {
		long os, ol, ns, nl;
		char *name;

		if (len > 4 && !strncmp(s, "--- ", 4) &&
		    (save = pos, s2 = next_line(&text, &pos, &len2)) &&
		    len2 > 4 && !strncmp(s2, "+++ ", 4)) {
			bool added = len == 13 &&
				     !strncmp(s, "--- /dev/null", 13);
			name = added ? label_name(s2, len2)
				     : label_name(s, len);
			f = find_file(t, name);
			free(name);
			kept = 0;
			if (f) {
				f->in_patch = true;
				keep_line(f, &kept, s, len);
				keep_line(f, &kept, s2, len2);
			}
			continue;
		} else if (len > 4 && !strncmp(s, "--- ", 4)) {
			pos = save;
		}
		if (len > 3 && !strncmp(s, "@@ -", 4) &&
		    parse_range(s + 4, &os, &ol)) {
			const char *plus = memchr(s, '+', len);
			if (!plus || !parse_range(plus + 1, &ns, &nl))
				continue;
			if (f) {
				ALLOC_GROW(f->hunks, f->nr_hunks + 1,
					   f->alloc_hunks);
				f->hunks[f->nr_hunks].start = ol ? os : os + 1;
				f->hunks[f->nr_hunks].len = ol;
				f->nr_hunks++;
				keep_line(f, &kept, s, len);
			}
			while ((ol > 0 || nl > 0) &&
			       (s = next_line(&text, &pos, &len))) {
				char c = len ? s[0] : ' ';
				if (c == '\\') {
					if (f)
						keep_line(f, &kept, s, len);
					continue;
				}
				if (c != '+')
					ol--;
				if (c != '-')
					nl--;
				if (f) {
					f->ins += c == '+';
					f->del += c == '-';
					keep_line(f, &kept, s, len);
				}
			}
			/* A last line's "\ No newline" after the counts. */
			save = pos;
			if ((s = next_line(&text, &pos, &len)) && len &&
			    s[0] == '\\') {
				if (f)
					keep_line(f, &kept, s, len);
			} else {
				pos = save;
			}
			continue;
		}
		if (len && (s[0] == '#' || !strncmp(s, "Binary files ", 13))) {
			f = NULL;
			line_about(t, s, len);
		}
	}
	for (size_t i = 0; i < t->nr_files; i++) {
		t->ins += t->files[i].ins;
		t->del += t->files[i].del;
	}
out:
	strbuf_release(&text);
	free(path);
}

/* The Bash commands of a Claude stream (stream-json) in output.log. */
static void stream_tests(struct review_task *t, const char *dir)
{
	char *path = fs_join(dir, "output.log");
	FILE *in = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0, total = 0;
	ssize_t n;

	while (in && !t->tests && (n = getline(&line, &cap, in)) > 0 &&
	       (total += (size_t)n) < LOG_READ_MAX) {
		cJSON *o, *content, *c;
		if ((size_t)n > LOG_LINE_MAX || !strstr(line, "tool_use"))
			continue;
		o = cJSON_Parse(line);
		content = cJSON_GetObjectItem(
			cJSON_GetObjectItem(o, "message"), "content");
		cJSON_ArrayForEach(c, content)
		{
			const char *name = cJSON_GetStringValue(
				cJSON_GetObjectItem(c, "name"));
			const char *cmd =
				cJSON_GetStringValue(cJSON_GetObjectItem(
					cJSON_GetObjectItem(c, "input"),
					"command"));
			if (!t->tests && name && !strcmp(name, "Bash") && cmd)
				review_runs_tests(cmd, &t->tests);
		}
		cJSON_Delete(o);
	}
	free(line);
	if (in)
		fclose(in);
	free(path);
}

static bool area_of(const char *path, struct strbuf *out)
{
	const char *slash = strchr(path, '/');
	strbuf_reset(out);
	if (slash)
		strbuf_add(out, path, (size_t)(slash - path));
	else
		strbuf_addch(out, '.');
	return true;
}

/* The usual area: where the task changed files in earlier runs. */
static int load_area(struct store *st, const struct review *r,
		     struct review_task *t, struct strbuf *err)
{
	struct strvec ids = STRVEC_INIT;
	struct strbuf area = STRBUF_INIT;

	if (store_runs_earlier(st, r->run_id, t->id, REVIEW_HISTORY, &ids,
			       err) < 0)
		return -1;
	for (size_t i = 0; i < ids.nr; i++) {
		struct review_task old = { 0 };
		char *dir = xstrfmt("%s/runs/%s/tasks/%s", store_dir(st),
				    ids.v[i], t->id);
		strvec_init(&old.notes);
		if (!load_changes(&old, dir) && old.nr_files) {
			t->area_runs++;
			for (size_t k = 0; k < old.nr_files; k++) {
				area_of(old.files[k].path, &area);
				if (strvec_find(&t->area, area.buf) < 0)
					strvec_push(&t->area, area.buf);
			}
		}
		for (size_t k = 0; k < old.nr_files; k++) {
			free(old.files[k].path);
			free(old.files[k].type);
			free(old.files[k].note);
			strbuf_release(&old.files[k].diff);
		}
		free(old.files);
		strvec_clear(&old.notes);
		free(dir);
	}
	for (size_t k = 0; t->area.nr && k < t->nr_files; k++) {
		area_of(t->files[k].path, &area);
		t->files[k].outside = strvec_find(&t->area, area.buf) < 0;
	}
	strvec_clear(&ids);
	strbuf_release(&area);
	return 0;
}

static void set_flags(struct review_task *t)
{
	for (size_t i = 0; i < t->nr_files; i++) {
		const struct review_file *f = &t->files[i];
		if (f->outside)
			t->flags |= REVIEW_FLAG_OUTSIDE;
		if (f->refused)
			t->flags |= REVIEW_FLAG_REFUSED;
		if (f->secret)
			t->flags |= REVIEW_FLAG_SECRET;
	}
	if (t->nr_deleted >= REVIEW_LARGE_FILES ||
	    t->del - t->ins >= REVIEW_LARGE_LINES)
		t->flags |= REVIEW_FLAG_LARGE_DELETION;
	if (t->nr_files && !t->tests)
		t->flags |= REVIEW_FLAG_NO_TESTS;
}

/* ---- conflicts ---- */

static bool hunks_meet(const struct review_file *x,
		       const struct review_file *y, long *at0, long *at1)
{
	for (size_t i = 0; i < x->nr_hunks; i++)
		for (size_t j = 0; j < y->nr_hunks; j++) {
			long a0 = x->hunks[i].start,
			     a1 = a0 + (x->hunks[i].len ? x->hunks[i].len : 1);
			long b0 = y->hunks[j].start,
			     b1 = b0 + (y->hunks[j].len ? y->hunks[j].len : 1);
			if (a0 < b1 && b0 < a1) {
				*at0 = a0 > b0 ? a0 : b0;
				*at1 = (a1 < b1 ? a1 : b1) - 1;
				return true;
			}
		}
	return false;
}

static void judge(struct review_conflict *c, const struct review_file *x,
		  const struct review_file *y)
{
	long at0, at1;

	c->overlap = true;
	if (x->kind == y->kind &&
	    (x->kind == 'D' || (*x->sha && !strcmp(x->sha, y->sha)))) {
		c->same = true;
		c->overlap = false;
		c->why = xstrdup(x->kind == 'D'
					 ? "both delete it"
					 : "both leave the same content");
	} else if (x->kind == 'A' && y->kind == 'A') {
		c->why = xstrdup("both add it");
	} else if (x->kind == 'D' || y->kind == 'D') {
		c->why = xstrdup("one deletes it, the other changes it");
	} else if (x->kind != y->kind) {
		c->why = xstrdup("one adds it, the other changes it");
	} else if (!*x->base || strcmp(x->base, y->base)) {
		c->why = xstrdup("they started from different versions");
	} else if (!x->nr_hunks || !y->nr_hunks) {
		c->why = xstrdup("no diff to compare (binary, or not diffed)");
	} else if (hunks_meet(x, y, &at0, &at1)) {
		c->why = at0 == at1 ? xstrfmt("hunks overlap at line %ld", at0)
				    : xstrfmt("hunks overlap at lines %ld-%ld",
					      at0, at1);
	} else {
		c->overlap = false;
		c->why = xstrdup("different hunks of it");
	}
}

static void find_conflicts(struct review *r)
{
	for (size_t a = 0; a < r->nr_tasks; a++)
		for (size_t b = a + 1; b < r->nr_tasks; b++) {
			const struct review_task *x = &r->tasks[a];
			const struct review_task *y = &r->tasks[b];
			size_t i = 0, j = 0;
			while (i < x->nr_files && j < y->nr_files) {
				int cmp = strcmp(x->files[i].path,
						 y->files[j].path);
				struct review_conflict *c;
				if (cmp < 0) {
					i++;
					continue;
				}
				if (cmp > 0) {
					j++;
					continue;
				}
				ALLOC_GROW(r->conflicts, r->nr_conflicts + 1,
					   r->alloc_conflicts);
				c = &r->conflicts[r->nr_conflicts++];
				memset(c, 0, sizeof(*c));
				c->a = a;
				c->b = b;
				c->path = xstrdup(x->files[i].path);
				judge(c, &x->files[i], &y->files[j]);
				if (!c->same) {
					r->tasks[a].flags |=
						REVIEW_FLAG_CONFLICT;
					r->tasks[b].flags |=
						REVIEW_FLAG_CONFLICT;
				}
				i++;
				j++;
			}
		}
}

bool review_conflicting(const struct review *r, size_t a, size_t b,
			bool overlap_only)
{
	for (size_t i = 0; i < r->nr_conflicts; i++) {
		const struct review_conflict *c = &r->conflicts[i];
		if (((c->a == a && c->b == b) || (c->a == b && c->b == a)) &&
		    !c->same && (!overlap_only || c->overlap))
			return true;
	}
	return false;
}

/* ---- loading ---- */

static int add_task(const struct store_task *row, void *data)
{
	struct review *r = data;
	struct review_task *t;

	ALLOC_GROW(r->tasks, r->nr_tasks + 1, r->alloc_tasks);
	t = &r->tasks[r->nr_tasks++];
	memset(t, 0, sizeof(*t));
	strvec_init(&t->area);
	strvec_init(&t->notes);
	t->id = xstrdup(row->id ? row->id : "");
	t->status = row->status ? xstrdup(row->status) : NULL;
	t->reason = row->reason ? xstrdup(row->reason) : NULL;
	t->cost_usd = row->cost_usd;
	return 0;
}

int review_load(struct store *st, const char *run_id, struct review *r,
		struct strbuf *err)
{
	struct store_run run;
	struct strbuf msg = STRBUF_INIT, errors = STRBUF_INIT;
	struct plan *plan = NULL;
	char *plan_path = NULL;
	int rc, ret = -1;

	memset(r, 0, sizeof(*r));
	r->run_id = xstrdup(run_id);
	rc = store_runs_get(st, run_id, &run, &msg);
	if (rc <= 0) {
		if (rc < 0)
			strbuf_addf(err, "cannot read the run: %s", msg.buf);
		else
			strbuf_addf(err, "no run '%s' in this state", run_id);
		goto out;
	}
	r->plan_name = run.plan_name ? xstrdup(run.plan_name) : NULL;
	r->status = run.status ? xstrdup(run.status) : NULL;
	store_run_release(&run);
	if (store_runs_tasks(st, run_id, add_task, r, &msg) < 0) {
		strbuf_addf(err, "cannot read the run: %s", msg.buf);
		goto out;
	}
	/* The plan as it was run: each task's run: line. */
	plan_path = xstrfmt("%s/runs/%s/plan.yaml", store_dir(st), run_id);
	if (plan_load(plan_path, &plan, &errors) < 0)
		plan = NULL;
	for (size_t i = 0; i < r->nr_tasks; i++) {
		struct review_task *t = &r->tasks[i];
		char *dir = xstrfmt("%s/runs/%s/tasks/%s", store_dir(st),
				    run_id, t->id);
		const struct plan_task *pt = plan ? plan_find_task(plan, t->id)
						  : NULL;

		load_result(t, dir);
		load_changes(t, dir);
		load_patch(t, dir);
		if (pt && pt->run)
			review_runs_tests(pt->run, &t->tests);
		else if (pt && pt->agent)
			stream_tests(t, dir);
		free(dir);
		if (load_area(st, r, t, &msg) < 0) {
			strbuf_addf(err, "cannot read the run: %s", msg.buf);
			goto out;
		}
		set_flags(t);
	}
	find_conflicts(r);
	ret = 0;
out:
	plan_free(plan);
	free(plan_path);
	strbuf_release(&msg);
	strbuf_release(&errors);
	return ret;
}

void review_release(struct review *r)
{
	for (size_t i = 0; i < r->nr_tasks; i++) {
		struct review_task *t = &r->tasks[i];
		for (size_t k = 0; k < t->nr_files; k++) {
			struct review_file *f = &t->files[k];
			free(f->path);
			free(f->type);
			free(f->note);
			free(f->patch_note);
			strbuf_release(&f->diff);
			free(f->hunks);
		}
		free(t->files);
		free(t->id);
		free(t->status);
		free(t->reason);
		free(t->cost_source);
		free(t->summary);
		free(t->model);
		free(t->tests);
		strvec_clear(&t->area);
		strvec_clear(&t->notes);
	}
	free(r->tasks);
	for (size_t i = 0; i < r->nr_conflicts; i++) {
		free(r->conflicts[i].path);
		free(r->conflicts[i].why);
	}
	free(r->conflicts);
	free(r->run_id);
	free(r->plan_name);
	free(r->status);
	memset(r, 0, sizeof(*r));
}
