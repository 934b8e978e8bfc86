/*
 * The run's data model (run.h): task statuses, and building and freeing
 * the tasks and attempts of a run.
 */
#include "runner.h"
#include "run.h"
#include "prices.h"
#include "mask.h"
#include "plan.h"

static const char *const status_names[] = {
	[TASK_QUEUED] = "queued",	[TASK_RUNNING] = "running",
	[TASK_SUCCEEDED] = "succeeded", [TASK_FAILED] = "failed",
	[TASK_TIMED_OUT] = "timed_out", [TASK_CANCELLED] = "cancelled",
	[TASK_SKIPPED] = "skipped",	[TASK_LOST] = "lost",
};

const char *task_status_name(enum task_status s)
{
	if ((size_t)s >= ARRAY_SIZE(status_names))
		BUG("bad task status %d", (int)s);
	return status_names[s];
}

int task_status_parse(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_names); i++)
		if (!strcmp(status_names[i], name))
			return (int)i;
	return -1;
}

static bool selected(const struct strvec *only, const char *id)
{
	if (!only || !only->nr)
		return true;
	return strvec_find(only, id) >= 0;
}

void run_add_tasks(struct run *run, const struct strvec *only)
{
	const struct plan *plan = run->plan;
	size_t n = 0;

	run->tasks = xcalloc(plan->nr_tasks ? plan->nr_tasks : 1,
			     sizeof(*run->tasks));
	for (size_t i = 0; i < plan->nr_tasks; i++) {
		struct task_run *t;
		if (!selected(only, plan->tasks[i].id))
			continue;
		t = &run->tasks[n];
		t->task = &plan->tasks[i];
		t->run = run;
		t->index = n++;
		t->status = TASK_QUEUED;
		t->exit_code = -1;
		strvec_init(&t->warnings);
		strvec_init(&t->blocked);
		t->dir = xstrfmt("%s/tasks/%s", run->dir, t->task->id);
	}
	run->nr_tasks = n;
	for (size_t i = 0; i < n; i++) {
		struct task_run *t = &run->tasks[i];
		const struct strvec *deps = &t->task->depends_on;
		t->deps = xcalloc(deps->nr ? deps->nr : 1, sizeof(*t->deps));
		for (size_t d = 0; d < deps->nr; d++)
			for (size_t j = 0; j < n; j++)
				if (!strcmp(run->tasks[j].task->id,
					    deps->v[d]))
					t->deps[t->nr_deps++] = j;
	}
}

struct attempt_rec *task_run_add_attempt(struct task_run *t)
{
	struct attempt_rec *a;
	ALLOC_GROW(t->attempts, t->nr_attempts + 1, t->alloc_attempts);
	a = &t->attempts[t->nr_attempts++];
	memset(a, 0, sizeof(*a));
	a->n = (int)t->nr_attempts;
	a->exit_code = -1;
	return a;
}

void task_run_drop_attempt(struct task_run *t)
{
	struct attempt_rec *last;
	if (!t->nr_attempts)
		BUG("task '%s' has no attempt to drop", t->task->id);
	last = &t->attempts[--t->nr_attempts];
	free(last->reason);
	free(last->sandbox_id);
	attempt_agent_free(last->agent);
}

void attempt_agent_free(struct attempt_agent *ag)
{
	if (!ag)
		return;
	free(ag->error);
	free(ag->warning);
	free(ag->subtype);
	free(ag->session_id);
	free(ag->model);
	free(ag->final_text);
	free(ag);
}

void run_release(struct run *run)
{
	for (size_t i = 0; i < run->nr_tasks; i++) {
		struct task_run *t = &run->tasks[i];
		for (size_t a = 0; a < t->nr_attempts; a++) {
			free(t->attempts[a].reason);
			free(t->attempts[a].sandbox_id);
			attempt_agent_free(t->attempts[a].agent);
		}
		free(t->attempts);
		free(t->deps);
		free(t->dir);
		free(t->reason);
		free(t->snap_error);
		strvec_clear(&t->warnings);
		strvec_clear(&t->blocked);
	}
	free(run->tasks);
	run->tasks = NULL;
	run->nr_tasks = 0;
	strvec_clear(&run->secret_values);
	mask_free(run->mask);
	run->mask = NULL;
	if (run->prices)
		price_table_release(run->prices);
	free(run->prices);
	run->prices = NULL;
	free(run->id);
	free(run->dir);
	run->id = run->dir = NULL;
}
