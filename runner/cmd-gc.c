#include "runner.h"
#include "cmd.h"
#include "fs.h"
#include "cmd-opt.h"
#include "plan.h"
#include "recover.h"
#include "sandbox.h"
#include "store.h"
#include "store-caps.h"
#include "store-gc.h"
#include "timeutil.h"

/* The ledger only ever looks back 24 hours; keep two days. */
#define LEDGER_KEEP_MS (2 * 86400 * 1000LL)

/*
 * What each backend finds left of runs that are no longer going (a
 * crashed runner's). What is not in the state's own folder and whose
 * run this state does not know belongs to someone else: left alone.
 */
static int gc_leftovers(struct store *st, const struct sandbox_backend *be,
			bool dry_run, int *removed)
{
	struct sandbox_leftovers l = SANDBOX_LEFTOVERS_INIT;
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	if (be->list_leftovers(store_dir(st), NULL, 0, &l, &err) < 0) {
		error("%s", err.buf);
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < l.nr; i++) {
		const struct sandbox_leftover *o = &l.v[i];
		if ((!o->in_state && !store_gc_run_known(st, o->run_id)) ||
		    store_gc_run_going(st, o->run_id))
			continue;
		printf("%s %s\n", dry_run ? o->would : o->done, o->what);
		strbuf_reset(&err);
		if (!dry_run &&
		    be->kill_leftover(store_dir(st), o, &err) < 0) {
			error("%s", err.buf);
			ret = -1;
		} else {
			(*removed)++;
		}
	}
out:
	sandbox_leftovers_release(&l);
	strbuf_release(&err);
	return ret;
}

/* Runs that ended before cutoff: folder first, then rows. */
static int gc_runs(struct store *st, int64_t cutoff, bool dry_run, int *pruned)
{
	struct strvec ids = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	if (store_gc_runs_before(st, cutoff, &ids, &err) < 0) {
		error("cannot list runs: %s", err.buf);
		strbuf_release(&err);
		return -1;
	}
	for (size_t i = 0; i < ids.nr; i++) {
		char *dir = xstrfmt("%s/runs/%s", store_dir(st), ids.v[i]);
		printf("%s run %s\n", dry_run ? "would prune" : "pruned",
		       ids.v[i]);
		if (!dry_run &&
		    (fs_rm_rf(dir, &err) < 0 ||
		     recover_kill_leftovers(store_dir(st), ids.v[i],
					    SANDBOX_LEFTOVERS_OFFLINE,
					    &err) < 0 ||
		     store_gc_delete_run(st, ids.v[i], &err) < 0)) {
			error("%s", err.buf);
			strbuf_reset(&err);
			ret = -1;
		} else {
			(*pruned)++;
		}
		free(dir);
	}
	strvec_clear(&ids);
	strbuf_release(&err);
	return ret;
}

static int gc_ledger(struct store *st, bool dry_run, struct strbuf *err)
{
	if (dry_run)
		return 0;
	if (store_caps_trim(st, time_now_ms() - LEDGER_KEEP_MS, err) < 0)
		return -1;
	return store_cost_trim(st, time_now_ms() - LEDGER_KEEP_MS, err);
}

int cmd_gc(int argc, char **argv, const struct cmd_entry *cmd)
{
	const char *usage = cmd->usage, *state = NULL;
	struct store *st = NULL;
	struct strbuf err = STRBUF_INIT;
	int64_t older = -1;
	bool dry_run = false;
	int ret, removed = 0, pruned = 0;
	const struct opt options[] = {
		OPT_DURATION(0, "older-than", "DUR", &older, "30d",
			     "also prune runs that ended more than DUR ago"),
		OPT_BOOL('n', "dry-run", &dry_run,
			 "say what would be removed; remove nothing"),
		OPT_STATE(&state),
		OPT_END(),
	};

	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		return ret;
	if (optind != argc)
		return usage_error(usage, "unexpected argument '%s'",
				   argv[optind]);
	/*
	 * Opening the state marks runs whose runner died as lost. A dry run
	 * only reads, so it also works on a full disk.
	 */
	ret = dry_run ? cmd_open_state_read(state, &st)
		      : cmd_open_state(state, &st);
	if (ret)
		return ret;
	ret = RUNNER_EXIT_OK;
	for (size_t i = 0; i < sandbox_backend_count(); i++)
		if (gc_leftovers(st, sandbox_backend_at(i), dry_run,
				 &removed) < 0)
			ret = RUNNER_EXIT_RUNTIME;
	if (older >= 0 &&
	    gc_runs(st, time_now_ms() - older, dry_run, &pruned) < 0)
		ret = RUNNER_EXIT_RUNTIME;
	if (gc_ledger(st, dry_run, &err) < 0) {
		error("cannot trim the caps ledger: %s", err.buf);
		ret = RUNNER_EXIT_RUNTIME;
	}
	printf("gc: %d sandbox%s removed, %d run%s pruned%s\n", removed,
	       removed == 1 ? "" : "es", pruned, pruned == 1 ? "" : "s",
	       dry_run ? " (dry run)" : "");
	strbuf_release(&err);
	store_close(st);
	return ret;
}
