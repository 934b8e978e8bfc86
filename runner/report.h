#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct strbuf;

/*
 * The run report (`runner report`): one self-contained HTML page built
 * from a run's rows in the state database. Self-contained means that a
 * browser opening it fetches nothing: the CSS is inline, the timeline is
 * inline SVG, there is no script and no font or image from anywhere, and
 * a Content-Security-Policy meta tag (default-src 'none') says so to the
 * browser as well.
 *
 * The page holds the run summary, a timeline with one row per task and
 * one bar per attempt (the attempts table), shaded bands where the run
 * waited for a cap (events of kind cap_wait, up to the next attempt
 * start), and a table of the tasks with links to their files.
 *
 * Every string that comes from the database or from files is
 * HTML-escaped (report_escape); statuses become CSS classes only through
 * a fixed list, never as written in the database.
 *
 * The page of a finished run depends only on the database, opts and
 * which task files exist: the same run gives the same bytes (no
 * "generated at" time), so a report kept in the run folder does not
 * make archives differ.
 */
struct report_opts {
	/*
	 * Where links to a task's files point. NULL: relative to the run
	 * folder ("tasks/ID/output.log"), for a page written inside it.
	 * Else a URL prefix that ends with '/', such as
	 * "file:///srv/state/runs/RUN/" (report_file_url() builds one).
	 */
	const char *link_base;
	/*
	 * The run folder on disk: a file is linked only when it exists
	 * there. NULL: link every file. The summary names it when links
	 * are absolute (link_base); with relative links the page is in
	 * the folder and says so, so that the page does not depend on
	 * where the state lives.
	 */
	const char *run_dir;
	/*
	 * The time that ends attempts still open (running, or lost without
	 * an end) when the run has no end either. 0: the clock.
	 */
	int64_t now_ms;
};

/*
 * Append the HTML page of run run_id (a full id, see runref_resolve())
 * to out. Reads only. Returns 0, or -1 with a message in err (unknown
 * run, SQLite error); out may then hold part of a page.
 */
int report_build(struct store *st, const char *run_id,
		 const struct report_opts *opts, struct strbuf *out,
		 struct strbuf *err);

/*
 * report_build() written to path atomically (fs_write_atomic, mode
 * 0644): a reader sees the previous report or the new one. 0, or -1
 * with err.
 */
int report_write(struct store *st, const char *run_id,
		 const struct report_opts *opts, const char *path,
		 struct strbuf *err);

/*
 * Append s HTML-escaped for text and quoted attribute values: & < > " '
 * become entities, and control characters other than tab, newline and
 * carriage return (which are not allowed in HTML) become U+FFFD.
 * NULL appends nothing.
 */
void report_escape(struct strbuf *sb, const char *s);

/*
 * Append a "file://" URL for the absolute path abs_path, each byte
 * outside [A-Za-z0-9/._~-] percent-encoded, with a trailing '/' when
 * dir is set. What it appends needs no HTML escaping.
 */
void report_file_url(struct strbuf *sb, const char *abs_path, int dir);

/*
 * The time-axis tick interval for a span of span_ms: the smallest "nice"
 * step (1, 2, 5 ms ... 1 s, 2 s, 5 s, 10 s, 15 s, 30 s, 1 min ... 1 h,
 * 2 h, 3 h, 6 h, 12 h, 1 day, then whole days) that gives at most
 * max_ticks intervals. Always >= 1.
 */
int64_t report_tick_step(int64_t span_ms, int max_ticks);

/*
 * The label of the tick at ms after the run start, for ticks every step
 * ms: "0", "0.25s", "1.5s", "45s", "2m30s", "15m", "1h30m", "2d06h".
 * The precision follows the step, so labels of one axis look alike.
 */
void report_format_tick(int64_t ms, int64_t step, char *buf, size_t size);

/*
 * An attempt's usage the way show and the report write it: "peak memory
 * 63.9 MiB, CPU 1.25 s". buf >= 64 bytes.
 */
void report_format_usage(uint64_t memory_peak, uint64_t cpu_ms, char *buf,
			 size_t size);

#endif
