/*
 * DESIGN
 *
 * The scheduler runs on the main thread and makes every decision: which
 * task starts next, when the run stops, what goes into the database. It
 * owns the run and every task_run in it.
 *
 *   queued --(deps done, slot free)--> running --(worker returns)--> final
 *   queued --(a dependency did not succeed)--> skipped
 *   queued --(signal)--> cancelled
 *
 * A task starts when every dependency has finished and succeeded and
 * fewer than `concurrency` tasks are running. It is handed to the pool,
 * whose worker runs task_execute() (task.c) and gives it back through the
 * completion queue; only then does the scheduler read its results and
 * record them. The main loop wakes at least every 200 ms to notice
 * signals, pass worker notices on and tick the observer's live line.
 *
 * Everything about that hand-over is private to this file: the run's
 * data model (run.h) holds no locks. Each task has a struct sched_task
 * beside it (same index) with its phase and its go/exited handshake;
 * the worker reaches the scheduler only through the struct task_hooks
 * it is given (task.h), which this file implements.
 *
 * It prints nothing: what it has to say while it runs goes to the
 * caller's struct sched_observer, what came of the run into its struct
 * sched_outcome (sched.h); the CLI shows them (cmd-progress.c).
 *
 * Signals: the handler only sets sched->cancel (first) or
 * sched->kill_now (second). Workers watch both through their sandbox's
 * exec loop (task_hooks.cancel and .kill_now).
 */
#include "runner.h"
#include "sched.h"
#include "prices.h"
#include "agent-outcome.h"
#include "run.h"
#include "snap.h"
#include "hook.h"
#include "task.h"
#include "caps.h"
#include "exitcode.h"
#include "fs.h"
#include "hash.h"
#include "mask.h"
#include "netproxy.h"
#include "notify.h"
#include "plan.h"
#include "pool.h"
#include "rand.h"
#include "record.h"
#include "recover.h"
#include "results.h"
#include "sandbox.h"
#include "store.h"
#include "store-runs.h"
#include "timeutil.h"
#include "ws.h"

#include <fcntl.h>
#include <cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

static bool is_final(enum task_status s)
{
	return s != TASK_QUEUED && s != TASK_RUNNING;
}

/*
 * The scheduler's side of one task (sched->tasks[i] beside run->tasks[i]):
 * where it is in the hand-over to its worker. phase, attempt_no,
 * not_before and first_attempt are the main thread's. go (set by the
 * scheduler) and exited (set by the worker) are guarded by
 * sched->go_lock; go_cond is signalled when go is set (one per task, so
 * a go wakes only its own worker; a cancel is polled for).
 */
struct sched_task {
	struct sched *s;
	struct task_run *t;
	enum { PHASE_IDLE, PHASE_PREP, PHASE_GO } phase;
	int attempt_no;	      /* the number of the attempt in flight */
	int64_t not_before;   /* retry backoff: not before (ms) */
	size_t first_attempt; /* attempts made before this session */
	int64_t ledger_id;    /* the attempt's cost reservation, or 0 */
	bool go;
	bool exited;
	pthread_cond_t go_cond;
	struct task_hooks hooks; /* what its worker calls, ctx = this */
};

struct sched {
	struct run *run;
	struct sched_task *tasks; /* one per run->tasks[i], same index */
	struct store *store;	  /* main thread only */
	const struct sched_observer *obs; /* never NULL */
	struct pool *pool;     /* woken when a task's process exits */
	struct notify *notify; /* the plan's webhook, or NULL */

	/* Set by the signal handler, read by everyone. */
	atomic_int cancel;   /* first signal: stop starting, TERM */
	atomic_int kill_now; /* second signal: KILL at once */

	/* The go/exited handshake of prepared tasks (struct sched_task). */
	pthread_mutex_t go_lock;

	/* Worker notices for the observer. */
	pthread_mutex_t notice_lock;
	struct strvec notices; /* guarded by notice_lock */

	int running;		/* tasks handed to the pool */
	int prewarm;		/* tasks prepared ahead of a free slot */
	int64_t cap_wait_until; /* on_limit wait: no start before this */
	const char *cap_which;	/* the cap we wait for */
	bool cap_failed;	/* on_limit fail fired */
	int db_failed;
	struct strbuf db_err;
	/*
	 * One transaction per turn of the main loop; what the turn decided
	 * reaches the workers only once it is committed, so a task never
	 * starts (nor takes a cap slot) unrecorded.
	 */
	bool in_turn; /* inside a turn of the main loop */
	bool in_batch;
	bool batch_failed;     /* this turn could not open its transaction */
	int64_t db_down_since; /* starts unrecordable since (mono ms), or 0 */
	struct strbuf db_down_err;
	struct task_run **to_submit, **to_go;
	size_t nr_submit, alloc_submit, nr_go, alloc_go;
	/*
	 * The tasks handed to the pool and not collected yet, in plan order
	 * (at most concurrency + prewarm), and the first task that is not
	 * final: a turn of the loop looks at these, not at every task, so a
	 * plan of 10,000 tasks costs no more per turn than one of ten.
	 */
	struct task_run **active;
	size_t nr_active, alloc_active;
	size_t first_open;
};

/* The run being executed, for the signal handler. */
static struct sched *volatile signal_sched;

static void on_signal(int sig)
{
	struct sched *s = signal_sched;
	(void)sig;
	if (!s)
		return;
	if (atomic_exchange(&s->cancel, 1))
		atomic_store(&s->kill_now, 1);
}

static void install_signals(struct sched *s, struct sigaction *old_int,
			    struct sigaction *old_term)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	signal_sched = s;
	sigaction(SIGINT, &sa, old_int);
	sigaction(SIGTERM, &sa, old_term);
}

static void restore_signals(const struct sigaction *old_int,
			    const struct sigaction *old_term)
{
	sigaction(SIGINT, old_int, NULL);
	sigaction(SIGTERM, old_term, NULL);
	signal_sched = NULL;
}

/* "20261122-024400-3f9a": sortable by time, unique enough with the tail. */
static char *new_run_id(void)
{
	int64_t now = time_now_ms();
	time_t t = (time_t)(now / 1000);
	struct tm tm;
	unsigned char rnd[2];

	rand_bytes(rnd, sizeof(rnd));
	gmtime_r(&t, &tm);
	return xstrfmt("%04d%02d%02d-%02d%02d%02d-%02x%02x", tm.tm_year + 1900,
		       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		       tm.tm_sec, rnd[0], rnd[1]);
}

static struct sched_task *of(struct sched *s, const struct task_run *t)
{
	return &s->tasks[t->index];
}

/* task_hooks.wait_go: block until the scheduler's go, or a cancel. */
static int hook_wait_go(void *ctx)
{
	struct sched_task *x = ctx;
	struct sched *s = x->s;
	bool go;

	pthread_mutex_lock(&s->go_lock);
	while (!x->go && !atomic_load(&s->cancel)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&x->go_cond, &s->go_lock, &ts);
	}
	go = x->go;
	pthread_mutex_unlock(&s->go_lock);
	return go;
}

/* task_hooks.exited: the task's slot can go to the next one. */
static void hook_exited(void *ctx)
{
	struct sched_task *x = ctx;
	pthread_mutex_lock(&x->s->go_lock);
	x->exited = true;
	pthread_mutex_unlock(&x->s->go_lock);
	pool_wake(x->s->pool);
}

/* task_hooks.notice: queued for the main loop, which shows it masked. */
static void hook_notice(void *ctx, const char *line)
{
	struct sched_task *x = ctx;
	pthread_mutex_lock(&x->s->notice_lock);
	strvec_push(&x->s->notices, line);
	pthread_mutex_unlock(&x->s->notice_lock);
}

/* The pool's job: one attempt of the task, on a worker. */
static void run_job(void *arg)
{
	struct sched_task *x = arg;
	task_execute(x->t, &x->hooks);
}

static void sched_tasks_init(struct sched *s)
{
	s->tasks = xcalloc(s->run->nr_tasks ? s->run->nr_tasks : 1,
			   sizeof(*s->tasks));
	for (size_t i = 0; i < s->run->nr_tasks; i++) {
		struct sched_task *x = &s->tasks[i];
		x->s = s;
		x->t = &s->run->tasks[i];
		pthread_cond_init(&x->go_cond, NULL);
		x->hooks.wait_go = hook_wait_go;
		x->hooks.exited = hook_exited;
		x->hooks.notice = hook_notice;
		x->hooks.ctx = x;
		x->hooks.cancel = &s->cancel;
		x->hooks.kill_now = &s->kill_now;
	}
}

static void sched_tasks_release(struct sched *s)
{
	for (size_t i = 0; s->tasks && i < s->run->nr_tasks; i++)
		pthread_cond_destroy(&s->tasks[i].go_cond);
	free(s->tasks);
}

/*
 * Secret values for masking, and in value_names the name of each (the
 * first to have it); -1 (with err) if one is not set. A value
 * too short to mask well is said once in warnings, and in the warnings of
 * every task that takes it (by name, never by value).
 */
static int collect_secrets(struct run *run, struct strvec *value_names,
			   struct strvec *warnings, struct strbuf *err)
{
	struct strvec said = STRVEC_INIT;
	int ret = 0;
	for (size_t i = 0; i < run->nr_tasks; i++) {
		struct task_run *t = &run->tasks[i];
		const struct strvec *names = &t->task->secrets;
		for (size_t j = 0; j < names->nr; j++) {
			const char *v = getenv(names->v[j]);
			const char *why = v ? mask_value_problem(v) : NULL;
			if (why) {
				strvec_pushf(&t->warnings, "secret '%s' %s",
					     names->v[j], why);
				/* Ours, naming no value: not to be masked. */
				t->nr_warnings_masked = t->warnings.nr;
				if (strvec_find(&said, names->v[j]) < 0) {
					strvec_push(&said, names->v[j]);
					strvec_pushf(warnings,
						     "secret '%s' %s",
						     names->v[j], why);
				}
			}
			if (!v) {
				if (!ret)
					strbuf_addf(
						err,
						"task '%s' needs secret '%s'"
						", which is not set in the "
						"environment",
						run->tasks[i].task->id,
						names->v[j]);
				ret = -1;
				continue;
			}
			if (*v && strvec_find(&run->secret_values, v) < 0) {
				strvec_push(&run->secret_values, v);
				strvec_push(value_names, names->v[j]);
			}
		}
	}
	strvec_clear(&said);
	return ret;
}

static int copy_plan(struct run *run, char *sha_hex, struct strbuf *err)
{
	struct strbuf text;
	unsigned char sum[32];
	char *dst;
	int ret;

	strbuf_init_capped(&text, 64 << 20);
	if (strbuf_read_file(&text, run->plan->path) < 0) {
		strbuf_addf(err, "cannot read '%s': %s", run->plan->path,
			    strerror(errno));
		strbuf_release(&text);
		return -1;
	}
	sha256_buf(text.buf, text.len, sum);
	sha256_hex(sum, sha_hex);
	dst = fs_join(run->dir, "plan.yaml");
	ret = fs_write_atomic(dst, text.buf, text.len, 0644, err);
	free(dst);
	strbuf_release(&text);
	return ret;
}

/* Database trouble must not stop tasks that are running: note it once. */
static void db_check(struct sched *s, int rc, struct strbuf *err)
{
	if (rc < 0 && !s->db_failed) {
		s->db_failed = 1;
		strbuf_addstr(&s->db_err, err->buf);
	}
	strbuf_reset(err);
}

/*
 * The turn's transaction, opened by its first write, so that a turn with
 * nothing to record leaves the lock to others. False when it could not be
 * opened (another process held the lock past the busy timeout): the
 * turn's records are then written one by one, and nothing starts.
 */
static bool batch_need(struct sched *s)
{
	struct strbuf err = STRBUF_INIT;

	if (!s->in_turn || s->in_batch || s->batch_failed)
		return s->in_batch;
	if (store_begin(s->store, &err) == 0) {
		s->in_batch = true;
	} else {
		s->batch_failed = true;
		strbuf_reset(&s->db_down_err);
		strbuf_add(&s->db_down_err, err.buf, err.len);
	}
	strbuf_release(&err);
	return s->in_batch;
}

static void record_only(struct sched *s, const struct task_run *t,
			const char *level, const char *kind,
			const char *message)
{
	struct strbuf err = STRBUF_INIT;
	char *masked = mask_string(s->run->mask, message);

	batch_need(s);
	db_check(s,
		 record_event(s->store, s->run->id, t ? t->task->id : NULL,
			      level, kind, masked, NULL, &err),
		 &err);
	free(masked);
	strbuf_release(&err);
}

/* Tell the observer (event lines, --json). */
static void tell(struct sched *s, const char *kind, const char *task,
		 const char *status, const char *message)
{
	if (s->obs->event)
		s->obs->event(s->obs->ctx, kind, task, status, message);
}

/* An event: into the database, and told (both masked). */
static void event(struct sched *s, const struct task_run *t, const char *level,
		  const char *kind, const char *message)
{
	char *masked = mask_string(s->run->mask, message);
	record_only(s, t, level, kind, message);
	tell(s, kind, t ? t->task->id : NULL,
	     t ? task_status_name(t->status) : NULL, masked);
	free(masked);
}

static char *started_message(const struct sched_task *x)
{
	return x->attempt_no > 1 ? xstrfmt("attempt %d started", x->attempt_no)
				 : xstrdup("started");
}

static void finish_skipped(struct sched *s, struct task_run *t,
			   enum task_status st, char *reason)
{
	struct strbuf err = STRBUF_INIT;

	batch_need(s);
	if (st == TASK_SKIPPED && t->nr_attempts) {
		/*
		 * A retry that may not start (caps, budget): the task ends as
		 * its last attempt did, not as if it never ran.
		 */
		const struct attempt_rec *a = &t->attempts[t->nr_attempts - 1];
		char *why = xstrfmt("%s; not retried: %s",
				    a->reason ? a->reason
					      : task_status_name(a->status),
				    reason);
		free(reason);
		reason = why;
		st = a->status;
		t->exit_code = a->exit_code;
	}
	t->status = st;
	free(t->reason);
	t->reason = reason;
	if (!t->ended_at)
		t->ended_at = time_now_ms();
	db_check(s, record_task_done(s->store, t, &err), &err);
	if (results_write_task(t, &err) < 0)
		db_check(s, -1, &err);
	event(s, t, "info",
	      st == TASK_SKIPPED ? "task_skipped" : "task_finished", reason);
	strbuf_release(&err);
}

/* The cost of an attempt that runs to its timeout: the estimate. */
static double attempt_estimate(const struct task_run *t)
{
	return (double)t->task->timeout_ms / 3600000.0 *
	       t->run->plan->cost_per_hour_usd;
}

/* Spent by finished attempts plus the estimate of running ones. */
static double committed_cost(const struct run *run)
{
	double c = 0;
	for (size_t i = 0; i < run->nr_tasks; i++) {
		c += run->tasks[i].cost_usd;
		if (run->tasks[i].status == TASK_RUNNING)
			c += attempt_estimate(&run->tasks[i]);
	}
	return c;
}

/* Everything still queued is skipped with this reason. */
static void skip_all_queued(struct sched *s, const char *reason)
{
	for (size_t i = 0; i < s->run->nr_tasks; i++) {
		struct task_run *t = &s->run->tasks[i];
		if (t->status != TASK_QUEUED)
			continue;
		finish_skipped(s, t, TASK_SKIPPED, xstrdup(reason));
	}
}

/*
 * Task starts cannot be recorded (the turn's transaction would not open
 * or commit). Running tasks go on. Starts wait while another process
 * holds the lock, for up to DB_DOWN_GIVE_UP_MS; then, or at once for a
 * full disk or a broken file, the rest is skipped, so that an unattended
 * run still ends.
 */
#define DB_DOWN_GIVE_UP_MS (60 * 1000)

static void db_down(struct sched *s)
{
	/* Only another process's lock may go away by itself. */
	if (!store_last_busy(s->store)) {
		s->db_down_since = time_mono_ms() - DB_DOWN_GIVE_UP_MS - 1;
		return;
	}
	if (s->db_down_since)
		return;
	s->db_down_since = time_mono_ms();
	tell(s, "notice", NULL, NULL,
	     "the state database is locked by another process; "
	     "waiting to start more tasks");
}

enum gate { GATE_GO, GATE_WAIT, GATE_SKIPPED };

/*
 * The budget and the caps: may t start now? A start is recorded in the
 * ledger (shared with every run of this state) before the sandbox is made.
 */
static char *budget_reason(const struct plan *plan,
			   const struct caps_spend *sp, int verdict)
{
	if (verdict == CAPS_NEVER)
		return xstrfmt("budget_per_day_usd $%.2f: its estimate $%.4f "
			       "(%s) alone is more",
			       plan->budget_per_day_usd, sp->estimate_usd,
			       sp->estimate_from);
	return xstrfmt("budget_per_day_usd $%.2f reached: $%.4f spent or "
		       "reserved in the last 24 h, its estimate $%.4f (%s)",
		       plan->budget_per_day_usd, sp->spent_usd,
		       sp->estimate_usd, sp->estimate_from);
}

static enum gate gate(struct sched *s, struct task_run *t)
{
	struct run *run = s->run;
	const struct plan *plan = run->plan;
	/*
	 * One ledger per backend: every plan and every run sharing this
	 * state counts against the same sandbox starts. The cost ledger is
	 * one for the state.
	 */
	struct caps c = { run->backend->name, plan->per_hour, plan->per_day,
			  plan->budget_per_day_usd };
	struct caps_spend sp = {
		.plan = plan->name ? plan->name : "",
		.run_id = run->id,
		.task_id = t->task->id,
		.attempt = (int)t->nr_attempts + 1,
		.max_cost_usd = t->task->max_cost_usd,
		.default_usd = plan->estimate_usd,
		.time_usd = attempt_estimate(t),
	};
	struct strbuf err = STRBUF_INIT;
	int64_t now = time_now_ms(), next = 0;
	const char *which = NULL;
	bool budget;
	int v;

	if (plan->budget_usd > 0 &&
	    committed_cost(run) + attempt_estimate(t) > plan->budget_usd) {
		finish_skipped(s, t, TASK_SKIPPED,
			       xstrfmt("budget: starting it could cost $%.4f"
				       " more, past budget_usd $%.2f ($%.4f "
				       "committed)",
				       attempt_estimate(t), plan->budget_usd,
				       committed_cost(run)));
		return GATE_SKIPPED;
	}
	if (now < s->cap_wait_until)
		return GATE_WAIT;
	if (!batch_need(s)) {
		db_down(s);
		return GATE_WAIT;
	}
	v = caps_try_spend(s->store, &c, now, &sp, &next, &which, &err);
	if (v < 0) {
		db_check(s, -1, &err);
		strbuf_release(&err);
		return GATE_GO; /* the ledger is down: do not block work */
	}
	strbuf_release(&err);
	if (v == CAPS_TAKEN) {
		s->cap_wait_until = 0;
		s->cap_which = NULL;
		of(s, t)->ledger_id = sp.ledger_id;
		return GATE_GO;
	}
	budget = !strcmp(which, "budget_per_day_usd");
	if (plan->on_limit == PLAN_ON_LIMIT_WAIT && v == CAPS_FULL) {
		char when[40];
		/* The budget's wait looks again often: say it once. */
		if (s->cap_which != which ||
		    (!budget && s->cap_wait_until != next)) {
			char *msg;
			time_iso8601_utc(next, when, sizeof(when));
			if (budget) {
				char *r = budget_reason(plan, &sp, v);
				msg = xstrfmt("%s; waiting", r);
				free(r);
			} else {
				msg = xstrfmt("%s cap reached (%d); waiting "
					      "for the next slot at %s",
					      which,
					      !strcmp(which, "per_hour")
						      ? plan->per_hour
						      : plan->per_day,
					      when);
			}
			event(s, NULL, "info", "cap_wait", msg);
			free(msg);
		}
		s->cap_wait_until = next;
		s->cap_which = which;
		return GATE_WAIT;
	}
	{
		char *why =
			budget ? budget_reason(plan, &sp, v)
			       : xstrfmt("%s cap reached (%d starts in the "
					 "last %s)",
					 which,
					 !strcmp(which, "per_hour")
						 ? plan->per_hour
						 : plan->per_day,
					 !strcmp(which, "per_hour")
						 ? "hour"
						 : "24 hours");
		char *reason =
			xstrfmt("%s%s", why,
				plan->on_limit == PLAN_ON_LIMIT_FAIL
					? "; on_limit: fail stopped the run"
					: "");
		free(why);
		finish_skipped(s, t, TASK_SKIPPED, xstrdup(reason));
		if (plan->on_limit == PLAN_ON_LIMIT_FAIL) {
			s->cap_failed = true;
			skip_all_queued(s, reason);
		}
		free(reason);
	}
	return GATE_SKIPPED;
}

/* The attempt's reservation gets what it cost. */
static void settle(struct sched *s, struct task_run *t, double usd)
{
	struct sched_task *x = of(s, t);
	struct strbuf err = STRBUF_INIT;

	if (!x->ledger_id)
		return;
	batch_need(s);
	db_check(s,
		 caps_settle(s->store, x->ledger_id, usd, time_now_ms(), &err),
		 &err);
	x->ledger_id = 0;
	/* What was reserved and not spent may let a waiting task go. */
	if (s->cap_which && !strcmp(s->cap_which, "budget_per_day_usd"))
		s->cap_wait_until = 0;
	strbuf_release(&err);
}

/* Every dependency finished and succeeded. */
static bool ready_deps(const struct run *run, const struct task_run *t)
{
	for (size_t d = 0; d < t->nr_deps; d++)
		if (run->tasks[t->deps[d]].status != TASK_SUCCEEDED)
			return false;
	return true;
}

/*
 * Workspaces up to this size are prepared ahead: their copy is cheap, and
 * hiding the sandbox's start-up is what makes short tasks fast. Bigger
 * ones are copied only when a slot is free, so that at most `concurrency`
 * copies exist at once.
 */
#define PREWARM_MAX_BYTES (64u << 20)
#define PREWARM_FACTOR 2

/* Tasks given a slot whose process has not ended yet. */
static int slots_in_use(struct sched *s)
{
	int n = 0;
	pthread_mutex_lock(&s->go_lock);
	for (size_t i = 0; i < s->nr_active; i++) {
		const struct sched_task *x = of(s, s->active[i]);
		if (x->phase == PHASE_GO && !x->exited)
			n++;
	}
	pthread_mutex_unlock(&s->go_lock);
	return n;
}

/* Give a prepared task its slot: from now on it runs. */
static void grant(struct sched *s, struct task_run *t)
{
	struct sched_task *x = of(s, t);
	struct strbuf err = STRBUF_INIT;
	char *msg;

	batch_need(s);
	x->phase = PHASE_GO;
	if (!t->started_at)
		t->started_at = time_now_ms();
	db_check(s, record_attempt_start(s->store, t, x->attempt_no, &err),
		 &err);
	strbuf_release(&err);
	/* Shown when it does go: see batch_end(). */
	msg = started_message(x);
	record_only(s, t, "info", "task_started", msg);
	free(msg);
	ALLOC_GROW(s->to_go, s->nr_go + 1, s->alloc_go);
	s->to_go[s->nr_go++] = t;
}

/* Hand the task to a worker, which prepares its sandbox. */
static void submit(struct sched *s, struct task_run *t)
{
	struct sched_task *x = of(s, t);
	struct strbuf err = STRBUF_INIT;

	t->status = TASK_RUNNING;
	x->phase = PHASE_PREP;
	x->attempt_no = (int)t->nr_attempts + 1;
	pthread_mutex_lock(&s->go_lock);
	x->go = false;
	x->exited = false;
	pthread_mutex_unlock(&s->go_lock);
	db_check(s, record_task(s->store, t, &err), &err);
	strbuf_release(&err);
	s->running++;
	ALLOC_GROW(s->to_submit, s->nr_submit + 1, s->alloc_submit);
	s->to_submit[s->nr_submit++] = t;
	{
		/* Plan order: a retry may come back behind later tasks. */
		size_t i = s->nr_active;
		ALLOC_GROW(s->active, s->nr_active + 1, s->alloc_active);
		while (i > 0 && s->active[i - 1]->index > t->index) {
			s->active[i] = s->active[i - 1];
			i--;
		}
		s->active[i] = t;
		s->nr_active++;
	}
}

static void deactivate(struct sched *s, const struct task_run *t)
{
	for (size_t i = 0; i < s->nr_active; i++) {
		if (s->active[i] != t)
			continue;
		memmove(&s->active[i], &s->active[i + 1],
			(s->nr_active - i - 1) * sizeof(*s->active));
		s->nr_active--;
		return;
	}
	BUG("task '%s' collected but not active", t->task->id);
}

/* A start the turn decided but could not record: queued again. */
static void unsubmit(struct sched *s, struct task_run *t)
{
	t->status = TASK_QUEUED;
	of(s, t)->phase = PHASE_IDLE;
	/* Its reservation went with the turn's transaction. */
	of(s, t)->ledger_id = 0;
	if (!t->nr_attempts)
		t->started_at = 0;
	of(s, t)->not_before = time_now_ms() + 1000;
	s->running--;
	deactivate(s, t);
}

/*
 * Commit the turn, then let its tasks go. Tasks it submitted start only
 * if the commit went through; prepared tasks it granted go either way
 * (their start was recorded by an earlier turn).
 */
static void batch_end(struct sched *s)
{
	struct strbuf err = STRBUF_INIT;
	bool recorded = !s->batch_failed;

	if (s->in_batch && store_commit(s->store, &err) < 0) {
		recorded = false;
		strbuf_reset(&s->db_down_err);
		strbuf_add(&s->db_down_err, err.buf, err.len);
		db_check(s, -1, &err);
	}
	if (s->in_batch && recorded)
		s->db_down_since = 0;
	s->in_batch = s->batch_failed = false;
	strbuf_release(&err);
	for (size_t i = 0; i < s->nr_submit; i++) {
		if (recorded)
			pool_submit(s->pool, run_job, of(s, s->to_submit[i]));
		else
			unsubmit(s, s->to_submit[i]);
	}
	if (s->nr_submit && !recorded)
		db_down(s);
	s->nr_submit = 0;
	pthread_mutex_lock(&s->go_lock);
	for (size_t i = 0; i < s->nr_go; i++) {
		struct sched_task *x = of(s, s->to_go[i]);
		if (x->phase != PHASE_GO)
			continue; /* unsubmitted above */
		x->go = true;
		pthread_cond_signal(&x->go_cond);
	}
	pthread_mutex_unlock(&s->go_lock);
	for (size_t i = 0; i < s->nr_go; i++) {
		struct task_run *t = s->to_go[i];
		char *msg;
		if (of(s, t)->phase != PHASE_GO)
			continue;
		msg = started_message(of(s, t));
		tell(s, "task_started", t->task->id,
		     task_status_name(t->status), msg);
		free(msg);
	}
	s->nr_go = 0;
}

/*
 * Start what can start; skip what cannot run any more. Returns whether
 * any task is still queued.
 *
 * Slots: at most `concurrency` tasks run (have the go and a live
 * process); up to `prewarm` more are being prepared, waiting at their
 * gate. Prepared tasks get slots first, in plan order.
 */
static bool dispatch(struct sched *s)
{
	struct run *run = s->run;
	bool queued = false, cancel = atomic_load(&s->cancel);
	int in_use = slots_in_use(s), preparing = 0;
	int64_t now = time_now_ms();

	if (s->db_down_since &&
	    time_mono_ms() - s->db_down_since > DB_DOWN_GIVE_UP_MS) {
		char *reason = xstrfmt("not started: the state database could "
				       "not record its start (%s)",
				       s->db_down_err.buf);
		skip_all_queued(s, reason);
		free(reason);
	}

	for (size_t i = 0; i < s->nr_active; i++) {
		struct task_run *t = s->active[i];
		if (of(s, t)->phase != PHASE_PREP)
			continue;
		if (!cancel && in_use < run->concurrency) {
			grant(s, t);
			in_use++;
		} else {
			preparing++;
		}
	}
	while (s->first_open < run->nr_tasks &&
	       is_final(run->tasks[s->first_open].status))
		s->first_open++;
	for (size_t i = s->first_open; i < run->nr_tasks; i++) {
		struct task_run *t = &run->tasks[i];
		const struct task_run *bad = NULL;
		bool ready = true;
		int ahead;

		if (t->status != TASK_QUEUED)
			continue;
		if (cancel) {
			finish_skipped(
				s, t, TASK_CANCELLED,
				xstrdup(t->nr_attempts
						? "run interrupted before "
						  "the next attempt"
						: "run interrupted before "
						  "the task started"));
			continue;
		}
		/*
		 * No slot can open in this turn: the rest waits. (A task whose
		 * dependency failed is skipped in a later turn, as soon as a
		 * slot frees, which is also when such a failure is collected.)
		 */
		if (in_use + preparing >= run->concurrency + s->prewarm) {
			queued = true;
			break;
		}
		if (of(s, t)->not_before > now) {
			queued = true;
			continue;
		}
		if (t->snap_error && ready_deps(run, t)) {
			finish_skipped(s, t, TASK_FAILED,
				       xstrdup(t->snap_error));
			continue;
		}
		for (size_t d = 0; d < t->nr_deps; d++) {
			const struct task_run *dep = &run->tasks[t->deps[d]];
			if (!is_final(dep->status))
				ready = false;
			else if (dep->status != TASK_SUCCEEDED && !bad)
				bad = dep;
		}
		if (bad) {
			finish_skipped(s, t, TASK_SKIPPED,
				       xstrfmt("dependency '%s' %s",
					       bad->task->id,
					       bad->status == TASK_SKIPPED
						       ? "was skipped"
						       : "did not succeed"));
			continue;
		}
		ahead = t->manifest && t->manifest->total_bytes <=
						PREWARM_MAX_BYTES
				? s->prewarm
				: 0;
		if (!ready || in_use + preparing >= run->concurrency + ahead) {
			queued = true;
			continue;
		}
		switch (gate(s, t)) {
		case GATE_WAIT:
			queued = true;
			continue;
		case GATE_SKIPPED:
			continue;
		case GATE_GO:
			break;
		}
		submit(s, t);
		if (in_use < run->concurrency) {
			grant(s, t);
			in_use++;
		} else {
			preparing++;
		}
	}
	return queued;
}

/* Exponential backoff from retry_backoff, with +-25% jitter. */
static int64_t backoff_ms(const struct task_run *t)
{
	int64_t base = t->task->retry_backoff_ms;
	unsigned seed = (unsigned)(time_now_ms() ^ (int64_t)(t->index << 16));
	double jitter = 0.75 + 0.5 * (double)(rand_r(&seed) % 1001) / 1000;

	for (size_t i = 1; i < t->nr_attempts && base < INT64_MAX / 4; i++)
		base *= 2;
	return (int64_t)((double)base * jitter);
}

static bool retryable(struct sched *s, const struct task_run *t)
{
	const struct attempt_rec *a = &t->attempts[t->nr_attempts - 1];
	return !atomic_load(&s->cancel) &&
	       (a->status == TASK_FAILED || a->status == TASK_TIMED_OUT) &&
	       t->nr_attempts - of(s, t)->first_attempt <
		       (size_t)t->task->retries + 1;
}

/*
 * What the agent said, as an event: a line for people, the whole report
 * as data for --json and the database (masked when it was kept).
 */
static void agent_event(struct sched *s, const struct task_run *t,
			const struct attempt_rec *a)
{
	struct strbuf msg = STRBUF_INIT, err = STRBUF_INIT;
	cJSON *data = attempt_agent_json(a->agent);
	char *text;

	cJSON_AddNumberToObject(data, "task_cost_usd", t->cost_usd);
	cJSON_AddStringToObject(data, "cost_source",
				t->cost_source ? t->cost_source : "none");
	text = cJSON_PrintUnformatted(data);
	strbuf_addf(&msg, "agent %s: ", a->agent->format);
	attempt_agent_summary(a->agent, &msg);
	strbuf_addf(&msg, "; cost $%.4f (%s)", t->cost_usd,
		    t->cost_source ? t->cost_source : "none");
	batch_need(s);
	db_check(s,
		 record_event(s->store, s->run->id, t->task->id, "info",
			      "agent_outcome", msg.buf, text, &err),
		 &err);
	if (s->obs->event_data)
		s->obs->event_data(s->obs->ctx, "agent_outcome", t->task->id,
				   task_status_name(t->status), msg.buf, text);
	else
		tell(s, "agent_outcome", t->task->id,
		     task_status_name(t->status), msg.buf);
	cJSON_free(text);
	cJSON_Delete(data);
	strbuf_release(&msg);
	strbuf_release(&err);
}

/* The task is done for good: record it, write result.json, tell. */
static void finish(struct sched *s, struct task_run *t)
{
	struct strbuf err = STRBUF_INIT;
	struct strbuf msg = STRBUF_INIT;
	const struct attempt_rec *a = &t->attempts[t->nr_attempts - 1];
	char dur[32];

	t->status = a->status;
	t->exit_code = a->exit_code;
	free(t->reason);
	t->reason = a->reason ? xstrdup(a->reason) : NULL;
	t->ended_at = a->ended_at;
	db_check(s, record_task_done(s->store, t, &err), &err);
	if (results_write_task(t, &err) < 0)
		db_check(s, -1, &err);
	time_format_elapsed(t->ended_at - t->started_at, dur, sizeof(dur));
	strbuf_addf(&msg, "%s in %s", task_status_name(t->status), dur);
	if (t->nr_attempts > 1)
		strbuf_addf(&msg, " after %zu attempts", t->nr_attempts);
	if (t->reason)
		strbuf_addf(&msg, ": %s", t->reason);
	if (t->nr_added + t->nr_modified + t->nr_deleted)
		strbuf_addf(&msg, " (%zu added, %zu modified, %zu deleted)",
			    t->nr_added, t->nr_modified, t->nr_deleted);
	event(s, t, t->status == TASK_SUCCEEDED ? "info" : "warn",
	      "task_finished", msg.buf);
	if (a->agent)
		agent_event(s, t, a);
	for (size_t i = 0; i < t->warnings.nr; i++)
		db_check(s,
			 record_event(s->store, s->run->id, t->task->id,
				      "warn", "warning", t->warnings.v[i],
				      NULL, &err),
			 &err);
	strbuf_release(&msg);
	strbuf_release(&err);
}

/*
 * What a worker wrote that may quote the task or the backend (reasons,
 * warnings) is masked before it goes anywhere: database, result.json,
 * events, the live line.
 */
static void mask_task(const struct mask *m, struct task_run *t)
{
	if (t->nr_attempts)
		mask_in_place(m, &t->attempts[t->nr_attempts - 1].reason);
	for (size_t i = t->nr_warnings_masked; i < t->warnings.nr; i++) {
		char *masked = mask_string(m, t->warnings.v[i]);
		free((char *)t->warnings.v[i]);
		t->warnings.v[i] = masked;
	}
	t->nr_warnings_masked = t->warnings.nr;
}

/*
 * What the network proxy refused for the attempt just collected: one
 * event per destination (kind network_blocked), told as well.
 */
static void record_blocked(struct sched *s, struct task_run *t)
{
	for (; t->nr_blocked_recorded < t->blocked.nr;
	     t->nr_blocked_recorded++)
		event(s, t, "warn", "network_blocked",
		      t->blocked.v[t->nr_blocked_recorded]);
}

static void collect(struct sched *s, struct task_run *t)
{
	struct sched_task *x = of(s, t);
	struct strbuf err = STRBUF_INIT;
	const struct attempt_rec *a = &t->attempts[t->nr_attempts - 1];
	bool granted = x->phase == PHASE_GO;

	batch_need(s);
	s->running--;
	deactivate(s, t);
	x->phase = PHASE_IDLE;
	mask_task(s->run->mask, t);
	record_blocked(s, t);
	if (a->never_went && !granted) {
		/*
		 * Its sandbox was ready, it never had its go: no attempt to
		 * count or record (a resume starts again at this number).
		 */
		task_run_drop_attempt(t);
		settle(s, t, 0);
		finish_skipped(s, t, TASK_CANCELLED,
			       xstrdup(t->nr_attempts
					       ? "run interrupted before the "
						 "next attempt"
					       : "run interrupted before the "
						 "task started"));
		return;
	}
	/* Here, not in the worker: the budget check reads it meanwhile. */
	t->cost_usd += a->cost_usd;
	t->cost_source = a->cost_source;
	settle(s, t, a->cost_usd);
	notify_cost(s->notify, committed_cost(s->run));
	if (!retryable(s, t)) {
		finish(s, t);
		return;
	}
	t->status = TASK_QUEUED;
	x->not_before = time_now_ms() + backoff_ms(t);
	db_check(s, record_task_done(s->store, t, &err), &err);
	{
		char *msg = xstrfmt("attempt %d %s (%s); retrying in %.1fs",
				    a->n, task_status_name(a->status),
				    a->reason ? a->reason : "no reason",
				    (double)(x->not_before - time_now_ms()) /
					    1000);
		event(s, t, "warn", "task_retry", msg);
		free(msg);
	}
	strbuf_release(&err);
}

static void drain_notices(struct sched *s)
{
	struct strvec notes;
	pthread_mutex_lock(&s->notice_lock);
	notes = s->notices;
	strvec_init(&s->notices);
	pthread_mutex_unlock(&s->notice_lock);
	for (size_t i = 0; i < notes.nr; i++) {
		char *masked = mask_string(s->run->mask, notes.v[i]);
		tell(s, "notice", NULL, NULL, masked);
		free(masked);
	}
	strvec_clear(&notes);
}

static void counts(const struct sched *s, struct sched_counts *c)
{
	const struct run *run = s->run;
	memset(c, 0, sizeof(*c));
	c->total = (int)run->nr_tasks;
	for (size_t i = 0; i < run->nr_tasks; i++) {
		enum task_status st = run->tasks[i].status;
		if (st == TASK_QUEUED ||
		    (st == TASK_RUNNING && s->tasks[i].phase == PHASE_PREP))
			c->queued++;
		else if (st == TASK_RUNNING)
			c->running++;
		else
			c->done++;
		if (is_final(st) && st != TASK_SUCCEEDED)
			c->failed++;
	}
}

static void main_loop(struct sched *s)
{
	struct sched_counts c;
	bool announced_cancel = false;
	struct sched_task *done = NULL;
	int64_t drawn_at = 0;

	drain_notices(s); /* the snapshots' come before any start */
	for (;;) {
		bool queued;

		s->in_turn = true;
		while (done) {
			collect(s, done->t);
			done = pool_next_done(s->pool, 0);
		}
		queued = dispatch(s);
		batch_end(s);
		s->in_turn = false;
		if (!queued && s->running == 0)
			break;
		done = pool_next_done(s->pool, 200);
		drain_notices(s);
		if (atomic_load(&s->cancel) && !announced_cancel) {
			announced_cancel = true;
			tell(s, "notice", NULL, NULL,
			     "interrupted: stopping running tasks "
			     "(signal again to kill at once)");
		}
		/* Ten redraws a second are plenty for a human. */
		if (s->obs->tick && time_mono_ms() - drawn_at >= 100) {
			drawn_at = time_mono_ms();
			counts(s, &c);
			if (s->cap_wait_until > time_now_ms()) {
				c.next_slot_ms = s->cap_wait_until;
				c.cap_which = s->cap_which;
			}
			s->obs->tick(s->obs->ctx, &c,
				     time_now_ms() - s->run->started_at);
		}
	}
	drain_notices(s);
	if (s->obs->end)
		s->obs->end(s->obs->ctx);
}

/*
 * Take over an existing run: its rows say what succeeded already; the
 * rest is queued again, keeping its attempt history so numbering goes on.
 */
static int resume_prepare(struct sched *sc, struct strbuf *err)
{
	struct run *run = sc->run;
	struct store_run row;
	struct strbuf msg = STRBUF_INIT;
	int ret = -1;

	if (store_runs_get(sc->store, run->id, &row, &msg) != 1) {
		strbuf_addf(err, "no run '%s' in this state", run->id);
		goto out;
	}
	if (row.status && !strcmp(row.status, "running")) {
		strbuf_addf(err,
			    "run %s is still going (pid %lld on %s); "
			    "resume it when it has stopped",
			    run->id, (long long)row.pid,
			    row.host ? row.host : "(null)");
		goto out;
	}
	run->started_at = row.started_at;
	if (record_load_tasks(sc->store, run, err) < 0)
		goto out;
	for (size_t i = 0; i < run->nr_tasks; i++) {
		struct task_run *t = &run->tasks[i];
		sc->tasks[i].first_attempt = t->nr_attempts;
		if (t->status == TASK_SUCCEEDED)
			continue;
		t->status = TASK_QUEUED;
		t->ended_at = 0;
		t->exit_code = -1;
		free(t->reason);
		t->reason = NULL;
	}
	if (fs_mkdir_p(run->dir, 0755, err) < 0 ||
	    record_run_resume(sc->store, run, err) < 0)
		goto out;
	ret = 0;
out:
	store_run_release(&row);
	strbuf_release(&msg);
	return ret;
}

static void warn(struct sched *s, const char *msg)
{
	if (s->obs->warning)
		s->obs->warning(s->obs->ctx, msg);
}

/* The run could not start (or its tasks could not): say why. */
static void not_started(struct sched_outcome *out, int exit_code, bool lines,
			const char *why)
{
	out->result = SCHED_NOT_STARTED;
	out->exit_code = exit_code;
	out->error_lines = lines;
	free(out->error);
	out->error = xstrdup(why);
}

static void run_init(struct run *run, struct plan *plan,
		     const struct run_opts *opts)
{
	memset(run, 0, sizeof(*run));
	run->plan = plan;
	run->state_dir = opts->state_dir;
	run->id = opts->resume_id ? xstrdup(opts->resume_id) : new_run_id();
	run->dir = xstrfmt("%s/runs/%s", opts->state_dir, run->id);
	run->concurrency = opts->jobs > 0 ? opts->jobs : plan->concurrency;
	if (run->concurrency < 1)
		run->concurrency = 1;
	run->grace_ms = opts->grace_ms > 0 ? opts->grace_ms : 10000;
	run->pid = (long)getpid();
	if (gethostname(run->host, sizeof(run->host) - 1) < 0)
		snprintf(run->host, sizeof(run->host), "unknown");
	strvec_init(&run->secret_values);
	run->backend = sandbox_backend_find(plan->backend.type);
	run_add_tasks(run, opts->only);
}

/* The limits that do not hold here as the plan means them: said once. */
static void limits_note(struct sched *s, const struct run *run)
{
	struct strbuf note = STRBUF_INIT;

	if (run->backend->limits_note)
		run->backend->limits_note(run->plan->backend.config, &note);
	if (note.len)
		warn(s, note.buf);
	strbuf_release(&note);
}

/*
 * Everything before the run's first event: the secrets, the backend's
 * check, the state, the snapshots, the run's rows. 0, or -1 with the
 * outcome saying why the run cannot start.
 */
static int prepare(struct sched *s, const struct run_opts *opts,
		   struct sched_outcome *out)
{
	struct run *run = s->run;
	struct strvec secret_warnings = STRVEC_INIT,
		      secret_names = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	struct sandbox_config probe = { 0 };
	char sha[65];
	int ret = -1, code = RUNNER_EXIT_RUNTIME;
	bool lines = false;

	if (collect_secrets(run, &secret_names, &secret_warnings, &err) < 0) {
		code = RUNNER_EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < secret_warnings.nr; i++)
		warn(s, secret_warnings.v[i]);
	run->mask = mask_new_named(&run->secret_values, &secret_names);
	run->prices = xcalloc(1, sizeof(*run->prices));
	if (price_table_load_builtin(run->prices, &err) < 0 ||
	    (run->plan->prices &&
	     price_table_merge(run->prices, run->plan->prices, &err) < 0))
		goto out;
	probe.state_dir = opts->state_dir;
	probe.backend_config = run->plan->backend.config;
	if (run->backend->check && run->backend->check(&probe, &err) < 0)
		goto out;
	limits_note(s, run);
	if (store_open(opts->state_dir, STORE_MIGRATE, &s->store, &err) < 0)
		goto out;
	if (recover_lost_runs(s->store, &err) < 0) {
		warn(s, err.buf);
		strbuf_reset(&err);
	}
	/* No worker yet: the snapshots' lines go straight into the queue. */
	switch (snap_prepare(run, s->store, &s->notices, &err)) {
	case 0:
		break;
	case 1:
		code = RUNNER_EXIT_USAGE;
		lines = true;
		goto out;
	default:
		goto out;
	}
	if (opts->resume_id) {
		if (resume_prepare(s, &err) < 0)
			goto out;
	} else {
		if (fs_mkdir_p(run->dir, 0755, &err) < 0 ||
		    copy_plan(run, sha, &err) < 0)
			goto out;
		run->started_at = time_now_ms();
		if (record_run_start(s->store, run, sha, &err) < 0)
			goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		not_started(out, code, lines, err.buf);
	strvec_clear(&secret_warnings);
	strvec_clear(&secret_names);
	strbuf_release(&err);
	return ret;
}

static void announce(struct sched *s, const struct run_opts *opts)
{
	const struct run *run = s->run;
	char *msg;

	if (s->obs->begin)
		s->obs->begin(s->obs->ctx, run->id);
	event(s, NULL, "info", "run_started",
	      opts->resume_id ? "run resumed" : "run started");
	msg = xstrfmt("run %s: %s%zu task%s of plan '%s', concurrency %d",
		      run->id, opts->resume_id ? "resuming, " : "",
		      run->nr_tasks, run->nr_tasks == 1 ? "" : "s",
		      run->plan->name, run->concurrency);
	tell(s, "notice", NULL, NULL, msg);
	free(msg);
}

/*
 * network: [allowlist]: one proxy for the run, serving every task (each
 * attaches for its sandbox's life); none otherwise.
 */
static int start_netproxy(struct run *run, struct strbuf *err)
{
	const struct sandbox_backend *be = run->backend;
	struct netproxy_opts opts = { 0 };
	struct strbuf why = STRBUF_INIT;

	if (!be->proxy_allowlist ||
	    !be->proxy_allowlist(run->plan->backend.config))
		return 0;
	run->netproxy = netproxy_new(&opts, &why);
	if (!run->netproxy)
		strbuf_addf(err, "cannot start the network proxy: %s",
			    why.buf);
	strbuf_release(&why);
	return run->netproxy ? 0 : -1;
}

/* The tasks, to the end: 0, or -1 with err when no worker can start. */
static int run_tasks(struct sched *s, struct strbuf *err)
{
	struct sigaction old_int, old_term;
	int ret = -1;

	install_signals(s, &old_int, &old_term);
	/*
	 * Preparing a sandbox is mostly waiting on the kernel (namespaces,
	 * mounts), so several are prepared at once to keep the slots fed.
	 */
	s->prewarm = s->run->concurrency * PREWARM_FACTOR;
	if (getenv("RUNNER_PREWARM"))
		s->prewarm = (int)strtol(getenv("RUNNER_PREWARM"), NULL, 10);
	if (s->prewarm < 0)
		s->prewarm = 0;
	if (start_netproxy(s->run, err) < 0)
		goto out;
	s->pool = pool_new(s->run->concurrency + s->prewarm, err);
	if (s->pool) {
		main_loop(s);
		pool_free(s->pool);
		s->pool = NULL;
		ret = 0;
	}
	/* No worker left: every task has detached from it. */
	netproxy_free(s->run->netproxy);
	s->run->netproxy = NULL;
out:
	restore_signals(&old_int, &old_term);
	return ret;
}

/* The run's status and exit code, recorded, and its last event. */
static void end_run(struct sched *s, struct sched_outcome *out)
{
	struct run *run = s->run;
	struct strbuf err = STRBUF_INIT;
	bool interrupted = atomic_load(&s->cancel) != 0;
	int exit_code = RUNNER_EXIT_OK;
	const char *status = "succeeded";
	char *msg;

	run->ended_at = time_now_ms();
	for (size_t i = 0; i < run->nr_tasks; i++)
		if (run->tasks[i].status != TASK_SUCCEEDED) {
			exit_code = RUNNER_EXIT_TASK_FAILED;
			status = "failed";
		}
	if (interrupted) {
		exit_code = RUNNER_EXIT_INTERRUPTED;
		status = "interrupted";
	}
	/* Records failing outrank a task failing. */
	if (s->db_failed && exit_code != RUNNER_EXIT_INTERRUPTED)
		exit_code = RUNNER_EXIT_RUNTIME;
	db_check(s, record_run_end(s->store, run, status, exit_code, &err),
		 &err);
	msg = xstrfmt("finished: %s", status);
	event(s, NULL, exit_code ? "warn" : "info", "run_finished", msg);
	free(msg);
	if (results_write_run(run, status, exit_code, interrupted, &err) < 0)
		db_check(s, -1, &err);
	out->result = SCHED_RAN;
	out->status = status;
	out->recorded_exit_code = exit_code;
	out->exit_code = exit_code;
	/* Recording the run's end may have failed just now. */
	if (s->db_failed) {
		out->records_error = xstrdup(s->db_err.buf);
		if (exit_code != RUNNER_EXIT_INTERRUPTED)
			out->exit_code = RUNNER_EXIT_RUNTIME;
	}
	out->run_id = xstrdup(run->id);
	out->results_dir = xstrdup(run->dir);
	out->started_at = run->started_at;
	out->ended_at = run->ended_at;
	strbuf_release(&err);
}

/*
 * The webhook, once everything about the run is written: how each post
 * went is an event of the run (notify, notify_failed) and a failure a
 * warning too; neither is a failure of the run's records, so its exit
 * code stays what it is.
 */
static void notify_run_end(struct sched *s, const struct sched_outcome *out)
{
	struct strvec sent = STRVEC_INIT, failed = STRVEC_INIT;
	struct notify_report rep = { &sent, &failed };
	struct strbuf err = STRBUF_INIT;

	notify_end(s->notify, out->status, out->recorded_exit_code, &rep);
	for (size_t i = 0; i < sent.nr + failed.nr; i++) {
		bool ok = i < sent.nr;
		const char *msg = ok ? sent.v[i] : failed.v[i - sent.nr];
		char *masked = mask_string(s->run->mask, msg);
		record_event(s->store, s->run->id, NULL, ok ? "info" : "warn",
			     ok ? "notify" : "notify_failed", masked, NULL,
			     &err);
		strbuf_reset(&err);
		tell(s, ok ? "notify" : "notify_failed", NULL, NULL, masked);
		if (!ok)
			warn(s, masked);
		free(masked);
	}
	strvec_clear(&sent);
	strvec_clear(&failed);
	strbuf_release(&err);
}

/*
 * The plan's on_done, after the results are written, for it to read them,
 * and after the webhook, which a slow hook (up to its timeout) would hold
 * up; not after a ^C, which asked for the end. Whatever it does, the
 * run's status stays.
 */
static void on_done(struct sched *s, const struct sched_outcome *out)
{
	struct strbuf err = STRBUF_INIT;

	if (!s->run->plan->on_done || atomic_load(&s->cancel))
		return;
	if (hook_on_done(s->run, out->status, out->recorded_exit_code, &err) <
	    0) {
		event(s, NULL, "warn", "on_done_failed", err.buf);
		warn(s, err.buf);
	} else {
		event(s, NULL, "info", "on_done", "on_done ran");
	}
	strbuf_release(&err);
}

/* The tasks as they stand, into the outcome. */
static void outcome_tasks(const struct run *run, struct sched_outcome *out)
{
	out->concurrency = run->concurrency;
	out->backend = run->backend->name;
	out->nr_tasks = run->nr_tasks;
	out->tasks = xcalloc(run->nr_tasks ? run->nr_tasks : 1,
			     sizeof(*out->tasks));
	for (size_t i = 0; i < run->nr_tasks; i++) {
		const struct task_run *t = &run->tasks[i];
		struct sched_task_outcome *o = &out->tasks[i];
		o->task = t->task;
		o->status = t->status;
		o->reason = t->reason ? xstrdup(t->reason) : NULL;
		o->nr_added = t->nr_added;
		o->nr_modified = t->nr_modified;
		o->nr_deleted = t->nr_deleted;
		o->deps =
			xcalloc(t->nr_deps ? t->nr_deps : 1, sizeof(*o->deps));
		memcpy(o->deps, t->deps, t->nr_deps * sizeof(*o->deps));
		o->nr_deps = t->nr_deps;
		out->by_status[t->status]++;
	}
}

void sched_run(struct plan *plan, const struct run_opts *opts,
	       const struct sched_observer *obs, struct sched_outcome *out)
{
	static const struct sched_observer no_observer;
	struct run run;
	struct sched s = { .run = &run,
			   .obs = obs ? obs : &no_observer,
			   .db_err = STRBUF_INIT,
			   .db_down_err = STRBUF_INIT };
	struct strbuf err = STRBUF_INIT;

	memset(out, 0, sizeof(*out));
	out->exit_code = RUNNER_EXIT_RUNTIME;
	run_init(&run, plan, opts);
	strvec_init(&s.notices);
	pthread_mutex_init(&s.notice_lock, NULL);
	pthread_mutex_init(&s.go_lock, NULL);
	sched_tasks_init(&s);

	if (!run.backend) {
		strbuf_addf(&err,
			    "backend '%s' is not available in this build",
			    plan->backend.type);
		not_started(out, RUNNER_EXIT_RUNTIME, false, err.buf);
	} else if (opts->dry_run) {
		out->result = SCHED_DRY_RUN;
		out->exit_code = RUNNER_EXIT_OK;
		outcome_tasks(&run, out);
	} else if (prepare(&s, opts, out) == 0) {
		s.notify = notify_new(&run);
		announce(&s, opts);
		if (run_tasks(&s, &err) < 0) {
			/* As when it died here: the next runner marks it lost.
			 */
			not_started(out, RUNNER_EXIT_RUNTIME, false, err.buf);
		} else {
			end_run(&s, out);
			outcome_tasks(&run, out);
			notify_run_end(&s, out);
			on_done(&s, out);
		}
	}

	notify_free(s.notify);
	if (s.store)
		store_close(s.store);
	sched_tasks_release(&s);
	snap_release(&run);
	run_release(&run);
	strvec_clear(&s.notices);
	pthread_mutex_destroy(&s.notice_lock);
	pthread_mutex_destroy(&s.go_lock);
	strbuf_release(&err);
	strbuf_release(&s.db_err);
	free(s.to_submit);
	free(s.to_go);
	free(s.active);
	strbuf_release(&s.db_down_err);
}

void sched_outcome_release(struct sched_outcome *out)
{
	for (size_t i = 0; i < out->nr_tasks; i++) {
		free(out->tasks[i].reason);
		free(out->tasks[i].deps);
	}
	free(out->tasks);
	free(out->error);
	free(out->run_id);
	free(out->results_dir);
	free(out->records_error);
	memset(out, 0, sizeof(*out));
}
