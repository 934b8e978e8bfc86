/*
 * The run's workspace snapshots, taken before anything starts: one per
 * distinct (workspace, exclude, include_git), shared read-only by every
 * task and attempt that uses it, hashed through the state's hash cache
 * and scanned for credentials once.
 */
#include "runner.h"
#include "run.h"
#include "snap.h"
#include "gitbranch.h"
#include "hashcache.h"
#include "plan.h"
#include "store.h"
#include "ws.h"
#include "ws-secrets.h"

struct run_snap {
	const struct plan_task *key; /* the first task with this snapshot */
	struct ws_manifest m;
	bool ok;
	char *error;
	bool scan;
	struct secret_findings findings;
	struct ws_snapshot_stats stats;
	char *git_head; /* the repository's commit, taken just before */
	bool git_dirty;
};

static bool same_strvec(const struct strvec *a, const struct strvec *b)
{
	if (a->nr != b->nr)
		return false;
	for (size_t i = 0; i < a->nr; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

static bool same_snapshot(const struct plan_task *a, const struct plan_task *b)
{
	return !strcmp(a->workspace, b->workspace) &&
	       a->include_git == b->include_git &&
	       same_strvec(&a->exclude, &b->exclude);
}

static struct run_snap *snap_for(struct run *run, const struct plan_task *pt)
{
	for (size_t i = 0; i < run->nr_snaps; i++)
		if (same_snapshot(run->snaps[i].key, pt))
			return &run->snaps[i];
	return NULL;
}

static void take(struct store *st, struct run_snap *sn)
{
	struct strbuf err = STRBUF_INIT;
	struct hashcache *hc = NULL;
	struct ws_snapshot_opts opts = {
		.exclude = &sn->key->exclude,
		.include_git = sn->key->include_git,
		.findings = sn->scan ? &sn->findings : NULL,
	};

	/*
	 * Before the walk: a commit made while it runs leaves the head
	 * older than the files, which apply --branch then sees as files
	 * that differ from it.
	 */
	if (gitbranch_probe(sn->key->workspace, &sn->git_head, &sn->git_dirty,
			    &err) < 0)
		strbuf_reset(&err); /* no base to record: no branch later */
	if (hashcache_load(st, sn->key->workspace, &hc, &err) < 0) {
		/* A broken cache costs time, not correctness. */
		strbuf_reset(&err);
		hc = hashcache_new_empty(sn->key->workspace);
	}
	opts.cache = hc;
	if (ws_snapshot_stats(sn->key->workspace, &opts, &sn->m, &sn->stats,
			      &err) < 0) {
		sn->error = strbuf_detach(&err, NULL);
	} else {
		sn->ok = true;
		if (hashcache_save(st, hc, &err) < 0)
			strbuf_reset(&err);
	}
	hashcache_free(hc);
	strbuf_release(&err);
}

int snap_prepare(struct run *run, struct store *st, struct strvec *notices,
		 struct strbuf *err)
{
	size_t alloc = 0;
	int blocked = 0;

	for (size_t i = 0; i < run->nr_tasks; i++) {
		const struct plan_task *pt = run->tasks[i].task;
		struct run_snap *sn = snap_for(run, pt);
		if (!sn) {
			ALLOC_GROW(run->snaps, run->nr_snaps + 1, alloc);
			sn = &run->snaps[run->nr_snaps++];
			memset(sn, 0, sizeof(*sn));
			sn->key = pt;
		}
		if (pt->secret_scan != PLAN_SECRET_SCAN_OFF)
			sn->scan = true;
	}
	for (size_t i = 0; i < run->nr_snaps; i++) {
		const struct run_snap *sn = &run->snaps[i];
		take(st, &run->snaps[i]);
		if (sn->ok)
			strvec_pushf(notices,
				     "snapshot of %s: %" PRIu64
				     " files, %.1f MB;"
				     " hashed %" PRIu64 " files (%.1f MB), "
				     "scanned %" PRIu64,
				     sn->key->workspace, sn->stats.files,
				     (double)sn->stats.bytes / 1e6,
				     sn->stats.hashed_files,
				     (double)sn->stats.hashed_bytes / 1e6,
				     sn->stats.scanned_files);
	}
	for (size_t i = 0; i < run->nr_tasks; i++) {
		struct task_run *t = &run->tasks[i];
		struct run_snap *sn = snap_for(run, t->task);
		if (!sn->ok) {
			t->snap_error = xstrdup(sn->error);
			continue;
		}
		t->manifest = &sn->m;
		t->git_head = sn->git_head;
		t->git_dirty = sn->git_dirty;
		for (size_t f = 0; f < sn->findings.nr; f++) {
			const struct secret_finding *x =
				&sn->findings.items[f];
			if (t->task->secret_scan == PLAN_SECRET_SCAN_BLOCK) {
				blocked = 1;
				continue;
			}
			if (t->task->secret_scan == PLAN_SECRET_SCAN_WARN)
				strvec_pushf(&t->warnings,
					     "possible secret in %s:%u (%s); "
					     "uploaded anyway (secret_scan: "
					     "warn)",
					     x->path, x->line, x->rule);
		}
	}
	if (!blocked)
		return 0;
	strbuf_addstr(err, "possible secrets in the workspace; nothing was "
			   "uploaded and no sandbox was made:\n");
	for (size_t i = 0; i < run->nr_snaps; i++) {
		const struct run_snap *sn = &run->snaps[i];
		for (size_t f = 0; f < sn->findings.nr; f++)
			strbuf_addf(err, "  %s/%s:%u: %s\n",
				    sn->key->workspace,
				    sn->findings.items[f].path,
				    sn->findings.items[f].line,
				    sn->findings.items[f].rule);
	}
	strbuf_addstr(err, "remove them (or exclude the files), or set "
			   "secret_scan: warn or off for these tasks");
	return 1;
}

void snap_release(struct run *run)
{
	for (size_t i = 0; i < run->nr_snaps; i++) {
		ws_manifest_release(&run->snaps[i].m);
		free(run->snaps[i].error);
		free(run->snaps[i].git_head);
		secret_findings_release(&run->snaps[i].findings);
	}
	free(run->snaps);
	run->snaps = NULL;
	run->nr_snaps = 0;
}
