#include "runner.h"
#include "agent-stream.h"
#include "quote.h"
#include "tap.h"

#include <sys/resource.h>

/*
 * runner/agent-stream.c against the real CLIs' output captured in
 * tests/fixtures/agents/ (capture.sh), fed whole, a byte at a time and in
 * random chunks, and against damaged and hostile input.
 */

#define FIX "tests/fixtures/agents/"

struct want {
	const char *file;
	enum agent_format format;
	const char *model_hint;
	enum agent_result result;
	const char *error; /* a prefix; NULL: no error */
	const char *warning;
	const char *subtype, *terminal_reason;
	int api_error_status;
	uint64_t retries, turns, tool_calls, model_requests;
	const char *session_id, *model;
	struct agent_tokens tokens;
	bool has_cost;
	double cost_usd;
	const char *final_text;
	uint64_t ignored_lines;
};

/* Read off the fixtures (the result line, the events). */
static const struct want fixtures[] = {
	{ "claude-edit.out", AGENT_FORMAT_CLAUDE_STREAM_JSON, NULL,
	  AGENT_RESULT_SUCCESS, NULL, NULL, "success", "completed", 0, 0, 5, 4,
	  5, "c4c6ed04-55ac-4a59-813a-4d4a8313f58e", "claude-opus-5-5",
	  { .input = 14479, .output = 186, .cache_read = 5000,
	    .cache_write = 1000 },
	  true, 0.067636, "All done: hello.txt edited, new.txt created.", 0 },
	{ "claude-overloaded.out", AGENT_FORMAT_CLAUDE_STREAM_JSON, NULL,
	  AGENT_RESULT_SUCCESS, NULL, "api_retry 2/10: 529 overloaded",
	  "success", "completed", 0, 2, 1, 0, 1,
	  "0603c8ec-a4b8-437c-8447-fdff15597579", "claude-opus-5-5",
	  { .input = 2693, .output = 16 }, true, 0.011092000000000001,
	  "Answered after two overloaded errors.", 0 },
	/* An API failure: subtype "success", is_error true. */
	{ "claude-400.out", AGENT_FORMAT_CLAUDE_STREAM_JSON, NULL,
	  AGENT_RESULT_ERROR,
	  "API Error: 400 messages.1.content: text content blocks must be "
	  "non-empty",
	  NULL, "success", "api_error", 400, 0, 1, 0, 0,
	  "1c2780eb-8fc2-4764-a84c-2d5cac07eda0", "claude-opus-5-5",
	  { 0 }, true, 0,
	  "API Error: 400 messages.1.content: text content blocks must be "
	  "non-empty",
	  0 },
	{ "claude-500.out", AGENT_FORMAT_CLAUDE_STREAM_JSON, NULL,
	  AGENT_RESULT_ERROR, "API Error: 500 Internal server error.",
	  "api_retry 1/1: 500 server_error", "success", "api_error", 500, 1,
	  1, 0, 0, "f9379a97-7d4e-4d4f-bae2-c1ab58acb1bc", "claude-opus-5-5",
	  { 0 }, true, 0,
	  "API Error: 500 Internal server error. This is a server-side "
	  "issue, usually temporary \342\200\224 try again in a moment. If "
	  "it persists, check your inference gateway (127.0.0.1:37843).",
	  0 },
	{ "claude-max-turns.out", AGENT_FORMAT_CLAUDE_STREAM_JSON, NULL,
	  AGENT_RESULT_MAX_TURNS, "Reached maximum number of turns (2)", NULL,
	  "error_max_turns", "max_turns", 0, 0, 3, 2, 2,
	  "2338701f-dfc6-4a23-9fd6-c9cffa0e8235", "claude-opus-5-5",
	  { .input = 200000, .output = 40000 }, true, 1.6, "", 0 },
	/*
	 * result.usage says 200000/40000 here; modelUsage (and the cost)
	 * count the third request too.
	 */
	{ "claude-max-budget.out", AGENT_FORMAT_CLAUDE_STREAM_JSON, NULL,
	  AGENT_RESULT_MAX_BUDGET, "Reached maximum budget ($2)", NULL,
	  "error_max_budget_usd", "budget_exhausted", 0, 0, 3, 3, 3,
	  "c653c129-bbfc-4e74-ab50-6eae1909bd68", "claude-opus-5-5",
	  { .input = 300000, .output = 60000 }, true, 2.4000000000000004, "",
	  0 },
	{ "claude-usage.out", AGENT_FORMAT_CLAUDE_STREAM_JSON, NULL,
	  AGENT_RESULT_SUCCESS, NULL, NULL, "success", "completed", 0, 0, 3, 2,
	  3, "a6df7bb5-8118-4263-bef9-d074e77b4c00", "claude-opus-5-5",
	  { .input = 3000, .output = 300, .cache_read = 60000,
	    .cache_write = 9000, .cache_write_1h = 6000 },
	  true, 0.093, "Fixed usage on every turn.", 0 },
	/* Codex: input_tokens 21250 less 2100 cached. */
	{ "codex-edit.out", AGENT_FORMAT_CODEX_JSONL, "gpt-5.5",
	  AGENT_RESULT_SUCCESS, NULL, NULL, NULL, NULL, 0, 0, 1, 2, 0,
	  "01a23431-eea3-7263-bb1c-ca06cdbf5a67", "gpt-5.5",
	  { .input = 19150, .output = 229, .cache_read = 2100 }, false, 0,
	  "All done: hello.txt edited, new.txt created.", 1 },
	{ "codex-usage.out", AGENT_FORMAT_CODEX_JSONL, "gpt-5.5",
	  AGENT_RESULT_SUCCESS, NULL, NULL, NULL, NULL, 0, 0, 1, 2, 0,
	  "01a23435-3fed-76f2-bed4-590d5e9c9227", "gpt-5.5",
	  { .input = 9000, .output = 1500, .cache_read = 18000,
	    .cache_write = 3000, .reasoning = 600 },
	  false, 0, "Fixed usage on every request.", 1 },
	{ "codex-500.out", AGENT_FORMAT_CODEX_JSONL, NULL, AGENT_RESULT_ERROR,
	  "We\342\200\231re currently experiencing high demand",
	  "We\342\200\231re currently experiencing high demand, which may "
	  "cause temporary errors.",
	  NULL, NULL, 0, 1, 1, 0, 0, "01a23431-f7b1-7322-a0a9-442f2fd67cfa",
	  NULL, { 0 }, false, 0, "", 1 },
	{ "codex-stall.out", AGENT_FORMAT_CODEX_JSONL, "gpt-5.5",
	  AGENT_RESULT_SUCCESS, NULL,
	  "Reconnecting... 1/1 (stream disconnected before completion: idle "
	  "timeout waiting for SSE)",
	  NULL, NULL, 0, 1, 1, 0, 0, "01a23432-0355-7062-910f-438fe4213c59",
	  "gpt-5.5", { .input = 6925, .output = 51 }, false, 0,
	  "Recovered after a stalled stream.", 1 },
};

static void read_fixture(struct strbuf *sb, const char *name)
{
	char *path = xstrfmt(FIX "%s", name);

	strbuf_reset(sb);
	if (strbuf_read_file(sb, path) < 0)
		BUG("cannot read %s: %s", path, strerror(errno));
	free(path);
}

struct cb {
	int calls;
	uint64_t at; /* bytes fed when it fired */
	uint64_t fed;
	enum agent_result result;
};

static void on_final(void *ctx, const struct agent_outcome *o)
{
	struct cb *cb = ctx;

	cb->calls++;
	cb->at = cb->fed;
	cb->result = o->result;
}

static struct agent_stream *new_parser(enum agent_format f,
				       const char *model, struct cb *cb)
{
	struct agent_stream_opts opts = {
		.format = f, .model = model, .on_final = on_final, .ctx = cb
	};

	return agent_stream_new(&opts);
}

/* chunk 0: random chunk sizes from rand(), 1..max. */
static void feed(struct agent_stream *p, struct cb *cb, const char *buf,
		 size_t len, size_t chunk, size_t max)
{
	size_t off = 0;

	while (off < len) {
		size_t n = chunk ? chunk : 1 + (size_t)rand() % max;

		if (n > len - off)
			n = len - off;
		cb->fed += n;
		agent_stream_feed(p, buf + off, n, (int64_t)cb->fed);
		off += n;
	}
}

static void add_tokens(struct strbuf *sb, const struct agent_tokens *t)
{
	strbuf_addf(sb,
		    "in=%" PRIu64 " out=%" PRIu64 " cr=%" PRIu64
		    " cw=%" PRIu64 " cw1h=%" PRIu64 " reas=%" PRIu64 "\n",
		    t->input, t->output, t->cache_read, t->cache_write,
		    t->cache_write_1h, t->reasoning);
}

/* Every field, one string, to compare feeds of the same bytes. */
static char *snapshot(const struct agent_outcome *o)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "final=%d result=%s turns=%" PRIu64 " tools=%" PRIu64
		    " reqs=%" PRIu64 " retries=%" PRIu64 " status=%d\n",
		    o->final_seen, agent_result_name(o->result), o->turns,
		    o->tool_calls, o->model_requests, o->retries,
		    o->api_error_status);
	strbuf_addf(&sb, "error=%s\nwarning=%s\nsub=%s tr=%s\n",
		    o->error ? o->error : "-", o->warning ? o->warning : "-",
		    o->subtype ? o->subtype : "-",
		    o->terminal_reason ? o->terminal_reason : "-");
	strbuf_addf(&sb, "session=%s model=%s models=%zu\n",
		    o->session_id ? o->session_id : "-",
		    o->model ? o->model : "-", o->nr_models);
	for (size_t i = 0; i < o->nr_models; i++) {
		strbuf_addf(&sb, "  %s cost=%d:%.12g ", o->models[i].model,
			    o->models[i].has_cost, o->models[i].cost_usd);
		add_tokens(&sb, &o->models[i].tokens);
	}
	strbuf_addf(&sb, "tokens=%d partial=%d ", o->has_tokens,
		    o->tokens_partial);
	add_tokens(&sb, &o->tokens);
	strbuf_addf(&sb, "cost=%d:%.12g\ntext(%d)=%s\n", o->has_cost,
		    o->cost_usd, o->final_text_truncated, o->final_text.buf);
	strbuf_addf(&sb,
		    "events=%" PRIu64 " ignored=%" PRIu64 " skipped=%" PRIu64
		    " bad=%" PRIu64 " bytes=%" PRIu64 "\n",
		    o->events, o->ignored_lines, o->skipped_lines,
		    o->bad_fields, o->bytes);
	return strbuf_detach(&sb, NULL);
}

static bool same_tokens(const struct agent_tokens *a,
			const struct agent_tokens *b)
{
	return a->input == b->input && a->output == b->output &&
	       a->cache_read == b->cache_read &&
	       a->cache_write == b->cache_write &&
	       a->cache_write_1h == b->cache_write_1h &&
	       a->reasoning == b->reasoning;
}

static bool prefix(const char *s, const char *pre)
{
	return s && pre && !strncmp(s, pre, strlen(pre));
}

/* Where the final event's line ends: the callback must fire right there. */
static size_t final_line_end(const struct strbuf *sb, enum agent_format f)
{
	const char *keys[] = { "\"type\":\"turn.completed\"",
			       "\"type\":\"turn.failed\"",
			       "\"type\":\"result\"" };
	struct strbuf line = STRBUF_INIT;
	size_t off = 0, end = 0;

	/* The first line holding one of keys (Claude's is its result). */
	while (off < sb->len && !end) {
		const char *nl = strchr(sb->buf + off, '\n');
		size_t n = nl ? (size_t)(nl - sb->buf) - off : sb->len - off;

		strbuf_reset(&line);
		strbuf_add(&line, sb->buf + off, n);
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if ((i == 2) == (f == AGENT_FORMAT_CLAUDE_STREAM_JSON) &&
			    strstr(line.buf, keys[i]))
				end = off + n + 1;
		off += n + 1;
	}
	strbuf_release(&line);
	if (!end)
		BUG("no final line");
	return end;
}

static void test_fixtures(void)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		const struct want *w = &fixtures[i];
		struct cb cb = { 0 };
		struct agent_stream *p = new_parser(w->format, w->model_hint,
						    &cb);
		const struct agent_outcome *o;
		char *whole;
		size_t end;

		read_fixture(&sb, w->file);
		end = final_line_end(&sb, w->format);
		feed(p, &cb, sb.buf, sb.len, sb.len, 0);
		agent_stream_finish(p, (int64_t)cb.fed);
		o = agent_stream_outcome(p);

		ok(o->final_seen && agent_stream_final_seen(p),
		   "%s: final result seen", w->file);
		is_int(cb.calls, 1, "%s: on_final called once", w->file);
		is_str(agent_result_name(o->result),
		       agent_result_name(w->result), "%s: outcome", w->file);
		is_int(cb.result, w->result, "%s: outcome set when on_final ran",
		       w->file);
		if (w->error)
			ok(prefix(o->error, w->error), "%s: error '%s'",
			   w->file, o->error ? o->error : "(null)");
		else
			is_str(o->error, NULL, "%s: no error", w->file);
		is_str(o->warning, w->warning, "%s: warning", w->file);
		is_str(o->subtype, w->subtype, "%s: subtype", w->file);
		is_str(o->terminal_reason, w->terminal_reason,
		       "%s: terminal_reason", w->file);
		is_int(o->api_error_status, w->api_error_status,
		       "%s: api_error_status", w->file);
		is_int(o->retries, w->retries, "%s: retries", w->file);
		is_int(o->turns, w->turns, "%s: turns", w->file);
		is_int(o->tool_calls, w->tool_calls, "%s: tool calls",
		       w->file);
		is_int(o->model_requests, w->model_requests,
		       "%s: model requests", w->file);
		is_str(o->session_id, w->session_id, "%s: session id",
		       w->file);
		is_str(o->model, w->model, "%s: model", w->file);
		ok(o->has_tokens == (w->format == AGENT_FORMAT_CLAUDE_STREAM_JSON ||
				     w->result == AGENT_RESULT_SUCCESS) &&
			   !o->tokens_partial,
		   "%s: final token counts", w->file);
		ok(same_tokens(&o->tokens, &w->tokens),
		   "%s: tokens in=%" PRIu64 " out=%" PRIu64 " cr=%" PRIu64
		   " cw=%" PRIu64 " cw1h=%" PRIu64 " reas=%" PRIu64,
		   w->file, o->tokens.input, o->tokens.output,
		   o->tokens.cache_read, o->tokens.cache_write,
		   o->tokens.cache_write_1h, o->tokens.reasoning);
		ok(o->has_cost == w->has_cost && o->cost_usd == w->cost_usd,
		   "%s: cost %d %.17g", w->file, o->has_cost, o->cost_usd);
		is_str(o->final_text.buf, w->final_text, "%s: final text",
		       w->file);
		is_int(o->ignored_lines, w->ignored_lines,
		       "%s: ignored lines", w->file);
		ok(!o->skipped_lines && !o->bad_fields,
		   "%s: nothing skipped or bad", w->file);
		is_int(o->bytes, sb.len, "%s: bytes", w->file);
		ok(o->events > 0 && o->last_event_ms == (int64_t)sb.len,
		   "%s: last event at the last feed", w->file);
		whole = snapshot(o);
		agent_stream_free(p);

		/* A byte at a time: the same, on_final at its line's end. */
		memset(&cb, 0, sizeof(cb));
		p = new_parser(w->format, w->model_hint, &cb);
		feed(p, &cb, sb.buf, sb.len, 1, 0);
		is_int(cb.at, end, "%s: on_final at the end of its line",
		       w->file);
		agent_stream_finish(p, (int64_t)cb.fed);
		{
			char *s = snapshot(agent_stream_outcome(p));

			is_str(s, whole, "%s: byte by byte", w->file);
			free(s);
		}
		agent_stream_free(p);

		for (unsigned seed = 1; seed <= 5; seed++) {
			char *s;

			srand(seed);
			memset(&cb, 0, sizeof(cb));
			p = new_parser(w->format, w->model_hint, &cb);
			feed(p, &cb, sb.buf, sb.len, 0, seed * 97);
			agent_stream_finish(p, (int64_t)cb.fed);
			s = snapshot(agent_stream_outcome(p));
			is_str(s, whole, "%s: random chunks (seed %u)",
			       w->file, seed);
			ok(cb.calls == 1 && cb.at >= end,
			   "%s: seed %u: on_final once, not early", w->file,
			   seed);
			free(s);
			agent_stream_free(p);
		}
		free(whole);
	}
	strbuf_release(&sb);
}

/* Garbage between the lines changes counters only. */
static void test_garbage(void)
{
	static const char *const junk[] = {
		"Reading prompt from stdin...\n",
		"{not json at all\n",
		"[1, 2, 3]\n",
		"{}\n",
		"{\"type\": 42}\n",
		"{\"type\":\"no.such.event\",\"x\":1}\n",
		"{\"type\":\"result\"} trailing words\n",
		"\n",
		"   \t \r\n",
		"\033[2K\rprogress 50%\r\n",
		"\377\376binary\001\002\n",
		"{\"type\":\"result\",\"is_error\":false,\"num_turns\":99\n",
		"null\n",
		"\"a string\"\n",
	};
	/* Lines that parse as no known event (blank ones included). */
	const uint64_t nr_ignored = ARRAY_SIZE(junk);
	struct strbuf sb = STRBUF_INIT, mixed = STRBUF_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++) {
		const struct want *w = &fixtures[i];
		struct cb cb = { 0 };
		struct agent_stream *p;
		const struct agent_outcome *o;
		const char *line;
		size_t k = 0;

		read_fixture(&sb, w->file);
		strbuf_reset(&mixed);
		for (line = sb.buf; *line;) {
			const char *nl = strchr(line, '\n');
			size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);

			strbuf_addstr(&mixed, junk[k++ % ARRAY_SIZE(junk)]);
			strbuf_add(&mixed, line, n);
			line += n;
		}
		while (k < ARRAY_SIZE(junk))
			strbuf_addstr(&mixed, junk[k++]);

		p = new_parser(w->format, w->model_hint, &cb);
		srand(7);
		feed(p, &cb, mixed.buf, mixed.len, 0, 50);
		agent_stream_finish(p, (int64_t)cb.fed);
		o = agent_stream_outcome(p);
		is_str(agent_result_name(o->result),
		       agent_result_name(w->result), "%s + junk: outcome",
		       w->file);
		ok(same_tokens(&o->tokens, &w->tokens) &&
			   o->turns == w->turns &&
			   o->cost_usd == w->cost_usd,
		   "%s + junk: tokens, turns, cost", w->file);
		is_str(o->session_id, w->session_id, "%s + junk: session",
		       w->file);
		is_int(o->ignored_lines, w->ignored_lines + k,
		       "%s + junk: %zu junk lines ignored", w->file, k);
		ok(k >= nr_ignored, "%s + junk: every junk line used",
		   w->file);
		agent_stream_free(p);
	}
	strbuf_release(&sb);
	strbuf_release(&mixed);
}

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/*
 * A 100 MiB line (an agent printing a huge file as one JSON line) is
 * skipped as it streams: the process grows by far less than the line.
 */
static void test_long_line(void)
{
	struct strbuf sb = STRBUF_INIT;
	const size_t chunk = 64 << 10, total = (size_t)100 << 20;
	char *buf = xmalloc(chunk);
	struct cb cb = { 0 };
	struct agent_stream *p;
	const struct agent_outcome *o;
	long before;
	const char *head = "{\"type\":\"assistant\",\"message\":{\"id\":\"m\","
			   "\"content\":[{\"type\":\"text\",\"text\":\"";

	memset(buf, 'A', chunk);
	read_fixture(&sb, "claude-edit.out");
	p = new_parser(AGENT_FORMAT_CLAUDE_STREAM_JSON, NULL, &cb);
	before = maxrss_kb();
	agent_stream_feed(p, head, strlen(head), 1);
	for (size_t n = 0; n < total; n += chunk)
		agent_stream_feed(p, buf, chunk, 2);
	agent_stream_feed(p, "\"}]}}\n", 6, 3);
	ok(maxrss_kb() - before < 16 * 1024,
	   "a 100 MiB line grew the process by %ld KiB (< 16 MiB)",
	   maxrss_kb() - before);
	o = agent_stream_outcome(p);
	is_int(o->skipped_lines, 1, "the long line is skipped");
	is_int(o->events, 0, "and not parsed");
	is_int(o->last_output_ms, 3, "output time moves on");
	is_int(o->last_event_ms, -1, "event time does not");
	feed(p, &cb, sb.buf, sb.len, 4096, 0);
	agent_stream_finish(p, 9);
	ok(o->final_seen && o->result == AGENT_RESULT_SUCCESS &&
		   o->tokens.input == 14479,
	   "the lines after it parse");
	agent_stream_free(p);

	/* Two long lines back to back, the second ending the input. */
	memset(&cb, 0, sizeof(cb));
	p = new_parser(AGENT_FORMAT_CLAUDE_STREAM_JSON, NULL, &cb);
	for (int k = 0; k < 2; k++) {
		agent_stream_feed(p, "{", 1, 1);
		for (size_t n = 0; n < (size_t)10 << 20; n += chunk)
			agent_stream_feed(p, buf, chunk, 1);
		if (!k)
			agent_stream_feed(p, "\n", 1, 1);
	}
	agent_stream_finish(p, 2);
	is_int(agent_stream_outcome(p)->skipped_lines, 2,
	       "two 10 MiB lines skipped");
	feed(p, &cb, sb.buf, sb.len, sb.len, 0);
	ok(agent_stream_outcome(p)->final_seen,
	   "after finish a new line starts");
	agent_stream_free(p);
	free(buf);
	strbuf_release(&sb);
}

/*
 * A line under the length limit but of a million tiny values (a tool
 * result listing many files) is skipped before cJSON builds a tree of
 * 64 bytes a value; commas inside a string do not count.
 */
static void test_many_values(void)
{
	struct strbuf line = STRBUF_INIT;
	struct cb cb = { 0 };
	struct agent_stream *p =
		new_parser(AGENT_FORMAT_CLAUDE_STREAM_JSON, NULL, &cb);
	const struct agent_outcome *o = agent_stream_outcome(p);
	long before;

	strbuf_addstr(&line, "{\"type\":\"user\",\"x\":[0");
	while (line.len < (3u << 20))
		strbuf_addstr(&line, ",0");
	strbuf_addstr(&line, "]}\n");
	before = maxrss_kb();
	feed(p, &cb, line.buf, line.len, 1 << 16, 0);
	ok(maxrss_kb() - before < 32 * 1024,
	   "1.5 million values grew the process by %ld KiB (< 32 MiB)",
	   maxrss_kb() - before);
	ok(o->skipped_lines == 1 && !o->events,
	   "a line of 1.5 million values is skipped");

	strbuf_reset(&line);
	strbuf_addstr(&line, "{\"type\":\"result\",\"is_error\":false,"
			     "\"num_turns\":2,\"result\":\"");
	while (line.len < (3u << 20))
		strbuf_addstr(&line, ",:[{\\\"");
	strbuf_addstr(&line, "end\"}\n");
	feed(p, &cb, line.buf, line.len, 1 << 16, 0);
	ok(o->final_seen && o->turns == 2 && o->skipped_lines == 1,
	   "punctuation inside a 3 MiB string does not count");
	ok(o->final_text.len == AGENT_FINAL_TEXT_MAX &&
		   !strcmp(o->final_text.buf + o->final_text.len - 5,
			   "{\"end"),
	   "and the string is read as it is");
	agent_stream_free(p);
	strbuf_release(&line);
}

/* A result whose text is near the line limit: kept, the last 64 KiB. */
static void test_big_text(void)
{
	struct strbuf line = STRBUF_INIT;
	const size_t n = AGENT_STREAM_MAX_LINE / 2 - 1024;
	struct cb cb = { 0 };
	struct agent_stream *p =
		new_parser(AGENT_FORMAT_CLAUDE_STREAM_JSON, NULL, &cb);
	const struct agent_outcome *o;

	strbuf_addstr(&line, "{\"type\":\"result\",\"subtype\":\"success\","
			     "\"is_error\":false,\"result\":\"x");
	/* é is two bytes: a cut in the middle of one must not show. */
	for (size_t i = 0; i < n / 2; i++)
		strbuf_addstr(&line, "\303\251");
	strbuf_addstr(&line, "THE END\"}\n");
	ok(line.len < AGENT_STREAM_MAX_LINE, "the line is %zu bytes",
	   line.len);
	feed(p, &cb, line.buf, line.len, 1 << 20, 0);
	o = agent_stream_outcome(p);
	ok(o->final_seen, "a 2 MiB result line parses");
	ok(o->final_text.len <= AGENT_FINAL_TEXT_MAX &&
		   o->final_text.len >= AGENT_FINAL_TEXT_MAX - 1,
	   "final text keeps %zu bytes", o->final_text.len);
	ok(o->final_text_truncated, "and says it was cut");
	ok(quote_utf8_valid(o->final_text.buf, o->final_text.len),
	   "the cut is at a character boundary");
	ok(o->final_text.len > 7 &&
		   !strcmp(o->final_text.buf + o->final_text.len - 7,
			   "THE END"),
	   "the tail is kept");
	agent_stream_free(p);

	/* Codex: many agent messages, the last one wins. */
	memset(&cb, 0, sizeof(cb));
	p = new_parser(AGENT_FORMAT_CODEX_JSONL, NULL, &cb);
	for (int i = 0; i < 3; i++) {
		char *l = xstrfmt("{\"type\":\"item.completed\",\"item\":{"
				  "\"type\":\"agent_message\",\"text\":\"m%d\"}}"
				  "\n",
				  i);
		agent_stream_feed(p, l, strlen(l), i);
		free(l);
	}
	is_str(agent_stream_outcome(p)->final_text.buf, "m2",
	       "codex: the last agent_message");
	ok(!agent_stream_outcome(p)->final_text_truncated,
	   "codex: not truncated");
	agent_stream_free(p);
	strbuf_release(&line);
}

static void test_truncated(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct cb cb = { 0 };
	struct agent_stream *p;
	const struct agent_outcome *o;

	/* No newline after the result: finish() parses it. */
	read_fixture(&sb, "claude-edit.out");
	strbuf_setlen(&sb, sb.len - 1);
	p = new_parser(AGENT_FORMAT_CLAUDE_STREAM_JSON, NULL, &cb);
	feed(p, &cb, sb.buf, sb.len, 333, 0);
	ok(!agent_stream_final_seen(p), "no newline: not final yet");
	agent_stream_finish(p, 5);
	o = agent_stream_outcome(p);
	ok(o->final_seen && cb.calls == 1 && o->tokens.input == 14479,
	   "finish() parses the last line");
	agent_stream_free(p);

	/* The result line cut in half (the agent was killed). */
	read_fixture(&sb, "claude-edit.out");
	strbuf_setlen(&sb, final_line_end(&sb, AGENT_FORMAT_CLAUDE_STREAM_JSON) -
				   1500);
	memset(&cb, 0, sizeof(cb));
	p = new_parser(AGENT_FORMAT_CLAUDE_STREAM_JSON, NULL, &cb);
	feed(p, &cb, sb.buf, sb.len, 100, 0);
	agent_stream_finish(p, 5);
	o = agent_stream_outcome(p);
	ok(!o->final_seen && !cb.calls && o->result == AGENT_RESULT_NONE,
	   "a cut result line: no final result");
	is_int(o->ignored_lines, 1, "the cut line is ignored");
	ok(o->has_tokens && o->tokens_partial,
	   "tokens are the running estimate");
	/* The assistant lines' usage is message_start's: output 1 each. */
	ok(o->tokens.input == 14479 && o->tokens.output == 5 &&
		   o->tokens.cache_read == 5000 &&
		   o->tokens.cache_write == 1000,
	   "estimate: in=%" PRIu64 " out=%" PRIu64, o->tokens.input,
	   o->tokens.output);
	is_int(o->model_requests, 5, "five model responses so far");
	is_str(o->final_text.buf,
	       "All done: hello.txt edited, new.txt created.",
	       "final text from the last assistant message");
	ok(!o->has_cost, "no cost without the result");
	agent_stream_free(p);

	/* Codex killed before turn.completed. */
	read_fixture(&sb, "codex-stall.out");
	strbuf_setlen(&sb, final_line_end(&sb, AGENT_FORMAT_CODEX_JSONL) - 20);
	memset(&cb, 0, sizeof(cb));
	p = new_parser(AGENT_FORMAT_CODEX_JSONL, NULL, &cb);
	feed(p, &cb, sb.buf, sb.len, sb.len, 0);
	agent_stream_finish(p, 5);
	o = agent_stream_outcome(p);
	ok(!o->final_seen && o->result == AGENT_RESULT_NONE && !o->error &&
		   o->warning && !o->has_tokens,
	   "codex cut short: no result, the retry as a warning");
	agent_stream_free(p);
	strbuf_release(&sb);
}

struct row {
	const char *line;
	enum agent_result result;
	uint64_t turns;
	bool has_cost;
	double cost;
	uint64_t input, output;
	uint64_t bad_fields;
	const char *error;
};

/* One result line each: missing, mistyped, float and huge fields. */
static void test_result_fields(void)
{
	static const struct row rows[] = {
		{ "{\"type\":\"result\"}", AGENT_RESULT_ERROR, 0, false, 0, 0,
		  0, 0, "error" },
		{ "{\"type\":\"result\",\"subtype\":\"success\"}",
		  AGENT_RESULT_SUCCESS, 0, false, 0, 0, 0, 0, NULL },
		{ "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":"
		  "\"no\"}",
		  AGENT_RESULT_SUCCESS, 0, false, 0, 0, 0, 1, NULL },
		{ "{\"type\":\"result\",\"subtype\":\"error_during_execution\","
		  "\"is_error\":true,\"terminal_reason\":\"aborted\"}",
		  AGENT_RESULT_ERROR, 0, false, 0, 0, 0, 0, "aborted" },
		{ "{\"type\":\"result\",\"subtype\":\"error_max_turns\"}",
		  AGENT_RESULT_MAX_TURNS, 0, false, 0, 0, 0, 0,
		  "error_max_turns" },
		{ "{\"type\":\"result\",\"is_error\":false,\"num_turns\":5.0,"
		  "\"total_cost_usd\":1,\"usage\":{\"input_tokens\":10.0,"
		  "\"output_tokens\":3}}",
		  AGENT_RESULT_SUCCESS, 5, true, 1, 10, 3, 0, NULL },
		{ "{\"type\":\"result\",\"is_error\":false,\"num_turns\":5.5,"
		  "\"total_cost_usd\":-1,\"usage\":{\"input_tokens\":-3,"
		  "\"output_tokens\":\"7\"}}",
		  AGENT_RESULT_SUCCESS, 0, false, 0, 0, 0, 4, NULL },
		{ "{\"type\":\"result\",\"is_error\":false,\"num_turns\":1e300,"
		  "\"total_cost_usd\":1e300,\"usage\":{\"input_tokens\":"
		  "1e16,\"output_tokens\":9007199254740992}}",
		  AGENT_RESULT_SUCCESS, 0, false, 0, 0, 9007199254740992ULL,
		  3, NULL },
		{ "{\"type\":\"result\",\"is_error\":false,\"usage\":{"
		  "\"input_tokens\":184467440737095516150}}",
		  AGENT_RESULT_SUCCESS, 0, false, 0, 0, 0, 1, NULL },
		{ "{\"type\":\"result\",\"is_error\":false,\"total_cost_usd\":"
		  "0.1,\"usage\":[1,2],\"modelUsage\":\"x\"}",
		  AGENT_RESULT_SUCCESS, 0, true, 0.1, 0, 0, 0, NULL },
		/* modelUsage wins over usage; entries that are not objects
		   are counted */
		{ "{\"type\":\"result\",\"is_error\":false,\"usage\":{"
		  "\"input_tokens\":1},\"modelUsage\":{\"a\":{\"inputTokens\":"
		  "5,\"outputTokens\":2},\"b\":{\"inputTokens\":6},\"c\":3}}",
		  AGENT_RESULT_SUCCESS, 0, false, 0, 11, 2, 1, NULL },
		{ "{\"type\":\"result\",\"is_error\":true,\"errors\":[\"one\","
		  "2,\"two\"],\"result\":\"ignored\"}",
		  AGENT_RESULT_ERROR, 0, false, 0, 0, 0, 0, "one; two" },
		{ "{\"type\":\"result\",\"is_error\":true,\"result\":null,"
		  "\"api_error_status\":\"500\"}",
		  AGENT_RESULT_ERROR, 0, false, 0, 0, 0, 1, "error" },
		{ "{\"type\":\"result\",\"is_error\":true,\"session_id\":7,"
		  "\"result\":{\"nested\":1}}",
		  AGENT_RESULT_ERROR, 0, false, 0, 0, 0, 2, "error" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];
		struct cb cb = { 0 };
		struct agent_stream *p = new_parser(
			AGENT_FORMAT_CLAUDE_STREAM_JSON, NULL, &cb);
		const struct agent_outcome *o;

		agent_stream_feed(p, r->line, strlen(r->line), 1);
		agent_stream_feed(p, "\n", 1, 2);
		o = agent_stream_outcome(p);
		ok(o->final_seen && cb.calls == 1, "row %zu: final", i);
		is_str(agent_result_name(o->result),
		       agent_result_name(r->result), "row %zu: outcome", i);
		is_int(o->turns, r->turns, "row %zu: turns", i);
		ok(o->has_cost == r->has_cost && o->cost_usd == r->cost,
		   "row %zu: cost %d %g", i, o->has_cost, o->cost_usd);
		ok(o->tokens.input == r->input && o->tokens.output == r->output,
		   "row %zu: tokens %" PRIu64 " %" PRIu64, i, o->tokens.input,
		   o->tokens.output);
		is_int(o->bad_fields, r->bad_fields, "row %zu: bad fields", i);
		is_str(o->error, r->error, "row %zu: error", i);
		agent_stream_free(p);
	}
}

static void feed_lines(struct agent_stream *p, const char *const *lines,
		       size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		agent_stream_feed(p, lines[i], strlen(lines[i]), (int64_t)i);
		agent_stream_feed(p, "\n", 1, (int64_t)i);
	}
}

static void test_codex_usage(void)
{
	static const char *const lines[] = {
		"{\"type\":\"thread.started\",\"thread_id\":\"t1\"}",
		"{\"type\":\"turn.started\"}",
		"{\"type\":\"item.completed\",\"item\":{\"type\":\"error\","
		"\"message\":\"model rerouted\"}}",
		"{\"type\":\"item.completed\",\"item\":{\"type\":"
		"\"mcp_tool_call\"}}",
		"{\"type\":\"item.completed\",\"item\":{\"type\":"
		"\"web_search\"}}",
		"{\"type\":\"item.completed\",\"item\":{\"type\":\"reasoning\","
		"\"text\":\"hmm\"}}",
		"{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":100,"
		"\"cached_input_tokens\":150,\"output_tokens\":10,"
		"\"reasoning_output_tokens\":20}}",
		"{\"type\":\"turn.started\"}",
		"{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":1000,"
		"\"cached_input_tokens\":200,\"cache_write_input_tokens\":300,"
		"\"output_tokens\":40,\"reasoning_output_tokens\":5}}",
	};
	struct cb cb = { 0 };
	struct agent_stream *p = new_parser(AGENT_FORMAT_CODEX_JSONL,
					    "gpt-6.2-sol", &cb);
	const struct agent_outcome *o;

	feed_lines(p, lines, ARRAY_SIZE(lines));
	o = agent_stream_outcome(p);
	ok(o->final_seen && cb.calls == 1, "two turns: on_final once");
	is_int(o->turns, 2, "turns counts turn.completed");
	is_int(o->tool_calls, 2, "mcp_tool_call and web_search count");
	is_str(o->warning, "model rerouted", "an error item is a warning");
	is_int(o->retries, 0, "an error item is not a retry");
	/* Turn 1: cached > input gives input 0; reasoning > output clamps. */
	ok(o->tokens.input == 500 && o->tokens.cache_read == 350 &&
		   o->tokens.cache_write == 300 && o->tokens.output == 50 &&
		   o->tokens.reasoning == 15,
	   "usage summed over turns: in=%" PRIu64 " cr=%" PRIu64
	   " cw=%" PRIu64 " out=%" PRIu64 " reas=%" PRIu64,
	   o->tokens.input, o->tokens.cache_read, o->tokens.cache_write,
	   o->tokens.output, o->tokens.reasoning);
	is_int(o->bad_fields, 1, "reasoning above output is counted");
	is_str(o->model, "gpt-6.2-sol", "the caller's model");
	is_str(o->session_id, "t1", "thread id");
	agent_stream_free(p);
}

static void test_claude_models(void)
{
	static const char *const lines[] = {
		"{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s\","
		"\"model\":\"claude-sonnet-5-5\"}",
		/* A subagent's text is not the final text. */
		"{\"type\":\"assistant\",\"parent_tool_use_id\":\"toolu_1\","
		"\"message\":{\"id\":\"m2\",\"model\":\"claude-haiku-5-5\","
		"\"content\":[{\"type\":\"text\",\"text\":\"sub\"}],"
		"\"usage\":{\"input_tokens\":7}}}",
		"{\"type\":\"assistant\",\"message\":{\"id\":\"m1\",\"model\":"
		"\"claude-sonnet-5-5\",\"content\":[{\"type\":\"text\","
		"\"text\":\"Hello \"}],\"usage\":{\"input_tokens\":5}}}",
		"{\"type\":\"assistant\",\"message\":{\"id\":\"m1\",\"model\":"
		"\"claude-sonnet-5-5\",\"content\":[{\"type\":\"text\","
		"\"text\":\"world\"}],\"usage\":{\"input_tokens\":5}}}",
		"{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,"
		"\"modelUsage\":{\"claude-haiku-5-5\":{\"inputTokens\":7,"
		"\"costUSD\":0.001},\"claude-sonnet-5-5\":{\"inputTokens\":10,"
		"\"outputTokens\":4,\"cacheCreationInputTokens\":6,"
		"\"cacheCreationEphemeral1hInputTokens\":9,"
		"\"costUSD\":0.002}}}",
	};
	struct cb cb = { 0 };
	struct agent_stream *p =
		new_parser(AGENT_FORMAT_CLAUDE_STREAM_JSON, "hint", &cb);
	const struct agent_outcome *o;

	feed_lines(p, lines, 4);
	o = agent_stream_outcome(p);
	is_str(o->model, "claude-sonnet-5-5", "init's model beats the hint");
	is_int(o->model_requests, 2, "two message ids");
	is_int(o->tokens.input, 12, "running estimate: 7 + 5");
	is_str(o->final_text.buf, "Hello world",
	       "one message's text over two lines, without the subagent's");
	feed_lines(p, lines + 4, 1);
	is_int(o->nr_models, 2, "two models");
	ok(o->nr_models == 2 &&
		   !strcmp(o->models[0].model, "claude-haiku-5-5") &&
		   o->models[0].tokens.input == 7 && o->models[0].has_cost &&
		   !strcmp(o->models[1].model, "claude-sonnet-5-5") &&
		   o->models[1].tokens.cache_write_1h == 6,
	   "per model, 1h writes clamped to the writes");
	ok(o->tokens.input == 17 && o->tokens.output == 4 &&
		   !o->tokens_partial,
	   "totals from modelUsage");
	is_int(o->bad_fields, 1, "the clamp is counted");
	agent_stream_free(p);
}

static void test_formats(void)
{
	enum agent_format f;
	struct cb cb = { 0 };
	struct agent_stream *p;
	struct strbuf sb = STRBUF_INIT;

	ok(!agent_format_from_name("claude-stream-json", &f) &&
		   f == AGENT_FORMAT_CLAUDE_STREAM_JSON,
	   "claude-stream-json");
	ok(!agent_format_from_name("codex-jsonl", &f) &&
		   f == AGENT_FORMAT_CODEX_JSONL,
	   "codex-jsonl");
	ok(!agent_format_from_name("none", &f) && f == AGENT_FORMAT_NONE,
	   "none");
	ok(agent_format_from_name("claude", &f) < 0 &&
		   agent_format_from_name("", &f) < 0,
	   "unknown names fail");
	is_str(agent_format_name(AGENT_FORMAT_CODEX_JSONL), "codex-jsonl",
	       "name of a format");

	read_fixture(&sb, "claude-edit.out");
	p = new_parser(AGENT_FORMAT_NONE, "m", &cb);
	feed(p, &cb, sb.buf, sb.len, 100, 0);
	agent_stream_finish(p, 1);
	ok(!agent_stream_final_seen(p) && !cb.calls &&
		   !agent_stream_outcome(p)->events &&
		   agent_stream_outcome(p)->bytes == sb.len,
	   "none: bytes counted, nothing parsed");
	agent_stream_free(p);

	/* The wrong format: Claude's lines mean nothing to Codex's. */
	p = new_parser(AGENT_FORMAT_CODEX_JSONL, NULL, &cb);
	feed(p, &cb, sb.buf, sb.len, sb.len, 0);
	ok(!agent_stream_final_seen(p) &&
		   agent_stream_outcome(p)->ignored_lines == 12,
	   "codex-jsonl ignores claude's 12 lines");
	agent_stream_free(p);
	agent_stream_free(NULL);
	strbuf_release(&sb);
}

int main(void)
{
	/* First, while the process is small. */
	test_long_line();
	test_many_values();
	test_fixtures();
	test_garbage();
	test_big_text();
	test_truncated();
	test_result_fields();
	test_codex_usage();
	test_claude_models();
	test_formats();
	return done_testing();
}
