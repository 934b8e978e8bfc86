#include "runner.h"
#include "e2b-envd.h"
#include "e2b-internal.h"
#include "base64.h"
#include "fs.h"
#include "http.h"
#include "timeutil.h"

#include <fcntl.h>

#define ENVD_PORT "49983"

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

void e2b_envd_init(struct sandbox *sb, const char *domain)
{
	sb->octet_upload = version_at_least(sb->envd_version, 0, 5, 7);
	if (sb->conf.sandbox_url)
		sb->envd_url = xstrdup(sb->conf.sandbox_url);
	else
		sb->envd_url = xstrfmt("https://" ENVD_PORT "-%s.%s", sb->id,
				       domain ? domain : sb->conf.domain);
}

void e2b_envd_headers(const struct sandbox *sb, const char *user,
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

void e2b_envd_fail(const struct sandbox *sb, const struct http_response *res,
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

int e2b_envd_unary(struct sandbox *sb, const char *method, const char *body,
		   int max_retries, struct http_response *res,
		   struct strbuf *err)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct strvec h = STRVEC_INIT;
	struct strbuf url = STRBUF_INIT, herr = STRBUF_INIT;
	int ret;

	e2b_envd_headers(sb, "root", "application/json", &h);
	strbuf_addf(&url, "%s/%s", sb->envd_url, method);
	req.method = "POST";
	req.url = url.buf;
	req.headers = h.v;
	req.body = body;
	req.body_len = strlen(body);
	req.max_retries = max_retries;
	ret = http_do(sb->envd, &req, res, &herr);
	if (ret < 0)
		e2b_envd_fail(sb, res, herr.buf, err);
	strvec_clear(&h);
	strbuf_release(&url);
	strbuf_release(&herr);
	return ret;
}

static void files_url(const struct sandbox *sb, const char *path,
		      const char *user, struct strbuf *url)
{
	strbuf_addf(url, "%s/files?path=", sb->envd_url);
	http_urlencode(url, path);
	strbuf_addstr(url, "&username=");
	http_urlencode(url, user);
}

int e2b_envd_upload(struct sandbox *sb, int fd, uint64_t size,
		    const char *path, const char *user, struct strbuf *err)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response res;
	struct strvec h = STRVEC_INIT;
	struct strbuf url = STRBUF_INIT, herr = STRBUF_INIT;
	int ret;

	http_response_init(&res);
	e2b_envd_headers(sb, NULL,
			 sb->octet_upload ? "application/octet-stream" : NULL,
			 &h);
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
		e2b_envd_fail(sb, &res, herr.buf, err);
	strvec_clear(&h);
	strbuf_release(&url);
	strbuf_release(&herr);
	http_response_release(&res);
	return ret;
}

int e2b_envd_tmpfile(struct strbuf *err)
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

int e2b_envd_upload_buf(struct sandbox *sb, const void *data, size_t len,
			const char *path, struct strbuf *err)
{
	int fd = e2b_envd_tmpfile(err), ret;

	if (fd < 0)
		return -1;
	if (fs_write_all(fd, data, len) < 0) {
		strbuf_addf(err, "cannot write a temporary file: %s",
			    strerror(errno));
		close(fd);
		return -1;
	}
	ret = e2b_envd_upload(sb, fd, len, path, "root", err);
	close(fd);
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

int e2b_envd_download(struct sandbox *sb, const char *path, int fd,
		      uint64_t max, bool *too_big, struct strbuf *err)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response res;
	struct strvec h = STRVEC_INIT;
	struct strbuf url = STRBUF_INIT, herr = STRBUF_INIT;
	struct download dl = { .fd = fd, .max = max };
	int ret;

	http_response_init(&res);
	e2b_envd_headers(sb, NULL, NULL, &h);
	files_url(sb, path, "root", &url);
	req.method = "GET";
	req.url = url.buf;
	req.headers = h.v;
	req.timeout_ms = sb->conf.transfer_timeout_ms;
	req.on_data = download_cb;
	req.ctx = &dl;
	req.idempotent = true;
	req.what = "download (GET /files)";
	ret = http_do(sb->envd, &req, &res, &herr);
	*too_big = dl.too_big;
	if (ret < 0 && !dl.too_big)
		e2b_envd_fail(sb, &res, herr.buf, err);
	strvec_clear(&h);
	strbuf_release(&url);
	strbuf_release(&herr);
	http_response_release(&res);
	return ret;
}

int e2b_envd_read(struct sandbox *sb, const char *path, struct strbuf *out,
		  size_t max, struct strbuf *err)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response res;
	struct strvec h = STRVEC_INIT;
	struct strbuf url = STRBUF_INIT, herr = STRBUF_INIT;
	int ret = 0;

	http_response_init(&res);
	e2b_envd_headers(sb, NULL, NULL, &h);
	files_url(sb, path, "root", &url);
	req.method = "GET";
	req.url = url.buf;
	req.headers = h.v;
	req.max_body = max;
	req.idempotent = true;
	req.what = "download (GET /files)";
	if (http_do(sb->envd, &req, &res, &herr) < 0) {
		if (res.status == 404) {
			ret = 1;
		} else {
			e2b_envd_fail(sb, &res, herr.buf, err);
			ret = -1;
		}
	} else {
		strbuf_add(out, res.body.buf, res.body.len);
	}
	strvec_clear(&h);
	strbuf_release(&url);
	strbuf_release(&herr);
	http_response_release(&res);
	return ret;
}

int e2b_envd_wait_health(struct sandbox *sb, struct strbuf *err)
{
	struct http_request req = HTTP_REQUEST_INIT;
	struct http_response res;
	struct strvec h = STRVEC_INIT;
	struct strbuf url = STRBUF_INIT, herr = STRBUF_INIT;
	int64_t end = time_mono_ms() + sb->conf.health_timeout_ms;
	int64_t delay = 50;
	int ret = -1;

	http_response_init(&res);
	e2b_envd_headers(sb, NULL, NULL, &h);
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
