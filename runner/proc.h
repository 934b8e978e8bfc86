#ifndef PROC_H
#define PROC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "strvec.h"

struct strbuf;

/*
 * Child processes (git's run-command model).
 *
 * Every process runner starts goes through here. The protocol:
 *
 *   struct proc p = PROC_INIT;
 *   strvec_push(&p.args, "bwrap"); ...      argv; args.v[0] is looked up
 *   strvec_push(&p.env, "PATH=/usr/bin");   in PATH unless it has a '/'
 *   p.dir = "/some/dir";
 *   if (proc_start(&p, &err) < 0) -> could not start, err says why
 *   proc_run(&p, &opts, &res, &err);        stream output until it ends
 *   proc_release(&p);                       always, on every path
 *
 * The child gets:
 *   - exactly p.env as its environment (nothing is inherited);
 *   - stdin from p.stdin_path, or /dev/null;
 *   - stdout and stderr on ONE pipe, so output keeps its write order
 *     (unless stderr_fd names another place for stderr);
 *   - its own session and process group (pgid = sid = pid), so it has no
 *     controlling terminal and the whole group can be signalled;
 *   - every signal reset to the default and none blocked;
 *   - no file descriptor but 0, 1, 2 and keep_fds (everything we open is
 *     O_CLOEXEC, so a child started by another thread cannot keep our
 *     pipes open either);
 *   - optionally a cgroup (joined first), rlimits, a uid/gid drop and a
 *     bind mount (below).
 * Between fork and exec the child makes only async-signal-safe calls. If
 * anything there fails (chdir, exec, setuid...), the child reports the
 * step and errno to the parent over an O_CLOEXEC pipe and proc_start()
 * fails with a message such as "cannot run '/usr/bin/x': Permission
 * denied" instead of a child exiting 127.
 *
 * Threads: proc_start() and proc_run() may be called from several threads
 * at once, on different procs. A proc is used by one thread at a time.
 *
 * PR_SET_PDEATHSIG (die_with_parent here, and bwrap's --die-with-parent)
 * fires when the *thread* that forked the child exits, not the process.
 * So call proc_start() and proc_run() from a thread that lives until the
 * child has been reaped (proc_run() returns or proc_release()); a worker
 * thread that runs one task to completion does.
 *
 * SIGCHLD must not be ignored (SIG_IGN or SA_NOCLDWAIT) in the process:
 * proc_run() waits for its own child by pid.
 */

#define PROC_MAX_KEEP_FDS 8

struct proc {
	/* Filled in by the caller before proc_start(). */
	struct strvec args;
	struct strvec env;	/* the complete environment, NAME=VALUE */
	const char *path;	/* PATH to find args.v[0] in; NULL: $PATH */
	const char *dir;	/* working directory; NULL: inherit */
	const char *stdin_path; /* NULL: /dev/null */
	/*
	 * Above 2: a descriptor of ours that becomes the child's stderr
	 * (output that must not mix into what stdout carries, such as a
	 * NUL-separated listing); else stderr shares stdout's pipe.
	 */
	int stderr_fd;
	uint64_t rlimit_as;    /* RLIMIT_AS in bytes; 0: leave as is */
	uint64_t rlimit_nproc; /* RLIMIT_NPROC; 0: leave as is */
	bool no_core;	       /* RLIMIT_CORE 0 */
	bool die_with_parent;  /* PR_SET_PDEATHSIG SIGKILL (see above) */
	bool drop_privs;       /* setgroups(0), setgid(gid), setuid(uid) */
	uid_t uid;
	gid_t gid;
	/*
	 * Before dropping privileges, make bind_src visible at bind_dst in a
	 * private mount namespace of the child (unshare(CLONE_NEWNS), / made
	 * a recursive slave, then a bind mount). For a directory the
	 * dropped uid could not reach by its path. Needs CAP_SYS_ADMIN.
	 */
	const char *bind_src;
	const char *bind_dst;
	/*
	 * cgroup.procs files (open for writing, cgroup.h) the child writes
	 * itself into first of all, before anything else it does: every
	 * process it starts is then born inside the cgroup.
	 */
	const int *cgroup_fds;
	size_t nr_cgroup_fds;
	/* Descriptors the child inherits under the same numbers. */
	int keep_fds[PROC_MAX_KEEP_FDS];
	size_t nr_keep_fds;

	/* Set by proc_start(). */
	pid_t pid;  /* also the child's pgid and sid; -1 */
	int out_fd; /* read end of stdout+stderr; -1 */
	int pidfd;  /* readable when the child exits; -1 */
	bool reaped;
	int wait_status; /* from waitpid, once reaped */
};

#define PROC_INIT                                                   \
	{                                                           \
		.args = STRVEC_INIT, .env = STRVEC_INIT, .pid = -1, \
		.out_fd = -1, .pidfd = -1                           \
	}

void proc_init(struct proc *p);

/*
 * Free what p holds and close its descriptors. If the child still runs,
 * its tree (proc_signal_tree) is killed with SIGKILL and reaped first, so
 * no process or zombie outlives the proc.
 */
void proc_release(struct proc *p);

/*
 * Start the child. Returns 0, or -1 with err set when it could not be
 * started; then no process is left behind and errno holds the cause
 * (ENOENT when args.v[0] was not found in PATH or does not exist).
 */
int proc_start(struct proc *p, struct strbuf *err);

/*
 * Look name up in path (':'-separated; empty elements are skipped) the way
 * execvp would. Returns a malloc'd path to an executable regular file
 * (the caller frees it), or NULL. A name with a '/' is returned as is
 * (a copy): whether it can run is for exec to say.
 */
char *proc_find_in_path(const char *name, const char *path);

struct proc_result {
	int exit_code;	 /* -1 when ended by a signal */
	int term_signal; /* the signal that ended it, or 0 */
	bool timed_out;
	bool cancelled;
	bool output_failed; /* on_output returned non-zero */
	bool stopped;	    /* on_tick asked for the stop */
	int64_t duration_ms;
	int wait_status; /* raw, from waitpid */
};

struct proc_run_opts {
	int64_t timeout_ms;	   /* from the start of proc_run; 0: none */
	int64_t grace_ms;	   /* TERM -> KILL delay; 0: KILL at once */
	const int64_t *warn_at_ms; /* ascending offsets from the start */
	size_t nr_warn_at;
	/*
	 * Output as it arrives, in chunks of at most 64 KiB. A non-zero
	 * return kills the tree with SIGKILL; later output is discarded.
	 */
	int (*on_output)(void *ctx, const char *buf, size_t len);
	/* Called once per warn_at offset reached while still running. */
	void (*on_warn)(void *ctx, int64_t elapsed_ms);
	/*
	 * Called while the child runs, at least every 100 ms: a non-zero
	 * return stops it like cancel (TERM, grace, KILL) and sets
	 * stopped. For limits the caller keeps itself (an idle limit).
	 */
	int (*on_tick)(void *ctx);
	const atomic_int *cancel;   /* non-zero: TERM, grace, KILL */
	const atomic_int *kill_now; /* non-zero: KILL now */
	void *ctx;

	/*
	 * An extra descriptor to watch (e.g. bwrap's --json-status-fd); its
	 * data goes to on_aux until EOF. -1: none. proc_run() does not
	 * close it.
	 */
	int aux_fd;
	void (*on_aux)(void *ctx, const char *buf, size_t len);

	/*
	 * How to signal "everything the child started". Returns the number
	 * of live processes it signalled, not counting the direct child.
	 * NULL: proc_signal_tree. Called with SIGTERM (timeout, cancel) and
	 * SIGKILL (grace over, kill_now, and repeatedly after the child
	 * exited, until it returns 0, so that nothing the task started
	 * survives proc_run).
	 */
	int (*kill_tree)(struct proc *p, int sig, void *ctx);
};

#define PROC_RUN_OPTS_INIT   \
	{                    \
		.aux_fd = -1 \
	}

/*
 * Run the started child to its end: stream its output, fire warnings,
 * enforce the timeout (kill_tree(SIGTERM), grace_ms, then SIGKILL),
 * honour cancel and kill_now (both polled at least every 100 ms), then
 * kill whatever the child left running and reap it.
 *
 * Returns 0 with *r filled when the child ran (whatever its status), -1
 * when waiting for it failed (err set). Memory use is bounded whatever
 * the amount of output.
 */
int proc_run(struct proc *p, const struct proc_run_opts *o,
	     struct proc_result *r, struct strbuf *err);

/*
 * Signal p's process group and every process in p's session (found in
 * /proc), that is everything the child started unless it called setsid()
 * itself. Returns how many live processes besides the child were found.
 */
int proc_signal_tree(struct proc *p, int sig);
/*
 * The same, and also every process whose environment holds all of tags
 * (NULL-terminated "NAME=VALUE" strings): what the child started and
 * moved out of its session with setsid(), as long as it kept the
 * variables the runner gave it.
 */
int proc_signal_tree_tagged(struct proc *p, int sig, const char *const *tags);
/*
 * Signal every process (but us) whose environment holds all of tags;
 * returns how many. Crash recovery uses it for what a dead runner left.
 */
int proc_kill_tagged(const char *const *tags, int sig);
/* Whether /proc/PID/environ holds every one of tags. */
bool proc_has_env(pid_t pid, const char *const *tags);

/* What proc_for_each() tells about a process (from /proc/PID/stat). */
struct proc_info {
	pid_t pid;
	pid_t ppid;
	pid_t pgrp;
	pid_t session;
	char state; /* 'R', 'S', 'Z', ... */
};

/*
 * Call fn for every process in /proc, zombies included. fn returns 0 to
 * go on, non-zero to stop. Returns 0, or -1 if /proc cannot be read.
 */
int proc_for_each(int (*fn)(const struct proc_info *pi, void *ctx), void *ctx);

#endif
