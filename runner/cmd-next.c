#include "runner.h"
#include "cmd.h"
#include "cron.h"
#include "cmd-opt.h"
#include "plan.h"

/* N from "-n N", "-nN" or "--count=N": a count a person would ask for. */
static int parse_count(const struct opt *o, const char *s, const char *usage)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < 1 || v > 100000)
		return usage_error(usage, "bad count '%s' (want 1-100000)", s);
	*(long *)o->value = v;
	return 0;
}

int cmd_next(int argc, char **argv, const struct cmd_entry *cmd)
{
	struct strbuf err = STRBUF_INIT;
	struct plan *plan = NULL;
	struct cron_tz *tz = NULL;
	const char *path = NULL, *from = NULL, *tzname;
	const char *next_usage = cmd->usage;
	struct cron c;
	char buf[CRON_TIME_MAX];
	unsigned col;
	long count = 5;
	time_t t;
	int ret = RUNNER_EXIT_USAGE;
	const struct opt options[] = {
		OPT_CALLBACK('n', "count", "N", &count, parse_count,
			     "print N fire times, 1-100000 (default 5)"),
		OPT_STRING(0, "from", "TIME", &from,
			   "the fire times after TIME (default now)"),
		OPT_END(),
	};

	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		goto out;
	ret = RUNNER_EXIT_USAGE;
	if (optind == argc) {
		ret = usage_error(next_usage, "no plan given");
		goto out;
	}
	if (argc - optind > 1) {
		ret = usage_error(next_usage, "one plan only ('%s' and '%s')",
				  argv[optind], argv[optind + 1]);
		goto out;
	}
	path = argv[optind];

	if (plan_load(path, &plan, &err) < 0) {
		fputs(err.buf, stderr);
		goto out;
	}
	if (!plan->has_schedule || !plan->cron) {
		error("plan '%s' has no schedule; add 'schedule: {cron: "
		      "\"0 2 * * *\"}' to %s",
		      plan->name, path);
		goto out;
	}
	tzname = plan->timezone ? plan->timezone : "UTC";
	if (cron_parse(plan->cron, &c, &col, &err) < 0) {
		error("plan '%s': schedule '%s': %s", plan->name, plan->cron,
		      err.buf);
		goto out;
	}
	if (cron_tz_load(tzname, &tz, &err) < 0) {
		error("plan '%s': %s", plan->name, err.buf);
		goto out;
	}
	if (!from) {
		t = time(NULL);
	} else if (cron_parse_time(from, tz, &t, &err) < 0) {
		ret = usage_error(next_usage, "--from: %s", err.buf);
		goto out;
	}
	for (long i = 0; i < count; i++) {
		if (cron_next_tz(&c, tz, t, &t, &err) < 0) {
			error("plan '%s': schedule '%s' in %s: %s", plan->name,
			      plan->cron, tzname, err.buf);
			goto out;
		}
		cron_tz_format(tz, t, buf, sizeof(buf));
		printf("%s\n", buf);
	}
	ret = RUNNER_EXIT_OK;
out:
	cron_tz_free(tz);
	plan_free(plan);
	strbuf_release(&err);
	return ret;
}
