#ifndef SANDBOX_H
#define SANDBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netproxy;
struct netproxy_allowlist;
struct netproxy_report;
struct strbuf;
struct strvec;
struct ws_manifest;
struct ws_pull_opts;
struct ws_changes;
struct sandbox;

/*
 * One interface, several backends (git's ref_storage_be model). The
 * scheduler only sees struct sandbox_backend; it never asks which one.
 *
 * Life of a sandbox: create -> put_tree -> exec (once) -> pull_changes ->
 * destroy. destroy is called on every path out, also after a failed
 * create-or-later step, and always frees the sandbox. Calls on different
 * sandboxes may run concurrently from different threads; calls on one
 * sandbox are made from one thread at a time.
 */

struct sandbox_config {
	const char *run_id;
	const char *task_id;
	int attempt;	       /* 1, 2, ... */
	const char *state_dir; /* local roots go in state_dir/sandboxes/ */
	/*
	 * What this backend's parse_config made of the plan's backend:
	 * keys (struct plan_backend.config); NULL: the backend's defaults.
	 */
	const void *backend_config;
	int64_t timeout_ms; /* the task's hard limit */
	/*
	 * The run's network proxy when the backend asked for one
	 * (proxy_allowlist); NULL: none. Borrowed for the sandbox's life.
	 */
	struct netproxy *netproxy;
	/*
	 * Remote backends call this as soon as they have the sandbox's id
	 * and before they use it, so that the id is recorded (for `runner
	 * gc`) before anything can leak it; a non-zero return (message in
	 * err) makes create() kill the sandbox and fail. Called from the
	 * thread that calls create(). NULL: not wanted.
	 */
	int (*on_created)(void *ctx, const struct sandbox_config *cfg,
			  const char *sandbox_id, struct strbuf *err);
	void *on_created_ctx;
};

struct sandbox_cmd {
	const char *const *argv;   /* run with cwd /workspace */
	const char *const *env;	   /* the complete environment, NAME=VALUE */
	const char *stdin_path;	   /* host file for stdin; NULL: /dev/null */
	int64_t timeout_ms;	   /* hard limit from exec start; 0 = none */
	const int64_t *warn_at_ms; /* ascending offsets from exec start */
	size_t nr_warn_at;
	int64_t grace_ms; /* TERM -> KILL delay */
	/*
	 * stdout and stderr together, in the order written. Called from the
	 * thread that called exec. A non-zero return stops the task
	 * (KILL) and exec reports it as failed with the callback's reason.
	 */
	int (*on_output)(void *ctx, const char *buf, size_t len);
	void (*on_warn)(void *ctx, int64_t elapsed_ms);
	/*
	 * Called from the thread that called exec while the task runs
	 * (after the go), at least once a second. A non-zero return stops
	 * the task like cancel does (TERM, grace_ms, KILL), and exec sets
	 * st->stopped: for the limits the caller keeps (idle_timeout, the
	 * grace after an agent's final result). NULL: none.
	 */
	int (*on_tick)(void *ctx);
	/*
	 * Non-zero: while the output is quiet, look for file changes in the
	 * workspace about this often and call on_files_changed (same
	 * thread) when there was one, so that a task that works without
	 * printing does not look idle. Only where it is cheap: the local
	 * backend does it, e2b does not (output alone counts there).
	 */
	int64_t watch_files_ms;
	void (*on_files_changed)(void *ctx);
	/* Set to non-zero to stop the task: TERM, grace, KILL. */
	const atomic_int *cancel;
	/* Set to non-zero to kill the task at once. */
	const atomic_int *kill_now;
	/*
	 * Prepared ahead (NULL: run at once). The backend makes everything
	 * ready and starts the process up to a gate, then calls wait_go,
	 * which blocks until the task may run (returns 1) or was cancelled
	 * before it ran (returns 0: the backend stops the process and
	 * reports cancelled). Timeouts and warnings count from the go.
	 */
	int (*wait_go)(void *ctx);
	void *ctx;
	/*
	 * With a proxy (sandbox_config.netproxy): filled by exec with what
	 * the proxy did for the task (refusals, counts), to be released by
	 * the caller, who initialised it (NETPROXY_REPORT_INIT). NULL: not
	 * wanted.
	 */
	struct netproxy_report *net_report;
};

struct sandbox_status {
	int exit_code;	 /* valid when !term_signal; -1 otherwise */
	int term_signal; /* the signal that ended it, or 0 */
	bool timed_out;
	bool cancelled;
	bool stopped; /* on_tick asked for the stop */
	int64_t duration_ms;
};

/*
 * What `runner gc` and crash recovery find of a state's runs in a
 * backend: a folder, a process group, a remote sandbox. Filled by
 * list_leftovers, read by kill_leftover and cmd-gc.c's lines.
 */
struct sandbox_leftover {
	char *id;     /* the backend's handle for it: a name, a sandbox id */
	char *run_id; /* the run it belongs to */
	char *what;   /* for gc's line: "sandbox NAME" */
	/* gc's verbs: "removed" / "would remove", "killed" / "would kill" */
	const char *done, *would;
	/*
	 * Found inside the state's own folder: it is this state's even when
	 * its run is not (any more) in the database. Otherwise (a remote
	 * sandbox tagged with a run id) it is this state's only when the
	 * run is.
	 */
	bool in_state;
	int kind; /* the backend's own */
};

struct sandbox_leftovers {
	struct sandbox_leftover *v;
	size_t nr, alloc;
};

#define SANDBOX_LEFTOVERS_INIT \
	{                      \
		NULL, 0, 0     \
	}

/* Append one; the strings are copied. */
struct sandbox_leftover *sandbox_leftovers_add(struct sandbox_leftovers *l,
					       const char *id,
					       const char *run_id,
					       const char *what, bool kills);
void sandbox_leftovers_release(struct sandbox_leftovers *l);

/* list_leftovers flags */
/*
 * Without the network: crash recovery runs each time a state is opened,
 * and pruning a run must not wait on a remote API. A remote backend lists
 * nothing.
 */
#define SANDBOX_LEFTOVERS_OFFLINE (1u << 0)
/*
 * Also what still runs of run_id on this host: its runner died (crash
 * recovery), so whatever carries its RUNNER_RUN_ID is an orphan.
 */
#define SANDBOX_LEFTOVERS_PROCESSES (1u << 1)

struct plan;
struct plan_keys;

/* sandbox_backend.traits: what a plan's backend: keys give a task. */
struct sandbox_traits {
	bool no_network; /* no way out at all, not even a proxy */
	uint64_t memory; /* the enforced memory limit, bytes; 0 none */
};

struct sandbox_backend {
	/* Its `backend.type` in plans and `--backend` ("local") */
	const char *name;

	/*
	 * The plan's backend: keys this backend reads (NULL-terminated;
	 * "type" is everyone's). A key no backend names is an unknown key.
	 */
	const char *const *config_keys;
	/*
	 * Read this backend's keys from k (plan-backend.h; k->map is NULL
	 * when the plan has no backend: section) into a new *config (never
	 * NULL on return), reporting every bad value at its position
	 * through the plan_keys helpers. Every backend's parse_config sees
	 * every plan, whatever its type, so that `--backend` can switch
	 * after loading; each reads only its own keys, and a shared key's
	 * identical message is said once. What concerns only the plan's own
	 * type (a value this backend cannot take) it reports when
	 * k->chosen.
	 */
	void (*parse_config)(const struct plan_keys *k, void **config);
	void (*free_config)(void *config);
	/*
	 * Optional: checks that need the whole plan (tasks included), made
	 * only for the plan's own type; problems at their position.
	 */
	void (*check_plan)(const void *config, const struct plan *plan,
			   const struct plan_keys *k);
	/*
	 * Optional: `runner validate`'s warnings about a valid config, each
	 * "PATH:LINE:COL: message" appended to out (path is the plan's).
	 */
	void (*warn_config)(const void *config, const char *path,
			    struct strvec *out);
	/*
	 * Optional: the destinations a task may reach through a network
	 * proxy (netproxy.h), when config wants one: the scheduler starts
	 * one for the run and passes it in sandbox_config.netproxy. NULL:
	 * no proxy.
	 */
	const struct netproxy_allowlist *(*proxy_allowlist)(const void *config);
	/*
	 * What a task will have under config, for the checks that are not
	 * a backend's own (an agent that needs its API, an agent's memory
	 * floor): filled in from config, or left as sandbox_traits' zero
	 * values (some network, no memory limit) when a backend cannot say.
	 */
	void (*traits)(const void *config, struct sandbox_traits *out);

	/*
	 * Check that the backend can work at all (bwrap installed, user
	 * namespaces available; API key set). Called once before a run.
	 */
	int (*check)(const struct sandbox_config *cfg, struct strbuf *err);
	int (*create)(const struct sandbox_config *cfg, struct sandbox **out,
		      struct strbuf *err);
	/* Stable id, for the database and results ("local-<...>"). */
	const char *(*id)(const struct sandbox *sb);
	/*
	 * The paths the task sees: its working folder (where the workspace
	 * is and the command starts) and its HOME: a writable folder of its
	 * own, outside the workspace, gone with destroy, so that what an
	 * agent keeps there (its state, its transcript) never comes back as
	 * a change. Valid until destroy.
	 */
	const char *(*workdir)(const struct sandbox *sb);
	const char *(*home)(const struct sandbox *sb);
	int (*put_tree)(struct sandbox *sb, const struct ws_manifest *m,
			const char *src_root, struct strbuf *err);
	/*
	 * Run cmd to completion. Returns 0 when the task ran (whatever its
	 * exit status, timeout or cancellation, all in *st), -1 when it
	 * could not be run, with the reason in err.
	 */
	int (*exec)(struct sandbox *sb, const struct sandbox_cmd *cmd,
		    struct sandbox_status *st, struct strbuf *err);
	int (*pull_changes)(struct sandbox *sb, const struct ws_manifest *base,
			    const struct ws_pull_opts *opts,
			    struct ws_changes *out, struct strbuf *err);
	/* Tear down and free; returns -1 (with err) if anything remains. */
	int (*destroy)(struct sandbox *sb, struct strbuf *err);

	/*
	 * What is left of the runs of the state at state_dir (of run_id
	 * only, unless NULL), appended to out: 0, or -1 with a message
	 * (what was found so far stays in out). flags: SANDBOX_LEFTOVERS_*.
	 * Nothing to list (no folder, no API key) is 0.
	 */
	int (*list_leftovers)(const char *state_dir, const char *run_id,
			      unsigned flags, struct sandbox_leftovers *out,
			      struct strbuf *err);
	/* Remove or kill one; 0 also when it was already gone. */
	int (*kill_leftover)(const char *state_dir,
			     const struct sandbox_leftover *l,
			     struct strbuf *err);
};

/*
 * Adding a backend (Docker, Kubernetes Jobs, Slurm...): its own
 * sandbox-NAME.c (and NAME-*.c helpers), one line in sandbox.c's table,
 * and nothing in the scheduler, task.c, cmd-gc.c or recover.c. It fills
 * in every op above; what each must guarantee:
 *
 *   config_keys, parse_config, free_config, check_plan: its keys under
 *	backend:, each problem reported with the file:line:col of the value
 *	(the plan_keys helpers word them as for every other key); a key it
 *	shares with another backend (network) gets the same words. Values
 *	it has no key for keep its defaults. check_plan refuses what it
 *	knows it cannot run (a timeout beyond the longest life it allows).
 *   check: fails fast, before any task, when it cannot work at all
 *	(binary missing, credentials absent or refused).
 *   create: one fresh sandbox per attempt, named so that its leftovers
 *	can be told apart: tagged with the run id, task id and attempt
 *	(folder name, labels, metadata). A remote one calls on_created with
 *	its id before anything else, and kills it if that fails. On any
 *	failure nothing stays behind.
 *   workdir, home: where the workspace is in the sandbox and the
 *	command starts; the HOME the task gets unless the plan sets one.
 *   put_tree: exactly the manifest's files, modes and links.
 *   exec: the environment given and nothing of the runner's; the task
 *	is killed at timeout_ms (TERM, grace_ms, KILL; the kill must
 *	reach every process the task started, also detached ones), on
 *	cancel and on kill_now; warnings at warn_at_ms; output in order
 *	through on_output; the exit status is not lost when a stream to
 *	the sandbox breaks; wait_go honoured.
 *   pull_changes: what comes back is hostile. Only regular files,
 *	symlinks and directories under the workspace; names and link
 *	targets checked (ws.h: no "..", no absolute targets out of the
 *	tree), sizes capped at pull_limit before they are read, exclude
 *	and pull patterns and the secret rules of ws_pull_opts applied;
 *	nothing is written outside opts->dest.
 *   destroy: always frees; -1 if something may remain (then gc finds
 *	it by its tags).
 *   list_leftovers, kill_leftover: find what a run of this state left
 *	(its tags: run id, and the state's folder or metadata), never what
 *	belongs to another state or is not the runner's; offline when
 *	asked; kill is idempotent.
 */

/* The backends built in, in a fixed order: local first (the default). */
size_t sandbox_backend_count(void);
const struct sandbox_backend *sandbox_backend_at(size_t i);
/* The backend called name, or NULL. */
const struct sandbox_backend *sandbox_backend_find(const char *name);
/*
 * The names, for messages and help: "local|e2b" with sep "|" and last
 * "|", "local or e2b" with ", " and " or ".
 */
void sandbox_backend_names(struct strbuf *out, const char *sep,
			   const char *last);

#endif
