#include "runner.h"
#include "cmd.h"
#include "plan.h"
#include "sched.h"
#include "store.h"

#include <getopt.h>

static const char usage[] =
	"runner exec PLAN [--jobs N] [--backend local|e2b] [--only ID...] "
	"[--dry-run] [--if-due] [--state DIR] [--quiet|--json] [--grace DUR]";

int cmd_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "backend", required_argument, NULL, 'b' },
		{ "only", required_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "if-due", no_argument, NULL, 'd' },
		{ "state", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'J' },
		{ "grace", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts opts = { .progress = PROGRESS_AUTO };
	struct strvec only = STRVEC_INIT;
	struct strbuf errors = STRBUF_INIT;
	struct plan *plan = NULL;
	const char *state = NULL, *backend = NULL;
	int c, ret = RUNNER_EXIT_USAGE;
	bool quiet = false, json = false;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "j:qh", longopts, NULL)) != -1) {
		char *end;
		long v;
		switch (c) {
		case 'j':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > 1024) {
				ret = usage_error(usage,
						  "--jobs wants a number from 1 "
						  "to 1024, not '%s'",
						  optarg);
				goto out;
			}
			opts.jobs = (int)v;
			break;
		case 'b':
			backend = optarg;
			break;
		case 'o': {
			/* --only a,b and --only a --only b both work. */
			char *copy = xstrdup(optarg), *p = copy, *comma;
			do {
				comma = strchr(p, ',');
				if (comma)
					*comma = '\0';
				if (*p)
					strvec_push(&only, p);
				p = comma + 1;
			} while (comma);
			free(copy);
			break;
		}
		case 'n':
			opts.dry_run = true;
			break;
		case 'd':
			fprintf(stderr, "runner: --if-due needs schedules, "
					"which this build does not have yet\n");
			goto out;
		case 's':
			state = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'J':
			json = true;
			break;
		case 'g':
			if (parse_duration_ms(optarg, &opts.grace_ms) < 0) {
				ret = usage_error(usage,
						  "--grace wants a duration "
						  "like 10s, not '%s'",
						  optarg);
				goto out;
			}
			break;
		case 'h':
			printf("usage: %s\n", usage);
			ret = RUNNER_EXIT_OK;
			goto out;
		default:
			ret = usage_error(usage, "unknown option '%s'",
					  argv[optind - 1]);
			goto out;
		}
	}
	if (optind != argc - 1) {
		ret = usage_error(usage, optind == argc
						 ? "exec needs a plan file"
						 : "exec takes one plan file");
		goto out;
	}
	if (quiet && json) {
		ret = usage_error(usage, "--quiet and --json do not mix");
		goto out;
	}
	opts.progress = json ? PROGRESS_JSON
			     : quiet ? PROGRESS_QUIET : PROGRESS_AUTO;
	if (plan_load(argv[optind], &plan, &errors) < 0) {
		fputs(errors.buf, stderr);
		ret = RUNNER_EXIT_USAGE;
		goto out;
	}
	if (backend) {
		if (!strcmp(backend, "local")) {
			plan->backend = PLAN_BACKEND_LOCAL;
		} else if (!strcmp(backend, "e2b")) {
			plan->backend = PLAN_BACKEND_E2B;
		} else {
			ret = usage_error(usage,
					  "unknown backend '%s' (local or e2b)",
					  backend);
			goto out;
		}
	}
	for (size_t i = 0; i < only.nr; i++) {
		if (!plan_find_task(plan, only.v[i])) {
			ret = usage_error(usage,
					  "--only: plan '%s' has no task '%s'",
					  plan->name, only.v[i]);
			goto out;
		}
	}
	opts.only = &only;
	opts.state_dir = store_resolve_dir(state);
	ret = sched_run(plan, &opts);
out:
	plan_free(plan);
	strvec_clear(&only);
	strbuf_release(&errors);
	return ret;
}
