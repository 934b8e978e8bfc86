#include "runner.h"
#include "cmd.h"
#include "cmd-progress.h"
#include "hash.h"
#include "plan.h"
#include "runref.h"
#include "sched.h"
#include "store.h"

#include <getopt.h>

static const char usage[] =
	"runner resume RUN [--jobs N] [--state DIR] [--quiet|--json] "
	"[--grace DUR]";

/*
 * The plan the run was made from, checked to be unchanged: resuming
 * runs the plan as it was, in place (same id, same folder).
 */
static int load_run_plan(struct store *st, const char *id, struct plan **plan)
{
	sqlite3_stmt *s = NULL;
	struct strbuf text, errors = STRBUF_INIT;
	unsigned char sum[32];
	char hex[65];
	char *path = NULL;
	int ret = RUNNER_EXIT_RUNTIME;

	strbuf_init_capped(&text, 64 << 20);
	if (sqlite3_prepare_v2(store_db(st),
			       "SELECT plan_path, plan_sha256 FROM runs WHERE"
			       " id = ?1",
			       -1, &s, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) != SQLITE_ROW)
		goto out;
	path = xstrdup((const char *)sqlite3_column_text(s, 0));
	if (strbuf_read_file(&text, path) < 0) {
		error("cannot read the plan of run %s, '%s': %s", id, path,
		      strerror(errno));
		goto out;
	}
	sha256_buf(text.buf, text.len, sum);
	sha256_hex(sum, hex);
	if (strcmp(hex, (const char *)sqlite3_column_text(s, 1))) {
		error("plan '%s' has changed since run %s started; resume runs "
		      "a plan as it was: restore it (a copy is in the run's "
		      "folder as plan.yaml) or start a new run",
		      path, id);
		goto out;
	}
	if (plan_load(path, plan, &errors) < 0) {
		fputs(errors.buf, stderr);
		ret = RUNNER_EXIT_USAGE;
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(s);
	strbuf_release(&text);
	strbuf_release(&errors);
	free(path);
	return ret;
}

int cmd_resume(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'J' },
		{ "grace", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts opts = { .progress = PROGRESS_AUTO };
	struct strbuf err = STRBUF_INIT;
	struct plan *plan = NULL;
	struct store *st = NULL;
	const char *state = NULL;
	char *id = NULL;
	int c, ret;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "j:q", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if ((ret = cmd_opt_jobs(usage, optarg, &opts.jobs)))
				return ret;
			break;
		case 's':
			state = optarg;
			break;
		case 'q':
			opts.progress = PROGRESS_QUIET;
			break;
		case 'J':
			opts.progress = PROGRESS_JSON;
			break;
		case 'g':
			if ((ret = cmd_opt_grace(usage, optarg,
						 &opts.grace_ms)))
				return ret;
			break;
		default:
			return usage_error(usage, "unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return usage_error(usage, "resume takes one RUN");
	if ((ret = cmd_open_state(state, &st)))
		return ret;
	if (runref_resolve(st, argv[optind], &id, &err) < 0) {
		error("%s", err.buf);
		ret = RUNNER_EXIT_RUNTIME;
		goto out;
	}
	ret = load_run_plan(st, id, &plan);
	store_close(st);
	st = NULL;
	if (ret)
		goto out;
	opts.state_dir = store_resolve_dir(state);
	opts.resume_id = id;
	ret = cmd_run_plan(plan, &opts);
out:
	if (st)
		store_close(st);
	plan_free(plan);
	free(id);
	strbuf_release(&err);
	return ret;
}
