/*
 * e2b-tool: drive the e2b backend the way the scheduler does, for
 * tests/t/t4000-e2b.sh.
 *
 *   e2b-tool run --workspace DIR --changes DIR [options] CMD [ARG...]
 *       snapshot, create, put_tree, exec, pull_changes, destroy (always).
 *       One CMD argument runs as /bin/sh -c CMD; more run as argv.
 *       Options: --timeout DUR, --warn-at DUR (repeatable), --grace DUR,
 *       --stdin FILE, --pull PAT, --exclude PAT (repeatable),
 *       --pull-limit BYTES, --env NAME=VALUE (repeatable), --template T,
 *       --network, --run-id ID, --task-id ID, --attempt N,
 *       --cancel-after DUR, --kill-after DUR, --fail-output-after BYTES,
 *       --gate DUR | --gate-cancel DUR (a wait_go that says go, or
 *       cancelled, after DUR),
 *       --hook (print the created hook's call), --hook-fail,
 *       --rusage (print CPU time and max RSS at the end),
 *       --backend local [--state DIR] (the local backend instead, to
 *       compare what the two pull back).
 *       Task output goes to stdout as it arrives; then
 *         status: exit=N signal=N timed_out=0|1 cancelled=0|1 sandbox=ID
 *         change: K TYPE PATH size=N sha=HEX [base=HEX] pulled=0|1
 *                 [note=...]
 *         changes: N pulled=BYTES refused=N
 *       Exit 0 when every step worked (whatever the task's own status),
 *       1 with "e2b-tool: error: MSG" on stderr otherwise, 2 on usage.
 *   e2b-tool check              the backend's check()
 *   e2b-tool list [FILTER]      sandbox_e2b_list(): "ID RUN" a line
 *   e2b-tool kill ID            sandbox_e2b_kill()
 */
#include "runner.h"
#include "sandbox-e2b.h"
#include "sandbox-local.h"
#include "ws.h"
#include "hash.h"
#include "fs.h"
#include "timeutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>

static int usage(void)
{
	fprintf(stderr, "usage: e2b-tool run --workspace DIR --changes DIR "
		"[options] CMD...\n       e2b-tool check|list [FILTER]|"
		"kill ID\n");
	return 2;
}

static int64_t parse_dur(const char *s)
{
	char *end;
	long long n = strtoll(s, &end, 10);
	if (end == s || n < 0)
		return -1;
	if (!strcmp(end, "ms"))
		return n;
	if (!*end || !strcmp(end, "s"))
		return n * 1000;
	if (!strcmp(end, "m"))
		return n * 60000;
	return -1;
}

struct out_ctx {
	int64_t fail_after; /* -1: never */
	uint64_t bytes;
	int64_t t0;
};

static int on_output(void *ctx, const char *buf, size_t len)
{
	struct out_ctx *o = ctx;
	fs_write_all(1, buf, len);
	o->bytes += len;
	if (o->fail_after >= 0 && o->bytes > (uint64_t)o->fail_after)
		return -1;
	return 0;
}

static void on_warn(void *ctx, int64_t elapsed_ms)
{
	(void)ctx;
	fprintf(stderr, "e2b-tool: warning: still running after %" PRId64
		" ms\n", elapsed_ms);
}

static int64_t gate_ms = -1; /* wait_go: sleep this long, then go */
static bool gate_cancel;      /* wait_go: say "cancelled" instead */

static int wait_go(void *ctx)
{
	(void)ctx;
	time_sleep_ms(gate_ms);
	fprintf(stderr, "e2b-tool: %s\n", gate_cancel ? "no go" : "go");
	return !gate_cancel;
}

static int hook_mode; /* 1 print, 2 fail */

static int created_hook(void *ctx, const struct sandbox_config *cfg,
			const char *id, struct strbuf *err)
{
	(void)ctx;
	fprintf(stderr, "e2b-tool: created %s for %s/%s#%d\n", id,
		cfg->run_id, cfg->task_id, cfg->attempt);
	if (hook_mode == 2) {
		strbuf_addstr(err, "cannot record the sandbox id");
		return -1;
	}
	return 0;
}

struct timer {
	int64_t after_ms;
	atomic_int *flag;
};

static void *timer_main(void *arg)
{
	struct timer *t = arg;
	time_sleep_ms(t->after_ms);
	atomic_store(t->flag, 1);
	return NULL;
}

static const char *type_name(enum ws_type t)
{
	return t == WS_DIR ? "dir" : t == WS_LINK ? "link" : "file";
}

static void print_changes(const struct ws_changes *c)
{
	for (size_t i = 0; i < c->nr; i++) {
		const struct ws_change *ch = &c->items[i];
		char hex[65];
		sha256_hex(ch->sha256, hex);
		printf("change: %c %s %s size=%" PRIu64 " sha=%s", ch->kind,
		       type_name(ch->type), ch->path, ch->size, hex);
		if (ch->has_base) {
			sha256_hex(ch->base_sha256, hex);
			printf(" base=%s", hex);
		}
		printf(" pulled=%d", ch->pulled);
		if (ch->note)
			printf(" note=%s", ch->note);
		printf("\n");
	}
	printf("changes: %zu pulled=%" PRIu64 " refused=%zu\n", c->nr,
	       c->bytes_pulled, c->nr_refused);
}

static int cmd_run(int argc, const char **argv)
{
	const struct sandbox_backend *be = &sandbox_e2b;
	const char *state = ".e2b-tool-state";
	const char *workspace = NULL, *changes = NULL, *stdin_path = NULL;
	struct strvec pull = STRVEC_INIT, exclude = STRVEC_INIT;
	struct strvec env = STRVEC_INIT, cmdv = STRVEC_INIT;
	int64_t warn[16];
	size_t nr_warn = 0;
	struct sandbox_config cfg = { .run_id = "run-test", .task_id = "task",
				      .attempt = 1 };
	struct sandbox_e2b_config ec = { .template_id = (char *)"base" };
	struct sandbox_local_config lc = { .isolation = LOCAL_ISOLATION_SANDBOX };
	struct sandbox_cmd cmd = { 0 };
	struct sandbox_status st;
	struct ws_manifest m = { 0 };
	struct ws_changes ch = { 0 };
	struct ws_snapshot_opts sopts = { 0 };
	struct ws_pull_opts popts = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct sandbox *sb = NULL;
	struct out_ctx out = { .fail_after = -1 };
	atomic_int cancel = 0, kill_now = 0;
	struct timer tcancel = { -1, &cancel }, tkill = { -1, &kill_now };
	pthread_t th[2];
	int nth = 0, ret = 1, i;
	bool rusage = false, have_env_path = false;

	cmd.grace_ms = 2000;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (a[0] != '-')
			break;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "--network")) {
			ec.network = lc.network = true;
		} else if (!strcmp(a, "--hook")) {
			hook_mode = 1;
		} else if (!strcmp(a, "--hook-fail")) {
			hook_mode = 2;
		} else if (!strcmp(a, "--rusage")) {
			rusage = true;
		} else if (!v) {
			return usage();
		} else {
			i++;
			if (!strcmp(a, "--workspace"))
				workspace = v;
			else if (!strcmp(a, "--changes"))
				changes = v;
			else if (!strcmp(a, "--timeout"))
				cmd.timeout_ms = parse_dur(v);
			else if (!strcmp(a, "--grace"))
				cmd.grace_ms = parse_dur(v);
			else if (!strcmp(a, "--warn-at") &&
				 nr_warn < ARRAY_SIZE(warn))
				warn[nr_warn++] = parse_dur(v);
			else if (!strcmp(a, "--stdin"))
				stdin_path = v;
			else if (!strcmp(a, "--pull"))
				strvec_push(&pull, v);
			else if (!strcmp(a, "--exclude"))
				strvec_push(&exclude, v);
			else if (!strcmp(a, "--pull-limit"))
				popts.pull_limit = strtoull(v, NULL, 10);
			else if (!strcmp(a, "--env"))
				strvec_push(&env, v);
			else if (!strcmp(a, "--backend") &&
				 !strcmp(v, "local"))
				be = &sandbox_local;
			else if (!strcmp(a, "--state"))
				state = v;
			else if (!strcmp(a, "--template"))
				ec.template_id = (char *)v;
			else if (!strcmp(a, "--run-id"))
				cfg.run_id = v;
			else if (!strcmp(a, "--task-id"))
				cfg.task_id = v;
			else if (!strcmp(a, "--attempt"))
				cfg.attempt = (int)strtol(v, NULL, 10);
			else if (!strcmp(a, "--cancel-after"))
				tcancel.after_ms = parse_dur(v);
			else if (!strcmp(a, "--kill-after"))
				tkill.after_ms = parse_dur(v);
			else if (!strcmp(a, "--gate"))
				gate_ms = parse_dur(v);
			else if (!strcmp(a, "--gate-cancel")) {
				gate_ms = parse_dur(v);
				gate_cancel = true;
			} else if (!strcmp(a, "--fail-output-after"))
				out.fail_after = strtoll(v, NULL, 10);
			else
				return usage();
		}
	}
	if (!workspace || !changes || i >= argc)
		return usage();
	if (argc - i == 1) {
		strvec_push(&cmdv, "/bin/sh");
		strvec_push(&cmdv, "-c");
	}
	for (; i < argc; i++)
		strvec_push(&cmdv, argv[i]);
	for (size_t k = 0; k < env.nr; k++)
		have_env_path |= !strncmp(env.v[k], "PATH=", 5);
	if (!have_env_path)
		strvec_push(&env, "PATH=/usr/local/bin:/usr/bin:/bin");
	strvec_pushf(&env, "RUNNER_RUN_ID=%s", cfg.run_id);
	strvec_pushf(&env, "RUNNER_TASK_ID=%s", cfg.task_id);
	strvec_pushf(&env, "RUNNER_ATTEMPT=%d", cfg.attempt);
	cfg.timeout_ms = cmd.timeout_ms;
	cfg.state_dir = state;
	cfg.backend_config = be == &sandbox_local ? (const void *)&lc
						  : (const void *)&ec;
	if (hook_mode)
		cfg.on_created = created_hook;

	sopts.exclude = &exclude;
	popts.pull = &pull;
	popts.dest = changes;
	if (be->check(&cfg, &err) < 0 ||
	    ws_snapshot(workspace, &sopts, &m, &err) < 0 ||
	    be->create(&cfg, &sb, &err) < 0)
		goto out;
	fprintf(stderr, "e2b-tool: sandbox %s\n", be->id(sb));
	strvec_pushf(&env, "HOME=%s", be->home(sb));
	if (be->put_tree(sb, &m, workspace, &err) < 0)
		goto out;

	cmd.argv = cmdv.v;
	cmd.env = env.v;
	cmd.stdin_path = stdin_path;
	cmd.warn_at_ms = warn;
	cmd.nr_warn_at = nr_warn;
	cmd.on_output = on_output;
	cmd.on_warn = on_warn;
	cmd.cancel = &cancel;
	cmd.kill_now = &kill_now;
	cmd.ctx = &out;
	if (gate_ms >= 0)
		cmd.wait_go = wait_go;
	if (tcancel.after_ms >= 0)
		pthread_create(&th[nth++], NULL, timer_main, &tcancel);
	if (tkill.after_ms >= 0)
		pthread_create(&th[nth++], NULL, timer_main, &tkill);
	if (be->exec(sb, &cmd, &st, &err) < 0)
		goto out;
	printf("status: exit=%d signal=%d timed_out=%d cancelled=%d "
	       "sandbox=%s\n", st.exit_code, st.term_signal, st.timed_out,
	       st.cancelled, be->id(sb));
	fflush(stdout);
	if (be->pull_changes(sb, &m, &popts, &ch, &err) < 0)
		goto out;
	print_changes(&ch);
	ret = 0;
out:
	fflush(stdout);
	if (ret)
		fprintf(stderr, "e2b-tool: error: %s\n", err.buf);
	if (sb) {
		strbuf_reset(&err);
		if (be->destroy(sb, &err) < 0) {
			fprintf(stderr, "e2b-tool: error: destroy: %s\n",
				err.buf);
			ret = 1;
		}
	}
	for (int k = 0; k < nth; k++)
		pthread_join(th[k], NULL);
	if (rusage) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		fprintf(stderr, "e2b-tool: rusage: user_ms=%ld sys_ms=%ld "
			"maxrss_kb=%ld\n",
			(long)(ru.ru_utime.tv_sec * 1000 +
			       ru.ru_utime.tv_usec / 1000),
			(long)(ru.ru_stime.tv_sec * 1000 +
			       ru.ru_stime.tv_usec / 1000),
			ru.ru_maxrss);
	}
	ws_manifest_release(&m);
	ws_changes_release(&ch);
	strvec_clear(&pull);
	strvec_clear(&exclude);
	strvec_clear(&env);
	strvec_clear(&cmdv);
	strbuf_release(&err);
	return ret;
}

int main(int argc, const char **argv)
{
	struct strbuf err = STRBUF_INIT;
	int ret = 1;

	/* As main.c does: a peer closing a socket is an error, not death. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check")) {
		struct sandbox_config cfg = { 0 };
		ret = sandbox_e2b.check(&cfg, &err) < 0;
	} else if (!strcmp(argv[1], "list") && argc <= 3) {
		struct strvec ids = STRVEC_INIT, runs = STRVEC_INIT;
		ret = sandbox_e2b_list(argc == 3 ? argv[2] : NULL, &ids,
				       &runs, &err) < 0;
		for (size_t i = 0; !ret && i < ids.nr; i++)
			printf("%s %s\n", ids.v[i], runs.v[i]);
		strvec_clear(&ids);
		strvec_clear(&runs);
	} else if (!strcmp(argv[1], "kill") && argc == 3) {
		ret = sandbox_e2b_kill(argv[2], &err) < 0;
	} else {
		return usage();
	}
	if (ret)
		fprintf(stderr, "e2b-tool: error: %s\n", err.buf);
	strbuf_release(&err);
	return ret;
}
