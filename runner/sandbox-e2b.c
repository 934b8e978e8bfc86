/*
 * The e2b backend (DESIGN.md "Backends"; the wire protocol is in
 * ../shared/e2b-spec/PROTOCOL.md).
 *
 * A sandbox's life:
 *   create     POST /sandboxes with a TTL of the task's timeout plus a
 *              margin (capped; extended later with POST .../timeout), the
 *              created hook records the id, then GET envd /health until
 *              it answers.
 *   put_tree   the manifest as one tar.gz, written to a temporary file
 *              (memory stays flat whatever the tree's size), uploaded
 *              with POST /files, extracted into /workspace by one
 *              process.Start of sh, which then lists the tree (type,
 *              size, mode, link target, SHA-256): the listing must equal
 *              the manifest exactly.
 *   exec       process.Start, streamed (Connect enveloped JSON). We keep
 *              the clock: warnings, timeout (SendSignal TERM, grace,
 *              KILL, then killing the sandbox), cancellation, TTL
 *              extension. A stream that breaks is reattached with
 *              process.Connect by tag, unless the control plane says the
 *              sandbox is gone.
 *   pull       the same listing, compared with the manifest the way
 *              ws_diff() compares a local tree (same filter, same notes);
 *              the changed regular files come back as one tar.gz created
 *              in the sandbox, read entry by entry and written with
 *              openat(O_NOFOLLOW) under dest. Everything in the listing
 *              and the tar is untrusted.
 *   destroy    DELETE /sandboxes/{id}; 404 means it is already gone.
 *
 * Each sandbox has three HTTP clients (connections): the control plane,
 * envd unary calls and transfers, and the command stream, so a signal or
 * a TTL extension can go out while a stream is open.
 */
#include "runner.h"
#include "sandbox-e2b.h"
#include "http.h"
#include "plan.h"
#include "base64.h"
#include "hash.h"
#include "rand.h"
#include "ws.h"
#include "ws-ignore.h"
#include "fs.h"
#include "timeutil.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <cJSON.h>

#define ENVD_PORT "49983"
#define WORKSPACE "/workspace"
#define MAX_FRAME (16u << 20)
#define LISTING_MAX ((size_t)128 << 20)
#define STDERR_MAX ((size_t)16 << 10)
#define REATTACH_MAX 6

/* Configuration from the environment (see sandbox-e2b.h). */
struct e2b_conf {
	char *api_url;
	char *api_key;
	char *domain;
	char *sandbox_url;
	char *user;
	struct http_config http;
	int64_t transfer_timeout_ms;
	int64_t health_timeout_ms;
	int64_t keepalive_ms;
	int64_t ttl_margin_ms;
	int64_t max_ttl_ms;
	int64_t kill_wait_ms;
};

struct sandbox {
	struct e2b_conf conf;
	char *id;
	char *token;
	char *envd_version;
	char *envd_url;
	struct http_client *api;
	struct http_client *envd;
	struct http_client *stream;
	struct strvec api_hdrs;
	int64_t created; /* mono ms of the create call */
	int64_t ttl_end; /* mono ms when E2B would end it */
	int64_t last_extend_try;
	bool dead;	   /* known to be gone */
	bool octet_upload; /* envd >= 0.5.7 */
};

/* ---- configuration ---- */

/*
 * A duration from the environment: the plan's grammar (plan.h's
 * parse_duration_ms: "500ms", "30s", "5m", "1h", "1h30m"), or plain
 * digits, which are seconds.
 */
static int env_duration(const char *name, int64_t def, int64_t *out,
			struct strbuf *err)
{
	const char *v = getenv(name);
	size_t digits;
	int64_t ms;
	int r;

	if (!v || !*v) {
		*out = def;
		return 0;
	}
	digits = strspn(v, "0123456789");
	if (digits && !v[digits]) {
		char *secs = xstrfmt("%ss", v);
		r = parse_duration_ms(secs, &ms);
		free(secs);
	} else {
		r = parse_duration_ms(v, &ms);
	}
	/* Room for the sums made of them (timeouts plus grace). */
	if (r < 0 || ms > INT64_MAX / 2) {
		strbuf_addf(err,
			    "%s: invalid duration '%s' (use 500ms, 30s, 5m, "
			    "1h)",
			    name, v);
		return -1;
	}
	*out = ms;
	return 0;
}

static char *url_from_env(const char *v)
{
	char *s = xstrdup(v);
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

static bool is_http_url(const char *u)
{
	return !strncmp(u, "http://", 7) || !strncmp(u, "https://", 8);
}

static void conf_release(struct e2b_conf *c)
{
	free(c->api_url);
	free(c->api_key);
	free(c->domain);
	free(c->sandbox_url);
	free(c->user);
	memset(c, 0, sizeof(*c));
}

static int conf_load(struct e2b_conf *c, struct strbuf *err)
{
	const char *key = getenv("E2B_API_KEY");
	const char *domain = getenv("E2B_DOMAIN");
	const char *api = getenv("E2B_API_URL");
	const char *sbx = getenv("E2B_SANDBOX_URL");
	const char *user = getenv("RUNNER_E2B_USER");
	const char *retries = getenv("RUNNER_E2B_RETRIES");
	int64_t v;

	memset(c, 0, sizeof(*c));
	if (!key || !*key) {
		strbuf_addstr(err, "E2B_API_KEY is not set: the e2b backend "
				   "needs an E2B API key "
				   "(export E2B_API_KEY=e2b_...)");
		return -1;
	}
	for (const char *p = key; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f) {
			strbuf_addstr(err, "E2B_API_KEY holds white space or "
					   "control characters");
			return -1;
		}
	}
	c->api_key = xstrdup(key);
	c->domain = xstrdup(domain && *domain ? domain : "e2b.app");
	c->api_url = api && *api ? url_from_env(api)
				 : xstrfmt("https://api.%s", c->domain);
	if (sbx && *sbx)
		c->sandbox_url = url_from_env(sbx);
	c->user = xstrdup(user && *user ? user : "user");
	if (!is_http_url(c->api_url) ||
	    (c->sandbox_url && !is_http_url(c->sandbox_url))) {
		strbuf_addf(err, "%s is not an http(s) URL",
			    is_http_url(c->api_url) ? "E2B_SANDBOX_URL"
						    : "E2B_API_URL");
		goto fail;
	}
	if (env_duration("RUNNER_E2B_CONNECT_TIMEOUT", 10000,
			 &c->http.connect_timeout_ms, err) < 0 ||
	    env_duration("RUNNER_E2B_REQUEST_TIMEOUT", 60000,
			 &c->http.timeout_ms, err) < 0 ||
	    env_duration("RUNNER_E2B_RETRY_DELAY", 1000,
			 &c->http.retry_base_ms, err) < 0 ||
	    env_duration("RUNNER_E2B_TRANSFER_TIMEOUT", 30 * 60000,
			 &c->transfer_timeout_ms, err) < 0 ||
	    env_duration("RUNNER_E2B_HEALTH_TIMEOUT", 60000,
			 &c->health_timeout_ms, err) < 0 ||
	    env_duration("RUNNER_E2B_KEEPALIVE", 30000, &c->keepalive_ms,
			 err) < 0 ||
	    env_duration("RUNNER_E2B_TTL_MARGIN", 5 * 60000, &c->ttl_margin_ms,
			 err) < 0 ||
	    env_duration("RUNNER_E2B_MAX_TTL", 3600000, &c->max_ttl_ms, err) <
		    0 ||
	    env_duration("RUNNER_E2B_KILL_WAIT", 10000, &c->kill_wait_ms,
			 err) < 0)
		goto fail;
	c->http.max_retries = 5;
	if (retries && *retries) {
		char *end;
		long n = strtol(retries, &end, 10);
		if (*end || n < 0 || n > 100) {
			strbuf_addf(err,
				    "RUNNER_E2B_RETRIES: invalid number "
				    "'%s'",
				    retries);
			goto fail;
		}
		c->http.max_retries = (int)n;
	}
	v = c->http.retry_base_ms * 30;
	c->http.retry_max_ms = v < 30000 ? v : 30000;
	if (c->keepalive_ms < 1000)
		c->keepalive_ms = 1000;
	if (c->max_ttl_ms < 1000)
		c->max_ttl_ms = 1000;
	return 0;
fail:
	conf_release(c);
	return -1;
}

/* ---- small helpers ---- */

/* "a.b.c" >= want ("0.5.7")? Unparsable versions count as old. */
static bool version_at_least(const char *v, int a, int b, int c)
{
	long got[3] = { 0, 0, 0 };
	int want[3] = { a, b, c };
	const char *p = v;

	for (int i = 0; i < 3 && p && *p; i++) {
		char *end;
		got[i] = strtol(p, &end, 10);
		if (end == p)
			return false;
		p = *end == '.' ? end + 1 : NULL;
	}
	for (int i = 0; i < 3; i++)
		if (got[i] != want[i])
			return got[i] > want[i];
	return true;
}

static bool safe_token(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);
	if (!n || n > max)
		return false;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && !strchr(extra, *s))
			return false;
	return true;
}

static const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* ---- control plane ---- */

static void api_headers(const struct e2b_conf *conf, struct strvec *h)
{
	strvec_pushf(h, "X-API-Key: %s", conf->api_key);
	strvec_push(h, "Content-Type: application/json");
	strvec_push(h, "Accept: application/json");
}

/*
 * One control-plane call. A 401 becomes the one message a user needs;
 * other failures keep http's description.
 */
static int api_call(const struct e2b_conf *conf, struct http_client *c,
		    const struct strvec *hdrs, const char *method,
		    const char *path, const char *body,
		    struct http_response *res, struct strbuf *err)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct strbuf url = STRBUF_INIT, herr = STRBUF_INIT;
	int ret;

	strbuf_addf(&url, "%s%s", conf->api_url, path);
	req.method = method;
	req.url = url.buf;
	req.headers = hdrs->v;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.idempotent = strcmp(method, "POST") != 0;
	ret = http_do(c, &req, res, &herr);
	if (ret < 0 && res->fail == HTTP_FAIL_AUTH)
		strbuf_addf(err,
			    "E2B rejected the API key (HTTP 401 on %s "
			    "%.*s): check E2B_API_KEY",
			    method, (int)strcspn(path, "?"), path);
	else if (ret < 0)
		strbuf_addf(err, "E2B API: %s%s", herr.buf,
			    res->fail == HTTP_FAIL_TIMEOUT
				    ? "; RUNNER_E2B_REQUEST_TIMEOUT sets the "
				      "limit"
				    : "");
	strbuf_release(&url);
	strbuf_release(&herr);
	return ret;
}

/* DELETE /sandboxes/{id}: 0 when it is gone, whoever ended it. */
static int api_kill(const struct e2b_conf *conf, struct http_client *c,
		    const struct strvec *hdrs, const char *id,
		    struct strbuf *err)
{
	struct http_response res;
	struct strbuf path = STRBUF_INIT, e = STRBUF_INIT;
	int ret = 0;

	http_response_init(&res);
	strbuf_addstr(&path, "/sandboxes/");
	http_urlencode(&path, id);
	if (api_call(conf, c, hdrs, "DELETE", path.buf, NULL, &res, &e) < 0 &&
	    res.status != 404) {
		strbuf_addf(err, "cannot kill E2B sandbox %s: %s", id, e.buf);
		ret = -1;
	}
	strbuf_release(&path);
	strbuf_release(&e);
	http_response_release(&res);
	return ret;
}

/* 1 alive, 0 gone (404), -1 unknown (with a message). */
static int api_alive(struct sandbox *sb, struct strbuf *err)
{
	struct http_response res;
	struct strbuf path = STRBUF_INIT;
	int ret;

	http_response_init(&res);
	strbuf_addstr(&path, "/sandboxes/");
	http_urlencode(&path, sb->id);
	if (api_call(&sb->conf, sb->api, &sb->api_hdrs, "GET", path.buf, NULL,
		     &res, err) == 0)
		ret = 1;
	else
		ret = res.status == 404 ? 0 : -1;
	if (!ret)
		sb->dead = true;
	strbuf_release(&path);
	http_response_release(&res);
	return ret;
}

/*
 * Keep the sandbox alive for need_ms more (plus the margin, capped at
 * the longest TTL we ask for): when less than half of that is left, ask
 * E2B for it. Failures are retried on a later call; -1 only when E2B
 * says the sandbox is gone.
 */
static int ttl_extend(struct sandbox *sb, int64_t need_ms, struct strbuf *err)
{
	int64_t want = need_ms + sb->conf.ttl_margin_ms;
	int64_t now = time_mono_ms(), secs;
	struct http_response res;
	struct strbuf path = STRBUF_INIT, e = STRBUF_INIT;
	char body[64];
	int ret = 0;

	if (want > sb->conf.max_ttl_ms)
		want = sb->conf.max_ttl_ms;
	if (sb->dead || sb->ttl_end - now >= want / 2 ||
	    now - sb->last_extend_try < 500)
		return 0;
	sb->last_extend_try = now;
	secs = (want + 999) / 1000;
	snprintf(body, sizeof(body), "{\"timeout\":%" PRId64 "}", secs);
	http_response_init(&res);
	strbuf_addstr(&path, "/sandboxes/");
	http_urlencode(&path, sb->id);
	strbuf_addstr(&path, "/timeout");
	if (api_call(&sb->conf, sb->api, &sb->api_hdrs, "POST", path.buf, body,
		     &res, &e) == 0) {
		sb->ttl_end = now + secs * 1000;
	} else if (res.status == 404) {
		sb->dead = true;
		strbuf_addf(err, "sandbox %s is gone", sb->id);
		ret = -1;
	}
	strbuf_release(&path);
	strbuf_release(&e);
	http_response_release(&res);
	return ret;
}

/* ---- envd ---- */

static void envd_headers(const struct sandbox *sb, const char *user,
			 const char *content_type, struct strvec *h)
{
	if (sb->token)
		strvec_pushf(h, "X-Access-Token: %s", sb->token);
	strvec_pushf(h, "E2b-Sandbox-Id: %s", sb->id);
	strvec_push(h, "E2b-Sandbox-Port: " ENVD_PORT);
	if (user) {
		struct strbuf cred = STRBUF_INIT, b64 = STRBUF_INIT;
		strbuf_addf(&cred, "%s:", user);
		base64_encode(&b64, cred.buf, cred.len);
		strvec_pushf(h, "Authorization: Basic %s", b64.buf);
		strvec_push(h, "Connect-Protocol-Version: 1");
		strbuf_release(&cred);
		strbuf_release(&b64);
	}
	if (content_type)
		strvec_pushf(h, "Content-Type: %s", content_type);
}

/* Messages for envd failures, saying which sandbox. */
static void envd_fail(struct sandbox *sb, const struct http_response *res,
		      const char *herr, struct strbuf *err)
{
	if (res->fail == HTTP_FAIL_AUTH)
		strbuf_addf(err,
			    "envd in sandbox %s rejected the access "
			    "token (HTTP 401)",
			    sb->id);
	else
		strbuf_addf(err, "sandbox %s: %s%s", sb->id, herr,
			    res->fail == HTTP_FAIL_TIMEOUT
				    ? "; RUNNER_E2B_REQUEST_TIMEOUT and "
				      "RUNNER_E2B_TRANSFER_TIMEOUT set the "
				      "limits"
				    : "");
}

/* A unary Connect call, as root. body is JSON. */
static int envd_unary(struct sandbox *sb, const char *method, const char *body,
		      int max_retries, struct http_response *res,
		      struct strbuf *err)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct strvec h = STRVEC_INIT;
	struct strbuf url = STRBUF_INIT, herr = STRBUF_INIT;
	int ret;

	envd_headers(sb, "root", "application/json", &h);
	strbuf_addf(&url, "%s/%s", sb->envd_url, method);
	req.method = "POST";
	req.url = url.buf;
	req.headers = h.v;
	req.body = body;
	req.body_len = strlen(body);
	req.max_retries = max_retries;
	ret = http_do(sb->envd, &req, res, &herr);
	if (ret < 0)
		envd_fail(sb, res, herr.buf, err);
	strvec_clear(&h);
	strbuf_release(&url);
	strbuf_release(&herr);
	return ret;
}

static void files_url(struct sandbox *sb, const char *path, const char *user,
		      struct strbuf *url)
{
	strbuf_addf(url, "%s/files?path=", sb->envd_url);
	http_urlencode(url, path);
	strbuf_addstr(url, "&username=");
	http_urlencode(url, user);
}

/* Upload size bytes of fd to path in the sandbox, owned by user. */
static int envd_upload(struct sandbox *sb, int fd, uint64_t size,
		       const char *path, const char *user, struct strbuf *err)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response res;
	struct strvec h = STRVEC_INIT;
	struct strbuf url = STRBUF_INIT, herr = STRBUF_INIT;
	int ret;

	http_response_init(&res);
	envd_headers(sb, NULL,
		     sb->octet_upload ? "application/octet-stream" : NULL, &h);
	files_url(sb, path, user, &url);
	req.method = "POST";
	req.url = url.buf;
	req.headers = h.v;
	req.body_fd = fd;
	req.body_size = size;
	if (!sb->octet_upload)
		req.multipart_filename = path;
	req.timeout_ms = sb->conf.transfer_timeout_ms;
	req.idempotent = true; /* the same bytes to the same path */
	req.what = "upload (POST /files)";
	ret = http_do(sb->envd, &req, &res, &herr);
	if (ret < 0)
		envd_fail(sb, &res, herr.buf, err);
	strvec_clear(&h);
	strbuf_release(&url);
	strbuf_release(&herr);
	http_response_release(&res);
	return ret;
}

static int upload_buf(struct sandbox *sb, const void *data, size_t len,
		      const char *path, struct strbuf *err);

/* ---- temporary files ---- */

static int tmpfile_open(struct strbuf *err)
{
	const char *dir = getenv("TMPDIR");
	char *tmpl;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	tmpl = xstrfmt("%s/runner-e2b-XXXXXX", dir);
	fd = mkstemp(tmpl);
	if (fd < 0) {
		strbuf_addf(err, "cannot create a temporary file in %s: %s",
			    dir, strerror(errno));
	} else {
		unlink(tmpl);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	free(tmpl);
	return fd;
}

static int upload_buf(struct sandbox *sb, const void *data, size_t len,
		      const char *path, struct strbuf *err)
{
	int fd = tmpfile_open(err), ret;

	if (fd < 0)
		return -1;
	if (fs_write_all(fd, data, len) < 0) {
		strbuf_addf(err, "cannot write a temporary file: %s",
			    strerror(errno));
		close(fd);
		return -1;
	}
	ret = envd_upload(sb, fd, len, path, "root", err);
	close(fd);
	return ret;
}

/* ---- processes (process.Process/Start and Connect) ---- */

struct proc_spec {
	const char *user;
	const char *const *argv;
	const char *const *env; /* NAME=VALUE, may be NULL */
	const char *cwd;
	const char *what;	       /* "during the task", ... */
	const struct sandbox_cmd *cmd; /* the task; NULL for plumbing */
	int64_t timeout_ms;	       /* plumbing: hard limit */
	struct strbuf *out;	       /* plumbing: stdout (capped) */
	struct strbuf *errout;	       /* plumbing: stderr (capped) */
};

enum proc_phase { PHASE_RUNNING, PHASE_TERM, PHASE_KILL };

struct proc_run {
	struct sandbox *sb;
	const struct proc_spec *spec;
	char tag[40];
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
	enum proc_phase phase;
	int64_t kill_at;
	size_t next_warn;
	bool timed_out, cancelled, killed_sandbox;
	int64_t last_ttl_check;
};

static void proc_deliver(struct proc_run *p, int fd, const char *buf,
			 size_t len)
{
	const struct proc_spec *s = p->spec;

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

static int proc_bad(struct proc_run *p, const char *msg)
{
	p->bad_stream = true;
	if (!p->bad_msg.len)
		strbuf_addstr(&p->bad_msg, msg);
	return -1;
}

static int proc_event(struct proc_run *p, const cJSON *ev)
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
				return proc_bad(p, "bad base64 in data");
			proc_deliver(p, i == 1 ? 2 : 1, p->decoded.buf,
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

static int proc_frame(struct proc_run *p, unsigned flags, const char *data,
		      size_t len)
{
	cJSON *j;
	int ret = 0;

	if (flags & 0x01)
		return proc_bad(p, "compressed frame (not asked for)");
	j = cJSON_ParseWithLength(data, len);
	if (!j)
		return proc_bad(p, "a frame is not JSON");
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
			ret = proc_event(p, ev);
	}
	cJSON_Delete(j);
	return ret;
}

/* http on_data: reassemble 5-byte-header envelopes across chunks. */
static int proc_on_data(void *ctx, const char *buf, size_t len)
{
	struct proc_run *p = ctx;
	size_t off = 0;

	if (strbuf_add(&p->frames, buf, len) < 0)
		return proc_bad(p, "oversized frame"), 1;
	while (p->frames.len - off >= 5) {
		const unsigned char *h =
			(const unsigned char *)p->frames.buf + off;
		uint32_t n = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 |
			     (uint32_t)h[3] << 8 | h[4];
		if (n > MAX_FRAME)
			return proc_bad(p, "oversized frame"), 1;
		if (p->frames.len - off - 5 < n)
			break;
		p->got_frame = true;
		if (proc_frame(p, h[0], p->frames.buf + off + 5, n) < 0)
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

static void proc_signal(struct proc_run *p, const char *sig)
{
	struct http_response res;
	struct strbuf body = STRBUF_INIT, e = STRBUF_INIT;
	cJSON *j = cJSON_CreateObject();
	cJSON *sel = cJSON_AddObjectToObject(j, "process");
	char *s;

	cJSON_AddStringToObject(sel, "tag", p->tag);
	cJSON_AddStringToObject(j, "signal", sig);
	s = cJSON_PrintUnformatted(j);
	http_response_init(&res);
	/*
	 * Failures are fine here: not_found means it already ended, and if
	 * the signal cannot be sent the sandbox itself is killed later.
	 */
	envd_unary(p->sb, "process.Process/SendSignal", s, 2, &res, &e);
	http_response_release(&res);
	strbuf_release(&body);
	strbuf_release(&e);
	cJSON_free(s);
	cJSON_Delete(j);
}

static void proc_term(struct proc_run *p, int64_t now)
{
	int64_t grace = p->spec->cmd->grace_ms;
	proc_signal(p, "SIGNAL_SIGTERM");
	p->phase = PHASE_TERM;
	p->kill_at = now + (grace > 0 ? grace : 0);
}

static void proc_kill(struct proc_run *p, int64_t now)
{
	proc_signal(p, "SIGNAL_SIGKILL");
	p->phase = PHASE_KILL;
	p->kill_at = now + p->sb->conf.kill_wait_ms;
}

/*
 * The task's clock, as proc.c keeps it for local tasks: warnings while
 * running, then cancel or timeout -> TERM, grace -> KILL, and if even
 * that is not confirmed by an end event, the sandbox is killed.
 */
static void proc_control(struct proc_run *p)
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
		proc_kill(p, now);
	} else if (p->phase == PHASE_RUNNING && c->cancel &&
		   atomic_load(c->cancel)) {
		p->cancelled = true;
		proc_term(p, now);
	} else if (p->phase == PHASE_RUNNING && c->timeout_ms > 0 &&
		   elapsed >= c->timeout_ms) {
		p->timed_out = true;
		proc_term(p, now);
	} else if (p->phase == PHASE_RUNNING && p->out_failed) {
		proc_kill(p, now);
	}
	if (p->phase == PHASE_TERM && now >= p->kill_at) {
		proc_kill(p, now);
	} else if (p->phase == PHASE_KILL && now >= p->kill_at) {
		struct strbuf e = STRBUF_INIT;
		if (api_kill(&p->sb->conf, p->sb->api, &p->sb->api_hdrs,
			     p->sb->id, &e) == 0) {
			p->sb->dead = true;
			p->killed_sandbox = true;
		} else {
			p->kill_at = now + p->sb->conf.kill_wait_ms;
		}
		strbuf_release(&e);
	}
}

/* How long the sandbox must still live for this process. */
static int64_t proc_need_ms(const struct proc_run *p)
{
	int64_t elapsed = time_mono_ms() - p->t0, t;
	const struct sandbox_cmd *c = p->spec->cmd;

	/* Plumbing: the margin (which ttl_extend adds) is what it gets. */
	if (!c)
		return 0;
	t = c->timeout_ms;
	if (t <= 0)
		return p->sb->conf.max_ttl_ms;
	t -= elapsed;
	t += (c->grace_ms > 0 ? c->grace_ms : 0) + p->sb->conf.kill_wait_ms;
	return t > 0 ? t : 0;
}

static void proc_tick(struct proc_run *p)
{
	int64_t now = time_mono_ms();
	struct strbuf e = STRBUF_INIT;

	proc_control(p);
	if (now - p->last_ttl_check >= 250) {
		p->last_ttl_check = now;
		ttl_extend(p->sb, proc_need_ms(p), &e);
	}
	strbuf_release(&e);
}

static void proc_sleep(struct proc_run *p, int64_t ms)
{
	int64_t end = time_mono_ms() + ms;
	for (;;) {
		int64_t left = end - time_mono_ms();
		if (left <= 0 || p->killed_sandbox)
			return;
		time_sleep_ms(left < 100 ? left : 100);
		proc_tick(p);
	}
}

static char *proc_start_body(const struct proc_run *p)
{
	const struct proc_spec *s = p->spec;
	cJSON *j = cJSON_CreateObject();
	cJSON *proc = cJSON_AddObjectToObject(j, "process");
	cJSON *args = cJSON_AddArrayToObject(proc, "args");
	cJSON *envs = cJSON_AddObjectToObject(proc, "envs");
	char *out;

	cJSON_AddStringToObject(proc, "cmd", s->argv[0]);
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

static char *proc_connect_body(const struct proc_run *p)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *sel = cJSON_AddObjectToObject(j, "process");
	char *out;
	cJSON_AddStringToObject(sel, "tag", p->tag);
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

static void proc_release(struct proc_run *p)
{
	strbuf_release(&p->frames);
	strbuf_release(&p->decoded);
	strbuf_release(&p->bad_msg);
	free(p->status_text);
	free(p->eos_code);
	free(p->eos_msg);
}

/*
 * Run a process in the sandbox to its end: the task (spec->cmd set, with
 * its clock and output callback) or a plumbing command (output into
 * spec->out/errout). Returns 0 with st filled when the process ran to an
 * end (or was killed by our clock), -1 with a message otherwise.
 */
static int proc_run(struct sandbox *sb, const struct proc_spec *spec,
		    struct sandbox_status *st, struct strbuf *err)
{
	struct proc_run p;
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response res;
	struct strvec h = STRVEC_INIT;
	struct strbuf url = STRBUF_INIT, body = STRBUF_INIT;
	struct strbuf herr = STRBUF_INIT;
	char *json = NULL;
	int attach = 0, ret = -1;
	bool streaming = false;
	char hdr[64];

	memset(&p, 0, sizeof(p));
	memset(st, 0, sizeof(*st));
	st->exit_code = -1;
	p.sb = sb;
	p.spec = spec;
	strbuf_init_capped(&p.frames, MAX_FRAME + 5 + (1 << 20));
	strbuf_init_capped(&p.decoded, MAX_FRAME);
	strbuf_init(&p.bad_msg, 0);
	memcpy(p.tag, "runner-", 7);
	rand_hex(p.tag + 7, 12);
	http_response_init(&res);

	if (sb->dead) {
		strbuf_addf(err, "sandbox %s is gone", sb->id);
		goto out;
	}
	envd_headers(sb, spec->user, "application/connect+json", &h);
	snprintf(hdr, sizeof(hdr), "Keepalive-Ping-Interval: %" PRId64,
		 sb->conf.keepalive_ms / 1000);
	strvec_push(&h, hdr);
	/*
	 * envd kills the process when this deadline passes: a backstop for
	 * our own clock, never the clock itself.
	 */
	if (spec->cmd && spec->cmd->timeout_ms > 0)
		strvec_pushf(&h, "Connect-Timeout-Ms: %" PRId64,
			     spec->cmd->timeout_ms +
				     (spec->cmd->grace_ms > 0
					      ? spec->cmd->grace_ms
					      : 0) +
				     2 * sb->conf.kill_wait_ms + 60000);
	else if (!spec->cmd && spec->timeout_ms > 0)
		strvec_pushf(&h, "Connect-Timeout-Ms: %" PRId64,
			     spec->timeout_ms);

	json = proc_start_body(&p);
	envelope(&body, json);
	strbuf_addf(&url, "%s/process.Process/Start", sb->envd_url);
	req.method = "POST";
	req.url = url.buf;
	req.headers = h.v;
	req.body = body.buf;
	req.body_len = body.len;
	req.timeout_ms = -1;
	req.idle_timeout_ms = 3 * sb->conf.keepalive_ms + 5000;
	req.on_data = proc_on_data;
	req.ctx = &p;
	req.what = "process.Process/Start";

	p.t0 = time_mono_ms();
	if (http_start(sb->stream, &req, &res, &herr) < 0) {
		envd_fail(sb, &res, herr.buf, err);
		goto out;
	}
	streaming = true;
	for (;;) {
		int r = http_poll(sb->stream, 100, &herr);
		bool dropped;

		proc_tick(&p);
		if (p.killed_sandbox)
			break;
		if (!spec->cmd && spec->timeout_ms > 0 &&
		    time_mono_ms() - p.t0 > spec->timeout_ms) {
			strbuf_addf(err,
				    "sandbox %s: '%s' did not finish "
				    "within %" PRId64 " ms "
				    "(RUNNER_E2B_TRANSFER_TIMEOUT)",
				    sb->id, spec->argv[0], spec->timeout_ms);
			goto out;
		}
		if (r == 1)
			continue;
		streaming = false;
		if (p.got_frame)
			attach = 0;
		if (p.bad_stream) {
			strbuf_addf(err,
				    "sandbox %s: envd sent a malformed "
				    "process stream (%s)",
				    sb->id, p.bad_msg.buf);
			goto out;
		}
		if (p.out_failed && !spec->cmd) {
			strbuf_addf(err,
				    "sandbox %s: the output of '%s' is "
				    "larger than %zu bytes",
				    sb->id, spec->argv[0], spec->out->cap);
			goto out;
		}
		if (p.ended)
			break;
		if (r < 0 && !p.started && res.fail == HTTP_FAIL_STATUS &&
		    api_alive(sb, &herr) != 0) {
			/* Start itself was refused: nothing to reattach to. */
			envd_fail(sb, &res, herr.buf, err);
			goto out;
		}
		if (p.eos && p.eos_code && strcmp(p.eos_code, "unavailable")) {
			if (p.started)
				strbuf_addf(err,
					    "sandbox %s: lost '%s': ", sb->id,
					    spec->argv[0]);
			else
				strbuf_addf(err,
					    "sandbox %s: cannot run "
					    "'%s': ",
					    sb->id, spec->argv[0]);
			http_sanitize(err, p.eos_code, strlen(p.eos_code), 64,
				      NULL);
			strbuf_addstr(err, ": ");
			http_sanitize(err, p.eos_msg, strlen(p.eos_msg), 300,
				      NULL);
			goto out;
		}
		dropped = r == 0 || res.fail == HTTP_FAIL_TRANSPORT ||
			  res.fail == HTTP_FAIL_IDLE ||
			  res.fail == HTTP_FAIL_TIMEOUT ||
			  (res.fail == HTTP_FAIL_STATUS &&
			   (res.status == 502 || res.status == 503 ||
			    res.status == 504));
		if (!dropped && r < 0) {
			envd_fail(sb, &res, herr.buf, err);
			goto out;
		}
		/* The stream broke without an end: is the sandbox alive? */
		strbuf_reset(&herr);
		if (api_alive(sb, &herr) == 0) {
			/* Its age helps to spot an E2B plan's lifetime cap. */
			strbuf_addf(err,
				    "sandbox %s died %s (%" PRId64 " s "
				    "after it was created)",
				    sb->id, spec->what,
				    (time_mono_ms() - sb->created) / 1000);
			goto out;
		}
		if (++attach > REATTACH_MAX) {
			strbuf_addf(err,
				    "sandbox %s: lost the stream of '%s' "
				    "%d times; giving up",
				    sb->id, spec->argv[0], REATTACH_MAX);
			goto out;
		}
		if (spec->cmd && p.started) {
			static const char note[] =
				"\n[runner: the output stream from the e2b "
				"sandbox broke; reattached, output written "
				"meanwhile is lost]\n";
			proc_deliver(&p, 1, note, sizeof(note) - 1);
		}
		proc_sleep(&p, attach == 1 ? 100 : 250 << (attach - 2));
		if (p.killed_sandbox)
			break;
		free(json);
		json = proc_connect_body(&p);
		strbuf_reset(&body);
		envelope(&body, json);
		req.body = body.buf;
		req.body_len = body.len;
		req.what = "process.Process/Connect";
		req.idempotent = true;
		strbuf_reset(&url);
		strbuf_addf(&url, "%s/process.Process/Connect", sb->envd_url);
		req.url = url.buf;
		strbuf_reset(&p.frames);
		p.got_frame = false;
		p.eos = false;
		free(p.eos_code);
		free(p.eos_msg);
		p.eos_code = p.eos_msg = NULL;
		strbuf_reset(&herr);
		if (http_start(sb->stream, &req, &res, &herr) < 0) {
			envd_fail(sb, &res, herr.buf, err);
			goto out;
		}
		streaming = true;
	}

	/* Either an end event, or our clock killed the sandbox. */
	st->duration_ms = time_mono_ms() - p.t0;
	st->timed_out = p.timed_out;
	st->cancelled = p.cancelled;
	if (p.ended && p.exited) {
		if (p.exit_code > 128 && p.exit_code <= 128 + 64) {
			st->term_signal = p.exit_code - 128;
		} else {
			st->exit_code = p.exit_code;
		}
	} else {
		int sig = p.ended ? status_signal(p.status_text) : 0;
		st->term_signal = sig ? sig : SIGKILL;
	}
	if (p.out_failed && spec->cmd) {
		strbuf_addstr(err, "the output handler failed; the task was "
				   "killed");
		goto out;
	}
	ret = 0;
out:
	if (streaming)
		http_abort(sb->stream);
	if (ret < 0 && p.started && !p.ended && !p.killed_sandbox && !sb->dead)
		proc_signal(&p, "SIGNAL_SIGKILL");
	http_response_release(&res);
	strvec_clear(&h);
	strbuf_release(&url);
	strbuf_release(&body);
	strbuf_release(&herr);
	free(json);
	proc_release(&p);
	return ret;
}

/*
 * A plumbing command as root: sh -c script with args; stdout into out
 * (capped by the caller). Fails unless it exits 0.
 */
static int run_script(struct sandbox *sb, const char *what, const char *script,
		      const char *const *args, struct strbuf *out,
		      struct strbuf *err)
{
	struct strvec argv = STRVEC_INIT;
	struct strbuf errout;
	struct sandbox_status st;
	struct proc_spec spec = { 0 };
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
	spec.what = what;
	spec.timeout_ms = sb->conf.transfer_timeout_ms;
	spec.out = out;
	spec.errout = &errout;
	if (proc_run(sb, &spec, &st, err) < 0)
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

/* ---- the tree listing ---- */

/*
 * Prints, NUL-separated: for every entry "TYPE SIZE MODE PATH" and its
 * link target; "#H", then "HEX  ./PATH" per regular file; "#G", then
 * "./PATH" and base64 content per .gitignore of at most 1 MiB (ws.c's
 * cap); "#E". Run as root so the task's chmods cannot hide anything.
 */
#define LISTING_SCRIPT                                                        \
	"cd " WORKSPACE " || exit 97\n"                                       \
	"find . -mindepth 1 -printf '%y %s %m %P\\0%l\\0' || exit 98\n"       \
	"printf '#H\\0'\n"                                                    \
	"find . -mindepth 1 -type f -exec sha256sum -z -- {} + 2>/dev/null\n" \
	"printf '#G\\0'\n"                                                    \
	"find . -mindepth 1 -type f -name .gitignore -size -1048577c "        \
	"-exec sh -c 'for f do printf \"%s\\0\" \"$f\"; "                     \
	"base64 -w0 < \"$f\"; printf \"\\0\"; done' sh {} +\n"                \
	"printf '#E\\0'\n"

struct rentry {
	char *path;
	char type; /* find's %y: f d l p s c b D U */
	uint64_t size;
	unsigned int mode;
	char *link;
	bool has_hash;
	unsigned char sha256[32];
	char *gitignore; /* base64, or NULL */
};

struct rlist {
	struct rentry *v;
	size_t nr, alloc;
};

static void rlist_release(struct rlist *l)
{
	for (size_t i = 0; i < l->nr; i++) {
		free(l->v[i].path);
		free(l->v[i].link);
		free(l->v[i].gitignore);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/*
 * Paths ordered component by component ('/' sorts first), so that a
 * directory's descendants follow it directly and siblings come in
 * bytewise name order.
 */
static int tree_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
		if (x == y) {
			if (!x)
				return 0;
			continue;
		}
		if (!x || !y)
			return x ? 1 : -1;
		if (x == '/')
			return -1;
		if (y == '/')
			return 1;
		return x < y ? -1 : 1;
	}
}

static int rentry_cmp(const void *a, const void *b)
{
	return tree_cmp(((const struct rentry *)a)->path,
			((const struct rentry *)b)->path);
}

static struct rentry *rlist_find(const struct rlist *l, const char *path)
{
	struct rentry key = { .path = (char *)path };
	if (!l->nr)
		return NULL;
	return bsearch(&key, l->v, l->nr, sizeof(*l->v), rentry_cmp);
}

/* Next NUL-terminated field of buf at *pos, or NULL at the end. */
static const char *next_field(const struct strbuf *buf, size_t *pos)
{
	const char *s = buf->buf + *pos, *nul;
	if (*pos >= buf->len)
		return NULL;
	nul = memchr(s, '\0', buf->len - *pos);
	if (!nul)
		return NULL;
	*pos += (size_t)(nul - s) + 1;
	return s;
}

static const char *strip_dot(const char *p)
{
	return !strncmp(p, "./", 2) ? p + 2 : p;
}

static int parse_listing(struct sandbox *sb, const struct strbuf *buf,
			 struct rlist *l, struct strbuf *err)
{
	size_t pos = 0;
	const char *f;
	int section = 0;

	while ((f = next_field(buf, &pos))) {
		if (f[0] == '#') {
			section = f[1] == 'H' ? 1 : f[1] == 'G' ? 2 : 3;
			if (section == 3)
				break;
			if (section == 1 && l->nr)
				qsort(l->v, l->nr, sizeof(*l->v), rentry_cmp);
			continue;
		}
		if (section == 0) {
			struct rentry *e;
			char *end;
			const char *link;
			unsigned long long size;
			unsigned long mode;

			if (!f[0] || f[1] != ' ')
				goto bad;
			size = strtoull(f + 2, &end, 10);
			if (*end != ' ')
				goto bad;
			mode = strtoul(end + 1, &end, 8);
			if (*end != ' ' || !ws_path_valid(end + 1))
				goto bad;
			link = next_field(buf, &pos);
			if (!link)
				goto bad;
			ALLOC_GROW(l->v, l->nr + 1, l->alloc);
			e = &l->v[l->nr++];
			memset(e, 0, sizeof(*e));
			e->type = f[0];
			e->size = size;
			e->mode = (unsigned int)mode & 07777;
			e->path = xstrdup(end + 1);
			if (e->type == 'l')
				e->link = xstrdup(link);
		} else if (section == 1) {
			struct rentry *e;
			size_t n = strlen(f);
			if (n < 67 || f[64] != ' ' || f[65] != ' ')
				goto bad;
			e = rlist_find(l, strip_dot(f + 66));
			if (!e)
				continue; /* appeared after the walk */
			if (sha256_parse_hex(f, e->sha256) < 0)
				goto bad;
			e->has_hash = true;
		} else {
			struct rentry *e = rlist_find(l, strip_dot(f));
			const char *b64 = next_field(buf, &pos);
			if (!b64)
				goto bad;
			if (e && e->type == 'f') {
				free(e->gitignore);
				e->gitignore = xstrdup(b64);
			}
		}
	}
	if (section != 3)
		goto bad;
	/* No duplicates, and every parent listed as a directory. */
	for (size_t i = 0; i < l->nr; i++) {
		const char *slash = strrchr(l->v[i].path, '/');
		if (i && !strcmp(l->v[i - 1].path, l->v[i].path))
			goto bad;
		if (slash) {
			size_t n = (size_t)(slash - l->v[i].path);
			char *parent = xstrndup(l->v[i].path, n);
			struct rentry *pe = rlist_find(l, parent);
			free(parent);
			if (!pe || pe->type != 'd')
				goto bad;
		}
	}
	return 0;
bad:
	strbuf_addf(err, "sandbox %s: the listing of %s is malformed", sb->id,
		    WORKSPACE);
	return -1;
}

static int list_tree(struct sandbox *sb, const char *script_prefix,
		     const char *what, const char *const *args,
		     struct rlist *l, struct strbuf *err)
{
	struct strbuf out, script = STRBUF_INIT;
	int ret = -1;

	strbuf_init_capped(&out, LISTING_MAX);
	strbuf_addstr(&script, script_prefix);
	strbuf_addstr(&script, LISTING_SCRIPT);
	if (run_script(sb, what, script.buf, args, &out, err) < 0)
		goto out;
	ret = parse_listing(sb, &out, l, err);
out:
	strbuf_release(&out);
	strbuf_release(&script);
	return ret;
}

/* ---- put_tree ---- */

static int tar_add_file(struct archive *a, struct archive_entry *ae,
			const struct ws_entry *e, const char *src_root,
			struct strbuf *err)
{
	char *path = fs_join(src_root, e->path);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	uint64_t left = e->size;
	int ret = -1;

	if (fd < 0 || fstat(fd, &st) < 0) {
		strbuf_addf(err, "cannot read '%s': %s", path,
			    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size) {
		strbuf_addf(err, "'%s' changed since the workspace snapshot",
			    e->path);
		goto out;
	}
	if (archive_write_header(a, ae) != ARCHIVE_OK)
		goto archive_fail;
	while (left > 0) {
		char buf[65536];
		ssize_t n =
			read(fd, buf,
			     left < sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			strbuf_addf(err, "cannot read '%s': %s", path,
				    strerror(errno));
			goto out;
		}
		if (n == 0) {
			strbuf_addf(err,
				    "'%s' changed since the workspace "
				    "snapshot",
				    e->path);
			goto out;
		}
		if (archive_write_data(a, buf, (size_t)n) != n)
			goto archive_fail;
		left -= (uint64_t)n;
	}
	ret = 0;
	goto out;
archive_fail:
	strbuf_addf(err, "cannot write the workspace tar: %s",
		    archive_error_string(a));
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

/* The manifest as tar.gz into fd (pax, raw byte names, no padding). */
static int build_tar(const struct ws_manifest *m, const char *src_root, int fd,
		     struct strbuf *err)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	int ret = -1;

	if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_format_option(a, "pax", "hdrcharset",
					    "BINARY") != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		strbuf_addf(err, "cannot start the workspace tar: %s",
			    archive_error_string(a));
		goto out;
	}
	for (size_t i = 0; i < m->nr; i++) {
		const struct ws_entry *e = &m->entries[i];
		archive_entry_clear(ae);
		archive_entry_copy_pathname(ae, e->path);
		archive_entry_set_mtime(ae, e->mtime_ns / 1000000000,
					e->mtime_ns % 1000000000);
		switch (e->type) {
		case WS_DIR:
			archive_entry_set_filetype(ae, AE_IFDIR);
			archive_entry_set_perm(ae, (e->mode & 0777) | 0700);
			break;
		case WS_LINK:
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_perm(ae, 0777);
			archive_entry_copy_symlink(ae, e->link);
			break;
		case WS_FILE:
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, e->mode & 0777);
			archive_entry_set_size(ae, (la_int64_t)e->size);
			if (tar_add_file(a, ae, e, src_root, err) < 0)
				goto out;
			continue;
		}
		if (archive_write_header(a, ae) != ARCHIVE_OK) {
			strbuf_addf(err, "cannot write the workspace tar: %s",
				    archive_error_string(a));
			goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		strbuf_addf(err, "cannot write the workspace tar: %s",
			    archive_error_string(a));
		goto out;
	}
	ret = 0;
out:
	archive_entry_free(ae);
	archive_write_free(a);
	return ret;
}

static const char *rtype_name(char t)
{
	switch (t) {
	case 'f':
		return "regular file";
	case 'd':
		return "directory";
	case 'l':
		return "symlink";
	case 'p':
		return "fifo";
	case 's':
		return "socket";
	case 'c':
		return "character device";
	case 'b':
		return "block device";
	default:
		return "special file";
	}
}

static char ws_type_char(enum ws_type t)
{
	return t == WS_DIR ? 'd' : t == WS_LINK ? 'l' : 'f';
}

/* The extracted tree must be the manifest, exactly. */
static int verify_tree(struct sandbox *sb, const struct ws_manifest *m,
		       const struct rlist *l, struct strbuf *err)
{
	struct strbuf diff = STRBUF_INIT;
	size_t bad = 0;

	for (size_t i = 0; i < m->nr; i++) {
		const struct ws_entry *e = &m->entries[i];
		const struct rentry *r = rlist_find(l, e->path);
		size_t before = diff.len;

		if (!r)
			strbuf_addf(&diff, "'%s' is missing", e->path);
		else if (r->type != ws_type_char(e->type))
			strbuf_addf(&diff, "'%s' is a %s, not a %s", e->path,
				    rtype_name(r->type),
				    rtype_name(ws_type_char(e->type)));
		else if (e->type == WS_LINK && strcmp(r->link, e->link))
			strbuf_addf(&diff, "'%s' points elsewhere", e->path);
		else if (e->type == WS_FILE && r->size != e->size)
			strbuf_addf(&diff,
				    "'%s' has %" PRIu64 " bytes, not "
				    "%" PRIu64,
				    e->path, r->size, e->size);
		else if (e->type == WS_FILE &&
			 (!r->has_hash || memcmp(r->sha256, e->sha256, 32)))
			strbuf_addf(&diff, "'%s' has other content", e->path);
		else if (e->type == WS_FILE &&
			 (r->mode & 0777) != (e->mode & 0777))
			strbuf_addf(&diff, "'%s' has mode %03o, not %03o",
				    e->path, r->mode & 0777, e->mode & 0777);
		if (diff.len != before) {
			bad++;
			if (bad > 3)
				strbuf_setlen(&diff, before);
			else
				strbuf_addstr(&diff, "; ");
		}
	}
	for (size_t i = 0; i < l->nr; i++) {
		if (ws_manifest_find(m, l->v[i].path))
			continue;
		if (++bad <= 3)
			strbuf_addf(&diff, "unexpected '%s'; ", l->v[i].path);
	}
	if (bad) {
		strbuf_setlen(&diff, diff.len - 2 * (diff.len >= 2));
		strbuf_addf(err,
			    "sandbox %s: the uploaded workspace does not "
			    "match the snapshot (%zu difference%s): %s",
			    sb->id, bad, bad == 1 ? "" : "s", diff.buf);
	}
	strbuf_release(&diff);
	return bad ? -1 : 0;
}

#define EXTRACT_SCRIPT                                                     \
	"set -e\n"                                                         \
	"mkdir -p " WORKSPACE "\n"                                         \
	"tar -xzpf \"$1\" -C " WORKSPACE " --no-same-owner\n"              \
	"rm -f \"$1\"\n"                                                   \
	"find " WORKSPACE " -type d ! -perm -700 -exec chmod u+rwx {} +\n" \
	"if [ -n \"$2\" ] && id -u \"$2\" >/dev/null 2>&1; then\n"         \
	"  chown -R -h \"$2\": " WORKSPACE " 2>/dev/null || true\n"        \
	"fi\n"                                                             \
	"set +e\n"

static int e2b_put_tree(struct sandbox *sb, const struct ws_manifest *m,
			const char *src_root, struct strbuf *err)
{
	struct rlist l = { 0 };
	struct stat st;
	char name[64], hex[33];
	const char *args[3];
	int fd = -1, ret = -1;

	if (ttl_extend(sb, 0, err) < 0)
		goto out;
	fd = tmpfile_open(err);
	if (fd < 0 || build_tar(m, src_root, fd, err) < 0)
		goto out;
	if (fstat(fd, &st) < 0) {
		strbuf_addf(err, "cannot stat the workspace tar: %s",
			    strerror(errno));
		goto out;
	}
	rand_hex(hex, 16);
	snprintf(name, sizeof(name), "/tmp/.runner-%s.tar.gz", hex);
	if (envd_upload(sb, fd, (uint64_t)st.st_size, name, "root", err) < 0)
		goto out;
	args[0] = name;
	args[1] = sb->conf.user;
	args[2] = NULL;
	if (list_tree(sb, EXTRACT_SCRIPT, "while extracting the workspace",
		      args, &l, err) < 0 ||
	    verify_tree(sb, m, &l, err) < 0)
		goto out;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	rlist_release(&l);
	return ret;
}

/* ---- exec ---- */

static int e2b_exec(struct sandbox *sb, const struct sandbox_cmd *cmd,
		    struct sandbox_status *st, struct strbuf *err)
{
	struct proc_spec spec = { 0 };
	struct strvec argv = STRVEC_INIT;
	char name[64], hex[33];
	int ret = -1;

	memset(st, 0, sizeof(*st));
	st->exit_code = -1;
	if (!cmd->argv || !cmd->argv[0]) {
		strbuf_addstr(err, "no command to run");
		return -1;
	}
	if (cmd->stdin_path) {
		/*
		 * envd has no "stdin from a file"; upload it and let a shell
		 * open it, drop it, and exec the command in its place.
		 */
		int fd = open(cmd->stdin_path, O_RDONLY | O_CLOEXEC);
		struct stat sst;
		if (fd < 0 || fstat(fd, &sst) < 0) {
			strbuf_addf(err, "cannot read '%s': %s",
				    cmd->stdin_path, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		rand_hex(hex, 16);
		snprintf(name, sizeof(name), "/tmp/.runner-stdin-%s", hex);
		/* Owned by the task's user, who must be able to remove it. */
		if (envd_upload(sb, fd, (uint64_t)sst.st_size, name,
				sb->conf.user, err) < 0) {
			close(fd);
			goto out;
		}
		close(fd);
		strvec_push(&argv, "/bin/sh");
		strvec_push(&argv, "-c");
		strvec_push(&argv, "exec 0<\"$0\" || exit 126; "
				   "rm -f \"$0\"; exec \"$@\"");
		strvec_push(&argv, name);
		strvec_pushv(&argv, cmd->argv);
	} else {
		strvec_pushv(&argv, cmd->argv);
	}
	/*
	 * The gate: everything is uploaded; starting the process is one
	 * request, so the go only has to wait for that.
	 */
	if (cmd->wait_go) {
		if (!cmd->wait_go(cmd->ctx)) {
			st->cancelled = true;
			ret = 0;
			goto out;
		}
		/* The wait may have been long: the TTL must hold the task. */
		if (ttl_extend(sb,
			       cmd->timeout_ms > 0 ? cmd->timeout_ms
						   : sb->conf.max_ttl_ms,
			       err) < 0)
			goto out;
	}
	spec.user = sb->conf.user;
	spec.argv = argv.v;
	spec.env = cmd->env;
	spec.cwd = WORKSPACE;
	spec.what = "during the task";
	spec.cmd = cmd;
	ret = proc_run(sb, &spec, st, err);
out:
	strvec_clear(&argv);
	return ret;
}

/* ---- pull_changes ---- */

struct want {
	char *path;
	size_t change; /* index in out->items */
	uint64_t size; /* as listed */
	bool done;
};

struct pull_ctx {
	struct sandbox *sb;
	const struct ws_manifest *base;
	const struct ws_pull_opts *opts;
	const struct rlist *list;
	struct ignore *secrets;
	struct ignore *gitignore;
	struct ignore *pull;
	unsigned char *seen;
	struct ws_changes *out;
	int dest_fd;
	struct want *wants;
	size_t nr_wants, alloc_wants;
	uint64_t planned;
	struct strbuf *err;
};

static bool pull_drops(struct pull_ctx *d, const char *path, const char *name,
		       bool is_dir)
{
	if (is_dir && !strcmp(name, ".git"))
		return true;
	if (ignore_match(d->secrets, path, is_dir))
		return true;
	return ignore_match(d->gitignore, path, is_dir) == 1;
}

static bool wants_pull(struct pull_ctx *d, const char *path)
{
	return !d->pull || ignore_path_excluded(d->pull, path, false) == 1;
}

static int pull_link(struct pull_ctx *d, const char *target,
		     struct ws_change *ch)
{
	return ws_put_link(d->dest_fd, target, ch, d->out, d->err);
}

static int diff_entry(struct pull_ctx *d, const struct rentry *r)
{
	const struct ws_entry *e = ws_manifest_find(d->base, r->path);
	struct ws_change *ch;

	/* ws_diff's cap (ws.h): the list stops there, and says so. */
	if (d->out->nr >= WS_MAX_CHANGES) {
		d->out->truncated = true;
		return 0;
	}
	/* A directory replaced by a file: the file is new. */
	if (e && e->type == WS_DIR)
		e = NULL;
	if (e)
		d->seen[e - d->base->entries] = 1;
	if (r->type == 'l') {
		if (e && e->type == WS_LINK && !strcmp(e->link, r->link))
			return 0;
		ch = ws_changes_add(d->out, r->path, e ? 'M' : 'A', WS_LINK);
		ws_change_set_base(ch, e);
		ch->size = strlen(r->link);
		sha256_buf(r->link, ch->size, ch->sha256);
		if (!wants_pull(d, r->path))
			return 0;
		return pull_link(d, r->link, ch);
	}
	if (r->type != 'f') {
		ch = ws_changes_add(d->out, r->path, e ? 'M' : 'A', WS_FILE);
		ws_change_set_base(ch, e);
		ch->note = xstrfmt("%s refused", rtype_name(r->type));
		d->out->nr_refused++;
		return 0;
	}
	if (e && e->type == WS_FILE && e->size == r->size && r->has_hash &&
	    !memcmp(e->sha256, r->sha256, 32))
		return 0;
	ch = ws_changes_add(d->out, r->path, e ? 'M' : 'A', WS_FILE);
	ws_change_set_base(ch, e);
	ch->size = r->size;
	if (!wants_pull(d, r->path)) {
		ch->note = xstrdup("not matched by pull");
		return 0;
	}
	if (d->opts->pull_limit &&
	    d->planned + r->size > d->opts->pull_limit) {
		ch->note = xstrdup("over pull_limit");
		d->out->nr_refused++;
		return 0;
	}
	d->planned += r->size;
	ALLOC_GROW(d->wants, d->nr_wants + 1, d->alloc_wants);
	d->wants[d->nr_wants].path = ch->path;
	d->wants[d->nr_wants].change = d->out->nr - 1;
	d->wants[d->nr_wants].size = r->size;
	d->wants[d->nr_wants].done = false;
	d->nr_wants++;
	return 0;
}

/* ws_diff's walk over the listing: [lo, hi) are dir's descendants. */
static int diff_dir(struct pull_ctx *d, const char *dir, size_t lo, size_t hi)
{
	const struct rlist *l = d->list;
	size_t dlen = strlen(dir), i = lo;
	char *gi_path = *dir ? xstrfmt("%s/.gitignore", dir)
			     : xstrdup(".gitignore");
	const struct rentry *gi = rlist_find(l, gi_path);

	free(gi_path);
	if (gi && gi->gitignore) {
		struct strbuf text;
		strbuf_init_capped(&text, 1 << 20);
		if (base64_decode(&text, gi->gitignore,
				  strlen(gi->gitignore)) == 0)
			ignore_add_text(d->gitignore, dir, text.buf, text.len);
		strbuf_release(&text);
	}
	while (i < hi) {
		const struct rentry *r = &l->v[i];
		const char *name = r->path + (dlen ? dlen + 1 : 0);
		size_t plen = strlen(r->path), j = i + 1;
		bool is_dir = r->type == 'd';

		while (j < hi && !strncmp(l->v[j].path, r->path, plen) &&
		       l->v[j].path[plen] == '/')
			j++;
		if (!ws_manifest_find(d->base, r->path) &&
		    pull_drops(d, r->path, name, is_dir)) {
			i = j;
			continue;
		}
		if (is_dir) {
			const struct ws_entry *e =
				ws_manifest_find(d->base, r->path);
			/* A file replaced by a directory is deleted. */
			if (e && e->type == WS_DIR)
				d->seen[e - d->base->entries] = 1;
			if (diff_dir(d, r->path, i + 1, j) < 0)
				return -1;
		} else if (diff_entry(d, r) < 0) {
			return -1;
		}
		i = j;
	}
	return 0;
}

static int want_cmp(const void *a, const void *b)
{
	return strcmp(((const struct want *)a)->path,
		      ((const struct want *)b)->path);
}

static void refuse(struct pull_ctx *d, struct ws_change *ch, const char *why)
{
	free(ch->note);
	ch->note = xstrdup(why);
	d->out->nr_refused++;
}

/* One tar entry to dest/ch->path, within its listed size and the limit. */
static int extract_one(struct pull_ctx *d, struct archive *a,
		       struct archive_entry *ae, struct want *w)
{
	struct ws_change *ch = &d->out->items[w->change];
	struct ws_pulled f = WS_PULLED_INIT;
	int ret = 0;

	if (ws_pulled_open(&f, d->dest_fd, ch->path) < 0)
		goto fail;
	for (;;) {
		char buf[65536];
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
		const char *why = NULL;
		if (n < 0) {
			strbuf_addf(d->err,
				    "sandbox %s: the changed files' "
				    "tar is corrupt: %s",
				    d->sb->id, archive_error_string(a));
			ret = -1;
			why = "";
		} else if (n == 0) {
			break;
		} else if (f.size + (uint64_t)n > w->size) {
			/* Bigger than listed: a bomb, or it changed. */
			why = "could not be read safely";
		} else if (d->opts->pull_limit &&
			   d->out->bytes_pulled + (uint64_t)n >
				   d->opts->pull_limit) {
			why = "over pull_limit";
		}
		if (why) {
			ws_pulled_discard(&f);
			if (*why)
				refuse(d, ch, why);
			goto out;
		}
		if (ws_pulled_write(&f, buf, (size_t)n) < 0)
			goto fail;
		d->out->bytes_pulled += (uint64_t)n;
	}
	ch->size = f.size;
	if (ws_pulled_finish(&f, archive_entry_perm(ae) & 0111, ch->sha256) <
	    0)
		goto fail;
	ch->pulled = true;
	goto out;
fail:
	strbuf_addf(d->err, "cannot write '%s' into results: %s", ch->path,
		    strerror(errno));
	ret = -1;
out:
	ws_pulled_release(&f);
	return ret;
}

static int extract_changes(struct pull_ctx *d, int fd)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int r, ret = -1;

	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	if (lseek(fd, 0, SEEK_SET) < 0 ||
	    archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		strbuf_addf(d->err,
			    "sandbox %s: cannot read the changed "
			    "files' tar: %s",
			    d->sb->id, archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(ae);
		struct want key, *w;

		if (!name)
			continue;
		while (!strncmp(name, "./", 2))
			name += 2;
		key.path = (char *)name;
		w = bsearch(&key, d->wants, d->nr_wants, sizeof(*d->wants),
			    want_cmp);
		if (!w || w->done)
			continue; /* not asked for: never written */
		w->done = true;
		if (archive_entry_filetype(ae) != AE_IFREG) {
			refuse(d, &d->out->items[w->change],
			       "could not be read safely");
			continue;
		}
		if (extract_one(d, a, ae, w) < 0)
			goto out;
	}
	if (r != ARCHIVE_EOF) {
		strbuf_addf(d->err,
			    "sandbox %s: the changed files' tar is "
			    "corrupt: %s",
			    d->sb->id, archive_error_string(a));
		goto out;
	}
	ret = 0;
out:
	archive_read_free(a);
	return ret;
}

struct download {
	int fd;
	uint64_t got, max;
	bool too_big;
};

static int download_cb(void *ctx, const char *buf, size_t len)
{
	struct download *dl = ctx;
	if (dl->got + len > dl->max) {
		dl->too_big = true;
		return 1;
	}
	if (fs_write_all(dl->fd, buf, len) < 0)
		return 1;
	dl->got += len;
	return 0;
}

#define PACK_SCRIPT                                                \
	"tar -C " WORKSPACE " --null --no-unquote --no-recursion " \
	"--hard-dereference -czf \"$2\" -T \"$1\"\n"               \
	"rc=$?\n"                                                  \
	"rm -f \"$1\"\n"                                           \
	"[ -f \"$2\" ] && exit 0\n"                                \
	"exit $rc\n"

static int fetch_changes(struct pull_ctx *d)
{
	struct sandbox *sb = d->sb;
	struct strbuf list = STRBUF_INIT, out, url = STRBUF_INIT;
	struct strbuf herr = STRBUF_INIT;
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response res;
	struct strvec h = STRVEC_INIT;
	struct download dl = { .fd = -1 };
	char lname[64], tname[64], hex[33];
	const char *args[3];
	int ret = -1;

	strbuf_init_capped(&out, 1 << 16);
	http_response_init(&res);
	for (size_t i = 0; i < d->nr_wants; i++)
		strbuf_addf(&list, "./%s%c", d->wants[i].path, '\0');
	rand_hex(hex, 16);
	snprintf(lname, sizeof(lname), "/tmp/.runner-%s.list", hex);
	snprintf(tname, sizeof(tname), "/tmp/.runner-%s.tar.gz", hex);
	if (upload_buf(sb, list.buf, list.len, lname, d->err) < 0)
		goto out;
	args[0] = lname;
	args[1] = tname;
	args[2] = NULL;
	if (run_script(sb, "while packing the changed files", PACK_SCRIPT,
		       args, &out, d->err) < 0)
		goto out;

	dl.fd = tmpfile_open(d->err);
	if (dl.fd < 0)
		goto out;
	/* Whatever the sandbox claims, no more than the listing's bytes. */
	dl.max = d->planned + d->planned / 64 + 1024 * (d->nr_wants + 4) +
		 (1 << 20);
	envd_headers(sb, NULL, NULL, &h);
	files_url(sb, tname, "root", &url);
	req.method = "GET";
	req.url = url.buf;
	req.headers = h.v;
	req.timeout_ms = sb->conf.transfer_timeout_ms;
	req.on_data = download_cb;
	req.ctx = &dl;
	req.idempotent = true;
	req.what = "download (GET /files)";
	if (http_do(sb->envd, &req, &res, &herr) < 0) {
		if (dl.too_big)
			strbuf_addf(d->err,
				    "sandbox %s: the changed files' "
				    "tar is larger than the listing allows",
				    sb->id);
		else
			envd_fail(sb, &res, herr.buf, d->err);
		goto out;
	}
	qsort(d->wants, d->nr_wants, sizeof(*d->wants), want_cmp);
	if (extract_changes(d, dl.fd) < 0)
		goto out;
	for (size_t i = 0; i < d->nr_wants; i++)
		if (!d->wants[i].done)
			refuse(d, &d->out->items[d->wants[i].change],
			       "could not be read safely");
	ret = 0;
out:
	if (dl.fd >= 0)
		close(dl.fd);
	strbuf_release(&list);
	strbuf_release(&out);
	strbuf_release(&url);
	strbuf_release(&herr);
	strvec_clear(&h);
	http_response_release(&res);
	return ret;
}

static int e2b_pull_changes(struct sandbox *sb, const struct ws_manifest *base,
			    const struct ws_pull_opts *opts,
			    struct ws_changes *out, struct strbuf *err)
{
	struct pull_ctx d = { .sb = sb,
			      .base = base,
			      .opts = opts,
			      .out = out,
			      .dest_fd = -1,
			      .err = err };
	struct rlist l = { 0 };
	int ret = -1;

	if (sb->dead) {
		strbuf_addf(err,
			    "sandbox %s is gone: changes cannot be "
			    "pulled",
			    sb->id);
		return -1;
	}
	if (ttl_extend(sb, 0, err) < 0)
		return -1;
	/* Credentials never come back, whatever .gitignore says. */
	d.secrets = ws_credentials_new();
	d.gitignore = ignore_new();
	if (opts->pull && opts->pull->nr) {
		d.pull = ignore_new();
		for (size_t i = 0; i < opts->pull->nr; i++)
			ignore_add_pattern(d.pull, opts->pull->v[i]);
	}
	d.seen = xcalloc(base->nr ? base->nr : 1, 1);
	d.list = &l;
	if (fs_mkdir_p(opts->dest, 0755, err) < 0)
		goto out;
	d.dest_fd = open(opts->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d.dest_fd < 0) {
		strbuf_addf(err, "cannot open '%s': %s", opts->dest,
			    strerror(errno));
		goto out;
	}
	if (list_tree(sb, "", "while listing the workspace", NULL, &l, err) <
		    0 ||
	    diff_dir(&d, "", 0, l.nr) < 0)
		goto out;
	for (size_t i = 0; i < base->nr; i++) {
		const struct ws_entry *e = &base->entries[i];
		if (!d.seen[i] && e->type != WS_DIR &&
		    out->nr >= WS_MAX_CHANGES) {
			out->truncated = true;
			break;
		}
		if (!d.seen[i] && e->type != WS_DIR) {
			struct ws_change *ch =
				ws_changes_add(out, e->path, 'D', e->type);
			ws_change_set_base(ch, e);
			memcpy(ch->sha256, ch->base_sha256, 32);
		}
	}
	if (d.nr_wants && fetch_changes(&d) < 0)
		goto out;
	ws_changes_sort(out);
	ret = 0;
out:
	if (d.dest_fd >= 0)
		close(d.dest_fd);
	free(d.seen);
	free(d.wants);
	ignore_free(d.secrets);
	ignore_free(d.gitignore);
	ignore_free(d.pull);
	rlist_release(&l);
	return ret;
}

/* ---- create, destroy ---- */

static void sandbox_free(struct sandbox *sb)
{
	if (!sb)
		return;
	http_client_free(sb->api);
	http_client_free(sb->envd);
	http_client_free(sb->stream);
	strvec_clear(&sb->api_hdrs);
	free(sb->id);
	free(sb->token);
	free(sb->envd_version);
	free(sb->envd_url);
	conf_release(&sb->conf);
	free(sb);
}

static int wait_health(struct sandbox *sb, struct strbuf *err)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response res;
	struct strvec h = STRVEC_INIT;
	struct strbuf url = STRBUF_INIT, herr = STRBUF_INIT;
	int64_t end = time_mono_ms() + sb->conf.health_timeout_ms;
	int64_t delay = 50;
	int ret = -1;

	http_response_init(&res);
	envd_headers(sb, NULL, NULL, &h);
	strbuf_addf(&url, "%s/health", sb->envd_url);
	req.method = "GET";
	req.url = url.buf;
	req.headers = h.v;
	req.no_retry = true;
	req.timeout_ms = sb->conf.http.timeout_ms < 10000
				 ? sb->conf.http.timeout_ms
				 : 10000;
	for (;;) {
		strbuf_reset(&herr);
		if (http_do(sb->envd, &req, &res, &herr) == 0) {
			ret = 0;
			break;
		}
		if (time_mono_ms() + delay > end) {
			strbuf_addf(err,
				    "sandbox %s: envd did not become "
				    "healthy within %" PRId64 " ms "
				    "(RUNNER_E2B_HEALTH_TIMEOUT): %s",
				    sb->id, sb->conf.health_timeout_ms,
				    herr.buf);
			break;
		}
		time_sleep_ms(delay);
		if (delay < 1000)
			delay *= 2;
	}
	strvec_clear(&h);
	strbuf_release(&url);
	strbuf_release(&herr);
	http_response_release(&res);
	return ret;
}

static char *create_body(const struct sandbox_config *cfg, int64_t ttl_s)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *md;
	char attempt[16], *out;

	cJSON_AddStringToObject(j, "templateID",
				cfg->template_id && *cfg->template_id
					? cfg->template_id
					: "base");
	cJSON_AddNumberToObject(j, "timeout", (double)ttl_s);
	cJSON_AddBoolToObject(j, "secure", true);
	cJSON_AddBoolToObject(j, "allow_internet_access", cfg->network);
	cJSON_AddBoolToObject(j, "autoPause", false);
	md = cJSON_AddObjectToObject(j, "metadata");
	cJSON_AddStringToObject(md, "runner_run",
				cfg->run_id ? cfg->run_id : "");
	cJSON_AddStringToObject(md, "runner_task",
				cfg->task_id ? cfg->task_id : "");
	snprintf(attempt, sizeof(attempt), "%d", cfg->attempt);
	cJSON_AddStringToObject(md, "runner_attempt", attempt);
	out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return out;
}

static int e2b_create(const struct sandbox_config *cfg, struct sandbox **out,
		      struct strbuf *err)
{
	struct sandbox *sb = xcalloc(1, sizeof(*sb));
	struct http_response res;
	cJSON *j = NULL;
	char *body = NULL;
	const char *id, *token, *version, *domain;
	int64_t ttl_ms, t0;
	int ret = -1;

	*out = NULL;
	http_response_init(&res);
	if (conf_load(&sb->conf, err) < 0)
		goto out;
	sb->api = http_client_new(&sb->conf.http);
	sb->envd = http_client_new(&sb->conf.http);
	sb->stream = http_client_new(&sb->conf.http);
	api_headers(&sb->conf, &sb->api_hdrs);

	ttl_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms + sb->conf.ttl_margin_ms
				     : sb->conf.max_ttl_ms;
	if (ttl_ms > sb->conf.max_ttl_ms)
		ttl_ms = sb->conf.max_ttl_ms;
	body = create_body(cfg, (ttl_ms + 999) / 1000);
	t0 = time_mono_ms();
	if (api_call(&sb->conf, sb->api, &sb->api_hdrs, "POST", "/sandboxes",
		     body, &res, err) < 0)
		goto out;
	j = cJSON_ParseWithLength(res.body.buf, res.body.len);
	id = json_str(j, "sandboxID");
	token = json_str(j, "envdAccessToken");
	version = json_str(j, "envdVersion");
	domain = json_str(j, "domain");
	if (!id || !safe_token(id, 128, "-_")) {
		strbuf_addstr(err, "E2B API: POST /sandboxes answered without "
				   "a valid sandboxID");
		goto out;
	}
	sb->id = xstrdup(id);
	sb->created = t0;
	sb->ttl_end = t0 + (ttl_ms + 999) / 1000 * 1000;
	if (cfg->on_created &&
	    cfg->on_created(cfg->on_created_ctx, cfg, sb->id, err) < 0)
		goto fail_kill;
	if (token && !safe_token(token, 1024, "-_.~+/=:")) {
		strbuf_addf(err,
			    "sandbox %s: the envd access token has "
			    "unexpected characters",
			    sb->id);
		goto fail_kill;
	}
	if (domain && !safe_token(domain, 253, "-.")) {
		strbuf_addf(err, "sandbox %s: invalid domain in the answer",
			    sb->id);
		goto fail_kill;
	}
	sb->token = token ? xstrdup(token) : NULL;
	sb->envd_version = xstrdup(version ? version : "0.0.0");
	sb->octet_upload = version_at_least(sb->envd_version, 0, 5, 7);
	if (sb->conf.sandbox_url)
		sb->envd_url = xstrdup(sb->conf.sandbox_url);
	else
		sb->envd_url = xstrfmt("https://" ENVD_PORT "-%s.%s", sb->id,
				       domain ? domain : sb->conf.domain);
	if (wait_health(sb, err) < 0)
		goto fail_kill;
	*out = sb;
	sb = NULL;
	ret = 0;
	goto out;
fail_kill : {
	struct strbuf e = STRBUF_INIT;
	if (api_kill(&sb->conf, sb->api, &sb->api_hdrs, sb->id, &e) < 0)
		strbuf_addf(err, "; %s", e.buf);
	strbuf_release(&e);
}
out:
	cJSON_Delete(j);
	free(body);
	http_response_release(&res);
	sandbox_free(sb);
	return ret;
}

static int e2b_destroy(struct sandbox *sb, struct strbuf *err)
{
	int ret = 0;

	if (!sb)
		return 0;
	if (sb->id &&
	    api_kill(&sb->conf, sb->api, &sb->api_hdrs, sb->id, err) < 0) {
		int64_t left = (sb->ttl_end - time_mono_ms()) / 1000;
		if (left > 0)
			strbuf_addf(err,
				    " (it ends by itself within %" PRId64
				    " s)",
				    left);
		ret = -1;
	}
	sandbox_free(sb);
	return ret;
}

/*
 * The key must be set, and the API must take it: one cheap list call, so
 * that a wrong key or an unreachable API stops the run before it starts.
 */
static int e2b_check(const struct sandbox_config *cfg, struct strbuf *err)
{
	struct e2b_conf c;
	struct http_client *h;
	struct strvec hdrs = STRVEC_INIT;
	struct http_response res;
	struct strbuf e = STRBUF_INIT;
	int ret = 0;

	(void)cfg;
	if (conf_load(&c, err) < 0)
		return -1;
	h = http_client_new(&c.http);
	api_headers(&c, &hdrs);
	http_response_init(&res);
	if (api_call(&c, h, &hdrs, "GET", "/v2/sandboxes?limit=1", NULL, &res,
		     &e) < 0) {
		if (res.fail == HTTP_FAIL_AUTH)
			strbuf_add(err, e.buf, e.len);
		else
			strbuf_addf(err,
				    "cannot use the E2B API at %s "
				    "(E2B_API_URL): %s",
				    c.api_url, e.buf);
		ret = -1;
	}
	http_response_release(&res);
	strbuf_release(&e);
	strvec_clear(&hdrs);
	http_client_free(h);
	conf_release(&c);
	return ret;
}

static const char *e2b_id(const struct sandbox *sb)
{
	return sb->id;
}

const struct sandbox_backend sandbox_e2b = {
	.name = "e2b",
	.check = e2b_check,
	.create = e2b_create,
	.id = e2b_id,
	.put_tree = e2b_put_tree,
	.exec = e2b_exec,
	.pull_changes = e2b_pull_changes,
	.destroy = e2b_destroy,
};

/* ---- gc helpers ---- */

int sandbox_e2b_list(const char *filter, struct strvec *ids,
		     struct strvec *run_ids, struct strbuf *err)
{
	struct e2b_conf conf;
	struct http_client *c = NULL;
	struct strvec hdrs = STRVEC_INIT;
	struct http_response res;
	char *token = NULL;
	int ret = -1;

	http_response_init(&res);
	if (conf_load(&conf, err) < 0)
		return -1;
	c = http_client_new(&conf.http);
	api_headers(&conf, &hdrs);
	for (int page = 0; page < 10000; page++) {
		struct strbuf path = STRBUF_INIT;
		cJSON *j, *it;

		strbuf_addstr(&path, "/v2/sandboxes?state=running,paused"
				     "&limit=100");
		if (filter && *filter) {
			strbuf_addstr(&path, "&metadata=");
			http_urlencode(&path, filter);
		}
		if (token) {
			strbuf_addstr(&path, "&nextToken=");
			http_urlencode(&path, token);
		}
		if (api_call(&conf, c, &hdrs, "GET", path.buf, NULL, &res,
			     err) < 0) {
			strbuf_release(&path);
			goto out;
		}
		strbuf_release(&path);
		j = cJSON_ParseWithLength(res.body.buf, res.body.len);
		if (!cJSON_IsArray(j)) {
			cJSON_Delete(j);
			strbuf_addstr(err, "E2B API: GET /v2/sandboxes did "
					   "not answer with a list");
			goto out;
		}
		cJSON_ArrayForEach(it, j)
		{
			const char *id = json_str(it, "sandboxID");
			const char *run =
				json_str(cJSON_GetObjectItemCaseSensitive(
						 it, "metadata"),
					 "runner_run");
			if (!id || !safe_token(id, 128, "-_"))
				continue;
			strvec_push(ids, id);
			if (run_ids)
				strvec_push(run_ids, run ? run : "");
		}
		cJSON_Delete(j);
		free(token);
		token = res.next_token ? xstrdup(res.next_token) : NULL;
		if (!token)
			break;
	}
	ret = 0;
out:
	free(token);
	http_response_release(&res);
	http_client_free(c);
	strvec_clear(&hdrs);
	conf_release(&conf);
	return ret;
}

int sandbox_e2b_kill(const char *sandbox_id, struct strbuf *err)
{
	struct e2b_conf conf;
	struct http_client *c;
	struct strvec hdrs = STRVEC_INIT;
	int ret;

	if (conf_load(&conf, err) < 0)
		return -1;
	c = http_client_new(&conf.http);
	api_headers(&conf, &hdrs);
	ret = api_kill(&conf, c, &hdrs, sandbox_id, err);
	http_client_free(c);
	strvec_clear(&hdrs);
	conf_release(&conf);
	return ret;
}
