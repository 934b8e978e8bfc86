#include "runner.h"
#include "progress.h"
#include "quote.h"
#include "timeutil.h"

#include <cJSON.h>
#include <sys/ioctl.h>

struct progress {
	enum progress_mode mode;
	int live; /* a live line is drawn on stderr */
	int line_shown;
	char *run_id;
};

struct progress *progress_new(enum progress_mode mode, const char *run_id)
{
	struct progress *p = xcalloc(1, sizeof(*p));
	p->mode = mode;
	p->live = mode == PROGRESS_AUTO && isatty(2) && getenv("TERM") &&
		  strcmp(getenv("TERM"), "dumb");
	p->run_id = xstrdup(run_id);
	return p;
}

static void clear_line(struct progress *p)
{
	if (p->live && p->line_shown) {
		fputs("\r\033[K", stderr);
		p->line_shown = 0;
	}
}

void progress_event(struct progress *p, const char *kind, const char *task,
		    const char *status, const char *message)
{
	char when[40];

	if (p->mode == PROGRESS_QUIET)
		return;
	time_iso8601_utc(time_now_ms(), when, sizeof(when));
	if (p->mode == PROGRESS_JSON) {
		cJSON *o = cJSON_CreateObject();
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

bool progress_is_live(const struct progress *p)
{
	return p->live;
}

void progress_tick(struct progress *p, const struct progress_counts *c,
		   int64_t elapsed_ms)
{
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

void progress_end(struct progress *p)
{
	clear_line(p);
	fflush(stderr);
}

int progress_is_json(const struct progress *p)
{
	return p->mode == PROGRESS_JSON;
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	free(p->run_id);
	free(p);
}
