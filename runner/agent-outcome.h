#ifndef AGENT_OUTCOME_H
#define AGENT_OUTCOME_H

#include <stdbool.h>

struct agent_outcome;
struct attempt_agent;
struct attempt_rec;
struct mask;
struct strbuf;
struct cJSON;

/*
 * An agent's outcome (agent-stream.h) as an attempt keeps it (run.h,
 * struct attempt_agent), and the forms it is shown in: result.json and
 * --json events (a JSON object), show, the report and event lines (one
 * line). Nothing here prints.
 */

/*
 * A copy of o, every string masked with m (an agent's transcript is its
 * output: it may quote a secret). Free with attempt_agent_free().
 */
struct attempt_agent *attempt_agent_from(const struct agent_outcome *o,
					 const struct mask *m);

/*
 * The attempt's status and reason from what the agent said, after the
 * exit status set them (task.c): an agent that reported an error fails
 * with its own reason ("API Error: ...", "Reached maximum number of
 * turns (1)") whatever it exited with; a timeout or a cancel stays what
 * it was; an agent that failed without a result but retried says its
 * last retry.
 */
void attempt_agent_judge(struct attempt_rec *a);

/*
 * {"format", "result", "error", "turns", "tool_calls", "session_id",
 * "model", "tokens": {...} | null, "cost_usd": agent's | null, ...}.
 * A new object, owned by the caller.
 */
struct cJSON *attempt_agent_json(const struct attempt_agent *ag);

/*
 * "success, 5 turns, 4 tool calls, tokens 120 in / 340 out / 5000 cache
 * read / 1000 cache write, agent cost $0.0312", appended to out.
 */
void attempt_agent_summary(const struct attempt_agent *ag, struct strbuf *out);

#endif
