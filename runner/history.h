#ifndef HISTORY_H
#define HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct strbuf;

/*
 * A plan's history (`runner history`): its last runs side by side, read
 * from the state database, and what stands out across them.
 *
 *  - The grid: one row per task (by expanded id, so each matrix task is
 *    its own row), one column per run, oldest first, each cell the
 *    task's status in that run (absent when the run had no such task).
 *    Rows are in the plan order of the newest run; tasks the newest run
 *    no longer has follow, newest first.
 *  - Flaky tasks: the task's verdict (succeeded, or failed / timed out /
 *    lost) flipped at least twice from one run to the next where it ran,
 *    i.e. it went both ways. Skipped and cancelled are no verdict on the
 *    task and are passed over.
 *  - Per run: its cost (the sum of its tasks') and its duration.
 *  - Outliers: a task's cost or duration in a run more than
 *    HISTORY_OUTLIER_FACTOR times its median over the runs shown, and
 *    by at least HISTORY_OUTLIER_MIN_MS or HISTORY_OUTLIER_MIN_USD: a
 *    task of 10 ms that once takes 40 ms is noise, not news.
 *
 * Everything here comes from the database and is escaped where it is
 * shown: for a terminal (quote_text) and for HTML (report_escape).
 */
#define HISTORY_OUTLIER_FACTOR 3.0
#define HISTORY_OUTLIER_MIN_MS 1000
#define HISTORY_OUTLIER_MIN_USD 0.01

struct history_run {
	char *id, *status;
	int64_t started_at, ended_at; /* ms; ended_at 0 unless has_end */
	bool has_end;
	int tasks_total, tasks_succeeded;
	double cost_usd;
};

struct history_cell {
	bool present;
	char *status; /* NULL unless present */
	bool has_dur;
	int64_t dur_ms;
	double cost_usd;
	bool slow, costly; /* outliers (see above) */
};

struct history_task {
	char *id;
	int flips;	    /* verdict changes between runs it ran in */
	int nr_failed;	    /* runs whose verdict on it was a failure */
	bool flaky;	    /* flips >= 2 */
	int64_t median_ms;  /* of its durations; -1 when none */
	double median_cost; /* of its costs */
};

struct history {
	char *plan;
	struct history_run *runs; /* oldest first */
	size_t nr_runs;
	struct history_task *tasks;
	size_t nr_tasks;
	/* cells[task * nr_runs + run] */
	struct history_cell *cells;
	size_t nr_flaky, nr_outliers;
};

/*
 * Read the newest last runs of plan plan_name into *h (release it with
 * history_release, also after a failure) and work out flaky tasks and
 * outliers. A plan without runs gives an empty history. 0, or -1 with a
 * message in err.
 */
int history_load(struct store *st, const char *plan_name, int last,
		 struct history *h, struct strbuf *err);
void history_release(struct history *h);

static inline const struct history_cell *history_cell(const struct history *h,
						      size_t task, size_t run)
{
	return &h->cells[task * h->nr_runs + run];
}

/*
 * The history for a terminal: the grid (one letter per cell, in ANSI
 * colours when colour is set), the runs with their cost and duration,
 * the flaky tasks and the outliers.
 */
void history_format_text(const struct history *h, bool colour,
			 struct strbuf *out);

/*
 * The history as one self-contained HTML page, as report.h's: inline
 * CSS and SVG, no script, a Content-Security-Policy that forbids every
 * load. The same history gives the same bytes.
 */
void history_format_html(const struct history *h, struct strbuf *out);

#endif
