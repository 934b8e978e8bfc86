/*
 * on_done: the user's command after a run (hook.h). It is the user's own
 * shell command, like a task's run:, but it runs on the host, so what it
 * is given is chosen here rather than inherited: a few variables of
 * ours, the run's, and nothing a secret could hide in.
 */
#include "runner.h"
#include "hook.h"
#include "fs.h"
#include "mask.h"
#include "plan.h"
#include "proc.h"
#include "run.h"

static const char *const base_env[] = { "PATH",	   "HOME", "USER",
					"LOGNAME", "LANG", "TZ" };

struct hook_out {
	struct strbuf log;
	bool cut;
};

static int on_hook_output(void *ctx, const char *buf, size_t len)
{
	struct hook_out *h = ctx;
	size_t room = HOOK_LOG_MAX - h->log.len;

	/* Read to its end, kept to the cap: the hook is not killed for it. */
	if (len > room) {
		h->cut = true;
		len = room;
	}
	strbuf_add(&h->log, buf, len);
	return 0;
}

static bool is_secret_name(const struct run *run, const char *name)
{
	for (size_t i = 0; i < run->nr_tasks; i++)
		if (strvec_find(&run->tasks[i].task->secrets, name) >= 0)
			return true;
	return false;
}

static bool holds_secret(const struct run *run, const char *value)
{
	for (size_t i = 0; i < run->secret_values.nr; i++)
		if (*run->secret_values.v[i] &&
		    strstr(value, run->secret_values.v[i]))
			return true;
	return false;
}

static void hook_env(const struct run *run, const char *status, int exit_code,
		     const char *state, const char *results,
		     struct strvec *env)
{
	for (size_t i = 0; i < ARRAY_SIZE(base_env); i++) {
		const char *v = getenv(base_env[i]);
		if (!v || is_secret_name(run, base_env[i]) ||
		    holds_secret(run, v))
			continue;
		strvec_pushf(env, "%s=%s", base_env[i], v);
	}
	if (!getenv("PATH"))
		strvec_push(env, "PATH=/usr/local/bin:/usr/bin:/bin");
	strvec_pushf(env, "RUNNER_RUN_ID=%s", run->id);
	strvec_pushf(env, "RUNNER_RESULTS=%s", results);
	strvec_pushf(env, "RUNNER_STATUS=%s", status);
	strvec_pushf(env, "RUNNER_EXIT_CODE=%d", exit_code);
	strvec_pushf(env, "RUNNER_PLAN=%s", run->plan->name);
	strvec_pushf(env, "RUNNER_STATE=%s", state);
}

int hook_on_done(const struct run *run, const char *status, int exit_code,
		 struct strbuf *err)
{
	const struct plan *plan = run->plan;
	struct proc p;
	struct proc_run_opts o = PROC_RUN_OPTS_INIT;
	struct proc_result r;
	struct hook_out h = { .log = STRBUF_INIT };
	struct strbuf why = STRBUF_INIT;
	char *state, *results, *log_path, *masked = NULL;
	int ret = -1;

	if (!plan->on_done)
		return 0;
	/* It runs elsewhere (the plan's directory): absolute paths. */
	state = fs_realpath(run->state_dir, &why);
	if (!state)
		state = xstrdup(run->state_dir);
	strbuf_reset(&why);
	results = fs_realpath(run->dir, &why);
	if (!results)
		results = xstrdup(run->dir);
	proc_init(&p);
	strvec_push(&p.args, "/bin/sh");
	strvec_push(&p.args, "-c");
	strvec_push(&p.args, plan->on_done);
	hook_env(run, status, exit_code, state, results, &p.env);
	p.dir = plan->dir;
	p.no_core = true;
	o.timeout_ms = plan->on_done_timeout_ms;
	o.grace_ms = 5000;
	o.on_output = on_hook_output;
	o.ctx = &h;
	if (proc_start(&p, err) < 0 || proc_run(&p, &o, &r, err) < 0) {
		strbuf_addstr(&h.log, "runner: ");
		strbuf_addstr(&h.log, err->buf);
		strbuf_addch(&h.log, '\n');
		goto out;
	}
	if (h.cut)
		strbuf_addf(&h.log, "\nrunner: the output was cut at %u KiB\n",
			    HOOK_LOG_MAX >> 10);
	if (r.timed_out)
		strbuf_addf(err, "on_done timed out after %lld s",
			    (long long)(plan->on_done_timeout_ms / 1000));
	else if (r.exit_code < 0)
		strbuf_addf(err, "on_done was killed by signal %d",
			    r.term_signal);
	else if (r.exit_code)
		strbuf_addf(err, "on_done failed with status %d", r.exit_code);
	else
		ret = 0;
out:
	masked = mask_string(run->mask, h.log.buf);
	log_path = fs_join(run->dir, "on_done.log");
	strbuf_reset(&why);
	if (fs_write_atomic(log_path, masked, strlen(masked), 0644, &why) <
	    0) {
		strbuf_addf(err, "%scannot write on_done.log: %s",
			    err->len ? "; " : "", why.buf);
		ret = -1;
	} else if (ret < 0) {
		strbuf_addstr(err, " (its output is in on_done.log)");
	}
	proc_release(&p);
	strbuf_release(&h.log);
	strbuf_release(&why);
	free(masked);
	free(log_path);
	free(state);
	free(results);
	return ret;
}
