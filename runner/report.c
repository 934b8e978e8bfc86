#include "runner.h"
#include "fs.h"
#include "quote.h"
#include "report.h"
#include "agent-outcome.h"
#include "review.h"
#include "run.h"
#include "store-agent.h"
#include "store.h"
#include "store-runs.h"
#include "timeutil.h"

#include <time.h>

/*
 * The page is built in two steps: load the run into the rep_* structs
 * below (the database is read once, in order), then render. Rendering
 * never touches the database, and the files it looks at are only tested
 * for existence (to link a log only when there is one).
 */

/* Timeline geometry, in SVG user units (CSS px when not scaled). */
#define SVG_W 1180
#define PLOT_X0 204
#define PLOT_X1 (SVG_W - 20)
#define AXIS_H 30
#define ROW_H 22
#define BAR_H 14
#define LABEL_CHARS 26
#define NOTE_CHARS 80
#define MIN_BAR_W 2.0
#define MARK_W 10.0

struct rep_attempt {
	int n;
	char *status, *reason, *sandbox;
	bool has_exit, has_end;
	int exit_code;
	int64_t start, end;
	bool has_usage; /* memory_peak and cpu_ms from the cgroup */
	uint64_t memory_peak, cpu_ms;
};

struct rep_task {
	char *id, *status, *reason;
	bool has_exit, has_start, has_end;
	int exit_code, attempts;
	int64_t start, end;
	long long added, modified, deleted;
	struct rep_attempt *att;
	size_t nr_att, alloc_att;
	struct strvec warnings;
	char *agent; /* what its agent said, one line, or NULL */
};

/* A wait for a cap window: from the cap_wait event to the next start. */
struct rep_band {
	int64_t start, end; /* end < 0: nothing started after it */
	struct strbuf message;
};

struct rep_run {
	const char *id;
	char *plan_name, *plan_path, *backend, *status, *host;
	long long pid;
	bool has_end, has_exit;
	int exit_code;
	int64_t start, end;
	double cost;
	struct rep_task *tasks;
	size_t nr_tasks, alloc_tasks;
	struct rep_band *bands;
	size_t nr_bands, alloc_bands;
	int64_t now;	/* what ends open attempts of an unfinished run */
	int64_t t0, t1; /* the timeline's window */
};

/*
 * The statuses the page knows: CSS classes come from this list only, so
 * whatever a database holds cannot reach an attribute unescaped.
 */
static const char *const statuses[] = {
	"succeeded", "failed",	"timed_out", "cancelled",   "skipped",
	"lost",	     "running", "queued",    "interrupted", "error",
};

static const char *status_class(const char *s)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(statuses); i++)
		if (!strcmp(s, statuses[i]))
			return statuses[i];
	return "other";
}

void report_escape(struct strbuf *sb, const char *s)
{
	struct strbuf fixed = STRBUF_INIT;

	/* The page is UTF-8: a name that is not gets U+FFFD (quote.h). */
	if (s && !quote_utf8_valid(s, strlen(s))) {
		quote_utf8_fix(&fixed, s);
		s = fixed.buf;
	}
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&':
			strbuf_addstr(sb, "&amp;");
			break;
		case '<':
			strbuf_addstr(sb, "&lt;");
			break;
		case '>':
			strbuf_addstr(sb, "&gt;");
			break;
		case '"':
			strbuf_addstr(sb, "&quot;");
			break;
		case '\'':
			strbuf_addstr(sb, "&#39;");
			break;
		default:
			if ((c < 0x20 && !strchr("\t\n\r", c)) || c == 0x7f)
				strbuf_addstr(sb, "\xef\xbf\xbd");
			else
				strbuf_addch(sb, c);
		}
	}
	strbuf_release(&fixed);
}

/*
 * Escaped, at most max characters (UTF-8 aware): a longer s is cut to
 * max - 1 and an ellipsis.
 */
static void escape_cut(struct strbuf *sb, const char *s, size_t max)
{
	size_t chars = 0, cut = 0, i;
	char *head;

	for (i = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (chars + 1 == max)
			cut = i; /* where character number max starts */
		if (chars++ == max)
			break;
	}
	if (!s[i]) {
		report_escape(sb, s);
		return;
	}
	head = xstrndup(s, cut);
	report_escape(sb, head);
	strbuf_addstr(sb, "\xe2\x80\xa6");
	free(head);
}

static void url_encode(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("/._~-", c)) {
			strbuf_addch(sb, c);
		} else {
			strbuf_addch(sb, '%');
			strbuf_addch(sb, hex[c >> 4]);
			strbuf_addch(sb, hex[c & 15]);
		}
	}
}

void report_file_url(struct strbuf *sb, const char *abs_path, int dir)
{
	strbuf_addstr(sb, "file://");
	url_encode(sb, abs_path);
	if (dir && (!sb->len || sb->buf[sb->len - 1] != '/'))
		strbuf_addch(sb, '/');
}

int64_t report_tick_step(int64_t span_ms, int max_ticks)
{
	static const int64_t nice[] = {
		1,	  2,	    5,	      10,	20,	 50,
		100,	  200,	    250,      500,	1000,	 2000,
		5000,	  10000,    15000,    30000,	60000,	 120000,
		300000,	  600000,   900000,   1800000,	3600000, 7200000,
		10800000, 21600000, 43200000, 86400000,
	};
	int64_t day = 86400000, days;

	if (max_ticks < 1)
		max_ticks = 1;
	if (span_ms < 1)
		span_ms = 1;
	for (size_t i = 0; i < ARRAY_SIZE(nice); i++)
		if (span_ms / nice[i] + (span_ms % nice[i] != 0) <= max_ticks)
			return nice[i];
	days = (span_ms / max_ticks + day - 1) / day;
	return days * day;
}

void report_format_tick(int64_t ms, int64_t step, char *buf, size_t size)
{
	int64_t s = ms / 1000, m = ms / 60000, h = ms / 3600000;

	if (ms == 0)
		snprintf(buf, size, "0");
	else if (step < 1000)
		snprintf(buf, size, "%.*fs",
			 step % 100 == 0  ? 1
			 : step % 10 == 0 ? 2
					  : 3,
			 (double)ms / 1000);
	else if (step < 60000 && ms < 60000)
		snprintf(buf, size, "%" PRId64 "s", s);
	else if (step < 60000)
		snprintf(buf, size, "%" PRId64 "m%02" PRId64 "s", m, s % 60);
	else if (step < 3600000 && ms < 3600000)
		snprintf(buf, size, "%" PRId64 "m", m);
	else if (ms < 86400000)
		snprintf(buf, size, "%" PRId64 "h%02" PRId64 "m", h, m % 60);
	else
		snprintf(buf, size, "%" PRId64 "d%02" PRId64 "h", h / 24,
			 h % 24);
}

/* ---- loading ---- */

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* What the store said, as this page says it. */
static int read_fail(struct strbuf *msg, struct strbuf *err)
{
	strbuf_addf(err, "cannot read the run: %s", msg->buf);
	strbuf_release(msg);
	return -1;
}

/*
 * The task with this id: rows come in task order, so look from the
 * cursor on first.
 */
static struct rep_task *find_task(struct rep_run *r, size_t *cur,
				  const char *id)
{
	for (size_t k = 0; k < r->nr_tasks; k++) {
		size_t i = (*cur + k) % r->nr_tasks;
		if (!strcmp(r->tasks[i].id, id)) {
			*cur = i;
			return &r->tasks[i];
		}
	}
	return NULL;
}

static int load_run(struct store *st, struct rep_run *r, struct strbuf *err)
{
	struct strbuf msg = STRBUF_INIT;
	struct store_run row;
	int rc = store_runs_get(st, r->id, &row, &msg);

	if (rc < 0)
		return read_fail(&msg, err);
	strbuf_release(&msg);
	if (!rc) {
		strbuf_addf(err, "no run '%s' in this state", r->id);
		return -1;
	}
	r->plan_name = dup_or_null(row.plan_name);
	r->plan_path = dup_or_null(row.plan_path);
	r->backend = dup_or_null(row.backend);
	r->status = dup_or_null(row.status);
	r->start = row.started_at;
	r->has_end = row.has_end;
	r->end = row.ended_at;
	r->host = dup_or_null(row.host);
	r->pid = row.pid;
	r->has_exit = row.has_exit;
	r->exit_code = row.exit_code;
	store_run_release(&row);
	return 0;
}

static int add_task(const struct store_task *row, void *data)
{
	struct rep_run *r = data;
	struct rep_task *t;

	ALLOC_GROW(r->tasks, r->nr_tasks + 1, r->alloc_tasks);
	t = &r->tasks[r->nr_tasks++];
	memset(t, 0, sizeof(*t));
	strvec_init(&t->warnings);
	t->id = xstrdup(row->id ? row->id : "");
	t->status = dup_or_null(row->status);
	t->reason = dup_or_null(row->reason);
	t->has_exit = row->has_exit;
	t->exit_code = row->exit_code;
	t->attempts = row->attempts;
	t->has_start = row->has_start;
	t->start = row->started_at;
	t->has_end = row->has_end;
	t->end = row->ended_at;
	t->added = row->files_added;
	t->modified = row->files_modified;
	t->deleted = row->files_deleted;
	r->cost += row->cost_usd;
	return 0;
}

/* Each agent task's last word (store-agent.h). */
static int load_agents(struct store *st, struct rep_run *r, struct strbuf *err)
{
	for (size_t i = 0; i < r->nr_tasks; i++) {
		struct rep_task *t = &r->tasks[i];
		struct store_agent_row row;
		struct strbuf sb = STRBUF_INIT;
		int rc = store_agent_get(st, r->id, t->id, &row, err);

		if (rc < 0)
			return -1;
		if (!rc)
			continue;
		strbuf_addf(&sb, "agent: ");
		attempt_agent_summary(row.agent, &sb);
		if (row.agent->error)
			strbuf_addf(&sb, "; its error: %s", row.agent->error);
		strbuf_addf(&sb, "; cost $%.4f by %s", row.cost_usd,
			    row.cost_source ? row.cost_source : "none");
		t->agent = strbuf_detach(&sb, NULL);
		store_agent_row_release(&row);
	}
	return 0;
}

/* Walks in task order, so find_task() mostly looks once. */
struct walk {
	struct rep_run *r;
	size_t cur;
};

static int add_attempt(const struct store_attempt *row, void *data)
{
	struct walk *w = data;
	struct rep_task *t =
		row->task_id ? find_task(w->r, &w->cur, row->task_id) : NULL;
	struct rep_attempt *a;

	if (!t)
		return 0;
	ALLOC_GROW(t->att, t->nr_att + 1, t->alloc_att);
	a = &t->att[t->nr_att++];
	memset(a, 0, sizeof(*a));
	a->n = row->n;
	a->status = dup_or_null(row->status);
	a->has_exit = row->has_exit;
	a->exit_code = row->exit_code;
	a->reason = dup_or_null(row->reason);
	a->sandbox = dup_or_null(row->sandbox_id);
	a->start = row->started_at;
	a->has_end = row->has_end;
	a->end = row->ended_at;
	a->has_usage = row->has_usage;
	a->memory_peak = row->memory_peak;
	a->cpu_ms = row->cpu_ms;
	return 0;
}

/* Warnings, and what the network proxy refused (network_blocked). */
static int add_warning(const char *task_id, const char *message, void *data)
{
	struct walk *w = data;
	struct rep_task *t = task_id ? find_task(w->r, &w->cur, task_id)
				     : NULL;

	if (t)
		strvec_push(&t->warnings, message);
	return 0;
}

/*
 * Cap waits: each cap_wait event opens a band that the next sandbox
 * start (of any task: the caps are shared) closes. The scheduler logs
 * a new event when the slot it waits for changes, so bands that overlap
 * are one wait and are merged.
 */
static int add_cap_wait(int64_t at, const char *msg, int64_t end, void *data)
{
	struct rep_run *r = data;
	struct rep_band *b = r->nr_bands ? &r->bands[r->nr_bands - 1] : NULL;

	if (b && (b->end < 0 || at <= b->end)) {
		if (b->end >= 0 && (end < 0 || end > b->end))
			b->end = end;
	} else {
		ALLOC_GROW(r->bands, r->nr_bands + 1, r->alloc_bands);
		b = &r->bands[r->nr_bands++];
		b->start = at;
		b->end = end;
		strbuf_init(&b->message, 0);
	}
	if (b->message.len)
		strbuf_addch(&b->message, '\n');
	strbuf_addstr(&b->message, msg);
	return 0;
}

static int load_rows(struct store *st, struct rep_run *r, struct strbuf *err)
{
	struct strbuf msg = STRBUF_INIT;
	struct walk w = { r, 0 };

	if (store_runs_tasks(st, r->id, add_task, r, &msg) < 0)
		return read_fail(&msg, err);
	if (store_runs_attempts(st, r->id, add_attempt, &w, &msg) < 0)
		return read_fail(&msg, err);
	w.cur = 0;
	if (store_runs_warnings(st, r->id, NULL, add_warning, &w, &msg) < 0)
		return read_fail(&msg, err);
	if (store_runs_cap_waits(st, r->id, add_cap_wait, r, &msg) < 0)
		return read_fail(&msg, err);
	strbuf_release(&msg);
	return 0;
}

static void rep_run_release(struct rep_run *r)
{
	for (size_t i = 0; i < r->nr_tasks; i++) {
		struct rep_task *t = &r->tasks[i];
		for (size_t j = 0; j < t->nr_att; j++) {
			free(t->att[j].status);
			free(t->att[j].reason);
			free(t->att[j].sandbox);
		}
		free(t->att);
		free(t->id);
		free(t->status);
		free(t->reason);
		free(t->agent);
		strvec_clear(&t->warnings);
	}
	free(r->tasks);
	for (size_t i = 0; i < r->nr_bands; i++)
		strbuf_release(&r->bands[i].message);
	free(r->bands);
	free(r->plan_name);
	free(r->plan_path);
	free(r->backend);
	free(r->status);
	free(r->host);
}

/* Where an attempt without an end stops: the run's end, else now. */
static int64_t attempt_end(const struct rep_run *r,
			   const struct rep_attempt *a)
{
	int64_t e = a->has_end ? a->end : r->has_end ? r->end : r->now;
	return e < a->start ? a->start : e;
}

static void window(struct rep_run *r)
{
	int64_t lo = r->start, hi = r->has_end ? r->end : r->now;

	for (size_t i = 0; i < r->nr_tasks; i++) {
		const struct rep_task *t = &r->tasks[i];
		for (size_t j = 0; j < t->nr_att; j++) {
			if (t->att[j].start < lo)
				lo = t->att[j].start;
			if (attempt_end(r, &t->att[j]) > hi)
				hi = attempt_end(r, &t->att[j]);
		}
		if (t->has_start && t->start < lo)
			lo = t->start;
		if (t->has_end && t->end > hi)
			hi = t->end;
	}
	for (size_t i = 0; i < r->nr_bands; i++) {
		if (r->bands[i].start < lo)
			lo = r->bands[i].start;
		if (r->bands[i].start > hi)
			hi = r->bands[i].start;
		if (r->bands[i].end > hi)
			hi = r->bands[i].end;
	}
	if (hi <= lo)
		hi = lo + 1000;
	r->t0 = lo;
	r->t1 = hi;
	for (size_t i = 0; i < r->nr_bands; i++)
		if (r->bands[i].end < 0)
			r->bands[i].end = hi;
}

/* ---- rendering ---- */

static const char css[] =
	":root{--ok:#2f9e44;--fail:#e03131;--to:#f08c00;--cancel:#868e96;"
	"--skip:#ced4da;--lost:#7048e8;--run:#1c7ed6;--queue:#adb5bd;"
	"--line:#e4e7eb;--muted:#5f6b7a;--cap:#f59f00}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;background:#f4f5f7;color:#1f2328;"
	"font:13px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,"
	"\"Helvetica Neue\",Arial,sans-serif}\n"
	"main{max-width:1240px;margin:0 auto;padding:18px 24px 32px}\n"
	"code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,"
	"Consolas,\"DejaVu Sans Mono\",\"Liberation Mono\",monospace;"
	"font-size:12px}\n"
	"header{display:flex;align-items:baseline;gap:12px;"
	"flex-wrap:wrap;margin-bottom:10px}\n"
	"h1{font-size:20px;margin:0;font-weight:650}\n"
	".kicker{color:var(--muted);font-size:12px;width:100%;"
	"text-transform:uppercase;letter-spacing:.06em}\n"
	"h2{font-size:14px;margin:22px 0 8px;font-weight:650}\n"
	".card{background:#fff;border:1px solid #dde1e6;border-radius:8px}\n"
	".summary{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));"
	"gap:10px 24px;margin:0;padding:14px 16px}\n"
	".summary div{min-width:0}\n"
	".summary dt{color:var(--muted);font-size:11px;"
	"text-transform:uppercase;letter-spacing:.05em}\n"
	".summary dd{margin:2px 0 0;font-weight:550;overflow-wrap:anywhere}\n"
	".summary .wide{grid-column:span 2}\n"
	".counts{display:flex;gap:14px;flex-wrap:wrap}\n"
	".counts span{white-space:nowrap}\n"
	".dot{display:inline-block;width:9px;height:9px;border-radius:50%;"
	"margin-right:5px;vertical-align:0}\n"
	".badge{display:inline-block;padding:1px 8px;border-radius:10px;"
	"font-size:12px;font-weight:600;color:#fff;white-space:nowrap}\n"
	".st-succeeded{background:var(--ok)}\n"
	".st-failed,.st-error{background:var(--fail)}\n"
	".st-timed_out{background:var(--to)}\n"
	".st-cancelled,.st-interrupted{background:var(--cancel)}\n"
	".st-skipped{background:repeating-linear-gradient(135deg,"
	"#e9ecef 0 3px,#ced4da 3px 5px);color:#343a40}\n"
	".st-lost{background:var(--lost)}\n"
	".st-running{background:var(--run)}\n"
	".st-queued,.st-other{background:var(--queue)}\n"
	".legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:0 0 8px;"
	"color:var(--muted);font-size:12px;align-items:center}\n"
	".legend span{display:inline-flex;align-items:center;gap:6px}\n"
	".sw{display:inline-block;width:18px;height:10px;border-radius:2px}\n"
	".sw.cap{background:rgba(245,159,0,.22);"
	"border-left:2px solid var(--cap)}\n"
	".sw.gap{height:0;border-top:2px dashed #868e96;border-radius:0}\n"
	".axis-note{color:var(--muted);font-size:12px;margin:0 0 8px}\n"
	".chart{padding:6px 8px;overflow-x:auto}\n"
	".chart svg{display:block;max-width:100%;height:auto}\n"
	"svg text{font-size:11px;fill:#343a40}\n"
	"svg .tick{fill:var(--muted);font-size:10.5px}\n"
	"svg .grid{stroke:var(--line);stroke-width:1}\n"
	"svg .axis{stroke:#adb5bd;stroke-width:1}\n"
	"svg .alt{fill:#f8f9fa}\n"
	"svg .label{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"
	"\"DejaVu Sans Mono\",monospace;font-size:11px}\n"
	"svg a:hover .label{fill:#1c7ed6;text-decoration:underline}\n"
	"svg .note{fill:var(--muted);font-size:10.5px}\n"
	"svg .in{fill:#fff;font-size:10px;font-weight:600}\n"
	"svg .in.dark{fill:#343a40}\n"
	"svg .bar,svg .mark{stroke:rgba(0,0,0,.18);stroke-width:.5}\n"
	"svg .bar.st-succeeded,svg .dot.st-succeeded{fill:var(--ok)}\n"
	"svg .bar.st-failed,svg .dot.st-failed,svg .bar.st-error{"
	"fill:var(--fail)}\n"
	"svg .bar.st-timed_out,svg .dot.st-timed_out{fill:var(--to)}\n"
	"svg .bar.st-cancelled,svg .dot.st-cancelled,svg .bar.st-interrupted"
	"{fill:var(--cancel)}\n"
	"svg .st-skipped{fill:url(#hatch)}\n"
	"svg .bar.st-lost,svg .dot.st-lost{fill:var(--lost)}\n"
	"svg .bar.st-running,svg .dot.st-running{fill:var(--run)}\n"
	"svg .st-queued,svg .st-other{fill:var(--queue)}\n"
	"svg .gap{stroke:#868e96;stroke-width:1.5;stroke-dasharray:3 3}\n"
	"svg .capwait{fill:rgba(245,159,0,.16)}\n"
	"svg .capedge{stroke:var(--cap);stroke-width:1.5}\n"
	"svg .capmark{fill:var(--cap)}\n"
	"table{border-collapse:collapse;width:100%}\n"
	"th,td{text-align:left;padding:6px 10px;border-bottom:1px solid "
	"var(--line);vertical-align:top}\n"
	"tbody tr:last-child td{border-bottom:0}\n"
	"tbody tr:hover{background:#f8f9fa}\n"
	"tbody tr:target{background:#fff9db}\n"
	"th{font-size:11px;font-weight:600;text-transform:uppercase;"
	"letter-spacing:.04em;color:var(--muted);background:#f8f9fa}\n"
	".num{text-align:right;font-variant-numeric:tabular-nums;"
	"white-space:nowrap}\n"
	"td.reason,td.warn{overflow-wrap:anywhere;max-width:320px}\n"
	"td.warn div{color:#b35c00}\n"
	".chg{white-space:nowrap;font-variant-numeric:tabular-nums}\n"
	".add{color:#2b8a3e}.mod{color:#1864ab}.del{color:#c92a2a}"
	".zero{color:#adb5bd}\n"
	".none{color:#adb5bd}\n"
	"a{color:#1864ab;text-decoration:none}a:hover{text-decoration:"
	"underline}\n"
	"td.files,td.mono{white-space:nowrap}\n"
	"footer{margin-top:18px;color:var(--muted);font-size:11.5px}\n"
	".rv{margin:0 0 12px;padding:12px 16px}\n"
	".rv h3{font-size:14px;margin:0 0 6px;display:flex;gap:10px;"
	"align-items:center;flex-wrap:wrap}\n"
	".rv .meta{color:var(--muted);margin:2px 0 6px}\n"
	".rv .reason{color:#c92a2a;margin:0 0 6px;overflow-wrap:anywhere}\n"
	".flag{display:inline-block;padding:0 7px;border-radius:9px;"
	"font-size:11.5px;font-weight:600;border:1px solid}\n"
	".fl-large-deletion,.fl-secret{color:#c92a2a;border-color:#ffa8a8;"
	"background:#fff5f5}\n"
	".fl-conflict{color:#d9480f;border-color:#ffc078;background:#fff4e6}"
	"\n"
	".fl-outside-area,.fl-refused{color:#9c6500;border-color:#ffe066;"
	"background:#fff9db}\n"
	".fl-no-tests{color:#495057;border-color:#ced4da;background:#f1f3f5}"
	"\n"
	".fl-none{color:#2b8a3e;border-color:#b2f2bb;background:#ebfbee}\n"
	".said{white-space:pre-wrap;margin:6px 0;padding:8px 12px;"
	"border-left:3px solid #74c0fc;background:#f8fbff;"
	"overflow-wrap:anywhere;max-height:240px;overflow:auto}\n"
	".rv table.files{width:auto}.rv table.files td{padding:3px 10px}\n"
	".rv details{margin:6px 0 0}\n"
	".rv summary{cursor:pointer;font-family:ui-monospace,monospace;"
	"font-size:12px}\n"
	"pre.diff{margin:4px 0 0;padding:6px 0;background:#fbfbfc;"
	"border:1px solid var(--line);border-radius:6px;overflow:auto;"
	"max-height:420px;font-size:12px;line-height:1.4}\n"
	"pre.diff span{display:block;padding:0 10px;white-space:pre}\n"
	"pre.diff .dp{background:#e6ffec}pre.diff .dm{background:#ffebe9}\n"
	"pre.diff .dh{color:#0550ae;background:#ddf4ff}\n"
	"pre.diff .dn{color:var(--muted)}\n"
	"table.matrix{width:auto}table.matrix td,table.matrix th{"
	"text-align:center;padding:4px 8px}\n"
	"table.matrix td.lbl{text-align:left}\n"
	".cx-overlap{background:#ffe3e3;color:#c92a2a;font-weight:700}\n"
	".cx-file{background:#fff3bf;color:#9c6500;font-weight:700}\n"
	".cx-same{background:#ebfbee;color:#2b8a3e}\n"
	".cx-self{background:#f1f3f5}\n"
	"ul.clash{margin:8px 0 0;padding:0 16px 10px 32px}\n";

struct legend_item {
	const char *cls, *label;
};

static const struct legend_item legend[] = {
	{ "succeeded", "succeeded" }, { "failed", "failed" },
	{ "timed_out", "timed out" }, { "cancelled", "cancelled" },
	{ "skipped", "skipped" },     { "lost", "lost" },
	{ "running", "running" },
};

static const char *status_label(const char *s)
{
	return s && !strcmp(s, "timed_out") ? "timed out" : s ? s : "?";
}

static void badge(struct strbuf *sb, const char *status)
{
	strbuf_addf(sb, "<span class=\"badge st-%s\">", status_class(status));
	report_escape(sb, status_label(status));
	strbuf_addstr(sb, "</span>");
}

static void dt(struct strbuf *sb, const char *label, const char *cls)
{
	strbuf_addf(sb, "<div%s%s%s><dt>%s</dt><dd>", cls ? " class=\"" : "",
		    cls ? cls : "", cls ? "\"" : "", label);
}

static void render_summary(struct strbuf *sb, const struct rep_run *r,
			   const struct report_opts *opts)
{
	char buf[64];
	size_t count[ARRAY_SIZE(statuses) + 1] = { 0 };

	strbuf_addstr(sb, "<dl class=\"card summary\">");
	dt(sb, "Plan", "wide");
	report_escape(sb, r->plan_name);
	strbuf_addstr(sb, " <span class=\"mono\" style=\"font-weight:400;"
			  "color:var(--muted)\">");
	report_escape(sb, r->plan_path);
	strbuf_addstr(sb, "</span></dd></div>");
	dt(sb, "Status", NULL);
	badge(sb, r->status);
	if (r->has_exit)
		strbuf_addf(sb,
			    " <span style=\"font-weight:400\">exit %d"
			    "</span>",
			    r->exit_code);
	strbuf_addstr(sb, "</dd></div>");
	dt(sb, "Duration", NULL);
	time_format_elapsed((r->has_end ? r->end : r->now) - r->start, buf,
			    sizeof(buf));
	strbuf_addstr(sb, buf);
	if (!r->has_end)
		strbuf_addstr(sb, " so far");
	strbuf_addstr(sb, "</dd></div>");
	dt(sb, "Started", NULL);
	time_iso8601_utc_s(r->start, buf, sizeof(buf));
	strbuf_addstr(sb, buf);
	strbuf_addstr(sb, "</dd></div>");
	dt(sb, "Ended", NULL);
	if (r->has_end) {
		time_iso8601_utc_s(r->end, buf, sizeof(buf));
		strbuf_addstr(sb, buf);
	} else {
		time_iso8601_utc_s(r->now, buf, sizeof(buf));
		strbuf_addf(sb, "not yet (as of %s)", buf);
	}
	strbuf_addstr(sb, "</dd></div>");
	dt(sb, "Backend", NULL);
	report_escape(sb, r->backend);
	strbuf_addstr(sb, "</dd></div>");
	dt(sb, "Host", NULL);
	report_escape(sb, r->host);
	strbuf_addf(sb,
		    " <span style=\"font-weight:400;color:var(--muted)\">"
		    "pid %lld</span></dd></div>",
		    r->pid);

	for (size_t i = 0; i < r->nr_tasks; i++) {
		const char *c = status_class(r->tasks[i].status);
		size_t k = 0;
		while (k < ARRAY_SIZE(statuses) && strcmp(statuses[k], c))
			k++;
		count[k]++;
	}
	dt(sb, "Tasks", "wide");
	strbuf_addf(sb, "<span class=\"counts\"><span>%zu total</span>",
		    r->nr_tasks);
	for (size_t k = 0; k <= ARRAY_SIZE(statuses); k++) {
		const char *c = k < ARRAY_SIZE(statuses) ? statuses[k]
							 : "other";
		if (!count[k])
			continue;
		strbuf_addf(sb, "<span><span class=\"dot st-%s\"></span>%zu ",
			    c, count[k]);
		report_escape(sb, status_label(c));
		strbuf_addstr(sb, "</span>");
	}
	strbuf_addstr(sb, "</span></dd></div>");
	dt(sb, "Cost estimate", NULL);
	strbuf_addf(sb, "$%.4f</dd></div>", r->cost);
	dt(sb, "Results", NULL);
	if (!opts->link_base) {
		/*
		 * The page sits in the run folder: naming the folder by
		 * its path would make the page depend on where the state
		 * lives, and an archive of the folder on the machine.
		 */
		strbuf_addstr(sb, "the folder of this page");
	} else if (opts->run_dir) {
		strbuf_addstr(sb, "<span class=\"mono\">");
		report_escape(sb, opts->run_dir);
		strbuf_addstr(sb, "</span>");
	} else {
		strbuf_addstr(sb, "<span class=\"none\">&mdash;</span>");
	}
	strbuf_addstr(sb, "</dd></div></dl>\n");
}

struct plot {
	int64_t t0, span;
};

static double xpos(const struct plot *p, int64_t t)
{
	double x = PLOT_X0 +
		   (double)(t - p->t0) * (PLOT_X1 - PLOT_X0) / (double)p->span;
	return x < PLOT_X0 ? PLOT_X0 : x > PLOT_X1 ? PLOT_X1 : x;
}

static void render_axis(struct strbuf *sb, const struct plot *p, int height)
{
	int64_t step = report_tick_step(p->span, 10);
	char label[32];

	for (int64_t t = 0; t <= p->span; t += step) {
		double x = xpos(p, p->t0 + t);
		const char *anchor = "middle";
		if (t == 0)
			anchor = "start";
		else if (x > PLOT_X1 - 20)
			anchor = "end";
		report_format_tick(t, step, label, sizeof(label));
		strbuf_addf(sb,
			    "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" "
			    "x2=\"%.1f\" y2=\"%d\"/>"
			    "<text class=\"tick\" x=\"%.1f\" y=\"%d\" "
			    "text-anchor=\"%s\">%s</text>\n",
			    x, AXIS_H - 6, x, height - 4, x, AXIS_H - 11,
			    anchor, label);
	}
	strbuf_addf(sb,
		    "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" "
		    "y2=\"%d\"/>\n",
		    PLOT_X0, AXIS_H - 1, PLOT_X1, AXIS_H - 1);
}

static void render_bands(struct strbuf *sb, const struct rep_run *r,
			 const struct plot *p, int rows_h)
{
	for (size_t i = 0; i < r->nr_bands; i++) {
		const struct rep_band *b = &r->bands[i];
		double x0 = xpos(p, b->start), x1 = xpos(p, b->end);
		char dur[32];
		time_format_elapsed(b->end - b->start, dur, sizeof(dur));
		if (x1 - x0 < MIN_BAR_W)
			x1 = x0 + MIN_BAR_W;
		strbuf_addf(sb, "<g class=\"cap\"><title>cap wait, %s: ", dur);
		report_escape(sb, b->message.buf);
		strbuf_addf(sb,
			    "</title><rect class=\"capwait\" x=\"%.1f\" "
			    "y=\"%d\" width=\"%.1f\" height=\"%d\"/>"
			    "<line class=\"capedge\" x1=\"%.1f\" y1=\"%d\" "
			    "x2=\"%.1f\" y2=\"%d\"/>"
			    "<path class=\"capmark\" d=\"M%.1f %d l-5 -7 h10 "
			    "z\"/></g>\n",
			    x0, AXIS_H, x1 - x0, rows_h, x0, AXIS_H, x0,
			    AXIS_H + rows_h, x0, AXIS_H - 1);
	}
}

void report_format_usage(uint64_t memory_peak, uint64_t cpu_ms, char *buf,
			 size_t size)
{
	char mem[32];

	if (!memory_peak)
		snprintf(mem, sizeof(mem), "not measured");
	else if (memory_peak < (1u << 20))
		snprintf(mem, sizeof(mem), "%.1f KiB",
			 (double)memory_peak / 1024);
	else if (memory_peak < (1u << 30))
		snprintf(mem, sizeof(mem), "%.1f MiB",
			 (double)memory_peak / (1u << 20));
	else
		snprintf(mem, sizeof(mem), "%.2f GiB",
			 (double)memory_peak / (1u << 30));
	snprintf(buf, size, "peak memory %s, CPU %.2f s", mem,
		 (double)cpu_ms / 1000);
}

/* The last attempt's peak memory and CPU time, as its reason is. */
static void usage_cell(struct strbuf *sb, const struct rep_task *t)
{
	const struct rep_attempt *a = t->nr_att ? &t->att[t->nr_att - 1]
						: NULL;
	char use[64];

	if (!a || !a->has_usage) {
		strbuf_addstr(sb, "<td class=\"none\">&mdash;</td>");
		return;
	}
	report_format_usage(a->memory_peak, a->cpu_ms, use, sizeof(use));
	strbuf_addf(sb, "<td>%s</td>", use);
}

static void attempt_title(struct strbuf *sb, const struct rep_task *t,
			  const struct rep_attempt *a, int64_t end)
{
	char dur[32], when[40];
	time_format_elapsed(end - a->start, dur, sizeof(dur));
	time_iso8601_utc_s(a->start, when, sizeof(when));
	strbuf_addstr(sb, "<title>");
	report_escape(sb, t->id);
	strbuf_addf(sb, " attempt %d: ", a->n);
	report_escape(sb, status_label(a->status));
	strbuf_addf(sb, ", %s%s from %s", dur, a->has_end ? "" : " (no end)",
		    when);
	if (a->has_exit)
		strbuf_addf(sb, ", exit %d", a->exit_code);
	if (a->reason && *a->reason) {
		strbuf_addstr(sb, "\n");
		report_escape(sb, a->reason);
	}
	if (a->has_usage) {
		char use[64];
		report_format_usage(a->memory_peak, a->cpu_ms, use,
				    sizeof(use));
		strbuf_addf(sb, "\n%s", use);
	}
	if (a->sandbox && *a->sandbox) {
		strbuf_addstr(sb, "\nsandbox ");
		report_escape(sb, a->sandbox);
	}
	strbuf_addstr(sb, "</title>");
}

/* A task that never ran (skipped, cancelled, queued): a mark and why. */
static void render_mark(struct strbuf *sb, const struct rep_run *r,
			const struct rep_task *t, const struct plot *p, int y)
{
	int64_t at = t->has_end ? t->end : t->has_start ? t->start : r->t0;
	const char *cls = status_class(t->status);
	double x = xpos(p, at);
	bool left;

	if (x > PLOT_X1 - MARK_W)
		x = PLOT_X1 - MARK_W;
	left = x > PLOT_X1 - 360;
	strbuf_addstr(sb, "<g>");
	if (strcmp(cls, "queued")) {
		strbuf_addf(sb,
			    "<rect class=\"mark st-%s\" x=\"%.1f\" y=\"%d\" "
			    "width=\"%.1f\" height=\"%d\" rx=\"2\"/>",
			    cls, x, y + (ROW_H - BAR_H) / 2, MARK_W, BAR_H);
	}
	strbuf_addf(sb, "<text class=\"note\" x=\"%.1f\" y=\"%d\"%s>",
		    left ? x - 5 : x + MARK_W + 5, y + ROW_H / 2 + 4,
		    left ? " text-anchor=\"end\"" : "");
	report_escape(sb, status_label(t->status));
	if (t->reason && *t->reason) {
		strbuf_addstr(sb, ": ");
		escape_cut(sb, t->reason, NOTE_CHARS);
	}
	strbuf_addstr(sb, "</text></g>\n");
}

static void render_row(struct strbuf *sb, const struct rep_run *r,
		       const struct rep_task *t, const struct plot *p,
		       size_t i)
{
	int y = AXIS_H + (int)i * ROW_H;
	int mid = y + ROW_H / 2;

	strbuf_addstr(sb, "<a href=\"#task-");
	report_escape(sb, t->id);
	strbuf_addstr(sb, "\"><title>");
	report_escape(sb, t->id);
	strbuf_addstr(sb, ": ");
	report_escape(sb, status_label(t->status));
	strbuf_addf(sb,
		    "</title><circle class=\"dot st-%s\" cx=\"12\" cy=\"%d\" "
		    "r=\"4\"/><text class=\"label\" x=\"22\" y=\"%d\">",
		    status_class(t->status), mid, mid + 4);
	escape_cut(sb, t->id, LABEL_CHARS);
	strbuf_addstr(sb, "</text></a>\n");

	if (!t->nr_att) {
		render_mark(sb, r, t, p, y);
		return;
	}
	for (size_t j = 0; j < t->nr_att; j++) {
		const struct rep_attempt *a = &t->att[j];
		int64_t end = attempt_end(r, a);
		const char *cls = status_class(a->status);
		double x0 = xpos(p, a->start), x1 = xpos(p, end);
		double w = x1 - x0 < MIN_BAR_W ? MIN_BAR_W : x1 - x0;
		char dur[32];

		if (j > 0) {
			/* The retry backoff: from the previous end to here. */
			int64_t pend = attempt_end(r, &t->att[j - 1]);
			double px = xpos(p, pend);
			time_format_elapsed(a->start - pend, dur, sizeof(dur));
			strbuf_addf(sb,
				    "<line class=\"gap\" x1=\"%.1f\" "
				    "y1=\"%d\" x2=\"%.1f\" y2=\"%d\"><title>"
				    "wait before attempt %d: %s</title>"
				    "</line>\n",
				    px, mid, x0 > px ? x0 : px, mid, a->n,
				    dur);
		}
		strbuf_addf(sb, "<g><rect class=\"bar st-%s\" data-task=\"",
			    cls);
		report_escape(sb, t->id);
		strbuf_addf(sb,
			    "\" data-attempt=\"%d\" x=\"%.1f\" y=\"%d\" "
			    "width=\"%.1f\" height=\"%d\" rx=\"2\">",
			    a->n, x0, y + (ROW_H - BAR_H) / 2, w, BAR_H);
		attempt_title(sb, t, a, end);
		strbuf_addstr(sb, "</rect>");
		time_format_elapsed(end - a->start, dur, sizeof(dur));
		if (w >= 9.0 * (double)strlen(dur))
			strbuf_addf(sb,
				    "<text class=\"in%s\" x=\"%.1f\" y=\"%d\" "
				    "pointer-events=\"none\">%s</text>",
				    !strcmp(cls, "skipped") ? " dark" : "",
				    x0 + 4, mid + 3, dur);
		strbuf_addstr(sb, "</g>\n");
	}
}

static void render_timeline(struct strbuf *sb, const struct rep_run *r)
{
	struct plot p = { r->t0, r->t1 - r->t0 };
	int rows_h = (int)r->nr_tasks * ROW_H;
	int height = AXIS_H + rows_h + 8;
	char when[40];

	strbuf_addstr(sb, "<h2>Timeline</h2>\n<div class=\"legend\">");
	for (size_t i = 0; i < ARRAY_SIZE(legend); i++)
		strbuf_addf(sb, "<span><i class=\"sw st-%s\"></i>%s</span>",
			    legend[i].cls, legend[i].label);
	strbuf_addstr(sb, "<span><i class=\"sw cap\"></i>cap wait</span>"
			  "<span><i class=\"sw gap\"></i>wait before a retry"
			  "</span></div>\n");
	time_iso8601_utc_s(r->t0, when, sizeof(when));
	strbuf_addf(sb,
		    "<div class=\"axis-note\">Time since %s (UTC). One bar "
		    "per attempt; hover for details.</div>\n",
		    when);
	strbuf_addf(sb,
		    "<div class=\"card chart\"><svg class=\"timeline\" "
		    "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		    "role=\"img\" aria-label=\"timeline of the tasks\">\n",
		    SVG_W, height, SVG_W, height);
	strbuf_addstr(sb,
		      "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" "
		      "patternUnits=\"userSpaceOnUse\" "
		      "patternTransform=\"rotate(45)\"><rect width=\"6\" "
		      "height=\"6\" fill=\"#eef0f2\"/><rect width=\"2.5\" "
		      "height=\"6\" fill=\"#bfc5cc\"/></pattern></defs>\n");
	for (size_t i = 1; i < r->nr_tasks; i += 2)
		strbuf_addf(sb,
			    "<rect class=\"alt\" x=\"0\" y=\"%d\" "
			    "width=\"%d\" height=\"%d\"/>\n",
			    AXIS_H + (int)i * ROW_H, SVG_W, ROW_H);
	render_axis(sb, &p, height);
	render_bands(sb, r, &p, rows_h);
	for (size_t i = 0; i < r->nr_tasks; i++)
		render_row(sb, r, &r->tasks[i], &p, i);
	if (!r->nr_tasks)
		strbuf_addf(sb,
			    "<text class=\"note\" x=\"%d\" y=\"%d\">no tasks"
			    "</text>\n",
			    PLOT_X0, AXIS_H + 14);
	strbuf_addstr(sb, "</svg></div>\n");
}

/*
 * A link to tasks/ID/name, when the file exists (or when we cannot
 * tell). Returns whether it wrote one.
 */
static bool file_link(struct strbuf *sb, const struct report_opts *opts,
		      const char *task, const char *name, const char *label,
		      bool sep)
{
	char *rel = xstrfmt("tasks/%s/%s", task, name);
	bool ok = true;

	if (opts->run_dir) {
		char *path = fs_join(opts->run_dir, rel);
		ok = fs_exists(path);
		free(path);
	}
	if (ok) {
		struct strbuf url = STRBUF_INIT;
		if (opts->link_base)
			strbuf_addstr(&url, opts->link_base);
		url_encode(&url, rel);
		strbuf_addf(sb, "%s<a href=\"", sep ? " &middot; " : "");
		report_escape(sb, url.buf);
		strbuf_addf(sb, "\">%s</a>", label);
		strbuf_release(&url);
	}
	free(rel);
	return ok;
}

static const char none[] = "<span class=\"none\">&mdash;</span>";

static void changes_cell(struct strbuf *sb, const struct rep_task *t)
{
	strbuf_addf(sb,
		    "<td class=\"chg\"><span class=\"%s\">+%lld</span> "
		    "<span class=\"%s\">~%lld</span> "
		    "<span class=\"%s\">-%lld</span></td>",
		    t->added ? "add" : "zero", t->added,
		    t->modified ? "mod" : "zero", t->modified,
		    t->deleted ? "del" : "zero", t->deleted);
}

static void render_table(struct strbuf *sb, const struct rep_run *r,
			 const struct report_opts *opts)
{
	strbuf_addstr(sb,
		      "<h2>Tasks</h2>\n<div class=\"card\" style=\"overflow-x:"
		      "auto\"><table><thead><tr><th>Task</th><th>Status</th>"
		      "<th class=\"num\">Attempts</th><th class=\"num\">"
		      "Duration</th><th class=\"num\">Exit</th><th>Usage"
		      "</th><th>Changes"
		      "</th><th>Warnings</th><th>Reason</th><th>Files</th>"
		      "</tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < r->nr_tasks; i++) {
		const struct rep_task *t = &r->tasks[i];
		char dur[32];
		bool any;

		strbuf_addstr(sb, "<tr id=\"task-");
		report_escape(sb, t->id);
		strbuf_addstr(sb, "\"><td class=\"mono\">");
		report_escape(sb, t->id);
		strbuf_addstr(sb, "</td><td>");
		badge(sb, t->status);
		if (t->has_start && t->has_end)
			time_format_elapsed(t->end - t->start, dur,
					    sizeof(dur));
		else
			snprintf(dur, sizeof(dur), "&mdash;");
		strbuf_addf(sb,
			    "</td><td class=\"num\">%d</td>"
			    "<td class=\"num\">%s</td>",
			    t->attempts, dur);
		if (t->has_exit)
			strbuf_addf(sb, "<td class=\"num\">%d</td>",
				    t->exit_code);
		else
			strbuf_addstr(sb, "<td class=\"num none\">&mdash;"
					  "</td>");
		usage_cell(sb, t);
		changes_cell(sb, t);
		strbuf_addstr(sb, "<td class=\"warn\">");
		for (size_t w = 0; w < t->warnings.nr; w++) {
			strbuf_addstr(sb, "<div>");
			report_escape(sb, t->warnings.v[w]);
			strbuf_addstr(sb, "</div>");
		}
		if (!t->warnings.nr)
			strbuf_addstr(sb, none);
		strbuf_addstr(sb, "</td><td class=\"reason\">");
		if (t->reason && *t->reason)
			report_escape(sb, t->reason);
		else if (!t->agent)
			strbuf_addstr(sb, none);
		if (t->agent) {
			strbuf_addstr(sb, "<div class=\"agent\">");
			escape_cut(sb, t->agent, 400);
			strbuf_addstr(sb, "</div>");
		}
		strbuf_addstr(sb, "</td><td class=\"files\">");
		any = file_link(sb, opts, t->id, "output.log", "log", false);
		any |= file_link(sb, opts, t->id, "changes.patch", "patch",
				 any);
		any |= file_link(sb, opts, t->id, "result.json", "result",
				 any);
		if (!any)
			strbuf_addstr(sb, none);
		strbuf_addstr(sb, "</td></tr>\n");
	}
	strbuf_addstr(sb, "</tbody></table></div>\n");
}

/* ---- the review section (review.h) ---- */

static void flag_chips(struct strbuf *sb, unsigned flags)
{
	bool any = false;
	for (int i = 0; i < REVIEW_NR_FLAGS; i++) {
		const char *name = review_flag_name(1u << i);
		if (!(flags & (1u << i)))
			continue;
		strbuf_addf(sb, "<span class=\"flag fl-%s\">%s</span>", name,
			    name);
		any = true;
	}
	if (!any)
		strbuf_addstr(sb,
			      "<span class=\"flag fl-none\">no flags</span>");
}

static void flag_list(struct strbuf *sb, unsigned flags)
{
	bool first = true;
	for (int i = 0; i < REVIEW_NR_FLAGS; i++)
		if (flags & (1u << i)) {
			strbuf_addf(sb, "%s%s", first ? "" : " ",
				    review_flag_name(1u << i));
			first = false;
		}
}

/* A diff, one span per line, classed by its first character. */
static void diff_block(struct strbuf *sb, const struct review_file *f)
{
	const char *p = f->diff.buf, *end = p + f->diff.len;

	strbuf_addstr(sb, "<pre class=\"diff\">");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = xstrndup(p, n);
		const char *cls = "";
		if (!strncmp(line, "+++ ", 4) || !strncmp(line, "--- ", 4))
			cls = " class=\"dn\"";
		else if (line[0] == '+')
			cls = " class=\"dp\"";
		else if (line[0] == '-')
			cls = " class=\"dm\"";
		else if (line[0] == '@')
			cls = " class=\"dh\"";
		else if (line[0] == '\\')
			cls = " class=\"dn\"";
		strbuf_addf(sb, "<span%s>", cls);
		report_escape(sb, line);
		strbuf_addstr(sb, "</span>");
		free(line);
		p += n + 1;
	}
	if (f->diff_cut)
		strbuf_addf(sb,
			    "<span class=\"dn\">&hellip; %ld more line%s in "
			    "changes.patch</span>",
			    f->diff_cut, f->diff_cut == 1 ? "" : "s");
	strbuf_addstr(sb, "</pre>");
}

static void review_files(struct strbuf *sb, const struct review_task *t)
{
	strbuf_addstr(sb, "<table class=\"files\"><tbody>\n");
	for (size_t k = 0; k < t->nr_files; k++) {
		const struct review_file *f = &t->files[k];
		strbuf_addf(sb,
			    "<tr><td class=\"%s\">%c</td>"
			    "<td class=\"mono path\">",
			    f->kind == 'A'   ? "add"
			    : f->kind == 'M' ? "mod"
					     : "del",
			    f->kind);
		report_escape(sb, f->path);
		strbuf_addf(sb,
			    "</td><td class=\"chg\"><span class=\"add\">+%ld"
			    "</span> <span class=\"del\">-%ld</span></td><td>",
			    f->ins, f->del);
		if (f->refused) {
			strbuf_addstr(sb, "<span class=\"flag fl-");
			strbuf_addstr(sb, f->secret ? "secret" : "refused");
			strbuf_addstr(sb, "\">refused</span> ");
			report_escape(sb,
				      f->note ? f->note : "not pulled back");
		} else if (!f->pulled) {
			strbuf_addstr(sb, "not pulled back: ");
			report_escape(sb, f->note ? f->note : "");
		} else if (f->binary) {
			strbuf_addstr(sb, "binary");
		} else if (f->patch_note) {
			report_escape(sb, f->patch_note);
		}
		if (f->outside)
			strbuf_addstr(sb, " <span class=\"flag "
					  "fl-outside-area\">outside-area"
					  "</span>");
		strbuf_addstr(sb, "</td></tr>\n");
	}
	strbuf_addstr(sb, "</tbody></table>\n");
	for (size_t k = 0; k < t->nr_files; k++) {
		const struct review_file *f = &t->files[k];
		if (!f->diff.len)
			continue;
		/* Deleted files start folded: their lines are no news. */
		strbuf_addf(sb, "<details%s><summary>",
			    f->kind == 'D' ? "" : " open");
		report_escape(sb, f->path);
		strbuf_addf(sb, " (+%ld -%ld)</summary>", f->ins, f->del);
		diff_block(sb, f);
		strbuf_addstr(sb, "</details>\n");
	}
}

static void review_task_card(struct strbuf *sb, const struct review_task *t)
{
	strbuf_addstr(sb, "<section class=\"card rv\" id=\"review-");
	report_escape(sb, t->id);
	strbuf_addstr(sb, "\" data-flags=\"");
	flag_list(sb, t->flags);
	strbuf_addstr(sb, "\"><h3><span class=\"mono\">");
	report_escape(sb, t->id);
	strbuf_addstr(sb, "</span>");
	badge(sb, t->status);
	flag_chips(sb, t->flags);
	strbuf_addstr(sb, "</h3>\n");
	if (t->reason && *t->reason) {
		strbuf_addstr(sb, "<div class=\"reason\">");
		report_escape(sb, t->reason);
		strbuf_addstr(sb, "</div>\n");
	}
	strbuf_addf(sb, "<div class=\"meta\">cost $%.4f", t->cost_usd);
	if (t->cost_source) {
		strbuf_addstr(sb, " (");
		report_escape(sb, t->cost_source);
		strbuf_addstr(sb, ")");
	}
	if (t->has_tokens)
		strbuf_addf(sb,
			    " &middot; tokens %lld in, %lld out, %lld cache "
			    "read, %lld cache write",
			    t->tok_in, t->tok_out, t->tok_cache_read,
			    t->tok_cache_write);
	if (t->model) {
		strbuf_addstr(sb, " &middot; ");
		report_escape(sb, t->model);
	}
	strbuf_addstr(sb, " &middot; tests: ");
	if (t->tests) {
		strbuf_addstr(sb, "ran <code>");
		report_escape(sb, t->tests);
		strbuf_addstr(sb, "</code>");
	} else {
		strbuf_addstr(sb, "none seen");
	}
	if (t->has_changes)
		strbuf_addf(sb,
			    " &middot; %zu added, %zu modified, %zu deleted, "
			    "%zu refused; <span class=\"add\">+%ld</span> "
			    "<span class=\"del\">-%ld</span> lines",
			    t->nr_added, t->nr_modified, t->nr_deleted,
			    t->nr_refused, t->ins, t->del);
	if (t->area.nr) {
		strbuf_addstr(sb, " &middot; usual area:");
		for (size_t k = 0; k < t->area.nr; k++) {
			strbuf_addstr(sb, " <code>");
			report_escape(sb, t->area.v[k]);
			strbuf_addstr(sb, "</code>");
		}
	}
	strbuf_addstr(sb, "</div>\n");
	if (t->summary && *t->summary) {
		strbuf_addstr(sb, "<div class=\"said\" title=\"the agent's "
				  "final summary\">");
		report_escape(sb, t->summary);
		strbuf_addstr(sb, "</div>\n");
	}
	for (size_t k = 0; k < t->notes.nr; k++) {
		strbuf_addstr(sb, "<div class=\"meta\">");
		report_escape(sb, t->notes.v[k]);
		strbuf_addstr(sb, "</div>\n");
	}
	if (t->nr_files)
		review_files(sb, t);
	strbuf_addstr(sb, "</section>\n");
}

static const char *cell_class(const struct review *rv, size_t a, size_t b,
			      const char **text)
{
	if (a == b)
		return *text = "", "cx-self";
	if (review_conflicting(rv, a, b, true))
		return *text = "X", "cx-overlap";
	if (review_conflicting(rv, a, b, false))
		return *text = "~", "cx-file";
	for (size_t k = 0; k < rv->nr_conflicts; k++) {
		const struct review_conflict *c = &rv->conflicts[k];
		if ((c->a == a && c->b == b) || (c->a == b && c->b == a))
			return *text = "=", "cx-same";
	}
	return *text = "", "cx-none";
}

static void review_matrix(struct strbuf *sb, const struct review *rv)
{
	size_t *idx = xcalloc(rv->nr_tasks + 1, sizeof(*idx)), n = 0;

	for (size_t i = 0; i < rv->nr_tasks; i++)
		for (size_t k = 0; k < rv->nr_conflicts; k++)
			if (rv->conflicts[k].a == i ||
			    rv->conflicts[k].b == i) {
				idx[n++] = i;
				break;
			}
	strbuf_addstr(sb,
		      "<h2 id=\"conflicts\">Conflicts across tasks</h2>\n");
	if (!n) {
		strbuf_addstr(sb, "<div class=\"card rv\" id=\"no-conflicts\">"
				  "No two tasks changed the same file.</div>"
				  "\n");
		free(idx);
		return;
	}
	strbuf_addstr(sb,
		      "<div class=\"legend\"><span><i class=\"sw cx-overlap\">"
		      "</i>X overlapping changes</span><span><i class=\"sw "
		      "cx-file\"></i>~ the same files, other hunks</span>"
		      "<span><i class=\"sw cx-same\"></i>= the same change"
		      "</span></div>\n<div class=\"card\" style=\"overflow-x:"
		      "auto\"><table class=\"matrix\" id=\"matrix\"><thead>"
		      "<tr><th></th>");
	for (size_t c = 0; c < n; c++)
		strbuf_addf(sb, "<th>%zu</th>", c + 1);
	strbuf_addstr(sb, "</tr></thead><tbody>\n");
	for (size_t row = 0; row < n; row++) {
		strbuf_addf(sb, "<tr><td class=\"lbl mono\">%zu ", row + 1);
		report_escape(sb, rv->tasks[idx[row]].id);
		strbuf_addstr(sb, "</td>");
		for (size_t c = 0; c < n; c++) {
			const char *text;
			const char *cls =
				cell_class(rv, idx[row], idx[c], &text);
			strbuf_addf(sb, "<td class=\"%s\">%s</td>", cls, text);
		}
		strbuf_addstr(sb, "</tr>\n");
	}
	strbuf_addstr(sb, "</tbody></table>\n<ul class=\"clash\">\n");
	for (size_t k = 0; k < rv->nr_conflicts; k++) {
		const struct review_conflict *c = &rv->conflicts[k];
		strbuf_addf(sb, "<li class=\"%s\"><span class=\"mono\">",
			    c->same	 ? "same"
			    : c->overlap ? "overlap"
					 : "file");
		report_escape(sb, rv->tasks[c->a].id);
		strbuf_addstr(sb, "</span> and <span class=\"mono\">");
		report_escape(sb, rv->tasks[c->b].id);
		strbuf_addstr(sb, "</span>: <code>");
		report_escape(sb, c->path);
		strbuf_addf(sb, "</code> &mdash; %s (",
			    c->same	 ? "same change"
			    : c->overlap ? "overlap"
					 : "same file");
		report_escape(sb, c->why);
		strbuf_addstr(sb, ")</li>\n");
	}
	strbuf_addstr(sb, "</ul></div>\n");
	free(idx);
}

static void render_review(struct strbuf *sb, const struct review *rv)
{
	strbuf_addstr(sb, "<h2 id=\"review\">Review</h2>\n"
			  "<div class=\"axis-note\">Every task with what it "
			  "did, the flags a reviewer looks at first, and its "
			  "diff. <code>runner review</code> shows the same "
			  "in a terminal; <code>runner apply RUN --all</code> "
			  "applies what does not conflict.</div>\n");
	/* What cannot go in together first: it decides what to read. */
	review_matrix(sb, rv);
	for (size_t i = 0; i < rv->nr_tasks; i++)
		review_task_card(sb, &rv->tasks[i]);
}

static void render(struct strbuf *sb, const struct rep_run *r,
		   const struct review *rv, const struct report_opts *opts)
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
	report_escape(sb, r->plan_name);
	strbuf_addstr(sb, " &middot; run ");
	report_escape(sb, r->id);
	strbuf_addstr(sb, "</title>\n<style>\n");
	strbuf_addstr(sb, css);
	strbuf_addstr(sb, "</style></head>\n<body><main>\n<header>"
			  "<div class=\"kicker\">runner &middot; run report"
			  "</div><h1 class=\"mono\" "
			  "style=\"font-size:19px\">");
	report_escape(sb, r->id);
	strbuf_addstr(sb, "</h1>");
	badge(sb, r->status);
	strbuf_addstr(sb, "</header>\n");
	render_summary(sb, r, opts);
	render_timeline(sb, r);
	render_table(sb, r, opts);
	render_review(sb, rv);
	strbuf_addstr(sb, "<footer>Written by runner " RUNNER_VERSION
			  " from the state database. All times are UTC. "
			  "This page is self-contained: it loads nothing."
			  "</footer>\n</main></body></html>\n");
}

int report_build(struct store *st, const char *run_id,
		 const struct report_opts *opts, struct strbuf *out,
		 struct strbuf *err)
{
	struct rep_run r;
	struct review rv;
	int ret = -1;

	memset(&r, 0, sizeof(r));
	memset(&rv, 0, sizeof(rv));
	r.id = run_id;
	r.now = opts->now_ms ? opts->now_ms : time_now_ms();
	if (load_run(st, &r, err) < 0 || load_rows(st, &r, err) < 0 ||
	    load_agents(st, &r, err) < 0 ||
	    review_load(st, run_id, &rv, err) < 0)
		goto out;
	window(&r);
	render(out, &r, &rv, opts);
	ret = 0;
out:
	review_release(&rv);
	rep_run_release(&r);
	return ret;
}

int report_write(struct store *st, const char *run_id,
		 const struct report_opts *opts, const char *path,
		 struct strbuf *err)
{
	struct strbuf page = STRBUF_INIT;
	int ret = -1;

	if (report_build(st, run_id, opts, &page, err) < 0)
		goto out;
	if (fs_write_atomic(path, page.buf, page.len, 0644, err) < 0)
		goto out;
	ret = 0;
out:
	strbuf_release(&page);
	return ret;
}
