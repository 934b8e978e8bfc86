/*
 * One task's life, on a worker thread (DESIGN.md "A task's life", steps
 * 2-6): snapshot the workspace, then per attempt a fresh sandbox, the
 * tree put in, the command run with its output streamed (masked, capped)
 * to output.log, changes pulled back, the sandbox destroyed. The worker
 * writes only its own task_run and files under its task's folder.
 */
#include "runner.h"
#include "plan.h"
#include "run.h"
#include "task.h"
#include "sandbox.h"
#include "netproxy.h"
#include "ws.h"
#include "mask.h"
#include "fs.h"
#include "results.h"
#include "patch.h"
#include "quote.h"
#include "timeutil.h"
#include "record.h"
#include "agent-stream.h"
#include "agent-outcome.h"
#include "prices.h"

#include <fcntl.h>

#define DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct output_ctx {
	struct task_run *t;
	const struct task_hooks *hooks;
	bool went; /* wait_go said go: the task did start */
	int fd;
	struct mask *mask;
	struct agent_stream *agent; /* the attempt's parser, or NULL */
	int max_turns;		    /* to enforce from the stream; 0: none */
	double max_cost_usd;	    /* likewise */
	const char *model;	    /* the plan's, to price tokens */
	char *over_limit;	    /* why on_output stopped the task */
	/* hung agents (on_tick): mono ms of the last sign of life */
	int64_t active_ms;
	int64_t final_at_ms; /* the agent's final result; -1: none yet */
	enum { STOP_NONE, STOP_STALLED, STOP_FINISHED } stop;
	uint64_t written;
	uint64_t limit;
	bool truncated;
	int write_errno;
};

static int write_log(struct output_ctx *o, const char *data, size_t len)
{
	if (o->truncated || o->write_errno)
		return 0;
	if (o->limit && o->written + len > o->limit) {
		static const char note[] =
			"\n[runner: output truncated at log_limit]\n";
		len = (size_t)(o->limit - o->written);
		o->truncated = true;
		if (fs_write_all(o->fd, data, len) < 0 ||
		    fs_write_all(o->fd, note, sizeof(note) - 1) < 0)
			o->write_errno = errno;
		o->written += len;
		return 0;
	}
	if (fs_write_all(o->fd, data, len) < 0)
		o->write_errno = errno;
	o->written += len;
	return 0;
}

/* A plan size the way a plan says it: "100M", "1536K", "1000 bytes". */
static void format_size(uint64_t n, char *buf, size_t size)
{
	static const char units[] = "TGMK";
	for (int i = 0; i < 4; i++) {
		unsigned shift = 10 * (unsigned)(4 - i);
		if (n >= (1ULL << shift) && !(n & ((1ULL << shift) - 1))) {
			snprintf(buf, size, "%llu%c",
				 (unsigned long long)(n >> shift), units[i]);
			return;
		}
	}
	snprintf(buf, size, "%llu bytes", (unsigned long long)n);
}

/* The cut is said in output.log; say it where people look too. */
static void add_truncated_warning(struct task_run *t)
{
	char lim[32];
	char *msg;
	format_size(t->task->log_limit, lim, sizeof(lim));
	msg = xstrfmt("output cut at log_limit (%s): output.log holds the "
		      "first %s, the rest was dropped",
		      lim, lim);
	if (strvec_find(&t->warnings, msg) < 0)
		strvec_push(&t->warnings, msg);
	free(msg);
}

static void on_output_write(struct output_ctx *o, const char *buf, size_t len)
{
	struct strbuf masked = STRBUF_INIT;
	mask_feed(o->mask, buf, len, false, &masked);
	write_log(o, masked.buf, masked.len);
	strbuf_release(&masked);
}

/*
 * A task's max_turns and max_cost_usd, for an agent that has no option
 * for them: read off its stream; -1 (and o->over_limit) once passed.
 */
static int check_limits(struct output_ctx *o)
{
	const struct agent_outcome *oc = agent_stream_outcome(o->agent);
	double usd = 0;

	if (o->max_turns && oc->turns > (uint64_t)o->max_turns) {
		o->over_limit = xstrfmt("max_turns: the agent passed %d turns",
					o->max_turns);
		return -1;
	}
	if (o->max_cost_usd > 0) {
		struct strbuf err = STRBUF_INIT;
		if (oc->has_cost)
			usd = oc->cost_usd;
		else if (oc->has_tokens && o->t->run->prices)
			price_outcome_tokens_cost(o->t->run->prices, oc,
						  o->model, &usd, &err);
		strbuf_release(&err);
		if (usd > o->max_cost_usd) {
			o->over_limit = xstrfmt("max_cost_usd: the agent "
						"spent $%.4f, over $%.4f",
						usd, o->max_cost_usd);
			return -1;
		}
	}
	return 0;
}

static int on_output(void *ctx, const char *buf, size_t len)
{
	struct output_ctx *o = ctx;

	/* Raw: what it keeps is masked when it is recorded. */
	o->active_ms = time_mono_ms();
	if (o->agent)
		agent_stream_feed(o->agent, buf, len, o->active_ms);
	on_output_write(o, buf, len);
	return o->agent && !o->over_limit && check_limits(o) < 0 ? -1 : 0;
}

/* Hung agents: a file changed in the workspace is a sign of life. */
static void on_files_changed(void *ctx)
{
	struct output_ctx *o = ctx;
	o->active_ms = time_mono_ms();
}

static void on_agent_final(void *ctx, const struct agent_outcome *oc)
{
	struct output_ctx *o = ctx;
	(void)oc;
	o->final_at_ms = time_mono_ms();
}

/*
 * The limits runner keeps while the task runs: the grace after the
 * agent's final result (headless agents linger: an MCP server or a
 * hook keeps them up), and idle_timeout. 1 stops the task.
 */
static int on_tick(void *ctx)
{
	struct output_ctx *o = ctx;
	const struct plan_task *pt = o->t->task;
	int64_t now = time_mono_ms();

	if (!o->went || o->stop != STOP_NONE)
		return 0;
	if (o->final_at_ms >= 0) {
		if (now - o->final_at_ms < pt->result_grace_ms)
			return 0;
		o->stop = STOP_FINISHED;
		return 1;
	}
	if (pt->idle_timeout_ms > 0 &&
	    now - o->active_ms >= pt->idle_timeout_ms) {
		o->stop = STOP_STALLED;
		return 1;
	}
	return 0;
}

/* How often the backend looks for file changes while the task is quiet. */
static int64_t watch_interval(int64_t idle_ms)
{
	int64_t ms = idle_ms / 10;

	if (idle_ms <= 0)
		return 0;
	return ms < 1000 ? 1000 : ms > 30000 ? 30000 : ms;
}

static void output_flush(struct output_ctx *o)
{
	struct strbuf masked = STRBUF_INIT;
	mask_feed(o->mask, "", 0, true, &masked);
	write_log(o, masked.buf, masked.len);
	strbuf_release(&masked);
}

static void on_warn(void *ctx, int64_t elapsed_ms)
{
	struct output_ctx *o = ctx;
	char dur[32], lim[32];
	char *msg, *line;
	int64_t mark = elapsed_ms;

	/* It fires a few ms late: say the mark the plan set. */
	for (size_t i = 0; i < o->t->task->nr_warn_at; i++)
		if (o->t->task->warn_at_ms[i] <= elapsed_ms)
			mark = o->t->task->warn_at_ms[i];
	format_duration(mark, dur, sizeof(dur));
	format_duration(o->t->task->timeout_ms, lim, sizeof(lim));
	msg = xstrfmt("still running after %s (timeout %s)", dur, lim);
	strvec_push(&o->t->warnings, msg);
	line = xstrfmt("%s: warning: %s", o->t->task->id, msg);
	o->hooks->notice(o->hooks->ctx, line);
	free(line);
	free(msg);
}

/* The environment a task sees: nothing of ours but what the plan says. */
static void build_env(const struct task_run *t, int attempt, const char *home,
		      struct strvec *env)
{
	const struct plan_task *pt = t->task;
	bool have_path = false, have_home = false;

	for (size_t i = 0; i < pt->nr_env; i++) {
		strvec_pushf(env, "%s=%s", pt->env[i].name, pt->env[i].value);
		have_path |= !strcmp(pt->env[i].name, "PATH");
		have_home |= !strcmp(pt->env[i].name, "HOME");
	}
	for (size_t i = 0; i < pt->secrets.nr; i++) {
		const char *v = getenv(pt->secrets.v[i]);
		strvec_pushf(env, "%s=%s", pt->secrets.v[i], v ? v : "");
	}
	if (!have_path)
		strvec_push(env, "PATH=" DEFAULT_PATH);
	if (!have_home)
		strvec_pushf(env, "HOME=%s", home);
	strvec_pushf(env, "RUNNER_RUN_ID=%s", t->run->id);
	strvec_pushf(env, "RUNNER_TASK_ID=%s", pt->id);
	strvec_pushf(env, "RUNNER_ATTEMPT=%d", attempt);
}

/*
 * A prompt the agent reads from a file: a shell in the sandbox writes
 * its stdin (the prompt) to a file in the sandbox's HOME, outside the
 * workspace, and runs the agent with that path as its last argument.
 */
#define PROMPT_FILE_SCRIPT \
	"umask 077 && cat >\"$0\" && exec \"$@\" \"$0\" </dev/null"

/*
 * argv for the task, and the prompt file fed to stdin, if any. home is
 * the sandbox's HOME (sandbox.h).
 */
static int build_argv(const struct task_run *t, const char *home,
		      struct strvec *argv, char **stdin_path,
		      struct strbuf *err)
{
	const struct plan_task *pt = t->task;
	const struct plan_agent *agent;

	*stdin_path = NULL;
	if (pt->run) {
		strvec_push(argv, "/bin/sh");
		strvec_push(argv, "-c");
		strvec_push(argv, pt->run);
		return 0;
	}
	agent = plan_find_agent(t->run->plan, pt->agent);
	if (!agent)
		BUG("unknown agent '%s' passed validation", pt->agent);
	if (agent->prompt == PLAN_PROMPT_FILE) {
		strvec_push(argv, "/bin/sh");
		strvec_push(argv, "-c");
		strvec_push(argv, PROMPT_FILE_SCRIPT);
		strvec_pushf(argv, "%s/.runner-prompt.md", home);
	}
	strvec_pushv(argv, agent->command.v);
	strvec_pushv(argv, agent->args.v);
	if (agent->model && agent->model_arg) {
		strvec_push(argv, agent->model_arg);
		strvec_push(argv, agent->model);
	}
	/* Limits the agent keeps itself; on_output keeps the others. */
	if (pt->max_turns && agent->max_turns_arg) {
		strvec_push(argv, agent->max_turns_arg);
		strvec_pushf(argv, "%d", pt->max_turns);
	}
	if (pt->max_cost_usd > 0 && agent->max_cost_arg) {
		strvec_push(argv, agent->max_cost_arg);
		strvec_pushf(argv, "%.6g", pt->max_cost_usd);
	}
	if (agent->prompt == PLAN_PROMPT_ARG) {
		strvec_push(argv, pt->prompt ? pt->prompt : "");
		return 0;
	}
	/* stdin and file modes both get the prompt on stdin. */
	*stdin_path = fs_join(t->dir, "prompt.txt");
	if (fs_write_atomic(*stdin_path, pt->prompt ? pt->prompt : "",
			    pt->prompt ? strlen(pt->prompt) : 0, 0600,
			    err) < 0)
		return -1;
	return 0;
}

static struct attempt_rec *new_attempt(struct task_run *t)
{
	struct attempt_rec *a = task_run_add_attempt(t);
	a->started_at = time_now_ms();
	return a;
}

static void attempt_fail(struct attempt_rec *a, enum task_status st,
			 const char *reason)
{
	a->status = st;
	free(a->reason);
	a->reason = reason ? xstrdup(reason) : NULL;
}

static void status_from_exec(struct attempt_rec *a,
			     const struct sandbox_status *st,
			     const struct task_run *t, bool went)
{
	char lim[32];
	if (st->cancelled && !went) {
		a->never_went = true;
		attempt_fail(a, TASK_CANCELLED,
			     "run interrupted before the task started");
	} else if (st->cancelled) {
		attempt_fail(a, TASK_CANCELLED, "run interrupted");
	} else if (st->timed_out) {
		char *r;
		format_duration(t->task->timeout_ms, lim, sizeof(lim));
		r = xstrfmt("timed out after %s", lim);
		attempt_fail(a, TASK_TIMED_OUT, r);
		free(r);
	} else if (st->term_signal) {
		char *r = xstrfmt("killed by signal %d", st->term_signal);
		attempt_fail(a, TASK_FAILED, r);
		free(r);
	} else if (st->exit_code != 0) {
		char *r = xstrfmt("exited with status %d", st->exit_code);
		a->exit_code = st->exit_code;
		attempt_fail(a, TASK_FAILED, r);
		free(r);
	} else {
		a->exit_code = 0;
		a->status = TASK_SUCCEEDED;
	}
}

/*
 * on_tick stopped the task: a stall is a time limit (timed_out, retried
 * like a timeout); an agent ended after its final result finished, and
 * what it said decides (attempt_agent_judge, next).
 */
static void status_from_stop(struct attempt_rec *a, struct output_ctx *o,
			     const struct sandbox_status *st)
{
	const struct plan_task *pt = o->t->task;
	char lim[32];
	char *r;

	if (!st->stopped || st->cancelled)
		return;
	if (o->stop == STOP_STALLED) {
		format_duration(pt->idle_timeout_ms, lim, sizeof(lim));
		r = xstrfmt("stalled: no output for %s", lim);
		attempt_fail(a, TASK_TIMED_OUT, r);
		free(r);
	} else if (o->stop == STOP_FINISHED) {
		format_duration(pt->result_grace_ms, lim, sizeof(lim));
		strvec_pushf(&o->t->warnings,
			     "the agent did not exit within %s (result_grace) "
			     "of its final result: ended",
			     lim);
		a->status = TASK_SUCCEEDED;
		a->exit_code = -1;
		free(a->reason);
		a->reason = NULL;
	}
}

/* The sandbox is ready: wait for the scheduler's go (or a cancel). */
static int wait_go(void *ctx)
{
	struct output_ctx *o = ctx;
	struct task_run *t = o->t;
	bool go = o->hooks->wait_go(o->hooks->ctx);

	o->went = go;
	o->active_ms = time_mono_ms();
	if (go)
		t->attempts[t->nr_attempts - 1].started_at = time_now_ms();
	return go;
}

/* The task's process is gone: its slot can go to the next one. */
static void mark_exited(const struct output_ctx *o)
{
	o->hooks->exited(o->hooks->ctx);
}

static void log_line(struct output_ctx *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void log_line(struct output_ctx *o, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	char *masked;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	/* A reason may quote the backend or the task: mask it too. */
	masked = mask_string(o->t->run->mask, sb.buf);
	if (fs_write_all(o->fd, masked, strlen(masked)) < 0)
		o->write_errno = errno;
	free(masked);
	strbuf_release(&sb);
}

/*
 * What the attempt cost (prices.h, cost_decide): the agent's report,
 * else its tokens at the run's prices, else its time at the plan's rate.
 */
static void attempt_cost(const struct task_run *t, struct attempt_rec *a,
			 const struct agent_outcome *o,
			 const struct plan_agent *agent)
{
	const struct plan *plan = t->run->plan;
	struct cost_input in = {
		.prices = t->run->prices,
		.outcome = o,
		.model = agent ? agent->model : NULL,
		.sandbox_ms = a->never_went ? 0 : a->ended_at - a->started_at,
		.usd_per_hour = plan->cost_per_hour_usd > 0
					? plan->cost_per_hour_usd
					: -1,
	};
	struct cost c;

	cost_decide(&in, &c);
	a->cost_usd = c.usd;
	a->cost_source = c.source_name;
}

/* Record a remote sandbox's id before it is used (for `runner gc`). */
static int on_created(void *ctx, const struct sandbox_config *cfg,
		      const char *sandbox_id, struct strbuf *err)
{
	return record_sandbox_created(cfg->state_dir, ctx, cfg->attempt,
				      sandbox_id, err);
}

/*
 * network: [allowlist]: each destination the proxy refused becomes an
 * event of the task (the scheduler records them); a sandbox that never
 * handed the proxy its listener had no network at all: a warning.
 */
static void take_network_report(struct task_run *t,
				const struct attempt_rec *a,
				struct netproxy_report *net)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < net->nr; i++) {
		strbuf_reset(&sb);
		netproxy_refusal_format(&net->refusals[i], &sb);
		strvec_push(&t->blocked, sb.buf);
	}
	if (net->refusals_dropped)
		strvec_pushf(&t->blocked,
			     "blocked: %" PRIu64 " more refusals (past %d "
			     "destinations)",
			     net->refusals_dropped, NETPROXY_MAX_REFUSALS);
	if (net->error && !a->never_went && a->status != TASK_CANCELLED)
		strvec_pushf(&t->warnings, "network: %s", net->error);
	netproxy_report_release(net);
	strbuf_release(&sb);
}

/* One attempt: a fresh sandbox from create to destroy. */
static void run_attempt(struct task_run *t, const struct ws_manifest *m,
			struct output_ctx *out, struct attempt_rec *a,
			struct ws_changes *changes)
{
	const struct plan_task *pt = t->task;
	const struct plan *plan = t->run->plan;
	const struct sandbox_backend *be = t->run->backend;
	struct sandbox_config cfg = {
		.run_id = t->run->id,
		.task_id = pt->id,
		.attempt = a->n,
		.state_dir = t->run->state_dir,
		.backend_config = plan->backend.config,
		.timeout_ms = pt->timeout_ms,
		.netproxy = t->run->netproxy,
		.on_created = on_created,
		.on_created_ctx = t,
	};
	struct sandbox *sb = NULL;
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	struct sandbox_status st = { .exit_code = -1 };
	char *stdin_path = NULL;
	char *changes_dir = fs_join(t->dir, "changes");
	struct ws_pull_opts popts = { .pull = &pt->pull,
				      .pull_limit = pt->pull_limit,
				      .dest = changes_dir,
				      .exclude = &pt->exclude,
				      .secrets = t->run->mask };
	struct sandbox_cmd cmd = { 0 };
	const struct plan_agent *agent =
		pt->agent ? plan_find_agent(plan, pt->agent) : NULL;
	struct netproxy_report net = NETPROXY_REPORT_INIT;

	if (agent && agent->output != AGENT_FORMAT_NONE) {
		struct agent_stream_opts so = { .format = agent->output,
						.model = agent->model,
						.on_final = on_agent_final,
						.ctx = out };
		out->agent = agent_stream_new(&so);
		out->max_turns = agent->max_turns_arg ? 0 : pt->max_turns;
		out->max_cost_usd = agent->max_cost_arg ? 0 : pt->max_cost_usd;
		out->model = agent->model;
	}
	if (plan_agent_offline(plan, pt)) {
		/* Not minutes of retries against a closed network. */
		char *r = xstrfmt("agent '%s' needs the network to reach its "
				  "API, but backend.network is false (set "
				  "backend.network: true)",
				  agent->name);
		attempt_fail(a, TASK_FAILED, r);
		free(r);
		goto out;
	}
	/* What an earlier attempt brought back is not this one's. */
	{
		char *patch = fs_join(t->dir, "changes.patch");
		unlink(patch);
		free(patch);
	}
	if (fs_rm_rf(changes_dir, &err) < 0 ||
	    be->create(&cfg, &sb, &err) < 0 ||
	    build_argv(t, be->home(sb), &argv, &stdin_path, &err) < 0) {
		attempt_fail(a, TASK_FAILED, err.buf);
		goto out;
	}
	a->sandbox_id = xstrdup(be->id(sb));
	if (be->put_tree(sb, m, pt->workspace, &err) < 0) {
		attempt_fail(a, TASK_FAILED, err.buf);
		goto out;
	}
	build_env(t, a->n, be->home(sb), &env);
	cmd.argv = argv.v;
	cmd.env = env.v;
	cmd.stdin_path = stdin_path;
	cmd.timeout_ms = pt->timeout_ms;
	cmd.warn_at_ms = pt->warn_at_ms;
	cmd.nr_warn_at = pt->nr_warn_at;
	cmd.grace_ms = t->run->grace_ms;
	cmd.on_output = on_output;
	cmd.on_warn = on_warn;
	cmd.on_tick = on_tick;
	cmd.watch_files_ms = watch_interval(pt->idle_timeout_ms);
	cmd.on_files_changed = on_files_changed;
	out->final_at_ms = -1;
	out->stop = STOP_NONE;
	cmd.cancel = out->hooks->cancel;
	cmd.kill_now = out->hooks->kill_now;
	cmd.wait_go = wait_go;
	cmd.ctx = out;
	if (t->run->netproxy)
		cmd.net_report = &net;
	if (be->exec(sb, &cmd, &st, &err) < 0 && !out->over_limit) {
		attempt_fail(a, TASK_FAILED, err.buf);
		goto out;
	}
	mark_exited(out);
	output_flush(out);
	status_from_exec(a, &st, t, out->went);
	status_from_stop(a, out, &st);
	if (out->agent) {
		agent_stream_finish(out->agent, time_mono_ms());
		a->agent = attempt_agent_from(agent_stream_outcome(out->agent),
					      t->run->mask);
		attempt_agent_judge(a);
	}
	if (out->over_limit)
		attempt_fail(a, TASK_FAILED, out->over_limit);
	/* Partial work of a timed-out or failed task still comes back. */
	ws_changes_release(changes);
	if (be->pull_changes(sb, m, &popts, changes, &err) < 0) {
		if (a->status == TASK_SUCCEEDED)
			attempt_fail(a, TASK_FAILED, err.buf);
		else
			strvec_pushf(&t->warnings, "changes not pulled: %s",
				     err.buf);
	}
out:
	mark_exited(out);
	take_network_report(t, a, &net);
	if (sb) {
		strbuf_reset(&err);
		if (be->destroy(sb, &err) < 0)
			strvec_pushf(&t->warnings, "sandbox not removed: %s",
				     err.buf);
	}
	a->ended_at = time_now_ms();
	attempt_cost(t, a,
		     out->agent ? agent_stream_outcome(out->agent) : NULL,
		     agent);
	if (a->reason && !a->never_went) {
		/* Our line in the log stays one line, whatever it quotes. */
		char *r = quote_text_dup(a->reason);
		log_line(out, "[runner: attempt %d %s: %s]\n", a->n,
			 task_status_name(a->status), r);
		free(r);
	}
	agent_stream_free(out->agent);
	out->agent = NULL;
	free(out->over_limit);
	out->over_limit = NULL;
	free(stdin_path);
	free(changes_dir);
	strvec_clear(&argv);
	strvec_clear(&env);
	strbuf_release(&err);
}

void task_execute(struct task_run *t, const struct task_hooks *hooks)
{
	const struct plan_task *pt = t->task;
	struct ws_changes changes = { 0 };
	struct output_ctx out = {
		.t = t, .hooks = hooks, .fd = -1, .limit = pt->log_limit
	};
	struct strbuf err = STRBUF_INIT;
	struct strvec notices = STRVEC_INIT;
	char *log_path = fs_join(t->dir, "output.log");
	struct attempt_rec *a = new_attempt(t);

	out.mask = mask_new(&t->run->secret_values);
	if (fs_mkdir_p(t->dir, 0755, &err) < 0)
		goto fail;
	out.fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		      0644);
	if (out.fd < 0) {
		strbuf_addf(&err, "cannot open '%s': %s", log_path,
			    strerror(errno));
		goto fail;
	}
	/* A log that has grown over several attempts keeps one budget. */
	{
		off_t size = lseek(out.fd, 0, SEEK_END);
		out.written = size > 0 ? (uint64_t)size : 0;
	}
	if (a->n > 1)
		log_line(&out, "[runner: attempt %d]\n", a->n);
	if (!t->manifest)
		BUG("task '%s' dispatched without a snapshot", pt->id);
	run_attempt(t, t->manifest, &out, a, &changes);
	strbuf_reset(&err);
	if (results_write_changes(t, &changes, &notices, &err) < 0)
		strvec_pushf(&t->warnings, "%s", err.buf);
	for (size_t i = 0; i < notices.nr; i++)
		hooks->notice(hooks->ctx, notices.v[i]);
	strbuf_reset(&err);
	if (changes.nr) {
		char *changes_dir = fs_join(t->dir, "changes");
		char *patch = fs_join(t->dir, "changes.patch");
		if (patch_write(&changes, pt->workspace, changes_dir, patch,
				&err) < 0)
			strvec_pushf(&t->warnings, "changes.patch: %s",
				     err.buf);
		free(changes_dir);
		free(patch);
	}
	goto out;
fail:
	attempt_fail(a, TASK_FAILED, err.buf);
	a->ended_at = time_now_ms();
	if (out.fd >= 0) {
		char *r = quote_text_dup(err.buf);
		log_line(&out, "[runner: attempt %d failed: %s]\n", a->n, r);
		free(r);
	}
out:
	if (out.fd >= 0) {
		if (out.truncated)
			add_truncated_warning(t);
		if (out.write_errno)
			strvec_pushf(&t->warnings, "output.log incomplete: %s",
				     strerror(out.write_errno));
		close(out.fd);
	}
	ws_changes_release(&changes);
	strvec_clear(&notices);
	mask_free(out.mask);
	strbuf_release(&err);
	free(log_path);
}
