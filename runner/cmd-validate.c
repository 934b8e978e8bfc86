#include "runner.h"
#include "cmd.h"
#include "plan.h"

static const char validate_usage[] = "runner validate PLAN...";

/*
 * Every file is checked, even after one fails, and every error of each is
 * printed: one compiler-style "FILE:LINE:COL: message" line on stderr.
 */
int cmd_validate(int argc, char **argv)
{
	int first = 1, ret = RUNNER_EXIT_OK;

	for (; first < argc; first++) {
		const char *a = argv[first];
		if (!strcmp(a, "--")) {
			first++;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("usage: %s\n\nCheck each plan and print every "
			       "error as FILE:LINE:COL: message.\nExit "
			       "status: 0 all plans are valid, 2 an error "
			       "or a usage error.\n",
			       validate_usage);
			return RUNNER_EXIT_OK;
		}
		if (a[0] != '-' || !a[1])
			break;
		return usage_error(validate_usage, "unknown option '%s'", a);
	}
	if (first >= argc)
		return usage_error(validate_usage, "no plan given");

	for (int i = first; i < argc; i++) {
		struct strbuf errors = STRBUF_INIT;
		struct plan *plan = NULL;

		if (plan_load(argv[i], &plan, &errors) < 0) {
			fputs(errors.buf, stderr);
			ret = RUNNER_EXIT_USAGE;
		} else {
			printf("%s: ok (%zu task%s)\n", argv[i],
			       plan->nr_tasks, plan->nr_tasks == 1 ? "" : "s");
		}
		plan_free(plan);
		strbuf_release(&errors);
	}
	fflush(stdout);
	return ret;
}
