#include "runner.h"
#include "notify.h"
#include "http.h"
#include "mask.h"
#include "plan.h"
#include "quote.h"
#include "run.h"
#include "timeutil.h"

#include <cJSON.h>
#include <pthread.h>

#define NOTIFY_TRIES 3
#define NOTIFY_BACKOFF_MS 1000 /* then doubled: 1 s, 2 s */
#define NOTIFY_BUDGET_SHARE 0.8
/* A summary names at most this many tasks that did not succeed. */
#define NOTIFY_MAX_TASKS 50

struct post {
	char *what; /* "run_finished", "budget" */
	char *url;
	int64_t timeout_ms;
	char *body;
	/* How it went, for notify_end to hand on. */
	bool ok;
	char *message;
};

struct notify {
	const struct run *run;
	const struct plan_notify *cfg;
	bool budget_done; /* the budget post was made (or is going) */
	bool thread_going;
	pthread_t thread;
	struct post budget;
};

struct notify *notify_new(const struct run *run)
{
	struct notify *n;

	if (!run->plan->notify.webhook)
		return NULL;
	/* Before any thread of ours: curl's global set-up is not one. */
	http_global_init();
	n = xcalloc(1, sizeof(*n));
	n->run = run;
	n->cfg = &run->plan->notify;
	return n;
}

static void add_masked(const struct notify *n, cJSON *obj, const char *key,
		       const char *s)
{
	char *m;

	if (!s) {
		cJSON_AddNullToObject(obj, key);
		return;
	}
	m = mask_string(n->run->mask, s);
	quote_json_add_text(obj, key, m);
	free(m);
}

static double run_cost(const struct run *run)
{
	double c = 0;

	for (size_t i = 0; i < run->nr_tasks; i++)
		c += run->tasks[i].cost_usd;
	return c;
}

/* The summary (schema/notify.schema.json) as it stands now. */
static char *summary(const struct notify *n, const char *event,
		     const char *status, const int *exit_code, int64_t ended)
{
	const struct run *run = n->run;
	const struct plan *plan = run->plan;
	cJSON *o = cJSON_CreateObject(), *r, *counts, *list;
	size_t by[TASK_STATUS_NR] = { 0 }, listed = 0, omitted = 0;
	double cost = run_cost(run);
	char *text, *ret;

	if (!o)
		die("out of memory");
	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddStringToObject(o, "event", event);
	r = cJSON_AddObjectToObject(o, "run");
	add_masked(n, r, "id", run->id);
	add_masked(n, r, "plan", plan->name);
	add_masked(n, r, "plan_path", plan->path);
	cJSON_AddStringToObject(r, "status", status);
	if (exit_code)
		cJSON_AddNumberToObject(r, "exit_code", *exit_code);
	else
		cJSON_AddNullToObject(r, "exit_code");
	quote_json_add_time(r, "started_at", run->started_at);
	quote_json_add_time(r, "ended_at", ended);
	cJSON_AddNumberToObject(
		r, "duration_ms",
		(double)((ended ? ended : time_now_ms()) - run->started_at));
	add_masked(n, r, "results_dir", run->dir);
	add_masked(n, r, "host", run->host);
	counts = cJSON_AddObjectToObject(o, "tasks");
	list = cJSON_CreateArray();
	for (size_t i = 0; i < run->nr_tasks; i++) {
		const struct task_run *t = &run->tasks[i];
		cJSON *x;
		by[t->status]++;
		if (t->status == TASK_SUCCEEDED || t->status == TASK_QUEUED ||
		    t->status == TASK_RUNNING)
			continue;
		if (listed == NOTIFY_MAX_TASKS) {
			omitted++;
			continue;
		}
		x = cJSON_CreateObject();
		add_masked(n, x, "id", t->task->id);
		cJSON_AddStringToObject(x, "status",
					task_status_name(t->status));
		add_masked(n, x, "reason", t->reason);
		cJSON_AddNumberToObject(x, "attempts", (double)t->nr_attempts);
		cJSON_AddNumberToObject(x, "cost_usd", t->cost_usd);
		cJSON_AddItemToArray(list, x);
		listed++;
	}
	cJSON_AddNumberToObject(counts, "total", (double)run->nr_tasks);
	for (int s = 0; s < TASK_STATUS_NR; s++)
		cJSON_AddNumberToObject(counts,
					task_status_name((enum task_status)s),
					(double)by[s]);
	cJSON_AddItemToObject(o, "not_succeeded", list);
	cJSON_AddNumberToObject(o, "not_succeeded_omitted", (double)omitted);
	cJSON_AddNumberToObject(o, "cost_usd", cost);
	if (plan->budget_usd > 0) {
		cJSON_AddNumberToObject(o, "budget_usd", plan->budget_usd);
		cJSON_AddNumberToObject(o, "budget_used",
					cost / plan->budget_usd);
	} else {
		cJSON_AddNullToObject(o, "budget_usd");
		cJSON_AddNullToObject(o, "budget_used");
	}
	text = cJSON_PrintUnformatted(o);
	if (!text)
		die("out of memory");
	ret = xstrdup(text);
	cJSON_free(text);
	cJSON_Delete(o);
	return ret;
}

static void post_init(struct post *p, const struct notify *n, const char *what,
		      char *body)
{
	memset(p, 0, sizeof(*p));
	p->what = xstrdup(what);
	p->url = xstrdup(n->cfg->webhook);
	p->timeout_ms = n->cfg->timeout_ms;
	p->body = body;
}

static void post_release(struct post *p)
{
	free(p->what);
	free(p->url);
	free(p->body);
	free(p->message);
	memset(p, 0, sizeof(*p));
}

/* Whether a failed try is worth another: the server may answer later. */
static bool worth_again(const struct http_response *res)
{
	if (res->fail == HTTP_FAIL_STATUS)
		return res->status == 429 || res->status >= 500;
	return res->fail == HTTP_FAIL_TIMEOUT ||
	       res->fail == HTTP_FAIL_TRANSPORT;
}

/* Make the post, every try; p->ok and p->message say how it went. */
static void post_send(struct post *p)
{
	static const char *const headers[] = {
		"Content-Type: application/json",
		"User-Agent: runner/" RUNNER_VERSION, NULL
	};
	struct http_config cfg = {
		.connect_timeout_ms = p->timeout_ms,
		.timeout_ms = p->timeout_ms,
		.max_retries = 0,
	};
	struct http_client *c = http_client_new(&cfg);
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response res;
	struct strbuf err = STRBUF_INIT;
	int64_t t0 = time_mono_ms();
	int tries = 0;

	req.method = "POST";
	req.url = p->url;
	req.headers = headers;
	req.body = p->body;
	req.body_len = strlen(p->body);
	req.no_retry = true;
	req.max_body = 64 * 1024;
	req.what = "POST to the webhook";
	http_response_init(&res);
	for (;;) {
		strbuf_reset(&err);
		tries++;
		if (!http_do(c, &req, &res, &err)) {
			p->ok = true;
			p->message =
				xstrfmt("posted %s to the webhook (HTTP "
					"%ld, %d %s, %.1fs)",
					p->what, res.status, tries,
					tries == 1 ? "try" : "tries",
					(double)(time_mono_ms() - t0) / 1000);
			break;
		}
		if (tries == NOTIFY_TRIES || !worth_again(&res)) {
			p->message = xstrfmt(
				"cannot post %s to the webhook "
				"(%d %s, %.1fs): %s",
				p->what, tries, tries == 1 ? "try" : "tries",
				(double)(time_mono_ms() - t0) / 1000, err.buf);
			break;
		}
		time_sleep_ms((int64_t)NOTIFY_BACKOFF_MS << (tries - 1));
	}
	http_response_release(&res);
	http_client_free(c);
	strbuf_release(&err);
}

static void *budget_thread(void *arg)
{
	post_send(arg);
	return NULL;
}

void notify_cost(struct notify *n, double spent_usd)
{
	double budget;

	if (!n || n->budget_done || !(n->cfg->on & PLAN_NOTIFY_BUDGET))
		return;
	budget = n->run->plan->budget_usd;
	if (!(budget > 0) || spent_usd < NOTIFY_BUDGET_SHARE * budget)
		return;
	n->budget_done = true;
	post_init(&n->budget, n, "budget",
		  summary(n, "budget", "running", NULL, 0));
	if (pthread_create(&n->thread, NULL, budget_thread, &n->budget)) {
		/* No thread to spare: post it now rather than not at all. */
		post_send(&n->budget);
		return;
	}
	n->thread_going = true;
}

static void join(struct notify *n)
{
	if (n->thread_going) {
		pthread_join(n->thread, NULL);
		n->thread_going = false;
	}
}

static void report(struct post *p, struct notify_report *rep)
{
	if (p->message)
		strvec_push(p->ok ? rep->sent : rep->failed, p->message);
}

void notify_end(struct notify *n, const char *status, int exit_code,
		struct notify_report *rep)
{
	struct post end;
	bool want;

	if (!n)
		return;
	join(n);
	report(&n->budget, rep);
	post_release(&n->budget);
	want = (n->cfg->on & PLAN_NOTIFY_ALWAYS) ||
	       ((n->cfg->on & PLAN_NOTIFY_FAILURE) &&
		strcmp(status, "succeeded"));
	if (!want)
		return;
	post_init(&end, n, "run_finished",
		  summary(n, "run_finished", status, &exit_code,
			  n->run->ended_at ? n->run->ended_at
					   : time_now_ms()));
	post_send(&end);
	report(&end, rep);
	post_release(&end);
}

void notify_free(struct notify *n)
{
	if (!n)
		return;
	join(n);
	post_release(&n->budget);
	free(n);
}
