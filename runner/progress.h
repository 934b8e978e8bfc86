#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdint.h>

#include "sched.h"

/*
 * What a run shows while it goes (main thread only):
 *   PROGRESS_AUTO on a terminal: one live status line on stderr, redrawn,
 *                 with event lines printed above it;
 *   PROGRESS_AUTO otherwise: one line per event on stdout;
 *   PROGRESS_JSON: one JSON object per event on stdout;
 *   PROGRESS_QUIET: nothing but the closing summary.
 */
struct progress;

struct progress_counts {
	int done, running, queued, failed;
	int total;
	int64_t next_slot_ms;  /* waiting for a cap slot until then, or 0 */
	const char *cap_which; /* "per_hour" / "per_day" */
};

struct progress *progress_new(enum progress_mode mode, const char *run_id);
/*
 * An event: kind is "run_started", "task_started", "task_finished",
 * "task_skipped", "warning", "notice" or "run_finished"; task may be NULL;
 * message is the human text. JSON mode adds the fields given.
 */
void progress_event(struct progress *p, const char *kind, const char *task,
		    const char *status, const char *message);
/* Whether a live line is drawn (terminal mode on a terminal). */
bool progress_is_live(const struct progress *p);
/* Redraw the live line (terminal mode only). */
void progress_tick(struct progress *p, const struct progress_counts *c,
		   int64_t elapsed_ms);
/* Clear the live line, print nothing more. */
void progress_end(struct progress *p);
void progress_free(struct progress *p);
/* True when stdout lines should carry the summary (not JSON mode). */
int progress_is_json(const struct progress *p);

#endif
