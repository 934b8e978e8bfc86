/*
 * test-tool: internals exposed to the shell tests (git's t/helper model).
 *
 *   test-tool NAME [ARGS...]
 *
 * To add a subcommand, write a static cmd__NAME(argc, argv) (argv[0] is
 * NAME) returning the exit status, and add a row to cmds[] below.
 */
#include "runner.h"
#include "sandbox.h"
#include "ws.h"
#include "fs.h"
#include "netproxy.h"
#include "proc.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>

/* sandbox-run: one task through the local backend, create to destroy. */

static atomic_int sr_cancel;
static atomic_int sr_kill_now;
static atomic_int *sr_timer_flag;

static void sr_on_alarm(int sig)
{
	(void)sig;
	if (sr_timer_flag)
		atomic_store(sr_timer_flag, 1);
}

struct sr_out {
	bool count_only;
	uint64_t bytes;
	int64_t fail_after;     /* on_output fails past this; -1: never */
	int write_errno;
};

static int sr_on_output(void *ctx, const char *buf, size_t len)
{
	struct sr_out *o = ctx;

	o->bytes += len;
	if (!o->count_only && fs_write_all(1, buf, len) < 0)
		o->write_errno = errno;
	if (o->fail_after >= 0 && o->bytes > (uint64_t)o->fail_after)
		return -1;
	return 0;
}

static void sr_on_warn(void *ctx, int64_t elapsed_ms)
{
	(void)ctx;
	fprintf(stderr, "warn elapsed_ms=%" PRId64 "\n", elapsed_ms);
}

static const char sandbox_run_usage[] =
	"usage: test-tool sandbox-run [--isolation sandbox|none] [--network]\n"
	"  [--memory SIZE] [--timeout DUR] [--warn-at DUR]... [--grace DUR]\n"
	"  [--workspace DIR] [--changes DIR] [--env K=V]... [--stdin FILE]\n"
	"  [--state DIR] [--task ID] [--cancel-after DUR | --kill-after DUR]\n"
	"  [--fail-output-after BYTES] [--count] [--no-check] CMD\n";

static int cmd__sandbox_run(int argc, const char **argv)
{
	const struct sandbox_backend *be =
		sandbox_backend_for(PLAN_BACKEND_LOCAL);
	struct sandbox_config cfg = {
		.run_id = "test", .task_id = "task", .attempt = 1,
		.state_dir = "state", .isolation = PLAN_ISOLATION_SANDBOX,
	};
	struct sandbox_cmd cmd = { 0 };
	struct sandbox_status st;
	struct sandbox *sb = NULL;
	struct ws_manifest m = { 0 };
	struct ws_changes changes = { 0 };
	struct strvec env = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	struct sr_out out = { .fail_after = -1 };
	int64_t warn_at[16], timer_ms = 0;
	size_t nr_warn = 0;
	const char *workspace = NULL, *changes_dir = NULL, *script = NULL;
	const char *sh_argv[4] = { "/bin/sh", "-c", NULL, NULL };
	bool check = true;
	struct rusage ru;
	int ret = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int64_t n;
		uint64_t sz;

		if (!strcmp(a, "--network")) {
			cfg.network = true;
			continue;
		} else if (!strcmp(a, "--no-check")) {
			check = false;
			continue;
		} else if (!strcmp(a, "--count")) {
			out.count_only = true;
			continue;
		} else if (a[0] != '-' || !strcmp(a, "--")) {
			if (!strcmp(a, "--"))
				i++;
			if (i != argc - 1)
				goto usage;
			script = argv[i];
			break;
		}
		if (!v)
			goto usage;
		i++;
		if (!strcmp(a, "--isolation")) {
			if (!strcmp(v, "sandbox"))
				cfg.isolation = PLAN_ISOLATION_SANDBOX;
			else if (!strcmp(v, "none"))
				cfg.isolation = PLAN_ISOLATION_NONE;
			else
				goto usage;
		} else if (!strcmp(a, "--memory")) {
			if (parse_size(v, &cfg.memory) < 0)
				goto usage;
		} else if (!strcmp(a, "--timeout")) {
			if (parse_duration_ms(v, &n) < 0)
				goto usage;
			cfg.timeout_ms = cmd.timeout_ms = n;
		} else if (!strcmp(a, "--grace")) {
			if (parse_duration_ms(v, &n) < 0)
				goto usage;
			cmd.grace_ms = n;
		} else if (!strcmp(a, "--warn-at")) {
			if (parse_duration_ms(v, &n) < 0 ||
			    nr_warn == ARRAY_SIZE(warn_at))
				goto usage;
			warn_at[nr_warn++] = n;
		} else if (!strcmp(a, "--cancel-after") ||
			   !strcmp(a, "--kill-after")) {
			if (parse_duration_ms(v, &n) < 0 || n <= 0 ||
			    sr_timer_flag)
				goto usage;
			timer_ms = n;
			sr_timer_flag = a[2] == 'c' ? &sr_cancel
						    : &sr_kill_now;
		} else if (!strcmp(a, "--fail-output-after")) {
			if (parse_size(v, &sz) < 0)
				goto usage;
			out.fail_after = (int64_t)sz;
		} else if (!strcmp(a, "--workspace")) {
			workspace = v;
		} else if (!strcmp(a, "--changes")) {
			changes_dir = v;
		} else if (!strcmp(a, "--env")) {
			strvec_push(&env, v);
		} else if (!strcmp(a, "--stdin")) {
			cmd.stdin_path = v;
		} else if (!strcmp(a, "--state")) {
			cfg.state_dir = v;
		} else if (!strcmp(a, "--task")) {
			cfg.task_id = v;
		} else {
			goto usage;
		}
	}
	if (!script)
		goto usage;

	if (check && be->check(&cfg, &err) < 0)
		goto fail;
	if (workspace && ws_snapshot(workspace, NULL, &m, &err) < 0)
		goto fail;
	if (be->create(&cfg, &sb, &err) < 0)
		goto fail;
	fprintf(stderr, "sandbox=%s\n", be->id(sb));
	if (be->put_tree(sb, &m, workspace ? workspace : ".", &err) < 0)
		goto fail;

	sh_argv[2] = script;
	cmd.argv = sh_argv;
	cmd.env = env.v;
	cmd.warn_at_ms = warn_at;
	cmd.nr_warn_at = nr_warn;
	cmd.on_output = sr_on_output;
	cmd.on_warn = sr_on_warn;
	cmd.cancel = &sr_cancel;
	cmd.kill_now = &sr_kill_now;
	cmd.ctx = &out;
	if (timer_ms) {
		struct sigaction sa = { .sa_handler = sr_on_alarm };
		struct itimerval it = { .it_value = {
			.tv_sec = timer_ms / 1000,
			.tv_usec = (timer_ms % 1000) * 1000 } };

		sa.sa_flags = SA_RESTART;
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
	}
	if (be->exec(sb, &cmd, &st, &err) < 0)
		goto fail;
	if (out.count_only)
		printf("bytes=%" PRIu64 "\n", out.bytes);
	if (fflush(stdout) || out.write_errno) {
		strbuf_addstr(&err, "cannot write the output");
		goto fail;
	}
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "exit=%d signal=%d timed_out=%d cancelled=%d "
		"duration_ms=%" PRId64 " maxrss_kb=%ld\n", st.exit_code,
		st.term_signal, st.timed_out, st.cancelled, st.duration_ms,
		ru.ru_maxrss);

	if (changes_dir) {
		struct ws_pull_opts po = { .dest = changes_dir };

		if (be->pull_changes(sb, &m, &po, &changes, &err) < 0)
			goto fail;
		for (size_t i = 0; i < changes.nr; i++)
			fprintf(stderr, "change %c %s\n",
				changes.items[i].kind, changes.items[i].path);
	}
	ret = 0;
	goto out;
usage:
	fputs(sandbox_run_usage, stderr);
	ret = 2;
	goto out;
fail:
	fprintf(stderr, "test-tool: %s\n", err.buf);
	ret = 1;
out:
	if (sb) {
		strbuf_reset(&err);
		if (be->destroy(sb, &err) < 0) {
			fprintf(stderr, "test-tool: %s\n", err.buf);
			ret = 1;
		}
	}
	ws_changes_release(&changes);
	ws_manifest_release(&m);
	strvec_clear(&env);
	strbuf_release(&err);
	return ret;
}

/*
 * netproxy-run: CMD under bubblewrap with its own empty network namespace
 * and the network proxy as its only way out, as the local backend will
 * run a task with network: [ALLOWLIST]. Prints the task's output on
 * stdout; on stderr "exit=N", one "refused DEST reason=R count=N" and one
 * "event TEXT" line per refused destination, and a stats line.
 */

struct nr_name {
	char name[256];
	struct netproxy_addr addrs[8];
	int nr;
};

static struct nr_name nr_names[32];
static size_t nr_nr_names;

/* The fake resolver of --resolve NAME=ADDR[,ADDR...]; ADDR "-": none. */
static int nr_resolve(void *ctx, const char *name, struct netproxy_addr *out,
		      size_t max)
{
	(void)ctx;
	for (size_t i = 0; i < nr_nr_names; i++) {
		if (strcmp(nr_names[i].name, name))
			continue;
		if (!nr_names[i].nr)
			return -1;
		for (int k = 0; k < nr_names[i].nr && (size_t)k < max; k++)
			out[k] = nr_names[i].addrs[k];
		return nr_names[i].nr;
	}
	return -1;
}

static int nr_add_name(const char *spec)
{
	const char *eq = strchr(spec, '=');
	struct nr_name *n;
	char *list, *p;

	if (!eq || eq == spec || nr_nr_names == ARRAY_SIZE(nr_names) ||
	    (size_t)(eq - spec) >= sizeof(n->name))
		return -1;
	n = &nr_names[nr_nr_names++];
	memcpy(n->name, spec, (size_t)(eq - spec));
	n->name[eq - spec] = '\0';
	list = xstrdup(eq + 1);
	for (p = list; *p && strcmp(p, "-");) {
		char *comma = strchr(p, ',');
		struct netproxy_host h;

		if (comma)
			*comma = '\0';
		if (n->nr == (int)ARRAY_SIZE(n->addrs) ||
		    netproxy_host_parse(p, strlen(p), true, &h) < 0 ||
		    h.kind != NETPROXY_HOST_ADDR) {
			free(list);
			return -1;
		}
		n->addrs[n->nr++] = h.addr;
		if (!comma)
			break;
		p = comma + 1;
	}
	free(list);
	return 0;
}

static int nr_on_output(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	return fs_write_all(1, buf, len) < 0 ? -1 : 0;
}

static void nr_push(struct strvec *args, const char *a, const char *b)
{
	strvec_push(args, a);
	if (b)
		strvec_push(args, b);
}

static const char netproxy_run_usage[] =
	"usage: test-tool netproxy-run [--allow HOST:PORT]...\n"
	"  [--resolve NAME=ADDR[,ADDR]...]... [--env K=V]... [--timeout DUR]\n"
	"  [--idle-timeout DUR] [--connect-timeout DUR] [--head-timeout DUR]\n"
	"  [--max-conns N] [--buf-size SIZE] [--no-helper] [--] SCRIPT\n";

static int cmd__netproxy_run(int argc, const char **argv)
{
	struct netproxy_allowlist al = NETPROXY_ALLOWLIST_INIT;
	struct netproxy_opts opts = { 0 };
	struct netproxy_sandbox sbx = NETPROXY_SANDBOX_INIT;
	struct netproxy_report rep = NETPROXY_REPORT_INIT;
	struct netproxy *np = NULL;
	struct netproxy_task *task = NULL;
	struct proc_run_opts ro = PROC_RUN_OPTS_INIT;
	struct proc_result res = { 0 };
	struct proc p = PROC_INIT;
	struct strvec env = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	const char *script = NULL;
	bool helper = true;
	struct rusage ru;
	int ret = 1;

	strvec_push(&env, "PATH=/usr/bin:/bin");
	strvec_push(&env, "HOME=/tmp");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int64_t n;
		uint64_t sz;

		if (!strcmp(a, "--no-helper")) {
			helper = false;
			continue;
		} else if (a[0] != '-' || !strcmp(a, "--")) {
			if (!strcmp(a, "--"))
				i++;
			if (i != argc - 1)
				goto usage;
			script = argv[i];
			break;
		}
		if (!v)
			goto usage;
		i++;
		if (!strcmp(a, "--allow")) {
			if (netproxy_allowlist_add(&al, v, &err) < 0)
				goto fail;
		} else if (!strcmp(a, "--resolve")) {
			if (nr_add_name(v) < 0)
				goto usage;
			opts.resolve = nr_resolve;
		} else if (!strcmp(a, "--env")) {
			strvec_push(&env, v);
		} else if (!strcmp(a, "--timeout")) {
			if (parse_duration_ms(v, &n) < 0)
				goto usage;
			ro.timeout_ms = n;
		} else if (!strcmp(a, "--idle-timeout")) {
			if (parse_duration_ms(v, &n) < 0)
				goto usage;
			opts.idle_timeout_ms = n;
		} else if (!strcmp(a, "--connect-timeout")) {
			if (parse_duration_ms(v, &n) < 0)
				goto usage;
			opts.connect_timeout_ms = n;
		} else if (!strcmp(a, "--head-timeout")) {
			if (parse_duration_ms(v, &n) < 0)
				goto usage;
			opts.head_timeout_ms = n;
		} else if (!strcmp(a, "--max-conns")) {
			if (parse_size(v, &sz) < 0 || !sz || sz > 100000)
				goto usage;
			opts.max_conns = (unsigned)sz;
		} else if (!strcmp(a, "--buf-size")) {
			if (parse_size(v, &sz) < 0)
				goto usage;
			opts.buf_size = (size_t)sz;
		} else {
			goto usage;
		}
	}
	if (!script)
		goto usage;

	np = netproxy_new(&opts, &err);
	if (!np)
		goto fail;
	if (netproxy_sandbox_prepare(&sbx, NULL, &err) < 0)
		goto fail;
	netproxy_sandbox_env(&env);

	strvec_push(&p.args, "bwrap");
	nr_push(&p.args, "--die-with-parent", NULL);
	nr_push(&p.args, "--unshare-all", NULL);
	nr_push(&p.args, "--new-session", NULL);
	nr_push(&p.args, "--cap-drop", "ALL");
	nr_push(&p.args, "--hostname", "runner");
	nr_push(&p.args, "--ro-bind", "/usr");
	nr_push(&p.args, "/usr", NULL);
	{
		static const char *const dirs[] = {
			"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
		};

		for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
			char target[PATH_MAX];
			ssize_t n = readlink(dirs[i], target,
					     sizeof(target) - 1);

			if (n > 0) {
				target[n] = '\0';
				nr_push(&p.args, "--symlink", target);
				nr_push(&p.args, dirs[i], NULL);
			} else if (fs_exists(dirs[i]) > 0) {
				nr_push(&p.args, "--ro-bind", dirs[i]);
				nr_push(&p.args, dirs[i], NULL);
			}
		}
	}
	nr_push(&p.args, "--ro-bind", "/etc");
	nr_push(&p.args, "/etc", NULL);
	nr_push(&p.args, "--proc", "/proc");
	nr_push(&p.args, "--dev", "/dev");
	nr_push(&p.args, "--tmpfs", "/tmp");
	nr_push(&p.args, "--chdir", "/tmp");
	nr_push(&p.args, "--clearenv", NULL);
	for (size_t i = 0; i < env.nr; i++) {
		const char *eq = strchr(env.v[i], '=');
		char *name;

		if (!eq)
			continue;
		name = xstrndup(env.v[i], (size_t)(eq - env.v[i]));
		nr_push(&p.args, "--setenv", name);
		nr_push(&p.args, eq + 1, NULL);
		free(name);
	}
	nr_push(&p.args, "--", NULL);
	if (helper)
		netproxy_sandbox_argv(&sbx, &p.args);
	nr_push(&p.args, "/bin/sh", "-c");
	nr_push(&p.args, script, NULL);
	p.die_with_parent = true;
	if (!getuid()) {
		p.drop_privs = true;
		p.uid = 65534;
		p.gid = 65534;
	}
	p.keep_fds[p.nr_keep_fds++] = sbx.exe_fd;
	p.keep_fds[p.nr_keep_fds++] = sbx.inner_fd;

	task = netproxy_attach(np, &al, sbx.outer_fd, &err);
	sbx.outer_fd = -1;
	if (!task)
		goto fail;
	if (proc_start(&p, &err) < 0) {
		netproxy_sandbox_started(&sbx);
		goto fail;
	}
	netproxy_sandbox_started(&sbx);
	ro.on_output = nr_on_output;
	if (proc_run(&p, &ro, &res, &err) < 0)
		goto fail;
	netproxy_detach(task, &rep);
	task = NULL;

	fprintf(stderr, "exit=%d signal=%d timed_out=%d\n", res.exit_code,
		res.term_signal, res.timed_out);
	for (size_t i = 0; i < rep.nr; i++) {
		static const char *const reasons[] = {
			[NETPROXY_REFUSED_NOT_LISTED] = "not-listed",
			[NETPROXY_REFUSED_ADDRESS] = "address",
			[NETPROXY_REFUSED_MALFORMED] = "malformed",
		};
		struct strbuf ev = STRBUF_INIT;

		netproxy_refusal_format(&rep.refusals[i], &ev);
		fprintf(stderr, "refused %s reason=%s count=%" PRIu64 "\n",
			rep.refusals[i].dest[0] ? rep.refusals[i].dest : "-",
			reasons[rep.refusals[i].reason], rep.refusals[i].count);
		fprintf(stderr, "event %s\n", ev.buf);
		strbuf_release(&ev);
	}
	if (rep.error)
		fprintf(stderr, "error=%s\n", rep.error);
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr,
		"connections=%" PRIu64 " forwarded=%" PRIu64 " failed=%" PRIu64
		" timed_out=%" PRIu64 " peak=%u bytes_out=%" PRIu64
		" bytes_in=%" PRIu64 " dropped=%" PRIu64 " maxrss_kb=%ld\n",
		rep.connections, rep.forwarded, rep.failed, rep.timed_out,
		rep.peak_connections, rep.bytes_out, rep.bytes_in,
		rep.refusals_dropped, ru.ru_maxrss);
	ret = res.exit_code >= 0 ? res.exit_code : 128 + res.term_signal;
	goto out;
usage:
	fputs(netproxy_run_usage, stderr);
	ret = 2;
	goto out;
fail:
	fprintf(stderr, "test-tool: %s\n", err.buf);
	ret = 125;
out:
	if (task)
		netproxy_detach(task, NULL);
	netproxy_free(np);
	netproxy_report_release(&rep);
	netproxy_sandbox_release(&sbx);
	netproxy_allowlist_release(&al);
	proc_release(&p);
	strvec_clear(&env);
	strbuf_release(&err);
	return ret;
}

/* The helper, run in the sandbox from this very binary. */
static int cmd__netproxy_helper(int argc, const char **argv)
{
	struct strbuf err = STRBUF_INIT;

	netproxy_helper_main(argc, argv, &err);
	fprintf(stderr, "test-tool: %s\n", err.buf);
	strbuf_release(&err);
	return 127;
}

struct test_cmd {
	const char *name;
	int (*fn)(int argc, const char **argv);
};

static const struct test_cmd cmds[] = {
	{ "sandbox-run", cmd__sandbox_run },
	{ "netproxy-run", cmd__netproxy_run },
	{ NETPROXY_HELPER, cmd__netproxy_helper },
};

int main(int argc, const char **argv)
{
	if (argc < 2) {
		fputs("usage: test-tool NAME [ARGS...]\n", stderr);
		return 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(cmds[i].name, argv[1]))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "test-tool: unknown subcommand '%s'\n", argv[1]);
	return 2;
}
