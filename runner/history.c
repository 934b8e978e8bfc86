#include "runner.h"
#include "history.h"
#include "quote.h"
#include "report.h"
#include "store-runs.h"
#include "timeutil.h"

/* ---- loading ---- */

struct raw_task {
	char *id, *status;
	bool has_dur;
	int64_t dur_ms;
	double cost_usd;
};

/* One run's tasks as the store gives them (plan order). */
struct raw_run {
	struct raw_task *tasks;
	size_t nr, alloc;
};

struct loader {
	struct history *h;
	struct raw_run *raw; /* beside h->runs, newest first while loading */
	size_t alloc_runs, alloc_raw;
};

static int add_run(const struct store_run *r, void *data)
{
	struct loader *l = data;
	struct history *h = l->h;
	struct history_run *x;

	ALLOC_GROW(h->runs, h->nr_runs + 1, l->alloc_runs);
	ALLOC_GROW(l->raw, h->nr_runs + 1, l->alloc_raw);
	x = &h->runs[h->nr_runs];
	memset(x, 0, sizeof(*x));
	memset(&l->raw[h->nr_runs], 0, sizeof(l->raw[0]));
	x->id = xstrdup(r->id ? r->id : "?");
	x->status = xstrdup(r->status ? r->status : "?");
	x->started_at = r->started_at;
	x->ended_at = r->ended_at;
	x->has_end = r->has_end;
	x->tasks_total = r->tasks_total;
	x->tasks_succeeded = r->tasks_succeeded;
	h->nr_runs++;
	return 0;
}

static int add_task(const struct store_task *t, void *data)
{
	struct raw_run *rr = data;
	struct raw_task *x;

	ALLOC_GROW(rr->tasks, rr->nr + 1, rr->alloc);
	x = &rr->tasks[rr->nr++];
	x->id = xstrdup(t->id ? t->id : "?");
	x->status = xstrdup(t->status ? t->status : "?");
	x->has_dur = t->has_start && t->has_end &&
		     t->ended_at >= t->started_at;
	x->dur_ms = x->has_dur ? t->ended_at - t->started_at : 0;
	x->cost_usd = t->cost_usd;
	return 0;
}

static long find_task(const struct history *h, const char *id)
{
	for (size_t i = 0; i < h->nr_tasks; i++)
		if (!strcmp(h->tasks[i].id, id))
			return (long)i;
	return -1;
}

/* 1 succeeded, -1 a failure of the task's own, 0 no verdict. */
static int verdict(const char *status)
{
	if (!strcmp(status, "succeeded"))
		return 1;
	if (!strcmp(status, "failed") || !strcmp(status, "timed_out") ||
	    !strcmp(status, "lost"))
		return -1;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Flips, failures, medians and outliers of task i. */
static void analyse(struct history *h, size_t i)
{
	struct history_task *t = &h->tasks[i];
	int64_t *durs = xcalloc(h->nr_runs, sizeof(*durs));
	double *costs = xcalloc(h->nr_runs, sizeof(*costs));
	size_t nd = 0, nc = 0;
	int last = 0;

	for (size_t r = 0; r < h->nr_runs; r++) {
		const struct history_cell *c = history_cell(h, i, r);
		int v;
		if (!c->present)
			continue;
		v = verdict(c->status);
		if (v < 0)
			t->nr_failed++;
		if (v && last && v != last)
			t->flips++;
		if (v)
			last = v;
		if (c->has_dur)
			durs[nd++] = c->dur_ms;
		costs[nc++] = c->cost_usd;
	}
	t->flaky = t->flips >= 2;
	h->nr_flaky += t->flaky;
	t->median_ms = -1;
	if (nd) {
		qsort(durs, nd, sizeof(*durs), cmp_i64);
		t->median_ms = nd % 2 ? durs[nd / 2]
				      : (durs[nd / 2 - 1] + durs[nd / 2]) / 2;
	}
	if (nc) {
		qsort(costs, nc, sizeof(*costs), cmp_double);
		t->median_cost =
			nc % 2 ? costs[nc / 2]
			       : (costs[nc / 2 - 1] + costs[nc / 2]) / 2;
	}
	for (size_t r = 0; r < h->nr_runs; r++) {
		struct history_cell *c = &h->cells[i * h->nr_runs + r];
		if (!c->present)
			continue;
		c->slow = c->has_dur && t->median_ms > 0 &&
			  (double)c->dur_ms > HISTORY_OUTLIER_FACTOR *
						      (double)t->median_ms &&
			  c->dur_ms - t->median_ms >= HISTORY_OUTLIER_MIN_MS;
		c->costly = t->median_cost > 0 &&
			    c->cost_usd >
				    HISTORY_OUTLIER_FACTOR * t->median_cost &&
			    c->cost_usd - t->median_cost >=
				    HISTORY_OUTLIER_MIN_USD;
		h->nr_outliers += c->slow + c->costly;
	}
	free(durs);
	free(costs);
}

int history_load(struct store *st, const char *plan_name, int last,
		 struct history *h, struct strbuf *err)
{
	struct loader l = { .h = h };
	size_t alloc_tasks = 0;
	int ret = -1;

	memset(h, 0, sizeof(*h));
	h->plan = xstrdup(plan_name);
	if (store_runs_of_plan(st, plan_name, last, add_run, &l, err) < 0)
		goto out;
	for (size_t r = 0; r < h->nr_runs; r++) {
		if (store_runs_tasks(st, h->runs[r].id, add_task, &l.raw[r],
				     err) < 0)
			goto out;
	}
	/* Newest first: the newest run's plan order leads. */
	for (size_t r = 0; r < h->nr_runs; r++) {
		for (size_t j = 0; j < l.raw[r].nr; j++) {
			if (find_task(h, l.raw[r].tasks[j].id) >= 0)
				continue;
			ALLOC_GROW(h->tasks, h->nr_tasks + 1, alloc_tasks);
			memset(&h->tasks[h->nr_tasks], 0, sizeof(h->tasks[0]));
			h->tasks[h->nr_tasks++].id =
				xstrdup(l.raw[r].tasks[j].id);
		}
	}
	/* Oldest first from here on, as the grid reads. */
	for (size_t a = 0, b = h->nr_runs; a + 1 < b; a++, b--) {
		struct history_run tr = h->runs[a];
		struct raw_run rr = l.raw[a];
		h->runs[a] = h->runs[b - 1];
		h->runs[b - 1] = tr;
		l.raw[a] = l.raw[b - 1];
		l.raw[b - 1] = rr;
	}
	h->cells = xcalloc(h->nr_tasks * h->nr_runs + 1, sizeof(*h->cells));
	for (size_t r = 0; r < h->nr_runs; r++) {
		for (size_t j = 0; j < l.raw[r].nr; j++) {
			struct raw_task *x = &l.raw[r].tasks[j];
			size_t i = (size_t)find_task(h, x->id);
			struct history_cell *c = &h->cells[i * h->nr_runs + r];
			c->present = true;
			c->status = x->status;
			x->status = NULL;
			c->has_dur = x->has_dur;
			c->dur_ms = x->dur_ms;
			c->cost_usd = x->cost_usd;
			h->runs[r].cost_usd += x->cost_usd;
		}
	}
	for (size_t i = 0; i < h->nr_tasks; i++)
		analyse(h, i);
	ret = 0;
out:
	for (size_t r = 0; r < h->nr_runs; r++) {
		for (size_t j = 0; j < l.raw[r].nr; j++) {
			free(l.raw[r].tasks[j].id);
			free(l.raw[r].tasks[j].status);
		}
		free(l.raw[r].tasks);
	}
	free(l.raw);
	return ret;
}

void history_release(struct history *h)
{
	for (size_t r = 0; r < h->nr_runs; r++) {
		free(h->runs[r].id);
		free(h->runs[r].status);
	}
	if (h->cells)
		for (size_t i = 0; i < h->nr_tasks * h->nr_runs; i++)
			free(h->cells[i].status);
	for (size_t i = 0; i < h->nr_tasks; i++)
		free(h->tasks[i].id);
	free(h->runs);
	free(h->tasks);
	free(h->cells);
	free(h->plan);
	memset(h, 0, sizeof(*h));
}

/* ---- the terminal ---- */

struct status_look {
	const char *status, *letter, *ansi, *label;
};

static const struct status_look looks[] = {
	{ "succeeded", "ok", "32", "succeeded" },
	{ "failed", "F", "31;1", "failed" },
	{ "timed_out", "T", "33;1", "timed out" },
	{ "lost", "L", "35", "lost" },
	{ "cancelled", "C", "90", "cancelled" },
	{ "skipped", "s", "90", "skipped" },
	{ "running", "R", "34", "running" },
	{ "queued", "q", "90", "queued" },
	{ "interrupted", "I", "90", "interrupted" },
	{ "error", "E", "31", "error" },
};
static const struct status_look other_look = { "other", "?", "90", "other" };

static const struct status_look *look(const char *status)
{
	for (size_t i = 0; status && i < ARRAY_SIZE(looks); i++)
		if (!strcmp(status, looks[i].status))
			return &looks[i];
	return &other_look;
}

static void add_cell_text(struct strbuf *out, const struct history_cell *c,
			  int cw, bool colour)
{
	const struct status_look *lk;
	char cell[8];

	if (!c->present) {
		strbuf_addf(out, " %-*s", cw, ".");
		return;
	}
	lk = look(c->status);
	snprintf(cell, sizeof(cell), "%s%s", lk->letter,
		 c->slow || c->costly ? "!" : "");
	if (colour)
		strbuf_addf(out, " \033[%sm%-*s\033[0m", lk->ansi, cw, cell);
	else
		strbuf_addf(out, " %-*s", cw, cell);
}

static void add_cost(struct strbuf *out, double usd)
{
	strbuf_addf(out, "$%.4f", usd);
}

void history_format_text(const struct history *h, bool colour,
			 struct strbuf *out)
{
	size_t w = 4;
	int cw = snprintf(NULL, 0, "#%zu", h->nr_runs);
	char *plan = quote_text_dup(h->plan);

	if (!h->nr_runs) {
		strbuf_addf(out, "plan '%s' has no runs in this state\n",
			    plan);
		free(plan);
		return;
	}
	strbuf_addf(out,
		    "history of plan '%s': the last %zu run%s, oldest "
		    "first\n\n",
		    plan, h->nr_runs, h->nr_runs == 1 ? "" : "s");
	free(plan);
	for (size_t i = 0; i < h->nr_tasks; i++)
		if (strlen(h->tasks[i].id) > w)
			w = strlen(h->tasks[i].id);
	strbuf_addf(out, "%-*s", (int)w, "TASK");
	if (cw < 3)
		cw = 3;
	for (size_t r = 0; r < h->nr_runs; r++) {
		char n[24];
		snprintf(n, sizeof(n), "#%zu", r + 1);
		strbuf_addf(out, " %-*s", cw, n);
	}
	strbuf_rtrim(out);
	strbuf_addstr(out, "\n");
	for (size_t i = 0; i < h->nr_tasks; i++) {
		const struct history_task *t = &h->tasks[i];
		char *id = quote_text_dup(t->id);
		strbuf_addf(out, "%-*s", (int)w, id);
		free(id);
		for (size_t r = 0; r < h->nr_runs; r++)
			add_cell_text(out, history_cell(h, i, r), cw, colour);
		if (t->flaky)
			strbuf_addf(out, "  flaky (%d flips)", t->flips);
		strbuf_rtrim(out);
		strbuf_addstr(out, "\n");
	}
	strbuf_addstr(out, "\nok succeeded, F failed, T timed out, L lost, "
			   "C cancelled, s skipped, R running, . not in that "
			   "run; ! an outlier\n\n");
	strbuf_addf(out, "%-4s %-22s %-21s %-11s %-8s %-9s %s\n", "#", "RUN",
		    "STARTED", "STATUS", "OK/TASKS", "DURATION", "COST");
	for (size_t r = 0; r < h->nr_runs; r++) {
		const struct history_run *x = &h->runs[r];
		char when[40], dur[32];
		char *id = quote_text_dup(x->id);
		char *status = quote_text_dup(x->status);
		char okt[32];
		time_human_utc(x->started_at, when, sizeof(when));
		if (x->has_end)
			time_format_elapsed(x->ended_at - x->started_at, dur,
					    sizeof(dur));
		else
			snprintf(dur, sizeof(dur), "-");
		snprintf(okt, sizeof(okt), "%d/%d", x->tasks_succeeded,
			 x->tasks_total);
		strbuf_addf(out, "#%-3zu %-22s %-21s %-11s %-8s %-9s ", r + 1,
			    id, when, status, okt, dur);
		add_cost(out, x->cost_usd);
		strbuf_addstr(out, "\n");
		free(id);
		free(status);
	}
	strbuf_addf(out,
		    "\nflaky tasks (their result flipped between runs):%s\n",
		    h->nr_flaky ? "" : " none");
	for (size_t i = 0; i < h->nr_tasks; i++) {
		const struct history_task *t = &h->tasks[i];
		char *id;
		if (!t->flaky)
			continue;
		id = quote_text_dup(t->id);
		strbuf_addf(out, "  %s: %d flips, failed in %d of %zu runs\n",
			    id, t->flips, t->nr_failed, h->nr_runs);
		free(id);
	}
	strbuf_addf(out, "\noutliers (more than %.0fx the task's median):%s\n",
		    HISTORY_OUTLIER_FACTOR, h->nr_outliers ? "" : " none");
	for (size_t i = 0; i < h->nr_tasks; i++) {
		const struct history_task *t = &h->tasks[i];
		for (size_t r = 0; r < h->nr_runs; r++) {
			const struct history_cell *c = history_cell(h, i, r);
			char *id, *run;
			if (!c->slow && !c->costly)
				continue;
			id = quote_text_dup(t->id);
			run = quote_text_dup(h->runs[r].id);
			if (c->slow) {
				char a[32], b[32];
				time_format_elapsed(c->dur_ms, a, sizeof(a));
				time_format_elapsed(t->median_ms, b,
						    sizeof(b));
				strbuf_addf(out,
					    "  %s in run #%zu (%s): took %s, "
					    "median %s\n",
					    id, r + 1, run, a, b);
			}
			if (c->costly)
				strbuf_addf(out,
					    "  %s in run #%zu (%s): cost "
					    "$%.4f, median $%.4f\n",
					    id, r + 1, run, c->cost_usd,
					    t->median_cost);
			free(id);
			free(run);
		}
	}
}

/* ---- the page ---- */

static const char css[] =
	":root{--ok:#2f9e44;--fail:#e03131;--to:#f08c00;--cancel:#868e96;"
	"--skip:#ced4da;--lost:#7048e8;--run:#1c7ed6;--queue:#adb5bd;"
	"--line:#e4e7eb;--muted:#5f6b7a}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;background:#f4f5f7;color:#1f2328;"
	"font:13px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,"
	"\"Helvetica Neue\",Arial,sans-serif}\n"
	"main{max-width:1240px;margin:0 auto;padding:18px 24px 32px}\n"
	".mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"
	"\"DejaVu Sans Mono\",\"Liberation Mono\",monospace;font-size:12px}\n"
	"header{margin-bottom:10px}\n"
	"h1{font-size:20px;margin:0;font-weight:650}\n"
	".kicker{color:var(--muted);font-size:12px;text-transform:uppercase;"
	"letter-spacing:.06em}\n"
	"h2{font-size:14px;margin:22px 0 8px;font-weight:650}\n"
	".card{background:#fff;border:1px solid #dde1e6;border-radius:8px}\n"
	".summary{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));"
	"gap:10px 24px;margin:0;padding:14px 16px}\n"
	".summary dt{color:var(--muted);font-size:11px;"
	"text-transform:uppercase;letter-spacing:.05em}\n"
	".summary dd{margin:2px 0 0;font-weight:600;font-size:16px}\n"
	".scroll{overflow-x:auto;padding:8px}\n"
	"table{border-collapse:collapse}\n"
	"table.list{width:100%}\n"
	"th,td{text-align:left;padding:5px 10px;border-bottom:1px solid "
	"var(--line);vertical-align:middle}\n"
	"tbody tr:last-child td{border-bottom:0}\n"
	"th{font-size:11px;font-weight:600;text-transform:uppercase;"
	"letter-spacing:.04em;color:var(--muted);background:#f8f9fa}\n"
	".grid td,.grid th{padding:3px;border:0;text-align:center}\n"
	".grid th.task,.grid td.task{text-align:left;padding-right:14px;"
	"white-space:nowrap}\n"
	".grid th.n{font-variant-numeric:tabular-nums;min-width:30px}\n"
	".cell{display:block;width:30px;height:22px;border-radius:4px;"
	"line-height:22px;color:#fff;font-size:11px;font-weight:700}\n"
	".cell.out{outline:3px solid #1f2328;outline-offset:-3px}\n"
	".cell.absent{background:#f1f3f5;color:#adb5bd;font-weight:400}\n"
	".st-succeeded{background:var(--ok)}\n"
	".st-failed,.st-error{background:var(--fail)}\n"
	".st-timed_out{background:var(--to)}\n"
	".st-cancelled,.st-interrupted{background:var(--cancel)}\n"
	".st-skipped{background:repeating-linear-gradient(135deg,"
	"#e9ecef 0 3px,#ced4da 3px 5px);color:#343a40}\n"
	".st-lost{background:var(--lost)}\n"
	".st-running{background:var(--run)}\n"
	".st-queued,.st-other{background:var(--queue)}\n"
	".badge{display:inline-block;padding:1px 8px;border-radius:10px;"
	"font-size:12px;font-weight:600;color:#fff;white-space:nowrap}\n"
	".flaky{display:inline-block;margin-left:6px;padding:0 6px;"
	"border-radius:8px;background:#fff3bf;color:#8a5a00;font-size:11px;"
	"font-weight:600}\n"
	".legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:0 0 8px;"
	"color:var(--muted);font-size:12px;align-items:center}\n"
	".legend span{display:inline-flex;align-items:center;gap:6px}\n"
	".sw{display:inline-block;width:18px;height:12px;border-radius:3px}\n"
	".num{text-align:right;font-variant-numeric:tabular-nums;"
	"white-space:nowrap}\n"
	".charts{display:grid;grid-template-columns:1fr 1fr;gap:12px}\n"
	".charts .card{padding:8px 10px}\n"
	".charts h3{font-size:12px;margin:0 0 4px;color:var(--muted);"
	"font-weight:600}\n"
	"svg{display:block;max-width:100%;height:auto}\n"
	"svg text{font-size:10.5px;fill:#5f6b7a}\n"
	"svg .bar{fill:#4c6ef5}\n"
	"svg .bar.cost{fill:#f08c00}\n"
	"svg .axis{stroke:#adb5bd;stroke-width:1}\n"
	".none{color:#adb5bd}\n"
	"footer{margin-top:18px;color:var(--muted);font-size:11.5px}\n";

static const char *status_class(const char *s)
{
	const struct status_look *lk = look(s);
	return lk->status;
}

static void page_badge(struct strbuf *sb, const char *status)
{
	strbuf_addf(sb, "<span class=\"badge st-%s\">", status_class(status));
	report_escape(sb, look(status)->label);
	strbuf_addstr(sb, "</span>");
}

static void render_summary(struct strbuf *sb, const struct history *h)
{
	double cost = 0;
	size_t failed = 0;

	for (size_t r = 0; r < h->nr_runs; r++) {
		cost += h->runs[r].cost_usd;
		failed += strcmp(h->runs[r].status, "succeeded") != 0;
	}
	strbuf_addf(sb,
		    "<dl class=\"card summary\"><div><dt>Runs</dt><dd>%zu"
		    "</dd></div><div><dt>Runs not succeeded</dt><dd>%zu"
		    "</dd></div><div><dt>Flaky tasks</dt><dd>%zu</dd></div>"
		    "<div><dt>Outliers</dt><dd>%zu</dd></div>"
		    "<div><dt>Tasks</dt><dd>%zu</dd></div>"
		    "<div><dt>Total cost</dt><dd>$%.4f</dd></div></dl>\n",
		    h->nr_runs, failed, h->nr_flaky, h->nr_outliers,
		    h->nr_tasks, cost);
}

static void cell_title(struct strbuf *sb, const struct history *h, size_t i,
		       size_t r)
{
	const struct history_cell *c = history_cell(h, i, r);
	char buf[32];

	report_escape(sb, h->tasks[i].id);
	strbuf_addstr(sb, " in run ");
	report_escape(sb, h->runs[r].id);
	if (!c->present) {
		strbuf_addstr(sb, ": not in this run");
		return;
	}
	strbuf_addstr(sb, ": ");
	report_escape(sb, look(c->status)->label);
	if (c->has_dur) {
		time_format_elapsed(c->dur_ms, buf, sizeof(buf));
		strbuf_addf(sb, ", %s", buf);
	}
	strbuf_addf(sb, ", $%.4f", c->cost_usd);
	if (c->slow)
		strbuf_addstr(sb, " (slow: over 3x its median)");
	if (c->costly)
		strbuf_addstr(sb, " (costly: over 3x its median)");
}

static void render_grid(struct strbuf *sb, const struct history *h)
{
	strbuf_addstr(sb, "<h2>Tasks by run</h2>\n<div class=\"legend\">");
	for (size_t i = 0; i < 7; i++)
		strbuf_addf(sb, "<span><i class=\"sw st-%s\"></i>%s</span>",
			    looks[i].status, looks[i].label);
	strbuf_addstr(sb, "<span><i class=\"sw cell out\" style=\"width:"
			  "18px;height:12px\"></i>outlier (over 3x its "
			  "median)</span></div>\n");
	strbuf_addstr(sb, "<div class=\"card scroll\"><table class=\"grid\" "
			  "id=\"grid\"><thead><tr><th class=\"task\">Task"
			  "</th>");
	for (size_t r = 0; r < h->nr_runs; r++) {
		strbuf_addstr(sb, "<th class=\"n\" title=\"");
		report_escape(sb, h->runs[r].id);
		strbuf_addf(sb, "\">#%zu</th>", r + 1);
	}
	strbuf_addstr(sb, "</tr></thead><tbody>\n");
	for (size_t i = 0; i < h->nr_tasks; i++) {
		const struct history_task *t = &h->tasks[i];
		strbuf_addstr(sb, "<tr><td class=\"task mono\">");
		report_escape(sb, t->id);
		if (t->flaky)
			strbuf_addf(sb, "<span class=\"flaky\">flaky</span>");
		strbuf_addstr(sb, "</td>");
		for (size_t r = 0; r < h->nr_runs; r++) {
			const struct history_cell *c = history_cell(h, i, r);
			strbuf_addstr(sb, "<td><span class=\"cell ");
			if (c->present)
				strbuf_addf(
					sb, "st-%s%s", status_class(c->status),
					c->slow || c->costly ? " out" : "");
			else
				strbuf_addstr(sb, "absent");
			strbuf_addf(sb, "\" data-status=\"%s\" title=\"",
				    c->present ? status_class(c->status)
					       : "absent");
			cell_title(sb, h, i, r);
			strbuf_addf(sb, "\">%s</span></td>",
				    c->present ? look(c->status)->letter
					       : "&middot;");
		}
		strbuf_addstr(sb, "</tr>\n");
	}
	strbuf_addstr(sb, "</tbody></table></div>\n");
}

/* A bar chart of one value per run, as inline SVG. */
static void render_bars(struct strbuf *sb, const struct history *h,
			const char *title, const char *cls, bool cost)
{
	const int W = 560, H = 150, left = 8, bottom = 20, top = 14;
	double max = 0, bw;

	for (size_t r = 0; r < h->nr_runs; r++) {
		const struct history_run *x = &h->runs[r];
		double v = cost		? x->cost_usd
			   : x->has_end ? (double)(x->ended_at - x->started_at)
					: 0;
		if (v > max)
			max = v;
	}
	bw = (double)(W - left * 2) / (double)(h->nr_runs ? h->nr_runs : 1);
	strbuf_addf(
		sb,
		"<div class=\"card\"><h3>%s</h3><svg viewBox=\"0 0 %d %d\" "
		"width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"%s\">",
		title, W, H, W, H, title);
	strbuf_addf(sb,
		    "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" "
		    "y2=\"%d\"/>",
		    left, H - bottom, W - left, H - bottom);
	for (size_t r = 0; r < h->nr_runs; r++) {
		const struct history_run *x = &h->runs[r];
		double v = cost		? x->cost_usd
			   : x->has_end ? (double)(x->ended_at - x->started_at)
					: 0;
		double bh = max > 0 ? v / max * (H - bottom - top) : 0;
		double bx = left + bw * (double)r + bw * 0.15;
		char label[32];
		if (cost)
			snprintf(label, sizeof(label), "$%.4f", v);
		else if (x->has_end)
			time_format_elapsed((int64_t)v, label, sizeof(label));
		else
			snprintf(label, sizeof(label), "-");
		strbuf_addf(sb,
			    "<rect class=\"bar %s\" x=\"%.1f\" y=\"%.1f\" "
			    "width=\"%.1f\" height=\"%.1f\"><title>#%zu ",
			    cls, bx, H - bottom - bh, bw * 0.7, bh, r + 1);
		report_escape(sb, x->id);
		strbuf_addf(sb, ": %s</title></rect>", label);
		strbuf_addf(sb,
			    "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">"
			    "#%zu</text>",
			    bx + bw * 0.35, H - 6, r + 1);
		if (h->nr_runs <= 20)
			strbuf_addf(sb,
				    "<text x=\"%.1f\" y=\"%.1f\" "
				    "text-anchor=\"middle\">%s</text>",
				    bx + bw * 0.35, H - bottom - bh - 3,
				    label);
	}
	strbuf_addstr(sb, "</svg></div>");
}

static void render_runs(struct strbuf *sb, const struct history *h)
{
	strbuf_addstr(sb, "<h2>Runs</h2>\n<div class=\"charts\">");
	render_bars(sb, h, "Duration per run", "dur", false);
	render_bars(sb, h, "Cost per run", "cost", true);
	strbuf_addstr(sb, "</div>\n<div class=\"card\" style=\"margin-top:"
			  "12px\"><table class=\"list\" id=\"runs\"><thead>"
			  "<tr><th>#</th><th>Run</th><th>Started</th>"
			  "<th>Status</th><th class=\"num\">OK/tasks</th>"
			  "<th class=\"num\">Duration</th>"
			  "<th class=\"num\">Cost</th></tr></thead><tbody>\n");
	for (size_t r = 0; r < h->nr_runs; r++) {
		const struct history_run *x = &h->runs[r];
		char when[40], dur[32];
		time_iso8601_utc_s(x->started_at, when, sizeof(when));
		if (x->has_end)
			time_format_elapsed(x->ended_at - x->started_at, dur,
					    sizeof(dur));
		else
			snprintf(dur, sizeof(dur), "-");
		strbuf_addf(sb, "<tr><td>#%zu</td><td class=\"mono\">", r + 1);
		report_escape(sb, x->id);
		strbuf_addf(sb, "</td><td class=\"mono\">%s</td><td>", when);
		page_badge(sb, x->status);
		strbuf_addf(
			sb,
			"</td><td class=\"num\">%d/%d</td><td class=\"num\">"
			"%s</td><td class=\"num\">$%.4f</td></tr>\n",
			x->tasks_succeeded, x->tasks_total, dur, x->cost_usd);
	}
	strbuf_addstr(sb, "</tbody></table></div>\n");
}

static void render_flaky(struct strbuf *sb, const struct history *h)
{
	strbuf_addstr(sb, "<h2>Flaky tasks</h2>\n");
	if (!h->nr_flaky) {
		strbuf_addstr(sb, "<p class=\"none\" id=\"flaky\">None: no "
				  "task's result flipped back and forth."
				  "</p>\n");
		return;
	}
	strbuf_addstr(sb, "<div class=\"card\"><table class=\"list\" "
			  "id=\"flaky\"><thead><tr><th>Task</th>"
			  "<th class=\"num\">Flips</th><th class=\"num\">"
			  "Failed in</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < h->nr_tasks; i++) {
		const struct history_task *t = &h->tasks[i];
		if (!t->flaky)
			continue;
		strbuf_addstr(sb, "<tr><td class=\"mono\">");
		report_escape(sb, t->id);
		strbuf_addf(sb,
			    "</td><td class=\"num\">%d</td><td class=\"num\">"
			    "%d of %zu runs</td></tr>\n",
			    t->flips, t->nr_failed, h->nr_runs);
	}
	strbuf_addstr(sb, "</tbody></table></div>\n");
}

static void render_outliers(struct strbuf *sb, const struct history *h)
{
	strbuf_addstr(sb, "<h2>Outliers</h2>\n");
	if (!h->nr_outliers) {
		strbuf_addstr(sb, "<p class=\"none\" id=\"outliers\">None: no "
				  "task cost or took more than 3x its median."
				  "</p>\n");
		return;
	}
	strbuf_addstr(sb, "<div class=\"card\"><table class=\"list\" "
			  "id=\"outliers\"><thead><tr><th>Task</th><th>Run"
			  "</th><th>What</th><th class=\"num\">This run</th>"
			  "<th class=\"num\">Median</th></tr></thead><tbody>"
			  "\n");
	for (size_t i = 0; i < h->nr_tasks; i++) {
		const struct history_task *t = &h->tasks[i];
		for (size_t r = 0; r < h->nr_runs; r++) {
			const struct history_cell *c = history_cell(h, i, r);
			for (int k = 0; k < 2; k++) {
				char a[32], b[32];
				if (!(k ? c->costly : c->slow))
					continue;
				if (k) {
					snprintf(a, sizeof(a), "$%.4f",
						 c->cost_usd);
					snprintf(b, sizeof(b), "$%.4f",
						 t->median_cost);
				} else {
					time_format_elapsed(c->dur_ms, a,
							    sizeof(a));
					time_format_elapsed(t->median_ms, b,
							    sizeof(b));
				}
				strbuf_addstr(sb, "<tr><td class=\"mono\">");
				report_escape(sb, t->id);
				strbuf_addf(sb,
					    "</td><td class=\"mono\">#%zu ",
					    r + 1);
				report_escape(sb, h->runs[r].id);
				strbuf_addf(
					sb,
					"</td><td>%s</td><td class=\"num\">"
					"%s</td><td class=\"num\">%s</td>"
					"</tr>\n",
					k ? "cost" : "duration", a, b);
			}
		}
	}
	strbuf_addstr(sb, "</tbody></table></div>\n");
}

void history_format_html(const struct history *h, struct strbuf *sb)
{
	strbuf_addstr(
		sb, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
		    "<meta charset=\"utf-8\">\n"
		    "<meta http-equiv=\"Content-Security-Policy\" "
		    "content=\"default-src 'none'; style-src "
		    "'unsafe-inline'\">\n"
		    "<meta name=\"viewport\" content=\"width=device-width, "
		    "initial-scale=1\">\n"
		    "<meta name=\"generator\" content=\"runner " RUNNER_VERSION
		    "\">\n<title>");
	report_escape(sb, h->plan);
	strbuf_addstr(sb, " &middot; history</title>\n<style>\n");
	strbuf_addstr(sb, css);
	strbuf_addstr(sb, "</style></head>\n<body><main>\n<header>"
			  "<div class=\"kicker\">runner &middot; plan history"
			  "</div><h1>");
	report_escape(sb, h->plan);
	strbuf_addf(sb,
		    " <span style=\"font-weight:400;color:var(--muted);"
		    "font-size:14px\">the last %zu run%s, oldest first"
		    "</span></h1></header>\n",
		    h->nr_runs, h->nr_runs == 1 ? "" : "s");
	render_summary(sb, h);
	if (h->nr_runs) {
		render_grid(sb, h);
		render_flaky(sb, h);
		render_outliers(sb, h);
		render_runs(sb, h);
	} else {
		strbuf_addstr(sb, "<p class=\"none\">This plan has no runs in "
				  "this state.</p>\n");
	}
	strbuf_addstr(sb, "<footer>Written by runner " RUNNER_VERSION
			  " from the state database. All times are UTC. "
			  "This page is self-contained: it loads nothing."
			  "</footer>\n</main></body></html>\n");
}
