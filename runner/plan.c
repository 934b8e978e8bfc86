#include "runner.h"
#include "plan.h"
#include "sandbox.h"
#include "prices.h"

static void task_release(struct plan_task *t)
{
	free(t->id);
	free(t->run);
	free(t->agent);
	free(t->prompt);
	free(t->workspace);
	free(t->warn_at_ms);
	for (size_t i = 0; i < t->nr_env; i++) {
		free(t->env[i].name);
		free(t->env[i].value);
	}
	free(t->env);
	strvec_clear(&t->secrets);
	strvec_clear(&t->exclude);
	strvec_clear(&t->pull);
	strvec_clear(&t->depends_on);
	strvec_clear(&t->matrix);
}

void plan_agent_release(struct plan_agent *a)
{
	free(a->name);
	strvec_clear(&a->command);
	strvec_clear(&a->args);
	for (size_t i = 0; i < a->nr_env; i++) {
		free(a->env[i].name);
		free(a->env[i].value);
	}
	free(a->env);
	strvec_clear(&a->state);
	free(a->model);
	free(a->model_arg);
	free(a->max_turns_arg);
	free(a->max_cost_arg);
	memset(a, 0, sizeof(*a));
	strvec_init(&a->command);
	strvec_init(&a->args);
	strvec_init(&a->state);
}

void plan_free(struct plan *plan)
{
	if (!plan)
		return;
	free(plan->path);
	free(plan->dir);
	free(plan->name);
	free(plan->on_done);
	free(plan->notify.webhook);
	free(plan->cron);
	free(plan->timezone);
	plan_backend_release(&plan->backend);
	for (size_t i = 0; i < plan->nr_agents; i++)
		plan_agent_release(&plan->agents[i]);
	free(plan->agents);
	if (plan->prices)
		price_table_release(plan->prices);
	free(plan->prices);
	for (size_t i = 0; i < plan->nr_tasks; i++)
		task_release(&plan->tasks[i]);
	free(plan->tasks);
	free(plan);
}

const struct plan_task *plan_find_task(const struct plan *plan, const char *id)
{
	for (size_t i = 0; i < plan->nr_tasks; i++)
		if (!strcmp(plan->tasks[i].id, id))
			return &plan->tasks[i];
	return NULL;
}

const struct plan_agent *plan_find_agent(const struct plan *plan,
					 const char *name)
{
	for (size_t i = 0; i < plan->nr_agents; i++)
		if (!strcmp(plan->agents[i].name, name))
			return &plan->agents[i];
	return NULL;
}

/* Digits into *out; returns the first byte after them, NULL on overflow. */
static const char *parse_digits(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (*s < '0' || *s > '9')
		return NULL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return NULL;
		v = v * 10 + d;
	}
	*out = v;
	return s;
}

int parse_duration_ms(const char *s, int64_t *out)
{
	/* In the only order they may appear: largest first. */
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "ms", 1 },
		{ "m", 60000 },	   { "s", 1000 },
	};
	static const int rank[] = { 0, 1, 4, 2, 3 };
	uint64_t total = 0;
	int last = -1;

	if (!s || !*s)
		return -1;
	while (*s) {
		uint64_t n;
		size_t u;
		s = parse_digits(s, INT64_MAX, &n);
		if (!s)
			return -1;
		for (u = 0; u < ARRAY_SIZE(units); u++)
			if (!strncmp(s, units[u].unit, strlen(units[u].unit)))
				break;
		if (u == ARRAY_SIZE(units) || rank[u] <= last)
			return -1;
		last = rank[u];
		s += strlen(units[u].unit);
		if (n > (uint64_t)INT64_MAX / (uint64_t)units[u].ms)
			return -1;
		n *= (uint64_t)units[u].ms;
		if (n > (uint64_t)INT64_MAX - total)
			return -1;
		total += n;
	}
	*out = (int64_t)total;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	uint64_t n, mult = 1;
	const char *u;

	if (!s)
		return -1;
	s = parse_digits(s, UINT64_MAX, &n);
	if (!s)
		return -1;
	if (*s && (u = strchr(units, *s >= 'a' ? *s - 32 : *s))) {
		for (const char *p = units; p <= u; p++)
			mult *= 1024;
		s++;
		if (*s == 'i')
			s++;
		if (s[-1] == 'i' && *s != 'B')
			return -1;
	}
	if (*s == 'B')
		s++;
	if (*s)
		return -1;
	if (n > UINT64_MAX / mult)
		return -1;
	*out = n * mult;
	return 0;
}

void format_duration(int64_t ms, char *buf, size_t size)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 },	   { "ms", 1 },
	};
	uint64_t left;
	size_t len = 0;

	if (!size)
		return;
	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, size, "0s");
		return;
	}
	if (ms < 0) {
		len += (size_t)snprintf(buf, size, "-");
		left = (uint64_t)(-(ms + 1)) + 1;
	} else {
		left = (uint64_t)ms;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units) && len < size; i++) {
		uint64_t n = left / units[i].ms;
		if (!n)
			continue;
		left -= n * units[i].ms;
		len += (size_t)snprintf(buf + len, size - len, "%" PRIu64 "%s",
					n, units[i].unit);
	}
}

bool plan_id_valid(const char *s)
{
	size_t len = 0;

	if (!s || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; s[len]; len++) {
		char c = s[len];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return len >= 1 && len <= 64;
}

const struct plan_agent *plan_agent_offline(const struct plan *plan,
					    const struct plan_task *t)
{
	const struct plan_agent *a = t->agent ? plan_find_agent(plan, t->agent)
					      : NULL;

	const struct sandbox_backend *be =
		sandbox_backend_find(plan->backend.type);
	struct sandbox_traits tr = { 0 };

	if (!a || !a->needs_network || !be || !be->traits)
		return NULL;
	/* An allowlist is the agent's to get right (its API listed). */
	be->traits(plan->backend.config, &tr);
	return tr.no_network ? a : NULL;
}
