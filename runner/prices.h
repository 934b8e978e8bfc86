#ifndef PRICES_H
#define PRICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;
struct agent_tokens;
struct agent_outcome;

/*
 * Model prices, and the cost of an agent's run.
 *
 * The built-in table is prices/models.json, embedded into the binary at
 * build time (tools/embed-file.sh, like the migrations):
 *
 *   {"version": "2026-12-01",
 *    "models": {"claude-opus-5-5": {"input_per_mtok": 4,
 *                                   "output_per_mtok": 20,
 *                                   "cache_read_per_mtok": 0.2,
 *                                   "cache_write_per_mtok": 5,
 *                                   "cache_write_1h_per_mtok": 8,
 *                                   "source": "..."}, ...}}
 *
 * USD per million tokens. A key is a model name or a prefix of one:
 * price_table_lookup() tries the exact name, then the longest key that
 * is a prefix of it ("claude-sonnet-" prices any Sonnet it does not
 * know by name). The token kinds are struct agent_tokens' disjoint sets.
 *
 * Nothing here prints or keeps global state; a table is not modified
 * after it is built, so several threads may read one.
 */

/* A price not given (in an override). */
#define PRICE_UNSET (-1.0)

struct model_price {
	char *model; /* the key: a name or a prefix */
	double input_per_mtok;
	double output_per_mtok;
	double cache_read_per_mtok;
	double cache_write_per_mtok;	/* 5-minute writes (and all others) */
	double cache_write_1h_per_mtok; /* PRICE_UNSET: cache_write's */
};

struct price_table {
	char *version;
	struct model_price *items;
	size_t nr, alloc;
};

#define PRICE_TABLE_INIT \
	{                \
		0        \
	}

/*
 * Parse a table in the format above from json[0..len). Every model needs
 * the four prices (cache_write_1h_per_mtok is optional), each a finite
 * number in [0, 1e6]; other keys of a model ("source", "note") are
 * ignored. Returns 0, or -1 with a message in err (the table is then
 * empty). Release the table with price_table_release().
 */
int price_table_parse(struct price_table *t, const char *json, size_t len,
		      struct strbuf *err);
/* The built-in table (prices/models.json as it was built in). */
int price_table_load_builtin(struct price_table *t, struct strbuf *err);
void price_table_release(struct price_table *t);

/*
 * Add a model to t, or change one: a copy of p, whose prices may be
 * PRICE_UNSET. For a model t has (same key), the prices given replace
 * t's and the others stay. A new model needs input and output; its
 * unset cache prices are the input price (so that nothing is priced
 * below what the plan said). Returns 0, or -1 with a message in err
 * (t unchanged) when a price is out of range or a new model lacks one.
 */
int price_table_set(struct price_table *t, const struct model_price *p,
		    struct strbuf *err);
/*
 * A plan's override on top of t: price_table_set() for each entry of
 * over, in order. over's prices may be PRICE_UNSET. Returns 0, or -1 with
 * a message in err naming the model (entries before it were merged).
 */
int price_table_merge(struct price_table *t, const struct price_table *over,
		      struct strbuf *err);

/*
 * The entry for model: the exact key, else the longest key that is a
 * prefix of model, else NULL. The pointer is t's, valid until t changes.
 */
const struct model_price *price_table_lookup(const struct price_table *t,
					     const char *model);

/* tokens x prices, in USD. */
double price_tokens_cost(const struct model_price *p,
			 const struct agent_tokens *tokens);

/*
 * The cost of an outcome's tokens under t: each model of o->models[] at
 * its price, or, when there are none (Codex) or they are incomplete, the
 * totals at the price of o->model, else of model (the caller's, e.g.
 * the plan's; may be NULL). Returns 0 and sets *usd; -1 with a message
 * in err when o has no token counts or a model has no price.
 */
int price_outcome_tokens_cost(const struct price_table *t,
			      const struct agent_outcome *o, const char *model,
			      double *usd, struct strbuf *err);

enum cost_source {
	COST_SOURCE_NONE = 0,
	COST_SOURCE_AGENT,  /* what the agent reported (Claude) */
	COST_SOURCE_TOKENS, /* tokens x the price table */
	COST_SOURCE_TIME,   /* sandbox time x a rate */
};

/* "none", "agent", "tokens", "time". */
const char *cost_source_name(enum cost_source s);

struct cost_input {
	const struct price_table *prices;    /* may be NULL: no tokens cost */
	const struct agent_outcome *outcome; /* may be NULL */
	const char *model;   /* the plan's model, for Codex; may be NULL */
	int64_t sandbox_ms;  /* how long the sandbox ran */
	double usd_per_hour; /* its rate; < 0: none */
};

struct cost {
	double usd;
	enum cost_source source;
	const char *source_name; /* cost_source_name(source), static */
};

/*
 * The cost of a task, from the best source there is: the agent's own
 * report (a final result with a cost), else its tokens x the table
 * (every model priced), else the sandbox time x the rate (when the rate
 * is >= 0 and the time > 0), else 0 from "none". Never fails.
 */
void cost_decide(const struct cost_input *in, struct cost *out);

#endif
