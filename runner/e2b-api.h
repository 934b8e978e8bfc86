#ifndef E2B_API_H
#define E2B_API_H

#include <stdbool.h>
#include <stdint.h>

#include "strvec.h"

struct e2b_conf;
struct http_response;
struct sandbox;
struct sandbox_config;
struct strbuf;

/*
 * The E2B control plane (../shared/e2b-spec/PROTOCOL.md "API"): create,
 * list, extend and kill sandboxes over http.c, with the API key in
 * X-API-Key. Failures come back as -1 with a message in err that never
 * holds the key: a 401 becomes "check E2B_API_KEY", a timeout names
 * RUNNER_E2B_REQUEST_TIMEOUT, and the server's own text is sanitised by
 * http.c.
 *
 * A struct e2b_api is one connection; like an http_client it is used by
 * one thread at a time, and different ones may run at once.
 */
struct e2b_api {
	const struct e2b_conf *conf; /* borrowed; must outlive the api */
	struct http_client *http;
	struct strvec hdrs; /* holds the key: never print it */
};

/* Connect api to conf's control plane (no request is made). */
void e2b_api_init(struct e2b_api *api, const struct e2b_conf *conf);
/* Close the connection and free what api holds. */
void e2b_api_release(struct e2b_api *api);

/*
 * One call: method on conf->api_url + path (which may hold a query),
 * with a JSON body or NULL; only POST is not idempotent. The answer is
 * in res (the caller inits and releases it). 0 on a 2xx answer, else -1
 * with a message; res->status and res->fail say what happened.
 */
int e2b_api_call(struct e2b_api *api, const char *method, const char *path,
		 const char *body, struct http_response *res,
		 struct strbuf *err);

/* DELETE /sandboxes/{id}: 0 when it is gone, whoever ended it (404). */
int e2b_api_kill(struct e2b_api *api, const char *id, struct strbuf *err);

/*
 * The ids of the live sandboxes whose metadata has every key=value of
 * filter (NULL or "": all of the team's), appended to ids; when run_ids
 * is not NULL, each one's runner_run metadata ("" for none) is appended
 * to it in step. Follows pagination; ids that are not plain tokens are
 * skipped. 0, or -1 with a message (what was appended stays).
 */
int e2b_api_list(struct e2b_api *api, const char *filter, struct strvec *ids,
		 struct strvec *run_ids, struct strbuf *err);

/*
 * The lifetime of one sandbox sb (e2b-internal.h), through sb->api.
 *
 * e2b_api_create: POST /sandboxes for cfg with a lifetime of ttl_ms
 * (rounded up to seconds), then, as soon as the id is known, the
 * cfg->on_created hook. Sets sb->id, created, ttl_end, token and
 * envd_version ("0.0.0" when not said), and *domain to the domain the answer
 * named (NULL if none; the caller frees it). Every string of the answer is
 * checked to be a plain token before it is used. -1 with a message on
 * failure: when sb->id is set by then, the sandbox exists and the caller
 * must kill it.
 *
 * A create answered with a 5xx may still have made a sandbox: before
 * each retry, after the last failure, and once more after a success that
 * followed one, the attempt's sandboxes (by the runner_run, runner_task
 * and runner_attempt metadata) other than the one answered are killed.
 */
int e2b_api_create(struct sandbox *sb, const struct sandbox_config *cfg,
		   int64_t ttl_ms, char **domain, struct strbuf *err);

/*
 * Is sb still there? 1 alive, 0 gone (404; sb->dead is set), -1 unknown
 * (with a message).
 */
int e2b_api_alive(struct sandbox *sb, struct strbuf *err);

/*
 * Keep sb alive for need_ms more, plus the TTL margin, capped at the
 * longest lifetime we ask for (RUNNER_E2B_MAX_TTL): when less than half
 * of that is left, ask E2B for it (POST /sandboxes/{id}/timeout), at most
 * every 500 ms. A failed request is tried again by a later call and
 * returns 0; -1 (with a message) only when E2B says sb is gone, which
 * also sets sb->dead.
 */
int e2b_api_extend(struct sandbox *sb, int64_t need_ms, struct strbuf *err);

/*
 * Why sb is gone, into err: "e2b ended the sandbox at its maximum
 * lifetime (1h) WHAT ..." when it was as old as that, else "sandbox ID
 * died WHAT (N s after it was created)" ("is gone" when what is NULL).
 */
void e2b_api_gone(const struct sandbox *sb, const char *what,
		  struct strbuf *err);

#endif
