#include "runner.h"
#include "prices.h"
#include "agent-stream.h"
#include "tap.h"

#include <math.h>

/* runner/prices.c: the built-in table, lookups, costs, overrides. */

static bool near(double a, double b)
{
	return fabs(a - b) <= 1e-9 * (fabs(b) > 1 ? fabs(b) : 1);
}

static void test_builtin(const struct price_table *t)
{
	bool sane = true;

	is_str(t->version, "2026-12-01", "built-in table version");
	ok(t->nr >= 30, "built-in table has %zu models", t->nr);
	/* Cached reads cost less than input, cache writes no less. */
	for (size_t i = 0; i < t->nr; i++) {
		const struct model_price *p = &t->items[i];
		double w1h = p->cache_write_1h_per_mtok == PRICE_UNSET
				     ? p->cache_write_per_mtok
				     : p->cache_write_1h_per_mtok;

		if (!(p->cache_read_per_mtok < p->input_per_mtok &&
		      p->input_per_mtok <= p->cache_write_per_mtok &&
		      p->cache_write_per_mtok <= w1h &&
		      p->input_per_mtok < p->output_per_mtok)) {
			printf("# %s: prices out of order\n", p->model);
			sane = false;
		}
	}
	ok(sane, "every entry: cache read < input <= cache write <= 1h, "
		 "input < output");
}

static void test_lookup(const struct price_table *t)
{
	static const struct {
		const char *model, *key;
	} rows[] = {
		{ (char *)"claude-opus-5-5", "claude-opus-5-5" },
		{ "claude-opus-5-5[1m]", "claude-opus-5-5" },
		{ "claude-opus-5", "claude-opus-5" },
		{ "claude-opus-4-5-20251101", "claude-opus-4-5" },
		{ "claude-opus-4-20250514", "claude-opus-4" },
		{ "claude-opus-6", "claude-opus-" },
		{ "claude-sonnet-4-20250514", "claude-sonnet-4" },
		{ "claude-sonnet-5-5", "claude-sonnet-5-5" },
		{ "claude-sonnet-9-1", "claude-sonnet-" },
		{ "claude-haiku-5-5", "claude-haiku-5-5" },
		{ "claude-haiku-7", "claude-haiku-" },
		{ "claude-3-5-haiku-20241022", "claude-3-5-haiku" },
		{ "gpt-5.5", "gpt-5.5" },
		{ "gpt-5.5-codex", "gpt-5.5" },
		{ "gpt-5.9", "gpt-5" },
		{ "gpt-6.2-sol", "gpt-6.2-sol" },
		{ "gpt-6.3-sol", "gpt-6" },
		{ "llama-3-70b", NULL },
		{ "claude", NULL },
		{ "CLAUDE-OPUS-5-5", NULL },
		{ "", NULL },
		{ NULL, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct model_price *p =
			price_table_lookup(t, rows[i].model);

		is_str(p ? p->model : NULL, rows[i].key, "lookup '%s'",
		       rows[i].model ? rows[i].model : "(null)");
	}
}

/* The costs the real CLIs reported (tests/fixtures/agents/), and more. */
static void test_costs(const struct price_table *t)
{
	static const struct {
		const char *model;
		struct agent_tokens tk;
		double usd;
	} rows[] = {
		/* claude-edit.out: total_cost_usd 0.067636 */
		{ (char *)"claude-opus-5-5",
		  { .input = 14479, .output = 186, .cache_read = 5000,
		    .cache_write = 1000 },
		  0.067636 },
		/* claude-usage.out: 0.093, 1h writes at $8 */
		{ (char *)"claude-opus-5-5",
		  { .input = 3000, .output = 300, .cache_read = 60000,
		    .cache_write = 9000, .cache_write_1h = 6000 },
		  0.093 },
		{ (char *)"claude-opus-5-5", { .input = 300000, .output = 60000 }, 2.4 },
		{ (char *)"claude-opus-5-5", { .input = 2693, .output = 16 }, 0.011092 },
		{ (char *)"claude-opus-5-5", { 0 }, 0 },
		{ "claude-opus-4-1", { .input = 1000000 }, 15 },
		{ "claude-opus-4-1", { .output = 1000000 }, 75 },
		{ "claude-sonnet-4-5", { .cache_read = 1000000 }, 0.3 },
		{ "claude-sonnet-4-5", { .cache_write = 1000000 }, 3.75 },
		{ "claude-sonnet-4-5",
		  { .cache_write = 1000000, .cache_write_1h = 1000000 },
		  6 },
		/* 1h above the writes counts as all writes 1h */
		{ "claude-sonnet-4-5",
		  { .cache_write = 10, .cache_write_1h = 50 },
		  0.00006 },
		{ "claude-haiku-5-5", { .input = 1000000, .output = 1000000 },
		  0.6 },
		/* codex-usage.out under gpt-5.5 (OpenAI: writes at input) */
		{ "gpt-5.5",
		  { .input = 9000, .output = 1500, .cache_read = 18000,
		    .cache_write = 3000, .reasoning = 600 },
		  0.03225 },
		/* reasoning is part of output, not priced twice */
		{ "gpt-5.5", { .output = 1000000, .reasoning = 1000000 }, 10 },
		{ "gpt-6.2-sol", { .input = 2000000 }, 2.5 },
		/* huge counts stay finite */
		{ "claude-opus-4-1", { .output = UINT64_MAX }, 1.3835e15 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct model_price *p =
			price_table_lookup(t, rows[i].model);
		double got = p ? price_tokens_cost(p, &rows[i].tk) : -1;

		ok(p && (near(got, rows[i].usd) ||
			 (rows[i].usd > 1e12 &&
			  fabs(got / rows[i].usd - 1) < 1e-3)),
		   "cost row %zu (%s): %.10g, want %.10g", i, rows[i].model,
		   got, rows[i].usd);
	}
}

static void test_parse_errors(void)
{
	static const struct {
		const char *json, *err;
	} rows[] = {
		{ "", "prices: not a JSON object" },
		{ "[]", "prices: not a JSON object" },
		{ "{\"models\":{}}", "prices: 'version' must be a string" },
		{ "{\"version\":\"\",\"models\":{}}",
		  "prices: 'version' must be a string" },
		{ "{\"version\":\"v\",\"models\":[]}",
		  "prices: 'models' must be an object" },
		{ "{\"version\":\"v\",\"models\":{\"m\":1}}",
		  "prices: model 'm': not an object" },
		{ "{\"version\":\"v\",\"models\":{\"m\":{\"input_per_mtok\":1,"
		  "\"output_per_mtok\":2,\"cache_read_per_mtok\":0.1}}}",
		  "prices: model 'm': cache_write_per_mtok must be a number "
		  "from 0 to 1e+06" },
		{ "{\"version\":\"v\",\"models\":{\"m\":{\"input_per_mtok\":"
		  "\"1\",\"output_per_mtok\":2,\"cache_read_per_mtok\":0.1,"
		  "\"cache_write_per_mtok\":1}}}",
		  "prices: model 'm': input_per_mtok must be a number from 0 "
		  "to 1e+06" },
		{ "{\"version\":\"v\",\"models\":{\"m\":{\"input_per_mtok\":-1,"
		  "\"output_per_mtok\":2,\"cache_read_per_mtok\":0.1,"
		  "\"cache_write_per_mtok\":1}}}",
		  "prices: model 'm': input_per_mtok must be a number from 0 "
		  "to 1e+06" },
		{ "{\"version\":\"v\",\"models\":{\"m\":{\"input_per_mtok\":1,"
		  "\"output_per_mtok\":1e7,\"cache_read_per_mtok\":0.1,"
		  "\"cache_write_per_mtok\":1}}}",
		  "prices: model 'm': output_per_mtok must be a number from 0 "
		  "to 1e+06" },
		{ "{\"version\":\"v\",\"models\":{\"m\":{\"input_per_mtok\":1,"
		  "\"output_per_mtok\":2,\"cache_read_per_mtok\":0.1,"
		  "\"cache_write_per_mtok\":1,\"cache_write_1h_per_mtok\":"
		  "null}}}",
		  "prices: model 'm': cache_write_1h_per_mtok must be a "
		  "number from 0 to 1e+06" },
		{ "{\"version\":\"v\",\"models\":{\"m\":{\"input_per_mtok\":1,"
		  "\"output_per_mtok\":2,\"cache_read_per_mtok\":0.1,"
		  "\"cache_write_per_mtok\":1},\"m\":{\"input_per_mtok\":1,"
		  "\"output_per_mtok\":2,\"cache_read_per_mtok\":0.1,"
		  "\"cache_write_per_mtok\":1}}}",
		  "prices: model 'm' is listed twice" },
		{ "{\"version\":\"v\",\"models\":{\"\":{\"input_per_mtok\":1,"
		  "\"output_per_mtok\":2,\"cache_read_per_mtok\":0.1,"
		  "\"cache_write_per_mtok\":1}}}",
		  "prices: a model without a name" },
		/* fine: extra keys, 1h optional */
		{ "{\"version\":\"v\",\"x\":1,\"models\":{\"m\":{"
		  "\"input_per_mtok\":1,\"output_per_mtok\":2,"
		  "\"cache_read_per_mtok\":0.1,\"cache_write_per_mtok\":1,"
		  "\"source\":\"here\"}}}",
		  NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct price_table t = PRICE_TABLE_INIT;
		struct strbuf err = STRBUF_INIT;
		int r = price_table_parse(&t, rows[i].json,
					  strlen(rows[i].json), &err);

		if (rows[i].err) {
			ok(r < 0 && !t.nr && !t.version, "parse row %zu fails",
			   i);
			is_str(err.buf, rows[i].err, "parse row %zu message",
			       i);
		} else {
			ok(!r && t.nr == 1 &&
				   t.items[0].cache_write_1h_per_mtok ==
					   PRICE_UNSET,
			   "parse row %zu: ok", i);
		}
		price_table_release(&t);
		strbuf_release(&err);
	}
}

static void test_merge(void)
{
	struct price_table t = PRICE_TABLE_INIT, over = PRICE_TABLE_INIT;
	struct strbuf err = STRBUF_INIT;
	const struct model_price *p;
	struct model_price rows[] = {
		/* a discount on input only */
		{ (char *)"claude-opus-5-5", 2, PRICE_UNSET, PRICE_UNSET, PRICE_UNSET,
		  PRICE_UNSET },
		/* a new model: unset cache prices are its input price */
		{ (char *)"my-local-model", 0.5, 1.5, PRICE_UNSET, PRICE_UNSET,
		  PRICE_UNSET },
		/* a prefix for a gateway's names */
		{ (char *)"us.anthropic.", 6, 30, 0.6, 7.5, 12 },
	};
	struct agent_tokens tk = { .input = 1000000,
				   .output = 1000000,
				   .cache_read = 1000000,
				   .cache_write = 1000000 };

	if (price_table_load_builtin(&t, &err) < 0)
		BUG("%s", err.buf);
	over.items = rows;
	over.nr = over.alloc = ARRAY_SIZE(rows);
	ok(!price_table_merge(&t, &over, &err), "merge an override");
	p = price_table_lookup(&t, "claude-opus-5-5");
	ok(p && p->input_per_mtok == 2 && p->output_per_mtok == 20 &&
		   p->cache_read_per_mtok == 0.2 &&
		   p->cache_write_1h_per_mtok == 8,
	   "a known model: only the prices given change");
	p = price_table_lookup(&t, "my-local-model-7b");
	ok(p && near(price_tokens_cost(p, &tk), 0.5 + 1.5 + 0.5 + 0.5),
	   "a new model, by prefix, cache priced as input");
	p = price_table_lookup(&t, "us.anthropic.claude-opus-5-5");
	ok(p && !strcmp(p->model, "us.anthropic."), "a new prefix");
	p = price_table_lookup(&t, "claude-sonnet-5-5");
	ok(p && p->input_per_mtok == 2 && p->output_per_mtok == 10,
	   "others untouched");

	/* Errors leave the table as it was. */
	{
		struct model_price bad[] = {
			{ (char *)"half-new", 1, PRICE_UNSET, PRICE_UNSET, PRICE_UNSET,
			  PRICE_UNSET },
			{ (char *)"claude-opus-5-5", -2, PRICE_UNSET, PRICE_UNSET,
			  PRICE_UNSET, PRICE_UNSET },
			{ (char *)"claude-opus-5-5", NAN, PRICE_UNSET, PRICE_UNSET,
			  PRICE_UNSET, PRICE_UNSET },
			{ (char *)"claude-opus-5-5", PRICE_UNSET, INFINITY,
			  PRICE_UNSET, PRICE_UNSET, PRICE_UNSET },
			{ NULL, 1, 1, 1, 1, 1 },
		};
		const char *msgs[] = {
			"prices: model 'half-new': a new model needs "
			"input_per_mtok and output_per_mtok",
			"prices: model 'claude-opus-5-5': input_per_mtok must "
			"be a number from 0 to 1e+06",
			"prices: model 'claude-opus-5-5': input_per_mtok must "
			"be a number from 0 to 1e+06",
			"prices: model 'claude-opus-5-5': output_per_mtok "
			"must be a number from 0 to 1e+06",
			"prices: a model without a name",
		};
		size_t nr = t.nr;

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			strbuf_reset(&err);
			ok(price_table_set(&t, &bad[i], &err) < 0,
			   "bad override %zu refused", i);
			is_str(err.buf, msgs[i], "bad override %zu message",
			       i);
		}
		p = price_table_lookup(&t, "claude-opus-5-5");
		ok(t.nr == nr && p->input_per_mtok == 2 &&
			   p->output_per_mtok == 20,
		   "the table is unchanged");
	}
	price_table_release(&t);
	strbuf_release(&err);
}

struct decide_row {
	const char *name;
	bool has_cost;
	double reported;
	bool has_tokens;
	const char *model;     /* the outcome's */
	const char *plan_model;
	int64_t sandbox_ms;
	double rate;
	double usd;
	const char *source;
};

static void test_decide(const struct price_table *t)
{
	static const struct decide_row rows[] = {
		{ "claude: the agent's cost", true, 0.5, true,
		  "claude-opus-5-5", NULL, 60000, 1, 0.5, "agent" },
		{ "claude API error: 0 reported", true, 0, true,
		  "claude-opus-5-5", NULL, 60000, 1, 0, "agent" },
		{ "codex: tokens x table", false, 0, true, "gpt-5.5", NULL,
		  60000, 1, 11.25, "tokens" },
		{ "codex: the plan's model", false, 0, true, NULL, "gpt-5.5",
		  60000, 1, 11.25, "tokens" },
		{ "unknown model: time", false, 0, true, "llama", NULL,
		  1800000, 2, 1, "time" },
		{ "no tokens: time", false, 0, false, "gpt-5.5", NULL, 7200000,
		  0.5, 1, "time" },
		{ "no model at all: time", false, 0, true, NULL, NULL, 3600000,
		  3, 3, "time" },
		{ "no rate: none", false, 0, false, NULL, NULL, 3600000, -1, 0,
		  "none" },
		{ "no time: none", false, 0, false, NULL, NULL, 0, 5, 0,
		  "none" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct decide_row *r = &rows[i];
		struct agent_outcome o = { 0 };
		struct cost_input in = { .prices = t,
					 .outcome = &o,
					 .model = r->plan_model,
					 .sandbox_ms = r->sandbox_ms,
					 .usd_per_hour = r->rate };
		struct cost c;

		o.has_cost = r->has_cost;
		o.cost_usd = r->reported;
		o.has_tokens = r->has_tokens;
		o.model = (char *)r->model;
		/* gpt-5.5: 1.25 + 10 */
		o.tokens.input = 1000000;
		o.tokens.output = 1000000;
		cost_decide(&in, &c);
		ok(near(c.usd, r->usd) && !strcmp(c.source_name, r->source) &&
			   c.source_name == cost_source_name(c.source),
		   "%s: %.10g from %s", r->name, c.usd, c.source_name);
	}

	/* Per model: each model's tokens at its own price. */
	{
		struct agent_outcome o = { 0 };
		struct strbuf err = STRBUF_INIT;
		double usd = -1;

		o.has_tokens = true;
		o.model = (char *)"claude-opus-5-5";
		o.nr_models = 2;
		o.models[0].model = (char *)"claude-opus-5-5";
		o.models[0].tokens.output = 1000000;
		o.models[1].model = (char *)"claude-haiku-4-5";
		o.models[1].tokens.output = 1000000;
		o.tokens.output = 2000000;
		ok(!price_outcome_tokens_cost(t, &o, NULL, &usd, &err) &&
			   near(usd, 25),
		   "two models: 20 + 5 = %.10g", usd);
		o.models_truncated = true;
		ok(!price_outcome_tokens_cost(t, &o, NULL, &usd, &err) &&
			   near(usd, 40),
		   "models truncated: totals at the main model's price");
		o.models_truncated = false;
		o.models[1].model = (char *)"mystery";
		ok(price_outcome_tokens_cost(t, &o, NULL, &usd, &err) < 0,
		   "a model without a price fails");
		is_str(err.buf, "no price for model 'mystery'", "and says so");
		strbuf_release(&err);
	}
	{
		struct cost c;
		struct cost_input in = { .usd_per_hour = 2,
					 .sandbox_ms = 900000 };

		cost_decide(&in, &c);
		ok(near(c.usd, 0.5) && c.source == COST_SOURCE_TIME,
		   "no outcome, no table: time");
	}
}

int main(void)
{
	struct price_table t = PRICE_TABLE_INIT;
	struct strbuf err = STRBUF_INIT;

	ok(!price_table_load_builtin(&t, &err), "built-in table loads: %s",
	   err.buf);
	test_builtin(&t);
	test_lookup(&t);
	test_costs(&t);
	test_parse_errors();
	test_merge();
	test_decide(&t);
	price_table_release(&t);
	strbuf_release(&err);
	return done_testing();
}
