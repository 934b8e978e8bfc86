#include "runner.h"
#include "cmd.h"
#include "cmd-opt.h"
#include "fs.h"
#include "history.h"
#include "plan.h"
#include "store.h"

#include <sys/stat.h>

/*
 * PLAN is a plan file (its name: as exec recorded the runs) or a plan's
 * name, for a plan whose file is elsewhere or gone. 0 with *name set, or
 * an exit code (the plan's errors printed).
 */
static int plan_name_of(const char *arg, const char *usage, char **name)
{
	struct strbuf errors = STRBUF_INIT;
	struct plan *plan = NULL;
	struct stat sb;
	int ret = RUNNER_EXIT_OK;

	if (stat(arg, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
		if (plan_load(arg, &plan, &errors) < 0) {
			fputs(errors.buf, stderr);
			ret = RUNNER_EXIT_USAGE;
		} else {
			*name = xstrdup(plan->name);
		}
	} else if (plan_id_valid(arg)) {
		*name = xstrdup(arg);
	} else {
		ret = usage_error(
			usage, "'%s' is neither a plan file nor a plan name",
			arg);
	}
	plan_free(plan);
	strbuf_release(&errors);
	return ret;
}

int cmd_history(int argc, char **argv, const struct cmd_entry *cmd)
{
	const char *usage = cmd->usage, *state = NULL, *out = NULL;
	struct store *st = NULL;
	struct strbuf err = STRBUF_INIT;
	struct strbuf page = STRBUF_INIT;
	struct history h = { 0 };
	char *name = NULL;
	int last = 14, ret;
	bool html = false;
	const struct opt options[] = {
		OPT_INT('n', "last", "N", &last, 1, 1000,
			"the newest N runs of the plan (default 14)"),
		OPT_BOOL(0, "html", &html,
			 "write a self-contained HTML page instead"),
		OPT_STRING('o', "output", "FILE", &out,
			   "write to FILE (default: standard output)"),
		OPT_STATE(&state),
		OPT_END(),
	};

	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		return ret;
	if (argc - optind != 1)
		return usage_error(usage,
				   "history takes one PLAN (a plan file "
				   "or a plan's name)");
	if (out && !*out)
		return usage_error(usage, "-o needs a file name");
	if ((ret = plan_name_of(argv[optind], usage, &name)))
		return ret;
	if ((ret = cmd_open_state_read(state, &st)))
		goto out;
	ret = RUNNER_EXIT_RUNTIME;
	if (history_load(st, name, last, &h, &err) < 0) {
		error("cannot read the runs of plan '%s': %s", name, err.buf);
		goto out;
	}
	if (html)
		history_format_html(&h, &page);
	else
		history_format_text(&h,
				    !out && isatty(STDOUT_FILENO) &&
					    !getenv("NO_COLOR"),
				    &page);
	if (out && strcmp(out, "-")) {
		if (fs_write_atomic(out, page.buf, page.len, 0644, &err) < 0) {
			error("cannot write the history of plan '%s': %s",
			      name, err.buf);
			goto out;
		}
		printf("%s\n", out);
	} else if (fwrite(page.buf, 1, page.len, stdout) != page.len ||
		   fflush(stdout)) {
		error("cannot write to standard output: %s", strerror(errno));
		goto out;
	}
	ret = RUNNER_EXIT_OK;
out:
	history_release(&h);
	strbuf_release(&page);
	strbuf_release(&err);
	free(name);
	store_close(st);
	return ret;
}
