#include "runner.h"
#include "e2b-api.h"
#include "e2b-internal.h"
#include "http.h"
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

int e2b_api_call(struct e2b_api *api, const char *method, const char *path,
		 const char *body, struct http_response *res,
		 struct strbuf *err)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct strbuf url = STRBUF_INIT, herr = STRBUF_INIT;
	int ret;

	strbuf_addf(&url, "%s%s", api->conf->api_url, path);
	req.method = method;
	req.url = url.buf;
	req.headers = api->hdrs.v;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.idempotent = strcmp(method, "POST") != 0;
	ret = http_do(api->http, &req, res, &herr);
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

int e2b_api_list(struct e2b_api *api, const char *filter, struct strvec *ids,
		 struct strvec *run_ids, struct strbuf *err)
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
		if (filter && *filter) {
			strbuf_addstr(&path, "&metadata=");
			http_urlencode(&path, filter);
		}
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
	char *body = create_body(cfg, (ttl_ms + 999) / 1000);
	const char *id;
	int64_t t0 = time_mono_ms();
	int ret = -1;

	*domain = NULL;
	http_response_init(&res);
	if (e2b_api_call(sb->api, "POST", "/sandboxes", body, &res, err) < 0)
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
		strbuf_addf(err, "sandbox %s is gone", sb->id);
		ret = -1;
	}
	strbuf_release(&path);
	strbuf_release(&e);
	http_response_release(&res);
	return ret;
}
