/*
 * test-tool: internals exposed to the shell tests (git's t/helper model).
 *
 *   test-tool NAME [ARGS...]
 *
 * To add a subcommand, write a static cmd__NAME(argc, argv) (argv[0] is
 * NAME) returning the exit status, and add a row to cmds[] below.
 */
#include "runner.h"
#include "sandbox-local.h"
#include "ws.h"
#include "fs.h"
#include "netproxy.h"
#include "proc.h"
#include "cgroup.h"
#include "plan.h"
#include "timeutil.h"
#include "agent-stream.h"
#include "prices.h"

#include <cJSON.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

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
	const struct sandbox_backend *be = &sandbox_local;
	struct sandbox_local_config lc = { .isolation = LOCAL_ISOLATION_SANDBOX };
	struct sandbox_config cfg = {
		.run_id = "test", .task_id = "task", .attempt = 1,
		.state_dir = "state", .backend_config = &lc,
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
			lc.network = true;
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
				lc.isolation = LOCAL_ISOLATION_SANDBOX;
			else if (!strcmp(v, "none"))
				lc.isolation = LOCAL_ISOLATION_NONE;
			else
				goto usage;
		} else if (!strcmp(a, "--memory")) {
			if (parse_size(v, &lc.memory) < 0)
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
 * cgroup-probe, cgroup-run, cgroup-cleanup, cgroup-bench: the cgroup
 * module (runner/cgroup.h) on this host's real cgroups.
 */

struct cg_opts {
	enum cgroup_mode want;
	unsigned flags;
	struct cgroup_limits lim;
	int64_t timeout_ms;
	const char *name;
	long count;
	bool clone3; /* v2: start the child by CLONE_INTO_CGROUP */
};

/* Parse the options all cgroup-* share; returns the index after them. */
static int cg_parse_opts(int argc, const char **argv, struct cg_opts *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;

		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "--v2-bare")) {
			o->flags |= CGROUP_PROBE_V2_BARE;
			continue;
		} else if (!strcmp(a, "--no-freezer")) {
			o->flags |= CGROUP_PROBE_NO_FREEZER;
			continue;
		} else if (!strcmp(a, "--clone3")) {
			o->clone3 = true;
			continue;
		} else if (a[0] != '-') {
			break;
		}
		if (!v)
			return -1;
		i++;
		if (!strcmp(a, "--mode")) {
			if (!strcmp(v, "v1"))
				o->want = CGROUP_V1;
			else if (!strcmp(v, "v2"))
				o->want = CGROUP_V2;
			else if (!strcmp(v, "auto"))
				o->want = CGROUP_NONE;
			else
				return -1;
		} else if (!strcmp(a, "--memory")) {
			if (parse_size(v, &o->lim.memory) < 0)
				return -1;
		} else if (!strcmp(a, "--pids")) {
			o->lim.pids = strtoull(v, &end, 10);
			if (*end || !*v)
				return -1;
		} else if (!strcmp(a, "--cpus")) {
			if (cgroup_parse_cpus(v, &o->lim.cpus) < 0)
				return -1;
		} else if (!strcmp(a, "--timeout")) {
			if (parse_duration_ms(v, &o->timeout_ms) < 0)
				return -1;
		} else if (!strcmp(a, "--name")) {
			o->name = v;
		} else if (!strcmp(a, "--count")) {
			o->count = strtol(v, &end, 10);
			if (*end || o->count <= 0)
				return -1;
		} else {
			return -1;
		}
	}
	return i;
}

static const char cgroup_usage_text[] =
	"usage: test-tool cgroup-probe|cgroup-cleanup [--mode v1|v2|auto]\n"
	"         [--v2-bare] [--no-freezer] [--memory SIZE] [--pids N]"
	" [--cpus N]\n"
	"   or: test-tool cgroup-run [those options] [--timeout DUR]"
	" [--name NAME] [--clone3] -- CMD...\n"
	"   or: test-tool cgroup-bench [those options] [--clone3] --count N\n";

static int cg_setup(const struct cg_opts *o, struct cgroup_host *h,
		    struct strbuf *err)
{
	if (cgroup_probe(h, o->want, o->flags) == CGROUP_NONE) {
		strbuf_addstr(err, h->reason.buf);
		return -1;
	}
	return cgroup_host_prepare(h, err);
}

static int cmd__cgroup_probe(int argc, const char **argv)
{
	struct cg_opts o = { 0 };
	struct cgroup_host h = CGROUP_HOST_INIT;
	struct strbuf note = STRBUF_INIT;
	static const char *const modes[] = { "none", "v1", "v2" };
	int ret;

	if (cg_parse_opts(argc, argv, &o) != argc) {
		fputs(cgroup_usage_text, stderr);
		return 2;
	}
	cgroup_probe(&h, o.want, o.flags);
	printf("mode=%s\nreason=%s\n", modes[h.mode], h.reason.buf);
	for (size_t i = 0; i < h.nr_hier; i++)
		printf("dir=%s\n", h.hier[i].dir);
	cgroup_note(&h, &o.lim, &note);
	if (note.len)
		printf("note=%s\n", note.buf);
	ret = h.mode == CGROUP_NONE ? 1 : 0;
	strbuf_release(&note);
	cgroup_host_release(&h);
	return ret;
}

static int cmd__cgroup_cleanup(int argc, const char **argv)
{
	struct cg_opts o = { 0 };
	struct cgroup_host h = CGROUP_HOST_INIT;
	struct strbuf err = STRBUF_INIT;
	int removed = 0, ret = 0;

	if (cg_parse_opts(argc, argv, &o) != argc) {
		fputs(cgroup_usage_text, stderr);
		return 2;
	}
	if (cgroup_probe(&h, o.want, o.flags) == CGROUP_NONE) {
		fprintf(stderr, "test-tool: %s\n", h.reason.buf);
		ret = 1;
	} else if (cgroup_cleanup_stale(&h, &removed, &err) < 0) {
		fprintf(stderr, "test-tool: %s\n", err.buf);
		ret = 1;
	}
	printf("removed=%d\n", removed);
	strbuf_release(&err);
	cgroup_host_release(&h);
	return ret;
}

static int64_t cg_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Fork a child that joins cg and execs argv, or with argv NULL writes
 * how long the join took (int64_t us) to time_fd and exits 0. With
 * clone3, the child starts in cg (v2's CLONE_INTO_CGROUP) and joins
 * nothing.
 */
static pid_t cg_spawn(const struct cgroup *cg, const char **argv, int time_fd,
		      bool clone3)
{
	const int *fds;
	size_t nr = cgroup_procs_fds(cg, &fds);
	int64_t t0;
	pid_t pid;

	if (clone3) {
		struct clone_args ca = {
			.flags = CLONE_INTO_CGROUP,
			.exit_signal = SIGCHLD,
			.cgroup = (uint64_t)cgroup_dir_fd(cg),
		};
		if (cgroup_dir_fd(cg) < 0) {
			errno = EINVAL;
			return -1;
		}
		pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		nr = 0;
	} else {
		pid = fork();
	}
	if (pid)
		return pid;
	t0 = cg_now_us();
	if (cgroup_join_fds(fds, nr) < 0) {
		fprintf(stderr, "test-tool: cannot join the cgroup: %s\n",
			strerror(errno));
		_exit(126);
	}
	if (!argv) {
		t0 = cg_now_us() - t0;
		_exit(write(time_fd, &t0, sizeof(t0)) == sizeof(t0) ? 0 : 1);
	}
	execvp(argv[0], (char *const *)argv);
	fprintf(stderr, "test-tool: cannot run '%s': %s\n", argv[0],
		strerror(errno));
	_exit(127);
}

static int cmd__cgroup_run(int argc, const char **argv)
{
	struct cg_opts o = { .name = "task" };
	struct cgroup_host h = CGROUP_HOST_INIT;
	struct cgroup *cg = NULL;
	struct cgroup_usage u;
	struct strbuf err = STRBUF_INIT, why = STRBUF_INIT;
	int64_t start, deadline = 0;
	int status = 0, ret = 1, idx, sig;
	bool exited = false, timed_out = false, oom;
	pid_t pid;

	idx = cg_parse_opts(argc, argv, &o);
	if (idx < 0 || idx >= argc) {
		fputs(cgroup_usage_text, stderr);
		return 2;
	}
	if (cg_setup(&o, &h, &err) < 0)
		goto fail;
	/* a fork bomb must not run because pids is silently not enforced */
	cgroup_note(&h, &o.lim, &why);
	if (why.len) {
		strbuf_addf(&err, "not enforced here: %s", why.buf);
		goto fail;
	}
	if (cgroup_create(&h, o.name, &o.lim, &cg, &err) < 0)
		goto fail;
	printf("tool_pid=%ld\n", (long)getpid());
	for (size_t i = 0; i < h.nr_hier; i++)
		printf("run_dir=%s/%s\n", h.hier[i].dir, h.run_name);
	for (size_t i = 0; i < cgroup_nr_dirs(cg); i++)
		printf("dir=%s\n", cgroup_dir(cg, i));
	fflush(stdout);

	/*
	 * Orphans of the command come to us, not to the host's pid 1, and
	 * are reaped here: a killed fork bomb leaves no zombies behind.
	 */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	start = time_mono_ms();
	if (o.timeout_ms)
		deadline = start + o.timeout_ms;
	pid = cg_spawn(cg, argv + idx, -1, o.clone3);
	if (pid < 0) {
		strbuf_addf(&err, "fork: %s", strerror(errno));
		goto fail;
	}
	/*
	 * Wait for the child; with --timeout also for everything it left
	 * in the cgroup (a fork bomb whose first process returned at once),
	 * until the cgroup is empty or the time is up.
	 */
	for (;;) {
		pid_t w;
		int st;
		while ((w = waitpid(-1, &st, WNOHANG)) > 0)
			if (w == pid) {
				exited = true;
				status = st;
			}
		if (exited && (!deadline || cgroup_nr_procs(cg, &err) == 0))
			break;
		if (deadline && time_mono_ms() >= deadline) {
			timed_out = true;
			break;
		}
		time_sleep_ms(10);
	}
	if (cgroup_kill(cg, &err) < 0)
		goto fail;
	if (!exited && waitpid(pid, &status, 0) == pid)
		exited = true;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (cgroup_read_usage(cg, &u, &err) < 0)
		goto fail;
	sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	oom = cgroup_usage_oom(&u, sig);
	printf("exit=%d signal=%d timed_out=%d wall_ms=%" PRId64 "\n",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1, sig, timed_out,
	       time_mono_ms() - start);
	printf("oom=%d oom_kills=%" PRIu64 " memory_peak=%" PRIu64
	       " memory_hits=%" PRIu64 "\n",
	       oom, u.oom_kills, u.memory_peak, u.memory_hits);
	printf("cpu_usec=%" PRIu64 " pids_peak=%" PRIu64 " pids_hits=%" PRIu64
	       "\n",
	       u.cpu_usec, u.pids_peak, u.pids_hits);
	if (oom) {
		cgroup_oom_reason(&o.lim, &why);
		printf("reason=%s\n", why.buf);
	}
	if (cgroup_remove(cg, &err) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "test-tool: %s\n", err.buf);
	if (cg) {
		strbuf_reset(&err);
		if (cgroup_remove(cg, &err) < 0)
			fprintf(stderr, "test-tool: %s\n", err.buf);
	}
out:
	fflush(stdout);
	cgroup_free(cg);
	cgroup_host_release(&h);
	strbuf_release(&err);
	strbuf_release(&why);
	return ret;
}

/*
 * cgroup-bench --count N: per task, create + a child that joins and
 * exits + remove, against the same fork+wait without a cgroup.
 */
static int cmd__cgroup_bench(int argc, const char **argv)
{
	struct cg_opts o = { .count = 1000 };
	struct cgroup_host h = CGROUP_HOST_INIT;
	struct strbuf err = STRBUF_INIT;
	int64_t t_create = 0, t_join = 0, t_remove = 0, t_fork = 0, t0, dt;
	int64_t t_join_only = 0, t_probe;
	size_t nr_dirs = 0;
	int ret = 1, status, tfd[2] = { -1, -1 };

	if (cg_parse_opts(argc, argv, &o) != argc) {
		fputs(cgroup_usage_text, stderr);
		return 2;
	}
	if (!o.lim.memory && !o.lim.pids && !o.lim.cpus)
		o.lim = (struct cgroup_limits){ 1 << 30, 1024, 1000 };
	if (pipe(tfd) < 0) {
		strbuf_addf(&err, "pipe: %s", strerror(errno));
		goto fail;
	}
	t0 = cg_now_us();
	if (cg_setup(&o, &h, &err) < 0)
		goto fail;
	t_probe = cg_now_us() - t0;
	for (long i = 0; i < o.count; i++) {
		struct cgroup *cg;
		char name[32];
		pid_t pid;

		snprintf(name, sizeof(name), "b%ld", i);
		t0 = cg_now_us();
		if (cgroup_create(&h, name, &o.lim, &cg, &err) < 0)
			goto fail;
		t_create += cg_now_us() - t0;
		nr_dirs = cgroup_nr_dirs(cg);
		t0 = cg_now_us();
		pid = cg_spawn(cg, NULL, tfd[1], o.clone3);
		if (pid < 0 || waitpid(pid, &status, 0) != pid || status ||
		    read(tfd[0], &dt, sizeof(dt)) != sizeof(dt)) {
			strbuf_addstr(&err, "the child failed");
			cgroup_remove(cg, &err);
			cgroup_free(cg);
			goto fail;
		}
		t_join += cg_now_us() - t0;
		t_join_only += dt;
		t0 = cg_now_us();
		if (cgroup_remove(cg, &err) < 0) {
			cgroup_free(cg);
			goto fail;
		}
		cgroup_free(cg);
		t_remove += cg_now_us() - t0;

		t0 = cg_now_us();
		pid = fork();
		if (!pid)
			_exit(0);
		waitpid(pid, &status, 0);
		t_fork += cg_now_us() - t0;
	}
	printf("probe_prepare_us=%" PRId64 "\n", t_probe);
	printf("dirs_per_task=%zu tasks=%ld create_us=%" PRId64
	       " join_us=%" PRId64 " remove_us=%" PRId64
	       " fork_join_wait_us=%" PRId64 " plain_fork_wait_us=%" PRId64
	       "\n",
	       nr_dirs, o.count, t_create / o.count, t_join_only / o.count,
	       t_remove / o.count, t_join / o.count, t_fork / o.count);
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "test-tool: %s\n", err.buf);
out:
	if (tfd[0] >= 0) {
		close(tfd[0]);
		close(tfd[1]);
	}
	cgroup_host_release(&h);
	strbuf_release(&err);
	return ret;
}

/*
 * agent-parse: runner/agent-stream.c and prices.c over a file of agent
 * output, for tests/t/t9100-agent-parse.sh. Prints the outcome as
 * key=value lines (strings JSON-quoted, absent ones as null).
 */

static const char agent_parse_usage[] =
	"usage: test-tool agent-parse FORMAT [--model M] [--chunk N | --random SEED]\n"
	"  [--prices FILE] [--override FILE] [--sandbox-ms N] [--rate USD_PER_HOUR]\n"
	"  < OUTPUT\n";

struct ap_state {
	uint64_t fed;
	uint64_t final_at; /* bytes fed when on_final fired */
	int final_calls;
};

static void ap_on_final(void *ctx, const struct agent_outcome *o)
{
	struct ap_state *st = ctx;

	(void)o;
	st->final_calls++;
	st->final_at = st->fed;
}

static void ap_str(const char *key, const char *val)
{
	char *q = NULL;

	if (val) {
		cJSON *j = cJSON_CreateString(val);

		q = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
	}
	printf("%s=%s\n", key, q ? q : "null");
	free(q);
}

static void ap_tokens(const char *prefix, const struct agent_tokens *t)
{
	printf("%s.input=%" PRIu64 "\n%s.output=%" PRIu64 "\n"
	       "%s.cache_read=%" PRIu64 "\n%s.cache_write=%" PRIu64 "\n"
	       "%s.cache_write_1h=%" PRIu64 "\n%s.reasoning=%" PRIu64 "\n",
	       prefix, t->input, prefix, t->output, prefix, t->cache_read,
	       prefix, t->cache_write, prefix, t->cache_write_1h, prefix,
	       t->reasoning);
}

static int ap_load_prices(struct price_table *t, const char *path,
			  struct strbuf *err)
{
	struct strbuf sb = STRBUF_INIT;
	int ret;

	if (strbuf_read_file(&sb, path) < 0) {
		strbuf_addf(err, "cannot read '%s': %s", path,
			    strerror(errno));
		ret = -1;
	} else {
		ret = price_table_parse(t, sb.buf, sb.len, err);
	}
	strbuf_release(&sb);
	return ret;
}

static int cmd__agent_parse(int argc, const char **argv)
{
	struct agent_stream_opts opts = { 0 };
	struct agent_stream *p = NULL;
	const struct agent_outcome *o;
	struct price_table prices = PRICE_TABLE_INIT;
	struct price_table over = PRICE_TABLE_INIT;
	struct strbuf in = STRBUF_INIT, err = STRBUF_INIT;
	struct ap_state st = { 0 };
	struct cost_input ci = { .usd_per_hour = -1 };
	struct cost cost;
	const char *prices_file = NULL, *override_file = NULL;
	uint64_t chunk = 0, seed = 0;
	bool random = false;
	double tokens_usd = 0;
	int64_t now = 1000;
	int ret = 1;

	if (argc < 2 || agent_format_from_name(argv[1], &opts.format) < 0)
		goto usage;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;

		if (!v)
			goto usage;
		i++;
		errno = 0;
		if (!strcmp(a, "--model")) {
			opts.model = v;
		} else if (!strcmp(a, "--chunk")) {
			chunk = strtoull(v, &end, 10);
			if (*end || !chunk)
				goto usage;
		} else if (!strcmp(a, "--random")) {
			seed = strtoull(v, &end, 10);
			if (*end)
				goto usage;
			random = true;
		} else if (!strcmp(a, "--prices")) {
			prices_file = v;
		} else if (!strcmp(a, "--override")) {
			override_file = v;
		} else if (!strcmp(a, "--sandbox-ms")) {
			ci.sandbox_ms = strtoll(v, &end, 10);
			if (*end)
				goto usage;
		} else if (!strcmp(a, "--rate")) {
			ci.usd_per_hour = strtod(v, &end);
			if (*end)
				goto usage;
		} else {
			goto usage;
		}
	}
	if (prices_file ? ap_load_prices(&prices, prices_file, &err)
			: price_table_load_builtin(&prices, &err))
		goto fail;
	if (override_file && (ap_load_prices(&over, override_file, &err) ||
			      price_table_merge(&prices, &over, &err)))
		goto fail;
	if (strbuf_read_fd(&in, 0) < 0) {
		strbuf_addf(&err, "cannot read stdin: %s", strerror(errno));
		goto fail;
	}

	opts.on_final = ap_on_final;
	opts.ctx = &st;
	p = agent_stream_new(&opts);
	srand((unsigned)seed);
	while (st.fed < in.len) {
		uint64_t n = in.len - st.fed;

		uint64_t max = random ? 1 + (uint64_t)(rand() % 4096) : chunk;

		if (max && n > max)
			n = max;
		st.fed += n;
		agent_stream_feed(p, in.buf + st.fed - n, n, now++);
	}
	agent_stream_finish(p, now);
	o = agent_stream_outcome(p);

	ci.prices = &prices;
	ci.outcome = o;
	ci.model = opts.model;
	cost_decide(&ci, &cost);

	printf("format=%s\n", agent_format_name(o->format));
	printf("prices_version=%s\n", prices.version);
	printf("final=%d\n", o->final_seen);
	printf("final_calls=%d\n", st.final_calls);
	printf("final_at_byte=%" PRIu64 "\n", st.final_at);
	printf("outcome=%s\n", agent_result_name(o->result));
	ap_str("error", o->error);
	ap_str("warning", o->warning);
	ap_str("subtype", o->subtype);
	ap_str("terminal_reason", o->terminal_reason);
	printf("api_error_status=%d\n", o->api_error_status);
	printf("retries=%" PRIu64 "\n", o->retries);
	printf("turns=%" PRIu64 "\n", o->turns);
	printf("tool_calls=%" PRIu64 "\n", o->tool_calls);
	printf("model_requests=%" PRIu64 "\n", o->model_requests);
	ap_str("session_id", o->session_id);
	ap_str("model", o->model);
	printf("models=%zu\n", o->nr_models);
	for (size_t i = 0; i < o->nr_models; i++) {
		char *pre = xstrfmt("model.%s", o->models[i].model);

		ap_tokens(pre, &o->models[i].tokens);
		if (o->models[i].has_cost)
			printf("%s.cost_usd=%.10g\n", pre,
			       o->models[i].cost_usd);
		free(pre);
	}
	printf("has_tokens=%d\n", o->has_tokens);
	printf("tokens_partial=%d\n", o->tokens_partial);
	ap_tokens("tokens", &o->tokens);
	if (o->has_cost)
		printf("reported_cost_usd=%.10g\n", o->cost_usd);
	else
		printf("reported_cost_usd=null\n");
	strbuf_reset(&err);
	if (!price_outcome_tokens_cost(&prices, o, opts.model, &tokens_usd,
				       &err))
		printf("tokens_cost_usd=%.10g\n", tokens_usd);
	else
		ap_str("tokens_cost_usd_error", err.buf);
	printf("cost_usd=%.10g\n", cost.usd);
	printf("cost_source=%s\n", cost.source_name);
	ap_str("final_text", o->final_text.buf);
	printf("final_text_len=%zu\n", o->final_text.len);
	printf("final_text_truncated=%d\n", o->final_text_truncated);
	printf("last_event_ms=%" PRId64 "\n", o->last_event_ms);
	printf("last_output_ms=%" PRId64 "\n", o->last_output_ms);
	printf("events=%" PRIu64 "\n", o->events);
	printf("ignored_lines=%" PRIu64 "\n", o->ignored_lines);
	printf("skipped_lines=%" PRIu64 "\n", o->skipped_lines);
	printf("bad_fields=%" PRIu64 "\n", o->bad_fields);
	printf("bytes=%" PRIu64 "\n", o->bytes);
	ret = fflush(stdout) ? 1 : 0;
	goto out;
usage:
	fputs(agent_parse_usage, stderr);
	ret = 2;
	goto out;
fail:
	fprintf(stderr, "test-tool: %s\n", err.buf);
	ret = 1;
out:
	agent_stream_free(p);
	price_table_release(&prices);
	price_table_release(&over);
	strbuf_release(&in);
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
	{ "cgroup-probe", cmd__cgroup_probe },
	{ "cgroup-run", cmd__cgroup_run },
	{ "cgroup-cleanup", cmd__cgroup_cleanup },
	{ "cgroup-bench", cmd__cgroup_bench },
	{ "agent-parse", cmd__agent_parse },
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
