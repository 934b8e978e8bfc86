#include "runner.h"
#include "cmd.h"
#include "fs.h"
#include "cmd-opt.h"
#include "report.h"
#include "runref.h"
#include "store.h"

/*
 * Links to the tasks' files are relative when the page sits in the run
 * folder (the default place), so the folder can move or be archived
 * with the page; a page written elsewhere links to the folder with
 * absolute file:// URLs.
 */
static char *link_base_for(const char *out, const char *run_real)
{
	struct strbuf err = STRBUF_INIT;
	struct strbuf url = STRBUF_INIT;
	char *dir = fs_dirname(out);
	char *dir_real = fs_realpath(dir, &err);
	char *ret = NULL;

	if (!run_real || (dir_real && !strcmp(dir_real, run_real)))
		goto out;
	report_file_url(&url, run_real, 1);
	ret = strbuf_detach(&url, NULL);
out:
	strbuf_release(&url);
	strbuf_release(&err);
	free(dir_real);
	free(dir);
	return ret;
}

int cmd_report(int argc, char **argv, const struct cmd_entry *cmd)
{
	const char *usage = cmd->usage, *state = NULL, *out = NULL;
	struct store *st = NULL;
	struct strbuf err = STRBUF_INIT;
	struct strbuf page = STRBUF_INIT;
	struct report_opts opts = { NULL, NULL, 0 };
	char *id = NULL, *run_dir = NULL, *run_real = NULL, *path = NULL;
	char *link_base = NULL;
	int ret;
	const struct opt options[] = {
		OPT_STRING('o', "output", "FILE", &out,
			   "write to FILE, or - for stdout"),
		OPT_STATE(&state),
		OPT_END(),
	};

	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		return ret;
	if (argc - optind != 1)
		return usage_error(usage, "report takes one RUN (an id, a "
					  "prefix of one, or 'last')");
	if (out && !*out)
		return usage_error(usage, "-o needs a file name");
	if ((ret = cmd_open_state_read(state, &st)))
		return ret;
	ret = RUNNER_EXIT_RUNTIME;
	if (runref_resolve(st, argv[optind], &id, &err) < 0) {
		error("%s", err.buf);
		goto out;
	}
	run_dir = xstrfmt("%s/runs/%s", store_dir(st), id);
	run_real = fs_realpath(run_dir, &err);
	strbuf_reset(&err);
	if (!out && !run_real) {
		error("run %s has no results folder '%s' any more; write the "
		      "report elsewhere with -o FILE",
		      id, run_dir);
		goto out;
	}
	path = out ? xstrdup(out) : fs_join(run_dir, "report.html");
	if (out)
		opts.link_base = link_base = link_base_for(out, run_real);
	opts.run_dir = run_real ? run_real : run_dir;
	if (!strcmp(path, "-")) {
		/* To stdout: nothing is written into the state. */
		if (report_build(st, id, &opts, &page, &err) < 0) {
			error("cannot write the report of run %s: %s", id,
			      err.buf);
			goto out;
		}
		if (fwrite(page.buf, 1, page.len, stdout) != page.len ||
		    fflush(stdout)) {
			error("cannot write the report of run %s to standard "
			      "output: %s",
			      id, strerror(errno));
			goto out;
		}
		ret = RUNNER_EXIT_OK;
		goto out;
	}
	if (report_write(st, id, &opts, path, &err) < 0) {
		error("cannot write the report of run %s: %s", id, err.buf);
		goto out;
	}
	printf("%s\n", path);
	ret = RUNNER_EXIT_OK;
out:
	free(link_base);
	free(path);
	free(run_real);
	free(run_dir);
	free(id);
	strbuf_release(&err);
	strbuf_release(&page);
	store_close(st);
	return ret;
}
