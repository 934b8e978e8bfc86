#include "runner.h"
#include "cmd.h"
#include "cron.h"
#include "plan.h"

static const char next_usage[] = "runner next PLAN [-n N] [--from TIME]";

static void print_help(void)
{
	printf("usage: %s\n\n"
	       "Print the next N (default 5) fire times of the plan's "
	       "schedule after TIME\n(default now), one a line, as ISO 8601 "
	       "in the schedule's time zone.\n\n"
	       "TIME: 2026-03-29T01:30:00Z, 2026-03-29T03:30+02:00, "
	       "@SECONDS, or without an\noffset (2026-03-29T01:30, "
	       "2026-03-29) in the schedule's time zone.\n",
	       next_usage);
}

/* N from "-n N" or "-nN": a count a person would ask for. */
static int parse_count(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < 1 || v > 100000)
		return -1;
	*out = v;
	return 0;
}

int cmd_next(int argc, char **argv)
{
	struct strbuf err = STRBUF_INIT;
	struct plan *plan = NULL;
	struct cron_tz *tz = NULL;
	const char *path = NULL, *from = NULL, *tzname;
	struct cron c;
	char buf[CRON_TIME_MAX];
	unsigned col;
	long count = 5;
	time_t t;
	int ret = RUNNER_EXIT_USAGE;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_help();
			ret = RUNNER_EXIT_OK;
			goto out;
		} else if (!strcmp(a, "-n") || !strcmp(a, "--count")) {
			if (++i == argc) {
				ret = usage_error(next_usage,
						  "%s needs a "
						  "number",
						  a);
				goto out;
			}
			a = argv[i];
			if (parse_count(a, &count) < 0) {
				ret = usage_error(next_usage,
						  "bad count '%s' "
						  "(want 1-100000)",
						  a);
				goto out;
			}
		} else if (!strncmp(a, "-n", 2) && a[2]) {
			if (parse_count(a + 2, &count) < 0) {
				ret = usage_error(next_usage,
						  "bad count '%s' "
						  "(want 1-100000)",
						  a + 2);
				goto out;
			}
		} else if (!strcmp(a, "--from")) {
			if (++i == argc) {
				ret = usage_error(next_usage, "--from needs a "
							      "time");
				goto out;
			}
			from = argv[i];
		} else if (!strncmp(a, "--from=", 7)) {
			from = a + 7;
		} else if (a[0] == '-' && a[1]) {
			ret = usage_error(next_usage, "unknown option '%s'",
					  a);
			goto out;
		} else if (path) {
			ret = usage_error(next_usage,
					  "one plan only "
					  "('%s' and '%s')",
					  path, a);
			goto out;
		} else {
			path = a;
		}
	}
	if (!path) {
		ret = usage_error(next_usage, "no plan given");
		goto out;
	}

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
