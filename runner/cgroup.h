#ifndef CGROUP_H
#define CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/*
 * Resource limits that hold: one control group per task attempt.
 *
 * An rlimit binds one process; a task is a tree of them. A cgroup binds
 * the tree: memory.max (v2) or memory.limit_in_bytes (v1) counts the RSS,
 * page cache and tmpfs pages the task's processes create, pids.max the
 * processes and threads alive at once, the CPU quota the time they run.
 *
 * Layout. Under the runner's own cgroup in each hierarchy (read from
 * /proc/self/cgroup and /proc/self/mountinfo, so a container's cgroup
 * namespace or a bind-mounted subtree is handled):
 *
 *   <own>/runner-<pidns>-<pid>-<start>/          one per runner process
 *   <own>/runner-<pidns>-<pid>-<start>/<name>    one per task attempt
 *
 * <pidns> is the inode of our pid namespace, <start> our start time in
 * clock ticks (/proc/self/stat): a leftover of a runner that died names
 * a pid that is gone or that now belongs to a process started at another
 * time, so cgroup_cleanup_stale() can tell it from a live runner's,
 * including another runner's next to us, and never judges a directory of
 * another pid namespace. With cgroup v1 each controller may be mounted
 * on a hierarchy of its own (this development machine: memory, pids, cpu,
 * cpuacct, freezer each separately): the same names are made in each.
 *
 * Modes, as cgroup_probe() decides them:
 *   - CGROUP_V2: a cgroup2 mount holds our cgroup, its cgroup.controllers
 *     offers memory and pids, and we may write it (root, or a subtree
 *     delegated to our user, e.g. by systemd-run --user -p Delegate=yes).
 *     v2 forbids processes in a cgroup that hands controllers to its
 *     children; if our own cgroup holds only us, cgroup_host_prepare()
 *     moves us into a leaf <own>/runner-...-main first (it stays behind
 *     when we exit; the next runner's cleanup removes it).
 *   - CGROUP_V1: the memory controller is on a writable v1 hierarchy;
 *     pids, cpu, cpuacct and freezer are used where they are mounted.
 *   - CGROUP_NONE: neither; limits fall back to rlimits (see below).
 *
 * Joining. The task's first process (bwrap) must be in the cgroup before
 * it runs anything, since children inherit the cgroup at fork and a
 * process moved later leaves its children behind. So the child joins
 * between fork and exec: cgroup_create() opens cgroup.procs of every
 * hierarchy O_WRONLY|O_CLOEXEC, and the child calls cgroup_join_fds()
 * (async-signal-safe: one write(2) of "0" to each, where 0 means "the
 * writer") and reports a failure over proc.c's error pipe like any other
 * setup step. The same works in v1 and v2, and the write permission
 * check uses the credentials of the opener (the runner), so it holds even
 * after the child dropped privileges.
 *
 * The price: each write is a migration, which takes the kernel's global
 * cgroup_threadgroup_rwsem for writing (forks everywhere wait for it)
 * and, unless the hierarchy is mounted with favordynmods, an RCU grace
 * period. Measured on this development machine: 200-400 us for the first
 * hierarchy, about 50 us for each further one. clone3() with
 * CLONE_INTO_CGROUP (v2, Linux 5.7) starts the child in the cgroup with
 * no migration, as cheap as a plain fork (measured): cgroup_dir_fd() is
 * the descriptor it takes. It needs a raw clone3() in place of fork()
 * (glibc has no wrapper; the child may then only make raw system calls,
 * which proc.c's child does anyway) and covers only v2, so the write
 * stays the fallback (ENOSYS, E2BIG, v1).
 *
 * proc.c does this: struct proc's cgroup_fds are written first thing in
 * the child, before setsid, the rlimits and the uid drop, and a failure
 * reads "cannot join the task's cgroup: ...".
 *
 * Killing (cgroup_kill): v2 writes cgroup.kill (Linux 5.14); v1 freezes
 * the group (freezer), SIGKILLs every member and thaws it, so no process
 * forks or exits between reading the list and the kill. Without either,
 * each pid of cgroup.procs is opened as a pidfd, checked to still be in
 * the cgroup, then signalled through the pidfd, so a recycled pid is
 * never killed; repeated until the cgroup is empty (pids.max bounds a
 * fork bomb, so this ends).
 *
 * Threads: a probed and prepared host is read-only; cgroup_create(),
 * cgroup_kill(), cgroup_read_usage(), cgroup_remove() may run from
 * several threads at once on different cgroups. cgroup_host_prepare()
 * and cgroup_host_release() run once, with no cgroup in use; a process
 * prepares one host (the runner directory is named after the process).
 */

/* Controllers (bits). */
#define CGROUP_MEMORY (1u << 0)
#define CGROUP_PIDS (1u << 1)
#define CGROUP_CPU (1u << 2)
#define CGROUP_CPUACCT (1u << 3)
#define CGROUP_FREEZER (1u << 4)
#define CGROUP_NR_CTRL 5

/* Directories per cgroup: one per v1 hierarchy we use; v2 has one. */
#define CGROUP_MAX_HIER CGROUP_NR_CTRL

/* The default pids: limit, enough for builds, low enough for a bomb. */
#define CGROUP_DEFAULT_PIDS 1024

/* A limit of 0 is no limit. */
struct cgroup_limits {
	uint64_t memory; /* bytes */
	uint64_t pids;	 /* processes and threads alive at once */
	uint32_t cpus;	 /* milli-CPUs: 500 is half a core */
};

enum cgroup_mode {
	CGROUP_NONE = 0,
	CGROUP_V1,
	CGROUP_V2,
};

/* One hierarchy: our own cgroup in it and what it controls. */
struct cgroup_hier {
	unsigned ctrls; /* CGROUP_* bits we use it for */
	char *dir;	/* e.g. /sys/fs/cgroup/memory/a/b; owned */
};

/*
 * What cgroup_parse_layout() finds: every v1 hierarchy holding one of our
 * controllers, and the v2 one (v2.dir NULL when there is none).
 */
struct cgroup_layout {
	struct cgroup_hier v1[CGROUP_MAX_HIER];
	size_t nr_v1;
	struct cgroup_hier v2; /* ctrls unset by the parser */
	bool v2_nsdelegate;    /* mounted with nsdelegate */
};

/*
 * Parse /proc/self/cgroup and /proc/self/mountinfo (their contents) into
 * *out (cleared first; cgroup_layout_release() frees it). A hierarchy our
 * cgroup is outside of (its mount shows a subtree we are not in) is left
 * out and said in why (appended, "; "-separated). Returns 0, or -1 when
 * the texts cannot be parsed at all (err set).
 */
int cgroup_parse_layout(const char *proc_cgroup, const char *mountinfo,
			struct cgroup_layout *out, struct strbuf *why,
			struct strbuf *err);
void cgroup_layout_release(struct cgroup_layout *l);

/* What this host offers, from cgroup_probe(). */
struct cgroup_host {
	enum cgroup_mode mode;
	unsigned ctrls; /* CGROUP_* usable; 0 in CGROUP_NONE */
	/*
	 * One line: "cgroup v1 (memory, pids, cpu, cpuacct, freezer) under
	 * /sys/fs/cgroup/memory/a" or why there is no cgroup ("no cgroup2
	 * mount; cgroup v1 memory hierarchy not mounted").
	 */
	struct strbuf reason;
	struct cgroup_hier hier[CGROUP_MAX_HIER]; /* our own cgroups */
	size_t nr_hier;
	bool v2_kill; /* cgroup.kill exists (v2) */

	/* Set by cgroup_host_prepare(). */
	char *run_name; /* runner-<pidns>-<pid>-<start> */
	char *v2_leaf;	/* the leaf we moved into, or NULL */
	bool prepared;
};

#define CGROUP_HOST_INIT                                   \
	{                                                  \
		.mode = CGROUP_NONE, .reason = STRBUF_INIT \
	}

void cgroup_host_init(struct cgroup_host *h);

/* cgroup_probe() flags */
/*
 * Accept a writable v2 hierarchy even without the memory and pids
 * controllers (nothing is then limited): lets the tests run the v2
 * create, join, kill and remove paths on a host whose v2 mount has no
 * controllers (a hybrid layout).
 */
#define CGROUP_PROBE_V2_BARE (1u << 0)
/* Do not use the v1 freezer (tests the pidfd kill loop). */
#define CGROUP_PROBE_NO_FREEZER (1u << 1)

/*
 * Find what this host offers: want CGROUP_V2 or CGROUP_V1 looks only for
 * that, CGROUP_NONE for either (v2 first). Reads /proc/self/cgroup,
 * /proc/self/mountinfo and a few files of our own cgroups; creates
 * nothing (validate can call it). Fills h (released first) and returns
 * h->mode; h->reason always says what was found or why nothing was.
 */
enum cgroup_mode cgroup_probe(struct cgroup_host *h, enum cgroup_mode want,
			      unsigned flags);

/*
 * Before the first cgroup_create(): make this runner's directory
 * runner-<pidns>-<pid>-<start> in each hierarchy (v2: hand the
 * controllers down, moving us into a leaf if need be). Returns 0, or -1
 * with err set; then nothing is left behind and the caller falls back to
 * rlimits as in CGROUP_NONE.
 */
int cgroup_host_prepare(struct cgroup_host *h, struct strbuf *err);

/*
 * Remove what runners that are no longer running left under our own
 * cgroups: kill the processes still in their task cgroups, remove those
 * and their runner directories. Directories of live runners (ours
 * included) and of other pid namespaces are left alone. *removed (may be
 * NULL) is the number of directories removed. Returns 0, or -1 with err
 * set when some could not be removed (the others still are).
 */
int cgroup_cleanup_stale(const struct cgroup_host *h, int *removed,
			 struct strbuf *err);

/*
 * Remove this runner's directories (every task cgroup must have been
 * removed) and free h's contents; h is then as after cgroup_host_init().
 */
void cgroup_host_release(struct cgroup_host *h);

struct cgroup;

/*
 * Make the cgroup of one task attempt, <run>/<name> in every hierarchy
 * (but a v1 hierarchy of cpu alone when lim has no cpus: joining each
 * costs), and set the limits the host's controllers can enforce (a
 * controller the host lacks is skipped: cgroup_note() says so). name is
 * [A-Za-z0-9._-]{1,200} and not starting with '.'. The memory limit also
 * caps swap (memory.memsw.limit_in_bytes, memory.swap.max 0), and in v2
 * memory.oom.group makes the OOM killer take the whole task. Returns 0
 * with *out set (free with cgroup_free()), or -1 with err set and nothing
 * left behind. The host must be prepared.
 */
int cgroup_create(const struct cgroup_host *h, const char *name,
		  const struct cgroup_limits *lim, struct cgroup **out,
		  struct strbuf *err);

/*
 * The descriptors for the child to join: cgroup.procs of each hierarchy,
 * open O_WRONLY|O_CLOEXEC and valid until cgroup_free(). Returns how
 * many; *fds points into cg.
 */
size_t cgroup_procs_fds(const struct cgroup *cg, const int **fds);

/*
 * Move the calling process into the cgroup: write "0" to each fd.
 * Async-signal-safe (only write(2)), for a child between fork and exec.
 * Returns 0, or -1 with errno set.
 */
int cgroup_join_fds(const int *fds, size_t nr);

/*
 * v2: the cgroup's directory, open O_RDONLY|O_DIRECTORY|O_CLOEXEC, for
 * clone3()'s CLONE_INTO_CGROUP; valid until cgroup_free(). v1: -1.
 */
int cgroup_dir_fd(const struct cgroup *cg);

/* The directory of cg in hierarchy i (< cgroup_nr_dirs), for messages. */
size_t cgroup_nr_dirs(const struct cgroup *cg);
const char *cgroup_dir(const struct cgroup *cg, size_t i);

struct cgroup_usage {
	uint64_t memory_peak; /* bytes; 0: not known */
	uint64_t cpu_usec;    /* user + system CPU time of every member */
	uint64_t pids_peak;   /* most processes at once; 0: not known */
	uint64_t oom_kills;   /* processes the memory limit killed */
	bool oom_known;	      /* the kernel counts OOM kills */
	uint64_t memory_hits; /* times the memory limit was hit */
	uint64_t pids_hits;   /* forks refused by pids.max */
};

/*
 * Read the usage so far (peaks are over the cgroup's whole life; read
 * after the task ended and before cgroup_remove()). Returns 0, or -1 with
 * err set (what could be read is in *u).
 */
int cgroup_read_usage(const struct cgroup *cg, struct cgroup_usage *u,
		      struct strbuf *err);

/*
 * Whether the attempt ended by the memory limit: the kernel's OOM killer
 * acted in it; where it does not count that (v1 before Linux 4.13), a
 * process killed by SIGKILL after the limit was hit.
 */
bool cgroup_usage_oom(const struct cgroup_usage *u, int term_signal);

/*
 * How many processes are in cg (the first hierarchy's cgroup.procs), or
 * -1 with err set.
 */
int cgroup_nr_procs(const struct cgroup *cg, struct strbuf *err);

/*
 * SIGKILL every process in cg and wait (up to 5 s) until it is empty.
 * Returns 0, or -1 with err set when processes are still there.
 */
int cgroup_kill(struct cgroup *cg, struct strbuf *err);

/*
 * Kill what is left (cgroup_kill) and remove the directories, retrying
 * for a while as exiting processes leave. Returns 0, or -1 with err set
 * (what could not be removed stays for cgroup_cleanup_stale()). Does not
 * free cg. Idempotent.
 */
int cgroup_remove(struct cgroup *cg, struct strbuf *err);

/* Close cg's descriptors and free it (the directories are not touched). */
void cgroup_free(struct cgroup *cg);

/*
 * The fallback where a limit has no cgroup: rlimits for the task's first
 * process, which every process it starts inherits. memory becomes
 * RLIMIT_AS (an address-space cap per process: runtimes that reserve
 * large address ranges, Bun, Node, the JVM, die under it), pids
 * RLIMIT_NPROC (counted per real uid, across every process of that user,
 * and not applied to root). cpus has none. 0: leave that rlimit alone.
 */
struct cgroup_rlimits {
	uint64_t as;
	uint64_t nproc;
};

/* Fill *rl with the rlimits for the limits h cannot enforce. */
void cgroup_fallback_rlimits(const struct cgroup_host *h,
			     const struct cgroup_limits *lim,
			     struct cgroup_rlimits *rl);

/*
 * Append, for each limit set in lim that h cannot enforce with a cgroup,
 * what happens instead, "; "-separated, e.g. "memory: 2G enforced as an
 * address-space limit: no writable cgroup". Appends nothing when every
 * limit holds. For the once-per-run warning and `runner validate`.
 */
void cgroup_note(const struct cgroup_host *h, const struct cgroup_limits *lim,
		 struct strbuf *out);

/* "out of memory (memory: 2G)", the reason of an attempt the limit ended. */
void cgroup_oom_reason(const struct cgroup_limits *lim, struct strbuf *out);

/*
 * Sizes the way plan files write them: the largest of T, G, M, K that
 * divides bytes exactly ("2G", "1536M", "1000"). buf >= 24 bytes.
 */
void cgroup_format_size(uint64_t bytes, char *buf, size_t size);
/* milli-CPUs as a decimal: 500 "0.5", 2000 "2", 1250 "1.25". */
void cgroup_format_cpus(uint32_t milli, char *buf, size_t size);
/*
 * "0.5", "2", "1.250" -> milli-CPUs (at most 3 decimals, > 0, at most
 * 1,000,000 CPUs). Returns 0, or -1 (nothing written).
 */
int cgroup_parse_cpus(const char *s, uint32_t *milli);

/*
 * The number after key in a cgroup "key value" file (memory.events,
 * memory.oom_control, cpu.stat, pids.events): "oom_kill 3\n" -> 3.
 * Returns 0, or -1 when key is not there.
 */
int cgroup_parse_keyed(const char *text, const char *key, uint64_t *out);

#endif
