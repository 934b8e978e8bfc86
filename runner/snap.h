#ifndef SNAP_H
#define SNAP_H

struct run;
struct store;
struct strbuf;
struct strvec;

/*
 * The run's workspace snapshots (snap.c), taken on the main thread before
 * any task starts: one per distinct (workspace, exclude, include_git),
 * hashed through the state's cache in st, and scanned for credentials
 * once. Sets each task's manifest (or snap_error), adds the warnings of
 * secret_scan: warn to its tasks, and appends one line per snapshot
 * taken to notices, for the display.
 *
 * Returns 0; 1 when a task with secret_scan: block has findings (err
 * lists them over several lines: the run must not start); -1 with err.
 */
int snap_prepare(struct run *run, struct store *st, struct strvec *notices,
		 struct strbuf *err);
/* Free the snapshots (the tasks' manifests point into them). */
void snap_release(struct run *run);

#endif
