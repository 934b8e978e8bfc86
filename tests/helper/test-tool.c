/*
 * test-tool: internals exposed to the shell tests (git's t/helper model).
 *
 *   test-tool NAME [ARGS...]
 *
 * To add a subcommand, write a static cmd__NAME(argc, argv) (argv[0] is
 * NAME) returning the exit status, and add a row to cmds[] below.
 */
#include "runner.h"
#include "sandbox.h"
#include "ws.h"
#include "fs.h"
#include "agent-stream.h"
#include "prices.h"

#include <cJSON.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>

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
	const struct sandbox_backend *be =
		sandbox_backend_for(PLAN_BACKEND_LOCAL);
	struct sandbox_config cfg = {
		.run_id = "test", .task_id = "task", .attempt = 1,
		.state_dir = "state", .isolation = PLAN_ISOLATION_SANDBOX,
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
			cfg.network = true;
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
				cfg.isolation = PLAN_ISOLATION_SANDBOX;
			else if (!strcmp(v, "none"))
				cfg.isolation = PLAN_ISOLATION_NONE;
			else
				goto usage;
		} else if (!strcmp(a, "--memory")) {
			if (parse_size(v, &cfg.memory) < 0)
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

struct test_cmd {
	const char *name;
	int (*fn)(int argc, const char **argv);
};

static const struct test_cmd cmds[] = {
	{ "sandbox-run", cmd__sandbox_run },
	{ "agent-parse", cmd__agent_parse },
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
