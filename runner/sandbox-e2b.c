/*
 * The e2b backend (DESIGN.md "Backends"; the wire protocol is in
 * ../shared/e2b-spec/PROTOCOL.md): struct sandbox_backend over the
 * modules that do the work.
 *
 * A sandbox's life:
 *   create     POST /sandboxes with a TTL of the task's timeout plus a
 *              margin (capped; extended later with POST .../timeout), the
 *              created hook records the id, then GET envd /health until
 *              it answers (e2b-api.c, e2b-envd.c).
 *   put_tree   the manifest as one tar.gz, written to a temporary file
 *              (memory stays flat whatever the tree's size), uploaded
 *              with POST /files, extracted into /workspace by one
 *              process.Start of sh, which then lists the tree: the
 *              listing must equal the manifest exactly (e2b-tree.c).
 *   exec       process.Start, streamed; we keep the clock (e2b-proc.c).
 *              A stdin file is uploaded first and opened by a shell.
 *   pull       the same listing, compared with the manifest the way
 *              ws_diff() compares a local tree; the changed files come
 *              back as one tar.gz (e2b-pull.c).
 *   destroy    DELETE /sandboxes/{id}; 404 means it is already gone.
 *
 * Each sandbox has three HTTP clients (connections): the control plane,
 * envd unary calls and transfers, and the command stream, so a signal or
 * a TTL extension can go out while a stream is open.
 */
#include "runner.h"
#include "sandbox-e2b.h"
#include "e2b-api.h"
#include "e2b-config.h"
#include "e2b-envd.h"
#include "e2b-internal.h"
#include "e2b-proc.h"
#include "e2b-pull.h"
#include "e2b-tree.h"
#include "http.h"
#include "plan-backend.h"
#include "rand.h"
#include "timeutil.h"

#include <fcntl.h>
#include <sys/stat.h>

static void sandbox_free(struct sandbox *sb)
{
	if (!sb)
		return;
	if (sb->api) {
		e2b_api_release(sb->api);
		free(sb->api);
	}
	http_client_free(sb->envd);
	http_client_free(sb->stream);
	free(sb->id);
	free(sb->token);
	free(sb->envd_version);
	free(sb->envd_url);
	free(sb->home);
	e2b_conf_release(&sb->conf);
	free(sb);
}

static int e2b_create(const struct sandbox_config *cfg, struct sandbox **out,
		      struct strbuf *err)
{
	struct sandbox *sb = xcalloc(1, sizeof(*sb));
	char *domain = NULL;
	int64_t ttl_ms;
	int ret = -1;

	*out = NULL;
	if (e2b_conf_load(&sb->conf, err) < 0)
		goto out;
	/*
	 * E2B's users have their homes where Linux puts them; nothing
	 * there comes back, for only E2B_WORKSPACE is pulled.
	 */
	sb->home = !strcmp(sb->conf.user, "root")
			   ? xstrdup("/root")
			   : xstrfmt("/home/%s", sb->conf.user);
	sb->api = xcalloc(1, sizeof(*sb->api));
	e2b_api_init(sb->api, &sb->conf);
	sb->envd = http_client_new(&sb->conf.http);
	sb->stream = http_client_new(&sb->conf.http);

	sb->lifetime_ms = sandbox_e2b_config_of(cfg)->max_lifetime_ms > 0
				  ? sandbox_e2b_config_of(cfg)->max_lifetime_ms
				  : sb->conf.max_lifetime_ms;
	if (cfg->timeout_ms > sb->lifetime_ms) {
		char tb[32], lb[32];
		format_duration(cfg->timeout_ms, tb, sizeof(tb));
		format_duration(sb->lifetime_ms, lb, sizeof(lb));
		strbuf_addf(err,
			    "the task's timeout (%s) is longer than E2B lets "
			    "a sandbox live (%s: RUNNER_E2B_MAX_LIFETIME or "
			    "backend.max_lifetime; 1h on Hobby, 24h on Pro)",
			    tb, lb);
		goto fail;
	}
	ttl_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms + sb->conf.ttl_margin_ms
				     : sb->conf.max_ttl_ms;
	if (ttl_ms > sb->conf.max_ttl_ms)
		ttl_ms = sb->conf.max_ttl_ms;
	/* E2B refuses a TTL longer than the lifetime its plan allows. */
	if (ttl_ms > sb->lifetime_ms)
		ttl_ms = sb->lifetime_ms;
	if (e2b_api_create(sb, cfg, ttl_ms, &domain, err) < 0)
		goto fail;
	e2b_envd_init(sb, domain);
	if (e2b_envd_wait_health(sb, err) < 0)
		goto fail;
	*out = sb;
	sb = NULL;
	ret = 0;
	goto out;
fail:
	if (sb->id) {
		struct strbuf e = STRBUF_INIT;
		if (e2b_api_kill(sb->api, sb->id, &e) < 0)
			strbuf_addf(err, "; %s", e.buf);
		strbuf_release(&e);
	}
out:
	free(domain);
	sandbox_free(sb);
	return ret;
}

static int e2b_put_tree(struct sandbox *sb, const struct ws_manifest *m,
			const char *src_root, struct strbuf *err)
{
	if (e2b_api_extend(sb, 0, err) < 0)
		return -1;
	return e2b_tree_put(sb, m, src_root, err);
}

/*
 * envd has no "stdin from a file": upload it, owned by the task's user
 * (who must be able to remove it), and let a shell open it, drop it and
 * exec the command in its place. The command line goes into argv.
 */
static int stdin_argv(struct sandbox *sb, const struct sandbox_cmd *cmd,
		      struct strvec *argv, struct strbuf *err)
{
	int fd = open(cmd->stdin_path, O_RDONLY | O_CLOEXEC);
	struct stat sst;
	char name[64], hex[33];
	int ret;

	if (fd < 0 || fstat(fd, &sst) < 0) {
		strbuf_addf(err, "cannot read '%s': %s", cmd->stdin_path,
			    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rand_hex(hex, 16);
	snprintf(name, sizeof(name), "/tmp/.runner-stdin-%s", hex);
	ret = e2b_envd_upload(sb, fd, (uint64_t)sst.st_size, name,
			      sb->conf.user, err);
	close(fd);
	if (ret < 0)
		return -1;
	strvec_push(argv, "/bin/sh");
	strvec_push(argv, "-c");
	strvec_push(argv, "exec 0<\"$0\" || exit 126; "
			  "rm -f \"$0\"; exec \"$@\"");
	strvec_push(argv, name);
	strvec_pushv(argv, cmd->argv);
	return 0;
}

static int e2b_exec(struct sandbox *sb, const struct sandbox_cmd *cmd,
		    struct sandbox_status *st, struct strbuf *err)
{
	struct e2b_proc_spec spec = { 0 };
	struct strvec argv = STRVEC_INIT;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	st->exit_code = -1;
	if (!cmd->argv || !cmd->argv[0]) {
		strbuf_addstr(err, "no command to run");
		return -1;
	}
	if (cmd->stdin_path) {
		if (stdin_argv(sb, cmd, &argv, err) < 0)
			goto out;
	} else {
		strvec_pushv(&argv, cmd->argv);
	}
	/*
	 * The gate: everything is uploaded; starting the process is one
	 * request, so the go only has to wait for that.
	 */
	if (cmd->wait_go) {
		if (!cmd->wait_go(cmd->ctx)) {
			st->cancelled = true;
			ret = 0;
			goto out;
		}
		/* The wait may have been long: the TTL must hold the task. */
		if (e2b_api_extend(sb,
				   cmd->timeout_ms > 0 ? cmd->timeout_ms
						       : sb->conf.max_ttl_ms,
				   err) < 0)
			goto out;
	}
	spec.user = sb->conf.user;
	spec.argv = argv.v;
	spec.env = cmd->env;
	spec.cwd = E2B_WORKSPACE;
	spec.what = "during the task";
	spec.cmd = cmd;
	ret = e2b_proc_run(sb, &spec, st, err);
out:
	strvec_clear(&argv);
	return ret;
}

static int e2b_pull_changes(struct sandbox *sb, const struct ws_manifest *base,
			    const struct ws_pull_opts *opts,
			    struct ws_changes *out, struct strbuf *err)
{
	if (sb->dead) {
		e2b_api_gone(sb, NULL, err);
		strbuf_addstr(err, ": changes cannot be pulled");
		return -1;
	}
	if (e2b_api_extend(sb, 0, err) < 0)
		return -1;
	return e2b_pull(sb, base, opts, out, err);
}

static int e2b_destroy(struct sandbox *sb, struct strbuf *err)
{
	int ret = 0;

	if (!sb)
		return 0;
	if (sb->id && e2b_api_kill(sb->api, sb->id, err) < 0) {
		int64_t left = (sb->ttl_end - time_mono_ms()) / 1000;
		if (left > 0)
			strbuf_addf(err,
				    " (it ends by itself within %" PRId64
				    " s)",
				    left);
		ret = -1;
	}
	sandbox_free(sb);
	return ret;
}

/*
 * The network list must be one E2B can express (e2b-config.h), the key
 * must be set, and the API must take it: one cheap list call, so that a
 * wrong key or an unreachable API stops the run before it starts.
 */
static int e2b_check(const struct sandbox_config *cfg, struct strbuf *err)
{
	struct e2b_conf c;
	struct e2b_api api;
	struct http_response res;
	struct strbuf e = STRBUF_INIT;
	int ret = 0;

	/* Before the key: a plan written for local, run with --backend e2b. */
	if (e2b_conf_check_allowlist(
		    &sandbox_e2b_config_of(cfg)->network_allow, &e) < 0) {
		strbuf_addf(err, "backend.network on e2b: %s", e.buf);
		strbuf_release(&e);
		return -1;
	}
	if (e2b_conf_load(&c, err) < 0)
		return -1;
	e2b_api_init(&api, &c);
	http_response_init(&res);
	if (e2b_api_call(&api, "GET", "/v2/sandboxes?limit=1", NULL, &res,
			 &e) < 0) {
		if (res.fail == HTTP_FAIL_AUTH)
			strbuf_add(err, e.buf, e.len);
		else
			strbuf_addf(err,
				    "cannot use the E2B API at %s "
				    "(E2B_API_URL): %s",
				    c.api_url, e.buf);
		ret = -1;
	}
	http_response_release(&res);
	strbuf_release(&e);
	e2b_api_release(&api);
	e2b_conf_release(&c);
	return ret;
}

static const char *e2b_id(const struct sandbox *sb)
{
	return sb->id;
}

static const char *e2b_workdir(const struct sandbox *sb)
{
	(void)sb;
	return "/workspace";
}

static const char *e2b_home(const struct sandbox *sb)
{
	return sb->home;
}

/* Configuration */

static const char *const e2b_keys[] = { "network", "memory",   "pids",
					"cpus",	   "template", "max_lifetime",
					NULL };

/*
 * network: true, false, or a list of destinations that becomes the
 * sandbox's allowOut, which cannot say everything a list can
 * (e2b-config.h): what it cannot is refused when the plan says e2b
 * (with --backend e2b, by check()). The list's shape and entries are
 * checked in the same words by the local backend: said once.
 */
/* What allowOut cannot say is refused only when the plan says e2b. */
static void e2b_check_entry(const struct plan_keys *k,
			    const struct plan_node *entry,
			    const struct netproxy_rule *rule)
{
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;

	if (k->chosen && e2b_conf_allow_out(rule, &out, &err) < 0)
		plan_keys_error_node(k, "network", entry, "on e2b: %s",
				     err.buf);
	strbuf_release(&err);
	strbuf_release(&out);
}

static void e2b_parse_network(const struct plan_keys *k,
			      struct sandbox_e2b_config *ec)
{
	plan_keys_network(k, &ec->network, &ec->network_allow,
			  &ec->network_loc, e2b_check_entry);
}

static void e2b_parse_config(const struct plan_keys *k, void **config)
{
	struct sandbox_e2b_config *ec = xcalloc(1, sizeof(*ec));
	const struct plan_node *n;
	const char *s;

	e2b_parse_network(k, ec);
	if (plan_keys_size(k, "memory", &ec->memory))
		ec->memory_loc = plan_keys_get(k, "memory")->loc;
	/* Only where they are: the local backend checks their values. */
	if ((n = plan_keys_get(k, "pids"))) {
		ec->pids = true;
		ec->pids_loc = n->loc;
	}
	if ((n = plan_keys_get(k, "cpus"))) {
		ec->cpus = true;
		ec->cpus_loc = n->loc;
	}
	if (plan_keys_str(k, "template", &s)) {
		if (!*s)
			plan_keys_error(k, "template", "must not be empty");
		else
			ec->template_id = xstrdup(s);
	}
	if (!ec->template_id)
		ec->template_id = xstrdup("base");
	if (plan_keys_duration(k, "max_lifetime", &ec->max_lifetime_ms) &&
	    ec->max_lifetime_ms < 1000) {
		plan_keys_error(k, "max_lifetime", "must be at least 1s");
		ec->max_lifetime_ms = 0;
	}
	*config = ec;
}

static void e2b_free_config(void *config)
{
	struct sandbox_e2b_config *ec = config;
	if (!ec)
		return;
	free(ec->template_id);
	netproxy_allowlist_release(&ec->network_allow);
	free(ec);
}

/*
 * What e2b does not do as written (e2b-config.h): a sandbox's size is
 * its template's, and allowOut has no ports. Said, not refused: the
 * plan still runs, with more room than it asked for.
 */
static void e2b_warn_config(const void *config, const char *path,
			    struct strvec *out)
{
	const struct sandbox_e2b_config *ec = config;
	const struct netproxy_allowlist *al = &ec->network_allow;
	struct strbuf addrs = STRBUF_INIT;
	struct strvec seen = STRVEC_INIT;
	bool names = false;

	if (ec->memory)
		strvec_pushf(
			out,
			"%s:%u:%u: backend.memory is not enforced on e2b: "
			"a sandbox has its template's memory and CPUs "
			"(memoryMB, cpuCount; build a template of the "
			"size you need)",
			path, ec->memory_loc.line, ec->memory_loc.col);
	if (ec->pids)
		strvec_pushf(
			out,
			"%s:%u:%u: backend.pids is not enforced on e2b (a "
			"limit of the local backend's cgroup)",
			path, ec->pids_loc.line, ec->pids_loc.col);
	if (ec->cpus)
		strvec_pushf(
			out,
			"%s:%u:%u: backend.cpus is not enforced on e2b: a "
			"sandbox has its template's CPUs (cpuCount)",
			path, ec->cpus_loc.line, ec->cpus_loc.col);
	for (size_t i = 0; i < al->nr; i++) {
		if (al->rules[i].kind != NETPROXY_RULE_ADDR) {
			names = true;
			continue;
		}
		if (strvec_find(&seen, al->rules[i].host.name) >= 0)
			continue;
		strvec_push(&seen, al->rules[i].host.name);
		strbuf_addf(&addrs, "%s%s", addrs.len ? ", " : "",
			    al->rules[i].host.name);
	}
	if (addrs.len || names)
		strvec_pushf(
			out,
			"%s:%u:%u: backend.network on e2b: E2B's allowOut "
			"has no ports, so %s%s%s%s",
			path, ec->network_loc.line, ec->network_loc.col,
			addrs.len ? addrs.buf : "",
			addrs.len ? " may be reached on every port" : "",
			addrs.len && names ? ", and " : "",
			names ? "a listed name on both 80 and 443 (and "
				"8.8.8.8, for DNS)"
			      : "");
	strbuf_release(&addrs);
	strvec_clear(&seen);
}

/* memory: is the template's, never a limit of the plan's (warn_config). */
static void e2b_traits(const void *config, struct sandbox_traits *out)
{
	const struct sandbox_e2b_config *ec = config;

	out->no_network = ec && !ec->network && !ec->network_allow.nr;
	out->memory = 0;
}

/*
 * E2B ends a sandbox at its plan's maximum lifetime whatever TTL is
 * asked for, so a task whose timeout is longer cannot run to its end:
 * refuse it when the plan is read rather than let E2B kill it
 * (e2b-config.h).
 */
static void e2b_check_plan(const void *config, const struct plan *plan,
			   const struct plan_keys *k)
{
	const struct sandbox_e2b_config *ec = config;
	struct strbuf err = STRBUF_INIT;
	int64_t life = ec->max_lifetime_ms;
	const char *from = "backend.max_lifetime";
	char lb[32], tb[32];

	if (!life) {
		from = "RUNNER_E2B_MAX_LIFETIME";
		if (e2b_conf_max_lifetime(&life, &err) < 0) {
			plan_keys_error_at(k, k->at, "%s", err.buf);
			strbuf_release(&err);
			return;
		}
	}
	format_duration(life, lb, sizeof(lb));
	for (size_t i = 0; i < plan->nr_tasks; i++) {
		const struct plan_task *t = &plan->tasks[i];
		if (t->timeout_ms <= life)
			continue;
		/* A matrix expands one mapping: say it once. */
		if (i && t->loc.line == plan->tasks[i - 1].loc.line &&
		    t->loc.col == plan->tasks[i - 1].loc.col &&
		    plan->tasks[i - 1].timeout_ms > life)
			continue;
		format_duration(t->timeout_ms, tb, sizeof(tb));
		plan_keys_error_at(k, t->loc,
				   "task '%s': timeout %s is longer than an "
				   "E2B sandbox may live (%s, from %s; E2B's "
				   "limit is 1h on Hobby, 24h on Pro)",
				   t->id, tb, lb, from);
	}
	strbuf_release(&err);
}

/*
 * Leftovers: sandboxes of the team whose runner_run metadata names a run
 * (gc then keeps those of this state's runs). Never offline, and nothing
 * without an API key.
 */
static int e2b_list_leftovers(const char *state_dir, const char *run_id,
			      unsigned flags, struct sandbox_leftovers *out,
			      struct strbuf *err)
{
	struct strvec ids = STRVEC_INIT, runs = STRVEC_INIT;
	struct strbuf e = STRBUF_INIT, what = STRBUF_INIT;
	char *filter = run_id ? xstrfmt("runner_run=%s", run_id) : NULL;
	int ret = 0;

	(void)state_dir;
	if ((flags & SANDBOX_LEFTOVERS_OFFLINE) || !getenv("E2B_API_KEY"))
		goto out;
	if (sandbox_e2b_list(filter ? filter : "", &ids, &runs, &e) < 0) {
		strbuf_addf(err, "cannot list E2B sandboxes: %s", e.buf);
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < ids.nr; i++) {
		if (!*runs.v[i])
			continue;
		strbuf_reset(&what);
		strbuf_addf(&what, "e2b sandbox %s (run %s)", ids.v[i],
			    runs.v[i]);
		sandbox_leftovers_add(out, ids.v[i], runs.v[i], what.buf,
				      true);
	}
out:
	strvec_clear(&ids);
	strvec_clear(&runs);
	strbuf_release(&e);
	strbuf_release(&what);
	free(filter);
	return ret;
}

static int e2b_kill_leftover(const char *state_dir,
			     const struct sandbox_leftover *l,
			     struct strbuf *err)
{
	(void)state_dir;
	return sandbox_e2b_kill(l->id, err);
}

const struct sandbox_backend sandbox_e2b = {
	.name = "e2b",
	.config_keys = e2b_keys,
	.parse_config = e2b_parse_config,
	.free_config = e2b_free_config,
	.check_plan = e2b_check_plan,
	.warn_config = e2b_warn_config,
	.traits = e2b_traits,
	.check = e2b_check,
	.create = e2b_create,
	.id = e2b_id,
	.workdir = e2b_workdir,
	.home = e2b_home,
	.put_tree = e2b_put_tree,
	.exec = e2b_exec,
	.pull_changes = e2b_pull_changes,
	.destroy = e2b_destroy,
	.list_leftovers = e2b_list_leftovers,
	.kill_leftover = e2b_kill_leftover,
};

/* ---- gc helpers ---- */

int sandbox_e2b_list(const char *filter, struct strvec *ids,
		     struct strvec *run_ids, struct strbuf *err)
{
	struct e2b_conf conf;
	struct e2b_api api;
	int ret;

	if (e2b_conf_load(&conf, err) < 0)
		return -1;
	e2b_api_init(&api, &conf);
	ret = e2b_api_list(&api, filter, ids, run_ids, err);
	e2b_api_release(&api);
	e2b_conf_release(&conf);
	return ret;
}

int sandbox_e2b_kill(const char *sandbox_id, struct strbuf *err)
{
	struct e2b_conf conf;
	struct e2b_api api;
	int ret;

	if (e2b_conf_load(&conf, err) < 0)
		return -1;
	e2b_api_init(&api, &conf);
	ret = e2b_api_kill(&api, sandbox_id, err);
	e2b_api_release(&api);
	e2b_conf_release(&conf);
	return ret;
}
