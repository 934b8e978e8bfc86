/*
 * DESIGN
 *
 * A proc is one child process and the pipe that carries its output. It
 * follows git's run-command protocol: the parent prepares everything that
 * allocates (argv, envp, the executable's path, the stdin descriptor,
 * rlimits), blocks every signal and forks; the child makes only
 * async-signal-safe calls (raw syscalls, dup2, fcntl, execve) and reports
 * a failure of any step to the parent as {step, errno} over an O_CLOEXEC
 * pipe. EOF on that pipe means exec succeeded, so proc_start() returns
 * only once the child runs the new program or has failed and been reaped.
 *
 * Descriptors: everything here is opened O_CLOEXEC, and the child also
 * marks every inherited descriptor above 2 close-on-exec (close_range),
 * because libraries in the parent (sockets, databases) may not have. A
 * descriptor that leaked into another task would keep our output pipe
 * open after our child is dead, or hand it a database.
 *
 * Trees: the child calls setsid(), so its pid is also its process group
 * and session id. proc_signal_tree() signals the group and every process
 * of the session (from /proc). A caller that knows better (the bwrap
 * backend knows the sandbox's pid namespace) passes its own kill_tree.
 * Once the child has exited we keep it unreaped (waitid WNOWAIT) while
 * we sweep its tree with SIGKILL: a zombie pins its pid, so the group and
 * session ids cannot be recycled under us.
 *
 * The run loop is one poll() over the output pipe, an optional auxiliary
 * descriptor and a pidfd, with a timeout of at most 100 ms so that the
 * cancel and kill_now flags, the warnings and the deadlines are noticed
 * promptly. Output goes to the callback as read, one 64 KiB buffer,
 * never accumulated.
 */
#define _GNU_SOURCE
#include "runner.h"
#include "proc.h"
#include "fs.h"
#include "timeutil.h"
#include "cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h> /* clone, CLONE_* */
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PROC_CHUNK (64 * 1024)
#define PROC_POLL_MS 100
/* How long to keep killing what a finished child left behind. */
#define PROC_SWEEP_MS 5000
/* How long to wait for the output pipe's EOF after the tree is dead. */
#define PROC_DRAIN_MS 2000

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

enum child_step {
	CHILD_CGROUP = 1,
	CHILD_DUP2,
	CHILD_SETSID,
	CHILD_FDS,
	CHILD_RLIMIT,
	CHILD_UNSHARE,
	CHILD_MOUNT,
	CHILD_SETGROUPS,
	CHILD_SETGID,
	CHILD_SETUID,
	CHILD_CHDIR,
	CHILD_PDEATHSIG,
	CHILD_EXEC,
};

struct child_err {
	int step;
	int syserr;
};

/* Everything the child needs, prepared by the parent. */
struct child_setup {
	const char *exe;
	char *const *argv;
	char *const *envp;
	int in_fd, out_fd, err_fd;
	struct rlimit as, core, nproc;
	bool set_as, set_core, set_nproc;
	int max_fd; /* for the close-on-exec fallback loop */
	pid_t parent;
};

void proc_init(struct proc *p)
{
	struct proc blank = PROC_INIT;
	*p = blank;
}

static void child_die(int fd, int step)
{
	struct child_err ce = { step, errno };
	ssize_t n;

	do {
		n = write(fd, &ce, sizeof(ce));
	} while (n < 0 && errno == EINTR);
	_exit(127);
}

static void child_cloexec_all(int max_fd)
{
	if (!syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC))
		return;
	for (int fd = 3; fd < max_fd; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void child_run(const struct proc *p, const struct child_setup *cs)
	__attribute__((noreturn));

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PROC_USE_FORK 1
#endif

#ifndef PROC_USE_FORK
struct child_arg {
	const struct proc *p;
	const struct child_setup *cs;
};

static int child_trampoline(void *arg)
{
	const struct child_arg *a = arg;
	child_run(a->p, a->cs);
}
#endif

/*
 * Start the child. fork() in a multi-threaded runner write-protects its
 * whole address space, and every thread then pays page faults and TLB
 * shootdowns (it was the biggest cost of a short task). Like glibc's
 * posix_spawn, we clone with CLONE_VM | CLONE_VFORK instead: the child
 * borrows our memory until it execs, which is safe because child_run
 * makes only raw system calls and writes only its own stack, and this
 * thread waits meanwhile. Sanitizer runtimes track the parent's memory,
 * so their builds keep fork().
 */
static pid_t spawn_child(const struct proc *p, const struct child_setup *cs)
{
#ifdef PROC_USE_FORK
	pid_t pid = fork();
	if (!pid)
		child_run(p, cs);
	return pid;
#else
	const size_t size = 256 * 1024;
	struct child_arg a = { p, cs };
	char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	pid_t pid;
	int saved;

	if (stack == MAP_FAILED)
		return -1;
	pid = clone(child_trampoline, stack + size,
		    CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	saved = errno;
	munmap(stack, size);
	errno = saved;
	return pid;
#endif
}

static void child_run(const struct proc *p, const struct child_setup *cs)
{
	struct sigaction sa;
	sigset_t none;

	/* Handlers first, while everything is still blocked. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++) {
		/*
		 * glibc refuses its own reserved signals (32, 33); an
		 * ignored disposition there (sanitizer runtimes set one)
		 * would survive exec, so reset them with the raw call.
		 */
		if (sigaction(sig, &sa, NULL) < 0 && sig != SIGKILL &&
		    sig != SIGSTOP) {
			struct {
				void *handler;
				unsigned long flags;
				void *restorer;
				unsigned long mask;
			} ksa = { SIG_DFL, 0, NULL, 0 };
			syscall(SYS_rt_sigaction, sig, &ksa, NULL,
				sizeof(ksa.mask));
		}
	}

	/*
	 * The cgroup first: nothing this child runs, and nothing it
	 * starts, may run outside the task's limits even for an instant.
	 * One write(2) per hierarchy (cgroup_join_fds).
	 */
	if (p->nr_cgroup_fds &&
	    cgroup_join_fds(p->cgroup_fds, p->nr_cgroup_fds) < 0)
		child_die(cs->err_fd, CHILD_CGROUP);
	if (setsid() < 0)
		child_die(cs->err_fd, CHILD_SETSID);
	if (dup2(cs->in_fd, 0) < 0 || dup2(cs->out_fd, 1) < 0 ||
	    dup2(p->stderr_fd > 2 ? p->stderr_fd : cs->out_fd, 2) < 0)
		child_die(cs->err_fd, CHILD_DUP2);
	child_cloexec_all(cs->max_fd);
	for (size_t i = 0; i < p->nr_keep_fds; i++)
		if (fcntl(p->keep_fds[i], F_SETFD, 0) < 0)
			child_die(cs->err_fd, CHILD_FDS);

	if (cs->set_core && setrlimit(RLIMIT_CORE, &cs->core) < 0)
		child_die(cs->err_fd, CHILD_RLIMIT);
	if (cs->set_as && setrlimit(RLIMIT_AS, &cs->as) < 0)
		child_die(cs->err_fd, CHILD_RLIMIT);
	if (cs->set_nproc && setrlimit(RLIMIT_NPROC, &cs->nproc) < 0)
		child_die(cs->err_fd, CHILD_RLIMIT);

	if (p->bind_src) {
		if (syscall(SYS_unshare, CLONE_NEWNS) < 0)
			child_die(cs->err_fd, CHILD_UNSHARE);
		/* Nothing we mount may propagate back to the host. */
		if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
		    mount(p->bind_src, p->bind_dst, NULL, MS_BIND | MS_REC,
			  NULL) < 0)
			child_die(cs->err_fd, CHILD_MOUNT);
	}

	/*
	 * Raw syscalls: glibc's setuid() and friends broadcast to every
	 * thread of the process, machinery that is not async-signal-safe in
	 * a forked child. The child has one thread, so the raw call is
	 * exactly right.
	 */
	if (p->drop_privs) {
		if (syscall(SYS_setgroups, 0, NULL) < 0)
			child_die(cs->err_fd, CHILD_SETGROUPS);
		if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0)
			child_die(cs->err_fd, CHILD_SETGID);
		if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0)
			child_die(cs->err_fd, CHILD_SETUID);
	}
	/* After the drop: the child may only go where its uid can. */
	if (p->dir && chdir(p->dir) < 0)
		child_die(cs->err_fd, CHILD_CHDIR);

	/* Credential changes clear the death signal: set it last. */
	if (p->die_with_parent) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
			child_die(cs->err_fd, CHILD_PDEATHSIG);
		if (getppid() != cs->parent)
			_exit(127);
	}

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(cs->exe, cs->argv, cs->envp);
	child_die(cs->err_fd, CHILD_EXEC);
	_exit(127); /* not reached */
}

char *proc_find_in_path(const char *name, const char *path)
{
	const char *p = path;

	if (!name || !*name)
		return NULL;
	if (strchr(name, '/'))
		return xstrdup(name);
	if (!p)
		return NULL;
	while (*p) {
		const char *end = strchrnul(p, ':');
		if (end > p) {
			char *dir = xstrndup(p, (size_t)(end - p));
			char *cand = fs_join(dir, name);
			struct stat st;

			free(dir);
			if (!stat(cand, &st) && S_ISREG(st.st_mode) &&
			    !access(cand, X_OK))
				return cand;
			free(cand);
		}
		p = *end ? end + 1 : end;
	}
	return NULL;
}

/* Keep our descriptors off 0-2, where dup2 in the child would clash. */
static int fd_off_stdio(int fd)
{
	int nfd;

	if (fd < 0 || fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

static void child_err_msg(const struct proc *p, const char *exe,
			  const struct child_err *ce, struct strbuf *err)
{
	const char *why = strerror(ce->syserr);

	switch (ce->step) {
	case CHILD_EXEC:
		strbuf_addf(err, "cannot run '%s': %s", exe, why);
		if (p->drop_privs)
			strbuf_addf(err, " (as uid %ld)", (long)p->uid);
		break;
	case CHILD_CHDIR:
		strbuf_addf(err, "cannot change to directory '%s': %s", p->dir,
			    why);
		break;
	case CHILD_CGROUP:
		strbuf_addf(err, "cannot join the task's cgroup: %s", why);
		break;
	case CHILD_RLIMIT:
		strbuf_addf(err, "cannot set resource limits: %s", why);
		break;
	case CHILD_UNSHARE:
		strbuf_addf(err, "cannot create a mount namespace: %s", why);
		break;
	case CHILD_MOUNT:
		strbuf_addf(err, "cannot bind '%s' on '%s': %s", p->bind_src,
			    p->bind_dst, why);
		break;
	case CHILD_SETGROUPS:
	case CHILD_SETGID:
	case CHILD_SETUID:
		strbuf_addf(err, "cannot switch to uid %ld gid %ld: %s",
			    (long)p->uid, (long)p->gid, why);
		break;
	case CHILD_PDEATHSIG:
		strbuf_addf(err, "cannot set the parent-death signal: %s",
			    why);
		break;
	default:
		strbuf_addf(err, "cannot set up the child process: %s", why);
		break;
	}
}

static int wait_reap(pid_t pid, int *status)
{
	pid_t r;

	do {
		r = waitpid(pid, status, 0);
	} while (r < 0 && errno == EINTR);
	return r == pid ? 0 : -1;
}

int proc_start(struct proc *p, struct strbuf *err)
{
	struct child_setup cs;
	const char *search = p->path;
	const char *in_path = p->stdin_path ? p->stdin_path : "/dev/null";
	char *exe = NULL;
	int in_fd = -1, out[2] = { -1, -1 }, ep[2] = { -1, -1 };
	struct child_err ce;
	sigset_t all, old;
	struct rlimit lim;
	ssize_t n;
	pid_t pid;
	int saved = 0, ret = -1;

	memset(&cs, 0, sizeof(cs));
	if (!p->args.nr) {
		strbuf_addstr(err, "no command to run");
		saved = EINVAL;
		goto out;
	}
	for (size_t i = 0; i < p->nr_keep_fds; i++) {
		if (p->keep_fds[i] <= 2)
			BUG("keep_fds must be above 2, got %d",
			    p->keep_fds[i]);
	}
	if (!search)
		search = getenv("PATH");
	if (!search)
		search = "/usr/local/bin:/usr/bin:/bin";
	exe = proc_find_in_path(p->args.v[0], search);
	if (!exe) {
		strbuf_addf(err, "cannot run '%s': not found in PATH (%s)",
			    p->args.v[0], search);
		saved = ENOENT;
		goto out;
	}

	in_fd = fd_off_stdio(open(in_path, O_RDONLY | O_CLOEXEC));
	if (in_fd < 0) {
		saved = errno;
		strbuf_addf(err, "cannot open '%s' for reading: %s", in_path,
			    strerror(saved));
		goto out;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		saved = errno;
		strbuf_addf(err, "cannot create a pipe: %s", strerror(saved));
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		out[i] = fd_off_stdio(out[i]);
		ep[i] = fd_off_stdio(ep[i]);
	}
	if (out[0] < 0 || out[1] < 0 || ep[0] < 0 || ep[1] < 0) {
		saved = errno;
		strbuf_addf(err, "cannot create a pipe: %s", strerror(saved));
		goto out;
	}

	cs.exe = exe;
	cs.argv = (char *const *)p->args.v;
	cs.envp = (char *const *)p->env.v;
	cs.in_fd = in_fd;
	cs.out_fd = out[1];
	cs.err_fd = ep[1];
	cs.parent = getpid();
	cs.max_fd = 65536;
	if (!getrlimit(RLIMIT_NOFILE, &lim) && lim.rlim_cur < 65536)
		cs.max_fd = (int)lim.rlim_cur;
	if (p->no_core) {
		cs.set_core = true;
		cs.core.rlim_cur = cs.core.rlim_max = 0;
	}
	if (p->rlimit_as && !getrlimit(RLIMIT_AS, &lim)) {
		rlim_t want = (rlim_t)p->rlimit_as;
		if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < want)
			want = lim.rlim_max;
		cs.set_as = true;
		cs.as.rlim_cur = cs.as.rlim_max = want;
	}
	if (p->rlimit_nproc && !getrlimit(RLIMIT_NPROC, &lim)) {
		rlim_t want = (rlim_t)p->rlimit_nproc;
		if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < want)
			want = lim.rlim_max;
		cs.set_nproc = true;
		cs.nproc.rlim_cur = cs.nproc.rlim_max = want;
	}

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = spawn_child(p, &cs);
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	close(out[1]);
	out[1] = -1;
	close(ep[1]);
	ep[1] = -1;
	if (pid < 0) {
		strbuf_addf(err, "cannot fork: %s", strerror(saved));
		goto out;
	}

	do {
		n = read(ep[0], &ce, sizeof(ce));
	} while (n < 0 && errno == EINTR);
	if (n != 0) {
		int status;

		wait_reap(pid, &status);
		if (n == (ssize_t)sizeof(ce)) {
			child_err_msg(p, exe, &ce, err);
			saved = ce.syserr;
		} else {
			saved = n < 0 ? errno : EIO;
			strbuf_addf(err, "cannot start '%s': %s", exe,
				    strerror(saved));
		}
		goto out;
	}

	p->pid = pid;
	p->reaped = false;
	p->wait_status = 0;
	p->out_fd = out[0];
	out[0] = -1;
	fcntl(p->out_fd, F_SETFL, fcntl(p->out_fd, F_GETFL) | O_NONBLOCK);
#ifdef SYS_pidfd_open
	/* A pidfd is close-on-exec from birth. Without one we poll. */
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p->pidfd >= 0 && p->pidfd <= 2)
		p->pidfd = fd_off_stdio(p->pidfd);
#endif
	ret = 0;
out:
	if (in_fd >= 0)
		close(in_fd);
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	free(exe);
	if (ret)
		errno = saved;
	return ret;
}

int proc_for_each(int (*fn)(const struct proc_info *pi, void *ctx), void *ctx)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[64], buf[1024];
		struct proc_info pi;
		const char *s;
		char *end;
		long v[3];
		ssize_t n;
		long pid = strtol(de->d_name, &end, 10);
		int fd;

		if (pid <= 0 || *end)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* The command name may hold ')' and spaces: use the last. */
		s = strrchr(buf, ')');
		if (!s || s[1] != ' ' || !s[2])
			continue;
		pi.state = s[2];
		s += 3;
		for (int i = 0; i < 3; i++) {
			v[i] = strtol(s, &end, 10);
			s = end;
		}
		pi.pid = (pid_t)pid;
		pi.ppid = (pid_t)v[0];
		pi.pgrp = (pid_t)v[1];
		pi.session = (pid_t)v[2];
		if (fn(&pi, ctx))
			break;
	}
	closedir(d);
	return 0;
}

bool proc_has_env(pid_t pid, const char *const *tags)
{
	char path[64];
	struct strbuf sb;
	size_t want = 0, found = 0;
	bool ok = false;

	for (; tags[want]; want++)
		;
	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid);
	/* An environment past 1 MiB is cut there: fine for our tags. */
	strbuf_init_capped(&sb, 1 << 20);
	if (strbuf_read_file(&sb, path) < 0 && !sb.len)
		goto out;
	for (size_t at = 0; at < sb.len;) {
		const char *e = sb.buf + at;
		size_t len = strnlen(e, sb.len - at);
		for (size_t i = 0; i < want; i++)
			if (strlen(tags[i]) == len && !memcmp(tags[i], e, len))
				found++;
		at += len + 1;
	}
	ok = want > 0 && found >= want;
out:
	strbuf_release(&sb);
	return ok;
}

struct tree_kill {
	pid_t leader;
	const char *const *tags;
	int sig;
	int count;
};

static int tree_kill_one(const struct proc_info *pi, void *ctx)
{
	struct tree_kill *tk = ctx;

	if (pi->pid == tk->leader || pi->pid == getpid() || pi->state == 'Z' ||
	    pi->state == 'X')
		return 0;
	if ((tk->leader <= 1 ||
	     (pi->session != tk->leader && pi->pgrp != tk->leader)) &&
	    !(tk->tags && proc_has_env(pi->pid, tk->tags)))
		return 0;
	if (!kill(pi->pid, tk->sig) || errno == EPERM)
		tk->count++;
	return 0;
}

int proc_signal_tree_tagged(struct proc *p, int sig, const char *const *tags)
{
	struct tree_kill tk = { p->pid, tags, sig, 0 };

	/* Never kill(-1) or kill(0): that would hit far too much. */
	if (p->pid <= 1 || p->reaped)
		return 0;
	kill(-p->pid, sig);
	proc_for_each(tree_kill_one, &tk);
	return tk.count;
}

int proc_signal_tree(struct proc *p, int sig)
{
	return proc_signal_tree_tagged(p, sig, NULL);
}

int proc_kill_tagged(const char *const *tags, int sig)
{
	struct tree_kill tk = { 0, tags, sig, 0 };

	proc_for_each(tree_kill_one, &tk);
	return tk.count;
}

static int default_kill_tree(struct proc *p, int sig, void *ctx)
{
	(void)ctx;
	return proc_signal_tree(p, sig);
}

static bool child_exited(struct proc *p)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno == ECHILD;
	return si.si_pid == p->pid;
}

enum run_phase { RUN_RUNNING, RUN_TERM, RUN_KILL };

struct proc_loop {
	struct proc *p;
	const struct proc_run_opts *o;
	struct proc_result *r;
	int (*kill_tree)(struct proc *p, int sig, void *ctx);
	enum run_phase phase;
	int64_t kill_at;
	char *buf;
};

static void run_kill(struct proc_loop *run, int64_t now)
{
	run->kill_tree(run->p, SIGKILL, run->o->ctx);
	kill(run->p->pid, SIGKILL);
	run->phase = RUN_KILL;
	/* Should anything still stand, hit it again a second later. */
	run->kill_at = now + 1000;
}

static void run_term(struct proc_loop *run, int64_t now)
{
	if (run->o->grace_ms <= 0) {
		run_kill(run, now);
		return;
	}
	run->kill_tree(run->p, SIGTERM, run->o->ctx);
	run->phase = RUN_TERM;
	run->kill_at = now + run->o->grace_ms;
}

/* Read once from fd; returns false at EOF or on a hard error. */
static bool run_read(struct proc_loop *run, int fd, bool is_aux)
{
	const struct proc_run_opts *o = run->o;
	ssize_t n = read(fd, run->buf, PROC_CHUNK);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (!n)
		return false;
	if (is_aux) {
		if (o->on_aux)
			o->on_aux(o->ctx, run->buf, (size_t)n);
	} else if (!run->r->output_failed && o->on_output &&
		   o->on_output(o->ctx, run->buf, (size_t)n)) {
		run->r->output_failed = true;
		if (run->phase != RUN_KILL)
			run_kill(run, time_mono_ms());
	}
	return true;
}

static void run_check(struct proc_loop *run, int64_t now, int64_t elapsed,
		      size_t *next_warn)
{
	const struct proc_run_opts *o = run->o;

	if (run->phase == RUN_RUNNING) {
		while (*next_warn < o->nr_warn_at &&
		       elapsed >= o->warn_at_ms[*next_warn]) {
			if (o->on_warn)
				o->on_warn(o->ctx, elapsed);
			(*next_warn)++;
		}
	}
	if (run->phase != RUN_KILL && o->kill_now &&
	    atomic_load(o->kill_now)) {
		if (!run->r->timed_out)
			run->r->cancelled = true;
		run_kill(run, now);
	} else if (run->phase == RUN_RUNNING && o->cancel &&
		   atomic_load(o->cancel)) {
		run->r->cancelled = true;
		run_term(run, now);
	} else if (run->phase == RUN_RUNNING && o->timeout_ms > 0 &&
		   elapsed >= o->timeout_ms) {
		run->r->timed_out = true;
		run_term(run, now);
	} else if (run->phase == RUN_RUNNING && o->on_tick &&
		   o->on_tick(o->ctx)) {
		run->r->stopped = true;
		run_term(run, now);
	}
	if (run->phase == RUN_TERM && now >= run->kill_at)
		run_kill(run, now);
	else if (run->phase == RUN_KILL && now >= run->kill_at)
		run_kill(run, now);
}

static int run_wait_ms(const struct proc_loop *run, int64_t now,
		       int64_t elapsed, size_t next_warn)
{
	const struct proc_run_opts *o = run->o;
	int64_t wait = PROC_POLL_MS;

	if (run->phase == RUN_RUNNING) {
		if (next_warn < o->nr_warn_at &&
		    o->warn_at_ms[next_warn] - elapsed < wait)
			wait = o->warn_at_ms[next_warn] - elapsed;
		if (o->timeout_ms > 0 && o->timeout_ms - elapsed < wait)
			wait = o->timeout_ms - elapsed;
	} else if (run->kill_at - now < wait) {
		wait = run->kill_at - now;
	}
	return wait < 0 ? 0 : (int)wait;
}

/* After the child exited: read what is left, for a bounded time. */
static void run_drain(struct proc_loop *run, int *out, int aux)
{
	int64_t end = time_mono_ms() + PROC_DRAIN_MS;

	while (*out >= 0 || aux >= 0) {
		struct pollfd fds[2];
		int nfds = 0, left = (int)(end - time_mono_ms());

		if (left <= 0)
			break;
		if (*out >= 0)
			fds[nfds++] = (struct pollfd){ .fd = *out,
						       .events = POLLIN };
		if (aux >= 0)
			fds[nfds++] =
				(struct pollfd){ .fd = aux, .events = POLLIN };
		if (poll(fds, (nfds_t)nfds, left) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < nfds; i++) {
			bool is_aux = fds[i].fd == aux;

			if (!fds[i].revents)
				continue;
			if (run_read(run, fds[i].fd, is_aux))
				continue;
			if (is_aux) {
				aux = -1;
			} else {
				close(*out);
				*out = -1;
			}
		}
	}
}

int proc_run(struct proc *p, const struct proc_run_opts *o,
	     struct proc_result *r, struct strbuf *err)
{
	struct proc_loop run;
	int64_t start = time_mono_ms(), now = start, elapsed = 0;
	size_t next_warn = 0;
	int aux = o->aux_fd;
	bool exited = false;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	r->exit_code = -1;
	if (p->pid <= 0 || p->reaped) {
		strbuf_addstr(err, "no running process to wait for");
		return -1;
	}
	run.p = p;
	run.o = o;
	run.r = r;
	run.kill_tree = o->kill_tree ? o->kill_tree : default_kill_tree;
	run.phase = RUN_RUNNING;
	run.kill_at = 0;
	run.buf = xmalloc(PROC_CHUNK);

	while (!exited) {
		struct pollfd fds[3];
		int nfds = 0, wait;

		now = time_mono_ms();
		elapsed = now - start;
		run_check(&run, now, elapsed, &next_warn);
		wait = run_wait_ms(&run, now, elapsed, next_warn);

		if (p->out_fd >= 0)
			fds[nfds++] = (struct pollfd){ .fd = p->out_fd,
						       .events = POLLIN };
		if (aux >= 0)
			fds[nfds++] =
				(struct pollfd){ .fd = aux, .events = POLLIN };
		if (p->pidfd >= 0)
			fds[nfds++] = (struct pollfd){ .fd = p->pidfd,
						       .events = POLLIN };
		if (poll(fds, (nfds_t)nfds, wait) < 0 && errno != EINTR) {
			strbuf_addf(err, "cannot wait for the child: %s",
				    strerror(errno));
			run_kill(&run, time_mono_ms());
			goto reap;
		}
		for (int i = 0; i < nfds; i++) {
			int fd = fds[i].fd;

			if (!fds[i].revents || fd == p->pidfd)
				continue;
			if (run_read(&run, fd, fd == aux))
				continue;
			if (fd == aux) {
				aux = -1;
			} else {
				close(p->out_fd);
				p->out_fd = -1;
			}
		}
		exited = child_exited(p);
	}
	r->duration_ms = time_mono_ms() - start;

	/*
	 * The child is a zombie now and pins its pid, group and session:
	 * kill what it left behind until nothing is left.
	 */
	now = time_mono_ms();
	for (int64_t end = now + PROC_SWEEP_MS; now < end;
	     now = time_mono_ms()) {
		if (!run.kill_tree(p, SIGKILL, o->ctx))
			break;
		time_sleep_ms(10);
	}
	run_drain(&run, &p->out_fd, aux);
	ret = 0;
reap:
	if (wait_reap(p->pid, &p->wait_status) < 0) {
		if (!ret)
			strbuf_addf(err, "cannot reap child %ld: %s",
				    (long)p->pid, strerror(errno));
		ret = -1;
	}
	p->reaped = true;
	r->wait_status = p->wait_status;
	if (WIFEXITED(p->wait_status)) {
		r->exit_code = WEXITSTATUS(p->wait_status);
	} else if (WIFSIGNALED(p->wait_status)) {
		r->exit_code = -1;
		r->term_signal = WTERMSIG(p->wait_status);
	}
	if (!r->duration_ms)
		r->duration_ms = time_mono_ms() - start;
	free(run.buf);
	return ret;
}

void proc_release(struct proc *p)
{
	if (p->pid > 1 && !p->reaped) {
		proc_signal_tree(p, SIGKILL);
		kill(p->pid, SIGKILL);
		wait_reap(p->pid, &p->wait_status);
	}
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->pidfd >= 0)
		close(p->pidfd);
	strvec_clear(&p->args);
	strvec_clear(&p->env);
	proc_init(p);
}
