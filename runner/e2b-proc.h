#ifndef E2B_PROC_H
#define E2B_PROC_H

#include <stdint.h>

struct http_client;
struct sandbox;
struct sandbox_cmd;
struct sandbox_status;
struct strbuf;

/*
 * Processes in an e2b sandbox over envd's Connect RPC
 * (../shared/e2b-spec/PROTOCOL.md "process"): process.Process/Start,
 * streamed as enveloped JSON on the sandbox's stream client; a stream
 * that breaks is followed again with process.Process/Connect by the pid
 * of the start event (envd's lookup by tag can miss), unless the control
 * plane says the sandbox is gone; signals go out with
 * process.Process/SendSignal, by pid too.
 *
 * envd forgets a process the moment it ends, so a task runs under a
 * small sh wrapper that writes its exit status to a file in the sandbox:
 * when a reattach finds nothing, that file says how the task ended (no
 * file: it was killed). Plumbing is not wrapped: its output is what it
 * is run for, so a broken stream fails it.
 *
 * We keep the task's clock, as proc.c does for local tasks: warnings,
 * the timeout (TERM, grace, KILL), cancellation, and, when even KILL is
 * not confirmed by an end event, killing the sandbox; meanwhile the
 * sandbox's lifetime is extended as the task needs (e2b_api_extend()).
 * envd's own deadline (Connect-Timeout-Ms) is only a backstop.
 *
 * One process runs at a time per sandbox, in the calling thread, which
 * also receives the output callbacks.
 */

/* What to run; everything is borrowed for the call. */
struct e2b_proc_spec {
	const char *user; /* the Linux user it runs as */
	const char *const *argv;
	const char *const *env; /* NAME=VALUE, may be NULL */
	const char *cwd;
	const char *what; /* for messages: "during the task", ... */
	/*
	 * The task: its clock, its output callback, cancel and kill flags
	 * (sandbox.h). NULL for plumbing, whose output goes to out and
	 * errout instead.
	 */
	const struct sandbox_cmd *cmd;
	int64_t timeout_ms; /* plumbing: hard limit (0: none) */
	/* The connection for the stream; NULL: the sandbox's stream one. */
	struct http_client *client;
	struct strbuf *out;    /* plumbing: stdout; its cap fails the run */
	struct strbuf *errout; /* plumbing: stderr; cut at its cap */
};

/*
 * Run spec in sb to its end. Returns 0 with st filled when the process
 * ended, or when our clock killed it or the sandbox (st says so: a
 * signal, timed_out, cancelled); -1 with a message when it could not be
 * started or followed (the sandbox died, the stream was lost too often
 * or was malformed, plumbing ran over its time or output cap) or the
 * task's output callback failed. On -1 a process that may still run is
 * sent SIGKILL.
 */
int e2b_proc_run(struct sandbox *sb, const struct e2b_proc_spec *spec,
		 struct sandbox_status *st, struct strbuf *err);

/*
 * Plumbing: /bin/sh -c script as root in /, with args as $1...; its
 * stdout into out (capped by the caller), within
 * RUNNER_E2B_TRANSFER_TIMEOUT. Fails, with what it wrote to stderr,
 * unless it exits 0; what names the step in messages ("while packing
 * the changed files").
 */
int e2b_proc_script(struct sandbox *sb, const char *what, const char *script,
		    const char *const *args, struct strbuf *out,
		    struct strbuf *err);

#endif
