/*
 * The local backend: a sandbox is a folder under state_dir/sandboxes/
 * that is the task's workspace; the task runs there under bubblewrap
 * (isolation: sandbox) or as a plain child process (isolation: none).
 *
 * Under bubblewrap the task gets new user, pid, ipc, uts, cgroup and
 * (unless network: true) net namespaces, the host system read-only (/usr,
 * /etc and the /bin, /lib... links or directories as the host has them),
 * fresh /proc, /dev and /tmp, the workspace read-write at /workspace and
 * nothing else of the host. When the runner is root, bwrap itself runs as
 * nobody (65534): root mapped into a user namespace would still be host
 * root to the files bound in (/etc/shadow), nobody is not. The workspace
 * is chowned to nobody so that the task can write it, and nothing else.
 *
 * bwrap realpath()s and mounts its sources with the uid it runs as, so
 * nobody must be able to reach the workspace by its path. When it cannot
 * (a state directory under /root), the child mounts the workspace on a
 * directory nobody can reach (/mnt), in a private mount namespace of its
 * own, before it drops root.
 *
 * Everything but the command line reaches bwrap through --args (a memfd):
 * the environment holds secrets, and argv is world-readable in /proc.
 *
 * --json-status-fd tells us the host pid of the sandbox's pid 1, its pid
 * namespace and, at the end, the command's exit code. bwrap reports a
 * command killed by signal N as 128 + N, as shells do; we report such a
 * code as term_signal N (so "exit 130" in a task reads as SIGINT). No
 * exit code at all means the sandbox could not be set up or the command
 * could not be executed: exec fails with bwrap's message.
 *
 * exec() returns -1 when the task could not be started (bwrap missing or
 * broken, fork failure, the sandbox could not be set up) and also when
 * cmd->on_output failed: the task is then killed, *st still filled in.
 *
 * HOME is a folder of the sandbox's own, outside the workspace: a tmpfs
 * at /home/runner under bubblewrap; with isolation none, ROOT.home next
 * to the sandbox root (its name starts with the run id, as the root's
 * does, so that recovery and gc remove it with the root).
 *
 * memory, pids and cpus hold for the whole task: every attempt has a
 * cgroup that bwrap (or the plain child) joins before it execs, so all
 * the task's processes are born in it (sandbox-local-limits.h); its
 * /tmp is a tmpfs of at most memory: bytes, whose pages count against
 * the same limit. Only on a host without a writable cgroup do they fall
 * back to rlimits (RLIMIT_AS per process), and the run says so.
 *
 * Killing: SIGTERM goes to every process of the sandbox's pid namespace
 * (found by comparing /proc/PID/ns/pid with a descriptor we hold on the
 * namespace, so that its inode number cannot be recycled under us);
 * SIGKILL also goes to the namespace's pid 1, which takes every process
 * of the namespace with it. With isolation none, the process group and
 * session of the child are killed, and every process that carries the
 * task's RUNNER_RUN_ID, RUNNER_TASK_ID and RUNNER_ATTEMPT (one that
 * called setsid() and kept its environment); only a process that does
 * both escapes. We do not make the runner a child subreaper: in a
 * multi-threaded process the orphans it would inherit could only be
 * reaped by a waitpid(-1) that steals other threads' children.
 *
 * bwrap itself carries those three variables too, so that crash
 * recovery (recover.c) can find what a SIGKILLed runner left behind.
 */
#define _GNU_SOURCE
#include "runner.h"
#include "sandbox-local.h"
#include "netproxy.h"
#include "plan-backend.h"
#include "proc.h"
#include "ws.h"
#include "fs.h"
#include "sandbox-local-limits.h"
#include "cgroup.h"
#include "timeutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define SANDBOX_UID ((uid_t)65534)
#define SANDBOX_GID ((gid_t)65534)
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define SANDBOX_HOME "/home/runner"
#define BWRAP_MISSING                                                      \
	"bubblewrap (bwrap) is not installed; install the Debian package " \
	"'bubblewrap' (make deps) or set backend.isolation: none"
#define USERNS_HINT                                                   \
	"user namespaces are unavailable to unprivileged users here " \
	"(check the sysctls user.max_user_namespaces, "               \
	"kernel.unprivileged_userns_clone and "                       \
	"kernel.apparmor_restrict_unprivileged_userns), or set "      \
	"backend.isolation: none"

struct sandbox {
	char *root;	/* absolute: state_dir/sandboxes/NAME */
	char *ws;	/* the workspace: root itself */
	char *id;	/* "local-NAME" */
	char *home;	/* the task's HOME, as the task sees it */
	char *home_dir; /* the host folder behind it, or NULL (a tmpfs) */
	enum local_isolation isolation;
	bool network;
	struct netproxy *netproxy; /* borrowed: network: [allowlist] */
	const struct netproxy_allowlist *net_allow;
	struct local_limits_want limits;
	bool drop;		 /* we are root: run bwrap as nobody */
	struct ws_stamps stamps; /* of the copy, for a fast diff */
};

static const struct sandbox_local_config local_defaults;

static const struct sandbox_local_config *
local_config(const struct sandbox_config *cfg)
{
	return cfg->backend_config ? cfg->backend_config : &local_defaults;
}

static void local_limits_from_config(const struct sandbox_local_config *lc,
				     struct local_limits_want *w)
{
	w->memory = lc->memory;
	w->pids = lc->pids;
	w->cpus = lc->cpus;
}

/* sandbox.h limits_note: what of lc's limits this host cannot hold. */
static void local_note_limits(const void *config, struct strbuf *out)
{
	struct local_limits_want w;

	local_limits_from_config(config ? config : &local_defaults, &w);
	local_limits_note(&w, out);
}

static bool want_drop(enum local_isolation iso)
{
	return iso == LOCAL_ISOLATION_SANDBOX && geteuid() == 0;
}

static char *find_bwrap(void)
{
	const char *path = getenv("PATH");
	return proc_find_in_path("bwrap", path ? path : DEFAULT_PATH);
}

/* Collects a child's output, capped. */
static int collect_output(void *ctx, const char *buf, size_t len)
{
	struct strbuf *sb = ctx;
	size_t room = sb->cap > sb->len ? sb->cap - sb->len : 0;

	strbuf_add(sb, buf, len < room ? len : room);
	return 0;
}

/* The first line of s that starts with "bwrap: ", else the last line. */
static void bwrap_message(const char *s, struct strbuf *out)
{
	const char *hit = strstr(s, "bwrap: ");
	const char *end;
	struct strbuf tmp = STRBUF_INIT;

	if (!hit) {
		strbuf_addstr(&tmp, s);
		strbuf_rtrim(&tmp);
		hit = strrchr(tmp.buf, '\n');
		hit = hit ? hit + 1 : tmp.buf;
	}
	end = strchrnul(hit, '\n');
	strbuf_add(out, hit, (size_t)(end - hit));
	strbuf_release(&tmp);
}

static bool looks_like_userns(const char *msg)
{
	return strstr(msg, "namespace") || strstr(msg, "uid map") ||
	       strstr(msg, "Operation not permitted") ||
	       strstr(msg, "No permissions");
}

/* Less than this cannot even start a shell in a cgroup. */
#define LOCAL_MIN_MEMORY ((uint64_t)4 << 20)
#define LOCAL_MIN_MEMORY_ERROR "must be at least 4M (or 0 for no limit)"

static int local_check(const struct sandbox_config *cfg, struct strbuf *err)
{
	struct proc p = PROC_INIT;
	struct proc_run_opts o = PROC_RUN_OPTS_INIT;
	struct proc_result r;
	struct strbuf out = STRBUF_INIT, msg = STRBUF_INIT;
	char *bwrap = NULL;
	int ret = -1;

	/*
	 * What parse_config refuses only for a plan that says local: a plan
	 * written for another backend, run with --backend local.
	 */
	if (local_config(cfg)->memory &&
	    local_config(cfg)->memory < LOCAL_MIN_MEMORY) {
		strbuf_addstr(err, "backend.memory: " LOCAL_MIN_MEMORY_ERROR);
		return -1;
	}
	if (local_config(cfg)->isolation == LOCAL_ISOLATION_NONE)
		return 0;
	strbuf_init_capped(&out, 4096);
	bwrap = find_bwrap();
	if (!bwrap) {
		strbuf_addstr(err, BWRAP_MISSING);
		goto out;
	}
	strvec_push(&p.args, bwrap);
	strvec_pushv(&p.args, (const char *const[]){
				      "--unshare-all", "--die-with-parent",
				      "--new-session", "--ro-bind", "/", "/",
				      "true", NULL });
	strvec_push(&p.env, "PATH=" DEFAULT_PATH);
	p.dir = "/";
	p.die_with_parent = true;
	if (want_drop(local_config(cfg)->isolation)) {
		p.drop_privs = true;
		p.uid = SANDBOX_UID;
		p.gid = SANDBOX_GID;
	}
	if (proc_start(&p, err) < 0)
		goto out;
	o.timeout_ms = 20000;
	o.on_output = collect_output;
	o.ctx = &out;
	if (proc_run(&p, &o, &r, err) < 0)
		goto out;
	if (r.exit_code == 0) {
		ret = 0;
		goto out;
	}
	bwrap_message(out.buf, &msg);
	if (!msg.len)
		strbuf_addf(&msg, "exited with status %d", r.exit_code);
	if (looks_like_userns(msg.buf))
		strbuf_addf(err,
			    "bubblewrap cannot create its namespaces "
			    "(%s): " USERNS_HINT,
			    msg.buf);
	else
		strbuf_addf(err,
			    "bubblewrap does not work here (%s): it "
			    "needs unprivileged user namespaces, or set "
			    "backend.isolation: none",
			    msg.buf);
out:
	proc_release(&p);
	strbuf_release(&out);
	strbuf_release(&msg);
	free(bwrap);
	return ret;
}

/* Run and task ids as they may appear in a file name. */
static void add_name_part(struct strbuf *sb, const char *s)
{
	for (size_t i = 0; s && s[i] && i < 64; i++) {
		char c = s[i];
		bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			   c == '-';
		strbuf_addch(sb, okc ? c : '_');
	}
}

static void sandbox_free(struct sandbox *sb)
{
	if (!sb)
		return;
	free(sb->root);
	free(sb->ws);
	free(sb->id);
	free(sb->home);
	free(sb->home_dir);
	ws_stamps_release(&sb->stamps);
	free(sb);
}

static int local_create(const struct sandbox_config *cfg, struct sandbox **out,
			struct strbuf *err)
{
	struct sandbox *sb = xcalloc(1, sizeof(*sb));
	struct strbuf tmpl = STRBUF_INIT;
	char *dir = fs_join(cfg->state_dir, "sandboxes");
	char *made = NULL;
	int ret = -1;

	*out = NULL;
	sb->isolation = local_config(cfg)->isolation;
	sb->network = local_config(cfg)->network;
	if (sb->isolation == LOCAL_ISOLATION_SANDBOX && cfg->netproxy) {
		sb->netproxy = cfg->netproxy;
		sb->net_allow = &local_config(cfg)->network_allow;
	}
	local_limits_from_config(local_config(cfg), &sb->limits);
	sb->drop = want_drop(sb->isolation);
	/* 0711: nobody may pass through to its workspace, not list. */
	if (fs_mkdir_p(dir, 0711, err) < 0)
		goto out;
	strbuf_addf(&tmpl, "%s/", dir);
	add_name_part(&tmpl, cfg->run_id);
	strbuf_addch(&tmpl, '-');
	add_name_part(&tmpl, cfg->task_id);
	strbuf_addf(&tmpl, "-%d-XXXXXX", cfg->attempt);
	if (!mkdtemp(tmpl.buf)) {
		strbuf_addf(err, "cannot create sandbox directory '%s': %s",
			    tmpl.buf, strerror(errno));
		goto out;
	}
	made = xstrdup(tmpl.buf);
	sb->root = fs_realpath(made, err);
	if (!sb->root)
		goto out;
	/*
	 * The directory is the workspace itself (one mkdir and one rmdir
	 * per task fewer, which matters for short tasks). mkdtemp made it
	 * 0700: only its owner, and nobody when we drop to nobody, may
	 * enter it.
	 */
	sb->ws = xstrdup(sb->root);
	sb->id = xstrfmt("local-%s", strrchr(sb->root, '/') + 1);
	if (sb->drop && chown(sb->ws, SANDBOX_UID, SANDBOX_GID) < 0) {
		strbuf_addf(err, "cannot give '%s' to the sandbox user: %s",
			    sb->ws, strerror(errno));
		goto out;
	}
	if (sb->isolation == LOCAL_ISOLATION_SANDBOX) {
		sb->home = xstrdup(SANDBOX_HOME);
	} else {
		sb->home_dir = xstrfmt("%s.home", sb->root);
		if (mkdir(sb->home_dir, 0700) < 0) {
			strbuf_addf(err, "cannot create '%s': %s",
				    sb->home_dir, strerror(errno));
			free(sb->home_dir);
			sb->home_dir = NULL;
			goto out;
		}
		sb->home = xstrdup(sb->home_dir);
	}
	*out = sb;
	sb = NULL;
	ret = 0;
out:
	if (sb && made) {
		struct strbuf ignored = STRBUF_INIT;
		if (sb->home_dir)
			fs_rm_rf(sb->home_dir, &ignored);
		fs_rm_rf(made, &ignored);
		strbuf_release(&ignored);
	}
	sandbox_free(sb);
	free(made);
	free(dir);
	strbuf_release(&tmpl);
	return ret;
}

static const char *local_id(const struct sandbox *sb)
{
	return sb->id;
}

static const char *local_home(const struct sandbox *sb)
{
	return sb->home;
}

static int local_put_tree(struct sandbox *sb, const struct ws_manifest *m,
			  const char *src_root, struct strbuf *err)
{
	/* One pass: copy, give to nobody when we are root, stamp. */
	struct ws_copy_opts opts = { .chown = sb->drop,
				     .uid = SANDBOX_UID,
				     .gid = SANDBOX_GID };
	ws_stamps_release(&sb->stamps);
	return ws_copy_tree_ex(m, src_root, sb->ws, &opts, &sb->stamps, err);
}

/*
 * Whether uid/gid (without supplementary groups) may search every
 * directory on the way to path, path included.
 */
static bool reachable_by(const char *path, uid_t uid, gid_t gid)
{
	char *p = xstrdup(path);
	bool ok = true;
	size_t len = strlen(p);

	for (size_t i = 1; ok && i <= len; i++) {
		struct stat st;
		mode_t bit;

		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (stat(p, &st) < 0) {
			ok = false;
		} else {
			bit = st.st_uid == uid	 ? S_IXUSR
			      : st.st_gid == gid ? S_IXGRP
						 : S_IXOTH;
			ok = S_ISDIR(st.st_mode) && (st.st_mode & bit);
		}
		if (i < len)
			p[i] = '/';
	}
	if (ok) {
		struct stat st;
		ok = !stat("/", &st) && (st.st_mode & S_IXOTH);
	}
	free(p);
	return ok;
}

static bool has_prefix_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/*
 * Where the child mounts the workspace for bwrap when nobody cannot reach
 * it by its own path: a directory bwrap does not need (it sees host /tmp
 * and /mnt only through our binds, and we bind neither), that nobody can
 * reach and that does not hide bwrap itself.
 */
static const char *pick_mountpoint(const char *bwrap, const char *ws)
{
	static const char *const cands[] = {
		"/mnt", "/tmp", "/media", "/srv", "/opt", "/var/tmp",
	};

	for (size_t i = 0; i < ARRAY_SIZE(cands); i++) {
		struct stat st;

		if (lstat(cands[i], &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (has_prefix_dir(bwrap, cands[i]) ||
		    has_prefix_dir(ws, cands[i]))
			continue;
		if (reachable_by(cands[i], SANDBOX_UID, SANDBOX_GID))
			return cands[i];
	}
	return NULL;
}

/* What one exec needs in its callbacks. */
struct exec_ctx {
	const struct sandbox_cmd *cmd;
	struct strbuf status; /* bwrap's JSON lines, capped */
	size_t parsed;	      /* how much of status was parsed */
	long child_pid;	      /* host pid of the sandbox's pid 1 */
	unsigned long long ns_ino;
	int ns_fd; /* that pid namespace, held open */
	struct stat ns_st;
	bool have_exit;
	int exit_code;
	struct strbuf tail; /* the last output, for setup errors */
	/*
	 * The task's RUNNER_RUN_ID, RUNNER_TASK_ID and RUNNER_ATTEMPT
	 * entries (NULL-terminated; tags[0] NULL when missing): every
	 * process of the task, and bwrap itself, carries them.
	 */
	const char *tags[4];
	/* watch_files_ms: the workspace, and when it was last looked at */
	const char *ws;
	int64_t next_look_ms; /* mono */
	int64_t looked_at_ms; /* wall clock, as file times are */
	int64_t last_out_ms;  /* mono */
};

/* Pick the runner's own variables out of the task's environment. */
static void find_tags(struct exec_ctx *ec, const char *const *env)
{
	static const char *const names[] = {
		"RUNNER_RUN_ID=", "RUNNER_TASK_ID=", "RUNNER_ATTEMPT="
	};
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		for (const char *const *e = env; e && *e; e++)
			if (!strncmp(*e, names[i], strlen(names[i]))) {
				ec->tags[n++] = *e;
				break;
			}
	if (n < ARRAY_SIZE(names))
		n = 0;
	ec->tags[n] = NULL;
}

/*
 * isolation none: the session and group, and what left them with
 * setsid() but kept the task's variables.
 */
static int plain_kill_tree(struct proc *p, int sig, void *ctx)
{
	struct exec_ctx *ec = ctx;

	return proc_signal_tree_tagged(p, sig, ec->tags[0] ? ec->tags : NULL);
}

static int exec_on_output(void *ctx, const char *buf, size_t len)
{
	struct exec_ctx *ec = ctx;
	const size_t keep = 2048;

	if (len >= keep) {
		strbuf_reset(&ec->tail);
		strbuf_add(&ec->tail, buf + len - keep, keep);
	} else {
		if (ec->tail.len + len > keep) {
			size_t drop = ec->tail.len + len - keep;
			memmove(ec->tail.buf, ec->tail.buf + drop,
				ec->tail.len - drop);
			strbuf_setlen(&ec->tail, ec->tail.len - drop);
		}
		strbuf_add(&ec->tail, buf, len);
	}
	ec->last_out_ms = time_mono_ms();
	if (ec->cmd->on_output)
		return ec->cmd->on_output(ec->cmd->ctx, buf, len);
	return 0;
}

/*
 * The most entries one look at the workspace reads: with one fstatat
 * each, a look at a 20,000-file tree takes some 20 ms, and a task that
 * makes millions of files cannot make a look take longer than a bounded
 * while (beyond, what is not seen does not count).
 */
#define LOOK_MAX_ENTRIES 200000
#define LOOK_MAX_DEPTH 64

/*
 * Whether anything under dir (an open directory, taken over) changed
 * after since_ms (wall clock): a ctime after it, which a write, a
 * create, a rename, a delete (the folder's) and a chmod all set and
 * touch -d cannot fake. Stops at the first one found; never follows a
 * symlink (what the sandbox puts there is not trusted).
 */
static bool changed_since(int dfd, int64_t since_ms, int depth, size_t *budget)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	bool found = false;

	if (!d) {
		close(dfd);
		return false;
	}
	while (!found && *budget && (de = readdir(d))) {
		struct stat st;
		int64_t ms;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		(*budget)--;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
		    0)
			continue;
		ms = (int64_t)st.st_ctim.tv_sec * 1000 +
		     st.st_ctim.tv_nsec / 1000000;
		if (ms > since_ms) {
			found = true;
		} else if (S_ISDIR(st.st_mode) && depth < LOOK_MAX_DEPTH) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						 O_CLOEXEC);
			if (sub >= 0)
				found = changed_since(sub, since_ms, depth + 1,
						      budget);
		}
	}
	closedir(d);
	return found;
}

static bool workspace_changed_since(const char *ws, int64_t since_ms)
{
	size_t budget = LOOK_MAX_ENTRIES;
	struct stat st;
	int fd = open(ws, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 &&
	    (int64_t)st.st_ctim.tv_sec * 1000 + st.st_ctim.tv_nsec / 1000000 >
		    since_ms) {
		close(fd);
		return true;
	}
	return changed_since(fd, since_ms, 0, &budget);
}

/*
 * watch_files_ms: while the output is quiet, a look at the workspace
 * every so often (inotify would need a watch per folder, set up by a
 * walk anyway and racing the task's new folders, and its limit is per
 * user: a bounded walk, only when quiet, costs less and cannot fail).
 */
static void exec_look_at_files(struct exec_ctx *ec)
{
	const struct sandbox_cmd *cmd = ec->cmd;
	int64_t now = time_mono_ms(), wall = time_now_ms();
	/* File times lag the clock a little (a coarse clock). */
	const int64_t slack = 1000;

	if (cmd->watch_files_ms <= 0 || !cmd->on_files_changed)
		return;
	if (!ec->next_look_ms) {
		ec->next_look_ms = now + cmd->watch_files_ms;
		ec->looked_at_ms = wall;
		return;
	}
	if (now < ec->next_look_ms)
		return;
	ec->next_look_ms = now + cmd->watch_files_ms;
	/* Output since the last look already counts as activity. */
	if (now - ec->last_out_ms >= cmd->watch_files_ms &&
	    workspace_changed_since(ec->ws, ec->looked_at_ms - slack))
		cmd->on_files_changed(cmd->ctx);
	ec->looked_at_ms = wall;
}

static int exec_on_tick(void *ctx)
{
	struct exec_ctx *ec = ctx;

	exec_look_at_files(ec);
	return ec->cmd->on_tick ? ec->cmd->on_tick(ec->cmd->ctx) : 0;
}

static void exec_on_warn(void *ctx, int64_t elapsed_ms)
{
	struct exec_ctx *ec = ctx;

	if (ec->cmd->on_warn)
		ec->cmd->on_warn(ec->cmd->ctx, elapsed_ms);
}

static bool json_number(const char *line, const char *key, long long *v)
{
	const char *s = strstr(line, key);
	char *end;

	if (!s)
		return false;
	s += strlen(key);
	while (*s == ' ' || *s == '"' || *s == ':')
		s++;
	*v = strtoll(s, &end, 10);
	return end != s;
}

static void learn_namespace(struct exec_ctx *ec)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/ns/pid", ec->child_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	/* A recycled pid would show another namespace: then trust none. */
	if (fstat(fd, &ec->ns_st) < 0 ||
	    (unsigned long long)ec->ns_st.st_ino != ec->ns_ino) {
		close(fd);
		return;
	}
	ec->ns_fd = fd;
}

static void exec_on_aux(void *ctx, const char *buf, size_t len)
{
	struct exec_ctx *ec = ctx;
	char *nl;

	if (strbuf_add(&ec->status, buf, len) < 0)
		return;
	while ((nl = memchr(ec->status.buf + ec->parsed, '\n',
			    ec->status.len - ec->parsed))) {
		const char *line = ec->status.buf + ec->parsed;
		long long v;

		*nl = '\0';
		if (json_number(line, "\"child-pid\"", &v) && v > 1) {
			ec->child_pid = (long)v;
			if (json_number(line, "\"pid-namespace\"", &v)) {
				ec->ns_ino = (unsigned long long)v;
				learn_namespace(ec);
			}
		}
		if (json_number(line, "\"exit-code\"", &v)) {
			ec->have_exit = true;
			ec->exit_code = (int)v;
		}
		ec->parsed = (size_t)(nl - ec->status.buf) + 1;
	}
}

struct ns_kill {
	const struct exec_ctx *ec;
	int sig;
	int count;
};

static int ns_kill_one(const struct proc_info *pi, void *ctx)
{
	struct ns_kill *nk = ctx;
	char path[64];
	struct stat st;

	if (pi->state == 'Z' || pi->state == 'X')
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/ns/pid", (long)pi->pid);
	if (stat(path, &st) < 0 || st.st_ino != nk->ec->ns_st.st_ino ||
	    st.st_dev != nk->ec->ns_st.st_dev)
		return 0;
	if (!kill(pi->pid, nk->sig) || errno == EPERM)
		nk->count++;
	return 0;
}

/* True when pid has exited (a zombie counts: it runs nothing). */
static bool pid_gone(long pid)
{
	char path[64], buf[512];
	const char *p;
	ssize_t n;
	int fd;

	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && (p[2] == 'Z' || p[2] == 'X');
}

/* The outer bwrap has exited (not reaped yet: proc_run does that). */
static bool bwrap_exited(const struct proc *p)
{
	siginfo_t si;

	if (p->reaped)
		return true;
	memset(&si, 0, sizeof(si));
	return p->pid > 0 &&
	       waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
		       0 &&
	       si.si_pid == p->pid;
}

static int ns_kill_tree(struct proc *p, int sig, void *ctx)
{
	struct exec_ctx *ec = ctx;
	struct ns_kill nk = { ec, sig, 0 };

	if (ec->ns_fd < 0) {
		/*
		 * Before bwrap said where the sandbox is: bwrap, its process
		 * group, and anything with the task's variables. The
		 * sandbox's first process may not have its
		 * --die-with-parent in force yet, and it is in bwrap's group
		 * until it makes its own session.
		 */
		if (!p->reaped) {
			kill(-p->pid, sig);
			kill(p->pid, sig);
		}
		if (ec->tags[0])
			proc_kill_tagged(ec->tags, sig);
		return 0;
	}
	/*
	 * When the sandbox's pid 1 is gone, the kernel has killed every
	 * process in its namespace: nothing to look for (and a /proc walk
	 * per task is what made short tasks slow). A zombie pid 1 still
	 * counts as gone: its namespace is being torn down. Once bwrap has
	 * reported the exit code and exited, that pid 1 has its
	 * --die-with-parent SIGKILL and the kernel takes the namespace
	 * down by itself: waiting for the teardown (an RCU grace period)
	 * would only hold the slot.
	 */
	if (ec->child_pid > 1 && pid_gone(ec->child_pid))
		return 0;
	if (ec->have_exit && sig == SIGKILL && bwrap_exited(p)) {
		kill((pid_t)ec->child_pid, SIGKILL);
		return 0;
	}
	proc_for_each(ns_kill_one, &nk);
	return nk.count;
}

static void push_pair(struct strbuf *args, const char *a, const char *b)
{
	strbuf_add(args, a, strlen(a) + 1);
	if (b)
		strbuf_add(args, b, strlen(b) + 1);
}

/* The host's /bin, /lib... as they are: symlinks or directories. */
static void push_system_dirs(struct strbuf *args)
{
	static const char *const dirs[] = {
		"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	};

	push_pair(args, "--ro-bind", "/usr");
	push_pair(args, "/usr", NULL);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		char target[PATH_MAX];
		struct stat st;
		ssize_t n;

		if (lstat(dirs[i], &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			n = readlink(dirs[i], target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			push_pair(args, "--symlink", target);
			push_pair(args, dirs[i], NULL);
		} else if (S_ISDIR(st.st_mode)) {
			push_pair(args, "--ro-bind", dirs[i]);
			push_pair(args, dirs[i], NULL);
		}
	}
	push_pair(args, "--ro-bind", "/etc");
	push_pair(args, "/etc", NULL);
}

/*
 * With the network on, /etc/resolv.conf may point into /run (systemd-
 * resolved): bind the directory it points into, read-only.
 */
static void push_resolv_conf(struct strbuf *args)
{
	char *real = realpath("/etc/resolv.conf", NULL);
	char *dir;

	if (!real)
		return;
	if (!has_prefix_dir(real, "/etc") && !has_prefix_dir(real, "/usr")) {
		dir = fs_dirname(real);
		push_pair(args, "--ro-bind-try", dir);
		push_pair(args, dir, NULL);
		free(dir);
	}
	free(real);
}

static int write_memfd(const struct strbuf *data, struct strbuf *err)
{
	int fd = memfd_create("runner-bwrap-args", MFD_CLOEXEC);

	if (fd >= 0 && fd <= 2) {
		int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		close(fd);
		fd = nfd;
	}
	if (fd < 0 || fs_write_all(fd, data->buf, data->len) < 0 ||
	    lseek(fd, 0, SEEK_SET) < 0) {
		strbuf_addf(err, "cannot pass arguments to bwrap: %s",
			    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int pipe_above_stdio(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (fds[i] <= 2) {
			int nfd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
			close(fds[i]);
			fds[i] = nfd;
		}
	}
	if (fds[0] < 0 || fds[1] < 0) {
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		return -1;
	}
	return 0;
}

/*
 * network: [allowlist]. The proxy's variables come after the task's, so
 * that a NO_PROXY of the plan cannot send loopback past the proxy (where
 * the empty namespace would fail it silently instead of its being
 * refused and reported).
 */
static void push_netproxy_env(struct strbuf *args)
{
	struct strvec env = STRVEC_INIT;

	netproxy_sandbox_env(&env);
	for (size_t i = 0; i < env.nr; i++) {
		const char *eq = strchr(env.v[i], '=');
		char *name;

		if (!eq)
			continue;
		name = xstrndup(env.v[i], (size_t)(eq - env.v[i]));
		push_pair(args, "--setenv", name);
		push_pair(args, eq + 1, NULL);
		free(name);
	}
	strvec_clear(&env);
}

/*
 * The helper runs first in the sandbox (from its descriptor of our own
 * binary), hands the proxy its listener and execs the task's command.
 */
static void push_netproxy_helper(struct proc *p,
				 const struct netproxy_sandbox *nps)
{
	netproxy_sandbox_argv(nps, &p->args);
	p->keep_fds[p->nr_keep_fds++] = nps->exe_fd;
	p->keep_fds[p->nr_keep_fds++] = nps->inner_fd;
}

/*
 * Before bwrap starts: the helper's descriptors, and the task attached
 * to the run's proxy (its listener arrives once the helper runs).
 */
static int start_netproxy(struct sandbox *sb, struct netproxy_sandbox *nps,
			  struct netproxy_task **npt, struct strbuf *err)
{
	if (netproxy_sandbox_prepare(nps, NULL, err) < 0)
		return -1;
	*npt = netproxy_attach(sb->netproxy, sb->net_allow, nps->outer_fd,
			       err);
	nps->outer_fd = -1;
	return *npt ? 0 : -1;
}

/*
 * The task has ended (or never started): its listener and every
 * connection of it are closed here; what the proxy did goes to report.
 */
static void stop_netproxy(struct netproxy_sandbox *nps,
			  struct netproxy_task *npt,
			  struct netproxy_report *report)
{
	struct netproxy_report ignored = NETPROXY_REPORT_INIT;

	if (npt)
		netproxy_detach(npt, report ? report : &ignored);
	netproxy_report_release(&ignored);
	netproxy_sandbox_release(nps);
}

/* Fill p (and open *args_fd, *status) to run cmd under bwrap. */
static int prepare_bwrap(struct sandbox *sb, const struct sandbox_cmd *cmd,
			 struct proc *p, int *args_fd, int status[2],
			 int block_fd, const struct netproxy_sandbox *nps,
			 struct strbuf *err)
{
	struct strbuf args = STRBUF_INIT;
	char *bwrap = find_bwrap();
	const char *ws_src = sb->ws;
	char num[32];
	int ret = -1;

	if (!bwrap) {
		strbuf_addstr(err, BWRAP_MISSING);
		goto out;
	}
	if (sb->drop) {
		p->drop_privs = true;
		p->uid = SANDBOX_UID;
		p->gid = SANDBOX_GID;
		if (!reachable_by(sb->ws, SANDBOX_UID, SANDBOX_GID)) {
			ws_src = pick_mountpoint(bwrap, sb->ws);
			if (!ws_src) {
				strbuf_addf(err,
					    "the sandbox user cannot "
					    "reach '%s' and there is no "
					    "directory to mount it on; make "
					    "its parents searchable "
					    "(chmod o+x)",
					    sb->ws);
				goto out;
			}
			p->bind_src = sb->ws;
			p->bind_dst = ws_src;
		}
	}
	if (pipe_above_stdio(status) < 0) {
		strbuf_addf(err, "cannot create a pipe: %s", strerror(errno));
		goto out;
	}

	push_pair(&args, "--die-with-parent", NULL);
	push_pair(&args, "--unshare-all", NULL);
	if (sb->network)
		push_pair(&args, "--share-net", NULL);
	push_pair(&args, "--new-session", NULL);
	push_pair(&args, "--cap-drop", "ALL");
	push_pair(&args, "--hostname", "runner");
	push_system_dirs(&args);
	if (sb->network)
		push_resolv_conf(&args);
	push_pair(&args, "--proc", "/proc");
	push_pair(&args, "--dev", "/dev");
	/*
	 * Both tmpfs at most memory: bytes (--size holds for the next
	 * --tmpfs only); their pages are charged to the task's cgroup too.
	 */
	snprintf(num, sizeof(num), "%" PRIu64, sb->limits.memory);
	if (sb->limits.memory)
		push_pair(&args, "--size", num);
	push_pair(&args, "--tmpfs", "/tmp");
	if (sb->limits.memory)
		push_pair(&args, "--size", num);
	push_pair(&args, "--tmpfs", SANDBOX_HOME);
	push_pair(&args, "--bind", ws_src);
	push_pair(&args, "/workspace", NULL);
	/*
	 * bwrap's root is a tmpfs the task owns: only /tmp, HOME and
	 * /workspace.
	 */
	push_pair(&args, "--remount-ro", "/");
	push_pair(&args, "--chdir", "/workspace");
	push_pair(&args, "--clearenv", NULL);
	for (const char *const *e = cmd->env; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		char *name;

		if (!eq || eq == *e)
			continue;
		name = xstrndup(*e, (size_t)(eq - *e));
		push_pair(&args, "--setenv", name);
		push_pair(&args, eq + 1, NULL);
		free(name);
	}
	if (nps)
		push_netproxy_env(&args);
	snprintf(num, sizeof(num), "%d", status[1]);
	push_pair(&args, "--json-status-fd", num);
	if (block_fd >= 0) {
		snprintf(num, sizeof(num), "%d", block_fd);
		push_pair(&args, "--block-fd", num);
	}

	*args_fd = write_memfd(&args, err);
	if (*args_fd < 0)
		goto out;
	/*
	 * bwrap's own environment (the task gets only --setenv's): the
	 * task's variables, so that what a killed runner leaves behind can
	 * be found by them (recover.c).
	 */
	for (const char *const *e = cmd->env; e && *e; e++)
		if (!strncmp(*e, "RUNNER_", 7))
			strvec_push(&p->env, *e);
	strvec_push(&p->args, bwrap);
	strvec_push(&p->args, "--args");
	strvec_pushf(&p->args, "%d", *args_fd);
	strvec_push(&p->args, "--");
	if (nps)
		push_netproxy_helper(p, nps);
	strvec_pushv(&p->args, cmd->argv);
	p->keep_fds[p->nr_keep_fds++] = *args_fd;
	p->keep_fds[p->nr_keep_fds++] = status[1];
	p->dir = "/";
	ret = 0;
out:
	/* The arguments hold the secrets: do not leave them in the heap. */
	if (args.len)
		explicit_bzero(args.buf, args.len);
	strbuf_release(&args);
	free(bwrap);
	return ret;
}

static void prepare_plain(struct sandbox *sb, const struct sandbox_cmd *cmd,
			  struct proc *p)
{
	const char *path = NULL;

	strvec_pushv(&p->args, cmd->argv);
	for (const char *const *e = cmd->env; e && *e; e++) {
		if (!strncmp(*e, "PWD=", 4))
			continue;
		if (!strncmp(*e, "PATH=", 5))
			path = *e + 5;
		strvec_push(&p->env, *e);
	}
	/* There is no /workspace: the folder is where the task runs. */
	strvec_pushf(&p->env, "PWD=%s", sb->ws);
	p->path = path ? path : DEFAULT_PATH;
	p->dir = sb->ws;
}

static int local_exec(struct sandbox *sb, const struct sandbox_cmd *cmd,
		      struct sandbox_status *st, struct strbuf *err)
{
	struct proc p = PROC_INIT;
	struct proc_run_opts o = PROC_RUN_OPTS_INIT;
	struct proc_result r;
	struct exec_ctx ec;
	struct local_limits *ll = NULL;
	struct netproxy_sandbox nps = NETPROXY_SANDBOX_INIT;
	struct netproxy_task *npt = NULL;
	int args_fd = -1, status[2] = { -1, -1 }, gate[2] = { -1, -1 };
	bool bwrap = sb->isolation == LOCAL_ISOLATION_SANDBOX;
	bool proxied = bwrap && sb->netproxy;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	st->exit_code = -1;
	memset(&ec, 0, sizeof(ec));
	ec.cmd = cmd;
	ec.ns_fd = -1;
	ec.ws = sb->ws;
	find_tags(&ec, cmd->env);
	strbuf_init_capped(&ec.status, 64 * 1024);
	strbuf_init_capped(&ec.tail, 4096);
	if (!cmd->argv || !cmd->argv[0]) {
		strbuf_addstr(err, "no command to run");
		goto out;
	}

	if (cmd->wait_go && bwrap) {
		/*
		 * The gate: bwrap makes the namespaces and mounts, then
		 * blocks on this pipe (--block-fd) until the go, so all the
		 * set-up is paid before the task's clock starts.
		 */
		if (pipe_above_stdio(gate) < 0) {
			strbuf_addf(err, "cannot create a pipe: %s",
				    strerror(errno));
			goto out;
		}
		p.keep_fds[p.nr_keep_fds++] = gate[0];
	} else if (cmd->wait_go && !cmd->wait_go(cmd->ctx)) {
		/* Nothing to start up without a sandbox: just wait. */
		st->cancelled = true;
		ret = 0;
		goto out;
	}
	if (proxied && start_netproxy(sb, &nps, &npt, err) < 0)
		goto out;
	if (bwrap) {
		if (prepare_bwrap(sb, cmd, &p, &args_fd, status, gate[0],
				  proxied ? &nps : NULL, err) < 0)
			goto out;
	} else {
		prepare_plain(sb, cmd, &p);
	}
	p.stdin_path = cmd->stdin_path;
	if (local_limits_start(&sb->limits, strrchr(sb->root, '/') + 1, &p,
			       &ll, err) < 0)
		goto out;
	p.no_core = true;
	p.die_with_parent = true;
	if (proc_start(&p, err) < 0)
		goto out;
	/* The sandbox's ends are bwrap's now (an EOF tells the proxy). */
	netproxy_sandbox_started(&nps);
	/* The child has its copies; ours would keep the status pipe open. */
	if (args_fd >= 0) {
		close(args_fd);
		args_fd = -1;
	}
	if (status[1] >= 0) {
		close(status[1]);
		status[1] = -1;
	}
	if (gate[0] >= 0) {
		close(gate[0]);
		gate[0] = -1;
	}
	if (cmd->wait_go && bwrap) {
		/* Closing the gate without a byte makes bwrap give up. */
		bool go = cmd->wait_go(cmd->ctx);
		if (go && fs_write_all(gate[1], "g\n", 2) < 0)
			go = false;
		close(gate[1]);
		gate[1] = -1;
		if (!go) {
			struct proc_run_opts quick = PROC_RUN_OPTS_INIT;
			quick.timeout_ms = 5000;
			if (bwrap)
				quick.kill_tree = ns_kill_tree;
			quick.ctx = &ec;
			proc_run(&p, &quick, &r, err);
			st->cancelled = true;
			ret = 0;
			goto out;
		}
	}

	o.timeout_ms = cmd->timeout_ms;
	o.grace_ms = cmd->grace_ms;
	o.warn_at_ms = cmd->warn_at_ms;
	o.nr_warn_at = cmd->nr_warn_at;
	o.on_output = exec_on_output;
	o.on_warn = exec_on_warn;
	o.on_tick = exec_on_tick;
	o.cancel = cmd->cancel;
	o.kill_now = cmd->kill_now;
	o.ctx = &ec;
	if (bwrap) {
		o.aux_fd = status[0];
		o.on_aux = exec_on_aux;
		o.kill_tree = ns_kill_tree;
	} else {
		o.kill_tree = plain_kill_tree;
	}
	if (proc_run(&p, &o, &r, err) < 0)
		goto out;

	st->timed_out = r.timed_out;
	st->cancelled = r.cancelled;
	st->stopped = r.stopped;
	st->duration_ms = r.duration_ms;
	if (!bwrap) {
		st->exit_code = r.exit_code;
		st->term_signal = r.term_signal;
	} else if (ec.have_exit) {
		if (ec.exit_code > 128 && ec.exit_code <= 128 + 64) {
			st->exit_code = -1;
			st->term_signal = ec.exit_code - 128;
		} else {
			st->exit_code = ec.exit_code;
		}
	} else if (r.timed_out || r.cancelled || r.stopped ||
		   r.output_failed || r.term_signal) {
		/* We (or someone) killed bwrap before it could report. */
		st->term_signal = r.term_signal ? r.term_signal : SIGKILL;
	} else {
		struct strbuf msg = STRBUF_INIT;

		bwrap_message(ec.tail.buf, &msg);
		if (!msg.len)
			strbuf_addf(&msg, "bwrap exited with status %d",
				    r.exit_code);
		strbuf_addf(err, "cannot start the task in the sandbox: %s",
			    msg.buf);
		if (looks_like_userns(msg.buf))
			strbuf_addstr(err, "; " USERNS_HINT);
		strbuf_release(&msg);
		goto out;
	}
	if (r.output_failed) {
		strbuf_addstr(err, "the output handler failed; "
				   "the task was killed");
		goto out;
	}
	ret = 0;
out:
	proc_release(&p);
	if (proxied)
		stop_netproxy(&nps, npt, cmd->net_report);
	if (ll) {
		struct strbuf warn = STRBUF_INIT;

		local_limits_finish(ll, st, &warn);
		if (warn.len)
			snprintf(st->note, sizeof(st->note), "%s", warn.buf);
		strbuf_release(&warn);
	}
	if (args_fd >= 0)
		close(args_fd);
	for (int i = 0; i < 2; i++) {
		if (status[i] >= 0)
			close(status[i]);
		if (gate[i] >= 0)
			close(gate[i]);
	}
	if (ec.ns_fd >= 0)
		close(ec.ns_fd);
	strbuf_release(&ec.status);
	strbuf_release(&ec.tail);
	return ret;
}

static int local_pull_changes(struct sandbox *sb,
			      const struct ws_manifest *base,
			      const struct ws_pull_opts *opts,
			      struct ws_changes *out, struct strbuf *err)
{
	struct ws_pull_opts o = *opts;
	if (!o.stamps)
		o.stamps = &sb->stamps;
	return ws_diff(base, sb->ws, &o, out, err);
}

static int local_destroy(struct sandbox *sb, struct strbuf *err)
{
	int ret = 0;

	if (!sb)
		return 0;
	if (sb->root && fs_rm_rf(sb->root, err) < 0)
		ret = -1;
	if (sb->home_dir && fs_rm_rf(sb->home_dir, err) < 0)
		ret = -1;
	sandbox_free(sb);
	return ret;
}

static const char *local_workdir(const struct sandbox *sb)
{
	return sb->isolation == LOCAL_ISOLATION_NONE ? sb->ws : "/workspace";
}

/* Configuration */

static const char *const local_keys[] = { "isolation", "network", "memory",
					  "pids",      "cpus",	  NULL };

/* memory, pids, cpus: the attempt's cgroup (sandbox-local-limits.h). */
static void local_parse_limits(const struct plan_keys *k,
			       struct sandbox_local_config *lc)
{
	const struct plan_node *n;
	int pids;

	if (plan_keys_size(k, "memory", &lc->memory) && k->chosen &&
	    lc->memory && lc->memory < LOCAL_MIN_MEMORY) {
		plan_keys_error(k, "memory", LOCAL_MIN_MEMORY_ERROR);
		lc->memory = 0;
	}
	if (plan_keys_int(k, "pids", 1, 4194304, &pids))
		lc->pids = (uint64_t)pids;
	n = plan_keys_get(k, "cpus");
	if (n &&
	    (n->type != PLAN_NODE_SCALAR ||
	     (n->kind != PLAN_SCALAR_INT && n->kind != PLAN_SCALAR_FLOAT) ||
	     cgroup_parse_cpus(n->str, &lc->cpus) < 0))
		plan_keys_expected(
			k, "cpus", n,
			"a number of CPUs above 0 like 0.5 or 2 (at "
			"most 3 decimals)",
			false);
}

/*
 * network: false, true (the host's network), or a list of destinations
 * the task may reach through the run's proxy (netproxy.h), each checked
 * where it is written. Needs isolation parsed: the proxy serves only a
 * bubblewrap sandbox.
 */
static void local_parse_network(const struct plan_keys *k,
				struct sandbox_local_config *lc)
{
	if (plan_keys_network(k, &lc->network, &lc->network_allow,
			      &lc->network_loc, NULL) &&
	    k->chosen && lc->isolation != LOCAL_ISOLATION_SANDBOX)
		plan_keys_error(k, "network",
				"a list of destinations needs isolation: "
				"sandbox (with isolation: none the task has "
				"the host's network)");
}

static void local_parse_config(const struct plan_keys *k, void **config)
{
	static const char *const isolation[] = { "sandbox", "none" };
	struct sandbox_local_config *lc = xcalloc(1, sizeof(*lc));
	int e;

	if (plan_keys_enum(k, "isolation", isolation, ARRAY_SIZE(isolation),
			   &e))
		lc->isolation = (enum local_isolation)e;
	local_parse_limits(k, lc);
	local_parse_network(k, lc);
	*config = lc;
}

static void local_free_config(void *config)
{
	struct sandbox_local_config *lc = config;
	if (!lc)
		return;
	netproxy_allowlist_release(&lc->network_allow);
	free(lc);
}

/*
 * network: true under bubblewrap is the host's network namespace; the
 * limits this host would not enforce as asked (local_limits_note).
 */
static void local_warn_config(const void *config, const char *path,
			      struct strvec *out)
{
	const struct sandbox_local_config *lc = config;
	struct strbuf note = STRBUF_INIT;

	local_note_limits(lc, &note);
	if (note.len)
		strvec_pushf(out, "%s: %s", path, note.buf);
	strbuf_release(&note);
	if (lc->network)
		strvec_pushf(out,
			     "%s:%u:%u: backend.network: true gives the tasks "
			     "the host's network, its loopback services "
			     "included (list what they need instead: network: "
			     "[api.example.org:443])",
			     path, lc->network_loc.line, lc->network_loc.col);
}

/* The proxy serves only a bubblewrap sandbox. */
static const struct netproxy_allowlist *
local_proxy_allowlist(const void *config)
{
	const struct sandbox_local_config *lc = config;

	return lc->network_allow.nr && lc->isolation == LOCAL_ISOLATION_SANDBOX
		       ? &lc->network_allow
		       : NULL;
}

static void local_traits(const void *config, struct sandbox_traits *out)
{
	const struct sandbox_local_config *lc = config ? config
						       : &local_defaults;

	/* With isolation none the task has the host's network. */
	out->no_network = lc->isolation == LOCAL_ISOLATION_SANDBOX &&
			  !lc->network && !lc->network_allow.nr;
	out->memory = lc->memory;
}

/*
 * Leftovers: the roots under STATE/sandboxes/, named RUN-TASK-ATTEMPT-
 * XXXXXX (the run id is 20 characters: 8-6-4 digits), and for a dead
 * runner's run what still carries its RUNNER_RUN_ID (a task that
 * isolation none left to itself, a sandbox whose first process never got
 * bwrap's --die-with-parent).
 */
enum { LEFT_ROOT, LEFT_PROCESSES };

static int local_list_leftovers(const char *state_dir, const char *run_id,
				unsigned flags, struct sandbox_leftovers *out,
				struct strbuf *err)
{
	char *dir = fs_join(state_dir, "sandboxes");
	size_t len = run_id ? strlen(run_id) : 0;
	struct strbuf what = STRBUF_INIT;
	struct dirent *de;
	DIR *d;

	(void)err;
	if (run_id && (flags & SANDBOX_LEFTOVERS_PROCESSES)) {
		strbuf_addf(&what, "processes of run %s", run_id);
		sandbox_leftovers_add(out, run_id, run_id, what.buf, true)
			->kind = LEFT_PROCESSES;
	}
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		const char *name = de->d_name;
		char run[64];
		struct sandbox_leftover *l;
		if (run_id) {
			if (strncmp(name, run_id, len) || name[len] != '-')
				continue;
			snprintf(run, sizeof(run), "%s", run_id);
		} else {
			if (name[0] == '.' || strlen(name) < 21 ||
			    name[20] != '-')
				continue;
			snprintf(run, sizeof(run), "%.20s", name);
		}
		strbuf_reset(&what);
		strbuf_addf(&what, "sandbox %s", name);
		l = sandbox_leftovers_add(out, name, run, what.buf, false);
		l->kind = LEFT_ROOT;
		l->in_state = true;
	}
	if (d)
		closedir(d);
	free(dir);
	strbuf_release(&what);
	return 0;
}

static int local_kill_leftover(const char *state_dir,
			       const struct sandbox_leftover *l,
			       struct strbuf *err)
{
	char *dir, *path;
	int ret;

	if (l->kind == LEFT_PROCESSES) {
		char *tag = xstrfmt("RUNNER_RUN_ID=%s", l->run_id);
		const char *tags[] = { tag, NULL };
		proc_kill_tagged(tags, SIGKILL);
		free(tag);
		return 0;
	}
	dir = fs_join(state_dir, "sandboxes");
	path = fs_join(dir, l->id);
	free(dir);
	ret = fs_rm_rf(path, err);
	free(path);
	return ret;
}

const struct sandbox_backend sandbox_local = {
	.name = "local",
	.config_keys = local_keys,
	.parse_config = local_parse_config,
	.free_config = local_free_config,
	.warn_config = local_warn_config,
	.proxy_allowlist = local_proxy_allowlist,
	.traits = local_traits,
	.check = local_check,
	.create = local_create,
	.id = local_id,
	.workdir = local_workdir,
	.home = local_home,
	.put_tree = local_put_tree,
	.exec = local_exec,
	.pull_changes = local_pull_changes,
	.limits_note = local_note_limits,
	.destroy = local_destroy,
	.list_leftovers = local_list_leftovers,
	.kill_leftover = local_kill_leftover,
};
