#include "runner.h"
#include "prices.h"
#include "agent-stream.h"

#include <cJSON.h>
#include <math.h>

/* tools/embed-file.sh, from prices/models.json (the Makefile). */
extern const char runner_prices_json[];
extern const size_t runner_prices_json_len;

#define PRICE_MAX 1e6

static const char *const price_keys[] = {
	"input_per_mtok",	   "output_per_mtok",
	"cache_read_per_mtok",	   "cache_write_per_mtok",
	"cache_write_1h_per_mtok",
};

static double *price_field(struct model_price *p, size_t i)
{
	double *f[] = {
		&p->input_per_mtok,	     &p->output_per_mtok,
		&p->cache_read_per_mtok,     &p->cache_write_per_mtok,
		&p->cache_write_1h_per_mtok,
	};
	return f[i];
}

static bool price_ok(double d)
{
	return isfinite(d) && d >= 0 && d <= PRICE_MAX;
}

void price_table_release(struct price_table *t)
{
	for (size_t i = 0; i < t->nr; i++)
		free(t->items[i].model);
	free(t->items);
	free(t->version);
	memset(t, 0, sizeof(*t));
}

static struct model_price *find_exact(const struct price_table *t,
				      const char *model)
{
	for (size_t i = 0; i < t->nr; i++)
		if (!strcmp(t->items[i].model, model))
			return &t->items[i];
	return NULL;
}

int price_table_set(struct price_table *t, const struct model_price *p,
		    struct strbuf *err)
{
	struct model_price *dst, n;

	if (!p->model || !*p->model) {
		strbuf_addstr(err, "prices: a model without a name");
		return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(price_keys); i++) {
		double d = *price_field((struct model_price *)p, i);

		if (d != PRICE_UNSET && !price_ok(d)) {
			strbuf_addf(err,
				    "prices: model '%s': %s must be a number "
				    "from 0 to %g",
				    p->model, price_keys[i], PRICE_MAX);
			return -1;
		}
	}
	dst = find_exact(t, p->model);
	if (dst) {
		for (size_t i = 0; i < ARRAY_SIZE(price_keys); i++)
			if (*price_field((struct model_price *)p, i) !=
			    PRICE_UNSET)
				*price_field(dst, i) = *price_field(
					(struct model_price *)p, i);
		return 0;
	}
	n = *p;
	if (n.input_per_mtok == PRICE_UNSET ||
	    n.output_per_mtok == PRICE_UNSET) {
		strbuf_addf(err,
			    "prices: model '%s': a new model needs "
			    "input_per_mtok and output_per_mtok",
			    p->model);
		return -1;
	}
	if (n.cache_read_per_mtok == PRICE_UNSET)
		n.cache_read_per_mtok = n.input_per_mtok;
	if (n.cache_write_per_mtok == PRICE_UNSET)
		n.cache_write_per_mtok = n.input_per_mtok;
	n.model = xstrdup(p->model);
	ALLOC_GROW(t->items, t->nr + 1, t->alloc);
	t->items[t->nr++] = n;
	return 0;
}

int price_table_merge(struct price_table *t, const struct price_table *over,
		      struct strbuf *err)
{
	for (size_t i = 0; i < over->nr; i++)
		if (price_table_set(t, &over->items[i], err) < 0)
			return -1;
	return 0;
}

int price_table_parse(struct price_table *t, const char *json, size_t len,
		      struct strbuf *err)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *version, *models, *m;
	int ret = -1;

	memset(t, 0, sizeof(*t));
	if (!cJSON_IsObject(root)) {
		strbuf_addstr(err, "prices: not a JSON object");
		goto out;
	}
	version = cJSON_GetObjectItemCaseSensitive(root, "version");
	models = cJSON_GetObjectItemCaseSensitive(root, "models");
	if (!cJSON_IsString(version) || !*version->valuestring) {
		strbuf_addstr(err, "prices: 'version' must be a string");
		goto out;
	}
	if (!cJSON_IsObject(models)) {
		strbuf_addstr(err, "prices: 'models' must be an object");
		goto out;
	}
	t->version = xstrdup(version->valuestring);
	cJSON_ArrayForEach(m, models)
	{
		struct model_price p = { .model = m->string };

		if (!cJSON_IsObject(m)) {
			strbuf_addf(err, "prices: model '%s': not an object",
				    m->string);
			goto out;
		}
		if (find_exact(t, m->string)) {
			strbuf_addf(err, "prices: model '%s' is listed twice",
				    m->string);
			goto out;
		}
		for (size_t i = 0; i < ARRAY_SIZE(price_keys); i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(
				m, price_keys[i]);
			bool optional = i == 4;

			if (!v && optional) {
				*price_field(&p, i) = PRICE_UNSET;
				continue;
			}
			if (!cJSON_IsNumber(v) || !price_ok(v->valuedouble)) {
				strbuf_addf(err,
					    "prices: model '%s': %s must be a "
					    "number from 0 to %g",
					    m->string, price_keys[i],
					    PRICE_MAX);
				goto out;
			}
			*price_field(&p, i) = v->valuedouble;
		}
		if (price_table_set(t, &p, err) < 0)
			goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		price_table_release(t);
	cJSON_Delete(root);
	return ret;
}

int price_table_load_builtin(struct price_table *t, struct strbuf *err)
{
	return price_table_parse(t, runner_prices_json, runner_prices_json_len,
				 err);
}

const struct model_price *price_table_lookup(const struct price_table *t,
					     const char *model)
{
	const struct model_price *best;
	size_t best_len = 0;

	if (!model)
		return NULL;
	best = find_exact(t, model);
	if (best)
		return best;
	for (size_t i = 0; i < t->nr; i++) {
		size_t n = strlen(t->items[i].model);

		if (n > best_len && !strncmp(t->items[i].model, model, n)) {
			best = &t->items[i];
			best_len = n;
		}
	}
	return best;
}

double price_tokens_cost(const struct model_price *p,
			 const struct agent_tokens *tk)
{
	double cw1h = p->cache_write_1h_per_mtok == PRICE_UNSET
			      ? p->cache_write_per_mtok
			      : p->cache_write_1h_per_mtok;
	uint64_t w1h = tk->cache_write_1h < tk->cache_write
			       ? tk->cache_write_1h
			       : tk->cache_write;
	double sum =
		(double)tk->input * p->input_per_mtok +
		(double)tk->output * p->output_per_mtok +
		(double)tk->cache_read * p->cache_read_per_mtok +
		(double)(tk->cache_write - w1h) * p->cache_write_per_mtok +
		(double)w1h * cw1h;

	return sum / 1e6;
}

static int model_cost(const struct price_table *t, const char *model,
		      const struct agent_tokens *tk, double *usd,
		      struct strbuf *err)
{
	const struct model_price *p = price_table_lookup(t, model);

	if (!p) {
		if (model)
			strbuf_addf(err, "no price for model '%s'", model);
		else
			strbuf_addstr(err, "the model is not known");
		return -1;
	}
	*usd += price_tokens_cost(p, tk);
	return 0;
}

int price_outcome_tokens_cost(const struct price_table *t,
			      const struct agent_outcome *o, const char *model,
			      double *usd, struct strbuf *err)
{
	double sum = 0;

	if (!o->has_tokens) {
		strbuf_addstr(err, "the agent reported no token counts");
		return -1;
	}
	if (o->nr_models && !o->models_truncated) {
		for (size_t i = 0; i < o->nr_models; i++)
			if (model_cost(t, o->models[i].model,
				       &o->models[i].tokens, &sum, err) < 0)
				return -1;
	} else if (model_cost(t, o->model ? o->model : model, &o->tokens, &sum,
			      err) < 0) {
		return -1;
	}
	*usd = sum;
	return 0;
}

const char *cost_source_name(enum cost_source s)
{
	switch (s) {
	case COST_SOURCE_NONE:
		return "none";
	case COST_SOURCE_AGENT:
		return "agent";
	case COST_SOURCE_TOKENS:
		return "tokens";
	case COST_SOURCE_TIME:
		return "time";
	}
	BUG("cost source %d", (int)s);
}

void cost_decide(const struct cost_input *in, struct cost *out)
{
	const struct agent_outcome *o = in->outcome;
	struct strbuf err = STRBUF_INIT;
	double usd;

	out->usd = 0;
	out->source = COST_SOURCE_NONE;
	if (o && o->has_cost) {
		out->usd = o->cost_usd;
		out->source = COST_SOURCE_AGENT;
	} else if (o && in->prices &&
		   !price_outcome_tokens_cost(in->prices, o, in->model, &usd,
					      &err)) {
		out->usd = usd;
		out->source = COST_SOURCE_TOKENS;
	} else if (in->usd_per_hour >= 0 && in->sandbox_ms > 0) {
		out->usd = (double)in->sandbox_ms / 3.6e6 * in->usd_per_hour;
		out->source = COST_SOURCE_TIME;
	}
	out->source_name = cost_source_name(out->source);
	strbuf_release(&err);
}
