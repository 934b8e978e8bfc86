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

struct test_cmd {
	const char *name;
	int (*fn)(int argc, const char **argv);
};

static const struct test_cmd cmds[] = {
	{ "sandbox-run", cmd__sandbox_run },
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
