#ifndef E2B_ENVD_H
#define E2B_ENVD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_response;
struct sandbox;
struct strbuf;
struct strvec;

/*
 * envd, the daemon inside an e2b sandbox (../shared/e2b-spec/PROTOCOL.md
 * "envd"): its address and headers, unary Connect calls, file uploads and
 * downloads (POST and GET /files), the health check. Every function takes
 * the sandbox (e2b-internal.h) and uses its envd client, so calls on one
 * sandbox come from one thread at a time. Failures are -1 with a message
 * that names the sandbox and, for timeouts, the variable that sets the
 * limit; the access token never appears in one.
 */

/*
 * Where envd of sb is: E2B_SANDBOX_URL when set, else
 * https://49983-<id>.<domain> (domain: the one create's answer named, or
 * NULL for E2B_DOMAIN). Also decides from sb->envd_version how uploads
 * are sent. Call once, after e2b_api_create().
 */
void e2b_envd_init(struct sandbox *sb, const char *domain);

/*
 * The headers of an envd request into h: the access token, the routing
 * headers, and, when user is set, HTTP Basic "user:" (which user a
 * process or a file belongs to) with the Connect protocol version;
 * content_type may be NULL.
 */
void e2b_envd_headers(const struct sandbox *sb, const char *user,
		      const char *content_type, struct strvec *h);

/* The message for a failed envd request (herr: http.c's description). */
void e2b_envd_fail(const struct sandbox *sb, const struct http_response *res,
		   const char *herr, struct strbuf *err);

/*
 * A unary Connect call as root: POST method ("process.Process/...") with
 * a JSON body, tried max_retries more times on 429/5xx (0: the
 * configured number). The answer is in res (the caller inits and
 * releases it). 0 or -1 with a message.
 */
int e2b_envd_unary(struct sandbox *sb, const char *method, const char *body,
		   int max_retries, struct http_response *res,
		   struct strbuf *err);

/*
 * Upload size bytes of fd (read with pread from offset 0, so a retry
 * sends them again) to path in the sandbox, owned by user, within
 * RUNNER_E2B_TRANSFER_TIMEOUT. fd stays the caller's. 0 or -1.
 */
int e2b_envd_upload(struct sandbox *sb, int fd, uint64_t size,
		    const char *path, const char *user, struct strbuf *err);

/* The same for len bytes at data, owned by root (through a temp file). */
int e2b_envd_upload_buf(struct sandbox *sb, const void *data, size_t len,
			const char *path, struct strbuf *err);

/*
 * Download path (read as root) into fd, at most max bytes whatever the
 * sandbox sends, within RUNNER_E2B_TRANSFER_TIMEOUT. 0, or -1: with a
 * message, or without one and *too_big set when the file was larger
 * than max (the caller says what the limit was).
 */
int e2b_envd_download(struct sandbox *sb, const char *path, int fd,
		      uint64_t max, bool *too_big, struct strbuf *err);

/*
 * Read the small file path (as root) into out, at most max bytes (a
 * bigger one fails): 0, 1 when there is no such file (404), or -1 with a
 * message.
 */
int e2b_envd_read(struct sandbox *sb, const char *path, struct strbuf *out,
		  size_t max, struct strbuf *err);

/*
 * Poll GET /health until envd answers, backing off from 50 ms to 1 s,
 * for RUNNER_E2B_HEALTH_TIMEOUT at most. 0 or -1 with a message.
 */
int e2b_envd_wait_health(struct sandbox *sb, struct strbuf *err);

/*
 * A temporary file for a transfer: in $TMPDIR (else /tmp), already
 * unlinked, close-on-exec. Returns the fd (the caller closes it), or -1
 * with a message.
 */
int e2b_envd_tmpfile(struct strbuf *err);

#endif
