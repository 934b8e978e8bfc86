#include "runner.h"
#include "cmd.h"
#include "archive.h" /* runner's archive API */
#include "runref.h"
#include "store.h"

#include <getopt.h>

static const char usage[] = "runner archive RUN [-o FILE] [--state DIR]";

/*
 * Exit codes: 0 written, 1 refused because the run is still going, 2
 * usage (or a malformed SOURCE_DATE_EPOCH), 4 state or I/O failure.
 */
int cmd_archive(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "state", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct archive_pack_result res = ARCHIVE_PACK_RESULT_INIT;
	struct archive_pack_opts opts = { NULL, NULL, NULL };
	struct strbuf err = STRBUF_INIT;
	const char *state = NULL, *out = NULL, *sde;
	struct store *st = NULL;
	char *id = NULL, *def = NULL;
	int64_t epoch;
	int c, ret;

	optind = 1;
	opterr = 0;
	/* No "+": options may follow RUN. */
	while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!*optarg)
				return usage_error(usage, "-o wants a file "
							  "name");
			out = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case '?':
			if (optopt)
				return usage_error(usage,
						   "option '-%c' needs a "
						   "value or is unknown",
						   optopt);
			/* fallthrough */
		default:
			return usage_error(usage, "unknown option '%s'",
					   argv[optind - 1]);
		}
	}
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
