#include "runner.h"
#include "cmd.h"
#include "plan.h"
#include "mask.h"
#include "cmd-opt.h"
#include "sandbox.h"

/*
 * Secret values are read from the environment by exec, which warns about
 * a value too short to mask well; validate can only say so for the
 * secrets set in its own environment. Names, never values.
 */
static void warn_short_secrets(const char *path, const struct plan *plan)
{
	struct strvec said = STRVEC_INIT;
	for (size_t i = 0; i < plan->nr_tasks; i++) {
		const struct strvec *names = &plan->tasks[i].secrets;
		for (size_t j = 0; j < names->nr; j++) {
			const char *v = getenv(names->v[j]);
			const char *why = v ? mask_value_problem(v) : NULL;
			if (!why || strvec_find(&said, names->v[j]) >= 0)
				continue;
			strvec_push(&said, names->v[j]);
			warning("%s: secret '%s' (as set here) %s", path,
				names->v[j], why);
		}
	}
	strvec_clear(&said);
}

/* Once per agent: it would retry for minutes against no network. */
static void warn_offline_agents(const char *path, const struct plan *plan)
{
	struct strvec said = STRVEC_INIT;
	for (size_t i = 0; i < plan->nr_tasks; i++) {
		const struct plan_agent *a =
			plan_agent_offline(plan, &plan->tasks[i]);
		if (!a || strvec_find(&said, a->name) >= 0)
			continue;
		strvec_push(&said, a->name);
		warning("%s: agent '%s' (task '%s') needs the network to "
			"reach its API, but backend.network is false: its "
			"tasks will fail (set backend.network: true, or "
			"agents.%s.needs.network: false)",
			path, a->name, plan->tasks[i].id, a->name);
	}
	strvec_clear(&said);
}

/* What the plan's backend says about its settings (network: true). */
static void warn_backend(const char *path, const struct plan *plan)
{
	const struct sandbox_backend *be =
		sandbox_backend_find(plan->backend.type);
	struct strvec said = STRVEC_INIT;

	if (be && be->warn_config)
		be->warn_config(plan->backend.config, path, &said);
	for (size_t i = 0; i < said.nr; i++)
		warning("%s", said.v[i]);
	strvec_clear(&said);
}

/*
 * Every file is checked, even after one fails, and every error of each is
 * printed: one compiler-style "FILE:LINE:COL: message" line on stderr.
 */
int cmd_validate(int argc, char **argv, const struct cmd_entry *cmd)
{
	const struct opt options[] = { OPT_END() };
	int first, ret;

	/* The first non-option ends the options: the rest are all plans. */
	ret = opt_parse(argc, argv, cmd, options, OPT_STOP_AT_NON_OPTION);
	if (ret >= 0)
		return ret;
	first = optind;
	ret = RUNNER_EXIT_OK;
	if (first >= argc)
		return usage_error(cmd->usage, "no plan given");

	for (int i = first; i < argc; i++) {
		struct strbuf errors = STRBUF_INIT;
		struct plan *plan = NULL;

		if (plan_load(argv[i], &plan, &errors) < 0) {
			fputs(errors.buf, stderr);
			ret = RUNNER_EXIT_USAGE;
		} else {
			printf("%s: ok (%zu task%s)\n", argv[i],
			       plan->nr_tasks, plan->nr_tasks == 1 ? "" : "s");
			warn_short_secrets(argv[i], plan);
			warn_offline_agents(argv[i], plan);
			warn_backend(argv[i], plan);
		}
		plan_free(plan);
		strbuf_release(&errors);
	}
	fflush(stdout);
	return ret;
}
