#include "runner.h"
#include "fs.h"
#include "report.h"
#include "store.h"
#include "store-internal.h"
#include "tap.h"

#include <sys/stat.h>

/* The timeline's plot area, as report.c draws it. */
#define PLOT_X0 204.0
#define PLOT_X1 1160.0

static void test_escape(void)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "plain text", "plain text" },
		{ "<script>alert(\"x\")</script>",
		  "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" },
		{ "a&b'c", "a&amp;b&#39;c" },
		{ "&amp;", "&amp;amp;" },
		{ "tab\tnl\ncr\r", "tab\tnl\ncr\r" },
		{ "bell\x07" "del\x7f", "bell\xef\xbf\xbd" "del\xef\xbf\xbd" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
		{ "", "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct strbuf sb = STRBUF_INIT;
		report_escape(&sb, rows[i].in);
		is_str(sb.buf, rows[i].want, "escape row %zu", i);
		strbuf_release(&sb);
	}
	{
		struct strbuf sb = STRBUF_INIT;
		report_escape(&sb, NULL);
		is_str(sb.buf, "", "escape NULL appends nothing");
		strbuf_release(&sb);
	}
}

static void test_file_url(void)
{
	static const struct {
		const char *path;
		int dir;
		const char *want;
	} rows[] = {
		{ "/srv/state/runs/R1", 1, "file:///srv/state/runs/R1/" },
		{ "/srv/state/runs/R1/", 1, "file:///srv/state/runs/R1/" },
		{ "/srv/state/runs/R1", 0, "file:///srv/state/runs/R1" },
		{ "/a b/c#d?e%f", 0, "file:///a%20b/c%23d%3Fe%25f" },
		{ "/x/\"<'>&", 0, "file:///x/%22%3C%27%3E%26" },
		{ "/caf\xc3\xa9/a_b.c~d-e", 0, "file:///caf%C3%A9/a_b.c~d-e" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct strbuf sb = STRBUF_INIT;
		report_file_url(&sb, rows[i].path, rows[i].dir);
		is_str(sb.buf, rows[i].want, "file url row %zu", i);
		strbuf_release(&sb);
	}
}

static void test_ticks(void)
{
	static const struct {
		int64_t span;
		int max;
		int64_t want;
	} steps[] = {
		{ 0, 10, 1 },
		{ 1, 10, 1 },
		{ 10, 10, 1 },
		{ 11, 10, 2 },
		{ 300, 10, 50 },
		{ 1000, 10, 100 },
		{ 2400, 10, 250 },
		{ 7000, 10, 1000 },
		{ 59000, 10, 10000 },
		{ 140000, 10, 15000 },
		{ 600000, 10, 60000 },
		{ 5400000, 10, 600000 },
		{ 9000000, 10, 900000 },
		{ 259200000, 10, 43200000 },
		{ 2592000000LL, 10, 259200000 },
		{ 5000, 0, 5000 },
	};
	static const struct {
		int64_t ms, step;
		const char *want;
	} labels[] = {
		{ 0, 50, "0" },
		{ 50, 50, "0.05s" },
		{ 5, 5, "0.005s" },
		{ 100, 100, "0.1s" },
		{ 250, 250, "0.25s" },
		{ 1500, 500, "1.5s" },
		{ 2000, 1000, "2s" },
		{ 45000, 5000, "45s" },
		{ 90000, 30000, "1m30s" },
		{ 900000, 300000, "15m" },
		{ 3600000, 600000, "1h00m" },
		{ 5400000, 1800000, "1h30m" },
		{ 194400000, 21600000, "2d06h" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		is_int(report_tick_step(steps[i].span, steps[i].max),
		       steps[i].want, "tick step for %" PRId64 " ms",
		       steps[i].span);
	for (size_t i = 0; i < ARRAY_SIZE(labels); i++) {
		char buf[32];
		report_format_tick(labels[i].ms, labels[i].step, buf,
				   sizeof(buf));
		is_str(buf, labels[i].want, "tick label %" PRId64 "/%" PRId64,
		       labels[i].ms, labels[i].step);
	}
}

/* ---- report_build on a real state ---- */

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/u-report.XXXXXX";
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		exit(1);
	}
	return xstrdup(tmpl);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/*
 * The x and width of the attempt bar of task/attempt, or -1 in *x when
 * there is none.
 */
static void bar_geometry(const char *page, const char *task, int attempt,
			 double *x, double *w)
{
	char *key = xstrfmt("data-task=\"%s\" data-attempt=\"%d\"", task,
			    attempt);
	const char *p = strstr(page, key);
	*x = *w = -1;
	if (p && sscanf(p + strlen(key), " x=\"%lf\" y=\"%*d\" width=\"%lf\"",
			x, w) != 2)
		*x = *w = -1;
	free(key);
}

static const char fixture[] =
	"INSERT INTO runs (id, plan_name, plan_path, plan_sha256, backend,"
	" status, started_at, ended_at, host, pid, tasks_total, exit_code)"
	" VALUES ('R1', 'nightly', 'plans/p\"<&>''.yaml', 'x', 'local',"
	" 'failed', 1000000, 1010000, 'host<1>', 42, 7, 1),"
	" ('R2', 'live', 'live.yaml', 'x', 'local', 'running', 2000000,"
	" NULL, 'h', 43, 1, NULL);\n"
	"INSERT INTO tasks (run_id, id, seq, status, reason, exit_code,"
	" attempts, started_at, ended_at, files_added, files_modified,"
	" files_deleted, cost_usd) VALUES"
	" ('R1', 'ok', 0, 'succeeded', NULL, 0, 1, 1000000, 1002000,"
	"  2, 1, 3, 0.25),"
	" ('R1', 'flaky', 1, 'succeeded', NULL, 0, 2, 1000000, 1003000,"
	"  0, 0, 0, 0.5),"
	" ('R1', 'bad', 2, 'failed',"
	"  '<script>alert(\"x\")</script> & ''q''', 3, 1, 1000000,"
	"  1000100, 0, 0, 0, 0),"
	" ('R1', 'dep', 3, 'skipped', 'dependency ''bad'' did not succeed',"
	"  NULL, 0, NULL, 1000200, 0, 0, 0, 0),"
	" ('R1', 'hung', 4, 'lost', 'the runner died', NULL, 1, 1004000,"
	"  NULL, 0, 0, 0, 0),"
	" ('R1', 'slow', 5, 'timed_out', 'timed out after 1.0s', 143, 1,"
	"  1001000, 1002000, 0, 0, 0, 0),"
	" ('R1', 'odd', 6, 'failed', NULL, 1, 1, 1005000, 1006000,"
	"  0, 0, 0, 0),"
	" ('R1', 'abcdefghijklmnopqrstuvwxyz0123', 7, 'skipped',"
	"  replace(hex(zeroblob(100)), '00', '\xc3\xa9'), NULL, 0, NULL,"
	"  1009990, 0, 0, 0, 0),"
	" ('R2', 'run', 0, 'running', NULL, NULL, 1, 2000000, NULL,"
	"  0, 0, 0, 0);\n"
	"INSERT INTO attempts (run_id, task_id, attempt, status, exit_code,"
	" reason, backend, sandbox_id, host, pid, started_at, ended_at)"
	" VALUES"
	" ('R1', 'ok', 1, 'succeeded', 0, NULL, 'local', 'sb-1', 'h', 42,"
	"  1000000, 1002000),"
	" ('R1', 'flaky', 1, 'failed', 1, 'exited with status 1', 'local',"
	"  NULL, 'h', 42, 1000000, 1000500),"
	" ('R1', 'flaky', 2, 'succeeded', 0, NULL, 'local', NULL, 'h', 42,"
	"  1001000, 1003000),"
	" ('R1', 'bad', 1, 'failed', 3, '<script>', 'local', NULL, 'h', 42,"
	"  1000000, 1000100),"
	" ('R1', 'hung', 1, 'lost', NULL, NULL, 'local', NULL, 'h', 42,"
	"  1004000, NULL),"
	" ('R1', 'slow', 1, 'timed_out', 143, NULL, 'local', NULL, 'h', 42,"
	"  1001000, 1002000),"
	" ('R1', 'odd', 1, 'x\" onmouseover=\"y', 1, NULL, 'local', NULL,"
	"  'h', 42, 1005000, 1006000),"
	" ('R2', 'run', 1, 'running', NULL, NULL, 'local', NULL, 'h', 43,"
	"  2000000, NULL);\n"
	"INSERT INTO events (at, run_id, task_id, level, kind, message)"
	" VALUES"
	" (1000300, 'R1', 'ok', 'warn', 'warning', 'ran past <30m>'),"
	" (1000400, 'R1', 'ok', 'warn', 'warning', 'second warning'),"
	" (1000400, 'R1', 'bad', 'info', 'task_finished', 'not a warning'),"
	" (1003500, 'R1', NULL, 'info', 'cap_wait', 'per_hour cap <x>'),"
	" (1003700, 'R1', NULL, 'info', 'cap_wait', 'next slot moved'),"
	" (1007000, 'R1', NULL, 'info', 'cap_wait', 'per_day cap'),"
	" (1000000, 'R2', NULL, 'info', 'warning', 'elsewhere');\n";

static void test_build(void)
{
	char *dir = make_tmpdir();
	struct store *st = NULL;
	struct strbuf err = STRBUF_INIT, page = STRBUF_INIT;
	struct strbuf again = STRBUF_INIT;
	struct report_opts opts = { NULL, NULL, 5000000 };
	double x, w;
	int rc;

	if (store_open(dir, STORE_MIGRATE, &st, &err) < 0 ||
	    store_exec(st, fixture, &err) < 0) {
		ok(0, "fixture: %s", err.buf);
		goto out;
	}
	rc = report_build(st, "R1", &opts, &page, &err);
	ok(rc == 0, "report of a finished run builds %s", err.buf);
	ok(!strncmp(page.buf, "<!DOCTYPE html>", 15), "an HTML page");
	ok(strstr(page.buf, "</html>\n") != NULL, "a whole page");

	/* One bar per attempt, classed by the attempt's own status. */
	is_int(count(page.buf, "<rect class=\"bar "), 7, "7 attempt bars");
	ok(strstr(page.buf, "class=\"bar st-failed\" data-task=\"flaky\" "
			    "data-attempt=\"1\""),
	   "flaky attempt 1 is a failed bar");
	ok(strstr(page.buf, "class=\"bar st-succeeded\" data-task=\"flaky\" "
			    "data-attempt=\"2\""),
	   "flaky attempt 2 is a succeeded bar");
	ok(strstr(page.buf, "class=\"bar st-timed_out\" data-task=\"slow\""),
	   "timed out bar");
	ok(strstr(page.buf, "class=\"bar st-lost\" data-task=\"hung\""),
	   "lost bar");
	ok(strstr(page.buf, "class=\"bar st-other\" data-task=\"odd\""),
	   "a status the page does not know becomes st-other");
	ok(!strstr(page.buf, "onmouseover=\""),
	   "a status from the database never reaches an attribute");
	ok(strstr(page.buf, "class=\"mark st-skipped\""),
	   "the skipped task without attempts gets a mark");
	is_int(count(page.buf, "class=\"mark "), 2, "and only they");

	/* The window is the run: 1000000..1010000 over the plot width. */
	bar_geometry(page.buf, "ok", 1, &x, &w);
	ok(x == PLOT_X0, "ok starts at the left edge (x=%.1f)", x);
	ok(w > 190 && w < 193, "ok lasts 2s of 10s (w=%.1f)", w);
	bar_geometry(page.buf, "hung", 1, &x, &w);
	ok(x > 580 && x < 590, "hung starts at 4s (x=%.1f)", x);
	ok(x + w > PLOT_X1 - 0.2 && x + w < PLOT_X1 + 0.2,
	   "an attempt without an end ends at the run's end (%.1f)", x + w);
	bar_geometry(page.buf, "bad", 1, &x, &w);
	ok(w >= 2.0 && w < 12, "a 100 ms attempt is still visible (w=%.1f)",
	   w);

	/* Retry backoff: a dashed gap between the attempts. */
	is_int(count(page.buf, "<line class=\"gap\""), 1, "one backoff gap");
	ok(strstr(page.buf, "wait before attempt 2: 500ms"), "gap says 500ms");

	/* Cap waits: overlapping events merge; the last runs to the end. */
	is_int(count(page.buf, "<rect class=\"capwait\""), 2, "two cap bands");
	ok(strstr(page.buf, "<title>cap wait, 500ms: per_hour cap &lt;x&gt;\n"
			    "next slot moved</title>"),
	   "the first band waits until hung starts, with both messages");
	ok(strstr(page.buf, "<title>cap wait, 3.0s: per_day cap</title>"),
	   "a wait nothing ended lasts to the run's end");

	/* The table. */
	ok(strstr(page.buf, "<tr id=\"task-dep\">"), "a row per task");
	is_int(count(page.buf, "<tr id=\"task-"), 8, "8 rows");
	ok(strstr(page.buf, ">abcdefghijklmnopqrstuvwxy\xe2\x80\xa6</text>"),
	   "a long id is cut in the timeline");
	ok(strstr(page.buf, "<td class=\"mono\">"
			    "abcdefghijklmnopqrstuvwxyz0123</td>"),
	   "but whole in the table");
	{
		struct strbuf want = STRBUF_INIT;
		strbuf_addstr(&want, "<text class=\"note\"");
		ok(strstr(page.buf, want.buf), "notes");
		strbuf_reset(&want);
		strbuf_addstr(&want, "text-anchor=\"end\">skipped: ");
		for (int i = 0; i < 79; i++)
			strbuf_addstr(&want, "\xc3\xa9");
		strbuf_addstr(&want, "\xe2\x80\xa6</text>");
		ok(strstr(page.buf, want.buf),
		   "a long reason is cut by characters, not bytes");
		strbuf_release(&want);
	}
	ok(strstr(page.buf, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
			    " &amp; &#39;q&#39;"),
	   "the reason is escaped");
	ok(!strstr(page.buf, "<script"), "no script element anywhere");
	ok(strstr(page.buf, "plans/p&quot;&lt;&amp;&gt;&#39;.yaml"),
	   "the plan path is escaped");
	ok(strstr(page.buf, "host&lt;1&gt;"), "the host is escaped");
	ok(strstr(page.buf, "<div>ran past &lt;30m&gt;</div>"
			    "<div>second warning</div>"),
	   "warnings of a task, escaped, in order");
	ok(!strstr(page.buf, "not a warning") &&
		   !strstr(page.buf, "elsewhere"),
	   "other events and other runs stay out");
	ok(strstr(page.buf, "<span class=\"add\">+2</span> "
			    "<span class=\"mod\">~1</span> "
			    "<span class=\"del\">-3</span>"),
	   "changes +2 ~1 -3");
	ok(strstr(page.buf, "$0.7500"), "cost estimate is the sum");
	ok(strstr(page.buf, "2 succeeded"), "counts by status");
	ok(strstr(page.buf, "1970-01-01T00:16:40Z"), "start time in UTC ISO");
	ok(strstr(page.buf, "href=\"tasks/ok/output.log\""),
	   "relative log links without a run folder to check");
	ok(strstr(page.buf, "<dd>the folder of this page</dd>"),
	   "relative links: the page is in the run folder");

	/* Self-contained. */
	ok(!strstr(page.buf, "http://") && !strstr(page.buf, "https://"),
	   "no http URL");
	ok(!strstr(page.buf, "src=") && !strstr(page.buf, "<link") &&
		   !strstr(page.buf, "@import") && !strstr(page.buf, "//"),
	   "no resource reference");

	/* A finished run's page does not depend on the time. */
	opts.now_ms = 9000000;
	ok(report_build(st, "R1", &opts, &again, &err) == 0 &&
		   !strcmp(page.buf, again.buf),
	   "same run, same page");

	/* Links: only files that exist; absolute with a base. */
	{
		char *tdir = xstrfmt("%s/runs/R1/tasks/ok", dir);
		char *log = fs_join(tdir, "output.log");
		char *run_dir = xstrfmt("%s/runs/R1", dir);
		fs_mkdir_p(tdir, 0755, &err);
		fs_write_atomic(log, "x\n", 2, 0644, &err);
		opts.run_dir = run_dir;
		opts.link_base = "file:///st%20x/runs/R1/";
		strbuf_reset(&again);
		ok(report_build(st, "R1", &opts, &again, &err) == 0,
		   "report with a run folder");
		is_int(count(again.buf, "href=\"file:///"), 1,
		       "one link: the only file there");
		ok(strstr(again.buf, "href=\"file:///st%20x/runs/R1/tasks/ok/"
				     "output.log\">log</a>"),
		   "absolute file:// link to the log");
		ok(strstr(again.buf, "/runs/R1</span></dd>"),
		   "absolute links: the summary names the run folder");
		free(run_dir);
		free(log);
		free(tdir);
	}

	/* A running run: open attempts end now. */
	opts.now_ms = 2004000;
	opts.run_dir = NULL;
	opts.link_base = NULL;
	strbuf_reset(&page);
	ok(report_build(st, "R2", &opts, &page, &err) == 0, "running run");
	bar_geometry(page.buf, "run", 1, &x, &w);
	ok(x == PLOT_X0 && x + w > PLOT_X1 - 0.2,
	   "its running attempt spans the window up to now (%.1f+%.1f)", x,
	   w);
	ok(strstr(page.buf, "class=\"bar st-running\""), "a running bar");
	ok(strstr(page.buf, "not yet (as of 1970-01-01T00:33:24Z)"),
	   "the summary says it has not ended");
	ok(strstr(page.buf, "4.0s so far"), "duration so far");

	strbuf_reset(&err);
	rc = report_build(st, "nope", &opts, &page, &err);
	ok(rc < 0 && strstr(err.buf, "no run 'nope'"), "unknown run: %s",
	   err.buf);

	/* report_write: atomically into a file. */
	{
		char *path = fs_join(dir, "r.html");
		struct strbuf back = STRBUF_INIT;
		strbuf_reset(&err);
		opts.now_ms = 5000000;
		rc = report_write(st, "R1", &opts, path, &err);
		ok(rc == 0, "report_write %s", err.buf);
		ok(strbuf_read_file(&back, path) == 0 &&
			   strstr(back.buf, "</html>"),
		   "the file holds the page");
		strbuf_release(&back);
		free(path);
		path = fs_join(dir, "no/such/dir/r.html");
		strbuf_reset(&err);
		rc = report_write(st, "R1", &opts, path, &err);
		ok(rc < 0 && err.len, "a bad path fails with a message: %s",
		   err.buf);
		free(path);
	}
out:
	store_close(st);
	strbuf_release(&page);
	strbuf_release(&again);
	strbuf_reset(&err);
	if (fs_rm_rf(dir, &err) < 0)
		printf("# %s\n", err.buf);
	strbuf_release(&err);
	free(dir);
}

int main(void)
{
	test_escape();
	test_file_url();
	test_ticks();
	test_build();
	return done_testing();
}
