#include "runner.h"
#include "e2b-proc.h"
#include "e2b-api.h"
#include "e2b-envd.h"
#include "e2b-internal.h"
#include "base64.h"
#include "http.h"
#include "rand.h"
#include "sandbox.h"
#include "timeutil.h"

#include <signal.h>

#include <cJSON.h>

#define MAX_FRAME (16u << 20)
#define STDERR_MAX ((size_t)16 << 10)
#define REATTACH_MAX 6
#define START "process.Process/Start"
#define CONNECT "process.Process/Connect"

/*
 * A task runs under this wrapper (sh -c WRAP sh STATUSFILE ARGV...), for
 * envd forgets a process the moment it ends: a stream that broke near
 * the end would leave the exit status unknown. The wrapper runs the task
 * as its child and writes its status to STATUSFILE (atomically) before
 * it exits itself, so once envd no longer knows the wrapper, the file
 * says how the task ended. 128+N means signal N, as for any shell.
 *
 * The task keeps the wrapper's stdin (fd 3: a background job's stdin
 * would be /dev/null) and, where env(1) can say so (coreutils 8.31),
 * the default INT and QUIT actions a background job loses. TERM is
 * passed on to the task. A wait cut short by that trap returns 128+15
 * too: the loop waits again while the task lives; if the shell reaped it
 * meanwhile, a second wait reports its status (127 when there is none to
 * report). The task's pid goes to STATUSFILE.pid for a KILL, which the
 * wrapper cannot pass on: rproc_kill_task kills the task before it.
 */
#define WRAP                                                        \
	"f=$1; shift\n"                                             \
	"exec 3<&0\n"                                               \
	"if env --default-signal=INT,QUIT true 2>/dev/null; then\n" \
	"  env --default-signal=INT,QUIT -- \"$@\" 0<&3 3<&- &\n"   \
	"else\n"                                                    \
	"  \"$@\" 0<&3 3<&- &\n"                                    \
	"fi\n"                                                      \
	"c=$!\n"                                                    \
	"exec 3<&-\n"                                               \
	"echo \"$c\" >\"$f.pid\"\n"                                 \
	"trap 'kill -TERM \"$c\" 2>/dev/null' TERM\n"               \
	"while :; do\n"                                             \
	"  wait \"$c\"; r=$?\n"                                     \
	"  [ \"$r\" -gt 128 ] || break\n"                           \
	"  kill -0 \"$c\" 2>/dev/null && continue\n"                \
	"  wait \"$c\"; w=$?\n"                                     \
	"  [ \"$w\" -eq 127 ] || r=$w\n"                            \
	"  break\n"                                                 \
	"done\n"                                                    \
	"echo \"$r\" >\"$f.tmp\" && mv -f \"$f.tmp\" \"$f\"\n"      \
	"exit \"$r\"\n"

/* Before a KILL of the wrapper: the task it runs, by the pid it wrote. */
#define REAP_SCRIPT                                                      \
	"p=$(cat \"$1\" 2>/dev/null) && kill -KILL \"$p\" 2>/dev/null\n" \
	"exit 0\n"

static int proc_script(struct sandbox *sb, struct http_client *client,
		       const char *what, const char *script,
		       const char *const *args, struct strbuf *out,
		       struct strbuf *err);

enum rproc_phase { PHASE_RUNNING, PHASE_TERM, PHASE_KILL };

/* One remote process being run and followed. */
struct rproc {
	struct sandbox *sb;
	const struct e2b_proc_spec *spec;
	struct http_client *client; /* the stream's: sb->stream, or own */
	char tag[40];
	bool wrapped;		 /* a task, under WRAP */
	char status_path[64];	 /* WRAP's STATUSFILE */
	const char *pending_sig; /* asked for before the pid was known */
	bool connecting;	 /* the stream is a Connect */
	/* the request, reused by every (re)attach */
	struct strvec hdrs;
	struct strbuf url, body, herr;
	char *json;
	struct http_request req;
	struct http_response res;
	bool streaming; /* between http_start and the stream's end */
	int attach;	/* reattaches since a frame last came */
	/* the stream parser */
	struct strbuf frames;
	struct strbuf decoded;
	bool started, ended, eos;
	bool got_frame; /* since the last (re)attach */
	uint32_t pid;
	int exit_code;
	bool exited;
	char *status_text;
	char *eos_code;
	char *eos_msg;
	bool out_failed;
	bool bad_stream;
	struct strbuf bad_msg;
	/* the clock */
	int64_t t0;
	enum rproc_phase phase;
	int64_t kill_at;
	size_t next_warn;
	bool timed_out, cancelled, stopped, killed_sandbox;
	int64_t last_ttl_check;
};

static const char *json_str(const cJSON *obj, const char *key)
{
	return cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(obj, key));
}

static void rproc_deliver(struct rproc *p, int fd, const char *buf, size_t len)
{
	const struct e2b_proc_spec *s = p->spec;

	if (p->out_failed || !len)
		return;
	if (s->cmd) {
		if (s->cmd->on_output &&
		    s->cmd->on_output(s->cmd->ctx, buf, len))
			p->out_failed = true;
	} else if (fd == 1) {
		if (strbuf_add(s->out, buf, len) < 0)
			p->out_failed = true;
	} else if (s->errout->len < s->errout->cap) {
		size_t room = s->errout->cap - s->errout->len;
		strbuf_add(s->errout, buf, len < room ? len : room);
	}
}

static int rproc_bad(struct rproc *p, const char *msg)
{
	p->bad_stream = true;
	if (!p->bad_msg.len)
		strbuf_addstr(&p->bad_msg, msg);
	return -1;
}

static int rproc_event(struct rproc *p, const cJSON *ev)
{
	const cJSON *x;

	if ((x = cJSON_GetObjectItemCaseSensitive(ev, "start"))) {
		const cJSON *pid = cJSON_GetObjectItemCaseSensitive(x, "pid");
		p->started = true;
		if (cJSON_IsNumber(pid) && pid->valuedouble >= 0)
			p->pid = (uint32_t)pid->valuedouble;
	} else if ((x = cJSON_GetObjectItemCaseSensitive(ev, "data"))) {
		static const char *const keys[] = { "stdout", "stderr",
						    "pty" };
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			const char *d = json_str(x, keys[i]);
			if (!d)
				continue;
			strbuf_reset(&p->decoded);
			if (base64_decode(&p->decoded, d, strlen(d)) < 0)
				return rproc_bad(p, "bad base64 in data");
			rproc_deliver(p, i == 1 ? 2 : 1, p->decoded.buf,
				      p->decoded.len);
		}
	} else if ((x = cJSON_GetObjectItemCaseSensitive(ev, "end"))) {
		const cJSON *code =
			cJSON_GetObjectItemCaseSensitive(x, "exitCode");
		const char *status = json_str(x, "status");
		p->ended = true;
		p->exit_code = cJSON_IsNumber(code) ? (int)code->valuedouble
						    : 0;
		p->exited = cJSON_IsTrue(
			cJSON_GetObjectItemCaseSensitive(x, "exited"));
		free(p->status_text);
		p->status_text = status ? xstrdup(status) : NULL;
	}
	/* keepalive and unknown events: nothing to do */
	return 0;
}

static int rproc_frame(struct rproc *p, unsigned flags, const char *data,
		       size_t len)
{
	cJSON *j;
	int ret = 0;

	if (flags & 0x01)
		return rproc_bad(p, "compressed frame (not asked for)");
	j = cJSON_ParseWithLength(data, len);
	if (!j)
		return rproc_bad(p, "a frame is not JSON");
	if (flags & 0x02) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		p->eos = true;
		if (e) {
			const char *code = json_str(e, "code");
			const char *msg = json_str(e, "message");
			free(p->eos_code);
			free(p->eos_msg);
			p->eos_code = xstrdup(code ? code : "unknown");
			p->eos_msg = xstrdup(msg ? msg : "");
		}
	} else {
		const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
		if (cJSON_IsObject(ev))
			ret = rproc_event(p, ev);
	}
	cJSON_Delete(j);
	return ret;
}

/* http on_data: reassemble 5-byte-header envelopes across chunks. */
static int rproc_on_data(void *ctx, const char *buf, size_t len)
{
	struct rproc *p = ctx;
	size_t off = 0;

	if (strbuf_add(&p->frames, buf, len) < 0)
		return rproc_bad(p, "oversized frame"), 1;
	while (p->frames.len - off >= 5) {
		const unsigned char *h =
			(const unsigned char *)p->frames.buf + off;
		uint32_t n = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 |
			     (uint32_t)h[3] << 8 | h[4];
		if (n > MAX_FRAME)
			return rproc_bad(p, "oversized frame"), 1;
		if (p->frames.len - off - 5 < n)
			break;
		p->got_frame = true;
		if (rproc_frame(p, h[0], p->frames.buf + off + 5, n) < 0)
			return 1;
		off += 5 + n;
	}
	if (off) {
		memmove(p->frames.buf, p->frames.buf + off,
			p->frames.len - off);
		strbuf_setlen(&p->frames, p->frames.len - off);
	}
	/* Plumbing output over its cap: stop reading, we will fail. */
	return p->out_failed && !p->spec->cmd;
}

/*
 * A KILL cannot be passed on by the wrapper, and killing the wrapper
 * leaves the task running: kill the task first, as root, by the pid the
 * wrapper wrote, over a connection of its own (this one holds the
 * stream). The wrapper then ends with the task's status (137); the KILL
 * that follows is for a wrapper that is stuck, or for a task that has
 * not written its pid yet. Best effort: the sandbox's destruction ends
 * whatever is left.
 */
static void rproc_kill_task(struct rproc *p)
{
	struct http_client *c = http_client_new(&p->sb->conf.http);
	struct strbuf out = STRBUF_INIT, e = STRBUF_INIT;
	char pidfile[80];
	const char *args[2] = { pidfile, NULL };

	snprintf(pidfile, sizeof(pidfile), "%s.pid", p->status_path);
	strbuf_init_capped(&out, 4096);
	proc_script(p->sb, c, "while killing the task", REAP_SCRIPT, args,
		    &out, &e);
	strbuf_release(&out);
	strbuf_release(&e);
	http_client_free(c);
}

/*
 * SendSignal by the pid of the start event: envd's lookup by tag stops
 * at the first tagged process whose tag differs (service.go getProcess),
 * so a tag may not find ours. Before the pid is known the signal waits
 * (rproc_tick sends it).
 */
static void rproc_signal(struct rproc *p, const char *sig)
{
	struct http_response res;
	struct strbuf e = STRBUF_INIT;
	cJSON *j, *sel;
	char *s;

	if (p->ended)
		return;
	if (!p->started) {
		if (!p->pending_sig ||
		    strcmp(p->pending_sig, "SIGNAL_SIGKILL"))
			p->pending_sig = sig;
		return;
	}
	if (p->wrapped && !strcmp(sig, "SIGNAL_SIGKILL"))
		rproc_kill_task(p);
	j = cJSON_CreateObject();
	sel = cJSON_AddObjectToObject(j, "process");
	cJSON_AddNumberToObject(sel, "pid", p->pid);
	cJSON_AddStringToObject(j, "signal", sig);
	s = cJSON_PrintUnformatted(j);
	http_response_init(&res);
	/*
	 * Failures are fine here: not_found means it already ended, and if
	 * the signal cannot be sent the sandbox itself is killed later.
	 */
	e2b_envd_unary(p->sb, "process.Process/SendSignal", s, 2, &res, &e);
	http_response_release(&res);
	strbuf_release(&e);
	cJSON_free(s);
	cJSON_Delete(j);
}

static void rproc_term(struct rproc *p, int64_t now)
{
	int64_t grace = p->spec->cmd->grace_ms;
	rproc_signal(p, "SIGNAL_SIGTERM");
	p->phase = PHASE_TERM;
	p->kill_at = now + (grace > 0 ? grace : 0);
}

static void rproc_kill(struct rproc *p, int64_t now)
{
	rproc_signal(p, "SIGNAL_SIGKILL");
	p->phase = PHASE_KILL;
	p->kill_at = now + p->sb->conf.kill_wait_ms;
}

/* KILL was not confirmed in time: kill the sandbox itself. */
static void rproc_kill_sandbox(struct rproc *p, int64_t now)
{
	struct strbuf e = STRBUF_INIT;

	if (e2b_api_kill(p->sb->api, p->sb->id, &e) == 0) {
		p->sb->dead = true;
		p->killed_sandbox = true;
	} else {
		p->kill_at = now + p->sb->conf.kill_wait_ms;
	}
	strbuf_release(&e);
}

/*
 * The task's clock, as proc.c keeps it for local tasks: warnings while
 * running, then cancel or timeout -> TERM, grace -> KILL, and if even
 * that is not confirmed by an end event, the sandbox is killed.
 */
static void rproc_control(struct rproc *p)
{
	const struct sandbox_cmd *c = p->spec->cmd;
	int64_t now = time_mono_ms(), elapsed = now - p->t0;

	if (!c || p->ended || p->killed_sandbox)
		return;
	if (p->phase == PHASE_RUNNING) {
		while (p->next_warn < c->nr_warn_at &&
		       elapsed >= c->warn_at_ms[p->next_warn]) {
			if (c->on_warn)
				c->on_warn(c->ctx, elapsed);
			p->next_warn++;
		}
	}
	if (p->phase != PHASE_KILL && c->kill_now &&
	    atomic_load(c->kill_now)) {
		if (!p->timed_out)
			p->cancelled = true;
		rproc_kill(p, now);
	} else if (p->phase == PHASE_RUNNING && c->cancel &&
		   atomic_load(c->cancel)) {
		p->cancelled = true;
		rproc_term(p, now);
	} else if (p->phase == PHASE_RUNNING && c->timeout_ms > 0 &&
		   elapsed >= c->timeout_ms) {
		p->timed_out = true;
		rproc_term(p, now);
	} else if (p->phase == PHASE_RUNNING && p->out_failed) {
		rproc_kill(p, now);
	} else if (p->phase == PHASE_RUNNING && p->started && c->on_tick &&
		   c->on_tick(c->ctx)) {
		p->stopped = true;
		rproc_term(p, now);
	}
	if (p->phase == PHASE_TERM && now >= p->kill_at)
		rproc_kill(p, now);
	else if (p->phase == PHASE_KILL && now >= p->kill_at)
		rproc_kill_sandbox(p, now);
}

/* How long the sandbox must still live for this process. */
static int64_t rproc_need_ms(const struct rproc *p)
{
	int64_t elapsed = time_mono_ms() - p->t0, t;
	const struct sandbox_cmd *c = p->spec->cmd;

	/* Plumbing: the margin (which e2b_api_extend adds) is what it gets. */
	if (!c)
		return 0;
	t = c->timeout_ms;
	if (t <= 0)
		return p->sb->conf.max_ttl_ms;
	t -= elapsed;
	t += (c->grace_ms > 0 ? c->grace_ms : 0) + p->sb->conf.kill_wait_ms;
	return t > 0 ? t : 0;
}

static void rproc_tick(struct rproc *p)
{
	int64_t now = time_mono_ms();
	struct strbuf e = STRBUF_INIT;

	rproc_control(p);
	if (p->pending_sig && p->started) {
		const char *sig = p->pending_sig;
		p->pending_sig = NULL;
		rproc_signal(p, sig);
	}
	if (now - p->last_ttl_check >= 250) {
		p->last_ttl_check = now;
		e2b_api_extend(p->sb, rproc_need_ms(p), &e);
	}
	strbuf_release(&e);
}

static void rproc_sleep(struct rproc *p, int64_t ms)
{
	int64_t end = time_mono_ms() + ms;
	for (;;) {
		int64_t left = end - time_mono_ms();
		if (left <= 0 || p->killed_sandbox)
			return;
		time_sleep_ms(left < 100 ? left : 100);
		rproc_tick(p);
	}
}

static char *start_body(const struct rproc *p)
{
	const struct e2b_proc_spec *s = p->spec;
	cJSON *j = cJSON_CreateObject();
	cJSON *proc = cJSON_AddObjectToObject(j, "process");
	cJSON *args = cJSON_AddArrayToObject(proc, "args");
	cJSON *envs = cJSON_AddObjectToObject(proc, "envs");
	char *out;

	if (p->wrapped) {
		cJSON_AddStringToObject(proc, "cmd", "/bin/sh");
		cJSON_AddItemToArray(args, cJSON_CreateString("-c"));
		cJSON_AddItemToArray(args, cJSON_CreateString(WRAP));
		cJSON_AddItemToArray(args, cJSON_CreateString("sh"));
		cJSON_AddItemToArray(args, cJSON_CreateString(p->status_path));
		cJSON_AddItemToArray(args, cJSON_CreateString(s->argv[0]));
	} else {
		cJSON_AddStringToObject(proc, "cmd", s->argv[0]);
	}
	for (size_t i = 1; s->argv[i]; i++)
		cJSON_AddItemToArray(args, cJSON_CreateString(s->argv[i]));
	for (size_t i = 0; s->env && s->env[i]; i++) {
		const char *eq = strchr(s->env[i], '=');
		char *name;
		if (!eq || eq == s->env[i])
			continue;
		name = xstrndup(s->env[i], (size_t)(eq - s->env[i]));
		cJSON_DeleteItemFromObjectCaseSensitive(envs, name);
		cJSON_AddStringToObject(envs, name, eq + 1);
		free(name);
	}
	cJSON_AddStringToObject(proc, "cwd", s->cwd);
	cJSON_AddBoolToObject(j, "stdin", false);
	cJSON_AddStringToObject(j, "tag", p->tag);
	out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return out;
}

static char *connect_body(const struct rproc *p)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *sel = cJSON_AddObjectToObject(j, "process");
	char *out;
	cJSON_AddNumberToObject(sel, "pid", p->pid);
	out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return out;
}

static void envelope(struct strbuf *sb, const char *json)
{
	size_t n = strlen(json);
	unsigned char h[5] = { 0, (unsigned char)(n >> 24),
			       (unsigned char)(n >> 16),
			       (unsigned char)(n >> 8), (unsigned char)n };
	strbuf_add(sb, h, 5);
	strbuf_add(sb, json, n);
}

/* Map Go's "signal: killed" and friends to numbers. */
static int status_signal(const char *status)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {
		{ "hangup", SIGHUP },
		{ "interrupt", SIGINT },
		{ "quit", SIGQUIT },
		{ "illegal instruction", SIGILL },
		{ "aborted", SIGABRT },
		{ "bus error", SIGBUS },
		{ "floating point exception", SIGFPE },
		{ "killed", SIGKILL },
		{ "segmentation fault", SIGSEGV },
		{ "broken pipe", SIGPIPE },
		{ "alarm clock", SIGALRM },
		{ "terminated", SIGTERM },
	};
	if (!status || strncmp(status, "signal: ", 8))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(status + 8, names[i].name))
			return names[i].sig;
	return 0;
}

static void rproc_init(struct rproc *p, struct sandbox *sb,
		       const struct e2b_proc_spec *spec)
{
	memset(p, 0, sizeof(*p));
	p->sb = sb;
	p->spec = spec;
	p->client = spec->client ? spec->client : sb->stream;
	strvec_init(&p->hdrs);
	strbuf_init(&p->url, 0);
	strbuf_init(&p->body, 0);
	strbuf_init(&p->herr, 0);
	p->req = (struct http_request)HTTP_REQUEST_INIT;
	http_response_init(&p->res);
	strbuf_init_capped(&p->frames, MAX_FRAME + 5 + (1 << 20));
	strbuf_init_capped(&p->decoded, MAX_FRAME);
	strbuf_init(&p->bad_msg, 0);
	memcpy(p->tag, "runner-", 7);
	rand_hex(p->tag + 7, 12);
	p->wrapped = spec->cmd != NULL;
	snprintf(p->status_path, sizeof(p->status_path),
		 "/tmp/.runner-%s.exit", p->tag + 7);
}

/*
 * Stop what may still run, then free. After a failure (ret < 0) a
 * process that started and did not end is killed.
 */
static void rproc_finish(struct rproc *p, int ret)
{
	struct sandbox *sb = p->sb;

	if (p->streaming)
		http_abort(p->client);
	if (ret < 0 && p->started && !p->ended && !p->killed_sandbox &&
	    !sb->dead)
		rproc_signal(p, "SIGNAL_SIGKILL");
	http_response_release(&p->res);
	strvec_clear(&p->hdrs);
	strbuf_release(&p->url);
	strbuf_release(&p->body);
	strbuf_release(&p->herr);
	free(p->json);
	strbuf_release(&p->frames);
	strbuf_release(&p->decoded);
	strbuf_release(&p->bad_msg);
	free(p->status_text);
	free(p->eos_code);
	free(p->eos_msg);
}

/* The stream's headers: envd's, keepalive pings, envd's own deadline. */
static void stream_headers(struct rproc *p)
{
	const struct e2b_proc_spec *spec = p->spec;
	const struct sandbox_cmd *c = spec->cmd;
	struct sandbox *sb = p->sb;

	e2b_envd_headers(sb, spec->user, "application/connect+json", &p->hdrs);
	strvec_pushf(&p->hdrs, "Keepalive-Ping-Interval: %" PRId64,
		     sb->conf.keepalive_ms / 1000);
	/*
	 * envd kills the process when this deadline passes: a backstop for
	 * our own clock, never the clock itself.
	 */
	if (c && c->timeout_ms > 0)
		strvec_pushf(&p->hdrs, "Connect-Timeout-Ms: %" PRId64,
			     c->timeout_ms +
				     (c->grace_ms > 0 ? c->grace_ms : 0) +
				     2 * sb->conf.kill_wait_ms + 60000);
	else if (!c && spec->timeout_ms > 0)
		strvec_pushf(&p->hdrs, "Connect-Timeout-Ms: %" PRId64,
			     spec->timeout_ms);
}

/* Open the stream: method (START or CONNECT) with json (taken). */
static int rproc_open(struct rproc *p, const char *method, char *json,
		      struct strbuf *err)
{
	struct sandbox *sb = p->sb;

	free(p->json);
	p->json = json;
	strbuf_reset(&p->body);
	envelope(&p->body, json);
	strbuf_reset(&p->url);
	strbuf_addf(&p->url, "%s/%s", sb->envd_url, method);
	p->req.method = "POST";
	p->req.url = p->url.buf;
	p->req.headers = p->hdrs.v;
	p->req.body = p->body.buf;
	p->req.body_len = p->body.len;
	p->req.timeout_ms = -1;
	p->req.idle_timeout_ms = 3 * sb->conf.keepalive_ms + 5000;
	p->req.on_data = rproc_on_data;
	p->req.ctx = p;
	p->req.what = method;
	/* Start twice would run the command twice; Connect only follows. */
	p->req.idempotent = !strcmp(method, CONNECT);
	p->connecting = p->req.idempotent;
	strbuf_reset(&p->herr);
	if (http_start(p->client, &p->req, &p->res, &p->herr) < 0) {
		e2b_envd_fail(sb, &p->res, p->herr.buf, err);
		return -1;
	}
	p->streaming = true;
	return 0;
}

/* The end of stream carried an error: the process is lost. */
static int rproc_eos_error(struct rproc *p, struct strbuf *err)
{
	if (p->started)
		strbuf_addf(err, "sandbox %s: lost '%s': ", p->sb->id,
			    p->spec->argv[0]);
	else
		strbuf_addf(err, "sandbox %s: cannot run '%s': ", p->sb->id,
			    p->spec->argv[0]);
	http_sanitize(err, p->eos_code, strlen(p->eos_code), 64, NULL);
	strbuf_addstr(err, ": ");
	http_sanitize(err, p->eos_msg, strlen(p->eos_msg), 300, NULL);
	return -1;
}

/* A stream that broke this way may be followed again. */
static bool stream_dropped(int r, const struct http_response *res)
{
	return r == 0 || res->fail == HTTP_FAIL_TRANSPORT ||
	       res->fail == HTTP_FAIL_IDLE || res->fail == HTTP_FAIL_TIMEOUT ||
	       (res->fail == HTTP_FAIL_STATUS &&
		(res->status == 502 || res->status == 503 ||
		 res->status == 504));
}

/*
 * The stream broke before the start event: find the process by its tag
 * in process.Process/List (which, unlike a lookup by tag, sees every
 * process). 1 found (pid and started set), 0 not there, -1 error.
 */
static int rproc_lookup(struct rproc *p, struct strbuf *err)
{
	struct http_response res;
	cJSON *j, *it;
	int ret = 0;

	http_response_init(&res);
	if (e2b_envd_unary(p->sb, "process.Process/List", "{}", 0, &res, err) <
	    0) {
		http_response_release(&res);
		return -1;
	}
	j = cJSON_ParseWithLength(res.body.buf, res.body.len);
	cJSON_ArrayForEach(it,
			   cJSON_GetObjectItemCaseSensitive(j, "processes"))
	{
		const cJSON *pid = cJSON_GetObjectItemCaseSensitive(it, "pid");
		const char *tag = json_str(it, "tag");
		if (tag && !strcmp(tag, p->tag) && cJSON_IsNumber(pid) &&
		    pid->valuedouble > 0) {
			p->pid = (uint32_t)pid->valuedouble;
			p->started = true;
			ret = 1;
			break;
		}
	}
	cJSON_Delete(j);
	http_response_release(&res);
	return ret;
}

/*
 * envd no longer knows the process (it forgets one the moment it ends):
 * the wrapper's status file says how the task ended. No file means the
 * wrapper was killed before it could write one (our KILL, envd's
 * deadline): killed. 0 with p->ended set, or -1 with a message.
 */
static int rproc_gone(struct rproc *p, struct strbuf *err)
{
	struct sandbox *sb = p->sb;
	struct strbuf buf = STRBUF_INIT;
	char *end;
	long code;
	int r;

	if (!p->wrapped) {
		strbuf_addf(err,
			    "sandbox %s: lost '%s': it ended while its "
			    "stream was broken",
			    sb->id, p->spec->argv[0]);
		return -1;
	}
	r = e2b_envd_read(sb, p->status_path, &buf, 64, &p->herr);
	if (r < 0) {
		strbuf_reset(&p->herr);
		if (e2b_api_alive(sb, &p->herr) == 0)
			e2b_api_gone(sb, p->spec->what, err);
		else
			strbuf_addf(err,
				    "sandbox %s: '%s' ended while its stream "
				    "was broken, and its exit status cannot "
				    "be read",
				    sb->id, p->spec->argv[0]);
		strbuf_release(&buf);
		return -1;
	}
	if (r == 1 && !p->started) {
		strbuf_addf(err,
			    "sandbox %s: the stream of '%s' broke before it "
			    "started, and envd does not know it",
			    sb->id, p->spec->argv[0]);
		strbuf_release(&buf);
		return -1;
	}
	p->ended = true;
	p->started = true;
	free(p->status_text);
	p->status_text = NULL;
	errno = 0;
	code = r ? -1 : strtol(buf.buf, &end, 10);
	if (!r && !errno && end != buf.buf && (*end == '\n' || !*end) &&
	    code >= 0 && code <= 255) {
		p->exited = true;
		p->exit_code = (int)code;
	} else {
		p->exited = false;
		p->exit_code = -1;
		p->status_text = xstrdup("signal: killed");
	}
	strbuf_release(&buf);
	return 0;
}

/*
 * The stream ended (r: what http_poll returned, 0 or -1). 0 when the
 * process ended, 1 when the stream broke and may be followed again, -1
 * with a message when there is nothing to follow.
 */
static int rproc_stream_end(struct rproc *p, int r, struct strbuf *err)
{
	struct sandbox *sb = p->sb;
	const struct e2b_proc_spec *spec = p->spec;

	if (p->got_frame)
		p->attach = 0;
	if (p->bad_stream) {
		strbuf_addf(err,
			    "sandbox %s: envd sent a malformed process "
			    "stream (%s)",
			    sb->id, p->bad_msg.buf);
		return -1;
	}
	if (p->out_failed && !spec->cmd) {
		strbuf_addf(err,
			    "sandbox %s: the output of '%s' is larger than "
			    "%zu bytes",
			    sb->id, spec->argv[0], spec->out->cap);
		return -1;
	}
	if (p->ended)
		return 0;
	if (r < 0 && !p->started && !p->connecting &&
	    p->res.fail == HTTP_FAIL_STATUS &&
	    e2b_api_alive(sb, &p->herr) != 0) {
		/* Start itself was refused: nothing to reattach to. */
		e2b_envd_fail(sb, &p->res, p->herr.buf, err);
		return -1;
	}
	if (p->eos && p->eos_code) {
		/* Reattached to a process that is over. */
		if (p->connecting && !strcmp(p->eos_code, "not_found"))
			return rproc_gone(p, err);
		if (strcmp(p->eos_code, "unavailable"))
			return rproc_eos_error(p, err);
	}
	if (!stream_dropped(r, &p->res) && r < 0) {
		e2b_envd_fail(sb, &p->res, p->herr.buf, err);
		return -1;
	}
	/* The stream broke without an end: is the sandbox alive? */
	strbuf_reset(&p->herr);
	if (e2b_api_alive(sb, &p->herr) == 0) {
		e2b_api_gone(sb, spec->what, err);
		return -1;
	}
	if (!p->started) {
		int found = rproc_lookup(p, err);
		if (found < 0)
			return -1;
		if (!found && p->wrapped)
			return rproc_gone(p, err);
	}
	/*
	 * Plumbing's output is what it is run for, and envd does not replay
	 * what was written while no stream was open.
	 */
	if (!spec->cmd) {
		strbuf_addf(err,
			    "sandbox %s: the stream of '%s' broke %s; what "
			    "it wrote meanwhile is lost",
			    sb->id, spec->argv[0], spec->what);
		return -1;
	}
	if (++p->attach > REATTACH_MAX) {
		strbuf_addf(err,
			    "sandbox %s: lost the stream of '%s' %d times; "
			    "giving up",
			    sb->id, spec->argv[0], REATTACH_MAX);
		return -1;
	}
	return 1;
}

/* Wait a little (the clock keeps running), then Connect by pid. */
static int rproc_reattach(struct rproc *p, struct strbuf *err)
{
	if (p->spec->cmd && p->started) {
		static const char note[] =
			"\n[runner: the output stream from the e2b sandbox "
			"broke; reattached, output written meanwhile is "
			"lost]\n";
		rproc_deliver(p, 1, note, sizeof(note) - 1);
	}
	rproc_sleep(p, p->attach == 1 ? 100 : 250 << (p->attach - 2));
	if (p->killed_sandbox)
		return 0;
	strbuf_reset(&p->frames);
	p->got_frame = false;
	p->eos = false;
	free(p->eos_code);
	free(p->eos_msg);
	p->eos_code = p->eos_msg = NULL;
	return rproc_open(p, CONNECT, connect_body(p), err);
}

/*
 * Follow the stream, reattaching as needed, until the process ends or
 * our clock kills the sandbox (0), or -1 with a message.
 */
static int rproc_follow(struct rproc *p, struct strbuf *err)
{
	const struct e2b_proc_spec *spec = p->spec;

	for (;;) {
		int r = http_poll(p->client, 100, &p->herr);

		rproc_tick(p);
		if (p->killed_sandbox)
			return 0;
		if (!spec->cmd && spec->timeout_ms > 0 &&
		    time_mono_ms() - p->t0 > spec->timeout_ms) {
			strbuf_addf(err,
				    "sandbox %s: '%s' did not finish within "
				    "%" PRId64 " ms "
				    "(RUNNER_E2B_TRANSFER_TIMEOUT)",
				    p->sb->id, spec->argv[0],
				    spec->timeout_ms);
			return -1;
		}
		if (r == 1)
			continue;
		p->streaming = false;
		r = rproc_stream_end(p, r, err);
		if (r <= 0)
			return r;
		if (rproc_reattach(p, err) < 0)
			return -1;
		if (p->killed_sandbox)
			return 0;
	}
}

/* Either an end event, or our clock killed the sandbox. */
static void rproc_status(const struct rproc *p, struct sandbox_status *st)
{
	st->duration_ms = time_mono_ms() - p->t0;
	st->timed_out = p->timed_out;
	st->cancelled = p->cancelled;
	st->stopped = p->stopped;
	if (p->ended && p->exited) {
		if (p->exit_code > 128 && p->exit_code <= 128 + 64)
			st->term_signal = p->exit_code - 128;
		else
			st->exit_code = p->exit_code;
	} else {
		int sig = p->ended ? status_signal(p->status_text) : 0;
		st->term_signal = sig ? sig : SIGKILL;
	}
}

int e2b_proc_run(struct sandbox *sb, const struct e2b_proc_spec *spec,
		 struct sandbox_status *st, struct strbuf *err)
{
	struct rproc p;
	int ret = -1;

	rproc_init(&p, sb, spec);
	memset(st, 0, sizeof(*st));
	st->exit_code = -1;
	if (sb->dead) {
		strbuf_addf(err, "sandbox %s is gone", sb->id);
		goto out;
	}
	stream_headers(&p);
	p.t0 = time_mono_ms();
	if (rproc_open(&p, START, start_body(&p), err) < 0 ||
	    rproc_follow(&p, err) < 0)
		goto out;
	rproc_status(&p, st);
	if (p.out_failed && spec->cmd) {
		strbuf_addstr(err, "the output handler failed; the task was "
				   "killed");
		goto out;
	}
	ret = 0;
out:
	rproc_finish(&p, ret);
	return ret;
}

int e2b_proc_script(struct sandbox *sb, const char *what, const char *script,
		    const char *const *args, struct strbuf *out,
		    struct strbuf *err)
{
	return proc_script(sb, NULL, what, script, args, out, err);
}

static int proc_script(struct sandbox *sb, struct http_client *client,
		       const char *what, const char *script,
		       const char *const *args, struct strbuf *out,
		       struct strbuf *err)
{
	struct strvec argv = STRVEC_INIT;
	struct strbuf errout;
	struct sandbox_status st;
	struct e2b_proc_spec spec = { 0 };
	int ret = -1;

	strbuf_init_capped(&errout, STDERR_MAX);
	strvec_push(&argv, "/bin/sh");
	strvec_push(&argv, "-c");
	strvec_push(&argv, script);
	strvec_push(&argv, "sh");
	for (size_t i = 0; args && args[i]; i++)
		strvec_push(&argv, args[i]);
	spec.user = "root";
	spec.argv = argv.v;
	spec.cwd = "/";
	spec.client = client;
	spec.what = what;
	spec.timeout_ms = sb->conf.transfer_timeout_ms;
	spec.out = out;
	spec.errout = &errout;
	if (e2b_proc_run(sb, &spec, &st, err) < 0)
		goto out;
	if (st.exit_code != 0) {
		strbuf_addf(err, "sandbox %s: %s failed (", sb->id, what);
		if (st.term_signal)
			strbuf_addf(err, "signal %d", st.term_signal);
		else
			strbuf_addf(err, "exit %d", st.exit_code);
		strbuf_addstr(err, ")");
		if (errout.len) {
			strbuf_addstr(err, ": ");
			http_sanitize(err, errout.buf, errout.len, 500, NULL);
		}
		goto out;
	}
	ret = 0;
out:
	strvec_clear(&argv);
	strbuf_release(&errout);
	return ret;
}
