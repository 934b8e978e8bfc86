#ifndef AGENT_STREAM_H
#define AGENT_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/*
 * What a coding agent's CLI says about its own run, read off its output
 * as it streams: an incremental parser of the JSON lines that Claude Code
 * (`claude -p --output-format stream-json --verbose`) and Codex CLI
 * (`codex exec --json`) print, kept in a struct agent_outcome. The formats
 * as they were measured (Claude Code 2.1.332, Codex 0.171.0) are in
 * tests/model-server/README.md; real captures in tests/fixtures/agents/.
 *
 * Feed it the task's output (stdout and stderr, one stream, in any
 * chunks: a line may arrive over many calls). Each complete line that
 * starts with '{' is parsed with cJSON; every other line (stderr noise,
 * "Reading prompt from stdin...") is counted and ignored, as is a line
 * that is not a JSON object or names no known event. A line longer than
 * AGENT_STREAM_MAX_LINE is skipped as it streams, without being kept, and
 * so is one that would make more than AGENT_STREAM_MAX_NODES JSON values
 * (counted before parsing: only tool results get near it). So whatever
 * the agent prints, a parser holds at most the line (alloc up to about
 * 1.5 x AGENT_STREAM_MAX_LINE), the bounded strings of the outcome, and,
 * while one line is parsed, its tree (under 64 bytes a value plus the
 * line's strings).
 *
 * Thread-safety: none. One parser per task, fed and read by one thread.
 * Nothing here prints, exits or reads a clock: the caller passes the
 * time to every call.
 */

/* A longer line is skipped (counted in skipped_lines). */
#define AGENT_STREAM_MAX_LINE (4u << 20)
/* So is a line of more JSON values (commas, colons, brackets) than this. */
#define AGENT_STREAM_MAX_NODES (128u << 10)
/* final_text keeps the last this many bytes. */
#define AGENT_FINAL_TEXT_MAX (64u << 10)
/* error and warning keep the first this many bytes. */
#define AGENT_ERROR_MAX 4096
/* outcome.models[] holds at most this many models. */
#define AGENT_MAX_MODELS 8

enum agent_format {
	AGENT_FORMAT_NONE = 0, /* parse nothing; bytes counted */
	AGENT_FORMAT_CLAUDE_STREAM_JSON,
	AGENT_FORMAT_CODEX_JSONL,
};

/*
 * "none", "claude-stream-json", "codex-jsonl" <-> the enum. from_name
 * returns 0, or -1 for an unknown name.
 */
int agent_format_from_name(const char *name, enum agent_format *out);
const char *agent_format_name(enum agent_format f);

enum agent_result {
	AGENT_RESULT_NONE = 0,	 /* no final result seen (yet) */
	AGENT_RESULT_SUCCESS,	 /* the agent finished its task */
	AGENT_RESULT_ERROR,	 /* an API error, turn.failed, ... */
	AGENT_RESULT_MAX_TURNS,	 /* its own turn limit stopped it */
	AGENT_RESULT_MAX_BUDGET, /* its own cost limit stopped it */
};

/* "none", "success", "error", "max_turns", "max_budget". */
const char *agent_result_name(enum agent_result r);

/*
 * Token counts as disjoint sets, so that a cost is the sum of each count
 * times its price whichever CLI reported it (Anthropic's convention):
 *
 *   input        input tokens neither read from nor written to a cache
 *   cache_read   input tokens read from the prompt cache
 *   cache_write  input tokens written to the prompt cache
 *   output       output tokens (reasoning/thinking included)
 *
 * and two subsets, for the record and for pricing:
 *
 *   cache_write_1h  the part of cache_write with a 1-hour lifetime
 *                   (Claude prices it higher than the 5-minute writes)
 *   reasoning       the part of output spent reasoning (Codex)
 *
 * Codex reports OpenAI's convention, where input_tokens counts the whole
 * prompt: input is its input_tokens - cached_input_tokens -
 * cache_write_input_tokens (never below 0).
 */
struct agent_tokens {
	uint64_t input;
	uint64_t output;
	uint64_t cache_read;
	uint64_t cache_write;
	uint64_t cache_write_1h;
	uint64_t reasoning;
};

/* One model's share, as Claude's modelUsage reports it. */
struct agent_model_usage {
	char *model;
	struct agent_tokens tokens;
	bool has_cost;
	double cost_usd;
};

/*
 * The outcome, as far as the output went. Every string is owned by the
 * parser (valid until the next feed/finish/free call), NUL-terminated,
 * NULL when the CLI did not say, and bounded. What each field is, per CLI:
 *
 * final_seen, result: Claude's `result` line; Codex's first
 * turn.completed or turn.failed (codex exec runs one turn). For Claude,
 * `is_error` decides success, not `subtype`: an API failure is subtype
 * "success" with is_error true (-> ERROR); error_max_turns -> MAX_TURNS;
 * error_max_budget_usd -> MAX_BUDGET; any other error subtype -> ERROR.
 * Without a boolean is_error the subtype decides ("success" or ERROR).
 *
 * error: why it failed, when result is not SUCCESS. Claude: `errors[]`
 * joined with "; ", else `result` ("API Error: 500 ..."), else
 * terminal_reason, else subtype. Codex: turn.failed's error.message.
 * subtype, terminal_reason, api_error_status: Claude's fields as they are
 * (api_error_status 0 when null or absent). Codex: NULL, NULL, 0.
 * warning: the last retry the CLI reported, non-fatal unless no result
 * follows: Claude's system/api_retry ("api_retry 1/10: 529 overloaded"),
 * Codex's `error` events ("Reconnecting... 1/5 (...)") and error items.
 * retries: how many of those.
 *
 * turns: Claude's `num_turns` (its model round trips, counting the one a
 * --max-turns limit cut off: 3 for --max-turns 2). Codex prints no such
 * count: turns is the number of turn.completed and turn.failed events,
 * 1 for a `codex exec`. tool_calls is the comparable measure of work:
 * Claude's tool_use blocks, Codex's completed command_execution,
 * file_change, mcp_tool_call and web_search items.
 * model_requests: Claude only, the distinct assistant message ids (one
 * per model response; Claude's synthetic error messages are not counted).
 *
 * session_id: Claude's `session_id` (init line, then result);
 * Codex's thread.started thread_id.
 *
 * model: Claude's init `model`, else the modelUsage key with the most
 * tokens. Codex does not print its model (it is in config.toml or -c
 * model=): model is then the opts.model the caller gave, else NULL.
 * models[]: Claude's modelUsage, one entry per model (at most
 * AGENT_MAX_MODELS; models_truncated when there were more, and then only
 * the totals cover them all); empty for Codex.
 *
 * tokens, has_tokens: Claude: the sum of modelUsage at the result (it
 * counts every request, while result.usage has been seen to leave out the
 * last one when --max-budget-usd stopped the run), else result.usage;
 * before the result, a running estimate from the assistant lines
 * (tokens_partial: their usage is the stream's message_start, whose
 * output_tokens is 1). Codex: turn.completed usage summed over turns.
 *
 * has_cost, cost_usd: Claude's total_cost_usd. Codex reports none.
 *
 * final_text: Claude's `result` when it is a string, else the text of the
 * last assistant message; Codex's last agent_message. The last
 * AGENT_FINAL_TEXT_MAX bytes (cut at a UTF-8 boundary), with
 * final_text_truncated set when something was cut.
 *
 * last_event_ms: the now_ms of the call in which the last event line
 * ended (for idle detection); last_output_ms the same for any byte; both
 * -1 before the first.
 *
 * Counters: events (lines parsed as a known event), ignored_lines (not
 * JSON, or not an object, or an unknown type), skipped_lines (too long,
 * or too many values),
 * bad_fields (a known field of the wrong type or out of range: ignored),
 * bytes (everything fed).
 */
struct agent_outcome {
	enum agent_format format;
	bool final_seen;
	enum agent_result result;
	char *error;
	char *warning;
	char *subtype;
	char *terminal_reason;
	int api_error_status;
	uint64_t retries;

	uint64_t turns;
	uint64_t tool_calls;
	uint64_t model_requests;

	char *session_id;
	char *model;
	struct agent_model_usage models[AGENT_MAX_MODELS];
	size_t nr_models;
	bool models_truncated; /* more models than fit: totals only */

	bool has_tokens;
	bool tokens_partial;
	struct agent_tokens tokens;
	bool has_cost;
	double cost_usd;

	struct strbuf final_text;
	bool final_text_truncated;

	int64_t last_event_ms;
	int64_t last_output_ms;

	uint64_t events;
	uint64_t ignored_lines;
	uint64_t skipped_lines;
	uint64_t bad_fields;
	uint64_t bytes;
};

struct agent_stream_opts {
	enum agent_format format;
	/*
	 * The model the caller started the agent with (the plan's), used
	 * when the output names none (Codex). Copied; may be NULL.
	 */
	const char *model;
	/*
	 * Called once, from inside agent_stream_feed() or _finish(), when
	 * the final result is first seen (the runner gives the process a
	 * short grace after it, then ends it). outcome is the parser's,
	 * borrowed for the call; the callback must not feed, finish or
	 * free the parser. May be NULL.
	 */
	void (*on_final)(void *ctx, const struct agent_outcome *outcome);
	void *ctx;
};

struct agent_stream;

/* A new parser; free it with agent_stream_free(). Never fails. */
struct agent_stream *agent_stream_new(const struct agent_stream_opts *opts);
void agent_stream_free(struct agent_stream *p);

/*
 * Feed len bytes of output, received at now_ms (any clock the caller
 * keeps, e.g. time_mono_ms()). Lines completed by these bytes are parsed
 * now; the rest waits for more. Never fails: bad input is counted, not
 * reported.
 */
void agent_stream_feed(struct agent_stream *p, const void *buf, size_t len,
		       int64_t now_ms);
/*
 * End of output: a last line without its newline is parsed as if it had
 * one (a line cut short does not parse and is counted as ignored). Later
 * feeds start a new line.
 */
void agent_stream_finish(struct agent_stream *p, int64_t now_ms);

/* The outcome so far, owned by the parser. */
const struct agent_outcome *agent_stream_outcome(const struct agent_stream *p);
/* outcome->final_seen. */
bool agent_stream_final_seen(const struct agent_stream *p);

#endif
