#include "runner.h"
#include "agent-stream.h"

#include <cJSON.h>
#include <math.h>

/*
 * Lines are assembled in p->line up to AGENT_STREAM_MAX_LINE; a longer
 * one switches to skipping mode until its newline, so nothing past the
 * bound is ever stored. Each complete line is parsed into a cJSON tree,
 * read, and freed at once: no tree outlives the line.
 */

/* Assistant message ids remembered to count each model response once. */
#define RECENT_IDS 16
#define ID_MAX 128

struct agent_stream {
	struct agent_outcome o;
	struct strbuf line;
	bool skipping;
	bool fired;
	void (*on_final)(void *ctx, const struct agent_outcome *outcome);
	void *ctx;

	char recent_ids[RECENT_IDS][ID_MAX];
	size_t next_id;
	char text_id[ID_MAX]; /* message whose text is in final_text */
	struct agent_tokens live;
};

static const char *const format_names[] = {
	[AGENT_FORMAT_NONE] = "none",
	[AGENT_FORMAT_CLAUDE_STREAM_JSON] = "claude-stream-json",
	[AGENT_FORMAT_CODEX_JSONL] = "codex-jsonl",
};

int agent_format_from_name(const char *name, enum agent_format *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(format_names); i++) {
		if (!strcmp(name, format_names[i])) {
			*out = (enum agent_format)i;
			return 0;
		}
	}
	return -1;
}

const char *agent_format_name(enum agent_format f)
{
	if ((size_t)f >= ARRAY_SIZE(format_names))
		BUG("agent format %d", (int)f);
	return format_names[f];
}

const char *agent_result_name(enum agent_result r)
{
	switch (r) {
	case AGENT_RESULT_NONE:
		return "none";
	case AGENT_RESULT_SUCCESS:
		return "success";
	case AGENT_RESULT_ERROR:
		return "error";
	case AGENT_RESULT_MAX_TURNS:
		return "max_turns";
	case AGENT_RESULT_MAX_BUDGET:
		return "max_budget";
	}
	BUG("agent result %d", (int)r);
}

/* The length of s cut to at most max bytes, not inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

static void set_str(char **dst, const char *s, size_t max)
{
	free(*dst);
	*dst = s ? xstrndup(s, utf8_cut(s, strlen(s), max)) : NULL;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void tokens_add(struct agent_tokens *t, const struct agent_tokens *d)
{
	t->input = sat_add(t->input, d->input);
	t->output = sat_add(t->output, d->output);
	t->cache_read = sat_add(t->cache_read, d->cache_read);
	t->cache_write = sat_add(t->cache_write, d->cache_write);
	t->cache_write_1h = sat_add(t->cache_write_1h, d->cache_write_1h);
	t->reasoning = sat_add(t->reasoning, d->reasoning);
}

/*
 * A token count: an integral number in [0, 2^53] (5000 and 5000.0 alike).
 * Returns 1 and sets *out, 0 when absent or null, -1 (counted in
 * bad_fields) when of the wrong type or out of range.
 */
static int get_count(struct agent_stream *p, const cJSON *obj, const char *key,
		     uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	double d;

	if (!v || cJSON_IsNull(v))
		return 0;
	d = cJSON_IsNumber(v) ? v->valuedouble : -1;
	if (!isfinite(d) || d < 0 || d > 9007199254740992.0 || d != floor(d)) {
		p->o.bad_fields++;
		return -1;
	}
	*out = (uint64_t)d;
	return 1;
}

/* A cost in USD: finite, in [0, 1e12]. Same returns as get_count. */
static int get_usd(struct agent_stream *p, const cJSON *obj, const char *key,
		   double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	double d;

	if (!v || cJSON_IsNull(v))
		return 0;
	d = cJSON_IsNumber(v) ? v->valuedouble : -1;
	if (!isfinite(d) || d < 0 || d > 1e12) {
		p->o.bad_fields++;
		return -1;
	}
	*out = d;
	return 1;
}

/* A string field, NULL when absent, null, or not a string (counted). */
static const char *get_str(struct agent_stream *p, const cJSON *obj,
			   const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsString(v) || !v->valuestring) {
		p->o.bad_fields++;
		return NULL;
	}
	return v->valuestring;
}

static const cJSON *get_obj(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsObject(v) ? v : NULL;
}

/* Keep the last AGENT_FINAL_TEXT_MAX bytes, starting at a character. */
static void text_trim(struct agent_stream *p)
{
	struct strbuf *sb = &p->o.final_text;
	size_t drop;

	drop = sb->len > AGENT_FINAL_TEXT_MAX ? sb->len - AGENT_FINAL_TEXT_MAX
					      : 0;
	if (!drop && !p->o.final_text_truncated)
		return;
	while (drop < sb->len && ((unsigned char)sb->buf[drop] & 0xC0) == 0x80)
		drop++;
	memmove(sb->buf, sb->buf + drop, sb->len - drop);
	strbuf_setlen(sb, sb->len - drop);
	p->o.final_text_truncated = true;
}

static void text_append(struct agent_stream *p, const char *s)
{
	size_t len = strlen(s);

	/* Only the tail of a huge string can survive the trim. */
	if (len > AGENT_FINAL_TEXT_MAX) {
		strbuf_reset(&p->o.final_text);
		s += len - AGENT_FINAL_TEXT_MAX;
		len = AGENT_FINAL_TEXT_MAX;
		p->o.final_text_truncated = true;
	}
	strbuf_add(&p->o.final_text, s, len);
	text_trim(p);
}

static void text_set(struct agent_stream *p, const char *s)
{
	strbuf_reset(&p->o.final_text);
	p->o.final_text_truncated = false;
	text_append(p, s);
}

static void fire_final(struct agent_stream *p)
{
	p->o.final_seen = true;
	if (p->fired)
		return;
	p->fired = true;
	if (p->on_final)
		p->on_final(p->ctx, &p->o);
}

/* Claude */

static bool seen_id(struct agent_stream *p, const char *id)
{
	for (size_t i = 0; i < RECENT_IDS; i++)
		if (!strcmp(p->recent_ids[i], id))
			return true;
	return false;
}

static void remember_id(struct agent_stream *p, const char *id)
{
	snprintf(p->recent_ids[p->next_id], ID_MAX, "%s", id);
	p->next_id = (p->next_id + 1) % RECENT_IDS;
}

/*
 * An Anthropic usage object (result.usage, or an assistant message's):
 * its fields are disjoint already.
 */
static void anthropic_usage(struct agent_stream *p, const cJSON *u,
			    struct agent_tokens *t)
{
	const cJSON *cc = get_obj(u, "cache_creation");
	const cJSON *od = get_obj(u, "output_tokens_details");

	memset(t, 0, sizeof(*t));
	get_count(p, u, "input_tokens", &t->input);
	get_count(p, u, "output_tokens", &t->output);
	get_count(p, u, "cache_read_input_tokens", &t->cache_read);
	get_count(p, u, "cache_creation_input_tokens", &t->cache_write);
	if (cc)
		get_count(p, cc, "ephemeral_1h_input_tokens",
			  &t->cache_write_1h);
	if (od)
		get_count(p, od, "thinking_tokens", &t->reasoning);
}

static void clamp_subsets(struct agent_stream *p, struct agent_tokens *t)
{
	if (t->cache_write_1h > t->cache_write) {
		p->o.bad_fields++;
		t->cache_write_1h = t->cache_write;
	}
	if (t->reasoning > t->output) {
		p->o.bad_fields++;
		t->reasoning = t->output;
	}
}

static void claude_assistant(struct agent_stream *p, const cJSON *j)
{
	const cJSON *msg = get_obj(j, "message");
	const cJSON *content, *block, *usage;
	const char *id, *model;
	bool main_thread;

	if (!msg)
		return;
	id = get_str(p, msg, "id");
	model = get_str(p, msg, "model");
	/* Subagents' messages carry the Task tool call they serve. */
	main_thread = !cJSON_IsString(
		cJSON_GetObjectItemCaseSensitive(j, "parent_tool_use_id"));

	if (id && strlen(id) < ID_MAX && !seen_id(p, id) &&
	    !(model && !strcmp(model, "<synthetic>"))) {
		remember_id(p, id);
		p->o.model_requests++;
		usage = get_obj(msg, "usage");
		if (usage && !p->o.final_seen) {
			struct agent_tokens t;

			anthropic_usage(p, usage, &t);
			clamp_subsets(p, &t);
			tokens_add(&p->live, &t);
			p->o.tokens = p->live;
			p->o.has_tokens = true;
			p->o.tokens_partial = true;
		}
	}

	content = cJSON_GetObjectItemCaseSensitive(msg, "content");
	cJSON_ArrayForEach(block, content)
	{
		const char *type = get_str(p, block, "type");
		const char *text;

		if (!type)
			continue;
		if (!strcmp(type, "tool_use") ||
		    !strcmp(type, "server_tool_use")) {
			p->o.tool_calls++;
		} else if (!strcmp(type, "text") && main_thread &&
			   (text = get_str(p, block, "text"))) {
			const char *key = id ? id : "";

			/* The text of one message may span many lines. */
			if (strncmp(p->text_id, key, ID_MAX)) {
				snprintf(p->text_id, ID_MAX, "%s", key);
				text_set(p, text);
			} else {
				text_append(p, text);
			}
		}
	}
}

static void claude_system(struct agent_stream *p, const cJSON *j)
{
	const char *sub = get_str(p, j, "subtype");
	const char *s;

	if (!sub)
		return;
	if (!strcmp(sub, "init")) {
		if ((s = get_str(p, j, "session_id")))
			set_str(&p->o.session_id, s, 256);
		if ((s = get_str(p, j, "model")))
			set_str(&p->o.model, s, 256);
	} else if (!strcmp(sub, "api_retry")) {
		uint64_t attempt = 0, max = 0, status = 0;
		const char *e = get_str(p, j, "error");
		char *w;

		get_count(p, j, "attempt", &attempt);
		get_count(p, j, "max_retries", &max);
		get_count(p, j, "error_status", &status);
		p->o.retries++;
		w = xstrfmt("api_retry %" PRIu64 "/%" PRIu64 ": %" PRIu64
			    " %s",
			    attempt, max, status, e ? e : "error");
		set_str(&p->o.warning, w, AGENT_ERROR_MAX);
		free(w);
	}
}

/* modelUsage -> p->o.models[] and the totals; false when it is empty. */
static bool claude_model_usage(struct agent_stream *p, const cJSON *mu)
{
	const cJSON *m;
	struct agent_tokens total = { 0 };
	uint64_t best = 0;
	const char *best_name = NULL;
	size_t n = 0;

	for (size_t i = 0; i < p->o.nr_models; i++)
		free(p->o.models[i].model);
	memset(p->o.models, 0, sizeof(p->o.models));
	p->o.nr_models = 0;
	p->o.models_truncated = false;

	cJSON_ArrayForEach(m, mu)
	{
		struct agent_tokens t = { 0 };
		uint64_t sum;
		double cost = 0;
		int has_cost;

		if (!cJSON_IsObject(m) || !m->string) {
			p->o.bad_fields++;
			continue;
		}
		get_count(p, m, "inputTokens", &t.input);
		get_count(p, m, "outputTokens", &t.output);
		get_count(p, m, "cacheReadInputTokens", &t.cache_read);
		get_count(p, m, "cacheCreationInputTokens", &t.cache_write);
		get_count(p, m, "cacheCreationEphemeral1hInputTokens",
			  &t.cache_write_1h);
		get_count(p, m, "thinkingTokens", &t.reasoning);
		clamp_subsets(p, &t);
		has_cost = get_usd(p, m, "costUSD", &cost);
		tokens_add(&total, &t);
		n++;
		sum = sat_add(sat_add(t.input, t.output),
			      sat_add(t.cache_read, t.cache_write));
		if (!best_name || sum > best) {
			best = sum;
			best_name = m->string;
		}
		if (p->o.nr_models == AGENT_MAX_MODELS) {
			p->o.models_truncated = true;
			continue;
		}
		set_str(&p->o.models[p->o.nr_models].model, m->string, 256);
		p->o.models[p->o.nr_models].tokens = t;
		p->o.models[p->o.nr_models].has_cost = has_cost > 0;
		p->o.models[p->o.nr_models].cost_usd = cost;
		p->o.nr_models++;
	}
	if (!n)
		return false;
	p->o.tokens = total;
	if (!p->o.model && best_name)
		set_str(&p->o.model, best_name, 256);
	return true;
}

static void claude_result(struct agent_stream *p, const cJSON *j)
{
	const cJSON *is_error =
		cJSON_GetObjectItemCaseSensitive(j, "is_error");
	const cJSON *errors = cJSON_GetObjectItemCaseSensitive(j, "errors");
	const cJSON *usage = get_obj(j, "usage");
	const cJSON *mu = get_obj(j, "modelUsage");
	const char *sub = get_str(p, j, "subtype");
	const char *res = get_str(p, j, "result");
	const char *s;
	uint64_t n;
	double cost;
	bool err;

	set_str(&p->o.subtype, sub, 256);
	if (cJSON_IsBool(is_error)) {
		err = cJSON_IsTrue(is_error);
	} else {
		/* Without is_error, the subtype is all there is. */
		if (is_error)
			p->o.bad_fields++;
		err = !sub || strcmp(sub, "success");
	}
	if (!err)
		p->o.result = AGENT_RESULT_SUCCESS;
	else if (sub && !strcmp(sub, "error_max_turns"))
		p->o.result = AGENT_RESULT_MAX_TURNS;
	else if (sub && !strcmp(sub, "error_max_budget_usd"))
		p->o.result = AGENT_RESULT_MAX_BUDGET;
	else
		p->o.result = AGENT_RESULT_ERROR;

	if (get_count(p, j, "num_turns", &n) > 0)
		p->o.turns = n;
	if ((s = get_str(p, j, "session_id")))
		set_str(&p->o.session_id, s, 256);
	set_str(&p->o.terminal_reason, get_str(p, j, "terminal_reason"), 256);
	p->o.api_error_status = 0;
	if (get_count(p, j, "api_error_status", &n) > 0 && n < 1000)
		p->o.api_error_status = (int)n;
	p->o.has_cost = get_usd(p, j, "total_cost_usd", &cost) > 0;
	p->o.cost_usd = p->o.has_cost ? cost : 0;

	if (mu && claude_model_usage(p, mu)) {
		p->o.has_tokens = true;
		p->o.tokens_partial = false;
	} else if (usage) {
		anthropic_usage(p, usage, &p->o.tokens);
		clamp_subsets(p, &p->o.tokens);
		p->o.has_tokens = true;
		p->o.tokens_partial = false;
	}
	if (res)
		text_set(p, res);

	free(p->o.error);
	p->o.error = NULL;
	if (err) {
		struct strbuf sb = STRBUF_INIT;
		const cJSON *e;

		cJSON_ArrayForEach(e, errors)
		{
			if (!cJSON_IsString(e))
				continue;
			if (sb.len)
				strbuf_addstr(&sb, "; ");
			strbuf_addstr(&sb, e->valuestring);
			if (sb.len > AGENT_ERROR_MAX)
				break;
		}
		if (!sb.len)
			strbuf_addstr(&sb, res ? res
					   : p->o.terminal_reason
						   ? p->o.terminal_reason
					   : sub ? sub
						 : "error");
		set_str(&p->o.error, sb.buf, AGENT_ERROR_MAX);
		strbuf_release(&sb);
	}
	fire_final(p);
}

static bool claude_event(struct agent_stream *p, const char *type,
			 const cJSON *j)
{
	if (!strcmp(type, "assistant"))
		claude_assistant(p, j);
	else if (!strcmp(type, "system"))
		claude_system(p, j);
	else if (!strcmp(type, "result"))
		claude_result(p, j);
	else if (strcmp(type, "user") && strcmp(type, "stream_event"))
		return false;
	return true;
}

/* Codex */

static void codex_usage(struct agent_stream *p, const cJSON *u)
{
	struct agent_tokens t = { 0 };
	uint64_t in = 0, cached = 0, cw = 0;

	get_count(p, u, "input_tokens", &in);
	get_count(p, u, "cached_input_tokens", &cached);
	get_count(p, u, "cache_write_input_tokens", &cw);
	get_count(p, u, "output_tokens", &t.output);
	get_count(p, u, "reasoning_output_tokens", &t.reasoning);
	/* OpenAI's input_tokens is the whole prompt, cached parts too. */
	t.cache_read = cached;
	t.cache_write = cw;
	t.input = in > sat_add(cached, cw) ? in - cached - cw : 0;
	clamp_subsets(p, &t);
	tokens_add(&p->o.tokens, &t);
	p->o.has_tokens = true;
}

static void codex_item(struct agent_stream *p, const cJSON *j)
{
	const cJSON *item = get_obj(j, "item");
	const char *type, *s;

	if (!item || !(type = get_str(p, item, "type")))
		return;
	if (!strcmp(type, "agent_message")) {
		if ((s = get_str(p, item, "text")))
			text_set(p, s);
	} else if (!strcmp(type, "command_execution") ||
		   !strcmp(type, "file_change") ||
		   !strcmp(type, "mcp_tool_call") ||
		   !strcmp(type, "web_search")) {
		p->o.tool_calls++;
	} else if (!strcmp(type, "error")) {
		if ((s = get_str(p, item, "message")))
			set_str(&p->o.warning, s, AGENT_ERROR_MAX);
	}
}

static bool codex_event(struct agent_stream *p, const char *type,
			const cJSON *j)
{
	const cJSON *o;
	const char *s;

	if (!strcmp(type, "thread.started")) {
		if ((s = get_str(p, j, "thread_id")))
			set_str(&p->o.session_id, s, 256);
	} else if (!strcmp(type, "item.completed")) {
		codex_item(p, j);
	} else if (!strcmp(type, "turn.completed")) {
		p->o.turns++;
		if ((o = get_obj(j, "usage")))
			codex_usage(p, o);
		p->o.result = AGENT_RESULT_SUCCESS;
		free(p->o.error);
		p->o.error = NULL;
		fire_final(p);
	} else if (!strcmp(type, "turn.failed")) {
		p->o.turns++;
		p->o.result = AGENT_RESULT_ERROR;
		o = get_obj(j, "error");
		s = o ? get_str(p, o, "message") : NULL;
		set_str(&p->o.error, s ? s : "turn failed", AGENT_ERROR_MAX);
		fire_final(p);
	} else if (!strcmp(type, "error")) {
		p->o.retries++;
		if ((s = get_str(p, j, "message")))
			set_str(&p->o.warning, s, AGENT_ERROR_MAX);
	} else if (strcmp(type, "turn.started") &&
		   strcmp(type, "item.started") &&
		   strcmp(type, "item.updated")) {
		return false;
	}
	return true;
}

/*
 * An upper bound on the values cJSON would allocate for s[0..len): the
 * commas, colons and brackets outside strings, plus one.
 */
static size_t json_nodes(const char *s, size_t len)
{
	size_t n = 1;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == ',' || c == ':' || c == '[' || c == '{') {
			n++;
		}
	}
	return n;
}

static void parse_line(struct agent_stream *p, const char *s, size_t len,
		       int64_t now_ms)
{
	const char *end = NULL;
	cJSON *j = NULL;
	const cJSON *type;
	bool known = false;

	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len &&
	       (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (!len || *s != '{')
		goto out;
	/* A tree of millions of tiny values would take 64 bytes each. */
	if (len > 4096 && json_nodes(s, len) > AGENT_STREAM_MAX_NODES) {
		p->o.skipped_lines++;
		return;
	}
	j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (!j || !cJSON_IsObject(j) || end != s + len)
		goto out;
	type = cJSON_GetObjectItemCaseSensitive(j, "type");
	if (!cJSON_IsString(type))
		goto out;
	if (p->o.format == AGENT_FORMAT_CLAUDE_STREAM_JSON)
		known = claude_event(p, type->valuestring, j);
	else if (p->o.format == AGENT_FORMAT_CODEX_JSONL)
		known = codex_event(p, type->valuestring, j);
out:
	if (known) {
		p->o.events++;
		p->o.last_event_ms = now_ms;
	} else {
		p->o.ignored_lines++;
	}
	cJSON_Delete(j);
}

static void end_line(struct agent_stream *p, int64_t now_ms)
{
	parse_line(p, p->line.buf, p->line.len, now_ms);
	/* Do not keep a big buffer around for the next short lines. */
	if (p->line.alloc > (1u << 20))
		strbuf_release(&p->line);
	else
		strbuf_reset(&p->line);
}

struct agent_stream *agent_stream_new(const struct agent_stream_opts *opts)
{
	struct agent_stream *p = xcalloc(1, sizeof(*p));

	p->o.format = opts->format;
	strbuf_init(&p->o.final_text, 0);
	strbuf_init(&p->line, 0);
	p->o.last_event_ms = -1;
	p->o.last_output_ms = -1;
	p->on_final = opts->on_final;
	p->ctx = opts->ctx;
	if (opts->model)
		set_str(&p->o.model, opts->model, 256);
	return p;
}

void agent_stream_free(struct agent_stream *p)
{
	if (!p)
		return;
	free(p->o.error);
	free(p->o.warning);
	free(p->o.subtype);
	free(p->o.terminal_reason);
	free(p->o.session_id);
	free(p->o.model);
	for (size_t i = 0; i < p->o.nr_models; i++)
		free(p->o.models[i].model);
	strbuf_release(&p->o.final_text);
	strbuf_release(&p->line);
	free(p);
}

void agent_stream_feed(struct agent_stream *p, const void *buf, size_t len,
		       int64_t now_ms)
{
	const char *s = buf, *end = s + len;

	p->o.bytes = sat_add(p->o.bytes, len);
	if (len)
		p->o.last_output_ms = now_ms;
	if (p->o.format == AGENT_FORMAT_NONE)
		return;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);

		if (p->skipping) {
			if (nl)
				p->skipping = false;
		} else if (p->line.len + n > AGENT_STREAM_MAX_LINE) {
			p->o.skipped_lines++;
			strbuf_release(&p->line);
			p->skipping = !nl;
		} else {
			strbuf_add(&p->line, s, n);
			if (nl)
				end_line(p, now_ms);
		}
		s += n + (nl ? 1 : 0);
	}
}

void agent_stream_finish(struct agent_stream *p, int64_t now_ms)
{
	if (p->line.len && !p->skipping)
		end_line(p, now_ms);
	strbuf_release(&p->line);
	p->skipping = false;
}

const struct agent_outcome *agent_stream_outcome(const struct agent_stream *p)
{
	return &p->o;
}

bool agent_stream_final_seen(const struct agent_stream *p)
{
	return p->o.final_seen;
}
