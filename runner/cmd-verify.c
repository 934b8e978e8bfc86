#include "runner.h"
#include "cmd.h"
#include "archive.h" /* runner's archive API */
#include "cmd-opt.h"

/*
 * Exit codes: 0 every entry matches its SHA256SUMS line (regular files,
 * symlinks, directories) and none is unlisted, 1 not (or the archive is
 * corrupt, unsafe or has no SHA256SUMS), 2 usage, 4 FILE cannot be read.
 */
int cmd_verify(int argc, char **argv, const struct cmd_entry *cmd)
{
	struct archive_verify_result res = ARCHIVE_VERIFY_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;
	const struct opt options[] = { OPT_END() };
	const char *usage = cmd->usage, *file;
	int i, ret;

	/* Options only before FILE: what follows it is an extra argument. */
	ret = opt_parse(argc, argv, cmd, options, OPT_STOP_AT_NON_OPTION);
	if (ret >= 0)
		return ret;
	i = optind;
	if (i == argc)
		return usage_error(usage, "which archive?");
	if (argc - i > 1)
		return usage_error(usage, "unexpected argument '%s'",
				   argv[i + 1]);
	file = argv[i];
	if (archive_verify(file, &res, &err) < 0) {
		error("%s", err.buf);
		ret = res.io_error ? RUNNER_EXIT_RUNTIME
				   : RUNNER_EXIT_TASK_FAILED;
		goto out;
	}
	if (res.problems.nr) {
		for (size_t k = 0; k < res.problems.nr; k++)
			printf("%s\n", res.problems.v[k]);
		fflush(stdout);
		error("%s: verification failed: %zu of %zu listed files "
		      "match; symlinks %zu of %zu, directories %zu of %zu "
		      "(%zu problem%s)",
		      file, res.matched, res.listed, res.links_matched,
		      res.links, res.dirs_matched, res.dirs, res.problems.nr,
		      res.problems.nr == 1 ? "" : "s");
		ret = RUNNER_EXIT_TASK_FAILED;
		goto out;
	}
	printf("%s: %zu files OK\n", file, res.listed);
	ret = RUNNER_EXIT_OK;
out:
	archive_verify_result_release(&res);
	strbuf_release(&err);
	return ret;
}
