#include "runner.h"
#include "e2b-api.h"
#include "e2b-config.h"
#include "e2b-internal.h"
#include "http.h"
#include "netproxy.h"
#include "plan.h"
#include "e2b-config.h"
#include "sandbox.h"
#include "timeutil.h"

#include <cJSON.h>

void e2b_api_init(struct e2b_api *api, const struct e2b_conf *conf)
{
	api->conf = conf;
	api->http = http_client_new(&conf->http);
	strvec_init(&api->hdrs);
	strvec_pushf(&api->hdrs, "X-API-Key: %s", conf->api_key);
	strvec_push(&api->hdrs, "Content-Type: application/json");
	strvec_push(&api->hdrs, "Accept: application/json");
}

void e2b_api_release(struct e2b_api *api)
{
	http_client_free(api->http);
	api->http = NULL;
	strvec_clear(&api->hdrs);
}

static const char *json_str(const cJSON *obj, const char *key)
{
	return cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* Letters, digits and the bytes in extra; 1 to max of them. */
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

static bool id_ok(const char *id)
{
	return id && safe_token(id, 128, "-_");
}

/* The request for method on path (url is filled and must outlive req). */
static void api_request(const struct e2b_api *api, const char *method,
			const char *path, const char *body, struct strbuf *url,
			struct http_request *req)
{
	strbuf_addf(url, "%s%s", api->conf->api_url, path);
	req->method = method;
	req->url = url->buf;
	req->headers = api->hdrs.v;
	req->body = body;
	req->body_len = body ? strlen(body) : 0;
	req->idempotent = strcmp(method, "POST") != 0;
}

/* The message for a failed call (herr: http.c's description). */
static void api_fail(const char *method, const char *path,
		     const struct http_response *res, const char *herr,
		     struct strbuf *err)
{
	if (res->fail == HTTP_FAIL_AUTH)
		strbuf_addf(err,
			    "E2B rejected the API key (HTTP 401 on %s "
			    "%.*s): check E2B_API_KEY",
			    method, (int)strcspn(path, "?"), path);
	else
		strbuf_addf(err, "E2B API: %s%s", herr,
			    res->fail == HTTP_FAIL_TIMEOUT
				    ? "; RUNNER_E2B_REQUEST_TIMEOUT sets the "
				      "limit"
				    : "");
}

int e2b_api_call(struct e2b_api *api, const char *method, const char *path,
		 const char *body, struct http_response *res,
		 struct strbuf *err)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct strbuf url = STRBUF_INIT, herr = STRBUF_INIT;
	int ret;

	api_request(api, method, path, body, &url, &req);
	ret = http_do(api->http, &req, res, &herr);
	if (ret < 0)
		api_fail(method, path, res, herr.buf, err);
	strbuf_release(&url);
	strbuf_release(&herr);
	return ret;
}

int e2b_api_kill(struct e2b_api *api, const char *id, struct strbuf *err)
{
	struct http_response res;
	struct strbuf path = STRBUF_INIT, e = STRBUF_INIT;
	int ret = 0;

	http_response_init(&res);
	strbuf_addstr(&path, "/sandboxes/");
	http_urlencode(&path, id);
	if (e2b_api_call(api, "DELETE", path.buf, NULL, &res, &e) < 0 &&
	    res.status != 404) {
		strbuf_addf(err, "cannot kill E2B sandbox %s: %s", id, e.buf);
		ret = -1;
	}
	strbuf_release(&path);
	strbuf_release(&e);
	http_response_release(&res);
	return ret;
}

/* One page of GET /v2/sandboxes into ids and run_ids. */
static int list_page(const struct http_response *res, struct strvec *ids,
		     struct strvec *run_ids, struct strbuf *err)
{
	cJSON *j = cJSON_ParseWithLength(res->body.buf, res->body.len), *it;

	if (!cJSON_IsArray(j)) {
		cJSON_Delete(j);
		strbuf_addstr(err, "E2B API: GET /v2/sandboxes did not answer "
				   "with a list");
		return -1;
	}
	cJSON_ArrayForEach(it, j)
	{
		const char *id = json_str(it, "sandboxID");
		const char *run = json_str(
			cJSON_GetObjectItemCaseSensitive(it, "metadata"),
			"runner_run");
		if (!id_ok(id))
			continue;
		strvec_push(ids, id);
		if (run_ids)
			strvec_push(run_ids, run ? run : "");
	}
	cJSON_Delete(j);
	return 0;
}

/*
 * "&metadata=..." for the pairs kv (key, value, key, value, ...) as the
 * API decodes it (infra's utils.ParseMetadata, which the official SDK
 * encodes for): the parameter, once decoded with the URL, is unescaped
 * again as a whole, split at '&' and '=', and each key and value is
 * unescaped once more. So each is percent-encoded twice, the pairs are
 * joined, and the whole is encoded once more.
 */
static void add_metadata_filter(struct strbuf *path, const struct strvec *kv)
{
	struct strbuf q = STRBUF_INIT, once = STRBUF_INIT;

	for (size_t i = 0; i + 1 < kv->nr; i += 2) {
		if (i)
			strbuf_addch(&q, '&');
		strbuf_reset(&once);
		http_urlencode(&once, kv->v[i]);
		http_urlencode(&q, once.buf);
		strbuf_addch(&q, '=');
		strbuf_reset(&once);
		http_urlencode(&once, kv->v[i + 1]);
		http_urlencode(&q, once.buf);
	}
	strbuf_addstr(path, "&metadata=");
	http_urlencode(path, q.buf);
	strbuf_release(&q);
	strbuf_release(&once);
}

/* e2b_api_list over pairs (an empty kv lists all). */
static int list_kv(struct e2b_api *api, const struct strvec *kv,
		   struct strvec *ids, struct strvec *run_ids,
		   struct strbuf *err)
{
	struct http_response res;
	struct strbuf path = STRBUF_INIT;
	char *token = NULL;
	int ret = -1;

	http_response_init(&res);
	for (int page = 0; page < 10000; page++) {
		strbuf_reset(&path);
		strbuf_addstr(&path, "/v2/sandboxes?state=running,paused"
				     "&limit=100");
		if (kv->nr)
			add_metadata_filter(&path, kv);
		if (token) {
			strbuf_addstr(&path, "&nextToken=");
			http_urlencode(&path, token);
		}
		if (e2b_api_call(api, "GET", path.buf, NULL, &res, err) < 0 ||
		    list_page(&res, ids, run_ids, err) < 0)
			goto out;
		free(token);
		token = res.next_token ? xstrdup(res.next_token) : NULL;
		if (!token)
			break;
	}
	ret = 0;
out:
	free(token);
	strbuf_release(&path);
	http_response_release(&res);
	return ret;
}

int e2b_api_list(struct e2b_api *api, const char *filter, struct strvec *ids,
		 struct strvec *run_ids, struct strbuf *err)
{
	struct strvec kv = STRVEC_INIT;
	const char *p = filter ? filter : "";
	int ret;

	while (*p) {
		size_t n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);
		if (n) {
			size_t k = eq ? (size_t)(eq - p) : n;
			strvec_push_nodup(&kv, xstrndup(p, k));
			strvec_push_nodup(&kv, eq ? xstrndup(eq + 1, n - k - 1)
						  : xstrdup(""));
		}
		p += n + (p[n] == '&');
	}
	ret = list_kv(api, &kv, ids, run_ids, err);
	strvec_clear(&kv);
	return ret;
}

/* The metadata that names cfg's attempt, as key, value pairs. */
static void attempt_metadata(const struct sandbox_config *cfg,
			     struct strvec *kv)
{
	strvec_push(kv, "runner_run");
	strvec_push(kv, cfg->run_id ? cfg->run_id : "");
	strvec_push(kv, "runner_task");
	strvec_push(kv, cfg->task_id ? cfg->task_id : "");
	strvec_push(kv, "runner_attempt");
	strvec_pushf(kv, "%d", cfg->attempt);
}

/*
 * network: the list as allowOut, with all traffic denied besides (the
 * rules are in e2b-config.h). -1 with a message for an entry E2B cannot
 * express, which the backend's check and validate refuse earlier.
 */
static int add_network(cJSON *j, const struct netproxy_allowlist *al,
		       struct strbuf *err)
{
	struct strbuf e = STRBUF_INIT, why = STRBUF_INIT;
	struct strvec seen = STRVEC_INIT;
	cJSON *net, *allow;

	net = cJSON_AddObjectToObject(j, "network");
	allow = cJSON_AddArrayToObject(net, "allowOut");
	for (size_t i = 0; i < al->nr; i++) {
		if (e2b_conf_allow_out(&al->rules[i], &e, &why) < 0) {
			strbuf_addf(err, "backend.network: %s", why.buf);
			strbuf_release(&why);
			strbuf_release(&e);
			strvec_clear(&seen);
			return -1;
		}
		/* 1.1.1.1:53 and 1.1.1.1:853 are one entry there. */
		if (strvec_find(&seen, e.buf) < 0) {
			strvec_push(&seen, e.buf);
			cJSON_AddItemToArray(allow, cJSON_CreateString(e.buf));
		}
		strbuf_reset(&e);
	}
	cJSON_AddItemToArray(cJSON_AddArrayToObject(net, "denyOut"),
			     cJSON_CreateString("0.0.0.0/0"));
	strbuf_release(&e);
	strvec_clear(&seen);
	return 0;
}

static char *create_body(const struct sandbox_config *cfg, int64_t ttl_s,
			 struct strbuf *err)
{
	const struct sandbox_e2b_config *ec = sandbox_e2b_config_of(cfg);
	cJSON *j = cJSON_CreateObject();
	cJSON *md;
	struct strvec kv = STRVEC_INIT;
	bool list = ec->network_allow.nr > 0;
	char *out;

	cJSON_AddStringToObject(j, "templateID",
				ec->template_id && *ec->template_id
					? ec->template_id
					: "base");
	cJSON_AddNumberToObject(j, "timeout", (double)ttl_s);
	cJSON_AddBoolToObject(j, "secure", true);
	cJSON_AddBoolToObject(j, "allow_internet_access",
			      ec->network && !list);
	if (list && add_network(j, &ec->network_allow, err) < 0) {
		cJSON_Delete(j);
		return NULL;
	}
	cJSON_AddBoolToObject(j, "autoPause", false);
	md = cJSON_AddObjectToObject(j, "metadata");
	attempt_metadata(cfg, &kv);
	for (size_t i = 0; i + 1 < kv.nr; i += 2)
		cJSON_AddStringToObject(md, kv.v[i], kv.v[i + 1]);
	strvec_clear(&kv);
	out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return out;
}

/*
 * A create that failed after it reached E2B (a 5xx, a timeout) may still
 * have made a sandbox, which would live until its TTL: find those of
 * cfg's attempt by their metadata and kill them, all but keep (the one
 * create finally answered with, or NULL). Over a connection of its own,
 * as the create's may be waiting to retry. 0, or -1 with a message.
 */
static int sweep_attempt(const struct sandbox *sb,
			 const struct sandbox_config *cfg, const char *keep,
			 struct strbuf *err)
{
	struct e2b_api api;
	struct strvec kv = STRVEC_INIT, ids = STRVEC_INIT;
	int ret = 0;

	e2b_api_init(&api, &sb->conf);
	attempt_metadata(cfg, &kv);
	if (list_kv(&api, &kv, &ids, NULL, err) < 0)
		ret = -1;
	for (size_t i = 0; i < ids.nr; i++)
		if ((!keep || strcmp(keep, ids.v[i])) &&
		    e2b_api_kill(&api, ids.v[i], err) < 0)
			ret = -1;
	strvec_clear(&kv);
	strvec_clear(&ids);
	e2b_api_release(&api);
	return ret;
}

/* Could this failed create have made a sandbox? */
static bool may_have_made(const struct http_response *res)
{
	return res->status >= 500 || res->fail == HTTP_FAIL_TIMEOUT ||
	       res->fail == HTTP_FAIL_TRANSPORT;
}

/*
 * POST /sandboxes with http.c's retries (and their Retry-After), but
 * between two tries, and after the last, the sandboxes a 5xx try may
 * have made are swept (sweep_attempt). 0 with res holding the answer,
 * or -1 with a message.
 */
static int create_call(struct sandbox *sb, const struct sandbox_config *cfg,
		       const char *body, struct http_response *res,
		       struct strbuf *err)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct strbuf url = STRBUF_INIT, herr = STRBUF_INIT;
	struct strbuf e = STRBUF_INIT;
	int r, seen = 0;
	bool swept = false;

	api_request(sb->api, "POST", "/sandboxes", body, &url, &req);
	r = http_start(sb->api->http, &req, res, &herr);
	while (r == 0) {
		r = http_poll(sb->api->http, 100, &herr);
		if (r != 1)
			break;
		if (res->tries > seen && res->status >= 500) {
			/* Waiting to retry after a 5xx: sweep now. */
			sweep_attempt(sb, cfg, NULL, &e);
			strbuf_reset(&e);
			swept = true;
		}
		seen = res->tries;
		r = 0;
	}
	if (r < 0) {
		api_fail("POST", "/sandboxes", res, herr.buf, err);
		if (may_have_made(res) && sweep_attempt(sb, cfg, NULL, &e) < 0)
			strbuf_addf(err,
				    "; a sandbox it may have made could not "
				    "be looked for (`runner gc` finds it by "
				    "its metadata): %s",
				    e.buf);
	}
	strbuf_release(&url);
	strbuf_release(&herr);
	strbuf_release(&e);
	return r < 0 ? -1 : swept ? 1 : 0;
}

/* The answer's token and domain, checked; sb->id is set already. */
static int take_answer(struct sandbox *sb, const cJSON *j, char **domain,
		       struct strbuf *err)
{
	const char *token = json_str(j, "envdAccessToken");
	const char *version = json_str(j, "envdVersion");
	const char *dom = json_str(j, "domain");

	if (token && !safe_token(token, 1024, "-_.~+/=:")) {
		strbuf_addf(err,
			    "sandbox %s: the envd access token has "
			    "unexpected characters",
			    sb->id);
		return -1;
	}
	if (dom && !safe_token(dom, 253, "-.")) {
		strbuf_addf(err, "sandbox %s: invalid domain in the answer",
			    sb->id);
		return -1;
	}
	sb->token = token ? xstrdup(token) : NULL;
	sb->envd_version = xstrdup(version ? version : "0.0.0");
	*domain = dom ? xstrdup(dom) : NULL;
	return 0;
}

int e2b_api_create(struct sandbox *sb, const struct sandbox_config *cfg,
		   int64_t ttl_ms, char **domain, struct strbuf *err)
{
	struct http_response res;
	cJSON *j = NULL;
	char *body = create_body(cfg, (ttl_ms + 999) / 1000, err);
	const char *id;
	int64_t t0 = time_mono_ms();
	int ret = -1, swept;

	*domain = NULL;
	http_response_init(&res);
	if (!body)
		goto out;
	swept = create_call(sb, cfg, body, &res, err);
	if (swept < 0)
		goto out;
	j = cJSON_ParseWithLength(res.body.buf, res.body.len);
	id = json_str(j, "sandboxID");
	if (!id_ok(id)) {
		strbuf_addstr(err, "E2B API: POST /sandboxes answered without "
				   "a valid sandboxID");
		goto out;
	}
	sb->id = xstrdup(id);
	sb->created = t0;
	sb->ttl_end = t0 + (ttl_ms + 999) / 1000 * 1000;
	/*
	 * What an earlier 5xx try made may show in the list only now: one
	 * more sweep, sparing this one (a failure is no reason to fail).
	 */
	if (swept) {
		struct strbuf e = STRBUF_INIT;
		sweep_attempt(sb, cfg, sb->id, &e);
		strbuf_release(&e);
	}
	if (cfg->on_created &&
	    cfg->on_created(cfg->on_created_ctx, cfg, sb->id, err) < 0)
		goto out;
	ret = take_answer(sb, j, domain, err);
out:
	cJSON_Delete(j);
	free(body);
	http_response_release(&res);
	return ret;
}

int e2b_api_alive(struct sandbox *sb, struct strbuf *err)
{
	struct http_response res;
	struct strbuf path = STRBUF_INIT;
	int ret;

	http_response_init(&res);
	strbuf_addstr(&path, "/sandboxes/");
	http_urlencode(&path, sb->id);
	if (e2b_api_call(sb->api, "GET", path.buf, NULL, &res, err) == 0)
		ret = 1;
	else
		ret = res.status == 404 ? 0 : -1;
	if (!ret)
		sb->dead = true;
	strbuf_release(&path);
	http_response_release(&res);
	return ret;
}

int e2b_api_extend(struct sandbox *sb, int64_t need_ms, struct strbuf *err)
{
	int64_t want = need_ms + sb->conf.ttl_margin_ms;
	int64_t now = time_mono_ms(), secs;
	struct http_response res;
	struct strbuf path = STRBUF_INIT, e = STRBUF_INIT;
	char body[64];
	int ret = 0;

	if (want > sb->conf.max_ttl_ms)
		want = sb->conf.max_ttl_ms;
	/*
	 * Past its lifetime E2B cuts what we ask (or answers 400 "Max
	 * instance length exceeded"): asking is harmless, and our idea of
	 * the lifetime may be shorter than the account's.
	 */
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
	if (e2b_api_call(sb->api, "POST", path.buf, body, &res, &e) == 0) {
		sb->ttl_end = now + secs * 1000;
	} else if (res.status == 404) {
		sb->dead = true;
		e2b_api_gone(sb, NULL, err);
		ret = -1;
	}
	strbuf_release(&path);
	strbuf_release(&e);
	http_response_release(&res);
	return ret;
}

void e2b_api_gone(const struct sandbox *sb, const char *what,
		  struct strbuf *err)
{
	int64_t age = time_mono_ms() - sb->created;
	char life[32];

	/*
	 * E2B ends it at created + lifetime by its own clock, which started
	 * after ours: one that is gone so late was ended for its age.
	 */
	if (sb->lifetime_ms > 0 && age + 1000 >= sb->lifetime_ms) {
		format_duration(sb->lifetime_ms, life, sizeof(life));
		strbuf_addf(err,
			    "e2b ended the sandbox at its maximum lifetime "
			    "(%s)%s%s (sandbox %s, %" PRId64
			    " s old; RUNNER_E2B_MAX_LIFETIME or "
			    "backend.max_lifetime says how long E2B lets "
			    "one live)",
			    life, what ? " " : "", what ? what : "", sb->id,
			    age / 1000);
	} else if (what) {
		strbuf_addf(err,
			    "sandbox %s died %s (%" PRId64 " s after it was "
			    "created)",
			    sb->id, what, age / 1000);
	} else {
		strbuf_addf(err, "sandbox %s is gone", sb->id);
	}
}
