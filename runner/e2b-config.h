#ifndef E2B_CONFIG_H
#define E2B_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "netproxy.h"
#include "plan.h"

struct netproxy_allowlist;
struct netproxy_rule;
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
	/* network: [host:port, ...]: the sandbox's allowOut (below) */
	struct netproxy_allowlist network_allow;
	struct plan_loc network_loc;
	uint64_t memory; /* not enforced: validate warns (memory_loc) */
	struct plan_loc memory_loc;
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

/*
 * network: [host:port, ...] on e2b. The create request then carries
 * allow_internet_access: false and network: {allowOut: [...], denyOut:
 * ["0.0.0.0/0"]}: E2B lets everything out unless denyOut says
 * otherwise, allowOut wins over denyOut, and a name in allowOut is
 * refused without 0.0.0.0/0 in denyOut (openapi.yml
 * SandboxNetworkConfig; the API's validateNetworkConfig). allowOut takes
 * CIDRs, addresses and names, without ports, and E2B matches a name
 * only on ports 80 and 443 (the HTTP Host, the TLS SNI); it never lets
 * a sandbox reach private, loopback or link-local addresses, and its
 * filter is IPv4 (all traffic is 0.0.0.0/0).
 *
 * e2b_conf_allow_out appends r's allowOut entry to out. Returns 0 when
 * the entry allows what r says, 1 when it allows more (an address:
 * every port of it; a name: both 80 and 443), or -1 with a message and
 * out unchanged when E2B cannot express r: a name on another port, an
 * IPv6 address, localhost or an address E2B always blocks.
 */
int e2b_conf_allow_out(const struct netproxy_rule *r, struct strbuf *out,
		       struct strbuf *err);

/*
 * Every rule of al through e2b_conf_allow_out, for the backend's check
 * before a run (a plan written for local run with --backend e2b).
 * 0, or -1 with the first entry E2B cannot express.
 */
int e2b_conf_check_allowlist(const struct netproxy_allowlist *al,
			     struct strbuf *err);

#endif
