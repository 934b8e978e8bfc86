#include "runner.h"
#include "e2b-config.h"
#include "netproxy.h"
#include "plan.h"
#include "sandbox.h"

#include <sys/socket.h>

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

void e2b_conf_release(struct e2b_conf *c)
{
	free(c->api_url);
	free(c->api_key);
	free(c->domain);
	free(c->sandbox_url);
	free(c->user);
	memset(c, 0, sizeof(*c));
}

static int load_key(struct e2b_conf *c, struct strbuf *err)
{
	const char *key = getenv("E2B_API_KEY");

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
	return 0;
}

static int load_urls(struct e2b_conf *c, struct strbuf *err)
{
	const char *domain = getenv("E2B_DOMAIN");
	const char *api = getenv("E2B_API_URL");
	const char *sbx = getenv("E2B_SANDBOX_URL");
	const char *user = getenv("RUNNER_E2B_USER");

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
		return -1;
	}
	return 0;
}

static int load_durations(struct e2b_conf *c, struct strbuf *err)
{
	const struct {
		const char *name;
		int64_t def;
		int64_t *out;
	} vars[] = {
		{ "RUNNER_E2B_CONNECT_TIMEOUT", 10000,
		  &c->http.connect_timeout_ms },
		{ "RUNNER_E2B_REQUEST_TIMEOUT", 60000, &c->http.timeout_ms },
		{ "RUNNER_E2B_RETRY_DELAY", 1000, &c->http.retry_base_ms },
		{ "RUNNER_E2B_TRANSFER_TIMEOUT", 30 * 60000,
		  &c->transfer_timeout_ms },
		{ "RUNNER_E2B_HEALTH_TIMEOUT", 60000, &c->health_timeout_ms },
		{ "RUNNER_E2B_KEEPALIVE", 30000, &c->keepalive_ms },
		{ "RUNNER_E2B_TTL_MARGIN", 5 * 60000, &c->ttl_margin_ms },
		{ "RUNNER_E2B_MAX_TTL", 3600000, &c->max_ttl_ms },
		{ "RUNNER_E2B_MAX_LIFETIME", E2B_DEFAULT_MAX_LIFETIME_MS,
		  &c->max_lifetime_ms },
		{ "RUNNER_E2B_KILL_WAIT", 10000, &c->kill_wait_ms },
	};

	for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
		if (env_duration(vars[i].name, vars[i].def, vars[i].out, err) <
		    0)
			return -1;
	return 0;
}

static int load_retries(struct e2b_conf *c, struct strbuf *err)
{
	const char *retries = getenv("RUNNER_E2B_RETRIES");
	char *end;
	long n;

	c->http.max_retries = 5;
	if (!retries || !*retries)
		return 0;
	n = strtol(retries, &end, 10);
	if (*end || n < 0 || n > 100) {
		strbuf_addf(err, "RUNNER_E2B_RETRIES: invalid number '%s'",
			    retries);
		return -1;
	}
	c->http.max_retries = (int)n;
	return 0;
}

int e2b_conf_load(struct e2b_conf *c, struct strbuf *err)
{
	int64_t v;

	memset(c, 0, sizeof(*c));
	if (load_key(c, err) < 0)
		return -1;
	if (load_urls(c, err) < 0 || load_durations(c, err) < 0 ||
	    load_retries(c, err) < 0) {
		e2b_conf_release(c);
		return -1;
	}
	v = c->http.retry_base_ms * 30;
	c->http.retry_max_ms = v < 30000 ? v : 30000;
	if (c->keepalive_ms < 1000)
		c->keepalive_ms = 1000;
	if (c->max_ttl_ms < 1000)
		c->max_ttl_ms = 1000;
	if (c->max_lifetime_ms < 1000)
		c->max_lifetime_ms = 1000;
	return 0;
}

int e2b_conf_max_lifetime(int64_t *ms, struct strbuf *err)
{
	if (env_duration("RUNNER_E2B_MAX_LIFETIME",
			 E2B_DEFAULT_MAX_LIFETIME_MS, ms, err) < 0)
		return -1;
	if (*ms < 1000)
		*ms = 1000;
	return 0;
}

/* r as the plan wrote it, near enough: "host:port", "[v6]:port". */
static void rule_str(const struct netproxy_rule *r, struct strbuf *sb)
{
	bool v6 = r->kind == NETPROXY_RULE_ADDR &&
		  r->host.addr.family == AF_INET6;

	strbuf_addf(sb, "%s%s%s%s:%u",
		    r->kind == NETPROXY_RULE_SUFFIX ? "*." : "", v6 ? "[" : "",
		    r->host.name, v6 ? "]" : "", r->port);
}

int e2b_conf_allow_out(const struct netproxy_rule *r, struct strbuf *out,
		       struct strbuf *err)
{
	struct strbuf what = STRBUF_INIT;
	enum netproxy_addr_class cls;
	int ret = -1;

	rule_str(r, &what);
	switch (r->kind) {
	case NETPROXY_RULE_NAME:
	case NETPROXY_RULE_SUFFIX:
		if (r->port != 80 && r->port != 443) {
			strbuf_addf(err,
				    "'%s': E2B matches a name only on ports "
				    "80 and 443 (by the HTTP Host and the TLS "
				    "SNI); list the address (a.b.c.d:%u)",
				    what.buf, r->port);
			break;
		}
		strbuf_addf(out, "%s%s",
			    r->kind == NETPROXY_RULE_SUFFIX ? "*." : "",
			    r->host.name);
		ret = 1;
		break;
	case NETPROXY_RULE_LOCALHOST:
		strbuf_addf(err,
			    "'%s': an E2B sandbox cannot reach this host; "
			    "its own localhost needs no entry",
			    what.buf);
		break;
	case NETPROXY_RULE_ADDR:
		if (r->host.addr.family != AF_INET) {
			strbuf_addf(err,
				    "'%s': E2B's egress filter is IPv4 only "
				    "(list an IPv4 address)",
				    what.buf);
			break;
		}
		cls = netproxy_addr_classify(&r->host.addr);
		if (cls == NETPROXY_ADDR_LOOPBACK) {
			strbuf_addf(err,
				    "'%s': an E2B sandbox cannot reach this "
				    "host; its own loopback needs no entry",
				    what.buf);
			break;
		}
		if (cls == NETPROXY_ADDR_PRIVATE ||
		    cls == NETPROXY_ADDR_LINK_LOCAL ||
		    cls == NETPROXY_ADDR_UNSPECIFIED) {
			strbuf_addf(err,
				    "'%s': %s, which E2B never lets a sandbox "
				    "reach",
				    what.buf, netproxy_addr_class_name(cls));
			break;
		}
		strbuf_addstr(out, r->host.name);
		ret = 1;
		break;
	}
	strbuf_release(&what);
	return ret;
}

int e2b_conf_check_allowlist(const struct netproxy_allowlist *al,
			     struct strbuf *err)
{
	struct strbuf out = STRBUF_INIT;
	int ret = 0;

	for (size_t i = 0; al && i < al->nr && !ret; i++)
		if (e2b_conf_allow_out(&al->rules[i], &out, err) < 0)
			ret = -1;
	strbuf_release(&out);
	return ret;
}

static const struct sandbox_e2b_config e2b_defaults = {
	.template_id = (char *)"base",
};

const struct sandbox_e2b_config *
sandbox_e2b_config_of(const struct sandbox_config *cfg)
{
	return cfg->backend_config ? cfg->backend_config : &e2b_defaults;
}
