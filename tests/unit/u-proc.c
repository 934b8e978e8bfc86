/*
 * Unit tests of proc.c: starting children, exec failures, the run loop
 * (output, timeouts, warnings, cancellation) and trees. Plus concurrent
 * use of the local sandbox backend from several threads.
 */
#include "runner.h"
#include "proc.h"
#include "sandbox-local.h"
#include "ws.h"
#include "timeutil.h"
#include "fs.h"
#include "tap.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#define SH_PATH "PATH=/usr/bin:/bin"

/* Output collected by the callbacks, with what they observed. */
struct got {
	struct strbuf out;
	size_t chunks;
	size_t max_chunk;
	uint64_t bytes;
	int64_t warns[8];
	size_t nr_warns;
	int64_t fail_after;     /* on_output fails past this; -1 never */
	atomic_int *flag_on_warn; /* set on the first warning */
};

static void got_init(struct got *g)
{
	memset(g, 0, sizeof(*g));
	strbuf_init_capped(&g->out, 1 << 20);
	g->fail_after = -1;
}

static int got_output(void *ctx, const char *buf, size_t len)
{
	struct got *g = ctx;

	g->chunks++;
	if (len > g->max_chunk)
		g->max_chunk = len;
	strbuf_add(&g->out, buf, len);
	if (g->fail_after >= 0 && g->out.len > (size_t)g->fail_after)
		return -1;
	return 0;
}

static int count_output(void *ctx, const char *buf, size_t len)
{
	struct got *g = ctx;

	/* Nothing kept: the point is that nobody has to. */
	(void)buf;
	g->chunks++;
	if (len > g->max_chunk)
		g->max_chunk = len;
	g->bytes += len;
	return 0;
}

static void got_warn(void *ctx, int64_t elapsed)
{
	struct got *g = ctx;

	if (g->nr_warns < ARRAY_SIZE(g->warns))
		g->warns[g->nr_warns++] = elapsed;
	if (g->flag_on_warn)
		atomic_store(g->flag_on_warn, 1);
}

/* Start "sh -c script" with env SH_PATH; 0 or -1 (err filled). */
static int start_sh(struct proc *p, const char *script, struct strbuf *err)
{
	strvec_pushv(&p->args, (const char *const[]){ "sh", "-c", script,
						      NULL });
	strvec_push(&p->env, SH_PATH);
	return proc_start(p, err);
}

/* Run "sh -c script" to the end with the given options. */
static int run_sh(const char *script, struct proc_run_opts *o, struct got *g,
		  struct proc_result *r)
{
	struct proc p = PROC_INIT;
	struct strbuf err = STRBUF_INIT;
	int ret = -1;

	if (!o->on_output)
		o->on_output = got_output;
	o->on_warn = got_warn;
	o->ctx = g;
	if (start_sh(&p, script, &err) < 0 || proc_run(&p, o, r, &err) < 0) {
		printf("# %s\n", err.buf);
		goto out;
	}
	ret = 0;
out:
	proc_release(&p);
	strbuf_release(&err);
	return ret;
}

static void test_find_in_path(void)
{
	char *s;

	s = proc_find_in_path("sh", "/nonexistent::/usr/bin:/bin");
	ok(s && !strcmp(strrchr(s, '/'), "/sh"), "sh found in PATH (%s)",
	   s ? s : "(null)");
	free(s);
	s = proc_find_in_path("no-such-command-xyz", "/usr/bin:/bin");
	ok(!s, "a missing command is not found");
	free(s);
	s = proc_find_in_path("sh", "");
	ok(!s, "an empty PATH finds nothing");
	free(s);
	s = proc_find_in_path("passwd", "/etc");
	ok(!s, "a non-executable file is not a match");
	free(s);
	s = proc_find_in_path("./x/y", "/usr/bin");
	is_str(s, "./x/y", "a name with a slash is returned as is");
	free(s);
}

static void test_start_errors(void)
{
	struct proc p = PROC_INIT;
	struct strbuf err = STRBUF_INIT;
	int ret;

	strvec_push(&p.args, "no-such-command-xyz");
	p.path = "/usr/bin:/bin";
	ret = proc_start(&p, &err);
	ok(ret < 0 && errno == ENOENT, "missing command: -1 and ENOENT");
	ok(strstr(err.buf, "'no-such-command-xyz': not found in PATH") != NULL,
	   "missing command: message names it (%s)", err.buf);
	ok(p.pid == -1, "missing command: no pid");
	proc_release(&p);

	strbuf_reset(&err);
	strvec_push(&p.args, "/nonexistent/cmd");
	ret = proc_start(&p, &err);
	ok(ret < 0 && errno == ENOENT, "exec failure comes back as ENOENT");
	is_str(err.buf, "cannot run '/nonexistent/cmd': "
	       "No such file or directory", "exec failure message");
	proc_release(&p);

	strbuf_reset(&err);
	strvec_push(&p.args, "/etc/passwd");
	ret = proc_start(&p, &err);
	ok(ret < 0 && errno == EACCES, "exec of a non-executable: EACCES");
	proc_release(&p);

	strbuf_reset(&err);
	strvec_push(&p.args, "/bin/true");
	p.dir = "/nonexistent-dir";
	ret = proc_start(&p, &err);
	is_str(err.buf, "cannot change to directory '/nonexistent-dir': "
	       "No such file or directory", "chdir failure is reported");
	ok(ret < 0, "chdir failure: -1");
	proc_release(&p);

	strbuf_reset(&err);
	strvec_push(&p.args, "/bin/true");
	p.stdin_path = "/nonexistent-file";
	ret = proc_start(&p, &err);
	ok(ret < 0 && strstr(err.buf, "'/nonexistent-file'"),
	   "missing stdin file is reported (%s)", err.buf);
	proc_release(&p);
	strbuf_release(&err);
}

static void test_basics(void)
{
	struct proc_run_opts o = PROC_RUN_OPTS_INIT;
	struct proc_result r;
	struct got g;
	struct proc p = PROC_INIT;
	struct strbuf err = STRBUF_INIT;

	got_init(&g);
	ok(!run_sh("exit 3", &o, &g, &r), "exit 3 runs");
	is_int(r.exit_code, 3, "exit code propagates");
	is_int(r.term_signal, 0, "no signal");

	got_init(&g);
	ok(!run_sh("kill -TERM $$", &o, &g, &r), "self-kill runs");
	is_int(r.term_signal, SIGTERM, "killed by SIGTERM");
	is_int(r.exit_code, -1, "no exit code when signalled");

	got_init(&g);
	ok(!run_sh("echo a; echo b >&2; echo c; echo d >&2", &o, &g, &r),
	   "interleaved output runs");
	is_str(g.out.buf, "a\nb\nc\nd\n", "stdout and stderr keep order");
	strbuf_release(&g.out);

	/* Exactly the given environment, nothing inherited. */
	got_init(&g);
	strvec_pushv(&p.args, (const char *const[]){ "/usr/bin/env", NULL });
	strvec_pushv(&p.env, (const char *const[]){ "A=1", "B=two words",
						    NULL });
	o.on_output = got_output;
	o.ctx = &g;
	ok(!proc_start(&p, &err) && !proc_run(&p, &o, &r, &err),
	   "env runs");
	is_str(g.out.buf, "A=1\nB=two words\n", "environment is exactly env");
	proc_release(&p);
	strbuf_release(&g.out);

	/* stdin from a file, and /dev/null by default. */
	got_init(&g);
	fs_write_atomic("u-proc-stdin.txt", "from file\n", 10, 0644, &err);
	strvec_pushv(&p.args, (const char *const[]){ "/bin/cat", NULL });
	p.stdin_path = "u-proc-stdin.txt";
	ok(!proc_start(&p, &err) && !proc_run(&p, &o, &r, &err),
	   "cat < file runs");
	is_str(g.out.buf, "from file\n", "stdin comes from stdin_path");
	proc_release(&p);
	unlink("u-proc-stdin.txt");
	strbuf_release(&g.out);

	got_init(&g);
	memset(&o, 0, sizeof(o));
	o.aux_fd = -1;
	ok(!run_sh("cat; echo end", &o, &g, &r), "cat < /dev/null runs");
	is_str(g.out.buf, "end\n", "default stdin is /dev/null");
	strbuf_release(&g.out);
	strbuf_release(&err);
}

static void test_child_state(void)
{
	struct proc_run_opts o = PROC_RUN_OPTS_INIT;
	struct proc_result r;
	struct got g;
	char script[256];
	sigset_t mask, before, after;
	int fd;

	/* The runner ignores SIGPIPE and blocks a signal; the child not. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &mask, &before);
	got_init(&g);
	ok(!run_sh("exec grep -E '^Sig(Ign|Blk)' /proc/self/status", &o, &g,
		   &r), "grep of signal state runs");
	is_str(g.out.buf, "SigBlk:\t0000000000000000\n"
	       "SigIgn:\t0000000000000000\n",
	       "child has no ignored or blocked signal");
	pthread_sigmask(SIG_SETMASK, &before, &after);
	ok(sigismember(&after, SIGUSR1), "the caller's mask is restored");
	signal(SIGPIPE, SIG_DFL);
	strbuf_release(&g.out);

	/* Its own session and process group. */
	got_init(&g);
	ok(!run_sh("exec awk '{print ($1 == $5 && $1 == $6) ? \"leader\" :"
		   " \"not\"}' /proc/self/stat", &o, &g, &r), "awk runs");
	is_str(g.out.buf, "leader\n", "child leads its session and group");
	strbuf_release(&g.out);

	/* A descriptor opened without O_CLOEXEC does not leak. */
	fd = open("/dev/null", O_RDONLY);
	got_init(&g);
	snprintf(script, sizeof(script),
		 "if [ -e /proc/self/fd/%d ]; then echo leaked; "
		 "else echo closed; fi", fd);
	ok(!run_sh(script, &o, &g, &r), "fd probe runs");
	is_str(g.out.buf, "closed\n", "other descriptors are not inherited");
	close(fd);
	strbuf_release(&g.out);

	/* rlimits. */
	{
		struct proc p = PROC_INIT;
		struct strbuf err = STRBUF_INIT;

		got_init(&g);
		strvec_pushv(&p.args, (const char *const[]){
			"sh", "-c", "ulimit -c; ulimit -v", NULL });
		strvec_push(&p.env, SH_PATH);
		p.no_core = true;
		p.rlimit_as = 256ULL << 20;
		o.on_output = got_output;
		o.ctx = &g;
		ok(!proc_start(&p, &err) && !proc_run(&p, &o, &r, &err),
		   "ulimit runs");
		is_str(g.out.buf, "0\n262144\n",
		       "RLIMIT_CORE 0, RLIMIT_AS set");
		proc_release(&p);
		strbuf_release(&g.out);
		strbuf_release(&err);
	}
}

static void test_keep_fds(void)
{
	struct proc p = PROC_INIT;
	struct proc_run_opts o = PROC_RUN_OPTS_INIT;
	struct proc_result r;
	struct strbuf err = STRBUF_INIT, side = STRBUF_INIT;
	struct got g;
	char script[128];
	int fds[2];

	got_init(&g);
	if (pipe(fds) < 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fds[1], F_SETFD, FD_CLOEXEC) < 0)
		BUG("pipe");
	snprintf(script, sizeof(script), "echo side >&%d; echo main", fds[1]);
	strvec_pushv(&p.args, (const char *const[]){ "sh", "-c", script,
						     NULL });
	strvec_push(&p.env, SH_PATH);
	p.keep_fds[p.nr_keep_fds++] = fds[1];
	o.on_output = got_output;
	o.ctx = &g;
	ok(!proc_start(&p, &err), "start with a kept fd");
	close(fds[1]);
	ok(!proc_run(&p, &o, &r, &err), "run with a kept fd");
	strbuf_read_fd(&side, fds[0]);
	close(fds[0]);
	is_str(side.buf, "side\n", "kept fd reaches the child");
	is_str(g.out.buf, "main\n", "main output unaffected");
	proc_release(&p);
	strbuf_release(&g.out);
	strbuf_release(&side);
	strbuf_release(&err);
}

static void test_timeouts(void)
{
	struct proc_run_opts o = PROC_RUN_OPTS_INIT;
	struct proc_result r;
	struct got g;
	atomic_int flag = 0;
	int64_t warn_at[] = { 100, 300 };

	got_init(&g);
	o.timeout_ms = 300;
	o.grace_ms = 2000;
	ok(!run_sh("sleep 10", &o, &g, &r), "timeout run");
	ok(r.timed_out, "timed_out is set");
	is_int(r.term_signal, SIGTERM, "stopped by SIGTERM");
	ok(r.duration_ms >= 290 && r.duration_ms < 1000,
	   "stopped at the timeout (%" PRId64 " ms)", r.duration_ms);

	got_init(&g);
	o.timeout_ms = 300;
	o.grace_ms = 500;
	ok(!run_sh("trap '' TERM; sleep 10; echo survived", &o, &g, &r),
	   "TERM-ignoring run");
	ok(r.timed_out, "timed_out is set");
	is_int(r.term_signal, SIGKILL, "killed by SIGKILL after the grace");
	ok(r.duration_ms >= 790 && r.duration_ms < 1500,
	   "killed at timeout + grace (%" PRId64 " ms)", r.duration_ms);
	is_str(g.out.buf, "", "nothing survived to print");
	strbuf_release(&g.out);

	got_init(&g);
	memset(&o, 0, sizeof(o));
	o.aux_fd = -1;
	o.warn_at_ms = warn_at;
	o.nr_warn_at = ARRAY_SIZE(warn_at);
	ok(!run_sh("sleep 0.6", &o, &g, &r), "warn run");
	is_int(g.nr_warns, 2, "both warnings fired");
	ok(g.warns[0] >= 100 && g.warns[0] < 200 && g.warns[1] >= 300 &&
	   g.warns[1] < 400, "warnings on time (%" PRId64 ", %" PRId64 ")",
	   g.warns[0], g.warns[1]);
	is_int(r.exit_code, 0, "warnings do not stop the task");

	/* Cancel: TERM then KILL after grace. */
	got_init(&g);
	g.flag_on_warn = &flag;
	o.nr_warn_at = 1;
	o.cancel = &flag;
	o.grace_ms = 400;
	ok(!run_sh("trap '' TERM; sleep 10", &o, &g, &r), "cancel run");
	ok(r.cancelled && !r.timed_out, "cancelled is set");
	is_int(r.term_signal, SIGKILL, "cancel ends in SIGKILL past grace");
	ok(r.duration_ms >= 490 && r.duration_ms < 1000,
	   "stopped within the grace (%" PRId64 " ms)", r.duration_ms);

	/* kill_now: at once, no grace. */
	atomic_store(&flag, 0);
	got_init(&g);
	g.flag_on_warn = &flag;
	o.cancel = NULL;
	o.kill_now = &flag;
	o.grace_ms = 5000;
	ok(!run_sh("trap '' TERM; sleep 10", &o, &g, &r), "kill_now run");
	ok(r.cancelled, "kill_now counts as cancelled");
	is_int(r.term_signal, SIGKILL, "kill_now kills");
	ok(r.duration_ms < 400, "kill_now needs no grace (%" PRId64 " ms)",
	   r.duration_ms);

	/* A failing output callback stops the task. */
	got_init(&g);
	memset(&o, 0, sizeof(o));
	o.aux_fd = -1;
	g.fail_after = 3;
	ok(!run_sh("echo 12345; sleep 10; echo late", &o, &g, &r),
	   "failing output run");
	ok(r.output_failed, "output_failed is set");
	is_int(r.term_signal, SIGKILL, "task killed");
	ok(r.duration_ms < 1000, "at once (%" PRId64 " ms)", r.duration_ms);
	is_str(g.out.buf, "12345\n", "later output is discarded");
	strbuf_release(&g.out);
}

static bool pid_alive(pid_t pid)
{
	char path[64], buf[512];
	int fd;
	ssize_t n;
	const char *s;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	s = strrchr(buf, ')');
	return s && s[1] == ' ' && s[2] != 'Z' && s[2] != 'X';
}

static pid_t read_pid(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	long v = -1;

	if (!strbuf_read_file(&sb, path))
		v = strtol(sb.buf, NULL, 10);
	strbuf_release(&sb);
	unlink(path);
	return (pid_t)v;
}

static void test_trees(void)
{
	struct proc_run_opts o = PROC_RUN_OPTS_INIT;
	struct proc_result r;
	struct got g;
	struct proc p = PROC_INIT;
	struct strbuf err = STRBUF_INIT;
	pid_t bg;

	got_init(&g);
	ok(!run_sh("nohup sleep 1000 >/dev/null 2>&1 & echo $! > u-proc.pid",
		   &o, &g, &r), "daemon run");
	bg = read_pid("u-proc.pid");
	ok(bg > 0 && !pid_alive(bg), "background process killed (%ld)",
	   (long)bg);
	is_int(r.exit_code, 0, "the task itself succeeded");

	/* A new process group in the same session is found too. */
	got_init(&g);
	ok(!run_sh("python3 -c 'import os; os.setpgid(0, 0); "
		   "os.execv(\"/bin/sleep\", [\"sleep\", \"1000\"])' & "
		   "echo $! > u-proc.pid", &o, &g, &r), "new-group run");
	bg = read_pid("u-proc.pid");
	ok(bg > 0 && !pid_alive(bg), "other group of the session killed");

	/* The timeout takes the whole tree, not only the shell. */
	got_init(&g);
	o.timeout_ms = 200;
	o.grace_ms = 200;
	ok(!run_sh("sh -c 'trap \"\" TERM; echo $$ > u-proc.pid; sleep 1000'"
		   "; wait", &o, &g, &r), "tree timeout run");
	bg = read_pid("u-proc.pid");
	ok(r.timed_out && bg > 0 && !pid_alive(bg),
	   "grandchild killed on timeout");

	/* proc_release() of a running child kills and reaps it. */
	ok(!start_sh(&p, "sleep 1000", &err), "start for release");
	bg = p.pid;
	proc_release(&p);
	ok(!pid_alive(bg) && kill(bg, 0) < 0, "release kills and reaps");
	strbuf_release(&err);
}

static void test_big_output(void)
{
	struct proc_run_opts o = PROC_RUN_OPTS_INIT;
	struct proc_result r;
	struct got g;

	got_init(&g);
	o.on_output = count_output;
	ok(!run_sh("head -c 50000000 /dev/zero", &o, &g, &r), "50 MB run");
	is_int(g.bytes, 50000000, "every byte arrived");
	ok(g.max_chunk <= 64 * 1024, "chunks of at most 64 KiB (%zu)",
	   g.max_chunk);
	ok(g.chunks >= 50000000 / (64 * 1024), "streamed in %zu chunks",
	   g.chunks);
}

/* Several threads starting children at once: no pipe leaks between. */
struct par {
	const char *script;
	const char *want; /* its whole output */
	int64_t ms;
	int exit_code;
	bool own_output;
};

static void *par_run(void *arg)
{
	struct par *pa = arg;
	struct proc_run_opts o = PROC_RUN_OPTS_INIT;
	struct proc_result r;
	struct got g;
	int64_t t0 = time_mono_ms();

	got_init(&g);
	pa->exit_code = run_sh(pa->script, &o, &g, &r) ? -2 : r.exit_code;
	pa->ms = time_mono_ms() - t0;
	pa->own_output = !strcmp(g.out.buf, pa->want);
	if (!pa->own_output)
		printf("# '%s' gave '%s'\n", pa->script, g.out.buf);
	strbuf_release(&g.out);
	return NULL;
}

static void test_parallel(void)
{
	struct par pars[12];
	pthread_t th[ARRAY_SIZE(pars)];
	bool fast = true, good = true, own = true;

	for (size_t i = 0; i < ARRAY_SIZE(pars); i++) {
		pars[i].script = i == 0 ? "sleep 2" : "echo hi; sleep 0.05";
		pars[i].want = i == 0 ? "" : "hi\n";
		pthread_create(&th[i], NULL, par_run, &pars[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(pars); i++)
		pthread_join(th[i], NULL);
	for (size_t i = 0; i < ARRAY_SIZE(pars); i++)
		own &= pars[i].own_output;
	for (size_t i = 1; i < ARRAY_SIZE(pars); i++) {
		fast &= pars[i].ms < 1500;
		good &= pars[i].exit_code == 0;
	}
	ok(good && pars[0].exit_code == 0, "parallel children succeed");
	ok(own, "each child's output reaches its own caller only");
	ok(fast, "short children do not wait for the long one");
}

/* The local backend, from several threads at once. */
struct sbx_par {
	int n;
	int ret;
	struct sandbox_status st;
	struct strbuf out;
};

static int sbx_output(void *ctx, const char *buf, size_t len)
{
	strbuf_add(ctx, buf, len);
	return 0;
}

static const struct sandbox_local_config local_sandboxed = {
	.isolation = LOCAL_ISOLATION_SANDBOX,
};

static void *sbx_run(void *arg)
{
	struct sbx_par *sp = arg;
	const struct sandbox_backend *be = &sandbox_local;
	char task[32];
	struct sandbox_config cfg = {
		.run_id = "u-proc", .task_id = task, .attempt = 1,
		.state_dir = "u-proc-state",
		.backend_config = &local_sandboxed,
	};
	const char *argv[] = { "/bin/sh", "-c",
			       "echo $RUNNER_N > mine; sleep 0.2; cat mine",
			       NULL };
	char env_n[32];
	const char *env[] = { SH_PATH, env_n, NULL };
	struct sandbox_cmd cmd = { .argv = argv, .env = env,
				   .timeout_ms = 20000,
				   .on_output = sbx_output };
	struct ws_manifest m = { 0 };
	struct sandbox *sb = NULL;
	struct strbuf err = STRBUF_INIT;

	snprintf(task, sizeof(task), "t%d", sp->n);
	snprintf(env_n, sizeof(env_n), "RUNNER_N=%d", sp->n);
	strbuf_init_capped(&sp->out, 4096);
	cmd.ctx = &sp->out;
	sp->ret = -1;
	if (be->create(&cfg, &sb, &err) < 0 ||
	    be->put_tree(sb, &m, ".", &err) < 0 ||
	    be->exec(sb, &cmd, &sp->st, &err) < 0) {
		printf("# sandbox %d: %s\n", sp->n, err.buf);
	} else {
		sp->ret = 0;
	}
	strbuf_reset(&err);
	if (sb && be->destroy(sb, &err) < 0) {
		printf("# destroy %d: %s\n", sp->n, err.buf);
		sp->ret = -1;
	}
	strbuf_release(&err);
	return NULL;
}

static void test_sandbox_parallel(void)
{
	struct sbx_par sps[6];
	pthread_t th[ARRAY_SIZE(sps)];
	struct strbuf err = STRBUF_INIT;
	struct sandbox_config cfg = { .backend_config = &local_sandboxed };
	bool good = true;

	if (sandbox_local.check(&cfg, &err) < 0) {
		skip("bubblewrap does not work here");
		skip("bubblewrap does not work here");
		strbuf_release(&err);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sps); i++) {
		sps[i].n = (int)i;
		pthread_create(&th[i], NULL, sbx_run, &sps[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(sps); i++)
		pthread_join(th[i], NULL);
	for (size_t i = 0; i < ARRAY_SIZE(sps); i++) {
		char want[16];

		snprintf(want, sizeof(want), "%d\n", sps[i].n);
		if (sps[i].ret || sps[i].st.exit_code ||
		    strcmp(sps[i].out.buf, want)) {
			printf("# sandbox %zu: ret %d exit %d out '%s'\n", i,
			       sps[i].ret, sps[i].st.exit_code,
			       sps[i].out.buf);
			good = false;
		}
		strbuf_release(&sps[i].out);
	}
	ok(good, "six sandboxes in parallel, each with its own workspace");
	ok(rmdir("u-proc-state/sandboxes") == 0,
	   "every sandbox root was removed");
	fs_rm_rf("u-proc-state", &err);
	strbuf_release(&err);
}

/* Roots are named after the task, and removed also after a failure. */
static void test_sandbox_destroy(void)
{
	const struct sandbox_backend *be = &sandbox_local;
	struct sandbox_config cfg = {
		.run_id = "r1", .task_id = "weird/id *", .attempt = 2,
		.state_dir = "u-proc-state2",
		.backend_config = &local_sandboxed,
	};
	struct ws_entry missing = { .path = (char *)"missing.txt",
				    .type = WS_FILE, .mode = 0644 };
	struct ws_manifest m = { .entries = &missing, .nr = 1 };
	struct sandbox *sb = NULL;
	struct strbuf err = STRBUF_INIT;
	const char *id;
	int ret;

	if (be->create(&cfg, &sb, &err) < 0) {
		ok(0, "create: %s", err.buf);
		strbuf_release(&err);
		return;
	}
	id = be->id(sb);
	ok(!strncmp(id, "local-r1-weird_id__-2-", 22) && strlen(id) == 28,
	   "id is local-RUN-TASK-ATTEMPT-RANDOM, sanitised (%s)", id);
	ret = be->put_tree(sb, &m, ".", &err);
	ok(ret < 0 && strstr(err.buf, "missing.txt"),
	   "put_tree of a missing file fails (%s)", err.buf);
	strbuf_reset(&err);
	ok(!be->destroy(sb, &err), "destroy after the failure");
	ok(rmdir("u-proc-state2/sandboxes") == 0 &&
	   rmdir("u-proc-state2") == 0, "the root is gone");
	strbuf_release(&err);
}

int main(void)
{
	char dir[] = "/tmp/u-proc.XXXXXX";
	struct strbuf err = STRBUF_INIT;

	/* Files the tests make go to a directory of their own. */
	if (!mkdtemp(dir) || chdir(dir) < 0)
		BUG("cannot make a scratch directory");
	test_find_in_path();
	test_start_errors();
	test_basics();
	test_child_state();
	test_keep_fds();
	test_timeouts();
	test_trees();
	test_big_output();
	test_parallel();
	test_sandbox_parallel();
	test_sandbox_destroy();
	if (chdir("/") < 0 || fs_rm_rf(dir, &err) < 0)
		printf("# cannot remove %s: %s\n", dir, err.buf);
	strbuf_release(&err);
	return done_testing();
}
