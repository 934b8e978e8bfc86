#ifndef E2B_CONFIG_H
#define E2B_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

struct strbuf;
struct sandbox_config;

/*
 * A plan's backend: keys for e2b (sandbox-e2b.c parses them), the
 * backend_config of a struct sandbox_config.
 */
struct sandbox_e2b_config {
	char *template_id;	 /* template; default "base" */
	bool network;		 /* network: allow_internet_access */
	int64_t max_lifetime_ms; /* max_lifetime; 0: RUNNER_E2B_MAX_LIFETIME */
};

/* cfg's, or the defaults when it has none. */
const struct sandbox_e2b_config *
sandbox_e2b_config_of(const struct sandbox_config *cfg);

/*
 * The e2b backend's configuration, read from the environment (the
 * variables, their defaults and the duration syntax are listed in
 * sandbox-e2b.h). Every field is filled by e2b_conf_load(); durations are
 * in milliseconds.
 */
struct e2b_conf {
	char *api_url;	   /* control plane, no trailing '/' */
	char *api_key;	   /* a secret: never logged */
	char *domain;	   /* for envd URLs */
	char *sandbox_url; /* E2B_SANDBOX_URL, or NULL */
	char *user;	   /* the Linux user tasks run as */
	struct http_config http;
	int64_t transfer_timeout_ms;
	int64_t health_timeout_ms;
	int64_t keepalive_ms; /* at least 1 s */
	int64_t ttl_margin_ms;
	int64_t max_ttl_ms;	 /* at least 1 s */
	int64_t max_lifetime_ms; /* at least 1 s */
	int64_t kill_wait_ms;
};

/*
 * Fill c (any previous contents are overwritten, not freed) from the
 * environment. Returns 0, or -1 with a message naming the variable at
 * fault (E2B_API_KEY missing, a URL that is not http(s), a bad duration
 * or number), leaving c empty. Reads getenv(), so call it while no other
 * thread changes the environment; otherwise thread-safe.
 */
int e2b_conf_load(struct e2b_conf *c, struct strbuf *err);

/* Free what c holds and zero it; an empty c is fine. */
void e2b_conf_release(struct e2b_conf *c);

/*
 * E2B ends every sandbox at its plan's maximum lifetime, whatever TTL was
 * asked for: 1 h on Hobby, 24 h on Pro. RUNNER_E2B_MAX_LIFETIME says
 * which (default the shorter); a plan's backend.max_lifetime overrides
 * it for that plan.
 */
#define E2B_DEFAULT_MAX_LIFETIME_MS (3600 * (int64_t)1000)

/*
 * RUNNER_E2B_MAX_LIFETIME alone, for `runner validate`: 0 with *ms set
 * (the default when unset), or -1 with a message for a bad value.
 */
int e2b_conf_max_lifetime(int64_t *ms, struct strbuf *err);

#endif
