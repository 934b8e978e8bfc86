#include "runner.h"
#include "http.h"
#include "timeutil.h"

#include <ctype.h>
#include <pthread.h>
#include <strings.h>

#include <cJSON.h>
#include <curl/curl.h>

/*
 * Every request goes through a private multi handle, even the blocking
 * ones: http_do() is http_start() plus http_poll() in a loop, so retries,
 * backoff and the idle check have one implementation, and a caller that
 * must keep a clock running while a stream is open (the e2b exec loop)
 * uses the same code with short polls.
 */

struct http_client {
	CURL *easy;
	CURLM *multi;
	struct http_config cfg;
	unsigned int seed;

	/* The request in flight, when active. */
	bool active;
	bool in_multi;
	const struct http_request *req;
	struct http_response *res;
	struct curl_slist *hdrs;
	struct strvec secrets; /* the header values, for sanitizing */
	curl_mime *mime;
	char errbuf[CURL_ERROR_SIZE];
	int64_t retry_at;      /* mono ms of the next try; 0: none */
	int64_t last_activity; /* mono ms of the last byte received */
	uint64_t upload_pos;
	enum http_fail abort_reason;
	bool delivered; /* on_data got body bytes */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die("cannot initialise libcurl");
}

void http_global_init(void)
{
	pthread_once(&global_once, global_init_once);
}

void http_response_init(struct http_response *res)
{
	memset(res, 0, sizeof(*res));
	strbuf_init(&res->body, 0);
}

void http_response_release(struct http_response *res)
{
	strbuf_release(&res->body);
	free(res->next_token);
	res->next_token = NULL;
}

static int64_t or_default(int64_t v, int64_t def)
{
	return v > 0 ? v : def;
}

struct http_client *http_client_new(const struct http_config *cfg)
{
	struct http_client *c = xcalloc(1, sizeof(*c));

	http_global_init();
	if (cfg)
		c->cfg = *cfg;
	c->cfg.connect_timeout_ms =
		or_default(c->cfg.connect_timeout_ms, 10000);
	c->cfg.timeout_ms = or_default(c->cfg.timeout_ms, 60000);
	if (c->cfg.max_retries < 0)
		c->cfg.max_retries = 5;
	c->cfg.retry_base_ms = or_default(c->cfg.retry_base_ms, 1000);
	c->cfg.retry_max_ms = or_default(c->cfg.retry_max_ms, 30000);
	c->cfg.retry_after_max_ms =
		or_default(c->cfg.retry_after_max_ms, 300000);
	c->easy = curl_easy_init();
	c->multi = curl_multi_init();
	if (!c->easy || !c->multi)
		die("cannot initialise libcurl: out of memory");
	c->seed = (unsigned int)time_now_ms() ^ (unsigned int)(uintptr_t)c;
	strvec_init(&c->secrets);
	return c;
}

static void request_cleanup(struct http_client *c)
{
	if (c->in_multi) {
		curl_multi_remove_handle(c->multi, c->easy);
		c->in_multi = false;
	}
	curl_slist_free_all(c->hdrs);
	c->hdrs = NULL;
	curl_mime_free(c->mime);
	c->mime = NULL;
	strvec_clear(&c->secrets);
	c->active = false;
	c->req = NULL;
	c->res = NULL;
	c->retry_at = 0;
}

void http_abort(struct http_client *c)
{
	if (c && c->active)
		request_cleanup(c);
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	http_abort(c);
	curl_multi_cleanup(c->multi);
	curl_easy_cleanup(c->easy);
	free(c);
}

void http_urlencode(struct strbuf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' ||
		    ch == '~') {
			strbuf_addch(out, ch);
		} else {
			strbuf_addch(out, '%');
			strbuf_addch(out, hex[ch >> 4]);
			strbuf_addch(out, hex[ch & 15]);
		}
	}
}

void http_sanitize(struct strbuf *out, const char *text, size_t len,
		   size_t max, const char *const *secrets)
{
	size_t start = out->len;
	size_t i = 0;

	while (i < len) {
		bool hit = false;
		if (out->len - start >= max) {
			strbuf_addstr(out, "...");
			return;
		}
		for (size_t k = 0; secrets && secrets[k]; k++) {
			size_t sl = strlen(secrets[k]);
			if (sl >= 4 && sl <= len - i &&
			    !memcmp(text + i, secrets[k], sl)) {
				strbuf_addstr(out, "***");
				i += sl;
				hit = true;
				break;
			}
		}
		if (hit)
			continue;
		if (text[i] >= 0x20 && text[i] < 0x7f)
			strbuf_addch(out, text[i]);
		else if (text[i] == '\n' || text[i] == '\t' || text[i] == '\r')
			strbuf_addch(out, ' ');
		else
			strbuf_addch(out, '?');
		i++;
	}
}

/* "POST /sandboxes" from the method and URL, without host or query. */
static void describe(struct strbuf *sb, const struct http_request *req)
{
	const char *p = strstr(req->url, "://");
	size_t n;

	if (req->what) {
		strbuf_addstr(sb, req->what);
		return;
	}
	p = p ? strchr(p + 3, '/') : req->url;
	if (!p)
		p = "/";
	n = strcspn(p, "?#");
	strbuf_addf(sb, "%s %.*s", req->method, (int)n, p);
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_client *c = ud;
	size_t n = size * nmemb;
	long status = 0;

	c->last_activity = time_mono_ms();
	c->res->bytes_in += n;
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		if (c->req->on_data) {
			c->delivered = true;
			if (c->req->on_data(c->req->ctx, ptr, n)) {
				c->abort_reason = HTTP_FAIL_ABORTED;
				return 0;
			}
			return n;
		}
		if (strbuf_add(&c->res->body, ptr, n) < 0) {
			c->abort_reason = HTTP_FAIL_TOO_BIG;
			return 0;
		}
		return n;
	}
	/* An error body is only read for its message: keep what fits. */
	if (c->res->body.len < c->res->body.cap) {
		size_t room = c->res->body.cap - c->res->body.len;
		strbuf_add(&c->res->body, ptr, n < room ? n : room);
	}
	return n;
}

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_client *c = ud;
	size_t n = size * nmemb;
	static const char next[] = "x-next-token:";

	c->last_activity = time_mono_ms();
	if (n >= 5 && !strncmp(ptr, "HTTP/", 5)) {
		free(c->res->next_token);
		c->res->next_token = NULL;
	} else if (n > sizeof(next) - 1 &&
		   !strncasecmp(ptr, next, sizeof(next) - 1)) {
		const char *v = ptr + sizeof(next) - 1;
		size_t len = n - (sizeof(next) - 1);
		while (len && (*v == ' ' || *v == '\t')) {
			v++;
			len--;
		}
		while (len && isspace((unsigned char)v[len - 1]))
			len--;
		free(c->res->next_token);
		c->res->next_token = len ? xstrndup(v, len) : NULL;
	}
	return n;
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	struct http_client *c = ud;
	size_t want = size * nitems;
	uint64_t left = c->req->body_size - c->upload_pos;
	ssize_t n;

	if (!left)
		return 0;
	if (want > left)
		want = (size_t)left;
	do {
		n = pread(c->req->body_fd, buf, want, (off_t)c->upload_pos);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return CURL_READFUNC_ABORT; /* the file shrank or broke */
	c->upload_pos += (uint64_t)n;
	return (size_t)n;
}

static int seek_cb(void *ud, curl_off_t offset, int origin)
{
	struct http_client *c = ud;
	if (origin != SEEK_SET || offset < 0 ||
	    (uint64_t)offset > c->req->body_size)
		return CURL_SEEKFUNC_CANTSEEK;
	c->upload_pos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static int64_t request_timeout(const struct http_client *c)
{
	if (c->req->timeout_ms < 0)
		return 0;
	return c->req->timeout_ms ? c->req->timeout_ms : c->cfg.timeout_ms;
}

static int start_try(struct http_client *c, struct strbuf *err)
{
	const struct http_request *req = c->req;
	CURL *e = c->easy;
	size_t max = req->max_body ? req->max_body : (1u << 20);

	strbuf_release(&c->res->body);
	strbuf_init_capped(&c->res->body, max);
	free(c->res->next_token);
	c->res->next_token = NULL;
	c->res->bytes_in = 0;
	c->res->status = 0;
	c->upload_pos = 0;
	c->abort_reason = HTTP_OK;
	c->delivered = false;
	c->errbuf[0] = '\0';
	c->last_activity = time_mono_ms();
	curl_mime_free(c->mime);
	c->mime = NULL;

	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)c->cfg.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)request_timeout(c));
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "runner/" RUNNER_VERSION);

	if (req->body_fd >= 0 && req->multipart_filename) {
		curl_mimepart *part;
		c->mime = curl_mime_init(e);
		part = curl_mime_addpart(c->mime);
		curl_mime_name(part, "file");
		curl_mime_filename(part, req->multipart_filename);
		curl_mime_type(part, "application/octet-stream");
		curl_mime_data_cb(part, (curl_off_t)req->body_size, read_cb,
				  seek_cb, NULL, c);
		curl_easy_setopt(e, CURLOPT_MIMEPOST, c->mime);
	} else if (req->body_fd >= 0) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, c);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, c);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)req->body_size);
	} else if (!strcmp(req->method, "POST") || req->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)req->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS,
				 req->body ? req->body : "");
	}
	if (strcmp(req->method, "GET") && strcmp(req->method, "POST"))
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	else if (!strcmp(req->method, "GET"))
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);

	if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
		describe(err, req);
		strbuf_addstr(err, ": cannot start the request");
		c->res->fail = HTTP_FAIL_TRANSPORT;
		request_cleanup(c);
		return -1;
	}
	c->in_multi = true;
	return 0;
}

int http_start(struct http_client *c, const struct http_request *req,
	       struct http_response *res, struct strbuf *err)
{
	if (c->active)
		BUG("http_start with a request in flight");
	c->req = req;
	c->res = res;
	c->active = true;
	res->status = 0;
	res->fail = HTTP_OK;
	res->tries = 0;
	c->hdrs = curl_slist_append(NULL, "Expect:");
	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		const char *colon = strchr(req->headers[i], ':');
		c->hdrs = curl_slist_append(c->hdrs, req->headers[i]);
		if (colon) {
			colon++;
			while (*colon == ' ')
				colon++;
			strvec_push(&c->secrets, colon);
		}
	}
	if (!c->hdrs)
		die("out of memory");
	return start_try(c, err);
}

/* The server's own words from an error body, sanitized. */
static void add_server_message(struct http_client *c, struct strbuf *err)
{
	const struct strbuf *b = &c->res->body;
	cJSON *json = b->len ? cJSON_ParseWithLength(b->buf, b->len) : NULL;
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(json, "message");

	if (cJSON_IsString(msg) && msg->valuestring[0]) {
		strbuf_addstr(err, ": ");
		http_sanitize(err, msg->valuestring, strlen(msg->valuestring),
			      300, c->secrets.v);
	} else if (!json && b->len) {
		strbuf_addstr(err, ": ");
		http_sanitize(err, b->buf, b->len, 300, c->secrets.v);
	}
	cJSON_Delete(json);
}

static int64_t backoff_ms(struct http_client *c)
{
	int64_t d = c->cfg.retry_base_ms;
	curl_off_t ra = 0;

	for (int i = 1; i < c->res->tries && d < c->cfg.retry_max_ms; i++)
		d *= 2;
	if (d > c->cfg.retry_max_ms)
		d = c->cfg.retry_max_ms;
	/* Jitter: clients told to retry should not all come back at once. */
	d = d / 2 + (int64_t)(rand_r(&c->seed) % (unsigned int)(d / 2 + 1));
	if (curl_easy_getinfo(c->easy, CURLINFO_RETRY_AFTER, &ra) ==
		    CURLE_OK &&
	    ra > 0) {
		int64_t want = (int64_t)ra * 1000;
		if (want > c->cfg.retry_after_max_ms)
			want = c->cfg.retry_after_max_ms;
		if (want > d)
			d = want;
	}
	return d;
}

static int finish_try(struct http_client *c, CURLcode rc, struct strbuf *err)
{
	const struct http_request *req = c->req;
	struct http_response *res = c->res;
	long status = 0;
	bool retryable = false;

	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(c->multi, c->easy);
	c->in_multi = false;
	res->tries++;
	res->status = status;

	if (rc == CURLE_OK) {
		if (status >= 200 && status < 300) {
			res->fail = HTTP_OK;
			request_cleanup(c);
			return 0;
		}
		res->fail = status == 401 ? HTTP_FAIL_AUTH : HTTP_FAIL_STATUS;
		retryable = status == 429 || status >= 500;
	} else if (c->abort_reason != HTTP_OK) {
		res->fail = c->abort_reason;
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		res->fail = HTTP_FAIL_TIMEOUT;
	} else {
		res->fail = HTTP_FAIL_TRANSPORT;
		/* Nothing reached the server: always safe to send again. */
		retryable = rc == CURLE_COULDNT_CONNECT ||
			    rc == CURLE_COULDNT_RESOLVE_HOST ||
			    (req->idempotent && !c->delivered);
	}
	if (retryable && !req->no_retry && !c->delivered &&
	    res->tries <= (req->max_retries > 0 ? req->max_retries
						: c->cfg.max_retries)) {
		c->retry_at = time_mono_ms() + backoff_ms(c);
		return 1;
	}

	describe(err, req);
	switch (res->fail) {
	case HTTP_FAIL_STATUS:
	case HTTP_FAIL_AUTH:
		strbuf_addf(err, ": HTTP %ld", status);
		add_server_message(c, err);
		break;
	case HTTP_FAIL_TIMEOUT:
		strbuf_addf(err, ": timed out (%s)",
			    c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
		break;
	case HTTP_FAIL_TOO_BIG:
		strbuf_addf(err, ": response larger than %zu bytes",
			    res->body.cap);
		break;
	case HTTP_FAIL_ABORTED:
		strbuf_addstr(err, ": aborted");
		break;
	case HTTP_FAIL_IDLE:
	case HTTP_FAIL_TRANSPORT:
	case HTTP_OK:
		strbuf_addf(err, ": %s",
			    c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
		break;
	}
	if (res->tries > 1)
		strbuf_addf(err, " (gave up after %d tries)", res->tries);
	request_cleanup(c);
	return -1;
}

int http_poll(struct http_client *c, int wait_ms, struct strbuf *err)
{
	bool waited = false;

	if (!c->active)
		BUG("http_poll without a request");
	if (c->retry_at) {
		int64_t left = c->retry_at - time_mono_ms();
		if (left > 0) {
			time_sleep_ms(left < wait_ms ? left : wait_ms);
			if (time_mono_ms() < c->retry_at)
				return 1;
		}
		c->retry_at = 0;
		if (start_try(c, err) < 0)
			return -1;
	}
	for (;;) {
		int running = 0, queued = 0;
		CURLMsg *msg;

		curl_multi_perform(c->multi, &running);
		while ((msg = curl_multi_info_read(c->multi, &queued))) {
			if (msg->msg == CURLMSG_DONE)
				return finish_try(c, msg->data.result, err);
		}
		if (waited || wait_ms <= 0)
			break;
		curl_multi_poll(c->multi, NULL, 0, wait_ms, NULL);
		waited = true;
	}
	if (c->req->idle_timeout_ms &&
	    time_mono_ms() - c->last_activity > c->req->idle_timeout_ms) {
		c->res->fail = HTTP_FAIL_IDLE;
		c->res->tries++;
		describe(err, c->req);
		strbuf_addf(err, ": nothing received for %" PRId64 " ms",
			    c->req->idle_timeout_ms);
		request_cleanup(c);
		return -1;
	}
	return 1;
}

int http_do(struct http_client *c, const struct http_request *req,
	    struct http_response *res, struct strbuf *err)
{
	int r;

	if (http_start(c, req, res, err) < 0)
		return -1;
	do {
		r = http_poll(c, 1000, err);
	} while (r == 1);
	return r;
}
