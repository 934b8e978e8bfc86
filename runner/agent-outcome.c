#include "runner.h"
#include "agent-outcome.h"
#include "agent-stream.h"
#include "mask.h"
#include "quote.h"
#include "run.h"

#include <cJSON.h>

static char *masked_dup(const struct mask *m, const char *s)
{
	if (!s)
		return NULL;
	return m ? mask_string(m, s) : xstrdup(s);
}

struct attempt_agent *attempt_agent_from(const struct agent_outcome *o,
					 const struct mask *m)
{
	struct attempt_agent *ag = xcalloc(1, sizeof(*ag));

	ag->format = agent_format_name(o->format);
	ag->result = agent_result_name(o->result);
	ag->error = masked_dup(m, o->error);
	ag->warning = masked_dup(m, o->warning);
	ag->subtype = masked_dup(m, o->subtype);
	ag->session_id = masked_dup(m, o->session_id);
	ag->model = masked_dup(m, o->model);
	if (o->final_text.len)
		ag->final_text = masked_dup(m, o->final_text.buf);
	ag->turns = o->turns;
	ag->tool_calls = o->tool_calls;
	ag->retries = o->retries;
	ag->has_tokens = o->has_tokens;
	ag->input_tokens = o->tokens.input;
	ag->output_tokens = o->tokens.output;
	ag->cache_read_tokens = o->tokens.cache_read;
	ag->cache_write_tokens = o->tokens.cache_write;
	ag->reasoning_tokens = o->tokens.reasoning;
	ag->has_cost = o->has_cost;
	ag->cost_usd = o->cost_usd;
	return ag;
}

void attempt_agent_judge(struct attempt_rec *a)
{
	const struct attempt_agent *ag = a->agent;
	char *r;

	if (!ag || a->status == TASK_TIMED_OUT || a->status == TASK_CANCELLED)
		return;
	if (strcmp(ag->result, "none") && strcmp(ag->result, "success")) {
		r = xstrdup(ag->error ? ag->error : ag->result);
		a->status = TASK_FAILED;
		free(a->reason);
		a->reason = r;
		return;
	}
	if (a->status == TASK_FAILED && !strcmp(ag->result, "none") &&
	    ag->warning && a->reason) {
		r = xstrfmt("%s (no result from the agent; its last retry: "
			    "%s)",
			    a->reason, ag->warning);
		free(a->reason);
		a->reason = r;
	}
}

cJSON *attempt_agent_json(const struct attempt_agent *ag)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "format", ag->format);
	cJSON_AddStringToObject(o, "result", ag->result);
	quote_json_add_text_or_null(o, "error", ag->error);
	quote_json_add_text_or_null(o, "subtype", ag->subtype);
	quote_json_add_text_or_null(o, "warning", ag->warning);
	cJSON_AddNumberToObject(o, "retries", (double)ag->retries);
	cJSON_AddNumberToObject(o, "turns", (double)ag->turns);
	cJSON_AddNumberToObject(o, "tool_calls", (double)ag->tool_calls);
	quote_json_add_text_or_null(o, "session_id", ag->session_id);
	quote_json_add_text_or_null(o, "model", ag->model);
	if (ag->has_tokens) {
		cJSON *t = cJSON_AddObjectToObject(o, "tokens");
		cJSON_AddNumberToObject(t, "input", (double)ag->input_tokens);
		cJSON_AddNumberToObject(t, "output",
					(double)ag->output_tokens);
		cJSON_AddNumberToObject(t, "cache_read",
					(double)ag->cache_read_tokens);
		cJSON_AddNumberToObject(t, "cache_write",
					(double)ag->cache_write_tokens);
		cJSON_AddNumberToObject(t, "reasoning",
					(double)ag->reasoning_tokens);
	} else {
		cJSON_AddNullToObject(o, "tokens");
	}
	if (ag->has_cost)
		cJSON_AddNumberToObject(o, "cost_usd", ag->cost_usd);
	else
		cJSON_AddNullToObject(o, "cost_usd");
	quote_json_add_text_or_null(o, "final_text", ag->final_text);
	return o;
}

void attempt_agent_summary(const struct attempt_agent *ag, struct strbuf *out)
{
	strbuf_addf(out, "%s, %" PRIu64 " turn%s, %" PRIu64 " tool call%s",
		    strcmp(ag->result, "none") ? ag->result : "no result",
		    ag->turns, ag->turns == 1 ? "" : "s", ag->tool_calls,
		    ag->tool_calls == 1 ? "" : "s");
	if (ag->has_tokens)
		strbuf_addf(out,
			    ", tokens %" PRIu64 " in / %" PRIu64
			    " out / %" PRIu64 " cache read / %" PRIu64
			    " cache write",
			    ag->input_tokens, ag->output_tokens,
			    ag->cache_read_tokens, ag->cache_write_tokens);
	if (ag->has_cost)
		strbuf_addf(out, ", agent cost $%.4f", ag->cost_usd);
	if (ag->model)
		strbuf_addf(out, ", model %s", ag->model);
	if (ag->session_id)
		strbuf_addf(out, ", session %s", ag->session_id);
}
