#include "runner.h"
#include "cmd.h"
#include "archive.h" /* runner's archive API */
#include "cmd-opt.h"
#include "runref.h"
#include "store.h"

/*
 * Exit codes: 0 written, 1 refused because the run is still going, 2
 * usage (or a malformed SOURCE_DATE_EPOCH), 4 state or I/O failure.
 */
int cmd_archive(int argc, char **argv, const struct cmd_entry *cmd)
{
	struct archive_pack_result res = ARCHIVE_PACK_RESULT_INIT;
	struct archive_pack_opts opts = { NULL, NULL, NULL };
	struct strbuf err = STRBUF_INIT;
	const char *usage = cmd->usage;
	const char *state = NULL, *out = NULL, *sde;
	struct store *st = NULL;
	char *id = NULL, *def = NULL;
	int64_t epoch;
	int ret;
	const struct opt options[] = {
		OPT_STRING('o', "output", "FILE", &out,
			   "write to FILE, or - for stdout"),
		OPT_STATE(&state),
		OPT_END(),
	};

	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		return ret;
	if (out && !*out)
		return usage_error(usage, "-o wants a file name");
	if (optind == argc)
		return usage_error(usage, "which run? give its id, a prefix "
					  "of it, or 'last'");
	if (argc - optind > 1)
		return usage_error(usage, "unexpected argument '%s'",
				   argv[optind + 1]);
	if (out && !strcmp(out, "-") && isatty(STDOUT_FILENO))
		return usage_error(usage, "refusing to write a compressed "
					  "archive to a terminal");
	sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && !*sde)
		sde = NULL;
	if (sde && archive_source_date_epoch(sde, &epoch, &err) < 0) {
		error("%s", err.buf);
		strbuf_release(&err);
		return RUNNER_EXIT_USAGE;
	}
	if ((ret = cmd_open_state_read(state, &st)))
		return ret;
	if (runref_resolve(st, argv[optind], &id, &err) < 0) {
		error("%s", err.buf);
		ret = RUNNER_EXIT_RUNTIME;
		goto out;
	}
	if (!out)
		out = def = xstrfmt("./runner-%s.tar.gz", id);
	opts.run_id = id;
	opts.out = out;
	opts.source_date_epoch = sde;
	ret = archive_pack(st, &opts, &res, &err);
	for (size_t i = 0; i < res.warnings.nr; i++)
		warning("%s", res.warnings.v[i]);
	if (ret < 0) {
		error("%s", err.buf);
		ret = res.still_running ? RUNNER_EXIT_TASK_FAILED
					: RUNNER_EXIT_RUNTIME;
		goto out;
	}
	if (strcmp(out, "-"))
		printf("%s\n", out);
	ret = RUNNER_EXIT_OK;
out:
	archive_pack_result_release(&res);
	store_close(st);
	strbuf_release(&err);
	free(id);
	free(def);
	return ret;
}
