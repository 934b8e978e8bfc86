#ifndef SANDBOX_H
#define SANDBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

struct netproxy;
struct netproxy_allowlist;
struct netproxy_report;
struct strbuf;
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
	enum plan_isolation isolation;
	bool network;
	/*
	 * network: [allowlist] (local backend, bubblewrap): the run's proxy
	 * and the list; the sandbox keeps its empty network namespace and
	 * reaches the listed destinations through the proxy only. NULL:
	 * no proxy. Borrowed for the sandbox's life.
	 */
	struct netproxy *netproxy;
	const struct netproxy_allowlist *net_allow;
	uint64_t memory;	 /* bytes, 0 = unlimited */
	const char *template_id; /* e2b */
	int64_t max_lifetime_ms; /* e2b: the plan's; 0 = the backend's */
	int64_t timeout_ms;	 /* the task's hard limit */
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
	int64_t duration_ms;
};

struct sandbox_backend {
	const char *name;
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
	 * The task's HOME, as a path in the sandbox: a writable folder of
	 * its own, outside the workspace, gone with destroy, so that what
	 * an agent keeps there (its state, its transcript) never comes back
	 * as a change. Valid until destroy.
	 */
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
};

extern const struct sandbox_backend sandbox_local;

/* The backend for a plan's backend type, or NULL if not built in. */
const struct sandbox_backend *sandbox_backend_for(enum plan_backend_type t);

#endif
