#include "runner.h"
#include "cmd.h"
#include "plan.h"
#include "mask.h"
#include "netproxy.h"
#include "cmd-opt.h"

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

/*
 * network: true under bubblewrap is the host's network namespace: the
 * internet and every service listening on the host's loopback.
 */
static void warn_host_network(const char *path, const struct plan *plan)
{
	if (!plan->network || plan->backend != PLAN_BACKEND_LOCAL)
		return;
	warning("%s:%u:%u: backend.network: true gives the tasks the host's "
		"network, its loopback services included (list what they "
		"need instead: network: [api.example.org:443])",
		path, plan->network_loc.line, plan->network_loc.col);
}

/*
 * What e2b does not do as written (e2b-config.h): a sandbox's size is
 * its template's, and allowOut has no ports. Said, not refused: the
 * plan still runs, with more room than it asked for.
 */
static void warn_e2b(const char *path, const struct plan *plan)
{
	const struct netproxy_allowlist *al = &plan->network_allow;
	struct strbuf addrs = STRBUF_INIT;
	struct strvec seen = STRVEC_INIT;
	bool names = false;

	if (plan->backend != PLAN_BACKEND_E2B)
		return;
	if (plan->memory)
		warning("%s:%u:%u: backend.memory is not enforced on e2b: a "
			"sandbox has its template's memory and CPUs "
			"(memoryMB, cpuCount; build a template of the size "
			"you need)",
			path, plan->memory_loc.line, plan->memory_loc.col);
	for (size_t i = 0; i < al->nr; i++) {
		if (al->rules[i].kind != NETPROXY_RULE_ADDR) {
			names = true;
			continue;
		}
		if (strvec_find(&seen, al->rules[i].host.name) >= 0)
			continue;
		strvec_push(&seen, al->rules[i].host.name);
		strbuf_addf(&addrs, "%s%s", addrs.len ? ", " : "",
			    al->rules[i].host.name);
	}
	if (addrs.len || names)
		warning("%s:%u:%u: backend.network on e2b: E2B's allowOut "
			"has no ports, so %s%s%s%s",
			path, plan->network_loc.line, plan->network_loc.col,
			addrs.len ? addrs.buf : "",
			addrs.len ? " may be reached on every port" : "",
			addrs.len && names ? ", and " : "",
			names ? "a listed name on both 80 and 443 (and "
				"8.8.8.8, for DNS)"
			      : "");
	strbuf_release(&addrs);
	strvec_clear(&seen);
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
			warn_host_network(argv[i], plan);
			warn_e2b(argv[i], plan);
		}
		plan_free(plan);
		strbuf_release(&errors);
	}
	fflush(stdout);
	return ret;
}
