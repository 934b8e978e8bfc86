#ifndef SANDBOX_E2B_H
#define SANDBOX_E2B_H

#include "e2b-config.h"
#include "sandbox.h"

struct strbuf;
struct strvec;

/*
 * The e2b backend: each sandbox is an E2B cloud sandbox, driven over its
 * HTTP APIs (../shared/e2b-spec/PROTOCOL.md): the control plane creates,
 * extends and kills it; envd inside it takes the workspace as one tar.gz,
 * runs commands over Connect-RPC (process.Process/Start, streamed) and
 * hands the changed files back as one tar.gz.
 *
 * Configuration (environment, read by check() and create()):
 *   E2B_API_KEY        required; sent as X-API-Key, never logged
 *   E2B_API_URL        control plane; default https://api.$E2B_DOMAIN
 *   E2B_DOMAIN         default e2b.app
 *   E2B_SANDBOX_URL    where envd requests go (with the E2b-Sandbox-Id and
 *                      E2b-Sandbox-Port headers); default
 *                      https://49983-<id>.<domain>
 *   RUNNER_E2B_CONNECT_TIMEOUT  connect timeout per request (10s)
 *   RUNNER_E2B_REQUEST_TIMEOUT  total timeout of an API call (60s)
 *   RUNNER_E2B_TRANSFER_TIMEOUT total timeout of an upload, a download
 *                      or a helper command in the sandbox (30m)
 *   RUNNER_E2B_RETRIES          retries of 429/5xx per request (5)
 *   RUNNER_E2B_RETRY_DELAY      first backoff, doubled each time (1s)
 *   RUNNER_E2B_HEALTH_TIMEOUT   wait for envd after create (60s)
 *   RUNNER_E2B_KEEPALIVE        envd keepalive on command streams (30s);
 *                      a stream silent for 3 times that is dropped
 *   RUNNER_E2B_TTL_MARGIN       sandbox lifetime beyond the task's
 *                      timeout, and what an upload, a listing or a
 *                      download must fit in (5m)
 *   RUNNER_E2B_MAX_TTL          longest lifetime asked for at once (1h,
 *                      the Hobby plan's limit); longer tasks extend it
 *   RUNNER_E2B_MAX_LIFETIME     how long E2B lets a sandbox live at all,
 *                      whatever is asked (the account's plan: 1h
 *                      Hobby, the default, 24h Pro); a plan's
 *                      backend.max_lifetime overrides it. A task whose
 *                      timeout is longer is refused (by `runner
 *                      validate` when the plan says e2b, else by
 *                      create()), and a sandbox that dies that old is
 *                      said to have been ended at its lifetime
 *   RUNNER_E2B_KILL_WAIT        after SIGKILL, how long to wait for the
 *                      end of the task before killing the sandbox (10s)
 *   RUNNER_E2B_USER             the Linux user tasks run as ("user")
 * Durations are written as in a plan ("500ms", "30s", "5m", "1h",
 * "1h30m") or as plain seconds ("90").
 *
 * check() needs E2B_API_KEY and makes one API call (GET /v2/sandboxes
 * ?limit=1) so that a wrong key or an unreachable API stops a run before
 * it starts.
 *
 * The sandbox template needs GNU tar, GNU find, coreutils (sha256sum,
 * base64) and a POSIX sh; E2B's base template has them. Plumbing runs as
 * root; the task runs as RUNNER_E2B_USER in /workspace, which it owns.
 *
 * Output: when a command stream breaks and is reattached, output the task
 * wrote meanwhile is lost (envd does not replay it); a line saying so is
 * passed to on_output. The exit status is not lost: the task runs under
 * a wrapper that keeps it in a file in the sandbox (e2b-proc.h).
 *
 * Signals: TERM goes to the task's top process, as envd's SendSignal
 * does; KILL kills that process first (a helper, as root, by the pid the
 * wrapper wrote), then the wrapper.
 *
 * A create answered with a 5xx may have made a sandbox anyway: those of
 * the attempt (found by their metadata) are killed before the retry.
 */
extern const struct sandbox_backend sandbox_e2b;

/* Its backend: keys are struct sandbox_e2b_config (e2b-config.h). */

/* create() calls cfg->on_created (sandbox.h) before the sandbox is used. */

/*
 * For `runner gc`: the ids of the live sandboxes whose metadata has
 * every key=value of filter (e.g. "runner_run=RUN"; NULL or "" lists all
 * of the team's, runner's or not), appended to ids; when run_ids is not
 * NULL, each one's runner_run metadata ("" for none) is appended to it in
 * step. Follows pagination. 0, or -1 with a message.
 */
int sandbox_e2b_list(const char *filter, struct strvec *ids,
		     struct strvec *run_ids, struct strbuf *err);

/* Kill a sandbox by id. 0 when it is gone (also when it already was). */
int sandbox_e2b_kill(const char *sandbox_id, struct strbuf *err);

#endif
