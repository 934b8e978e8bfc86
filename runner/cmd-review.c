/*
 * runner review [RUN] [--no-diff] [--json]: every task of a run in one place,
 * for the person who decides on a night's work (review.h), then the files that
 * two tasks both changed. Whatever came from a task (names, reason, summary,
 * diff lines) is printed through quote.h: one line stays one line, and no
 * escape sequence reaches the terminal.
 */
#include "runner.h"
#include "cmd.h"
#include "cmd-opt.h"
#include "quote.h"
#include "review.h"
#include "runref.h"
#include "store.h"

#include <cJSON.h>
#include <stdio.h>

/* Lines of an agent's summary shown; the rest is in result.json. */
#define SUMMARY_LINES 20
/* Lines of a deleted file's diff shown (header and hunk line included). */
#define DELETED_LINES 8

static void put_text(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	quote_text(&sb, s, strlen(s), 0);
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
}

static void put_path(const char *s)
{
	char *q = quote_path_dup(s);
	fputs(q, stdout);
	free(q);
}

/* Each line of s after indent, escaped; at most max lines. */
static void put_lines(const char *indent, const char *s, size_t len, long max)
{
	struct strbuf sb = STRBUF_INIT;
	long n = 0, more = 0;

	for (const char *p = s; p < s + len;) {
		const char *nl = memchr(p, '\n', (size_t)(s + len - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(s + len - p);
		if (max < 0 || n < max) {
			strbuf_reset(&sb);
			quote_text(&sb, p, l, QUOTE_KEEP_LINES);
			printf("%s%s\n", indent, sb.buf);
			n++;
		} else {
			more++;
		}
		p += l + 1;
	}
	if (more)
		printf("%s... %ld more line%s\n", indent, more,
		       more == 1 ? "" : "s");
	strbuf_release(&sb);
}

static void put_flags(unsigned flags)
{
	bool first = true;
	for (int i = 0; i < REVIEW_NR_FLAGS; i++)
		if (flags & (1u << i)) {
			printf("%s%s", first ? "" : ", ",
			       review_flag_name(1u << i));
			first = false;
		}
	if (first)
		printf("none");
}

static void put_file(const struct review_file *f)
{
	printf("  %c ", f->kind);
	put_path(f->path);
	if (f->ins || f->del)
		printf("  +%ld -%ld", f->ins, f->del);
	if (f->binary)
		printf("  (binary)");
	if (f->type && strcmp(f->type, "file")) {
		printf("  (");
		put_text(f->type);
		printf(")");
	}
	if (f->refused) {
		printf("  refused: ");
		put_text(f->note ? f->note : "not pulled back");
	} else if (!f->pulled) {
		printf("  not pulled: ");
		put_text(f->note ? f->note : "not pulled back");
	} else if (f->patch_note) {
		printf("  (");
		put_text(f->patch_note);
		printf(")");
	}
	if (f->outside)
		printf("  [outside-area]");
	printf("\n");
}

static void put_task(const struct review *r, size_t i, bool diffs)
{
	const struct review_task *t = &r->tasks[i];

	printf("== ");
	put_text(t->id);
	printf(" ");
	put_text(t->status ? t->status : "?");
	if (t->reason && *t->reason) {
		printf(": ");
		put_text(t->reason);
	}
	printf("\n");
	printf("flags: ");
	put_flags(t->flags);
	printf("\n");
	printf("cost: $%.4f", t->cost_usd);
	if (t->cost_source) {
		printf(" (");
		put_text(t->cost_source);
		printf(")");
	}
	if (t->has_tokens)
		printf("; tokens: %lld in, %lld out, %lld cache read, %lld "
		       "cache write",
		       t->tok_in, t->tok_out, t->tok_cache_read,
		       t->tok_cache_write);
	printf("\n");
	if (t->summary && *t->summary) {
		printf("summary:\n");
		put_lines("  | ", t->summary, strlen(t->summary),
			  SUMMARY_LINES);
	} else {
		printf("summary: none\n");
	}
	printf("tests: ");
	if (t->tests) {
		printf("ran (");
		put_text(t->tests);
		printf(")\n");
	} else {
		printf("none seen\n");
	}
	if (t->area.nr) {
		printf("usual area (%zu earlier run%s):", t->area_runs,
		       t->area_runs == 1 ? "" : "s");
		for (size_t k = 0; k < t->area.nr; k++) {
			printf(" ");
			put_path(t->area.v[k]);
		}
		printf("\n");
	}
	for (size_t k = 0; k < t->notes.nr; k++)
		printf("note: %s\n", t->notes.v[k]);
	if (!t->has_changes) {
		printf("changes: none recorded\n\n");
		return;
	}
	printf("changes: %zu added, %zu modified, %zu deleted, %zu refused; "
	       "+%ld -%ld lines\n",
	       t->nr_added, t->nr_modified, t->nr_deleted, t->nr_refused,
	       t->ins, t->del);
	for (size_t k = 0; k < t->nr_files; k++)
		put_file(&t->files[k]);
	for (size_t k = 0; diffs && k < t->nr_files; k++) {
		const struct review_file *f = &t->files[k];
		if (!f->diff.len)
			continue;
		/* A deleted file's every line is no news: its head only. */
		put_lines("    ", f->diff.buf, f->diff.len,
			  f->kind == 'D' ? DELETED_LINES : -1);
		if (f->diff_cut)
			printf("    ... %ld more line%s in changes.patch\n",
			       f->diff_cut, f->diff_cut == 1 ? "" : "s");
	}
	printf("\n");
}

/* The tasks that share a file with another, and the matrix of them. */
static void put_conflicts(const struct review *r)
{
	bool *in = xcalloc(r->nr_tasks ? r->nr_tasks : 1, sizeof(*in));
	size_t n = 0,
	       *idx = xcalloc(r->nr_tasks ? r->nr_tasks : 1, sizeof(*idx));

	for (size_t i = 0; i < r->nr_conflicts; i++)
		in[r->conflicts[i].a] = in[r->conflicts[i].b] = true;
	for (size_t i = 0; i < r->nr_tasks; i++)
		if (in[i])
			idx[n++] = i;
	if (!n) {
		printf("conflicts: none (no two tasks changed the same "
		       "file)\n");
		goto out;
	}
	printf("conflicts: tasks that changed the same files\n");
	printf("     ");
	for (size_t c = 0; c < n; c++)
		printf(" %2zu", c + 1);
	printf("\n");
	for (size_t row = 0; row < n; row++) {
		printf("  %2zu ", row + 1);
		for (size_t c = 0; c < n; c++) {
			const char *cell = " .";
			if (row == c)
				cell = " -";
			else if (review_conflicting(r, idx[row], idx[c], true))
				cell = " X";
			else if (review_conflicting(r, idx[row], idx[c],
						    false))
				cell = " ~";
			else
				for (size_t k = 0; k < r->nr_conflicts; k++) {
					const struct review_conflict *x =
						&r->conflicts[k];
					if ((x->a == idx[row] &&
					     x->b == idx[c]) ||
					    (x->b == idx[row] &&
					     x->a == idx[c]))
						cell = " =";
				}
			printf(" %s", cell);
		}
		printf("  ");
		put_text(r->tasks[idx[row]].id);
		printf("\n");
	}
	printf("  X overlapping changes, ~ the same files, other hunks, = "
	       "the same change\n");
	for (size_t i = 0; i < r->nr_conflicts; i++) {
		const struct review_conflict *c = &r->conflicts[i];
		printf("  ");
		put_text(r->tasks[c->a].id);
		printf(" and ");
		put_text(r->tasks[c->b].id);
		printf(": ");
		put_path(c->path);
		printf(": %s (%s)\n",
		       c->same	    ? "same change"
		       : c->overlap ? "overlap"
				    : "same file",
		       c->why);
	}
out:
	free(in);
	free(idx);
}

static int put_json(const struct review *r, bool diffs)
{
	cJSON *o = review_json(r, diffs);
	char *text = cJSON_Print(o);

	cJSON_Delete(o);
	if (!text)
		die("out of memory");
	puts(text);
	cJSON_free(text);
	if (fflush(stdout)) {
		error("cannot write to standard output: %s", strerror(errno));
		return RUNNER_EXIT_RUNTIME;
	}
	return RUNNER_EXIT_OK;
}

int cmd_review(int argc, char **argv, const struct cmd_entry *cmd)
{
	const char *usage = cmd->usage, *state = NULL;
	struct store *st = NULL;
	struct strbuf err = STRBUF_INIT;
	struct review r;
	bool no_diff = false, json = false;
	char *id = NULL;
	size_t changed = 0, flagged = 0;
	int ret;
	const struct opt options[] = {
		OPT_BOOL(0, "no-diff", &no_diff,
			 "list the changed files without their diffs"),
		OPT_BOOL(0, "json", &json,
			 "print the review as one JSON object"),
		OPT_STATE(&state),
		OPT_END(),
	};

	memset(&r, 0, sizeof(r));
	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		return ret;
	if (argc - optind > 1)
		return usage_error(usage, "review takes at most one RUN");
	if ((ret = cmd_open_state_read(state, &st)))
		return ret;
	ret = RUNNER_EXIT_RUNTIME;
	if (runref_resolve(st, optind < argc ? argv[optind] : "last", &id,
			   &err) < 0) {
		error("%s", err.buf);
		goto out;
	}
	if (review_load(st, id, &r, &err) < 0) {
		error("cannot review run %s: %s", id, err.buf);
		goto out;
	}
	if (json) {
		ret = put_json(&r, !no_diff);
		goto out;
	}
	for (size_t i = 0; i < r.nr_tasks; i++) {
		changed += r.tasks[i].nr_files > 0;
		flagged += r.tasks[i].flags != 0;
	}
	printf("run %s", id);
	if (r.plan_name) {
		printf(" of plan ");
		put_text(r.plan_name);
	}
	printf(": ");
	put_text(r.status ? r.status : "?");
	printf("; %zu task%s, %zu with changes, %zu flagged\n\n", r.nr_tasks,
	       r.nr_tasks == 1 ? "" : "s", changed, flagged);
	for (size_t i = 0; i < r.nr_tasks; i++)
		put_task(&r, i, !no_diff);
	put_conflicts(&r);
	if (fflush(stdout)) {
		error("cannot write to standard output: %s", strerror(errno));
		goto out;
	}
	ret = RUNNER_EXIT_OK;
out:
	review_release(&r);
	free(id);
	strbuf_release(&err);
	store_close(st);
	return ret;
}
