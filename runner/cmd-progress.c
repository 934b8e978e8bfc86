/*
 * How exec and resume show a run: the scheduler's observer (events as
 * lines or JSON, the live line on a terminal), then the closing summary,
 * or the dry run's plan. The scheduler prints nothing; this does.
 *
 * What it shows (main thread only):
 *   PROGRESS_AUTO on a terminal: one live status line on stderr, redrawn,
 *                 with event lines printed above it;
 *   PROGRESS_AUTO otherwise: one line per event on stdout;
 *   PROGRESS_JSON: one JSON object per event on stdout (the summary
 *                 goes to stderr);
 *   PROGRESS_QUIET: nothing but the closing summary.
 */
#include "runner.h"
#include "cmd-progress.h"
#include "exitcode.h"
#include "plan.h"
#include "quote.h"
#include "sched.h"
#include "timeutil.h"

#include <cJSON.h>
#include <sys/ioctl.h>

struct progress {
	enum progress_mode mode;
	int live; /* a live line is drawn on stderr */
	int line_shown;
	char *run_id; /* set by begin */
};

static void progress_init(struct progress *p, enum progress_mode mode)
{
	memset(p, 0, sizeof(*p));
	p->mode = mode;
	p->live = mode == PROGRESS_AUTO && isatty(2) && getenv("TERM") &&
		  strcmp(getenv("TERM"), "dumb");
}

static void clear_line(struct progress *p)
{
	if (p->live && p->line_shown) {
		fputs("\r\033[K", stderr);
		p->line_shown = 0;
	}
}

static void on_begin(void *ctx, const char *run_id)
{
	struct progress *p = ctx;
	free(p->run_id);
	p->run_id = xstrdup(run_id);
}

static void on_warning(void *ctx, const char *msg)
{
	(void)ctx;
	warning("%s", msg);
}

static void on_event_data(void *ctx, const char *kind, const char *task,
			  const char *status, const char *message,
			  const char *data)
{
	struct progress *p = ctx;
	char when[40];

	if (p->mode == PROGRESS_QUIET)
		return;
	time_iso8601_utc(time_now_ms(), when, sizeof(when));
	if (p->mode == PROGRESS_JSON) {
		cJSON *o = cJSON_CreateObject();
		cJSON *d = data ? cJSON_Parse(data) : NULL;
		char *text;
		cJSON_AddStringToObject(o, "time", when);
		cJSON_AddStringToObject(o, "event", kind);
		cJSON_AddStringToObject(o, "run_id", p->run_id);
		if (task)
			cJSON_AddStringToObject(o, "task_id", task);
		if (status)
			cJSON_AddStringToObject(o, "status", status);
		if (message)
			quote_json_add_text(o, "message", message);
		if (d)
			cJSON_AddItemToObject(o, "data", d);
		text = cJSON_PrintUnformatted(o);
		printf("%s\n", text);
		fflush(stdout);
		cJSON_free(text);
		cJSON_Delete(o);
		return;
	}
	clear_line(p);
	/*
	 * A message may carry what a sandbox said (a reason, a name): its
	 * ESC or CR must not reach the terminal, above all not under the
	 * live line, which it could rewrite or hide.
	 */
	{
		char *m = quote_text_dup(message ? message : "");
		if (task) {
			char *t = quote_text_dup(task);
			printf("%.8s %-14s %s\n", when + 11, t, m);
			free(t);
		} else {
			printf("%.8s %s\n", when + 11, m);
		}
		free(m);
	}
	fflush(stdout);
}

static void on_event(void *ctx, const char *kind, const char *task,
		     const char *status, const char *message)
{
	on_event_data(ctx, kind, task, status, message, NULL);
}

static void on_tick(void *ctx, const struct sched_counts *c,
		    int64_t elapsed_ms)
{
	struct progress *p = ctx;
	int64_t s = elapsed_ms / 1000;
	char eta[48] = "", line[256];
	struct winsize ws;
	int n;

	if (!p->live)
		return;
	if (c->done > 0 && c->done < c->total) {
		/* elapsed / done is already per task at this concurrency. */
		int64_t left =
			elapsed_ms / c->done * (c->total - c->done) / 1000;
		snprintf(eta, sizeof(eta), "  eta ~%" PRId64 "m%02" PRId64 "s",
			 left / 60, left % 60);
	}
	if (c->next_slot_ms) {
		int64_t wait = (c->next_slot_ms - time_now_ms()) / 1000;
		snprintf(eta, sizeof(eta),
			 "  %s cap: next slot in %" PRId64 "m%02" PRId64 "s",
			 c->cap_which, wait / 60, wait % 60);
	}
	n = snprintf(line, sizeof(line),
		     "[%d/%d done] %d running, %d queued, %d failed  "
		     "%" PRId64 "m%02" PRId64 "s%s",
		     c->done, c->total, c->running, c->queued, c->failed,
		     s / 60, s % 60, eta);
	/* A line that wraps could not be redrawn in place. */
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 &&
	    n >= ws.ws_col)
		n = ws.ws_col - 1;
	if (n < 0)
		n = 0;
	else if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	fprintf(stderr, "\r\033[K%.*s", n, line);
	fflush(stderr);
	p->line_shown = 1;
}

/* Clear the live line. */
static void on_end(void *ctx)
{
	struct progress *p = ctx;
	clear_line(p);
	fflush(stderr);
}

/* Runs with more tasks than this get a shorter summary. */
#define SUMMARY_ALL_TASKS 20

static void print_summary(const struct plan *plan,
			  const struct sched_outcome *o, FILE *f)
{
	size_t listed = 0, omitted = 0;
	char dur[32];

	time_format_elapsed(o->ended_at - o->started_at, dur, sizeof(dur));
	fprintf(f, "\nrun %s (%s): ", o->run_id, plan->name);
	for (int st = TASK_SUCCEEDED, first = 1; st <= TASK_LOST; st++) {
		if (!o->by_status[st])
			continue;
		fprintf(f, "%s%zu %s", first ? "" : ", ", o->by_status[st],
			task_status_name((enum task_status)st));
		first = 0;
	}
	if (!o->nr_tasks)
		fprintf(f, "no tasks");
	fprintf(f, " in %s\n", dur);
	for (size_t i = 0; i < o->nr_tasks; i++) {
		const struct sched_task_outcome *t = &o->tasks[i];
		/*
		 * A big run lists only what did not succeed, and not all of
		 * that: `runner show` has every task.
		 */
		if (o->nr_tasks > SUMMARY_ALL_TASKS) {
			if (t->status == TASK_SUCCEEDED)
				continue;
			if (++listed > SUMMARY_ALL_TASKS) {
				omitted++;
				continue;
			}
		}
		fprintf(f, "  %-10s %-24s", task_status_name(t->status),
			t->task->id);
		if (t->nr_added + t->nr_modified + t->nr_deleted)
			fprintf(f, " %zu added, %zu modified, %zu deleted",
				t->nr_added, t->nr_modified, t->nr_deleted);
		if (t->reason) {
			char *r = quote_text_dup(t->reason);
			fprintf(f, " (%s)", r);
			free(r);
		}
		fputc('\n', f);
	}
	if (omitted)
		fprintf(f, "  ... and %zu more that did not succeed\n",
			omitted);
	if (o->nr_tasks > SUMMARY_ALL_TASKS)
		fprintf(f, "every task: runner show %s\n", o->run_id);
	fprintf(f, "results: %s\n", o->results_dir);
	if (o->recorded_exit_code == RUNNER_EXIT_TASK_FAILED)
		fprintf(f, "see a task's output with: runner logs %s TASK\n",
			o->run_id);
	fflush(f);
}

static void print_dry_run(const struct plan *plan,
			  const struct sched_outcome *o)
{
	printf("plan %s: %zu task%s, concurrency %d, backend %s\n", plan->name,
	       o->nr_tasks, o->nr_tasks == 1 ? "" : "s", o->concurrency,
	       o->backend);
	for (size_t i = 0; i < o->nr_tasks; i++) {
		const struct plan_task *t = o->tasks[i].task;
		char lim[32];
		format_duration(t->timeout_ms, lim, sizeof(lim));
		printf("  %s: %s%s (timeout %s, workspace %s)\n", t->id,
		       t->run ? "run " : "agent ", t->run ? t->run : t->agent,
		       lim, t->workspace);
		for (size_t d = 0; d < o->tasks[i].nr_deps; d++)
			printf("    after %s\n",
			       o->tasks[o->tasks[i].deps[d]].task->id);
	}
}

int cmd_run_plan(struct plan *plan, const struct run_opts *opts)
{
	struct progress p;
	struct sched_observer obs = { 0 };
	struct sched_outcome out;
	int ret;

	progress_init(&p, opts->progress);
	obs.warning = on_warning;
	obs.begin = on_begin;
	obs.event = on_event;
	obs.event_data = on_event_data;
	obs.tick = p.live ? on_tick : NULL;
	obs.end = on_end;
	obs.ctx = &p;
	sched_run(plan, opts, &obs, &out);
	switch (out.result) {
	case SCHED_NOT_STARTED:
		if (out.error_lines)
			fprintf(stderr, "runner: %s\n", out.error);
		else
			error("%s", out.error);
		break;
	case SCHED_DRY_RUN:
		print_dry_run(plan, &out);
		break;
	case SCHED_RAN:
		print_summary(plan, &out,
			      p.mode == PROGRESS_JSON ? stderr : stdout);
		if (out.records_error)
			error("%s; this run's records may be incomplete: fix "
			      "that, then `runner resume %s` runs what is not "
			      "recorded as succeeded",
			      out.records_error, out.run_id);
		break;
	}
	ret = out.exit_code;
	sched_outcome_release(&out);
	free(p.run_id);
	return ret;
}
