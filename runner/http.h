#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/*
 * A small libcurl wrapper for talking to remote APIs (the e2b backend).
 *
 * Every request has a connect timeout and a total timeout (or, for
 * long-lived streams, an idle timeout); response bodies kept in memory
 * are size-capped; 429 and 5xx answers are retried a bounded number of
 * times with exponential backoff and jitter, honouring Retry-After
 * (seconds or an HTTP date); then the request fails with a message that
 * says what was asked, what came back and how often it was tried.
 *
 * Secrets: header values (API keys, access tokens) are never logged and
 * never put into error messages; text that comes from the server (an
 * error body's "message") is cleaned of control characters, shortened,
 * and any header value of the request found in it is replaced by "***",
 * so a server that echoes a key back cannot make us print it.
 *
 * A struct http_client holds one libcurl easy handle (and so one
 * connection cache) and runs one request at a time. Different clients may
 * be used from different threads at once; one client from one thread at a
 * time. http_global_init() must run once before threads start (it is also
 * called, idempotently and thread-safely, by http_client_new).
 */

struct http_config {
	int64_t connect_timeout_ms; /* TCP+TLS set-up; <= 0: 10 s */
	int64_t timeout_ms;	    /* default total per request; <= 0: 60 s */
	int max_retries;	    /* retries after the first try; < 0: 5 */
	int64_t retry_base_ms;	    /* first backoff; <= 0: 1 s */
	int64_t retry_max_ms;	    /* cap of one backoff; <= 0: 30 s */
	int64_t retry_after_max_ms; /* cap of an honoured Retry-After; 300 s */
};

/* Why a request did not succeed (HTTP_OK when it did). */
enum http_fail {
	HTTP_OK = 0,
	HTTP_FAIL_TRANSPORT, /* could not connect, connection reset, ... */
	HTTP_FAIL_TIMEOUT,   /* connect or total timeout */
	HTTP_FAIL_IDLE,	     /* a stream went quiet for idle_timeout_ms */
	HTTP_FAIL_STATUS,    /* a non-2xx status other than 401 */
	HTTP_FAIL_AUTH,	     /* 401 */
	HTTP_FAIL_TOO_BIG,   /* the body went over max_body */
	HTTP_FAIL_ABORTED,   /* on_data returned non-zero, or http_abort */
};

struct http_request {
	const char *method; /* "GET", "POST", "DELETE", ... */
	const char *url;
	/*
	 * "Name: value" lines, NULL-terminated, may be NULL. Values are
	 * treated as secrets (see above).
	 */
	const char *const *headers;
	/* A body from memory (body_len bytes; NULL: none) ... */
	const char *body;
	size_t body_len;
	/*
	 * ... or from a seekable file, streamed (read with pread, so retries
	 * can start over): body_fd >= 0 and body_size bytes. With
	 * multipart_filename set it is sent as multipart/form-data, one part
	 * named "file" with that filename; otherwise as the raw body.
	 */
	int body_fd;
	uint64_t body_size;
	const char *multipart_filename;
	/* Total timeout: 0 uses the config's; < 0 none (streams). */
	int64_t timeout_ms;
	/* Abort when nothing arrives for this long; 0: no idle limit. */
	int64_t idle_timeout_ms;
	/*
	 * Cap on the body kept in http_response.body; 0: 1 MiB. A 2xx body
	 * that is bigger fails with HTTP_FAIL_TOO_BIG; an error body is
	 * just cut.
	 */
	size_t max_body;
	/*
	 * When set, a 2xx body is delivered here as it arrives instead of
	 * being kept. A non-zero return aborts (HTTP_FAIL_ABORTED).
	 */
	int (*on_data)(void *ctx, const char *buf, size_t len);
	void *ctx;
	/* Never retry (the caller has its own loop). */
	bool no_retry;
	/* Retries for this request; 0: the client's max_retries. */
	int max_retries;
	/*
	 * Also retry transport errors (connection refused or reset) that
	 * happen before any body byte was delivered. Only for requests that
	 * are safe to repeat.
	 */
	bool idempotent;
	/* What to call the request in messages; default "METHOD /path". */
	const char *what;
};

#define HTTP_REQUEST_INIT     \
	{                     \
		.body_fd = -1 \
	}

struct http_response {
	long status; /* last HTTP status seen, 0 if none */
	enum http_fail fail;
	struct strbuf body; /* see http_request.max_body */
	char *next_token;   /* the X-Next-Token header, or NULL */
	int tries;	    /* how many times the request was sent */
	uint64_t bytes_in;  /* body bytes received by the last try */
};

void http_response_init(struct http_response *res);
void http_response_release(struct http_response *res);

/* Once per process, before threads. Dies if libcurl cannot start. */
void http_global_init(void);

/* A new client; cfg is copied. Free with http_client_free(). */
struct http_client *http_client_new(const struct http_config *cfg);
void http_client_free(struct http_client *c);

/*
 * Run one request to completion (with retries). Returns 0 on a 2xx
 * answer; -1 otherwise, with res->fail saying why and a message in err.
 * res must be initialised; it is reset first. req and everything it
 * points to is borrowed for the duration of the call.
 */
int http_do(struct http_client *c, const struct http_request *req,
	    struct http_response *res, struct strbuf *err);

/*
 * The same request, driven step by step so the caller can do other work
 * while a stream is open: http_start() begins it, http_poll() waits at
 * most wait_ms for progress (delivering data to on_data) and returns 1
 * while the request is still going (including while it waits to retry),
 * then 0 or -1 as http_do() would. req and res must stay valid until
 * http_poll() has returned 0 or -1, or http_abort() was called.
 * http_abort() drops the request (closing its connection); it is a no-op
 * when nothing is in flight.
 */
int http_start(struct http_client *c, const struct http_request *req,
	       struct http_response *res, struct strbuf *err);
int http_poll(struct http_client *c, int wait_ms, struct strbuf *err);
void http_abort(struct http_client *c);

/*
 * Percent-encode s (RFC 3986 unreserved characters are kept) and append
 * it to out.
 */
void http_urlencode(struct strbuf *out, const char *s);

/*
 * Append to out a printable, at most max-byte rendering of untrusted
 * text, with every occurrence of each secret replaced by "***" (secrets
 * is NULL-terminated, may be NULL; entries shorter than 4 bytes are
 * ignored).
 */
void http_sanitize(struct strbuf *out, const char *text, size_t len,
		   size_t max, const char *const *secrets);

#endif
